/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Machine-check MSRs, as KVM emulates them (arch/x86/kvm/x86.c: the
 * KVM_X86_SETUP_MCE ioctl, set_msr_mce(), get_msr_mce()): IA32_MCG_CAP
 * chosen by user space, IA32_MCG_STATUS/CTL/EXT_CTL and the banks'
 * CTL/STATUS/ADDR/MISC, kept for the guest and for user space.  QEMU writes
 * all of them at every reset when the guest's CPUID has MCE and MCA.  kvmx
 * never raises a machine check itself.  Pure code.
 */
#ifndef KVMX_MCE_H
#define KVMX_MCE_H

#include "types.h"

#define KVMX_MCE_MAX_BANKS	32		/* KVM_MAX_MCE_BANKS */
#define KVMX_MCG_CTL_P		KVMX_BIT(8)	/* IA32_MCG_CTL exists */
#define KVMX_MCG_SER_P		KVMX_BIT(24)	/* software error recovery */
#define KVMX_MCG_LMCE_P		KVMX_BIT(27)	/* local machine checks */
/* KVM_X86_GET_MCE_CAP_SUPPORTED, as kvm_intel's. */
#define KVMX_MCE_CAP_SUPPORTED	(KVMX_MCG_CTL_P | KVMX_MCG_SER_P | KVMX_MCG_LMCE_P)
#define KVMX_MSR_MC0_CTL	0x400		/* bank i: 0x400 + 4 * i + CTL/STATUS/ADDR/MISC */
#define KVMX_MCG_EXT_CTL_LMCE_EN KVMX_BIT(0)

struct kvmx_mce {
	u64 cap;	/* IA32_MCG_CAP: bank count in 7:0 */
	u64 status;
	u64 ctl;
	u64 ext_ctl;
	u64 banks[4 * KVMX_MCE_MAX_BANKS];
};

/* Whether KVM_X86_SETUP_MCE takes @mcg_cap: 1 to 32 banks, known bits. */
static inline bool kvmx_mce_cap_valid(u64 mcg_cap)
{
	u64 banks = mcg_cap & 0xff;

	return !(mcg_cap & ~(KVMX_MCE_CAP_SUPPORTED | 0xff | 0xff0000)) &&
	       banks && banks <= KVMX_MCE_MAX_BANKS;
}

/* The bank register @msr names under @mcg_cap (an index of banks[]), or -1. */
static inline int kvmx_mce_bank_reg(u32 msr, u64 mcg_cap)
{
	if (msr >= KVMX_MSR_MC0_CTL && msr < KVMX_MSR_MC0_CTL + 4 * (mcg_cap & 0xff))
		return msr - KVMX_MSR_MC0_CTL;
	return -1;
}

/*
 * Whether @data may be written to bank register @reg: MCi_CTL takes 0 or
 * all ones (bits 10 and 0 may be clear, for the Linux and UnixWare quirks
 * KVM lets through); a guest may only clear MCi_STATUS (Intel).
 */
static inline bool kvmx_mce_bank_write_ok(int reg, u64 data, bool host)
{
	if ((reg & 3) == 0 && data && (data | KVMX_BIT(10) | 1) != ~0ULL)
		return false;
	return !((reg & 3) == 1 && data && !host);
}

/* IA32_MCG_CTL: 0 or all ones, and only where MCG_CTL_P (user space may write 0). */
static inline bool kvmx_mcg_ctl_write_ok(u64 mcg_cap, u64 data, bool host)
{
	if (!(mcg_cap & KVMX_MCG_CTL_P) && (data || !host))
		return false;
	return data == 0 || data == ~0ULL;
}

#endif /* KVMX_MCE_H */
