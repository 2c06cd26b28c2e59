/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The cached MMIO fast path, inline: an MMIO exit whose instruction the
 * decoded-instruction cache holds, a MOV, goes to user space from here
 * without the emulator.  It is most of what every cached MMIO round trip
 * costs, so the MMU's fault path (mmu/mmu.c) inlines it where it has just
 * found a current MMIO SPTE, and mmio.c for everything else (through
 * kvmx_mmio_fault()).  The rest of the MMIO path is in mmio.c.
 */
#ifndef KVMX_MMIO_FAST_H
#define KVMX_MMIO_FAST_H

#include "kvmx.h"
#include "insn_cache.h"
#include "emulate/emulate.h"
#include "vmx/vmx.h"
#include "vmx/vmcs.h"
#include "mmu/mmu.h"
#include "irq/irq.h"
#include "stats.h"

/* mmio.c: the parts of the path that are not fast. */
int kvmx_mmio_delivery_failure(struct kvmx_vcpu *vcpu, u64 gpa);
int kvmx_mmio_emulate(struct kvmx_vcpu *vcpu, u64 gpa, const struct kvmx_emu_insn *cached);
int kvmx_mmio_fast_load(struct kvmx_vcpu *vcpu, const struct kvmx_emu_insn *insn, u64 gpa);
bool kvmx_mmio_fast_ioeventfd(struct kvmx_vm *vm, u64 gpa, unsigned int len, u64 val);

static __always_inline u8 kvmx_mmio_emu_mode(u64 cr0, u64 efer)
{
	u32 cs_ar = vmcs_read(GUEST_CS_AR_BYTES);

	if ((efer & EFER_LMA) && (cs_ar & VMX_AR_L))
		return KVMX_EMU_MODE_64;
	/*
	 * No need to look at RFLAGS.VM: in virtual-8086 mode CS's access
	 * rights are 0xf3 (VM entry checks it, and v86 segment loads keep
	 * it), so D/B is clear there and the mode is 16-bit either way.
	 */
	if ((cr0 & X86_CR0_PE) && (cs_ar & VMX_AR_DB))
		return KVMX_EMU_MODE_32;
	return KVMX_EMU_MODE_16;
}

/* The instruction cache's key for CS:RIP now, the emulator's mode included. */
static __always_inline void kvmx_mmio_key_read(struct kvmx_vcpu *vcpu, struct kvmx_insn_key *key,
					       u64 gen)
{
	/*
	 * The guest's view (the read shadows where kvmx owns a bit): under
	 * shadow paging the CPU's CR0, CR3 and CR4 are kvmx's.
	 */
	u64 cr0 = kvmx_get_cr0(vcpu), efer = vmcs_read(GUEST_IA32_EFER);
	u64 cr4, rip, cs_base, cr3 = 0, pdpte = 0;
	u32 paging = 0;

	rip = vmcs_read(GUEST_RIP);
	cs_base = vmcs_read(GUEST_CS_BASE);
	key->rip = rip;
	key->cs_base = cs_base;
	key->gen = gen;
	key->mode = kvmx_mmio_emu_mode(cr0, efer);
	if (cr0 & X86_CR0_PG) {
		cr4 = kvmx_get_cr4(vcpu);
		paging = X86_CR0_PG | (cr4 & (X86_CR4_PSE | X86_CR4_PAE | X86_CR4_LA57)) |
			 (efer & EFER_LMA);
		cr3 = kvmx_mmu_get_cr3(vcpu);
		if ((cr4 & X86_CR4_PAE) && !(efer & EFER_LMA))
			pdpte = vmcs_read(GUEST_PDPTR0 + 2 * (((u32)(rip + cs_base) >> 30) & 3));
	}
	key->paging = paging;
	key->cr3 = cr3;
	key->pdpte = pdpte;
}

/*
 * Whether the exit's @gpa is the access of the decoded instruction, whose
 * operand is at @la: true for one memory operand within one page at the
 * same page offset.  The exit then gave that access's translation.  (An
 * exit during event delivery, whose access is not the instruction's, never
 * gets here.)
 */
static __always_inline bool kvmx_mmio_gpa_is_operand(const struct kvmx_emu_insn *insn, u64 la,
						     u64 gpa)
{
	return insn->dir != KVMX_EMU_DIR_COPY && offset_in_page(la) == offset_in_page(gpa) &&
	       offset_in_page(la) + insn->mem_bytes <= PAGE_SIZE;
}

/* The linear address of @insn's memory operand (a MOV's: no string). */
static __always_inline u64 kvmx_mmio_operand_la(struct kvmx_vcpu *vcpu,
						const struct kvmx_insn_key *key,
						const struct kvmx_emu_insn *insn)
{
	u64 *gpr = vcpu->regs;
	u64 la;

	gpr[KVMX_RSP] = vmcs_read(GUEST_RSP);
	la = kvmx_emu_ea(insn, gpr, key->rip);
	/* A 64-bit guest's segments other than FS and GS have base 0. */
	if (key->mode != KVMX_EMU_MODE_64 || insn->seg >= KVMX_EMU_SEG_FS)
		la = kvmx_emu_linear(key->mode, insn->seg, vmcs_read(VMCS_SEG_BASE(insn->seg)),
				     la);
	return la;
}

/*
 * The fast path: a MOV, MOVZX or MOVSX from the instruction cache whose
 * one access lies in the exit's page, which has no memslot (the caller
 * checks).  It works on
 * the vCPU's own registers, without the emulator's context, and with the
 * emulator's semantics (kvmx_emu_mov_*()): a store goes to kvm_run at once;
 * a load's register is written when user space answers.  -EAGAIN: not a
 * case it covers.
 */
static __always_inline int kvmx_mmio_fast_mov(struct kvmx_vcpu *vcpu,
					      const struct kvmx_insn_key *key,
					      const struct kvmx_emu_insn *insn, u64 gpa)
{
	struct kvm_run *run = vcpu->run;
	u64 *gpr = vcpu->regs;
	u64 la, val;

	if (!kvmx_emu_is_mov(insn))
		return -EAGAIN;
	la = kvmx_mmio_operand_la(vcpu, key, insn);
	/* kvmx_mmio_gpa_is_operand(), a MOV being no string instruction. */
	if (offset_in_page(la) != offset_in_page(gpa) ||
	    offset_in_page(la) + insn->mem_bytes > PAGE_SIZE)
		return -EAGAIN;
	if (insn->dir != KVMX_EMU_DIR_WRITE)
		return kvmx_mmio_fast_load(vcpu, insn, gpa);

	val = kvmx_emu_mov_store_value(insn, gpr);
	kvmx_set_next_rip(kvmx_emu_next_rip(key->mode, key->rip, insn));
	/* An ioeventfd takes it: done, and the guest goes on. */
	if (rcu_access_pointer(vcpu->vm->iobus[KVMX_IOBUS_MMIO]) &&
	    kvmx_mmio_fast_ioeventfd(vcpu->vm, gpa, insn->mem_bytes, val))
		return 1;
	run->exit_reason = KVM_EXIT_MMIO;
	run->mmio.phys_addr = gpa;
	run->mmio.len = insn->mem_bytes;
	run->mmio.is_write = 1;
	memcpy(run->mmio.data, &val, sizeof(val));
	return 0;
}

/* kvmx_mmio_fault(), inline: see there (mmio.h); @gen is the memslot generation. */
static __always_inline int kvmx_mmio_fault_inline(struct kvmx_vcpu *vcpu, u64 gpa,
						  bool no_slot, u64 gen)
{
	struct kvmx_insn_key *key = &vcpu->mmio.key;
	const struct kvmx_emu_insn *cached;
	int ret;

	if (vcpu->reinject_info & INTR_INFO_VALID)
		return kvmx_mmio_delivery_failure(vcpu, gpa);
	kvmx_stat_inc(vcpu, insn_emulation);
	kvmx_mmio_key_read(vcpu, key, gen);
	cached = kvmx_insn_cache_lookup(&vcpu->insn_cache, key);
	if (cached) {
		kvmx_stat_inc(vcpu, insn_cache_hit);
		/*
		 * The fast path, for a gfn with no memslot (not a read-only
		 * slot's), exits to user space: not for in-kernel devices.
		 */
		ret = !no_slot || (vcpu->apic && kvmx_irq_mmio_claims(vcpu, gpa)) ? -EAGAIN :
		      kvmx_mmio_fast_mov(vcpu, key, cached, gpa);
		if (ret != -EAGAIN)
			return ret;
	}
	/* A gfn with no memslot is MMIO for every access: no lookup needed. */
	vcpu->mmio.known_mmio = no_slot;
	vcpu->mmio.known_gfn = gpa >> PAGE_SHIFT;
	return kvmx_mmio_emulate(vcpu, gpa, cached);
}

#endif /* KVMX_MMIO_FAST_H */
