// SPDX-License-Identifier: GPL-2.0
/*
 * Test-only module for the test-host runner's own tests: loading it puts a
 * WARNING splat in dmesg, which the runner must turn into a failed run.
 * Never part of kvmx.ko.
 */
#include <linux/bug.h>
#include <linux/module.h>

static int __init kvmx_splat_init(void)
{
	WARN(1, "kvmx_splat: deliberate warning for the test-host runner's tests\n");
	return 0;
}

static void __exit kvmx_splat_exit(void)
{
}

module_init(kvmx_splat_init);
module_exit(kvmx_splat_exit);

MODULE_DESCRIPTION("Deliberate WARN splat, for testing the kvmx test-host runner");
MODULE_LICENSE("GPL");
