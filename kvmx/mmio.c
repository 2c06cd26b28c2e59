// SPDX-License-Identifier: GPL-2.0
/*
 * MMIO: emulating the instruction that touched guest-physical memory with
 * no RAM behind it, with KVM_EXIT_MMIO for each access that is not RAM.
 *
 * The emulator (emulate/) is restartable: a step that needs MMIO read data
 * stops, KVM_RUN returns with KVM_EXIT_MMIO, and when user space calls
 * KVM_RUN again the same instruction (the same bytes, kept in the vCPU) is
 * stepped again with the data answered from vcpu->mmio.  Registers are
 * committed only when a step completes.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kvm.h>
#include <linux/mm.h>
#include <asm/trapnr.h>

#include "kvmx.h"
#include "mmio.h"
#include "emulate/emulate.h"
#include "vmx/vmx.h"
#include "vmx/vmcs.h"
#include "vmx/guest.h"
#include "mmu/tdp.h"
#include "stats.h"
#include "trace.h"

static bool is_mmio_gpa(struct kvmx_vm *vm, u64 gpa, bool write)
{
	bool mmio;
	int idx;

	idx = srcu_read_lock(&vm->srcu);
	mmio = !kvmx_gfn_to_slot(vm, gpa >> PAGE_SHIFT, write);
	srcu_read_unlock(&vm->srcu, idx);
	return mmio;
}

static int walk_fault(int status, const struct kvmx_walk_result *res,
		      struct kvmx_emu_fault *fault)
{
	if (status != KVMX_WALK_PF) {
		/* The guest's page tables are not in RAM: nothing to emulate. */
		fault->vector = KVMX_EMU_UD_VECTOR;
		fault->error_code_valid = false;
		return KVMX_EMU_CB_FAULT;
	}
	fault->vector = PF_VECTOR;
	fault->error_code = res->error_code;
	fault->error_code_valid = true;
	fault->address = res->cr2;
	return KVMX_EMU_CB_FAULT;
}

static void exit_mmio(struct kvmx_vcpu *vcpu, const struct kvmx_mmio_frag *f, bool write)
{
	struct kvm_run *run = vcpu->run;

	run->exit_reason = KVM_EXIT_MMIO;
	run->mmio.phys_addr = f->gpa;
	run->mmio.len = f->len;
	run->mmio.is_write = write;
	memset(run->mmio.data, 0, sizeof(run->mmio.data));
	if (write)
		memcpy(run->mmio.data, f->data, f->len);
}

/*
 * Walks the (one or two) page fragments of [la, la + len): RAM fragments
 * are copied here, MMIO ones are answered from the cache (reads) or go to
 * user space.  Returns a KVMX_EMU_CB_* value.
 */
static int access(struct kvmx_vcpu *vcpu, u64 la, u8 *buf, unsigned int len, bool write,
		  struct kvmx_emu_fault *fault)
{
	struct kvmx_walk_result res;
	int i, status, nr_mmio = 0;

	for (i = 0; len; i++) {
		unsigned int n = min_t(unsigned int, len, PAGE_SIZE - offset_in_page(la));
		struct kvmx_mmio_frag *f;

		status = kvmx_translate(vcpu, &vcpu->mmio.walk, la, write ? KVMX_WALK_WRITE : 0,
					&res);
		if (status != KVMX_WALK_OK)
			return walk_fault(status, &res, fault);
		if (!(vcpu->mmio.known_mmio && res.gpa >> PAGE_SHIFT == vcpu->mmio.known_gfn) &&
		    !is_mmio_gpa(vcpu->vm, res.gpa, write)) {
			/* RAM: translated already, copy by guest-physical address. */
			if (write ? kvmx_write_guest(vcpu->vm, res.gpa, buf, n) :
				    kvmx_read_guest(vcpu->vm, res.gpa, buf, n))
				return walk_fault(KVMX_WALK_BAD_GPA, &res, fault);
		} else if (write) {
			f = nr_mmio++ ? &vcpu->mmio.write2 : &vcpu->mmio.asked;
			*f = (struct kvmx_mmio_frag){ .valid = true, .len = n, .gpa = res.gpa };
			memcpy(f->data, buf, n);
		} else {
			f = &vcpu->mmio.frag[i];
			if (!f->valid || f->gpa != res.gpa || f->len != n) {
				vcpu->mmio.asked = (struct kvmx_mmio_frag){
					.valid = true, .len = n, .gpa = res.gpa };
				vcpu->mmio.asked_idx = i;
				exit_mmio(vcpu, &vcpu->mmio.asked, false);
				return KVMX_EMU_CB_EXIT;
			}
			memcpy(buf, f->data, n);
		}
		la += n;
		buf += n;
		len -= n;
	}
	if (!nr_mmio)
		return KVMX_EMU_CB_CONTINUE;
	exit_mmio(vcpu, &vcpu->mmio.asked, true);
	return KVMX_EMU_CB_EXIT;
}

static int emu_read(void *opaque, u64 la, void *buf, unsigned int len,
		    struct kvmx_emu_fault *fault)
{
	return access(opaque, la, buf, len, false, fault);
}

static int emu_write(void *opaque, u64 la, const void *buf, unsigned int len,
		     struct kvmx_emu_fault *fault)
{
	return access(opaque, la, (void *)buf, len, true, fault);
}

static const struct kvmx_emu_ops emu_ops = {
	.read = emu_read,
	.write = emu_write,
};

static u8 emu_mode(void)
{
	u32 cs_ar = vmcs_read(GUEST_CS_AR_BYTES);

	if ((vmcs_read(GUEST_IA32_EFER) & EFER_LMA) && (cs_ar & VMX_AR_L))
		return KVMX_EMU_MODE_64;
	if ((kvmx_get_cr0() & X86_CR0_PE) && (cs_ar & VMX_AR_DB) &&
	    !(vmcs_read(GUEST_RFLAGS) & X86_EFLAGS_VM))
		return KVMX_EMU_MODE_32;
	return KVMX_EMU_MODE_16;
}

/* Fetches the instruction at CS:RIP into vcpu->mmio.insn. */
static int fetch(struct kvmx_vcpu *vcpu, u8 mode)
{
	u64 la = vmcs_read(GUEST_RIP);
	struct kvmx_walk_result res;
	unsigned int len = KVMX_EMU_MAX_INSN_LEN;
	int status;

	if (mode != KVMX_EMU_MODE_64)
		la = (u32)(la + vmcs_read(GUEST_CS_BASE));
	status = kvmx_access_la(vcpu, &vcpu->mmio.walk, la, vcpu->mmio.insn, len, KVMX_WALK_FETCH,
				&res);
	if (status != KVMX_WALK_OK) {
		/* The tail may lie on a page that is not there: take what is. */
		len = PAGE_SIZE - offset_in_page(la);
		if (len >= KVMX_EMU_MAX_INSN_LEN)
			return status == KVMX_WALK_PF ? -EFAULT : -EIO;
		status = kvmx_access_la(vcpu, &vcpu->mmio.walk, la, vcpu->mmio.insn, len,
					KVMX_WALK_FETCH, &res);
		if (status != KVMX_WALK_OK)
			return -EIO;
	}
	vcpu->mmio.insn_len = len;
	return 0;
}

/*
 * KVM_EXIT_INTERNAL_ERROR for an instruction kvmx cannot emulate, laid out
 * as KVM does: the instruction bytes when there are any (flags say so),
 * then the VM exit's information.
 */
static int emulation_failure(struct kvmx_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	u64 *info = &run->internal.data[3];

	kvmx_stat_inc(vcpu, insn_emulation_fail);
	run->exit_reason = KVM_EXIT_INTERNAL_ERROR;
	run->emulation_failure.suberror = KVM_INTERNAL_ERROR_EMULATION;
	run->emulation_failure.flags = vcpu->mmio.insn_len ?
		KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES : 0;
	run->emulation_failure.insn_size = vcpu->mmio.insn_len;
	memset(run->emulation_failure.insn_bytes, 0, sizeof(run->emulation_failure.insn_bytes));
	memcpy(run->emulation_failure.insn_bytes, vcpu->mmio.insn, vcpu->mmio.insn_len);
	info[0] = vcpu->exit_reason;
	info[1] = vcpu->exit_qual;
	info[2] = vmcs_read(GUEST_PHYSICAL_ADDRESS);
	info[3] = vcpu->exit_intr_info;
	info[4] = vcpu->last_cpu;
	run->emulation_failure.ndata = 8;
	return 0;
}

static int step(struct kvmx_vcpu *vcpu)
{
	struct kvmx_emu_ctxt *c = &vcpu->mmio.ctxt;
	int i, ret;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < KVMX_NR_REGS; i++)
		c->regs.gpr[i] = vcpu->regs[i];
	c->regs.gpr[KVMX_RSP] = vmcs_read(GUEST_RSP);
	c->regs.rip = vmcs_read(GUEST_RIP);
	c->regs.rflags = vmcs_read(GUEST_RFLAGS);
	for (i = 0; i < KVMX_EMU_NR_SEGS; i++)
		c->seg_base[i] = vmcs_read(VMCS_SEG_BASE(i));
	c->mode = vcpu->mmio.mode;
	c->la57 = kvmx_get_cr4() & X86_CR4_LA57;
	c->ops = &emu_ops;
	c->opaque = vcpu;
	c->insn_len = vcpu->mmio.insn_len;
	memcpy(c->insn_bytes, vcpu->mmio.insn, vcpu->mmio.insn_len);

	ret = kvmx_emu_step(c);
	switch (ret) {
	case KVMX_EMU_DONE:
	case KVMX_EMU_EXIT_WRITE:
		memset(vcpu->mmio.frag, 0, sizeof(vcpu->mmio.frag));
		if (vcpu->mmio.write2.valid)
			vcpu->pending_io = KVMX_IO_MMIO_WRITE2;
		for (i = 0; i < KVMX_NR_REGS; i++)
			vcpu->regs[i] = c->regs.gpr[i];
		vmcs_write(GUEST_RSP, c->regs.gpr[KVMX_RSP]);
		vmcs_write(GUEST_RIP, c->regs.rip);
		vmcs_write(GUEST_RFLAGS, c->regs.rflags);
		return ret == KVMX_EMU_DONE ? 1 : 0;
	case KVMX_EMU_EXIT_READ:
		vcpu->pending_io = KVMX_IO_MMIO_READ;
		return 0;
	case KVMX_EMU_FAULT:
		memset(vcpu->mmio.frag, 0, sizeof(vcpu->mmio.frag));
		vcpu->mmio.write2.valid = false;
		if (c->fault.vector == PF_VECTOR)
			vcpu->cr2 = c->fault.address;
		kvmx_queue_exception(vcpu, c->fault.vector, c->fault.error_code_valid,
				     c->fault.error_code);
		return 1;
	default:
		return emulation_failure(vcpu);
	}
}

int kvmx_mmio_fault(struct kvmx_vcpu *vcpu, u64 gpa, bool no_slot)
{
	int ret;

	kvmx_stat_inc(vcpu, insn_emulation);
	/* A gfn with no memslot is MMIO for every access: no lookup needed. */
	vcpu->mmio.known_mmio = no_slot;
	vcpu->mmio.known_gfn = gpa >> PAGE_SHIFT;
	vcpu->mmio.mode = emu_mode();
	kvmx_walk_cfg_read(vcpu, &vcpu->mmio.walk);
	memset(vcpu->mmio.frag, 0, sizeof(vcpu->mmio.frag));
	vcpu->mmio.write2.valid = false;
	ret = fetch(vcpu, vcpu->mmio.mode);
	if (ret) {
		vcpu->mmio.insn_len = 0;
		return emulation_failure(vcpu);
	}
	return step(vcpu);
}

int kvmx_complete_mmio_read(struct kvmx_vcpu *vcpu)
{
	struct kvmx_mmio_frag *asked = &vcpu->mmio.asked;
	struct kvmx_mmio_frag *f = &vcpu->mmio.frag[vcpu->mmio.asked_idx];

	*f = *asked;
	memcpy(f->data, vcpu->run->mmio.data, asked->len);
	/* User space may have changed the vCPU's state during the exit. */
	kvmx_walk_cfg_read(vcpu, &vcpu->mmio.walk);
	return step(vcpu);
}

int kvmx_complete_mmio_write2(struct kvmx_vcpu *vcpu)
{
	exit_mmio(vcpu, &vcpu->mmio.write2, true);
	vcpu->mmio.write2.valid = false;
	return 0;
}

/*
 * The MMIO fast path: an EPT misconfiguration (misconfig flavour), or an
 * EPT violation under the not-present flavour, on a gfn this vCPU or an
 * MMIO SPTE already knows to be MMIO.  No memslot is searched: the vCPU's
 * last-MMIO cache, or the SPTE found by a lockless walk, says so, if its
 * generation is the VM's current one.
 *
 * Returns 1 or 0 (re-enter, or exit to user space) when it handled the
 * fault, -EAGAIN when the normal fault path must resolve @gpa (no MMIO
 * SPTE there, or a stale one).
 */
int kvmx_mmio_spte_fault(struct kvmx_vcpu *vcpu, u64 gpa, bool misconfig)
{
	struct kvmx_vm *vm = vcpu->vm;
	u64 gfn = gpa >> PAGE_SHIFT;
	u64 sptes[KVMX_EPT_LEVELS];
	u64 gen = kvmx_memslot_gen(vm);
	int n, i;

	if (vcpu->last_mmio.valid && vcpu->last_mmio.gfn == gfn && vcpu->last_mmio.gen == gen &&
	    !(gen & KVMX_MEMSLOT_GEN_UPDATE_IN_PROGRESS))
		goto fast;

	n = kvmx_tdp_walk_lockless(&vm->tdp, gfn, sptes);
	if (n == KVMX_EPT_LEVELS && kvmx_spte_is_mmio(&vm->mmio, sptes[n - 1])) {
		if (!kvmx_mmio_gen_valid(&vm->mmio, kvmx_spte_mmio_gen(sptes[n - 1]), gen)) {
			kvmx_stat_inc(vcpu, mmio_spte_stale);
			return -EAGAIN;
		}
		vcpu->last_mmio.valid = true;
		vcpu->last_mmio.gfn = gfn;
		vcpu->last_mmio.gen = gen;
		goto fast;
	}
	if (!misconfig)
		return -EAGAIN;
	/*
	 * A misconfigured entry that is not an MMIO SPTE of this VM: kvmx
	 * wrote a bad entry, or something corrupted the EPT.  Say what the
	 * walk saw and stop the vCPU; the host carries on.  (If the entry
	 * changed since the exit, re-entering is harmless, but a real
	 * misconfiguration would loop; KVM stops too.)
	 */
	pr_err("vCPU %u: EPT misconfiguration at gpa 0x%llx that is not an MMIO SPTE\n",
	       vcpu->id, gpa);
	for (i = 0; i < n; i++)
		pr_err("  level %d SPTE 0x%016llx\n", KVMX_EPT_LEVELS - i, sptes[i]);
	vcpu->run->exit_reason = KVM_EXIT_INTERNAL_ERROR;
	vcpu->run->internal.suberror = KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON;
	vcpu->run->internal.ndata = 2;
	vcpu->run->internal.data[0] = vcpu->exit_reason;
	vcpu->run->internal.data[1] = gpa;
	return 0;
fast:
	kvmx_stat_inc(vcpu, mmio_fast);
	trace_kvmx_mmio_fault(vcpu, gpa, true);
	return kvmx_mmio_fault(vcpu, gpa, true);
}
