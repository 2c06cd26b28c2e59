// SPDX-License-Identifier: GPL-2.0
// KVM_RUN interrupted: by a signal (-EINTR, KVM_EXIT_INTR) and by
// kvm_run.immediate_exit.  The signal is blocked in the vCPU thread except
// inside KVM_RUN (KVM_SET_SIGNAL_MASK), so where it arrives does not
// depend on timing: it is pending until KVM_RUN, which must return.
#include <csignal>
#include <cstring>
#include <pthread.h>
#include <string>
#include <thread>

#include "lib/sys.h"
#include "lib/test.h"
#include "lib/vm.h"

using namespace kvmx;

namespace {

volatile uint64_t stop;

void guest_spin()
{
	GUEST_SYNC(1);
	while (!stop)
		asm volatile("pause");
	GUEST_SYNC(2);
	GUEST_DONE();
}

void on_signal(int) {}

// Blocks SIGUSR1 in this thread, and unblocks it inside KVM_RUN.
class SignalSetup {
public:
	explicit SignalSetup(Vcpu &vcpu)
	{
		struct sigaction sa{};
		sa.sa_handler = on_signal;
		sigemptyset(&sa.sa_mask);
		if (sigaction(SIGUSR1, &sa, &old_action_))
			throw_errno("sigaction");
		sigset_t block;
		sigemptyset(&block);
		sigaddset(&block, SIGUSR1);
		pthread_sigmask(SIG_BLOCK, &block, &old_mask_);

		// The kernel's sigset is 8 bytes; glibc's sigset_t is larger.
		sigset_t during = old_mask_;
		sigdelset(&during, SIGUSR1);
		struct {
			abi::SignalMask hdr;
			uint8_t sigset[8];
		} m{{8}, {}};
		std::memcpy(m.sigset, &during, 8);
		ioctl_or_throw(vcpu.fd(), KVM_SET_SIGNAL_MASK, "KVM_SET_SIGNAL_MASK", &m);
	}
	~SignalSetup()
	{
		pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
		sigaction(SIGUSR1, &old_action_, nullptr);
	}
	SignalSetup(const SignalSetup &) = delete;
	SignalSetup &operator=(const SignalSetup &) = delete;

	// Takes the pending SIGUSR1, if any.
	static bool consume()
	{
		sigset_t set;
		sigemptyset(&set);
		sigaddset(&set, SIGUSR1);
		timespec zero{};
		return sigtimedwait(&set, nullptr, &zero) == SIGUSR1;
	}

private:
	struct sigaction old_action_{};
	sigset_t old_mask_{};
};

bool sigusr1_pending()
{
	sigset_t set;
	sigpending(&set);
	return sigismember(&set, SIGUSR1);
}

} // namespace

// A signal already pending when KVM_RUN starts.
KVMX_TEST(pending_signal)
{
	Vm vm;
	Vcpu &vcpu = vm.add_vcpu(guest_spin);
	SignalSetup sig(vcpu);
	vcpu.expect_sync(1);

	pthread_kill(pthread_self(), SIGUSR1);
	ASSERT_TRUE(sigusr1_pending());
	EXPECT_EQ(vcpu.run_raw(), -EINTR);
	EXPECT_EQ(exit_reason_name(vcpu.run_area().exit_reason), exit_reason_name(KVM_EXIT_INTR));
	// Blocked again after KVM_RUN: still pending, for the thread to take.
	EXPECT_TRUE(SignalSetup::consume());

	*vm.guest(&stop) = 1;
	vcpu.expect_sync(2);
	vcpu.expect_done();
}

// A signal sent by another thread while the guest spins (or before it
// started spinning: blocked signals wait) ends KVM_RUN.
KVMX_TEST(signal_from_other_thread)
{
	KmsgWatch kmsg;
	Vm vm;
	Vcpu &vcpu = vm.add_vcpu(guest_spin);
	SignalSetup sig(vcpu);
	vcpu.expect_sync(1);

	pthread_t self = pthread_self();
	std::thread killer([self] { pthread_kill(self, SIGUSR1); });
	int r = vcpu.run_raw();
	killer.join();
	EXPECT_EQ(r, -EINTR);
	EXPECT_EQ(exit_reason_name(vcpu.run_area().exit_reason), exit_reason_name(KVM_EXIT_INTR));
	EXPECT_TRUE(SignalSetup::consume());

	*vm.guest(&stop) = 1;
	vcpu.expect_sync(2);
	vcpu.expect_done();
	EXPECT_EQ(kmsg.first_splat(), std::string());
}

// immediate_exit: KVM_RUN returns -EINTR without entering the guest, but
// only after completing the pending I/O of the previous exit (here the IN
// of the ucall: RIP moves past it, and exit_reason is left as it was).
KVMX_TEST(immediate_exit)
{
	Vm vm;
	Vcpu &vcpu = vm.add_vcpu(guest_spin);
	vcpu.expect_sync(1);
	const uint64_t rip = vcpu.regs().rip;
	EXPECT_EQ(*vm.hva(vm.gva_to_gpa(rip)), 0xec); // in (%dx), %al

	*vm.guest(&stop) = 1;
	vcpu.run_area().immediate_exit = 1;
	EXPECT_EQ(vcpu.run_raw(), -EINTR);
	EXPECT_EQ(vcpu.regs().rip, rip + 1);
	EXPECT_EQ(exit_reason_name(vcpu.run_area().exit_reason), exit_reason_name(KVM_EXIT_IO));
	// Nothing pending now: the guest does not move at all.
	EXPECT_EQ(vcpu.run_raw(), -EINTR);
	EXPECT_EQ(vcpu.regs().rip, rip + 1);

	vcpu.run_area().immediate_exit = 0;
	vcpu.expect_sync(2);
	vcpu.expect_done();
}
