// SPDX-License-Identifier: GPL-2.0
/*
 * VMCS lifetime and set-up: where a vCPU's VMCS is loaded, the controls
 * kvmx runs guests with, host state, and the architectural reset state.
 *
 * A VMCS is "loaded" (VMPTRLD) on at most one CPU at a time.  A vCPU's
 * thread loads it in kvmx_vcpu_load(); a preempt notifier moves it when
 * the thread migrates: VMCLEAR on the old CPU (an IPI), VMPTRLD on the new.
 * Each CPU keeps the list of VMCSs loaded on it, touched only on that CPU
 * with interrupts disabled, so that going offline (VMXOFF) can VMCLEAR
 * them first.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/gfp.h>
#include <linux/io.h>
#include <linux/mm.h>
#include <linux/percpu.h>
#include <linux/smp.h>
#include <asm/cpu_entry_area.h>
#include <asm/desc.h>
#include <asm/msr.h>
#include <asm/processor.h>
#include <asm/special_insns.h>
#include <asm/tlbflush.h>

#include "vmx.h"
#include "vmcs.h"
#include "../kvmx.h"
#include "../irq/irq.h"
#include "../mmu/mmu.h"

struct kvmx_vmcs_config kvmx_vmcs_config __ro_after_init;

static DEFINE_PER_CPU(struct list_head, loaded_vmcss);
static DEFINE_PER_CPU(struct page *, current_vmcs);

void kvmx_vmcs_error(const char *insn, unsigned long field, unsigned long value)
{
	pr_err_ratelimited("%s of VMCS field 0x%lx (value 0x%lx) failed, VM-instruction error %lu\n",
			   insn, field, value, vmcs_read(VM_INSTRUCTION_ERROR));
	WARN_ONCE(1, "kvmx: VMCS access failed\n");
}

static bool vmcs_clear_insn(struct page *vmcs)
{
	u64 pa = page_to_phys(vmcs);
	bool fail;

	asm volatile("vmclear %[pa]\n\t"
		     "setna %[fail]"
		     : [fail] "=qm"(fail) : [pa] "m"(pa) : "cc", "memory");
	return !fail;
}

static bool vmcs_load_insn(struct page *vmcs)
{
	u64 pa = page_to_phys(vmcs);
	bool fail;

	asm volatile("vmptrld %[pa]\n\t"
		     "setna %[fail]"
		     : [fail] "=qm"(fail) : [pa] "m"(pa) : "cc", "memory");
	return !fail;
}

static void ept_flush_insn(unsigned long type, u64 eptp)
{
	struct {
		u64 eptp;
		u64 reserved;
	} desc = { eptp, 0 };
	bool fail;

	asm volatile("invept %[desc], %[type]\n\t"
		     "setna %[fail]"
		     : [fail] "=qm"(fail) : [desc] "m"(desc), [type] "r"(type) : "cc", "memory");
	WARN_ONCE(fail, "kvmx: INVEPT type %lu failed\n", type);
}

static void invept_ipi(void *eptp)
{
	if (kvmx_vmx_has(&kvmx_vmx, KVMX_EPT_CAP_INVEPT_SINGLE))
		ept_flush_insn(1, *(u64 *)eptp);
	else
		ept_flush_insn(2, 0);
}

void kvmx_invept_all_cpus(u64 eptp)
{
	on_each_cpu(invept_ipi, &eptp, 1);
}

/* VMCLEAR the VMCS of @vcpu on this CPU, where it is loaded.  IRQs off. */
static void vmcs_clear_local(struct kvmx_vcpu *vcpu)
{
	lockdep_assert_irqs_disabled();
	if (vcpu->cpu != smp_processor_id())
		return;
	vmcs_clear_insn(vcpu->vmcs);
	if (this_cpu_read(current_vmcs) == vcpu->vmcs)
		this_cpu_write(current_vmcs, NULL);
	list_del(&vcpu->loaded_link);
	/* Other CPUs read ->cpu and ->launched only after this one is done. */
	smp_wmb();
	vcpu->cpu = -1;
	vcpu->launched = false;
}

static void vmcs_clear_ipi(void *vcpu)
{
	vmcs_clear_local(vcpu);
}

static void vmcs_clear(struct kvmx_vcpu *vcpu)
{
	int cpu = vcpu->cpu;

	if (cpu != -1)
		smp_call_function_single(cpu, vmcs_clear_ipi, vcpu, 1);
}

void kvmx_vmcs_clear_cpu(void)
{
	struct kvmx_vcpu *vcpu, *tmp;

	lockdep_assert_irqs_disabled();
	list_for_each_entry_safe(vcpu, tmp, this_cpu_ptr(&loaded_vmcss), loaded_link)
		vmcs_clear_local(vcpu);
}

/* Makes @vcpu's VMCS current on this CPU; preemption disabled. */
static void vmcs_load(struct kvmx_vcpu *vcpu)
{
	int cpu = smp_processor_id();
	unsigned long flags;

	if (vcpu->cpu != cpu) {
		vmcs_clear(vcpu);
		/* Pairs with the smp_wmb() in vmcs_clear_local(). */
		smp_rmb();
		local_irq_save(flags);
		list_add(&vcpu->loaded_link, this_cpu_ptr(&loaded_vmcss));
		vcpu->cpu = cpu;
		local_irq_restore(flags);
	}
	if (this_cpu_read(current_vmcs) != vcpu->vmcs) {
		if (!vmcs_load_insn(vcpu->vmcs))
			WARN_ONCE(1, "kvmx: VMPTRLD failed\n");
		this_cpu_write(current_vmcs, vcpu->vmcs);
		/* The per-CPU host state. */
		vmcs_write(HOST_TR_BASE, (unsigned long)&get_cpu_entry_area(cpu)->tss.x86_tss);
		vmcs_write(HOST_GDTR_BASE, (unsigned long)get_current_gdt_ro());
		vmcs_write(HOST_GS_BASE, cpu_kernelmode_gs_base(cpu));
	}
}

static struct kvmx_vcpu *notifier_to_vcpu(struct preempt_notifier *pn)
{
	return container_of(pn, struct kvmx_vcpu, preempt_notifier);
}

static void vcpu_sched_in(struct preempt_notifier *pn, int cpu)
{
	vmcs_load(notifier_to_vcpu(pn));
}

static void vcpu_sched_out(struct preempt_notifier *pn, struct task_struct *next)
{
}

static struct preempt_ops vcpu_preempt_ops = {
	.sched_in = vcpu_sched_in,
	.sched_out = vcpu_sched_out,
};

void kvmx_vcpu_load(struct kvmx_vcpu *vcpu)
{
	preempt_disable();
	preempt_notifier_register(&vcpu->preempt_notifier);
	vmcs_load(vcpu);
	preempt_enable();
}

void kvmx_vcpu_put(struct kvmx_vcpu *vcpu)
{
	preempt_disable();
	preempt_notifier_unregister(&vcpu->preempt_notifier);
	preempt_enable();
}

/*
 * MSRs the guest reads and writes without a VM exit when the MSR filter
 * allows it (the part of KVM's vmx_possible_passthrough_msrs that kvmx
 * has): their guest values live in the VMCS, which VM entry loads and VM
 * exit saves (FS/GS base, SYSENTER), or the vCPU loads the guest's value
 * before every entry and reads it back after every exit (KERNEL_GS_BASE,
 * exit.c).  A 64-bit guest writes FS base and KERNEL_GS_BASE on context
 * switches when its CPU has no FSGSBASE.
 */
static const u32 passthrough_msrs[] = {
	MSR_FS_BASE, MSR_GS_BASE, MSR_KERNEL_GS_BASE,
	MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_ESP, MSR_IA32_SYSENTER_EIP,
};

/* The SDM's layout: read-low, read-high, write-low, write-high, 1 KiB each. */
static void set_msr_intercept(unsigned long *bitmap, u32 msr, bool write, bool intercept)
{
	unsigned long *part = bitmap + (write ? 0x800 : 0) / sizeof(long);

	if (msr >= 0xc0000000) {
		part += 0x400 / sizeof(long);
		msr -= 0xc0000000;
	}
	if (WARN_ON_ONCE(msr > 0x1fff))
		return;
	if (intercept)
		__set_bit(msr, part);
	else
		__clear_bit(msr, part);
}

/*
 * On KVMX_REQ_MSR_BITMAP, by the vCPU's thread outside the guest: each
 * passthrough MSR exits exactly when the filter denies that access, so
 * the exit path applies the filter (and KVM_EXIT_X86_RDMSR/WRMSR).  The
 * filter's writer sets the request on every vCPU and waits until none
 * is still in the guest (msr_filter.c).
 */
void kvmx_update_msr_bitmap(struct kvmx_vcpu *vcpu)
{
	unsigned long *b = vcpu->msr_bitmap;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(passthrough_msrs); i++) {
		u32 msr = passthrough_msrs[i];

		set_msr_intercept(b, msr, false, !kvmx_msr_allowed(vcpu, msr, false));
		set_msr_intercept(b, msr, true, !kvmx_msr_allowed(vcpu, msr, true));
	}
}

int kvmx_vmcs_alloc(struct kvmx_vcpu *vcpu)
{
	vcpu->msr_bitmap = (unsigned long *)__get_free_page(GFP_KERNEL_ACCOUNT);
	if (!vcpu->msr_bitmap)
		return -ENOMEM;
	/* Every access exits until the first entry rebuilds it (vcpu_run()). */
	memset(vcpu->msr_bitmap, 0xff, PAGE_SIZE);
	set_bit(KVMX_REQ_MSR_BITMAP, &vcpu->requests);
	vcpu->vmcs = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
	if (!vcpu->vmcs)
		return -ENOMEM;
	*(u32 *)page_address(vcpu->vmcs) = kvmx_vmx.revision_id;
	vcpu->cpu = -1;
	INIT_LIST_HEAD(&vcpu->loaded_link);
	preempt_notifier_init(&vcpu->preempt_notifier, &vcpu_preempt_ops);
	return 0;
}

void kvmx_vmcs_free(struct kvmx_vcpu *vcpu)
{
	free_page((unsigned long)vcpu->msr_bitmap);
	vcpu->msr_bitmap = NULL;
	if (!vcpu->vmcs)
		return;
	vmcs_clear(vcpu);
	__free_page(vcpu->vmcs);
	vcpu->vmcs = NULL;
}

static void setup_host_state(void)
{
	vmcs_write(HOST_CR0, read_cr0() & ~X86_CR0_TS);
	vmcs_write(HOST_CR3, __read_cr3());
	vmcs_write(HOST_CR4, cr4_read_shadow());
	vmcs_write(HOST_CS_SELECTOR, __KERNEL_CS);
	vmcs_write(HOST_SS_SELECTOR, __KERNEL_DS);
	vmcs_write(HOST_DS_SELECTOR, 0);
	vmcs_write(HOST_ES_SELECTOR, 0);
	vmcs_write(HOST_FS_SELECTOR, 0);
	vmcs_write(HOST_GS_SELECTOR, 0);
	vmcs_write(HOST_TR_SELECTOR, GDT_ENTRY_TSS * 8);
	vmcs_write(HOST_IDTR_BASE, (unsigned long)CPU_ENTRY_AREA_RO_IDT_VADDR);
	vmcs_write(HOST_RIP, (unsigned long)kvmx_vmx_vmexit);
	vmcs_write(HOST_IA32_SYSENTER_CS, 0);
	vmcs_write(HOST_IA32_SYSENTER_ESP, 0);
	vmcs_write(HOST_IA32_SYSENTER_EIP, 0);
	vmcs_write(HOST_IA32_EFER, __rdmsr(MSR_EFER));
	vmcs_write(HOST_IA32_PAT, __rdmsr(MSR_IA32_CR_PAT));
}

static void set_segment(enum kvmx_seg seg, u16 sel, unsigned long base, u32 limit, u32 ar)
{
	vmcs_write(VMCS_SEG_SELECTOR(seg), sel);
	vmcs_write(VMCS_SEG_BASE(seg), base);
	vmcs_write(VMCS_SEG_LIMIT(seg), limit);
	vmcs_write(VMCS_SEG_AR(seg), ar);
}

/* The state of a vCPU after RESET, as KVM sets it up. */
static void setup_guest_state(struct kvmx_vcpu *vcpu)
{
	static const u64 no_pdptes[4];
	enum kvmx_seg seg;

	set_segment(KVMX_SEG_CS, 0xf000, 0xffff0000, 0xffff, 0x9b);
	for (seg = KVMX_SEG_ES; seg <= KVMX_SEG_GS; seg++)
		if (seg != KVMX_SEG_CS)
			set_segment(seg, 0, 0, 0xffff, 0x93);
	set_segment(KVMX_SEG_LDTR, 0, 0, 0xffff, 0x82);
	set_segment(KVMX_SEG_TR, 0, 0, 0xffff, 0x8b);
	vmcs_write(GUEST_GDTR_BASE, 0);
	vmcs_write(GUEST_GDTR_LIMIT, 0xffff);
	vmcs_write(GUEST_IDTR_BASE, 0);
	vmcs_write(GUEST_IDTR_LIMIT, 0xffff);

	vmcs_write(GUEST_RIP, 0xfff0);
	vmcs_write(GUEST_RSP, 0);
	kvmx_set_rflags(vcpu, X86_EFLAGS_FIXED);	/* KVM_GUESTDBG_SINGLESTEP's TF, as KVM */
	kvmx_set_cr0(vcpu, X86_CR0_ET | X86_CR0_CD | X86_CR0_NW);
	kvmx_set_cr4(vcpu, 0);
	kvmx_mmu_set_cr3(vcpu, 0);
	/* No PDPTEs until PAE paging loads some (a failed load keeps these). */
	kvmx_write_pdptrs(no_pdptes);
	vmcs_write(GUEST_IA32_EFER, 0);
	vmcs_write(GUEST_IA32_PAT, 0x0007040600070406ULL);
	vmcs_write(GUEST_IA32_DEBUGCTL, 0);
	/* The guest's DR7 is a shadow: the CPU's is only KVM_GUESTDBG_USE_HW_BP's. */
	vmcs_write(GUEST_DR7, (vcpu->debug.control & KVM_GUESTDBG_USE_HW_BP) ?
		   vcpu->debug.dr7 : KVMX_DR7_FIXED_1);
	vmcs_write(GUEST_SYSENTER_CS, 0);
	vmcs_write(GUEST_SYSENTER_ESP, 0);
	vmcs_write(GUEST_SYSENTER_EIP, 0);
	vmcs_write(GUEST_INTERRUPTIBILITY_INFO, 0);
	vmcs_write(GUEST_ACTIVITY_STATE, 0);
	vmcs_write(GUEST_PENDING_DBG_EXCEPTIONS, 0);
	vmcs_write(VMCS_LINK_POINTER, ~0ULL);
	vcpu->regs[KVMX_RDX] = 0x600;	/* family 6, as after RESET */
	vcpu->dr6 = KVMX_DR6_FIXED_1;
	vcpu->dr7 = KVMX_DR7_FIXED_1;
	vcpu->apic_base = APIC_DEFAULT_PHYS_BASE | MSR_IA32_APICBASE_ENABLE |
			  (kvmx_vcpu_is_reset_bsp(vcpu) ? MSR_IA32_APICBASE_BSP : 0);
}

/*
 * KVM's vmx_update_exception_bitmap() for KVM_SET_GUEST_DEBUG: #BP exits
 * with KVM_GUESTDBG_USE_SW_BP.  #DB always exits (see
 * kvmx_vmcs_config_init()), and the MMU's #PF bit stays.
 */
void kvmx_update_exception_bitmap(struct kvmx_vcpu *vcpu)
{
	u32 eb = vmcs_read(EXCEPTION_BITMAP) & ~BIT(BP_VECTOR);

	if (vcpu->debug.control & KVM_GUESTDBG_USE_SW_BP)
		eb |= BIT(BP_VECTOR);
	vmcs_write(EXCEPTION_BITMAP, eb);
}

/* INIT: the state after RESET, but IA32_APIC_BASE stays (vCPU loaded). */
void kvmx_vcpu_init_event(struct kvmx_vcpu *vcpu)
{
	u64 apic_base = vcpu->apic_base;

	memset(vcpu->regs, 0, sizeof(vcpu->regs));
	vcpu->cr2 = 0;
	vcpu->cr8 = 0;
	vcpu->irq = -1;
	vcpu->exception.pending = false;
	vcpu->reinject_info = 0;
	vmcs_clear_bits(VM_ENTRY_CONTROLS, ENTRY_IA32E_MODE);
	vmcs_clear_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_INTR_WINDOW_EXITING);
	vmcs_write(VM_ENTRY_INTR_INFO_FIELD, 0);
	setup_guest_state(vcpu);
	vcpu->apic_base = apic_base;
}

/* SIPI: start at @vector:0000 in real mode. */
void kvmx_vcpu_sipi(struct kvmx_vcpu *vcpu, u8 vector)
{
	vmcs_write(GUEST_CS_SELECTOR, (u16)vector << 8);
	vmcs_write(GUEST_CS_BASE, (u64)vector << 12);
	vmcs_write(GUEST_RIP, 0);
}

void kvmx_vmcs_setup(struct kvmx_vcpu *vcpu)
{
	const struct kvmx_vmcs_config *c = &kvmx_vmcs_config;

	kvmx_vcpu_load(vcpu);
	vmcs_write(PIN_BASED_VM_EXEC_CONTROL, c->pin);
	vmcs_write(CPU_BASED_VM_EXEC_CONTROL, c->proc);
	vmcs_write(MSR_BITMAP, __pa(vcpu->msr_bitmap));
	vmcs_write(SECONDARY_VM_EXEC_CONTROL, c->proc2);
	vmcs_write(VM_EXIT_CONTROLS, c->exit);
	vmcs_write(VM_ENTRY_CONTROLS, c->entry);
	vmcs_write(EXCEPTION_BITMAP, c->exception_bitmap);
	vmcs_write(PAGE_FAULT_ERROR_CODE_MASK, 0);
	vmcs_write(PAGE_FAULT_ERROR_CODE_MATCH, 0);
	vmcs_write(CR3_TARGET_COUNT, 0);
	vmcs_write(VM_EXIT_MSR_STORE_COUNT, 0);
	vmcs_write(VM_EXIT_MSR_LOAD_COUNT, 0);
	vmcs_write(VM_ENTRY_MSR_LOAD_COUNT, 0);
	vmcs_write(VM_ENTRY_INTR_INFO_FIELD, 0);
	/* The MMU may take more CR0/CR4 bits (shadow paging owns PG, CR4.PAE, ...). */
	vcpu->cr0_host_owned = c->cr0_host_owned;
	vcpu->cr4_host_owned = c->cr4_host_owned;
	kvmx_mmu_load(vcpu);
	vmcs_write(CR0_GUEST_HOST_MASK, vcpu->cr0_host_owned);
	vmcs_write(CR4_GUEST_HOST_MASK, vcpu->cr4_host_owned);
	vmcs_write(TSC_OFFSET, vcpu->tsc_offset);
	setup_host_state();
	setup_guest_state(vcpu);
	kvmx_vcpu_put(vcpu);
}

/* Guest-owned CR4 bits: the guest changes them without a VM exit. */
#define CR4_GUEST_OWNED (X86_CR4_VME | X86_CR4_PVI | X86_CR4_TSD | X86_CR4_DE | \
			 X86_CR4_PSE | X86_CR4_PAE | X86_CR4_MCE | X86_CR4_PGE | \
			 X86_CR4_PCE | X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT | \
			 X86_CR4_FSGSBASE | X86_CR4_SMEP | X86_CR4_SMAP)

int kvmx_vmcs_config_init(void)
{
	struct kvmx_vmcs_config *c = &kvmx_vmcs_config;
	const struct kvmx_vmx_caps *caps = &kvmx_vmx;

	if (!kvmx_vmx_adjust(&caps->pin, PIN_EXT_INTR_EXITING | PIN_NMI_EXITING,
			     PIN_VIRTUAL_NMIS, &c->pin) ||
	    !kvmx_vmx_adjust(&caps->proc, CPU_HLT_EXITING | CPU_USE_TSC_OFFSETTING |
			     CPU_CR8_LOAD_EXITING | CPU_CR8_STORE_EXITING | CPU_MOV_DR_EXITING |
			     CPU_UNCOND_IO_EXITING | CPU_MWAIT_EXITING | CPU_MONITOR_EXITING |
			     CPU_RDPMC_EXITING | CPU_USE_MSR_BITMAPS | CPU_ACTIVATE_SECONDARY, 0,
			     &c->proc) ||
	    !kvmx_vmx_adjust(&caps->proc2, CPU2_ENABLE_EPT | CPU2_UNRESTRICTED_GUEST, 0,
			     &c->proc2) ||
	    !kvmx_vmx_adjust(&caps->exit, EXIT_HOST_ADDR_SPACE_SIZE | EXIT_SAVE_IA32_EFER |
			     EXIT_LOAD_IA32_EFER | EXIT_SAVE_IA32_PAT | EXIT_LOAD_IA32_PAT |
			     EXIT_SAVE_DEBUG_CONTROLS, 0, &c->exit) ||
	    !kvmx_vmx_adjust(&caps->entry, ENTRY_LOAD_IA32_EFER | ENTRY_LOAD_IA32_PAT |
			     ENTRY_LOAD_DEBUG_CONTROLS, 0, &c->entry)) {
		pr_err("the CPU lacks a VMX control kvmx needs (EPT, unrestricted guest, EFER/PAT switching, ...)\n");
		return -EOPNOTSUPP;
	}
	if (!kvmx_vmx_has(caps, KVMX_EPT_CAP_PWL4) || !kvmx_vmx_has(caps, KVMX_EPT_CAP_WB) ||
	    !kvmx_vmx_has(caps, KVMX_EPT_CAP_INVEPT) ||
	    !(kvmx_vmx_has(caps, KVMX_EPT_CAP_INVEPT_SINGLE) ||
	      kvmx_vmx_has(caps, KVMX_EPT_CAP_INVEPT_ALL))) {
		pr_err("EPT lacks 4-level walks, write-back tables or INVEPT\n");
		return -EOPNOTSUPP;
	}
	/*
	 * #DB and #AC: a guest could otherwise loop the CPU in event delivery.
	 * #UD: AMD's VMMCALL becomes VMCALL (exit.c), as in KVM.
	 */
	c->exception_bitmap = BIT(DB_VECTOR) | BIT(AC_VECTOR) | BIT(UD_VECTOR);
	c->cr0_host_owned = X86_CR0_NE | X86_CR0_CD | X86_CR0_NW;
	/* Without MISC bit 5 kvmx must see paging turn on to set IA-32e mode. */
	if (!caps->lma_saved_on_exit)
		c->cr0_host_owned |= X86_CR0_PG | X86_CR0_PE;
	c->cr4_host_owned = ~(unsigned long)CR4_GUEST_OWNED;
	return 0;
}

void kvmx_vmcs_init_cpu_lists(void)
{
	int cpu;

	for_each_possible_cpu(cpu)
		INIT_LIST_HEAD(per_cpu_ptr(&loaded_vmcss, cpu));
}
