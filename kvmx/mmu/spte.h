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
 *   R/W/X  read, write, execute permission.  kvmx's tables (levels 4..2)
 *          carry R|W|X and its RAM leaves at least R|X, so "present" means
 *          R is set; MMIO SPTEs (below) never have R.
 *   MT     memory type of a leaf (6 = write-back); IPAT: ignore guest PAT.
 *   PS     large page (kvmx maps 4 KiB pages only, for now).
 *   SVE    suppress #VE.
 *   HW     bit 57, ignored by the CPU: kvmx's "host writable" mark, set on
 *          a RAM leaf whose page was pinned for writing.  W may be taken
 *          away (dirty logging write-protects), HW stays, so the page is
 *          unpinned dirty even if its leaf is read-only by then.
 */
#ifndef KVMX_MMU_SPTE_H
#define KVMX_MMU_SPTE_H

#include "../types.h"
#include "../slots.h"

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
#define KVMX_SPTE_HOST_WRITABLE	KVMX_BIT(57)

/* EPTP: 4-level walk, write-back paging structures. */
#define KVMX_EPTP_WB_4LEVEL	((u64)((KVMX_EPT_LEVELS - 1) << 3) | 6)

static inline bool kvmx_spte_present(u64 spte)
{
	return (spte & KVMX_EPT_R) != 0;
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
	       (writable ? KVMX_EPT_W | KVMX_SPTE_HOST_WRITABLE : 0) | KVMX_EPT_MT_WB |
	       KVMX_EPT_IPAT;
}

/*
 * A RAM leaf for a page pinned writable, but read-only for now (dirty
 * logging): the first write faults.
 */
static inline u64 kvmx_spte_ram_wrprot(u64 pa)
{
	return kvmx_spte_ram(pa, true) & ~KVMX_EPT_W;
}

/* Whether the page behind a RAM leaf was pinned for writing. */
static inline bool kvmx_spte_host_writable(u64 spte)
{
	return (spte & KVMX_SPTE_HOST_WRITABLE) != 0;
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

/*
 * MMIO SPTEs (seeds 000, 001, 004).  The first access to a gfn that no
 * memslot backs leaves, in that gfn's leaf, an entry the CPU cannot use
 * which records the gfn and the memslot generation of the time:
 *
 *   63  62......52  51...................12  11  10.......3  2  1  0
 *  +---+----------+------------------------+---+------------+--+--+--+
 *  | 0 | gen 18:8 |          gfn           | M |  gen 7:0   |  flavour |
 *  +---+----------+------------------------+---+------------+--+--+--+
 *
 *   flavour  110b (W|X without R: an EPT misconfiguration, "misconfig"),
 *            or 000b (not present: an EPT violation that finds the marker,
 *            for hosts where the first kind is not wanted, "not present")
 *   M        bit 11, ignored by the CPU, marks the entry as kvmx's MMIO
 *            SPTE: a 110b entry without it is a real misconfiguration
 *   gen      the low 19 (or fewer, see gen_bits) bits of the memslot
 *            generation; bits 10:3 and 62:52 are ignored by the CPU in a
 *            misconfigured or not-present entry
 *
 * Which flavour a VM uses, and so its value and mask, is the VM's own
 * (struct kvmx_mmio_cfg).  An MMIO SPTE is acted on only while its stored
 * generation equals the VM's current one and no memslot update is in
 * progress; when the stored bits of the generation wrap to 0, every MMIO
 * SPTE is zapped, so an old entry can never match a future generation.
 */
/* The uapi's values too (where both are seen, a difference cannot compile). */
#define KVMX_MMIO_CACHING_OFF		0
#define KVMX_MMIO_CACHING_MISCONFIG	1
#define KVMX_MMIO_CACHING_NOT_PRESENT	2

#define KVMX_MMIO_SPTE_MARK		KVMX_BIT(11)
#define KVMX_MMIO_GEN_MAX_BITS		19
#define KVMX_MMIO_GEN_LOW_BITS		8
#define KVMX_MMIO_GEN_LOW_SHIFT		3
#define KVMX_MMIO_GEN_HIGH_SHIFT	52

struct kvmx_mmio_cfg {
	u8 flavour;		/* KVMX_MMIO_CACHING_* */
	u8 gen_bits;		/* generation bits stored, 1..19 */
	u64 value;		/* an SPTE is MMIO if (spte & mask) == value */
	u64 mask;
};

/* The configuration of @flavour; gen_bits is clamped to 1..19. */
static inline struct kvmx_mmio_cfg kvmx_mmio_cfg_of(u8 flavour, u8 gen_bits)
{
	struct kvmx_mmio_cfg cfg = { .flavour = flavour, .gen_bits = 0, .value = 0, .mask = 0 };

	if (gen_bits < 1)
		gen_bits = 1;
	if (gen_bits > KVMX_MMIO_GEN_MAX_BITS)
		gen_bits = KVMX_MMIO_GEN_MAX_BITS;
	cfg.gen_bits = gen_bits;
	cfg.mask = KVMX_EPT_RWX | KVMX_MMIO_SPTE_MARK | KVMX_BIT(63);
	if (flavour == KVMX_MMIO_CACHING_MISCONFIG)
		cfg.value = KVMX_EPT_W | KVMX_EPT_X | KVMX_MMIO_SPTE_MARK;
	else if (flavour == KVMX_MMIO_CACHING_NOT_PRESENT)
		cfg.value = KVMX_MMIO_SPTE_MARK;
	else
		cfg.mask = 0;	/* caching off: nothing is an MMIO SPTE */
	return cfg;
}

static inline bool kvmx_mmio_caching(const struct kvmx_mmio_cfg *cfg)
{
	return cfg->mask != 0;
}

static inline u64 kvmx_mmio_gen_mask(const struct kvmx_mmio_cfg *cfg)
{
	return KVMX_GENMASK(cfg->gen_bits - 1, 0);
}

static inline u64 kvmx_spte_mmio(const struct kvmx_mmio_cfg *cfg, u64 gfn, u64 gen)
{
	u64 g = gen & kvmx_mmio_gen_mask(cfg);

	return cfg->value | ((gfn << 12) & KVMX_EPT_PFN_MASK) |
	       ((g & KVMX_GENMASK(KVMX_MMIO_GEN_LOW_BITS - 1, 0)) << KVMX_MMIO_GEN_LOW_SHIFT) |
	       ((g >> KVMX_MMIO_GEN_LOW_BITS) << KVMX_MMIO_GEN_HIGH_SHIFT);
}

static inline bool kvmx_spte_is_mmio(const struct kvmx_mmio_cfg *cfg, u64 spte)
{
	return cfg->mask && (spte & cfg->mask) == cfg->value;
}

static inline u64 kvmx_spte_mmio_gfn(u64 spte)
{
	return (spte & KVMX_EPT_PFN_MASK) >> 12;
}

static inline u64 kvmx_spte_mmio_gen(u64 spte)
{
	return ((spte >> KVMX_MMIO_GEN_LOW_SHIFT) & KVMX_GENMASK(KVMX_MMIO_GEN_LOW_BITS - 1, 0)) |
	       (((spte >> KVMX_MMIO_GEN_HIGH_SHIFT) & KVMX_GENMASK(10, 0)) <<
		KVMX_MMIO_GEN_LOW_BITS);
}

/* Whether an MMIO SPTE made at generation @spte_gen may be acted on now. */
static inline bool kvmx_mmio_gen_valid(const struct kvmx_mmio_cfg *cfg, u64 spte_gen,
				       u64 vm_gen)
{
	return !(vm_gen & KVMX_MEMSLOT_GEN_UPDATE_IN_PROGRESS) &&
	       spte_gen == (vm_gen & kvmx_mmio_gen_mask(cfg));
}

/* Whether moving to generation @new_gen wraps the stored bits (zap all). */
static inline bool kvmx_mmio_gen_wraps(const struct kvmx_mmio_cfg *cfg, u64 new_gen)
{
	return (new_gen & kvmx_mmio_gen_mask(cfg)) == 0;
}

#endif /* KVMX_MMU_SPTE_H */
