// SPDX-License-Identifier: GPL-2.0
/*
 * The decoded-instruction cache.
 *
 * An MMIO exit names the guest-physical address but not the instruction,
 * so the emulator must fetch it (walk the guest's page tables, find the
 * memslot of every entry and of the code, copy the bytes) and decode it.
 * Guests touch MMIO from a handful of instructions (a driver's readl and
 * writel), so each vCPU keeps the last few, decoded.
 *
 * An entry says: at CS:RIP, in this execution mode, under this CR3, paging
 * mode and memslot generation, these paging-structure entries led to these
 * instruction bytes, which decode to @insn.  A lookup compares the key with
 * the vCPU's state now, then re-reads every one of those entries and the
 * instruction's bytes through the VMM's mapping, at the user addresses the
 * fill found for them (which name the same guest memory for as long as the
 * memslot generation is the same), and compares them.  So a guest that
 * rewrites its code or its page tables, a VMM that writes guest memory, a
 * new CR3 or a memslot change all make the entry miss, with nothing to
 * invalidate and nothing to write-protect; the CPU has just executed the
 * instruction, so its translation is permitted and only which bytes it
 * names matters.  The accessed and dirty bits of the entries are left out
 * of the comparison: they do not change where a translation leads.
 *
 * A hit costs a few aligned user reads (at most eight) and no memslot
 * search, page walk or decode.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/mm.h>
#include <linux/uaccess.h>
#include <asm/processor-flags.h>

#include "kvmx.h"
#include "insn_cache.h"
#include "mmu/walk.h"

/* A and D: set by the CPU or the walker, irrelevant to the translation. */
#define PTE_AD_BITS	(KVMX_PTE_A | KVMX_PTE_D)

/*
 * Add a check that the bytes from @gpa on (within its aligned word) still
 * hold @val in the bits of @mask, both counted from @gpa.  False if @gpa is
 * not in a memslot or the entry has no room.
 */
static bool add_check(struct kvmx_vcpu *vcpu, struct kvmx_insn_cache_entry *e, u64 gpa,
		      u64 val, u64 mask)
{
	const struct kvmx_memslot *slot = kvmx_gfn_to_slot(vcpu->vm, gpa >> PAGE_SHIFT, false);
	unsigned int shift = (gpa & 7) * 8;
	struct kvmx_insn_check *c;

	if (!slot || e->nr_checks == KVMX_INSN_CACHE_CHECKS)
		return false;
	c = &e->checks[e->nr_checks++];
	c->uaddr = (u64 __user *)(unsigned long)(kvmx_slot_hva(slot, gpa >> PAGE_SHIFT) +
						 offset_in_page(gpa & ~7ULL));
	c->val = val << shift;
	c->mask = mask << shift;
	return true;
}

void kvmx_insn_cache_fill(struct kvmx_vcpu *vcpu, const struct kvmx_insn_key *key,
			  const struct kvmx_walk_result *fetch, const u8 *bytes,
			  const struct kvmx_emu_insn *insn)
{
	struct kvmx_insn_cache_entry *e = kvmx_insn_cache_entry_of(&vcpu->insn_cache, key->rip);
	bool legacy_pae = (key->paging & X86_CR4_PAE) && !(key->paging & EFER_LMA);
	u64 entry_mask = (key->paging & X86_CR4_PAE) ? ~0ULL : 0xffffffffULL;
	u64 gpa = fetch->gpa;
	int level, i;

	e->valid = false;
	e->nr_checks = 0;
	if ((key->gen & KVMX_MEMSLOT_GEN_UPDATE_IN_PROGRESS) ||
	    offset_in_page(gpa) + insn->len > PAGE_SIZE)
		return;
	for (level = fetch->top; level >= fetch->level && level > 0; level--) {
		/* A PAE PDPTE comes from the VMCS: it is in the key. */
		if (legacy_pae && level == 3)
			continue;
		if (!add_check(vcpu, e, fetch->pte_gpa[level - 1], fetch->pte[level - 1],
			       entry_mask & ~PTE_AD_BITS))
			return;
	}
	/* The code, a word at a time. */
	for (i = 0; i < insn->len; ) {
		unsigned int n = min_t(unsigned int, insn->len - i, 8 - ((gpa + i) & 7));
		u64 val = 0;
		unsigned int j;

		for (j = 0; j < n; j++)
			val |= (u64)bytes[i + j] << (8 * j);
		if (!add_check(vcpu, e, gpa + i, val, kvmx_emu_mask(n)))
			return;
		i += n;
	}
	e->key = *key;
	e->insn = *insn;
	e->valid = true;
}
