// SPDX-License-Identifier: GPL-2.0
// vCPU ioctls that Linux's own KVM selftests use, each checked on /dev/kvmx
// and /dev/kvm alike, with KVM 6.1's semantics.
#include <asm/kvm_para.h>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "lib/kvm_abi.h"
#include "lib/sys.h"
#include "lib/test.h"
#include "lib/tiny_guest.h"

using kvmx::Fd;
using kvmx::ioctl_or_throw;
using kvmx::ioctl_result;
using kvmx::test::open_device;
using kvmx::test::TinyGuest;

namespace {

// A kvm_cpuid2 with room for @room entries.
class CpuidTable {
public:
	explicit CpuidTable(uint32_t room)
		: buf_(sizeof(kvmx::abi::Cpuid2) + room * sizeof(kvm_cpuid_entry2))
	{
		hdr()->nent = room;
	}
	kvmx::abi::Cpuid2 *hdr() { return reinterpret_cast<kvmx::abi::Cpuid2 *>(buf_.data()); }
	kvm_cpuid_entry2 *entries() { return kvmx::abi::entries_of<kvm_cpuid_entry2>(hdr()); }

private:
	std::vector<uint8_t> buf_;
};

struct VmAndVcpu {
	Fd dev = open_device();
	Fd vm{static_cast<int>(ioctl_or_throw(dev, KVM_CREATE_VM, "KVM_CREATE_VM"))};
	Fd vcpu{static_cast<int>(ioctl_or_throw(vm, KVM_CREATE_VCPU, "KVM_CREATE_VCPU"))};
};

// Leaves that KVM 6.1 stores as given: neither leaf 1 (OSXSAVE and APIC
// follow CR4 and APIC_BASE), 7 (OSPKE) nor 0xd (XSAVE sizes), and no
// leaf that limits MAXPHYADDR.
constexpr kvm_cpuid_entry2 kLeaves[] = {
	{.function = 0x0, .index = 0, .flags = 0, .eax = 4,
	 .ebx = 0x756e6547, .ecx = 0x6c65746e, .edx = 0x49656e69, .padding = {}},
	{.function = 0x2, .index = 0, .flags = 0, .eax = 0x00feff01,
	 .ebx = 0xf0, .ecx = 0, .edx = 0, .padding = {}},
	{.function = 0x4, .index = 0, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
	 .eax = 0x121, .ebx = 0x1c0003f, .ecx = 0x3f, .edx = 0, .padding = {}},
	{.function = 0x4, .index = 1, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
	 .eax = 0x122, .ebx = 0x1c0003f, .ecx = 0x3f, .edx = 0, .padding = {}},
};
constexpr uint32_t kNrLeaves = sizeof(kLeaves) / sizeof(kLeaves[0]);

} // namespace

// Before KVM_SET_CPUID2 the table is empty: any array will do.
KVMX_TEST(get_cpuid2_empty)
{
	VmAndVcpu v;
	CpuidTable t(0);
	EXPECT_EQ(ioctl_result(v.vcpu, KVM_GET_CPUID2, t.hdr()), 0L);
	EXPECT_EQ(t.hdr()->nent, 0u);
	CpuidTable t4(4);
	EXPECT_EQ(ioctl_result(v.vcpu, KVM_GET_CPUID2, t4.hdr()), 0L);
	EXPECT_EQ(t4.hdr()->nent, 4u); // 6.1 writes nent back unchanged
}

// KVM_GET_CPUID2 answers the entries KVM_SET_CPUID2 gave, in order.  A
// short array is -E2BIG, and KVM 6.1 then writes nothing back; a long one
// keeps its nent (6.1 copies the header back unchanged).
KVMX_TEST(get_cpuid2_round_trip)
{
	VmAndVcpu v;
	CpuidTable in(kNrLeaves);
	std::memcpy(in.entries(), kLeaves, sizeof(kLeaves));
	ASSERT_EQ(ioctl_result(v.vcpu, KVM_SET_CPUID2, in.hdr()), 0L);

	CpuidTable out(kNrLeaves + 3);
	std::memset(out.entries(), 0xa5, (kNrLeaves + 3) * sizeof(kvm_cpuid_entry2));
	ASSERT_EQ(ioctl_result(v.vcpu, KVM_GET_CPUID2, out.hdr()), 0L);
	EXPECT_EQ(out.hdr()->nent, kNrLeaves + 3);
	for (uint32_t i = 0; i < kNrLeaves; i++) {
		const kvm_cpuid_entry2 &e = out.entries()[i];
		EXPECT_EQ(e.function, kLeaves[i].function);
		EXPECT_EQ(e.index, kLeaves[i].index);
		EXPECT_EQ(e.flags, kLeaves[i].flags);
		EXPECT_EQ(e.eax, kLeaves[i].eax);
		EXPECT_EQ(e.ebx, kLeaves[i].ebx);
		EXPECT_EQ(e.ecx, kLeaves[i].ecx);
		EXPECT_EQ(e.edx, kLeaves[i].edx);
	}
	// The entries past the table are not written.
	EXPECT_EQ(out.entries()[kNrLeaves].function, 0xa5a5a5a5u);

	CpuidTable exact(kNrLeaves);
	EXPECT_EQ(ioctl_result(v.vcpu, KVM_GET_CPUID2, exact.hdr()), 0L);
	EXPECT_EQ(exact.hdr()->nent, kNrLeaves);

	CpuidTable shorter(kNrLeaves - 1);
	EXPECT_EQ(ioctl_result(v.vcpu, KVM_GET_CPUID2, shorter.hdr()), -E2BIG);
	EXPECT_EQ(shorter.hdr()->nent, kNrLeaves - 1);

	// A new table replaces the old one whole.
	CpuidTable one(1);
	std::memcpy(one.entries(), &kLeaves[1], sizeof(kLeaves[1]));
	ASSERT_EQ(ioctl_result(v.vcpu, KVM_SET_CPUID2, one.hdr()), 0L);
	CpuidTable again(1);
	ASSERT_EQ(ioctl_result(v.vcpu, KVM_GET_CPUID2, again.hdr()), 0L);
	EXPECT_EQ(again.entries()[0].function, 0x2u);
	EXPECT_EQ(again.entries()[0].eax, kLeaves[1].eax);
}

// The entries array must be writable user memory.
KVMX_TEST(get_cpuid2_bad_address)
{
	VmAndVcpu v;
	CpuidTable in(kNrLeaves);
	std::memcpy(in.entries(), kLeaves, sizeof(kLeaves));
	ASSERT_EQ(ioctl_result(v.vcpu, KVM_SET_CPUID2, in.hdr()), 0L);
	EXPECT_EQ(ioctl_result(v.vcpu, KVM_GET_CPUID2, 0UL), -EFAULT);
}

namespace {

kvm_vcpu_events get_events(const Fd &vcpu)
{
	kvm_vcpu_events ev{};
	ioctl_or_throw(vcpu, KVM_GET_VCPU_EVENTS, "KVM_GET_VCPU_EVENTS", &ev);
	return ev;
}

constexpr uint32_t kKvm61EventFlags =
	KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SHADOW | KVM_VCPUEVENT_VALID_SMM;

// A real-mode guest at 0x1000 with an IVT in its own slot at 0: main code
// "hlt" at 0x1000; the handler of vector v at 0x1010 + 8 * (v & 7) is
// "mov ax, 0x100 + v; hlt".
struct RealModeIvtGuest {
	explicit RealModeIvtGuest(Fd &dev)
		: g(dev, code()), ivt(kvmx::Mapping::anonymous(0x1000))
	{
		auto *ivt_entries = ivt.as<uint16_t>();
		for (unsigned v = 0; v < 256; v++) {
			ivt_entries[2 * v] = static_cast<uint16_t>(0x1010 + 8 * (v & 7));
			ivt_entries[2 * v + 1] = 0;
		}
		g.add_slot(1, 0, ivt);
		kvm_regs r = g.regs();
		r.rflags = 0x202; // IF: an external interrupt is injected only with IF=1
		g.set_regs(r);
	}

	static std::vector<uint8_t> code()
	{
		std::vector<uint8_t> c(0x60, 0xf4);
		for (unsigned i = 0; i < 8; i++) {
			uint8_t *h = &c[0x10 + 8 * i];
			h[0] = 0xb8; // mov ax, imm16 (filled in by the vector's low bits)
			h[1] = static_cast<uint8_t>(i);
			h[2] = 0x01;
			h[3] = 0xf4;
		}
		return c;
	}

	TinyGuest g;
	kvmx::Mapping ivt;
};

} // namespace

// A new vCPU has no events; the flags are the ones KVM 6.1 reports
// without exception payloads or triple-fault events.
KVMX_TEST(vcpu_events_initial)
{
	VmAndVcpu v;
	ASSERT_EQ(ioctl_result(v.dev, KVM_CHECK_EXTENSION, static_cast<unsigned long>(KVM_CAP_VCPU_EVENTS)), 1L);
	kvm_vcpu_events ev = get_events(v.vcpu);
	EXPECT_EQ(ev.flags, kKvm61EventFlags);
	EXPECT_EQ(ev.exception.injected, 0);
	EXPECT_EQ(ev.exception.pending, 0);
	EXPECT_EQ(ev.interrupt.injected, 0);
	EXPECT_EQ(ev.interrupt.shadow, 0);
	EXPECT_EQ(ev.nmi.injected, 0);
	EXPECT_EQ(ev.nmi.pending, 0);
	EXPECT_EQ(ev.nmi.masked, 0);
	EXPECT_EQ(ev.smi.smm, 0);
	EXPECT_EQ(ev.smi.pending, 0);
	EXPECT_EQ(ev.sipi_vector, 0u);
}

// KVM 6.1's refusals.
KVMX_TEST(vcpu_events_bad)
{
	VmAndVcpu v;
	kvm_vcpu_events ev = get_events(v.vcpu);
	kvm_vcpu_events bad = ev;
	bad.flags |= 0x80;
	EXPECT_EQ(ioctl_result(v.vcpu, KVM_SET_VCPU_EVENTS, &bad), -EINVAL);
	bad = ev;
	bad.flags |= KVM_VCPUEVENT_VALID_PAYLOAD; // KVM_CAP_EXCEPTION_PAYLOAD is off
	EXPECT_EQ(ioctl_result(v.vcpu, KVM_SET_VCPU_EVENTS, &bad), -EINVAL);
	bad = ev;
	bad.flags |= KVM_VCPUEVENT_VALID_TRIPLE_FAULT; // not enabled either
	EXPECT_EQ(ioctl_result(v.vcpu, KVM_SET_VCPU_EVENTS, &bad), -EINVAL);
	bad = ev;
	bad.exception.injected = 1;
	bad.exception.nr = 32;
	EXPECT_EQ(ioctl_result(v.vcpu, KVM_SET_VCPU_EVENTS, &bad), -EINVAL);
	bad.exception.nr = 2; // NMI is not an exception
	EXPECT_EQ(ioctl_result(v.vcpu, KVM_SET_VCPU_EVENTS, &bad), -EINVAL);
	EXPECT_EQ(ioctl_result(v.vcpu, KVM_SET_VCPU_EVENTS, 0UL), -EFAULT);
	EXPECT_EQ(ioctl_result(v.vcpu, KVM_GET_VCPU_EVENTS, 0UL), -EFAULT);
	// What was refused changed nothing.
	kvm_vcpu_events now = get_events(v.vcpu);
	EXPECT_EQ(now.exception.injected, 0);
	EXPECT_EQ(ioctl_result(v.vcpu, KVM_SET_VCPU_EVENTS, &ev), 0L);
}

// An exception set by user space is reported, then delivered at the
// next entry; without payloads "pending" means nothing (KVM conflates).
KVMX_TEST(vcpu_events_exception)
{
	Fd dev = open_device();
	RealModeIvtGuest rg(dev);
	kvm_vcpu_events ev = get_events(rg.g.vcpu);
	ev.exception.injected = 1;
	ev.exception.nr = 6; // #UD
	ev.exception.has_error_code = 0;
	ASSERT_EQ(ioctl_result(rg.g.vcpu, KVM_SET_VCPU_EVENTS, &ev), 0L);
	kvm_vcpu_events got = get_events(rg.g.vcpu);
	EXPECT_EQ(got.exception.injected, 1);
	EXPECT_EQ(got.exception.nr, 6);
	EXPECT_EQ(got.exception.has_error_code, 0);
	ASSERT_EQ(rg.g.run_once(), static_cast<uint32_t>(KVM_EXIT_HLT));
	EXPECT_EQ(rg.g.regs().rax & 0xffff, 0x106ULL);
	EXPECT_EQ(get_events(rg.g.vcpu).exception.injected, 0);

	// Taking it back before the run: nothing is delivered.
	RealModeIvtGuest rg2(dev);
	ev = get_events(rg2.g.vcpu);
	ev.exception.injected = 1;
	ev.exception.nr = 5;
	ASSERT_EQ(ioctl_result(rg2.g.vcpu, KVM_SET_VCPU_EVENTS, &ev), 0L);
	ev.exception.injected = 0;
	ASSERT_EQ(ioctl_result(rg2.g.vcpu, KVM_SET_VCPU_EVENTS, &ev), 0L);
	ASSERT_EQ(rg2.g.run_once(), static_cast<uint32_t>(KVM_EXIT_HLT));
	EXPECT_EQ(rg2.g.regs().rip, 0x1001ULL);

	// A pending-only exception is dropped without payloads.
	RealModeIvtGuest rg3(dev);
	ev = get_events(rg3.g.vcpu);
	ev.exception.pending = 1;
	ev.exception.nr = 6;
	ASSERT_EQ(ioctl_result(rg3.g.vcpu, KVM_SET_VCPU_EVENTS, &ev), 0L);
	EXPECT_EQ(get_events(rg3.g.vcpu).exception.injected, 0);
	ASSERT_EQ(rg3.g.run_once(), static_cast<uint32_t>(KVM_EXIT_HLT));
	EXPECT_EQ(rg3.g.regs().rip, 0x1001ULL);
}

// An injected external interrupt is delivered at the next entry.
KVMX_TEST(vcpu_events_interrupt)
{
	Fd dev = open_device();
	RealModeIvtGuest rg(dev);
	kvm_vcpu_events ev = get_events(rg.g.vcpu);
	ev.interrupt.injected = 1;
	ev.interrupt.nr = 0x23;
	ASSERT_EQ(ioctl_result(rg.g.vcpu, KVM_SET_VCPU_EVENTS, &ev), 0L);
	kvm_vcpu_events got = get_events(rg.g.vcpu);
	EXPECT_EQ(got.interrupt.injected, 1);
	EXPECT_EQ(got.interrupt.nr, 0x23);
	ASSERT_EQ(rg.g.run_once(), static_cast<uint32_t>(KVM_EXIT_HLT));
	EXPECT_EQ(rg.g.regs().rax & 0xffff, 0x103ULL);
	EXPECT_EQ(get_events(rg.g.vcpu).interrupt.injected, 0);
}

// The interrupt shadow and NMI blocking go into the vCPU and come back.
KVMX_TEST(vcpu_events_shadow_and_nmi_mask)
{
	VmAndVcpu v;
	kvm_vcpu_events ev = get_events(v.vcpu);
	ev.flags = KVM_VCPUEVENT_VALID_SHADOW;
	ev.interrupt.shadow = KVM_X86_SHADOW_INT_STI;
	ev.nmi.masked = 1;
	ASSERT_EQ(ioctl_result(v.vcpu, KVM_SET_VCPU_EVENTS, &ev), 0L);
	kvm_vcpu_events got = get_events(v.vcpu);
	EXPECT_EQ(got.interrupt.shadow, KVM_X86_SHADOW_INT_STI);
	EXPECT_EQ(got.nmi.masked, 1);

	// Both shadows given: MOV SS wins.
	ev.interrupt.shadow = KVM_X86_SHADOW_INT_STI | KVM_X86_SHADOW_INT_MOV_SS;
	ASSERT_EQ(ioctl_result(v.vcpu, KVM_SET_VCPU_EVENTS, &ev), 0L);
	EXPECT_EQ(get_events(v.vcpu).interrupt.shadow, KVM_X86_SHADOW_INT_MOV_SS);

	// Without VALID_SHADOW the shadow stays; NMI blocking is always set.
	ev.flags = 0;
	ev.interrupt.shadow = 0;
	ev.nmi.masked = 0;
	ASSERT_EQ(ioctl_result(v.vcpu, KVM_SET_VCPU_EVENTS, &ev), 0L);
	got = get_events(v.vcpu);
	EXPECT_EQ(got.interrupt.shadow, KVM_X86_SHADOW_INT_MOV_SS);
	EXPECT_EQ(got.nmi.masked, 0);
}

// KVM_CAP_SYNC_REGS: regs, sregs and events through struct kvm_run.
KVMX_TEST(sync_regs)
{
	Fd dev = open_device();
	ASSERT_EQ(ioctl_result(dev, KVM_CHECK_EXTENSION, static_cast<unsigned long>(KVM_CAP_SYNC_REGS)),
		  static_cast<long>(KVM_SYNC_X86_VALID_FIELDS));
	// 1: inc bx; out 0x10, al; jmp 1b
	TinyGuest g(dev, {0x43, 0xe6, 0x10, 0xeb, 0xfb});
	kvm_run *run = g.run();

	run->kvm_valid_regs = 0x80000000;
	EXPECT_EQ(ioctl_result(g.vcpu, KVM_RUN), -EINVAL);
	run->kvm_valid_regs = 0;
	run->kvm_dirty_regs = KVM_SYNC_X86_VALID_FIELDS | 0x80000000;
	EXPECT_EQ(ioctl_result(g.vcpu, KVM_RUN), -EINVAL);
	run->kvm_dirty_regs = 0;

	// Everything valid: the run stores the state a GET would give.
	run->kvm_valid_regs = KVM_SYNC_X86_VALID_FIELDS;
	ASSERT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_IO));
	kvm_regs regs = g.regs();
	EXPECT_EQ(run->s.regs.regs.rbx, regs.rbx);
	EXPECT_EQ(run->s.regs.regs.rip, regs.rip);
	EXPECT_EQ(run->s.regs.regs.rflags, regs.rflags);
	EXPECT_EQ(regs.rbx & 0xffff, 1ULL);
	kvm_sregs sregs{};
	ioctl_or_throw(g.vcpu, KVM_GET_SREGS, "KVM_GET_SREGS", &sregs);
	EXPECT_EQ(run->s.regs.sregs.cr0, sregs.cr0);
	EXPECT_EQ(run->s.regs.sregs.cs.selector, sregs.cs.selector);
	EXPECT_EQ(run->s.regs.sregs.apic_base, sregs.apic_base);
	EXPECT_EQ(run->s.regs.events.flags, get_events(g.vcpu).flags);

	// Dirty regs and sregs go in before the run (and are marked clean).
	run->s.regs.regs.rbx = 0xbad1dea;
	run->s.regs.sregs.apic_base = 1 << 11;
	run->kvm_dirty_regs = KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS;
	ASSERT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_IO));
	EXPECT_EQ(run->kvm_dirty_regs, 0ULL);
	EXPECT_EQ(run->s.regs.regs.rbx, 0xbad1deaULL + 1);
	EXPECT_EQ(run->s.regs.sregs.apic_base, 1ULL << 11);
	EXPECT_EQ(g.regs().rbx, 0xbad1deaULL + 1);

	// Not dirty: what user space wrote there is overwritten, not loaded.
	run->s.regs.regs.rbx = 0xdeadbeef;
	ASSERT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_IO));
	EXPECT_EQ(run->s.regs.regs.rbx, 0xbad1deaULL + 2);

	// Not valid: the run area is left alone.
	run->kvm_valid_regs = 0;
	run->s.regs.regs.rbx = 0xaaaa;
	ASSERT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_IO));
	EXPECT_EQ(run->s.regs.regs.rbx, 0xaaaaULL);
	EXPECT_EQ(g.regs().rbx, 0xbad1deaULL + 3);

	// Dirty but not valid: loaded, and not stored back.
	run->kvm_dirty_regs = KVM_SYNC_X86_REGS;
	run->s.regs.regs.rbx = 0xbbbb;
	ASSERT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_IO));
	EXPECT_EQ(run->s.regs.regs.rbx, 0xbbbbULL);
	EXPECT_EQ(g.regs().rbx, 0xbbbcULL);
}

// KVM_GET/SET_DEBUGREGS: DR0-3, DR6 and DR7 as given, checked as KVM 6.1
// checks them; the guest reads what user space set.
KVMX_TEST(debugregs)
{
	Fd dev = open_device();
	ASSERT_EQ(ioctl_result(dev, KVM_CHECK_EXTENSION, static_cast<unsigned long>(KVM_CAP_DEBUGREGS)), 1L);
	// mov eax, dr0; mov ebx, dr7; mov ecx, dr6; hlt
	TinyGuest g(dev, {0x0f, 0x21, 0xc0, 0x0f, 0x21, 0xfb, 0x0f, 0x21, 0xf1, 0xf4},
		    kvmx::test::GuestMode::kProtected32);
	kvm_debugregs d{};
	ASSERT_EQ(ioctl_result(g.vcpu, KVM_GET_DEBUGREGS, &d), 0L);
	EXPECT_EQ(d.db[0], 0ULL);
	EXPECT_EQ(d.dr6, 0xffff0ff0ULL);
	EXPECT_EQ(d.dr7, 0x400ULL);
	EXPECT_EQ(d.flags, 0u);

	kvm_debugregs bad = d;
	bad.flags = 1;
	EXPECT_EQ(ioctl_result(g.vcpu, KVM_SET_DEBUGREGS, &bad), -EINVAL);
	bad = d;
	bad.dr6 = 1ULL << 32;
	EXPECT_EQ(ioctl_result(g.vcpu, KVM_SET_DEBUGREGS, &bad), -EINVAL);
	bad = d;
	bad.dr7 = 1ULL << 32;
	EXPECT_EQ(ioctl_result(g.vcpu, KVM_SET_DEBUGREGS, &bad), -EINVAL);
	EXPECT_EQ(ioctl_result(g.vcpu, KVM_SET_DEBUGREGS, 0UL), -EFAULT);

	d.db[0] = 0x12345678;
	d.db[3] = 0xabcd0000;
	d.dr6 = 0xffff0ff1;
	d.dr7 = 0x400; // nothing armed
	ASSERT_EQ(ioctl_result(g.vcpu, KVM_SET_DEBUGREGS, &d), 0L);
	kvm_debugregs got{};
	ASSERT_EQ(ioctl_result(g.vcpu, KVM_GET_DEBUGREGS, &got), 0L);
	EXPECT_EQ(got.db[0], 0x12345678ULL);
	EXPECT_EQ(got.db[3], 0xabcd0000ULL);
	EXPECT_EQ(got.dr6, 0xffff0ff1ULL);
	EXPECT_EQ(got.dr7, 0x400ULL);

	ASSERT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_HLT));
	kvm_regs r = g.regs();
	EXPECT_EQ(r.rax & 0xffffffff, 0x12345678ULL);
	EXPECT_EQ(r.rbx & 0xffffffff, 0x400ULL);
	EXPECT_EQ(r.rcx & 0xffffffff, 0xffff0ff1ULL);
}

// Once the vCPU has run, KVM_SET_CPUID2 accepts the same table again and
// refuses any change (KVM since 5.16); the table stays as it was.
KVMX_TEST(set_cpuid2_after_run)
{
	Fd dev = open_device();
	TinyGuest g(dev, {0xf4});
	CpuidTable in(kNrLeaves);
	std::memcpy(in.entries(), kLeaves, sizeof(kLeaves));
	ASSERT_EQ(ioctl_result(g.vcpu, KVM_SET_CPUID2, in.hdr()), 0L);
	in.entries()[1].eax ^= 1; // before the first run, anything goes
	ASSERT_EQ(ioctl_result(g.vcpu, KVM_SET_CPUID2, in.hdr()), 0L);
	ASSERT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_HLT));

	EXPECT_EQ(ioctl_result(g.vcpu, KVM_SET_CPUID2, in.hdr()), 0L);
	in.entries()[1].ebx ^= 1;
	EXPECT_EQ(ioctl_result(g.vcpu, KVM_SET_CPUID2, in.hdr()), -EINVAL);
	in.entries()[1].ebx ^= 1;
	in.hdr()->nent = kNrLeaves - 1;
	EXPECT_EQ(ioctl_result(g.vcpu, KVM_SET_CPUID2, in.hdr()), -EINVAL);
	in.hdr()->nent = kNrLeaves;
	in.entries()[0].padding[0] = 7; // KVM compares the fields, not the padding
	EXPECT_EQ(ioctl_result(g.vcpu, KVM_SET_CPUID2, in.hdr()), 0L);

	CpuidTable out(kNrLeaves);
	ASSERT_EQ(ioctl_result(g.vcpu, KVM_GET_CPUID2, out.hdr()), 0L);
	EXPECT_EQ(out.entries()[1].eax, kLeaves[1].eax ^ 1);
	EXPECT_EQ(out.entries()[1].ebx, kLeaves[1].ebx);
}

// KVM_GET_SUPPORTED_CPUID offers KVM's paravirtual signature leaf,
// "KVMKVMKVM\0\0\0" with the features leaf as its maximum.
KVMX_TEST(supported_cpuid_kvm_signature)
{
	Fd dev = open_device();
	CpuidTable t(100);
	ASSERT_EQ(ioctl_result(dev, KVM_GET_SUPPORTED_CPUID, t.hdr()), 0L);
	const kvm_cpuid_entry2 *sig = nullptr, *features = nullptr;
	for (uint32_t i = 0; i < t.hdr()->nent; i++) {
		if (t.entries()[i].function == 0x40000000)
			sig = &t.entries()[i];
		if (t.entries()[i].function == 0x40000001)
			features = &t.entries()[i];
	}
	ASSERT_TRUE(sig != nullptr);
	ASSERT_TRUE(features != nullptr);
	EXPECT_EQ(sig->eax, 0x40000001u);
	// As KVM: a paravirtual guest may skip its port-0x80 I/O delays.
	EXPECT_TRUE(features->eax & (1u << KVM_FEATURE_NOP_IO_DELAY));
	// kvmclock, both MSR pairs, with a stable TSC: a Linux guest then
	// skips calibrating its TSC against the PIT.
	for (int bit : {KVM_FEATURE_CLOCKSOURCE, KVM_FEATURE_CLOCKSOURCE2,
			KVM_FEATURE_CLOCKSOURCE_STABLE_BIT})
		EXPECT_TRUE(features->eax & (1u << bit));
	char name[13] = {};
	std::memcpy(name, &sig->ebx, 4);
	std::memcpy(name + 4, &sig->ecx, 4);
	std::memcpy(name + 8, &sig->edx, 4);
	EXPECT_EQ(std::string(name), std::string("KVMKVMKVM"));
	EXPECT_EQ(sig->edx >> 8, 0u);
}

// Every leaf-1 EDX feature QEMU 7.2's qemu64 model asks for and does not
// add itself (it adds MTRR, PAT, MCE and MCA whatever the host says):
// FPU DE PSE TSC MSR PAE CX8 APIC SEP PGE CMOV PSE36 CLFLUSH MMX FXSR
// SSE SSE2.  QEMU warned on kvmx that PGE and CLFLUSH were missing, and
// its Linux guest then ran without global pages.
KVMX_TEST(supported_cpuid_has_qemu64s_features)
{
	Fd dev = open_device();
	CpuidTable t(100);
	ASSERT_EQ(ioctl_result(dev, KVM_GET_SUPPORTED_CPUID, t.hdr()), 0L);
	const kvm_cpuid_entry2 *leaf1 = nullptr;
	for (uint32_t i = 0; i < t.hdr()->nent; i++)
		if (t.entries()[i].function == 1)
			leaf1 = &t.entries()[i];
	ASSERT_TRUE(leaf1 != nullptr);
	const uint32_t want = 1u << 0 | 1u << 2 | 1u << 3 | 1u << 4 | 1u << 5 | 1u << 6 |
			      1u << 8 | 1u << 9 | 1u << 11 | 1u << 13 | 1u << 15 | 1u << 17 |
			      1u << 19 | 1u << 23 | 1u << 24 | 1u << 25 | 1u << 26;
	EXPECT_EQ(leaf1->edx & want, want);
}

// KVM_TPR_ACCESS_REPORTING and KVM_SET_VAPIC_ADDR, as QEMU's in-kernel
// LAPIC model calls them at every reset (it aborts when the second fails).
KVMX_TEST(tpr_access_reporting_and_vapic_addr)
{
	kvm_tpr_access_ctl tac = {};
	kvm_vapic_addr va = {};
	{
		// Without an in-kernel LAPIC: the switch works, the VAPIC does not.
		VmAndVcpu g;
		tac.enabled = 1;
		EXPECT_EQ(ioctl_result(g.vcpu, KVM_TPR_ACCESS_REPORTING, &tac), 0L);
		EXPECT_EQ(tac.enabled, 1u);
		tac.flags = 1;
		EXPECT_EQ(ioctl_result(g.vcpu, KVM_TPR_ACCESS_REPORTING, &tac), -EINVAL);
		tac.flags = 0;
		tac.enabled = 0;
		EXPECT_EQ(ioctl_result(g.vcpu, KVM_TPR_ACCESS_REPORTING, &tac), 0L);
		EXPECT_EQ(ioctl_result(g.vcpu, KVM_SET_VAPIC_ADDR, &va), -EINVAL);
	}
	Fd dev = open_device();
	Fd vm{static_cast<int>(ioctl_or_throw(dev, KVM_CREATE_VM, "KVM_CREATE_VM"))};
	ASSERT_EQ(ioctl_result(vm, KVM_CREATE_IRQCHIP), 0L);
	alignas(4096) static uint8_t ram[4 * 4096];
	kvm_userspace_memory_region r = {0, 0, 0x100000, sizeof(ram), reinterpret_cast<uint64_t>(ram)};
	ASSERT_EQ(ioctl_result(vm, KVM_SET_USER_MEMORY_REGION, &r), 0L);
	Fd vcpu{static_cast<int>(ioctl_or_throw(vm, KVM_CREATE_VCPU, "KVM_CREATE_VCPU"))};
	// What QEMU does at reset: no VAPIC page.
	EXPECT_EQ(ioctl_result(vcpu, KVM_SET_VAPIC_ADDR, &va), 0L);
	EXPECT_EQ(ioctl_result(vcpu, KVM_SET_VAPIC_ADDR, 0UL), -EFAULT);
	// A page in guest RAM: KVM mirrors the TPR there, kvmx refuses it
	// (it never reports TPR accesses, so QEMU never asks; abi.md).
	va.vapic_addr = 0x100000;
	EXPECT_EQ(ioctl_result(vcpu, KVM_SET_VAPIC_ADDR, &va),
		  kvmx::test::options().testing_kvmx() ? -EINVAL : 0L);
}

// KVM_GET/SET_TSC_KHZ (KVM_CAP_GET_TSC_KHZ): the rate reads back as set;
// 0 is the host's rate; a slower rate needs TSC scaling
// (KVM_CAP_TSC_CONTROL), without which KVM refuses it.  A faster one KVM
// takes by catching the guest's TSC up at each entry, kvmx refuses it
// (Documentation/abi.md).
KVMX_TEST(tsc_khz)
{
	VmAndVcpu v;
	EXPECT_EQ(ioctl_result(v.dev, KVM_CHECK_EXTENSION, long{KVM_CAP_GET_TSC_KHZ}), 1L);
	const long khz = ioctl_result(v.vcpu, KVM_GET_TSC_KHZ);
	ASSERT_TRUE(khz > 0);
	kvmx::test::diag("KVM_GET_TSC_KHZ: " + std::to_string(khz) + " kHz");
	EXPECT_EQ(ioctl_result(v.vcpu, KVM_SET_TSC_KHZ, static_cast<unsigned long>(khz)), 0L);
	EXPECT_EQ(ioctl_result(v.vcpu, KVM_GET_TSC_KHZ), khz);
	EXPECT_EQ(ioctl_result(v.vcpu, KVM_SET_TSC_KHZ, 0UL), 0L);
	const long host = ioctl_result(v.vcpu, KVM_GET_TSC_KHZ);
	EXPECT_TRUE(host > 0);
	const auto half = static_cast<unsigned long>(host / 2);
	if (ioctl_result(v.dev, KVM_CHECK_EXTENSION, long{KVM_CAP_TSC_CONTROL}) > 0) {
		EXPECT_EQ(ioctl_result(v.vcpu, KVM_SET_TSC_KHZ, half), 0L);
		EXPECT_EQ(ioctl_result(v.vcpu, KVM_GET_TSC_KHZ), static_cast<long>(half));
	} else {
		EXPECT_EQ(ioctl_result(v.vcpu, KVM_SET_TSC_KHZ, half), -EINVAL);
	}
	if (kvmx::test::options().testing_kvmx()) {
		EXPECT_EQ(ioctl_result(v.dev, KVM_CHECK_EXTENSION, long{KVM_CAP_TSC_CONTROL}), 0L);
		EXPECT_EQ(ioctl_result(v.vcpu, KVM_SET_TSC_KHZ,
				       static_cast<unsigned long>(host * 2)),
			  -EINVAL);
	}
}

// KVM_CAP_CHECK_EXTENSION_VM: KVM_CHECK_EXTENSION answers on the VM fd.
KVMX_TEST(check_extension_vm)
{
	VmAndVcpu v;
	EXPECT_EQ(ioctl_result(v.dev, KVM_CHECK_EXTENSION, long{KVM_CAP_CHECK_EXTENSION_VM}), 1L);
	EXPECT_EQ(ioctl_result(v.vm, KVM_CHECK_EXTENSION, long{KVM_CAP_USER_MEMORY}), 1L);
	EXPECT_EQ(ioctl_result(v.vm, KVM_CHECK_EXTENSION, long{KVM_CAP_IRQCHIP}), 1L);
	EXPECT_EQ(ioctl_result(v.vm, KVM_CHECK_EXTENSION, 100000L), 0L);
}
