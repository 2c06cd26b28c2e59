// SPDX-License-Identifier: GPL-2.0
// KVM_IRQFD on /dev/kvmx and /dev/kvm alike: KVM's answers without an
// irqchip and for bad arguments, registration (-EBUSY for an eventfd in
// use), deassignment, delivery of each signal to a guest through the
// IOAPIC (also waking it from HLT), a signal that came before the
// assignment, teardown when the eventfd is closed or the VM destroyed
// (kvmx's object counts prove it), and signals racing with all of it.
#include <atomic>
#include <cerrno>
#include <chrono>
#include <fcntl.h>
#include <fstream>
#include <string>
#include <sys/eventfd.h>
#include <thread>
#include <unistd.h>

#include "lib/sys.h"
#include "lib/test.h"
#include "lib/vm.h"

using namespace kvmx;

namespace {

constexpr uint64_t kApic = 0xfee00000;
constexpr uint64_t kIoapic = 0xfec00000;
constexpr uint32_t APIC_EOI = 0xb0, APIC_SPIV = 0xf0;
constexpr uint32_t kGsi = 5;
constexpr uint8_t kVector = 0x70;

void signal(const Fd &e)
{
	uint64_t one = 1;
	if (::write(e.get(), &one, sizeof(one)) != sizeof(one))
		throw_errno("write(eventfd)");
}

long irqfd(const Fd &vm, int fd, uint32_t gsi, uint32_t flags = 0, int resamplefd = -1)
{
	kvm_irqfd a{};
	a.fd = static_cast<uint32_t>(fd);
	a.gsi = gsi;
	a.flags = flags;
	a.resamplefd = static_cast<uint32_t>(resamplefd);
	return ioctl_result(vm, KVM_IRQFD, &a);
}

// kvmx's debugfs object count @name, or -1 where there is none (KVM).
long object(const std::string &name)
{
	if (!test::options().testing_kvmx())
		return -1;
	std::ifstream in("/sys/kernel/debug/kvmx/objects");
	std::string n;
	long v;
	while (in >> n >> v)
		if (n == name)
			return v;
	return -1;
}

// On kvmx, waits up to two seconds for the count of irqfds to be @want.
bool irqfds_become(long want)
{
	if (object("irqfds") < 0)
		return true;
	for (int i = 0; i < 200 && object("irqfds") != want; i++)
		std::this_thread::sleep_for(std::chrono::milliseconds(10));
	return object("irqfds") == want;
}

// --- the guest: IOAPIC pin kGsi, edge, vector kVector, to the BSP ---

volatile uint64_t irq_count;

void handler(ExFrame *)
{
	irq_count = irq_count + 1;
	*reinterpret_cast<volatile uint32_t *>(kApic + APIC_EOI) = 0;
}

void ioapic_write(uint32_t reg, uint32_t v)
{
	*reinterpret_cast<volatile uint32_t *>(kIoapic) = reg;
	*reinterpret_cast<volatile uint32_t *>(kIoapic + 0x10) = v;
}

// Sleeps (STI;HLT, the STI shadow covering the HLT) until @n interrupts.
void wait_for(uint64_t n)
{
	guest::cli();
	while (irq_count < n)
		asm volatile("sti; hlt; cli" ::: "memory");
	guest::sti();
}

void guest_irqfd(uint64_t pulses)
{
	*reinterpret_cast<volatile uint32_t *>(kApic + APIC_SPIV) = 0x1ff;
	guest::outb(0x21, 0xff);	// mask the PICs
	guest::outb(0xa1, 0xff);
	ioapic_write(0x10 + 2 * kGsi, kVector);
	ioapic_write(0x11 + 2 * kGsi, 0);
	GUEST_SYNC(0);
	for (uint64_t i = 1; i <= pulses; i++) {
		wait_for(i);
		GUEST_SYNC(i);
	}
	// Deassigned: a signal now delivers nothing.
	asm volatile("sti; nop; nop; nop; cli" ::: "memory");
	GUEST_ASSERT_EQ(irq_count, pulses);
	GUEST_SYNC(100);
	// Assigned again, after a signal that came first.
	wait_for(pulses + 1);
	GUEST_DONE();
}

} // namespace

// Without an in-kernel irqchip KVM refuses irqfds with -EINVAL (its
// kvm_arch_irqfd_allowed()), with and without RESAMPLE, before the fd.
KVMX_TEST(no_irqchip_no_irqfd)
{
	Vm vm(Vm::bare);
	Fd e = Fd::eventfd(), r = Fd::eventfd();
	EXPECT_EQ(irqfd(vm.fd(), e.get(), kGsi), -EINVAL);
	EXPECT_EQ(irqfd(vm.fd(), e.get(), kGsi, KVM_IRQFD_FLAG_RESAMPLE, r.get()), -EINVAL);
	EXPECT_EQ(irqfd(vm.fd(), -1, kGsi), -EINVAL);
}

// Flags, fds and pointers, in KVM's order.
KVMX_TEST(bad_args)
{
	Vm vm(Vm::bare);
	vm.create_irqchip();
	const Fd &fd = vm.fd();
	Fd e = Fd::eventfd();
	Fd null = Fd::open("/dev/null", O_RDONLY);
	EXPECT_EQ(irqfd(fd, e.get(), 0, 1u << 2), -EINVAL);
	EXPECT_EQ(irqfd(fd, e.get(), 0, 0xffffffffu), -EINVAL);
	EXPECT_EQ(irqfd(fd, -1, 0, KVM_IRQFD_FLAG_DEASSIGN | (1u << 5)), -EINVAL);
	EXPECT_EQ(ioctl_result(fd, KVM_IRQFD, 8UL), -EFAULT);
	EXPECT_EQ(irqfd(fd, -1, 1), -EBADF);
	EXPECT_EQ(irqfd(fd, 100000, 1), -EBADF);
	EXPECT_EQ(irqfd(fd, null.get(), 1), -EINVAL);
	// A deassignment checks the fd, and removing nothing is not an error.
	EXPECT_EQ(irqfd(fd, -1, 0, KVM_IRQFD_FLAG_DEASSIGN), -EBADF);
	EXPECT_EQ(irqfd(fd, null.get(), 0, KVM_IRQFD_FLAG_DEASSIGN), -EINVAL);
	EXPECT_EQ(irqfd(fd, e.get(), 7, KVM_IRQFD_FLAG_DEASSIGN), 0L);
}

// KVM_IRQFD_FLAG_RESAMPLE: KVM takes it with KVM_CREATE_IRQCHIP; kvmx's
// irqchip has no ack notifiers yet, so kvmx refuses it (Documentation/abi.md).
KVMX_TEST(resample)
{
	Vm vm(Vm::bare);
	vm.create_irqchip();
	Fd e = Fd::eventfd(), r = Fd::eventfd();
	const long want = test::options().testing_kvmx() ? -EINVAL : 0L;
	EXPECT_EQ(irqfd(vm.fd(), e.get(), 10, KVM_IRQFD_FLAG_RESAMPLE, r.get()), want);
}

// One irqfd per eventfd (-EBUSY, whatever the GSI); deassignment needs
// the same eventfd and GSI.
KVMX_TEST(registration)
{
	const long base = object("irqfds");
	{
		Vm vm(Vm::bare);
		vm.create_irqchip();
		const Fd &fd = vm.fd();
		Fd e1 = Fd::eventfd(), e2 = Fd::eventfd();
		ASSERT_EQ(irqfd(fd, e1.get(), 1), 0L);
		EXPECT_EQ(irqfd(fd, e1.get(), 1), -EBUSY);
		EXPECT_EQ(irqfd(fd, e1.get(), 2), -EBUSY);
		EXPECT_EQ(irqfd(fd, e2.get(), 1), 0L);	// another eventfd, same GSI
		if (base >= 0)
			EXPECT_EQ(object("irqfds"), base + 2);
		EXPECT_EQ(irqfd(fd, e1.get(), 2, KVM_IRQFD_FLAG_DEASSIGN), 0L);
		EXPECT_EQ(irqfd(fd, e1.get(), 3), -EBUSY);	// still there
		EXPECT_EQ(irqfd(fd, e1.get(), 1, KVM_IRQFD_FLAG_DEASSIGN), 0L);
		if (base >= 0)
			EXPECT_EQ(object("irqfds"), base + 1);	// at once
		EXPECT_EQ(irqfd(fd, e1.get(), 3), 0L);
	}
	EXPECT_TRUE(irqfds_become(base));
}

// Each signal is one edge on the GSI: the guest, asleep in HLT, takes
// the IOAPIC's interrupt; after deassignment signals deliver nothing; a
// signal before an assignment is delivered once assigned.
KVMX_TEST(delivery)
{
	KmsgWatch kmsg;
	constexpr uint64_t kPulses = 5;
	Vm vm;
	vm.create_irqchip();
	vm.install_handler(kVector, handler);
	Vcpu &vcpu = vm.add_vcpu(guest_irqfd);
	vcpu.set_args({kPulses});
	Fd e = Fd::eventfd();
	ASSERT_EQ(irqfd(vm.fd(), e.get(), kGsi), 0L);
	vcpu.expect_sync(0);
	for (uint64_t i = 1; i <= kPulses; i++) {
		// Every other one from a thread, while the vCPU sleeps in HLT.
		std::thread t;
		if (i % 2)
			signal(e);
		else
			t = std::thread([&] {
				std::this_thread::sleep_for(std::chrono::milliseconds(20));
				signal(e);
			});
		vcpu.expect_sync(i);
		if (t.joinable())
			t.join();
	}
	ASSERT_EQ(irqfd(vm.fd(), e.get(), kGsi, KVM_IRQFD_FLAG_DEASSIGN), 0L);
	signal(e);
	std::this_thread::sleep_for(std::chrono::milliseconds(50));
	vcpu.expect_sync(100);
	// The eventfd's count from that signal is still there: assigning
	// again delivers it.
	ASSERT_EQ(irqfd(vm.fd(), e.get(), kGsi), 0L);
	vcpu.expect_done();
	EXPECT_EQ(kmsg.first_splat(), std::string());
}

// An irqfd goes when its eventfd is closed, and with its VM; the
// eventfds of a destroyed VM's irqfds stay usable.
KVMX_TEST(teardown)
{
	KmsgWatch kmsg;
	const long base = object("irqfds");
	Fd kept = Fd::eventfd();
	{
		Vm vm(Vm::bare);
		vm.create_irqchip();
		Fd closed = Fd::eventfd();
		ASSERT_EQ(irqfd(vm.fd(), closed.get(), 1), 0L);
		ASSERT_EQ(irqfd(vm.fd(), kept.get(), 2), 0L);
		signal(closed);
		closed.reset();
		EXPECT_TRUE(irqfds_become(base + 1));
		signal(kept);
	}
	if (base >= 0)
		EXPECT_EQ(object("irqfds"), base);	// VM destruction waits for them
	signal(kept);
	EXPECT_EQ(kmsg.first_splat(), std::string());
}

// Signals from another thread while irqfds come and go and VMs are
// destroyed under them.
KVMX_TEST(signals_race_teardown)
{
	KmsgWatch kmsg;
	const long base = object("irqfds");
	Fd e = Fd::eventfd();
	std::atomic<bool> stop{false};
	std::thread writer([&] {
		uint64_t one = 1;
		while (!stop.load())
			if (::write(e.get(), &one, sizeof(one)) != sizeof(one))
				break;
	});
	for (int round = 0; round < 8; round++) {
		Vm vm(Vm::bare);
		vm.create_irqchip();
		for (int i = 0; i < 8; i++) {
			EXPECT_EQ(irqfd(vm.fd(), e.get(), kGsi), 0L);
			EXPECT_EQ(irqfd(vm.fd(), e.get(), kGsi, KVM_IRQFD_FLAG_DEASSIGN), 0L);
		}
		EXPECT_EQ(irqfd(vm.fd(), e.get(), kGsi), 0L);
		// The VM goes with the irqfd still being signalled.
	}
	stop = true;
	writer.join();
	if (base >= 0)
		EXPECT_EQ(object("irqfds"), base);
	EXPECT_EQ(kmsg.first_splat(), std::string());
}
