// SPDX-License-Identifier: GPL-2.0
/*
 * MSR accesses that user space takes (KVM_CAP_X86_USER_SPACE_MSR) and the
 * MSR filter (KVM_CAP_X86_MSR_FILTER, KVM_X86_SET_MSR_FILTER), as in
 * arch/x86/kvm/x86.c of Linux 6.1.
 *
 * A guest RDMSR/WRMSR that the filter denies, or that kvmx refuses because
 * it does not know the MSR or the value is invalid, leaves KVM_RUN as
 * KVM_EXIT_X86_RDMSR/WRMSR when user space asked for that reason
 * (KVM_MSR_EXIT_REASON_FILTER, _UNKNOWN, _INVAL); else the guest gets #GP.
 * User space's answer (run->msr.data, run->msr.error) completes the
 * instruction at the next KVM_RUN (exit.c).  The filter applies to the
 * guest's accesses only, never to KVM_GET/SET_MSRS, and not to the x2APIC
 * MSRs.
 *
 * A filter is immutable once published: KVM_X86_SET_MSR_FILTER builds a new
 * one, swaps it under vm->lock with rcu_assign_pointer() and frees the old
 * one after synchronize_srcu(); vCPUs read it under vm->srcu.
 */
#include <linux/kvm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "kvmx.h"
#include "irq/irq.h"

struct kvmx_msr_filter {
	bool default_allow;
	u32 count;
	struct {
		u32 flags;		/* KVM_MSR_FILTER_READ/WRITE */
		u32 base;
		u32 nmsrs;
		unsigned long *bitmap;	/* bit set: allowed */
	} ranges[KVM_MSR_FILTER_MAX_RANGES];
};

static void free_filter(struct kvmx_msr_filter *f)
{
	u32 i;

	if (!f)
		return;
	for (i = 0; i < f->count; i++)
		kfree(f->ranges[i].bitmap);
	kfree(f);
}

/* KVM's kvm_add_msr_filter(): an empty range is skipped. */
static int filter_add_range(struct kvmx_msr_filter *f, const struct kvm_msr_filter_range *r)
{
	size_t size;
	void *bitmap;

	if (!r->nmsrs)
		return 0;
	if (!r->flags || (r->flags & ~(KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE)))
		return kvmx_refuse(-EINVAL, "KVM_X86_SET_MSR_FILTER", "range flags 0x%x",
				   r->flags);
	size = BITS_TO_LONGS(r->nmsrs) * sizeof(long);
	if (size > KVM_MSR_FILTER_MAX_BITMAP_SIZE)
		return kvmx_refuse(-EINVAL, "KVM_X86_SET_MSR_FILTER", "%u MSRs in a range",
				   r->nmsrs);
	bitmap = memdup_user(r->bitmap, size);
	if (IS_ERR(bitmap))
		return PTR_ERR(bitmap);
	f->ranges[f->count].flags = r->flags;
	f->ranges[f->count].base = r->base;
	f->ranges[f->count].nmsrs = r->nmsrs;
	f->ranges[f->count].bitmap = bitmap;
	f->count++;
	return 0;
}

int kvmx_set_msr_filter(struct kvmx_vm *vm, const struct kvm_msr_filter *user)
{
	struct kvmx_msr_filter *f, *old;
	bool empty = true;
	int i, r;

	if (user->flags & ~KVM_MSR_FILTER_DEFAULT_DENY)
		return kvmx_refuse(-EINVAL, "KVM_X86_SET_MSR_FILTER", "flags 0x%x", user->flags);
	for (i = 0; i < KVM_MSR_FILTER_MAX_RANGES; i++)
		empty &= !user->ranges[i].nmsrs;
	if (empty && (user->flags & KVM_MSR_FILTER_DEFAULT_DENY))
		return kvmx_refuse(-EINVAL, "KVM_X86_SET_MSR_FILTER",
				   "deny by default with no range");
	f = kzalloc(sizeof(*f), GFP_KERNEL_ACCOUNT);
	if (!f)
		return -ENOMEM;
	f->default_allow = !(user->flags & KVM_MSR_FILTER_DEFAULT_DENY);
	for (i = 0; i < KVM_MSR_FILTER_MAX_RANGES; i++) {
		r = filter_add_range(f, &user->ranges[i]);
		if (r) {
			free_filter(f);
			return r;
		}
	}
	mutex_lock(&vm->lock);
	old = rcu_dereference_protected(vm->msr_filter, lockdep_is_held(&vm->lock));
	rcu_assign_pointer(vm->msr_filter, f);
	mutex_unlock(&vm->lock);
	synchronize_srcu(&vm->srcu);
	free_filter(old);
	/* The MSRs the guest accesses without exits follow the new filter. */
	kvmx_request_all_vcpus_wait(vm, KVMX_REQ_MSR_BITMAP);
	return 0;
}

void kvmx_msr_filter_destroy(struct kvmx_vm *vm)
{
	free_filter(rcu_dereference_protected(vm->msr_filter, true));
}

/* KVM's kvm_msr_allowed(): may the guest access @index (@write or read)? */
bool kvmx_msr_allowed(struct kvmx_vcpu *vcpu, u32 index, bool write)
{
	u32 type = write ? KVM_MSR_FILTER_WRITE : KVM_MSR_FILTER_READ;
	const struct kvmx_msr_filter *f;
	bool allowed = true;
	int idx;
	u32 i;

	if (index >= 0x800 && index <= 0x8ff)	/* x2APIC MSRs are never filtered */
		return true;
	idx = srcu_read_lock(&vcpu->vm->srcu);
	f = srcu_dereference(vcpu->vm->msr_filter, &vcpu->vm->srcu);
	if (f) {
		allowed = f->default_allow;
		for (i = 0; i < f->count; i++) {
			u32 start = f->ranges[i].base, end = start + f->ranges[i].nmsrs;

			if (index >= start && index < end && (f->ranges[i].flags & type)) {
				allowed = test_bit(index - start, f->ranges[i].bitmap);
				break;
			}
		}
	}
	srcu_read_unlock(&vcpu->vm->srcu, idx);
	return allowed;
}

/*
 * KVM's kvm_msr_user_space(): the guest's RDMSR/WRMSR of @index failed with
 * @r (KVMX_MSR_FILTERED, KVMX_MSR_UNKNOWN or another error: invalid); if
 * user space asked for that reason, fill in the exit and return true.
 */
bool kvmx_msr_user_exit(struct kvmx_vcpu *vcpu, u32 index, bool write, u64 data, int r)
{
	struct kvm_run *run = vcpu->run;
	u32 reason = r == KVMX_MSR_FILTERED ? KVM_MSR_EXIT_REASON_FILTER :
		     r == KVMX_MSR_UNKNOWN ? KVM_MSR_EXIT_REASON_UNKNOWN :
		     KVM_MSR_EXIT_REASON_INVAL;

	if (!(READ_ONCE(vcpu->vm->user_space_msr_mask) & reason))
		return false;
	run->exit_reason = write ? KVM_EXIT_X86_WRMSR : KVM_EXIT_X86_RDMSR;
	run->msr.error = 0;
	memset(run->msr.pad, 0, sizeof(run->msr.pad));
	run->msr.reason = reason;
	run->msr.index = index;
	run->msr.data = data;
	vcpu->pending_io = write ? KVMX_IO_WRMSR : KVMX_IO_RDMSR;
	return true;
}
