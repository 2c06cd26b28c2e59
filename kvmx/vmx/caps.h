/* SPDX-License-Identifier: GPL-2.0 */
/*
 * VMX capability MSRs (Intel SDM Vol. 3, Appendix A) and their decoding.
 *
 * Pure code: the kernel reads the MSRs (vmx.c) and hands the raw values to
 * kvmx_vmx_decode(); unit tests feed it values recorded on real and
 * emulated CPUs.  Nobody else decodes these bits.
 *
 *   IA32_VMX_BASIC (0x480)
 *     30:0  VMCS revision identifier      44:32 VMXON/VMCS region size
 *     48    addresses limited to 32 bits  49    dual-monitor SMM
 *     53:50 VMCS memory type (6 = WB)     54    INS/OUTS exit information
 *     55    TRUE_*_CTLS MSRs exist        56    exceptions may be injected
 *                                               with or without error code
 *   *_CTLS: bits 31:0 = allowed 0-settings (a 1 there: the control must
 *     be 1), bits 63:32 = allowed 1-settings (a 0 there: must be 0).
 *   IA32_VMX_MISC (0x485)
 *     4:0   preemption timer ticks at TSC >> N    5  EFER.LMA saved on exit
 *     8:6   activity states HLT, shutdown, wait-for-SIPI
 *     24:16 CR3-target count   27:25 MSR-list size 512 * (N + 1)
 *     29    VMWRITE to any field   63:32 MSEG revision
 *   IA32_VMX_EPT_VPID_CAP (0x48c): see KVMX_EPT_CAP_* and KVMX_VPID_CAP_*.
 */
#ifndef KVMX_VMX_CAPS_H
#define KVMX_VMX_CAPS_H

#include "../types.h"

#define KVMX_MSR_FEATURE_CONTROL	0x03a
#define KVMX_MSR_VMX_BASIC		0x480
#define KVMX_MSR_VMX_PINBASED		0x481
#define KVMX_MSR_VMX_PROCBASED		0x482
#define KVMX_MSR_VMX_EXIT		0x483
#define KVMX_MSR_VMX_ENTRY		0x484
#define KVMX_MSR_VMX_MISC		0x485
#define KVMX_MSR_VMX_CR0_FIXED0		0x486
#define KVMX_MSR_VMX_CR0_FIXED1		0x487
#define KVMX_MSR_VMX_CR4_FIXED0		0x488
#define KVMX_MSR_VMX_CR4_FIXED1		0x489
#define KVMX_MSR_VMX_VMCS_ENUM		0x48a
#define KVMX_MSR_VMX_PROCBASED2		0x48b
#define KVMX_MSR_VMX_EPT_VPID_CAP	0x48c
#define KVMX_MSR_VMX_TRUE_PINBASED	0x48d
#define KVMX_MSR_VMX_TRUE_PROCBASED	0x48e
#define KVMX_MSR_VMX_TRUE_EXIT		0x48f
#define KVMX_MSR_VMX_TRUE_ENTRY		0x490
#define KVMX_MSR_VMX_VMFUNC		0x491

#define KVMX_VMX_BASIC_TRUE_CTLS	KVMX_BIT(55)
#define KVMX_VMX_MEMTYPE_WB		6

/* Controls kvmx looks at while probing (more live with the VMCS code). */
#define KVMX_PIN_PREEMPTION_TIMER	KVMX_BIT(6)
#define KVMX_PROC_HLT_EXITING		KVMX_BIT(7)
#define KVMX_PROC_ACTIVATE_SECONDARY	KVMX_BIT(31)
#define KVMX_PROC2_EPT			KVMX_BIT(1)
#define KVMX_PROC2_VPID			KVMX_BIT(5)
#define KVMX_PROC2_UNRESTRICTED		KVMX_BIT(7)
#define KVMX_PROC2_PML			KVMX_BIT(17)

#define KVMX_EPT_CAP_EXEC_ONLY		KVMX_BIT(0)
#define KVMX_EPT_CAP_PWL4		KVMX_BIT(6)
#define KVMX_EPT_CAP_PWL5		KVMX_BIT(7)
#define KVMX_EPT_CAP_UC			KVMX_BIT(8)
#define KVMX_EPT_CAP_WB			KVMX_BIT(14)
#define KVMX_EPT_CAP_2M			KVMX_BIT(16)
#define KVMX_EPT_CAP_1G			KVMX_BIT(17)
#define KVMX_EPT_CAP_INVEPT		KVMX_BIT(20)
#define KVMX_EPT_CAP_AD			KVMX_BIT(21)
#define KVMX_EPT_CAP_INVEPT_SINGLE	KVMX_BIT(25)
#define KVMX_EPT_CAP_INVEPT_ALL		KVMX_BIT(26)
#define KVMX_VPID_CAP_INVVPID		KVMX_BIT(32)
#define KVMX_VPID_CAP_ADDR		KVMX_BIT(40)
#define KVMX_VPID_CAP_SINGLE		KVMX_BIT(41)
#define KVMX_VPID_CAP_ALL		KVMX_BIT(42)

/* One VM-execution/exit/entry control field's allowed settings. */
struct kvmx_vmx_ctl {
	u32 must_be_one;	/* allowed 0-settings, low half of the MSR */
	u32 may_be_one;		/* allowed 1-settings, high half of the MSR */
};

/*
 * Raw MSR values as read on one CPU.  pinbased..entry hold the TRUE_*
 * MSRs when IA32_VMX_BASIC bit 55 says they exist.  procbased2 is 0 when
 * secondary controls cannot be activated, ept_vpid is 0 when neither EPT
 * nor VPID can be enabled, vmfunc is 0 when VM functions are absent.
 */
struct kvmx_vmx_msrs {
	u64 basic;
	u64 pinbased;
	u64 procbased;
	u64 exit;
	u64 entry;
	u64 misc;
	u64 cr0_fixed0;
	u64 cr0_fixed1;
	u64 cr4_fixed0;
	u64 cr4_fixed1;
	u64 vmcs_enum;
	u64 procbased2;
	u64 ept_vpid;
	u64 vmfunc;
};

struct kvmx_vmx_caps {
	u32 revision_id;
	u32 vmcs_size;
	u8 vmcs_memtype;
	bool phys_addr_32bit;
	bool dual_monitor;
	bool ins_outs_info;
	bool true_ctls;
	bool any_errcode;

	struct kvmx_vmx_ctl pin;
	struct kvmx_vmx_ctl proc;
	struct kvmx_vmx_ctl proc2;
	struct kvmx_vmx_ctl exit;
	struct kvmx_vmx_ctl entry;

	u8 preemption_timer_shift;
	bool lma_saved_on_exit;
	bool activity_hlt;
	bool activity_shutdown;
	bool activity_wait_sipi;
	u16 cr3_targets;
	u32 max_msr_list;
	bool vmwrite_any_field;
	u32 mseg_revision;
	u32 max_vmcs_index;

	u64 cr0_fixed0;
	u64 cr0_fixed1;
	u64 cr4_fixed0;
	u64 cr4_fixed1;

	/* Features that can be turned on, derived from the controls. */
	bool ept;
	bool vpid;
	bool unrestricted_guest;
	bool pml;
	bool preemption_timer;

	u64 ept_vpid;		/* raw capability bits, KVMX_EPT_CAP_* */
	u64 vmfunc;
};

/* Fill @caps from @msrs.  Never fails: judge the result with _unusable(). */
void kvmx_vmx_decode(const struct kvmx_vmx_msrs *msrs, struct kvmx_vmx_caps *caps);

/*
 * Why kvmx cannot run on a CPU with these capabilities, or NULL when it
 * can.  The string is meant for the one dmesg line of a refused load.
 */
const char *kvmx_vmx_unusable(const struct kvmx_vmx_caps *caps);

/*
 * Combine the controls kvmx needs (@required) and would like (@optional)
 * with what the CPU allows.  Returns false when a required control cannot
 * be set; otherwise *@out gets required | the allowed optional bits | the
 * bits the CPU forces to one.
 */
bool kvmx_vmx_adjust(const struct kvmx_vmx_ctl *ctl, u32 required, u32 optional, u32 *out);

/* Whether CR0 or CR4 value @val obeys a FIXED0/FIXED1 pair. */
static inline bool kvmx_vmx_fixed_ok(u64 val, u64 fixed0, u64 fixed1)
{
	return (val & fixed0) == fixed0 && (val & ~fixed1) == 0;
}

static inline bool kvmx_vmx_has(const struct kvmx_vmx_caps *caps, u64 ept_vpid_bit)
{
	return (caps->ept_vpid & ept_vpid_bit) != 0;
}

#endif /* KVMX_VMX_CAPS_H */
