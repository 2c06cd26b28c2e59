// SPDX-License-Identifier: GPL-2.0
//
// The emulator against the CPU: each instruction is encoded once, run
// natively on the x86-64 build machine (the bytes are placed in a small
// generated function that loads every register and RFLAGS from a struct,
// executes them on a local buffer and stores everything back), and
// emulated from the same state on the same buffer.  Registers, the defined
// flags and memory must match, for many operand values.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#if defined(__x86_64__) && defined(__linux__)
#include <cpuid.h>
#include <csetjmp>
#include <csignal>
#include <sys/mman.h>
#include <unistd.h>
#define KVMX_NATIVE 1
#endif

extern "C" {
#include "emulate/emulate.h"
}

namespace {

#ifdef KVMX_NATIVE

struct State {
	u64 gpr[16];
	u64 rflags;
};
static_assert(offsetof(State, rflags) == 0x80);

// One page of generated code, RAII.
class CodePage {
public:
	CodePage()
	{
		size_ = static_cast<size_t>(sysconf(_SC_PAGESIZE));
		// Writable and executable at once where allowed; else flip with mprotect().
		mem_ = mmap(nullptr, size_, PROT_READ | PROT_WRITE | PROT_EXEC,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		rwx_ = mem_ != MAP_FAILED;
		if (!rwx_)
			mem_ = mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
				    -1, 0);
	}
	~CodePage()
	{
		if (mem_ != MAP_FAILED)
			munmap(mem_, size_);
	}
	CodePage(const CodePage &) = delete;
	CodePage &operator=(const CodePage &) = delete;

	bool Ok() const { return mem_ != MAP_FAILED; }

	// Run insn with the registers and flags of *st, and store them back.
	void Run(const std::vector<u8> &insn, State *st)
	{
		std::vector<u8> code;
		auto emit = [&code](std::initializer_list<u8> b) { code.insert(code.end(), b); };
		auto disp32 = [&code](u32 d) {
			for (int i = 0; i < 4; i++)
				code.push_back(static_cast<u8>(d >> (8 * i)));
		};

		emit({0x53, 0x55, 0x41, 0x54, 0x41, 0x55, 0x41, 0x56, 0x41, 0x57});	// push callee-saved
		emit({0x57});							// push rdi
		emit({0xff, 0xb7});						// push [rdi+0x80]
		disp32(0x80);
		emit({0x9d});							// popfq
		for (int r = 0; r < 16; r++) {
			if (r == KVMX_EMU_RSP || r == KVMX_EMU_RDI)
				continue;
			// mov r, [rdi + 8r]
			emit({static_cast<u8>(0x48 | ((r >> 3) << 2)), 0x8b,
			      static_cast<u8>(0x80 | ((r & 7) << 3) | 7)});
			disp32(8 * r);
		}
		emit({0x48, 0x8b, 0xbf});					// mov rdi, [rdi+0x38]
		disp32(0x38);
		code.insert(code.end(), insn.begin(), insn.end());
		emit({0x9c});							// pushfq
		emit({0x57});							// push rdi
		emit({0x48, 0x8b, 0x7c, 0x24, 0x10});				// mov rdi, [rsp+0x10]
		for (int r = 0; r < 16; r++) {
			if (r == KVMX_EMU_RSP || r == KVMX_EMU_RDI)
				continue;
			// mov [rdi + 8r], r
			emit({static_cast<u8>(0x48 | ((r >> 3) << 2)), 0x89,
			      static_cast<u8>(0x80 | ((r & 7) << 3) | 7)});
			disp32(8 * r);
		}
		emit({0x58, 0x48, 0x89, 0x87});					// pop rax; mov [rdi+0x38], rax
		disp32(0x38);
		emit({0x58, 0x48, 0x89, 0x87});					// pop rax; mov [rdi+0x80], rax
		disp32(0x80);
		emit({0xfc});							// cld
		emit({0x5f});							// pop rdi
		emit({0x41, 0x5f, 0x41, 0x5e, 0x41, 0x5d, 0x41, 0x5c, 0x5d, 0x5b});	// pop callee-saved
		emit({0xc3});							// ret

		ASSERT_LE(code.size(), size_);
		if (!rwx_) {
			ASSERT_EQ(mprotect(mem_, size_, PROT_READ | PROT_WRITE), 0);
		}
		std::memcpy(mem_, code.data(), code.size());
		if (!rwx_) {
			ASSERT_EQ(mprotect(mem_, size_, PROT_READ | PROT_EXEC), 0);
		}
		__builtin___clear_cache(static_cast<char *>(mem_),
					static_cast<char *>(mem_) + code.size());
		reinterpret_cast<void (*)(State *)>(mem_)(st);
	}

private:
	void *mem_ = MAP_FAILED;
	size_t size_ = 0;
	bool rwx_ = false;
};

// The emulator's memory is the same host buffer the CPU used.
struct HostMem {
	u8 *lo;
	u8 *hi;
	int accesses = 0;
	bool out_of_range = false;
};

int HostRead(void *opaque, u64 la, void *buf, unsigned int len, kvmx_emu_fault *)
{
	auto *m = static_cast<HostMem *>(opaque);
	u8 *p = reinterpret_cast<u8 *>(la);

	m->accesses++;
	if (p < m->lo || p + len > m->hi) {
		m->out_of_range = true;
		std::memset(buf, 0, len);
	} else {
		std::memcpy(buf, p, len);
	}
	return KVMX_EMU_CB_CONTINUE;
}

int HostWrite(void *opaque, u64 la, const void *buf, unsigned int len, kvmx_emu_fault *)
{
	auto *m = static_cast<HostMem *>(opaque);
	u8 *p = reinterpret_cast<u8 *>(la);

	m->accesses++;
	if (p < m->lo || p + len > m->hi)
		m->out_of_range = true;
	else
		std::memcpy(p, buf, len);
	return KVMX_EMU_CB_CONTINUE;
}

const kvmx_emu_ops kHostOps = {HostRead, HostWrite, nullptr};

constexpr u64 kArith = KVMX_EMU_FLAGS_ARITH;
constexpr u64 kLogic = kArith & ~KVMX_EMU_FLAG_AF;	// AF is undefined
constexpr u64 kBitOps = KVMX_EMU_FLAG_CF | KVMX_EMU_FLAG_ZF;	// OF SF AF PF undefined

enum Kind {
	kAluMR,		// op r/m, r
	kAluRM,		// op r, r/m
	kAluImm,	// 80 / 81
	kAluImm8,	// 83
	kTestMR,
	kTestImm,
	kXchg,
	kNot,
	kNeg,
	kInc,
	kDec,
	kMovMR,
	kMovRM,
	kMovImm,
	kMovzx8,
	kMovzx16,
	kMovsx8,
	kMovsx16,
	kMovsxd,
	kBtReg,		// 0F A3 + 8n
	kBtImm,		// 0F BA /4+n
	kCmpxchg,	// 0F B0 / 0F B1 (n 1: LOCK)
};

struct Template {
	Kind kind;
	int n;			// ALU operation or bit operation number
	unsigned int size;	// operand size
	u64 flags;		// flags to compare
};

struct Encoded {
	std::vector<u8> bytes;
	int reg;		// register operand, -1 if none
	bool hreg;		// reg is AH..BH
	int base;
	int offset_reg;		// BT: register with the bit offset
};

u64 Edge(std::mt19937_64 &rng)
{
	static const u64 edges[] = {
		0, 1, 2, 0x0f, 0x10, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000,
		0x7fffffff, 0x80000000, 0xffffffff, 0x100000000ULL, 0x7fffffffffffffffULL,
		0x8000000000000000ULL, ~0ULL, 0xfffffffffffffffeULL, 0x8080808080808080ULL,
	};
	switch (rng() % 4) {
	case 0:
		return edges[rng() % (sizeof(edges) / sizeof(edges[0]))];
	case 1:
		return edges[rng() % (sizeof(edges) / sizeof(edges[0]))] + (rng() % 3) - 1;
	default:
		return rng();
	}
}

// Encode a template with [base + disp8] as the memory operand.
Encoded Encode(const Template &t, std::mt19937_64 &rng, s8 disp)
{
	Encoded e{{}, -1, false, 0, -1};
	bool byte_op = t.size == 1;
	bool has_reg = t.kind == kAluMR || t.kind == kAluRM || t.kind == kTestMR || t.kind == kXchg ||
		       t.kind == kMovMR || t.kind == kMovRM || t.kind == kMovzx8 ||
		       t.kind == kMovzx16 || t.kind == kMovsx8 || t.kind == kMovsx16 ||
		       t.kind == kMovsxd || t.kind == kBtReg || t.kind == kCmpxchg;
	bool force_rex = false;
	int regfield = 0;
	u8 rex = 0;
	std::vector<u8> op, imm;

	// Base register: anything but RSP.
	do {
		e.base = static_cast<int>(rng() % 16);
	} while (e.base == KVMX_EMU_RSP);

	if (has_reg) {
		for (;;) {
			int r = static_cast<int>(rng() % 16);
			bool rex_byte = byte_op && r >= 4 && r < 8 && (rng() & 1);

			if (r == e.base)
				continue;
			if (byte_op && r >= 4 && r < 8 && !rex_byte) {
				// AH CH DH BH need an instruction without REX.
				if (e.base >= 8)
					continue;
				e.hreg = true;
				e.reg = r - 4;
				regfield = r;
				break;
			}
			if (r == KVMX_EMU_RSP)
				continue;
			force_rex = rex_byte;
			e.reg = r;
			regfield = r;
			break;
		}
	}

	switch (t.kind) {
	case kAluMR:
		op = {static_cast<u8>(t.n * 8 + !byte_op)};
		break;
	case kAluRM:
		op = {static_cast<u8>(t.n * 8 + 2 + !byte_op)};
		break;
	case kAluImm:
		op = {static_cast<u8>(byte_op ? 0x80 : 0x81)};
		regfield = t.n;
		break;
	case kAluImm8:
		op = {0x83};
		regfield = t.n;
		break;
	case kTestMR:
		op = {static_cast<u8>(byte_op ? 0x84 : 0x85)};
		break;
	case kTestImm:
		op = {static_cast<u8>(byte_op ? 0xf6 : 0xf7)};
		regfield = 0;
		break;
	case kXchg:
		op = {static_cast<u8>(byte_op ? 0x86 : 0x87)};
		break;
	case kNot:
	case kNeg:
		op = {static_cast<u8>(byte_op ? 0xf6 : 0xf7)};
		regfield = t.kind == kNot ? 2 : 3;
		break;
	case kInc:
	case kDec:
		op = {static_cast<u8>(byte_op ? 0xfe : 0xff)};
		regfield = t.kind == kInc ? 0 : 1;
		break;
	case kMovMR:
		op = {static_cast<u8>(byte_op ? 0x88 : 0x89)};
		break;
	case kMovRM:
		op = {static_cast<u8>(byte_op ? 0x8a : 0x8b)};
		break;
	case kMovImm:
		op = {static_cast<u8>(byte_op ? 0xc6 : 0xc7)};
		regfield = 0;
		break;
	case kMovzx8:
		op = {0x0f, 0xb6};
		break;
	case kMovzx16:
		op = {0x0f, 0xb7};
		break;
	case kMovsx8:
		op = {0x0f, 0xbe};
		break;
	case kMovsx16:
		op = {0x0f, 0xbf};
		break;
	case kMovsxd:
		op = {0x63};
		break;
	case kBtReg:
		op = {0x0f, static_cast<u8>(0xa3 + 8 * t.n)};
		e.offset_reg = e.reg;
		break;
	case kBtImm:
		op = {0x0f, 0xba};
		regfield = 4 + t.n;
		break;
	case kCmpxchg:
		op = {0x0f, static_cast<u8>(byte_op ? 0xb0 : 0xb1)};
		break;
	}

	// Immediates.
	if (t.kind == kAluImm || t.kind == kTestImm || t.kind == kMovImm) {
		unsigned int n = byte_op ? 1 : t.size == 2 ? 2 : 4;
		u64 v = Edge(rng);

		for (unsigned int i = 0; i < n; i++)
			imm.push_back(static_cast<u8>(v >> (8 * i)));
	} else if (t.kind == kAluImm8 || t.kind == kBtImm) {
		imm.push_back(static_cast<u8>(Edge(rng)));
	}

	if (t.size == 8)
		rex |= 0x48;
	if (regfield >= 8)
		rex |= 0x44;
	if (e.base >= 8)
		rex |= 0x41;
	if (force_rex)
		rex |= 0x40;
	if (t.kind == kCmpxchg && t.n)
		e.bytes.push_back(0xf0);
	if (t.size == 2)
		e.bytes.push_back(0x66);
	if (rex)
		e.bytes.push_back(rex);
	e.bytes.insert(e.bytes.end(), op.begin(), op.end());
	e.bytes.push_back(static_cast<u8>(0x40 | ((regfield & 7) << 3) | (e.base & 7)));
	if ((e.base & 7) == KVMX_EMU_RSP)
		e.bytes.push_back(0x24);	// SIB: base only
	e.bytes.push_back(static_cast<u8>(disp));
	e.bytes.insert(e.bytes.end(), imm.begin(), imm.end());
	return e;
}

// Run one instruction both ways from the same state; report differences.
class Harness {
public:
	Harness() : buf_(kBufSize) {}

	// Emulate and execute insn from st (memory initialised from mem).
	void Compare(const std::vector<u8> &insn, const State &st, const std::vector<u8> &mem,
		     u64 flag_mask, const std::string &what)
	{
		State native = st;

		std::memcpy(buf_.data(), mem.data(), kBufSize);
		page_.Run(insn, &native);
		if (testing::Test::HasFatalFailure())
			return;
		std::vector<u8> native_mem(buf_);

		std::memcpy(buf_.data(), mem.data(), kBufSize);
		HostMem hm{buf_.data(), buf_.data() + kBufSize};
		kvmx_emu_ctxt c{};

		for (int i = 0; i < 16; i++)
			c.regs.gpr[i] = st.gpr[i];
		c.regs.rip = 0x10000;
		c.regs.rflags = st.rflags;
		c.mode = KVMX_EMU_MODE_64;
		c.ops = &kHostOps;
		c.opaque = &hm;
		c.insn_len = static_cast<u8>(insn.size());
		std::memcpy(c.insn_bytes, insn.data(), insn.size());

		// REP: step until RIP moves on.
		int steps = 0;
		int ret;
		do {
			ret = kvmx_emu_step(&c);
		} while (ret == KVMX_EMU_DONE && c.regs.rip == 0x10000 && ++steps < 1000);

		auto ctx = [&]() {
			std::string s = what + " bytes:";
			for (u8 b : insn) {
				char hex[4];
				snprintf(hex, sizeof(hex), " %02x", b);
				s += hex;
			}
			return s;
		};
		bool same = ret == KVMX_EMU_DONE && !hm.out_of_range &&
			    c.regs.rip == 0x10000 + insn.size() &&
			    (c.regs.rflags & flag_mask) == (native.rflags & flag_mask) &&
			    (c.regs.rflags & ~kArith) == (st.rflags & ~kArith) &&
			    (native.rflags & ~kArith & 0xfff) == (st.rflags & ~kArith & 0xfff) &&
			    buf_ == native_mem;
		for (int i = 0; i < 16; i++)
			same = same && (i == KVMX_EMU_RSP || c.regs.gpr[i] == native.gpr[i]);
		compared_++;
		if (same)
			return;
		ASSERT_EQ(ret, KVMX_EMU_DONE) << ctx();
		ASSERT_FALSE(hm.out_of_range) << ctx();
		EXPECT_EQ(c.regs.rip, 0x10000 + insn.size()) << ctx();
		for (int i = 0; i < 16; i++) {
			if (i == KVMX_EMU_RSP)
				continue;
			EXPECT_EQ(c.regs.gpr[i], native.gpr[i]) << ctx() << " reg " << i << std::hex
								<< " in " << st.gpr[i];
		}
		EXPECT_EQ(c.regs.rflags & flag_mask, native.rflags & flag_mask)
			<< ctx() << std::hex << " flags in " << st.rflags;
		// Flags outside the arithmetic ones (DF, IF...) never change.
		EXPECT_EQ(c.regs.rflags & ~kArith, st.rflags & ~kArith) << ctx();
		EXPECT_EQ(native.rflags & ~kArith & 0xfff, st.rflags & ~kArith & 0xfff) << ctx();
		EXPECT_TRUE(buf_ == native_mem) << ctx();
	}

	u8 *Mid() { return buf_.data() + kBufSize / 2; }
	u8 *Buf() { return buf_.data(); }
	bool Ok() const { return page_.Ok(); }
	int compared() const { return compared_; }

	static constexpr size_t kBufSize = 2048;

private:
	CodePage page_;
	std::vector<u8> buf_;
	int compared_ = 0;
};

void FillRandom(std::vector<u8> &mem, std::mt19937_64 &rng)
{
	for (size_t i = 0; i + 8 <= mem.size(); i += 8) {
		u64 v = rng();
		std::memcpy(&mem[i], &v, 8);
	}
}

u64 HostFlags()
{
	return __builtin_ia32_readeflags_u64();
}

// The flags an operation defines.
u64 DefinedFlags(const std::vector<u8> &insn)
{
	kvmx_emu_ctxt c{};
	kvmx_emu_insn d;

	c.mode = KVMX_EMU_MODE_64;
	c.insn_len = static_cast<u8>(insn.size());
	std::memcpy(c.insn_bytes, insn.data(), insn.size());
	if (kvmx_emu_decode(&c, &d) != KVMX_EMU_DONE)
		return kArith;
	switch (d.op) {
	case KVMX_EMU_OP_AND:
	case KVMX_EMU_OP_OR:
	case KVMX_EMU_OP_XOR:
	case KVMX_EMU_OP_TEST:
		return kLogic;
	case KVMX_EMU_OP_BT:
	case KVMX_EMU_OP_BTS:
	case KVMX_EMU_OP_BTR:
	case KVMX_EMU_OP_BTC:
		return kBitOps;
	}
	return kArith;
}

// Random initial flags: host's (IF etc.) with random arithmetic bits.
u64 RandomFlags(std::mt19937_64 &rng, bool df)
{
	u64 f = (HostFlags() & ~(kArith | KVMX_EMU_FLAG_DF | KVMX_BIT(8) | KVMX_BIT(18))) |
		(rng() & kArith);

	return df ? f | KVMX_EMU_FLAG_DF : f;
}

void RunTemplates(const std::vector<Template> &templates, int iterations, u64 seed)
{
	Harness h;
	std::mt19937_64 rng(seed);

	if (!h.Ok())
		GTEST_SKIP() << "cannot map a code page";
	for (const Template &t : templates) {
		for (int it = 0; it < iterations; it++) {
			s8 disp = static_cast<s8>(rng() % 256);
			Encoded e = Encode(t, rng, disp);
			State st;
			std::vector<u8> mem(Harness::kBufSize);

			FillRandom(mem, rng);
			// The operand itself gets edge values more often.
			u64 opval = Edge(rng);
			std::memcpy(mem.data() + Harness::kBufSize / 2, &opval, 8);
			for (auto &g : st.gpr)
				g = Edge(rng);
			st.gpr[KVMX_EMU_RSP] = 0;
			st.rflags = RandomFlags(rng, rng() & 1);

			if (e.offset_reg >= 0) {
				// A bit offset of -512..511: within +-64 bytes of the operand.
				s64 off = static_cast<s64>(rng() % 1024) - 512;
				u64 hi = rng() & ~((t.size == 8) ? ~0ULL : (1ULL << (8 * t.size)) - 1);
				u64 lo = static_cast<u64>(off) &
					 ((t.size == 8) ? ~0ULL : (1ULL << (8 * t.size)) - 1);
				st.gpr[e.offset_reg] = hi | lo;
			}
			// CMPXCHG: the accumulator equals the operand half the time.
			if (t.kind == kCmpxchg && (rng() & 1))
				st.gpr[KVMX_EMU_RAX] = (st.gpr[KVMX_EMU_RAX] & ~0xffffffffULL) | opval;
			if (t.kind == kCmpxchg && t.size == 8 && (rng() & 1))
				st.gpr[KVMX_EMU_RAX] = opval;
			st.gpr[e.base] = reinterpret_cast<u64>(h.Mid()) - static_cast<s64>(disp);

			std::string what = "kind " + std::to_string(t.kind) + " n " + std::to_string(t.n) +
					   " size " + std::to_string(t.size);
			h.Compare(e.bytes, st, mem, t.flags, what);
			if (testing::Test::HasFailure())
				return;
		}
	}
	EXPECT_EQ(h.compared(), static_cast<int>(templates.size()) * iterations);
}

constexpr int kIterations = 400;

TEST(EmulateNative, Alu)
{
	std::vector<Template> t;

	for (int n = 0; n < 8; n++) {
		u64 flags = (n == 1 || n == 4 || n == 6) ? kLogic : kArith;	// OR AND XOR
		for (unsigned int size : {1u, 2u, 4u, 8u}) {
			t.push_back({kAluMR, n, size, flags});
			t.push_back({kAluRM, n, size, flags});
			t.push_back({kAluImm, n, size, flags});
			if (size > 1)
				t.push_back({kAluImm8, n, size, flags});
		}
	}
	RunTemplates(t, kIterations, 1);
}

TEST(EmulateNative, TestXchgNotNegIncDec)
{
	std::vector<Template> t;

	for (unsigned int size : {1u, 2u, 4u, 8u}) {
		t.push_back({kTestMR, 0, size, kLogic});
		t.push_back({kTestImm, 0, size, kLogic});
		t.push_back({kXchg, 0, size, kArith});
		t.push_back({kNot, 0, size, kArith});
		t.push_back({kNeg, 0, size, kArith});
		t.push_back({kInc, 0, size, kArith});
		t.push_back({kDec, 0, size, kArith});
	}
	RunTemplates(t, kIterations, 2);
}

TEST(EmulateNative, MovFamily)
{
	std::vector<Template> t;

	for (unsigned int size : {1u, 2u, 4u, 8u}) {
		t.push_back({kMovMR, 0, size, kArith});
		t.push_back({kMovRM, 0, size, kArith});
		t.push_back({kMovImm, 0, size, kArith});
		if (size > 1) {
			t.push_back({kMovzx8, 0, size, kArith});
			t.push_back({kMovsx8, 0, size, kArith});
			t.push_back({kMovsxd, 0, size, kArith});
		}
		if (size > 2) {
			t.push_back({kMovzx16, 0, size, kArith});
			t.push_back({kMovsx16, 0, size, kArith});
		}
	}
	RunTemplates(t, kIterations, 3);
}

TEST(EmulateNative, BitOps)
{
	std::vector<Template> t;

	for (int n = 0; n < 4; n++) {
		for (unsigned int size : {2u, 4u, 8u}) {
			t.push_back({kBtReg, n, size, kBitOps});
			t.push_back({kBtImm, n, size, kBitOps});
		}
	}
	RunTemplates(t, kIterations, 4);
}

// LOCK'd read-modify-writes behave as the plain ones.
TEST(EmulateNative, Locked)
{
	Harness h;
	std::mt19937_64 rng(5);

	if (!h.Ok())
		GTEST_SKIP() << "cannot map a code page";
	const std::vector<std::vector<u8>> insns = {
		{0xf0, 0x01, 0x0b}, {0xf0, 0x48, 0x11, 0x0b}, {0xf0, 0x66, 0x19, 0x0b},
		{0xf0, 0x21, 0x0b}, {0xf0, 0x09, 0x0b}, {0xf0, 0x31, 0x0b}, {0xf0, 0x29, 0x0b},
		{0xf0, 0x87, 0x0b}, {0xf0, 0x86, 0x2b}, {0xf0, 0xf7, 0x13}, {0xf0, 0xf6, 0x1b},
		{0xf0, 0xff, 0x03}, {0xf0, 0x48, 0xff, 0x0b}, {0xf0, 0x83, 0x03, 0x80},
		{0xf0, 0x80, 0x33, 0x5a}, {0xf0, 0x0f, 0xab, 0x0b}, {0xf0, 0x48, 0x0f, 0xb3, 0x0b},
		{0xf0, 0x66, 0x0f, 0xbb, 0x0b}, {0xf0, 0x0f, 0xba, 0x2b, 0x07},
	};
	for (const auto &insn : insns) {
		for (int it = 0; it < kIterations; it++) {
			State st;
			std::vector<u8> mem(Harness::kBufSize);

			FillRandom(mem, rng);
			for (auto &g : st.gpr)
				g = Edge(rng);
			st.gpr[KVMX_EMU_RSP] = 0;
			st.gpr[KVMX_EMU_RCX] &= 0x3f;	// bit offsets stay in the operand
			st.gpr[KVMX_EMU_RBX] = reinterpret_cast<u64>(h.Mid());
			st.rflags = RandomFlags(rng, false);
			h.Compare(insn, st, mem, DefinedFlags(insn), "locked");
			if (testing::Test::HasFailure())
				return;
		}
	}
}

// CMPXCHG, plain and LOCKed, every size, equal and not.
TEST(EmulateNative, Cmpxchg)
{
	std::vector<Template> t;

	for (int lock = 0; lock < 2; lock++)
		for (unsigned int size : {1u, 2u, 4u, 8u})
			t.push_back({kCmpxchg, lock, size, kArith});
	RunTemplates(t, kIterations, 6);
}

// CMPXCHG8B and CMPXCHG16B on [rbx] (16-byte aligned), equal and not.
TEST(EmulateNative, Cmpxchg8b16b)
{
	Harness h;
	std::mt19937_64 rng(7);

	if (!h.Ok())
		GTEST_SKIP() << "cannot map a code page";
	unsigned int a, b, c, d;
	bool cx16 = __get_cpuid(1, &a, &b, &c, &d) && (c & bit_CMPXCHG16B);
	std::vector<std::vector<u8>> insns = {
		{0x0f, 0xc7, 0x0b}, {0xf0, 0x0f, 0xc7, 0x0b}, {0x66, 0x0f, 0xc7, 0x0b},
		{0x41, 0x0f, 0xc7, 0x0b},	// REX.B: [r11]
	};
	if (cx16) {
		insns.push_back({0x48, 0x0f, 0xc7, 0x0b});
		insns.push_back({0xf0, 0x48, 0x0f, 0xc7, 0x0b});
	}
	ASSERT_EQ(reinterpret_cast<uintptr_t>(h.Mid()) % 16, 0u);
	for (const auto &insn : insns) {
		bool rexb = insn[0] == 0x41;
		for (int it = 0; it < kIterations; it++) {
			State st;
			std::vector<u8> mem(Harness::kBufSize);

			FillRandom(mem, rng);
			for (auto &g : st.gpr)
				g = Edge(rng);
			st.gpr[KVMX_EMU_RSP] = 0;
			st.gpr[rexb ? 11 : KVMX_EMU_RBX] = reinterpret_cast<u64>(h.Mid());
			u64 lo, hi;
			std::memcpy(&lo, mem.data() + Harness::kBufSize / 2, 8);
			std::memcpy(&hi, mem.data() + Harness::kBufSize / 2 + 8, 8);
			bool wide = std::find(insn.begin(), insn.end(), 0x48) != insn.end();
			switch (rng() % 3) {
			case 0:	// equal
				st.gpr[KVMX_EMU_RAX] = wide ? lo : (st.gpr[KVMX_EMU_RAX] & ~0xffffffffULL) |
								   (lo & 0xffffffffULL);
				st.gpr[KVMX_EMU_RDX] = wide ? hi : (st.gpr[KVMX_EMU_RDX] & ~0xffffffffULL) |
								   (lo >> 32);
				break;
			case 1:	// the low half equal only
				st.gpr[KVMX_EMU_RAX] = wide ? lo : lo & 0xffffffffULL;
				break;
			}
			st.rflags = RandomFlags(rng, false);
			h.Compare(insn, st, mem, kArith, "cmpxchg8b/16b");
			if (testing::Test::HasFailure())
				return;
		}
	}
}

// String instructions with and without REP, both directions, every size.
TEST(EmulateNative, Strings)
{
	Harness h;
	std::mt19937_64 rng(6);

	if (!h.Ok())
		GTEST_SKIP() << "cannot map a code page";
	for (u8 opcode : {0xa4, 0xaa, 0xac}) {
		for (unsigned int size : {1u, 2u, 4u, 8u}) {
			for (u8 rep : {0x00, 0xf3, 0xf2}) {
				std::vector<u8> insn;
				if (rep)
					insn.push_back(rep);
				if (size == 2)
					insn.push_back(0x66);
				if (size == 8)
					insn.push_back(0x48);
				insn.push_back(static_cast<u8>(opcode | (size > 1)));
				for (int it = 0; it < 100; it++) {
					State st;
					std::vector<u8> mem(Harness::kBufSize);
					bool df = rng() & 1;

					FillRandom(mem, rng);
					for (auto &g : st.gpr)
						g = Edge(rng);
					st.gpr[KVMX_EMU_RSP] = 0;
					st.gpr[KVMX_EMU_RCX] = rng() % 6;
					// Source in the low half, destination in the high half.
					st.gpr[KVMX_EMU_RSI] = reinterpret_cast<u64>(h.Buf()) + 256 +
							       rng() % 256;
					st.gpr[KVMX_EMU_RDI] = reinterpret_cast<u64>(h.Buf()) + 1280 +
							       rng() % 256;
					st.rflags = RandomFlags(rng, df);
					h.Compare(insn, st, mem, kArith, "string");
					if (testing::Test::HasFailure())
						return;
				}
			}
		}
	}
}

// How many bytes the CPU itself reads: the operand's last byte ends a page
// whose successor is inaccessible, so reading one byte more faults.
// Returns whether the instruction ran without a fault.
sigjmp_buf g_fault_jmp;

void OnFault(int)
{
	siglongjmp(g_fault_jmp, 1);
}

template <typename F>
bool RunsWithoutFault(F run)
{
	struct sigaction sa = {}, old_segv, old_bus;

	sa.sa_handler = OnFault;
	sigaction(SIGSEGV, &sa, &old_segv);
	sigaction(SIGBUS, &sa, &old_bus);
	bool ok = false;
	if (sigsetjmp(g_fault_jmp, 1) == 0) {
		run();
		ok = true;
	}
	sigaction(SIGSEGV, &old_segv, nullptr);
	sigaction(SIGBUS, &old_bus, nullptr);
	return ok;
}

bool GenuineIntel()
{
	unsigned int eax, ebx, ecx, edx;

	if (!__get_cpuid(0, &eax, &ebx, &ecx, &edx))
		return false;
	return ebx == 0x756e6547 && edx == 0x49656e69 && ecx == 0x6c65746e; // "GenuineIntel"
}

// MOVSXD r16, r/m16 (66 63 /r without REX.W) reads a word, as Intel's SDM
// lists it ("move word to word with sign-extension") and as kvmx's decoder
// says; KVM's emulator decodes 63 as SrcMem32 whatever the operand size
// and reads 4 bytes of MMIO (diff_fuzz.known lists that difference).  On
// an Intel CPU the word just before an inaccessible page must be read
// without a fault; the control (REX.W, a doubleword) must fault there.
// AMD differs: an AMD EPYC build machine faulted on the word form too
// (it reads a doubleword and writes the low word), which is what KVM's
// SrcMem32 does; kvmx runs on Intel VMX only and follows Intel.
TEST(EmulateNative, MovsxdWordReadsTwoBytesOnIntel)
{
	kvmx_emu_ctxt c = {};
	kvmx_emu_insn insn = {};
	const u8 bytes[] = {0x66, 0x63, 0x08};
	c.mode = KVMX_EMU_MODE_64;
	c.insn_len = sizeof(bytes);
	std::memcpy(c.insn_bytes, bytes, sizeof(bytes));
	ASSERT_EQ(kvmx_emu_decode(&c, &insn), KVMX_EMU_DONE);
	EXPECT_EQ(insn.mem_bytes, 2);
	EXPECT_EQ(insn.op_bytes, 2);

	const long page = sysconf(_SC_PAGESIZE);
	void *map = mmap(nullptr, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);
	ASSERT_NE(map, MAP_FAILED);
	ASSERT_EQ(mprotect(static_cast<char *>(map) + page, page, PROT_NONE), 0);
	u8 *end = static_cast<u8 *>(map) + page;
	end[-2] = 0x34;
	end[-1] = 0x82;

	u64 rcx = 0x1111222233334444ULL;
	const bool word_ok = RunsWithoutFault([&] {
		asm volatile(".byte 0x66, 0x63, 0x08" /* movsxd cx, word [rax] */
			     : "+c"(rcx) : "a"(end - 2) : "memory");
	});
	u64 rdx = 0;
	const bool dword_ok = RunsWithoutFault([&] {
		asm volatile(".byte 0x48, 0x63, 0x10" /* movsxd rdx, dword [rax] */
			     : "+d"(rdx) : "a"(end - 2) : "memory");
	});
	munmap(map, 2 * page);
	EXPECT_FALSE(dword_ok) << "the guard page did not fault: the test proves nothing";
	if (!GenuineIntel())
		GTEST_SKIP() << "not an Intel CPU; this one read " << (word_ok ? "2" : "more than 2")
			     << " bytes for 66 63 /r";
	EXPECT_TRUE(word_ok) << "the CPU read more than 2 bytes for 66 63 /r";
	if (word_ok) {
		EXPECT_EQ(rcx, 0x1111222233338234ULL); // a word into CX, the rest kept
	}
}

#else

TEST(EmulateNative, NeedsAnX86_64Host)
{
	GTEST_SKIP() << "native comparison runs on x86-64 Linux only";
}

#endif

}  // namespace
