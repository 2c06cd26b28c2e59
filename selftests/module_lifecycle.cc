// SPDX-License-Identifier: GPL-2.0
// Loading and unloading kvmx.ko: refusals, parameters, repeated cycles
// with guests run between them; unloading is refused while anything holds
// kvmx (every kind of fd, a vCPU mapping, a debugfs stats file).
#include <cerrno>
#include <chrono>
#include <dirent.h>
#include <fcntl.h>
#include <fstream>
#include "lib/kvm_abi.h"
#include <memory>
#include <string>
#include <unistd.h>
#include <vector>

#include "lib/kvmx_module.h"
#include "lib/objects.h"
#include "lib/sys.h"
#include "lib/test.h"
#include "lib/tiny_guest.h"

using kvmx::Fd;
using kvmx::ioctl_result;
using kvmx::KmsgWatch;
using kvmx::test::TinyGuest;
namespace module = kvmx::module;

namespace {

long api_version_of(const std::string &node)
{
	Fd dev = Fd::open(node, O_RDWR);
	return ioctl_result(dev, KVM_GET_API_VERSION);
}

std::string read_line(const std::string &path)
{
	std::ifstream in(path);
	std::string line;
	std::getline(in, line);
	return line;
}

// A real-mode guest that does something checkable: reads @value from MMIO
// at 0x3000, adds one, writes it to port 0x80, halts.  Fails the case
// unless every exit is the one expected.
void run_checked_guest(const Fd &dev, uint8_t value)
{
	// mov al, [0x3000]; add al, 1; out 0x80, al; hlt
	TinyGuest g(dev, {0xa0, 0x00, 0x30, 0x04, 0x01, 0xe6, 0x80, 0xf4});
	ASSERT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_MMIO));
	ASSERT_EQ(g.run()->mmio.phys_addr, 0x3000ULL);
	g.run()->mmio.data[0] = value;
	ASSERT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_IO));
	ASSERT_EQ(g.run()->io.port, 0x80);
	const auto *data = reinterpret_cast<const uint8_t *>(g.run()) + g.run()->io.data_offset;
	ASSERT_EQ(static_cast<int>(*data), (value + 1) & 0xff);
	ASSERT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_HLT));
}

// The debugfs stats file of this process's only VM.
std::string debugfs_vm_stats()
{
	std::string prefix = std::to_string(::getpid()) + "-";
	std::unique_ptr<DIR, int (*)(DIR *)> dir(::opendir("/sys/kernel/debug/kvmx"), ::closedir);
	if (!dir)
		return "";
	while (dirent *e = ::readdir(dir.get()))
		if (std::string(e->d_name).rfind(prefix, 0) == 0)
			return std::string("/sys/kernel/debug/kvmx/") + e->d_name + "/stats";
	return "";
}

} // namespace

KVMX_TEST(rmmod_refused_while_open)
{
	kvmx::test::KvmxReloadGuard guard;
	ASSERT_TRUE(module::loaded("kvmx"));
	{
		Fd dev = Fd::open("/dev/kvmx", O_RDWR);
		EXPECT_EQ(module::unload("kvmx"), -EWOULDBLOCK);
		EXPECT_TRUE(module::loaded("kvmx"));
		EXPECT_EQ(ioctl_result(dev, KVM_GET_API_VERSION), 12L);
	}
	// With the fd closed the module can go, and comes back.
	EXPECT_EQ(module::unload("kvmx"), 0);
	EXPECT_TRUE(!kvmx::exists("/dev/kvmx"));
	EXPECT_EQ(module::load(guard.path()), 0);
}

// Unload/load cycles, each with a VM created, run and destroyed while
// kvmx is loaded, and nothing left alive before it goes (every cycle checks
// kvmx's object counts, so a leak shows in the first cycle that has it).
// 20 cycles; --iterations N: N; --seconds N (make fuzz-host): as many as
// fit in N seconds, at least 20.
KVMX_TEST(reload_cycles_with_guests)
{
	const auto &o = kvmx::test::options();
	const uint64_t min_cycles = o.iterations ? o.iterations : 20;
	const auto t0 = std::chrono::steady_clock::now();
	auto more = [&](uint64_t done) {
		if (done < min_cycles)
			return true;
		return o.seconds && !o.iterations &&
		       std::chrono::steady_clock::now() - t0 < std::chrono::seconds(o.seconds);
	};
	kvmx::test::KvmxReloadGuard guard;
	KmsgWatch kmsg;
	uint64_t cycles = 0;
	auto last_report = t0;
	int loads = 0, unloads = 0, guests = 0;
	for (uint64_t i = 0; more(i); i++, cycles++) {
		ASSERT_EQ(module::unload("kvmx"), 0);
		unloads++;
		ASSERT_TRUE(!kvmx::exists("/dev/kvmx"));
		ASSERT_EQ(module::load(guard.path()), 0);
		loads++;
		ASSERT_EQ(api_version_of("/dev/kvmx"), 12L);
		{
			Fd dev = Fd::open("/dev/kvmx", O_RDWR);
			run_checked_guest(dev, static_cast<uint8_t>(i));
		}
		guests++;
		if (auto c = kvmx::test::try_objects())
			for (const auto &[name, v] : *c)
				ASSERT_EQ(v, 0L);
		// A long run's progress line, for the runner's stall watchdog.
		if (o.seconds && std::chrono::steady_clock::now() - last_report > std::chrono::seconds(10)) {
			kvmx::test::diag(std::to_string(cycles + 1) + " cycles so far");
			last_report = std::chrono::steady_clock::now();
		}
	}
	kvmx::test::diag(std::to_string(cycles) + " cycles: " + std::to_string(unloads) +
			 " unloads, " + std::to_string(loads) + " loads, " + std::to_string(guests) +
			 " guests run");
	EXPECT_EQ(static_cast<uint64_t>(guests), cycles);
	EXPECT_TRUE(cycles >= min_cycles);
	EXPECT_EQ(kmsg.first_splat(), std::string());
	EXPECT_TRUE(kmsg.saw("kvmx: VMX rev"));
}

// Each thing that can hold kvmx, alone: unloading is refused while it
// exists (and it keeps working), and allowed once it is gone.
KVMX_TEST(rmmod_refused_while_anything_holds_kvmx)
{
	kvmx::test::KvmxReloadGuard guard;
	KmsgWatch kmsg;
	const std::vector<std::string> holders = {
		"system fd", "VM fd", "vCPU fd", "VM stats fd", "vCPU stats fd",
		"kvm_run mapping", "debugfs stats file",
	};
	int refused = 0;
	for (const std::string &what : holders) {
		ASSERT_TRUE(module::loaded("kvmx"));
		Fd held;
		kvmx::Mapping held_map;
		{
			Fd dev = Fd::open("/dev/kvmx", O_RDWR);
			auto g = std::make_unique<TinyGuest>(dev, std::vector<uint8_t>{0xf4});
			ASSERT_EQ(g->run_once(), static_cast<uint32_t>(KVM_EXIT_HLT));
			if (what == "system fd")
				held = std::move(dev);
			else if (what == "VM fd")
				held = std::move(g->vm);
			else if (what == "vCPU fd")
				held = std::move(g->vcpu);
			else if (what == "VM stats fd")
				held = Fd(static_cast<int>(kvmx::ioctl_or_throw(g->vm, KVM_GET_STATS_FD,
										"KVM_GET_STATS_FD")));
			else if (what == "vCPU stats fd")
				held = Fd(static_cast<int>(kvmx::ioctl_or_throw(g->vcpu, KVM_GET_STATS_FD,
										"KVM_GET_STATS_FD")));
			else if (what == "kvm_run mapping")
				held_map = std::move(g->run_map);
			else {
				std::string path = debugfs_vm_stats();
				if (path.empty()) {
					kvmx::test::diag("no debugfs: " + what + " not tried");
					continue;
				}
				held = Fd::open(path, O_RDONLY);
			}
		}
		// Everything else is closed: only the holder keeps kvmx.
		EXPECT_EQ(module::unload("kvmx"), -EWOULDBLOCK);
		EXPECT_TRUE(module::loaded("kvmx"));
		if (held.valid() && what != "system fd" && what != "VM fd" && what != "vCPU fd") {
			char buf[64];
			EXPECT_TRUE(::read(held.get(), buf, sizeof(buf)) == sizeof(buf));
		}
		if (held_map.get())
			EXPECT_EQ(held_map.as<kvm_run>()->exit_reason, static_cast<uint32_t>(KVM_EXIT_HLT));
		refused++;
		held.reset();
		held_map.reset();
		EXPECT_EQ(module::unload("kvmx"), 0);
		ASSERT_EQ(module::load(guard.path()), 0);
	}
	kvmx::test::diag("unload refused while held by each of " + std::to_string(refused) +
			 " holders, then allowed");
	EXPECT_EQ(refused, static_cast<int>(holders.size()));
	EXPECT_EQ(kmsg.first_splat(), std::string());
}

KVMX_TEST(devname_parameter)
{
	kvmx::test::KvmxReloadGuard guard;
	KmsgWatch kmsg;
	ASSERT_EQ(module::unload("kvmx"), 0);

	ASSERT_EQ(module::load(guard.path(), "devname=kvmx_alt"), 0);
	EXPECT_EQ(api_version_of("/dev/kvmx_alt"), 12L);
	EXPECT_TRUE(!kvmx::exists("/dev/kvmx"));
	EXPECT_EQ(read_line("/sys/module/kvmx/parameters/devname"), std::string("kvmx_alt"));
	ASSERT_EQ(module::unload("kvmx"), 0);

	for (const char *bad : {"devname=bad/name", "devname=", "devname=../kvm",
				"devname=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}) {
		EXPECT_EQ(module::load(guard.path(), bad), -EINVAL);
		EXPECT_TRUE(!module::loaded("kvmx"));
	}
	EXPECT_TRUE(kmsg.saw("kvmx: devname must be"));

	// kvm.ko owns /dev/kvm in the test host, so that name is refused too.
	if (kvmx::exists("/dev/kvm")) {
		EXPECT_EQ(module::load(guard.path(), "devname=kvm"), -EBUSY);
		EXPECT_TRUE(kmsg.saw("is kvm.ko loaded?"));
	}
	EXPECT_EQ(kmsg.first_splat(), std::string());
}

KVMX_TEST(vmx_features_in_debugfs)
{
	kvmx::test::module_path(); // kvmx only
	std::ifstream in("/sys/kernel/debug/kvmx/vmx");
	if (!in)
		SKIP("debugfs is not mounted");
	std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
	EXPECT_TRUE(all.find("revision_id") != std::string::npos);
	EXPECT_TRUE(all.find("ept                    yes") != std::string::npos);
}
