// SPDX-License-Identifier: GPL-2.0
/*
 * Decoding of the VMX capability MSRs.  Pure code: see caps.h.
 */
#include "caps.h"

static struct kvmx_vmx_ctl ctl_of(u64 msr)
{
	struct kvmx_vmx_ctl ctl = {
		.must_be_one = (u32)msr,
		.may_be_one = (u32)(msr >> 32),
	};

	return ctl;
}

static bool may_set(const struct kvmx_vmx_ctl *ctl, u64 bit)
{
	return (ctl->may_be_one & bit) != 0;
}

void kvmx_vmx_decode(const struct kvmx_vmx_msrs *msrs, struct kvmx_vmx_caps *caps)
{
	u64 basic = msrs->basic;
	u64 misc = msrs->misc;

	*caps = (struct kvmx_vmx_caps){ 0 };

	caps->revision_id = basic & KVMX_GENMASK(30, 0);
	caps->vmcs_size = (basic & KVMX_GENMASK(44, 32)) >> 32;
	caps->phys_addr_32bit = basic & KVMX_BIT(48);
	caps->dual_monitor = basic & KVMX_BIT(49);
	caps->vmcs_memtype = (basic & KVMX_GENMASK(53, 50)) >> 50;
	caps->ins_outs_info = basic & KVMX_BIT(54);
	caps->true_ctls = basic & KVMX_VMX_BASIC_TRUE_CTLS;
	caps->any_errcode = basic & KVMX_BIT(56);

	caps->pin = ctl_of(msrs->pinbased);
	caps->proc = ctl_of(msrs->procbased);
	caps->exit = ctl_of(msrs->exit);
	caps->entry = ctl_of(msrs->entry);
	if (may_set(&caps->proc, KVMX_PROC_ACTIVATE_SECONDARY))
		caps->proc2 = ctl_of(msrs->procbased2);

	caps->preemption_timer_shift = misc & KVMX_GENMASK(4, 0);
	caps->lma_saved_on_exit = misc & KVMX_BIT(5);
	caps->activity_hlt = misc & KVMX_BIT(6);
	caps->activity_shutdown = misc & KVMX_BIT(7);
	caps->activity_wait_sipi = misc & KVMX_BIT(8);
	caps->cr3_targets = (misc & KVMX_GENMASK(24, 16)) >> 16;
	caps->max_msr_list = 512 * (((misc & KVMX_GENMASK(27, 25)) >> 25) + 1);
	caps->vmwrite_any_field = misc & KVMX_BIT(29);
	caps->mseg_revision = misc >> 32;
	caps->max_vmcs_index = (msrs->vmcs_enum & KVMX_GENMASK(9, 1)) >> 1;

	caps->cr0_fixed0 = msrs->cr0_fixed0;
	caps->cr0_fixed1 = msrs->cr0_fixed1;
	caps->cr4_fixed0 = msrs->cr4_fixed0;
	caps->cr4_fixed1 = msrs->cr4_fixed1;

	caps->ept = may_set(&caps->proc2, KVMX_PROC2_EPT);
	caps->vpid = may_set(&caps->proc2, KVMX_PROC2_VPID);
	caps->unrestricted_guest = caps->ept && may_set(&caps->proc2, KVMX_PROC2_UNRESTRICTED);
	caps->pml = caps->ept && may_set(&caps->proc2, KVMX_PROC2_PML);
	caps->preemption_timer = may_set(&caps->pin, KVMX_PIN_PREEMPTION_TIMER);
	if (caps->ept || caps->vpid)
		caps->ept_vpid = msrs->ept_vpid;
	if (caps->ept_vpid && !caps->ept)
		caps->ept_vpid &= KVMX_GENMASK(63, 32);
	if (caps->ept_vpid && !caps->vpid)
		caps->ept_vpid &= KVMX_GENMASK(31, 0);
	caps->vmfunc = msrs->vmfunc;
}

const char *kvmx_vmx_unusable(const struct kvmx_vmx_caps *caps)
{
	if (caps->revision_id == 0)
		return "IA32_VMX_BASIC reports VMCS revision 0";
	if (caps->vmcs_size == 0 || caps->vmcs_size > 4096)
		return "VMCS region size is 0 or larger than a page";
	if (caps->phys_addr_32bit)
		return "VMX limits VMCS addresses to 32 bits";
	if (caps->vmcs_memtype != KVMX_VMX_MEMTYPE_WB)
		return "VMCS memory type is not write-back";
	if ((caps->cr0_fixed0 & caps->cr0_fixed1) != caps->cr0_fixed0 ||
	    (caps->cr4_fixed0 & caps->cr4_fixed1) != caps->cr4_fixed0)
		return "CR0/CR4 fixed-bit MSRs contradict each other";
	if (caps->pin.must_be_one & ~caps->pin.may_be_one ||
	    caps->proc.must_be_one & ~caps->proc.may_be_one ||
	    caps->proc2.must_be_one & ~caps->proc2.may_be_one ||
	    caps->exit.must_be_one & ~caps->exit.may_be_one ||
	    caps->entry.must_be_one & ~caps->entry.may_be_one)
		return "a VMX control MSR requires a bit it does not allow";
	return NULL;
}

bool kvmx_vmx_adjust(const struct kvmx_vmx_ctl *ctl, u32 required, u32 optional, u32 *out)
{
	u32 val = (required | optional) & ctl->may_be_one;

	if ((required & ctl->may_be_one) != required)
		return false;
	*out = val | ctl->must_be_one;
	return true;
}
