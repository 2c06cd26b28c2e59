/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one header that pure kvmx code (SPTE encoding, generation arithmetic,
 * the instruction decoder, the guest page-table walker, VMX capability
 * decoding) may include.  It gives the kernel's fixed-width types both in
 * the module and in user-space unit tests, so the same source compiles in
 * both places.
 */
#ifndef KVMX_TYPES_H
#define KVMX_TYPES_H

#ifdef __KERNEL__
#include <linux/types.h>
#else
#include <stdbool.h>
#include <stddef.h>

/* The compiler's own names, so no libc header is needed. */
typedef __UINT8_TYPE__ u8;
typedef __UINT16_TYPE__ u16;
typedef __UINT32_TYPE__ u32;
typedef __UINT64_TYPE__ u64;
typedef __INT8_TYPE__ s8;
typedef __INT16_TYPE__ s16;
typedef __INT32_TYPE__ s32;
typedef __INT64_TYPE__ s64;
#endif

#define KVMX_BIT(n) (1ULL << (n))
/* Bits h..l inclusive, h >= l, as a u64 mask. */
#define KVMX_GENMASK(h, l) ((~0ULL >> (63 - (h))) & (~0ULL << (l)))

#endif /* KVMX_TYPES_H */
