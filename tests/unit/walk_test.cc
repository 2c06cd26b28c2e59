// SPDX-License-Identifier: GPL-2.0
// Unit tests for kvmx/mmu/walk.c, the guest page-table walker.
//
// GuestMem is a sparse fake guest-physical memory that serves the walker's
// callbacks; PageTables builds paging structures in it for each paging mode.

#include <algorithm>
#include <array>
#include <cstring>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

extern "C" {
#include "mmu/walk.h"
}

namespace {

constexpr u64 P = KVMX_PTE_P;
constexpr u64 RW = KVMX_PTE_RW;
constexpr u64 US = KVMX_PTE_US;
constexpr u64 A = KVMX_PTE_A;
constexpr u64 D = KVMX_PTE_D;
constexpr u64 PS = KVMX_PTE_PS;
constexpr u64 XD = KVMX_PTE_XD;

constexpr u32 kRead = 0;
constexpr u32 kWrite = KVMX_WALK_WRITE;
constexpr u32 kFetch = KVMX_WALK_FETCH;
constexpr u32 kImplicit = KVMX_WALK_IMPLICIT;

constexpr u32 EC_P = KVMX_PFERR_P;
constexpr u32 EC_W = KVMX_PFERR_W;
constexpr u32 EC_U = KVMX_PFERR_U;
constexpr u32 EC_RSVD = KVMX_PFERR_RSVD;
constexpr u32 EC_ID = KVMX_PFERR_ID;

constexpr u64 KiB4 = 1ULL << 12;
constexpr u64 MiB2 = 1ULL << 21;
constexpr u64 MiB4 = 1ULL << 22;
constexpr u64 GiB1 = 1ULL << 30;

constexpr u64 Bit(int n) { return 1ULL << n; }

// Sparse guest-physical memory made of 4 KiB pages; unbacked reads fail.
class GuestMem {
 public:
  using Pages = std::map<u64, std::array<u8, 4096>>;

  void AddPage(u64 gpa) { pages_[gpa >> 12].fill(0); }

  u64 Get(u64 gpa, unsigned size) const {
    u64 v = 0;
    auto it = pages_.find(gpa >> 12);
    if (it == pages_.end()) {
      ADD_FAILURE() << "unbacked get at " << std::hex << gpa;
      return 0;
    }
    std::memcpy(&v, it->second.data() + (gpa & 0xfff), size);
    return v;
  }

  void Set(u64 gpa, unsigned size, u64 v) {
    auto it = pages_.find(gpa >> 12);
    ASSERT_NE(it, pages_.end()) << "unbacked set at " << std::hex << gpa;
    std::memcpy(it->second.data() + (gpa & 0xfff), &v, size);
  }

  const Pages& pages() const { return pages_; }

  // Makes cmpxchg on this entry fail as if the memory were not RAM.
  void FailCmpxchgAt(u64 gpa) { bad_cmpxchg_.insert(gpa); }

  // Called before each cmpxchg compares: a concurrent guest writer.
  std::function<void(GuestMem&, u64 gpa)> before_cmpxchg;

  std::vector<u64> read_log;     // gpa of every read
  std::vector<u64> cmpxchg_log;  // gpa of every cmpxchg
  unsigned expected_size = 8;    // entry size the walker must use

  const kvmx_walk_ops* ops() const { return &kOps; }

 private:
  static bool CheckAccess(GuestMem* m, u64 gpa, unsigned size) {
    EXPECT_EQ(size, m->expected_size);
    EXPECT_EQ(gpa % size, 0u) << "misaligned entry access";
    return m->pages_.count(gpa >> 12) != 0;
  }

  static int ReadCb(void* ctx, u64 gpa, unsigned size, u64* val) {
    auto* m = static_cast<GuestMem*>(ctx);
    m->read_log.push_back(gpa);
    if (!CheckAccess(m, gpa, size))
      return -1;
    *val = m->Get(gpa, size);
    return 0;
  }

  static int CmpxchgCb(void* ctx, u64 gpa, unsigned size, u64 old_val,
                       u64 new_val) {
    auto* m = static_cast<GuestMem*>(ctx);
    m->cmpxchg_log.push_back(gpa);
    if (!CheckAccess(m, gpa, size) || m->bad_cmpxchg_.count(gpa))
      return -1;
    if (m->before_cmpxchg)
      m->before_cmpxchg(*m, gpa);
    if (m->Get(gpa, size) != old_val)
      return 1;
    m->Set(gpa, size, new_val);
    return 0;
  }

  static constexpr kvmx_walk_ops kOps = {ReadCb, CmpxchgCb};

  Pages pages_;
  std::set<u64> bad_cmpxchg_;
};

enum class Mode { k32, kPae, k4, k5 };

std::string ModeName(Mode m) {
  switch (m) {
    case Mode::k32: return "Paging32";
    case Mode::kPae: return "Pae";
    case Mode::k4: return "Level4";
    case Mode::k5: return "Level5";
  }
  return "?";
}

int TopLevel(Mode m) {
  switch (m) {
    case Mode::k32: return 2;
    case Mode::kPae: return 3;
    case Mode::k4: return 4;
    case Mode::k5: return 5;
  }
  return 0;
}

bool HasXd(Mode m) { return m != Mode::k32; }

// Builds paging structures for one mode in a GuestMem.  Tables are
// allocated from kTableBase upwards; mapped data pages need not exist.
class PageTables {
 public:
  static constexpr u64 kTableBase = 0x10000;

  PageTables(GuestMem& mem, Mode mode, u8 maxphyaddr = 46)
      : mem_(mem), mode_(mode), maxphyaddr_(maxphyaddr) {
    mem_.expected_size = EntrySize();
    root_ = Alloc();
  }

  Mode mode() const { return mode_; }
  int top() const { return TopLevel(mode_); }
  u64 root() const { return root_; }
  unsigned EntrySize() const { return mode_ == Mode::k32 ? 4 : 8; }

  unsigned Index(u64 la, int level) const {
    if (mode_ == Mode::k32)
      return (la >> (12 + 10 * (level - 1))) & 0x3ff;
    if (mode_ == Mode::kPae && level == 3)
      return (la >> 30) & 3;
    return (la >> (12 + 9 * (level - 1))) & 0x1ff;
  }

  u64 TableOf(u64 entry) const {
    return mode_ == Mode::k32 ? (entry & 0xfffff000ULL)
                              : (entry & KVMX_GENMASK(51, 12));
  }

  // Guest-physical address of the entry for @la at @level; the entries
  // above must exist.
  u64 EntryGpa(u64 la, int level) const {
    u64 table = root_;
    for (int l = top(); l > level; l--) {
      u64 e = mem_.Get(table + Index(la, l) * EntrySize(), EntrySize());
      table = TableOf(e);
    }
    return table + Index(la, level) * EntrySize();
  }

  u64 Entry(u64 la, int level) const {
    return mem_.Get(EntryGpa(la, level), EntrySize());
  }
  void SetEntry(u64 la, int level, u64 v) {
    mem_.Set(EntryGpa(la, level), EntrySize(), v);
  }
  void OrEntry(u64 la, int level, u64 bits) {
    SetEntry(la, level, Entry(la, level) | bits);
  }
  void ClearEntry(u64 la, int level, u64 bits) {
    SetEntry(la, level, Entry(la, level) & ~bits);
  }

  // Maps @la to @pa with a page whose final entry is at @level, creating
  // missing tables with @table_flags (PAE PDPTEs get P only).
  void Map(u64 la, u64 pa, int level, u64 leaf_flags = P | RW | US,
           u64 table_flags = P | RW | US) {
    u64 table = root_;
    for (int l = top(); l > level; l--) {
      u64 gpa = table + Index(la, l) * EntrySize();
      u64 e = mem_.Get(gpa, EntrySize());
      if (!(e & P)) {
        u64 flags = (mode_ == Mode::kPae && l == 3) ? P : table_flags;
        e = Alloc() | flags;
        mem_.Set(gpa, EntrySize(), e);
      }
      table = TableOf(e);
    }
    u64 leaf = leaf_flags;
    if (level > 1) {
      leaf |= PS;
      if (mode_ == Mode::k32)  // PSE-36: address bits 39:32 in 20:13
        leaf |= (pa & 0xffc00000ULL) | (((pa >> 32) & 0xff) << 13);
      else
        leaf |= pa;
    } else {
      leaf |= pa;
    }
    mem_.Set(table + Index(la, level) * EntrySize(), EntrySize(), leaf);
  }

  // The configuration of a typical OS in this mode: WP on, NXE on where
  // XD exists, PSE in 32-bit paging, CPL 0.  PAE PDPTEs are loaded now,
  // as MOV to CR3 would.
  kvmx_walk_cfg Cfg() const {
    kvmx_walk_cfg c{};
    c.cr0 = KVMX_WALK_CR0_PG | KVMX_WALK_CR0_WP | 1;  // PE
    c.cr3 = root_;
    c.maxphyaddr = maxphyaddr_;
    c.gbpages = 1;
    switch (mode_) {
      case Mode::k32:
        c.cr4 = KVMX_WALK_CR4_PSE;
        break;
      case Mode::kPae:
        c.cr4 = KVMX_WALK_CR4_PAE;
        c.efer = KVMX_WALK_EFER_NXE;
        for (unsigned i = 0; i < 4; i++)
          c.pdptes[i] = mem_.Get(root_ + 8 * i, 8);
        break;
      case Mode::k4:
      case Mode::k5:
        c.cr4 = KVMX_WALK_CR4_PAE;
        if (mode_ == Mode::k5)
          c.cr4 |= KVMX_WALK_CR4_LA57;
        c.efer = KVMX_WALK_EFER_LMA | Bit(8) /* LME */ | KVMX_WALK_EFER_NXE;
        break;
    }
    return c;
  }

 private:
  u64 Alloc() {
    u64 gpa = next_;
    next_ += KiB4;
    mem_.AddPage(gpa);
    return gpa;
  }

  GuestMem& mem_;
  Mode mode_;
  u8 maxphyaddr_;
  u64 root_ = 0;
  u64 next_ = kTableBase;
};

struct Outcome {
  int status;
  kvmx_walk_result res;
};

Outcome Walk(GuestMem& mem, const kvmx_walk_cfg& cfg, u64 la, u32 access) {
  Outcome o{};
  std::memset(&o.res, 0xa5, sizeof(o.res));  // walker must fill it
  o.status = kvmx_walk(&cfg, mem.ops(), &mem, la, access, &o.res);
  return o;
}

// Gtest-friendly checks.
::testing::AssertionResult IsOk(const Outcome& o) {
  if (o.status == KVMX_WALK_OK)
    return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "status " << o.status << " error_code 0x" << std::hex
         << o.res.error_code << " level " << std::dec << o.res.level;
}

::testing::AssertionResult IsPf(const Outcome& o, u32 ec, u64 cr2, int level) {
  if (o.status != KVMX_WALK_PF)
    return ::testing::AssertionFailure() << "status " << o.status
                                         << ", expected #PF";
  if (o.res.error_code != ec || o.res.cr2 != cr2 || o.res.level != level)
    return ::testing::AssertionFailure()
           << std::hex << "error_code 0x" << o.res.error_code
           << " (expected 0x" << ec << ") cr2 0x" << o.res.cr2
           << " (expected 0x" << cr2 << ") level " << std::dec
           << o.res.level << " (expected " << level << ")";
  return ::testing::AssertionSuccess();
}

// Linear addresses with a distinct index at every level, per mode.
u64 SampleLa(Mode m) {
  switch (m) {
    case Mode::k32: return 0x80403123;  // PDE 0x201, PTE 0x003
    case Mode::kPae: return 0x80603123;  // PDPTE 2, PDE 3, PTE 3
    case Mode::k4: return 0x00007f8040603123ULL;
    case Mode::k5: return 0x00ff7f8040603123ULL;
  }
  return 0;
}

// ---------------------------------------------------------------------------
// No paging.

TEST(WalkNoPaging, IdentityTruncatedTo32Bits) {
  GuestMem mem;
  kvmx_walk_cfg cfg{};
  cfg.cr0 = 1;  // PE only
  cfg.cr4 = KVMX_WALK_CR4_PAE | KVMX_WALK_CR4_SMEP | KVMX_WALK_CR4_SMAP;
  cfg.cpl = 3;
  for (u32 access : {kRead, kWrite, kFetch}) {
    Outcome o = Walk(mem, cfg, 0x123456789abcULL, access);
    ASSERT_TRUE(IsOk(o));
    EXPECT_EQ(o.res.gpa, 0x56789abcULL);
    EXPECT_EQ(o.res.level, 0);
    EXPECT_EQ(o.res.page_size, KiB4);
    EXPECT_EQ(o.res.perm,
              KVMX_WALK_PERM_W | KVMX_WALK_PERM_U | KVMX_WALK_PERM_X);
  }
  EXPECT_TRUE(mem.read_log.empty());
  EXPECT_TRUE(mem.cmpxchg_log.empty());
}

// ---------------------------------------------------------------------------
// Successful translations of every page size.

struct SizeCase {
  const char* name;
  Mode mode;
  int level;
  u64 page_size;
  u64 la;
  u64 pa;
  u8 maxphyaddr;
};

class WalkPageSize : public ::testing::TestWithParam<SizeCase> {};

TEST_P(WalkPageSize, Translates) {
  const SizeCase& c = GetParam();
  GuestMem mem;
  PageTables pt(mem, c.mode, c.maxphyaddr);
  pt.Map(c.la, c.pa, c.level);
  kvmx_walk_cfg cfg = pt.Cfg();
  u64 off = 0x123;
  if (c.page_size > KiB4)
    off = (c.page_size >> 1) | 0xabc;  // some offset above bit 12
  Outcome o = Walk(mem, cfg, c.la + off, kRead);
  ASSERT_TRUE(IsOk(o));
  EXPECT_EQ(o.res.gpa, c.pa + off);
  EXPECT_EQ(o.res.page_size, c.page_size);
  EXPECT_EQ(o.res.level, c.level);
  EXPECT_EQ(o.res.perm,
            KVMX_WALK_PERM_W | KVMX_WALK_PERM_U | KVMX_WALK_PERM_X);
  EXPECT_EQ(o.res.leaf, pt.Entry(c.la, c.level));
  EXPECT_TRUE(o.res.leaf & A);
  // One read per level (none for PAE PDPTEs, loaded with CR3).
  int reads = TopLevel(c.mode) - c.level + 1;
  if (c.mode == Mode::kPae)
    reads--;
  EXPECT_EQ(mem.read_log.size(), static_cast<size_t>(reads));
}

INSTANTIATE_TEST_SUITE_P(
    AllModes, WalkPageSize,
    ::testing::Values(
        SizeCase{"P32_4K", Mode::k32, 1, KiB4, 0x80403000, 0x7654000, 40},
        SizeCase{"P32_4M", Mode::k32, 2, MiB4, 0x80400000, 0x3fc00000, 40},
        SizeCase{"P32_4M_Pse36_40", Mode::k32, 2, MiB4, 0xc0000000,
                 0xabffc00000ULL, 40},
        SizeCase{"P32_4M_Pse36_36", Mode::k32, 2, MiB4, 0xc0000000,
                 0xbffc00000ULL, 36},
        SizeCase{"P32_4M_Pse36_Max52", Mode::k32, 2, MiB4, 0xc0000000,
                 0xff00400000ULL, 52},
        SizeCase{"Pae_4K", Mode::kPae, 1, KiB4, 0x80603000,
                 0xfedcba98000ULL, 46},
        SizeCase{"Pae_2M", Mode::kPae, 2, MiB2, 0xc0600000,
                 0x3fffffe00000ULL, 46},
        SizeCase{"L4_4K", Mode::k4, 1, KiB4, 0x7f8040603000ULL,
                 0x3ffffffff000ULL, 46},
        SizeCase{"L4_2M", Mode::k4, 2, MiB2, 0x7f8040600000ULL, 0x1200000,
                 46},
        SizeCase{"L4_1G", Mode::k4, 3, GiB1, 0x7f8040000000ULL,
                 0x3fc0000000ULL, 46},
        SizeCase{"L4_Max52", Mode::k4, 1, KiB4, 0x1000, 0xfffffffff000ULL |
                 (0xfULL << 48), 52},
        SizeCase{"L4_Max36", Mode::k4, 3, GiB1, 0xffffffffc0000000ULL,
                 0xfc0000000ULL, 36},
        SizeCase{"L5_4K", Mode::k5, 1, KiB4, 0xff7f8040603000ULL, 0x5000,
                 46},
        SizeCase{"L5_2M", Mode::k5, 2, MiB2, 0x01000000200000ULL, 0x200000,
                 46},
        SizeCase{"L5_1G", Mode::k5, 3, GiB1, 0xfe000000000000ULL,
                 0x40000000, 46}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(Walk32, PseOffIgnoresPdeBit7) {
  GuestMem mem;
  PageTables pt(mem, Mode::k32);
  pt.Map(0x00401000, 0x9000, 1);
  pt.OrEntry(0x00401000, 2, PS);
  kvmx_walk_cfg cfg = pt.Cfg();
  cfg.cr4 &= ~KVMX_WALK_CR4_PSE;
  // CR4.PSE = 0: the PDE still points to a page table.
  Outcome o = Walk(mem, cfg, 0x00401234, kRead);
  ASSERT_TRUE(IsOk(o));
  EXPECT_EQ(o.res.gpa, 0x9234u);
  EXPECT_EQ(o.res.level, 1);
  EXPECT_EQ(o.res.page_size, KiB4);
  // CR4.PSE = 1: the same PDE maps a 4 MiB page.
  cfg.cr4 |= KVMX_WALK_CR4_PSE;
  o = Walk(mem, cfg, 0x00401234, kRead);
  ASSERT_TRUE(IsOk(o));
  EXPECT_EQ(o.res.level, 2);
  EXPECT_EQ(o.res.page_size, MiB4);
}

TEST(Walk32, FourByteEntriesAndNeighboursUntouched) {
  GuestMem mem;
  PageTables pt(mem, Mode::k32);
  pt.Map(0x00401000, 0x9000, 1);
  pt.Map(0x00402000, 0xa000, 1);
  u64 neighbour = pt.EntryGpa(0x00402000, 1);
  kvmx_walk_cfg cfg = pt.Cfg();
  ASSERT_TRUE(IsOk(Walk(mem, cfg, 0x00401000, kWrite)));
  EXPECT_EQ(pt.Entry(0x00401000, 1), 0x9000u | P | RW | US | A | D);
  EXPECT_EQ(mem.Get(neighbour, 4), 0xa000u | P | RW | US);
}

TEST(Walk32, Cr3LowBitsIgnored) {
  GuestMem mem;
  PageTables pt(mem, Mode::k32);
  pt.Map(0x1000, 0x2000, 1);
  kvmx_walk_cfg cfg = pt.Cfg();
  cfg.cr3 |= 0x18 | 0xffffffff00000000ULL;  // PWT, PCD, junk above
  Outcome o = Walk(mem, cfg, 0x1000, kRead);
  ASSERT_TRUE(IsOk(o));
  EXPECT_EQ(o.res.gpa, 0x2000u);
}

TEST(Walk4, Cr3PcidAndFlagBitsIgnored) {
  GuestMem mem;
  PageTables pt(mem, Mode::k4);
  pt.Map(0x1000, 0x2000, 1);
  kvmx_walk_cfg cfg = pt.Cfg();
  cfg.cr3 |= 0xfff | Bit(63) | Bit(62) | Bit(61);
  Outcome o = Walk(mem, cfg, 0x1000, kRead);
  ASSERT_TRUE(IsOk(o));
  EXPECT_EQ(o.res.gpa, 0x2000u);
}

TEST(WalkPae, PdptesComeFromTheConfigNotMemory) {
  GuestMem mem;
  PageTables pt(mem, Mode::kPae);
  pt.Map(0x40001000, 0x5000, 1);
  kvmx_walk_cfg cfg = pt.Cfg();
  // The guest rewrites its PDPT without reloading CR3: no effect.
  mem.Set(pt.root() + 8, 8, 0);
  Outcome o = Walk(mem, cfg, 0x40001000, kRead);
  ASSERT_TRUE(IsOk(o));
  EXPECT_EQ(o.res.gpa, 0x5000u);
  for (u64 gpa : mem.read_log)
    EXPECT_NE(gpa >> 12, pt.root() >> 12) << "PDPT read from memory";
  EXPECT_EQ(mem.Get(pt.root() + 8, 8), 0u) << "PDPTE written";
  // And a not-present cached PDPTE faults even if memory has one.
  cfg.pdptes[1] = 0;
  mem.Set(pt.root() + 8, 8, 0x10000 | P);
  EXPECT_TRUE(IsPf(Walk(mem, cfg, 0x40001000, kRead), 0, 0x40001000, 3));
}

TEST(WalkLarge, PatBitIsNotAnAddressBit) {
  for (Mode mode : {Mode::k32, Mode::kPae, Mode::k4}) {
    SCOPED_TRACE(ModeName(mode));
    GuestMem mem;
    PageTables pt(mem, mode);
    u64 la = 0x40000000;
    u64 size = mode == Mode::k32 ? MiB4 : MiB2;
    pt.Map(la, 0x800000, 2, P | RW | US | Bit(12));
    Outcome o = Walk(mem, pt.Cfg(), la + 0x1234, kRead);
    ASSERT_TRUE(IsOk(o));
    EXPECT_EQ(o.res.gpa, 0x801234u);
    EXPECT_EQ(o.res.page_size, size);
  }
  GuestMem mem;
  PageTables pt(mem, Mode::k4);
  pt.Map(0x40000000, 0x80000000, 3, P | RW | US | Bit(12));
  Outcome o = Walk(mem, pt.Cfg(), 0x40001234, kRead);
  ASSERT_TRUE(IsOk(o));
  EXPECT_EQ(o.res.gpa, 0x80001234u);
}

TEST(Walk4, IgnoredHighBitsAreIgnored) {
  GuestMem mem;
  PageTables pt(mem, Mode::k4, 52);
  pt.Map(0x1000, 0x2000, 1);
  // Bits 62:52 are ignored (or protection keys, not implemented).
  for (int l = 1; l <= 4; l++)
    pt.OrEntry(0x1000, l, KVMX_GENMASK(62, 52) | Bit(9) | Bit(10) |
                              Bit(11));
  Outcome o = Walk(mem, pt.Cfg(), 0x1000, kRead);
  ASSERT_TRUE(IsOk(o));
  EXPECT_EQ(o.res.gpa, 0x2000u);
}

// ---------------------------------------------------------------------------
// Linear-address truncation and CR2.

TEST(WalkTruncation, NonLongModesUseLow32Bits) {
  for (Mode mode : {Mode::k32, Mode::kPae}) {
    SCOPED_TRACE(ModeName(mode));
    GuestMem mem;
    PageTables pt(mem, mode);
    pt.Map(0x80403000, 0x7000, 1);
    kvmx_walk_cfg cfg = pt.Cfg();
    Outcome o = Walk(mem, cfg, 0xdeadbeef80403456ULL, kRead);
    ASSERT_TRUE(IsOk(o));
    EXPECT_EQ(o.res.gpa, 0x7456u);
    // A fault reports the truncated address in CR2.
    o = Walk(mem, cfg, 0xdeadbeef80404456ULL, kRead);
    EXPECT_TRUE(IsPf(o, 0, 0x80404456, 1));
  }
}

TEST(WalkTruncation, LongModeKeepsCr2AndIgnoresHighBits) {
  GuestMem mem;
  PageTables pt(mem, Mode::k4);
  u64 la = 0xffff800000403000ULL;  // PML4 index 256
  pt.Map(la, 0x7000, 1);
  kvmx_walk_cfg cfg = pt.Cfg();
  Outcome o = Walk(mem, cfg, la | 0x10, kRead);
  ASSERT_TRUE(IsOk(o));
  EXPECT_EQ(o.res.gpa, 0x7010u);
  EXPECT_EQ(pt.Index(la, 4), 256u);
  o = Walk(mem, cfg, la + KiB4, kRead);
  EXPECT_TRUE(IsPf(o, 0, la + KiB4, 1));
}

// ---------------------------------------------------------------------------
// Not-present entries at every level of every mode.

class WalkModes : public ::testing::TestWithParam<Mode> {};

INSTANTIATE_TEST_SUITE_P(AllModes, WalkModes,
                         ::testing::Values(Mode::k32, Mode::kPae, Mode::k4,
                                           Mode::k5),
                         [](const auto& info) { return ModeName(info.param); });

TEST_P(WalkModes, NotPresentAtEachLevel) {
  Mode mode = GetParam();
  u64 la = SampleLa(mode);
  for (int level = 1; level <= TopLevel(mode); level++) {
    for (u32 access : {kRead, kWrite, kFetch}) {
      for (u8 cpl : {0, 3}) {
        SCOPED_TRACE("level " + std::to_string(level) + " access " +
                     std::to_string(access) + " cpl " + std::to_string(cpl));
        GuestMem mem;
        PageTables pt(mem, mode);
        pt.Map(la, 0x5000, 1);
        // A not-present entry's other bits, reserved or not, don't matter.
        u64 junk = mode == Mode::k32 ? 0xfffffffeULL : ~P;
        pt.SetEntry(la, level, junk);
        kvmx_walk_cfg cfg = pt.Cfg();
        cfg.cpl = cpl;
        auto before = mem.pages();
        u32 ec = (access == kWrite ? EC_W : 0) | (cpl == 3 ? EC_U : 0) |
                 (access == kFetch && HasXd(mode) ? EC_ID : 0);
        Outcome o = Walk(mem, cfg, la, access);
        EXPECT_TRUE(IsPf(o, ec, mode == Mode::k32 || mode == Mode::kPae
                                    ? (la & 0xffffffff) : la, level));
        EXPECT_TRUE(mem.cmpxchg_log.empty());
        EXPECT_EQ(mem.pages(), before) << "A/D set on a faulting walk";
      }
    }
  }
}

// ---------------------------------------------------------------------------
// Accessed and dirty bits.

TEST_P(WalkModes, AccessedAndDirtyBitsForEveryPageSize) {
  Mode mode = GetParam();
  int max_level = mode == Mode::k32 || mode == Mode::kPae ? 2 : 3;
  for (int level = 1; level <= max_level; level++) {
    for (u32 access : {kRead, kWrite, kFetch}) {
      SCOPED_TRACE("level " + std::to_string(level) + " access " +
                   std::to_string(access));
      GuestMem mem;
      PageTables pt(mem, mode);
      u64 la = SampleLa(mode) & ~(KiB4 - 1);
      la &= ~((level == 1 ? KiB4 : level == 2 ? (mode == Mode::k32 ? MiB4
                                                                   : MiB2)
                                               : GiB1) -
              1);
      pt.Map(la, 0, level);
      std::vector<u64> before;
      for (int l = TopLevel(mode); l >= level; l--)
        before.push_back(pt.Entry(la, l));
      Outcome o = Walk(mem, pt.Cfg(), la, access);
      ASSERT_TRUE(IsOk(o));
      size_t i = 0;
      for (int l = TopLevel(mode); l >= level; l--, i++) {
        u64 want = before[i];
        if (!(mode == Mode::kPae && l == 3))
          want |= A;
        if (l == level && access == kWrite)
          want |= D;
        EXPECT_EQ(pt.Entry(la, l), want) << "level " << l;
      }
      EXPECT_EQ(o.res.leaf, pt.Entry(la, level));
      // Cmpxchgs went top-down, one per entry that needed a bit.
      size_t updates = TopLevel(mode) - level + 1 - (mode == Mode::kPae);
      ASSERT_EQ(mem.cmpxchg_log.size(), updates);
      EXPECT_EQ(mem.cmpxchg_log.back(), pt.EntryGpa(la, level));

      // Walking again changes nothing and needs no cmpxchg, except a
      // write setting D that a read left clear.
      mem.cmpxchg_log.clear();
      auto snap = mem.pages();
      ASSERT_TRUE(IsOk(Walk(mem, pt.Cfg(), la, access)));
      EXPECT_TRUE(mem.cmpxchg_log.empty());
      EXPECT_EQ(mem.pages(), snap);
      if (access != kWrite) {
        ASSERT_TRUE(IsOk(Walk(mem, pt.Cfg(), la, kWrite)));
        EXPECT_EQ(mem.cmpxchg_log.size(), 1u);
        EXPECT_TRUE(pt.Entry(la, level) & D);
      }
    }
  }
}

// The result names the entries the translation used, as memory now holds
// them (A/D included), so a caller can check later that they are unchanged.
TEST_P(WalkModes, ResultListsTheEntriesUsed) {
  Mode mode = GetParam();
  int max_level = mode == Mode::k32 || mode == Mode::kPae ? 2 : 3;
  for (int level = 1; level <= max_level; level++) {
    for (u32 access : {kRead, kWrite, kFetch}) {
      SCOPED_TRACE("level " + std::to_string(level) + " access " +
                   std::to_string(access));
      GuestMem mem;
      PageTables pt(mem, mode);
      u64 la = SampleLa(mode);
      pt.Map(la & ~(KiB4 - 1), 0x40000000, level);
      Outcome o = Walk(mem, pt.Cfg(), la, access);
      ASSERT_TRUE(IsOk(o));
      EXPECT_EQ(o.res.top, TopLevel(mode));
      for (int l = TopLevel(mode); l >= level; l--) {
        if (mode == Mode::kPae && l == 3) {
          EXPECT_EQ(o.res.pte_gpa[l - 1], 0u);
          EXPECT_EQ(o.res.pte[l - 1], pt.Cfg().pdptes[(la >> 30) & 3]);
          continue;
        }
        EXPECT_EQ(o.res.pte_gpa[l - 1], pt.EntryGpa(la, l)) << "level " << l;
        EXPECT_EQ(o.res.pte[l - 1], pt.Entry(la, l)) << "level " << l;
      }
    }
  }
  GuestMem mem;
  kvmx_walk_cfg cfg{};
  Outcome o = Walk(mem, cfg, 0x1234, kRead);
  ASSERT_TRUE(IsOk(o));
  EXPECT_EQ(o.res.top, 0);
}

TEST_P(WalkModes, NoAdFlagLeavesMemoryAlone) {
  Mode mode = GetParam();
  GuestMem mem;
  PageTables pt(mem, mode);
  u64 la = SampleLa(mode);
  pt.Map(la & ~0xfffULL, 0x5000, 1);
  auto before = mem.pages();
  Outcome o = Walk(mem, pt.Cfg(), la, kWrite | KVMX_WALK_NO_AD);
  ASSERT_TRUE(IsOk(o));
  EXPECT_EQ(o.res.gpa, 0x5000 | (la & 0xfff));
  EXPECT_TRUE(mem.cmpxchg_log.empty());
  EXPECT_EQ(mem.pages(), before);
}

TEST_P(WalkModes, NoAdBitsOnProtectionOrReservedFault) {
  Mode mode = GetParam();
  GuestMem mem;
  PageTables pt(mem, mode);
  u64 la = SampleLa(mode);
  pt.Map(la, 0x5000, 1, P | US);  // read-only
  kvmx_walk_cfg cfg = pt.Cfg();
  auto before = mem.pages();
  u64 cr2 = mode == Mode::k4 || mode == Mode::k5 ? la : (la & 0xffffffff);
  EXPECT_TRUE(IsPf(Walk(mem, cfg, la, kWrite), EC_P | EC_W, cr2, 1));
  EXPECT_EQ(mem.pages(), before);
  if (mode != Mode::k32) {
    pt.OrEntry(la, 1, Bit(cfg.maxphyaddr));
    before = mem.pages();
    EXPECT_TRUE(
        IsPf(Walk(mem, cfg, la, kRead), EC_P | EC_RSVD, cr2, 1));
    EXPECT_EQ(mem.pages(), before);
  }
  EXPECT_TRUE(mem.cmpxchg_log.empty());
}

TEST(WalkAd, WriteAllowedByWp0StillSetsDirty) {
  GuestMem mem;
  PageTables pt(mem, Mode::k4);
  pt.Map(0x1000, 0x2000, 1, P);  // supervisor, read-only
  kvmx_walk_cfg cfg = pt.Cfg();
  cfg.cr0 &= ~KVMX_WALK_CR0_WP;
  Outcome o = Walk(mem, cfg, 0x1000, kWrite);
  ASSERT_TRUE(IsOk(o));
  EXPECT_EQ(pt.Entry(0x1000, 1), 0x2000u | P | A | D);
  EXPECT_EQ(o.res.perm, KVMX_WALK_PERM_X);
}

// ---------------------------------------------------------------------------
// cmpxchg races.

TEST(WalkRace, LeafChangedUnderneathRestartsWithNewValue) {
  GuestMem mem;
  PageTables pt(mem, Mode::k4);
  u64 la = 0x7f8040603000ULL;
  pt.Map(la, 0x5000, 1);
  u64 leaf_gpa = pt.EntryGpa(la, 1);
  int races = 0;
  mem.before_cmpxchg = [&](GuestMem& m, u64 gpa) {
    if (gpa == leaf_gpa && races++ == 0)
      m.Set(gpa, 8, 0x9000 | P | RW | US);  // remapped by another vCPU
  };
  Outcome o = Walk(mem, pt.Cfg(), la + 0x12, kWrite);
  ASSERT_TRUE(IsOk(o));
  EXPECT_EQ(races, 2);
  EXPECT_EQ(o.res.gpa, 0x9012u);
  EXPECT_EQ(pt.Entry(la, 1), 0x9000u | P | RW | US | A | D);
  EXPECT_EQ(o.res.leaf, pt.Entry(la, 1));
  // Root read twice: the walk restarted from the top.
  EXPECT_EQ(std::count(mem.read_log.begin(), mem.read_log.end(),
                       pt.EntryGpa(la, 4)),
            2);
}

TEST(WalkRace, UnrelatedBitChangeIsKept) {
  GuestMem mem;
  PageTables pt(mem, Mode::kPae);
  u64 la = 0x80603000;
  pt.Map(la, 0x5000, 1);
  u64 pde_gpa = pt.EntryGpa(la, 2);
  bool raced = false;
  mem.before_cmpxchg = [&](GuestMem& m, u64 gpa) {
    if (gpa == pde_gpa && !raced) {
      raced = true;
      m.Set(gpa, 8, m.Get(gpa, 8) | Bit(9));  // guest software bit
    }
  };
  ASSERT_TRUE(IsOk(Walk(mem, pt.Cfg(), la, kRead)));
  EXPECT_TRUE(raced);
  EXPECT_EQ(pt.Entry(la, 2) & (Bit(9) | A), Bit(9) | A);
  EXPECT_EQ(pt.Entry(la, 1) & (A | D), A);
}

TEST(WalkRace, EntryMadeNotPresentEndsInPageFault) {
  GuestMem mem;
  PageTables pt(mem, Mode::k32);
  u64 la = 0x80403000;
  pt.Map(la, 0x5000, 1);
  u64 leaf_gpa = pt.EntryGpa(la, 1);
  mem.before_cmpxchg = [&](GuestMem& m, u64 gpa) {
    if (gpa == leaf_gpa)
      m.Set(gpa, 4, 0);
  };
  EXPECT_TRUE(IsPf(Walk(mem, pt.Cfg(), la, kRead), 0, la, 1));
  EXPECT_EQ(pt.Entry(la, 1), 0u);
  // The PDE's A was set by the first attempt before the race was lost;
  // that is inherent to updating top-down, as on hardware and in KVM.
  EXPECT_TRUE(pt.Entry(la, 2) & A);
}

TEST(WalkRace, EndlessRacesGiveUp) {
  GuestMem mem;
  PageTables pt(mem, Mode::k4);
  u64 la = 0x1000;
  pt.Map(la, 0x5000, 1);
  u64 leaf_gpa = pt.EntryGpa(la, 1);
  mem.before_cmpxchg = [&](GuestMem& m, u64 gpa) {
    if (gpa == leaf_gpa)
      m.Set(gpa, 8, m.Get(gpa, 8) ^ Bit(10));
  };
  Outcome o = Walk(mem, pt.Cfg(), la, kRead);
  EXPECT_EQ(o.status, KVMX_WALK_RETRY);
  EXPECT_EQ(std::count(mem.cmpxchg_log.begin(), mem.cmpxchg_log.end(),
                       leaf_gpa),
            KVMX_WALK_MAX_TRIES);
}

TEST(WalkRace, SelfReferencingPml4Converges) {
  // PML4[511] points at the PML4 itself: the same entry is used at three
  // levels, so the first A update makes the later copies stale.
  GuestMem mem;
  PageTables pt(mem, Mode::k4);
  pt.Map(0x1000, 0x5000, 1);
  u64 pml4 = pt.root();
  mem.Set(pml4 + 511 * 8, 8, pml4 | P | RW);
  u64 la = (511ULL << 39) | (511ULL << 30) | (511ULL << 21) | (0ULL << 12);
  la |= 0xffff000000000000ULL;
  Outcome o = Walk(mem, pt.Cfg(), la | 0x8, kWrite);
  ASSERT_TRUE(IsOk(o));
  // The final "PTE" is PML4[0], which maps the PDPT page.
  u64 pdpt = mem.Get(pml4, 8) & KVMX_GENMASK(51, 12);
  EXPECT_EQ(o.res.gpa, pdpt + 8);
  EXPECT_EQ(mem.Get(pml4 + 511 * 8, 8), pml4 | P | RW | A);
  EXPECT_EQ(mem.Get(pml4, 8) & (A | D), A | D);
  EXPECT_EQ(o.res.perm, KVMX_WALK_PERM_W | KVMX_WALK_PERM_X);
}

// ---------------------------------------------------------------------------
// Callback failures.

TEST_P(WalkModes, ReadFailureAtEachLevel) {
  Mode mode = GetParam();
  u64 la = SampleLa(mode);
  int first = mode == Mode::kPae ? 2 : TopLevel(mode);
  for (int level = 1; level <= first; level++) {
    SCOPED_TRACE("level " + std::to_string(level));
    GuestMem mem;
    PageTables pt(mem, mode);
    pt.Map(la, 0x5000, 1);
    u64 hole = 0x40000000;  // not backed
    kvmx_walk_cfg cfg = pt.Cfg();
    if (level == TopLevel(mode))
      cfg.cr3 = hole;
    else if (mode == Mode::kPae && level == 2)
      cfg.pdptes[pt.Index(la, 3)] = hole | P;
    else
      pt.SetEntry(la, level + 1, hole | P | RW | US);
    auto before = mem.pages();
    Outcome o = Walk(mem, cfg, la, kWrite);
    EXPECT_EQ(o.status, KVMX_WALK_BAD_GPA);
    EXPECT_EQ(o.res.bad_gpa, hole + pt.Index(la, level) * pt.EntrySize());
    EXPECT_EQ(o.res.level, level);
    EXPECT_EQ(mem.pages(), before);
  }
}

TEST(WalkCallbacks, CmpxchgFailureIsBadGpa) {
  GuestMem mem;
  PageTables pt(mem, Mode::k4);
  pt.Map(0x1000, 0x5000, 1);
  u64 pde = pt.EntryGpa(0x1000, 2);
  mem.FailCmpxchgAt(pde);
  Outcome o = Walk(mem, pt.Cfg(), 0x1000, kRead);
  EXPECT_EQ(o.status, KVMX_WALK_BAD_GPA);
  EXPECT_EQ(o.res.bad_gpa, pde);
  EXPECT_EQ(o.res.level, 2);
}

// ---------------------------------------------------------------------------
// Reserved bits.

struct RsvdCase {
  const char* name;
  Mode mode;
  int map_level;   // page size of the mapping
  int level;       // entry that gets the bit
  u64 bits;        // bits to set
  bool fault;      // RSVD expected
  u8 maxphyaddr = 46;
  bool nxe = true;
  bool gbpages = true;
  bool pse = true;
};

class WalkReserved : public ::testing::TestWithParam<RsvdCase> {};

TEST_P(WalkReserved, Check) {
  const RsvdCase& c = GetParam();
  GuestMem mem;
  PageTables pt(mem, c.mode, c.maxphyaddr);
  u64 la = c.mode == Mode::k32 || c.mode == Mode::kPae ? 0x40000000
                                                       : 0x7f8040000000ULL;
  pt.Map(la, 0, c.map_level);
  kvmx_walk_cfg cfg = pt.Cfg();
  if (c.mode == Mode::kPae && c.level == 3)
    cfg.pdptes[1] |= c.bits;
  else
    pt.OrEntry(la, c.level, c.bits);
  if (!c.nxe)
    cfg.efer &= ~KVMX_WALK_EFER_NXE;
  cfg.gbpages = c.gbpages;
  if (!c.pse)
    cfg.cr4 &= ~KVMX_WALK_CR4_PSE;
  for (u32 access : {kRead, kWrite, kFetch}) {
    for (u8 cpl : {0, 3}) {
      cfg.cpl = cpl;
      auto before = mem.pages();
      Outcome o = Walk(mem, cfg, la + 0x10, access);
      if (c.fault) {
        u32 ec = EC_P | EC_RSVD | (access == kWrite ? EC_W : 0) |
                 (cpl == 3 ? EC_U : 0) |
                 (access == kFetch && c.nxe && c.mode != Mode::k32 ? EC_ID
                                                                   : 0);
        EXPECT_TRUE(IsPf(o, ec, la + 0x10, c.level))
            << "access " << access << " cpl " << int(cpl);
        EXPECT_EQ(mem.pages(), before);
      } else {
        EXPECT_TRUE(IsOk(o)) << "access " << access << " cpl " << int(cpl);
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    AllModes, WalkReserved,
    ::testing::Values(
        // 32-bit paging: only 4 MiB PDEs have reserved bits.
        RsvdCase{"P32_4M_Bit21", Mode::k32, 2, 2, Bit(21), true, 52},
        RsvdCase{"P32_4M_Pse36Max40_Bit20Ok", Mode::k32, 2, 2, Bit(20),
                 false, 40},
        RsvdCase{"P32_4M_Max36_Bit17", Mode::k32, 2, 2, Bit(17), true, 36},
        RsvdCase{"P32_4M_Max36_Bit16Ok", Mode::k32, 2, 2, Bit(16), false,
                 36},
        RsvdCase{"P32_4M_Max32_Bit13", Mode::k32, 2, 2, Bit(13), true, 32},
        RsvdCase{"P32_4K_PteHasNone", Mode::k32, 1, 1, Bit(7) | Bit(11),
                 false, 32},
        RsvdCase{"P32_PdeTableHasNone", Mode::k32, 1, 2, Bit(8) | Bit(11),
                 false, 32},
        RsvdCase{"P32_PseOff_NoCheck", Mode::k32, 1, 2, Bit(7), false, 32,
                 true, true, false},
        // PAE: PDPTE format, then 62:M and XD.
        RsvdCase{"Pae_Pdpte_Bit1", Mode::kPae, 1, 3, Bit(1), true},
        RsvdCase{"Pae_Pdpte_Bit2", Mode::kPae, 1, 3, Bit(2), true},
        RsvdCase{"Pae_Pdpte_Bit5", Mode::kPae, 1, 3, Bit(5), true},
        RsvdCase{"Pae_Pdpte_Bit7", Mode::kPae, 1, 3, Bit(7), true},
        RsvdCase{"Pae_Pdpte_Bit8", Mode::kPae, 1, 3, Bit(8), true},
        RsvdCase{"Pae_Pdpte_Xd", Mode::kPae, 1, 3, XD, true},
        RsvdCase{"Pae_Pdpte_MaxPhy", Mode::kPae, 1, 3, Bit(46), true},
        RsvdCase{"Pae_Pdpte_PwtPcdIgnOk", Mode::kPae, 1, 3,
                 Bit(3) | Bit(4) | Bit(9) | Bit(11), false},
        RsvdCase{"Pae_Pde_Bit62", Mode::kPae, 1, 2, Bit(62), true, 52},
        RsvdCase{"Pae_Pde_MaxPhy36", Mode::kPae, 1, 2, Bit(36), true, 36},
        RsvdCase{"Pae_Pde_Below36Ok", Mode::kPae, 1, 2, 0, false, 36},
        RsvdCase{"Pae_Pte_MaxPhy", Mode::kPae, 1, 1, Bit(46), true},
        RsvdCase{"Pae_Pte_XdNoNxe", Mode::kPae, 1, 1, XD, true, 46, false},
        RsvdCase{"Pae_Pde_XdNoNxe", Mode::kPae, 1, 2, XD, true, 46, false},
        RsvdCase{"Pae_2M_Bit13", Mode::kPae, 2, 2, Bit(13), true},
        RsvdCase{"Pae_2M_Bit20", Mode::kPae, 2, 2, Bit(20), true},
        RsvdCase{"Pae_Pde_Bit13TableOk", Mode::kPae, 1, 2, Bit(13), false},
        // 4-level.
        RsvdCase{"L4_Pml4e_Ps", Mode::k4, 1, 4, PS, true},
        RsvdCase{"L4_Pml4e_MaxPhy", Mode::k4, 1, 4, Bit(46), true},
        RsvdCase{"L4_Pml4e_Bit51", Mode::k4, 1, 4, Bit(51), true},
        RsvdCase{"L4_Pml4e_XdNoNxe", Mode::k4, 1, 4, XD, true, 46, false},
        RsvdCase{"L4_Pdpte_MaxPhy39", Mode::k4, 1, 3, Bit(39), true, 39},
        RsvdCase{"L4_Pdpte_XdNoNxe", Mode::k4, 1, 3, XD, true, 46, false},
        RsvdCase{"L4_1G_NoGbpages", Mode::k4, 3, 3, 0, true, 46, true,
                 false},
        RsvdCase{"L4_1G_Bit13", Mode::k4, 3, 3, Bit(13), true},
        RsvdCase{"L4_1G_Bit29", Mode::k4, 3, 3, Bit(29), true},
        RsvdCase{"L4_1G_MaxPhy", Mode::k4, 3, 3, Bit(46), true},
        RsvdCase{"L4_Pde_MaxPhy51", Mode::k4, 1, 2, Bit(51), true, 51},
        RsvdCase{"L4_2M_Bit13", Mode::k4, 2, 2, Bit(13), true},
        RsvdCase{"L4_2M_Bit20", Mode::k4, 2, 2, Bit(20), true},
        RsvdCase{"L4_2M_XdNoNxe", Mode::k4, 2, 2, XD, true, 46, false},
        RsvdCase{"L4_Pte_MaxPhy", Mode::k4, 1, 1, Bit(46), true},
        RsvdCase{"L4_Pte_Bit51Max52Ok", Mode::k4, 1, 1, Bit(51), false, 52},
        RsvdCase{"L4_Pte_XdNoNxe", Mode::k4, 1, 1, XD, true, 46, false},
        RsvdCase{"L4_Pte_Bit7PatOk", Mode::k4, 1, 1, Bit(7), false},
        RsvdCase{"L4_Pte_Bit52Ignored", Mode::k4, 1, 1, Bit(52), false},
        // 5-level.
        RsvdCase{"L5_Pml5e_Ps", Mode::k5, 1, 5, PS, true},
        RsvdCase{"L5_Pml5e_MaxPhy", Mode::k5, 1, 5, Bit(46), true},
        RsvdCase{"L5_Pml4e_Ps", Mode::k5, 1, 4, PS, true},
        RsvdCase{"L5_Pml5e_XdNoNxe", Mode::k5, 1, 5, XD, true, 46, false}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(WalkReservedPriority, ReservedBeatsProtection) {
  GuestMem mem;
  PageTables pt(mem, Mode::k4);
  u64 la = 0x1000;
  pt.Map(la, 0x5000, 1, P | US | Bit(46), P | RW);  // supervisor tables
  kvmx_walk_cfg cfg = pt.Cfg();
  cfg.cpl = 3;
  EXPECT_TRUE(IsPf(Walk(mem, cfg, la, kWrite),
                   EC_P | EC_RSVD | EC_W | EC_U, la, 1));
}

TEST(WalkReservedPriority, NotPresentBelowBeatsProtectionAbove) {
  GuestMem mem;
  PageTables pt(mem, Mode::k4);
  u64 la = 0x1000;
  pt.Map(la, 0x5000, 1, P | RW | US, P);  // read-only supervisor tables
  pt.SetEntry(la, 1, 0);
  kvmx_walk_cfg cfg = pt.Cfg();
  cfg.cpl = 3;
  EXPECT_TRUE(IsPf(Walk(mem, cfg, la, kWrite), EC_W | EC_U, la, 1));
}

TEST(WalkReservedPriority, ReservedUpperBeatsNotPresentLower) {
  GuestMem mem;
  PageTables pt(mem, Mode::k4);
  u64 la = 0x1000;
  pt.Map(la, 0x5000, 1);
  pt.SetEntry(la, 1, 0);
  pt.OrEntry(la, 3, Bit(50));
  EXPECT_TRUE(
      IsPf(Walk(mem, pt.Cfg(), la, kRead), EC_P | EC_RSVD, la, 3));
}

TEST(WalkMaxPhy, ClampedTo32Through52) {
  GuestMem mem;
  PageTables pt(mem, Mode::k4, 46);
  pt.Map(0x1000, 0x5000, 1);
  pt.OrEntry(0x1000, 1, Bit(51));
  kvmx_walk_cfg cfg = pt.Cfg();
  cfg.maxphyaddr = 255;  // clamped to 52: bit 51 is an address bit
  Outcome o = Walk(mem, cfg, 0x1000, kRead);
  ASSERT_TRUE(IsOk(o));
  EXPECT_EQ(o.res.gpa, Bit(51) | 0x5000);
  cfg.maxphyaddr = 0;  // clamped to 32
  EXPECT_TRUE(IsPf(Walk(mem, cfg, 0x1000, kRead), EC_P | EC_RSVD, 0x1000,
                   1));
}

TEST(WalkMaxPhy, EveryWidthAtEveryLevel) {
  for (u8 m = 32; m <= 52; m++) {
    for (int level = 1; level <= 4; level++) {
      SCOPED_TRACE("maxphyaddr " + std::to_string(m) + " level " +
                   std::to_string(level));
      GuestMem mem;
      PageTables pt(mem, Mode::k4, m);
      pt.Map(0x1000, 0x5000, 1);
      kvmx_walk_cfg cfg = pt.Cfg();
      // Highest address bit allowed: fine at the leaf, else the table
      // would be out of memory, so only try it on the leaf.
      if (level == 1) {
        pt.OrEntry(0x1000, 1, Bit(m - 1));
        Outcome o = Walk(mem, cfg, 0x1000, kRead);
        ASSERT_TRUE(IsOk(o));
        EXPECT_EQ(o.res.gpa, Bit(m - 1) | 0x5000);
        pt.ClearEntry(0x1000, 1, Bit(m - 1));
      }
      if (m == 52)
        continue;
      pt.OrEntry(0x1000, level, Bit(m));
      EXPECT_TRUE(IsPf(Walk(mem, cfg, 0x1000, kRead), EC_P | EC_RSVD,
                       0x1000, level));
    }
  }
}

// ---------------------------------------------------------------------------
// Access rights.

enum Kind { R, W, X };

struct PermCase {
  const char* name;
  Kind kind;
  u8 cpl;
  bool implicit;
  bool page_user;
  bool page_write;
  bool page_xd;
  bool wp;
  bool nxe;
  bool smep;
  bool smap;
  bool ac;
  bool ok;
};

u32 AccessOf(Kind k, bool implicit) {
  return (k == W ? kWrite : k == X ? kFetch : kRead) |
         (implicit ? kImplicit : 0);
}

kvmx_walk_cfg PermCfg(const PageTables& pt, const PermCase& c) {
  kvmx_walk_cfg cfg = pt.Cfg();
  cfg.cpl = c.cpl;
  if (!c.wp)
    cfg.cr0 &= ~KVMX_WALK_CR0_WP;
  // NXE may be set in 32-bit paging too; it has no effect there.
  if (c.nxe)
    cfg.efer |= KVMX_WALK_EFER_NXE;
  else
    cfg.efer &= ~KVMX_WALK_EFER_NXE;
  if (c.smep)
    cfg.cr4 |= KVMX_WALK_CR4_SMEP;
  if (c.smap)
    cfg.cr4 |= KVMX_WALK_CR4_SMAP;
  if (c.ac)
    cfg.rflags |= KVMX_WALK_RFLAGS_AC;
  return cfg;
}

u32 ExpectedEc(Mode mode, const PermCase& c) {
  u32 ec = EC_P;
  if (c.kind == W)
    ec |= EC_W;
  if (c.cpl == 3 && !c.implicit)
    ec |= EC_U;
  if (c.kind == X && (c.smep || (c.nxe && mode != Mode::k32)))
    ec |= EC_ID;
  return ec;
}

// Hand-checked against SDM 4.6; the exhaustive test below covers the rest.
// Fields: kind cpl implicit | user write xd | wp nxe smep smap ac | ok
const PermCase kPermCases[] = {
    {"UserReadUser", R, 3, false, true, false, false, 1, 1, 0, 0, 0, true},
    {"UserReadSup", R, 3, false, false, true, false, 1, 1, 0, 0, 0, false},
    {"UserWriteRoUser", W, 3, false, true, false, false, 1, 1, 0, 0, 0,
     false},
    {"UserWriteRoUserWp0", W, 3, false, true, false, false, 0, 1, 0, 0, 0,
     false},
    {"UserWriteRwUser", W, 3, false, true, true, false, 1, 1, 0, 0, 0, true},
    {"UserWriteRwSup", W, 3, false, false, true, false, 1, 1, 0, 0, 0,
     false},
    {"UserFetchUser", X, 3, false, true, false, false, 1, 1, 0, 0, 0, true},
    {"UserFetchSup", X, 3, false, false, true, false, 1, 1, 0, 0, 0, false},
    {"UserFetchXd", X, 3, false, true, true, true, 1, 1, 0, 0, 0, false},
    {"UserFetchSupNoNxe", X, 3, false, false, true, false, 1, 0, 0, 0, 0,
     false},
    {"UserReadUserSmapSmep", R, 3, false, true, false, false, 1, 1, 1, 1, 0,
     true},
    {"UserFetchUserSmep", X, 3, false, true, false, false, 1, 1, 1, 1, 0,
     true},
    {"SupReadSup", R, 0, false, false, false, false, 1, 1, 1, 1, 0, true},
    {"SupReadUser", R, 0, false, true, false, false, 1, 1, 0, 0, 0, true},
    {"Cpl1IsSupervisor", R, 1, false, false, false, false, 1, 1, 0, 0, 0,
     true},
    {"Cpl2IsSupervisor", W, 2, false, false, true, false, 1, 1, 0, 0, 0,
     true},
    {"SupWriteRoWp0", W, 0, false, false, false, false, 0, 1, 0, 0, 0, true},
    {"SupWriteRoWp1", W, 0, false, false, false, false, 1, 1, 0, 0, 0,
     false},
    {"SupWriteRoUserWp0", W, 0, false, true, false, false, 0, 1, 0, 0, 0,
     true},
    {"SupWriteRoUserWp1", W, 0, false, true, false, false, 1, 1, 0, 0, 0,
     false},
    {"SupFetchUser", X, 0, false, true, false, false, 1, 1, 0, 0, 0, true},
    {"SupFetchUserSmep", X, 0, false, true, false, false, 1, 1, 1, 0, 0,
     false},
    {"SupFetchUserSmepNoNxe", X, 0, false, true, false, false, 1, 0, 1, 0, 0,
     false},
    {"SupFetchSupSmep", X, 0, false, false, false, false, 1, 1, 1, 0, 0,
     true},
    {"SupFetchXd", X, 0, false, false, true, true, 1, 1, 0, 0, 0, false},
    {"SupFetchUserXd", X, 0, false, true, true, true, 1, 1, 0, 0, 0, false},
    {"SupFetchUserSmapAc0", X, 0, false, true, false, false, 1, 1, 0, 1, 0,
     true},
    {"SupReadUserSmapAc0", R, 0, false, true, false, false, 1, 1, 0, 1, 0,
     false},
    {"SupReadUserSmapAc1", R, 0, false, true, false, false, 1, 1, 0, 1, 1,
     true},
    {"SupReadSupSmapAc0", R, 0, false, false, false, false, 1, 1, 0, 1, 0,
     true},
    {"SupWriteUserSmapAc0", W, 0, false, true, true, false, 1, 1, 0, 1, 0,
     false},
    {"SupWriteUserSmapAc0Wp0", W, 0, false, true, true, false, 0, 1, 0, 1, 0,
     false},
    {"SupWriteUserSmapAc1", W, 0, false, true, true, false, 1, 1, 0, 1, 1,
     true},
    {"SupWriteRoUserSmapAc1Wp1", W, 0, false, true, false, false, 1, 1, 0, 1,
     1, false},
    {"SupWriteRoUserSmapAc1Wp0", W, 0, false, true, false, false, 0, 1, 0, 1,
     1, true},
    {"ImplicitReadUserSmapAc1", R, 0, true, true, false, false, 1, 1, 0, 1, 1,
     false},
    {"ImplicitReadUserSmapAc1Cpl3", R, 3, true, true, false, false, 1, 1, 0,
     1, 1, false},
    {"ImplicitReadUserNoSmapCpl3", R, 3, true, true, false, false, 1, 1, 0, 0,
     0, true},
    {"ImplicitReadSupCpl3", R, 3, true, false, false, false, 1, 1, 0, 1, 0,
     true},
    {"ImplicitWriteRoSupCpl3Wp1", W, 3, true, false, false, false, 1, 1, 0,
     0, 0, false},
    {"ImplicitWriteRoSupCpl3Wp0", W, 3, true, false, false, false, 0, 1, 0,
     0, 0, true},
    {"ImplicitWriteUserSmapAc1", W, 0, true, true, true, false, 1, 1, 0, 1, 1,
     false},
};

class WalkPermTable
    : public ::testing::TestWithParam<std::tuple<Mode, PermCase>> {};

// Puts each restrictive bit at every level in turn: rights are the
// combination of all entries.
TEST_P(WalkPermTable, Check) {
  auto [mode, c] = GetParam();
  u64 la = SampleLa(mode);
  u64 cr2 = mode == Mode::k32 || mode == Mode::kPae ? (la & 0xffffffff) : la;
  int first = mode == Mode::kPae ? 2 : TopLevel(mode);
  for (int where = 1; where <= first; where++) {
    SCOPED_TRACE("restrictive bits at level " + std::to_string(where));
    GuestMem mem;
    PageTables pt(mem, mode);
    pt.Map(la, 0x5000, 1);
    if (!c.page_user)
      pt.ClearEntry(la, where, US);
    if (!c.page_write)
      pt.ClearEntry(la, where, RW);
    if (c.page_xd)
      pt.OrEntry(la, where, XD);
    kvmx_walk_cfg cfg = PermCfg(pt, c);
    Outcome o = Walk(mem, cfg, la, AccessOf(c.kind, c.implicit));
    if (c.ok) {
      ASSERT_TRUE(IsOk(o));
      u32 perm = (c.page_user ? KVMX_WALK_PERM_U : 0) |
                 (c.page_write ? KVMX_WALK_PERM_W : 0) |
                 (c.page_xd && c.nxe ? 0 : KVMX_WALK_PERM_X);
      EXPECT_EQ(o.res.perm, perm);
      EXPECT_EQ(o.res.gpa, 0x5000 | (la & 0xfff));
    } else {
      EXPECT_TRUE(IsPf(o, ExpectedEc(mode, c), cr2, 1));
    }
  }
}

// Every row in every mode, except XD rows in 32-bit paging (no XD bit).
std::vector<std::tuple<Mode, PermCase>> PermParams() {
  std::vector<std::tuple<Mode, PermCase>> v;
  for (Mode mode : {Mode::k32, Mode::kPae, Mode::k4, Mode::k5})
    for (const PermCase& c : kPermCases)
      if (mode != Mode::k32 || !c.page_xd)
        v.emplace_back(mode, c);
  return v;
}

INSTANTIATE_TEST_SUITE_P(
    AllModes, WalkPermTable, ::testing::ValuesIn(PermParams()),
    [](const auto& info) {
      return ModeName(std::get<0>(info.param)) + "_" +
             std::get<1>(info.param).name;
    });

// The SDM 4.6 rules restated sentence by sentence, for the exhaustive test.
bool SdmAllows(Mode mode, const PermCase& c) {
  bool user_addr = c.page_user;  // U/S = 1 in every entry
  bool xd = c.page_xd && c.nxe && mode != Mode::k32;
  bool supervisor_access = c.implicit || c.cpl < 3;
  bool smap_blocks =
      c.smap && user_addr && (!c.ac || c.implicit);  // data only
  if (!supervisor_access) {
    if (!user_addr)
      return false;  // user accesses need user-mode addresses
    if (c.kind == W)
      return c.page_write;
    if (c.kind == X)
      return !xd;
    return true;
  }
  switch (c.kind) {
    case R:
      return !smap_blocks;
    case W:
      if (smap_blocks)
        return false;
      return !c.wp || c.page_write;
    case X:
      return !xd && !(c.smep && user_addr);
  }
  return false;
}

TEST_P(WalkModes, ExhaustivePermissionsAndErrorCodes) {
  Mode mode = GetParam();
  u64 la = SampleLa(mode);
  u64 cr2 = mode == Mode::k32 || mode == Mode::kPae ? (la & 0xffffffff) : la;
  int checked = 0;
  for (unsigned bits = 0; bits < (1u << 9); bits++) {
    for (Kind kind : {R, W, X}) {
      for (u8 cpl : {0, 1, 3}) {
        for (bool implicit : {false, true}) {
          if (implicit && kind == X)
            continue;
          PermCase c{"", kind, cpl, implicit,
                     bool(bits & 1), bool(bits & 2), bool(bits & 4),
                     bool(bits & 8), bool(bits & 16), bool(bits & 32),
                     bool(bits & 64), bool(bits & 128), false};
          bool leaf_only = bits & 256;
          if (mode == Mode::k32 && c.page_xd)
            continue;
          GuestMem mem;
          PageTables pt(mem, mode);
          pt.Map(la, 0x5000, 1);
          // Restrictive bits on the leaf, or spread over two levels.
          int w1 = 1, w2 = leaf_only ? 1 : 2;
          if (!c.page_user)
            pt.ClearEntry(la, w1, US);
          if (!c.page_write)
            pt.ClearEntry(la, w2, RW);
          if (c.page_xd)
            pt.OrEntry(la, w2, XD);
          kvmx_walk_cfg cfg = PermCfg(pt, c);
          Outcome o = Walk(mem, cfg, la, AccessOf(kind, implicit));
          std::string what = "bits " + std::to_string(bits) + " kind " +
                             std::to_string(kind) + " cpl " +
                             std::to_string(cpl) + " implicit " +
                             std::to_string(implicit);
          if (c.page_xd && !c.nxe) {
            // XD is reserved without NXE.
            u32 ec = ExpectedEc(mode, c) | EC_RSVD;
            EXPECT_TRUE(IsPf(o, ec, cr2, w2)) << what;
          } else if (SdmAllows(mode, c)) {
            EXPECT_TRUE(IsOk(o)) << what;
            EXPECT_TRUE(pt.Entry(la, 1) & A) << what;
          } else {
            EXPECT_TRUE(IsPf(o, ExpectedEc(mode, c), cr2, 1)) << what;
            EXPECT_TRUE(mem.cmpxchg_log.empty()) << what;
          }
          checked++;
        }
      }
    }
  }
  EXPECT_GT(checked, 3000);
}

TEST(WalkErrorCode, InstructionFetchFlag) {
  struct {
    Mode mode;
    bool nxe;
    bool smep;
    bool id;
  } cases[] = {
      {Mode::k32, false, false, false}, {Mode::k32, true, false, false},
      {Mode::k32, false, true, true},   {Mode::k32, true, true, true},
      {Mode::kPae, false, false, false}, {Mode::kPae, true, false, true},
      {Mode::kPae, false, true, true},  {Mode::k4, false, false, false},
      {Mode::k4, true, false, true},    {Mode::k4, false, true, true},
      {Mode::k5, true, true, true},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(ModeName(c.mode) + " nxe " + std::to_string(c.nxe) +
                 " smep " + std::to_string(c.smep));
    GuestMem mem;
    PageTables pt(mem, c.mode);
    kvmx_walk_cfg cfg = pt.Cfg();
    if (c.nxe)
      cfg.efer |= KVMX_WALK_EFER_NXE;
    else
      cfg.efer &= ~KVMX_WALK_EFER_NXE;
    if (c.smep)
      cfg.cr4 |= KVMX_WALK_CR4_SMEP;
    // Not-present fetch, supervisor and user.
    u32 id = c.id ? EC_ID : 0;
    EXPECT_TRUE(IsPf(Walk(mem, cfg, 0x1000, kFetch), id, 0x1000,
                     TopLevel(c.mode)));
    cfg.cpl = 3;
    EXPECT_TRUE(IsPf(Walk(mem, cfg, 0x1000, kFetch), id | EC_U, 0x1000,
                     TopLevel(c.mode)));
    // Data accesses never set it.
    EXPECT_TRUE(IsPf(Walk(mem, cfg, 0x1000, kRead), EC_U, 0x1000,
                     TopLevel(c.mode)));
    // Fetch wins over write if both are given.
    EXPECT_TRUE(IsPf(Walk(mem, cfg, 0x1000, kFetch | kWrite), id | EC_U,
                     0x1000, TopLevel(c.mode)));
  }
}

TEST(WalkPerm, EffectivePermissionsCombineLevels) {
  GuestMem mem;
  PageTables pt(mem, Mode::k4);
  u64 la = 0x40201000;
  pt.Map(la, 0x5000, 1);
  pt.ClearEntry(la, 3, RW);
  pt.OrEntry(la, 4, XD);
  Outcome o = Walk(mem, pt.Cfg(), la, kRead);
  ASSERT_TRUE(IsOk(o));
  EXPECT_EQ(o.res.perm, KVMX_WALK_PERM_U);
  EXPECT_EQ(o.res.level, 1);
  pt.ClearEntry(la, 2, US);
  o = Walk(mem, pt.Cfg(), la, kRead);
  ASSERT_TRUE(IsOk(o));
  EXPECT_EQ(o.res.perm, 0u);
}

TEST(WalkPerm, PaePdpteDoesNotRestrict) {
  // PDPTE bits 1 and 2 are reserved, so a PDPTE can't restrict anything;
  // the PDE and PTE alone decide.
  GuestMem mem;
  PageTables pt(mem, Mode::kPae);
  u64 la = 0xc0001000;
  pt.Map(la, 0x5000, 1);
  kvmx_walk_cfg cfg = pt.Cfg();
  cfg.cpl = 3;
  EXPECT_EQ(cfg.pdptes[3] & (RW | US), 0u);
  Outcome o = Walk(mem, cfg, la, kWrite);
  ASSERT_TRUE(IsOk(o));
  EXPECT_EQ(o.res.perm,
            KVMX_WALK_PERM_W | KVMX_WALK_PERM_U | KVMX_WALK_PERM_X);
}

// The check MOV to CR0/CR3/CR4 makes before loading a PDPTE (KVM's
// load_pdptrs()): bits 63:M, 8:5 and 2:1 of a present entry are reserved.
TEST(PaePdpteValid, ReservedBitsOfAPresentEntry) {
  const u64 table = 0x12345000;
  EXPECT_TRUE(kvmx_pae_pdpte_valid(table | P, 46));
  EXPECT_TRUE(kvmx_pae_pdpte_valid(0, 46));
  for (int bit : {1, 2, 5, 6, 7, 8, 46, 51, 52, 62, 63})
    EXPECT_FALSE(kvmx_pae_pdpte_valid(table | P | Bit(bit), 46)) << "bit " << bit;
  // PWT, PCD, the ignored bits 11:9 and address bits below M are not.
  for (int bit : {3, 4, 9, 10, 11, 12, 31, 32, 45})
    EXPECT_TRUE(kvmx_pae_pdpte_valid(table | P | Bit(bit), 46)) << "bit " << bit;
}

TEST(PaePdpteValid, NotPresentEntriesMayHoldAnything) {
  EXPECT_TRUE(kvmx_pae_pdpte_valid(~P, 46));
  EXPECT_TRUE(kvmx_pae_pdpte_valid(Bit(63) | Bit(5) | Bit(1), 36));
  EXPECT_FALSE(kvmx_pae_pdpte_valid(~0ULL, 46));
}

TEST(PaePdpteValid, MaxPhyAddrIsTheBoundaryClampedTo32To52) {
  EXPECT_TRUE(kvmx_pae_pdpte_valid(P | Bit(35), 36));
  EXPECT_FALSE(kvmx_pae_pdpte_valid(P | Bit(36), 36));
  EXPECT_TRUE(kvmx_pae_pdpte_valid(P | Bit(51), 52));
  EXPECT_FALSE(kvmx_pae_pdpte_valid(P | Bit(52), 52));
  // Out of range: as the walker, 32 and 52.
  EXPECT_FALSE(kvmx_pae_pdpte_valid(P | Bit(32), 20));
  EXPECT_TRUE(kvmx_pae_pdpte_valid(P | Bit(31), 20));
  EXPECT_TRUE(kvmx_pae_pdpte_valid(P | Bit(51), 64));
  EXPECT_FALSE(kvmx_pae_pdpte_valid(P | Bit(52), 255));
  EXPECT_EQ(kvmx_pae_pdpte_rsvd(40), KVMX_GENMASK(63, 40) | 0x1e6ULL);
}

// The walker and the load agree: a PDPTE the load refuses faults RSVD
// (an address bit below M may name a missing table: not RSVD).
TEST(PaePdpteValid, AgreesWithTheWalker) {
  for (int bit = 1; bit < 64; bit++) {
    GuestMem mem;
    PageTables pt(mem, Mode::kPae, 40);
    u64 la = 0x40000000;
    pt.Map(la, 0, 1);
    kvmx_walk_cfg cfg = pt.Cfg();
    cfg.pdptes[1] |= Bit(bit);
    bool valid = kvmx_pae_pdpte_valid(cfg.pdptes[1], 40);
    Outcome o = Walk(mem, cfg, la, kRead);
    bool rsvd_pf = o.status == KVMX_WALK_PF && (o.res.error_code & EC_RSVD);
    EXPECT_EQ(!valid, rsvd_pf) << "bit " << bit;
  }
}

}  // namespace
