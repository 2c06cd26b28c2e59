/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the decoder and the emulator; not part of the API.
 */
#ifndef KVMX_EMULATE_INT_H
#define KVMX_EMULATE_INT_H

#include "../types.h"

/* The low bytes * 8 bits, bytes in 1..8. */
static inline u64 kvmx_emu_mask(unsigned int bytes)
{
	return bytes >= 8 ? ~0ULL : (1ULL << (8 * bytes)) - 1;
}

/* v's low bytes * 8 bits, sign-extended to 64 bits; bytes in 1..8. */
static inline u64 kvmx_emu_sext(u64 v, unsigned int bytes)
{
	unsigned int sh = 64 - 8 * bytes;

	return (u64)((s64)(v << sh) >> sh);
}

#endif /* KVMX_EMULATE_INT_H */
