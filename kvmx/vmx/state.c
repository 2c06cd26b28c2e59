// SPDX-License-Identifier: GPL-2.0
/*
 * Guest register state: control registers, EFER, segments, MSRs and event
 * queueing, between KVM's uapi structures and the VMCS.  Every function
 * here runs with the vCPU loaded (its VMCS current on this CPU).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kvm_para.h>
#include <asm/irq_vectors.h>
#include <asm/msr-index.h>
#include <asm/processor.h>
#include <asm/processor-flags.h>
#include <asm/trapnr.h>

#include "vmx.h"
#include "vmcs.h"
#include "../kvmx.h"
#include "../irq/irq.h"
#include "../mmu/mmu.h"
#include "../mmu/walk.h"

#define EFER_VALID	(EFER_SCE | EFER_LME | EFER_LMA | EFER_NX)

static bool is_canonical(u64 la)
{
	return ((s64)la << 16 >> 16) == (s64)la;
}

static void set_long_mode(bool lma)
{
	u64 efer = vmcs_read(GUEST_IA32_EFER);

	if (lma) {
		vmcs_write(GUEST_IA32_EFER, efer | EFER_LMA);
		vmcs_set_bits(VM_ENTRY_CONTROLS, ENTRY_IA32E_MODE);
	} else {
		vmcs_write(GUEST_IA32_EFER, efer & ~EFER_LMA);
		vmcs_clear_bits(VM_ENTRY_CONTROLS, ENTRY_IA32E_MODE);
	}
}

/* The caller checked @cr0 for what would raise #GP. */
void kvmx_set_cr0(struct kvmx_vcpu *vcpu, unsigned long cr0)
{
	unsigned long old = kvmx_get_cr0(vcpu);

	if (vmcs_read(GUEST_IA32_EFER) & EFER_LME) {
		if (!(old & X86_CR0_PG) && (cr0 & X86_CR0_PG))
			set_long_mode(true);
		else if ((old & X86_CR0_PG) && !(cr0 & X86_CR0_PG))
			set_long_mode(false);
	}
	vmcs_write(CR0_READ_SHADOW, cr0);
	/*
	 * With unrestricted guest, PE and PG may be 0; NE must stay 1.  A
	 * shadow MMU then puts in what the CPU needs (cr_changed).
	 */
	vmcs_write(GUEST_CR0, (cr0 | X86_CR0_NE) & ~(X86_CR0_CD | X86_CR0_NW));
	kvmx_mmu_cr_changed(vcpu);
}

/* Returns -EINVAL for a value that would raise #GP. */
int kvmx_set_cr4(struct kvmx_vcpu *vcpu, unsigned long cr4)
{
	unsigned long allowed = ~kvmx_vmcs_config.cr4_host_owned & kvmx_vmx.cr4_fixed1;

	if (cr4 & ~allowed)
		return -EINVAL;
	if ((vmcs_read(GUEST_IA32_EFER) & EFER_LMA) && !(cr4 & X86_CR4_PAE))
		return -EINVAL;
	vmcs_write(CR4_READ_SHADOW, cr4);
	vmcs_write(GUEST_CR4, cr4 | X86_CR4_VMXE);
	kvmx_mmu_cr_changed(vcpu);
	return 0;
}

/* Returns -EINVAL for a value that would raise #GP. */
int kvmx_set_efer(struct kvmx_vcpu *vcpu, u64 efer)
{
	u64 old = vmcs_read(GUEST_IA32_EFER);

	if (efer & ~EFER_VALID)
		return -EINVAL;
	/* LME cannot change while paging is on. */
	if ((kvmx_get_cr0(vcpu) & X86_CR0_PG) && ((efer ^ old) & EFER_LME))
		return -EINVAL;
	vmcs_write(GUEST_IA32_EFER, efer);
	set_long_mode(efer & EFER_LMA);
	kvmx_mmu_cr_changed(vcpu);
	return 0;
}

int kvmx_guest_cpl(void)
{
	return (vmcs_read(GUEST_SS_AR_BYTES) >> VMX_AR_DPL_SHIFT) & 3;
}

/* KVM's kvm_get_linear_rip(): CS.base + RIP, in 32 bits outside 64-bit mode. */
unsigned long kvmx_linear_rip(void)
{
	unsigned long rip = vmcs_read(GUEST_RIP);

	if ((vmcs_read(GUEST_CS_AR_BYTES) & VMX_AR_L) && (vmcs_read(GUEST_IA32_EFER) & EFER_LMA))
		return rip;
	return (u32)(vmcs_read(GUEST_CS_BASE) + rip);
}

/*
 * RFLAGS as user space sees and sets it, KVM's kvm_get/set_rflags(): with
 * KVM_GUESTDBG_SINGLESTEP, TF is kvmx's, hidden from KVM_GET_REGS, and
 * added on a set while RIP is where stepping began.
 */
unsigned long kvmx_get_rflags(struct kvmx_vcpu *vcpu)
{
	unsigned long rflags = vmcs_read(GUEST_RFLAGS);

	if (vcpu->debug.control & KVM_GUESTDBG_SINGLESTEP)
		rflags &= ~X86_EFLAGS_TF;
	return rflags;
}

void kvmx_set_rflags(struct kvmx_vcpu *vcpu, unsigned long rflags)
{
	if ((vcpu->debug.control & KVM_GUESTDBG_SINGLESTEP) &&
	    kvmx_linear_rip() == vcpu->debug.singlestep_rip)
		rflags |= X86_EFLAGS_TF;
	vmcs_write(GUEST_RFLAGS, rflags);
}

void kvmx_get_regs(struct kvmx_vcpu *vcpu, struct kvm_regs *r)
{
	u64 *g = vcpu->regs;

	r->rax = g[KVMX_RAX];
	r->rbx = g[KVMX_RBX];
	r->rcx = g[KVMX_RCX];
	r->rdx = g[KVMX_RDX];
	r->rsi = g[KVMX_RSI];
	r->rdi = g[KVMX_RDI];
	r->rsp = vmcs_read(GUEST_RSP);
	r->rbp = g[KVMX_RBP];
	r->r8 = g[KVMX_R8];
	r->r9 = g[KVMX_R9];
	r->r10 = g[KVMX_R10];
	r->r11 = g[KVMX_R11];
	r->r12 = g[KVMX_R12];
	r->r13 = g[KVMX_R13];
	r->r14 = g[KVMX_R14];
	r->r15 = g[KVMX_R15];
	r->rip = vmcs_read(GUEST_RIP);
	r->rflags = kvmx_get_rflags(vcpu);
}

void kvmx_set_regs(struct kvmx_vcpu *vcpu, const struct kvm_regs *r)
{
	u64 *g = vcpu->regs;

	g[KVMX_RAX] = r->rax;
	g[KVMX_RBX] = r->rbx;
	g[KVMX_RCX] = r->rcx;
	g[KVMX_RDX] = r->rdx;
	g[KVMX_RSI] = r->rsi;
	g[KVMX_RDI] = r->rdi;
	vmcs_write(GUEST_RSP, r->rsp);
	g[KVMX_RBP] = r->rbp;
	g[KVMX_R8] = r->r8;
	g[KVMX_R9] = r->r9;
	g[KVMX_R10] = r->r10;
	g[KVMX_R11] = r->r11;
	g[KVMX_R12] = r->r12;
	g[KVMX_R13] = r->r13;
	g[KVMX_R14] = r->r14;
	g[KVMX_R15] = r->r15;
	vmcs_write(GUEST_RIP, r->rip);
	/* Bit 1 is always 1; the reserved bits are always 0 (KVM does so too). */
	kvmx_set_rflags(vcpu, (r->rflags | X86_EFLAGS_FIXED) & 0x3f7fd7);
}

static void get_segment(enum kvmx_seg seg, struct kvm_segment *var)
{
	u32 ar = vmcs_read(VMCS_SEG_AR(seg));

	var->base = vmcs_read(VMCS_SEG_BASE(seg));
	var->limit = vmcs_read(VMCS_SEG_LIMIT(seg));
	var->selector = vmcs_read(VMCS_SEG_SELECTOR(seg));
	var->type = ar & VMX_AR_TYPE_MASK;
	var->s = !!(ar & VMX_AR_S);
	var->dpl = (ar >> VMX_AR_DPL_SHIFT) & 3;
	var->unusable = !!(ar & VMX_AR_UNUSABLE);
	/* As KVM: an unusable segment reads as not present. */
	var->present = !var->unusable;
	var->avl = !!(ar & VMX_AR_AVL);
	var->l = !!(ar & VMX_AR_L);
	var->db = !!(ar & VMX_AR_DB);
	var->g = !!(ar & VMX_AR_G);
	var->padding = 0;
}

static void set_segment(enum kvmx_seg seg, const struct kvm_segment *var)
{
	u32 ar;

	if (var->unusable || !var->present) {
		ar = VMX_AR_UNUSABLE;
	} else {
		ar = (var->type & VMX_AR_TYPE_MASK) | (var->s ? VMX_AR_S : 0) |
		     ((var->dpl & 3) << VMX_AR_DPL_SHIFT) | VMX_AR_P |
		     (var->avl ? VMX_AR_AVL : 0) | (var->l ? VMX_AR_L : 0) |
		     (var->db ? VMX_AR_DB : 0) | (var->g ? VMX_AR_G : 0);
		/* VM entry wants code/data segments "accessed" (old VMMs forget). */
		if (seg != KVMX_SEG_LDTR && seg != KVMX_SEG_TR)
			ar |= 1;
	}
	vmcs_write(VMCS_SEG_SELECTOR(seg), var->selector);
	vmcs_write(VMCS_SEG_BASE(seg), var->base);
	vmcs_write(VMCS_SEG_LIMIT(seg), var->limit);
	vmcs_write(VMCS_SEG_AR(seg), ar);
}

void kvmx_get_sregs(struct kvmx_vcpu *vcpu, struct kvm_sregs *s)
{
	memset(s, 0, sizeof(*s));
	get_segment(KVMX_SEG_CS, &s->cs);
	get_segment(KVMX_SEG_DS, &s->ds);
	get_segment(KVMX_SEG_ES, &s->es);
	get_segment(KVMX_SEG_FS, &s->fs);
	get_segment(KVMX_SEG_GS, &s->gs);
	get_segment(KVMX_SEG_SS, &s->ss);
	get_segment(KVMX_SEG_TR, &s->tr);
	get_segment(KVMX_SEG_LDTR, &s->ldt);
	s->gdt.base = vmcs_read(GUEST_GDTR_BASE);
	s->gdt.limit = vmcs_read(GUEST_GDTR_LIMIT);
	s->idt.base = vmcs_read(GUEST_IDTR_BASE);
	s->idt.limit = vmcs_read(GUEST_IDTR_LIMIT);
	s->cr0 = kvmx_get_cr0(vcpu);
	s->cr2 = vcpu->cr2;
	s->cr3 = kvmx_mmu_get_cr3(vcpu);
	s->cr4 = kvmx_get_cr4(vcpu);
	s->cr8 = vcpu->apic ? kvmx_lapic_get_cr8(vcpu) : vcpu->cr8;
	s->efer = vmcs_read(GUEST_IA32_EFER);
	s->apic_base = vcpu->apic_base;
	if (vcpu->irq >= 0)
		s->interrupt_bitmap[vcpu->irq / 64] = 1ULL << (vcpu->irq % 64);
}

/*
 * PAE paging's PDPTE registers, KVM's load_pdptrs() in two steps so that a
 * MOV that #GPs changes nothing: kvmx_read_pdptrs() reads the four PDPTEs
 * at @cr3 & ~0x1f and returns -EINVAL (the CPU's #GP) if they are not
 * guest RAM or a present one has a reserved bit; kvmx_write_pdptrs() then
 * puts them in the VMCS's PDPTE fields, which the CPU loads at VM entry
 * with EPT and the shadow MMU reads without (its PAE root, the walker).
 */
int kvmx_read_pdptrs(struct kvmx_vcpu *vcpu, u64 cr3, u64 pdpte[4])
{
	int i;

	if (kvmx_read_guest(vcpu->vm, cr3 & ~0x1fUL, pdpte, 4 * sizeof(u64)))
		return -EINVAL;
	for (i = 0; i < 4; i++)
		if (!kvmx_pae_pdpte_valid(pdpte[i], boot_cpu_data.x86_phys_bits))
			return -EINVAL;
	return 0;
}

void kvmx_write_pdptrs(const u64 pdpte[4])
{
	int i;

	for (i = 0; i < 4; i++)
		vmcs_write(GUEST_PDPTR0 + 2 * i, pdpte[i]);
}

int kvmx_set_sregs(struct kvmx_vcpu *vcpu, const struct kvm_sregs *s)
{
	u64 pdpte[4];
	int i;

	/* The same consistency checks as KVM's kvm_is_valid_sregs(). */
	if ((s->efer & EFER_LME) && (s->cr0 & X86_CR0_PG)) {
		if (!(s->cr4 & X86_CR4_PAE) || !(s->efer & EFER_LMA))
			return -EINVAL;
	} else if ((s->efer & EFER_LMA) || s->cs.l) {
		return -EINVAL;
	}
	if (s->efer & ~EFER_VALID)
		return -EINVAL;
	if ((s->cr0 & X86_CR0_PG) && !(s->cr0 & X86_CR0_PE))
		return -EINVAL;
	if (s->cr4 & ~(~kvmx_vmcs_config.cr4_host_owned & kvmx_vmx.cr4_fixed1))
		return -EINVAL;
	/* With an in-kernel LAPIC, APIC_BASE is checked as a host MSR write (KVM). */
	if (vcpu->apic) {
		if (kvmx_lapic_set_msr(vcpu, MSR_IA32_APICBASE, s->apic_base, true))
			return -EINVAL;
		kvmx_lapic_set_cr8(vcpu, s->cr8);
	}

	vmcs_write(GUEST_IDTR_BASE, s->idt.base);
	vmcs_write(GUEST_IDTR_LIMIT, s->idt.limit);
	vmcs_write(GUEST_GDTR_BASE, s->gdt.base);
	vmcs_write(GUEST_GDTR_LIMIT, s->gdt.limit);
	vcpu->cr2 = s->cr2;
	kvmx_mmu_set_cr3(vcpu, s->cr3);
	vcpu->cr8 = s->cr8 & 0xf;
	vmcs_write(GUEST_IA32_EFER, s->efer);
	set_long_mode(s->efer & EFER_LMA);
	vmcs_write(CR0_READ_SHADOW, s->cr0);
	vmcs_write(GUEST_CR0, (s->cr0 | X86_CR0_NE) & ~(X86_CR0_CD | X86_CR0_NW));
	kvmx_set_cr4(vcpu, s->cr4);
	if (!vcpu->apic)
		vcpu->apic_base = s->apic_base;

	set_segment(KVMX_SEG_CS, &s->cs);
	set_segment(KVMX_SEG_DS, &s->ds);
	set_segment(KVMX_SEG_ES, &s->es);
	set_segment(KVMX_SEG_FS, &s->fs);
	set_segment(KVMX_SEG_GS, &s->gs);
	set_segment(KVMX_SEG_SS, &s->ss);
	set_segment(KVMX_SEG_TR, &s->tr);
	set_segment(KVMX_SEG_LDTR, &s->ldt);

	/*
	 * As KVM's __set_sregs_common(): PAE paging loads the PDPTEs, and
	 * PDPTEs the CPU would refuse are not loaded, without an error.
	 */
	if ((s->cr0 & X86_CR0_PG) && (s->cr4 & X86_CR4_PAE) && !(s->efer & EFER_LMA) &&
	    !kvmx_read_pdptrs(vcpu, s->cr3, pdpte))
		kvmx_write_pdptrs(pdpte);
	/* After the PDPTEs, which a shadow MMU reads too. */
	kvmx_mmu_cr_changed(vcpu);

	vcpu->irq = -1;
	for (i = 0; i < 256; i++) {
		if (s->interrupt_bitmap[i / 64] & (1ULL << (i % 64))) {
			vcpu->irq = i;
			break;
		}
	}
	return 0;
}

const u32 kvmx_msr_list[] = {
	MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_ESP, MSR_IA32_SYSENTER_EIP,
	MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_SYSCALL_MASK, MSR_KERNEL_GS_BASE,
	MSR_FS_BASE, MSR_GS_BASE, MSR_EFER, MSR_IA32_CR_PAT, MSR_IA32_TSC,
	MSR_IA32_APICBASE, MSR_IA32_MISC_ENABLE, MSR_PLATFORM_INFO,
	MSR_KVM_WALL_CLOCK, MSR_KVM_SYSTEM_TIME, MSR_KVM_WALL_CLOCK_NEW, MSR_KVM_SYSTEM_TIME_NEW,
	MSR_IA32_MCG_STATUS, MSR_IA32_MCG_CTL, MSR_IA32_MCG_EXT_CTL,
	MSR_IA32_TSC_ADJUST, MSR_KVM_STEAL_TIME, MSR_IA32_POWER_CTL,
};

const unsigned int kvmx_msr_list_len = ARRAY_SIZE(kvmx_msr_list);

static int swapped_index(u32 index)
{
	switch (index) {
	case MSR_STAR:
		return KVMX_MSR_STAR;
	case MSR_LSTAR:
		return KVMX_MSR_LSTAR;
	case MSR_CSTAR:
		return KVMX_MSR_CSTAR;
	case MSR_SYSCALL_MASK:
		return KVMX_MSR_SFMASK;
	case MSR_KERNEL_GS_BASE:
		return KVMX_MSR_KERNEL_GS_BASE;
	default:
		return -1;
	}
}

/*
 * An MSR kvmx does not have: KVMX_MSR_UNKNOWN, as KVM's KVM_MSR_RET_INVALID
 * (KVM_MSR_EXIT_REASON_UNKNOWN); the x2APIC range without an in-kernel
 * LAPIC is KVM's to refuse as invalid.
 */
static int unknown_msr(u32 index)
{
	return index >= 0x800 && index <= 0x8ff ? -EINVAL : KVMX_MSR_UNKNOWN;
}

/*
 * Returns 0, or an error (#GP for a guest): KVMX_MSR_UNKNOWN for an MSR
 * kvmx does not know, -EINVAL for one it refuses.
 */
int kvmx_get_msr(struct kvmx_vcpu *vcpu, u32 index, u64 *data, bool host)
{
	int swapped = swapped_index(index), r;
	int mtrr = kvmx_mtrr_slot(index);
	int bank = kvmx_mce_bank_reg(index, vcpu->mce.cap);
	int ctl2 = kvmx_mce_ctl2_bank(index);

	if (vcpu->apic) {
		r = kvmx_lapic_get_msr(vcpu, index, data);
		if (r != -ENOENT)
			return r;
	}

	if (swapped >= 0) {
		*data = vcpu->msrs[swapped];
		return 0;
	}
	switch (index) {
	case MSR_IA32_SYSENTER_CS:
		*data = vmcs_read(GUEST_SYSENTER_CS);
		break;
	case MSR_IA32_SYSENTER_ESP:
		*data = vmcs_read(GUEST_SYSENTER_ESP);
		break;
	case MSR_IA32_SYSENTER_EIP:
		*data = vmcs_read(GUEST_SYSENTER_EIP);
		break;
	case MSR_FS_BASE:
		*data = vmcs_read(GUEST_FS_BASE);
		break;
	case MSR_GS_BASE:
		*data = vmcs_read(GUEST_GS_BASE);
		break;
	case MSR_EFER:
		*data = vmcs_read(GUEST_IA32_EFER);
		break;
	case MSR_IA32_CR_PAT:
		*data = vmcs_read(GUEST_IA32_PAT);
		break;
	case MSR_IA32_TSC:
		*data = rdtsc() + vcpu->tsc_offset;
		break;
	case MSR_IA32_TSC_ADJUST:	/* as KVM: readable whatever CPUID says */
		*data = vcpu->tsc_adjust;
		break;
	case MSR_KVM_STEAL_TIME:
		return kvmx_steal_time_get(vcpu, data);
	case MSR_IA32_APICBASE:
		*data = vcpu->apic_base;
		break;
	case MSR_IA32_MISC_ENABLE:
		*data = vcpu->misc_enable;
		break;
	case KVMX_MSR_MTRRCAP:
		*data = KVMX_MTRRCAP;
		break;
	case MSR_IA32_POWER_CTL:
		*data = vcpu->msr_power_ctl;
		break;
	case MSR_KVM_WALL_CLOCK:
	case MSR_KVM_SYSTEM_TIME:
	case MSR_KVM_WALL_CLOCK_NEW:
	case MSR_KVM_SYSTEM_TIME_NEW:
		return kvmx_kvmclock_get_msr(vcpu, index, data);
	case MSR_IA32_MCG_CAP:
		*data = vcpu->mce.cap;
		break;
	case MSR_IA32_MCG_STATUS:
		*data = vcpu->mce.status;
		break;
	case MSR_IA32_MCG_CTL:
		if (!(vcpu->mce.cap & KVMX_MCG_CTL_P) && !host)
			return -EINVAL;
		*data = vcpu->mce.ctl;
		break;
	case MSR_IA32_MCG_EXT_CTL:	/* no guest LMCE: IA32_FEATURE_CONTROL lacks it */
		if (!host)
			return -EINVAL;
		*data = vcpu->mce.ext_ctl;
		break;
	case MSR_IA32_UCODE_REV:
		*data = vcpu->microcode_version;
		break;
	case MSR_PLATFORM_INFO:
		/* As KVM: the guest reads it only with KVM_CAP_MSR_PLATFORM_INFO on. */
		if (!host && !READ_ONCE(vcpu->vm->guest_can_read_msr_platform_info))
			return -EINVAL;
		*data = vcpu->msr_platform_info;
		break;
	default:
		if (mtrr >= 0)
			*data = vcpu->mtrr[mtrr];
		else if (bank >= 0)
			*data = vcpu->mce.banks[bank];
		else if (ctl2 >= 0 && kvmx_mce_ctl2_read_ok(vcpu->mce.cap, ctl2, host))
			*data = vcpu->mce.ctl2[ctl2];
		else if (ctl2 >= 0)
			return -EINVAL;		/* as KVM: refused, not unknown */
		else
			return unknown_msr(index);
	}
	return 0;
}

static bool pat_valid(u64 pat)
{
	int i;

	for (i = 0; i < 8; i++) {
		u8 type = pat >> (8 * i);

		if (type > 7 || type == 2 || type == 3)
			return false;
	}
	return true;
}

/* The guest's TSC is the host's plus @offset (the vCPU's VMCS is loaded). */
void kvmx_set_tsc_offset(struct kvmx_vcpu *vcpu, u64 offset)
{
	vcpu->tsc_offset = offset;
	vmcs_write(TSC_OFFSET, offset);
	vcpu->kvmclock_update = true;	/* its tsc_timestamp moves with it */
}

/*
 * As KVM: with KVM_X86_QUIRK_MISC_ENABLE_NO_MWAIT off, the MWAIT bit of
 * IA32_MISC_ENABLE is CPUID.1:ECX.MONITOR (and needs SSE3 to change).
 */
static int set_misc_enable(struct kvmx_vcpu *vcpu, u64 data)
{
	if (kvmx_has_quirk(vcpu->vm, KVM_X86_QUIRK_MISC_ENABLE_NO_MWAIT) ||
	    !((vcpu->misc_enable ^ data) & MSR_IA32_MISC_ENABLE_MWAIT)) {
		vcpu->misc_enable = data;
		return 0;
	}
	if (!kvmx_guest_cpuid_has(vcpu, 1, 0, KVMX_CPUID_ECX, X86_FEATURE_XMM3 & 31))
		return -EINVAL;
	vcpu->misc_enable = data;
	kvmx_update_cpuid_runtime(vcpu, vcpu->cpuid, vcpu->nr_cpuid);
	return 0;
}

/* Returns 0, or -EINVAL when the guest would get #GP (or the host an error). */
int kvmx_set_msr(struct kvmx_vcpu *vcpu, u32 index, u64 data, bool host)
{
	int swapped = swapped_index(index), r;
	int bank = kvmx_mce_bank_reg(index, vcpu->mce.cap);
	int ctl2 = kvmx_mce_ctl2_bank(index);

	if (vcpu->apic) {
		r = kvmx_lapic_set_msr(vcpu, index, data, host);
		if (r != -ENOENT)
			return r;
	}

	if (swapped >= 0) {
		/*
		 * kvmx_vmx_enter() loads these with a plain WRMSR, which must
		 * not fault: addresses are canonical, and IA32_FMASK's bits
		 * 63:32 are reserved (the CPU #GPs; KVM's wrmsrl_safe() sees it).
		 */
		if (index == MSR_SYSCALL_MASK ? data >> 32 :
		    index != MSR_STAR && !is_canonical(data))
			return -EINVAL;
		vcpu->msrs[swapped] = data;
		return 0;
	}
	switch (index) {
	case MSR_IA32_SYSENTER_CS:
		vmcs_write(GUEST_SYSENTER_CS, data);
		break;
	case MSR_IA32_SYSENTER_ESP:
		vmcs_write(GUEST_SYSENTER_ESP, data);
		break;
	case MSR_IA32_SYSENTER_EIP:
		vmcs_write(GUEST_SYSENTER_EIP, data);
		break;
	case MSR_FS_BASE:
	case MSR_GS_BASE:
		if (!is_canonical(data))
			return -EINVAL;
		vmcs_write(index == MSR_FS_BASE ? GUEST_FS_BASE : GUEST_GS_BASE, data);
		break;
	case MSR_EFER:
		/* The guest cannot write LMA; user space restores it as it was. */
		if (!host)
			data = (data & ~EFER_LMA) | (vmcs_read(GUEST_IA32_EFER) & EFER_LMA);
		return kvmx_set_efer(vcpu, data);
	case MSR_IA32_CR_PAT:
		if (!pat_valid(data))
			return -EINVAL;
		vmcs_write(GUEST_IA32_PAT, data);
		break;
	case MSR_IA32_TSC:
		/*
		 * As KVM: user space sets the offset; the guest's write also
		 * moves IA32_TSC_ADJUST by what it added.
		 */
		if (!host)
			vcpu->tsc_adjust += data - rdtsc() - vcpu->tsc_offset;
		kvmx_set_tsc_offset(vcpu, data - rdtsc());
		break;
	case MSR_IA32_TSC_ADJUST:
		/* As KVM: ignored without the CPUID bit; the guest's moves its TSC. */
		if (!kvmx_guest_cpuid_has(vcpu, 7, 0, KVMX_CPUID_EBX,
					  X86_FEATURE_TSC_ADJUST & 31))
			break;
		if (!host)
			kvmx_set_tsc_offset(vcpu, vcpu->tsc_offset + (data - vcpu->tsc_adjust));
		vcpu->tsc_adjust = data;
		break;
	case MSR_KVM_STEAL_TIME:
		return kvmx_steal_time_set(vcpu, data);
	case KVMX_MSR_MTRRCAP:		/* read-only */
		return -EINVAL;
	case MSR_IA32_POWER_CTL:	/* as KVM: kept, nothing more */
		vcpu->msr_power_ctl = data;
		break;
	case MSR_IA32_APICBASE:
		vcpu->apic_base = data;
		break;
	case MSR_IA32_MISC_ENABLE:
		return set_misc_enable(vcpu, data);
	case MSR_IA32_UCODE_REV:
		/* As KVM: user space sets it; the guest's writes are dropped. */
		if (host)
			vcpu->microcode_version = data;
		break;
	case MSR_PLATFORM_INFO:
		/* As KVM: user space sets it, the guest cannot. */
		if (!host)
			return -EINVAL;
		vcpu->msr_platform_info = data;
		break;
	case MSR_KVM_WALL_CLOCK:
	case MSR_KVM_SYSTEM_TIME:
	case MSR_KVM_WALL_CLOCK_NEW:
	case MSR_KVM_SYSTEM_TIME_NEW:
		return kvmx_kvmclock_set_msr(vcpu, index, data);
	case MSR_IA32_MCG_STATUS:
		vcpu->mce.status = data;
		break;
	case MSR_IA32_MCG_CTL:
		if (!kvmx_mcg_ctl_write_ok(vcpu->mce.cap, data, host))
			return -EINVAL;
		vcpu->mce.ctl = data;
		break;
	case MSR_IA32_MCG_EXT_CTL:
		if (!host || (data & ~KVMX_MCG_EXT_CTL_LMCE_EN))
			return -EINVAL;
		vcpu->mce.ext_ctl = data;
		break;
	default:
		if (bank >= 0) {
			if (!kvmx_mce_bank_write_ok(bank, data, host))
				return -EINVAL;
			vcpu->mce.banks[bank] = data;
		} else if (ctl2 >= 0) {
			if (!kvmx_mce_ctl2_write_ok(vcpu->mce.cap, ctl2, data, host))
				return -EINVAL;
			vcpu->mce.ctl2[ctl2] = data;
		} else if (kvmx_mtrr_slot(index) >= 0) {
			if (!kvmx_mtrr_valid(index, data, boot_cpu_data.x86_phys_bits))
				return -EINVAL;
			vcpu->mtrr[kvmx_mtrr_slot(index)] = data;
		} else {
			return unknown_msr(index);
		}
	}
	return 0;
}

void kvmx_queue_exception(struct kvmx_vcpu *vcpu, u8 vector, bool has_error, u32 error)
{
	vcpu->exception.pending = true;
	vcpu->exception.vector = vector;
	vcpu->exception.has_error = has_error;
	vcpu->exception.error = error;
	vcpu->exception.soft = false;
}

/*
 * As KVM's process_nmi(): take the NMIs queued since the last look and
 * keep two at most (one to deliver, one latched behind it), or one while
 * NMIs are blocked or one is on its way in.  The vCPU's thread.
 */
void kvmx_process_nmi(struct kvmx_vcpu *vcpu)
{
	unsigned int limit = 2;

	if ((vmcs_read(GUEST_INTERRUPTIBILITY_INFO) & GUEST_INTR_STATE_NMI) ||
	    (vcpu->reinject_info & (INTR_INFO_VALID | INTR_INFO_TYPE_MASK)) ==
	    (INTR_INFO_VALID | INTR_TYPE_NMI))
		limit = 1;
	vcpu->nmi_pending = min_t(unsigned int, limit,
				  vcpu->nmi_pending + atomic_xchg(&vcpu->nmi_queued, 0));
}

/* KVM's vmx_nmi_blocked(), and no other event on its way in. */
bool kvmx_nmi_allowed(struct kvmx_vcpu *vcpu)
{
	return !(vmcs_read(GUEST_INTERRUPTIBILITY_INFO) &
		 (GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS | GUEST_INTR_STATE_NMI)) &&
	       !vcpu->exception.pending && !(vcpu->reinject_info & INTR_INFO_VALID);
}

bool kvmx_interrupt_allowed(struct kvmx_vcpu *vcpu)
{
	return (vmcs_read(GUEST_RFLAGS) & X86_EFLAGS_IF) &&
	       !(vmcs_read(GUEST_INTERRUPTIBILITY_INFO) &
		 (GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS)) &&
	       !vcpu->exception.pending && !(vcpu->reinject_info & INTR_INFO_VALID);
}

/*
 * KVM_GET_VCPU_EVENTS as KVM 6.1 without KVM_CAP_EXCEPTION_PAYLOAD, SMM or
 * triple-fault events: an exception about to be delivered (pending or
 * being re-injected, which KVM conflates without payloads), an external
 * interrupt or NMI being re-injected, the STI/MOV SS shadow and NMI
 * blocking.  Software exceptions and interrupts are not reported (as KVM:
 * their instruction runs again).  A KVM_INTERRUPT vector not yet
 * delivered is not an event here, as in KVM.
 */
void kvmx_get_vcpu_events(struct kvmx_vcpu *vcpu, struct kvm_vcpu_events *ev)
{
	u32 info = vcpu->reinject_info;
	u32 intr = vmcs_read(GUEST_INTERRUPTIBILITY_INFO);

	memset(ev, 0, sizeof(*ev));
	if (info & INTR_INFO_VALID) {
		switch (info & INTR_INFO_TYPE_MASK) {
		case INTR_TYPE_HARD_EXCEPTION:
			ev->exception.injected = 1;
			ev->exception.nr = info & INTR_INFO_VECTOR_MASK;
			ev->exception.has_error_code = !!(info & INTR_INFO_DELIVER_CODE);
			ev->exception.error_code = vcpu->reinject_error;
			break;
		case INTR_TYPE_EXT_INTR:
			ev->interrupt.injected = 1;
			ev->interrupt.nr = info & INTR_INFO_VECTOR_MASK;
			break;
		case INTR_TYPE_NMI:
			ev->nmi.injected = 1;
			break;
		}
	} else if (vcpu->exception.pending && vcpu->exception.vector != X86_TRAP_BP &&
		   vcpu->exception.vector != X86_TRAP_OF) {
		ev->exception.injected = 1;
		ev->exception.nr = vcpu->exception.vector;
		ev->exception.has_error_code = vcpu->exception.has_error;
		ev->exception.error_code = vcpu->exception.error;
	}
	if (intr & GUEST_INTR_STATE_STI)
		ev->interrupt.shadow |= KVM_X86_SHADOW_INT_STI;
	if (intr & GUEST_INTR_STATE_MOV_SS)
		ev->interrupt.shadow |= KVM_X86_SHADOW_INT_MOV_SS;
	ev->nmi.masked = !!(intr & GUEST_INTR_STATE_NMI);
	kvmx_process_nmi(vcpu);
	ev->nmi.pending = vcpu->nmi_pending != 0;
	ev->flags = KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SHADOW |
		    KVM_VCPUEVENT_VALID_SMM;
}

#define KVMX_VCPUEVENT_FLAGS (KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SIPI_VECTOR | \
			      KVM_VCPUEVENT_VALID_SHADOW | KVM_VCPUEVENT_VALID_SMM |	      \
			      KVM_VCPUEVENT_VALID_PAYLOAD | KVM_VCPUEVENT_VALID_TRIPLE_FAULT)

/*
 * KVM_SET_VCPU_EVENTS, KVM 6.1's checks first.  Returns NULL, or why the
 * events are refused (-EINVAL).  Beyond KVM's checks, kvmx refuses what
 * it cannot carry out: SMM, a soft interrupt (its instruction length is
 * not in the ABI), and more than one injected event at once (kvmx
 * re-injects one).  sipi_vector needs an in-kernel
 * APIC and is ignored, as KVM does without one.
 */
const char *kvmx_set_vcpu_events(struct kvmx_vcpu *vcpu, const struct kvm_vcpu_events *ev)
{
	u32 intr = vmcs_read(GUEST_INTERRUPTIBILITY_INFO);

	if (ev->flags & ~KVMX_VCPUEVENT_FLAGS)
		return "unknown flags";
	if (ev->flags & KVM_VCPUEVENT_VALID_PAYLOAD)
		return "exception payloads are not enabled";
	if (ev->flags & KVM_VCPUEVENT_VALID_TRIPLE_FAULT)
		return "triple-fault events are not enabled";
	/* Without payloads, exception.pending is ignored (KVM conflates it). */
	if (ev->exception.injected && (ev->exception.nr > 31 || ev->exception.nr == NMI_VECTOR))
		return "exception vector above 31 or NMI";
	if ((ev->flags & KVM_VCPUEVENT_VALID_SMM) && (ev->smi.smm || ev->smi.pending))
		return "kvmx has no SMM";
	if (ev->interrupt.injected && ev->interrupt.soft)
		return "a soft interrupt cannot be re-injected";
	if (!!ev->exception.injected + !!ev->interrupt.injected + !!ev->nmi.injected > 1)
		return "more than one injected event";

	vcpu->reinject_info = 0;
	vcpu->exception.pending = false;
	if (ev->exception.injected)
		kvmx_queue_exception(vcpu, ev->exception.nr, ev->exception.has_error_code,
				     ev->exception.error_code);
	else if (ev->interrupt.injected)
		vcpu->reinject_info = ev->interrupt.nr | INTR_TYPE_EXT_INTR | INTR_INFO_VALID;
	else if (ev->nmi.injected)
		vcpu->reinject_info = NMI_VECTOR | INTR_TYPE_NMI | INTR_INFO_VALID;

	if (ev->flags & KVM_VCPUEVENT_VALID_SHADOW) {
		intr &= ~(GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS);
		/* As KVM: MOV SS wins when both are given. */
		if (ev->interrupt.shadow & KVM_X86_SHADOW_INT_MOV_SS)
			intr |= GUEST_INTR_STATE_MOV_SS;
		else if (ev->interrupt.shadow & KVM_X86_SHADOW_INT_STI)
			intr |= GUEST_INTR_STATE_STI;
	}
	if (ev->nmi.masked)
		intr |= GUEST_INTR_STATE_NMI;
	else
		intr &= ~GUEST_INTR_STATE_NMI;
	vmcs_write(GUEST_INTERRUPTIBILITY_INFO, intr);
	/* As KVM: the NMIs queued so far are taken first, then replaced. */
	if (ev->flags & KVM_VCPUEVENT_VALID_NMI_PENDING) {
		kvmx_process_nmi(vcpu);
		vcpu->nmi_pending = min_t(unsigned int, ev->nmi.pending, 2);
	}
	return NULL;
}
