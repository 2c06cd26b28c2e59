// SPDX-License-Identifier: GPL-2.0
/*
 * The 8254 PIT's registers; see pit_regs.h.  Pure code: includes only
 * kvmx/types.h.
 */
#include "pit_regs.h"

#define NSEC_PER_SEC_U64	1000000000ULL

u64 kvmx_pit_ns_to_ticks(u64 ns)
{
	/* ns * FREQ / 1e9 without a 128-bit product: split ns at 1e9. */
	return (ns / NSEC_PER_SEC_U64) * KVMX_PIT_FREQ +
	       (ns % NSEC_PER_SEC_U64) * KVMX_PIT_FREQ / NSEC_PER_SEC_U64;
}

u64 kvmx_pit_ticks_to_ns(u64 ticks)
{
	return (ticks / KVMX_PIT_FREQ) * NSEC_PER_SEC_U64 +
	       (ticks % KVMX_PIT_FREQ) * NSEC_PER_SEC_U64 / KVMX_PIT_FREQ;
}

/* A count of 0 is never loaded (it means 0x10000); user space may set it. */
static u64 count_of(const struct kvmx_pit_channel *c)
{
	return c->count ? c->count : 0x10000;
}

u32 kvmx_pit_counter(const struct kvmx_pit_channel *c, u64 d)
{
	u64 n = count_of(c);

	switch (c->mode) {
	case 0:
	case 1:
	case 4:
	case 5:
		/* These wrap to 0xffff and go on counting. */
		return (u32)(c->count - d) & 0xffff;
	case 3:
		/* Counts down by two, twice per period (odd counts: as KVM). */
		return (u32)(c->count - (2 * d) % n);
	default:
		return (u32)(c->count - d % n);
	}
}

int kvmx_pit_out(const struct kvmx_pit_channel *c, u64 d)
{
	u64 n = count_of(c);

	switch (c->mode) {
	default:
	case 0:
		return d >= c->count;
	case 1:
		return d < c->count;
	case 2:
		return d % n == 0 && d != 0;
	case 3:
		return d % n < ((c->count + 1) >> 1);
	case 4:
	case 5:
		return d == c->count;
	}
}

void kvmx_pit_reset(struct kvmx_pit_regs *p)
{
	int i;

	p->flags = 0;
	for (i = 0; i < 3; i++) {
		p->ch[i].mode = 0xff;
		p->ch[i].gate = i != 2;
	}
}

static void latch_count(struct kvmx_pit_channel *c, u64 d)
{
	if (!c->count_latched) {
		c->latched_count = (u16)kvmx_pit_counter(c, d);
		c->count_latched = c->rw_mode;
	}
}

static void latch_status(struct kvmx_pit_channel *c, u64 d)
{
	if (!c->status_latched) {
		/* No NULL COUNT (bit 6), as KVM. */
		c->status = (kvmx_pit_out(c, d) << 7) | (c->rw_mode << 4) | (c->mode << 1) |
			    c->bcd;
		c->status_latched = 1;
	}
}

static int load(struct kvmx_pit_channel *c, int channel, u32 val)
{
	c->count = val ? val : 0x10000;
	return channel;
}

int kvmx_pit_write(struct kvmx_pit_regs *p, u32 addr, u8 val, const u64 d[3])
{
	struct kvmx_pit_channel *c;
	int channel = val >> 6, access;

	addr &= 3;
	if (addr == 3) {
		if (channel == 3) {		/* read-back */
			for (channel = 0; channel < 3; channel++) {
				if (!(val & (2 << channel)))
					continue;
				if (!(val & 0x20))
					latch_count(&p->ch[channel], d[channel]);
				if (!(val & 0x10))
					latch_status(&p->ch[channel], d[channel]);
			}
			return -1;
		}
		c = &p->ch[channel];
		access = (val >> 4) & 3;
		if (!access) {			/* counter latch */
			latch_count(c, d[channel]);
			return -1;
		}
		c->rw_mode = access;
		c->read_state = access;
		c->write_state = access;
		c->mode = (val >> 1) & 7;
		if (c->mode > 5)
			c->mode -= 4;		/* 6 and 7 are 2 and 3 */
		c->bcd = val & 1;
		return -1;
	}
	c = &p->ch[addr];
	switch (c->write_state) {
	default:
	case KVMX_PIT_RW_LSB:
		return load(c, addr, val);
	case KVMX_PIT_RW_MSB:
		return load(c, addr, (u32)val << 8);
	case KVMX_PIT_RW_WORD0:
		c->write_latch = val;
		c->write_state = KVMX_PIT_RW_WORD1;
		return -1;
	case KVMX_PIT_RW_WORD1:
		c->write_state = KVMX_PIT_RW_WORD0;
		return load(c, addr, c->write_latch | ((u32)val << 8));
	}
}

u8 kvmx_pit_read(struct kvmx_pit_regs *p, u32 addr, u64 d)
{
	struct kvmx_pit_channel *c = &p->ch[addr % 3];
	u8 ret;

	if (c->status_latched) {
		c->status_latched = 0;
		return c->status;
	}
	if (c->count_latched) {
		switch (c->count_latched) {
		default:
		case KVMX_PIT_RW_LSB:
			c->count_latched = 0;
			return c->latched_count & 0xff;
		case KVMX_PIT_RW_MSB:
			c->count_latched = 0;
			return c->latched_count >> 8;
		case KVMX_PIT_RW_WORD0:
			c->count_latched = KVMX_PIT_RW_MSB;
			return c->latched_count & 0xff;
		}
	}
	switch (c->read_state) {
	default:
	case KVMX_PIT_RW_LSB:
		return kvmx_pit_counter(c, d) & 0xff;
	case KVMX_PIT_RW_MSB:
		return (kvmx_pit_counter(c, d) >> 8) & 0xff;
	case KVMX_PIT_RW_WORD0:
		ret = kvmx_pit_counter(c, d) & 0xff;
		c->read_state = KVMX_PIT_RW_WORD1;
		return ret;
	case KVMX_PIT_RW_WORD1:
		ret = (kvmx_pit_counter(c, d) >> 8) & 0xff;
		c->read_state = KVMX_PIT_RW_WORD0;
		return ret;
	}
}

void kvmx_pit_speaker_write(struct kvmx_pit_regs *p, u8 val, s64 now_ns)
{
	struct kvmx_pit_channel *c = &p->ch[2];
	u8 gate = val & 1;

	if (val & 2)
		p->flags |= KVMX_PIT_FLAGS_SPEAKER_DATA_ON;
	else
		p->flags &= ~KVMX_PIT_FLAGS_SPEAKER_DATA_ON;
	/* Modes 1, 2, 3 and 5 restart counting on a rising edge (pit_set_gate()). */
	switch (c->mode) {
	case 1:
	case 2:
	case 3:
	case 5:
		if (c->gate < gate)
			c->count_load_time = now_ns;
		break;
	default:
		break;
	}
	c->gate = gate;
}

u8 kvmx_pit_speaker_read(const struct kvmx_pit_regs *p, u64 d2, s64 now_ns)
{
	/* The refresh clock toggles about every 15 us; KVM uses 2^14 ns. */
	u32 refresh = ((u32)now_ns >> 14) & 1;

	return (!!(p->flags & KVMX_PIT_FLAGS_SPEAKER_DATA_ON) << 1) | p->ch[2].gate |
	       (kvmx_pit_out(&p->ch[2], d2) << 5) | (refresh << 4);
}
