/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Statistics of VMs and vCPUs: the counters, the helpers that bump them,
 * and the binary stats files (KVM_GET_STATS_FD, debugfs) that read them.
 *
 * Who writes what, and so how it is read (see stats.c for the format):
 *
 *  - struct kvmx_vcpu_stat: only the vCPU's own thread writes it, while it
 *    holds vcpu->mutex (KVM_RUN), with plain increments, as KVM does.
 *    Readers take no lock: each u64 is read whole (READ_ONCE), and a read
 *    may be one exit behind.
 *  - struct kvmx_vm_stat: @memslot_updates is written under vm->lock;
 *    @mmio_zap_all and @pages_pinned are touched from vCPU threads (faults)
 *    and from zaps at once, so they are atomic64_t.  The instant values
 *    "vcpus" and "memslot_generation" are not stored: a read takes them
 *    from vm->nr_vcpus and the current memslot set.
 */
#ifndef KVMX_STATS_H
#define KVMX_STATS_H

#include <linux/atomic.h>
#include <linux/types.h>

struct dentry;
struct kvmx_vm;
struct kvmx_vcpu;

/* As KVM_STATS_NAME_SIZE: room for each name and the id string. */
#define KVMX_STATS_NAME_SIZE	48

/*
 * Every field is a cumulative u64 counter, in the order the stats file
 * lists them; stats.c describes each one and checks that none is missing.
 */
struct kvmx_vcpu_stat {
	u64 exits;			/* every VM exit; must stay first */
	/* VM exits by basic exit reason, one per handler in vmx/exit.c. */
	u64 exits_exception_nmi;
	u64 exits_external_interrupt;
	u64 exits_triple_fault;
	u64 exits_interrupt_window;
	u64 exits_nmi_window;
	u64 exits_cpuid;
	u64 exits_hlt;
	u64 exits_invd;
	u64 exits_rdpmc;
	u64 exits_vmx_insn;		/* VMCALL..VMXON */
	u64 exits_cr;
	u64 exits_dr;
	u64 exits_io;
	u64 exits_msr_read;
	u64 exits_msr_write;
	u64 exits_mwait;
	u64 exits_monitor;
	u64 exits_ept_violation;
	u64 exits_ept_misconfig;
	u64 exits_invept;
	u64 exits_invvpid;
	u64 exits_xsetbv;
	u64 exits_invlpg;
	u64 exits_other;		/* no handler, or a failed VM entry */
	u64 pf_fixed;			/* EPT violations or #PFs fixed by mapping RAM */
	u64 pf_mapped_around;		/* pages mapped beside a fixed one (fault-around) */
	u64 pf_guest;			/* shadow paging: #PFs that were the guest's own */
	u64 pf_pt_write;		/* shadow paging: page-table writes emulated */
	u64 shadow_zapped;		/* shadow paging: shadow pages this vCPU zapped */
	u64 mmio_exits;			/* KVM_RUN returned KVM_EXIT_MMIO */
	u64 mmio_fast;			/* MMIO found through a cached MMIO SPTE */
	u64 mmio_slow;			/* MMIO found by searching the memslots */
	u64 mmio_spte_created;		/* MMIO SPTEs installed */
	u64 mmio_spte_stale;		/* MMIO SPTEs found of an old generation */
	u64 io_exits;			/* KVM_RUN returned KVM_EXIT_IO */
	u64 signal_exits;		/* KVM_RUN returned KVM_EXIT_INTR */
	u64 halt_exits;			/* KVM_RUN returned KVM_EXIT_HLT */
	u64 insn_emulation;		/* instructions emulated (MMIO) */
	u64 insn_cache_hit;		/* of which found decoded in the vCPU's cache */
	u64 insn_emulation_fail;	/* emulation failures (internal error) */
};

static inline void kvmx_stat_add_u64(u64 *stat, u64 n)
{
	*stat += n;
}

/* From the vCPU's own thread only (see above). */
#define kvmx_stat_inc(vcpu, name)	kvmx_stat_add_u64(&(vcpu)->stat.name, 1)
#define kvmx_stat_add(vcpu, name, n)	kvmx_stat_add_u64(&(vcpu)->stat.name, (n))

struct kvmx_vm_stat {
	pid_t pid;			/* the creator's, for the id string */
	struct dentry *debugfs;		/* <pid>-<vmid>/, or an error */
	u64 memslot_updates;		/* under vm->lock */
	atomic64_t mmio_zap_all;	/* every MMIO SPTE zapped at once */
	atomic64_t pages_pinned;	/* guest pages pinned by the MMU now */
};

/* For the atomic64_t fields of struct kvmx_vm_stat. */
#define kvmx_vm_stat_inc(vm, name)	atomic64_inc(&(vm)->stat.name)
#define kvmx_vm_stat_dec(vm, name)	atomic64_dec(&(vm)->stat.name)
#define kvmx_vm_stat_add(vm, name, n)	atomic64_add((n), &(vm)->stat.name)
#define kvmx_vm_stat_sub(vm, name, n)	atomic64_sub((n), &(vm)->stat.name)

/* For the u64 fields of struct kvmx_vm_stat: the caller holds vm->lock. */
#define kvmx_vm_stat_inc_locked(vm, name)	kvmx_stat_add_u64(&(vm)->stat.name, 1)

/* Counts one VM exit, by its exit reason (the VMCS's, unmasked). */
void kvmx_stat_exit(struct kvmx_vcpu *vcpu, u32 reason);

/* KVM_RUN is returning @r: counts the exits to user space. */
void kvmx_stat_user_exit(struct kvmx_vcpu *vcpu, int r);

/* KVM_GET_STATS_FD on the VM and vCPU fds: a new fd, or -errno. */
int kvmx_stats_vm_fd(struct kvmx_vm *vm);
int kvmx_stats_vcpu_fd(struct kvmx_vcpu *vcpu);

/*
 * debugfs: kvmx_stats_vm_init() (before the VM fd exists) records the
 * creator and adds kvmx/<pid>-<vmid>/stats; kvmx_stats_vcpu_init() adds
 * <pid>-<vmid>/vcpu<id>/stats; kvmx_stats_vm_destroy() removes them all
 * and must run before the vCPUs are freed.  debugfs failures only leave
 * the files out.
 */
void kvmx_stats_vm_init(struct kvmx_vm *vm);
void kvmx_stats_vcpu_init(struct kvmx_vcpu *vcpu);
void kvmx_stats_vm_destroy(struct kvmx_vm *vm);

/* main.c: /sys/kernel/debug/kvmx, created before /dev/kvmx exists. */
extern struct dentry *kvmx_debugfs;

#endif /* KVMX_STATS_H */
