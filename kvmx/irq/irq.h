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
 * (already pending), otherwise how many destinations took it.  Any context
 * that may sleep; callers hold no kvmx lock.
 */
int kvmx_irq_set(struct kvmx_vm *vm, u32 gsi, int level, bool line_status);

/*
 * What KVM_SIGNAL_MSI does: deliver the MSI (@address, @data) to the
 * LAPICs it names.  Returns as KVM's kvm_set_msi(): -1 when no LAPIC
 * matched, else how many took it.  Any context that may sleep.
 */
int kvmx_irq_deliver_msi(struct kvmx_vm *vm, u64 address, u32 data);

/* Whether the VM has an in-kernel LAPIC (kernel or split irqchip). */
bool kvmx_irqchip_in_kernel(struct kvmx_vm *vm);

#endif /* KVMX_IRQ_IRQ_H */
