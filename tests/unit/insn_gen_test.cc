// SPDX-License-Identifier: GPL-2.0
// diff_fuzz's program generator (selftests/lib/insn_gen.cc): programs are
// a function of (seed, index); the instructions it encodes from the
// emulator's forms decode, in kvmx's own decoder, to operands at the
// addresses the generator aimed at (so programs really do MMIO); the forms
// it marks as not emulated are ones the decoder rejects; and nothing that
// may clear IF or read time survives in random bytes.
#include <cstring>

#include <gtest/gtest.h>

#include "lib/insn_gen.h"

extern "C" {
#include "emulate/emulate.h"
}

namespace {

using namespace kvmx::insn_gen;

kvmx_emu_mode EmuMode(GuestMode m)
{
	return m == GuestMode::kReal ? KVMX_EMU_MODE_16 :
	       m == GuestMode::kProtected32 ? KVMX_EMU_MODE_32 : KVMX_EMU_MODE_64;
}

TEST(InsnGen, SameSeedAndIndexSameProgram)
{
	for (uint64_t i = 0; i < 200; i++) {
		Program a = generate(7, i), b = generate(7, i);
		EXPECT_EQ(a.code, b.code);
		EXPECT_EQ(a.data, b.data);
		EXPECT_EQ(0, std::memcmp(a.gpr, b.gpr, sizeof(a.gpr)));
		EXPECT_EQ(a.rflags, b.rflags);
		EXPECT_EQ(a.mode, b.mode);
	}
	EXPECT_NE(generate(7, 0).code, generate(8, 0).code);
}

TEST(InsnGen, OperandsLandWhereAimed)
{
	int exact = 0, hit = 0, rejected = 0, unemulated = 0, modes[3] = {};

	for (uint64_t i = 0; i < 5000; i++) {
		const Program p = generate(1, i);
		for (const Target &t : p.targets) {
			kvmx_emu_ctxt c{};
			kvmx_emu_insn insn;
			c.mode = EmuMode(p.mode);
			std::memcpy(c.regs.gpr, t.gpr, sizeof(c.regs.gpr));
			c.regs.rip = 0x1000 + t.offset;
			for (int s = 0; s < KVMX_EMU_NR_SEGS; s++)
				c.seg_base[s] = p.mode == GuestMode::kReal ? uint64_t{p.seg_sel[s]} << 4 : 0;
			c.seg_base[KVMX_EMU_SEG_FS] += p.fs_base;
			c.seg_base[KVMX_EMU_SEG_GS] += p.gs_base;
			c.insn_len = static_cast<uint8_t>(
				std::min<size_t>(KVMX_EMU_MAX_INSN_LEN, p.code.size() - t.offset));
			std::memcpy(c.insn_bytes, p.code.data() + t.offset, c.insn_len);
			const int r = kvmx_emu_decode(&c, &insn);
			SCOPED_TRACE(::testing::Message() << "program " << i << " offset " << t.offset);
			if (!t.emulated) {
				unemulated++;
				EXPECT_EQ(r, KVMX_EMU_UNHANDLEABLE);
				continue;
			}
			// A LOCK on a form that takes none is #UD; everything else decodes.
			if (r == KVMX_EMU_FAULT) {
				rejected++;
				EXPECT_EQ(insn.fault.vector, KVMX_EMU_UD_VECTOR);
				continue;
			}
			ASSERT_EQ(r, KVMX_EMU_DONE);
			if (!t.exact)
				continue;
			exact++;
			modes[static_cast<int>(p.mode)]++;
			hit += insn.la == t.la;
			EXPECT_EQ(insn.la, t.la);
		}
	}
	EXPECT_EQ(hit, exact);
	EXPECT_GT(exact, 3000);
	EXPECT_GT(unemulated, 100);
	EXPECT_LT(rejected, exact / 10);
	for (int m : modes)
		EXPECT_GT(m, 500);
}

TEST(InsnGen, FilterTakesOutWhatMayNotRun)
{
	std::vector<uint8_t> b = {0xfa, 0x9d, 0xcf, 0x0f, 0x31, 0x0f, 0x30, 0x0f, 0x32,
				  0x0f, 0x33, 0x0f, 0x01, 0xf9, 0x0f, 0xc7, 0xf0, 0x0f, 0xc7, 0xf8};
	filter(b);
	const std::vector<uint8_t> want = {0x90, 0x90, 0x90, 0x0f, 0x0b, 0x0f, 0x0b, 0x0f, 0x0b,
					   0x0f, 0x0b, 0x0f, 0x01, 0xd0, 0x0f, 0xc7, 0xd0, 0x0f,
					   0xc7, 0xd8};
	EXPECT_EQ(b, want);

	for (uint64_t i = 0; i < 3000; i++) {
		const Program p = generate(3, i);
		if (std::string(p.kind) != "bytes")
			continue;
		std::vector<uint8_t> again = p.code;
		filter(again);
		EXPECT_EQ(again, p.code) << "program " << i;
		for (uint8_t x : p.code)
			EXPECT_TRUE(x != 0xfa && x != 0x9d && x != 0xcf);
	}
}

} // namespace
