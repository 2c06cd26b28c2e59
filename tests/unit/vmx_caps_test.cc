// SPDX-License-Identifier: GPL-2.0
// VMX capability-MSR decoding (kvmx/vmx/caps.c).
#include <gtest/gtest.h>

extern "C" {
#include "vmx/caps.h"
}

namespace {

constexpr uint64_t ctl(uint32_t must_be_one, uint32_t may_be_one)
{
	return (uint64_t{may_be_one} << 32) | must_be_one;
}

// Values as a Skylake client CPU reports them (true controls present).
kvmx_vmx_msrs skylake()
{
	kvmx_vmx_msrs m{};
	m.basic = 0x00da040000000004ULL;
	m.pinbased = ctl(0x00000016, 0x0000007f);
	m.procbased = ctl(0x04006172, 0xfff9fffe);
	m.exit = ctl(0x00036dfb, 0x01ffffff);
	m.entry = ctl(0x000011fb, 0x0003ffff);
	m.misc = 0x000000007004c1e7ULL;
	m.cr0_fixed0 = 0x80000021;
	m.cr0_fixed1 = 0xffffffff;
	m.cr4_fixed0 = 0x2000;
	m.cr4_fixed1 = 0x3767ff;
	m.vmcs_enum = 0x2e;
	m.procbased2 = ctl(0, 0x1ffcfffb);
	m.ept_vpid = 0x00000f0106734141ULL;
	return m;
}

kvmx_vmx_caps decode(const kvmx_vmx_msrs &m)
{
	kvmx_vmx_caps c{};
	kvmx_vmx_decode(&m, &c);
	return c;
}

TEST(VmxCaps, DecodesBasic)
{
	kvmx_vmx_caps c = decode(skylake());
	EXPECT_EQ(c.revision_id, 4u);
	EXPECT_EQ(c.vmcs_size, 1024u);
	EXPECT_EQ(c.vmcs_memtype, KVMX_VMX_MEMTYPE_WB);
	EXPECT_TRUE(c.ins_outs_info);
	EXPECT_TRUE(c.true_ctls);
	EXPECT_FALSE(c.phys_addr_32bit);
	EXPECT_TRUE(c.dual_monitor);
	EXPECT_EQ(kvmx_vmx_unusable(&c), nullptr);
}

TEST(VmxCaps, RevisionIgnoresBit31)
{
	kvmx_vmx_msrs m = skylake();
	m.basic |= 1ULL << 31;
	EXPECT_EQ(decode(m).revision_id, 4u);
}

TEST(VmxCaps, DecodesControlsAndFeatures)
{
	kvmx_vmx_caps c = decode(skylake());
	EXPECT_EQ(c.pin.must_be_one, 0x16u);
	EXPECT_EQ(c.pin.may_be_one, 0x7fu);
	EXPECT_EQ(c.proc.may_be_one, 0xfff9fffeu);
	EXPECT_EQ(c.proc2.may_be_one, 0x1ffcfffbu);
	EXPECT_TRUE(c.ept);
	EXPECT_TRUE(c.vpid);
	EXPECT_TRUE(c.unrestricted_guest);
	EXPECT_FALSE(c.pml); // PML is a server part feature
	EXPECT_TRUE(c.preemption_timer);
	EXPECT_TRUE(kvmx_vmx_has(&c, KVMX_EPT_CAP_PWL4));
	EXPECT_TRUE(kvmx_vmx_has(&c, KVMX_EPT_CAP_WB));
	EXPECT_TRUE(kvmx_vmx_has(&c, KVMX_EPT_CAP_2M));
	EXPECT_TRUE(kvmx_vmx_has(&c, KVMX_EPT_CAP_1G));
	EXPECT_TRUE(kvmx_vmx_has(&c, KVMX_EPT_CAP_AD));
	EXPECT_TRUE(kvmx_vmx_has(&c, KVMX_EPT_CAP_INVEPT_SINGLE));
	EXPECT_TRUE(kvmx_vmx_has(&c, KVMX_EPT_CAP_INVEPT_ALL));
	EXPECT_TRUE(kvmx_vmx_has(&c, KVMX_VPID_CAP_SINGLE));
	EXPECT_FALSE(kvmx_vmx_has(&c, KVMX_EPT_CAP_PWL5));
}

TEST(VmxCaps, DecodesMisc)
{
	kvmx_vmx_caps c = decode(skylake());
	EXPECT_EQ(c.preemption_timer_shift, 7u);
	EXPECT_TRUE(c.lma_saved_on_exit);
	EXPECT_TRUE(c.activity_hlt);
	EXPECT_TRUE(c.activity_shutdown);
	EXPECT_TRUE(c.activity_wait_sipi);
	EXPECT_EQ(c.cr3_targets, 4u);
	EXPECT_EQ(c.max_msr_list, 512u);
	EXPECT_TRUE(c.vmwrite_any_field);
	EXPECT_EQ(c.max_vmcs_index, 0x17u);

	kvmx_vmx_msrs m = skylake();
	m.misc |= 7ULL << 25;
	EXPECT_EQ(decode(m).max_msr_list, 512u * 8);
}

TEST(VmxCaps, NoSecondaryControlsMeansNoEptOrVpid)
{
	kvmx_vmx_msrs m = skylake();
	m.procbased &= ~(uint64_t{KVMX_PROC_ACTIVATE_SECONDARY} << 32);
	kvmx_vmx_caps c = decode(m);
	EXPECT_EQ(c.proc2.may_be_one, 0u);
	EXPECT_FALSE(c.ept);
	EXPECT_FALSE(c.vpid);
	EXPECT_FALSE(c.unrestricted_guest);
	EXPECT_EQ(c.ept_vpid, 0u);
}

TEST(VmxCaps, EptBitsOnlyWithEptAndVpidBitsOnlyWithVpid)
{
	kvmx_vmx_msrs m = skylake();
	m.procbased2 &= ~(uint64_t{KVMX_PROC2_EPT} << 32);
	kvmx_vmx_caps c = decode(m);
	EXPECT_FALSE(c.ept);
	EXPECT_FALSE(c.unrestricted_guest); // needs EPT
	EXPECT_FALSE(kvmx_vmx_has(&c, KVMX_EPT_CAP_PWL4));
	EXPECT_TRUE(kvmx_vmx_has(&c, KVMX_VPID_CAP_SINGLE));

	m = skylake();
	m.procbased2 &= ~(uint64_t{KVMX_PROC2_VPID} << 32);
	c = decode(m);
	EXPECT_TRUE(kvmx_vmx_has(&c, KVMX_EPT_CAP_PWL4));
	EXPECT_FALSE(kvmx_vmx_has(&c, KVMX_VPID_CAP_SINGLE));
}

TEST(VmxCaps, UnusableCpus)
{
	struct Case {
		const char *what;
		void (*spoil)(kvmx_vmx_msrs &);
	};
	const Case cases[] = {
		{"revision 0", [](kvmx_vmx_msrs &m) { m.basic &= ~0x7fffffffULL; }},
		{"region size 0", [](kvmx_vmx_msrs &m) { m.basic &= ~(0x1fffULL << 32); }},
		{"region larger than a page",
		 [](kvmx_vmx_msrs &m) { m.basic = (m.basic & ~(0x1fffULL << 32)) | (0x1001ULL << 32); }},
		{"32-bit addresses", [](kvmx_vmx_msrs &m) { m.basic |= 1ULL << 48; }},
		{"uncached VMCS", [](kvmx_vmx_msrs &m) { m.basic &= ~(0xfULL << 50); }},
		{"CR0 fixed bits contradict", [](kvmx_vmx_msrs &m) { m.cr0_fixed1 = 0x1; }},
		{"control requires what it forbids", [](kvmx_vmx_msrs &m) { m.exit = ctl(0x1, 0x0); }},
	};
	for (const Case &c : cases) {
		kvmx_vmx_msrs m = skylake();
		c.spoil(m);
		kvmx_vmx_caps caps = decode(m);
		EXPECT_NE(kvmx_vmx_unusable(&caps), nullptr) << c.what;
	}
}

TEST(VmxCaps, AdjustControls)
{
	const kvmx_vmx_ctl c = {0x16, 0x7f};
	uint32_t out = 0;

	// Required and allowed: granted, plus the bits the CPU forces on.
	ASSERT_TRUE(kvmx_vmx_adjust(&c, 0x1, 0, &out));
	EXPECT_EQ(out, 0x17u);
	// Optional bits that are not allowed are dropped silently.
	ASSERT_TRUE(kvmx_vmx_adjust(&c, 0, 0x100 | 0x40, &out));
	EXPECT_EQ(out, 0x56u);
	// A required bit that is not allowed fails, leaving *out alone.
	out = 0xdead;
	EXPECT_FALSE(kvmx_vmx_adjust(&c, 0x80, 0, &out));
	EXPECT_EQ(out, 0xdeadu);
}

TEST(VmxCaps, FixedBits)
{
	const uint64_t f0 = 0x80000021, f1 = 0xffffffff;
	EXPECT_TRUE(kvmx_vmx_fixed_ok(0x80050033, f0, f1));
	EXPECT_FALSE(kvmx_vmx_fixed_ok(0x80050032, f0, f1));		// PE clear
	EXPECT_FALSE(kvmx_vmx_fixed_ok(0x180050033ULL, f0, f1));	// bit 32 set
	EXPECT_TRUE(kvmx_vmx_fixed_ok(0x2000 | 0x20, 0x2000, 0x3767ff));
	EXPECT_FALSE(kvmx_vmx_fixed_ok(0x20, 0x2000, 0x3767ff));	// VMXE clear
}

} // namespace
