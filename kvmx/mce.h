/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Machine-check MSRs, as KVM emulates them (arch/x86/kvm/x86.c: the
 * KVM_X86_SETUP_MCE ioctl, set_msr_mce(), get_msr_mce()): IA32_MCG_CAP
 * chosen by user space, IA32_MCG_STATUS/CTL/EXT_CTL and the banks'
 * CTL/STATUS/ADDR/MISC, kept for the guest and for user space.  QEMU writes
 * all of them at every reset when the guest's CPUID has MCE and MCA.  With
 * MCG_CMCI_P (Linux 6.2, in Debian's 6.1 kvm_intel as a backport) each bank
 * also has IA32_MCi_CTL2, and the local APIC a CMCI LVT entry (irq/lapic.c).
 * kvmx never raises a machine check itself: user space does, with
 * KVM_X86_SET_MCE (kvmx_mce_inject()).  Pure code.
 */
#ifndef KVMX_MCE_H
#define KVMX_MCE_H

#include "types.h"

#define KVMX_MCE_MAX_BANKS	32		/* KVM_MAX_MCE_BANKS */
#define KVMX_MCG_CTL_P		KVMX_BIT(8)	/* IA32_MCG_CTL exists */
#define KVMX_MCG_CMCI_P		KVMX_BIT(10)	/* CMCI: MCi_CTL2, the APIC's CMCI LVT */
#define KVMX_MCG_SER_P		KVMX_BIT(24)	/* software error recovery */
#define KVMX_MCG_LMCE_P		KVMX_BIT(27)	/* local machine checks */
/* KVM_X86_GET_MCE_CAP_SUPPORTED, as kvm_intel's. */
#define KVMX_MCE_CAP_SUPPORTED	(KVMX_MCG_CTL_P | KVMX_MCG_CMCI_P | KVMX_MCG_SER_P | \
				 KVMX_MCG_LMCE_P)
#define KVMX_MSR_MC0_CTL	0x400		/* bank i: 0x400 + 4 * i + CTL/STATUS/ADDR/MISC */
#define KVMX_MSR_MC0_CTL2	0x280		/* bank i: 0x280 + i */
#define KVMX_MCG_EXT_CTL_LMCE_EN KVMX_BIT(0)
#define KVMX_MCG_STATUS_MCIP	KVMX_BIT(2)	/* a machine check in progress */
#define KVMX_MCI_CTL2_CMCI_EN	KVMX_BIT(30)
#define KVMX_MCI_CTL2_THRESHOLD	0x7fffULL
/* IA32_MCi_STATUS */
#define KVMX_MCI_STATUS_VAL	KVMX_BIT(63)	/* valid */
#define KVMX_MCI_STATUS_OVER	KVMX_BIT(62)	/* an error overwritten */
#define KVMX_MCI_STATUS_UC	KVMX_BIT(61)	/* uncorrected */
#define KVMX_MCI_STATUS_PCC	KVMX_BIT(57)	/* processor context corrupt */
#define KVMX_MCI_STATUS_S	KVMX_BIT(56)	/* signalled as #MC */
#define KVMX_MCI_STATUS_AR	KVMX_BIT(55)	/* action required */

struct kvmx_mce {
	u64 cap;	/* IA32_MCG_CAP: bank count in 7:0 */
	u64 status;
	u64 ctl;
	u64 ext_ctl;
	u64 banks[4 * KVMX_MCE_MAX_BANKS];
	u64 ctl2[KVMX_MCE_MAX_BANKS];	/* IA32_MCi_CTL2 */
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

/* The bank whose IA32_MCi_CTL2 @msr is (any of the 32), or -1. */
static inline int kvmx_mce_ctl2_bank(u32 msr)
{
	if (msr >= KVMX_MSR_MC0_CTL2 && msr < KVMX_MSR_MC0_CTL2 + KVMX_MCE_MAX_BANKS)
		return msr - KVMX_MSR_MC0_CTL2;
	return -1;
}

/*
 * IA32_MCi_CTL2 of @bank, as KVM: only the banks @mcg_cap has; the guest
 * reads it only with MCG_CMCI_P, user space always; without MCG_CMCI_P
 * user space may write 0 and the guest nothing; a reserved bit is #GP.
 */
static inline bool kvmx_mce_ctl2_read_ok(u64 mcg_cap, int bank, bool host)
{
	return bank < (int)(mcg_cap & 0xff) && (host || (mcg_cap & KVMX_MCG_CMCI_P));
}

static inline bool kvmx_mce_ctl2_write_ok(u64 mcg_cap, int bank, u64 data, bool host)
{
	if (bank >= (int)(mcg_cap & 0xff))
		return false;
	if (!(mcg_cap & KVMX_MCG_CMCI_P) && (data || !host))
		return false;
	return !(data & ~(KVMX_MCI_CTL2_CMCI_EN | KVMX_MCI_CTL2_THRESHOLD));
}

/* KVM_X86_SET_MCE's argument (struct kvm_x86_mce), as kvmx_mce_inject() takes it. */
struct kvmx_mce_event {
	u64 status;
	u64 addr;
	u64 misc;
	u64 mcg_status;
	u8 bank;
};

/* What the guest gets from an error kvmx_mce_inject() recorded. */
enum kvmx_mce_signal {
	KVMX_MCE_LOGGED,	/* nothing: the error is only in the bank */
	KVMX_MCE_CMCI,		/* a CMCI through the APIC's CMCI LVT */
	KVMX_MCE_EXCEPTION,	/* #MC */
	KVMX_MCE_SHUTDOWN,	/* #MC while one is in progress, or CR4.MCE clear */
	KVMX_MCE_INVALID,	/* -EINVAL: no such bank, or the status not valid */
};

/*
 * KVM_X86_SET_MCE (KVM's kvm_vcpu_ioctl_x86_set_mce() and, for UCNA
 * errors, kvm_vcpu_x86_set_ucna(), Linux 6.2): record @ev in the bank,
 * for a guest whose CR4.MCE is @cr4_mce, and say how it is signalled.
 * A UCNA error (uncorrected, no action: MCG_STATUS 0, not PCC, S or AR)
 * always lands in the bank and is a CMCI when MCG_CMCI_P and the bank's
 * CMCI_EN are set; another uncorrected error is dropped when reporting is
 * off (MCG_CTL or MCi_CTL not all ones), and else is a #MC; a corrected
 * error does not overwrite an uncorrected one.
 */
static inline enum kvmx_mce_signal kvmx_mce_inject(struct kvmx_mce *m,
						   const struct kvmx_mce_event *ev,
						   bool cr4_mce)
{
	u64 banks_nr = m->cap & 0xff;
	u64 status = ev->status;
	u64 *bank;

	if (ev->bank >= banks_nr || !(status & KVMX_MCI_STATUS_VAL))
		return KVMX_MCE_INVALID;
	bank = &m->banks[4 * ev->bank];
	if (!ev->mcg_status && (status & KVMX_MCI_STATUS_UC) &&
	    !(status & (KVMX_MCI_STATUS_PCC | KVMX_MCI_STATUS_S | KVMX_MCI_STATUS_AR))) {
		bank[1] = status;
		bank[2] = ev->addr;
		bank[3] = ev->misc;
		m->status = ev->mcg_status;
		if ((m->cap & KVMX_MCG_CMCI_P) && (m->ctl2[ev->bank] & KVMX_MCI_CTL2_CMCI_EN))
			return KVMX_MCE_CMCI;
		return KVMX_MCE_LOGGED;
	}
	if (status & KVMX_MCI_STATUS_UC) {
		/* Reporting off, for all banks or for this one: dropped. */
		if ((m->cap & KVMX_MCG_CTL_P) && m->ctl != ~0ULL)
			return KVMX_MCE_LOGGED;
		if (bank[0] != ~0ULL)
			return KVMX_MCE_LOGGED;
		if ((m->status & KVMX_MCG_STATUS_MCIP) || !cr4_mce)
			return KVMX_MCE_SHUTDOWN;
		if (bank[1] & KVMX_MCI_STATUS_VAL)
			status |= KVMX_MCI_STATUS_OVER;
		bank[1] = status;
		bank[2] = ev->addr;
		bank[3] = ev->misc;
		m->status = ev->mcg_status;
		return KVMX_MCE_EXCEPTION;
	}
	if ((bank[1] & (KVMX_MCI_STATUS_VAL | KVMX_MCI_STATUS_UC)) ==
	    (KVMX_MCI_STATUS_VAL | KVMX_MCI_STATUS_UC)) {
		bank[1] |= KVMX_MCI_STATUS_OVER;	/* the uncorrected one stays */
		return KVMX_MCE_LOGGED;
	}
	if (bank[1] & KVMX_MCI_STATUS_VAL)
		status |= KVMX_MCI_STATUS_OVER;
	bank[1] = status;
	bank[2] = ev->addr;
	bank[3] = ev->misc;
	return KVMX_MCE_LOGGED;
}

#endif /* KVMX_MCE_H */
