/* SPDX-License-Identifier: GPL-2.0 */
/*
 * x86 instruction decoder for the MMIO emulator: prefixes, opcode, ModRM,
 * SIB, displacement and immediate, in 16-, 32- and 64-bit modes, for the
 * instructions listed in emulate.h.  Only forms with a memory operand are
 * accepted.  See emulate.h for the API.
 */
#include "emulate.h"

/* A cursor over the instruction bytes. */
struct dec {
	const u8 *bytes;
	unsigned int avail;
	unsigned int pos;
	int err;		/* 0, or the first failure's result */
};

/*
 * Take n (1..8) little-endian bytes.  On failure return 0 and record the
 * failure: past 15 bytes is #GP(0), past the fetched bytes cannot be decoded.
 */
static u64 take(struct dec *d, unsigned int n)
{
	unsigned int i;
	u64 v = 0;

	if (d->err)
		return 0;
	if (d->pos + n > KVMX_EMU_MAX_INSN_LEN) {
		d->err = KVMX_EMU_FAULT;
		return 0;
	}
	if (d->pos + n > d->avail) {
		d->err = KVMX_EMU_UNHANDLEABLE;
		return 0;
	}
	for (i = 0; i < n; i++)
		v |= (u64)d->bytes[d->pos + i] << (8 * i);
	d->pos += n;
	return v;
}

static void set_fault(struct kvmx_emu_insn *insn, u8 vector)
{
	insn->fault.vector = vector;
	insn->fault.error_code_valid = vector == KVMX_EMU_GP_VECTOR;
	insn->fault.error_code = 0;
	insn->fault.address = 0;
}

static u64 linear(const struct kvmx_emu_ctxt *ctxt, u8 seg, u64 ea)
{
	return kvmx_emu_linear(ctxt->mode, seg, ctxt->seg_base[seg], ea);
}

/* Registers of the 16-bit forms, by ModRM.rm. */
static const u8 base16[8] = {
	KVMX_EMU_RBX, KVMX_EMU_RBX, KVMX_EMU_RBP, KVMX_EMU_RBP,
	KVMX_EMU_RSI, KVMX_EMU_RDI, KVMX_EMU_RBP, KVMX_EMU_RBX,
};

static const u8 index16[8] = {
	KVMX_EMU_RSI, KVMX_EMU_RDI, KVMX_EMU_RSI, KVMX_EMU_RDI,
	KVMX_EMU_NO_REG, KVMX_EMU_NO_REG, KVMX_EMU_NO_REG, KVMX_EMU_NO_REG,
};

/*
 * Decode the memory operand after ModRM: SIB and displacement.  Fills
 * insn->base, index, scale and disp (and the RIP-relative flag), which
 * kvmx_emu_address() turns into an address, and returns the default
 * segment.
 */
static u8 decode_mem(struct dec *d, const struct kvmx_emu_ctxt *ctxt,
		     struct kvmx_emu_insn *insn, u8 modrm, u8 rex)
{
	unsigned int mod = modrm >> 6, rm = modrm & 7;
	u8 seg = KVMX_EMU_SEG_DS;

	if (insn->ad_bytes == 2) {
		if (mod == 0 && rm == 6) {
			insn->disp = take(d, 2);
			return seg;
		}
		insn->base = base16[rm];
		insn->index = index16[rm];
		if (insn->base == KVMX_EMU_RBP)
			seg = KVMX_EMU_SEG_SS;
		if (mod == 1)
			insn->disp = kvmx_emu_sext(take(d, 1), 1);
		else if (mod == 2)
			insn->disp = take(d, 2);
		return seg;
	}

	if (rm == 4) {
		unsigned int sib = take(d, 1);
		unsigned int index = ((sib >> 3) & 7) | ((rex & 2) << 2);
		unsigned int base = (sib & 7) | ((rex & 1) << 3);

		if (index != KVMX_EMU_RSP) {
			insn->index = index;
			insn->scale = sib >> 6;
		}
		if ((base & 7) == KVMX_EMU_RBP && mod == 0) {
			insn->disp = kvmx_emu_sext(take(d, 4), 4);
		} else {
			insn->base = base;
			if (base == KVMX_EMU_RSP || base == KVMX_EMU_RBP)
				seg = KVMX_EMU_SEG_SS;
		}
	} else if (rm == 5 && mod == 0) {
		insn->disp = kvmx_emu_sext(take(d, 4), 4);
		if (ctxt->mode == KVMX_EMU_MODE_64)
			insn->flags |= KVMX_EMU_INSN_RIPREL;
	} else {
		insn->base = rm | ((rex & 1) << 3);
		if (insn->base == KVMX_EMU_RBP)
			seg = KVMX_EMU_SEG_SS;
	}
	if (mod == 1)
		insn->disp += kvmx_emu_sext(take(d, 1), 1);
	else if (mod == 2)
		insn->disp += kvmx_emu_sext(take(d, 4), 4);
	return seg;
}

/* Whether LOCK is allowed: a read-modify-write of one of these operations. */
static bool lock_ok(const struct kvmx_emu_insn *insn)
{
	if (insn->dir != KVMX_EMU_DIR_RMW)
		return false;
	switch (insn->op) {
	case KVMX_EMU_OP_ADD:
	case KVMX_EMU_OP_OR:
	case KVMX_EMU_OP_ADC:
	case KVMX_EMU_OP_SBB:
	case KVMX_EMU_OP_AND:
	case KVMX_EMU_OP_SUB:
	case KVMX_EMU_OP_XOR:
	case KVMX_EMU_OP_XCHG:
	case KVMX_EMU_OP_NOT:
	case KVMX_EMU_OP_NEG:
	case KVMX_EMU_OP_INC:
	case KVMX_EMU_OP_DEC:
	case KVMX_EMU_OP_BTS:
	case KVMX_EMU_OP_BTR:
	case KVMX_EMU_OP_BTC:
	case KVMX_EMU_OP_CMPXCHG:
	case KVMX_EMU_OP_CMPXCHG8B:
		return true;
	}
	return false;
}

/* Immediate kinds. */
enum {
	IMM_NONE,
	IMM_B,		/* imm8, zero-extended */
	IMM_BS,		/* imm8, sign-extended */
	IMM_Z,		/* imm16 or imm32 (sign-extended to 64 bits) */
};

/*
 * Classify a ModRM-form opcode: fill op, dir, flags and sizes, and the
 * immediate kind.  Returns false for what is not supported.
 */
static bool classify(const struct kvmx_emu_ctxt *ctxt, struct kvmx_emu_insn *insn,
		     unsigned int reg, int *imm)
{
	bool mode64 = ctxt->mode == KVMX_EMU_MODE_64;
	u8 b = insn->opcode[0] == 0x0f ? insn->opcode[1] : insn->opcode[0];
	bool byte_op = false;

	*imm = IMM_NONE;
	if (insn->opcode[0] == 0x0f) {
		switch (b) {
		case 0xb6:
		case 0xb7:
		case 0xbe:
		case 0xbf:
			insn->op = b < 0xb8 ? KVMX_EMU_OP_MOVZX : KVMX_EMU_OP_MOVSX;
			insn->mem_bytes = (b & 1) ? 2 : 1;
			insn->dir = KVMX_EMU_DIR_READ;
			insn->flags |= KVMX_EMU_INSN_REGDST;
			return true;
		case 0xa3:
		case 0xab:
		case 0xb3:
		case 0xbb:
			insn->op = KVMX_EMU_OP_BT + ((b >> 3) & 3);
			break;
		case 0xba:
			if (reg < 4)
				return false;
			insn->op = KVMX_EMU_OP_BT + (reg - 4);
			insn->reg = KVMX_EMU_NO_REG;
			*imm = IMM_B;
			break;
		case 0xb0:
		case 0xb1:
			insn->op = KVMX_EMU_OP_CMPXCHG;
			insn->dir = KVMX_EMU_DIR_RMW;
			byte_op = b == 0xb0;
			goto out;
		case 0xc7:
			/* CMPXCHG8B m64, or CMPXCHG16B m128 with REX.W. */
			if (reg != 1)
				return false;
			insn->op = KVMX_EMU_OP_CMPXCHG8B;
			insn->dir = KVMX_EMU_DIR_RMW;
			insn->reg = KVMX_EMU_NO_REG;
			insn->op_bytes = insn->op_bytes == 8 ? 8 : 4;
			insn->mem_bytes = 2 * insn->op_bytes;
			return true;
		default:
			return false;
		}
		insn->dir = insn->op == KVMX_EMU_OP_BT ? KVMX_EMU_DIR_READ : KVMX_EMU_DIR_RMW;
		insn->mem_bytes = insn->op_bytes;
		return true;
	}

	if (b < 0x40 && (b & 7) < 4) {
		/* 00-03, 08-0b, ... 38-3b: ALU r/m,r and r,r/m */
		insn->op = KVMX_EMU_OP_ADD + (b >> 3);
		byte_op = !(b & 1);
		if (b & 2) {
			insn->flags |= KVMX_EMU_INSN_REGDST;
			insn->dir = KVMX_EMU_DIR_READ;
		} else {
			insn->dir = insn->op == KVMX_EMU_OP_CMP ?
				    KVMX_EMU_DIR_READ : KVMX_EMU_DIR_RMW;
		}
		goto out;
	}

	switch (b) {
	case 0x63:
		if (!mode64)
			return false;
		insn->op = KVMX_EMU_OP_MOVSX;
		insn->dir = KVMX_EMU_DIR_READ;
		insn->flags |= KVMX_EMU_INSN_REGDST;
		insn->mem_bytes = insn->op_bytes == 8 ? 4 : insn->op_bytes;
		return true;
	case 0x80:
	case 0x81:
	case 0x82:
	case 0x83:
		if (b == 0x82 && mode64)
			return false;
		insn->op = KVMX_EMU_OP_ADD + reg;
		insn->dir = insn->op == KVMX_EMU_OP_CMP ? KVMX_EMU_DIR_READ : KVMX_EMU_DIR_RMW;
		insn->reg = KVMX_EMU_NO_REG;
		byte_op = b != 0x81 && b != 0x83;
		*imm = b == 0x81 ? IMM_Z : b == 0x83 ? IMM_BS : IMM_B;
		break;
	case 0x84:
	case 0x85:
		insn->op = KVMX_EMU_OP_TEST;
		insn->dir = KVMX_EMU_DIR_READ;
		byte_op = b == 0x84;
		break;
	case 0x86:
	case 0x87:
		insn->op = KVMX_EMU_OP_XCHG;
		insn->dir = KVMX_EMU_DIR_RMW;
		byte_op = b == 0x86;
		break;
	case 0x88:
	case 0x89:
	case 0x8a:
	case 0x8b:
		insn->op = KVMX_EMU_OP_MOV;
		byte_op = !(b & 1);
		if (b & 2) {
			insn->flags |= KVMX_EMU_INSN_REGDST;
			insn->dir = KVMX_EMU_DIR_READ;
		} else {
			insn->dir = KVMX_EMU_DIR_WRITE;
		}
		break;
	case 0xc6:
	case 0xc7:
		if (reg != 0)
			return false;
		insn->op = KVMX_EMU_OP_MOV;
		insn->dir = KVMX_EMU_DIR_WRITE;
		insn->reg = KVMX_EMU_NO_REG;
		byte_op = b == 0xc6;
		*imm = byte_op ? IMM_B : IMM_Z;
		break;
	case 0xf6:
	case 0xf7:
		byte_op = b == 0xf6;
		insn->reg = KVMX_EMU_NO_REG;
		if (reg < 2) {
			insn->op = KVMX_EMU_OP_TEST;
			insn->dir = KVMX_EMU_DIR_READ;
			*imm = byte_op ? IMM_B : IMM_Z;
		} else if (reg < 4) {
			insn->op = reg == 2 ? KVMX_EMU_OP_NOT : KVMX_EMU_OP_NEG;
			insn->dir = KVMX_EMU_DIR_RMW;
		} else {
			return false;
		}
		break;
	case 0xfe:
	case 0xff:
		if (reg > 1)
			return false;
		byte_op = b == 0xfe;
		insn->reg = KVMX_EMU_NO_REG;
		insn->op = reg ? KVMX_EMU_OP_DEC : KVMX_EMU_OP_INC;
		insn->dir = KVMX_EMU_DIR_RMW;
		break;
	default:
		return false;
	}
out:
	if (byte_op) {
		insn->op_bytes = 1;
		if (insn->reg != KVMX_EMU_NO_REG && insn->reg >= 4 && insn->reg < 8 &&
		    !(insn->flags & KVMX_EMU_INSN_REX)) {
			insn->reg -= 4;
			insn->flags |= KVMX_EMU_INSN_HREG;
		}
	}
	insn->mem_bytes = insn->op_bytes;
	return true;
}

/* A0-A3 (MOV with moffs) and A4-AF (string instructions). */
static bool decode_ax(struct dec *d, struct kvmx_emu_insn *insn, u8 seg_ovr, u8 rep)
{
	u8 b = insn->opcode[0];

	if (!(b & 1))
		insn->op_bytes = 1;
	insn->mem_bytes = insn->op_bytes;
	insn->seg = seg_ovr != 0xff ? seg_ovr : KVMX_EMU_SEG_DS;

	if (b < 0xa4) {
		insn->op = KVMX_EMU_OP_MOV;
		insn->reg = KVMX_EMU_RAX;
		if (b & 2) {
			insn->dir = KVMX_EMU_DIR_WRITE;
		} else {
			insn->dir = KVMX_EMU_DIR_READ;
			insn->flags |= KVMX_EMU_INSN_REGDST;
		}
		insn->disp = take(d, insn->ad_bytes);
		return true;
	}

	insn->rep = rep;
	switch (b & ~1) {
	case 0xa4:
		insn->op = KVMX_EMU_OP_MOVS;
		insn->dir = KVMX_EMU_DIR_COPY;
		break;
	case 0xaa:
		insn->op = KVMX_EMU_OP_STOS;
		insn->dir = KVMX_EMU_DIR_WRITE;
		insn->reg = KVMX_EMU_RAX;
		insn->seg = KVMX_EMU_SEG_ES;
		break;
	case 0xac:
		insn->op = KVMX_EMU_OP_LODS;
		insn->dir = KVMX_EMU_DIR_READ;
		insn->reg = KVMX_EMU_RAX;
		insn->flags |= KVMX_EMU_INSN_REGDST;
		break;
	default:
		return false;
	}
	insn->base = insn->op == KVMX_EMU_OP_STOS ? KVMX_EMU_RDI : KVMX_EMU_RSI;
	return true;
}

void kvmx_emu_address(const struct kvmx_emu_ctxt *ctxt, struct kvmx_emu_insn *insn)
{
	const u64 *gpr = ctxt->regs.gpr;

	insn->ea = kvmx_emu_ea(insn, gpr, ctxt->regs.rip);
	if (insn->flags & KVMX_EMU_INSN_BITREG)
		insn->bit = gpr[insn->reg] & (insn->op_bytes * 8 - 1);
	insn->la = linear(ctxt, insn->seg, insn->ea);
	if (insn->op == KVMX_EMU_OP_MOVS)
		insn->la2 = linear(ctxt, KVMX_EMU_SEG_ES,
				   gpr[KVMX_EMU_RDI] & kvmx_emu_mask(insn->ad_bytes));
}

static void zero_insn(struct kvmx_emu_insn *insn)
{
	u8 *p = (u8 *)insn;
	size_t i;

	for (i = 0; i < sizeof(*insn); i++)
		p[i] = 0;
}

int kvmx_emu_decode(const struct kvmx_emu_ctxt *ctxt, struct kvmx_emu_insn *insn)
{
	bool mode64 = ctxt->mode == KVMX_EMU_MODE_64;
	bool opsize = false, adsize = false;
	u8 rex = 0, seg_ovr = 0xff, rep = 0, b, seg;
	unsigned int modrm = 0;
	int imm = IMM_NONE;
	struct dec d = {
		.bytes = ctxt->insn_bytes,
		.avail = ctxt->insn_len < KVMX_EMU_MAX_INSN_LEN ?
			 ctxt->insn_len : KVMX_EMU_MAX_INSN_LEN,
	};

	zero_insn(insn);
	insn->reg = KVMX_EMU_NO_REG;
	insn->base = KVMX_EMU_NO_REG;
	insn->index = KVMX_EMU_NO_REG;
	if (ctxt->mode > KVMX_EMU_MODE_64)
		return KVMX_EMU_UNHANDLEABLE;

	/* Legacy prefixes; a REX prefix counts only right before the opcode. */
	for (;;) {
		b = take(&d, 1);
		if (d.err)
			goto fail;
		switch (b) {
		case 0x66:
			opsize = true;
			break;
		case 0x67:
			adsize = true;
			break;
		case 0x26:
		case 0x2e:
		case 0x36:
		case 0x3e:
			seg_ovr = (b >> 3) & 3;
			break;
		case 0x64:
		case 0x65:
			seg_ovr = KVMX_EMU_SEG_FS + (b & 1);
			break;
		case 0xf0:
			insn->flags |= KVMX_EMU_INSN_LOCK;
			break;
		case 0xf2:
		case 0xf3:
			rep = b;
			break;
		default:
			if (mode64 && (b & 0xf0) == 0x40) {
				rex = b;
				continue;
			}
			goto opcode;
		}
		rex = 0;
	}

opcode:
	if (rex)
		insn->flags |= KVMX_EMU_INSN_REX;
	switch (ctxt->mode) {
	case KVMX_EMU_MODE_16:
		insn->op_bytes = opsize ? 4 : 2;
		insn->ad_bytes = adsize ? 4 : 2;
		break;
	case KVMX_EMU_MODE_32:
		insn->op_bytes = opsize ? 2 : 4;
		insn->ad_bytes = adsize ? 2 : 4;
		break;
	default:
		insn->op_bytes = (rex & 8) ? 8 : opsize ? 2 : 4;
		insn->ad_bytes = adsize ? 4 : 8;
		break;
	}

	insn->opcode[0] = b;
	if (b >= 0xa0 && b <= 0xaf) {
		if (!decode_ax(&d, insn, seg_ovr, rep))
			return KVMX_EMU_UNHANDLEABLE;
		if (d.err)
			goto fail;
		goto done;
	}
	if (b == 0x0f) {
		insn->opcode[1] = take(&d, 1);
		if (d.err)
			goto fail;
	}
	/* Peek at ModRM first: an unsupported opcode may have none. */
	if (d.pos < d.avail)
		modrm = d.bytes[d.pos];
	insn->reg = ((modrm >> 3) & 7) | ((rex & 4) << 1);
	if (!classify(ctxt, insn, (modrm >> 3) & 7, &imm))
		return KVMX_EMU_UNHANDLEABLE;
	take(&d, 1);
	if (d.err)
		goto fail;
	if ((modrm >> 6) == 3)
		return KVMX_EMU_UNHANDLEABLE;	/* no memory operand */

	seg = decode_mem(&d, ctxt, insn, modrm, rex);
	insn->seg = seg_ovr != 0xff ? seg_ovr : seg;
	switch (imm) {
	case IMM_B:
		insn->imm = take(&d, 1);
		break;
	case IMM_BS:
		insn->imm = kvmx_emu_sext(take(&d, 1), 1);
		break;
	case IMM_Z:
		if (insn->op_bytes == 2)
			insn->imm = take(&d, 2);
		else
			insn->imm = kvmx_emu_sext(take(&d, 4), 4);
		break;
	}
	if (d.err)
		goto fail;
	if (imm != IMM_NONE)
		insn->flags |= KVMX_EMU_INSN_IMM;

	if (insn->op >= KVMX_EMU_OP_BT && insn->op <= KVMX_EMU_OP_BTC) {
		if (imm == IMM_NONE)
			insn->flags |= KVMX_EMU_INSN_BITREG;
		else
			insn->bit = insn->imm & (insn->op_bytes * 8 - 1);
	}

done:
	insn->len = d.pos;
	kvmx_emu_address(ctxt, insn);
	if ((insn->flags & KVMX_EMU_INSN_LOCK) && !lock_ok(insn)) {
		set_fault(insn, KVMX_EMU_UD_VECTOR);
		return KVMX_EMU_FAULT;
	}
	return KVMX_EMU_DONE;

fail:
	if (d.err == KVMX_EMU_FAULT)
		set_fault(insn, KVMX_EMU_GP_VECTOR);
	return d.err;
}
