// SPDX-License-Identifier: GPL-2.0
// The irqchip's pure code: LAPIC register rules (kvmx/irq/apic_regs.c),
// the 8259 pair (kvmx/irq/pic.c) and the IOAPIC (kvmx/irq/ioapic.c), with
// the behaviour of KVM's lapic.c, i8259.c and ioapic.c.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstring>
#include <vector>

extern "C" {
#include "irq/apic_regs.h"
#include "irq/ioapic.h"
#include "irq/pic.h"
}

namespace {

struct Regs {
	alignas(16) uint8_t r[KVMX_APIC_PAGE]{};
	void set_vec(uint32_t base, uint8_t v)
	{
		uint32_t off = kvmx_apic_vec_word(base, v);
		kvmx_apic_put(r, off, kvmx_apic_get(r, off) | (1u << (v & 31)));
	}
};

TEST(ApicRegs, HighestVector)
{
	Regs a;
	EXPECT_EQ(kvmx_apic_highest_vec(a.r, KVMX_APIC_IRR), -1);
	a.set_vec(KVMX_APIC_IRR, 0x31);
	a.set_vec(KVMX_APIC_IRR, 0xa0);
	a.set_vec(KVMX_APIC_IRR, 0x20);
	EXPECT_EQ(kvmx_apic_highest_vec(a.r, KVMX_APIC_IRR), 0xa0);
	EXPECT_TRUE(kvmx_apic_test_vec(a.r, KVMX_APIC_IRR, 0x31));
	EXPECT_FALSE(kvmx_apic_test_vec(a.r, KVMX_APIC_ISR, 0x31));
	for (int v = 0; v < 256; v++) {
		Regs b;
		b.set_vec(KVMX_APIC_ISR, v);
		EXPECT_EQ(kvmx_apic_highest_vec(b.r, KVMX_APIC_ISR), v);
	}
}

TEST(ApicRegs, ProcessorPriority)
{
	EXPECT_EQ(kvmx_apic_ppr(0x00, -1), 0x00u);
	EXPECT_EQ(kvmx_apic_ppr(0x35, -1), 0x35u);
	EXPECT_EQ(kvmx_apic_ppr(0x35, 0x41), 0x40u);	// ISR class above TPR's
	EXPECT_EQ(kvmx_apic_ppr(0x45, 0x41), 0x45u);	// same class: TPR
	EXPECT_EQ(kvmx_apic_ppr(0x1ff, 0x20), 0xffu);	// TPR is 8 bits
}

TEST(ApicRegs, DeliverableWaitsForPriorityClass)
{
	Regs a;
	a.set_vec(KVMX_APIC_IRR, 0x55);
	kvmx_apic_put(a.r, KVMX_APIC_PPR, 0x80);
	EXPECT_EQ(kvmx_apic_deliverable_vec(a.r), -1);
	kvmx_apic_put(a.r, KVMX_APIC_PPR, 0x50);	// same class still waits
	EXPECT_EQ(kvmx_apic_deliverable_vec(a.r), -1);
	kvmx_apic_put(a.r, KVMX_APIC_PPR, 0x4f);
	EXPECT_EQ(kvmx_apic_deliverable_vec(a.r), 0x55);
}

TEST(ApicRegs, TimerDivide)
{
	const uint32_t want[8] = {2, 4, 8, 16, 32, 64, 128, 1};
	for (uint32_t i = 0; i < 8; i++) {
		uint32_t tdcr = (i & 3) | ((i & 4) << 1);
		EXPECT_EQ(kvmx_apic_timer_divide(tdcr), want[i]) << tdcr;
		EXPECT_EQ(kvmx_apic_timer_divide(tdcr | 0xfffffff4), want[i]);
	}
}

TEST(ApicRegs, LvtMasks)
{
	// KVM's apic_lvt_mask[] with its timer_mode_mask.
	EXPECT_EQ(kvmx_apic_lvt_mask(KVMX_APIC_LVTT, false), 0x310ffu);
	EXPECT_EQ(kvmx_apic_lvt_mask(KVMX_APIC_LVTT, true), 0x710ffu);
	EXPECT_EQ(kvmx_apic_lvt_mask(KVMX_APIC_LVT0, false), 0x1f7ffu);
	EXPECT_EQ(kvmx_apic_lvt_mask(KVMX_APIC_LVTPC, false), 0x117ffu);
	EXPECT_EQ(kvmx_apic_lvt_mask(KVMX_APIC_LVTERR, false), 0x110ffu);
	EXPECT_EQ(kvmx_apic_lvt_mask(KVMX_APIC_LVTCMCI, false), 0x117ffu);
	EXPECT_EQ(kvmx_apic_lvt_mask(KVMX_APIC_TPR, false), 0u);
}

TEST(ApicRegs, Readable)
{
	EXPECT_TRUE(kvmx_apic_readable(KVMX_APIC_ID, false, false));
	EXPECT_TRUE(kvmx_apic_readable(KVMX_APIC_DFR, false, false));
	EXPECT_FALSE(kvmx_apic_readable(KVMX_APIC_DFR, true, false));
	EXPECT_FALSE(kvmx_apic_readable(KVMX_APIC_ICR2, true, false));
	EXPECT_FALSE(kvmx_apic_readable(KVMX_APIC_EOI, false, false));
	// The CMCI LVT exists only with MCG_CMCI_P (KVM since Linux 6.2).
	EXPECT_FALSE(kvmx_apic_readable(KVMX_APIC_LVTCMCI, false, false));
	EXPECT_FALSE(kvmx_apic_readable(KVMX_APIC_LVTCMCI, true, false));
	EXPECT_TRUE(kvmx_apic_readable(KVMX_APIC_LVTCMCI, false, true));
	EXPECT_TRUE(kvmx_apic_readable(KVMX_APIC_LVTCMCI, true, true));
	EXPECT_TRUE(kvmx_apic_readable(KVMX_APIC_IRR + 0x70, false, false));
	EXPECT_FALSE(kvmx_apic_readable(KVMX_APIC_ID + 4, false, false));	// unaligned
	EXPECT_FALSE(kvmx_apic_readable(0x400, false, false));
	EXPECT_FALSE(kvmx_apic_readable(0xfffffff0, false, false));
}

TEST(ApicRegs, Reset)
{
	Regs a;
	std::memset(a.r, 0xaa, sizeof(a.r));
	kvmx_apic_reset(a.r, 3, false);
	EXPECT_EQ(kvmx_apic_get(a.r, KVMX_APIC_ID), 3u << 24);
	EXPECT_EQ(kvmx_apic_get(a.r, KVMX_APIC_LVR), 0x50014u);	// six LVT entries
	EXPECT_EQ(kvmx_apic_get(a.r, KVMX_APIC_LVTCMCI), 0u);	// none: not masked
	EXPECT_EQ(kvmx_apic_get(a.r, KVMX_APIC_SPIV), 0xffu);
	EXPECT_EQ(kvmx_apic_get(a.r, KVMX_APIC_DFR), 0xffffffffu);
	for (uint32_t off = KVMX_APIC_LVTT; off <= KVMX_APIC_LVTERR; off += 0x10)
		EXPECT_EQ(kvmx_apic_get(a.r, off), 0x10000u);
	EXPECT_EQ(kvmx_apic_highest_vec(a.r, KVMX_APIC_IRR), -1);
}

TEST(ApicRegs, ResetWithCmci)
{
	Regs a;
	std::memset(a.r, 0xaa, sizeof(a.r));
	kvmx_apic_reset(a.r, 0, true);
	EXPECT_EQ(kvmx_apic_get(a.r, KVMX_APIC_LVR), 0x60014u);	// seven: CMCI too
	EXPECT_EQ(kvmx_apic_get(a.r, KVMX_APIC_LVTCMCI), 0x10000u);
	EXPECT_EQ(kvmx_apic_version(false), 0x50014u);
	EXPECT_EQ(kvmx_apic_version(true), 0x60014u);
}

TEST(ApicRegs, PhysicalDestination)
{
	EXPECT_TRUE(kvmx_apic_match_physical(false, 3, 3));
	EXPECT_FALSE(kvmx_apic_match_physical(false, 3, 4));
	EXPECT_TRUE(kvmx_apic_match_physical(false, 3, 0xff));		// broadcast
	EXPECT_FALSE(kvmx_apic_match_physical(true, 3, 0xff));		// not in x2APIC
	EXPECT_TRUE(kvmx_apic_match_physical(true, 300, 300));
	EXPECT_TRUE(kvmx_apic_match_physical(true, 3, 0xffffffff));
}

TEST(ApicRegs, LogicalDestination)
{
	// Flat: bit per APIC.
	EXPECT_TRUE(kvmx_apic_match_logical(false, 0x02000000, KVMX_APIC_DFR_FLAT, 0x06));
	EXPECT_FALSE(kvmx_apic_match_logical(false, 0x02000000, KVMX_APIC_DFR_FLAT, 0x04));
	// Cluster: high nibble cluster, low nibble members.
	EXPECT_TRUE(kvmx_apic_match_logical(false, 0x21000000, KVMX_APIC_DFR_CLUSTER, 0x23));
	EXPECT_FALSE(kvmx_apic_match_logical(false, 0x21000000, KVMX_APIC_DFR_CLUSTER, 0x13));
	EXPECT_TRUE(kvmx_apic_match_logical(false, 0, KVMX_APIC_DFR_CLUSTER, 0xff));
	// x2APIC: cluster in 31:16.
	EXPECT_EQ(kvmx_x2apic_ldr(17), (1u << 16) | 2u);
	EXPECT_TRUE(kvmx_apic_match_logical(true, kvmx_x2apic_ldr(17), 0, (1u << 16) | 6u));
	EXPECT_FALSE(kvmx_apic_match_logical(true, kvmx_x2apic_ldr(17), 0, 6u));
}

TEST(ApicRegs, MsiDecode)
{
	kvmx_apic_irq irq{};
	kvmx_msi_decode(0xfee0300cULL, 0xc141, &irq);
	EXPECT_EQ(irq.dest, 3u);
	EXPECT_TRUE(irq.logical);
	EXPECT_EQ(irq.vector, 0x41);
	EXPECT_EQ(irq.delivery_mode, 1);
	EXPECT_TRUE(irq.trig_level);
}

// ---- PIC ----

void pic_program(kvmx_pic *p, uint8_t base_master, uint8_t base_slave)
{
	kvmx_pic_write(p, 0x20, 0x11);
	kvmx_pic_write(p, 0x21, base_master);
	kvmx_pic_write(p, 0x21, 0x04);
	kvmx_pic_write(p, 0x21, 0x01);
	kvmx_pic_write(p, 0xa0, 0x11);
	kvmx_pic_write(p, 0xa1, base_slave);
	kvmx_pic_write(p, 0xa1, 0x02);
	kvmx_pic_write(p, 0xa1, 0x01);
}

TEST(Pic, EdgeRequestAckEoi)
{
	kvmx_pic p;
	kvmx_pic_init(&p);
	pic_program(&p, 0x20, 0x28);
	EXPECT_FALSE(p.output);
	EXPECT_EQ(kvmx_pic_set_irq(&p, 3, 1), 1);
	EXPECT_TRUE(p.output);
	// Still high: no new edge, but KVM's pic_set_irq1() answers 1 then.
	EXPECT_EQ(kvmx_pic_set_irq(&p, 3, 1), 1);
	EXPECT_EQ(p.chip[0].irr, 0x08);
	EXPECT_EQ(kvmx_pic_read_irq(&p), 0x23);
	EXPECT_FALSE(p.output);
	kvmx_pic_write(&p, 0x20, 0x0b);			// read ISR
	EXPECT_EQ(kvmx_pic_read(&p, 0x20), 0x08);
	kvmx_pic_write(&p, 0x20, 0x20);			// EOI
	EXPECT_EQ(kvmx_pic_read(&p, 0x20), 0x00);
	kvmx_pic_set_irq(&p, 3, 0);
	EXPECT_FALSE(p.output);
}

// The pins KVM's pic_clear_isr() would report to its ack notifiers (the
// PIT's reinjection): EOIs, auto-EOI, poll, and ICW1 with an edge pending.
TEST(Pic, AckedPins)
{
	kvmx_pic p;
	kvmx_pic_init(&p);
	pic_program(&p, 0x20, 0x28);
	kvmx_pic_set_irq(&p, 0, 1);
	kvmx_pic_set_irq(&p, 0, 0);
	EXPECT_EQ(kvmx_pic_read_irq(&p), 0x20);
	EXPECT_EQ(p.acked, 0);				// in service, not acked yet
	kvmx_pic_write(&p, 0x20, 0x20);			// non-specific EOI
	EXPECT_EQ(p.acked, 0x0001);
	p.acked = 0;
	kvmx_pic_set_irq(&p, 10, 1);			// slave pin 2
	EXPECT_EQ(kvmx_pic_read_irq(&p), 0x2a);
	kvmx_pic_write(&p, 0xa0, 0x62);			// specific EOI of slave IRQ 2
	EXPECT_EQ(p.acked, 0x0400);
	p.acked = 0;
	kvmx_pic_set_irq(&p, 10, 0);
	kvmx_pic_set_irq(&p, 1, 1);
	kvmx_pic_write(&p, 0x20, 0x0c);			// poll
	EXPECT_EQ(kvmx_pic_read(&p, 0x20), 0x81);
	EXPECT_EQ(p.acked, 0x0002);
	p.acked = 0;
	kvmx_pic_set_irq(&p, 1, 0);
	kvmx_pic_set_irq(&p, 4, 1);			// an edge pending at ICW1
	kvmx_pic_write(&p, 0x20, 0x11);
	EXPECT_EQ(p.acked, 0x0010);
	p.acked = 0;
	kvmx_pic_init(&p);				// auto-EOI (ICW4 bit 1)
	kvmx_pic_write(&p, 0x20, 0x11);
	kvmx_pic_write(&p, 0x21, 0x20);
	kvmx_pic_write(&p, 0x21, 0x04);
	kvmx_pic_write(&p, 0x21, 0x03);
	kvmx_pic_write(&p, 0x21, 0x00);
	kvmx_pic_set_irq(&p, 0, 1);
	EXPECT_EQ(kvmx_pic_read_irq(&p), 0x20);
	EXPECT_EQ(p.acked, 0x0001);
	EXPECT_EQ(p.chip[0].isr, 0);
}

TEST(Pic, MaskedAndPriority)
{
	kvmx_pic p;
	kvmx_pic_init(&p);
	pic_program(&p, 0x20, 0x28);
	kvmx_pic_write(&p, 0x21, 0x02);			// mask IRQ 1
	EXPECT_EQ(kvmx_pic_set_irq(&p, 1, 1), -1);
	EXPECT_FALSE(p.output);
	kvmx_pic_set_irq(&p, 5, 1);
	kvmx_pic_set_irq(&p, 4, 1);
	EXPECT_EQ(kvmx_pic_read_irq(&p), 0x24);		// lower IRQ first
	// IRQ 5 waits while 4 is in service (fully nested).
	EXPECT_FALSE(p.output);
	kvmx_pic_write(&p, 0x20, 0x20);
	EXPECT_TRUE(p.output);
	EXPECT_EQ(kvmx_pic_read_irq(&p), 0x25);
}

TEST(Pic, SlaveCascade)
{
	kvmx_pic p;
	kvmx_pic_init(&p);
	pic_program(&p, 0x20, 0x28);
	EXPECT_EQ(kvmx_pic_set_irq(&p, 10, 1), 1);
	EXPECT_TRUE(p.output);
	EXPECT_EQ(kvmx_pic_read_irq(&p), 0x2a);
	EXPECT_EQ(p.chip[1].isr, 0x04);
	EXPECT_EQ(p.chip[0].isr, 0x04);			// IRQ 2 on the master
}

TEST(Pic, SpuriousAndElcr)
{
	kvmx_pic p;
	kvmx_pic_init(&p);
	pic_program(&p, 0x20, 0x28);
	EXPECT_EQ(kvmx_pic_read_irq(&p), 0x27);		// nothing pending: IRQ 7
	kvmx_pic_write(&p, 0x4d0, 0xff);
	EXPECT_EQ(kvmx_pic_read(&p, 0x4d0), 0xf8);	// IRQs 0-2 are edge only
	kvmx_pic_write(&p, 0x4d1, 0xff);
	EXPECT_EQ(kvmx_pic_read(&p, 0x4d1), 0xde);
	// A level-triggered request stays in IRR when acknowledged.
	kvmx_pic_set_irq(&p, 5, 1);
	kvmx_pic_read_irq(&p);
	EXPECT_EQ(p.chip[0].irr & 0x20, 0x20);
	EXPECT_EQ(kvmx_pic_read(&p, 0x99), 0xff);	// not a PIC port
}

TEST(Pic, AnyStateAnyWrite)
{
	// Whatever state user space loads, port accesses stay defined.
	kvmx_pic p;
	std::memset(&p, 0xff, sizeof(p));
	for (int i = 0; i < 2000; i++) {
		uint16_t ports[] = {0x20, 0x21, 0xa0, 0xa1, 0x4d0, 0x4d1};
		uint16_t port = ports[i % 6];
		kvmx_pic_write(&p, port, (uint8_t)(i * 37));
		kvmx_pic_read(&p, port);
		kvmx_pic_set_irq(&p, i % 17, i & 1);
		kvmx_pic_read_irq(&p);
	}
	SUCCEED();
}

// ---- IOAPIC ----

struct Sink {
	std::vector<kvmx_apic_irq> got;
	int answer = 1;
};

int deliver(void *ctx, const kvmx_apic_irq *irq)
{
	auto *s = static_cast<Sink *>(ctx);
	s->got.push_back(*irq);
	return s->answer;
}

struct Ioapic {
	kvmx_ioapic io{};
	Sink sink;
	Ioapic()
	{
		kvmx_ioapic_reset(&io);
		io.deliver = deliver;
		io.ctx = &sink;
	}
	void rte(uint32_t pin, uint64_t v)
	{
		kvmx_ioapic_write(&io, 0, 0x10 + 2 * pin);
		kvmx_ioapic_write(&io, 0x10, (uint32_t)v);
		kvmx_ioapic_write(&io, 0, 0x11 + 2 * pin);
		kvmx_ioapic_write(&io, 0x10, v >> 32);
	}
	uint64_t rte(uint32_t pin)
	{
		kvmx_ioapic_write(&io, 0, 0x10 + 2 * pin);
		uint64_t lo = kvmx_ioapic_read(&io, 0x10);
		kvmx_ioapic_write(&io, 0, 0x11 + 2 * pin);
		return lo | (uint64_t)kvmx_ioapic_read(&io, 0x10) << 32;
	}
};

TEST(Ioapic, ResetAndVersion)
{
	Ioapic a;
	kvmx_ioapic_write(&a.io, 0, 1);
	EXPECT_EQ(kvmx_ioapic_read(&a.io, 0x10), 0x170011u);
	for (uint32_t pin = 0; pin < 24; pin++)
		EXPECT_EQ(a.rte(pin), KVMX_IOAPIC_RTE_MASKED);
	EXPECT_EQ(kvmx_ioapic_set_irq(&a.io, 4, 1), -1);	// masked
	EXPECT_TRUE(a.sink.got.empty());
	kvmx_ioapic_write(&a.io, 0, 0x10 + 2 * 24);		// past the last pin
	EXPECT_EQ(kvmx_ioapic_read(&a.io, 0x10), 0xffffffffu);
}

TEST(Ioapic, EdgeDelivery)
{
	Ioapic a;
	a.rte(5, 0x0300000000000070ULL);
	EXPECT_EQ(kvmx_ioapic_set_irq(&a.io, 5, 1), 1);
	ASSERT_EQ(a.sink.got.size(), 1u);
	EXPECT_EQ(a.sink.got[0].vector, 0x70);
	EXPECT_EQ(a.sink.got[0].dest, 3u);
	EXPECT_FALSE(a.sink.got[0].trig_level);
	EXPECT_EQ(kvmx_ioapic_set_irq(&a.io, 5, 1), 0);		// no edge: coalesced
	kvmx_ioapic_set_irq(&a.io, 5, 0);
	EXPECT_EQ(kvmx_ioapic_set_irq(&a.io, 5, 1), 1);
	EXPECT_EQ(a.sink.got.size(), 2u);
}

TEST(Ioapic, LevelRemoteIrrAndEoi)
{
	Ioapic a;
	a.rte(6, 0x71 | KVMX_IOAPIC_RTE_LEVEL);
	EXPECT_EQ(kvmx_ioapic_set_irq(&a.io, 6, 1), 1);
	EXPECT_TRUE(a.rte(6) & KVMX_IOAPIC_RTE_REMOTE_IRR);
	EXPECT_EQ(kvmx_ioapic_set_irq(&a.io, 6, 1), -1);	// waits for the EOI
	EXPECT_EQ(a.sink.got.size(), 1u);
	kvmx_ioapic_eoi(&a.io, 0x71);				// still high: again
	EXPECT_EQ(a.sink.got.size(), 2u);
	kvmx_ioapic_set_irq(&a.io, 6, 0);
	kvmx_ioapic_eoi(&a.io, 0x71);
	EXPECT_FALSE(a.rte(6) & KVMX_IOAPIC_RTE_REMOTE_IRR);
	EXPECT_EQ(a.sink.got.size(), 2u);
	// Remote IRR is read-only, and clears when the pin becomes edge.
	a.rte(6, 0x71 | KVMX_IOAPIC_RTE_LEVEL);
	kvmx_ioapic_set_irq(&a.io, 6, 1);
	a.rte(6, 0x71 | KVMX_IOAPIC_RTE_LEVEL | KVMX_IOAPIC_RTE_MASKED);
	EXPECT_TRUE(a.rte(6) & KVMX_IOAPIC_RTE_REMOTE_IRR);
	a.rte(6, 0x71);
	EXPECT_FALSE(a.rte(6) & KVMX_IOAPIC_RTE_REMOTE_IRR);
}

TEST(Ioapic, UnmaskingAPendingLevelDelivers)
{
	Ioapic a;
	a.rte(7, 0x72 | KVMX_IOAPIC_RTE_LEVEL | KVMX_IOAPIC_RTE_MASKED);
	EXPECT_EQ(kvmx_ioapic_set_irq(&a.io, 7, 1), -1);
	EXPECT_TRUE(a.sink.got.empty());
	a.rte(7, 0x72 | KVMX_IOAPIC_RTE_LEVEL);
	EXPECT_EQ(a.sink.got.size(), 1u);
}

TEST(Ioapic, NoDestination)
{
	Ioapic a;
	a.sink.answer = -1;
	a.rte(5, 0x70);
	EXPECT_EQ(kvmx_ioapic_set_irq(&a.io, 5, 1), -1);
	EXPECT_TRUE(a.io.irr & (1u << 5));			// stays pending
	EXPECT_EQ(kvmx_ioapic_set_irq(&a.io, 30, 1), -1);	// no such pin
}

int delayed_injections;

TEST(Ioapic, EoiStormIsDelayed)
{
	// KVM: a level pin still asserted at 10000 EOIs in a row is delivered
	// again only later, so that a guest that never quiets it progresses.
	Ioapic a;
	delayed_injections = 0;
	a.io.delay_eoi_inject = [](void *) { delayed_injections++; };
	a.rte(6, 0x71 | KVMX_IOAPIC_RTE_LEVEL);
	EXPECT_EQ(kvmx_ioapic_set_irq(&a.io, 6, 1), 1);
	for (int i = 1; i < KVMX_IOAPIC_SUCCESSIVE_EOIS; i++)
		kvmx_ioapic_eoi(&a.io, 0x71);
	EXPECT_EQ(a.sink.got.size(), size_t(KVMX_IOAPIC_SUCCESSIVE_EOIS));
	EXPECT_EQ(delayed_injections, 0);
	kvmx_ioapic_eoi(&a.io, 0x71);				// the 10000th
	EXPECT_EQ(a.sink.got.size(), size_t(KVMX_IOAPIC_SUCCESSIVE_EOIS));
	EXPECT_EQ(delayed_injections, 1);
	EXPECT_FALSE(a.rte(6) & KVMX_IOAPIC_RTE_REMOTE_IRR);
	kvmx_ioapic_eoi_inject(&a.io);				// 10 ms later
	EXPECT_EQ(a.sink.got.size(), size_t(KVMX_IOAPIC_SUCCESSIVE_EOIS) + 1);
	// The count starts again; an EOI with the line low resets it.
	kvmx_ioapic_set_irq(&a.io, 6, 0);
	kvmx_ioapic_eoi(&a.io, 0x71);
	EXPECT_EQ(a.io.successive_eois[6], 0u);
	EXPECT_EQ(delayed_injections, 1);
}

TEST(Ioapic, OnlyExactRegisterOffsets)
{
	// As KVM: 0x11 or 0x02 are no registers.
	Ioapic a;
	kvmx_ioapic_write(&a.io, 0, 1);
	kvmx_ioapic_write(&a.io, 0x02, 0x10);
	kvmx_ioapic_write(&a.io, 0x11, 0);
	EXPECT_EQ(kvmx_ioapic_read(&a.io, 0), 1u);
	EXPECT_EQ(kvmx_ioapic_read(&a.io, 0x11), 0u);
	EXPECT_EQ(kvmx_ioapic_read(&a.io, 0x10), 0x170011u);
}

TEST(Ioapic, AnyStateAnyAccess)
{
	// KVM_SET_IRQCHIP may load any bytes; every access stays defined.
	Ioapic a;
	std::memset(&a.io, 0xff, offsetof(kvmx_ioapic, irr_delivered));
	for (uint32_t i = 0; i < 3000; i++) {
		kvmx_ioapic_write(&a.io, (i % 3) * 0x10, i * 2654435761u);
		kvmx_ioapic_read(&a.io, (i % 5) * 0x10);
		kvmx_ioapic_set_irq(&a.io, i % 26, i & 1);
		kvmx_ioapic_eoi(&a.io, (uint8_t)i);
	}
	SUCCEED();
}

} // namespace
