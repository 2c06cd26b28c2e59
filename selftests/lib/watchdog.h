// SPDX-License-Identifier: GPL-2.0
// A bound on how long a vCPU may go without a ucall, for stress tests
// whose guests could be starved (an interrupt storm) or put to sleep for
// good (HLT under a TPR that masks every source).  A failed bound is a
// failed case, not a test binary the runner kills after minutes, and the
// test goes on with its next case:
//
//   Watchdog wd(20);                     // in the thread that runs the vCPU
//   Ucall uc = bounded_ucall(vcpu, wd);  // fails the case after 20 s of no ucall
//
// The watchdog thread sends SIGUSR1 (a no-op handler, no SA_RESTART) to the
// vCPU's thread every 100 ms once the bound has passed, so KVM_RUN returns
// -EINTR whether the vCPU sleeps in HLT or runs.
#pragma once

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <pthread.h>
#include <string>
#include <thread>

#include "test.h"
#include "vm.h"

namespace kvmx {

class Watchdog {
public:
	explicit Watchdog(int seconds) : limit_(seconds), target_(pthread_self())
	{
		struct sigaction sa {};
		sa.sa_handler = [](int) {};
		sigaction(SIGUSR1, &sa, nullptr);
		pet();
		thread_ = std::thread([this] { loop(); });
	}
	Watchdog(const Watchdog &) = delete;
	Watchdog &operator=(const Watchdog &) = delete;
	~Watchdog()
	{
		stop_ = true;
		thread_.join();
	}
	void pet() { last_ = now_ms(); }
	[[nodiscard]] bool expired() const { return expired_; }
	[[nodiscard]] int limit() const { return limit_; }

private:
	static int64_t now_ms()
	{
		return std::chrono::duration_cast<std::chrono::milliseconds>(
			       std::chrono::steady_clock::now().time_since_epoch())
			.count();
	}
	void loop()
	{
		while (!stop_) {
			std::this_thread::sleep_for(std::chrono::milliseconds(100));
			if (now_ms() - last_ > limit_ * 1000LL) {
				expired_ = true;
				pthread_kill(target_, SIGUSR1);
			}
		}
	}
	int limit_;
	pthread_t target_;
	std::atomic<int64_t> last_{0};
	std::atomic<bool> expired_{false}, stop_{false};
	std::thread thread_;
};

// Vcpu::run_until_ucall() under @wd: KVM_RUN again after a signal, and a
// failed case (test::Abort) once @wd expired.  KVM_EXIT_MMIO exits (an
// access to a page nobody claims) are answered with zeros when @mmio_ok.
inline Ucall bounded_ucall(Vcpu &vcpu, Watchdog &wd, bool mmio_ok = false)
{
	const std::string where = "vCPU " + std::to_string(vcpu.id()) + ": ";
	for (;;) {
		int r = vcpu.run_raw();
		if (r == -EINTR) {
			if (wd.expired()) {
				test::fail(__FILE__, __LINE__,
					   where + "no ucall for " + std::to_string(wd.limit()) +
						   " s (RIP " + std::to_string(vcpu.regs().rip) + ")");
				throw test::Abort{};
			}
			continue;
		}
		if (r < 0) {
			errno = -r;
			throw_errno("KVM_RUN");
		}
		struct kvm_run &run = vcpu.run_area();
		if (run.exit_reason == KVM_EXIT_MMIO && mmio_ok) {
			if (!run.mmio.is_write)
				for (auto &b : run.mmio.data)
					b = 0;
			continue;
		}
		Ucall uc = vcpu.get_ucall();
		if (uc.cmd == UCALL_NONE) {
			test::fail(__FILE__, __LINE__,
				   where + "expected a ucall, got exit " +
					   exit_reason_name(run.exit_reason));
			throw test::Abort{};
		}
		if (uc.cmd == UCALL_ABORT) {
			std::string what = where + "guest assertion failed: " +
					   vcpu.vm().read_string(reinterpret_cast<uint64_t>(uc.expr));
			if (uc.args[2])
				what += " (" + std::to_string(uc.args[0]) + " != " +
					std::to_string(uc.args[1]) + ")";
			test::fail(vcpu.vm().read_string(reinterpret_cast<uint64_t>(uc.file)).c_str(),
				   static_cast<int>(uc.line), what);
			throw test::Abort{};
		}
		if (uc.cmd == UCALL_UNHANDLED) {
			test::fail(__FILE__, __LINE__,
				   where + "unhandled guest exception: vector " +
					   std::to_string(uc.args[0]) + " error code " +
					   std::to_string(uc.args[1]) + " RIP " +
					   std::to_string(uc.args[2]));
			throw test::Abort{};
		}
		wd.pet();
		return uc;
	}
}

} // namespace kvmx
