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

// ---- NMIs from user space (KVM_NMI, KVM_SET_VCPU_EVENTS) ------------------

namespace {

volatile uint64_t nmis, nmi_nested, in_nmi, nmi_if;

// The first NMI exits to the host from inside its handler, where NMIs are
// blocked: one queued then must wait for the handler's IRET.
void guest_nmi_handler(ExFrame *f)
{
	if (in_nmi)
		nmi_nested = nmi_nested + 1;
	in_nmi = 1;
	nmis = nmis + 1;
	nmi_if = f->rflags & 0x200;
	if (nmis == 1)
		GUEST_SYNC(10);
	in_nmi = 0;
}

// Bounded waits: a guest spinning with IF=0 must not outlive a bug.
void wait_nmis(uint64_t n)
{
	for (int i = 0; i < 100000 && nmis < n; i++)
		asm volatile("pause" ::: "memory");
}

void guest_nmi()
{
	guest::cli(); // an NMI does not care
	GUEST_SYNC(1);
	wait_nmis(2);
	GUEST_SYNC(2);
	wait_nmis(4);
	GUEST_SYNC(3);
	wait_nmis(5);
	GUEST_DONE();
}

kvm_vcpu_events get_events(const Vcpu &vcpu)
{
	kvm_vcpu_events ev{};
	ioctl_or_throw(vcpu.fd(), KVM_GET_VCPU_EVENTS, "KVM_GET_VCPU_EVENTS", &ev);
	return ev;
}

void nmi(const Vcpu &vcpu) { ioctl_or_throw(vcpu.fd(), KVM_NMI, "KVM_NMI"); }

} // namespace

// KVM_NMI: delivered with IF=0, never nested (one queued inside the
// handler waits for its IRET), at most two kept (KVM's process_nmi());
// KVM_GET/SET_VCPU_EVENTS see and queue them.
KVMX_TEST(nmi_from_user_space)
{
	KmsgWatch kmsg;
	Vm vm;
	EXPECT_EQ(vm.system().check_extension(KVM_CAP_USER_NMI), 1);
	vm.install_handler(2, guest_nmi_handler);
	Vcpu &vcpu = vm.add_vcpu(guest_nmi);
	vcpu.expect_sync(1);
	EXPECT_EQ(get_events(vcpu).nmi.pending, 0);
	nmi(vcpu);
	EXPECT_EQ(get_events(vcpu).nmi.pending, 1);
	vcpu.expect_sync(10); // in the handler: NMIs blocked
	EXPECT_EQ(get_events(vcpu).nmi.masked, 1);
	nmi(vcpu);
	vcpu.expect_sync(2);
	EXPECT_EQ(*vm.guest(&nmis), 2u);
	EXPECT_EQ(*vm.guest(&nmi_nested), 0u);
	EXPECT_EQ(*vm.guest(&nmi_if), 0u);
	EXPECT_EQ(get_events(vcpu).nmi.masked, 0);

	for (int i = 0; i < 3; i++)
		nmi(vcpu);
	vcpu.expect_sync(3);
	EXPECT_EQ(*vm.guest(&nmis), 4u); // the third was dropped
	EXPECT_EQ(*vm.guest(&nmi_nested), 0u);

	kvm_vcpu_events ev = get_events(vcpu);
	ev.flags = KVM_VCPUEVENT_VALID_NMI_PENDING;
	ev.nmi.pending = 1;
	ioctl_or_throw(vcpu.fd(), KVM_SET_VCPU_EVENTS, "KVM_SET_VCPU_EVENTS", &ev);
	EXPECT_EQ(get_events(vcpu).nmi.pending, 1);
	vcpu.expect_done();
	EXPECT_EQ(*vm.guest(&nmis), 5u);
	EXPECT_EQ(kmsg.first_splat(), std::string());
}
