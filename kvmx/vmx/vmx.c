// SPDX-License-Identifier: GPL-2.0
/*
 * VMX bring-up: probe the CPU, then VMXON on every online CPU (and on CPUs
 * that come online later), VMXOFF on unload, reboot and suspend.
 *
 * kvmx owns VMX from load to unload, so a second hypervisor (kvm_intel
 * with a VM running) is detected by CR4.VMXE already being set and the
 * load is refused with -EBUSY.  The kernel's own emergency paths
 * (emergency reboot, kexec on panic) execute VMXOFF on every CPU whose
 * CR4.VMXE is set, which covers kvmx too.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cpu.h>
#include <linux/cpuhotplug.h>
#include <linux/gfp.h>
#include <linux/io.h>
#include <linux/mm.h>
#include <linux/percpu.h>
#include <linux/reboot.h>
#include <linux/string_helpers.h>
#include <linux/syscore_ops.h>
#include <asm/cpufeature.h>
#include <asm/msr.h>
#include <asm/perf_event.h>
#include <asm/tlbflush.h>

#include "vmx.h"

struct kvmx_vmx_caps kvmx_vmx __ro_after_init;

/*
 * Per-CPU VMX state.  A CPU's entry is read and written only on that CPU
 * with interrupts disabled (hotplug callbacks run pinned to their CPU;
 * reboot and syscore callbacks run in IPIs or with one CPU left), so it
 * needs no lock: disabling interrupts is what serialises it, also against
 * another hypervisor enabling VMX from an IPI on the same CPU.
 */
struct kvmx_vmx_cpu {
	struct page *vmxon_region;
	bool on;
};

static DEFINE_PER_CPU(struct kvmx_vmx_cpu, kvmx_vmx_cpu);

/* Set by the reboot notifier: no CPU turns VMX on after that. */
static bool kvmx_vmx_rebooting;
static enum cpuhp_state kvmx_vmx_hp_state;

/* Checks this CPU against the boot CPU's capabilities; IRQs off. */
static int vmx_cpu_compatible(int cpu)
{
	u64 fc, basic;

	if (!this_cpu_has(X86_FEATURE_VMX) || rdmsrl_safe(MSR_IA32_FEAT_CTL, &fc) ||
	    !(fc & FEAT_CTL_LOCKED) || !(fc & FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX)) {
		pr_err("CPU%d: VMX is disabled by firmware\n", cpu);
		return -EOPNOTSUPP;
	}
	if (rdmsrl_safe(MSR_IA32_VMX_BASIC, &basic) ||
	    (basic & KVMX_GENMASK(30, 0)) != kvmx_vmx.revision_id) {
		pr_err("CPU%d: VMX capabilities differ from the boot CPU's\n", cpu);
		return -EIO;
	}
	return 0;
}

static int vmx_on_this_cpu(void)
{
	struct kvmx_vmx_cpu *vc = this_cpu_ptr(&kvmx_vmx_cpu);
	int cpu = smp_processor_id();
	unsigned long cr4;
	u64 pa;
	int ret;

	lockdep_assert_irqs_disabled();
	if (vc->on)
		return 0;
	if (kvmx_vmx_rebooting)
		return -EBUSY;

	cr4 = cr4_read_shadow();
	if (cr4 & X86_CR4_VMXE) {
		pr_err("CPU%d: VMX is already in use by another hypervisor (kvm_intel?)\n", cpu);
		return -EBUSY;
	}
	ret = vmx_cpu_compatible(cpu);
	if (ret)
		return ret;
	if (!kvmx_vmx_fixed_ok(read_cr0(), kvmx_vmx.cr0_fixed0, kvmx_vmx.cr0_fixed1) ||
	    !kvmx_vmx_fixed_ok(cr4 | X86_CR4_VMXE, kvmx_vmx.cr4_fixed0, kvmx_vmx.cr4_fixed1)) {
		pr_err("CPU%d: CR0 0x%lx or CR4 0x%lx is not allowed in VMX operation\n",
		       cpu, read_cr0(), cr4);
		return -EIO;
	}

	intel_pt_handle_vmx(1);
	cr4_set_bits(X86_CR4_VMXE);
	pa = page_to_phys(vc->vmxon_region);
	ret = kvmx_vmxon(&pa);
	if (ret) {
		cr4_clear_bits(X86_CR4_VMXE);
		intel_pt_handle_vmx(0);
		pr_err("CPU%d: VMXON %s\n", cpu, ret == 2 ? "faulted" : "failed");
		return -EIO;
	}
	vc->on = true;
	return 0;
}

static void vmx_off_this_cpu(void)
{
	struct kvmx_vmx_cpu *vc = this_cpu_ptr(&kvmx_vmx_cpu);

	lockdep_assert_irqs_disabled();
	if (!vc->on)
		return;
	kvmx_vmcs_clear_cpu();
	/* It fails only if an emergency path turned VMX off under us. */
	if (kvmx_vmxoff())
		pr_warn_once("CPU%d: VMXOFF failed; VMX was already off\n", smp_processor_id());
	cr4_clear_bits(X86_CR4_VMXE);
	intel_pt_handle_vmx(0);
	vc->on = false;
}

static int vmx_cpu_online(unsigned int cpu)
{
	unsigned long flags;
	int ret;

	local_irq_save(flags);
	ret = vmx_on_this_cpu();
	local_irq_restore(flags);
	return ret;
}

static int vmx_cpu_offline(unsigned int cpu)
{
	unsigned long flags;

	local_irq_save(flags);
	vmx_off_this_cpu();
	local_irq_restore(flags);
	return 0;
}

static void vmx_off_ipi(void *unused)
{
	vmx_off_this_cpu();
}

static int vmx_reboot(struct notifier_block *nb, unsigned long code, void *unused)
{
	WRITE_ONCE(kvmx_vmx_rebooting, true);
	on_each_cpu(vmx_off_ipi, NULL, 1);
	return NOTIFY_OK;
}

static struct notifier_block vmx_reboot_nb = {
	.notifier_call = vmx_reboot,
};

/* Suspend runs on the last online CPU with IRQs off; the others went offline. */
static int vmx_suspend(void)
{
	vmx_off_this_cpu();
	return 0;
}

static void vmx_resume(void)
{
	if (vmx_on_this_cpu())
		pr_err("VMX could not be turned back on after resume\n");
}

static struct syscore_ops vmx_syscore_ops = {
	.suspend = vmx_suspend,
	.resume = vmx_resume,
};

static int vmx_read_msrs(struct kvmx_vmx_msrs *m)
{
	bool true_ctls;
	int err = 0;

	err |= rdmsrl_safe(KVMX_MSR_VMX_BASIC, &m->basic);
	true_ctls = m->basic & KVMX_VMX_BASIC_TRUE_CTLS;
	err |= rdmsrl_safe(true_ctls ? KVMX_MSR_VMX_TRUE_PINBASED : KVMX_MSR_VMX_PINBASED,
		  &m->pinbased);
	err |= rdmsrl_safe(true_ctls ? KVMX_MSR_VMX_TRUE_PROCBASED : KVMX_MSR_VMX_PROCBASED,
		  &m->procbased);
	err |= rdmsrl_safe(true_ctls ? KVMX_MSR_VMX_TRUE_EXIT : KVMX_MSR_VMX_EXIT, &m->exit);
	err |= rdmsrl_safe(true_ctls ? KVMX_MSR_VMX_TRUE_ENTRY : KVMX_MSR_VMX_ENTRY, &m->entry);
	err |= rdmsrl_safe(KVMX_MSR_VMX_MISC, &m->misc);
	err |= rdmsrl_safe(KVMX_MSR_VMX_CR0_FIXED0, &m->cr0_fixed0);
	err |= rdmsrl_safe(KVMX_MSR_VMX_CR0_FIXED1, &m->cr0_fixed1);
	err |= rdmsrl_safe(KVMX_MSR_VMX_CR4_FIXED0, &m->cr4_fixed0);
	err |= rdmsrl_safe(KVMX_MSR_VMX_CR4_FIXED1, &m->cr4_fixed1);
	err |= rdmsrl_safe(KVMX_MSR_VMX_VMCS_ENUM, &m->vmcs_enum);
	if (err)
		return -EIO;

	/* The optional MSRs exist only when the controls say so. */
	if ((m->procbased >> 32) & KVMX_PROC_ACTIVATE_SECONDARY &&
	    rdmsrl_safe(KVMX_MSR_VMX_PROCBASED2, &m->procbased2))
		m->procbased2 = 0;
	if ((m->procbased2 >> 32) & (KVMX_PROC2_EPT | KVMX_PROC2_VPID) &&
	    rdmsrl_safe(KVMX_MSR_VMX_EPT_VPID_CAP, &m->ept_vpid))
		m->ept_vpid = 0;
	if (rdmsrl_safe(KVMX_MSR_VMX_VMFUNC, &m->vmfunc))
		m->vmfunc = 0;
	return 0;
}

/* Whether the CPU has VMX and firmware left it usable, as one dmesg line. */
static int vmx_probe(void)
{
	struct kvmx_vmx_msrs msrs = {};
	const char *why;
	u64 fc = 0;

	if (!(cpuid_ecx(1) & BIT(X86_FEATURE_VMX & 31))) {
		pr_err("this CPU has no VMX (CPUID.1:ECX.VMX[bit 5] is 0)\n");
		return -EOPNOTSUPP;
	}
	if (!boot_cpu_has(X86_FEATURE_VMX) || rdmsrl_safe(MSR_IA32_FEAT_CTL, &fc) ||
	    !(fc & FEAT_CTL_LOCKED) || !(fc & FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX)) {
		pr_err("VMX is disabled by firmware (IA32_FEATURE_CONTROL 0x%llx)\n", fc);
		return -EOPNOTSUPP;
	}
	if (vmx_read_msrs(&msrs)) {
		pr_err("reading the VMX capability MSRs faulted\n");
		return -EIO;
	}
	kvmx_vmx_decode(&msrs, &kvmx_vmx);
	why = kvmx_vmx_unusable(&kvmx_vmx);
	if (why) {
		pr_err("VMX cannot be used: %s\n", why);
		return -EOPNOTSUPP;
	}
	return 0;
}

static void vmx_free_regions(void)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		struct kvmx_vmx_cpu *vc = per_cpu_ptr(&kvmx_vmx_cpu, cpu);

		if (vc->vmxon_region)
			__free_page(vc->vmxon_region);
		vc->vmxon_region = NULL;
	}
}

static int vmx_alloc_regions(void)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		struct kvmx_vmx_cpu *vc = per_cpu_ptr(&kvmx_vmx_cpu, cpu);
		struct page *page;

		page = alloc_pages_node(cpu_to_node(cpu), GFP_KERNEL | __GFP_ZERO, 0);
		if (!page) {
			pr_err("no memory for the VMXON region of CPU%d\n", cpu);
			vmx_free_regions();
			return -ENOMEM;
		}
		*(u32 *)page_address(page) = kvmx_vmx.revision_id;
		vc->vmxon_region = page;
	}
	return 0;
}

int kvmx_vmx_init(void)
{
	int ret;

	ret = vmx_probe();
	if (ret)
		return ret;
	ret = kvmx_vmcs_config_init();
	if (ret)
		return ret;
	kvmx_vmcs_init_cpu_lists();
	kvmx_exit_init();
	ret = vmx_alloc_regions();
	if (ret)
		return ret;

	register_reboot_notifier(&vmx_reboot_nb);
	register_syscore_ops(&vmx_syscore_ops);

	/* Runs vmx_cpu_online() on every online CPU and unwinds on failure. */
	ret = cpuhp_setup_state(CPUHP_AP_ONLINE_DYN, "kvmx/vmx:online",
				vmx_cpu_online, vmx_cpu_offline);
	if (ret < 0) {
		unregister_syscore_ops(&vmx_syscore_ops);
		unregister_reboot_notifier(&vmx_reboot_nb);
		vmx_free_regions();
		return ret;
	}
	kvmx_vmx_hp_state = ret;

	pr_info("VMX rev 0x%x: EPT %s, VPID %s, unrestricted guest %s, preemption timer %s, PML %s; on in %u CPUs\n",
		kvmx_vmx.revision_id, str_yes_no(kvmx_vmx.ept), str_yes_no(kvmx_vmx.vpid),
		str_yes_no(kvmx_vmx.unrestricted_guest), str_yes_no(kvmx_vmx.preemption_timer),
		str_yes_no(kvmx_vmx.pml), num_online_cpus());
	return 0;
}

void kvmx_vmx_exit(void)
{
	/* Runs vmx_cpu_offline() on every online CPU. */
	cpuhp_remove_state(kvmx_vmx_hp_state);
	unregister_syscore_ops(&vmx_syscore_ops);
	unregister_reboot_notifier(&vmx_reboot_nb);
	vmx_free_regions();
}

static void show_ctl(struct seq_file *m, const char *name, const struct kvmx_vmx_ctl *ctl)
{
	seq_printf(m, "%-22s must 0x%08x may 0x%08x\n", name, ctl->must_be_one, ctl->may_be_one);
}

static void show_flag(struct seq_file *m, const char *name, bool val)
{
	seq_printf(m, "%-22s %s\n", name, str_yes_no(val));
}

static const struct {
	const char *name;
	u64 bit;
} vmx_ept_vpid_names[] = {
	{ "ept_exec_only", KVMX_EPT_CAP_EXEC_ONLY },
	{ "ept_4level", KVMX_EPT_CAP_PWL4 },
	{ "ept_5level", KVMX_EPT_CAP_PWL5 },
	{ "ept_wb", KVMX_EPT_CAP_WB },
	{ "ept_2m_pages", KVMX_EPT_CAP_2M },
	{ "ept_1g_pages", KVMX_EPT_CAP_1G },
	{ "ept_ad_bits", KVMX_EPT_CAP_AD },
	{ "invept_single_context", KVMX_EPT_CAP_INVEPT_SINGLE },
	{ "invept_all_context", KVMX_EPT_CAP_INVEPT_ALL },
	{ "invvpid_address", KVMX_VPID_CAP_ADDR },
	{ "invvpid_single_ctx", KVMX_VPID_CAP_SINGLE },
	{ "invvpid_all_context", KVMX_VPID_CAP_ALL },
};

void kvmx_vmx_show(struct seq_file *m)
{
	const struct kvmx_vmx_caps *c = &kvmx_vmx;
	size_t i;

	seq_printf(m, "%-22s 0x%x\n", "revision_id", c->revision_id);
	seq_printf(m, "%-22s %u\n", "vmcs_size", c->vmcs_size);
	show_flag(m, "true_controls", c->true_ctls);
	show_ctl(m, "pin_based", &c->pin);
	show_ctl(m, "proc_based", &c->proc);
	show_ctl(m, "proc_based2", &c->proc2);
	show_ctl(m, "exit", &c->exit);
	show_ctl(m, "entry", &c->entry);
	show_flag(m, "ept", c->ept);
	show_flag(m, "vpid", c->vpid);
	for (i = 0; i < ARRAY_SIZE(vmx_ept_vpid_names); i++)
		show_flag(m, vmx_ept_vpid_names[i].name,
			  kvmx_vmx_has(c, vmx_ept_vpid_names[i].bit));
	show_flag(m, "unrestricted_guest", c->unrestricted_guest);
	show_flag(m, "pml", c->pml);
	show_flag(m, "preemption_timer", c->preemption_timer);
	seq_printf(m, "%-22s %u\n", "preemption_timer_shift", c->preemption_timer_shift);
	show_flag(m, "activity_hlt", c->activity_hlt);
	seq_printf(m, "%-22s %u\n", "max_msr_list", c->max_msr_list);
	seq_printf(m, "%-22s 0x%llx 0x%llx\n", "cr0_fixed0/1", c->cr0_fixed0, c->cr0_fixed1);
	seq_printf(m, "%-22s 0x%llx 0x%llx\n", "cr4_fixed0/1", c->cr4_fixed0, c->cr4_fixed1);
}
