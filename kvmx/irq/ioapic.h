/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The IOAPIC (24 pins, MMIO at 0xfec00000), as pure code with the
 * semantics of KVM's arch/x86/kvm/ioapic.c.  Delivery to the LAPICs goes
 * through a callback.  The caller serialises every call (irqchip.c: the
 * irqchip's lock).  Unit-tested in tests/unit/irq_test.cc.
 */
#ifndef KVMX_IRQ_IOAPIC_H
#define KVMX_IRQ_IOAPIC_H

#include "../types.h"
#include "apic_regs.h"

#define KVMX_IOAPIC_PINS	24
#define KVMX_IOAPIC_BASE	0xfec00000ULL
#define KVMX_IOAPIC_SIZE	0x100
#define KVMX_IOAPIC_VERSION	0x11
/*
 * KVM's IOAPIC_SUCCESSIVE_IRQ_MAX_COUNT: a level pin still asserted at this
 * many EOIs in a row is delivered again only later (delay_eoi_inject), so
 * a guest that never quiets its device still makes progress.
 */
#define KVMX_IOAPIC_SUCCESSIVE_EOIS	10000

/* Redirection entry fields. */
#define KVMX_IOAPIC_RTE_LOGICAL		KVMX_BIT(11)
#define KVMX_IOAPIC_RTE_DELIVS		KVMX_BIT(12)
#define KVMX_IOAPIC_RTE_REMOTE_IRR	KVMX_BIT(14)
#define KVMX_IOAPIC_RTE_LEVEL		KVMX_BIT(15)
#define KVMX_IOAPIC_RTE_MASKED		KVMX_BIT(16)

/* The fields of KVM's struct kvm_ioapic_state, in its order. */
struct kvmx_ioapic {
	u64 base_address;
	u32 ioregsel;
	u32 id;
	u32 irr;
	u32 pad;
	u64 redirtbl[KVMX_IOAPIC_PINS];
	/* Not part of the saved state: */
	u32 irr_delivered;
	u32 successive_eois[KVMX_IOAPIC_PINS];	/* KVM's irq_eoi[] */
	/* Delivers to the LAPICs: -1 none matched, else how many took it. */
	int (*deliver)(void *ctx, const struct kvmx_apic_irq *irq);
	/*
	 * An EOI storm: call kvmx_ioapic_eoi_inject() in a while (KVM: 10 ms).
	 * NULL: deliver again at once.
	 */
	void (*delay_eoi_inject)(void *ctx);
	void *ctx;
};

void kvmx_ioapic_reset(struct kvmx_ioapic *ioapic);

/*
 * MMIO at @off within the IOAPIC's page.  As KVM, only offsets 0x00
 * (IOREGSEL) and 0x10 (IOWIN) exactly are registers, for any access size.
 */
u32 kvmx_ioapic_read(struct kvmx_ioapic *ioapic, u32 off);
void kvmx_ioapic_write(struct kvmx_ioapic *ioapic, u32 off, u32 val);

/* Pin @pin to @level; returns as KVM's kvm_ioapic_set_irq(). */
int kvmx_ioapic_set_irq(struct kvmx_ioapic *ioapic, u32 pin, int level);

/* A LAPIC's EOI of a level-triggered @vector: clear Remote IRR, re-deliver. */
void kvmx_ioapic_eoi(struct kvmx_ioapic *ioapic, u8 vector);

/* The delayed re-delivery after an EOI storm: every level pin still asserted. */
void kvmx_ioapic_eoi_inject(struct kvmx_ioapic *ioapic);

/* The interrupt message of pin @pin. */
void kvmx_ioapic_irq_of(const struct kvmx_ioapic *ioapic, u32 pin, struct kvmx_apic_irq *irq);

#endif /* KVMX_IRQ_IOAPIC_H */
