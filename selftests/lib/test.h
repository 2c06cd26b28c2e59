// SPDX-License-Identifier: GPL-2.0
// A kselftest-style harness: each test binary registers cases with
// KVMX_TEST, runs them all and prints TAP ("ok N name", "not ok N name",
// "# SKIP"); the exit status is 0 (all passed), 1 (a case failed) or 4
// (everything skipped), as kselftest defines.
//
// Command line of every test binary:
//   --device PATH      device under test (default /dev/kvmx)
//   --ref-device PATH  reference device for differential checks (/dev/kvm)
//   --module PATH      kvmx.ko, for tests that load and unload it
//                      (default: $KVMX_MODULE); $KVMX_MODULE_PARAMS are the
//                      parameters the runner loaded it with, which such a
//                      test keeps when it loads it again
//   --run NAME         run only case NAME;  --list  print the case names
// Knobs of randomised and long-running tests (fuzzers, stress tests); each
// also comes from the environment, which is how run-selftests passes them:
//   --seed N           random seed (KVMX_SEED; default: a fresh one, printed)
//   --iterations N     a bound on the work, in the test's own unit
//                      (KVMX_ITERATIONS; 0: the test's default)
//   --seconds N        a bound in seconds (KVMX_SECONDS; 0: the test's
//                      default, its bounded smoke run; make fuzz-host sets it)
// KVMX_SELFTEST_FAIL=<binary>.<case> makes that case fail on purpose after
// it ran; the test-host runner's own tests use it.
#pragma once

#include <cstdint>
#include <functional>
#include <sstream>
#include <string>
#include <string_view>

#include "sys.h"

namespace kvmx::test {

struct Options {
	std::string device = "/dev/kvmx";
	std::string ref_device = "/dev/kvm";
	std::string module;
	std::string module_params;	// KVMX_MODULE_PARAMS, e.g. "ept=0"
	bool seed_given = false;
	uint64_t seed = 0;
	uint64_t iterations = 0;
	uint64_t seconds = 0;
	// Whether the device under test is kvmx (not the reference KVM).
	[[nodiscard]] bool testing_kvmx() const { return device != ref_device; }
};

const Options &options();

// The device under test (options().device), opened read-write.
Fd open_device();

// Thrown by ASSERT_* to end the current case (the failure is already noted).
struct Abort {};
// Thrown by SKIP().
struct Skip {
	std::string reason;
};

void fail(const char *file, int line, const std::string &what);
[[noreturn]] void skip(const std::string &reason);
void diag(const std::string &line);

struct Registrar {
	Registrar(const char *name, std::function<void()> fn);
};

template <typename A, typename B>
std::string describe_ne(const char *ea, const char *eb, const A &a, const B &b)
{
	std::ostringstream os;
	os << ea << " == " << eb << " failed: " << a << " != " << b;
	return os.str();
}

} // namespace kvmx::test

#define KVMX_TEST(name)                                                        \
	static void kvmx_test_##name();                                        \
	static const ::kvmx::test::Registrar kvmx_reg_##name(#name,            \
							     kvmx_test_##name); \
	static void kvmx_test_##name()

#define KVMX_CHECK_(cond, text, on_fail)                                       \
	do {                                                                   \
		if (!(cond)) {                                                 \
			::kvmx::test::fail(__FILE__, __LINE__, text);          \
			on_fail;                                               \
		}                                                              \
	} while (0)

#define KVMX_CHECK_EQ_(a, b, on_fail)                                          \
	do {                                                                   \
		const auto &kvmx_a_ = (a);                                     \
		const auto &kvmx_b_ = (b);                                     \
		if (!(kvmx_a_ == kvmx_b_)) {                                   \
			::kvmx::test::fail(__FILE__, __LINE__,                 \
					   ::kvmx::test::describe_ne(          \
						   #a, #b, kvmx_a_, kvmx_b_)); \
			on_fail;                                               \
		}                                                              \
	} while (0)

#define EXPECT_TRUE(c) KVMX_CHECK_(c, "expected: " #c, (void)0)
#define ASSERT_TRUE(c) KVMX_CHECK_(c, "expected: " #c, throw ::kvmx::test::Abort{})
#define EXPECT_EQ(a, b) KVMX_CHECK_EQ_(a, b, (void)0)
#define ASSERT_EQ(a, b) KVMX_CHECK_EQ_(a, b, throw ::kvmx::test::Abort{})
#define SKIP(reason) ::kvmx::test::skip(reason)
