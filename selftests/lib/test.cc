// SPDX-License-Identifier: GPL-2.0
#include "test.h"

#include <fcntl.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <iostream>
#include <mutex>
#include <vector>

namespace kvmx::test {
namespace {

struct Case {
	std::string name;
	std::function<void()> fn;
};

std::vector<Case> &registry()
{
	static std::vector<Case> cases;
	return cases;
}

Options g_options;
std::atomic<bool> g_failed;
// fail() and diag() may be called from vCPU threads.
std::mutex g_out_mutex;

std::string basename_of(const char *path)
{
	const char *slash = std::strrchr(path, '/');
	return slash ? slash + 1 : path;
}

[[noreturn]] void usage(const char *argv0)
{
	std::cerr << "usage: " << argv0
		  << " [--device PATH] [--ref-device PATH] [--module PATH] [--run NAME] [--list]"
		     " [--seed N] [--iterations N] [--seconds N]\n";
	std::exit(2);
}

uint64_t number(const char *argv0, const std::string &text)
{
	try {
		size_t end = 0;
		uint64_t v = std::stoull(text, &end, 0);
		if (end == text.size())
			return v;
	} catch (const std::exception &) {
	}
	std::cerr << argv0 << ": not a number: '" << text << "'\n";
	std::exit(2);
}

} // namespace

const Options &options() { return g_options; }

Fd open_device() { return Fd::open(g_options.device, O_RDWR); }

void diag(const std::string &line)
{
	std::lock_guard<std::mutex> lock(g_out_mutex);
	std::cout << "# " << line << '\n' << std::flush;
}

void fail(const char *file, int line, const std::string &what)
{
	g_failed = true;
	diag(basename_of(file) + ":" + std::to_string(line) + ": " + what);
}

void skip(const std::string &reason) { throw Skip{reason}; }

Registrar::Registrar(const char *name, std::function<void()> fn)
{
	registry().push_back({name, std::move(fn)});
}

} // namespace kvmx::test

int main(int argc, char **argv)
{
	using namespace kvmx::test;
	std::string only;
	bool list = false;

	if (const char *m = std::getenv("KVMX_MODULE"))
		g_options.module = m;
	if (const char *m = std::getenv("KVMX_MODULE_PARAMS"))
		g_options.module_params = m;
	if (const char *v = std::getenv("KVMX_SEED"); v && *v) {
		g_options.seed = number(argv[0], v);
		g_options.seed_given = true;
	}
	if (const char *v = std::getenv("KVMX_ITERATIONS"); v && *v)
		g_options.iterations = number(argv[0], v);
	if (const char *v = std::getenv("KVMX_SECONDS"); v && *v)
		g_options.seconds = number(argv[0], v);
	for (int i = 1; i < argc; i++) {
		std::string_view arg = argv[i];
		auto value = [&]() -> std::string {
			if (i + 1 >= argc)
				usage(argv[0]);
			return argv[++i];
		};
		if (arg == "--device")
			g_options.device = value();
		else if (arg == "--ref-device")
			g_options.ref_device = value();
		else if (arg == "--module")
			g_options.module = value();
		else if (arg == "--run")
			only = value();
		else if (arg == "--list")
			list = true;
		else if (arg == "--seed") {
			g_options.seed = number(argv[0], value());
			g_options.seed_given = true;
		} else if (arg == "--iterations")
			g_options.iterations = number(argv[0], value());
		else if (arg == "--seconds")
			g_options.seconds = number(argv[0], value());
		else
			usage(argv[0]);
	}

	const std::string binary = basename_of(argv[0]);
	const char *forced = std::getenv("KVMX_SELFTEST_FAIL");
	std::vector<Case> cases;
	for (const Case &c : registry())
		if (only.empty() || c.name == only)
			cases.push_back(c);
	if (list) {
		for (const Case &c : cases)
			std::cout << c.name << '\n';
		return 0;
	}
	if (cases.empty()) {
		std::cerr << binary << ": no case named '" << only << "'\n";
		return 2;
	}

	int pass = 0, failed = 0, skipped = 0, n = 0;
	std::cout << "TAP version 13\n1.." << cases.size() << '\n';
	diag(binary + " on " + g_options.device);
	for (const Case &c : cases) {
		std::string skip_reason;
		g_failed = false;
		try {
			c.fn();
		} catch (const Abort &) {
			// The failure was reported where it happened.
		} catch (const Skip &s) {
			skip_reason = s.reason.empty() ? "skipped" : s.reason;
		} catch (const std::exception &e) {
			fail(__FILE__, __LINE__, std::string("exception: ") + e.what());
		}
		if (forced && binary + "." + c.name == forced) {
			fail(__FILE__, __LINE__, "failed on purpose: KVMX_SELFTEST_FAIL names this case");
			skip_reason.clear();
		}
		n++;
		if (g_failed) {
			failed++;
			std::cout << "not ok " << n << ' ' << c.name << '\n';
		} else if (!skip_reason.empty()) {
			skipped++;
			std::cout << "ok " << n << ' ' << c.name << " # SKIP " << skip_reason << '\n';
		} else {
			pass++;
			std::cout << "ok " << n << ' ' << c.name << '\n';
		}
		std::cout << std::flush;
	}
	std::cout << "# Totals: pass:" << pass << " fail:" << failed
		  << " xfail:0 xpass:0 skip:" << skipped << " error:0\n";
	if (failed)
		return 1;
	return pass == 0 && skipped > 0 ? 4 : 0;
}
