// SPDX-License-Identifier: GPL-2.0
// The MSRs a VMM saves and restores beyond the architectural basics: what
// QEMU 7.2 writes at every vCPU reset (the MTRRs, because its CPUID has
// MTRR; the machine-check MSRs, because it has MCE and MCA; kvmclock's first
// two MSRs, unconditionally) and reads back.  QEMU aborts when KVM_SET_MSRS
// or KVM_GET_MSRS does fewer MSRs than it asked.
#include <algorithm>
#include <cstring>
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "lib/sys.h"
#include "lib/test.h"
#include "lib/vm.h"

using namespace kvmx;
using namespace kvmx::test;

namespace {

constexpr uint32_t kMtrrCap = 0xfe;
constexpr uint32_t kMtrrDefType = 0x2ff;
constexpr uint32_t kWallClock = 0x11;
constexpr uint32_t kSystemTime = 0x12;

// Every MTRR MSR QEMU 7.2 writes with -cpu qemu64: the default type, the
// eleven fixed-range MSRs and eight variable ranges.
std::vector<uint32_t> mtrr_msrs()
{
	std::vector<uint32_t> msrs = {kMtrrDefType, 0x250, 0x258, 0x259};
	for (uint32_t m = 0x268; m <= 0x26f; m++)
		msrs.push_back(m);
	for (uint32_t m = 0x200; m < 0x210; m++)
		msrs.push_back(m);
	return msrs;
}

// KVM_SET_MSRS/KVM_GET_MSRS on several MSRs at once; returns how many
// were done, as the ioctl does.
long msrs_ioctl(Vcpu &vcpu, unsigned long req, std::vector<kvm_msr_entry> &entries)
{
	std::vector<uint8_t> buf(sizeof(abi::Msrs) + entries.size() * sizeof(kvm_msr_entry));
	reinterpret_cast<abi::Msrs *>(buf.data())->nmsrs = entries.size();
	auto *e = reinterpret_cast<kvm_msr_entry *>(buf.data() + sizeof(abi::Msrs));
	std::copy(entries.begin(), entries.end(), e);
	long n = ioctl_result(vcpu.fd(), req, buf.data());
	std::copy(e, e + entries.size(), entries.begin());
	return n;
}

std::string hexs(uint64_t v)
{
	std::ostringstream os;
	os << "0x" << std::hex << v;
	return os.str();
}

// KVM_GET_MSR_INDEX_LIST: the MSRs a VMM saves and restores.
std::vector<uint32_t> msr_index_list()
{
	Fd dev = open_device();
	std::vector<uint32_t> buf(1 + 1024);
	buf[0] = 1024;
	ioctl_or_throw(dev, KVM_GET_MSR_INDEX_LIST, "KVM_GET_MSR_INDEX_LIST", buf.data());
	return {buf.begin() + 1, buf.begin() + 1 + buf[0]};
}

// A valid value for each MTRR, different per MSR.
uint64_t mtrr_value(uint32_t msr)
{
	if (msr == kMtrrDefType)
		return 0xc06;
	if (msr >= 0x250) { // a valid type (UC, WC, WT, WP, WB) in every byte
		static const uint8_t types[] = {0, 1, 4, 5, 6};
		uint64_t v = 0;
		for (uint32_t i = 0; i < 8; i++)
			v |= uint64_t(types[(msr + i) % 5]) << (8 * i);
		return v;
	}
	if (msr % 2 == 0)
		return (uint64_t(msr - 0x200 + 1) << 24) | 6; // base, WB
	return 0xff000800ULL;				      // mask, valid
}

void guest_mtrrs()
{
	GUEST_ASSERT_EQ(guest::rdmsr(kMtrrCap), 0x508ULL);
	guest::wrmsr(0x200, 0x40000006ULL);
	guest::wrmsr(0x201, 0xfc0000800ULL);
	GUEST_ASSERT_EQ(guest::rdmsr(0x200), 0x40000006ULL);
	GUEST_ASSERT_EQ(guest::rdmsr(0x201), 0xfc0000800ULL);
	GUEST_DONE();
}

} // namespace

KVMX_TEST(mtrrcap_is_kvms)
{
	Vm vm;
	Vcpu &vcpu = vm.add_vcpu(guest_mtrrs);
	// Fixed ranges, write-combining, eight variable ranges; read-only.
	EXPECT_EQ(vcpu.get_msr(kMtrrCap), 0x508ULL);
	std::vector<kvm_msr_entry> e = {{kMtrrCap, 0, 0x508}};
	EXPECT_EQ(msrs_ioctl(vcpu, KVM_SET_MSRS, e), 0L);
}

KVMX_TEST(mtrrs_as_qemu_resets_them)
{
	Vm vm;
	Vcpu &vcpu = vm.add_vcpu(guest_mtrrs);
	std::vector<uint32_t> msrs = mtrr_msrs();
	// First what QEMU writes at reset (all zero), then distinct values.
	std::vector<kvm_msr_entry> e;
	for (uint32_t m : msrs)
		e.push_back({m, 0, 0});
	ASSERT_EQ(msrs_ioctl(vcpu, KVM_SET_MSRS, e), long(msrs.size()));
	for (auto &x : e)
		x.data = mtrr_value(x.index);
	ASSERT_EQ(msrs_ioctl(vcpu, KVM_SET_MSRS, e), long(msrs.size()));
	for (auto &x : e)
		x.data = 0;
	ASSERT_EQ(msrs_ioctl(vcpu, KVM_GET_MSRS, e), long(msrs.size()));
	std::string wrong;
	for (auto &x : e)
		if (x.data != mtrr_value(x.index))
			wrong += hexs(x.index) + "=" + hexs(x.data) + " ";
	EXPECT_EQ(wrong, std::string());
}

KVMX_TEST(invalid_mtrr_stops_the_batch)
{
	Vm vm;
	Vcpu &vcpu = vm.add_vcpu(guest_mtrrs);
	struct Bad {
		uint32_t msr;
		uint64_t value;
	};
	std::string accepted;
	for (Bad b : {Bad{kMtrrDefType, 0x102}, Bad{kMtrrDefType, 0x1006},
		      Bad{0x250, 0x0200000000000000ULL}, Bad{0x26f, 7}, Bad{0x200, 0x107},
		      Bad{0x201, 0x801}}) {
		std::vector<kvm_msr_entry> e = {{kMtrrDefType, 0, 6}, {b.msr, 0, b.value},
						{0x259, 0, 0}};
		if (msrs_ioctl(vcpu, KVM_SET_MSRS, e) != 1)
			accepted += hexs(b.msr) + "=" + hexs(b.value) + " ";
	}
	EXPECT_EQ(accepted, std::string());
	EXPECT_EQ(vcpu.get_msr(kMtrrDefType), 6ULL);
}

KVMX_TEST(guest_reads_and_writes_mtrrs)
{
	Vm vm;
	Vcpu &vcpu = vm.add_vcpu(guest_mtrrs);
	vcpu.expect_done();
	EXPECT_EQ(vcpu.get_msr(0x200), 0x40000006ULL);
}

KVMX_TEST(kvmclock_msrs_at_reset)
{
	Vm vm;
	Vcpu &vcpu = vm.add_vcpu(guest_mtrrs);
	// QEMU 7.2's kvm_put_msrs(KVM_PUT_RESET_STATE) and kvm_get_msrs().
	std::vector<kvm_msr_entry> e = {{kSystemTime, 0, 0}, {kWallClock, 0, 0}};
	ASSERT_EQ(msrs_ioctl(vcpu, KVM_SET_MSRS, e), 2L);
	e = {{kSystemTime, 0, 1}, {kWallClock, 0, 1}};
	ASSERT_EQ(msrs_ioctl(vcpu, KVM_GET_MSRS, e), 2L);
	EXPECT_EQ(e[0].data, 0ULL);
	EXPECT_EQ(e[1].data, 0ULL);
	// Both are in the list of MSRs to save.
	std::vector<uint32_t> list = msr_index_list();
	EXPECT_TRUE(std::find(list.begin(), list.end(), kSystemTime) != list.end());
	EXPECT_TRUE(std::find(list.begin(), list.end(), kWallClock) != list.end());
}

namespace {

constexpr uint64_t kMcgCtlP = 1ULL << 8, kMcgCmciP = 1ULL << 10, kMcgSerP = 1ULL << 24,
		   kMcgLmceP = 1ULL << 27;
constexpr uint32_t kMcgCap = 0x179, kMcgStatus = 0x17a, kMcgCtl = 0x17b, kMc0Ctl = 0x400,
		   kMc0Ctl2 = 0x280;

long setup_mce(Vcpu &vcpu, uint64_t cap)
{
	return ioctl_result(vcpu.fd(), KVM_X86_SETUP_MCE, &cap);
}

} // namespace

KVMX_TEST(mce_as_qemu_sets_it_up)
{
	Fd dev = open_device();
	EXPECT_EQ(ioctl_result(dev, KVM_CHECK_EXTENSION, KVM_CAP_MCE), 32L);
	uint64_t supported = 0;
	ASSERT_EQ(ioctl_result(dev, KVM_X86_GET_MCE_CAP_SUPPORTED, &supported), 0L);
	// Debian's 6.1 kvm_intel also offers MCG_CMCI_P (backported from 6.2,
	// with the MCi_CTL2 MSRs and the APIC's CMCI LVT), and so does kvmx.
	const uint64_t all = kMcgCtlP | kMcgCmciP | kMcgSerP | kMcgLmceP;
	EXPECT_EQ(supported & all, all);
	if (options().testing_kvmx())
		EXPECT_EQ(supported, all);

	Vm vm;
	Vcpu &vcpu = vm.add_vcpu(guest_mtrrs);
	EXPECT_EQ(vcpu.get_msr(kMcgCap), 32ULL); // before any setup: 32 banks, no flags
	EXPECT_EQ(setup_mce(vcpu, 0), long(-EINVAL));
	EXPECT_EQ(setup_mce(vcpu, 33), long(-EINVAL));
	EXPECT_EQ(setup_mce(vcpu, (1ULL << 9) | 10), long(-EINVAL));
	const uint64_t qemu_cap = kMcgCtlP | kMcgSerP | 10;
	ASSERT_EQ(setup_mce(vcpu, qemu_cap), 0L);
	EXPECT_EQ(vcpu.get_msr(kMcgCap), qemu_cap);
	EXPECT_EQ(vcpu.get_msr(kMcgCtl), ~0ULL);
	EXPECT_EQ(vcpu.get_msr(kMc0Ctl + 4 * 9), ~0ULL);

	// kvm_put_msrs(KVM_PUT_RESET_STATE): MCG_STATUS, MCG_CTL, then each bank.
	std::vector<kvm_msr_entry> e = {{kMcgStatus, 0, 0}, {kMcgCtl, 0, ~0ULL}};
	for (uint32_t i = 0; i < 4 * 10; i++)
		e.push_back({kMc0Ctl + i, 0, i % 4 == 0 ? ~0ULL : 0});
	EXPECT_EQ(msrs_ioctl(vcpu, KVM_SET_MSRS, e), long(e.size()));
	EXPECT_EQ(msrs_ioctl(vcpu, KVM_GET_MSRS, e), long(e.size()));
	// No eleventh bank; MCi_CTL takes only 0 or all ones; MCG_CAP is read-only.
	e = {{kMc0Ctl + 4 * 10, 0, 0}};
	EXPECT_EQ(msrs_ioctl(vcpu, KVM_SET_MSRS, e), 0L);
	EXPECT_EQ(msrs_ioctl(vcpu, KVM_GET_MSRS, e), 0L);
	e = {{kMc0Ctl, 0, 5}};
	EXPECT_EQ(msrs_ioctl(vcpu, KVM_SET_MSRS, e), 0L);
	e = {{kMcgCtl, 0, 1}};
	EXPECT_EQ(msrs_ioctl(vcpu, KVM_SET_MSRS, e), 0L);
	e = {{kMcgCap, 0, qemu_cap}};
	EXPECT_EQ(msrs_ioctl(vcpu, KVM_SET_MSRS, e), 0L);
	// User space may set a bank's status (QEMU injects errors so).
	vcpu.set_msr(kMc0Ctl + 1, 0xb000000000000135ULL);
	EXPECT_EQ(vcpu.get_msr(kMc0Ctl + 1), 0xb000000000000135ULL);
}

// ---- KVM_X86_SET_MCE and CMCI ---------------------------------------------
// Linux 6.2's machine checks (in Debian's 6.1 kvm_intel as a backport):
// with MCG_CMCI_P each bank has IA32_MCi_CTL2 and the local APIC a CMCI
// LVT entry (the version register counts it); KVM_X86_SET_MCE records an
// error in a bank and signals a UCNA error with a CMCI (when the bank's
// CMCI_EN is set), an uncorrected one with #MC, or shuts the vCPU down.

namespace {

constexpr uint64_t kApic = 0xfee00000;
constexpr uint32_t APIC_LVR = 0x30, APIC_EOI = 0xb0, APIC_SPIV = 0xf0, APIC_LVTCMCI = 0x2f0;
constexpr uint64_t kVal = 1ULL << 63, kOver = 1ULL << 62, kUc = 1ULL << 61, kEn = 1ULL << 60,
		   kPcc = 1ULL << 57;
constexpr uint64_t kCmciEn = 1ULL << 30;
constexpr uint8_t kCmciVector = 0xa9, kUcnaBank = 7, kMcBank = 2;
constexpr uint64_t kUcna = kVal | kUc | kEn | 0x10090; // VAL UC, not PCC/S/AR
constexpr uint64_t kCapCmci = kMcgCtlP | kMcgCmciP | kMcgSerP | 10;

inline uint32_t apic_read(uint32_t off) { return *reinterpret_cast<volatile uint32_t *>(kApic + off); }
inline void apic_write(uint32_t off, uint32_t v) { *reinterpret_cast<volatile uint32_t *>(kApic + off) = v; }

volatile uint64_t cmcis, cmci_addr, mcs, mc_status, gps;

void cmci_handler(ExFrame *)
{
	cmcis = cmcis + 1;
	cmci_addr = guest::rdmsr(kMc0Ctl + 4 * kUcnaBank + 2);
	apic_write(APIC_EOI, 0);
}

void mc_handler(ExFrame *)
{
	mcs = mcs + 1;
	mc_status = guest::rdmsr(kMcgStatus);
	guest::wrmsr(kMcgStatus, 0); // the machine check is handled
}

void gp_handler(ExFrame *f)
{
	gps = gps + 1;
	f->rip += 2; // skip the RDMSR/WRMSR
}

void guest_cmci()
{
	apic_write(APIC_SPIV, 0x1ff);
	GUEST_ASSERT_EQ(apic_read(APIC_LVR), 0x60014);		// seven LVT entries
	GUEST_ASSERT_EQ(apic_read(APIC_LVTCMCI), 0x10000);	// masked at setup
	apic_write(APIC_LVTCMCI, kCmciVector);
	GUEST_ASSERT_EQ(guest::rdmsr(kMc0Ctl2 + kUcnaBank), 0);
	guest::wrmsr(kMc0Ctl2 + kUcnaBank, kCmciEn | 0x10);
	GUEST_ASSERT_EQ(guest::rdmsr(kMc0Ctl2 + kUcnaBank), kCmciEn | 0x10);
	guest::wrmsr(kMc0Ctl2 + kUcnaBank, kCmciEn | (1ULL << 29));	// reserved: #GP
	GUEST_ASSERT_EQ(gps, 1);
	guest::wrmsr(kMc0Ctl2 + 10, 0);				// no such bank: #GP
	GUEST_ASSERT_EQ(gps, 2);
	guest::sti();
	GUEST_SYNC(1);	// the host injects a UCNA error: a CMCI
	asm volatile("nop; nop" ::: "memory");
	GUEST_ASSERT_EQ(cmcis, 1);
	GUEST_ASSERT_EQ(cmci_addr, 0xdeadbeef);
	guest::wrmsr(kMc0Ctl2 + kUcnaBank, 0);
	GUEST_SYNC(2);	// another, with CMCI_EN clear: only in the bank
	asm volatile("nop; nop" ::: "memory");
	GUEST_ASSERT_EQ(cmcis, 1);
	GUEST_ASSERT_EQ(guest::rdmsr(kMc0Ctl + 4 * kUcnaBank + 2), 0xcafeb0ba);
	// An uncorrected error with CR4.MCE set: #MC.
	uint64_t cr4;
	asm volatile("mov %%cr4, %0" : "=r"(cr4));
	asm volatile("mov %0, %%cr4" : : "r"(cr4 | (1 << 6)) : "memory");
	GUEST_SYNC(3);
	GUEST_ASSERT_EQ(mcs, 1);
	GUEST_ASSERT_EQ(mc_status, 5);
	asm volatile("mov %0, %%cr4" : : "r"(cr4 & ~(1ULL << 6)) : "memory");
	GUEST_SYNC(4);	// and with CR4.MCE clear: shutdown
	GUEST_ASSERT(false);
}

void guest_no_cmci()
{
	apic_write(APIC_SPIV, 0x1ff);
	GUEST_ASSERT_EQ(apic_read(APIC_LVR), 0x50014);		// six LVT entries
	guest::rdmsr(kMc0Ctl2);					// #GP without CMCI_P
	GUEST_ASSERT_EQ(gps, 1);
	guest::wrmsr(kMc0Ctl2, kCmciEn);			// #GP
	GUEST_ASSERT_EQ(gps, 2);
	GUEST_DONE();
}

long set_mce(Vcpu &vcpu, uint64_t status, uint64_t addr, uint64_t mcg_status, uint8_t bank)
{
	kvm_x86_mce m{};
	m.status = status;
	m.addr = addr;
	m.misc = 0x8c;
	m.mcg_status = mcg_status;
	m.bank = bank;
	return ioctl_result(vcpu.fd(), KVM_X86_SET_MCE, &m);
}

uint32_t lapic_reg(Vcpu &vcpu, uint32_t off)
{
	kvm_lapic_state s{};
	ioctl_or_throw(vcpu.fd(), KVM_GET_LAPIC, "KVM_GET_LAPIC", &s);
	uint32_t v;
	std::memcpy(&v, s.regs + off, sizeof(v));
	return v;
}

} // namespace

KVMX_TEST(cmci_lvt_follows_mcg_cap)
{
	Vm vm;
	vm.create_irqchip();
	Vcpu &vcpu = vm.add_vcpu(guest_mtrrs);
	// No CMCI until KVM_X86_SETUP_MCE asks: six LVT entries, no CMCI LVT.
	EXPECT_EQ(lapic_reg(vcpu, APIC_LVR), 0x50014u);
	EXPECT_EQ(lapic_reg(vcpu, APIC_LVTCMCI), 0u);
	ASSERT_EQ(setup_mce(vcpu, kCapCmci), 0L);
	EXPECT_EQ(lapic_reg(vcpu, APIC_LVR), 0x60014u);
	EXPECT_EQ(lapic_reg(vcpu, APIC_LVTCMCI), 0x10000u); // it appears masked
	// KVM_SET_LAPIC cannot change the version.
	kvm_lapic_state s{};
	ASSERT_EQ(ioctl_result(vcpu.fd(), KVM_GET_LAPIC, &s), 0L);
	uint32_t lvr = 0x50014, cmci = 0x10000 | kCmciVector;
	std::memcpy(s.regs + APIC_LVR, &lvr, 4);
	std::memcpy(s.regs + APIC_LVTCMCI, &cmci, 4);
	ASSERT_EQ(ioctl_result(vcpu.fd(), KVM_SET_LAPIC, &s), 0L);
	EXPECT_EQ(lapic_reg(vcpu, APIC_LVR), 0x60014u);
	EXPECT_EQ(lapic_reg(vcpu, APIC_LVTCMCI), 0x10000u | kCmciVector);
	// Without CMCI_P again: six entries; the register keeps its value.
	ASSERT_EQ(setup_mce(vcpu, kMcgCtlP | 10), 0L);
	EXPECT_EQ(lapic_reg(vcpu, APIC_LVR), 0x50014u);
	EXPECT_EQ(lapic_reg(vcpu, APIC_LVTCMCI), 0x10000u | kCmciVector);
	// MCi_CTL2 from user space without CMCI_P: reads, takes only 0.
	std::vector<kvm_msr_entry> e = {{kMc0Ctl2 + 3, 0, 0}};
	EXPECT_EQ(msrs_ioctl(vcpu, KVM_SET_MSRS, e), 1L);
	e = {{kMc0Ctl2 + 3, 0, kCmciEn}};
	EXPECT_EQ(msrs_ioctl(vcpu, KVM_SET_MSRS, e), 0L);
	// With it: CMCI_EN and the threshold, for the banks MCG_CAP has.
	ASSERT_EQ(setup_mce(vcpu, kCapCmci), 0L);
	e = {{kMc0Ctl2 + 9, 0, kCmciEn | 0x7fff}};
	EXPECT_EQ(msrs_ioctl(vcpu, KVM_SET_MSRS, e), 1L);
	EXPECT_EQ(vcpu.get_msr(kMc0Ctl2 + 9), kCmciEn | 0x7fff);
	e = {{kMc0Ctl2 + 9, 0, 1ULL << 31}};
	EXPECT_EQ(msrs_ioctl(vcpu, KVM_SET_MSRS, e), 0L);
	e = {{kMc0Ctl2 + 10, 0, 0}};
	EXPECT_EQ(msrs_ioctl(vcpu, KVM_SET_MSRS, e), 0L);
	EXPECT_EQ(msrs_ioctl(vcpu, KVM_GET_MSRS, e), 0L);
	// KVM_X86_SETUP_MCE clears MCi_CTL2.
	ASSERT_EQ(setup_mce(vcpu, kCapCmci), 0L);
	EXPECT_EQ(vcpu.get_msr(kMc0Ctl2 + 9), 0ULL);
}

KVMX_TEST(set_mce_cmci_mc_and_shutdown)
{
	KmsgWatch kmsg;
	Vm vm;
	vm.create_irqchip();
	vm.install_handler(kCmciVector, cmci_handler);
	vm.install_handler(18, mc_handler);
	vm.install_handler(13, gp_handler);
	Vcpu &vcpu = vm.add_vcpu(guest_cmci);
	ASSERT_EQ(setup_mce(vcpu, kCapCmci), 0L);
	// No such bank, or not valid: -EINVAL.
	EXPECT_EQ(set_mce(vcpu, kUcna, 0, 0, 10), long(-EINVAL));
	EXPECT_EQ(set_mce(vcpu, kUcna & ~kVal, 0, 0, kUcnaBank), long(-EINVAL));
	vcpu.expect_sync(1);
	EXPECT_EQ(set_mce(vcpu, kUcna, 0xdeadbeef, 0, kUcnaBank), 0L);
	EXPECT_EQ(vcpu.get_msr(kMc0Ctl + 4 * kUcnaBank + 1), kUcna);
	vcpu.expect_sync(2);
	EXPECT_EQ(set_mce(vcpu, kUcna, 0xcafeb0ba, 0, kUcnaBank), 0L);
	EXPECT_EQ(vcpu.get_msr(kMc0Ctl + 4 * kUcnaBank + 1), kUcna); // no OVER for a UCNA
	// A corrected error does not replace an uncorrected one: OVER only.
	EXPECT_EQ(set_mce(vcpu, kVal | 0x17a, 0x1234, 0, kUcnaBank), 0L);
	EXPECT_EQ(vcpu.get_msr(kMc0Ctl + 4 * kUcnaBank + 1), kUcna | kOver);
	EXPECT_EQ(vcpu.get_msr(kMc0Ctl + 4 * kUcnaBank + 2), 0xcafeb0baULL);
	vcpu.expect_sync(3);
	// Reporting off for the bank: dropped; then on: #MC with MCG_STATUS.
	vcpu.set_msr(kMc0Ctl + 4 * kMcBank, 0);
	EXPECT_EQ(set_mce(vcpu, kUc | kVal | kPcc, 0x5000, 5, kMcBank), 0L);
	EXPECT_EQ(vcpu.get_msr(kMc0Ctl + 4 * kMcBank + 1), 0ULL);
	vcpu.set_msr(kMc0Ctl + 4 * kMcBank, ~0ULL);
	EXPECT_EQ(set_mce(vcpu, kUc | kVal | kPcc, 0x5000, 5, kMcBank), 0L);
	EXPECT_EQ(vcpu.get_msr(kMcgStatus), 5ULL);
	vcpu.expect_sync(4);
	EXPECT_EQ(set_mce(vcpu, kUc | kVal | kPcc, 0x6000, 5, kMcBank), 0L);
	EXPECT_EQ(vcpu.run(), uint32_t(KVM_EXIT_SHUTDOWN));
	EXPECT_EQ(kmsg.first_splat(), std::string());
}

KVMX_TEST(no_cmci_without_mcg_cmci_p)
{
	Vm vm;
	vm.create_irqchip();
	vm.install_handler(13, gp_handler);
	Vcpu &vcpu = vm.add_vcpu(guest_no_cmci);
	ASSERT_EQ(setup_mce(vcpu, kMcgCtlP | kMcgSerP | 10), 0L);
	vcpu.expect_done();
	// A UCNA error is only logged: nothing signals it.
	EXPECT_EQ(set_mce(vcpu, kUcna, 0xdeadbeef, 0, kUcnaBank), 0L);
	EXPECT_EQ(vcpu.get_msr(kMc0Ctl + 4 * kUcnaBank + 2), 0xdeadbeefULL);
}
