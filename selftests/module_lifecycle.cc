// SPDX-License-Identifier: GPL-2.0
// Loading and unloading kvmx.ko: refusals, parameters, repeated cycles.
#include <cerrno>
#include <fcntl.h>
#include <fstream>
#include "lib/kvm_abi.h"
#include <string>

#include "lib/kvmx_module.h"
#include "lib/sys.h"
#include "lib/test.h"

using kvmx::Fd;
using kvmx::ioctl_result;
using kvmx::KmsgWatch;
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

KVMX_TEST(reload_cycles)
{
	kvmx::test::KvmxReloadGuard guard;
	KmsgWatch kmsg;
	for (int i = 0; i < 20; i++) {
		ASSERT_EQ(module::unload("kvmx"), 0);
		ASSERT_TRUE(!kvmx::exists("/dev/kvmx"));
		ASSERT_EQ(module::load(guard.path()), 0);
		ASSERT_EQ(api_version_of("/dev/kvmx"), 12L);
	}
	EXPECT_EQ(kmsg.first_splat(), std::string());
	EXPECT_TRUE(kmsg.saw("kvmx: VMX rev"));
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
