// SPDX-License-Identifier: GPL-2.0
// kvmx and kvm_intel both want VMX.  kvm_intel (Linux 6.1) takes VMX when
// its first VM is created; kvmx takes it on load.  Whichever comes second
// must be refused cleanly, and the one that holds VMX must keep working.
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <linux/kvm.h>

#include "lib/kvmx_module.h"
#include "lib/sys.h"
#include "lib/test.h"

using kvmx::Fd;
using kvmx::ioctl_or_throw;
using kvmx::ioctl_result;
using kvmx::KmsgWatch;
using kvmx::Mapping;
namespace module = kvmx::module;

namespace {

constexpr uint64_t kCodeGpa = 0x1000;

// A VM on the reference KVM with one page of RAM holding "hlt" and one
// vCPU in real mode about to execute it.
struct HltGuest {
	Fd vm;
	Mapping ram;
	Fd vcpu;
	Mapping run;

	explicit HltGuest(const Fd &kvm)
		: vm(ioctl_or_throw(kvm, KVM_CREATE_VM, "KVM_CREATE_VM")),
		  ram(Mapping::anonymous(0x1000))
	{
		ram.as<uint8_t>()[0] = 0xf4; // hlt
		kvm_userspace_memory_region region{};
		region.slot = 0;
		region.guest_phys_addr = kCodeGpa;
		region.memory_size = ram.size();
		region.userspace_addr = reinterpret_cast<uint64_t>(ram.get());
		ioctl_or_throw(vm, KVM_SET_USER_MEMORY_REGION, "KVM_SET_USER_MEMORY_REGION",
			       &region);
		vcpu = Fd(static_cast<int>(ioctl_or_throw(vm, KVM_CREATE_VCPU, "KVM_CREATE_VCPU")));
		long size = ioctl_or_throw(kvm, KVM_GET_VCPU_MMAP_SIZE, "KVM_GET_VCPU_MMAP_SIZE");
		run = Mapping::of_fd(vcpu, static_cast<size_t>(size));

		kvm_sregs sregs{};
		ioctl_or_throw(vcpu, KVM_GET_SREGS, "KVM_GET_SREGS", &sregs);
		sregs.cs.base = 0;
		sregs.cs.selector = 0;
		ioctl_or_throw(vcpu, KVM_SET_SREGS, "KVM_SET_SREGS", &sregs);
		kvm_regs regs{};
		regs.rip = kCodeGpa;
		regs.rflags = 0x2;
		ioctl_or_throw(vcpu, KVM_SET_REGS, "KVM_SET_REGS", &regs);
	}

	// Runs until the first exit and returns its reason.
	uint32_t run_once()
	{
		ioctl_or_throw(vcpu, KVM_RUN, "KVM_RUN");
		return run.as<kvm_run>()->exit_reason;
	}
};

Fd open_kvm()
{
	if (!kvmx::exists(kvmx::test::options().ref_device))
		SKIP(kvmx::test::options().ref_device + " absent (is kvm_intel loaded?)");
	return Fd::open(kvmx::test::options().ref_device, O_RDWR);
}

} // namespace

KVMX_TEST(insmod_refused_while_kvm_holds_vmx)
{
	kvmx::test::KvmxReloadGuard guard;
	Fd kvm = open_kvm();
	ASSERT_EQ(module::unload("kvmx"), 0);
	KmsgWatch kmsg;
	{
		HltGuest guest(kvm); // kvm_intel turns VMX on here
		EXPECT_EQ(module::load(guard.path()), -EBUSY);
		EXPECT_TRUE(!module::loaded("kvmx"));
		EXPECT_TRUE(kmsg.saw("VMX is already in use by another hypervisor"));
		// kvm_intel did not notice: its guest runs to its HLT.
		EXPECT_EQ(guest.run_once(), static_cast<uint32_t>(KVM_EXIT_HLT));
	}
	// The last KVM VM is gone, so VMX is free again.
	EXPECT_EQ(module::load(guard.path()), 0);
	EXPECT_EQ(kmsg.first_splat(), std::string());
}

KVMX_TEST(kvm_vm_refused_while_kvmx_loaded)
{
	kvmx::test::KvmxReloadGuard guard;
	Fd kvm = open_kvm();
	ASSERT_TRUE(module::loaded("kvmx"));
	EXPECT_EQ(ioctl_result(kvm, KVM_CREATE_VM, 0UL), -EBUSY);
	// kvmx is unaffected, and once it is gone KVM works again.
	Fd dev = Fd::open("/dev/kvmx", O_RDWR);
	EXPECT_EQ(ioctl_result(dev, KVM_GET_API_VERSION), 12L);
	dev.reset();
	ASSERT_EQ(module::unload("kvmx"), 0);
	HltGuest guest(kvm);
	EXPECT_EQ(guest.run_once(), static_cast<uint32_t>(KVM_EXIT_HLT));
}
