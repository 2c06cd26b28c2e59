/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Memslot sets: pure code (see types.h), used by memslot.c and the unit
 * tests.
 *
 * A set is immutable once published: an update builds a new set from the
 * old one (kvmx_slots_apply()) and memslot.c swaps the pointer under RCU.
 * Slots are kept sorted by base_gfn and never overlap, so looking up a
 * gfn is a binary search.
 */
#ifndef KVMX_SLOTS_H
#define KVMX_SLOTS_H

#include "types.h"

#define KVMX_PAGE_SHIFT		12
#define KVMX_USER_MEM_SLOTS	509
/* KVM's limit on one slot's size, in pages (2^31 - 1). */
#define KVMX_MEM_MAX_NR_PAGES	((1ULL << 31) - 1)

/* Flags a slot may carry: KVM's KVM_MEM_LOG_DIRTY_PAGES and KVM_MEM_READONLY. */
#define KVMX_MEM_READONLY	KVMX_BIT(1)
#define KVMX_MEM_LOG_DIRTY	KVMX_BIT(0)

struct kvmx_memslot {
	u64 base_gfn;
	u64 npages;
	u64 userspace_addr;
	/*
	 * The dirty bitmap of a slot with KVMX_MEM_LOG_DIRTY, else NULL: one
	 * bit per page, in longs (memslot.c allocates it: two halves of
	 * kvmx_dirty_bitmap_bytes() each, the second one GET_DIRTY_LOG's
	 * snapshot).  Ownership, as in KVM: the bitmap belongs to the slot id,
	 * not to a set.  Copying a set copies the pointer, so the old and the
	 * new set share it while an update is under way; the updater (under
	 * vm->lock) frees it after synchronize_srcu_expedited() once the new set no
	 * longer refers to it (slot deleted, logging turned off), and before
	 * publishing if the update fails.  kvmx_slots_check() carries it over
	 * to a slot that keeps logging (flag change, move) and leaves NULL
	 * where a new one is needed.  Bits are set with set_bit() by anyone
	 * holding vm->srcu (the set it came from keeps it alive) and harvested
	 * with xchg() under vm->lock.
	 */
	unsigned long *dirty_bitmap;
	u32 flags;
	u16 id;
};

/* Bytes of one dirty bitmap for @npages pages, as KVM: whole longs. */
static inline u64 kvmx_dirty_bitmap_bytes(u64 npages)
{
	u64 bits = 8 * sizeof(unsigned long);

	return (npages + bits - 1) / bits * bits / 8;
}

struct kvmx_memslots {
	/*
	 * The VM's memslot generation when this set was current; bit 63
	 * (KVMX_MEMSLOT_GEN_UPDATE_IN_PROGRESS) while an update is under
	 * way.  Only memslot.c writes it.
	 */
	u64 generation;
	u32 nr;
	struct kvmx_memslot slots[];	/* sorted by base_gfn */
};

#define KVMX_MEMSLOT_GEN_UPDATE_IN_PROGRESS	KVMX_BIT(63)

/* A KVM_SET_USER_MEMORY_REGION request, as user space sent it. */
struct kvmx_mr_request {
	u32 slot;		/* address space in bits 31:16, slot id below */
	u32 flags;
	u64 guest_phys_addr;
	u64 memory_size;
	u64 userspace_addr;
};

enum kvmx_mr_change {
	KVMX_MR_NONE,		/* nothing changes */
	KVMX_MR_CREATE,
	KVMX_MR_DELETE,
	KVMX_MR_MOVE,		/* same memory, other base gfn */
	KVMX_MR_FLAGS,		/* same memory and place, other flags */
};

/* Why a request was refused; memslot.c maps each to KVM's errno. */
enum kvmx_mr_error {
	KVMX_MR_OK,
	KVMX_MR_BAD_FLAGS,	/* -EINVAL */
	KVMX_MR_BAD_SLOT,	/* -EINVAL: id or address space out of range */
	KVMX_MR_UNALIGNED,	/* -EINVAL: size, gpa or hva not page aligned */
	KVMX_MR_TOO_BIG,	/* -EINVAL: size or gpa + size out of range */
	KVMX_MR_NO_SUCH_SLOT,	/* -EINVAL: deleting a slot that does not exist */
	KVMX_MR_RESHAPE,	/* -EINVAL: changing an existing slot's size, hva or RO flag */
	KVMX_MR_OVERLAP,	/* -EEXIST */
};

/* The slot holding @gfn, or NULL. */
const struct kvmx_memslot *kvmx_slots_find_gfn(const struct kvmx_memslots *set, u64 gfn);

/* The slot with id @id, or NULL. */
const struct kvmx_memslot *kvmx_slots_find_id(const struct kvmx_memslots *set, u16 id);

/*
 * Judge @req against @set.  On success returns KVMX_MR_OK, *@change says
 * what the request does and *@slot is the slot as it will be (for a
 * delete: as it was).
 */
enum kvmx_mr_error kvmx_slots_check(const struct kvmx_memslots *set,
				    const struct kvmx_mr_request *req, u32 allowed_flags,
				    enum kvmx_mr_change *change, struct kvmx_memslot *slot);

/*
 * Write into @out (room for @set->nr + 1 slots) the set that results from
 * applying @change with @slot to @set.  @out->generation is copied.
 */
void kvmx_slots_apply(const struct kvmx_memslots *set, enum kvmx_mr_change change,
		      const struct kvmx_memslot *slot, struct kvmx_memslots *out);

static inline u64 kvmx_slot_hva(const struct kvmx_memslot *slot, u64 gfn)
{
	return slot->userspace_addr + ((gfn - slot->base_gfn) << KVMX_PAGE_SHIFT);
}

#endif /* KVMX_SLOTS_H */
