// SPDX-License-Identifier: GPL-2.0
// MMIO emulation, instruction by instruction: each row of mmio_insns.inc
// runs a few instruction bytes and a hlt in a TinyGuest (real mode, flat
// 32-bit protected mode or 64-bit mode) whose memory operand is MMIO, and
// checks every exit (phys_addr, len, is_write, the written data; read data
// comes from the row), then every GPR, RIP, and the arithmetic RFLAGS
// bits and DF.  The same rows run on /dev/kvm (the reference) and on
// /dev/kvmx.  The rows' expected values come from the ISA's semantics
// (mmio_insns_gen.py), not from either hypervisor.
//
// Besides the code page (0x1000, also the stack) and, in the protected
// modes, the GDT and page tables (0xc000-0xffff), every row has a data RAM
// page at 0x8000 (kDataGpa), for MOVS to and from RAM and accesses that
// cross between RAM and MMIO.  Everything else is MMIO.
//
// Also: instructions neither hypervisor emulates must end in
// KVM_EXIT_INTERNAL_ERROR (KVM_INTERNAL_ERROR_EMULATION) with no kernel
// splat.
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

#include "lib/kvm_abi.h"
#include "lib/sys.h"
#include "lib/test.h"
#include "lib/tiny_guest.h"

using kvmx::Fd;
using kvmx::Mapping;
using kvmx::test::GuestMode;
using kvmx::test::open_device;
using kvmx::test::TinyGuest;

namespace {

constexpr GuestMode M16 = GuestMode::kReal;
constexpr GuestMode M32 = GuestMode::kProtected32;
constexpr GuestMode M64 = GuestMode::kLong64;

// GPRs in the hardware's encoding order.
enum Reg { RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8, R9, R10, R11, R12, R13, R14, R15 };
enum Seg { ES, CS, SS, DS, FS, GS, kNoSeg };

constexpr uint32_t CF = 1u << 0, PF = 1u << 2, AF = 1u << 4, ZF = 1u << 6, SF = 1u << 7,
		   DF = 1u << 10, OF = 1u << 11;
constexpr uint32_t kArith = CF | PF | AF | ZF | SF | OF;

constexpr uint64_t kDataGpa = 0x8000;
constexpr uint32_t kDataSlot = 1;

struct Exit {
	uint64_t gpa;
	uint32_t len;
	bool write;
	uint64_t data; // written (W) or supplied (R), little endian
};
constexpr Exit R(uint64_t gpa, uint32_t len, uint64_t data) { return {gpa, len, false, data}; }
constexpr Exit W(uint64_t gpa, uint32_t len, uint64_t data) { return {gpa, len, true, data}; }

struct RegVal {
	Reg reg;
	uint64_t value;
};

// A segment register's selector and base, set with KVM_SET_SREGS.
struct SegVal {
	Seg seg = kNoSeg;
	uint16_t selector = 0;
	uint64_t base = 0;
};

// Bytes of RAM (code page or data page), little endian.
struct RamVal {
	uint64_t gpa;
	uint32_t len;
	uint64_t value;
};

struct Extra {
	SegVal seg = {};
	SegVal seg2 = {};
	std::vector<RamVal> ram_in = {};  // written before the run
	std::vector<RamVal> ram_out = {}; // expected after the run
	// The exits KVM makes instead, where it deviates from the ISA (the
	// reference phase checks these; kvmx must follow the ISA).
	std::vector<Exit> kvm_exits = {};
};

struct Row {
	GuestMode mode;
	const char *text;
	const char *bytes;
	std::vector<RegVal> in;
	uint32_t flags_in;
	std::vector<Exit> exits;
	std::vector<RegVal> out;
	uint32_t flags_out;
	uint32_t undef; // RFLAGS bits the ISA leaves undefined: not compared
	Extra extra{};
};

#define ROWS_BEGIN(name) const std::vector<Row> rows_##name = {
#define ROWS_END };
#include "mmio_insns.inc"
#undef ROWS_BEGIN
#undef ROWS_END

const char *mode_name(GuestMode m)
{
	return m == M16 ? "real" : m == M32 ? "prot32" : "long64";
}

// The value of a GPR a row does not set (the generator's seed()).
uint64_t seed(GuestMode mode, int i)
{
	if (i == RSP)
		return 0x1ff0;
	uint64_t v = 0x0102030405060708ULL * static_cast<uint64_t>(i + 1) ^ 0xa5a5a5a5a5a5a5a5ULL;
	return mode == M64 ? v : v & 0xffffffff;
}

__u64 &gpr(kvm_regs &r, int i)
{
	__u64 *const map[16] = {&r.rax, &r.rcx, &r.rdx, &r.rbx, &r.rsp, &r.rbp, &r.rsi, &r.rdi,
				   &r.r8,  &r.r9,  &r.r10, &r.r11, &r.r12, &r.r13, &r.r14, &r.r15};
	return *map[i];
}

const char *const kRegNames[16] = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
				   "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15"};

std::vector<uint8_t> parse_bytes(const char *s)
{
	std::vector<uint8_t> out;
	std::istringstream is(s);
	unsigned int b;
	while (is >> std::hex >> b)
		out.push_back(static_cast<uint8_t>(b));
	return out;
}

std::string hex(uint64_t v)
{
	std::ostringstream os;
	os << "0x" << std::hex << v;
	return os.str();
}

uint64_t le_load(const uint8_t *p, uint32_t len)
{
	uint64_t v = 0;
	for (uint32_t i = 0; i < len && i < 8; i++)
		v |= static_cast<uint64_t>(p[i]) << (8 * i);
	return v;
}

void le_store(uint8_t *p, uint32_t len, uint64_t v)
{
	for (uint32_t i = 0; i < len && i < 8; i++)
		p[i] = static_cast<uint8_t>(v >> (8 * i));
}

// The row being run, for the SIGALRM handler: a hypervisor that never
// returns from KVM_RUN names the row before the runner's timeout.
const char *g_row_text = "";

void on_alarm(int)
{
	const char msg[] = "# mmio_insns: KVM_RUN still running after 20 s in row: ";
	[[maybe_unused]] ssize_t n = write(2, msg, sizeof(msg) - 1);
	n = write(2, g_row_text, strlen(g_row_text));
	n = write(2, "\n", 1);
}

class AlarmGuard {
public:
	explicit AlarmGuard(const char *text)
	{
		g_row_text = text;
		struct sigaction sa{};
		sa.sa_handler = on_alarm;
		sigaction(SIGALRM, &sa, nullptr); // no SA_RESTART: KVM_RUN gets EINTR
		alarm(20);
	}
	~AlarmGuard() { alarm(0); }
	AlarmGuard(const AlarmGuard &) = delete;
	AlarmGuard &operator=(const AlarmGuard &) = delete;
};

// Where gpa lies in the row's RAM, or nullptr.
uint8_t *ram_at(const TinyGuest &g, const Mapping &data, uint64_t gpa, uint32_t len)
{
	if (gpa >= TinyGuest::kCodeGpa && gpa + len <= TinyGuest::kCodeGpa + 0x1000)
		return g.ram.as<uint8_t>() + (gpa - TinyGuest::kCodeGpa);
	if (gpa >= kDataGpa && gpa + len <= kDataGpa + data.size())
		return data.as<uint8_t>() + (gpa - kDataGpa);
	return nullptr;
}

void set_seg(kvm_sregs &s, const SegVal &v)
{
	kvm_segment *const segs[6] = {&s.es, &s.cs, &s.ss, &s.ds, &s.fs, &s.gs};
	if (v.seg == kNoSeg)
		return;
	segs[v.seg]->selector = v.selector;
	segs[v.seg]->base = v.base;
}

// Runs one row; returns "" or what went wrong.
std::string run_row(const Fd &dev, const Row &row)
{
	std::ostringstream why;
	std::vector<uint8_t> code = parse_bytes(row.bytes);
	code.push_back(0xf4); // hlt
	TinyGuest g(dev, code, row.mode);
	Mapping data = Mapping::anonymous(0x1000);
	g.add_slot(kDataSlot, kDataGpa, data);
	for (const RamVal &m : row.extra.ram_in) {
		uint8_t *p = ram_at(g, data, m.gpa, m.len);
		if (!p)
			return "ram_in " + hex(m.gpa) + " is not RAM";
		le_store(p, m.len, m.value);
	}
	if (row.extra.seg.seg != kNoSeg) {
		kvm_sregs s{};
		kvmx::ioctl_or_throw(g.vcpu, KVM_GET_SREGS, "KVM_GET_SREGS", &s);
		set_seg(s, row.extra.seg);
		set_seg(s, row.extra.seg2);
		kvmx::ioctl_or_throw(g.vcpu, KVM_SET_SREGS, "KVM_SET_SREGS", &s);
	}
	kvm_regs expect{};
	for (int i = 0; i < 16; i++)
		gpr(expect, i) = seed(row.mode, i);
	for (const RegVal &v : row.in)
		gpr(expect, v.reg) = v.value;
	expect.rip = TinyGuest::kCodeGpa;
	expect.rflags = 0x2 | row.flags_in;
	g.set_regs(expect);

	AlarmGuard alarm_guard(row.text);
	const bool kvm_deviates = !kvmx::test::options().testing_kvmx() && !row.extra.kvm_exits.empty();
	size_t n = 0;
	for (const Exit &e : kvm_deviates ? row.extra.kvm_exits : row.exits) {
		n++;
		uint32_t reason = g.run_once();
		const kvm_run *run = g.run();
		if (reason != KVM_EXIT_MMIO) {
			why << "exit " << n << ": reason " << reason << " (expected KVM_EXIT_MMIO)";
			if (reason == KVM_EXIT_INTERNAL_ERROR)
				why << ", suberror " << run->internal.suberror;
			why << ", rip " << hex(g.regs().rip);
			return why.str();
		}
		uint64_t got = le_load(run->mmio.data, run->mmio.len);
		if (run->mmio.phys_addr != e.gpa || run->mmio.len != e.len ||
		    run->mmio.is_write != e.write || (e.write && got != e.data)) {
			why << "exit " << n << ": got " << (run->mmio.is_write ? "W" : "R") << "("
			    << hex(run->mmio.phys_addr) << ", " << run->mmio.len;
			if (run->mmio.is_write)
				why << ", " << hex(got);
			why << "), expected " << (e.write ? "W" : "R") << "(" << hex(e.gpa) << ", "
			    << e.len;
			if (e.write)
				why << ", " << hex(e.data);
			why << ")";
			return why.str();
		}
		if (!e.write) {
			std::memset(g.run()->mmio.data, 0, sizeof(g.run()->mmio.data));
			le_store(g.run()->mmio.data, e.len, e.data);
		}
	}
	uint32_t reason = g.run_once();
	if (reason != KVM_EXIT_HLT) {
		why << "after " << n << " exits: reason " << reason << " (expected KVM_EXIT_HLT)";
		if (reason == KVM_EXIT_MMIO)
			why << ": " << (g.run()->mmio.is_write ? "W" : "R") << "("
			    << hex(g.run()->mmio.phys_addr) << ", " << g.run()->mmio.len << ", "
			    << hex(le_load(g.run()->mmio.data, g.run()->mmio.len)) << ")";
		why << ", rip " << hex(g.regs().rip);
		return why.str();
	}

	for (const RegVal &v : row.out)
		gpr(expect, v.reg) = v.value;
	kvm_regs got = g.regs();
	for (int i = 0; i < 16; i++)
		if (gpr(got, i) != gpr(expect, i))
			why << kRegNames[i] << " " << hex(gpr(got, i)) << " != " << hex(gpr(expect, i))
			    << "; ";
	if (got.rip != TinyGuest::kCodeGpa + code.size())
		why << "rip " << hex(got.rip) << " != " << hex(TinyGuest::kCodeGpa + code.size())
		    << "; ";
	const uint64_t fmask = (kArith | DF) & ~static_cast<uint64_t>(row.undef);
	if ((got.rflags & fmask) != (row.flags_out & fmask))
		why << "rflags " << hex(got.rflags) << " & " << hex(fmask) << " != "
		    << hex(row.flags_out & fmask) << "; ";
	for (const RamVal &m : row.extra.ram_out) {
		uint64_t v = le_load(ram_at(g, data, m.gpa, m.len), m.len);
		if (v != m.value)
			why << "ram " << hex(m.gpa) << " " << hex(v) << " != " << hex(m.value) << "; ";
	}
	return why.str();
}

void run_rows(const std::vector<Row> &rows)
{
	Fd dev = open_device();
	kvmx::KmsgWatch kmsg;
	int failed = 0;
	for (const Row &row : rows) {
		std::string why;
		try {
			why = run_row(dev, row);
		} catch (const std::exception &e) {
			why = std::string("exception: ") + e.what();
		}
		if (!why.empty()) {
			failed++;
			kvmx::test::fail(__FILE__, __LINE__,
					 std::string(mode_name(row.mode)) + " \"" + row.text + "\" [" +
						 row.bytes + "]: " + why);
		}
	}
	if (failed)
		kvmx::test::diag(std::to_string(failed) + " of " + std::to_string(rows.size()) +
				 " rows failed");
	EXPECT_EQ(kmsg.first_splat(), std::string());
}

} // namespace

KVMX_TEST(mov) { run_rows(rows_mov); }
KVMX_TEST(mov_moffs) { run_rows(rows_moffs); }
KVMX_TEST(movzx) { run_rows(rows_movzx); }
KVMX_TEST(movsx) { run_rows(rows_movsx); }
KVMX_TEST(movsxd) { run_rows(rows_movsxd); }
KVMX_TEST(alu) { run_rows(rows_alu); }
KVMX_TEST(test) { run_rows(rows_test); }
KVMX_TEST(xchg) { run_rows(rows_xchg); }
KVMX_TEST(not) { run_rows(rows_not); }
KVMX_TEST(neg) { run_rows(rows_neg); }
KVMX_TEST(inc_dec) { run_rows(rows_incdec); }
KVMX_TEST(bt) { run_rows(rows_bt); }
KVMX_TEST(bts) { run_rows(rows_bts); }
KVMX_TEST(btr) { run_rows(rows_btr); }
KVMX_TEST(btc) { run_rows(rows_btc); }
KVMX_TEST(lock) { run_rows(rows_lock); }
KVMX_TEST(stos) { run_rows(rows_stos); }
KVMX_TEST(lods) { run_rows(rows_lods); }
KVMX_TEST(movs) { run_rows(rows_movs); }
KVMX_TEST(prefixes) { run_rows(rows_prefix); }
KVMX_TEST(segments) { run_rows(rows_segment); }
KVMX_TEST(page_crossing) { run_rows(rows_cross); }

// ---- Instructions neither hypervisor emulates ----------------------------

namespace {

struct Unemulated {
	GuestMode mode;
	const char *text;
	const char *bytes;
	size_t insn_len; // 0: no instruction bytes expected (RIP is in MMIO)
};

const Unemulated kUnemulated[] = {
	{M16, "fld dword ptr [0x3000]", "d9 06 00 30", 4},
	{M32, "fld dword ptr [0x3000]", "d9 05 00 30 00 00", 6},
	{M64, "fld dword ptr [0x3000]", "d9 04 25 00 30 00 00", 7},
	{M32, "fnstenv [0x3000]", "d9 35 00 30 00 00", 6},
	{M64, "fild word ptr [rip+0x1ff0]", "df 05 f0 1f 00 00", 6},
	{M16, "jmp 0x3000  (fetch from MMIO)", "e9 fd 1f", 0},
	{M64, "jmp 0x3000  (fetch from MMIO)", "e9 fb 1f 00 00", 0},
};

} // namespace

KVMX_TEST(unemulated)
{
	Fd dev = open_device();
	kvmx::KmsgWatch kmsg;
	for (const Unemulated &u : kUnemulated) {
		std::vector<uint8_t> code = parse_bytes(u.bytes);
		const std::vector<uint8_t> insn = code;
		code.push_back(0xf4);
		TinyGuest g(dev, code, u.mode);
		const std::string what = std::string(mode_name(u.mode)) + " \"" + u.text + "\": ";
		AlarmGuard alarm_guard(u.text);
		uint32_t reason = g.run_once();
		const kvm_run *run = g.run();
		if (reason != KVM_EXIT_INTERNAL_ERROR) {
			kvmx::test::fail(__FILE__, __LINE__,
					 what + "exit reason " + std::to_string(reason) +
						 ", expected KVM_EXIT_INTERNAL_ERROR");
			continue;
		}
		const auto &ef = run->emulation_failure;
		std::ostringstream os;
		os << what << "suberror " << ef.suberror << " ndata " << ef.ndata << " flags "
		   << ef.flags;
		if (ef.flags & KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES) {
			os << " insn_size " << static_cast<unsigned>(ef.insn_size) << " bytes";
			for (unsigned i = 0; i < ef.insn_size && i < sizeof(ef.insn_bytes); i++)
				os << ' ' << hex(ef.insn_bytes[i]);
		}
		kvmx::test::diag(os.str());
		EXPECT_EQ(ef.suberror, static_cast<uint32_t>(KVM_INTERNAL_ERROR_EMULATION));
		if (u.insn_len && (ef.flags & KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES)) {
			EXPECT_TRUE(ef.insn_size >= u.insn_len);
			EXPECT_TRUE(std::memcmp(ef.insn_bytes, insn.data(), u.insn_len) == 0);
		}
		EXPECT_EQ(g.regs().rip, TinyGuest::kCodeGpa + (u.insn_len ? 0 : 0x2000));
	}
	EXPECT_EQ(kmsg.first_splat(), std::string());
	// The host is fine: a fresh guest still does MMIO.
	TinyGuest g(dev, {0xa1, 0x00, 0x20, 0xf4}); // mov ax,[0x2000]; hlt
	ASSERT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_MMIO));
	EXPECT_EQ(g.run()->mmio.phys_addr, 0x2000ULL);
	g.run()->mmio.data[0] = 0x34;
	g.run()->mmio.data[1] = 0x12;
	ASSERT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_HLT));
	EXPECT_EQ(g.regs().rax & 0xffff, 0x1234ULL);
}

// KVM_CAP_EXIT_ON_EMULATION_FAILURE, as KVM 6.1's
// handle_emulation_failure(): without it, an instruction neither can
// emulate also queues #UD for the guest (at CPL 0 the vCPU exits to user
// space too; the #UD shows in KVM_GET_VCPU_EVENTS); with it, the exit
// comes alone.  Only 0 and 1 are values.
KVMX_TEST(exit_on_emulation_failure)
{
	Fd dev = open_device();
	EXPECT_EQ(ioctl_result(dev, KVM_CHECK_EXTENSION, long{KVM_CAP_EXIT_ON_EMULATION_FAILURE}),
		  1L);
	for (int on = 0; on < 3; on++) {
		const std::string what = "args[0]=" + std::to_string(on) + ": ";
		long enabled = 0;
		TinyGuest g(dev, parse_bytes("d9 06 00 30 f4"), M16, [&](const Fd &vm) {
			kvm_enable_cap cap{};
			cap.cap = KVM_CAP_EXIT_ON_EMULATION_FAILURE;
			cap.args[0] = static_cast<uint64_t>(on);
			enabled = ioctl_result(vm, KVM_ENABLE_CAP, &cap);
		});
		if (on == 2) {
			EXPECT_EQ(enabled, -EINVAL);
			continue;
		}
		EXPECT_EQ(enabled, 0L);
		AlarmGuard alarm_guard("fld dword ptr [0x3000]");
		ASSERT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_INTERNAL_ERROR));
		EXPECT_EQ(g.run()->emulation_failure.suberror,
			  static_cast<uint32_t>(KVM_INTERNAL_ERROR_EMULATION));
		kvm_vcpu_events ev{};
		ASSERT_EQ(ioctl_result(g.vcpu, KVM_GET_VCPU_EVENTS, &ev), 0L);
		kvmx::test::diag(what + "exception injected " +
				 std::to_string(ev.exception.injected) + " nr " +
				 std::to_string(ev.exception.nr));
		if (on) {
			EXPECT_EQ(ev.exception.injected, 0);
		} else {
			EXPECT_EQ(ev.exception.injected, 1);
			EXPECT_EQ(ev.exception.nr, 6); // #UD
		}
	}
}
