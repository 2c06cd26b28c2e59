// SPDX-License-Identifier: GPL-2.0
/*
 * vCPUs: creation, the vCPU fd (mmap of struct kvm_run and the PIO data
 * page), the vCPU ioctls and the KVM_RUN loop.
 *
 * A vCPU lives as long as its VM: the vCPU fd holds a VM reference, and
 * the VM frees its vCPUs when the last reference goes.  vcpu->mutex
 * serialises the vCPU's ioctls, so one thread at a time drives a vCPU;
 * while it holds the mutex the vCPU is "loaded" (kvmx_vcpu_load()): its
 * VMCS is current on the thread's CPU, wherever the scheduler moves it.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/kvm.h>
#include <linux/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/kvmx.h>
#include <asm/fpu/api.h>
#include <asm/fpu/xcr.h>
#include <asm/fpu/xstate.h>

#include "kvmx.h"
#include "mmio.h"
#include "irq/irq.h"
#include "mmu/mmu.h"
#include "vmx/vmx.h"
#include "vmx/vmcs.h"

void kvmx_vcpu_free(struct kvmx_vcpu *vcpu)
{
	kvmx_mmu_vcpu_destroy(vcpu);
	kvmx_lapic_free(vcpu);
	kvmx_vmcs_free(vcpu);
	if (vcpu->fpu.fpstate)
		fpu_free_guest_fpstate(&vcpu->fpu);
	free_page((unsigned long)vcpu->run);
	free_page((unsigned long)vcpu->pio_data);
	kvfree(vcpu->cpuid);
	kfree(vcpu);
	atomic_long_dec(&kvmx_counts.vcpus);
}

static vm_fault_t vcpu_fault(struct vm_fault *vmf)
{
	struct kvmx_vcpu *vcpu = vmf->vma->vm_file->private_data;
	struct page *page;

	if (vmf->pgoff == 0)
		page = virt_to_page(vcpu->run);
	else if (vmf->pgoff == KVM_PIO_PAGE_OFFSET)
		page = virt_to_page(vcpu->pio_data);
	else
		return VM_FAULT_SIGBUS;
	get_page(page);
	vmf->page = page;
	return 0;
}

static const struct vm_operations_struct vcpu_vm_ops = {
	.fault = vcpu_fault,
};

static int vcpu_mmap(struct file *file, struct vm_area_struct *vma)
{
	if (vma->vm_pgoff + vma_pages(vma) > KVMX_VCPU_MMAP_PAGES)
		return kvmx_refuse(-EINVAL, "vCPU mmap", "beyond the %d mapped pages",
				   KVMX_VCPU_MMAP_PAGES);
	vma->vm_ops = &vcpu_vm_ops;
	return 0;
}

static int vcpu_release(struct inode *inode, struct file *file)
{
	struct kvmx_vcpu *vcpu = file->private_data;

	kvmx_vm_put(vcpu->vm);
	return 0;
}

/* The state user space sees in struct kvm_run after every KVM_RUN. */
static void post_run(struct kvmx_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;

	run->if_flag = !!(vmcs_read(GUEST_RFLAGS) & X86_EFLAGS_IF);
	run->cr8 = vcpu->apic ? kvmx_lapic_get_cr8(vcpu) : vcpu->cr8;
	run->apic_base = vcpu->apic_base;
	/* As KVM: always "ready" when the PICs are in the kernel. */
	run->ready_for_interrupt_injection = kvmx_pic_in_kernel(vcpu->vm) ||
		(vcpu->irq < 0 && kvmx_interrupt_allowed(vcpu));
}

/* VMLAUNCH/VMRESUME failed: the VMCS itself is wrong. */
static int entry_failed(struct kvmx_vcpu *vcpu)
{
	u32 err = vmcs_read(VM_INSTRUCTION_ERROR);

	pr_info_ratelimited("vCPU %u: VM entry failed, VM-instruction error %u\n", vcpu->id, err);
	vcpu->run->exit_reason = KVM_EXIT_FAIL_ENTRY;
	vcpu->run->fail_entry.hardware_entry_failure_reason = err;
	vcpu->run->fail_entry.cpu = vcpu->last_cpu;
	return 0;
}

static int complete_user_io(struct kvmx_vcpu *vcpu)
{
	enum kvmx_pending_io io = vcpu->pending_io;

	/* Most exits leave nothing to complete (an MMIO write among them). */
	if (io == KVMX_IO_NONE)
		return 1;
	vcpu->pending_io = KVMX_IO_NONE;
	if (io == KVMX_IO_PIO)
		return kvmx_complete_pio(vcpu);
	if (io == KVMX_IO_MMIO_READ)
		return kvmx_complete_mmio_read(vcpu);
	if (io == KVMX_IO_MMIO_WRITE2)
		return kvmx_complete_mmio_write2(vcpu);
	if (io == KVMX_IO_RDMSR || io == KVMX_IO_WRMSR)
		return kvmx_complete_msr(vcpu, io == KVMX_IO_RDMSR);
	return 1;
}

/*
 * KVM_CAP_SYNC_REGS: at KVM_RUN, the state user space marked dirty in
 * run->s.regs is loaded first (before a pending I/O completes, as KVM);
 * each part is marked clean once loaded.
 */
static int sync_regs_in(struct kvmx_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	const char *why;

	if (run->kvm_dirty_regs & KVM_SYNC_X86_REGS) {
		kvmx_set_regs(vcpu, &run->s.regs.regs);
		run->kvm_dirty_regs &= ~KVM_SYNC_X86_REGS;
	}
	if (run->kvm_dirty_regs & KVM_SYNC_X86_SREGS) {
		if (kvmx_set_sregs(vcpu, &run->s.regs.sregs))
			return kvmx_refuse(-EINVAL, "KVM_RUN", "sync_regs: inconsistent sregs");
		run->kvm_dirty_regs &= ~KVM_SYNC_X86_SREGS;
	}
	if (run->kvm_dirty_regs & KVM_SYNC_X86_EVENTS) {
		why = kvmx_set_vcpu_events(vcpu, &run->s.regs.events);
		if (why)
			return kvmx_refuse(-EINVAL, "KVM_RUN", "sync_regs: events: %s", why);
		run->kvm_dirty_regs &= ~KVM_SYNC_X86_EVENTS;
	}
	return 0;
}

/* ... and the parts in kvm_valid_regs are stored when KVM_RUN returns. */
static void sync_regs_out(struct kvmx_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;

	if (run->kvm_valid_regs & KVM_SYNC_X86_REGS)
		kvmx_get_regs(vcpu, &run->s.regs.regs);
	if (run->kvm_valid_regs & KVM_SYNC_X86_SREGS)
		kvmx_get_sregs(vcpu, &run->s.regs.sregs);
	if (run->kvm_valid_regs & KVM_SYNC_X86_EVENTS)
		kvmx_get_vcpu_events(vcpu, &run->s.regs.events);
}

static void nothing(void *unused)
{
}

/*
 * Sends every vCPU of @vm that runs the guest now out of it, and waits: an
 * IPI, which a CPU in the guest takes only after a VM exit.  The caller
 * has made what the vCPUs must see visible (a full barrier after it):
 * a vCPU entering later sees it.
 */
void kvmx_kick_all_vcpus_wait(struct kvmx_vm *vm)
{
	/* Pairs with the smp_store_release() that publishes a new vCPU. */
	int i, n = smp_load_acquire(&vm->nr_vcpus), self;
	cpumask_var_t cpus;

	if (!zalloc_cpumask_var(&cpus, GFP_KERNEL)) {
		/* A CPU in the guest has interrupts off: an RCU reader. */
		synchronize_rcu();
		return;
	}
	self = get_cpu();
	for (i = 0; i < n; i++) {
		int cpu = READ_ONCE(vm->vcpus[i]->guest_cpu);

		if (cpu >= 0 && cpu != self)
			cpumask_set_cpu(cpu, cpus);
	}
	if (!cpumask_empty(cpus))
		smp_call_function_many(cpus, nothing, NULL, true);
	put_cpu();
	free_cpumask_var(cpus);
}

/*
 * Makes request @req of every vCPU of @vm and waits until none runs the
 * guest without having seen it: a vCPU outside the guest sees it before
 * its next entry (vcpu_run() checks requests after publishing its CPU).
 * As KVM's kvm_make_all_cpus_request() with KVM_REQUEST_WAIT.
 */
void kvmx_request_all_vcpus_wait(struct kvmx_vm *vm, int req)
{
	/* Pairs with the smp_store_release() that publishes a new vCPU. */
	int i, n = smp_load_acquire(&vm->nr_vcpus);

	for (i = 0; i < n; i++)
		set_bit(req, &vm->vcpus[i]->requests);
	/* The requests before reading where the vCPUs are: see vcpu_run(). */
	smp_mb__after_atomic();
	kvmx_kick_all_vcpus_wait(vm);
}

static int vcpu_run(struct kvmx_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	int r, fail;

	fpu_swap_kvm_fpstate(&vcpu->fpu, true);
	if ((run->kvm_valid_regs | run->kvm_dirty_regs) & ~KVM_SYNC_X86_VALID_FIELDS) {
		r = kvmx_refuse(-EINVAL, "KVM_RUN", "sync_regs: valid 0x%llx dirty 0x%llx",
				run->kvm_valid_regs, run->kvm_dirty_regs);
		goto out;
	}
	r = sync_regs_in(vcpu);
	if (r)
		goto out;
	r = kvmx_singlestep_done(vcpu, complete_user_io(vcpu));
	if (r <= 0)
		goto out;
	if (run->immediate_exit) {
		r = -EINTR;
		goto out;
	}
	/* As KVM's vcpu_load(): steal time and kvmclock are refreshed. */
	vcpu->st.update = true;
	kvmx_kvmclock_run_start(vcpu);
	for (;;) {
		if (vcpu->shutdown_pending) {
			vcpu->shutdown_pending = false;
			run->exit_reason = KVM_EXIT_SHUTDOWN;
			r = 0;
			break;
		}
		/* The irqchip: timers, INIT/SIPI, and sleeping in HLT. */
		r = kvmx_lapic_before_entry(vcpu);
		if (r == 0 || r == -EAGAIN)
			break;
		if (r < 0 || signal_pending(current)) {
			run->exit_reason = KVM_EXIT_INTR;
			kvmx_stat_inc(vcpu, signal_exits);
			r = -EINTR;
			break;
		}
		cond_resched();
		/* The MMU's tables for the guest's paging state now. */
		r = kvmx_mmu_reload(vcpu);
		if (r <= 0)
			break;
		kvmx_steal_time_before_entry(vcpu);
		kvmx_kvmclock_before_entry(vcpu);
		if (test_and_clear_bit(KVMX_REQ_MSR_BITMAP, &vcpu->requests))
			kvmx_update_msr_bitmap(vcpu);

		preempt_disable();
		local_irq_disable();
		/* Publish the CPU before looking at requests: see kvmx_vcpu_kick(). */
		smp_store_mb(vcpu->guest_cpu, smp_processor_id());
		if (signal_pending(current) || need_resched() ||
		    test_bit(KVMX_REQ_EVENT, &vcpu->requests) ||
		    test_bit(KVMX_REQ_MMU_RELOAD, &vcpu->requests) ||
		    test_bit(KVMX_REQ_MSR_BITMAP, &vcpu->requests)) {
			WRITE_ONCE(vcpu->guest_cpu, -1);
			local_irq_enable();
			preempt_enable();
			continue;
		}
		/*
		 * The guest's FPU/SSE registers must be in the CPU at VM entry.
		 * fpu_swap_kvm_fpstate() loaded them once, but a context switch
		 * since (cond_resched(), or preemption while an exit was
		 * handled) saved them away and left another task's in the
		 * registers, to be reloaded only on the return to user space.
		 * As KVM's vcpu_enter_guest().
		 */
		fpregs_assert_state_consistent();
		if (test_thread_flag(TIF_NEED_FPU_LOAD))
			switch_fpu_return();
		fail = kvmx_vmx_enter(vcpu);
		WRITE_ONCE(vcpu->guest_cpu, -1);
		local_irq_enable();
		preempt_enable();

		r = fail ? entry_failed(vcpu) : kvmx_singlestep_done(vcpu, kvmx_handle_exit(vcpu));
		if (r <= 0)
			break;
		if (run->request_interrupt_window && vcpu->irq < 0 &&
		    !kvmx_pic_in_kernel(vcpu->vm) && kvmx_interrupt_allowed(vcpu)) {
			run->exit_reason = KVM_EXIT_IRQ_WINDOW_OPEN;
			r = 0;
			break;
		}
	}
out:
	kvmx_stat_user_exit(vcpu, r);
	if (run->kvm_valid_regs)
		sync_regs_out(vcpu);
	post_run(vcpu);
	fpu_swap_kvm_fpstate(&vcpu->fpu, false);
	return r;
}

/* The signal mask of KVM_SET_SIGNAL_MASK holds only inside KVM_RUN, as in KVM. */
static int vcpu_run_with_sigmask(struct kvmx_vcpu *vcpu)
{
	int r;

	if (vcpu->sigset_active)
		sigprocmask(SIG_SETMASK, &vcpu->sigset, &current->real_blocked);
	r = vcpu_run(vcpu);
	if (vcpu->sigset_active) {
		sigprocmask(SIG_SETMASK, &current->real_blocked, NULL);
		sigemptyset(&current->real_blocked);
	}
	return r;
}

/* KVM's kvm_cpuid_check_equal(): same entries in the same order, padding aside. */
static bool cpuid_equal(const struct kvm_cpuid_entry2 *a, u32 na,
			const struct kvm_cpuid_entry2 *b, u32 nb)
{
	u32 i;

	if (na != nb)
		return false;
	for (i = 0; i < na; i++) {
		if (a[i].function != b[i].function || a[i].index != b[i].index ||
		    a[i].flags != b[i].flags || a[i].eax != b[i].eax || a[i].ebx != b[i].ebx ||
		    a[i].ecx != b[i].ecx || a[i].edx != b[i].edx)
			return false;
	}
	return true;
}

static int vcpu_set_cpuid(struct kvmx_vcpu *vcpu, struct kvm_cpuid2 __user *arg)
{
	struct kvm_cpuid_entry2 *entries = NULL;
	struct kvm_cpuid2 hdr;

	if (copy_from_user(&hdr, arg, sizeof(hdr)))
		return -EFAULT;
	if (hdr.nent > KVMX_MAX_CPUID_ENTRIES)
		return kvmx_refuse(-E2BIG, "KVM_SET_CPUID2", "%u entries, at most %d", hdr.nent,
				   KVMX_MAX_CPUID_ENTRIES);
	if (hdr.nent) {
		entries = vmemdup_user(arg->entries, array_size(sizeof(*entries), hdr.nent));
		if (IS_ERR(entries))
			return PTR_ERR(entries);
	}
	kvmx_update_cpuid_runtime(vcpu, entries, hdr.nent);
	/*
	 * As KVM since 5.16: once the vCPU has run, the same table again is
	 * accepted and any change refused (the guest has seen its features).
	 */
	if (vcpu->has_run) {
		bool same = cpuid_equal(entries, hdr.nent, vcpu->cpuid, vcpu->nr_cpuid);

		kvfree(entries);
		return same ? 0 : kvmx_refuse(-EINVAL, "KVM_SET_CPUID2",
					      "the vCPU has run: the table may not change");
	}
	kvfree(vcpu->cpuid);
	vcpu->cpuid = entries;
	vcpu->nr_cpuid = hdr.nent;
	return 0;
}

/*
 * KVM_GET_CPUID2, as KVM 6.1: the table KVM_SET_CPUID2 gave.  A short
 * array is -E2BIG and nothing is written back (KVM 6.1 copies the header
 * back only on success, where nent is unchanged).
 */
static int vcpu_get_cpuid(struct kvmx_vcpu *vcpu, struct kvm_cpuid2 __user *arg)
{
	struct kvm_cpuid2 hdr;

	if (copy_from_user(&hdr, arg, sizeof(hdr)))
		return -EFAULT;
	if (hdr.nent < vcpu->nr_cpuid)
		return kvmx_refuse(-E2BIG, "KVM_GET_CPUID2", "%u entries, need %d", hdr.nent,
				   vcpu->nr_cpuid);
	if (vcpu->nr_cpuid && copy_to_user(arg->entries, vcpu->cpuid,
					   array_size(sizeof(*vcpu->cpuid), vcpu->nr_cpuid)))
		return -EFAULT;
	return 0;
}

/*
 * KVM_SET_TSC_KHZ as KVM 6.1 on a host without TSC scaling: 0 means the
 * host's rate; a rate within KVM's tolerance (250 ppm) of the host's is
 * taken as it.  KVM refuses a slower rate too (-EINVAL); a faster one it
 * takes by catching the guest's TSC up at each entry, which kvmx does not
 * do, so kvmx refuses that as well and says so (Documentation/abi.md).
 */
#define KVMX_TSC_TOLERANCE_PPM 250

static long vcpu_set_tsc_khz(struct kvmx_vcpu *vcpu, unsigned long arg)
{
	u32 khz = (u32)arg ?: tsc_khz;
	u64 slack = div_u64((u64)tsc_khz * KVMX_TSC_TOLERANCE_PPM, 1000000);

	if (!tsc_khz)
		return kvmx_refuse(-EINVAL, "KVM_SET_TSC_KHZ", "the host's TSC rate is unknown");
	if (khz < tsc_khz - slack)
		return kvmx_refuse(-EINVAL, "KVM_SET_TSC_KHZ",
				   "%u kHz is below the host's %u kHz, and kvmx has no TSC scaling",
				   khz, tsc_khz);
	if (khz > tsc_khz + slack)
		return kvmx_refuse(-EINVAL, "KVM_SET_TSC_KHZ",
				   "%u kHz is above the host's %u kHz, and kvmx has no TSC scaling or catch-up",
				   khz, tsc_khz);
	vcpu->virtual_tsc_khz = khz;
	return 0;
}

/*
 * KVM_GET/SET_DEBUGREGS as KVM 6.1.  kvmx's debug registers are shadows
 * (the guest's MOV DR exits; only KVM_SET_GUEST_DEBUG arms the hardware's,
 * with values of its own), so these are plain copies, with KVM's checks:
 * no flags, DR6 and DR7 within 32 bits.
 */
static int vcpu_get_debugregs(struct kvmx_vcpu *vcpu, struct kvm_debugregs __user *arg)
{
	struct kvm_debugregs d;

	memset(&d, 0, sizeof(d));
	memcpy(d.db, vcpu->dr, sizeof(d.db));
	d.dr6 = vcpu->dr6;
	d.dr7 = vcpu->dr7;
	return copy_to_user(arg, &d, sizeof(d)) ? -EFAULT : 0;
}

static int vcpu_set_debugregs(struct kvmx_vcpu *vcpu, struct kvm_debugregs __user *arg)
{
	struct kvm_debugregs d;

	if (copy_from_user(&d, arg, sizeof(d)))
		return -EFAULT;
	if (d.flags || d.dr6 >> 32 || d.dr7 >> 32)
		return kvmx_refuse(-EINVAL, "KVM_SET_DEBUGREGS",
				   "flags 0x%llx dr6 0x%llx dr7 0x%llx", d.flags, d.dr6, d.dr7);
	memcpy(vcpu->dr, d.db, sizeof(vcpu->dr));
	vcpu->dr6 = d.dr6;
	vcpu->dr7 = d.dr7;
	return 0;
}

/* KVM's kvm_is_exception_pending(): queued, or its delivery cut short by an exit. */
static bool exception_pending(struct kvmx_vcpu *vcpu)
{
	u32 type = vcpu->reinject_info & INTR_INFO_TYPE_MASK;

	return vcpu->exception.pending ||
	       ((vcpu->reinject_info & INTR_INFO_VALID) &&
		(type == INTR_TYPE_HARD_EXCEPTION || type == INTR_TYPE_SOFT_EXCEPTION ||
		 type == INTR_TYPE_PRIV_SW_EXCEPTION));
}

/*
 * KVM_SET_GUEST_DEBUG as KVM 6.1's kvm_arch_vcpu_ioctl_set_guest_debug():
 * INJECT_DB/INJECT_BP queue the exception (-EBUSY while one is pending);
 * the control word holds only with KVM_GUESTDBG_ENABLE; USE_HW_BP's DR0-3
 * and DR7 are taken as given (the VMCS's DR7, DR0-3 loaded at each entry:
 * exit.c); SINGLESTEP sets RFLAGS.TF from this RIP on, hidden from
 * KVM_GET_REGS; USE_SW_BP makes #BP exit; BLOCKIRQ keeps NMIs and
 * interrupts out (exit.c).  As KVM 6.1, control bits it does not know
 * are not refused (6.1 checks KVM_GUESTDBG_VALID_MASK nowhere, only
 * KVM_CAP_SET_GUEST_DEBUG2 lists it), and do nothing.
 */
static int vcpu_set_guest_debug(struct kvmx_vcpu *vcpu, struct kvm_guest_debug __user *arg)
{
	struct kvm_guest_debug dbg;
	unsigned long rflags;
	int i;

	if (copy_from_user(&dbg, arg, sizeof(dbg)))
		return -EFAULT;
	if (dbg.control & (KVM_GUESTDBG_INJECT_DB | KVM_GUESTDBG_INJECT_BP)) {
		if (exception_pending(vcpu))
			return kvmx_refuse(-EBUSY, "KVM_SET_GUEST_DEBUG",
					   "control 0x%x: an exception is already pending",
					   dbg.control);
		if (dbg.control & KVM_GUESTDBG_INJECT_DB) {
			kvmx_queue_exception(vcpu, DB_VECTOR, false, 0);
		} else {
			kvmx_queue_exception(vcpu, BP_VECTOR, false, 0);
			vcpu->exception.soft = true;
			vcpu->exception.insn_len = vcpu->debug.bp_insn_len;
		}
	}
	/* Before the control changes: without a TF kvmx added. */
	rflags = kvmx_get_rflags(vcpu);
	vcpu->debug.control = (dbg.control & KVM_GUESTDBG_ENABLE) ? dbg.control : 0;
	if (vcpu->debug.control & KVM_GUESTDBG_USE_HW_BP) {
		for (i = 0; i < 4; i++)
			vcpu->debug.db[i] = dbg.arch.debugreg[i];
		vcpu->debug.dr7 = dbg.arch.debugreg[7];
	}
	vmcs_write(GUEST_DR7, (vcpu->debug.control & KVM_GUESTDBG_USE_HW_BP) ?
		   vcpu->debug.dr7 : KVMX_DR7_FIXED_1);
	if (vcpu->debug.control & KVM_GUESTDBG_SINGLESTEP)
		vcpu->debug.singlestep_rip = kvmx_linear_rip();
	vcpu->debug.stepped = false;
	kvmx_set_rflags(vcpu, rflags);
	kvmx_update_exception_bitmap(vcpu);
	return 0;
}

/* KVM_GET_MSRS/KVM_SET_MSRS, through kvmx_msr_io(). */
static int vcpu_get_msr_entry(void *vcpu, struct kvm_msr_entry *e)
{
	return kvmx_get_msr(vcpu, e->index, &e->data, true);
}

static int vcpu_set_msr_entry(void *vcpu, struct kvm_msr_entry *e)
{
	return kvmx_set_msr(vcpu, e->index, e->data, true);
}

static int vcpu_get_fpu(struct kvmx_vcpu *vcpu, struct kvm_fpu __user *arg)
{
	struct fxregs_state *fx = &vcpu->fpu.fpstate->regs.fxsave;
	struct kvm_fpu fpu = {};

	memcpy(fpu.fpr, fx->st_space, 128);
	fpu.fcw = fx->cwd;
	fpu.fsw = fx->swd;
	fpu.ftwx = fx->twd;
	fpu.last_opcode = fx->fop;
	fpu.last_ip = fx->rip;
	fpu.last_dp = fx->rdp;
	memcpy(fpu.xmm, fx->xmm_space, sizeof(fpu.xmm));
	fpu.mxcsr = fx->mxcsr;
	return copy_to_user(arg, &fpu, sizeof(fpu)) ? -EFAULT : 0;
}

static int vcpu_set_fpu(struct kvmx_vcpu *vcpu, struct kvm_fpu __user *arg)
{
	struct fxregs_state *fx = &vcpu->fpu.fpstate->regs.fxsave;
	struct kvm_fpu fpu;

	if (copy_from_user(&fpu, arg, sizeof(fpu)))
		return -EFAULT;
	memcpy(fx->st_space, fpu.fpr, 128);
	fx->cwd = fpu.fcw;
	fx->swd = fpu.fsw;
	fx->twd = fpu.ftwx;
	fx->fop = fpu.last_opcode;
	fx->rip = fpu.last_ip;
	fx->rdp = fpu.last_dp;
	memcpy(fx->xmm_space, fpu.xmm, sizeof(fpu.xmm));
	fx->mxcsr = fpu.mxcsr & 0xffff;
	return 0;
}

/*
 * KVM_GET/SET_XSAVE as Debian's KVM 6.1: the guest's FPU state (kvmx keeps
 * it in a guest fpstate, as KVM) in the XSAVE layout of the uapi, 4 KiB,
 * with the components the guest may use (FP and SSE: kvmx offers no XSAVE);
 * on a host without XSAVE the legacy area with FP and SSE in the header.  Setting
 * takes the components this host's fpstate has (-EINVAL for others in the
 * header), and PKRU only when the header names it; kvmx offers guests no
 * PKU, so the PKRU value is only kept for the next KVM_GET_XSAVE.
 */
static int vcpu_get_xsave(struct kvmx_vcpu *vcpu, struct kvm_xsave __user *arg)
{
	struct kvm_xsave *x = kzalloc(sizeof(*x), GFP_KERNEL_ACCOUNT);
	int r = 0;

	if (!x)
		return -ENOMEM;
	/* As Debian's 6.1: only the components the guest has (FP and SSE here). */
	fpu_copy_guest_fpstate_to_uabi(&vcpu->fpu, x->region, sizeof(x->region),
				       XFEATURE_MASK_FPSSE, vcpu->pkru);
	if (copy_to_user(arg, x, sizeof(*x)))
		r = -EFAULT;
	kfree(x);
	return r;
}

static int vcpu_set_xsave(struct kvmx_vcpu *vcpu, struct kvm_xsave __user *arg)
{
	struct kvm_xsave *x = memdup_user(arg, sizeof(*x));
	int r;

	if (IS_ERR(x))
		return PTR_ERR(x);
	r = fpu_copy_uabi_to_guest_fpstate(&vcpu->fpu, x->region,
					   vcpu->fpu.fpstate->user_xfeatures, &vcpu->pkru);
	kfree(x);
	return r ? kvmx_refuse(r, "KVM_SET_XSAVE", "components or MXCSR not valid here") : 0;
}

/*
 * KVM_GET/SET_XCRS as KVM 6.1 (only on an XSAVE host): XCR0 alone.  kvmx
 * offers guests no XSAVE, so XCR0 is KVM's value for such a guest, FP
 * only (1), and setting anything else is -EINVAL, as KVM for a guest
 * whose CPUID has no XSAVE leaf.
 */
static int vcpu_xcrs(struct kvmx_vcpu *vcpu, unsigned int ioctl, struct kvm_xcrs __user *arg)
{
	struct kvm_xcrs xcrs;
	u32 i;

	if (ioctl == KVM_GET_XCRS) {
		memset(&xcrs, 0, sizeof(xcrs));
		if (boot_cpu_has(X86_FEATURE_XSAVE)) {
			xcrs.nr_xcrs = 1;
			xcrs.xcrs[0].xcr = XCR_XFEATURE_ENABLED_MASK;
			xcrs.xcrs[0].value = XFEATURE_MASK_FP;
		}
		return copy_to_user(arg, &xcrs, sizeof(xcrs)) ? -EFAULT : 0;
	}
	if (copy_from_user(&xcrs, arg, sizeof(xcrs)))
		return -EFAULT;
	if (!boot_cpu_has(X86_FEATURE_XSAVE) || xcrs.nr_xcrs > KVM_MAX_XCRS || xcrs.flags)
		return kvmx_refuse(-EINVAL, "KVM_SET_XCRS", "%u XCRs, flags 0x%x",
				   xcrs.nr_xcrs, xcrs.flags);
	for (i = 0; i < xcrs.nr_xcrs; i++) {
		if (xcrs.xcrs[i].xcr != XCR_XFEATURE_ENABLED_MASK)
			continue;
		if (xcrs.xcrs[i].value != XFEATURE_MASK_FP)
			return kvmx_refuse(-EINVAL, "KVM_SET_XCRS",
					   "XCR0 0x%llx: the guest has no XSAVE",
					   xcrs.xcrs[i].value);
		break;
	}
	return 0;
}

/* KVM_SET_SIGNAL_MASK: the signal mask in force while KVM_RUN runs the guest. */
static int vcpu_set_signal_mask(struct kvmx_vcpu *vcpu, struct kvm_signal_mask __user *arg)
{
	struct kvm_signal_mask hdr;
	sigset_t set;

	if (!arg) {
		vcpu->sigset_active = false;
		return 0;
	}
	if (copy_from_user(&hdr, arg, sizeof(hdr)))
		return -EFAULT;
	if (hdr.len != sizeof(set))
		return kvmx_refuse(-EINVAL, "KVM_SET_SIGNAL_MASK", "len %u, not %zu", hdr.len,
				   sizeof(set));
	if (copy_from_user(&set, arg->sigset, sizeof(set)))
		return -EFAULT;
	sigdelsetmask(&set, sigmask(SIGKILL) | sigmask(SIGSTOP));
	vcpu->sigset = set;
	vcpu->sigset_active = true;
	return 0;
}

/*
 * KVM_X86_SETUP_MCE: the guest's IA32_MCG_CAP (bank count and flags); as
 * KVM, it also sets IA32_MCG_CTL (when MCG_CTL_P) and every MCi_CTL to all
 * ones.
 */
static int vcpu_setup_mce(struct kvmx_vcpu *vcpu, u64 mcg_cap)
{
	u64 old_cap = vcpu->mce.cap;
	unsigned int i;

	if (!kvmx_mce_cap_valid(mcg_cap))
		return kvmx_refuse(-EINVAL, "KVM_X86_SETUP_MCE",
				   "MCG_CAP 0x%llx: 1-%d banks and MCG_CTL_P/CMCI_P/SER_P/LMCE_P only",
				   mcg_cap, KVMX_MCE_MAX_BANKS);
	vcpu->mce.cap = mcg_cap;
	if (mcg_cap & KVMX_MCG_CTL_P)
		vcpu->mce.ctl = ~0ULL;
	/* As KVM: MCi_CTL all ones, and MCi_CTL2 0 when there is CMCI. */
	for (i = 0; i < (mcg_cap & 0xff); i++) {
		vcpu->mce.banks[4 * i] = ~0ULL;
		if (mcg_cap & KVMX_MCG_CMCI_P)
			vcpu->mce.ctl2[i] = 0;
	}
	kvmx_lapic_after_set_mcg_cap(vcpu, old_cap);
	return 0;
}

/*
 * KVM_X86_SET_MCE: user space reports a machine-check error in a bank;
 * kvmx_mce_inject() has KVM's rules, this does what they say: a CMCI
 * through the APIC's CMCI LVT, a #MC, or a shutdown at the next KVM_RUN.
 */
static int vcpu_set_mce(struct kvmx_vcpu *vcpu, const struct kvm_x86_mce *mce)
{
	struct kvmx_mce_event ev = {
		.status = mce->status,
		.addr = mce->addr,
		.misc = mce->misc,
		.mcg_status = mce->mcg_status,
		.bank = mce->bank,
	};

	switch (kvmx_mce_inject(&vcpu->mce, &ev, vmcs_read(GUEST_CR4) & X86_CR4_MCE)) {
	case KVMX_MCE_INVALID:
		return kvmx_refuse(-EINVAL, "KVM_X86_SET_MCE",
				   "bank %u of %llu, or MCi_STATUS 0x%llx without VAL",
				   mce->bank, vcpu->mce.cap & 0xff, mce->status);
	case KVMX_MCE_CMCI:
		kvmx_lapic_deliver_cmci(vcpu);
		break;
	case KVMX_MCE_EXCEPTION:
		kvmx_queue_exception(vcpu, MC_VECTOR, false, 0);
		break;
	case KVMX_MCE_SHUTDOWN:
		vcpu->shutdown_pending = true;
		break;
	case KVMX_MCE_LOGGED:
		break;
	}
	return 0;
}

/*
 * KVM_HAS/GET/SET_DEVICE_ATTR on the vCPU fd (KVM_CAP_VCPU_ATTRIBUTES), as
 * KVM 6.1 on x86: the group KVM_VCPU_TSC_CTRL with its one attribute,
 * KVM_VCPU_TSC_OFFSET, the u64 at @addr that the guest's TSC is ahead of
 * the host's.  -ENXIO for any other group or attribute.
 */
static int vcpu_device_attr(struct kvmx_vcpu *vcpu, unsigned int ioctl,
			    struct kvm_device_attr __user *argp)
{
	u64 __user *uaddr;
	struct kvm_device_attr attr;
	u64 offset;

	if (copy_from_user(&attr, argp, sizeof(attr)))
		return -EFAULT;
	if (attr.group != KVM_VCPU_TSC_CTRL || attr.attr != KVM_VCPU_TSC_OFFSET)
		return kvmx_refuse(-ENXIO, "vCPU device attribute", "group %u attribute %llu",
				   attr.group, attr.attr);
	uaddr = u64_to_user_ptr(attr.addr);
	switch (ioctl) {
	case KVM_GET_DEVICE_ATTR:
		return put_user(vcpu->tsc_offset, uaddr) ? -EFAULT : 0;
	case KVM_SET_DEVICE_ATTR:
		if (get_user(offset, uaddr))
			return -EFAULT;
		kvmx_set_tsc_offset(vcpu, offset);
		return 0;
	default:
		return 0;	/* KVM_HAS_DEVICE_ATTR */
	}
}

/* KVM_ENABLE_CAP on the vCPU fd, as KVM 6.1's on VMX without Hyper-V. */
static int vcpu_enable_cap(struct kvmx_vcpu *vcpu, struct kvm_enable_cap __user *argp)
{
	struct kvm_enable_cap cap;

	if (copy_from_user(&cap, argp, sizeof(cap)))
		return -EFAULT;
	if (cap.flags)
		return kvmx_refuse(-EINVAL, "KVM_ENABLE_CAP", "vCPU capability %u: flags 0x%x",
				   cap.cap, cap.flags);
	switch (cap.cap) {
	case KVM_CAP_ENFORCE_PV_FEATURE_CPUID:
		vcpu->enforce_pv_cpuid = cap.args[0];
		return 0;
	default:
		return kvmx_refuse(-EINVAL, "KVM_ENABLE_CAP",
				   "vCPU capability %u cannot be enabled", cap.cap);
	}
}

/*
 * KVM_TPR_ACCESS_REPORTING and KVM_SET_VAPIC_ADDR: QEMU's TPR patching
 * for old 32-bit Windows guests (its kvmvapic option ROM), which its
 * in-kernel-LAPIC model calls at every reset and aborts on when they
 * fail.  kvmx keeps the reporting switch but never reports a TPR access,
 * so QEMU never patches a guest and never asks for a VAPIC page: address
 * 0 (none, what a reset sets) is accepted, any other refused, since kvmx
 * does not mirror the TPR into one.
 */
static int vcpu_tpr_access_reporting(struct kvmx_vcpu *vcpu,
				     struct kvm_tpr_access_ctl __user *arg)
{
	struct kvm_tpr_access_ctl tac;

	if (copy_from_user(&tac, arg, sizeof(tac)))
		return -EFAULT;
	if (tac.flags)		/* as KVM */
		return kvmx_refuse(-EINVAL, "KVM_TPR_ACCESS_REPORTING", "flags 0x%x", tac.flags);
	vcpu->tpr_access_reporting = tac.enabled;
	return copy_to_user(arg, &tac, sizeof(tac)) ? -EFAULT : 0;
}

static int vcpu_set_vapic_addr(struct kvmx_vcpu *vcpu, struct kvm_vapic_addr __user *arg)
{
	struct kvm_vapic_addr va;

	if (!vcpu->apic)	/* as KVM */
		return kvmx_refuse(-EINVAL, "KVM_SET_VAPIC_ADDR", "no in-kernel LAPIC");
	if (copy_from_user(&va, arg, sizeof(va)))
		return -EFAULT;
	if (va.vapic_addr)
		return kvmx_refuse(-EINVAL, "KVM_SET_VAPIC_ADDR",
				   "0x%llx: kvmx has no VAPIC page, only 0 turns it off",
				   va.vapic_addr);
	return 0;
}

static long vcpu_ioctl_loaded(struct kvmx_vcpu *vcpu, unsigned int ioctl, void __user *argp)
{
	union {
		struct kvm_regs regs;
		struct kvm_sregs sregs;
		struct kvm_interrupt irq;
		struct kvm_mp_state mp;
		struct kvm_vcpu_events events;
		u64 mcg_cap;
		struct kvm_x86_mce mce;
	} u;
	int r;
	const char *why;

	switch (ioctl) {
	case KVM_RUN:
		if (argp)	/* as KVM */
			return kvmx_refuse(-EINVAL, "KVM_RUN", "argument %p is not 0", argp);
		return vcpu_run_with_sigmask(vcpu);
	case KVM_GET_REGS:
		kvmx_get_regs(vcpu, &u.regs);
		return copy_to_user(argp, &u.regs, sizeof(u.regs)) ? -EFAULT : 0;
	case KVM_SET_REGS:
		if (copy_from_user(&u.regs, argp, sizeof(u.regs)))
			return -EFAULT;
		kvmx_set_regs(vcpu, &u.regs);
		return 0;
	case KVM_GET_SREGS:
		kvmx_get_sregs(vcpu, &u.sregs);
		return copy_to_user(argp, &u.sregs, sizeof(u.sregs)) ? -EFAULT : 0;
	case KVM_SET_SREGS:
		if (copy_from_user(&u.sregs, argp, sizeof(u.sregs)))
			return -EFAULT;
		if (kvmx_set_sregs(vcpu, &u.sregs))
			return kvmx_refuse(-EINVAL, "KVM_SET_SREGS",
					   "inconsistent CR0/CR4/EFER/CS.L");
		return 0;
	case KVM_SET_CPUID2:
		return vcpu_set_cpuid(vcpu, argp);
	case KVM_GET_CPUID2:
		return vcpu_get_cpuid(vcpu, argp);
	case KVM_SET_GUEST_DEBUG:
		return vcpu_set_guest_debug(vcpu, argp);
	case KVM_GET_TSC_KHZ:
		return vcpu->virtual_tsc_khz ?: tsc_khz;
	case KVM_SET_TSC_KHZ:
		return vcpu_set_tsc_khz(vcpu, (unsigned long)argp);
	case KVM_GET_DEBUGREGS:
		return vcpu_get_debugregs(vcpu, argp);
	case KVM_SET_DEBUGREGS:
		return vcpu_set_debugregs(vcpu, argp);
	case KVM_GET_VCPU_EVENTS:
		kvmx_get_vcpu_events(vcpu, &u.events);
		return copy_to_user(argp, &u.events, sizeof(u.events)) ? -EFAULT : 0;
	case KVM_SET_VCPU_EVENTS:
		if (copy_from_user(&u.events, argp, sizeof(u.events)))
			return -EFAULT;
		why = kvmx_set_vcpu_events(vcpu, &u.events);
		return why ? kvmx_refuse(-EINVAL, "KVM_SET_VCPU_EVENTS", "%s", why) : 0;
	case KVM_GET_MSRS:
		return kvmx_msr_io(argp, "KVM_GET_MSRS", vcpu_get_msr_entry, vcpu, true);
	case KVM_SET_MSRS:
		return kvmx_msr_io(argp, "KVM_SET_MSRS", vcpu_set_msr_entry, vcpu, false);
	case KVM_GET_FPU:
		return vcpu_get_fpu(vcpu, argp);
	case KVM_SET_FPU:
		return vcpu_set_fpu(vcpu, argp);
	case KVM_INTERRUPT:
		if (copy_from_user(&u.irq, argp, sizeof(u.irq)))
			return -EFAULT;
		if (u.irq.irq >= 256)
			return kvmx_refuse(-EINVAL, "KVM_INTERRUPT", "vector %u", u.irq.irq);
		/* As KVM: with the PICs in the kernel, there is nothing to inject. */
		if (kvmx_pic_in_kernel(vcpu->vm))
			return kvmx_refuse(-ENXIO, "KVM_INTERRUPT", "the PICs are in the kernel");
		if (vcpu->irq >= 0)
			return kvmx_refuse(-EEXIST, "KVM_INTERRUPT",
					   "vector %d is still pending", vcpu->irq);
		vcpu->irq = u.irq.irq;
		return 0;
	case KVM_NMI:
		kvmx_queue_nmi(vcpu);
		return 0;
	case KVM_GET_MP_STATE:
		u.mp.mp_state = KVM_MP_STATE_RUNNABLE;
		if (vcpu->apic)
			kvmx_lapic_get_mp_state(vcpu, &u.mp.mp_state);
		return copy_to_user(argp, &u.mp, sizeof(u.mp)) ? -EFAULT : 0;
	case KVM_SET_MP_STATE:
		if (copy_from_user(&u.mp, argp, sizeof(u.mp)))
			return -EFAULT;
		if (vcpu->apic) {
			r = kvmx_lapic_set_mp_state(vcpu, u.mp.mp_state);
			if (r)
				return kvmx_refuse(r, "KVM_SET_MP_STATE", "state %u",
						   u.mp.mp_state);
			return 0;
		}
		if (u.mp.mp_state != KVM_MP_STATE_RUNNABLE)
			return kvmx_refuse(-EINVAL, "KVM_SET_MP_STATE", "state %u: only RUNNABLE",
					   u.mp.mp_state);
		return 0;
	case KVM_GET_LAPIC:
	case KVM_SET_LAPIC:
		return kvmx_lapic_vcpu_ioctl(vcpu, ioctl, argp);
	case KVM_X86_SETUP_MCE:
		if (copy_from_user(&u.mcg_cap, argp, sizeof(u.mcg_cap)))
			return -EFAULT;
		return vcpu_setup_mce(vcpu, u.mcg_cap);
	case KVM_TPR_ACCESS_REPORTING:
		return vcpu_tpr_access_reporting(vcpu, argp);
	case KVM_SET_VAPIC_ADDR:
		return vcpu_set_vapic_addr(vcpu, argp);
	case KVM_X86_SET_MCE:
		if (copy_from_user(&u.mce, argp, sizeof(u.mce)))
			return -EFAULT;
		return vcpu_set_mce(vcpu, &u.mce);
	case KVM_GET_STATS_FD:
		return kvmx_stats_vcpu_fd(vcpu);
	case KVM_SET_SIGNAL_MASK:
		return vcpu_set_signal_mask(vcpu, argp);
	case KVM_ENABLE_CAP:
		return vcpu_enable_cap(vcpu, argp);
	case KVM_GET_XSAVE:
		return vcpu_get_xsave(vcpu, argp);
	case KVM_SET_XSAVE:
		return vcpu_set_xsave(vcpu, argp);
	case KVM_GET_XCRS:
	case KVM_SET_XCRS:
		return vcpu_xcrs(vcpu, ioctl, argp);
	case KVM_HAS_DEVICE_ATTR:
	case KVM_GET_DEVICE_ATTR:
	case KVM_SET_DEVICE_ATTR:
		return vcpu_device_attr(vcpu, ioctl, argp);
	default:
		/* As KVM: unknown vCPU ioctls are -EINVAL (the VM fd says -ENOTTY). */
		return kvmx_refuse(-EINVAL, "vCPU ioctl", "unknown ioctl 0x%x", ioctl);
	}
}

static long vcpu_ioctl(struct file *file, unsigned int ioctl, unsigned long arg)
{
	struct kvmx_vcpu *vcpu = file->private_data;
	long r;

	if (!kvmx_vm_owned_by_current(vcpu->vm))
		return kvmx_refuse(-EIO, "vCPU ioctl", "caller is not the VM's process");
	if (mutex_lock_killable(&vcpu->mutex))
		return -EINTR;
	kvmx_vcpu_load(vcpu);
	r = vcpu_ioctl_loaded(vcpu, ioctl, (void __user *)arg);
	kvmx_vcpu_put(vcpu);
	mutex_unlock(&vcpu->mutex);
	return r;
}

static const struct file_operations vcpu_fops = {
	.owner = THIS_MODULE,
	.release = vcpu_release,
	.unlocked_ioctl = vcpu_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.mmap = vcpu_mmap,
	.llseek = noop_llseek,
};

static struct kvmx_vcpu *vcpu_alloc(struct kvmx_vm *vm, u32 id)
{
	struct kvmx_vcpu *vcpu = kzalloc(sizeof(*vcpu), GFP_KERNEL_ACCOUNT);

	if (!vcpu)
		return NULL;
	atomic_long_inc(&kvmx_counts.vcpus);
	vcpu->vm = vm;
	vcpu->id = id;
	vcpu->irq = -1;
	vcpu->guest_cpu = -1;
	rcuwait_init(&vcpu->wait);
	vcpu->mce.cap = KVMX_MCE_MAX_BANKS;	/* KVM's default, until KVM_X86_SETUP_MCE */
	mutex_init(&vcpu->mutex);
	vcpu->run = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	vcpu->pio_data = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	if (!vcpu->run || !vcpu->pio_data || kvmx_vmcs_alloc(vcpu) ||
	    !fpu_alloc_guest_fpstate(&vcpu->fpu)) {
		kvmx_vcpu_free(vcpu);
		return NULL;
	}
	vcpu->tsc_offset = -rdtsc();
	vcpu->microcode_version = 0x100000000ULL;	/* KVM's default */
	kvmx_vcpu_init_msrs(vcpu);
	kvmx_vmcs_setup(vcpu);
	vcpu->mp_state = KVM_MP_STATE_RUNNABLE;
	/* vm->lock is held: the irqchip cannot appear meanwhile. */
	if (vm->irqchip && kvmx_lapic_create(vcpu)) {
		kvmx_vcpu_free(vcpu);
		return NULL;
	}
	return vcpu;
}

int kvmx_create_vcpu(struct kvmx_vm *vm, unsigned long id)
{
	struct kvmx_vcpu *vcpu;
	int i, fd;

	mutex_lock(&vm->lock);
	/* As KVM: the first vCPU fixes the limit if KVM_CAP_MAX_VCPU_ID did not. */
	if (!vm->max_vcpu_ids)
		vm->max_vcpu_ids = KVMX_MAX_VCPU_ID;
	if (id >= vm->max_vcpu_ids) {
		fd = kvmx_refuse(-EINVAL, "KVM_CREATE_VCPU", "id %lu, at most %u", id,
				 vm->max_vcpu_ids - 1);
		goto out;
	}
	if (vm->nr_vcpus >= KVMX_MAX_VCPUS) {
		fd = kvmx_refuse(-EINVAL, "KVM_CREATE_VCPU", "already %d vCPUs", KVMX_MAX_VCPUS);
		goto out;
	}
	for (i = 0; i < vm->nr_vcpus; i++) {
		if (vm->vcpus[i]->id == id) {
			fd = kvmx_refuse(-EEXIST, "KVM_CREATE_VCPU", "id %lu exists", id);
			goto out;
		}
	}
	vcpu = vcpu_alloc(vm, id);
	if (!vcpu) {
		fd = kvmx_refuse(-ENOMEM, "KVM_CREATE_VCPU", "no memory");
		goto out;
	}
	kref_get(&vm->ref);
	fd = anon_inode_getfd("kvmx-vcpu", &vcpu_fops, vcpu, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		kvmx_vcpu_free(vcpu);
		/* Cannot be the last reference: the caller's VM fd holds one. */
		kvmx_vm_put(vm);
		goto out;
	}
	vm->vcpus[vm->nr_vcpus] = vcpu;
	/* Delivery reads vcpus[] without vm->lock: the vCPU before the count. */
	smp_store_release(&vm->nr_vcpus, vm->nr_vcpus + 1);
	kvmx_stats_vcpu_init(vcpu);
out:
	mutex_unlock(&vm->lock);
	return fd;
}
