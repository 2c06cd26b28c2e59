// SPDX-License-Identifier: GPL-2.0
// The 8254 PIT's registers (kvmx/irq/pit_regs.c), with the behaviour of
// KVM's arch/x86/kvm/i8254.c: the modes' counter and OUT, the control
// word, LSB/MSB/word accesses, the counter latch, read-back and port 0x61.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <random>

extern "C" {
#include "irq/pit_regs.h"
}

namespace {

constexpr uint64_t kNone[3] = {0, 0, 0};

struct Pit {
	kvmx_pit_regs p{};
	Pit()
	{
		kvmx_pit_reset(&p);
		for (auto &c : p.ch)
			c.count = 0x10000;	// what loading 0 gives
	}
	int out(uint32_t addr, uint8_t v, const uint64_t d[3] = kNone)
	{
		return kvmx_pit_write(&p, addr, v, d);
	}
	uint8_t in(uint32_t addr, uint64_t d = 0) { return kvmx_pit_read(&p, addr, d); }
};

TEST(Pit, TicksAndNanoseconds)
{
	EXPECT_EQ(kvmx_pit_ns_to_ticks(1000000000ULL), 1193181u);
	EXPECT_EQ(kvmx_pit_ticks_to_ns(1193181), 1000000000ULL);
	EXPECT_EQ(kvmx_pit_ticks_to_ns(0x10000), 54925447ULL);	// 65536e9 / 1193181
	std::mt19937_64 rng(1);
	for (int i = 0; i < 100000; i++) {
		uint64_t ns = rng() >> (rng() % 64);
		unsigned __int128 want = (unsigned __int128)ns * 1193181 / 1000000000;
		ASSERT_EQ(kvmx_pit_ns_to_ticks(ns), (uint64_t)want) << ns;
		uint64_t t = rng() >> 32;
		ASSERT_EQ(kvmx_pit_ticks_to_ns(t),
			  (uint64_t)((unsigned __int128)t * 1000000000 / 1193181))
			<< t;
	}
}

TEST(Pit, ResetState)
{
	kvmx_pit_regs p;
	memset(&p, 0x5a, sizeof(p));
	kvmx_pit_reset(&p);
	EXPECT_EQ(p.flags, 0u);
	for (int i = 0; i < 3; i++) {
		EXPECT_EQ(p.ch[i].mode, 0xff);
		EXPECT_EQ(p.ch[i].gate, i != 2);
	}
}

TEST(Pit, CounterAndOutPerMode)
{
	kvmx_pit_channel c{};
	c.count = 100;
	c.mode = 0;	// interrupt on terminal count: wraps, OUT stays high
	EXPECT_EQ(kvmx_pit_counter(&c, 0), 100u);
	EXPECT_EQ(kvmx_pit_counter(&c, 30), 70u);
	EXPECT_EQ(kvmx_pit_counter(&c, 101), 0xffffu);
	EXPECT_FALSE(kvmx_pit_out(&c, 99));
	EXPECT_TRUE(kvmx_pit_out(&c, 100));
	EXPECT_TRUE(kvmx_pit_out(&c, 5000));
	c.mode = 1;	// one-shot: OUT low until terminal count
	EXPECT_TRUE(kvmx_pit_out(&c, 99));
	EXPECT_FALSE(kvmx_pit_out(&c, 100));
	c.mode = 2;	// rate generator: reloads, OUT pulses at each multiple
	EXPECT_EQ(kvmx_pit_counter(&c, 30), 70u);
	EXPECT_EQ(kvmx_pit_counter(&c, 130), 70u);
	EXPECT_EQ(kvmx_pit_counter(&c, 200), 100u);
	EXPECT_FALSE(kvmx_pit_out(&c, 0));
	EXPECT_TRUE(kvmx_pit_out(&c, 200));
	EXPECT_FALSE(kvmx_pit_out(&c, 201));
	c.mode = 3;	// square wave: counts by two, OUT high the first half
	EXPECT_EQ(kvmx_pit_counter(&c, 10), 80u);
	EXPECT_EQ(kvmx_pit_counter(&c, 60), 80u);
	EXPECT_TRUE(kvmx_pit_out(&c, 49));
	EXPECT_FALSE(kvmx_pit_out(&c, 50));
	EXPECT_TRUE(kvmx_pit_out(&c, 100));
	c.mode = 4;	// software strobe: OUT at exactly the count
	EXPECT_FALSE(kvmx_pit_out(&c, 99));
	EXPECT_TRUE(kvmx_pit_out(&c, 100));
	EXPECT_FALSE(kvmx_pit_out(&c, 101));
	EXPECT_EQ(kvmx_pit_counter(&c, 101), 0xffffu);
	c.mode = 5;
	EXPECT_TRUE(kvmx_pit_out(&c, 100));
	c.mode = 0xff;	// reset state: KVM's default branches (mode 2's counter, mode 0's OUT)
	EXPECT_EQ(kvmx_pit_counter(&c, 130), 70u);
	EXPECT_TRUE(kvmx_pit_out(&c, 100));
	c.count = 0;	// only user space can leave 0: no division by zero
	c.mode = 2;
	EXPECT_EQ(kvmx_pit_counter(&c, 5), uint32_t(0 - 5));
	c.mode = 3;
	EXPECT_FALSE(kvmx_pit_out(&c, 5));
}

TEST(Pit, ControlWordAndWordWrite)
{
	Pit t;
	EXPECT_EQ(t.out(3, 0x34), -1);		// ch 0, LSB then MSB, mode 2, binary
	EXPECT_EQ(t.p.ch[0].mode, 2);
	EXPECT_EQ(t.p.ch[0].rw_mode, KVMX_PIT_RW_WORD0);
	EXPECT_EQ(t.out(0, 0x9c), -1);		// the LSB waits for its MSB
	EXPECT_EQ(t.p.ch[0].write_state, KVMX_PIT_RW_WORD1);
	EXPECT_EQ(t.out(0, 0x2e), 0);		// loaded: 0x2e9c
	EXPECT_EQ(t.p.ch[0].count, 0x2e9cu);
	EXPECT_EQ(t.p.ch[0].write_state, KVMX_PIT_RW_WORD0);
	EXPECT_EQ(t.out(0, 0), -1);
	EXPECT_EQ(t.out(0, 0), 0);		// 0 is 0x10000
	EXPECT_EQ(t.p.ch[0].count, 0x10000u);
	EXPECT_EQ(t.out(3, 0xa0 | (7 << 1) | 1), -1);	// ch 2, MSB only, mode 7 is 3, BCD
	EXPECT_EQ(t.p.ch[2].mode, 3);
	EXPECT_EQ(t.p.ch[2].bcd, 1);
	EXPECT_EQ(t.out(2, 0x12), 2);
	EXPECT_EQ(t.p.ch[2].count, 0x1200u);
	EXPECT_EQ(t.out(3, 0x50 | (6 << 1)), -1);	// ch 1, LSB only, mode 6 is 2
	EXPECT_EQ(t.p.ch[1].mode, 2);
	EXPECT_EQ(t.out(1, 0x12), 1);
	EXPECT_EQ(t.p.ch[1].count, 0x12u);
}

TEST(Pit, LiveReadsFollowTheAccessMode)
{
	Pit t;
	t.out(3, 0x34);
	t.out(0, 0x00);
	t.out(0, 0x10);				// 0x1000, mode 2
	EXPECT_EQ(t.in(0, 0x10), 0xf0);		// LSB of 0x0ff0
	EXPECT_EQ(t.in(0, 0x20), 0x0f);		// MSB of 0x0fe0: live, not latched
	EXPECT_EQ(t.in(0, 0x10), 0xf0);		// back to the LSB
	t.out(3, 0x24);				// ch 0, MSB only
	EXPECT_EQ(t.in(0, 0x100), 0x0f);
	EXPECT_EQ(t.in(0, 0x100), 0x0f);
}

TEST(Pit, LatchHoldsTheCountUntilRead)
{
	Pit t;
	t.out(3, 0x34);
	t.out(0, 0x00);
	t.out(0, 0x10);
	uint64_t d[3] = {0x234, 0, 0};
	t.out(3, 0x00, d);			// latch channel 0: 0x1000 - 0x234 = 0x0dcc
	EXPECT_EQ(t.p.ch[0].latched_count, 0x0dcc);
	d[0] = 0x300;
	t.out(3, 0x00, d);			// a second latch before the read: ignored
	EXPECT_EQ(t.in(0, 0x999), 0xcc);
	EXPECT_EQ(t.in(0, 0x999), 0x0d);
	EXPECT_EQ(t.p.ch[0].count_latched, 0);
	EXPECT_EQ(t.in(0, 0x10), 0xf0);		// live again
	t.out(3, 0x10);				// ch 0, LSB only
	t.out(3, 0x00, d);			// latched as LSB: one read ends it
	EXPECT_EQ(t.in(0, 0x999), 0x00);
	EXPECT_EQ(t.p.ch[0].count_latched, 0);
}

TEST(Pit, ReadBackLatchesStatusThenCount)
{
	Pit t;
	t.out(3, 0xb0);				// ch 2, word, mode 0
	t.out(2, 0x64);
	t.out(2, 0x00);				// 100
	uint64_t d[3] = {0, 0, 100};		// terminal count reached: OUT high
	t.out(3, 0xc0 | 0x08, d);		// read-back of ch 2, status and count
	EXPECT_EQ(t.in(2, 7), 0x80 | 0x30 | 0x00);	// OUT, word access, mode 0, binary
	EXPECT_EQ(t.in(2, 7), 0x00);		// then the count, 0
	EXPECT_EQ(t.in(2, 7), 0x00);
	t.out(3, 0xc0 | 0x20 | 0x08, d);	// status only
	EXPECT_EQ(t.p.ch[2].count_latched, 0);
	EXPECT_EQ(t.in(2, 7), 0xb0);
	d[2] = 40;
	t.out(3, 0xc0 | 0x10 | 0x0e, d);	// counts of all three, no status
	EXPECT_EQ(t.p.ch[2].status_latched, 0);
	EXPECT_EQ(t.in(2, 0), 60);		// 100 - 40
	EXPECT_EQ(t.p.ch[1].count_latched, t.p.ch[1].rw_mode);
}

TEST(Pit, SpeakerPortDrivesGate2)
{
	Pit t;
	t.out(3, 0xb6);				// ch 2, word, mode 3
	t.out(2, 0x00);
	t.out(2, 0x10);
	t.p.ch[2].count_load_time = 5;
	kvmx_pit_speaker_write(&t.p, 0x03, 1000);	// gate up, speaker on: restarts
	EXPECT_EQ(t.p.ch[2].gate, 1);
	EXPECT_EQ(t.p.ch[2].count_load_time, 1000);
	EXPECT_EQ(t.p.flags, uint32_t(KVMX_PIT_FLAGS_SPEAKER_DATA_ON));
	kvmx_pit_speaker_write(&t.p, 0x01, 2000);	// still high: no restart
	EXPECT_EQ(t.p.ch[2].count_load_time, 1000);
	EXPECT_EQ(t.p.flags, 0u);
	// OUT high in the first half of the square wave; refresh bit from ns.
	EXPECT_EQ(kvmx_pit_speaker_read(&t.p, 0, 0), 0x21);
	EXPECT_EQ(kvmx_pit_speaker_read(&t.p, 0x800, 1 << 14), 0x11);
	kvmx_pit_speaker_write(&t.p, 0x00, 3000);
	EXPECT_EQ(kvmx_pit_speaker_read(&t.p, 0x800, 0), 0x00);
	t.out(3, 0xb0);				// mode 0 ignores the gate's edge
	kvmx_pit_speaker_write(&t.p, 0x01, 4000);
	EXPECT_EQ(t.p.ch[2].count_load_time, 1000);
}

// Any bytes user space may set (KVM_SET_PIT2) and any port traffic: no
// crash, no division by zero, reads stay bytes.
TEST(Pit, RandomStateAndTraffic)
{
	std::mt19937_64 rng(7);
	for (int round = 0; round < 2000; round++) {
		kvmx_pit_regs p;
		auto *b = reinterpret_cast<uint8_t *>(&p);
		for (size_t i = 0; i < sizeof(p); i++)
			b[i] = static_cast<uint8_t>(rng());
		for (int i = 0; i < 50; i++) {
			uint64_t d[3] = {rng(), rng() & 0xffff, rng() >> 40};
			uint32_t addr = static_cast<uint32_t>(rng() % 4);
			int r = kvmx_pit_write(&p, addr, static_cast<uint8_t>(rng()), d);
			ASSERT_TRUE(r == -1 || r == static_cast<int>(addr));
			if (addr < 3)
				(void)kvmx_pit_read(&p, addr, d[addr]);
			// A control word (not a latch or read-back) leaves a mode of 0-5.
			uint8_t cw = static_cast<uint8_t>(rng() % 0xc0) | 0x10;
			ASSERT_EQ(kvmx_pit_write(&p, 3, cw, d), -1);
			ASSERT_LE(p.ch[cw >> 6].mode, 5);
		}
	}
}

} // namespace
