/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The 8254 PIT's registers (ports 0x40-0x43) and the speaker port 0x61,
 * as pure code with the semantics of KVM's arch/x86/kvm/i8254.c in Linux
 * 6.1: the six modes' counter and OUT as a function of the ticks counted
 * since the count was loaded, the control word, the counter latch and
 * read-back commands, and the LSB/MSB/word access states.  Time is the
 * caller's: it passes the ticks each channel counted, and starts the
 * hrtimer of channel 0 when a count is loaded (pit.c).  The caller
 * serialises every call.  Unit-tested in tests/unit/pit_test.cc.
 */
#ifndef KVMX_IRQ_PIT_REGS_H
#define KVMX_IRQ_PIT_REGS_H

#include "../types.h"

#define KVMX_PIT_FREQ		1193181		/* Hz, KVM_PIT_FREQ */
#define KVMX_PIT_BASE		0x40
#define KVMX_PIT_SPEAKER	0x61

/* The access states (read_state, write_state, rw_mode, count_latched). */
#define KVMX_PIT_RW_LSB		1
#define KVMX_PIT_RW_MSB		2
#define KVMX_PIT_RW_WORD0	3
#define KVMX_PIT_RW_WORD1	4

/* kvm_pit_state2.flags */
#define KVMX_PIT_FLAGS_HPET_LEGACY	0x1
#define KVMX_PIT_FLAGS_SPEAKER_DATA_ON	0x2

/* One channel: the fields of KVM's struct kvm_pit_channel_state, in its order. */
struct kvmx_pit_channel {
	u32 count;		/* the initial count, 1..0x10000 once loaded */
	u16 latched_count;
	u8 count_latched;	/* an access state: a latched count is being read */
	u8 status_latched;
	u8 status;
	u8 read_state;
	u8 write_state;
	u8 write_latch;		/* the LSB of a word being written */
	u8 rw_mode;
	u8 mode;		/* 0-5; 0xff after reset (no timer) */
	u8 bcd;			/* kept, not honoured (as KVM) */
	u8 gate;
	s64 count_load_time;	/* host ns (ktime) when channels 1-2 were loaded */
};

/* The PIT's registers: the channels and flags of struct kvm_pit_state2. */
struct kvmx_pit_regs {
	struct kvmx_pit_channel ch[3];
	u32 flags;		/* KVMX_PIT_FLAGS_* */
};

/* Ticks of the 1.193 MHz clock in @ns nanoseconds (KVM's mul_u64_u32_div()). */
u64 kvmx_pit_ns_to_ticks(u64 ns);
/* Nanoseconds of @ticks ticks, rounded down. */
u64 kvmx_pit_ticks_to_ns(u64 ticks);

/* The counter's value @d ticks after its count was loaded (pit_get_count()). */
u32 kvmx_pit_counter(const struct kvmx_pit_channel *c, u64 d);

/* The channel's OUT pin @d ticks after its count was loaded (pit_get_out()). */
int kvmx_pit_out(const struct kvmx_pit_channel *c, u64 d);

/* Back to power-on except the counts (kvm_pit_reset(); the caller loads 0). */
void kvmx_pit_reset(struct kvmx_pit_regs *p);

/*
 * A write of @val to port 0x40 + @addr (0-3).  @d are the ticks each
 * channel counted (for the latch and read-back commands).  Returns the
 * channel whose count was loaded (ch[n].count set, 0 meaning 0x10000), or
 * -1: the caller then restarts that channel's time (pit_load_count()).
 */
int kvmx_pit_write(struct kvmx_pit_regs *p, u32 addr, u8 val, const u64 d[3]);

/*
 * A read of port 0x40 + @addr (0-2), @d ticks into channel @addr's count:
 * the status, a latched count byte or the live counter's byte.
 */
u8 kvmx_pit_read(struct kvmx_pit_regs *p, u32 addr, u64 d);

/*
 * Port 0x61: a write sets SPEAKER_DATA_ON from bit 1 and channel 2's gate
 * from bit 0 (a rising gate restarts modes 1, 2, 3 and 5 at @now_ns).
 */
void kvmx_pit_speaker_write(struct kvmx_pit_regs *p, u8 val, s64 now_ns);

/*
 * A read: bit 5 channel 2's OUT (@d2 ticks into its count), bit 4 the
 * refresh clock KVM derives from @now_ns, bit 1 SPEAKER_DATA_ON, bit 0 gate.
 */
u8 kvmx_pit_speaker_read(const struct kvmx_pit_regs *p, u64 d2, s64 now_ns);

#endif /* KVMX_IRQ_PIT_REGS_H */
