// SPDX-License-Identifier: GPL-2.0
// The divergences diff_fuzz found, fixed in kvmx, as directed tests that do
// not depend on the fuzzer's generator (diff_fuzz.known keeps the fuzzer's
// programs too).  Both run on /dev/kvm and /dev/kvmx with the same result.
#include <cstring>

#include "lib/kvm_abi.h"
#include "lib/sys.h"
#include "lib/test.h"
#include "lib/tiny_guest.h"

using kvmx::Mapping;
using kvmx::test::open_device;
using kvmx::test::TinyGuest;

// INS whose destination is MMIO: the port data leaves as an MMIO write
// once the IN is answered, and the instruction completes.
KVMX_TEST(ins_to_mmio)
{
	const std::vector<uint8_t> code = {
		0xbf, 0x00, 0x30,	// mov di, 0x3000 (MMIO)
		0xba, 0x80, 0x00,	// mov dx, 0x80
		0x6c,			// insb
		0xf4,			// hlt
	};
	TinyGuest g(open_device(), code);
	kvm_run *run = g.run();

	ASSERT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_IO));
	EXPECT_EQ(run->io.direction, static_cast<uint8_t>(KVM_EXIT_IO_IN));
	EXPECT_EQ(run->io.port, 0x80);
	EXPECT_EQ(run->io.size, 1);
	EXPECT_EQ(run->io.count, 1u);
	reinterpret_cast<uint8_t *>(run)[run->io.data_offset] = 0x5a;

	ASSERT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_MMIO));
	EXPECT_EQ(run->mmio.phys_addr, 0x3000ULL);
	EXPECT_EQ(run->mmio.len, 1u);
	EXPECT_EQ(run->mmio.is_write, 1);
	EXPECT_EQ(run->mmio.data[0], 0x5a);

	ASSERT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_HLT));
	const kvm_regs r = g.regs();
	EXPECT_EQ(r.rdi & 0xffff, 0x3001ULL);
	EXPECT_EQ(r.rip, TinyGuest::kCodeGpa + code.size());
}

// Real mode: a #GP whose delivery is the first touch of the IVT's page (an
// EPT violation while the CPU delivers it) reaches its handler.  kvmx used
// to re-inject it with an error code, which VM entry refuses in real mode.
KVMX_TEST(real_mode_exception_through_fresh_ivt)
{
	std::vector<uint8_t> code(0x800, 0x90);
	const uint8_t insn[] = {0x67, 0xa1, 0x00, 0xe0, 0xff, 0xff}; // mov ax, [0xffffe000]
	std::memcpy(code.data(), insn, sizeof(insn));
	code[sizeof(insn)] = 0xf4;
	code.push_back(0xf4); // 0x1800: the #GP handler, hlt
	TinyGuest g(open_device(), code);
	Mapping ivt = Mapping::anonymous(0x1000);
	ivt.as<uint32_t>()[13] = 0x1800; // 0000:1800
	g.add_slot(1, 0, ivt);
	kvm_sregs s{};
	kvmx::ioctl_or_throw(g.vcpu, KVM_GET_SREGS, "KVM_GET_SREGS", &s);
	s.ds.base = 0;
	s.ds.selector = 0;
	s.ds.limit = 0xffff; // so that 0xffffe000 is past it
	kvmx::ioctl_or_throw(g.vcpu, KVM_SET_SREGS, "KVM_SET_SREGS", &s);

	ASSERT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_HLT));
	const kvm_regs r = g.regs();
	EXPECT_EQ(r.rip, 0x1801ULL);
	EXPECT_EQ(r.rsp & 0xffff, 0x1ff0ULL - 6); // IP, CS, FLAGS: no error code
	const uint8_t *stack = g.ram.as<uint8_t>() + 0xff0 - 6;
	EXPECT_EQ(stack[0] | stack[1] << 8, 0x1000); // the faulting IP
}
