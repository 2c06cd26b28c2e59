// SPDX-License-Identifier: GPL-2.0
#include "stats.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <stdexcept>
#include <sys/ioctl.h>
#include <unistd.h>

namespace kvmx {

namespace {

[[noreturn]] void malformed(const std::string &why)
{
	throw std::runtime_error("stats file: " + why);
}

} // namespace

std::string stats_type_name(uint32_t type)
{
	switch (type) {
	case KVM_STATS_TYPE_CUMULATIVE: return "cumulative";
	case KVM_STATS_TYPE_INSTANT: return "instant";
	case KVM_STATS_TYPE_PEAK: return "peak";
	case KVM_STATS_TYPE_LINEAR_HIST: return "linear-hist";
	case KVM_STATS_TYPE_LOG_HIST: return "log-hist";
	default: return "type-" + std::to_string(type);
	}
}

std::string stats_unit_name(uint32_t unit)
{
	switch (unit) {
	case KVM_STATS_UNIT_NONE: return "none";
	case KVM_STATS_UNIT_BYTES: return "bytes";
	case KVM_STATS_UNIT_SECONDS: return "seconds";
	case KVM_STATS_UNIT_CYCLES: return "cycles";
	case KVM_STATS_UNIT_BOOLEAN: return "boolean";
	default: return "unit-" + std::to_string(unit >> KVM_STATS_UNIT_SHIFT);
	}
}

void pread_exact(const Fd &fd, void *buf, size_t len, uint64_t off, std::string_view what)
{
	auto *p = static_cast<char *>(buf);
	size_t done = 0;

	while (done < len) {
		ssize_t n = ::pread(fd.get(), p + done, len - done, static_cast<off_t>(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			throw_errno("pread " + std::string(what));
		if (n == 0)
			malformed(std::string(what) + ": short read, " + std::to_string(done) +
				  " of " + std::to_string(len) + " bytes at offset " +
				  std::to_string(off));
		done += static_cast<size_t>(n);
	}
}

StatsReader::StatsReader(Fd fd) : fd_(std::move(fd))
{
	pread_exact(fd_, &header_, sizeof(header_), 0, "stats header");
	const kvm_stats_header &h = header_;
	if (h.name_size == 0 || h.name_size > 4096)
		malformed("name_size " + std::to_string(h.name_size));
	if (h.num_desc > 65536)
		malformed("num_desc " + std::to_string(h.num_desc));

	std::vector<char> id(h.name_size);
	pread_exact(fd_, id.data(), id.size(), h.id_offset, "stats id");
	id_.assign(id.data(), strnlen(id.data(), id.size()));

	const size_t desc_size = kStatsDescFixedSize + h.name_size;
	std::vector<char> raw(desc_size * h.num_desc);
	if (!raw.empty())
		pread_exact(fd_, raw.data(), raw.size(), h.desc_offset, "stats descriptors");
	for (uint32_t i = 0; i < h.num_desc; i++) {
		const char *p = raw.data() + i * desc_size;
		kvm_stats_desc d;
		std::memcpy(&d, p, kStatsDescFixedSize);
		const char *name = p + kStatsDescFixedSize;
		StatDesc s;
		s.name.assign(name, strnlen(name, h.name_size));
		s.flags = d.flags;
		s.exponent = d.exponent;
		s.size = d.size;
		s.offset = d.offset;
		s.bucket_size = d.bucket_size;
		data_size_ = std::max<size_t>(data_size_, size_t{s.offset} + s.size * sizeof(uint64_t));
		descs_.push_back(std::move(s));
	}
}

StatsReader StatsReader::of(const Fd &vm_or_vcpu)
{
	return StatsReader(Fd(static_cast<int>(
		ioctl_or_throw(vm_or_vcpu, KVM_GET_STATS_FD, "KVM_GET_STATS_FD"))));
}

StatsReader StatsReader::open(const std::string &path)
{
	return StatsReader(Fd::open(path, O_RDONLY));
}

const StatDesc *StatsReader::find(std::string_view name) const
{
	for (const StatDesc &d : descs_)
		if (d.name == name)
			return &d;
	return nullptr;
}

std::vector<uint64_t> StatsReader::read_data() const
{
	std::vector<uint64_t> data(data_size_ / sizeof(uint64_t));
	if (data_size_)
		pread_exact(fd_, data.data(), data_size_, header_.data_offset, "stats data");
	return data;
}

std::map<std::string, uint64_t> StatsReader::values() const
{
	std::vector<uint64_t> data = read_data();
	std::map<std::string, uint64_t> out;
	for (const StatDesc &d : descs_)
		if (d.size > 0 && d.offset % sizeof(uint64_t) == 0)
			out[d.name] = data[d.offset / sizeof(uint64_t)];
	return out;
}

uint64_t StatsReader::value(std::string_view name) const
{
	const StatDesc *d = find(name);
	if (!d || d->size == 0)
		throw std::out_of_range("no stat named " + std::string(name) + " in " + id_);
	uint64_t v;
	pread_exact(fd_, &v, sizeof(v), uint64_t{header_.data_offset} + d->offset,
		    "stat " + std::string(name));
	return v;
}

} // namespace kvmx
