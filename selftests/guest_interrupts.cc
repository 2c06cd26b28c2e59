// SPDX-License-Identifier: GPL-2.0
// Interrupts from user space without an in-kernel irqchip: KVM_INTERRUPT,
// with request_interrupt_window / ready_for_interrupt_injection and
// KVM_EXIT_IRQ_WINDOW_OPEN, as a VMM with its own PIC does it.
#include <string>

#include "lib/sys.h"
#include "lib/test.h"
#include "lib/vm.h"

using namespace kvmx;

namespace {

constexpr uint8_t kVector = 0x40;

volatile uint64_t irq_count;
volatile uint64_t irq_vector;
volatile uint64_t irq_rflags;

void guest_irq_handler(ExFrame *f)
{
	irq_count = irq_count + 1;
	irq_vector = f->vector;
	irq_rflags = f->rflags;
}

void guest_irq()
{
	// 1: interrupts off, so the window is closed.
	guest::cli();
	GUEST_SYNC(1);
	// Opening it exits to the host, which injects; the spin is short.
	guest::sti();
	while (irq_count == 0)
		asm volatile("pause");
	GUEST_ASSERT_EQ(irq_vector, kVector);
	GUEST_ASSERT(irq_rflags & 0x200); // IF was set when it arrived
	GUEST_SYNC(2);

	// 2: HLT with IF=1 exits to the host, which injects: the
	// interrupt is taken and execution continues after the HLT.
	guest::hlt();
	GUEST_ASSERT_EQ(irq_count, 2);
	GUEST_DONE();
}

} // namespace

KVMX_TEST(inject_with_interrupt_window)
{
	KmsgWatch kmsg;
	Vm vm;
	vm.install_handler(kVector, guest_irq_handler);
	Vcpu &vcpu = vm.add_vcpu(guest_irq);
	struct kvm_run &r = vcpu.run_area();

	vcpu.expect_sync(1);
	EXPECT_EQ(r.if_flag, 0);
	EXPECT_EQ(r.ready_for_interrupt_injection, 0);

	r.request_interrupt_window = 1;
	ASSERT_EQ(exit_reason_name(vcpu.run()), exit_reason_name(KVM_EXIT_IRQ_WINDOW_OPEN));
	EXPECT_EQ(r.if_flag, 1);
	EXPECT_EQ(r.ready_for_interrupt_injection, 1);
	kvm_interrupt irq{kVector};
	ioctl_or_throw(vcpu.fd(), KVM_INTERRUPT, "KVM_INTERRUPT", &irq);
	r.request_interrupt_window = 0;
	vcpu.expect_sync(2);
	EXPECT_EQ(*vm.guest(&irq_count), 1u);

	ASSERT_EQ(exit_reason_name(vcpu.run()), exit_reason_name(KVM_EXIT_HLT));
	EXPECT_EQ(r.ready_for_interrupt_injection, 1);
	ioctl_or_throw(vcpu.fd(), KVM_INTERRUPT, "KVM_INTERRUPT", &irq);
	vcpu.expect_done();
	EXPECT_EQ(*vm.guest(&irq_count), 2u);
	EXPECT_EQ(kmsg.first_splat(), std::string());
}
