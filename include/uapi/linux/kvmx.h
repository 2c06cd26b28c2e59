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

/* Size of the region a vCPU fd maps: struct kvm_run, then the PIO data page. */
#define KVMX_VCPU_MMAP_PAGES	2

#endif /* _UAPI_LINUX_KVMX_H */
