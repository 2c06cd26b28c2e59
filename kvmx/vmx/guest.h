/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KVMX_VMX_GUEST_H
#define KVMX_VMX_GUEST_H

#include "../mmu/walk.h"

struct kvmx_vcpu;

/* Translate guest linear @la (vCPU loaded); returns enum kvmx_walk_status. */
int kvmx_translate(struct kvmx_vcpu *vcpu, u64 la, u32 access, struct kvmx_walk_result *res);

/*
 * Read (or, with KVMX_WALK_WRITE in @access, write) @len bytes at guest
 * linear @la, page by page.  Returns enum kvmx_walk_status; on
 * KVMX_WALK_PF, @res says which #PF to inject.  KVMX_WALK_BAD_GPA also
 * covers data that is not in guest RAM.
 */
int kvmx_access_la(struct kvmx_vcpu *vcpu, u64 la, void *buf, unsigned int len, u32 access,
		   struct kvmx_walk_result *res);

#endif /* KVMX_VMX_GUEST_H */
