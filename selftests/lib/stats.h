// SPDX-License-Identifier: GPL-2.0
// A reader of KVM's binary statistics format (KVM_GET_STATS_FD): the
// header, the id string, the descriptors, and the values by name.  The same
// reader takes kvmx's debugfs stats files, which use the same format.
// Errors throw std::system_error (naming the ioctl or the read and the
// errno) or std::runtime_error (a malformed file).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "kvm_abi.h"
#include "sys.h"

namespace kvmx {

// The fixed part of struct kvm_stats_desc (16 bytes), before its name.
// Not sizeof(kvm_stats_desc): in C++ its empty flexible-array wrapper
// takes a byte and the struct grows to 20.
constexpr size_t kStatsDescFixedSize = offsetof(kvm_stats_desc, bucket_size) + sizeof(uint32_t);
static_assert(kStatsDescFixedSize == 16);

struct StatDesc {
	std::string name;
	uint32_t flags = 0;
	int16_t exponent = 0;
	uint16_t size = 0;	  // how many u64 values
	uint32_t offset = 0;	  // byte offset in the data block
	uint32_t bucket_size = 0;

	[[nodiscard]] uint32_t type() const { return flags & KVM_STATS_TYPE_MASK; }
	[[nodiscard]] uint32_t unit() const { return flags & KVM_STATS_UNIT_MASK; }
	[[nodiscard]] uint32_t base() const { return flags & KVM_STATS_BASE_MASK; }
};

// Names of the KVM_STATS_* fields, for messages and tools.
std::string stats_type_name(uint32_t type);
std::string stats_unit_name(uint32_t unit);

class StatsReader {
public:
	// Reads and checks the header, the id and the descriptors of @fd.
	explicit StatsReader(Fd fd);

	// KVM_GET_STATS_FD on a VM or vCPU fd.
	static StatsReader of(const Fd &vm_or_vcpu);
	// A stats file, e.g. /sys/kernel/debug/kvmx/<pid>-<vmid>/stats.
	static StatsReader open(const std::string &path);

	[[nodiscard]] const kvm_stats_header &header() const { return header_; }
	[[nodiscard]] const std::string &id() const { return id_; }
	[[nodiscard]] const std::vector<StatDesc> &descs() const { return descs_; }
	[[nodiscard]] const Fd &fd() const { return fd_; }
	// The data block's size in bytes; the whole file ends there.
	[[nodiscard]] size_t data_size() const { return data_size_; }
	[[nodiscard]] size_t file_size() const { return header_.data_offset + data_size_; }

	// The descriptor named @name, or nullptr.
	[[nodiscard]] const StatDesc *find(std::string_view name) const;

	// One read of the whole data block (a consistent snapshot per read).
	[[nodiscard]] std::vector<uint64_t> read_data() const;
	// The first value of each stat, from one read of the data block.
	[[nodiscard]] std::map<std::string, uint64_t> values() const;
	// The (first) value of @name; throws std::out_of_range if there is none.
	[[nodiscard]] uint64_t value(std::string_view name) const;

private:
	Fd fd_;
	kvm_stats_header header_{};
	std::string id_;
	std::vector<StatDesc> descs_;
	size_t data_size_ = 0;
};

// pread() of exactly @len bytes at @off; throws naming @what on an error or
// a short read.
void pread_exact(const Fd &fd, void *buf, size_t len, uint64_t off, std::string_view what);

} // namespace kvmx
