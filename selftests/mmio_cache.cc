// SPDX-License-Identifier: GPL-2.0
// MMIO caching in SPTEs (seeds 000, 001, 002, 004), seen through kvmx's
// vCPU and VM statistics: one slow MMIO fault per page, every later one
// fast; per-VM flavours; memslot changes over cached gfns; the zap when
// the stored generation wraps; a corrupted SPTE stopping only its vCPU.
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <iterator>
#include <linux/kvmx.h>
#include <string>
#include <atomic>
#include <thread>

#include "lib/kvm_abi.h"
#include "lib/kvmx_module.h"
#include "lib/stats.h"
#include "lib/sys.h"
#include "lib/test.h"
#include "lib/tiny_guest.h"

using kvmx::Fd;
using kvmx::ioctl_result;
using kvmx::KmsgWatch;
using kvmx::Mapping;
using kvmx::StatsReader;
using kvmx::test::GuestMode;
using kvmx::test::open_device;
using kvmx::test::TinyGuest;

namespace {

void require_kvmx()
{
	if (!kvmx::test::options().testing_kvmx())
		SKIP("MMIO SPTE statistics are kvmx's own");
}

long enable_flavour(const Fd &vm, uint64_t flavour)
{
	kvm_enable_cap cap{};
	cap.cap = KVMX_CAP_MMIO_CACHING;
	cap.args[0] = flavour;
	return ioctl_result(vm, KVM_ENABLE_CAP, &cap);
}

std::function<void(const Fd &)> flavour(uint64_t f)
{
	return [f](const Fd &vm) {
		if (enable_flavour(vm, f) != 0)
			kvmx::throw_errno("KVM_ENABLE_CAP(KVMX_CAP_MMIO_CACHING)");
	};
}

// Real mode: mov cx,N; again: mov [0x2000],al; loop again; hlt
std::vector<uint8_t> same_page_loop(uint16_t n)
{
	return {0xb9, uint8_t(n), uint8_t(n >> 8), 0xa2, 0x00, 0x20, 0xe2, 0xfb, 0xf4};
}

// 32-bit: mov ecx,N; mov ebx,0x200000; again: mov [ebx],al; add ebx,0x1000;
// loop again; hlt
std::vector<uint8_t> distinct_pages_loop(uint32_t n)
{
	return {0xb9, uint8_t(n), uint8_t(n >> 8), 0, 0, 0xbb, 0x00, 0x00, 0x20, 0x00,
		0x88, 0x03, 0x81, 0xc3, 0x00, 0x10, 0x00, 0x00, 0xe2, 0xf6, 0xf4};
}

struct Counts {
	uint64_t exits_mmio = 0; // KVM_EXIT_MMIO seen by the test
	std::map<std::string, uint64_t> stats;
};

// Runs @g to its HLT answering MMIO writes; checks each write's data.
Counts run_to_hlt(TinyGuest &g, uint8_t data)
{
	Counts c;
	for (;;) {
		uint32_t reason = g.run_once();
		if (reason == KVM_EXIT_HLT)
			break;
		if (reason != KVM_EXIT_MMIO) {
			kvmx::test::fail(__FILE__, __LINE__,
					 "unexpected exit " + std::to_string(reason));
			break;
		}
		EXPECT_EQ(g.run()->mmio.is_write, 1);
		EXPECT_EQ(g.run()->mmio.data[0], data);
		c.exits_mmio++;
	}
	if (kvmx::test::options().testing_kvmx())
		c.stats = StatsReader::of(g.vcpu).values();
	return c;
}

} // namespace

KVMX_TEST(capability)
{
	require_kvmx();
	Fd dev = open_device();
	EXPECT_EQ(ioctl_result(dev, KVM_CHECK_EXTENSION, KVMX_CAP_MMIO_CACHING), 7L);
	Fd vm(static_cast<int>(ioctl_result(dev, KVM_CREATE_VM, 0UL)));
	EXPECT_EQ(enable_flavour(vm, 3), -EINVAL);
	EXPECT_EQ(enable_flavour(vm, KVMX_MMIO_CACHING_OFF), 0L);
	EXPECT_EQ(enable_flavour(vm, KVMX_MMIO_CACHING_NOT_PRESENT), 0L);
	Fd vcpu(static_cast<int>(ioctl_result(vm, KVM_CREATE_VCPU, 0UL)));
	EXPECT_EQ(enable_flavour(vm, KVMX_MMIO_CACHING_MISCONFIG), -EBUSY);
}

// N accesses to one MMIO page: 1 slow (memslot lookup, SPTE made), N-1 fast.
KVMX_TEST(same_page_one_slow_rest_fast)
{
	require_kvmx();
	Fd dev = open_device();
	constexpr uint16_t kN = 50;
	for (uint64_t f : {KVMX_MMIO_CACHING_MISCONFIG, KVMX_MMIO_CACHING_NOT_PRESENT}) {
		TinyGuest g(dev, same_page_loop(kN), GuestMode::kReal, flavour(f));
		Counts c = run_to_hlt(g, 0);
		EXPECT_EQ(c.exits_mmio, kN);
		EXPECT_EQ(c.stats["mmio_slow"], 1u);
		EXPECT_EQ(c.stats["mmio_fast"], kN - 1u);
		EXPECT_EQ(c.stats["mmio_spte_created"], 1u);
		EXPECT_EQ(c.stats["mmio_spte_stale"], 0u);
		// Each flavour's own exit: misconfigurations, or violations.
		if (f == KVMX_MMIO_CACHING_MISCONFIG)
			EXPECT_EQ(c.stats["exits_ept_misconfig"], kN - 1u);
		else
			EXPECT_EQ(c.stats["exits_ept_misconfig"], 0u);
	}
}

KVMX_TEST(distinct_pages_all_slow)
{
	require_kvmx();
	Fd dev = open_device();
	constexpr uint32_t kN = 20;
	TinyGuest g(dev, distinct_pages_loop(kN), GuestMode::kProtected32);
	Counts c = run_to_hlt(g, 0);
	EXPECT_EQ(c.exits_mmio, kN);
	EXPECT_EQ(c.stats["mmio_slow"], kN);
	EXPECT_EQ(c.stats["mmio_fast"], 0u);
	EXPECT_EQ(c.stats["mmio_spte_created"], kN);
}

// Caching off: every access searches the memslots; the guest sees the same.
KVMX_TEST(caching_off_all_slow_same_results)
{
	require_kvmx();
	Fd dev = open_device();
	constexpr uint16_t kN = 30;
	TinyGuest g(dev, same_page_loop(kN), GuestMode::kReal, flavour(KVMX_MMIO_CACHING_OFF));
	kvm_regs r = g.regs();
	r.rax = 0x5a;
	g.set_regs(r);
	Counts c = run_to_hlt(g, 0x5a);
	EXPECT_EQ(c.exits_mmio, kN);
	EXPECT_EQ(c.stats["mmio_slow"], kN);
	EXPECT_EQ(c.stats["mmio_fast"], 0u);
	EXPECT_EQ(c.stats["mmio_spte_created"], 0u);
	EXPECT_EQ(c.stats["exits_ept_misconfig"], 0u);
}

// Two VMs with different flavours at the same time, each with its pattern.
KVMX_TEST(two_vms_two_flavours_at_once)
{
	require_kvmx();
	Fd dev = open_device();
	constexpr uint16_t kN = 40;
	TinyGuest a(dev, same_page_loop(kN), GuestMode::kReal,
		    flavour(KVMX_MMIO_CACHING_MISCONFIG));
	TinyGuest b(dev, same_page_loop(kN), GuestMode::kReal, flavour(KVMX_MMIO_CACHING_OFF));
	Counts ca, cb;
	std::thread ta([&] { ca = run_to_hlt(a, 0); });
	std::thread tb([&] { cb = run_to_hlt(b, 0); });
	ta.join();
	tb.join();
	EXPECT_EQ(ca.stats["mmio_fast"], kN - 1u);
	EXPECT_EQ(cb.stats["mmio_fast"], 0u);
	EXPECT_EQ(cb.stats["mmio_slow"], kN);
}

// Seed 002: a memslot created over a cached gfn.  The guest must see RAM at
// once, not the MMIO the SPTE remembers.
KVMX_TEST(memslot_created_over_cached_gfn)
{
	Fd dev = open_device();
	// mov [0x2000],al; mov al,[0x2000]; hlt
	TinyGuest g(dev, {0xa2, 0x00, 0x20, 0xa0, 0x00, 0x20, 0xf4});
	kvm_regs r = g.regs();
	r.rax = 0x11;
	g.set_regs(r);
	ASSERT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_MMIO)); // cached now
	EXPECT_EQ(g.run()->mmio.is_write, 1);
	Mapping mem = Mapping::anonymous(0x1000);
	mem.as<uint8_t>()[0] = 0x77;
	g.add_slot(1, 0x2000, mem);
	ASSERT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_HLT));
	EXPECT_EQ(g.regs().rax & 0xff, 0x77ULL); // read from the new RAM
	if (kvmx::test::options().testing_kvmx()) {
		auto stats = StatsReader::of(g.vcpu).values();
		EXPECT_EQ(stats["mmio_spte_stale"] + stats["mmio_slow"], 2u);
	}
}

// Seed 001: when the stored generation bits wrap, every MMIO SPTE goes, and
// no old SPTE is taken for current.  mmio_gen_bits=2: a wrap every 4 updates.
KVMX_TEST(zap_all_when_generation_wraps)
{
	kvmx::test::KvmxReloadGuard guard;
	ASSERT_EQ(guard.reload("mmio_gen_bits=2"), 0);
	Fd dev = open_device();
	TinyGuest g(dev, same_page_loop(1));
	Counts c = run_to_hlt(g, 0);
	ASSERT_EQ(c.stats["mmio_spte_created"], 1u);
	Mapping dummy = Mapping::anonymous(0x1000);
	StatsReader vm_stats = StatsReader::of(g.vm);
	for (int update = 1; update <= 8; update++) {
		if (update % 2)
			g.add_slot(7, 0x40000, dummy);
		else
			g.add_slot(7, 0x40000, Mapping()); // size 0: delete
		// Run the same access again after each update: never fast.
		kvm_regs r = g.regs();
		r.rip = TinyGuest::kCodeGpa;
		g.set_regs(r);
		c = run_to_hlt(g, 0);
	}
	EXPECT_EQ(vm_stats.value("mmio_zap_all"), 2u); // generations 4 and 8
	EXPECT_EQ(c.stats["mmio_fast"], 0u);
	EXPECT_EQ(c.stats["mmio_slow"], 9u);
}

// A corrupted EPT entry (the debug hook writes 110b without kvmx's mark):
// the vCPU stops with an internal error and the SPTE walk in dmesg; the
// host, and other VMs, go on.
KVMX_TEST(corrupted_spte_internal_error)
{
	kvmx::test::KvmxReloadGuard guard;
	ASSERT_EQ(guard.reload("debug_hooks=1"), 0);
	KmsgWatch kmsg;
	Fd dev = open_device();
	TinyGuest g(dev, {0xa2, 0x00, 0x20, 0xf4}); // mov [0x2000],al; hlt
	kvmx_debug_spte d{0x2000, 0x6};
	ASSERT_EQ(ioctl_result(g.vm, KVMX_DEBUG_SET_SPTE, &d), 0L);
	d.spte = 0x7; // present: refused
	EXPECT_EQ(ioctl_result(g.vm, KVMX_DEBUG_SET_SPTE, &d), -EINVAL);
	ASSERT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_INTERNAL_ERROR));
	EXPECT_EQ(g.run()->internal.suberror,
		  static_cast<uint32_t>(KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON));
	EXPECT_EQ(g.run()->internal.data[1], 0x2000ULL);
	EXPECT_TRUE(kmsg.saw("EPT misconfiguration at gpa 0x2000 that is not an MMIO SPTE"));
	EXPECT_TRUE(kmsg.saw("level 1 SPTE 0x0000000000000006"));
	// Another VM is fine.
	TinyGuest other(dev, {0xf4});
	EXPECT_EQ(other.run_once(), static_cast<uint32_t>(KVM_EXIT_HLT));
	EXPECT_EQ(kmsg.first_splat(), std::string());
}

// Without debug_hooks the hook does not exist.
KVMX_TEST(debug_hook_needs_the_parameter)
{
	require_kvmx();
	Fd dev = open_device();
	TinyGuest g(dev, {0xf4});
	kvmx_debug_spte d{0x2000, 0x6};
	EXPECT_EQ(ioctl_result(g.vm, KVMX_DEBUG_SET_SPTE, &d), -ENOTTY);
}

// A memslot created and deleted over and over at a gfn the vCPU keeps
// reading, from another thread.  Every read the guest makes is either the
// RAM's value or the MMIO answer, never anything else, and the host stays
// fine: SPTEs, generations and the vCPU's last-MMIO cache under races.
KVMX_TEST(memslot_flapping_under_mmio)
{
	Fd dev = open_device();
	KmsgWatch kmsg;
	constexpr uint16_t kReads = 3000;
	// mov cx,N; again: mov al,[0x2000]; out 0x80,al; loop again; hlt
	TinyGuest g(dev, {0xb9, uint8_t(kReads), uint8_t(kReads >> 8), 0xa0, 0x00, 0x20, 0xe6,
			  0x80, 0xe2, 0xf9, 0xf4});
	Mapping ram = Mapping::anonymous(0x1000);
	ram.as<uint8_t>()[0] = 0x55;
	std::atomic<bool> done{false};
	std::thread flapper([&] {
		for (int i = 0; !done.load(); i++) {
			if (i % 2 == 0)
				g.add_slot(1, 0x2000, ram);
			else
				g.add_slot(1, 0x2000, Mapping()); // size 0: delete
		}
	});
	unsigned from_ram = 0, from_mmio = 0, other = 0, reads = 0;
	while (reads < kReads) {
		uint32_t reason = g.run_once();
		if (reason == KVM_EXIT_MMIO && !g.run()->mmio.is_write &&
		    g.run()->mmio.phys_addr == 0x2000 && g.run()->mmio.len == 1) {
			g.run()->mmio.data[0] = 0xaa;
			continue;
		}
		if (reason != KVM_EXIT_IO || g.run()->io.port != 0x80) {
			kvmx::test::fail(__FILE__, __LINE__, "exit " + std::to_string(reason));
			break;
		}
		uint8_t v = reinterpret_cast<uint8_t *>(g.run())[g.run()->io.data_offset];
		(v == 0x55 ? from_ram : v == 0xaa ? from_mmio : other)++;
		reads++;
	}
	done = true;
	flapper.join();
	kvmx::test::diag("reads from RAM " + std::to_string(from_ram) + ", from MMIO " +
			 std::to_string(from_mmio));
	EXPECT_EQ(other, 0u);
	EXPECT_EQ(from_ram + from_mmio, static_cast<unsigned>(kReads));
	EXPECT_EQ(kmsg.first_splat(), std::string());
}

namespace {

// Writes @value to a tracefs file; false if tracefs is not there.
bool trace_write(const std::string &file, const std::string &value)
{
	std::ofstream out("/sys/kernel/tracing/" + file);
	out << value;
	return static_cast<bool>(out.flush());
}

std::string trace_read()
{
	std::ifstream in("/sys/kernel/tracing/trace");
	return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

size_t count(const std::string &text, const std::string &needle)
{
	size_t n = 0;
	for (size_t at = text.find(needle); at != std::string::npos;
	     at = text.find(needle, at + 1))
		n++;
	return n;
}

} // namespace

// The tracepoints: one MMIO SPTE made, one slow fault, then fast ones.
KVMX_TEST(tracepoints)
{
	require_kvmx();
	if (!trace_write("events/kvmx/enable", "1"))
		SKIP("tracefs is not mounted at /sys/kernel/tracing");
	trace_write("trace", "");
	Fd dev = open_device();
	constexpr uint16_t kN = 6;
	TinyGuest g(dev, same_page_loop(kN));
	run_to_hlt(g, 0);
	trace_write("events/kvmx/enable", "0");
	const std::string trace = trace_read();
	EXPECT_EQ(count(trace, "kvmx_mmio_spte_create:"), 1u);
	EXPECT_EQ(count(trace, "gpa 0x2000 slow (memslot search)"), 1u);
	EXPECT_EQ(count(trace, "gpa 0x2000 fast (cached, no memslot search)"), kN - 1u);
	EXPECT_TRUE(trace.find("gfn 0x2 gen ") != std::string::npos);
}
