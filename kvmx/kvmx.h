/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KVMX_KVMX_H
#define KVMX_KVMX_H

#include <linux/compiler_attributes.h>

/*
 * Every refusal of a user-space request returns an errno and leaves one
 * line in dmesg saying who asked for @what and why.  User space can repeat
 * a bad request at will, so the lines are rate-limited.  Returns @err.
 */
__printf(3, 4) int kvmx_refuse(int err, const char *what, const char *fmt, ...);

#endif /* KVMX_KVMX_H */
