// SPDX-License-Identifier: GPL-2.0
/*
 * The local APIC's register rules; see apic_regs.h.  Pure code: it
 * includes only kvmx/types.h, so it compiles into kvmx.ko and into the
 * unit tests alike.
 */
#include "apic_regs.h"

int kvmx_apic_highest_vec(const u8 *regs, u32 base)
{
	int w, b;

	for (w = 7; w >= 0; w--) {
		u32 v = kvmx_apic_get(regs, base + w * 0x10);

		if (!v)
			continue;
		for (b = 31; b >= 0; b--)
			if (v & (1u << b))
				return w * 32 + b;
	}
	return -1;
}

u32 kvmx_apic_ppr(u32 tpr, int isr_vec)
{
	u32 isrv = isr_vec < 0 ? 0 : (u32)isr_vec;

	tpr &= 0xff;
	if ((tpr & 0xf0) >= (isrv & 0xf0))
		return tpr;
	return isrv & 0xf0;
}

int kvmx_apic_deliverable_vec(const u8 *regs)
{
	int vec = kvmx_apic_highest_vec(regs, KVMX_APIC_IRR);
	u32 ppr = kvmx_apic_get(regs, KVMX_APIC_PPR);

	if (vec < 0 || ((u32)vec & 0xf0) <= (ppr & 0xf0))
		return -1;
	return vec;
}

u32 kvmx_apic_timer_divide(u32 tdcr)
{
	u32 shift = ((tdcr & 3) | ((tdcr & 8) >> 1)) + 1;

	return 1u << (shift & 7);
}

u32 kvmx_apic_lvt_mask(u32 off, bool tscdeadline)
{
	/* KVM's LVT_MASK: masked, delivery status, vector. */
	const u32 lvt = KVMX_APIC_LVT_MASKED | KVMX_APIC_ICR_BUSY | 0xff;

	switch (off) {
	case KVMX_APIC_LVTT:
		return lvt | (tscdeadline ? 3u << 17 : 1u << 17);
	case KVMX_APIC_LVTTHMR:
	case KVMX_APIC_LVTPC:
	case KVMX_APIC_LVTCMCI:
		return lvt | 0x700;			/* and delivery mode */
	case KVMX_APIC_LVT0:
	case KVMX_APIC_LVT1:
		return lvt | 0x700 | 0xe000;	/* and polarity, remote IRR, trigger */
	case KVMX_APIC_LVTERR:
		return lvt;
	default:
		return 0;
	}
}

bool kvmx_apic_readable(u32 off, bool x2apic, bool cmci)
{
	if (off & 0xf || off >= KVMX_APIC_PAGE)
		return false;
	switch (off) {
	case KVMX_APIC_ID:
	case KVMX_APIC_LVR:
	case KVMX_APIC_TPR:
	case KVMX_APIC_PPR:
	case KVMX_APIC_LDR:
	case KVMX_APIC_SPIV:
	case KVMX_APIC_ESR:
	case KVMX_APIC_ICR:
	case KVMX_APIC_LVTT:
	case KVMX_APIC_LVTTHMR:
	case KVMX_APIC_LVTPC:
	case KVMX_APIC_LVT0:
	case KVMX_APIC_LVT1:
	case KVMX_APIC_LVTERR:
	case KVMX_APIC_TMICT:
	case KVMX_APIC_TMCCT:
	case KVMX_APIC_TDCR:
		return true;
	case KVMX_APIC_LVTCMCI:
		return cmci;
	case KVMX_APIC_APR:
	case KVMX_APIC_DFR:
	case KVMX_APIC_ICR2:
		return !x2apic;
	default:
		/* ISR, TMR, IRR: eight registers each. */
		return off >= KVMX_APIC_ISR && off < KVMX_APIC_ESR;
	}
}

void kvmx_apic_reset(u8 *regs, u32 id, bool cmci)
{
	u32 off;

	for (off = 0; off < KVMX_APIC_PAGE; off += 4)
		kvmx_apic_put(regs, off, 0);
	kvmx_apic_put(regs, KVMX_APIC_ID, id << 24);
	kvmx_apic_put(regs, KVMX_APIC_LVR, kvmx_apic_version(cmci));
	kvmx_apic_put(regs, KVMX_APIC_DFR, KVMX_APIC_DFR_FLAT);
	kvmx_apic_put(regs, KVMX_APIC_SPIV, 0xff);
	for (off = KVMX_APIC_LVTT; off <= KVMX_APIC_LVTERR; off += 0x10)
		kvmx_apic_put(regs, off, KVMX_APIC_LVT_MASKED);
	if (cmci)
		kvmx_apic_put(regs, KVMX_APIC_LVTCMCI, KVMX_APIC_LVT_MASKED);
}

bool kvmx_apic_match_physical(bool x2apic, u32 id, u32 mda)
{
	if (mda == (x2apic ? KVMX_X2APIC_BROADCAST : KVMX_APIC_BROADCAST))
		return true;
	if (x2apic || mda > 0xff)
		return x2apic && mda == id;
	return mda == (id & 0xff);
}

bool kvmx_apic_match_logical(bool x2apic, u32 ldr, u32 dfr, u32 mda)
{
	u32 logical;

	if (mda == (x2apic ? KVMX_X2APIC_BROADCAST : KVMX_APIC_BROADCAST))
		return true;
	if (x2apic)
		return (ldr >> 16) == (mda >> 16) && (ldr & mda & 0xffff);
	logical = ldr >> 24;
	mda &= 0xff;
	switch (dfr) {
	case KVMX_APIC_DFR_FLAT:
		return logical & mda;
	case KVMX_APIC_DFR_CLUSTER:
		return (logical >> 4) == (mda >> 4) && (logical & mda & 0xf);
	default:
		return false;
	}
}

void kvmx_msi_decode(u64 address, u32 data, struct kvmx_apic_irq *irq)
{
	irq->dest = (address >> 12) & 0xff;
	irq->logical = address & KVMX_BIT(2);
	irq->vector = data & 0xff;
	irq->delivery_mode = (data >> 8) & 7;
	irq->level = true;
	irq->trig_level = data & KVMX_BIT(15);
	irq->shorthand = KVMX_APIC_SH_NONE;
}
