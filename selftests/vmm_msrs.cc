// SPDX-License-Identifier: GPL-2.0
// The MSRs a VMM saves and restores beyond the architectural basics: what
// QEMU 7.2 writes at every vCPU reset (the MTRRs, because its CPUID has
// MTRR; the machine-check MSRs, because it has MCE and MCA; kvmclock's first
// two MSRs, unconditionally) and reads back.  QEMU aborts when KVM_SET_MSRS
// or KVM_GET_MSRS does fewer MSRs than it asked.
#include <algorithm>
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

constexpr uint64_t kMcgCtlP = 1ULL << 8, kMcgSerP = 1ULL << 24, kMcgLmceP = 1ULL << 27;
constexpr uint32_t kMcgCap = 0x179, kMcgStatus = 0x17a, kMcgCtl = 0x17b, kMc0Ctl = 0x400;

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
	// with the MCi_CTL2 MSRs and the APIC's CMCI LVT); kvmx does not.
	EXPECT_EQ(supported & (kMcgCtlP | kMcgSerP | kMcgLmceP), kMcgCtlP | kMcgSerP | kMcgLmceP);
	if (options().testing_kvmx())
		EXPECT_EQ(supported, kMcgCtlP | kMcgSerP | kMcgLmceP);

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
