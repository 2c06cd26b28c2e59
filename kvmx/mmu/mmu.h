/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The MMU interface: the one set of calls the vCPU, exit, memslot and VM
 * code make, without knowing which MMU a VM has.  A VM's MMU is chosen
 * before its first vCPU (vm->mmu) and never changes after.  Two MMUs sit
 * behind it: the TDP MMU on EPT (tdp.c) and shadow paging (shadow.c).
 *
 * A fault travels through the fault path as one struct kvmx_page_fault,
 * modelled on KVM's struct kvm_page_fault: the exit fills in what the CPU
 * said, the MMU what it found and did, and kvmx_mmu_fault() acts on
 * the result (re-enter, emulate MMIO, or fail KVM_RUN).
 */
#ifndef KVMX_MMU_MMU_H
#define KVMX_MMU_MMU_H

#include "../kvmx.h"

/* The most entries a lockless walk reads on the way to a leaf. */
#define KVMX_MMU_MAX_LEVELS	4

/* What an MMU's fault handler found (struct kvmx_page_fault.result). */
enum kvmx_fault {
	KVMX_FAULT_FIXED,	/* mapped: re-enter the guest */
	KVMX_FAULT_MMIO,	/* no memslot there (now cached, if the VM caches) */
	KVMX_FAULT_RO_WRITE,	/* a write to a read-only slot: MMIO, not cached */
	KVMX_FAULT_EFAULT,	/* the slot's user memory is gone: -EFAULT */
	KVMX_FAULT_NOMEM,
	KVMX_FAULT_GUEST,	/* the guest's own #PF: injected into the guest */
	KVMX_FAULT_RETRY,	/* re-enter, nothing done (a race, or a zap) */
	KVMX_FAULT_EXIT,	/* exit to user space, vcpu->run filled in */
	KVMX_FAULT_EMULATE,	/* emulate the instruction (a write to a shadowed page table) */
};

struct kvmx_page_fault {
	/* What the exit said; const after kvmx_mmu_fault() starts. */
	u64 addr;		/* the faulting address: guest-physical on EPT, linear on shadow */
	u32 error_code;		/* KVMX_PFERR_*; RSVD: a misconfigured entry (EPT) */
	bool write;		/* from error_code */
	bool rsvd;		/* from error_code: the entry may be an MMIO SPTE */

	/* What the MMU found, under vm->srcu (held across the whole fault). */
	u64 gpa;		/* where the access goes */
	u64 gfn;
	u64 gen;		/* memslot generation the answer holds for */
	const struct kvmx_memslot *slot;	/* NULL: no memslot */
	enum kvmx_fault result;
};

/*
 * One MMU.  Every operation but init and destroy is called with the VM
 * alive; the fault-path ones on the vCPU's thread, under vm->srcu.
 */
struct kvmx_mmu_ops {
	const char *name;
	/* For dmesg: what a reserved-bit fault is, and what its address is. */
	const char *rsvd_fault_name;
	const char *addr_name;
	int (*init)(struct kvmx_vm *vm);
	/* Frees everything; no vCPU runs. */
	void (*destroy)(struct kvmx_vm *vm);
	/*
	 * Sets up a new vCPU's VMCS for this MMU (the VMCS is loaded): the
	 * controls it needs, the CR0/CR4 bits it owns, and a pointer to its
	 * tables.
	 */
	void (*load)(struct kvmx_vcpu *vcpu);
	/*
	 * Optional (NULL: nothing to do).  @vcpu_destroy: the vCPU goes.
	 * @reload: on the vCPU's thread before every entry, preemptible:
	 * make sure the VMCS points at tables for the guest's paging state
	 * now; returns 1 to enter, 0 to exit to user space (run filled in),
	 * or a negative errno.  @cr_changed: the guest's CR0, CR4 or EFER
	 * changed (the VMCS holds the new values).  @invlpg: the guest ran
	 * INVLPG on @la.
	 */
	void (*vcpu_destroy)(struct kvmx_vcpu *vcpu);
	int (*reload)(struct kvmx_vcpu *vcpu);
	void (*cr_changed)(struct kvmx_vcpu *vcpu);
	void (*invlpg)(struct kvmx_vcpu *vcpu, u64 la);
	/*
	 * Optional, for KVMX_FAULT_EMULATE.  @track_write: the emulator wrote
	 * @len bytes of RAM at @gpa (within one page), which may be a guest
	 * page table the MMU shadows (KVM's kvm_page_track_write()).
	 * @unprotect: the emulator cannot carry out a write to the guest page
	 * table at @gfn; stop shadowing it, so the guest's retry goes natively
	 * (KVM's kvm_mmu_unprotect_page()).  On the vCPU's thread.
	 */
	void (*track_write)(struct kvmx_vcpu *vcpu, u64 gpa, unsigned int len);
	void (*unprotect)(struct kvmx_vcpu *vcpu, u64 gfn);
	/* The guest's CR3, and a MOV to CR3 (the value is checked already). */
	u64 (*get_cr3)(struct kvmx_vcpu *vcpu);
	void (*set_cr3)(struct kvmx_vcpu *vcpu, u64 cr3);
	/*
	 * Whether @f may have come from an MMIO SPTE of the VM's flavour;
	 * true for every reserved-bit fault (the fault path does not ask).
	 */
	bool (*may_be_mmio_spte)(const struct kvmx_vm *vm, const struct kvmx_page_fault *f);
	/* The normal path: resolve @f->addr, fill in @f, set @f->result. */
	void (*page_fault)(struct kvmx_vcpu *vcpu, struct kvmx_page_fault *f);
	/*
	 * The entries on the way to @addr's leaf, read without the MMU's
	 * lock, from the root's level (*@root_level) down; returns how many
	 * (the last is a leaf if there are *@root_level).  The rule that makes
	 * it safe is written next to each MMU's walk.
	 */
	int (*walk_lockless)(struct kvmx_vcpu *vcpu, u64 addr,
			     u64 sptes[KVMX_MMU_MAX_LEVELS], int *root_level);
	/*
	 * Whether @spte, a leaf, is one of the VM's MMIO SPTEs that allows
	 * the access of @f; if so, the gfn, the generation bits and the
	 * guest's access rights (KVMX_ACC_*) it holds.  The MMIO fast path
	 * shared by every MMU knows no SPTE layout but through this.
	 */
	bool (*mmio_spte)(const struct kvmx_vm *vm, const struct kvmx_page_fault *f, u64 spte,
			  u64 *gfn, u64 *gen, u32 *access);
	/*
	 * Whether @spte, the last entry a lockless walk met for a
	 * reserved-bit fault, would still raise one.  If not, it changed
	 * since the exit (another CPU zapped it, or mapped RAM over a stale
	 * MMIO SPTE), and the normal path resolves the address again, as
	 * KVM's handle_mmio_page_fault() retries.
	 */
	bool (*spte_rsvd)(const struct kvmx_vm *vm, u64 spte);
	/* Drop the mappings of @npages gfns from @gfn; flush the TLBs. */
	void (*zap_gfns)(struct kvmx_vm *vm, u64 gfn, u64 npages);
	/* Drop every MMIO SPTE (the generation wraps); returns how many. */
	unsigned long (*zap_mmio)(struct kvmx_vm *vm);
	/* Dirty logging starts: take write permission from these gfns. */
	void (*write_protect)(struct kvmx_vm *vm, u64 gfn, u64 npages);
	/* KVM_GET_DIRTY_LOG: see kvmx_mmu_harvest_dirty(). */
	bool (*harvest_dirty)(struct kvmx_vm *vm, const struct kvmx_memslot *slot,
			      unsigned long *snapshot);
	/* KVMX_DEBUG_SET_SPTE: write a not-present @spte as @gfn's leaf. */
	int (*debug_set_spte)(struct kvmx_vm *vm, u64 gfn, u64 spte);
};

extern const struct kvmx_mmu_ops kvmx_tdp_mmu_ops;
extern const struct kvmx_mmu_ops kvmx_shadow_mmu_ops;

/* shadow.c: whether this host can run shadow VMs, and cache MMIO in them. */
bool kvmx_shadow_supported(void);
bool kvmx_tdp_params_valid(void);
bool kvmx_shadow_mmio_supported(void);
bool kvmx_shadow_bypass_default(void);
int kvmx_shadow_set_bypass(struct kvmx_vm *vm, u64 on);

/* KVM_CHECK_EXTENSION(KVMX_CAP_MMU): the MMUs offered, 1 << KVMX_MMU_*. */
u32 kvmx_mmus_offered(void);

/*
 * Sets up a new VM's MMU: EPT, or shadow paging when the module parameter
 * ept is off; undone by kvmx_mmu_destroy().
 */
int kvmx_mmu_init(struct kvmx_vm *vm);
void kvmx_mmu_destroy(struct kvmx_vm *vm);

/*
 * KVM_ENABLE_CAP(KVMX_CAP_MMU): @vm's MMU becomes KVMX_MMU_@which, before
 * its first vCPU (-EBUSY after); -EINVAL for an unknown number,
 * -EOPNOTSUPP for one this host does not offer.
 */
int kvmx_mmu_choose(struct kvmx_vm *vm, u64 which);

static inline void kvmx_mmu_load(struct kvmx_vcpu *vcpu)
{
	vcpu->vm->mmu->load(vcpu);
}

static inline void kvmx_mmu_vcpu_destroy(struct kvmx_vcpu *vcpu)
{
	if (vcpu->vm->mmu->vcpu_destroy)
		vcpu->vm->mmu->vcpu_destroy(vcpu);
}

static inline int kvmx_mmu_reload(struct kvmx_vcpu *vcpu)
{
	return vcpu->vm->mmu->reload ? vcpu->vm->mmu->reload(vcpu) : 1;
}

static inline void kvmx_mmu_cr_changed(struct kvmx_vcpu *vcpu)
{
	if (vcpu->vm->mmu->cr_changed)
		vcpu->vm->mmu->cr_changed(vcpu);
}

static inline void kvmx_mmu_invlpg(struct kvmx_vcpu *vcpu, u64 la)
{
	if (vcpu->vm->mmu->invlpg)
		vcpu->vm->mmu->invlpg(vcpu, la);
}

static inline void kvmx_mmu_track_write(struct kvmx_vcpu *vcpu, u64 gpa, unsigned int len)
{
	if (vcpu->vm->mmu->track_write)
		vcpu->vm->mmu->track_write(vcpu, gpa, len);
}

static inline void kvmx_mmu_unprotect(struct kvmx_vcpu *vcpu, u64 gfn)
{
	if (vcpu->vm->mmu->unprotect)
		vcpu->vm->mmu->unprotect(vcpu, gfn);
}

static inline u64 kvmx_mmu_get_cr3(struct kvmx_vcpu *vcpu)
{
	return vcpu->vm->mmu->get_cr3(vcpu);
}

static inline void kvmx_mmu_set_cr3(struct kvmx_vcpu *vcpu, u64 cr3)
{
	vcpu->vm->mmu->set_cr3(vcpu, cr3);
}

/*
 * A fault the MMU must look at (an EPT violation or misconfiguration, a
 * shadow VM's #PF) at @addr with @error_code (KVMX_PFERR_*): the MMIO
 * fast path if it may come from an MMIO SPTE, else the MMU's fault
 * handler, then MMIO emulation where it found no RAM; one fault object
 * carries it through.  Takes vm->srcu for the whole of it.  Returns 1 to
 * re-enter, 0 to exit to user space, or a negative errno for KVM_RUN.
 */
int kvmx_mmu_fault(struct kvmx_vcpu *vcpu, u64 addr, u32 error_code);

static inline void kvmx_mmu_zap_gfns(struct kvmx_vm *vm, u64 gfn, u64 npages)
{
	vm->mmu->zap_gfns(vm, gfn, npages);
}

static inline unsigned long kvmx_mmu_zap_mmio(struct kvmx_vm *vm)
{
	return vm->mmu->zap_mmio(vm);
}

static inline void kvmx_mmu_write_protect(struct kvmx_vm *vm, u64 gfn, u64 npages)
{
	vm->mmu->write_protect(vm, gfn, npages);
}

bool kvmx_mmu_harvest_bits(struct kvmx_vm *vm, const struct kvmx_memslot *slot,
			   unsigned long *snapshot, bool (*wrprot)(struct kvmx_vm *vm, u64 gfn));

/*
 * KVM_GET_DIRTY_LOG without manual protect: move @slot's dirty bits into
 * @snapshot (zeroed by the caller), clearing them, and write-protect the
 * pages that were dirty, flushing the TLBs if a mapping changed.  Returns
 * whether one did.  The caller holds vm->lock (the bitmap's owner).
 */
static inline bool kvmx_mmu_harvest_dirty(struct kvmx_vm *vm, const struct kvmx_memslot *slot,
					  unsigned long *snapshot)
{
	return vm->mmu->harvest_dirty(vm, slot, snapshot);
}

static inline int kvmx_mmu_debug_set_spte(struct kvmx_vm *vm, u64 gfn, u64 spte)
{
	return vm->mmu->debug_set_spte(vm, gfn, spte);
}

#endif /* KVMX_MMU_MMU_H */
