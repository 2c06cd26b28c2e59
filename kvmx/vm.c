// SPDX-License-Identifier: GPL-2.0
/*
 * VMs: KVM_CREATE_VM, the VM fd and its ioctls, and the VM's lifetime.
 *
 * A VM is reference counted: its fd holds one reference and every vCPU fd
 * another, so the VM (with its vCPUs, memslots and EPT) is freed when the
 * last of these fds is closed, in whatever order user space closes them.
 * A VM belongs to the process that created it: ioctls from another mm get
 * -EIO, as in KVM.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/anon_inodes.h>
#include <linux/fs.h>
#include <linux/kvm.h>
#include <linux/kvmx.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "kvmx.h"
#include "mmu/mmu.h"
#include "irq/irq.h"

bool kvmx_vm_owned_by_current(struct kvmx_vm *vm)
{
	return current->mm == vm->mm;
}

static void vm_destroy(struct kref *ref)
{
	struct kvmx_vm *vm = container_of(ref, struct kvmx_vm, ref);
	int i;

	/* First: an irqfd's pending injection may still use the VM. */
	kvmx_irqfd_release(vm);
	/* The PIT's timer raises GSI 0, which kicks vCPUs: before they go. */
	kvmx_pit_destroy(vm);
	/* Then the irqchip's deferred work, which delivers to the vCPUs. */
	kvmx_irqchip_stop(vm);
	kvmx_stats_vm_destroy(vm);
	for (i = 0; i < vm->nr_vcpus; i++)
		kvmx_vcpu_free(vm->vcpus[i]);
	kvmx_ioeventfd_destroy(vm);
	kvmx_irqchip_destroy(vm);
	kvmx_msr_filter_destroy(vm);
	kvmx_mmu_destroy(vm);
	kvmx_memslots_destroy(vm);
	cleanup_srcu_struct(&vm->srcu);
	mmdrop(vm->mm);
	kfree(vm);
	atomic_long_dec(&kvmx_counts.vms);
}

void kvmx_vm_put(struct kvmx_vm *vm)
{
	kref_put(&vm->ref, vm_destroy);
}

static int vm_release(struct inode *inode, struct file *file)
{
	kvmx_vm_put(file->private_data);
	return 0;
}

static int vm_enable_cap(struct kvmx_vm *vm, const struct kvm_enable_cap *cap)
{
	u64 flavour = cap->args[0];
	int r = 0;

	/* As KVM: flags are checked first, for every capability. */
	if (cap->flags)
		return kvmx_refuse(-EINVAL, "KVM_ENABLE_CAP", "capability %u: flags 0x%x",
				   cap->cap, cap->flags);
	switch (cap->cap) {
	case KVM_CAP_SPLIT_IRQCHIP:
		return kvmx_irqchip_enable_split(vm, cap);
	case KVMX_CAP_MMU:
		if (cap->args[1] || cap->args[2] || cap->args[3])
			return kvmx_refuse(-EINVAL, "KVMX_CAP_MMU", "args[1..3] must be 0");
		return kvmx_mmu_choose(vm, cap->args[0]);
	case KVMX_CAP_MMIO_CACHING:
		break;
	case KVMX_CAP_BYPASS_GUEST_PF:
		if (cap->args[1] || cap->args[2] || cap->args[3])
			return kvmx_refuse(-EINVAL, "KVMX_CAP_BYPASS_GUEST_PF",
					   "args[1..3] must be 0");
		mutex_lock(&vm->lock);
		r = kvmx_shadow_set_bypass(vm, cap->args[0]);
		mutex_unlock(&vm->lock);
		return r;
	case KVM_CAP_MSR_PLATFORM_INFO:
		mutex_lock(&vm->lock);
		WRITE_ONCE(vm->guest_can_read_msr_platform_info, !!cap->args[0]);
		mutex_unlock(&vm->lock);
		return 0;
	case KVM_CAP_X86_USER_SPACE_MSR:
		if (cap->args[0] & ~(u64)(KVM_MSR_EXIT_REASON_INVAL | KVM_MSR_EXIT_REASON_UNKNOWN |
					  KVM_MSR_EXIT_REASON_FILTER))
			return kvmx_refuse(-EINVAL, "KVM_CAP_X86_USER_SPACE_MSR",
					   "unknown reasons 0x%llx", cap->args[0]);
		mutex_lock(&vm->lock);
		WRITE_ONCE(vm->user_space_msr_mask, cap->args[0]);
		mutex_unlock(&vm->lock);
		return 0;
	case KVM_CAP_EXIT_ON_EMULATION_FAILURE:
		if (cap->args[0] & ~1ULL)
			return kvmx_refuse(-EINVAL, "KVM_CAP_EXIT_ON_EMULATION_FAILURE",
					   "args[0] 0x%llx, only 0 or 1", cap->args[0]);
		mutex_lock(&vm->lock);
		WRITE_ONCE(vm->exit_on_emulation_error, cap->args[0]);
		mutex_unlock(&vm->lock);
		return 0;
	case KVM_CAP_DISABLE_QUIRKS2:
		if (cap->args[0] & ~KVMX_VALID_QUIRKS)
			return kvmx_refuse(-EINVAL, "KVM_CAP_DISABLE_QUIRKS2",
					   "unknown quirks 0x%llx",
					   cap->args[0] & ~KVMX_VALID_QUIRKS);
		fallthrough;
	case KVM_CAP_DISABLE_QUIRKS:
		/* As KVM: the set given replaces the last, at any time, unchecked. */
		WRITE_ONCE(vm->disabled_quirks, cap->args[0]);
		return 0;
	case KVM_CAP_MAX_VCPU_ID:
		/* As KVM: once, before the first vCPU fixes it (or to the same value). */
		if (cap->args[0] > KVMX_MAX_VCPU_ID)
			return kvmx_refuse(-EINVAL, "KVM_CAP_MAX_VCPU_ID", "%llu, at most %d",
					   cap->args[0], KVMX_MAX_VCPU_ID);
		mutex_lock(&vm->lock);
		if (vm->max_vcpu_ids && vm->max_vcpu_ids != cap->args[0])
			r = kvmx_refuse(-EINVAL, "KVM_CAP_MAX_VCPU_ID", "already %u",
					vm->max_vcpu_ids);
		else
			vm->max_vcpu_ids = cap->args[0];
		mutex_unlock(&vm->lock);
		return r;
	default:
		return kvmx_refuse(-EINVAL, "KVM_ENABLE_CAP", "capability %u cannot be enabled",
				   cap->cap);
	}
	if (cap->args[1] || cap->args[2] || cap->args[3])
		return kvmx_refuse(-EINVAL, "KVMX_CAP_MMIO_CACHING", "args[1..3] must be 0");
	if (flavour > KVMX_MMIO_CACHING_NOT_PRESENT)
		return kvmx_refuse(-EINVAL, "KVMX_CAP_MMIO_CACHING", "no flavour %llu", flavour);
	mutex_lock(&vm->lock);
	/* vCPUs read vm->mmio without a lock: it is fixed once they exist. */
	if (vm->nr_vcpus)
		r = kvmx_refuse(-EBUSY, "KVM_ENABLE_CAP",
				"KVMX_CAP_MMIO_CACHING after the first vCPU");
	else
		vm->mmio = kvmx_mmio_cfg_of(flavour, vm->mmio.gen_bits);
	mutex_unlock(&vm->lock);
	return r;
}

/*
 * KVM_GET_DIRTY_LOG as KVM 6.1 without KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2:
 * copy out the slot's dirty bits, clearing them, and write-protect again
 * the pages that were dirty.  vm->lock keeps the slot and its bitmap.
 */
static int vm_get_dirty_log(struct kvmx_vm *vm, const struct kvm_dirty_log *log)
{
	const struct kvmx_memslots *slots;
	const struct kvmx_memslot *slot;
	unsigned long *snapshot;
	u16 id = (u16)log->slot;
	u64 n;
	int r = 0;

	if ((log->slot >> 16) != 0 || id >= KVMX_USER_MEM_SLOTS)
		return kvmx_refuse(-EINVAL, "KVM_GET_DIRTY_LOG",
				   "slot %u: slot id or address space out of range", log->slot);
	mutex_lock(&vm->lock);
	slots = rcu_dereference_protected(vm->memslots, lockdep_is_held(&vm->lock));
	slot = kvmx_slots_find_id(slots, id);
	if (!slot || !slot->dirty_bitmap) {
		r = kvmx_refuse(-ENOENT, "KVM_GET_DIRTY_LOG", "slot %u: %s", log->slot,
				slot ? "does not log dirty pages" : "does not exist");
		goto out;
	}
	n = kvmx_dirty_bitmap_bytes(slot->npages);
	snapshot = slot->dirty_bitmap + n / sizeof(long);
	memset(snapshot, 0, n);
	kvmx_mmu_harvest_dirty(vm, slot, snapshot);
	if (copy_to_user(log->dirty_bitmap, snapshot, n))
		r = kvmx_refuse(-EFAULT, "KVM_GET_DIRTY_LOG", "slot %u: bad dirty_bitmap %p",
				log->slot, log->dirty_bitmap);
out:
	mutex_unlock(&vm->lock);
	return r;
}

static long vm_ioctl(struct file *file, unsigned int ioctl, unsigned long arg)
{
	struct kvmx_vm *vm = file->private_data;
	void __user *argp = (void __user *)arg;
	struct kvm_userspace_memory_region mem;
	long r = 0;

	if (!kvmx_vm_owned_by_current(vm))
		return kvmx_refuse(-EIO, "VM ioctl", "caller is not the VM's process");

	switch (ioctl) {
	case KVM_CREATE_VCPU:
		return kvmx_create_vcpu(vm, arg);
	case KVM_SET_USER_MEMORY_REGION:
		if (copy_from_user(&mem, argp, sizeof(mem)))
			return -EFAULT;
		return kvmx_set_memory_region(vm, &mem);
	case KVM_GET_DIRTY_LOG: {
		struct kvm_dirty_log log;

		if (copy_from_user(&log, argp, sizeof(log)))
			return -EFAULT;
		return vm_get_dirty_log(vm, &log);
	}
	case KVM_IOEVENTFD: {
		struct kvm_ioeventfd io;

		if (copy_from_user(&io, argp, sizeof(io)))
			return -EFAULT;
		return kvmx_ioeventfd(vm, &io);
	}
	case KVM_IRQFD: {
		struct kvm_irqfd irqfd;

		if (copy_from_user(&irqfd, argp, sizeof(irqfd)))
			return -EFAULT;
		return kvmx_irqfd(vm, &irqfd);
	}
	case KVM_GET_CLOCK:
	case KVM_SET_CLOCK:
		return kvmx_kvmclock_vm_ioctl(vm, ioctl, argp);
	case KVM_X86_SET_MSR_FILTER: {
		struct kvm_msr_filter filter;

		if (copy_from_user(&filter, argp, sizeof(filter)))
			return -EFAULT;
		return kvmx_set_msr_filter(vm, &filter);
	}
	case KVM_CHECK_EXTENSION:
		/*
		 * A shadow-paged VM caches MMIO in reserved-bit SPTEs, one
		 * flavour, and only where the host has a free reserved bit.
		 */
		if (arg == KVMX_CAP_MMIO_CACHING && READ_ONCE(vm->mmu) == &kvmx_shadow_mmu_ops)
			return BIT(KVMX_MMIO_CACHING_OFF) |
			       (kvmx_shadow_mmio_supported() ?
				BIT(KVMX_MMIO_CACHING_MISCONFIG) : 0);
		return kvmx_check_extension(arg);
	case KVM_CREATE_IRQCHIP:
	case KVM_IRQ_LINE:
	case KVM_IRQ_LINE_STATUS:
	case KVM_SET_GSI_ROUTING:
	case KVM_SIGNAL_MSI:
	case KVM_GET_IRQCHIP:
	case KVM_SET_IRQCHIP:
		return kvmx_irqchip_vm_ioctl(vm, ioctl, argp);
	case KVM_CREATE_PIT:
	case KVM_CREATE_PIT2:
	case KVM_GET_PIT:
	case KVM_SET_PIT:
	case KVM_GET_PIT2:
	case KVM_SET_PIT2:
	case KVM_REINJECT_CONTROL:
		return kvmx_pit_vm_ioctl(vm, ioctl, argp);
	case KVM_GET_STATS_FD:
		return kvmx_stats_vm_fd(vm);
	/*
	 * With unrestricted guest and EPT, real mode needs neither KVM's TSS
	 * nor its identity-mapped page table: both addresses are checked as
	 * KVM checks them and accepted, and nothing keeps them.
	 */
	case KVM_SET_TSS_ADDR:
		if (arg > (unsigned int)(-3 * PAGE_SIZE))
			return kvmx_refuse(-EINVAL, "KVM_SET_TSS_ADDR", "0x%lx out of range", arg);
		return 0;
	case KVM_SET_IDENTITY_MAP_ADDR: {
		u64 addr;

		if (copy_from_user(&addr, argp, sizeof(addr)))
			return -EFAULT;
		mutex_lock(&vm->lock);
		if (vm->nr_vcpus)
			r = kvmx_refuse(-EINVAL, "KVM_SET_IDENTITY_MAP_ADDR",
					"vCPUs exist already");
		mutex_unlock(&vm->lock);
		return r;
	}
	/* As KVM 6.1: any id, before the first vCPU. */
	case KVM_SET_BOOT_CPU_ID:
		mutex_lock(&vm->lock);
		if (vm->nr_vcpus)
			r = kvmx_refuse(-EBUSY, "KVM_SET_BOOT_CPU_ID", "vCPUs exist already");
		else
			vm->bsp_vcpu_id = arg;
		mutex_unlock(&vm->lock);
		return r;
	/*
	 * KVM's limit on shadow MMU pages: the shadow MMU keeps to it from
	 * its next fault on; the EPT does not count its pages against it (nor
	 * does KVM's TDP MMU).
	 */
	case KVM_SET_NR_MMU_PAGES:
		if (arg < KVMX_MIN_MMU_PAGES)
			return kvmx_refuse(-EINVAL, "KVM_SET_NR_MMU_PAGES", "%lu, at least %d",
					   arg, KVMX_MIN_MMU_PAGES);
		mutex_lock(&vm->lock);
		vm->n_requested_mmu_pages = arg;
		WRITE_ONCE(vm->n_max_mmu_pages, arg);
		mutex_unlock(&vm->lock);
		return 0;
	case KVM_GET_NR_MMU_PAGES:
		mutex_lock(&vm->lock);
		r = vm->n_max_mmu_pages;
		mutex_unlock(&vm->lock);
		return r;
	case KVM_ENABLE_CAP: {
		struct kvm_enable_cap cap;

		if (copy_from_user(&cap, argp, sizeof(cap)))
			return -EFAULT;
		return vm_enable_cap(vm, &cap);
	}
	case KVMX_DEBUG_SET_SPTE: {
		struct kvmx_debug_spte d;

		if (!kvmx_debug_hooks())
			return kvmx_refuse(-ENOTTY, "KVMX_DEBUG_SET_SPTE",
					   "needs the module parameter debug_hooks=1");
		if (copy_from_user(&d, argp, sizeof(d)))
			return -EFAULT;
		mutex_lock(&vm->lock);	/* vm->mmu's readers outside a vCPU hold it */
		r = kvmx_mmu_debug_set_spte(vm, d.gpa >> PAGE_SHIFT, d.spte);
		mutex_unlock(&vm->lock);
		if (r)
			return kvmx_refuse(r, "KVMX_DEBUG_SET_SPTE",
					   "gpa 0x%llx spte 0x%llx: present, mapped or no memory",
					   d.gpa, d.spte);
		pr_warn("%s[%d]: debug hook wrote SPTE 0x%llx at gpa 0x%llx\n",
			current->comm, task_pid_nr(current), d.spte, d.gpa);
		return 0;
	}
	default:
		return kvmx_refuse(-ENOTTY, "VM ioctl", "unknown ioctl 0x%x", ioctl);
	}
}

static const struct file_operations vm_fops = {
	.owner = THIS_MODULE,
	.release = vm_release,
	.unlocked_ioctl = vm_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

long kvmx_create_vm(unsigned long type)
{
	struct kvmx_vm *vm;
	int fd;

	if (type)
		return kvmx_refuse(-EINVAL, "KVM_CREATE_VM", "type %lu: only 0 exists", type);
	vm = kzalloc(sizeof(*vm), GFP_KERNEL_ACCOUNT);
	if (!vm)
		return kvmx_refuse(-ENOMEM, "KVM_CREATE_VM", "no memory");
	atomic_long_inc(&kvmx_counts.vms);
	kref_init(&vm->ref);
	mutex_init(&vm->lock);
	kvmx_irqfd_vm_init(vm);
	mmgrab(current->mm);
	vm->mm = current->mm;
	vm->mmio = kvmx_default_mmio_cfg();
	vm->bypass_guest_pf = kvmx_shadow_bypass_default();
	vm->guest_can_read_msr_platform_info = true;
	kvmx_kvmclock_vm_init(vm);

	fd = init_srcu_struct(&vm->srcu);
	if (fd)
		goto free_vm;
	fd = kvmx_memslots_init(vm);
	if (fd)
		goto free_srcu;
	fd = kvmx_mmu_init(vm);
	if (fd)
		goto free_memslots;
	kvmx_stats_vm_init(vm);
	fd = anon_inode_getfd("kvmx-vm", &vm_fops, vm, O_RDWR | O_CLOEXEC);
	if (fd >= 0)
		return fd;
	/* Its debugfs stats may be open already: the last reference frees it. */
	kvmx_vm_put(vm);
	return kvmx_refuse(fd, "KVM_CREATE_VM", "no fd for the VM");

free_memslots:
	kvmx_memslots_destroy(vm);
free_srcu:
	cleanup_srcu_struct(&vm->srcu);
free_vm:
	mmdrop(vm->mm);
	kfree(vm);
	atomic_long_dec(&kvmx_counts.vms);
	return kvmx_refuse(fd, "KVM_CREATE_VM", "setting up the VM failed");
}
