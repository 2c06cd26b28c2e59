// SPDX-License-Identifier: GPL-2.0
// The cold path of guest RAM: cycles per page for a 64-bit guest's first
// write to each 4 KiB page of a fresh 4 MiB memslot (two 2 MiB windows),
// measured with rdtsc on the host side around one KVM_RUN, and the faults
// the device fixed for it (its pf_fixed stat) per page.  The memory behind
// the slot is, by --backing:
//   thp   a transparent huge page per window, resident (the host wrote it)
//   4k    4 KiB host pages (MADV_NOHUGEPAGE), resident
//   cold  4 KiB host pages the host never touched: each is allocated when
//         the device first maps it
// One line per backing, for tools/testhost to tabulate:
//
//   bench-touch config=kvmx backing=thp pages=1024 iters=4 cycles=1234 faults=0.002
//
//   touch_bench --device PATH --config NAME --backing thp|4k|cold [--iters N]
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <string>
#include <sys/mman.h>
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

constexpr uint64_t kWindow = 2 << 20;
constexpr uint64_t kBytes = 2 * kWindow;
constexpr uint32_t kPages = kBytes >> 12;
// Inside the 64-bit TinyGuest's identity-mapped first GiB, 2 MiB aligned,
// far from its code and tables.
constexpr uint64_t kSlotGpa = 0x3fc00000;
constexpr uint32_t kSlot = 200;

struct Args {
	std::string device = "/dev/kvmx";
	std::string config;
	std::string backing;
	unsigned iters = 4;
};

[[noreturn]] void usage()
{
	std::fprintf(stderr, "usage: touch_bench --device PATH --config NAME "
			     "--backing thp|4k|cold [--iters N]\n");
	std::exit(2);
}

Args parse(int argc, char **argv)
{
	Args a;
	for (int i = 1; i + 1 < argc; i += 2) {
		std::string arg = argv[i], v = argv[i + 1];
		if (arg == "--device")
			a.device = v;
		else if (arg == "--config")
			a.config = v;
		else if (arg == "--backing")
			a.backing = v;
		else if (arg == "--iters")
			a.iters = std::stoul(v);
		else
			usage();
	}
	if (argc % 2 == 0 || a.config.empty() || a.iters < 1 || a.iters > 64 ||
	    (a.backing != "thp" && a.backing != "4k" && a.backing != "cold"))
		usage();
	return a;
}

// mov rbx,kSlotGpa; mov rcx,kPages; again: mov [rbx],al; add rbx,0x1000; loop again; hlt
std::vector<uint8_t> touch_code()
{
	std::vector<uint8_t> code = {0x48, 0xc7, 0xc3};
	for (int i = 0; i < 4; i++)
		code.push_back(uint8_t(kSlotGpa >> (8 * i)));
	code.insert(code.end(), {0x48, 0xc7, 0xc1});
	for (int i = 0; i < 4; i++)
		code.push_back(uint8_t(kPages >> (8 * i)));
	code.insert(code.end(),
		    {0x88, 0x03, 0x48, 0x81, 0xc3, 0x00, 0x10, 0x00, 0x00, 0xe2, 0xf5, 0xf4});
	return code;
}

// kBytes of anonymous memory at a 2 MiB-aligned address inside @m.
uint8_t *aligned(const Mapping &m)
{
	auto p = reinterpret_cast<uintptr_t>(m.get());
	return reinterpret_cast<uint8_t *>((p + kWindow - 1) & ~(kWindow - 1));
}

void set_slot(const TinyGuest &g, uint8_t *mem)
{
	kvm_userspace_memory_region r{};
	r.slot = kSlot;
	r.guest_phys_addr = kSlotGpa;
	r.memory_size = mem ? kBytes : 0;
	r.userspace_addr = reinterpret_cast<uint64_t>(mem);
	kvmx::ioctl_or_throw(g.vm, KVM_SET_USER_MEMORY_REGION, "KVM_SET_USER_MEMORY_REGION", &r);
}

} // namespace

int main(int argc, char **argv)
{
	Args a = parse(argc, argv);
	try {
		Fd dev = Fd::open(a.device, O_RDWR);
		TinyGuest g(dev, touch_code(), GuestMode::kLong64);
		StatsReader vcpu = StatsReader::of(g.vcpu);
		uint64_t cycles = 0, faults = 0;
		for (unsigned i = 0; i < a.iters; i++) {
			Mapping m = Mapping::anonymous(kBytes + kWindow);
			uint8_t *mem = aligned(m);
			int advice = a.backing == "thp" ? MADV_HUGEPAGE : MADV_NOHUGEPAGE;
			if (::madvise(mem, kBytes, advice))
				throw std::runtime_error("madvise: " + std::string(std::strerror(errno)));
			if (a.backing != "cold")
				std::memset(mem, 0x90, kBytes);
			set_slot(g, mem);
			kvm_regs r = g.regs();
			r.rip = TinyGuest::kCodeGpa;
			g.set_regs(r);
			uint64_t before = vcpu.value("pf_fixed");
			uint64_t t0 = __rdtsc();
			uint32_t reason = g.run_once();
			uint64_t t1 = __rdtsc();
			if (reason != KVM_EXIT_HLT)
				throw std::runtime_error("unexpected exit " + std::to_string(reason));
			cycles += t1 - t0;
			faults += vcpu.value("pf_fixed") - before;
			set_slot(g, nullptr);
		}
		std::printf("bench-touch config=%s backing=%s pages=%u iters=%u cycles=%llu "
			    "faults=%.4f\n",
			    a.config.c_str(), a.backing.c_str(), kPages, a.iters,
			    static_cast<unsigned long long>(cycles / a.iters / kPages),
			    double(faults) / a.iters / kPages);
	} catch (const std::exception &e) {
		std::fprintf(stderr, "touch_bench: %s\n", e.what());
		return 1;
	}
	return 0;
}
