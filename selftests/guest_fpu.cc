// SPDX-License-Identifier: GPL-2.0
// The guest's SSE registers survive context switches of its vCPU thread
// inside KVM_RUN.  The vCPU thread shares one host CPU with a thread that
// keeps its own value in the same register; timer ticks exit the guest, and
// the scheduler switches between the two inside KVM_RUN.  The guest's
// value must be what it set, every time (kvmx once entered the guest with
// the other task's registers; memslot_race found it).
#include <atomic>
#include <pthread.h>
#include <sched.h>
#include <string>
#include <sys/resource.h>
#include <thread>

#include "lib/sys.h"
#include "lib/test.h"
#include "lib/vm.h"

using namespace kvmx;
using kvmx::test::diag;

namespace {

constexpr uint64_t kGuestValue = 0x6775657374787837ULL; // "guestxx7"
constexpr uint64_t kNoiseValue = 0x6e6f697365787837ULL; // "noisexx7"
constexpr int kRounds = 40;
constexpr uint64_t kRoundCycles = 1000000; // 5 ms at the test host's TSC

uint64_t rdtsc()
{
	uint32_t lo, hi;
	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return uint64_t(hi) << 32 | lo;
}

void guest_keep_xmm7()
{
	asm volatile("movq %0, %%xmm7" : : "r"(kGuestValue) : "xmm7");
	for (int i = 0; i < kRounds; i++) {
		const uint64_t start = rdtsc();
		while (rdtsc() - start < kRoundCycles)
			;
		uint64_t v;
		asm volatile("movq %%xmm7, %0" : "=r"(v));
		GUEST_ASSERT_EQ(v, kGuestValue);
	}
	GUEST_DONE();
}

void pin_to_cpu0()
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(0, &set);
	if (sched_setaffinity(0, sizeof(set), &set) != 0)
		throw_errno("sched_setaffinity(CPU 0)");
}

} // namespace

KVMX_TEST(xmm_survives_context_switches)
{
	Vm vm;
	Vcpu &vcpu = vm.add_vcpu(guest_keep_xmm7);
	std::atomic<bool> stop{false};
	std::atomic<bool> started{false};
	std::thread noise([&] {
		pin_to_cpu0();
		started = true;
		while (!stop.load(std::memory_order_relaxed))
			asm volatile("movq %0, %%xmm7" : : "r"(kNoiseValue) : "xmm7");
	});
	try {
		pin_to_cpu0();
		while (!started.load())
			std::this_thread::yield();
		rusage before{}, after{};
		getrusage(RUSAGE_THREAD, &before);
		vcpu.expect_done();
		getrusage(RUSAGE_THREAD, &after);
		// The case proves something only if the vCPU thread was switched
		// out while it ran the guest.
		const long switches = after.ru_nivcsw - before.ru_nivcsw;
		diag("involuntary context switches of the vCPU thread: " +
		     std::to_string(switches));
		EXPECT_TRUE(switches > 0);
	} catch (...) {
		stop = true;
		noise.join();
		throw;
	}
	stop = true;
	noise.join();
}
