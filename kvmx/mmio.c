// SPDX-License-Identifier: GPL-2.0
/*
 * MMIO: emulating the instruction that touched guest-physical memory with
 * no RAM behind it, with KVM_EXIT_MMIO for each access that is not RAM.
 *
 * The emulator (emulate/) is restartable: a step that needs MMIO read data
 * stops, KVM_RUN returns with KVM_EXIT_MMIO, and when user space calls
 * KVM_RUN again the same instruction (the same decode, kept in the vCPU) is
 * executed again with the data answered from vcpu->mmio.  Registers are
 * committed only when a step completes.
 *
 * The instruction comes from the vCPU's decoded-instruction cache when it
 * was emulated before (insn_cache.c), else it is fetched and decoded.  Its
 * memory operand needs no page walk when the exit's guest-physical address
 * is known to be that operand's (see known_la in struct kvmx_vcpu).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kvm.h>
#include <linux/mm.h>
#include <asm/trapnr.h>

#include "kvmx.h"
#include "insn_cache.h"
#include "mmio.h"
#include "mmio_fast.h"
#include "emulate/emulate.h"
#include "vmx/vmx.h"
#include "vmx/vmcs.h"
#include "vmx/guest.h"
#include "stats.h"
#include "trace.h"
#include "mmu/mmu.h"
#include "irq/irq.h"

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
	struct kvmx_mmio_frag wr[2];
	struct kvmx_walk_result res;
	int i, status, nr_mmio = 0, nr_out = 0;

	for (i = 0; len; i++) {
		unsigned int n = min_t(unsigned int, len, PAGE_SIZE - offset_in_page(la));
		struct kvmx_mmio_frag *f;

		if (vcpu->mmio.known_la_valid && (la & PAGE_MASK) == vcpu->mmio.known_la) {
			res.gpa = vcpu->mmio.known_gpa | offset_in_page(la);
		} else {
			status = kvmx_translate(vcpu, &vcpu->mmio.walk, la,
						write ? KVMX_WALK_WRITE : 0, &res);
			if (status != KVMX_WALK_OK)
				return walk_fault(status, &res, fault);
		}
		if (!(vcpu->mmio.known_mmio && res.gpa >> PAGE_SHIFT == vcpu->mmio.known_gfn) &&
		    !is_mmio_gpa(vcpu->vm, res.gpa, write)) {
			/* RAM: translated already, copy by guest-physical address. */
			if (write ? kvmx_write_guest(vcpu->vm, res.gpa, buf, n) :
				    kvmx_read_guest(vcpu->vm, res.gpa, buf, n))
				return walk_fault(KVMX_WALK_BAD_GPA, &res, fault);
			if (write)
				kvmx_mmu_track_write(vcpu, res.gpa, n);
		} else if (vcpu->apic && kvmx_irq_mmio(vcpu, res.gpa, buf, n, write)) {
			/* The in-kernel LAPIC or IOAPIC answered. */
		} else if (write) {
			f = &wr[nr_mmio++];
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
	/*
	 * MMIO write fragments, once every fragment is translated (so a fault
	 * on the second page signals nothing): an ioeventfd takes a fragment
	 * in the kernel; the others go to user space, one exit each.
	 */
	for (i = 0; i < nr_mmio; i++) {
		if (kvmx_ioeventfd_write(vcpu->vm, KVMX_IOBUS_MMIO, wr[i].gpa, wr[i].len,
					 wr[i].data))
			continue;
		*(nr_out++ ? &vcpu->mmio.write2 : &vcpu->mmio.asked) = wr[i];
	}
	if (!nr_out)
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

/*
 * Writes @new_val over @old at @hva (user memory) atomically: 0 exchanged,
 * 1 the memory no longer held @old, -EFAULT.
 */
static int cmpxchg_user(u64 hva, const void *old, const void *new_val, unsigned int len)
{
	void __user *p = (void __user *)(unsigned long)hva;
	int ret = -EFAULT;

	if (!access_ok(p, len))
		return -EFAULT;
/* One size @t: a copy of *@old, and a fault label of its own per use. */
#define TRY_CMPXCHG_USER(t, label) ({					\
	typeof(t) o = *(const typeof(t) *)old;				\
	__try_cmpxchg_user((typeof(t) __user *)p, &o, *(const typeof(t) *)new_val, label); \
})
	switch (len) {
	case 1:
		ret = TRY_CMPXCHG_USER(u8, cx1_fault);
		break;
	case 2:
		ret = TRY_CMPXCHG_USER(u16, cx2_fault);
		break;
	case 4:
		ret = TRY_CMPXCHG_USER(u32, cx4_fault);
		break;
	case 8:
		ret = TRY_CMPXCHG_USER(u64, cx8_fault);
		break;
	}
#undef TRY_CMPXCHG_USER
	return ret;
}

/*
 * The write of a LOCKed instruction (KVM's emulator_cmpxchg_emulated()):
 * a cmpxchg on the RAM behind @la, so a vCPU emulating a write to a guest
 * page table does not undo another's (or the walker's A/D bits).  An
 * access that crosses a page, is MMIO, or is 16 bytes (CMPXCHG16B) is a
 * plain write, as in KVM.
 */
static int emu_cmpxchg(void *opaque, u64 la, const void *old, const void *buf,
		       unsigned int len, struct kvmx_emu_fault *fault)
{
	struct kvmx_vcpu *vcpu = opaque;
	struct kvmx_vm *vm = vcpu->vm;
	const struct kvmx_memslot *slot;
	struct kvmx_walk_result res;
	int status, ret, idx;
	u64 gfn;

	if (len > 8 || offset_in_page(la) + len > PAGE_SIZE)
		return access(vcpu, la, (void *)buf, len, true, fault);
	if (vcpu->mmio.known_la_valid && (la & PAGE_MASK) == vcpu->mmio.known_la) {
		res.gpa = vcpu->mmio.known_gpa | offset_in_page(la);
	} else {
		status = kvmx_translate(vcpu, &vcpu->mmio.walk, la, KVMX_WALK_WRITE, &res);
		if (status != KVMX_WALK_OK)
			return walk_fault(status, &res, fault);
	}
	gfn = res.gpa >> PAGE_SHIFT;
	idx = srcu_read_lock(&vm->srcu);
	slot = vcpu->mmio.known_mmio && gfn == vcpu->mmio.known_gfn ? NULL :
	       kvmx_gfn_to_slot(vm, gfn, true);
	if (!slot) {
		srcu_read_unlock(&vm->srcu, idx);
		return access(vcpu, la, (void *)buf, len, true, fault);
	}
	ret = cmpxchg_user(kvmx_slot_hva(slot, gfn) + offset_in_page(res.gpa), old, buf, len);
	if (!ret)
		kvmx_mark_page_dirty(slot, gfn);
	srcu_read_unlock(&vm->srcu, idx);
	if (ret < 0)
		return walk_fault(KVMX_WALK_BAD_GPA, &res, fault);
	if (ret)
		return KVMX_EMU_CB_RETRY;
	kvmx_mmu_track_write(vcpu, res.gpa, len);
	return KVMX_EMU_CB_CONTINUE;
}

static const struct kvmx_emu_ops emu_ops = {
	.read = emu_read,
	.write = emu_write,
	.cmpxchg = emu_cmpxchg,
};

/*
 * Fetches the instruction at CS:RIP (@key) into the emulator's context; @res
 * gets the translation of its first byte.
 */
static int fetch(struct kvmx_vcpu *vcpu, const struct kvmx_insn_key *key,
		 struct kvmx_walk_result *res)
{
	u64 la = key->rip;
	unsigned int len = KVMX_EMU_MAX_INSN_LEN;
	struct kvmx_emu_ctxt *c = &vcpu->mmio.ctxt;
	struct kvmx_walk_result tail;
	unsigned int first;

	c->insn_len = 0;
	if (key->mode != KVMX_EMU_MODE_64)
		la = (u32)(la + key->cs_base);
	if (kvmx_translate(vcpu, &vcpu->mmio.walk, la, KVMX_WALK_FETCH, res) != KVMX_WALK_OK)
		return -EFAULT;
	first = min_t(unsigned int, len, PAGE_SIZE - offset_in_page(la));
	if (kvmx_read_guest(vcpu->vm, res->gpa, c->insn_bytes, first))
		return -EIO;
	/* The tail may lie on a page that is not there: take what is. */
	if (first < len &&
	    (kvmx_translate(vcpu, &vcpu->mmio.walk, la + first, KVMX_WALK_FETCH, &tail) !=
	     KVMX_WALK_OK ||
	     kvmx_read_guest(vcpu->vm, tail.gpa, c->insn_bytes + first, len - first)))
		len = first;
	c->insn_len = len;
	return 0;
}

/*
 * KVM_EXIT_INTERNAL_ERROR for an instruction kvmx cannot emulate, laid out
 * as KVM does: the instruction bytes when there are any (flags say so),
 * then the VM exit's information.  Returns 1 when the guest goes on (with
 * #UD) instead.
 */
static int emulation_failure(struct kvmx_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	const struct kvmx_emu_ctxt *c = &vcpu->mmio.ctxt;
	u64 *info = &run->internal.data[3];
	struct kvmx_walk_result res;

	kvmx_stat_inc(vcpu, insn_emulation_fail);
	/*
	 * As KVM 6.1's handle_emulation_failure(): unless user space asked
	 * for the exit alone (KVM_CAP_EXIT_ON_EMULATION_FAILURE), the guest
	 * gets #UD, and only a failure at CPL 0 also exits to user space.
	 */
	if (!READ_ONCE(vcpu->vm->exit_on_emulation_error)) {
		kvmx_queue_exception(vcpu, UD_VECTOR, false, 0);
		if (kvmx_guest_cpl())
			return 1;
	}
	/* An instruction from the cache was not fetched: fetch it to show it. */
	if (!c->insn_len)
		fetch(vcpu, &vcpu->mmio.key, &res);
	run->exit_reason = KVM_EXIT_INTERNAL_ERROR;
	run->emulation_failure.suberror = KVM_INTERNAL_ERROR_EMULATION;
	run->emulation_failure.flags = c->insn_len ?
		KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES : 0;
	run->emulation_failure.insn_size = c->insn_len;
	memset(run->emulation_failure.insn_bytes, 0, sizeof(run->emulation_failure.insn_bytes));
	memcpy(run->emulation_failure.insn_bytes, c->insn_bytes, c->insn_len);
	info[0] = vcpu->exit_reason;
	info[1] = vcpu->exit_qual;
	info[2] = vmcs_read(GUEST_PHYSICAL_ADDRESS);
	info[3] = vcpu->exit_intr_info;
	info[4] = vcpu->last_cpu;
	run->emulation_failure.ndata = 8;
	return 0;
}

/*
 * The emulator cannot run the instruction.  For a write to a shadowed
 * guest page table, the page is unprotected and the guest runs the
 * instruction again natively (KVM's reexecute_instruction()), unless that
 * was tried for this RIP and gpa already (its own translation goes
 * through the page, which shadowing it protects again): then, as for
 * MMIO, an emulation failure.
 */
static int cannot_emulate(struct kvmx_vcpu *vcpu)
{
	u64 rip = vcpu->mmio.key.rip, gpa = vcpu->mmio.known_gpa;

	if (vcpu->mmio.pt_write && !(vcpu->mmio.retried && vcpu->mmio.retry_rip == rip &&
				     vcpu->mmio.retry_gpa == gpa)) {
		vcpu->mmio.retried = true;
		vcpu->mmio.retry_rip = rip;
		vcpu->mmio.retry_gpa = gpa;
		kvmx_mmu_unprotect(vcpu, gpa >> PAGE_SHIFT);
		memset(vcpu->mmio.frag, 0, sizeof(vcpu->mmio.frag));
		vcpu->mmio.write2.valid = false;
		return 1;
	}
	return emulation_failure(vcpu);
}

/* Queues the exception of a KVMX_EMU_FAULT; the instruction is abandoned. */
static int inject_fault(struct kvmx_vcpu *vcpu)
{
	const struct kvmx_emu_fault *f = &vcpu->mmio.ctxt.fault;

	memset(vcpu->mmio.frag, 0, sizeof(vcpu->mmio.frag));
	vcpu->mmio.write2.valid = false;
	if (f->vector == PF_VECTOR)
		vcpu->cr2 = f->address;
	kvmx_queue_exception(vcpu, f->vector, f->error_code_valid, f->error_code);
	return 1;
}

/* The emulator's view of the vCPU; the instruction is not touched. */
static void load_ctxt(struct kvmx_vcpu *vcpu)
{
	struct kvmx_emu_ctxt *c = &vcpu->mmio.ctxt;
	int i;

	for (i = 0; i < KVMX_NR_REGS; i++)
		c->regs.gpr[i] = vcpu->regs[i];
	c->regs.gpr[KVMX_RSP] = vmcs_read(GUEST_RSP);
	c->regs.rip = vmcs_read(GUEST_RIP);
	c->regs.rflags = vmcs_read(GUEST_RFLAGS);
	for (i = 0; i < KVMX_EMU_NR_SEGS; i++)
		c->seg_base[i] = vmcs_read(VMCS_SEG_BASE(i));
	c->mode = vcpu->mmio.key.mode;
	c->la57 = vcpu->mmio.walk.cr4 & X86_CR4_LA57;
	c->ops = &emu_ops;
	c->opaque = vcpu;
}

/* Executes vcpu->mmio.ctxt.insn, addressed, and acts on the result. */
static int execute(struct kvmx_vcpu *vcpu)
{
	struct kvmx_emu_ctxt *c = &vcpu->mmio.ctxt;
	int i, ret;

	ret = kvmx_emu_execute(c);
	switch (ret) {
	case KVMX_EMU_DONE:
	case KVMX_EMU_EXIT_WRITE:
		vcpu->mmio.retried = false;
		memset(vcpu->mmio.frag, 0, sizeof(vcpu->mmio.frag));
		if (vcpu->mmio.write2.valid)
			vcpu->pending_io = KVMX_IO_MMIO_WRITE2;
		for (i = 0; i < KVMX_NR_REGS; i++)
			vcpu->regs[i] = c->regs.gpr[i];
		vmcs_write(GUEST_RSP, c->regs.gpr[KVMX_RSP]);
		if (!c->rep_more)
			kvmx_set_next_rip(c->regs.rip);
		vmcs_write(GUEST_RFLAGS, c->regs.rflags);
		return ret == KVMX_EMU_DONE ? 1 : 0;
	case KVMX_EMU_EXIT_READ:
		vcpu->pending_io = KVMX_IO_MMIO_READ;
		return 0;
	case KVMX_EMU_FAULT:
		return inject_fault(vcpu);
	case KVMX_EMU_RETRY:
		/* A LOCKed write lost a race: nothing done, the guest runs it again. */
		memset(vcpu->mmio.frag, 0, sizeof(vcpu->mmio.frag));
		vcpu->mmio.write2.valid = false;
		return 1;
	default:
		return cannot_emulate(vcpu);
	}
}

/*
 * The instruction at CS:RIP into the context, decoded and addressed: from
 * the cache (@cached), or fetched and decoded, and then cached.
 */
static int decode(struct kvmx_vcpu *vcpu, const struct kvmx_insn_key *key,
		  const struct kvmx_emu_insn *cached)
{
	struct kvmx_emu_ctxt *c = &vcpu->mmio.ctxt;
	struct kvmx_walk_result res;
	int ret;

	if (cached) {
		c->insn = *cached;
		c->insn_len = 0;	/* not fetched */
		kvmx_emu_address(c, &c->insn);
		return KVMX_EMU_DONE;
	}
	if (fetch(vcpu, key, &res))
		return KVMX_EMU_UNHANDLEABLE;
	ret = kvmx_emu_decode(c, &c->insn);
	if (ret == KVMX_EMU_DONE)
		kvmx_insn_cache_fill(vcpu, key, &res, c->insn_bytes, &c->insn);
	return ret;
}

/*
 * kvmx_ioeventfd_write() for kvmx_mmio_fast_mov()'s store, out of line: the copy of
 * @val it needs in memory would otherwise put a stack canary on every
 * cached MMIO exit, ioeventfd or not.
 */
noinline bool kvmx_mmio_fast_ioeventfd(struct kvmx_vm *vm, u64 gpa, unsigned int len, u64 val)
{
	return __kvmx_ioeventfd_write(vm, KVMX_IOBUS_MMIO, gpa, len, &val);
}

/* kvmx_mmio_fast_mov()'s load: asks user space; complete_fast_read() finishes it. */
noinline int kvmx_mmio_fast_load(struct kvmx_vcpu *vcpu, const struct kvmx_emu_insn *insn,
				  u64 gpa)
{
	struct kvm_run *run = vcpu->run;

	run->exit_reason = KVM_EXIT_MMIO;
	run->mmio.phys_addr = gpa;
	run->mmio.len = insn->mem_bytes;
	run->mmio.is_write = 0;
	memset(run->mmio.data, 0, sizeof(run->mmio.data));
	vcpu->mmio.ctxt.insn = *insn;
	vcpu->mmio.fast_read = true;
	vcpu->pending_io = KVMX_IO_MMIO_READ;
	return 0;
}

/* User space answered a kvmx_mmio_fast_mov() load. */
static int complete_fast_read(struct kvmx_vcpu *vcpu)
{
	const struct kvmx_emu_insn *insn = &vcpu->mmio.ctxt.insn;
	u64 val = 0;

	vcpu->mmio.fast_read = false;
	memcpy(&val, vcpu->run->mmio.data, insn->mem_bytes);
	vcpu->regs[KVMX_RSP] = vmcs_read(GUEST_RSP);
	kvmx_emu_mov_load(insn, vcpu->regs, val);
	vmcs_write(GUEST_RSP, vcpu->regs[KVMX_RSP]);
	kvmx_set_next_rip(kvmx_emu_next_rip(vcpu->mmio.key.mode, vmcs_read(GUEST_RIP), insn));
	return 1;
}

/* The emulator's accesses to the operand's page need no page walk. */
static void note_known_la(struct kvmx_vcpu *vcpu, u64 gpa)
{
	const struct kvmx_emu_insn *insn = &vcpu->mmio.ctxt.insn;

	vcpu->mmio.known_la_valid = kvmx_mmio_gpa_is_operand(insn, insn->la, gpa);
	vcpu->mmio.known_la = insn->la & PAGE_MASK;
	vcpu->mmio.known_gpa = gpa & PAGE_MASK;
}

/* An MMIO exit while the CPU delivered an event: KVM gives up too. */
noinline int kvmx_mmio_delivery_failure(struct kvmx_vcpu *vcpu, u64 gpa)
{
	struct kvm_run *run = vcpu->run;

	pr_info_ratelimited("vCPU %u: MMIO access at gpa 0x%llx while delivering an event\n",
			    vcpu->id, gpa);
	run->exit_reason = KVM_EXIT_INTERNAL_ERROR;
	run->internal.suberror = KVM_INTERNAL_ERROR_DELIVERY_EV;
	/* KVM's layout; the event stays queued for the next entry. */
	run->internal.ndata = 5;
	run->internal.data[0] = vcpu->reinject_info;
	run->internal.data[1] = vcpu->exit_reason;
	run->internal.data[2] = vcpu->exit_qual;
	run->internal.data[3] = gpa;
	run->internal.data[4] = vcpu->last_cpu;
	return 0;
}

/* The general path: the emulator, @cached or a fetched and decoded instruction. */
noinline int kvmx_mmio_emulate(struct kvmx_vcpu *vcpu, u64 gpa,
				const struct kvmx_emu_insn *cached)
{
	struct kvmx_emu_ctxt *c = &vcpu->mmio.ctxt;
	struct kvmx_insn_key *key = &vcpu->mmio.key;
	int ret;

	/* With the guest's paging state for the emulator's page walks. */
	kvmx_walk_cfg_read(vcpu, &vcpu->mmio.walk);
	memset(vcpu->mmio.frag, 0, sizeof(vcpu->mmio.frag));
	vcpu->mmio.write2.valid = false;
	load_ctxt(vcpu);
	ret = decode(vcpu, key, cached);
	if (ret == KVMX_EMU_FAULT) {
		c->fault = c->insn.fault;
		return inject_fault(vcpu);
	}
	if (ret != KVMX_EMU_DONE) {
		vcpu->mmio.known_gpa = gpa & PAGE_MASK;
		return cannot_emulate(vcpu);
	}
	note_known_la(vcpu, gpa);
	return execute(vcpu);
}

int kvmx_mmio_fault(struct kvmx_vcpu *vcpu, u64 gpa, bool no_slot)
{
	return kvmx_mmio_fault_inline(vcpu, gpa, no_slot, kvmx_memslot_gen(vcpu->vm));
}

/*
 * Stores the low @len bytes of @val at @gpa (RAM of the writable @slot,
 * within a page): 0 or -EFAULT.
 */
static int store_gpa(const struct kvmx_memslot *slot, u64 gpa, u64 val, unsigned int len)
{
	unsigned long hva;
	int ret;
	/* One store, as the guest's MOV; the slot's range passed access_ok(). */
	hva = kvmx_slot_hva(slot, gpa >> PAGE_SHIFT) + offset_in_page(gpa);
	switch (len) {
	case 1:
		ret = __put_user((u8)val, (u8 __user *)hva);
		break;
	case 2:
		ret = __put_user((u16)val, (u16 __user *)hva);
		break;
	case 4:
		ret = __put_user((u32)val, (u32 __user *)hva);
		break;
	case 8:
		ret = __put_user(val, (u64 __user *)hva);
		break;
	default:
		return -EFAULT;
	}
	if (ret)
		return -EFAULT;
	kvmx_mark_page_dirty(slot, gpa >> PAGE_SHIFT);
	return 0;
}

/*
 * The page-table write fast path: a MOV store from the instruction cache
 * whose operand is the faulting access (the same linear page as @la, the
 * fault's address, and within it), carried out on the vCPU's registers
 * as fast_mov() does, with one store to the guest's RAM at @gpa (in
 * @slot), which the MMU then follows.  -EAGAIN: not a case it covers.
 */
static int fast_pt_write(struct kvmx_vcpu *vcpu, u64 la, u64 gpa,
			 const struct kvmx_memslot *slot)
{
	struct kvmx_insn_key *key = &vcpu->mmio.key;
	const struct kvmx_emu_insn *insn;
	u64 op;

	if (vcpu->reinject_info & INTR_INFO_VALID)
		return -EAGAIN;
	kvmx_mmio_key_read(vcpu, key, kvmx_memslot_gen(vcpu->vm));
	insn = kvmx_insn_cache_lookup(&vcpu->insn_cache, key);
	if (!insn || !kvmx_emu_is_mov(insn) || insn->dir != KVMX_EMU_DIR_WRITE)
		return -EAGAIN;
	op = kvmx_mmio_operand_la(vcpu, key, insn);
	if (op != la || offset_in_page(op) + insn->mem_bytes > PAGE_SIZE ||
	    store_gpa(slot, gpa, kvmx_emu_mov_store_value(insn, vcpu->regs), insn->mem_bytes))
		return -EAGAIN;
	kvmx_stat_inc(vcpu, insn_emulation);
	kvmx_stat_inc(vcpu, insn_cache_hit);
	kvmx_set_next_rip(kvmx_emu_next_rip(key->mode, key->rip, insn));
	kvmx_mmu_track_write(vcpu, gpa, insn->mem_bytes);
	return 1;
}

int kvmx_emulate_pt_write(struct kvmx_vcpu *vcpu, u64 la, u64 gpa,
			  const struct kvmx_memslot *slot)
{
	int ret = fast_pt_write(vcpu, la, gpa, slot);

	if (ret != -EAGAIN)
		return ret;
	vcpu->mmio.pt_write = true;
	ret = kvmx_mmio_fault(vcpu, gpa, false);
	vcpu->mmio.pt_write = false;
	return ret;
}

int kvmx_complete_mmio_read(struct kvmx_vcpu *vcpu)
{
	struct kvmx_emu_ctxt *c = &vcpu->mmio.ctxt;
	struct kvmx_mmio_frag *asked = &vcpu->mmio.asked;
	struct kvmx_mmio_frag *f = &vcpu->mmio.frag[vcpu->mmio.asked_idx];

	if (vcpu->mmio.fast_read)
		return complete_fast_read(vcpu);

	*f = *asked;
	memcpy(f->data, vcpu->run->mmio.data, asked->len);
	/* User space may have changed the vCPU's state during the exit. */
	kvmx_walk_cfg_read(vcpu, &vcpu->mmio.walk);
	load_ctxt(vcpu);
	kvmx_emu_address(c, &c->insn);
	return execute(vcpu);
}

int kvmx_complete_mmio_write2(struct kvmx_vcpu *vcpu)
{
	exit_mmio(vcpu, &vcpu->mmio.write2, true);
	vcpu->mmio.write2.valid = false;
	return 0;
}
