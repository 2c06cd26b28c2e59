// SPDX-License-Identifier: GPL-2.0
// Running guests from a selftest, in the spirit of Linux's KVM selftests
// (kvm_util, processor.c, ucall), on options().device.
//
//   Vm vm;                              // a VM with the test's own ELF
//   Vcpu &vcpu = vm.add_vcpu(guest_fn); // 64-bit, paging on, at guest_fn
//   Ucall uc = vcpu.run_until_ucall();  // GUEST_ASSERT failures fail the case
//
// Vm(Vm::bare) is a VM with no memory and no vCPU, for tests that set up
// everything themselves (memslots, real or protected mode code).
//
// Guest-physical layout of a full Vm: memslot 0 from GPA 0 holds
//   [0, 1 MiB)            free for the test (real-mode code, ...)
//   [1 MiB, ELF start)    the allocator: page tables, GDT, IDT, TSS, stacks
//   the ELF's PT_LOADs    at GPA == their virtual address
//   after the ELF         the allocator again (extra_mem bytes)
// The page tables identity-map [0, 4 GiB) with 2 MiB pages; map() adds
// 4 KiB mappings elsewhere.  Errors throw std::system_error naming the
// ioctl and the errno.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "guest.h"
#include "kvm_abi.h"
#include "sys.h"

namespace kvmx {

class Vm;

// GDT selectors of a full Vm.
constexpr uint16_t KVMX_SEL_CODE64 = 0x08;
constexpr uint16_t KVMX_SEL_DATA = 0x10;
constexpr uint16_t KVMX_SEL_TSS = 0x18; // 16 bytes
constexpr uint16_t KVMX_SEL_CODE32 = 0x28;
constexpr uint16_t KVMX_SEL_DATA32 = 0x30;

constexpr uint64_t KiB = 1024, MiB = 1024 * KiB, GiB = 1024 * MiB;

// The system fd (options().device) and what it answers.
class System {
public:
	explicit System(const std::string &device);
	[[nodiscard]] const Fd &fd() const { return fd_; }
	long check_extension(long cap) const;
	size_t vcpu_mmap_size() const;
	std::vector<kvm_cpuid_entry2> supported_cpuid() const;

private:
	Fd fd_;
};

// KVM_SET_CPUID2's argument (struct kvm_cpuid2 in its C layout).
std::vector<uint8_t> make_cpuid2(const std::vector<kvm_cpuid_entry2> &entries);

class Memslot {
public:
	Memslot(Vm &vm, uint32_t slot, uint64_t gpa, uint64_t size, uint32_t flags);
	Memslot(const Memslot &) = delete;
	Memslot &operator=(const Memslot &) = delete;

	[[nodiscard]] uint32_t slot() const { return slot_; }
	[[nodiscard]] uint64_t gpa() const { return gpa_; }
	[[nodiscard]] uint64_t size() const { return mem_.size(); }
	[[nodiscard]] uint32_t flags() const { return flags_; }
	[[nodiscard]] uint8_t *host() const { return mem_.as<uint8_t>(); }
	[[nodiscard]] bool contains(uint64_t gpa) const
	{
		return gpa >= gpa_ && gpa - gpa_ < size();
	}
	// Host pointer of a guest-physical address inside the slot.
	[[nodiscard]] uint8_t *hva(uint64_t gpa) const;

	// KVM_SET_USER_MEMORY_REGION with the same memory at another GPA.
	void move(uint64_t new_gpa);
	// ... with other flags (KVM_MEM_LOG_DIRTY_PAGES, KVM_MEM_READONLY).
	void set_flags(uint32_t flags);
	// KVM_GET_DIRTY_LOG: one bit per page.
	std::vector<uint64_t> dirty_log();

private:
	friend class Vm;
	void update(uint64_t gpa, uint64_t size, uint32_t flags);
	Vm &vm_;
	uint32_t slot_;
	uint64_t gpa_;
	uint32_t flags_;
	Mapping mem_;
};

// Exit reason as text, for failure messages.
std::string exit_reason_name(uint32_t reason);

class Vcpu {
public:
	Vcpu(Vm &vm, uint32_t id);
	Vcpu(const Vcpu &) = delete;
	Vcpu &operator=(const Vcpu &) = delete;

	[[nodiscard]] uint32_t id() const { return id_; }
	[[nodiscard]] const Fd &fd() const { return fd_; }
	[[nodiscard]] Vm &vm() const { return vm_; }
	// The mmapped struct kvm_run.
	[[nodiscard]] struct kvm_run &run_area() const { return *run_.as<struct kvm_run>(); }
	// The PIO data of the current KVM_EXIT_IO.
	[[nodiscard]] uint8_t *io_data() const;

	// KVM_RUN; returns the exit reason, throws on an error.
	uint32_t run();
	// KVM_RUN; returns 0 or -errno (for tests of -EINTR and friends).
	int run_raw();
	// Runs until the next ucall and returns it.  Any other exit, an
	// unhandled guest exception or a GUEST_ASSERT fails the case.
	Ucall run_until_ucall();
	// run_until_ucall() must give UCALL_SYNC with @value / UCALL_DONE.
	void expect_sync(uint64_t value);
	void expect_done();
	// The ucall of the current exit, if it is one (cmd UCALL_NONE if not).
	Ucall get_ucall();

	kvm_regs regs() const;
	void set_regs(const kvm_regs &regs);
	kvm_sregs sregs() const;
	void set_sregs(const kvm_sregs &sregs);
	uint64_t get_msr(uint32_t index) const;
	void set_msr(uint32_t index, uint64_t value);
	void set_cpuid(const std::vector<kvm_cpuid_entry2> &entries);
	// KVM_GET/SET_MP_STATE.
	uint32_t mp_state() const;
	void set_mp_state(uint32_t state);
	// Arguments of the guest entry function (RDI, RSI, RDX, RCX).
	void set_args(std::initializer_list<uint64_t> args);

	// 64-bit mode at @rip with the Vm's paging, GDT, IDT and a fresh
	// stack; a return from the entry function is a UCALL_DONE.
	void enter_long_mode(uint64_t rip);
	// Real mode at 0:@ip (@ip < 64 KiB), IF=1.
	void enter_real_mode(uint16_t ip);
	// 32-bit protected mode, flat 4 GiB segments, no paging, IF=1.
	void enter_protected_mode(uint32_t eip);

private:
	Vm &vm_;
	uint32_t id_;
	Fd fd_;
	Mapping run_;
	uint64_t stack_top_ = 0;
};

class Vm {
public:
	enum Kind { full, bare };
	// The MMU (KVMX_MMU_*) every Vm made on kvmx from now on chooses with
	// KVMX_CAP_MMU right after KVM_CREATE_VM; -1 (the default): none, the
	// VM keeps what the module gives it.  Ignored on /dev/kvm.
	static void set_default_mmu(int mmu);
	[[nodiscard]] static int default_mmu();
	// @extra_mem: allocator space after the ELF in memslot 0.
	explicit Vm(Kind kind = full, uint64_t extra_mem = 4 * MiB);
	explicit Vm(const std::string &device, Kind kind = full, uint64_t extra_mem = 4 * MiB);
	Vm(const Vm &) = delete;
	Vm &operator=(const Vm &) = delete;
	~Vm();

	[[nodiscard]] const Fd &fd() const { return fd_; }
	[[nodiscard]] const System &system() const { return sys_; }
	[[nodiscard]] bool has_guest_image() const { return kind_ == full; }

	// Memslots.  The Vm owns them; remove_memslot() deletes it in KVM too.
	Memslot &add_memslot(uint32_t slot, uint64_t gpa, uint64_t size, uint32_t flags = 0);
	void remove_memslot(uint32_t slot);
	Memslot &memslot(uint32_t slot);
	Memslot *memslot_of(uint64_t gpa);

	// vCPUs.  A 64-bit vCPU at a guest function of the test binary:
	template <typename F> Vcpu &add_vcpu(F *guest_code)
	{
		Vcpu &v = add_vcpu();
		v.enter_long_mode(reinterpret_cast<uint64_t>(guest_code));
		return v;
	}
	// A vCPU with the next id in its reset state (CPUID set).  With an
	// irqchip, APs are made RUNNABLE as upstream's kvm_util does, unless
	// @runnable is false (then they wait for INIT and SIPI).
	Vcpu &add_vcpu(bool runnable = true);

	// KVM_CREATE_IRQCHIP (before the first vCPU).
	void create_irqchip();
	[[nodiscard]] bool has_irqchip() const { return irqchip_; }
	[[nodiscard]] std::vector<std::unique_ptr<Vcpu>> &vcpus() { return vcpus_; }

	// Guest-physical allocator in memslot 0; returns zeroed memory.
	uint64_t alloc(uint64_t size, uint64_t align = 4096);
	// Host pointer of guest-physical @gpa (throws if no memslot has it).
	uint8_t *hva(uint64_t gpa);
	// Guest page tables: translate, and map 4 KiB pages.
	uint64_t gva_to_gpa(uint64_t gva);
	void map(uint64_t gva, uint64_t gpa, uint64_t size);
	// Copy @len bytes to guest-physical memory.
	void write(uint64_t gpa, const void *src, size_t len);
	void write(uint64_t gpa, std::span<const uint8_t> bytes) { write(gpa, bytes.data(), bytes.size()); }

	// The guest's copy of a global of the test binary.
	template <typename T> T *guest(T *global)
	{
		return reinterpret_cast<T *>(hva(gva_to_gpa(reinterpret_cast<uint64_t>(global))));
	}
	template <typename T> void sync_to_guest(const T &global)
	{
		*guest(const_cast<T *>(&global)) = global;
	}
	template <typename T> void sync_from_guest(T &global) { global = *guest(&global); }
	// Guest exception/interrupt handler for @vector (guest function).
	void install_handler(uint8_t vector, ExHandler handler);
	// A string in guest memory at @gva, at most @max bytes.
	std::string read_string(uint64_t gva, size_t max = 256);

	[[nodiscard]] uint64_t gdt() const { return gdt_; }
	[[nodiscard]] uint64_t idt() const { return idt_; }
	[[nodiscard]] uint64_t tss() const { return tss_; }
	[[nodiscard]] uint64_t cr3() const { return pml4_; }

private:
	friend class Memslot;
	friend class Vcpu;
	void load_elf();
	void build_page_tables();
	void build_descriptor_tables();
	uint64_t *pte(uint64_t gva, bool create);

	System sys_;
	Fd fd_;
	Kind kind_;
	std::map<uint32_t, std::unique_ptr<Memslot>> slots_;
	std::vector<std::unique_ptr<Vcpu>> vcpus_;
	std::vector<kvm_cpuid_entry2> cpuid_;
	bool irqchip_ = false;
	struct Range {
		uint64_t start, end;
	};
	std::vector<Range> free_;
	uint64_t pml4_ = 0, gdt_ = 0, idt_ = 0, tss_ = 0;
};

// Runs @body(vcpu) for every vCPU of @vm, each on its own std::thread, and
// joins them; the first exception (e.g. a failed assertion) is rethrown.
void run_vcpus_in_threads(Vm &vm, const std::function<void(Vcpu &)> &body);

} // namespace kvmx
