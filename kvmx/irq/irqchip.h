/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The irqchip's kernel objects, shared by irqchip.c and lapic.c only (the
 * rest of kvmx uses irq.h).
 */
#ifndef KVMX_IRQ_IRQCHIP_H
#define KVMX_IRQ_IRQCHIP_H

#include <linux/atomic.h>
#include <linux/hrtimer.h>
#include <linux/rcupdate.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>

#include "irq.h"
#include "apic_regs.h"
#include "ioapic.h"
#include "pic.h"

#define KVMX_MAX_IRQ_ROUTES	4096	/* KVM_MAX_IRQ_ROUTES */
#define KVMX_NR_PIC_PINS	16

/* One GSI route, KVM's struct kvm_kernel_irq_routing_entry cut to x86. */
struct kvmx_irq_route {
	u32 gsi;
	u32 type;		/* KVM_IRQ_ROUTING_IRQCHIP or _MSI */
	u32 chip;		/* KVM_IRQCHIP_PIC_MASTER, _PIC_SLAVE, _IOAPIC */
	u32 pin;		/* PIC pins 0-15 (slave: 8-15), IOAPIC pins 0-23 */
	u64 msi_address;
	u32 msi_data;
};

/*
 * A routing table, immutable once published: sorted by GSI.  Readers
 * hold rcu_read_lock() (delivery never sleeps); KVM_SET_GSI_ROUTING
 * replaces it whole under vm->lock and frees the old one after a grace
 * period.
 */
struct kvmx_irq_routing {
	struct rcu_head rcu;
	u32 nr;
	struct kvmx_irq_route e[];
};

/*
 * The VM's irqchip (vm->irqchip), made once by KVM_CREATE_IRQCHIP or
 * KVM_ENABLE_CAP(KVM_CAP_SPLIT_IRQCHIP) before any vCPU exists and freed
 * with the VM: @mode and the pointer never change while vCPUs exist.
 */
struct kvmx_irqchip {
	enum kvmx_irqchip_mode mode;
	u32 nr_reserved_ioapic_pins;	/* split: GSIs 0..n-1 are user space's IOAPIC */

	/*
	 * @lock protects @pic and @ioapic (every register and line).  It is
	 * taken with interrupts off (irqsave), and nests outside nothing:
	 * delivery to the LAPICs under it only sets IRR bits and kicks.
	 */
	spinlock_t lock;
	struct kvmx_pic pic;
	struct kvmx_ioapic ioapic;

	struct kvmx_irq_routing __rcu *routing;	/* see struct kvmx_irq_routing */

	/*
	 * The IOAPIC's re-delivery after an EOI storm (KVM's eoi_inject):
	 * queued under @lock, runs under it, cancelled by kvmx_irqchip_stop()
	 * before the vCPUs it delivers to are freed.
	 */
	struct delayed_work eoi_inject;
};

/* The LAPIC's pending_events bits (KVM's KVM_APIC_INIT/SIPI). */
#define KVMX_APIC_INIT	0
#define KVMX_APIC_SIPI	1

/*
 * A vCPU's local APIC (vcpu->apic).
 *
 * Who touches what: the register page @regs, @period_ns, @timer_mode and
 * @tsc_deadline belong to the vCPU's thread (under vcpu->mutex: KVM_RUN,
 * the MSR, MMIO, GET/SET_LAPIC paths), with two exceptions, as in KVM:
 * IRR and TMR bits are set by any context (another vCPU's IPI, the IOAPIC,
 * KVM_IRQ_LINE, MSIs, irqfd) with atomic bitops, and read by others
 * without a lock (ID, LDR, DFR, SPIV for destination matching: a racing
 * change gives the old or the new answer, as on hardware).  Anyone who
 * sets an IRR bit then calls kvmx_vcpu_kick().  @timer_pending is the
 * hrtimer's (hard interrupt context) way to hand an expiry to the thread;
 * @pending_events and @sipi_vector carry INIT and SIPI the same way.
 */
struct kvmx_lapic {
	struct kvmx_vcpu *vcpu;
	u8 *regs;			/* KVMX_APIC_PAGE bytes */
	struct hrtimer timer;
	u64 period_ns;			/* one-shot/periodic: TMICT x divider */
	ktime_t target;			/* when the current period ends */
	u32 timer_mode;			/* KVMX_APIC_TIMER_*, cached from LVTT */
	u64 tsc_deadline;		/* guest TSC; 0: not armed */
	atomic_t timer_pending;
	unsigned long pending_events;	/* KVMX_APIC_INIT, KVMX_APIC_SIPI */
	u8 sipi_vector;
	u8 eoi_exit_vector;		/* split: KVM_EXIT_IOAPIC_EOI's vector */
};

/* lapic.c: kvm_irq_delivery_to_apic(); @src is the sender of an IPI. */
int kvmx_apic_deliver(struct kvmx_vm *vm, struct kvmx_vcpu *src, const struct kvmx_apic_irq *irq);
bool kvmx_lapic_accepts_pic(struct kvmx_vcpu *vcpu);
bool kvmx_lapic_mmio_claims(struct kvmx_vcpu *vcpu, u64 gpa);
void kvmx_lapic_mmio(struct kvmx_vcpu *vcpu, u64 gpa, void *data, unsigned int len, bool write);

/* irqchip.c */
struct kvmx_irqchip *kvmx_irqchip(struct kvmx_vm *vm);
void kvmx_pic_kick(struct kvmx_vm *vm);
bool kvmx_split_handles_eoi(struct kvmx_vcpu *vcpu, u8 vector);
void kvmx_irq_pic_notify(struct kvmx_vm *vm, u16 acked, u16 unmasked);
void kvmx_irq_eoi_notify(struct kvmx_vm *vm, u8 vector);
bool kvmx_apic_match_dest(struct kvmx_vcpu *target, struct kvmx_vcpu *src,
			  const struct kvmx_apic_irq *irq);

#endif /* KVMX_IRQ_IRQCHIP_H */
