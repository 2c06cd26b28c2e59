// SPDX-License-Identifier: GPL-2.0
// A few instructions in a real-mode guest, each exit checked: HLT, port
// I/O both ways, MMIO both ways.  Runs on /dev/kvmx and /dev/kvm alike.
#include <cstring>
#include <fcntl.h>
#include <linux/kvm.h>

#include "lib/sys.h"
#include "lib/test.h"
#include "lib/tiny_guest.h"

using kvmx::Fd;
using kvmx::test::TinyGuest;

namespace {

Fd open_device() { return Fd::open(kvmx::test::options().device, O_RDWR); }

uint8_t *pio_data(const TinyGuest &g)
{
	return reinterpret_cast<uint8_t *>(g.run()) + g.run()->io.data_offset;
}

} // namespace

KVMX_TEST(hlt)
{
	Fd dev = open_device();
	TinyGuest g(dev, {0xf4}); // hlt
	ASSERT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_HLT));
	EXPECT_EQ(g.regs().rip, TinyGuest::kCodeGpa + 1);
}

KVMX_TEST(pio_out)
{
	Fd dev = open_device();
	TinyGuest g(dev, {0xb0, 0x42, 0xe6, 0x80, 0xf4}); // mov al,0x42; out 0x80,al; hlt
	ASSERT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_IO));
	EXPECT_EQ(g.run()->io.direction, static_cast<uint8_t>(KVM_EXIT_IO_OUT));
	EXPECT_EQ(g.run()->io.port, 0x80);
	EXPECT_EQ(g.run()->io.size, 1);
	EXPECT_EQ(g.run()->io.count, 1u);
	EXPECT_EQ(pio_data(g)[0], 0x42);
	EXPECT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_HLT));
}

KVMX_TEST(pio_in)
{
	Fd dev = open_device();
	TinyGuest g(dev, {0xe4, 0x81, 0xf4}); // in al,0x81; hlt
	ASSERT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_IO));
	EXPECT_EQ(g.run()->io.direction, static_cast<uint8_t>(KVM_EXIT_IO_IN));
	EXPECT_EQ(g.run()->io.port, 0x81);
	pio_data(g)[0] = 0x5a;
	ASSERT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_HLT));
	EXPECT_EQ(g.regs().rax & 0xff, 0x5aULL);
}

KVMX_TEST(mmio_write)
{
	Fd dev = open_device();
	TinyGuest g(dev, {0xc6, 0x06, 0x00, 0x20, 0x77, 0xf4}); // mov byte [0x2000],0x77; hlt
	ASSERT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_MMIO));
	EXPECT_EQ(g.run()->mmio.phys_addr, 0x2000ULL);
	EXPECT_EQ(g.run()->mmio.len, 1u);
	EXPECT_EQ(g.run()->mmio.is_write, 1);
	EXPECT_EQ(g.run()->mmio.data[0], 0x77);
	EXPECT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_HLT));
	EXPECT_EQ(g.regs().rip, TinyGuest::kCodeGpa + 6);
}

KVMX_TEST(mmio_read)
{
	Fd dev = open_device();
	TinyGuest g(dev, {0xa1, 0x00, 0x20, 0xf4}); // mov ax,[0x2000]; hlt
	ASSERT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_MMIO));
	EXPECT_EQ(g.run()->mmio.phys_addr, 0x2000ULL);
	EXPECT_EQ(g.run()->mmio.len, 2u);
	EXPECT_EQ(g.run()->mmio.is_write, 0);
	g.run()->mmio.data[0] = 0x34;
	g.run()->mmio.data[1] = 0x12;
	ASSERT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_HLT));
	EXPECT_EQ(g.regs().rax & 0xffff, 0x1234ULL);
}
