// SPDX-License-Identifier: GPL-2.0
// The smallest useful guest: one vCPU executing a few bytes of code at
// guest-physical 0x1000, in real mode, flat 32-bit protected mode, or
// 64-bit mode with the low 1 GiB identity-mapped.  RAM: the code page at
// 0x1000 (also the stack, which grows down from 0x1ff0), and in the
// protected modes the GDT and page tables at 0xc000-0xffff (memslot
// kTablesSlot).  Everything else is unbacked, so MMIO, and free for a
// test's own memslots.  For tests that need particular instruction bytes
// run, not the full guest library.
#pragma once

#include <cstdint>
#include <cstring>
#include <functional>
#include <initializer_list>
#include "kvm_abi.h"
#include <vector>

#include "sys.h"

namespace kvmx::test {

enum class GuestMode { kReal, kProtected32, kLong64 };

class TinyGuest {
public:
	static constexpr uint64_t kCodeGpa = 0x1000;
	static constexpr uint64_t kTablesGpa = 0xc000;
	static constexpr uint64_t kGdt = 0xc000;
	static constexpr uint64_t kPml4 = 0xd000; // then the PDPT and PD
	static constexpr uint32_t kTablesSlot = 100;

	// @setup_vm runs on the new VM before its vCPU exists (KVM_ENABLE_CAP).
	TinyGuest(const Fd &dev, const std::vector<uint8_t> &code,
		  GuestMode mode = GuestMode::kReal,
		  const std::function<void(const Fd &vm)> &setup_vm = {})
		: vm(ioctl_or_throw(dev, KVM_CREATE_VM, "KVM_CREATE_VM")),
		  ram(Mapping::anonymous(0x1000))
	{
		std::memcpy(ram.get(), code.data(), code.size());
		add_slot(0, kCodeGpa, ram);
		if (setup_vm)
			setup_vm(vm);
		vcpu = Fd(static_cast<int>(ioctl_or_throw(vm, KVM_CREATE_VCPU, "KVM_CREATE_VCPU")));
		long size = ioctl_or_throw(dev, KVM_GET_VCPU_MMAP_SIZE, "KVM_GET_VCPU_MMAP_SIZE");
		run_map = Mapping::of_fd(vcpu, static_cast<size_t>(size));

		kvm_sregs sregs{};
		ioctl_or_throw(vcpu, KVM_GET_SREGS, "KVM_GET_SREGS", &sregs);
		if (mode == GuestMode::kReal) {
			sregs.cs.base = 0;
			sregs.cs.selector = 0;
		} else {
			set_flat(sregs, mode == GuestMode::kLong64);
		}
		ioctl_or_throw(vcpu, KVM_SET_SREGS, "KVM_SET_SREGS", &sregs);
		kvm_regs regs{};
		regs.rip = kCodeGpa;
		regs.rflags = 0x2;
		regs.rsp = kCodeGpa + 0xff0;
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

	void set_regs(const kvm_regs &r) const
	{
		ioctl_or_throw(vcpu, KVM_SET_REGS, "KVM_SET_REGS", &r);
	}

	void add_slot(uint32_t slot, uint64_t gpa, const Mapping &mem, uint32_t flags = 0) const
	{
		kvm_userspace_memory_region region{};
		region.slot = slot;
		region.flags = flags;
		region.guest_phys_addr = gpa;
		region.memory_size = mem.size();
		region.userspace_addr = reinterpret_cast<uint64_t>(mem.get());
		ioctl_or_throw(vm, KVM_SET_USER_MEMORY_REGION, "KVM_SET_USER_MEMORY_REGION",
			       &region);
	}

	Fd vm;
	Mapping ram;	// the code page
	Mapping tables; // GDT and page tables (protected modes)
	Fd vcpu;
	Mapping run_map;

private:
	// Flat segments from a GDT in guest RAM; for 64-bit mode also
	// identity-mapped 2 MiB pages for the first 1 GiB and EFER.LME/LMA.
	void set_flat(kvm_sregs &s, bool long_mode)
	{
		tables = Mapping::anonymous(0x4000);
		add_slot(kTablesSlot, kTablesGpa, tables);
		uint64_t *gdt = reinterpret_cast<uint64_t *>(tables.as<uint8_t>() + kGdt - kTablesGpa);
		gdt[1] = long_mode ? 0x00af9b000000ffffULL : 0x00cf9b000000ffffULL; // code
		gdt[2] = 0x00cf93000000ffffULL;					     // data
		s.gdt.base = kGdt;
		s.gdt.limit = 3 * 8 - 1;

		kvm_segment code{};
		code.base = 0;
		code.limit = 0xffffffff;
		code.selector = 0x08;
		code.type = 0xb;
		code.present = 1;
		code.s = 1;
		code.g = 1;
		code.l = long_mode;
		code.db = !long_mode;
		kvm_segment data = code;
		data.selector = 0x10;
		data.type = 0x3;
		data.l = 0;
		data.db = 1;
		s.cs = code;
		s.ds = s.es = s.fs = s.gs = s.ss = data;
		s.cr0 = 0x11; // PE, ET
		if (!long_mode)
			return;

		uint64_t *pml4 = reinterpret_cast<uint64_t *>(tables.as<uint8_t>() + kPml4 - kTablesGpa);
		uint64_t *pdpt = pml4 + 512;
		uint64_t *pd = pdpt + 512;
		pml4[0] = (kPml4 + 0x1000) | 0x3;
		pdpt[0] = (kPml4 + 0x2000) | 0x3;
		for (uint64_t i = 0; i < 512; i++)
			pd[i] = (i << 21) | 0x83; // present, writable, 2 MiB
		s.cr3 = kPml4;
		s.cr4 = 0x20;		 // PAE
		s.cr0 = 0x80000011;	 // PG, PE, ET
		s.efer = 0x500;		 // LME, LMA
	}
};

} // namespace kvmx::test
