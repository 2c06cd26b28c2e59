/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvmx guest page-table walker: a pure translation of a guest linear address
 * into a guest-physical address, as the processor would do it (Intel SDM
 * Vol. 3A, chapter 4 "Paging").  The same source builds in the kernel module
 * and in the user-space unit tests, so it includes nothing but types.h, uses
 * no globals and no recursion, and touches guest memory only through the
 * caller's callbacks.
 *
 * Usage:
 *
 *	struct kvmx_walk_cfg cfg = { .cr0 = ..., .cr3 = ..., .cr4 = ...,
 *				     .efer = ..., .rflags = ..., .cpl = ...,
 *				     .maxphyaddr = 46, .gbpages = 1 };
 *	struct kvmx_walk_result res;
 *
 *	switch (kvmx_walk(&cfg, &ops, ctx, rip, KVMX_WALK_FETCH, &res)) {
 *	case KVMX_WALK_OK:	   use res.gpa
 *	case KVMX_WALK_PF:	   inject #PF(res.error_code), CR2 = res.cr2
 *	case KVMX_WALK_BAD_GPA:	   an entry at res.bad_gpa is not guest RAM
 *	case KVMX_WALK_RETRY:	   A/D update kept racing; re-enter the guest
 *	}
 *
 * Paging mode, from the raw register values in struct kvmx_walk_cfg:
 *  - CR0.PG = 0: no paging, gpa = la & 0xffffffff (long mode needs paging),
 *    level 0, page_size 4 KiB, all permissions, no callback is called.
 *  - CR0.PG = 1, CR4.PAE = 0, EFER.LMA = 0: 32-bit paging; 4 MiB pages when
 *    CR4.PSE = 1, including PSE-36 (PDE bits 20:13 are physical address bits
 *    39:32, limited by MAXPHYADDR capped at 40).
 *  - CR0.PG = 1, CR4.PAE = 1, EFER.LMA = 0: PAE paging; 2 MiB pages.  The
 *    four PDPTEs are taken from cfg->pdptes (the processor loads them on
 *    MOV to CR3/CR0/CR4 and VM entry and does not re-read them on a walk).
 *  - EFER.LMA = 1: 4-level paging, or 5-level when CR4.LA57 = 1; 2 MiB pages
 *    and, when cfg->gbpages, 1 GiB pages.  (LMA = 1 implies PAE = 1; CR4.PAE
 *    is not consulted then.)
 *  In the three non-long modes the linear address is truncated to 32 bits
 *  (and CR2 is the truncated address).  In long mode bits 63:48 (63:57) are
 *  ignored: a non-canonical address is a #GP/#SS the caller raises before
 *  walking; CR2 is then the address as given.
 *
 * Access kinds (the @access argument): a read by default, KVMX_WALK_WRITE for
 * a write, KVMX_WALK_FETCH for an instruction fetch (FETCH wins if both are
 * given).  The access is a user-mode access when cfg->cpl == 3, unless
 * KVMX_WALK_IMPLICIT marks an implicit supervisor-mode access (GDT, LDT,
 * IDT, TSS, ...), which is a supervisor-mode access whatever the CPL and for
 * which SMAP ignores RFLAGS.AC (SDM 4.6).  KVMX_WALK_NO_AD translates without
 * setting accessed/dirty bits (debug translation, KVM_TRANSLATE-like).
 *
 * Checks, in the processor's order: a paging-structure entry with P = 0 ends
 * the walk with a not-present fault (error code P = 0); a present entry with
 * a reserved bit set ends it with a reserved-bit fault (P = 1, RSVD = 1).
 * Only once the walk reached a page are the access rights checked (P = 1):
 * a not-present entry lower down therefore wins over an access-rights
 * violation that upper entries already imply, as on hardware.  The rights
 * (SDM 4.6): U/S and R/W must be 1 in every entry; supervisor writes ignore
 * R/W when CR0.WP = 0; XD (only with EFER.NXE = 1 and not in 32-bit paging)
 * forbids fetches; SMEP forbids supervisor fetches from user pages; SMAP
 * forbids supervisor data accesses to user pages unless RFLAGS.AC = 1 and
 * the access is explicit.  The error code carries W/R, U/S of the access and
 * I/D for fetches when CR4.SMEP = 1 or (CR4.PAE = 1 and EFER.NXE = 1).
 * Protection keys (CR4.PKE/PKS, bits 62:59) are not implemented: those bits
 * are treated as the ignored bits they are with PKE = PKS = 0.
 *
 * Reserved bits: physical-address bits at or above MAXPHYADDR (bits 51:M in
 * 4/5-level, 62:M in PAE), XD when EFER.NXE = 0, PS in the PML4E/PML5E, PS in
 * a PDPTE without 1 GiB page support, bits 29:13 of a 1 GiB PDPTE, bits 20:13
 * of a 2 MiB PDE, bits 21:(M-19) of a 32-bit 4 MiB PDE, and bits 63:M, 8:5,
 * 2:1 of a PAE PDPTE.  A PDPTE with reserved bits cannot exist on hardware
 * (the load raises #GP; kvmx_pae_pdpte_valid() below is that check), but
 * the walker still reports one as an RSVD #PF.  CR3's reserved bits are the
 * MOV-to-CR3's business: only its address bits are used.
 *
 * Accessed/dirty bits (SDM 4.8): only after a successful walk, top-down, A is
 * set in every entry used (not in PAE PDPTEs, which have no A bit) and D in
 * the final entry for a write.  Each update is a compare-and-exchange
 * against the value the walk read; if the entry changed meanwhile, the whole
 * walk restarts, at most KVMX_WALK_MAX_TRIES times in total, then
 * KVMX_WALK_RETRY is returned.  A faulting walk sets no A bit at all (as KVM
 * does; hardware may set A in the entries before the faulting one).
 *
 * Callbacks, with the caller's @ctx:
 *  - read(ctx, gpa, size, &val): read a 4-byte (32-bit paging) or 8-byte
 *    little-endian entry at guest-physical @gpa (naturally aligned) into
 *    @val, zero-extended.  Return 0, or a negative value when @gpa is not
 *    guest RAM.  The kernel implements it as gfn -> memslot -> hva and a
 *    get_user() of the given size (a single access, so no torn entries).
 *  - cmpxchg(ctx, gpa, size, old_val, new_val): atomically replace the
 *    entry at @gpa by @new_val if it still holds @old_val.  Return 0 if exchanged, 1 if the
 *    entry held another value, negative if @gpa is not writable guest RAM.
 *    The kernel implements it as a user-space cmpxchg of the given size on
 *    the hva (__try_cmpxchg_user()) and marks the gfn dirty on success.
 *    It is never called with KVMX_WALK_NO_AD, so it may be NULL for
 *    callers that only ever pass that flag.
 * On a negative return from either, kvmx_walk() stops with
 * KVMX_WALK_BAD_GPA: res->bad_gpa is the entry's address and res->level the
 * entry's level.  The processor has no defined #PF for this (a walk that
 * reaches MMIO or nothing at all is platform-specific), so the walker does
 * not invent one: the kernel decides (kvmx reports an emulation failure to
 * user space; KVM would inject a #PF).
 */
#ifndef KVMX_MMU_WALK_H
#define KVMX_MMU_WALK_H

#include "../types.h"

/* Register bits the walker looks at (architectural positions). */
#define KVMX_WALK_CR0_WP	KVMX_BIT(16)
#define KVMX_WALK_CR0_PG	KVMX_BIT(31)
#define KVMX_WALK_CR4_PSE	KVMX_BIT(4)
#define KVMX_WALK_CR4_PAE	KVMX_BIT(5)
#define KVMX_WALK_CR4_LA57	KVMX_BIT(12)
#define KVMX_WALK_CR4_SMEP	KVMX_BIT(20)
#define KVMX_WALK_CR4_SMAP	KVMX_BIT(21)
#define KVMX_WALK_EFER_LMA	KVMX_BIT(10)
#define KVMX_WALK_EFER_NXE	KVMX_BIT(11)
#define KVMX_WALK_RFLAGS_AC	KVMX_BIT(18)

/* Paging-structure entry bits. */
#define KVMX_PTE_P		KVMX_BIT(0)
#define KVMX_PTE_RW		KVMX_BIT(1)
#define KVMX_PTE_US		KVMX_BIT(2)
#define KVMX_PTE_PWT		KVMX_BIT(3)
#define KVMX_PTE_PCD		KVMX_BIT(4)
#define KVMX_PTE_A		KVMX_BIT(5)
#define KVMX_PTE_D		KVMX_BIT(6)
#define KVMX_PTE_PS		KVMX_BIT(7)
#define KVMX_PTE_G		KVMX_BIT(8)
#define KVMX_PTE_XD		KVMX_BIT(63)

/* #PF error code bits (SDM 4.7). */
#define KVMX_PFERR_P		KVMX_BIT(0)
#define KVMX_PFERR_W		KVMX_BIT(1)
#define KVMX_PFERR_U		KVMX_BIT(2)
#define KVMX_PFERR_RSVD		KVMX_BIT(3)
#define KVMX_PFERR_ID		KVMX_BIT(4)

/* @access flags of kvmx_walk(); none = data read. */
#define KVMX_WALK_WRITE		KVMX_BIT(0)
#define KVMX_WALK_FETCH		KVMX_BIT(1)
#define KVMX_WALK_IMPLICIT	KVMX_BIT(2)	/* implicit supervisor access */
#define KVMX_WALK_NO_AD		KVMX_BIT(3)	/* do not set A/D bits */

/* kvmx_walk_result.perm: rights granted by all entries together. */
#define KVMX_WALK_PERM_W	KVMX_BIT(0)	/* R/W = 1 in every entry */
#define KVMX_WALK_PERM_U	KVMX_BIT(1)	/* U/S = 1 in every entry */
#define KVMX_WALK_PERM_X	KVMX_BIT(2)	/* no effective XD */

/* Walk attempts before KVMX_WALK_RETRY when A/D updates keep racing. */
#define KVMX_WALK_MAX_TRIES	8

enum kvmx_walk_status {
	KVMX_WALK_OK = 0,	/* res->gpa etc. are valid */
	KVMX_WALK_PF,		/* guest #PF: res->error_code, res->cr2 */
	KVMX_WALK_BAD_GPA,	/* a callback failed at res->bad_gpa */
	KVMX_WALK_RETRY,	/* A/D cmpxchg lost KVMX_WALK_MAX_TRIES races */
};

struct kvmx_walk_cfg {
	u64 cr0;		/* PG, WP */
	u64 cr3;		/* table base; PCID and flag bits are ignored */
	u64 cr4;		/* PSE, PAE, LA57, SMEP, SMAP */
	u64 efer;		/* LMA, NXE */
	u64 rflags;		/* AC */
	u64 pdptes[4];		/* PAE paging only: the PDPTEs as loaded */
	u8 cpl;			/* 3 = user mode, 0..2 = supervisor */
	u8 maxphyaddr;		/* guest MAXPHYADDR, clamped to 32..52 */
	u8 gbpages;		/* non-zero if 1 GiB pages are supported */
};

struct kvmx_walk_ops {
	int (*read)(void *ctx, u64 gpa, unsigned int size, u64 *val);
	int (*cmpxchg)(void *ctx, u64 gpa, unsigned int size, u64 old_val,
		       u64 new_val);
};

struct kvmx_walk_result {
	/* KVMX_WALK_OK */
	u64 gpa;		/* guest-physical address of la */
	u64 page_size;		/* 4 KiB, 2 MiB, 4 MiB or 1 GiB */
	u64 leaf;		/* final entry, with any A/D set by the walk */
	u32 perm;		/* KVMX_WALK_PERM_*; WP/SMEP/SMAP not folded in */
	/* KVMX_WALK_PF */
	u32 error_code;		/* KVMX_PFERR_* */
	u64 cr2;		/* faulting linear address */
	/* KVMX_WALK_BAD_GPA */
	u64 bad_gpa;		/* address of the entry that could not be read */
	/*
	 * OK: level of the final entry (1 = PTE, 2 = PDE, 3 = PDPTE, 0 = no
	 * paging).  PF/BAD_GPA: level of the entry where the walk stopped, or
	 * of the final entry for an access-rights fault.
	 */
	int level;
	/*
	 * OK with paging: the entries the translation used, from level top
	 * down to level (pte[l - 1] for level l), as they are after the
	 * walk's A/D updates, and their guest-physical addresses (0 for a
	 * PAE PDPTE, which comes from cfg->pdptes).  The same entries at the
	 * same addresses, under the same CR3 and paging mode, translate la
	 * to the same gpa again.
	 */
	int top;
	u64 pte[5];
	u64 pte_gpa[5];
};

/*
 * PAE paging: the reserved bits of a PDPTE (SDM Table 4-8) for a
 * MAXPHYADDR of @maxphyaddr, clamped to 32..52 as the walker's: 63:M, 8:5
 * and 2:1.  The walker reports them as an RSVD #PF; MOV to CR0/CR3/CR4
 * (KVM's load_pdptrs()) refuses to load a present PDPTE with any of them.
 */
static inline u64 kvmx_pae_pdpte_rsvd(unsigned int maxphyaddr)
{
	if (maxphyaddr < 32)
		maxphyaddr = 32;
	if (maxphyaddr > 52)
		maxphyaddr = 52;
	return KVMX_GENMASK(63, maxphyaddr) | KVMX_GENMASK(8, 5) | KVMX_GENMASK(2, 1);
}

/*
 * Whether the CPU loads @pdpte into its PDPTE registers: not present (the
 * other bits are then ignored), or present without reserved bits.
 */
static inline bool kvmx_pae_pdpte_valid(u64 pdpte, unsigned int maxphyaddr)
{
	return !(pdpte & KVMX_PTE_P) || !(pdpte & kvmx_pae_pdpte_rsvd(maxphyaddr));
}

/*
 * Translate @la for an access of kind @access (KVMX_WALK_* flags) under @cfg.
 * Returns an enum kvmx_walk_status; fills @res as documented above.
 */
int kvmx_walk(const struct kvmx_walk_cfg *cfg, const struct kvmx_walk_ops *ops,
	      void *ctx, u64 la, u32 access, struct kvmx_walk_result *res);

#endif /* KVMX_MMU_WALK_H */
