// SPDX-License-Identifier: GPL-2.0
// Cycles per exit round trip (guest access -> exit to user space -> KVM_RUN
// again), measured with rdtsc on the host side of the emulated test host,
// where the TSC follows the emulated instruction count and so repeats from
// run to run.  One line per measurement, for tools/testhost to tabulate:
//
//   bench config=kvmx-misconfig slots=509 kind=mmio mode=real iters=2000 cycles=12345
//
//   mmio_bench --device PATH --config NAME [--caching misconfig|not-present|off]
//              [--slots N] [--kind mmio|mmio-read|pio|mmio-ioeventfd|pio-ioeventfd]
//              [--mode real|paged32|long] [--iters N] [--mmu ept|shadow]
//
// --kind: an MMIO write (the default), an MMIO read (user space answers it,
// the next KVM_RUN completes it), or an OUT; mmio-ioeventfd and
// pio-ioeventfd are the same writes taken by a KVM_IOEVENTFD in the kernel,
// so the guest loop runs without exits and "cycles" is per write.  --mode: a real-mode guest (the
// default), a 32-bit one with 32-bit paging (4 KiB pages), or a 64-bit one
// with 4-level paging; with paging the hypervisor's fetch of the instruction
// walks the guest's page tables.
// --caching chooses the VM's KVMX_CAP_MMIO_CACHING flavour (kvmx only);
// without it the VM keeps the hypervisor's default.  --mmu chooses the VM's
// KVMX_CAP_MMU (kvmx only; a shadow VM refuses real mode).  --config names the
// configuration in the output (e.g. "kvm-intel-caching-off", for a kvm.ko
// loaded with enable_mmio_caching=0).
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <linux/kvmx.h>
#include <string>
#include <sys/eventfd.h>
#include <unistd.h>
#include <vector>
#include <x86intrin.h>

#include "lib/kvm_abi.h"
#include "lib/sys.h"
#include "lib/tiny_guest.h"

using kvmx::Fd;
using kvmx::Mapping;
using kvmx::test::GuestMode;
using kvmx::test::TinyGuest;

namespace {

struct Args {
	std::string device = "/dev/kvmx";
	std::string caching;
	std::string kind = "mmio";
	std::string mode = "real";
	std::string config;
	std::string mmu;
	unsigned slots = 1;
	unsigned iters = 2000;
};

[[noreturn]] void usage()
{
	std::fprintf(stderr, "usage: mmio_bench --device PATH --config NAME [--caching misconfig|"
			     "not-present|off] [--slots N] [--kind mmio|mmio-read|pio|"
			     "mmio-ioeventfd|pio-ioeventfd] "
			     "[--mode real|paged32|long] [--iters N] [--mmu ept|shadow]\n");
	std::exit(2);
}

Args parse(int argc, char **argv)
{
	Args a;
	for (int i = 1; i < argc; i++) {
		std::string arg = argv[i];
		if (i + 1 >= argc)
			usage();
		std::string v = argv[++i];
		if (arg == "--device")
			a.device = v;
		else if (arg == "--caching")
			a.caching = v;
		else if (arg == "--kind")
			a.kind = v;
		else if (arg == "--mode")
			a.mode = v;
		else if (arg == "--config")
			a.config = v;
		else if (arg == "--mmu")
			a.mmu = v;
		else if (arg == "--slots")
			a.slots = std::stoul(v);
		else if (arg == "--iters")
			a.iters = std::stoul(v);
		else
			usage();
	}
	if (a.config.empty() || a.slots < 1 || a.slots > 509 || a.iters < 10 || a.iters > 60000 ||
	    (a.kind != "mmio" && a.kind != "mmio-read" && a.kind != "pio" &&
	     a.kind != "mmio-ioeventfd" && a.kind != "pio-ioeventfd") ||
	    (a.mode != "real" && a.mode != "paged32" && a.mode != "long") ||
	    (!a.mmu.empty() && a.mmu != "ept" && a.mmu != "shadow"))
		usage();
	return a;
}

constexpr uint64_t kMmio = 0x2000;
constexpr uint16_t kPort = 0x80;

// Turns TinyGuest's flat 32-bit guest into one with 32-bit paging: a page
// directory at kPml4 whose first entry points to a page table after it,
// which maps the first 4 MiB to themselves with 4 KiB pages.
void enable_paging32(TinyGuest &g)
{
	uint8_t *tables = g.tables.as<uint8_t>();
	auto *pd = reinterpret_cast<uint32_t *>(tables + TinyGuest::kPml4 - TinyGuest::kTablesGpa);
	uint32_t *pt = pd + 1024;
	pd[0] = uint32_t(TinyGuest::kPml4 + 0x1000) | 0x3;
	for (uint32_t i = 0; i < 1024; i++)
		pt[i] = (i << 12) | 0x3;
	kvm_sregs s{};
	kvmx::ioctl_or_throw(g.vcpu, KVM_GET_SREGS, "KVM_GET_SREGS", &s);
	s.cr3 = TinyGuest::kPml4;
	s.cr0 |= 0x80000000; // PG
	kvmx::ioctl_or_throw(g.vcpu, KVM_SET_SREGS, "KVM_SET_SREGS", &s);
}

bool is_pio(const Args &a)
{
	return a.kind == "pio" || a.kind == "pio-ioeventfd";
}

bool is_ioeventfd(const Args &a)
{
	return a.kind == "mmio-ioeventfd" || a.kind == "pio-ioeventfd";
}

// mov cx,N (32/64-bit: mov ecx,N); again: the access; loop again; hlt.  The
// access: real mode mov [0x2000],al, mov al,[0x2000] or out 0x80,al; 32/64-bit
// mov [rbx],al, mov al,[rbx] (RBX = 0x2000) or out 0x80,al (the same bytes).
std::vector<uint8_t> loop_code(const Args &a, uint16_t n)
{
	std::vector<uint8_t> code = {0xb9, uint8_t(n), uint8_t(n >> 8)};
	bool real = a.mode == "real";
	if (!real)
		code.insert(code.end(), {0, 0});
	bool write = a.kind != "mmio-read";
	if (is_pio(a))
		code.insert(code.end(), {0xe6, uint8_t(kPort), 0xe2, 0xfc});
	else if (real)
		code.insert(code.end(), {uint8_t(write ? 0xa2 : 0xa0), 0x00, 0x20, 0xe2, 0xfb});
	else
		code.insert(code.end(), {uint8_t(write ? 0x88 : 0x8a), 0x03, 0xe2, 0xfc});
	code.push_back(0xf4);
	return code;
}

std::function<void(const Fd &)> caching(const std::string &name)
{
	if (name.empty())
		return {};
	uint64_t flavour = name == "off"	   ? KVMX_MMIO_CACHING_OFF
			   : name == "not-present" ? KVMX_MMIO_CACHING_NOT_PRESENT
						   : KVMX_MMIO_CACHING_MISCONFIG;
	return [flavour](const Fd &vm) {
		kvm_enable_cap cap{};
		cap.cap = KVMX_CAP_MMIO_CACHING;
		cap.args[0] = flavour;
		kvmx::ioctl_or_throw(vm, KVM_ENABLE_CAP, "KVM_ENABLE_CAP", &cap);
	};
}

// The VM's setup: its KVMX_CAP_MMU (--mmu), then its caching flavour.
std::function<void(const Fd &)> vm_setup(const Args &a)
{
	std::function<void(const Fd &)> rest = caching(a.caching);
	if (a.mmu.empty())
		return rest;
	uint64_t mmu = a.mmu == "shadow" ? KVMX_MMU_SHADOW : KVMX_MMU_EPT;
	return [mmu, rest](const Fd &vm) {
		kvm_enable_cap cap{};
		cap.cap = KVMX_CAP_MMU;
		cap.args[0] = mmu;
		kvmx::ioctl_or_throw(vm, KVM_ENABLE_CAP, "KVM_ENABLE_CAP(KVMX_CAP_MMU)", &cap);
		if (rest)
			rest(vm);
	};
}

// Runs the guest to its HLT; returns the number of exits handled.
unsigned run_to_hlt(TinyGuest &g, uint32_t want)
{
	unsigned exits = 0;
	for (;;) {
		uint32_t reason = g.run_once();
		if (reason == KVM_EXIT_HLT)
			return exits;
		if (reason != want)
			throw std::runtime_error("unexpected exit " + std::to_string(reason));
		exits++;
	}
}

// A wildcard KVM_IOEVENTFD on the loop's one-byte write; returns the eventfd.
Fd ioeventfd(const Fd &vm, const Args &a)
{
	Fd e = Fd::eventfd();
	kvm_ioeventfd io{};
	io.addr = is_pio(a) ? kPort : kMmio;
	io.len = 1;
	io.fd = e.get();
	io.flags = is_pio(a) ? KVM_IOEVENTFD_FLAG_PIO : 0;
	kvmx::ioctl_or_throw(vm, KVM_IOEVENTFD, "KVM_IOEVENTFD", &io);
	return e;
}

uint64_t take(const Fd &eventfd)
{
	uint64_t v = 0;
	return ::read(eventfd.get(), &v, sizeof(v)) == sizeof(v) ? v : 0;
}

} // namespace

int main(int argc, char **argv)
{
	Args a = parse(argc, argv);
	try {
		Fd dev = Fd::open(a.device, O_RDWR);
		const uint32_t want = is_pio(a) ? KVM_EXIT_IO : KVM_EXIT_MMIO;
		const GuestMode mode = a.mode == "real"	     ? GuestMode::kReal
				       : a.mode == "paged32" ? GuestMode::kProtected32
							     : GuestMode::kLong64;

		// Warm-up run: faults the code page in and caches the MMIO gfn.
		TinyGuest g(dev, loop_code(a, 4), mode, vm_setup(a));
		if (a.mode == "paged32")
			enable_paging32(g);
		kvm_regs r = g.regs();
		r.rbx = kMmio;
		g.set_regs(r);
		// More slots, never touched: what a memslot search has to get through.
		std::vector<Mapping> extra;
		for (unsigned i = 1; i < a.slots; i++) {
			extra.push_back(Mapping::anonymous(0x1000));
			g.add_slot(i, 0x100000 + uint64_t(i) * 0x2000, extra.back());
		}
		Fd efd;
		if (is_ioeventfd(a))
			efd = ioeventfd(g.vm, a);
		run_to_hlt(g, want);
		if (efd.valid())
			take(efd);

		std::vector<uint8_t> code = loop_code(a, static_cast<uint16_t>(a.iters));
		std::memcpy(g.ram.get(), code.data(), code.size());
		r = g.regs();
		r.rip = TinyGuest::kCodeGpa;
		g.set_regs(r);

		uint64_t start = __rdtsc();
		unsigned exits = run_to_hlt(g, want);
		uint64_t cycles = __rdtsc() - start;
		const unsigned want_exits = efd.valid() ? 0 : a.iters;
		if (exits != want_exits)
			throw std::runtime_error("expected " + std::to_string(want_exits) +
						 " exits, got " + std::to_string(exits));
		if (efd.valid() && take(efd) != a.iters)
			throw std::runtime_error("the ioeventfd missed writes");
		std::printf("bench config=%s slots=%u kind=%s mode=%s iters=%u cycles=%llu\n",
			    a.config.c_str(), a.slots, a.kind.c_str(), a.mode.c_str(), a.iters,
			    static_cast<unsigned long long>(cycles / a.iters));
	} catch (const std::exception &e) {
		std::fprintf(stderr, "mmio_bench: %s\n", e.what());
		return 1;
	}
	return 0;
}
