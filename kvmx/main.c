// SPDX-License-Identifier: GPL-2.0
/*
 * kvmx: a small KVM-like hypervisor for Intel VMX, driven through KVM's own
 * ioctl ABI on a misc device (/dev/kvmx by default).
 *
 * This file: module init and exit, module parameters, the device and the
 * system ioctls (those on the fd of the device itself).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/kvm.h>
#include <linux/kvmx.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/preempt.h>
#include <linux/ratelimit.h>
#include <linux/sched.h>
#include <linux/seq_file.h>

#include "kvmx.h"
#include "mmu/mmu.h"

#define CREATE_TRACE_POINTS
#include "trace.h"
#include "vmx/vmx.h"

#define KVMX_DEVNAME_MAX 32

static char *devname = "kvmx";
module_param(devname, charp, 0444);
MODULE_PARM_DESC(devname,
		 "Name of the device node under /dev (default \"kvmx\"; \"kvm\" lets an unmodified VMM use kvmx when kvm.ko is not loaded)");

static char *mmio_caching = "misconfig";
module_param(mmio_caching, charp, 0444);
MODULE_PARM_DESC(mmio_caching,
		 "MMIO caching in SPTEs for new VMs (a VM may choose with KVMX_CAP_MMIO_CACHING): misconfig (default; EPT misconfiguration), not-present (marked not-present SPTEs, EPT violations), off");

static uint mmio_gen_bits = KVMX_MMIO_GEN_MAX_BITS;
module_param(mmio_gen_bits, uint, 0444);
MODULE_PARM_DESC(mmio_gen_bits,
		 "Memslot generation bits stored in an MMIO SPTE, 1-19 (default 19); fewer make the zap-all on wrap come sooner, for testing");

static bool debug_hooks;
module_param(debug_hooks, bool, 0444);
MODULE_PARM_DESC(debug_hooks,
		 "Allow the KVMX_DEBUG_* ioctls that let user space corrupt its own VM's EPT, for tests (default off)");

static u8 mmio_flavour;

struct dentry *kvmx_debugfs;

struct kvmx_mmio_cfg kvmx_default_mmio_cfg(void)
{
	return kvmx_mmio_cfg_of(mmio_flavour, mmio_gen_bits);
}

bool kvmx_debug_hooks(void)
{
	return debug_hooks;
}

struct kvmx_counts kvmx_counts;

int kvmx_refuse(int err, const char *what, const char *fmt, ...)
{
	static DEFINE_RATELIMIT_STATE(rs, DEFAULT_RATELIMIT_INTERVAL, DEFAULT_RATELIMIT_BURST);
	struct va_format vaf;
	va_list args;

	if (!__ratelimit(&rs))
		return err;
	va_start(args, fmt);
	vaf.fmt = fmt;
	vaf.va = &args;
	pr_info("%s[%d]: %s refused (%d): %pV\n", current->comm, task_pid_nr(current), what,
		err, &vaf);
	va_end(args);
	return err;
}

/* Capabilities kvmx backs, for KVM_CHECK_EXTENSION on the system and VM fds. */
long kvmx_check_extension(long cap)
{
	switch (cap) {
	case KVM_CAP_USER_MEMORY:
	case KVM_CAP_SET_TSS_ADDR:
	case KVM_CAP_EXT_CPUID:
	case KVM_CAP_MP_STATE:
	case KVM_CAP_DESTROY_MEMORY_REGION_WORKS:
	case KVM_CAP_JOIN_MEMORY_REGIONS_WORKS:
	case KVM_CAP_SET_IDENTITY_MAP_ADDR:
	case KVM_CAP_READONLY_MEM:
	case KVM_CAP_IMMEDIATE_EXIT:
	case KVM_CAP_BINARY_STATS_FD:
	case KVM_CAP_IOEVENTFD:
	case KVM_CAP_IOEVENTFD_NO_LENGTH:
	case KVM_CAP_IOEVENTFD_ANY_LENGTH:
	case KVM_CAP_IRQFD:
	case KVM_CAP_IRQCHIP:
	case KVM_CAP_IRQ_INJECT_STATUS:
	case KVM_CAP_SIGNAL_MSI:
	case KVM_CAP_SPLIT_IRQCHIP:
	case KVM_CAP_MMU_SHADOW_CACHE_CONTROL:
	case KVM_CAP_MSR_PLATFORM_INFO:
	case KVM_CAP_GET_MSR_FEATURES:
	case KVM_CAP_SET_BOOT_CPU_ID:
	case KVM_CAP_DISABLE_QUIRKS:
	case KVM_CAP_ENFORCE_PV_FEATURE_CPUID:
	case KVM_CAP_VCPU_ATTRIBUTES:
	case KVM_CAP_XSAVE:
	case KVM_CAP_X86_USER_SPACE_MSR:
	case KVM_CAP_X86_MSR_FILTER:
	case KVM_CAP_PIT:
	case KVM_CAP_PIT2:
	case KVM_CAP_PIT_STATE2:
	case KVM_CAP_REINJECT_CONTROL:
	case KVM_CAP_USER_NMI:
	case KVM_CAP_SET_GUEST_DEBUG:
	case KVM_CAP_CHECK_EXTENSION_VM:
	case KVM_CAP_EXIT_ON_EMULATION_FAILURE:
	case KVM_CAP_GET_TSC_KHZ:
		return 1;
	case KVM_CAP_ADJUST_CLOCK:
		return KVM_CLOCK_TSC_STABLE | KVM_CLOCK_REALTIME | KVM_CLOCK_HOST_TSC;
	case KVM_CAP_XCRS:
		return boot_cpu_has(X86_FEATURE_XSAVE);
	case KVM_CAP_DISABLE_QUIRKS2:
		return KVMX_VALID_QUIRKS;
	case KVM_CAP_SET_GUEST_DEBUG2:
		return KVMX_GUESTDBG_VALID_MASK;
	case KVM_CAP_IRQ_ROUTING:
		return 4096;	/* KVM_MAX_IRQ_ROUTES: kvmx/irq/irqchip.h */
	case KVM_CAP_NR_VCPUS:
	case KVM_CAP_MAX_VCPUS:
		return KVMX_MAX_VCPUS;
	case KVM_CAP_MAX_VCPU_ID:
		return KVMX_MAX_VCPU_ID;
	case KVM_CAP_NR_MEMSLOTS:
		return KVMX_USER_MEM_SLOTS;
	case KVM_CAP_VCPU_EVENTS:
	case KVM_CAP_DEBUGREGS:
		return 1;
	case KVM_CAP_SYNC_REGS:
		return KVM_SYNC_X86_VALID_FIELDS;
	case KVM_CAP_MCE:
		return KVMX_MCE_MAX_BANKS;
	case KVMX_CAP_MMIO_CACHING:
		/* Both flavours work on every EPT: 110b is a misconfiguration always. */
		return BIT(KVMX_MMIO_CACHING_OFF) | BIT(KVMX_MMIO_CACHING_MISCONFIG) |
		       BIT(KVMX_MMIO_CACHING_NOT_PRESENT);
	case KVMX_CAP_MMU:
		return kvmx_mmus_offered();
	case KVMX_CAP_BYPASS_GUEST_PF:
		return kvmx_shadow_supported() && kvmx_shadow_mmio_supported();
	default:
		return 0;	/* unknown or not backed, as KVM answers */
	}
}

/*
 * KVM_GET_MSR_INDEX_LIST and KVM_GET_MSR_FEATURE_INDEX_LIST: as KVM, the
 * count is written back even when the array is too small (-E2BIG).
 */
static long msr_list_out(struct kvm_msr_list __user *arg, const char *what, const u32 *list,
			 u32 len)
{
	struct kvm_msr_list hdr;
	u32 room;

	if (copy_from_user(&hdr, arg, sizeof(hdr)))
		return -EFAULT;
	room = hdr.nmsrs;
	hdr.nmsrs = len;
	if (copy_to_user(arg, &hdr, sizeof(hdr)))
		return -EFAULT;
	if (room < len)
		return kvmx_refuse(-E2BIG, what, "room for %u of %u MSRs", room, len);
	if (copy_to_user(arg->indices, list, len * sizeof(u32)))
		return -EFAULT;
	return 0;
}

/*
 * MSR-based features (KVM_CAP_GET_MSR_FEATURES): what the host offers
 * guests through MSRs.  kvmx offers no VMX to guests (KVM lists the VMX
 * capability MSRs for nested VMX) and no ARCH_CAPABILITIES (not in its
 * CPUID), which leaves the microcode revision.
 */
static const u32 feature_msrs[] = { MSR_IA32_UCODE_REV };

static int get_feature_msr(u32 index, u64 *data)
{
	switch (index) {
	case MSR_IA32_UCODE_REV:
		*data = 0;	/* as KVM: 0 if the host's read faults */
		rdmsrl_safe(index, data);
		return 0;
	default:
		return -EINVAL;
	}
}

/*
 * KVM_GET_MSRS/KVM_SET_MSRS on a vCPU, and KVM_GET_MSRS of the feature MSRs
 * on the system fd, as KVM's msr_io(): at most 255 entries, @do_msr called
 * on each in turn until one fails, the values copied back when
 * @writeback.  Returns how many were done.
 */
long kvmx_msr_io(struct kvm_msrs __user *arg, const char *ioctl_name,
		 int (*do_msr)(void *ctx, struct kvm_msr_entry *e), void *ctx, bool writeback)
{
	struct kvm_msr_entry __user *user_entries = arg->entries;
	struct kvm_msr_entry e;
	struct kvm_msrs hdr;
	u32 i;

	if (copy_from_user(&hdr, arg, sizeof(hdr)))
		return -EFAULT;
	if (hdr.nmsrs >= 256)	/* KVM's MAX_IO_MSRS */
		return kvmx_refuse(-E2BIG, ioctl_name, "%u MSRs", hdr.nmsrs);
	for (i = 0; i < hdr.nmsrs; i++) {
		if (copy_from_user(&e, &user_entries[i], sizeof(e)))
			return -EFAULT;
		if (do_msr(ctx, &e))
			break;
		if (writeback && copy_to_user(&user_entries[i].data, &e.data, sizeof(e.data)))
			return -EFAULT;
	}
	return i;
}

static int get_feature_msr_entry(void *unused, struct kvm_msr_entry *e)
{
	return get_feature_msr(e->index, &e->data);
}

static long kvmx_dev_ioctl(struct file *filp, unsigned int ioctl, unsigned long arg)
{
	switch (ioctl) {
	case KVM_GET_API_VERSION:
		if (arg)
			return kvmx_refuse(-EINVAL, "KVM_GET_API_VERSION", "argument %lu is not 0",
					   arg);
		return KVM_API_VERSION;
	case KVM_CHECK_EXTENSION:
		return kvmx_check_extension(arg);
	case KVM_GET_VCPU_MMAP_SIZE:
		if (arg)
			return kvmx_refuse(-EINVAL, "KVM_GET_VCPU_MMAP_SIZE",
					   "argument %lu is not 0", arg);
		return KVMX_VCPU_MMAP_PAGES * PAGE_SIZE;
	case KVM_CREATE_VM:
		return kvmx_create_vm(arg);
	case KVM_GET_MSR_INDEX_LIST:
		return msr_list_out((void __user *)arg, "KVM_GET_MSR_INDEX_LIST", kvmx_msr_list,
				    kvmx_msr_list_len);
	case KVM_GET_MSR_FEATURE_INDEX_LIST:
		return msr_list_out((void __user *)arg, "KVM_GET_MSR_FEATURE_INDEX_LIST",
				    feature_msrs, ARRAY_SIZE(feature_msrs));
	case KVM_GET_MSRS:
		return kvmx_msr_io((void __user *)arg, "KVM_GET_MSRS", get_feature_msr_entry,
				   NULL, true);
	case KVM_GET_SUPPORTED_CPUID:
		return kvmx_get_supported_cpuid((void __user *)arg);
	case KVM_X86_GET_MCE_CAP_SUPPORTED: {
		u64 mce_cap = KVMX_MCE_CAP_SUPPORTED;

		return copy_to_user((void __user *)arg, &mce_cap, sizeof(mce_cap)) ? -EFAULT : 0;
	}
	default:
		/* As KVM: -EINVAL (its VM fd says -ENOTTY, its vCPU fd -EINVAL). */
		return kvmx_refuse(-EINVAL, "system ioctl", "unknown ioctl 0x%x", ioctl);
	}
}

static const struct file_operations kvmx_dev_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = kvmx_dev_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice kvmx_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.fops = &kvmx_dev_fops,
};

static int kvmx_vmx_caps_show(struct seq_file *m, void *unused)
{
	kvmx_vmx_show(m);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(kvmx_vmx_caps);

/* Objects alive: what a leak test compares before and after. */
static int kvmx_objects_show(struct seq_file *m, void *unused)
{
	seq_printf(m, "vms %ld\nvcpus %ld\nept_tables %ld\npinned_pages %ld\nioeventfds %ld\n",
		   atomic_long_read(&kvmx_counts.vms), atomic_long_read(&kvmx_counts.vcpus),
		   atomic_long_read(&kvmx_counts.ept_tables),
		   atomic_long_read(&kvmx_counts.pinned_pages),
		   atomic_long_read(&kvmx_counts.ioeventfds));
	seq_printf(m, "irqchips %ld\nlapics %ld\n", atomic_long_read(&kvmx_counts.irqchips),
		   atomic_long_read(&kvmx_counts.lapics));
	seq_printf(m, "irqfds %ld\npits %ld\n", atomic_long_read(&kvmx_counts.irqfds),
		   atomic_long_read(&kvmx_counts.pits));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(kvmx_objects);

static bool devname_valid(const char *name)
{
	size_t len = strnlen(name, KVMX_DEVNAME_MAX + 1);
	size_t i;

	if (len == 0 || len > KVMX_DEVNAME_MAX)
		return false;
	for (i = 0; i < len; i++)
		if (!isalnum(name[i]) && name[i] != '_' && name[i] != '-')
			return false;
	return true;
}

static int __init kvmx_init(void)
{
	int ret;

	if (!devname_valid(devname)) {
		pr_err("devname must be 1-%d characters of [A-Za-z0-9_-]\n", KVMX_DEVNAME_MAX);
		return -EINVAL;
	}
	if (!strcmp(mmio_caching, "misconfig")) {
		mmio_flavour = KVMX_MMIO_CACHING_MISCONFIG;
	} else if (!strcmp(mmio_caching, "not-present")) {
		mmio_flavour = KVMX_MMIO_CACHING_NOT_PRESENT;
	} else if (!strcmp(mmio_caching, "off")) {
		mmio_flavour = KVMX_MMIO_CACHING_OFF;
	} else {
		pr_err("mmio_caching must be misconfig, not-present or off, not \"%s\"\n",
		       mmio_caching);
		return -EINVAL;
	}
	if (mmio_gen_bits < 1 || mmio_gen_bits > KVMX_MMIO_GEN_MAX_BITS) {
		pr_err("mmio_gen_bits must be 1-%d\n", KVMX_MMIO_GEN_MAX_BITS);
		return -EINVAL;
	}
	if (!kvmx_tdp_params_valid())
		return -EINVAL;

	ret = kvmx_irqfd_init();
	if (ret)
		return ret;
	ret = kvmx_vmx_init();
	if (ret) {
		kvmx_irqfd_exit();
		return ret;
	}
	/* vCPUs follow their thread across CPUs with preempt notifiers. */
	preempt_notifier_inc();

	/* Before /dev/kvmx: each VM adds its stats directory here. */
	kvmx_debugfs = debugfs_create_dir(KBUILD_MODNAME, NULL);
	debugfs_create_file("vmx", 0444, kvmx_debugfs, NULL, &kvmx_vmx_caps_fops);
	debugfs_create_file("objects", 0444, kvmx_debugfs, NULL, &kvmx_objects_fops);

	kvmx_dev.name = devname;
	/* /dev/kvm keeps KVM's fixed minor, so static nodes and udev rules match. */
	if (!strcmp(devname, "kvm"))
		kvmx_dev.minor = KVM_MINOR;
	ret = misc_register(&kvmx_dev);
	if (ret) {
		pr_err("cannot register /dev/%s (%d)%s\n", devname, ret,
		       !strcmp(devname, "kvm") ? ": is kvm.ko loaded?" : "");
		debugfs_remove(kvmx_debugfs);
		preempt_notifier_dec();
		kvmx_vmx_exit();
		kvmx_irqfd_exit();
		return ret;
	}

	pr_info("/dev/%s ready (KVM API %d)\n", devname, KVM_API_VERSION);
	return 0;
}

static void __exit kvmx_exit(void)
{
	debugfs_remove_recursive(kvmx_debugfs);
	misc_deregister(&kvmx_dev);
	preempt_notifier_dec();
	kvmx_vmx_exit();
	kvmx_irqfd_exit();
	pr_info("unloaded\n");
}

module_init(kvmx_init);
module_exit(kvmx_exit);

MODULE_DESCRIPTION("kvmx: KVM-like hypervisor for Intel VMX with MMIO caching in SPTEs");
MODULE_AUTHOR("The kvmx developers");
MODULE_LICENSE("GPL");
