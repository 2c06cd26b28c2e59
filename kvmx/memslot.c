// SPDX-License-Identifier: GPL-2.0
/*
 * KVM_SET_USER_MEMORY_REGION: memslot updates and the memslot generation.
 *
 * The set of memslots is immutable once published (slots.c builds the
 * next one); readers hold vm->srcu, updates hold vm->lock.  Every update
 * bumps a 64-bit generation in this order, as upstream KVM does since
 * 2019:
 *
 *   1. mark the current set's generation "update in progress" (bit 63), so
 *      that anything that samples the generation during the update (MMIO
 *      SPTE caching) knows not to cache an answer;
 *   2. publish the new set, still marked, and wait for every reader of the
 *      old set (synchronize_srcu_expedited): faults that saw the old set have
 *      finished installing their mappings;
 *   3. zap what the old set mapped and the new one no longer does;
 *   4. clear the mark and add one: the new generation.
 *
 * So once KVM_SET_USER_MEMORY_REGION returns, no vCPU reaches RAM that is
 * gone, and no vCPU treats as MMIO a gfn that is now backed.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/slab.h>
#include <linux/uaccess.h>

#include "kvmx.h"
#include "mmu/mmu.h"
#include "stats.h"

static struct kvmx_memslots *alloc_set(u32 nr)
{
	return kvzalloc(struct_size_t(struct kvmx_memslots, slots, nr), GFP_KERNEL_ACCOUNT);
}

int kvmx_memslots_init(struct kvmx_vm *vm)
{
	struct kvmx_memslots *set = alloc_set(0);

	if (!set)
		return -ENOMEM;
	RCU_INIT_POINTER(vm->memslots, set);
	return 0;
}

void kvmx_memslots_destroy(struct kvmx_vm *vm)
{
	struct kvmx_memslots *set = rcu_dereference_protected(vm->memslots, true);
	u32 i;

	/* The last set owns the bitmaps of its logging slots (slots.h). */
	for (i = 0; i < set->nr; i++)
		kvfree(set->slots[i].dirty_bitmap);
	kvfree(set);
	RCU_INIT_POINTER(vm->memslots, NULL);
}

/*
 * A dirty bitmap for @npages pages, as KVM's kvm_alloc_dirty_bitmap(): two
 * halves, the bits and KVM_GET_DIRTY_LOG's snapshot of them.
 */
static unsigned long *alloc_dirty_bitmap(u64 npages)
{
	return kvzalloc(2 * kvmx_dirty_bitmap_bytes(npages), GFP_KERNEL_ACCOUNT);
}

static const char *const mr_errors[] = {
	[KVMX_MR_BAD_FLAGS] = "unknown or unsupported flags",
	[KVMX_MR_BAD_SLOT] = "slot id or address space out of range",
	[KVMX_MR_UNALIGNED] = "size, guest address or user address not page aligned",
	[KVMX_MR_TOO_BIG] = "region too large or wraps around",
	[KVMX_MR_NO_SUCH_SLOT] = "deleting a slot that does not exist",
	[KVMX_MR_RESHAPE] = "an existing slot's size, user address or read-only flag cannot change",
	[KVMX_MR_OVERLAP] = "overlaps another slot",
};

int kvmx_set_memory_region(struct kvmx_vm *vm, const struct kvm_userspace_memory_region *mem)
{
	const struct kvmx_mr_request req = {
		.slot = mem->slot,
		.flags = mem->flags,
		.guest_phys_addr = mem->guest_phys_addr,
		.memory_size = mem->memory_size,
		.userspace_addr = mem->userspace_addr,
	};
	struct kvmx_memslots *old, *new;
	enum kvmx_mr_change change;
	const struct kvmx_memslot *was;
	struct kvmx_memslot slot, gone;
	unsigned long *stale_bitmap = NULL, *fresh_bitmap = NULL;
	enum kvmx_mr_error why;
	bool start_logging;
	u64 gen;

	mutex_lock(&vm->lock);
	old = rcu_dereference_protected(vm->memslots, lockdep_is_held(&vm->lock));
	why = kvmx_slots_check(old, &req, KVMX_MEM_READONLY | KVMX_MEM_LOG_DIRTY, &change, &slot);
	if (why == KVMX_MR_OK && change == KVMX_MR_CREATE &&
	    !access_ok((void __user *)(unsigned long)req.userspace_addr, req.memory_size))
		why = KVMX_MR_UNALIGNED;
	if (why != KVMX_MR_OK) {
		mutex_unlock(&vm->lock);
		return kvmx_refuse(why == KVMX_MR_OVERLAP ? -EEXIST : -EINVAL,
				   "KVM_SET_USER_MEMORY_REGION", "slot %u: %s", req.slot,
				   mr_errors[why]);
	}
	if (change == KVMX_MR_NONE) {
		mutex_unlock(&vm->lock);
		return 0;
	}

	/*
	 * Dirty bitmaps (ownership: see slots.h).  A slot that starts logging
	 * gets a new one here; one that stops logging, or goes away, leaves
	 * its bitmap to be freed once no reader of the old set remains.
	 */
	was = kvmx_slots_find_id(old, slot.id);
	if (change != KVMX_MR_DELETE && (slot.flags & KVMX_MEM_LOG_DIRTY) && !slot.dirty_bitmap) {
		fresh_bitmap = alloc_dirty_bitmap(slot.npages);
		slot.dirty_bitmap = fresh_bitmap;
		if (!fresh_bitmap) {
			mutex_unlock(&vm->lock);
			return kvmx_refuse(-ENOMEM, "KVM_SET_USER_MEMORY_REGION",
					   "slot %u: no memory for the dirty bitmap", req.slot);
		}
	}
	if (was && (change == KVMX_MR_DELETE || was->dirty_bitmap != slot.dirty_bitmap))
		stale_bitmap = was->dirty_bitmap;
	/* A read-only slot is never mapped writable: nothing to protect. */
	start_logging = change == KVMX_MR_FLAGS && !(was->flags & KVMX_MEM_LOG_DIRTY) &&
			(slot.flags & KVMX_MEM_LOG_DIRTY) && !(slot.flags & KVMX_MEM_READONLY);

	new = alloc_set(old->nr + 1);
	if (!new) {
		kvfree(fresh_bitmap);
		mutex_unlock(&vm->lock);
		return kvmx_refuse(-ENOMEM, "KVM_SET_USER_MEMORY_REGION", "no memory");
	}
	if (change == KVMX_MR_MOVE || change == KVMX_MR_DELETE)
		gone = *was;
	kvmx_slots_apply(old, change, &slot, new);

	gen = old->generation;
	WRITE_ONCE(old->generation, gen | KVMX_MEMSLOT_GEN_UPDATE_IN_PROGRESS);
	new->generation = gen | KVMX_MEMSLOT_GEN_UPDATE_IN_PROGRESS;
	rcu_assign_pointer(vm->memslots, new);
	/*
	 * Expedited, as KVM's kvm_swap_active_memslots(): readers hold
	 * vm->srcu only across one exit, so the wait is short, and a normal
	 * grace period (several jiffies) would make every update as slow.
	 */
	synchronize_srcu_expedited(&vm->srcu);

	if (change == KVMX_MR_MOVE || change == KVMX_MR_DELETE)
		kvmx_mmu_zap_gfns(vm, gone.base_gfn, gone.npages);
	/*
	 * Logging starts: from now on the first write to each page faults and
	 * marks it.  After the SRCU wait, so that a fault that saw the old set
	 * (and mapped writable without marking) is write-protected too.
	 */
	if (start_logging)
		kvmx_mmu_write_protect(vm, slot.base_gfn, slot.npages);

	/*
	 * The stored bits of the generation wrap: an MMIO SPTE made 2^bits
	 * updates ago would look current again, so none may survive.
	 */
	if (kvmx_mmio_gen_wraps(&vm->mmio, gen + 1)) {
		kvmx_mmu_zap_mmio(vm);
		kvmx_vm_stat_inc(vm, mmio_zap_all);
	}
	WRITE_ONCE(new->generation, gen + 1);
	kvmx_vm_stat_inc_locked(vm, memslot_updates);
	/* KVM's default for KVM_GET_NR_MMU_PAGES follows the memory size. */
	if (change == KVMX_MR_CREATE)
		vm->nr_memslot_pages += slot.npages;
	else if (change == KVMX_MR_DELETE)
		vm->nr_memslot_pages -= gone.npages;
	if (!vm->n_requested_mmu_pages && (change == KVMX_MR_CREATE || change == KVMX_MR_DELETE))
		WRITE_ONCE(vm->n_max_mmu_pages,
			   max_t(u64, KVMX_MIN_MMU_PAGES,
				 div_u64(vm->nr_memslot_pages, KVMX_MEMSLOT_PAGES_PER_MMU_PAGE)));
	mutex_unlock(&vm->lock);
	/* No reader of the old set remains (the SRCU wait above). */
	kvfree(stale_bitmap);
	kvfree(old);
	return 0;
}
