// SPDX-License-Identifier: GPL-2.0
// Bad arguments to every ioctl the guest library uses, table-driven: bad
// fds, ioctls on the wrong fd, wrong sizes, out-of-range ids, overlapping,
// misaligned and huge memslots, unknown flags.  The expected errno of each
// row is what KVM (Linux 6.1, kvm_intel) answers; kvmx must answer the same,
// except where a row states kvmx's own answer and why (Documentation/abi.md).
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <functional>
#include <optional>
#include <string>
#include <unistd.h>
#include <vector>

#include "lib/sys.h"
#include "lib/test.h"
#include "lib/vm.h"

using namespace kvmx;

namespace {

// A bare VM with one 64 KiB slot at GPA 0 (slot 0) and vCPU 0.
struct Env {
	Vm vm{Vm::bare};
	Memslot &slot0 = vm.add_memslot(0, 0, 64 * KiB);
	Vcpu &vcpu = vm.add_vcpu();
	const Fd &sys = vm.system().fd();
};

long region(const Fd &vm, uint32_t slot, uint32_t flags, uint64_t gpa, uint64_t size,
	    uint64_t uaddr)
{
	kvm_userspace_memory_region r{};
	r.slot = slot;
	r.flags = flags;
	r.guest_phys_addr = gpa;
	r.memory_size = size;
	r.userspace_addr = uaddr;
	return ioctl_result(vm, KVM_SET_USER_MEMORY_REGION, &r);
}

uint64_t uaddr_of(const Memslot &s) { return reinterpret_cast<uint64_t>(s.host()); }

// Closes what an ioctl that should have failed created.
long closing(long r)
{
	if (r >= 0)
		::close(static_cast<int>(r));
	return r;
}

struct Row {
	const char *what;
	long want; // -errno, or the return value
	std::function<long(Env &)> call;
	std::optional<long> kvmx_want = std::nullopt; // where kvmx differs on purpose
};

// Unknown system ioctls are -EINVAL on both devices, as KVM answers them.
constexpr long kKvmxSystemUnknown = -EINVAL;

std::string errname(long r)
{
	if (r >= 0)
		return std::to_string(r);
	const char *n = strerrorname_np(static_cast<int>(-r));
	return std::string("-") + (n ? n : std::to_string(-r).c_str());
}

const std::vector<Row> &rows()
{
	static const std::vector<Row> table = {
	// ---- bad fds ----
	{"KVM_GET_API_VERSION on fd -1", -EBADF,
	 [](Env &) { return ioctl_result(Fd(-1), KVM_GET_API_VERSION); }},
	{"KVM_CREATE_VM on /dev/null", -ENOTTY,
	 [](Env &) { return ioctl_result(Fd::open("/dev/null", O_RDWR), KVM_CREATE_VM); }},
	{"KVM_RUN on a closed vCPU fd", -EBADF,
	 [](Env &e) {
		 Fd dup(::dup(e.vcpu.fd().get()));
		 int n = dup.get();
		 dup.reset();
		 return ioctl_result(Fd(n), KVM_RUN);
	 }},

	// ---- ioctls on the wrong fd ----
	{"KVM_CREATE_VCPU on the system fd", -EINVAL,
	 [](Env &e) { return closing(ioctl_result(e.sys, KVM_CREATE_VCPU, 1UL)); }, kKvmxSystemUnknown},
	{"KVM_SET_USER_MEMORY_REGION on the system fd", -EINVAL,
	 [](Env &e) { return region(e.sys, 1, 0, 1 * MiB, 4096, uaddr_of(e.slot0)); }, kKvmxSystemUnknown},
	{"KVM_RUN on the VM fd", -ENOTTY, [](Env &e) { return ioctl_result(e.vm.fd(), KVM_RUN); }},
	{"KVM_CREATE_VM on the VM fd", -ENOTTY,
	 [](Env &e) { return closing(ioctl_result(e.vm.fd(), KVM_CREATE_VM)); }},
	{"KVM_GET_VCPU_MMAP_SIZE on the VM fd", -ENOTTY,
	 [](Env &e) { return ioctl_result(e.vm.fd(), KVM_GET_VCPU_MMAP_SIZE); }},
	{"KVM_CREATE_VCPU on the vCPU fd", -EINVAL,
	 [](Env &e) { return closing(ioctl_result(e.vcpu.fd(), KVM_CREATE_VCPU, 1UL)); }},
	{"KVM_SET_USER_MEMORY_REGION on the vCPU fd", -EINVAL,
	 [](Env &e) { return region(e.vcpu.fd(), 1, 0, 1 * MiB, 4096, uaddr_of(e.slot0)); }},
	{"KVM_GET_SUPPORTED_CPUID on the vCPU fd", -EINVAL,
	 [](Env &e) {
		 std::vector<uint8_t> b = make_cpuid2(std::vector<kvm_cpuid_entry2>(64));
		 return ioctl_result(e.vcpu.fd(), KVM_GET_SUPPORTED_CPUID, b.data());
	 }},

	// ---- system fd ----
	{"KVM_CREATE_VM type 1", -EINVAL,
	 [](Env &e) { return closing(ioctl_result(e.sys, KVM_CREATE_VM, 1UL)); }},
	{"KVM_GET_SUPPORTED_CPUID nent 0", -E2BIG,
	 [](Env &e) {
		 abi::Cpuid2 c{};
		 return ioctl_result(e.sys, KVM_GET_SUPPORTED_CPUID, &c);
	 }},
	{"KVM_GET_SUPPORTED_CPUID nent 1", -E2BIG,
	 [](Env &e) {
		 std::vector<uint8_t> b = make_cpuid2(std::vector<kvm_cpuid_entry2>(1));
		 return ioctl_result(e.sys, KVM_GET_SUPPORTED_CPUID, b.data());
	 }},
	{"KVM_GET_SUPPORTED_CPUID NULL", -EFAULT,
	 [](Env &e) { return ioctl_result(e.sys, KVM_GET_SUPPORTED_CPUID, 0UL); }},

	// ---- KVM_CREATE_VCPU ----
	{"KVM_CREATE_VCPU id 0 again", -EEXIST,
	 [](Env &e) { return closing(ioctl_result(e.vm.fd(), KVM_CREATE_VCPU, 0UL)); }},
	{"KVM_CREATE_VCPU id KVM_CAP_MAX_VCPU_ID", -EINVAL,
	 [](Env &e) {
		 long max = e.vm.system().check_extension(KVM_CAP_MAX_VCPU_ID);
		 return closing(ioctl_result(e.vm.fd(), KVM_CREATE_VCPU,
					     static_cast<unsigned long>(max)));
	 }},
	{"KVM_CREATE_VCPU id -1", -EINVAL,
	 [](Env &e) { return closing(ioctl_result(e.vm.fd(), KVM_CREATE_VCPU, ~0UL)); }},

	// ---- KVM_SET_USER_MEMORY_REGION ----
	{"memslot NULL argument", -EFAULT,
	 [](Env &e) { return ioctl_result(e.vm.fd(), KVM_SET_USER_MEMORY_REGION, 0UL); }},
	{"memslot unknown flag", -EINVAL,
	 [](Env &e) { return region(e.vm.fd(), 1, 1u << 7, 1 * MiB, 4096, uaddr_of(e.slot0)); }},
	{"memslot size not page-aligned", -EINVAL,
	 [](Env &e) { return region(e.vm.fd(), 1, 0, 1 * MiB, 4097, uaddr_of(e.slot0)); }},
	{"memslot GPA not page-aligned", -EINVAL,
	 [](Env &e) { return region(e.vm.fd(), 1, 0, 1 * MiB + 8, 4096, uaddr_of(e.slot0)); }},
	{"memslot user address not page-aligned", -EINVAL,
	 [](Env &e) { return region(e.vm.fd(), 1, 0, 1 * MiB, 4096, uaddr_of(e.slot0) + 8); }},
	{"memslot user address in the kernel half", -EINVAL,
	 [](Env &e) { return region(e.vm.fd(), 1, 0, 1 * MiB, 4096, 0xffff800000000000ULL); }},
	{"memslot id KVM_CAP_NR_MEMSLOTS", -EINVAL,
	 [](Env &e) {
		 long n = e.vm.system().check_extension(KVM_CAP_NR_MEMSLOTS);
		 return region(e.vm.fd(), static_cast<uint32_t>(n), 0, 1 * MiB, 4096,
			       uaddr_of(e.slot0));
	 }},
	{"memslot address space 2", -EINVAL,
	 [](Env &e) { return region(e.vm.fd(), 2u << 16, 0, 1 * MiB, 4096, uaddr_of(e.slot0)); }},
	{"memslot overlapping slot 0", -EEXIST,
	 [](Env &e) { return region(e.vm.fd(), 1, 0, 32 * KiB, 64 * KiB, uaddr_of(e.slot0)); }},
	{"memslot huge (16 TiB)", -EINVAL,
	 [](Env &e) { return region(e.vm.fd(), 1, 0, 1ULL << 44, 1ULL << 44, 0x100000000ULL); }},
	{"memslot GPA + size wraps", -EINVAL,
	 [](Env &e) {
		 return region(e.vm.fd(), 1, 0, ~0ULL - 4095, 2 * 4096, uaddr_of(e.slot0));
	 }},
	{"memslot 0 resized", -EINVAL,
	 [](Env &e) { return region(e.vm.fd(), 0, 0, 0, 32 * KiB, uaddr_of(e.slot0)); }},
	{"memslot 0 made read-only", -EINVAL,
	 [](Env &e) {
		 return region(e.vm.fd(), 0, KVM_MEM_READONLY, 0, 64 * KiB, uaddr_of(e.slot0));
	 }},
	{"memslot moved onto another", -EEXIST,
	 [](Env &e) {
		 Memslot &s1 = e.vm.add_memslot(1, 1 * MiB, 64 * KiB);
		 return region(e.vm.fd(), 1, 0, 32 * KiB, 64 * KiB, uaddr_of(s1));
	 }},
	{"memslot delete of a slot that does not exist", -EINVAL,
	 [](Env &e) { return region(e.vm.fd(), 5, 0, 0, 0, 0); }},

	// ---- KVM_GET_DIRTY_LOG ----
	{"KVM_GET_DIRTY_LOG without dirty logging", -ENOENT,
	 [](Env &e) {
		 std::vector<uint64_t> bits(64);
		 kvm_dirty_log l{};
		 l.slot = 0;
		 l.dirty_bitmap = bits.data();
		 return ioctl_result(e.vm.fd(), KVM_GET_DIRTY_LOG, &l);
	 }},
	{"KVM_GET_DIRTY_LOG slot out of range", -EINVAL,
	 [](Env &e) {
		 std::vector<uint64_t> bits(64);
		 kvm_dirty_log l{};
		 l.slot = 40000;
		 l.dirty_bitmap = bits.data();
		 return ioctl_result(e.vm.fd(), KVM_GET_DIRTY_LOG, &l);
	 }},

	// ---- vCPU ioctls ----
	{"KVM_GET_REGS NULL", -EFAULT,
	 [](Env &e) { return ioctl_result(e.vcpu.fd(), KVM_GET_REGS, 0UL); }},
	{"KVM_SET_SREGS NULL", -EFAULT,
	 [](Env &e) { return ioctl_result(e.vcpu.fd(), KVM_SET_SREGS, 0UL); }},
	{"KVM_SET_SREGS EFER.LMA without paging", -EINVAL,
	 [](Env &e) {
		 kvm_sregs s = e.vcpu.sregs();
		 s.efer |= 0x400;
		 return ioctl_result(e.vcpu.fd(), KVM_SET_SREGS, &s);
	 }},
	{"KVM_SET_SREGS CR4 reserved bit", -EINVAL,
	 [](Env &e) {
		 kvm_sregs s = e.vcpu.sregs();
		 s.cr4 |= 1ULL << 31;
		 return ioctl_result(e.vcpu.fd(), KVM_SET_SREGS, &s);
	 }},
	{"KVM_SET_SREGS CR0.PG without PE", -EINVAL,
	 [](Env &e) {
		 kvm_sregs s = e.vcpu.sregs();
		 s.cr0 = 0x80000010;
		 return ioctl_result(e.vcpu.fd(), KVM_SET_SREGS, &s);
	 }},
	{"KVM_SET_CPUID2 nent 257", -E2BIG,
	 [](Env &e) {
		 std::vector<uint8_t> b = make_cpuid2(std::vector<kvm_cpuid_entry2>(257));
		 return ioctl_result(e.vcpu.fd(), KVM_SET_CPUID2, b.data());
	 }},
	{"KVM_SET_CPUID2 NULL", -EFAULT,
	 [](Env &e) { return ioctl_result(e.vcpu.fd(), KVM_SET_CPUID2, 0UL); }},
	{"KVM_SET_MSRS nmsrs 1000", -E2BIG,
	 [](Env &e) {
		 std::vector<uint8_t> b(sizeof(abi::Msrs) + 1000 * sizeof(kvm_msr_entry));
		 reinterpret_cast<abi::Msrs *>(b.data())->nmsrs = 1000;
		 return ioctl_result(e.vcpu.fd(), KVM_SET_MSRS, b.data());
	 }},
	{"KVM_SET_MSRS unknown MSR: 0 written", 0,
	 [](Env &e) {
		 struct {
			 abi::Msrs hdr;
			 kvm_msr_entry entry;
		 } m{{1, 0}, {}};
		 m.entry.index = 0x4b564dff; // unassigned
		 m.entry.data = 1;
		 return ioctl_result(e.vcpu.fd(), KVM_SET_MSRS, &m);
	 }},
	// IA32_FMASK's bits 63:32 are reserved: WRMSR faults.  KVM keeps the
	// value and loads it with a WRMSR that may fail (ignored); kvmx loads
	// it with a plain WRMSR on every entry, so it refuses the value.
	{"KVM_SET_MSRS IA32_FMASK bits 63:32 set", 1,
	 [](Env &e) {
		 struct {
			 abi::Msrs hdr;
			 kvm_msr_entry entry;
		 } m{{1, 0}, {}};
		 m.entry.index = 0xc0000084; // MSR_SYSCALL_MASK
		 m.entry.data = 1ULL << 32;
		 return ioctl_result(e.vcpu.fd(), KVM_SET_MSRS, &m);
	 },
	 0},
	{"KVM_GET_MSRS nmsrs 0", 0,
	 [](Env &e) {
		 abi::Msrs m{};
		 return ioctl_result(e.vcpu.fd(), KVM_GET_MSRS, &m);
	 }},
	{"KVM_RUN argument 1", -EINVAL,
	 [](Env &e) { return ioctl_result(e.vcpu.fd(), KVM_RUN, 1UL); }},
	{"KVM_INTERRUPT vector 256", -EINVAL,
	 [](Env &e) {
		 kvm_interrupt irq{256};
		 return ioctl_result(e.vcpu.fd(), KVM_INTERRUPT, &irq);
	 }},
	{"KVM_SET_SIGNAL_MASK len 4", -EINVAL,
	 [](Env &e) {
		 struct {
			 abi::SignalMask hdr;
			 uint8_t sigset[8];
		 } m{{4}, {}};
		 return ioctl_result(e.vcpu.fd(), KVM_SET_SIGNAL_MASK, &m);
	 }},
	{"KVM_ENABLE_CAP unknown capability", -EINVAL,
	 [](Env &e) {
		 kvm_enable_cap c{};
		 c.cap = 0xffff;
		 return ioctl_result(e.vcpu.fd(), KVM_ENABLE_CAP, &c);
	 }},
	{"unknown vCPU ioctl", -EINVAL,
	 [](Env &e) { return ioctl_result(e.vcpu.fd(), _IO(KVMIO, 0xfe)); }},
	{"unknown VM ioctl", -ENOTTY,
	 [](Env &e) { return ioctl_result(e.vm.fd(), _IO(KVMIO, 0xfe)); }},
	};
	return table;
}

} // namespace

KVMX_TEST(table)
{
	KmsgWatch kmsg;
	for (const Row &row : rows()) {
		Env env;
		long got = row.call(env);
		long want = row.want;
		if (test::options().testing_kvmx() && row.kvmx_want)
			want = *row.kvmx_want;
		test::diag(std::string(row.what) + ": " + errname(got));
		if (got != want)
			test::fail(__FILE__, __LINE__,
				   std::string(row.what) + ": got " + errname(got) + ", want " +
					   errname(want));
	}
	EXPECT_EQ(kmsg.first_splat(), std::string());
}

// After all that, the VM still works: bad arguments changed nothing.
KVMX_TEST(vm_usable_after_bad_args)
{
	Env env;
	for (const Row &row : rows())
		if (std::string(row.what).find("memslot") != std::string::npos &&
		    std::string(row.what).find("moved") == std::string::npos)
			row.call(env);
	static const uint8_t code[] = {0xf4}; // hlt
	env.vm.write(0x1000, code);
	env.vcpu.enter_real_mode(0x1000);
	EXPECT_EQ(exit_reason_name(env.vcpu.run()), exit_reason_name(KVM_EXIT_HLT));
	EXPECT_EQ(env.vcpu.regs().rip, 0x1001u);
}
