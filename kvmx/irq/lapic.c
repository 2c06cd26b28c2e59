// SPDX-License-Identifier: GPL-2.0
/*
 * The local APIC of each vCPU, with the semantics of KVM's
 * arch/x86/kvm/lapic.c: the xAPIC page and the x2APIC MSRs, IPIs, EOI,
 * TPR/CR8, the LVTs and the timer (one-shot, periodic, TSC-deadline) on an
 * hrtimer, INIT and SIPI, HLT in the kernel and interrupt injection.
 * The register rules are pure code in apic_regs.c; who may touch what is
 * written next to struct kvmx_lapic (irqchip.h).
 *
 * A vCPU that sleeps (HLT, or an AP waiting for INIT/SIPI) waits on
 * vcpu->wait (an rcuwait) in KVM_RUN.  kvmx_vcpu_kick() sets
 * KVMX_REQ_EVENT, wakes the rcuwait, and sends a reschedule IPI to the CPU
 * the vCPU runs the guest on, if it does (vcpu->guest_cpu, published with a
 * full barrier before the vCPU checks its requests with interrupts off, so
 * either the vCPU sees the request or the kicker sees the CPU).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/hrtimer.h>
#include <linux/math64.h>
#include <linux/rcuwait.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/msr-index.h>
#include <asm/processor.h>
#include <asm/smp.h>
#include <asm/tsc.h>

#include "../kvmx.h"
#include "../vmx/vmx.h"
#include "irqchip.h"

#define X2APIC_MSR_BASE		0x800
#define X2APIC_MSR_END		0x8ff
#define APIC_BASE_RESERVED	0x2ffULL
#define MIN_PERIOD_NS		200000ULL	/* KVM's min_timer_period_us */
/* KVM's X2APIC_ICR_RESERVED_BITS: a WRMSR that sets them raises #GP. */
#define X2APIC_ICR_RESERVED	(GENMASK_ULL(31, 20) | GENMASK_ULL(17, 16) | BIT_ULL(13))

static u32 reg(const struct kvmx_lapic *apic, u32 off)
{
	return kvmx_apic_get(apic->regs, off);
}

static u32 reg_once(const struct kvmx_lapic *apic, u32 off)
{
	return READ_ONCE(*(u32 *)(apic->regs + off));
}

static void set_reg(struct kvmx_lapic *apic, u32 off, u32 val)
{
	WRITE_ONCE(*(u32 *)(apic->regs + off), val);
}

static unsigned long *vec_word(struct kvmx_lapic *apic, u32 base, u8 vec)
{
	return (unsigned long *)(apic->regs + kvmx_apic_vec_word(base, vec));
}

static bool hw_enabled(const struct kvmx_vcpu *vcpu)
{
	return READ_ONCE(vcpu->apic_base) & MSR_IA32_APICBASE_ENABLE;
}

static bool x2apic_mode(const struct kvmx_vcpu *vcpu)
{
	return READ_ONCE(vcpu->apic_base) & X2APIC_ENABLE;
}

static bool sw_enabled(const struct kvmx_lapic *apic)
{
	return reg_once(apic, KVMX_APIC_SPIV) & KVMX_APIC_SPIV_ENABLED;
}

static bool apic_enabled(const struct kvmx_vcpu *vcpu)
{
	return hw_enabled(vcpu) && sw_enabled(vcpu->apic);
}

/*
 * As KVM since Linux 6.2: the CMCI LVT exists while the vCPU's
 * IA32_MCG_CAP has MCG_CMCI_P (vCPU thread: mce.cap is its own).
 */
static bool has_cmci(const struct kvmx_vcpu *vcpu)
{
	return vcpu->mce.cap & KVMX_MCG_CMCI_P;
}

/*
 * KVM_NMI or an NMI message: delivered at the vCPU's next entry.  Without
 * an irqchip only KVM_NMI queues one, from the vCPU's own thread outside
 * KVM_RUN, and there is nobody to kick (nor a request loop to clear it).
 */
void kvmx_queue_nmi(struct kvmx_vcpu *vcpu)
{
	atomic_inc(&vcpu->nmi_queued);
	if (vcpu->apic)
		kvmx_vcpu_kick(vcpu);
}

void kvmx_vcpu_kick(struct kvmx_vcpu *vcpu)
{
	int cpu;

	set_bit(KVMX_REQ_EVENT, &vcpu->requests);
	/* The request before reading guest_cpu; pairs with vcpu_run()'s smp_store_mb(). */
	smp_mb__after_atomic();
	rcuwait_wake_up(&vcpu->wait);
	cpu = READ_ONCE(vcpu->guest_cpu);
	if (cpu >= 0 && cpu != raw_smp_processor_id())
		smp_send_reschedule(cpu);
}

static void update_ppr(struct kvmx_lapic *apic)
{
	int isr = kvmx_apic_highest_vec(apic->regs, KVMX_APIC_ISR);

	set_reg(apic, KVMX_APIC_PPR, kvmx_apic_ppr(reg(apic, KVMX_APIC_TPR), isr));
}

bool kvmx_lapic_accepts_pic(struct kvmx_vcpu *vcpu)
{
	u32 lvt0 = reg_once(vcpu->apic, KVMX_APIC_LVT0);

	if (!hw_enabled(vcpu))
		return true;
	return !(lvt0 & KVMX_APIC_LVT_MASKED) && ((lvt0 >> 8) & 7) == KVMX_APIC_DM_EXTINT;
}

/* KVM's __apic_accept_irq(): 1 if @vcpu took it. */
static int accept_irq(struct kvmx_vcpu *vcpu, const struct kvmx_apic_irq *irq)
{
	struct kvmx_lapic *apic = vcpu->apic;

	switch (irq->delivery_mode) {
	case KVMX_APIC_DM_FIXED:
	case KVMX_APIC_DM_LOWEST:
		if (irq->trig_level && !irq->level)
			return 0;
		if (!apic_enabled(vcpu))
			return 0;
		if (irq->trig_level)
			set_bit(irq->vector & 31, vec_word(apic, KVMX_APIC_TMR, irq->vector));
		else
			clear_bit(irq->vector & 31, vec_word(apic, KVMX_APIC_TMR, irq->vector));
		set_bit(irq->vector & 31, vec_word(apic, KVMX_APIC_IRR, irq->vector));
		kvmx_vcpu_kick(vcpu);
		return 1;
	case KVMX_APIC_DM_INIT:
		if (irq->trig_level && !irq->level)
			return 0;	/* INIT level de-assert */
		WRITE_ONCE(apic->pending_events, BIT(KVMX_APIC_INIT));
		kvmx_vcpu_kick(vcpu);
		return 1;
	case KVMX_APIC_DM_SIPI:
		WRITE_ONCE(apic->sipi_vector, irq->vector);
		smp_wmb();	/* the vector before the event */
		set_bit(KVMX_APIC_SIPI, &apic->pending_events);
		kvmx_vcpu_kick(vcpu);
		return 1;
	case KVMX_APIC_DM_NMI:
		kvmx_queue_nmi(vcpu);
		return 1;
	default:
		/* SMI (kvmx has no SMM) and ExtINT messages are not delivered. */
		pr_info_ratelimited("vCPU %u: APIC delivery mode %u not supported\n",
				    vcpu->id, irq->delivery_mode);
		return 0;
	}
}

bool kvmx_apic_match_dest(struct kvmx_vcpu *target, struct kvmx_vcpu *src,
			  const struct kvmx_apic_irq *irq)
{
	struct kvmx_lapic *apic = target->apic;
	bool x2 = x2apic_mode(target);
	u32 mda = irq->dest;

	switch (irq->shorthand) {
	case KVMX_APIC_SH_SELF:
		return target == src;
	case KVMX_APIC_SH_ALL:
		return true;
	case KVMX_APIC_SH_OTHERS:
		return target != src;
	default:
		break;
	}
	/* KVM's broadcast quirk: an xAPIC broadcast from a device reaches x2APICs. */
	if (!src && x2 && mda == KVMX_APIC_BROADCAST)
		mda = KVMX_X2APIC_BROADCAST;
	if (!irq->logical)
		return kvmx_apic_match_physical(x2, x2 ? target->id :
						reg_once(apic, KVMX_APIC_ID) >> 24, mda);
	return kvmx_apic_match_logical(x2, reg_once(apic, KVMX_APIC_LDR),
				       reg_once(apic, KVMX_APIC_DFR), mda);
}

int kvmx_apic_deliver(struct kvmx_vm *vm, struct kvmx_vcpu *src, const struct kvmx_apic_irq *irq)
{
	DECLARE_BITMAP(lowest, KVMX_MAX_VCPUS);
	/* Pairs with kvmx_create_vcpu(): vcpus[i] is there for i < n. */
	int i, n = smp_load_acquire(&vm->nr_vcpus), r = -1, nr_lowest = 0, pick;
	bool lowest_prio = irq->delivery_mode == KVMX_APIC_DM_LOWEST;

	/*
	 * KVM answers from its APIC map (0 when no APIC has the id) for a
	 * destination that is not a broadcast and has no shorthand but self;
	 * only its slow path (broadcasts, shorthands) answers -1 for nobody.
	 */
	if ((irq->shorthand == KVMX_APIC_SH_NONE || (irq->shorthand == KVMX_APIC_SH_SELF && src)) &&
	    irq->dest != KVMX_APIC_BROADCAST && irq->dest != KVMX_X2APIC_BROADCAST)
		r = 0;
	bitmap_zero(lowest, KVMX_MAX_VCPUS);
	for (i = 0; i < n; i++) {
		struct kvmx_vcpu *v = vm->vcpus[i];

		if (!v->apic || !hw_enabled(v) || !kvmx_apic_match_dest(v, src, irq))
			continue;
		if (!lowest_prio) {
			if (r < 0)
				r = 0;
			r += accept_irq(v, irq);
		} else if (sw_enabled(v->apic)) {
			__set_bit(i, lowest);
			nr_lowest++;
		}
	}
	if (!nr_lowest)
		return r;
	/* KVM's vector hashing: the (vector % n)-th candidate. */
	pick = irq->vector % nr_lowest;
	for_each_set_bit(i, lowest, KVMX_MAX_VCPUS)
		if (!pick--)
			return accept_irq(vm->vcpus[i], irq);
	return r;
}

static void send_ipi(struct kvmx_vcpu *vcpu, u32 icr, u32 dest)
{
	struct kvmx_apic_irq irq = {
		.vector = icr & 0xff,
		.delivery_mode = (icr >> 8) & 7,
		.logical = icr & KVMX_APIC_ICR_LOGICAL,
		.level = icr & KVMX_APIC_ICR_LEVEL,
		.trig_level = icr & KVMX_APIC_ICR_TRIGGER,
		.shorthand = (icr >> 18) & 3,
		.dest = x2apic_mode(vcpu) ? dest : dest >> 24,
	};

	kvmx_apic_deliver(vcpu->vm, vcpu, &irq);
}

static void eoi(struct kvmx_vcpu *vcpu)
{
	struct kvmx_lapic *apic = vcpu->apic;
	struct kvmx_irqchip *chip = kvmx_irqchip(vcpu->vm);
	int vec = kvmx_apic_highest_vec(apic->regs, KVMX_APIC_ISR);
	unsigned long flags;

	if (vec < 0)
		return;
	__clear_bit(vec & 31, vec_word(apic, KVMX_APIC_ISR, vec));
	update_ppr(apic);
	set_bit(KVMX_REQ_EVENT, &vcpu->requests);
	if (chip->mode == KVMX_IRQCHIP_SPLIT) {
		if (kvmx_split_handles_eoi(vcpu, vec)) {
			apic->eoi_exit_vector = vec;
			set_bit(KVMX_REQ_EOI_EXIT, &vcpu->requests);
		}
		return;
	}
	kvmx_irq_eoi_notify(vcpu->vm, vec);
	if (!kvmx_apic_test_vec(apic->regs, KVMX_APIC_TMR, vec))
		return;
	spin_lock_irqsave(&chip->lock, flags);
	kvmx_ioapic_eoi(&chip->ioapic, vec);
	spin_unlock_irqrestore(&chip->lock, flags);
}

/* ---- The timer ---- */

static u32 divider(const struct kvmx_lapic *apic)
{
	return kvmx_apic_timer_divide(reg(apic, KVMX_APIC_TDCR));
}

/* The timer fired: the vCPU delivers LVTT before its next entry. */
static void timer_expired(struct kvmx_lapic *apic)
{
	atomic_inc(&apic->timer_pending);
	kvmx_vcpu_kick(apic->vcpu);
}

static enum hrtimer_restart timer_fn(struct hrtimer *t)
{
	struct kvmx_lapic *apic = container_of(t, struct kvmx_lapic, timer);
	u64 period = READ_ONCE(apic->period_ns);

	timer_expired(apic);
	if (READ_ONCE(apic->timer_mode) == KVMX_APIC_TIMER_PERIODIC && period) {
		hrtimer_add_expires_ns(t, period);
		WRITE_ONCE(apic->target, hrtimer_get_expires(t));
		return HRTIMER_RESTART;
	}
	return HRTIMER_NORESTART;
}

static void cancel_timer(struct kvmx_lapic *apic)
{
	hrtimer_cancel(&apic->timer);
}

/*
 * KVM's limit_periodic_timer_frequency(): a periodic timer of @mode counts
 * at least MIN_PERIOD_NS.  Without it a period of a few nanoseconds would
 * re-arm the hrtimer in the past over and over, in hard interrupt context.
 */
static u64 limit_period(u32 mode, u64 period_ns)
{
	if (mode == KVMX_APIC_TIMER_PERIODIC && period_ns && period_ns < MIN_PERIOD_NS)
		return MIN_PERIOD_NS;
	return period_ns;
}

/*
 * One-shot and periodic: count TMICT, or, when @restore (KVM_SET_LAPIC),
 * what TMCCT says is left.  As KVM's set_target_expiration(): a TMICT
 * write expires first after the (limited) period, so a periodic count of
 * 1 waits 200 us for its first interrupt too.
 */
static void start_count_timer(struct kvmx_lapic *apic, bool restore)
{
	u32 count = reg(apic, restore ? KVMX_APIC_TMCCT : KVMX_APIC_TMICT);
	u64 first;

	cancel_timer(apic);
	apic->period_ns = (u64)reg(apic, KVMX_APIC_TMICT) * divider(apic);
	/* As KVM: the reserved timer mode (3) starts nothing. */
	if (apic->timer_mode != KVMX_APIC_TIMER_ONESHOT &&
	    apic->timer_mode != KVMX_APIC_TIMER_PERIODIC)
		apic->period_ns = 0;
	if (!apic->period_ns)
		return;
	apic->period_ns = limit_period(apic->timer_mode, apic->period_ns);
	first = restore ? (u64)count * divider(apic) : apic->period_ns;
	if (!first && apic->timer_mode == KVMX_APIC_TIMER_PERIODIC)
		first = apic->period_ns;
	if (first > apic->period_ns)
		first = apic->period_ns;
	apic->target = ktime_add_ns(ktime_get(), first);
	hrtimer_start(&apic->timer, apic->target, HRTIMER_MODE_ABS_HARD);
}

static u64 guest_tsc(struct kvmx_vcpu *vcpu)
{
	return rdtsc() + vcpu->tsc_offset;
}

static void start_tsc_deadline(struct kvmx_lapic *apic)
{
	u64 now = guest_tsc(apic->vcpu), ns;

	cancel_timer(apic);
	if (!apic->tsc_deadline)
		return;
	/*
	 * A deadline already passed expires now, without a host timer
	 * interrupt and another trip round vcpu_run(): KVM's
	 * start_sw_tscdeadline() does the same.
	 */
	if (apic->tsc_deadline <= now || !tsc_khz) {
		timer_expired(apic);
		return;
	}
	/* Any u64 from the guest: a deadline past ~292 years is "far away". */
	ns = apic->tsc_deadline - now > U64_MAX / 1000000 ? S64_MAX / 2 :
	     div_u64((apic->tsc_deadline - now) * 1000000, tsc_khz);
	apic->target = ktime_add_ns(ktime_get(), ns);
	hrtimer_start(&apic->timer, apic->target, HRTIMER_MODE_ABS_HARD);
}

static u32 tmcct(const struct kvmx_lapic *apic)
{
	s64 left;
	u64 rem;

	if (!reg(apic, KVMX_APIC_TMICT) || !apic->period_ns ||
	    apic->timer_mode == KVMX_APIC_TIMER_TSCDEADLINE)
		return 0;
	left = ktime_to_ns(ktime_sub(READ_ONCE(apic->target), ktime_get()));
	if (left < 0)
		left = 0;
	div64_u64_rem(left, apic->period_ns, &rem);
	return div_u64(rem, divider(apic));
}

static bool guest_has_tscdeadline(struct kvmx_vcpu *vcpu);

static void update_lvtt(struct kvmx_lapic *apic)
{
	u32 mode = (reg(apic, KVMX_APIC_LVTT) >> 17) & 3;
	bool was_deadline = apic->timer_mode == KVMX_APIC_TIMER_TSCDEADLINE;
	bool is_deadline = mode == KVMX_APIC_TIMER_TSCDEADLINE;

	if (mode == apic->timer_mode)
		return;
	if (was_deadline != is_deadline) {
		cancel_timer(apic);
		set_reg(apic, KVMX_APIC_TMICT, 0);
		apic->period_ns = 0;
		apic->tsc_deadline = 0;
	}
	/*
	 * As KVM's apic_update_lvtt(): a count running one-shot that becomes
	 * periodic is held to the minimum period too; the period before the
	 * mode, for timer_fn(), which reads them without a lock.
	 */
	WRITE_ONCE(apic->period_ns, limit_period(mode, apic->period_ns));
	WRITE_ONCE(apic->timer_mode, mode);
}

/*
 * KVM's update_target_expiration(): the divider of a running count
 * changed from @old_div; the count goes on at the new rate, so the time
 * left scales with the divider, and the period follows.
 */
static void rescale_timer(struct kvmx_lapic *apic, u32 old_div)
{
	bool running = hrtimer_cancel(&apic->timer);
	s64 left;

	apic->period_ns = limit_period(apic->timer_mode,
				       (u64)reg(apic, KVMX_APIC_TMICT) * divider(apic));
	if (!running)
		return;
	left = ktime_to_ns(ktime_sub(apic->target, ktime_get()));
	if (left < 0)
		left = 0;
	apic->target = ktime_add_ns(ktime_get(), mul_u64_u32_div(left, divider(apic), old_div));
	hrtimer_start(&apic->timer, apic->target, HRTIMER_MODE_ABS_HARD);
}

/* The vCPU thread: deliver timer expiries. */
static void timer_deliver(struct kvmx_vcpu *vcpu)
{
	struct kvmx_lapic *apic = vcpu->apic;
	u32 lvtt;

	if (atomic_read(&apic->timer_pending) <= 0)
		return;
	atomic_set(&apic->timer_pending, 0);
	lvtt = reg(apic, KVMX_APIC_LVTT);
	if (hw_enabled(vcpu) && !(lvtt & KVMX_APIC_LVT_MASKED)) {
		struct kvmx_apic_irq irq = {
			.vector = lvtt & 0xff,
			.delivery_mode = KVMX_APIC_DM_FIXED,
			.level = true,
		};

		accept_irq(vcpu, &irq);
	}
	if (apic->timer_mode == KVMX_APIC_TIMER_TSCDEADLINE)
		apic->tsc_deadline = 0;
}

/* ---- Registers ---- */

static u32 read_reg(struct kvmx_vcpu *vcpu, u32 off)
{
	struct kvmx_lapic *apic = vcpu->apic;

	switch (off) {
	case KVMX_APIC_TMCCT:
		return tmcct(apic);
	case KVMX_APIC_PPR:
		update_ppr(apic);
		return reg(apic, off);
	default:
		return reg(apic, off);
	}
}

/* KVM's kvm_lapic_reg_write(); returns non-zero for an x2APIC #GP. */
static int write_reg(struct kvmx_vcpu *vcpu, u32 off, u32 val)
{
	struct kvmx_lapic *apic = vcpu->apic;
	bool x2 = x2apic_mode(vcpu);
	u32 i;

	switch (off) {
	case KVMX_APIC_ID:
		if (x2)
			return 1;
		set_reg(apic, off, val & 0xff000000);
		break;
	case KVMX_APIC_TPR:
		set_reg(apic, off, val & 0xff);
		update_ppr(apic);
		set_bit(KVMX_REQ_EVENT, &vcpu->requests);
		break;
	case KVMX_APIC_EOI:
		eoi(vcpu);
		break;
	case KVMX_APIC_LDR:
		if (x2)
			return 1;
		set_reg(apic, off, val & 0xff000000);
		break;
	case KVMX_APIC_DFR:
		if (x2)
			return 1;
		set_reg(apic, off, val | 0x0fffffff);
		break;
	case KVMX_APIC_SPIV:
		set_reg(apic, off, val & 0x3ff);
		if (!(val & KVMX_APIC_SPIV_ENABLED)) {
			for (i = KVMX_APIC_LVTT; i <= KVMX_APIC_LVTERR; i += 0x10)
				set_reg(apic, i, reg(apic, i) | KVMX_APIC_LVT_MASKED);
			if (has_cmci(vcpu))
				set_reg(apic, KVMX_APIC_LVTCMCI,
					reg(apic, KVMX_APIC_LVTCMCI) | KVMX_APIC_LVT_MASKED);
			update_lvtt(apic);
			atomic_set(&apic->timer_pending, 0);
		}
		set_bit(KVMX_REQ_EVENT, &vcpu->requests);
		break;
	case KVMX_APIC_ESR:
		if (x2 && val)
			return 1;
		set_reg(apic, off, 0);
		break;
	case KVMX_APIC_ICR:
		val &= ~(u32)KVMX_APIC_ICR_BUSY;
		set_reg(apic, off, val);
		send_ipi(vcpu, val, reg(apic, KVMX_APIC_ICR2));
		break;
	case KVMX_APIC_ICR2:
		if (x2)
			return 1;
		set_reg(apic, off, val & 0xff000000);
		break;
	case KVMX_APIC_LVTT:
	case KVMX_APIC_LVTTHMR:
	case KVMX_APIC_LVTPC:
	case KVMX_APIC_LVT0:
	case KVMX_APIC_LVT1:
	case KVMX_APIC_LVTERR:
	case KVMX_APIC_LVTCMCI:
		if (off == KVMX_APIC_LVTCMCI && !has_cmci(vcpu))
			return 1;
		if (!sw_enabled(apic))
			val |= KVMX_APIC_LVT_MASKED;
		set_reg(apic, off, val & kvmx_apic_lvt_mask(off, guest_has_tscdeadline(vcpu)));
		if (off == KVMX_APIC_LVTT)
			update_lvtt(apic);
		if (off == KVMX_APIC_LVT0)
			set_bit(KVMX_REQ_EVENT, &vcpu->requests);
		break;
	case KVMX_APIC_TMICT:
		if (apic->timer_mode == KVMX_APIC_TIMER_TSCDEADLINE)
			break;
		set_reg(apic, off, val);
		start_count_timer(apic, false);
		break;
	case KVMX_APIC_TDCR:
		i = divider(apic);
		set_reg(apic, off, val & 0xb);
		if (divider(apic) != i && apic->period_ns &&
		    apic->timer_mode != KVMX_APIC_TIMER_TSCDEADLINE)
			rescale_timer(apic, i);
		break;
	case KVMX_APIC_SELF_IPI:
		/* As KVM: bits 31:8 are reserved (#GP). */
		if (!x2 || (val & ~0xffU))
			return 1;
		send_ipi(vcpu, KVMX_APIC_SH_SELF << 18 | (val & 0xff), 0);
		break;
	default:
		return 1;
	}
	return 0;
}

/* ---- IA32_APIC_BASE, x2APIC MSRs, TSC_DEADLINE ---- */

static const struct kvm_cpuid_entry2 *cpuid_leaf1(struct kvmx_vcpu *vcpu)
{
	int i;

	for (i = 0; i < vcpu->nr_cpuid; i++)
		if (vcpu->cpuid[i].function == 1)
			return &vcpu->cpuid[i];
	return NULL;
}

static bool guest_has_tscdeadline(struct kvmx_vcpu *vcpu)
{
	const struct kvm_cpuid_entry2 *e = cpuid_leaf1(vcpu);

	return e && (e->ecx & BIT(24));
}

static bool guest_has_x2apic(struct kvmx_vcpu *vcpu)
{
	const struct kvm_cpuid_entry2 *e = cpuid_leaf1(vcpu);

	return e && (e->ecx & BIT(21));
}

enum { MODE_DISABLED, MODE_INVALID, MODE_XAPIC, MODE_X2APIC };

static int base_mode(u64 base)
{
	return (base & MSR_IA32_APICBASE_ENABLE ? 2 : 0) | (base & X2APIC_ENABLE ? 1 : 0);
}

static int set_apic_base(struct kvmx_vcpu *vcpu, u64 value, bool host)
{
	struct kvmx_lapic *apic = vcpu->apic;
	u64 old = vcpu->apic_base;
	u64 reserved = (~0ULL << boot_cpu_data.x86_phys_bits) | APIC_BASE_RESERVED |
		       (guest_has_x2apic(vcpu) ? 0 : X2APIC_ENABLE);
	int from = base_mode(old), to = base_mode(value);

	if ((value & reserved) || to == MODE_INVALID)
		return -EINVAL;
	if (!host && ((from == MODE_X2APIC && to == MODE_XAPIC) ||
		      (from == MODE_DISABLED && to == MODE_X2APIC)))
		return -EINVAL;
	WRITE_ONCE(vcpu->apic_base, value);
	if ((old ^ value) & (MSR_IA32_APICBASE_ENABLE | X2APIC_ENABLE)) {
		if (to == MODE_X2APIC) {
			set_reg(apic, KVMX_APIC_ID, vcpu->id);
			set_reg(apic, KVMX_APIC_LDR, kvmx_x2apic_ldr(vcpu->id));
		} else if (to == MODE_XAPIC) {
			set_reg(apic, KVMX_APIC_ID, vcpu->id << 24);
		}
	}
	set_bit(KVMX_REQ_EVENT, &vcpu->requests);
	return 0;
}

int kvmx_lapic_get_msr(struct kvmx_vcpu *vcpu, u32 index, u64 *data)
{
	struct kvmx_lapic *apic = vcpu->apic;
	u32 off = (index - X2APIC_MSR_BASE) << 4;

	if (index == MSR_IA32_APICBASE) {
		*data = vcpu->apic_base;
		return 0;
	}
	if (index == MSR_IA32_TSC_DEADLINE) {
		*data = apic->timer_mode == KVMX_APIC_TIMER_TSCDEADLINE ? apic->tsc_deadline : 0;
		return 0;
	}
	if (index < X2APIC_MSR_BASE || index > X2APIC_MSR_END)
		return -ENOENT;
	if (!x2apic_mode(vcpu) || !kvmx_apic_readable(off, true, has_cmci(vcpu)))
		return -EINVAL;
	*data = read_reg(vcpu, off);
	if (off == KVMX_APIC_ICR)
		*data |= (u64)reg(apic, KVMX_APIC_ICR2) << 32;
	return 0;
}

int kvmx_lapic_set_msr(struct kvmx_vcpu *vcpu, u32 index, u64 data, bool host)
{
	struct kvmx_lapic *apic = vcpu->apic;
	u32 off = (index - X2APIC_MSR_BASE) << 4;

	if (index == MSR_IA32_APICBASE)
		return set_apic_base(vcpu, data, host);
	if (index == MSR_IA32_TSC_DEADLINE) {
		if (apic->timer_mode != KVMX_APIC_TIMER_TSCDEADLINE)
			return 0;
		apic->tsc_deadline = data;
		start_tsc_deadline(apic);
		return 0;
	}
	if (index < X2APIC_MSR_BASE || index > X2APIC_MSR_END)
		return -ENOENT;
	if (!x2apic_mode(vcpu))
		return -EINVAL;
	if (off == KVMX_APIC_ICR) {
		if (data & X2APIC_ICR_RESERVED)
			return -EINVAL;
		data &= ~KVMX_APIC_ICR_BUSY;
		set_reg(apic, KVMX_APIC_ICR2, data >> 32);
		set_reg(apic, KVMX_APIC_ICR, (u32)data);
		send_ipi(vcpu, (u32)data, data >> 32);
		return 0;
	}
	if (data >> 32 || (off & 0xf) || off >= KVMX_APIC_PAGE)
		return -EINVAL;
	/*
	 * kvm_intel lets the CPU virtualize the x2APIC TPR (TPR shadow in
	 * virtualize-x2APIC mode), and the CPU raises #GP for bits 63:8, as
	 * the SDM's x2APIC reserved-bit checking says; so does kvmx.
	 */
	if (off == KVMX_APIC_TPR && (data & ~0xffULL))
		return -EINVAL;
	return write_reg(vcpu, off, data) ? -EINVAL : 0;
}

/* ---- MMIO: the xAPIC page ---- */

static u64 apic_page(struct kvmx_vcpu *vcpu)
{
	return READ_ONCE(vcpu->apic_base) & PAGE_MASK & ((1ULL << 52) - 1);
}

/*
 * As KVM: with KVM_X86_QUIRK_LAPIC_MMIO_HOLE off, the page is the APIC's
 * only while the APIC is enabled in xAPIC mode (else accesses go where
 * any other would: RAM or user space).
 */
bool kvmx_lapic_mmio_claims(struct kvmx_vcpu *vcpu, u64 gpa)
{
	return vcpu->apic && (gpa & PAGE_MASK) == apic_page(vcpu) &&
	       ((hw_enabled(vcpu) && !x2apic_mode(vcpu)) ||
		kvmx_has_quirk(vcpu->vm, KVM_X86_QUIRK_LAPIC_MMIO_HOLE));
}

/*
 * As KVM with its LAPIC_MMIO_HOLE quirk (on by default): while the APIC is
 * disabled or in x2APIC mode its page reads all-ones and ignores writes; a
 * write that is not 4 aligned bytes is dropped; a read inside one register
 * gives its bytes.
 */
void kvmx_lapic_mmio(struct kvmx_vcpu *vcpu, u64 gpa, void *data, unsigned int len, bool write)
{
	u32 off = gpa & 0xfff, val;

	if (!hw_enabled(vcpu) || x2apic_mode(vcpu)) {
		if (!write)
			memset(data, 0xff, len);
		return;
	}
	if (write) {
		if (len == 4 && !(off & 0xf))
			write_reg(vcpu, off, *(u32 *)data);
		return;
	}
	memset(data, 0, len);
	if ((off & 0xf) + len > 4 || !kvmx_apic_readable(off & ~0xfu, false, has_cmci(vcpu)))
		return;
	val = read_reg(vcpu, off & ~0xfu);
	memcpy(data, (u8 *)&val + (off & 3), len);
}

/* ---- CR8 ---- */

void kvmx_lapic_set_cr8(struct kvmx_vcpu *vcpu, unsigned long cr8)
{
	write_reg(vcpu, KVMX_APIC_TPR, (cr8 & 0xf) << 4);
}

unsigned long kvmx_lapic_get_cr8(struct kvmx_vcpu *vcpu)
{
	return (reg(vcpu->apic, KVMX_APIC_TPR) >> 4) & 0xf;
}

/* ---- Injection, HLT, INIT/SIPI ---- */

/*
 * The PIC's INTR, as KVM's kvm_cpu_has_extint(): the kernel's PIC, or with
 * a split irqchip the vector user space queued with KVM_INTERRUPT (which
 * inject_events() in vmx/exit.c takes before asking the local APIC).
 */
static bool has_extint(struct kvmx_vcpu *vcpu)
{
	struct kvmx_irqchip *chip = kvmx_irqchip(vcpu->vm);

	if (!kvmx_lapic_accepts_pic(vcpu))
		return false;
	if (chip->mode == KVMX_IRQCHIP_SPLIT)
		return vcpu->irq >= 0;
	return chip->mode == KVMX_IRQCHIP_KERNEL && READ_ONCE(chip->pic.output);
}

static int deliverable(struct kvmx_vcpu *vcpu)
{
	if (!hw_enabled(vcpu))
		return -1;
	return kvmx_apic_deliverable_vec(vcpu->apic->regs);
}

int kvmx_lapic_inject(struct kvmx_vcpu *vcpu, bool allowed, bool *window)
{
	struct kvmx_lapic *apic = vcpu->apic;
	struct kvmx_irqchip *chip;
	u16 acked;
	int vec;

	*window = false;
	if (has_extint(vcpu)) {
		if (!allowed) {
			*window = true;
			return -1;
		}
		chip = kvmx_irqchip(vcpu->vm);
		spin_lock(&chip->lock);
		vec = kvmx_pic_read_irq(&chip->pic);
		acked = chip->pic.acked;	/* auto-EOI */
		chip->pic.acked = 0;
		spin_unlock(&chip->lock);
		if (acked)
			kvmx_irq_pic_notify(vcpu->vm, acked, 0);
		return vec;
	}
	vec = deliverable(vcpu);
	if (vec < 0)
		return -1;
	if (!allowed) {
		*window = true;
		return -1;
	}
	clear_bit(vec & 31, vec_word(apic, KVMX_APIC_IRR, vec));
	__set_bit(vec & 31, vec_word(apic, KVMX_APIC_ISR, vec));
	update_ppr(apic);
	return vec;
}

void kvmx_lapic_halt(struct kvmx_vcpu *vcpu)
{
	vcpu->mp_state = KVM_MP_STATE_HALTED;
}

static void lapic_reset(struct kvmx_vcpu *vcpu)
{
	struct kvmx_lapic *apic = vcpu->apic;

	cancel_timer(apic);
	kvmx_apic_reset(apic->regs, vcpu->id, has_cmci(vcpu));
	/* KVM's LINT0_REENABLED quirk: the BSP's LINT0 takes the PIC (ExtINT). */
	if (kvmx_vcpu_is_reset_bsp(vcpu) &&
	    kvmx_has_quirk(vcpu->vm, KVM_X86_QUIRK_LINT0_REENABLED))
		set_reg(apic, KVMX_APIC_LVT0, KVMX_APIC_DM_EXTINT << 8);
	if (x2apic_mode(vcpu)) {
		set_reg(apic, KVMX_APIC_ID, vcpu->id);
		set_reg(apic, KVMX_APIC_LDR, kvmx_x2apic_ldr(vcpu->id));
	}
	apic->timer_mode = KVMX_APIC_TIMER_ONESHOT;
	apic->period_ns = 0;
	apic->tsc_deadline = 0;
	atomic_set(&apic->timer_pending, 0);
	update_ppr(apic);
}

/* KVM's kvm_apic_accept_events(). */
static void accept_events(struct kvmx_vcpu *vcpu)
{
	struct kvmx_lapic *apic = vcpu->apic;

	if (!READ_ONCE(apic->pending_events))
		return;
	if (test_and_clear_bit(KVMX_APIC_INIT, &apic->pending_events)) {
		kvmx_vcpu_init_event(vcpu);
		lapic_reset(vcpu);
		/* As KVM: the BSP is the vCPU whose IA32_APIC_BASE says so. */
		vcpu->mp_state = vcpu->apic_base & MSR_IA32_APICBASE_BSP ?
			KVM_MP_STATE_RUNNABLE : KVM_MP_STATE_INIT_RECEIVED;
	}
	if (test_and_clear_bit(KVMX_APIC_SIPI, &apic->pending_events) &&
	    vcpu->mp_state == KVM_MP_STATE_INIT_RECEIVED) {
		smp_rmb();	/* the event before the vector */
		kvmx_vcpu_sipi(vcpu, READ_ONCE(apic->sipi_vector));
		vcpu->mp_state = KVM_MP_STATE_RUNNABLE;
	}
}

/* As KVM's kvm_vcpu_has_events(): an NMI wakes it whatever IF says. */
static bool wakes_from_halt(struct kvmx_vcpu *vcpu)
{
	if (atomic_read(&vcpu->nmi_queued) || (vcpu->nmi_pending && kvmx_nmi_allowed(vcpu)))
		return true;
	return kvmx_interrupt_allowed(vcpu) && (has_extint(vcpu) || deliverable(vcpu) >= 0);
}

static bool should_wake(struct kvmx_vcpu *vcpu)
{
	return test_bit(KVMX_REQ_EVENT, &vcpu->requests) ||
	       atomic_read(&vcpu->apic->timer_pending) > 0 ||
	       READ_ONCE(vcpu->apic->pending_events) || signal_pending(current);
}

int kvmx_lapic_before_entry(struct kvmx_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;

	if (!vcpu->apic)
		return 1;
	/*
	 * As KVM: an AP that waits for INIT/SIPI sleeps once, takes what came,
	 * and KVM_RUN returns -EAGAIN (user space calls it again).
	 */
	if (vcpu->mp_state == KVM_MP_STATE_UNINITIALIZED) {
		clear_bit(KVMX_REQ_EVENT, &vcpu->requests);
		/* Clear the request before looking at what it announces. */
		smp_mb__after_atomic();
		if (!READ_ONCE(vcpu->apic->pending_events))
			rcuwait_wait_event(&vcpu->wait, should_wake(vcpu), TASK_INTERRUPTIBLE);
		accept_events(vcpu);
		return signal_pending(current) ? -EINTR : -EAGAIN;
	}
	for (;;) {
		clear_bit(KVMX_REQ_EVENT, &vcpu->requests);
		/* Clear the request before looking at what it announces. */
		smp_mb__after_atomic();
		accept_events(vcpu);
		timer_deliver(vcpu);
		if (test_and_clear_bit(KVMX_REQ_EOI_EXIT, &vcpu->requests)) {
			run->exit_reason = KVM_EXIT_IOAPIC_EOI;
			run->eoi.vector = vcpu->apic->eoi_exit_vector;
			return 0;
		}
		if (vcpu->mp_state == KVM_MP_STATE_HALTED && wakes_from_halt(vcpu))
			vcpu->mp_state = KVM_MP_STATE_RUNNABLE;
		if (vcpu->mp_state == KVM_MP_STATE_RUNNABLE)
			return 1;
		if (signal_pending(current))
			return -EINTR;
		rcuwait_wait_event(&vcpu->wait, should_wake(vcpu), TASK_INTERRUPTIBLE);
	}
}

int kvmx_lapic_get_mp_state(struct kvmx_vcpu *vcpu, u32 *state)
{
	accept_events(vcpu);
	*state = vcpu->mp_state;
	return 0;
}

int kvmx_lapic_set_mp_state(struct kvmx_vcpu *vcpu, u32 state)
{
	if (state > KVM_MP_STATE_SIPI_RECEIVED)
		return -EINVAL;
	if (state == KVM_MP_STATE_SIPI_RECEIVED) {
		vcpu->mp_state = KVM_MP_STATE_INIT_RECEIVED;
		set_bit(KVMX_APIC_SIPI, &vcpu->apic->pending_events);
	} else {
		vcpu->mp_state = state;
	}
	set_bit(KVMX_REQ_EVENT, &vcpu->requests);
	return 0;
}

/* ---- Machine checks: the CMCI LVT ---- */

/*
 * KVM's kvm_apic_after_set_mcg_cap(): KVM_X86_SETUP_MCE changed
 * IA32_MCG_CAP from @old_cap; a CMCI LVT that appears starts masked, and
 * the version register counts the LVT entries.
 */
void kvmx_lapic_after_set_mcg_cap(struct kvmx_vcpu *vcpu, u64 old_cap)
{
	struct kvmx_lapic *apic = vcpu->apic;

	if (!apic || !((old_cap ^ vcpu->mce.cap) & KVMX_MCG_CMCI_P))
		return;
	if (has_cmci(vcpu))
		set_reg(apic, KVMX_APIC_LVTCMCI, KVMX_APIC_LVT_MASKED);
	set_reg(apic, KVMX_APIC_LVR, kvmx_apic_version(has_cmci(vcpu)));
}

/*
 * A CMCI (KVM_X86_SET_MCE of a UCNA error): KVM's
 * kvm_apic_local_deliver(apic, APIC_LVTCMCI), the interrupt the CMCI LVT
 * describes, unless the APIC is disabled or the entry masked.
 */
void kvmx_lapic_deliver_cmci(struct kvmx_vcpu *vcpu)
{
	u32 lvt;
	struct kvmx_apic_irq irq = { .level = true };

	if (!vcpu->apic || !has_cmci(vcpu) || !hw_enabled(vcpu))
		return;
	lvt = reg(vcpu->apic, KVMX_APIC_LVTCMCI);
	if (lvt & KVMX_APIC_LVT_MASKED)
		return;
	irq.vector = lvt & 0xff;
	irq.delivery_mode = (lvt >> 8) & 7;
	irq.trig_level = lvt & KVMX_APIC_ICR_TRIGGER;
	accept_irq(vcpu, &irq);
}

/* ---- KVM_GET/SET_LAPIC ---- */

static int get_lapic(struct kvmx_vcpu *vcpu, struct kvm_lapic_state __user *arg)
{
	struct kvmx_lapic *apic = vcpu->apic;
	u8 *s = kmemdup(apic->regs, KVMX_APIC_PAGE, GFP_KERNEL_ACCOUNT);
	int r = 0;

	if (!s)
		return -ENOMEM;
	kvmx_apic_put(s, KVMX_APIC_TMCCT, tmcct(apic));
	if (x2apic_mode(vcpu))
		kvmx_apic_put(s, KVMX_APIC_ID, kvmx_apic_get(s, KVMX_APIC_ID) << 24);
	if (copy_to_user(arg->regs, s, KVMX_APIC_PAGE))
		r = -EFAULT;
	kfree(s);
	return r;
}

static int set_lapic(struct kvmx_vcpu *vcpu, struct kvm_lapic_state __user *arg)
{
	struct kvmx_lapic *apic = vcpu->apic;
	u8 *s = memdup_user(arg->regs, KVMX_APIC_PAGE);
	u32 id;

	if (IS_ERR(s))
		return PTR_ERR(s);
	cancel_timer(apic);
	if (x2apic_mode(vcpu)) {
		id = kvmx_apic_get(s, KVMX_APIC_ID) >> 24;
		kvmx_apic_put(s, KVMX_APIC_ID, id);
		kvmx_apic_put(s, KVMX_APIC_LDR, kvmx_x2apic_ldr(id));
	}
	memcpy(apic->regs, s, KVMX_APIC_PAGE);
	kfree(s);
	set_reg(apic, KVMX_APIC_LVR, kvmx_apic_version(has_cmci(vcpu)));
	update_ppr(apic);
	apic->tsc_deadline = 0;
	atomic_set(&apic->timer_pending, 0);
	apic->timer_mode = (reg(apic, KVMX_APIC_LVTT) >> 17) & 3;
	if (apic->timer_mode != KVMX_APIC_TIMER_TSCDEADLINE)
		start_count_timer(apic, true);
	set_reg(apic, KVMX_APIC_TMCCT, 0);
	set_bit(KVMX_REQ_EVENT, &vcpu->requests);
	return 0;
}

long kvmx_lapic_vcpu_ioctl(struct kvmx_vcpu *vcpu, unsigned int ioctl, void __user *argp)
{
	const char *name = ioctl == KVM_GET_LAPIC ? "KVM_GET_LAPIC" : "KVM_SET_LAPIC";

	if (!vcpu->apic)
		return kvmx_refuse(-EINVAL, name, "the VM has no in-kernel irqchip");
	return ioctl == KVM_GET_LAPIC ? get_lapic(vcpu, argp) : set_lapic(vcpu, argp);
}

/* ---- Life ---- */

int kvmx_lapic_create(struct kvmx_vcpu *vcpu)
{
	struct kvmx_lapic *apic = kzalloc(sizeof(*apic), GFP_KERNEL_ACCOUNT);

	if (!apic)
		return -ENOMEM;
	apic->regs = kzalloc(KVMX_APIC_PAGE, GFP_KERNEL_ACCOUNT);
	if (!apic->regs) {
		kfree(apic);
		return -ENOMEM;
	}
	atomic_long_inc(&kvmx_counts.lapics);
	apic->vcpu = vcpu;
	hrtimer_init(&apic->timer, CLOCK_MONOTONIC, HRTIMER_MODE_ABS_HARD);
	apic->timer.function = timer_fn;
	vcpu->apic = apic;
	lapic_reset(vcpu);
	/* As KVM: the BSP runs, an AP waits for INIT and SIPI. */
	vcpu->mp_state = kvmx_vcpu_is_reset_bsp(vcpu) ? KVM_MP_STATE_RUNNABLE :
			 KVM_MP_STATE_UNINITIALIZED;
	return 0;
}

void kvmx_lapic_free(struct kvmx_vcpu *vcpu)
{
	struct kvmx_lapic *apic = vcpu->apic;

	if (!apic)
		return;
	hrtimer_cancel(&apic->timer);
	kfree(apic->regs);
	kfree(apic);
	vcpu->apic = NULL;
	atomic_long_dec(&kvmx_counts.lapics);
}
