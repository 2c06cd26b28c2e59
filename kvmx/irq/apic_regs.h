/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The local APIC's register rules, as pure code (kvmx/types.h only): the
 * register page layout, vector bitmaps (IRR, ISR, TMR), the processor
 * priority, destination matching, the timer's divider and what each
 * register keeps of a write.  Semantics of KVM's arch/x86/kvm/lapic.c.
 * Unit-tested in tests/unit/irq_test.cc.
 */
#ifndef KVMX_IRQ_APIC_REGS_H
#define KVMX_IRQ_APIC_REGS_H

#include "../types.h"

#define KVMX_APIC_PAGE		0x400	/* struct kvm_lapic_state's size */

/* Register offsets in the xAPIC page (x2APIC MSR = 0x800 + offset / 16). */
#define KVMX_APIC_ID		0x20
#define KVMX_APIC_LVR		0x30
#define KVMX_APIC_TPR		0x80
#define KVMX_APIC_APR		0x90
#define KVMX_APIC_PPR		0xa0
#define KVMX_APIC_EOI		0xb0
#define KVMX_APIC_RRR		0xc0
#define KVMX_APIC_LDR		0xd0
#define KVMX_APIC_DFR		0xe0
#define KVMX_APIC_SPIV		0xf0
#define KVMX_APIC_ISR		0x100
#define KVMX_APIC_TMR		0x180
#define KVMX_APIC_IRR		0x200
#define KVMX_APIC_ESR		0x280
#define KVMX_APIC_LVTCMCI	0x2f0
#define KVMX_APIC_ICR		0x300
#define KVMX_APIC_ICR2		0x310
#define KVMX_APIC_LVTT		0x320
#define KVMX_APIC_LVTTHMR	0x330
#define KVMX_APIC_LVTPC		0x340
#define KVMX_APIC_LVT0		0x350
#define KVMX_APIC_LVT1		0x360
#define KVMX_APIC_LVTERR	0x370
#define KVMX_APIC_TMICT		0x380
#define KVMX_APIC_TMCCT		0x390
#define KVMX_APIC_TDCR		0x3e0
#define KVMX_APIC_SELF_IPI	0x3f0	/* x2APIC only */

/*
 * The version register, as KVM's kvm_apic_set_version() (Linux 6.2, and
 * Debian's 6.1): version 0x14 and the highest LVT entry in 23:16, which is
 * 5 (LVTT, THMR, PC, LINT0, LINT1, ERR) or, for a vCPU whose IA32_MCG_CAP
 * has MCG_CMCI_P (@cmci), 6: the CMCI LVT exists only then.
 */
#define KVMX_APIC_VERSION	0x14
static inline u32 kvmx_apic_version(bool cmci)
{
	return KVMX_APIC_VERSION | ((cmci ? 6u : 5u) << 16);
}

#define KVMX_APIC_LVT_MASKED	KVMX_BIT(16)
#define KVMX_APIC_SPIV_ENABLED	KVMX_BIT(8)
#define KVMX_APIC_DFR_FLAT	0xffffffffu
#define KVMX_APIC_DFR_CLUSTER	0x0fffffffu

/* LVT timer modes, bits 18:17 of LVTT. */
#define KVMX_APIC_TIMER_ONESHOT		0
#define KVMX_APIC_TIMER_PERIODIC	1
#define KVMX_APIC_TIMER_TSCDEADLINE	2

/* ICR and interrupt-message fields. */
#define KVMX_APIC_DM_FIXED	0
#define KVMX_APIC_DM_LOWEST	1
#define KVMX_APIC_DM_SMI	2
#define KVMX_APIC_DM_NMI	4
#define KVMX_APIC_DM_INIT	5
#define KVMX_APIC_DM_SIPI	6
#define KVMX_APIC_DM_EXTINT	7
#define KVMX_APIC_ICR_BUSY	KVMX_BIT(12)
#define KVMX_APIC_ICR_LOGICAL	KVMX_BIT(11)
#define KVMX_APIC_ICR_LEVEL	KVMX_BIT(14)
#define KVMX_APIC_ICR_TRIGGER	KVMX_BIT(15)
#define KVMX_APIC_SH_NONE	0
#define KVMX_APIC_SH_SELF	1
#define KVMX_APIC_SH_ALL	2
#define KVMX_APIC_SH_OTHERS	3

#define KVMX_APIC_BROADCAST	0xffu
#define KVMX_X2APIC_BROADCAST	0xffffffffu

static inline u32 kvmx_apic_get(const u8 *regs, u32 off)
{
	return *(const u32 *)(regs + off);
}

static inline void kvmx_apic_put(u8 *regs, u32 off, u32 val)
{
	*(u32 *)(regs + off) = val;
}

/* The 32-bit word of a 256-bit vector bitmap (IRR, ISR, TMR) holding @vec. */
static inline u32 kvmx_apic_vec_word(u32 base, u8 vec)
{
	return base + (vec >> 5) * 0x10;
}

static inline bool kvmx_apic_test_vec(const u8 *regs, u32 base, u8 vec)
{
	return kvmx_apic_get(regs, kvmx_apic_vec_word(base, vec)) & (1u << (vec & 31));
}

/* The highest vector set in the bitmap at @base, or -1. */
int kvmx_apic_highest_vec(const u8 *regs, u32 base);

/* PPR from TPR and the highest in-service vector (-1: none), as the SDM. */
u32 kvmx_apic_ppr(u32 tpr, int isr_vec);

/*
 * The highest vector of IRR that the processor priority lets through, or
 * -1.  (A vector whose class is not above PPR's waits.)
 */
int kvmx_apic_deliverable_vec(const u8 *regs);

/* Divider of TDCR: 1, 2, 4, ... 128. */
u32 kvmx_apic_timer_divide(u32 tdcr);

/*
 * The bits a write keeps in an LVT register (@off); @tscdeadline: the
 * guest may select the TSC-deadline mode.  0 for other offsets.
 */
u32 kvmx_apic_lvt_mask(u32 off, bool tscdeadline);

/*
 * Whether @off names a register that reads (xAPIC page or x2APIC MSR);
 * @cmci: the CMCI LVT exists (see kvmx_apic_version()).
 */
bool kvmx_apic_readable(u32 off, bool x2apic, bool cmci);

/*
 * The reset values of every register, for the APIC id @id (x2APIC id);
 * the CMCI LVT is masked only where it exists (@cmci), as KVM.
 */
void kvmx_apic_reset(u8 *regs, u32 id, bool cmci);

/*
 * Destination matching (KVM's kvm_apic_match_dest()).  @x2apic: the target
 * is in x2APIC mode; @id: its APIC id (x2APIC id, or the xAPIC id byte);
 * @ldr, @dfr: its logical destination registers; @mda: the message's
 * destination (8 bits in xAPIC messages, 32 in x2APIC).
 */
bool kvmx_apic_match_physical(bool x2apic, u32 id, u32 mda);
bool kvmx_apic_match_logical(bool x2apic, u32 ldr, u32 dfr, u32 mda);

/* The x2APIC logical id KVM derives from the x2APIC id. */
static inline u32 kvmx_x2apic_ldr(u32 id)
{
	return ((id >> 4) << 16) | (1u << (id & 0xf));
}

/* An MSI decoded (KVM's kvm_set_msi_irq()); also an IOAPIC redirection. */
struct kvmx_apic_irq {
	u32 dest;
	u8 vector;
	u8 delivery_mode;
	bool logical;
	bool level;		/* the level bit of an IPI (INIT de-assert) */
	bool trig_level;	/* level-triggered */
	u8 shorthand;
};

void kvmx_msi_decode(u64 address, u32 data, struct kvmx_apic_irq *irq);

#endif /* KVMX_IRQ_APIC_REGS_H */
