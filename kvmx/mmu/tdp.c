// SPDX-License-Identifier: GPL-2.0
/*
 * The TDP MMU on EPT: 4-level tables that map guest-physical pages to the
 * user pages behind the memslots.
 *
 * Memory: a page is pinned (pin_user_pages, FOLL_LONGTERM) when the guest
 * first touches it and unpinned when its mapping is zapped (memslot
 * delete, move, flag change) or the VM dies.  So user memory that the VMM
 * unmaps under a live slot stays allocated, and mapped in the guest, until
 * the slot changes; pages never touched give KVM_RUN -EFAULT.  See
 * Documentation/design.md for why pins rather than MMU notifiers.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/smp.h>
#include <asm/io.h>

#include "tdp.h"
#include "spte.h"
#include "../vmx/vmx.h"
#include "../stats.h"
#include "../trace.h"

static u64 *alloc_table(void)
{
	u64 *table = (u64 *)get_zeroed_page(GFP_KERNEL_ACCOUNT);

	if (table)
		atomic_long_inc(&kvmx_counts.ept_tables);
	return table;
}

static void free_table(u64 *table)
{
	free_page((unsigned long)table);
	atomic_long_dec(&kvmx_counts.ept_tables);
}

static u64 *table_of(u64 spte)
{
	return (u64 *)__va(kvmx_spte_pa(spte));
}

int kvmx_tdp_init(struct kvmx_tdp *tdp)
{
	mutex_init(&tdp->lock);
	tdp->root = alloc_table();
	if (!tdp->root)
		return -ENOMEM;
	tdp->eptp = __pa(tdp->root) | KVMX_EPTP_WB_4LEVEL;
	return 0;
}

static void unpin(u64 spte)
{
	struct page *page = pfn_to_page(kvmx_spte_pa(spte) >> PAGE_SHIFT);

	unpin_user_pages_dirty_lock(&page, 1, kvmx_spte_writable(spte));
	atomic_long_dec(&kvmx_counts.pinned_pages);
}

/*
 * Zaps [start, end) below @table at @level, covering gfns from @base.
 * Returns how many pages it unpinned.
 */
static u64 zap_table(u64 *table, int level, u64 base, u64 start, u64 end)
{
	u64 span = kvmx_spte_span(level);
	u64 zapped = 0;
	unsigned int i;

	for (i = 0; i < KVMX_EPT_ENTRIES; i++) {
		u64 gfn = base + i * span;
		u64 spte = READ_ONCE(table[i]);

		if (gfn >= end || gfn + span <= start || !kvmx_spte_present(spte))
			continue;
		if (level == 1) {
			WRITE_ONCE(table[i], 0);
			unpin(spte);
			zapped++;
		} else {
			zapped += zap_table(table_of(spte), level - 1, gfn, start, end);
		}
	}
	return zapped;
}

void kvmx_tdp_zap(struct kvmx_tdp *tdp, u64 gfn, u64 npages)
{
	u64 zapped;

	mutex_lock(&tdp->lock);
	zapped = zap_table(tdp->root, KVMX_EPT_LEVELS, 0, gfn, gfn + npages);
	kvmx_vm_stat_sub(container_of(tdp, struct kvmx_vm, tdp), pages_pinned, zapped);
	/* Every CPU may cache translations of this EPT; flush them all. */
	if (zapped)
		kvmx_invept_all_cpus(tdp->eptp);
	mutex_unlock(&tdp->lock);
}

static void free_tables(u64 *table, int level)
{
	unsigned int i;

	for (i = 0; i < KVMX_EPT_ENTRIES; i++) {
		u64 spte = table[i];

		if (!kvmx_spte_present(spte))
			continue;
		if (level == 1)
			unpin(spte);
		else
			free_tables(table_of(spte), level - 1);
	}
	free_table(table);
}

void kvmx_tdp_destroy(struct kvmx_tdp *tdp)
{
	if (!tdp->root)
		return;
	free_tables(tdp->root, KVMX_EPT_LEVELS);
	tdp->root = NULL;
	/* A later VM may get the same root; no CPU must keep stale entries. */
	kvmx_invept_all_cpus(tdp->eptp);
}

/* The page table (level 1) that holds @gfn's leaf, allocating on the way. */
static u64 *leaf_table(struct kvmx_tdp *tdp, u64 gfn)
{
	u64 *table = tdp->root;
	int level;

	lockdep_assert_held(&tdp->lock);
	for (level = KVMX_EPT_LEVELS; level > 1; level--) {
		u64 *entry = &table[kvmx_spte_index(gfn, level)];

		if (!kvmx_spte_present(*entry)) {
			u64 *next = alloc_table();

			if (!next)
				return NULL;
			WRITE_ONCE(*entry, kvmx_spte_table(__pa(next)));
		}
		table = table_of(*entry);
	}
	return table;
}

/*
 * Installs @spte for @gfn, allocating tables on the way.  A leaf that is
 * not present (empty, or an MMIO SPTE: the CPU never caches either, so no
 * flush) is replaced.  Returns 0, or -EEXIST if @gfn is mapped already
 * (another vCPU was first), or -ENOMEM.
 */
static int install(struct kvmx_tdp *tdp, u64 gfn, u64 spte)
{
	u64 *table = leaf_table(tdp, gfn);

	if (!table)
		return -ENOMEM;
	if (kvmx_spte_present(table[kvmx_spte_index(gfn, 1)]))
		return -EEXIST;
	WRITE_ONCE(table[kvmx_spte_index(gfn, 1)], spte);
	return 0;
}

/*
 * Leaves an MMIO SPTE for @gfn, made at generation @gen (seed 000).  Never
 * while a memslot update is in progress: the answer "no memslot" may be
 * about to change, and an SPTE made now could outlive the change.
 */
static void cache_mmio(struct kvmx_vcpu *vcpu, u64 gfn, u64 gen)
{
	struct kvmx_vm *vm = vcpu->vm;
	int err;

	if (!kvmx_mmio_caching(&vm->mmio) || (gen & KVMX_MEMSLOT_GEN_UPDATE_IN_PROGRESS))
		return;
	mutex_lock(&vm->tdp.lock);
	err = install(&vm->tdp, gfn, kvmx_spte_mmio(&vm->mmio, gfn, gen));
	mutex_unlock(&vm->tdp.lock);
	if (!err) {
		kvmx_stat_inc(vcpu, mmio_spte_created);
		trace_kvmx_mmio_spte_create(vcpu->vm, gfn, gen);
	}
}

enum kvmx_fault kvmx_tdp_fault(struct kvmx_vcpu *vcpu, u64 gpa, bool write)
{
	struct kvmx_vm *vm = vcpu->vm;
	const struct kvmx_memslots *slots;
	const struct kvmx_memslot *slot;
	u64 gfn = gpa >> PAGE_SHIFT;
	enum kvmx_fault ret;
	struct page *page;
	bool writable;
	long pinned;
	int idx, err;
	u64 gen;

	idx = srcu_read_lock(&vm->srcu);
	slots = srcu_dereference(vm->memslots, &vm->srcu);
	/* The generation of this set: an update after it makes the answer stale. */
	gen = READ_ONCE(slots->generation);
	slot = kvmx_slots_find_gfn(slots, gfn);
	if (!slot) {
		cache_mmio(vcpu, gfn, gen);
		ret = KVMX_FAULT_MMIO;
		goto out;
	}
	writable = !(slot->flags & KVMX_MEM_READONLY);
	if (write && !writable) {
		ret = KVMX_FAULT_RO_WRITE;
		goto out;
	}

	/* pin_user_pages_unlocked() refuses FOLL_LONGTERM in 6.1; _fast() takes it. */
	pinned = pin_user_pages_fast(kvmx_slot_hva(slot, gfn), 1,
				     FOLL_LONGTERM | (writable ? FOLL_WRITE : 0), &page);
	if (pinned != 1) {
		pr_info_ratelimited("gfn 0x%llx: pinning hva 0x%llx failed (%ld)\n", gfn,
				    kvmx_slot_hva(slot, gfn), pinned);
		ret = KVMX_FAULT_EFAULT;
		goto out;
	}
	atomic_long_inc(&kvmx_counts.pinned_pages);
	kvmx_vm_stat_inc(vm, pages_pinned);

	mutex_lock(&vm->tdp.lock);
	err = install(&vm->tdp, gfn, kvmx_spte_ram(page_to_phys(page), writable));
	mutex_unlock(&vm->tdp.lock);
	if (err) {
		/* -EEXIST: another vCPU was first, its mapping stands. */
		unpin_user_page(page);
		atomic_long_dec(&kvmx_counts.pinned_pages);
		kvmx_vm_stat_dec(vm, pages_pinned);
	}
	ret = err == -ENOMEM ? KVMX_FAULT_NOMEM : KVMX_FAULT_FIXED;
out:
	srcu_read_unlock(&vm->srcu, idx);
	return ret;
}

static unsigned long zap_mmio(u64 *table, int level, const struct kvmx_mmio_cfg *cfg)
{
	unsigned long zapped = 0;
	unsigned int i;

	for (i = 0; i < KVMX_EPT_ENTRIES; i++) {
		u64 spte = READ_ONCE(table[i]);

		if (level == 1 && kvmx_spte_is_mmio(cfg, spte)) {
			WRITE_ONCE(table[i], 0);
			zapped++;
		} else if (level > 1 && kvmx_spte_present(spte)) {
			zapped += zap_mmio(table_of(spte), level - 1, cfg);
		}
	}
	return zapped;
}

unsigned long kvmx_tdp_zap_mmio(struct kvmx_tdp *tdp, const struct kvmx_mmio_cfg *cfg)
{
	unsigned long zapped;

	/* MMIO SPTEs are never cached by the CPU: no INVEPT needed. */
	mutex_lock(&tdp->lock);
	zapped = zap_mmio(tdp->root, KVMX_EPT_LEVELS, cfg);
	mutex_unlock(&tdp->lock);
	return zapped;
}

int kvmx_tdp_walk_lockless(struct kvmx_tdp *tdp, u64 gfn, u64 sptes[KVMX_EPT_LEVELS])
{
	u64 *table = tdp->root;
	int level, n = 0;

	for (level = KVMX_EPT_LEVELS; level >= 1; level--) {
		u64 spte = READ_ONCE(table[kvmx_spte_index(gfn, level)]);

		sptes[n++] = spte;
		if (level == 1 || !kvmx_spte_present(spte))
			break;
		table = table_of(spte);
	}
	return n;
}

int kvmx_tdp_debug_set_spte(struct kvmx_tdp *tdp, u64 gfn, u64 spte)
{
	int err;

	/* Never a present entry: the hook must not hand the guest host memory. */
	if (kvmx_spte_present(spte))
		return -EINVAL;
	mutex_lock(&tdp->lock);
	err = install(tdp, gfn, spte);
	mutex_unlock(&tdp->lock);
	return err;
}
