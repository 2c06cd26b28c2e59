// SPDX-License-Identifier: GPL-2.0
// A guest that remaps its own virtual pages between MMIO and RAM, and one
// that builds and edits an address space of its own (like fork): the
// cases seed 002 names for shadow paging (INVLPG, a CR3 switch, two
// address spaces mapping one virtual page differently), which every MMU
// must get right.  Nothing stale may survive a remap: no MMIO exit for a
// page that is RAM now, no RAM access for a page that is MMIO now, on
// either device.  (kvmx's instruction cache and MMIO fast path keep state
// per page; these guests change the translation under both.)
#include <cstring>
#include <linux/kvmx.h>

#include "lib/sys.h"
#include "lib/test.h"
#include "lib/vm.h"

using namespace kvmx;

namespace {

// PML4 slot 1: its own tables, apart from the identity map of [0, 4 GiB).
constexpr uint64_t kVa = 512 * GiB;
constexpr uint64_t kMmioGpa = 3 * GiB + 0x5000; // no memslot: MMIO
constexpr uint64_t kPresentWritable = 0x3;
constexpr uint64_t kAddrMask = 0x000ffffffffff000ULL;
constexpr uint32_t kRamValue = 0xabcd1234;

void guest_invlpg(uint64_t va)
{
	asm volatile("invlpg (%0)" : : "r"(va) : "memory");
}

void guest_write_cr3(uint64_t cr3)
{
	asm volatile("mov %0, %%cr3" : : "r"(cr3) : "memory");
}

// The guest's own 4 KiB PTE of @va, found by walking its tables (they lie
// in the identity-mapped low 4 GiB).
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

void guest_remap_with_invlpg(uint64_t ram_gpa)
{
	volatile uint64_t *pte = guest_pte(kVa);
	auto *v = reinterpret_cast<volatile uint32_t *>(kVa);

	*v = 0x11; // MMIO
	*v = 0x12; // MMIO again: the cached path
	*pte = ram_gpa | kPresentWritable;
	guest_invlpg(kVa);
	GUEST_SYNC(*v); // RAM now: no MMIO exit
	*v = 0x13;
	*pte = kMmioGpa | kPresentWritable;
	guest_invlpg(kVa);
	*v = 0x14; // MMIO again, not RAM
	*pte = ram_gpa | kPresentWritable;
	guest_invlpg(kVa);
	GUEST_SYNC(*v); // the RAM write of 0x13 stands, 0x14 did not land
	GUEST_DONE();
}

void guest_switch_cr3(uint64_t cr3_a, uint64_t cr3_b)
{
	auto *v = reinterpret_cast<volatile uint32_t *>(kVa);

	*v = 0x21; // A maps kVa to MMIO
	*v = 0x22;
	guest_write_cr3(cr3_b);
	GUEST_SYNC(*v); // B maps it to RAM
	*v = 0x23;
	guest_write_cr3(cr3_a);
	*v = 0x24; // MMIO under A again
	guest_write_cr3(cr3_b);
	GUEST_SYNC(*v);
	guest_write_cr3(cr3_a);
	GUEST_DONE();
}

void expect_mmio_write(Vcpu &vcpu, uint32_t value)
{
	ASSERT_EQ(exit_reason_name(vcpu.run()), exit_reason_name(KVM_EXIT_MMIO));
	const struct kvm_run &r = vcpu.run_area();
	EXPECT_EQ(r.mmio.phys_addr, kMmioGpa);
	EXPECT_EQ(r.mmio.len, 4u);
	EXPECT_EQ(r.mmio.is_write, 1);
	uint32_t got = 0;
	std::memcpy(&got, r.mmio.data, sizeof(got));
	EXPECT_EQ(got, value);
}

uint64_t ram_page(Vm &vm)
{
	uint64_t gpa = vm.alloc(4096);
	std::memcpy(vm.hva(gpa), &kRamValue, sizeof(kRamValue));
	return gpa;
}

uint32_t ram_value(Vm &vm, uint64_t gpa)
{
	uint32_t v;
	std::memcpy(&v, vm.hva(gpa), sizeof(v));
	return v;
}

// A copy of @vm's PML4 whose slot 1 maps kVa to @gpa, through tables of
// its own: a second address space.
uint64_t second_address_space(Vm &vm, uint64_t gpa)
{
	uint64_t pml4 = vm.alloc(4096), pdpt = vm.alloc(4096), pd = vm.alloc(4096),
		 pt = vm.alloc(4096);
	std::memcpy(vm.hva(pml4), vm.hva(vm.cr3()), 4096);
	auto entry = [&vm](uint64_t table, unsigned int i) {
		return reinterpret_cast<uint64_t *>(vm.hva(table)) + i;
	};
	*entry(pml4, 1) = pdpt | kPresentWritable;
	*entry(pdpt, 0) = pd | kPresentWritable;
	*entry(pd, 0) = pt | kPresentWritable;
	*entry(pt, 0) = gpa | kPresentWritable;
	return pml4;
}

// Every case twice: on the VM's default MMU (EPT), and on a shadow-paged
// VM (KVMX_CAP_MMU), where INVLPG, CR3 loads and the guest's page-table
// writes all exit to kvmx.  On /dev/kvm both run on kvm_intel's MMU, with
// the same expected results.
class ShadowVms {
public:
	ShadowVms() : saved_(Vm::default_mmu()) { Vm::set_default_mmu(KVMX_MMU_SHADOW); }
	~ShadowVms() { Vm::set_default_mmu(saved_); }
	ShadowVms(const ShadowVms &) = delete;
	ShadowVms &operator=(const ShadowVms &) = delete;

private:
	int saved_;
};

} // namespace

#define REMAP_TEST(name)                                                       \
	static void remap_##name();                                            \
	KVMX_TEST(name) { remap_##name(); }                                    \
	KVMX_TEST(name##_shadow)                                               \
	{                                                                      \
		ShadowVms shadow;                                              \
		remap_##name();                                                \
	}                                                                      \
	static void remap_##name()

REMAP_TEST(invlpg_remaps_mmio_to_ram_and_back)
{
	Vm vm;
	uint64_t ram = ram_page(vm);
	vm.map(kVa, kMmioGpa, 4096);
	Vcpu &vcpu = vm.add_vcpu(guest_remap_with_invlpg);
	vcpu.set_args({ram});
	expect_mmio_write(vcpu, 0x11);
	expect_mmio_write(vcpu, 0x12);
	vcpu.expect_sync(kRamValue);
	expect_mmio_write(vcpu, 0x14);
	vcpu.expect_sync(0x13);
	vcpu.expect_done();
	EXPECT_EQ(ram_value(vm, ram), 0x13u);
}

REMAP_TEST(cr3_switch_between_mmio_and_ram_mappings)
{
	Vm vm;
	uint64_t ram = ram_page(vm);
	vm.map(kVa, kMmioGpa, 4096);
	uint64_t cr3_b = second_address_space(vm, ram);
	Vcpu &vcpu = vm.add_vcpu(guest_switch_cr3);
	vcpu.set_args({vm.cr3(), cr3_b});
	expect_mmio_write(vcpu, 0x21);
	expect_mmio_write(vcpu, 0x22);
	vcpu.expect_sync(kRamValue);
	expect_mmio_write(vcpu, 0x24);
	vcpu.expect_sync(0x23);
	vcpu.expect_done();
	EXPECT_EQ(ram_value(vm, ram), 0x23u);
}

namespace {

// Pages the guest builds an address space in, and two RAM pages.
struct ForkPages {
	uint64_t pml4, pdpt, pd, pt, ram1, ram2;
};

volatile ForkPages fork_pages;

// Like fork: the guest copies its PML4 into a new one, gives the copy its
// own tables for kVa, switches to it, and changes those tables while they
// are live, once without INVLPG (a not-present entry made present, which
// x86 allows to be used at once) and once with.
void guest_fork()
{
	const volatile ForkPages &p = fork_pages;
	uint64_t cr3_a;
	auto *v = reinterpret_cast<volatile uint32_t *>(kVa);
	auto *v2 = reinterpret_cast<volatile uint32_t *>(kVa + 4096);
	auto table = [](uint64_t gpa) { return reinterpret_cast<volatile uint64_t *>(gpa); };

	asm volatile("mov %%cr3, %0" : "=r"(cr3_a));
	for (unsigned int i = 0; i < 512; i++)
		table(p.pml4)[i] = table(cr3_a & kAddrMask)[i];
	table(p.pml4)[1] = p.pdpt | kPresentWritable;
	table(p.pdpt)[0] = p.pd | kPresentWritable;
	table(p.pd)[0] = p.pt | kPresentWritable;
	table(p.pt)[0] = p.ram2 | kPresentWritable;

	*v = 0x31; // A: kVa is ram1
	guest_write_cr3(p.pml4);
	GUEST_SYNC(*v); // B: kVa is ram2
	*v = 0x32;
	// Not present until now: usable without INVLPG.
	table(p.pt)[1] = p.ram1 | kPresentWritable;
	GUEST_SYNC(*v2); // ram1 through B's new entry
	// Present, changed: INVLPG, then the new page.
	table(p.pt)[0] = p.ram1 | kPresentWritable;
	guest_invlpg(kVa);
	GUEST_SYNC(*v);
	guest_write_cr3(cr3_a);
	GUEST_SYNC(*v); // A never changed: ram1
	GUEST_DONE();
}

} // namespace

REMAP_TEST(guest_builds_and_edits_an_address_space)
{
	Vm vm;
	ForkPages p{};
	p.pml4 = vm.alloc(4096);
	p.pdpt = vm.alloc(4096);
	p.pd = vm.alloc(4096);
	p.pt = vm.alloc(4096);
	p.ram1 = ram_page(vm);
	p.ram2 = vm.alloc(4096);
	uint32_t ram2_value = 0x5a5a5a5a;
	std::memcpy(vm.hva(p.ram2), &ram2_value, sizeof(ram2_value));
	vm.map(kVa, p.ram1, 4096);
	std::memcpy(vm.guest(const_cast<ForkPages *>(&fork_pages)), &p, sizeof(p));
	Vcpu &vcpu = vm.add_vcpu(guest_fork);
	vcpu.expect_sync(ram2_value);
	vcpu.expect_sync(0x31);
	vcpu.expect_sync(0x31);
	vcpu.expect_sync(0x31);
	vcpu.expect_done();
	EXPECT_EQ(ram_value(vm, p.ram2), 0x32u);
}
