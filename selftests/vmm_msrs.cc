// SPDX-License-Identifier: GPL-2.0
// The MSRs a VMM saves and restores beyond the architectural basics: what
// QEMU 7.2 writes at every vCPU reset (the MTRRs, because its CPUID has
// MTRR, and kvmclock's first two MSRs, unconditionally) and reads back.  QEMU
// aborts when KVM_SET_MSRS or KVM_GET_MSRS does fewer MSRs than it asked.
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
