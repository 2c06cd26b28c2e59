// SPDX-License-Identifier: GPL-2.0
/*
 * The shadow MMU: for VMs without EPT, page tables that kvmx builds in the
 * guest's place and points the CPU at (KVM's shadow paging with ept=0).
 *
 * What the guest sees.  The CPU runs the guest with CR0.PG, CR0.PE and
 * CR0.WP set and CR4.PAE set (no unrestricted guest without EPT); the
 * guest's own CR0, CR3 and CR4 live in the read shadows and in
 * vcpu->shadow.cr3, and every change to their paging bits, every MOV to
 * or from CR3 and every INVLPG exits.  Every #PF exits too: kvmx walks
 * the guest's tables (kvmx_walk(), which sets A and D as the CPU would)
 * and either gives the guest its own #PF, with the walker's CR2 and error
 * code, or makes the missing shadow entry.
 *
 * Paging modes shadowed: protected mode without paging (a linear =
 * physical map below 4 GiB under a PAE root), 32-bit paging (4 KiB and
 * 4 MiB pages) and PAE paging (under the same kind of PAE root), and
 * 4-level paging (2 MiB and 1 GiB guest pages with 4 KiB shadow leaves);
 * shadow_path.h draws the tables.  Real mode (and EFER.LME without paging,
 * and 5-level paging) stop the vCPU with KVM_EXIT_INTERNAL_ERROR,
 * KVMX_INTERNAL_ERROR_SHADOW_MODE (Documentation/abi.md).
 *
 * Shadow pages (struct kvmx_sp) are keyed by gfn and role
 * (shadow_path.h) in a hash; a guest table that has one is
 * write-protected: every leaf that maps its gfn is read-only (the reverse
 * map finds them), and a guest write to it faults.  The write is then
 * emulated and every shadow page of that gfn follows it
 * (shadow_track_write(), KVM's kvm_mmu_pte_write()): the shadow entries
 * of the written guest entry are made again (a new present leaf at once),
 * and a page written misaligned, or written twice without being
 * used for a translation in between (write flooding), is zapped, which
 * unprotects the gfn once its last shadow page goes.  So a shadow page is
 * never out of date with the guest table it shadows, and INVLPG and CR3
 * loads need no resync: INVLPG drops one leaf and the vCPU's MMIO cache,
 * a CR3 load picks the root for the new CR3.
 *
 * MMIO SPTEs (seed 000) are leaves with the reserved bit 51 set
 * (shadow_spte.h), made when the walk ends in a gfn without a memslot and
 * only where the host's MAXPHYADDR leaves the bit reserved.  The CPU then
 * raises #PF with P|RSVD on every access, which kvmx_mmu_fault()'s
 * fast path resolves without walking the guest's tables or the memslots.
 * They carry the guest's W and U rights, checked by the fast path.
 *
 * Locking and lifetime.  vm->shadow.lock (a mutex: pinning sleeps outside
 * it, allocation inside) protects every shadow page, the hash, the page
 * list, the reverse map, the write-protect counts and every SPTE write.
 * SPTEs are written with WRITE_ONCE() and read by the CPU and by the
 * lockless walk at any time.
 *
 * The freeing rule: a shadow page is unlinked from every parent entry (and
 * its own entries cleared) under the lock, and freed only after an RCU
 * grace period (call_rcu()).  That keeps safe
 *  - the lockless walk (shadow_walk_lockless()), which reads under
 *    rcu_read_lock(): a table it reached cannot be freed under it;
 *  - other CPUs in guest mode, whose TLBs and paging-structure caches may
 *    still hold the unlinked table: a CPU is in guest mode with interrupts
 *    off, which RCU counts as a read-side critical section, so the grace
 *    period ends only after every such CPU left the guest, and kvmx runs
 *    without VPIDs, so the next VM entry flushes those caches.
 * Taking a right away from an entry that stays (write-protecting a leaf)
 * needs the other vCPUs out of the guest before the caller relies on it:
 * flush_remote() sends an IPI to every CPU running one of the VM's vCPUs
 * and waits for it (which the CPU takes only after a VM exit).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/gfp.h>
#include <linux/hash.h>
#include <linux/mm.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <linux/xarray.h>
#include <asm/io.h>
#include <asm/processor.h>
#include <asm/trapnr.h>

#include <linux/kvmx.h>

#include "mmu.h"
#include "shadow_path.h"
#include "../irq/irq.h"
#include "../vmx/vmx.h"
#include "../vmx/vmcs.h"
#include "../vmx/guest.h"
#include "../stats.h"
#include "../trace.h"

#define HASH_BITS_SP	10
#define ENTRIES		512

/*
 * bypass_guest_pf (seed 003): a guest #PF on a not-present shadow entry
 * (error code P=0) goes straight to the guest, without a VM exit (the
 * PFEC mask/match of the VMCS).  So a shadow entry may be left not present
 * ("notrap", 0) only where kvmx read the guest's entry as not present in a
 * guest table it write-protects (prefetch_sp(), and after a guest write,
 * pt_write_sp()); every other entry kvmx has
 * not filled holds the "trap" value (present, bit 51 set: a reserved-bit
 * fault that exits), told apart from MMIO SPTEs by value
 * (shadow_spte.h).  Needs the reserved bit, like MMIO SPTEs.  Read-only
 * after load; a new VM takes it as its default (vm->bypass_guest_pf), which
 * KVMX_CAP_BYPASS_GUEST_PF may change before the first vCPU.
 */
static bool bypass_guest_pf = true;
module_param(bypass_guest_pf, bool, 0444);
MODULE_PARM_DESC(bypass_guest_pf,
		 "shadow paging: let the guest's not-present page faults bypass kvmx (default on; needs a free reserved physical-address bit); new VMs' default, which KVMX_CAP_BYPASS_GUEST_PF changes per VM");

/* SPTE bits of a non-leaf entry; a PAE root entry has P only (the rest is reserved). */
#define SPT_TABLE_BITS	(KVMX_SPT_P | KVMX_SPT_W | KVMX_SPT_U | KVMX_SPT_A)

/* A list of SPTE pointers: a shadow page's parents, a gfn's leaves. */
struct sptep_list {
	unsigned int n, cap;
	u64 **p;
};

struct kvmx_sp {
	struct hlist_node hash_link;	/* vm->shadow.hash, unless invalid */
	struct list_head link;		/* vm->shadow.pages, unless invalid */
	u64 *spt;			/* the table the CPU walks */
	u64 *gfns;			/* level 1: the gfn each RAM leaf maps */
	u64 gfn;
	struct kvmx_spt_role role;
	u32 role_word;
	int root_count;			/* vCPUs whose root it is */
	bool invalid;			/* zapped while a root: waits for its vCPUs */
	/*
	 * Write flooding (KVM's write_flooding_count): guest writes to the
	 * table since it was last used for a translation (a fault's path
	 * through it, or the CPU's use of the leaf the last write made,
	 * @last_pte, whose A bit the CPU sets); at WRITE_FLOOD the page is
	 * zapped.
	 */
	u8 write_flood;
	u64 *last_pte;
	u64 write_seq;			/* vm->shadow.write_seq of the last write */
	struct sptep_list parents;	/* the entries that point at it */
	struct rcu_head rcu;
};

static bool host_rsvd_bit_free(void)
{
	unsigned int maxphyaddr = 36;

	if (cpuid_eax(0x80000000) >= 0x80000008)
		maxphyaddr = cpuid_eax(0x80000008) & 0xff;
	return kvmx_spt_has_rsvd_bit(maxphyaddr);
}

bool kvmx_shadow_supported(void)
{
	return true;
}

bool kvmx_shadow_mmio_supported(void)
{
	return host_rsvd_bit_free();
}

/* A new VM's bypass_guest_pf: the module parameter, where it can work. */
bool kvmx_shadow_bypass_default(void)
{
	return bypass_guest_pf && host_rsvd_bit_free();
}

/* KVMX_CAP_BYPASS_GUEST_PF, under vm->lock, before the first vCPU. */
int kvmx_shadow_set_bypass(struct kvmx_vm *vm, u64 on)
{
	lockdep_assert_held(&vm->lock);
	if (on > 1)
		return kvmx_refuse(-EINVAL, "KVMX_CAP_BYPASS_GUEST_PF", "args[0] %llu: 0 or 1", on);
	if (on && !host_rsvd_bit_free())
		return kvmx_refuse(-EOPNOTSUPP, "KVMX_CAP_BYPASS_GUEST_PF",
				   "no free reserved physical-address bit on this host");
	if (vm->nr_vcpus)
		return kvmx_refuse(-EBUSY, "KVMX_CAP_BYPASS_GUEST_PF", "after the first vCPU");
	vm->bypass_guest_pf = on;
	if (vm->mmu == &kvmx_shadow_mmu_ops)
		vm->shadow.bypass = on && vm->shadow.mmio_ok;
	return 0;
}

/* ---- small helpers ---- */

static int sptep_list_add(struct sptep_list *l, u64 *sptep)
{
	if (l->n == l->cap) {
		unsigned int cap = l->cap ? 2 * l->cap : 4;
		u64 **p = krealloc_array(l->p, cap, sizeof(*p), GFP_KERNEL_ACCOUNT);

		if (!p)
			return -ENOMEM;
		l->p = p;
		l->cap = cap;
	}
	l->p[l->n++] = sptep;
	return 0;
}

static void sptep_list_del(struct sptep_list *l, u64 *sptep)
{
	unsigned int i;

	for (i = 0; i < l->n; i++) {
		if (l->p[i] == sptep) {
			l->p[i] = l->p[--l->n];
			return;
		}
	}
	WARN_ONCE(1, "kvmx: shadow SPTE %p not on its list\n", sptep);
}

static struct kvmx_sp *sp_of_table(u64 spte)
{
	struct page *page = pfn_to_page((spte & KVMX_SPT_PFN_MASK) >> PAGE_SHIFT);

	return (struct kvmx_sp *)page_private(page);
}

static struct kvmx_sp *sp_of_sptep(u64 *sptep)
{
	return (struct kvmx_sp *)page_private(virt_to_page(sptep));
}

static bool is_ram_leaf(u64 spte)
{
	return kvmx_spt_present(spte) && !(spte & KVMX_SPT_RSVD_BIT);
}

/* A non-leaf entry that points at a shadow table (not trap, not notrap). */
static bool is_link(u64 spte)
{
	return kvmx_spt_present(spte) && !(spte & KVMX_SPT_RSVD_BIT);
}

/* What an entry kvmx empties holds: trap with bypass, else not present. */
static u64 unfilled(const struct kvmx_shadow *s)
{
	return kvmx_spt_unfilled(s->bypass);
}

/* The size of the guest entries @sp shadows. */
static unsigned int gpte_size(const struct kvmx_sp *sp)
{
	return sp->role.guest_levels == KVMX_SPT_GUEST_32BIT ? 4 : 8;
}

/*
 * What an entry of @sp that kvmx does not fill holds for the guest entry
 * @gpte: notrap where it is not present, if bypass is on and the CPU's
 * #PF would carry the guest's error code (kvmx_spt_notrap_ok()), else
 * unfilled.
 */
static u64 sp_prefetch(const struct kvmx_shadow *s, const struct kvmx_sp *sp, u64 gpte)
{
	if (!kvmx_spt_notrap_ok(gpte_size(sp), sp->role.nxe))
		return unfilled(s);
	return kvmx_spt_prefetch(gpte, s->bypass);
}

/* Whether @sptep lies in a vCPU's PAE root (no shadow page: PDPTEs). */
static bool in_pae_root(u64 *sptep)
{
	return !page_private(virt_to_page(sptep));
}

/*
 * Sends every vCPU of @vm that runs the guest now out of it, and waits:
 * their next entries flush their TLBs.  With or without the shadow lock.
 */
static void flush_remote(struct kvmx_vm *vm)
{
	/* A leaf dropped after this is flushed by a later call. */
	WRITE_ONCE(vm->shadow.tlbs_dirty, false);
	/* The SPTE writes before reading where the vCPUs are: see vcpu_run(). */
	smp_mb();
	kvmx_kick_all_vcpus_wait(vm);
}

/* Every vCPU of @vm loads a new root before its next entry. */
static void request_reload_all(struct kvmx_vm *vm)
{
	/* Pairs with the smp_store_release() that publishes a new vCPU. */
	int i, n = smp_load_acquire(&vm->nr_vcpus);

	for (i = 0; i < n; i++) {
		struct kvmx_vcpu *vcpu = vm->vcpus[i];
		int cpu;

		set_bit(KVMX_REQ_MMU_RELOAD, &vcpu->requests);
		/* The request before reading guest_cpu; pairs with vcpu_run(). */
		smp_mb__after_atomic();
		cpu = READ_ONCE(vcpu->guest_cpu);
		if (cpu >= 0 && cpu != raw_smp_processor_id())
			smp_send_reschedule(cpu);
	}
}

/* ---- reverse map, pins and write protection (shadow lock held) ---- */

/*
 * What the shadow MMU keeps of one gfn, in one entry of vm->shadow.rmap:
 * the reverse map (the RAM leaves that map it, and the guest page they
 * map, pinned once for all of them) and its write protection (how many
 * shadow pages shadow it as a guest table).  One entry, so that a guest
 * page-table write that maps a page (shadow_track_write()) looks the
 * page up once.
 *
 * The pin is taken before the gfn's first leaf and kept, with the entry,
 * when its last leaf goes, until every shadow page goes (zap_all(): a
 * memslot change, dirty logging's start, the VM's end): the lifetime of
 * the EPT's pins, which stay with their leaves until then.  So a leaf for
 * a gfn mapped before needs no pin_user_pages_fast(), and a zap no unpin:
 * a guest page-table write that maps a page (its demand paging, an
 * address space built again) makes its leaf without either.  An entry
 * stays until then too, whatever it holds (at most one per gfn the
 * shadow MMU has seen since the last zap_all()).
 *
 * An entry with a pinned page carries the mark RMAP_PINNED in the xarray,
 * which a reader without the lock may test (rmap_pinned()).
 */
struct rmap_head {
	struct sptep_list l;
	struct page *page;	/* NULL: not pinned yet */
	bool writable;		/* pinned for writing (unpinned dirty) */
	unsigned int wp;	/* shadow pages of it as a guest table: protected if > 0 */
};

#define RMAP_PINNED	XA_MARK_0

static void unpin_page(struct kvmx_vm *vm, struct page *page, bool writable)
{
	unpin_user_pages_dirty_lock(&page, 1, writable);
	atomic_long_dec(&kvmx_counts.pinned_pages);
	kvmx_vm_stat_dec(vm, pages_pinned);
}

static struct rmap_head *head_of(struct kvmx_shadow *s, u64 gfn)
{
	return xa_load(&s->rmap, gfn);
}

/* @gfn's entry, made if there is none; NULL: no memory. */
static struct rmap_head *head_get(struct kvmx_shadow *s, u64 gfn)
{
	struct rmap_head *h = head_of(s, gfn);

	if (h)
		return h;
	h = kzalloc(sizeof(*h), GFP_KERNEL_ACCOUNT);
	if (h && xa_err(xa_store(&s->rmap, gfn, h, GFP_KERNEL_ACCOUNT))) {
		kfree(h);
		h = NULL;
	}
	return h;
}

/*
 * Whether @gfn has a pinned page (a leaf maps it, or did since the last
 * zap_all()).  Without the lock (the mark is RCU-safe), a hint only.
 */
static bool rmap_pinned(struct kvmx_shadow *s, u64 gfn)
{
	return xa_get_mark(&s->rmap, gfn, RMAP_PINNED);
}

/*
 * @sptep becomes one of @gfn's leaves; *@pa gets the page it is to map.
 * @h is @gfn's entry as the caller found it under the lock (NULL: none).
 * A gfn without a pinned page takes the caller's pinned page *@pin (*@pin
 * is then NULL), or -EAGAIN if the caller has none: pin one and come
 * again.  A caller's page that is not taken stays the caller's to unpin.
 */
static int rmap_add(struct kvmx_shadow *s, struct rmap_head *h, u64 gfn, u64 *sptep,
		    struct page **pin, bool writable, u64 *pa)
{
	int err;

	if (!h || !h->page) {
		if (!pin || !*pin)
			return -EAGAIN;
		h = h ?: head_get(s, gfn);
		if (!h)
			return -ENOMEM;
	}
	err = sptep_list_add(&h->l, sptep);
	if (err)
		return err;
	if (!h->page) {
		h->page = *pin;
		h->writable = writable;
		*pin = NULL;
		xa_set_mark(&s->rmap, gfn, RMAP_PINNED);
	}
	*pa = page_to_phys(h->page);
	return 0;
}

/*
 * @sptep no longer maps @gfn, whose page stays pinned (struct rmap_head).
 * The list keeps its array: the gfn's next leaf (an address space built
 * again) needs no allocation.
 */
static void rmap_del(struct kvmx_vm *vm, u64 gfn, u64 *sptep)
{
	struct rmap_head *h = head_of(&vm->shadow, gfn);

	if (WARN_ON_ONCE(!h))
		return;
	sptep_list_del(&h->l, sptep);
}

/* No shadow page is left: every gfn's page is unpinned, every entry freed. */
static void rmap_free_all(struct kvmx_vm *vm)
{
	struct rmap_head *h;
	unsigned long gfn;

	xa_for_each(&vm->shadow.rmap, gfn, h) {
		WARN_ON_ONCE(h->l.n || h->wp);
		xa_erase(&vm->shadow.rmap, gfn);
		if (h->page)
			unpin_page(vm, h->page, h->writable);
		kfree(h->l.p);
		kfree(h);
	}
}

/*
 * Takes W from every leaf that maps @gfn; returns whether one had it.
 * For a guest page table (@wp), a leaf that had W keeps the mark that it
 * may have it back (KVMX_SPT_WP_WITHHELD); for dirty logging, no leaf
 * keeps it (its next write must fault and be logged).
 */
static bool rmap_write_protect(struct rmap_head *h, bool wp)
{
	struct sptep_list *l = h ? &h->l : NULL;
	bool changed = false;
	unsigned int i;

	for (i = 0; l && i < l->n; i++) {
		u64 spte = *l->p[i], new = spte & ~(KVMX_SPT_W | KVMX_SPT_WP_WITHHELD);

		if (wp && (spte & KVMX_SPT_W))
			new |= KVMX_SPT_WP_WITHHELD;
		if (new != spte)
			WRITE_ONCE(*l->p[i], new);
		changed |= !!(spte & KVMX_SPT_W);
	}
	return changed;
}

/* The gfn of @h is no guest page table of ours any more: W back where it was withheld. */
static void rmap_give_back_w(struct rmap_head *h)
{
	unsigned int i;

	for (i = 0; i < h->l.n; i++) {
		u64 spte = *h->l.p[i];

		/* Adding a right needs no TLB flush. */
		if (spte & KVMX_SPT_WP_WITHHELD)
			WRITE_ONCE(*h->l.p[i], (spte & ~KVMX_SPT_WP_WITHHELD) | KVMX_SPT_W);
	}
}

/* Whether the gfn of @h (NULL: no entry) is a write-protected guest table. */
static bool wp_on(const struct rmap_head *h)
{
	return h && h->wp;
}

/* One more shadow page shadows the guest table at @gfn; the first protects it. */
static int wp_inc(struct kvmx_vm *vm, u64 gfn)
{
	struct kvmx_shadow *s = &vm->shadow;
	struct rmap_head *h = head_get(s, gfn);

	if (!h)
		return -ENOMEM;
	if (h->wp++)
		return 0;
	WRITE_ONCE(s->nr_wp_gfns, s->nr_wp_gfns + 1);
	/* A writable leaf dropped without a flush is as good as one that stays. */
	if (rmap_write_protect(h, true) || READ_ONCE(s->tlbs_dirty))
		flush_remote(vm);
	return 0;
}

static void wp_dec(struct kvmx_shadow *s, u64 gfn)
{
	struct rmap_head *h = head_of(s, gfn);

	if (WARN_ON_ONCE(!wp_on(h)) || --h->wp)
		return;
	WRITE_ONCE(s->nr_wp_gfns, s->nr_wp_gfns - 1);
	/*
	 * W back at once, whatever unprotected it (a guest write's zap,
	 * above all): so a leaf withholds W only while its gfn is
	 * protected, which pt_write_fast() relies on.
	 */
	rmap_give_back_w(h);
}

/* ---- shadow pages ---- */

static void sp_free_rcu(struct rcu_head *head)
{
	struct kvmx_sp *sp = container_of(head, struct kvmx_sp, rcu);

	free_page((unsigned long)sp->spt);
	kfree(sp->gfns);
	kfree(sp->parents.p);
	kfree(sp);
	atomic_long_dec(&kvmx_counts.shadow_pages);
}

/* Drops the leaf at @sptep (level 1 of @sp): clear, reverse map (and pin). */
static void drop_leaf(struct kvmx_vm *vm, struct kvmx_sp *sp, u64 *sptep)
{
	u64 spte = *sptep;

	if (is_ram_leaf(spte)) {
		WRITE_ONCE(*sptep, unfilled(&vm->shadow));
		rmap_del(vm, sp->gfns[sptep - sp->spt], sptep);
		if (spte & KVMX_SPT_W)
			WRITE_ONCE(vm->shadow.tlbs_dirty, true);
	} else if (spte != unfilled(&vm->shadow)) {
		WRITE_ONCE(*sptep, unfilled(&vm->shadow));
	}
}

static void zap_sp(struct kvmx_vm *vm, struct kvmx_sp *sp);

/* Unlinks the child table that the non-leaf entry @sptep points at. */
static void drop_link(struct kvmx_vm *vm, u64 *sptep)
{
	u64 spte = *sptep;
	struct kvmx_sp *child;

	if (!is_link(spte))
		return;
	child = sp_of_table(spte);
	/* A PDPTE cannot hold the trap value (VM entry would fail). */
	WRITE_ONCE(*sptep, in_pae_root(sptep) ? 0 : unfilled(&vm->shadow));
	sptep_list_del(&child->parents, sptep);
	/* An orphan shadows nothing the CPU can reach: zap it (depth <= 3). */
	if (!child->parents.n && !child->root_count)
		zap_sp(vm, child);
}

static void clear_entries(struct kvmx_vm *vm, struct kvmx_sp *sp)
{
	unsigned int i;

	for (i = 0; i < ENTRIES; i++) {
		if (sp->role.level == 1)
			drop_leaf(vm, sp, &sp->spt[i]);
		else
			drop_link(vm, &sp->spt[i]);
	}
}

/*
 * Zaps @sp: no entry points at it any more, its own entries are cleared,
 * its gfn loses this page's write protection, and it is freed after a
 * grace period, or, while it is a vCPU's root, when the last such vCPU
 * has loaded another (vcpu_drop_root()).
 */
static void zap_sp(struct kvmx_vm *vm, struct kvmx_sp *sp)
{
	struct kvmx_shadow *s = &vm->shadow;

	while (sp->parents.n) {
		u64 *sptep = sp->parents.p[--sp->parents.n];

		/*
		 * A PAE root's entry becomes not present, which with bypass
		 * would send the guest's next access there to the guest as its
		 * own #PF: every vCPU fills its PAE root again before entry.
		 */
		if (in_pae_root(sptep)) {
			WRITE_ONCE(*sptep, 0);
			request_reload_all(vm);
		} else {
			WRITE_ONCE(*sptep, unfilled(s));
		}
	}
	clear_entries(vm, sp);
	hlist_del(&sp->hash_link);
	list_del(&sp->link);
	WRITE_ONCE(s->nr_pages, s->nr_pages - 1);
	if (!sp->role.direct)
		wp_dec(s, sp->gfn);
	if (sp->root_count) {
		sp->invalid = true;
		request_reload_all(vm);
		return;
	}
	call_rcu(&sp->rcu, sp_free_rcu);
}

static struct hlist_head *bucket(struct kvmx_shadow *s, u64 gfn)
{
	return &s->hash[hash_64(gfn, HASH_BITS_SP)];
}

/*
 * A new shadow page's entries, before anything links it (bypass only):
 * notrap where the guest's entry is not present, trap everywhere else.
 * The guest table is write-protected already (wp_inc(), after which no
 * vCPU writes it without an exit), so what is read here stays true until
 * a write, which shadow_track_write() follows.  A 32-bit guest's entry
 * feeds one shadow entry of its quadrant's page (two for a PDE:
 * kvmx_spt_gpte_index()).  Direct pages, tables that cannot be read and
 * those of a 32-bit guest with EFER.NXE (sp_prefetch()) are all trap
 * (always correct, only slower).
 */
static void prefetch_sp(struct kvmx_vm *vm, struct kvmx_sp *sp)
{
	unsigned int i, size = gpte_size(sp);
	void *gpt = NULL;

	if (!vm->shadow.bypass)
		return;
	if (!sp->role.direct && kvmx_spt_notrap_ok(size, sp->role.nxe)) {
		gpt = kmalloc(PAGE_SIZE, GFP_KERNEL_ACCOUNT);
		if (gpt && kvmx_read_guest(vm, sp->gfn << PAGE_SHIFT, gpt, PAGE_SIZE)) {
			kfree(gpt);
			gpt = NULL;
		}
	}
	/* One loop per case: every address space a guest builds runs them. */
	if (!gpt) {
		for (i = 0; i < ENTRIES; i++)
			sp->spt[i] = kvmx_spt_trap();
	} else if (size == 8) {
		for (i = 0; i < ENTRIES; i++)
			sp->spt[i] = kvmx_spt_prefetch(((u64 *)gpt)[i], true);
	} else {
		const u32 *gpt32 = gpt;
		int level = sp->role.level;
		u8 q = sp->role.quadrant;

		for (i = 0; i < ENTRIES; i++)
			sp->spt[i] = kvmx_spt_prefetch(gpt32[kvmx_spt_gpte_index(4, level, q, i)],
						       true);
	}
	kfree(gpt);
}

/* The shadow page for (@gfn, @role), made if there is none; NULL: no memory. */
static struct kvmx_sp *get_sp(struct kvmx_vm *vm, u64 gfn, const struct kvmx_spt_role *role)
{
	struct kvmx_shadow *s = &vm->shadow;
	u32 word = kvmx_spt_role_word(role);
	struct kvmx_sp *sp;

	hlist_for_each_entry(sp, bucket(s, gfn), hash_link)
		if (sp->gfn == gfn && sp->role_word == word)
			return sp;

	sp = kzalloc(sizeof(*sp), GFP_KERNEL_ACCOUNT);
	if (!sp)
		return NULL;
	sp->spt = (u64 *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	if (role->level == 1)
		sp->gfns = kcalloc(ENTRIES, sizeof(u64), GFP_KERNEL_ACCOUNT);
	if (!sp->spt || (role->level == 1 && !sp->gfns) ||
	    (!role->direct && wp_inc(vm, gfn))) {
		free_page((unsigned long)sp->spt);
		kfree(sp->gfns);
		kfree(sp);
		return NULL;
	}
	set_page_private(virt_to_page(sp->spt), (unsigned long)sp);
	sp->gfn = gfn;
	sp->role = *role;
	sp->role_word = word;
	prefetch_sp(vm, sp);
	hlist_add_head(&sp->hash_link, bucket(s, gfn));
	list_add(&sp->link, &s->pages);
	WRITE_ONCE(s->nr_pages, s->nr_pages + 1);
	atomic_long_inc(&kvmx_counts.shadow_pages);
	return sp;
}

/* Points the entry @sptep at @child (a PAE root entry if @pae_root). */
static int link_sp(u64 *sptep, struct kvmx_sp *child, bool pae_root)
{
	int err = sptep_list_add(&child->parents, sptep);

	if (err)
		return err;
	WRITE_ONCE(*sptep, __pa(child->spt) | (pae_root ? KVMX_SPT_P : SPT_TABLE_BITS));
	return 0;
}

static void zap_all(struct kvmx_vm *vm)
{
	struct kvmx_shadow *s = &vm->shadow;

	lockdep_assert_held(&s->lock);
	while (!list_empty(&s->pages))
		zap_sp(vm, list_first_entry(&s->pages, struct kvmx_sp, link));
	rmap_free_all(vm);
}

/*
 * KVM_SET_NR_MMU_PAGES: before a fault or a root load may make shadow
 * pages, the oldest go until KVMX_MIN_FREE_MMU_PAGES more fit under the
 * VM's limit (KVM's make_mmu_pages_available()).  Roots and the tables a
 * PAE root points at stay (every vCPU would load them again at once), so
 * the count may pass the limit by what one fault makes.
 */
static void make_pages_available(struct kvmx_vm *vm)
{
	struct kvmx_shadow *s = &vm->shadow;
	unsigned long max = READ_ONCE(vm->n_max_mmu_pages);
	struct kvmx_sp *sp, *victim;
	unsigned long before;

	lockdep_assert_held(&s->lock);
	while (s->nr_pages + KVMX_MIN_FREE_MMU_PAGES > max) {
		victim = NULL;
		/* The list is newest first. */
		list_for_each_entry_reverse(sp, &s->pages, link) {
			if (!sp->root_count &&
			    (sp->role.level != 2 || sp->role.guest_levels == KVMX_SPT_GUEST_LONG)) {
				victim = sp;
				break;
			}
		}
		if (!victim)
			return;
		/* Zapping a directory takes its orphaned children too: count them. */
		before = s->nr_pages;
		zap_sp(vm, victim);
		WRITE_ONCE(s->recycled, s->recycled + before - s->nr_pages);
	}
}

/* Zaps every shadow page of the guest table at @gfn; returns how many. */
static unsigned int zap_gfn(struct kvmx_vm *vm, u64 gfn)
{
	struct kvmx_shadow *s = &vm->shadow;
	unsigned int n = 0;
	struct kvmx_sp *sp;

	/* A zap may free others of the bucket: start over after each. */
restart:
	hlist_for_each_entry(sp, bucket(s, gfn), hash_link) {
		if (sp->gfn == gfn && !sp->role.direct) {
			zap_sp(vm, sp);
			n++;
			goto restart;
		}
	}
	return n;
}

/* ---- the vCPU's root ---- */

/* The guest's paging mode, KVMX_SPT_GUEST_*. */
static int guest_levels(unsigned long cr0, unsigned long cr4, u64 efer)
{
	if (!(cr0 & X86_CR0_PG))
		return KVMX_SPT_GUEST_NONE;
	if (efer & EFER_LMA)
		return KVMX_SPT_GUEST_LONG;
	return (cr4 & X86_CR4_PAE) ? KVMX_SPT_GUEST_PAE : KVMX_SPT_GUEST_32BIT;
}

/* Lets go of @vcpu's root (shadow lock held). */
static void vcpu_drop_root(struct kvmx_vcpu *vcpu)
{
	struct kvmx_vm *vm = vcpu->vm;
	struct kvmx_sp *root = vcpu->shadow.root;
	u64 *pae = vcpu->shadow.pae_root;
	int i;

	if (root) {
		vcpu->shadow.root = NULL;
		if (!--root->root_count && root->invalid)
			call_rcu(&root->rcu, sp_free_rcu);
	}
	for (i = 0; pae && i < 4; i++)
		drop_link(vm, &pae[i]);
	vcpu->shadow.root_valid = false;
}

/*
 * The four PDPTEs of @vcpu's PAE root, each pointing at the level-2 shadow
 * page kvmx_spt_path() names for its quarter of the address space: a
 * direct one (no paging), a quadrant of the guest's page directory
 * (32-bit), the directory the guest's PDPTE names (PAE; none where that
 * PDPTE is not present, so the guest gets its own #PF there).  Filled at
 * once rather than by faults: with bypass, a not-present PDPTE would send
 * a fault to the guest.  @role: CR0.WP and EFER.NXE.  Shadow lock held.
 */
static int fill_pae_root(struct kvmx_vcpu *vcpu, int levels, const struct kvmx_spt_role *wp_nxe)
{
	struct kvmx_spt_role role = {
		.level = 2, .guest_levels = (u8)levels, .access = KVMX_ACC_ALL,
		.direct = levels == KVMX_SPT_GUEST_NONE,
		.cr0_wp = wp_nxe->cr0_wp, .nxe = wp_nxe->nxe,
	};
	u64 *pae = vcpu->shadow.pae_root;
	int i, err;

	for (i = 0; i < 4; i++) {
		struct kvmx_sp *child;
		u64 gfn;

		if (levels == KVMX_SPT_GUEST_NONE) {
			gfn = (u64)i << 18;
		} else if (levels == KVMX_SPT_GUEST_32BIT) {
			gfn = (vcpu->shadow.cr3 & KVMX_SPT_GPTE_ADDR) >> PAGE_SHIFT;
			role.quadrant = i;
		} else {
			u64 pdpte = vmcs_read(GUEST_PDPTR0 + 2 * i);

			if (!(pdpte & KVMX_PTE_P))
				continue;
			gfn = (pdpte & KVMX_SPT_GPTE_ADDR) >> PAGE_SHIFT;
		}
		child = get_sp(vcpu->vm, gfn, &role);
		if (!child)
			return -ENOMEM;
		err = link_sp(&pae[i], child, true);
		if (err) {
			if (!child->parents.n && !child->root_count)
				zap_sp(vcpu->vm, child);
			return err;
		}
	}
	return 0;
}

static int shadow_mode_error(struct kvmx_vcpu *vcpu, u64 what)
{
	struct kvm_run *run = vcpu->run;

	run->exit_reason = KVM_EXIT_INTERNAL_ERROR;
	run->internal.suberror = KVMX_INTERNAL_ERROR_SHADOW_MODE;
	run->internal.ndata = 4;
	run->internal.data[0] = what;
	run->internal.data[1] = vmcs_read(CR0_READ_SHADOW);
	run->internal.data[2] = vmcs_read(CR4_READ_SHADOW);
	run->internal.data[3] = vmcs_read(GUEST_IA32_EFER);
	return 0;
}

/*
 * Before every entry: a root for the guest's paging mode and CR3, unless
 * the vCPU has a current one.  The guest's paging mode is checked here,
 * where kvmx is about to run it: real mode and the modes not shadowed yet
 * stop the vCPU.
 */
static int shadow_reload(struct kvmx_vcpu *vcpu)
{
	struct kvmx_vm *vm = vcpu->vm;
	struct kvmx_shadow *s = &vm->shadow;
	unsigned long cr0 = vmcs_read(CR0_READ_SHADOW);
	u64 efer = vmcs_read(GUEST_IA32_EFER);
	struct kvmx_spt_role role = {
		.level = 4, .guest_levels = KVMX_SPT_GUEST_LONG, .access = KVMX_ACC_ALL,
		.cr0_wp = cr0 & X86_CR0_WP, .nxe = efer & EFER_NX,
	};
	struct kvmx_sp *root;
	bool long_mode;
	int err;

	if (!test_and_clear_bit(KVMX_REQ_MMU_RELOAD, &vcpu->requests) &&
	    vcpu->shadow.root_valid && (!vcpu->shadow.root || !vcpu->shadow.root->invalid))
		return 1;
	if (!(cr0 & X86_CR0_PE))
		return shadow_mode_error(vcpu, KVMX_SHADOW_MODE_REAL);
	if (!(cr0 & X86_CR0_PG) && (efer & EFER_LME))
		return shadow_mode_error(vcpu, KVMX_SHADOW_MODE_LME_NO_PAGING);
	if ((cr0 & X86_CR0_PG) && (vmcs_read(CR4_READ_SHADOW) & X86_CR4_LA57))
		return shadow_mode_error(vcpu, KVMX_SHADOW_MODE_LA57);

	long_mode = (cr0 & X86_CR0_PG) && (efer & EFER_LMA);
	if (!long_mode && !vcpu->shadow.pae_root) {
		/* The CPU loads PAE PDPTEs from a 32-bit CR3: below 4 GiB. */
		struct page *page = alloc_page(GFP_KERNEL_ACCOUNT | GFP_DMA32 | __GFP_ZERO);

		if (!page)
			return -ENOMEM;
		vcpu->shadow.pae_root = page_address(page);
	}

	mutex_lock(&s->lock);
	vcpu_drop_root(vcpu);
	make_pages_available(vm);
	if (long_mode) {
		root = get_sp(vm, (vcpu->shadow.cr3 & KVMX_SPT_GPTE_ADDR) >> PAGE_SHIFT, &role);
		if (!root) {
			mutex_unlock(&s->lock);
			return -ENOMEM;
		}
		root->root_count++;
		vcpu->shadow.root = root;
		vmcs_write(GUEST_CR3, __pa(root->spt));
	} else {
		err = fill_pae_root(vcpu, guest_levels(cr0, vmcs_read(CR4_READ_SHADOW), efer),
				    &role);
		if (err) {
			vcpu_drop_root(vcpu);
			mutex_unlock(&s->lock);
			return err;
		}
		vmcs_write(GUEST_CR3, __pa(vcpu->shadow.pae_root));
	}
	vcpu->shadow.root_valid = true;
	mutex_unlock(&s->lock);
	return 1;
}

/* ---- the fault path ---- */

/*
 * The leaf entry for @f->addr under the vCPU's root along @step, making
 * the shadow pages on the way (shadow lock held).  NULL: no memory, or the
 * root went away meanwhile (retry).
 */
static u64 *make_path(struct kvmx_vcpu *vcpu, u64 la, const struct kvmx_spt_step *step,
		      int root_level, int *err)
{
	struct kvmx_vm *vm = vcpu->vm;
	u64 *table;
	int level;

	*err = 0;
	if (!vcpu->shadow.root_valid)
		return NULL;
	if (root_level == 4) {
		if (!vcpu->shadow.root || vcpu->shadow.root->invalid)
			return NULL;
		vcpu->shadow.root->write_flood = 0;
		table = vcpu->shadow.root->spt;
	} else {
		table = vcpu->shadow.pae_root;
	}
	for (level = root_level; level > 1; level--) {
		u64 *sptep = &table[kvmx_spt_index(la, level, root_level)];
		struct kvmx_sp *child;

		if (!is_link(*sptep)) {
			child = get_sp(vm, step[level - 2].gfn, &step[level - 2].role);
			if (!child) {
				*err = -ENOMEM;
				return NULL;
			}
			*err = link_sp(sptep, child, root_level == 3 && level == 3);
			if (*err) {
				if (!child->parents.n && !child->root_count)
					zap_sp(vm, child);
				return NULL;
			}
		}
		/* An entry made for another path would be a bug: the tables are exact. */
		child = sp_of_table(*sptep);
		if (WARN_ON_ONCE(child->gfn != step[level - 2].gfn ||
				 child->role_word != kvmx_spt_role_word(&step[level - 2].role))) {
			drop_link(vm, sptep);
			*err = -EAGAIN;
			return NULL;
		}
		/* Used for a translation: not a page the guest floods with writes. */
		child->write_flood = 0;
		table = child->spt;
	}
	return &table[kvmx_spt_index(la, 1, root_level)];
}

/*
 * Replaces the leaf at @sptep with @spte mapping @gfn.  A RAM leaf maps
 * the page pinned for @gfn (its address in @spte is ignored), or, for a
 * gfn without one, the caller's pinned page *@pin, which it takes;
 * -EAGAIN if there is neither (rmap_add()).  @h: @gfn's entry, as the
 * caller found it under the lock (NULL: none; not used for an MMIO leaf).
 */
static int set_leaf(struct kvmx_vm *vm, u64 *sptep, u64 spte, u64 gfn, struct rmap_head *h,
		    struct page **pin)
{
	struct kvmx_sp *sp = sp_of_sptep(sptep);
	u64 old = *sptep, pa;
	int err;

	if (is_ram_leaf(spte)) {
		err = rmap_add(&vm->shadow, h, gfn, sptep, pin, spte & KVMX_SPT_HOST_WRITABLE,
			       &pa);
		if (err)
			return err;
		spte = (spte & ~KVMX_SPT_PFN_MASK) | (pa & KVMX_SPT_PFN_MASK);
	}
	drop_leaf(vm, sp, sptep);
	sp->gfns[sptep - sp->spt] = gfn;
	WRITE_ONCE(*sptep, spte);
	/* A present leaf replaced: other CPUs may cache it. */
	if (is_ram_leaf(old) && ((old ^ spte) & (KVMX_SPT_PFN_MASK | KVMX_SPT_W | KVMX_SPT_U)))
		flush_remote(vm);
	return 0;
}

/* The guest's own #PF: inject it (KVM's kvm_inject_page_fault()). */
static void reflect(struct kvmx_vcpu *vcpu, const struct kvmx_walk_result *res)
{
	u32 info = vcpu->reinject_info;
	u8 vector = PF_VECTOR;
	u32 error = res->error_code;

	/*
	 * A #PF while the CPU delivered another event.  A #PF during a #PF's
	 * delivery is a #DF; during another exception's, the #PF wins and
	 * that exception comes again when its instruction runs again.
	 * Interrupts, NMIs and software events whose delivery faults are not
	 * queued again yet (the guest would lose them).
	 */
	if (info & INTR_INFO_VALID) {
		if ((info & INTR_INFO_TYPE_MASK) == INTR_TYPE_HARD_EXCEPTION &&
		    (info & INTR_INFO_VECTOR_MASK) == PF_VECTOR) {
			vector = DF_VECTOR;
			error = 0;
		}
		vcpu->reinject_info = 0;
	}
	if (vector == PF_VECTOR)
		vcpu->cr2 = res->cr2;
	kvmx_queue_exception(vcpu, vector, true, error);
}

static int pin(const struct kvmx_memslot *slot, u64 gfn, bool writable, struct page **page)
{
	long pinned = pin_user_pages_fast(kvmx_slot_hva(slot, gfn), 1,
					  FOLL_LONGTERM | (writable ? FOLL_WRITE : 0), page);

	if (pinned != 1) {
		pr_info_ratelimited("gfn 0x%llx: pinning hva 0x%llx failed (%ld)\n", gfn,
				    kvmx_slot_hva(slot, gfn), pinned);
		return -EFAULT;
	}
	atomic_long_inc(&kvmx_counts.pinned_pages);
	return 0;
}

static void cache_mmio(struct kvmx_vcpu *vcpu, u64 *sptep, u64 gfn, unsigned int access,
		       u64 gen)
{
	struct kvmx_vm *vm = vcpu->vm;

	if (!vm->shadow.mmio_ok || !kvmx_mmio_caching(&vm->mmio) ||
	    (gen & KVMX_MEMSLOT_GEN_UPDATE_IN_PROGRESS) || gfn > KVMX_SPT_MAX_MMIO_GFN)
		return;
	if (!set_leaf(vm, sptep, kvmx_spt_mmio(gfn, access, gen & kvmx_mmio_gen_mask(&vm->mmio)),
		      gfn, NULL, NULL)) {
		kvmx_stat_inc(vcpu, mmio_spte_created);
		trace_kvmx_mmio_spte_create(vm, gfn, gen);
	}
}

/*
 * The level-1 entry for @la under @vcpu's current root, or NULL when the
 * root is not valid or a table on the way is missing.  Shadow lock held.
 */
static u64 *leaf_under_root(struct kvmx_vcpu *vcpu, u64 la)
{
	int level, root_level = vcpu->shadow.root ? 4 : 3;
	u64 *table;

	lockdep_assert_held(&vcpu->vm->shadow.lock);
	if (!vcpu->shadow.root_valid || (vcpu->shadow.root && vcpu->shadow.root->invalid))
		return NULL;
	table = vcpu->shadow.root ? vcpu->shadow.root->spt : vcpu->shadow.pae_root;
	for (level = root_level; level > 1; level--) {
		u64 spte = table[kvmx_spt_index(la, level, root_level)];

		if (!is_link(spte))
			return NULL;
		table = __va(spte & KVMX_SPT_PFN_MASK);
	}
	return &table[kvmx_spt_index(la, 1, root_level)];
}

/*
 * The fast path of a guest page-table write (KVMX_FAULT_EMULATE without a
 * walk of the guest's tables): a write fault on a RAM leaf that withholds
 * W only because its page is a shadowed guest page table
 * (KVMX_SPT_WP_WITHHELD, which kvmx_spt_ram() sets only where the guest's
 * rights, its D bit and the memslot all allow the write).  The shadow
 * tables never disagree with the guest's (write protection), so the leaf
 * says what a walk would: the write is allowed, and it goes to the gfn the
 * leaf maps.  Not taken (false: the normal path decides) for anything
 * else the error code may mean: a user access (U) to a supervisor leaf, a
 * supervisor access to a user leaf with SMAP or protection keys on (which
 * fault for that reason too), or during an event's delivery (the normal
 * path unprotects the table then).  The gfn is still protected: a gfn
 * that stops being protected gets W back in every leaf (wp_dec()).
 *
 * Under the shadow lock, which keeps the leaf and its gfn together (a
 * lockless read could see a leaf replaced twice in between).
 */
static bool pt_write_fast(struct kvmx_vcpu *vcpu, struct kvmx_page_fault *f)
{
	struct kvmx_vm *vm = vcpu->vm;
	struct kvmx_shadow *s = &vm->shadow;
	u64 *sptep, spte = 0, gfn = 0;
	bool ok = false;

	if ((f->error_code & ~KVMX_PFERR_U) != (KVMX_PFERR_P | KVMX_PFERR_W) ||
	    (vcpu->reinject_info & INTR_INFO_VALID))
		return false;
	mutex_lock(&s->lock);
	sptep = leaf_under_root(vcpu, f->addr);
	if (sptep) {
		struct kvmx_sp *sp = sp_of_sptep(sptep);

		spte = *sptep;
		gfn = sp->gfns[sptep - sp->spt];
		/* The mark is there only while the gfn is protected (wp_dec()). */
		ok = is_ram_leaf(spte) &&
		     (spte & (KVMX_SPT_W | KVMX_SPT_WP_WITHHELD)) == KVMX_SPT_WP_WITHHELD;
	}
	mutex_unlock(&s->lock);
	if (!ok)
		return false;
	if (f->error_code & KVMX_PFERR_U ? !(spte & KVMX_SPT_U) :
	    (spte & KVMX_SPT_U) && (kvmx_get_cr4(vcpu) & (X86_CR4_SMAP | X86_CR4_PKE)))
		return false;
	f->slot = kvmx_gfn_to_slot(vm, gfn, true);
	if (!f->slot)
		return false;
	f->gfn = gfn;
	f->gpa = (gfn << PAGE_SHIFT) | offset_in_page(f->addr);
	return true;
}

/*
 * The normal path: walk the guest's tables and make the shadow entry, or
 * give the guest its fault.  Not inlined: its locals are zeroed on entry
 * (CONFIG_INIT_STACK_ALL_ZERO, as distributions build), which the
 * page-table write fast path then does not pay.
 */
static noinline void fault_walk(struct kvmx_vcpu *vcpu, struct kvmx_page_fault *f)
{
	struct kvmx_vm *vm = vcpu->vm;
	struct kvmx_shadow *s = &vm->shadow;
	const struct kvmx_memslots *slots;
	const struct kvmx_memslot *slot;
	struct kvmx_spt_step step[4];
	struct kvmx_walk_result res;
	struct kvmx_walk_cfg cfg;
	struct kvmx_spt_leaf leaf;
	struct page *page = NULL;
	struct rmap_head *h;
	bool writable, paging;
	int status, root_level, err, levels;
	unsigned int access;
	u32 walk_access = 0;
	u64 *sptep;

	kvmx_walk_cfg_read(vcpu, &cfg);
	paging = cfg.cr0 & X86_CR0_PG;
	if (f->error_code & KVMX_PFERR_W)
		walk_access |= KVMX_WALK_WRITE;
	if (f->error_code & KVMX_PFERR_ID)
		walk_access |= KVMX_WALK_FETCH;
	/* A supervisor access at CPL 3: an implicit one (GDT, IDT, TSS, ...). */
	if (!(f->error_code & KVMX_PFERR_U) && cfg.cpl == 3)
		walk_access |= KVMX_WALK_IMPLICIT;
	status = kvmx_translate(vcpu, &cfg, f->addr, walk_access, &res);
	if (status == KVMX_WALK_PF) {
		reflect(vcpu, &res);
		f->result = KVMX_FAULT_GUEST;
		return;
	}
	if (status == KVMX_WALK_RETRY) {
		f->result = KVMX_FAULT_RETRY;
		return;
	}
	if (status != KVMX_WALK_OK) {
		/* The guest's tables are not in RAM: nothing the CPU could walk. */
		vcpu->run->exit_reason = KVM_EXIT_INTERNAL_ERROR;
		vcpu->run->internal.suberror = KVM_INTERNAL_ERROR_EMULATION;
		vcpu->run->internal.ndata = 2;
		vcpu->run->internal.data[0] = f->addr;
		vcpu->run->internal.data[1] = res.bad_gpa;
		f->result = KVMX_FAULT_EXIT;
		return;
	}
	levels = guest_levels(cfg.cr0, cfg.cr4, cfg.efer);
	root_level = kvmx_spt_path(levels, cfg.cr3, &res, f->addr, cfg.cr0 & X86_CR0_WP,
				   cfg.efer & EFER_NX, step);
	access = paging ? kvmx_spt_walk_access(res.perm) : KVMX_ACC_ALL;

	f->gpa = res.gpa;
	f->gfn = res.gpa >> PAGE_SHIFT;
	slots = srcu_dereference(vm->memslots, &vm->srcu);
	f->gen = READ_ONCE(slots->generation);
	slot = kvmx_slots_find_gfn(slots, f->gfn);
	f->slot = slot;
	if (!root_level) {
		f->result = KVMX_FAULT_RETRY;
		return;
	}

	if (!slot) {
		mutex_lock(&s->lock);
		make_pages_available(vm);
		sptep = make_path(vcpu, f->addr, step, root_level, &err);
		if (sptep)
			cache_mmio(vcpu, sptep, f->gfn, access, f->gen);
		mutex_unlock(&s->lock);
		f->result = err == -ENOMEM ? KVMX_FAULT_NOMEM : KVMX_FAULT_MMIO;
		return;
	}
	writable = !(slot->flags & KVMX_MEM_READONLY);
	if (f->write && !writable) {
		f->result = KVMX_FAULT_RO_WRITE;
		return;
	}
	/*
	 * A write to a guest page table that has shadow pages: it stays
	 * protected, and the write is emulated, followed by the shadow
	 * entries it changes (shadow_track_write(), KVM's
	 * kvm_mmu_pte_write()).  So the shadow never disagrees with the guest.
	 * Unless the CPU was delivering an event (the write is its stack
	 * push, not an instruction's): then the table is unprotected and the
	 * delivery goes ahead natively, as KVM's kvm_handle_page_fault()
	 * unprotects it.
	 */
	if (f->write && (vcpu->reinject_info & INTR_INFO_VALID)) {
		mutex_lock(&s->lock);
		if (wp_on(head_of(s, f->gfn)))
			kvmx_stat_add(vcpu, shadow_zapped, zap_gfn(vm, f->gfn));
		mutex_unlock(&s->lock);
	}
	/*
	 * The leaf, under the lock: the page @f->gfn's other leaves map, or,
	 * if none does, a page pinned outside the lock (again, with the path
	 * made again, when the gfn's last leaf went meanwhile: set_leaf()
	 * says so with -EAGAIN).
	 *
	 * A write to a protected page (protected before, by another vCPU
	 * meanwhile, or by make_path() itself when the path to the page is
	 * a table of its own: a self-map, every write to a 32-bit guest's
	 * page directory) still gets its leaf, read-only with W withheld,
	 * so that the next write there takes pt_write_fast().
	 */
	for (;;) {
		/* A hint: no page is pinned for the gfn yet, pin now. */
		if (!page && !rmap_pinned(s, f->gfn)) {
			if (pin(slot, f->gfn, writable, &page)) {
				f->result = KVMX_FAULT_EFAULT;
				return;
			}
			kvmx_vm_stat_inc(vm, pages_pinned);
		}
		mutex_lock(&s->lock);
		make_pages_available(vm);
		sptep = make_path(vcpu, f->addr, step, root_level, &err);
		if (!sptep) {
			mutex_unlock(&s->lock);
			f->result = err == -ENOMEM ? KVMX_FAULT_NOMEM : KVMX_FAULT_RETRY;
			goto out;
		}
		h = head_of(s, f->gfn);
		leaf = (struct kvmx_spt_leaf){
			.access = access,
			.gpte_dirty = !paging || (res.leaf & KVMX_PTE_D),
			/* A logging slot's page is writable only once it is marked dirty. */
			.host_writable = writable && (f->write || !slot->dirty_bitmap),
			.write_protected = wp_on(h),
			.write_fault = f->write,
			.user_fault = f->error_code & KVMX_PFERR_U,
			.cr0_wp = cfg.cr0 & X86_CR0_WP,
			.nxe = cfg.efer & EFER_NX,
		};
		err = set_leaf(vm, sptep,
			       kvmx_spt_ram(&leaf) | (writable ? KVMX_SPT_HOST_WRITABLE : 0),
			       f->gfn, h, &page);
		/* An emulated write marks the page dirty itself. */
		if (!err && f->write && !leaf.write_protected)
			kvmx_mark_page_dirty(slot, f->gfn);
		mutex_unlock(&s->lock);
		if (err != -EAGAIN)
			break;
	}
	if (err)
		f->result = KVMX_FAULT_NOMEM;
	else if (f->write && leaf.write_protected)
		f->result = KVMX_FAULT_EMULATE;
	else
		f->result = KVMX_FAULT_FIXED;
	if (f->result == KVMX_FAULT_EMULATE)
		kvmx_stat_inc(vcpu, pf_pt_write);
out:
	/* A page pinned for a gfn that had one meanwhile, or for nothing. */
	if (page)
		unpin_page(vm, page, writable);
}

static void shadow_page_fault(struct kvmx_vcpu *vcpu, struct kvmx_page_fault *f)
{
	if (pt_write_fast(vcpu, f)) {
		kvmx_stat_inc(vcpu, pf_pt_write);
		f->result = KVMX_FAULT_EMULATE;
		return;
	}
	fault_walk(vcpu, f);
}

/* ---- guest writes to shadowed page tables (KVM's kvm_mmu_pte_write()) ---- */

/*
 * Write flooding: guest writes to one shadow page, with no translation
 * through it in between, after which the page is zapped.  KVM's is 3, for
 * directories only (its leaf tables go unsync instead); here every table
 * counts, and two writes in a row without a use are a guest filling or
 * clearing a table (fork, exit, fault-around), which the old policy, zap
 * and let the writes run natively, serves best.  Demand paging uses each
 * entry it writes and never floods.
 */
#define WRITE_FLOOD	2

/* The size of @sp's guest entries. */
static unsigned int gpte_sptes(const struct kvmx_sp *sp, unsigned int e, unsigned int *first)
{
	return kvmx_spt_gpte_sptes(gpte_size(sp), sp->role.level, sp->role.quadrant, e, first);
}

/*
 * Whether guest leaf @gpte in @sp may be made a shadow leaf at once (old
 * KVM's mmu_pte_write_new_pte(), FNAME(prefetch_gpte)): present, accessed
 * (kvmx cannot set A when the CPU uses it), and no reserved bit set (the
 * guest must get its reserved-bit fault).
 */
static bool gpte_prefetchable(const struct kvmx_sp *sp, u64 gpte)
{
	if (sp->role.level != 1 || (gpte & (KVMX_PTE_P | KVMX_PTE_A)) != (KVMX_PTE_P | KVMX_PTE_A))
		return false;
	if (gpte_size(sp) == 4)
		return true;
	if (gpte & KVMX_GENMASK(62, boot_cpu_data.x86_phys_bits))
		return false;
	return sp->role.nxe || !(gpte & KVMX_SPT_XD);
}

static u64 gpte_gfn(const struct kvmx_sp *sp, u64 gpte)
{
	return ((gpte_size(sp) == 4 ? gpte & 0xfffff000ULL : gpte & KVMX_SPT_GPTE_ADDR)) >>
	       PAGE_SHIFT;
}

/*
 * A guest write to a page table being followed, and the leaf it may make
 * at once.  A leaf needs the page of its gfn pinned: when it is not yet,
 * the first pass under the lock notes the gfn (@want), the page is pinned
 * outside the lock (@page) and a second pass (@again) makes the leaf.
 */
struct pt_write {
	const struct kvmx_memslot *pt_slot;	/* the written table's slot */
	struct {
		u64 gfn;
		const struct kvmx_memslot *slot;	/* NULL: none wanted */
	} want;
	struct page *page;		/* pinned for @want.gfn; NULL: none */
	bool writable;			/* @page was pinned for writing */
	bool again;			/* the second pass */
	bool used;			/* a leaf was made */
};

/*
 * The guest entry @e (@size bytes) of the table at @gfn in @slot (NULL:
 * none), as it is now; -1 if it cannot be read.  The guest's writes to it
 * are serialized by the shadow lock only as far as their tracking goes:
 * reading it under the lock, after the write, makes the last tracking
 * see the last value.
 */
static int read_gpte(const struct kvmx_memslot *slot, u64 gfn, unsigned int e, unsigned int size,
		     u64 *gpte)
{
	unsigned long hva;
	u32 v;

	*gpte = 0;
	if (!slot)
		return -1;
	/* One aligned load (the slot's range passed access_ok()). */
	hva = kvmx_slot_hva(slot, gfn) + e * size;
	if (size == 8)
		return __get_user(*gpte, (u64 __user *)hva) ? -1 : 0;
	if (__get_user(v, (u32 __user *)hva))
		return -1;
	*gpte = v;
	return 0;
}

/*
 * Makes at @sptep, in the leaf table @sp, the leaf for the guest entry
 * @gpte, present and accessed, that @w just wrote: true if made.  Its
 * page must be pinned already, or by @w: if it is neither, @w wants it
 * pinned.  Shadow lock held.
 */
static bool prefetch_leaf(struct kvmx_vm *vm, struct kvmx_sp *sp, u64 *sptep, u64 gpte,
			  struct pt_write *w)
{
	u64 gfn = gpte_gfn(sp, gpte);
	const struct kvmx_memslot *slot = kvmx_gfn_to_slot(vm, gfn, false);
	struct kvmx_spt_leaf leaf;
	struct rmap_head *h;
	bool writable;

	if (!slot)
		return false;
	writable = !(slot->flags & KVMX_MEM_READONLY);
	h = head_of(&vm->shadow, gfn);
	if ((!h || !h->page) && !(w->page && w->want.gfn == gfn && w->writable == writable)) {
		w->want.gfn = gfn;
		w->want.slot = slot;
		return false;
	}
	leaf = (struct kvmx_spt_leaf){
		.access = sp->role.access &
			  kvmx_spt_gpte_access(gpte, sp->role.nxe && gpte_size(sp) == 8),
		.gpte_dirty = gpte & KVMX_PTE_D,
		.host_writable = writable && !slot->dirty_bitmap,
		.write_protected = wp_on(h),
		.cr0_wp = sp->role.cr0_wp,
		.nxe = sp->role.nxe,
	};
	/* A clear: the CPU sets it when the guest uses the leaf. */
	if (set_leaf(vm, sptep,
		     (kvmx_spt_ram(&leaf) & ~KVMX_SPT_A) | (writable ? KVMX_SPT_HOST_WRITABLE : 0),
		     gfn, h, &w->page))
		return false;
	sp->last_pte = sptep;
	return true;
}

/*
 * Follows a guest write in one shadow page @sp of the written table: zap
 * the page if the write is misaligned or floods it, else make each shadow
 * entry the written guest entry feeds agree with it again: a leaf (RAM,
 * prefetch_leaf()) or not-present/trap for a leaf table, a dropped link
 * for a directory.  Returns whether a shadow page was zapped (the hash
 * bucket may have changed); sets *@flush when another CPU may cache what
 * was dropped.  Shadow lock held.
 */
static bool pt_write_sp(struct kvmx_vcpu *vcpu, struct kvmx_sp *sp, unsigned int off,
			unsigned int len, struct pt_write *w, bool *flush)
{
	struct kvmx_vm *vm = vcpu->vm;
	struct kvmx_shadow *s = &vm->shadow;
	unsigned int size = gpte_size(sp), e, first, n, i;
	bool zapped = false, flooded = false;
	u64 gpte;

	/* A 4-byte write into an 8-byte entry: the whole entry (KVM's PAE rule). */
	if (size == 8 && len == 4) {
		off &= ~7U;
		len = 8;
	}
	/* One write, counted once (not again by the second pass). */
	if (!w->again) {
		if (sp->last_pte && (READ_ONCE(*sp->last_pte) & KVMX_SPT_A))
			sp->write_flood = 0;
		sp->last_pte = NULL;
		flooded = ++sp->write_flood >= WRITE_FLOOD;
	}
	e = off / size;
	if (kvmx_spt_write_misaligned(off, len, size) || flooded ||
	    read_gpte(w->pt_slot, sp->gfn, e, size, &gpte)) {
		zap_sp(vm, sp);
		kvmx_stat_inc(vcpu, shadow_zapped);
		return true;
	}
	n = gpte_sptes(sp, e, &first);
	for (i = first; i < first + n; i++) {
		u64 *sptep = &sp->spt[i], old = *sptep;

		if (sp->role.level > 1) {
			if (is_link(old)) {
				drop_link(vm, sptep);
				zapped = true;
				*flush = true;
			}
			WRITE_ONCE(*sptep, sp_prefetch(s, sp, gpte));
			continue;
		}
		if (!w->used && gpte_prefetchable(sp, gpte) &&
		    prefetch_leaf(vm, sp, sptep, gpte, w)) {
			w->used = true;
			continue;
		}
		drop_leaf(vm, sp, sptep);
		WRITE_ONCE(*sptep, sp_prefetch(s, sp, gpte));
		if (is_ram_leaf(old))
			*flush = true;
	}
	return zapped;
}

/* One pass of shadow_track_write() over every shadow page of @gfn. */
static void pt_write_pass(struct kvmx_vcpu *vcpu, u64 gfn, unsigned int off, unsigned int len,
			  struct pt_write *w)
{
	struct kvmx_vm *vm = vcpu->vm;
	struct kvmx_shadow *s = &vm->shadow;
	bool flush = false;
	struct kvmx_sp *sp;
	u64 seq;

	mutex_lock(&s->lock);
	seq = ++s->write_seq;
restart:
	hlist_for_each_entry(sp, bucket(s, gfn), hash_link) {
		if (sp->gfn != gfn || sp->role.direct || sp->write_seq == seq)
			continue;
		sp->write_seq = seq;
		if (pt_write_sp(vcpu, sp, off, len, w, &flush))
			goto restart;
	}
	if (flush)
		flush_remote(vm);
	mutex_unlock(&s->lock);
}

/*
 * The emulator wrote @len bytes at @gpa.  If that page is a guest page
 * table with shadow pages, every one of them follows the write (KVM's
 * kvm_mmu_pte_write()): a new present leaf is made at once, so the
 * guest's retry does not exit.  It maps the page pinned for its gfn; for
 * a gfn without one, the page is pinned outside the lock and a second
 * pass makes the leaf (the entry read again: if it changed meanwhile,
 * the pin is not used).  A page that is no guest table has no shadow page
 * in the hash: nothing to follow.
 */
static void shadow_track_write(struct kvmx_vcpu *vcpu, u64 gpa, unsigned int len)
{
	struct kvmx_vm *vm = vcpu->vm;
	u64 gfn = gpa >> PAGE_SHIFT;
	struct pt_write w = {};
	int idx;

	idx = srcu_read_lock(&vm->srcu);
	w.pt_slot = kvmx_gfn_to_slot(vm, gfn, false);
	pt_write_pass(vcpu, gfn, offset_in_page(gpa), len, &w);
	if (w.want.slot && !w.used) {
		w.writable = !(w.want.slot->flags & KVMX_MEM_READONLY);
		if (!pin(w.want.slot, w.want.gfn, w.writable, &w.page)) {
			kvmx_vm_stat_inc(vm, pages_pinned);
			w.again = true;
			pt_write_pass(vcpu, gfn, offset_in_page(gpa), len, &w);
		}
	}
	srcu_read_unlock(&vm->srcu, idx);
	if (w.page)
		unpin_page(vm, w.page, w.writable);
}

/*
 * The emulator cannot run a write to the guest page table at @gfn: every
 * shadow page of it goes, and the guest writes it natively.
 */
static void shadow_unprotect(struct kvmx_vcpu *vcpu, u64 gfn)
{
	struct kvmx_shadow *s = &vcpu->vm->shadow;

	mutex_lock(&s->lock);
	kvmx_stat_add(vcpu, shadow_zapped, zap_gfn(vcpu->vm, gfn));
	mutex_unlock(&s->lock);
}

/*
 * The lockless walk (the MMIO fast path): under rcu_read_lock(), which
 * keeps every table reached alive (the freeing rule at the top of this
 * file).  Each entry is read once; the walk stops at the first entry that
 * is not present.  The root is the vCPU's own (this is its thread).
 */
static int shadow_walk_lockless(struct kvmx_vcpu *vcpu, u64 la, u64 sptes[KVMX_MMU_MAX_LEVELS],
				int *root_level)
{
	u64 *table;
	int level, n = 0;

	if (!vcpu->shadow.root_valid)
		return 0;
	if (vcpu->shadow.root) {
		*root_level = 4;
		table = vcpu->shadow.root->spt;
	} else {
		*root_level = 3;
		table = vcpu->shadow.pae_root;
	}
	rcu_read_lock();
	for (level = *root_level; level >= 1; level--) {
		u64 spte = READ_ONCE(table[kvmx_spt_index(la, level, *root_level)]);

		sptes[n++] = spte;
		if (level == 1 || !is_link(spte))
			break;
		table = __va(spte & KVMX_SPT_PFN_MASK);
	}
	rcu_read_unlock();
	return n;
}

static bool shadow_mmio_spte(const struct kvmx_vm *vm, const struct kvmx_page_fault *f, u64 spte,
			     u64 *gfn, u64 *gen, u32 *access)
{
	unsigned int acc;

	if (!kvmx_spt_is_mmio(spte))
		return false;
	acc = kvmx_spt_mmio_access(spte);
	/* A right the guest lacks, or a fetch: the normal path walks and decides. */
	if (((f->error_code & KVMX_PFERR_W) && !(acc & KVMX_ACC_W)) ||
	    ((f->error_code & KVMX_PFERR_U) && !(acc & KVMX_ACC_U)) ||
	    (f->error_code & KVMX_PFERR_ID))
		return false;
	*gfn = kvmx_spt_mmio_gfn(spte);
	*gen = kvmx_spt_mmio_gen(spte);
	*access = acc;
	return true;
}

/*
 * An entry with bits the CPU reserves (62:51 are, in PAE entries, with
 * MAXPHYADDR below 52) that is not one of kvmx's MMIO SPTEs: a bug or
 * corruption, which would fault forever.
 */
static bool shadow_spte_rsvd(const struct kvmx_vm *vm, u64 spte)
{
	return kvmx_spt_present(spte) && (spte & KVMX_GENMASK(62, 51)) &&
	       !kvmx_spt_is_mmio(spte) && !kvmx_spt_is_trap(spte);
}

/* Under shadow paging only the CPU's P|RSVD faults can come from an MMIO SPTE. */
static bool shadow_may_be_mmio_spte(const struct kvmx_vm *vm, const struct kvmx_page_fault *f)
{
	return f->rsvd;
}

/* ---- control registers, INVLPG ---- */

/*
 * The CPU's CR0 and CR4 for the guest's (in the read shadows): paging
 * always on (PG, PE, and WP, whose clear guest value the SPTEs emulate),
 * PAE always (the shadow tables are PAE or 4-level), and no SMEP/SMAP
 * while the guest has no paging (kvmx's identity map is not the guest's).
 * The PAE PDPTEs are not reloaded here: as on the CPU, only a MOV to CR0
 * or CR4 that changes a bit that reloads them does, and KVM_SET_SREGS
 * (vmx/exit.c, vmx/state.c).
 */
static void shadow_cr_changed(struct kvmx_vcpu *vcpu)
{
	/*
	 * The guest's values: its own bits (CR0.TS, CR4.OSFXSR, ...) from the
	 * VMCS's CR0/CR4, where it changes them without an exit; the read
	 * shadows have them only as of kvmx's last write.
	 */
	unsigned long cr0 = kvmx_get_cr0(vcpu), cr4 = kvmx_get_cr4(vcpu);
	unsigned long hw_cr4 = cr4 | X86_CR4_VMXE | X86_CR4_PAE;

	if (!(cr0 & X86_CR0_PG))
		hw_cr4 &= ~(X86_CR4_SMEP | X86_CR4_SMAP | X86_CR4_PKE);
	vmcs_write(GUEST_CR0, (cr0 | X86_CR0_NE | X86_CR0_PG | X86_CR0_PE | X86_CR0_WP) &
			      ~(X86_CR0_CD | X86_CR0_NW));
	vmcs_write(GUEST_CR4, hw_cr4 & ~X86_CR4_PSE);
	vcpu->shadow.root_valid = false;
	vcpu->last_mmio.valid = false;
}

static u64 shadow_get_cr3(struct kvmx_vcpu *vcpu)
{
	return vcpu->shadow.cr3;
}

/*
 * MOV to CR3: the root for the new CR3 at the next entry.  The shadow
 * pages are never out of date (write protection), so nothing needs a
 * resync; MMIO SPTEs under the new root describe its own mappings.  The
 * vCPU's MMIO cache is keyed by linear address only: it goes (seed 002).
 * In PAE paging the caller loads the PDPTEs, checked as the CPU checks
 * them (vmx/exit.c, KVM's load_pdptrs()), into the VMCS's PDPTE fields;
 * fill_pae_root() reads them there.
 */
static void shadow_set_cr3(struct kvmx_vcpu *vcpu, u64 cr3)
{
	vcpu->shadow.cr3 = cr3;
	vcpu->shadow.root_valid = false;
	vcpu->last_mmio.valid = false;
}

/*
 * INVLPG: the leaf of @la under the vCPU's root goes (a RAM page or an
 * MMIO SPTE), and so does the vCPU's MMIO cache (seed 002).
 */
static void shadow_invlpg(struct kvmx_vcpu *vcpu, u64 la)
{
	struct kvmx_shadow *s = &vcpu->vm->shadow;
	u64 *sptep;

	vcpu->last_mmio.valid = false;
	mutex_lock(&s->lock);
	sptep = leaf_under_root(vcpu, la);
	if (sptep)
		drop_leaf(vcpu->vm, sp_of_sptep(sptep), sptep);
	mutex_unlock(&s->lock);
}

/* ---- VM and vCPU set-up ---- */

static void shadow_load(struct kvmx_vcpu *vcpu)
{
	vmcs_clear_bits(SECONDARY_VM_EXEC_CONTROL, CPU2_ENABLE_EPT | CPU2_UNRESTRICTED_GUEST);
	vmcs_set_bits(CPU_BASED_VM_EXEC_CONTROL,
		      CPU_INVLPG_EXITING | CPU_CR3_LOAD_EXITING | CPU_CR3_STORE_EXITING);
	vmcs_write(EXCEPTION_BITMAP, vmcs_read(EXCEPTION_BITMAP) | BIT(PF_VECTOR));
	/* With bypass, only #PFs with P=1 exit (trap values, MMIO SPTEs, rights). */
	vmcs_write(PAGE_FAULT_ERROR_CODE_MASK, kvmx_spt_pfec_mask(vcpu->vm->shadow.bypass));
	vmcs_write(PAGE_FAULT_ERROR_CODE_MATCH, kvmx_spt_pfec_match(vcpu->vm->shadow.bypass));
	vcpu->cr0_host_owned |= X86_CR0_PG | X86_CR0_PE | X86_CR0_WP;
	vcpu->cr4_host_owned |= X86_CR4_PAE | X86_CR4_PSE | X86_CR4_PGE | X86_CR4_SMEP |
				X86_CR4_SMAP | X86_CR4_PKE | X86_CR4_LA57;
	vcpu->shadow.cr3 = 0;
	vcpu->shadow.root_valid = false;
}

static void shadow_vcpu_destroy(struct kvmx_vcpu *vcpu)
{
	struct kvmx_shadow *s = &vcpu->vm->shadow;

	if (!s->hash)
		return;
	mutex_lock(&s->lock);
	vcpu_drop_root(vcpu);
	mutex_unlock(&s->lock);
	if (vcpu->shadow.pae_root) {
		/* A CPU may still cache it until a grace period ends. */
		synchronize_rcu();
		free_page((unsigned long)vcpu->shadow.pae_root);
		vcpu->shadow.pae_root = NULL;
	}
}

static int shadow_init(struct kvmx_vm *vm)
{
	struct kvmx_shadow *s = &vm->shadow;
	int i;

	mutex_init(&s->lock);
	INIT_LIST_HEAD(&s->pages);
	xa_init(&s->rmap);
	s->mmio_ok = host_rsvd_bit_free();
	s->bypass = vm->bypass_guest_pf && s->mmio_ok;
	s->hash = kvmalloc_array(1 << HASH_BITS_SP, sizeof(*s->hash), GFP_KERNEL_ACCOUNT);
	if (!s->hash)
		return -ENOMEM;
	for (i = 0; i < 1 << HASH_BITS_SP; i++)
		INIT_HLIST_HEAD(&s->hash[i]);
	return 0;
}

static void shadow_destroy(struct kvmx_vm *vm)
{
	struct kvmx_shadow *s = &vm->shadow;

	if (!s->hash)
		return;
	mutex_lock(&s->lock);
	zap_all(vm);
	mutex_unlock(&s->lock);
	/* The frees queued above, before the hash and maps go. */
	rcu_barrier();
	WARN_ON_ONCE(!xa_empty(&s->rmap));
	xa_destroy(&s->rmap);
	kvfree(s->hash);
	s->hash = NULL;
}

/* ---- memslot changes, generation wrap, dirty logging ---- */

/*
 * A memslot moves or goes: every shadow page goes (the guest's tables may
 * have lived there; Marcelo's "easier to zap all" of seed 002).  No vCPU
 * runs on the old mappings after this returns.
 */
static void shadow_zap_gfns(struct kvmx_vm *vm, u64 gfn, u64 npages)
{
	mutex_lock(&vm->shadow.lock);
	zap_all(vm);
	mutex_unlock(&vm->shadow.lock);
	flush_remote(vm);
}

static unsigned long shadow_zap_mmio(struct kvmx_vm *vm)
{
	struct kvmx_shadow *s = &vm->shadow;
	unsigned long zapped = 0;
	struct kvmx_sp *sp;
	unsigned int i;

	/* MMIO SPTEs are never cached by the CPU (they fault): no flush. */
	mutex_lock(&s->lock);
	list_for_each_entry(sp, &s->pages, link) {
		if (sp->role.level != 1)
			continue;
		for (i = 0; i < ENTRIES; i++) {
			if (kvmx_spt_is_mmio(sp->spt[i])) {
				WRITE_ONCE(sp->spt[i], unfilled(s));
				zapped++;
			}
		}
	}
	mutex_unlock(&s->lock);
	return zapped;
}

/* Dirty logging starts: the leaves are made again, read-only until written. */
static void shadow_write_protect(struct kvmx_vm *vm, u64 gfn, u64 npages)
{
	shadow_zap_gfns(vm, gfn, npages);
}

static bool shadow_wrprot_gfn(struct kvmx_vm *vm, u64 gfn)
{
	return rmap_write_protect(head_of(&vm->shadow, gfn), false);
}

static bool shadow_harvest_dirty(struct kvmx_vm *vm, const struct kvmx_memslot *slot,
				 unsigned long *snapshot)
{
	struct kvmx_shadow *s = &vm->shadow;
	bool flush;

	mutex_lock(&s->lock);
	flush = kvmx_mmu_harvest_bits(vm, slot, snapshot, shadow_wrprot_gfn) ||
		READ_ONCE(s->tlbs_dirty);
	mutex_unlock(&s->lock);
	if (flush)
		flush_remote(vm);
	return flush;
}

static int shadow_debug_set_spte(struct kvmx_vm *vm, u64 gfn, u64 spte)
{
	return -EOPNOTSUPP;
}

const struct kvmx_mmu_ops kvmx_shadow_mmu_ops = {
	.name = "shadow",
	.rsvd_fault_name = "reserved-bit #PF",
	.addr_name = "linear address",
	.init = shadow_init,
	.destroy = shadow_destroy,
	.load = shadow_load,
	.vcpu_destroy = shadow_vcpu_destroy,
	.reload = shadow_reload,
	.cr_changed = shadow_cr_changed,
	.invlpg = shadow_invlpg,
	.track_write = shadow_track_write,
	.unprotect = shadow_unprotect,
	.get_cr3 = shadow_get_cr3,
	.set_cr3 = shadow_set_cr3,
	.may_be_mmio_spte = shadow_may_be_mmio_spte,
	.spte_rsvd = shadow_spte_rsvd,
	.page_fault = shadow_page_fault,
	.walk_lockless = shadow_walk_lockless,
	.mmio_spte = shadow_mmio_spte,
	.zap_gfns = shadow_zap_gfns,
	.zap_mmio = shadow_zap_mmio,
	.write_protect = shadow_write_protect,
	.harvest_dirty = shadow_harvest_dirty,
	.debug_set_spte = shadow_debug_set_spte,
};
