// SPDX-License-Identifier: GPL-2.0
// Guest code from the test binary itself: computation (SSE included),
// ucalls, guest assertions and exceptions reported to the host, globals,
// page tables, MSRs, CPUID; and raw real-mode and protected-mode guests.
#include <array>
#include <algorithm>
#include <cstring>

#include "lib/test.h"
#include "lib/vm.h"

using namespace kvmx;

namespace {

// ---- computation and ucalls ------------------------------------------------

uint64_t fib(uint64_t n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

void guest_compute(uint64_t n, uint64_t scale)
{
	GUEST_SYNC(fib(n));
	// Floating point: SSE must work in the guest.
	volatile double d = static_cast<double>(scale);
	double r = 0;
	for (int i = 1; i <= 10; i++)
		r += d / i;
	GUEST_SYNC(static_cast<uint64_t>(r * 1000));
	GUEST_ASSERT_EQ(fib(10), 55);
	// Returning is GUEST_DONE.
}

} // namespace

KVMX_TEST(compute_and_sync)
{
	Vm vm;
	Vcpu &vcpu = vm.add_vcpu(guest_compute);
	vcpu.set_args({20, 7});
	vcpu.expect_sync(6765);
	// 7 * H(10) = 7 * 2.9289682539... = 20.502777...
	vcpu.expect_sync(20502);
	vcpu.expect_done();
}

namespace {

constexpr uint64_t kAssertLine = __LINE__ + 5;

void guest_assert_fails(uint64_t a)
{
	GUEST_ASSERT(a == 1);
	GUEST_ASSERT_EQ(a + 1, 42);
}

} // namespace

// A failing GUEST_ASSERT_EQ reaches the host with file, line and values
// (run_until_ucall() would turn it into a failure of this case).
KVMX_TEST(guest_assert_reported)
{
	Vm vm;
	Vcpu &vcpu = vm.add_vcpu(guest_assert_fails);
	vcpu.set_args({1});
	ASSERT_EQ(vcpu.run(), uint32_t(KVM_EXIT_IO));
	Ucall uc = vcpu.get_ucall();
	ASSERT_EQ(uc.cmd, uint64_t(UCALL_ABORT));
	EXPECT_EQ(uc.line, kAssertLine);
	EXPECT_EQ(vm.read_string(reinterpret_cast<uint64_t>(uc.file)), std::string(__FILE__));
	EXPECT_EQ(vm.read_string(reinterpret_cast<uint64_t>(uc.expr)), std::string("a + 1 == 42"));
	EXPECT_EQ(uc.args[0], 2u);
	EXPECT_EQ(uc.args[1], 42u);
	EXPECT_EQ(uc.args[2], 1u);
}

namespace {

void guest_ud2() { asm volatile("ud2"); }

uint64_t ud_count;
void guest_ud_handler(ExFrame *f)
{
	ud_count++;
	f->rip += 2; // skip the ud2
}

void guest_ud_handled()
{
	asm volatile("ud2");
	asm volatile("ud2");
	GUEST_ASSERT_EQ(ud_count, 2);
	// A page fault reports vector, error code and RIP.
	*reinterpret_cast<volatile uint64_t *>(0x7fff00000000ULL) = 1;
}

} // namespace

KVMX_TEST(exceptions)
{
	{
		Vm vm;
		Vcpu &vcpu = vm.add_vcpu(guest_ud2);
		ASSERT_EQ(vcpu.run(), uint32_t(KVM_EXIT_IO));
		Ucall uc = vcpu.get_ucall();
		ASSERT_EQ(uc.cmd, uint64_t(UCALL_UNHANDLED));
		EXPECT_EQ(uc.args[0], 6u); // #UD
		EXPECT_EQ(uc.args[2], reinterpret_cast<uint64_t>(guest_ud2));
	}
	Vm vm;
	vm.install_handler(6, guest_ud_handler);
	Vcpu &vcpu = vm.add_vcpu(guest_ud_handled);
	ASSERT_EQ(vcpu.run(), uint32_t(KVM_EXIT_IO));
	Ucall uc = vcpu.get_ucall();
	ASSERT_EQ(uc.cmd, uint64_t(UCALL_UNHANDLED));
	EXPECT_EQ(uc.args[0], 14u); // #PF
	EXPECT_EQ(uc.args[1], 2u);  // not present, write, CPL 0
	EXPECT_EQ(vcpu.sregs().cr2, 0x7fff00000000ULL);
}

namespace {

uint64_t shared_value = 5;
uint64_t guest_result;

void guest_globals()
{
	GUEST_SYNC(shared_value);
	guest_result = shared_value * 3;
	GUEST_SYNC(0);
	GUEST_SYNC(shared_value);
}

} // namespace

KVMX_TEST(globals)
{
	Vm vm;
	Vcpu &vcpu = vm.add_vcpu(guest_globals);
	shared_value = 11;
	// The guest starts from the ELF's initial value.
	vcpu.expect_sync(5);
	vcpu.expect_sync(0);
	vm.sync_from_guest(guest_result);
	EXPECT_EQ(guest_result, 15u);
	vm.sync_to_guest(shared_value);
	vcpu.expect_sync(11);
	vcpu.expect_done();
}

namespace {

constexpr uint64_t kHighGva = 0xffffff8000200000ULL;

void guest_high_mapping()
{
	auto *p = reinterpret_cast<volatile uint64_t *>(kHighGva);
	GUEST_ASSERT_EQ(p[1], 0x1234);
	p[2] = 0xabcd;
	GUEST_DONE();
}

} // namespace

// A 4 KiB mapping of a kernel-half address built by Vm::map().
KVMX_TEST(page_tables)
{
	Vm vm;
	uint64_t gpa = vm.alloc(4096);
	vm.map(kHighGva, gpa, 4096);
	EXPECT_EQ(vm.gva_to_gpa(kHighGva + 8), gpa + 8);
	reinterpret_cast<uint64_t *>(vm.hva(gpa))[1] = 0x1234;
	Vcpu &vcpu = vm.add_vcpu(guest_high_mapping);
	vcpu.expect_done();
	EXPECT_EQ(reinterpret_cast<uint64_t *>(vm.hva(gpa))[2], 0xabcdu);
}

namespace {

constexpr uint32_t kMsrKernelGsBase = 0xc0000102;

void guest_msrs()
{
	GUEST_SYNC(guest::rdmsr(kMsrKernelGsBase));
	guest::wrmsr(kMsrKernelGsBase, 0xffff800012345000ULL);
	GUEST_DONE();
}

} // namespace

KVMX_TEST(msrs)
{
	Vm vm;
	Vcpu &vcpu = vm.add_vcpu(guest_msrs);
	vcpu.set_msr(kMsrKernelGsBase, 0xffff8000abcde000ULL);
	EXPECT_EQ(vcpu.get_msr(kMsrKernelGsBase), 0xffff8000abcde000ULL);
	vcpu.expect_sync(0xffff8000abcde000ULL);
	vcpu.expect_done();
	EXPECT_EQ(vcpu.get_msr(kMsrKernelGsBase), 0xffff800012345000ULL);
	// EFER as the library set it: LME, LMA, NXE.
	EXPECT_EQ(vcpu.sregs().efer, 0xd00u);
}

namespace {

constexpr uint32_t kMsrGsBase = 0xc0000101;
constexpr uint64_t kGsA = 0xffff8000aaaa0000ULL, kGsB = 0x00007fffbbbb0000ULL;

// SWAPGS exchanges GS.base and IA32_KERNEL_GS_BASE without a VM exit, as a
// 64-bit kernel does on every entry from user space: the hypervisor must
// keep the guest's IA32_KERNEL_GS_BASE as the CPU left it, across exits.
void guest_swapgs()
{
	guest::wrmsr(kMsrGsBase, kGsA);
	guest::wrmsr(kMsrKernelGsBase, kGsB);
	asm volatile("swapgs" ::: "memory");
	GUEST_SYNC(1); // an exit with the two swapped
	GUEST_ASSERT_EQ(guest::rdmsr(kMsrGsBase), kGsB);
	GUEST_ASSERT_EQ(guest::rdmsr(kMsrKernelGsBase), kGsA);
	asm volatile("swapgs" ::: "memory");
	GUEST_SYNC(2);
	GUEST_ASSERT_EQ(guest::rdmsr(kMsrGsBase), kGsA);
	GUEST_ASSERT_EQ(guest::rdmsr(kMsrKernelGsBase), kGsB);
	GUEST_DONE();
}

} // namespace

// Found by QEMU: a Linux guest lost its per-CPU base at its first system
// call and ended in a double-fault loop.
KVMX_TEST(swapgs_survives_exits)
{
	Vm vm;
	Vcpu &vcpu = vm.add_vcpu(guest_swapgs);
	vcpu.expect_sync(1);
	// User space sees what the guest's SWAPGS left, as the guest does.
	EXPECT_EQ(vcpu.get_msr(kMsrKernelGsBase), kGsA);
	EXPECT_EQ(vcpu.get_msr(kMsrGsBase), kGsB);
	EXPECT_EQ(vcpu.sregs().gs.base, kGsB);
	vcpu.expect_sync(2);
	EXPECT_EQ(vcpu.get_msr(kMsrKernelGsBase), kGsB);
	vcpu.expect_done();
}

namespace {

void guest_cpuid()
{
	guest::CpuidRegs r = guest::cpuid(0x40000000);
	GUEST_SYNC(r.ebx);
	GUEST_SYNC(r.ecx);
	GUEST_SYNC(r.edx);
	// SSE2 and FXSR are there, as the compiler assumes.
	r = guest::cpuid(1);
	GUEST_ASSERT(r.edx & (1u << 26));
	GUEST_ASSERT(r.edx & (1u << 24));
	GUEST_DONE();
}

} // namespace

// KVM_SET_CPUID2's entries are what the guest's CPUID answers.
KVMX_TEST(cpuid)
{
	Vm vm;
	std::vector<kvm_cpuid_entry2> cpuid = vm.system().supported_cpuid();
	// Both offer KVM's paravirtual signature leaf: give it values of our own.
	auto leaf = std::find_if(cpuid.begin(), cpuid.end(),
				 [](const kvm_cpuid_entry2 &e) { return e.function == 0x40000000; });
	if (leaf == cpuid.end()) {
		kvm_cpuid_entry2 e{};
		e.function = 0x40000000;
		cpuid.push_back(e);
		leaf = cpuid.end() - 1;
	}
	std::memcpy(&leaf->ebx, "kvmx", 4);
	std::memcpy(&leaf->ecx, "self", 4);
	std::memcpy(&leaf->edx, "test", 4);
	Vcpu &vcpu = vm.add_vcpu();
	vcpu.set_cpuid(cpuid);
	vcpu.enter_long_mode(reinterpret_cast<uint64_t>(guest_cpuid));
	uint32_t want[3];
	std::memcpy(want, "kvmxselftest", 12);
	for (uint32_t w : want)
		vcpu.expect_sync(w);
	vcpu.expect_done();
}

// Real mode: code bytes at 0x1000, exits through PIO and HLT.
KVMX_TEST(real_mode)
{
	Vm vm(Vm::bare);
	vm.add_memslot(0, 0, 64 * KiB);
	static const uint8_t code[] = {
		0xb8, 0x34, 0x12,	// mov $0x1234, %ax
		0x01, 0xd8,		// add %bx, %ax
		0xba, 0x80, 0x00,	// mov $0x80, %dx
		0xef,			// out %ax, (%dx)
		0xa3, 0x00, 0x20,	// mov %ax, 0x2000
		0xf4,			// hlt
	};
	vm.write(0x1000, code);
	Vcpu &vcpu = vm.add_vcpu();
	vcpu.enter_real_mode(0x1000);
	kvm_regs r = vcpu.regs();
	r.rbx = 0x1111;
	vcpu.set_regs(r);

	ASSERT_EQ(vcpu.run(), uint32_t(KVM_EXIT_IO));
	const struct kvm_run &run = vcpu.run_area();
	EXPECT_EQ(run.io.port, 0x80);
	EXPECT_EQ(run.io.size, 2);
	EXPECT_EQ(run.io.direction, KVM_EXIT_IO_OUT);
	uint16_t v;
	std::memcpy(&v, vcpu.io_data(), 2);
	EXPECT_EQ(v, 0x2345);
	ASSERT_EQ(vcpu.run(), uint32_t(KVM_EXIT_HLT));
	EXPECT_EQ(vcpu.regs().rip, 0x1000u + sizeof(code));
	uint16_t stored;
	std::memcpy(&stored, vm.hva(0x2000), 2);
	EXPECT_EQ(stored, 0x2345);
}

// 32-bit protected mode with the library's GDT (a full Vm): a far jump
// reloads CS from it, and 32-bit operands need no prefix.
KVMX_TEST(protected_mode)
{
	Vm vm;
	static const uint8_t code[] = {
		0xb8, 0x78, 0x56, 0x34, 0x12,		  // mov $0x12345678, %eax
		0xea, 0x0c, 0x10, 0x00, 0x00, 0x28, 0x00, // ljmp $0x28, $0x100c
		0xba, 0x84, 0x00, 0x00, 0x00,		  // mov $0x84, %edx
		0xef,					  // out %eax, (%dx)
		0x8c, 0xc8,				  // mov %cs, %eax
		0xef,					  // out %eax, (%dx)
		0xf4,					  // hlt
	};
	vm.write(0x1000, code);
	Vcpu &vcpu = vm.add_vcpu();
	vcpu.enter_protected_mode(0x1000);

	ASSERT_EQ(vcpu.run(), uint32_t(KVM_EXIT_IO));
	EXPECT_EQ(vcpu.run_area().io.size, 4);
	uint32_t v;
	std::memcpy(&v, vcpu.io_data(), 4);
	EXPECT_EQ(v, 0x12345678u);
	ASSERT_EQ(vcpu.run(), uint32_t(KVM_EXIT_IO));
	std::memcpy(&v, vcpu.io_data(), 4);
	EXPECT_EQ(v, uint32_t(KVMX_SEL_CODE32));
	ASSERT_EQ(vcpu.run(), uint32_t(KVM_EXIT_HLT));
	kvm_sregs s = vcpu.sregs();
	EXPECT_EQ(s.cs.selector, KVMX_SEL_CODE32);
	EXPECT_EQ(s.cs.db, 1);
	EXPECT_EQ(s.cr0 & 0x80000001u, 1u);
}
