// SPDX-License-Identifier: GPL-2.0
// What guest code may use.  Guest code is ordinary C++ in the test binary:
// the library loads the binary's own ELF into guest memory at its virtual
// addresses and starts a vCPU at a function of it (lib/vm.h).  Guest code
// runs at CPL 0 in 64-bit mode with SSE enabled, and must not call libc,
// touch thread-local storage or throw; it talks to the host through ucalls:
//
//   GUEST_SYNC(v)          exit to the host with the value v
//   GUEST_DONE()           the guest is finished
//   GUEST_ASSERT(cond)     on failure: file, line and condition to the host,
//   GUEST_ASSERT_EQ(a, b)  which fails the test case
//
// A ucall is an "in" from port KVMX_UCALL_PORT with RDI pointing at a
// struct Ucall on the guest stack (as in Linux's KVM selftests).
#pragma once

#include <cstdint>

namespace kvmx {

constexpr uint16_t KVMX_UCALL_PORT = 0x1000;

enum UcallCmd : uint64_t {
	UCALL_NONE = 0,
	UCALL_SYNC,
	UCALL_DONE,
	UCALL_ABORT,	     // GUEST_ASSERT*: args[0], args[1] are the values
	UCALL_UNHANDLED,     // exception: args = vector, error code, RIP
};

struct Ucall {
	uint64_t cmd;
	uint64_t args[3];
	const char *file; // guest virtual addresses (same as the host's)
	const char *expr;
	uint64_t line;
};

// What the IDT stubs push for every vector (lib/guest.cc).
struct ExFrame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error_code;
	uint64_t rip, cs, rflags, rsp, ss;
};

using ExHandler = void (*)(ExFrame *);

namespace guest {

// Out of line, in the test binary: usable from guest code.
void ucall(uint64_t cmd, uint64_t a0 = 0, uint64_t a1 = 0, uint64_t a2 = 0);
[[noreturn]] void ucall_abort(const char *file, uint64_t line, const char *expr, uint64_t a,
			      uint64_t b, bool two_values);

static inline void outb(uint16_t port, uint8_t v)
{
	asm volatile("outb %0, %1" : : "a"(v), "Nd"(port) : "memory");
}
static inline void outw(uint16_t port, uint16_t v)
{
	asm volatile("outw %0, %1" : : "a"(v), "Nd"(port) : "memory");
}
static inline void outl(uint16_t port, uint32_t v)
{
	asm volatile("outl %0, %1" : : "a"(v), "Nd"(port) : "memory");
}
static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port) : "memory");
	return v;
}
static inline uint16_t inw(uint16_t port)
{
	uint16_t v;
	asm volatile("inw %1, %0" : "=a"(v) : "Nd"(port) : "memory");
	return v;
}
static inline uint32_t inl(uint16_t port)
{
	uint32_t v;
	asm volatile("inl %1, %0" : "=a"(v) : "Nd"(port) : "memory");
	return v;
}
static inline void hlt() { asm volatile("hlt" ::: "memory"); }
static inline void cli() { asm volatile("cli" ::: "memory"); }
static inline void sti() { asm volatile("sti" ::: "memory"); }
static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;
	asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return (uint64_t(hi) << 32) | lo;
}
static inline void wrmsr(uint32_t msr, uint64_t v)
{
	asm volatile("wrmsr" : : "c"(msr), "a"(uint32_t(v)), "d"(uint32_t(v >> 32)) : "memory");
}
struct CpuidRegs {
	uint32_t eax, ebx, ecx, edx;
};
static inline CpuidRegs cpuid(uint32_t leaf, uint32_t subleaf = 0)
{
	CpuidRegs r;
	asm volatile("cpuid" : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx)
		     : "a"(leaf), "c"(subleaf));
	return r;
}

} // namespace guest
} // namespace kvmx

#define GUEST_SYNC(v) ::kvmx::guest::ucall(::kvmx::UCALL_SYNC, (uint64_t)(v))
#define GUEST_DONE() ::kvmx::guest::ucall(::kvmx::UCALL_DONE)
#define GUEST_ASSERT(cond)                                                     \
	do {                                                                   \
		if (!(cond))                                                   \
			::kvmx::guest::ucall_abort(__FILE__, __LINE__, #cond,  \
						   0, 0, false);               \
	} while (0)
#define GUEST_ASSERT_EQ(a, b)                                                  \
	do {                                                                   \
		const uint64_t kvmx_ga_ = (uint64_t)(a);                       \
		const uint64_t kvmx_gb_ = (uint64_t)(b);                       \
		if (kvmx_ga_ != kvmx_gb_)                                      \
			::kvmx::guest::ucall_abort(__FILE__, __LINE__,         \
						   #a " == " #b, kvmx_ga_,     \
						   kvmx_gb_, true);            \
	} while (0)
