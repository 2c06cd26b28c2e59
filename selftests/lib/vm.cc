// SPDX-License-Identifier: GPL-2.0
#include "vm.h"

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <elf.h>
#include <exception>
#include <fcntl.h>
#include <fstream>
#include <iterator>
#include <linux/kvmx.h>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <sys/ioctl.h>
#include <thread>

#include "test.h"

extern "C" char kvmx_idt_stubs[];
extern "C" void kvmx_guest_returned();
namespace kvmx {
extern "C" ExHandler kvmx_guest_handlers[256];
}

namespace kvmx {
namespace {

constexpr uint64_t kPageSize = 4096;
constexpr uint64_t kLargePage = 2 * MiB;
constexpr uint64_t kPresent = 1, kWritable = 2, kLarge = 0x80;
constexpr uint64_t kAddrMask = 0x000ffffffffff000ULL;
constexpr uint64_t kStackSize = 32 * KiB;
constexpr uint64_t kLowReserved = 1 * MiB; // [0, 1 MiB) is the test's
constexpr uint64_t kIdentityMapped = 4 * GiB;

uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) & ~(a - 1); }
uint64_t align_down(uint64_t v, uint64_t a) { return v & ~(a - 1); }

[[noreturn]] void throw_msg(const std::string &what) { throw std::runtime_error(what); }

std::string hex(uint64_t v)
{
	std::ostringstream os;
	os << "0x" << std::hex << v;
	return os.str();
}

struct ElfImage {
	std::string bytes;
	std::vector<Elf64_Phdr> loads;
	uint64_t lo = ~0ULL, hi = 0;
};

// The test binary's own ELF image, read whole in one go: byte by byte
// (istreambuf_iterator) its 7 MB cost most of a second of the emulated
// test host's time, and every Vm wants it (self_image() keeps it).
ElfImage read_self()
{
	ElfImage img;
	std::ifstream in("/proc/self/exe", std::ios::binary | std::ios::ate);
	if (!in)
		throw_errno("open /proc/self/exe");
	const std::streamoff size = in.tellg();
	if (size < 0)
		throw_msg("/proc/self/exe: cannot tell its size");
	img.bytes.resize(static_cast<size_t>(size));
	in.seekg(0);
	if (!in.read(img.bytes.data(), size))
		throw_msg("/proc/self/exe: short read");
	if (img.bytes.size() < sizeof(Elf64_Ehdr))
		throw_msg("/proc/self/exe: too short for an ELF header");
	Elf64_Ehdr eh;
	std::memcpy(&eh, img.bytes.data(), sizeof(eh));
	if (std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_type != ET_EXEC)
		throw_msg("/proc/self/exe: not a static 64-bit ELF executable");
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		uint64_t off = eh.e_phoff + uint64_t(i) * eh.e_phentsize;
		if (off + sizeof(ph) > img.bytes.size())
			throw_msg("/proc/self/exe: truncated program headers");
		std::memcpy(&ph, img.bytes.data() + off, sizeof(ph));
		if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
			continue;
		if (ph.p_offset + ph.p_filesz > img.bytes.size())
			throw_msg("/proc/self/exe: truncated segment");
		img.loads.push_back(ph);
		img.lo = std::min(img.lo, align_down(ph.p_vaddr, kPageSize));
		img.hi = std::max(img.hi, align_up(ph.p_vaddr + ph.p_memsz, kPageSize));
	}
	if (img.loads.empty())
		throw_msg("/proc/self/exe: no PT_LOAD");
	return img;
}

// Read once per process: the binary does not change while it runs.
const ElfImage &self_image()
{
	static const ElfImage img = read_self();
	return img;
}

void set_seg(kvm_segment &s, uint16_t sel, uint64_t base, uint32_t limit, uint8_t type,
	     bool code_or_data, bool db, bool l, bool g)
{
	s = {};
	s.selector = sel;
	s.base = base;
	s.limit = limit;
	s.type = type;
	s.s = code_or_data;
	s.present = 1;
	s.db = db;
	s.l = l;
	s.g = g;
}

} // namespace

// ---- System ---------------------------------------------------------------

System::System(const std::string &device) : fd_(Fd::open(device, O_RDWR)) {}

long System::check_extension(long cap) const
{
	return ioctl_or_throw(fd_, KVM_CHECK_EXTENSION, "KVM_CHECK_EXTENSION",
			      static_cast<unsigned long>(cap));
}

size_t System::vcpu_mmap_size() const
{
	return static_cast<size_t>(
		ioctl_or_throw(fd_, KVM_GET_VCPU_MMAP_SIZE, "KVM_GET_VCPU_MMAP_SIZE"));
}

std::vector<uint8_t> make_cpuid2(const std::vector<kvm_cpuid_entry2> &entries)
{
	std::vector<uint8_t> buf(sizeof(abi::Cpuid2) + entries.size() * sizeof(kvm_cpuid_entry2));
	auto *c = reinterpret_cast<abi::Cpuid2 *>(buf.data());
	c->nent = static_cast<uint32_t>(entries.size());
	if (!entries.empty())
		std::memcpy(abi::entries_of<kvm_cpuid_entry2>(c), entries.data(),
			    entries.size() * sizeof(kvm_cpuid_entry2));
	return buf;
}

std::vector<kvm_cpuid_entry2> System::supported_cpuid() const
{
	for (size_t n = 64;; n *= 2) {
		std::vector<uint8_t> buf = make_cpuid2(std::vector<kvm_cpuid_entry2>(n));
		auto *c = reinterpret_cast<abi::Cpuid2 *>(buf.data());
		long r = ioctl_result(fd_, KVM_GET_SUPPORTED_CPUID, c);
		if (r == -E2BIG && n < 4096)
			continue;
		if (r < 0) {
			errno = static_cast<int>(-r);
			throw_errno("KVM_GET_SUPPORTED_CPUID");
		}
		const kvm_cpuid_entry2 *e = abi::entries_of<kvm_cpuid_entry2>(c);
		return {e, e + c->nent};
	}
}

// ---- Memslot --------------------------------------------------------------

Memslot::Memslot(Vm &vm, uint32_t slot, uint64_t gpa, uint64_t size, uint32_t flags)
	: vm_(vm), slot_(slot), gpa_(gpa), flags_(flags), mem_(Mapping::anonymous(size))
{
	update(gpa, size, flags);
}

void Memslot::update(uint64_t gpa, uint64_t size, uint32_t flags)
{
	kvm_userspace_memory_region r{};
	r.slot = slot_;
	r.flags = flags;
	r.guest_phys_addr = gpa;
	r.memory_size = size;
	r.userspace_addr = reinterpret_cast<uint64_t>(mem_.get());
	ioctl_or_throw(vm_.fd(), KVM_SET_USER_MEMORY_REGION, "KVM_SET_USER_MEMORY_REGION", &r);
	gpa_ = gpa;
	flags_ = flags;
}

uint8_t *Memslot::hva(uint64_t gpa) const
{
	if (!contains(gpa))
		throw_msg("GPA " + hex(gpa) + " is not in memslot " + std::to_string(slot_));
	return host() + (gpa - gpa_);
}

void Memslot::move(uint64_t new_gpa) { update(new_gpa, size(), flags_); }

void Memslot::set_flags(uint32_t flags) { update(gpa_, size(), flags); }

std::vector<uint64_t> Memslot::dirty_log()
{
	std::vector<uint64_t> bits((size() / kPageSize + 63) / 64);
	kvm_dirty_log log{};
	log.slot = slot_;
	log.dirty_bitmap = bits.data();
	ioctl_or_throw(vm_.fd(), KVM_GET_DIRTY_LOG, "KVM_GET_DIRTY_LOG", &log);
	return bits;
}

// ---- Vm -------------------------------------------------------------------

Vm::Vm(Kind kind, uint64_t extra_mem) : Vm(test::options().device, kind, extra_mem) {}

namespace {
int g_default_mmu = -1;
} // namespace

void Vm::set_default_mmu(int mmu) { g_default_mmu = mmu; }

int Vm::default_mmu() { return g_default_mmu; }

Vm::Vm(const std::string &device, Kind kind, uint64_t extra_mem)
	: sys_(device), fd_(static_cast<int>(ioctl_or_throw(sys_.fd(), KVM_CREATE_VM, "KVM_CREATE_VM"))),
	  kind_(kind)
{
	if (g_default_mmu >= 0 && device != test::options().ref_device) {
		kvm_enable_cap cap{};
		cap.cap = KVMX_CAP_MMU;
		cap.args[0] = static_cast<uint64_t>(g_default_mmu);
		ioctl_or_throw(fd_, KVM_ENABLE_CAP, "KVM_ENABLE_CAP(KVMX_CAP_MMU)", &cap);
	}
	cpuid_ = sys_.supported_cpuid();
	if (kind == bare)
		return;
	const ElfImage &img = self_image();
	if (img.lo < kLowReserved + 64 * KiB)
		throw_msg("the test binary is linked too low for memslot 0");
	uint64_t size = align_up(img.hi + extra_mem, kLargePage);
	Memslot &s0 = add_memslot(0, 0, size);
	free_ = {{kLowReserved, img.lo}, {img.hi, size}};
	for (const Elf64_Phdr &ph : img.loads)
		std::memcpy(s0.hva(ph.p_vaddr), img.bytes.data() + ph.p_offset, ph.p_filesz);
	build_page_tables();
	build_descriptor_tables();
}

Vm::~Vm() = default;

Memslot &Vm::add_memslot(uint32_t slot, uint64_t gpa, uint64_t size, uint32_t flags)
{
	if (slots_.count(slot))
		throw_msg("memslot " + std::to_string(slot) + " exists already");
	auto s = std::make_unique<Memslot>(*this, slot, gpa, size, flags);
	Memslot &ref = *s;
	slots_.emplace(slot, std::move(s));
	return ref;
}

void Vm::remove_memslot(uint32_t slot)
{
	Memslot &s = memslot(slot);
	s.update(s.gpa(), 0, s.flags());
	slots_.erase(slot);
}

Memslot &Vm::memslot(uint32_t slot)
{
	auto it = slots_.find(slot);
	if (it == slots_.end())
		throw_msg("no memslot " + std::to_string(slot));
	return *it->second;
}

Memslot *Vm::memslot_of(uint64_t gpa)
{
	for (auto &[id, s] : slots_)
		if (s->contains(gpa))
			return s.get();
	return nullptr;
}

uint8_t *Vm::hva(uint64_t gpa)
{
	Memslot *s = memslot_of(gpa);
	if (!s)
		throw_msg("GPA " + hex(gpa) + " is in no memslot");
	return s->hva(gpa);
}

void Vm::write(uint64_t gpa, const void *src, size_t len)
{
	Memslot *s = memslot_of(gpa);
	if (!s || !s->contains(gpa + len - 1))
		throw_msg("GPA range " + hex(gpa) + "+" + hex(len) + " is not in one memslot");
	std::memcpy(s->hva(gpa), src, len);
}

uint64_t Vm::alloc(uint64_t size, uint64_t align)
{
	size = align_up(size, kPageSize);
	for (size_t i = 0; i < free_.size(); i++) {
		const Range r = free_[i];
		uint64_t start = align_up(r.start, align);
		if (start + size > r.end)
			continue;
		free_[i].start = start + size;
		if (start != r.start)
			free_.push_back({r.start, start}); // keep the alignment gap
		std::memset(hva(start), 0, size);
		return start;
	}
	throw_msg("guest-physical allocator: out of memory for " + hex(size) + " bytes");
}

void Vm::build_page_tables()
{
	pml4_ = alloc(kPageSize);
	uint64_t pdpt = alloc(kPageSize);
	reinterpret_cast<uint64_t *>(hva(pml4_))[0] = pdpt | kPresent | kWritable;
	for (uint64_t gib = 0; gib < kIdentityMapped / GiB; gib++) {
		uint64_t pd = alloc(kPageSize);
		reinterpret_cast<uint64_t *>(hva(pdpt))[gib] = pd | kPresent | kWritable;
		auto *pde = reinterpret_cast<uint64_t *>(hva(pd));
		for (uint64_t i = 0; i < 512; i++)
			pde[i] = (gib * GiB + i * kLargePage) | kPresent | kWritable | kLarge;
	}
}

uint64_t *Vm::pte(uint64_t gva, bool create)
{
	if (!pml4_)
		throw_msg("this VM has no page tables");
	uint64_t table = pml4_;
	for (int level = 3; level >= 1; level--) {
		auto *entries = reinterpret_cast<uint64_t *>(hva(table));
		uint64_t &e = entries[(gva >> (12 + 9 * level)) & 511];
		if (!(e & kPresent)) {
			if (!create)
				return nullptr;
			e = alloc(kPageSize) | kPresent | kWritable;
		}
		if (e & kLarge) {
			if (create)
				throw_msg("GVA " + hex(gva) + " is inside a large page");
			return &e;
		}
		table = e & kAddrMask;
	}
	return &reinterpret_cast<uint64_t *>(hva(table))[(gva >> 12) & 511];
}

void Vm::map(uint64_t gva, uint64_t gpa, uint64_t size)
{
	if ((gva | gpa | size) & (kPageSize - 1))
		throw_msg("map: unaligned");
	for (uint64_t off = 0; off < size; off += kPageSize)
		*pte(gva + off, true) = (gpa + off) | kPresent | kWritable;
}

uint64_t Vm::gva_to_gpa(uint64_t gva)
{
	if (!pml4_)
		return gva;
	uint64_t table = pml4_;
	for (int level = 3; level >= 0; level--) {
		uint64_t e = reinterpret_cast<uint64_t *>(hva(table))[(gva >> (12 + 9 * level)) & 511];
		if (!(e & kPresent))
			throw_msg("GVA " + hex(gva) + " is not mapped");
		if (level > 0 && (e & kLarge)) {
			uint64_t page = 1ULL << (12 + 9 * level);
			return (e & kAddrMask & ~(page - 1)) | (gva & (page - 1));
		}
		table = e & kAddrMask;
	}
	return table | (gva & (kPageSize - 1));
}

void Vm::build_descriptor_tables()
{
	gdt_ = alloc(kPageSize);
	idt_ = alloc(kPageSize);
	tss_ = alloc(kPageSize);

	auto *gdt = reinterpret_cast<uint64_t *>(hva(gdt_));
	gdt[KVMX_SEL_CODE64 / 8] = 0x00af9b000000ffffULL; // L=1, P, DPL 0, code
	gdt[KVMX_SEL_DATA / 8] = 0x00cf93000000ffffULL;
	gdt[KVMX_SEL_TSS / 8] = 0x67 | ((tss_ & 0xffffff) << 16) | (0x8bULL << 40) |
				((tss_ >> 24 & 0xff) << 56);
	gdt[KVMX_SEL_TSS / 8 + 1] = tss_ >> 32;
	gdt[KVMX_SEL_CODE32 / 8] = 0x00cf9b000000ffffULL; // D=1
	gdt[KVMX_SEL_DATA32 / 8] = 0x00cf93000000ffffULL;

	auto *idt = reinterpret_cast<uint64_t *>(hva(idt_));
	for (uint64_t v = 0; v < 256; v++) {
		uint64_t fn = reinterpret_cast<uint64_t>(kvmx_idt_stubs) + 16 * v;
		idt[2 * v] = (fn & 0xffff) | (uint64_t(KVMX_SEL_CODE64) << 16) |
			     (0x8eULL << 40) | ((fn >> 16 & 0xffff) << 48);
		idt[2 * v + 1] = fn >> 32;
	}
}

void Vm::install_handler(uint8_t vector, ExHandler handler)
{
	guest(&kvmx_guest_handlers[0])[vector] = handler;
}

std::string Vm::read_string(uint64_t gva, size_t max)
{
	std::string s;
	for (size_t i = 0; i < max; i++) {
		char c = static_cast<char>(*hva(gva_to_gpa(gva + i)));
		if (!c)
			break;
		s += c;
	}
	return s;
}

Vcpu &Vm::add_vcpu(bool runnable)
{
	auto v = std::make_unique<Vcpu>(*this, static_cast<uint32_t>(vcpus_.size()));
	v->set_cpuid(cpuid_);
	if (irqchip_ && runnable)
		v->set_mp_state(KVM_MP_STATE_RUNNABLE);
	vcpus_.push_back(std::move(v));
	return *vcpus_.back();
}

void Vm::create_irqchip()
{
	ioctl_or_throw(fd_, KVM_CREATE_IRQCHIP, "KVM_CREATE_IRQCHIP");
	irqchip_ = true;
}

// ---- Vcpu -----------------------------------------------------------------

uint32_t Vcpu::mp_state() const
{
	kvm_mp_state mp{};
	ioctl_or_throw(fd_, KVM_GET_MP_STATE, "KVM_GET_MP_STATE", &mp);
	return mp.mp_state;
}

void Vcpu::set_mp_state(uint32_t state)
{
	kvm_mp_state mp{state};
	ioctl_or_throw(fd_, KVM_SET_MP_STATE, "KVM_SET_MP_STATE", &mp);
}

Vcpu::Vcpu(Vm &vm, uint32_t id)
	: vm_(vm), id_(id),
	  fd_(static_cast<int>(ioctl_or_throw(vm.fd(), KVM_CREATE_VCPU, "KVM_CREATE_VCPU", id))),
	  run_(Mapping::of_fd(fd_, vm.system().vcpu_mmap_size()))
{
}

uint8_t *Vcpu::io_data() const
{
	return run_.as<uint8_t>() + run_area().io.data_offset;
}

int Vcpu::run_raw()
{
	return static_cast<int>(ioctl_result(fd_, KVM_RUN));
}

uint32_t Vcpu::run()
{
	ioctl_or_throw(fd_, KVM_RUN, "KVM_RUN");
	return run_area().exit_reason;
}

kvm_regs Vcpu::regs() const
{
	kvm_regs r{};
	ioctl_or_throw(fd_, KVM_GET_REGS, "KVM_GET_REGS", &r);
	return r;
}

void Vcpu::set_regs(const kvm_regs &regs)
{
	ioctl_or_throw(fd_, KVM_SET_REGS, "KVM_SET_REGS", const_cast<kvm_regs *>(&regs));
}

kvm_sregs Vcpu::sregs() const
{
	kvm_sregs s{};
	ioctl_or_throw(fd_, KVM_GET_SREGS, "KVM_GET_SREGS", &s);
	return s;
}

void Vcpu::set_sregs(const kvm_sregs &sregs)
{
	ioctl_or_throw(fd_, KVM_SET_SREGS, "KVM_SET_SREGS", const_cast<kvm_sregs *>(&sregs));
}

namespace {
// struct kvm_msrs with one entry.
struct OneMsr {
	abi::Msrs hdr;
	kvm_msr_entry entry;
};
static_assert(offsetof(OneMsr, entry) == sizeof(abi::Msrs));
} // namespace

uint64_t Vcpu::get_msr(uint32_t index) const
{
	OneMsr m{};
	m.hdr.nmsrs = 1;
	m.entry.index = index;
	if (ioctl_or_throw(fd_, KVM_GET_MSRS, "KVM_GET_MSRS", &m) != 1)
		throw_msg("KVM_GET_MSRS: MSR " + hex(index) + " not read");
	return m.entry.data;
}

void Vcpu::set_msr(uint32_t index, uint64_t value)
{
	OneMsr m{};
	m.hdr.nmsrs = 1;
	m.entry.index = index;
	m.entry.data = value;
	if (ioctl_or_throw(fd_, KVM_SET_MSRS, "KVM_SET_MSRS", &m) != 1)
		throw_msg("KVM_SET_MSRS: MSR " + hex(index) + " not written");
}

void Vcpu::set_cpuid(const std::vector<kvm_cpuid_entry2> &entries)
{
	std::vector<uint8_t> buf = make_cpuid2(entries);
	ioctl_or_throw(fd_, KVM_SET_CPUID2, "KVM_SET_CPUID2", buf.data());
}

void Vcpu::set_args(std::initializer_list<uint64_t> args)
{
	kvm_regs r = regs();
	__u64 *slots[] = {&r.rdi, &r.rsi, &r.rdx, &r.rcx};
	if (args.size() > 4)
		throw_msg("set_args: at most 4 arguments");
	size_t i = 0;
	for (uint64_t a : args)
		*slots[i++] = a;
	set_regs(r);
}

void Vcpu::enter_long_mode(uint64_t rip)
{
	if (!vm_.has_guest_image())
		throw_msg("enter_long_mode needs a full Vm");
	if (!stack_top_)
		stack_top_ = vm_.alloc(kStackSize, 16) + kStackSize;
	// As if called: the return address on top, RSP = 8 mod 16.
	uint64_t ret = reinterpret_cast<uint64_t>(kvmx_guest_returned);
	vm_.write(stack_top_ - 8, &ret, sizeof(ret));

	kvm_sregs s = sregs();
	set_seg(s.cs, KVMX_SEL_CODE64, 0, 0xffffffff, 0xb, true, false, true, true);
	for (kvm_segment *d : {&s.ds, &s.es, &s.fs, &s.gs, &s.ss})
		set_seg(*d, KVMX_SEL_DATA, 0, 0xffffffff, 0x3, true, true, false, true);
	set_seg(s.tr, KVMX_SEL_TSS, vm_.tss(), 0x67, 0xb, false, false, false, false);
	s.ldt = {};
	s.ldt.unusable = 1;
	s.ldt.type = 2;
	s.gdt.base = vm_.gdt();
	s.gdt.limit = 0xfff;
	s.idt.base = vm_.idt();
	s.idt.limit = 0xfff;
	s.cr0 = 0x80050033; // PG WP NE ET MP PE
	s.cr3 = vm_.cr3();
	s.cr4 = 0x620;	    // OSXMMEXCPT OSFXSR PAE
	s.efer = 0xd00;	    // NXE LMA LME
	set_sregs(s);

	kvm_regs r{};
	r.rip = rip;
	r.rsp = stack_top_ - 8;
	r.rflags = 0x202;
	set_regs(r);
}

void Vcpu::enter_real_mode(uint16_t ip)
{
	kvm_sregs s = sregs();
	set_seg(s.cs, 0, 0, 0xffff, 0xb, true, false, false, false);
	for (kvm_segment *d : {&s.ds, &s.es, &s.fs, &s.gs, &s.ss})
		set_seg(*d, 0, 0, 0xffff, 0x3, true, false, false, false);
	set_seg(s.tr, 0, 0, 0xffff, 0xb, false, false, false, false);
	set_seg(s.ldt, 0, 0, 0xffff, 0x2, false, false, false, false);
	s.gdt = {};
	s.gdt.limit = 0xffff;
	s.idt = {};
	s.idt.limit = 0x3ff;
	s.cr0 = 0x10; // ET
	s.cr3 = 0;
	s.cr4 = 0;
	s.efer = 0;
	set_sregs(s);

	kvm_regs r{};
	r.rip = ip;
	r.rsp = 0xfff0;
	r.rflags = 0x202;
	set_regs(r);
}

void Vcpu::enter_protected_mode(uint32_t eip)
{
	kvm_sregs s = sregs();
	set_seg(s.cs, KVMX_SEL_CODE32, 0, 0xffffffff, 0xb, true, true, false, true);
	for (kvm_segment *d : {&s.ds, &s.es, &s.fs, &s.gs, &s.ss})
		set_seg(*d, KVMX_SEL_DATA32, 0, 0xffffffff, 0x3, true, true, false, true);
	set_seg(s.tr, KVMX_SEL_TSS, vm_.tss(), 0x67, 0xb, false, false, false, false);
	s.ldt = {};
	s.ldt.unusable = 1;
	s.ldt.type = 2;
	s.gdt.base = vm_.gdt();
	s.gdt.limit = vm_.gdt() ? 0xfff : 0;
	s.idt = {};
	s.cr0 = 0x31; // NE ET PE
	s.cr3 = 0;
	s.cr4 = 0;
	s.efer = 0;
	set_sregs(s);

	kvm_regs r{};
	r.rip = eip;
	r.rsp = 0xfff0;
	r.rflags = 0x202;
	set_regs(r);
}

Ucall Vcpu::get_ucall()
{
	Ucall uc{};
	const struct kvm_run &r = run_area();
	if (r.exit_reason != KVM_EXIT_IO || r.io.port != KVMX_UCALL_PORT)
		return uc;
	uint64_t gva = regs().rdi;
	uint64_t gpa = vm_.gva_to_gpa(gva);
	Memslot *s = vm_.memslot_of(gpa);
	if (!s || !s->contains(gpa + sizeof(uc) - 1))
		throw_msg("ucall struct at GVA " + hex(gva) + " is not in one memslot");
	std::memcpy(&uc, s->hva(gpa), sizeof(uc));
	return uc;
}

std::string exit_reason_name(uint32_t reason)
{
	static const std::map<uint32_t, const char *> names = {
		{KVM_EXIT_UNKNOWN, "UNKNOWN"},
		{KVM_EXIT_EXCEPTION, "EXCEPTION"},
		{KVM_EXIT_IO, "IO"},
		{KVM_EXIT_HYPERCALL, "HYPERCALL"},
		{KVM_EXIT_DEBUG, "DEBUG"},
		{KVM_EXIT_HLT, "HLT"},
		{KVM_EXIT_MMIO, "MMIO"},
		{KVM_EXIT_IRQ_WINDOW_OPEN, "IRQ_WINDOW_OPEN"},
		{KVM_EXIT_SHUTDOWN, "SHUTDOWN"},
		{KVM_EXIT_FAIL_ENTRY, "FAIL_ENTRY"},
		{KVM_EXIT_INTR, "INTR"},
		{KVM_EXIT_INTERNAL_ERROR, "INTERNAL_ERROR"},
	};
	auto it = names.find(reason);
	std::string n = it == names.end() ? "exit" : it->second;
	return n + " (" + std::to_string(reason) + ")";
}

Ucall Vcpu::run_until_ucall()
{
	uint32_t reason = run();
	Ucall uc = get_ucall();
	const struct kvm_run &r = run_area();
	std::string where = "vCPU " + std::to_string(id_) + ": ";

	if (uc.cmd == UCALL_NONE) {
		std::string what = where + "expected a ucall, got exit " + exit_reason_name(reason);
		if (reason == KVM_EXIT_IO)
			what += " port " + hex(r.io.port) + (r.io.direction ? " out" : " in");
		if (reason == KVM_EXIT_MMIO)
			what += " at " + hex(r.mmio.phys_addr);
		if (reason == KVM_EXIT_FAIL_ENTRY)
			what += " reason " + hex(r.fail_entry.hardware_entry_failure_reason);
		what += " RIP " + hex(regs().rip);
		test::fail(__FILE__, __LINE__, what);
		throw test::Abort{};
	}
	if (uc.cmd == UCALL_ABORT) {
		std::string what = where + "guest assertion failed: " +
				   vm_.read_string(reinterpret_cast<uint64_t>(uc.expr));
		if (uc.args[2])
			what += " (" + hex(uc.args[0]) + " != " + hex(uc.args[1]) + ")";
		std::string file = vm_.read_string(reinterpret_cast<uint64_t>(uc.file));
		test::fail(file.c_str(), static_cast<int>(uc.line), what);
		throw test::Abort{};
	}
	if (uc.cmd == UCALL_UNHANDLED) {
		test::fail(__FILE__, __LINE__,
			   where + "unhandled guest exception: vector " + std::to_string(uc.args[0]) +
				   " error code " + hex(uc.args[1]) + " RIP " + hex(uc.args[2]));
		throw test::Abort{};
	}
	return uc;
}

void Vcpu::expect_sync(uint64_t value)
{
	Ucall uc = run_until_ucall();
	if (uc.cmd != UCALL_SYNC || uc.args[0] != value) {
		test::fail(__FILE__, __LINE__,
			   "vCPU " + std::to_string(id_) + ": expected GUEST_SYNC(" + hex(value) +
				   "), got ucall " + std::to_string(uc.cmd) + " (" +
				   hex(uc.args[0]) + ")");
		throw test::Abort{};
	}
}

void Vcpu::expect_done()
{
	Ucall uc = run_until_ucall();
	if (uc.cmd != UCALL_DONE) {
		test::fail(__FILE__, __LINE__,
			   "vCPU " + std::to_string(id_) + ": expected GUEST_DONE, got ucall " +
				   std::to_string(uc.cmd) + " (" + hex(uc.args[0]) + ")");
		throw test::Abort{};
	}
}

void run_vcpus_in_threads(Vm &vm, const std::function<void(Vcpu &)> &body)
{
	std::mutex mu;
	std::exception_ptr first;
	std::vector<std::thread> threads;
	for (auto &v : vm.vcpus()) {
		Vcpu *vcpu = v.get();
		threads.emplace_back([&, vcpu] {
			try {
				body(*vcpu);
			} catch (...) {
				std::lock_guard<std::mutex> g(mu);
				if (!first)
					first = std::current_exception();
			}
		});
	}
	for (std::thread &t : threads)
		t.join();
	if (first)
		std::rethrow_exception(first);
}

} // namespace kvmx
