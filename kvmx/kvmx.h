/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvmx's core objects: the VM and the vCPU, and how they may be touched.
 */
#ifndef KVMX_KVMX_H
#define KVMX_KVMX_H

#include <linux/bitops.h>
#include <linux/compiler_attributes.h>
#include <linux/kref.h>
#include <linux/kvm.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/preempt.h>
#include <linux/rcuwait.h>
#include <linux/seqlock.h>
#include <linux/signal.h>
#include <linux/spinlock.h>
#include <linux/srcu.h>
#include <linux/types.h>
#include <linux/xarray.h>
#include <asm/fpu/api.h>

#include "iobus.h"
#include "slots.h"
#include "stats.h"
#include "emulate/emulate.h"
#include "insn_cache.h"
#include "mmu/spte.h"
#include "mmu/walk.h"
#include "mce.h"
#include "mtrr.h"

#define KVMX_MAX_VCPUS		64
#define KVMX_MAX_VCPU_ID	4096	/* as KVM on x86: ids 0..4095 */
#define KVMX_MAX_CPUID_ENTRIES	256
#define KVMX_MIN_MMU_PAGES	64	/* KVM_MIN_ALLOC_MMU_PAGES */
#define KVMX_MEMSLOT_PAGES_PER_MMU_PAGE	50	/* KVM_MEMSLOT_PAGES_TO_MMU_PAGES_RATIO */
#define KVMX_MIN_FREE_MMU_PAGES	5	/* KVM_MIN_FREE_MMU_PAGES */

/*
 * Every refusal of a user-space request returns an errno and leaves one
 * line in dmesg saying who asked for @what and why.  User space can repeat
 * a bad request at will, so the lines are rate-limited.  Returns @err.
 */
__printf(3, 4) int kvmx_refuse(int err, const char *what, const char *fmt, ...);
long kvmx_msr_io(struct kvm_msrs __user *arg, const char *ioctl_name,
		 int (*do_msr)(void *ctx, struct kvm_msr_entry *e), void *ctx, bool writeback);

struct kvmx_mmu_ops;
struct kvmx_sp;
struct kvmx_pit;

/* Objects alive, for leak checks (debugfs "objects"). */
struct kvmx_counts {
	atomic_long_t vms;
	atomic_long_t vcpus;
	atomic_long_t ept_tables;
	atomic_long_t shadow_pages;
	atomic_long_t pinned_pages;
	atomic_long_t irqchips;
	atomic_long_t lapics;
	atomic_long_t ioeventfds;
	atomic_long_t irqfds;
	atomic_long_t pits;
};

extern struct kvmx_counts kvmx_counts;

/*
 * The EPT of a VM.  @lock protects every table and entry; the fault path
 * pins the page before taking it (pinning sleeps), zapping unpins under it.
 * Tables are freed only when the VM is destroyed, when no vCPU runs, so a
 * walk without the lock (MMIO SPTE lookups) never meets a freed table.
 */
struct kvmx_tdp {
	struct mutex lock;		/* see above */
	u64 *root;			/* level-4 table */
	u64 eptp;
};

/*
 * The shadow MMU of a VM (mmu/shadow.c, where the rules are written in
 * full).  @lock protects every shadow page, the hash, the lists, the
 * reverse map and every SPTE; shadow pages are freed after an RCU grace
 * period, so a walk under rcu_read_lock() (the MMIO fast path) never
 * meets freed memory.
 */
struct kvmx_shadow {
	struct mutex lock;		/* see above */
	struct hlist_head *hash;	/* shadow pages by guest table gfn */
	struct list_head pages;		/* every shadow page alive */
	/* gfn -> the leaves that map it, its pinned page, its write protection */
	struct xarray rmap;
	unsigned long nr_pages;		/* shadow pages alive (VM stat shadow_pages) */
	unsigned long nr_wp_gfns;	/* guest tables write-protected now (shadow_wp_gfns) */
	u64 write_seq;			/* marks the pages one guest write visited */
	/*
	 * A writable RAM leaf was dropped (a zap) and no flush_remote()
	 * followed: another CPU may still write through it from its TLB.
	 * Taking W away (write protection, dirty logging) flushes first.
	 * Set under the lock, cleared by flush_remote().
	 */
	bool tlbs_dirty;
	unsigned long recycled;		/* pages zapped for the limit (mmu_recycled) */
	bool mmio_ok;			/* a reserved PA bit is free: MMIO SPTEs */
	/* bypass_guest_pf (shadow.c): vm->bypass_guest_pf, if mmio_ok */
	bool bypass;
};

struct kvmx_vm {
	struct kref ref;		/* the VM fd and each vCPU hold one */
	struct mm_struct *mm;		/* only the creator's mm may use the VM */

	/*
	 * Serialises memslot updates, vCPU creation and the VM's settings.
	 * Never taken on the fault path.
	 */
	struct mutex lock;

	/* Readers of @memslots hold @srcu; updates hold @lock. */
	struct srcu_struct srcu;
	struct kvmx_memslots __rcu *memslots;

	/*
	 * The VM's MMU (mmu/mmu.h).  Written under @lock before the first
	 * vCPU exists (KVMX_CAP_MMU), constant after; read without a lock by
	 * vCPUs and under @lock by everyone else.
	 */
	const struct kvmx_mmu_ops *mmu;
	struct kvmx_tdp tdp;		/* the EPT MMU's state */
	struct kvmx_shadow shadow;	/* the shadow MMU's state (mmu/shadow.c) */

	/*
	 * How this VM caches MMIO in SPTEs (seed 004).  Chosen with
	 * KVM_ENABLE_CAP(KVMX_CAP_MMIO_CACHING) before the first vCPU, under
	 * @lock; constant once a vCPU exists, so vCPUs read it without a lock.
	 */
	struct kvmx_mmio_cfg mmio;
	/*
	 * KVMX_CAP_BYPASS_GUEST_PF (default: the module parameter).  Written
	 * under vm->lock before the first vCPU, with shadow.bypass; fixed
	 * once vCPUs exist, which read shadow.bypass without a lock.
	 */
	bool bypass_guest_pf;

	/*
	 * KVM_IOEVENTFD registrations, one immutable sorted array per bus
	 * (iobus.h; NULL when empty).  Replaced whole under @lock and
	 * published with rcu_assign_pointer(); the exit paths read them under
	 * @srcu without a lock (kvmx_ioeventfd_write()).  An array and the
	 * eventfd references it dropped are freed after
	 * synchronize_srcu_expedited().  A registration owns one reference to
	 * its eventfd_ctx; the last arrays go with the VM.
	 */
	struct kvmx_iobus __rcu *iobus[KVMX_NR_IOBUS];

	/*
	 * KVM_IRQFD registrations (eventfd.c).  @irqfds.lock protects
	 * @irqfds.items and is taken with interrupts off: an eventfd's wakeup
	 * callback takes it under the eventfd's wait-queue lock.  An irqfd
	 * leaves the list when it is deactivated (deassigned, its eventfd
	 * closed, the VM destroyed) and its shutdown work frees it.
	 */
	struct {
		spinlock_t lock;	/* see above */
		struct list_head items;
	} irqfds;

	/*
	 * KVM_CAP_MSR_PLATFORM_INFO: may the guest read MSR_PLATFORM_INFO?
	 * On at creation, as in KVM.  Written under @lock, read by vCPUs
	 * with READ_ONCE().
	 */
	bool guest_can_read_msr_platform_info;
	/*
	 * KVM_CAP_EXIT_ON_EMULATION_FAILURE: an instruction kvmx cannot
	 * emulate always exits to user space, without the #UD KVM gives the
	 * guest otherwise.  Written under @lock, read by vCPUs with
	 * READ_ONCE().
	 */
	bool exit_on_emulation_error;

	/*
	 * KVM_SET/GET_NR_MMU_PAGES, under @lock.  KVM's limit on shadow MMU
	 * pages, which kvmx's shadow MMU keeps to (its faults read it with
	 * READ_ONCE()); KVM's TDP MMU ignores it, and so does kvmx's EPT.
	 * Kept and reported as KVM does: until user space sets it, one page per
	 * KVMX_MEMSLOT_PAGES_PER_MMU_PAGE memslot pages, at least
	 * KVMX_MIN_MMU_PAGES, recomputed when a slot is created or deleted.
	 */
	u64 nr_memslot_pages;
	unsigned long n_requested_mmu_pages;	/* 0: not set by user space */
	unsigned long n_max_mmu_pages;

	/*
	 * vCPU ids must be below this (KVM_CAP_MAX_VCPU_ID); 0 until set or
	 * until the first vCPU sets it to KVMX_MAX_VCPU_ID.  Under @lock.
	 */
	u32 max_vcpu_ids;

	/*
	 * KVM_SET_BOOT_CPU_ID: the id of the vCPU that comes out of RESET as
	 * the BSP (0 by default).  Written under @lock before the first
	 * vCPU, constant after, so vCPUs read it without a lock.
	 */
	u32 bsp_vcpu_id;

	/*
	 * KVM_X86_QUIRK_* that user space turned off (KVM_CAP_DISABLE_QUIRKS
	 * and DISABLE_QUIRKS2; KVMX_VALID_QUIRKS).  As in KVM, set at any time
	 * without a lock (WRITE_ONCE) and read by vCPUs with READ_ONCE():
	 * kvmx_has_quirk().
	 */
	u64 disabled_quirks;

	/*
	 * KVM_CAP_X86_USER_SPACE_MSR: the KVM_MSR_EXIT_REASON_* for which a
	 * failed guest RDMSR/WRMSR exits to user space; written under @lock,
	 * read by vCPUs with READ_ONCE().  KVM_X86_SET_MSR_FILTER's filter
	 * (msr_filter.c; NULL: all allowed): replaced under @lock, read under
	 * @srcu.
	 */
	u32 user_space_msr_mask;
	struct kvmx_msr_filter __rcu *msr_filter;

	/* Written under @lock; read by anyone holding a VM reference. */
	struct kvmx_vcpu *vcpus[KVMX_MAX_VCPUS];
	int nr_vcpus;			/* published with smp_store_release() */

	/*
	 * The in-kernel irqchip (irq/irqchip.h), NULL without one.  Set once,
	 * under @lock, before the first vCPU; read with smp_load_acquire().
	 */
	struct kvmx_irqchip *irqchip;

	/*
	 * The in-kernel PIT (irq/pit.c), NULL without one.  Set once, under
	 * @lock, by KVM_CREATE_PIT(2); read with smp_load_acquire().
	 */
	struct kvmx_pit *pit;

	struct kvmx_vm_stat stat;	/* see stats.h for who writes what */

	/*
	 * MSR_KVM_WALL_CLOCK(_NEW) as last written.  Per VM, as on KVM; any
	 * vCPU thread reads and writes it, whole (READ/WRITE_ONCE).
	 */
	u64 kvmclock_wall_clock;

	/*
	 * kvmclock (kvmclock.c): the guests' clock as a function of the host
	 * TSC.  Replaced whole under @clock_lock by KVM_SET_CLOCK, then
	 * @clock_gen is bumped; read under the seqlock.
	 */
	seqlock_t clock_lock;
	struct kvmx_kvmclock {
		u64 master_tsc;		/* host TSC ... */
		u64 master_ns;		/* ... and boot-time ns, read together */
		s64 offset;		/* the VM's clock minus boot time */
		u32 mul;		/* host TSC cycles to ns: tsc_khz */
		s8 shift;
		bool master;		/* the snapshot is taken (first KVM_RUN) */
	} clock;
	atomic_t clock_gen;
};

/* Guest general-purpose registers, in the order of the ModRM encoding. */
enum kvmx_reg {
	KVMX_RAX, KVMX_RCX, KVMX_RDX, KVMX_RBX, KVMX_RSP, KVMX_RBP, KVMX_RSI, KVMX_RDI,
	KVMX_R8, KVMX_R9, KVMX_R10, KVMX_R11, KVMX_R12, KVMX_R13, KVMX_R14, KVMX_R15,
	KVMX_NR_REGS,
};

/* The syscall/user-mode MSRs the VMCS does not switch; kvmx swaps them. */
enum kvmx_swapped_msr {
	KVMX_MSR_STAR, KVMX_MSR_LSTAR, KVMX_MSR_CSTAR, KVMX_MSR_SFMASK,
	KVMX_MSR_KERNEL_GS_BASE, KVMX_NR_SWAPPED_MSRS,
};

/* What KVM_RUN must finish before it enters the guest again. */
enum kvmx_pending_io {
	KVMX_IO_NONE,
	KVMX_IO_PIO,			/* an I/O exit; IN/INS data is in the PIO page */
	KVMX_IO_MMIO_READ,		/* an MMIO read's data is in run->mmio */
	KVMX_IO_MMIO_WRITE2,		/* the second fragment of an MMIO write */
	KVMX_IO_RDMSR,			/* KVM_EXIT_X86_RDMSR: run->msr has the answer */
	KVMX_IO_WRMSR,			/* KVM_EXIT_X86_WRMSR: run->msr.error */
};

struct kvmx_event {
	bool pending;
	u8 vector;
	bool has_error;
	u32 error;
	/*
	 * KVM_GUESTDBG_INJECT_BP: delivered as a software exception of
	 * @insn_len bytes, as if the INT3 ran (KVM's kvm_exception_is_soft()).
	 */
	bool soft;
	u32 insn_len;
};

struct kvmx_vcpu {
	struct kvmx_vm *vm;
	u32 id;

	/* Serialises the vCPU's ioctls: one thread drives a vCPU at a time. */
	struct mutex mutex;

	struct kvm_run *run;		/* page 0 of the mmap */
	void *pio_data;			/* page 1 of the mmap */

	/* The VMCS and where it is loaded; see vmx/vmcs.c. */
	struct page *vmcs;
	/*
	 * The MSR bitmap (bit set: the access exits), rebuilt by the vCPU's
	 * thread on KVMX_REQ_MSR_BITMAP; see kvmx_update_msr_bitmap().
	 */
	unsigned long *msr_bitmap;
	int cpu;			/* -1 when not loaded anywhere */
	bool launched;
	/* HOST_CR3/HOST_CR4 as last written to the VMCS (0: not yet). */
	unsigned long host_cr3;
	unsigned long host_cr4;
	struct list_head loaded_link;	/* on its CPU's list of loaded VMCSs */
	struct preempt_notifier preempt_notifier;

	u64 regs[KVMX_NR_REGS];		/* RSP lives in the VMCS */
	unsigned long cr2;
	unsigned long cr8;
	/*
	 * The guest's debug registers, as shadows (MOV DR always exits); the
	 * CPU runs the guest with DR7 = 0x400 unless KVM_SET_GUEST_DEBUG
	 * arms hardware breakpoints (@debug).
	 */
	unsigned long dr[4], dr6, dr7;
	/*
	 * KVM_SET_GUEST_DEBUG (vcpu.c; exit.c acts on it), KVM's
	 * vcpu->guest_debug: the control word (0 without
	 * KVM_GUESTDBG_ENABLE); with USE_HW_BP, the DR0-3 and DR7 the CPU
	 * runs the guest with (loaded into the hardware with interrupts off
	 * around each entry, the host's put back before they are on again);
	 * with SINGLESTEP, the linear RIP where stepping began (RFLAGS.TF is
	 * added only there, as KVM's __kvm_set_rflags()) and whether an
	 * instruction kvmx completed was a step; the length of the
	 * last #BP exit's instruction, for an INJECT_BP that follows it.
	 * vCPU thread only (vcpu->mutex).
	 */
	struct {
		u32 control;
		unsigned long db[4];
		unsigned long dr7;
		unsigned long singlestep_rip;
		u32 bp_insn_len;
		bool stepped;		/* see kvmx_singlestep_done() */
	} debug;
	u64 apic_base;
	u64 misc_enable;
	/*
	 * MSR_PLATFORM_INFO as user space set it; 0 at first (KVM starts
	 * with CPUID faulting, which kvmx does not have).
	 */
	u64 msr_platform_info;
	u64 microcode_version;		/* MSR_IA32_UCODE_REV */
	u64 msr_power_ctl;		/* MSR_IA32_POWER_CTL, kept as KVM keeps it */
	u64 mtrr[KVMX_MTRR_NR_SLOTS];	/* see mtrr.h */
	struct kvmx_mce mce;		/* see mce.h; vCPU thread only */
	/*
	 * KVM's KVM_REQ_TRIPLE_FAULT from KVM_X86_SET_MCE (a #MC while one is
	 * in progress, or with CR4.MCE clear): the next KVM_RUN returns
	 * KVM_EXIT_SHUTDOWN without entering the guest.  vCPU thread only.
	 */
	bool shutdown_pending;
	/*
	 * MSR_KVM_SYSTEM_TIME(_NEW) (kvmclock.c), and whether the pvclock
	 * struct it names must be rewritten before the next entry (also when
	 * vm->clock_gen moved past @kvmclock_gen).  vCPU thread only.
	 */
	u64 kvmclock_system_time;
	bool kvmclock_update;
	int kvmclock_gen;
	u64 tsc_offset;
	/*
	 * MSR_IA32_TSC_ADJUST, as KVM keeps it: what the guest added to its
	 * TSC by writing IA32_TSC or IA32_TSC_ADJUST (user space's writes to
	 * IA32_TSC move @tsc_offset only).  vCPU thread only.
	 */
	s64 tsc_adjust;
	/*
	 * KVM_GET/SET_TSC_KHZ: the guest's TSC rate, 0 for the host's
	 * (tsc_khz).  kvmx has no TSC scaling or catch-up, so only rates
	 * within KVM's tolerance of the host's are accepted: the guest's TSC
	 * runs at the host's in any case.  Under @mutex.
	 */
	u32 virtual_tsc_khz;
	/*
	 * KVM_CAP_ENFORCE_PV_FEATURE_CPUID: the PV MSRs and hypercalls work
	 * only as far as the guest's KVM_CPUID_FEATURES leaf offers them.
	 * vCPU thread only (vCPU ioctls hold @mutex).
	 */
	bool enforce_pv_cpuid;
	/* KVM's steal time (pv.c); vCPU thread only. */
	struct {
		u64 msr;		/* MSR_KVM_STEAL_TIME */
		u64 last_steal;		/* the thread's run_delay at the last update */
		bool update;		/* update before the next entry */
	} st;
	u64 msrs[KVMX_NR_SWAPPED_MSRS];
	struct fpu_guest fpu;
	u32 pkru;			/* KVM_SET_XSAVE's PKRU, for KVM_GET_XSAVE */

	struct kvm_cpuid_entry2 *cpuid;
	int nr_cpuid;
	/* A VM entry was tried: KVM_SET_CPUID2 may no longer change the table. */
	bool has_run;

	sigset_t sigset;		/* KVM_SET_SIGNAL_MASK, during KVM_RUN */
	bool sigset_active;
	/*
	 * KVM_TPR_ACCESS_REPORTING's switch, kept and read back, but kvmx
	 * never exits with KVM_EXIT_TPR_ACCESS (abi.md).  vcpu->mutex.
	 */
	bool tpr_access_reporting;

	/*
	 * The in-kernel irqchip's side of the vCPU (irq/lapic.c): its LAPIC
	 * (NULL without an irqchip), its KVM_MP_STATE_* (the vCPU's thread
	 * only), requests (KVMX_REQ_*, set by anyone with atomic bitops, then
	 * kvmx_vcpu_kick()), the CPU it runs the guest on (-1 outside the
	 * guest; written by the vCPU's thread with interrupts off) and where
	 * it sleeps in HLT.
	 */
	struct kvmx_lapic *apic;
	u32 mp_state;
	unsigned long requests;
	int guest_cpu;
	struct rcuwait wait;

	/* Events to deliver at the next entry. */
	int irq;			/* from KVM_INTERRUPT, -1 if none */
	/*
	 * NMIs: anyone queues one (KVM_NMI, an NMI IPI, KVM_SET_VCPU_EVENTS)
	 * with atomic_inc(&nmi_queued), then kvmx_vcpu_kick(); the vCPU's
	 * thread moves them to nmi_pending before each entry, keeping at
	 * most two, or one while NMIs are blocked (kvmx_process_nmi(), as
	 * KVM's process_nmi()).
	 */
	atomic_t nmi_queued;
	unsigned int nmi_pending;
	struct kvmx_event exception;
	u32 reinject_info;		/* IDT-vectoring info to deliver again */
	u32 reinject_error;
	u32 reinject_len;

	/* An exit to user space that KVM_RUN completes on re-entry. */
	enum kvmx_pending_io pending_io;
	struct {
		u8 size;
		u8 asz;			/* string I/O: address size in bytes */
		u32 count;
		bool in;
		bool string;
		bool rep;
		bool down;		/* RFLAGS.DF */
		/* RIP moved past the OUT at the exit: KVM_X86_QUIRK_OUT_7E_INC_RIP */
		bool rip_moved;
		u64 la;			/* INS: where the data goes */
	} pio;

	/*
	 * The instruction being emulated for MMIO.  An access that crosses a
	 * page is split in (at most two) fragments, each RAM or MMIO, and each
	 * MMIO fragment is one exit: @frag caches the read data user space
	 * gave, @write2 holds a second MMIO write fragment for the next exit.
	 */
	struct {
		/* Where the instruction is, and the emulator's mode. */
		struct kvmx_insn_key key;
		u8 asked_idx;		/* which fragment @asked is */
		bool known_mmio;	/* @known_gfn has no memslot */
		u64 known_gfn;
		/*
		 * The exit's translation: the instruction's only memory
		 * operand lies in the page at @known_la, which the CPU
		 * translated to the page at @known_gpa (0: not known).
		 */
		bool known_la_valid;
		u64 known_la;
		u64 known_gpa;
		bool fast_read;		/* a load of the fast path (fast_mov()) */
		/*
		 * A write to a shadowed guest page table is being emulated
		 * (kvmx_emulate_pt_write()): an instruction the emulator cannot
		 * run unprotects the page and the guest retries it natively,
		 * once for the same RIP and gpa (@retry_rip, @retry_gpa) until
		 * an instruction completes.
		 */
		bool pt_write;
		bool retried;
		u64 retry_rip;
		u64 retry_gpa;
		struct kvmx_walk_cfg walk;	/* the guest's paging state */
		struct kvmx_mmio_frag {
			bool valid;
			u32 len;
			u64 gpa;
			u8 data[8];
		} frag[2], write2, asked;
		/* The emulator's context; insn_len 0: from the cache, not fetched. */
		struct kvmx_emu_ctxt ctxt;
	} mmio;

	/*
	 * The last page this vCPU found to be MMIO (its faulting address and
	 * gfn), and the memslot generation then (seed 000's per-vCPU cache):
	 * the same page again at the same generation is MMIO without looking
	 * at any SPTE.
	 */
	struct {
		bool valid;
		u64 addr;		/* page of the faulting address */
		u64 gfn;
		u64 gen;
		u32 access;		/* KVMX_ACC_* the guest has there (shadow paging) */
	} last_mmio;

	struct kvmx_insn_cache insn_cache;

	/*
	 * Which CR0/CR4 bits the host owns in this vCPU's VMCS (the guest's
	 * values live in the read shadows): the common ones, plus what the
	 * VM's MMU needs (mmu->vcpu_setup).  Constant after vCPU creation.
	 */
	unsigned long cr0_host_owned;
	unsigned long cr4_host_owned;

	/*
	 * The shadow MMU's per-vCPU state (mmu/shadow.c), the vCPU's thread
	 * only: the guest's CR3 (the VMCS holds kvmx's; the guest's PAE
	 * PDPTEs are in the VMCS's PDPTE fields, unused by the CPU without
	 * EPT), the root shadow page and, for guests not in long mode, the
	 * four-entry PAE root the CPU is pointed at (below 4 GiB).
	 */
	struct {
		u64 cr3;
		struct kvmx_sp *root;
		u64 *pae_root;
		bool root_valid;
	} shadow;

	/* Exit information of the last VM exit. */
	u32 exit_reason;
	unsigned long exit_qual;
	u32 exit_intr_info;
	u32 exit_insn_len;
	int last_cpu;

	struct kvmx_vcpu_stat stat;	/* written by the vCPU's thread only */
};

/* main.c, cpuid.c */
long kvmx_check_extension(long cap);
long kvmx_get_supported_cpuid(struct kvm_cpuid2 __user *arg);
struct kvm_cpuid_entry2 *kvmx_find_cpuid(struct kvmx_vcpu *vcpu, u32 function, u32 index);
void kvmx_update_cpuid_runtime(struct kvmx_vcpu *vcpu, struct kvm_cpuid_entry2 *entries, int n);
bool kvmx_guest_cpuid_has(struct kvmx_vcpu *vcpu, u32 function, u32 index, int reg, int bit);
enum { KVMX_CPUID_EAX, KVMX_CPUID_EBX, KVMX_CPUID_ECX, KVMX_CPUID_EDX };
bool kvmx_guest_pv_has(struct kvmx_vcpu *vcpu, int feature);

/*
 * The KVM quirks kvmx has, all of KVM 6.1's: each is on until user space
 * disables it (KVM_CAP_DISABLE_QUIRKS2), and kvmx behaves as KVM with the
 * quirk off too.
 */
#define KVMX_VALID_QUIRKS						\
	(KVM_X86_QUIRK_LINT0_REENABLED | KVM_X86_QUIRK_CD_NW_CLEARED |	\
	 KVM_X86_QUIRK_LAPIC_MMIO_HOLE | KVM_X86_QUIRK_OUT_7E_INC_RIP |	\
	 KVM_X86_QUIRK_MISC_ENABLE_NO_MWAIT |				\
	 KVM_X86_QUIRK_FIX_HYPERCALL_INSN |				\
	 KVM_X86_QUIRK_MWAIT_NEVER_UD_FAULTS)

/* KVM 6.1's KVM_GUESTDBG_VALID_MASK: the bits KVM_CAP_SET_GUEST_DEBUG2 lists. */
#define KVMX_GUESTDBG_VALID_MASK					\
	(KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP | KVM_GUESTDBG_USE_HW_BP |	\
	 KVM_GUESTDBG_USE_SW_BP | KVM_GUESTDBG_INJECT_BP | KVM_GUESTDBG_INJECT_DB |	\
	 KVM_GUESTDBG_BLOCKIRQ)

static inline bool kvmx_has_quirk(struct kvmx_vm *vm, u64 quirk)
{
	return !(READ_ONCE(vm->disabled_quirks) & quirk);
}

/* KVM's kvm_vcpu_is_reset_bsp(): the vCPU that leaves RESET as the BSP. */
static inline bool kvmx_vcpu_is_reset_bsp(struct kvmx_vcpu *vcpu)
{
	return vcpu->id == vcpu->vm->bsp_vcpu_id;
}

/*
 * msr_filter.c.  kvmx_get_msr()/kvmx_set_msr() fail with KVMX_MSR_UNKNOWN
 * for an MSR kvmx does not have (KVM's KVM_MSR_RET_INVALID) and with
 * another negative errno for a value or access it refuses; a filter's
 * denial is KVMX_MSR_FILTERED.
 */
#define KVMX_MSR_UNKNOWN	(-ENOENT)
#define KVMX_MSR_FILTERED	(-EPERM)
struct kvm_msr_filter;
int kvmx_set_msr_filter(struct kvmx_vm *vm, const struct kvm_msr_filter *user);
void kvmx_msr_filter_destroy(struct kvmx_vm *vm);
bool kvmx_msr_allowed(struct kvmx_vcpu *vcpu, u32 index, bool write);
bool kvmx_msr_user_exit(struct kvmx_vcpu *vcpu, u32 index, bool write, u64 data, int r);

/* kvmclock.c */
void kvmx_kvmclock_vm_init(struct kvmx_vm *vm);
long kvmx_kvmclock_vm_ioctl(struct kvmx_vm *vm, unsigned int ioctl, void __user *argp);
int kvmx_kvmclock_get_msr(struct kvmx_vcpu *vcpu, u32 index, u64 *data);
int kvmx_kvmclock_set_msr(struct kvmx_vcpu *vcpu, u32 index, u64 data);
void kvmx_kvmclock_run_start(struct kvmx_vcpu *vcpu);
void kvmx_kvmclock_update(struct kvmx_vcpu *vcpu, int gen);

/*
 * Before every entry: the guest's kvmclock page again if it is enabled and
 * something changed.  The test inline: most entries have nothing to do,
 * and the update's locals are zeroed on entry (CONFIG_INIT_STACK_ALL_ZERO).
 */
static inline void kvmx_kvmclock_before_entry(struct kvmx_vcpu *vcpu)
{
	int gen = atomic_read(&vcpu->vm->clock_gen);

	if ((vcpu->kvmclock_system_time & 1) &&
	    (vcpu->kvmclock_update || gen != vcpu->kvmclock_gen))
		kvmx_kvmclock_update(vcpu, gen);
}

/* pv.c */
int kvmx_steal_time_get(struct kvmx_vcpu *vcpu, u64 *data);
int kvmx_steal_time_set(struct kvmx_vcpu *vcpu, u64 data);
void kvmx_steal_time_before_entry(struct kvmx_vcpu *vcpu);

/* vm.c */
long kvmx_create_vm(unsigned long type);
void kvmx_vm_put(struct kvmx_vm *vm);
bool kvmx_vm_owned_by_current(struct kvmx_vm *vm);

/* vcpu.c */
void kvmx_vcpu_free(struct kvmx_vcpu *vcpu);
int kvmx_create_vcpu(struct kvmx_vm *vm, unsigned long id);
int kvmx_read_guest(struct kvmx_vm *vm, u64 gpa, void *buf, unsigned int len);
int kvmx_write_guest(struct kvmx_vm *vm, u64 gpa, const void *buf, unsigned int len);

/* eventfd.c */
int kvmx_ioeventfd(struct kvmx_vm *vm, const struct kvm_ioeventfd *args);
void kvmx_ioeventfd_destroy(struct kvmx_vm *vm);
bool __kvmx_ioeventfd_write(struct kvmx_vm *vm, enum kvmx_iobus_id bus, u64 addr, u32 len,
			    const void *data);
int kvmx_irqfd_init(void);
void kvmx_irqfd_exit(void);
void kvmx_irqfd_vm_init(struct kvmx_vm *vm);
int kvmx_irqfd(struct kvmx_vm *vm, const struct kvm_irqfd *args);
void kvmx_irqfd_release(struct kvmx_vm *vm);

/* main.c: the module parameters' choices for new VMs. */
struct kvmx_mmio_cfg kvmx_default_mmio_cfg(void);
bool kvmx_debug_hooks(void);

/* memslot.c */
int kvmx_memslots_init(struct kvmx_vm *vm);
void kvmx_memslots_destroy(struct kvmx_vm *vm);
int kvmx_set_memory_region(struct kvmx_vm *vm, const struct kvm_userspace_memory_region *mem);

/*
 * KVM's mark_page_dirty_in_slot(): record a write to @gfn of @slot, made by
 * the guest (tdp.c, under the EPT lock) or by kvmx itself (after the write).
 * The caller holds vm->srcu (or vm->lock), which keeps the bitmap alive.
 */
static inline void kvmx_mark_page_dirty(const struct kvmx_memslot *slot, u64 gfn)
{
	if (slot->dirty_bitmap)
		set_bit(gfn - slot->base_gfn, slot->dirty_bitmap);
}

/*
 * The slot backing @gfn that allows the access (a write needs a writable
 * slot), or NULL.  The caller holds vm->srcu.
 */
static inline const struct kvmx_memslot *kvmx_gfn_to_slot(struct kvmx_vm *vm, u64 gfn,
							  bool write)
{
	const struct kvmx_memslot *slot;

	slot = kvmx_slots_find_gfn(srcu_dereference(vm->memslots, &vm->srcu), gfn);
	if (slot && write && (slot->flags & KVMX_MEM_READONLY))
		return NULL;
	return slot;
}

/*
 * The VM's current memslot generation, bit 63 set during an update.  The
 * caller holds vm->srcu.
 */
static inline u64 kvmx_memslot_gen(struct kvmx_vm *vm)
{
	return READ_ONCE(srcu_dereference(vm->memslots, &vm->srcu)->generation);
}

/*
 * A guest write of @len bytes at @data to @addr on @bus: signal the
 * KVM_IOEVENTFD registration it hits, if any (eventfd.c).  Returns whether
 * one was hit (the write is then done).  Called from a vCPU's exit path,
 * preemptible.  Most VMs register nothing on most buses: inline, that
 * costs one pointer test.
 */
static inline bool kvmx_ioeventfd_write(struct kvmx_vm *vm, enum kvmx_iobus_id bus, u64 addr,
					u32 len, const void *data)
{
	if (!rcu_access_pointer(vm->iobus[bus]))
		return false;
	return __kvmx_ioeventfd_write(vm, bus, addr, len, data);
}

#endif /* KVMX_KVMX_H */
