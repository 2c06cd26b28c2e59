/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The restartable step function of the MMIO emulator.  It works on a copy
 * of the registers and writes the copy back only when the instruction (or
 * one REP iteration) completes, so a step that stops for a read exit, a
 * fault or an unsupported instruction leaves the context as it was.  See
 * emulate.h for the API and the callback contract.
 */
#include "emulate.h"

static void copy_regs(struct kvmx_emu_regs *dst, const struct kvmx_emu_regs *src)
{
	unsigned int i;

	for (i = 0; i < KVMX_EMU_NR_GPRS; i++)
		dst->gpr[i] = src->gpr[i];
	dst->rip = src->rip;
	dst->rflags = src->rflags;
}

static u64 load_le(const u8 *buf, unsigned int len)
{
	unsigned int i;
	u64 v = 0;

	for (i = 0; i < len; i++)
		v |= (u64)buf[i] << (8 * i);
	return v;
}

static void copy_bytes(u8 *dst, const u8 *src, unsigned int len)
{
	unsigned int i;

	for (i = 0; i < len; i++)
		dst[i] = src[i];
}

static void store_le(u8 *buf, u64 v, unsigned int len)
{
	unsigned int i;

	for (i = 0; i < len; i++)
		buf[i] = v >> (8 * i);
}

/* Write a register as the CPU does: 32-bit writes zero-extend, 8/16 merge. */
static void set_gpr(u64 *gpr, unsigned int bytes, u64 val)
{
	u64 m = kvmx_emu_mask(bytes);

	if (bytes >= 4)
		*gpr = val & m;
	else
		*gpr = (*gpr & ~m) | (val & m);
}

static void set_reg(u64 *gpr, const struct kvmx_emu_insn *insn, unsigned int bytes, u64 val)
{
	u64 *reg = &gpr[insn->reg];

	if (insn->flags & KVMX_EMU_INSN_HREG)
		*reg = (*reg & ~0xff00ULL) | ((val & 0xff) << 8);
	else
		set_gpr(reg, bytes, val);
}

void kvmx_emu_mov_load(const struct kvmx_emu_insn *insn, u64 *gpr, u64 val)
{
	if (insn->op == KVMX_EMU_OP_MOVSX)
		val = kvmx_emu_sext(val, insn->mem_bytes);
	set_reg(gpr, insn, insn->op_bytes, val);
}

static bool parity_even(u64 v)
{
	v &= 0xff;
	v ^= v >> 4;
	v ^= v >> 2;
	v ^= v >> 1;
	return !(v & 1);
}

/*
 * a op b at the given size, with CF PF AF ZF SF OF updated in *rflags as the
 * CPU does.  AF, undefined after the logic operations, is cleared there (as
 * current CPUs do); INC and DEC keep CF.
 */
static u64 alu(unsigned int op, u64 a, u64 b, unsigned int bytes, u64 *rflags)
{
	u64 m = kvmx_emu_mask(bytes), sign = 1ULL << (8 * bytes - 1);
	u64 cin = (*rflags & KVMX_EMU_FLAG_CF) ? 1 : 0;
	u64 r, f = 0;
	bool cf = false, of = false, af = false;

	a &= m;
	b &= m;
	switch (op) {
	case KVMX_EMU_OP_ADD:
	case KVMX_EMU_OP_ADC:
	case KVMX_EMU_OP_INC:
		if (op != KVMX_EMU_OP_ADC)
			cin = 0;
		r = (a + b + cin) & m;
		cf = cin ? r <= a : r < a;
		of = (a ^ r) & (b ^ r) & sign;
		af = (a ^ b ^ r) & 0x10;
		break;
	case KVMX_EMU_OP_SUB:
	case KVMX_EMU_OP_SBB:
	case KVMX_EMU_OP_CMP:
	case KVMX_EMU_OP_DEC:
		if (op != KVMX_EMU_OP_SBB)
			cin = 0;
		r = (a - b - cin) & m;
		cf = cin ? a <= b : a < b;
		of = (a ^ b) & (a ^ r) & sign;
		af = (a ^ b ^ r) & 0x10;
		break;
	case KVMX_EMU_OP_OR:
		r = a | b;
		break;
	case KVMX_EMU_OP_XOR:
		r = a ^ b;
		break;
	default:	/* AND, TEST */
		r = a & b;
		break;
	}

	if (op == KVMX_EMU_OP_INC || op == KVMX_EMU_OP_DEC)
		cf = *rflags & KVMX_EMU_FLAG_CF;
	if (cf)
		f |= KVMX_EMU_FLAG_CF;
	if (of)
		f |= KVMX_EMU_FLAG_OF;
	if (af)
		f |= KVMX_EMU_FLAG_AF;
	if (parity_even(r))
		f |= KVMX_EMU_FLAG_PF;
	if (!r)
		f |= KVMX_EMU_FLAG_ZF;
	if (r & sign)
		f |= KVMX_EMU_FLAG_SF;
	*rflags = (*rflags & ~KVMX_EMU_FLAGS_ARITH) | f;
	return r;
}

static bool canonical(const struct kvmx_emu_ctxt *ctxt, u64 la)
{
	unsigned int sh = 64 - (ctxt->la57 ? 57 : 48);

	return (u64)((s64)(la << sh) >> sh) == la;
}

static void fault0(struct kvmx_emu_ctxt *ctxt, u8 vector)
{
	ctxt->fault.vector = vector;
	ctxt->fault.error_code_valid = true;
	ctxt->fault.error_code = 0;
	ctxt->fault.address = 0;
}

/*
 * One memory access through the callbacks; a write with @old (what the
 * step read there) is a LOCKed one, through cmpxchg() when there is one.
 * Returns 0 to carry on, or the step's result: KVMX_EMU_EXIT_READ/WRITE,
 * KVMX_EMU_FAULT, KVMX_EMU_RETRY, or KVMX_EMU_UNHANDLEABLE for an access
 * the callback cannot make or a callback that broke the contract.
 */
static int mem_access_old(struct kvmx_emu_ctxt *ctxt, u8 seg, u64 la, u8 *buf,
			  const u8 *old, unsigned int len, bool write)
{
	int ret;

	if (ctxt->mode == KVMX_EMU_MODE_64 &&
	    (!canonical(ctxt, la) || !canonical(ctxt, la + len - 1))) {
		fault0(ctxt, seg == KVMX_EMU_SEG_SS ? KVMX_EMU_SS_VECTOR : KVMX_EMU_GP_VECTOR);
		return KVMX_EMU_FAULT;
	}
	ctxt->fault.vector = 0;
	ctxt->fault.error_code_valid = false;
	ctxt->fault.error_code = 0;
	ctxt->fault.address = 0;
	if (old && ctxt->ops->cmpxchg)
		ret = ctxt->ops->cmpxchg(ctxt->opaque, la, old, buf, len, &ctxt->fault);
	else if (write)
		ret = ctxt->ops->write(ctxt->opaque, la, buf, len, &ctxt->fault);
	else
		ret = ctxt->ops->read(ctxt->opaque, la, buf, len, &ctxt->fault);
	switch (ret) {
	case KVMX_EMU_CB_CONTINUE:
		return 0;
	case KVMX_EMU_CB_EXIT:
		return write ? KVMX_EMU_EXIT_WRITE : KVMX_EMU_EXIT_READ;
	case KVMX_EMU_CB_FAULT:
		return KVMX_EMU_FAULT;
	case KVMX_EMU_CB_RETRY:
		if (old)
			return KVMX_EMU_RETRY;
		break;
	}
	return KVMX_EMU_UNHANDLEABLE;
}

static int mem_access(struct kvmx_emu_ctxt *ctxt, u8 seg, u64 la, u8 *buf, unsigned int len,
		      bool write)
{
	return mem_access_old(ctxt, seg, la, buf, NULL, len, write);
}

/* Add delta to a register at the address size, as string instructions do. */
static void add_ad(u64 *gpr, unsigned int ad_bytes, u64 delta)
{
	set_gpr(gpr, ad_bytes, *gpr + delta);
}

/* One element of MOVS, STOS or LODS; r->rip is still the instruction's. */
static int step_string(struct kvmx_emu_ctxt *ctxt, const struct kvmx_emu_insn *insn,
		       struct kvmx_emu_regs *r, u64 next_rip)
{
	unsigned int size = insn->op_bytes;
	u64 delta = (r->rflags & KVMX_EMU_FLAG_DF) ? -(u64)size : size;
	u64 count = r->gpr[KVMX_EMU_RCX] & kvmx_emu_mask(insn->ad_bytes);
	u8 buf[8];
	int ret = 0;

	if (insn->rep && !count) {
		ctxt->regs.rip = next_rip;
		return KVMX_EMU_DONE;
	}

	switch (insn->op) {
	case KVMX_EMU_OP_MOVS:
		ret = mem_access(ctxt, insn->seg, insn->la, buf, size, false);
		if (ret)
			return ret;
		ret = mem_access(ctxt, KVMX_EMU_SEG_ES, insn->la2, buf, size, true);
		add_ad(&r->gpr[KVMX_EMU_RSI], insn->ad_bytes, delta);
		add_ad(&r->gpr[KVMX_EMU_RDI], insn->ad_bytes, delta);
		break;
	case KVMX_EMU_OP_STOS:
		store_le(buf, r->gpr[KVMX_EMU_RAX], size);
		ret = mem_access(ctxt, insn->seg, insn->la, buf, size, true);
		add_ad(&r->gpr[KVMX_EMU_RDI], insn->ad_bytes, delta);
		break;
	default:	/* LODS */
		ret = mem_access(ctxt, insn->seg, insn->la, buf, size, false);
		if (ret)
			return ret;
		set_gpr(&r->gpr[KVMX_EMU_RAX], size, load_le(buf, size));
		add_ad(&r->gpr[KVMX_EMU_RSI], insn->ad_bytes, delta);
		break;
	}
	if (ret && ret != KVMX_EMU_EXIT_WRITE)
		return ret;

	r->rip = next_rip;
	if (insn->rep) {
		set_gpr(&r->gpr[KVMX_EMU_RCX], insn->ad_bytes, count - 1);
		if (count - 1) {
			r->rip = ctxt->regs.rip;
			ctxt->rep_more = true;
		}
	}
	copy_regs(&ctxt->regs, r);
	return ret ? ret : KVMX_EMU_DONE;
}

static bool ops_ok(const struct kvmx_emu_ctxt *ctxt)
{
	return ctxt->ops && ctxt->ops->read && ctxt->ops->write;
}

int kvmx_emu_step(struct kvmx_emu_ctxt *ctxt)
{
	int ret;

	ctxt->rep_more = false;
	if (!ops_ok(ctxt))
		return KVMX_EMU_UNHANDLEABLE;
	ret = kvmx_emu_decode(ctxt, &ctxt->insn);
	if (ret == KVMX_EMU_FAULT)
		ctxt->fault = ctxt->insn.fault;
	if (ret != KVMX_EMU_DONE)
		return ret;
	return kvmx_emu_execute(ctxt);
}

int kvmx_emu_execute(struct kvmx_emu_ctxt *ctxt)
{
	const struct kvmx_emu_insn *insn = &ctxt->insn;
	struct kvmx_emu_regs r;
	unsigned int bytes;
	u64 next_rip, val = 0, val_hi = 0, src = 0, res = 0, res_hi = 0;
	u8 buf[16], old[16];
	bool locked;
	int ret;

	ctxt->rep_more = false;
	if (!ops_ok(ctxt))
		return KVMX_EMU_UNHANDLEABLE;

	copy_regs(&r, &ctxt->regs);
	next_rip = kvmx_emu_next_rip(ctxt->mode, r.rip, insn);

	if (insn->op >= KVMX_EMU_OP_MOVS)
		return step_string(ctxt, insn, &r, next_rip);

	if (insn->op == KVMX_EMU_OP_CMPXCHG8B && insn->mem_bytes == 16 && (insn->la & 15)) {
		fault0(ctxt, KVMX_EMU_GP_VECTOR);
		return KVMX_EMU_FAULT;
	}
	if (insn->dir != KVMX_EMU_DIR_WRITE) {
		ret = mem_access(ctxt, insn->seg, insn->la, buf, insn->mem_bytes, false);
		if (ret)
			return ret;
		val = load_le(buf, insn->mem_bytes > 8 ? 8 : insn->mem_bytes);
		if (insn->mem_bytes > 8)
			val_hi = load_le(buf + 8, insn->mem_bytes - 8);
	}
	bytes = insn->op_bytes;
	if (insn->flags & KVMX_EMU_INSN_IMM)
		src = insn->imm;
	else if (insn->reg != KVMX_EMU_NO_REG)
		src = kvmx_emu_get_reg(r.gpr, insn, bytes);

	switch (insn->op) {
	case KVMX_EMU_OP_MOV:
	case KVMX_EMU_OP_MOVZX:
	case KVMX_EMU_OP_MOVSX:
		if (insn->dir == KVMX_EMU_DIR_READ)
			kvmx_emu_mov_load(insn, r.gpr, val);
		else
			res = kvmx_emu_mov_store_value(insn, r.gpr);
		break;
	case KVMX_EMU_OP_ADD:
	case KVMX_EMU_OP_OR:
	case KVMX_EMU_OP_ADC:
	case KVMX_EMU_OP_SBB:
	case KVMX_EMU_OP_AND:
	case KVMX_EMU_OP_SUB:
	case KVMX_EMU_OP_XOR:
	case KVMX_EMU_OP_CMP:
		if (insn->flags & KVMX_EMU_INSN_REGDST) {
			res = alu(insn->op, src, val, bytes, &r.rflags);
			if (insn->op != KVMX_EMU_OP_CMP)
				set_reg(r.gpr, insn, bytes, res);
		} else {
			res = alu(insn->op, val, src, bytes, &r.rflags);
		}
		break;
	case KVMX_EMU_OP_TEST:
		alu(KVMX_EMU_OP_AND, val, src, bytes, &r.rflags);
		break;
	case KVMX_EMU_OP_XCHG:
		set_reg(r.gpr, insn, bytes, val);
		res = src;
		break;
	case KVMX_EMU_OP_NOT:
		res = ~val;
		break;
	case KVMX_EMU_OP_NEG:
		res = alu(KVMX_EMU_OP_SUB, 0, val, bytes, &r.rflags);
		break;
	case KVMX_EMU_OP_INC:
	case KVMX_EMU_OP_DEC:
		res = alu(insn->op, val, 1, bytes, &r.rflags);
		break;
	case KVMX_EMU_OP_CMPXCHG:
		/* The flags of CMP accumulator, operand; on failure the operand stays. */
		alu(KVMX_EMU_OP_CMP, r.gpr[KVMX_EMU_RAX], val, bytes, &r.rflags);
		if (r.rflags & KVMX_EMU_FLAG_ZF) {
			res = src;
		} else {
			set_gpr(&r.gpr[KVMX_EMU_RAX], bytes, val);
			res = val;
		}
		break;
	case KVMX_EMU_OP_CMPXCHG8B:
		/* Halves of op_bytes: rDX:rAX against the operand, rCX:rBX in. */
		if (insn->op_bytes == 4) {
			val_hi = val >> 32;
			val &= 0xffffffffULL;
		}
		r.rflags &= ~KVMX_EMU_FLAG_ZF;
		if (val == (r.gpr[KVMX_EMU_RAX] & kvmx_emu_mask(bytes)) &&
		    val_hi == (r.gpr[KVMX_EMU_RDX] & kvmx_emu_mask(bytes))) {
			r.rflags |= KVMX_EMU_FLAG_ZF;
			res = r.gpr[KVMX_EMU_RBX] & kvmx_emu_mask(bytes);
			res_hi = r.gpr[KVMX_EMU_RCX] & kvmx_emu_mask(bytes);
		} else {
			set_gpr(&r.gpr[KVMX_EMU_RAX], bytes, val);
			set_gpr(&r.gpr[KVMX_EMU_RDX], bytes, val_hi);
			res = val;
			res_hi = val_hi;
		}
		if (bytes == 4) {
			res |= res_hi << 32;
			res_hi = 0;
		}
		break;
	default:	/* BT BTS BTR BTC: only CF is defined; the others stay */
		r.rflags &= ~KVMX_EMU_FLAG_CF;
		if ((val >> insn->bit) & 1)
			r.rflags |= KVMX_EMU_FLAG_CF;
		if (insn->op == KVMX_EMU_OP_BTS)
			res = val | (1ULL << insn->bit);
		else if (insn->op == KVMX_EMU_OP_BTR)
			res = val & ~(1ULL << insn->bit);
		else
			res = val ^ (1ULL << insn->bit);
		break;
	}
	r.rip = next_rip;

	if (insn->dir == KVMX_EMU_DIR_WRITE || insn->dir == KVMX_EMU_DIR_RMW) {
		/* XCHG with memory is LOCKed without the prefix. */
		locked = insn->dir == KVMX_EMU_DIR_RMW &&
			 ((insn->flags & KVMX_EMU_INSN_LOCK) || insn->op == KVMX_EMU_OP_XCHG);
		if (locked)
			copy_bytes(old, buf, insn->mem_bytes);
		store_le(buf, res, insn->mem_bytes > 8 ? 8 : insn->mem_bytes);
		if (insn->mem_bytes > 8)
			store_le(buf + 8, res_hi, insn->mem_bytes - 8);
		ret = mem_access_old(ctxt, insn->seg, insn->la, buf, locked ? old : NULL,
				     insn->mem_bytes, true);
		if (ret && ret != KVMX_EMU_EXIT_WRITE)
			return ret;
	}
	copy_regs(&ctxt->regs, &r);
	return ret ? ret : KVMX_EMU_DONE;
}
