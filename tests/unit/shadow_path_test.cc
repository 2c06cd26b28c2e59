// SPDX-License-Identifier: GPL-2.0
// The shadow tables on the way to a leaf (kvmx/mmu/shadow_path.h): built
// guest tables are walked by the real walker (kvmx/mmu/walk.c), and the
// path must name, level by level, the guest table each shadow table
// shadows (or the range a direct one maps below a large page), with the
// rights of the entries above it.
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <map>
#include <set>

extern "C" {
#include "mmu/shadow_path.h"
}

namespace {

constexpr u64 P = KVMX_PTE_P, RW = KVMX_PTE_RW, US = KVMX_PTE_US, PS = KVMX_PTE_PS,
	      XD = KVMX_PTE_XD, D = KVMX_PTE_D;
constexpr u64 kCr0 = KVMX_WALK_CR0_PG | KVMX_WALK_CR0_WP;
constexpr u64 kCr4 = KVMX_WALK_CR4_PAE;
constexpr u64 kEfer = KVMX_WALK_EFER_LMA | KVMX_WALK_EFER_NXE;

// Sparse guest memory; every table gets its own page.
struct Mem {
	std::map<u64, std::array<u8, 4096>> pages;
	u64 next = 0x100000;

	u64 table()
	{
		u64 gpa = next;
		next += 4096;
		pages[gpa >> 12].fill(0);
		return gpa;
	}
	void set(u64 table, unsigned int i, u64 v)
	{
		std::memcpy(pages.at(table >> 12).data() + 8 * i, &v, 8);
	}
	void set32(u64 table, unsigned int i, u32 v)
	{
		std::memcpy(pages.at(table >> 12).data() + 4 * i, &v, 4);
	}
};

int mem_read(void *ctx, u64 gpa, unsigned int size, u64 *val)
{
	auto *m = static_cast<Mem *>(ctx);
	auto it = m->pages.find(gpa >> 12);
	if (it == m->pages.end())
		return -1;
	*val = 0;
	std::memcpy(val, it->second.data() + (gpa & 0xfff), size);
	return 0;
}

int mem_cmpxchg(void *ctx, u64 gpa, unsigned int size, u64 old_val, u64 new_val)
{
	u64 cur;
	if (mem_read(ctx, gpa, size, &cur))
		return -1;
	if (cur != old_val)
		return 1;
	std::memcpy(static_cast<Mem *>(ctx)->pages[gpa >> 12].data() + (gpa & 0xfff), &new_val,
		    size);
	return 0;
}

const kvmx_walk_ops kOps = {mem_read, mem_cmpxchg};

struct Walked {
	int root_level;
	kvmx_spt_step step[4];
	kvmx_walk_result res;
};

Walked walk(Mem &m, u64 cr3, u64 la, u64 cr0 = kCr0)
{
	kvmx_walk_cfg cfg{};
	cfg.cr0 = cr0;
	cfg.cr3 = cr3;
	cfg.cr4 = kCr4;
	cfg.efer = kEfer;
	cfg.maxphyaddr = 46;
	cfg.gbpages = 1;
	Walked w{};
	EXPECT_EQ(kvmx_walk(&cfg, &kOps, &m, la, 0, &w.res), KVMX_WALK_OK);
	w.root_level = kvmx_spt_path(KVMX_SPT_GUEST_LONG, cr3, &w.res, la, cr0 & KVMX_WALK_CR0_WP,
				     true, w.step);
	return w;
}

// A 4-level walk to a 4 KiB page: four shadow pages, each keyed by the
// guest table it shadows, none direct.
TEST(ShadowPath, FourLevelSmallPage)
{
	Mem m;
	u64 pml4 = m.table(), pdpt = m.table(), pd = m.table(), pt = m.table();
	u64 la = (3ULL << 39) | (5ULL << 30) | (7ULL << 21) | (9ULL << 12) | 0x123;
	m.set(pml4, 3, pdpt | P | RW | US);
	m.set(pdpt, 5, pd | P | RW | US);
	m.set(pd, 7, pt | P | RW | US);
	m.set(pt, 9, 0x5000000 | P | RW | US);
	Walked w = walk(m, pml4, la);
	ASSERT_EQ(w.root_level, 4);
	const u64 expect[4] = {pt >> 12, pd >> 12, pdpt >> 12, pml4 >> 12};
	for (int l = 1; l <= 4; l++) {
		EXPECT_EQ(w.step[l - 1].gfn, expect[l - 1]) << "level " << l;
		EXPECT_EQ(w.step[l - 1].role.level, l);
		EXPECT_FALSE(w.step[l - 1].role.direct);
		EXPECT_EQ(w.step[l - 1].role.access, unsigned(KVMX_ACC_ALL));
		EXPECT_EQ(w.step[l - 1].role.guest_levels, KVMX_SPT_GUEST_LONG);
	}
	EXPECT_EQ(kvmx_spt_walk_access(w.res.perm), unsigned(KVMX_ACC_ALL));
	for (int l = 1; l <= 4; l++)
		EXPECT_EQ(kvmx_spt_index(la, l, 4), unsigned((la >> (12 + 9 * (l - 1))) & 511));
}

// Below a 2 MiB and a 1 GiB guest page the shadow tables are direct and
// keyed by the first gfn they map; the large page's rights are theirs.
TEST(ShadowPath, LargePagesAreShadowedByDirectTables)
{
	Mem m;
	u64 pml4 = m.table(), pdpt = m.table(), pd = m.table();
	m.set(pml4, 0, pdpt | P | RW | US);
	m.set(pdpt, 1, pd | P | RW | US);
	m.set(pd, 2, (0x40000000ULL + 2 * 0x200000) | P | US | PS | XD); // read-only, no exec
	m.set(pdpt, 3, 0xc0000000ULL | P | RW | PS);			  // 1 GiB, supervisor
	u64 la2m = (1ULL << 30) | (2ULL << 21) | (17ULL << 12);
	Walked w = walk(m, pml4, la2m);
	ASSERT_EQ(w.root_level, 4);
	EXPECT_EQ(w.step[1].gfn, pd >> 12);
	EXPECT_FALSE(w.step[1].role.direct);
	EXPECT_TRUE(w.step[0].role.direct);
	EXPECT_EQ(w.step[0].gfn, (0x40000000ULL + 2 * 0x200000) >> 12);
	EXPECT_EQ(w.step[0].role.access, unsigned(KVMX_ACC_U));
	EXPECT_EQ(kvmx_spt_walk_access(w.res.perm), unsigned(KVMX_ACC_U));

	u64 la1g = (3ULL << 30) | (300ULL << 21) | (5ULL << 12);
	w = walk(m, pml4, la1g);
	ASSERT_EQ(w.root_level, 4);
	EXPECT_EQ(w.step[2].gfn, pdpt >> 12);
	EXPECT_FALSE(w.step[2].role.direct);
	EXPECT_TRUE(w.step[1].role.direct);
	EXPECT_EQ(w.step[1].gfn, 0xc0000000ULL >> 12);
	EXPECT_TRUE(w.step[0].role.direct);
	EXPECT_EQ(w.step[0].gfn, (0xc0000000ULL >> 12) + 300 * 512);
	EXPECT_EQ(w.step[1].role.access, unsigned(KVMX_ACC_W | KVMX_ACC_X));
	// The direct tables' gfns cover exactly the page's 4 KiB frame.
	EXPECT_LE(w.step[0].gfn, w.res.gpa >> 12);
	EXPECT_LT(w.res.gpa >> 12, w.step[0].gfn + kvmx_spt_table_span(1));
}

// One guest table reached through entries with different rights gets a
// shadow page per set of rights: the roles differ.
TEST(ShadowPath, RightsAboveATableAreInItsRole)
{
	Mem m;
	u64 pml4 = m.table(), pdpt = m.table(), pd = m.table(), pt = m.table();
	m.set(pml4, 0, pdpt | P | RW | US);
	m.set(pdpt, 0, pd | P | RW | US);
	m.set(pd, 0, pt | P | RW | US);
	m.set(pd, 1, pt | P | US); // the same page table, read-only above it
	m.set(pt, 0, 0x9000 | P | RW | US);
	Walked a = walk(m, pml4, 0);
	Walked b = walk(m, pml4, 1ULL << 21);
	EXPECT_EQ(a.step[0].gfn, b.step[0].gfn);
	EXPECT_NE(kvmx_spt_role_word(&a.step[0].role), kvmx_spt_role_word(&b.step[0].role));
	EXPECT_EQ(a.step[0].role.access, unsigned(KVMX_ACC_ALL));
	EXPECT_EQ(b.step[0].role.access, unsigned(KVMX_ACC_U | KVMX_ACC_X));
	// CR0.WP is part of every role (its leaves differ when it is clear).
	Walked c = walk(m, pml4, 0, KVMX_WALK_CR0_PG);
	EXPECT_NE(kvmx_spt_role_word(&a.step[3].role), kvmx_spt_role_word(&c.step[3].role));
	EXPECT_EQ(a.step[3].gfn, c.step[3].gfn);
}

// Without paging: a PAE root (level 3, four entries, no shadow page) over
// direct tables mapping linear = physical below 4 GiB.
TEST(ShadowPath, NoPagingIsADirectIdentityMap)
{
	kvmx_walk_cfg cfg{};
	cfg.maxphyaddr = 46;
	std::set<std::pair<u64, u32>> seen;
	for (u64 la : {0x0ULL, 0x1234ULL, 0x3fffffffULL, 0x40000000ULL, 0xfee00123ULL,
		       0x1fee00123ULL}) {
		kvmx_walk_result res{};
		ASSERT_EQ(kvmx_walk(&cfg, &kOps, nullptr, la, 0, &res), KVMX_WALK_OK);
		kvmx_spt_step step[4];
		ASSERT_EQ(kvmx_spt_path(KVMX_SPT_GUEST_NONE, 0, &res, la, true, false, step), 3);
		u64 la32 = la & 0xffffffffULL;
		EXPECT_EQ(res.gpa, la32);
		EXPECT_EQ(kvmx_spt_index(la, 3, 3), unsigned(la32 >> 30));
		EXPECT_LT(kvmx_spt_index(la, 3, 3), 4u);
		for (int l = 1; l <= 2; l++) {
			EXPECT_TRUE(step[l - 1].role.direct);
			EXPECT_EQ(step[l - 1].role.level, l);
			EXPECT_EQ(step[l - 1].role.access, unsigned(KVMX_ACC_ALL));
			EXPECT_EQ(step[l - 1].gfn, (la32 >> 12) & ~(kvmx_spt_table_span(l) - 1));
		}
		seen.insert({step[1].gfn, kvmx_spt_role_word(&step[1].role)});
	}
	// 0 and 0x1234 share their level-2 table, as do 0xfee00123 and its alias.
	EXPECT_EQ(seen.size(), 3u);
}

// PAE: a PAE root (the guest's PDPTEs, no shadow page), then the page
// directory the PDPTE names and the page table the PDE names.
TEST(ShadowPath, PaePagingUnderAPaeRoot)
{
	Mem m;
	u64 pdpt = m.table(), pd = m.table(), pt = m.table();
	m.set(pdpt, 2, pd | P);
	m.set(pd, 3, pt | P | RW | US);
	m.set(pd, 4, 0x00a00000 | P | PS | XD); // 2 MiB, read-only, no exec, supervisor
	m.set(pt, 5, 0x7000 | P | RW);
	kvmx_walk_cfg cfg{};
	cfg.cr0 = kCr0;
	cfg.cr3 = pdpt;
	cfg.cr4 = KVMX_WALK_CR4_PAE;
	cfg.efer = KVMX_WALK_EFER_NXE;
	cfg.maxphyaddr = 46;
	for (int i = 0; i < 4; i++)
		cfg.pdptes[i] = (i == 2) ? (pd | P) : 0;
	u64 la = (2ULL << 30) | (3ULL << 21) | (5ULL << 12);
	kvmx_walk_result res{};
	ASSERT_EQ(kvmx_walk(&cfg, &kOps, &m, la, 0, &res), KVMX_WALK_OK);
	kvmx_spt_step step[4];
	ASSERT_EQ(kvmx_spt_path(KVMX_SPT_GUEST_PAE, pdpt, &res, la, true, true, step), 3);
	EXPECT_EQ(kvmx_spt_index(la, 3, 3), 2u);
	EXPECT_EQ(step[1].gfn, pd >> 12);
	EXPECT_EQ(step[1].role.level, 2);
	EXPECT_EQ(step[1].role.access, unsigned(KVMX_ACC_ALL)); // a PDPTE has no rights
	EXPECT_FALSE(step[1].role.direct);
	EXPECT_EQ(step[0].gfn, pt >> 12);
	EXPECT_FALSE(step[0].role.direct);
	EXPECT_EQ(step[0].role.access, unsigned(KVMX_ACC_ALL));
	EXPECT_EQ(kvmx_spt_walk_access(res.perm), unsigned(KVMX_ACC_W | KVMX_ACC_X));

	la = (2ULL << 30) | (4ULL << 21) | (9ULL << 12);
	ASSERT_EQ(kvmx_walk(&cfg, &kOps, &m, la, 0, &res), KVMX_WALK_OK);
	ASSERT_EQ(kvmx_spt_path(KVMX_SPT_GUEST_PAE, pdpt, &res, la, true, true, step), 3);
	EXPECT_TRUE(step[0].role.direct);
	EXPECT_EQ(step[0].gfn, 0x00a00000ULL >> 12);
	EXPECT_EQ(step[0].role.access, 0u);
}

// 32-bit paging: the guest's page directory (CR3's gfn) is four shadow
// level-2 tables and each guest page table two level-1 tables, told apart
// by the quadrant; a 4 MiB page is mapped by direct tables.
TEST(ShadowPath, ThirtyTwoBitPagingUsesQuadrants)
{
	Mem m;
	u64 pd = m.table(), pt = m.table();
	m.set32(pd, 0x2ff, u32(pt | P | RW | US));
	m.set32(pd, 0x100, u32(0x01000000 | P | RW | PS)); // 4 MiB at 16 MiB
	m.set32(pt, 0x345, u32(0x9000 | P | RW | US));
	kvmx_walk_cfg cfg{};
	cfg.cr0 = kCr0;
	cfg.cr3 = pd;
	cfg.cr4 = KVMX_WALK_CR4_PSE;
	cfg.maxphyaddr = 46;
	u64 la = (0x2ffULL << 22) | (0x345ULL << 12) | 0x10;
	kvmx_walk_result res{};
	ASSERT_EQ(kvmx_walk(&cfg, &kOps, &m, la, 0, &res), KVMX_WALK_OK);
	ASSERT_EQ(res.gpa, 0x9010u);
	kvmx_spt_step step[4];
	ASSERT_EQ(kvmx_spt_path(KVMX_SPT_GUEST_32BIT, pd, &res, la, true, false, step), 3);
	EXPECT_EQ(step[1].gfn, pd >> 12);
	EXPECT_EQ(step[1].role.quadrant, 2); // la bits 31:30
	EXPECT_EQ(step[0].gfn, pt >> 12);
	EXPECT_EQ(step[0].role.quadrant, 1); // la bit 21
	EXPECT_FALSE(step[0].role.direct);
	// The other half of the same guest page table: another shadow page.
	kvmx_spt_step other[4];
	u64 la2 = (0x2ffULL << 22) | (0x045ULL << 12);
	m.set32(pt, 0x045, u32(0xa000 | P | RW | US));
	ASSERT_EQ(kvmx_walk(&cfg, &kOps, &m, la2, 0, &res), KVMX_WALK_OK);
	ASSERT_EQ(kvmx_spt_path(KVMX_SPT_GUEST_32BIT, pd, &res, la2, true, false, other), 3);
	EXPECT_EQ(other[0].gfn, step[0].gfn);
	EXPECT_EQ(other[0].role.quadrant, 0);
	EXPECT_NE(kvmx_spt_role_word(&other[0].role), kvmx_spt_role_word(&step[0].role));

	la = (0x100ULL << 22) | (0x2abULL << 12);
	ASSERT_EQ(kvmx_walk(&cfg, &kOps, &m, la, 0, &res), KVMX_WALK_OK);
	ASSERT_EQ(kvmx_spt_path(KVMX_SPT_GUEST_32BIT, pd, &res, la, true, false, step), 3);
	EXPECT_EQ(step[1].role.quadrant, 1);
	EXPECT_TRUE(step[0].role.direct);
	EXPECT_EQ(step[0].gfn, ((0x01000000ULL >> 12) + 0x2ab) & ~511ULL);
	EXPECT_EQ(step[0].role.access, unsigned(KVMX_ACC_W | KVMX_ACC_X));
}

// A walk that does not fit the paging mode named gives no path.
TEST(ShadowPath, MismatchedWalkGivesNoPath)
{
	kvmx_walk_result res{};
	res.top = 3;
	res.level = 1;
	kvmx_spt_step step[4];
	EXPECT_EQ(kvmx_spt_path(KVMX_SPT_GUEST_LONG, 0, &res, 0, true, false, step), 0);
	EXPECT_EQ(kvmx_spt_path(KVMX_SPT_GUEST_32BIT, 0, &res, 0, true, false, step), 0);
	EXPECT_EQ(kvmx_spt_path(5, 0, &res, 0, true, false, step), 0);
	res.top = 4;
	EXPECT_EQ(kvmx_spt_path(KVMX_SPT_GUEST_PAE, 0, &res, 0, true, false, step), 0);
	EXPECT_EQ(kvmx_spt_path(KVMX_SPT_GUEST_LONG, 0, &res, 0, true, false, step), 4);
}

} // namespace
