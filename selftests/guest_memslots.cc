// SPDX-License-Identifier: GPL-2.0
// Memslots changed between runs, as the guest sees them: created, moved
// and deleted (a GPA without a slot is MMIO), read-only slots (a guest
// write is KVM_EXIT_MMIO and does not reach memory), dirty logging (also of
// the writes the hypervisor makes itself).
#include <cstring>
#include <string>

#include "lib/sys.h"
#include "lib/test.h"
#include "lib/vm.h"

using namespace kvmx;

namespace {

constexpr uint64_t kGpaA = 1 * GiB;
constexpr uint64_t kGpaB = 2 * GiB + 64 * KiB;
constexpr uint64_t kSlotSize = 64 * KiB;

// The guest reads the u64 at *read_addr, or writes write_value there when
// write_value is not 0, and syncs what it read.
volatile uint64_t read_addr;
volatile uint64_t write_value;

void guest_reader()
{
	for (;;) {
		auto *p = reinterpret_cast<volatile uint64_t *>(read_addr);
		if (write_value)
			*p = write_value;
		GUEST_SYNC(*p);
	}
}

// The next exit must be an MMIO read of 8 bytes at @gpa; answers @value.
void answer_mmio_read(Vcpu &vcpu, uint64_t gpa, uint64_t value)
{
	ASSERT_EQ(exit_reason_name(vcpu.run()), exit_reason_name(KVM_EXIT_MMIO));
	struct kvm_run &r = vcpu.run_area();
	EXPECT_EQ(r.mmio.phys_addr, gpa);
	EXPECT_EQ(r.mmio.len, 8u);
	EXPECT_EQ(r.mmio.is_write, 0);
	std::memcpy(r.mmio.data, &value, 8);
}

} // namespace

KVMX_TEST(create_move_delete)
{
	KmsgWatch kmsg;
	Vm vm;
	Vcpu &vcpu = vm.add_vcpu(guest_reader);
	auto set_addr = [&](uint64_t gpa) { *vm.guest(&read_addr) = gpa; };

	// Created: the guest reads what the host put there.
	Memslot &slot = vm.add_memslot(1, kGpaA, kSlotSize);
	reinterpret_cast<uint64_t *>(slot.host())[1] = 0x1111;
	set_addr(kGpaA + 8);
	vcpu.expect_sync(0x1111);

	// Moved: the same memory at B, nothing at A any more.
	slot.move(kGpaB);
	set_addr(kGpaB + 8);
	vcpu.expect_sync(0x1111);
	set_addr(kGpaA + 8);
	answer_mmio_read(vcpu, kGpaA + 8, 0x2222);
	vcpu.expect_sync(0x2222);

	// A guest write lands in the slot's memory at its new place.
	set_addr(kGpaB + 16);
	*vm.guest(&write_value) = 0x3333;
	vcpu.expect_sync(0x3333);
	EXPECT_EQ(reinterpret_cast<uint64_t *>(slot.host())[2], 0x3333u);
	*vm.guest(&write_value) = 0;

	// Deleted: B is MMIO now.
	vm.remove_memslot(1);
	set_addr(kGpaB + 8);
	answer_mmio_read(vcpu, kGpaB + 8, 0x4444);
	vcpu.expect_sync(0x4444);

	// A new slot, other memory, at the old place A.
	Memslot &again = vm.add_memslot(2, kGpaA, kSlotSize);
	reinterpret_cast<uint64_t *>(again.host())[1] = 0x5555;
	set_addr(kGpaA + 8);
	vcpu.expect_sync(0x5555);
	EXPECT_EQ(kmsg.first_splat(), std::string());
}

namespace {

constexpr uint64_t kRoGpa = 3 * GiB;

void guest_readonly()
{
	auto *p = reinterpret_cast<volatile uint64_t *>(kRoGpa);
	GUEST_SYNC(p[0]);
	*reinterpret_cast<volatile uint32_t *>(kRoGpa + 0x10) = 0xcafef00d;
	p[3] = 0x0123456789abcdefULL;
	*reinterpret_cast<volatile uint8_t *>(kRoGpa + 0x21) = 0x5a;
	// The writes did not reach memory.
	GUEST_SYNC(*reinterpret_cast<volatile uint32_t *>(kRoGpa + 0x10));
	GUEST_SYNC(p[3]);
	GUEST_DONE();
}

void expect_mmio_write(Vcpu &vcpu, uint64_t gpa, uint32_t len, uint64_t data)
{
	ASSERT_EQ(exit_reason_name(vcpu.run()), exit_reason_name(KVM_EXIT_MMIO));
	const struct kvm_run &r = vcpu.run_area();
	EXPECT_EQ(r.mmio.phys_addr, gpa);
	EXPECT_EQ(r.mmio.len, len);
	EXPECT_EQ(r.mmio.is_write, 1);
	uint64_t got = 0;
	std::memcpy(&got, r.mmio.data, len);
	EXPECT_EQ(got, data);
}

} // namespace

KVMX_TEST(readonly_slot)
{
	KmsgWatch kmsg;
	Vm vm;
	if (vm.system().check_extension(KVM_CAP_READONLY_MEM) <= 0)
		SKIP("no KVM_CAP_READONLY_MEM");
	Memslot &ro = vm.add_memslot(1, kRoGpa, kSlotSize, KVM_MEM_READONLY);
	auto *mem = reinterpret_cast<uint64_t *>(ro.host());
	mem[0] = 0xfeedface;
	mem[2] = 0x1111111122222222ULL;
	mem[3] = 0x3333333344444444ULL;
	Vcpu &vcpu = vm.add_vcpu(guest_readonly);

	vcpu.expect_sync(0xfeedface);
	expect_mmio_write(vcpu, kRoGpa + 0x10, 4, 0xcafef00d);
	expect_mmio_write(vcpu, kRoGpa + 0x18, 8, 0x0123456789abcdefULL);
	expect_mmio_write(vcpu, kRoGpa + 0x21, 1, 0x5a);
	vcpu.expect_sync(0x22222222);
	vcpu.expect_sync(0x3333333344444444ULL);
	vcpu.expect_done();
	EXPECT_EQ(mem[2], 0x1111111122222222ULL);
	EXPECT_EQ(kmsg.first_splat(), std::string());
}

namespace {

constexpr uint64_t kDirtyGpa = 1 * GiB;

void guest_dirty(uint64_t pages_mask)
{
	for (;;) {
		for (int i = 0; i < 8; i++)
			if (pages_mask & (1u << i))
				*reinterpret_cast<volatile uint64_t *>(kDirtyGpa + i * 4096) = i + 1;
		GUEST_SYNC(0);
	}
}

} // namespace

// KVM_MEM_LOG_DIRTY_PAGES toggled on a live slot; KVM_GET_DIRTY_LOG shows
// the pages the guest wrote, and clears them.
KVMX_TEST(dirty_log)
{
	Vm vm;
	Memslot &slot = vm.add_memslot(1, kDirtyGpa, 8 * 4096);
	Vcpu &vcpu = vm.add_vcpu(guest_dirty);
	vcpu.set_args({0x25}); // pages 0, 2, 5
	vcpu.expect_sync(0);
	slot.set_flags(KVM_MEM_LOG_DIRTY_PAGES);
	const uint64_t before = slot.dirty_log()[0];
	EXPECT_EQ(before, 0u);
	vcpu.expect_sync(0);
	const uint64_t written = slot.dirty_log()[0];
	EXPECT_EQ(written, 0x25u);
	const uint64_t cleared = slot.dirty_log()[0];
	EXPECT_EQ(cleared, 0u);
	EXPECT_EQ(reinterpret_cast<uint64_t *>(slot.host() + 5 * 4096)[0], 6u);
	slot.set_flags(0);
	vcpu.expect_sync(0);
	EXPECT_EQ(slot.flags(), 0u);
}

namespace {

constexpr uint16_t kDirtyPort = 0x5a0;
constexpr uint64_t kDirtyMmio = kDirtyGpa + 1 * MiB; // no slot: MMIO

// RAM written by the hypervisor, not by the guest: string INS into page 3,
// then MOVSQ from MMIO into page 6 (an MMIO instruction whose other operand
// is RAM).
void guest_hypervisor_writes()
{
	auto *dst = reinterpret_cast<uint8_t *>(kDirtyGpa + 3 * 4096 + 16);
	uint64_t n = 8;
	asm volatile("rep insb" : "+D"(dst), "+c"(n) : "d"(kDirtyPort) : "memory");
	GUEST_SYNC(1);
	const void *src = reinterpret_cast<const void *>(kDirtyMmio);
	void *to = reinterpret_cast<void *>(kDirtyGpa + 6 * 4096 + 8);
	asm volatile("movsq" : "+S"(src), "+D"(to) : : "memory");
	GUEST_SYNC(2);
	GUEST_DONE();
}

} // namespace

// Pages written by the hypervisor on the guest's behalf (KVM's
// mark_page_dirty()) show up in KVM_GET_DIRTY_LOG like guest writes.
KVMX_TEST(dirty_log_hypervisor_writes)
{
	Vm vm;
	Memslot &slot = vm.add_memslot(1, kDirtyGpa, 8 * 4096, KVM_MEM_LOG_DIRTY_PAGES);
	Vcpu &vcpu = vm.add_vcpu(guest_hypervisor_writes);
	// (The macros evaluate their arguments more than once: copy the word.)
	const uint64_t before = slot.dirty_log()[0];
	EXPECT_EQ(before, 0u);

	unsigned given = 0;
	while (given < 8) {
		ASSERT_EQ(exit_reason_name(vcpu.run()), exit_reason_name(KVM_EXIT_IO));
		const struct kvm_run &r = vcpu.run_area();
		ASSERT_EQ(r.io.direction, KVM_EXIT_IO_IN);
		ASSERT_EQ(r.io.port, kDirtyPort);
		ASSERT_TRUE(r.io.count >= 1 && given + r.io.count <= 8);
		for (unsigned i = 0; i < r.io.count; i++)
			vcpu.io_data()[i] = static_cast<uint8_t>(0xa0 + given + i);
		given += r.io.count;
	}
	vcpu.expect_sync(1);
	EXPECT_EQ(slot.host()[3 * 4096 + 16], 0xa0);
	EXPECT_EQ(slot.host()[3 * 4096 + 23], 0xa7);
	const uint64_t ins = slot.dirty_log()[0];
	EXPECT_EQ(ins, 1u << 3);

	answer_mmio_read(vcpu, kDirtyMmio, 0x1122334455667788ULL);
	vcpu.expect_sync(2);
	EXPECT_EQ(reinterpret_cast<uint64_t *>(slot.host() + 6 * 4096)[1], 0x1122334455667788ULL);
	const uint64_t movs = slot.dirty_log()[0];
	EXPECT_EQ(movs, 1u << 6);
	const uint64_t cleared = slot.dirty_log()[0];
	EXPECT_EQ(cleared, 0u);
	vcpu.expect_done();
}
