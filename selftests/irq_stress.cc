// SPDX-License-Identifier: GPL-2.0
// The in-kernel irqchip under concurrency: three vCPUs run a guest that
// sends IPIs round a ring and sleeps in STI;HLT (a 1 ms periodic APIC timer
// armed on each, so no sleep is endless), counting every vector it takes,
// while host threads inject at once through KVM_IRQ_LINE (PIC and IOAPIC
// pins), KVM_SIGNAL_MSI (every 16th an NMI) and irqfds (eventfd writes), register and
// unregister irqfds and ioeventfds, switch the GSI routing table, and read
// KVM_GET_IRQCHIP, KVM_GET_LAPIC and KVM_GET_MP_STATE.
//
// What must hold: every vCPU ends (a watchdog fails a vCPU with no ucall
// for 30 s); each source was delivered at least once and no vector came
// more often than it was sent (edge interrupts may coalesce, never
// multiply); no vector the test never used; no splat.  A second case
// destroys the VM in the middle (vCPUs halted, timers armed, irqfds
// registered, an eventfd still being written) and kvmx's object counts
// must come back to where they were.  --seconds N: the stress case's
// length (default 2 s of the test host's clock, up to 4 s while a source
// has not been delivered yet; make fuzz-host runs it longer).
#include <atomic>
#include <cerrno>
#include <chrono>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <sys/eventfd.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include "lib/objects.h"
#include "lib/sys.h"
#include "lib/test.h"
#include "lib/vm.h"
#include "lib/watchdog.h"

using namespace kvmx;

namespace {

constexpr int kVcpus = 3;
constexpr uint64_t kApic = 0xfee00000;
constexpr uint64_t kIoapic = 0xfec00000;
constexpr uint32_t APIC_ID = 0x20, APIC_EOI = 0xb0, APIC_SPIV = 0xf0, APIC_ICR = 0x300,
		   APIC_ICR2 = 0x310, APIC_LVTT = 0x320, APIC_TMICT = 0x380, APIC_TDCR = 0x3e0;

// The vectors, by source.
constexpr int kVecPic = 0x30;		// + IRQ 3, 4: PIC through vCPU 0's LINT0 (ExtINT)
constexpr int kVecIoapic = 0x80;	// + pin 10-13: KVM_IRQ_LINE, IOAPIC
constexpr int kVecMsi = 0x90;		// + destination vCPU: KVM_SIGNAL_MSI
constexpr int kVecIpi = 0xa0;		// + sending vCPU
constexpr int kVecIrqfd = 0xb0;		// 0xb0-0xb2: irqfds through MSI routes
constexpr int kVecTimer = 0xe0;
constexpr int kVecWake = 0xef;		// the host's "stop now" MSI
constexpr int kPicIrqs[] = {3, 4};
constexpr int kIoapicPins[] = {10, 11, 12, 13};

volatile uint64_t counts[kVcpus][256];
volatile uint64_t ipis_sent[kVcpus];
volatile uint64_t stop, park;

inline volatile uint32_t *apic_reg(uint32_t off)
{
	return reinterpret_cast<volatile uint32_t *>(kApic + off);
}
inline uint32_t apic_read(uint32_t off) { return *apic_reg(off); }
inline void apic_write(uint32_t off, uint32_t v) { *apic_reg(off) = v; }

inline void ioapic_write(uint32_t reg, uint32_t v)
{
	*reinterpret_cast<volatile uint32_t *>(kIoapic) = reg;
	*reinterpret_cast<volatile uint32_t *>(kIoapic + 0x10) = v;
}

uint32_t my_id() { return (apic_read(APIC_ID) >> 24) % kVcpus; }

void apic_handler(ExFrame *f)
{
	uint32_t id = my_id();
	counts[id][f->vector] = counts[id][f->vector] + 1;
	apic_write(APIC_EOI, 0);
}

void nmi_handler(ExFrame *f)
{
	uint32_t id = my_id();
	counts[id][f->vector] = counts[id][f->vector] + 1;	// no EOI for an NMI
}

void pic_handler(ExFrame *f)
{
	uint32_t id = my_id();
	counts[id][f->vector] = counts[id][f->vector] + 1;
	guest::outb(0x20, 0x20);		// non-specific EOI to the master PIC
}

void guest_stress(uint64_t id)
{
	apic_write(APIC_SPIV, 0x1ff);
	if (id == 0) {
		guest::outb(0x20, 0x11);	// ICW1
		guest::outb(0x21, kVecPic);	// ICW2
		guest::outb(0x21, 0x04);	// ICW3
		guest::outb(0x21, 0x01);	// ICW4
		guest::outb(0x21, 0xe7);	// IRQ 3 and 4 only
		guest::outb(0xa1, 0xff);
		for (int pin : kIoapicPins) {	// edge, fixed, to vCPU pin % n
			ioapic_write(0x11 + 2 * pin, uint32_t(pin % kVcpus) << 24);
			ioapic_write(0x10 + 2 * pin, kVecIoapic + pin);
		}
	}
	apic_write(APIC_TDCR, 0xb);
	apic_write(APIC_LVTT, kVecTimer | 1 << 17);	// periodic, 1 ms
	apic_write(APIC_TMICT, 1000000);
	guest::sti();
	GUEST_SYNC(0);
	uint64_t iter = 0;
	while (!stop && !park) {
		apic_write(APIC_ICR2, uint32_t((id + 1) % kVcpus) << 24);
		apic_write(APIC_ICR, kVecIpi + uint32_t(id));
		ipis_sent[id] = ipis_sent[id] + 1;
		asm volatile("hlt" ::: "memory");	// IF=1: the timer wakes it at the latest
		if (++iter % 16 == 0)
			GUEST_SYNC(iter);
	}
	// destroy_mid_activity: parked in STI;HLT, the timer still armed.
	while (park)
		asm volatile("hlt" ::: "memory");
	guest::cli();
	apic_write(APIC_LVTT, 1 << 16);
	apic_write(APIC_TMICT, 0);
	GUEST_DONE();
}

void msi_route(kvm_irq_routing_entry &e, uint32_t gsi, uint32_t dest, uint32_t vector)
{
	e = {};
	e.gsi = gsi;
	e.type = KVM_IRQ_ROUTING_MSI;
	e.u.msi.address_lo = uint32_t(kApic) | dest << 12;
	e.u.msi.data = vector;
}

void chip_route(kvm_irq_routing_entry &e, uint32_t gsi, uint32_t chip, uint32_t pin)
{
	e = {};
	e.gsi = gsi;
	e.type = KVM_IRQ_ROUTING_IRQCHIP;
	e.u.irqchip.irqchip = chip;
	e.u.irqchip.pin = pin;
}

// KVM_SET_GSI_ROUTING: the PIC and IOAPIC pins the test raises, and the
// irqfds' MSIs (GSI 100 goes to vCPU 1 or 2, per @variant).
void set_routing(const Vm &vm, int variant)
{
	constexpr int kMax = 16;
	alignas(kvm_irq_routing_entry) uint8_t buf[sizeof(abi::IrqRouting) +
						  kMax * sizeof(kvm_irq_routing_entry)]{};
	auto &hdr = *reinterpret_cast<abi::IrqRouting *>(buf);
	auto *e = abi::entries_of<kvm_irq_routing_entry>(&hdr);
	uint32_t n = 0;
	for (int irq : kPicIrqs) {
		chip_route(e[n++], irq, KVM_IRQCHIP_PIC_MASTER, irq);
		chip_route(e[n++], irq, KVM_IRQCHIP_IOAPIC, irq);
	}
	for (int pin : kIoapicPins)
		chip_route(e[n++], pin, KVM_IRQCHIP_IOAPIC, pin);
	msi_route(e[n++], 100, variant ? 2 : 1, kVecIrqfd);
	msi_route(e[n++], 101, 0, kVecIrqfd + 1);
	msi_route(e[n++], 102, 0, kVecIrqfd + 2);
	hdr.nr = n;
	ioctl_or_throw(vm.fd(), KVM_SET_GSI_ROUTING, "KVM_SET_GSI_ROUTING", &hdr);
}

int irqfd(const Vm &vm, const Fd &e, uint32_t gsi, bool deassign)
{
	kvm_irqfd a{};
	a.fd = static_cast<uint32_t>(e.get());
	a.gsi = gsi;
	a.flags = deassign ? KVM_IRQFD_FLAG_DEASSIGN : 0;
	return static_cast<int>(ioctl_result(vm.fd(), KVM_IRQFD, &a));
}

// What the host sent, per vector and destination vCPU (-1: "some vCPU").
struct Sent {
	std::mutex mu;
	std::map<int, uint64_t> by_vector;
	void add(int vector, uint64_t n = 1)
	{
		std::lock_guard<std::mutex> g(mu);
		by_vector[vector] += n;
	}
};

void guest_setup(Vm &vm)
{
	vm.create_irqchip();
	for (int v = 0x20; v < 0x100; v++)
		vm.install_handler(uint8_t(v), apic_handler);
	for (int irq : kPicIrqs)
		vm.install_handler(uint8_t(kVecPic + irq), pic_handler);
	vm.install_handler(2, nmi_handler);
	for (int i = 0; i < kVcpus; i++)
		vm.add_vcpu(guest_stress).set_args({uint64_t(i)});
	set_routing(vm, 0);
}

// The injecting threads; they run until @done.
struct Injectors {
	std::vector<std::thread> threads;
	std::atomic<bool> done{false};
	std::atomic<uint64_t> ops{0};
	Sent sent;
	Fd ev_a = Fd::eventfd(), ev_b = Fd::eventfd(), ev_c = Fd::eventfd(),
	   ev_io = Fd::eventfd();
	std::exception_ptr error;
	std::mutex error_mu;

	void guard(const std::function<void()> &fn)
	{
		try {
			fn();
		} catch (...) {
			std::lock_guard<std::mutex> g(error_mu);
			if (!error)
				error = std::current_exception();
			done = true;
		}
	}
	static void pause() { std::this_thread::sleep_for(std::chrono::microseconds(300)); }

	void start(Vm &vm, uint64_t seed)
	{
		ASSERT_EQ(irqfd(vm, ev_a, 100, false), 0);
		ASSERT_EQ(irqfd(vm, ev_b, 101, false), 0);
		// Lines: pulses on the PIC and IOAPIC pins.
		threads.emplace_back([this, &vm, seed] {
			guard([&] {
				std::mt19937_64 rng(seed);
				while (!done) {
					int gsi = rng() % 3 ? kIoapicPins[rng() % 4] : kPicIrqs[rng() % 2];
					kvm_irq_level l{};
					l.irq = uint32_t(gsi);
					l.level = 1;
					ioctl_or_throw(vm.fd(), KVM_IRQ_LINE, "KVM_IRQ_LINE", &l);
					l.level = 0;
					ioctl_or_throw(vm.fd(), KVM_IRQ_LINE, "KVM_IRQ_LINE", &l);
					sent.add(gsi < 8 ? kVecPic + gsi : kVecIoapic + gsi);
					ops++;
					pause();
				}
			});
		});
		// MSIs to every vCPU.
		threads.emplace_back([this, &vm, seed] {
			guard([&] {
				std::mt19937_64 rng(seed + 1);
				for (uint64_t i = 0; !done; i++) {
					uint32_t dest = uint32_t(rng() % kVcpus);
					kvm_msi msi{};
					msi.address_lo = uint32_t(kApic) | dest << 12;
					msi.data = kVecMsi + dest;
					// Every 16th an NMI message (vector 2 in the guest).
					if (i % 16 == 0)
						msi.data = 0x400;
					ioctl_or_throw(vm.fd(), KVM_SIGNAL_MSI, "KVM_SIGNAL_MSI", &msi);
					sent.add(i % 16 ? kVecMsi + int(dest) : 0x100 + int(dest));
					ops++;
					pause();
				}
			});
		});
		// irqfds: writes, and a third one registered and unregistered.
		threads.emplace_back([this, &vm] {
			guard([&] {
				uint64_t one = 1, i = 0;
				while (!done) {
					const Fd &e = i % 2 ? ev_b : ev_a;
					if (write(e.get(), &one, 8) == 8)
						sent.add(i % 2 ? kVecIrqfd + 1 : kVecIrqfd);
					if (i % 8 == 0) {
						ASSERT_EQ(irqfd(vm, ev_c, 102, false), 0);
						if (write(ev_c.get(), &one, 8) == 8)
							sent.add(kVecIrqfd + 2);
						ASSERT_EQ(irqfd(vm, ev_c, 102, true), 0);
					}
					i++;
					ops++;
					pause();
				}
			});
		});
		// ioeventfds and the routing table.
		threads.emplace_back([this, &vm] {
			guard([&] {
				int variant = 0;
				while (!done) {
					kvm_ioeventfd io{};
					io.addr = 0x700;
					io.len = 1;
					io.fd = ev_io.get();
					io.flags = KVM_IOEVENTFD_FLAG_PIO;
					ioctl_or_throw(vm.fd(), KVM_IOEVENTFD, "KVM_IOEVENTFD", &io);
					io.flags |= KVM_IOEVENTFD_FLAG_DEASSIGN;
					ioctl_or_throw(vm.fd(), KVM_IOEVENTFD, "KVM_IOEVENTFD", &io);
					set_routing(vm, variant ^= 1);
					ops++;
					pause();
				}
			});
		});
		// State readers: the chips (VM ioctls, no vCPU mutex).
		threads.emplace_back([this, &vm] {
			guard([&] {
				while (!done) {
					for (uint32_t id : {KVM_IRQCHIP_PIC_MASTER, KVM_IRQCHIP_PIC_SLAVE,
							    KVM_IRQCHIP_IOAPIC}) {
						kvm_irqchip chip{};
						chip.chip_id = id;
						ioctl_or_throw(vm.fd(), KVM_GET_IRQCHIP, "KVM_GET_IRQCHIP", &chip);
					}
					ops++;
					pause();
				}
			});
		});
	}
	void stop()
	{
		done = true;
		for (auto &t : threads)
			t.join();
		threads.clear();
	}
	~Injectors() { stop(); }
};

// Whether every source the stress case requires has been delivered at
// least once (the counts, read in guest memory while the vCPUs run).
bool every_source_seen(Vm &vm)
{
	const volatile uint64_t(*c)[256] = vm.guest(&counts[0]);
	auto total = [&](int v) { return c[0][v] + c[1][v] + c[2][v]; };
	for (int i = 0; i < kVcpus; i++) {
		const int from = (i + kVcpus - 1) % kVcpus;
		if (!c[i][kVecTimer] || !c[i][kVecIpi + from] || !c[i][kVecMsi + i] || !c[i][2])
			return false;
	}
	for (int pin : kIoapicPins)
		if (!total(kVecIoapic + pin))
			return false;
	return total(kVecPic + 3) + total(kVecPic + 4) && total(kVecIrqfd) && total(kVecIrqfd + 1);
}

// Until every vCPU made its first ucall (at most 60 s).
void wait_ready(const std::atomic<int> &ready)
{
	for (int i = 0; i < 6000 && ready < kVcpus; i++)
		std::this_thread::sleep_for(std::chrono::milliseconds(10));
	EXPECT_EQ(ready.load(), kVcpus);
}

} // namespace

KVMX_TEST(stress)
{
	KmsgWatch kmsg;
	const auto &o = test::options();
	// The smoke run: 2 s, longer (up to 4 s) while a source the checks
	// below want has not come yet; --seconds N: N s.
	const uint64_t seconds = o.seconds ? o.seconds : 4;
	const uint64_t enough = o.seconds ? o.seconds : 2;
	const uint64_t seed = o.seed_given ? o.seed : 1;
	test::diag("seed " + std::to_string(seed) + ", " + std::to_string(enough) + "-" +
		   std::to_string(seconds) + " s, " + std::to_string(kVcpus) + " vCPUs");
	Vm vm;
	guest_setup(vm);
	Injectors inj;
	std::atomic<int> running{kVcpus};
	std::atomic<uint64_t> syncs{0}, lapic_reads{0};
	std::atomic<int> ready{0};
	std::vector<std::thread> vcpu_threads;
	std::mutex err_mu;
	std::exception_ptr err;
	const auto t0 = std::chrono::steady_clock::now();
	for (auto &v : vm.vcpus()) {
		Vcpu *vcpu = v.get();
		vcpu_threads.emplace_back([&, vcpu] {
			try {
				Watchdog wd(30);
				for (;;) {
					Ucall uc = bounded_ucall(*vcpu, wd);
					if (uc.cmd == UCALL_DONE)
						break;
					if (uc.args[0] == 0)
						ready++;	// its APIC, PIC and IOAPIC set up
					syncs++;
					// The vCPU's own state, between two runs.
					kvm_lapic_state s{};
					ioctl_or_throw(vcpu->fd(), KVM_GET_LAPIC, "KVM_GET_LAPIC", &s);
					(void)vcpu->mp_state();
					lapic_reads++;
				}
			} catch (...) {
				std::lock_guard<std::mutex> g(err_mu);
				if (!err)
					err = std::current_exception();
			}
			running--;
		});
	}
	// Injection starts once the guest has set its chips up: the PIC's
	// reset state would turn IRQ 3 into vector 3.
	wait_ready(ready);
	inj.start(vm, seed);
	while (std::chrono::steady_clock::now() - t0 < std::chrono::seconds(seconds) && running == kVcpus &&
	       !inj.done) {
		if (std::chrono::steady_clock::now() - t0 >= std::chrono::seconds(enough) &&
		    every_source_seen(vm))
			break;
		std::this_thread::sleep_for(std::chrono::milliseconds(100));
	}
	inj.stop();
	// Stop: the flag, then an MSI to each vCPU until all have ended.
	*vm.guest(const_cast<uint64_t *>(&stop)) = 1;
	for (int i = 0; running > 0 && i < 3000; i++) {
		for (uint32_t d = 0; d < kVcpus; d++) {
			kvm_msi msi{};
			msi.address_lo = uint32_t(kApic) | d << 12;
			msi.data = kVecWake;
			ioctl_or_throw(vm.fd(), KVM_SIGNAL_MSI, "KVM_SIGNAL_MSI", &msi);
		}
		std::this_thread::sleep_for(std::chrono::milliseconds(10));
	}
	for (auto &t : vcpu_threads)
		t.join();
	if (err)
		std::rethrow_exception(err);
	if (inj.error)
		std::rethrow_exception(inj.error);
	const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

	// The counts.
	std::map<int, uint64_t> got;
	const volatile uint64_t(*c)[256] = vm.guest(&counts[0]);
	for (int i = 0; i < kVcpus; i++)
		for (int v = 0; v < 256; v++)
			if (c[i][v])
				got[v] += c[i][v];
	std::string summary;
	for (const auto &[v, n] : got)
		summary += " " + std::to_string(v) + ":" + std::to_string(n);
	test::diag("delivered (vector:count):" + summary);
	test::diag(std::to_string(inj.ops.load()) + " host operations, " + std::to_string(syncs.load()) +
		   " ucalls, " + std::to_string(lapic_reads.load()) + " KVM_GET_LAPIC, " +
		   std::to_string(secs) + " s");
	const volatile uint64_t *sent_ipis = vm.guest(&ipis_sent[0]);
	for (int i = 0; i < kVcpus; i++) {
		const int from = (i + kVcpus - 1) % kVcpus;
		// Each vCPU: its timer, the IPIs of the one before it, its MSIs.
		EXPECT_TRUE(c[i][kVecTimer] >= 1);
		EXPECT_TRUE(c[i][kVecIpi + from] >= 1);
		EXPECT_TRUE(c[i][kVecIpi + from] <= sent_ipis[from]);
		EXPECT_TRUE(c[i][kVecMsi + i] >= 1);
		EXPECT_TRUE(c[i][kVecMsi + i] <= inj.sent.by_vector[kVecMsi + i]);
		// NMIs: at least one, never more than sent (they may coalesce).
		EXPECT_TRUE(c[i][2] >= 1);
		EXPECT_TRUE(c[i][2] <= inj.sent.by_vector[0x100 + i]);
	}
	// Every source at least once, never more than sent.
	for (int irq : kPicIrqs) {
		EXPECT_TRUE(got[kVecPic + irq] <= inj.sent.by_vector[kVecPic + irq]);
		EXPECT_EQ(c[1][kVecPic + irq] + c[2][kVecPic + irq], 0u);	// ExtINT: vCPU 0 only
	}
	EXPECT_TRUE(got[kVecPic + 3] + got[kVecPic + 4] >= 1);
	for (int pin : kIoapicPins) {
		EXPECT_TRUE(got[kVecIoapic + pin] >= 1);
		EXPECT_TRUE(got[kVecIoapic + pin] <= inj.sent.by_vector[kVecIoapic + pin]);
		EXPECT_EQ(got[kVecIoapic + pin], c[pin % kVcpus][kVecIoapic + pin]);
	}
	for (int k = 0; k < 3; k++)
		EXPECT_TRUE(got[kVecIrqfd + k] <= inj.sent.by_vector[kVecIrqfd + k]);
	EXPECT_TRUE(got[kVecIrqfd] >= 1);
	EXPECT_TRUE(got[kVecIrqfd + 1] >= 1);
	EXPECT_EQ(c[0][kVecIrqfd], 0u);		// GSI 100 goes to vCPU 1 or 2
	// No vector the test never used.
	for (const auto &[v, n] : got) {
		const bool used = (v >= kVecPic + 3 && v <= kVecPic + 4) ||
				  (v >= kVecIoapic + 10 && v <= kVecIoapic + 13) ||
				  (v >= kVecMsi && v < kVecMsi + kVcpus) ||
				  (v >= kVecIpi && v < kVecIpi + kVcpus) ||
				  (v >= kVecIrqfd && v <= kVecIrqfd + 2) || v == kVecTimer ||
				  v == kVecWake || v == 2;
		EXPECT_TRUE(used);
		if (!used)
			test::diag("unexpected vector " + std::to_string(v));
	}
	EXPECT_EQ(kmsg.first_splat(), std::string());
}

// The VM destroyed in the middle of it: vCPUs halted in the kernel with
// their timers armed and IPIs pending, irqfds registered, one eventfd
// still written by a thread while the VM goes.
KVMX_TEST(destroy_mid_activity)
{
	const auto before = test::try_objects();
	KmsgWatch kmsg;
	Fd late = Fd::eventfd();
	std::atomic<bool> writing{true};
	std::thread writer;
	{
		Vm vm;
		guest_setup(vm);
		Injectors inj;
		ASSERT_EQ(irqfd(vm, late, 102, false), 0);
		writer = std::thread([&] {
			uint64_t one = 1;
			while (writing) {
				(void)!write(late.get(), &one, 8);
				std::this_thread::sleep_for(std::chrono::microseconds(200));
			}
		});
		std::atomic<bool> leave{false};
		std::vector<std::thread> vcpu_threads;
		std::vector<pthread_t> handles(kVcpus);
		std::atomic<int> started{0}, alive{0}, ready{0};
		for (auto &v : vm.vcpus()) {
			Vcpu *vcpu = v.get();
			vcpu_threads.emplace_back([&, vcpu] {
				handles[vcpu->id()] = pthread_self();
				struct sigaction sa {};
				sa.sa_handler = [](int) {};
				sigaction(SIGUSR2, &sa, nullptr);
				alive++;
				started++;
				// Until told to leave and a signal found the vCPU asleep in
				// HLT (at most 300 tries): then KVM_RUN is not called again.
				for (int tries = 0; tries < 300;) {
					int r = vcpu->run_raw();
					if (r < 0 && r != -EINTR)
						break;
					Ucall uc = r ? Ucall{} : vcpu->get_ucall();
					if (uc.cmd == UCALL_SYNC && uc.args[0] == 0)
						ready++;
					if (!leave)
						continue;
					tries++;
					if (r == -EINTR && vcpu->mp_state() == KVM_MP_STATE_HALTED)
						break;
				}
				alive--;
			});
		}
		wait_ready(ready);
		inj.start(vm, 7);
		// The activity under way: every vCPU has taken an MSI of the
		// injectors and a timer interrupt, and the injectors made a
		// thousand operations (at most 3 s).
		const volatile uint64_t(*c)[256] = vm.guest(&counts[0]);
		auto active = [&] {
			for (int i = 0; i < kVcpus; i++)
				if (!c[i][kVecMsi + i] || !c[i][kVecTimer])
					return false;
			return inj.ops >= 1000;
		};
		const auto t0 = std::chrono::steady_clock::now();
		while (!active() && !inj.done &&
		       std::chrono::steady_clock::now() - t0 < std::chrono::seconds(3))
			std::this_thread::sleep_for(std::chrono::milliseconds(20));
		test::diag("destroyed after " + std::to_string(inj.ops.load()) + " host operations");
		// The injectors stop first (their irqfds stay registered, and the
		// late eventfd is still written): under their load kvm_intel's
		// vCPUs were seldom found asleep.
		inj.stop();
		*vm.guest(const_cast<uint64_t *>(&park)) = 1;
		leave = true;
		// A signal ends KVM_RUN (a thread that left ignores the rest).
		while (alive > 0) {
			for (pthread_t h : handles)
				pthread_kill(h, SIGUSR2);
			std::this_thread::sleep_for(std::chrono::milliseconds(10));
		}
		for (auto &t : vcpu_threads)
			t.join();
		if (inj.error)
			std::rethrow_exception(inj.error);
		if (before) {
			const auto mid = test::try_objects();
			EXPECT_EQ(mid->at("irqfds"), before->at("irqfds") + 3);
			EXPECT_EQ(mid->at("lapics"), before->at("lapics") + kVcpus);
		}
		int halted = 0;
		for (auto &v : vm.vcpus())
			halted += v->mp_state() == KVM_MP_STATE_HALTED;
		test::diag(std::to_string(halted) + " of " + std::to_string(kVcpus) +
			   " vCPUs halted at the destruction");
		EXPECT_TRUE(halted >= 1);
	}
	// The VM is gone while the eventfd is still being written.
	std::this_thread::sleep_for(std::chrono::milliseconds(100));
	writing = false;
	writer.join();
	if (before) {
		auto after = test::try_objects();
		for (int i = 0; i < 50 && after->at("irqfds") != before->at("irqfds"); i++) {
			std::this_thread::sleep_for(std::chrono::milliseconds(100));
			after = test::try_objects();
		}
		for (const auto &[k, v] : *before)
			EXPECT_EQ(after->at(k), v);
	}
	EXPECT_EQ(kmsg.first_splat(), std::string());
}
