// SPDX-License-Identifier: GPL-2.0
// KVM_IOEVENTFD: a guest OUT or MMIO write that a registration takes
// signals its eventfd in the kernel, with no KVM_EXIT_IO or KVM_EXIT_MMIO;
// everything else still exits.  PIO and MMIO, wildcard and datamatch,
// lengths 0/1/2/4/8, string OUTS, page-crossing and read-modify-write
// MMIO, deassignment, KVM's collision and argument errors, and a VM
// destroyed with registrations left.  Same answers on /dev/kvm and
// /dev/kvmx.
#include <cerrno>
#include <cstring>
#include <system_error>
#include <fcntl.h>
#include <fstream>
#include <map>
#include <string>
#include <sys/eventfd.h>
#include <unistd.h>

#include "lib/sys.h"
#include "lib/test.h"
#include "lib/vm.h"

using namespace kvmx;

namespace {

constexpr uint16_t kPort = 0xe0;
// No memslot there; the Vm identity-maps the low 4 GiB.
constexpr uint64_t kMmio = 0xd0000000;

class EventFd {
public:
	EventFd() : fd_(Fd::eventfd()) {}
	[[nodiscard]] int get() const { return fd_.get(); }
	// The signals since the last take() (the eventfd's counter, reset).
	uint64_t take() const
	{
		uint64_t v = 0;
		ssize_t n = ::read(fd_.get(), &v, sizeof(v));
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n != sizeof(v))
			throw_errno("read(eventfd)");
		return v;
	}

private:
	Fd fd_;
};

long ioeventfd(const Fd &vm, uint64_t addr, uint32_t len, int fd, uint32_t flags,
	       uint64_t datamatch = 0)
{
	kvm_ioeventfd a{};
	a.addr = addr;
	a.len = len;
	a.fd = fd;
	a.flags = flags;
	a.datamatch = datamatch;
	return ioctl_result(vm, KVM_IOEVENTFD, &a);
}

void assign(const Fd &vm, uint64_t addr, uint32_t len, const EventFd &e, uint32_t flags,
	    uint64_t datamatch = 0)
{
	long r = ioeventfd(vm, addr, len, e.get(), flags, datamatch);
	if (r < 0)
		throw std::system_error(int(-r), std::generic_category(), "KVM_IOEVENTFD");
}

// Runs to the next exit, which must be an OUT of @size bytes of @value at @port.
void expect_out(Vcpu &vcpu, uint16_t port, uint8_t size, uint32_t value)
{
	uint32_t reason = vcpu.run();
	ASSERT_EQ(exit_reason_name(reason), exit_reason_name(KVM_EXIT_IO));
	const struct kvm_run &r = vcpu.run_area();
	EXPECT_EQ(r.io.direction, KVM_EXIT_IO_OUT);
	EXPECT_EQ(r.io.port, port);
	EXPECT_EQ(r.io.size, size);
	EXPECT_EQ(r.io.count, 1u);
	uint32_t v = 0;
	std::memcpy(&v, vcpu.io_data(), size);
	EXPECT_EQ(v, value);
}

// Runs to the next exit, which must be an MMIO access of @len bytes at
// @gpa: a write of @value, or a read answered with @value.
void expect_mmio(Vcpu &vcpu, uint64_t gpa, uint32_t len, bool write, uint64_t value)
{
	uint32_t reason = vcpu.run();
	ASSERT_EQ(exit_reason_name(reason), exit_reason_name(KVM_EXIT_MMIO));
	struct kvm_run &r = vcpu.run_area();
	EXPECT_EQ(r.mmio.phys_addr, gpa);
	EXPECT_EQ(r.mmio.len, len);
	EXPECT_EQ(static_cast<bool>(r.mmio.is_write), write);
	if (write) {
		uint64_t v = 0;
		std::memcpy(&v, r.mmio.data, len);
		EXPECT_EQ(v, value);
	} else {
		std::memcpy(r.mmio.data, &value, len);
	}
}

template <typename T> void mmio_write(uint64_t gpa, T v)
{
	*reinterpret_cast<volatile T *>(gpa) = v;
}

template <typename T> T mmio_read(uint64_t gpa)
{
	return *reinterpret_cast<volatile T *>(gpa);
}

// --- guests ---

void guest_pio_loop(uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		guest::outb(kPort, static_cast<uint8_t>(i));
	GUEST_SYNC(1);
	guest::outb(kPort + 1, 0x5a);	// nothing registered there
	GUEST_DONE();
}

void guest_pio_kinds()
{
	guest::outw(kPort, 7);			// A: len 2 wildcard
	guest::outb(kPort, 7);			// length differs: exit
	guest::outl(kPort, 7);			// length differs: exit
	guest::outl(kPort + 4, 0xdeadbeef);	// B: datamatch
	guest::outl(kPort + 4, 0xdeadbeee);	// no match: exit
	guest::outw(kPort + 4, 0xbeef);		// length differs: exit
	guest::outb(kPort + 8, 1);		// C: length 0, any size
	guest::outw(kPort + 8, 2);
	guest::outl(kPort + 8, 3);
	guest::outb(kPort + 9, 1);		// next to C: exit
	guest::outb(kPort + 12, 1);		// D: datamatch 1
	guest::outb(kPort + 12, 2);		// E: datamatch 2, same port
	guest::outb(kPort + 12, 3);		// neither: exit
	GUEST_SYNC(2);
}

const char kString[] = "0123456789abcdef";

void guest_outs()
{
	const char *src = kString;
	uint64_t n = sizeof(kString) - 1;
	asm volatile("rep outsb" : "+S"(src), "+c"(n) : "d"(kPort) : "memory");
	GUEST_ASSERT_EQ(n, 0);
	GUEST_SYNC(3);
}

void guest_mmio(uint64_t n)
{
	// The first write takes the slow path, the others kvmx's cached
	// MMIO SPTE and MOV fast path.
	for (uint64_t i = 0; i < n; i++)
		mmio_write<uint32_t>(kMmio, static_cast<uint32_t>(i));
	GUEST_SYNC(1);
	mmio_write<uint16_t>(kMmio, 5);				// length differs: exit
	GUEST_ASSERT_EQ(mmio_read<uint32_t>(kMmio), 0xcafef00d);	// a read exits
	mmio_write<uint64_t>(kMmio + 8, 0x1122334455667788);	// datamatch
	mmio_write<uint64_t>(kMmio + 8, 0x1122334455667789);	// no match: exit
	mmio_write<uint8_t>(kMmio + 0x10, 1);			// length 0: any size
	mmio_write<uint16_t>(kMmio + 0x10, 2);
	mmio_write<uint32_t>(kMmio + 0x10, 3);
	mmio_write<uint64_t>(kMmio + 0x10, 4);
	GUEST_SYNC(2);
}

void guest_mmio_emulated()
{
	// OR: the read goes to user space, the write to the ioeventfd.
	asm volatile("orl $0x100, (%0)" : : "r"(kMmio + 0x20) : "memory");
	// Across a page: the first half is taken, the second exits.
	mmio_write<uint32_t>(kMmio + 0xffe, 0xaabbccdd);
	GUEST_SYNC(4);
}

void guest_deassign()
{
	guest::outb(kPort, 1);
	mmio_write<uint32_t>(kMmio, 1);
	mmio_write<uint32_t>(kMmio, 2);
	GUEST_SYNC(1);
	guest::outb(kPort, 2);
	mmio_write<uint32_t>(kMmio, 3);
	GUEST_SYNC(2);
}

} // namespace

// A wildcard on a port: every OUT there is one signal, and none exits.
KVMX_TEST(pio_wildcard_counts_every_write)
{
	KmsgWatch kmsg;
	Vm vm;
	EventFd e;
	assign(vm.fd(), kPort, 1, e, KVM_IOEVENTFD_FLAG_PIO);
	Vcpu &vcpu = vm.add_vcpu(guest_pio_loop);
	vcpu.set_args({100});
	vcpu.expect_sync(1);	// any KVM_EXIT_IO before it fails the case
	EXPECT_EQ(e.take(), 100u);
	expect_out(vcpu, kPort + 1, 1, 0x5a);
	vcpu.expect_done();
	EXPECT_EQ(e.take(), 0u);
	EXPECT_EQ(kmsg.first_splat(), std::string());
}

// Lengths, datamatch and length 0 on ports: what is taken and what exits.
KVMX_TEST(pio_lengths_and_datamatch)
{
	Vm vm;
	EventFd a, b, c, d, e;
	assign(vm.fd(), kPort, 2, a, KVM_IOEVENTFD_FLAG_PIO);
	assign(vm.fd(), kPort + 4, 4, b, KVM_IOEVENTFD_FLAG_PIO | KVM_IOEVENTFD_FLAG_DATAMATCH,
	       0xdeadbeef);
	assign(vm.fd(), kPort + 8, 0, c, KVM_IOEVENTFD_FLAG_PIO);
	assign(vm.fd(), kPort + 12, 1, d, KVM_IOEVENTFD_FLAG_PIO | KVM_IOEVENTFD_FLAG_DATAMATCH, 1);
	assign(vm.fd(), kPort + 12, 1, e, KVM_IOEVENTFD_FLAG_PIO | KVM_IOEVENTFD_FLAG_DATAMATCH, 2);
	Vcpu &vcpu = vm.add_vcpu(guest_pio_kinds);
	expect_out(vcpu, kPort, 1, 7);
	expect_out(vcpu, kPort, 4, 7);
	expect_out(vcpu, kPort + 4, 4, 0xdeadbeee);
	expect_out(vcpu, kPort + 4, 2, 0xbeef);
	expect_out(vcpu, kPort + 9, 1, 1);
	expect_out(vcpu, kPort + 12, 1, 3);
	vcpu.expect_sync(2);
	EXPECT_EQ(a.take(), 1u);
	EXPECT_EQ(b.take(), 1u);
	EXPECT_EQ(c.take(), 3u);
	EXPECT_EQ(d.take(), 1u);
	EXPECT_EQ(e.take(), 1u);
}

// rep outsb to a registered port: every element signals, nothing exits.
KVMX_TEST(pio_string_outs)
{
	Vm vm;
	EventFd e;
	assign(vm.fd(), kPort, 1, e, KVM_IOEVENTFD_FLAG_PIO);
	Vcpu &vcpu = vm.add_vcpu(guest_outs);
	vcpu.expect_sync(3);
	EXPECT_EQ(e.take(), sizeof(kString) - 1);
}

// MMIO: a wildcard counts every write of its length, through every path
// (the first write and the cached ones); datamatch and length 0; other
// lengths, other values and reads still exit.
KVMX_TEST(mmio_writes)
{
	KmsgWatch kmsg;
	Vm vm;
	EventFd a, b, c;
	assign(vm.fd(), kMmio, 4, a, 0);
	assign(vm.fd(), kMmio + 8, 8, b, KVM_IOEVENTFD_FLAG_DATAMATCH, 0x1122334455667788);
	assign(vm.fd(), kMmio + 0x10, 0, c, 0);
	Vcpu &vcpu = vm.add_vcpu(guest_mmio);
	vcpu.set_args({100});
	vcpu.expect_sync(1);	// any KVM_EXIT_MMIO before it fails the case
	EXPECT_EQ(a.take(), 100u);
	expect_mmio(vcpu, kMmio, 2, true, 5);
	expect_mmio(vcpu, kMmio, 4, false, 0xcafef00d);
	expect_mmio(vcpu, kMmio + 8, 8, true, 0x1122334455667789);
	vcpu.expect_sync(2);
	EXPECT_EQ(a.take(), 0u);
	EXPECT_EQ(b.take(), 1u);
	EXPECT_EQ(c.take(), 4u);
	EXPECT_EQ(kmsg.first_splat(), std::string());
}

// Instructions the emulator runs: a read-modify-write whose write is
// taken, and a write across two pages whose first fragment is taken.
KVMX_TEST(mmio_emulated_writes)
{
	Vm vm;
	EventFd rmw, half;
	assign(vm.fd(), kMmio + 0x20, 4, rmw, KVM_IOEVENTFD_FLAG_DATAMATCH, 0x101);
	assign(vm.fd(), kMmio + 0xffe, 2, half, KVM_IOEVENTFD_FLAG_DATAMATCH, 0xccdd);
	Vcpu &vcpu = vm.add_vcpu(guest_mmio_emulated);
	expect_mmio(vcpu, kMmio + 0x20, 4, false, 1);
	expect_mmio(vcpu, kMmio + 0x1000, 2, true, 0xaabb);
	vcpu.expect_sync(4);
	EXPECT_EQ(rmw.take(), 1u);
	EXPECT_EQ(half.take(), 1u);
}

// After KVM_IOEVENTFD_FLAG_DEASSIGN the same writes exit again, also on
// an MMIO page the VM has cached; deassigning what is not there is -ENOENT.
KVMX_TEST(deassign)
{
	Vm vm;
	EventFd p, m, other;
	assign(vm.fd(), kPort, 1, p, KVM_IOEVENTFD_FLAG_PIO);
	assign(vm.fd(), kMmio, 4, m, 0);
	Vcpu &vcpu = vm.add_vcpu(guest_deassign);
	vcpu.expect_sync(1);
	EXPECT_EQ(p.take(), 1u);
	EXPECT_EQ(m.take(), 2u);

	const uint32_t pio = KVM_IOEVENTFD_FLAG_PIO, de = KVM_IOEVENTFD_FLAG_DEASSIGN;
	// Only an exact description of the registration removes it.
	EXPECT_EQ(ioeventfd(vm.fd(), kPort, 1, other.get(), pio | de), -ENOENT);
	EXPECT_EQ(ioeventfd(vm.fd(), kPort, 2, p.get(), pio | de), -ENOENT);
	EXPECT_EQ(ioeventfd(vm.fd(), kPort, 1, p.get(), de), -ENOENT); // MMIO bus
	EXPECT_EQ(ioeventfd(vm.fd(), kPort, 1, p.get(), pio | de | KVM_IOEVENTFD_FLAG_DATAMATCH),
		  -ENOENT);
	EXPECT_EQ(ioeventfd(vm.fd(), kPort, 1, p.get(), pio | de), 0L);
	EXPECT_EQ(ioeventfd(vm.fd(), kPort, 1, p.get(), pio | de), -ENOENT);
	EXPECT_EQ(ioeventfd(vm.fd(), kMmio, 4, m.get(), de), 0L);

	expect_out(vcpu, kPort, 1, 2);
	expect_mmio(vcpu, kMmio, 4, true, 3);
	vcpu.expect_sync(2);
	EXPECT_EQ(p.take(), 0u);
	EXPECT_EQ(m.take(), 0u);
}

// KVM's collision rules: the same address and bus with length 0 on
// either side, or the same length with a wildcard on either side or the
// same datamatch, is -EEXIST; anything else may coexist.
KVMX_TEST(collisions)
{
	Vm vm(Vm::bare);
	const Fd &fd = vm.fd();
	EventFd e1, e2;
	const uint32_t dm = KVM_IOEVENTFD_FLAG_DATAMATCH, pio = KVM_IOEVENTFD_FLAG_PIO;

	EXPECT_EQ(ioeventfd(fd, kMmio, 4, e1.get(), 0), 0L);
	EXPECT_EQ(ioeventfd(fd, kMmio, 4, e1.get(), 0), -EEXIST);
	EXPECT_EQ(ioeventfd(fd, kMmio, 4, e2.get(), 0), -EEXIST);
	EXPECT_EQ(ioeventfd(fd, kMmio, 4, e2.get(), dm, 1), -EEXIST);
	EXPECT_EQ(ioeventfd(fd, kMmio, 0, e2.get(), 0), -EEXIST);
	EXPECT_EQ(ioeventfd(fd, kMmio, 2, e2.get(), 0), 0L);	// other length
	EXPECT_EQ(ioeventfd(fd, kMmio + 2, 2, e2.get(), 0), 0L); // inside, other address
	EXPECT_EQ(ioeventfd(fd, kMmio, 4, e2.get(), pio), 0L);	// other bus

	EXPECT_EQ(ioeventfd(fd, kMmio + 0x100, 8, e1.get(), dm, 1), 0L);
	EXPECT_EQ(ioeventfd(fd, kMmio + 0x100, 8, e2.get(), dm, 2), 0L);
	EXPECT_EQ(ioeventfd(fd, kMmio + 0x100, 8, e2.get(), dm, 1), -EEXIST);
	EXPECT_EQ(ioeventfd(fd, kMmio + 0x100, 8, e2.get(), 0), -EEXIST);

	EXPECT_EQ(ioeventfd(fd, kMmio + 0x200, 0, e1.get(), 0), 0L);
	EXPECT_EQ(ioeventfd(fd, kMmio + 0x200, 1, e2.get(), dm, 1), -EEXIST);
	EXPECT_EQ(ioeventfd(fd, kMmio + 0x200, 0, e2.get(), 0), -EEXIST);

	// A removed registration leaves room for a new one.
	EXPECT_EQ(ioeventfd(fd, kMmio, 4, e1.get(), KVM_IOEVENTFD_FLAG_DEASSIGN), 0L);
	EXPECT_EQ(ioeventfd(fd, kMmio, 4, e2.get(), dm, 9), 0L);
}

// KVM's argument errors, in KVM's order.
KVMX_TEST(bad_args)
{
	Vm vm(Vm::bare);
	const Fd &fd = vm.fd();
	EventFd e;
	Fd not_eventfd = Fd::open("/dev/null", O_RDONLY);
	const uint32_t dm = KVM_IOEVENTFD_FLAG_DATAMATCH;

	for (uint32_t len : {3u, 5u, 7u, 16u, 0x80000000u})
		EXPECT_EQ(ioeventfd(fd, kMmio, len, e.get(), 0), -EINVAL);
	EXPECT_EQ(ioeventfd(fd, ~0ULL - 2, 4, e.get(), 0), -EINVAL);	// wraps
	EXPECT_EQ(ioeventfd(fd, kMmio, 4, e.get(), 1u << 5), -EINVAL);
	EXPECT_EQ(ioeventfd(fd, kMmio, 4, e.get(), 1u << 31), -EINVAL);
	EXPECT_EQ(ioeventfd(fd, kMmio, 0, e.get(), dm), -EINVAL);
	EXPECT_EQ(ioeventfd(fd, kMmio, 4, -1, 0), -EBADF);
	EXPECT_EQ(ioeventfd(fd, kMmio, 4, 100000, 0), -EBADF);
	EXPECT_EQ(ioeventfd(fd, kMmio, 4, not_eventfd.get(), 0), -EINVAL);
	// The length is checked before the fd.
	EXPECT_EQ(ioeventfd(fd, kMmio, 3, -1, 0), -EINVAL);
	EXPECT_EQ(ioctl_result(fd, KVM_IOEVENTFD, 8UL), -EFAULT);

	// A deassignment checks the fd, then looks: bad lengths are -ENOENT.
	const uint32_t de = KVM_IOEVENTFD_FLAG_DEASSIGN;
	EXPECT_EQ(ioeventfd(fd, kMmio, 4, -1, de), -EBADF);
	EXPECT_EQ(ioeventfd(fd, kMmio, 3, e.get(), de), -ENOENT);
	EXPECT_EQ(ioeventfd(fd, kMmio, 4, e.get(), de | (1u << 31)), -ENOENT);

	// Lengths 0, 1, 2, 4, 8 are all accepted, on both buses.
	uint64_t addr = kMmio;
	for (uint32_t len : {0u, 1u, 2u, 4u, 8u}) {
		EXPECT_EQ(ioeventfd(fd, addr, len, e.get(), 0), 0L);
		EXPECT_EQ(ioeventfd(fd, addr, len, e.get(), KVM_IOEVENTFD_FLAG_PIO), 0L);
		addr += 0x10;
	}
	// 6.1's unused fast_mmio flag bit is valid.
	EXPECT_EQ(ioeventfd(fd, addr, 4, e.get(), 1u << 4), 0L);
}

// A VM destroyed with registrations frees them and drops its references
// to the eventfds, which stay usable (kvmx also shows its object count).
KVMX_TEST(destroy_with_registrations)
{
	KmsgWatch kmsg;
	auto count = []() -> long {
		std::ifstream in("/sys/kernel/debug/kvmx/objects");
		std::string name;
		long v;
		while (in >> name >> v)
			if (name == "ioeventfds")
				return v;
		return -1;
	};
	const bool counted = test::options().testing_kvmx() && count() >= 0;
	const long before = counted ? count() : 0;
	EventFd e;
	{
		Vm vm;
		for (uint64_t i = 0; i < 20; i++) {
			assign(vm.fd(), kMmio + 8 * i, 8, e, 0);
			assign(vm.fd(), kPort + i, 1, e, KVM_IOEVENTFD_FLAG_PIO);
		}
		Vcpu &vcpu = vm.add_vcpu(guest_pio_loop);
		vcpu.set_args({3});
		vcpu.expect_sync(1);
		EXPECT_EQ(e.take(), 3u);
		if (counted)
			EXPECT_EQ(count(), before + 40);
	}
	if (counted)
		EXPECT_EQ(count(), before);
	uint64_t one = 1;
	EXPECT_EQ(::write(e.get(), &one, sizeof(one)), static_cast<ssize_t>(sizeof(one)));
	EXPECT_EQ(e.take(), 1u);
	EXPECT_EQ(kmsg.first_splat(), std::string());
}
