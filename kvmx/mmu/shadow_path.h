/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The shadow tables on the way to a linear address's leaf: which guest
 * table (or which range of guest-physical memory) each one shadows, and
 * under which role.  Pure code (kvmx/types.h only), unit-tested in
 * tests/unit/shadow_path_test.cc against the real guest walker.
 *
 * The shadow MMU (shadow.c) walks the guest's tables with kvmx_walk(),
 * then builds or finds, from its root down to level 1, one shadow page
 * per level, each keyed by a gfn and a role (struct kvmx_spt_role):
 *
 *  - 4-level guests: the root shadows the guest's PML4 (CR3's gfn); the
 *    shadow table at level l - 1 shadows the guest table that the guest's
 *    level-l entry points at.  Below a guest large page (2 MiB at level 2,
 *    1 GiB at level 3) there is no guest table: the shadow tables there
 *    are "direct", keyed by the first gfn they map, and map the large page
 *    with 4 KiB leaves.
 *  - PAE guests: the CPU runs PAE paging too, on a four-entry PAE root
 *    (not a shadow page) whose entries stand for the guest's four PDPTEs;
 *    below it the guest's page directories and page tables as above.
 *  - 32-bit guests: the CPU runs PAE paging on the same four-entry root.
 *    A guest table has 1024 4-byte entries, a shadow table 512 8-byte
 *    ones, so the guest's page directory (4 GiB) is shadowed by four
 *    level-2 tables and each guest page table (4 MiB) by two level-1
 *    tables, told apart by the role's quadrant (shadow_spte.h); a 4 MiB
 *    guest page is mapped by direct level-1 tables (2 MiB each).
 *  - no paging (protected mode, CR0.PG = 0): the CPU still needs paging
 *    without unrestricted guest, so kvmx maps linear = physical below
 *    4 GiB with PAE tables: a four-entry PAE root (not a shadow page),
 *    then direct level-2 tables (1 GiB each) and direct level-1 tables.
 *
 * role.access is the AND of the guest's rights in every entry above the
 * table, so one guest table reached through entries with different
 * rights gets one shadow page per set of rights (leaves carry the rights
 * of the whole walk, which the table's every parent must agree on).
 */
#ifndef KVMX_MMU_SHADOW_PATH_H
#define KVMX_MMU_SHADOW_PATH_H

#include "../types.h"
#include "walk.h"
#include "shadow_spte.h"

/* Guest paging modes the shadow MMU shadows (struct kvmx_spt_role.guest_levels). */
#define KVMX_SPT_GUEST_NONE	0	/* protected mode, paging off */
#define KVMX_SPT_GUEST_32BIT	2	/* 32-bit paging */
#define KVMX_SPT_GUEST_PAE	3	/* PAE paging */
#define KVMX_SPT_GUEST_LONG	4	/* 4-level paging */

/* The address field of a guest paging-structure entry (any level, 64-bit). */
#define KVMX_SPT_GPTE_ADDR	KVMX_GENMASK(51, 12)

struct kvmx_spt_step {
	u64 gfn;		/* the guest table's gfn, or the first gfn mapped (direct) */
	struct kvmx_spt_role role;
};

/* Index of @la's entry in a shadow table of @level under root level @root_level. */
static inline unsigned int kvmx_spt_index(u64 la, int level, int root_level)
{
	if (root_level == 3 && level == 3)
		return (la >> 30) & 3;	/* the PAE root: four entries */
	return (la >> (12 + 9 * (level - 1))) & 511;
}

/* Number of 4 KiB pages one shadow table of @level maps. */
static inline u64 kvmx_spt_table_span(int level)
{
	return 1ULL << (9 * level);
}

/* The walker's rights (KVMX_WALK_PERM_*) as KVMX_ACC_*. */
static inline unsigned int kvmx_spt_walk_access(u32 perm)
{
	return (perm & KVMX_WALK_PERM_W ? KVMX_ACC_W : 0) |
	       (perm & KVMX_WALK_PERM_U ? KVMX_ACC_U : 0) |
	       (perm & KVMX_WALK_PERM_X ? KVMX_ACC_X : 0);
}

/*
 * The shadow tables for linear address @la, which the guest's walk @res
 * (KVMX_WALK_OK) translated under @guest_levels (KVMX_SPT_GUEST_*), with
 * CR3 @cr3, CR0.WP @cr0_wp and EFER.NXE @nxe.  Fills @step[level - 1] for
 * every shadow page from the root level down to 1 and returns the root
 * level: 4 (step[3] is the root shadow page), or 3 for the PAE root of a
 * guest without 4-level paging (step[2] is then unused: that root is no
 * shadow page).  Returns 0 for a paging mode it does not shadow.
 */
static inline int kvmx_spt_path(int guest_levels, u64 cr3, const struct kvmx_walk_result *res,
				u64 la, bool cr0_wp, bool nxe, struct kvmx_spt_step step[4])
{
	struct kvmx_spt_role role = {
		.level = 0, .guest_levels = (u8)guest_levels, .access = KVMX_ACC_ALL,
		.quadrant = 0, .direct = false, .cr0_wp = cr0_wp, .nxe = nxe,
	};
	unsigned int acc = KVMX_ACC_ALL;
	u64 gfn = res->gpa >> 12;
	int l;

	if (guest_levels == KVMX_SPT_GUEST_NONE) {
		la &= 0xffffffffULL;
		role.direct = true;
		role.level = 3;
		step[2].gfn = 0;
		step[2].role = role;
		for (l = 2; l >= 1; l--) {
			role.level = (u8)l;
			step[l - 1].gfn = (la >> 12) & ~(kvmx_spt_table_span(l) - 1);
			step[l - 1].role = role;
		}
		return 3;
	}
	if (guest_levels == KVMX_SPT_GUEST_PAE || guest_levels == KVMX_SPT_GUEST_32BIT) {
		bool pae = guest_levels == KVMX_SPT_GUEST_PAE;

		if (res->top != (pae ? 3 : 2) || res->level < 1 || res->level > 2)
			return 0;
		la &= 0xffffffffULL;
		role.level = 3;
		step[2].gfn = 0;
		step[2].role = role;
		/* Level 2: the page directory a PDPTE names (PAE), or CR3's (32-bit). */
		role.level = 2;
		role.quadrant = pae ? 0 : kvmx_spt_quadrant(la, 2, 2);
		step[1].gfn = ((pae ? res->pte[2] : cr3) & KVMX_SPT_GPTE_ADDR) >> 12;
		step[1].role = role;
		/* Level 1: the page table the PDE names, or direct below a large page. */
		acc &= kvmx_spt_gpte_access(res->pte[1], nxe && pae);
		role.level = 1;
		role.access = (u8)acc;
		if (res->level == 1) {
			role.quadrant = pae ? 0 : kvmx_spt_quadrant(la, 1, 2);
			step[0].gfn = (res->pte[1] & KVMX_SPT_GPTE_ADDR) >> 12;
		} else {
			role.quadrant = 0;
			role.direct = true;
			step[0].gfn = gfn & ~(kvmx_spt_table_span(1) - 1);
		}
		step[0].role = role;
		return 3;
	}
	if (guest_levels != KVMX_SPT_GUEST_LONG || res->top != 4 || res->level < 1 ||
	    res->level > 3)
		return 0;
	role.level = 4;
	step[3].gfn = (cr3 & KVMX_SPT_GPTE_ADDR) >> 12;
	step[3].role = role;
	for (l = 4; l >= 2; l--) {
		if (l >= res->level)
			acc &= kvmx_spt_gpte_access(res->pte[l - 1], nxe);
		role.level = (u8)(l - 1);
		role.access = (u8)acc;
		if (l - 1 >= res->level) {
			role.direct = false;
			step[l - 2].gfn = (res->pte[l - 1] & KVMX_SPT_GPTE_ADDR) >> 12;
		} else {
			role.direct = true;
			step[l - 2].gfn = gfn & ~(kvmx_spt_table_span(l - 1) - 1);
		}
		step[l - 2].role = role;
	}
	return 4;
}

#endif /* KVMX_MMU_SHADOW_PATH_H */
