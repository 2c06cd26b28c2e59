/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KVMX_VMX_VMX_H
#define KVMX_VMX_VMX_H

#include <linux/kvm.h>
#include <linux/seq_file.h>
#include "caps.h"
#include "vmcs.h"
#include "../kvmx.h"

/* Decoded on load from the boot CPU; every online CPU was checked to match. */
extern struct kvmx_vmx_caps kvmx_vmx;

int kvmx_vmx_init(void);
void kvmx_vmx_exit(void);
void kvmx_vmx_show(struct seq_file *m);

/* In vmxon.S: 0 = done, 1 = VMfail, 2 = the instruction faulted. */
int kvmx_vmxon(u64 *vmxon_region_pa);
int kvmx_vmxoff(void);

struct kvmx_vcpu;

/* The controls every VMCS gets, fixed on load (vmcs.c). */
struct kvmx_vmcs_config {
	u32 pin, proc, proc2, exit, entry;
	u32 exception_bitmap;
	unsigned long cr0_host_owned;	/* CR0/CR4 guest/host masks */
	unsigned long cr4_host_owned;
};

extern struct kvmx_vmcs_config kvmx_vmcs_config;

/* vmcs.c */
int kvmx_vmcs_config_init(void);
void kvmx_vmcs_init_cpu_lists(void);
void kvmx_vmcs_clear_cpu(void);
int kvmx_vmcs_alloc(struct kvmx_vcpu *vcpu);
void kvmx_vmcs_free(struct kvmx_vcpu *vcpu);
void kvmx_vmcs_setup(struct kvmx_vcpu *vcpu);
void kvmx_update_msr_bitmap(struct kvmx_vcpu *vcpu);
void kvmx_vcpu_load(struct kvmx_vcpu *vcpu);
void kvmx_vcpu_put(struct kvmx_vcpu *vcpu);
void kvmx_invept_all_cpus(u64 eptp);

/* vmenter.S: 0 after a VM exit, 1 if VMLAUNCH/VMRESUME failed. */
int kvmx_vmx_run(u64 *regs, bool launched);
void kvmx_vmx_vmexit(void);

/* state.c: guest register state in the VMCS; the vCPU is loaded. */
void kvmx_set_cr0(struct kvmx_vcpu *vcpu, unsigned long cr0);
int kvmx_set_cr4(struct kvmx_vcpu *vcpu, unsigned long cr4);
int kvmx_set_efer(struct kvmx_vcpu *vcpu, u64 efer);

/* CR0 and CR4 as the guest sees them: host-owned bits from the read shadows. */
static inline unsigned long kvmx_get_cr0(struct kvmx_vcpu *vcpu)
{
	unsigned long mask = vcpu->cr0_host_owned;

	return (vmcs_read(GUEST_CR0) & ~mask) | (vmcs_read(CR0_READ_SHADOW) & mask);
}

static inline unsigned long kvmx_get_cr4(struct kvmx_vcpu *vcpu)
{
	unsigned long mask = vcpu->cr4_host_owned;

	return (vmcs_read(GUEST_CR4) & ~mask) | (vmcs_read(CR4_READ_SHADOW) & mask);
}

void kvmx_get_regs(struct kvmx_vcpu *vcpu, struct kvm_regs *regs);
void kvmx_set_regs(struct kvmx_vcpu *vcpu, const struct kvm_regs *regs);
void kvmx_get_sregs(struct kvmx_vcpu *vcpu, struct kvm_sregs *sregs);
int kvmx_set_sregs(struct kvmx_vcpu *vcpu, const struct kvm_sregs *sregs);
int kvmx_read_pdptrs(struct kvmx_vcpu *vcpu, u64 cr3, u64 pdpte[4]);
void kvmx_write_pdptrs(const u64 pdpte[4]);
int kvmx_get_msr(struct kvmx_vcpu *vcpu, u32 index, u64 *data, bool host);
void kvmx_get_vcpu_events(struct kvmx_vcpu *vcpu, struct kvm_vcpu_events *ev);
const char *kvmx_set_vcpu_events(struct kvmx_vcpu *vcpu, const struct kvm_vcpu_events *ev);
int kvmx_set_msr(struct kvmx_vcpu *vcpu, u32 index, u64 data, bool host);
void kvmx_set_tsc_offset(struct kvmx_vcpu *vcpu, u64 offset);
int kvmx_complete_msr(struct kvmx_vcpu *vcpu, bool read);
extern const u32 kvmx_msr_list[];
extern const unsigned int kvmx_msr_list_len;
/*
 * RIP moves past a completed instruction (skipped or emulated): the
 * instruction after STI or MOV SS has run, so that blocking ends.
 */
static inline void kvmx_set_next_rip(u64 rip)
{
	u32 intr = vmcs_read(GUEST_INTERRUPTIBILITY_INFO);

	vmcs_write(GUEST_RIP, rip);
	if (intr & (GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS))
		vmcs_write(GUEST_INTERRUPTIBILITY_INFO,
			   intr & ~(GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS));
}

void kvmx_queue_exception(struct kvmx_vcpu *vcpu, u8 vector, bool has_error, u32 error);
int kvmx_guest_cpl(void);
unsigned long kvmx_linear_rip(void);
unsigned long kvmx_get_rflags(struct kvmx_vcpu *vcpu);
void kvmx_set_rflags(struct kvmx_vcpu *vcpu, unsigned long rflags);
void kvmx_update_exception_bitmap(struct kvmx_vcpu *vcpu);
bool kvmx_interrupt_allowed(struct kvmx_vcpu *vcpu);
void kvmx_process_nmi(struct kvmx_vcpu *vcpu);
bool kvmx_nmi_allowed(struct kvmx_vcpu *vcpu);

/* vmcs.c: INIT (KVM's kvm_vcpu_reset(init_event)) and SIPI. */
void kvmx_vcpu_init_event(struct kvmx_vcpu *vcpu);
void kvmx_vcpu_sipi(struct kvmx_vcpu *vcpu, u8 vector);

/* exit.c */
void kvmx_exit_init(void);
void kvmx_vcpu_init_msrs(struct kvmx_vcpu *vcpu);
int kvmx_vmx_enter(struct kvmx_vcpu *vcpu);
int kvmx_handle_exit(struct kvmx_vcpu *vcpu);
int kvmx_singlestep_done(struct kvmx_vcpu *vcpu, int r);
int kvmx_complete_pio(struct kvmx_vcpu *vcpu);

#endif /* KVMX_VMX_VMX_H */
