/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvmx instruction decoder and emulator for MMIO accesses.
 *
 * When a guest access hits guest-physical memory with no RAM behind it, the
 * kernel fetches the faulting instruction's bytes and hands them, with the
 * vCPU's registers, to this code.  It is pure C: it includes only
 * "../types.h", calls nothing but the two callbacks below, writes no global
 * and does not recurse, so it builds in the module and in user-space tests.
 *
 * Context (struct kvmx_emu_ctxt), filled by the caller:
 *
 *   regs	gpr[16] (RAX RCX RDX RBX RSP RBP RSI RDI R8..R15, hardware order),
 *		rip and rflags.  Updated only when an instruction (or one REP
 *		iteration) completes, see "Results".
 *   mode	KVMX_EMU_MODE_16 (real mode, virtual-8086, protected mode with
 *		CS.D = 0), KVMX_EMU_MODE_32 (protected or compatibility mode
 *		with CS.D = 1) or KVMX_EMU_MODE_64 (long mode, CS.L = 1).
 *   la57	64-bit mode only: linear addresses are 57 bits (CR4.LA57), not 48.
 *   seg_base	bases of ES CS SS DS FS GS (KVMX_EMU_SEG_* order).  In 64-bit
 *		mode only FS and GS bases are used; the others count as 0.
 *   insn_bytes, insn_len
 *		the instruction bytes at CS:RIP, as many as the caller could
 *		fetch (at most 15).
 *   ops, opaque
 *		the memory callbacks and their first argument.
 *
 * Memory callbacks (struct kvmx_emu_ops):
 *
 *   read(opaque, la, buf, len, fault) and write(opaque, la, buf, len, fault)
 *   access len (1, 2, 4, 8, or 16 for CMPXCHG16B) bytes at linear address la (segment base plus
 *   effective address, the effective address truncated to the address size,
 *   the sum truncated to 32 bits outside 64-bit mode).  Data is little
 *   endian.  No segment limit or permission check is made here; in 64-bit
 *   mode a non-canonical access raises #GP(0) (#SS(0) for SS) before any
 *   callback.  One access may cross a page boundary: the callback gets it
 *   whole and splits it itself (as KVM does).  Each returns
 *
 *   KVMX_EMU_CB_CONTINUE  the access is done (a read filled buf).
 *   KVMX_EMU_CB_EXIT      the access goes to user space.  For a read, buf
 *			   is ignored, the step stops with KVMX_EMU_EXIT_READ
 *			   and commits nothing; once user space has supplied
 *			   the data the caller calls kvmx_emu_step() again on
 *			   the same instruction and state, and its read
 *			   callback must then return the data with CONTINUE.
 *			   For a write, the callback has taken the data; the
 *			   instruction completes and the step returns
 *			   KVMX_EMU_EXIT_WRITE.
 *   KVMX_EMU_CB_FAULT     the callback filled *fault (e.g. #PF); the step
 *			   returns KVMX_EMU_FAULT and commits nothing.
 *   KVMX_EMU_CB_UNHANDLEABLE  the callback cannot make this access (e.g. 16
 *			   bytes of MMIO); the step returns
 *			   KVMX_EMU_UNHANDLEABLE and commits nothing.
 *
 *   cmpxchg(opaque, la, old, buf, len, fault), optional, is the write of a
 *   LOCKed read-modify-write (XCHG's always is): write buf only if the
 *   len bytes at la still hold old (what the step read), atomically where
 *   they are RAM, as KVM's emulator_cmpxchg_emulated() does.  It returns
 *   what write() does, or KVMX_EMU_CB_RETRY when the memory changed: the
 *   step then returns KVMX_EMU_RETRY and commits nothing (the caller runs
 *   the instruction again).  Without it, LOCKed writes use write().
 *
 *   A step makes at most one read and at most one write, the read first, so
 *   a one-entry read cache is enough for restarts.  Read-modify-write forms
 *   read and write the same la; MOVS reads la and writes la2.
 *
 * Results of kvmx_emu_step() (enum kvmx_emu_result):
 *
 *   KVMX_EMU_DONE	the instruction, or one REP iteration, completed:
 *			registers, rip and rflags are committed.
 *   KVMX_EMU_EXIT_READ	a read must go to user space; nothing committed.
 *   KVMX_EMU_EXIT_WRITE	a write went to user space; everything committed.
 *   KVMX_EMU_FAULT	inject ctxt->fault; nothing committed.
 *   KVMX_EMU_UNHANDLEABLE
 *			cannot emulate (unsupported, no memory operand,
 *			truncated bytes); nothing committed.
 *   KVMX_EMU_RETRY	a LOCKed write found the memory changed since its
 *			read (cmpxchg); nothing committed.
 *
 * CMPXCHG compares the accumulator with the operand: equal, ZF is set and
 * the source is written; not, ZF is clear, the accumulator gets the operand
 * and the operand is written back unchanged (the CPU's write cycle, as KVM
 * does).  CMPXCHG8B and CMPXCHG16B (REX.W) likewise with rDX:rAX and
 * rCX:rBX, only ZF changing; CMPXCHG16B raises #GP(0) on an operand that is
 * not 16-byte aligned.
 *
 * REP string instructions (MOVS, STOS, LODS with F3 or F2) do one element
 * per step: RSI/RDI move by the element size (down when RFLAGS.DF is set)
 * and RCX drops by one, all at the address size.  While RCX is not zero
 * afterwards, rip stays on the instruction and rep_more is set (the guest
 * re-executes it, or the caller steps again).  RCX = 0 at the start makes no
 * access and only advances rip.
 *
 * Flags: CF PF AF ZF SF OF as the CPU sets them at the operand size.  Where
 * the SDM leaves a flag undefined, AND/OR/XOR/TEST clear AF and BT* leave
 * OF SF AF PF unchanged (what current CPUs do).  No other RFLAGS bit changes.
 *
 * Not done here (the caller's business or not emulated): segment limit,
 * type and privilege checks, alignment checks (#AC), the 4 GiB wrap of an
 * access that straddles the top of the 32-bit linear space, RFLAGS.TF/RF
 * and interrupt shadows.  A LOCKed read-modify-write is a read, then a
 * cmpxchg() of what was read (a write without that callback, and for MMIO,
 * as KVM does).
 */
#ifndef KVMX_EMULATE_H
#define KVMX_EMULATE_H

#include "../types.h"

#define KVMX_EMU_MAX_INSN_LEN	15

enum kvmx_emu_mode {
	KVMX_EMU_MODE_16,
	KVMX_EMU_MODE_32,
	KVMX_EMU_MODE_64,
};

/* Segment registers, in the hardware's encoding order. */
enum kvmx_emu_seg {
	KVMX_EMU_SEG_ES,
	KVMX_EMU_SEG_CS,
	KVMX_EMU_SEG_SS,
	KVMX_EMU_SEG_DS,
	KVMX_EMU_SEG_FS,
	KVMX_EMU_SEG_GS,
	KVMX_EMU_NR_SEGS,
};

/* General-purpose registers, in the hardware's encoding order. */
enum kvmx_emu_reg {
	KVMX_EMU_RAX,
	KVMX_EMU_RCX,
	KVMX_EMU_RDX,
	KVMX_EMU_RBX,
	KVMX_EMU_RSP,
	KVMX_EMU_RBP,
	KVMX_EMU_RSI,
	KVMX_EMU_RDI,
	KVMX_EMU_NR_GPRS = 16,
};

/* The arithmetic RFLAGS bits, and DF. */
#define KVMX_EMU_FLAG_CF	KVMX_BIT(0)
#define KVMX_EMU_FLAG_PF	KVMX_BIT(2)
#define KVMX_EMU_FLAG_AF	KVMX_BIT(4)
#define KVMX_EMU_FLAG_ZF	KVMX_BIT(6)
#define KVMX_EMU_FLAG_SF	KVMX_BIT(7)
#define KVMX_EMU_FLAG_DF	KVMX_BIT(10)
#define KVMX_EMU_FLAG_OF	KVMX_BIT(11)
#define KVMX_EMU_FLAGS_ARITH	(KVMX_EMU_FLAG_CF | KVMX_EMU_FLAG_PF | KVMX_EMU_FLAG_AF | \
				 KVMX_EMU_FLAG_ZF | KVMX_EMU_FLAG_SF | KVMX_EMU_FLAG_OF)

/*
 * Operations.  ADD..CMP follow the ModRM.reg encoding of the 80-83 group,
 * so KVMX_EMU_OP_ADD + n is ALU operation n.
 */
enum kvmx_emu_op {
	KVMX_EMU_OP_NONE,
	KVMX_EMU_OP_ADD,
	KVMX_EMU_OP_OR,
	KVMX_EMU_OP_ADC,
	KVMX_EMU_OP_SBB,
	KVMX_EMU_OP_AND,
	KVMX_EMU_OP_SUB,
	KVMX_EMU_OP_XOR,
	KVMX_EMU_OP_CMP,
	KVMX_EMU_OP_MOV,	/* 88 89 8A 8B A0-A3 C6 C7 */
	KVMX_EMU_OP_MOVZX,	/* 0F B6, 0F B7 */
	KVMX_EMU_OP_MOVSX,	/* 0F BE, 0F BF, 63 (MOVSXD, 64-bit mode) */
	KVMX_EMU_OP_TEST,	/* 84 85 F6/0 F6/1 F7/0 F7/1 */
	KVMX_EMU_OP_XCHG,	/* 86 87 */
	KVMX_EMU_OP_NOT,	/* F6/2 F7/2 */
	KVMX_EMU_OP_NEG,	/* F6/3 F7/3 */
	KVMX_EMU_OP_INC,	/* FE/0 FF/0 */
	KVMX_EMU_OP_DEC,	/* FE/1 FF/1 */
	KVMX_EMU_OP_BT,		/* 0F A3, 0F BA/4 */
	KVMX_EMU_OP_BTS,	/* 0F AB, 0F BA/5 */
	KVMX_EMU_OP_BTR,	/* 0F B3, 0F BA/6 */
	KVMX_EMU_OP_BTC,	/* 0F BB, 0F BA/7 */
	KVMX_EMU_OP_CMPXCHG,	/* 0F B0, 0F B1 */
	KVMX_EMU_OP_CMPXCHG8B,	/* 0F C7/1; CMPXCHG16B with REX.W (mem_bytes 16) */
	/* The string instructions last (see kvmx_emu_execute()). */
	KVMX_EMU_OP_MOVS,	/* A4 A5 */
	KVMX_EMU_OP_STOS,	/* AA AB */
	KVMX_EMU_OP_LODS,	/* AC AD */
	KVMX_EMU_NR_OPS,
};

/* What the instruction does to memory. */
enum kvmx_emu_dir {
	KVMX_EMU_DIR_READ,	/* reads la */
	KVMX_EMU_DIR_WRITE,	/* writes la */
	KVMX_EMU_DIR_RMW,	/* reads la, then writes la */
	KVMX_EMU_DIR_COPY,	/* MOVS: reads la, then writes la2 */
};

/* kvmx_emu_insn.flags */
#define KVMX_EMU_INSN_LOCK	KVMX_BIT(0)	/* F0 prefix */
#define KVMX_EMU_INSN_REX	KVMX_BIT(1)	/* a REX prefix was in effect */
#define KVMX_EMU_INSN_IMM	KVMX_BIT(2)	/* the source is imm, not reg */
#define KVMX_EMU_INSN_HREG	KVMX_BIT(3)	/* reg is AH CH DH or BH (reg 0-3, bits 15:8) */
#define KVMX_EMU_INSN_RIPREL	KVMX_BIT(4)	/* RIP-relative addressing */
#define KVMX_EMU_INSN_REGDST	KVMX_BIT(5)	/* "op reg, mem": reg is the first operand */
#define KVMX_EMU_INSN_BITREG	KVMX_BIT(6)	/* BT*: reg holds the bit offset, which moves ea */

/* kvmx_emu_insn.reg, base and index when there is no such register. */
#define KVMX_EMU_NO_REG		0xff

/* An exception to inject. */
struct kvmx_emu_fault {
	u64 address;		/* #PF: the faulting linear address (CR2) */
	u32 error_code;
	u8 vector;
	bool error_code_valid;
};

#define KVMX_EMU_UD_VECTOR	6
#define KVMX_EMU_SS_VECTOR	12
#define KVMX_EMU_GP_VECTOR	13

/* A decoded instruction. */
struct kvmx_emu_insn {
	u64 la;			/* linear address of the memory operand (MOVS: source) */
	u64 la2;		/* MOVS: destination linear address (ES:rDI) */
	u64 ea;			/* effective address of la, truncated to ad_bytes */
	u64 imm;		/* immediate, sign-extended to 64 bits where the ISA does */
	u64 disp;		/* displacement (or moffs) of ea, sign-extended */
	u8 base;		/* base register of ea, or KVMX_EMU_NO_REG */
	u8 index;		/* index register of ea, or KVMX_EMU_NO_REG */
	u8 scale;		/* the index is shifted left by scale (0-3) */
	u8 len;			/* instruction length in bytes, prefixes included */
	u8 op;			/* enum kvmx_emu_op */
	u8 dir;			/* enum kvmx_emu_dir */
	u8 op_bytes;		/* operation (register) size: 1, 2, 4 or 8 */
	/* Size of each memory access: < op_bytes for MOVZX/MOVSX, 2 * op_bytes for CMPXCHG8B. */
	u8 mem_bytes;
	u8 ad_bytes;		/* address size: 2, 4 or 8 */
	u8 seg;			/* enum kvmx_emu_seg of la */
	u8 reg;			/* register operand (0-15), or KVMX_EMU_NO_REG */
	u8 rep;			/* 0xf3 or 0xf2 on string instructions, else 0 */
	u8 flags;		/* KVMX_EMU_INSN_* */
	u8 bit;			/* BT*: bit number within the operand at la */
	u8 opcode[2];		/* opcode byte(s); opcode[0] == 0x0f for two-byte opcodes */
	struct kvmx_emu_fault fault;	/* when kvmx_emu_decode() returns KVMX_EMU_FAULT */
};

enum kvmx_emu_cb_result {
	KVMX_EMU_CB_CONTINUE,
	KVMX_EMU_CB_EXIT,
	KVMX_EMU_CB_FAULT,
	KVMX_EMU_CB_RETRY,		/* cmpxchg only: memory is no longer @old */
	KVMX_EMU_CB_UNHANDLEABLE,	/* an access the caller cannot carry out */
};

struct kvmx_emu_ops {
	int (*read)(void *opaque, u64 la, void *buf, unsigned int len,
		    struct kvmx_emu_fault *fault);
	int (*write)(void *opaque, u64 la, const void *buf, unsigned int len,
		     struct kvmx_emu_fault *fault);
	/* Optional: the atomic write of a LOCKed instruction (see the top). */
	int (*cmpxchg)(void *opaque, u64 la, const void *old, const void *buf,
		       unsigned int len, struct kvmx_emu_fault *fault);
};

enum kvmx_emu_result {
	KVMX_EMU_DONE,
	KVMX_EMU_EXIT_READ,
	KVMX_EMU_EXIT_WRITE,
	KVMX_EMU_FAULT,
	KVMX_EMU_UNHANDLEABLE,
	KVMX_EMU_RETRY,
};

struct kvmx_emu_regs {
	u64 gpr[KVMX_EMU_NR_GPRS];
	u64 rip;
	u64 rflags;
};

struct kvmx_emu_ctxt {
	/* In, and out on completion. */
	struct kvmx_emu_regs regs;

	/* In. */
	u64 seg_base[KVMX_EMU_NR_SEGS];
	const struct kvmx_emu_ops *ops;
	void *opaque;
	u8 mode;		/* enum kvmx_emu_mode */
	bool la57;
	u8 insn_len;		/* valid bytes in insn_bytes */
	u8 insn_bytes[KVMX_EMU_MAX_INSN_LEN];

	/* Out. */
	bool rep_more;		/* a REP iteration completed and more remain */
	struct kvmx_emu_insn insn;	/* the instruction the last step decoded */
	struct kvmx_emu_fault fault;	/* the exception of a KVMX_EMU_FAULT result */
};

/*
 * Decode ctxt->insn_bytes for ctxt->mode and compute its memory operand's
 * linear address from ctxt->regs and ctxt->seg_base.  Touches neither memory
 * nor ctxt.  Returns KVMX_EMU_DONE with *insn filled, KVMX_EMU_FAULT with
 * insn->fault filled (#UD for a misplaced LOCK, #GP(0) past 15 bytes), or
 * KVMX_EMU_UNHANDLEABLE (not supported, no memory operand, or fewer bytes
 * than the instruction needs).
 */
int kvmx_emu_decode(const struct kvmx_emu_ctxt *ctxt, struct kvmx_emu_insn *insn);

/*
 * The linear address of @ea in segment @seg with base @seg_base: the base
 * counts outside 64-bit mode (the sum truncated to 32 bits) and, in 64-bit
 * mode, for FS and GS only.
 */
static inline u64 kvmx_emu_linear(u8 mode, u8 seg, u64 seg_base, u64 ea)
{
	if (mode == KVMX_EMU_MODE_64)
		return seg == KVMX_EMU_SEG_FS || seg == KVMX_EMU_SEG_GS ? ea + seg_base : ea;
	return (u32)(ea + seg_base);
}

/* The low bytes * 8 bits, bytes in 1..8. */
static inline u64 kvmx_emu_mask(unsigned int bytes)
{
	return bytes >= 8 ? ~0ULL : (1ULL << (8 * bytes)) - 1;
}

/* v's low bytes * 8 bits, sign-extended to 64 bits; bytes in 1..8. */
static inline u64 kvmx_emu_sext(u64 v, unsigned int bytes)
{
	unsigned int sh = 64 - 8 * bytes;

	return (u64)((s64)(v << sh) >> sh);
}

/*
 * The effective address of insn's memory operand (MOVS: its source) with
 * registers @gpr, the instruction at @rip; truncated to the address size.
 * Inline: the MMIO fast path calls it on every access.
 */
static inline u64 kvmx_emu_ea(const struct kvmx_emu_insn *insn, const u64 *gpr, u64 rip)
{
	u64 ea = insn->disp;

	if (insn->base != KVMX_EMU_NO_REG)
		ea += gpr[insn->base];
	if (insn->index != KVMX_EMU_NO_REG)
		ea += gpr[insn->index] << insn->scale;
	if (insn->flags & KVMX_EMU_INSN_RIPREL)
		ea += rip + insn->len;
	if (insn->flags & KVMX_EMU_INSN_BITREG) {
		/* A register bit offset may reach outside the operand. */
		unsigned int bits = insn->op_bytes * 8;
		s64 sv = (s64)kvmx_emu_sext(gpr[insn->reg], insn->op_bytes);

		sv &= ~(s64)(bits - 1);
		ea += (u64)(sv >> 3);
	}
	return ea & kvmx_emu_mask(insn->ad_bytes);
}

/* The RIP after @insn at @rip: it wraps at 4 GiB outside 64-bit mode. */
static inline u64 kvmx_emu_next_rip(u8 mode, u64 rip, const struct kvmx_emu_insn *insn)
{
	rip += insn->len;
	return mode == KVMX_EMU_MODE_64 ? rip : (u32)rip;
}

/* The register operand's value at @bytes (AH..BH for KVMX_EMU_INSN_HREG). */
static inline u64 kvmx_emu_get_reg(const u64 *gpr, const struct kvmx_emu_insn *insn,
				   unsigned int bytes)
{
	if (insn->flags & KVMX_EMU_INSN_HREG)
		return (gpr[insn->reg] >> 8) & 0xff;
	return gpr[insn->reg] & kvmx_emu_mask(bytes);
}

/*
 * Compute insn's ea, la, la2 (and a register bit offset's bit) from its
 * addressing fields and ctxt->regs and ctxt->seg_base, as kvmx_emu_decode()
 * does.  With it a decoded instruction can be kept and executed again with
 * other register values: the decode depends only on the bytes and the mode.
 */
void kvmx_emu_address(const struct kvmx_emu_ctxt *ctxt, struct kvmx_emu_insn *insn);

/*
 * Emulate ctxt->insn, decoded from these bytes in ctxt->mode and addressed
 * with the current ctxt->regs (kvmx_emu_decode() or kvmx_emu_address()):
 * the second half of kvmx_emu_step().  Returns an enum kvmx_emu_result.
 */
int kvmx_emu_execute(struct kvmx_emu_ctxt *ctxt);

/*
 * Decode and emulate the instruction at ctxt->regs.rip (one element of a REP
 * string instruction).  Returns an enum kvmx_emu_result.
 */
int kvmx_emu_step(struct kvmx_emu_ctxt *ctxt);

/*
 * MOV, MOVZX and MOVSX, the instructions MMIO is mostly made of, access
 * memory once and change at most one register besides RIP, so a caller can
 * carry them out on its own register file (gpr[], hardware order) without
 * a context.  These two are what kvmx_emu_execute() does for them:
 *
 *   kvmx_emu_mov_store_value()	a store's data (its low mem_bytes bytes)
 *   kvmx_emu_mov_load()	a load's effect on the register, given the
 *				mem_bytes bytes read in @val
 */
static inline bool kvmx_emu_is_mov(const struct kvmx_emu_insn *insn)
{
	return insn->op >= KVMX_EMU_OP_MOV && insn->op <= KVMX_EMU_OP_MOVSX;
}

static inline u64 kvmx_emu_mov_store_value(const struct kvmx_emu_insn *insn, const u64 *gpr)
{
	u64 val = insn->flags & KVMX_EMU_INSN_IMM ? insn->imm :
		  kvmx_emu_get_reg(gpr, insn, insn->op_bytes);

	return val & kvmx_emu_mask(insn->mem_bytes);
}

void kvmx_emu_mov_load(const struct kvmx_emu_insn *insn, u64 *gpr, u64 val);

#endif /* KVMX_EMULATE_H */
