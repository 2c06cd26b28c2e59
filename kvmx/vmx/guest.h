/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KVMX_VMX_GUEST_H
#define KVMX_VMX_GUEST_H

#include "../mmu/walk.h"

struct kvmx_vcpu;

/*
 * The guest's paging state (CR0, CR3, CR4, EFER, RFLAGS, CPL, PDPTEs), read
 * from the VMCS once for a series of walks (vCPU loaded).
 */
void kvmx_walk_cfg_read(struct kvmx_vcpu *vcpu, struct kvmx_walk_cfg *cfg);

/*
 * Translate guest linear @la under @cfg (NULL: the vCPU's state now);
 * returns enum kvmx_walk_status.
 */
int kvmx_translate(struct kvmx_vcpu *vcpu, const struct kvmx_walk_cfg *cfg, u64 la,
		   u32 access, struct kvmx_walk_result *res);

/*
 * Read (or, with KVMX_WALK_WRITE in @access, write) @len bytes at guest
 * linear @la, page by page, under @cfg (NULL: the vCPU's state now).
 * Returns enum kvmx_walk_status; on KVMX_WALK_PF, @res says which #PF to
 * inject.  KVMX_WALK_BAD_GPA also covers data that is not in guest RAM.
 */
int kvmx_access_la(struct kvmx_vcpu *vcpu, const struct kvmx_walk_cfg *cfg, u64 la, void *buf,
		   unsigned int len, u32 access, struct kvmx_walk_result *res);

#endif /* KVMX_VMX_GUEST_H */
