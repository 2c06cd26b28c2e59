// SPDX-License-Identifier: GPL-2.0
// kvmx and kvm_intel both want VMX.  kvm_intel (Linux 6.1) takes VMX when
// its first VM is created; kvmx takes it on load.  Whichever comes second
// must be refused cleanly, and the one that holds VMX must keep working.
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include "lib/kvm_abi.h"

#include "lib/kvmx_module.h"
#include "lib/tiny_guest.h"
#include "lib/sys.h"
#include "lib/test.h"

using kvmx::Fd;
using kvmx::ioctl_result;
using kvmx::KmsgWatch;
namespace module = kvmx::module;

namespace {

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
		// hlt; kvm_intel takes VMX when this VM is created
		kvmx::test::TinyGuest guest(kvm, {0xf4});
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
	kvmx::test::TinyGuest guest(kvm, {0xf4}); // hlt
	EXPECT_EQ(guest.run_once(), static_cast<uint32_t>(KVM_EXIT_HLT));
}
