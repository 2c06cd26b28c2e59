// SPDX-License-Identifier: GPL-2.0
/*
 * The IOAPIC; see ioapic.h.  Pure code: includes only kvmx/types.h.
 */
#include "ioapic.h"

void kvmx_ioapic_reset(struct kvmx_ioapic *ioapic)
{
	int i;

	ioapic->base_address = KVMX_IOAPIC_BASE;
	ioapic->ioregsel = 0;
	ioapic->id = 0;
	ioapic->irr = 0;
	ioapic->pad = 0;
	ioapic->irr_delivered = 0;
	for (i = 0; i < KVMX_IOAPIC_PINS; i++) {
		ioapic->redirtbl[i] = KVMX_IOAPIC_RTE_MASKED;
		ioapic->successive_eois[i] = 0;
	}
}

void kvmx_ioapic_irq_of(const struct kvmx_ioapic *ioapic, u32 pin, struct kvmx_apic_irq *irq)
{
	u64 e = ioapic->redirtbl[pin];

	irq->dest = e >> 56;
	irq->vector = e & 0xff;
	irq->delivery_mode = (e >> 8) & 7;
	irq->logical = e & KVMX_IOAPIC_RTE_LOGICAL;
	irq->trig_level = e & KVMX_IOAPIC_RTE_LEVEL;
	irq->level = true;
	irq->shorthand = KVMX_APIC_SH_NONE;
}

/* KVM's ioapic_service(): -1 masked or waiting for an EOI, else delivered. */
static int service(struct kvmx_ioapic *ioapic, u32 pin)
{
	u64 *e = &ioapic->redirtbl[pin];
	struct kvmx_apic_irq irq;
	int ret;

	if ((*e & KVMX_IOAPIC_RTE_MASKED) ||
	    ((*e & KVMX_IOAPIC_RTE_LEVEL) && (*e & KVMX_IOAPIC_RTE_REMOTE_IRR)))
		return -1;
	kvmx_ioapic_irq_of(ioapic, pin, &irq);
	if (!irq.trig_level)
		ioapic->irr_delivered |= 1u << pin;
	ret = ioapic->deliver(ioapic->ctx, &irq);
	if (ret && irq.trig_level)
		*e |= KVMX_IOAPIC_RTE_REMOTE_IRR;
	return ret;
}

int kvmx_ioapic_set_irq(struct kvmx_ioapic *ioapic, u32 pin, int level)
{
	u32 mask = 1u << pin, old_irr;
	bool edge;

	if (pin >= KVMX_IOAPIC_PINS)
		return -1;
	edge = !(ioapic->redirtbl[pin] & KVMX_IOAPIC_RTE_LEVEL);
	if (!level) {
		ioapic->irr &= ~mask;
		return 1;
	}
	old_irr = ioapic->irr;
	ioapic->irr |= mask;
	if (edge) {
		ioapic->irr_delivered &= ~mask;
		if (old_irr == ioapic->irr)
			return 0;
	}
	return service(ioapic, pin);
}

void kvmx_ioapic_eoi(struct kvmx_ioapic *ioapic, u8 vector)
{
	u32 i;

	for (i = 0; i < KVMX_IOAPIC_PINS; i++) {
		u64 *e = &ioapic->redirtbl[i];

		if ((*e & 0xff) != vector || !(*e & KVMX_IOAPIC_RTE_LEVEL))
			continue;
		*e &= ~KVMX_IOAPIC_RTE_REMOTE_IRR;
		if ((*e & KVMX_IOAPIC_RTE_MASKED) || !(ioapic->irr & (1u << i))) {
			ioapic->successive_eois[i] = 0;
			continue;
		}
		/* KVM's kvm_ioapic_update_eoi_one(): an EOI storm waits a while. */
		if (++ioapic->successive_eois[i] >= KVMX_IOAPIC_SUCCESSIVE_EOIS &&
		    ioapic->delay_eoi_inject) {
			ioapic->successive_eois[i] = 0;
			ioapic->delay_eoi_inject(ioapic->ctx);
			continue;
		}
		service(ioapic, i);
	}
}

void kvmx_ioapic_eoi_inject(struct kvmx_ioapic *ioapic)
{
	u32 i;

	for (i = 0; i < KVMX_IOAPIC_PINS; i++) {
		u64 e = ioapic->redirtbl[i];

		if ((e & KVMX_IOAPIC_RTE_LEVEL) && (ioapic->irr & (1u << i)) &&
		    !(e & KVMX_IOAPIC_RTE_REMOTE_IRR))
			service(ioapic, i);
	}
}

static u32 read_indirect(const struct kvmx_ioapic *ioapic)
{
	u32 sel = ioapic->ioregsel, index;
	u64 e = ~0ULL;

	switch (sel) {
	case 0x01:	/* version */
		return ((KVMX_IOAPIC_PINS - 1) << 16) | KVMX_IOAPIC_VERSION;
	case 0x00:	/* id */
	case 0x02:	/* arbitration id */
		return (ioapic->id & 0xf) << 24;
	default:
		index = (sel - 0x10) >> 1;
		if (sel >= 0x10 && index < KVMX_IOAPIC_PINS)
			e = ioapic->redirtbl[index];
		return (sel & 1) ? e >> 32 : (u32)e;
	}
}

static void write_indirect(struct kvmx_ioapic *ioapic, u32 val)
{
	const u64 keep = KVMX_IOAPIC_RTE_REMOTE_IRR | KVMX_IOAPIC_RTE_DELIVS;
	u32 sel = ioapic->ioregsel, index;
	u64 *e, old;

	switch (sel) {
	case 0x01:
	case 0x02:
		return;
	case 0x00:
		ioapic->id = (val >> 24) & 0xf;
		return;
	}
	index = (sel - 0x10) >> 1;
	if (sel < 0x10 || index >= KVMX_IOAPIC_PINS)
		return;
	e = &ioapic->redirtbl[index];
	old = *e;
	if (sel & 1)
		*e = (*e & 0xffffffffULL) | ((u64)val << 32);
	else
		*e = (*e & ~0xffffffffULL) | val;
	*e = (*e & ~keep) | (old & keep);
	/* Linux and Xen expect Remote IRR cleared when a pin becomes edge. */
	if (!(*e & KVMX_IOAPIC_RTE_LEVEL))
		*e &= ~KVMX_IOAPIC_RTE_REMOTE_IRR;
	if ((*e & KVMX_IOAPIC_RTE_LEVEL) && (ioapic->irr & (1u << index)) &&
	    !(*e & (KVMX_IOAPIC_RTE_MASKED | KVMX_IOAPIC_RTE_REMOTE_IRR)))
		service(ioapic, index);
}

u32 kvmx_ioapic_read(struct kvmx_ioapic *ioapic, u32 off)
{
	switch (off) {
	case 0x00:
		return ioapic->ioregsel;
	case 0x10:
		return read_indirect(ioapic);
	default:
		return 0;
	}
}

void kvmx_ioapic_write(struct kvmx_ioapic *ioapic, u32 off, u32 val)
{
	switch (off) {
	case 0x00:
		ioapic->ioregsel = val & 0xff;
		break;
	case 0x10:
		write_indirect(ioapic, val);
		break;
	default:
		break;
	}
}
