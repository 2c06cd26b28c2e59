// SPDX-License-Identifier: GPL-2.0
// Exits that end or pause a guest: HLT, a triple fault (KVM_EXIT_SHUTDOWN),
// and a VM entry that the CPU refuses (KVM_EXIT_FAIL_ENTRY).
#include <string>

#include "lib/sys.h"
#include "lib/test.h"
#include "lib/vm.h"

using namespace kvmx;

namespace {

void guest_hlt()
{
	GUEST_SYNC(1);
	guest::hlt();
	GUEST_SYNC(2);
	asm volatile("hlt; hlt" ::: "memory");
	GUEST_DONE();
}

} // namespace

KVMX_TEST(hlt)
{
	KmsgWatch kmsg;
	Vm vm;
	Vcpu &vcpu = vm.add_vcpu(guest_hlt);
	vcpu.expect_sync(1);
	ASSERT_EQ(vcpu.run(), uint32_t(KVM_EXIT_HLT));
	// RIP is past the HLT, which is one byte.
	uint64_t rip = vcpu.regs().rip;
	EXPECT_EQ(*vm.hva(vm.gva_to_gpa(rip - 1)), 0xf4);
	vcpu.expect_sync(2);
	// Two HLTs in a row: two exits, RIP one byte further each time.
	ASSERT_EQ(vcpu.run(), uint32_t(KVM_EXIT_HLT));
	rip = vcpu.regs().rip;
	EXPECT_EQ(*vm.hva(vm.gva_to_gpa(rip - 1)), 0xf4);
	ASSERT_EQ(vcpu.run(), uint32_t(KVM_EXIT_HLT));
	EXPECT_EQ(vcpu.regs().rip, rip + 1);
	vcpu.expect_done();
	EXPECT_EQ(kmsg.first_splat(), std::string());
}

namespace {

void guest_triple_fault()
{
	// An empty IDT: #UD cannot be delivered (#GP), nor can that (#DF),
	// and the double fault is a triple fault.
	struct [[gnu::packed]] {
		uint16_t limit;
		uint64_t base;
	} idtr = {0, 0};
	GUEST_SYNC(1);
	asm volatile("lidt %0; ud2" : : "m"(idtr));
}

} // namespace

KVMX_TEST(triple_fault_shutdown)
{
	KmsgWatch kmsg;
	Vm vm;
	Vcpu &vcpu = vm.add_vcpu(guest_triple_fault);
	vcpu.expect_sync(1);
	EXPECT_EQ(exit_reason_name(vcpu.run()), exit_reason_name(KVM_EXIT_SHUTDOWN));
	EXPECT_EQ(kmsg.first_splat(), std::string());
}

namespace {

void guest_done() { GUEST_DONE(); }

struct BadState {
	const char *what;
	void (*change)(kvm_sregs &s);
};

} // namespace

// Guest states that KVM (with unrestricted guest) does not check but the
// CPU's VM-entry checks refuse: KVM_RUN returns 0 with KVM_EXIT_FAIL_ENTRY
// and the basic exit reason 33 ("invalid guest state") with bit 31 set.
// Fixed by user space, the same vCPU runs.  kvm_intel without unrestricted
// guest (ept=0) emulates such a state instead; kvmx's shadow VMs still
// fail the entry (Documentation/abi.md, "Choosing the MMU").
KVMX_TEST(invalid_state_fail_entry)
{
	if (!test::options().testing_kvmx() &&
	    read_file("/sys/module/kvm_intel/parameters/unrestricted_guest") == "N\n")
		SKIP("kvm_intel without unrestricted guest emulates invalid guest state");
	static const BadState states[] = {
		{"CS.L and CS.D both set in 64-bit mode", [](kvm_sregs &s) { s.cs.db = 1; }},
		{"TR unusable", [](kvm_sregs &s) { s.tr.present = 0; }},
		{"TR a 16-bit TSS in 64-bit mode", [](kvm_sregs &s) { s.tr.type = 3; }},
	};
	KmsgWatch kmsg;
	for (const BadState &b : states) {
		test::diag(b.what);
		Vm vm;
		Vcpu &vcpu = vm.add_vcpu(guest_done);
		const kvm_sregs good = vcpu.sregs();
		kvm_sregs bad = good;
		b.change(bad);
		vcpu.set_sregs(bad);
		ASSERT_EQ(exit_reason_name(vcpu.run()), exit_reason_name(KVM_EXIT_FAIL_ENTRY));
		EXPECT_EQ(vcpu.run_area().fail_entry.hardware_entry_failure_reason, 0x80000021ULL);
		vcpu.set_sregs(good);
		vcpu.expect_done();
	}
	EXPECT_EQ(kmsg.first_splat(), std::string());
}
