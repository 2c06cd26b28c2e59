// SPDX-License-Identifier: GPL-2.0
// EPT entries and MMIO SPTEs (kvmx/mmu/spte.h): layout, per-VM flavours,
// generation checks and the zap-on-wrap rule.
#include <gtest/gtest.h>

#include <set>
#include <utility>

extern "C" {
#include "mmu/spte.h"
}

namespace {

constexpr uint64_t kInProgress = KVMX_MEMSLOT_GEN_UPDATE_IN_PROGRESS;
constexpr uint64_t kMaxGfn = (1ULL << 40) - 1; // 52-bit physical addresses

TEST(Spte, RamAndTableEntries)
{
	uint64_t ram = kvmx_spte_ram(0x123456000ULL, true);
	EXPECT_TRUE(kvmx_spte_present(ram));
	EXPECT_TRUE(kvmx_spte_writable(ram));
	EXPECT_EQ(kvmx_spte_pa(ram), 0x123456000ULL);
	EXPECT_EQ(ram & 0x38, 6u << 3); // write-back
	EXPECT_FALSE(kvmx_spte_writable(kvmx_spte_ram(0x1000, false)));
	EXPECT_TRUE(kvmx_spte_host_writable(ram));
	EXPECT_FALSE(kvmx_spte_host_writable(kvmx_spte_ram(0x1000, false)));
	// Dirty logging: read-only for the CPU, still pinned writable.
	uint64_t wp = kvmx_spte_ram_wrprot(0x123456000ULL);
	EXPECT_TRUE(kvmx_spte_present(wp));
	EXPECT_FALSE(kvmx_spte_writable(wp));
	EXPECT_TRUE(kvmx_spte_host_writable(wp));
	EXPECT_EQ(wp | KVMX_EPT_W, ram);
	EXPECT_EQ(kvmx_spte_table(0xabc000) & 7, 7u);
	EXPECT_EQ(kvmx_spte_index(0x12345, 1), 0x145u);
	EXPECT_EQ(kvmx_spte_index(0x12345, 2), 0x91u);
	EXPECT_EQ(kvmx_spte_span(3), 1ULL << 18);
}

TEST(MmioSpte, MisconfigFlavourIsWriteExecuteWithoutRead)
{
	kvmx_mmio_cfg cfg = kvmx_mmio_cfg_of(KVMX_MMIO_CACHING_MISCONFIG, 19);
	uint64_t spte = kvmx_spte_mmio(&cfg, 0xfee00, 5);
	EXPECT_EQ(spte & 7, 6u);
	EXPECT_FALSE(kvmx_spte_present(spte)); // never taken for RAM
	EXPECT_TRUE(kvmx_spte_is_mmio(&cfg, spte));
	EXPECT_EQ(kvmx_spte_mmio_gfn(spte), 0xfee00u);
	EXPECT_EQ(kvmx_spte_mmio_gen(spte), 5u);
	EXPECT_EQ(spte >> 63, 0u);
}

TEST(MmioSpte, NotPresentFlavourHasNoPermissionBits)
{
	kvmx_mmio_cfg cfg = kvmx_mmio_cfg_of(KVMX_MMIO_CACHING_NOT_PRESENT, 19);
	uint64_t spte = kvmx_spte_mmio(&cfg, 0x12345, 0x7ffff);
	EXPECT_EQ(spte & 7, 0u);
	EXPECT_TRUE(kvmx_spte_is_mmio(&cfg, spte));
	EXPECT_EQ(kvmx_spte_mmio_gen(spte), 0x7ffffu);
	EXPECT_EQ(kvmx_spte_mmio_gfn(spte), 0x12345u);
}

TEST(MmioSpte, RoundTripsEveryGenerationBitAndLargeGfns)
{
	for (uint8_t flavour : {KVMX_MMIO_CACHING_MISCONFIG, KVMX_MMIO_CACHING_NOT_PRESENT}) {
		kvmx_mmio_cfg cfg = kvmx_mmio_cfg_of(flavour, 19);
		for (int bit = 0; bit < 19; bit++) {
			uint64_t gen = 1ULL << bit;
			uint64_t spte = kvmx_spte_mmio(&cfg, kMaxGfn, gen);
			EXPECT_EQ(kvmx_spte_mmio_gen(spte), gen) << bit;
			EXPECT_EQ(kvmx_spte_mmio_gfn(spte), kMaxGfn);
			EXPECT_TRUE(kvmx_spte_is_mmio(&cfg, spte));
		}
		// Bits above the stored ones are dropped, not spilled into the gfn.
		uint64_t spte = kvmx_spte_mmio(&cfg, 1, (1ULL << 19) | 3);
		EXPECT_EQ(kvmx_spte_mmio_gen(spte), 3u);
		EXPECT_EQ(kvmx_spte_mmio_gfn(spte), 1u);
	}
}

TEST(MmioSpte, OtherEntriesAreNotMmio)
{
	for (uint8_t flavour : {KVMX_MMIO_CACHING_MISCONFIG, KVMX_MMIO_CACHING_NOT_PRESENT}) {
		kvmx_mmio_cfg cfg = kvmx_mmio_cfg_of(flavour, 19);
		EXPECT_FALSE(kvmx_spte_is_mmio(&cfg, 0));
		EXPECT_FALSE(kvmx_spte_is_mmio(&cfg, kvmx_spte_ram(0x5000, true)));
		EXPECT_FALSE(kvmx_spte_is_mmio(&cfg, kvmx_spte_table(0x5000)));
		// A misconfigured entry that is not kvmx's: a real misconfiguration.
		EXPECT_FALSE(kvmx_spte_is_mmio(&cfg, 0x6 | 0x5000));
	}
	// Flavours do not recognise each other's entries.
	kvmx_mmio_cfg mis = kvmx_mmio_cfg_of(KVMX_MMIO_CACHING_MISCONFIG, 19);
	kvmx_mmio_cfg np = kvmx_mmio_cfg_of(KVMX_MMIO_CACHING_NOT_PRESENT, 19);
	EXPECT_FALSE(kvmx_spte_is_mmio(&np, kvmx_spte_mmio(&mis, 1, 1)));
	EXPECT_FALSE(kvmx_spte_is_mmio(&mis, kvmx_spte_mmio(&np, 1, 1)));
	// Caching off: nothing is an MMIO SPTE.
	kvmx_mmio_cfg off = kvmx_mmio_cfg_of(KVMX_MMIO_CACHING_OFF, 19);
	EXPECT_FALSE(kvmx_mmio_caching(&off));
	EXPECT_FALSE(kvmx_spte_is_mmio(&off, kvmx_spte_mmio(&mis, 1, 1)));
	EXPECT_FALSE(kvmx_spte_is_mmio(&off, 0));
}

TEST(MmioGen, ValidOnlyAtItsGenerationAndNeverDuringAnUpdate)
{
	kvmx_mmio_cfg cfg = kvmx_mmio_cfg_of(KVMX_MMIO_CACHING_MISCONFIG, 19);
	EXPECT_TRUE(kvmx_mmio_gen_valid(&cfg, 7, 7));
	EXPECT_FALSE(kvmx_mmio_gen_valid(&cfg, 7, 8));
	EXPECT_FALSE(kvmx_mmio_gen_valid(&cfg, 7, 7 | kInProgress));
	EXPECT_TRUE(kvmx_mmio_gen_valid(&cfg, 7, (1ULL << 19) + 7)); // why wraps zap
	EXPECT_TRUE(kvmx_mmio_gen_wraps(&cfg, 1ULL << 19));
	EXPECT_FALSE(kvmx_mmio_gen_wraps(&cfg, (1ULL << 19) + 1));
}

// The invariant of seed 001: with a zap of every MMIO SPTE whenever the
// stored bits wrap, no live MMIO SPTE is ever valid at a generation other
// than the one it was made at.  Simulated for every stored width.
TEST(MmioGen, ZapOnWrapLeavesNoSpteThatMatchesAFutureGeneration)
{
	for (uint8_t bits = 1; bits <= 9; bits++) {
		kvmx_mmio_cfg cfg = kvmx_mmio_cfg_of(KVMX_MMIO_CACHING_MISCONFIG, bits);
		std::set<std::pair<uint64_t, uint64_t>> live; // (made at, stored gen)
		for (uint64_t gen = 0; gen < (4ULL << bits) + 5; gen++) {
			if (gen && kvmx_mmio_gen_wraps(&cfg, gen))
				live.clear(); // the zap
			uint64_t spte = kvmx_spte_mmio(&cfg, gen & 0xff, gen);
			live.insert({gen, kvmx_spte_mmio_gen(spte)});
			for (const auto &[made, stored] : live) {
				bool valid = kvmx_mmio_gen_valid(&cfg, stored, gen);
				ASSERT_EQ(valid, made == gen)
					<< "bits " << int(bits) << " made " << made << " now " << gen;
			}
		}
	}
}

TEST(MmioGen, WidthIsClamped)
{
	EXPECT_EQ(kvmx_mmio_cfg_of(KVMX_MMIO_CACHING_MISCONFIG, 0).gen_bits, 1);
	EXPECT_EQ(kvmx_mmio_cfg_of(KVMX_MMIO_CACHING_MISCONFIG, 40).gen_bits, 19);
}

} // namespace
