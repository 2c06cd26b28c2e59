/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shadow-paging SPTEs: the entries of the page tables kvmx builds for the
 * CPU when a VM has no EPT.  Pure code (kvmx/types.h only), unit-tested
 * in tests/unit/shadow_spte_test.cc; the shadow MMU is to use nothing but
 * these helpers to make and read its entries (mmu/shadow.c; the tables on
 * the way to a leaf are computed by mmu/shadow_path.h).
 *
 * A shadow SPTE has the x86 page-table format (4-level or PAE), so the
 * CPU walks it in the guest's place.  kvmx keeps four kinds of leaf, told
 * apart by value alone:
 *
 *   63  62....52  51  50.............12  11  10.......3  2  1  0
 *  +---+--------+---+------------------+---+------------+--+--+--+
 *  |XD | (0)    | 0 | page frame       | 0 | A D .. PWT |U |W |1 |  RAM
 *  +---+--------+---+------------------+---+------------+--+--+--+
 *  | 0 |gen 18:8| R | gfn              | M | gen 7:0    |U |W |1 |  MMIO
 *  +---+--------+---+------------------+---+------------+--+--+--+
 *  | 0 |   0    | R |        0         | 0 |     0      |0 |0 |1 |  trap
 *  +---+--------+---+------------------+---+------------+--+--+--+
 *  |                        all zero                            |  notrap
 *  +------------------------------------------------------------+
 *
 *   R   the highest physical-address bit, which is reserved because it
 *       lies at or above the host's MAXPHYADDR (bit 51 is used; the
 *       range MAXPHYADDR..51 is reserved).  A present entry with R set
 *       raises #PF with error code P|RSVD, and the CPU never caches it in
 *       a TLB.  If the host's MAXPHYADDR is 52 no bit is free: MMIO
 *       caching and bypass_guest_pf are then off for shadow VMs.
 *   M   bit 11, ignored by the CPU: kvmx's MMIO mark.
 *   W,U the guest's write and user permission for the MMIO page, so a
 *       later access is checked without walking the guest's tables.
 *   gen the low 19 bits of the memslot generation, in bits ignored or
 *       unused in an entry that faults with RSVD (as on EPT).
 *
 * MMIO and trap both fault with P|RSVD (seed 003's bypass cannot send
 * them to the guest: the PFEC match is on P=0 only).  Upstream KVM dropped
 * bypass_guest_pf in 2011 because its trap value and MMIO SPTEs were
 * confused; here a trap is exactly P|R, an MMIO SPTE always has M, so no
 * value is both (unit-tested).  notrap is 0, a not-present entry: with
 * bypass on, its #PF (P=0) goes straight to the guest, so kvmx writes it
 * only where it read the guest's PTE as not present in a guest page table
 * that it write-protects.  RAM entries never have R.
 */
#ifndef KVMX_MMU_SHADOW_SPTE_H
#define KVMX_MMU_SHADOW_SPTE_H

#include "../types.h"
#include "walk.h"

#define KVMX_SPT_P		KVMX_BIT(0)
#define KVMX_SPT_W		KVMX_BIT(1)
#define KVMX_SPT_U		KVMX_BIT(2)
#define KVMX_SPT_A		KVMX_BIT(5)
#define KVMX_SPT_D		KVMX_BIT(6)
#define KVMX_SPT_XD		KVMX_BIT(63)
#define KVMX_SPT_MMIO_MARK	KVMX_BIT(11)
#define KVMX_SPT_RSVD_BIT	KVMX_BIT(51)
/*
 * Bit 9, ignored by the CPU in every paging mode (bits 62:52 are reserved
 * in PAE entries, so not those): kvmx's "host writable" mark on a RAM leaf
 * whose page was pinned for writing (W may be taken away to catch a
 * write, HW stays, so the page is unpinned dirty).
 */
#define KVMX_SPT_HOST_WRITABLE	KVMX_BIT(9)
/*
 * Bit 10, ignored by the CPU likewise: a RAM leaf that would have W but
 * for write protection (its page is a shadowed guest page table; KVM's
 * shadow_mmu_writable_mask).  When the page stops being one because its
 * shadow pages were zapped for a guest write, W comes back at once, so
 * the guest's next write to it does not fault (shadow.c).
 */
#define KVMX_SPT_WP_WITHHELD	KVMX_BIT(10)
/* Page frames kvmx maps (below the reserved bit) and gfns it records. */
#define KVMX_SPT_PFN_MASK	KVMX_GENMASK(50, 12)
#define KVMX_SPT_MAX_MMIO_GFN	(KVMX_SPT_PFN_MASK >> 12)

#define KVMX_SPT_GEN_BITS	19
#define KVMX_SPT_GEN_LOW_BITS	8
#define KVMX_SPT_GEN_LOW_SHIFT	3
#define KVMX_SPT_GEN_HIGH_SHIFT	52

/* The guest's access rights, as KVM's ACC_*_MASK. */
#define KVMX_ACC_X		KVMX_BIT(0)
#define KVMX_ACC_W		KVMX_BIT(1)
#define KVMX_ACC_U		KVMX_BIT(2)
#define KVMX_ACC_ALL		(KVMX_ACC_X | KVMX_ACC_W | KVMX_ACC_U)

/*
 * Whether the host has a free reserved physical-address bit (bit 51, from
 * CPUID 0x80000008 EAX[7:0] = @host_maxphyaddr < 52): without one, no
 * MMIO SPTE and no trap value can be made.
 */
static inline bool kvmx_spt_has_rsvd_bit(unsigned int host_maxphyaddr)
{
	return host_maxphyaddr < 52;
}

static inline bool kvmx_spt_present(u64 spte)
{
	return (spte & KVMX_SPT_P) != 0;
}

/* The trap value: present, reserved bit set, nothing else. */
static inline u64 kvmx_spt_trap(void)
{
	return KVMX_SPT_P | KVMX_SPT_RSVD_BIT;
}

static inline bool kvmx_spt_is_trap(u64 spte)
{
	return spte == kvmx_spt_trap();
}

/* The notrap value: not present. */
static inline u64 kvmx_spt_notrap(void)
{
	return 0;
}

static inline bool kvmx_spt_is_notrap(u64 spte)
{
	return spte == 0;
}

/*
 * An MMIO SPTE for @gfn with the guest's @access (KVMX_ACC_W/U; X is not
 * kept: an instruction fetch from MMIO is not emulated) made at memslot
 * generation @gen.  The caller makes none for a gfn above
 * KVMX_SPT_MAX_MMIO_GFN.
 */
static inline u64 kvmx_spt_mmio(u64 gfn, unsigned int access, u64 gen)
{
	u64 g = gen & KVMX_GENMASK(KVMX_SPT_GEN_BITS - 1, 0);

	return KVMX_SPT_P | KVMX_SPT_RSVD_BIT | KVMX_SPT_MMIO_MARK |
	       ((gfn << 12) & KVMX_SPT_PFN_MASK) |
	       (access & KVMX_ACC_W ? KVMX_SPT_W : 0) | (access & KVMX_ACC_U ? KVMX_SPT_U : 0) |
	       ((g & KVMX_GENMASK(KVMX_SPT_GEN_LOW_BITS - 1, 0)) << KVMX_SPT_GEN_LOW_SHIFT) |
	       ((g >> KVMX_SPT_GEN_LOW_BITS) << KVMX_SPT_GEN_HIGH_SHIFT);
}

static inline bool kvmx_spt_is_mmio(u64 spte)
{
	u64 mask = KVMX_SPT_P | KVMX_SPT_RSVD_BIT | KVMX_SPT_MMIO_MARK;

	return (spte & mask) == mask;
}

static inline u64 kvmx_spt_mmio_gfn(u64 spte)
{
	return (spte & KVMX_SPT_PFN_MASK) >> 12;
}

static inline unsigned int kvmx_spt_mmio_access(u64 spte)
{
	return (spte & KVMX_SPT_W ? KVMX_ACC_W : 0) | (spte & KVMX_SPT_U ? KVMX_ACC_U : 0);
}

static inline u64 kvmx_spt_mmio_gen(u64 spte)
{
	return ((spte >> KVMX_SPT_GEN_LOW_SHIFT) & KVMX_GENMASK(KVMX_SPT_GEN_LOW_BITS - 1, 0)) |
	       (((spte >> KVMX_SPT_GEN_HIGH_SHIFT) & KVMX_GENMASK(10, 0)) <<
		KVMX_SPT_GEN_LOW_BITS);
}

/*
 * bypass_guest_pf (seed 003).  With bit 14 (#PF) of the exception bitmap
 * set, a guest #PF causes a VM exit only if (error code & PFEC_MASK) ==
 * PFEC_MATCH.  Mask = match = P: a #PF on a not-present entry (P=0 in the
 * error code) is delivered straight to the guest, while every other one
 * (protection faults, and P|RSVD: trap values and MMIO SPTEs) exits.
 * With bypass off, mask = match = 0: every #PF exits.
 */
static inline u32 kvmx_spt_pfec_mask(bool bypass)
{
	return bypass ? KVMX_PFERR_P : 0;
}

static inline u32 kvmx_spt_pfec_match(bool bypass)
{
	return bypass ? KVMX_PFERR_P : 0;
}

/* What the CPU does with a guest #PF of @error_code under @mask/@match. */
static inline bool kvmx_spt_pf_exits(u32 error_code, u32 mask, u32 match)
{
	return (error_code & mask) == match;
}

/*
 * The value of a shadow entry that kvmx has not made from a guest entry:
 * with bypass off, not present (its #PF exits anyway); with bypass on, a
 * trap, so the fault still reaches kvmx.
 */
static inline u64 kvmx_spt_unfilled(bool bypass)
{
	return bypass ? kvmx_spt_trap() : 0;
}

/*
 * The value of a shadow entry for guest entry @gpte, read from a guest
 * table kvmx write-protects (so it sees every change to it), before kvmx
 * fills the entry in: notrap if the guest's entry is not present and
 * bypass is on (the guest's own #PF, with the CPU's error code and CR2,
 * goes straight to the guest), else unfilled.  A write to a guest table
 * that leaves an entry not present makes the same choice.
 */
static inline u64 kvmx_spt_prefetch(u64 gpte, bool bypass)
{
	if (bypass && !(gpte & KVMX_SPT_P))
		return kvmx_spt_notrap();
	return kvmx_spt_unfilled(bypass);
}

/*
 * The guest's access rights through one paging-structure entry @gpte
 * (any level, any format: W is bit 1, U bit 2, XD bit 63 and only with
 * EFER.NXE, @nxe).  The rights of a translation are the AND over its
 * entries, as the CPU computes them.
 */
static inline unsigned int kvmx_spt_gpte_access(u64 gpte, bool nxe)
{
	return (gpte & KVMX_SPT_W ? KVMX_ACC_W : 0) | (gpte & KVMX_SPT_U ? KVMX_ACC_U : 0) |
	       (nxe && (gpte & KVMX_SPT_XD) ? 0 : KVMX_ACC_X);
}

/* What a RAM leaf is made from. */
struct kvmx_spt_leaf {
	u64 pa;			/* host physical address of the page */
	unsigned int access;	/* the guest's rights (AND over the walk) */
	bool gpte_dirty;	/* the guest's leaf has D set */
	bool host_writable;	/* the memslot and the pinned page allow writes */
	bool write_protected;	/* the gfn holds a shadowed guest page table */
	bool write_fault;	/* the access being fixed is a write */
	bool user_fault;	/* ... made at CPL 3 */
	bool cr0_wp;		/* the guest's CR0.WP */
	bool nxe;		/* the guest's EFER.NXE: XD may be set */
};

/*
 * The RAM leaf for @in, as KVM's set_spte() for shadow paging:
 *  - A and D are set in the SPTE (kvmx sets the guest's A and D itself,
 *    when it makes the SPTE, as the CPU would have on this access);
 *  - W only if the guest's leaf is dirty (or this write makes it so), the
 *    host allows it and the gfn is not a shadowed page table, so the
 *    guest's first write to a clean page faults and kvmx can set D;
 *  - CR0.WP = 0: a supervisor write to a page the guest maps read-only is
 *    allowed, so the SPTE for that write is writable and supervisor-only
 *    (a later user access faults and gets a user, read-only SPTE);
 *  - XD if the guest may not execute and NX is on.
 */
static inline u64 kvmx_spt_ram(const struct kvmx_spt_leaf *in)
{
	unsigned int access = in->access;
	u64 spte = KVMX_SPT_P | KVMX_SPT_A | KVMX_SPT_D | (in->pa & KVMX_SPT_PFN_MASK);

	if (!in->cr0_wp && in->write_fault && !in->user_fault && !(access & KVMX_ACC_W)) {
		access |= KVMX_ACC_W;
		access &= ~KVMX_ACC_U;
	}
	if (access & KVMX_ACC_U)
		spte |= KVMX_SPT_U;
	if ((access & KVMX_ACC_W) && (in->gpte_dirty || in->write_fault) && in->host_writable)
		spte |= in->write_protected ? KVMX_SPT_WP_WITHHELD : KVMX_SPT_W;
	if (in->nxe && !(access & KVMX_ACC_X))
		spte |= KVMX_SPT_XD;
	return spte;
}

/*
 * A shadow page's role: what it shadows, besides the guest table's gfn.
 * Two shadow pages for the same gfn with different roles are different
 * pages (KVM's union kvm_mmu_page_role, the fields kvmx needs).
 */
struct kvmx_spt_role {
	u8 level;		/* 1 = page table .. 4 = PML4 */
	u8 guest_levels;	/* 0 no paging, 2 32-bit, 3 PAE, 4 4-level */
	u8 access;		/* KVMX_ACC_* of the walk above this table */
	u8 quadrant;		/* which part of a 32-bit guest table (below) */
	bool direct;		/* maps a linear range (no guest table, or a large page) */
	bool cr0_wp;
	bool nxe;
};

static inline u32 kvmx_spt_role_word(const struct kvmx_spt_role *r)
{
	return r->level | (u32)r->guest_levels << 4 | (u32)r->access << 8 |
	       (u32)r->quadrant << 12 | (u32)r->direct << 16 | (u32)r->cr0_wp << 17 |
	       (u32)r->nxe << 18;
}

/*
 * The quadrant of a 32-bit guest table shadowed at @level for linear
 * address @la.  A 32-bit guest table has 1024 4-byte entries, a shadow
 * table 512 8-byte ones: a guest page table (4 MiB) needs two shadow page
 * tables (2 MiB each), a guest page directory (4 GiB) four shadow page
 * directories (1 GiB each).  Other guests: always 0.
 */
static inline u8 kvmx_spt_quadrant(u64 la, int level, int guest_levels)
{
	if (guest_levels != 2)
		return 0;
	if (level == 1)
		return (la >> 21) & 1;
	return (la >> 30) & 3;
}

/*
 * The offset in bytes, within the guest's table, of the first guest entry
 * that the shadow table of @quadrant at @level covers (32-bit guests), so
 * kvmx reads the right half or quarter of the guest's table.
 */
static inline unsigned int kvmx_spt_quadrant_offset(u8 quadrant, int level)
{
	return level == 1 ? quadrant * 512 * 4 : quadrant * 256 * 4;
}

/*
 * A guest write of @len bytes at page offset @off into a table of @size-byte
 * entries that is not one whole entry's (KVM's detect_write_misaligned()):
 * it crosses an entry, or is shorter than 4 bytes but for a byte at an
 * entry's start (Linux's clear_bit() writes one byte).
 */
static inline bool kvmx_spt_write_misaligned(unsigned int off, unsigned int len,
					     unsigned int size)
{
	if (!(off & (size - 1)) && len == 1)
		return false;
	return ((off ^ (off + len - 1)) & ~(size - 1)) || len < 4;
}

/*
 * The entries of the shadow table of @quadrant at @level that guest entry
 * @e of its table feeds, for guests with @size-byte entries: the first
 * index and how many (0: the entry lies in another quadrant).  A 32-bit
 * guest's page table is two shadow tables, its directory four, each guest
 * PDE two shadow PDEs (2 MiB each).
 */
static inline unsigned int kvmx_spt_gpte_sptes(unsigned int size, int level, u8 quadrant,
					       unsigned int e, unsigned int *first)
{
	if (size == 8) {
		*first = e;
		return 1;
	}
	if (level == 1) {
		*first = e & 511;
		return e >> 9 == quadrant;
	}
	*first = (e & 255) * 2;
	return e >> 8 == quadrant ? 2 : 0;
}

/*
 * The guest entry that entry @i of the shadow table of @quadrant at
 * @level shadows, for guests with @size-byte entries: the inverse of
 * kvmx_spt_gpte_sptes().
 */
static inline unsigned int kvmx_spt_gpte_index(unsigned int size, int level, u8 quadrant,
					       unsigned int i)
{
	if (size == 8)
		return i;
	if (level == 1)
		return quadrant * 512 + i;
	return quadrant * 256 + i / 2;
}

/*
 * Whether a shadow entry may be left not present (notrap) for a guest
 * whose entries are @size bytes, with EFER.NXE @nxe: a #PF the CPU then
 * delivers to the guest itself must carry the error code the guest's own
 * paging mode gives.  The CPU runs a 32-bit guest's shadow tables in PAE
 * paging, where EFER.NXE makes it report instruction fetches (I/D, bit
 * 4); 32-bit paging reports them only with CR4.SMEP.  So not for a 32-bit
 * guest with NXE set: its entries trap instead.
 */
static inline bool kvmx_spt_notrap_ok(unsigned int size, bool nxe)
{
	return size == 8 || !nxe;
}

#endif /* KVMX_MMU_SHADOW_SPTE_H */
