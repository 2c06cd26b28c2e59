// SPDX-License-Identifier: GPL-2.0
// Memslot sets (kvmx/slots.c): KVM's validation rules, sorted
// copy-on-update and binary-search lookup.
#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <random>
#include <vector>

extern "C" {
#include "slots.h"
}

namespace {

constexpr uint64_t kPage = 4096;

// An owned kvmx_memslots with room for @cap slots.
struct SlotSet {
	explicit SlotSet(uint32_t cap)
		: mem(static_cast<kvmx_memslots *>(
			      std::calloc(1, sizeof(kvmx_memslots) + cap * sizeof(kvmx_memslot))),
		      &std::free)
	{
	}
	kvmx_memslots *get() const { return mem.get(); }
	std::unique_ptr<kvmx_memslots, decltype(&std::free)> mem;
};

kvmx_mr_request req(uint32_t slot, uint64_t gpa, uint64_t size, uint64_t hva = 0x7f0000000000,
		    uint32_t flags = 0)
{
	return {slot, flags, gpa, size, hva};
}

constexpr uint32_t kAllFlags = KVMX_MEM_READONLY | KVMX_MEM_LOG_DIRTY;

// Applies @r to @s; returns the error and replaces @s on success.
kvmx_mr_error apply(SlotSet &s, const kvmx_mr_request &r, kvmx_mr_change *out = nullptr,
		    uint32_t allowed = kAllFlags)
{
	kvmx_mr_change change;
	kvmx_memslot slot{};
	kvmx_mr_error err = kvmx_slots_check(s.get(), &r, allowed, &change, &slot);
	if (err != KVMX_MR_OK)
		return err;
	SlotSet next(s.get()->nr + 1);
	kvmx_slots_apply(s.get(), change, &slot, next.get());
	s = std::move(next);
	if (out)
		*out = change;
	return err;
}

TEST(Slots, CreateLookupDelete)
{
	SlotSet s(0);
	kvmx_mr_change change;
	ASSERT_EQ(apply(s, req(0, 0x100000, 16 * kPage), &change), KVMX_MR_OK);
	EXPECT_EQ(change, KVMX_MR_CREATE);
	const kvmx_memslot *slot = kvmx_slots_find_gfn(s.get(), 0x100);
	ASSERT_NE(slot, nullptr);
	EXPECT_EQ(slot->id, 0);
	EXPECT_EQ(kvmx_slot_hva(slot, 0x105), 0x7f0000000000ULL + 5 * kPage);
	EXPECT_EQ(kvmx_slots_find_gfn(s.get(), 0x110), nullptr);
	EXPECT_EQ(kvmx_slots_find_gfn(s.get(), 0xff), nullptr);

	ASSERT_EQ(apply(s, req(0, 0, 0), &change), KVMX_MR_OK);
	EXPECT_EQ(change, KVMX_MR_DELETE);
	EXPECT_EQ(s.get()->nr, 0u);
	EXPECT_EQ(kvmx_slots_find_gfn(s.get(), 0x100), nullptr);
}

TEST(Slots, ValidationAsKvm)
{
	SlotSet s(0);
	EXPECT_EQ(apply(s, req(0, 0, kPage, 0x1000, 1u << 2)), KVMX_MR_BAD_FLAGS);
	EXPECT_EQ(apply(s, req(0, 0, kPage, 0x1000, KVMX_MEM_LOG_DIRTY), nullptr, KVMX_MEM_READONLY),
		  KVMX_MR_BAD_FLAGS);
	EXPECT_EQ(apply(s, req(KVMX_USER_MEM_SLOTS, 0, kPage)), KVMX_MR_BAD_SLOT);
	EXPECT_EQ(apply(s, req(1u << 16, 0, kPage)), KVMX_MR_BAD_SLOT); // address space 1
	EXPECT_EQ(apply(s, req(0, 0, kPage + 1)), KVMX_MR_UNALIGNED);
	EXPECT_EQ(apply(s, req(0, 0x800, kPage)), KVMX_MR_UNALIGNED);
	EXPECT_EQ(apply(s, req(0, 0, kPage, 0x1234)), KVMX_MR_UNALIGNED);
	EXPECT_EQ(apply(s, req(0, ~0ULL & ~(kPage - 1), 2 * kPage)), KVMX_MR_TOO_BIG);
	EXPECT_EQ(apply(s, req(0, 0, (KVMX_MEM_MAX_NR_PAGES + 1) * kPage)), KVMX_MR_TOO_BIG);
	EXPECT_EQ(apply(s, req(3, 0, 0)), KVMX_MR_NO_SUCH_SLOT);
	EXPECT_EQ(apply(s, req(KVMX_USER_MEM_SLOTS - 1, 0, kPage)), KVMX_MR_OK);
}

TEST(Slots, OverlapIsEexistIncludingMoves)
{
	SlotSet s(0);
	ASSERT_EQ(apply(s, req(0, 0, 4 * kPage, 0x10000)), KVMX_MR_OK);
	ASSERT_EQ(apply(s, req(1, 8 * kPage, 4 * kPage, 0x20000)), KVMX_MR_OK);
	EXPECT_EQ(apply(s, req(2, 3 * kPage, 2 * kPage, 0x30000)), KVMX_MR_OVERLAP);
	EXPECT_EQ(apply(s, req(2, 11 * kPage, kPage, 0x30000)), KVMX_MR_OVERLAP);
	EXPECT_EQ(apply(s, req(2, 4 * kPage, 4 * kPage, 0x30000)), KVMX_MR_OK); // touching is fine
	// Moving slot 1 onto slot 0 overlaps; onto itself shifted does not count itself.
	EXPECT_EQ(apply(s, req(1, 2 * kPage, 4 * kPage, 0x20000)), KVMX_MR_OVERLAP);
	kvmx_mr_change change;
	EXPECT_EQ(apply(s, req(1, 10 * kPage, 4 * kPage, 0x20000), &change), KVMX_MR_OK);
	EXPECT_EQ(change, KVMX_MR_MOVE);
	EXPECT_NE(kvmx_slots_find_gfn(s.get(), 13), nullptr);
	EXPECT_EQ(kvmx_slots_find_gfn(s.get(), 9), nullptr);
}

TEST(Slots, ExistingSlotsCannotBeReshaped)
{
	SlotSet s(0);
	ASSERT_EQ(apply(s, req(0, 0, 4 * kPage, 0x10000)), KVMX_MR_OK);
	EXPECT_EQ(apply(s, req(0, 0, 8 * kPage, 0x10000)), KVMX_MR_RESHAPE);
	EXPECT_EQ(apply(s, req(0, 0, 4 * kPage, 0x20000)), KVMX_MR_RESHAPE);
	EXPECT_EQ(apply(s, req(0, 0, 4 * kPage, 0x10000, KVMX_MEM_READONLY)), KVMX_MR_RESHAPE);
	kvmx_mr_change change;
	EXPECT_EQ(apply(s, req(0, 0, 4 * kPage, 0x10000), &change), KVMX_MR_OK);
	EXPECT_EQ(change, KVMX_MR_NONE);
}

TEST(Slots, DirtyLoggingIsAFlagChange)
{
	SlotSet s(0);
	kvmx_mr_change change;
	// Creating with the flag is allowed once allowed_flags has it.
	ASSERT_EQ(apply(s, req(0, 0, 4 * kPage, 0x10000, KVMX_MEM_LOG_DIRTY), &change),
		  KVMX_MR_OK);
	EXPECT_EQ(change, KVMX_MR_CREATE);
	EXPECT_EQ(kvmx_slots_find_id(s.get(), 0)->flags, KVMX_MEM_LOG_DIRTY);
	ASSERT_EQ(apply(s, req(0, 0, 4 * kPage, 0x10000), &change), KVMX_MR_OK);
	EXPECT_EQ(change, KVMX_MR_FLAGS);
	ASSERT_EQ(apply(s, req(0, 0, 4 * kPage, 0x10000, KVMX_MEM_LOG_DIRTY), &change), KVMX_MR_OK);
	EXPECT_EQ(change, KVMX_MR_FLAGS);
	// Together with the read-only flag it is still a reshape to flip RO.
	EXPECT_EQ(apply(s, req(0, 0, 4 * kPage, 0x10000, KVMX_MEM_LOG_DIRTY | KVMX_MEM_READONLY)),
		  KVMX_MR_RESHAPE);
	// A logging slot can move and keep logging.
	ASSERT_EQ(apply(s, req(0, 8 * kPage, 4 * kPage, 0x10000, KVMX_MEM_LOG_DIRTY), &change),
		  KVMX_MR_OK);
	EXPECT_EQ(change, KVMX_MR_MOVE);
}

// The bitmap belongs to the slot id: kvmx_slots_check() carries it over while
// logging stays on and leaves NULL where memslot.c must allocate one.
TEST(Slots, DirtyBitmapCarriedOverOnlyWhileLogging)
{
	unsigned long bits[2] = {};
	SlotSet s(1);
	s.get()->nr = 1;
	s.get()->slots[0] = {0, 4, 0x10000, bits, KVMX_MEM_LOG_DIRTY, 0};
	auto check = [&](const kvmx_mr_request &r, kvmx_mr_change *change) {
		kvmx_memslot slot{};
		slot.dirty_bitmap = reinterpret_cast<unsigned long *>(1); // must be written
		EXPECT_EQ(kvmx_slots_check(s.get(), &r, kAllFlags, change, &slot), KVMX_MR_OK);
		return slot.dirty_bitmap;
	};
	kvmx_mr_change change;
	EXPECT_EQ(check(req(0, 0, 4 * kPage, 0x10000, KVMX_MEM_LOG_DIRTY), &change), bits);
	EXPECT_EQ(change, KVMX_MR_NONE);
	EXPECT_EQ(check(req(0, 16 * kPage, 4 * kPage, 0x10000, KVMX_MEM_LOG_DIRTY), &change), bits);
	EXPECT_EQ(change, KVMX_MR_MOVE);
	EXPECT_EQ(check(req(0, 0, 4 * kPage, 0x10000), &change), nullptr);
	EXPECT_EQ(change, KVMX_MR_FLAGS);
	EXPECT_EQ(check(req(0, 0, 0), &change), bits); // a delete returns the slot as it was
	EXPECT_EQ(change, KVMX_MR_DELETE);
	EXPECT_EQ(check(req(1, 8 * kPage, kPage, 0x20000, KVMX_MEM_LOG_DIRTY), &change), nullptr);
	EXPECT_EQ(change, KVMX_MR_CREATE);
	// Copies of the set share the pointer.
	SlotSet next(2);
	kvmx_memslot created{};
	const kvmx_mr_request r1 = req(1, 8 * kPage, kPage, 0x20000);
	ASSERT_EQ(kvmx_slots_check(s.get(), &r1,
				   kAllFlags, &change, &created),
		  KVMX_MR_OK);
	kvmx_slots_apply(s.get(), change, &created, next.get());
	EXPECT_EQ(kvmx_slots_find_id(next.get(), 0)->dirty_bitmap, bits);
	EXPECT_EQ(kvmx_slots_find_id(next.get(), 1)->dirty_bitmap, nullptr);
}

TEST(Slots, DirtyBitmapBytesAsKvm)
{
	EXPECT_EQ(kvmx_dirty_bitmap_bytes(1), 8u);
	EXPECT_EQ(kvmx_dirty_bitmap_bytes(64), 8u);
	EXPECT_EQ(kvmx_dirty_bitmap_bytes(65), 16u);
	EXPECT_EQ(kvmx_dirty_bitmap_bytes(KVMX_MEM_MAX_NR_PAGES), (1ULL << 28));
}

// Random creates, moves and deletes against a simple model: the set stays
// sorted and every gfn lookup agrees with a linear scan.
TEST(Slots, RandomUpdatesKeepTheSetSortedAndLookupsRight)
{
	std::mt19937_64 rng(42);
	SlotSet s(0);
	for (int round = 0; round < 3000; round++) {
		uint32_t id = rng() % 32;
		uint64_t base = (rng() % 256) * kPage;
		uint64_t pages = 1 + rng() % 8;
		bool del = rng() % 4 == 0;
		const kvmx_memslot *old = kvmx_slots_find_id(s.get(), id);
		kvmx_mr_request r = req(id, old && !del ? base : base, del ? 0 : pages * kPage,
					0x100000000ULL + id * 0x100000);
		if (old && !del)
			r.memory_size = old->npages * kPage; // a move keeps the size
		apply(s, r);

		const kvmx_memslots *set = s.get();
		for (uint32_t i = 1; i < set->nr; i++) {
			ASSERT_LT(set->slots[i - 1].base_gfn, set->slots[i].base_gfn);
			ASSERT_LE(set->slots[i - 1].base_gfn + set->slots[i - 1].npages,
				  set->slots[i].base_gfn);
		}
		for (uint64_t gfn = 0; gfn < 270; gfn += 7) {
			const kvmx_memslot *want = nullptr;
			for (uint32_t i = 0; i < set->nr; i++)
				if (gfn >= set->slots[i].base_gfn &&
				    gfn < set->slots[i].base_gfn + set->slots[i].npages)
					want = &set->slots[i];
			ASSERT_EQ(kvmx_slots_find_gfn(set, gfn), want) << "gfn " << gfn;
		}
	}
}

} // namespace
