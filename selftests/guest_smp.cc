// SPDX-License-Identifier: GPL-2.0
// Four vCPUs of one VM running at once, each driven by its own thread:
// every vCPU has its own registers and stack, and they share memory
// (locked increments add up).
#include <string>

#include "lib/sys.h"
#include "lib/test.h"
#include "lib/vm.h"

using namespace kvmx;

namespace {

constexpr int kVcpus = 4;
constexpr uint64_t kIncrements = 500;

uint64_t shared_counter;
uint64_t per_vcpu[kVcpus];

void guest_smp(uint64_t id)
{
	// Local state on this vCPU's own stack.
	volatile uint64_t local = id * 1000;
	GUEST_SYNC(local + 1);
	for (uint64_t i = 0; i < kIncrements; i++) {
		__atomic_fetch_add(&shared_counter, 1, __ATOMIC_SEQ_CST);
		per_vcpu[id]++;
	}
	GUEST_SYNC(local + 2);
	GUEST_ASSERT_EQ(per_vcpu[id], kIncrements);
	GUEST_DONE();
}

} // namespace

KVMX_TEST(four_vcpus)
{
	KmsgWatch kmsg;
	Vm vm;
	for (int i = 0; i < kVcpus; i++) {
		Vcpu &v = vm.add_vcpu(guest_smp);
		v.set_args({static_cast<uint64_t>(i)});
	}
	ASSERT_EQ(vm.vcpus().size(), size_t(kVcpus));

	run_vcpus_in_threads(vm, [](Vcpu &vcpu) {
		vcpu.expect_sync(vcpu.id() * 1000 + 1);
		vcpu.expect_sync(vcpu.id() * 1000 + 2);
		vcpu.expect_done();
	});

	EXPECT_EQ(*vm.guest(&shared_counter), kVcpus * kIncrements);
	for (int i = 0; i < kVcpus; i++)
		EXPECT_EQ(vm.guest(&per_vcpu[0])[i], kIncrements);
	// Each vCPU ran on its own stack.
	for (int i = 1; i < kVcpus; i++)
		EXPECT_TRUE(vm.vcpus()[i]->regs().rsp != vm.vcpus()[0]->regs().rsp);
	EXPECT_EQ(kmsg.first_splat(), std::string());
}
