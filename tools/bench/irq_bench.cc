// SPDX-License-Identifier: GPL-2.0
// Cycles for the in-kernel irqchip's hot paths, measured by the guest with
// RDTSC (the guest's TSC is the host's plus an offset, so differences are
// host cycles; in the test host the TSC follows Bochs's instruction count).
// One line per measurement, for tools/testhost to tabulate:
//
//   bench-irq config=kvmx kind=ipi-halted iters=200 cycles=12345 exits=2.00 extint=0.00
//
//   irq_bench --device PATH [--iterations N] [--run KIND]
//
// Kinds (one test case each; config is kvm-intel for /dev/kvm, else kvmx):
//   ipi-halted      half a ping-pong: vCPU 0 sends a fixed IPI to vCPU 1,
//                   halted in STI;HLT, whose handler sends one back to
//                   vCPU 0, halted the same way; from vCPU 0's ICR write to
//                   its own handler, divided by two (one clock, no TSC
//                   offsets to trust between vCPUs).
//   timer-oneshot   one-shot LAPIC timer, divide by 1, initial count 1:
//                   from the TMICT write to the handler (the guest waits
//                   with IF=1 in a PAUSE loop).
//   timer-tscdeadline  IA32_TSC_DEADLINE written with the TSC read just
//                   before: from the WRMSR to the handler.
//   eoi             one xAPIC EOI write, timed around the write in the
//                   handler of a self-IPI.
// exits and extint: VM exits per event, all and those for a host interrupt
// (KVM's "exits" and "irq_exits", kvmx's "exits" and
// "exits_external_interrupt" vCPU statistics, KVM_GET_STATS_FD), summed
// over the vCPUs between the guest's GUEST_SYNC before its loop and the
// end: where the cycles go.
// Built with the selftests' library (tools/bench/Makefile); a case that
// goes wrong fails as a selftest does, and prints no bench-irq line.
#include <cstdint>
#include <cstdio>
#include <string>

#include "lib/stats.h"
#include "lib/sys.h"
#include "lib/test.h"
#include "lib/vm.h"

using namespace kvmx;

namespace {

constexpr uint64_t kApic = 0xfee00000;
constexpr uint32_t APIC_EOI = 0xb0, APIC_SPIV = 0xf0, APIC_ICR = 0x300, APIC_ICR2 = 0x310,
		   APIC_LVTT = 0x320, APIC_TMICT = 0x380, APIC_TDCR = 0x3e0;
constexpr uint32_t MSR_TSC_DEADLINE = 0x6e0;
constexpr uint8_t kPing = 0x60, kPong = 0x61, kTimer = 0x50, kSelf = 0x40;

inline void apic_write(uint32_t off, uint32_t v)
{
	*reinterpret_cast<volatile uint32_t *>(kApic + off) = v;
}

inline uint64_t rdtsc()
{
	uint32_t lo, hi;
	asm volatile("rdtsc" : "=a"(lo), "=d"(hi) :: "memory");
	return (uint64_t)hi << 32 | lo;
}

// Set by the host before the run.
volatile uint64_t iters;
// Written by the guest.
volatile uint64_t pings, pongs, fired, t_handler, sum;

void send_ipi(uint32_t dest, uint8_t vector)
{
	apic_write(APIC_ICR2, dest << 24);
	apic_write(APIC_ICR, vector);	// fixed, physical, edge
}

// Sleep until *@flag reaches @n (STI;HLT: no interrupt slips in between).
void halt_until(volatile uint64_t *flag, uint64_t n)
{
	guest::cli();
	while (*flag < n)
		asm volatile("sti; hlt; cli" ::: "memory");
	guest::sti();
}

// Wait with IF=1 and without exits until *@flag reaches @n.
void spin_until(volatile uint64_t *flag, uint64_t n)
{
	guest::sti();
	while (*flag < n)
		asm volatile("pause" ::: "memory");
}

// ---- ipi-halted ----

void ping_handler(ExFrame *)
{
	pings = pings + 1;
	apic_write(APIC_EOI, 0);
	send_ipi(0, kPong);
}

void pong_handler(ExFrame *)
{
	t_handler = rdtsc();
	pongs = pongs + 1;
	apic_write(APIC_EOI, 0);
}

void guest_pinger()
{
	apic_write(APIC_SPIV, 0x1ff);
	GUEST_SYNC(0);
	uint64_t total = 0;
	for (uint64_t i = 1; i <= iters; i++) {
		uint64_t t0 = rdtsc();
		send_ipi(1, kPing);
		halt_until(&pongs, i);
		total += t_handler - t0;
	}
	sum = total;
	GUEST_DONE();
}

void guest_ponger()
{
	apic_write(APIC_SPIV, 0x1ff);
	GUEST_SYNC(1);
	halt_until(&pings, iters);
	GUEST_DONE();
}

// ---- timers and EOI ----

void timer_handler(ExFrame *)
{
	t_handler = rdtsc();
	fired = fired + 1;
	apic_write(APIC_EOI, 0);
}

void guest_oneshot()
{
	apic_write(APIC_SPIV, 0x1ff);
	apic_write(APIC_TDCR, 0xb);		// divide by 1
	apic_write(APIC_LVTT, kTimer);		// one-shot
	GUEST_SYNC(0);
	uint64_t total = 0;
	for (uint64_t i = 1; i <= iters; i++) {
		uint64_t t0 = rdtsc();
		apic_write(APIC_TMICT, 1);
		spin_until(&fired, i);
		total += t_handler - t0;
	}
	sum = total;
	GUEST_DONE();
}

void guest_tscdeadline()
{
	apic_write(APIC_SPIV, 0x1ff);
	apic_write(APIC_LVTT, kTimer | (2u << 17));	// TSC-deadline mode
	GUEST_SYNC(0);
	uint64_t total = 0;
	for (uint64_t i = 1; i <= iters; i++) {
		uint64_t t0 = rdtsc();
		guest::wrmsr(MSR_TSC_DEADLINE, t0);
		spin_until(&fired, i);
		total += t_handler - t0;
	}
	sum = total;
	GUEST_DONE();
}

void eoi_handler(ExFrame *)
{
	uint64_t t0 = rdtsc();
	apic_write(APIC_EOI, 0);
	sum = sum + (rdtsc() - t0);
	fired = fired + 1;
}

void guest_eoi()
{
	apic_write(APIC_SPIV, 0x1ff);
	GUEST_SYNC(0);
	for (uint64_t i = 1; i <= iters; i++) {
		apic_write(APIC_ICR, kSelf | (1u << 18));	// self
		spin_until(&fired, i);
	}
	GUEST_DONE();
}

uint64_t iterations()
{
	const uint64_t n = test::options().iterations;
	return n ? n : 200;
}

bool on_kvm() { return test::options().device == "/dev/kvm"; }

// All VM exits and those for host interrupts, summed over @vcpus.
struct Exits {
	uint64_t all = 0, extint = 0;
};

Exits exits_of(const std::vector<Vcpu *> &vcpus)
{
	Exits e;
	for (Vcpu *v : vcpus) {
		const StatsReader r = StatsReader::of(v->fd());
		e.all += r.value("exits");
		e.extint += r.value(on_kvm() ? "irq_exits" : "exits_external_interrupt");
	}
	return e;
}

// One line: cycles and exits per event, @events of them (@n iterations).
void report(const char *kind, Vm &vm, uint64_t n, uint64_t events, const Exits &before,
	    const Exits &after)
{
	std::printf("bench-irq config=%s kind=%s iters=%llu cycles=%llu exits=%.2f extint=%.2f\n",
		    on_kvm() ? "kvm-intel" : "kvmx", kind, (unsigned long long)n,
		    (unsigned long long)(*vm.guest(&sum) / events),
		    double(after.all - before.all) / double(events),
		    double(after.extint - before.extint) / double(events));
	std::fflush(stdout);
}

std::vector<kvm_cpuid_entry2> with_tscdeadline(const Vm &vm)
{
	auto c = vm.system().supported_cpuid();
	for (auto &e : c)
		if (e.function == 1)
			e.ecx |= 1u << 24;
	return c;
}

// One vCPU running @code with @handler on @vector, then its report.
void single(const char *kind, void (*code)(), uint8_t vector, ExHandler handler,
	    bool tscdeadline = false)
{
	const uint64_t n = iterations();
	Vm vm;
	vm.create_irqchip();
	vm.install_handler(vector, handler);
	*vm.guest(&iters) = n;
	Vcpu &vcpu = vm.add_vcpu(code);
	if (tscdeadline)
		vcpu.set_cpuid(with_tscdeadline(vm));
	vcpu.expect_sync(0);
	const Exits before = exits_of({&vcpu});
	vcpu.expect_done();
	const Exits after = exits_of({&vcpu});
	ASSERT_EQ(*vm.guest(&fired), n);
	report(kind, vm, n, n, before, after);
}

} // namespace

KVMX_TEST(ipi_halted)
{
	const uint64_t n = iterations();
	Vm vm;
	vm.create_irqchip();
	vm.install_handler(kPing, ping_handler);
	vm.install_handler(kPong, pong_handler);
	*vm.guest(&iters) = n;
	Vcpu &v0 = vm.add_vcpu(guest_pinger);
	Vcpu &v1 = vm.add_vcpu(guest_ponger);
	v1.expect_sync(1);	// vCPU 1's APIC is on before the first ping
	v0.expect_sync(0);
	const Exits before = exits_of({&v0, &v1});
	run_vcpus_in_threads(vm, [](Vcpu &vcpu) { vcpu.expect_done(); });
	const Exits after = exits_of({&v0, &v1});
	ASSERT_EQ(*vm.guest(&pongs), n);
	report("ipi-halted", vm, n, 2 * n, before, after);	// two IPIs per round trip
}

KVMX_TEST(timer_oneshot)
{
	single("timer-oneshot", guest_oneshot, kTimer, timer_handler);
}

KVMX_TEST(timer_tscdeadline)
{
	single("timer-tscdeadline", guest_tscdeadline, kTimer, timer_handler, true);
}

KVMX_TEST(eoi)
{
	single("eoi", guest_eoi, kSelf, eoi_handler);
}
