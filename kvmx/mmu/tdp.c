// SPDX-License-Identifier: GPL-2.0
/*
 * The TDP MMU on EPT: 4-level tables that map guest-physical pages to the
 * user pages behind the memslots.
 *
 * Memory: a page is pinned (pin_user_pages, FOLL_LONGTERM) when the guest
 * first touches it and unpinned when its mapping is zapped (memslot
 * delete or move) or the VM dies.  So user memory that the VMM
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

	unpin_user_pages_dirty_lock(&page, 1, kvmx_spte_host_writable(spte));
	atomic_long_dec(&kvmx_counts.pinned_pages);
}

/* What walk_leaves() does to one leaf; returns 1 if it changed it. */
typedef u64 (*leaf_fn)(u64 *sptep, u64 spte, const void *arg);

/*
 * The one range walk of the EPT: calls @fn on every level-1 entry for the
 * gfns in [start, end) below @table (at @level, covering gfns from @base),
 * in the tables that exist.  The caller holds the lock.  Returns how many
 * leaves @fn changed.
 */
static u64 walk_leaves(u64 *table, int level, u64 base, u64 start, u64 end, leaf_fn fn,
		       const void *arg)
{
	u64 span = kvmx_spte_span(level);
	u64 changed = 0;
	unsigned int i;

	for (i = 0; i < KVMX_EPT_ENTRIES; i++) {
		u64 gfn = base + i * span;
		u64 spte = READ_ONCE(table[i]);

		if (gfn >= end || gfn + span <= start)
			continue;
		if (level == 1)
			changed += fn(&table[i], spte, arg);
		else if (kvmx_spte_present(spte))
			changed += walk_leaves(table_of(spte), level - 1, gfn, start, end, fn,
					       arg);
	}
	return changed;
}

/* Every gfn a 4-level EPT maps. */
#define ALL_GFNS	(1ULL << (9 * KVMX_EPT_LEVELS))

static u64 zap_leaf(u64 *sptep, u64 spte, const void *unused)
{
	if (!kvmx_spte_present(spte))
		return 0;
	WRITE_ONCE(*sptep, 0);
	unpin(spte);
	return 1;
}

static u64 wrprot_leaf(u64 *sptep, u64 spte, const void *unused)
{
	if (!kvmx_spte_present(spte) || !kvmx_spte_writable(spte))
		return 0;
	WRITE_ONCE(*sptep, spte & ~KVMX_EPT_W);
	return 1;
}

static u64 zap_mmio_leaf(u64 *sptep, u64 spte, const void *cfg)
{
	if (!kvmx_spte_is_mmio(cfg, spte))
		return 0;
	WRITE_ONCE(*sptep, 0);
	return 1;
}

void kvmx_tdp_zap(struct kvmx_tdp *tdp, u64 gfn, u64 npages)
{
	u64 zapped;

	mutex_lock(&tdp->lock);
	zapped = walk_leaves(tdp->root, KVMX_EPT_LEVELS, 0, gfn, gfn + npages, zap_leaf, NULL);
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

/* @gfn's leaf, or NULL if a table on the way is missing; no allocation. */
static u64 *find_leaf(struct kvmx_tdp *tdp, u64 gfn)
{
	u64 *table = tdp->root;
	int level;

	lockdep_assert_held(&tdp->lock);
	for (level = KVMX_EPT_LEVELS; level > 1; level--) {
		u64 entry = table[kvmx_spte_index(gfn, level)];

		if (!kvmx_spte_present(entry))
			return NULL;
		table = table_of(entry);
	}
	return &table[kvmx_spte_index(gfn, 1)];
}

/*
 * If @gfn's leaf is present, makes sure it allows the access and returns
 * true.  A write to a leaf that dirty logging made read-only marks the page
 * dirty and makes the leaf writable again, both under the lock, so that
 * KVM_GET_DIRTY_LOG (which clears bits and write-protects under the same
 * lock) never sees a writable leaf whose bit it has just cleared.  Adding
 * a permission needs no INVEPT: a CPU that still caches the read-only
 * translation faults again and finds the new entry.
 */
static bool fix_present(struct kvmx_tdp *tdp, const struct kvmx_memslot *slot, u64 gfn,
			bool write)
{
	u64 *leaf = find_leaf(tdp, gfn);
	u64 spte;

	if (!leaf)
		return false;
	spte = *leaf;
	if (!kvmx_spte_present(spte))
		return false;
	if (write && !kvmx_spte_writable(spte) && kvmx_spte_host_writable(spte)) {
		kvmx_mark_page_dirty(slot, gfn);
		WRITE_ONCE(*leaf, spte | KVMX_EPT_W);
	}
	return true;
}

enum kvmx_fault kvmx_tdp_fault(struct kvmx_vcpu *vcpu, u64 gpa, bool write)
{
	struct kvmx_vm *vm = vcpu->vm;
	const struct kvmx_memslots *slots;
	const struct kvmx_memslot *slot;
	u64 gfn = gpa >> PAGE_SHIFT;
	enum kvmx_fault ret;
	struct page *page;
	bool writable, mapped;
	long pinned;
	int idx, err;
	u64 gen, spte;

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

	/* Mapped already (dirty logging write-protected it, or another vCPU). */
	mutex_lock(&vm->tdp.lock);
	mapped = fix_present(&vm->tdp, slot, gfn, write);
	mutex_unlock(&vm->tdp.lock);
	if (mapped) {
		ret = KVMX_FAULT_FIXED;
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

	/* A logging slot's page is writable only once it is marked dirty. */
	if (writable && slot->dirty_bitmap && !write)
		spte = kvmx_spte_ram_wrprot(page_to_phys(page));
	else
		spte = kvmx_spte_ram(page_to_phys(page), writable);
	mutex_lock(&vm->tdp.lock);
	err = install(&vm->tdp, gfn, spte);
	if (!err && write)
		kvmx_mark_page_dirty(slot, gfn);
	else if (err == -EEXIST)
		/* Another vCPU was first, its mapping stands (made writable if asked). */
		fix_present(&vm->tdp, slot, gfn, write);
	mutex_unlock(&vm->tdp.lock);
	if (err) {
		unpin_user_page(page);
		atomic_long_dec(&kvmx_counts.pinned_pages);
		kvmx_vm_stat_dec(vm, pages_pinned);
	}
	ret = err == -ENOMEM ? KVMX_FAULT_NOMEM : KVMX_FAULT_FIXED;
out:
	srcu_read_unlock(&vm->srcu, idx);
	return ret;
}

void kvmx_tdp_write_protect(struct kvmx_tdp *tdp, u64 gfn, u64 npages)
{
	mutex_lock(&tdp->lock);
	/* Taking a permission away: every CPU may cache the writable entries. */
	if (walk_leaves(tdp->root, KVMX_EPT_LEVELS, 0, gfn, gfn + npages, wrprot_leaf, NULL))
		kvmx_invept_all_cpus(tdp->eptp);
	mutex_unlock(&tdp->lock);
}

bool kvmx_tdp_harvest_dirty(struct kvmx_tdp *tdp, const struct kvmx_memslot *slot,
			    unsigned long *snapshot)
{
	u64 nlongs = kvmx_dirty_bitmap_bytes(slot->npages) / sizeof(long);
	bool flush = false;
	u64 i;

	mutex_lock(&tdp->lock);
	for (i = 0; i < nlongs; i++) {
		unsigned long mask;
		unsigned int bit;

		if (!READ_ONCE(slot->dirty_bitmap[i]))
			continue;
		mask = xchg(&slot->dirty_bitmap[i], 0);
		snapshot[i] = mask;
		for_each_set_bit(bit, &mask, BITS_PER_LONG) {
			u64 gfn = slot->base_gfn + i * BITS_PER_LONG + bit;
			u64 *leaf = find_leaf(tdp, gfn);

			if (leaf && kvmx_spte_present(*leaf) && kvmx_spte_writable(*leaf)) {
				WRITE_ONCE(*leaf, *leaf & ~KVMX_EPT_W);
				flush = true;
			}
		}
	}
	if (flush)
		kvmx_invept_all_cpus(tdp->eptp);
	mutex_unlock(&tdp->lock);
	return flush;
}

unsigned long kvmx_tdp_zap_mmio(struct kvmx_tdp *tdp, const struct kvmx_mmio_cfg *cfg)
{
	unsigned long zapped;

	/* MMIO SPTEs are never cached by the CPU: no INVEPT needed. */
	mutex_lock(&tdp->lock);
	zapped = walk_leaves(tdp->root, KVMX_EPT_LEVELS, 0, 0, ALL_GFNS, zap_mmio_leaf, cfg);
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
