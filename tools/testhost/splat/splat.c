// SPDX-License-Identifier: GPL-2.0
/*
 * Test-only module for the test-host runner's own tests: loading it puts a
 * report in dmesg, which the runner must turn into a failed run.  Never
 * part of kvmx.ko.
 *
 * kind=warn (default): a WARNING, on any kernel.
 * The others are reported only by the debug kernel (tools/testhost/debugkernel),
 * and show that its checkers are live:
 * kind=kasan:   a one-byte read past a kmalloc'd object (KASAN);
 * kind=sleep:   might_sleep() under a spinlock (DEBUG_ATOMIC_SLEEP);
 * kind=lockdep: two mutexes taken in both orders (lockdep; its first report,
 *               and the taint any report adds, turn lockdep off for the
 *               rest of the boot, so load this kind first).
 */
#include <linux/bug.h>
#include <linux/compiler.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>

static char *kind = "warn";
module_param(kind, charp, 0444);
MODULE_PARM_DESC(kind, "warn, kasan, sleep or lockdep");

/* A size the compiler cannot see through, so the bad read is not folded. */
static unsigned int kasan_size = 13;
module_param(kasan_size, uint, 0444);
MODULE_PARM_DESC(kasan_size, "size of the object kind=kasan reads past");

static DEFINE_MUTEX(splat_a);
static DEFINE_MUTEX(splat_b);
static DEFINE_SPINLOCK(splat_lock);

static noinline int splat_kasan(void)
{
	char *p = kmalloc(kasan_size, GFP_KERNEL);
	char c;

	if (!p)
		return -ENOMEM;
	memset(p, 0, kasan_size);
	c = READ_ONCE(p[kasan_size]);
	kfree(p);
	pr_info("kvmx_splat: read %d past a %u-byte object\n", c, kasan_size);
	return 0;
}

static noinline void splat_sleep(void)
{
	spin_lock(&splat_lock);
	might_sleep();
	spin_unlock(&splat_lock);
}

static noinline void splat_lockdep(void)
{
	mutex_lock(&splat_a);
	mutex_lock(&splat_b);
	mutex_unlock(&splat_b);
	mutex_unlock(&splat_a);

	mutex_lock(&splat_b);
	mutex_lock(&splat_a);
	mutex_unlock(&splat_a);
	mutex_unlock(&splat_b);
}

static int __init kvmx_splat_init(void)
{
	if (!strcmp(kind, "warn")) {
		WARN(1, "kvmx_splat: deliberate warning for the test-host runner's tests\n");
		return 0;
	}
	/* Names no checker: the runner's log scan would take it for a report. */
	pr_info("kvmx_splat: provoking a deliberate report for the test-host runner's tests\n");
	if (!strcmp(kind, "kasan"))
		return splat_kasan();
	if (!strcmp(kind, "sleep")) {
		splat_sleep();
		return 0;
	}
	if (!strcmp(kind, "lockdep")) {
		splat_lockdep();
		return 0;
	}
	pr_err("kvmx_splat: unknown kind '%s'\n", kind);
	return -EINVAL;
}

static void __exit kvmx_splat_exit(void)
{
}

module_init(kvmx_splat_init);
module_exit(kvmx_splat_exit);

MODULE_DESCRIPTION("Deliberate splats, for testing the kvmx test-host runner and debug kernel");
MODULE_LICENSE("GPL");
