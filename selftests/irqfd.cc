// SPDX-License-Identifier: GPL-2.0
// KVM_IRQFD, as far as it goes without an in-kernel irqchip: KVM's
// answers on a VM without one (both devices), and on kvmx, with the
// debug_hooks parameter that lets such a VM take irqfds whose injections
// are only counted, registration, KVM's -EBUSY, deassignment, teardown
// when the eventfd is closed or the VM destroyed, and signals racing with
// all of these.
#include <atomic>
#include <cerrno>
#include <chrono>
#include <fcntl.h>
#include <fstream>
#include <map>
#include <string>
#include <sys/eventfd.h>
#include <thread>
#include <unistd.h>

#include "lib/kvm_abi.h"
#include "lib/kvmx_module.h"
#include "lib/sys.h"
#include "lib/test.h"

using kvmx::Fd;
using kvmx::ioctl_or_throw;
using kvmx::ioctl_result;
using kvmx::KmsgWatch;
using kvmx::test::open_device;

namespace {

Fd make_eventfd()
{
	Fd e(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
	if (!e.valid())
		kvmx::throw_errno("eventfd");
	return e;
}

void signal(const Fd &e)
{
	uint64_t one = 1;
	if (::write(e.get(), &one, sizeof(one)) != sizeof(one))
		kvmx::throw_errno("write(eventfd)");
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

Fd create_vm(const Fd &dev)
{
	return Fd(static_cast<int>(ioctl_or_throw(dev, KVM_CREATE_VM, "KVM_CREATE_VM")));
}

// kvmx's debugfs object counts.
long object(const std::string &name)
{
	std::ifstream in("/sys/kernel/debug/kvmx/objects");
	if (!in)
		SKIP("debugfs is not mounted");
	std::string n;
	long v;
	while (in >> n >> v)
		if (n == name)
			return v;
	return -1;
}

// Waits up to two seconds for object(@name) to become @want.
bool wait_for(const std::string &name, long want)
{
	for (int i = 0; i < 200; i++) {
		if (object(name) == want)
			return true;
		std::this_thread::sleep_for(std::chrono::milliseconds(10));
	}
	return object(name) == want;
}

// Waits up to two seconds for object(@name) to exceed @than; returns it.
long wait_above(const std::string &name, long than)
{
	for (int i = 0; i < 200 && object(name) <= than; i++)
		std::this_thread::sleep_for(std::chrono::milliseconds(10));
	return object(name);
}

} // namespace

// Without an in-kernel irqchip KVM refuses irqfds with -EINVAL (KVM's
// kvm_arch_irqfd_allowed()), with and without RESAMPLE.
KVMX_TEST(no_irqchip_no_irqfd)
{
	Fd dev = open_device();
	Fd vm = create_vm(dev);
	Fd e = make_eventfd(), r = make_eventfd();
	EXPECT_EQ(irqfd(vm, e.get(), 5), -EINVAL);
	EXPECT_EQ(irqfd(vm, e.get(), 5, KVM_IRQFD_FLAG_RESAMPLE, r.get()), -EINVAL);
	// Checked before the fd.
	EXPECT_EQ(irqfd(vm, -1, 5), -EINVAL);
}

// Flags, fds and pointers, in KVM's order.
KVMX_TEST(bad_args)
{
	Fd dev = open_device();
	Fd vm = create_vm(dev);
	Fd e = make_eventfd();
	Fd null = Fd::open("/dev/null", O_RDONLY);
	EXPECT_EQ(irqfd(vm, e.get(), 0, 1u << 2), -EINVAL);
	EXPECT_EQ(irqfd(vm, e.get(), 0, 0xffffffffu), -EINVAL);
	EXPECT_EQ(irqfd(vm, -1, 0, KVM_IRQFD_FLAG_DEASSIGN | (1u << 5)), -EINVAL);
	EXPECT_EQ(ioctl_result(vm, KVM_IRQFD, 8UL), -EFAULT);
	// A deassignment checks the fd, and removing nothing is not an error.
	EXPECT_EQ(irqfd(vm, -1, 0, KVM_IRQFD_FLAG_DEASSIGN), -EBADF);
	EXPECT_EQ(irqfd(vm, null.get(), 0, KVM_IRQFD_FLAG_DEASSIGN), -EINVAL);
	EXPECT_EQ(irqfd(vm, e.get(), 7, KVM_IRQFD_FLAG_DEASSIGN), 0L);
	EXPECT_EQ(irqfd(vm, e.get(), 7, KVM_IRQFD_FLAG_DEASSIGN | KVM_IRQFD_FLAG_RESAMPLE), 0L);
}

// kvmx with debug_hooks=1: registration, -EBUSY for an eventfd in use,
// deassignment (only of the same eventfd and GSI), a signal before the
// assignment, teardown when the eventfd is closed and when the VM goes.
KVMX_TEST(lifetime_with_debug_hooks)
{
	kvmx::test::KvmxReloadGuard guard;
	ASSERT_EQ(guard.reload("debug_hooks=1"), 0);
	KmsgWatch kmsg;
	const long base = object("irqfds");
	ASSERT_TRUE(base >= 0);
	Fd e1 = make_eventfd(), e2 = make_eventfd(), e3 = make_eventfd();
	{
		Fd dev = open_device();
		Fd vm = create_vm(dev);
		Fd null = Fd::open("/dev/null", O_RDONLY);
		EXPECT_EQ(irqfd(vm, -1, 1), -EBADF);
		EXPECT_EQ(irqfd(vm, null.get(), 1), -EINVAL);
		// Delivery of a resampled (level) GSI needs a real irqchip.
		EXPECT_EQ(irqfd(vm, e1.get(), 1, KVM_IRQFD_FLAG_RESAMPLE, e2.get()), -EINVAL);

		ASSERT_EQ(irqfd(vm, e1.get(), 1), 0L);
		EXPECT_EQ(irqfd(vm, e1.get(), 2), -EBUSY);
		EXPECT_EQ(irqfd(vm, e1.get(), 1), -EBUSY);
		ASSERT_EQ(irqfd(vm, e2.get(), 1), 0L);
		EXPECT_EQ(object("irqfds"), base + 2);

		long inj = object("irqfd_injections");
		signal(e1);
		EXPECT_TRUE(wait_above("irqfd_injections", inj) > inj);

		// Other GSI: nothing removed.  Same: removed at once.
		EXPECT_EQ(irqfd(vm, e1.get(), 2, KVM_IRQFD_FLAG_DEASSIGN), 0L);
		EXPECT_EQ(object("irqfds"), base + 2);
		EXPECT_EQ(irqfd(vm, e1.get(), 1, KVM_IRQFD_FLAG_DEASSIGN), 0L);
		EXPECT_EQ(object("irqfds"), base + 1);
		inj = object("irqfd_injections");
		signal(e1);
		std::this_thread::sleep_for(std::chrono::milliseconds(100));
		EXPECT_EQ(object("irqfd_injections"), inj);

		// Closing its eventfd tears an irqfd down.
		e2.reset();
		EXPECT_TRUE(wait_for("irqfds", base));

		// A signal that came before the assignment injects once assigned.
		signal(e3);
		inj = object("irqfd_injections");
		ASSERT_EQ(irqfd(vm, e3.get(), 4), 0L);
		EXPECT_TRUE(wait_above("irqfd_injections", inj) > inj);
		ASSERT_EQ(irqfd(vm, e1.get(), 3), 0L);
		EXPECT_EQ(object("irqfds"), base + 2);
	}
	// The VM went with two irqfds; their eventfds stay usable.
	EXPECT_EQ(object("irqfds"), base);
	signal(e1);
	signal(e3);
	EXPECT_EQ(kmsg.first_splat(), std::string());
}

// Signals from another thread while irqfds come and go and the VM is
// destroyed under them.
KVMX_TEST(signals_race_teardown)
{
	kvmx::test::KvmxReloadGuard guard;
	ASSERT_EQ(guard.reload("debug_hooks=1"), 0);
	KmsgWatch kmsg;
	const long base = object("irqfds");
	ASSERT_TRUE(base >= 0);
	Fd e = make_eventfd();
	std::atomic<bool> stop{false};
	std::thread writer([&] {
		uint64_t one = 1;
		while (!stop.load())
			if (::write(e.get(), &one, sizeof(one)) != sizeof(one))
				break;
	});
	{
		Fd dev = open_device();
		for (int round = 0; round < 10; round++) {
			Fd vm = create_vm(dev);
			for (int i = 0; i < 10; i++) {
				EXPECT_EQ(irqfd(vm, e.get(), 9), 0L);
				EXPECT_EQ(irqfd(vm, e.get(), 9, KVM_IRQFD_FLAG_DEASSIGN), 0L);
			}
			EXPECT_EQ(irqfd(vm, e.get(), 9), 0L);
			// The VM goes with the irqfd still signalled.
		}
	}
	stop = true;
	writer.join();
	EXPECT_EQ(object("irqfds"), base);
	EXPECT_EQ(kmsg.first_splat(), std::string());
}
