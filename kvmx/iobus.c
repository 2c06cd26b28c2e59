// SPDX-License-Identifier: GPL-2.0
/*
 * KVM_IOEVENTFD registrations: checks, matching and copy-on-update of the
 * sorted buses.  Pure code; the rules are in iobus.h.
 */
#include "iobus.h"

enum kvmx_ioeventfd_error kvmx_ioeventfd_check(u64 addr, u32 len, u32 flags)
{
	if (len != 0 && len != 1 && len != 2 && len != 4 && len != 8)
		return KVMX_IOEV_BAD_LEN;
	if (addr + len < addr)
		return KVMX_IOEV_OVERFLOW;
	if (flags & ~KVMX_IOEVENTFD_VALID_FLAGS)
		return KVMX_IOEV_BAD_FLAGS;
	if (!len && (flags & KVMX_IOEVENTFD_FLAG_DATAMATCH))
		return KVMX_IOEV_LEN0_DATAMATCH;
	return KVMX_IOEV_OK;
}

enum kvmx_iobus_id kvmx_ioeventfd_bus(u32 flags)
{
	if (flags & KVMX_IOEVENTFD_FLAG_PIO)
		return KVMX_IOBUS_PIO;
	if (flags & KVMX_IOEVENTFD_FLAG_VIRTIO_CCW_NOTIFY)
		return KVMX_IOBUS_CCW;
	return KVMX_IOBUS_MMIO;
}

struct kvmx_io_reg kvmx_io_reg_of(u64 addr, u32 len, u32 flags, u64 datamatch)
{
	struct kvmx_io_reg r = { .addr = addr, .len = len };

	r.wildcard = !(flags & KVMX_IOEVENTFD_FLAG_DATAMATCH);
	r.datamatch = r.wildcard ? 0 : datamatch;
	r.eventfd = NULL;
	return r;
}

u64 kvmx_io_value(const void *data, u32 len)
{
	const u8 *p = data;
	u64 v = 0;
	u32 i;

	if (len != 1 && len != 2 && len != 4 && len != 8)
		return 0;
	for (i = 0; i < len; i++)
		v |= (u64)p[i] << (8 * i);
	return v;
}

bool kvmx_io_reg_hit(const struct kvmx_io_reg *r, u64 addr, u32 len, u64 val)
{
	if (r->addr != addr)
		return false;
	if (!r->len)
		return true;
	if (r->len != len)
		return false;
	return r->wildcard || r->datamatch == val;
}

bool kvmx_io_reg_collide(const struct kvmx_io_reg *a, const struct kvmx_io_reg *b)
{
	if (a->addr != b->addr)
		return false;
	if (!a->len || !b->len)
		return true;
	return a->len == b->len && (a->wildcard || b->wildcard || a->datamatch == b->datamatch);
}

/* The first index whose address is >= @addr. */
static u32 lower_bound(const struct kvmx_iobus *bus, u64 addr)
{
	u32 lo = 0, hi = bus->nr;

	while (lo < hi) {
		u32 mid = lo + (hi - lo) / 2;

		if (bus->regs[mid].addr < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int kvmx_iobus_find(const struct kvmx_iobus *bus, u64 addr, u32 len, u64 val)
{
	u32 i;

	if (!bus)
		return -1;
	for (i = lower_bound(bus, addr); i < bus->nr && bus->regs[i].addr == addr; i++)
		if (kvmx_io_reg_hit(&bus->regs[i], addr, len, val))
			return i;
	return -1;
}

bool kvmx_iobus_collides(const struct kvmx_iobus *bus, const struct kvmx_io_reg *r)
{
	u32 i;

	if (!bus)
		return false;
	for (i = lower_bound(bus, r->addr); i < bus->nr && bus->regs[i].addr == r->addr; i++)
		if (kvmx_io_reg_collide(&bus->regs[i], r))
			return true;
	return false;
}

int kvmx_iobus_find_exact(const struct kvmx_iobus *bus, const struct kvmx_io_reg *r)
{
	u32 i;

	if (!bus)
		return -1;
	for (i = lower_bound(bus, r->addr); i < bus->nr && bus->regs[i].addr == r->addr; i++) {
		const struct kvmx_io_reg *e = &bus->regs[i];

		if (e->len == r->len && e->eventfd == r->eventfd && e->wildcard == r->wildcard &&
		    (e->wildcard || e->datamatch == r->datamatch))
			return i;
	}
	return -1;
}

/* Sorted by address, then length; equal keys keep their order of assignment. */
static bool goes_before(const struct kvmx_io_reg *r, const struct kvmx_io_reg *e)
{
	return r->addr < e->addr || (r->addr == e->addr && r->len < e->len);
}

void kvmx_iobus_insert(struct kvmx_iobus *to, const struct kvmx_iobus *old,
		       const struct kvmx_io_reg *r)
{
	u32 n = old ? old->nr : 0, i, j = 0;
	bool done = false;

	for (i = 0; i < n; i++) {
		if (!done && goes_before(r, &old->regs[i])) {
			to->regs[j++] = *r;
			done = true;
		}
		to->regs[j++] = old->regs[i];
	}
	if (!done)
		to->regs[j++] = *r;
	to->nr = j;
}

void kvmx_iobus_remove(struct kvmx_iobus *to, const struct kvmx_iobus *old, u32 idx)
{
	u32 i, j = 0;

	for (i = 0; i < old->nr; i++)
		if (i != idx)
			to->regs[j++] = old->regs[i];
	to->nr = j;
}
