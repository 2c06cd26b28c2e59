// SPDX-License-Identifier: GPL-2.0
// kvmx's counts of live objects (debugfs kvmx/objects: vms, vcpus,
// ept_tables, pinned_pages, irqchips, lapics, ioeventfds, irqfds), for
// leak checks.  Every line is a count of objects alive; KVM has no such
// counts.
#pragma once

#include <fstream>
#include <map>
#include <optional>
#include <string>

#include "test.h"

namespace kvmx::test {

// The counts, or nothing when the device under test is not kvmx or
// debugfs is not mounted.
inline std::optional<std::map<std::string, long>> try_objects()
{
	if (!options().testing_kvmx())
		return std::nullopt;
	std::ifstream in("/sys/kernel/debug/kvmx/objects");
	if (!in)
		return std::nullopt;
	std::map<std::string, long> counts;
	std::string name;
	long value;
	while (in >> name >> value)
		counts[name] = value;
	return counts;
}

// The counts, or SKIP where there are none.
inline std::map<std::string, long> objects()
{
	if (!options().testing_kvmx())
		skip("object counts are kvmx's own");
	auto counts = try_objects();
	if (!counts)
		skip("debugfs is not mounted");
	return *counts;
}

} // namespace kvmx::test
