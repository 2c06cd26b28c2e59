// SPDX-License-Identifier: GPL-2.0
// The in-kernel i8254 PIT (KVM_CREATE_PIT2 and friends) on /dev/kvmx and
// /dev/kvm alike: creation rules and errnos, KVM_GET/SET_PIT(2), guests
// that program channel 0 (mode 2 periodic, mode 0 one-shot) and count
// IRQ 0 through the PIC and the IOAPIC, KVM's tick reinjection and
// KVM_REINJECT_CONTROL, counter reads (live, latched, read-back) and port
// 0x61.  Guests wait with STI;HLT, never in IF=0 loops.
#include <cerrno>
#include <cstring>
#include <string>

#include "lib/sys.h"
#include "lib/test.h"
#include "lib/vm.h"

using namespace kvmx;

namespace {

constexpr uint64_t kApic = 0xfee00000, kIoapic = 0xfec00000;
constexpr uint32_t APIC_EOI = 0xb0, APIC_SPIV = 0xf0, APIC_LVTT = 0x320, APIC_LVT0 = 0x350,
		   APIC_TMICT = 0x380, APIC_TDCR = 0x3e0;
constexpr uint32_t kTick10ms = 11932;		// PIT ticks in 10 ms

inline void apic_write(uint32_t off, uint32_t v)
{
	*reinterpret_cast<volatile uint32_t *>(kApic + off) = v;
}

inline void ioapic_write(uint32_t reg, uint32_t v)
{
	*reinterpret_cast<volatile uint32_t *>(kIoapic) = reg;
	*reinterpret_cast<volatile uint32_t *>(kIoapic + 0x10) = v;
}

// Sleep until *@flag reaches @n: STI;HLT, interrupts on while waiting.
inline void wait_for(volatile uint64_t *flag, uint64_t n)
{
	guest::cli();
	while (*flag < n)
		asm volatile("sti; hlt; cli" ::: "memory");
	guest::sti();
}

volatile uint64_t pit_count, lapic_count, pit_vector, eoi_pic;

void pit_pic_handler(ExFrame *f)
{
	pit_vector = f->vector;
	pit_count = pit_count + 1;
	if (eoi_pic)
		guest::outb(0x20, 0x20);
}

void pit_ioapic_handler(ExFrame *f)
{
	pit_vector = f->vector;
	pit_count = pit_count + 1;
	apic_write(APIC_EOI, 0);
}

void lapic_timer_handler(ExFrame *)
{
	lapic_count = lapic_count + 1;
	apic_write(APIC_EOI, 0);
}

// The LAPIC (1 GHz bus on both, divide by 1) as a clock: sleep @ns.
void lapic_sleep(uint32_t ns)
{
	uint64_t n = lapic_count;

	apic_write(APIC_LVTT, 0x50);
	apic_write(APIC_TMICT, ns);
	wait_for(&lapic_count, n + 1);
}

void apic_setup()
{
	apic_write(APIC_SPIV, 0x1ff);
	apic_write(APIC_TDCR, 0xb);
}

// Master PIC at vectors 0x30-0x37, only IRQ 0 unmasked; slave masked.
void pic_setup()
{
	guest::outb(0x20, 0x11);
	guest::outb(0x21, 0x30);
	guest::outb(0x21, 0x04);
	guest::outb(0x21, 0x01);
	guest::outb(0x21, 0xfe);
	guest::outb(0xa1, 0xff);
}

// Channel 0 in @mode, LSB then MSB of @count.
void pit_program(uint8_t mode, uint16_t count)
{
	guest::outb(0x43, 0x30 | (mode << 1));
	guest::outb(0x40, count & 0xff);
	guest::outb(0x40, count >> 8);
}

// IRQ 0 through the PIC (LINT0 in ExtINT): 5 periodic ticks, then one
// one-shot tick and no other in the 30 ms after it.
void guest_pic_ticks()
{
	apic_setup();
	apic_write(APIC_LVT0, 0x700);
	pic_setup();
	eoi_pic = 1;
	pit_program(2, kTick10ms);
	wait_for(&pit_count, 5);
	GUEST_ASSERT_EQ(pit_vector, 0x30);
	pit_program(0, kTick10ms / 5);
	uint64_t n = pit_count;
	wait_for(&pit_count, n + 1);
	lapic_sleep(30000000);
	GUEST_ASSERT_EQ(pit_count, n + 1);
	GUEST_DONE();
}

// IRQ 0 through the IOAPIC pin @pin (PICs masked): as guest_pic_ticks().
void guest_ioapic_ticks(uint64_t pin)
{
	apic_setup();
	guest::outb(0x21, 0xff);
	guest::outb(0xa1, 0xff);
	ioapic_write(0x10 + 2 * pin, 0x62);	// edge, vector 0x62
	ioapic_write(0x11 + 2 * pin, 0);
	pit_program(2, kTick10ms);
	wait_for(&pit_count, 5);
	GUEST_ASSERT_EQ(pit_vector, 0x62);
	pit_program(0, kTick10ms / 5);
	uint64_t n = pit_count;
	wait_for(&pit_count, n + 1);
	lapic_sleep(30000000);
	GUEST_ASSERT_EQ(pit_count, n + 1);
	GUEST_DONE();
}

// IRQ 0 stays in service (no EOI) for 100 ms, ten ticks; then the EOI.
// Reports how many ticks came in the 10 ms after it.
void guest_missed_ticks()
{
	apic_setup();
	apic_write(APIC_LVT0, 0x700);
	pic_setup();
	eoi_pic = 0;
	pit_program(2, kTick10ms);
	wait_for(&pit_count, 1);
	lapic_sleep(100000000);
	GUEST_ASSERT_EQ(pit_count, 1);
	eoi_pic = 1;
	guest::outb(0x20, 0x20);
	lapic_sleep(10000000);
	GUEST_SYNC(pit_count - 1);
	GUEST_DONE();
}

void vm_with_pit(Vm &vm, uint32_t flags)
{
	vm.create_irqchip();
	kvm_pit_config c{};
	c.flags = flags;
	ioctl_or_throw(vm.fd(), KVM_CREATE_PIT2, "KVM_CREATE_PIT2", &c);
	vm.install_handler(0x30, pit_pic_handler);
	vm.install_handler(0x62, pit_ioapic_handler);
	vm.install_handler(0x50, lapic_timer_handler);
}

kvm_pit_state2 get_pit2(const Vm &vm)
{
	kvm_pit_state2 s{};
	ioctl_or_throw(vm.fd(), KVM_GET_PIT2, "KVM_GET_PIT2", &s);
	return s;
}

// Channel 2, mode 0, then the live, latched and read-back counts, the
// control port's read and port 0x61 (KVM_PIT_SPEAKER_DUMMY).
uint8_t in_keep_al(uint16_t port, uint8_t al)
{
	uint8_t v;
	asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port), "0"(al) : "memory");
	return v;
}

uint16_t read_word(uint16_t port)
{
	uint8_t lo = guest::inb(port);
	return static_cast<uint16_t>(lo | guest::inb(port) << 8);
}

void guest_counter_reads(uint64_t speaker)
{
	guest::sti();
	guest::outb(0x43, 0xb0);		// ch 2, word, mode 0
	guest::outb(0x42, 0xf0);
	guest::outb(0x42, 0xff);		// 0xfff0: 55 ms
	guest::outb(0x43, 0x80);		// latch ch 2
	uint16_t v1 = read_word(0x42);
	GUEST_ASSERT(v1 > 0 && v1 <= 0xfff0);
	guest::outb(0x43, 0x80);
	uint16_t v2 = read_word(0x42);
	GUEST_ASSERT(v2 <= v1);
	uint16_t live = read_word(0x42);
	GUEST_ASSERT(live <= v2);
	guest::outb(0x43, 0xc8);		// read-back: status and count of ch 2
	uint8_t status = guest::inb(0x42);
	GUEST_ASSERT_EQ(status & 0x7f, 0x30);	// word access, mode 0, binary
	GUEST_ASSERT(read_word(0x42) <= live);
	guest::outb(0x43, 0xe8);		// read-back: status only
	GUEST_ASSERT_EQ(guest::inb(0x42) & 0x7f, 0x30);
	GUEST_ASSERT(read_word(0x42) <= live);	// live again
	guest::outb(0x43, 0x54);		// ch 1, LSB only, mode 2
	guest::outb(0x41, 200);
	uint8_t b = guest::inb(0x41);
	GUEST_ASSERT(b > 0 && b <= 200);
	GUEST_ASSERT_EQ(in_keep_al(0x43, 0x5a), 0x5a);	// reads nothing
	if (speaker) {
		guest::outb(0x61, 0x03);
		GUEST_ASSERT_EQ(guest::inb(0x61) & 0x03, 0x03);
		guest::outb(0x61, 0x00);
		GUEST_ASSERT_EQ(guest::inb(0x61) & 0x03, 0x00);
	} else {
		guest::outb(0x61, 0x03);	// user space's port: an exit
	}
	GUEST_DONE();
}

} // namespace

// ---- Creation rules --------------------------------------------------------

KVMX_TEST(create_pit_rules)
{
	KmsgWatch kmsg;
	{
		Vm vm(Vm::bare);
		for (long cap : {KVM_CAP_PIT, KVM_CAP_PIT2, KVM_CAP_PIT_STATE2, KVM_CAP_REINJECT_CONTROL})
			EXPECT_EQ(vm.system().check_extension(cap), 1L);
		kvm_pit_state2 s2{};
		kvm_pit_state s{};
		kvm_reinject_control rc{};
		EXPECT_EQ(ioctl_result(vm.fd(), KVM_GET_PIT2, &s2), -ENXIO);
		EXPECT_EQ(ioctl_result(vm.fd(), KVM_SET_PIT2, &s2), -ENXIO);
		EXPECT_EQ(ioctl_result(vm.fd(), KVM_GET_PIT, &s), -ENXIO);
		EXPECT_EQ(ioctl_result(vm.fd(), KVM_SET_PIT, &s), -ENXIO);
		EXPECT_EQ(ioctl_result(vm.fd(), KVM_REINJECT_CONTROL, &rc), -ENXIO);
		// Linux 6.1 needs no irqchip and checks no flags.
		kvm_pit_config c{};
		c.flags = 0xffffffff;
		EXPECT_EQ(ioctl_result(vm.fd(), KVM_CREATE_PIT2, &c), 0L);
		EXPECT_EQ(ioctl_result(vm.fd(), KVM_CREATE_PIT2, &c), -EEXIST);
		EXPECT_EQ(ioctl_result(vm.fd(), KVM_CREATE_PIT), -EEXIST);
		EXPECT_EQ(ioctl_result(vm.fd(), KVM_CREATE_IRQCHIP), 0L);
		EXPECT_EQ(ioctl_result(vm.fd(), KVM_REINJECT_CONTROL, &rc), 0L);
		EXPECT_EQ(ioctl_result(vm.fd(), KVM_GET_PIT2), -EFAULT);
		EXPECT_EQ(ioctl_result(vm.fd(), KVM_CREATE_PIT2), -EFAULT);
	}
	{
		// The state at creation.
		Vm vm(Vm::bare);
		ASSERT_EQ(ioctl_result(vm.fd(), KVM_CREATE_PIT), 0L);
		kvm_pit_state2 s = get_pit2(vm);
		EXPECT_EQ(s.flags, 0u);
		for (int i = 0; i < 3; i++) {
			EXPECT_EQ(s.channels[i].mode, 0xff);
			EXPECT_EQ(s.channels[i].count, 0x10000u);
			EXPECT_EQ(s.channels[i].gate, i != 2);
			EXPECT_EQ(s.channels[i].rw_mode, 0);
		}
		EXPECT_EQ(s.channels[0].count_load_time, 0);
		EXPECT_TRUE(s.channels[1].count_load_time != 0);
		for (auto r : s.reserved)
			EXPECT_EQ(r, 0u);
	}
	EXPECT_EQ(kmsg.first_splat(), std::string());
}

// ---- State ioctls ----------------------------------------------------------

KVMX_TEST(get_set_pit2_round_trip)
{
	KmsgWatch kmsg;
	Vm vm(Vm::bare);
	vm.create_irqchip();
	kvm_pit_config c{};
	ASSERT_EQ(ioctl_result(vm.fd(), KVM_CREATE_PIT2, &c), 0L);
	kvm_pit_state2 s{};
	for (int i = 0; i < 3; i++) {
		auto &ch = s.channels[i];
		ch.count = 0x1000u + i;
		ch.latched_count = static_cast<uint16_t>(0x800 + i);
		ch.count_latched = 3;
		ch.status_latched = 1;
		ch.status = 0xb4;
		ch.read_state = 4;
		ch.write_state = 3;
		ch.write_latch = 0x12;
		ch.rw_mode = 3;
		ch.mode = static_cast<uint8_t>(2 + i);
		ch.bcd = 0;
		ch.gate = 1;
		ch.count_load_time = 12345;
	}
	s.channels[2].count = 0;		// loading 0 is loading 0x10000
	s.flags = KVM_PIT_FLAGS_SPEAKER_DATA_ON;
	s.reserved[0] = 0xdead;
	ASSERT_EQ(ioctl_result(vm.fd(), KVM_SET_PIT2, &s), 0L);
	kvm_pit_state2 g = get_pit2(vm);
	EXPECT_EQ(g.flags, uint32_t(KVM_PIT_FLAGS_SPEAKER_DATA_ON));
	EXPECT_EQ(g.reserved[0], 0u);
	for (int i = 0; i < 3; i++) {
		auto &a = g.channels[i], &b = s.channels[i];
		EXPECT_EQ(a.count, i == 2 ? 0x10000u : b.count);
		EXPECT_EQ(a.latched_count, b.latched_count);
		EXPECT_EQ(a.count_latched, b.count_latched);
		EXPECT_EQ(a.status_latched, b.status_latched);
		EXPECT_EQ(a.status, b.status);
		EXPECT_EQ(a.read_state, b.read_state);
		EXPECT_EQ(a.write_state, b.write_state);
		EXPECT_EQ(a.write_latch, b.write_latch);
		EXPECT_EQ(a.rw_mode, b.rw_mode);
		EXPECT_EQ(a.mode, b.mode);
		EXPECT_EQ(a.gate, b.gate);
	}
	// Channel 0's load time is its timer's; channels 1 and 2 restart now.
	EXPECT_EQ(g.channels[0].count_load_time, 12345);
	EXPECT_TRUE(g.channels[1].count_load_time != 12345);
	// KVM_GET/SET_PIT: the channels alone, flags untouched.
	kvm_pit_state p{};
	ASSERT_EQ(ioctl_result(vm.fd(), KVM_GET_PIT, &p), 0L);
	EXPECT_EQ(p.channels[1].latched_count, 0x801);
	p.channels[1].mode = 0;
	p.channels[1].count = 77;
	ASSERT_EQ(ioctl_result(vm.fd(), KVM_SET_PIT, &p), 0L);
	g = get_pit2(vm);
	EXPECT_EQ(g.channels[1].mode, 0);
	EXPECT_EQ(g.channels[1].count, 77u);
	EXPECT_EQ(g.flags, uint32_t(KVM_PIT_FLAGS_SPEAKER_DATA_ON));
	// Any bytes: taken, and no splat (HPET legacy mode included).
	for (uint8_t fill : {0x00, 0x5a, 0xff}) {
		memset(&s, fill, sizeof(s));
		EXPECT_EQ(ioctl_result(vm.fd(), KVM_SET_PIT2, &s), 0L);
		get_pit2(vm);
	}
	EXPECT_EQ(kmsg.first_splat(), std::string());
}

// ---- Guests ------------------------------------------------------------------

KVMX_TEST(channel0_ticks_through_the_pic)
{
	KmsgWatch kmsg;
	Vm vm;
	vm_with_pit(vm, 0);
	vm.add_vcpu(guest_pic_ticks).expect_done();
	kvm_pit_state2 s = get_pit2(vm);
	EXPECT_EQ(s.channels[0].mode, 0);
	EXPECT_EQ(s.channels[0].count, kTick10ms / 5);
	EXPECT_EQ(kmsg.first_splat(), std::string());
}

KVMX_TEST(channel0_ticks_through_the_ioapic)
{
	KmsgWatch kmsg;
	{
		// KVM's default routing: GSI 0 is IOAPIC pin 0.
		Vm vm;
		vm_with_pit(vm, 0);
		Vcpu &v = vm.add_vcpu(guest_ioapic_ticks);
		v.set_args({0});
		v.expect_done();
	}
	{
		// QEMU's: GSI 0 is PIC pin 0 and IOAPIC pin 2.
		Vm vm;
		vm_with_pit(vm, 0);
		// (struct kvm_irq_routing's C layout: see lib/kvm_abi.h.)
		alignas(kvm_irq_routing_entry) uint8_t buf[sizeof(abi::IrqRouting) +
							   2 * sizeof(kvm_irq_routing_entry)]{};
		auto *hdr = reinterpret_cast<abi::IrqRouting *>(buf);
		auto *e = abi::entries_of<kvm_irq_routing_entry>(hdr);
		hdr->nr = 2;
		e[0].type = e[1].type = KVM_IRQ_ROUTING_IRQCHIP;
		e[0].u.irqchip = {KVM_IRQCHIP_PIC_MASTER, 0};
		e[1].u.irqchip = {KVM_IRQCHIP_IOAPIC, 2};
		ioctl_or_throw(vm.fd(), KVM_SET_GSI_ROUTING, "KVM_SET_GSI_ROUTING", buf);
		Vcpu &v = vm.add_vcpu(guest_ioapic_ticks);
		v.set_args({2});
		v.expect_done();
	}
	EXPECT_EQ(kmsg.first_splat(), std::string());
}

// Ticks missed while IRQ 0 was in service come in a burst after its EOI;
// with KVM_REINJECT_CONTROL's pit_reinject=0 they are lost.
KVMX_TEST(missed_ticks_reinjected_unless_disabled)
{
	KmsgWatch kmsg;
	for (uint8_t reinject : {1, 0}) {
		Vm vm;
		vm_with_pit(vm, 0);
		if (!reinject) {
			kvm_reinject_control rc{};
			rc.pit_reinject = 0;
			ioctl_or_throw(vm.fd(), KVM_REINJECT_CONTROL, "KVM_REINJECT_CONTROL", &rc);
		}
		Vcpu &v = vm.add_vcpu(guest_missed_ticks);
		Ucall u = v.run_until_ucall();
		ASSERT_EQ(u.cmd, uint64_t(UCALL_SYNC));
		test::diag("reinject " + std::to_string(reinject) + ": " +
			   std::to_string(u.args[0]) + " ticks in the 10 ms after the EOI");
		if (reinject)
			EXPECT_TRUE(u.args[0] >= 6);
		else
			EXPECT_TRUE(u.args[0] <= 3);
		v.expect_done();
	}
	EXPECT_EQ(kmsg.first_splat(), std::string());
}

KVMX_TEST(counter_reads_latch_and_speaker)
{
	KmsgWatch kmsg;
	{
		Vm vm;
		vm_with_pit(vm, KVM_PIT_SPEAKER_DUMMY);
		Vcpu &v = vm.add_vcpu(guest_counter_reads);
		v.set_args({1});
		v.expect_done();
		kvm_pit_state2 s = get_pit2(vm);
		EXPECT_EQ(s.channels[2].gate, 0);
		EXPECT_EQ(s.flags, 0u);
		EXPECT_EQ(s.channels[1].mode, 2);
		EXPECT_EQ(s.channels[1].count, 200u);
	}
	{
		// No speaker: port 0x61 is user space's.  No irqchip: the PIT's
		// ports are the kernel's all the same.
		Vm vm;
		kvm_pit_config c{};
		ioctl_or_throw(vm.fd(), KVM_CREATE_PIT2, "KVM_CREATE_PIT2", &c);
		Vcpu &v = vm.add_vcpu(guest_counter_reads);
		v.set_args({0});
		ASSERT_EQ(v.run(), uint32_t(KVM_EXIT_IO));
		EXPECT_EQ(v.run_area().io.port, 0x61);
		EXPECT_EQ(v.run_area().io.direction, uint8_t(KVM_EXIT_IO_OUT));
		v.expect_done();
	}
	EXPECT_EQ(kmsg.first_splat(), std::string());
}
