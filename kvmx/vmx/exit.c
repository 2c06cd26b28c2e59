// SPDX-License-Identifier: GPL-2.0
/*
 * Entering the guest and handling VM exits.
 *
 * kvmx_vmx_enter() runs with interrupts and preemption off: it delivers
 * pending events, switches the state the VMCS does not switch (CR2, the
 * syscall MSRs, segment selectors), runs the guest and reads the exit
 * information.  kvmx_handle_exit() then runs preemptible (the vCPU stays
 * loaded through its preempt notifier) and dispatches on the exit reason:
 * each handler returns 1 to re-enter the guest, 0 to return to user space
 * with run->exit_reason set, or a negative errno for KVM_RUN.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kvm.h>
#include <linux/kvm_para.h>
#include <linux/sched.h>
#include <asm/debugreg.h>
#include <asm/fsgsbase.h>
#include <asm/msr.h>
#include <asm/processor.h>
#include <asm/segment.h>
#include <asm/special_insns.h>
#include <asm/tlbflush.h>
#include <asm/mmu_context.h>
#include <asm/traps.h>
#include <asm/trapnr.h>

#include "vmx.h"
#include "vmcs.h"
#include "guest.h"
#include "../kvmx.h"
#include "../mmu/mmu.h"
#include "../mmio.h"
#include "../stats.h"
#include "../trace.h"
#include "../irq/irq.h"

static const u32 swapped_msr_index[KVMX_NR_SWAPPED_MSRS] = {
	[KVMX_MSR_STAR] = MSR_STAR,
	[KVMX_MSR_LSTAR] = MSR_LSTAR,
	[KVMX_MSR_CSTAR] = MSR_CSTAR,
	[KVMX_MSR_SFMASK] = MSR_SYSCALL_MASK,
	[KVMX_MSR_KERNEL_GS_BASE] = MSR_KERNEL_GS_BASE,
};

/* The host's values, the same on every CPU; read on load. */
static u64 host_msrs[KVMX_NR_SWAPPED_MSRS];

void kvmx_exit_init(void)
{
	int i;

	for (i = 0; i < KVMX_NR_SWAPPED_MSRS; i++)
		if (i != KVMX_MSR_KERNEL_GS_BASE)
			rdmsrl(swapped_msr_index[i], host_msrs[i]);
}

void kvmx_vcpu_init_msrs(struct kvmx_vcpu *vcpu)
{
	memcpy(vcpu->msrs, host_msrs, sizeof(vcpu->msrs));
	vcpu->msrs[KVMX_MSR_KERNEL_GS_BASE] = 0;
}

static unsigned long get_reg(struct kvmx_vcpu *vcpu, int reg)
{
	return reg == KVMX_RSP ? vmcs_read(GUEST_RSP) : vcpu->regs[reg];
}

static void set_reg(struct kvmx_vcpu *vcpu, int reg, unsigned long val)
{
	if (reg == KVMX_RSP)
		vmcs_write(GUEST_RSP, val);
	else
		vcpu->regs[reg] = val;
}

static bool long_mode_active(void)
{
	return vmcs_read(GUEST_CS_AR_BYTES) & VMX_AR_L &&
	       vmcs_read(GUEST_IA32_EFER) & EFER_LMA;
}

/*
 * RIP past the instruction that exited.  With KVM_GUESTDBG_SINGLESTEP and
 * TF set, the instruction is a step (the CPU's trap never comes for an
 * instruction that exited): kvmx_singlestep_done() then exits to user
 * space, as KVM's kvm_skip_emulated_instruction().
 */
static void skip_instruction(struct kvmx_vcpu *vcpu)
{
	unsigned long rip = vmcs_read(GUEST_RIP) + vcpu->exit_insn_len;

	if ((vcpu->debug.control & KVM_GUESTDBG_SINGLESTEP) &&
	    (vmcs_read(GUEST_RFLAGS) & X86_EFLAGS_TF))
		vcpu->debug.stepped = true;
	kvmx_set_next_rip(long_mode_active() ? rip : (u32)rip);
}

/*
 * After an exit handled in the kernel (@r 1) or a completed exit to user
 * space: if an instruction kvmx skipped was a single step, the step's
 * KVM_EXIT_DEBUG (KVM's kvm_vcpu_do_singlestep()).  Another exit to user
 * space that the same instruction made (@r 0) goes first.
 */
int kvmx_singlestep_done(struct kvmx_vcpu *vcpu, int r)
{
	struct kvm_run *run = vcpu->run;

	if (likely(!vcpu->debug.stepped))
		return r;
	vcpu->debug.stepped = false;
	if (r != 1)
		return r;
	run->debug.arch.dr6 = DR_STEP | KVMX_DR6_FIXED_1;
	run->debug.arch.pc = kvmx_linear_rip();
	run->debug.arch.exception = DB_VECTOR;
	run->exit_reason = KVM_EXIT_DEBUG;
	return 0;
}

static int inject_gp(struct kvmx_vcpu *vcpu)
{
	kvmx_queue_exception(vcpu, GP_VECTOR, true, 0);
	return 1;
}

static int inject_ud(struct kvmx_vcpu *vcpu)
{
	kvmx_queue_exception(vcpu, UD_VECTOR, false, 0);
	return 1;
}

static int internal_error(struct kvmx_vcpu *vcpu, u32 suberror)
{
	struct kvm_run *run = vcpu->run;

	run->exit_reason = KVM_EXIT_INTERNAL_ERROR;
	run->internal.suberror = suberror;
	run->internal.ndata = 2;
	run->internal.data[0] = vcpu->exit_reason;
	run->internal.data[1] = vcpu->last_cpu;
	return 0;
}

/*
 * Whether an exception is a fault: not #DB, #BP, #OF (traps) nor #DF, #MC
 * (aborts); KVM's exception_type() draws the same line.
 */
static bool exception_is_fault(u8 vector)
{
	return vector < 32 &&
	       !(BIT(vector) & (BIT(DB_VECTOR) | BIT(BP_VECTOR) | BIT(OF_VECTOR) |
				BIT(DF_VECTOR) | BIT(MC_VECTOR)));
}

/* Delivers the event of highest priority, or asks for an interrupt window. */
static void inject_events(struct kvmx_vcpu *vcpu)
{
	/*
	 * KVM_GUESTDBG_BLOCKIRQ, as KVM 6.1's kvm_check_and_inject_events():
	 * no NMI and no interrupt of the in-kernel irqchip goes in, nor does
	 * a window open for one.  KVM_INTERRUPT's vector still does: KVM
	 * queues it as an event already injected.
	 */
	bool blocked = vcpu->debug.control & KVM_GUESTDBG_BLOCKIRQ;
	bool window = false;
	u32 info = 0;

	kvmx_process_nmi(vcpu);
	if (vcpu->reinject_info & INTR_INFO_VALID) {
		u32 type = vcpu->reinject_info & INTR_INFO_TYPE_MASK;

		info = vcpu->reinject_info & ~INTR_INFO_UNBLOCK_NMI;
		/*
		 * The CPU may report an error code for an exception whose
		 * delivery in real mode an exit interrupted (an EPT violation
		 * on the IVT), but VM entry refuses one there: drop it, as
		 * KVM's kvm_inject_exception() does.
		 */
		if (!(kvmx_get_cr0(vcpu) & X86_CR0_PE))
			info &= ~INTR_INFO_DELIVER_CODE;
		if (info & INTR_INFO_DELIVER_CODE)
			vmcs_write(VM_ENTRY_EXCEPTION_ERROR_CODE, vcpu->reinject_error);
		if (type == INTR_TYPE_SOFT_INTR || type == INTR_TYPE_PRIV_SW_EXCEPTION ||
		    type == INTR_TYPE_SOFT_EXCEPTION)
			vmcs_write(VM_ENTRY_INSTRUCTION_LEN, vcpu->reinject_len);
		vcpu->reinject_info = 0;
	} else if (vcpu->exception.pending && vcpu->exception.soft) {
		/* KVM_GUESTDBG_INJECT_BP: as if the INT3 of the last #BP exit ran. */
		info = vcpu->exception.vector | INTR_TYPE_SOFT_EXCEPTION | INTR_INFO_VALID;
		vmcs_write(VM_ENTRY_INSTRUCTION_LEN, vcpu->exception.insn_len);
		vcpu->exception.pending = false;
	} else if (vcpu->exception.pending) {
		info = vcpu->exception.vector | INTR_TYPE_HARD_EXCEPTION | INTR_INFO_VALID;
		/* A fault's RFLAGS image has RF set, as the CPU's (and KVM's). */
		if (exception_is_fault(vcpu->exception.vector))
			vmcs_write(GUEST_RFLAGS, vmcs_read(GUEST_RFLAGS) | X86_EFLAGS_RF);
		/* Real mode delivers no error code. */
		if (vcpu->exception.has_error && (kvmx_get_cr0(vcpu) & X86_CR0_PE)) {
			info |= INTR_INFO_DELIVER_CODE;
			vmcs_write(VM_ENTRY_EXCEPTION_ERROR_CODE, vcpu->exception.error);
		}
		vcpu->exception.pending = false;
	} else if (vcpu->nmi_pending && !blocked && kvmx_nmi_allowed(vcpu)) {
		/* NMIs come before interrupts (KVM's kvm_check_and_inject_events()). */
		info = NMI_VECTOR | INTR_TYPE_NMI | INTR_INFO_VALID;
		vcpu->nmi_pending--;
	} else if (vcpu->irq >= 0) {
		if (kvmx_interrupt_allowed(vcpu)) {
			info = vcpu->irq | INTR_TYPE_EXT_INTR | INTR_INFO_VALID;
			vcpu->irq = -1;
		} else {
			window = true;
		}
	} else if (vcpu->apic && !blocked) {
		int vec = kvmx_lapic_inject(vcpu, kvmx_interrupt_allowed(vcpu), &window);

		if (vec >= 0)
			info = vec | INTR_TYPE_EXT_INTR | INTR_INFO_VALID;
	}
	/* With the PICs in the kernel, user space asks for no windows (as KVM). */
	if (vcpu->run->request_interrupt_window && vcpu->irq < 0 && !info &&
	    !kvmx_pic_in_kernel(vcpu->vm))
		window = true;
	vmcs_write(VM_ENTRY_INTR_INFO_FIELD, info);
	if (window)
		vmcs_set_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_INTR_WINDOW_EXITING);
	/*
	 * An NMI that must wait (NMIs blocked, an interrupt shadow, another
	 * event on its way in, or a second one latched): exit as soon as the
	 * guest can take it.
	 */
	if (vcpu->nmi_pending && !blocked)
		vmcs_set_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_NMI_WINDOW_EXITING);
}

/*
 * Bit 12 of the exit's interruption information (an exception or NMI
 * exit, not a double fault) or of an EPT violation's qualification.
 */
static bool nmi_unblocked_by_iret(struct kvmx_vcpu *vcpu)
{
	u32 info = vcpu->exit_intr_info;

	if ((u16)vcpu->exit_reason == EXIT_REASON_EPT_VIOLATION)
		return vcpu->exit_qual & INTR_INFO_UNBLOCK_NMI;
	return (info & INTR_INFO_VALID) && (info & INTR_INFO_UNBLOCK_NMI) &&
	       (info & INTR_INFO_VECTOR_MASK) != DF_VECTOR;
}

struct host_segments {
	u16 ds, es, fs, gs;
	unsigned long fs_base, kernel_gs_base;
};

/* Interrupts off.  Returns kvmx_vmx_run()'s result. */
int kvmx_vmx_enter(struct kvmx_vcpu *vcpu)
{
	struct host_segments host;
	unsigned long cr3, cr4, debugctl;
	bool hw_bp;
	int i, fail;

	lockdep_assert_irqs_disabled();
	inject_events(vcpu);

	/* They rarely change: write them only when they did (as KVM). */
	cr3 = __get_current_cr3_fast();
	if (unlikely(cr3 != vcpu->host_cr3)) {
		vmcs_write(HOST_CR3, cr3);
		vcpu->host_cr3 = cr3;
	}
	cr4 = cr4_read_shadow();
	if (unlikely(cr4 != vcpu->host_cr4)) {
		vmcs_write(HOST_CR4, cr4);
		vcpu->host_cr4 = cr4;
	}

	savesegment(ds, host.ds);
	savesegment(es, host.es);
	savesegment(fs, host.fs);
	savesegment(gs, host.gs);
	current_save_fsgs();
	host.fs_base = current->thread.fsbase;
	host.kernel_gs_base = current->thread.gsbase;
	vmcs_write(HOST_FS_BASE, host.fs_base);

	for (i = 0; i < KVMX_NR_SWAPPED_MSRS; i++)
		if (i == KVMX_MSR_KERNEL_GS_BASE || vcpu->msrs[i] != host_msrs[i])
			wrmsrl(swapped_msr_index[i], vcpu->msrs[i]);
	if (native_read_cr2() != vcpu->cr2)
		native_write_cr2(vcpu->cr2);
	/*
	 * KVM_GUESTDBG_USE_HW_BP: DR0-3 are user space's while the guest
	 * runs (VM entry loads DR7 from the VMCS).  The host's DR7 goes to 0
	 * first, so that none of its breakpoints fires on these addresses
	 * meanwhile; VM exit sets DR7 to 0x400, and the host's DR0-3, DR6 and
	 * DR7 come back below, interrupts still off (KVM's switch_db_regs).
	 */
	hw_bp = (vcpu->debug.control & KVM_GUESTDBG_USE_HW_BP) &&
		(vcpu->debug.dr7 & KVMX_DR7_BP_EN_MASK);
	if (unlikely(hw_bp)) {
		set_debugreg(0, 7);
		set_debugreg(vcpu->debug.db[0], 0);
		set_debugreg(vcpu->debug.db[1], 1);
		set_debugreg(vcpu->debug.db[2], 2);
		set_debugreg(vcpu->debug.db[3], 3);
	} else if (unlikely(hw_breakpoint_active())) {
		/* As KVM: no host breakpoint fires in the guest. */
		set_debugreg(0, 7);
	}
	/* VM exit clears IA32_DEBUGCTL (the debug controls are switched): as KVM. */
	debugctl = get_debugctlmsr();

	fail = kvmx_vmx_run(vcpu->regs, vcpu->launched);

	vcpu->cr2 = native_read_cr2();
	/*
	 * The guest's SWAPGS changes IA32_KERNEL_GS_BASE without an exit
	 * (a 64-bit kernel does it on every entry from user space): keep
	 * what the CPU holds now, not what the guest last wrote with WRMSR.
	 * The other swapped MSRs change only through WRMSR, which exits.
	 */
	rdmsrl(MSR_KERNEL_GS_BASE, vcpu->msrs[KVMX_MSR_KERNEL_GS_BASE]);
	for (i = 0; i < KVMX_NR_SWAPPED_MSRS; i++)
		if (i != KVMX_MSR_KERNEL_GS_BASE && vcpu->msrs[i] != host_msrs[i])
			wrmsrl(swapped_msr_index[i], host_msrs[i]);
	/* VM exit loaded null DS/ES/FS/GS and the FS/GS bases from the VMCS. */
	if (host.ds)
		loadsegment(ds, host.ds);
	if (host.es)
		loadsegment(es, host.es);
	if (host.fs) {
		loadsegment(fs, host.fs);
		wrmsrl(MSR_FS_BASE, host.fs_base);
	}
	if (host.gs)
		load_gs_index(host.gs);
	wrmsrl(MSR_KERNEL_GS_BASE, host.kernel_gs_base);
	/* Unlike KVM, also without host breakpoints: no guest address stays. */
	if (unlikely(hw_bp) || hw_breakpoint_active())
		hw_breakpoint_restore();
	if (debugctl)
		update_debugctlmsr(debugctl);

	vcpu->last_cpu = smp_processor_id();
	vcpu->has_run = true;
	if (fail)
		return fail;
	vcpu->exit_reason = vmcs_read(VM_EXIT_REASON);
	/* A VM entry that failed its checks leaves the VMCS not launched. */
	if (!(vcpu->exit_reason & EXIT_REASON_FAILED_VMENTRY))
		vcpu->launched = true;
	vcpu->exit_qual = vmcs_read(EXIT_QUALIFICATION);
	vcpu->exit_intr_info = vmcs_read(VM_EXIT_INTR_INFO);
	vcpu->exit_insn_len = vmcs_read(VM_EXIT_INSTRUCTION_LEN);

	/* An event whose delivery the exit interrupted is delivered again. */
	vcpu->reinject_info = vmcs_read(IDT_VECTORING_INFO_FIELD);
	if (vcpu->reinject_info & INTR_INFO_VALID) {
		vcpu->reinject_error = vmcs_read(IDT_VECTORING_ERROR_CODE);
		vcpu->reinject_len = vcpu->exit_insn_len;
	} else if (nmi_unblocked_by_iret(vcpu)) {
		/*
		 * A fault in an IRET that had unblocked NMIs: the IRET runs
		 * again, so NMIs are blocked again (SDM 27.7.1.2; KVM's
		 * vmx_recover_nmi_blocking()).
		 */
		vmcs_set_bits(GUEST_INTERRUPTIBILITY_INFO, GUEST_INTR_STATE_NMI);
	}

	/* A host NMI arrived in guest mode: hand it to the host's handler. */
	if ((u16)vcpu->exit_reason == EXIT_REASON_EXCEPTION_NMI &&
	    (vcpu->exit_intr_info & INTR_INFO_TYPE_MASK) == INTR_TYPE_NMI)
		asm volatile("int $2");
	return 0;
}

/*
 * A #UD, which kvmx intercepts for one instruction, as KVM does on Intel:
 * AMD's VMMCALL (0f 01 d9).  With KVM_X86_QUIRK_FIX_HYPERCALL_INSN on, it
 * is rewritten in guest memory into VMCALL (0f 01 c1), which then runs
 * (KVM's emulator_fix_hypercall()); with the quirk off, and for every
 * other instruction, the guest gets its #UD.
 */
static int handle_ud_exception(struct kvmx_vcpu *vcpu)
{
	static const u8 vmmcall[3] = { 0x0f, 0x01, 0xd9 }, vmcall[3] = { 0x0f, 0x01, 0xc1 };
	struct kvmx_walk_result res;
	u64 la = vmcs_read(GUEST_RIP);
	u8 insn[3];

	if (!long_mode_active())
		la = (u32)(la + vmcs_read(GUEST_CS_BASE));
	if (!kvmx_has_quirk(vcpu->vm, KVM_X86_QUIRK_FIX_HYPERCALL_INSN) ||
	    kvmx_access_la(vcpu, NULL, la, insn, sizeof(insn), KVMX_WALK_FETCH, &res) !=
	    KVMX_WALK_OK || memcmp(insn, vmmcall, sizeof(insn)))
		return inject_ud(vcpu);
	switch (kvmx_access_la(vcpu, NULL, la, (void *)vmcall, sizeof(vmcall), KVMX_WALK_WRITE,
			       &res)) {
	case KVMX_WALK_OK:
	case KVMX_WALK_RETRY:
		return 1;	/* the guest runs the instruction again */
	case KVMX_WALK_PF:
		vcpu->cr2 = res.cr2;
		kvmx_queue_exception(vcpu, PF_VECTOR, true, res.error_code);
		return 1;
	default:
		/* Code in MMIO or a read-only slot: KVM would write through user space. */
		return inject_ud(vcpu);
	}
}

/*
 * KVM_SET_GUEST_DEBUG's exits, as KVM's handle_exception_nmi(): a #DB
 * while single-stepping or with hardware breakpoints (DR6 as the exit
 * qualification gives it, active-low bits set), and a #BP, intercepted
 * only with KVM_GUESTDBG_USE_SW_BP.  pc is the linear RIP: after a trap,
 * at a fault or an INT3 (which did not run; its length is kept for an
 * INJECT_BP that gives it to the guest).  The exit consumes the #DB.
 */
static int debug_exit(struct kvmx_vcpu *vcpu, u8 vector)
{
	struct kvm_run *run = vcpu->run;

	if (vector == DB_VECTOR) {
		run->debug.arch.dr6 = vcpu->exit_qual | KVMX_DR6_FIXED_1;
		run->debug.arch.dr7 = vmcs_read(GUEST_DR7);
	}
	vcpu->debug.bp_insn_len = vcpu->exit_insn_len;
	run->exit_reason = KVM_EXIT_DEBUG;
	run->debug.arch.pc = kvmx_linear_rip();
	run->debug.arch.exception = vector;
	return 0;
}

static int handle_exception(struct kvmx_vcpu *vcpu)
{
	u32 info = vcpu->exit_intr_info;
	u8 vector = info & INTR_INFO_VECTOR_MASK;

	/*
	 * Only a shadow MMU intercepts #PF: the address is linear, in the
	 * qualification.  First, as the most frequent (every cached MMIO
	 * access of a shadow VM); an NMI exit has vector 2.
	 */
	if (vector == PF_VECTOR)
		return kvmx_mmu_fault(vcpu, vcpu->exit_qual, vmcs_read(VM_EXIT_INTR_ERROR_CODE));
	if ((info & INTR_INFO_TYPE_MASK) == INTR_TYPE_NMI)
		return 1;
	if (vector == UD_VECTOR)
		return handle_ud_exception(vcpu);
	if ((vector == DB_VECTOR && (vcpu->debug.control &
				     (KVM_GUESTDBG_SINGLESTEP | KVM_GUESTDBG_USE_HW_BP))) ||
	    vector == BP_VECTOR)
		return debug_exit(vcpu, vector);
	if (vector != DB_VECTOR && vector != AC_VECTOR)
		return internal_error(vcpu, KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON);
	/* Reflect it: kvmx intercepts #DB and #AC only to stop event loops. */
	if (vector == DB_VECTOR)
		vcpu->dr6 = KVMX_DR6_FIXED_1 ^ (vcpu->exit_qual & (DR_TRAP_BITS | DR_STEP));
	vcpu->reinject_info = info & ~INTR_INFO_UNBLOCK_NMI;
	vcpu->reinject_error = vmcs_read(VM_EXIT_INTR_ERROR_CODE);
	vcpu->reinject_len = vcpu->exit_insn_len;
	return 1;
}

static int handle_external_interrupt(struct kvmx_vcpu *vcpu)
{
	return 1;	/* taken by the host once interrupts are on again */
}

static int handle_triple_fault(struct kvmx_vcpu *vcpu)
{
	vcpu->run->exit_reason = KVM_EXIT_SHUTDOWN;
	return 0;
}

static int handle_nmi_window(struct kvmx_vcpu *vcpu)
{
	vmcs_clear_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_NMI_WINDOW_EXITING);
	return 1;	/* the next entry delivers it */
}

static int handle_interrupt_window(struct kvmx_vcpu *vcpu)
{
	vmcs_clear_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_INTR_WINDOW_EXITING);
	if (vcpu->run->request_interrupt_window && vcpu->irq < 0 &&
	    !kvmx_pic_in_kernel(vcpu->vm)) {
		vcpu->run->exit_reason = KVM_EXIT_IRQ_WINDOW_OPEN;
		return 0;
	}
	return 1;
}

static const struct kvm_cpuid_entry2 *find_cpuid(struct kvmx_vcpu *vcpu, u32 fn, u32 index)
{
	int i;

	for (i = 0; i < vcpu->nr_cpuid; i++) {
		const struct kvm_cpuid_entry2 *e = &vcpu->cpuid[i];

		if (e->function == fn &&
		    (!(e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) || e->index == index))
			return e;
	}
	return NULL;
}

static int handle_cpuid(struct kvmx_vcpu *vcpu)
{
	const struct kvm_cpuid_entry2 *e;

	e = find_cpuid(vcpu, vcpu->regs[KVMX_RAX], vcpu->regs[KVMX_RCX]);
	vcpu->regs[KVMX_RAX] = e ? e->eax : 0;
	vcpu->regs[KVMX_RBX] = e ? e->ebx : 0;
	vcpu->regs[KVMX_RCX] = e ? e->ecx : 0;
	vcpu->regs[KVMX_RDX] = e ? e->edx : 0;
	skip_instruction(vcpu);
	return 1;
}

static int handle_hlt(struct kvmx_vcpu *vcpu)
{
	skip_instruction(vcpu);
	/* With an in-kernel LAPIC the vCPU sleeps in KVM_RUN until an event. */
	if (vcpu->apic) {
		kvmx_lapic_halt(vcpu);
		return 1;
	}
	vcpu->run->exit_reason = KVM_EXIT_HLT;
	return 0;
}

/*
 * The CR0 and CR4 bits whose change in PAE paging reloads the PDPTEs (SDM
 * 4.4.1; KVM's X86_CR0_PDPTR_BITS and X86_CR4_PDPTR_BITS).
 */
#define KVMX_CR0_PDPTR_BITS	(X86_CR0_CD | X86_CR0_NW | X86_CR0_PG)
#define KVMX_CR4_PDPTR_BITS	(X86_CR4_PGE | X86_CR4_PSE | X86_CR4_PAE | X86_CR4_SMEP)

/*
 * Whether the guest is in PAE paging (paging, CR4.PAE, not long mode).
 * Long mode first: a 64-bit guest's MOV to CR3 reads nothing more.
 */
static bool pae_paging(struct kvmx_vcpu *vcpu)
{
	return !(vmcs_read(GUEST_IA32_EFER) & EFER_LMA) && (kvmx_get_cr0(vcpu) & X86_CR0_PG) &&
	       (kvmx_get_cr4(vcpu) & X86_CR4_PAE);
}

/*
 * MOV to CR0, checked as the CPU checks it.  One that leaves the guest in
 * PAE paging and changes PG, CD or NW loads the PDPTEs from CR3: #GP if
 * the CPU would refuse them (kvmx_read_pdptrs()), with nothing changed.
 */
static int set_cr0_checked(struct kvmx_vcpu *vcpu, unsigned long cr0)
{
	u64 efer = vmcs_read(GUEST_IA32_EFER);
	u64 pdpte[4];
	bool load;

	if (cr0 >> 32 || ((cr0 & X86_CR0_PG) && !(cr0 & X86_CR0_PE)) ||
	    ((cr0 & X86_CR0_NW) && !(cr0 & X86_CR0_CD)))
		return -EINVAL;
	if ((cr0 & X86_CR0_PG) && (efer & EFER_LME) && !(kvmx_get_cr4(vcpu) & X86_CR4_PAE))
		return -EINVAL;
	if (!(cr0 & X86_CR0_PG) && long_mode_active())
		return -EINVAL;
	load = !(efer & EFER_LME) && (cr0 & X86_CR0_PG) && (kvmx_get_cr4(vcpu) & X86_CR4_PAE) &&
	       ((cr0 ^ kvmx_get_cr0(vcpu)) & KVMX_CR0_PDPTR_BITS);
	if (load && kvmx_read_pdptrs(vcpu, kvmx_mmu_get_cr3(vcpu), pdpte))
		return -EINVAL;
	kvmx_set_cr0(vcpu, cr0);
	if (load)
		kvmx_write_pdptrs(pdpte);
	return 0;
}

/*
 * MOV to CR4: kvmx_set_cr4()'s checks, and in PAE paging a change of PGE,
 * PSE, PAE or SMEP loads the PDPTEs from CR3 (#GP as for CR0).
 */
static int set_cr4_checked(struct kvmx_vcpu *vcpu, unsigned long cr4)
{
	u64 pdpte[4];
	bool load;

	load = (kvmx_get_cr0(vcpu) & X86_CR0_PG) && (cr4 & X86_CR4_PAE) &&
	       !(vmcs_read(GUEST_IA32_EFER) & EFER_LMA) &&
	       ((cr4 ^ kvmx_get_cr4(vcpu)) & KVMX_CR4_PDPTR_BITS);
	if (load && kvmx_read_pdptrs(vcpu, kvmx_mmu_get_cr3(vcpu), pdpte))
		return -EINVAL;
	if (kvmx_set_cr4(vcpu, cr4))
		return -EINVAL;
	if (load)
		kvmx_write_pdptrs(pdpte);
	return 0;
}

/*
 * MOV to CR3 (it exits under shadow paging only): in long mode the bits
 * above MAXPHYADDR are reserved (bit 63 too, without PCIDs, which kvmx
 * does not offer).  Outside long mode only the bits the CPU uses are kept,
 * and in PAE paging the PDPTEs at the new CR3 are loaded: #GP, CR3 and the
 * PDPTEs unchanged, if the CPU would refuse them (KVM's kvm_set_cr3()).
 */
static bool cr3_valid(struct kvmx_vcpu *vcpu, unsigned long cr3)
{
	if (!long_mode_active() && !(vmcs_read(GUEST_IA32_EFER) & EFER_LMA))
		return !(cr3 >> 32);
	return !(cr3 >> boot_cpu_data.x86_phys_bits);
}

static int set_cr3_checked(struct kvmx_vcpu *vcpu, unsigned long cr3)
{
	bool load = pae_paging(vcpu);
	u64 pdpte[4];

	if (!cr3_valid(vcpu, cr3))
		return -EINVAL;
	if (load && kvmx_read_pdptrs(vcpu, cr3, pdpte))
		return -EINVAL;
	kvmx_mmu_set_cr3(vcpu, cr3);
	if (load)
		kvmx_write_pdptrs(pdpte);
	return 0;
}

static int handle_cr(struct kvmx_vcpu *vcpu)
{
	unsigned long q = vcpu->exit_qual;
	int cr = q & 15, type = (q >> 4) & 3, reg = (q >> 8) & 15;
	unsigned long val, old_cr8;

	switch (type) {
	case 0:	/* MOV to CR */
		val = get_reg(vcpu, reg);
		if (cr == 0 && set_cr0_checked(vcpu, val))
			return inject_gp(vcpu);
		if (cr == 4 && set_cr4_checked(vcpu, val))
			return inject_gp(vcpu);
		if (cr == 8) {
			if (val & ~0xfUL)
				return inject_gp(vcpu);
			if (vcpu->apic) {
				kvmx_lapic_set_cr8(vcpu, val);
				skip_instruction(vcpu);
				return 1;
			}
			old_cr8 = vcpu->cr8;
			vcpu->cr8 = val;
			skip_instruction(vcpu);
			/* As KVM without an in-kernel APIC: a lower TPR goes to the VMM. */
			if (val < old_cr8) {
				vcpu->run->exit_reason = KVM_EXIT_SET_TPR;
				return 0;
			}
			return 1;
		}
		/* CR3 exits only under shadow paging. */
		if (cr == 3 && set_cr3_checked(vcpu, val))
			return inject_gp(vcpu);
		if (cr != 0 && cr != 3 && cr != 4)
			break;
		skip_instruction(vcpu);
		return 1;
	case 1:	/* MOV from CR: CR8, and CR3 under shadow paging */
		if (cr == 3) {
			set_reg(vcpu, reg, kvmx_mmu_get_cr3(vcpu));
			skip_instruction(vcpu);
			return 1;
		}
		if (cr != 8)
			break;
		set_reg(vcpu, reg, vcpu->apic ? kvmx_lapic_get_cr8(vcpu) : vcpu->cr8);
		skip_instruction(vcpu);
		return 1;
	case 3:	/* LMSW: cannot clear PE */
		val = (kvmx_get_cr0(vcpu) & ~0xeUL) | ((q >> 16) & 0xf);
		if (set_cr0_checked(vcpu, val))
			return inject_gp(vcpu);
		skip_instruction(vcpu);
		return 1;
	}
	return internal_error(vcpu, KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON);
}

static int handle_dr(struct kvmx_vcpu *vcpu)
{
	unsigned long q = vcpu->exit_qual;
	int dr = q & 7, reg = (q >> 8) & 15;
	unsigned long val;

	if (dr == 4 || dr == 5) {
		if (kvmx_get_cr4(vcpu) & X86_CR4_DE)
			return inject_ud(vcpu);
		dr += 2;
	}
	/*
	 * DR7.GD in the VMCS (only user space's, with USE_HW_BP): the exit
	 * came before the general-detect #DB, which KVM's handle_dr()
	 * reports itself.
	 */
	if ((vcpu->debug.control & KVM_GUESTDBG_USE_HW_BP) && (vcpu->debug.dr7 & KVMX_DR7_GD)) {
		vcpu->run->debug.arch.dr6 = KVMX_DR6_BD | KVMX_DR6_FIXED_1;
		vcpu->run->debug.arch.dr7 = vcpu->debug.dr7;
		vcpu->run->debug.arch.pc = kvmx_linear_rip();
		vcpu->run->debug.arch.exception = DB_VECTOR;
		vcpu->run->exit_reason = KVM_EXIT_DEBUG;
		return 0;
	}
	if (q & 16) {	/* MOV from DR */
		val = dr < 4 ? vcpu->dr[dr] : dr == 6 ? vcpu->dr6 : vcpu->dr7;
		set_reg(vcpu, reg, val);
	} else {
		val = get_reg(vcpu, reg);
		if (dr < 4)
			vcpu->dr[dr] = val;
		else if (val >> 32)
			return inject_gp(vcpu);
		else if (dr == 6)
			vcpu->dr6 = val | KVMX_DR6_FIXED_1;
		else
			vcpu->dr7 = (val & ~KVMX_DR7_RESERVED) | KVMX_DR7_FIXED_1;
	}
	skip_instruction(vcpu);
	return 1;
}

static unsigned long addr_mask(int addr_size)
{
	return addr_size == 8 ? ~0UL : (1UL << (8 * addr_size)) - 1;
}

/* Write @val to @reg as an instruction of address size @asz would. */
static void set_reg_sized(struct kvmx_vcpu *vcpu, int reg, unsigned long val, int asz)
{
	unsigned long old = get_reg(vcpu, reg);

	if (asz == 2)
		val = (old & ~0xffffUL) | (val & 0xffff);
	else if (asz == 4)
		val = (u32)val;
	set_reg(vcpu, reg, val);
}

static int inject_walk_fault(struct kvmx_vcpu *vcpu, int status,
			     const struct kvmx_walk_result *res)
{
	if (status == KVMX_WALK_PF) {
		vcpu->cr2 = res->cr2;
		kvmx_queue_exception(vcpu, PF_VECTOR, true, res->error_code);
		return 1;
	}
	if (status == KVMX_WALK_RETRY)
		return 1;
	return internal_error(vcpu, KVM_INTERNAL_ERROR_EMULATION);
}

static int complete_string_io(struct kvmx_vcpu *vcpu);

/* Whether a write to @gpa is MMIO: no memslot, or a read-only one. */
static bool write_is_mmio(struct kvmx_vm *vm, u64 gpa)
{
	bool mmio;
	int idx;

	idx = srcu_read_lock(&vm->srcu);
	mmio = !kvmx_gfn_to_slot(vm, gpa >> PAGE_SHIFT, true);
	srcu_read_unlock(&vm->srcu, idx);
	return mmio;
}

/*
 * OUTS whose first element an ioeventfd takes: as KVM, the whole batch in
 * vcpu->pio_data is then written in the kernel, each element signalling
 * the registration it hits, and the ones nothing takes are dropped.
 */
static bool outs_to_ioeventfd(struct kvmx_vcpu *vcpu)
{
	u16 port = vcpu->exit_qual >> 16;
	u32 i, size = vcpu->pio.size;

	if (!kvmx_ioeventfd_write(vcpu->vm, KVMX_IOBUS_PIO, port, size, vcpu->pio_data))
		return false;
	for (i = 1; i < vcpu->pio.count; i++)
		kvmx_ioeventfd_write(vcpu->vm, KVMX_IOBUS_PIO, port, size,
				     vcpu->pio_data + i * size);
	return true;
}

/*
 * INS/OUTS: as many elements as fit the PIO page go to user space in one
 * exit; RSI/RDI/RCX move by what was done, and RIP stays on a REP
 * instruction until RCX reaches zero, so the guest re-executes it.
 */
static int handle_string_io(struct kvmx_vcpu *vcpu, bool in, int size)
{
	u32 insn_info = vmcs_read(VMX_INSTRUCTION_INFO);
	int asz = 2 << ((insn_info >> 7) & 7);	/* 2, 4 or 8 bytes */
	bool rep = vcpu->exit_qual & 32;
	bool down = vmcs_read(GUEST_RFLAGS) & X86_EFLAGS_DF;
	u64 la = vmcs_read(GUEST_LINEAR_ADDRESS);
	struct kvmx_walk_result res;
	unsigned long count = 1;
	int i, status;

	if (rep)
		count = get_reg(vcpu, KVMX_RCX) & addr_mask(asz);
	if (!count) {
		skip_instruction(vcpu);
		return 1;
	}
	count = min_t(unsigned long, count, PAGE_SIZE / size);

	if (!in) {
		for (i = 0; i < count; i++) {
			status = kvmx_access_la(vcpu, NULL, down ? la - i * size : la + i * size,
						vcpu->pio_data + i * size, size, 0, &res);
			if (status != KVMX_WALK_OK) {
				if (i == 0)
					return inject_walk_fault(vcpu, status, &res);
				count = i;	/* the next exit faults on element i */
				break;
			}
		}
	} else {
		/* Fault now, before user space does the reads. */
		status = kvmx_translate(vcpu, NULL, la, KVMX_WALK_WRITE, &res);
		if (status != KVMX_WALK_OK)
			return inject_walk_fault(vcpu, status, &res);
		/*
		 * As KVM: as many elements as lie in the destination's page
		 * (whose translation was just checked), so one exit reads a
		 * batch; an element that crosses the page goes alone, and so
		 * does one bound for MMIO (it leaves as a KVM_EXIT_MMIO write).
		 */
		if (offset_in_page(la) + size > PAGE_SIZE || write_is_mmio(vcpu->vm, res.gpa))
			count = 1;
		else
			count = min_t(unsigned long, count,
				      down ? offset_in_page(la) / size + 1 :
					     (PAGE_SIZE - offset_in_page(la)) / size);
	}
	vcpu->pio.string = true;
	vcpu->pio.in = in;
	vcpu->pio.rep = rep;
	vcpu->pio.down = down;
	vcpu->pio.asz = asz;
	vcpu->pio.size = size;
	vcpu->pio.count = count;
	vcpu->pio.la = la;
	if (!in && outs_to_ioeventfd(vcpu)) {
		complete_string_io(vcpu);
		return 1;
	}
	vcpu->pending_io = KVMX_IO_PIO;
	vcpu->run->io.count = count;
	return 0;
}

static int handle_io(struct kvmx_vcpu *vcpu)
{
	unsigned long q = vcpu->exit_qual;
	struct kvm_run *run = vcpu->run;
	int size = (q & 7) + 1;
	bool in = q & 8;

	/* An OUT an ioeventfd takes is done here, and the guest goes on. */
	if (!in && !(q & 16) &&
	    kvmx_ioeventfd_write(vcpu->vm, KVMX_IOBUS_PIO, q >> 16, size, &vcpu->regs[KVMX_RAX])) {
		skip_instruction(vcpu);
		return 1;
	}
	run->exit_reason = KVM_EXIT_IO;
	run->io.direction = in ? KVM_EXIT_IO_IN : KVM_EXIT_IO_OUT;
	run->io.size = size;
	run->io.port = q >> 16;
	run->io.count = 1;
	run->io.data_offset = KVM_PIO_PAGE_OFFSET * PAGE_SIZE;
	if (q & 16)
		return handle_string_io(vcpu, in, size);

	vcpu->pio.string = false;
	vcpu->pio.in = in;
	vcpu->pio.size = size;
	vcpu->pio.rip_moved = false;
	/* The in-kernel PICs' and PIT's ports: done here, no exit. */
	if (!in)
		memcpy(vcpu->pio_data, &vcpu->regs[KVMX_RAX], size);
	if (kvmx_irq_pio(vcpu, q >> 16, vcpu->pio_data, size, in)) {
		kvmx_complete_pio(vcpu);
		return 1;
	}

	vcpu->pending_io = KVMX_IO_PIO;
	/* As KVM, for old user space: an OUT to port 0x7e exits with RIP past it. */
	if (!in && run->io.port == 0x7e &&
	    kvmx_has_quirk(vcpu->vm, KVM_X86_QUIRK_OUT_7E_INC_RIP)) {
		skip_instruction(vcpu);
		vcpu->pio.rip_moved = true;
	}
	return 0;
}

/*
 * INS: the elements user space gave go to the guest, upwards from pio.la
 * in one access (they lie in one page), or element by element downwards.
 */
static int ins_write(struct kvmx_vcpu *vcpu, struct kvmx_walk_result *res)
{
	u32 size = vcpu->pio.size, i;
	int status;

	if (!vcpu->pio.count)
		return KVMX_WALK_OK;
	if (!vcpu->pio.down)
		return kvmx_access_la(vcpu, NULL, vcpu->pio.la, vcpu->pio_data,
				      vcpu->pio.count * size, KVMX_WALK_WRITE, res);
	for (i = 0; i < vcpu->pio.count; i++) {
		status = kvmx_access_la(vcpu, NULL, vcpu->pio.la - i * size,
					vcpu->pio_data + i * size, size, KVMX_WALK_WRITE, res);
		if (status != KVMX_WALK_OK)
			return status;
	}
	return KVMX_WALK_OK;
}

/*
 * INS/OUTS done by user space: move RSI/RDI/RCX, and RIP once RCX is 0.
 * Returns 1, or 0 when an INS element goes to MMIO: the instruction is
 * then complete and its write leaves as KVM_EXIT_MMIO, as in KVM.
 */
static int complete_string_io(struct kvmx_vcpu *vcpu)
{
	int index = vcpu->pio.in ? KVMX_RDI : KVMX_RSI;
	int asz = vcpu->pio.asz;
	struct kvm_run *run = vcpu->run;
	struct kvmx_walk_result res;
	bool mmio = false;
	long step;
	int status;

	/*
	 * As KVM's emulator, a batch of INS elements is used while RCX lasts:
	 * user space may have lowered RCX during the exit.
	 */
	if (vcpu->pio.in && vcpu->pio.rep)
		vcpu->pio.count = min_t(unsigned long, vcpu->pio.count,
					get_reg(vcpu, KVMX_RCX) & addr_mask(asz));
	step = (vcpu->pio.down ? -1L : 1L) * vcpu->pio.count * vcpu->pio.size;

	if (vcpu->pio.in) {
		/* Translated before the exit; a fault now is the guest's race. */
		status = ins_write(vcpu, &res);
		if (status == KVMX_WALK_PF) {
			vcpu->cr2 = res.cr2;
			kvmx_queue_exception(vcpu, PF_VECTOR, true, res.error_code);
			return 1;
		}
		/* An element bound for MMIO is always alone in its batch. */
		mmio = status == KVMX_WALK_BAD_GPA && vcpu->pio.count == 1 &&
		       offset_in_page(vcpu->pio.la) + vcpu->pio.size <= PAGE_SIZE &&
		       write_is_mmio(vcpu->vm, res.gpa);
	}
	set_reg_sized(vcpu, index, get_reg(vcpu, index) + step, asz);
	if (vcpu->pio.rep)
		set_reg_sized(vcpu, KVMX_RCX, get_reg(vcpu, KVMX_RCX) - vcpu->pio.count, asz);
	if (!vcpu->pio.rep || !(get_reg(vcpu, KVMX_RCX) & addr_mask(asz)))
		skip_instruction(vcpu);
	if (!mmio)
		return 1;
	run->exit_reason = KVM_EXIT_MMIO;
	run->mmio.phys_addr = res.gpa;
	run->mmio.len = vcpu->pio.size;
	run->mmio.is_write = 1;
	memset(run->mmio.data, 0, sizeof(run->mmio.data));
	memcpy(run->mmio.data, vcpu->pio_data, vcpu->pio.size);
	return 0;
}

/*
 * KVM_RUN after an I/O exit.  As KVM, RIP moves past the instruction only
 * now: during the exit it still points at the IN or OUT.  Returns 1, or 0
 * with another exit for user space in vcpu->run.
 */
int kvmx_complete_pio(struct kvmx_vcpu *vcpu)
{
	u64 *rax = &vcpu->regs[KVMX_RAX];

	if (vcpu->pio.string)
		return complete_string_io(vcpu);
	if (!vcpu->pio.rip_moved)
		skip_instruction(vcpu);
	if (!vcpu->pio.in)
		return 1;
	switch (vcpu->pio.size) {
	case 1:
		*rax = (*rax & ~0xffUL) | *(u8 *)vcpu->pio_data;
		break;
	case 2:
		*rax = (*rax & ~0xffffUL) | *(u16 *)vcpu->pio_data;
		break;
	default:
		*rax = *(u32 *)vcpu->pio_data;
		break;
	}
	return 1;
}

/*
 * RDMSR/WRMSR: through the MSR filter, then kvmx's MSRs; a failure goes to
 * user space when it asked for its reason (msr_filter.c), else is #GP.
 */
static int handle_msr_read(struct kvmx_vcpu *vcpu)
{
	u32 index = vcpu->regs[KVMX_RCX];
	u64 data = 0;
	int r;

	r = kvmx_msr_allowed(vcpu, index, false) ? kvmx_get_msr(vcpu, index, &data, false) :
						   KVMX_MSR_FILTERED;
	trace_kvmx_msr(false, index, data, r);
	if (r)
		return kvmx_msr_user_exit(vcpu, index, false, 0, r) ? 0 : inject_gp(vcpu);
	vcpu->regs[KVMX_RAX] = (u32)data;
	vcpu->regs[KVMX_RDX] = data >> 32;
	skip_instruction(vcpu);
	return 1;
}

static int handle_msr_write(struct kvmx_vcpu *vcpu)
{
	u64 data = (u32)vcpu->regs[KVMX_RAX] | ((u64)(u32)vcpu->regs[KVMX_RDX] << 32);
	u32 index = vcpu->regs[KVMX_RCX];
	int r;

	r = kvmx_msr_allowed(vcpu, index, true) ? kvmx_set_msr(vcpu, index, data, false) :
						  KVMX_MSR_FILTERED;
	trace_kvmx_msr(true, index, data, r);
	if (r)
		return kvmx_msr_user_exit(vcpu, index, true, data, r) ? 0 : inject_gp(vcpu);
	skip_instruction(vcpu);
	return 1;
}

/* KVM_RUN after KVM_EXIT_X86_RDMSR/WRMSR: user space's answer, as KVM. */
int kvmx_complete_msr(struct kvmx_vcpu *vcpu, bool read)
{
	struct kvm_run *run = vcpu->run;

	if (run->msr.error)
		return inject_gp(vcpu);
	if (read) {
		vcpu->regs[KVMX_RAX] = (u32)run->msr.data;
		vcpu->regs[KVMX_RDX] = run->msr.data >> 32;
	}
	skip_instruction(vcpu);
	return 1;
}

/* Hardware walked the guest's tables; EPT refused the access. */
static int handle_ept_violation(struct kvmx_vcpu *vcpu)
{
	return kvmx_mmu_fault(vcpu, vmcs_read(GUEST_PHYSICAL_ADDRESS),
			      (vcpu->exit_qual & EPT_VIOLATION_WRITE) ? KVMX_PFERR_W : 0);
}

/* A misconfigured EPT entry: an MMIO SPTE, as a reserved-bit fault. */
static int handle_ept_misconfig(struct kvmx_vcpu *vcpu)
{
	return kvmx_mmu_fault(vcpu, vmcs_read(GUEST_PHYSICAL_ADDRESS),
			      KVMX_PFERR_P | KVMX_PFERR_RSVD);
}

/* INVLPG exits only under shadow paging. */
static int handle_invlpg(struct kvmx_vcpu *vcpu)
{
	kvmx_mmu_invlpg(vcpu, vcpu->exit_qual);
	skip_instruction(vcpu);
	return 1;
}

static int handle_ud(struct kvmx_vcpu *vcpu)
{
	return inject_ud(vcpu);
}

/*
 * MONITOR and MWAIT, as KVM: no-ops, but #UD when the guest's CPUID lacks
 * MONITOR and KVM_X86_QUIRK_MWAIT_NEVER_UD_FAULTS is off.
 */
static int handle_monitor_mwait(struct kvmx_vcpu *vcpu)
{
	if (!kvmx_has_quirk(vcpu->vm, KVM_X86_QUIRK_MWAIT_NEVER_UD_FAULTS) &&
	    !kvmx_guest_cpuid_has(vcpu, 1, 0, KVMX_CPUID_ECX, X86_FEATURE_MWAIT & 31))
		return inject_ud(vcpu);
	skip_instruction(vcpu);
	return 1;
}

/*
 * VMCALL: KVM's hypercalls (kvm_emulate_hypercall() of 6.1), the number in
 * RAX, the arguments in RBX, RCX, RDX and RSI, the result in RAX (32 bits
 * of each outside 64-bit mode), -KVM_EPERM above CPL 0.  kvmx has
 * KVM_HC_VAPIC_POLL_IRQ and KVM_HC_SCHED_YIELD (0: kvmx has no directed
 * yield, and KVM too yields only to a preempted target);
 * KVM_HC_CLOCK_PAIRING answers -KVM_EOPNOTSUPP, as KVM when the host's
 * clock is not the TSC; everything else, KVM_HC_KICK_CPU and
 * KVM_HC_SEND_IPI included (whose PV features kvmx does not offer), is
 * -KVM_ENOSYS.  With KVM_CAP_ENFORCE_PV_FEATURE_CPUID, SCHED_YIELD needs
 * KVM_FEATURE_PV_SCHED_YIELD in the guest's CPUID.
 */
static int handle_vmcall(struct kvmx_vcpu *vcpu)
{
	bool op64 = long_mode_active();
	unsigned long nr = vcpu->regs[KVMX_RAX];
	long ret = -KVM_ENOSYS;

	if (!op64)
		nr = (u32)nr;
	if (kvmx_guest_cpl() != 0) {
		ret = -KVM_EPERM;
	} else {
		switch (nr) {
		case KVM_HC_VAPIC_POLL_IRQ:
			ret = 0;
			break;
		case KVM_HC_SCHED_YIELD:
			if (kvmx_guest_pv_has(vcpu, KVM_FEATURE_PV_SCHED_YIELD))
				ret = 0;
			break;
		case KVM_HC_CLOCK_PAIRING:
			ret = -KVM_EOPNOTSUPP;
			break;
		}
	}
	vcpu->regs[KVMX_RAX] = op64 ? ret : (u32)ret;
	skip_instruction(vcpu);
	return 1;
}

static int handle_nop(struct kvmx_vcpu *vcpu)
{
	skip_instruction(vcpu);
	return 1;
}

static int (*const exit_handlers[])(struct kvmx_vcpu *vcpu) = {
	[EXIT_REASON_EXCEPTION_NMI] = handle_exception,
	[EXIT_REASON_EXTERNAL_INTERRUPT] = handle_external_interrupt,
	[EXIT_REASON_TRIPLE_FAULT] = handle_triple_fault,
	[EXIT_REASON_INTERRUPT_WINDOW] = handle_interrupt_window,
	[EXIT_REASON_NMI_WINDOW] = handle_nmi_window,
	[EXIT_REASON_CPUID] = handle_cpuid,
	[EXIT_REASON_HLT] = handle_hlt,
	[EXIT_REASON_INVLPG] = handle_invlpg,
	[EXIT_REASON_INVD] = handle_nop,
	[EXIT_REASON_RDPMC] = handle_ud,
	[EXIT_REASON_VMCALL] = handle_vmcall,
	[EXIT_REASON_VMCLEAR ... EXIT_REASON_VMXON] = handle_ud,
	[EXIT_REASON_CR_ACCESS] = handle_cr,
	[EXIT_REASON_DR_ACCESS] = handle_dr,
	[EXIT_REASON_IO_INSTRUCTION] = handle_io,
	[EXIT_REASON_MSR_READ] = handle_msr_read,
	[EXIT_REASON_MSR_WRITE] = handle_msr_write,
	[EXIT_REASON_MWAIT_INSTRUCTION] = handle_monitor_mwait,
	[EXIT_REASON_MONITOR_INSTRUCTION] = handle_monitor_mwait,
	[EXIT_REASON_EPT_VIOLATION] = handle_ept_violation,
	[EXIT_REASON_EPT_MISCONFIG] = handle_ept_misconfig,
	[EXIT_REASON_INVEPT] = handle_ud,
	[EXIT_REASON_INVVPID] = handle_ud,
	[EXIT_REASON_XSETBV] = handle_ud,
};

int kvmx_handle_exit(struct kvmx_vcpu *vcpu)
{
	u32 reason = vcpu->exit_reason;

	kvmx_stat_exit(vcpu, reason);
	if (trace_kvmx_exit_enabled())
		trace_kvmx_exit(vcpu->id, reason, vmcs_read(GUEST_RIP), vcpu->exit_qual,
				vcpu->exit_intr_info);
	if (reason & EXIT_REASON_FAILED_VMENTRY) {
		vcpu->run->exit_reason = KVM_EXIT_FAIL_ENTRY;
		vcpu->run->fail_entry.hardware_entry_failure_reason = reason;
		vcpu->run->fail_entry.cpu = vcpu->last_cpu;
		return 0;
	}
	reason &= 0xffff;
	if (reason < ARRAY_SIZE(exit_handlers) && exit_handlers[reason])
		return exit_handlers[reason](vcpu);
	pr_info_ratelimited("vCPU %u: unhandled VM exit reason %u\n", vcpu->id, reason);
	return internal_error(vcpu, KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON);
}
