// SPDX-License-Identifier: GPL-2.0
// Memslot/MMIO race stress (issue 12, seeds 001 and 002).
//
// Several vCPUs read and write a window of gfns in a loop while another
// thread creates, deletes, moves and re-flags (read-only, dirty logging)
// memslots over the same gfns, thousands of times.  The guarantee under
// test: once KVM_SET_USER_MEMORY_REGION returns, no vCPU reaches RAM that
// is gone and none treats as MMIO a gfn that is now backed.
//
// The protocol that makes a stale answer visible:
//
//  - The host publishes, in guest RAM, one state word per gfn of the
//    window: {epoch, RAM | ROM | MMIO | changing}.  The memslot thread is
//    its only writer.  Before an update (one ioctl, epoch E) it records the
//    layout E will give each gfn it touches, sets those gfns to
//    {E, changing}, makes the ioctl, and only after it returns sets them to
//    {E, what they are now}.
//  - Each guest access reads the gfn's state before (s1) and after (s2)
//    the access and logs {seq, gfn, op, s1, s2, value}.  A write stores a
//    value that names the vCPU and the seq, in a word of its own; a read
//    loads word 0 of the page, which names the slot and page it belongs to
//    (the host fills it in), or the answer the host gave to an MMIO exit.
//  - Every GUEST_SYNC (a batch of accesses) the host checks each access
//    against the layouts the gfn had from s1 to s2 (one layout when
//    s1 == s2 is stable): an MMIO exit is right only if one of them was
//    MMIO (or, for a write, a read-only slot); a read from RAM only if one
//    of them had that very page there; a write that did not exit must be
//    found in the memory of a writable page one of them had there.
//    Anything else is a stale answer, and every exit must belong to an
//    access.
//
// Knobs (environment): KVMX_RACE_UPDATES memslot updates per case
// (default 400 on kvmx, 300 on the reference KVM), KVMX_RACE_SEED the
// memslot thread's random seed (default: --seed, else from the clock,
// printed), KVMX_RACE_VCPUS (1-4, default 3).  A long run (--seconds N,
// KVMX_SECONDS: `make fuzz-host`) updates until N seconds are over, split
// evenly between the cases of the phase (one on the reference KVM, three
// on kvmx), unless KVMX_RACE_UPDATES is given.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <linux/kvmx.h>
#include <mutex>
#include <random>
#include <sched.h>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "lib/kvmx_module.h"
#include "lib/stats.h"
#include "lib/sys.h"
#include "lib/test.h"
#include "lib/vm.h"

using namespace kvmx;

namespace {

constexpr int kMaxVcpus = 4;
constexpr uint64_t kPage = 4096;
constexpr uint64_t kWinGpa = 1 * GiB;
constexpr uint32_t kWinPages = 16;
constexpr int kBatch = 64;
// Each vCPU writes word 1 + v * kWords + seq % kWords of a page: no two
// writes of one batch share a word, so all of a batch can be checked.
constexpr uint64_t kWords = (kPage / 8 - 1) / kMaxVcpus;
static_assert(kBatch <= static_cast<int>(kWords));

// State words: epoch << 2 | kind.
enum Kind : uint64_t { kChanging = 0, kRam = 1, kRom = 2, kMmio = 3 };
constexpr uint64_t state_of(uint64_t epoch, Kind k) { return epoch << 2 | k; }
constexpr uint64_t epoch_of(uint64_t s) { return s >> 2; }
constexpr Kind kind_of(uint64_t s) { return static_cast<Kind>(s & 3); }

// Values in guest memory and MMIO data, told apart by their top byte.
constexpr uint64_t kWriteTag = 0xa5ULL << 56; // | vcpu << 48 | seq
constexpr uint64_t kPageTag = 0x1dULL << 56;  // | slot << 16 | page
constexpr uint64_t kMmioTag = 0x3cULL << 56;  // | vcpu << 48 | exit number
constexpr uint64_t kTagMask = 0xffULL << 56;
constexpr uint64_t write_value(uint64_t vcpu, uint64_t seq) { return kWriteTag | vcpu << 48 | seq; }
constexpr uint64_t write_word(uint64_t vcpu, uint64_t seq) { return 1 + vcpu * kWords + seq % kWords; }

struct Record {
	uint64_t seq;
	uint32_t gfn; // index in the window
	uint32_t is_write;
	uint64_t s1, s2;
	uint64_t value; // written, or read
};

// Guest memory (memslot 0), shared with the host.
volatile uint64_t g_state[kWinPages];
Record g_log[kMaxVcpus][kBatch];
volatile uint64_t g_stop;

void guest_race(uint64_t id, uint64_t seed)
{
	uint64_t rng = seed | 1;
	uint64_t seq = 1;
	for (;;) {
		for (int i = 0; i < kBatch; i++, seq++) {
			rng ^= rng << 13;
			rng ^= rng >> 7;
			rng ^= rng << 17;
			const uint32_t gfn = static_cast<uint32_t>(rng % kWinPages);
			const bool is_write = (rng >> 32) & 1;
			const uint64_t page = kWinGpa + gfn * kPage;
			const uint64_t s1 = g_state[gfn];
			uint64_t value;
			if (is_write) {
				value = write_value(id, seq);
				*reinterpret_cast<volatile uint64_t *>(page + 8 * write_word(id, seq)) =
					value;
				// The store is visible before s2 is read.
				asm volatile("mfence" ::: "memory");
			} else {
				value = *reinterpret_cast<volatile uint64_t *>(page);
				asm volatile("lfence" ::: "memory");
			}
			const uint64_t s2 = g_state[gfn];
			Record &r = g_log[id][i];
			r.seq = seq;
			r.gfn = gfn;
			r.is_write = is_write;
			r.s1 = s1;
			r.s2 = s2;
			r.value = value;
		}
		GUEST_SYNC(seq - 1);
		if (g_stop)
			break;
	}
	GUEST_DONE();
}

uint64_t env_u64(const char *name, uint64_t def)
{
	const char *v = std::getenv(name);
	if (!v || !*v)
		return def;
	char *end = nullptr;
	uint64_t n = std::strtoull(v, &end, 0);
	if (*end)
		throw std::runtime_error(std::string(name) + "=" + v + ": not a number");
	return n;
}

std::string hex(uint64_t v)
{
	std::ostringstream os;
	os << "0x" << std::hex << v;
	return os.str();
}

// What one gfn of the window is in one layout: MMIO, or page @page of slot
// @slot (read-only or not).
struct Place {
	Kind kind = kMmio;
	uint32_t slot = 0, page = 0;
	bool operator==(const Place &) const = default;
};

std::string describe(const Place &p)
{
	if (p.kind == kMmio)
		return "MMIO";
	return std::string(p.kind == kRom ? "read-only " : "") + "slot " + std::to_string(p.slot) +
	       " page " + std::to_string(p.page);
}

// The window's memslots, their memory, and every layout each gfn had.
class Window {
public:
	struct Slot {
		uint32_t id, pages;
		Mapping mem;
		bool present = false;
		uint32_t first = 0; // gfn index of page 0
		uint32_t flags = 0;
	};

	// Per gfn, the layouts of the last kHistory updates that touched it.
	static constexpr size_t kHistory = 1 << 14;

	explicit Window(const Fd &vm, volatile uint64_t *state) : vm_(vm), state_(state)
	{
		const uint32_t sizes[] = {1, 1, 2, 3, 4};
		uint32_t id = 1;
		for (uint32_t pages : sizes) {
			Slot s{id++, pages, Mapping::anonymous(pages * kPage)};
			for (uint32_t p = 0; p < pages; p++)
				word(s, p, 0) = kPageTag | uint64_t(s.id) << 16 | p;
			slots_.push_back(std::move(s));
		}
		for (uint32_t g = 0; g < kWinPages; g++) {
			hist_[g].resize(kHistory);
			hist_[g][0] = {0, Place{}};
			len_[g] = 1;
			publish(g, state_of(0, kMmio));
		}
	}

	uint64_t &word(const Slot &s, uint32_t page, uint64_t w) const
	{
		return s.mem.as<uint64_t>()[page * (kPage / 8) + w];
	}
	const Slot &slot(uint32_t id) const { return slots_.at(id - 1); }

	// The layouts gfn @g had from state @s1 to state @s2 (see the top).
	// Empty (and @why set) if the history no longer reaches back that far.
	std::vector<Place> places(uint32_t g, uint64_t s1, uint64_t s2, std::string &why)
	{
		std::lock_guard<std::mutex> lock(mu_);
		const uint64_t lo = kind_of(s1) == kChanging ? epoch_of(s1) - 1 : epoch_of(s1);
		const uint64_t hi = epoch_of(s2);
		const uint64_t n = len_[g];
		const uint64_t first = n > kHistory ? n - kHistory : 0;
		std::vector<Place> out;
		// The entries are in epoch order: take the last one at or before
		// lo, and every one after it up to hi.
		uint64_t i = n;
		while (i > first && hist_[g][(i - 1) % kHistory].epoch > lo)
			i--;
		if (i == first) {
			why = "history of gfn " + std::to_string(g) + " overrun (epoch " +
			      std::to_string(lo) + ")";
			return out;
		}
		for (i--; i < n && hist_[g][i % kHistory].epoch <= hi; i++)
			out.push_back(hist_[g][i % kHistory].place);
		return out;
	}

	// One random update (or KVM_GET_DIRTY_LOG); nothing if the chosen
	// operation is not possible.  Only updates move epoch().
	bool random_update(std::mt19937_64 &rng, uint64_t counts[])
	{
		Slot &s = slots_[rng() % slots_.size()];
		const unsigned op = rng() % 8;
		if (!s.present) {
			std::vector<uint32_t> at = free_places(s, s.id);
			if (at.empty())
				return false;
			uint32_t flags = 0;
			if (rng() % 4 == 0)
				flags |= KVM_MEM_READONLY;
			if (rng() % 4 == 0)
				flags |= KVM_MEM_LOG_DIRTY_PAGES;
			update(s, true, at[rng() % at.size()], flags);
			counts[0]++;
			return true;
		}
		if (op < 2) { // delete
			update(s, false, s.first, s.flags);
			counts[1]++;
		} else if (op < 5) { // move
			std::vector<uint32_t> at = free_places(s, s.id);
			at.erase(std::remove(at.begin(), at.end(), s.first), at.end());
			if (at.empty())
				return false;
			update(s, true, at[rng() % at.size()], s.flags);
			counts[2]++;
		} else if (op < 7) { // dirty logging on or off
			update(s, true, s.first, s.flags ^ KVM_MEM_LOG_DIRTY_PAGES);
			counts[3]++;
		} else { // harvest the dirty log: write-protects under the vCPUs
			if (!(s.flags & KVM_MEM_LOG_DIRTY_PAGES))
				return false;
			std::vector<uint64_t> bits(1);
			kvm_dirty_log log{};
			log.slot = s.id;
			log.dirty_bitmap = bits.data();
			ioctl_or_throw(vm_, KVM_GET_DIRTY_LOG, "KVM_GET_DIRTY_LOG", &log);
			counts[4]++;
			return true;
		}
		return true;
	}

	[[nodiscard]] uint64_t epoch() const { return epoch_; }

private:
	struct Entry {
		uint64_t epoch;
		Place place;
	};

	void publish(uint32_t g, uint64_t state)
	{
		std::atomic_ref<uint64_t>(const_cast<uint64_t &>(state_[g]))
			.store(state, std::memory_order_release);
	}

	// Where @s (of @id) may go: starts whose pages no other slot covers.
	std::vector<uint32_t> free_places(const Slot &s, uint32_t id) const
	{
		std::vector<uint32_t> out;
		for (uint32_t at = 0; at + s.pages <= kWinPages; at++) {
			bool free = true;
			for (const Slot &o : slots_)
				if (o.id != id && o.present && at < o.first + o.pages &&
				    o.first < at + s.pages)
					free = false;
			if (free)
				out.push_back(at);
		}
		return out;
	}

	// Slot @s becomes present at @first with @flags, or goes away.
	void update(Slot &s, bool present, uint32_t first, uint32_t flags)
	{
		const uint64_t e = ++epoch_;
		std::vector<uint32_t> touched;
		for (uint32_t p = 0; s.present && p < s.pages; p++)
			touched.push_back(s.first + p);
		for (uint32_t p = 0; present && p < s.pages; p++)
			touched.push_back(first + p);
		std::sort(touched.begin(), touched.end());
		touched.erase(std::unique(touched.begin(), touched.end()), touched.end());

		std::vector<Place> after(touched.size());
		for (size_t i = 0; i < touched.size(); i++) {
			const uint32_t g = touched[i];
			if (present && g >= first && g < first + s.pages)
				after[i] = {(flags & KVM_MEM_READONLY) ? kRom : kRam, s.id, g - first};
		}
		{
			std::lock_guard<std::mutex> lock(mu_);
			for (size_t i = 0; i < touched.size(); i++) {
				const uint32_t g = touched[i];
				hist_[g][len_[g] % kHistory] = {e, after[i]};
				len_[g]++;
			}
		}
		for (uint32_t g : touched)
			publish(g, state_of(e, kChanging));

		kvm_userspace_memory_region r{};
		r.slot = s.id;
		r.flags = flags;
		r.guest_phys_addr = kWinGpa + first * kPage;
		r.memory_size = present ? s.pages * kPage : 0;
		r.userspace_addr = reinterpret_cast<uint64_t>(s.mem.get());
		ioctl_or_throw(vm_, KVM_SET_USER_MEMORY_REGION, "KVM_SET_USER_MEMORY_REGION", &r);
		s.present = present;
		s.first = first;
		s.flags = present ? flags : 0;

		for (size_t i = 0; i < touched.size(); i++)
			publish(touched[i], state_of(e, after[i].kind));
	}

	const Fd &vm_;
	volatile uint64_t *state_;
	std::vector<Slot> slots_;
	uint64_t epoch_ = 0;
	std::mutex mu_; // protects hist_ and len_ (written by the memslot thread)
	std::vector<Entry> hist_[kWinPages];
	uint64_t len_[kWinPages];
};

// Totals over the vCPU threads.
struct Totals {
	std::atomic<uint64_t> accesses{0}, reads{0}, writes{0}, mmio_read_exits{0},
		mmio_write_exits{0}, ram_reads{0}, ram_writes{0}, checks{0}, stable{0}, stale{0};
};

// One MMIO exit, as the host saw it.
struct Exit {
	bool is_write;
	uint64_t gpa;
	uint64_t data; // written, or the answer given
	bool used = false;
};

class VcpuChecker {
public:
	VcpuChecker(Window &win, Totals &t, uint32_t id) : win_(win), t_(t), id_(id) {}

	// An MMIO exit of this vCPU; fills in the answer of a read.
	void on_mmio(kvm_run &run)
	{
		Exit x{static_cast<bool>(run.mmio.is_write), run.mmio.phys_addr, 0};
		if (run.mmio.len != 8 || x.gpa < kWinGpa || x.gpa >= kWinGpa + kWinPages * kPage) {
			stale("MMIO exit outside the window or not 8 bytes: gpa " + hex(x.gpa) +
			      " len " + std::to_string(run.mmio.len));
			return;
		}
		if (x.is_write) {
			std::memcpy(&x.data, run.mmio.data, 8);
			t_.mmio_write_exits++;
		} else {
			x.data = kMmioTag | uint64_t(id_) << 48 | ++answers_;
			std::memcpy(run.mmio.data, &x.data, 8);
			t_.mmio_read_exits++;
		}
		exits_.push_back(x);
	}

	// A batch is complete: check each of its accesses.
	void on_sync(const Record *log)
	{
		for (int i = 0; i < kBatch; i++)
			check(log[i]);
		for (const Exit &x : exits_)
			if (!x.used)
				stale(std::string("MMIO ") + (x.is_write ? "write" : "read") +
				      " exit at " + hex(x.gpa) + " data " + hex(x.data) +
				      " belongs to no access");
		exits_.clear();
	}

private:
	void stale(const std::string &what)
	{
		if (t_.stale++ < 10)
			test::fail(__FILE__, __LINE__, "vCPU " + std::to_string(id_) + ": " + what);
	}

	Exit *find_exit(bool is_write, uint64_t data)
	{
		for (Exit &x : exits_)
			if (!x.used && x.is_write == is_write && x.data == data)
				return &x;
		return nullptr;
	}

	void check(const Record &r)
	{
		const std::string what = std::string(r.is_write ? "write" : "read") + " seq " +
					 std::to_string(r.seq) + " gfn " + std::to_string(r.gfn) +
					 " states " + hex(r.s1) + ".." + hex(r.s2) + ": ";
		t_.accesses++;
		(r.is_write ? t_.writes : t_.reads)++;
		if (r.seq != ++seq_ || r.gfn >= kWinPages || epoch_of(r.s1) > epoch_of(r.s2)) {
			// A guest register that lost its value reads like this
			// (s1 is kept in an XMM register across the access).
			stale(what + "impossible log entry (expected seq " + std::to_string(seq_) +
			      ", s1 no later than s2): guest registers corrupted?");
			seq_ = r.seq;
			return;
		}
		std::string why;
		const std::vector<Place> places = win_.places(r.gfn, r.s1, r.s2, why);
		if (places.empty()) {
			stale(what + why);
			return;
		}
		t_.checks++;
		if (r.s1 == r.s2 && kind_of(r.s1) != kChanging)
			t_.stable++;
		auto any = [&](auto pred) { return std::any_of(places.begin(), places.end(), pred); };
		std::string seen;
		for (const Place &p : places)
			seen += (seen.empty() ? "" : ", ") + describe(p);
		const uint64_t gpa = kWinGpa + r.gfn * kPage;

		if (!r.is_write) {
			if ((r.value & kTagMask) == kMmioTag) {
				Exit *x = find_exit(false, r.value);
				if (!x) {
					stale(what + "read " + hex(r.value) + " that no exit answered");
					return;
				}
				x->used = true;
				if (x->gpa != gpa)
					stale(what + "MMIO read exit at " + hex(x->gpa) + ", not " + hex(gpa));
				if (!any([](const Place &p) { return p.kind == kMmio; }))
					stale(what + "MMIO read exit, but the gfn was " + seen);
				return;
			}
			t_.ram_reads++;
			if (!any([&](const Place &p) {
				    return p.kind != kMmio &&
					   r.value == (kPageTag | uint64_t(p.slot) << 16 | p.page);
			    }))
				stale(what + "read " + hex(r.value) + " from RAM, but the gfn was " + seen);
			return;
		}

		const uint64_t v = write_value(id_, r.seq);
		const uint64_t w = write_word(id_, r.seq);
		if (r.value != v) {
			stale(what + "logged value " + hex(r.value) + ", not " + hex(v));
			return;
		}
		auto landed = [&](const Place &p) {
			return p.kind != kMmio &&
			       std::atomic_ref<uint64_t>(win_.word(win_.slot(p.slot), p.page, w))
					       .load(std::memory_order_relaxed) == v;
		};
		Exit *x = find_exit(true, v);
		if (x) {
			x->used = true;
			if (x->gpa != gpa + 8 * w)
				stale(what + "MMIO write exit at " + hex(x->gpa) + ", not " + hex(gpa + 8 * w));
			if (!any([](const Place &p) { return p.kind != kRam; }))
				stale(what + "MMIO write exit, but the gfn was " + seen);
			if (any(landed))
				stale(what + "exited to user space and reached RAM too");
			return;
		}
		t_.ram_writes++;
		if (!any([&](const Place &p) { return p.kind == kRam && landed(p); }))
			stale(what + "neither exited nor reached the memory of " + seen);
	}

	Window &win_;
	Totals &t_;
	uint32_t id_;
	uint64_t seq_ = 0, answers_ = 0;
	std::vector<Exit> exits_;
};

std::string vcpu_exit_text(Vcpu &vcpu, uint32_t reason)
{
	Ucall uc = vcpu.get_ucall();
	std::string what = "vCPU " + std::to_string(vcpu.id()) + ": exit " + exit_reason_name(reason);
	if (uc.cmd == UCALL_ABORT)
		what += ", guest assertion at line " + std::to_string(uc.line);
	else if (uc.cmd == UCALL_UNHANDLED)
		what += ", guest exception vector " + std::to_string(uc.args[0]) + " at " +
			hex(uc.args[2]);
	else if (uc.cmd != UCALL_NONE)
		what += ", ucall " + std::to_string(uc.cmd);
	return what + ", RIP " + hex(vcpu.regs().rip);
}

// The stress.  @gen_bits: kvmx's mmio_gen_bits, for the count of zaps.
void race(unsigned gen_bits, const std::function<void(const Fd &)> &setup = nullptr)
{
	// Bounded for the emulated test host, where kvm_intel's updates cost
	// ~6 ms of emulated time each (it zaps every root) and kvmx's far less.
	const test::Options &opt = test::options();
	const bool timed = opt.seconds && !std::getenv("KVMX_RACE_UPDATES");
	const uint64_t seconds = opt.seconds / (opt.testing_kvmx() ? 3 : 1);
	const uint64_t updates = timed ? ~0ULL :
		env_u64("KVMX_RACE_UPDATES", opt.testing_kvmx() ? 400 : 300);
	const uint64_t nvcpus = env_u64("KVMX_RACE_VCPUS", 3);
	const uint64_t seed = env_u64(
		"KVMX_RACE_SEED",
		opt.seed_given ? opt.seed :
		static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()));
	if (nvcpus < 1 || nvcpus > kMaxVcpus)
		throw std::runtime_error("KVMX_RACE_VCPUS must be 1-4");
	test::diag((timed ? "for " + std::to_string(seconds) + " s" :
			    "updates " + std::to_string(updates)) +
		   ", vCPUs " + std::to_string(nvcpus) + ", seed " + std::to_string(seed) +
		   " (KVMX_RACE_UPDATES, _VCPUS, _SEED)");

	KmsgWatch kmsg;
	Vm vm;
	if (setup)
		setup(vm.fd());
	volatile uint64_t *state = vm.guest(&g_state[0]);
	Record *logs = vm.guest(&g_log[0][0]);
	volatile uint64_t *stop = vm.guest(&g_stop);
	Window win(vm.fd(), state);
	*stop = 0;
	for (uint64_t i = 0; i < nvcpus; i++) {
		Vcpu &v = vm.add_vcpu(guest_race);
		v.set_args({i, seed + 0x9e3779b97f4a7c15ULL * (i + 1)});
	}
	std::unique_ptr<StatsReader> vm_stats;
	uint64_t gen0 = 0, zaps0 = 0;
	if (test::options().testing_kvmx()) {
		vm_stats = std::make_unique<StatsReader>(StatsReader::of(vm.fd()));
		gen0 = vm_stats->value("memslot_generation");
		zaps0 = vm_stats->value("mmio_zap_all");
	}

	Totals t;
	std::atomic<bool> done{false};
	std::atomic<uint64_t> batches{0};
	// The host CPUs each side ran on: with more than one CPU they race
	// for real, not only by preemption.
	std::atomic<uint64_t> vcpu_cpus{0}, updater_cpus{0};
	auto note_cpu = [](std::atomic<uint64_t> &mask) {
		const int cpu = sched_getcpu();
		if (cpu >= 0 && cpu < 64)
			mask |= 1ULL << cpu;
	};
	uint64_t counts[5] = {};
	std::mutex fail_mu;
	std::string thread_error;
	auto note_error = [&](const std::string &e) {
		std::lock_guard<std::mutex> lock(fail_mu);
		if (thread_error.empty())
			thread_error = e;
		done = true;
	};

	const auto start = std::chrono::steady_clock::now();
	const auto deadline = start + std::chrono::seconds(seconds);
	std::thread updater([&] {
		try {
			std::mt19937_64 rng(seed);
			auto last_report = std::chrono::steady_clock::now();
			// Every vCPU is running before the first update.
			while (batches.load() < nvcpus && !done.load())
				std::this_thread::yield();
			while (win.epoch() < updates && !done.load()) {
				const auto now = std::chrono::steady_clock::now();
				if (timed && now >= deadline)
					break;
				// A long run's progress: it keeps the runner's
				// stall watchdog quiet.
				if (timed && now - last_report > std::chrono::seconds(10)) {
					last_report = now;
					test::diag("progress: updates " + std::to_string(win.epoch()) +
						   ", accesses " + std::to_string(t.accesses.load()) +
						   ", stale answers " + std::to_string(t.stale.load()));
				}
				const uint64_t e = win.epoch();
				win.random_update(rng, counts);
				note_cpu(updater_cpus);
				if (win.epoch() == e || rng() % 2)
					continue;
				// Half the updates come back to back; after the
				// others the vCPUs get a batch's time with the new
				// layout, to make MMIO SPTEs and use them (none is
				// made while an update is in progress).
				const uint64_t b = batches.load();
				while (batches.load() == b && !done.load())
					std::this_thread::sleep_for(std::chrono::microseconds(100));
			}
		} catch (const std::exception &e) {
			note_error(std::string("memslot thread: ") + e.what());
		}
		done = true;
	});
	std::vector<std::thread> threads;
	for (auto &vp : vm.vcpus()) {
		Vcpu *vcpu = vp.get();
		threads.emplace_back([&, vcpu] {
			try {
				VcpuChecker checker(win, t, vcpu->id());
				for (;;) {
					const uint32_t reason = vcpu->run();
					if (reason == KVM_EXIT_MMIO) {
						checker.on_mmio(vcpu->run_area());
						continue;
					}
					const Ucall uc = vcpu->get_ucall();
					if (uc.cmd == UCALL_SYNC) {
						checker.on_sync(logs + vcpu->id() * kBatch);
						note_cpu(vcpu_cpus);
						batches++;
						if (done.load())
							*stop = 1;
						continue;
					}
					if (uc.cmd == UCALL_DONE)
						break;
					note_error(vcpu_exit_text(*vcpu, reason));
					break;
				}
			} catch (const std::exception &e) {
				note_error("vCPU " + std::to_string(vcpu->id()) + ": " + e.what());
			}
		});
	}
	for (std::thread &th : threads)
		th.join();
	updater.join();
	const double secs =
		std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

	if (!thread_error.empty())
		test::fail(__FILE__, __LINE__, thread_error);
	std::ostringstream os;
	os << "updates " << win.epoch() << " (create " << counts[0] << ", delete " << counts[1]
	   << ", move " << counts[2] << ", dirty-log flag " << counts[3] << "; dirty-log reads "
	   << counts[4] << "), accesses " << t.accesses << " (reads " << t.reads << ": RAM "
	   << t.ram_reads << ", MMIO exits " << t.mmio_read_exits << "; writes " << t.writes
	   << ": RAM " << t.ram_writes << ", MMIO exits " << t.mmio_write_exits << "), checks "
	   << t.checks << " (" << t.stable << " in a stable state), stale answers " << t.stale
	   << ", " << secs << " s; host CPUs: vCPU threads " << hex(vcpu_cpus)
	   << ", memslot thread " << hex(updater_cpus);
	test::diag(os.str());
	EXPECT_EQ(t.stale.load(), 0u);
	if (!timed)
		EXPECT_EQ(win.epoch(), updates);
	EXPECT_EQ(t.checks.load(), t.accesses.load());
	// Both worlds were exercised, in stable states too.
	EXPECT_TRUE(t.ram_reads > 0 && t.ram_writes > 0);
	EXPECT_TRUE(t.mmio_read_exits > 0 && t.mmio_write_exits > 0);
	EXPECT_TRUE(t.stable > 0);
	EXPECT_EQ(kmsg.first_splat(), std::string());

	if (vm_stats) {
		std::map<std::string, uint64_t> sum;
		for (auto &v : vm.vcpus())
			for (auto &[name, value] : StatsReader::of(v->fd()).values())
				sum[name] += value;
		const uint64_t gen1 = vm_stats->value("memslot_generation");
		const uint64_t zaps = vm_stats->value("mmio_zap_all") - zaps0;
		test::diag("kvmx: memslot generation " + std::to_string(gen0) + " -> " +
			   std::to_string(gen1) + ", mmio_zap_all " + std::to_string(zaps) +
			   ", mmio_fast " +
			   std::to_string(sum["mmio_fast"]) + ", mmio_slow " +
			   std::to_string(sum["mmio_slow"]) + ", mmio_spte_created " +
			   std::to_string(sum["mmio_spte_created"]) + ", mmio_spte_stale " +
			   std::to_string(sum["mmio_spte_stale"]));
		EXPECT_EQ(gen1 - gen0, win.epoch());
		// One zap for each new generation whose stored bits are 0.
		EXPECT_EQ(zaps, (gen1 >> gen_bits) - (gen0 >> gen_bits));
	}
}

} // namespace

// At the full generation width (19 bits, or KVM's own), both devices.
KVMX_TEST(full_generation)
{
	race(19);
}

// mmio_gen_bits=1: the stored generation wraps every second update, so
// every other update zaps all MMIO SPTEs while the vCPUs make new ones.
KVMX_TEST(tiny_generation)
{
	test::KvmxReloadGuard guard;
	ASSERT_EQ(guard.reload("mmio_gen_bits=1"), 0);
	race(1);
}

// The same with the not-present flavour (MMIO SPTEs found on EPT
// violations rather than misconfigurations).
KVMX_TEST(tiny_generation_not_present)
{
	test::KvmxReloadGuard guard;
	ASSERT_EQ(guard.reload("mmio_gen_bits=1"), 0);
	race(1, [](const Fd &vm) {
		kvm_enable_cap cap{};
		cap.cap = KVMX_CAP_MMIO_CACHING;
		cap.args[0] = KVMX_MMIO_CACHING_NOT_PRESENT;
		ioctl_or_throw(vm, KVM_ENABLE_CAP, "KVM_ENABLE_CAP(KVMX_CAP_MMIO_CACHING)", &cap);
	});
}
