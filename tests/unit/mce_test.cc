// SPDX-License-Identifier: GPL-2.0
// Machine-check MSRs (kvmx/mce.h): KVM's rules for KVM_X86_SETUP_MCE and
// for writes to IA32_MCG_CTL, the banks and MCi_CTL2, and KVM_X86_SET_MCE
// (kvmx_mce_inject(): KVM's kvm_vcpu_ioctl_x86_set_mce(), Linux 6.2).
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
	EXPECT_TRUE(kvmx_mce_cap_valid(KVMX_BIT(10) | 1));   // CMCI_P: offered, as Linux 6.2
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

TEST(Mce, Ctl2OnlyWithCmci)
{
	const uint64_t cmci = KVMX_MCG_CMCI_P | 8, plain = 8;

	EXPECT_EQ(kvmx_mce_ctl2_bank(0x280), 0);
	EXPECT_EQ(kvmx_mce_ctl2_bank(0x29f), 31);
	EXPECT_EQ(kvmx_mce_ctl2_bank(0x2a0), -1);
	EXPECT_EQ(kvmx_mce_ctl2_bank(0x27f), -1);
	// Only the banks MCG_CAP has.
	EXPECT_TRUE(kvmx_mce_ctl2_read_ok(cmci, 7, false));
	EXPECT_FALSE(kvmx_mce_ctl2_read_ok(cmci, 8, true));
	EXPECT_FALSE(kvmx_mce_ctl2_write_ok(cmci, 8, 0, true));
	// Without CMCI_P: user space reads and writes 0, the guest nothing.
	EXPECT_TRUE(kvmx_mce_ctl2_read_ok(plain, 0, true));
	EXPECT_FALSE(kvmx_mce_ctl2_read_ok(plain, 0, false));
	EXPECT_TRUE(kvmx_mce_ctl2_write_ok(plain, 0, 0, true));
	EXPECT_FALSE(kvmx_mce_ctl2_write_ok(plain, 0, 0, false));
	EXPECT_FALSE(kvmx_mce_ctl2_write_ok(plain, 0, KVMX_MCI_CTL2_CMCI_EN, true));
	// With it: CMCI_EN and the threshold, any other bit is #GP.
	EXPECT_TRUE(kvmx_mce_ctl2_write_ok(cmci, 7, KVMX_MCI_CTL2_CMCI_EN | 0x7fff, false));
	EXPECT_FALSE(kvmx_mce_ctl2_write_ok(cmci, 7, KVMX_BIT(29), false));
	EXPECT_FALSE(kvmx_mce_ctl2_write_ok(cmci, 7, KVMX_BIT(15), true));
}

struct kvmx_mce fresh(uint64_t cap)
{
	struct kvmx_mce m = {};

	m.cap = cap;
	m.ctl = ~0ULL;
	for (uint64_t i = 0; i < (cap & 0xff); i++)
		m.banks[4 * i] = ~0ULL;
	return m;
}

constexpr uint64_t kVal = KVMX_MCI_STATUS_VAL, kUc = KVMX_MCI_STATUS_UC;
constexpr uint64_t kCap = KVMX_MCG_CTL_P | KVMX_MCG_CMCI_P | KVMX_MCG_SER_P | 10;

TEST(Mce, InjectRefusesBadBankAndInvalidStatus)
{
	struct kvmx_mce m = fresh(kCap);
	struct kvmx_mce_event ev = {kVal, 0, 0, 0, 10};

	EXPECT_EQ(kvmx_mce_inject(&m, &ev, true), KVMX_MCE_INVALID);
	ev.bank = 9;
	ev.status = kUc;	// no VAL
	EXPECT_EQ(kvmx_mce_inject(&m, &ev, true), KVMX_MCE_INVALID);
	EXPECT_EQ(m.banks[4 * 9 + 1], 0u);
}

TEST(Mce, UcnaIsACmciOnlyWithCmciEn)
{
	struct kvmx_mce m = fresh(kCap);
	struct kvmx_mce_event ev = {kVal | kUc | 0x10090, 0xdeadbeef, 0x8c, 0, 7};

	// Logged in the bank whatever MCi_CTL2 says; a CMCI only with CMCI_EN.
	EXPECT_EQ(kvmx_mce_inject(&m, &ev, false), KVMX_MCE_LOGGED);
	EXPECT_EQ(m.banks[4 * 7 + 1], ev.status);
	EXPECT_EQ(m.banks[4 * 7 + 2], 0xdeadbeefu);
	EXPECT_EQ(m.banks[4 * 7 + 3], 0x8cu);
	m.ctl2[7] = KVMX_MCI_CTL2_CMCI_EN;
	ev.addr = 0xcafeb0ba;
	EXPECT_EQ(kvmx_mce_inject(&m, &ev, false), KVMX_MCE_CMCI);
	EXPECT_EQ(m.banks[4 * 7 + 2], 0xcafeb0bau);
	// A UCNA overwrites without OVER, even with reporting off.
	EXPECT_EQ(m.banks[4 * 7 + 1] & KVMX_MCI_STATUS_OVER, 0u);
	m.ctl = 0;
	EXPECT_EQ(kvmx_mce_inject(&m, &ev, false), KVMX_MCE_CMCI);
	// Without MCG_CMCI_P, no CMCI.
	m.cap = kCap & ~KVMX_MCG_CMCI_P;
	EXPECT_EQ(kvmx_mce_inject(&m, &ev, false), KVMX_MCE_LOGGED);
	// Not a UCNA: MCG_STATUS set, or PCC, S or AR.
	m.cap = kCap;
	m.ctl = ~0ULL;
	ev.status |= KVMX_MCI_STATUS_S | KVMX_MCI_STATUS_AR;
	ev.mcg_status = 5;	// RIPV, MCIP
	EXPECT_EQ(kvmx_mce_inject(&m, &ev, true), KVMX_MCE_EXCEPTION);
	EXPECT_EQ(m.status, 5u);
	EXPECT_NE(m.banks[4 * 7 + 1] & KVMX_MCI_STATUS_OVER, 0u); // the UCNA was valid
}

TEST(Mce, UncorrectedIsAMachineCheck)
{
	struct kvmx_mce m = fresh(kCap);
	struct kvmx_mce_event ev = {kVal | kUc | KVMX_MCI_STATUS_PCC, 0x1000, 0, 5, 2};

	EXPECT_EQ(kvmx_mce_inject(&m, &ev, true), KVMX_MCE_EXCEPTION);
	EXPECT_EQ(m.banks[4 * 2 + 1], ev.status);
	EXPECT_EQ(m.status, 5u);
	// A second one while MCIP: shutdown, the bank untouched.
	ev.addr = 0x2000;
	EXPECT_EQ(kvmx_mce_inject(&m, &ev, true), KVMX_MCE_SHUTDOWN);
	EXPECT_EQ(m.banks[4 * 2 + 2], 0x1000u);
	// CR4.MCE clear: shutdown too.
	m.status = 0;
	EXPECT_EQ(kvmx_mce_inject(&m, &ev, false), KVMX_MCE_SHUTDOWN);
	// Reporting off (MCG_CTL, or the bank's MCi_CTL): dropped.
	m.ctl = 0;
	EXPECT_EQ(kvmx_mce_inject(&m, &ev, true), KVMX_MCE_LOGGED);
	m.ctl = ~0ULL;
	m.banks[4 * 2] = 0;
	EXPECT_EQ(kvmx_mce_inject(&m, &ev, true), KVMX_MCE_LOGGED);
	EXPECT_EQ(m.banks[4 * 2 + 2], 0x1000u);
	// Without MCG_CTL_P, MCG_CTL does not matter.
	m.cap = 10;
	m.banks[4 * 2] = ~0ULL;
	m.ctl = 0;
	EXPECT_EQ(kvmx_mce_inject(&m, &ev, true), KVMX_MCE_EXCEPTION);
	EXPECT_EQ(m.banks[4 * 2 + 1], ev.status | KVMX_MCI_STATUS_OVER);
}

TEST(Mce, CorrectedNeverOverwritesUncorrected)
{
	struct kvmx_mce m = fresh(kCap);
	struct kvmx_mce_event ev = {kVal | 0x17a, 0x3000, 0x4, 0, 0};

	EXPECT_EQ(kvmx_mce_inject(&m, &ev, true), KVMX_MCE_LOGGED);
	EXPECT_EQ(m.banks[1], ev.status);
	ev.addr = 0x5000;
	EXPECT_EQ(kvmx_mce_inject(&m, &ev, true), KVMX_MCE_LOGGED);
	EXPECT_EQ(m.banks[1], ev.status | KVMX_MCI_STATUS_OVER);
	EXPECT_EQ(m.banks[2], 0x5000u);
	m.banks[1] = kVal | kUc | KVMX_MCI_STATUS_PCC;
	EXPECT_EQ(kvmx_mce_inject(&m, &ev, true), KVMX_MCE_LOGGED);
	EXPECT_EQ(m.banks[1], kVal | kUc | KVMX_MCI_STATUS_PCC | KVMX_MCI_STATUS_OVER);
	EXPECT_EQ(m.banks[2], 0x5000u);
	EXPECT_EQ(m.status, 0u);
}

} // namespace
