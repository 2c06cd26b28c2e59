// SPDX-License-Identifier: GPL-2.0
// The smallest useful guest: one vCPU in real mode executing a few bytes of
// code at guest-physical 0x1000, in one page of RAM.  For tests that need a
// VM that runs but not the full guest library.
#pragma once

#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <linux/kvm.h>

#include "sys.h"

namespace kvmx::test {

class TinyGuest {
public:
	static constexpr uint64_t kCodeGpa = 0x1000;

	TinyGuest(const Fd &dev, std::initializer_list<uint8_t> code)
		: vm(ioctl_or_throw(dev, KVM_CREATE_VM, "KVM_CREATE_VM")),
		  ram(Mapping::anonymous(0x1000))
	{
		std::memcpy(ram.get(), std::data(code), code.size());
		kvm_userspace_memory_region region{};
		region.slot = 0;
		region.guest_phys_addr = kCodeGpa;
		region.memory_size = ram.size();
		region.userspace_addr = reinterpret_cast<uint64_t>(ram.get());
		ioctl_or_throw(vm, KVM_SET_USER_MEMORY_REGION, "KVM_SET_USER_MEMORY_REGION",
			       &region);
		vcpu = Fd(static_cast<int>(ioctl_or_throw(vm, KVM_CREATE_VCPU, "KVM_CREATE_VCPU")));
		long size = ioctl_or_throw(dev, KVM_GET_VCPU_MMAP_SIZE, "KVM_GET_VCPU_MMAP_SIZE");
		run_map = Mapping::of_fd(vcpu, static_cast<size_t>(size));

		kvm_sregs sregs{};
		ioctl_or_throw(vcpu, KVM_GET_SREGS, "KVM_GET_SREGS", &sregs);
		sregs.cs.base = 0;
		sregs.cs.selector = 0;
		ioctl_or_throw(vcpu, KVM_SET_SREGS, "KVM_SET_SREGS", &sregs);
		kvm_regs regs{};
		regs.rip = kCodeGpa;
		regs.rflags = 0x2;
		ioctl_or_throw(vcpu, KVM_SET_REGS, "KVM_SET_REGS", &regs);
	}

	// Runs until the next exit and returns its reason.
	uint32_t run_once()
	{
		ioctl_or_throw(vcpu, KVM_RUN, "KVM_RUN");
		return run()->exit_reason;
	}

	kvm_run *run() const { return run_map.as<kvm_run>(); }

	kvm_regs regs() const
	{
		kvm_regs r{};
		ioctl_or_throw(vcpu, KVM_GET_REGS, "KVM_GET_REGS", &r);
		return r;
	}

	Fd vm;
	Mapping ram;
	Fd vcpu;
	Mapping run_map;
};

} // namespace kvmx::test
