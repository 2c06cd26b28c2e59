// SPDX-License-Identifier: GPL-2.0
// kvmx and kvm_intel both want VMX.  kvm_intel (Linux 6.1) takes VMX when
// its first VM is created; kvmx takes it on load.  Whichever comes second
// must be refused cleanly, and the one that holds VMX must keep working.
// (Loading beside kvm_intel with no KVM VM is what the runner does.)
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

// A KVM guest counting in EAX: each KVM_RUN ends at its OUT with the
// next number; true when it did.
bool count_once(kvmx::test::TinyGuest &guest, uint32_t expect)
{
	if (guest.run_once() != KVM_EXIT_IO || guest.run()->io.port != 0x80)
		return false;
	const auto *data = reinterpret_cast<const uint8_t *>(guest.run()) +
			   guest.run()->io.data_offset;
	return *data == (expect & 0xff) && (guest.regs().rax & 0xffffffff) == expect;
}

} // namespace

KVMX_TEST(insmod_refused_while_kvm_holds_vmx)
{
	constexpr int kAttempts = 10;
	kvmx::test::KvmxReloadGuard guard;
	Fd kvm = open_kvm();
	ASSERT_EQ(module::unload("kvmx"), 0);
	KmsgWatch kmsg;
	{
		// 1000: inc eax; out 0x80, al; jmp 1000 (kvm_intel takes VMX
		// when this VM is created)
		kvmx::test::TinyGuest guest(kvm, {0x66, 0x40, 0xe6, 0x80, 0xeb, 0xfa});
		uint32_t n = 0;
		for (int i = 0; i < 3; i++)
			ASSERT_TRUE(count_once(guest, ++n));
		// Every attempt is refused; between them, and after, the KVM
		// guest goes on counting from where it was.
		int refused = 0;
		for (int i = 0; i < kAttempts; i++) {
			if (module::load(guard.path()) == -EBUSY)
				refused++;
			EXPECT_TRUE(!module::loaded("kvmx"));
			EXPECT_TRUE(count_once(guest, ++n));
		}
		EXPECT_EQ(refused, kAttempts);
		EXPECT_TRUE(kmsg.saw("VMX is already in use by another hypervisor"));
		for (int i = 0; i < 20; i++)
			EXPECT_TRUE(count_once(guest, ++n));
		kvmx::test::diag(std::to_string(refused) + " of " + std::to_string(kAttempts) +
				 " loads refused while a KVM VM ran; its guest counted to " +
				 std::to_string(n) + " without a miss");
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
