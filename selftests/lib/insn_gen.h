// SPDX-License-Identifier: GPL-2.0
// Seeded random guest programs for differential fuzzing (diff_fuzz.cc):
// a program is a function of (seed, index) alone, so each side of the
// comparison, and anyone reproducing a divergence, regenerates it.
//
// Two kinds:
//   "insns"  instructions encoded from the memory forms kvmx's MMIO emulator
//            decodes (kvmx/emulate/emulate.h's list: ALU, MOV, MOVZX/SX,
//            TEST, XCHG, NOT, NEG, INC, DEC, BT*, MOV moffs, MOVS, STOS,
//            LODS) with random prefixes (66 67 segment LOCK REP REX),
//            ModRM, SIB, displacements and immediates, plus a few forms it
//            does not implement (PUSH/POP m, CMPXCHG, XADD, shifts, IMUL,
//            CMPS, SCAS, MOV m,Sreg) and port I/O; before each one, MOVs set
//            the registers its address uses so that its operand lands where
//            the generator chose: MMIO, RAM, or across the two.
//   "bytes"  random bytes, biased towards prefixes and the emulator's
//            opcodes, with registers pointing at MMIO, RAM or anywhere.
//
// No program executes an instruction that could clear RFLAGS.IF (CLI,
// POPF, IRET: a guest spinning with IF=0 freezes Bochs) or whose result is
// not a function of the program (RDTSC, RDTSCP, RDPMC, RDRAND, RDSEED,
// RDMSR, WRMSR): "insns" programs have none by construction, and filter()
// takes their bytes out of "bytes" programs and of the data page.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tiny_guest.h"

namespace kvmx::insn_gen {

using test::GuestMode;

// Guest-physical layout besides TinyGuest's code page and tables.
constexpr uint64_t kDataGpa = 0x8000;	 // 4 KiB of RAM, random contents
constexpr uint64_t kHandlerGpa = 0xa000; // 4 KiB of HLT: vector v's handler at +v
constexpr uint64_t kIdtVectors = 32;	 // protected modes; real mode has 256
constexpr uint64_t kStackTop = 0x1ff0;
constexpr long kTimeoutUsec = 100000;	 // per program

extern const char *const kRegNames[16];

// A 64-bit mixing function (splitmix64's finalizer).
uint64_t mix(uint64_t x);
const char *mode_name(GuestMode mode);

// One generated memory instruction, for tests of the generator.
struct Target {
	size_t offset;	 // of the instruction in the code
	uint64_t la;	 // linear address the generator aimed its operand at
	bool exact;	 // the registers were solved to hit la exactly
	bool emulated;	 // kvmx's emulator implements this form
	uint64_t gpr[16]; // the registers when it runs
};

struct Program {
	GuestMode mode = GuestMode::kReal;
	const char *kind = "";
	std::vector<uint8_t> code;
	uint64_t gpr[16] = {};		// hardware order
	uint64_t rflags = 0x202;
	uint16_t seg_sel[6] = {};	// real mode: ES CS SS DS FS GS (base = sel << 4)
	uint64_t fs_base = 0, gs_base = 0; // 64-bit mode
	std::vector<uint8_t> data;	// kDataGpa's contents
	uint64_t insns = 0;		// instructions generated ("insns" kind)
	std::vector<Target> targets;
};

Program generate(uint64_t seed, uint64_t index);

// Replace what may not run (see above) in @code, in place.
void filter(std::vector<uint8_t> &code);

} // namespace kvmx::insn_gen
