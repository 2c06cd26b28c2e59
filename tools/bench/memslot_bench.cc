// SPDX-License-Identifier: GPL-2.0
// Cycles per KVM_SET_USER_MEMORY_REGION: adding and deleting a 4 KiB slot
// in a VM whose guest has first touched N distinct MMIO pages (so N cached
// MMIO SPTEs exist, on kvmx and on KVM alike), measured with rdtsc on the
// host side of the emulated test host around the ioctl alone.  One line
// per measurement, for tools/testhost to tabulate:
//
//   bench-memslot config=kvmx sptes=100000 op=add mode=single iters=32 cycles=12345
//
//   memslot_bench --device PATH --config NAME --sptes N [--iters N] [--wrap]
//
// mode=single: one update, then the vCPU runs (to a HLT) before the next,
// as when a VMM remaps a BAR while the guest runs.  mode=burst: --iters
// slots added back to back, then deleted back to back.  --wrap (kvmx loaded with a
// small mmio_gen_bits): also split the updates by whether the generation's
// stored bits wrapped (the VM's mmio_zap_all stat moved), and report the
// zapping updates as op=wrap.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <string>
#include <vector>
#include <x86intrin.h>

#include "lib/kvm_abi.h"
#include "lib/stats.h"
#include "lib/sys.h"
#include "lib/tiny_guest.h"

using kvmx::Fd;
using kvmx::Mapping;
using kvmx::StatsReader;
using kvmx::test::GuestMode;
using kvmx::test::TinyGuest;

namespace {

struct Args {
	std::string device = "/dev/kvmx";
	std::string config;
	unsigned sptes = 0;
	unsigned iters = 32;
	bool wrap = false;
};

[[noreturn]] void usage()
{
	std::fprintf(stderr, "usage: memslot_bench --device PATH --config NAME --sptes N "
			     "[--iters N] [--wrap]\n");
	std::exit(2);
}

Args parse(int argc, char **argv)
{
	Args a;
	for (int i = 1; i < argc; i++) {
		std::string arg = argv[i];
		if (arg == "--wrap") {
			a.wrap = true;
			continue;
		}
		if (i + 1 >= argc)
			usage();
		std::string v = argv[++i];
		if (arg == "--device")
			a.device = v;
		else if (arg == "--config")
			a.config = v;
		else if (arg == "--sptes")
			a.sptes = std::stoul(v);
		else if (arg == "--iters")
			a.iters = std::stoul(v);
		else
			usage();
	}
	if (a.config.empty() || a.sptes > 200000 || a.iters < 2 || a.iters > 256)
		usage();
	return a;
}

// The MMIO pages the guest touches: from 1 MiB up, one byte each, inside
// the 64-bit TinyGuest's identity-mapped first GiB.
constexpr uint64_t kMmioBase = 0x100000;
// The slots the benchmark adds and deletes: far from both, ids clear of
// TinyGuest's (0 and 100).
constexpr uint64_t kSlotGpa = 0x3fc00000;
constexpr uint32_t kSlot = 200;

// mov rcx,N; again: mov [rbx],al; add rbx,0x1000; loop again; hlt
std::vector<uint8_t> touch_code(uint32_t n)
{
	if (!n)
		return {0xf4};
	return {0x48, 0xc7, 0xc1, uint8_t(n), uint8_t(n >> 8), uint8_t(n >> 16), uint8_t(n >> 24),
		0x88, 0x03, 0x48, 0x81, 0xc3, 0x00, 0x10, 0x00, 0x00, 0xe2, 0xf5, 0xf4};
}

// Runs the guest from the code page's start to its HLT; MMIO writes are
// answered by doing nothing.  Returns the number of MMIO exits.
unsigned run_to_hlt(TinyGuest &g)
{
	kvm_regs r = g.regs();
	r.rip = TinyGuest::kCodeGpa;
	r.rbx = kMmioBase;
	g.set_regs(r);
	for (unsigned exits = 0;; exits++) {
		uint32_t reason = g.run_once();
		if (reason == KVM_EXIT_HLT)
			return exits;
		if (reason != KVM_EXIT_MMIO)
			throw std::runtime_error("unexpected exit " + std::to_string(reason));
	}
}

class Updates {
public:
	Updates(TinyGuest &g, const Args &a) : g_(g), mem_(Mapping::anonymous(0x1000 * a.iters))
	{
		if (a.wrap)
			stats_.emplace_back(StatsReader::of(g.vm));
	}

	// One timed KVM_SET_USER_MEMORY_REGION adding or deleting the @i-th
	// 4 KiB slot; true if it zapped every MMIO SPTE (known with --wrap).
	bool update(bool add, unsigned i, uint64_t &cycles)
	{
		kvm_userspace_memory_region r{};
		r.slot = kSlot + i;
		r.guest_phys_addr = kSlotGpa + 0x1000 * uint64_t(i);
		r.memory_size = add ? 0x1000 : 0;
		r.userspace_addr = reinterpret_cast<uint64_t>(mem_.get()) + 0x1000 * uint64_t(i);
		uint64_t zaps = zap_count();
		uint64_t start = __rdtsc();
		kvmx::ioctl_or_throw(g_.vm, KVM_SET_USER_MEMORY_REGION,
				     "KVM_SET_USER_MEMORY_REGION", &r);
		cycles = __rdtsc() - start;
		return zap_count() != zaps;
	}

private:
	uint64_t zap_count() const
	{
		return stats_.empty() ? 0 : stats_[0].value("mmio_zap_all");
	}

	TinyGuest &g_;
	Mapping mem_;
	std::vector<StatsReader> stats_;
};

struct Sum {
	uint64_t cycles = 0;
	unsigned n = 0;

	void add(uint64_t c)
	{
		cycles += c;
		n++;
	}
};

void print(const Args &a, const char *op, const char *mode, const Sum &s)
{
	if (!s.n)
		return;
	std::printf("bench-memslot config=%s sptes=%u op=%s mode=%s iters=%u cycles=%llu\n",
		    a.config.c_str(), a.sptes, op, mode, s.n,
		    static_cast<unsigned long long>(s.cycles / s.n));
}

} // namespace

int main(int argc, char **argv)
{
	Args a = parse(argc, argv);
	try {
		Fd dev = Fd::open(a.device, O_RDWR);
		TinyGuest g(dev, touch_code(a.sptes), GuestMode::kLong64);
		// The guest touches N MMIO pages: N exits, N cached MMIO SPTEs.
		unsigned exits = run_to_hlt(g);
		if (exits != a.sptes)
			throw std::runtime_error("expected " + std::to_string(a.sptes) +
						 " MMIO exits, got " + std::to_string(exits));
		// From now on the guest only halts.
		g.ram.as<uint8_t>()[0] = 0xf4;

		Updates u(g, a);
		Sum single[2], burst[2], wrap;
		uint64_t c;
		// Bucket @c by kind of update (@add) unless it was a wrap.
		auto note = [&](Sum *by_kind, int add, bool wrapped) {
			(wrapped ? wrap : by_kind[add]).add(c);
		};
		for (unsigned i = 0; i < a.iters; i++) {
			for (int add = 1; add >= 0; add--) {
				note(single, add, u.update(add, 0, c));
				run_to_hlt(g);
			}
		}
		for (int add = 1; add >= 0; add--)
			for (unsigned i = 0; i < a.iters; i++)
				note(burst, add, u.update(add, i, c));
		print(a, "add", "single", single[1]);
		print(a, "delete", "single", single[0]);
		print(a, "add", "burst", burst[1]);
		print(a, "delete", "burst", burst[0]);
		print(a, "wrap", "any", wrap);
	} catch (const std::exception &e) {
		std::fprintf(stderr, "memslot_bench: %s\n", e.what());
		return 1;
	}
	return 0;
}
