/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KVM_IOEVENTFD registrations: pure code (see types.h), used by eventfd.c
 * and the unit tests.
 *
 * A bus (MMIO, port I/O, and the virtio-ccw notify bus that x86 accepts
 * but never writes) is an immutable array of registrations sorted by
 * address.  An update builds a new array from the old one
 * (kvmx_iobus_insert(), kvmx_iobus_remove()) and eventfd.c swaps the
 * pointer under RCU; the exit paths look a write up with a binary search.
 *
 * The rules are KVM's (virt/kvm/eventfd.c):
 *  - a registration has an address, a length of 0, 1, 2, 4 or 8 bytes
 *    (0: any length) and either a datamatch value or none (wildcard);
 *  - a guest write of @len bytes of value @val at @addr hits it when the
 *    address is the same, the length is 0 or the same, and it is a
 *    wildcard or @val (the written bytes, zero-extended) equals datamatch;
 *  - two registrations on one bus collide (-EEXIST) when their addresses
 *    are the same and either has length 0, or the lengths are the same and
 *    either is a wildcard or the datamatches are the same.  So no write
 *    ever hits more than one registration.
 */
#ifndef KVMX_IOBUS_H
#define KVMX_IOBUS_H

#include "types.h"

/* KVM_IOEVENTFD's flags, with KVM's values (eventfd.c checks them). */
#define KVMX_IOEVENTFD_FLAG_DATAMATCH		KVMX_BIT(0)
#define KVMX_IOEVENTFD_FLAG_PIO			KVMX_BIT(1)
#define KVMX_IOEVENTFD_FLAG_DEASSIGN		KVMX_BIT(2)
#define KVMX_IOEVENTFD_FLAG_VIRTIO_CCW_NOTIFY	KVMX_BIT(3)
/* Bit 4 (kvm_ioeventfd_flag_nr_fast_mmio) is valid in 6.1 and means nothing. */
#define KVMX_IOEVENTFD_VALID_FLAGS		0x1fULL

enum kvmx_iobus_id {
	KVMX_IOBUS_MMIO,
	KVMX_IOBUS_PIO,
	KVMX_IOBUS_CCW,		/* accepted as KVM on x86 does; nothing writes it */
	KVMX_NR_IOBUS,
};

struct kvmx_io_reg {
	u64 addr;
	u64 datamatch;		/* unused for a wildcard */
	u32 len;		/* 0 (any), 1, 2, 4 or 8 */
	bool wildcard;
	void *eventfd;		/* the kernel's eventfd_ctx; pure code only compares it */
};

struct kvmx_iobus {
	u32 nr;
	struct kvmx_io_reg regs[];	/* sorted by addr, then len */
};

enum kvmx_ioeventfd_error {
	KVMX_IOEV_OK,
	KVMX_IOEV_BAD_LEN,		/* not 0, 1, 2, 4 or 8 */
	KVMX_IOEV_OVERFLOW,		/* addr + len wraps */
	KVMX_IOEV_BAD_FLAGS,		/* unknown flags */
	KVMX_IOEV_LEN0_DATAMATCH,	/* length 0 cannot match data */
};

/*
 * KVM's checks of an assignment, in KVM's order (all -EINVAL).  A
 * deassignment is not checked: it looks for an equal registration.
 */
enum kvmx_ioeventfd_error kvmx_ioeventfd_check(u64 addr, u32 len, u32 flags);

/* The bus of @flags: PIO first, then virtio-ccw, else MMIO (as KVM). */
enum kvmx_iobus_id kvmx_ioeventfd_bus(u32 flags);

/* The registration @flags describe (eventfd left NULL). */
struct kvmx_io_reg kvmx_io_reg_of(u64 addr, u32 len, u32 flags, u64 datamatch);

/* @len bytes at @data (len 1, 2, 4 or 8; anything else is 0) as a value. */
u64 kvmx_io_value(const void *data, u32 len);

bool kvmx_io_reg_hit(const struct kvmx_io_reg *r, u64 addr, u32 len, u64 val);
bool kvmx_io_reg_collide(const struct kvmx_io_reg *a, const struct kvmx_io_reg *b);

/*
 * The index of the registration a write hits, or -1.  @bus may be NULL
 * (an empty bus).
 */
int kvmx_iobus_find(const struct kvmx_iobus *bus, u64 addr, u32 len, u64 val);

/* Whether @r collides with a registration of @bus (NULL: empty). */
bool kvmx_iobus_collides(const struct kvmx_iobus *bus, const struct kvmx_io_reg *r);

/*
 * The index of the registration a deassignment of @r names: same address,
 * length, eventfd and wildcard, and the same datamatch unless a wildcard.
 * -1 if none.
 */
int kvmx_iobus_find_exact(const struct kvmx_iobus *bus, const struct kvmx_io_reg *r);

/* Bytes of a bus of @nr registrations. */
static inline u64 kvmx_iobus_bytes(u32 nr)
{
	return sizeof(struct kvmx_iobus) + (u64)nr * sizeof(struct kvmx_io_reg);
}

/*
 * Fills @to (room for old->nr + 1) with @old (NULL: empty) and @r in
 * order.  The caller checked kvmx_iobus_collides() first.
 */
void kvmx_iobus_insert(struct kvmx_iobus *to, const struct kvmx_iobus *old,
		       const struct kvmx_io_reg *r);

/* Fills @to (room for old->nr - 1) with @old without its entry @idx. */
void kvmx_iobus_remove(struct kvmx_iobus *to, const struct kvmx_iobus *old, u32 idx);

#endif /* KVMX_IOBUS_H */
