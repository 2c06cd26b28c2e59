// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for kvmx/emulate: decode and emulate arbitrary bytes with
 * arbitrary register state through a fake MMIO backend, and check the
 * contract that the kernel relies on:
 *
 *  - decode and step never crash, and what they return is sane;
 *  - at most one read and one write per step, the read first, of 1/2/4/8
 *    bytes, at the addresses the decoder reported;
 *  - a step that stops for a read exit, a fault or "cannot emulate" leaves
 *    the registers alone;
 *  - restarting after a read exit, with the data then supplied, ends exactly
 *    where a step without exits ends, and a write exit commits the same
 *    state;
 *  - REP iterations keep those properties until RCX runs out.
 *
 * Input: [0..14] instruction bytes, [15] mode, [16] options, then GPRs, RIP,
 * RFLAGS and segment bases, 8 bytes each; missing bytes read as zero.
 */
#include <cstring>

extern "C" {
#include "emulate/emulate.h"
}

#define CHECK(x) do { if (!(x)) __builtin_trap(); } while (0)

enum reply_mode {
	REPLY_CONTINUE,	/* every access completes */
	REPLY_EXIT,	/* reads exit once then are served; writes exit */
	REPLY_SCRIPT,	/* answers taken from the input's script byte */
};

struct backend {
	enum reply_mode mode;
	unsigned char script;	/* REPLY_SCRIPT: 2 bits per access */
	unsigned int calls;
	unsigned int reads, writes;
	bool read_after_write;
	/* One-entry read cache for REPLY_EXIT. */
	bool cached;
	unsigned long long cache_la;
	unsigned int cache_len;
	/* The last write. */
	unsigned long long w_la, w_val;
	unsigned int w_len;
	unsigned long long r_la;
	unsigned int r_len;
};

/* Device memory: a function of the address. */
static unsigned char mmio_byte(unsigned long long la)
{
	la ^= la >> 29;
	la *= 0xbf58476d1ce4e5b9ULL;
	return static_cast<unsigned char>(la >> 56);
}

static int script_reply(struct backend *b, struct kvmx_emu_fault *fault)
{
	unsigned int r = (b->script >> (2 * (b->calls++ & 3))) & 3;

	if (r == 2) {
		fault->vector = 14;
		fault->error_code_valid = true;
		fault->error_code = 2;
		fault->address = 0x1000;
		return KVMX_EMU_CB_FAULT;
	}
	return r == 1 ? KVMX_EMU_CB_EXIT : KVMX_EMU_CB_CONTINUE;
}

static int fz_read(void *opaque, u64 la, void *buf, unsigned int len,
		   struct kvmx_emu_fault *fault)
{
	auto *b = static_cast<struct backend *>(opaque);
	unsigned int i;
	int ret = KVMX_EMU_CB_CONTINUE;

	CHECK(len == 1 || len == 2 || len == 4 || len == 8 || len == 16);
	if (b->writes)
		b->read_after_write = true;
	b->reads++;
	b->r_la = la;
	b->r_len = len;
	if (b->mode == REPLY_EXIT) {
		if (!b->cached || b->cache_la != la || b->cache_len != len) {
			b->cached = true;
			b->cache_la = la;
			b->cache_len = len;
			return KVMX_EMU_CB_EXIT;
		}
		b->cached = false;
	} else if (b->mode == REPLY_SCRIPT) {
		ret = script_reply(b, fault);
		if (ret != KVMX_EMU_CB_CONTINUE)
			return ret;
	}
	for (i = 0; i < len; i++)
		static_cast<unsigned char *>(buf)[i] = mmio_byte(la + i);
	return ret;
}

static int fz_write(void *opaque, u64 la, const void *buf, unsigned int len,
		    struct kvmx_emu_fault *fault)
{
	auto *b = static_cast<struct backend *>(opaque);
	unsigned long long v = 0;
	unsigned int i;

	CHECK(len == 1 || len == 2 || len == 4 || len == 8 || len == 16);
	b->writes++;
	for (i = 0; i < len && i < 8; i++)
		v |= static_cast<unsigned long long>(static_cast<const unsigned char *>(buf)[i]) << (8 * i);
	b->w_la = la;
	b->w_len = len;
	b->w_val = v;
	if (b->mode == REPLY_EXIT)
		return KVMX_EMU_CB_EXIT;
	if (b->mode == REPLY_SCRIPT)
		return script_reply(b, fault);
	return KVMX_EMU_CB_CONTINUE;
}

static const struct kvmx_emu_ops fz_ops = {fz_read, fz_write, NULL};

static bool same_regs(const struct kvmx_emu_regs *a, const struct kvmx_emu_regs *b)
{
	return !memcmp(a, b, sizeof(*a));
}

static u64 take64(const u8 *data, size_t size, size_t *pos)
{
	u64 v = 0;
	unsigned int i;

	for (i = 0; i < 8; i++, (*pos)++)
		if (*pos < size)
			v |= (u64)data[*pos] << (8 * i);
	return v;
}

static void check_decode(const struct kvmx_emu_ctxt *c)
{
	struct kvmx_emu_insn insn;
	int ret = kvmx_emu_decode(c, &insn);

	CHECK(ret == KVMX_EMU_DONE || ret == KVMX_EMU_FAULT || ret == KVMX_EMU_UNHANDLEABLE);
	if (ret == KVMX_EMU_FAULT)
		CHECK(insn.fault.vector == KVMX_EMU_UD_VECTOR ||
		      insn.fault.vector == KVMX_EMU_GP_VECTOR);
	if (ret != KVMX_EMU_DONE)
		return;
	CHECK(insn.len >= 1 && insn.len <= c->insn_len);
	CHECK(insn.op > KVMX_EMU_OP_NONE && insn.op < KVMX_EMU_NR_OPS);
	CHECK(insn.dir <= KVMX_EMU_DIR_COPY);
	CHECK(insn.op_bytes == 1 || insn.op_bytes == 2 || insn.op_bytes == 4 ||
	      insn.op_bytes == 8);
	CHECK(insn.mem_bytes && (insn.op == KVMX_EMU_OP_CMPXCHG8B ?
				 insn.mem_bytes == 2 * insn.op_bytes :
				 insn.mem_bytes <= insn.op_bytes));
	CHECK(insn.ad_bytes == 2 || insn.ad_bytes == 4 || insn.ad_bytes == 8);
	CHECK(insn.seg < KVMX_EMU_NR_SEGS);
	CHECK(insn.reg == KVMX_EMU_NO_REG || insn.reg < KVMX_EMU_NR_GPRS);
	if (c->mode != KVMX_EMU_MODE_64) {
		CHECK(insn.la <= 0xffffffffULL && insn.la2 <= 0xffffffffULL);
		CHECK(insn.op_bytes != 8 && insn.ad_bytes != 8);
	}

	/* The decode, kept and re-addressed with other state, equals a fresh one. */
	struct kvmx_emu_ctxt other = *c;
	struct kvmx_emu_insn fresh;
	unsigned int i;

	for (i = 0; i < KVMX_EMU_NR_GPRS; i++)
		other.regs.gpr[i] = c->regs.gpr[(i + 5) % KVMX_EMU_NR_GPRS] * 3 + i;
	other.regs.rip = ~c->regs.rip;
	for (i = 0; i < KVMX_EMU_NR_SEGS; i++)
		other.seg_base[i] = c->seg_base[(i + 1) % KVMX_EMU_NR_SEGS];
	CHECK(kvmx_emu_decode(&other, &fresh) == KVMX_EMU_DONE);
	kvmx_emu_address(&other, &insn);
	CHECK(insn.ea == fresh.ea && insn.la == fresh.la && insn.bit == fresh.bit);
	CHECK(insn.op != KVMX_EMU_OP_MOVS || insn.la2 == fresh.la2);
}

/* One step with a backend mode; checks the per-step contract. */
static int step(struct kvmx_emu_ctxt *c, struct backend *b)
{
	struct kvmx_emu_regs before = c->regs;
	int ret;

	b->reads = 0;
	b->writes = 0;
	b->read_after_write = false;
	ret = kvmx_emu_step(c);
	CHECK(ret >= KVMX_EMU_DONE && ret <= KVMX_EMU_UNHANDLEABLE);
	CHECK(b->reads <= 1 && b->writes <= 1 && !b->read_after_write);
	if (ret == KVMX_EMU_EXIT_READ || ret == KVMX_EMU_FAULT || ret == KVMX_EMU_UNHANDLEABLE) {
		CHECK(same_regs(&c->regs, &before));
		CHECK(!c->rep_more);
	} else {
		/* Only the arithmetic flags may change. */
		CHECK(((c->regs.rflags ^ before.rflags) & ~KVMX_EMU_FLAGS_ARITH) == 0);
		/* A REP iteration with more to do stays; anything else moves on. */
		CHECK(c->rep_more == (c->regs.rip == before.rip));
	}
	if (ret == KVMX_EMU_EXIT_READ)
		CHECK(b->reads == 1 && b->writes == 0);
	if (ret == KVMX_EMU_EXIT_WRITE)
		CHECK(b->writes == 1);
	if (b->reads && ret != KVMX_EMU_UNHANDLEABLE)
		CHECK(b->r_la == c->insn.la && b->r_len == c->insn.mem_bytes);
	if (b->writes && ret != KVMX_EMU_UNHANDLEABLE)
		CHECK(b->w_len == c->insn.mem_bytes &&
		      b->w_la == (c->insn.dir == KVMX_EMU_DIR_COPY ? c->insn.la2 : c->insn.la));
	return ret;
}

extern "C" int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct kvmx_emu_ctxt base, a, e, s;
	struct backend ba, be, bs;
	size_t pos = 17;
	unsigned int i, iter;
	u8 opt;
	int ra, re;

	memset(&base, 0, sizeof(base));
	base.insn_len = static_cast<u8>(size < 15 ? size : 15);
	if (base.insn_len)
		memcpy(base.insn_bytes, data, base.insn_len);
	base.mode = static_cast<u8>(size > 15 ? data[15] % 3 : KVMX_EMU_MODE_64);
	opt = size > 16 ? data[16] : 0;
	base.la57 = opt & 1;
	for (i = 0; i < KVMX_EMU_NR_GPRS; i++)
		base.regs.gpr[i] = take64(data, size, &pos);
	base.regs.rip = take64(data, size, &pos);
	base.regs.rflags = take64(data, size, &pos);
	for (i = 0; i < KVMX_EMU_NR_SEGS; i++)
		base.seg_base[i] = take64(data, size, &pos);
	/* A short count keeps REP loops short. */
	if (opt & 2)
		base.regs.gpr[KVMX_EMU_RCX] &= 7;
	base.ops = &fz_ops;

	check_decode(&base);

	memset(&ba, 0, sizeof(ba));
	memset(&be, 0, sizeof(be));
	memset(&bs, 0, sizeof(bs));
	ba.mode = REPLY_CONTINUE;
	be.mode = REPLY_EXIT;
	bs.mode = REPLY_SCRIPT;
	bs.script = static_cast<unsigned char>(opt >> 2);
	a = base;
	e = base;
	s = base;
	a.opaque = &ba;
	e.opaque = &be;
	s.opaque = &bs;

	for (iter = 0; iter < 8; iter++) {
		ra = step(&a, &ba);
		CHECK(ra == KVMX_EMU_DONE || ra == KVMX_EMU_FAULT || ra == KVMX_EMU_UNHANDLEABLE);

		/* The same with exits: a read exit first, then the data. */
		re = step(&e, &be);
		if (re == KVMX_EMU_EXIT_READ) {
			CHECK(ra != KVMX_EMU_UNHANDLEABLE);
			re = step(&e, &be);
		}
		if (ra == KVMX_EMU_DONE) {
			CHECK(re == KVMX_EMU_DONE || re == KVMX_EMU_EXIT_WRITE);
			CHECK(re == KVMX_EMU_EXIT_WRITE ? ba.writes == 1 : ba.writes == 0);
			CHECK(same_regs(&a.regs, &e.regs));
			CHECK(a.rep_more == e.rep_more);
			if (ba.writes)
				CHECK(ba.w_la == be.w_la && ba.w_len == be.w_len &&
				      ba.w_val == be.w_val);
		} else {
			CHECK(re == ra);
			if (ra == KVMX_EMU_FAULT)
				CHECK(a.fault.vector == e.fault.vector);
		}

		/* Scripted answers: only the contract checks in step(). */
		step(&s, &bs);

		if (ra != KVMX_EMU_DONE || !a.rep_more)
			break;
	}
	return 0;
}
