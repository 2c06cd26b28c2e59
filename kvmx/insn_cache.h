/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The decoded-instruction cache: the instructions a vCPU emulated for MMIO
 * lately, decoded, so that when the guest executes one of them again kvmx
 * neither fetches it (a guest page walk and a memslot search per entry and
 * for the code) nor decodes it.  See insn_cache.c.
 */
#ifndef KVMX_INSN_CACHE_H
#define KVMX_INSN_CACHE_H

#include <linux/bits.h>
#include <linux/hash.h>
#include <linux/types.h>
#include <linux/uaccess.h>
#include "emulate/emulate.h"

struct kvmx_vcpu;
struct kvmx_walk_result;

#define KVMX_INSN_CACHE_BITS	2
#define KVMX_INSN_CACHE_SIZE	BIT(KVMX_INSN_CACHE_BITS)
/* Up to five paging-structure entries, then up to three words of code. */
#define KVMX_INSN_CACHE_CHECKS	8

/* What decides which bytes CS:RIP names and how they decode. */
struct kvmx_insn_key {
	u64 rip;
	u64 cs_base;
	u64 gen;		/* memslot generation: the user addresses' */
	u64 cr3;		/* with paging */
	u64 pdpte;		/* legacy PAE paging: the PDPTE for CS:RIP */
	u32 paging;		/* CR0.PG, CR4.PSE/PAE/LA57, EFER.LMA */
	u8 mode;		/* enum kvmx_emu_mode */
};

/* An aligned guest word that must still hold @val in the bits of @mask. */
struct kvmx_insn_check {
	u64 __user *uaddr;
	u64 val;
	u64 mask;
};

struct kvmx_insn_cache_entry {
	bool valid;
	u8 nr_checks;
	struct kvmx_insn_key key;
	struct kvmx_insn_check checks[KVMX_INSN_CACHE_CHECKS];
	struct kvmx_emu_insn insn;
};

/* Per vCPU; only the vCPU's thread uses it, in KVM_RUN. */
struct kvmx_insn_cache {
	struct kvmx_insn_cache_entry entries[KVMX_INSN_CACHE_SIZE];
};

static inline struct kvmx_insn_cache_entry *
kvmx_insn_cache_entry_of(struct kvmx_insn_cache *cache, u64 rip)
{
	return &cache->entries[hash_64(rip, KVMX_INSN_CACHE_BITS)];
}

static inline bool kvmx_insn_key_equal(const struct kvmx_insn_key *a,
				       const struct kvmx_insn_key *b)
{
	return a->rip == b->rip && a->cs_base == b->cs_base && a->gen == b->gen &&
	       a->cr3 == b->cr3 && a->pdpte == b->pdpte && a->paging == b->paging &&
	       a->mode == b->mode;
}

/*
 * The decode of the instruction at @key (addresses not computed) if it is
 * cached and its code and paging-structure entries are unchanged, else
 * NULL.  Valid until the next fill.  The caller holds vm->srcu.  Inline:
 * it is most of the work of every cached MMIO exit.
 */
static inline const struct kvmx_emu_insn *
kvmx_insn_cache_lookup(struct kvmx_insn_cache *cache, const struct kvmx_insn_key *key)
{
	struct kvmx_insn_cache_entry *e = kvmx_insn_cache_entry_of(cache, key->rip);
	int i;

	if (!e->valid || !kvmx_insn_key_equal(&e->key, key))
		return NULL;
	/*
	 * Every check in one user access window (one STAC/CLAC and one
	 * speculation barrier for them all, no call per read): memslot ranges
	 * passed access_ok() when they were made.
	 */
	__uaccess_begin_nospec();
	for (i = 0; i < e->nr_checks; i++) {
		const struct kvmx_insn_check *c = &e->checks[i];
		u64 val;

		unsafe_get_user(val, c->uaddr, miss);
		if ((val ^ c->val) & c->mask)
			goto miss;
	}
	user_access_end();
	return &e->insn;
miss:
	user_access_end();
	e->valid = false;
	return NULL;
}

/*
 * Remember @insn, decoded from @bytes, found at CS:RIP through the fetch
 * translation @fetch.  Does nothing for what cannot be checked cheaply (an
 * instruction crossing a page, a memslot update in progress).  The caller
 * holds vm->srcu.
 */
void kvmx_insn_cache_fill(struct kvmx_vcpu *vcpu, const struct kvmx_insn_key *key,
			  const struct kvmx_walk_result *fetch, const u8 *bytes,
			  const struct kvmx_emu_insn *insn);

#endif /* KVMX_INSN_CACHE_H */
