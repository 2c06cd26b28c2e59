// SPDX-License-Identifier: GPL-2.0
// The in-kernel irqchip (KVM_CREATE_IRQCHIP, KVM_CAP_SPLIT_IRQCHIP): the
// local APIC (xAPIC page, x2APIC MSRs, timer modes, IPIs, EOI, TPR), HLT
// in the kernel, the IOAPIC and the PICs behind KVM_IRQ_LINE and GSI
// routing, MSIs, KVM_GET/SET_LAPIC and INIT/SIPI, on /dev/kvmx and
// /dev/kvm alike.  Guests wait with STI;HLT, never in IF=0 loops.
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <fstream>
#include <map>
#include <pthread.h>
#include <random>
#include <string>
#include <sys/eventfd.h>
#include <thread>

#include "lib/sys.h"
#include "lib/test.h"
#include "lib/vm.h"

using namespace kvmx;

namespace {

constexpr uint64_t kApic = 0xfee00000;
constexpr uint64_t kIoapic = 0xfec00000;
constexpr uint32_t APIC_ID = 0x20, APIC_LVR = 0x30, APIC_TPR = 0x80, APIC_PPR = 0xa0,
		   APIC_EOI = 0xb0, APIC_SPIV = 0xf0, APIC_ISR = 0x100, APIC_IRR = 0x200,
		   APIC_ICR = 0x300, APIC_ICR2 = 0x310, APIC_LVTT = 0x320, APIC_LVT0 = 0x350,
		   APIC_TMICT = 0x380, APIC_TMCCT = 0x390, APIC_TDCR = 0x3e0;
constexpr uint32_t MSR_APIC_BASE = 0x1b, MSR_TSC_DEADLINE = 0x6e0;

inline volatile uint32_t *apic_reg(uint32_t off)
{
	return reinterpret_cast<volatile uint32_t *>(kApic + off);
}

inline uint32_t apic_read(uint32_t off) { return *apic_reg(off); }
inline void apic_write(uint32_t off, uint32_t v) { *apic_reg(off) = v; }

inline bool apic_vec_set(uint32_t base, uint8_t vec)
{
	return apic_read(base + (vec / 32) * 0x10) & (1u << (vec % 32));
}

inline void ioapic_write(uint32_t reg, uint32_t v)
{
	*reinterpret_cast<volatile uint32_t *>(kIoapic) = reg;
	*reinterpret_cast<volatile uint32_t *>(kIoapic + 0x10) = v;
}

inline uint32_t ioapic_read(uint32_t reg)
{
	*reinterpret_cast<volatile uint32_t *>(kIoapic) = reg;
	return *reinterpret_cast<volatile uint32_t *>(kIoapic + 0x10);
}

inline void set_cr8(uint64_t v) { asm volatile("mov %0, %%cr8" : : "r"(v) : "memory"); }
inline uint64_t get_cr8()
{
	uint64_t v;
	asm volatile("mov %%cr8, %0" : "=r"(v));
	return v;
}

inline uint64_t rdtsc()
{
	uint32_t lo, hi;
	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

// Software-enable the APIC with spurious vector 0xff.
inline void apic_enable() { apic_write(APIC_SPIV, 0x1ff); }

// Sleep until *@flag reaches @n: STI;HLT (the STI shadow covers the HLT, so
// no interrupt slips in between the test and the sleep).
inline void wait_for(volatile uint64_t *flag, uint64_t n)
{
	guest::cli();
	while (*flag < n)
		asm volatile("sti; hlt; cli" ::: "memory");
	guest::sti();
}

volatile uint64_t irq_count;
volatile uint64_t last_vector;
volatile uint64_t in_service; // the vector's ISR bit, seen by the handler

void handler_eoi(ExFrame *f)
{
	last_vector = f->vector;
	in_service = apic_vec_set(APIC_ISR, f->vector);
	irq_count = irq_count + 1;
	apic_write(APIC_EOI, 0);
}

void handler_no_eoi(ExFrame *f)
{
	last_vector = f->vector;
	irq_count = irq_count + 1;
}

std::vector<kvm_cpuid_entry2> cpuid_with(const Vm &vm, uint32_t ecx_bits)
{
	auto c = vm.system().supported_cpuid();
	for (auto &e : c)
		if (e.function == 1)
			e.ecx |= ecx_bits;
	return c;
}

constexpr uint32_t kCpuidX2apic = 1u << 21, kCpuidTscDeadline = 1u << 24;

// KVM_SET_GSI_ROUTING's argument with room for two entries.
// (struct kvm_irq_routing's C layout: see lib/kvm_abi.h.)
struct Routing {
	alignas(kvm_irq_routing_entry) uint8_t buf[sizeof(abi::IrqRouting) +
						    2 * sizeof(kvm_irq_routing_entry)]{};
	abi::IrqRouting &hdr() { return *reinterpret_cast<abi::IrqRouting *>(buf); }
	kvm_irq_routing_entry *e() { return abi::entries_of<kvm_irq_routing_entry>(&hdr()); }
};

long line(const Vm &vm, uint32_t gsi, uint32_t level)
{
	kvm_irq_level l{};
	l.irq = gsi;
	l.level = level;
	ioctl_or_throw(vm.fd(), KVM_IRQ_LINE_STATUS, "KVM_IRQ_LINE_STATUS", &l);
	return l.status;
}

} // namespace

// ---- Creation rules ----------------------------------------------------

KVMX_TEST(create_irqchip_rules)
{
	KmsgWatch kmsg;
	{
		Vm vm(Vm::bare);
		kvm_irq_level l{};
		EXPECT_EQ(ioctl_result(vm.fd(), KVM_IRQ_LINE, &l), -ENXIO);
		kvm_irqchip chip{};
		EXPECT_EQ(ioctl_result(vm.fd(), KVM_GET_IRQCHIP, &chip), -ENXIO);
		ASSERT_EQ(ioctl_result(vm.fd(), KVM_CREATE_IRQCHIP), 0L);
		EXPECT_EQ(ioctl_result(vm.fd(), KVM_CREATE_IRQCHIP), -EEXIST);
		kvm_enable_cap cap{};
		cap.cap = KVM_CAP_SPLIT_IRQCHIP;
		cap.args[0] = 24;
		EXPECT_EQ(ioctl_result(vm.fd(), KVM_ENABLE_CAP, &cap), -EEXIST);
		chip.chip_id = 3;
		EXPECT_EQ(ioctl_result(vm.fd(), KVM_GET_IRQCHIP, &chip), -EINVAL);
		Fd bsp(static_cast<int>(ioctl_or_throw(vm.fd(), KVM_CREATE_VCPU, "KVM_CREATE_VCPU", 0)));
		Fd ap(static_cast<int>(ioctl_or_throw(vm.fd(), KVM_CREATE_VCPU, "KVM_CREATE_VCPU", 1)));
		kvm_mp_state mp{};
		ASSERT_EQ(ioctl_result(bsp, KVM_GET_MP_STATE, &mp), 0L);
		EXPECT_EQ(mp.mp_state, uint32_t(KVM_MP_STATE_RUNNABLE));
		ASSERT_EQ(ioctl_result(ap, KVM_GET_MP_STATE, &mp), 0L);
		EXPECT_EQ(mp.mp_state, uint32_t(KVM_MP_STATE_UNINITIALIZED));
		kvm_interrupt irq{0x30};
		EXPECT_EQ(ioctl_result(bsp, KVM_INTERRUPT, &irq), -ENXIO);
		kvm_lapic_state s{};
		ASSERT_EQ(ioctl_result(bsp, KVM_GET_LAPIC, &s), 0L);
		EXPECT_EQ(*reinterpret_cast<uint32_t *>(s.regs + APIC_LVR), 0x50014u);
		ASSERT_EQ(ioctl_result(ap, KVM_GET_LAPIC, &s), 0L);
		EXPECT_EQ(*reinterpret_cast<uint32_t *>(s.regs + APIC_ID), 1u << 24);
	}
	{
		Vm vm(Vm::bare);
		Fd v(static_cast<int>(ioctl_or_throw(vm.fd(), KVM_CREATE_VCPU, "KVM_CREATE_VCPU", 0)));
		EXPECT_EQ(ioctl_result(vm.fd(), KVM_CREATE_IRQCHIP), -EINVAL);
		kvm_lapic_state s{};
		EXPECT_EQ(ioctl_result(v, KVM_GET_LAPIC, &s), -EINVAL);
	}
	EXPECT_EQ(kmsg.first_splat(), std::string());
}

// ---- Timer ----------------------------------------------------------------

namespace {

void guest_oneshot()
{
	apic_enable();
	apic_write(APIC_TDCR, 0xb);		// divide by 1
	apic_write(APIC_LVTT, 0x50);		// one-shot, vector 0x50
	apic_write(APIC_TMICT, 200000);		// 200 us at the 1 GHz APIC bus
	uint32_t c1 = apic_read(APIC_TMCCT);
	GUEST_ASSERT(c1 > 0 && c1 <= 200000);
	wait_for(&irq_count, 1);
	GUEST_ASSERT_EQ(last_vector, 0x50);
	GUEST_ASSERT_EQ(in_service, 1);
	GUEST_ASSERT_EQ(apic_read(APIC_TMCCT), 0);
	GUEST_ASSERT(!apic_vec_set(APIC_ISR, 0x50));
	GUEST_DONE();
}

void guest_periodic()
{
	apic_enable();
	apic_write(APIC_TDCR, 0xb);
	apic_write(APIC_LVTT, 0x51 | (1 << 17));	// periodic
	apic_write(APIC_TMICT, 500000);		// 500 us
	wait_for(&irq_count, 3);
	apic_write(APIC_LVTT, 0x51 | (1 << 16) | (1 << 17));	// masked
	apic_write(APIC_TMICT, 0);
	GUEST_ASSERT_EQ(last_vector, 0x51);
	GUEST_DONE();
}

void guest_tsc_deadline()
{
	apic_enable();
	apic_write(APIC_LVTT, 0x52 | (2 << 17));	// TSC-deadline
	guest::wrmsr(MSR_TSC_DEADLINE, rdtsc() + 100000);
	GUEST_ASSERT(guest::rdmsr(MSR_TSC_DEADLINE) != 0);
	wait_for(&irq_count, 1);
	GUEST_ASSERT_EQ(last_vector, 0x52);
	GUEST_ASSERT_EQ(guest::rdmsr(MSR_TSC_DEADLINE), 0);	// cleared on expiry
	// A deadline in the past fires at once.
	guest::wrmsr(MSR_TSC_DEADLINE, 1);
	wait_for(&irq_count, 2);
	GUEST_DONE();
}

} // namespace

KVMX_TEST(timer_oneshot)
{
	KmsgWatch kmsg;
	Vm vm;
	vm.create_irqchip();
	vm.install_handler(0x50, handler_eoi);
	Vcpu &vcpu = vm.add_vcpu(guest_oneshot);
	vcpu.expect_done();
	EXPECT_EQ(*vm.guest(&irq_count), 1u);
	EXPECT_EQ(kmsg.first_splat(), std::string());
}

KVMX_TEST(timer_periodic)
{
	KmsgWatch kmsg;
	Vm vm;
	vm.create_irqchip();
	vm.install_handler(0x51, handler_eoi);
	Vcpu &vcpu = vm.add_vcpu(guest_periodic);
	vcpu.expect_done();
	EXPECT_TRUE(*vm.guest(&irq_count) >= 3u);
	EXPECT_EQ(kmsg.first_splat(), std::string());
}

KVMX_TEST(timer_tsc_deadline)
{
	KmsgWatch kmsg;
	Vm vm;
	vm.create_irqchip();
	vm.install_handler(0x52, handler_eoi);
	Vcpu &vcpu = vm.add_vcpu(guest_tsc_deadline);
	vcpu.set_cpuid(cpuid_with(vm, kCpuidTscDeadline));
	vcpu.expect_done();
	EXPECT_EQ(*vm.guest(&irq_count), 2u);
	EXPECT_EQ(kmsg.first_splat(), std::string());
}

// ---- IPIs between halted vCPUs --------------------------------------------

namespace {

volatile uint64_t pings, pongs;

void ping_handler(ExFrame *) { pings = pings + 1; apic_write(APIC_EOI, 0); }
void pong_handler(ExFrame *) { pongs = pongs + 1; apic_write(APIC_EOI, 0); }

void send_ipi(uint32_t dest, uint32_t vector)
{
	apic_write(APIC_ICR2, dest << 24);
	apic_write(APIC_ICR, vector);		// fixed, physical, edge
}

void guest_pinger()
{
	apic_enable();
	for (uint64_t i = 1; i <= 5; i++) {
		send_ipi(1, 0x60);
		wait_for(&pongs, i);		// halted until vCPU 1 answers
	}
	GUEST_DONE();
}

void guest_ponger()
{
	apic_enable();
	GUEST_SYNC(1);
	for (uint64_t i = 1; i <= 5; i++) {
		wait_for(&pings, i);		// halted until vCPU 0 pings
		send_ipi(0, 0x61);
	}
	GUEST_DONE();
}

} // namespace

KVMX_TEST(ipi_wakes_halted_vcpu)
{
	KmsgWatch kmsg;
	Vm vm;
	vm.create_irqchip();
	vm.install_handler(0x60, ping_handler);
	vm.install_handler(0x61, pong_handler);
	Vcpu &v0 = vm.add_vcpu(guest_pinger);
	Vcpu &v1 = vm.add_vcpu(guest_ponger);
	// The ponger is ready (APIC enabled) before the pinger starts.
	v1.expect_sync(1);
	run_vcpus_in_threads(vm, [](Vcpu &vcpu) { vcpu.expect_done(); });
	(void)v0;
	EXPECT_EQ(*vm.guest(&pings), 5u);
	EXPECT_EQ(*vm.guest(&pongs), 5u);
	EXPECT_EQ(kmsg.first_splat(), std::string());
}

namespace {

volatile uint64_t nmi_hits, nmi_woke;

void nmi_handler(ExFrame *) { nmi_hits = nmi_hits + 1; }

// NMIs to vCPU 1 until it says it woke: one that arrives before its HLT
// is taken at once, and the next wakes it.
void guest_nmi_sender()
{
	apic_enable();
	GUEST_SYNC(1);
	guest::sti();
	for (int i = 0; i < 1000 && !nmi_woke; i++) {
		apic_write(APIC_ICR2, 1u << 24);
		apic_write(APIC_ICR, 4u << 8); // delivery mode NMI, physical, APIC 1
		for (int j = 0; j < 2000 && !nmi_woke; j++)
			asm volatile("pause" ::: "memory");
	}
	GUEST_ASSERT(nmi_woke);
	GUEST_DONE();
}

// Asleep in HLT with IF=0: only an NMI (or INIT) ends that.
void guest_nmi_sleeper()
{
	apic_enable();
	GUEST_SYNC(1);
	guest::cli();
	guest::hlt();
	nmi_woke = 1;
	GUEST_ASSERT(nmi_hits >= 1);
	GUEST_DONE();
}

} // namespace

// An NMI IPI wakes a vCPU halted with interrupts off, and its handler runs.
KVMX_TEST(nmi_ipi_wakes_halted_vcpu)
{
	KmsgWatch kmsg;
	Vm vm;
	vm.create_irqchip();
	vm.install_handler(2, nmi_handler);
	Vcpu &v0 = vm.add_vcpu(guest_nmi_sender);
	Vcpu &v1 = vm.add_vcpu(guest_nmi_sleeper);
	v0.expect_sync(1);
	v1.expect_sync(1);
	run_vcpus_in_threads(vm, [](Vcpu &vcpu) { vcpu.expect_done(); });
	EXPECT_EQ(*vm.guest(&nmi_woke), 1u);
	EXPECT_TRUE(*vm.guest(&nmi_hits) >= 1u);
	EXPECT_EQ(kmsg.first_splat(), std::string());
}

// ---- EOI, TPR, CR8, x2APIC ------------------------------------------------

namespace {

void guest_tpr()
{
	apic_enable();
	set_cr8(8);
	GUEST_ASSERT_EQ(apic_read(APIC_TPR), 0x80);
	// A self-IPI of class 5 waits below TPR class 8.
	apic_write(APIC_ICR, 0x55 | (1 << 18));
	asm volatile("sti; nop; nop" ::: "memory");
	GUEST_ASSERT_EQ(irq_count, 0);
	GUEST_ASSERT(apic_vec_set(APIC_IRR, 0x55));
	GUEST_ASSERT_EQ(apic_read(APIC_PPR), 0x80);
	// Lowering CR8 lets it in (no KVM_EXIT_SET_TPR with an in-kernel APIC).
	set_cr8(0);
	asm volatile("nop; nop" ::: "memory");
	GUEST_ASSERT_EQ(irq_count, 1);
	GUEST_ASSERT_EQ(in_service, 1);
	GUEST_ASSERT(!apic_vec_set(APIC_IRR, 0x55));
	// The APIC's TPR is CR8 too.
	apic_write(APIC_TPR, 0x30);
	GUEST_ASSERT_EQ(get_cr8(), 3);
	GUEST_SYNC(get_cr8());
	GUEST_DONE();
}

void guest_x2apic()
{
	guest::wrmsr(MSR_APIC_BASE, guest::rdmsr(MSR_APIC_BASE) | (1 << 10));
	GUEST_ASSERT_EQ(guest::rdmsr(0x802), 0);		// x2APIC id
	GUEST_ASSERT_EQ(guest::rdmsr(0x803), 0x50014);	// version
	GUEST_ASSERT_EQ(guest::rdmsr(0x80d), 1);		// LDR of id 0
	guest::wrmsr(0x80f, 0x1ff);				// SPIV
	guest::wrmsr(0x83f, 0x58);				// self IPI
	asm volatile("sti; nop; nop" ::: "memory");
	GUEST_ASSERT_EQ(irq_count, 1);
	GUEST_ASSERT_EQ(last_vector, 0x58);
	GUEST_DONE();
}

void x2apic_handler(ExFrame *f)
{
	last_vector = f->vector;
	irq_count = irq_count + 1;
	guest::wrmsr(0x80b, 0);					// EOI
}

} // namespace

KVMX_TEST(eoi_and_tpr)
{
	KmsgWatch kmsg;
	Vm vm;
	vm.create_irqchip();
	vm.install_handler(0x55, handler_eoi);
	Vcpu &vcpu = vm.add_vcpu(guest_tpr);
	vcpu.expect_sync(3);
	EXPECT_EQ(vcpu.run_area().cr8, 3u);
	EXPECT_EQ(vcpu.sregs().cr8, 3u);
	vcpu.expect_done();
	EXPECT_EQ(kmsg.first_splat(), std::string());
}

KVMX_TEST(x2apic_msrs)
{
	KmsgWatch kmsg;
	Vm vm;
	vm.create_irqchip();
	vm.install_handler(0x58, x2apic_handler);
	Vcpu &vcpu = vm.add_vcpu(guest_x2apic);
	vcpu.set_cpuid(cpuid_with(vm, kCpuidX2apic));
	vcpu.expect_done();
	EXPECT_EQ(vcpu.run_area().apic_base & (3u << 10), 3u << 10);
	EXPECT_EQ(kmsg.first_splat(), std::string());
}

// ---- IOAPIC, PIC, MSI -----------------------------------------------------

namespace {

volatile uint64_t remote_irr;

void guest_ioapic()
{
	apic_enable();
	guest::outb(0x21, 0xff);			// mask the PICs: the BSP's
	guest::outb(0xa1, 0xff);			// LINT0 takes ExtINT at reset
	GUEST_ASSERT_EQ(ioapic_read(1) & 0xff, 0x11);		// version
	GUEST_ASSERT_EQ((ioapic_read(1) >> 16) & 0xff, 23);	// 24 pins
	ioapic_write(0x10 + 2 * 5, 0x70);		// pin 5: vector 0x70, edge
	ioapic_write(0x11 + 2 * 5, 0);			// to APIC id 0
	ioapic_write(0x10 + 2 * 6, 0x71 | (1 << 15));	// pin 6: level
	ioapic_write(0x11 + 2 * 6, 0);
	GUEST_SYNC(1);
	wait_for(&irq_count, 1);			// KVM_IRQ_LINE 5
	GUEST_ASSERT_EQ(last_vector, 0x70);
	GUEST_SYNC(2);
	wait_for(&irq_count, 2);			// KVM_IRQ_LINE 6, level
	GUEST_ASSERT_EQ(last_vector, 0x71);
	remote_irr = (ioapic_read(0x10 + 2 * 6) >> 14) & 1;
	GUEST_SYNC(remote_irr + 10);			// the host lowers the line
	apic_write(APIC_EOI, 0);
	GUEST_ASSERT_EQ((ioapic_read(0x10 + 2 * 6) >> 14) & 1, 0);
	asm volatile("sti; nop; nop" ::: "memory");
	GUEST_ASSERT_EQ(irq_count, 2);			// not delivered again
	GUEST_DONE();
}

void guest_pic()
{
	apic_enable();
	apic_write(APIC_LVT0, 0x700);			// ExtINT
	guest::outb(0x20, 0x11);			// ICW1
	guest::outb(0x21, 0x30);			// ICW2: vectors 0x30-0x37
	guest::outb(0x21, 0x04);			// ICW3
	guest::outb(0x21, 0x01);			// ICW4
	guest::outb(0x21, 0xf7);			// only IRQ 3
	GUEST_ASSERT_EQ(guest::inb(0x21), 0xf7);
	GUEST_SYNC(1);
	wait_for(&irq_count, 1);
	GUEST_ASSERT_EQ(last_vector, 0x33);
	guest::outb(0x20, 0x0b);			// OCW3: read ISR
	GUEST_ASSERT_EQ(guest::inb(0x20), 0x08);
	guest::outb(0x20, 0x20);			// non-specific EOI
	GUEST_ASSERT_EQ(guest::inb(0x20), 0x00);
	GUEST_DONE();
}

void guest_msi()
{
	apic_enable();
	GUEST_SYNC(1);
	wait_for(&irq_count, 1);
	GUEST_ASSERT_EQ(last_vector, 0x41);
	GUEST_SYNC(2);
	wait_for(&irq_count, 2);
	GUEST_ASSERT_EQ(last_vector, 0x42);
	GUEST_DONE();
}

} // namespace

KVMX_TEST(ioapic_irq_line)
{
	KmsgWatch kmsg;
	Vm vm;
	vm.create_irqchip();
	vm.install_handler(0x70, handler_eoi);
	vm.install_handler(0x71, handler_no_eoi);
	Vcpu &vcpu = vm.add_vcpu(guest_ioapic);
	vcpu.expect_sync(1);
	// GSI 20 is a masked IOAPIC pin and no PIC pin: nothing took it.
	EXPECT_EQ(line(vm, 20, 1), -1L);
	EXPECT_EQ(line(vm, 20, 0), 1L);
	// GSI 5 reaches the IOAPIC pin (the masked PIC pin answers -1).
	EXPECT_EQ(line(vm, 5, 1), 1L);
	EXPECT_EQ(line(vm, 5, 1), 0L);		// an edge still high: coalesced
	line(vm, 5, 0);
	vcpu.expect_sync(2);
	EXPECT_TRUE(line(vm, 6, 1) >= 1L);
	vcpu.expect_sync(11);			// Remote IRR was set
	line(vm, 6, 0);
	vcpu.expect_done();
	kvm_irqchip chip{};
	chip.chip_id = KVM_IRQCHIP_IOAPIC;
	ASSERT_EQ(ioctl_result(vm.fd(), KVM_GET_IRQCHIP, &chip), 0L);
	EXPECT_EQ(chip.chip.ioapic.redirtbl[5].fields.vector, 0x70);
	EXPECT_EQ(chip.chip.ioapic.base_address, kIoapic);
	EXPECT_EQ(kmsg.first_splat(), std::string());
}

KVMX_TEST(pic_extint)
{
	KmsgWatch kmsg;
	Vm vm;
	vm.create_irqchip();
	vm.install_handler(0x33, handler_no_eoi);
	Vcpu &vcpu = vm.add_vcpu(guest_pic);
	vcpu.expect_sync(1);
	EXPECT_EQ(line(vm, 3, 1), 1L);		// the PIC took it; the IOAPIC pin is masked
	line(vm, 3, 0);
	vcpu.expect_done();
	kvm_irqchip chip{};
	chip.chip_id = KVM_IRQCHIP_PIC_MASTER;
	ASSERT_EQ(ioctl_result(vm.fd(), KVM_GET_IRQCHIP, &chip), 0L);
	EXPECT_EQ(chip.chip.pic.irq_base, 0x30);
	EXPECT_EQ(chip.chip.pic.imr, 0xf7);
	// State set back is state read back.
	chip.chip.pic.imr = 0xf3;
	ASSERT_EQ(ioctl_result(vm.fd(), KVM_SET_IRQCHIP, &chip), 0L);
	kvm_irqchip again{};
	again.chip_id = KVM_IRQCHIP_PIC_MASTER;
	ASSERT_EQ(ioctl_result(vm.fd(), KVM_GET_IRQCHIP, &again), 0L);
	EXPECT_EQ(again.chip.pic.imr, 0xf3);
	EXPECT_EQ(kmsg.first_splat(), std::string());
}

KVMX_TEST(msi_and_routing)
{
	KmsgWatch kmsg;
	Vm vm;
	vm.create_irqchip();
	vm.install_handler(0x41, handler_eoi);
	vm.install_handler(0x42, handler_eoi);
	Vcpu &vcpu = vm.add_vcpu(guest_msi);
	vcpu.expect_sync(1);
	kvm_msi msi{};
	msi.address_lo = kApic;			// APIC id 0, physical
	msi.data = 0x41;
	EXPECT_EQ(ioctl_result(vm.fd(), KVM_SIGNAL_MSI, &msi), 1L);
	msi.address_lo = kApic | (5 << 12);	// no APIC id 5: nobody took it
	EXPECT_EQ(ioctl_result(vm.fd(), KVM_SIGNAL_MSI, &msi), 0L);
	msi.flags = 2;
	EXPECT_EQ(ioctl_result(vm.fd(), KVM_SIGNAL_MSI, &msi), -EINVAL);
	vcpu.expect_sync(2);

	Routing rt;
	rt.hdr().nr = 1;
	rt.e()[0].gsi = 10;
	rt.e()[0].type = KVM_IRQ_ROUTING_MSI;
	rt.e()[0].u.msi.address_lo = kApic;
	rt.e()[0].u.msi.data = 0x42;
	ASSERT_EQ(ioctl_result(vm.fd(), KVM_SET_GSI_ROUTING, &rt.hdr()), 0L);
	EXPECT_EQ(line(vm, 10, 1), 1L);
	EXPECT_EQ(line(vm, 3, 1), -1L);		// GSI 3 has no route now
	vcpu.expect_done();

	// KVM's checks: a pin past the IOAPIC, flags, two MSIs on one GSI.
	rt.e()[0].type = KVM_IRQ_ROUTING_IRQCHIP;
	rt.e()[0].u.irqchip.irqchip = KVM_IRQCHIP_IOAPIC;
	rt.e()[0].u.irqchip.pin = 24;
	EXPECT_EQ(ioctl_result(vm.fd(), KVM_SET_GSI_ROUTING, &rt.hdr()), -EINVAL);
	rt.e()[0].u.irqchip.pin = 2;
	rt.e()[0].flags = 1;
	EXPECT_EQ(ioctl_result(vm.fd(), KVM_SET_GSI_ROUTING, &rt.hdr()), -EINVAL);
	rt.e()[0].flags = 0;
	rt.hdr().nr = 2;
	rt.e()[0].type = rt.e()[1].type = KVM_IRQ_ROUTING_MSI;
	rt.e()[1].gsi = 10;
	EXPECT_EQ(ioctl_result(vm.fd(), KVM_SET_GSI_ROUTING, &rt.hdr()), -EINVAL);
	rt.hdr().flags = 1;
	EXPECT_EQ(ioctl_result(vm.fd(), KVM_SET_GSI_ROUTING, &rt.hdr()), -EINVAL);
	EXPECT_EQ(kmsg.first_splat(), std::string());
}

// ---- KVM_GET/SET_LAPIC ----------------------------------------------------

namespace {

void guest_lapic_state()
{
	apic_enable();
	apic_write(APIC_TPR, 0x20);
	apic_write(APIC_LVT0, 0x700);
	GUEST_SYNC(1);
	// The host wrote TPR 0x40 and LVT0 masked through KVM_SET_LAPIC.
	GUEST_ASSERT_EQ(apic_read(APIC_TPR), 0x40);
	GUEST_ASSERT_EQ(get_cr8(), 4);
	GUEST_ASSERT_EQ(apic_read(APIC_LVT0), 0x10700);
	GUEST_DONE();
}

} // namespace

KVMX_TEST(lapic_get_set)
{
	KmsgWatch kmsg;
	Vm vm;
	vm.create_irqchip();
	Vcpu &vcpu = vm.add_vcpu(guest_lapic_state);
	vcpu.expect_sync(1);
	kvm_lapic_state s{};
	ASSERT_EQ(ioctl_result(vcpu.fd(), KVM_GET_LAPIC, &s), 0L);
	auto r32 = [&](uint32_t off) { return *reinterpret_cast<uint32_t *>(s.regs + off); };
	EXPECT_EQ(r32(APIC_TPR), 0x20u);
	EXPECT_EQ(r32(APIC_LVT0), 0x700u);
	EXPECT_EQ(r32(APIC_SPIV), 0x1ffu);
	EXPECT_EQ(r32(APIC_ID), 0u);
	*reinterpret_cast<uint32_t *>(s.regs + APIC_TPR) = 0x40;
	*reinterpret_cast<uint32_t *>(s.regs + APIC_LVT0) = 0x10700;
	ASSERT_EQ(ioctl_result(vcpu.fd(), KVM_SET_LAPIC, &s), 0L);
	kvm_lapic_state t{};
	ASSERT_EQ(ioctl_result(vcpu.fd(), KVM_GET_LAPIC, &t), 0L);
	auto t32 = [&](uint32_t off) { return *reinterpret_cast<uint32_t *>(t.regs + off); };
	EXPECT_EQ(t32(APIC_TPR), 0x40u);
	EXPECT_EQ(t32(APIC_PPR), 0x40u);
	EXPECT_EQ(t32(APIC_LVT0), 0x10700u);
	EXPECT_EQ(t32(APIC_SPIV), 0x1ffu);
	EXPECT_EQ(t32(APIC_LVR), 0x50014u);
	vcpu.expect_done();
	EXPECT_EQ(kmsg.first_splat(), std::string());
}

// ---- INIT/SIPI, HLT and signals -------------------------------------------

namespace {

void guest_boot_ap()
{
	apic_enable();
	send_ipi(1, 0x4500);			// INIT
	send_ipi(1, 0x4608);			// SIPI: start at 0x8000
	GUEST_DONE();
}

} // namespace

KVMX_TEST(init_sipi_starts_ap)
{
	KmsgWatch kmsg;
	Vm vm;
	vm.create_irqchip();
	// The AP's real-mode code at 0x8000: mov al,0x42; out 0x80,al; hlt
	const uint8_t code[] = {0xb0, 0x42, 0xe6, 0x80, 0xf4};
	vm.write(0x8000, code, sizeof(code));
	vm.add_vcpu(guest_boot_ap);
	Vcpu &ap = vm.add_vcpu(false);
	EXPECT_EQ(ap.mp_state(), uint32_t(KVM_MP_STATE_UNINITIALIZED));
	run_vcpus_in_threads(vm, [](Vcpu &vcpu) {
		if (vcpu.id() == 0) {
			vcpu.expect_done();
			return;
		}
		// KVM_RUN sleeps until INIT arrives, then answers -EAGAIN (as
		// KVM); the next one sleeps until SIPI and runs the AP.
		int r;
		while ((r = vcpu.run_raw()) == -EAGAIN)
			;
		ASSERT_EQ(r, 0);
		ASSERT_EQ(exit_reason_name(vcpu.run_area().exit_reason),
			  exit_reason_name(KVM_EXIT_IO));
		EXPECT_EQ(vcpu.run_area().io.port, 0x80);
		EXPECT_EQ(*vcpu.io_data(), 0x42);
		EXPECT_EQ(vcpu.sregs().cs.selector, 0x0800);
		EXPECT_EQ(vcpu.sregs().cs.base, 0x8000u);
	});
	EXPECT_EQ(ap.mp_state(), uint32_t(KVM_MP_STATE_RUNNABLE));
	EXPECT_EQ(kmsg.first_splat(), std::string());
}

namespace {

void on_signal(int) {}

void guest_halt_forever()
{
	guest::cli();
	guest::hlt();
	GUEST_DONE();
}

// KVM_RUN of @vcpu, with SIGUSR1 sent to this thread every 50 ms until it
// returns; returns what it returned.
int run_until_signal(Vcpu &vcpu)
{
	struct sigaction sa{}, old{};
	sa.sa_handler = on_signal;
	if (sigaction(SIGUSR1, &sa, &old))
		throw_errno("sigaction");
	std::atomic<bool> done{false};
	pthread_t self = pthread_self();
	std::thread killer([&] {
		while (!done) {
			std::this_thread::sleep_for(std::chrono::milliseconds(50));
			if (!done)
				pthread_kill(self, SIGUSR1);
		}
	});
	int r = vcpu.run_raw();
	done = true;
	killer.join();
	sigaction(SIGUSR1, &old, nullptr);
	return r;
}

} // namespace

// HLT with IF=0 sleeps in KVM_RUN; a signal ends it with -EINTR and the
// vCPU stays HALTED.
KVMX_TEST(halt_ends_on_signal)
{
	KmsgWatch kmsg;
	Vm vm;
	vm.create_irqchip();
	Vcpu &vcpu = vm.add_vcpu(guest_halt_forever);
	int r = run_until_signal(vcpu);
	EXPECT_EQ(r, -EINTR);
	EXPECT_EQ(vcpu.run_area().exit_reason, uint32_t(KVM_EXIT_INTR));
	EXPECT_EQ(vcpu.mp_state(), uint32_t(KVM_MP_STATE_HALTED));
	vcpu.run_area().immediate_exit = 1;
	EXPECT_EQ(vcpu.run_raw(), -EINTR);
	EXPECT_EQ(kmsg.first_splat(), std::string());
}

// ---- Split irqchip --------------------------------------------------------

namespace {

void guest_split()
{
	apic_enable();
	GUEST_SYNC(1);
	wait_for(&irq_count, 1);	// the handler's EOI exits to user space
	GUEST_ASSERT_EQ(last_vector, 0x45);
	GUEST_DONE();
}

} // namespace

KVMX_TEST(split_irqchip_eoi_exit)
{
	KmsgWatch kmsg;
	Vm vm;
	kvm_enable_cap cap{};
	cap.cap = KVM_CAP_SPLIT_IRQCHIP;
	cap.args[0] = 4097;			// more than KVM_MAX_IRQ_ROUTES
	EXPECT_EQ(ioctl_result(vm.fd(), KVM_ENABLE_CAP, &cap), -EINVAL);
	cap.args[0] = 24;
	ASSERT_EQ(ioctl_result(vm.fd(), KVM_ENABLE_CAP, &cap), 0L);
	EXPECT_EQ(ioctl_result(vm.fd(), KVM_CREATE_IRQCHIP), -EEXIST);
	kvm_irqchip chip{};
	EXPECT_EQ(ioctl_result(vm.fd(), KVM_GET_IRQCHIP, &chip), -ENXIO);
	vm.install_handler(0x45, handler_eoi);
	Vcpu &vcpu = vm.add_vcpu(guest_split);
	vcpu.set_mp_state(KVM_MP_STATE_RUNNABLE);
	vcpu.expect_sync(1);
	// User space's IOAPIC pin 5 as a level-triggered MSI.
	Routing rt;
	rt.hdr().nr = 1;
	rt.e()[0].gsi = 5;
	rt.e()[0].type = KVM_IRQ_ROUTING_MSI;
	rt.e()[0].u.msi.address_lo = kApic;
	rt.e()[0].u.msi.data = 0x45 | (1 << 15);
	ASSERT_EQ(ioctl_result(vm.fd(), KVM_SET_GSI_ROUTING, &rt.hdr()), 0L);
	// An IRQCHIP route makes no sense without the kernel's IOAPIC.
	rt.e()[0].type = KVM_IRQ_ROUTING_IRQCHIP;
	rt.e()[0].u.irqchip.irqchip = KVM_IRQCHIP_IOAPIC;
	rt.e()[0].u.irqchip.pin = 5;
	EXPECT_EQ(ioctl_result(vm.fd(), KVM_SET_GSI_ROUTING, &rt.hdr()), -EINVAL);
	EXPECT_EQ(line(vm, 5, 1), 1L);
	ASSERT_EQ(exit_reason_name(vcpu.run()), exit_reason_name(KVM_EXIT_IOAPIC_EOI));
	EXPECT_EQ(vcpu.run_area().eoi.vector, 0x45);
	vcpu.expect_done();
	EXPECT_EQ(kmsg.first_splat(), std::string());
}

namespace {

void guest_split_halt()
{
	apic_enable();
	apic_write(APIC_LVT0, 0x700); // ExtINT: the (user-space) PIC's INTR
	GUEST_SYNC(1);
	wait_for(&irq_count, 1); // asleep in the kernel until the vector comes
	GUEST_ASSERT_EQ(last_vector, 0x46);
	GUEST_DONE();
}

} // namespace

// With a split irqchip, HLT sleeps in the kernel, and the PIC is user
// space's: a vector it queues with KVM_INTERRUPT while the vCPU is halted
// wakes it (KVM's pending_userspace_extint()), as QEMU's q35 relies on.
KVMX_TEST(split_irqchip_interrupt_wakes_halt)
{
	KmsgWatch kmsg;
	Vm vm;
	kvm_enable_cap cap{};
	cap.cap = KVM_CAP_SPLIT_IRQCHIP;
	cap.args[0] = 24;
	ASSERT_EQ(ioctl_result(vm.fd(), KVM_ENABLE_CAP, &cap), 0L);
	vm.install_handler(0x46, handler_no_eoi);
	Vcpu &vcpu = vm.add_vcpu(guest_split_halt);
	vcpu.set_mp_state(KVM_MP_STATE_RUNNABLE);
	vcpu.expect_sync(1);
	EXPECT_EQ(run_until_signal(vcpu), -EINTR);
	EXPECT_EQ(vcpu.mp_state(), uint32_t(KVM_MP_STATE_HALTED));
	kvm_interrupt irq{};
	irq.irq = 0x46;
	ASSERT_EQ(ioctl_result(vcpu.fd(), KVM_INTERRUPT, &irq), 0L);
	vcpu.expect_done();
	EXPECT_EQ(kmsg.first_splat(), std::string());
}

// ---- Teardown ------------------------------------------------------------

namespace {

// kvmx's counts of live objects (debugfs), or SKIP on KVM.
std::map<std::string, long> objects()
{
	if (!test::options().testing_kvmx())
		SKIP("object counts are kvmx's own");
	std::ifstream in("/sys/kernel/debug/kvmx/objects");
	if (!in)
		SKIP("debugfs is not mounted");
	std::map<std::string, long> counts;
	std::string name;
	long value;
	while (in >> name >> value)
		counts[name] = value;
	return counts;
}

void guest_arm_and_leave()
{
	apic_enable();
	apic_write(APIC_TDCR, 0xb);
	apic_write(APIC_LVTT, 0x51 | (1 << 17));	// periodic, 200 us
	apic_write(APIC_TMICT, 200000);
	guest::outb(0x43, 0x34);			// PIT channel 0: mode 2, 10 ms
	guest::outb(0x40, 0x9c);
	guest::outb(0x40, 0x2e);
	send_ipi(1, 0x60);				// pending in vCPU 1's IRR
	GUEST_DONE();
}

} // namespace

// A VM destroyed with an armed periodic timer, an armed periodic PIT, a
// pending IPI, an AP that never started, a vCPU halted in the kernel and a
// registered irqfd and ioeventfds (PIO and MMIO) frees everything.
KVMX_TEST(destroy_with_armed_timers_frees_everything)
{
	const auto before = objects();
	KmsgWatch kmsg;
	Fd irq_e = Fd::eventfd(), pio_e = Fd::eventfd(), mmio_e = Fd::eventfd();
	{
		Vm vm;
		vm.create_irqchip();
		kvm_pit_config pit{};
		ASSERT_EQ(ioctl_result(vm.fd(), KVM_CREATE_PIT2, &pit), 0L);
		kvm_irqfd irqfd{};
		irqfd.fd = static_cast<uint32_t>(irq_e.get());
		irqfd.gsi = 5;
		ASSERT_EQ(ioctl_result(vm.fd(), KVM_IRQFD, &irqfd), 0L);
		kvm_ioeventfd io{};
		io.addr = 0x600;
		io.len = 1;
		io.fd = pio_e.get();
		io.flags = KVM_IOEVENTFD_FLAG_PIO;
		ASSERT_EQ(ioctl_result(vm.fd(), KVM_IOEVENTFD, &io), 0L);
		io.addr = 0xd0000000;
		io.len = 4;
		io.fd = mmio_e.get();
		io.flags = 0;
		ASSERT_EQ(ioctl_result(vm.fd(), KVM_IOEVENTFD, &io), 0L);
		EXPECT_EQ(objects().at("irqfds"), before.at("irqfds") + 1);
		EXPECT_EQ(objects().at("ioeventfds"), before.at("ioeventfds") + 2);
		EXPECT_EQ(objects().at("pits"), before.at("pits") + 1);
		vm.install_handler(0x60, ping_handler);
		Vcpu &v0 = vm.add_vcpu(guest_arm_and_leave);
		Vcpu &v1 = vm.add_vcpu(guest_halt_forever);
		vm.add_vcpu(false);
		v0.expect_done();
		// v1 halts with IF=0 and the IPI pending; a signal ends KVM_RUN.
		EXPECT_EQ(run_until_signal(v1), -EINTR);
		EXPECT_EQ(v1.mp_state(), uint32_t(KVM_MP_STATE_HALTED));
	}
	const auto after = objects();
	for (const auto &[name, count] : before)
		EXPECT_EQ(after.at(name), count);
	EXPECT_EQ(after.at("irqchips"), 0L);
	EXPECT_EQ(after.at("lapics"), 0L);
	EXPECT_EQ(kmsg.first_splat(), std::string());
}

// ---- Irqchip state from user space, any bytes ----------------------------

namespace {

void guest_cli_done()
{
	guest::cli();
	GUEST_DONE();
}

template <typename T> void fill_random(T &obj, std::mt19937_64 &rng)
{
	auto *p = reinterpret_cast<uint8_t *>(&obj);
	for (size_t i = 0; i < sizeof(obj); i++)
		p[i] = static_cast<uint8_t>(rng());
}

} // namespace

// KVM_SET_IRQCHIP (both PICs, the IOAPIC) and KVM_SET_LAPIC with random
// bytes (IOAPIC entries in fixed delivery mode), lines raised and lowered
// at random, a guest run (IF=0) and the VM destroyed with whatever timers
// that armed: no splat, nothing leaked; KVM takes any bytes, so must kvmx.
KVMX_TEST(random_irqchip_state)
{
	const bool kvmx_counts = test::options().testing_kvmx();
	const auto before = kvmx_counts ? objects() : std::map<std::string, long>{};
	KmsgWatch kmsg;
	std::mt19937_64 rng(test::options().seed_given ? test::options().seed : 9);
	for (int round = 0; round < 30; round++) {
		Vm vm;
		vm.create_irqchip();
		Vcpu &vcpu = vm.add_vcpu(guest_cli_done);
		// IF=0 from the first instruction: an interrupt the random state
		// makes pending must not reach the guest (a random vector in the
		// exception range would wreck its stack, and IF=0 loops freeze
		// Bochs).
		kvm_regs regs = vcpu.regs();
		regs.rflags = 0x2;
		vcpu.set_regs(regs);
		for (uint32_t id : {KVM_IRQCHIP_PIC_MASTER, KVM_IRQCHIP_PIC_SLAVE, KVM_IRQCHIP_IOAPIC}) {
			kvm_irqchip chip{};
			fill_random(chip.chip, rng);
			chip.chip_id = id;
			// KVM injects the IOAPIC's IRR at once: fixed delivery only
			// (an INIT, NMI or SMI would leave the guest, not the state,
			// being tested).
			if (id == KVM_IRQCHIP_IOAPIC)
				for (auto &e : chip.chip.ioapic.redirtbl)
					e.bits &= ~(7ULL << 8);
			EXPECT_EQ(ioctl_result(vm.fd(), KVM_SET_IRQCHIP, &chip), 0L);
			EXPECT_EQ(ioctl_result(vm.fd(), KVM_GET_IRQCHIP, &chip), 0L);
		}
		kvm_lapic_state s{};
		fill_random(s, rng);
		EXPECT_EQ(ioctl_result(vcpu.fd(), KVM_SET_LAPIC, &s), 0L);
		EXPECT_EQ(ioctl_result(vcpu.fd(), KVM_GET_LAPIC, &s), 0L);
		for (int i = 0; i < 8; i++) {
			kvm_irq_level l{};
			l.irq = static_cast<uint32_t>(rng() % 24);
			l.level = static_cast<uint32_t>(rng() & 1);
			EXPECT_EQ(ioctl_result(vm.fd(), KVM_IRQ_LINE_STATUS, &l) >= 0, true);
		}
		vcpu.expect_done();
	}
	if (kvmx_counts) {
		const auto after = objects();
		for (const auto &[name, count] : before)
			EXPECT_EQ(after.at(name), count);
	}
	EXPECT_EQ(kmsg.first_splat(), std::string());
}

