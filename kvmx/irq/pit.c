// SPDX-License-Identifier: GPL-2.0
/*
 * The in-kernel i8254 PIT (KVM_CREATE_PIT, KVM_CREATE_PIT2), with the
 * semantics of KVM's arch/x86/kvm/i8254.c in Linux 6.1: ports 0x40-0x43
 * (and 0x61 with KVM_PIT_SPEAKER_DUMMY) in the kernel, channel 0 driving
 * GSI 0 from an hrtimer, KVM's tick reinjection, KVM_GET/SET_PIT(2) and
 * KVM_REINJECT_CONTROL.  The registers are pure code (pit_regs.c).
 *
 * Unlike KVM, which raises GSI 0 from a kthread worker, the hrtimer raises
 * it itself: kvmx_irq_set() never sleeps.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/hrtimer.h>
#include <linux/ktime.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "../kvmx.h"
#include "irq.h"
#include "pit_regs.h"

/* KVM's min_timer_period_us default: no periodic PIT tick is shorter. */
#define KVMX_PIT_MIN_PERIOD_NS	200000LL

/*
 * A VM's PIT (vm->pit): made once by KVM_CREATE_PIT(2) and freed with the
 * VM, after its timer was cancelled.
 *
 * @lock (a mutex: port I/O and the ioctls sleep, the timer never takes
 * it) protects @regs, and arming or cancelling @timer.  @period and
 * @periodic are written under @lock only while @timer is cancelled, so
 * its callback reads them without a lock.
 *
 * The reinject state is atomic, as KVM's: @reinject (KVM_REINJECT_CONTROL;
 * on at creation, written under @lock), @pending (ticks that fired and
 * were not yet acknowledged, counted only with reinject on) and @irq_ack
 * (the last tick raised was acknowledged: a new one may be raised).  The
 * timer, the guest's EOIs (kvmx_pit_irq_acked()) and unmasks
 * (kvmx_pit_irq_unmasked()) use them from any context.
 */
struct kvmx_pit {
	struct kvmx_vm *vm;
	bool speaker;			/* KVM_PIT_SPEAKER_DUMMY: port 0x61 is ours */
	struct mutex lock;		/* see above */
	struct kvmx_pit_regs regs;
	struct hrtimer timer;
	s64 period;			/* ns; 0 until channel 0 first armed */
	bool periodic;
	atomic_t reinject;
	atomic_t pending;
	atomic_t irq_ack;
};

static struct kvmx_pit *pit_of(struct kvmx_vm *vm)
{
	/* Pairs with the release that publishes it: its contents first. */
	return smp_load_acquire(&vm->pit);
}

/* ---- Ticks and reinjection (any context) ---- */

/* KVM's pit_do_work(): raise and lower GSI 0, unless a tick awaits its ack. */
static void pit_raise(struct kvmx_pit *pit)
{
	if (atomic_read(&pit->reinject) && !atomic_xchg(&pit->irq_ack, 0))
		return;
	kvmx_irq_set(pit->vm, 0, 1, false);
	kvmx_irq_set(pit->vm, 0, 0, false);
}

static enum hrtimer_restart pit_timer_fn(struct hrtimer *t)
{
	struct kvmx_pit *pit = container_of(t, struct kvmx_pit, timer);

	if (atomic_read(&pit->reinject))
		atomic_inc(&pit->pending);
	pit_raise(pit);
	if (pit->periodic) {
		hrtimer_add_expires_ns(t, pit->period);
		return HRTIMER_RESTART;
	}
	return HRTIMER_NORESTART;
}

static void reset_reinject(struct kvmx_pit *pit)
{
	atomic_set(&pit->pending, 0);
	atomic_set(&pit->irq_ack, 1);
}

void kvmx_pit_irq_acked(struct kvmx_vm *vm)
{
	struct kvmx_pit *pit = pit_of(vm);

	/* KVM's ack notifier is registered only while reinjecting. */
	if (!pit || !atomic_read(&pit->reinject))
		return;
	atomic_set(&pit->irq_ack, 1);
	/* irq_ack before pending: pairs with the timer's inc and xchg. */
	smp_mb__after_atomic();
	if (atomic_dec_if_positive(&pit->pending) > 0)
		pit_raise(pit);
}

void kvmx_pit_irq_unmasked(struct kvmx_vm *vm)
{
	struct kvmx_pit *pit = pit_of(vm);

	/* KVM's mask notifier: registered only while reinjecting. */
	if (pit && atomic_read(&pit->reinject))
		reset_reinject(pit);
}

bool kvmx_pit_reinjecting(struct kvmx_vm *vm)
{
	struct kvmx_pit *pit = pit_of(vm);

	return pit && atomic_read(&pit->reinject);
}

/* ---- Loading a count (pit->lock held) ---- */

static void arm_timer(struct kvmx_pit *pit, u32 count, bool periodic)
{
	s64 interval;

	/* As KVM: no ticks without the in-kernel IOAPIC, or in HPET legacy mode. */
	if (!kvmx_pic_in_kernel(pit->vm) || (pit->regs.flags & KVMX_PIT_FLAGS_HPET_LEGACY))
		return;
	interval = kvmx_pit_ticks_to_ns(count);
	hrtimer_cancel(&pit->timer);
	pit->period = interval;
	pit->periodic = periodic;
	reset_reinject(pit);
	/* The hrtimer is not throttled by the scheduler: KVM's floor. */
	if (periodic && pit->period < KVMX_PIT_MIN_PERIOD_NS) {
		pr_info_ratelimited("a periodic PIT tick of %lld ns is limited to %lld ns\n",
				    pit->period, KVMX_PIT_MIN_PERIOD_NS);
		pit->period = KVMX_PIT_MIN_PERIOD_NS;
	}
	hrtimer_start(&pit->timer, ktime_add_ns(ktime_get(), interval), HRTIMER_MODE_ABS);
}

/* KVM's kvm_pit_load_count(): @hpet_start disables channel 0's timer. */
static void load_count(struct kvmx_pit *pit, int channel, bool hpet_start)
{
	struct kvmx_pit_channel *c = &pit->regs.ch[channel];

	lockdep_assert_held(&pit->lock);
	if (!c->count)
		c->count = 0x10000;
	if (channel) {
		c->count_load_time = ktime_get_ns();
		return;
	}
	switch (hpet_start ? 0xff : c->mode) {
	case 0:
	case 1:
	case 4:
		arm_timer(pit, c->count, false);
		break;
	case 2:
	case 3:
		arm_timer(pit, c->count, true);
		break;
	default:
		hrtimer_cancel(&pit->timer);
		break;
	}
}

/* Ticks channel @channel counted since its count was loaded. */
static u64 ticks(struct kvmx_pit *pit, int channel)
{
	u64 ns;

	if (channel) {
		ns = ktime_get_ns() - (u64)pit->regs.ch[channel].count_load_time;
	} else {
		/* Channel 0's time is its timer's (KVM's __kpit_elapsed()). */
		if (!pit->period)
			return 0;
		ns = pit->period - ktime_to_ns(hrtimer_get_remaining(&pit->timer));
	}
	return kvmx_pit_ns_to_ticks(ns);
}

/* ---- Port I/O ---- */

bool kvmx_pit_pio(struct kvmx_vcpu *vcpu, u16 port, void *data, unsigned int len, bool in)
{
	struct kvmx_pit *pit = pit_of(vcpu->vm);
	u32 val = 0;
	u64 d[3];
	int ch;

	if (!pit)
		return false;
	/* As KVM's PIO bus: accesses that lie inside the device's range. */
	if (port >= KVMX_PIT_BASE && port + len <= KVMX_PIT_BASE + 4) {
		port -= KVMX_PIT_BASE;
		if (in && port == 3) {
			/* The control word reads nothing: the register keeps its value. */
			memcpy(data, &vcpu->regs[KVMX_RAX], len);
			return true;
		}
		mutex_lock(&pit->lock);
		if (in) {
			val = kvmx_pit_read(&pit->regs, port, ticks(pit, port));
		} else {
			for (ch = 0; ch < 3; ch++)
				d[ch] = ticks(pit, ch);
			ch = kvmx_pit_write(&pit->regs, port, *(u8 *)data, d);
			if (ch >= 0)
				load_count(pit, ch, false);
		}
		mutex_unlock(&pit->lock);
	} else if (port == KVMX_PIT_SPEAKER && pit->speaker) {
		mutex_lock(&pit->lock);
		if (in)
			val = kvmx_pit_speaker_read(&pit->regs, ticks(pit, 2), ktime_get_ns());
		else
			kvmx_pit_speaker_write(&pit->regs, *(u8 *)data, ktime_get_ns());
		mutex_unlock(&pit->lock);
	} else {
		return false;
	}
	/* A read gives the byte, zero-extended to the access's width. */
	if (in)
		memcpy(data, &val, len);
	return true;
}

/* ---- Creation and teardown ---- */

/* KVM_CREATE_PIT(2): as KVM 6.1, any flags, with or without an irqchip. */
static int pit_create(struct kvmx_vm *vm, u32 flags)
{
	struct kvmx_pit *pit;
	int i, r = 0;

	mutex_lock(&vm->lock);
	if (vm->pit) {
		r = kvmx_refuse(-EEXIST, "KVM_CREATE_PIT2", "the VM has a PIT already");
		goto out;
	}
	pit = kzalloc(sizeof(*pit), GFP_KERNEL_ACCOUNT);
	if (!pit) {
		r = kvmx_refuse(-ENOMEM, "KVM_CREATE_PIT2", "no memory");
		goto out;
	}
	atomic_long_inc(&kvmx_counts.pits);
	pit->vm = vm;
	pit->speaker = flags & KVM_PIT_SPEAKER_DUMMY;
	mutex_init(&pit->lock);
	hrtimer_init(&pit->timer, CLOCK_MONOTONIC, HRTIMER_MODE_ABS);
	pit->timer.function = pit_timer_fn;
	mutex_lock(&pit->lock);
	kvmx_pit_reset(&pit->regs);
	for (i = 0; i < 3; i++)
		load_count(pit, i, false);
	mutex_unlock(&pit->lock);
	reset_reinject(pit);
	atomic_set(&pit->reinject, 1);
	/* The PIT before the pointer: see pit_of(). */
	smp_store_release(&vm->pit, pit);
out:
	mutex_unlock(&vm->lock);
	return r;
}

void kvmx_pit_destroy(struct kvmx_vm *vm)
{
	struct kvmx_pit *pit = vm->pit;

	if (!pit)
		return;
	/* No vCPU runs: once the timer is cancelled nothing uses the PIT. */
	hrtimer_cancel(&pit->timer);
	kfree(pit);
	vm->pit = NULL;
	atomic_long_dec(&kvmx_counts.pits);
}

/* ---- State ioctls ---- */

static void set_channels(struct kvmx_pit *pit, const struct kvm_pit_channel_state *ch,
			 bool hpet_start)
{
	int i;

	memcpy(pit->regs.ch, ch, sizeof(pit->regs.ch));
	for (i = 0; i < 3; i++)
		load_count(pit, i, hpet_start && i == 0);
}

static int set_reinject(struct kvmx_pit *pit, bool reinject)
{
	mutex_lock(&pit->lock);
	if (atomic_read(&pit->reinject) != reinject) {
		/* Starting again from a clean state, as KVM. */
		if (reinject)
			reset_reinject(pit);
		atomic_set(&pit->reinject, reinject);
	}
	mutex_unlock(&pit->lock);
	return 0;
}

long kvmx_pit_vm_ioctl(struct kvmx_vm *vm, unsigned int ioctl, void __user *argp)
{
	struct kvmx_pit *pit;
	union {
		struct kvm_pit_config config;
		struct kvm_pit_state ps;
		struct kvm_pit_state2 ps2;
		struct kvm_reinject_control reinject;
	} u;
	u32 legacy;

	BUILD_BUG_ON(sizeof(struct kvmx_pit_channel) != sizeof(struct kvm_pit_channel_state));
	BUILD_BUG_ON(offsetof(struct kvmx_pit_channel, count_load_time) !=
		     offsetof(struct kvm_pit_channel_state, count_load_time));
	BUILD_BUG_ON(sizeof(u.ps.channels) != sizeof(pit->regs.ch));

	switch (ioctl) {
	case KVM_CREATE_PIT:
		return pit_create(vm, KVM_PIT_SPEAKER_DUMMY);
	case KVM_CREATE_PIT2:
		if (copy_from_user(&u.config, argp, sizeof(u.config)))
			return -EFAULT;
		return pit_create(vm, u.config.flags);
	}

	/* As KVM: the argument is read before the PIT is looked for. */
	switch (ioctl) {
	case KVM_GET_PIT:
	case KVM_SET_PIT:
		if (copy_from_user(&u.ps, argp, sizeof(u.ps)))
			return -EFAULT;
		break;
	case KVM_SET_PIT2:
		if (copy_from_user(&u.ps2, argp, sizeof(u.ps2)))
			return -EFAULT;
		break;
	case KVM_REINJECT_CONTROL:
		if (copy_from_user(&u.reinject, argp, sizeof(u.reinject)))
			return -EFAULT;
		break;
	}
	pit = pit_of(vm);
	if (!pit)
		return kvmx_refuse(-ENXIO, "KVM_*_PIT*", "the VM has no in-kernel PIT");

	switch (ioctl) {
	case KVM_GET_PIT:
		mutex_lock(&pit->lock);
		memcpy(u.ps.channels, pit->regs.ch, sizeof(u.ps.channels));
		mutex_unlock(&pit->lock);
		return copy_to_user(argp, &u.ps, sizeof(u.ps)) ? -EFAULT : 0;
	case KVM_SET_PIT:
		mutex_lock(&pit->lock);
		set_channels(pit, u.ps.channels, false);
		mutex_unlock(&pit->lock);
		return 0;
	case KVM_GET_PIT2:
		memset(&u.ps2, 0, sizeof(u.ps2));
		mutex_lock(&pit->lock);
		memcpy(u.ps2.channels, pit->regs.ch, sizeof(u.ps2.channels));
		u.ps2.flags = pit->regs.flags;
		mutex_unlock(&pit->lock);
		return copy_to_user(argp, &u.ps2, sizeof(u.ps2)) ? -EFAULT : 0;
	case KVM_SET_PIT2:
		mutex_lock(&pit->lock);
		/* Entering HPET legacy mode stops channel 0's timer. */
		legacy = ~pit->regs.flags & u.ps2.flags & KVMX_PIT_FLAGS_HPET_LEGACY;
		pit->regs.flags = u.ps2.flags;
		set_channels(pit, u.ps2.channels, legacy);
		mutex_unlock(&pit->lock);
		return 0;
	case KVM_REINJECT_CONTROL:
		return set_reinject(pit, u.reinject.pit_reinject);
	default:
		return -ENOTTY;
	}
}
