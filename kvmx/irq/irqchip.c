// SPDX-License-Identifier: GPL-2.0
/*
 * The VM's irqchip: KVM_CREATE_IRQCHIP and the split irqchip, GSI routing
 * (KVM_SET_GSI_ROUTING, the default table), KVM_IRQ_LINE(_STATUS),
 * KVM_SIGNAL_MSI, KVM_GET/SET_IRQCHIP, and the IOAPIC's MMIO and the PICs'
 * ports, with the semantics of KVM's irq_comm.c, irqchip.c, ioapic.c and
 * i8259.c.  Locking is written next to struct kvmx_irqchip (irqchip.h).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/uaccess.h>

#include "../kvmx.h"
#include "irqchip.h"

struct kvmx_irqchip *kvmx_irqchip(struct kvmx_vm *vm)
{
	/* Pairs with the release that publishes it: its contents first. */
	return smp_load_acquire(&vm->irqchip);
}

bool kvmx_irqchip_in_kernel(struct kvmx_vm *vm)
{
	return kvmx_irqchip(vm);
}

bool kvmx_pic_in_kernel(struct kvmx_vm *vm)
{
	struct kvmx_irqchip *chip = kvmx_irqchip(vm);

	return chip && chip->mode == KVMX_IRQCHIP_KERNEL;
}

/* The PIC raised INTR: wake the first vCPU that takes it, as KVM. */
void kvmx_pic_kick(struct kvmx_vm *vm)
{
	/* Pairs with kvmx_create_vcpu(): vcpus[i] is there for i < n. */
	int i, n = smp_load_acquire(&vm->nr_vcpus);

	for (i = 0; i < n; i++) {
		if (vm->vcpus[i]->apic && kvmx_lapic_accepts_pic(vm->vcpus[i])) {
			kvmx_vcpu_kick(vm->vcpus[i]);
			return;
		}
	}
}

/* Called with chip->lock held by the IOAPIC when a pin fires. */
static int ioapic_deliver(void *ctx, const struct kvmx_apic_irq *irq)
{
	return kvmx_apic_deliver(ctx, NULL, irq);
}

/* Called with chip->lock held by the IOAPIC after KVMX_IOAPIC_SUCCESSIVE_EOIS. */
static void ioapic_delay_eoi_inject(void *ctx)
{
	struct kvmx_irqchip *chip = kvmx_irqchip(ctx);

	pr_info_ratelimited("IOAPIC: a level-triggered interrupt storm; delivering again in 10 ms\n");
	schedule_delayed_work(&chip->eoi_inject, HZ / 100);
}

static void eoi_inject_work(struct work_struct *work)
{
	struct kvmx_irqchip *chip = container_of(to_delayed_work(work), struct kvmx_irqchip,
						 eoi_inject);
	unsigned long flags;

	spin_lock_irqsave(&chip->lock, flags);
	kvmx_ioapic_eoi_inject(&chip->ioapic);
	spin_unlock_irqrestore(&chip->lock, flags);
}

/* ---- Routing ---- */

static int route_cmp(const void *a, const void *b)
{
	const struct kvmx_irq_route *x = a, *y = b;

	return x->gsi < y->gsi ? -1 : x->gsi > y->gsi;
}

static struct kvmx_irq_routing *routing_alloc(u32 nr)
{
	struct kvmx_irq_routing *rt = kvzalloc(struct_size(rt, e, nr), GFP_KERNEL_ACCOUNT);

	if (rt)
		rt->nr = nr;
	return rt;
}

/* KVM's kvm_set_routing_entry() and setup_routing_entry() checks. */
static int route_from_user(struct kvmx_irqchip *chip, const struct kvm_irq_routing_entry *ue,
			   struct kvmx_irq_route *e)
{
	e->gsi = ue->gsi;
	e->type = ue->type;
	if (ue->gsi >= KVMX_MAX_IRQ_ROUTES || ue->flags)
		return -EINVAL;
	switch (ue->type) {
	case KVM_IRQ_ROUTING_IRQCHIP:
		if (chip->mode == KVMX_IRQCHIP_SPLIT)
			return -EINVAL;
		e->chip = ue->u.irqchip.irqchip;
		e->pin = ue->u.irqchip.pin;
		switch (e->chip) {
		case KVM_IRQCHIP_PIC_SLAVE:
			e->pin += KVMX_NR_PIC_PINS / 2;
			fallthrough;
		case KVM_IRQCHIP_PIC_MASTER:
			if (ue->u.irqchip.pin >= KVMX_NR_PIC_PINS / 2)
				return -EINVAL;
			return 0;
		case KVM_IRQCHIP_IOAPIC:
			return ue->u.irqchip.pin >= KVMX_IOAPIC_PINS ? -EINVAL : 0;
		default:
			return -EINVAL;
		}
	case KVM_IRQ_ROUTING_MSI:
		e->msi_address = ((u64)ue->u.msi.address_hi << 32) | ue->u.msi.address_lo;
		e->msi_data = ue->u.msi.data;
		return 0;
	default:
		return -EINVAL;
	}
}

/* One GSI: at most one route per irqchip, or a single non-irqchip route. */
static int check_duplicates(const struct kvmx_irq_routing *rt)
{
	u32 i;

	for (i = 1; i < rt->nr; i++) {
		const struct kvmx_irq_route *a = &rt->e[i - 1], *b = &rt->e[i];

		if (a->gsi != b->gsi)
			continue;
		if (a->type != KVM_IRQ_ROUTING_IRQCHIP || b->type != KVM_IRQ_ROUTING_IRQCHIP)
			return -EINVAL;
	}
	/* Same chip twice for one GSI (routes of a GSI are adjacent). */
	for (i = 0; i < rt->nr; i++) {
		u32 j;

		for (j = i + 1; j < rt->nr && rt->e[j].gsi == rt->e[i].gsi; j++)
			if (rt->e[j].chip == rt->e[i].chip)
				return -EINVAL;
	}
	return 0;
}

static void publish_routing(struct kvmx_vm *vm, struct kvmx_irqchip *chip,
			    struct kvmx_irq_routing *rt)
{
	struct kvmx_irq_routing *old;

	old = rcu_replace_pointer(chip->routing, rt, lockdep_is_held(&vm->lock));
	if (old)
		kvfree_rcu(old, rcu);
}

static int set_gsi_routing(struct kvmx_vm *vm, struct kvm_irq_routing __user *arg)
{
	struct kvmx_irqchip *chip = kvmx_irqchip(vm);
	struct kvm_irq_routing_entry *ue = NULL;
	struct kvmx_irq_routing *rt;
	struct kvm_irq_routing hdr;
	int r = 0;
	u32 i;

	if (copy_from_user(&hdr, arg, sizeof(hdr)))
		return -EFAULT;
	if (!chip)
		return kvmx_refuse(-EINVAL, "KVM_SET_GSI_ROUTING", "no in-kernel irqchip");
	if (hdr.nr > KVMX_MAX_IRQ_ROUTES || hdr.flags)
		return kvmx_refuse(-EINVAL, "KVM_SET_GSI_ROUTING", "%u routes, flags 0x%x",
				   hdr.nr, hdr.flags);
	if (hdr.nr) {
		ue = vmemdup_user(arg->entries, array_size(sizeof(*ue), hdr.nr));
		if (IS_ERR(ue))
			return PTR_ERR(ue);
	}
	rt = routing_alloc(hdr.nr);
	if (!rt) {
		kvfree(ue);
		return -ENOMEM;
	}
	for (i = 0; i < hdr.nr && !r; i++)
		r = route_from_user(chip, &ue[i], &rt->e[i]);
	kvfree(ue);
	if (!r) {
		sort(rt->e, rt->nr, sizeof(rt->e[0]), route_cmp, NULL);
		r = check_duplicates(rt);
	}
	if (r) {
		kvfree(rt);
		return kvmx_refuse(r, "KVM_SET_GSI_ROUTING", "route %u is invalid", i - 1);
	}
	mutex_lock(&vm->lock);
	publish_routing(vm, chip, rt);
	mutex_unlock(&vm->lock);
	return 0;
}

/* KVM's default routing: GSI n to IOAPIC pin n, and GSIs 0-15 to the PICs. */
static struct kvmx_irq_routing *default_routing(void)
{
	struct kvmx_irq_routing *rt = routing_alloc(KVMX_IOAPIC_PINS + KVMX_NR_PIC_PINS);
	u32 gsi, n = 0;

	if (!rt)
		return NULL;
	for (gsi = 0; gsi < KVMX_IOAPIC_PINS; gsi++) {
		if (gsi < KVMX_NR_PIC_PINS)
			rt->e[n++] = (struct kvmx_irq_route){
				.gsi = gsi, .type = KVM_IRQ_ROUTING_IRQCHIP,
				.chip = gsi < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE,
				.pin = gsi,
			};
		rt->e[n++] = (struct kvmx_irq_route){
			.gsi = gsi, .type = KVM_IRQ_ROUTING_IRQCHIP,
			.chip = KVM_IRQCHIP_IOAPIC, .pin = gsi,
		};
	}
	return rt;
}

/* ---- Delivery ---- */

static int set_route(struct kvmx_vm *vm, struct kvmx_irqchip *chip,
		     const struct kvmx_irq_route *e, int level)
{
	unsigned long flags;
	int r;

	if (e->type == KVM_IRQ_ROUTING_MSI)
		return level ? kvmx_irq_deliver_msi(vm, e->msi_address, e->msi_data) : -1;
	if (chip->mode != KVMX_IRQCHIP_KERNEL)
		return -1;
	spin_lock_irqsave(&chip->lock, flags);
	if (e->chip == KVM_IRQCHIP_IOAPIC)
		r = kvmx_ioapic_set_irq(&chip->ioapic, e->pin, level);
	else
		r = kvmx_pic_set_irq(&chip->pic, e->pin, level);
	spin_unlock_irqrestore(&chip->lock, flags);
	if (e->chip != KVM_IRQCHIP_IOAPIC && READ_ONCE(chip->pic.output))
		kvmx_pic_kick(vm);
	return r;
}

int kvmx_irq_set(struct kvmx_vm *vm, u32 gsi, int level, bool line_status)
{
	struct kvmx_irqchip *chip = kvmx_irqchip(vm);
	struct kvmx_irq_route set[3];
	const struct kvmx_irq_routing *rt;
	int n = 0, ret = -1, lo, hi;

	if (!chip)
		return -1;
	rcu_read_lock();
	rt = rcu_dereference(chip->routing);
	lo = 0;
	hi = rt ? rt->nr : 0;
	while (lo < hi) {		/* the first route of @gsi */
		int mid = (lo + hi) / 2;

		if (rt->e[mid].gsi < gsi)
			lo = mid + 1;
		else
			hi = mid;
	}
	while (rt && lo < rt->nr && rt->e[lo].gsi == gsi && n < ARRAY_SIZE(set))
		set[n++] = rt->e[lo++];
	rcu_read_unlock();
	/* As kvm_set_irq(): the sum of what every route took, -1 if none did. */
	while (n--) {
		int r = set_route(vm, chip, &set[n], level);

		if (r < 0)
			continue;
		ret = r + (ret < 0 ? 0 : ret);
	}
	return ret;
}

int kvmx_irq_deliver_msi(struct kvmx_vm *vm, u64 address, u32 data)
{
	struct kvmx_apic_irq irq;

	kvmx_msi_decode(address, data, &irq);
	return kvmx_apic_deliver(vm, NULL, &irq);
}

/* Split irqchip: user space's IOAPIC wants the EOI of @vector (KVM's scan). */
bool kvmx_split_handles_eoi(struct kvmx_vcpu *vcpu, u8 vector)
{
	struct kvmx_irqchip *chip = kvmx_irqchip(vcpu->vm);
	const struct kvmx_irq_routing *rt;
	bool found = false;
	u32 i;

	rcu_read_lock();
	rt = rcu_dereference(chip->routing);
	for (i = 0; rt && i < rt->nr && !found; i++) {
		const struct kvmx_irq_route *e = &rt->e[i];
		struct kvmx_apic_irq irq;

		if (e->gsi >= chip->nr_reserved_ioapic_pins)
			break;
		if (e->type != KVM_IRQ_ROUTING_MSI)
			continue;
		kvmx_msi_decode(e->msi_address, e->msi_data, &irq);
		found = irq.vector == vector && irq.trig_level &&
			kvmx_apic_match_dest(vcpu, NULL, &irq);
	}
	rcu_read_unlock();
	return found;
}

/* ---- The PIT's ack and mask notifiers (KVM's, for GSI 0 only) ---- */

/*
 * Whether GSI 0 routes to pin @pin (PIC pins 0-15) of @irqchip: KVM maps
 * an irqchip pin back to the GSI routed to it for its notifiers.
 */
static bool gsi0_routes_to(struct kvmx_irqchip *chip, u32 irqchip, u32 pin)
{
	const struct kvmx_irq_routing *rt;
	bool found = false;
	u32 i;

	rcu_read_lock();
	rt = rcu_dereference(chip->routing);
	/* Sorted by GSI: GSI 0's routes come first. */
	for (i = 0; rt && i < rt->nr && rt->e[i].gsi == 0 && !found; i++) {
		const struct kvmx_irq_route *e = &rt->e[i];

		if (e->type != KVM_IRQ_ROUTING_IRQCHIP || e->pin != pin)
			continue;
		if (irqchip == KVM_IRQCHIP_IOAPIC)
			found = e->chip == KVM_IRQCHIP_IOAPIC;
		else
			found = e->chip != KVM_IRQCHIP_IOAPIC;
	}
	rcu_read_unlock();
	return found;
}

/* PIC pins acked (@acked) or unmasked (@unmasked), found under chip->lock. */
void kvmx_irq_pic_notify(struct kvmx_vm *vm, u16 acked, u16 unmasked)
{
	struct kvmx_irqchip *chip = kvmx_irqchip(vm);
	u32 pin;

	if (!kvmx_pit_reinjecting(vm))
		return;
	for (pin = 0; pin < KVMX_NR_PIC_PINS; pin++) {
		if (!((acked | unmasked) & BIT(pin)) ||
		    !gsi0_routes_to(chip, KVM_IRQCHIP_PIC_MASTER, pin))
			continue;
		if (unmasked & BIT(pin))
			kvmx_pit_irq_unmasked(vm);
		if (acked & BIT(pin))
			kvmx_pit_irq_acked(vm);
	}
}

/*
 * A LAPIC's EOI of @vector (edge or level): KVM notifies the acks of the
 * IOAPIC pins with that vector (kvm_ioapic_update_eoi_one()).  Unlike KVM,
 * whether the pin's destination is the EOI's vCPU is not checked.
 */
void kvmx_irq_eoi_notify(struct kvmx_vm *vm, u8 vector)
{
	struct kvmx_irqchip *chip = kvmx_irqchip(vm);
	u32 pin;

	if (chip->mode != KVMX_IRQCHIP_KERNEL || !kvmx_pit_reinjecting(vm))
		return;
	for (pin = 0; pin < KVMX_IOAPIC_PINS; pin++) {
		/* A racing RTE write gives the old or the new vector (one u64). */
		if ((READ_ONCE(chip->ioapic.redirtbl[pin]) & 0xff) == vector &&
		    gsi0_routes_to(chip, KVM_IRQCHIP_IOAPIC, pin))
			kvmx_pit_irq_acked(vm);
	}
}

static u32 ioapic_masked(const struct kvmx_ioapic *ioapic)
{
	u32 pin, masked = 0;

	for (pin = 0; pin < KVMX_IOAPIC_PINS; pin++)
		if (ioapic->redirtbl[pin] & KVMX_IOAPIC_RTE_MASKED)
			masked |= BIT(pin);
	return masked;
}

static u16 pic_masked(const struct kvmx_pic *pic)
{
	return pic->chip[0].imr | (pic->chip[1].imr << 8);
}

/* ---- MMIO and port I/O ---- */

static bool ioapic_claims(struct kvmx_vm *vm, u64 gpa)
{
	struct kvmx_irqchip *chip = kvmx_irqchip(vm);

	return chip && chip->mode == KVMX_IRQCHIP_KERNEL &&
	       gpa - READ_ONCE(chip->ioapic.base_address) < KVMX_IOAPIC_SIZE;
}

bool kvmx_irq_mmio_claims(struct kvmx_vcpu *vcpu, u64 gpa)
{
	return kvmx_lapic_mmio_claims(vcpu, gpa) || ioapic_claims(vcpu->vm, gpa);
}

bool kvmx_irq_mmio(struct kvmx_vcpu *vcpu, u64 gpa, void *data, unsigned int len, bool write)
{
	struct kvmx_irqchip *chip;
	unsigned long flags;
	u32 val = 0, masked, pin;
	u64 off;

	if (kvmx_lapic_mmio_claims(vcpu, gpa)) {
		kvmx_lapic_mmio(vcpu, gpa, data, len, write);
		return true;
	}
	if (!ioapic_claims(vcpu->vm, gpa))
		return false;
	chip = kvmx_irqchip(vcpu->vm);
	/*
	 * As KVM: any size, and only at a register's very offset (0x00 or
	 * 0x10; a byte at 0x11 is no register).  The base under the lock:
	 * KVM_SET_IRQCHIP may move it.
	 */
	if (write) {
		memcpy(&val, data, min(len, 4U));
		spin_lock_irqsave(&chip->lock, flags);
		off = gpa - chip->ioapic.base_address;
		masked = ioapic_masked(&chip->ioapic);
		if (off < KVMX_IOAPIC_SIZE)
			kvmx_ioapic_write(&chip->ioapic, off, val);
		masked &= ~ioapic_masked(&chip->ioapic);
		spin_unlock_irqrestore(&chip->lock, flags);
		/* KVM's mask notifiers: an unmasked pin of GSI 0 resets the PIT's reinjection. */
		for (pin = 0; masked && pin < KVMX_IOAPIC_PINS; pin++)
			if ((masked & BIT(pin)) && kvmx_pit_reinjecting(vcpu->vm) &&
			    gsi0_routes_to(chip, KVM_IRQCHIP_IOAPIC, pin))
				kvmx_pit_irq_unmasked(vcpu->vm);
		return true;
	}
	spin_lock_irqsave(&chip->lock, flags);
	off = gpa - chip->ioapic.base_address;
	if (off < KVMX_IOAPIC_SIZE)
		val = kvmx_ioapic_read(&chip->ioapic, off);
	spin_unlock_irqrestore(&chip->lock, flags);
	memset(data, 0, len);
	memcpy(data, &val, min(len, 4U));
	return true;
}

bool kvmx_irq_pio(struct kvmx_vcpu *vcpu, u16 port, void *data, unsigned int len, bool in)
{
	struct kvmx_irqchip *chip;
	unsigned long flags;
	u16 acked, unmasked;
	u8 val;

	if (kvmx_pit_pio(vcpu, port, data, len, in))
		return true;
	if (!kvmx_pic_in_kernel(vcpu->vm) || !kvmx_pic_port(port))
		return false;
	chip = kvmx_irqchip(vcpu->vm);
	/* As KVM: only byte accesses do anything; wider reads give 0. */
	if (len != 1) {
		if (in)
			memset(data, 0, len);
		return true;
	}
	spin_lock_irqsave(&chip->lock, flags);
	unmasked = pic_masked(&chip->pic);
	if (in) {
		val = kvmx_pic_read(&chip->pic, port);
		memcpy(data, &val, 1);
	} else {
		kvmx_pic_write(&chip->pic, port, *(u8 *)data);
	}
	unmasked &= ~pic_masked(&chip->pic);
	acked = chip->pic.acked;
	chip->pic.acked = 0;
	spin_unlock_irqrestore(&chip->lock, flags);
	if (READ_ONCE(chip->pic.output))
		kvmx_pic_kick(vcpu->vm);
	if (acked | unmasked)
		kvmx_irq_pic_notify(vcpu->vm, acked, unmasked);
	return true;
}

/* ---- Creation ---- */

static struct kvmx_irqchip *chip_alloc(struct kvmx_vm *vm, enum kvmx_irqchip_mode mode)
{
	struct kvmx_irqchip *chip = kzalloc(sizeof(*chip), GFP_KERNEL_ACCOUNT);

	if (!chip)
		return NULL;
	atomic_long_inc(&kvmx_counts.irqchips);
	chip->mode = mode;
	spin_lock_init(&chip->lock);
	kvmx_pic_init(&chip->pic);
	kvmx_ioapic_reset(&chip->ioapic);
	chip->ioapic.deliver = ioapic_deliver;
	chip->ioapic.delay_eoi_inject = ioapic_delay_eoi_inject;
	chip->ioapic.ctx = vm;
	INIT_DELAYED_WORK(&chip->eoi_inject, eoi_inject_work);
	return chip;
}

int kvmx_irqchip_create(struct kvmx_vm *vm)
{
	struct kvmx_irq_routing *rt;
	struct kvmx_irqchip *chip;
	int r = 0;

	mutex_lock(&vm->lock);
	if (vm->irqchip) {
		r = kvmx_refuse(-EEXIST, "KVM_CREATE_IRQCHIP", "the VM has an irqchip already");
		goto out;
	}
	if (vm->nr_vcpus) {
		r = kvmx_refuse(-EINVAL, "KVM_CREATE_IRQCHIP", "vCPUs exist already");
		goto out;
	}
	chip = chip_alloc(vm, KVMX_IRQCHIP_KERNEL);
	rt = default_routing();
	if (!chip || !rt) {
		if (chip)
			atomic_long_dec(&kvmx_counts.irqchips);
		kfree(chip);
		kvfree(rt);
		r = kvmx_refuse(-ENOMEM, "KVM_CREATE_IRQCHIP", "no memory");
		goto out;
	}
	RCU_INIT_POINTER(chip->routing, rt);
	/* The chip (and its routing) before the pointer: see kvmx_irqchip(). */
	smp_store_release(&vm->irqchip, chip);
out:
	mutex_unlock(&vm->lock);
	return r;
}

/* KVM_ENABLE_CAP(KVM_CAP_SPLIT_IRQCHIP): args[0] IOAPIC pins user space keeps. */
int kvmx_irqchip_enable_split(struct kvmx_vm *vm, const struct kvm_enable_cap *cap)
{
	struct kvmx_irqchip *chip;
	int r = 0;

	/* KVM's MAX_NR_RESERVED_IOAPIC_PINS is KVM_MAX_IRQ_ROUTES. */
	if (cap->args[0] > KVMX_MAX_IRQ_ROUTES)
		return kvmx_refuse(-EINVAL, "KVM_CAP_SPLIT_IRQCHIP", "%llu pins, at most %d",
				   cap->args[0], KVMX_MAX_IRQ_ROUTES);
	mutex_lock(&vm->lock);
	if (vm->irqchip) {
		r = kvmx_refuse(-EEXIST, "KVM_CAP_SPLIT_IRQCHIP", "the VM has an irqchip already");
		goto out;
	}
	if (vm->nr_vcpus) {
		r = kvmx_refuse(-EINVAL, "KVM_CAP_SPLIT_IRQCHIP", "vCPUs exist already");
		goto out;
	}
	chip = chip_alloc(vm, KVMX_IRQCHIP_SPLIT);
	if (!chip) {
		r = kvmx_refuse(-ENOMEM, "KVM_CAP_SPLIT_IRQCHIP", "no memory");
		goto out;
	}
	chip->nr_reserved_ioapic_pins = cap->args[0];
	/* The chip (and its routing) before the pointer: see kvmx_irqchip(). */
	smp_store_release(&vm->irqchip, chip);
out:
	mutex_unlock(&vm->lock);
	return r;
}

void kvmx_irqchip_stop(struct kvmx_vm *vm)
{
	if (vm->irqchip)
		cancel_delayed_work_sync(&vm->irqchip->eoi_inject);
}

void kvmx_irqchip_destroy(struct kvmx_vm *vm)
{
	struct kvmx_irqchip *chip = vm->irqchip;

	if (!chip)
		return;
	/* Readers of the routing are gone with the VM's last reference. */
	kvfree(rcu_dereference_protected(chip->routing, true));
	kfree(chip);
	vm->irqchip = NULL;
	atomic_long_dec(&kvmx_counts.irqchips);
}

/* ---- KVM_GET/SET_IRQCHIP ---- */

static int get_set_irqchip(struct kvmx_vm *vm, struct kvm_irqchip __user *arg, bool set)
{
	const char *name = set ? "KVM_SET_IRQCHIP" : "KVM_GET_IRQCHIP";
	struct kvmx_irqchip *chip = kvmx_irqchip(vm);
	struct kvm_irqchip *k;
	unsigned long flags;
	int r = 0;

	BUILD_BUG_ON(sizeof(struct kvmx_pic_chip) != sizeof(struct kvm_pic_state));
	BUILD_BUG_ON(offsetof(struct kvmx_ioapic, irr_delivered) !=
		     sizeof(struct kvm_ioapic_state));
	if (!kvmx_pic_in_kernel(vm))
		return kvmx_refuse(-ENXIO, name, "no in-kernel PIC and IOAPIC");
	k = memdup_user(arg, sizeof(*k));
	if (IS_ERR(k))
		return PTR_ERR(k);
	if (k->chip_id > KVM_IRQCHIP_IOAPIC) {
		r = kvmx_refuse(-EINVAL, name, "chip %u", k->chip_id);
		goto out;
	}
	spin_lock_irqsave(&chip->lock, flags);
	if (k->chip_id == KVM_IRQCHIP_IOAPIC) {
		if (set) {
			u32 irr = k->chip.ioapic.irr, pin;

			/* As KVM: the state, then every pending line asserted again. */
			memcpy(&chip->ioapic, &k->chip.ioapic, sizeof(k->chip.ioapic));
			chip->ioapic.irr = 0;
			chip->ioapic.irr_delivered = 0;
			for (pin = 0; pin < KVMX_IOAPIC_PINS; pin++)
				if (irr & BIT(pin))
					kvmx_ioapic_set_irq(&chip->ioapic, pin, 1);
		} else {
			memcpy(&k->chip.ioapic, &chip->ioapic, sizeof(k->chip.ioapic));
		}
	} else {
		struct kvmx_pic_chip *p = &chip->pic.chip[k->chip_id];

		if (set) {
			memcpy(p, &k->chip.pic, sizeof(*p));
			kvmx_pic_update(&chip->pic);
		} else {
			memcpy(&k->chip.pic, p, sizeof(*p));
		}
	}
	spin_unlock_irqrestore(&chip->lock, flags);
	if (set && READ_ONCE(chip->pic.output))
		kvmx_pic_kick(vm);
	if (!set && copy_to_user(arg, k, sizeof(*k)))
		r = -EFAULT;
out:
	kfree(k);
	return r;
}

/* ---- VM ioctls ---- */

long kvmx_irqchip_vm_ioctl(struct kvmx_vm *vm, unsigned int ioctl, void __user *argp)
{
	struct kvm_irq_level line;
	struct kvm_msi msi;

	switch (ioctl) {
	case KVM_CREATE_IRQCHIP:
		return kvmx_irqchip_create(vm);
	case KVM_IRQ_LINE:
	case KVM_IRQ_LINE_STATUS:
		if (copy_from_user(&line, argp, sizeof(line)))
			return -EFAULT;
		if (!kvmx_irqchip(vm))
			return kvmx_refuse(-ENXIO, "KVM_IRQ_LINE", "no in-kernel irqchip");
		line.status = kvmx_irq_set(vm, line.irq, line.level, ioctl == KVM_IRQ_LINE_STATUS);
		if (ioctl == KVM_IRQ_LINE_STATUS && copy_to_user(argp, &line, sizeof(line)))
			return -EFAULT;
		return 0;
	case KVM_SET_GSI_ROUTING:
		return set_gsi_routing(vm, argp);
	case KVM_SIGNAL_MSI:
		if (copy_from_user(&msi, argp, sizeof(msi)))
			return -EFAULT;
		if (!kvmx_irqchip(vm) || (msi.flags & ~KVM_MSI_VALID_DEVID))
			return kvmx_refuse(-EINVAL, "KVM_SIGNAL_MSI", "no irqchip, or flags 0x%x",
					   msi.flags);
		return kvmx_irq_deliver_msi(vm, ((u64)msi.address_hi << 32) | msi.address_lo,
					    msi.data);
	case KVM_GET_IRQCHIP:
		return get_set_irqchip(vm, argp, false);
	case KVM_SET_IRQCHIP:
		return get_set_irqchip(vm, argp, true);
	default:
		return -ENOTTY;
	}
}
