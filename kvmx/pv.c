// SPDX-License-Identifier: GPL-2.0
/*
 * KVM's paravirtual steal time (KVM_FEATURE_STEAL_TIME, MSR_KVM_STEAL_TIME),
 * as arch/x86/kvm/x86.c of Linux 6.1 keeps it: the guest gives a 64-byte
 * aligned guest-physical address, and before it runs again kvmx adds to the
 * struct kvm_steal_time there the time the vCPU's thread waited on a run
 * queue since the last update (the scheduler's run_delay), with the
 * version odd while it writes.  Updated when KVM_RUN starts (KVM: every
 * vcpu_load()) and before an entry after the thread waited (KVM: when the
 * preempt notifier loads the vCPU again).
 *
 * One difference: KVM marks the struct "preempted" (and, with
 * KVM_FEATURE_PV_TLB_FLUSH, flushes the guest's TLB at the next update when
 * the guest asked); kvmx never sets the flag, and clears it as KVM does
 * without PV_TLB_FLUSH, which it does not offer.
 *
 * Everything here runs on the vCPU's thread (vcpu->st is its alone).
 */
#include <linux/kvm_para.h>
#include <linux/sched.h>
#include <linux/sched/stat.h>
#include <linux/stddef.h>

#include "kvmx.h"

int kvmx_steal_time_get(struct kvmx_vcpu *vcpu, u64 *data)
{
	if (!kvmx_guest_pv_has(vcpu, KVM_FEATURE_STEAL_TIME))
		return -EINVAL;
	*data = vcpu->st.msr;
	return 0;
}

int kvmx_steal_time_set(struct kvmx_vcpu *vcpu, u64 data)
{
	if (!kvmx_guest_pv_has(vcpu, KVM_FEATURE_STEAL_TIME) || !sched_info_on() ||
	    (data & KVM_STEAL_RESERVED_MASK))
		return -EINVAL;
	vcpu->st.msr = data;
	if (data & KVM_MSR_ENABLED)
		vcpu->st.update = true;
	return 0;
}

/*
 * KVM's record_steal_time(), when something changed; a struct that is not
 * in RAM is left alone.
 */
static noinline void steal_time_update(struct kvmx_vcpu *vcpu, u64 run_delay)
{
	u64 gpa = vcpu->st.msr & KVM_STEAL_VALID_BITS;
	u32 version;
	u64 steal;
	u8 zero = 0;

	vcpu->st.update = false;
	if (kvmx_write_guest(vcpu->vm, gpa + offsetof(struct kvm_steal_time, preempted),
			     &zero, sizeof(zero)) ||
	    kvmx_read_guest(vcpu->vm, gpa + offsetof(struct kvm_steal_time, version),
			    &version, sizeof(version)))
		return;
	if (version & 1)
		version += 1;	/* the guest's junk at first */
	version += 1;
	if (kvmx_write_guest(vcpu->vm, gpa + offsetof(struct kvm_steal_time, version),
			     &version, sizeof(version)))
		return;
	smp_wmb();	/* the odd version before the new time */
	if (kvmx_read_guest(vcpu->vm, gpa, &steal, sizeof(steal)))
		return;
	steal += run_delay - vcpu->st.last_steal;
	vcpu->st.last_steal = run_delay;
	if (kvmx_write_guest(vcpu->vm, gpa, &steal, sizeof(steal)))
		return;
	smp_wmb();	/* the new time before the even version */
	version += 1;
	kvmx_write_guest(vcpu->vm, gpa + offsetof(struct kvm_steal_time, version), &version,
			 sizeof(version));
}

/*
 * Before every entry.  The test apart from the update: most entries have
 * nothing to do, and the update's locals are zeroed on entry
 * (CONFIG_INIT_STACK_ALL_ZERO).
 */
void kvmx_steal_time_before_entry(struct kvmx_vcpu *vcpu)
{
	u64 run_delay = current->sched_info.run_delay;

	if ((vcpu->st.msr & KVM_MSR_ENABLED) &&
	    (vcpu->st.update || run_delay != vcpu->st.last_steal))
		steal_time_update(vcpu, run_delay);
}
