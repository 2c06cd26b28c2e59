/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * kvmx's additions to the KVM ABI.
 *
 * kvmx speaks KVM's ioctl ABI (<linux/kvm.h>) on /dev/kvmx.  What kvmx
 * adds goes through KVM's own extension points, in number ranges that
 * upstream KVM will never use:
 *   - capabilities for KVM_CHECK_EXTENSION and KVM_ENABLE_CAP start at
 *     KVMX_CAP_BASE;
 *   - binary statistics (KVM_GET_STATS_FD) carry kvmx's own names.
 */
#ifndef _UAPI_LINUX_KVMX_H
#define _UAPI_LINUX_KVMX_H

#include <linux/kvm.h>

/* "kv" in the high half: far above any KVM_CAP_* number. */
#define KVMX_CAP_BASE		0x6b760000

/*
 * MMIO caching in SPTEs, per VM.  KVM_CHECK_EXTENSION answers the bitmask
 * of the flavours this host supports (1 << KVMX_MMIO_CACHING_*);
 * KVM_ENABLE_CAP with args[0] = a flavour chooses one, before the VM's
 * first vCPU.  The default comes from the module parameter mmio_caching.
 */
#define KVMX_CAP_MMIO_CACHING		(KVMX_CAP_BASE + 1)
#define KVMX_MMIO_CACHING_OFF		0	/* every MMIO access searches the memslots */
#define KVMX_MMIO_CACHING_MISCONFIG	1	/* EPT misconfiguration: bits 2:0 = 110b */
#define KVMX_MMIO_CACHING_NOT_PRESENT	2	/* not present, marked: EPT violation */

/*
 * The VM's MMU, per VM.  KVM_CHECK_EXTENSION answers the bitmask of the
 * MMUs this host offers (1 << KVMX_MMU_*); KVM_ENABLE_CAP with args[0] =
 * an MMU chooses the VM's, before its first vCPU.  Every VM starts on
 * EPT, or on shadow paging when kvmx.ko was loaded with ept=0 (EPT is
 * then not offered).
 */
#define KVMX_CAP_MMU			(KVMX_CAP_BASE + 2)
#define KVMX_MMU_EPT			0	/* two-dimensional paging: EPT */
#define KVMX_MMU_SHADOW			1	/* shadow page tables, no EPT */

/*
 * bypass_guest_pf, per VM: whether a shadow-paged VM's not-present guest
 * page faults go straight to the guest without a VM exit (seed 003).
 * KVM_CHECK_EXTENSION answers 1 where the host can (a reserved physical-
 * address bit is free for trap values), else 0; KVM_ENABLE_CAP with
 * args[0] = 0 or 1 sets it, before the VM's first vCPU, on a VM of either
 * MMU (it takes effect while the VM is shadow-paged).  The default comes
 * from the module parameter bypass_guest_pf.
 */
#define KVMX_CAP_BYPASS_GUEST_PF	(KVMX_CAP_BASE + 3)

/*
 * KVM_EXIT_INTERNAL_ERROR suberror of a shadow-paged vCPU in a paging mode
 * kvmx does not shadow (yet): data[0] is one of KVMX_SHADOW_MODE_*, data[1]
 * CR0, data[2] CR4, data[3] EFER, as the guest has them.  The vCPU has not
 * run; user space may change its state and run it again.
 */
#define KVMX_INTERNAL_ERROR_SHADOW_MODE	0x6b76
#define KVMX_SHADOW_MODE_REAL		1	/* CR0.PE = 0: real mode (no vm86 yet) */
#define KVMX_SHADOW_MODE_LME_NO_PAGING	3	/* EFER.LME with CR0.PG = 0 */
#define KVMX_SHADOW_MODE_LA57		4	/* 5-level paging */

/*
 * Debugging only, with the module parameter debug_hooks=1: write @spte,
 * which must not be present (bit 0 clear), as the EPT leaf of @gpa, e.g.
 * to see how kvmx handles a corrupted entry.  On the VM fd.
 */
struct kvmx_debug_spte {
	__u64 gpa;
	__u64 spte;
};

#define KVMX_DEBUG_SET_SPTE	_IOW('x', 0x01, struct kvmx_debug_spte)

/* Size of the region a vCPU fd maps: struct kvm_run, then the PIO data page. */
#define KVMX_VCPU_MMAP_PAGES	2

#endif /* _UAPI_LINUX_KVMX_H */
