// SPDX-License-Identifier: GPL-2.0
// Port I/O exits (KVM_EXIT_IO): OUT and IN of 1, 2 and 4 bytes with the
// data checked in both directions, and string I/O (rep outsb / rep insb).
#include <cstring>
#include <string>

#include "lib/sys.h"
#include "lib/test.h"
#include "lib/vm.h"

using namespace kvmx;

namespace {

constexpr uint16_t kPort = 0xe0;
constexpr char kOutString[] = "kvmx string PIO";
constexpr unsigned kInLen = 13;

void guest_pio()
{
	guest::outb(kPort, 0x12);
	guest::outw(kPort + 2, 0x3456);
	guest::outl(kPort + 4, 0x789abcde);
	GUEST_ASSERT_EQ(guest::inb(kPort), 0xa5);
	GUEST_ASSERT_EQ(guest::inw(kPort + 2), 0xbeef);
	GUEST_ASSERT_EQ(guest::inl(kPort + 4), 0xdeadf00d);
	GUEST_SYNC(1);

	const char *src = kOutString;
	uint64_t n = sizeof(kOutString) - 1;
	asm volatile("rep outsb" : "+S"(src), "+c"(n) : "d"(kPort + 8) : "memory");
	GUEST_ASSERT_EQ(n, 0);

	char buf[kInLen + 1];
	char *dst = buf;
	n = kInLen;
	buf[kInLen] = 'x';
	asm volatile("rep insb" : "+D"(dst), "+c"(n) : "d"(kPort + 9) : "memory");
	GUEST_ASSERT_EQ(n, 0);
	for (unsigned i = 0; i < kInLen; i++)
		GUEST_ASSERT_EQ(buf[i], 'a' + i);
	GUEST_ASSERT_EQ(buf[kInLen], 'x');
	GUEST_DONE();
}

// Runs to the next exit, which must be PIO with these properties.
void expect_io(Vcpu &vcpu, uint8_t direction, uint16_t port, uint8_t size)
{
	uint32_t reason = vcpu.run();
	ASSERT_EQ(exit_reason_name(reason), exit_reason_name(KVM_EXIT_IO));
	const struct kvm_run &r = vcpu.run_area();
	EXPECT_EQ(r.io.direction, direction);
	EXPECT_EQ(r.io.port, port);
	EXPECT_EQ(r.io.size, size);
	ASSERT_TRUE(r.io.count >= 1);
}

} // namespace

KVMX_TEST(pio_in_out)
{
	KmsgWatch kmsg;
	Vm vm;
	Vcpu &vcpu = vm.add_vcpu(guest_pio);
	const struct kvm_run &r = vcpu.run_area();
	uint32_t v = 0;

	expect_io(vcpu, KVM_EXIT_IO_OUT, kPort, 1);
	EXPECT_EQ(r.io.count, 1u);
	EXPECT_EQ(*vcpu.io_data(), 0x12);
	expect_io(vcpu, KVM_EXIT_IO_OUT, kPort + 2, 2);
	std::memcpy(&v, vcpu.io_data(), 2);
	EXPECT_EQ(v, 0x3456u);
	expect_io(vcpu, KVM_EXIT_IO_OUT, kPort + 4, 4);
	std::memcpy(&v, vcpu.io_data(), 4);
	EXPECT_EQ(v, 0x789abcdeu);

	expect_io(vcpu, KVM_EXIT_IO_IN, kPort, 1);
	*vcpu.io_data() = 0xa5;
	expect_io(vcpu, KVM_EXIT_IO_IN, kPort + 2, 2);
	v = 0xbeef;
	std::memcpy(vcpu.io_data(), &v, 2);
	expect_io(vcpu, KVM_EXIT_IO_IN, kPort + 4, 4);
	v = 0xdeadf00d;
	std::memcpy(vcpu.io_data(), &v, 4);
	vcpu.expect_sync(1);

	// rep outsb: KVM may split the string over several exits.
	std::string got;
	int exits = 0;
	while (got.size() < sizeof(kOutString) - 1) {
		expect_io(vcpu, KVM_EXIT_IO_OUT, kPort + 8, 1);
		got.append(reinterpret_cast<const char *>(vcpu.io_data()), r.io.count);
		exits++;
	}
	EXPECT_EQ(got, std::string(kOutString));
	test::diag("rep outsb of " + std::to_string(got.size()) + " bytes: " +
		   std::to_string(exits) + " exits");

	// rep insb: each exit asks for io.count bytes.
	unsigned given = 0;
	exits = 0;
	while (given < kInLen) {
		expect_io(vcpu, KVM_EXIT_IO_IN, kPort + 9, 1);
		ASSERT_TRUE(given + r.io.count <= kInLen);
		for (unsigned i = 0; i < r.io.count; i++)
			vcpu.io_data()[i] = static_cast<uint8_t>('a' + given + i);
		given += r.io.count;
		exits++;
	}
	test::diag("rep insb of " + std::to_string(kInLen) + " bytes: " + std::to_string(exits) +
		   " exits");
	vcpu.expect_done();
	EXPECT_EQ(kmsg.first_splat(), std::string());
}

namespace {

char ins_buf[64];

// rep insb of 16 bytes into ins_buf; reports RCX and how far RDI moved.
void guest_ins_rcx()
{
	char *dst = ins_buf;
	uint64_t n = 16;
	asm volatile("rep insb" : "+D"(dst), "+c"(n) : "d"(kPort + 9) : "memory");
	GUEST_SYNC(n);
	GUEST_SYNC(static_cast<uint64_t>(dst - ins_buf));
	GUEST_DONE();
}

} // namespace

// User space lowers RCX during a REP INSB exit (as Linux's
// userspace_io_test does): the next KVM_RUN stores only as many elements
// as RCX then allows, and the instruction ends.
KVMX_TEST(rep_insb_rcx_lowered)
{
	Vm vm;
	Vcpu &vcpu = vm.add_vcpu(guest_ins_rcx);
	expect_io(vcpu, KVM_EXIT_IO_IN, kPort + 9, 1);
	const struct kvm_run &r = vcpu.run_area();
	for (unsigned i = 0; i < r.io.count; i++)
		vcpu.io_data()[i] = static_cast<uint8_t>('A' + i);
	kvm_regs regs = vcpu.regs();
	EXPECT_EQ(regs.rcx, 16ULL); // RCX moves only when the exit completes
	regs.rcx = 1;
	vcpu.set_regs(regs);
	vcpu.expect_sync(0);
	vcpu.expect_sync(1);
	vcpu.expect_done();
	const char *buf = vm.guest(&ins_buf[0]);
	EXPECT_EQ(buf[0], 'A');
	EXPECT_EQ(buf[1], 0);
}
