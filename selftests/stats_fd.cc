// SPDX-License-Identifier: GPL-2.0
// KVM_GET_STATS_FD: KVM's binary stats layout on VM and vCPU fds, the
// descriptors each device promises, and counters that move exactly as the
// guest's exits say.  Runs on /dev/kvm (KVM's own schema, and the names
// kvmx shares with it) and on /dev/kvmx (every kvmx stat, debugfs, and
// tools/kvmx_stat).
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <map>
#include <optional>
#include <pthread.h>
#include <set>
#include <string>
#include <sys/mman.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include "lib/kvm_abi.h"
#include "lib/stats.h"
#include "lib/sys.h"
#include "lib/test.h"
#include "lib/tiny_guest.h"

using kvmx::Fd;
using kvmx::ioctl_or_throw;
using kvmx::ioctl_result;
using kvmx::StatDesc;
using kvmx::StatsReader;
using kvmx::test::open_device;
using kvmx::test::options;
using kvmx::test::TinyGuest;

namespace {

constexpr uint32_t kCounter =
	KVM_STATS_TYPE_CUMULATIVE | KVM_STATS_UNIT_NONE | KVM_STATS_BASE_POW10;
constexpr uint32_t kInstant = KVM_STATS_TYPE_INSTANT | KVM_STATS_UNIT_NONE | KVM_STATS_BASE_POW10;
constexpr uint32_t kNameSize = 48; // KVM_STATS_NAME_SIZE
const char *const kDebugfs = "/sys/kernel/debug/kvmx";

bool on_kvmx() { return options().testing_kvmx(); }

std::string id_prefix() { return (on_kvmx() ? "kvmx-" : "kvm-") + std::to_string(::getpid()); }

// Every kvmx stat, with its flags, in the order kvmx lists them.
const std::vector<std::pair<std::string, uint32_t>> kKvmxVcpuStats = {
	{"exits", kCounter},
	{"exits_exception_nmi", kCounter},
	{"exits_external_interrupt", kCounter},
	{"exits_triple_fault", kCounter},
	{"exits_interrupt_window", kCounter},
	{"exits_nmi_window", kCounter},
	{"exits_cpuid", kCounter},
	{"exits_hlt", kCounter},
	{"exits_invd", kCounter},
	{"exits_rdpmc", kCounter},
	{"exits_vmx_insn", kCounter},
	{"exits_cr", kCounter},
	{"exits_dr", kCounter},
	{"exits_io", kCounter},
	{"exits_msr_read", kCounter},
	{"exits_msr_write", kCounter},
	{"exits_mwait", kCounter},
	{"exits_monitor", kCounter},
	{"exits_ept_violation", kCounter},
	{"exits_ept_misconfig", kCounter},
	{"exits_invept", kCounter},
	{"exits_invvpid", kCounter},
	{"exits_xsetbv", kCounter},
	{"exits_invlpg", kCounter},
	{"exits_other", kCounter},
	{"pf_fixed", kCounter},
	{"pf_mapped_around", kCounter},
	{"pf_guest", kCounter},
	{"pf_pt_write", kCounter},
	{"shadow_zapped", kCounter},
	{"mmio_exits", kCounter},
	{"mmio_fast", kCounter},
	{"mmio_slow", kCounter},
	{"mmio_spte_created", kCounter},
	{"mmio_spte_stale", kCounter},
	{"io_exits", kCounter},
	{"signal_exits", kCounter},
	{"halt_exits", kCounter},
	{"insn_emulation", kCounter},
	{"insn_cache_hit", kCounter},
	{"insn_emulation_fail", kCounter},
};

const std::vector<std::pair<std::string, uint32_t>> kKvmxVmStats = {
	{"vcpus", kInstant},
	{"memslot_updates", kCounter},
	{"memslot_generation", kInstant},
	{"pages_pinned", kInstant},
	{"mmio_zap_all", kCounter},
	{"shadow_pages", kInstant},
	{"shadow_wp_gfns", kInstant},
	{"mmu_recycled", kCounter},
};

// vCPU counters KVM and kvmx both have, with the same meaning and flags.
const char *const kSharedVcpuCounters[] = {
	"exits",      "io_exits",	"mmio_exits",	      "signal_exits",
	"halt_exits", "insn_emulation", "insn_emulation_fail", "pf_fixed",
};

// Sum of the per-reason exit counters.
uint64_t sum_exits_by_reason(const std::map<std::string, uint64_t> &v)
{
	uint64_t sum = 0;
	for (const auto &[name, value] : v)
		if (name.rfind("exits_", 0) == 0)
			sum += value;
	return sum;
}

// Checks the layout KVM's api.rst defines, and returns the whole file as
// read() gives it in small pieces.
std::vector<char> check_layout(const StatsReader &s, const std::string &want_id)
{
	const kvm_stats_header &h = s.header();
	EXPECT_EQ(h.flags, 0u);
	EXPECT_EQ(h.name_size, kNameSize);
	EXPECT_EQ(h.id_offset, static_cast<uint32_t>(sizeof(kvm_stats_header)));
	EXPECT_EQ(h.desc_offset, h.id_offset + h.name_size);
	EXPECT_EQ(h.data_offset,
		  h.desc_offset + h.num_desc * static_cast<uint32_t>(kvmx::kStatsDescFixedSize + h.name_size));
	EXPECT_TRUE(h.num_desc > 0);
	EXPECT_EQ(s.id(), want_id);

	// Descriptors: aligned, non-overlapping, unique names, known flags.
	std::set<std::string> names;
	std::vector<std::pair<uint32_t, uint32_t>> ranges;
	for (const StatDesc &d : s.descs()) {
		EXPECT_TRUE(names.insert(d.name).second);
		EXPECT_TRUE(!d.name.empty());
		EXPECT_EQ(d.offset % 8, 0u);
		EXPECT_TRUE(d.size >= 1);
		EXPECT_TRUE(d.type() <= KVM_STATS_TYPE_MAX);
		EXPECT_TRUE(d.unit() <= KVM_STATS_UNIT_MAX);
		EXPECT_TRUE(d.base() <= KVM_STATS_BASE_MAX);
		ranges.emplace_back(d.offset, d.offset + d.size * 8u);
	}
	std::sort(ranges.begin(), ranges.end());
	for (size_t i = 1; i < ranges.size(); i++)
		EXPECT_TRUE(ranges[i - 1].second <= ranges[i].first);

	// read() in odd-sized pieces until EOF: the file ends after the data.
	std::vector<char> file;
	char buf[7];
	ssize_t n;
	// The reader only preads: the file position is still 0.
	while ((n = ::read(s.fd().get(), buf, sizeof(buf))) > 0)
		file.insert(file.end(), buf, buf + n);
	EXPECT_EQ(n, 0);
	EXPECT_EQ(file.size(), s.file_size());
	kvm_stats_header again{};
	if (file.size() >= sizeof(again))
		std::memcpy(&again, file.data(), sizeof(again));
	EXPECT_EQ(std::memcmp(&again, &h, sizeof(h)), 0);

	// Beyond the end: 0.  Negative offsets: -EINVAL.
	const auto end = static_cast<off_t>(s.file_size());
	EXPECT_EQ(::pread(s.fd().get(), buf, sizeof(buf), end), 0);
	EXPECT_EQ(::pread(s.fd().get(), buf, sizeof(buf), end + 4096), 0);
	EXPECT_EQ(::pread(s.fd().get(), buf, 0, 0), 0);
	errno = 0;
	EXPECT_EQ(::pread(s.fd().get(), buf, sizeof(buf), -1), -1);
	EXPECT_EQ(errno, EINVAL);
	// A read that straddles the end stops at the end.
	EXPECT_EQ(::pread(s.fd().get(), buf, sizeof(buf), end - 3), 3);
	// Read-only.
	EXPECT_EQ(::write(s.fd().get(), buf, 1), -1);
	return file;
}

void check_kvmx_schema(const StatsReader &s,
		       const std::vector<std::pair<std::string, uint32_t>> &want, uint32_t base)
{
	size_t i = 0;
	for (const auto &[name, flags] : want) {
		const StatDesc *d = s.find(name);
		if (!d) {
			kvmx::test::fail(__FILE__, __LINE__, "no stat " + name + " in " + s.id());
			continue;
		}
		EXPECT_EQ(d->flags, flags);
		EXPECT_EQ(d->exponent, 0);
		EXPECT_EQ(d->size, 1);
		EXPECT_EQ(d->bucket_size, 0u);
		EXPECT_EQ(d->offset, static_cast<uint32_t>(base + i * 8));
		i++;
	}
}

// A real-mode guest of @n "out 0x80, al" and a hlt, run to the hlt.
std::vector<uint8_t> outs_then_hlt(int n)
{
	std::vector<uint8_t> code;
	for (int i = 0; i < n; i++)
		code.insert(code.end(), {0xe6, 0x80});
	code.push_back(0xf4);
	return code;
}

void load_code(TinyGuest &g, const std::vector<uint8_t> &code)
{
	std::memcpy(g.ram.get(), code.data(), code.size());
}

void run_outs(TinyGuest &g, int n)
{
	for (int i = 0; i < n; i++)
		ASSERT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_IO));
	ASSERT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_HLT));
}

std::vector<std::string> vm_dirs_of_this_process()
{
	std::vector<std::string> out;
	const std::string prefix = std::to_string(::getpid()) + "-";
	DIR *dir = ::opendir(kDebugfs);
	if (!dir)
		return out;
	while (dirent *e = ::readdir(dir))
		if (std::string(e->d_name).rfind(prefix, 0) == 0)
			out.emplace_back(e->d_name);
	::closedir(dir);
	return out;
}

std::atomic<int> g_signals;
void on_sigusr1(int) { g_signals++; }

// Runs @argv, returns its exit status and what it printed on stdout;
// its stderr goes to ours unless @quiet.
std::pair<int, std::string> run_program(const std::vector<std::string> &argv, bool quiet = false)
{
	int pipefd[2];
	if (::pipe2(pipefd, O_CLOEXEC))
		kvmx::throw_errno("pipe2");
	pid_t pid = ::fork();
	if (pid < 0)
		kvmx::throw_errno("fork");
	if (pid == 0) {
		::dup2(pipefd[1], 1);
		if (quiet) {
			int null = ::open("/dev/null", O_WRONLY);
			if (null >= 0)
				::dup2(null, 2);
		}
		std::vector<char *> args;
		for (const std::string &a : argv)
			args.push_back(const_cast<char *>(a.c_str()));
		args.push_back(nullptr);
		::execv(args[0], args.data());
		::_exit(127);
	}
	::close(pipefd[1]);
	std::string out;
	char buf[4096];
	ssize_t n;
	while ((n = ::read(pipefd[0], buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR))
		if (n > 0)
			out.append(buf, static_cast<size_t>(n));
	::close(pipefd[0]);
	int status = 0;
	::waitpid(pid, &status, 0);
	return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), out};
}

std::string kvmx_stat_path()
{
	if (const char *env = std::getenv("KVMX_STAT"))
		return env;
	char self[4096];
	ssize_t n = ::readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return "";
	self[n] = '\0';
	std::string dir(self);
	dir.erase(dir.rfind('/'));
	return dir + "/../kvmx_stat";
}

} // namespace

KVMX_TEST(layout)
{
	Fd dev = open_device();
	TinyGuest g(dev, {0xf4});
	StatsReader vm = StatsReader::of(g.vm);
	StatsReader vcpu = StatsReader::of(g.vcpu);
	check_layout(vm, id_prefix());
	check_layout(vcpu, id_prefix() + "/vcpu-0");
	// Two fds of the same vCPU read the same descriptors.
	StatsReader vcpu2 = StatsReader::of(g.vcpu);
	EXPECT_EQ(vcpu2.descs().size(), vcpu.descs().size());
	EXPECT_EQ(vcpu2.header().data_offset, vcpu.header().data_offset);
}

// KVM's own schema on /dev/kvm, and the names kvmx shares with it.
KVMX_TEST(shared_schema)
{
	Fd dev = open_device();
	TinyGuest g(dev, {0xf4});
	StatsReader vcpu = StatsReader::of(g.vcpu);
	for (const char *name : kSharedVcpuCounters) {
		const StatDesc *d = vcpu.find(name);
		if (!d) {
			kvmx::test::fail(__FILE__, __LINE__, std::string("no vCPU stat ") + name);
			continue;
		}
		EXPECT_EQ(d->flags, kCounter);
		EXPECT_EQ(d->exponent, 0);
		EXPECT_EQ(d->size, 1);
	}
	if (!on_kvmx()) {
		// A few of KVM's own, as Linux 6.1 describes them.
		StatsReader vm = StatsReader::of(g.vm);
		const StatDesc *d = vm.find("remote_tlb_flush");
		ASSERT_TRUE(d != nullptr);
		EXPECT_EQ(d->flags, kCounter);
		d = vm.find("pages_4k");
		ASSERT_TRUE(d != nullptr);
		EXPECT_EQ(d->type(), static_cast<uint32_t>(KVM_STATS_TYPE_INSTANT));
		d = vcpu.find("halt_poll_success_hist");
		ASSERT_TRUE(d != nullptr);
		EXPECT_EQ(d->type(), static_cast<uint32_t>(KVM_STATS_TYPE_LOG_HIST));
		EXPECT_TRUE(d->size > 1);
		d = vcpu.find("halt_wait_ns");
		ASSERT_TRUE(d != nullptr);
		EXPECT_EQ(d->unit(), static_cast<uint32_t>(KVM_STATS_UNIT_SECONDS));
		EXPECT_EQ(d->exponent, -9);
	}
}

// Every kvmx stat: name, type, unit, base, exponent, size, place.
KVMX_TEST(kvmx_schema)
{
	if (!on_kvmx())
		SKIP("kvmx's own stats");
	Fd dev = open_device();
	TinyGuest g(dev, {0xf4});
	StatsReader vm = StatsReader::of(g.vm);
	StatsReader vcpu = StatsReader::of(g.vcpu);
	EXPECT_EQ(vm.descs().size(), kKvmxVmStats.size());
	EXPECT_EQ(vcpu.descs().size(), kKvmxVcpuStats.size());
	check_kvmx_schema(vm, kKvmxVmStats, 0);
	check_kvmx_schema(vcpu, kKvmxVcpuStats, 0);
	// A new VM starts from zero, apart from what creating it did.
	auto v = vcpu.values();
	for (const auto &[name, value] : v)
		EXPECT_EQ(name + "=" + std::to_string(value), name + "=0");
	auto m = vm.values();
	EXPECT_EQ(m["vcpus"], 1u);
	EXPECT_EQ(m["memslot_updates"], 1u);
	EXPECT_EQ(m["memslot_generation"], 1u);
	EXPECT_EQ(m["pages_pinned"], 0u);
	EXPECT_EQ(m["mmio_zap_all"], 0u);
}

// N OUTs and a HLT: exactly N io exits and one halt exit.
KVMX_TEST(pio_counts)
{
	constexpr int kOuts = 5;
	Fd dev = open_device();
	TinyGuest g(dev, {0xf4});
	load_code(g, outs_then_hlt(kOuts));
	StatsReader vcpu = StatsReader::of(g.vcpu);
	run_outs(g, kOuts);

	auto v = vcpu.values();
	EXPECT_EQ(v["io_exits"], static_cast<uint64_t>(kOuts));
	EXPECT_EQ(v["halt_exits"], 1u);
	EXPECT_EQ(v["mmio_exits"], 0u);
	EXPECT_EQ(v["signal_exits"], 0u);
	EXPECT_TRUE(v["exits"] >= kOuts + 1u);
	if (!on_kvmx())
		return;
	EXPECT_EQ(v["exits_io"], static_cast<uint64_t>(kOuts));
	EXPECT_EQ(v["exits_hlt"], 1u);
	EXPECT_EQ(v["exits"], sum_exits_by_reason(v));
	// The code page: one EPT violation, fixed by mapping it.
	EXPECT_EQ(v["exits_ept_violation"], 1u);
	EXPECT_EQ(v["pf_fixed"], 1u);
	EXPECT_EQ(v["insn_emulation"], 0u);
	EXPECT_EQ(v["exits_other"], 0u);

	auto m = StatsReader::of(g.vm).values();
	EXPECT_EQ(m["pages_pinned"], 1u);
	EXPECT_EQ(m["vcpus"], 1u);

	// One more round: the counters go on from where they were.
	kvm_regs r = g.regs();
	r.rip = TinyGuest::kCodeGpa;
	ioctl_or_throw(g.vcpu, KVM_SET_REGS, "KVM_SET_REGS", &r);
	run_outs(g, kOuts);
	EXPECT_EQ(vcpu.value("io_exits"), 2u * kOuts);
	EXPECT_EQ(vcpu.value("exits_io"), 2u * kOuts);
	EXPECT_EQ(vcpu.value("halt_exits"), 2u);
	EXPECT_EQ(vcpu.value("pf_fixed"), 1u);
}

// An MMIO write and an MMIO read: two KVM_EXIT_MMIO, each emulated.
KVMX_TEST(mmio_counts)
{
	Fd dev = open_device();
	// mov byte [0x2000],0x77; mov ax,[0x2000]; hlt
	TinyGuest g(dev, {0xc6, 0x06, 0x00, 0x20, 0x77, 0xa1, 0x00, 0x20, 0xf4});
	StatsReader vcpu = StatsReader::of(g.vcpu);
	ASSERT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_MMIO));
	ASSERT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_MMIO));
	ASSERT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_HLT));

	auto v = vcpu.values();
	EXPECT_EQ(v["mmio_exits"], 2u);
	EXPECT_EQ(v["io_exits"], 0u);
	EXPECT_EQ(v["halt_exits"], 1u);
	EXPECT_EQ(v["insn_emulation_fail"], 0u);
	EXPECT_TRUE(v["insn_emulation"] >= 2u);
	if (!on_kvmx())
		return;
	EXPECT_EQ(v["insn_emulation"], 2u);
	EXPECT_EQ(v["mmio_slow"] + v["mmio_fast"], 2u);
	EXPECT_EQ(v["exits_ept_violation"] + v["exits_ept_misconfig"], 3u);
	EXPECT_EQ(v["pf_fixed"], 1u);
	EXPECT_EQ(v["exits"], sum_exits_by_reason(v));
}

// Fault-around (kvmx/mmu/tdp.c): an EPT violation maps the faulting page
// and the pages beside it that the host has resident already, no others;
// never on a dirty-logging slot.  The guest reads gpa 0x10000 (never
// touched by the host), 0x20000 and 0x2f000 (the host wrote pages
// 0x20000-0x2ffff): the same bytes on both devices; on kvmx the last
// read takes no exit, as the second mapped the 15 resident pages above.
static void fault_around_case(uint32_t flags, uint64_t want_violations, uint64_t want_around)
{
	constexpr uint64_t kGpa = 0x10000, kBytes = 0x70000;
	Fd dev = open_device();
	TinyGuest g(dev, {
				 0xb8, 0x00, 0x10, 0x8e, 0xd8, 0xa0, 0x00, 0x00, // ds=0x1000; al=[0]
				 0x88, 0xc3,					    // mov bl,al
				 0xb8, 0x00, 0x20, 0x8e, 0xd8, 0xa0, 0x00, 0x00, // ds=0x2000; al=[0]
				 0x88, 0xc1,					    // mov cl,al
				 0xb8, 0x00, 0x2f, 0x8e, 0xd8, 0xa0, 0x00, 0x00, // ds=0x2f00; al=[0]
				 0x88, 0xc2,					    // mov dl,al
				 0xf4,
			 });
	kvmx::Mapping mem = kvmx::Mapping::anonymous(kBytes);
	// 4 KiB pages only: a huge page would make every page resident.
	ASSERT_EQ(::madvise(mem.get(), kBytes, MADV_NOHUGEPAGE), 0);
	for (uint64_t page = 0x20; page < 0x30; page++)
		mem.as<uint8_t>()[(page << 12) - kGpa] = static_cast<uint8_t>(page + 1);
	g.add_slot(1, kGpa, mem, flags);
	StatsReader vcpu = StatsReader::of(g.vcpu);
	ASSERT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_HLT));

	kvm_regs r = g.regs();
	EXPECT_EQ(r.rbx & 0xff, 0u);
	EXPECT_EQ(r.rcx & 0xff, 0x21u);
	EXPECT_EQ(r.rdx & 0xff, 0x30u);
	if (!on_kvmx())
		return;
	auto v = vcpu.values();
	EXPECT_EQ(v["exits_ept_violation"], want_violations);
	EXPECT_EQ(v["pf_fixed"], want_violations);
	EXPECT_EQ(v["pf_mapped_around"], want_around);
	EXPECT_EQ(StatsReader::of(g.vm).value("pages_pinned"), want_violations + want_around);
}

KVMX_TEST(fault_around)
{
	// The code page, 0x10000 alone (nothing resident beside it), 0x20000
	// with 0x21000-0x2f000 around it.
	fault_around_case(0, 3, 15);
}

KVMX_TEST(fault_around_not_when_logging)
{
	fault_around_case(KVM_MEM_LOG_DIRTY_PAGES, 4, 0);
}

// A signal ends KVM_RUN: one signal exit.  immediate_exit is not one.
KVMX_TEST(signal_exits)
{
	Fd dev = open_device();
	TinyGuest g(dev, {0xf3, 0x90, 0xeb, 0xfc}); // 1: pause; jmp 1b
	kvm_regs r = g.regs();
	r.rflags = 0x202;
	ioctl_or_throw(g.vcpu, KVM_SET_REGS, "KVM_SET_REGS", &r);
	StatsReader vcpu = StatsReader::of(g.vcpu);

	struct sigaction sa{}, old{};
	sa.sa_handler = on_sigusr1;
	sigemptyset(&sa.sa_mask);
	ASSERT_EQ(::sigaction(SIGUSR1, &sa, &old), 0);
	std::atomic<bool> done{false};
	const pthread_t self = ::pthread_self();
	// Signals that land before KVM_RUN are simply handled; keep sending.
	std::thread killer([&] {
		while (!done) {
			::pthread_kill(self, SIGUSR1);
			std::this_thread::sleep_for(std::chrono::milliseconds(50));
		}
	});
	long ret = ioctl_result(g.vcpu, KVM_RUN);
	done = true;
	killer.join();
	::sigaction(SIGUSR1, &old, nullptr);

	EXPECT_EQ(ret, -EINTR);
	EXPECT_EQ(g.run()->exit_reason, static_cast<uint32_t>(KVM_EXIT_INTR));
	EXPECT_EQ(vcpu.value("signal_exits"), 1u);
	EXPECT_EQ(vcpu.value("io_exits"), 0u);

	g.run()->immediate_exit = 1;
	EXPECT_EQ(ioctl_result(g.vcpu, KVM_RUN), -EINTR);
	g.run()->immediate_exit = 0;
	if (on_kvmx())
		EXPECT_EQ(vcpu.value("signal_exits"), 1u);
}

// Offsets anywhere: pread of every piece equals the whole file.
KVMX_TEST(offsets)
{
	Fd dev = open_device();
	TinyGuest g(dev, {0xf4});
	ASSERT_EQ(g.run_once(), static_cast<uint32_t>(KVM_EXIT_HLT));
	StatsReader vcpu = StatsReader::of(g.vcpu);
	std::vector<char> whole(vcpu.file_size());
	kvmx::pread_exact(vcpu.fd(), whole.data(), whole.size(), 0, "whole stats file");
	for (size_t off = 0; off < whole.size(); off += 13) {
		char buf[29];
		size_t want = std::min(sizeof(buf), whole.size() - off);
		ASSERT_EQ(::pread(vcpu.fd().get(), buf, sizeof(buf), static_cast<off_t>(off)),
			  static_cast<ssize_t>(want));
		EXPECT_EQ(std::memcmp(buf, whole.data() + off, want), 0);
	}
	// One value by its descriptor's offset.
	const StatDesc *d = vcpu.find("halt_exits");
	ASSERT_TRUE(d != nullptr);
	uint64_t halts = 0;
	kvmx::pread_exact(vcpu.fd(), &halts, sizeof(halts), vcpu.header().data_offset + d->offset,
			  "halt_exits");
	EXPECT_EQ(halts, 1u);
	if (on_kvmx()) {
		// kvmx also seeks (KVM's stats fds ignore lseek).
		EXPECT_EQ(::lseek(vcpu.fd().get(), 0, SEEK_END), static_cast<off_t>(whole.size()));
		EXPECT_EQ(::lseek(vcpu.fd().get(), -1, SEEK_SET), -1);
	}
}

// The stats fds keep working after the VM and vCPU fds are closed.
KVMX_TEST(outlives_vm_fd)
{
	constexpr int kOuts = 3;
	Fd dev = open_device();
	std::optional<TinyGuest> g(std::in_place, dev, std::initializer_list<uint8_t>{0xf4});
	load_code(*g, outs_then_hlt(kOuts));
	StatsReader vm = StatsReader::of(g->vm);
	StatsReader vcpu = StatsReader::of(g->vcpu);
	run_outs(*g, kOuts);
	g.reset();

	EXPECT_EQ(vcpu.value("io_exits"), static_cast<uint64_t>(kOuts));
	EXPECT_EQ(vcpu.value("halt_exits"), 1u);
	EXPECT_TRUE(vm.values().size() == vm.descs().size() || !on_kvmx());
	check_layout(vcpu, id_prefix() + "/vcpu-0");
	if (on_kvmx())
		EXPECT_EQ(vm.value("vcpus"), 1u);
}

// kvmx/<pid>-<vmid>/stats in debugfs: the VM's stats and its vCPUs' sums;
// vcpu<id>/stats: one vCPU's.  Gone with the VM.
KVMX_TEST(debugfs)
{
	if (!on_kvmx())
		SKIP("kvmx's debugfs files");
	if (!kvmx::exists(kDebugfs))
		SKIP(std::string(kDebugfs) + " absent (debugfs not mounted?)");
	constexpr int kOuts = 4;
	Fd dev = open_device();
	ASSERT_TRUE(vm_dirs_of_this_process().empty());
	std::optional<TinyGuest> g(std::in_place, dev, std::initializer_list<uint8_t>{0xf4});
	load_code(*g, outs_then_hlt(kOuts));
	run_outs(*g, kOuts);

	auto dirs = vm_dirs_of_this_process();
	ASSERT_EQ(dirs.size(), 1u);
	const std::string dir = std::string(kDebugfs) + "/" + dirs[0];
	StatsReader sums = StatsReader::open(dir + "/stats");
	check_layout(sums, id_prefix());
	EXPECT_EQ(sums.descs().size(), kKvmxVmStats.size() + kKvmxVcpuStats.size());
	check_kvmx_schema(sums, kKvmxVmStats, 0);
	check_kvmx_schema(sums, kKvmxVcpuStats, kKvmxVmStats.size() * 8);
	auto v = sums.values();
	EXPECT_EQ(v["io_exits"], static_cast<uint64_t>(kOuts));
	EXPECT_EQ(v["exits_io"], static_cast<uint64_t>(kOuts));
	EXPECT_EQ(v["vcpus"], 1u);
	EXPECT_EQ(v["pages_pinned"], 1u);

	// A second vCPU adds to the sums but not to vcpu0's file.
	Fd vcpu1(static_cast<int>(ioctl_or_throw(g->vm, KVM_CREATE_VCPU, "KVM_CREATE_VCPU", 1UL)));
	EXPECT_EQ(sums.value("vcpus"), 2u);
	EXPECT_TRUE(kvmx::exists(dir + "/vcpu1/stats"));
	StatsReader vcpu0 = StatsReader::open(dir + "/vcpu0/stats");
	check_layout(vcpu0, id_prefix() + "/vcpu-0");
	EXPECT_EQ(vcpu0.value("io_exits"), static_cast<uint64_t>(kOuts));
	EXPECT_TRUE(vcpu0.values() == StatsReader::of(g->vcpu).values());

	// An open debugfs file keeps the VM; closing it lets the VM go.
	vcpu1.reset();
	g.reset();
	EXPECT_TRUE(kvmx::exists(dir));
	EXPECT_EQ(vcpu0.value("io_exits"), static_cast<uint64_t>(kOuts));
	EXPECT_EQ(sums.value("io_exits"), static_cast<uint64_t>(kOuts));
	{
		StatsReader gone = std::move(vcpu0);
		StatsReader gone2 = std::move(sums);
	}
	EXPECT_TRUE(!kvmx::exists(dir));
	EXPECT_TRUE(vm_dirs_of_this_process().empty());
}

// tools/kvmx_stat --once reads the debugfs files and prints "name value".
KVMX_TEST(kvmx_stat_once)
{
	if (!on_kvmx())
		SKIP("kvmx_stat reads kvmx's debugfs");
	const std::string tool = kvmx_stat_path();
	if (tool.empty() || ::access(tool.c_str(), X_OK) != 0)
		SKIP("no kvmx_stat at " + tool + " (set KVMX_STAT)");
	constexpr int kOuts = 7;
	Fd dev = open_device();
	TinyGuest g(dev, {0xf4});
	load_code(g, outs_then_hlt(kOuts));
	run_outs(g, kOuts);
	auto dirs = vm_dirs_of_this_process();
	ASSERT_EQ(dirs.size(), 1u);

	auto [status, out] = run_program({tool, "--once", "--pid", std::to_string(::getpid())});
	ASSERT_EQ(status, 0);
	std::map<std::string, std::string> lines;
	size_t pos = 0;
	while (pos < out.size()) {
		size_t nl = out.find('\n', pos);
		std::string line = out.substr(pos, nl == std::string::npos ? nl : nl - pos);
		pos = nl == std::string::npos ? out.size() : nl + 1;
		size_t sp = line.rfind(' ');
		if (sp != std::string::npos)
			lines[line.substr(0, sp)] = line.substr(sp + 1);
	}
	EXPECT_EQ(lines["io_exits"], std::to_string(kOuts));
	EXPECT_EQ(lines["exits_io"], std::to_string(kOuts));
	EXPECT_EQ(lines["halt_exits"], "1");
	EXPECT_EQ(lines["vms"], "1");
	EXPECT_EQ(lines[dirs[0] + "/io_exits"], std::to_string(kOuts));
	EXPECT_EQ(lines[dirs[0] + "/vcpus"], "1");

	// A bad option is refused with status 2.
	EXPECT_EQ(run_program({tool, "--no-such-option"}, true).first, 2);
}

// Live mode, bounded: a table of totals and one line per VM.
KVMX_TEST(kvmx_stat_live)
{
	if (!on_kvmx())
		SKIP("kvmx_stat reads kvmx's debugfs");
	const std::string tool = kvmx_stat_path();
	if (tool.empty() || ::access(tool.c_str(), X_OK) != 0)
		SKIP("no kvmx_stat at " + tool + " (set KVMX_STAT)");
	Fd dev = open_device();
	TinyGuest g(dev, {0xf4});
	load_code(g, outs_then_hlt(2));
	run_outs(g, 2);
	auto dirs = vm_dirs_of_this_process();
	ASSERT_EQ(dirs.size(), 1u);

	auto [status, out] = run_program({tool, "--iterations", "2", "--interval", "0.2", "--pid",
					  std::to_string(::getpid())});
	ASSERT_EQ(status, 0);
	EXPECT_TRUE(out.find("kvmx_stat - 1 VM\n") != std::string::npos);
	EXPECT_TRUE(out.find(" io_exits ") != std::string::npos);
	EXPECT_TRUE(out.find(" " + dirs[0] + " ") != std::string::npos);
	// Two refreshes, no terminal: no escape sequences.
	size_t first = out.find("kvmx_stat - ");
	EXPECT_TRUE(first != std::string::npos &&
		    out.find("kvmx_stat - ", first + 1) != std::string::npos);
	EXPECT_TRUE(out.find('\033') == std::string::npos);
}
