// SPDX-License-Identifier: GPL-2.0
// ioctl fuzzing, syzkaller-style: random sequences over every ioctl kvmx
// accepts, on every kind of fd (the device, VMs, vCPUs, stats fds), with
// valid-looking arguments mutated, bad pointers, huge sizes, unaligned
// addresses and ids at their limits; several threads on the same fds;
// close() and munmap() racing with KVM_RUN; guests running random bytes.
// The same program runs on /dev/kvm, which must survive it too.
//
// It passes when no call returns a kernel-internal errno (512 and up), no
// fd survives, kvmx's live objects are back to 0 after every round (not
// counted on /dev/kvm), and the device still runs a guest at the end.
// Splats are the runner's to find (it scans the kernel log).
//
// Seeded: the seed is printed, and --seed N (KVMX_SEED) repeats the run.
// Each thread draws from its own generator seeded from (seed, round,
// thread), so with one thread a run is the same call for call; with
// several, the interleaving is the scheduler's.  The run is bounded by
// --iterations (rounds; KVMX_ITERATIONS) or --seconds (KVMX_SECONDS);
// without either it is the bounded smoke run of make check.
//
// Random guests must never freeze the test host: Bochs 2.7 does not leave
// a nested guest that loops with RFLAGS.IF=0 (Documentation/testing.md).
// So each round is of one kind, and fds of the two kinds never meet (fd
// numbers are reused only within a round):
//   wild   vCPU state, MSRs, sregs, everything random; the only guest
//          memory is filled with HLT (0xf4) or inaccessible, so whatever
//          the state, the guest exits at its first instruction;
//   guest  guest memory of random bytes (with MMIO, PIO and loop snippets
//          among them), run at CPL 3 in flat 32-bit protected mode with
//          IOPL 0 and IF=1: CLI faults, POPF cannot clear IF, and every
//          exception ends in a triple fault because the IDT limit is 0.
//          The GDT and TSS live in a slot the guest cannot reach (its
//          segments start above it) and the fuzzer never changes; state
//          set by the fuzzer keeps these properties.
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <fcntl.h>
#include <map>
#include <memory>
#include <mutex>
#include <pthread.h>
#include <random>
#include <sstream>
#include <string>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include <linux/kvmx.h>

#include "lib/kvm_abi.h"
#include "lib/objects.h"
#include "lib/sys.h"
#include "lib/test.h"
#include "lib/tiny_guest.h"

using kvmx::Fd;
using kvmx::Mapping;
namespace test = kvmx::test;

namespace {

constexpr uint64_t kPage = 4096;
constexpr int kKick = SIGUSR1;

// The smoke run of make check: rounds, and a time cap.
constexpr uint64_t kSmokeRounds = 12;
constexpr uint64_t kSmokeSeconds = 20;
constexpr int kThreads = 3;
constexpr uint64_t kOpsPerThread = 300;

class Rng {
public:
	explicit Rng(uint64_t seed) : s_(seed ^ 0x9e3779b97f4a7c15ULL) {}
	uint64_t next()
	{
		// splitmix64
		uint64_t z = (s_ += 0x9e3779b97f4a7c15ULL);
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
		return z ^ (z >> 31);
	}
	uint64_t below(uint64_t n) { return n ? next() % n : 0; }
	bool one_in(uint64_t n) { return below(n) == 0; }
	template <typename T> const T &pick(const std::vector<T> &v) { return v[below(v.size())]; }
	void fill(void *p, size_t len)
	{
		auto *b = static_cast<uint8_t *>(p);
		for (size_t i = 0; i < len; i++)
			b[i] = static_cast<uint8_t>(next());
	}
	// A value near a boundary, or anything.
	uint64_t boundary()
	{
		static const std::vector<uint64_t> edges = {
			0,
			1,
			2,
			0x7f,
			0x80,
			0xff,
			0x100,
			0xfff,
			0x1000,
			0xffff,
			0x10000,
			508,
			509,
			4095,
			4096,
			0x7fffffff,
			0x80000000,
			0xffffffff,
			0x100000000ULL,
			0x7fffffffffffffffULL,
			0x8000000000000000ULL,
			~0ULL,
			~0xfffULL,
			0xfffffffffffff000ULL,
		};
		switch (below(4)) {
		case 0:
			return next();
		case 1:
			return pick(edges) + below(3) - 1;
		default:
			return pick(edges);
		}
	}

private:
	uint64_t s_;
};

enum class Kind { kSystem, kVm, kVcpu, kStats };

// One fd the fuzzer made.  @fd goes to -1 when it is closed, possibly
// while another thread is inside an ioctl on it (the point of the race).
struct Obj {
	Kind kind;
	std::atomic<int> fd;
	const int number; // the fd it had: used after the close, on whatever has it now
	Obj(Kind k, int f) : kind(k), fd(f), number(f) {}
	~Obj()
	{
		int f = fd.exchange(-1);
		if (f >= 0)
			::close(f);
	}
};

// A stretch of memory that slots may point at; replaced (MAP_FIXED, so the
// range is never free for anything else) while guests run.
struct Region {
	uint8_t *base;
	size_t len;
};

struct Tally {
	uint64_t calls = 0;
	std::map<std::string, uint64_t> by_call;
	std::map<int, uint64_t> errnos;
	std::map<std::pair<std::string, int>, uint64_t> call_errnos;
	std::map<uint32_t, uint64_t> exits[2]; // wild rounds, guest rounds
	std::vector<std::string> bad; // kernel-internal errnos and the like

	void merge(const Tally &o)
	{
		calls += o.calls;
		for (const auto &[k, v] : o.by_call)
			by_call[k] += v;
		for (const auto &[k, v] : o.errnos)
			errnos[k] += v;
		for (const auto &[k, v] : o.call_errnos)
			call_errnos[k] += v;
		for (int i = 0; i < 2; i++)
			for (const auto &[k, v] : o.exits[i])
				exits[i][k] += v;
		for (const auto &b : o.bad)
			if (bad.size() < 20)
				bad.push_back(b);
	}
};

struct Round;

// One worker thread's state.
struct Worker {
	Round *round;
	Rng rng;
	Tally tally;
	Mapping scratch; // kScratchPages read-write, then one PROT_NONE guard page
	std::atomic<bool> in_run{false};
	static constexpr size_t kScratchPages = 16;

	Worker(Round *r, uint64_t seed);
	uint8_t *guard() const { return scratch.as<uint8_t>() + kScratchPages * kPage; }

	// Records a call and its result; returns it.
	long note(const char *name, long ret, int err)
	{
		tally.calls++;
		tally.by_call[name]++;
		if (ret < 0) {
			tally.errnos[err]++;
			tally.call_errnos[{name, err}]++;
			if (err >= 512 || err <= 0) {
				std::ostringstream os;
				os << name << " returned errno " << err;
				if (tally.bad.size() < 20)
					tally.bad.push_back(os.str());
			}
		}
		return ret;
	}
	long call(const char *name, int fd, unsigned long req, unsigned long arg)
	{
		current_fd = fd;
		since = std::chrono::steady_clock::now().time_since_epoch().count();
		current = name;
		long r = ::ioctl(fd, req, arg);
		int err = r < 0 ? errno : 0;
		current = nullptr;
		return note(name, r, err);
	}
	// The ioctl this thread is in, for the watchdog's report of a hang.
	std::atomic<const char *> current{nullptr};
	std::atomic<int> current_fd{-1};
	std::atomic<int64_t> since{0};

	// Where a struct argument goes: usually a good buffer, sometimes a
	// bad pointer, or straddling the guard page.
	unsigned long place(const void *data, size_t len)
	{
		uint8_t *good = scratch.as<uint8_t>();
		switch (rng.below(40)) {
		case 0:
			return 0;
		case 1:
			return 0xffffffff81000000UL; // kernel text
		case 2:
			return 0x8000000000000000UL; // not canonical
		case 3:
			return reinterpret_cast<unsigned long>(guard()); // PROT_NONE
		case 4:
		case 5: {
			// The struct's tail in the guard page.
			size_t cut = len > 1 ? 1 + rng.below(len - 1) : 0;
			uint8_t *p = guard() - cut;
			std::memcpy(p, data, cut);
			return reinterpret_cast<unsigned long>(p);
		}
		case 6: {
			uint8_t *p = good + 1 + rng.below(7); // unaligned
			std::memcpy(p, data, len);
			return reinterpret_cast<unsigned long>(p);
		}
		default:
			std::memcpy(good, data, len);
			return reinterpret_cast<unsigned long>(good);
		}
	}
	// A buffer of @len bytes for the kernel to write to, mostly good.
	unsigned long out_buf(size_t len)
	{
		// Room for place()'s unaligned copy too.
		std::vector<uint8_t> junk(std::min<size_t>(len, kScratchPages * kPage - 8));
		rng.fill(junk.data(), junk.size());
		return place(junk.data(), junk.size());
	}
};

// A round: objects of one kind of round (wild or guest), worked on by
// kThreads threads, then all closed and checked.
struct Round {
	bool guest;
	uint64_t seed;
	const std::string &device;
	long mmap_size;
	std::chrono::steady_clock::time_point deadline;

	std::mutex lock; // protects objs and regions' replacement
	std::vector<std::shared_ptr<Obj>> objs;
	std::vector<Region> regions; // RAM the fuzzer's slots may point at
	Mapping protected_mem;	     // guest rounds: GDT and TSS, never touched again
	Mapping noaccess;	     // one PROT_NONE page

	Round(bool g, uint64_t s, const std::string &dev, long size,
	      std::chrono::steady_clock::time_point end)
		: guest(g), seed(s), device(dev), mmap_size(size), deadline(end)
	{
	}
	~Round()
	{
		objs.clear();
		for (const Region &r : regions)
			::munmap(r.base, r.len);
	}

	void add(Kind k, int fd)
	{
		std::lock_guard<std::mutex> g(lock);
		if (objs.size() >= 96) {
			::close(fd); // enough of them; closing is fuzzing too
			return;
		}
		objs.push_back(std::make_shared<Obj>(k, fd));
	}
	std::shared_ptr<Obj> any(Rng &rng, Kind k)
	{
		std::lock_guard<std::mutex> g(lock);
		std::vector<std::shared_ptr<Obj>> of;
		for (const auto &o : objs)
			if (o->kind == k)
				of.push_back(o);
		if (of.empty())
			return nullptr;
		return of[rng.below(of.size())];
	}
	// Takes an object out and closes its fd now, whoever is using it.
	void close_one(Rng &rng)
	{
		std::shared_ptr<Obj> o;
		{
			std::lock_guard<std::mutex> g(lock);
			if (objs.empty())
				return;
			size_t i = rng.below(objs.size());
			o = objs[i];
			objs.erase(objs.begin() + static_cast<long>(i));
		}
		int f = o->fd.exchange(-1);
		if (f >= 0)
			::close(f);
	}

	// Guest memory contents for this kind of round.
	void fill_ram(Rng &rng, uint8_t *p, size_t len) const;
	// A new region of @pages pages.
	void new_region(Rng &rng, size_t pages)
	{
		size_t len = pages * kPage;
		void *p = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
				 -1, 0);
		if (p == MAP_FAILED)
			kvmx::throw_errno("mmap guest memory");
		fill_ram(rng, static_cast<uint8_t *>(p), len);
		std::lock_guard<std::mutex> g(lock);
		regions.push_back({static_cast<uint8_t *>(p), len});
	}
	// Replaces a region's pages under whatever slots and vCPUs use them:
	// fresh contents, or no access at all.  Never leaves the range free.
	void replace_region(Rng &rng, uint64_t &calls)
	{
		// Under the lock: another thread's PROT_NONE between this
		// mmap and the fill would fault the fill.
		std::lock_guard<std::mutex> g(lock);
		if (regions.empty())
			return;
		Region r = regions[rng.below(regions.size())];
		size_t off = rng.below(r.len / kPage) * kPage;
		size_t len = (1 + rng.below((r.len - off) / kPage)) * kPage;
		bool none = rng.one_in(3);
		void *p = ::mmap(r.base + off, len, none ? PROT_NONE : PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		calls++;
		if (p != MAP_FAILED && !none)
			fill_ram(rng, r.base + off, len);
	}
	uint64_t some_user_addr(Rng &rng)
	{
		switch (rng.below(12)) {
		case 0:
			return 0;
		case 1:
			return reinterpret_cast<uint64_t>(noaccess.get());
		case 2:
			return 0xffffffff81000000ULL;
		case 3:
			return 0x0000800000000000ULL - kPage; // last user page
		case 4:
			return rng.boundary() & ~(kPage - 1);
		default: {
			std::lock_guard<std::mutex> g(lock);
			if (regions.empty())
				return 0;
			const Region &r = regions[rng.below(regions.size())];
			uint64_t a = reinterpret_cast<uint64_t>(r.base) +
				     rng.below(r.len / kPage) * kPage;
			if (rng.one_in(16))
				a += 1 + rng.below(kPage - 1); // unaligned
			return a;
		}
		}
	}
};

Worker::Worker(Round *r, uint64_t seed) : round(r), rng(seed)
{
	scratch = Mapping::anonymous((kScratchPages + 1) * kPage);
	::mprotect(guard(), kPage, PROT_NONE);
}

// Snippets sprinkled among a guest round's random bytes (32-bit code).
// A1/A3 imm32 are loads and stores whose address the filler chooses.
const std::vector<std::vector<uint8_t>> kSnippets = {
	{0xa3, 0, 0, 0, 0},		// mov [imm32], eax
	{0xa1, 0, 0, 0, 0},		// mov eax, [imm32]
	{0x89, 0x05, 0, 0, 0, 0},	// mov [imm32], eax (modrm)
	{0x0f, 0xb6, 0x05, 0, 0, 0, 0}, // movzx eax, byte [imm32]
	{0xee},				// out dx, al
	{0xec},				// in al, dx
	{0xe7, 0x80},			// out 0x80, eax
	{0xf3, 0x6c},			// rep insb
	{0xf3, 0x6e},			// rep outsb
	{0xf3, 0xa4},			// rep movsb
	{0xeb, 0xfe},			// jmp $ (until the watchdog's signal)
	{0x0f, 0xa2},			// cpuid
	{0x0f, 0x31},			// rdtsc
	{0xf4},				// hlt (CPL 3: #GP, triple fault)
	{0xfa},				// cli (#GP)
	{0x9c, 0x58, 0x31, 0xc0, 0x50, 0x9d}, // pushf; pop eax; xor eax,eax; push eax; popf
	{0xcd, 0x80},			// int 0x80
	{0x8e, 0xd8},			// mov ds, eax
};

void Round::fill_ram(Rng &rng, uint8_t *p, size_t len) const
{
	if (!guest) {
		std::memset(p, 0xf4, len); // hlt, hlt, ...
		return;
	}
	rng.fill(p, len);
	for (size_t n = len / 16; n; n--) {
		const auto &s = rng.pick(kSnippets);
		size_t at = rng.below(len - 8);
		std::memcpy(p + at, s.data(), s.size());
		if (s.size() >= 5 && (s[0] == 0xa1 || s[0] == 0xa3 || s[1] == 0x05 || s[2] == 0x05)) {
			// An offset from the segment base (0x10000): RAM, MMIO, or the end.
			uint32_t addr = rng.one_in(2) ? static_cast<uint32_t>(rng.below(0x100000))
						      : static_cast<uint32_t>(rng.boundary());
			std::memcpy(p + at + s.size() - 4, &addr, 4);
		}
	}
}

// Guest rounds' fixed layout.
constexpr uint64_t kGdtGpa = 0x0;
constexpr uint64_t kTssGpa = 0x1000;
constexpr uint64_t kProtectedPages = 4;
constexpr uint64_t kSegBase = 0x10000; // everything the guest reaches
constexpr uint16_t kTrSel = 0x10, kCodeSel = 0x1b, kDataSel = 0x23;

kvm_segment seg(uint16_t sel, uint8_t type)
{
	kvm_segment s{};
	s.base = kSegBase;
	s.limit = 0xffffffff - kSegBase; // no wrap below kSegBase
	s.selector = sel;
	s.type = type;
	s.present = 1;
	s.dpl = 3;
	s.db = 1;
	s.s = 1;
	s.g = 1;
	return s;
}

// Guest rounds: the only sregs a vCPU gets, with harmless bits random.
kvm_sregs guest_sregs(Rng &rng)
{
	kvm_sregs s{};
	s.cs = seg(kCodeSel, 0xb);
	s.ds = s.es = s.fs = s.gs = s.ss = seg(kDataSel, 0x3);
	s.tr.base = kTssGpa;
	s.tr.limit = 0x67;
	s.tr.selector = kTrSel;
	s.tr.type = 0xb;
	s.tr.present = 1;
	s.ldt.unusable = 1;
	s.gdt.base = kGdtGpa;
	s.gdt.limit = 5 * 8 - 1;
	s.idt.base = 0;
	s.idt.limit = 0; // every event: #GP, #DF, triple fault
	s.cr0 = 0x11;	 // PE, ET
	s.cr0 |= rng.below(0x100) & 0x2a;				  // MP, TS, NE
	s.cr0 |= rng.one_in(2) ? 0x10000 : 0;				  // WP
	s.cr4 = rng.below(0x1000) & (0x1 | 0x2 | 0x4 | 0x8 | 0x100 | 0x200 | 0x400); // VME PVI TSD DE PCE OSFX..
	s.apic_base = 0xfee00900;
	return s;
}

kvm_regs guest_regs(Rng &rng)
{
	kvm_regs r{};
	__u64 *g = &r.rax;
	for (int i = 0; i < 16; i++)
		g[i] = rng.one_in(2) ? rng.below(0x40000) : static_cast<uint32_t>(rng.next());
	r.rip = rng.one_in(2) ? 0 : rng.below(0x10000);
	// IF=1, IOPL=0, no VM86/NT; TF, AC, DF and the arithmetic flags random.
	r.rflags = (rng.next() & 0x40cd5) | 0x202;
	return r;
}

// MSRs a guest round never writes: they would let CPL-3 code reach CPL 0
// (SYSCALL, SYSENTER), or make KVM write guest memory.
bool msr_forbidden_in_guest_rounds(uint32_t index)
{
	return (index >= 0x174 && index <= 0x176) || (index >= 0xc0000080 && index <= 0xc0000084) ||
	       (index >= 0x4b564d00 && index <= 0x4b564dff) || index == 0x11 || index == 0x12 ||
	       (index >= 0x40000000 && index <= 0x400fffff);
}

// Every round: MSRs that make KVM write guest memory (kvmclock and the
// other paravirtual MSRs, Hyper-V), which in a wild round could turn HLT
// bytes into code.
bool msr_forbidden(bool guest, uint32_t index)
{
	if (guest)
		return msr_forbidden_in_guest_rounds(index);
	return (index >= 0x4b564d00 && index <= 0x4b564dff) || index == 0x11 || index == 0x12 ||
	       (index >= 0x40000000 && index <= 0x400fffff);
}

// An ioctl number no kvmx or KVM ioctl has: KVMIO numbers above KVM's,
// kvmx's 'x' numbers other than its debug hook, or a known number with
// another size or direction.
unsigned long unknown_ioctl(Rng &rng)
{
	switch (rng.below(3)) {
	case 0:
		return _IOC(rng.below(4), KVMIO, 0xe4 + rng.below(0x1c), rng.below(0x400));
	case 1:
		return _IOC(rng.below(4), 'x', 2 + rng.below(0xfe), rng.below(0x400));
	default: {
		static const std::vector<unsigned long> known = {
			KVM_RUN, KVM_GET_REGS, KVM_SET_REGS, KVM_CREATE_VCPU, KVM_GET_STATS_FD,
			KVM_SET_USER_MEMORY_REGION, KVM_GET_DIRTY_LOG, KVM_CHECK_EXTENSION,
		};
		unsigned long k = rng.pick(known);
		unsigned long size = _IOC_SIZE(k) + 1 + rng.below(64);
		return _IOC(_IOC_DIR(k), KVMIO, _IOC_NR(k), size & 0x3fff);
	}
	}
}

// ---- the operations, by the fd they work on ----------------------------

void op_system(Worker &w, int fd)
{
	Rng &r = w.rng;
	Round &rd = *w.round;
	switch (r.below(9)) {
	case 0: {
		unsigned long arg = r.one_in(4) ? r.boundary() : 0;
		long v = w.call("KVM_GET_API_VERSION", fd, KVM_GET_API_VERSION, arg);
		if (arg == 0 && v >= 0 && v != KVM_API_VERSION)
			w.tally.bad.push_back("KVM_GET_API_VERSION returned " + std::to_string(v));
		break;
	}
	case 1: {
		unsigned long cap = r.one_in(3) ? r.below(300)
						: r.one_in(2) ? KVMX_CAP_MMIO_CACHING + r.below(3) - 1
							      : r.boundary();
		w.call("KVM_CHECK_EXTENSION", fd, KVM_CHECK_EXTENSION, cap);
		break;
	}
	case 2:
		w.call("KVM_GET_VCPU_MMAP_SIZE", fd, KVM_GET_VCPU_MMAP_SIZE,
		       r.one_in(4) ? r.boundary() : 0);
		break;
	case 3:
	case 4: {
		unsigned long type = r.one_in(6) ? r.boundary() : 0;
		long v = w.call("KVM_CREATE_VM", fd, KVM_CREATE_VM, type);
		if (v >= 0)
			rd.add(Kind::kVm, static_cast<int>(v));
		break;
	}
	case 5: {
		uint32_t n = r.one_in(2) ? static_cast<uint32_t>(r.below(300))
					 : static_cast<uint32_t>(r.boundary());
		std::vector<uint8_t> buf(4 + 4 * 300);
		std::memcpy(buf.data(), &n, 4);
		w.call("KVM_GET_MSR_INDEX_LIST", fd, KVM_GET_MSR_INDEX_LIST,
		       w.place(buf.data(), r.one_in(3) ? 4 : buf.size()));
		break;
	}
	case 6: {
		uint32_t n = r.one_in(2) ? static_cast<uint32_t>(r.below(120))
					 : static_cast<uint32_t>(r.boundary());
		std::vector<uint8_t> buf(8 + 40 * 100);
		std::memcpy(buf.data(), &n, 4);
		w.call("KVM_GET_SUPPORTED_CPUID", fd, KVM_GET_SUPPORTED_CPUID,
		       w.place(buf.data(), r.one_in(3) ? 8 : buf.size()));
		break;
	}
	case 7: {
		int f = ::open(rd.device.c_str(), O_RDWR | O_CLOEXEC);
		w.note("open", f, f < 0 ? errno : 0);
		if (f >= 0)
			rd.add(Kind::kSystem, f);
		break;
	}
	default:
		w.call("unknown system ioctl", fd, unknown_ioctl(r), r.boundary());
		break;
	}
}

void set_region(Worker &w, int fd)
{
	Rng &r = w.rng;
	Round &rd = *w.round;
	kvm_userspace_memory_region m{};
	// Guest rounds leave slot 0 (GDT and TSS) alone.
	uint32_t lo = rd.guest ? 1 : 0;
	m.slot = r.one_in(8) ? static_cast<uint32_t>(r.boundary()) : lo + r.below(12);
	if (rd.guest && m.slot == 0)
		m.slot = 1;
	m.flags = r.one_in(4) ? static_cast<uint32_t>(r.boundary())
			      : static_cast<uint32_t>(r.below(4)); // LOG_DIRTY, READONLY
	switch (r.below(6)) {
	case 0:
		m.guest_phys_addr = r.boundary();
		break;
	case 1:
		m.guest_phys_addr = r.below(0x100000) & ~(kPage - 1);
		break;
	default:
		m.guest_phys_addr = kSegBase + r.below(0x40) * kPage;
		break;
	}
	if (r.one_in(12))
		m.guest_phys_addr |= 1 + r.below(kPage - 1);
	switch (r.below(6)) {
	case 0:
		m.memory_size = 0; // delete
		break;
	case 1:
		m.memory_size = r.boundary();
		break;
	default:
		m.memory_size = (1 + r.below(16)) * kPage;
		break;
	}
	m.userspace_addr = rd.some_user_addr(r);
	w.call("KVM_SET_USER_MEMORY_REGION", fd, KVM_SET_USER_MEMORY_REGION, w.place(&m, sizeof(m)));
}

// The irqchip's, eventfds' and the x86 knobs' ioctls (issue 9) with random
// bytes for their arguments, in wild rounds only: a random LAPIC, routing
// or event state may deliver anything to the guest, whose memory there is
// HLT or nothing (an in-kernel HLT sleeps until the watchdog's signal).
struct RandomArgIoctl {
	const char *name;
	unsigned long req;
};

constexpr RandomArgIoctl kVmIrqIoctls[] = {
	{"KVM_IRQ_LINE", KVM_IRQ_LINE},
	{"KVM_IRQ_LINE_STATUS", KVM_IRQ_LINE_STATUS},
	{"KVM_GET_IRQCHIP", KVM_GET_IRQCHIP},
	{"KVM_SET_IRQCHIP", KVM_SET_IRQCHIP},
	{"KVM_SIGNAL_MSI", KVM_SIGNAL_MSI},
	{"KVM_GET_CLOCK", KVM_GET_CLOCK},
	{"KVM_SET_CLOCK", KVM_SET_CLOCK},
	{"KVM_X86_SET_MSR_FILTER", KVM_X86_SET_MSR_FILTER},
};

constexpr RandomArgIoctl kVcpuIrqIoctls[] = {
	{"KVM_GET_LAPIC", KVM_GET_LAPIC},
	{"KVM_SET_LAPIC", KVM_SET_LAPIC},
	{"KVM_GET_VCPU_EVENTS", KVM_GET_VCPU_EVENTS},
	{"KVM_SET_VCPU_EVENTS", KVM_SET_VCPU_EVENTS},
	{"KVM_GET_XSAVE", KVM_GET_XSAVE},
	{"KVM_SET_XSAVE", KVM_SET_XSAVE},
	{"KVM_GET_XCRS", KVM_GET_XCRS},
	{"KVM_SET_XCRS", KVM_SET_XCRS},
	{"KVM_GET_DEBUGREGS", KVM_GET_DEBUGREGS},
	{"KVM_SET_DEBUGREGS", KVM_SET_DEBUGREGS},
	{"KVM_SET_GUEST_DEBUG", KVM_SET_GUEST_DEBUG},
	{"KVM_HAS_DEVICE_ATTR", KVM_HAS_DEVICE_ATTR},
	{"KVM_GET_DEVICE_ATTR", KVM_GET_DEVICE_ATTR},
	{"KVM_SET_DEVICE_ATTR", KVM_SET_DEVICE_ATTR},
	{"KVM_X86_SET_MCE", KVM_X86_SET_MCE},
	{"KVM_X86_SETUP_MCE", KVM_X86_SETUP_MCE},
	{"KVM_TPR_ACCESS_REPORTING", KVM_TPR_ACCESS_REPORTING},
	{"KVM_SET_VAPIC_ADDR", KVM_SET_VAPIC_ADDR},
	{"KVM_GET_MP_STATE", KVM_GET_MP_STATE},
};

// One of @table with _IOC_SIZE random bytes, placed as place() places.
template <size_t N> void random_arg_ioctl(Worker &w, int fd, const RandomArgIoctl (&table)[N])
{
	const RandomArgIoctl &c = table[w.rng.below(N)];
	w.call(c.name, fd, c.req, w.out_buf(_IOC_SIZE(c.req)));
}

// An eventfd, real or not, for KVM_IRQFD and KVM_IOEVENTFD: the fd is
// closed again at once (the kernel holds its own reference).
int32_t maybe_eventfd(Rng &r, int &made)
{
	made = r.one_in(4) ? -1 : ::eventfd(0, EFD_CLOEXEC);
	return made >= 0 ? made : static_cast<int32_t>(r.boundary());
}

void irq_vm_op(Worker &w, int fd)
{
	Rng &r = w.rng;
	int made = -1;

	switch (r.below(6)) {
	case 0:
		w.call("KVM_CREATE_IRQCHIP", fd, KVM_CREATE_IRQCHIP, r.one_in(6) ? r.boundary() : 0);
		break;
	case 1: {
		// A header and up to four entries of random bytes, nr mostly small.
		std::vector<uint8_t> buf(sizeof(kvm_irq_routing) + 4 * sizeof(kvm_irq_routing_entry));
		r.fill(buf.data(), buf.size());
		auto *h = reinterpret_cast<kvm_irq_routing *>(buf.data());
		h->nr = r.one_in(4) ? static_cast<uint32_t>(r.boundary()) : static_cast<uint32_t>(r.below(5));
		h->flags = r.one_in(4) ? static_cast<uint32_t>(r.boundary()) : 0;
		w.call("KVM_SET_GSI_ROUTING", fd, KVM_SET_GSI_ROUTING, w.place(buf.data(), buf.size()));
		break;
	}
	case 2: {
		kvm_irqfd f{};
		r.fill(&f, sizeof(f));
		f.fd = static_cast<uint32_t>(maybe_eventfd(r, made));
		f.gsi = r.one_in(4) ? static_cast<uint32_t>(r.boundary()) : static_cast<uint32_t>(r.below(32));
		f.flags = r.one_in(3) ? static_cast<uint32_t>(r.boundary()) : static_cast<uint32_t>(r.below(2));
		w.call("KVM_IRQFD", fd, KVM_IRQFD, w.place(&f, sizeof(f)));
		break;
	}
	case 3: {
		kvm_ioeventfd e{};
		r.fill(&e, sizeof(e));
		e.fd = maybe_eventfd(r, made);
		e.len = r.one_in(4) ? static_cast<uint32_t>(r.boundary()) : 1u << r.below(4);
		e.flags = r.one_in(3) ? static_cast<uint32_t>(r.boundary()) : static_cast<uint32_t>(r.below(8));
		w.call("KVM_IOEVENTFD", fd, KVM_IOEVENTFD, w.place(&e, sizeof(e)));
		break;
	}
	case 4:
		w.call("KVM_SET_BOOT_CPU_ID", fd, KVM_SET_BOOT_CPU_ID,
		       r.one_in(3) ? r.boundary() : r.below(4));
		break;
	default:
		random_arg_ioctl(w, fd, kVmIrqIoctls);
		break;
	}
	if (made >= 0)
		::close(made);
}


void op_vm(Worker &w, int fd)
{
	Rng &r = w.rng;
	Round &rd = *w.round;
	switch (r.below(14)) {
	case 0:
	case 1:
		if (!rd.guest) { // guest rounds make vCPUs with safe state only
			unsigned long id = r.one_in(3) ? r.boundary() : r.below(8);
			long v = w.call("KVM_CREATE_VCPU", fd, KVM_CREATE_VCPU, id);
			if (v >= 0)
				rd.add(Kind::kVcpu, static_cast<int>(v));
		}
		break;
	case 2:
	case 3:
	case 4:
		set_region(w, fd);
		break;
	case 5: {
		kvm_dirty_log log{};
		log.slot = r.one_in(4) ? static_cast<uint32_t>(r.boundary())
				       : static_cast<uint32_t>(r.below(12));
		log.dirty_bitmap = reinterpret_cast<void *>(r.one_in(8) ? r.boundary()
									: w.out_buf(64));
		w.call("KVM_GET_DIRTY_LOG", fd, KVM_GET_DIRTY_LOG, w.place(&log, sizeof(log)));
		break;
	}
	case 6:
		w.call("KVM_CHECK_EXTENSION", fd, KVM_CHECK_EXTENSION,
		       r.one_in(2) ? r.below(300) : r.boundary());
		break;
	case 7: {
		long v = w.call("KVM_GET_STATS_FD", fd, KVM_GET_STATS_FD, r.one_in(4) ? r.boundary() : 0);
		if (v >= 0)
			rd.add(Kind::kStats, static_cast<int>(v));
		break;
	}
	case 8:
		if (r.one_in(2)) {
			w.call("KVM_SET_TSS_ADDR", fd, KVM_SET_TSS_ADDR, r.boundary());
		} else {
			uint64_t a = r.boundary();
			w.call("KVM_SET_IDENTITY_MAP_ADDR", fd, KVM_SET_IDENTITY_MAP_ADDR,
			       w.place(&a, sizeof(a)));
		}
		break;
	case 9: {
		// kvmx's capability, and numbers no KVM capability has: a KVM
		// capability such as KVM_CAP_X86_DISABLE_EXITS would let a guest
		// halt with IF=0, which freezes Bochs.
		kvm_enable_cap c{};
		c.cap = r.one_in(2) ? KVMX_CAP_MMIO_CACHING : 0x1000 + static_cast<uint32_t>(r.below(1 << 20));
		if (r.one_in(6))
			c.flags = static_cast<uint32_t>(r.boundary());
		c.args[0] = r.one_in(2) ? r.below(4) : r.boundary();
		if (r.one_in(6))
			c.args[1 + r.below(3)] = r.boundary();
		w.call("KVM_ENABLE_CAP", fd, KVM_ENABLE_CAP, w.place(&c, sizeof(c)));
		break;
	}
	case 10: {
		kvmx_debug_spte d{r.boundary(), r.boundary() & ~1ULL};
		w.call("KVMX_DEBUG_SET_SPTE", fd, KVMX_DEBUG_SET_SPTE, w.place(&d, sizeof(d)));
		break;
	}
	case 11:
	case 12:
		if (!rd.guest) {
			irq_vm_op(w, fd);
			break;
		}
		[[fallthrough]];
	default:
		w.call("unknown VM ioctl", fd, unknown_ioctl(r), r.boundary());
		break;
	}
}

// KVM_RUN, with the exit completed the way a VMM would, or not at all.
void run_vcpu(Worker &w, int fd)
{
	Rng &r = w.rng;
	Round &rd = *w.round;
	void *m = ::mmap(nullptr, static_cast<size_t>(rd.mmap_size), PROT_READ | PROT_WRITE,
			 MAP_SHARED, fd, 0);
	auto *run = m == MAP_FAILED ? nullptr : static_cast<kvm_run *>(m);
	if (run) {
		run->immediate_exit = r.one_in(16);
		run->request_interrupt_window = r.one_in(8);
		if (r.one_in(32)) // garbage where the kernel must not trust it
			r.fill(reinterpret_cast<uint8_t *>(run) + 0x100, 0x100);
		// KVM refuses KVM_RUN for unknown sync-regs bits: mostly none.
		if (!r.one_in(8))
			run->kvm_valid_regs = run->kvm_dirty_regs = 0;
	}
	w.in_run = true;
	long ret = w.call("KVM_RUN", fd, KVM_RUN, r.one_in(8) ? r.boundary() : 0);
	w.in_run = false;
	if (run) {
		if (ret == 0) {
			w.tally.exits[rd.guest][run->exit_reason]++;
			if (run->exit_reason == KVM_EXIT_MMIO && !run->mmio.is_write)
				r.fill(run->mmio.data, sizeof(run->mmio.data));
			if (run->exit_reason == KVM_EXIT_IO &&
			    run->io.direction == KVM_EXIT_IO_IN) {
				uint64_t n = uint64_t(run->io.size) * run->io.count;
				if (run->io.data_offset + n <= static_cast<uint64_t>(rd.mmap_size))
					r.fill(reinterpret_cast<uint8_t *>(run) + run->io.data_offset, n);
			}
		}
		::munmap(m, static_cast<size_t>(rd.mmap_size));
	}
}

void op_vcpu(Worker &w, int fd)
{
	Rng &r = w.rng;
	Round &rd = *w.round;
	bool wild = !rd.guest;
	switch (r.below(23)) {
	case 0:
	case 1:
	case 2:
	case 3:
	case 4:
		run_vcpu(w, fd);
		break;
	case 5:
		w.call("KVM_GET_REGS", fd, KVM_GET_REGS, w.out_buf(sizeof(kvm_regs)));
		break;
	case 6: {
		kvm_regs regs = guest_regs(r);
		if (wild) {
			r.fill(&regs, sizeof(regs));
			if (r.one_in(2))
				regs.rip &= 0xffff;
		}
		w.call("KVM_SET_REGS", fd, KVM_SET_REGS, w.place(&regs, sizeof(regs)));
		break;
	}
	case 7:
		w.call("KVM_GET_SREGS", fd, KVM_GET_SREGS, w.out_buf(sizeof(kvm_sregs)));
		break;
	case 8: {
		kvm_sregs s = guest_sregs(r);
		if (wild) {
			// Mutate a valid-looking state, or take noise.
			if (r.one_in(4)) {
				r.fill(&s, sizeof(s));
			} else {
				for (int i = 1 + static_cast<int>(r.below(6)); i; i--) {
					size_t at = r.below(sizeof(s) - 8);
					uint64_t v = r.boundary();
					std::memcpy(reinterpret_cast<uint8_t *>(&s) + at, &v,
						    1 + r.below(8));
				}
			}
		}
		w.call("KVM_SET_SREGS", fd, KVM_SET_SREGS, w.place(&s, sizeof(s)));
		break;
	}
	case 9: {
		uint32_t n = r.one_in(4) ? static_cast<uint32_t>(r.boundary())
					 : static_cast<uint32_t>(r.below(80));
		std::vector<uint8_t> buf(8 + 40 * 80);
		std::memcpy(buf.data(), &n, 4);
		auto *e = reinterpret_cast<kvm_cpuid_entry2 *>(buf.data() + 8);
		for (uint32_t i = 0; i < 80; i++) {
			r.fill(&e[i], sizeof(e[i]));
			if (r.one_in(2))
				e[i].function = static_cast<uint32_t>(r.below(0x20)) |
						(r.one_in(4) ? 0x80000000 : 0);
			if (!wild && (e[i].function & 0xffff0000) == 0x40000000)
				e[i].function = 0x1; // no paravirtual leaves
		}
		if (wild)
			for (uint32_t i = 0; i < 80; i++)
				if ((e[i].function & 0xffff0000) == 0x40000000)
					e[i].function = 0x2;
		w.call("KVM_SET_CPUID2", fd, KVM_SET_CPUID2,
		       w.place(buf.data(), r.one_in(4) ? 8 : buf.size()));
		break;
	}
	case 10:
	case 11: {
		bool set = r.one_in(2);
		uint32_t n = r.one_in(6) ? static_cast<uint32_t>(r.boundary())
					 : static_cast<uint32_t>(r.below(8));
		std::vector<uint8_t> buf(8 + 16 * 256);
		std::memcpy(buf.data(), &n, 4);
		auto *e = reinterpret_cast<kvm_msr_entry *>(buf.data() + 8);
		static const std::vector<uint32_t> msrs = {
			0x10,	    0x1b,	0x3a,	    0x8b,	0xfe,	    0x174, 0x175,
			0x176,	    0x1a0,	0x1d9,	    0x277,	0x2ff,	    0x6e0, 0xc0000080,
			0xc0000081, 0xc0000082, 0xc0000100, 0xc0000101, 0xc0000102, 0x480, 0x48d,
		};
		for (uint32_t i = 0; i < 256; i++) {
			e[i].index = r.one_in(3) ? static_cast<uint32_t>(r.boundary()) : r.pick(msrs);
			e[i].reserved = r.one_in(8) ? static_cast<uint32_t>(r.next()) : 0;
			e[i].data = r.boundary();
			if (set && msr_forbidden(rd.guest, e[i].index))
				e[i].index = 0x277; // PAT: harmless
		}
		if (set)
			w.call("KVM_SET_MSRS", fd, KVM_SET_MSRS, w.place(buf.data(), buf.size()));
		else
			w.call("KVM_GET_MSRS", fd, KVM_GET_MSRS, w.place(buf.data(), buf.size()));
		break;
	}
	case 12: {
		if (r.one_in(2)) {
			w.call("KVM_GET_FPU", fd, KVM_GET_FPU, w.out_buf(sizeof(kvm_fpu)));
		} else {
			kvm_fpu f{};
			r.fill(&f, sizeof(f));
			if (r.one_in(2))
				f.mxcsr &= 0xffff;
			w.call("KVM_SET_FPU", fd, KVM_SET_FPU, w.place(&f, sizeof(f)));
		}
		break;
	}
	case 13: {
		kvm_interrupt i{static_cast<uint32_t>(r.one_in(3) ? r.boundary() : r.below(256))};
		w.call("KVM_INTERRUPT", fd, KVM_INTERRUPT, w.place(&i, sizeof(i)));
		break;
	}
	case 14: {
		if (r.one_in(2)) {
			w.call("KVM_GET_MP_STATE", fd, KVM_GET_MP_STATE, w.out_buf(sizeof(kvm_mp_state)));
		} else {
			kvm_mp_state s{static_cast<uint32_t>(r.one_in(2) ? r.below(10) : r.boundary())};
			w.call("KVM_SET_MP_STATE", fd, KVM_SET_MP_STATE, w.place(&s, sizeof(s)));
		}
		break;
	}
	case 15: {
		long v = w.call("KVM_GET_STATS_FD", fd, KVM_GET_STATS_FD, 0);
		if (v >= 0)
			rd.add(Kind::kStats, static_cast<int>(v));
		break;
	}
	case 16: {
		// The watchdog's signal must stay deliverable inside KVM_RUN.
		uint8_t buf[4 + 8];
		uint32_t len = r.one_in(4) ? static_cast<uint32_t>(r.boundary()) : 8;
		uint64_t set = r.next() & ~(1ULL << (kKick - 1));
		std::memcpy(buf, &len, 4);
		std::memcpy(buf + 4, &set, 8);
		w.call("KVM_SET_SIGNAL_MASK", fd, KVM_SET_SIGNAL_MASK,
		       r.one_in(4) ? 0 : w.place(buf, sizeof(buf)));
		break;
	}
	case 17: {
		kvm_enable_cap c{};
		c.cap = 0x1000 + static_cast<uint32_t>(r.below(1 << 20));
		c.args[0] = r.boundary();
		w.call("KVM_ENABLE_CAP (vCPU)", fd, KVM_ENABLE_CAP, w.place(&c, sizeof(c)));
		break;
	}
	case 18: {
		// mmap at odd offsets and sizes (unmapped at once: a mapping
		// holds its vCPU, and a round ends with nothing held).
		size_t len = (1 + r.below(4)) * kPage;
		off_t off = static_cast<off_t>(r.below(4) * kPage + (r.one_in(8) ? 1 : 0));
		void *m = ::mmap(nullptr, len, PROT_READ | (r.one_in(2) ? PROT_WRITE : 0),
				 r.one_in(4) ? MAP_PRIVATE : MAP_SHARED, fd, off);
		w.note("mmap vCPU", m == MAP_FAILED ? -1 : 0, m == MAP_FAILED ? errno : 0);
		if (m != MAP_FAILED) {
			// Page 0 is struct kvm_run on both devices; pages KVM
			// maps but has nothing at would be SIGBUS.
			if (off == 0) {
				volatile uint8_t x = *static_cast<volatile uint8_t *>(m);
				(void)x;
			}
			::munmap(m, len);
		}
		break;
	}
	case 20:
	case 21:
		// Not on /dev/kvm: Linux 6.1's KVM_RUN WARNs (x86.c:11274,
		// kvm_lapic_hv_timer_in_use() on a vCPU never run) after some
		// random KVM_SET_LAPIC states, a KVM bug this test is not for.
		if (wild && test::options().testing_kvmx()) {
			random_arg_ioctl(w, fd, kVcpuIrqIoctls);
			break;
		}
		[[fallthrough]];
	default:
		w.call("unknown vCPU ioctl", fd, unknown_ioctl(r), r.boundary());
		break;
	}
}

void op_stats(Worker &w, int fd)
{
	Rng &r = w.rng;
	switch (r.below(6)) {
	case 0:
	case 1: {
		size_t len = r.one_in(4) ? static_cast<size_t>(r.boundary()) : r.below(8192);
		unsigned long buf = w.out_buf(len);
		ssize_t n = ::read(fd, reinterpret_cast<void *>(buf), len);
		w.note("read stats", n, n < 0 ? errno : 0);
		break;
	}
	case 2: {
		size_t len = r.below(4096);
		off_t off = static_cast<off_t>(r.boundary());
		ssize_t n = ::pread(fd, w.scratch.get(), len, off);
		w.note("pread stats", n, n < 0 ? errno : 0);
		break;
	}
	case 3: {
		off_t n = ::lseek(fd, static_cast<off_t>(r.boundary()), static_cast<int>(r.below(5)));
		w.note("lseek stats", n < 0 ? -1 : 0, n < 0 ? errno : 0);
		break;
	}
	case 4: {
		ssize_t n = ::write(fd, w.scratch.get(), r.below(64));
		w.note("write stats", n, n < 0 ? errno : 0);
		break;
	}
	default:
		w.call("ioctl on stats fd", fd,
		       r.one_in(2) ? KVM_GET_STATS_FD : unknown_ioctl(r), r.boundary());
		break;
	}
}

void op_any(Worker &w)
{
	Rng &r = w.rng;
	Round &rd = *w.round;
	uint64_t pick = r.below(100);
	Kind k = pick < 10 ? Kind::kSystem : pick < 35 ? Kind::kVm : pick < 85 ? Kind::kVcpu : Kind::kStats;
	if (pick >= 97) {
		rd.close_one(r);
		w.tally.calls++;
		w.tally.by_call["close"]++;
		return;
	}
	if (pick >= 94) {
		rd.replace_region(r, w.tally.calls);
		w.tally.by_call["mmap over guest memory"]++;
		return;
	}
	auto o = rd.any(r, k);
	if (!o)
		o = rd.any(r, Kind::kSystem);
	if (!o)
		return;
	int fd = o->fd.load();
	if (fd < 0)
		fd = o->number; // closed: whatever has the number now, if anything
	switch (o->kind) {
	case Kind::kSystem:
		op_system(w, fd);
		break;
	case Kind::kVm:
		op_vm(w, fd);
		break;
	case Kind::kVcpu:
		op_vcpu(w, fd);
		break;
	case Kind::kStats:
		op_stats(w, fd);
		break;
	}
}

// A VM of the round's kind with its memory and vCPUs, registered.
void make_vm(Round &rd, Rng &r, Worker &w, int dev)
{
	long vm = w.call("KVM_CREATE_VM", dev, KVM_CREATE_VM, 0);
	if (vm < 0)
		throw std::system_error(errno, std::generic_category(), "KVM_CREATE_VM");
	rd.add(Kind::kVm, static_cast<int>(vm)); // the round closes it, whatever happens
	auto add_slot = [&](uint32_t slot, uint64_t gpa, void *mem, size_t len) {
		kvm_userspace_memory_region m{};
		m.slot = slot;
		m.guest_phys_addr = gpa;
		m.memory_size = len;
		m.userspace_addr = reinterpret_cast<uint64_t>(mem);
		if (::ioctl(static_cast<int>(vm), KVM_SET_USER_MEMORY_REGION, &m) < 0)
			kvmx::throw_errno("KVM_SET_USER_MEMORY_REGION (setup)");
	};
	if (rd.guest)
		add_slot(0, 0, rd.protected_mem.get(), rd.protected_mem.size());
	{
		std::lock_guard<std::mutex> g(rd.lock);
		const Region &reg = rd.regions[r.below(rd.regions.size())];
		add_slot(1, kSegBase, reg.base, reg.len);
	}
	for (uint64_t n = 1 + r.below(3); n; n--) {
		long v = ::ioctl(static_cast<int>(vm), KVM_CREATE_VCPU, n - 1);
		if (v < 0)
			kvmx::throw_errno("KVM_CREATE_VCPU (setup)");
		Fd vcpu(static_cast<int>(v));
		if (rd.guest) {
			// Safe state before anyone can run it (guest_sregs()); if
			// it is refused, the reset state's code is nowhere (0xfffffff0
			// is never RAM), so running it exits.
			kvm_sregs s = guest_sregs(r);
			s.cr0 = 0x11;
			s.cr4 = 0;
			kvmx::ioctl_or_throw(vcpu, KVM_SET_SREGS, "KVM_SET_SREGS (setup)", &s);
			kvm_regs regs = guest_regs(r);
			kvmx::ioctl_or_throw(vcpu, KVM_SET_REGS, "KVM_SET_REGS (setup)", &regs);
		}
		rd.add(Kind::kVcpu, vcpu.release());
	}
}

void kick_handler(int) {}

struct Totals {
	Tally tally;
	uint64_t rounds = 0;
	uint64_t guest_rounds = 0;
};

// Sets up a round, runs it, tears it down and checks that nothing is left.
void run_round(Totals &tot, bool guest, uint64_t seed, long mmap_size,
	       std::chrono::steady_clock::time_point deadline)
{
	Round rd(guest, seed, test::options().device, mmap_size, deadline);
	Rng r(seed);
	rd.noaccess = Mapping::anonymous(kPage);
	::mprotect(rd.noaccess.get(), kPage, PROT_NONE);
	if (guest) {
		rd.protected_mem = Mapping::anonymous(kProtectedPages * kPage);
		auto *gdt = rd.protected_mem.as<uint64_t>();
		// Entry 2: the TSS at kTssGpa, busy, DPL 0 (no far JMP or CALL
		// from CPL 3 can use it); 3 and 4: code and data, DPL 3, base
		// kSegBase, limit 0xfffeffff (no wrap-around to this page).
		gdt[2] = 0x67 | (kTssGpa << 16) | (0x8bULL << 40);
		gdt[3] = 0x00cffb000000ffefULL | (kSegBase << 16);
		gdt[4] = 0x00cff3000000ffefULL | (kSegBase << 16);
	}
	for (int i = 0; i < 4; i++)
		rd.new_region(r, 16 + r.below(32));

	std::vector<std::unique_ptr<Worker>> workers;
	for (int t = 0; t < kThreads; t++)
		workers.push_back(std::make_unique<Worker>(&rd, seed * 1000003 + t + 1));
	{
		int dev = ::open(rd.device.c_str(), O_RDWR | O_CLOEXEC);
		if (dev < 0)
			kvmx::throw_errno("open " + rd.device);
		rd.add(Kind::kSystem, dev);
		for (uint64_t n = 1 + r.below(2); n; n--)
			make_vm(rd, r, *workers[0], dev);
	}

	std::atomic<bool> stop{false};
	std::vector<std::thread> threads;
	std::vector<pthread_t> ids(kThreads);
	std::mutex ids_lock;
	for (int t = 0; t < kThreads; t++) {
		threads.emplace_back([&, t] {
			{
				std::lock_guard<std::mutex> g(ids_lock);
				ids[t] = pthread_self();
			}
			Worker &w = *workers[t];
			for (uint64_t i = 0; i < kOpsPerThread && !stop; i++) {
				if ((i & 15) == 0 && std::chrono::steady_clock::now() > rd.deadline)
					break;
				op_any(w);
			}
		});
	}
	// The watchdog: a vCPU looping in its guest returns from KVM_RUN
	// with -EINTR when signalled.
	// It also names a call that does not return (before the runner's
	// stall watchdog ends the boot without a word about it).
	std::atomic<bool> done{false};
	std::thread watchdog([&] {
		std::vector<int64_t> reported(kThreads, 0);
		while (!done) {
			std::this_thread::sleep_for(std::chrono::milliseconds(1));
			std::lock_guard<std::mutex> g(ids_lock);
			int64_t now = std::chrono::steady_clock::now().time_since_epoch().count();
			for (int t = 0; t < kThreads; t++) {
				Worker &w = *workers[t];
				if (w.in_run)
					pthread_kill(ids[t], kKick);
				const char *name = w.current;
				int64_t since = w.since;
				if (name && now - since > 10'000'000'000LL && reported[t] != since) {
					reported[t] = since;
					test::diag("thread " + std::to_string(t) + " in " + name +
						   " on fd " + std::to_string(w.current_fd) +
						   " for more than 10 s (round seed " +
						   std::to_string(rd.seed) + ")");
				}
			}
		}
	});
	for (auto &th : threads)
		th.join();
	done = true;
	watchdog.join();
	for (auto &w : workers)
		tot.tally.merge(w->tally);
	tot.rounds++;
	tot.guest_rounds += guest;
}

bool all_zero(const std::map<std::string, long> &c, std::string &why)
{
	for (const auto &[name, v] : c)
		if (v != 0) {
			why += " " + name + "=" + std::to_string(v);
		}
	return why.empty();
}

std::string errno_name(int e)
{
	if (e <= 0 || e >= 512)
		return "errno " + std::to_string(e);
	const char *n = strerrorname_np(e);
	return n ? n : std::to_string(e);
}

} // namespace

KVMX_TEST(random_ioctl_sequences)
{
	const test::Options &opt = test::options();
	// Not from the clock: the test host's clock repeats from boot to boot.
	std::random_device rd;
	uint64_t seed = opt.seed_given ? opt.seed : (uint64_t(rd()) << 32) | rd();
	uint64_t max_rounds = opt.iterations ? opt.iterations : opt.seconds ? ~0ULL : kSmokeRounds;
	uint64_t seconds = opt.seconds ? opt.seconds : opt.iterations ? 1000000000 : kSmokeSeconds;
	test::diag("seed " + std::to_string(seed) + " (repeat with --seed " + std::to_string(seed) +
		   "), at most " + (max_rounds == ~0ULL ? std::string("unbounded") : std::to_string(max_rounds)) +
		   " rounds in " + std::to_string(seconds) + " s, " + std::to_string(kThreads) +
		   " threads");

	struct sigaction sa {};
	sa.sa_handler = kick_handler; // no SA_RESTART: KVM_RUN returns -EINTR
	sigemptyset(&sa.sa_mask);
	ASSERT_TRUE(::sigaction(kKick, &sa, nullptr) == 0);
	long mmap_size;
	{
		Fd dev = test::open_device();
		mmap_size = kvmx::ioctl_or_throw(dev, KVM_GET_VCPU_MMAP_SIZE, "KVM_GET_VCPU_MMAP_SIZE");
	}
	auto start = std::chrono::steady_clock::now();
	auto deadline = start + std::chrono::seconds(seconds);
	auto last_report = start;
	Totals tot;
	Rng top(seed);
	std::string leak;
	// Stale fd numbers are only ever the fuzzer's own, so this one is safe.
	kvmx::KmsgWatch kmsg;
	std::string splat;
	for (uint64_t i = 0; i < max_rounds && std::chrono::steady_clock::now() < deadline; i++) {
		bool guest = i % 2 == 1;
		uint64_t round_seed = top.next();
		run_round(tot, guest, round_seed, mmap_size, deadline);
		// Read the log as we go: in a long run the ring buffer wraps.
		for (const std::string &m : kmsg.read_new())
			if (splat.empty() && kvmx::is_splat(m)) {
				splat = m + " (in or before round " + std::to_string(i) + ", round seed " +
					std::to_string(round_seed) + ")";
				test::diag("splat: " + splat);
			}
		// Every fd of the round is closed, every mapping gone.
		if (auto c = test::try_objects()) {
			std::string why;
			if (!all_zero(*c, why) && leak.empty()) {
				leak = "round " + std::to_string(i) + " (" + (guest ? "guest" : "wild") +
				       ", round seed " + std::to_string(round_seed) + ") left" + why;
				test::diag(leak);
			}
		}
		auto now = std::chrono::steady_clock::now();
		// Often: in a busy emulator 5 s of guest time can be minutes of
		// the runner's, whose stall watchdog wants a line every 300 s.
		if (now - last_report > std::chrono::seconds(5)) {
			last_report = now;
			test::diag("progress: " + std::to_string(tot.rounds) + " rounds, " +
				   std::to_string(tot.tally.calls) + " calls");
		}
	}
	double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

	std::ostringstream os;
	os << "calls " << tot.tally.calls << " in " << tot.rounds << " rounds (" << tot.guest_rounds
	   << " with random guests), " << static_cast<long>(secs) << " s";
	test::diag(os.str());
	os.str("");
	os << "errnos:";
	for (const auto &[e, n] : tot.tally.errnos)
		os << ' ' << errno_name(e) << '=' << n;
	test::diag(os.str());
	os.str("");
	for (int i = 0; i < 2; i++) {
		os << "KVM_RUN exits (exit_reason=count), " << (i ? "guest" : "wild") << " rounds:";
		for (const auto &[e, n] : tot.tally.exits[i])
			os << ' ' << e << '=' << n;
		test::diag(os.str());
		os.str("");
	}
	// One line per call: how often, and its errnos.
	for (const auto &[k, n] : tot.tally.by_call) {
		os << "  " << k << ": " << n;
		for (const auto &[ke, ne] : tot.tally.call_errnos)
			if (ke.first == k)
				os << ' ' << errno_name(ke.second) << '=' << ne;
		test::diag(os.str());
		os.str("");
	}

	test::diag(std::string("kernel log: ") + (splat.empty() ? "no splat" : "splat: " + splat));
	EXPECT_EQ(splat, std::string());
	for (const auto &b : tot.tally.bad)
		test::fail(__FILE__, __LINE__, b);
	EXPECT_TRUE(tot.tally.bad.empty());
	EXPECT_TRUE(leak.empty());
	EXPECT_TRUE(tot.rounds > 0);
	EXPECT_TRUE(tot.tally.by_call["KVM_RUN"] > 0);
	if (!test::options().testing_kvmx())
		test::diag("live objects not counted on " + opt.device);
}

// After the fuzzing: nothing alive, and the device still runs a guest.
KVMX_TEST(device_works_afterwards)
{
	Fd dev = test::open_device();
	{
		// mov al, [0x3000] (MMIO); hlt
		test::TinyGuest g(dev, {0xa0, 0x00, 0x30, 0xf4});
		ASSERT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_MMIO));
		EXPECT_EQ(g.run()->mmio.phys_addr, 0x3000ULL);
		g.run()->mmio.data[0] = 0x5a;
		ASSERT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_HLT));
		EXPECT_EQ(g.regs().rax & 0xff, 0x5aULL);
	}
	if (auto c = test::try_objects()) {
		for (const auto &[name, v] : *c)
			EXPECT_EQ(v, 0L);
	}
}
