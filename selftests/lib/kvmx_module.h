// SPDX-License-Identifier: GPL-2.0
// For selftests that load and unload kvmx.ko themselves.
#pragma once

#include <cerrno>
#include <string>

#include "sys.h"
#include "test.h"

namespace kvmx::test {

// The kvmx.ko under test; skips the case when none was given.
inline std::string module_path()
{
	if (!options().testing_kvmx())
		skip("tests kvmx.ko itself, not " + options().device);
	if (options().module.empty())
		skip("no kvmx.ko given (--module or KVMX_MODULE)");
	return options().module;
}

// Whatever a case does to the module, kvmx.ko is loaded again, with the
// parameters the runner loaded it with (options().module_params: the
// shadow phase's ept=0), when the guard goes out of scope, so the cases
// after it find the state the runner set up.  reload() keeps them too.
class KvmxReloadGuard {
public:
	KvmxReloadGuard() : path_(module_path()) {}
	KvmxReloadGuard(const KvmxReloadGuard &) = delete;
	KvmxReloadGuard &operator=(const KvmxReloadGuard &) = delete;
	~KvmxReloadGuard()
	{
		if (with_params_ && module::loaded("kvmx") && module::unload("kvmx") != 0)
			diag("could not unload kvmx.ko loaded with parameters");
		if (!module::loaded("kvmx") && module::load(path_, options().module_params) != 0)
			diag("could not load kvmx.ko again after the case");
	}
	[[nodiscard]] const std::string &path() const { return path_; }

	// Unloads kvmx.ko and loads it with @params; 0 or -errno.
	int reload(const std::string &params)
	{
		int err = module::unload("kvmx");
		if (err && err != -ENOENT)
			return err;
		with_params_ = true;
		const std::string &base = options().module_params;
		return module::load(path_, base.empty() ? params : base + " " + params);
	}

private:
	std::string path_;
	bool with_params_ = false;
};

} // namespace kvmx::test
