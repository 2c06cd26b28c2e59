// SPDX-License-Identifier: GPL-2.0
// The system ioctls, on the device fd itself.  Runs on /dev/kvmx and on
// /dev/kvm: where KVM defines the answer, both must give it.
#include <algorithm>
#include <array>
#include <cerrno>
#include <fcntl.h>
#include "lib/kvm_abi.h"
#include <linux/kvmx.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>

#include "lib/sys.h"
#include "lib/test.h"

using kvmx::Fd;
using kvmx::ioctl_result;
using kvmx::test::open_device;
using kvmx::test::options;

namespace {

// KVM capabilities kvmx backs today.  Each is proved by the case of the
// same name in vm_caps.cc (vCPU state: in vcpu_ioctls.cc; MCE: in
// vmm_msrs.cc; quirks, the boot CPU and PV features: in pv_quirks.cc); a
// number may only be added here with its case.
constexpr std::array kBackedCaps{
	long{KVM_CAP_USER_MEMORY},	    // user_memory
	long{KVM_CAP_SET_TSS_ADDR},	    // set_tss_addr
	long{KVM_CAP_EXT_CPUID},	    // ext_cpuid
	long{KVM_CAP_MP_STATE},		    // mp_state
	long{KVM_CAP_DESTROY_MEMORY_REGION_WORKS}, // destroy_memory_region_works
	long{KVM_CAP_JOIN_MEMORY_REGIONS_WORKS},   // join_memory_regions_works
	long{KVM_CAP_SET_IDENTITY_MAP_ADDR}, // set_identity_map_addr
	long{KVM_CAP_READONLY_MEM},	    // readonly_mem
	long{KVM_CAP_IMMEDIATE_EXIT},	    // immediate_exit
	long{KVM_CAP_NR_VCPUS},		    // max_vcpus_and_ids
	long{KVM_CAP_MAX_VCPUS},	    // max_vcpus_and_ids
	long{KVM_CAP_MAX_VCPU_ID},	    // max_vcpus_and_ids
	long{KVM_CAP_NR_MEMSLOTS},	    // nr_memslots
	long{KVM_CAP_BINARY_STATS_FD},	    // binary_stats_fd
	long{KVM_CAP_IOEVENTFD},	    // ioeventfd
	long{KVM_CAP_IOEVENTFD_NO_LENGTH},  // ioeventfd_no_length
	long{KVM_CAP_IOEVENTFD_ANY_LENGTH}, // ioeventfd_any_length
	long{KVM_CAP_IRQFD},		    // irqfd
	long{KVM_CAP_IRQCHIP},		    // irqchip
	long{KVM_CAP_IRQ_ROUTING},	    // irq_routing
	long{KVM_CAP_IRQ_INJECT_STATUS},    // irq_inject_status
	long{KVM_CAP_SIGNAL_MSI},	    // signal_msi
	long{KVM_CAP_SPLIT_IRQCHIP},	    // split_irqchip
	long{KVM_CAP_PIT},		    // pit
	long{KVM_CAP_PIT2},		    // pit2
	long{KVM_CAP_PIT_STATE2},	    // pit_state2
	long{KVM_CAP_REINJECT_CONTROL},	    // reinject_control
	long{KVM_CAP_MMU_SHADOW_CACHE_CONTROL}, // mmu_shadow_cache_control
	long{KVM_CAP_MSR_PLATFORM_INFO},    // msr_platform_info
	long{KVM_CAP_GET_MSR_FEATURES},	    // get_msr_features
	long{KVM_CAP_VCPU_EVENTS},	    // vcpu_ioctls: vcpu_events_*
	long{KVM_CAP_SYNC_REGS},	    // vcpu_ioctls: sync_regs
	long{KVM_CAP_DEBUGREGS},	    // vcpu_ioctls: debugregs
	long{KVM_CAP_MCE},		    // vmm_msrs: mce_as_qemu_sets_it_up
	long{KVM_CAP_SET_BOOT_CPU_ID},	    // pv_quirks: set_boot_cpu_id
	long{KVM_CAP_DISABLE_QUIRKS},	    // pv_quirks: disable_quirks
	long{KVM_CAP_DISABLE_QUIRKS2},	    // pv_quirks: disable_quirks2
	long{KVM_CAP_ENFORCE_PV_FEATURE_CPUID}, // pv_quirks: enforce_pv_feature_cpuid
	long{KVM_CAP_VCPU_ATTRIBUTES},	    // pv_quirks: vcpu_attributes
	long{KVM_CAP_XSAVE},		    // pv_quirks: xsave
	long{KVM_CAP_XCRS},		    // pv_quirks: xcrs
	long{KVM_CAP_X86_USER_SPACE_MSR},   // pv_quirks: x86_user_space_msr
	long{KVM_CAP_X86_MSR_FILTER},	    // pv_quirks: x86_msr_filter
	long{KVM_CAP_ADJUST_CLOCK},	    // pv_quirks: adjust_clock
	long{KVM_CAP_USER_NMI},		    // guest_interrupts: nmi_from_user_space
	long{KVM_CAP_SET_GUEST_DEBUG},	    // guest_debug: singlestep, sw_breakpoint, hw_breakpoints
	long{KVM_CAP_SET_GUEST_DEBUG2},	    // guest_debug: cap, blockirq
	long{KVM_CAP_GET_TSC_KHZ},	    // vcpu_ioctls: tsc_khz
	long{KVM_CAP_CHECK_EXTENSION_VM},   // vcpu_ioctls: check_extension_vm
	long{KVM_CAP_EXIT_ON_EMULATION_FAILURE}, // mmio_insns: exit_on_emulation_failure
};

bool backed(long cap)
{
	return std::find(kBackedCaps.begin(), kBackedCaps.end(), cap) != kBackedCaps.end();
}

} // namespace

KVMX_TEST(device_node)
{
	struct stat st{};
	ASSERT_EQ(::stat(options().device.c_str(), &st), 0);
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(major(st.st_rdev), 10u); // a misc device, like /dev/kvm
}

KVMX_TEST(api_version)
{
	Fd dev = open_device();
	EXPECT_EQ(ioctl_result(dev, KVM_GET_API_VERSION), 12L);
	EXPECT_EQ(ioctl_result(dev, KVM_GET_API_VERSION, 1UL), -EINVAL);
}

KVMX_TEST(vcpu_mmap_size)
{
	Fd dev = open_device();
	long size = ioctl_result(dev, KVM_GET_VCPU_MMAP_SIZE);
	long page = ::sysconf(_SC_PAGESIZE);
	// struct kvm_run, then the PIO data page at KVM_PIO_PAGE_OFFSET.
	EXPECT_TRUE(size >= 2 * page);
	EXPECT_EQ(size % page, 0L);
	if (options().testing_kvmx())
		EXPECT_EQ(size, KVMX_VCPU_MMAP_PAGES * page);
	EXPECT_EQ(ioctl_result(dev, KVM_GET_VCPU_MMAP_SIZE, 1UL), -EINVAL);
}

// An ioctl the system fd does not know is -EINVAL, as KVM answers it
// (programs written for KVM may test for that errno).
KVMX_TEST(unknown_ioctls)
{
	Fd dev = open_device();
	const long want = -EINVAL;
	struct termios t{};
	EXPECT_EQ(ioctl_result(dev, _IO(KVMIO, 0xfe)), want);
	EXPECT_EQ(ioctl_result(dev, _IOW(KVMIO, 0x01, int)), want);
	EXPECT_EQ(ioctl_result(dev, TCGETS, &t), want);
	// A vCPU ioctl on the system fd.
	EXPECT_EQ(ioctl_result(dev, KVM_RUN), want);
}

// Every capability number 0..300 gets an answer kvmx can back, and where
// kvmx claims one, the reference KVM in the same boot claims it too.
KVMX_TEST(check_extension)
{
	if (!options().testing_kvmx())
		SKIP("compares kvmx against " + options().ref_device);
	Fd dev = open_device();
	Fd ref;
	if (kvmx::exists(options().ref_device))
		ref = Fd::open(options().ref_device, O_RDWR);
	else
		kvmx::test::diag(options().ref_device + " absent: not compared");

	for (long cap = 0; cap <= 300; cap++) {
		long r = ioctl_result(dev, KVM_CHECK_EXTENSION, static_cast<unsigned long>(cap));
		EXPECT_TRUE(r >= 0);
		if (r == 0)
			continue;
		if (!backed(cap))
			kvmx::test::fail(__FILE__, __LINE__,
					 "claims capability " + std::to_string(cap) +
						 " that no selftest backs");
		if (ref.valid() && ioctl_result(ref, KVM_CHECK_EXTENSION,
						static_cast<unsigned long>(cap)) <= 0)
			kvmx::test::fail(__FILE__, __LINE__,
					 "claims capability " + std::to_string(cap) +
						 " that KVM does not");
	}
	// Out-of-range numbers answer 0, as in KVM.
	EXPECT_EQ(ioctl_result(dev, KVM_CHECK_EXTENSION, static_cast<unsigned long>(-1L)), 0L);
	EXPECT_EQ(ioctl_result(dev, KVM_CHECK_EXTENSION, 1UL << 40), 0L);
	EXPECT_EQ(ioctl_result(dev, KVM_CHECK_EXTENSION, static_cast<unsigned long>(KVMX_CAP_BASE)
		  + 0xffff), 0L);
}
