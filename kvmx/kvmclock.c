// SPDX-License-Identifier: GPL-2.0
/*
 * kvmclock: MSR_KVM_SYSTEM_TIME(_NEW), MSR_KVM_WALL_CLOCK(_NEW),
 * KVM_GET/SET_CLOCK and KVM_CAP_ADJUST_CLOCK, with the semantics of
 * arch/x86/kvm/x86.c of Linux 6.1 when KVM runs its "master clock" (a
 * stable, synchronised host TSC).
 *
 * A VM's clock is a linear function of the host's TSC: from a snapshot
 * (@master_tsc, @master_ns: the host TSC and the boot-time clock read
 * together) it runs at the host's tsc_khz, plus the VM's @offset.  Each
 * vCPU with kvmclock on gets, in guest memory, the same function as a
 * struct pvclock_vcpu_time_info for its own TSC (tsc_timestamp = the
 * snapshot's TSC plus the vCPU's TSC offset), with PVCLOCK_TSC_STABLE_BIT;
 * so the guest's reading and KVM_GET_CLOCK's agree at every instant.
 * KVM_SET_CLOCK takes a new snapshot and offset; vCPUs rewrite their
 * struct before their next entry (and whenever KVM_RUN starts, or their
 * TSC offset or the MSR changed).
 *
 * Who touches what: vm->clock is replaced whole under vm->clock_lock (a
 * seqlock; KVM_SET_CLOCK, from user space only), and vm->clock_gen is
 * bumped after; readers copy it under the seqlock.  A vCPU's own kvmclock
 * fields are its thread's.  vm->kvmclock_wall_clock is any vCPU's, whole.
 */
#include <linux/kvm.h>
#include <linux/kvm_para.h>
#include <linux/math64.h>
#include <linux/stddef.h>
#include <linux/timekeeping.h>
#include <linux/uaccess.h>
#include <asm/pvclock.h>
#include <asm/pvclock-abi.h>
#include <asm/tsc.h>

#include "kvmx.h"

#define KVMX_CLOCK_FLAGS (KVM_CLOCK_TSC_STABLE | KVM_CLOCK_REALTIME | KVM_CLOCK_HOST_TSC)

/*
 * The multiplier and shift that turn @base_hz cycles into @scaled_hz units
 * as pvclock_scale_delta() applies them (KVM's kvm_get_time_scale()).
 */
static void time_scale(u64 scaled_hz, u64 base_hz, s8 *shift, u32 *mul)
{
	u64 scaled = scaled_hz, tps64 = base_hz;
	s32 s = 0;
	u32 tps32;

	while (tps64 > scaled * 2 || tps64 & 0xffffffff00000000ULL) {
		tps64 >>= 1;
		s--;
	}
	tps32 = (u32)tps64;
	while (tps32 <= scaled || scaled & 0xffffffff00000000ULL) {
		if (scaled & 0xffffffff00000000ULL || tps32 & 0x80000000)
			scaled >>= 1;
		else
			tps32 <<= 1;
		s++;
	}
	*shift = s;
	*mul = div_u64(scaled << 32, tps32);
}

void kvmx_kvmclock_vm_init(struct kvmx_vm *vm)
{
	struct kvmx_kvmclock *c = &vm->clock;

	seqlock_init(&vm->clock_lock);
	time_scale(NSEC_PER_SEC, (u64)(tsc_khz ? tsc_khz : 1) * 1000, &c->shift, &c->mul);
	c->master_tsc = rdtsc();
	c->master_ns = ktime_get_boottime_ns();
	c->offset = -(s64)c->master_ns;	/* as KVM: a new VM's clock starts at 0 */
}

/*
 * As KVM, the master clock starts with the first KVM_RUN (KVM: the master
 * clock update its first vCPU requests) or KVM_SET_CLOCK; until then the
 * clock follows the boot-time clock and KVM_GET_CLOCK has no flags.  The
 * snapshot keeps the offset, so the clock goes on without a jump.
 */
static void start_master(struct kvmx_vm *vm)
{
	lockdep_assert_held(&vm->clock_lock.lock);
	if (vm->clock.master)
		return;
	vm->clock.master_tsc = rdtsc();
	vm->clock.master_ns = ktime_get_boottime_ns();
	vm->clock.master = true;
}

void kvmx_kvmclock_run_start(struct kvmx_vcpu *vcpu)
{
	struct kvmx_vm *vm = vcpu->vm;
	bool master;
	unsigned int seq;

	vcpu->kvmclock_update = true;
	do {
		seq = read_seqbegin(&vm->clock_lock);
		master = vm->clock.master;
	} while (read_seqretry(&vm->clock_lock, seq));
	if (master)
		return;
	write_seqlock(&vm->clock_lock);
	start_master(vm);
	write_sequnlock(&vm->clock_lock);
	atomic_inc(&vm->clock_gen);
}

static void clock_read(struct kvmx_vm *vm, struct kvmx_kvmclock *c)
{
	unsigned int seq;

	do {
		seq = read_seqbegin(&vm->clock_lock);
		*c = vm->clock;
	} while (read_seqretry(&vm->clock_lock, seq));
}

static u64 clock_at(const struct kvmx_kvmclock *c, u64 host_tsc)
{
	if (!c->master)
		return ktime_get_boottime_ns() + c->offset;
	return c->master_ns + c->offset +
	       pvclock_scale_delta(host_tsc - c->master_tsc, c->mul, c->shift);
}

static u64 clock_now(struct kvmx_vm *vm)
{
	struct kvmx_kvmclock c;

	clock_read(vm, &c);
	return clock_at(&c, rdtsc());
}

long kvmx_kvmclock_vm_ioctl(struct kvmx_vm *vm, unsigned int ioctl, void __user *argp)
{
	struct kvm_clock_data data;
	struct kvmx_kvmclock c;

	if (ioctl == KVM_GET_CLOCK) {
		memset(&data, 0, sizeof(data));
		clock_read(vm, &c);
		if (c.master) {
			preempt_disable();	/* the TSC and the wall clock read together */
			data.host_tsc = rdtsc();
			data.realtime = ktime_get_real_ns();
			preempt_enable();
			data.flags = KVMX_CLOCK_FLAGS;
		}
		data.clock = clock_at(&c, data.host_tsc);
		return copy_to_user(argp, &data, sizeof(data)) ? -EFAULT : 0;
	}
	if (copy_from_user(&data, argp, sizeof(data)))
		return -EFAULT;
	if (data.flags & ~KVMX_CLOCK_FLAGS)
		return kvmx_refuse(-EINVAL, "KVM_SET_CLOCK", "flags 0x%x", data.flags);
	write_seqlock(&vm->clock_lock);
	vm->clock.master = false;
	start_master(vm);
	/* As KVM: the time since @realtime is added, never taken away. */
	if (data.flags & KVM_CLOCK_REALTIME) {
		u64 now = ktime_get_real_ns();

		if (now > data.realtime)
			data.clock += now - data.realtime;
	}
	vm->clock.offset = data.clock - vm->clock.master_ns;
	write_sequnlock(&vm->clock_lock);
	atomic_inc(&vm->clock_gen);
	return 0;
}

/* KVM's kvm_write_wall_clock(): the host's boot time, as the guest's clock sees it. */
static void write_wall_clock(struct kvmx_vm *vm, u64 gpa)
{
	struct pvclock_wall_clock wc;
	u64 wall_ns;
	u32 version;

	if (!gpa || kvmx_read_guest(vm, gpa, &version, sizeof(version)))
		return;
	if (version & 1)
		version++;	/* the guest's junk at first */
	version++;
	if (kvmx_write_guest(vm, gpa, &version, sizeof(version)))
		return;
	wall_ns = ktime_get_real_ns() - clock_now(vm);
	wc.nsec = do_div(wall_ns, NSEC_PER_SEC);
	wc.sec = (u32)wall_ns;
	wc.version = version;
	if (kvmx_write_guest(vm, gpa, &wc, sizeof(wc)))
		return;
	version++;	/* even again: done */
	kvmx_write_guest(vm, gpa, &version, sizeof(version));
}

/*
 * The kvmclock MSRs (0x11/0x12 need KVM_FEATURE_CLOCKSOURCE, the _NEW ones
 * KVM_FEATURE_CLOCKSOURCE2, under KVM_CAP_ENFORCE_PV_FEATURE_CPUID).
 * -ENOENT: not a kvmclock MSR.
 */
int kvmx_kvmclock_get_msr(struct kvmx_vcpu *vcpu, u32 index, u64 *data)
{
	int feature;

	switch (index) {
	case MSR_KVM_WALL_CLOCK:
	case MSR_KVM_SYSTEM_TIME:
		feature = KVM_FEATURE_CLOCKSOURCE;
		break;
	case MSR_KVM_WALL_CLOCK_NEW:
	case MSR_KVM_SYSTEM_TIME_NEW:
		feature = KVM_FEATURE_CLOCKSOURCE2;
		break;
	default:
		return -ENOENT;
	}
	if (!kvmx_guest_pv_has(vcpu, feature))
		return -EINVAL;
	if (index == MSR_KVM_WALL_CLOCK || index == MSR_KVM_WALL_CLOCK_NEW)
		*data = READ_ONCE(vcpu->vm->kvmclock_wall_clock);
	else
		*data = vcpu->kvmclock_system_time;
	return 0;
}

int kvmx_kvmclock_set_msr(struct kvmx_vcpu *vcpu, u32 index, u64 data)
{
	u64 probe;
	int r = kvmx_kvmclock_get_msr(vcpu, index, &probe);

	if (r)
		return r;
	if (index == MSR_KVM_WALL_CLOCK || index == MSR_KVM_WALL_CLOCK_NEW) {
		WRITE_ONCE(vcpu->vm->kvmclock_wall_clock, data);
		write_wall_clock(vcpu->vm, data);
		return 0;
	}
	vcpu->kvmclock_system_time = data;
	vcpu->kvmclock_update = true;
	return 0;
}

/*
 * KVM's kvm_setup_guest_pvclock(), before an entry when something changed
 * (kvmx_kvmclock_before_entry() decides): @gen is the VM's clock_gen.
 */
void kvmx_kvmclock_update(struct kvmx_vcpu *vcpu, int gen)
{
	u64 gpa = vcpu->kvmclock_system_time & ~1ULL;
	struct pvclock_vcpu_time_info t;
	struct kvmx_kvmclock c;
	u32 version;

	vcpu->kvmclock_update = false;
	vcpu->kvmclock_gen = gen;
	if (kvmx_read_guest(vcpu->vm, gpa, &version, sizeof(version)))
		return;
	if (version & 1)
		version++;
	version++;
	if (kvmx_write_guest(vcpu->vm, gpa, &version, sizeof(version)))
		return;
	smp_wmb();	/* an odd version before the new values */
	clock_read(vcpu->vm, &c);
	memset(&t, 0, sizeof(t));
	t.tsc_timestamp = c.master_tsc + vcpu->tsc_offset;
	t.system_time = c.master_ns + c.offset;
	t.tsc_to_system_mul = c.mul;
	t.tsc_shift = c.shift;
	t.flags = PVCLOCK_TSC_STABLE_BIT;
	t.version = version;
	if (kvmx_write_guest(vcpu->vm, gpa, &t, sizeof(t)))
		return;
	smp_wmb();	/* the values before the even version */
	version++;
	kvmx_write_guest(vcpu->vm, gpa, &version, sizeof(version));
}
