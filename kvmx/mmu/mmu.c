// SPDX-License-Identifier: GPL-2.0
/*
 * The MMU interface's common part: the fault path every MMU shares (the
 * MMIO fast path with its per-vCPU cache, the MMU's own handler, MMIO
 * emulation), and a VM's MMU set-up.  See mmu.h.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kvm.h>
#include <linux/kvmx.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>

#include "mmu.h"
#include "shadow_spte.h"
#include "../mmio.h"
#include "../mmio_fast.h"
#include "../stats.h"
#include "../trace.h"

/* The MMUs kvmx has, by KVMX_MMU_* number. */
static const struct kvmx_mmu_ops *const mmus[] = {
	[KVMX_MMU_EPT] = &kvmx_tdp_mmu_ops,
	[KVMX_MMU_SHADOW] = &kvmx_shadow_mmu_ops,
};

/*
 * The module parameter ept, as kvm_intel's: off makes every VM
 * shadow-paged (EPT is then not offered at all).  Read-only after load.
 */
static bool ept = true;
module_param(ept, bool, 0444);
MODULE_PARM_DESC(ept,
		 "use EPT (default on); off: every VM is shadow-paged, as kvm_intel's ept=0");

static bool offered(unsigned int which)
{
	if (which == KVMX_MMU_EPT)
		return ept;
	return which == KVMX_MMU_SHADOW && kvmx_shadow_supported();
}

u32 kvmx_mmus_offered(void)
{
	u32 mask = 0;
	int i;

	for (i = 0; i < ARRAY_SIZE(mmus); i++)
		if (offered(i))
			mask |= BIT(i);
	return mask;
}

int kvmx_mmu_init(struct kvmx_vm *vm)
{
	vm->mmu = mmus[ept ? KVMX_MMU_EPT : KVMX_MMU_SHADOW];
	return vm->mmu->init(vm);
}

int kvmx_mmu_choose(struct kvmx_vm *vm, u64 which)
{
	const struct kvmx_mmu_ops *ops;
	int r = 0;

	if (which >= ARRAY_SIZE(mmus))
		return kvmx_refuse(-EINVAL, "KVMX_CAP_MMU", "no MMU %llu", which);
	ops = mmus[which];
	if (!offered(which))
		return kvmx_refuse(-EOPNOTSUPP, "KVMX_CAP_MMU", "MMU %llu is not offered", which);
	mutex_lock(&vm->lock);
	if (vm->nr_vcpus) {
		r = kvmx_refuse(-EBUSY, "KVMX_CAP_MMU", "after the first vCPU");
	} else if (ops != vm->mmu) {
		/* No vCPU has run: the old MMU maps nothing a guest used. */
		r = ops->init(vm);
		if (!r) {
			vm->mmu->destroy(vm);
			vm->mmu = ops;
		}
	}
	mutex_unlock(&vm->lock);
	return r;
}

void kvmx_mmu_destroy(struct kvmx_vm *vm)
{
	vm->mmu->destroy(vm);
}

/*
 * mmio_spte_fast() with no help from the vCPU's last-MMIO cache:
 * walk the MMU's tables without its lock.  Returns 1 if the leaf is an
 * MMIO SPTE of generation @gen (then @f->gpa is set), -EAGAIN if the
 * normal path must look, 0 if the vCPU must stop (a misconfigured entry
 * that is not an MMIO SPTE).
 */
static noinline int mmio_spte_walk(struct kvmx_vcpu *vcpu, struct kvmx_page_fault *f)
{
	struct kvmx_vm *vm = vcpu->vm;
	u64 sptes[KVMX_MMU_MAX_LEVELS];
	int n, i, root_level;
	u64 gfn, gen;
	u32 access;

	n = vm->mmu->walk_lockless(vcpu, f->addr, sptes, &root_level);
	if (n < 1)
		return -EAGAIN;
	if (n == root_level && vm->mmu->mmio_spte(vm, f, sptes[n - 1], &gfn, &gen, &access)) {
		if (!kvmx_mmio_gen_valid(&vm->mmio, gen, f->gen)) {
			kvmx_stat_inc(vcpu, mmio_spte_stale);
			return -EAGAIN;
		}
		f->gfn = gfn;
		vcpu->last_mmio.valid = true;
		vcpu->last_mmio.addr = f->addr & PAGE_MASK;
		vcpu->last_mmio.gfn = f->gfn;
		vcpu->last_mmio.gen = f->gen;
		vcpu->last_mmio.access = access;
		return 1;
	}
	if (!f->rsvd || !vm->mmu->spte_rsvd(vm, sptes[n - 1]))
		return -EAGAIN;
	/*
	 * A misconfigured entry that is not an MMIO SPTE of this VM: kvmx
	 * wrote a bad entry, or something corrupted the tables.  Say what the
	 * walk saw and stop the vCPU; the host carries on (re-entering would
	 * loop on the same exit; KVM stops too).
	 */
	pr_err("vCPU %u: %s at %s 0x%llx that is not an MMIO SPTE\n", vcpu->id,
	       vm->mmu->rsvd_fault_name, vm->mmu->addr_name, f->addr);
	for (i = 0; i < n; i++)
		pr_err("  level %d SPTE 0x%016llx\n", root_level - i, sptes[i]);
	vcpu->run->exit_reason = KVM_EXIT_INTERNAL_ERROR;
	vcpu->run->internal.suberror = KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON;
	vcpu->run->internal.ndata = 2;
	vcpu->run->internal.data[0] = vcpu->exit_reason;
	vcpu->run->internal.data[1] = f->addr;
	return 0;
}

/*
 * Whether rights @access (KVMX_ACC_*) allow the access that faulted with
 * @error_code.  A supervisor write to a read-only page (allowed when
 * CR0.WP=0) is not: the normal path, which walks the guest's tables,
 * decides that one.
 */
static bool access_allowed(u32 access, u32 error_code)
{
	if ((error_code & KVMX_PFERR_W) && !(access & KVMX_ACC_W))
		return false;
	return !(error_code & KVMX_PFERR_U) || (access & KVMX_ACC_U);
}

/*
 * The MMIO fast path (seed 000): @f->addr is known to be MMIO without a
 * memslot search, from the vCPU's last-MMIO cache (the same page at the
 * same generation) or from a current MMIO SPTE found by a lockless walk;
 * the instruction is emulated at once.  Returns 1 or 0 (re-enter, or exit
 * to user space), or -EAGAIN when the normal path must resolve @f->addr
 * (no MMIO SPTE there, or a stale one).
 */
static __always_inline int mmio_spte_fast(struct kvmx_vcpu *vcpu, struct kvmx_page_fault *f)
{
	u64 gfn, gpa;
	int r;

	if (vcpu->last_mmio.valid && vcpu->last_mmio.addr == (f->addr & PAGE_MASK) &&
	    vcpu->last_mmio.gen == f->gen && !(f->gen & KVMX_MEMSLOT_GEN_UPDATE_IN_PROGRESS) &&
	    access_allowed(vcpu->last_mmio.access, f->error_code)) {
		gfn = vcpu->last_mmio.gfn;
	} else {
		r = mmio_spte_walk(vcpu, f);
		if (r != 1)
			return r;
		gfn = f->gfn;
	}
	/* In registers: nothing reads @f after a fast path that got this far. */
	gpa = (gfn << PAGE_SHIFT) | offset_in_page(f->addr);
	kvmx_stat_inc(vcpu, mmio_fast);
	trace_kvmx_mmio_fault(vcpu, gpa, true);
	/* Inline: no second frame on the way to user space. */
	return kvmx_mmio_fault_inline(vcpu, gpa, true, f->gen);
}

/* The normal path: the MMU resolves @f->addr. */
static int slow_fault(struct kvmx_vcpu *vcpu, struct kvmx_page_fault *f)
{
	vcpu->vm->mmu->page_fault(vcpu, f);
	switch (f->result) {
	case KVMX_FAULT_FIXED:
		kvmx_stat_inc(vcpu, pf_fixed);
		return 1;
	case KVMX_FAULT_MMIO:
		kvmx_stat_inc(vcpu, mmio_slow);
		trace_kvmx_mmio_fault(vcpu, f->gpa, false);
		return kvmx_mmio_fault(vcpu, f->gpa, true);
	case KVMX_FAULT_RO_WRITE:
		/* The emulator writes what lies in RAM there itself. */
		return kvmx_mmio_fault(vcpu, f->gpa, false);
	case KVMX_FAULT_EMULATE:
		/* A write to a shadowed guest page table: track_write() follows it. */
		return kvmx_emulate_pt_write(vcpu, f->addr, f->gpa, f->slot);
	case KVMX_FAULT_NOMEM:
		return -ENOMEM;
	case KVMX_FAULT_GUEST:
		kvmx_stat_inc(vcpu, pf_guest);
		return 1;
	case KVMX_FAULT_RETRY:
		return 1;
	case KVMX_FAULT_EXIT:
		return 0;
	default:
		return kvmx_refuse(-EFAULT, "KVM_RUN", "gpa 0x%llx: its slot's user memory is gone",
				   f->gpa);
	}
}

/*
 * The dirty-bitmap half of harvest_dirty, shared by the MMUs: move @slot's
 * dirty bits into @snapshot, clearing them, and call @wrprot for each
 * dirty gfn.  The caller holds its MMU's lock; returns whether any
 * @wrprot took a write permission away.
 */
bool kvmx_mmu_harvest_bits(struct kvmx_vm *vm, const struct kvmx_memslot *slot,
			   unsigned long *snapshot, bool (*wrprot)(struct kvmx_vm *vm, u64 gfn))
{
	u64 nlongs = kvmx_dirty_bitmap_bytes(slot->npages) / sizeof(long);
	bool flush = false;
	u64 i;

	for (i = 0; i < nlongs; i++) {
		unsigned long mask;
		unsigned int bit;

		if (!READ_ONCE(slot->dirty_bitmap[i]))
			continue;
		mask = xchg(&slot->dirty_bitmap[i], 0);
		snapshot[i] = mask;
		for_each_set_bit(bit, &mask, BITS_PER_LONG)
			flush |= wrprot(vm, slot->base_gfn + i * BITS_PER_LONG + bit);
	}
	return flush;
}

/*
 * vm->srcu is held from the decision "RAM or MMIO" to the end of the
 * emulation that follows it, so a memslot update, which waits for SRCU
 * readers before it returns, never returns while a vCPU is still acting
 * on what the old memslots said.
 */
static __always_inline int page_fault(struct kvmx_vcpu *vcpu, struct kvmx_page_fault *f)
{
	struct kvmx_vm *vm = vcpu->vm;
	int r = -EAGAIN, idx;

	f->write = f->error_code & KVMX_PFERR_W;
	f->rsvd = f->error_code & KVMX_PFERR_RSVD;
	idx = srcu_read_lock(&vm->srcu);
	f->gen = kvmx_memslot_gen(vm);
	/* A reserved-bit fault may come from an MMIO SPTE on every MMU: no call. */
	if (f->rsvd || vm->mmu->may_be_mmio_spte(vm, f))
		r = mmio_spte_fast(vcpu, f);
	/*
	 * A stale MMIO SPTE, or none: the normal path resolves the address
	 * again.  An EPT misconfiguration says nothing about the access; a
	 * write to a read-only slot made since then faults again, as a write.
	 */
	if (r == -EAGAIN)
		r = slow_fault(vcpu, f);
	srcu_read_unlock(&vm->srcu, idx);
	return r;
}

/*
 * The fault object here, not in the exit handlers: they tail-call this,
 * so an EPT misconfiguration or a shadow #PF (every cached MMIO exit)
 * has no frame of its own on the way.
 */
int kvmx_mmu_fault(struct kvmx_vcpu *vcpu, u64 addr, u32 error_code)
{
	struct kvmx_page_fault f = { .addr = addr, .error_code = error_code };

	return page_fault(vcpu, &f);
}
