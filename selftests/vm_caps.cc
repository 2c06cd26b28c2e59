// SPDX-License-Identifier: GPL-2.0
// One case per KVM capability kvmx claims, each exercising what the
// capability promises, on /dev/kvmx and /dev/kvm alike.  system_ioctls'
// check_extension refuses any claim that has no case here.
#include <cerrno>
#include <fcntl.h>
#include "lib/kvm_abi.h"
#include <memory>
#include <sys/eventfd.h>
#include <unistd.h>
#include <vector>

#include "lib/sys.h"
#include "lib/test.h"
#include "lib/tiny_guest.h"

using kvmx::Fd;
using kvmx::ioctl_or_throw;
using kvmx::ioctl_result;
using kvmx::Mapping;
using kvmx::test::open_device;
using kvmx::test::TinyGuest;
using kvmx::test::GuestMode;

namespace {

long check(const Fd &fd, long cap)
{
	return ioctl_result(fd, KVM_CHECK_EXTENSION, static_cast<unsigned long>(cap));
}

long set_region(const Fd &vm, uint32_t slot, uint64_t gpa, const Mapping &mem, uint32_t flags = 0)
{
	kvm_userspace_memory_region r{};
	r.slot = slot;
	r.flags = flags;
	r.guest_phys_addr = gpa;
	r.memory_size = mem.size();
	r.userspace_addr = reinterpret_cast<uint64_t>(mem.get());
	return ioctl_result(vm, KVM_SET_USER_MEMORY_REGION, &r);
}

long delete_region(const Fd &vm, uint32_t slot)
{
	kvm_userspace_memory_region r{};
	r.slot = slot;
	return ioctl_result(vm, KVM_SET_USER_MEMORY_REGION, &r);
}

// KVM_IOEVENTFD of @len bytes at @addr; returns the eventfd.
Fd ioeventfd(const Fd &vm, uint64_t addr, uint32_t len, uint32_t flags, uint64_t datamatch = 0)
{
	Fd e = Fd::eventfd();
	kvm_ioeventfd a{};
	a.addr = addr;
	a.len = len;
	a.fd = e.get();
	a.flags = flags;
	a.datamatch = datamatch;
	ioctl_or_throw(vm, KVM_IOEVENTFD, "KVM_IOEVENTFD", &a);
	return e;
}

uint64_t signals(const Fd &eventfd)
{
	uint64_t v = 0;
	return ::read(eventfd.get(), &v, sizeof(v)) == sizeof(v) ? v : 0;
}

} // namespace

// Guest code runs from, and writes to, user memory given as a memslot.
KVMX_TEST(user_memory)
{
	Fd dev = open_device();
	ASSERT_EQ(check(dev, KVM_CAP_USER_MEMORY), 1L);
	// mov byte [0x1800],0x5a; hlt  (0x1800 is in the slot)
	TinyGuest g(dev, {0xc6, 0x06, 0x00, 0x18, 0x5a, 0xf4});
	ASSERT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_HLT));
	EXPECT_EQ(g.ram.as<uint8_t>()[0x800], 0x5a);
}

KVMX_TEST(set_tss_addr)
{
	Fd dev = open_device();
	ASSERT_EQ(check(dev, KVM_CAP_SET_TSS_ADDR), 1L);
	Fd vm(static_cast<int>(ioctl_or_throw(dev, KVM_CREATE_VM, "KVM_CREATE_VM")));
	EXPECT_EQ(ioctl_result(vm, KVM_SET_TSS_ADDR, 0xfffbd000UL), 0L);
	EXPECT_EQ(ioctl_result(vm, KVM_SET_TSS_ADDR, 0xfffff000UL), -EINVAL);
}

KVMX_TEST(set_identity_map_addr)
{
	Fd dev = open_device();
	ASSERT_EQ(check(dev, KVM_CAP_SET_IDENTITY_MAP_ADDR), 1L);
	Fd vm(static_cast<int>(ioctl_or_throw(dev, KVM_CREATE_VM, "KVM_CREATE_VM")));
	uint64_t addr = 0xfeffc000;
	EXPECT_EQ(ioctl_result(vm, KVM_SET_IDENTITY_MAP_ADDR, &addr), 0L);
	Fd vcpu(static_cast<int>(ioctl_or_throw(vm, KVM_CREATE_VCPU, "KVM_CREATE_VCPU")));
	EXPECT_EQ(ioctl_result(vm, KVM_SET_IDENTITY_MAP_ADDR, &addr), -EINVAL);
}

// The guest sees the CPUID table user space gave, built from the offer.
KVMX_TEST(ext_cpuid)
{
	Fd dev = open_device();
	ASSERT_EQ(check(dev, KVM_CAP_EXT_CPUID), 1L);
	constexpr uint32_t kMax = 100;
	std::vector<uint8_t> buf(sizeof(kvmx::abi::Cpuid2) + kMax * sizeof(kvm_cpuid_entry2));
	auto *cpuid = reinterpret_cast<kvmx::abi::Cpuid2 *>(buf.data());
	const kvm_cpuid_entry2 *entries = kvmx::abi::entries_of<kvm_cpuid_entry2>(cpuid);
	cpuid->nent = 1;
	EXPECT_EQ(ioctl_result(dev, KVM_GET_SUPPORTED_CPUID, cpuid), -E2BIG);
	cpuid->nent = kMax;
	ASSERT_EQ(ioctl_result(dev, KVM_GET_SUPPORTED_CPUID, cpuid), 0L);
	ASSERT_TRUE(cpuid->nent >= 2);
	const kvm_cpuid_entry2 *leaf1 = nullptr;
	for (uint32_t i = 0; i < cpuid->nent; i++)
		if (entries[i].function == 1)
			leaf1 = &entries[i];
	ASSERT_TRUE(leaf1 != nullptr);
	EXPECT_TRUE(leaf1->edx & (1u << 0));	 // an FPU

	// mov eax,1; cpuid; hlt
	TinyGuest g(dev, {0x66, 0xb8, 0x01, 0x00, 0x00, 0x00, 0x0f, 0xa2, 0xf4});
	ASSERT_EQ(ioctl_result(g.vcpu, KVM_SET_CPUID2, cpuid), 0L);
	ASSERT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_HLT));
	kvm_regs r = g.regs();
	EXPECT_EQ(r.rcx & 0xffffffff, static_cast<uint64_t>(leaf1->ecx));
	EXPECT_EQ(r.rdx & 0xffffffff, static_cast<uint64_t>(leaf1->edx));
}

// KVM_SET/GET_NR_MMU_PAGES as KVM 6.1: at least 64; until set, the
// default follows the memory in memslots (one page per 50, at least 64),
// recomputed when a slot is created or deleted; once set, it stays.
KVMX_TEST(mmu_shadow_cache_control)
{
	Fd dev = open_device();
	ASSERT_EQ(check(dev, KVM_CAP_MMU_SHADOW_CACHE_CONTROL), 1L);
	Fd vm(static_cast<int>(ioctl_or_throw(dev, KVM_CREATE_VM, "KVM_CREATE_VM")));
	EXPECT_EQ(check(vm, KVM_CAP_MMU_SHADOW_CACHE_CONTROL), 1L);
	EXPECT_EQ(ioctl_result(vm, KVM_GET_NR_MMU_PAGES), 0L);

	// 64 MiB: 16384 pages, 327 MMU pages.
	Mapping big = Mapping::anonymous(64 << 20);
	ASSERT_EQ(set_region(vm, 0, 0, big), 0L);
	EXPECT_EQ(ioctl_result(vm, KVM_GET_NR_MMU_PAGES), 16384L / 50);
	Mapping small = Mapping::anonymous(0x1000);
	ASSERT_EQ(set_region(vm, 1, 64 << 20, small), 0L);
	EXPECT_EQ(ioctl_result(vm, KVM_GET_NR_MMU_PAGES), 16385L / 50);
	// Flag changes do not recompute; deleting does, down to the minimum.
	ASSERT_EQ(set_region(vm, 1, 64 << 20, small, KVM_MEM_LOG_DIRTY_PAGES), 0L);
	ASSERT_EQ(delete_region(vm, 0), 0L);
	EXPECT_EQ(ioctl_result(vm, KVM_GET_NR_MMU_PAGES), 64L);

	EXPECT_EQ(ioctl_result(vm, KVM_SET_NR_MMU_PAGES, 63UL), -EINVAL);
	EXPECT_EQ(ioctl_result(vm, KVM_SET_NR_MMU_PAGES, 0UL), -EINVAL);
	EXPECT_EQ(ioctl_result(vm, KVM_GET_NR_MMU_PAGES), 64L);
	EXPECT_EQ(ioctl_result(vm, KVM_SET_NR_MMU_PAGES, 1000UL), 0L);
	EXPECT_EQ(ioctl_result(vm, KVM_GET_NR_MMU_PAGES), 1000L);
	// Set by user space: memslot changes leave it alone.
	ASSERT_EQ(set_region(vm, 0, 0, big), 0L);
	EXPECT_EQ(ioctl_result(vm, KVM_GET_NR_MMU_PAGES), 1000L);
	EXPECT_EQ(ioctl_result(vm, KVM_SET_NR_MMU_PAGES, 64UL), 0L);
	EXPECT_EQ(ioctl_result(vm, KVM_GET_NR_MMU_PAGES), 64L);
}

// MSR_PLATFORM_INFO: user space sets it (the guest cannot), and the guest
// reads it while KVM_CAP_MSR_PLATFORM_INFO is on (the default); off, the
// guest's RDMSR is #GP (here a triple fault: the IDT is empty).
KVMX_TEST(msr_platform_info)
{
	Fd dev = open_device();
	ASSERT_EQ(check(dev, KVM_CAP_MSR_PLATFORM_INFO), 1L);
	constexpr uint32_t kMsr = 0xce;
	constexpr uint64_t kValue = 0x12345678ff00ULL;
	// mov ecx,0xce; rdmsr; hlt; (then) mov ecx,0xce; wrmsr; hlt
	TinyGuest g(dev, {0xb9, 0xce, 0x00, 0x00, 0x00, 0x0f, 0x32, 0xf4,
			  0xb9, 0xce, 0x00, 0x00, 0x00, 0x0f, 0x30, 0xf4},
		    kvmx::test::GuestMode::kProtected32);
	kvm_sregs s{};
	ioctl_or_throw(g.vcpu, KVM_GET_SREGS, "KVM_GET_SREGS", &s);
	s.idt.base = 0;
	s.idt.limit = 0;
	ioctl_or_throw(g.vcpu, KVM_SET_SREGS, "KVM_SET_SREGS", &s);

	struct {
		kvmx::abi::Msrs hdr;
		kvm_msr_entry e;
	} msrs{};
	msrs.hdr.nmsrs = 1;
	msrs.e.index = kMsr;
	msrs.e.data = kValue;
	ASSERT_EQ(ioctl_result(g.vcpu, KVM_SET_MSRS, &msrs), 1L);
	msrs.e.data = 0;
	ASSERT_EQ(ioctl_result(g.vcpu, KVM_GET_MSRS, &msrs), 1L);
	EXPECT_EQ(msrs.e.data, kValue);

	kvm_enable_cap cap{};
	cap.cap = KVM_CAP_MSR_PLATFORM_INFO;
	cap.flags = 1;
	EXPECT_EQ(ioctl_result(g.vm, KVM_ENABLE_CAP, &cap), -EINVAL);
	cap.flags = 0;

	// On by default: the guest reads the value.
	ASSERT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_HLT));
	kvm_regs r = g.regs();
	EXPECT_EQ(r.rax & 0xffffffff, kValue & 0xffffffff);
	EXPECT_EQ(r.rdx & 0xffffffff, kValue >> 32);
	// The guest's WRMSR is #GP.
	EXPECT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_SHUTDOWN));

	// Off: the guest's RDMSR is #GP; user space still reads it.
	TinyGuest off(dev, {0xb9, 0xce, 0x00, 0x00, 0x00, 0x0f, 0x32, 0xf4},
		      kvmx::test::GuestMode::kProtected32);
	ioctl_or_throw(off.vcpu, KVM_GET_SREGS, "KVM_GET_SREGS", &s);
	s.idt.limit = 0;
	ioctl_or_throw(off.vcpu, KVM_SET_SREGS, "KVM_SET_SREGS", &s);
	cap.args[0] = 1;
	ASSERT_EQ(ioctl_result(off.vm, KVM_ENABLE_CAP, &cap), 0L);
	cap.args[0] = 0;
	ASSERT_EQ(ioctl_result(off.vm, KVM_ENABLE_CAP, &cap), 0L);
	EXPECT_EQ(off.run_once(), static_cast<uint32_t>(KVM_EXIT_SHUTDOWN));
	msrs.e.data = 0;
	EXPECT_EQ(ioctl_result(off.vcpu, KVM_GET_MSRS, &msrs), 1L);
}

// KVM_GET_MSR_FEATURE_INDEX_LIST and KVM_GET_MSRS on the system fd: both
// devices list the microcode revision (MSR 0x8b), read as the host's; an
// MSR that is no feature ends the batch.  A vCPU's own starts at KVM's
// 0x100000000 and is set by user space.
KVMX_TEST(get_msr_features)
{
	Fd dev = open_device();
	ASSERT_EQ(check(dev, KVM_CAP_GET_MSR_FEATURES), 1L);
	std::vector<uint32_t> buf(1 + 256);
	auto *list = reinterpret_cast<kvmx::abi::MsrList *>(buf.data());
	list->nmsrs = 0;
	EXPECT_EQ(ioctl_result(dev, KVM_GET_MSR_FEATURE_INDEX_LIST, list), -E2BIG);
	uint32_t n = list->nmsrs;
	ASSERT_TRUE(n >= 1 && n <= 256);
	list->nmsrs = n;
	ASSERT_EQ(ioctl_result(dev, KVM_GET_MSR_FEATURE_INDEX_LIST, list), 0L);
	EXPECT_EQ(list->nmsrs, n);
	bool ucode = false;
	for (uint32_t i = 0; i < n; i++)
		ucode |= buf[1 + i] == 0x8b;
	EXPECT_TRUE(ucode);

	struct {
		kvmx::abi::Msrs hdr;
		kvm_msr_entry e[2];
	} msrs{};
	msrs.hdr.nmsrs = 2;
	msrs.e[0].index = 0x8b;
	msrs.e[1].index = 0x12345; // no MSR at all
	EXPECT_EQ(ioctl_result(dev, KVM_GET_MSRS, &msrs), 1L);
	msrs.hdr.nmsrs = 256;
	EXPECT_EQ(ioctl_result(dev, KVM_GET_MSRS, &msrs), -E2BIG);

	TinyGuest g(dev, {0xf4});
	msrs.hdr.nmsrs = 1;
	msrs.e[0].data = 0;
	ASSERT_EQ(ioctl_result(g.vcpu, KVM_GET_MSRS, &msrs), 1L);
	EXPECT_EQ(msrs.e[0].data, 0x100000000ULL);
	msrs.e[0].data = 0x4200000000ULL;
	ASSERT_EQ(ioctl_result(g.vcpu, KVM_SET_MSRS, &msrs), 1L);
	msrs.e[0].data = 0;
	ASSERT_EQ(ioctl_result(g.vcpu, KVM_GET_MSRS, &msrs), 1L);
	EXPECT_EQ(msrs.e[0].data, 0x4200000000ULL);
}

KVMX_TEST(mp_state)
{
	Fd dev = open_device();
	ASSERT_EQ(check(dev, KVM_CAP_MP_STATE), 1L);
	TinyGuest g(dev, {0xf4});
	kvm_mp_state mp{};
	ASSERT_EQ(ioctl_result(g.vcpu, KVM_GET_MP_STATE, &mp), 0L);
	EXPECT_EQ(mp.mp_state, static_cast<uint32_t>(KVM_MP_STATE_RUNNABLE));
	EXPECT_EQ(ioctl_result(g.vcpu, KVM_SET_MP_STATE, &mp), 0L);
}

// Deleting a slot takes its memory away from the guest: the same access
// becomes MMIO.
KVMX_TEST(destroy_memory_region_works)
{
	Fd dev = open_device();
	ASSERT_EQ(check(dev, KVM_CAP_DESTROY_MEMORY_REGION_WORKS), 1L);
	// mov al,[0x3000]; hlt
	TinyGuest g(dev, {0xa0, 0x00, 0x30, 0xf4});
	Mapping data = Mapping::anonymous(0x1000);
	data.as<uint8_t>()[0] = 0x11;
	ASSERT_EQ(set_region(g.vm, 1, 0x3000, data), 0L);
	ASSERT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_HLT));
	EXPECT_EQ(g.regs().rax & 0xff, 0x11ULL);

	ASSERT_EQ(delete_region(g.vm, 1), 0L);
	kvm_regs r = g.regs();
	r.rip = TinyGuest::kCodeGpa;
	ioctl_or_throw(g.vcpu, KVM_SET_REGS, "KVM_SET_REGS", &r);
	ASSERT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_MMIO));
	EXPECT_EQ(g.run()->mmio.phys_addr, 0x3000ULL);
	EXPECT_EQ(delete_region(g.vm, 1), -EINVAL); // gone already
}

// Two adjacent slots act as one range: a word that straddles them.
KVMX_TEST(join_memory_regions_works)
{
	Fd dev = open_device();
	ASSERT_EQ(check(dev, KVM_CAP_JOIN_MEMORY_REGIONS_WORKS), 1L);
	// mov ax,[0x3fff]; hlt
	TinyGuest g(dev, {0xa1, 0xff, 0x3f, 0xf4});
	Mapping low = Mapping::anonymous(0x1000), high = Mapping::anonymous(0x1000);
	low.as<uint8_t>()[0xfff] = 0xcd;
	high.as<uint8_t>()[0] = 0xab;
	ASSERT_EQ(set_region(g.vm, 1, 0x3000, low), 0L);
	ASSERT_EQ(set_region(g.vm, 2, 0x4000, high), 0L);
	ASSERT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_HLT));
	EXPECT_EQ(g.regs().rax & 0xffff, 0xabcdULL);
}

// Reads from a read-only slot are RAM; writes exit as MMIO, RAM untouched.
KVMX_TEST(readonly_mem)
{
	Fd dev = open_device();
	ASSERT_EQ(check(dev, KVM_CAP_READONLY_MEM), 1L);
	// mov al,[0x3000]; mov byte [0x3000],0x99; hlt
	TinyGuest g(dev, {0xa0, 0x00, 0x30, 0xc6, 0x06, 0x00, 0x30, 0x99, 0xf4});
	Mapping rom = Mapping::anonymous(0x1000);
	rom.as<uint8_t>()[0] = 0x42;
	ASSERT_EQ(set_region(g.vm, 1, 0x3000, rom, KVM_MEM_READONLY), 0L);
	ASSERT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_MMIO));
	EXPECT_EQ(g.run()->mmio.phys_addr, 0x3000ULL);
	EXPECT_EQ(g.run()->mmio.is_write, 1);
	EXPECT_EQ(g.run()->mmio.data[0], 0x99);
	EXPECT_EQ(g.regs().rax & 0xff, 0x42ULL);
	ASSERT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_HLT));
	EXPECT_EQ(rom.as<uint8_t>()[0], 0x42);
}

KVMX_TEST(immediate_exit)
{
	Fd dev = open_device();
	ASSERT_EQ(check(dev, KVM_CAP_IMMEDIATE_EXIT), 1L);
	TinyGuest g(dev, {0xf4});
	g.run()->immediate_exit = 1;
	EXPECT_EQ(ioctl_result(g.vcpu, KVM_RUN), -EINTR);
	EXPECT_EQ(g.regs().rip, TinyGuest::kCodeGpa); // the guest did not run
	g.run()->immediate_exit = 0;
	EXPECT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_HLT));
}

// As many vCPUs as KVM_CAP_MAX_VCPUS says, ids up to KVM_CAP_MAX_VCPU_ID - 1.
KVMX_TEST(max_vcpus_and_ids)
{
	Fd dev = open_device();
	long max_vcpus = check(dev, KVM_CAP_MAX_VCPUS);
	long max_id = check(dev, KVM_CAP_MAX_VCPU_ID);
	ASSERT_TRUE(check(dev, KVM_CAP_NR_VCPUS) >= 1);
	ASSERT_TRUE(check(dev, KVM_CAP_NR_VCPUS) <= max_vcpus);
	ASSERT_TRUE(max_vcpus >= 4 && max_id >= max_vcpus);
	Fd vm(static_cast<int>(ioctl_or_throw(dev, KVM_CREATE_VM, "KVM_CREATE_VM")));
	EXPECT_EQ(ioctl_result(vm, KVM_CREATE_VCPU, static_cast<unsigned long>(max_id)), -EINVAL);
	std::vector<Fd> vcpus;
	vcpus.emplace_back(static_cast<int>(
		ioctl_or_throw(vm, KVM_CREATE_VCPU, "KVM_CREATE_VCPU", max_id - 1)));
	EXPECT_EQ(ioctl_result(vm, KVM_CREATE_VCPU, static_cast<unsigned long>(max_id - 1)),
		  -EEXIST);
	// Filling up to the limit is cheap enough only for small limits.
	if (max_vcpus > 64)
		return;
	for (long id = 0; id < max_vcpus - 1; id++)
		vcpus.emplace_back(static_cast<int>(
			ioctl_or_throw(vm, KVM_CREATE_VCPU, "KVM_CREATE_VCPU", id)));
	EXPECT_EQ(ioctl_result(vm, KVM_CREATE_VCPU, static_cast<unsigned long>(max_vcpus)),
		  -EINVAL);
}

// KVM_ENABLE_CAP(KVM_CAP_MAX_VCPU_ID) lowers the id limit, once: before
// the first vCPU, which otherwise fixes it at the maximum.
KVMX_TEST(max_vcpu_id_enable)
{
	Fd dev = open_device();
	long max_id = check(dev, KVM_CAP_MAX_VCPU_ID);
	auto enable = [](const Fd &vm, uint64_t n) {
		kvm_enable_cap cap{};
		cap.cap = KVM_CAP_MAX_VCPU_ID;
		cap.args[0] = n;
		return ioctl_result(vm, KVM_ENABLE_CAP, &cap);
	};
	Fd vm(static_cast<int>(ioctl_or_throw(dev, KVM_CREATE_VM, "KVM_CREATE_VM")));
	EXPECT_EQ(enable(vm, static_cast<uint64_t>(max_id) + 1), -EINVAL);
	EXPECT_EQ(enable(vm, 8), 0L);
	EXPECT_EQ(enable(vm, 8), 0L);
	EXPECT_EQ(enable(vm, 9), -EINVAL);
	EXPECT_EQ(ioctl_result(vm, KVM_CREATE_VCPU, 8UL), -EINVAL);
	Fd vcpu(static_cast<int>(ioctl_or_throw(vm, KVM_CREATE_VCPU, "KVM_CREATE_VCPU", 7UL)));

	Fd vm2(static_cast<int>(ioctl_or_throw(dev, KVM_CREATE_VM, "KVM_CREATE_VM")));
	Fd vcpu2(static_cast<int>(ioctl_or_throw(vm2, KVM_CREATE_VCPU, "KVM_CREATE_VCPU", 0UL)));
	EXPECT_EQ(enable(vm2, 8), -EINVAL);
	EXPECT_EQ(enable(vm2, static_cast<uint64_t>(max_id)), 0L);
}

// Slot ids 0 .. KVM_CAP_NR_MEMSLOTS - 1 are usable.
KVMX_TEST(nr_memslots)
{
	Fd dev = open_device();
	long nr = check(dev, KVM_CAP_NR_MEMSLOTS);
	ASSERT_TRUE(nr >= 509);
	Fd vm(static_cast<int>(ioctl_or_throw(dev, KVM_CREATE_VM, "KVM_CREATE_VM")));
	Mapping mem = Mapping::anonymous(0x1000);
	EXPECT_EQ(set_region(vm, static_cast<uint32_t>(nr - 1), 0x100000, mem), 0L);
	EXPECT_EQ(set_region(vm, 0x8000, 0x200000, mem), -EINVAL); // beyond any limit
}

// The stats fds of a VM and of a vCPU begin with KVM's header
// (stats_fd checks the rest of the format and the counters).
KVMX_TEST(binary_stats_fd)
{
	Fd dev = open_device();
	ASSERT_EQ(check(dev, KVM_CAP_BINARY_STATS_FD), 1L);
	TinyGuest g(dev, {0xf4});
	ASSERT_EQ(check(g.vm, KVM_CAP_BINARY_STATS_FD), 1L);
	for (const Fd *owner : {&g.vm, &g.vcpu}) {
		Fd stats(static_cast<int>(
			ioctl_or_throw(*owner, KVM_GET_STATS_FD, "KVM_GET_STATS_FD")));
		kvm_stats_header h{};
		ASSERT_EQ(::pread(stats.get(), &h, sizeof(h), 0), static_cast<ssize_t>(sizeof(h)));
		EXPECT_EQ(h.flags, 0u);
		EXPECT_EQ(h.id_offset, static_cast<uint32_t>(sizeof(h)));
		EXPECT_TRUE(h.num_desc > 0);
		EXPECT_TRUE(h.data_offset > h.desc_offset);
	}
}

// An OUT that a registration takes signals its eventfd, and the guest
// reaches its HLT without KVM_EXIT_IO (selftests/ioeventfd.cc has the rest).
KVMX_TEST(ioeventfd)
{
	Fd dev = open_device();
	ASSERT_EQ(check(dev, KVM_CAP_IOEVENTFD), 1L);
	// mov al,0x5a; out 0xe0,al; hlt
	TinyGuest g(dev, {0xb0, 0x5a, 0xe6, 0xe0, 0xf4});
	ASSERT_EQ(check(g.vm, KVM_CAP_IOEVENTFD), 1L);
	Fd e = ioeventfd(g.vm, 0xe0, 1, KVM_IOEVENTFD_FLAG_PIO | KVM_IOEVENTFD_FLAG_DATAMATCH,
			 0x5a);
	ASSERT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_HLT));
	EXPECT_EQ(signals(e), 1ULL);
}

// Length 0 on a port: OUTs of any size there are taken.
KVMX_TEST(ioeventfd_any_length)
{
	Fd dev = open_device();
	ASSERT_EQ(check(dev, KVM_CAP_IOEVENTFD_ANY_LENGTH), 1L);
	// mov ax,0x1234; out 0xe0,ax; out 0xe0,al; hlt
	TinyGuest g(dev, {0xb8, 0x34, 0x12, 0xe7, 0xe0, 0xe6, 0xe0, 0xf4});
	Fd e = ioeventfd(g.vm, 0xe0, 0, KVM_IOEVENTFD_FLAG_PIO);
	ASSERT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_HLT));
	EXPECT_EQ(signals(e), 2ULL);
}

// Length 0 on an MMIO address: writes of any size there are taken.
KVMX_TEST(ioeventfd_no_length)
{
	Fd dev = open_device();
	ASSERT_EQ(check(dev, KVM_CAP_IOEVENTFD_NO_LENGTH), 1L);
	// mov ax,0x1234; mov [0x2000],al; mov [0x2000],ax; hlt  (0x2000: no RAM)
	TinyGuest g(dev, {0xb8, 0x34, 0x12, 0xa2, 0x00, 0x20, 0xa3, 0x00, 0x20, 0xf4});
	Fd e = ioeventfd(g.vm, 0x2000, 0, 0);
	ASSERT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_HLT));
	EXPECT_EQ(signals(e), 2ULL);
}

namespace {

void create_irqchip(const Fd &vm)
{
	ioctl_or_throw(vm, KVM_CREATE_IRQCHIP, "KVM_CREATE_IRQCHIP");
}

} // namespace

// The PICs answer their ports in the kernel: IN from 0x21 does not exit.
KVMX_TEST(irqchip)
{
	Fd dev = open_device();
	ASSERT_EQ(check(dev, KVM_CAP_IRQCHIP), 1L);
	// in al,0x21; out 0x80,al
	TinyGuest g(dev, {0xe4, 0x21, 0xe6, 0x80}, GuestMode::kReal, create_irqchip);
	ASSERT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_IO));
	EXPECT_EQ(g.run()->io.port, 0x80);
	EXPECT_EQ(ioctl_result(g.vm, KVM_CREATE_IRQCHIP), -EEXIST);
}

// GSIs 0 .. KVM_CAP_IRQ_ROUTING - 1 can be routed.
KVMX_TEST(irq_routing)
{
	Fd dev = open_device();
	long max = check(dev, KVM_CAP_IRQ_ROUTING);
	ASSERT_TRUE(max >= 24);
	TinyGuest g(dev, {0xf4}, GuestMode::kReal, create_irqchip);
	alignas(8) uint8_t buf[sizeof(kvmx::abi::IrqRouting) + sizeof(kvm_irq_routing_entry)]{};
	auto *hdr = reinterpret_cast<kvmx::abi::IrqRouting *>(buf);
	auto *e = kvmx::abi::entries_of<kvm_irq_routing_entry>(hdr);
	hdr->nr = 1;
	e->gsi = static_cast<uint32_t>(max - 1);
	e->type = KVM_IRQ_ROUTING_MSI;
	e->u.msi.address_lo = 0xfee00000;
	e->u.msi.data = 0x40;
	EXPECT_EQ(ioctl_result(g.vm, KVM_SET_GSI_ROUTING, hdr), 0L);
	e->gsi = static_cast<uint32_t>(max);
	EXPECT_EQ(ioctl_result(g.vm, KVM_SET_GSI_ROUTING, hdr), -EINVAL);
}

// KVM_IRQ_LINE_STATUS says what became of the line: a masked IOAPIC pin
// that no PIC shares took nothing.
KVMX_TEST(irq_inject_status)
{
	Fd dev = open_device();
	ASSERT_EQ(check(dev, KVM_CAP_IRQ_INJECT_STATUS), 1L);
	TinyGuest g(dev, {0xf4}, GuestMode::kReal, create_irqchip);
	kvm_irq_level l{};
	l.irq = 20;
	l.level = 1;
	ASSERT_EQ(ioctl_result(g.vm, KVM_IRQ_LINE_STATUS, &l), 0L);
	EXPECT_EQ(l.status, -1);
}

// KVM_SIGNAL_MSI needs an irqchip and no flags but KVM_MSI_VALID_DEVID.
KVMX_TEST(signal_msi)
{
	Fd dev = open_device();
	ASSERT_EQ(check(dev, KVM_CAP_SIGNAL_MSI), 1L);
	kvm_msi msi{};
	msi.address_lo = 0xfee00000;
	msi.data = 0x40;
	TinyGuest plain(dev, {0xf4});
	EXPECT_EQ(ioctl_result(plain.vm, KVM_SIGNAL_MSI, &msi), -EINVAL);
	TinyGuest g(dev, {0xf4}, GuestMode::kReal, create_irqchip);
	EXPECT_TRUE(ioctl_result(g.vm, KVM_SIGNAL_MSI, &msi) >= 0);
	msi.flags = 2;
	EXPECT_EQ(ioctl_result(g.vm, KVM_SIGNAL_MSI, &msi), -EINVAL);
}

// The split irqchip is the LAPICs alone: no PIC, no IOAPIC state.
KVMX_TEST(split_irqchip)
{
	Fd dev = open_device();
	ASSERT_EQ(check(dev, KVM_CAP_SPLIT_IRQCHIP), 1L);
	auto split = [](const Fd &vm) {
		kvm_enable_cap cap{};
		cap.cap = KVM_CAP_SPLIT_IRQCHIP;
		cap.args[0] = 24;
		ioctl_or_throw(vm, KVM_ENABLE_CAP, "KVM_ENABLE_CAP", &cap);
		EXPECT_EQ(ioctl_result(vm, KVM_ENABLE_CAP, &cap), -EEXIST);
	};
	// in al,0x21 exits: the PIC is user space's.
	TinyGuest g(dev, {0xe4, 0x21}, GuestMode::kReal, split);
	ASSERT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_IO));
	EXPECT_EQ(g.run()->io.port, 0x21);
	kvm_irqchip chip{};
	EXPECT_EQ(ioctl_result(g.vm, KVM_GET_IRQCHIP, &chip), -ENXIO);
	kvm_lapic_state s{};
	EXPECT_EQ(ioctl_result(g.vcpu, KVM_GET_LAPIC, &s), 0L);
}

// A signal on an irqfd is an edge on its GSI: GSI 3 reaches the master
// PIC, whose IRR keeps it (selftests/irqfd.cc delivers to guests).
KVMX_TEST(irqfd)
{
	Fd dev = open_device();
	ASSERT_EQ(check(dev, KVM_CAP_IRQFD), 1L);
	Fd vm(static_cast<int>(ioctl_or_throw(dev, KVM_CREATE_VM, "KVM_CREATE_VM")));
	ASSERT_EQ(check(vm, KVM_CAP_IRQFD), 1L);
	create_irqchip(vm);
	Fd e(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
	ASSERT_TRUE(e.valid());
	kvm_irqfd a{};
	a.fd = static_cast<uint32_t>(e.get());
	a.gsi = 3;
	ASSERT_EQ(ioctl_result(vm, KVM_IRQFD, &a), 0L);
	uint64_t one = 1;
	ASSERT_EQ(::write(e.get(), &one, sizeof(one)), static_cast<ssize_t>(sizeof(one)));
	// The injection runs from a workqueue, in KVM too.
	kvm_irqchip chip{};
	for (int i = 0; i < 200; i++) {
		chip.chip_id = KVM_IRQCHIP_PIC_MASTER;
		ASSERT_EQ(ioctl_result(vm, KVM_GET_IRQCHIP, &chip), 0L);
		if (chip.chip.pic.irr & (1u << 3))
			break;
		::usleep(10000);
	}
	EXPECT_EQ(chip.chip.pic.irr & (1u << 3), 1u << 3);
}

// KVM_CREATE_PIT makes the in-kernel PIT (with port 0x61, as
// KVM_PIT_SPEAKER_DUMMY) in its reset state; KVM_GET_PIT reads it
// (selftests/pit.cc runs guests on it).
KVMX_TEST(pit)
{
	Fd dev = open_device();
	ASSERT_EQ(check(dev, KVM_CAP_PIT), 1L);
	Fd vm(static_cast<int>(ioctl_or_throw(dev, KVM_CREATE_VM, "KVM_CREATE_VM")));
	create_irqchip(vm);
	ASSERT_EQ(ioctl_result(vm, KVM_CREATE_PIT), 0L);
	kvm_pit_state s{};
	ASSERT_EQ(ioctl_result(vm, KVM_GET_PIT, &s), 0L);
	EXPECT_EQ(s.channels[0].count, 0x10000u);
	EXPECT_EQ(s.channels[0].mode, 0xff);
	EXPECT_EQ(s.channels[2].gate, 0);
}

// KVM_CREATE_PIT2 with its config; once only.
KVMX_TEST(pit2)
{
	Fd dev = open_device();
	ASSERT_EQ(check(dev, KVM_CAP_PIT2), 1L);
	Fd vm(static_cast<int>(ioctl_or_throw(dev, KVM_CREATE_VM, "KVM_CREATE_VM")));
	create_irqchip(vm);
	kvm_pit_config c{};
	c.flags = KVM_PIT_SPEAKER_DUMMY;
	ASSERT_EQ(ioctl_result(vm, KVM_CREATE_PIT2, &c), 0L);
	EXPECT_EQ(ioctl_result(vm, KVM_CREATE_PIT2, &c), -EEXIST);
}

// KVM_GET/SET_PIT2 carry the flags (HPET legacy mode) besides the channels.
KVMX_TEST(pit_state2)
{
	Fd dev = open_device();
	ASSERT_EQ(check(dev, KVM_CAP_PIT_STATE2), 1L);
	Fd vm(static_cast<int>(ioctl_or_throw(dev, KVM_CREATE_VM, "KVM_CREATE_VM")));
	create_irqchip(vm);
	kvm_pit_config c{};
	ASSERT_EQ(ioctl_result(vm, KVM_CREATE_PIT2, &c), 0L);
	kvm_pit_state2 s{};
	ASSERT_EQ(ioctl_result(vm, KVM_GET_PIT2, &s), 0L);
	s.flags = KVM_PIT_FLAGS_HPET_LEGACY;
	s.channels[0].mode = 2;
	s.channels[0].count = 1000;
	ASSERT_EQ(ioctl_result(vm, KVM_SET_PIT2, &s), 0L);
	kvm_pit_state2 g{};
	ASSERT_EQ(ioctl_result(vm, KVM_GET_PIT2, &g), 0L);
	EXPECT_EQ(g.flags, uint32_t(KVM_PIT_FLAGS_HPET_LEGACY));
	EXPECT_EQ(g.channels[0].mode, 2);
	EXPECT_EQ(g.channels[0].count, 1000u);
}

// KVM_REINJECT_CONTROL switches the PIT's tick reinjection (pit.cc shows
// its effect on a guest); -ENXIO without a PIT.
KVMX_TEST(reinject_control)
{
	Fd dev = open_device();
	ASSERT_EQ(check(dev, KVM_CAP_REINJECT_CONTROL), 1L);
	Fd vm(static_cast<int>(ioctl_or_throw(dev, KVM_CREATE_VM, "KVM_CREATE_VM")));
	create_irqchip(vm);
	kvm_reinject_control rc{};
	EXPECT_EQ(ioctl_result(vm, KVM_REINJECT_CONTROL, &rc), -ENXIO);
	kvm_pit_config c{};
	ASSERT_EQ(ioctl_result(vm, KVM_CREATE_PIT2, &c), 0L);
	EXPECT_EQ(ioctl_result(vm, KVM_REINJECT_CONTROL, &rc), 0L);
	rc.pit_reinject = 1;
	EXPECT_EQ(ioctl_result(vm, KVM_REINJECT_CONTROL, &rc), 0L);
}
