// SPDX-License-Identifier: GPL-2.0
#include "sys.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <regex>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace kvmx {

void throw_errno(std::string_view what)
{
	throw std::system_error(errno, std::generic_category(), std::string(what));
}

Fd &Fd::operator=(Fd &&o) noexcept
{
	if (this != &o) {
		reset();
		fd_ = std::exchange(o.fd_, -1);
	}
	return *this;
}

void Fd::reset()
{
	if (fd_ >= 0)
		::close(fd_);
	fd_ = -1;
}

Fd Fd::open(const std::string &path, int flags)
{
	int fd = ::open(path.c_str(), flags | O_CLOEXEC);
	if (fd < 0)
		throw_errno("open " + path);
	return Fd(fd);
}

Fd Fd::eventfd()
{
	int fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (fd < 0)
		throw_errno("eventfd");
	return Fd(fd);
}

Mapping &Mapping::operator=(Mapping &&o) noexcept
{
	if (this != &o) {
		reset();
		addr_ = std::exchange(o.addr_, nullptr);
		len_ = std::exchange(o.len_, 0);
	}
	return *this;
}

void Mapping::reset()
{
	if (addr_)
		::munmap(addr_, len_);
	addr_ = nullptr;
	len_ = 0;
}

Mapping Mapping::anonymous(size_t len)
{
	void *p = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		throw_errno("mmap anonymous");
	return {p, len};
}

Mapping Mapping::of_fd(const Fd &fd, size_t len)
{
	void *p = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
	if (p == MAP_FAILED)
		throw_errno("mmap fd");
	return {p, len};
}

long ioctl_or_throw(const Fd &fd, unsigned long req, const char *name, unsigned long arg)
{
	long r = ::ioctl(fd.get(), req, arg);
	if (r < 0)
		throw_errno(name);
	return r;
}

long ioctl_result(const Fd &fd, unsigned long req, unsigned long arg)
{
	long r = ::ioctl(fd.get(), req, arg);
	return r < 0 ? -errno : r;
}

bool is_splat(std::string_view msg)
{
	static const std::regex re(
		"WARNING:|BUG:|Oops|general protection fault|Kernel panic|kernel BUG|"
		"Call Trace:|lockdep|possible recursive locking|circular locking|KASAN|UBSAN|"
		"refcount_t:|list_add corruption|list_del corruption|unreferenced object|"
		"soft lockup|blocked for more than|rcu.*stall");
	return std::regex_search(msg.begin(), msg.end(), re);
}

KmsgWatch::KmsgWatch() : fd_(Fd::open("/dev/kmsg", O_RDONLY | O_NONBLOCK))
{
	if (::lseek(fd_.get(), 0, SEEK_END) < 0)
		throw_errno("lseek /dev/kmsg");
}

std::vector<std::string> KmsgWatch::read_new()
{
	std::vector<std::string> fresh;
	char buf[8192];

	for (;;) {
		ssize_t n = ::read(fd_.get(), buf, sizeof(buf) - 1);
		if (n < 0 && errno == EPIPE)
			continue; // records were overwritten; go on with the next
		if (n <= 0)
			break;
		buf[n] = '\0';
		// "prio,seq,usec,flags;message\n continuation lines"
		const char *msg = std::strchr(buf, ';');
		std::string text = msg ? msg + 1 : buf;
		if (!text.empty() && text.back() == '\n')
			text.pop_back();
		fresh.push_back(text);
		seen_.push_back(text);
	}
	return fresh;
}

bool KmsgWatch::saw(std::string_view needle)
{
	read_new();
	for (const std::string &m : seen_)
		if (m.find(needle) != std::string::npos)
			return true;
	return false;
}

std::string KmsgWatch::first_splat()
{
	read_new();
	for (const std::string &m : seen_)
		if (is_splat(m))
			return m;
	return "";
}

namespace module {

int load(const std::string &path, const std::string &params)
{
	int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	long r = ::syscall(SYS_finit_module, fd, params.c_str(), 0);
	int err = r < 0 ? -errno : 0;
	::close(fd);
	return err;
}

int unload(const std::string &name)
{
	long r = ::syscall(SYS_delete_module, name.c_str(), O_NONBLOCK);
	return r < 0 ? -errno : 0;
}

bool loaded(const std::string &name)
{
	std::ifstream in("/proc/modules");
	std::string line;
	while (std::getline(in, line))
		if (line.compare(0, name.size() + 1, name + " ") == 0)
			return true;
	return false;
}

} // namespace module

bool exists(const std::string &path)
{
	struct stat st{};
	return ::stat(path.c_str(), &st) == 0;
}

std::string read_file(const std::string &path)
{
	std::ifstream in(path);
	std::ostringstream out;
	out << in.rdbuf();
	return in ? out.str() : std::string();
}

} // namespace kvmx
