/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The MTRR MSRs, as KVM keeps them (arch/x86/kvm/mtrr.c): eight variable
 * ranges, the eleven fixed-range MSRs and the default type, written by the
 * guest and by user space (QEMU writes every one of them at each reset when
 * the guest's CPUID has MTRR, and aborts if one is refused).  kvmx, like
 * KVM without non-coherent DMA, maps guest memory write-back whatever the
 * guest's MTRRs say, so they are only checked and kept.  Pure code.
 */
#ifndef KVMX_MTRR_H
#define KVMX_MTRR_H

#include "types.h"

#define KVMX_MSR_MTRRCAP		0xfe
#define KVMX_MSR_MTRR_PHYSBASE0		0x200	/* base/mask pairs up to 0x20f */
#define KVMX_MSR_MTRR_FIX64K_00000	0x250
#define KVMX_MSR_MTRR_FIX16K_80000	0x258
#define KVMX_MSR_MTRR_FIX16K_A0000	0x259
#define KVMX_MSR_MTRR_FIX4K_C0000	0x268	/* up to 0x26f */
#define KVMX_MSR_MTRR_DEFTYPE		0x2ff

#define KVMX_MTRR_NR_VAR		8
/* Fixed ranges supported (bit 8), WC (bit 10), 8 variable ranges: KVM's. */
#define KVMX_MTRRCAP			(0x500 | KVMX_MTRR_NR_VAR)

/* Where each MTRR MSR's value is kept: default type, fixed, variable. */
enum {
	KVMX_MTRR_DEFTYPE_SLOT = 0,
	KVMX_MTRR_FIXED_SLOT = 1,
	KVMX_MTRR_VAR_SLOT = KVMX_MTRR_FIXED_SLOT + 11,
	KVMX_MTRR_NR_SLOTS = KVMX_MTRR_VAR_SLOT + 2 * KVMX_MTRR_NR_VAR,
};

/* The slot of MTRR MSR @msr, or -1 if @msr is not one (MTRRcap is not). */
static inline int kvmx_mtrr_slot(u32 msr)
{
	if (msr == KVMX_MSR_MTRR_DEFTYPE)
		return KVMX_MTRR_DEFTYPE_SLOT;
	if (msr == KVMX_MSR_MTRR_FIX64K_00000)
		return KVMX_MTRR_FIXED_SLOT;
	if (msr == KVMX_MSR_MTRR_FIX16K_80000 || msr == KVMX_MSR_MTRR_FIX16K_A0000)
		return KVMX_MTRR_FIXED_SLOT + 1 + (msr - KVMX_MSR_MTRR_FIX16K_80000);
	if (msr >= KVMX_MSR_MTRR_FIX4K_C0000 && msr < KVMX_MSR_MTRR_FIX4K_C0000 + 8)
		return KVMX_MTRR_FIXED_SLOT + 3 + (msr - KVMX_MSR_MTRR_FIX4K_C0000);
	if (msr >= KVMX_MSR_MTRR_PHYSBASE0 &&
	    msr < KVMX_MSR_MTRR_PHYSBASE0 + 2 * KVMX_MTRR_NR_VAR)
		return KVMX_MTRR_VAR_SLOT + (msr - KVMX_MSR_MTRR_PHYSBASE0);
	return -1;
}

/* UC, WC, WT, WP and WB; 2, 3 and 7 and up are reserved. */
static inline bool kvmx_mtrr_type_valid(u64 type)
{
	return type < 8 && (KVMX_BIT(type) & 0x73);
}

/*
 * Whether @data may be written to MTRR @msr (one kvmx_mtrr_slot() knows)
 * for a guest whose physical addresses have @maxphyaddr bits; otherwise the
 * guest gets #GP and KVM_SET_MSRS stops at this entry, as on KVM.
 */
static inline bool kvmx_mtrr_valid(u32 msr, u64 data, unsigned int maxphyaddr)
{
	int slot = kvmx_mtrr_slot(msr);
	u64 rsvd;
	int i;

	if (slot < 0)
		return false;
	if (slot == KVMX_MTRR_DEFTYPE_SLOT)	/* type, FE (10), E (11) */
		return !(data & ~0xcffULL) && kvmx_mtrr_type_valid(data & 0xff);
	if (slot < KVMX_MTRR_VAR_SLOT) {	/* one type per byte */
		for (i = 0; i < 8; i++)
			if (!kvmx_mtrr_type_valid((data >> (8 * i)) & 0xff))
				return false;
		return true;
	}
	rsvd = maxphyaddr >= 64 ? 0 : ~0ULL << maxphyaddr;
	if (!((msr - KVMX_MSR_MTRR_PHYSBASE0) & 1)) {	/* PHYSBASE: type, 11:8 reserved */
		if (!kvmx_mtrr_type_valid(data & 0xff))
			return false;
		rsvd |= 0xf00;
	} else {					/* PHYSMASK: V (11), 10:0 reserved */
		rsvd |= 0x7ff;
	}
	return !(data & rsvd);
}

#endif /* KVMX_MTRR_H */
