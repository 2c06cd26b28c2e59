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
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/smp.h>
#include <asm/io.h>

#include "mmu.h"
#include "spte.h"
#include "../vmx/vmx.h"
#include "../vmx/vmcs.h"
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

static int tdp_init(struct kvmx_vm *vm)
{
	struct kvmx_tdp *tdp = &vm->tdp;

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

static void tdp_zap_gfns(struct kvmx_vm *vm, u64 gfn, u64 npages)
{
	struct kvmx_tdp *tdp = &vm->tdp;
	u64 zapped;

	mutex_lock(&tdp->lock);
	zapped = walk_leaves(tdp->root, KVMX_EPT_LEVELS, 0, gfn, gfn + npages, zap_leaf, NULL);
	kvmx_vm_stat_sub(vm, pages_pinned, zapped);
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

static void tdp_destroy(struct kvmx_vm *vm)
{
	struct kvmx_tdp *tdp = &vm->tdp;

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

/*
 * Fault-around: after a fault maps one page, the pages around it in the
 * same aligned window that are resident in the host already (a
 * transparent huge page behind guest RAM has all 512 of its pages
 * resident once one is touched) are pinned and mapped too, so the guest
 * does not take one EPT violation per 4 KiB page of a region the host
 * backs with one huge page.  KVM gets the same from 2 MiB EPT entries.
 * Only resident pages: pin_user_pages_fast_only() never faults, so
 * fault-around allocates no host memory the guest has not touched.
 */
static unsigned int fault_around = 512;
module_param(fault_around, uint, 0444);
MODULE_PARM_DESC(fault_around,
		 "pages of an aligned window mapped on an EPT violation when resident in the host (power of 2, 1 = off, at most 512; default 512)");

/* Checked when the module loads: one leaf table's worth at most. */
bool kvmx_tdp_params_valid(void)
{
	if (fault_around && fault_around <= KVMX_EPT_ENTRIES && is_power_of_2(fault_around))
		return true;
	pr_err("fault_around must be a power of 2 from 1 to %d, not %u\n", KVMX_EPT_ENTRIES,
	       fault_around);
	return false;
}

/* Pages pinned per pin_user_pages_fast_only() call: an array on the stack. */
#define AROUND_CHUNK	32

/*
 * Maps the resident pages of [@start, @end) (one leaf table's worth at
 * most) in ascending order, stopping at the first one that is not
 * resident or not pinnable; skips gfns mapped already.  Returns how many
 * it mapped.
 */
static unsigned int map_resident(struct kvmx_vm *vm, const struct kvmx_memslot *slot,
				 u64 start, u64 end, bool writable)
{
	unsigned int flags = FOLL_LONGTERM | (writable ? FOLL_WRITE : 0);
	struct page *pages[AROUND_CHUNK];
	unsigned int mapped = 0;
	u64 gfn = start;

	while (gfn < end) {
		int want = min_t(u64, end - gfn, AROUND_CHUNK);
		int got = pin_user_pages_fast_only(kvmx_slot_hva(slot, gfn), want, flags, pages);
		u64 *table;
		int i;

		if (got <= 0)
			break;
		atomic_long_add(got, &kvmx_counts.pinned_pages);
		mutex_lock(&vm->tdp.lock);
		table = leaf_table(&vm->tdp, gfn);
		for (i = 0; i < got; i++) {
			u64 *leaf = table ? &table[kvmx_spte_index(gfn + i, 1)] : NULL;

			if (!leaf || kvmx_spte_present(*leaf)) {
				unpin_user_page(pages[i]);
				atomic_long_dec(&kvmx_counts.pinned_pages);
				continue;
			}
			WRITE_ONCE(*leaf, kvmx_spte_ram(page_to_phys(pages[i]), writable));
			mapped++;
		}
		mutex_unlock(&vm->tdp.lock);
		if (got < want || !table)
			break;
		gfn += got;
	}
	return mapped;
}

/*
 * Fault-around for @gfn of @slot, mapped just now: the window's pages
 * above it, then those below.  Not for a dirty-logging slot, whose pages
 * must be mapped one by one to be logged.
 */
static void map_around(struct kvmx_vcpu *vcpu, const struct kvmx_memslot *slot, u64 gfn,
		       bool writable)
{
	u64 slot_end = slot->base_gfn + slot->npages;
	u64 first = max(ALIGN_DOWN(gfn, fault_around), slot->base_gfn);
	u64 end = min(ALIGN_DOWN(gfn, fault_around) + fault_around, slot_end);
	unsigned int mapped;

	if (fault_around <= 1 || slot->dirty_bitmap)
		return;
	mapped = map_resident(vcpu->vm, slot, gfn + 1, end, writable);
	mapped += map_resident(vcpu->vm, slot, first, gfn, writable);
	if (!mapped)
		return;
	kvmx_vm_stat_add(vcpu->vm, pages_pinned, mapped);
	kvmx_stat_add(vcpu, pf_mapped_around, mapped);
}

/*
 * The normal path of an EPT violation at @f->addr: map the page behind
 * its memslot, or say there is none.  The caller holds vm->srcu.
 */
static void tdp_page_fault(struct kvmx_vcpu *vcpu, struct kvmx_page_fault *f)
{
	struct kvmx_vm *vm = vcpu->vm;
	const struct kvmx_memslots *slots;
	const struct kvmx_memslot *slot;
	u64 gfn = f->addr >> PAGE_SHIFT;
	bool write = f->write;
	struct page *page;
	bool writable, mapped;
	long pinned;
	int err;
	u64 spte;

	f->gpa = f->addr;
	f->gfn = gfn;
	slots = srcu_dereference(vm->memslots, &vm->srcu);
	/* The generation of this set: an update after it makes the answer stale. */
	f->gen = READ_ONCE(slots->generation);
	slot = kvmx_slots_find_gfn(slots, gfn);
	f->slot = slot;
	if (!slot) {
		cache_mmio(vcpu, gfn, f->gen);
		f->result = KVMX_FAULT_MMIO;
		return;
	}
	writable = !(slot->flags & KVMX_MEM_READONLY);
	if (write && !writable) {
		f->result = KVMX_FAULT_RO_WRITE;
		return;
	}

	/* Mapped already (dirty logging write-protected it, or another vCPU). */
	mutex_lock(&vm->tdp.lock);
	mapped = fix_present(&vm->tdp, slot, gfn, write);
	mutex_unlock(&vm->tdp.lock);
	if (mapped) {
		f->result = KVMX_FAULT_FIXED;
		return;
	}

	/* pin_user_pages_unlocked() refuses FOLL_LONGTERM in 6.1; _fast() takes it. */
	pinned = pin_user_pages_fast(kvmx_slot_hva(slot, gfn), 1,
				     FOLL_LONGTERM | (writable ? FOLL_WRITE : 0), &page);
	if (pinned != 1) {
		pr_info_ratelimited("gfn 0x%llx: pinning hva 0x%llx failed (%ld)\n", gfn,
				    kvmx_slot_hva(slot, gfn), pinned);
		f->result = KVMX_FAULT_EFAULT;
		return;
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
	} else {
		map_around(vcpu, slot, gfn, writable);
	}
	f->result = err == -ENOMEM ? KVMX_FAULT_NOMEM : KVMX_FAULT_FIXED;
}

static void tdp_write_protect(struct kvmx_vm *vm, u64 gfn, u64 npages)
{
	struct kvmx_tdp *tdp = &vm->tdp;

	mutex_lock(&tdp->lock);
	/* Taking a permission away: every CPU may cache the writable entries. */
	if (walk_leaves(tdp->root, KVMX_EPT_LEVELS, 0, gfn, gfn + npages, wrprot_leaf, NULL))
		kvmx_invept_all_cpus(tdp->eptp);
	mutex_unlock(&tdp->lock);
}

static bool tdp_wrprot_gfn(struct kvmx_vm *vm, u64 gfn)
{
	u64 *leaf = find_leaf(&vm->tdp, gfn);

	if (!leaf || !kvmx_spte_present(*leaf) || !kvmx_spte_writable(*leaf))
		return false;
	WRITE_ONCE(*leaf, *leaf & ~KVMX_EPT_W);
	return true;
}

static bool tdp_harvest_dirty(struct kvmx_vm *vm, const struct kvmx_memslot *slot,
			      unsigned long *snapshot)
{
	struct kvmx_tdp *tdp = &vm->tdp;
	bool flush;

	mutex_lock(&tdp->lock);
	flush = kvmx_mmu_harvest_bits(vm, slot, snapshot, tdp_wrprot_gfn);
	if (flush)
		kvmx_invept_all_cpus(tdp->eptp);
	mutex_unlock(&tdp->lock);
	return flush;
}

static unsigned long tdp_zap_mmio(struct kvmx_vm *vm)
{
	struct kvmx_tdp *tdp = &vm->tdp;
	unsigned long zapped;

	/* MMIO SPTEs are never cached by the CPU: no INVEPT needed. */
	mutex_lock(&tdp->lock);
	zapped = walk_leaves(tdp->root, KVMX_EPT_LEVELS, 0, 0, ALL_GFNS, zap_mmio_leaf,
			     &vm->mmio);
	mutex_unlock(&tdp->lock);
	return zapped;
}

/*
 * The lockless walk (the MMIO fast path).  Safe against concurrent zaps
 * because EPT tables are freed only with the VM, when no vCPU runs: an
 * entry read here may be stale by the time it is used, never freed
 * memory.  Each entry is read once; the walk stops at the first entry
 * that is not a present table.
 */
static int tdp_walk_lockless(struct kvmx_vcpu *vcpu, u64 gpa, u64 sptes[KVMX_MMU_MAX_LEVELS],
			     int *root_level)
{
	u64 *table = vcpu->vm->tdp.root;
	u64 gfn = gpa >> PAGE_SHIFT;
	int level, n = 0;

	for (level = KVMX_EPT_LEVELS; level >= 1; level--) {
		u64 spte = READ_ONCE(table[kvmx_spte_index(gfn, level)]);

		sptes[n++] = spte;
		if (level == 1 || !kvmx_spte_present(spte))
			break;
		table = table_of(spte);
	}
	*root_level = KVMX_EPT_LEVELS;
	return n;
}

static bool tdp_mmio_spte(const struct kvmx_vm *vm, const struct kvmx_page_fault *f, u64 spte,
			  u64 *gfn, u64 *gen, u32 *access)
{
	if (!kvmx_spte_is_mmio(&vm->mmio, spte))
		return false;
	*gfn = kvmx_spte_mmio_gfn(spte);
	*gen = kvmx_spte_mmio_gen(spte);
	*access = ~0U;	/* guest-physical: no guest rights to check */
	return true;
}

/* Misconfigured: write or execute without read (not present: none). */
static bool tdp_spte_rsvd(const struct kvmx_vm *vm, u64 spte)
{
	return (spte & KVMX_EPT_RWX) && !kvmx_spte_present(spte);
}

static void tdp_load(struct kvmx_vcpu *vcpu)
{
	vmcs_write(EPT_POINTER, vcpu->vm->tdp.eptp);
}

/* With EPT the guest owns CR3: it lives in the VMCS. */
static u64 tdp_get_cr3(struct kvmx_vcpu *vcpu)
{
	return vmcs_read(GUEST_CR3);
}

static void tdp_set_cr3(struct kvmx_vcpu *vcpu, u64 cr3)
{
	vmcs_write(GUEST_CR3, cr3);
}

/*
 * On EPT, a misconfiguration (RSVD) comes from an MMIO SPTE or a bug, and
 * under the not-present flavour an EPT violation may find one too.
 */
static bool tdp_may_be_mmio_spte(const struct kvmx_vm *vm, const struct kvmx_page_fault *f)
{
	return f->rsvd || vm->mmio.flavour == KVMX_MMIO_CACHING_NOT_PRESENT;
}

static int tdp_debug_set_spte(struct kvmx_vm *vm, u64 gfn, u64 spte)
{
	struct kvmx_tdp *tdp = &vm->tdp;
	int err;

	/* Never a present entry: the hook must not hand the guest host memory. */
	if (kvmx_spte_present(spte))
		return -EINVAL;
	mutex_lock(&tdp->lock);
	err = install(tdp, gfn, spte);
	mutex_unlock(&tdp->lock);
	return err;
}

const struct kvmx_mmu_ops kvmx_tdp_mmu_ops = {
	.name = "ept",
	.rsvd_fault_name = "EPT misconfiguration",
	.addr_name = "gpa",
	.init = tdp_init,
	.destroy = tdp_destroy,
	.load = tdp_load,
	.get_cr3 = tdp_get_cr3,
	.set_cr3 = tdp_set_cr3,
	.may_be_mmio_spte = tdp_may_be_mmio_spte,
	.spte_rsvd = tdp_spte_rsvd,
	.page_fault = tdp_page_fault,
	.walk_lockless = tdp_walk_lockless,
	.mmio_spte = tdp_mmio_spte,
	.zap_gfns = tdp_zap_gfns,
	.zap_mmio = tdp_zap_mmio,
	.write_protect = tdp_write_protect,
	.harvest_dirty = tdp_harvest_dirty,
	.debug_set_spte = tdp_debug_set_spte,
};
