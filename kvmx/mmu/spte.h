/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one place that knows how an EPT entry (an SPTE, in KVM's words) is
 * laid out.  Pure code: everybody else calls these helpers and never
 * shifts SPTE bits itself.
 *
 *   63  62..52  51......................12  11..8  7   6   5..3  2  1  0
 *  +---+-------+----------------------------+------+---+---+------+--+--+--+
 *  |SVE|  --   | physical frame number      |  --  |PS |IPAT| MT  |X |W |R |
 *  +---+-------+----------------------------+------+---+---+------+--+--+--+
 *
 *   R/W/X  read, write, execute permission; an entry with none of them is
 *          not present.  Tables (levels 4..2) carry R|W|X.
 *   MT     memory type of a leaf (6 = write-back); IPAT: ignore guest PAT.
 *   PS     large page (kvmx maps 4 KiB pages only, for now).
 *   SVE    suppress #VE.
 */
#ifndef KVMX_MMU_SPTE_H
#define KVMX_MMU_SPTE_H

#include "../types.h"

#define KVMX_EPT_LEVELS		4
#define KVMX_EPT_ENTRIES	512
#define KVMX_EPT_R		KVMX_BIT(0)
#define KVMX_EPT_W		KVMX_BIT(1)
#define KVMX_EPT_X		KVMX_BIT(2)
#define KVMX_EPT_RWX		(KVMX_EPT_R | KVMX_EPT_W | KVMX_EPT_X)
#define KVMX_EPT_MT_WB		(6ULL << 3)
#define KVMX_EPT_IPAT		KVMX_BIT(6)
#define KVMX_EPT_LARGE		KVMX_BIT(7)
#define KVMX_EPT_PFN_MASK	KVMX_GENMASK(51, 12)

/* EPTP: 4-level walk, write-back paging structures. */
#define KVMX_EPTP_WB_4LEVEL	((u64)((KVMX_EPT_LEVELS - 1) << 3) | 6)

static inline bool kvmx_spte_present(u64 spte)
{
	return (spte & KVMX_EPT_RWX) != 0;
}

static inline bool kvmx_spte_writable(u64 spte)
{
	return (spte & KVMX_EPT_W) != 0;
}

static inline u64 kvmx_spte_pa(u64 spte)
{
	return spte & KVMX_EPT_PFN_MASK;
}

/* An entry of levels 4..2 pointing at the table at physical address @pa. */
static inline u64 kvmx_spte_table(u64 pa)
{
	return (pa & KVMX_EPT_PFN_MASK) | KVMX_EPT_RWX;
}

/* A level-1 entry mapping RAM at physical address @pa. */
static inline u64 kvmx_spte_ram(u64 pa, bool writable)
{
	return (pa & KVMX_EPT_PFN_MASK) | KVMX_EPT_R | KVMX_EPT_X |
	       (writable ? KVMX_EPT_W : 0) | KVMX_EPT_MT_WB | KVMX_EPT_IPAT;
}

/* Index of @gfn's entry in its table at @level (1 = page table). */
static inline unsigned int kvmx_spte_index(u64 gfn, int level)
{
	return (gfn >> (9 * (level - 1))) & (KVMX_EPT_ENTRIES - 1);
}

/* Number of gfns one entry at @level covers. */
static inline u64 kvmx_spte_span(int level)
{
	return 1ULL << (9 * (level - 1));
}

#endif /* KVMX_MMU_SPTE_H */
