// SPDX-License-Identifier: GPL-2.0
// A few instructions in a real-mode guest, each exit checked: HLT, port
// I/O both ways, MMIO both ways.  Runs on /dev/kvmx and /dev/kvm alike.
#include <cstring>
#include <fcntl.h>
#include "lib/kvm_abi.h"

#include "lib/sys.h"
#include "lib/test.h"
#include "lib/tiny_guest.h"

using kvmx::Fd;
using kvmx::test::open_device;
using kvmx::test::TinyGuest;

namespace {

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

KVMX_TEST(mmio_write_protected_mode)
{
	Fd dev = open_device();
	// mov byte [0x200000],0x77; hlt
	TinyGuest g(dev, {0xc6, 0x05, 0x00, 0x00, 0x20, 0x00, 0x77, 0xf4},
		    kvmx::test::GuestMode::kProtected32);
	ASSERT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_MMIO));
	EXPECT_EQ(g.run()->mmio.phys_addr, 0x200000ULL);
	EXPECT_EQ(g.run()->mmio.len, 1u);
	EXPECT_EQ(g.run()->mmio.is_write, 1);
	EXPECT_EQ(g.run()->mmio.data[0], 0x77);
	EXPECT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_HLT));
}

KVMX_TEST(mmio_read_long_mode)
{
	Fd dev = open_device();
	// mov rax,[0x200000]; hlt
	TinyGuest g(dev, {0x48, 0x8b, 0x04, 0x25, 0x00, 0x00, 0x20, 0x00, 0xf4},
		    kvmx::test::GuestMode::kLong64);
	ASSERT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_MMIO));
	EXPECT_EQ(g.run()->mmio.phys_addr, 0x200000ULL);
	EXPECT_EQ(g.run()->mmio.len, 8u);
	EXPECT_EQ(g.run()->mmio.is_write, 0);
	const uint64_t value = 0x1122334455667788ULL;
	std::memcpy(g.run()->mmio.data, &value, sizeof(value));
	ASSERT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_HLT));
	EXPECT_EQ(g.regs().rax, value);
}

// A word that starts in RAM and ends in MMIO: only the MMIO byte exits.
KVMX_TEST(mmio_access_crossing_from_ram)
{
	Fd dev = open_device();
	// mov word [0x1fff],0xbeef; hlt   (0x1fff is the code page's last byte)
	TinyGuest g(dev, {0xc7, 0x06, 0xff, 0x1f, 0xef, 0xbe, 0xf4});
	ASSERT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_MMIO));
	EXPECT_EQ(g.run()->mmio.phys_addr, 0x2000ULL);
	EXPECT_EQ(g.run()->mmio.len, 1u);
	EXPECT_EQ(g.run()->mmio.is_write, 1);
	EXPECT_EQ(g.run()->mmio.data[0], 0xbe);
	EXPECT_EQ(g.ram.as<uint8_t>()[0xfff], 0xef);
	EXPECT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_HLT));
}
