/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KVMX_MMU_TDP_H
#define KVMX_MMU_TDP_H

#include "../kvmx.h"
#include "spte.h"

int kvmx_tdp_init(struct kvmx_tdp *tdp);
/* Unpins every page and frees every table; no vCPU may run. */
void kvmx_tdp_destroy(struct kvmx_tdp *tdp);

/* Result of kvmx_tdp_fault(). */
enum kvmx_fault {
	KVMX_FAULT_FIXED,	/* mapped: re-enter the guest */
	KVMX_FAULT_MMIO,	/* no memslot there (now cached, if the VM caches) */
	KVMX_FAULT_RO_WRITE,	/* a write to a read-only slot: MMIO, not cached */
	KVMX_FAULT_EFAULT,	/* the slot's user memory is gone: -EFAULT */
	KVMX_FAULT_NOMEM,
};

/* Handle an EPT violation at @gpa; sleeps (pins the user page). */
enum kvmx_fault kvmx_tdp_fault(struct kvmx_vcpu *vcpu, u64 gpa, bool write);

/* Remove the mappings of @npages gfns from @gfn; flushes the TLBs. */
void kvmx_tdp_zap(struct kvmx_tdp *tdp, u64 gfn, u64 npages);

/*
 * Dirty logging turned on for @npages gfns from @gfn: take write permission
 * away from their present leaves, then INVEPT on all CPUs.
 */
void kvmx_tdp_write_protect(struct kvmx_tdp *tdp, u64 gfn, u64 npages);

/*
 * KVM_GET_DIRTY_LOG without manual protect: move @slot's dirty bits into
 * @snapshot (zeroed by the caller), clearing them, and write-protect the
 * pages that were dirty, then INVEPT on all CPUs if a leaf changed.
 * Returns whether one did.  The caller holds vm->lock (the bitmap's owner).
 */
bool kvmx_tdp_harvest_dirty(struct kvmx_tdp *tdp, const struct kvmx_memslot *slot,
			    unsigned long *snapshot);

/* Remove every MMIO SPTE of @cfg (when the generation wraps); returns how many. */
unsigned long kvmx_tdp_zap_mmio(struct kvmx_tdp *tdp, const struct kvmx_mmio_cfg *cfg);

/*
 * The entries on the way to @gfn's leaf, read without the lock: sptes[0] is
 * the level-4 entry.  Returns how many were read; the walk stops at the
 * leaf or at the first entry that is not a present table.  Safe against
 * concurrent zaps: tables are only freed with the VM.
 */
int kvmx_tdp_walk_lockless(struct kvmx_tdp *tdp, u64 gfn, u64 sptes[KVMX_EPT_LEVELS]);

/* Debug hook: write a not-present @spte as @gfn's leaf (module param debug_hooks). */
int kvmx_tdp_debug_set_spte(struct kvmx_tdp *tdp, u64 gfn, u64 spte);

#endif /* KVMX_MMU_TDP_H */
