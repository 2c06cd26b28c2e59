// SPDX-License-Identifier: GPL-2.0
// Lifetimes: closing VM and vCPU fds (and unmapping kvm_run) in any order
// frees everything, checked with kvmx's own object counts; user memory
// that vanishes under a slot gives an error, never a host fault; a VM is
// usable only from the process that created it.
#include <cerrno>
#include <fcntl.h>
#include "lib/kvm_abi.h"
#include <map>
#include <memory>
#include <string>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/objects.h"
#include "lib/sys.h"
#include "lib/test.h"
#include "lib/tiny_guest.h"

using kvmx::Fd;
using kvmx::ioctl_result;
using kvmx::KmsgWatch;
using kvmx::test::objects;
using kvmx::test::open_device;
using kvmx::test::TinyGuest;

namespace {

enum class Order { kVmFirst, kVcpuFirst, kRunMappingLast };

void build_run_and_close(Order order)
{
	Fd dev = open_device();
	// mov byte [0x1800],1; hlt: one page pinned, EPT tables built
	auto g = std::make_unique<TinyGuest>(dev, std::vector<uint8_t>{
							 0xc6, 0x06, 0x00, 0x18, 0x01, 0xf4});
	Fd second(static_cast<int>(ioctl_result(g->vm, KVM_CREATE_VCPU, 1UL)));
	ASSERT_TRUE(second.valid());
	ASSERT_EQ(g->run_once(), static_cast<uint32_t>(KVM_EXIT_HLT));

	switch (order) {
	case Order::kVmFirst:
		g->vm.reset();
		second.reset();
		g.reset();
		break;
	case Order::kVcpuFirst:
		g->vcpu.reset();
		second.reset();
		g->run_map.reset();
		g.reset();
		break;
	case Order::kRunMappingLast: {
		kvmx::Mapping keep = std::move(g->run_map);
		g.reset();
		second.reset();
		// The mapping still pins the vCPU file, hence the VM.
		EXPECT_EQ(keep.as<kvm_run>()->exit_reason, static_cast<uint32_t>(KVM_EXIT_HLT));
		break;
	}
	}
}

} // namespace

KVMX_TEST(close_in_any_order_frees_everything)
{
	const auto before = objects();
	KmsgWatch kmsg;
	for (Order order : {Order::kVmFirst, Order::kVcpuFirst, Order::kRunMappingLast})
		build_run_and_close(order);
	const auto after = objects();
	for (const auto &[name, count] : before)
		EXPECT_EQ(after.at(name), count);
	EXPECT_EQ(after.at("vms"), 0L);
	EXPECT_EQ(after.at("pinned_pages"), 0L);
	EXPECT_EQ(kmsg.first_splat(), std::string());
}

// Memory unmapped before the guest touched it: KVM_RUN fails with EFAULT.
// Memory unmapped after: the guest goes on, the host is fine.
KVMX_TEST(munmap_under_a_slot)
{
	Fd dev = open_device();
	KmsgWatch kmsg;
	// mov al,[0x3000]; hlt
	TinyGuest g(dev, {0xa0, 0x00, 0x30, 0xf4});
	void *p = ::mmap(nullptr, 0x1000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
			 0);
	ASSERT_TRUE(p != MAP_FAILED);
	kvm_userspace_memory_region r{};
	r.slot = 1;
	r.guest_phys_addr = 0x3000;
	r.memory_size = 0x1000;
	r.userspace_addr = reinterpret_cast<uint64_t>(p);
	ASSERT_EQ(ioctl_result(g.vm, KVM_SET_USER_MEMORY_REGION, &r), 0L);
	::munmap(p, 0x1000);
	EXPECT_EQ(ioctl_result(g.vcpu, KVM_RUN), -EFAULT);

	// The VM stays usable: give the slot memory again and run.
	kvmx::Mapping mem = kvmx::Mapping::anonymous(0x1000);
	mem.as<uint8_t>()[0] = 0x66;
	r.slot = 1;
	r.memory_size = 0;
	ASSERT_EQ(ioctl_result(g.vm, KVM_SET_USER_MEMORY_REGION, &r), 0L);
	r.memory_size = 0x1000;
	r.userspace_addr = reinterpret_cast<uint64_t>(mem.get());
	ASSERT_EQ(ioctl_result(g.vm, KVM_SET_USER_MEMORY_REGION, &r), 0L);
	ASSERT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_HLT));
	EXPECT_EQ(g.regs().rax & 0xff, 0x66ULL);
	EXPECT_EQ(kmsg.first_splat(), std::string());
}

// A child process that inherited the fds may not drive the VM.
KVMX_TEST(other_process_gets_eio)
{
	Fd dev = open_device();
	TinyGuest g(dev, {0xf4});
	pid_t pid = ::fork();
	ASSERT_TRUE(pid >= 0);
	if (pid == 0) {
		long vm = ioctl_result(g.vm, KVM_CREATE_VCPU, 5UL);
		long vcpu = ioctl_result(g.vcpu, KVM_RUN);
		::_exit(vm == -EIO && vcpu == -EIO ? 0 : 1);
	}
	int status = 0;
	ASSERT_EQ(::waitpid(pid, &status, 0), pid);
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	EXPECT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_HLT));
}
