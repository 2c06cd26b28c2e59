// SPDX-License-Identifier: GPL-2.0
/*
 * The 8259A pair; see pic.h.  Pure code: includes only kvmx/types.h.
 */
#include "pic.h"

static int get_priority(const struct kvmx_pic_chip *s, int mask)
{
	int priority = 0;

	if (!mask)
		return 8;
	while (!(mask & (1 << ((priority + s->priority_add) & 7))))
		priority++;
	return priority;
}

/* The IRQ (0-7) the chip wants to raise, or -1. */
static int chip_get_irq(const struct kvmx_pic *pic, const struct kvmx_pic_chip *s)
{
	int mask, priority, cur;

	mask = s->irr & ~s->imr;
	priority = get_priority(s, mask);
	if (priority == 8)
		return -1;
	/* Special fully nested mode: the slave's IRQ 2 does not count. */
	mask = s->isr;
	if (s->special_fully_nested_mode && s == &pic->chip[0])
		mask &= ~(1 << 2);
	cur = get_priority(s, mask);
	if (priority < cur)
		return (priority + s->priority_add) & 7;
	return -1;
}

static int chip_set_irq(struct kvmx_pic_chip *s, int irq, int level)
{
	int mask = 1 << irq, ret = 1;

	if (s->elcr & mask) {	/* level triggered */
		if (level) {
			ret = !(s->irr & mask);
			s->irr |= mask;
			s->last_irr |= mask;
		} else {
			s->irr &= ~mask;
			s->last_irr &= ~mask;
		}
	} else {		/* edge triggered */
		if (level) {
			if (!(s->last_irr & mask)) {
				ret = !(s->irr & mask);
				s->irr |= mask;
			}
			s->last_irr |= mask;
		} else {
			s->last_irr &= ~mask;
		}
	}
	return (s->imr & mask) ? -1 : ret;
}

void kvmx_pic_update(struct kvmx_pic *pic)
{
	if (chip_get_irq(pic, &pic->chip[1]) >= 0) {
		/* The slave raises the master's IRQ 2 (an edge). */
		chip_set_irq(&pic->chip[0], 2, 1);
		chip_set_irq(&pic->chip[0], 2, 0);
	}
	pic->output = chip_get_irq(pic, &pic->chip[0]) >= 0;
}

void kvmx_pic_init(struct kvmx_pic *pic)
{
	int i;
	u8 *p = (u8 *)pic;

	for (i = 0; i < (int)sizeof(*pic); i++)
		p[i] = 0;
	pic->chip[0].elcr_mask = 0xf8;
	pic->chip[1].elcr_mask = 0xde;
}

int kvmx_pic_set_irq(struct kvmx_pic *pic, u32 irq, int level)
{
	int ret;

	if (irq >= 16)
		return -1;
	ret = chip_set_irq(&pic->chip[irq >> 3], irq & 7, level);
	kvmx_pic_update(pic);
	return ret;
}

/* KVM's pic_clear_isr(): the ISR bit goes and the pin counts as acked. */
static void clear_isr(struct kvmx_pic *pic, struct kvmx_pic_chip *s, int irq)
{
	s->isr &= ~(1 << irq);
	pic->acked |= 1 << (irq + (s == &pic->chip[1] ? 8 : 0));
}

static void intack(struct kvmx_pic *pic, struct kvmx_pic_chip *s, int irq)
{
	s->isr |= 1 << irq;
	/* A level-sensitive request stays until the line goes down. */
	if (!(s->elcr & (1 << irq)))
		s->irr &= ~(1 << irq);
	if (s->auto_eoi) {
		if (s->rotate_on_auto_eoi)
			s->priority_add = (irq + 1) & 7;
		clear_isr(pic, s, irq);
	}
}

u8 kvmx_pic_read_irq(struct kvmx_pic *pic)
{
	int irq, irq2;
	u8 intno;

	pic->output = false;
	irq = chip_get_irq(pic, &pic->chip[0]);
	if (irq >= 0) {
		intack(pic, &pic->chip[0], irq);
		if (irq == 2) {
			irq2 = chip_get_irq(pic, &pic->chip[1]);
			if (irq2 >= 0)
				intack(pic, &pic->chip[1], irq2);
			else
				irq2 = 7;	/* spurious IRQ on the slave */
			intno = pic->chip[1].irq_base + irq2;
		} else {
			intno = pic->chip[0].irq_base + irq;
		}
	} else {
		intno = pic->chip[0].irq_base + 7;	/* spurious IRQ on the master */
	}
	kvmx_pic_update(pic);
	return intno;
}

static void chip_reset(struct kvmx_pic *pic, struct kvmx_pic_chip *s)
{
	u8 edge_irr = s->irr & ~s->elcr;
	int irq;

	for (irq = 0; irq < 8; irq++)
		if (edge_irr & (1 << irq))
			clear_isr(pic, s, irq);
	s->last_irr = 0;
	s->irr &= s->elcr;
	s->imr = 0;
	s->priority_add = 0;
	s->special_mask = 0;
	s->read_reg_select = 0;
	if (!s->init4) {
		s->special_fully_nested_mode = 0;
		s->auto_eoi = 0;
	}
	s->init_state = 1;
	s->isr = 0;
}

bool kvmx_pic_port(u16 port)
{
	return port == 0x20 || port == 0x21 || port == 0xa0 || port == 0xa1 ||
	       port == 0x4d0 || port == 0x4d1;
}

static void write_cmd(struct kvmx_pic *pic, struct kvmx_pic_chip *s, u8 val)
{
	int priority, cmd, irq;

	if (val & 0x10) {		/* ICW1 */
		s->init4 = val & 1;
		chip_reset(pic, s);
		kvmx_pic_update(pic);
		return;
	}
	if (val & 0x08) {		/* OCW3 */
		if (val & 0x04)
			s->poll = 1;
		if (val & 0x02)
			s->read_reg_select = val & 1;
		if (val & 0x40)
			s->special_mask = (val >> 5) & 1;
		return;
	}
	cmd = val >> 5;			/* OCW2 */
	switch (cmd) {
	case 0:
	case 4:
		s->rotate_on_auto_eoi = cmd >> 2;
		break;
	case 1:				/* non-specific EOI */
	case 5:				/* and rotate */
		priority = get_priority(s, s->isr);
		if (priority != 8) {
			irq = (priority + s->priority_add) & 7;
			if (cmd == 5)
				s->priority_add = (irq + 1) & 7;
			clear_isr(pic, s, irq);
			kvmx_pic_update(pic);
		}
		break;
	case 3:				/* specific EOI */
		clear_isr(pic, s, val & 7);
		kvmx_pic_update(pic);
		break;
	case 6:				/* set priority */
		s->priority_add = (val + 1) & 7;
		kvmx_pic_update(pic);
		break;
	case 7:				/* specific EOI and rotate */
		irq = val & 7;
		s->priority_add = (irq + 1) & 7;
		clear_isr(pic, s, irq);
		kvmx_pic_update(pic);
		break;
	default:
		break;
	}
}

static void write_data(struct kvmx_pic *pic, struct kvmx_pic_chip *s, u8 val)
{
	switch (s->init_state) {
	case 0:				/* OCW1: the mask */
		s->imr = val;
		kvmx_pic_update(pic);
		break;
	case 1:				/* ICW2 */
		s->irq_base = val & 0xf8;
		s->init_state = 2;
		break;
	case 2:				/* ICW3 */
		s->init_state = s->init4 ? 3 : 0;
		break;
	case 3:				/* ICW4 */
		s->special_fully_nested_mode = (val >> 4) & 1;
		s->auto_eoi = (val >> 1) & 1;
		s->init_state = 0;
		break;
	default:
		s->init_state = 0;
		break;
	}
}

void kvmx_pic_write(struct kvmx_pic *pic, u16 port, u8 val)
{
	struct kvmx_pic_chip *s;

	if (port == 0x4d0 || port == 0x4d1) {
		s = &pic->chip[port & 1];
		s->elcr = val & s->elcr_mask;
		return;
	}
	if (!kvmx_pic_port(port))
		return;
	s = &pic->chip[port >> 7];
	if (port & 1)
		write_data(pic, s, val);
	else
		write_cmd(pic, s, val);
}

static u8 poll_read(struct kvmx_pic *pic, struct kvmx_pic_chip *s, bool slave)
{
	int irq = chip_get_irq(pic, s);

	if (irq < 0) {
		kvmx_pic_update(pic);
		return 0x07;
	}
	if (slave) {
		pic->chip[0].isr &= ~(1 << 2);
		pic->chip[0].irr &= ~(1 << 2);
	}
	s->irr &= ~(1 << irq);
	clear_isr(pic, s, irq);
	if (slave || irq != 2)
		kvmx_pic_update(pic);
	return irq | 0x80;
}

u8 kvmx_pic_read(struct kvmx_pic *pic, u16 port)
{
	struct kvmx_pic_chip *s;
	u8 ret;

	if (port == 0x4d0 || port == 0x4d1)
		return pic->chip[port & 1].elcr;
	if (!kvmx_pic_port(port))
		return 0xff;
	s = &pic->chip[port >> 7];
	if (s->poll) {
		ret = poll_read(pic, s, port >> 7);
		s->poll = 0;
		return ret;
	}
	if (port & 1)
		return s->imr;
	return s->read_reg_select ? s->isr : s->irr;
}
