// SPDX-License-Identifier: GPL-2.0
//
// Emulation tests for kvmx/emulate: loads, stores and read-modify-writes of
// every form and size through a fake MMIO bus that records the accesses,
// REP string iterations, restart after an exit, faults, and garbage.

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

extern "C" {
#include "emulate/emulate.h"
}

namespace {

constexpr u64 kFlagsMask = KVMX_EMU_FLAGS_ARITH;

// A fake bus: memory as a byte map whose unwritten bytes read as a pattern
// of their address, an access log, and what to answer.
class FakeBus {
public:
	enum class Reply { kContinue, kExit, kFault };

	struct Access {
		bool write;
		u64 la;
		unsigned int len;
		u64 val;
		bool exited;
	};

	static u8 Pattern(u64 la) { return static_cast<u8>((la * 0x9d + 0x31) ^ (la >> 8)); }

	u64 Peek(u64 la, unsigned int len) const
	{
		u64 v = 0;

		for (unsigned int i = 0; i < len && i < 8; i++) {
			auto it = mem_.find(la + i);
			u8 b = it == mem_.end() ? Pattern(la + i) : it->second;
			v |= static_cast<u64>(b) << (8 * i);
		}
		return v;
	}

	void Poke(u64 la, u64 val, unsigned int len)
	{
		for (unsigned int i = 0; i < len; i++)
			mem_[la + i] = static_cast<u8>(val >> (8 * i));
	}

	// What user space does after a read exit: supply the data.
	bool CompleteRead()
	{
		if (!pending_)
			return false;
		cache_ = Access{false, pending_->la, pending_->len, Peek(pending_->la, pending_->len),
				false};
		pending_.reset();
		return true;
	}

	int Read(u64 la, void *buf, unsigned int len, kvmx_emu_fault *fault)
	{
		EXPECT_TRUE(len == 1 || len == 2 || len == 4 || len == 8 || len == 16) << len;
		u64 v;

		if (len == 16 && read_reply == Reply::kContinue) {
			// CMPXCHG16B: bytewise; the log keeps the low half.
			for (unsigned int i = 0; i < len; i++)
				static_cast<u8 *>(buf)[i] = static_cast<u8>(Peek(la + i, 1));
			log.push_back({false, la, len, Peek(la, 8), false});
			return KVMX_EMU_CB_CONTINUE;
		}

		if (read_reply == Reply::kFault) {
			*fault = fault_to_give;
			log.push_back({false, la, len, 0, false});
			return KVMX_EMU_CB_FAULT;
		}
		if (read_reply == Reply::kExit) {
			if (!cache_ || cache_->la != la || cache_->len != len) {
				pending_ = Access{false, la, len, 0, true};
				log.push_back(*pending_);
				return KVMX_EMU_CB_EXIT;
			}
			v = cache_->val;
			cache_.reset();
		} else {
			v = Peek(la, len);
		}
		for (unsigned int i = 0; i < len; i++)
			static_cast<u8 *>(buf)[i] =
				static_cast<u8>(i < 8 ? v >> (8 * i) : Peek(la + i, 1));
		log.push_back({false, la, len, v, false});
		return KVMX_EMU_CB_CONTINUE;
	}

	int Write(u64 la, const void *buf, unsigned int len, kvmx_emu_fault *fault)
	{
		EXPECT_TRUE(len == 1 || len == 2 || len == 4 || len == 8 || len == 16) << len;
		u64 v = 0;

		for (unsigned int i = 8; i < len; i++)
			Poke(la + i, static_cast<const u8 *>(buf)[i], 1);
		for (unsigned int i = 0; i < len && i < 8; i++)
			v |= static_cast<u64>(static_cast<const u8 *>(buf)[i]) << (8 * i);
		unsigned int low = len > 8 ? 8 : len;
		if (write_reply == Reply::kFault) {
			*fault = fault_to_give;
			log.push_back({true, la, len, v, false});
			return KVMX_EMU_CB_FAULT;
		}
		Poke(la, v, low);
		log.push_back({true, la, len, v, write_reply == Reply::kExit});
		return write_reply == Reply::kExit ? KVMX_EMU_CB_EXIT : KVMX_EMU_CB_CONTINUE;
	}

	std::vector<Access> Writes() const
	{
		std::vector<Access> w;

		for (const Access &a : log)
			if (a.write)
				w.push_back(a);
		return w;
	}

	std::vector<Access> log;
	Reply read_reply = Reply::kContinue;
	Reply write_reply = Reply::kContinue;
	kvmx_emu_fault fault_to_give{0xdeadbeef000ULL, 0x2, 14, true};

private:
	std::map<u64, u8> mem_;
	std::optional<Access> pending_;
	std::optional<Access> cache_;
};

int BusRead(void *opaque, u64 la, void *buf, unsigned int len, kvmx_emu_fault *fault)
{
	return static_cast<FakeBus *>(opaque)->Read(la, buf, len, fault);
}

int BusWrite(void *opaque, u64 la, const void *buf, unsigned int len, kvmx_emu_fault *fault)
{
	return static_cast<FakeBus *>(opaque)->Write(la, buf, len, fault);
}

const kvmx_emu_ops kBusOps = {BusRead, BusWrite, nullptr};

// A context wired to its own bus.
class Emu {
public:
	Emu(kvmx_emu_mode mode, std::initializer_list<u8> bytes) : Emu(mode, std::vector<u8>(bytes)) {}

	Emu(kvmx_emu_mode mode, const std::vector<u8> &bytes)
	{
		c.mode = mode;
		c.regs.rip = 0x1000;
		c.regs.rflags = 0x2;
		c.ops = &kBusOps;
		c.opaque = &bus;
		SetBytes(bytes);
	}

	Emu(const Emu &) = delete;
	Emu &operator=(const Emu &) = delete;

	void SetBytes(const std::vector<u8> &bytes)
	{
		c.insn_len = static_cast<u8>(std::min<size_t>(bytes.size(), KVMX_EMU_MAX_INSN_LEN));
		for (size_t i = 0; i < c.insn_len; i++)
			c.insn_bytes[i] = bytes[i];
	}

	int Step() { return kvmx_emu_step(&c); }

	// Step, answering read exits as user space would; returns the last result.
	int StepThroughExits(int *exits = nullptr)
	{
		int ret;

		while ((ret = Step()) == KVMX_EMU_EXIT_READ) {
			if (exits)
				++*exits;
			if (!bus.CompleteRead())
				break;
		}
		return ret;
	}

	u64 &Reg(int r) { return c.regs.gpr[r]; }

	FakeBus bus;
	kvmx_emu_ctxt c{};
};

bool SameRegs(const kvmx_emu_regs &a, const kvmx_emu_regs &b)
{
	for (int i = 0; i < KVMX_EMU_NR_GPRS; i++)
		if (a.gpr[i] != b.gpr[i])
			return false;
	return a.rip == b.rip && a.rflags == b.rflags;
}

u64 Mask(unsigned int bytes)
{
	return bytes >= 8 ? ~0ULL : (1ULL << (8 * bytes)) - 1;
}

constexpr u64 kRbx = 0xfee00000ULL;	// an MMIO address
constexpr u64 kRax = 0x8877665544332211ULL;

TEST(EmulateStep, MovStoreEverySize)
{
	struct {
		std::vector<u8> bytes;
		unsigned int len;
		u64 val;
	} cases[] = {
		{{0x88, 0x03}, 1, 0x11},			// mov [rbx], al
		{{0x88, 0x23}, 1, 0x22},			// mov [rbx], ah
		{{0x66, 0x89, 0x03}, 2, 0x2211},		// mov [rbx], ax
		{{0x89, 0x03}, 4, 0x44332211},			// mov [rbx], eax
		{{0x48, 0x89, 0x03}, 8, kRax},			// mov [rbx], rax
		{{0xc6, 0x03, 0xa5}, 1, 0xa5},			// mov byte [rbx], 0xa5
		{{0x66, 0xc7, 0x03, 0x34, 0x82}, 2, 0x8234},
		{{0xc7, 0x03, 0xf0, 0xde, 0xbc, 0x9a}, 4, 0x9abcdef0},
		{{0x48, 0xc7, 0x03, 0xf0, 0xde, 0xbc, 0x9a}, 8, 0xffffffff9abcdef0ULL},
		{{0x48, 0xc7, 0x03, 0xf0, 0xde, 0xbc, 0x1a}, 8, 0x1abcdef0},
		{{0xa2, 0x00, 0x00, 0xe0, 0xfe, 0, 0, 0, 0}, 1, 0x11},		// movabs [kRbx], al
		{{0x48, 0xa3, 0x00, 0x00, 0xe0, 0xfe, 0, 0, 0, 0}, 8, kRax},	// movabs [kRbx], rax
		{{0x67, 0xa3, 0x00, 0x00, 0xe0, 0xfe}, 4, 0x44332211},	// mov [kRbx], eax (a32)
	};

	for (auto &tc : cases) {
		Emu e(KVMX_EMU_MODE_64, tc.bytes);
		e.Reg(KVMX_EMU_RAX) = kRax;
		e.Reg(KVMX_EMU_RBX) = kRbx;
		e.c.regs.rflags = 0x2 | kFlagsMask;
		kvmx_emu_regs before = e.c.regs;

		ASSERT_EQ(e.Step(), KVMX_EMU_DONE);
		ASSERT_EQ(e.bus.log.size(), 1u);
		EXPECT_TRUE(e.bus.log[0].write);
		EXPECT_EQ(e.bus.log[0].la, kRbx);
		EXPECT_EQ(e.bus.log[0].len, tc.len);
		EXPECT_EQ(e.bus.log[0].val, tc.val);
		before.rip += tc.bytes.size();
		EXPECT_TRUE(SameRegs(e.c.regs, before));
	}
}

TEST(EmulateStep, MovLoadEverySize)
{
	const u64 old = 0xa1a2a3a4a5a6a7a8ULL;
	struct {
		std::vector<u8> bytes;
		int reg;
		u64 expect;	// from memory value 0x8182838485868788
	} cases[] = {
		{{0x8a, 0x03}, KVMX_EMU_RAX, 0xa1a2a3a4a5a6a788ULL},		// mov al, [rbx]
		{{0x8a, 0x23}, KVMX_EMU_RAX, 0xa1a2a3a4a5a688a8ULL},		// mov ah, [rbx]
		{{0x8a, 0x3b}, KVMX_EMU_RBX, 0},				// mov bh, [rbx] (below)
		{{0x40, 0x8a, 0x33}, KVMX_EMU_RSI, 0xa1a2a3a4a5a6a788ULL},	// mov sil, [rbx]
		{{0x8a, 0x33}, KVMX_EMU_RDX, 0xa1a2a3a4a5a688a8ULL},		// mov dh, [rbx]
		{{0x44, 0x8a, 0x3b}, 15, 0xa1a2a3a4a5a6a788ULL},		// mov r15b, [rbx]
		{{0x66, 0x8b, 0x0b}, KVMX_EMU_RCX, 0xa1a2a3a4a5a68788ULL},	// mov cx, [rbx]
		{{0x8b, 0x0b}, KVMX_EMU_RCX, 0x85868788ULL},			// mov ecx, [rbx]
		{{0x48, 0x8b, 0x0b}, KVMX_EMU_RCX, 0x8182838485868788ULL},	// mov rcx, [rbx]
		{{0x4c, 0x8b, 0x03}, 8, 0x8182838485868788ULL},			// mov r8, [rbx]
		{{0x45, 0x8b, 0x03}, 8, 0x85868788ULL},				// mov r8d, [r11]
		{{0xa0, 0x00, 0x00, 0xe0, 0xfe, 0, 0, 0, 0}, KVMX_EMU_RAX, 0xa1a2a3a4a5a6a788ULL},
		{{0x66, 0xa1, 0x00, 0x00, 0xe0, 0xfe, 0, 0, 0, 0}, KVMX_EMU_RAX, 0xa1a2a3a4a5a68788ULL},
		{{0xa1, 0x00, 0x00, 0xe0, 0xfe, 0, 0, 0, 0}, KVMX_EMU_RAX, 0x85868788ULL},
		{{0x48, 0xa1, 0x00, 0x00, 0xe0, 0xfe, 0, 0, 0, 0}, KVMX_EMU_RAX, 0x8182838485868788ULL},
	};

	for (auto &tc : cases) {
		Emu e(KVMX_EMU_MODE_64, tc.bytes);
		for (auto &g : e.c.regs.gpr)
			g = old;
		e.Reg(KVMX_EMU_RBX) = kRbx;
		e.Reg(11) = kRbx;
		e.bus.Poke(kRbx, 0x8182838485868788ULL, 8);
		kvmx_emu_regs expect = e.c.regs;
		expect.gpr[tc.reg] = tc.reg == KVMX_EMU_RBX ? (kRbx & ~0xff00ULL) | 0x8800 : tc.expect;
		expect.rip += tc.bytes.size();

		ASSERT_EQ(e.Step(), KVMX_EMU_DONE) << tc.bytes.size();
		EXPECT_TRUE(SameRegs(e.c.regs, expect)) << std::hex << e.c.regs.gpr[tc.reg];
		ASSERT_EQ(e.bus.log.size(), 1u);
		EXPECT_FALSE(e.bus.log[0].write);
		EXPECT_EQ(e.bus.log[0].la, kRbx);
	}
}

TEST(EmulateStep, MovzxMovsx)
{
	struct {
		std::vector<u8> bytes;
		u64 mem;
		u64 expect;	// new rcx, old rcx = ~0
	} cases[] = {
		{{0x0f, 0xb6, 0x0b}, 0x80, 0x80},				// movzx ecx, byte
		{{0x66, 0x0f, 0xb6, 0x0b}, 0x80, 0xffffffffffff0080ULL},	// movzx cx, byte
		{{0x48, 0x0f, 0xb6, 0x0b}, 0xff, 0xff},				// movzx rcx, byte
		{{0x0f, 0xb7, 0x0b}, 0x8001, 0x8001},				// movzx ecx, word
		{{0x48, 0x0f, 0xb7, 0x0b}, 0xffff, 0xffff},
		{{0x0f, 0xbe, 0x0b}, 0x80, 0xffffff80},				// movsx ecx, byte
		{{0x0f, 0xbe, 0x0b}, 0x7f, 0x7f},
		{{0x66, 0x0f, 0xbe, 0x0b}, 0x80, 0xffffffffffffff80ULL},	// movsx cx, byte
		{{0x48, 0x0f, 0xbe, 0x0b}, 0x80, 0xffffffffffffff80ULL},
		{{0x0f, 0xbf, 0x0b}, 0x8000, 0xffff8000},			// movsx ecx, word
		{{0x48, 0x0f, 0xbf, 0x0b}, 0x8000, 0xffffffffffff8000ULL},
		{{0x48, 0x63, 0x0b}, 0x80000000, 0xffffffff80000000ULL},	// movsxd rcx, dword
		{{0x48, 0x63, 0x0b}, 0x7fffffff, 0x7fffffff},
		{{0x63, 0x0b}, 0x80000000, 0x80000000},				// movsxd ecx, dword
	};

	for (auto &tc : cases) {
		Emu e(KVMX_EMU_MODE_64, tc.bytes);
		e.Reg(KVMX_EMU_RCX) = ~0ULL;
		e.Reg(KVMX_EMU_RBX) = kRbx;
		e.bus.Poke(kRbx, tc.mem, 4);

		ASSERT_EQ(e.Step(), KVMX_EMU_DONE);
		EXPECT_EQ(e.Reg(KVMX_EMU_RCX), tc.expect) << std::hex << tc.mem;
		EXPECT_EQ(e.c.regs.rip, 0x1000 + tc.bytes.size());
		ASSERT_EQ(e.bus.log.size(), 1u);
		EXPECT_EQ(e.bus.log[0].len, e.c.insn.mem_bytes);
	}
}

TEST(EmulateStep, Modes16And32)
{
	// 16-bit: mov [bx+si+2], ax with DS base 0xb8000.
	{
		Emu e(KVMX_EMU_MODE_16, {0x89, 0x40, 0x02});
		e.c.seg_base[KVMX_EMU_SEG_DS] = 0xb8000;
		e.Reg(KVMX_EMU_RBX) = 0x100;
		e.Reg(KVMX_EMU_RSI) = 0xffff0010;	// only SI counts
		e.Reg(KVMX_EMU_RAX) = 0x12345678;
		ASSERT_EQ(e.Step(), KVMX_EMU_DONE);
		ASSERT_EQ(e.bus.log.size(), 1u);
		EXPECT_EQ(e.bus.log[0].la, 0xb8112u);
		EXPECT_EQ(e.bus.log[0].len, 2u);
		EXPECT_EQ(e.bus.log[0].val, 0x5678u);
		EXPECT_EQ(e.c.regs.rip, 0x1003u);
	}
	// 16-bit with 66: mov eax, es:[di] loads 32 bits.
	{
		Emu e(KVMX_EMU_MODE_16, {0x26, 0x66, 0x8b, 0x05});
		e.c.seg_base[KVMX_EMU_SEG_ES] = 0xa0000;
		e.Reg(KVMX_EMU_RDI) = 0x20;
		e.Reg(KVMX_EMU_RAX) = ~0ULL;
		e.bus.Poke(0xa0020, 0xcafef00d, 4);
		ASSERT_EQ(e.Step(), KVMX_EMU_DONE);
		EXPECT_EQ(e.Reg(KVMX_EMU_RAX), 0xcafef00du);
	}
	// 32-bit: add [ebp+8], ecx defaults to SS.
	{
		Emu e(KVMX_EMU_MODE_32, {0x01, 0x4d, 0x08});
		e.c.seg_base[KVMX_EMU_SEG_SS] = 0x100000;
		e.c.seg_base[KVMX_EMU_SEG_DS] = 0x200000;
		e.Reg(KVMX_EMU_RBP) = 0x1000;
		e.Reg(KVMX_EMU_RCX) = 1;
		e.bus.Poke(0x101008, 41, 4);
		ASSERT_EQ(e.Step(), KVMX_EMU_DONE);
		ASSERT_EQ(e.bus.log.size(), 2u);
		EXPECT_EQ(e.bus.log[1].la, 0x101008u);
		EXPECT_EQ(e.bus.log[1].val, 42u);
	}
	// 32-bit: EIP wraps at 4 GiB.
	{
		Emu e(KVMX_EMU_MODE_32, {0x89, 0x03});
		e.c.regs.rip = 0xffffffff;
		ASSERT_EQ(e.Step(), KVMX_EMU_DONE);
		EXPECT_EQ(e.c.regs.rip, 1u);
	}
	// 32-bit: writing a 16-bit register keeps the rest.
	{
		Emu e(KVMX_EMU_MODE_32, {0x66, 0x8b, 0x03});
		e.Reg(KVMX_EMU_RAX) = 0xaaaabbbb;
		e.bus.Poke(0, 0x1234, 2);
		e.Reg(KVMX_EMU_RBX) = 0;
		ASSERT_EQ(e.Step(), KVMX_EMU_DONE);
		EXPECT_EQ(e.Reg(KVMX_EMU_RAX), 0xaaaa1234u);
	}
}

// The value an ALU operation leaves (flags are checked natively elsewhere).
u64 AluRef(int op, u64 a, u64 b, bool cf, unsigned int bytes)
{
	u64 r = 0;

	switch (op) {
	case KVMX_EMU_OP_ADD: r = a + b; break;
	case KVMX_EMU_OP_OR: r = a | b; break;
	case KVMX_EMU_OP_ADC: r = a + b + cf; break;
	case KVMX_EMU_OP_SBB: r = a - b - cf; break;
	case KVMX_EMU_OP_AND: r = a & b; break;
	case KVMX_EMU_OP_SUB: r = a - b; break;
	case KVMX_EMU_OP_XOR: r = a ^ b; break;
	case KVMX_EMU_OP_CMP: r = a; break;
	}
	return r & Mask(bytes);
}

std::vector<u8> SizePrefix(unsigned int bytes)
{
	if (bytes == 2)
		return {0x66};
	if (bytes == 8)
		return {0x48};
	return {};
}

TEST(EmulateStep, AluReadModifyWriteThroughTheBus)
{
	const u64 mem = 0xf0e1d2c3b4a59687ULL, reg = 0x0f1e2d3c4b5a6978ULL;

	for (int n = 0; n < 8; n++) {
		int op = KVMX_EMU_OP_ADD + n;
		for (unsigned int bytes : {1u, 2u, 4u, 8u}) {
			for (int form = 0; form < 5; form++) {
				// 0: op [rbx], reg  1: op reg, [rbx]  2: op [rbx], imm8 (80/83)
				// 3: op [rbx], imm (80/81)  4: 82 (32-bit only; skipped here)
				if (form == 4)
					continue;
				std::vector<u8> b = SizePrefix(bytes);
				u64 src = reg;
				bool w = bytes > 1;

				if (form == 0 || form == 1) {
					b.push_back(static_cast<u8>(n * 8 + form * 2 + w));
					b.push_back(0x0b);	// [rbx], rcx/ecx/cx/cl
				} else if (form == 2) {
					b.push_back(w ? 0x83 : 0x80);
					b.push_back(static_cast<u8>(0x03 | (n << 3)));
					b.push_back(0x96);
					src = w ? 0xffffffffffffff96ULL : 0x96;
				} else {
					b.push_back(w ? 0x81 : 0x80);
					b.push_back(static_cast<u8>(0x03 | (n << 3)));
					if (!w) {
						b.push_back(0x5a);
						src = 0x5a;
					} else if (bytes == 2) {
						b.insert(b.end(), {0x34, 0x92});
						src = 0x9234;
					} else {
						b.insert(b.end(), {0x78, 0x56, 0x34, 0x92});
						src = 0xffffffff92345678ULL;
					}
				}
				for (bool cf : {false, true}) {
					SCOPED_TRACE(testing::Message() << "op " << op << " bytes " << bytes
								<< " form " << form << " cf " << cf);
					Emu e(KVMX_EMU_MODE_64, b);
					e.Reg(KVMX_EMU_RBX) = kRbx;
					e.Reg(KVMX_EMU_RCX) = reg;
					e.c.regs.rflags = 0x2 | (cf ? KVMX_EMU_FLAG_CF : 0);
					e.bus.Poke(kRbx, mem, 8);

					ASSERT_EQ(e.Step(), KVMX_EMU_DONE);
					EXPECT_EQ(e.c.regs.rip, 0x1000 + b.size());
					ASSERT_GE(e.bus.log.size(), 1u);
					EXPECT_FALSE(e.bus.log[0].write);
					EXPECT_EQ(e.bus.log[0].la, kRbx);
					EXPECT_EQ(e.bus.log[0].len, bytes);
					if (form == 1) {
						// reg = reg op mem, no write
						EXPECT_EQ(e.bus.log.size(), 1u);
						u64 r = AluRef(op, reg, mem, cf, bytes);
						u64 want = op == KVMX_EMU_OP_CMP ? reg :
							   bytes == 4 ? r :
							   (reg & ~Mask(bytes)) | r;
						EXPECT_EQ(e.Reg(KVMX_EMU_RCX), want);
					} else if (op == KVMX_EMU_OP_CMP) {
						EXPECT_EQ(e.bus.log.size(), 1u);
						EXPECT_EQ(e.Reg(KVMX_EMU_RCX), reg);
					} else {
						ASSERT_EQ(e.bus.log.size(), 2u);
						EXPECT_TRUE(e.bus.log[1].write);
						EXPECT_EQ(e.bus.log[1].la, kRbx);
						EXPECT_EQ(e.bus.log[1].len, bytes);
						EXPECT_EQ(e.bus.log[1].val,
							  AluRef(op, mem & Mask(bytes), src, cf, bytes));
						EXPECT_EQ(e.Reg(KVMX_EMU_RCX), reg);
					}
				}
			}
		}
	}
}

TEST(EmulateStep, HandPickedFlags)
{
	constexpr u64 CF = KVMX_EMU_FLAG_CF, PF = KVMX_EMU_FLAG_PF, AF = KVMX_EMU_FLAG_AF;
	constexpr u64 ZF = KVMX_EMU_FLAG_ZF, SF = KVMX_EMU_FLAG_SF, OF = KVMX_EMU_FLAG_OF;
	struct {
		std::vector<u8> bytes;
		u64 mem;
		u64 rcx;
		u64 flags_in;
		u64 flags_out;
	} cases[] = {
		{{0x00, 0x0b}, 0x7f, 0x01, 0, OF | SF | AF},		// add byte 0x7f + 1
		{{0x00, 0x0b}, 0xff, 0x01, 0, CF | ZF | AF | PF},	// add byte 0xff + 1
		{{0x10, 0x0b}, 0xff, 0x00, CF, CF | ZF | AF | PF},	// adc byte 0xff + 0 + 1
		{{0x28, 0x0b}, 0x00, 0x01, 0, CF | SF | AF | PF},	// sub byte 0 - 1
		{{0x18, 0x0b}, 0x80, 0x00, CF, OF | AF},		// sbb byte 0x80 - 0 - 1 = 0x7f
		{{0x38, 0x0b}, 0x05, 0x05, CF | SF, ZF | PF},		// cmp 5, 5
		{{0x48, 0x39, 0x0b}, 0x0, 0x1, 0, CF | SF | AF | PF},	// cmp qword 0, 1
		{{0x84, 0x0b}, 0xf0, 0x0f, CF | OF, ZF | PF},		// test
		{{0x85, 0x0b}, 0x80000000, 0xffffffff, CF | OF | AF, SF | PF},
		{{0xf6, 0x1b}, 0x80, 0, 0, CF | OF | SF},		// neg byte 0x80
		{{0xf6, 0x1b}, 0x00, 0, CF, ZF | PF},			// neg 0 clears CF
		{{0xf7, 0x13}, 0x0, 0, CF | ZF, CF | ZF},		// not: flags untouched
		{{0xfe, 0x03}, 0x7f, 0, CF, CF | OF | SF | AF},		// inc byte keeps CF
		{{0xff, 0x0b}, 0x1, 0, 0, ZF | PF},			// dec dword
		{{0x66, 0xff, 0x0b}, 0x0, 0, CF, CF | SF | AF | PF},	// dec word 0
		{{0x87, 0x0b}, 0x0, 0, OF | SF, OF | SF},		// xchg: untouched
		{{0x8b, 0x0b}, 0x0, 0, AF | PF, AF | PF},		// mov: untouched
		{{0x0f, 0xa3, 0x0b}, 0x4, 2, ZF | SF, CF | ZF | SF},	// bt: only CF
		{{0x0f, 0xab, 0x0b}, 0x4, 3, CF | OF, OF},		// bts
	};

	for (auto &tc : cases) {
		Emu e(KVMX_EMU_MODE_64, tc.bytes);
		e.Reg(KVMX_EMU_RBX) = kRbx;
		e.Reg(KVMX_EMU_RCX) = tc.rcx;
		e.bus.Poke(kRbx, tc.mem, 8);
		e.c.regs.rflags = 0x202 | KVMX_EMU_FLAG_DF | tc.flags_in;

		ASSERT_EQ(e.Step(), KVMX_EMU_DONE);
		EXPECT_EQ(e.c.regs.rflags, 0x202 | KVMX_EMU_FLAG_DF | tc.flags_out)
			<< std::hex << tc.mem << " " << tc.rcx;
	}
}

TEST(EmulateStep, XchgNotNegIncDec)
{
	struct {
		std::vector<u8> bytes;
		u64 mem;
		unsigned int len;
		u64 written;
		u64 rcx_after;	// rcx before is 0x1111111111111111
	} cases[] = {
		{{0x86, 0x0b}, 0xab, 1, 0x11, 0x11111111111111abULL},		// xchg [rbx], cl
		{{0x86, 0x2b}, 0xab, 1, 0x11, 0x111111111111ab11ULL},		// xchg [rbx], ch
		{{0x66, 0x87, 0x0b}, 0xabcd, 2, 0x1111, 0x111111111111abcdULL},
		{{0x87, 0x0b}, 0x89abcdef, 4, 0x11111111, 0x89abcdefULL},
		{{0x48, 0x87, 0x0b}, 0x0123456789abcdefULL, 8, 0x1111111111111111ULL,
		 0x0123456789abcdefULL},
		{{0xf6, 0x13}, 0x0f, 1, 0xf0, 0x1111111111111111ULL},		// not byte
		{{0x48, 0xf7, 0x13}, 0x0f, 8, ~0x0fULL, 0x1111111111111111ULL},	// not qword
		{{0x66, 0xf7, 0x1b}, 0x1, 2, 0xffff, 0x1111111111111111ULL},	// neg word
		{{0xf7, 0x1b}, 0x80000000, 4, 0x80000000, 0x1111111111111111ULL},
		{{0xfe, 0x03}, 0xff, 1, 0x00, 0x1111111111111111ULL},		// inc byte
		{{0x48, 0xff, 0x0b}, 0x0, 8, ~0ULL, 0x1111111111111111ULL},	// dec qword
	};

	for (auto &tc : cases) {
		Emu e(KVMX_EMU_MODE_64, tc.bytes);
		e.Reg(KVMX_EMU_RBX) = kRbx;
		e.Reg(KVMX_EMU_RCX) = 0x1111111111111111ULL;
		e.bus.Poke(kRbx, tc.mem, 8);

		ASSERT_EQ(e.Step(), KVMX_EMU_DONE);
		ASSERT_EQ(e.bus.log.size(), 2u);
		EXPECT_FALSE(e.bus.log[0].write);
		EXPECT_TRUE(e.bus.log[1].write);
		EXPECT_EQ(e.bus.log[1].len, tc.len);
		EXPECT_EQ(e.bus.log[1].val, tc.written);
		EXPECT_EQ(e.Reg(KVMX_EMU_RCX), tc.rcx_after);
	}
}

TEST(EmulateStep, BitOps)
{
	struct {
		std::vector<u8> bytes;
		u64 rcx;
		u64 la;
		u64 mem;
		bool cf;
		std::optional<u64> written;
	} cases[] = {
		{{0x0f, 0xa3, 0x0b}, 4, kRbx, 0x10, true, std::nullopt},		// bt
		{{0x0f, 0xa3, 0x0b}, 36, kRbx + 4, 0x10, true, std::nullopt},
		{{0x0f, 0xa3, 0x0b}, static_cast<u64>(-28), kRbx - 4, 0x10, true, std::nullopt},
		{{0x0f, 0xab, 0x0b}, 1, kRbx, 0x10, false, 0x12},			// bts
		{{0x0f, 0xb3, 0x0b}, 4, kRbx, 0x10, true, 0x00},			// btr
		{{0x0f, 0xbb, 0x0b}, 4, kRbx, 0x10, true, 0x00},			// btc
		{{0x0f, 0xbb, 0x0b}, 5, kRbx, 0x10, false, 0x30},
		{{0x48, 0x0f, 0xab, 0x0b}, 63, kRbx, 0, false, 0x8000000000000000ULL},
		{{0x66, 0x0f, 0xab, 0x0b}, 0xfff0, kRbx - 2, 0, false, 0x1},	// bts word, -16
		{{0x0f, 0xba, 0x23, 0x24}, 0, kRbx, 0x10, true, std::nullopt},	// bt [rbx], 36
		{{0x0f, 0xba, 0x2b, 0x01}, 0, kRbx, 0x10, false, 0x12},		// bts [rbx], 1
		{{0x0f, 0xba, 0x33, 0x04}, 0, kRbx, 0x10, true, 0x00},		// btr
		{{0x48, 0x0f, 0xba, 0x3b, 0x3f}, 0, kRbx, 0, false, 1ULL << 63},	// btc
	};

	for (auto &tc : cases) {
		Emu e(KVMX_EMU_MODE_64, tc.bytes);
		e.Reg(KVMX_EMU_RBX) = kRbx;
		e.Reg(KVMX_EMU_RCX) = tc.rcx;
		e.bus.Poke(tc.la, tc.mem, 8);

		ASSERT_EQ(e.Step(), KVMX_EMU_DONE);
		EXPECT_EQ(e.bus.log[0].la, tc.la);
		EXPECT_EQ((e.c.regs.rflags & KVMX_EMU_FLAG_CF) != 0, tc.cf);
		if (tc.written) {
			ASSERT_EQ(e.bus.log.size(), 2u);
			EXPECT_EQ(e.bus.log[1].la, tc.la);
			EXPECT_EQ(e.bus.log[1].val, *tc.written);
		} else {
			EXPECT_EQ(e.bus.log.size(), 1u);
		}
	}
}

// Step a REP instruction to the end, checking each iteration.
TEST(EmulateString, RepMovsbForwardAndBackward)
{
	for (bool df : {false, true}) {
		Emu e(KVMX_EMU_MODE_64, {0xf3, 0xa4});		// rep movsb
		e.Reg(KVMX_EMU_RSI) = 0x5000;
		e.Reg(KVMX_EMU_RDI) = kRbx;
		e.Reg(KVMX_EMU_RCX) = 3;
		e.c.regs.rflags = 0x2 | (df ? KVMX_EMU_FLAG_DF : 0);
		u64 step = df ? -1ULL : 1;

		for (int i = 0; i < 3; i++) {
			ASSERT_EQ(e.Step(), KVMX_EMU_DONE);
			EXPECT_EQ(e.Reg(KVMX_EMU_RCX), 2u - i);
			EXPECT_EQ(e.Reg(KVMX_EMU_RSI), 0x5000 + (i + 1) * step);
			EXPECT_EQ(e.Reg(KVMX_EMU_RDI), kRbx + (i + 1) * step);
			EXPECT_EQ(e.c.regs.rip, i < 2 ? 0x1000u : 0x1002u);
			EXPECT_EQ(e.c.rep_more, i < 2);
		}
		ASSERT_EQ(e.bus.log.size(), 6u);
		for (int i = 0; i < 3; i++) {
			EXPECT_EQ(e.bus.log[2 * i].la, 0x5000 + i * step);
			EXPECT_EQ(e.bus.log[2 * i + 1].la, kRbx + i * step);
			EXPECT_EQ(e.bus.log[2 * i + 1].val, FakeBus::Pattern(0x5000 + i * step));
		}
	}
}

TEST(EmulateString, ElementSizes)
{
	for (unsigned int bytes : {1u, 2u, 4u, 8u}) {
		std::vector<u8> pfx = SizePrefix(bytes);
		u8 w = bytes > 1;
		struct {
			u8 opcode;
			int op;
		} ops[] = {{0xa4, KVMX_EMU_OP_MOVS}, {0xaa, KVMX_EMU_OP_STOS}, {0xac, KVMX_EMU_OP_LODS}};

		for (auto &o : ops) {
			std::vector<u8> b = {0xf3};
			b.insert(b.end(), pfx.begin(), pfx.end());
			b.push_back(o.opcode | w);
			Emu e(KVMX_EMU_MODE_64, b);
			e.Reg(KVMX_EMU_RAX) = kRax;
			e.Reg(KVMX_EMU_RSI) = 0x5000;
			e.Reg(KVMX_EMU_RDI) = kRbx;
			e.Reg(KVMX_EMU_RCX) = 2;
			SCOPED_TRACE(testing::Message() << "op " << o.op << " bytes " << bytes);

			ASSERT_EQ(e.Step(), KVMX_EMU_DONE);
			EXPECT_EQ(e.c.insn.op, o.op);
			ASSERT_EQ(e.Step(), KVMX_EMU_DONE);
			EXPECT_EQ(e.Reg(KVMX_EMU_RCX), 0u);
			EXPECT_EQ(e.c.regs.rip, 0x1000 + b.size());
			u64 last_src = e.bus.Peek(0x5000 + bytes, bytes);
			switch (o.op) {
			case KVMX_EMU_OP_MOVS:
				EXPECT_EQ(e.Reg(KVMX_EMU_RSI), 0x5000 + 2 * bytes);
				EXPECT_EQ(e.Reg(KVMX_EMU_RDI), kRbx + 2 * bytes);
				EXPECT_EQ(e.bus.Peek(kRbx + bytes, bytes), last_src);
				break;
			case KVMX_EMU_OP_STOS:
				EXPECT_EQ(e.Reg(KVMX_EMU_RSI), 0x5000u);
				EXPECT_EQ(e.Reg(KVMX_EMU_RDI), kRbx + 2 * bytes);
				EXPECT_EQ(e.bus.log.size(), 2u);
				EXPECT_EQ(e.bus.log[1].val, kRax & Mask(bytes));
				EXPECT_EQ(e.bus.log[1].la, kRbx + bytes);
				break;
			default:
				EXPECT_EQ(e.Reg(KVMX_EMU_RSI), 0x5000 + 2 * bytes);
				EXPECT_EQ(e.Reg(KVMX_EMU_RDI), kRbx);
				EXPECT_EQ(e.bus.log.size(), 2u);
				u64 want = bytes == 4 ? last_src : (kRax & ~Mask(bytes)) | last_src;
				EXPECT_EQ(e.Reg(KVMX_EMU_RAX), want);
				break;
			}
		}
	}
}

TEST(EmulateString, CountZeroMakesNoAccess)
{
	for (u8 op : {0xa4, 0xa5, 0xaa, 0xab, 0xac, 0xad}) {
		Emu e(KVMX_EMU_MODE_64, {0xf3, 0x48, op});
		e.Reg(KVMX_EMU_RCX) = 0;
		e.Reg(KVMX_EMU_RSI) = 0x5000;
		e.Reg(KVMX_EMU_RDI) = 0x6000;
		kvmx_emu_regs before = e.c.regs;

		ASSERT_EQ(e.Step(), KVMX_EMU_DONE);
		EXPECT_TRUE(e.bus.log.empty());
		before.rip += 3;
		EXPECT_TRUE(SameRegs(e.c.regs, before));
		EXPECT_FALSE(e.c.rep_more);
	}

	// Only the address-size part of RCX counts: 67 f3 a4 with RCX = 1 << 32.
	Emu e(KVMX_EMU_MODE_64, {0x67, 0xf3, 0xa4});
	e.Reg(KVMX_EMU_RCX) = 1ULL << 32;
	ASSERT_EQ(e.Step(), KVMX_EMU_DONE);
	EXPECT_TRUE(e.bus.log.empty());
	EXPECT_EQ(e.Reg(KVMX_EMU_RCX), 1ULL << 32);
	EXPECT_EQ(e.c.regs.rip, 0x1003u);
}

TEST(EmulateString, WithoutRepOneElementAndRcxUntouched)
{
	Emu e(KVMX_EMU_MODE_64, {0x66, 0xa5});	// movsw
	e.Reg(KVMX_EMU_RCX) = 0;
	e.Reg(KVMX_EMU_RSI) = 0x5000;
	e.Reg(KVMX_EMU_RDI) = 0x6000;
	e.c.regs.rflags |= KVMX_EMU_FLAG_DF;
	ASSERT_EQ(e.Step(), KVMX_EMU_DONE);
	EXPECT_EQ(e.bus.log.size(), 2u);
	EXPECT_EQ(e.Reg(KVMX_EMU_RCX), 0u);
	EXPECT_EQ(e.Reg(KVMX_EMU_RSI), 0x4ffeu);
	EXPECT_EQ(e.Reg(KVMX_EMU_RDI), 0x5ffeu);
	EXPECT_EQ(e.c.regs.rip, 0x1002u);
	EXPECT_FALSE(e.c.rep_more);
}

TEST(EmulateString, AddressSizeWraps)
{
	// 64-bit mode, 32-bit addresses: RSI/RDI/RCX written as 32-bit values.
	{
		Emu e(KVMX_EMU_MODE_64, {0x67, 0xf3, 0xab});	// rep stosd (a32)
		e.Reg(KVMX_EMU_RDI) = 0xabcd0000fffffffcULL;
		e.Reg(KVMX_EMU_RCX) = 0x1234000000000002ULL;
		ASSERT_EQ(e.Step(), KVMX_EMU_DONE);
		EXPECT_EQ(e.bus.log[0].la, 0xfffffffcu);
		EXPECT_EQ(e.Reg(KVMX_EMU_RDI), 0u);
		EXPECT_EQ(e.Reg(KVMX_EMU_RCX), 1u);
		EXPECT_TRUE(e.c.rep_more);
	}
	// 16-bit mode: SI wraps at 64 KiB, the upper bits stay.
	{
		Emu e(KVMX_EMU_MODE_16, {0xf3, 0xac});		// rep lodsb
		e.c.seg_base[KVMX_EMU_SEG_DS] = 0x10000;
		e.Reg(KVMX_EMU_RSI) = 0x5555ffff;
		e.Reg(KVMX_EMU_RCX) = 0x77770001;
		ASSERT_EQ(e.Step(), KVMX_EMU_DONE);
		EXPECT_EQ(e.bus.log[0].la, 0x1ffffu);
		EXPECT_EQ(e.Reg(KVMX_EMU_RSI), 0x55550000u);
		EXPECT_EQ(e.Reg(KVMX_EMU_RCX), 0x77770000u);
		EXPECT_EQ(e.c.regs.rip, 0x1002u);
	}
	// 32-bit mode, ES base for the destination, FS override on the source.
	{
		Emu e(KVMX_EMU_MODE_32, {0x64, 0xa5});		// movsd fs:[esi] -> es:[edi]
		e.c.seg_base[KVMX_EMU_SEG_ES] = 0x100000;
		e.c.seg_base[KVMX_EMU_SEG_DS] = 0x200000;
		e.c.seg_base[KVMX_EMU_SEG_FS] = 0x300000;
		e.Reg(KVMX_EMU_RSI) = 0x10;
		e.Reg(KVMX_EMU_RDI) = 0x20;
		ASSERT_EQ(e.Step(), KVMX_EMU_DONE);
		EXPECT_EQ(e.bus.log[0].la, 0x300010u);
		EXPECT_EQ(e.bus.log[1].la, 0x100020u);
	}
	// 64-bit: ES, DS bases are ignored, FS/GS count.
	{
		Emu e(KVMX_EMU_MODE_64, {0x65, 0xa4});
		e.c.seg_base[KVMX_EMU_SEG_ES] = 0x100000;
		e.c.seg_base[KVMX_EMU_SEG_GS] = 0x7f0000000000ULL;
		e.Reg(KVMX_EMU_RSI) = 0x10;
		e.Reg(KVMX_EMU_RDI) = 0x20;
		ASSERT_EQ(e.Step(), KVMX_EMU_DONE);
		EXPECT_EQ(e.bus.log[0].la, 0x7f0000000010ULL);
		EXPECT_EQ(e.bus.log[1].la, 0x20u);
	}
}

TEST(EmulateString, RepneActsAsRep)
{
	Emu e(KVMX_EMU_MODE_64, {0xf2, 0xaa});
	e.Reg(KVMX_EMU_RCX) = 2;
	ASSERT_EQ(e.Step(), KVMX_EMU_DONE);
	EXPECT_TRUE(e.c.rep_more);
	ASSERT_EQ(e.Step(), KVMX_EMU_DONE);
	EXPECT_FALSE(e.c.rep_more);
	EXPECT_EQ(e.c.regs.rip, 0x1002u);
}

// Encodings for the restart tests: every operation and form.
const std::vector<std::vector<u8>> kForms = {
	{0x88, 0x03}, {0x66, 0x89, 0x03}, {0x89, 0x03}, {0x48, 0x89, 0x03},
	{0x8a, 0x23}, {0x66, 0x8b, 0x03}, {0x8b, 0x03}, {0x48, 0x8b, 0x03},
	{0xc6, 0x03, 0x12}, {0x48, 0xc7, 0x03, 0x01, 0x02, 0x03, 0x84},
	{0xa0, 0x00, 0x10, 0, 0, 0, 0, 0, 0}, {0x48, 0xa3, 0x00, 0x10, 0, 0, 0, 0, 0, 0},
	{0x0f, 0xb6, 0x0b}, {0x48, 0x0f, 0xbf, 0x0b}, {0x48, 0x63, 0x0b},
	{0x00, 0x0b}, {0x09, 0x0b}, {0x48, 0x11, 0x0b}, {0x66, 0x19, 0x0b}, {0x20, 0x0b},
	{0x29, 0x0b}, {0x31, 0x0b}, {0x39, 0x0b}, {0x02, 0x0b}, {0x48, 0x13, 0x0b},
	{0x1b, 0x0b}, {0x3b, 0x0b}, {0x80, 0x03, 0x7f}, {0x81, 0x33, 1, 2, 3, 4},
	{0x48, 0x83, 0x1b, 0x80}, {0x66, 0x83, 0x3b, 0x01}, {0x84, 0x0b}, {0x48, 0x85, 0x0b},
	{0xf6, 0x03, 0x81}, {0xf7, 0x03, 1, 0, 0, 0x80}, {0x86, 0x0b}, {0x48, 0x87, 0x0b},
	{0xf6, 0x13}, {0x48, 0xf7, 0x13}, {0xf6, 0x1b}, {0x66, 0xf7, 0x1b}, {0xfe, 0x03},
	{0xff, 0x0b}, {0x48, 0xff, 0x03}, {0x0f, 0xa3, 0x0b}, {0x0f, 0xab, 0x0b},
	{0x48, 0x0f, 0xb3, 0x0b}, {0x66, 0x0f, 0xbb, 0x0b}, {0x0f, 0xba, 0x23, 0x05},
	{0x0f, 0xba, 0x2b, 0x21}, {0x0f, 0xba, 0x33, 0x07}, {0x48, 0x0f, 0xba, 0x3b, 0x3f},
	{0xf0, 0x01, 0x0b}, {0xf0, 0x87, 0x0b}, {0xf0, 0x0f, 0xab, 0x0b},
	{0xa4}, {0x48, 0xa5}, {0xaa}, {0x66, 0xab}, {0xac}, {0xad},
	{0xf3, 0xa4}, {0xf3, 0x48, 0xa5}, {0xf3, 0xaa}, {0xf3, 0xab}, {0xf3, 0xac}, {0xf2, 0x66, 0xad},
};

void SetupState(Emu &e)
{
	e.Reg(KVMX_EMU_RAX) = kRax;
	e.Reg(KVMX_EMU_RBX) = kRbx;
	e.Reg(KVMX_EMU_RCX) = 0x2d;
	e.Reg(KVMX_EMU_RSI) = kRbx + 0x100;
	e.Reg(KVMX_EMU_RDI) = kRbx + 0x200;
	e.c.regs.rflags = 0x2 | KVMX_EMU_FLAG_CF;
}

// A read exit commits nothing, and stepping again once the data is there
// ends exactly where a step without exits ends.
TEST(EmulateRestart, ReadExitThenRestartIsExact)
{
	for (const auto &b : kForms) {
		SCOPED_TRACE(testing::Message() << "first byte " << std::hex << int(b[0]) << " len "
						<< b.size());
		Emu ref(KVMX_EMU_MODE_64, b);
		SetupState(ref);
		ASSERT_EQ(ref.Step(), KVMX_EMU_DONE);

		Emu e(KVMX_EMU_MODE_64, b);
		SetupState(e);
		e.bus.read_reply = FakeBus::Reply::kExit;
		kvmx_emu_regs before = e.c.regs;
		int ret = e.Step();
		bool reads = ref.c.insn.dir != KVMX_EMU_DIR_WRITE &&
			     (!ref.c.insn.rep || before.gpr[KVMX_EMU_RCX]);
		if (reads) {
			ASSERT_EQ(ret, KVMX_EMU_EXIT_READ);
			EXPECT_TRUE(SameRegs(e.c.regs, before));
			EXPECT_TRUE(e.bus.Writes().empty());
			// The exit names the access.
			ASSERT_EQ(e.bus.log.size(), 1u);
			EXPECT_EQ(e.bus.log[0].la, ref.bus.log[0].la);
			EXPECT_EQ(e.bus.log[0].len, ref.bus.log[0].len);
			// Without the data, stepping again exits again, still committing nothing.
			ASSERT_EQ(e.Step(), KVMX_EMU_EXIT_READ);
			EXPECT_TRUE(SameRegs(e.c.regs, before));
			ASSERT_TRUE(e.bus.CompleteRead());
			ret = e.Step();
		}
		ASSERT_EQ(ret, KVMX_EMU_DONE);
		EXPECT_TRUE(SameRegs(e.c.regs, ref.c.regs));
		auto w1 = e.bus.Writes(), w2 = ref.bus.Writes();
		ASSERT_EQ(w1.size(), w2.size());
		for (size_t i = 0; i < w1.size(); i++) {
			EXPECT_EQ(w1[i].la, w2[i].la);
			EXPECT_EQ(w1[i].len, w2[i].len);
			EXPECT_EQ(w1[i].val, w2[i].val);
		}
	}
}

// A write exit completes the instruction: same state as without the exit.
TEST(EmulateRestart, WriteExitCommits)
{
	for (const auto &b : kForms) {
		SCOPED_TRACE(testing::Message() << "first byte " << std::hex << int(b[0]));
		Emu ref(KVMX_EMU_MODE_64, b);
		SetupState(ref);
		ASSERT_EQ(ref.Step(), KVMX_EMU_DONE);

		Emu e(KVMX_EMU_MODE_64, b);
		SetupState(e);
		e.bus.read_reply = FakeBus::Reply::kExit;
		e.bus.write_reply = FakeBus::Reply::kExit;
		int exits = 0;
		int ret = e.StepThroughExits(&exits);
		bool writes = !ref.bus.Writes().empty();

		EXPECT_EQ(ret, writes ? KVMX_EMU_EXIT_WRITE : KVMX_EMU_DONE);
		EXPECT_TRUE(SameRegs(e.c.regs, ref.c.regs));
		EXPECT_EQ(e.c.rep_more, ref.c.rep_more);
		EXPECT_LE(exits, 1);
		if (writes) {
			ASSERT_EQ(e.bus.Writes().size(), 1u);
			EXPECT_TRUE(e.bus.Writes()[0].exited);
			EXPECT_EQ(e.bus.Writes()[0].val, ref.bus.Writes()[0].val);
		}
	}
}

// A REP MOVS from MMIO to MMIO: each iteration exits twice, and the
// sequence ends as a run without exits does.
TEST(EmulateRestart, RepMovsMmioToMmio)
{
	Emu ref(KVMX_EMU_MODE_64, {0xf3, 0x66, 0xa5});
	Emu e(KVMX_EMU_MODE_64, {0xf3, 0x66, 0xa5});
	for (Emu *x : {&ref, &e}) {
		SetupState(*x);
		x->Reg(KVMX_EMU_RCX) = 5;
	}
	e.bus.read_reply = FakeBus::Reply::kExit;
	e.bus.write_reply = FakeBus::Reply::kExit;

	int iterations = 0;
	do {
		ASSERT_EQ(ref.Step(), KVMX_EMU_DONE);
		kvmx_emu_regs before = e.c.regs;
		ASSERT_EQ(e.Step(), KVMX_EMU_EXIT_READ);
		EXPECT_TRUE(SameRegs(e.c.regs, before));
		ASSERT_TRUE(e.bus.CompleteRead());
		ASSERT_EQ(e.Step(), KVMX_EMU_EXIT_WRITE);
		EXPECT_TRUE(SameRegs(e.c.regs, ref.c.regs));
		EXPECT_EQ(e.c.rep_more, ref.c.rep_more);
		iterations++;
	} while (ref.c.rep_more);
	EXPECT_EQ(iterations, 5);
	EXPECT_EQ(e.Reg(KVMX_EMU_RCX), 0u);
	EXPECT_EQ(e.c.regs.rip, 0x1003u);
	for (int i = 0; i < 5; i++)
		EXPECT_EQ(e.bus.Peek(kRbx + 0x200 + 2 * i, 2), ref.bus.Peek(kRbx + 0x200 + 2 * i, 2));
}

TEST(EmulateFault, CallbackFaultCommitsNothing)
{
	for (const auto &b : kForms) {
		SCOPED_TRACE(testing::Message() << "first byte " << std::hex << int(b[0]));
		for (int which = 0; which < 2; which++) {
			Emu e(KVMX_EMU_MODE_64, b);
			SetupState(e);
			if (which == 0)
				e.bus.read_reply = FakeBus::Reply::kFault;
			else
				e.bus.write_reply = FakeBus::Reply::kFault;
			kvmx_emu_regs before = e.c.regs;
			int ret = e.Step();

			bool hit = false;

			for (const auto &a : e.bus.log)
				hit |= a.write == (which == 1);
			if (!hit) {
				// The instruction makes no such access.
				EXPECT_EQ(ret, KVMX_EMU_DONE);
				continue;
			}
			ASSERT_EQ(ret, KVMX_EMU_FAULT);
			EXPECT_TRUE(SameRegs(e.c.regs, before));
			EXPECT_EQ(e.c.fault.vector, 14);
			EXPECT_TRUE(e.c.fault.error_code_valid);
			EXPECT_EQ(e.c.fault.error_code, 2u);
			EXPECT_EQ(e.c.fault.address, 0xdeadbeef000ULL);
		}
	}
}

TEST(EmulateFault, NonCanonical)
{
	struct {
		std::vector<u8> bytes;
		u64 rbx;
		bool la57;
		int result;
		u8 vector;
	} cases[] = {
		{{0x89, 0x03}, 0x0000800000000000ULL, false, KVMX_EMU_FAULT, KVMX_EMU_GP_VECTOR},
		{{0x89, 0x03}, 0xffff7fffffffffffULL, false, KVMX_EMU_FAULT, KVMX_EMU_GP_VECTOR},
		{{0x89, 0x03}, 0xffff800000000000ULL, false, KVMX_EMU_DONE, 0},
		{{0x89, 0x03}, 0x00007ffffffffffcULL, false, KVMX_EMU_DONE, 0},
		{{0x89, 0x03}, 0x00007ffffffffffdULL, false, KVMX_EMU_FAULT, KVMX_EMU_GP_VECTOR},
		{{0x89, 0x03}, 0x0000800000000000ULL, true, KVMX_EMU_DONE, 0},
		{{0x89, 0x03}, 0x0100000000000000ULL, true, KVMX_EMU_FAULT, KVMX_EMU_GP_VECTOR},
		{{0x36, 0x89, 0x03}, 0x0000800000000000ULL, false, KVMX_EMU_FAULT, KVMX_EMU_SS_VECTOR},
		{{0x89, 0x45, 0x00}, 0, false, KVMX_EMU_FAULT, KVMX_EMU_SS_VECTOR},	// [rbp]
		{{0x48, 0x8b, 0x03}, 0x0000800000000000ULL, false, KVMX_EMU_FAULT, KVMX_EMU_GP_VECTOR},
	};

	for (auto &tc : cases) {
		Emu e(KVMX_EMU_MODE_64, tc.bytes);
		e.Reg(KVMX_EMU_RBX) = tc.rbx;
		e.Reg(KVMX_EMU_RBP) = 0x0000800000000000ULL;
		e.c.la57 = tc.la57;
		kvmx_emu_regs before = e.c.regs;

		ASSERT_EQ(e.Step(), tc.result) << std::hex << tc.rbx;
		if (tc.result == KVMX_EMU_FAULT) {
			EXPECT_EQ(e.c.fault.vector, tc.vector);
			EXPECT_TRUE(e.c.fault.error_code_valid);
			EXPECT_EQ(e.c.fault.error_code, 0u);
			EXPECT_TRUE(e.bus.log.empty());
			EXPECT_TRUE(SameRegs(e.c.regs, before));
		}
	}

	// Outside 64-bit mode there is no such check.
	Emu e(KVMX_EMU_MODE_32, {0x89, 0x03});
	e.Reg(KVMX_EMU_RBX) = 0xfffffffc;
	EXPECT_EQ(e.Step(), KVMX_EMU_DONE);
}

TEST(EmulateFault, DecodeFaultsReachTheContext)
{
	Emu e(KVMX_EMU_MODE_64, {0xf0, 0x89, 0x03});	// lock mov
	kvmx_emu_regs before = e.c.regs;
	ASSERT_EQ(e.Step(), KVMX_EMU_FAULT);
	EXPECT_EQ(e.c.fault.vector, KVMX_EMU_UD_VECTOR);
	EXPECT_TRUE(SameRegs(e.c.regs, before));
	EXPECT_TRUE(e.bus.log.empty());
}

int BadRead(void *, u64, void *, unsigned int, kvmx_emu_fault *)
{
	return 42;
}

TEST(EmulateFault, CallbackBreakingTheContractIsUnhandleable)
{
	const kvmx_emu_ops ops = {BadRead, BusWrite, nullptr};
	Emu e(KVMX_EMU_MODE_64, {0x8b, 0x03});
	e.c.ops = &ops;
	kvmx_emu_regs before = e.c.regs;
	EXPECT_EQ(e.Step(), KVMX_EMU_UNHANDLEABLE);
	EXPECT_TRUE(SameRegs(e.c.regs, before));

	// No callbacks at all.
	const kvmx_emu_ops none = {nullptr, nullptr, nullptr};
	e.c.ops = &none;
	EXPECT_EQ(e.Step(), KVMX_EMU_UNHANDLEABLE);
	e.c.ops = nullptr;
	EXPECT_EQ(e.Step(), KVMX_EMU_UNHANDLEABLE);
	EXPECT_TRUE(SameRegs(e.c.regs, before));
}

TEST(EmulateStep, UnhandleableAndTruncatedCommitNothing)
{
	const std::vector<std::vector<u8>> bad = {
		{}, {0x90}, {0x01, 0xd8}, {0x0f, 0xc1, 0x0b}, {0x48}, {0x48, 0x89}, {0x89, 0x04},
		{0xc7, 0x03, 0x01, 0x02}, {0x66, 0x66, 0x66}, {0xa1, 0x00, 0x00},
	};

	for (const auto &b : bad) {
		Emu e(KVMX_EMU_MODE_64, b);
		SetupState(e);
		kvmx_emu_regs before = e.c.regs;
		EXPECT_EQ(e.Step(), KVMX_EMU_UNHANDLEABLE);
		EXPECT_TRUE(SameRegs(e.c.regs, before));
		EXPECT_TRUE(e.bus.log.empty());
	}
}

// Arbitrary bytes and registers, with a bus answering at random: the result
// is always one of the five, an uncommitted step leaves the registers, and
// nothing crashes (ASan and UBSan watch).
// Random instruction bytes, half of them drawn from @hot (prefixes and
// opcodes worth hitting often); @min_len..15 bytes.
template <size_t N>
std::vector<u8> RandomBytes(std::mt19937_64 &rng, const u8 (&hot)[N], size_t min_len)
{
	std::vector<u8> b(min_len + rng() % (16 - min_len));
	for (auto &x : b)
		x = (rng() & 1) ? static_cast<u8>(rng()) : hot[rng() % N];
	return b;
}

// Random registers (half of them small, so addresses repeat), RIP and bases.
void RandomState(std::mt19937_64 &rng, kvmx_emu_ctxt &c)
{
	for (auto &g : c.regs.gpr)
		g = (rng() & 1) ? rng() : rng() % 64;
	c.regs.rip = rng();
	c.regs.rflags = rng();
	for (auto &s : c.seg_base)
		s = rng();
}

TEST(EmulateStep, RandomBytesAndState)
{
	std::mt19937_64 rng(7);
	int results[5] = {};

	for (int i = 0; i < 200000; i++) {
		static const u8 hot[] = {0x66, 0x67, 0xf0, 0xf2, 0xf3, 0x64, 0x48, 0x0f,
					 0x89, 0x8b, 0xa5, 0xab, 0xf7, 0x81, 0x87, 0xba};
		Emu e(static_cast<kvmx_emu_mode>(rng() % 3), RandomBytes(rng, hot, 0));
		RandomState(rng, e.c);
		e.c.la57 = rng() & 1;
		e.bus.read_reply = static_cast<FakeBus::Reply>(rng() % 3);
		e.bus.write_reply = static_cast<FakeBus::Reply>(rng() % 3);
		kvmx_emu_regs before = e.c.regs;
		int ret = e.Step();

		ASSERT_GE(ret, KVMX_EMU_DONE);
		ASSERT_LE(ret, KVMX_EMU_UNHANDLEABLE);
		results[ret]++;
		if (ret == KVMX_EMU_EXIT_READ || ret == KVMX_EMU_FAULT ||
		    ret == KVMX_EMU_UNHANDLEABLE) {
			ASSERT_TRUE(SameRegs(e.c.regs, before));
		}
		if (ret == KVMX_EMU_DONE || ret == KVMX_EMU_EXIT_WRITE) {
			// Only the arithmetic flags may change.
			ASSERT_EQ(e.c.regs.rflags & ~kFlagsMask, before.rflags & ~kFlagsMask);
			ASSERT_LE(e.bus.Writes().size(), 1u);
		}
		ASSERT_LE(e.bus.log.size(), 2u);
	}
	for (int r = 0; r < 5; r++)
		EXPECT_GT(results[r], 100) << "result " << r;
}

// Executing a decode kept from other register values, re-addressed, does
// exactly what stepping the bytes does: same result, registers and accesses.
TEST(EmulateStep, KeptDecodeExecutesLikeStep)
{
	std::mt19937_64 rng(8);
	int executed = 0;

	for (int i = 0; i < 100000; i++) {
		static const u8 hot[] = {0x66, 0x67, 0xf3, 0x64, 0x48, 0x0f, 0x89, 0x8b,
					 0xa5, 0xab, 0xf7, 0x81, 0x87, 0xba, 0xa3, 0x44};
		std::vector<u8> b = RandomBytes(rng, hot, 1);
		kvmx_emu_mode mode = static_cast<kvmx_emu_mode>(rng() % 3);
		Emu stepped(mode, b), kept(mode, b);
		RandomState(rng, stepped.c);
		// The kept decode saw other registers and bases.
		for (auto &g : kept.c.regs.gpr)
			g = rng();
		kept.c.regs.rip = stepped.c.regs.rip;
		if (kvmx_emu_decode(&kept.c, &kept.c.insn) != KVMX_EMU_DONE)
			continue;
		kept.c.regs = stepped.c.regs;
		for (int s = 0; s < KVMX_EMU_NR_SEGS; s++)
			kept.c.seg_base[s] = stepped.c.seg_base[s];
		kvmx_emu_address(&kept.c, &kept.c.insn);

		SCOPED_TRACE(i);
		int want = stepped.Step();
		ASSERT_EQ(kvmx_emu_execute(&kept.c), want);
		executed++;
		ASSERT_TRUE(SameRegs(kept.c.regs, stepped.c.regs));
		ASSERT_EQ(kept.c.rep_more, stepped.c.rep_more);
		ASSERT_EQ(kept.bus.log.size(), stepped.bus.log.size());
		for (size_t j = 0; j < kept.bus.log.size(); j++) {
			ASSERT_EQ(kept.bus.log[j].write, stepped.bus.log[j].write);
			ASSERT_EQ(kept.bus.log[j].la, stepped.bus.log[j].la);
			ASSERT_EQ(kept.bus.log[j].len, stepped.bus.log[j].len);
			ASSERT_EQ(kept.bus.log[j].val, stepped.bus.log[j].val);
		}
	}
	EXPECT_GT(executed, 1000);
}

// The MOV helpers of an MMIO fast path do what kvmx_emu_execute() does:
// same address, same data stored, same register loaded.
TEST(EmulateStep, MovHelpersMatchExecute)
{
	std::mt19937_64 rng(9);
	int stores = 0, loads = 0;

	for (int i = 0; i < 200000; i++) {
		static const u8 hot[] = {0x66, 0x67, 0x48, 0x41, 0x0f, 0x88, 0x89, 0x8a,
					 0x8b, 0xc6, 0xc7, 0xa0, 0xa3, 0xb6, 0xbf, 0x63};
		kvmx_emu_mode mode = static_cast<kvmx_emu_mode>(rng() % 3);
		Emu e(mode, RandomBytes(rng, hot, 1));
		RandomState(rng, e.c);
		kvmx_emu_insn insn;
		if (kvmx_emu_decode(&e.c, &insn) != KVMX_EMU_DONE || !kvmx_emu_is_mov(&insn))
			continue;
		kvmx_emu_regs before = e.c.regs;
		SCOPED_TRACE(i);
		ASSERT_EQ(kvmx_emu_linear(mode, insn.seg, e.c.seg_base[insn.seg],
					  kvmx_emu_ea(&insn, before.gpr, before.rip)),
			  insn.la);
		int ret = e.Step();
		if (ret == KVMX_EMU_FAULT)
			continue;	// non-canonical: the CPU faults before any exit
		ASSERT_EQ(ret, KVMX_EMU_DONE);
		ASSERT_EQ(e.bus.log.size(), 1u);
		const FakeBus::Access &a = e.bus.log[0];
		EXPECT_EQ(a.la, insn.la);
		EXPECT_EQ(a.len, insn.mem_bytes);
		kvmx_emu_regs want = before;
		want.rip = before.rip + insn.len;
		if (mode != KVMX_EMU_MODE_64)
			want.rip = static_cast<u32>(want.rip);
		if (a.write) {
			stores++;
			EXPECT_EQ(a.val, kvmx_emu_mov_store_value(&insn, before.gpr));
		} else {
			loads++;
			kvmx_emu_mov_load(&insn, want.gpr, a.val);
		}
		EXPECT_TRUE(SameRegs(e.c.regs, want));
	}
	EXPECT_GT(stores, 1000);
	EXPECT_GT(loads, 1000);
}


// A cmpxchg callback over the fake bus: records the old value it was given
// and answers RETRY when told to (another CPU changed the memory).
struct CasBus {
	FakeBus *bus;
	int calls = 0;
	u64 old_seen = 0;
	bool fail = false;
};

int CasRead(void *opaque, u64 la, void *buf, unsigned int len, kvmx_emu_fault *fault)
{
	return static_cast<CasBus *>(opaque)->bus->Read(la, buf, len, fault);
}

int CasWrite(void *opaque, u64 la, const void *buf, unsigned int len, kvmx_emu_fault *fault)
{
	return static_cast<CasBus *>(opaque)->bus->Write(la, buf, len, fault);
}

int CasCmpxchg(void *opaque, u64 la, const void *old, const void *buf, unsigned int len,
	       kvmx_emu_fault *fault)
{
	auto *cb = static_cast<CasBus *>(opaque);
	u64 o = 0;

	cb->calls++;
	std::memcpy(&o, old, len < 8 ? len : 8);
	cb->old_seen = o;
	if (cb->fail)
		return KVMX_EMU_CB_RETRY;
	return cb->bus->Write(la, buf, len, fault);
}

const kvmx_emu_ops kCasOps = {CasRead, CasWrite, CasCmpxchg};

TEST(EmulateStep, CmpxchgEqualAndNot)
{
	// cmpxchg [rbx], ecx: equal writes ecx, ZF; not equal loads eax, writes back.
	for (bool equal : {true, false}) {
		Emu e(KVMX_EMU_MODE_64, {0x0f, 0xb1, 0x0b});
		e.bus.Poke(kRbx, 0x11223344, 4);
		e.Reg(KVMX_EMU_RAX) = equal ? 0xffffffff11223344ULL : 0xffffffff55667788ULL;
		e.Reg(KVMX_EMU_RCX) = 0xaabbccdd;
		e.Reg(KVMX_EMU_RBX) = kRbx;
		ASSERT_EQ(e.Step(), KVMX_EMU_DONE);
		ASSERT_EQ(e.bus.Writes().size(), 1u);
		EXPECT_EQ(e.bus.Writes()[0].val, equal ? 0xaabbccddULL : 0x11223344ULL);
		EXPECT_EQ((e.c.regs.rflags & KVMX_EMU_FLAG_ZF) != 0, equal);
		// Success leaves RAX alone; failure writes EAX, zero-extended.
		EXPECT_EQ(e.Reg(KVMX_EMU_RAX), equal ? 0xffffffff11223344ULL : 0x11223344ULL);
		EXPECT_EQ(e.c.regs.rip, 0x1003u);
	}
}

TEST(EmulateStep, Cmpxchg8bIn32BitMode)
{
	// cmpxchg8b [ebx]
	for (bool equal : {true, false}) {
		Emu e(KVMX_EMU_MODE_32, {0x0f, 0xc7, 0x0b});
		e.bus.Poke(0x2000, 0x8877665544332211ULL, 8);
		e.Reg(KVMX_EMU_RBX) = 0x2000;
		e.Reg(KVMX_EMU_RAX) = 0x44332211;
		e.Reg(KVMX_EMU_RDX) = equal ? 0x88776655 : 0x88776600;
		e.Reg(KVMX_EMU_RCX) = 0xdeadbeef;
		e.c.regs.rflags = 0x2 | KVMX_EMU_FLAG_CF;
		ASSERT_EQ(e.Step(), KVMX_EMU_DONE);
		ASSERT_EQ(e.bus.Writes().size(), 1u);
		EXPECT_EQ(e.bus.Writes()[0].len, 8u);
		// The new value is ECX:EBX, EBX being the address here.
		EXPECT_EQ(e.bus.Writes()[0].val,
			  equal ? 0xdeadbeef00002000ULL : 0x8877665544332211ULL);
		EXPECT_EQ(e.c.regs.rflags, 0x2 | KVMX_EMU_FLAG_CF | (equal ? KVMX_EMU_FLAG_ZF : 0));
		EXPECT_EQ(e.Reg(KVMX_EMU_RDX), 0x88776655u);
		EXPECT_EQ(e.Reg(KVMX_EMU_RAX), 0x44332211u);
	}
}

TEST(EmulateStep, Cmpxchg16bNeedsAlignment)
{
	Emu e(KVMX_EMU_MODE_64, {0x48, 0x0f, 0xc7, 0x0b});	// cmpxchg16b [rbx]
	e.Reg(KVMX_EMU_RBX) = kRbx + 8;
	kvmx_emu_regs before = e.c.regs;

	ASSERT_EQ(e.Step(), KVMX_EMU_FAULT);
	EXPECT_EQ(e.c.fault.vector, KVMX_EMU_GP_VECTOR);
	EXPECT_TRUE(e.bus.log.empty());
	EXPECT_TRUE(SameRegs(e.c.regs, before));

	e.Reg(KVMX_EMU_RBX) = kRbx;
	e.bus.Poke(kRbx, 1, 8);
	e.bus.Poke(kRbx + 8, 2, 8);
	e.Reg(KVMX_EMU_RAX) = 1;
	e.Reg(KVMX_EMU_RDX) = 2;
	e.Reg(KVMX_EMU_RCX) = 0x2222;
	ASSERT_EQ(e.Step(), KVMX_EMU_DONE);
	EXPECT_EQ(e.bus.Peek(kRbx + 8, 8), 0x2222u);
	EXPECT_TRUE(e.c.regs.rflags & KVMX_EMU_FLAG_ZF);
}

TEST(EmulateStep, LockedWritesGoThroughCmpxchg)
{
	const std::vector<std::vector<u8>> locked = {
		{0xf0, 0x09, 0x0b},			// lock or [rbx], ecx
		{0xf0, 0x48, 0x21, 0x0b},		// lock and [rbx], rcx
		{0xf0, 0x48, 0x0f, 0xba, 0x2b, 0x01},	// lock bts qword [rbx], 1
		{0xf0, 0x0f, 0xba, 0x33, 0x00},		// lock btr dword [rbx], 0
		{0x48, 0x87, 0x0b},			// xchg [rbx], rcx (LOCKed anyway)
		{0xf0, 0x48, 0x0f, 0xb1, 0x0b},		// lock cmpxchg [rbx], rcx
		{0xf0, 0x0f, 0xc7, 0x0b},		// lock cmpxchg8b [rbx]
	};
	for (const auto &bytes : locked) {
		SCOPED_TRACE(testing::PrintToString(bytes));
		for (bool fail : {false, true}) {
			Emu e(KVMX_EMU_MODE_64, bytes);
			CasBus cb{&e.bus};
			cb.fail = fail;
			e.c.ops = &kCasOps;
			e.c.opaque = &cb;
			e.bus.Poke(kRbx, 0x0123456789abcdefULL, 8);
			e.Reg(KVMX_EMU_RBX) = kRbx;
			e.Reg(KVMX_EMU_RCX) = 0xf0f0;
			kvmx_emu_regs before = e.c.regs;

			int ret = e.Step();
			EXPECT_EQ(cb.calls, 1);
			EXPECT_EQ(cb.old_seen & Mask(e.c.insn.mem_bytes > 8 ? 8 : e.c.insn.mem_bytes),
				  0x0123456789abcdefULL & Mask(e.c.insn.mem_bytes));
			if (fail) {
				EXPECT_EQ(ret, KVMX_EMU_RETRY);
				EXPECT_TRUE(SameRegs(e.c.regs, before));
				EXPECT_EQ(e.bus.Peek(kRbx, 8), 0x0123456789abcdefULL);
			} else {
				EXPECT_EQ(ret, KVMX_EMU_DONE);
				EXPECT_EQ(e.c.regs.rip, before.rip + bytes.size());
			}
		}
	}
	// Unlocked read-modify-writes and plain stores use write().
	for (const std::vector<u8> &bytes : std::vector<std::vector<u8>>{
		     {0x09, 0x0b}, {0x0f, 0xb1, 0x0b}, {0x89, 0x0b}}) {
		Emu e(KVMX_EMU_MODE_64, bytes);
		CasBus cb{&e.bus};
		e.c.ops = &kCasOps;
		e.c.opaque = &cb;
		e.Reg(KVMX_EMU_RBX) = kRbx;
		EXPECT_EQ(e.Step(), KVMX_EMU_DONE);
		EXPECT_EQ(cb.calls, 0);
		EXPECT_EQ(e.bus.Writes().size(), 1u);
	}
}

}  // namespace
