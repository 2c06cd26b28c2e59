// SPDX-License-Identifier: GPL-2.0
/*
 * Binary statistics: KVM_GET_STATS_FD on VM and vCPU fds, and the same
 * format in debugfs, laid out exactly as KVM lays it out
 * (Documentation/virt/kvm/api.rst, "KVM_GET_STATS_FD"):
 *
 *   struct kvm_stats_header
 *   id string                      KVMX_STATS_NAME_SIZE bytes, NUL-padded
 *   num_desc descriptors           struct kvm_stats_desc, then the name in
 *                                  KVMX_STATS_NAME_SIZE bytes, NUL-padded
 *   data                           the u64 values; desc->offset is a
 *                                  value's byte offset in this block
 *
 * Everything before the data is fixed for the life of the file and built
 * when it is opened; the data is a snapshot taken by each read().  Reads
 * may start and end anywhere; past the end they return 0.
 *
 * Files and what holds them:
 *   - the VM's stats fd: its VM stats (KVM's VM fd has no vCPU stats);
 *   - a vCPU's stats fd: that vCPU's stats;
 *   - debugfs kvmx/<pid>-<vmid>/stats: the VM's stats, then every vCPU
 *     stat summed over the VM's vCPUs (for kvmx_stat);
 *   - debugfs kvmx/<pid>-<vmid>/vcpu<id>/stats: as the vCPU's stats fd.
 * Each open file holds a reference on the VM, so it stays readable after
 * the VM and vCPU fds are closed; its release drops the reference.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/anon_inodes.h>
#include <linux/debugfs.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/kvm.h>
#include <linux/overflow.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/srcu.h>
#include <linux/uaccess.h>

#include "kvmx.h"
#include "stats.h"
#include "vmx/vmcs.h"

#define COUNTER_FLAGS	(KVM_STATS_TYPE_CUMULATIVE | KVM_STATS_UNIT_NONE | KVM_STATS_BASE_POW10)
#define INSTANT_FLAGS	(KVM_STATS_TYPE_INSTANT | KVM_STATS_UNIT_NONE | KVM_STATS_BASE_POW10)

/* The VM's data block as a VM stats file shows it. */
struct vm_stat_data {
	u64 vcpus;
	u64 memslot_updates;
	u64 memslot_generation;
	u64 pages_pinned;
	u64 mmio_zap_all;
	u64 shadow_pages;
	u64 shadow_wp_gfns;
	u64 mmu_recycled;
};

struct stat_def {
	const char *name;
	u32 flags;
	u32 offset;		/* in the data struct */
};

#define VCPU_COUNTER(field) \
	{ #field, COUNTER_FLAGS, offsetof(struct kvmx_vcpu_stat, field) }
#define VM_STAT(field, flags) \
	{ #field, flags, offsetof(struct vm_stat_data, field) }

static const struct stat_def vcpu_defs[] = {
	VCPU_COUNTER(exits),
	VCPU_COUNTER(exits_exception_nmi),
	VCPU_COUNTER(exits_external_interrupt),
	VCPU_COUNTER(exits_triple_fault),
	VCPU_COUNTER(exits_interrupt_window),
	VCPU_COUNTER(exits_nmi_window),
	VCPU_COUNTER(exits_cpuid),
	VCPU_COUNTER(exits_hlt),
	VCPU_COUNTER(exits_invd),
	VCPU_COUNTER(exits_rdpmc),
	VCPU_COUNTER(exits_vmx_insn),
	VCPU_COUNTER(exits_cr),
	VCPU_COUNTER(exits_dr),
	VCPU_COUNTER(exits_io),
	VCPU_COUNTER(exits_msr_read),
	VCPU_COUNTER(exits_msr_write),
	VCPU_COUNTER(exits_mwait),
	VCPU_COUNTER(exits_monitor),
	VCPU_COUNTER(exits_ept_violation),
	VCPU_COUNTER(exits_ept_misconfig),
	VCPU_COUNTER(exits_invept),
	VCPU_COUNTER(exits_invvpid),
	VCPU_COUNTER(exits_xsetbv),
	VCPU_COUNTER(exits_invlpg),
	VCPU_COUNTER(exits_other),
	VCPU_COUNTER(pf_fixed),
	VCPU_COUNTER(pf_mapped_around),
	VCPU_COUNTER(pf_guest),
	VCPU_COUNTER(pf_pt_write),
	VCPU_COUNTER(shadow_zapped),
	VCPU_COUNTER(mmio_exits),
	VCPU_COUNTER(mmio_fast),
	VCPU_COUNTER(mmio_slow),
	VCPU_COUNTER(mmio_spte_created),
	VCPU_COUNTER(mmio_spte_stale),
	VCPU_COUNTER(io_exits),
	VCPU_COUNTER(signal_exits),
	VCPU_COUNTER(halt_exits),
	VCPU_COUNTER(insn_emulation),
	VCPU_COUNTER(insn_cache_hit),
	VCPU_COUNTER(insn_emulation_fail),
};

static const struct stat_def vm_defs[] = {
	VM_STAT(vcpus, INSTANT_FLAGS),
	VM_STAT(memslot_updates, COUNTER_FLAGS),
	VM_STAT(memslot_generation, INSTANT_FLAGS),
	VM_STAT(pages_pinned, INSTANT_FLAGS),
	VM_STAT(mmio_zap_all, COUNTER_FLAGS),
	VM_STAT(shadow_pages, INSTANT_FLAGS),
	VM_STAT(shadow_wp_gfns, INSTANT_FLAGS),
	VM_STAT(mmu_recycled, COUNTER_FLAGS),
};

/* Which counter each basic exit reason bumps; 0 (exits) means none. */
#define EXIT_STAT(field) offsetof(struct kvmx_vcpu_stat, field)
static const u16 exit_stat[EXIT_REASON_MAX + 1] = {
	[EXIT_REASON_EXCEPTION_NMI] = EXIT_STAT(exits_exception_nmi),
	[EXIT_REASON_EXTERNAL_INTERRUPT] = EXIT_STAT(exits_external_interrupt),
	[EXIT_REASON_TRIPLE_FAULT] = EXIT_STAT(exits_triple_fault),
	[EXIT_REASON_INTERRUPT_WINDOW] = EXIT_STAT(exits_interrupt_window),
	[EXIT_REASON_NMI_WINDOW] = EXIT_STAT(exits_nmi_window),
	[EXIT_REASON_CPUID] = EXIT_STAT(exits_cpuid),
	[EXIT_REASON_HLT] = EXIT_STAT(exits_hlt),
	[EXIT_REASON_INVD] = EXIT_STAT(exits_invd),
	[EXIT_REASON_RDPMC] = EXIT_STAT(exits_rdpmc),
	[EXIT_REASON_VMCALL ... EXIT_REASON_VMXON] = EXIT_STAT(exits_vmx_insn),
	[EXIT_REASON_CR_ACCESS] = EXIT_STAT(exits_cr),
	[EXIT_REASON_DR_ACCESS] = EXIT_STAT(exits_dr),
	[EXIT_REASON_IO_INSTRUCTION] = EXIT_STAT(exits_io),
	[EXIT_REASON_MSR_READ] = EXIT_STAT(exits_msr_read),
	[EXIT_REASON_MSR_WRITE] = EXIT_STAT(exits_msr_write),
	[EXIT_REASON_MWAIT_INSTRUCTION] = EXIT_STAT(exits_mwait),
	[EXIT_REASON_MONITOR_INSTRUCTION] = EXIT_STAT(exits_monitor),
	[EXIT_REASON_EPT_VIOLATION] = EXIT_STAT(exits_ept_violation),
	[EXIT_REASON_EPT_MISCONFIG] = EXIT_STAT(exits_ept_misconfig),
	[EXIT_REASON_INVEPT] = EXIT_STAT(exits_invept),
	[EXIT_REASON_INVVPID] = EXIT_STAT(exits_invvpid),
	[EXIT_REASON_XSETBV] = EXIT_STAT(exits_xsetbv),
	[EXIT_REASON_INVLPG] = EXIT_STAT(exits_invlpg),
};

void kvmx_stat_exit(struct kvmx_vcpu *vcpu, u32 reason)
{
	struct kvmx_vcpu_stat *s = &vcpu->stat;
	u16 off = 0;

	BUILD_BUG_ON(offsetof(struct kvmx_vcpu_stat, exits) != 0);
	s->exits++;
	if (!(reason & EXIT_REASON_FAILED_VMENTRY) && (u16)reason <= EXIT_REASON_MAX)
		off = exit_stat[(u16)reason];
	if (!off)
		off = EXIT_STAT(exits_other);
	(*(u64 *)((u8 *)s + off))++;
}

void kvmx_stat_user_exit(struct kvmx_vcpu *vcpu, int r)
{
	if (r)
		return;
	switch (vcpu->run->exit_reason) {
	case KVM_EXIT_IO:
		kvmx_stat_inc(vcpu, io_exits);
		break;
	case KVM_EXIT_MMIO:
		kvmx_stat_inc(vcpu, mmio_exits);
		break;
	case KVM_EXIT_HLT:
		kvmx_stat_inc(vcpu, halt_exits);
		break;
	}
}

enum stats_kind {
	STATS_VM,		/* the VM's stats */
	STATS_VCPU,		/* one vCPU's stats */
	STATS_VM_SUMS,		/* the VM's stats, then its vCPUs' summed */
};

/* The largest data block: the debugfs VM file's. */
union stats_data {
	struct vm_stat_data vm;
	struct kvmx_vcpu_stat vcpu;
	struct {
		struct vm_stat_data vm;
		struct kvmx_vcpu_stat vcpus;
	} sums;
};

/* An open stats file.  Immutable after it is built: reads take no lock. */
struct stats_file {
	struct kvmx_vm *vm;		/* a reference, dropped on release */
	struct kvmx_vcpu *vcpu;		/* STATS_VCPU only */
	enum stats_kind kind;
	size_t head_size;		/* header, id, descriptors */
	size_t data_size;
	u8 head[];
};

#define DESC_SIZE	(sizeof(struct kvm_stats_desc) + KVMX_STATS_NAME_SIZE)

static u8 *put_descs(u8 *p, const struct stat_def *defs, size_t n, u32 base)
{
	struct kvm_stats_desc desc = { .size = 1 };
	size_t i;

	for (i = 0; i < n; i++) {
		desc.flags = defs[i].flags;
		desc.offset = base + defs[i].offset;
		memcpy(p, &desc, sizeof(desc));
		strscpy(p + sizeof(desc), defs[i].name, KVMX_STATS_NAME_SIZE);
		p += DESC_SIZE;
	}
	return p;
}

/* Builds the fixed part of a stats file; NULL when out of memory. */
static struct stats_file *stats_file_new(enum stats_kind kind, struct kvmx_vm *vm,
					 struct kvmx_vcpu *vcpu)
{
	size_t nvm = kind == STATS_VCPU ? 0 : ARRAY_SIZE(vm_defs);
	size_t nvcpu = kind == STATS_VM ? 0 : ARRAY_SIZE(vcpu_defs);
	struct kvm_stats_header hdr = { .name_size = KVMX_STATS_NAME_SIZE };
	struct stats_file *sf;
	size_t head_size;
	u8 *p;

	BUILD_BUG_ON(sizeof(struct vm_stat_data) != ARRAY_SIZE(vm_defs) * sizeof(u64));
	BUILD_BUG_ON(sizeof(struct kvmx_vcpu_stat) != ARRAY_SIZE(vcpu_defs) * sizeof(u64));

	hdr.num_desc = nvm + nvcpu;
	hdr.id_offset = sizeof(hdr);
	hdr.desc_offset = hdr.id_offset + KVMX_STATS_NAME_SIZE;
	hdr.data_offset = hdr.desc_offset + hdr.num_desc * DESC_SIZE;
	head_size = hdr.data_offset;

	sf = kzalloc(struct_size(sf, head, head_size), GFP_KERNEL_ACCOUNT);
	if (!sf)
		return NULL;
	sf->vm = vm;
	sf->vcpu = vcpu;
	sf->kind = kind;
	sf->head_size = head_size;
	sf->data_size = (nvm + nvcpu) * sizeof(u64);

	memcpy(sf->head, &hdr, sizeof(hdr));
	p = sf->head + hdr.id_offset;
	if (vcpu)
		snprintf(p, KVMX_STATS_NAME_SIZE, "kvmx-%d/vcpu-%u", vm->stat.pid, vcpu->id);
	else
		snprintf(p, KVMX_STATS_NAME_SIZE, "kvmx-%d", vm->stat.pid);
	p = sf->head + hdr.desc_offset;
	p = put_descs(p, vm_defs, nvm, 0);
	put_descs(p, vcpu_defs, nvcpu, nvm * sizeof(u64));
	return sf;
}

static void vm_snapshot(struct kvmx_vm *vm, struct vm_stat_data *d)
{
	struct kvmx_memslots *slots;
	int idx;

	d->vcpus = READ_ONCE(vm->nr_vcpus);
	d->memslot_updates = READ_ONCE(vm->stat.memslot_updates);
	idx = srcu_read_lock(&vm->srcu);
	slots = srcu_dereference(vm->memslots, &vm->srcu);
	d->memslot_generation = READ_ONCE(slots->generation) &
				~KVMX_MEMSLOT_GEN_UPDATE_IN_PROGRESS;
	srcu_read_unlock(&vm->srcu, idx);
	d->pages_pinned = atomic64_read(&vm->stat.pages_pinned);
	d->mmio_zap_all = atomic64_read(&vm->stat.mmio_zap_all);
	/* Written under the shadow MMU's lock; a reader may be one change behind. */
	d->shadow_pages = READ_ONCE(vm->shadow.nr_pages);
	d->shadow_wp_gfns = READ_ONCE(vm->shadow.nr_wp_gfns);
	d->mmu_recycled = READ_ONCE(vm->shadow.recycled);
}

/* Adds @vcpu's counters to @sum; the vCPU's thread may be writing them. */
static void vcpu_add(const struct kvmx_vcpu *vcpu, struct kvmx_vcpu_stat *sum)
{
	const u64 *src = (const u64 *)&vcpu->stat;
	u64 *dst = (u64 *)sum;
	size_t i;

	for (i = 0; i < sizeof(*sum) / sizeof(u64); i++)
		dst[i] += READ_ONCE(src[i]);
}

static void snapshot(const struct stats_file *sf, union stats_data *d)
{
	struct kvmx_vm *vm = sf->vm;
	int i;

	memset(d, 0, sizeof(*d));
	switch (sf->kind) {
	case STATS_VM:
		vm_snapshot(vm, &d->vm);
		break;
	case STATS_VCPU:
		vcpu_add(sf->vcpu, &d->vcpu);
		break;
	case STATS_VM_SUMS:
		vm_snapshot(vm, &d->sums.vm);
		/* vm->vcpus[] and nr_vcpus change under vm->lock. */
		mutex_lock(&vm->lock);
		for (i = 0; i < vm->nr_vcpus; i++)
			vcpu_add(vm->vcpus[i], &d->sums.vcpus);
		mutex_unlock(&vm->lock);
		break;
	}
}

static ssize_t stats_read(struct file *file, char __user *buf, size_t size, loff_t *ppos)
{
	const struct stats_file *sf = file->private_data;
	size_t total = sf->head_size + sf->data_size;
	union stats_data data;
	loff_t pos = *ppos;
	size_t done = 0, n;

	if (pos < 0)
		return -EINVAL;
	if (pos >= total || !size)
		return 0;
	size = min_t(size_t, size, total - pos);
	if (pos < sf->head_size) {
		n = min_t(size_t, size, sf->head_size - pos);
		if (copy_to_user(buf, sf->head + pos, n))
			return -EFAULT;
		done = n;
	}
	if (done < size) {
		snapshot(sf, &data);
		if (copy_to_user(buf + done, (u8 *)&data + (pos + done - sf->head_size),
				 size - done))
			return -EFAULT;
		done = size;
	}
	*ppos = pos + done;
	return done;
}

static loff_t stats_llseek(struct file *file, loff_t offset, int whence)
{
	const struct stats_file *sf = file->private_data;

	return fixed_size_llseek(file, offset, whence, sf->head_size + sf->data_size);
}

static int stats_release(struct inode *inode, struct file *file)
{
	struct stats_file *sf = file->private_data;
	struct kvmx_vm *vm = sf->vm;

	kfree(sf);
	kvmx_vm_put(vm);
	return 0;
}

static const struct file_operations stats_fops = {
	.owner = THIS_MODULE,
	.read = stats_read,
	.llseek = stats_llseek,
	.release = stats_release,
};

/* The caller holds a VM reference (its fd); the new fd takes another. */
static int stats_fd(struct stats_file *sf, const char *name)
{
	struct file *file;
	int fd;

	if (!sf)
		return -ENOMEM;
	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0)
		goto free;
	file = anon_inode_getfile(name, &stats_fops, sf, O_RDONLY);
	if (IS_ERR(file)) {
		put_unused_fd(fd);
		fd = PTR_ERR(file);
		goto free;
	}
	file->f_mode |= FMODE_PREAD | FMODE_LSEEK;
	kref_get(&sf->vm->ref);
	fd_install(fd, file);
	return fd;
free:
	kfree(sf);
	return fd;
}

int kvmx_stats_vm_fd(struct kvmx_vm *vm)
{
	int fd = stats_fd(stats_file_new(STATS_VM, vm, NULL), "kvmx-vm-stats");

	return fd < 0 ? kvmx_refuse(fd, "KVM_GET_STATS_FD", "VM: cannot make the fd") : fd;
}

int kvmx_stats_vcpu_fd(struct kvmx_vcpu *vcpu)
{
	int fd = stats_fd(stats_file_new(STATS_VCPU, vcpu->vm, vcpu), "kvmx-vcpu-stats");

	return fd < 0 ? kvmx_refuse(fd, "KVM_GET_STATS_FD", "vCPU %u: cannot make the fd",
				    vcpu->id) : fd;
}

/*
 * debugfs.  The files are removed (kvmx_stats_vm_destroy()) before the VM
 * and its vCPUs are freed, and debugfs makes that removal wait for opens
 * in progress; so i_private is valid in open, which then takes a VM
 * reference unless the VM is already dying.  Nothing may fail after the
 * reference is taken: putting it there could destroy the VM, whose removal
 * of this very file would wait for this open.
 */
static int stats_debugfs_open(struct file *file, enum stats_kind kind, struct kvmx_vm *vm,
			      struct kvmx_vcpu *vcpu)
{
	struct stats_file *sf = stats_file_new(kind, vm, vcpu);

	if (!sf)
		return -ENOMEM;
	if (!kref_get_unless_zero(&vm->ref)) {
		kfree(sf);
		return -ENOENT;
	}
	file->private_data = sf;
	return 0;
}

static int vm_debugfs_open(struct inode *inode, struct file *file)
{
	return stats_debugfs_open(file, STATS_VM_SUMS, inode->i_private, NULL);
}

static int vcpu_debugfs_open(struct inode *inode, struct file *file)
{
	struct kvmx_vcpu *vcpu = inode->i_private;

	return stats_debugfs_open(file, STATS_VCPU, vcpu->vm, vcpu);
}

static const struct file_operations vm_debugfs_fops = {
	.owner = THIS_MODULE,
	.open = vm_debugfs_open,
	.read = stats_read,
	.llseek = stats_llseek,
	.release = stats_release,
};

static const struct file_operations vcpu_debugfs_fops = {
	.owner = THIS_MODULE,
	.open = vcpu_debugfs_open,
	.read = stats_read,
	.llseek = stats_llseek,
	.release = stats_release,
};

static atomic_t vm_ids = ATOMIC_INIT(0);

void kvmx_stats_vm_init(struct kvmx_vm *vm)
{
	char name[32];

	vm->stat.pid = task_pid_nr(current);
	snprintf(name, sizeof(name), "%d-%u", vm->stat.pid, (u32)atomic_inc_return(&vm_ids));
	vm->stat.debugfs = debugfs_create_dir(name, kvmx_debugfs);
	debugfs_create_file("stats", 0444, vm->stat.debugfs, vm, &vm_debugfs_fops);
}

void kvmx_stats_vcpu_init(struct kvmx_vcpu *vcpu)
{
	struct dentry *dir;
	char name[24];

	snprintf(name, sizeof(name), "vcpu%u", vcpu->id);
	dir = debugfs_create_dir(name, vcpu->vm->stat.debugfs);
	debugfs_create_file("stats", 0444, dir, vcpu, &vcpu_debugfs_fops);
}

void kvmx_stats_vm_destroy(struct kvmx_vm *vm)
{
	debugfs_remove(vm->stat.debugfs);
	vm->stat.debugfs = NULL;
}
