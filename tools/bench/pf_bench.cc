// SPDX-License-Identifier: GPL-2.0
// Guest-handled not-present page faults (issue 11, benchmark 1): a 64-bit
// guest whose #PF handler maps the faulting page (writes the PTE, no
// INVLPG, returns) touches fresh pages, and measures with rdtsc in the
// guest the cycles per fault; the vCPU's binary statistics, read before
// and after, give the exits (and #PF exits) per fault.  Built on the
// selftests' library (its main); configured through the environment:
//
//   KVMX_BENCH_CONFIG=name   the configuration in the output (required)
//   KVMX_BENCH_MMU=ept|shadow  kvmx only: KVMX_CAP_MMU for the VM (default:
//                            what the module gives it)
//   KVMX_BENCH_TABLES=N      guest page tables of 511 fresh pages each (default 4)
//   KVMX_BENCH_PTE_A=1       guest_pf: the handler's PTE has A set too, as a
//                            kernel's does (Linux's page protections carry
//                            _PAGE_ACCESSED); default P|W only
//   KVMX_BENCH_DELIVER=1     guest_pf: the handler maps nothing, it steps over
//                            the faulting load (as a kernel's exception-table
//                            fixup does): the cost of delivering the fault
//                            alone, without the page-table write that follows
//                            it when the guest maps on fault
//
//   pf_bench --device /dev/kvmx --run guest_pf
//   -> bench-pf config=kvmx-shadow faults=2044 cycles=1234 exits=2.00 exits_exception_nmi=0.00 ...
//   pf_bench --device /dev/kvmx --run cr3_switch
//   -> bench-cr3 config=kvmx-shadow switches=2000 cycles=901 exits=1.00
//
// Before the timed loop the guest reads page 0 of every table through the
// fresh mapping (so each guest table already has its shadow or its walk
// is cached) and every backing page through the identity map (so on EPT
// no fresh page costs an EPT violation): what is left is the fault itself,
// the handler, its PTE write and the retry.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <linux/kvmx.h>
#include <map>
#include <string>
#include <x86intrin.h>

#include "lib/kvm_abi.h"
#include "lib/stats.h"
#include "lib/sys.h"
#include "lib/test.h"
#include "lib/vm.h"

using namespace kvmx;

namespace {

constexpr uint64_t kVa = 512 * GiB; // PML4 slot 1: 4 KiB pages of its own
constexpr uint64_t kAddrMask = 0x000ffffffffff000ULL;
constexpr uint64_t kP = 1, kW = 2, kA = 0x20;
constexpr uint64_t kTableSpan = 2 * MiB;

volatile uint64_t backing_gpa, handled, pte_bits = kP | kW, deliver_only;
// The guest-physical (= identity-mapped) address of each page table: the
// handler finds the PTE without reading CR3, which exits on a shadow VM
// (and on kvm_intel ept=0) and no fault path of a real kernel needs.
volatile uint64_t table_gpa[64];

// The timed access: "mov (%rdi), %eax", two bytes, which the
// fault-delivery handler steps over.
inline void touch(uint64_t va)
{
	uint32_t v;

	asm volatile("mov (%1), %0" : "=a"(v) : "D"(va) : "memory");
}

void pf_handler(ExFrame *frame)
{
	uint64_t cr2;

	if (deliver_only) {
		frame->rip += 2;
		handled = handled + 1;
		return;
	}
	asm volatile("mov %%cr2, %0" : "=r"(cr2));
	auto *pte = reinterpret_cast<volatile uint64_t *>(table_gpa[(cr2 - kVa) / kTableSpan]);
	pte[(cr2 >> 12) & 511] = (backing_gpa + ((cr2 - kVa) & ~0xfffULL)) | pte_bits;
	handled = handled + 1;
}

void guest_faults(uint64_t tables)
{
	for (uint64_t t = 0; t < tables; t++) {
		(void)*reinterpret_cast<volatile uint32_t *>(kVa + t * kTableSpan);
		for (uint64_t p = 0; p < 512; p++)
			(void)*reinterpret_cast<volatile uint32_t *>(backing_gpa + t * kTableSpan +
								    p * 4096);
	}
	GUEST_SYNC(0);
	uint64_t start = __rdtsc();
	for (uint64_t t = 0; t < tables; t++)
		for (uint64_t p = 1; p < 512; p++)
			touch(kVa + t * kTableSpan + p * 4096);
	uint64_t cycles = __rdtsc() - start;
	GUEST_SYNC(cycles);
	GUEST_SYNC(handled);
	GUEST_DONE();
}

uint64_t env_number(const char *name, uint64_t dflt)
{
	const char *v = std::getenv(name);
	return v && *v ? std::strtoull(v, nullptr, 0) : dflt;
}

// The environment's configuration: the VMs' MMU chosen, the name for the
// output returned (nullptr when KVMX_BENCH_CONFIG is missing).
const char *configure()
{
	const char *config = std::getenv("KVMX_BENCH_CONFIG");
	const char *mmu = std::getenv("KVMX_BENCH_MMU");

	if (mmu && std::strcmp(mmu, "shadow") == 0)
		Vm::set_default_mmu(KVMX_MMU_SHADOW);
	else if (mmu && std::strcmp(mmu, "ept") == 0)
		Vm::set_default_mmu(KVMX_MMU_EPT);
	return config && *config ? config : nullptr;
}

} // namespace

KVMX_TEST(guest_pf)
{
	const char *config = configure();
	ASSERT_TRUE(config);
	const uint64_t tables = env_number("KVMX_BENCH_TABLES", 4);
	ASSERT_TRUE(tables >= 1 && tables <= 64);

	Vm vm(Vm::full, tables * kTableSpan + 4 * MiB);
	uint64_t ram = vm.alloc(tables * kTableSpan, kTableSpan);
	vm.map(kVa, ram, tables * kTableSpan);
	*vm.guest(const_cast<uint64_t *>(&backing_gpa)) = ram;
	if (env_number("KVMX_BENCH_PTE_A", 0))
		*vm.guest(const_cast<uint64_t *>(&pte_bits)) = kP | kW | kA;
	*vm.guest(const_cast<uint64_t *>(&deliver_only)) = env_number("KVMX_BENCH_DELIVER", 0);
	vm.install_handler(14, pf_handler);
	Vcpu &vcpu = vm.add_vcpu(guest_faults);
	vcpu.set_args({tables});
	// Every PTE but page 0's of each table not present; the tables stay.
	for (uint64_t t = 0; t < tables; t++) {
		uint64_t table = vm.cr3();
		uint64_t va = kVa + t * kTableSpan;
		for (int level = 3; level >= 1; level--) {
			auto *e = reinterpret_cast<uint64_t *>(vm.hva(table & kAddrMask));
			table = e[(va >> (12 + 9 * level)) & 511] & kAddrMask;
		}
		vm.guest(const_cast<uint64_t *>(table_gpa))[t] = table;
		auto *pte = reinterpret_cast<uint64_t *>(vm.hva(table));
		for (int i = 1; i < 512; i++)
			pte[i] = 0;
	}

	vcpu.expect_sync(0);
	StatsReader reader = StatsReader::of(vcpu.fd());
	std::map<std::string, uint64_t> before = reader.values();
	Ucall uc = vcpu.run_until_ucall();
	ASSERT_EQ(uc.cmd, static_cast<uint64_t>(UCALL_SYNC));
	uint64_t cycles = uc.args[0];
	std::map<std::string, uint64_t> after = reader.values();
	const uint64_t faults = tables * 511;
	vcpu.expect_sync(faults);
	vcpu.expect_done();

	// Per fault, for every counter this device has (kvmx: exits,
	// exits_exception_nmi = #PF exits, pf_guest, pf_fixed, pf_pt_write;
	// KVM: exits, pf_taken, pf_guest, pf_fixed, pf_emulate, pf_spurious).
	// The second GUEST_SYNC's own exit is not a fault's.
	std::string line = "bench-pf config=" + std::string(config) +
			   " faults=" + std::to_string(faults) +
			   " cycles=" + std::to_string(cycles / faults);
	for (const char *name : {"exits", "exits_exception_nmi", "pf_taken", "pf_guest",
				 "pf_fixed", "pf_pt_write", "pf_emulate", "pf_spurious",
				 "shadow_zapped"}) {
		if (!after.count(name))
			continue;
		uint64_t d = after[name] - before[name] - (std::string(name) == "exits");
		char buf[64];
		std::snprintf(buf, sizeof(buf), " %s=%.2f", name, double(d) / double(faults));
		line += buf;
	}
	std::printf("%s\n", line.c_str());
	// Every counter that moved, for the curious (a TAP comment).
	std::string moved = "# counters per fault:";
	for (const auto &[name, value] : after) {
		if (value == before[name])
			continue;
		char buf[96];
		std::snprintf(buf, sizeof(buf), " %s=%.2f", name.c_str(),
			      double(value - before[name]) / double(faults));
		moved += buf;
	}
	std::printf("%s\n", moved.c_str());
	std::fflush(stdout);
}

namespace {

volatile uint64_t cr3_a, cr3_b, cr3_data;

// Switches between two address spaces (two PML4s sharing the tables
// below) and reads a word in each, @iters times each way.
void guest_cr3_switch(uint64_t iters)
{
	const uint64_t a = cr3_a, b = cr3_b;
	auto *data = reinterpret_cast<volatile uint64_t *>(&cr3_data);

	for (int warm = 0; warm < 2; warm++) {
		asm volatile("mov %0, %%cr3" : : "r"(b) : "memory");
		(void)*data;
		asm volatile("mov %0, %%cr3" : : "r"(a) : "memory");
		(void)*data;
	}
	GUEST_SYNC(0);
	uint64_t start = __rdtsc();
	for (uint64_t i = 0; i < iters; i++) {
		asm volatile("mov %0, %%cr3" : : "r"(b) : "memory");
		(void)*data;
		asm volatile("mov %0, %%cr3" : : "r"(a) : "memory");
		(void)*data;
	}
	uint64_t cycles = __rdtsc() - start;
	GUEST_SYNC(cycles);
	GUEST_DONE();
}

} // namespace

// Benchmark 3 of issue 11, its first half: cycles per MOV to CR3 between
// two address spaces that both have their tables (shadows) already.
KVMX_TEST(cr3_switch)
{
	const char *config = configure();
	ASSERT_TRUE(config);
	const uint64_t iters = 1000;

	Vm vm;
	uint64_t second = vm.alloc(4096);
	std::memcpy(vm.hva(second), vm.hva(vm.cr3()), 4096);
	*vm.guest(const_cast<uint64_t *>(&cr3_a)) = vm.cr3();
	*vm.guest(const_cast<uint64_t *>(&cr3_b)) = second;
	Vcpu &vcpu = vm.add_vcpu(guest_cr3_switch);
	vcpu.set_args({iters});
	vcpu.expect_sync(0);
	StatsReader reader = StatsReader::of(vcpu.fd());
	std::map<std::string, uint64_t> before = reader.values();
	Ucall uc = vcpu.run_until_ucall();
	ASSERT_EQ(uc.cmd, static_cast<uint64_t>(UCALL_SYNC));
	std::map<std::string, uint64_t> after = reader.values();
	vcpu.expect_done();
	const uint64_t switches = 2 * iters;
	std::printf("bench-cr3 config=%s switches=%llu cycles=%llu exits=%.2f\n", config,
		    static_cast<unsigned long long>(switches),
		    static_cast<unsigned long long>(uc.args[0] / switches),
		    double(after["exits"] - before["exits"] - 1) / double(switches));
	std::fflush(stdout);
}

namespace {

volatile uint64_t as_pages[4], as_data, as_iters;

// Builds an address space (PML4 with the identity map's entry, PDPT, PD,
// PT mapping 16 pages at 512 GiB), switches to it, touches the 16 pages,
// switches back and tears it down (zeroes what it wrote); the same four
// table pages every time, as a process's fork, run and exit would reuse
// freed memory.
void guest_address_space(uint64_t iters)
{
	auto pt = [](int i) { return reinterpret_cast<volatile uint64_t *>(as_pages[i]); };
	uint64_t home;

	asm volatile("mov %%cr3, %0" : "=r"(home));
	const uint64_t identity = reinterpret_cast<volatile uint64_t *>(home)[0];
	uint64_t cycles = 0;
	for (uint64_t i = 0; i <= iters; i++) {
		uint64_t start = __rdtsc();
		pt(0)[0] = identity;
		pt(0)[1] = as_pages[1] | kP | kW;
		pt(1)[0] = as_pages[2] | kP | kW;
		pt(2)[0] = as_pages[3] | kP | kW;
		for (int p = 0; p < 16; p++)
			pt(3)[p] = (as_data + p * 4096) | kP | kW;
		asm volatile("mov %0, %%cr3" : : "r"(as_pages[0]) : "memory");
		for (int p = 0; p < 16; p++)
			(void)*reinterpret_cast<volatile uint32_t *>(kVa + p * 4096);
		asm volatile("mov %0, %%cr3" : : "r"(home) : "memory");
		for (int p = 0; p < 16; p++)
			pt(3)[p] = 0;
		pt(2)[0] = 0;
		pt(1)[0] = 0;
		pt(0)[1] = 0;
		pt(0)[0] = 0;
		if (i) // the first round warms up
			cycles += __rdtsc() - start;
	}
	GUEST_SYNC(cycles);
	GUEST_DONE();
}

} // namespace

// Benchmark 3 of issue 11, its second half: a guest that builds, uses and
// tears down an address space (page-table writes), cycles per round.
KVMX_TEST(address_space)
{
	const char *config = configure();
	ASSERT_TRUE(config);
	const uint64_t iters = 200;

	Vm vm;
	for (int i = 0; i < 4; i++)
		vm.guest(const_cast<uint64_t *>(as_pages))[i] = vm.alloc(4096);
	*vm.guest(const_cast<uint64_t *>(&as_data)) = vm.alloc(16 * 4096);
	Vcpu &vcpu = vm.add_vcpu(guest_address_space);
	vcpu.set_args({iters});
	StatsReader reader = StatsReader::of(vcpu.fd());
	std::map<std::string, uint64_t> before = reader.values();
	Ucall uc = vcpu.run_until_ucall();
	ASSERT_EQ(uc.cmd, static_cast<uint64_t>(UCALL_SYNC));
	std::map<std::string, uint64_t> after = reader.values();
	vcpu.expect_done();
	// Exits per round include the warm-up round's and the sync's: a mean.
	std::printf("bench-as config=%s rounds=%llu cycles=%llu exits=%.2f\n", config,
		    static_cast<unsigned long long>(iters),
		    static_cast<unsigned long long>(uc.args[0] / iters),
		    double(after["exits"] - before["exits"]) / double(iters + 1));
	std::fflush(stdout);
}
