/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The in-kernel irqchip: a local APIC per vCPU, an IOAPIC, the two 8259s
 * and the GSI routing table between them, with KVM's semantics
 * (arch/x86/kvm/{lapic,ioapic,i8259,irq_comm}.c in Linux 6.1).
 *
 * This header is the interface the rest of kvmx (and irqfd) uses.
 */
#ifndef KVMX_IRQ_IRQ_H
#define KVMX_IRQ_IRQ_H

#include <linux/kvm.h>
#include <linux/types.h>

struct kvmx_vm;
struct kvmx_vcpu;

/* The VM's irqchip mode (KVM's irqchip_mode). */
enum kvmx_irqchip_mode {
	KVMX_IRQCHIP_NONE,	/* KVM_INTERRUPT, KVM_EXIT_HLT: as without an irqchip */
	KVMX_IRQCHIP_KERNEL,	/* KVM_CREATE_IRQCHIP: LAPICs, IOAPIC and PICs in kvmx */
	KVMX_IRQCHIP_SPLIT,	/* KVM_CAP_SPLIT_IRQCHIP: LAPICs only */
};

/*
 * What KVM_IRQ_LINE does: set GSI @gsi to @level through the routing
 * table.  Returns as KVM's kvm_set_irq(): -1 when no route reached a
 * destination (masked, or no route), 0 when the interrupt was coalesced
 * (already pending), otherwise how many destinations took it.  It never
 * sleeps (RCU for the routing table, the irqchip's irqsave spinlock,
 * atomic IRR bits and kvmx_vcpu_kick()), so any context but NMI may call
 * it, an eventfd wakeup callback included; the caller holds no kvmx lock.
 */
int kvmx_irq_set(struct kvmx_vm *vm, u32 gsi, int level, bool line_status);

/*
 * What KVM_SIGNAL_MSI does: deliver the MSI (@address, @data) to the
 * LAPICs it names.  Returns as KVM's kvm_set_msi() (0 or more: how many
 * took it; -1 from the broadcast path when none matched).  Never sleeps,
 * like kvmx_irq_set().
 */
int kvmx_irq_deliver_msi(struct kvmx_vm *vm, u64 address, u32 data);

/* Whether the VM has an in-kernel LAPIC (kernel or split irqchip). */
bool kvmx_irqchip_in_kernel(struct kvmx_vm *vm);

/* Whether the PICs and the IOAPIC are in the kernel too (not split). */
bool kvmx_pic_in_kernel(struct kvmx_vm *vm);

/* ---- The rest of kvmx's view of the irqchip (irqchip.c, lapic.c). ---- */

/* vCPU requests (vcpu->requests), set by anyone with atomic bitops. */
#define KVMX_REQ_EVENT		0	/* re-evaluate interrupts before entry */
#define KVMX_REQ_EOI_EXIT	1	/* split irqchip: KVM_EXIT_IOAPIC_EOI */
#define KVMX_REQ_MMU_RELOAD	2	/* shadow MMU: the root was zapped, load a new one */
#define KVMX_REQ_MSR_BITMAP	3	/* the MSR filter changed: rebuild the MSR bitmap */

/* The VM's ioctls. */
int kvmx_irqchip_create(struct kvmx_vm *vm);
int kvmx_irqchip_enable_split(struct kvmx_vm *vm, const struct kvm_enable_cap *cap);
long kvmx_irqchip_vm_ioctl(struct kvmx_vm *vm, unsigned int ioctl, void __user *argp);
/* The VM is going: no deferred irqchip work runs after this returns. */
void kvmx_irqchip_stop(struct kvmx_vm *vm);
void kvmx_irqchip_destroy(struct kvmx_vm *vm);

/* vCPU side: creation (vm->lock held), freeing, reset and ioctls. */
int kvmx_lapic_create(struct kvmx_vcpu *vcpu);
void kvmx_lapic_free(struct kvmx_vcpu *vcpu);
long kvmx_lapic_vcpu_ioctl(struct kvmx_vcpu *vcpu, unsigned int ioctl, void __user *argp);

/*
 * Wakes @vcpu for an event: it re-evaluates its interrupts before its next
 * entry, leaves the guest if it is in it, and leaves HLT if it sleeps.
 */
void kvmx_vcpu_kick(struct kvmx_vcpu *vcpu);
void kvmx_kick_all_vcpus_wait(struct kvmx_vm *vm);
void kvmx_request_all_vcpus_wait(struct kvmx_vm *vm, int req);
void kvmx_queue_nmi(struct kvmx_vcpu *vcpu);

/*
 * The vCPU thread, before entry: timer expiries into IRR, INIT and SIPI.
 * Returns 1 if the vCPU may enter, 0 to leave KVM_RUN with
 * run->exit_reason set, -EINTR on a signal while it sleeps (HLT, or an AP
 * waiting for INIT/SIPI), -EAGAIN when an AP that waited for INIT/SIPI
 * woke up (KVM_RUN returns it, as KVM's).
 */
int kvmx_lapic_before_entry(struct kvmx_vcpu *vcpu);

/*
 * Interrupts off, just before VM entry: the vector to inject now (ExtINT
 * from the PIC or the LAPIC's highest deliverable), acknowledged; -1 if
 * none.  *@window: one is pending but the guest cannot take it now.
 */
int kvmx_lapic_inject(struct kvmx_vcpu *vcpu, bool allowed, bool *window);

/* HLT with an in-kernel LAPIC: the vCPU sleeps in KVM_RUN. */
void kvmx_lapic_halt(struct kvmx_vcpu *vcpu);

/* MOV to/from CR8 with an in-kernel LAPIC. */
void kvmx_lapic_set_cr8(struct kvmx_vcpu *vcpu, unsigned long cr8);
unsigned long kvmx_lapic_get_cr8(struct kvmx_vcpu *vcpu);

/*
 * MSRs: IA32_APIC_BASE, TSC_DEADLINE and the x2APIC range.  Returns 0
 * done, -EINVAL for #GP, -ENOENT when @index is not the LAPIC's.
 */
int kvmx_lapic_get_msr(struct kvmx_vcpu *vcpu, u32 index, u64 *data);
int kvmx_lapic_set_msr(struct kvmx_vcpu *vcpu, u32 index, u64 data, bool host);

/* Machine checks (KVM_X86_SETUP_MCE, KVM_X86_SET_MCE): the CMCI LVT. */
void kvmx_lapic_after_set_mcg_cap(struct kvmx_vcpu *vcpu, u64 old_cap);
void kvmx_lapic_deliver_cmci(struct kvmx_vcpu *vcpu);

/*
 * MMIO the in-kernel devices answer (the vCPU's xAPIC page, the IOAPIC):
 * true if @gpa was theirs and the access is done (a read fills @data).
 */
bool kvmx_irq_mmio_claims(struct kvmx_vcpu *vcpu, u64 gpa);
bool kvmx_irq_mmio(struct kvmx_vcpu *vcpu, u64 gpa, void *data, unsigned int len, bool write);

/*
 * The in-kernel PIT (pit.c): its VM ioctls, its teardown (first in the
 * VM's, before the vCPUs go: its timer raises GSI 0), and its ports.
 */
long kvmx_pit_vm_ioctl(struct kvmx_vm *vm, unsigned int ioctl, void __user *argp);
void kvmx_pit_destroy(struct kvmx_vm *vm);
bool kvmx_pit_pio(struct kvmx_vcpu *vcpu, u16 port, void *data, unsigned int len, bool in);

/*
 * KVM's ack and mask notifiers of GSI 0, called by the irqchip with no
 * lock held, from any context: the guest acknowledged (EOI) the PIC or
 * IOAPIC pin GSI 0 routes to, or unmasked it.  Only while the PIT
 * reinjects (kvmx_pit_reinjecting()) do they do anything.
 */
void kvmx_pit_irq_acked(struct kvmx_vm *vm);
void kvmx_pit_irq_unmasked(struct kvmx_vm *vm);
bool kvmx_pit_reinjecting(struct kvmx_vm *vm);

/*
 * Port I/O the in-kernel PICs and PIT answer; true if done (IN fills
 * @data).
 */
bool kvmx_irq_pio(struct kvmx_vcpu *vcpu, u16 port, void *data, unsigned int len, bool in);

/* KVM_GET/SET_MP_STATE with an irqchip. */
int kvmx_lapic_get_mp_state(struct kvmx_vcpu *vcpu, u32 *state);
int kvmx_lapic_set_mp_state(struct kvmx_vcpu *vcpu, u32 state);

#endif /* KVMX_IRQ_IRQ_H */
