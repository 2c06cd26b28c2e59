/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KVMX_VMX_VMX_H
#define KVMX_VMX_VMX_H

#include <linux/seq_file.h>
#include "caps.h"

/* Decoded on load from the boot CPU; every online CPU was checked to match. */
extern struct kvmx_vmx_caps kvmx_vmx;

int kvmx_vmx_init(void);
void kvmx_vmx_exit(void);
void kvmx_vmx_show(struct seq_file *m);

/* In vmxon.S: 0 = done, 1 = VMfail, 2 = the instruction faulted. */
int kvmx_vmxon(u64 *vmxon_region_pa);
int kvmx_vmxoff(void);

#endif /* KVMX_VMX_VMX_H */
