// SPDX-License-Identifier: GPL-2.0
// The decoded-instruction cache and the MMIO fast path: an MMIO
// instruction seen before is neither fetched nor decoded again, but only
// while its code, its page-table entries and the memslots are unchanged.
// Every case that changes one of them (the guest rewriting its code, the
// VMM writing guest memory, the guest switching its page tables) must give
// what KVM gives; the kvmx statistics then say whether the cache was used.
// Also: MMIO met while the CPU delivers an event is an internal error.
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <string>

#include "lib/kvm_abi.h"
#include "lib/stats.h"
#include "lib/sys.h"
#include "lib/test.h"
#include "lib/tiny_guest.h"

using kvmx::Fd;
using kvmx::Mapping;
using kvmx::StatsReader;
using kvmx::test::GuestMode;
using kvmx::test::open_device;
using kvmx::test::TinyGuest;

namespace {

constexpr uint64_t kMmio = 0x2000;

bool testing_kvmx() { return kvmx::test::options().testing_kvmx(); }

std::map<std::string, uint64_t> vcpu_stats(const TinyGuest &g)
{
	return StatsReader::of(g.vcpu).values();
}

void set_rbx(TinyGuest &g, uint64_t rbx)
{
	kvm_regs r = g.regs();
	r.rbx = rbx;
	g.set_regs(r);
}

// N stores of AL to [kMmio] from one instruction, then HLT.  Real mode:
// mov cx,N; mov bx,0x2000; L: mov [bx],al; loop L.  32/64-bit: the same
// with ECX and EBX.
std::vector<uint8_t> store_loop(GuestMode mode, uint16_t n)
{
	if (mode == GuestMode::kReal)
		return {0xb9, uint8_t(n), uint8_t(n >> 8), 0xbb, 0x00, 0x20,
			0x88, 0x07, 0xe2, 0xfc, 0xf4};
	return {0xb9, uint8_t(n), uint8_t(n >> 8), 0, 0, 0xbb, 0x00, 0x20, 0x00, 0x00,
		0x88, 0x03, 0xe2, 0xfc, 0xf4};
}

// N loads from [kMmio] into AL, summed into DL; then HLT.
std::vector<uint8_t> load_loop(GuestMode mode, uint16_t n)
{
	if (mode == GuestMode::kReal)
		return {0xb9, uint8_t(n), uint8_t(n >> 8), 0xbb, 0x00, 0x20,
			0x8a, 0x07, 0x00, 0xc2, 0xe2, 0xfa, 0xf4};
	return {0xb9, uint8_t(n), uint8_t(n >> 8), 0, 0, 0xbb, 0x00, 0x20, 0x00, 0x00,
		0x8a, 0x03, 0x00, 0xc2, 0xe2, 0xfa, 0xf4};
}

// A value tagged with the guest mode, so a failure says which mode it was.
std::string in_mode(GuestMode m, uint64_t v)
{
	const char *name = m == GuestMode::kReal	  ? "real"
			   : m == GuestMode::kProtected32 ? "32-bit"
							  : "64-bit";
	return std::string(name) + ": " + std::to_string(v);
}


} // namespace

// One MMIO instruction executed N times: decoded once, N-1 cache hits, in
// every mode (in the paging mode the hits also check the page tables).
KVMX_TEST(stores_hit_after_the_first)
{
	Fd dev = open_device();
	constexpr uint16_t kN = 40;
	for (GuestMode m : {GuestMode::kReal, GuestMode::kProtected32, GuestMode::kLong64}) {
		TinyGuest g(dev, store_loop(m, kN), m);
		kvm_regs r = g.regs();
		r.rax = 0x3c;
		g.set_regs(r);
		unsigned exits = 0;
		while (g.run_once() == KVM_EXIT_MMIO) {
			EXPECT_EQ(g.run()->mmio.is_write, 1);
			EXPECT_EQ(g.run()->mmio.phys_addr, kMmio);
			EXPECT_EQ(g.run()->mmio.len, 1u);
			EXPECT_EQ(unsigned(g.run()->mmio.data[0]), 0x3cu);
			exits++;
		}
		EXPECT_EQ(in_mode(m, g.run()->exit_reason), in_mode(m, KVM_EXIT_HLT));
		EXPECT_EQ(in_mode(m, exits), in_mode(m, kN));
		if (testing_kvmx()) {
			auto v = vcpu_stats(g);
			EXPECT_EQ(in_mode(m, v["insn_emulation"]), in_mode(m, kN));
			EXPECT_EQ(in_mode(m, v["insn_cache_hit"]), in_mode(m, kN - 1u));
		}
	}
}

// Loads from the cache complete with user space's data at the next KVM_RUN.
KVMX_TEST(loads_hit_after_the_first)
{
	Fd dev = open_device();
	constexpr uint16_t kN = 30;
	for (GuestMode m : {GuestMode::kReal, GuestMode::kProtected32, GuestMode::kLong64}) {
		TinyGuest g(dev, load_loop(m, kN), m);
		unsigned sum = 0, exits = 0;
		while (g.run_once() == KVM_EXIT_MMIO) {
			EXPECT_EQ(g.run()->mmio.is_write, 0);
			EXPECT_EQ(g.run()->mmio.len, 1u);
			uint8_t answer = static_cast<uint8_t>(7 * exits + 1);
			g.run()->mmio.data[0] = answer;
			sum += answer;
			exits++;
		}
		EXPECT_EQ(in_mode(m, g.run()->exit_reason), in_mode(m, KVM_EXIT_HLT));
		EXPECT_EQ(in_mode(m, exits), in_mode(m, kN));
		EXPECT_EQ(in_mode(m, g.regs().rdx & 0xff), in_mode(m, sum & 0xff));
		if (testing_kvmx())
			EXPECT_EQ(in_mode(m, vcpu_stats(g)["insn_cache_hit"]), in_mode(m, kN - 1u));
	}
}

// The guest rewrites the immediate of its own MMIO store between
// executions: every store must carry the new immediate.
KVMX_TEST(guest_rewrites_its_code)
{
	Fd dev = open_device();
	// mov ecx,5; mov ebx,0x2000; mov esi,0x1011
	// L (0x100f): mov byte [ebx],0x40 (imm at 0x1011); inc byte [esi]; loop L; hlt
	const std::vector<uint8_t> code = {0xb9, 0x05, 0x00, 0x00, 0x00, 0xbb, 0x00, 0x20,
					   0x00, 0x00, 0xbe, 0x11, 0x10, 0x00, 0x00, 0xc6,
					   0x03, 0x40, 0xfe, 0x06, 0xe2, 0xf9, 0xf4};
	for (GuestMode m : {GuestMode::kProtected32, GuestMode::kLong64}) {
		TinyGuest g(dev, code, m);
		uint8_t want = 0x40;
		while (g.run_once() == KVM_EXIT_MMIO)
			EXPECT_EQ(in_mode(m, g.run()->mmio.data[0]), in_mode(m, want++));
		EXPECT_EQ(in_mode(m, g.run()->exit_reason), in_mode(m, KVM_EXIT_HLT));
		EXPECT_EQ(in_mode(m, want), in_mode(m, 0x45));
		if (testing_kvmx())
			EXPECT_EQ(in_mode(m, vcpu_stats(g)["insn_cache_hit"]), in_mode(m, 0));
	}
}

// The VMM writes the guest's code between two runs (as a VMM loading new
// code would): the next execution must use the new bytes.
KVMX_TEST(vmm_rewrites_guest_code)
{
	Fd dev = open_device();
	// L: mov byte [0x2000],0x10; jmp L
	TinyGuest g(dev, {0xc6, 0x06, 0x00, 0x20, 0x10, 0xeb, 0xf9});
	uint8_t *imm = g.ram.as<uint8_t>() + 4;
	for (uint8_t v = 0x10; v < 0x18; v++) {
		ASSERT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_MMIO));
		EXPECT_EQ(unsigned(g.run()->mmio.data[0]), unsigned(v));
		*imm = static_cast<uint8_t>(v + 1);
	}
	// Unchanged code from here on: the cache serves it (after the
	// execution that met the last change).
	for (int i = 0; i < 3; i++) {
		ASSERT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_MMIO));
		EXPECT_EQ(unsigned(g.run()->mmio.data[0]), 0x18u);
	}
	if (testing_kvmx())
		EXPECT_EQ(vcpu_stats(g)["insn_cache_hit"], 2u);
}

// The guest's page tables change where its code's linear address leads: a
// second code page, at another guest-physical address, holds the same code
// with another immediate.  The VMM flips the 2 MiB mapping of linear 0 under
// the guest, which reloads CR3 (a TLB flush) before each store.
KVMX_TEST(page_table_switch)
{
	Fd dev = open_device();
	// L: mov rax,cr3; mov cr3,rax; mov byte [rbx],imm; jmp L
	auto code = [](uint8_t imm) {
		return std::vector<uint8_t>{0x0f, 0x20, 0xd8, 0x0f, 0x22, 0xd8,
					    0xc6, 0x03, imm,  0xeb, 0xf5};
	};
	TinyGuest g(dev, code(0xaa), GuestMode::kLong64);
	set_rbx(g, kMmio);
	Mapping other = Mapping::anonymous(0x1000);
	std::vector<uint8_t> other_code = code(0xbb);
	std::memcpy(other.get(), other_code.data(), other_code.size());
	constexpr uint64_t kOtherGpa = 0x200000 + TinyGuest::kCodeGpa;
	g.add_slot(1, kOtherGpa, other);
	// PD[0] maps linear 0-2 MiB; point it at guest-physical 0 or 2 MiB.
	uint64_t *pde0 = reinterpret_cast<uint64_t *>(g.tables.as<uint8_t>() + TinyGuest::kPml4 +
						      0x2000 - TinyGuest::kTablesGpa);
	for (int i = 0; i < 8; i++) {
		bool flipped = i & 1;
		*pde0 = (flipped ? 0x200000 : 0) | 0x83;
		ASSERT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_MMIO));
		EXPECT_EQ(unsigned(g.run()->mmio.data[0]), flipped ? 0xbbu : 0xaau);
		EXPECT_EQ(g.run()->mmio.phys_addr, (flipped ? 0x200000 : 0) + kMmio);
	}
	if (testing_kvmx())
		EXPECT_EQ(vcpu_stats(g)["insn_cache_hit"], 0u);
	// The same mapping again and again: hits.
	for (int i = 0; i < 4; i++) {
		ASSERT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_MMIO));
		EXPECT_EQ(unsigned(g.run()->mmio.data[0]), 0xbbu);
	}
	if (testing_kvmx())
		EXPECT_EQ(vcpu_stats(g)["insn_cache_hit"], 4u);
}

// A memslot change between two executions: the cached instruction's user
// addresses belong to the old generation and are not used again.
KVMX_TEST(memslot_change_misses)
{
	Fd dev = open_device();
	// L: mov byte [0x2000],0x21; jmp L
	TinyGuest g(dev, {0xc6, 0x06, 0x00, 0x20, 0x21, 0xeb, 0xf9});
	ASSERT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_MMIO));
	ASSERT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_MMIO));
	// The same code at the same guest-physical address, in new memory
	// (a slot's memory cannot change in place: delete, then create).
	Mapping moved = Mapping::anonymous(0x1000);
	std::memcpy(moved.get(), g.ram.get(), 0x1000);
	moved.as<uint8_t>()[4] = 0x22;
	g.add_slot(0, TinyGuest::kCodeGpa, Mapping()); // size 0: delete
	g.add_slot(0, TinyGuest::kCodeGpa, moved);
	ASSERT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_MMIO));
	EXPECT_EQ(unsigned(g.run()->mmio.data[0]), 0x22u);
	if (testing_kvmx())
		EXPECT_EQ(vcpu_stats(g)["insn_cache_hit"], 1u);
}

// An access to MMIO while the CPU delivers an event (here: the IDT lies in
// MMIO) is not the instruction's access.  kvmx does not emulate event
// delivery and stops with KVM's "delivery" internal error; KVM emulates the
// INT instruction instead, so this case is kvmx's own.
KVMX_TEST(mmio_during_event_delivery)
{
	if (!testing_kvmx())
		SKIP("KVM emulates INT n through its MMIO IDT; kvmx stops");
	Fd dev = open_device();
	TinyGuest g(dev, {0xcd, 0x80, 0xf4}, GuestMode::kLong64); // int 0x80; hlt
	kvm_sregs s{};
	kvmx::ioctl_or_throw(g.vcpu, KVM_GET_SREGS, "KVM_GET_SREGS", &s);
	s.idt.base = 0x3000;
	s.idt.limit = 0xfff;
	kvmx::ioctl_or_throw(g.vcpu, KVM_SET_SREGS, "KVM_SET_SREGS", &s);
	ASSERT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_INTERNAL_ERROR));
	EXPECT_EQ(g.run()->internal.suberror, static_cast<uint32_t>(KVM_INTERNAL_ERROR_DELIVERY_EV));
	EXPECT_EQ(g.run()->internal.data[3], 0x3000u + 0x80 * 16);
	// Nothing was emulated: RIP is still on the INT.
	EXPECT_EQ(g.regs().rip, TinyGuest::kCodeGpa);
}
