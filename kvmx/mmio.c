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

struct mmio_access {
	struct kvmx_vcpu *vcpu;
};

static bool is_mmio_gpa(struct kvmx_vm *vm, u64 gpa, bool write)
{
	const struct kvmx_memslot *slot;
	bool mmio;
	int idx;

	idx = srcu_read_lock(&vm->srcu);
	slot = kvmx_slots_find_gfn(srcu_dereference(vm->memslots, &vm->srcu), gpa >> PAGE_SHIFT);
	mmio = !slot || (write && (slot->flags & KVMX_MEM_READONLY));
	srcu_read_unlock(&vm->srcu, idx);
	return mmio;
}

static int to_emu_fault(int status, const struct kvmx_walk_result *res,
			struct kvmx_emu_fault *fault)
{
	if (status != KVMX_WALK_PF)
		return -1;
	fault->vector = PF_VECTOR;
	fault->error_code = res->error_code;
	fault->error_code_valid = true;
	fault->address = res->cr2;
	return KVMX_EMU_CB_FAULT;
}

/*
 * Translates [la, la + len) and says whether it is MMIO.  An access that
 * crosses into another page is split as KVM splits it: the part in RAM is
 * done here, and only an access wholly in one MMIO page goes to user space.
 */
static int translate(struct kvmx_vcpu *vcpu, u64 la, unsigned int len, bool write, u64 *gpa,
		     struct kvmx_emu_fault *fault)
{
	struct kvmx_walk_result res;
	int status;

	status = kvmx_translate(vcpu, la, write ? KVMX_WALK_WRITE : 0, &res);
	if (status != KVMX_WALK_OK)
		return to_emu_fault(status, &res, fault);
	*gpa = res.gpa;
	return 0;
}

static int emu_read(void *opaque, u64 la, void *buf, unsigned int len,
		    struct kvmx_emu_fault *fault)
{
	struct kvmx_vcpu *vcpu = opaque;
	struct kvmx_walk_result res;
	u64 gpa;
	int ret;

	ret = translate(vcpu, la, len, false, &gpa, fault);
	if (ret)
		return ret < 0 ? KVMX_EMU_CB_EXIT : ret;
	if (!is_mmio_gpa(vcpu->vm, gpa, false)) {
		ret = kvmx_access_la(vcpu, la, buf, len, 0, &res);
		return ret == KVMX_WALK_OK ? KVMX_EMU_CB_CONTINUE : to_emu_fault(ret, &res, fault);
	}
	if (vcpu->mmio.valid && vcpu->mmio.gpa == gpa && vcpu->mmio.len == len) {
		memcpy(buf, vcpu->mmio.data, len);
		vcpu->mmio.valid = false;
		return KVMX_EMU_CB_CONTINUE;
	}
	vcpu->run->exit_reason = KVM_EXIT_MMIO;
	vcpu->run->mmio.phys_addr = gpa;
	vcpu->run->mmio.len = len;
	vcpu->run->mmio.is_write = 0;
	memset(vcpu->run->mmio.data, 0, sizeof(vcpu->run->mmio.data));
	vcpu->mmio.gpa = gpa;
	vcpu->mmio.len = len;
	return KVMX_EMU_CB_EXIT;
}

static int emu_write(void *opaque, u64 la, const void *buf, unsigned int len,
		     struct kvmx_emu_fault *fault)
{
	struct kvmx_vcpu *vcpu = opaque;
	struct kvmx_walk_result res;
	u64 gpa;
	int ret;

	ret = translate(vcpu, la, len, true, &gpa, fault);
	if (ret)
		return ret < 0 ? KVMX_EMU_CB_EXIT : ret;
	if (!is_mmio_gpa(vcpu->vm, gpa, true)) {
		ret = kvmx_access_la(vcpu, la, (void *)buf, len, KVMX_WALK_WRITE, &res);
		return ret == KVMX_WALK_OK ? KVMX_EMU_CB_CONTINUE : to_emu_fault(ret, &res, fault);
	}
	vcpu->run->exit_reason = KVM_EXIT_MMIO;
	vcpu->run->mmio.phys_addr = gpa;
	vcpu->run->mmio.len = len;
	vcpu->run->mmio.is_write = 1;
	memset(vcpu->run->mmio.data, 0, sizeof(vcpu->run->mmio.data));
	memcpy(vcpu->run->mmio.data, buf, len);
	return KVMX_EMU_CB_EXIT;
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
	status = kvmx_access_la(vcpu, la, vcpu->mmio.insn, len, KVMX_WALK_FETCH, &res);
	if (status != KVMX_WALK_OK) {
		/* The tail may lie on a page that is not there: take what is. */
		len = PAGE_SIZE - offset_in_page(la);
		if (len >= KVMX_EMU_MAX_INSN_LEN)
			return status == KVMX_WALK_PF ? -EFAULT : -EIO;
		status = kvmx_access_la(vcpu, la, vcpu->mmio.insn, len, KVMX_WALK_FETCH, &res);
		if (status != KVMX_WALK_OK)
			return -EIO;
	}
	vcpu->mmio.insn_len = len;
	return 0;
}

static int emulation_failure(struct kvmx_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;

	kvmx_stat_inc(vcpu, insn_emulation_fail);
	run->exit_reason = KVM_EXIT_INTERNAL_ERROR;
	run->emulation_failure.suberror = KVM_INTERNAL_ERROR_EMULATION;
	run->emulation_failure.ndata = 3;
	run->emulation_failure.flags = KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES;
	run->emulation_failure.insn_size = vcpu->mmio.insn_len;
	memset(run->emulation_failure.insn_bytes, 0, sizeof(run->emulation_failure.insn_bytes));
	memcpy(run->emulation_failure.insn_bytes, vcpu->mmio.insn, vcpu->mmio.insn_len);
	vcpu->mmio.active = false;
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
		for (i = 0; i < KVMX_NR_REGS; i++)
			vcpu->regs[i] = c->regs.gpr[i];
		vmcs_write(GUEST_RSP, c->regs.gpr[KVMX_RSP]);
		vmcs_write(GUEST_RIP, c->regs.rip);
		vmcs_write(GUEST_RFLAGS, c->regs.rflags);
		vcpu->mmio.active = false;
		return ret == KVMX_EMU_DONE ? 1 : 0;
	case KVMX_EMU_EXIT_READ:
		vcpu->pending_io = KVMX_IO_MMIO_READ;
		return 0;
	case KVMX_EMU_FAULT:
		if (c->fault.vector == PF_VECTOR)
			vcpu->cr2 = c->fault.address;
		kvmx_queue_exception(vcpu, c->fault.vector, c->fault.error_code_valid,
				     c->fault.error_code);
		vcpu->mmio.active = false;
		return 1;
	default:
		return emulation_failure(vcpu);
	}
}

int kvmx_mmio_fault(struct kvmx_vcpu *vcpu, u64 gpa)
{
	int ret;

	kvmx_stat_inc(vcpu, insn_emulation);
	vcpu->mmio.mode = emu_mode();
	vcpu->mmio.valid = false;
	vcpu->mmio.active = true;
	ret = fetch(vcpu, vcpu->mmio.mode);
	if (ret) {
		vcpu->mmio.insn_len = 0;
		return emulation_failure(vcpu);
	}
	return step(vcpu);
}

int kvmx_complete_mmio_read(struct kvmx_vcpu *vcpu)
{
	memcpy(vcpu->mmio.data, vcpu->run->mmio.data, sizeof(vcpu->mmio.data));
	vcpu->mmio.valid = true;
	return step(vcpu);
}
