// SPDX-License-Identifier: GPL-2.0
#include "insn_gen.h"

#include <algorithm>
#include <random>

namespace kvmx::insn_gen {

const char *const kRegNames[16] = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
				   "r8",  "r9",	 "r10", "r11", "r12", "r13", "r14", "r15"};

uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

const char *mode_name(GuestMode mode)
{
	return mode == GuestMode::kReal ? "real" : mode == GuestMode::kProtected32 ? "prot32" : "long64";
}

void filter(std::vector<uint8_t> &code)
{
	for (size_t i = 0; i < code.size(); i++) {
		uint8_t &b = code[i];
		if (b == 0xfa || b == 0x9d || b == 0xcf) // CLI POPF IRET
			b = 0x90;
		if (i >= 1 && code[i - 1] == 0x0f &&
		    (b == 0x30 || b == 0x31 || b == 0x32 || b == 0x33)) // WRMSR RDTSC RDMSR RDPMC
			b = 0x0b;					    // UD2
		if (i >= 2 && code[i - 2] == 0x0f && code[i - 1] == 0x01 && b == 0xf9) // RDTSCP
			b = 0xd0;							       // XGETBV
		if (i >= 2 && code[i - 2] == 0x0f && code[i - 1] == 0xc7 && (b >> 6) == 3 &&
		    ((b >> 3) & 7) >= 6) // RDRAND RDSEED
			b &= ~0x20;
	}
}

namespace {

using Rng = std::mt19937_64;

enum { IMM_NONE, IMM_B, IMM_Z };
enum { MODRM, MOFFS, STRING };
enum : uint8_t { M16 = 1, M32 = 2, M64 = 4, ALL = 7 };

struct Form {
	uint8_t op[2];
	uint8_t nop;	 // opcode bytes
	int8_t reg;	 // fixed ModRM.reg (/n), or -1
	uint8_t imm;
	uint8_t kind;
	bool lockable;
	bool bitreg;	 // BT* with the bit offset in ModRM.reg
	bool emulated;	 // kvmx's emulator implements it
	bool rare;	 // picked less often (the forms once not emulated: the same programs)
	uint8_t modes;
};

std::vector<Form> make_forms()
{
	std::vector<Form> f;
	auto add = [&](std::initializer_list<uint8_t> op, int reg, uint8_t imm, bool lock,
		       bool emulated = true, uint8_t modes = ALL, uint8_t kind = MODRM,
		       bool bitreg = false) {
		Form x{};
		x.nop = 0;
		for (uint8_t b : op)
			x.op[x.nop++] = b;
		x.reg = static_cast<int8_t>(reg);
		x.imm = imm;
		x.kind = kind;
		x.lockable = lock;
		x.bitreg = bitreg;
		x.emulated = emulated;
		x.rare = !emulated;
		x.modes = modes;
		f.push_back(x);
	};
	for (uint8_t a = 0; a < 8; a++) {
		add({static_cast<uint8_t>(a * 8)}, -1, IMM_NONE, a != 7);
		add({static_cast<uint8_t>(a * 8 + 1)}, -1, IMM_NONE, a != 7);
		add({static_cast<uint8_t>(a * 8 + 2)}, -1, IMM_NONE, false);
		add({static_cast<uint8_t>(a * 8 + 3)}, -1, IMM_NONE, false);
	}
	for (int r = 0; r < 8; r++) {
		add({0x80}, r, IMM_B, r != 7);
		add({0x81}, r, IMM_Z, r != 7);
		add({0x83}, r, IMM_B, r != 7);
		add({0x82}, r, IMM_B, r != 7, true, M16 | M32);
	}
	add({0x84}, -1, IMM_NONE, false);
	add({0x85}, -1, IMM_NONE, false);
	add({0x86}, -1, IMM_NONE, true);
	add({0x87}, -1, IMM_NONE, true);
	for (uint8_t b = 0x88; b <= 0x8b; b++)
		add({b}, -1, IMM_NONE, false);
	add({0xc6}, 0, IMM_B, false);
	add({0xc7}, 0, IMM_Z, false);
	for (uint8_t b : {0xf6, 0xf7}) {
		const uint8_t imm = b == 0xf6 ? IMM_B : IMM_Z;
		add({b}, 0, imm, false);
		add({b}, 1, imm, false);
		add({b}, 2, IMM_NONE, true);
		add({b}, 3, IMM_NONE, true);
	}
	for (uint8_t b : {0xfe, 0xff}) {
		add({b}, 0, IMM_NONE, true);
		add({b}, 1, IMM_NONE, true);
	}
	for (uint8_t b : {0xb6, 0xb7, 0xbe, 0xbf})
		add({0x0f, b}, -1, IMM_NONE, false);
	add({0x63}, -1, IMM_NONE, false, true, M64);
	add({0x0f, 0xa3}, -1, IMM_NONE, false, true, ALL, MODRM, true);
	for (uint8_t b : {0xab, 0xb3, 0xbb})
		add({0x0f, b}, -1, IMM_NONE, true, true, ALL, MODRM, true);
	for (int r = 4; r < 8; r++)
		add({0x0f, 0xba}, r, IMM_B, r != 4);
	for (uint8_t b = 0xa0; b <= 0xa3; b++)
		add({b}, -1, IMM_NONE, false, true, ALL, MOFFS);
	for (uint8_t b : {0xa4, 0xa5, 0xaa, 0xab, 0xac, 0xad})
		add({b}, -1, IMM_NONE, false, true, ALL, STRING);

	// Memory forms KVM emulates and kvmx's emulator does not.
	add({0xff}, 6, IMM_NONE, false, false);		// PUSH m
	add({0x8f}, 0, IMM_NONE, false, false);		// POP m
	add({0x0f, 0xb1}, -1, IMM_NONE, true, false);	// CMPXCHG (emulated now: below)
	add({0x0f, 0xc1}, -1, IMM_NONE, true, false);	// XADD
	add({0xd1}, 4, IMM_NONE, false, false);		// SHL m,1
	add({0xc1}, 5, IMM_B, false, false);		// SHR m,ib
	add({0x0f, 0xaf}, -1, IMM_NONE, false, false);	// IMUL r,m
	add({0x8c}, 3, IMM_NONE, false, false);		// MOV m,DS
	for (uint8_t b : {0xa6, 0xa7, 0xae, 0xaf})		// CMPS SCAS
		add({b}, -1, IMM_NONE, false, false, ALL, STRING);
	// Emulated since issue 11 (page-table writes), kept rare so that every
	// seed still generates the programs it did.
	for (Form &x : f)
		if (x.nop == 2 && x.op[0] == 0x0f && x.op[1] == 0xb1)
			x.emulated = true;
	return f;
}

const std::vector<Form> &forms()
{
	static const std::vector<Form> f = make_forms();
	return f;
}

struct Gen {
	Rng rng;
	Program &p;
	uint64_t cur[16] = {}; // the GPRs as the code so far leaves them
	bool m64() const { return p.mode == GuestMode::kLong64; }
	bool m16() const { return p.mode == GuestMode::kReal; }

	uint64_t r(uint64_t n) { return rng() % n; }
	bool chance(unsigned pct) { return r(100) < pct; }

	void emit(uint64_t v, unsigned bytes)
	{
		for (unsigned i = 0; i < bytes; i++)
			p.code.push_back(static_cast<uint8_t>(v >> (8 * i)));
	}

	// mov reg, imm at the widest size the mode has without REX.W games.
	void set_reg(unsigned reg, uint64_t v)
	{
		cur[reg] = m64() ? v : static_cast<uint32_t>(v);
		if (m64()) {
			emit(0x48 | (reg >> 3), 1);
			emit(0xb8 + (reg & 7), 1);
			emit(v, 8);
		} else {
			if (m16())
				emit(0x66, 1);
			emit(0xb8 + reg, 1);
			emit(v, 4);
		}
		p.insns++;
	}

	// Where an operand goes: mostly MMIO, also RAM and across the two.
	uint64_t target(unsigned size)
	{
		static const uint64_t mmio_pages[] = {0x2000, 0x3000, 0x4000, 0x5000,
						      0x6000, 0x7000, 0x9000, 0xb000};
		const unsigned k = static_cast<unsigned>(r(100));
		if (k < 60)
			return mmio_pages[r(8)] + r(0x1000 - size);
		if (k < 72)
			return kDataGpa + r(0x1000 - size);
		if (k < 85) {
			static const uint64_t edges[] = {0x3000, 0x8000, 0x9000};
			return edges[r(3)] - 1 - (size > 1 ? r(size - 1) : 0);
		}
		if (k < 93 && !m16())
			return (m64() ? 0x100000 + r(0x3ff00000) : 0x10000 + r(0xfffe0000)) & ~3ULL;
		return rng();
	}

	uint64_t seg_base(unsigned seg)
	{
		if (m16())
			return uint64_t{p.seg_sel[seg]} << 4;
		if (m64() && seg == 4)
			return p.fs_base;
		if (m64() && seg == 5)
			return p.gs_base;
		return 0;
	}

	void io()
	{
		const uint8_t port = static_cast<uint8_t>(0x80 + r(16));
		static const uint8_t ops[] = {0xe4, 0xe5, 0xe6, 0xe7};
		if (chance(30))
			emit(0x66, 1);
		emit(ops[r(4)], 1);
		emit(port, 1);
		p.insns++;
	}

	void insn()
	{
		const std::vector<Form> &all = forms();
		const Form *f;
		do {
			f = &all[r(all.size())];
		} while (!(f->modes & (1u << static_cast<int>(p.mode))) || (f->rare && chance(70)));

		// Prefixes.
		std::vector<uint8_t> pre;
		bool opsize = chance(25), adsize = chance(10);
		int seg = -1;
		if (opsize)
			pre.push_back(0x66);
		if (adsize)
			pre.push_back(0x67);
		if (chance(15)) {
			static const uint8_t segs[] = {0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65};
			static const int seg_no[] = {0, 1, 2, 3, 4, 5};
			unsigned s = static_cast<unsigned>(r(6));
			pre.push_back(segs[s]);
			seg = seg_no[s];
		}
		if (chance(f->lockable ? 30 : 2))
			pre.push_back(0xf0);
		bool rep = false;
		if (f->kind == STRING ? chance(50) : chance(3)) {
			pre.push_back(chance(80) ? 0xf3 : 0xf2);
			rep = true;
		}
		for (size_t i = pre.size(); i > 1; i--) // any order
			std::swap(pre[i - 1], pre[r(i)]);
		uint8_t rex = 0;
		if (m64() && chance(50))
			rex = static_cast<uint8_t>(0x40 | r(16));

		const unsigned ad = m64() ? (adsize ? 4 : 8) : (m16() != adsize ? 2 : 4);
		const unsigned os = m64() && (rex & 8) ? 8 : (m16() != opsize ? 2 : 4);
		const uint64_t admask = ad == 8 ? ~0ULL : (1ULL << (8 * ad)) - 1;

		// ModRM and SIB (for MODRM forms).
		unsigned mod = static_cast<unsigned>(r(3)), reg = f->reg >= 0 ? f->reg : r(8);
		unsigned rm = static_cast<unsigned>(r(8)), sib = static_cast<unsigned>(r(256));
		int base = -1, index = -1, scale = 0;
		unsigned disp_bytes = 0;
		bool riprel = false;
		int dflt_seg = 3; // DS
		if (f->kind == MODRM) {
			if (ad == 2) {
				static const int b16[8] = {3, 3, 5, 5, 6, 7, 5, 3};
				static const int i16[8] = {6, 7, 6, 7, -1, -1, -1, -1};
				if (mod == 0 && rm == 6) {
					disp_bytes = 2;
				} else {
					base = b16[rm];
					index = i16[rm];
					if (base == 5)
						dflt_seg = 2;
					disp_bytes = mod == 1 ? 1 : mod == 2 ? 2 : 0;
				}
			} else {
				if (rm == 4) {
					unsigned idx = ((sib >> 3) & 7) | ((rex & 2) << 2);
					unsigned b = (sib & 7) | ((rex & 1) << 3);
					if (idx != 4) {
						index = static_cast<int>(idx);
						scale = static_cast<int>(sib >> 6);
					}
					if ((b & 7) == 5 && mod == 0)
						disp_bytes = 4;
					else
						base = static_cast<int>(b);
				} else if (rm == 5 && mod == 0) {
					disp_bytes = 4;
					riprel = m64();
				} else {
					base = static_cast<int>(rm | ((rex & 1) << 3));
				}
				if (base == 4 || base == 5)
					dflt_seg = 2;
				if (mod == 1)
					disp_bytes = 1;
				else if (mod == 2)
					disp_bytes = 4;
			}
		}
		// STOS and SCAS address ES:rDI, which no override changes.
		const bool es_only = f->kind == STRING && ((f->op[0] & ~1) == 0xaa || (f->op[0] & ~1) == 0xae);
		const unsigned s = es_only ? 0 : seg >= 0 ? seg : dflt_seg;
		const unsigned size = (f->op[0] & 1) || f->nop == 2 ? os : 1;
		const uint64_t t = target(size);
		uint64_t need = (t - seg_base(s)) & admask;
		const uint64_t la = need + seg_base(s);
		bool exact = (m64() ? la : static_cast<uint32_t>(la)) == t;

		// Registers: the bit offset (which moves the operand by whole
		// operands), then the address.
		const unsigned regop = reg | ((rex & 4) << 1);
		if (f->bitreg && static_cast<int>(regop) != base && static_cast<int>(regop) != index &&
		    regop != 4) {
			const int64_t bit = static_cast<int64_t>(r(80)) - 40;
			set_reg(regop, static_cast<uint64_t>(bit));
			need -= static_cast<uint64_t>((bit & ~static_cast<int64_t>(8 * os - 1)) >> 3);
		} else if (f->bitreg) {
			exact = false;
		}
		uint64_t disp = rng();
		if (f->kind == MODRM) {
			const uint64_t dmask = (1ULL << (8 * disp_bytes)) - 1;
			uint64_t dval = disp & dmask;
			if (disp_bytes == 1)
				dval = static_cast<uint64_t>(static_cast<int64_t>(static_cast<int8_t>(dval)));
			else if (disp_bytes == 4)
				dval = static_cast<uint64_t>(static_cast<int64_t>(static_cast<int32_t>(dval)));
			disp = dval;
			if (base == 4) {
				exact = false; // the stack: leave RSP alone
			} else if (!riprel) {
				uint64_t iv = 0;
				if (index >= 0 && index != base) {
					iv = r(64);
					set_reg(static_cast<unsigned>(index), iv);
				}
				if (base < 0) {
					// The displacement carries the address.
					disp = need - (iv << scale);
					if (ad == 8 && disp + 0x80000000ULL > 0xffffffffULL)
						exact = false; // beyond a sign-extended disp32
				} else {
					uint64_t bv = need - dval - (iv << scale);
					if (index == base) {
						bv = (need - dval) / (1 + (1ULL << scale));
						exact = false;
					}
					set_reg(static_cast<unsigned>(base), ad == 2 ? bv & 0xffff : bv);
				}
			}
		} else if (f->kind == STRING) {
			const bool movs_like = (f->op[0] & ~1) == 0xa4 || (f->op[0] & ~1) == 0xa6;
			const bool di = movs_like || (f->op[0] & ~1) == 0xaa || (f->op[0] & ~1) == 0xae;
			const bool si = movs_like || (f->op[0] & ~1) == 0xac;
			if (rep)
				set_reg(1, r(4));
			if (di)
				set_reg(7, ((movs_like ? target(size) : t) - seg_base(0)) & admask);
			if (si && !es_only)
				set_reg(6, need);
		}

		// The instruction.
		const size_t start = p.code.size();
		for (uint8_t b : pre)
			emit(b, 1);
		if (rex)
			emit(rex, 1);
		for (unsigned i = 0; i < f->nop; i++)
			emit(f->op[i], 1);
		unsigned imm_bytes = f->imm == IMM_B ? 1 : f->imm == IMM_Z ? (os == 2 ? 2 : 4) : 0;
		if (f->kind == MODRM) {
			emit((mod << 6) | ((reg & 7) << 3) | rm, 1);
			if (ad != 2 && rm == 4)
				emit(sib, 1);
			if (riprel) {
				const uint64_t next = test::TinyGuest::kCodeGpa + p.code.size() + 4 + imm_bytes;
				disp = need - next;
				if (ad == 8 && disp + 0x80000000ULL > 0xffffffffULL)
					exact = false;
			}
			emit(disp, disp_bytes);
		} else if (f->kind == MOFFS) {
			emit(need, ad);
		}
		emit(rng(), imm_bytes);
		p.insns++;
		Target tg{start, t, exact && f->kind != STRING, f->emulated, {}};
		std::copy(cur, cur + 16, tg.gpr);
		p.targets.push_back(tg);
	}
};

void registers(Gen &g)
{
	Program &p = g.p;
	for (int i = 0; i < 16; i++) {
		const unsigned k = static_cast<unsigned>(g.r(100));
		uint64_t v;
		if (k < 40)
			v = g.target(4);
		else if (k < 55)
			v = kDataGpa + g.r(0x1000);
		else if (k < 80)
			v = g.r(64);
		else
			v = g.rng();
		p.gpr[i] = p.mode == GuestMode::kLong64 || i >= 8 ? v : v & 0xffffffff;
		if (i >= 8 && p.mode != GuestMode::kLong64)
			p.gpr[i] = 0; // not visible, but compared
	}
	p.gpr[4] = kStackTop;
	std::copy(p.gpr, p.gpr + 16, g.cur);
}

} // namespace

Program generate(uint64_t seed, uint64_t index)
{
	Program p;
	Gen g{Rng(mix(seed) ^ mix(index ^ 0x5eed0000ULL)), p};

	p.mode = static_cast<GuestMode>(g.r(3));
	registers(g);
	constexpr uint64_t kArith = 0x8d5; // CF PF AF ZF SF OF
	p.rflags = 0x202 | (g.rng() & kArith) | (g.chance(25) ? 0x400 : 0);
	if (p.mode == GuestMode::kReal) {
		static const uint16_t sels[] = {0, 0, 0x100, 0x200, 0x400, 0x700};
		for (int s : {0, 3, 4, 5})
			p.seg_sel[s] = sels[g.r(6)];
	} else if (p.mode == GuestMode::kLong64) {
		static const uint64_t bases[] = {0, 0, 0x1000, 0x3000, 0x100000};
		p.fs_base = bases[g.r(5)];
		p.gs_base = bases[g.r(5)];
	}
	p.data.resize(0x1000);
	for (auto &b : p.data)
		b = static_cast<uint8_t>(g.rng());
	filter(p.data);

	if (g.chance(65)) {
		p.kind = "insns";
		const unsigned n = 1 + static_cast<unsigned>(g.r(6));
		for (unsigned i = 0; i < n; i++) {
			if (g.chance(8))
				g.io();
			else
				g.insn();
		}
	} else {
		p.kind = "bytes";
		static const uint8_t hot[] = {0x66, 0x67, 0xf0, 0xf2, 0xf3, 0x64, 0x48, 0x0f,
					      0x89, 0x8b, 0xa5, 0xab, 0xf7, 0x81, 0x87, 0xba,
					      0x88, 0x8a, 0xc7, 0xff, 0xa1, 0xa3, 0x01, 0x29};
		const unsigned chunks = 1 + static_cast<unsigned>(g.r(4));
		for (unsigned c = 0; c < chunks; c++) {
			const unsigned len = 1 + static_cast<unsigned>(g.r(15));
			for (unsigned i = 0; i < len; i++)
				p.code.push_back(g.chance(50) ? static_cast<uint8_t>(g.rng())
							      : hot[g.r(sizeof(hot))]);
		}
		filter(p.code);
	}
	return p;
}

} // namespace kvmx::insn_gen
