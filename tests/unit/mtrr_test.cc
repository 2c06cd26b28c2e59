// SPDX-License-Identifier: GPL-2.0
// The MTRR MSRs (kvmx/mtrr.h): which MSRs are MTRRs, and KVM's rules for
// what may be written to them (arch/x86/kvm/mtrr.c, kvm_mtrr_valid()).
#include <gtest/gtest.h>

#include <set>

extern "C" {
#include "mtrr.h"
}

namespace {

TEST(Mtrr, EveryMtrrHasItsOwnSlot)
{
	std::set<int> slots;
	for (uint32_t msr = 0; msr < 0x1000; msr++) {
		int s = kvmx_mtrr_slot(msr);
		if (s < 0)
			continue;
		EXPECT_LT(s, KVMX_MTRR_NR_SLOTS) << std::hex << msr;
		EXPECT_TRUE(slots.insert(s).second) << std::hex << msr;
	}
	EXPECT_EQ(slots.size(), size_t(KVMX_MTRR_NR_SLOTS));
	for (uint32_t msr : {0x250u, 0x258u, 0x259u, 0x268u, 0x26fu, 0x200u, 0x20fu, 0x2ffu})
		EXPECT_GE(kvmx_mtrr_slot(msr), 0) << std::hex << msr;
	// MTRRcap is read-only; neighbours of the fixed ranges are not MTRRs.
	for (uint32_t msr : {0xfeu, 0x1ffu, 0x210u, 0x251u, 0x257u, 0x25au, 0x267u, 0x270u, 0x2feu})
		EXPECT_EQ(kvmx_mtrr_slot(msr), -1) << std::hex << msr;
}

TEST(Mtrr, Types)
{
	std::set<uint64_t> valid;
	for (uint64_t t = 0; t < 256; t++)
		if (kvmx_mtrr_type_valid(t))
			valid.insert(t);
	EXPECT_EQ(valid, (std::set<uint64_t>{0, 1, 4, 5, 6}));
}

TEST(Mtrr, DefType)
{
	EXPECT_TRUE(kvmx_mtrr_valid(0x2ff, 0, 36));
	EXPECT_TRUE(kvmx_mtrr_valid(0x2ff, 0xc06, 36)); // E, FE, WB
	EXPECT_FALSE(kvmx_mtrr_valid(0x2ff, 0xc02, 36)); // reserved type
	EXPECT_FALSE(kvmx_mtrr_valid(0x2ff, 0x106, 36)); // bit 8 reserved
	EXPECT_FALSE(kvmx_mtrr_valid(0x2ff, 0x1006, 36)); // bit 12 reserved
}

TEST(Mtrr, FixedRangesCheckEveryByte)
{
	EXPECT_TRUE(kvmx_mtrr_valid(0x250, 0x0606060606060606ULL, 36));
	EXPECT_TRUE(kvmx_mtrr_valid(0x26f, 0x0001040506000104ULL, 36));
	for (int byte = 0; byte < 8; byte++) {
		uint64_t bad = (0x0606060606060606ULL & ~(0xffULL << (8 * byte))) |
			       (7ULL << (8 * byte));
		EXPECT_FALSE(kvmx_mtrr_valid(0x258, bad, 36)) << byte;
	}
}

TEST(Mtrr, VariableRanges)
{
	// PHYSBASE: type in 7:0, 11:8 reserved, address below MAXPHYADDR.
	EXPECT_TRUE(kvmx_mtrr_valid(0x200, 0x80000006ULL, 36));
	EXPECT_FALSE(kvmx_mtrr_valid(0x200, 0x80000007ULL, 36));
	EXPECT_FALSE(kvmx_mtrr_valid(0x200, 0x80000106ULL, 36));
	EXPECT_FALSE(kvmx_mtrr_valid(0x20e, 1ULL << 36, 36));
	EXPECT_TRUE(kvmx_mtrr_valid(0x20e, 1ULL << 36, 39));
	// PHYSMASK: V in bit 11, 10:0 reserved.
	EXPECT_TRUE(kvmx_mtrr_valid(0x201, 0xf80000800ULL, 36));
	EXPECT_FALSE(kvmx_mtrr_valid(0x201, 0xf80000801ULL, 36));
	EXPECT_FALSE(kvmx_mtrr_valid(0x20f, 0x1f80000800ULL, 36));
	EXPECT_TRUE(kvmx_mtrr_valid(0x20f, 0xfff80000800ULL, 52));
	// Not an MTRR at all.
	EXPECT_FALSE(kvmx_mtrr_valid(0xfe, 0, 36));
}

} // namespace
