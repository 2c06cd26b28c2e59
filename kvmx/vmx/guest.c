// SPDX-License-Identifier: GPL-2.0
/*
 * Guest memory as the kernel reaches it: by guest-physical address through
 * the memslots and the VMM's mapping (the caller runs in the VM owner's
 * process), and by guest linear address through the guest's page tables
 * (mmu/walk.c).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/mm.h>
#include <linux/uaccess.h>
#include <asm/cpufeature.h>
#include <asm/processor.h>

#include "vmx.h"
#include "vmcs.h"
#include "guest.h"
#include "../kvmx.h"
#include "../mmu/mmu.h"

/* Copies @len bytes (not crossing a page) at @gpa; 0 or -EFAULT. */
static int access_page(struct kvmx_vm *vm, u64 gpa, void *buf, unsigned int len, bool write)
{
	const struct kvmx_memslot *slot;
	unsigned long left;
	void __user *hva;
	int idx;

	idx = srcu_read_lock(&vm->srcu);
	slot = kvmx_gfn_to_slot(vm, gpa >> PAGE_SHIFT, write);
	if (!slot) {
		srcu_read_unlock(&vm->srcu, idx);
		return -EFAULT;
	}
	hva = (void __user *)(unsigned long)(kvmx_slot_hva(slot, gpa >> PAGE_SHIFT) +
					     offset_in_page(gpa));
	left = write ? copy_to_user(hva, buf, len) : copy_from_user(buf, hva, len);
	/* As KVM's mark_page_dirty(): a write by kvmx dirties the page too. */
	if (write && left < len)
		kvmx_mark_page_dirty(slot, gpa >> PAGE_SHIFT);
	srcu_read_unlock(&vm->srcu, idx);
	return left ? -EFAULT : 0;
}

static int access_gpa(struct kvmx_vm *vm, u64 gpa, void *buf, unsigned int len, bool write)
{
	while (len) {
		unsigned int chunk = min_t(unsigned int, len, PAGE_SIZE - offset_in_page(gpa));
		int ret = access_page(vm, gpa, buf, chunk, write);

		if (ret)
			return ret;
		gpa += chunk;
		buf += chunk;
		len -= chunk;
	}
	return 0;
}

int kvmx_read_guest(struct kvmx_vm *vm, u64 gpa, void *buf, unsigned int len)
{
	return access_gpa(vm, gpa, buf, len, false);
}

int kvmx_write_guest(struct kvmx_vm *vm, u64 gpa, const void *buf, unsigned int len)
{
	return access_gpa(vm, gpa, (void *)buf, len, true);
}

/*
 * A paging-structure entry (4 or 8 bytes, aligned: the walker reads no
 * other) with one __get_user(), the memslot's range having passed
 * access_ok() when it was made: no hardened-usercopy check, which cost
 * more than the rest of a level's read.
 */
static int walk_read(void *ctx, u64 gpa, unsigned int size, u64 *val)
{
	struct kvmx_vm *vm = ctx;
	const struct kvmx_memslot *slot;
	int idx, ret = -EFAULT;
	u64 hva;

	*val = 0;
	if ((size != 4 && size != 8) || (gpa & (size - 1)))
		return kvmx_read_guest(vm, gpa, val, size);
	idx = srcu_read_lock(&vm->srcu);
	slot = kvmx_gfn_to_slot(vm, gpa >> PAGE_SHIFT, false);
	if (slot) {
		hva = kvmx_slot_hva(slot, gpa >> PAGE_SHIFT) + offset_in_page(gpa);
		if (size == 8) {
			ret = __get_user(*val, (u64 __user *)(unsigned long)hva);
		} else {
			u32 v;

			ret = __get_user(v, (u32 __user *)(unsigned long)hva);
			*val = v;
		}
	}
	srcu_read_unlock(&vm->srcu, idx);
	return ret ? -EFAULT : 0;
}

static int walk_cmpxchg(void *ctx, u64 gpa, unsigned int size, u64 old, u64 new)
{
	struct kvmx_vm *vm = ctx;
	const struct kvmx_memslot *slot;
	int idx, ret = -EFAULT;
	u64 hva;

	idx = srcu_read_lock(&vm->srcu);
	slot = kvmx_gfn_to_slot(vm, gpa >> PAGE_SHIFT, true);
	if (!slot)
		goto out;
	hva = kvmx_slot_hva(slot, gpa >> PAGE_SHIFT) + offset_in_page(gpa);
	/* __try_cmpxchg_user(): 0 exchanged, 1 the entry changed, -EFAULT. */
	if (size == 8) {
		u64 __user *p = (u64 __user *)(unsigned long)hva;
		u64 expect = old;

		if (access_ok(p, sizeof(*p)))
			ret = __try_cmpxchg_user(p, &expect, new, cx64_fault);
	} else {
		u32 __user *p = (u32 __user *)(unsigned long)hva;
		u32 expect = old;

		if (access_ok(p, sizeof(*p)))
			ret = __try_cmpxchg_user(p, &expect, (u32)new, cx32_fault);
	}
	/* The walker set an A or D bit: the page-table page is dirty. */
	if (!ret)
		kvmx_mark_page_dirty(slot, gpa >> PAGE_SHIFT);
out:
	srcu_read_unlock(&vm->srcu, idx);
	return ret;
}

static const struct kvmx_walk_ops walk_ops = {
	.read = walk_read,
	.cmpxchg = walk_cmpxchg,
};

void kvmx_walk_cfg_read(struct kvmx_vcpu *vcpu, struct kvmx_walk_cfg *cfg)
{
	int i;

	*cfg = (struct kvmx_walk_cfg){
		.cr0 = kvmx_get_cr0(vcpu),
		.efer = vmcs_read(GUEST_IA32_EFER),
		.maxphyaddr = boot_cpu_data.x86_phys_bits,
		.gbpages = boot_cpu_has(X86_FEATURE_GBPAGES),
	};
	/* Without paging the walker needs nothing else: save the VMREADs. */
	if (!(cfg->cr0 & X86_CR0_PG))
		return;
	cfg->cr3 = kvmx_mmu_get_cr3(vcpu);
	cfg->cr4 = kvmx_get_cr4(vcpu);
	cfg->rflags = vmcs_read(GUEST_RFLAGS);
	cfg->cpl = kvmx_guest_cpl();
	if ((cfg->cr4 & X86_CR4_PAE) && !(cfg->efer & EFER_LMA))
		for (i = 0; i < 4; i++)
			cfg->pdptes[i] = vmcs_read(GUEST_PDPTR0 + 2 * i);
}

int kvmx_translate(struct kvmx_vcpu *vcpu, const struct kvmx_walk_cfg *cfg, u64 la,
		   u32 access, struct kvmx_walk_result *res)
{
	struct kvmx_walk_cfg now;

	if (!cfg) {
		kvmx_walk_cfg_read(vcpu, &now);
		cfg = &now;
	}
	return kvmx_walk(cfg, &walk_ops, vcpu->vm, la, access, res);
}

int kvmx_access_la(struct kvmx_vcpu *vcpu, const struct kvmx_walk_cfg *cfg, u64 la, void *buf,
		   unsigned int len, u32 access, struct kvmx_walk_result *res)
{
	struct kvmx_walk_cfg now;

	if (!cfg) {
		kvmx_walk_cfg_read(vcpu, &now);
		cfg = &now;
	}
	while (len) {
		unsigned int chunk = min_t(unsigned int, len, PAGE_SIZE - offset_in_page(la));
		int ret = kvmx_walk(cfg, &walk_ops, vcpu->vm, la, access, res);

		if (ret != KVMX_WALK_OK)
			return ret;
		if (access_gpa(vcpu->vm, res->gpa, buf, chunk, access & KVMX_WALK_WRITE))
			return KVMX_WALK_BAD_GPA;
		la += chunk;
		buf += chunk;
		len -= chunk;
	}
	return KVMX_WALK_OK;
}
