// SPDX-License-Identifier: GPL-2.0
// Shadow-paging SPTEs (kvmx/mmu/shadow_spte.h): the four kinds of leaf
// told apart by value, MMIO SPTE fields, guest access rights, RAM leaves
// as the CPU's A/D and CR0.WP rules need them, roles and quadrants.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <set>

extern "C" {
#include "mmu/shadow_spte.h"
}

namespace {

// A present entry with a reserved physical-address bit faults with RSVD.
bool faults_rsvd(uint64_t spte)
{
	return (spte & KVMX_SPT_P) && (spte & KVMX_SPT_RSVD_BIT);
}

TEST(ShadowSpte, TrapAndNotrapValues)
{
	EXPECT_TRUE(kvmx_spt_is_trap(kvmx_spt_trap()));
	EXPECT_TRUE(faults_rsvd(kvmx_spt_trap()));
	EXPECT_FALSE(kvmx_spt_is_mmio(kvmx_spt_trap()));
	EXPECT_TRUE(kvmx_spt_is_notrap(kvmx_spt_notrap()));
	// notrap is not present: with bypass on, its #PF (P=0) goes to the guest.
	EXPECT_FALSE(kvmx_spt_present(kvmx_spt_notrap()));
	EXPECT_FALSE(kvmx_spt_is_trap(kvmx_spt_notrap()));
	EXPECT_FALSE(kvmx_spt_is_mmio(kvmx_spt_notrap()));
}

TEST(ShadowSpte, MmioFieldsRoundTrip)
{
	uint64_t spte = kvmx_spt_mmio(0xfee00, KVMX_ACC_W | KVMX_ACC_U, 0x5a5a5);
	EXPECT_TRUE(kvmx_spt_is_mmio(spte));
	EXPECT_TRUE(faults_rsvd(spte));
	EXPECT_EQ(kvmx_spt_mmio_gfn(spte), 0xfee00u);
	EXPECT_EQ(kvmx_spt_mmio_access(spte), unsigned(KVMX_ACC_W | KVMX_ACC_U));
	EXPECT_EQ(kvmx_spt_mmio_gen(spte), 0x5a5a5u);
	EXPECT_EQ(spte >> 63, 0u); // XD would be reserved without EFER.NXE

	uint64_t ro = kvmx_spt_mmio(KVMX_SPT_MAX_MMIO_GFN, KVMX_ACC_X, 0);
	EXPECT_TRUE(kvmx_spt_is_mmio(ro));
	EXPECT_EQ(kvmx_spt_mmio_gfn(ro), KVMX_SPT_MAX_MMIO_GFN);
	EXPECT_EQ(kvmx_spt_mmio_access(ro), 0u); // X is not kept
	// Only the low 19 bits of the generation are stored.
	EXPECT_EQ(kvmx_spt_mmio_gen(kvmx_spt_mmio(1, 0, (1ULL << 19) | 3)), 3u);
}

// The property the 2011 bypass_guest_pf lacked: no value is both a trap
// and an MMIO SPTE, whatever the gfn, access and generation, and no RAM
// leaf is either.
TEST(ShadowSpte, TrapMmioAndRamNeverConfused)
{
	std::mt19937_64 rng(11);
	for (int i = 0; i < 200000; i++) {
		uint64_t gfn = rng() & KVMX_SPT_MAX_MMIO_GFN;
		unsigned int access = rng() & KVMX_ACC_ALL;
		uint64_t gen = rng();
		uint64_t mmio = kvmx_spt_mmio(gfn, access, gen);
		ASSERT_TRUE(kvmx_spt_is_mmio(mmio));
		ASSERT_FALSE(kvmx_spt_is_trap(mmio));
		ASSERT_FALSE(kvmx_spt_is_notrap(mmio));
		ASSERT_EQ(kvmx_spt_mmio_gfn(mmio), gfn);
		ASSERT_EQ(kvmx_spt_mmio_gen(mmio), gen & ((1ULL << 19) - 1));

		kvmx_spt_leaf in = {};
		in.pa = rng() & KVMX_GENMASK(50, 12);
		in.access = rng() & KVMX_ACC_ALL;
		in.gpte_dirty = rng() & 1;
		in.host_writable = rng() & 1;
		in.write_protected = rng() & 1;
		in.write_fault = rng() & 1;
		in.user_fault = rng() & 1;
		in.cr0_wp = rng() & 1;
		in.nxe = rng() & 1;
		uint64_t ram = kvmx_spt_ram(&in);
		ASSERT_TRUE(kvmx_spt_present(ram));
		ASSERT_FALSE(faults_rsvd(ram));
		ASSERT_FALSE(kvmx_spt_is_mmio(ram));
		ASSERT_FALSE(kvmx_spt_is_trap(ram));
	}
}

TEST(ShadowSpte, BypassSendsOnlyNotPresentFaultsToTheGuest)
{
	uint32_t mask = kvmx_spt_pfec_mask(true), match = kvmx_spt_pfec_match(true);
	// Every error code the CPU can give (P, W, U, RSVD, I/D).
	for (uint32_t ec = 0; ec < 32; ec++) {
		bool present = ec & KVMX_PFERR_P;
		EXPECT_EQ(kvmx_spt_pf_exits(ec, mask, match), present) << ec;
		// Bypass off: everything exits.
		EXPECT_TRUE(kvmx_spt_pf_exits(ec, kvmx_spt_pfec_mask(false),
					      kvmx_spt_pfec_match(false))) << ec;
	}
	// What the CPU reports for each kind of leaf: P|RSVD for trap and
	// MMIO (they exit), P=0 for notrap (it does not).
	EXPECT_TRUE(kvmx_spt_pf_exits(KVMX_PFERR_P | KVMX_PFERR_RSVD, mask, match));
	EXPECT_FALSE(kvmx_spt_pf_exits(KVMX_PFERR_W | KVMX_PFERR_U, mask, match));
}

TEST(ShadowSpte, PrefetchLeavesNotrapOnlyForNotPresentGuestEntriesWithBypass)
{
	const uint64_t present = 0x1234067, absent = 0x1234066; // absent: P = 0
	EXPECT_EQ(kvmx_spt_prefetch(absent, true), kvmx_spt_notrap());
	EXPECT_EQ(kvmx_spt_prefetch(present, true), kvmx_spt_trap());
	EXPECT_EQ(kvmx_spt_prefetch(0, true), kvmx_spt_notrap());
	// Bypass off: nothing reaches the guest unseen, 0 exits too.
	EXPECT_EQ(kvmx_spt_prefetch(absent, false), 0u);
	EXPECT_EQ(kvmx_spt_prefetch(present, false), 0u);
	EXPECT_EQ(kvmx_spt_unfilled(true), kvmx_spt_trap());
	EXPECT_EQ(kvmx_spt_unfilled(false), 0u);
	// A present guest entry never gets an entry the CPU would skip kvmx on.
	uint32_t mask = kvmx_spt_pfec_mask(true), match = kvmx_spt_pfec_match(true);
	for (uint64_t gpte : {present, uint64_t(1), uint64_t(0x7)}) {
		uint64_t spte = kvmx_spt_prefetch(gpte, true);
		uint32_t ec = (spte & KVMX_SPT_P) ? KVMX_PFERR_P | KVMX_PFERR_RSVD : 0;
		EXPECT_TRUE(kvmx_spt_pf_exits(ec, mask, match)) << gpte;
	}
}

TEST(ShadowSpte, HostMaxPhyAddr)
{
	EXPECT_TRUE(kvmx_spt_has_rsvd_bit(39));
	EXPECT_TRUE(kvmx_spt_has_rsvd_bit(46));
	EXPECT_TRUE(kvmx_spt_has_rsvd_bit(51));
	EXPECT_FALSE(kvmx_spt_has_rsvd_bit(52));
}

TEST(ShadowSpte, GuestAccessPerEntry)
{
	EXPECT_EQ(kvmx_spt_gpte_access(0x1, false), unsigned(KVMX_ACC_X));
	EXPECT_EQ(kvmx_spt_gpte_access(0x7, false), unsigned(KVMX_ACC_ALL));
	// XD counts only with EFER.NXE (without it, bit 63 is reserved).
	EXPECT_EQ(kvmx_spt_gpte_access(0x7 | KVMX_SPT_XD, true),
		  unsigned(KVMX_ACC_W | KVMX_ACC_U));
	EXPECT_EQ(kvmx_spt_gpte_access(0x7 | KVMX_SPT_XD, false), unsigned(KVMX_ACC_ALL));
}

kvmx_spt_leaf leaf(unsigned int access)
{
	kvmx_spt_leaf in = {};
	in.pa = 0x1234000;
	in.access = access;
	in.host_writable = true;
	in.cr0_wp = true;
	in.nxe = true;
	return in;
}

TEST(ShadowSpte, RamLeafWritableOnlyWhenDirty)
{
	kvmx_spt_leaf in = leaf(KVMX_ACC_ALL);
	uint64_t clean = kvmx_spt_ram(&in);
	EXPECT_EQ(clean & ~0xfffULL, 0x1234000u);
	EXPECT_FALSE(clean & KVMX_SPT_W); // the first write faults: kvmx sets D
	EXPECT_TRUE(clean & KVMX_SPT_U);
	EXPECT_FALSE(clean & KVMX_SPT_XD);
	in.write_fault = true;
	EXPECT_TRUE(kvmx_spt_ram(&in) & KVMX_SPT_W);
	in.write_fault = false;
	in.gpte_dirty = true;
	EXPECT_TRUE(kvmx_spt_ram(&in) & KVMX_SPT_W);
	EXPECT_FALSE(kvmx_spt_ram(&in) & KVMX_SPT_WP_WITHHELD);
	in.write_protected = true; // a shadowed guest page table
	EXPECT_FALSE(kvmx_spt_ram(&in) & KVMX_SPT_W);
	EXPECT_TRUE(kvmx_spt_ram(&in) & KVMX_SPT_WP_WITHHELD); // W once unprotected
	in.write_protected = false;
	in.host_writable = false; // read-only memslot
	EXPECT_FALSE(kvmx_spt_ram(&in) & KVMX_SPT_W);
	in.write_protected = true;
	EXPECT_FALSE(kvmx_spt_ram(&in) & (KVMX_SPT_W | KVMX_SPT_WP_WITHHELD));
}

TEST(ShadowSpte, RamLeafNoExecute)
{
	kvmx_spt_leaf in = leaf(KVMX_ACC_W | KVMX_ACC_U);
	EXPECT_TRUE(kvmx_spt_ram(&in) & KVMX_SPT_XD);
	in.nxe = false;
	EXPECT_FALSE(kvmx_spt_ram(&in) & KVMX_SPT_XD);
}

TEST(ShadowSpte, Cr0WpClearLetsSupervisorWriteReadOnly)
{
	kvmx_spt_leaf in = leaf(KVMX_ACC_U | KVMX_ACC_X);
	in.cr0_wp = false;
	in.write_fault = true;
	uint64_t s = kvmx_spt_ram(&in);
	EXPECT_TRUE(s & KVMX_SPT_W);
	EXPECT_FALSE(s & KVMX_SPT_U); // a user access must fault again
	// A user write is refused by the guest's rights even with WP = 0.
	in.user_fault = true;
	EXPECT_FALSE(kvmx_spt_ram(&in) & KVMX_SPT_W);
	// With WP = 1, the read-only page stays read-only for everybody.
	in.user_fault = false;
	in.cr0_wp = true;
	EXPECT_FALSE(kvmx_spt_ram(&in) & KVMX_SPT_W);
}

TEST(ShadowSpte, QuadrantsOf32BitGuestTables)
{
	// Page tables: a 4 MiB guest table, two 2 MiB shadow tables.
	EXPECT_EQ(kvmx_spt_quadrant(0x00000000, 1, 2), 0);
	EXPECT_EQ(kvmx_spt_quadrant(0x00200000, 1, 2), 1);
	EXPECT_EQ(kvmx_spt_quadrant(0x00400000, 1, 2), 0);
	EXPECT_EQ(kvmx_spt_quadrant_offset(1, 1), 2048u);
	// The directory: 4 GiB, four 1 GiB shadow directories.
	EXPECT_EQ(kvmx_spt_quadrant(0xc0000000, 2, 2), 3);
	EXPECT_EQ(kvmx_spt_quadrant(0x40000000, 2, 2), 1);
	EXPECT_EQ(kvmx_spt_quadrant_offset(3, 2), 3072u);
	// Other guests have 512-entry tables like the shadow's.
	EXPECT_EQ(kvmx_spt_quadrant(0xc0200000, 1, 4), 0);
	EXPECT_EQ(kvmx_spt_quadrant(0xc0200000, 2, 3), 0);
}

TEST(ShadowSpte, RolesDifferInEveryField)
{
	std::set<uint32_t> words;
	kvmx_spt_role base = {};
	base.level = 1;
	base.guest_levels = 4;
	words.insert(kvmx_spt_role_word(&base));
	for (int field = 0; field < 7; field++) {
		kvmx_spt_role r = base;
		switch (field) {
		case 0: r.level = 4; break;
		case 1: r.guest_levels = 2; break;
		case 2: r.access = KVMX_ACC_ALL; break;
		case 3: r.quadrant = 3; break;
		case 4: r.direct = true; break;
		case 5: r.cr0_wp = true; break;
		case 6: r.nxe = true; break;
		}
		EXPECT_TRUE(words.insert(kvmx_spt_role_word(&r)).second) << "field " << field;
	}
}

// A RAM leaf, with kvmx's host-writable mark, has no bit that a PAE
// entry reserves (62:51): the CPU walks these leaves in PAE mode too.
TEST(ShadowSpte, RamLeafHasNoPaeReservedBit)
{
	std::mt19937_64 rng(51);
	for (int i = 0; i < 100000; i++) {
		kvmx_spt_leaf in{};
		in.pa = rng() & KVMX_SPT_PFN_MASK;
		in.access = rng() & KVMX_ACC_ALL;
		in.gpte_dirty = rng() & 1;
		in.host_writable = rng() & 1;
		in.write_protected = rng() & 1;
		in.write_fault = rng() & 1;
		in.user_fault = rng() & 1;
		in.cr0_wp = rng() & 1;
		in.nxe = rng() & 1;
		uint64_t spte = kvmx_spt_ram(&in) | KVMX_SPT_HOST_WRITABLE;
		ASSERT_EQ(spte & KVMX_GENMASK(62, 51), 0u) << std::hex << spte;
		ASSERT_FALSE(kvmx_spt_is_mmio(spte));
	}
}

// KVM's detect_write_misaligned(): whole entries and a lone byte at an
// entry's start are aligned; crossing an entry or 2-3 bytes are not.
TEST(ShadowSpte, WriteMisaligned)
{
	for (unsigned int size : {4u, 8u}) {
		for (unsigned int off = 0; off < 64; off++) {
			for (unsigned int len : {1u, 2u, 4u, 8u, 16u}) {
				bool crosses = off / size != (off + len - 1) / size;
				bool want = crosses || (len < 4 && !(len == 1 && off % size == 0));
				EXPECT_EQ(kvmx_spt_write_misaligned(off, len, size), want)
					<< "size " << size << " off " << off << " len " << len;
			}
		}
	}
	// A 4-byte write within an 8-byte entry is aligned (the whole entry is read).
	EXPECT_FALSE(kvmx_spt_write_misaligned(4, 4, 8));
}

// Which shadow entries a guest entry feeds: 1:1 for 8-byte entries; a
// 32-bit guest's PTE in the table of its half, its PDE two shadow PDEs in
// the directory of its quarter.
TEST(ShadowSpte, GuestEntryToShadowEntries)
{
	unsigned int first = 99;

	EXPECT_EQ(kvmx_spt_gpte_sptes(8, 1, 0, 511, &first), 1u);
	EXPECT_EQ(first, 511u);
	EXPECT_EQ(kvmx_spt_gpte_sptes(8, 3, 0, 7, &first), 1u);
	EXPECT_EQ(first, 7u);
	for (unsigned int e = 0; e < 1024; e++) {
		for (u8 q = 0; q < 2; q++) {
			unsigned int n = kvmx_spt_gpte_sptes(4, 1, q, e, &first);
			EXPECT_EQ(n, e / 512 == q ? 1u : 0u);
			if (n) {
				EXPECT_EQ(first, e % 512);
				// The linear address of guest PTE e is the shadow's too.
				EXPECT_EQ(kvmx_spt_quadrant(uint64_t{e} << 12, 1, 2), q);
			}
		}
		for (u8 q = 0; q < 4; q++) {
			unsigned int n = kvmx_spt_gpte_sptes(4, 2, q, e, &first);
			EXPECT_EQ(n, e / 256 == q ? 2u : 0u);
			if (n) {
				EXPECT_EQ(first, (e % 256) * 2);
				EXPECT_EQ(kvmx_spt_quadrant(uint64_t{e} << 22, 2, 2), q);
				EXPECT_EQ(((uint64_t{e} << 22) >> 21) & 511, first);
			}
		}
	}
}

// Each shadow entry's guest entry feeds that shadow entry: the inverse.
TEST(ShadowSpte, GpteIndexInvertsGpteSptes)
{
	struct Shape {
		unsigned int size;
		int level;
		u8 quadrants;
	};
	for (Shape s : {Shape{8, 1, 1}, Shape{8, 2, 1}, Shape{8, 4, 1}, Shape{4, 1, 2},
			Shape{4, 2, 4}}) {
		for (u8 q = 0; q < s.quadrants; q++) {
			for (unsigned int i = 0; i < 512; i++) {
				unsigned int first, e = kvmx_spt_gpte_index(s.size, s.level, q, i);
				unsigned int n = kvmx_spt_gpte_sptes(s.size, s.level, q, e, &first);

				EXPECT_LT(e, 4096 / s.size);
				EXPECT_TRUE(n && first <= i && i < first + n)
					<< s.size << " " << s.level << " " << int(q) << " " << i;
			}
		}
	}
}

// Notrap only where the CPU's own #PF error code is the guest's.
TEST(ShadowSpte, NotrapOnlyWhereTheErrorCodeAgrees)
{
	EXPECT_TRUE(kvmx_spt_notrap_ok(8, false));
	EXPECT_TRUE(kvmx_spt_notrap_ok(8, true));
	EXPECT_TRUE(kvmx_spt_notrap_ok(4, false));
	EXPECT_FALSE(kvmx_spt_notrap_ok(4, true));
}

} // namespace
