// SPDX-License-Identifier: GPL-2.0
/*
 * kvmx guest page-table walker.  See walk.h for the contract; the section
 * numbers below refer to Intel SDM Vol. 3A, chapter 4.
 */
#include "walk.h"

enum walk_fmt {
	WALK_FMT_32,		/* 32-bit paging, 4-byte entries (4.3) */
	WALK_FMT_PAE,		/* PAE paging (4.4) */
	WALK_FMT_LONG,		/* 4-level and 5-level paging (4.5) */
};

/* Internal: an A/D cmpxchg lost a race, walk again. */
#define WALK_RESTART	(-1)

/* Everything kvmx_walk() derives from the configuration once per call. */
struct walk_mode {
	const struct kvmx_walk_cfg *cfg;
	const struct kvmx_walk_ops *ops;
	void *ctx;
	u64 la;			/* truncated to 32 bits outside long mode */
	u64 addr_mask;		/* address bits of an entry */
	u64 rsvd_high;		/* reserved high bits of every entry (not PDPTE) */
	u32 ec;			/* W/R, U/S, I/D of the access */
	enum walk_fmt fmt;
	int top;		/* level of the first entry used */
	unsigned int size;	/* entry size in bytes */
	u8 m;			/* MAXPHYADDR clamped to 32..52 */
	bool nx;		/* XD bits are in use (PAE/long and NXE) */
	bool pse;		/* 32-bit paging: 4 MiB pages */
	bool write;
	bool fetch;
	bool user;		/* user-mode access */
	bool implicit;		/* implicit supervisor-mode access */
	bool set_ad;
};

/* State of one walk: the entries read, by level - 1. */
struct walk_state {
	u64 pte[5];
	u64 pte_gpa[5];
	u64 rights;		/* AND of R/W and U/S over the entries */
	bool xd;		/* some entry has XD = 1 and XD is in use */
	int level;		/* level of the current/final entry */
};

static void walk_mode_init(struct walk_mode *m, const struct kvmx_walk_cfg *cfg,
			   const struct kvmx_walk_ops *ops, void *ctx, u64 la,
			   u32 access)
{
	bool nxe = cfg->efer & KVMX_WALK_EFER_NXE;

	m->cfg = cfg;
	m->ops = ops;
	m->ctx = ctx;
	m->m = cfg->maxphyaddr;
	if (m->m < 32)
		m->m = 32;
	if (m->m > 52)
		m->m = 52;
	m->fetch = access & KVMX_WALK_FETCH;
	m->write = !m->fetch && (access & KVMX_WALK_WRITE);
	m->implicit = access & KVMX_WALK_IMPLICIT;
	m->user = cfg->cpl == 3 && !m->implicit;
	m->set_ad = !(access & KVMX_WALK_NO_AD);
	m->pse = cfg->cr4 & KVMX_WALK_CR4_PSE;

	if (cfg->efer & KVMX_WALK_EFER_LMA) {
		m->fmt = WALK_FMT_LONG;
		m->la = la;
		m->top = (cfg->cr4 & KVMX_WALK_CR4_LA57) ? 5 : 4;
		m->size = 8;
		m->nx = nxe;
		m->addr_mask = KVMX_GENMASK(m->m - 1, 12);
		/* 4.5.4, tables 4-15..4-20: bits 51:M; 62:52 are ignored. */
		m->rsvd_high = KVMX_GENMASK(51, m->m);
	} else if (cfg->cr4 & KVMX_WALK_CR4_PAE) {
		m->fmt = WALK_FMT_PAE;
		m->la = la & 0xffffffffULL;
		m->top = 3;
		m->size = 8;
		m->nx = nxe;
		m->addr_mask = KVMX_GENMASK(m->m - 1, 12);
		/* 4.4.2, tables 4-8..4-11: bits 62:M. */
		m->rsvd_high = KVMX_GENMASK(62, m->m);
	} else {
		m->fmt = WALK_FMT_32;
		m->la = la & 0xffffffffULL;
		m->top = 2;
		m->size = 4;
		m->nx = false;	/* 32-bit paging has no XD bit */
		m->addr_mask = KVMX_GENMASK(31, 12);
		m->rsvd_high = 0;
	}
	if (m->fmt != WALK_FMT_32 && !m->nx)
		m->rsvd_high |= KVMX_PTE_XD;

	m->ec = 0;
	if (m->write)
		m->ec |= KVMX_PFERR_W;
	if (m->user)
		m->ec |= KVMX_PFERR_U;
	/* 4.7: I/D only if SMEP, or PAE/4-level paging with NXE. */
	if (m->fetch && ((cfg->cr4 & KVMX_WALK_CR4_SMEP) || m->nx))
		m->ec |= KVMX_PFERR_ID;
}

static unsigned int walk_index(const struct walk_mode *m, int level)
{
	if (m->fmt == WALK_FMT_32)
		return (m->la >> (12 + 10 * (level - 1))) & 0x3ff;
	if (m->fmt == WALK_FMT_PAE && level == 3)
		return (m->la >> 30) & 3;
	return (m->la >> (12 + 9 * (level - 1))) & 0x1ff;
}

/* Reserved bits of a present entry @pte at @level. */
static u64 walk_rsvd(const struct walk_mode *m, int level, u64 pte)
{
	u64 rsvd = m->rsvd_high;
	bool ps = pte & KVMX_PTE_PS;

	switch (m->fmt) {
	case WALK_FMT_32:
		/* Table 4-4: a 4 MiB PDE, M capped at 40 for PSE-36. */
		if (level == 2 && ps && m->pse)
			return KVMX_GENMASK(21, (m->m < 40 ? m->m : 40) - 19);
		return 0;
	case WALK_FMT_PAE:
		/* Table 4-8: the PDPTE has its own format. */
		if (level == 3)
			return kvmx_pae_pdpte_rsvd(m->m);
		break;
	case WALK_FMT_LONG:
		/* Tables 4-14, 4-15: PS is reserved in PML5Es and PML4Es. */
		if (level >= 4)
			return rsvd | KVMX_PTE_PS;
		if (level == 3 && ps) {
			/* Table 4-16: 1 GiB page, or PS reserved. */
			if (!m->cfg->gbpages)
				return rsvd | KVMX_PTE_PS;
			return rsvd | KVMX_GENMASK(29, 13);
		}
		break;
	}
	/* Tables 4-9, 4-18: 2 MiB page. */
	if (level == 2 && ps)
		rsvd |= KVMX_GENMASK(20, 13);
	return rsvd;
}

static bool walk_is_leaf(const struct walk_mode *m, int level, u64 pte)
{
	if (level == 1)
		return true;
	if (!(pte & KVMX_PTE_PS))
		return false;
	/* With CR4.PSE = 0, 32-bit paging ignores PDE bit 7. */
	return m->fmt != WALK_FMT_32 || m->pse;
}

/* 4.6: may this access use a translation with these rights? */
static bool walk_permitted(const struct walk_mode *m, bool user_page,
			   bool writable, bool exec)
{
	u64 cr4 = m->cfg->cr4;
	bool smap;

	if (m->fetch) {
		if (m->user)
			return user_page && exec;
		return exec && !(user_page && (cr4 & KVMX_WALK_CR4_SMEP));
	}
	if (m->user)
		return user_page && (writable || !m->write);

	/* Supervisor data access: SMAP, then R/W under CR0.WP. */
	smap = (cr4 & KVMX_WALK_CR4_SMAP) &&
	       (!(m->cfg->rflags & KVMX_WALK_RFLAGS_AC) || m->implicit);
	if (user_page && smap)
		return false;
	return writable || !m->write || !(m->cfg->cr0 & KVMX_WALK_CR0_WP);
}

static int walk_fault(const struct walk_mode *m, struct kvmx_walk_result *res,
		      u32 why, int level)
{
	res->error_code = m->ec | why;
	res->cr2 = m->la;
	res->level = level;
	return KVMX_WALK_PF;
}

static int walk_bad_gpa(struct kvmx_walk_result *res, u64 gpa, int level)
{
	res->bad_gpa = gpa;
	res->level = level;
	return KVMX_WALK_BAD_GPA;
}

/* Set A (and D in the leaf for writes) top-down; 4.8. */
static int walk_set_ad(const struct walk_mode *m, struct walk_state *w,
		       struct kvmx_walk_result *res)
{
	int level;
	int ret;
	u64 old;
	u64 new;

	for (level = m->top; level >= w->level; level--) {
		/* PAE PDPTEs have no A bit (bit 5 is reserved). */
		if (m->fmt == WALK_FMT_PAE && level == 3)
			continue;
		old = w->pte[level - 1];
		new = old | KVMX_PTE_A;
		if (level == w->level && m->write)
			new |= KVMX_PTE_D;
		if (new == old)
			continue;
		ret = m->ops->cmpxchg(m->ctx, w->pte_gpa[level - 1], m->size,
				      old, new);
		if (ret < 0)
			return walk_bad_gpa(res, w->pte_gpa[level - 1], level);
		if (ret > 0)
			return WALK_RESTART;
		w->pte[level - 1] = new;
	}
	return KVMX_WALK_OK;
}

static int walk_once(const struct walk_mode *m, struct kvmx_walk_result *res)
{
	struct walk_state w;
	u64 table;
	u64 pte;
	u64 gpa;
	u64 size;
	bool user_page;
	bool writable;
	bool exec;
	int ret;

	w.rights = KVMX_PTE_RW | KVMX_PTE_US;
	w.xd = false;
	table = m->cfg->cr3 & m->addr_mask;
	for (w.level = m->top; ; w.level--) {
		if (m->fmt == WALK_FMT_PAE && w.level == 3) {
			/* Loaded by the CPU on MOV to CR3 etc.; not re-read. */
			pte = m->cfg->pdptes[walk_index(m, 3)];
			gpa = 0;
		} else {
			gpa = table + (u64)walk_index(m, w.level) * m->size;
			if (m->ops->read(m->ctx, gpa, m->size, &pte) < 0)
				return walk_bad_gpa(res, gpa, w.level);
			if (m->size == 4)
				pte &= 0xffffffffULL;
		}
		w.pte[w.level - 1] = pte;
		w.pte_gpa[w.level - 1] = gpa;

		if (!(pte & KVMX_PTE_P))
			return walk_fault(m, res, 0, w.level);
		if (pte & walk_rsvd(m, w.level, pte))
			return walk_fault(m, res,
					  KVMX_PFERR_P | KVMX_PFERR_RSVD,
					  w.level);
		/* PAE PDPTEs do not control access rights (4.4.2). */
		if (m->fmt != WALK_FMT_PAE || w.level != 3) {
			w.rights &= pte;
			if (m->nx && (pte & KVMX_PTE_XD))
				w.xd = true;
		}
		if (walk_is_leaf(m, w.level, pte))
			break;
		table = pte & m->addr_mask;
	}

	user_page = w.rights & KVMX_PTE_US;
	writable = w.rights & KVMX_PTE_RW;
	exec = !w.xd;
	if (!walk_permitted(m, user_page, writable, exec))
		return walk_fault(m, res, KVMX_PFERR_P, w.level);

	if (m->set_ad) {
		ret = walk_set_ad(m, &w, res);
		if (ret != KVMX_WALK_OK)
			return ret;
	}

	if (m->fmt == WALK_FMT_32)
		size = w.level == 2 ? KVMX_BIT(22) : KVMX_BIT(12);
	else
		size = KVMX_BIT(12 + 9 * (w.level - 1));
	pte = w.pte[w.level - 1];
	gpa = (pte & m->addr_mask & ~(size - 1)) | (m->la & (size - 1));
	/* PSE-36: PDE bits 20:13 are address bits 39:32 (table 4-4). */
	if (m->fmt == WALK_FMT_32 && w.level == 2)
		gpa |= ((pte >> 13) & 0xff) << 32;

	res->gpa = gpa;
	res->page_size = size;
	res->leaf = pte;
	res->perm = (writable ? KVMX_WALK_PERM_W : 0) |
		    (user_page ? KVMX_WALK_PERM_U : 0) |
		    (exec ? KVMX_WALK_PERM_X : 0);
	res->level = w.level;
	res->top = m->top;
	for (; w.level <= m->top; w.level++) {
		res->pte[w.level - 1] = w.pte[w.level - 1];
		res->pte_gpa[w.level - 1] = w.pte_gpa[w.level - 1];
	}
	return KVMX_WALK_OK;
}

int kvmx_walk(const struct kvmx_walk_cfg *cfg, const struct kvmx_walk_ops *ops,
	      void *ctx, u64 la, u32 access, struct kvmx_walk_result *res)
{
	struct walk_mode m;
	int tries;
	int ret;

	res->gpa = 0;
	res->page_size = 0;
	res->leaf = 0;
	res->perm = 0;
	res->error_code = 0;
	res->cr2 = 0;
	res->bad_gpa = 0;
	res->level = 0;
	res->top = 0;

	if (!(cfg->cr0 & KVMX_WALK_CR0_PG)) {
		/* No paging; LMA cannot be set without PG. */
		res->gpa = la & 0xffffffffULL;
		res->page_size = KVMX_BIT(12);
		res->perm = KVMX_WALK_PERM_W | KVMX_WALK_PERM_U |
			    KVMX_WALK_PERM_X;
		return KVMX_WALK_OK;
	}

	walk_mode_init(&m, cfg, ops, ctx, la, access);
	for (tries = 0; tries < KVMX_WALK_MAX_TRIES; tries++) {
		ret = walk_once(&m, res);
		if (ret != WALK_RESTART)
			return ret;
	}
	return KVMX_WALK_RETRY;
}
