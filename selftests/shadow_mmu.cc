// SPDX-License-Identifier: GPL-2.0
// Shadow paging (KVMX_CAP_MMU = KVMX_MMU_SHADOW): what the host offers,
// the paging modes a shadow VM runs and refuses, the guest's own page
// faults (CR2, error codes, demand paging without INVLPG), accessed and
// dirty bits as the CPU sets them, MMIO cached in reserved-bit SPTEs, a
// memslot created and deleted under a cached MMIO SPTE, 32-bit and PAE
// guests remapping a page from MMIO to RAM, and PAE PDPTEs checked on
// MOV to CR0/CR3/CR4 as the CPU checks them.  Every guest here runs on
// /dev/kvm too (kvm_intel's own MMU), with the same expected
// results; kvmx's statistics then show that the shadow MMU did the work.
#include <cpuid.h>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <linux/kvmx.h>
#include <map>
#include <string>

#include "lib/kvm_abi.h"
#include "lib/stats.h"
#include "lib/sys.h"
#include "lib/test.h"
#include "lib/tiny_guest.h"
#include "lib/vm.h"

using namespace kvmx;
using kvmx::test::GuestMode;
using kvmx::test::TinyGuest;

namespace {

bool on_kvmx() { return test::options().testing_kvmx(); }

// Whether kvmx.ko lets not-present guest faults bypass it (default on).
bool bypass_param()
{
	std::ifstream f("/sys/module/kvmx/parameters/bypass_guest_pf");
	std::string v;
	return (f >> v) && v == "Y";
}

// The host CPU's MAXPHYADDR (CPUID 0x80000008), as kvmx reads it.
unsigned int host_maxphyaddr()
{
	unsigned int a, b, c, d;
	if (!__get_cpuid(0x80000000, &a, &b, &c, &d) || a < 0x80000008)
		return 36;
	__get_cpuid(0x80000008, &a, &b, &c, &d);
	return a & 0xff;
}

long choose(const Fd &vm, uint64_t mmu)
{
	kvm_enable_cap cap{};
	cap.cap = KVMX_CAP_MMU;
	cap.args[0] = mmu;
	return ioctl_result(vm, KVM_ENABLE_CAP, &cap);
}

void choose_shadow(const Fd &vm)
{
	if (choose(vm, KVMX_MMU_SHADOW) != 0)
		throw_errno("KVM_ENABLE_CAP(KVMX_CAP_MMU, shadow)");
}

std::map<std::string, uint64_t> stats_of(const Vcpu &vcpu)
{
	return StatsReader::of(vcpu.fd()).values();
}

// Every Vm made while one is alive is shadow-paged (on kvmx).
class ShadowVms {
public:
	ShadowVms() : saved_(Vm::default_mmu()) { Vm::set_default_mmu(KVMX_MMU_SHADOW); }
	~ShadowVms() { Vm::set_default_mmu(saved_); }
	ShadowVms(const ShadowVms &) = delete;
	ShadowVms &operator=(const ShadowVms &) = delete;

private:
	int saved_;
};

constexpr uint64_t kVa = 512 * GiB; // PML4 slot 1: 4 KiB pages of its own
constexpr uint64_t kAddrMask = 0x000ffffffffff000ULL;
constexpr uint64_t kP = 1, kW = 2, kA = 0x20, kD = 0x40;

// The guest's own PTE of @va (its tables lie in the identity map).
volatile uint64_t *guest_pte(uint64_t va)
{
	uint64_t table;

	asm volatile("mov %%cr3, %0" : "=r"(table));
	for (int level = 3; level >= 1; level--) {
		auto *entries = reinterpret_cast<volatile uint64_t *>(table & kAddrMask);
		table = entries[(va >> (12 + 9 * level)) & 511] & kAddrMask;
	}
	return reinterpret_cast<volatile uint64_t *>(table) + ((va >> 12) & 511);
}

} // namespace

// The host offers shadow paging next to EPT, and a shadow VM caches MMIO
// in reserved-bit SPTEs exactly when the host's MAXPHYADDR leaves one.
KVMX_TEST(offered)
{
	if (!on_kvmx())
		SKIP("KVMX_CAP_MMU is kvmx's own");
	Fd dev = test::open_device();
	long offered = ioctl_result(dev, KVM_CHECK_EXTENSION, KVMX_CAP_MMU);
	EXPECT_TRUE(offered & (1L << KVMX_MMU_SHADOW));
	Fd vm(static_cast<int>(ioctl_result(dev, KVM_CREATE_VM, 0UL)));
	ASSERT_EQ(choose(vm, KVMX_MMU_SHADOW), 0L);
	unsigned int maxphyaddr = host_maxphyaddr();
	test::diag("host MAXPHYADDR " + std::to_string(maxphyaddr));
	long expected = (1L << KVMX_MMIO_CACHING_OFF) |
			(maxphyaddr < 52 ? 1L << KVMX_MMIO_CACHING_MISCONFIG : 0);
	EXPECT_EQ(ioctl_result(vm, KVM_CHECK_EXTENSION, KVMX_CAP_MMIO_CACHING), expected);
}

// Without unrestricted guest, real mode cannot run: the vCPU stops with
// kvmx's internal-error suberror and says why, before running anything.
KVMX_TEST(real_mode_is_refused)
{
	if (!on_kvmx())
		SKIP("kvm_intel with EPT runs real mode; the refusal is kvmx's shadow MMU");
	Fd dev = test::open_device();
	TinyGuest g(dev, {0xf4}, GuestMode::kReal, choose_shadow);
	ASSERT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_INTERNAL_ERROR));
	EXPECT_EQ(g.run()->internal.suberror, static_cast<uint32_t>(KVMX_INTERNAL_ERROR_SHADOW_MODE));
	EXPECT_EQ(g.run()->internal.data[0], static_cast<uint64_t>(KVMX_SHADOW_MODE_REAL));
	EXPECT_EQ(g.regs().rip, TinyGuest::kCodeGpa);
}

// Protected mode without paging runs on kvmx's identity map; the second
// access to an MMIO page takes the reserved-bit SPTE's fast path.
KVMX_TEST(protected_mode_without_paging_caches_mmio)
{
	Fd dev = test::open_device();
	// mov [0x2000],al twice; mov eax,[0x1800]; hlt (0x1800: code page, RAM)
	TinyGuest g(dev,
		    {0xa2, 0x00, 0x20, 0x00, 0x00, 0xa2, 0x00, 0x20, 0x00, 0x00, 0xa1, 0x00, 0x18,
		     0x00, 0x00, 0xf4},
		    GuestMode::kProtected32, on_kvmx() ? choose_shadow : nullptr);
	uint32_t ram_word = 0x1234abcd;
	std::memcpy(static_cast<uint8_t *>(g.ram.get()) + 0x800, &ram_word, sizeof(ram_word));
	int mmio = 0;
	for (;;) {
		uint32_t reason = g.run_once();
		if (reason == KVM_EXIT_HLT)
			break;
		ASSERT_EQ(reason, static_cast<uint32_t>(KVM_EXIT_MMIO));
		EXPECT_EQ(g.run()->mmio.phys_addr, 0x2000ULL);
		mmio++;
	}
	EXPECT_EQ(mmio, 2);
	EXPECT_EQ(g.regs().rax, 0x1234abcdULL);
	if (!on_kvmx())
		return;
	std::map<std::string, uint64_t> stats = StatsReader::of(g.vcpu).values();
	EXPECT_EQ(stats["exits_ept_violation"], 0u);
	EXPECT_EQ(stats["mmio_slow"], 1u);
	EXPECT_EQ(stats["mmio_fast"], 1u);
	EXPECT_TRUE(stats["pf_fixed"] >= 1u);
}

namespace {

volatile uint64_t fault_cr2, fault_error, faults;
volatile uint64_t demand_gpa;

// Demand paging in the guest: the #PF handler makes the PTE present
// (no INVLPG: it was not present) and the instruction runs again.
void demand_pf_handler(ExFrame *frame)
{
	uint64_t cr2;

	asm volatile("mov %%cr2, %0" : "=r"(cr2));
	fault_cr2 = cr2;
	fault_error = frame->error_code;
	faults = faults + 1;
	*guest_pte(cr2) = (demand_gpa + ((cr2 - kVa) & ~0xfffULL)) | kP | kW;
}

void guest_demand_paging()
{
	auto *v = reinterpret_cast<volatile uint32_t *>(kVa);
	auto *v2 = reinterpret_cast<volatile uint32_t *>(kVa + 4096);

	GUEST_SYNC(*v); // read, not present: #PF(0), then the RAM value
	GUEST_SYNC(fault_cr2);
	GUEST_SYNC(fault_error);
	*v2 = 0x77; // write, not present: #PF(W)
	GUEST_SYNC(fault_cr2);
	GUEST_SYNC(fault_error);
	GUEST_SYNC(*v2);
	GUEST_SYNC(faults);
	GUEST_DONE();
}

void demand_paging_case()
{
	Vm vm;
	uint64_t ram = vm.alloc(2 * 4096);
	uint32_t value = 0x600df00d;
	std::memcpy(vm.hva(ram), &value, sizeof(value));
	vm.map(kVa, ram, 2 * 4096);
	*vm.guest(const_cast<uint64_t *>(&demand_gpa)) = ram;
	vm.install_handler(14, demand_pf_handler);
	Vcpu &vcpu = vm.add_vcpu(guest_demand_paging);
	// The page table stays, its two PTEs become not present.
	{
		uint64_t cr3 = vm.cr3();
		uint64_t table = cr3;
		for (int level = 3; level >= 1; level--) {
			auto *e = reinterpret_cast<uint64_t *>(vm.hva(table & kAddrMask));
			table = e[(kVa >> (12 + 9 * level)) & 511] & kAddrMask;
		}
		auto *pte = reinterpret_cast<uint64_t *>(vm.hva(table));
		pte[0] = 0;
		pte[1] = 0;
	}
	vcpu.expect_sync(value);
	vcpu.expect_sync(kVa);
	vcpu.expect_sync(0); // not present, read, supervisor
	vcpu.expect_sync(kVa + 4096);
	vcpu.expect_sync(2); // not present, write, supervisor
	vcpu.expect_sync(0x77);
	vcpu.expect_sync(2);
	vcpu.expect_done();
	if (!on_kvmx() || Vm::default_mmu() != KVMX_MMU_SHADOW)
		return;
	std::map<std::string, uint64_t> s = stats_of(vcpu);
	// The first fault exits: its page table had no shadow yet.  With
	// bypass_guest_pf the second, on a PTE kvmx read as not present in a
	// page table it shadows, goes straight to the guest.
	EXPECT_EQ(s["pf_guest"], bypass_param() ? 1u : 2u);
	EXPECT_EQ(s["exits_ept_violation"], 0u);
	// Four levels of guest tables for kVa at least, each shadowed and
	// write-protected; a protected table has a shadow page.
	std::map<std::string, uint64_t> v = StatsReader::of(vm.fd()).values();
	EXPECT_TRUE(v["shadow_pages"] >= 4u);
	EXPECT_TRUE(v["shadow_wp_gfns"] >= 4u);
	EXPECT_TRUE(v["shadow_wp_gfns"] <= v["shadow_pages"]);
}

} // namespace

// The guest's own #PFs reach its handler with the CR2 and error code the
// CPU gives, and a PTE made present without INVLPG is used at once.
KVMX_TEST(guest_demand_paging)
{
	demand_paging_case();
}

KVMX_TEST(guest_demand_paging_shadow)
{
	ShadowVms shadow;
	demand_paging_case();
}

namespace {

// A read sets A in the guest's PTE, a write sets D, as the CPU does.
void guest_accessed_dirty()
{
	volatile uint64_t *pte = guest_pte(kVa);
	auto *v = reinterpret_cast<volatile uint32_t *>(kVa);

	GUEST_SYNC(*pte & (kA | kD));
	(void)*v;
	GUEST_SYNC(*pte & (kA | kD));
	*v = 1;
	GUEST_SYNC(*pte & (kA | kD));
	GUEST_DONE();
}

void accessed_dirty_case()
{
	Vm vm;
	uint64_t ram = vm.alloc(4096);
	vm.map(kVa, ram, 4096);
	Vcpu &vcpu = vm.add_vcpu(guest_accessed_dirty);
	vcpu.expect_sync(0);
	vcpu.expect_sync(kA);
	vcpu.expect_sync(kA | kD);
	vcpu.expect_done();
}

} // namespace

KVMX_TEST(accessed_and_dirty_bits)
{
	accessed_dirty_case();
}

KVMX_TEST(accessed_and_dirty_bits_shadow)
{
	ShadowVms shadow;
	accessed_dirty_case();
}

namespace {

constexpr uint64_t kHoleGpa = 3 * GiB + 0x7000; // no memslot until the host adds one
constexpr uint32_t kSlot = 7;

void guest_memslot_under_mmio()
{
	auto *v = reinterpret_cast<volatile uint32_t *>(kVa);

	*v = 0x41; // MMIO
	*v = 0x42; // MMIO, cached
	GUEST_SYNC(0);
	GUEST_SYNC(*v); // the host made it RAM meanwhile
	*v = 0x43;
	GUEST_SYNC(0);
	*v = 0x44; // MMIO again: the slot is gone
	GUEST_DONE();
}

void expect_mmio_write(Vcpu &vcpu, uint32_t value)
{
	ASSERT_EQ(exit_reason_name(vcpu.run()), exit_reason_name(KVM_EXIT_MMIO));
	const kvm_run &r = vcpu.run_area();
	EXPECT_EQ(r.mmio.phys_addr, kHoleGpa);
	EXPECT_EQ(r.mmio.is_write, 1);
	uint32_t got = 0;
	std::memcpy(&got, r.mmio.data, sizeof(got));
	EXPECT_EQ(got, value);
}

void memslot_under_mmio_case()
{
	Vm vm;
	vm.map(kVa, kHoleGpa, 4096);
	Vcpu &vcpu = vm.add_vcpu(guest_memslot_under_mmio);
	expect_mmio_write(vcpu, 0x41);
	expect_mmio_write(vcpu, 0x42);
	vcpu.expect_sync(0);
	Memslot &slot = vm.add_memslot(kSlot, kHoleGpa & ~0xfffULL, 4096);
	uint32_t value = 0xcafe0001;
	std::memcpy(slot.hva(kHoleGpa), &value, sizeof(value));
	vcpu.expect_sync(value);
	vcpu.expect_sync(0);
	uint32_t written = 0;
	std::memcpy(&written, slot.hva(kHoleGpa), sizeof(written));
	EXPECT_EQ(written, 0x43u);
	vm.remove_memslot(kSlot);
	expect_mmio_write(vcpu, 0x44);
	vcpu.expect_done();
	if (!on_kvmx() || Vm::default_mmu() != KVMX_MMU_SHADOW)
		return;
	std::map<std::string, uint64_t> s = stats_of(vcpu);
	EXPECT_TRUE(s["mmio_fast"] >= 1u);
	EXPECT_EQ(s["exits_ept_violation"], 0u);
	EXPECT_EQ(s["exits_ept_misconfig"], 0u);
}

} // namespace

// A memslot created over a gfn that a shadow MMIO SPTE caches, and deleted
// again: no stale MMIO, no stale RAM (seeds 000 and 002).
KVMX_TEST(memslot_changes_under_cached_mmio)
{
	memslot_under_mmio_case();
}

KVMX_TEST(memslot_changes_under_cached_mmio_shadow)
{
	ShadowVms shadow;
	memslot_under_mmio_case();
}

namespace {

// 32-bit and PAE guests, set up from the host: an identity-mapped large
// page for the code, a page table for 0x400000 whose first entry maps an
// MMIO gfn.  The guest writes the page twice (MMIO, the second cached),
// makes the entry point at RAM (a write to a shadowed page table), runs
// INVLPG and reads the page: RAM, no stale MMIO.
constexpr uint64_t kPagingGpa = 0x10000; // 5 pages: PDPT or PD, PD, PT, RAM, spare
constexpr uint64_t kPtGpa = 0x12000;
constexpr uint64_t kRamGpa = 0x13000;
constexpr uint64_t kMmioPageGpa = 0x2000;

void paged_32bit_case(bool pae)
{
	Fd dev = test::open_device();
	const std::vector<uint8_t> code = {
		0xa2, 0x00, 0x00, 0x40, 0x00,			    // mov [0x400000],al
		0xa2, 0x00, 0x00, 0x40, 0x00,			    // mov [0x400000],al
		0xc7, 0x05, 0x00, 0x20, 0x01, 0x00, 0x03, 0x30, 0x01, 0x00, // mov dword [0x12000],0x13003
		0x0f, 0x01, 0x3d, 0x00, 0x00, 0x40, 0x00,	    // invlpg [0x400000]
		0xa1, 0x00, 0x00, 0x40, 0x00,			    // mov eax,[0x400000]
		0xf4,						    // hlt
	};
	TinyGuest g(dev, code, GuestMode::kProtected32, on_kvmx() ? choose_shadow : nullptr);
	Mapping paging = Mapping::anonymous(0x5000);
	auto *mem = paging.as<uint8_t>();
	auto put64 = [mem](uint64_t gpa, uint64_t v) { std::memcpy(mem + gpa - kPagingGpa, &v, 8); };
	auto put32 = [mem](uint64_t gpa, uint32_t v) { std::memcpy(mem + gpa - kPagingGpa, &v, 4); };
	if (pae) {
		put64(kPagingGpa, 0x11000 | kP);			// PDPTE 0 -> PD
		put64(0x11000, 0x0 | kP | kW | 0x80);			// 2 MiB identity
		put64(0x11000 + 2 * 8, kPtGpa | kP | kW);		// 0x400000 -> PT
		put64(kPtGpa, kMmioPageGpa | kP | kW);
	} else {
		put32(kPagingGpa, 0x0 | kP | kW | 0x80);		// 4 MiB identity
		put32(kPagingGpa + 1 * 4, kPtGpa | kP | kW);		// 0x400000 -> PT
		put32(kPtGpa, kMmioPageGpa | kP | kW);
	}
	uint32_t ram_value = 0x5eed1234;
	std::memcpy(mem + kRamGpa - kPagingGpa, &ram_value, sizeof(ram_value));
	g.add_slot(101, kPagingGpa, paging);

	kvm_sregs s{};
	ioctl_or_throw(g.vcpu, KVM_GET_SREGS, "KVM_GET_SREGS", &s);
	s.cr3 = kPagingGpa;
	s.cr4 = pae ? 0x20 : 0x10; // PAE, or PSE
	s.cr0 = 0x80000011;	   // PG, PE, ET
	ioctl_or_throw(g.vcpu, KVM_SET_SREGS, "KVM_SET_SREGS", &s);
	kvm_regs r = g.regs();
	r.rax = 0x77;
	g.set_regs(r);

	for (int i = 0; i < 2; i++) {
		ASSERT_EQ(exit_reason_name(g.run_once()), exit_reason_name(KVM_EXIT_MMIO));
		EXPECT_EQ(g.run()->mmio.phys_addr, kMmioPageGpa);
		EXPECT_EQ(g.run()->mmio.is_write, 1);
		EXPECT_EQ(g.run()->mmio.data[0], 0x77);
	}
	ASSERT_EQ(exit_reason_name(g.run_once()), exit_reason_name(KVM_EXIT_HLT));
	EXPECT_EQ(g.regs().rax, uint64_t(ram_value));
	uint64_t pte = 0;
	std::memcpy(&pte, mem + kPtGpa - kPagingGpa, pae ? 8 : 4);
	// The guest's write, and the accessed bit the read set.
	EXPECT_EQ(pte & ~0x60ULL, kRamGpa | kP | kW);
	EXPECT_TRUE(pte & kA);
	if (!on_kvmx())
		return;
	std::map<std::string, uint64_t> st = StatsReader::of(g.vcpu).values();
	EXPECT_EQ(st["exits_ept_violation"], 0u);
	EXPECT_EQ(st["mmio_fast"], 1u);
	EXPECT_TRUE(st["pf_pt_write"] >= 1u);
	EXPECT_EQ(st["exits_invlpg"], 1u);
}

} // namespace

// PAE paging on a shadow VM (kvm_intel on /dev/kvm).
KVMX_TEST(pae_guest_remaps_mmio_to_ram)
{
	paged_32bit_case(true);
}

// 32-bit paging on a shadow VM: 4 MiB and 4 KiB pages, quadrants.
KVMX_TEST(paging32_guest_remaps_mmio_to_ram)
{
	paged_32bit_case(false);
}

namespace {

// A 32-bit guest (4 MiB and 4 KiB pages) reads through its page table for
// 0x400000 (entry 0 present: the table gets its shadow), then through its
// not-present entry 1: its #PF handler gets CR2 and the error code, and
// with bypass_guest_pf that fault never exits to kvmx.
void paging32_bypass_case()
{
	Fd dev = test::open_device();
	std::vector<uint8_t> code = {
		0xa1, 0x00, 0x00, 0x40, 0x00, // mov eax,[0x400000]
		0xa1, 0x00, 0x10, 0x40, 0x00, // mov eax,[0x401000]: #PF
		0xf4,			      // hlt (not reached)
	};
	constexpr uint32_t kHandler = TinyGuest::kCodeGpa + 0x20;
	code.resize(kHandler - TinyGuest::kCodeGpa, 0x90);
	code.insert(code.end(), {
		0x59,		  // pop ecx: the error code
		0x0f, 0x20, 0xd2, // mov edx,cr2
		0xf4,		  // hlt
	});
	TinyGuest g(dev, code, GuestMode::kProtected32, on_kvmx() ? choose_shadow : nullptr);
	Mapping paging = Mapping::anonymous(0x5000);
	auto *mem = paging.as<uint8_t>();
	auto put32 = [mem](uint64_t gpa, uint32_t v) { std::memcpy(mem + gpa - kPagingGpa, &v, 4); };
	put32(kPagingGpa, 0x0 | kP | kW | 0x80);	// 4 MiB identity
	put32(kPagingGpa + 1 * 4, kPtGpa | kP | kW);	// 0x400000 -> PT
	put32(kPtGpa, kRamGpa | kP | kW);		// entry 1 stays not present
	uint32_t ram_value = 0x0badcafe;
	std::memcpy(mem + kRamGpa - kPagingGpa, &ram_value, sizeof(ram_value));
	// The IDT in the spare page: vector 14, a 32-bit interrupt gate.
	constexpr uint64_t kIdtGpa = 0x14000;
	put32(kIdtGpa + 14 * 8, (0x08 << 16) | (kHandler & 0xffff));
	put32(kIdtGpa + 14 * 8 + 4, (kHandler & 0xffff0000) | 0x8e00);
	g.add_slot(101, kPagingGpa, paging);

	kvm_sregs s{};
	ioctl_or_throw(g.vcpu, KVM_GET_SREGS, "KVM_GET_SREGS", &s);
	s.cr3 = kPagingGpa;
	s.cr4 = 0x10;	   // PSE
	s.cr0 = 0x80000011; // PG, PE, ET
	s.idt.base = kIdtGpa;
	s.idt.limit = 0x7ff;
	ioctl_or_throw(g.vcpu, KVM_SET_SREGS, "KVM_SET_SREGS", &s);

	ASSERT_EQ(exit_reason_name(g.run_once()), exit_reason_name(KVM_EXIT_HLT));
	kvm_regs r = g.regs();
	EXPECT_EQ(r.rax, uint64_t(ram_value));
	EXPECT_EQ(r.rdx, 0x401000u);
	EXPECT_EQ(r.rcx, 0u); // not present, read, supervisor
	if (!on_kvmx())
		return;
	std::map<std::string, uint64_t> st = StatsReader::of(g.vcpu).values();
	EXPECT_EQ(st["pf_guest"], bypass_param() ? 0u : 1u);
}

} // namespace

// bypass_guest_pf under 32-bit paging: the shadow's quadrants of a guest
// table are prefetched too.
KVMX_TEST(paging32_guest_fault_bypasses_kvmx)
{
	paging32_bypass_case();
}

namespace {

// PAE PDPTEs checked as the CPU loads them (SDM 4.4.1, KVM's
// load_pdptrs()): MOV to CR3 in PAE paging, MOV to CR0 that changes PG,
// CD or NW into PAE paging, MOV to CR4 that changes PGE, PSE, PAE or SMEP
// in PAE paging read the four PDPTEs at CR3 & ~0x1f; a present one with
// a reserved bit (63:M, 8:5, 2:1), or a table that is not RAM, is #GP(0)
// with the control registers unchanged.  The guest's #GP handler stops
// (HLT) for the host to look, then returns past the 3-byte MOV; every
// step ends with a HLT of its own.
constexpr uint64_t kPdptPage = 0x10000;	   // 32-byte PDPTs, one per case
constexpr uint64_t kPdGpa = 0x11000;	   // 2 MiB identity page at 0
constexpr uint64_t kGood = kPdptPage;
constexpr uint64_t kBad63 = kPdptPage + 0x20; // PDPTE 2: bit 63
constexpr uint64_t kBad5 = kPdptPage + 0x40;  // PDPTE 3: bit 5
constexpr uint64_t kBad1 = kPdptPage + 0x60;  // PDPTE 1: bit 1 (R/W)
constexpr uint64_t kJunk = kPdptPage + 0x80;  // not-present entries with junk
constexpr uint64_t kBad8 = kPdptPage + 0xa0;  // PDPTE 0 itself: bit 8
constexpr uint64_t kCr4Case = kPdptPage + 0xc0; // valid until the guest writes it
constexpr uint64_t kNoRam = 0x20000000;	   // no memslot
constexpr uint64_t kGpHandler = 0x1700, kOtherHandler = 0x1780, kIdt = 0x1800;
constexpr uint64_t kPg = 0x80000000, kCd = 0x40000000, kWp = 0x10000, kTs = 0x8;
constexpr uint64_t kPae = 0x20, kPge = 0x80, kPse = 0x10, kOsfxsr = 0x200;

struct PdpteStep {
	std::vector<uint8_t> code; // ends with the MOV to CRn under test (3 bytes)
	bool gp;
	uint64_t cr0, cr3, cr4;	   // expected after the step (and at its #GP)
	const char *what;
};

std::vector<uint8_t> imm32(uint8_t op, uint32_t v)
{
	return {op, uint8_t(v), uint8_t(v >> 8), uint8_t(v >> 16), uint8_t(v >> 24)};
}

std::vector<uint8_t> cat(std::initializer_list<std::vector<uint8_t>> parts)
{
	std::vector<uint8_t> out;
	for (const auto &p : parts)
		out.insert(out.end(), p.begin(), p.end());
	return out;
}

const std::vector<uint8_t> kMovCr0Eax = {0x0f, 0x22, 0xc0}, kMovCr3Eax = {0x0f, 0x22, 0xd8},
			   kMovCr4Eax = {0x0f, 0x22, 0xe0}, kMovEaxCr0 = {0x0f, 0x20, 0xc0},
			   kMovEaxCr3 = {0x0f, 0x20, 0xd8}, kMovEaxCr4 = {0x0f, 0x20, 0xe0};

std::vector<uint8_t> mov_eax(uint32_t v) { return imm32(0xb8, v); }
std::vector<uint8_t> or_eax(uint32_t v) { return imm32(0x0d, v); }
std::vector<uint8_t> and_eax(uint32_t v) { return imm32(0x25, v); }
std::vector<uint8_t> xor_eax(uint32_t v) { return imm32(0x35, v); }

// mov dword [gpa], v
std::vector<uint8_t> store32(uint32_t gpa, uint32_t v)
{
	std::vector<uint8_t> a = imm32(0x05, gpa), b = imm32(0, v);
	std::vector<uint8_t> out = {0xc7};
	out.insert(out.end(), a.begin(), a.end());
	out.insert(out.end(), b.begin() + 1, b.end());
	return out;
}

std::vector<PdpteStep> pdpte_steps(bool no_ram_case)
{
	const uint64_t pe = 0x11; // PE, ET
	std::vector<PdpteStep> s;
	uint64_t cr0 = kPg | pe, cr4 = kPae;

	// MOV to CR3.
	if (no_ram_case)
		s.push_back({cat({mov_eax(kNoRam), kMovCr3Eax}), true, cr0, kGood, cr4,
			     "CR3: PDPTs not in RAM"});
	s.push_back({cat({mov_eax(kBad63), kMovCr3Eax}), true, cr0, kGood, cr4, "CR3: bit 63"});
	s.push_back({cat({mov_eax(kBad5), kMovCr3Eax}), true, cr0, kGood, cr4, "CR3: bit 5"});
	s.push_back({cat({mov_eax(kBad1), kMovCr3Eax}), true, cr0, kGood, cr4, "CR3: bit 1"});
	s.push_back({cat({mov_eax(kBad8), kMovCr3Eax}), true, cr0, kGood, cr4, "CR3: bit 8"});
	s.push_back({cat({mov_eax(kBad63 | 0x18), kMovCr3Eax}), true, cr0, kGood, cr4,
		     "CR3: PDPTs at CR3 & ~0x1f"});
	s.push_back({cat({mov_eax(kJunk), kMovCr3Eax}), false, cr0, kJunk, cr4,
		     "CR3: junk in not-present PDPTEs"});
	s.push_back({cat({mov_eax(kCr4Case), kMovCr3Eax}), false, cr0, kCr4Case, cr4,
		     "CR3: valid"});
	// The guest makes PDPTE 3 of its current table bad: the PDPTE registers
	// keep the old one until something reloads them.
	const uint32_t pdpte3 = uint32_t(kCr4Case + 24);
	s.push_back({cat({store32(pdpte3, uint32_t(kPdGpa | 0x101)), kMovEaxCr4, xor_eax(kPge),
			  kMovCr4Eax}),
		     true, cr0, kCr4Case, cr4, "CR4: PGE reloads"});
	s.push_back({cat({kMovEaxCr4, xor_eax(kPse), kMovCr4Eax}), true, cr0, kCr4Case, cr4,
		     "CR4: PSE reloads"});
	cr4 |= kOsfxsr;
	s.push_back({cat({kMovEaxCr4, or_eax(kOsfxsr), kMovCr4Eax}), false, cr0, kCr4Case, cr4,
		     "CR4: OSFXSR does not reload"});
	s.push_back({cat({kMovEaxCr0, or_eax(kCd), kMovCr0Eax}), true, cr0, kCr4Case, cr4,
		     "CR0: CD reloads"});
	s.push_back({cat({kMovEaxCr3, kMovCr3Eax}), true, cr0, kCr4Case, cr4,
		     "CR3: the same CR3 reloads"});
	cr4 |= kPge;
	s.push_back({cat({store32(pdpte3, 0), kMovEaxCr4, xor_eax(kPge), kMovCr4Eax}), false, cr0,
		     kCr4Case, cr4, "CR4: PGE, PDPTE 3 fixed"});
	// Bits the guest owns on kvmx (no exit) survive the exits of others.
	// (Bochs reloads the PDPTEs on every MOV to CR0 in PAE paging, so the
	// table is valid from here on: no TS or WP step with a bad one.)
	cr0 |= kTs;
	s.push_back({cat({kMovEaxCr0, or_eax(kTs), kMovCr0Eax}), false, cr0, kCr4Case, cr4,
		     "CR0: TS"});
	cr4 |= kPse;
	s.push_back({cat({kMovEaxCr4, xor_eax(kPse), kMovCr4Eax}), false, cr0, kCr4Case, cr4,
		     "CR4: PSE keeps CR0.TS"});
	cr4 &= ~kOsfxsr;
	s.push_back({cat({kMovEaxCr4, and_eax(uint32_t(~kOsfxsr)), kMovCr4Eax}), false, cr0,
		     kCr4Case, cr4, "CR4: OSFXSR off"});
	cr0 |= kWp;
	s.push_back({cat({kMovEaxCr0, or_eax(kWp), kMovCr0Eax}), false, cr0, kCr4Case, cr4,
		     "CR0: WP keeps CR4.OSFXSR off"});
	// MOV to CR0 that turns paging on.
	cr0 &= ~kPg;
	s.push_back({cat({kMovEaxCr0, and_eax(uint32_t(~kPg)), kMovCr0Eax}), false, cr0, kCr4Case,
		     cr4, "CR0: paging off"});
	s.push_back({cat({mov_eax(kBad5), kMovCr3Eax}), false, cr0, kBad5, cr4,
		     "CR3 without paging: not checked"});
	s.push_back({cat({kMovEaxCr0, or_eax(kPg), kMovCr0Eax}), true, cr0, kBad5, cr4,
		     "CR0: PG with bit 5"});
	if (no_ram_case) {
		s.push_back({cat({mov_eax(kNoRam), kMovCr3Eax}), false, cr0, kNoRam, cr4,
			     "CR3 without paging: not in RAM"});
		s.push_back({cat({kMovEaxCr0, or_eax(kPg), kMovCr0Eax}), true, cr0, kNoRam, cr4,
			     "CR0: PG, PDPTs not in RAM"});
	}
	s.push_back({cat({mov_eax(kJunk), kMovCr3Eax}), false, cr0, kJunk, cr4,
		     "CR3 without paging: valid"});
	cr0 |= kPg;
	s.push_back({cat({kMovEaxCr0, or_eax(kPg), kMovCr0Eax}), false, cr0, kJunk, cr4,
		     "CR0: PG with a valid table"});
	return s;
}

void put_u64(uint8_t *page, uint64_t off, uint64_t v) { std::memcpy(page + off, &v, 8); }

// @shadow: the VM is shadow-paged (kvmx shadow, or kvm_intel with ept=0):
// then also the PDPTs at a GPA without memory, which on EPT would be an
// EPT violation of its own.
void pdpte_case(bool kvmx_shadow, bool shadow)
{
	Fd dev = test::open_device();
	std::vector<PdpteStep> steps = pdpte_steps(shadow);
	std::vector<uint8_t> code;
	std::vector<uint64_t> mov_at, hlt_at;
	for (const PdpteStep &st : steps) {
		code.insert(code.end(), st.code.begin(), st.code.end());
		mov_at.push_back(TinyGuest::kCodeGpa + code.size() - 3);
		hlt_at.push_back(TinyGuest::kCodeGpa + code.size());
		code.push_back(0xf4);
	}
	ASSERT_TRUE(TinyGuest::kCodeGpa + code.size() < kGpHandler);
	TinyGuest g(dev, code, GuestMode::kProtected32, kvmx_shadow ? choose_shadow : nullptr);
	auto *page = g.ram.as<uint8_t>();
	// #GP: hlt; add esp,4; add dword [esp],3; iret.  Others: hlt; jmp $.
	const uint8_t gp[] = {0xf4, 0x83, 0xc4, 0x04, 0x83, 0x04, 0x24, 0x03, 0xcf};
	std::memcpy(page + kGpHandler - TinyGuest::kCodeGpa, gp, sizeof(gp));
	const uint8_t other[] = {0xf4, 0xeb, 0xfe};
	std::memcpy(page + kOtherHandler - TinyGuest::kCodeGpa, other, sizeof(other));
	for (uint64_t v = 0; v < 32; v++) {
		uint64_t h = v == 13 ? kGpHandler : kOtherHandler;
		put_u64(page, kIdt - TinyGuest::kCodeGpa + 8 * v,
			(h & 0xffff) | 0x08ULL << 16 | 0x8e00ULL << 32 | (h >> 16) << 48);
	}

	Mapping paging = Mapping::anonymous(0x2000);
	auto *pt = paging.as<uint8_t>();
	const uint64_t pd = kPdGpa | kP;
	put_u64(pt, kGood - kPdptPage, pd);
	put_u64(pt, kBad63 - kPdptPage, pd);
	put_u64(pt, kBad63 - kPdptPage + 16, pd | 1ULL << 63);
	put_u64(pt, kBad5 - kPdptPage, pd);
	put_u64(pt, kBad5 - kPdptPage + 24, pd | 0x20);
	put_u64(pt, kBad1 - kPdptPage, pd);
	put_u64(pt, kBad1 - kPdptPage + 8, pd | 0x2);
	put_u64(pt, kJunk - kPdptPage, pd);
	put_u64(pt, kJunk - kPdptPage + 8, ~kP);
	put_u64(pt, kJunk - kPdptPage + 16, 1ULL << 63 | 0x1e6);
	put_u64(pt, kBad8 - kPdptPage, pd | 0x100);
	put_u64(pt, kCr4Case - kPdptPage, pd);
	put_u64(pt, kPdGpa - kPdptPage, 0x0 | kP | kW | 0x80); // 2 MiB at 0
	g.add_slot(101, kPdptPage, paging);

	kvm_sregs s{};
	ioctl_or_throw(g.vcpu, KVM_GET_SREGS, "KVM_GET_SREGS", &s);
	s.cr3 = kGood;
	s.cr4 = kPae;
	s.cr0 = kPg | 0x11;
	s.idt.base = kIdt;
	s.idt.limit = 32 * 8 - 1;
	ioctl_or_throw(g.vcpu, KVM_SET_SREGS, "KVM_SET_SREGS", &s);

	// The step in every message: "what: field 0x..." compared as strings.
	auto said = [](const PdpteStep &st, const char *field, uint64_t v) {
		char buf[160];
		std::snprintf(buf, sizeof(buf), "%s: %s 0x%llx", st.what, field,
			      static_cast<unsigned long long>(v));
		return std::string(buf);
	};
	auto expect_crs = [&g, &said](const PdpteStep &st) {
		kvm_sregs now{};
		ioctl_or_throw(g.vcpu, KVM_GET_SREGS, "KVM_GET_SREGS", &now);
		const uint64_t cr0_bits = kPg | kCd | kWp | kTs | 0x1, cr4_bits = kPae | kPge | kPse | kOsfxsr;
		EXPECT_EQ(said(st, "cr0", now.cr0 & cr0_bits), said(st, "cr0", st.cr0 & cr0_bits));
		EXPECT_EQ(said(st, "cr3", now.cr3), said(st, "cr3", st.cr3));
		EXPECT_EQ(said(st, "cr4", now.cr4 & cr4_bits), said(st, "cr4", st.cr4));
	};
	for (size_t i = 0; i < steps.size(); i++) {
		const PdpteStep &st = steps[i];
		if (st.gp) {
			ASSERT_EQ(said(st, "exit", g.run_once()), said(st, "exit", KVM_EXIT_HLT));
			kvm_regs r = g.regs();
			ASSERT_EQ(said(st, "rip at the #GP", r.rip), said(st, "rip at the #GP", kGpHandler + 1));
			ASSERT_TRUE(r.rsp >= TinyGuest::kCodeGpa + 0x800 && r.rsp < 0x1ff0);
			uint32_t frame[2];
			std::memcpy(frame, page + r.rsp - TinyGuest::kCodeGpa, sizeof(frame));
			EXPECT_EQ(said(st, "error code", frame[0]), said(st, "error code", 0));
			EXPECT_EQ(said(st, "faulting EIP", frame[1]), said(st, "faulting EIP", mov_at[i]));
			expect_crs(st);
		}
		ASSERT_EQ(said(st, "exit", g.run_once()), said(st, "exit", KVM_EXIT_HLT));
		kvm_regs r = g.regs();
		ASSERT_EQ(said(st, "rip", r.rip), said(st, "rip", hlt_at[i] + 1));
		EXPECT_EQ(said(st, "rsp", r.rsp), said(st, "rsp", TinyGuest::kCodeGpa + 0xff0));
		expect_crs(st);
	}
}

// Whether kvm_intel runs without EPT (phase kvm-ept0) or kvmx.ko has ept=0.
bool host_shadow_paging()
{
	std::ifstream f(on_kvmx() ? "/sys/module/kvmx/parameters/ept"
				  : "/sys/module/kvm_intel/parameters/ept");
	std::string v;
	return (f >> v) && (v == "N" || v == "0");
}

} // namespace

// PAE PDPTEs with reserved bits: #GP on MOV to CR3, CR0, CR4, CRs unchanged,
// on the VM's default MMU (EPT: the CPU checks MOV to CR3 itself).
KVMX_TEST(pae_pdptes_checked_on_load)
{
	pdpte_case(false, host_shadow_paging());
}

// The same on a kvmx shadow VM (kvm_intel: its default MMU).
KVMX_TEST(pae_pdptes_checked_on_load_shadow)
{
	pdpte_case(on_kvmx(), on_kvmx() || host_shadow_paging());
}

namespace {

// The page table is shadowed (page 0 was used), then the guest touches its
// not-present page 1 and maps it in its #PF handler: with bypass the fault
// never exits to kvmx, without it once; the guest sees the same either way.
void guest_bypass()
{
	auto *v = reinterpret_cast<volatile uint32_t *>(kVa);
	auto *v2 = reinterpret_cast<volatile uint32_t *>(kVa + 4096);

	GUEST_SYNC(*v);
	GUEST_SYNC(*v2);
	GUEST_SYNC(faults);
	GUEST_SYNC(fault_cr2);
	GUEST_SYNC(fault_error);
	GUEST_DONE();
}

long set_bypass(const Fd &vm, uint64_t on, uint64_t arg1 = 0)
{
	kvm_enable_cap cap{};
	cap.cap = KVMX_CAP_BYPASS_GUEST_PF;
	cap.args[0] = on;
	cap.args[1] = arg1;
	return ioctl_result(vm, KVM_ENABLE_CAP, &cap);
}

// @choice: the VM's own bypass_guest_pf (KVMX_CAP_BYPASS_GUEST_PF, kvmx
// only), or -1 for the module parameter's.
void bypass_case(int choice = -1)
{
	Vm vm;
	if (choice >= 0 && on_kvmx())
		ASSERT_EQ(set_bypass(vm.fd(), choice), 0L);
	uint64_t ram = vm.alloc(2 * 4096);
	uint32_t values[2] = {0x11110000, 0x22220000};
	std::memcpy(vm.hva(ram), &values[0], 4);
	std::memcpy(vm.hva(ram + 4096), &values[1], 4);
	vm.map(kVa, ram, 2 * 4096);
	*vm.guest(const_cast<uint64_t *>(&demand_gpa)) = ram;
	vm.install_handler(14, demand_pf_handler);
	Vcpu &vcpu = vm.add_vcpu(guest_bypass);
	uint64_t table = vm.cr3();
	for (int level = 3; level >= 1; level--) {
		auto *e = reinterpret_cast<uint64_t *>(vm.hva(table & kAddrMask));
		table = e[(kVa >> (12 + 9 * level)) & 511] & kAddrMask;
	}
	reinterpret_cast<uint64_t *>(vm.hva(table))[1] = 0; // page 1 not present
	vcpu.expect_sync(values[0]);
	vcpu.expect_sync(values[1]);
	vcpu.expect_sync(1);
	vcpu.expect_sync(kVa + 4096);
	vcpu.expect_sync(0); // not present, read, supervisor
	vcpu.expect_done();
	if (!on_kvmx())
		return;
	EXPECT_EQ(set_bypass(vm.fd(), 0), -EBUSY);
	if (Vm::default_mmu() != KVMX_MMU_SHADOW)
		return;
	bool bypass = choice >= 0 ? choice : bypass_param();
	std::map<std::string, uint64_t> s = stats_of(vcpu);
	EXPECT_EQ(s["pf_guest"], bypass ? 0u : 1u);
}

} // namespace

// bypass_guest_pf (seed 003): the guest's own not-present faults.
KVMX_TEST(guest_fault_bypasses_kvmx)
{
	bypass_case();
}

KVMX_TEST(guest_fault_bypasses_kvmx_shadow)
{
	ShadowVms shadow;
	bypass_case();
}

// The same per VM, against the module parameter: off, then on.  /dev/kvm
// has no such capability (0, and KVM_ENABLE_CAP says -EINVAL).
KVMX_TEST(bypass_guest_pf_per_vm)
{
	Vm vm;
	long offered = vm.system().check_extension(KVMX_CAP_BYPASS_GUEST_PF);
	if (!on_kvmx()) {
		EXPECT_EQ(offered, 0L);
		EXPECT_EQ(set_bypass(vm.fd(), 0), -EINVAL);
	} else {
		EXPECT_EQ(offered, host_maxphyaddr() < 52 ? 1L : 0L);
		EXPECT_EQ(set_bypass(vm.fd(), 2), -EINVAL);
		EXPECT_EQ(set_bypass(vm.fd(), 0, 1), -EINVAL);
		if (!offered)
			SKIP("no free reserved physical-address bit");
	}
	ShadowVms shadow;
	bypass_case(!bypass_param());
	bypass_case(bypass_param());
}

namespace {

// Guest page-table writes with every instruction guests use for them, in
// 32-bit and PAE guests (the 4-level guest is below): each makes a
// not-present PTE present (read at once, no INVLPG: a not-present entry
// is never cached) or remaps a live one (then INVLPG), and the guest reads
// the page through it.  Shadow paging emulates each write and updates the
// shadow entry; the guest must see exactly what it sees on kvm_intel.
//
// Guest-physical layout (one memslot at 0x10000): 0x10000 the page
// directory (32-bit) or PDPT (PAE), 0x11000 the PAE page directory,
// 0x12000 the page table for 0x400000, 0x13000-0x1d000 data pages (each
// holds 0xa0000000 + its page number), 0x1f000 the results.
constexpr uint32_t kWrSlotGpa = 0x10000, kWrPt = 0x12000, kWrResults = 0x1f000;
constexpr uint32_t kWrVa = 0x400000;
constexpr uint32_t kPresentWA = 0x23; // P | W | A

uint32_t wr_page_value(uint32_t gpa) { return 0xa0000000u | (gpa >> 12); }

class Code32 {
public:
	std::vector<uint8_t> b;

	void imm32(uint32_t v)
	{
		for (int i = 0; i < 4; i++)
			b.push_back(static_cast<uint8_t>(v >> (8 * i)));
	}
	void op(std::initializer_list<uint8_t> x) { b.insert(b.end(), x); }
	// op with a [disp32] memory operand (ModRM mod 00, rm 101)
	void mem(std::initializer_list<uint8_t> x, uint8_t reg, uint32_t addr)
	{
		op(x);
		b.push_back(static_cast<uint8_t>((reg << 3) | 5));
		imm32(addr);
	}
	void mov_reg_imm(uint8_t reg, uint32_t v) { op({static_cast<uint8_t>(0xb8 + reg)}); imm32(v); }
	void load_eax(uint32_t addr) { op({0xa1}); imm32(addr); }
	void store_eax(uint32_t addr) { op({0xa3}); imm32(addr); }
	void invlpg(uint32_t addr) { mem({0x0f, 0x01}, 7, addr); }
	// Reads the page at @va into result slot @n.
	void read_page(uint32_t va, int n)
	{
		load_eax(va);
		store_eax(kWrResults + 4 * n);
	}
};

enum : uint8_t { kEax = 0, kEcx = 1, kEdx = 2, kEbx = 3 };

void pt_write_insns_32(bool pae)
{
	const uint32_t es = pae ? 8 : 4; // PTE size
	auto pte = [&](int i) { return kWrPt + es * i; };
	auto va = [](int i) { return kWrVa + 0x1000 * i; };
	auto page = [](int i) { return 0x12000u + 0x1000 * i; }; // PTE i -> page 0x12000 + i pages
	Code32 c;
	int n = 0;

	c.read_page(va(0), n++);				// the table gets its shadow
	// MOV: PTE 1 present (a 4-byte write into an 8-byte PAE entry).
	c.mem({0xc7}, 0, pte(1));
	c.imm32(page(1) | kPresentWA);
	c.read_page(va(1), n++);
	// XCHG: PTE 2; the old entry (0) comes back.
	c.mov_reg_imm(kEax, page(2) | kPresentWA);
	c.mem({0x87}, kEax, pte(2));
	c.store_eax(kWrResults + 4 * n++);
	c.read_page(va(2), n++);
	// LOCK CMPXCHG: PTE 3, expected 0.
	c.op({0x31, 0xc0});					// xor eax, eax
	c.mov_reg_imm(kEcx, page(3) | kPresentWA);
	c.mem({0xf0, 0x0f, 0xb1}, kEcx, pte(3));
	c.read_page(va(3), n++);
	// LOCK CMPXCHG8B: PTE 4 (PAE), PTEs 4 and 5 at once (32-bit: misaligned).
	c.op({0x31, 0xc0, 0x31, 0xd2});				// xor eax, eax; xor edx, edx
	c.mov_reg_imm(kEbx, page(4) | kPresentWA);
	c.mov_reg_imm(kEcx, pae ? 0 : page(5) | kPresentWA);
	c.mem({0xf0, 0x0f, 0xc7}, 1, pte(4));
	c.read_page(va(4), n++);
	if (pae) {
		c.mem({0xc7}, 0, pte(5));
		c.imm32(page(5) | kPresentWA);
	}
	c.read_page(va(5), n++);
	// LOCK OR, LOCK BTS: PTEs 6 and 7 hold W|A and the frame, P clear.
	c.mem({0xf0, 0x83}, 1, pte(6));
	c.op({0x01});
	c.read_page(va(6), n++);
	c.mem({0xf0, 0x0f, 0xba}, 5, pte(7));
	c.op({0x00});
	c.read_page(va(7), n++);
	// LOCK AND, LOCK BTR on live PTEs 8 and 9: frame bit 12 cleared.
	c.read_page(va(8), n++);
	c.read_page(va(9), n++);
	c.mem({0xf0, 0x81}, 4, pte(8));
	c.imm32(~0x1000u);
	c.invlpg(va(8));
	c.read_page(va(8), n++);
	c.mem({0xf0, 0x0f, 0xba}, 6, pte(9));
	c.op({12});
	c.invlpg(va(9));
	c.read_page(va(9), n++);
	c.op({0xf4});						// hlt

	Fd dev = test::open_device();
	TinyGuest g(dev, c.b, GuestMode::kProtected32, on_kvmx() ? choose_shadow : nullptr);
	Mapping slot = Mapping::anonymous(0x10000);
	auto *mem = slot.as<uint8_t>();
	auto put = [mem](uint32_t gpa, uint64_t v, unsigned int len) {
		std::memcpy(mem + gpa - kWrSlotGpa, &v, len);
	};
	for (uint32_t gpa = 0x13000; gpa < 0x1e000; gpa += 0x1000)
		put(gpa, wr_page_value(gpa), 4);
	if (pae) {
		put(kWrSlotGpa, 0x11000 | kP, 8);			// PDPTE 0 -> PD
		put(0x11000, 0x0 | kP | kW | 0x80, 8);			// 2 MiB identity
		put(0x11000 + 2 * 8, kWrPt | kP | kW, 8);		// 0x400000 -> PT
	} else {
		put(kWrSlotGpa, 0x0 | kP | kW | 0x80, 4);		// 4 MiB identity
		put(kWrSlotGpa + 4, kWrPt | kP | kW, 4);		// 0x400000 -> PT
	}
	put(pte(0), page(1) | kPresentWA, es);			// PTE 0 -> 0x13000
	put(pte(6), page(6) | kW | kA, es);
	put(pte(7), page(7) | kW | kA, es);
	put(pte(8), 0x1b000 | kPresentWA, es);			// then 0x1a000
	put(pte(9), 0x1d000 | kPresentWA, es);			// then 0x1c000
	g.add_slot(101, kWrSlotGpa, slot);

	kvm_sregs s{};
	ioctl_or_throw(g.vcpu, KVM_GET_SREGS, "KVM_GET_SREGS", &s);
	s.cr3 = kWrSlotGpa;
	s.cr4 = pae ? 0x20 : 0x10; // PAE, or PSE
	s.cr0 = 0x80010011;	   // PG, WP, PE, ET
	ioctl_or_throw(g.vcpu, KVM_SET_SREGS, "KVM_SET_SREGS", &s);

	ASSERT_EQ(exit_reason_name(g.run_once()), exit_reason_name(KVM_EXIT_HLT));
	std::vector<uint32_t> want = {
		wr_page_value(page(1)), wr_page_value(page(1)), 0, wr_page_value(page(2)),
		wr_page_value(page(3)), wr_page_value(page(4)), wr_page_value(page(5)),
		wr_page_value(page(6)), wr_page_value(page(7)),
		wr_page_value(0x1b000), wr_page_value(0x1d000),
		wr_page_value(0x1a000), wr_page_value(0x1c000),
	};
	ASSERT_EQ(static_cast<size_t>(n), want.size());
	for (int i = 0; i < n; i++) {
		uint32_t got;
		std::memcpy(&got, mem + kWrResults - kWrSlotGpa + 4 * i, 4);
		EXPECT_EQ(i * 0x100000000ULL + got, i * 0x100000000ULL + want[i]); // result i
	}
	// The tables as the guest left them (A set by its reads).
	for (int i = 1; i <= 9; i++) {
		uint64_t e = 0;
		std::memcpy(&e, mem + pte(i) - kWrSlotGpa, es);
		uint64_t frame = i == 9 ? 0x1c000 : page(i);
		EXPECT_EQ(uint64_t(i) << 56 | (e & ~0x40ULL), uint64_t(i) << 56 | frame | kPresentWA);
	}
	if (!on_kvmx())
		return;
	std::map<std::string, uint64_t> st = StatsReader::of(g.vcpu).values();
	// Every write exits to kvmx and is emulated (nothing unprotects the table).
	EXPECT_EQ(st["insn_emulation_fail"], 0u);
	EXPECT_TRUE(st["pf_pt_write"] >= 8u);
}

} // namespace

// Page-table writes by MOV, XCHG, LOCK CMPXCHG, CMPXCHG8B, LOCK OR/BTS
// (making PTEs present) and LOCK AND/BTR (remapping live ones).
KVMX_TEST(pae_guest_pte_write_instructions)
{
	pt_write_insns_32(true);
}

KVMX_TEST(paging32_guest_pte_write_instructions)
{
	pt_write_insns_32(false);
}

namespace {

// The same in a 4-level guest, and CMPXCHG16B: the guest writes its own
// live page table for kVa (pages 1-7 not present, 8 and 9 present), and
// reads each page through the new entry.  Page k of the backing RAM holds
// 0xb0000000 + k; its frame's bit 12 is k's bit 0 (64 KiB aligned).
constexpr int kWrPages = 14;
volatile uint64_t wr_ram;

uint32_t rd_page(int i)
{
	return *reinterpret_cast<volatile uint32_t *>(kVa + 4096 * i);
}

uint64_t wr_pte(int page) { return (wr_ram + 4096 * page) | kP | kW | kA; }

bool guest_has_cx16()
{
	unsigned int a, b, c, d;
	__cpuid(1, a, b, c, d);
	return c & bit_CMPXCHG16B;
}

void guest_pte_writes64()
{
	volatile uint64_t *pt = guest_pte(kVa);

	GUEST_SYNC(rd_page(0)); // the table gets its shadow
	// MOV, twice by the same code (the second touches no new code or data
	// page): the host reads the statistics around the second.
	for (int i = 0; i < 2; i++) {
		GUEST_SYNC(i);
		pt[20 + i] = wr_pte(i);
		GUEST_SYNC(rd_page(20 + i));
	}
	pt[1] = wr_pte(1);
	GUEST_SYNC(rd_page(1));
	uint64_t v = wr_pte(2);
	asm volatile("xchgq %0, %1" : "+r"(v), "+m"(pt[2]) : : "memory");
	GUEST_SYNC(v);
	GUEST_SYNC(rd_page(2));
	GUEST_SYNC(__sync_val_compare_and_swap(&pt[3], 0, wr_pte(3))); // LOCK CMPXCHG
	GUEST_SYNC(rd_page(3));
	uint32_t lo = 0, hi = 0;
	uint64_t nv = wr_pte(4);
	asm volatile("lock cmpxchg8b %0"
		     : "+m"(pt[4]), "+a"(lo), "+d"(hi)
		     : "b"(static_cast<uint32_t>(nv)), "c"(static_cast<uint32_t>(nv >> 32))
		     : "memory", "cc");
	GUEST_SYNC(rd_page(4));
	if (guest_has_cx16()) {
		// PTEs 5 and 6 in one write (two entries: KVM zaps the table).
		uint64_t olo = 0, ohi = 0;
		asm volatile("lock cmpxchg16b %0"
			     : "+m"(*reinterpret_cast<volatile __int128 *>(&pt[6])), "+a"(olo),
			       "+d"(ohi)
			     : "b"(wr_pte(6)), "c"(wr_pte(7))
			     : "memory", "cc");
	} else {
		pt[6] = wr_pte(6);
		pt[7] = wr_pte(7);
	}
	GUEST_SYNC(rd_page(6));
	GUEST_SYNC(rd_page(7));
	asm volatile("lock orq %1, %0" : "+m"(pt[5]) : "er"(kP) : "memory"); // W|A were set
	GUEST_SYNC(rd_page(5));
	GUEST_SYNC(rd_page(8));
	GUEST_SYNC(rd_page(9));
	asm volatile("lock andq %1, %0" : "+m"(pt[8]) : "er"(~0x1000ULL) : "memory");
	asm volatile("invlpg (%0)" : : "r"(kVa + 8 * 4096) : "memory");
	GUEST_SYNC(rd_page(8));
	asm volatile("lock btrq $12, %0" : "+m"(pt[9]) : : "memory");
	asm volatile("invlpg (%0)" : : "r"(kVa + 9 * 4096) : "memory");
	GUEST_SYNC(rd_page(9));
	asm volatile("lock btsq $0, %0" : "+m"(pt[10]) : : "memory"); // W|A were set
	GUEST_SYNC(rd_page(10));
	GUEST_DONE();
}

void pte_writes64_case()
{
	Vm vm;
	uint64_t ram = vm.alloc(kWrPages * 4096, 0x10000);
	for (int k = 0; k < kWrPages; k++) {
		uint32_t v = 0xb0000000u + k;
		std::memcpy(vm.hva(ram + 4096 * k), &v, 4);
	}
	vm.map(kVa, ram, kWrPages * 4096);
	*vm.guest(const_cast<uint64_t *>(&wr_ram)) = ram;
	Vcpu &vcpu = vm.add_vcpu(guest_pte_writes64);
	uint64_t table = vm.cr3();
	for (int level = 3; level >= 1; level--) {
		auto *e = reinterpret_cast<uint64_t *>(vm.hva(table & kAddrMask));
		table = e[(kVa >> (12 + 9 * level)) & 511] & kAddrMask;
	}
	auto *pte = reinterpret_cast<uint64_t *>(vm.hva(table));
	for (int i = 1; i <= 7; i++)
		pte[i] = 0;
	pte[5] = (ram + 4096 * 5) | kW | kA;
	pte[8] = (ram + 4096 * 11) | kP | kW | kA;	// then page 10
	pte[9] = (ram + 4096 * 13) | kP | kW | kA;	// then page 12
	pte[10] = (ram + 4096 * 10) | kW | kA;

	auto val = [](int k) { return uint64_t{0xb0000000u} + k; };
	vcpu.expect_sync(val(0));
	vcpu.expect_sync(0);
	vcpu.expect_sync(val(0));
	vcpu.expect_sync(1);
	std::map<std::string, uint64_t> before = stats_of(vcpu);
	vcpu.expect_sync(val(1));
	std::map<std::string, uint64_t> after = stats_of(vcpu);
	vcpu.expect_sync(val(1));
	vcpu.expect_sync(0); // XCHG's old entry
	vcpu.expect_sync(val(2));
	vcpu.expect_sync(0); // CMPXCHG's old entry
	vcpu.expect_sync(val(3));
	vcpu.expect_sync(val(4));
	vcpu.expect_sync(val(6));
	vcpu.expect_sync(val(7));
	vcpu.expect_sync(val(5));
	vcpu.expect_sync(val(11));
	vcpu.expect_sync(val(13));
	vcpu.expect_sync(val(10));
	vcpu.expect_sync(val(12));
	vcpu.expect_sync(val(10));
	vcpu.expect_done();
	EXPECT_EQ(pte[8] & kAddrMask, ram + 4096 * 10);
	EXPECT_EQ(pte[9] & kAddrMask, ram + 4096 * 12);
	if (!on_kvmx())
		return;
	std::map<std::string, uint64_t> s = stats_of(vcpu);
	EXPECT_EQ(s["insn_emulation_fail"], 0u);
	if (Vm::default_mmu() != KVMX_MMU_SHADOW)
		return;
	// The MOV exited once, was emulated, and made the leaf: the guest's
	// read through it did not fault.
	EXPECT_EQ(after["pf_pt_write"] - before["pf_pt_write"], 1u);
	EXPECT_EQ(after["pf_fixed"] - before["pf_fixed"], 0u);
	EXPECT_EQ(after["pf_guest"] - before["pf_guest"], 0u);
	EXPECT_TRUE(s["pf_pt_write"] >= 9u);
}

// A page table the guest reuses as data: after a few emulated writes
// (write flooding) kvmx stops shadowing it and the writes run natively.
void guest_table_reused()
{
	volatile uint64_t *pt = guest_pte(kVa);
	uint64_t sum = 0;

	GUEST_SYNC(rd_page(0)); // the table gets its shadow
	GUEST_SYNC(0);		// the host reads the statistics
	for (int i = 0; i < 64; i++)
		pt[200 + i] = 0x10000ULL * i + 0x1000;	// P clear: data, not entries
	for (int i = 0; i < 64; i++)
		sum += pt[200 + i];
	GUEST_SYNC(sum);
	GUEST_SYNC(rd_page(0)); // the table still works, shadowed again or not
	GUEST_DONE();
}

void table_reused_case()
{
	Vm vm;
	uint64_t ram = vm.alloc(4096);
	uint32_t v = 0x5a5a0000;
	std::memcpy(vm.hva(ram), &v, 4);
	vm.map(kVa, ram, 4096);
	Vcpu &vcpu = vm.add_vcpu(guest_table_reused);
	vcpu.expect_sync(v);
	vcpu.expect_sync(0);
	std::map<std::string, uint64_t> before = stats_of(vcpu);
	uint64_t sum = 0;
	for (int i = 0; i < 64; i++)
		sum += 0x10000ULL * i + 0x1000;
	vcpu.expect_sync(sum);
	std::map<std::string, uint64_t> after = stats_of(vcpu);
	vcpu.expect_sync(v);
	vcpu.expect_done();
	if (!on_kvmx() || Vm::default_mmu() != KVMX_MMU_SHADOW)
		return;
	// Two emulated writes (the second zaps the page), then native ones.
	EXPECT_EQ(after["pf_pt_write"] - before["pf_pt_write"], 2u);
	EXPECT_TRUE(after["shadow_zapped"] - before["shadow_zapped"] >= 1u);
	EXPECT_TRUE(after["exits"] - before["exits"] <= 8u); // for 64 writes
}

} // namespace

// MOV, XCHG, LOCK CMPXCHG, CMPXCHG8B, CMPXCHG16B, LOCK OR/AND/BTS/BTR on
// a 4-level guest's live page table.
KVMX_TEST(pte_write_instructions)
{
	pte_writes64_case();
}

KVMX_TEST(pte_write_instructions_shadow)
{
	ShadowVms shadow;
	pte_writes64_case();
}

KVMX_TEST(page_table_reused_as_data)
{
	table_reused_case();
}

KVMX_TEST(page_table_reused_as_data_shadow)
{
	ShadowVms shadow;
	table_reused_case();
}

namespace {

// KVM_SET_NR_MMU_PAGES is a limit on shadow pages: a guest that uses more
// page tables than it allows runs on, its old shadow pages recycled.
constexpr int kLimitTables = 200; // guest page tables, one per 2 MiB
constexpr unsigned long kLimit = 64;

void guest_many_tables()
{
	uint64_t sum = 0;

	for (int pass = 0; pass < 3; pass++)
		for (int i = 0; i < kLimitTables; i++)
			sum += *reinterpret_cast<volatile uint64_t *>(kVa + i * 2 * MiB);
	GUEST_SYNC(sum);
	GUEST_DONE();
}

void page_limit_case()
{
	Vm vm;
	ASSERT_EQ(ioctl_result(vm.fd(), KVM_SET_NR_MMU_PAGES, kLimit), 0L);
	uint64_t ram = vm.alloc(kLimitTables * 4096);
	uint64_t expect = 0;
	for (int i = 0; i < kLimitTables; i++) {
		uint64_t value = 0x1000 + i;
		std::memcpy(vm.hva(ram + i * 4096), &value, sizeof(value));
		vm.map(kVa + i * 2 * MiB, ram + i * 4096, 4096);
		expect += 3 * value;
	}
	Vcpu &vcpu = vm.add_vcpu(guest_many_tables);
	vcpu.expect_sync(expect);
	vcpu.expect_done();
	std::map<std::string, uint64_t> v = StatsReader::of(vm.fd()).values();
	bool shadow = on_kvmx() ? v["shadow_pages"] > 0
				: read_file("/sys/module/kvm_intel/parameters/ept") == "N\n";
	if (!shadow) {
		// KVM's TDP MMU and kvmx's EPT do not count their pages.
		EXPECT_EQ(v["mmu_recycled"], 0u);
		return;
	}
	// Over 200 shadow pages needed, at most 64 (+ one fault's) alive.
	EXPECT_TRUE(v["mmu_recycled"] >= kLimitTables - kLimit);
	if (on_kvmx())
		EXPECT_TRUE(v["shadow_pages"] <= kLimit + 4);
}

} // namespace

KVMX_TEST(shadow_page_limit)
{
	page_limit_case();
}

KVMX_TEST(shadow_page_limit_shadow)
{
	ShadowVms shadow;
	page_limit_case();
}
