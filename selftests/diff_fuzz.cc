// SPDX-License-Identifier: GPL-2.0
// Differential guest fuzzing: seeded random programs run from the same
// initial state on /dev/kvm (the reference) and on /dev/kvmx, and what
// they did is compared: every exit (reason; MMIO address, size, direction
// and written data; port I/O), then GPRs, RIP, RFLAGS, segment and control
// registers, and every byte of guest RAM that changed.
//
// The two devices never run in one phase (kvmx owns VMX while loaded), so
// the kvm phase runs the programs and writes what each did to a reference
// file in the test host's tmpfs; the kvmx phase reads it, runs the same
// programs (same seed, same indexes) and compares.  See
// Documentation/testing.md ("Differential guest fuzzing") for the knobs.
//
// Programs come from two generators: instructions
// encoded from the forms kvmx's emulator decodes (and a few it does not;
// lib/insn_gen.h),
// with the registers set by MOVs so that the memory operand lands in MMIO,
// in RAM, or across the two; and random bytes.  Real mode, flat 32-bit
// protected mode and 64-bit mode.  Guest memory (guest-physical):
//
//   0x0000  IVT, RAM (real mode only)     0x8000  data, RAM (random bytes)
//   0x1000  code and stack, RAM           0xa000  exception handlers, RAM
//   0xc000  GDT, IDT, page tables, RAM (protected modes)
//
// and everything else MMIO.  Every vector's handler is one HLT at 0xa000 +
// vector (trap gates: IF stays set), so an exception ends the program with
// its vector in RIP and its frame in RAM.  Every program is bounded: a HLT
// after the code, at most kMaxExits exits, and a timer that sets
// immediate_exit.
//
// A divergence is either listed in diff_fuzz.known (a class of behaviour
// where kvmx differs on purpose, with the reason), which counts it as
// known, or it fails the test.  Fixed divergences stay in the file as
// programs that run in every pass and must agree.
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fnmatch.h>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <sys/time.h>
#include <unistd.h>
#include <vector>

#include "lib/insn_gen.h"
#include "lib/kvm_abi.h"
#include "lib/sys.h"
#include "lib/test.h"
#include "lib/tiny_guest.h"

extern "C" {
#include "../kvmx/emulate/emulate.h"
}

using kvmx::Fd;
using kvmx::Mapping;
using kvmx::test::GuestMode;
using kvmx::test::TinyGuest;
using namespace kvmx::insn_gen;

namespace {

constexpr int kMaxExits = 64;
constexpr uint32_t kDataSlot = 1, kIvtSlot = 2, kHandlerSlot = 3;
constexpr uint64_t kIdt = 0xc800;

// ---- Running one program ---------------------------------------------------

// The run structure of the vCPU in KVM_RUN, for the timer's handler.
kvm_run *volatile g_run;

void on_timer(int)
{
	kvm_run *run = g_run;

	if (run)
		run->immediate_exit = 1;
}

// Arms a one-shot timer for one program; KVM_RUN then returns -EINTR.
class ProgramTimer {
public:
	ProgramTimer(kvm_run *run, long usec)
	{
		struct sigaction sa{};
		sa.sa_handler = on_timer;
		sigaction(SIGALRM, &sa, nullptr); // no SA_RESTART
		g_run = run;
		itimerval t{};
		t.it_value.tv_sec = usec / 1000000;
		t.it_value.tv_usec = usec % 1000000;
		setitimer(ITIMER_REAL, &t, nullptr);
	}
	~ProgramTimer()
	{
		itimerval t{};
		setitimer(ITIMER_REAL, &t, nullptr);
		g_run = nullptr;
	}
	ProgramTimer(const ProgramTimer &) = delete;
	ProgramTimer &operator=(const ProgramTimer &) = delete;
};

std::string hex(uint64_t v)
{
	std::ostringstream os;
	os << "0x" << std::hex << v;
	return os.str();
}

std::string hexbytes(const uint8_t *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	std::string s;
	for (size_t i = 0; i < n; i++) {
		s += digits[p[i] >> 4];
		s += digits[p[i] & 15];
	}
	return s.empty() ? "-" : s;
}

// What a program did: ordered facts "key value".  The keys say what is
// compared: exitN, end, GPRs, rip, rflags, segments, control registers,
// memN (changed RAM bytes).
struct Outcome {
	std::vector<std::pair<std::string, std::string>> facts;
	int exits = 0;
	// kvmx's emulation failure: the bytes it could not emulate.
	std::vector<uint8_t> failed_insn;
	// The bytes at CS:RIP at each MMIO read exit (by exit number), for
	// signatures; recorded in the kvmx phase only, never compared.
	std::map<int, std::vector<uint8_t>> mmio_read_insn;

	void add(const std::string &k, const std::string &v) { facts.emplace_back(k, v); }
	std::string get(const std::string &k) const
	{
		for (const auto &f : facts)
			if (f.first == k)
				return f.second;
		return "";
	}
};

// MMIO read and port input data: a function of where, so both sides see
// the same values whenever they ask the same question.
uint64_t answer(uint64_t seed, uint64_t index, int exit_no, uint64_t addr)
{
	return mix(seed ^ mix(index * 0x9e3779b97f4a7c15ULL + static_cast<uint64_t>(exit_no)) ^ addr);
}

kvm_segment segment(uint16_t sel, uint64_t base, uint32_t limit, uint8_t type, bool code_or_data,
		    bool db, bool l, bool g)
{
	kvm_segment s{};
	s.selector = sel;
	s.base = base;
	s.limit = limit;
	s.type = type;
	s.present = 1;
	s.s = code_or_data;
	s.db = db;
	s.l = l;
	s.g = g;
	return s;
}

class Guest {
public:
	Guest(const Fd &dev, const Program &p)
		: g_(dev, code_page(p), p.mode), data_(Mapping::anonymous(0x1000)),
		  handlers_(Mapping::anonymous(0x1000))
	{
		std::memcpy(data_.get(), p.data.data(), 0x1000);
		std::memset(handlers_.get(), 0xf4, 0x1000); // HLT
		g_.add_slot(kDataSlot, kDataGpa, data_);
		g_.add_slot(kHandlerSlot, kHandlerGpa, handlers_);
		if (p.mode == GuestMode::kReal) {
			ivt_ = Mapping::anonymous(0x1000);
			uint32_t *ivt = ivt_.as<uint32_t>();
			for (uint32_t v = 0; v < 256; v++)
				ivt[v] = static_cast<uint32_t>(kHandlerGpa + v); // 0000:a0vv
			std::memset(ivt_.as<uint8_t>() + 0x400, 0xf4, 0xc00);
			g_.add_slot(kIvtSlot, 0, ivt_);
		} else {
			write_idt(p.mode == GuestMode::kLong64);
		}
		set_sregs(p);
		kvm_regs r{};
		__u64 *const regs[16] = {&r.rax, &r.rcx, &r.rdx, &r.rbx, &r.rsp, &r.rbp,
					 &r.rsi, &r.rdi, &r.r8,	 &r.r9,	 &r.r10, &r.r11,
					 &r.r12, &r.r13, &r.r14, &r.r15};
		for (int i = 0; i < 16; i++)
			*regs[i] = p.gpr[i];
		r.rip = TinyGuest::kCodeGpa;
		r.rflags = p.rflags;
		g_.set_regs(r);
		snapshot();
	}

	// @insn_bytes: record the instruction at each MMIO read exit.
	Outcome run(uint64_t seed, uint64_t index, bool insn_bytes)
	{
		Outcome o;
		std::string end;
		kvm_run *run = g_.run();
		ProgramTimer timer(run, kTimeoutUsec);

		for (int n = 0; end.empty(); n++) {
			if (n == kMaxExits) {
				end = "limit";
				break;
			}
			long r = kvmx::ioctl_result(g_.vcpu, KVM_RUN);
			if (r == -EINTR) {
				end = "timeout";
				break;
			}
			if (r < 0) {
				end = "errno " + std::to_string(-r);
				break;
			}
			const std::string key = "exit" + std::to_string(n);
			o.exits++;
			switch (run->exit_reason) {
			case KVM_EXIT_MMIO: {
				auto &m = run->mmio;
				std::string v = std::string(m.is_write ? "W " : "R ") + hex(m.phys_addr) +
						" " + std::to_string(m.len);
				if (m.is_write) {
					v += " " + hexbytes(m.data, std::min<uint32_t>(m.len, 8));
				} else {
					uint64_t a = answer(seed, index, n, m.phys_addr);
					std::memcpy(m.data, &a, sizeof(a));
					if (insn_bytes)
						o.mmio_read_insn[n] = insn_at_rip();
				}
				o.add(key, "mmio " + v);
				break;
			}
			case KVM_EXIT_IO: {
				auto &io = run->io;
				uint8_t *data = reinterpret_cast<uint8_t *>(run) + io.data_offset;
				size_t bytes = std::min<size_t>(size_t{io.size} * io.count, 4096);
				std::string v = std::string(io.direction == KVM_EXIT_IO_OUT ? "out " : "in ") +
						hex(io.port) + " " + std::to_string(io.size) + "x" +
						std::to_string(io.count);
				if (io.direction == KVM_EXIT_IO_OUT) {
					v += " " + hexbytes(data, bytes);
				} else {
					for (size_t i = 0; i < bytes; i += 8) {
						uint64_t a = answer(seed, index, n, io.port + i);
						std::memcpy(data + i, &a, std::min<size_t>(8, bytes - i));
					}
				}
				o.add(key, "io " + v);
				break;
			}
			case KVM_EXIT_SET_TPR:
				o.add(key, "set_tpr");
				break;
			case KVM_EXIT_HLT:
				end = "hlt";
				break;
			case KVM_EXIT_SHUTDOWN:
				end = "shutdown";
				break;
			case KVM_EXIT_FAIL_ENTRY:
				end = "fail_entry " +
				      hex(run->fail_entry.hardware_entry_failure_reason & 0xffff);
				break;
			case KVM_EXIT_INTERNAL_ERROR:
				end = "internal " + std::to_string(run->internal.suberror);
				if (run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION &&
				    (run->emulation_failure.flags &
				     KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES)) {
					const auto &ef = run->emulation_failure;
					size_t len = std::min<size_t>(ef.insn_size, sizeof(ef.insn_bytes));
					o.failed_insn.assign(ef.insn_bytes, ef.insn_bytes + len);
				}
				break;
			default:
				end = "reason " + std::to_string(run->exit_reason);
				break;
			}
			if (!end.empty())
				o.exits--; // the end is its own fact
		}
		o.add("end", end);
		// Mid-program (a limit or a timeout) the state is the middle of a
		// loop: only the exits up to there are compared.
		if (end == "limit" || end == "timeout")
			return o;
		state(o);
		memory(o);
		return o;
	}

private:
	// The bytes at CS:RIP, when they lie in the code page (the page tables
	// of the protected modes map it 1:1).  During an MMIO read nothing of
	// the instruction is committed yet, so RIP is still on it.
	std::vector<uint8_t> insn_at_rip() const
	{
		const kvm_regs r = g_.regs();
		kvm_sregs s{};
		kvmx::ioctl_or_throw(g_.vcpu, KVM_GET_SREGS, "KVM_GET_SREGS", &s);
		uint64_t la = s.cs.base + r.rip;
		if (!(s.efer & 0x400)) // EFER.LMA
			la &= 0xffffffffULL;
		if (la < TinyGuest::kCodeGpa || la >= TinyGuest::kCodeGpa + 0x1000)
			return {};
		const size_t off = la - TinyGuest::kCodeGpa;
		const uint8_t *code = g_.ram.as<uint8_t>();
		return std::vector<uint8_t>(code + off,
					    code + std::min<size_t>(0x1000, off + KVMX_EMU_MAX_INSN_LEN));
	}

	static std::vector<uint8_t> code_page(const Program &p)
	{
		std::vector<uint8_t> page(0x1000, 0xf4); // HLT after the code
		std::copy(p.code.begin(), p.code.end(), page.begin());
		return page;
	}

	void write_idt(bool long_mode)
	{
		uint8_t *idt = g_.tables.as<uint8_t>() + (kIdt - TinyGuest::kTablesGpa);
		for (uint64_t v = 0; v < kIdtVectors; v++) {
			uint64_t off = kHandlerGpa + v;
			// Trap gate, present, DPL 0, selector 0x08.
			uint64_t lo = (off & 0xffff) | (0x08ULL << 16) | (0x8fULL << 40) |
				      ((off >> 16) << 48);
			if (long_mode) {
				std::memcpy(idt + 16 * v, &lo, 8);
				uint64_t hi = off >> 32;
				std::memcpy(idt + 16 * v + 8, &hi, 8);
			} else {
				std::memcpy(idt + 8 * v, &lo, 8);
			}
		}
	}

	void set_sregs(const Program &p)
	{
		kvm_sregs s{};
		kvmx::ioctl_or_throw(g_.vcpu, KVM_GET_SREGS, "KVM_GET_SREGS", &s);
		// Everything explicit: the devices' reset states need not agree.
		s.tr = segment(0, 0, 0xffff, 11, false, false, false, false);
		s.ldt = segment(0, 0, 0xffff, 2, false, false, false, false);
		if (p.mode == GuestMode::kReal) {
			kvm_segment *segs[6] = {&s.es, &s.cs, &s.ss, &s.ds, &s.fs, &s.gs};
			for (int i = 0; i < 6; i++)
				*segs[i] = segment(p.seg_sel[i], uint64_t{p.seg_sel[i]} << 4, 0xffff,
						   i == 1 ? 0xb : 0x3, true, false, false, false);
			s.cr0 = 0x10; // ET
			s.cr3 = 0;
			s.cr4 = 0;
			s.efer = 0;
			s.idt.base = 0;
			s.idt.limit = 0x3ff;
			s.gdt.base = 0;
			s.gdt.limit = 0xffff;
		} else {
			const bool l = p.mode == GuestMode::kLong64;
			s.cs = segment(0x08, 0, 0xffffffff, 0xb, true, !l, l, true);
			s.ds = segment(0x10, 0, 0xffffffff, 0x3, true, true, false, true);
			s.es = s.ss = s.fs = s.gs = s.ds;
			if (l) {
				s.fs.base = p.fs_base;
				s.gs.base = p.gs_base;
			}
			s.idt.base = kIdt;
			s.idt.limit = static_cast<uint16_t>((l ? 16 : 8) * kIdtVectors - 1);
		}
		kvmx::ioctl_or_throw(g_.vcpu, KVM_SET_SREGS, "KVM_SET_SREGS", &s);
	}

	struct Ram {
		uint64_t gpa;
		const Mapping *m;
		std::vector<uint8_t> before;
	};

	void snapshot()
	{
		rams_.clear();
		const Mapping *maps[] = {&ivt_, &g_.ram, &data_, &handlers_, &g_.tables};
		const uint64_t gpas[] = {0, TinyGuest::kCodeGpa, kDataGpa, kHandlerGpa,
					 TinyGuest::kTablesGpa};
		for (int i = 0; i < 5; i++) {
			if (!maps[i]->get())
				continue;
			const uint8_t *p = maps[i]->as<uint8_t>();
			rams_.push_back({gpas[i], maps[i], std::vector<uint8_t>(p, p + maps[i]->size())});
		}
	}

	void state(Outcome &o) const
	{
		kvm_regs r = g_.regs();
		const uint64_t gpr[16] = {r.rax, r.rcx, r.rdx, r.rbx, r.rsp, r.rbp, r.rsi, r.rdi,
					  r.r8,	 r.r9,	r.r10, r.r11, r.r12, r.r13, r.r14, r.r15};
		for (int i = 0; i < 16; i++)
			o.add(kRegNames[i], hex(gpr[i]));
		o.add("rip", hex(r.rip));
		o.add("rflags", hex(r.rflags));

		kvm_sregs s{};
		kvmx::ioctl_or_throw(g_.vcpu, KVM_GET_SREGS, "KVM_GET_SREGS", &s);
		const kvm_segment *segs[8] = {&s.es, &s.cs, &s.ss, &s.ds, &s.fs, &s.gs, &s.tr, &s.ldt};
		const char *names[8] = {"es", "cs", "ss", "ds", "fs", "gs", "tr", "ldt"};
		for (int i = 0; i < 8; i++) {
			const kvm_segment &g = *segs[i];
			std::ostringstream os;
			os << hex(g.selector) << " " << hex(g.base) << " " << hex(g.limit) << " t"
			   << int{g.type} << " p" << int{g.present} << " dpl" << int{g.dpl} << " db"
			   << int{g.db} << " s" << int{g.s} << " l" << int{g.l} << " g" << int{g.g};
			o.add(names[i], os.str());
		}
		o.add("gdt", hex(s.gdt.base) + " " + hex(s.gdt.limit));
		o.add("idt", hex(s.idt.base) + " " + hex(s.idt.limit));
		o.add("cr0", hex(s.cr0));
		o.add("cr2", hex(s.cr2));
		o.add("cr3", hex(s.cr3));
		o.add("cr4", hex(s.cr4));
		o.add("efer", hex(s.efer));
	}

	// Every RAM byte that changed, as runs "gpa bytes".
	void memory(Outcome &o) const
	{
		int runs = 0;
		for (const Ram &ram : rams_) {
			const uint8_t *now = ram.m->as<uint8_t>();
			for (size_t i = 0; i < ram.before.size();) {
				if (now[i] == ram.before[i]) {
					i++;
					continue;
				}
				size_t j = i;
				while (j < ram.before.size() && now[j] != ram.before[j] && j - i < 32)
					j++;
				o.add("mem" + std::to_string(runs++), hex(ram.gpa + i) + " " +
									   hexbytes(now + i, j - i));
				i = j;
			}
		}
	}

	TinyGuest g_;
	Mapping data_, handlers_, ivt_;
	std::vector<Ram> rams_;
};

// ---- The reference file, the known differences, the comparison ------------

struct Settings {
	uint64_t seed = 1;
	uint64_t programs = 100;
	uint64_t seconds = 0; // long run: the kvm phase records programs this long
	bool recheck = false; // run each program twice on the reference
	int64_t only = -1; // one program, verbose
	std::string ref_path;
	std::string known_path;
};

std::string env_or(const char *name, const std::string &dflt)
{
	const char *v = std::getenv(name);
	return v && *v ? v : dflt;
}

std::string exe_dir()
{
	char buf[4096];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
	if (n <= 0)
		return ".";
	buf[n] = 0;
	std::string s(buf);
	return s.substr(0, s.rfind('/'));
}

Settings settings()
{
	Settings s;
	const kvmx::test::Options &opt = kvmx::test::options();
	// A long run (--seconds, KVMX_SECONDS: make fuzz-host) records
	// programs for that long, unless KVMX_DIFF_FUZZ_PROGRAMS bounds it,
	// from --seed (KVMX_SEED) or, without one, a fresh seed.
	s.seconds = opt.seconds;
	std::string seed = env_or("KVMX_DIFF_FUZZ_SEED",
				  opt.seed_given ? std::to_string(opt.seed) :
				  opt.seconds	 ? "random" : "1");
	if (seed == "random") {
		timeval tv{};
		gettimeofday(&tv, nullptr);
		s.seed = mix(static_cast<uint64_t>(tv.tv_sec) * 1000000 + tv.tv_usec) & 0xffffffffULL;
	} else {
		s.seed = std::strtoull(seed.c_str(), nullptr, 0);
	}
	s.programs = std::strtoull(env_or("KVMX_DIFF_FUZZ_PROGRAMS", s.seconds ? "100000000" : "100")
					   .c_str(), nullptr, 0);
	s.recheck = env_or("KVMX_DIFF_FUZZ_RECHECK", "0") != "0";
	s.only = std::strtoll(env_or("KVMX_DIFF_FUZZ_ONLY", "-1").c_str(), nullptr, 0);
	s.ref_path = env_or("KVMX_DIFF_FUZZ_REF", env_or("TMPDIR", "/tmp") + "/kvmx-diff_fuzz.ref");
	s.known_path = env_or("KVMX_DIFF_FUZZ_KNOWN", exe_dir() + "/diff_fuzz.known");
	return s;
}

struct Known {
	std::string pattern; // fnmatch() on a divergence's signature
	std::string reason;
	uint64_t count = 0;
};

struct Fixed {
	uint64_t seed, index;
	std::string reason;
};

struct KnownFile {
	std::vector<Known> known;
	std::vector<Fixed> fixed;
};

KnownFile read_known(const std::string &path)
{
	KnownFile k;
	std::ifstream in(path);
	if (!in)
		throw std::runtime_error("cannot read the known-differences file " + path);
	std::string line;
	while (std::getline(in, line)) {
		std::istringstream is(line);
		std::string kind;
		if (!(is >> kind) || kind[0] == '#')
			continue;
		std::string rest;
		if (kind == "known") {
			Known e;
			is >> e.pattern;
			std::getline(is >> std::ws, e.reason);
			k.known.push_back(e);
		} else if (kind == "fixed") {
			Fixed f{};
			is >> f.seed >> f.index;
			std::getline(is >> std::ws, f.reason);
			k.fixed.push_back(f);
		} else {
			throw std::runtime_error(path + ": unknown line: " + line);
		}
	}
	return k;
}

// What a run's end or an exit was, in a word, for signatures.
std::string what(const std::string &fact)
{
	if (fact.empty())
		return "none";
	std::string w = fact.substr(0, fact.find(' '));
	if (w == "mmio" || w == "io")
		return w + (fact.find(" W ") != std::string::npos || fact.find(" out ") != std::string::npos ?
				    "-write" : "");
	if (w == "internal")
		return "internal-" + fact.substr(fact.find(' ') + 1);
	return w;
}

// kvmx's decoder on these bytes in this mode: KVMX_EMU_DONE when it decodes
// them (then *insn says what they are).
int decode(const std::vector<uint8_t> &bytes, GuestMode mode, kvmx_emu_insn *insn)
{
	kvmx_emu_ctxt c{};

	if (bytes.empty())
		return KVMX_EMU_UNHANDLEABLE;
	c.mode = mode == GuestMode::kReal ? KVMX_EMU_MODE_16 :
		 mode == GuestMode::kProtected32 ? KVMX_EMU_MODE_32 : KVMX_EMU_MODE_64;
	c.insn_len = static_cast<uint8_t>(std::min<size_t>(bytes.size(), KVMX_EMU_MAX_INSN_LEN));
	std::memcpy(c.insn_bytes, bytes.data(), c.insn_len);
	return kvmx_emu_decode(&c, insn);
}

// Whether kvmx's emulator rejects these bytes in this mode (a form it does
// not implement): the instruction kvmx gave up on is one it has no code for.
bool emulator_rejects(const std::vector<uint8_t> &bytes, GuestMode mode)
{
	kvmx_emu_insn insn;

	return !bytes.empty() && decode(bytes, mode, &insn) == KVMX_EMU_UNHANDLEABLE;
}

// The instruction behind an MMIO read, as kvmx's decoder sees it, in a
// word: "op-<opcode hex>-o<operand size in bits>" (e.g. op-63-o16 for
// MOVSXD r16, r/m16), or "op-unknown".
std::string insn_word(const std::vector<uint8_t> &bytes, GuestMode mode)
{
	kvmx_emu_insn insn{};
	char buf[32];

	if (decode(bytes, mode, &insn) != KVMX_EMU_DONE)
		return "op-unknown";
	if (insn.opcode[0] == 0x0f)
		snprintf(buf, sizeof(buf), "op-0f%02x-o%u", insn.opcode[1], insn.op_bytes * 8u);
	else
		snprintf(buf, sizeof(buf), "op-%02x-o%u", insn.opcode[0], insn.op_bytes * 8u);
	return buf;
}

// "R <addr> <len>" of an MMIO read fact ("mmio R 0x... 4"), or "".
bool mmio_read(const std::string &fact, std::string *addr, std::string *len)
{
	std::istringstream is(fact);
	std::string kind, dir;
	return (is >> kind >> dir >> *addr >> *len) && kind == "mmio" && dir == "R";
}

// A divergence's signature: where the runs first part, and how.
//   exit:<kvm>:<kvmx>[:unemulated]   the exits differ (first differing exit)
//   exit:mmio:mmio:len-<kvm>-<kvmx>:<insn_word()>
//                                    both read the same MMIO address, but
//                                    not the same number of bytes
//   state:<key>[,<key>...]           same exits, different registers/memory
std::string signature(const Outcome &ref, const Outcome &got, GuestMode mode,
		      std::vector<std::string> &diffs)
{
	std::map<std::string, std::string> a(ref.facts.begin(), ref.facts.end());
	std::map<std::string, std::string> b(got.facts.begin(), got.facts.end());
	// The exits in order, the end, then the state, each key once.
	std::vector<std::string> keys;
	for (int n = 0; a.count("exit" + std::to_string(n)) || b.count("exit" + std::to_string(n)); n++)
		keys.push_back("exit" + std::to_string(n));
	keys.push_back("end");
	for (const auto &f : ref.facts)
		if (f.first.rfind("exit", 0) != 0 && f.first != "end")
			keys.push_back(f.first);
	for (const auto &f : got.facts)
		if (!a.count(f.first) && f.first.rfind("exit", 0) != 0 && f.first != "end")
			keys.push_back(f.first);
	std::string first_exit;
	std::vector<std::string> state;
	for (const std::string &k : keys) {
		const std::string va = a.count(k) ? a[k] : "", vb = b.count(k) ? b[k] : "";
		if (va == vb)
			continue;
		diffs.push_back(k + ": kvm \"" + va + "\", kvmx \"" + vb + "\"");
		if (k.rfind("exit", 0) == 0 || k == "end") {
			if (first_exit.empty()) {
				// An exit that one side lacks is the other side's end.
				std::string wa = a.count(k) ? what(va) : what(a["end"]);
				std::string wb = b.count(k) ? what(vb) : what(b["end"]);
				first_exit = "exit:" + wa + ":" + wb;
				std::string aa, la, ab, lb;
				if (a.count(k) && b.count(k) && k.rfind("exit", 0) == 0 &&
				    mmio_read(va, &aa, &la) && mmio_read(vb, &ab, &lb) &&
				    aa == ab && la != lb) {
					const int n = std::stoi(k.substr(4));
					auto it = got.mmio_read_insn.find(n);
					first_exit += ":len-" + la + "-" + lb + ":" +
						      insn_word(it == got.mmio_read_insn.end() ?
								std::vector<uint8_t>() : it->second,
								mode);
				}
			}
		} else {
			state.push_back(k.rfind("mem", 0) == 0 ? "mem" : k);
		}
	}
	if (!first_exit.empty()) {
		if (first_exit.find(":internal-1") != std::string::npos) {
			// Which exit kvmx stopped at, and what KVM did there.
			int n = 0;
			while (b.count("exit" + std::to_string(n)))
				n++;
			const std::string here = a["exit" + std::to_string(n)];
			const std::string next = a["exit" + std::to_string(n + 1)];
			if (emulator_rejects(got.failed_insn, mode))
				first_exit += ":unemulated";
			else if (here.rfind("mmio R ", 0) == 0 && next.rfind("io out ", 0) == 0)
				first_exit += ":outs-from-mmio";
		}
		return first_exit;
	}
	std::sort(state.begin(), state.end());
	state.erase(std::unique(state.begin(), state.end()), state.end());
	std::string s = "state:";
	for (size_t i = 0; i < state.size(); i++)
		s += (i ? "," : "") + state[i];
	return s;
}

void write_outcome(std::ostream &out, uint64_t seed, uint64_t index, const Outcome &o)
{
	out << "P " << seed << " " << index << "\n";
	for (const auto &f : o.facts)
		out << f.first << " " << f.second << "\n";
	out << ".\n";
}

struct RefEntry {
	uint64_t seed, index;
	Outcome o;
};

std::vector<RefEntry> read_ref(const std::string &path)
{
	std::ifstream in(path);
	std::vector<RefEntry> out;
	std::string line;
	while (std::getline(in, line)) {
		if (line.rfind("P ", 0) == 0) {
			RefEntry e{};
			std::istringstream is(line.substr(2));
			is >> e.seed >> e.index;
			out.push_back(e);
		} else if (line == "." || line.rfind("#", 0) == 0) {
			continue;
		} else if (!out.empty()) {
			size_t sp = line.find(' ');
			out.back().o.add(line.substr(0, sp),
					 sp == std::string::npos ? "" : line.substr(sp + 1));
		}
	}
	return out;
}

void dump_program(const Program &p, uint64_t seed, uint64_t index)
{
	std::ostringstream os;
	os << "program seed " << seed << " index " << index << " (" << mode_name(p.mode) << ", "
	   << p.kind << "), reproduce with KVMX_DIFF_FUZZ_SEED=" << seed
	   << " KVMX_DIFF_FUZZ_ONLY=" << index;
	kvmx::test::diag(os.str());
	for (size_t i = 0; i < p.code.size(); i += 16)
		kvmx::test::diag("  code " + hex(TinyGuest::kCodeGpa + i) + ": " +
				 hexbytes(p.code.data() + i, std::min<size_t>(16, p.code.size() - i)));
	std::string regs = "  in:";
	for (int i = 0; i < 16; i++)
		regs += std::string(" ") + kRegNames[i] + "=" + hex(p.gpr[i]);
	kvmx::test::diag(regs + " rflags=" + hex(p.rflags));
}

struct Counts {
	uint64_t programs = 0, insns = 0, random_bytes = 0, exits = 0, per_mode[3] = {};
	uint64_t compared = 0, agreed = 0, known = 0, unexplained = 0, unstable = 0;
	uint64_t fixed_run = 0, fixed_agreed = 0, ends_hlt = 0, ends_other = 0;
};

Outcome run_program(const Fd &dev, const Program &p, uint64_t seed, uint64_t index)
{
	Guest g(dev, p);
	return g.run(seed, index, kvmx::test::options().testing_kvmx());
}

bool same(const Outcome &a, const Outcome &b) { return a.facts == b.facts; }

} // namespace

KVMX_TEST(differential)
{
	const Settings s = settings();
	const KnownFile known_file = read_known(s.known_path);
	KnownFile kf = known_file;
	Fd dev = kvmx::test::open_device();
	kvmx::KmsgWatch kmsg;
	Counts c;
	const bool reference = !kvmx::test::options().testing_kvmx();

	// The programs: the fixed divergences' programs, then (seed, index)
	// for index 0, 1, ... (up to s.programs, or until s.seconds are over).
	// The kvmx phase runs those the reference holds, in its order.
	std::vector<std::pair<uint64_t, uint64_t>> list;
	std::vector<RefEntry> ref;
	if (reference) {
		if (s.only < 0)
			for (const Fixed &f : kf.fixed)
				if (f.seed != s.seed || f.index >= s.programs)
					list.emplace_back(f.seed, f.index);
	} else {
		ref = read_ref(s.ref_path);
		if (ref.empty()) {
			kvmx::test::diag("no reference results in " + s.ref_path +
					 " (the kvm phase did not run): nothing to compare");
			SKIP("no reference results");
		}
		// With KVMX_DIFF_FUZZ_ONLY, that program alone.
		std::erase_if(ref, [&](const RefEntry &e) {
			return s.only >= 0 && (e.seed != s.seed || e.index != static_cast<uint64_t>(s.only));
		});
		for (const RefEntry &e : ref)
			list.emplace_back(e.seed, e.index);
	}
	const size_t nfixed = reference ? list.size() : 0;
	const uint64_t nseed = !reference ? 0 : s.only >= 0 ? 1 : s.programs;
	const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(s.seconds);
	auto program_at = [&](size_t n, std::pair<uint64_t, uint64_t> *sp) {
		if (n < list.size()) {
			*sp = list[n];
			return true;
		}
		const uint64_t i = n - nfixed;
		if (i >= nseed || (s.seconds && std::chrono::steady_clock::now() >= deadline))
			return false;
		*sp = {s.seed, s.only >= 0 ? static_cast<uint64_t>(s.only) : i};
		return true;
	};

	std::ofstream out;
	if (reference) {
		out.open(s.ref_path, std::ios::trunc);
		ASSERT_TRUE(out.good());
	}
	kvmx::test::diag("diff_fuzz: " + std::string(reference ? "recording" : "comparing") + " " +
			 (reference && s.seconds ? "for " + std::to_string(s.seconds) + " s up to " : "") +
			 std::to_string(reference ? nfixed + nseed : list.size()) + " programs, seed " +
			 std::to_string(s.seed) + (reference ? ", into " : ", against ") + s.ref_path);

	std::map<std::string, uint64_t> unexplained_sigs;
	timeval t0{}, t1{};
	gettimeofday(&t0, nullptr);
	std::map<std::pair<uint64_t, uint64_t>, bool> is_fixed;
	for (const Fixed &f : kf.fixed)
		is_fixed[{f.seed, f.index}] = true;

	auto last_report = std::chrono::steady_clock::now();
	std::pair<uint64_t, uint64_t> sp;
	for (size_t n = 0; program_at(n, &sp); n++) {
		const auto [seed, index] = sp;
		// A long run's progress, every few seconds of the test host's
		// clock: it keeps the runner's stall watchdog quiet.
		if (std::chrono::steady_clock::now() - last_report > std::chrono::seconds(10)) {
			last_report = std::chrono::steady_clock::now();
			std::ostringstream os;
			os << "diff_fuzz: progress: programs " << c.programs << ", agreed " << c.agreed
			   << ", known " << c.known << ", unexplained " << c.unexplained;
			kvmx::test::diag(os.str());
		}
		const Program p = generate(seed, index);
		c.programs++;
		c.insns += p.insns;
		c.random_bytes += p.kind == std::string("bytes") ? p.code.size() : 0;
		c.per_mode[static_cast<int>(p.mode)]++;
		Outcome o;
		try {
			o = run_program(dev, p, seed, index);
		} catch (const std::exception &e) {
			dump_program(p, seed, index);
			kvmx::test::fail(__FILE__, __LINE__, std::string("exception: ") + e.what());
			continue;
		}
		c.exits += o.exits;
		(o.get("end") == "hlt" ? c.ends_hlt : c.ends_other)++;
		if (s.only >= 0) {
			dump_program(p, seed, index);
			for (const auto &f : o.facts)
				kvmx::test::diag("  " + f.first + " " + f.second);
		}
		if (reference) {
			// Run it again: a program whose result varies on the reference
			// (time, a loop cut by the timer) cannot be compared.
			if (s.recheck && !same(o, run_program(dev, p, seed, index))) {
				c.unstable++;
				o.facts.clear();
				o.add("unstable", "-");
			}
			if (out.is_open())
				write_outcome(out, seed, index, o);
			continue;
		}

		const Outcome &want = ref[n].o;
		if (!want.get("unstable").empty()) {
			c.unstable++;
			continue;
		}
		c.compared++;
		const bool fixed = is_fixed.count({seed, index});
		c.fixed_run += fixed;
		if (same(want, o)) {
			c.agreed++;
			c.fixed_agreed += fixed;
			continue;
		}
		std::vector<std::string> diffs;
		const std::string sig = signature(want, o, p.mode, diffs);
		Known *k = nullptr;
		for (Known &e : kf.known)
			if (!fixed && fnmatch(e.pattern.c_str(), sig.c_str(), 0) == 0) {
				k = &e;
				break;
			}
		if (k) {
			c.known++;
			if (k->count++ < 3) {
				kvmx::test::diag("known divergence " + sig + " (" + k->reason + "):");
				dump_program(p, seed, index);
				for (size_t i = 0; i < diffs.size() && i < 4; i++)
					kvmx::test::diag("  " + diffs[i]);
			}
			continue;
		}
		c.unexplained++;
		unexplained_sigs[sig]++;
		if (c.unexplained <= 20) {
			kvmx::test::fail(__FILE__, __LINE__,
					 std::string(fixed ? "REGRESSION of a fixed divergence " :
							     "unexplained divergence ") + sig);
			dump_program(p, seed, index);
			for (const std::string &d : diffs)
				kvmx::test::diag("  " + d);
		}
	}

	gettimeofday(&t1, nullptr);
	std::ostringstream os;
	os << "diff_fuzz: " << (t1.tv_sec - t0.tv_sec) << " s, programs " << c.programs << " (real " << c.per_mode[0] << ", prot32 "
	   << c.per_mode[1] << ", long64 " << c.per_mode[2] << "), instructions " << c.insns
	   << " + " << c.random_bytes << " random bytes, exits " << c.exits << ", ended in hlt "
	   << c.ends_hlt << ", otherwise " << c.ends_other;
	kvmx::test::diag(os.str());
	if (reference) {
		kvmx::test::diag("diff_fuzz: reference recorded; unstable on the reference (not compared): " +
				 std::to_string(c.unstable));
	} else {
		std::ostringstream d;
		d << "diff_fuzz: compared " << c.compared << ", agreed " << c.agreed
		  << "; divergences: fixed " << kf.fixed.size() << " (programs re-run " << c.fixed_run
		  << ", agreeing " << c.fixed_agreed << "), known " << c.known << ", unexplained "
		  << c.unexplained << "; unstable on the reference " << c.unstable;
		kvmx::test::diag(d.str());
		for (const Known &e : kf.known)
			if (e.count)
				kvmx::test::diag("diff_fuzz:   known " + e.pattern + ": " +
						 std::to_string(e.count) + " (" + e.reason + ")");
		for (const auto &[sig, n] : unexplained_sigs)
			kvmx::test::diag("diff_fuzz:   unexplained " + sig + ": " + std::to_string(n));
		EXPECT_EQ(c.unexplained, 0u);
		EXPECT_EQ(c.fixed_agreed, c.fixed_run);
	}
	EXPECT_EQ(kmsg.first_splat(), std::string());
}
