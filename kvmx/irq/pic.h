/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The two cascaded 8259A PICs (master: ports 0x20-0x21, slave: 0xa0-0xa1,
 * ELCR: 0x4d0-0x4d1), as pure code with the semantics of KVM's
 * arch/x86/kvm/i8259.c.  The caller serialises every call (irqchip.c: the
 * irqchip's lock).  Unit-tested in tests/unit/irq_test.cc.
 */
#ifndef KVMX_IRQ_PIC_H
#define KVMX_IRQ_PIC_H

#include "../types.h"

/* One 8259: the fields of KVM's struct kvm_pic_state, in its order. */
struct kvmx_pic_chip {
	u8 last_irr;	/* edge detection */
	u8 irr;		/* interrupt request register */
	u8 imr;		/* interrupt mask register */
	u8 isr;		/* interrupt service register */
	u8 priority_add;	/* highest irq priority */
	u8 irq_base;
	u8 read_reg_select;
	u8 poll;
	u8 special_mask;
	u8 init_state;
	u8 auto_eoi;
	u8 rotate_on_auto_eoi;
	u8 special_fully_nested_mode;
	u8 init4;	/* true if 4 byte init */
	u8 elcr;	/* PIIX edge/trigger selection */
	u8 elcr_mask;
};

struct kvmx_pic {
	struct kvmx_pic_chip chip[2];	/* master, slave */
	bool output;			/* INTR to the CPU */
	/*
	 * Not part of the saved state: pins (0-15) whose ISR bit KVM's
	 * pic_clear_isr() cleared (an EOI, auto-EOI, poll, or ICW1 with an
	 * edge pending), for its ack notifiers; the caller clears it.
	 */
	u16 acked;
};

/* The state after power-on (KVM's kvm_create_pic()). */
void kvmx_pic_init(struct kvmx_pic *pic);

/*
 * Sets IRQ line @irq (0-15) to @level.  Returns as KVM's kvm_pic_set_irq():
 * -1 masked, 0 coalesced, 1 delivered to the PIC.
 */
int kvmx_pic_set_irq(struct kvmx_pic *pic, u32 irq, int level);

/* The CPU acknowledges INTR: returns the vector (a spurious one if none). */
u8 kvmx_pic_read_irq(struct kvmx_pic *pic);

/* Port I/O; @port is one of the six above (else reads 0xff, ignores writes). */
bool kvmx_pic_port(u16 port);
void kvmx_pic_write(struct kvmx_pic *pic, u16 port, u8 val);
u8 kvmx_pic_read(struct kvmx_pic *pic, u16 port);

/* After state was loaded whole (KVM_SET_IRQCHIP): recompute INTR. */
void kvmx_pic_update(struct kvmx_pic *pic);

#endif /* KVMX_IRQ_PIC_H */
