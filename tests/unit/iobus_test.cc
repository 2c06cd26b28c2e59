// SPDX-License-Identifier: GPL-2.0
// KVM_IOEVENTFD registrations (kvmx/iobus.c): KVM's argument checks, hit
// and collision rules, and the sorted copy-on-update buses against a
// brute-force model.
#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <random>
#include <vector>

extern "C" {
#include "iobus.h"
}

namespace {

// An owned kvmx_iobus with room for @cap registrations.
struct Bus {
	explicit Bus(uint32_t cap)
		: mem(static_cast<kvmx_iobus *>(std::calloc(1, kvmx_iobus_bytes(cap + 1))), &std::free)
	{
	}
	kvmx_iobus *get() const { return mem.get(); }
	std::unique_ptr<kvmx_iobus, decltype(&std::free)> mem;
};

void *fd(uintptr_t n)
{
	return reinterpret_cast<void *>(n);
}

kvmx_io_reg reg(uint64_t addr, uint32_t len, bool datamatch, uint64_t dm = 0, uintptr_t efd = 1)
{
	kvmx_io_reg r = kvmx_io_reg_of(addr, len, datamatch ? KVMX_IOEVENTFD_FLAG_DATAMATCH : 0, dm);
	r.eventfd = fd(efd);
	return r;
}

// Returns @b with @r inserted.
Bus insert(const Bus &b, const kvmx_io_reg &r)
{
	Bus n(b.get()->nr + 1);
	kvmx_iobus_insert(n.get(), b.get(), &r);
	return n;
}

} // namespace

TEST(IoeventfdCheck, KvmOrder)
{
	EXPECT_EQ(kvmx_ioeventfd_check(0x1000, 0, 0), KVMX_IOEV_OK);
	for (uint32_t len : {1u, 2u, 4u, 8u})
		EXPECT_EQ(kvmx_ioeventfd_check(0x1000, len, KVMX_IOEVENTFD_FLAG_DATAMATCH),
			  KVMX_IOEV_OK);
	for (uint32_t len : {3u, 5u, 6u, 7u, 9u, 16u, 0xffffffffu})
		EXPECT_EQ(kvmx_ioeventfd_check(0x1000, len, 0), KVMX_IOEV_BAD_LEN);
	EXPECT_EQ(kvmx_ioeventfd_check(~0ULL - 3, 4, 0), KVMX_IOEV_OVERFLOW);
	EXPECT_EQ(kvmx_ioeventfd_check(~0ULL - 3, 2, 0), KVMX_IOEV_OK);
	EXPECT_EQ(kvmx_ioeventfd_check(~0ULL, 0, 0), KVMX_IOEV_OK);
	EXPECT_EQ(kvmx_ioeventfd_check(0, 4, 1u << 4), KVMX_IOEV_OK); // 6.1's fast_mmio bit
	EXPECT_EQ(kvmx_ioeventfd_check(0, 4, 1u << 5), KVMX_IOEV_BAD_FLAGS);
	EXPECT_EQ(kvmx_ioeventfd_check(0, 4, 1u << 31), KVMX_IOEV_BAD_FLAGS);
	EXPECT_EQ(kvmx_ioeventfd_check(0, 0, KVMX_IOEVENTFD_FLAG_DATAMATCH),
		  KVMX_IOEV_LEN0_DATAMATCH);
	// PIO with length 0 is allowed (KVM_CAP_IOEVENTFD_ANY_LENGTH).
	EXPECT_EQ(kvmx_ioeventfd_check(0x10, 0, KVMX_IOEVENTFD_FLAG_PIO), KVMX_IOEV_OK);
	// The length is checked before the flags, the flags before datamatch.
	EXPECT_EQ(kvmx_ioeventfd_check(0, 3, 1u << 5), KVMX_IOEV_BAD_LEN);
	EXPECT_EQ(kvmx_ioeventfd_check(0, 0, (1u << 5) | KVMX_IOEVENTFD_FLAG_DATAMATCH),
		  KVMX_IOEV_BAD_FLAGS);
}

TEST(IoeventfdBus, FromFlags)
{
	EXPECT_EQ(kvmx_ioeventfd_bus(0), KVMX_IOBUS_MMIO);
	EXPECT_EQ(kvmx_ioeventfd_bus(KVMX_IOEVENTFD_FLAG_PIO), KVMX_IOBUS_PIO);
	EXPECT_EQ(kvmx_ioeventfd_bus(KVMX_IOEVENTFD_FLAG_VIRTIO_CCW_NOTIFY), KVMX_IOBUS_CCW);
	EXPECT_EQ(kvmx_ioeventfd_bus(KVMX_IOEVENTFD_FLAG_PIO | KVMX_IOEVENTFD_FLAG_VIRTIO_CCW_NOTIFY),
		  KVMX_IOBUS_PIO);
}

TEST(IoeventfdValue, LittleEndianZeroExtended)
{
	const uint8_t b[8] = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88};
	EXPECT_EQ(kvmx_io_value(b, 1), 0x11u);
	EXPECT_EQ(kvmx_io_value(b, 2), 0x2211u);
	EXPECT_EQ(kvmx_io_value(b, 4), 0x44332211u);
	EXPECT_EQ(kvmx_io_value(b, 8), 0x8877665544332211ull);
	EXPECT_EQ(kvmx_io_value(b, 3), 0u);
}

TEST(IoeventfdHit, Rules)
{
	kvmx_io_reg any = reg(0x100, 0, false);
	EXPECT_TRUE(kvmx_io_reg_hit(&any, 0x100, 1, 7));
	EXPECT_TRUE(kvmx_io_reg_hit(&any, 0x100, 8, 0));
	EXPECT_FALSE(kvmx_io_reg_hit(&any, 0x101, 1, 7));

	kvmx_io_reg wild4 = reg(0x100, 4, false);
	EXPECT_TRUE(kvmx_io_reg_hit(&wild4, 0x100, 4, 123));
	EXPECT_FALSE(kvmx_io_reg_hit(&wild4, 0x100, 2, 123));
	EXPECT_FALSE(kvmx_io_reg_hit(&wild4, 0x100, 8, 123));
	// A write inside the range at another address is no hit (KVM: exact).
	EXPECT_FALSE(kvmx_io_reg_hit(&wild4, 0x102, 2, 123));

	kvmx_io_reg dm = reg(0x100, 2, true, 0xbeef);
	EXPECT_TRUE(kvmx_io_reg_hit(&dm, 0x100, 2, 0xbeef));
	EXPECT_FALSE(kvmx_io_reg_hit(&dm, 0x100, 2, 0xbeee));
	// Datamatch bits above the length never match.
	kvmx_io_reg wide = reg(0x100, 1, true, 0x1ff);
	EXPECT_FALSE(kvmx_io_reg_hit(&wide, 0x100, 1, 0xff));
}

TEST(IoeventfdCollide, Rules)
{
	auto c = [](const kvmx_io_reg &a, const kvmx_io_reg &b) {
		bool ab = kvmx_io_reg_collide(&a, &b), ba = kvmx_io_reg_collide(&b, &a);
		EXPECT_EQ(ab, ba);
		return ab;
	};
	EXPECT_FALSE(c(reg(0x100, 4, false), reg(0x104, 4, false)));
	EXPECT_TRUE(c(reg(0x100, 0, false), reg(0x100, 4, true, 1)));
	EXPECT_TRUE(c(reg(0x100, 4, false), reg(0x100, 4, true, 1)));
	EXPECT_TRUE(c(reg(0x100, 4, true, 1), reg(0x100, 4, true, 1, 2)));
	EXPECT_FALSE(c(reg(0x100, 4, true, 1), reg(0x100, 4, true, 2)));
	EXPECT_FALSE(c(reg(0x100, 4, false), reg(0x100, 2, false)));
	// Overlapping ranges at different addresses do not collide (KVM).
	EXPECT_FALSE(c(reg(0x100, 8, false), reg(0x104, 4, false)));
}

// Random registrations against a brute-force model: the bus stays sorted,
// find() returns the one registration a write hits, and no write ever
// hits two.
TEST(IoeventfdBus, RandomAgainstModel)
{
	std::mt19937_64 rng(9);
	const uint32_t lens[] = {0, 1, 2, 4, 8};
	for (int round = 0; round < 50; round++) {
		Bus bus(0);
		std::vector<kvmx_io_reg> model;
		for (int step = 0; step < 200; step++) {
			kvmx_io_reg r = reg(0x1000 + (rng() % 6) * 2, lens[rng() % 5], false, 0,
					    1 + rng() % 3);
			if (r.len && rng() % 2) {
				r.wildcard = false;
				r.datamatch = rng() % 4;
			}
			if (rng() % 3 == 0 && bus.get()->nr) {
				// Deassign something that exists, by its own key.
				kvmx_io_reg victim = model[rng() % model.size()];
				int idx = kvmx_iobus_find_exact(bus.get(), &victim);
				ASSERT_GE(idx, 0);
				Bus n(bus.get()->nr);
				kvmx_iobus_remove(n.get(), bus.get(), idx);
				bus = std::move(n);
				for (auto it = model.begin(); it != model.end(); ++it)
					if (it->addr == victim.addr && it->len == victim.len &&
					    it->eventfd == victim.eventfd &&
					    it->wildcard == victim.wildcard &&
					    it->datamatch == victim.datamatch) {
						model.erase(it);
						break;
					}
			} else {
				bool collides = false;
				for (const auto &m : model)
					collides |= kvmx_io_reg_collide(&m, &r);
				ASSERT_EQ(kvmx_iobus_collides(bus.get(), &r), collides);
				if (!collides) {
					bus = insert(bus, r);
					model.push_back(r);
				}
			}
			const kvmx_iobus *b = bus.get();
			ASSERT_EQ(b->nr, model.size());
			for (uint32_t i = 1; i < b->nr; i++)
				ASSERT_LE(b->regs[i - 1].addr, b->regs[i].addr);
			for (int w = 0; w < 20; w++) {
				uint64_t addr = 0x1000 + (rng() % 7) * 2;
				uint32_t len = lens[1 + rng() % 4];
				uint64_t val = rng() % 5;
				int hits = 0;
				const kvmx_io_reg *want = nullptr;
				for (const auto &m : model)
					if (kvmx_io_reg_hit(&m, addr, len, val)) {
						hits++;
						want = &m;
					}
				ASSERT_LE(hits, 1);
				int idx = kvmx_iobus_find(b, addr, len, val);
				if (!want) {
					ASSERT_EQ(idx, -1);
				} else {
					ASSERT_GE(idx, 0);
					EXPECT_EQ(b->regs[idx].eventfd, want->eventfd);
					EXPECT_EQ(b->regs[idx].len, want->len);
				}
			}
		}
	}
}

TEST(IoeventfdBus, EmptyBusIsNull)
{
	kvmx_io_reg r = reg(0x10, 1, false);
	EXPECT_EQ(kvmx_iobus_find(nullptr, 0x10, 1, 0), -1);
	EXPECT_FALSE(kvmx_iobus_collides(nullptr, &r));
	EXPECT_EQ(kvmx_iobus_find_exact(nullptr, &r), -1);
	Bus n(1);
	kvmx_iobus_insert(n.get(), nullptr, &r);
	EXPECT_EQ(n.get()->nr, 1u);
	EXPECT_EQ(kvmx_iobus_find(n.get(), 0x10, 1, 99), 0);
}

TEST(IoeventfdBus, FindExactNeedsSameEventfdAndKind)
{
	Bus b = insert(Bus(0), reg(0x10, 4, true, 5, 1));
	EXPECT_EQ(kvmx_iobus_find_exact(b.get(), &(const kvmx_io_reg &)reg(0x10, 4, true, 5, 1)), 0);
	kvmx_io_reg other_fd = reg(0x10, 4, true, 5, 2);
	kvmx_io_reg other_dm = reg(0x10, 4, true, 6, 1);
	kvmx_io_reg wild = reg(0x10, 4, false, 0, 1);
	kvmx_io_reg other_len = reg(0x10, 2, true, 5, 1);
	EXPECT_EQ(kvmx_iobus_find_exact(b.get(), &other_fd), -1);
	EXPECT_EQ(kvmx_iobus_find_exact(b.get(), &other_dm), -1);
	EXPECT_EQ(kvmx_iobus_find_exact(b.get(), &wild), -1);
	EXPECT_EQ(kvmx_iobus_find_exact(b.get(), &other_len), -1);
}
