// SPDX-License-Identifier: GPL-2.0
// Machine-check MSRs (kvmx/mce.h): KVM's rules for KVM_X86_SETUP_MCE and
// for writes to IA32_MCG_CTL and the banks.
#include <gtest/gtest.h>

extern "C" {
#include "mce.h"
}

namespace {

TEST(Mce, SetupTakesOneTo32BanksAndKnownBits)
{
	EXPECT_TRUE(kvmx_mce_cap_valid(KVMX_MCG_CTL_P | KVMX_MCG_SER_P | 10)); // QEMU's
	EXPECT_TRUE(kvmx_mce_cap_valid(1));
	EXPECT_TRUE(kvmx_mce_cap_valid(32 | KVMX_MCE_CAP_SUPPORTED | 0x120000)); // 23:16 kept
	EXPECT_FALSE(kvmx_mce_cap_valid(0));
	EXPECT_FALSE(kvmx_mce_cap_valid(33));
	EXPECT_FALSE(kvmx_mce_cap_valid(KVMX_BIT(9) | 1));   // TES_P: not offered
	EXPECT_FALSE(kvmx_mce_cap_valid(KVMX_BIT(10) | 1));  // CMCI_P: not offered
	EXPECT_FALSE(kvmx_mce_cap_valid(KVMX_BIT(32) | 1));
}

TEST(Mce, BankRegistersFollowTheBankCount)
{
	EXPECT_EQ(kvmx_mce_bank_reg(0x400, 10), 0);
	EXPECT_EQ(kvmx_mce_bank_reg(0x427, 10), 39);
	EXPECT_EQ(kvmx_mce_bank_reg(0x428, 10), -1);
	EXPECT_EQ(kvmx_mce_bank_reg(0x3ff, 10), -1);
	EXPECT_EQ(kvmx_mce_bank_reg(0x47f, 32), 127);
	EXPECT_EQ(kvmx_mce_bank_reg(0x480, 32), -1);
	EXPECT_EQ(kvmx_mce_bank_reg(0x400, 0), -1);
}

TEST(Mce, BankWrites)
{
	EXPECT_TRUE(kvmx_mce_bank_write_ok(0, 0, false));
	EXPECT_TRUE(kvmx_mce_bank_write_ok(4, ~0ULL, false));
	EXPECT_TRUE(kvmx_mce_bank_write_ok(16, ~0ULL & ~KVMX_BIT(10), false)); // Linux's K8 quirk
	EXPECT_TRUE(kvmx_mce_bank_write_ok(4, ~0ULL & ~1ULL, false));	      // UnixWare's
	EXPECT_FALSE(kvmx_mce_bank_write_ok(0, 5, true));
	EXPECT_FALSE(kvmx_mce_bank_write_ok(0, ~0ULL & ~KVMX_BIT(2), true));
	// MCi_STATUS: user space may set it, the guest may only clear it.
	EXPECT_TRUE(kvmx_mce_bank_write_ok(1, 0xb000000000000135ULL, true));
	EXPECT_FALSE(kvmx_mce_bank_write_ok(1, 1, false));
	EXPECT_TRUE(kvmx_mce_bank_write_ok(1, 0, false));
	// ADDR and MISC: anything.
	EXPECT_TRUE(kvmx_mce_bank_write_ok(2, 0x1234, false));
	EXPECT_TRUE(kvmx_mce_bank_write_ok(3, 0x1234, false));
}

TEST(Mce, McgCtl)
{
	EXPECT_TRUE(kvmx_mcg_ctl_write_ok(KVMX_MCG_CTL_P | 10, ~0ULL, false));
	EXPECT_TRUE(kvmx_mcg_ctl_write_ok(KVMX_MCG_CTL_P | 10, 0, false));
	EXPECT_FALSE(kvmx_mcg_ctl_write_ok(KVMX_MCG_CTL_P | 10, 1, true));
	EXPECT_TRUE(kvmx_mcg_ctl_write_ok(32, 0, true));
	EXPECT_FALSE(kvmx_mcg_ctl_write_ok(32, 0, false));
	EXPECT_FALSE(kvmx_mcg_ctl_write_ok(32, ~0ULL, true));
}

} // namespace
