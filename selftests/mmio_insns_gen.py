#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Generate selftests/mmio_insns.inc, the rows of selftests/mmio_insns.cc.

Development-time only (the build does not run it).  Each row's expected
exits, registers and flags are computed here from the ISA's semantics
(below: alu(), the register-write rules, the string-instruction rules),
never by running a hypervisor; the instruction bytes come from GNU as
(.intel_syntax, .code16/.code32/.code64) or, where as would pick another
encoding, from explicit bytes, and every row's bytes are disassembled
with objdump to check that they are exactly one instruction.  With
--check-native the arithmetic model is also checked against this
machine's CPU (a generated C program runs each operation natively).

    python3 selftests/mmio_insns_gen.py [--check-native] > selftests/mmio_insns.inc
"""
import os
import random
import re
import subprocess
import sys
import tempfile

MODES = {16: 'M16', 32: 'M32', 64: 'M64'}
R64 = ['rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi'] + ['r%d' % i for i in range(8, 16)]
R32 = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'] + ['r%dd' % i for i in range(8, 16)]
R16 = ['ax', 'cx', 'dx', 'bx', 'sp', 'bp', 'si', 'di'] + ['r%dw' % i for i in range(8, 16)]
R8 = ['al', 'cl', 'dl', 'bl', 'spl', 'bpl', 'sil', 'dil'] + ['r%db' % i for i in range(8, 16)]
R8H = ['ah', 'ch', 'dh', 'bh']
ENUM = ['RAX', 'RCX', 'RDX', 'RBX', 'RSP', 'RBP', 'RSI', 'RDI'] + ['R%d' % i for i in range(8, 16)]
PTR = {1: 'byte', 2: 'word', 4: 'dword', 8: 'qword'}
CF, PF, AF, ZF, SF, DF, OF = 1, 4, 0x10, 0x40, 0x80, 0x400, 0x800
ARITH = CF | PF | AF | ZF | SF | OF
RSP0 = 0x1ff0
PREFIXES = (0x66, 0x67, 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0xf0, 0xf2, 0xf3)

rng = random.Random(20240611)
native_checks = []


def mask(size):
	return (1 << (8 * size)) - 1


def seed(mode, i):
	"""Initial value of a GPR the row does not set."""
	if i == 4:
		return RSP0
	v = 0x0102030405060708 * (i + 1) ^ 0xa5a5a5a5a5a5a5a5
	v &= (1 << 64) - 1
	return v if mode == 64 else v & 0xffffffff


def reg_of(name):
	"""(index, size, shift) of a register name."""
	for size, names in ((8, R64), (4, R32), (2, R16), (1, R8)):
		if name in names:
			return names.index(name), size, 0
	if name in R8H:
		return R8H.index(name), 1, 8
	raise ValueError(name)


def rname(i, size, mode=64):
	return {8: R64, 4: R32, 2: R16, 1: R8}[size][i]


def parity(v):
	return 0 if bin(v & 0xff).count('1') & 1 else PF


def szp(r, size):
	f = parity(r)
	if r == 0:
		f |= ZF
	if r >> (8 * size - 1) & 1:
		f |= SF
	return f


def alu(op, a, b, size, flags_in):
	"""(result, flags, undefined flags) of op at size; flags are the whole
	arithmetic set (unaffected ones carried from flags_in)."""
	m = mask(size)
	top = 8 * size - 1
	cin = flags_in & CF
	a &= m
	b &= m
	keep = flags_in & ARITH
	if op in ('add', 'adc', 'inc'):
		c = cin if op == 'adc' else 0
		r = a + b + c
		f = (CF if r > m else 0)
		r &= m
		f |= OF if ((a ^ r) & (b ^ r)) >> top & 1 else 0
		f |= AF if (a ^ b ^ r) & 0x10 else 0
		f |= szp(r, size)
		if op == 'inc':
			f = (f & ~CF) | (keep & CF)
		return r, f, 0
	if op in ('sub', 'sbb', 'cmp', 'dec', 'neg'):
		if op == 'neg':
			a, b = 0, a
		c = cin if op == 'sbb' else 0
		r = (a - b - c) & m
		f = CF if a < b + c else 0
		f |= OF if ((a ^ b) & (a ^ r)) >> top & 1 else 0
		f |= AF if (a ^ b ^ r) & 0x10 else 0
		f |= szp(r, size)
		if op == 'dec':
			f = (f & ~CF) | (keep & CF)
		return r, f, 0
	if op in ('and', 'or', 'xor', 'test'):
		r = {'and': a & b, 'test': a & b, 'or': a | b, 'xor': a ^ b}[op]
		return r, szp(r, size), AF
	if op == 'not':
		return ~a & m, keep, 0
	raise ValueError(op)


def bitop(op, v, bit, size, flags_in):
	"""BT*: (new value, flags, undefined)."""
	cf = CF if v >> bit & 1 else 0
	r = {'bt': v, 'bts': v | 1 << bit, 'btr': v & ~(1 << bit), 'btc': v ^ 1 << bit}[op]
	return r & mask(size), (flags_in & ARITH & ~CF) | cf, OF | SF | AF | PF


class Row:
	def __init__(self, fam, mode, text, regs_in=None, flags_in=0, code=None):
		self.fam = fam
		self.mode = mode
		self.text = text
		self.code = code	# explicit bytes, or None: assemble text
		self.regs = {i: seed(mode, i) for i in range(16 if mode == 64 else 8)}
		self.set_in = {}
		for k, v in (regs_in or {}).items():
			self.set_reg(k, v, initial=True)
		self.flags_in = flags_in
		self.flags = flags_in
		self.undef = 0
		self.exits = []
		self.extra = []
		self.bytes = None
		self.gpa_fix = None	# fn(len) for RIP-relative rows

	def get(self, name):
		i, size, sh = reg_of(name)
		return self.regs[i] >> sh & mask(size)

	def set_reg(self, name, v, initial=False):
		i, size, sh = reg_of(name)
		old = self.regs[i]
		if size == 8:
			new = v & mask(8)
		elif size == 4:
			new = v & mask(4)	# zero-extends (the upper half is 0 outside 64-bit mode)
		else:
			m = mask(size) << sh
			new = (old & ~m) | ((v << sh) & m)
		self.regs[i] = new
		if initial:
			self.set_in[i] = new

	def rd(self, gpa, size, data):
		self.exits.append((gpa, size, 0, data & mask(size)))

	def wr(self, gpa, size, data):
		self.exits.append((gpa, size, 1, data & mask(size)))


rows = []


def new(fam, mode, text, regs_in=None, flags_in=0, code=None):
	r = Row(fam, mode, text, regs_in, flags_in, code)
	rows.append(r)
	return r


# Memory operands per mode: (text, registers, gpa, extra, segment note).
# The registers are the address registers; the row must not use them
# otherwise.
MEMS = {
	16: [
		('[bx]', {'ebx': 0x3010}, 0x3010, None),
		('[si+0x20]', {'esi': 0x3000}, 0x3020, None),
		('[bx+di+0x1234]', {'ebx': 0x1000, 'edi': 0xe00}, 0x3034, None),
		('[0x3040]', {}, 0x3040, None),
		('[bp+si-0x10]', {'ebp': 0x3000, 'esi': 0x60}, 0x3050, None),
		('[ebx+ecx*4+0x8]', {'ebx': 0x3000, 'ecx': 0x18}, 0x3068, None),
		('es:[di]', {'edi': 0x3000}, 0x13000, '.seg = {ES, 0x1000, 0x10000}'),
		('[bp+0x70]', {'ebp': 0x3000}, 0x23070, '.seg = {SS, 0x2000, 0x20000}'),
		('[bx+si]', {'ebx': 0x12343000, 'esi': 0x80}, 0x3080, None),
	],
	32: [
		('[ebx]', {'ebx': 0xfebf0010}, 0xfebf0010, None),
		('[esi+0x100]', {'esi': 0x3000}, 0x3100, None),
		('[ebx+ecx*4+0x8]', {'ebx': 0x200000, 'ecx': 0x10}, 0x200048, None),
		('[0xfebf1000]', {}, 0xfebf1000, None),
		('[ebp-0x10]', {'ebp': 0x3010}, 0x3000, None),
		('[bx+si]', {'ebx': 0x55553000, 'esi': 0x80}, 0x3080, None),
		('fs:[edi]', {'edi': 0x20}, 0x100020, '.seg = {FS, 0x10, 0x100000}'),
		('[esp+0x2000]', {}, 0x3ff0, None),
		('es:[ebx+0x10]', {'ebx': 0x10}, 0xfee00020, '.seg = {ES, 0x10, 0xfee00000}'),
	],
	64: [
		('[rbx]', {'rbx': 0x3000}, 0x3000, None),
		('[r9+r10*8+0x10]', {'r9': 0x200000, 'r10': 2}, 0x200020, None),
		('[rip+0x1ff000]', {}, 'rip', None),
		('[0x3fff0000]', {}, 0x3fff0000, None),
		('[r13]', {'r13': 0x3030}, 0x3030, None),
		('[r12+0x40]', {'r12': 0x3000}, 0x3040, None),
		('gs:[rsi]', {'rsi': 0x18}, 0x3ff00018, '.seg = {GS, 0, 0x3ff00000}'),
		('[ebx]', {'rbx': 0xffffffff00003000}, 0x3000, None),
		('fs:[0x10]', {}, 0x200010, '.seg = {FS, 0, 0x200000}'),
		('[rsp+rbp*2-0x10]', {'rbp': 0x1000}, 0x3fe0, None),
	],
}
REGS_FREE = {
	16: ['eax', 'edx', 'ecx', 'ebx', 'esi', 'edi', 'ebp'],
	32: ['eax', 'edx', 'ecx', 'ebx', 'esi', 'edi', 'ebp'],
	64: ['rax', 'rdx', 'rcx', 'rbx', 'rsi', 'rdi', 'rbp', 'r8', 'r9', 'r10', 'r11', 'r12',
	     'r13', 'r14', 'r15'],
}
mem_i = {16: 0, 32: 0, 64: 0}
reg_i = {16: 0, 32: 0, 64: 0}


def pick_mem(mode):
	m = MEMS[mode][mem_i[mode] % len(MEMS[mode])]
	mem_i[mode] += 1
	return m


def pick_reg(mode, size, avoid, high_ok=True):
	"""A register name of size not among the address registers."""
	avoid_i = {reg_of(a)[0] for a in avoid}
	cands = [r for r in REGS_FREE[mode] if reg_of(r)[0] not in avoid_i]
	name = cands[reg_i[mode] % len(cands)]
	reg_i[mode] += 1
	i = reg_of(name)[0]
	if size == 1 and mode != 64 and high_ok and i < 4 and reg_i[mode] % 3 == 0:
		return R8H[i]
	if size == 1 and mode != 64 and i >= 4:
		# no SPL..DIL outside 64-bit mode
		cands = [r for r in cands if reg_of(r)[0] < 4]
		name = cands[reg_i[mode] % len(cands)]
		i = reg_of(name)[0]
	return rname(i, size)


def rval(size):
	"""A random value with bits set across the size."""
	return rng.getrandbits(8 * size)


def memrow(fam, mode, fmt, size, mem=None, flags_in=0, extra_regs=None, **kw):
	"""New row with fmt's {m} replaced by the sized memory operand; returns
	(row, gpa)."""
	text_m, mregs, gpa, seg = mem or pick_mem(mode)
	regs = dict(mregs)
	regs.update(extra_regs or {})
	sized = '%s ptr %s' % (PTR[size], text_m) if size else text_m
	r = new(fam, mode, fmt.format(m=sized), regs, flags_in, **kw)
	if seg:
		r.extra.append(seg)
	if gpa == 'rip':
		r.gpa_fix = (0x1ff000, 0)
		gpa = 0
	return r, gpa


def mode_sizes(mode):
	return (1, 2, 4, 8) if mode == 64 else (1, 2, 4)


# ---- MOV -----------------------------------------------------------------
def gen_mov():
	for mode in (16, 32, 64):
		for size in mode_sizes(mode):
			for _ in range(2):
				# store: 88/89
				m = pick_mem(mode)
				reg = pick_reg(mode, size, m[1])
				v = rval(size)
				r, gpa = memrow('mov', mode, 'mov {m}, ' + reg, size, m,
						flags_in=rng.choice([0, ARITH]), extra_regs={reg: v} if size >= 4 else None)
				if size < 4:
					r.set_reg(reg, v, initial=True)
				r.wr(gpa, size, r.get(reg))
				# load: 8a/8b
				m = pick_mem(mode)
				reg = pick_reg(mode, size, m[1])
				r, gpa = memrow('mov', mode, 'mov ' + reg + ', {m}', size, m,
						flags_in=rng.choice([0, ARITH]))
				d = rval(size)
				r.rd(gpa, size, d)
				r.set_reg(reg, d)
			# immediate: c6/c7
			m = pick_mem(mode)
			imm = rval(min(size, 4))
			text = '%#x' % imm
			v = imm
			if size == 8:
				imm |= 0x80000000  # sign-extended to 64 bits
				text = '-%#x' % (0x100000000 - imm)
				v = imm | 0xffffffff00000000
			r, gpa = memrow('mov', mode, 'mov {m}, ' + text, size, m)
			r.wr(gpa, size, v)
	# moffs: a0-a3
	for mode, addr in ((16, 0x3456), (32, 0xfebf2344), (64, 0x3fff1238)):
		for size in mode_sizes(mode):
			acc = rname(0, size)
			d = rval(size)
			if mode == 64:
				r = new('moffs', mode, 'movabs %s, %s ptr ds:%#x' % (acc, PTR[size], addr))
			else:
				r = new('moffs', mode, 'mov %s, %s ptr ds:%#x' % (acc, PTR[size], addr))
			r.rd(addr, size, d)
			r.set_reg(acc, d)
			v = rval(size)
			if mode == 64:
				r = new('moffs', mode, 'movabs %s ptr ds:%#x, %s' % (PTR[size], addr + 8, acc))
			else:
				r = new('moffs', mode, 'mov %s ptr ds:%#x, %s' % (PTR[size], addr + 8, acc))
			r.set_reg(acc, v, initial=True)
			r.wr(addr + 8, size, v)
		# segment override on moffs
		seg = {16: ('es', '.seg = {ES, 0x1000, 0x10000}', 0x10000),
		       32: ('fs', '.seg = {FS, 0x10, 0x100000}', 0x100000),
		       64: ('gs', '.seg = {GS, 0, 0x3ff00000}', 0x3ff00000)}[mode]
		d = rval(2)
		if mode == 64:
			r = new('moffs', mode, 'movabs ax, word ptr %s:%#x' % (seg[0], 0x100))
		else:
			r = new('moffs', mode, 'mov ax, word ptr %s:%#x' % (seg[0], 0x100))
		r.extra.append(seg[1])
		r.rd(seg[2] + 0x100, 2, d)
		r.set_reg('ax', d)
	# 64-bit address-size moffs (67 a1: 32-bit moffs in 64-bit mode)
	r = new('moffs', 64, 'addr32 mov eax, dword ptr ds:0x3000', code='67 a1 00 30 00 00')
	d = rval(4)
	r.rd(0x3000, 4, d)
	r.set_reg('eax', d)


# ---- MOVZX / MOVSX / MOVSXD ------------------------------------------------
def sext(v, size, to):
	v &= mask(size)
	if v >> (8 * size - 1) & 1:
		v |= mask(to) & ~mask(size)
	return v


def gen_movx():
	for mode in (16, 32, 64):
		for op in ('movzx', 'movsx'):
			for src in (1, 2):
				for dst in (2, 4, 8):
					if dst <= src or (dst == 8 and mode != 64):
						continue
					for neg in (False, True):
						m = pick_mem(mode)
						reg = pick_reg(mode, dst, m[1])
						r, gpa = memrow(op, mode, op + ' ' + reg + ', {m}', src, m)
						d = rval(src)
						d = d | 1 << (8 * src - 1) if neg else d & ~(1 << (8 * src - 1))
						r.rd(gpa, src, d)
						r.set_reg(reg, sext(d, src, dst) if op == 'movsx' else d)
		if mode == 64:
			for dst, src in ((8, 4), (4, 4), (2, 2)):
				for neg in (False, True):
					m = pick_mem(64)
					reg = pick_reg(64, dst, m[1])
					r, gpa = memrow('movsxd', 64, 'movsxd ' + reg + ', {m}', src, m)
					if dst == 2:
						# as knows no MOVSXD r16, r/m16: 66 before the r32 form
						r.asm = re.sub(r'^(movsxd )r(\d+)w, word', r'\1r\2d, dword', r.text)
						r.add66 = True
					d = rval(src)
					d = d | 1 << (8 * src - 1) if neg else d & ~(1 << (8 * src - 1))
					r.rd(gpa, src, d)
					r.set_reg(reg, sext(d, src, dst))
					if dst == 2:
						# KVM (6.1, SrcMem32) reads 4 bytes for 66 63; the
						# upper two it reads must not reach the register.
						r.kvm_exits = [(gpa, 4, 0, d | random.Random(gpa).getrandbits(16) << 16)]


# ---- ALU ---------------------------------------------------------------------
ALU_OPS = ['add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor', 'cmp']


def operands(size):
	"""An interesting (a, b) pair."""
	m = mask(size)
	top = 1 << (8 * size - 1)
	k = rng.randrange(8)
	if k == 0:
		return m, 1		# carry out, zero
	if k == 1:
		return top - 1, 1	# signed overflow on add
	if k == 2:
		return top, 1		# signed overflow on sub
	if k == 3:
		v = rval(size)
		return v, v		# equal: zero on sub/xor
	if k == 4:
		return 0x0f & m, 0x01	# auxiliary carry
	return rval(size), rval(size)


def alu_flags_in(op):
	if op in ('adc', 'sbb'):
		return rng.choice([CF, CF | ZF | OF, 0])
	return rng.choice([0, ARITH, CF | SF])


def gen_alu():
	for mode in (16, 32, 64):
		for op in ALU_OPS:
			for size in mode_sizes(mode):
				# op mem, reg (00 01 08 09 ...): RMW, CMP reads only
				m = pick_mem(mode)
				reg = pick_reg(mode, size, m[1])
				a, b = operands(size)
				fin = alu_flags_in(op)
				r, gpa = memrow('alu', mode, op + ' {m}, ' + reg, size, m, flags_in=fin)
				r.set_reg(reg, b, initial=True)
				res, f, u = alu(op, a, b, size, fin)
				r.rd(gpa, size, a)
				if op != 'cmp':
					r.wr(gpa, size, res)
				r.flags, r.undef = f, u
				native_checks.append((op, size, a, b, fin))
				# op reg, mem (02 03 0a 0b ...): read
				m = pick_mem(mode)
				reg = pick_reg(mode, size, m[1])
				a, b = operands(size)
				fin = alu_flags_in(op)
				r, gpa = memrow('alu', mode, op + ' ' + reg + ', {m}', size, m, flags_in=fin)
				r.set_reg(reg, a, initial=True)
				res, f, u = alu(op, a, b, size, fin)
				r.rd(gpa, size, b)
				if op != 'cmp':
					r.set_reg(reg, res)
				r.flags, r.undef = f, u
				native_checks.append((op, size, a, b, fin))
				# immediates: 80 (byte), 81 (imm16/32), 83 (imm8 sign-extended)
				forms = ['80'] if size == 1 else ['81', '83']
				for form in forms:
					m = pick_mem(mode)
					a, _ = operands(size)
					if form == '83':
						i8 = rng.choice([0x01, 0x7f, 0x80, 0xff, rval(1)])
						b = sext(i8, 1, size)
						imm = '%#x' % i8 if i8 < 0x80 else '-%#x' % (0x100 - i8)
					elif form == '81':
						b = rval(min(size, 4)) | (0x100 if size > 1 else 0)
						if size == 8:
							b = sext(b, 4, 8)
							imm = '%#x' % (b & 0xffffffff) if b < 1 << 31 else '-%#x' % ((1 << 64) - b)
						else:
							imm = '%#x' % b
					else:
						b = rval(1)
						imm = '%#x' % b
					fin = alu_flags_in(op)
					r, gpa = memrow('alu', mode, op + ' {m}, ' + imm, size, m, flags_in=fin)
					if form == '81' and size == 8 and b >> 63:
						pass
					res, f, u = alu(op, a, b, size, fin)
					r.rd(gpa, size, a)
					if op != 'cmp':
						r.wr(gpa, size, res)
					r.flags, r.undef = f, u
					r.want_opcode = form
					native_checks.append((op, size, a, b, fin))
		# 82: the 32-bit-only alias of 80
		if mode != 64:
			m = pick_mem(mode)
			text_m, mregs, gpa, seg = m
			r = new('alu', mode, 'add byte ptr %s, 0x7f (82 /0)' % text_m, mregs, 0)
			r.code82 = (text_m, '0x7f')
			if seg:
				r.extra.append(seg)
			a = 0x01
			res, f, u = alu('add', a, 0x7f, 1, 0)
			r.rd(gpa, 1, a)
			r.wr(gpa, 1, res)
			r.flags, r.undef = f, u


# ---- TEST, XCHG, NOT, NEG, INC, DEC ----------------------------------------
def gen_unary():
	for mode in (16, 32, 64):
		for size in mode_sizes(mode):
			# test mem, reg (84/85)
			m = pick_mem(mode)
			reg = pick_reg(mode, size, m[1])
			a, b = operands(size)
			fin = rng.choice([0, ARITH])
			r, gpa = memrow('test', mode, 'test {m}, ' + reg, size, m, flags_in=fin)
			r.set_reg(reg, b, initial=True)
			r.rd(gpa, size, a)
			_, r.flags, r.undef = alu('test', a, b, size, fin)
			# test mem, imm (f6/f7 /0)
			m = pick_mem(mode)
			a, _ = operands(size)
			b = rval(min(size, 4))
			if size == 8:
				b &= 0x7fffffff
			fin = rng.choice([0, ARITH])
			r, gpa = memrow('test', mode, 'test {m}, %#x' % b, size, m, flags_in=fin)
			r.rd(gpa, size, a)
			_, r.flags, r.undef = alu('test', a, b, size, fin)
			# xchg mem, reg and reg, mem (86/87)
			for order in (0, 1):
				m = pick_mem(mode)
				reg = pick_reg(mode, size, m[1])
				old, v = rval(size), rval(size)
				fmt = 'xchg {m}, ' + reg if order == 0 else 'xchg ' + reg + ', {m}'
				r, gpa = memrow('xchg', mode, fmt, size, m, flags_in=ARITH)
				r.set_reg(reg, v, initial=True)
				r.rd(gpa, size, old)
				r.wr(gpa, size, v)
				r.set_reg(reg, old)
			# not, neg, inc, dec
			for op in ('not', 'neg', 'inc', 'dec'):
				m = pick_mem(mode)
				a = rng.choice([0, 1, mask(size), 1 << (8 * size - 1), (1 << (8 * size - 1)) - 1,
						0x0f, rval(size)])
				fin = rng.choice([0, ARITH, CF])
				r, gpa = memrow(op if op in ('not', 'neg') else 'incdec', mode, op + ' {m}', size, m,
						flags_in=fin)
				res, f, u = alu(op, a, 1, size, fin)
				r.rd(gpa, size, a)
				r.wr(gpa, size, res)
				r.flags, r.undef = f, u
				if op != 'not':
					native_checks.append((op, size, a, 1, fin))


# ---- BT, BTS, BTR, BTC -------------------------------------------------------
def gen_bt():
	for mode in (16, 32, 64):
		sizes = (2, 4, 8) if mode == 64 else (2, 4)
		for op in ('bt', 'bts', 'btr', 'btc'):
			for size in sizes:
				bits = 8 * size
				# register bit offset: within the operand, beyond it, negative
				for off in (rng.randrange(bits), bits + 3, -1):
					m = pick_mem(mode)
					if mode == 16 and m[0].startswith('es:') or m[0].startswith('[bp+0x70'):
						pass
					reg = pick_reg(mode, size, m[1], high_ok=False)
					r, gpa = memrow(op, mode, op + ' {m}, ' + reg, size, m,
							flags_in=rng.choice([0, ARITH]))
					if isinstance(gpa, int):
						gpa = gpa + (off // bits) * size
						if mode == 16 and not m[0].startswith('[e'):
							pass
					r.set_reg(reg, off & mask(size), initial=True)
					v = rval(size)
					bit = off % bits
					res, f, u = bitop(op, v, bit, size, r.flags_in)
					r.bt_off = (off // bits) * size
					r.rd(gpa, size, v)
					if op != 'bt':
						r.wr(gpa, size, res)
					r.flags, r.undef = f, u
				# immediate bit offset (0f ba): taken modulo the operand size
				for imm in (rng.randrange(bits), bits + 5):
					m = pick_mem(mode)
					r, gpa = memrow(op, mode, op + ' {m}, %d' % imm, size, m,
							flags_in=rng.choice([0, ARITH]))
					v = rval(size)
					res, f, u = bitop(op, v, imm % bits, size, r.flags_in)
					r.rd(gpa, size, v)
					if op != 'bt':
						r.wr(gpa, size, res)
					r.flags, r.undef = f, u


# ---- LOCK --------------------------------------------------------------------
def gen_lock():
	for mode in (16, 32, 64):
		for op in ('add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor', 'xchg', 'not', 'neg', 'inc', 'dec',
			   'bts', 'btr', 'btc'):
			size = rng.choice([s for s in mode_sizes(mode) if not (op.startswith('bt') and s == 1)])
			m = pick_mem(mode)
			fin = rng.choice([0, CF, ARITH])
			a = rval(size)
			if op in ALU_OPS:
				reg = pick_reg(mode, size, m[1])
				b = rval(size)
				r, gpa = memrow('lock', mode, 'lock ' + op + ' {m}, ' + reg, size, m, flags_in=fin)
				r.set_reg(reg, b, initial=True)
				res, f, u = alu(op, a, b, size, fin)
			elif op == 'xchg':
				reg = pick_reg(mode, size, m[1])
				b = rval(size)
				r, gpa = memrow('lock', mode, 'lock xchg {m}, ' + reg, size, m, flags_in=fin)
				r.set_reg(reg, b, initial=True)
				res, f, u = b, fin, 0
				r.set_reg(reg, a)
			elif op.startswith('bt'):
				imm = rng.randrange(8 * size)
				r, gpa = memrow('lock', mode, 'lock ' + op + ' {m}, %d' % imm, size, m, flags_in=fin)
				res, f, u = bitop(op, a, imm, size, fin)
			else:
				r, gpa = memrow('lock', mode, 'lock ' + op + ' {m}', size, m, flags_in=fin)
				res, f, u = alu(op, a, 1, size, fin)
			r.rd(gpa, size, a)
			r.wr(gpa, size, res)
			r.flags, r.undef = f, u


# ---- String instructions -------------------------------------------------------
SUF = {1: 'b', 2: 'w', 4: 'd', 8: 'q'}
RAM = 0x8000	# the data RAM page every row has


def gen_string():
	for mode in (16, 32, 64):
		ad = {16: 2, 32: 4, 64: 8}[mode]
		di, si, cx = rname(7, ad), rname(6, ad), rname(1, ad)
		ax = rname(0, 8 if mode == 64 else 4)
		mm = 0x3000 if mode == 16 else 0x200000 if mode == 32 else 0x3fff0000
		if mode == 16:
			mm = 0x3000
		for size in mode_sizes(mode):
			for rep, count, df in ((False, 1, False), (True, 3, False), (True, 2, True), (True, 0, False)):
				# STOS
				start = mm + 0x100 if not df else mm + 0x200
				v = rval(8 if mode == 64 else 4)
				pre = 'rep ' if rep else ''
				r = new('stos', mode, pre + 'stos' + SUF[size], {ax: v, di: start, cx: count},
					flags_in=DF if df else 0)
				step = -size if df else size
				n = count if rep else 1
				for k in range(n):
					r.wr(start + k * step, size, v)
				r.set_reg(di, start + n * step)
				if rep:
					r.set_reg(cx, 0)
				# LODS (REP LODS is valid, if useless)
				if rep and count == 3:
					count = 2
				r = new('lods', mode, pre + 'lods' + SUF[size], {si: start, cx: count},
					flags_in=DF if df else 0)
				n = count if rep else 1
				last = None
				for k in range(n):
					last = rval(size)
					r.rd(start + k * step, size, last)
				if last is not None:
					r.set_reg(rname(0, size), last)
				r.set_reg(si, start + n * step)
				if rep:
					r.set_reg(cx, 0)
			# MOVS: MMIO -> RAM, RAM -> MMIO, MMIO -> MMIO
			for kind in ('m2r', 'r2m', 'm2m'):
				for rep, count, df in ((False, 1, False), (True, 3, False), (True, 2, True)):
					src = (mm + 0x400) if kind != 'r2m' else RAM + 0x100
					dst = (mm + 0x800) if kind != 'm2r' else RAM + 0x200
					if df:
						src += 0x40
						dst += 0x40
					pre = 'rep ' if rep else ''
					r = new('movs', mode, pre + 'movs' + SUF[size] + '  (%s)' % {
						'm2r': 'MMIO to RAM', 'r2m': 'RAM to MMIO', 'm2m': 'MMIO to MMIO'}[kind],
						{si: src, di: dst, cx: count}, flags_in=DF if df else 0)
					r.asm = pre + 'movs' + SUF[size]
					step = -size if df else size
					n = count if rep else 1
					ram_in, ram_out = [], []
					for k in range(n):
						d = rval(size)
						s_a, d_a = src + k * step, dst + k * step
						if kind == 'r2m':
							ram_in.append((s_a, d, size))
						else:
							r.rd(s_a, size, d)
						if kind == 'm2r':
							ram_out.append((d_a, d, size))
						else:
							r.wr(d_a, size, d)
					r.ram_in, r.ram_out = ram_in, ram_out
					r.set_reg(si, src + n * step)
					r.set_reg(di, dst + n * step)
					if rep:
						r.set_reg(cx, 0)
	# Prefixes on string instructions.
	# 16-bit: DS and ES differ; a segment override on the MOVS source.
	r = new('movs', 16, 'rep movsw  (DS=0x100, ES=0x200)', {'esi': 0x3000, 'edi': 0x3100, 'ecx': 0x12340002})
	r.extra.append('.seg = {DS, 0x100, 0x1000}')
	r.extra2 = ('ES', 0x200, 0x2000)
	r.rd(0x4000, 2, 0x1111)
	r.wr(0x5100, 2, 0x1111)
	r.rd(0x4002, 2, 0x2222)
	r.wr(0x5102, 2, 0x2222)
	r.set_reg('esi', 0x3004)
	r.set_reg('edi', 0x3104)
	r.set_reg('ecx', 0x12340000)	# CX only, at 16-bit address size
	r = new('movs', 16, 'movs byte ptr es:[di], byte ptr fs:[si]  (FS=0x300)', {'esi': 0x10, 'edi': 0x3000},
		code='64 a4')
	r.extra.append('.seg = {FS, 0x300, 0x3000}')
	r.rd(0x3010, 1, 0x5a)
	r.wr(0x3000, 1, 0x5a)
	r.set_reg('esi', 0x11)
	r.set_reg('edi', 0x3001)
	# 16-bit with 66 and 67
	r = new('stos', 16, 'rep stosd  (66)', {'eax': 0xcafef00d, 'edi': 0x3000, 'ecx': 2})
	r.wr(0x3000, 4, 0xcafef00d)
	r.wr(0x3004, 4, 0xcafef00d)
	r.set_reg('edi', 0x3008)
	r.set_reg('ecx', 0)
	r = new('stos', 16, 'addr32 rep stosb  (67: EDI, ECX)', {'eax': 0x77, 'edi': 0x3000, 'ecx': 2},
		code='67 f3 aa')
	r.wr(0x3000, 1, 0x77)
	r.wr(0x3001, 1, 0x77)
	r.set_reg('edi', 0x3002)
	r.set_reg('ecx', 0)
	# 32-bit with 67: DI, CX only
	r = new('stos', 32, 'addr16 rep stosw  (67: DI, CX)', {'eax': 0xbeef, 'edi': 0xabcd3000, 'ecx': 0x50002},
		code='67 66 f3 ab')
	r.wr(0x3000, 2, 0xbeef)
	r.wr(0x3002, 2, 0xbeef)
	r.set_reg('edi', 0xabcd3004)
	r.set_reg('ecx', 0x50000)
	# 64-bit: 67 (EDI/ESI/ECX), REX.W, FS override on MOVS source
	r = new('stos', 64, 'addr32 rep stosd  (67: EDI, ECX)', {'rax': 0x11223344, 'rdi': 0x3000, 'rcx': 2},
		code='67 f3 ab')
	r.wr(0x3000, 4, 0x11223344)
	r.wr(0x3004, 4, 0x11223344)
	r.set_reg('rdi', 0x3008)
	r.set_reg('rcx', 0)
	r = new('movs', 64, 'movs byte ptr es:[rdi], byte ptr fs:[rsi]  (FS base 0x200000)',
		{'rsi': 0x10, 'rdi': 0x3000}, code='64 a4')
	r.extra.append('.seg = {FS, 0, 0x200000}')
	r.rd(0x200010, 1, 0xa5)
	r.wr(0x3000, 1, 0xa5)
	r.set_reg('rsi', 0x11)
	r.set_reg('rdi', 0x3001)
	r = new('lods', 64, 'lods qword ptr gs:[rsi]  (GS base 0x3ff00000)', {'rsi': 0x20}, code='65 48 ad')
	r.extra.append('.seg = {GS, 0, 0x3ff00000}')
	r.rd(0x3ff00020, 8, 0x0123456789abcdef)
	r.set_reg('rax', 0x0123456789abcdef)
	r.set_reg('rsi', 0x28)
	# ES override does not apply to the STOS destination (ES:rDI always); in
	# 64-bit mode ES's base is ignored anyway, so use FS: it must be ignored.
	r = new('stos', 64, 'fs stosb  (the override is ignored: ES:RDI)', {'rax': 0x42, 'rdi': 0x3000},
		code='64 aa')
	r.extra.append('.seg = {FS, 0, 0x200000}')
	r.wr(0x3000, 1, 0x42)
	r.set_reg('rdi', 0x3001)


# ---- Prefixes, REX, addressing -------------------------------------------------
def gen_prefix():
	# REX.R / REX.B / REX.X with high registers, SIB forms, RIP-relative
	for text, regs, gpa, size, reg in (
		('mov r15, qword ptr [r8]', {'r8': 0x3000}, 0x3000, 8, 'r15'),
		('mov r9d, dword ptr [r14+r15*2]', {'r14': 0x3000, 'r15': 0x10}, 0x3020, 4, 'r9d'),
		('mov r10w, word ptr [rax+rcx*1-0x8]', {'rax': 0x3000, 'rcx': 0x18}, 0x3010, 2, 'r10w'),
		('mov sil, byte ptr [rdx+0x7f]', {'rdx': 0x3000}, 0x307f, 1, 'sil'),
		('mov r12b, byte ptr [r11+rbx*4]', {'r11': 0x3000, 'rbx': 0x4}, 0x3010, 1, 'r12b'),
		('mov rax, qword ptr [rbp+0x0]', {'rbp': 0x3008}, 0x3008, 8, 'rax'),
		('mov rcx, qword ptr [rsp+0x1010]', {}, 0x3000, 8, 'rcx'),
		('mov edx, dword ptr [rip+0x2000]', {}, 'rip', 4, 'edx'),
		('mov rdx, qword ptr [rip-0x1000]', {}, 'ripneg', 8, 'rdx'),
		('mov eax, dword ptr [r8d+r9d*8]', {'r8': 0xffff000000003000, 'r9': 0x2}, 0x3010, 4, 'eax'),
		('mov eax, dword ptr [eip+0x2000]', {}, 'rip', 4, 'eax'),
	):
		if gpa == 'ripneg':
			continue  # below 0 from 0x1000: not useful
		r = new('prefix', 64, text, regs)
		d = rval(size)
		if gpa == 'rip':
			r.gpa_fix = (0x2000, 0)
			gpa = 0
		r.rd(gpa, size, d)
		r.set_reg(reg, d)
	# stores with REX.R sources
	for text, regs, gpa, size, reg in (
		('mov qword ptr [rbx], r8', {'rbx': 0x3000}, 0x3000, 8, 'r8'),
		('mov dword ptr [r13+0x8], r14d', {'r13': 0x3000}, 0x3008, 4, 'r14d'),
		('mov word ptr [r15*4+0x3000], r11w', {'r15': 0x3}, 0x300c, 2, 'r11w'),
		('mov byte ptr [rbx], dil', {'rbx': 0x3000}, 0x3000, 1, 'dil'),
	):
		r = new('prefix', 64, text, regs)
		r.wr(gpa, size, r.get(reg))
	# 66 in each mode, 67 in each mode
	r = new('prefix', 16, 'mov eax, dword ptr [bx]  (66)', {'ebx': 0x3000})
	r.rd(0x3000, 4, 0x89abcdef)
	r.set_reg('eax', 0x89abcdef)
	r = new('prefix', 16, 'mov word ptr [eax+ebx], cx  (67)', {'eax': 0x2000, 'ebx': 0x1000, 'ecx': 0x5555})
	r.wr(0x3000, 2, 0x5555)
	r = new('prefix', 16, 'mov edx, dword ptr [esi*8+0x3000]  (66 67)', {'esi': 2})
	r.rd(0x3010, 4, 0x12345678)
	r.set_reg('edx', 0x12345678)
	r = new('prefix', 32, 'mov ax, word ptr [esi]  (66)', {'esi': 0x3000, 'eax': 0xaaaaaaaa})
	r.rd(0x3000, 2, 0x1234)
	r.set_reg('ax', 0x1234)
	r = new('prefix', 32, 'mov dword ptr [di], eax  (67)', {'edi': 0x77773000, 'eax': 0xdeadbeef})
	r.wr(0x3000, 4, 0xdeadbeef)
	r = new('prefix', 32, 'mov word ptr [bp+di+0x10], ax  (66 67, SS)', {'ebp': 0x3000, 'edi': 0x20, 'eax': 0x4321})
	r.wr(0x3030, 2, 0x4321)
	r = new('prefix', 64, 'mov ax, word ptr [rbx]  (66)', {'rbx': 0x3000})
	r.rd(0x3000, 2, 0xfedc)
	r.set_reg('ax', 0xfedc)
	r = new('prefix', 64, 'mov qword ptr [ebx], rax  (67 REX.W)', {'rbx': 0x1234567800003000, 'rax': 0x1122334455667788})
	r.wr(0x3000, 8, 0x1122334455667788)
	r = new('prefix', 64, 'mov word ptr [ecx+edx*2], si  (66 67)', {'rcx': 0x3000, 'rdx': 0x8, 'rsi': 0xabcd})
	r.wr(0x3010, 2, 0xabcd)
	r = new('prefix', 64, 'rex mov byte ptr [rbx], al  (empty REX, 40 88)', {'rbx': 0x3000, 'rax': 0x99}, code='40 88 03')
	r.wr(0x3000, 1, 0x99)
	r = new('prefix', 64, 'mov byte ptr [rbx], ah  (no REX: AH)', {'rbx': 0x3000, 'rax': 0x9988}, code='88 23')
	r.wr(0x3000, 1, 0x99)
	r = new('prefix', 64, 'mov byte ptr [rbx], spl  (REX 40: SPL, not AH)', {'rbx': 0x3000}, code='40 88 23')
	r.wr(0x3000, 1, RSP0 & 0xff)
	r = new('prefix', 64, 'mov rax, qword ptr [rbx]  (REX.W then 66: REX.W wins)', {'rbx': 0x3000},
		code='66 48 8b 03')
	r.rd(0x3000, 8, 0x0102030405060708)
	r.set_reg('rax', 0x0102030405060708)
	r = new('prefix', 64, 'mov ax, word ptr [rbx]  (REX.W before 66 is ignored)', {'rbx': 0x3000},
		code='48 66 8b 03')
	r.objdump_rex = True	# objdump shows the stray REX as its own line
	r.rd(0x3000, 2, 0xbeef)
	r.set_reg('ax', 0xbeef)
	# segment overrides in each mode
	for mode, text, code, regs, seg, gpa in (
		(16, 'mov al, byte ptr es:[bx]', None, {'ebx': 0x3000}, '.seg = {ES, 0x1000, 0x10000}', 0x13000),
		(16, 'mov al, byte ptr cs:[bx]', None, {'ebx': 0x3000}, None, 0x3000),
		(16, 'mov al, byte ptr ss:[bx]', None, {'ebx': 0x3000}, '.seg = {SS, 0x2000, 0x20000}', 0x23000),
		(16, 'mov al, byte ptr ds:[bp]', None, {'ebp': 0x3000}, '.seg = {SS, 0x2000, 0x20000}', 0x3000),
		(16, 'mov al, byte ptr gs:[bx+si]', None, {'ebx': 0x3000, 'esi': 1}, '.seg = {GS, 0xf000, 0xf0000}', 0xf3001),
		(32, 'mov al, byte ptr gs:[ebx]', None, {'ebx': 0x10}, '.seg = {GS, 0x10, 0xfebf0000}', 0xfebf0010),
		(32, 'mov al, byte ptr ds:[ebp]', None, {'ebp': 0x3000}, '.seg = {SS, 0x10, 0x100000}', 0x3000),
		(32, 'mov al, byte ptr [ebp]  (SS base 0x100000)', None, {'ebp': 0x3000}, '.seg = {SS, 0x10, 0x100000}', 0x103000),
		(64, 'mov al, byte ptr fs:[rbx]', None, {'rbx': 0x10}, '.seg = {FS, 0, 0x200000}', 0x200010),
		(64, 'mov al, byte ptr gs:[rbx]', None, {'rbx': 0x10}, '.seg = {GS, 0, 0x3ff00000}', 0x3ff00010),
		(64, 'mov al, byte ptr es:[rbx]  (ES base ignored)', None, {'rbx': 0x3000}, '.seg = {ES, 0x10, 0x100000}', 0x3000),
		(64, 'mov al, byte ptr ds:[rbx]  (DS base ignored)', None, {'rbx': 0x3000}, '.seg = {DS, 0x10, 0x100000}', 0x3000),
		(64, 'mov al, byte ptr fs:[rip+0x1000]', None, {}, '.seg = {FS, 0, 0x200000}', 'ripfs'),
	):
		r = new('segment', mode, text, regs, code=code)
		if seg:
			r.extra.append(seg)
		d = rval(1)
		if gpa == 'ripfs':
			r.gpa_fix = (0x1000, 0x200000)
			gpa = 0
		r.rd(gpa, 1, d)
		r.set_reg('al', d)


# ---- Page crossing -------------------------------------------------------------
def gen_cross():
	for mode in (16, 32, 64):
		p = '' if mode != 16 else ''
		for size in ((4, 8) if mode == 64 else (2, 4)):
			reg = rname(0, size)
			half = size // 2
			lo, hi = rval(half), rval(half)
			full = hi << (8 * half) | lo
			# RAM -> MMIO
			a = 0x2000 - half
			r = new('cross', mode, 'mov %s, %s ptr [%#x]  (RAM then MMIO)' % (reg, PTR[size], a),
				code=None)
			r.asm = 'mov %s, %s ptr ds:%#x' % (reg, PTR[size], a)
			r.ram_in = [(a, lo, half)]
			r.rd(0x2000, half, hi)
			r.set_reg(reg, full)
			r = new('cross', mode, 'mov %s ptr [%#x], %s  (RAM then MMIO)' % (PTR[size], a, reg), {reg: full})
			r.asm = 'mov %s ptr ds:%#x, %s' % (PTR[size], a, reg)
			r.ram_out = [(a, lo, half)]
			r.wr(0x2000, half, hi)
			# MMIO -> MMIO across a page: two exits
			a = 0x3000 - half
			r = new('cross', mode, 'mov %s, %s ptr [%#x]  (MMIO page, MMIO page)' % (reg, PTR[size], a))
			r.asm = 'mov %s, %s ptr ds:%#x' % (reg, PTR[size], a)
			r.rd(a, half, lo)
			r.rd(0x3000, half, hi)
			r.set_reg(reg, full)
			r = new('cross', mode, 'mov %s ptr [%#x], %s  (MMIO page, MMIO page)' % (PTR[size], a, reg), {reg: full})
			r.asm = 'mov %s ptr ds:%#x, %s' % (PTR[size], a, reg)
			r.wr(a, half, lo)
			r.wr(0x3000, half, hi)
			# MMIO -> RAM
			a = RAM - half
			r = new('cross', mode, 'mov %s, %s ptr [%#x]  (MMIO then RAM)' % (reg, PTR[size], a))
			r.asm = 'mov %s, %s ptr ds:%#x' % (reg, PTR[size], a)
			r.rd(a, half, lo)
			r.ram_in = [(RAM, hi, half)]
			r.set_reg(reg, full)
			r = new('cross', mode, 'mov %s ptr [%#x], %s  (MMIO then RAM)' % (PTR[size], a, reg), {reg: full})
			r.asm = 'mov %s ptr ds:%#x, %s' % (PTR[size], a, reg)
			r.wr(a, half, lo)
			r.ram_out = [(RAM, hi, half)]
		# read-modify-write across RAM -> MMIO
		size = 4
		a = 0x2000 - 2
		r = new('cross', mode, 'add dword ptr [%#x], eax  (RAM then MMIO)' % a, {'eax': 0x00010001})
		r.asm = 'add dword ptr ds:%#x, eax' % a
		r.ram_in = [(a, 0xffff, 2)]
		r.rd(0x2000, 2, 0x1234)
		res, f, u = alu('add', 0x1234ffff, 0x00010001, 4, 0)
		r.ram_out = [(a, res & 0xffff, 2)]
		r.wr(0x2000, 2, res >> 16)
		r.flags, r.undef = f, u


# ---- Assembling ---------------------------------------------------------------
def assemble(mode, texts):
	with tempfile.TemporaryDirectory() as d:
		src = os.path.join(d, 'a.s')
		with open(src, 'w') as f:
			f.write('.intel_syntax noprefix\n.code%d\n' % mode)
			for i, t in enumerate(texts):
				f.write('r%d:\n\t%s\n' % (i, t))
			f.write('rend:\n')
		obj = os.path.join(d, 'a.o')
		res = subprocess.run(['as', '--64' if mode == 64 else '--32', '-o', obj, src],
				     capture_output=True, text=True)
		if res.returncode:
			lines = open(src).read().splitlines()
			for m in re.finditer(r':(\d+): (.*)', res.stderr):
				print('%s: %s' % (lines[int(m.group(1)) - 1].strip(), m.group(2)), file=sys.stderr)
			sys.exit('as failed')
		binf = os.path.join(d, 'a.bin')
		subprocess.run(['objcopy', '-O', 'binary', '-j', '.text', obj, binf], check=True)
		data = open(binf, 'rb').read()
		syms = {}
		for line in subprocess.run(['nm', obj], check=True, capture_output=True, text=True).stdout.splitlines():
			v, _, name = line.split()
			syms[name] = int(v, 16)
		out = []
		for i in range(len(texts)):
			end = syms['r%d' % (i + 1)] if i + 1 < len(texts) else syms['rend']
			out.append(data[syms['r%d' % i]:end])
		return out


def disassemble(mode, code):
	with tempfile.NamedTemporaryFile(suffix='.bin') as f:
		f.write(code)
		f.flush()
		m = {16: ['-mi386', '-Maddr16,data16,intel'], 32: ['-mi386', '-Mintel'],
		     64: ['-mi386:x86-64', '-Mintel']}[mode]
		out = subprocess.run(['objdump', '-D', '--insn-width=15', '-b', 'binary'] + m + [f.name], check=True,
				     capture_output=True, text=True).stdout
	insns = [l for l in out.splitlines() if re.match(r'^\s+[0-9a-f]+:\t', l)]
	texts = [l.split('\t')[2].strip() if len(l.split('\t')) > 2 else '' for l in insns]
	return insns, texts


def finish():
	for mode in (16, 32, 64):
		todo = [r for r in rows if r.mode == mode and r.code is None]
		texts = []
		for r in todo:
			t = getattr(r, 'asm', r.text)
			t = re.sub(r'  \(.*\)$', '', t)
			if hasattr(r, 'code82'):
				t = 'nop'
			texts.append(t)
		for r, b in zip(todo, assemble(mode, texts)):
			r.bytes = b'\x66' + b if getattr(r, 'add66', False) else b
		for r in rows:
			if r.mode == mode and r.code is not None:
				r.bytes = bytes.fromhex(r.code)
			if r.mode == mode and hasattr(r, 'code82'):
				# 82 /0 ib: assemble 80 /0 and patch the opcode
				t = 'add byte ptr %s, %s' % r.code82
				b = assemble(mode, [t])[0]
				i = b.index(0x80)
				r.bytes = b[:i] + b'\x82' + b[i + 1:]
		for r in (r for r in rows if r.mode == mode):
			insns, texts = disassemble(mode, r.bytes)
			if getattr(r, 'objdump_rex', False) and len(insns) == 2 and texts[0].startswith('rex'):
				insns, texts = insns[1:], texts[1:]
			if len(insns) != 1 or '(bad)' in insns[0]:
				sys.exit('row %r (%d-bit): bytes %s do not decode as one instruction:\n%s' %
					 (r.text, mode, r.bytes.hex(' '), '\n'.join(insns)))
			r.objdump = texts[0]
			if hasattr(r, 'want_opcode'):
				k = 0
				while r.bytes[k] in PREFIXES or (mode == 64 and r.bytes[k] & 0xf0 == 0x40):
					k += 1
				op = '%02x' % r.bytes[k]
				if r.want_opcode != op:
					sys.exit('row %r: expected opcode %s in %s' % (r.text, r.want_opcode, op))
			if r.gpa_fix:
				# RIP-relative: the exits' gpas are relative to the target
				disp, base = r.gpa_fix
				gpa = 0x1000 + len(r.bytes) + disp + base
				r.exits = [((e[0] + gpa) & mask(8), e[1], e[2], e[3]) for e in r.exits]


# ---- Output -----------------------------------------------------------------
def num(v):
	return '%#x' % v + ('ULL' if v >= 1 << 63 else '')


def flagstr(f):
	if f == 0:
		return '0'
	names = [n for n, b in (('CF', CF), ('PF', PF), ('AF', AF), ('ZF', ZF), ('SF', SF), ('DF', DF), ('OF', OF))
		 if f & b]
	return '|'.join(names)


def emit():
	print('// SPDX-License-Identifier: GPL-2.0')
	print('// Rows of mmio_insns.cc, generated by mmio_insns_gen.py from the ISA\'s')
	print('// semantics (see there); the bytes are GNU as output checked with objdump.')
	print('// One row: mode, assembly, bytes, registers in, RFLAGS in, exits (R: read,')
	print('// the test supplies the data; W: write, with the data expected), registers')
	print('// out (those that change), RFLAGS out, RFLAGS bits the ISA leaves undefined.')
	print('// Unlisted GPRs start from seed() and must not change; RIP must end past the')
	print('// hlt that follows the bytes.')
	fam = None
	for r in sorted(rows, key=lambda r: ORDER.index(r.fam)):
		if r.fam != fam:
			if fam is not None:
				print('ROWS_END')
			fam = r.fam
			print('ROWS_BEGIN(%s)' % fam)
		ins = ', '.join('{%s, %s}' % (ENUM[i], num(v)) for i, v in sorted(r.set_in.items()))
		exits = ', '.join('%s(%#x, %d, %s)' % ('W' if w else 'R', g, n, num(d)) for g, n, w, d in r.exits)
		init = {i: seed(r.mode, i) for i in range(16 if r.mode == 64 else 8)}
		init.update(r.set_in)
		outs = ', '.join('{%s, %s}' % (ENUM[i], num(v)) for i, v in sorted(r.regs.items()) if init[i] != v)
		extra = list(r.extra)
		if getattr(r, 'extra2', None):
			extra = [e.replace('.seg', '.seg') for e in extra]
			extra.append('.seg2 = {%s, %#x, %#x}' % r.extra2)
		if getattr(r, 'kvm_exits', None):
			extra.append('.kvm_exits = {%s}' % ', '.join('%s(%#x, %d, %s)' % ('W' if w else 'R', g, n, num(d))
								       for g, n, w, d in r.kvm_exits))
		ram_in = getattr(r, 'ram_in', [])
		ram_out = getattr(r, 'ram_out', [])
		if ram_in:
			extra.append('.ram_in = {%s}' % ', '.join('{%#x, %d, %s}' % (a, n, num(v)) for a, v, n in ram_in))
		if ram_out:
			extra.append('.ram_out = {%s}' % ', '.join('{%#x, %d, %s}' % (a, n, num(v)) for a, v, n in ram_out))
		text = r.text.replace('"', '\\"')
		line = '\t{%s, "%s", "%s", {%s}, %s, {%s}, {%s}, %s, %s' % (
			MODES[r.mode], text, r.bytes.hex(' '), ins, flagstr(r.flags_in), exits, outs,
			flagstr(r.flags), flagstr(r.undef))
		if extra:
			line += ', {%s}' % ', '.join(extra)
		print(line + '},')
	print('ROWS_END')


ORDER = ['mov', 'moffs', 'movzx', 'movsx', 'movsxd', 'alu', 'test', 'xchg', 'not', 'neg', 'incdec',
	 'bt', 'bts', 'btr', 'btc', 'lock', 'stos', 'lods', 'movs', 'prefix', 'segment', 'cross']


def check_native():
	"""Run every ALU operation of the table on this CPU and compare."""
	prog = ['#include <stdio.h>', '#include <stdint.h>', 'int main(void) {', 'uint64_t a, f;']
	for op, size, a, b, fin in native_checks:
		suf = {1: 'b', 2: 'w', 4: 'l', 8: 'q'}[size]
		mod = {1: 'b', 2: 'w', 4: 'k', 8: 'q'}[size]
		if op in ('neg', 'inc', 'dec'):
			insn = '%s%s %%%s0' % (op, suf, mod)
		else:
			insn = '%s%s %%%s2, %%%s0' % (op, suf, mod, mod)
		prog.append('a = %#xULL; f = %#xULL;' % (a, fin | 2))
		prog.append('asm volatile("push %1; popf; ' + insn + '; pushf; pop %%1" : "+r"(a), "+r"(f) : "r"(%#xULL) : "cc");' % b)
		prog.append('printf("%#llx %#llx\\n", (unsigned long long)a, (unsigned long long)f);')
	prog.append('return 0; }')
	with tempfile.TemporaryDirectory() as d:
		src = os.path.join(d, 'n.c')
		open(src, 'w').write('\n'.join(prog))
		exe = os.path.join(d, 'n')
		subprocess.run(['gcc', '-O0', '-o', exe, src], check=True)
		out = subprocess.run([exe], check=True, capture_output=True, text=True).stdout.split('\n')
	bad = 0
	for (op, size, a, b, fin), line in zip(native_checks, out):
		na, nf = (int(x, 16) for x in line.split())
		res, f, u = alu(op, a, b, size, fin)
		if op == 'cmp':
			res = a
		if (na & mask(size)) != res or (nf & ARITH & ~u) != (f & ~u):
			bad += 1
			print('native mismatch: %s %d %#x %#x fin=%#x: cpu %#x %#x model %#x %#x' %
			      (op, size, a, b, fin, na & mask(size), nf & ARITH, res, f), file=sys.stderr)
	print('native check: %d operations, %d mismatches' % (len(native_checks), bad), file=sys.stderr)
	return bad == 0


def main():
	gen_mov()
	gen_movx()
	gen_alu()
	gen_unary()
	gen_bt()
	gen_lock()
	gen_string()
	gen_prefix()
	gen_cross()
	finish()
	if '--check-native' in sys.argv and not check_native():
		sys.exit(1)
	emit()


main()
