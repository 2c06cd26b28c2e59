// SPDX-License-Identifier: GPL-2.0
// KVM's x86 knobs for VMMs and paravirtual guests, on /dev/kvmx and
// /dev/kvm alike: KVM_SET_BOOT_CPU_ID, KVM_CAP_DISABLE_QUIRKS(2) with each
// of 6.1's quirks on and off, the hypercalls (VMCALL, and VMMCALL rewritten
// into it), KVM_CAP_ENFORCE_PV_FEATURE_CPUID, IA32_TSC_ADJUST, and the
// features KVM emulates whatever the host has (x2APIC, TSC_ADJUST).
// Linux's own tests (set_boot_cpu_id, fix_hypercall_test,
// monitor_mwait_test, kvm_pv_test, tsc_msrs_test, xapic_state_test) cover
// more of each; these cases are the capabilities' own proofs
// (system_ioctls' check_extension).
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <string>
#include "lib/kvm_abi.h"
#include <vector>

#include "lib/stats.h"
#include "lib/sys.h"
#include "lib/test.h"
#include "lib/tiny_guest.h"

using kvmx::Fd;
using kvmx::ioctl_or_throw;
using kvmx::ioctl_result;
using kvmx::test::GuestMode;
using kvmx::test::open_device;
using kvmx::test::TinyGuest;

namespace {

constexpr uint32_t kApicBase = 0x1b, kTscAdjust = 0x3b, kTsc = 0x10, kMiscEnable = 0x1a0;
constexpr uint32_t kSystemTime = 0x12;
constexpr uint64_t kApicBsp = 1u << 8;
constexpr uint32_t kCpuidMwait = 1u << 3, kCpuidX2apic = 1u << 21, kCpuidSse3 = 1u << 0;
constexpr uint32_t kCpuidTscAdjust = 1u << 1;
constexpr uint64_t kMiscEnableMwait = 1u << 18;
constexpr uint64_t kAllQuirks = 0x7f; // KVM_X86_VALID_QUIRKS of 6.1

long check(const Fd &fd, long cap)
{
	return ioctl_result(fd, KVM_CHECK_EXTENSION, static_cast<unsigned long>(cap));
}

long enable_cap(const Fd &fd, uint32_t cap, uint64_t arg0, uint32_t flags = 0)
{
	kvm_enable_cap c{};
	c.cap = cap;
	c.flags = flags;
	c.args[0] = arg0;
	return ioctl_result(fd, KVM_ENABLE_CAP, &c);
}

struct OneMsr {
	kvmx::abi::Msrs hdr;
	kvm_msr_entry e;
};

uint64_t get_msr(const Fd &vcpu, uint32_t index)
{
	OneMsr m{};
	m.hdr.nmsrs = 1;
	m.e.index = index;
	if (ioctl_result(vcpu, KVM_GET_MSRS, &m) != 1)
		throw std::runtime_error("KVM_GET_MSRS of " + std::to_string(index) + " failed");
	return m.e.data;
}

long set_msr(const Fd &vcpu, uint32_t index, uint64_t value)
{
	OneMsr m{};
	m.hdr.nmsrs = 1;
	m.e.index = index;
	m.e.data = value;
	return ioctl_result(vcpu, KVM_SET_MSRS, &m);
}

std::vector<kvm_cpuid_entry2> supported_cpuid(const Fd &dev)
{
	std::vector<uint8_t> buf(sizeof(kvmx::abi::Cpuid2) + 256 * sizeof(kvm_cpuid_entry2));
	auto *hdr = reinterpret_cast<kvmx::abi::Cpuid2 *>(buf.data());
	hdr->nent = 256;
	ioctl_or_throw(dev, KVM_GET_SUPPORTED_CPUID, "KVM_GET_SUPPORTED_CPUID", buf.data());
	auto *e = reinterpret_cast<kvm_cpuid_entry2 *>(buf.data() + sizeof(kvmx::abi::Cpuid2));
	return {e, e + hdr->nent};
}

kvm_cpuid_entry2 *leaf(std::vector<kvm_cpuid_entry2> &c, uint32_t fn)
{
	for (auto &e : c)
		if (e.function == fn && e.index == 0)
			return &e;
	return nullptr;
}

void set_cpuid(const Fd &vcpu, const std::vector<kvm_cpuid_entry2> &c)
{
	std::vector<uint8_t> buf(sizeof(kvmx::abi::Cpuid2) + c.size() * sizeof(kvm_cpuid_entry2));
	reinterpret_cast<kvmx::abi::Cpuid2 *>(buf.data())->nent = c.size();
	std::memcpy(buf.data() + sizeof(kvmx::abi::Cpuid2), c.data(),
		    c.size() * sizeof(kvm_cpuid_entry2));
	ioctl_or_throw(vcpu, KVM_SET_CPUID2, "KVM_SET_CPUID2", buf.data());
}

std::vector<kvm_cpuid_entry2> get_cpuid(const Fd &vcpu)
{
	std::vector<uint8_t> buf(sizeof(kvmx::abi::Cpuid2) + 256 * sizeof(kvm_cpuid_entry2));
	auto *hdr = reinterpret_cast<kvmx::abi::Cpuid2 *>(buf.data());
	hdr->nent = 256;
	ioctl_or_throw(vcpu, KVM_GET_CPUID2, "KVM_GET_CPUID2", buf.data());
	auto *e = reinterpret_cast<kvm_cpuid_entry2 *>(buf.data() + sizeof(kvmx::abi::Cpuid2));
	return {e, e + hdr->nent};
}

// A guest without an IDT: any exception it takes is a triple fault.
void no_idt(TinyGuest &g)
{
	kvm_sregs s{};
	ioctl_or_throw(g.vcpu, KVM_GET_SREGS, "KVM_GET_SREGS", &s);
	s.idt.base = 0;
	s.idt.limit = 0;
	ioctl_or_throw(g.vcpu, KVM_SET_SREGS, "KVM_SET_SREGS", &s);
}

uint32_t lapic_reg(const Fd &vcpu, uint32_t off)
{
	kvm_lapic_state s{};
	ioctl_or_throw(vcpu, KVM_GET_LAPIC, "KVM_GET_LAPIC", &s);
	uint32_t v;
	std::memcpy(&v, s.regs + off, 4);
	return v;
}

// Whether the running kernel uses XSAVE: "xsave" in /proc/cpuinfo's flags.
bool kernel_has_xsave()
{
	std::ifstream in("/proc/cpuinfo");
	std::string line;
	while (std::getline(in, line))
		if (line.rfind("flags", 0) == 0)
			return (" " + line + " ").find(" xsave ") != std::string::npos;
	return false;
}

} // namespace

// KVM emulates x2APIC and IA32_TSC_ADJUST in software: both are offered
// whatever the host CPU has.
KVMX_TEST(emulated_features_offered)
{
	Fd dev = open_device();
	auto c = supported_cpuid(dev);
	kvm_cpuid_entry2 *l1 = leaf(c, 1), *l7 = leaf(c, 7);
	ASSERT_TRUE(l1 != nullptr);
	ASSERT_TRUE(l7 != nullptr);
	EXPECT_EQ(l1->ecx & kCpuidX2apic, kCpuidX2apic);
	EXPECT_EQ(l7->ebx & kCpuidTscAdjust, kCpuidTscAdjust);
}

// KVM_SET_BOOT_CPU_ID: the vCPU with that id leaves RESET as the BSP
// (IA32_APIC_BASE.BSP, RUNNABLE with an irqchip, LINT0 in ExtINT mode),
// the others as APs; -EBUSY once a vCPU exists.
KVMX_TEST(set_boot_cpu_id)
{
	Fd dev = open_device();
	ASSERT_EQ(check(dev, KVM_CAP_SET_BOOT_CPU_ID), 1L);
	for (bool irqchip : {false, true}) {
		Fd vm(static_cast<int>(ioctl_or_throw(dev, KVM_CREATE_VM, "KVM_CREATE_VM")));
		if (irqchip)
			ioctl_or_throw(vm, KVM_CREATE_IRQCHIP, "KVM_CREATE_IRQCHIP");
		EXPECT_EQ(ioctl_result(vm, KVM_SET_BOOT_CPU_ID, 5UL), 0L);
		EXPECT_EQ(ioctl_result(vm, KVM_SET_BOOT_CPU_ID, 1UL), 0L); // again: the last wins
		Fd v0(static_cast<int>(ioctl_or_throw(vm, KVM_CREATE_VCPU, "KVM_CREATE_VCPU", 0UL)));
		EXPECT_EQ(ioctl_result(vm, KVM_SET_BOOT_CPU_ID, 0UL), -EBUSY);
		Fd v1(static_cast<int>(ioctl_or_throw(vm, KVM_CREATE_VCPU, "KVM_CREATE_VCPU", 1UL)));
		EXPECT_EQ(get_msr(v0, kApicBase) & kApicBsp, 0ULL);
		EXPECT_EQ(get_msr(v1, kApicBase) & kApicBsp, kApicBsp);
		if (!irqchip)
			continue;
		kvm_mp_state mp{};
		ioctl_or_throw(v0, KVM_GET_MP_STATE, "KVM_GET_MP_STATE", &mp);
		EXPECT_EQ(mp.mp_state, static_cast<uint32_t>(KVM_MP_STATE_UNINITIALIZED));
		ioctl_or_throw(v1, KVM_GET_MP_STATE, "KVM_GET_MP_STATE", &mp);
		EXPECT_EQ(mp.mp_state, static_cast<uint32_t>(KVM_MP_STATE_RUNNABLE));
		EXPECT_EQ(lapic_reg(v0, 0x350), 0x10000u); // LVT0 masked
		EXPECT_EQ(lapic_reg(v1, 0x350), 0x700u);   // LVT0 ExtINT
	}
}

// KVM_CAP_DISABLE_QUIRKS: the old form, any bits, no check.
KVMX_TEST(disable_quirks)
{
	Fd dev = open_device();
	ASSERT_EQ(check(dev, KVM_CAP_DISABLE_QUIRKS), 1L);
	Fd vm(static_cast<int>(ioctl_or_throw(dev, KVM_CREATE_VM, "KVM_CREATE_VM")));
	EXPECT_EQ(enable_cap(vm, KVM_CAP_DISABLE_QUIRKS, ~0ULL), 0L);
	EXPECT_EQ(enable_cap(vm, KVM_CAP_DISABLE_QUIRKS, 0, 1), -EINVAL);
	// It disables what it names: LINT0 of the BSP stays masked.
	ASSERT_EQ(enable_cap(vm, KVM_CAP_DISABLE_QUIRKS, 1), 0L); // LINT0_REENABLED
	ioctl_or_throw(vm, KVM_CREATE_IRQCHIP, "KVM_CREATE_IRQCHIP");
	Fd v0(static_cast<int>(ioctl_or_throw(vm, KVM_CREATE_VCPU, "KVM_CREATE_VCPU", 0UL)));
	EXPECT_EQ(lapic_reg(v0, 0x350), 0x10000u);
}

// KVM_CAP_DISABLE_QUIRKS2: the quirks of 6.1, each on by default and off
// on request.
KVMX_TEST(disable_quirks2)
{
	Fd dev = open_device();
	ASSERT_EQ(check(dev, KVM_CAP_DISABLE_QUIRKS2), static_cast<long>(kAllQuirks));
	{
		Fd vm(static_cast<int>(ioctl_or_throw(dev, KVM_CREATE_VM, "KVM_CREATE_VM")));
		EXPECT_EQ(enable_cap(vm, KVM_CAP_DISABLE_QUIRKS2, kAllQuirks + 1), -EINVAL);
		EXPECT_EQ(enable_cap(vm, KVM_CAP_DISABLE_QUIRKS2, kAllQuirks, 1), -EINVAL);
		EXPECT_EQ(enable_cap(vm, KVM_CAP_DISABLE_QUIRKS2, kAllQuirks), 0L);
	}

	// OUT_7E_INC_RIP: "out 0x7e, al" exits with RIP past it while the quirk is on.
	for (bool off : {false, true}) {
		TinyGuest g(dev, {0xe6, 0x7e, 0xf4}, GuestMode::kReal);
		if (off)
			ASSERT_EQ(enable_cap(g.vm, KVM_CAP_DISABLE_QUIRKS2,
					     KVM_X86_QUIRK_OUT_7E_INC_RIP), 0L);
		ASSERT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_IO));
		EXPECT_EQ(g.run()->io.port, 0x7e);
		EXPECT_EQ(g.regs().rip, off ? 0x1000ULL : 0x1002ULL);
		ASSERT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_HLT));
		EXPECT_EQ(g.regs().rip, 0x1003ULL); // completed once either way
	}

	// MWAIT_NEVER_UD_FAULTS: MONITOR without CPUID.MONITOR is a no-op
	// while the quirk is on, #UD (here a triple fault) when it is off.
	for (bool off : {false, true}) {
		// xor eax,eax; xor ecx,ecx; xor edx,edx; monitor; mwait; hlt
		TinyGuest g(dev, {0x31, 0xc0, 0x31, 0xc9, 0x31, 0xd2, 0x0f, 0x01, 0xc8, 0x0f, 0x01,
				  0xc9, 0xf4},
			    GuestMode::kProtected32);
		no_idt(g);
		if (off)
			ASSERT_EQ(enable_cap(g.vm, KVM_CAP_DISABLE_QUIRKS2,
					     KVM_X86_QUIRK_MWAIT_NEVER_UD_FAULTS), 0L);
		EXPECT_EQ(g.run_once(), static_cast<uint32_t>(off ? KVM_EXIT_SHUTDOWN : KVM_EXIT_HLT));
	}

	// MISC_ENABLE_NO_MWAIT: with it off, IA32_MISC_ENABLE.MWAIT is CPUID's MONITOR bit.
	for (bool off : {false, true}) {
		TinyGuest g(dev, {0xf4});
		if (off)
			ASSERT_EQ(enable_cap(g.vm, KVM_CAP_DISABLE_QUIRKS2,
					     KVM_X86_QUIRK_MISC_ENABLE_NO_MWAIT), 0L);
		auto c = supported_cpuid(dev);
		kvm_cpuid_entry2 *l1 = leaf(c, 1);
		ASSERT_TRUE(l1 != nullptr);
		ASSERT_TRUE((l1->ecx & kCpuidSse3) != 0);
		l1->ecx &= ~kCpuidMwait;
		set_cpuid(g.vcpu, c);
		EXPECT_EQ(set_msr(g.vcpu, kMiscEnable, kMiscEnableMwait), 1L);
		EXPECT_EQ(get_msr(g.vcpu, kMiscEnable) & kMiscEnableMwait, kMiscEnableMwait);
		auto now = get_cpuid(g.vcpu);
		kvm_cpuid_entry2 *n1 = leaf(now, 1);
		ASSERT_TRUE(n1 != nullptr);
		EXPECT_EQ(n1->ecx & kCpuidMwait, off ? kCpuidMwait : 0u);
	}

	// LAPIC_MMIO_HOLE: the page of a disabled APIC reads all-ones while
	// the quirk is on, and is an MMIO exit when it is off.
	for (bool off : {false, true}) {
		// mov eax, [0xfee00030]; out 0x10, al (with an irqchip, HLT would sleep)
		TinyGuest g(dev, {0xa1, 0x30, 0x00, 0xe0, 0xfe, 0xe6, 0x10}, GuestMode::kProtected32,
			    [&](const Fd &vm) {
				    ioctl_or_throw(vm, KVM_CREATE_IRQCHIP, "KVM_CREATE_IRQCHIP");
				    if (off)
					    ASSERT_EQ(enable_cap(vm, KVM_CAP_DISABLE_QUIRKS2,
								 KVM_X86_QUIRK_LAPIC_MMIO_HOLE),
						      0L);
			    });
		ASSERT_EQ(set_msr(g.vcpu, kApicBase, 0xfee00000ULL | kApicBsp), 1L);
		if (!off) {
			ASSERT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_IO));
			EXPECT_EQ(g.regs().rax & 0xffffffff, 0xffffffffULL);
			continue;
		}
		ASSERT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_MMIO));
		EXPECT_EQ(g.run()->mmio.phys_addr, 0xfee00030ULL);
		EXPECT_EQ(g.run()->mmio.is_write, 0);
	}

	// LINT0_REENABLED: the BSP's LINT0 is ExtINT at RESET only with the quirk.
	for (bool off : {false, true}) {
		Fd vm(static_cast<int>(ioctl_or_throw(dev, KVM_CREATE_VM, "KVM_CREATE_VM")));
		ioctl_or_throw(vm, KVM_CREATE_IRQCHIP, "KVM_CREATE_IRQCHIP");
		if (off)
			ASSERT_EQ(enable_cap(vm, KVM_CAP_DISABLE_QUIRKS2,
					     KVM_X86_QUIRK_LINT0_REENABLED), 0L);
		Fd v0(static_cast<int>(ioctl_or_throw(vm, KVM_CREATE_VCPU, "KVM_CREATE_VCPU", 0UL)));
		EXPECT_EQ(lapic_reg(v0, 0x350), off ? 0x10000u : 0x700u);
	}

	// FIX_HYPERCALL_INSN: AMD's VMMCALL is rewritten into VMCALL and runs
	// (KVM_HC_VAPIC_POLL_IRQ answers 0); with the quirk off it is #UD.
	for (bool off : {false, true}) {
		// mov eax, 1; vmmcall; hlt
		TinyGuest g(dev, {0xb8, 0x01, 0x00, 0x00, 0x00, 0x0f, 0x01, 0xd9, 0xf4},
			    GuestMode::kLong64);
		no_idt(g);
		if (off)
			ASSERT_EQ(enable_cap(g.vm, KVM_CAP_DISABLE_QUIRKS2,
					     KVM_X86_QUIRK_FIX_HYPERCALL_INSN), 0L);
		uint8_t *vmmcall = g.ram.as<uint8_t>() + 5;
		if (off) {
			EXPECT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_SHUTDOWN));
			EXPECT_EQ(vmmcall[2], 0xd9);
			continue;
		}
		ASSERT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_HLT));
		EXPECT_EQ(g.regs().rax, 0ULL);
		EXPECT_EQ(vmmcall[2], 0xc1);
	}
}

// VMCALL: KVM's hypercalls, the result in RAX: KVM_HC_VAPIC_POLL_IRQ and
// KVM_HC_SCHED_YIELD 0, an unknown number -KVM_ENOSYS (1000), and only
// 32 bits of them outside 64-bit mode.
KVMX_TEST(hypercalls)
{
	Fd dev = open_device();
	// mov rax, imm64 (0xffffffff00000001); mov ebx, 0; vmcall; hlt; mov eax, 11; vmcall;
	// hlt; mov eax, 0xffff; vmcall; hlt
	std::vector<uint8_t> code = {0x48, 0xb8, 0x01, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff,
				     0xbb, 0x00, 0x00, 0x00, 0x00, 0x0f, 0x01, 0xc1, 0xf4,
				     0xb8, 0x0b, 0x00, 0x00, 0x00, 0x0f, 0x01, 0xc1, 0xf4,
				     0xb8, 0xff, 0xff, 0x00, 0x00, 0x0f, 0x01, 0xc1, 0xf4};
	TinyGuest g(dev, code, GuestMode::kLong64);
	// 64-bit: all of RAX is the number, so this one is unknown.
	ASSERT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_HLT));
	EXPECT_EQ(g.regs().rax, static_cast<uint64_t>(-1000LL));
	ASSERT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_HLT));
	EXPECT_EQ(g.regs().rax, 0ULL); // KVM_HC_SCHED_YIELD
	ASSERT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_HLT));
	EXPECT_EQ(g.regs().rax, static_cast<uint64_t>(-1000LL));

	// 32-bit: mov eax, 1; vmcall; hlt (the upper half of RAX is not looked at)
	TinyGuest p(dev, {0xb8, 0x01, 0x00, 0x00, 0x00, 0x0f, 0x01, 0xc1, 0xf4},
		    GuestMode::kProtected32);
	kvm_regs r = p.regs();
	r.rax = 0xffffffff00000001ULL;
	p.set_regs(r);
	ASSERT_EQ(p.run_once(), static_cast<uint32_t>(KVM_EXIT_HLT));
	EXPECT_EQ(p.regs().rax & 0xffffffff, 0ULL);
	// mov eax, 0xffff; vmcall; hlt: -KVM_ENOSYS as 32 bits.
	TinyGuest q(dev, {0xb8, 0xff, 0xff, 0x00, 0x00, 0x0f, 0x01, 0xc1, 0xf4},
		    GuestMode::kProtected32);
	ASSERT_EQ(q.run_once(), static_cast<uint32_t>(KVM_EXIT_HLT));
	EXPECT_EQ(q.regs().rax, 0xfffffc18ULL);
}

// KVM_CAP_ENFORCE_PV_FEATURE_CPUID (a vCPU capability): with it, a PV
// feature the guest's KVM_CPUID_FEATURES leaf does not offer is not there:
// its hypercall is -KVM_ENOSYS, its MSRs #GP.
KVMX_TEST(enforce_pv_feature_cpuid)
{
	Fd dev = open_device();
	ASSERT_EQ(check(dev, KVM_CAP_ENFORCE_PV_FEATURE_CPUID), 1L);
	for (bool enforce : {false, true}) {
		// mov eax, 11 (KVM_HC_SCHED_YIELD); vmcall; hlt; mov ecx, 0x12; rdmsr; hlt
		TinyGuest g(dev, {0xb8, 0x0b, 0x00, 0x00, 0x00, 0x0f, 0x01, 0xc1, 0xf4, 0xb9, 0x12,
				  0x00, 0x00, 0x00, 0x0f, 0x32, 0xf4},
			    GuestMode::kProtected32);
		no_idt(g);
		EXPECT_EQ(enable_cap(g.vcpu, KVM_CAP_ENFORCE_PV_FEATURE_CPUID, 1, 1), -EINVAL);
		EXPECT_EQ(enable_cap(g.vcpu, KVM_CAP_ENFORCE_PV_FEATURE_CPUID, enforce), 0L);
		// The KVM signature leaf, and a features leaf that offers nothing.
		auto c = supported_cpuid(dev);
		kvm_cpuid_entry2 *f = leaf(c, 0x40000001);
		ASSERT_TRUE(f != nullptr);
		f->eax = f->ebx = f->ecx = f->edx = 0;
		set_cpuid(g.vcpu, c);
		ASSERT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_HLT));
		EXPECT_EQ(g.regs().rax & 0xffffffff, enforce ? 0xfffffc18ULL : 0ULL);
		// MSR_KVM_SYSTEM_TIME: 0 without enforcement, #GP with it.
		EXPECT_EQ(g.run_once(),
			  static_cast<uint32_t>(enforce ? KVM_EXIT_SHUTDOWN : KVM_EXIT_HLT));
	}
	// The only vCPU capability here: others are -EINVAL.
	TinyGuest g(dev, {0xf4});
	EXPECT_EQ(enable_cap(g.vcpu, KVM_CAP_SPLIT_IRQCHIP, 0), -EINVAL);
	EXPECT_EQ(set_msr(g.vcpu, kSystemTime, 0), 1L);
}

// IA32_TSC_ADJUST as KVM keeps it: in the MSRs to save; the guest's writes
// to IA32_TSC or IA32_TSC_ADJUST move both, user space's to IA32_TSC only
// the TSC, and user space's to IA32_TSC_ADJUST only the MSR.  Without the
// CPUID bit, writes are ignored.
KVMX_TEST(tsc_adjust)
{
	Fd dev = open_device();
	std::vector<uint32_t> list(1 + 1024);
	list[0] = 1024;
	ioctl_or_throw(dev, KVM_GET_MSR_INDEX_LIST, "KVM_GET_MSR_INDEX_LIST", list.data());
	EXPECT_TRUE(std::find(list.begin() + 1, list.begin() + 1 + list[0], kTscAdjust) !=
		    list.begin() + 1 + list[0]);

	constexpr uint64_t kStep = 1ULL << 40; // far above what the test's time adds
	auto near = [](uint64_t v, uint64_t want) {
		return (v > want ? v - want : want - v) < (1ULL << 36);
	};
	// wrmsr (TSC_ADJUST, from edx:eax); hlt; wrmsr (TSC); hlt
	TinyGuest g(dev, {0xb9, 0x3b, 0x00, 0x00, 0x00, 0x0f, 0x30, 0xf4, 0xb9, 0x10, 0x00, 0x00,
			  0x00, 0x0f, 0x30, 0xf4},
		    GuestMode::kProtected32);
	// Without the CPUID bit: user space's write is dropped.
	EXPECT_EQ(set_msr(g.vcpu, kTscAdjust, 5), 1L);
	EXPECT_EQ(get_msr(g.vcpu, kTscAdjust), 0ULL);
	auto c = supported_cpuid(dev);
	set_cpuid(g.vcpu, c);

	EXPECT_EQ(set_msr(g.vcpu, kTsc, kStep), 1L); // user space: the TSC only
	EXPECT_TRUE(near(get_msr(g.vcpu, kTsc), kStep));
	EXPECT_EQ(get_msr(g.vcpu, kTscAdjust), 0ULL);
	EXPECT_EQ(set_msr(g.vcpu, kTscAdjust, 7), 1L); // user space: the MSR only
	EXPECT_TRUE(near(get_msr(g.vcpu, kTsc), kStep));
	EXPECT_EQ(get_msr(g.vcpu, kTscAdjust), 7ULL);
	EXPECT_EQ(set_msr(g.vcpu, kTscAdjust, 0), 1L);

	kvm_regs r = g.regs();
	r.rax = 0;
	r.rdx = 2 * (kStep >> 32); // the guest: TSC_ADJUST = 2 * kStep
	g.set_regs(r);
	ASSERT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_HLT));
	EXPECT_EQ(get_msr(g.vcpu, kTscAdjust), 2 * kStep);
	EXPECT_TRUE(near(get_msr(g.vcpu, kTsc), 3 * kStep));
	r = g.regs();
	r.rax = 0;
	r.rdx = 5 * (kStep >> 32); // the guest: TSC = 5 * kStep
	g.set_regs(r);
	ASSERT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_HLT));
	EXPECT_TRUE(near(get_msr(g.vcpu, kTsc), 5 * kStep));
	EXPECT_TRUE(near(get_msr(g.vcpu, kTscAdjust), 4 * kStep));
}

// KVM_CAP_VCPU_ATTRIBUTES: KVM_HAS/GET/SET_DEVICE_ATTR on the vCPU, with
// one group and one attribute (KVM_VCPU_TSC_CTRL, KVM_VCPU_TSC_OFFSET):
// the guest's TSC is the host's plus the offset.
KVMX_TEST(vcpu_attributes)
{
	Fd dev = open_device();
	ASSERT_EQ(check(dev, KVM_CAP_VCPU_ATTRIBUTES), 1L);
	TinyGuest g(dev, {0xf4});
	uint64_t value = 0;
	kvm_device_attr a{};
	a.group = KVM_VCPU_TSC_CTRL;
	a.attr = KVM_VCPU_TSC_OFFSET;
	a.addr = reinterpret_cast<uint64_t>(&value);
	EXPECT_EQ(ioctl_result(g.vcpu, KVM_HAS_DEVICE_ATTR, &a), 0L);
	kvm_device_attr bad = a;
	bad.group = 1;
	EXPECT_EQ(ioctl_result(g.vcpu, KVM_HAS_DEVICE_ATTR, &bad), -ENXIO);
	EXPECT_EQ(ioctl_result(g.vcpu, KVM_GET_DEVICE_ATTR, &bad), -ENXIO);
	bad = a;
	bad.attr = 1;
	EXPECT_EQ(ioctl_result(g.vcpu, KVM_SET_DEVICE_ATTR, &bad), -ENXIO);
	bad = a;
	bad.addr = 0;
	EXPECT_EQ(ioctl_result(g.vcpu, KVM_GET_DEVICE_ATTR, &bad), -EFAULT);
	EXPECT_EQ(ioctl_result(g.vcpu, KVM_SET_DEVICE_ATTR, &bad), -EFAULT);

	constexpr uint64_t kOffset = 1ULL << 50;
	value = kOffset;
	ASSERT_EQ(ioctl_result(g.vcpu, KVM_SET_DEVICE_ATTR, &a), 0L);
	value = 0;
	ASSERT_EQ(ioctl_result(g.vcpu, KVM_GET_DEVICE_ATTR, &a), 0L);
	EXPECT_EQ(value, kOffset);
	uint64_t host = __builtin_ia32_rdtsc();
	uint64_t guest = get_msr(g.vcpu, kTsc);
	EXPECT_TRUE(guest - host - kOffset < (1ULL << 36));
	EXPECT_EQ(get_msr(g.vcpu, kTscAdjust), 0ULL); // an offset is no guest write
}

// KVM_FEATURE_STEAL_TIME: MSR_KVM_STEAL_TIME takes a 64-byte aligned
// address (bits 5:1 reserved) and bit 0 to enable; before the guest runs
// again the struct there is updated: version made even and moved on,
// preempted cleared, steal only growing.
KVMX_TEST(steal_time)
{
	Fd dev = open_device();
	auto c = supported_cpuid(dev);
	kvm_cpuid_entry2 *f = leaf(c, 0x40000001);
	ASSERT_TRUE(f != nullptr);
	EXPECT_EQ(f->eax & (1u << 5), 1u << 5);

	constexpr uint32_t kStealTime = 0x4b564d03;
	constexpr uint64_t kStruct = 0x1800;
	TinyGuest g(dev, {0xf4, 0xf4});
	set_cpuid(g.vcpu, c);
	EXPECT_EQ(set_msr(g.vcpu, kStealTime, kStruct | 2), 0L); // reserved bit
	ASSERT_EQ(set_msr(g.vcpu, kStealTime, kStruct | 1), 1L);
	EXPECT_EQ(get_msr(g.vcpu, kStealTime), kStruct | 1);
	struct St {
		uint64_t steal;
		uint32_t version, flags;
		uint8_t preempted;
	};
	auto *st = reinterpret_cast<volatile St *>(g.ram.as<uint8_t>() + kStruct - 0x1000);
	st->steal = 1000;
	st->version = 5; // odd: the guest's junk
	st->preempted = 1;
	ASSERT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_HLT));
	uint32_t v = st->version;
	EXPECT_EQ(v % 2, 0u);
	EXPECT_TRUE(v >= 8);
	EXPECT_TRUE(st->steal >= 1000);
	EXPECT_EQ(st->preempted, 0);
	ASSERT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_HLT));
	EXPECT_TRUE(st->version > v); // every KVM_RUN updates it
	// Disabled: left alone.
	ASSERT_EQ(set_msr(g.vcpu, kStealTime, kStruct), 1L);
	v = st->version;
	kvm_regs r = g.regs();
	r.rip = 0x1000;
	g.set_regs(r);
	ASSERT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_HLT));
	EXPECT_EQ(st->version, v);
}

// KVM_GET/SET_XSAVE: the guest's FPU/SSE state in the XSAVE layout, which
// the guest then runs with; a header naming components no host has is
// -EINVAL.
KVMX_TEST(xsave)
{
	Fd dev = open_device();
	ASSERT_EQ(check(dev, KVM_CAP_XSAVE), 1L);
	// movq rax, xmm0; hlt
	TinyGuest g(dev, {0x66, 0x48, 0x0f, 0x7e, 0xc0, 0xf4}, GuestMode::kLong64);
	kvm_sregs sregs{};
	ioctl_or_throw(g.vcpu, KVM_GET_SREGS, "KVM_GET_SREGS", &sregs);
	sregs.cr4 |= 0x200; // OSFXSR: SSE instructions
	ioctl_or_throw(g.vcpu, KVM_SET_SREGS, "KVM_SET_SREGS", &sregs);
	kvmx::abi::Xsave x{};
	uint8_t *legacy = reinterpret_cast<uint8_t *>(x.region);
	const uint16_t fcw = 0x37f;
	const uint32_t mxcsr = 0x1f80;
	constexpr uint64_t kXmm0 = 0x0123456789abcdefULL;
	const uint64_t fpsse = 3; // XSTATE_BV: FP and SSE
	std::memcpy(legacy, &fcw, sizeof(fcw));
	std::memcpy(legacy + 24, &mxcsr, sizeof(mxcsr));
	std::memcpy(legacy + 160, &kXmm0, sizeof(kXmm0)); // XMM0
	std::memcpy(legacy + 512, &fpsse, sizeof(fpsse));
	ASSERT_EQ(ioctl_result(g.vcpu, KVM_SET_XSAVE, &x), 0L);
	kvm_fpu fpu{};
	ioctl_or_throw(g.vcpu, KVM_GET_FPU, "KVM_GET_FPU", &fpu);
	uint64_t got;
	std::memcpy(&got, fpu.xmm[0], sizeof(got));
	EXPECT_EQ(got, kXmm0); // (KVM's KVM_GET_FPU leaves mxcsr 0)
	ASSERT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_HLT));
	EXPECT_EQ(g.regs().rax, kXmm0);

	kvmx::abi::Xsave back{};
	ASSERT_EQ(ioctl_result(g.vcpu, KVM_GET_XSAVE, &back), 0L);
	std::memcpy(&got, reinterpret_cast<uint8_t *>(back.region) + 160, sizeof(got));
	EXPECT_EQ(got, kXmm0);
	uint32_t back_mxcsr;
	std::memcpy(&back_mxcsr, reinterpret_cast<uint8_t *>(back.region) + 24, sizeof(back_mxcsr));
	EXPECT_EQ(back_mxcsr, mxcsr);
	uint64_t bv;
	std::memcpy(&bv, reinterpret_cast<uint8_t *>(back.region) + 512, sizeof(bv));
	EXPECT_EQ(bv & fpsse, fpsse);
	EXPECT_EQ(ioctl_result(g.vcpu, KVM_GET_XSAVE, 0UL), -EFAULT);

	uint64_t unknown = fpsse | (1ULL << 62);
	std::memcpy(legacy + 512, &unknown, sizeof(unknown));
	EXPECT_EQ(ioctl_result(g.vcpu, KVM_SET_XSAVE, &x), -EINVAL);
}

// KVM_GET/SET_XCRS (on an XSAVE host): XCR0 only, FP (1) for a guest
// without XSAVE in its CPUID, which may not set more.
KVMX_TEST(xcrs)
{
	Fd dev = open_device();
	// The kernel's XSAVE (the test host boots with noxsave), not CPUID's.
	bool xsave = kernel_has_xsave();
	ASSERT_EQ(check(dev, KVM_CAP_XCRS), xsave ? 1L : 0L);
	if (!xsave)
		SKIP("the host has no XSAVE");
	TinyGuest g(dev, {0xf4});
	kvm_xcrs x{};
	ASSERT_EQ(ioctl_result(g.vcpu, KVM_GET_XCRS, &x), 0L);
	EXPECT_EQ(x.nr_xcrs, 1u);
	EXPECT_EQ(x.xcrs[0].xcr, 0u);
	EXPECT_EQ(x.xcrs[0].value, 1ULL);
	EXPECT_EQ(ioctl_result(g.vcpu, KVM_SET_XCRS, &x), 0L);
	kvm_xcrs bad = x;
	bad.xcrs[0].value = 3;
	EXPECT_EQ(ioctl_result(g.vcpu, KVM_SET_XCRS, &bad), -EINVAL);
	bad = x;
	bad.flags = 1;
	EXPECT_EQ(ioctl_result(g.vcpu, KVM_SET_XCRS, &bad), -EINVAL);
	bad = x;
	bad.nr_xcrs = KVM_MAX_XCRS + 1;
	EXPECT_EQ(ioctl_result(g.vcpu, KVM_SET_XCRS, &bad), -EINVAL);
	bad = x;
	bad.xcrs[0].xcr = 1; // not XCR0: ignored
	bad.xcrs[0].value = 12345;
	EXPECT_EQ(ioctl_result(g.vcpu, KVM_SET_XCRS, &bad), 0L);
}

// KVM_CAP_X86_USER_SPACE_MSR: a guest RDMSR/WRMSR that fails for a reason
// user space asked for exits to it (KVM_EXIT_X86_RDMSR/WRMSR), and its
// answer completes the instruction: the data, or #GP for an error.
KVMX_TEST(x86_user_space_msr)
{
	Fd dev = open_device();
	ASSERT_EQ(check(dev, KVM_CAP_X86_USER_SPACE_MSR), 1L);
	constexpr uint32_t kNoSuchMsr = 0x474f4f00;
	// mov ecx, kNoSuchMsr; rdmsr; hlt; wrmsr; hlt
	std::vector<uint8_t> code = {0xb9, 0x00, 0x4f, 0x4f, 0x47, 0x0f, 0x32, 0xf4, 0x0f, 0x30, 0xf4};
	{
		TinyGuest g(dev, code, GuestMode::kProtected32);
		no_idt(g);
		EXPECT_EQ(enable_cap(g.vm, KVM_CAP_X86_USER_SPACE_MSR, 8), -EINVAL);
		// Not asked for: #GP.
		EXPECT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_SHUTDOWN));
	}
	TinyGuest g(dev, code, GuestMode::kProtected32);
	no_idt(g);
	ASSERT_EQ(enable_cap(g.vm, KVM_CAP_X86_USER_SPACE_MSR, KVM_MSR_EXIT_REASON_UNKNOWN), 0L);
	ASSERT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_X86_RDMSR));
	EXPECT_EQ(g.run()->msr.index, kNoSuchMsr);
	EXPECT_EQ(g.run()->msr.reason, static_cast<uint32_t>(KVM_MSR_EXIT_REASON_UNKNOWN));
	EXPECT_EQ(g.run()->msr.error, 0);
	EXPECT_EQ(g.regs().rip, 0x1005ULL); // still at the RDMSR
	g.run()->msr.data = 0x1122334455667788ULL;
	ASSERT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_HLT));
	kvm_regs r = g.regs();
	EXPECT_EQ(r.rax, 0x55667788ULL);
	EXPECT_EQ(r.rdx, 0x11223344ULL);
	ASSERT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_X86_WRMSR));
	EXPECT_EQ(g.run()->msr.data, 0x1122334455667788ULL);
	g.run()->msr.error = 1; // refused: #GP
	EXPECT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_SHUTDOWN));
}

// KVM_X86_SET_MSR_FILTER: ranges of allowed (bit set) MSRs for the guest's
// reads and writes; a denial is #GP or, when user space asked, an exit
// with KVM_MSR_EXIT_REASON_FILTER.  It never applies to KVM_GET/SET_MSRS
// nor to the x2APIC MSRs.
KVMX_TEST(x86_msr_filter)
{
	Fd dev = open_device();
	ASSERT_EQ(check(dev, KVM_CAP_X86_MSR_FILTER), 1L);
	constexpr uint32_t kPat = 0x277;
	// mov ecx, 0x277; rdmsr; hlt; wrmsr; hlt; mov ecx, 0x802; rdmsr; hlt
	TinyGuest g(dev, {0xb9, 0x77, 0x02, 0x00, 0x00, 0x0f, 0x32, 0xf4, 0x0f, 0x30, 0xf4, 0xb9,
			  0x02, 0x08, 0x00, 0x00, 0x0f, 0x32, 0xf4},
		    GuestMode::kProtected32);
	no_idt(g);
	uint8_t deny[32] = {};
	uint8_t allow[8];
	std::memset(allow, 0xff, sizeof(allow));
	kvm_msr_filter f{};
	f.flags = 2;
	EXPECT_EQ(ioctl_result(g.vm, KVM_X86_SET_MSR_FILTER, &f), -EINVAL);
	f.flags = KVM_MSR_FILTER_DEFAULT_DENY; // and no range
	EXPECT_EQ(ioctl_result(g.vm, KVM_X86_SET_MSR_FILTER, &f), -EINVAL);
	f.flags = KVM_MSR_FILTER_DEFAULT_ALLOW;
	f.ranges[0] = {0, 1, kPat, deny};
	EXPECT_EQ(ioctl_result(g.vm, KVM_X86_SET_MSR_FILTER, &f), -EINVAL); // no flags
	f.ranges[0] = {4, 1, kPat, deny};
	EXPECT_EQ(ioctl_result(g.vm, KVM_X86_SET_MSR_FILTER, &f), -EINVAL); // unknown flag
	f.ranges[0] = {KVM_MSR_FILTER_READ, 0x10000, kPat, deny};
	EXPECT_EQ(ioctl_result(g.vm, KVM_X86_SET_MSR_FILTER, &f), -EINVAL); // bitmap > 0x600
	f.ranges[0] = {KVM_MSR_FILTER_READ, 1, kPat, nullptr};
	EXPECT_EQ(ioctl_result(g.vm, KVM_X86_SET_MSR_FILTER, &f), -EFAULT);

	// Reads of PAT and the x2APIC page denied, writes allowed.
	f.ranges[0] = {KVM_MSR_FILTER_READ, 1, kPat, deny};
	f.ranges[1] = {KVM_MSR_FILTER_WRITE, 1, kPat, allow};
	f.ranges[2] = {KVM_MSR_FILTER_READ, 256, 0x800, deny};
	ASSERT_EQ(ioctl_result(g.vm, KVM_X86_SET_MSR_FILTER, &f), 0L);
	ASSERT_EQ(enable_cap(g.vm, KVM_CAP_X86_USER_SPACE_MSR,
			     KVM_MSR_EXIT_REASON_FILTER | KVM_MSR_EXIT_REASON_INVAL),
		  0L);
	EXPECT_EQ(get_msr(g.vcpu, kPat), 0x0007040600070406ULL); // user space is not filtered
	ASSERT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_X86_RDMSR));
	EXPECT_EQ(g.run()->msr.index, kPat);
	EXPECT_EQ(g.run()->msr.reason, static_cast<uint32_t>(KVM_MSR_EXIT_REASON_FILTER));
	g.run()->msr.data = 0x0606060606060606ULL;
	ASSERT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_HLT));
	// The write goes to kvmx's PAT: the value user space gave, read back.
	ASSERT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_HLT));
	EXPECT_EQ(get_msr(g.vcpu, kPat), 0x0606060606060606ULL);
	// x2APIC MSRs are not filtered: without an in-kernel LAPIC the read
	// is invalid, not denied.
	ASSERT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_X86_RDMSR));
	EXPECT_EQ(g.run()->msr.index, 0x802u);
	EXPECT_EQ(g.run()->msr.reason, static_cast<uint32_t>(KVM_MSR_EXIT_REASON_INVAL));
}

// The MSRs a guest reads and writes without exits when the filter allows
// (FS/GS base, KERNEL_GS_BASE, SYSENTER: KVM's passthrough MSRs): the
// values land where KVM_GET_MSRS sees them; a filter set after the vCPU
// has run still catches the guest's next access, and lifting it lets
// the accesses through again.  On kvmx, no MSR exit unless filtered.
KVMX_TEST(msr_passthrough)
{
	struct Case {
		uint32_t msr;
		uint32_t value;
	};
	const Case cases[] = {{0xc0000100, 0x12345000}, {0xc0000101, 0x23456000},
			      {0xc0000102, 0x34567000}, {0x174, 0x10},
			      {0x175, 0x45678000},	  {0x176, 0x56789000}};
	Fd dev = open_device();
	uint8_t deny[1] = {};
	for (const Case &c : cases) {
		// mov ecx,msr; mov eax,value; xor edx,edx; wrmsr; xor eax,eax; rdmsr; hlt
		std::vector<uint8_t> code = {0xb9};
		for (int i = 0; i < 4; i++)
			code.push_back(uint8_t(c.msr >> (8 * i)));
		code.push_back(0xb8);
		for (int i = 0; i < 4; i++)
			code.push_back(uint8_t(c.value >> (8 * i)));
		code.insert(code.end(), {0x31, 0xd2, 0x0f, 0x30, 0x31, 0xc0, 0x0f, 0x32, 0xf4});
		TinyGuest g(dev, code, GuestMode::kProtected32);
		no_idt(g);
		kvmx::StatsReader stats = kvmx::StatsReader::of(g.vcpu);
		// kvmx's MSR exits so far, reads/writes, tagged with the MSR.
		const std::string tag = "MSR " + std::to_string(c.msr) + ": ";
		auto exits_are = [&](const char *want) {
			if (kvmx::test::options().testing_kvmx())
				EXPECT_EQ(tag + std::to_string(stats.value("exits_msr_read")) + "/" +
						  std::to_string(stats.value("exits_msr_write")),
					  tag + want);
		};
		auto again = [&] {
			kvm_regs r = g.regs();
			r.rip = TinyGuest::kCodeGpa;
			g.set_regs(r);
		};
		ASSERT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_HLT));
		EXPECT_EQ(g.regs().rax, c.value);
		EXPECT_EQ(get_msr(g.vcpu, c.msr), c.value);
		exits_are("0/0");

		// Writes denied now, after the vCPU ran: the write exits to user
		// space, which drops it; the read sees what KVM_SET_MSRS put.
		ASSERT_EQ(set_msr(g.vcpu, c.msr, 0x777000), 1L);
		kvm_msr_filter f{};
		f.flags = KVM_MSR_FILTER_DEFAULT_ALLOW;
		f.ranges[0] = {KVM_MSR_FILTER_WRITE, 1, c.msr, deny};
		ASSERT_EQ(ioctl_result(g.vm, KVM_X86_SET_MSR_FILTER, &f), 0L);
		ASSERT_EQ(enable_cap(g.vm, KVM_CAP_X86_USER_SPACE_MSR, KVM_MSR_EXIT_REASON_FILTER),
			  0L);
		again();
		ASSERT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_X86_WRMSR));
		EXPECT_EQ(g.run()->msr.index, c.msr);
		EXPECT_EQ(g.run()->msr.reason, static_cast<uint32_t>(KVM_MSR_EXIT_REASON_FILTER));
		g.run()->msr.error = 0;
		ASSERT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_HLT));
		EXPECT_EQ(g.regs().rax, 0x777000u);
		exits_are("0/1");

		// The filter lifted: no exit again.
		f = {};
		f.flags = KVM_MSR_FILTER_DEFAULT_ALLOW;
		ASSERT_EQ(ioctl_result(g.vm, KVM_X86_SET_MSR_FILTER, &f), 0L);
		again();
		ASSERT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_HLT));
		EXPECT_EQ(g.regs().rax, c.value);
		exits_are("0/1");
	}
}

namespace {

uint64_t pvclock_scale(uint64_t delta, uint32_t mul, int8_t shift)
{
	if (shift < 0)
		delta >>= -shift;
	else
		delta <<= shift;
	return static_cast<uint64_t>((static_cast<unsigned __int128>(delta) * mul) >> 32);
}

kvm_clock_data get_clock(const Fd &vm)
{
	kvm_clock_data d{};
	ioctl_or_throw(vm, KVM_GET_CLOCK, "KVM_GET_CLOCK", &d);
	return d;
}

} // namespace

// kvmclock: KVM_CAP_ADJUST_CLOCK, KVM_GET/SET_CLOCK (with the wall clock
// they were read at), and the guest's pvclock struct
// (MSR_KVM_SYSTEM_TIME_NEW) and wall clock (MSR_KVM_WALL_CLOCK_NEW), whose
// reading agrees with KVM_GET_CLOCK's.
KVMX_TEST(adjust_clock)
{
	Fd dev = open_device();
	constexpr uint32_t kFlags = KVM_CLOCK_TSC_STABLE | KVM_CLOCK_REALTIME | KVM_CLOCK_HOST_TSC;
	ASSERT_EQ(check(dev, KVM_CAP_ADJUST_CLOCK), static_cast<long>(kFlags));
	// mov ecx, SYSTEM_TIME_NEW; mov eax, 0x1801; xor edx, edx; wrmsr;
	// mov ecx, WALL_CLOCK_NEW; mov eax, 0x1900; wrmsr; hlt
	TinyGuest g(dev, {0xb9, 0x01, 0x4d, 0x56, 0x4b, 0xb8, 0x01, 0x18, 0x00, 0x00, 0x31, 0xd2,
			  0x0f, 0x30, 0xb9, 0x00, 0x4d, 0x56, 0x4b, 0xb8, 0x00, 0x19, 0x00, 0x00,
			  0x0f, 0x30, 0xf4},
		    GuestMode::kProtected32);
	// Before the first KVM_RUN or KVM_SET_CLOCK there is no master clock:
	// no flags.  A new VM's clock starts at 0.
	kvm_clock_data d = get_clock(g.vm);
	EXPECT_EQ(d.flags, 0u);
	EXPECT_TRUE(d.clock < 600 * 1000000000ULL);
	d.flags = 1;
	EXPECT_EQ(ioctl_result(g.vm, KVM_SET_CLOCK, &d), -EINVAL);
	constexpr uint64_t kBase = 1000 * 1000000000ULL;
	kvm_clock_data set{};
	set.clock = kBase;
	ASSERT_EQ(ioctl_result(g.vm, KVM_SET_CLOCK, &set), 0L);
	d = get_clock(g.vm);
	EXPECT_EQ(d.flags & kFlags, kFlags);
	EXPECT_TRUE(d.clock >= kBase && d.clock < kBase + 60 * 1000000000ULL);
	// With KVM_CLOCK_REALTIME, the time since that wall clock is added.
	set.clock = kBase;
	set.flags = KVM_CLOCK_REALTIME;
	set.realtime = d.realtime - 100 * 1000000000ULL;
	ASSERT_EQ(ioctl_result(g.vm, KVM_SET_CLOCK, &set), 0L);
	d = get_clock(g.vm);
	EXPECT_TRUE(d.clock >= kBase + 100 * 1000000000ULL &&
		    d.clock < kBase + 160 * 1000000000ULL);

	ASSERT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_HLT));
	EXPECT_EQ(get_msr(g.vcpu, 0x4b564d01), 0x1801ULL);
	EXPECT_EQ(get_msr(g.vcpu, 0x4b564d00), 0x1900ULL);
	struct Pvclock {
		uint32_t version, pad0;
		uint64_t tsc_timestamp, system_time;
		uint32_t mul;
		int8_t shift;
		uint8_t flags;
	} pv;
	std::memcpy(&pv, g.ram.as<uint8_t>() + 0x800, sizeof(pv));
	EXPECT_EQ(pv.version % 2, 0u);
	EXPECT_TRUE(pv.version != 0);
	EXPECT_EQ(pv.flags & 1, 1); // PVCLOCK_TSC_STABLE_BIT
	kvm_clock_data before = get_clock(g.vm);
	uint64_t tsc = get_msr(g.vcpu, kTsc);
	kvm_clock_data after = get_clock(g.vm);
	uint64_t guest = pv.system_time + pvclock_scale(tsc - pv.tsc_timestamp, pv.mul, pv.shift);
	EXPECT_TRUE(before.clock <= guest);
	EXPECT_TRUE(guest <= after.clock);
	// The wall clock: boot time as the guest's clock sees it.
	uint32_t wc[3];
	std::memcpy(wc, g.ram.as<uint8_t>() + 0x900, sizeof(wc));
	EXPECT_EQ(wc[0] % 2, 0u);
	uint64_t wall = wc[1] * 1000000000ULL + wc[2] + after.clock;
	uint64_t diff = wall > after.realtime ? wall - after.realtime : after.realtime - wall;
	EXPECT_TRUE(diff < 5 * 1000000000ULL);
}
