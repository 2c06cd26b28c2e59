// SPDX-License-Identifier: GPL-2.0
/*
 * Memslot sets: lookup, validation and copy-on-update.  Pure code.
 */
#include "slots.h"

#define PAGE_MASK_LOW	((1ULL << KVMX_PAGE_SHIFT) - 1)

const struct kvmx_memslot *kvmx_slots_find_gfn(const struct kvmx_memslots *set, u64 gfn)
{
	u32 lo = 0, hi = set->nr;

	/* Find the last slot whose base_gfn <= gfn. */
	while (lo < hi) {
		u32 mid = lo + (hi - lo) / 2;

		if (set->slots[mid].base_gfn <= gfn)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	if (gfn - set->slots[lo - 1].base_gfn < set->slots[lo - 1].npages)
		return &set->slots[lo - 1];
	return NULL;
}

const struct kvmx_memslot *kvmx_slots_find_id(const struct kvmx_memslots *set, u16 id)
{
	u32 i;

	for (i = 0; i < set->nr; i++)
		if (set->slots[i].id == id)
			return &set->slots[i];
	return NULL;
}

static bool overlaps(const struct kvmx_memslots *set, u16 except_id, u64 base, u64 npages)
{
	u32 i;

	for (i = 0; i < set->nr; i++) {
		const struct kvmx_memslot *s = &set->slots[i];

		if (s->id == except_id)
			continue;
		if (base < s->base_gfn + s->npages && s->base_gfn < base + npages)
			return true;
	}
	return false;
}

enum kvmx_mr_error kvmx_slots_check(const struct kvmx_memslots *set,
				    const struct kvmx_mr_request *req, u32 allowed_flags,
				    enum kvmx_mr_change *change, struct kvmx_memslot *slot)
{
	u16 id = req->slot & 0xffff;
	const struct kvmx_memslot *old;
	u64 npages = req->memory_size >> KVMX_PAGE_SHIFT;
	u64 base_gfn = req->guest_phys_addr >> KVMX_PAGE_SHIFT;

	/* The same checks, in the same order, as KVM's __kvm_set_memory_region(). */
	if (req->flags & ~allowed_flags)
		return KVMX_MR_BAD_FLAGS;
	if ((req->slot >> 16) != 0 || id >= KVMX_USER_MEM_SLOTS)
		return KVMX_MR_BAD_SLOT;
	if ((req->memory_size & PAGE_MASK_LOW) || (req->guest_phys_addr & PAGE_MASK_LOW) ||
	    (req->userspace_addr & PAGE_MASK_LOW))
		return KVMX_MR_UNALIGNED;
	if (req->guest_phys_addr + req->memory_size < req->guest_phys_addr)
		return KVMX_MR_TOO_BIG;
	if (npages > KVMX_MEM_MAX_NR_PAGES)
		return KVMX_MR_TOO_BIG;

	old = kvmx_slots_find_id(set, id);
	if (!npages) {
		if (!old)
			return KVMX_MR_NO_SUCH_SLOT;
		*slot = *old;
		*change = KVMX_MR_DELETE;
		return KVMX_MR_OK;
	}

	slot->id = id;
	slot->base_gfn = base_gfn;
	slot->npages = npages;
	slot->userspace_addr = req->userspace_addr;
	slot->flags = req->flags;
	slot->dirty_bitmap = NULL;

	if (!old) {
		*change = KVMX_MR_CREATE;
	} else {
		/* A slot that logs before and after keeps its bitmap (slots.h). */
		if (req->flags & old->flags & KVMX_MEM_LOG_DIRTY)
			slot->dirty_bitmap = old->dirty_bitmap;
		if (req->userspace_addr != old->userspace_addr || npages != old->npages ||
		    ((req->flags ^ old->flags) & KVMX_MEM_READONLY))
			return KVMX_MR_RESHAPE;
		if (base_gfn != old->base_gfn)
			*change = KVMX_MR_MOVE;
		else if (req->flags != old->flags)
			*change = KVMX_MR_FLAGS;
		else
			*change = KVMX_MR_NONE;
	}
	if ((*change == KVMX_MR_CREATE || *change == KVMX_MR_MOVE) &&
	    overlaps(set, id, base_gfn, npages))
		return KVMX_MR_OVERLAP;
	return KVMX_MR_OK;
}

void kvmx_slots_apply(const struct kvmx_memslots *set, enum kvmx_mr_change change,
		      const struct kvmx_memslot *slot, struct kvmx_memslots *out)
{
	bool placed = change == KVMX_MR_DELETE;
	u32 i;

	out->generation = set->generation;
	out->nr = 0;
	for (i = 0; i < set->nr; i++) {
		const struct kvmx_memslot *s = &set->slots[i];

		if (!placed && slot->base_gfn < s->base_gfn) {
			out->slots[out->nr++] = *slot;
			placed = true;
		}
		if (s->id != slot->id)
			out->slots[out->nr++] = *s;
	}
	if (!placed)
		out->slots[out->nr++] = *slot;
}
