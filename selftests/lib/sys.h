// SPDX-License-Identifier: GPL-2.0
// RAII wrappers for what selftests touch: file descriptors, mappings, the
// kernel log and kernel modules.  Failures throw std::system_error with a
// message that names the call (the ioctl's name) and the errno.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace kvmx {

[[noreturn]] void throw_errno(std::string_view what);

class Fd {
public:
	Fd() = default;
	explicit Fd(int fd) : fd_(fd) {}
	Fd(Fd &&o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
	Fd &operator=(Fd &&o) noexcept;
	Fd(const Fd &) = delete;
	Fd &operator=(const Fd &) = delete;
	~Fd() { reset(); }

	[[nodiscard]] int get() const { return fd_; }
	[[nodiscard]] bool valid() const { return fd_ >= 0; }
	void reset();
	// Gives up ownership: the caller closes the fd.
	[[nodiscard]] int release() { return std::exchange(fd_, -1); }

	static Fd open(const std::string &path, int flags);
	// A non-blocking eventfd (for KVM_IRQFD and KVM_IOEVENTFD), counter 0.
	static Fd eventfd();

private:
	int fd_ = -1;
};

class Mapping {
public:
	Mapping() = default;
	Mapping(void *addr, size_t len) : addr_(addr), len_(len) {}
	Mapping(Mapping &&o) noexcept
		: addr_(std::exchange(o.addr_, nullptr)), len_(std::exchange(o.len_, 0)) {}
	Mapping &operator=(Mapping &&o) noexcept;
	Mapping(const Mapping &) = delete;
	Mapping &operator=(const Mapping &) = delete;
	~Mapping() { reset(); }

	void reset();
	[[nodiscard]] void *get() const { return addr_; }
	[[nodiscard]] size_t size() const { return len_; }
	template <typename T> [[nodiscard]] T *as() const { return static_cast<T *>(addr_); }

	// Anonymous private memory, e.g. for guest RAM.
	static Mapping anonymous(size_t len);
	// A shared mapping of @fd (e.g. struct kvm_run from a vCPU fd).
	static Mapping of_fd(const Fd &fd, size_t len);

private:
	void *addr_ = nullptr;
	size_t len_ = 0;
};

// ioctl() that throws "NAME: strerror" on failure.
long ioctl_or_throw(const Fd &fd, unsigned long req, const char *name, unsigned long arg = 0);
template <typename T>
long ioctl_or_throw(const Fd &fd, unsigned long req, const char *name, T *arg)
{
	return ioctl_or_throw(fd, req, name, reinterpret_cast<unsigned long>(arg));
}

// The ioctl's return value, or -errno: for tests that expect an error.
long ioctl_result(const Fd &fd, unsigned long req, unsigned long arg = 0);
template <typename T> long ioctl_result(const Fd &fd, unsigned long req, T *arg)
{
	return ioctl_result(fd, req, reinterpret_cast<unsigned long>(arg));
}

// Kernel log records written after construction (/dev/kmsg).
class KmsgWatch {
public:
	KmsgWatch();
	// Messages logged since construction or the previous call.
	std::vector<std::string> read_new();
	// Whether any message since construction contains @needle.
	bool saw(std::string_view needle);
	// The first message since construction that looks like a kernel splat
	// (WARNING, BUG, Oops, lockdep, ...), or "" when there is none.
	std::string first_splat();

private:
	Fd fd_;
	std::vector<std::string> seen_;
};

// Whether @msg looks like a kernel splat; the test-host runner uses the
// same patterns on the whole log.
bool is_splat(std::string_view msg);

namespace module {
// finit_module(); returns 0 or -errno.
int load(const std::string &path, const std::string &params = "");
// delete_module(name, O_NONBLOCK); returns 0 or -errno.
int unload(const std::string &name);
bool loaded(const std::string &name);
} // namespace module

// Whether @path exists (e.g. a device node).
bool exists(const std::string &path);
// A small file's contents (a sysfs or proc value), "" if it cannot be read.
std::string read_file(const std::string &path);

} // namespace kvmx
