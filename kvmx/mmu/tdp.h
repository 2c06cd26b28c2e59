/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KVMX_MMU_TDP_H
#define KVMX_MMU_TDP_H

#include "../kvmx.h"

int kvmx_tdp_init(struct kvmx_tdp *tdp);
/* Unpins every page and frees every table; no vCPU may run. */
void kvmx_tdp_destroy(struct kvmx_tdp *tdp);

/* Result of kvmx_tdp_fault(). */
enum kvmx_fault {
	KVMX_FAULT_FIXED,	/* mapped: re-enter the guest */
	KVMX_FAULT_MMIO,	/* no RAM there (or a write to a read-only slot) */
	KVMX_FAULT_EFAULT,	/* the slot's user memory is gone: -EFAULT */
	KVMX_FAULT_NOMEM,
};

/* Handle an EPT violation at @gpa; sleeps (pins the user page). */
enum kvmx_fault kvmx_tdp_fault(struct kvmx_vcpu *vcpu, u64 gpa, bool write);

/* Remove the mappings of @npages gfns from @gfn; flushes the TLBs. */
void kvmx_tdp_zap(struct kvmx_tdp *tdp, u64 gfn, u64 npages);

#endif /* KVMX_MMU_TDP_H */
