// SPDX-License-Identifier: GPL-2.0
// Choosing a VM's MMU (KVMX_CAP_MMU): what KVM_CHECK_EXTENSION offers,
// what KVM_ENABLE_CAP accepts and refuses, and that a VM on the chosen
// MMU runs guests with RAM and cached MMIO.  On /dev/kvm the capability
// does not exist, and KVM says so.
#include <cerrno>
#include <fstream>
#include <linux/kvmx.h>
#include <map>
#include <string>

#include "lib/kvm_abi.h"
#include "lib/stats.h"
#include "lib/sys.h"
#include "lib/test.h"
#include "lib/tiny_guest.h"

using kvmx::Fd;
using kvmx::ioctl_result;
using kvmx::StatsReader;
using kvmx::test::GuestMode;
using kvmx::test::open_device;
using kvmx::test::TinyGuest;

namespace {

long choose(const Fd &vm, uint64_t mmu, uint32_t flags = 0)
{
	kvm_enable_cap cap{};
	cap.cap = KVMX_CAP_MMU;
	cap.flags = flags;
	cap.args[0] = mmu;
	return ioctl_result(vm, KVM_ENABLE_CAP, &cap);
}

Fd new_vm(const Fd &dev)
{
	return Fd(static_cast<int>(ioctl_result(dev, KVM_CREATE_VM, 0UL)));
}

// Whether kvmx.ko was loaded with ept on (its default).
bool ept_param()
{
	std::ifstream f("/sys/module/kvmx/parameters/ept");
	std::string v;
	return !(f >> v) || v != "N";
}

} // namespace

// kvmx offers EPT and shadow paging, shadow only with ept=0; KVM has no
// such capability.
KVMX_TEST(check_extension)
{
	Fd dev = open_device();
	long offered = ioctl_result(dev, KVM_CHECK_EXTENSION, KVMX_CAP_MMU);
	if (!kvmx::test::options().testing_kvmx()) {
		EXPECT_EQ(offered, 0L);
		return;
	}
	EXPECT_EQ(offered, (ept_param() ? 1L << KVMX_MMU_EPT : 0L) | 1L << KVMX_MMU_SHADOW);
	// The VM fd answers the same.
	Fd vm = new_vm(dev);
	EXPECT_EQ(ioctl_result(vm, KVM_CHECK_EXTENSION, KVMX_CAP_MMU), offered);
}

KVMX_TEST(enable_cap)
{
	Fd dev = open_device();
	Fd vm = new_vm(dev);
	if (!kvmx::test::options().testing_kvmx()) {
		// KVM: no such capability to enable.
		EXPECT_EQ(choose(vm, KVMX_MMU_EPT), -EINVAL);
		return;
	}
	if (!ept_param()) {
		// ept=0: every VM is shadow-paged, EPT is not offered.
		EXPECT_EQ(choose(vm, KVMX_MMU_EPT), -EOPNOTSUPP);
		EXPECT_EQ(choose(vm, KVMX_MMU_SHADOW), 0L);
	} else {
		EXPECT_EQ(choose(vm, KVMX_MMU_EPT), 0L);
		EXPECT_EQ(choose(vm, KVMX_MMU_EPT), 0L); // again: nothing changes
		EXPECT_EQ(choose(vm, KVMX_MMU_SHADOW), 0L);
		EXPECT_EQ(choose(vm, KVMX_MMU_SHADOW), 0L);
		EXPECT_EQ(choose(vm, KVMX_MMU_EPT), 0L); // and back, before a vCPU
	}
	EXPECT_EQ(choose(vm, 2), -EINVAL);
	EXPECT_EQ(choose(vm, ~0ULL), -EINVAL);
	EXPECT_EQ(choose(vm, KVMX_MMU_SHADOW, 1), -EINVAL); // flags must be 0
	Fd vcpu(static_cast<int>(ioctl_result(vm, KVM_CREATE_VCPU, 0UL)));
	EXPECT_TRUE(vcpu.valid());
	EXPECT_EQ(choose(vm, KVMX_MMU_SHADOW), -EBUSY);
}

// A VM that chose its MMU runs: RAM is mapped, and MMIO is cached (the
// second access to the page takes the fast path), on either MMU.
static void run_on(uint64_t mmu)
{
	Fd dev = open_device();
	// 32-bit paged-off protected mode: mov [0x2000],al twice; hlt
	TinyGuest g(dev, {0xa2, 0x00, 0x20, 0x00, 0x00, 0xa2, 0x00, 0x20, 0x00, 0x00, 0xf4},
		    GuestMode::kProtected32, [mmu](const Fd &vm) {
			    if (choose(vm, mmu) != 0)
				    kvmx::throw_errno("KVM_ENABLE_CAP(KVMX_CAP_MMU)");
		    });
	int mmio = 0;
	for (;;) {
		uint32_t reason = g.run_once();
		if (reason == KVM_EXIT_HLT)
			break;
		ASSERT_EQ(reason, static_cast<uint32_t>(KVM_EXIT_MMIO));
		EXPECT_EQ(g.run()->mmio.phys_addr, 0x2000ULL);
		mmio++;
	}
	EXPECT_EQ(mmio, 2);
	std::map<std::string, uint64_t> stats = StatsReader::of(g.vcpu).values();
	EXPECT_EQ(stats["mmio_slow"], 1u);
	EXPECT_EQ(stats["mmio_fast"], 1u);
}

KVMX_TEST(chosen_mmu_runs_a_guest)
{
	if (!kvmx::test::options().testing_kvmx())
		SKIP("KVMX_CAP_MMU is kvmx's own");
	if (!ept_param())
		SKIP("ept=0: no EPT to choose");
	run_on(KVMX_MMU_EPT);
}

KVMX_TEST(chosen_shadow_mmu_runs_a_guest)
{
	if (!kvmx::test::options().testing_kvmx())
		SKIP("KVMX_CAP_MMU is kvmx's own");
	run_on(KVMX_MMU_SHADOW);
}
