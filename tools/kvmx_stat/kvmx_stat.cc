// SPDX-License-Identifier: GPL-2.0
// kvmx_stat: kvmx's counters for every VM on the host, like kvm_stat.
//
// A VM's stats fd comes only from an ioctl on that VM, which only its own
// process may make, so kvmx_stat reads what kvmx.ko publishes in debugfs
// instead: one directory per VM, /sys/kernel/debug/kvmx/<pid>-<vmid>/,
// whose "stats" file is in KVM's binary stats format (the VM's stats, then
// every vCPU stat summed over its vCPUs).  Files are opened afresh for each
// refresh: an open stats file holds its VM, and kvmx_stat must not keep a
// dead VM alive.
//
//   kvmx_stat                 live: refresh every second, top changers first
//   kvmx_stat --once          one snapshot as "name value" lines, for scripts
//
// See --help for the options.
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <iostream>
#include <map>
#include <regex>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <unistd.h>
#include <vector>

#include "stats.h"

namespace {

struct Options {
	std::string debugfs = "/sys/kernel/debug/kvmx";
	bool once = false;
	std::string pid;	// only VMs of this process
	std::string vm;		// only this VM (<pid>-<vmid>)
	std::regex fields{".*"};
	double interval = 1.0;
	long iterations = -1;	// live mode: refreshes before exiting; -1 = forever
	size_t rows = 0;	// live mode: stats shown; 0 = fit the terminal
};

// One VM's values, in its file's descriptor order.
struct VmSnapshot {
	std::string name;	// <pid>-<vmid>
	std::vector<std::pair<std::string, uint64_t>> values;
};

[[noreturn]] void usage(int status)
{
	(status ? std::cerr : std::cout)
		<< "usage: kvmx_stat [--once] [--pid PID] [--vm PID-VMID] [--fields REGEX]\n"
		   "                 [--interval SECONDS] [--iterations N] [--rows N]\n"
		   "                 [--debugfs DIR]\n"
		   "\n"
		   "Shows kvmx's per-VM statistics from DIR/<pid>-<vmid>/stats\n"
		   "(default DIR /sys/kernel/debug/kvmx; needs root and debugfs).\n"
		   "\n"
		   "  --once         print one snapshot and exit: \"vms N\", then each stat\n"
		   "                 summed over the VMs as \"name value\", then each VM's as\n"
		   "                 \"<pid>-<vmid>/name value\"\n"
		   "  --pid PID      only the VMs of process PID\n"
		   "  --vm PID-VMID  only that VM\n"
		   "  --fields RE    only stats whose name matches RE (whole name)\n"
		   "  --interval S   live mode: seconds between refreshes (default 1)\n"
		   "  --iterations N live mode: exit after N refreshes\n"
		   "  --rows N       live mode: show the N stats that changed most\n";
	std::exit(status);
}

Options parse(int argc, char **argv)
{
	Options o;
	for (int i = 1; i < argc; i++) {
		std::string a = argv[i];
		auto value = [&]() -> std::string {
			if (i + 1 >= argc) {
				std::cerr << "kvmx_stat: " << a << " needs a value\n";
				usage(2);
			}
			return argv[++i];
		};
		try {
			if (a == "--once")
				o.once = true;
			else if (a == "--pid")
				o.pid = value();
			else if (a == "--vm")
				o.vm = value();
			else if (a == "--fields")
				o.fields = std::regex(value());
			else if (a == "--interval")
				o.interval = std::stod(value());
			else if (a == "--iterations")
				o.iterations = std::stol(value());
			else if (a == "--rows")
				o.rows = std::stoul(value());
			else if (a == "--debugfs")
				o.debugfs = value();
			else if (a == "--help" || a == "-h")
				usage(0);
			else {
				std::cerr << "kvmx_stat: unknown option " << a << "\n";
				usage(2);
			}
		} catch (const std::logic_error &e) { // stod, stol, regex
			std::cerr << "kvmx_stat: bad value for " << a << ": " << e.what() << "\n";
			usage(2);
		}
	}
	if (o.interval <= 0)
		usage(2);
	return o;
}

bool is_vm_dir(const std::string &name)
{
	static const std::regex re("[0-9]+-[0-9]+");
	return std::regex_match(name, re);
}

// Every VM that matches the filters; VMs that go away meanwhile are left out.
std::vector<VmSnapshot> snapshot(const Options &o)
{
	DIR *dir = ::opendir(o.debugfs.c_str());
	if (!dir)
		throw std::system_error(errno, std::generic_category(),
					"opendir " + o.debugfs +
						" (is kvmx.ko loaded and debugfs mounted?)");
	std::vector<std::string> names;
	while (dirent *e = ::readdir(dir)) {
		std::string n = e->d_name;
		if (!is_vm_dir(n))
			continue;
		if (!o.pid.empty() && n.substr(0, n.find('-')) != o.pid)
			continue;
		if (!o.vm.empty() && n != o.vm)
			continue;
		names.push_back(n);
	}
	::closedir(dir);
	std::sort(names.begin(), names.end());

	std::vector<VmSnapshot> vms;
	for (const std::string &n : names) {
		try {
			kvmx::StatsReader r = kvmx::StatsReader::open(o.debugfs + "/" + n + "/stats");
			std::vector<uint64_t> data = r.read_data();
			VmSnapshot s{n, {}};
			for (const kvmx::StatDesc &d : r.descs())
				if (d.size >= 1 && std::regex_match(d.name, o.fields))
					s.values.emplace_back(d.name, data[d.offset / 8]);
			vms.push_back(std::move(s));
		} catch (const std::system_error &e) {
			// The VM died between readdir and open.
			if (e.code().value() != ENOENT)
				throw;
		}
	}
	return vms;
}

// Each stat summed over @vms, in the order the first VM lists them.
std::vector<std::pair<std::string, uint64_t>> totals(const std::vector<VmSnapshot> &vms)
{
	std::vector<std::pair<std::string, uint64_t>> out;
	std::map<std::string, size_t> index;
	for (const VmSnapshot &vm : vms)
		for (const auto &[name, value] : vm.values) {
			auto [it, fresh] = index.emplace(name, out.size());
			if (fresh)
				out.emplace_back(name, 0);
			out[it->second].second += value;
		}
	return out;
}

int run_once(const Options &o)
{
	std::vector<VmSnapshot> vms = snapshot(o);
	std::cout << "vms " << vms.size() << "\n";
	for (const auto &[name, value] : totals(vms))
		std::cout << name << " " << value << "\n";
	for (const VmSnapshot &vm : vms)
		for (const auto &[name, value] : vm.values)
			std::cout << vm.name << "/" << name << " " << value << "\n";
	std::cout << std::flush;
	return std::cout ? 0 : 1;
}

size_t terminal_rows()
{
	if (const char *lines = std::getenv("LINES"))
		return std::strtoul(lines, nullptr, 10);
	return 25;
}

uint64_t value_of(const VmSnapshot &vm, const std::string &name)
{
	for (const auto &[n, v] : vm.values)
		if (n == name)
			return v;
	return 0;
}

int run_live(const Options &o)
{
	const bool tty = ::isatty(1);
	std::map<std::string, uint64_t> prev;		// totals, by name
	std::map<std::string, uint64_t> prev_exits;	// per VM
	auto last = std::chrono::steady_clock::now();

	for (long i = 0; o.iterations < 0 || i < o.iterations; i++) {
		if (i > 0)
			std::this_thread::sleep_for(std::chrono::duration<double>(o.interval));
		std::vector<VmSnapshot> vms = snapshot(o);
		auto now = std::chrono::steady_clock::now();
		double secs = std::chrono::duration<double>(now - last).count();
		last = now;

		struct Row {
			std::string name;
			uint64_t total;
			double rate;
		};
		std::vector<Row> rows;
		uint64_t sum = 0;
		for (const auto &[name, value] : totals(vms)) {
			auto p = prev.find(name);
			double rate = i > 0 && p != prev.end() && value >= p->second && secs > 0
					      ? static_cast<double>(value - p->second) / secs
					      : 0;
			rows.push_back({name, value, rate});
			prev[name] = value;
			if (name.rfind("exits_", 0) == 0)
				sum += value;
		}
		// Top changers first, then the largest totals.
		std::stable_sort(rows.begin(), rows.end(), [](const Row &a, const Row &b) {
			return a.rate != b.rate ? a.rate > b.rate : a.total > b.total;
		});

		size_t room = o.rows ? o.rows
				     : std::max<size_t>(5, terminal_rows() - 6 - std::min<size_t>(vms.size(), 8));
		if (tty)
			std::printf("\033[H\033[2J");
		std::printf("kvmx_stat - %zu VM%s\n\n", vms.size(), vms.size() == 1 ? "" : "s");
		std::printf(" %-28s %14s %7s %12s\n", "Event", "Total", "%Exits", "CurAvg/s");
		for (size_t r = 0; r < rows.size() && r < room; r++) {
			const Row &row = rows[r];
			bool by_reason = row.name.rfind("exits_", 0) == 0;
			if (by_reason && sum)
				std::printf(" %-28s %14llu %7.1f %12.0f\n", row.name.c_str(),
					    static_cast<unsigned long long>(row.total),
					    100.0 * static_cast<double>(row.total) / static_cast<double>(sum),
					    row.rate);
			else
				std::printf(" %-28s %14llu %7s %12.0f\n", row.name.c_str(),
					    static_cast<unsigned long long>(row.total), "", row.rate);
		}
		std::printf("\n %-28s %6s %14s %12s\n", "VM (pid-id)", "vCPUs", "exits", "exits/s");
		for (const VmSnapshot &vm : vms) {
			uint64_t exits = value_of(vm, "exits");
			auto p = prev_exits.find(vm.name);
			double rate = p != prev_exits.end() && exits >= p->second && secs > 0
					      ? static_cast<double>(exits - p->second) / secs
					      : 0;
			prev_exits[vm.name] = exits;
			std::printf(" %-28s %6llu %14llu %12.0f\n", vm.name.c_str(),
				    static_cast<unsigned long long>(value_of(vm, "vcpus")),
				    static_cast<unsigned long long>(exits), rate);
		}
		std::fflush(stdout);
	}
	return 0;
}

} // namespace

int main(int argc, char **argv)
{
	Options o = parse(argc, argv);
	try {
		return o.once ? run_once(o) : run_live(o);
	} catch (const std::exception &e) {
		std::cerr << "kvmx_stat: " << e.what() << "\n";
		return 1;
	}
}
