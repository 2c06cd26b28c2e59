// SPDX-License-Identifier: GPL-2.0
//
// Decoder tests for kvmx/emulate: a table of encodings in 16-, 32- and
// 64-bit modes with the expected operation, sizes, direction and linear
// address, plus prefixes, unsupported forms, faults and garbage.
//
// The table's bytes were produced by GNU as from the assembly text in each
// row, and its linear addresses were computed from that text (not by the
// decoder) with the register state and segment bases of MakeCtxt() below.

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

extern "C" {
#include "emulate/emulate.h"
}

namespace {

constexpr u64 kGpr[16] = {
	0x1122334455667788ULL,	// rax
	0x0000000000000003ULL,	// rcx
	0xffffffff80000010ULL,	// rdx
	0x00007f0000001000ULL,	// rbx
	0x00007ffffffde000ULL,	// rsp
	0x00007ffffffdfff0ULL,	// rbp
	0x00000000fffffff8ULL,	// rsi
	0x0000555500002000ULL,	// rdi
	0x0000000000000008ULL,	// r8
	0xfffffffffffffff0ULL,	// r9
	0x0000000000000100ULL,	// r10
	0x0000000100000000ULL,	// r11
	0x00007f0000003000ULL,	// r12
	0x00007f0000004000ULL,	// r13
	0x0000000000000020ULL,	// r14
	0x00007f0000005000ULL,	// r15
};

constexpr u64 kSeg64[6] = {0x1000000, 0x2000000, 0x3000000, 0x4000000, 0x00007f1200000000ULL,
			   0xffff888000000000ULL};
constexpr u64 kSeg32[6] = {0x10000, 0x20000, 0x30000, 0x40000, 0x50000, 0xfff00000};

std::vector<u8> ParseHex(const std::string &hex)
{
	std::vector<u8> out;

	for (size_t i = 0; i + 2 <= hex.size(); i += 3)
		out.push_back(static_cast<u8>(std::stoul(hex.substr(i, 2), nullptr, 16)));
	return out;
}

kvmx_emu_ctxt MakeCtxt(kvmx_emu_mode mode, const std::vector<u8> &bytes)
{
	kvmx_emu_ctxt c{};

	for (int i = 0; i < 16; i++)
		c.regs.gpr[i] = kGpr[i];
	c.regs.rip = mode == KVMX_EMU_MODE_64 ? 0x400000 : mode == KVMX_EMU_MODE_32 ? 0x401000 : 0x100;
	c.regs.rflags = 0x2;
	for (int i = 0; i < 6; i++)
		c.seg_base[i] = mode == KVMX_EMU_MODE_64 ? kSeg64[i] : kSeg32[i];
	c.mode = mode;
	c.insn_len = static_cast<u8>(std::min<size_t>(bytes.size(), KVMX_EMU_MAX_INSN_LEN));
	for (size_t i = 0; i < c.insn_len; i++)
		c.insn_bytes[i] = bytes[i];
	return c;
}

constexpr kvmx_emu_mode M16 = KVMX_EMU_MODE_16;
constexpr kvmx_emu_mode M32 = KVMX_EMU_MODE_32;
constexpr kvmx_emu_mode M64 = KVMX_EMU_MODE_64;
#define OP(x) KVMX_EMU_OP_##x
#define DIR(x) KVMX_EMU_DIR_##x

struct Row {
	kvmx_emu_mode mode;
	const char *text;
	const char *hex;
	int op;
	int op_bytes;
	int mem_bytes;
	int dir;
	u64 la;
	u64 la2;
};

const Row kRows[] = {
	{M64, "mov byte ptr [rbx], ah", "88 23", OP(MOV), 1, 1, DIR(WRITE), 0x7f0000001000ULL, 0x0ULL},
	{M64, "mov bh, byte ptr [rsp]", "8a 3c 24", OP(MOV), 1, 1, DIR(READ), 0x7ffffffde000ULL, 0x0ULL},
	{M64, "mov byte ptr [rsp+0x8], cl", "88 4c 24 08", OP(MOV), 1, 1, DIR(WRITE), 0x7ffffffde008ULL, 0x0ULL},
	{M64, "mov dil, byte ptr [r13]", "41 8a 7d 00", OP(MOV), 1, 1, DIR(READ), 0x7f0000004000ULL, 0x0ULL},
	{M64, "mov bh, byte ptr fs:[rax]", "64 8a 38", OP(MOV), 1, 1, DIR(READ), 0x1122b25655667788ULL, 0x0ULL},
	{M64, "mov byte ptr gs:[rdi+0x20], 0x5a", "65 c6 47 20 5a", OP(MOV), 1, 1, DIR(WRITE), 0xffffddd500002020ULL, 0x0ULL},
	{M64, "add byte ptr es:[rbx], dil", "26 40 00 3b", OP(ADD), 1, 1, DIR(RMW), 0x7f0000001000ULL, 0x0ULL},
	{M64, "add r15b, byte ptr [ebp+0x7f]", "67 44 02 7d 7f", OP(ADD), 1, 1, DIR(READ), 0xfffe006fULL, 0x0ULL},
	{M64, "add byte ptr [eip+0x10], 0x7f", "67 80 05 10 00 00 00 7f", OP(ADD), 1, 1, DIR(RMW), 0x400018ULL, 0x0ULL},
	{M64, "or byte ptr [r9+r8*1+0x12345678], sil", "43 08 b4 01 78 56 34 12", OP(OR), 1, 1, DIR(RMW), 0x12345670ULL, 0x0ULL},
	{M64, "or r10b, byte ptr gs:[0x10]", "65 44 0a 14 25 10 00 00 00", OP(OR), 1, 1, DIR(READ), 0xffff888000000010ULL, 0x0ULL},
	{M64, "or byte ptr [rsi+rsi*1], 0x7f", "80 0c 36 7f", OP(OR), 1, 1, DIR(RMW), 0x1fffffff0ULL, 0x0ULL},
	{M64, "adc byte ptr [r11*8], al", "42 10 04 dd 00 00 00 00", OP(ADC), 1, 1, DIR(RMW), 0x800000000ULL, 0x0ULL},
	{M64, "adc byte ptr [rip-0x8], 0x7f", "80 15 f8 ff ff ff 7f", OP(ADC), 1, 1, DIR(RMW), 0x3fffffULL, 0x0ULL},
	{M64, "sbb byte ptr [esi+0x10], cl", "67 18 4e 10", OP(SBB), 1, 1, DIR(RMW), 0x8ULL, 0x0ULL},
	{M64, "sbb dil, byte ptr [rdx+r10*8+0x80]", "42 1a bc d2 80 00 00 00", OP(SBB), 1, 1, DIR(READ), 0xffffffff80000890ULL, 0x0ULL},
	{M64, "sbb byte ptr [rbx], 0x7f", "80 1b 7f", OP(SBB), 1, 1, DIR(RMW), 0x7f0000001000ULL, 0x0ULL},
	{M64, "and byte ptr [rbx+0x10], bh", "20 7b 10", OP(AND), 1, 1, DIR(RMW), 0x7f0000001010ULL, 0x0ULL},
	{M64, "and sil, byte ptr [rsp+0x8]", "40 22 74 24 08", OP(AND), 1, 1, DIR(READ), 0x7ffffffde008ULL, 0x0ULL},
	{M64, "and byte ptr [rbx+rsi*4+0x10], 0x7f", "80 64 b3 10 7f", OP(AND), 1, 1, DIR(RMW), 0x7f0400000ff0ULL, 0x0ULL},
	{M64, "sub byte ptr [r12], r15b", "45 28 3c 24", OP(SUB), 1, 1, DIR(RMW), 0x7f0000003000ULL, 0x0ULL},
	{M64, "sub al, byte ptr [rip+0x100]", "2a 05 00 01 00 00", OP(SUB), 1, 1, DIR(READ), 0x400106ULL, 0x0ULL},
	{M64, "sub byte ptr [rax+rcx*2], 0x7f", "80 2c 48 7f", OP(SUB), 1, 1, DIR(RMW), 0x112233445566778eULL, 0x0ULL},
	{M64, "xor byte ptr fs:[rax], r10b", "64 44 30 10", OP(XOR), 1, 1, DIR(RMW), 0x1122b25655667788ULL, 0x0ULL},
	{M64, "xor cl, byte ptr ss:[rbx]", "36 32 0b", OP(XOR), 1, 1, DIR(READ), 0x7f0000001000ULL, 0x0ULL},
	{M64, "xor byte ptr [ebx+esi*2], 0x7f", "67 80 34 73 7f", OP(XOR), 1, 1, DIR(RMW), 0xff0ULL, 0x0ULL},
	{M64, "cmp byte ptr [ebp+0x7f], ah", "67 38 65 7f", OP(CMP), 1, 1, DIR(READ), 0xfffe006fULL, 0x0ULL},
	{M64, "cmp bh, byte ptr [rdx+0x7fffffff]", "3a ba ff ff ff 7f", OP(CMP), 1, 1, DIR(READ), 0xfULL, 0x0ULL},
	{M64, "cmp byte ptr [0x12345678], 0x7f", "80 3c 25 78 56 34 12 7f", OP(CMP), 1, 1, DIR(READ), 0x12345678ULL, 0x0ULL},
	{M64, "test byte ptr gs:[0x10], dil", "65 40 84 3c 25 10 00 00 00", OP(TEST), 1, 1, DIR(READ), 0xffff888000000010ULL, 0x0ULL},
	{M64, "test byte ptr [r11*8], 0x81", "42 f6 04 dd 00 00 00 00 81", OP(TEST), 1, 1, DIR(READ), 0x800000000ULL, 0x0ULL},
	{M64, "xchg bh, byte ptr [rip-0x8]", "86 3d f8 ff ff ff", OP(XCHG), 1, 1, DIR(RMW), 0x3ffffeULL, 0x0ULL},
	{M64, "not byte ptr [esi+0x10]", "67 f6 56 10", OP(NOT), 1, 1, DIR(RMW), 0x8ULL, 0x0ULL},
	{M64, "neg byte ptr cs:[rdi+r9*4]", "2e 42 f6 1c 8f", OP(NEG), 1, 1, DIR(RMW), 0x555500001fc0ULL, 0x0ULL},
	{M64, "inc byte ptr fs:[r9+0x10]", "64 41 fe 41 10", OP(INC), 1, 1, DIR(RMW), 0x7f1200000000ULL, 0x0ULL},
	{M64, "dec byte ptr [rdx+r10*8+0x80]", "42 fe 8c d2 80 00 00 00", OP(DEC), 1, 1, DIR(RMW), 0xffffffff80000890ULL, 0x0ULL},
	{M64, "lock add byte ptr [rbx], ah", "f0 00 23", OP(ADD), 1, 1, DIR(RMW), 0x7f0000001000ULL, 0x0ULL},
	{M64, "lock xchg byte ptr [rbp-0x80], sil", "f0 40 86 75 80", OP(XCHG), 1, 1, DIR(RMW), 0x7ffffffdff70ULL, 0x0ULL},
	{M64, "lock neg byte ptr [rsp+0x8]", "f0 f6 5c 24 08", OP(NEG), 1, 1, DIR(RMW), 0x7ffffffde008ULL, 0x0ULL},
	{M64, "lock dec byte ptr [rbx+rsi*4+0x10]", "f0 fe 4c b3 10", OP(DEC), 1, 1, DIR(RMW), 0x7f0400000ff0ULL, 0x0ULL},
	{M64, "mov word ptr [r12], cx", "66 41 89 0c 24", OP(MOV), 2, 2, DIR(WRITE), 0x7f0000003000ULL, 0x0ULL},
	{M64, "mov r9w, word ptr [rip+0x100]", "66 44 8b 0d 00 01 00 00", OP(MOV), 2, 2, DIR(READ), 0x400108ULL, 0x0ULL},
	{M64, "mov word ptr [rax+rcx*2], ax", "66 89 04 48", OP(MOV), 2, 2, DIR(WRITE), 0x112233445566778eULL, 0x0ULL},
	{M64, "mov cx, word ptr es:[rbx]", "26 66 8b 0b", OP(MOV), 2, 2, DIR(READ), 0x7f0000001000ULL, 0x0ULL},
	{M64, "mov word ptr ss:[rbx], r14w", "36 66 44 89 33", OP(MOV), 2, 2, DIR(WRITE), 0x7f0000001000ULL, 0x0ULL},
	{M64, "mov ax, word ptr [eip+0x10]", "67 66 8b 05 10 00 00 00", OP(MOV), 2, 2, DIR(READ), 0x400018ULL, 0x0ULL},
	{M64, "mov word ptr [r9+r8*1+0x12345678], 0x1234", "66 43 c7 84 01 78 56 34 12 34 12", OP(MOV), 2, 2, DIR(WRITE), 0x12345670ULL, 0x0ULL},
	{M64, "add word ptr [rdx+0x7fffffff], r14w", "66 44 01 b2 ff ff ff 7f", OP(ADD), 2, 2, DIR(RMW), 0xfULL, 0x0ULL},
	{M64, "add ax, word ptr [rsi+rsi*1]", "66 03 04 36", OP(ADD), 2, 2, DIR(READ), 0x1fffffff0ULL, 0x0ULL},
	{M64, "add word ptr [r11*8], 0x7f", "66 42 83 04 dd 00 00 00 00 7f", OP(ADD), 2, 2, DIR(RMW), 0x800000000ULL, 0x0ULL},
	{M64, "add word ptr [r12+r12*1], 0x1234", "66 43 81 04 24 34 12", OP(ADD), 2, 2, DIR(RMW), 0xfe0000006000ULL, 0x0ULL},
	{M64, "add word ptr [rbp], -2", "66 83 45 00 fe", OP(ADD), 2, 2, DIR(RMW), 0x7ffffffdfff0ULL, 0x0ULL},
	{M64, "or word ptr [r13+0x1], cx", "66 41 09 4d 01", OP(OR), 2, 2, DIR(RMW), 0x7f0000004001ULL, 0x0ULL},
	{M64, "or r9w, word ptr cs:[rdi+r9*4]", "2e 66 46 0b 0c 8f", OP(OR), 2, 2, DIR(READ), 0x555500001fc0ULL, 0x0ULL},
	{M64, "or word ptr fs:[r9+0x10], 0x7f", "64 66 41 83 49 10 7f", OP(OR), 2, 2, DIR(RMW), 0x7f1200000000ULL, 0x0ULL},
	{M64, "or word ptr [rdx+r10*8+0x80], 0x1234", "66 42 81 8c d2 80 00 00 00 34 12", OP(OR), 2, 2, DIR(RMW), 0xffffffff80000890ULL, 0x0ULL},
	{M64, "or word ptr [rbx], -2", "66 83 0b fe", OP(OR), 2, 2, DIR(RMW), 0x7f0000001000ULL, 0x0ULL},
	{M64, "adc word ptr [rbx+0x10], si", "66 11 73 10", OP(ADC), 2, 2, DIR(RMW), 0x7f0000001010ULL, 0x0ULL},
	{M64, "adc r14w, word ptr [rsp+0x8]", "66 44 13 74 24 08", OP(ADC), 2, 2, DIR(READ), 0x7ffffffde008ULL, 0x0ULL},
	{M64, "adc word ptr [rbx+rsi*4+0x10], 0x7f", "66 83 54 b3 10 7f", OP(ADC), 2, 2, DIR(RMW), 0x7f0400000ff0ULL, 0x0ULL},
	{M64, "adc word ptr [r12], 0x1234", "66 41 81 14 24 34 12", OP(ADC), 2, 2, DIR(RMW), 0x7f0000003000ULL, 0x0ULL},
	{M64, "adc word ptr [r13], -2", "66 41 83 55 00 fe", OP(ADC), 2, 2, DIR(RMW), 0x7f0000004000ULL, 0x0ULL},
	{M64, "sbb word ptr [r13+r14*8-0x4], ax", "66 43 19 44 f5 fc", OP(SBB), 2, 2, DIR(RMW), 0x7f00000040fcULL, 0x0ULL},
	{M64, "sbb cx, word ptr fs:[rax]", "64 66 1b 08", OP(SBB), 2, 2, DIR(READ), 0x1122b25655667788ULL, 0x0ULL},
	{M64, "sbb word ptr gs:[rdi+0x20], 0x7f", "65 66 83 5f 20 7f", OP(SBB), 2, 2, DIR(RMW), 0xffffddd500002020ULL, 0x0ULL},
	{M64, "sbb word ptr es:[rbx], 0x1234", "26 66 81 1b 34 12", OP(SBB), 2, 2, DIR(RMW), 0x7f0000001000ULL, 0x0ULL},
	{M64, "sbb word ptr ss:[rbx], -2", "36 66 83 1b fe", OP(SBB), 2, 2, DIR(RMW), 0x7f0000001000ULL, 0x0ULL},
	{M64, "and word ptr [ebx+esi*2], r9w", "67 66 44 21 0c 73", OP(AND), 2, 2, DIR(RMW), 0xff0ULL, 0x0ULL},
	{M64, "and si, word ptr [r9+r8*1+0x12345678]", "66 43 23 b4 01 78 56 34 12", OP(AND), 2, 2, DIR(READ), 0x12345670ULL, 0x0ULL},
	{M64, "and word ptr [rdx+0x7fffffff], 0x7f", "66 83 a2 ff ff ff 7f 7f", OP(AND), 2, 2, DIR(RMW), 0xfULL, 0x0ULL},
	{M64, "and word ptr [0x12345678], 0x1234", "66 81 24 25 78 56 34 12 34 12", OP(AND), 2, 2, DIR(RMW), 0x12345678ULL, 0x0ULL},
	{M64, "and word ptr gs:[0x10], -2", "65 66 83 24 25 10 00 00 00 fe", OP(AND), 2, 2, DIR(RMW), 0xffff888000000010ULL, 0x0ULL},
	{M64, "sub word ptr [rsi+rsi*1], r14w", "66 44 29 34 36", OP(SUB), 2, 2, DIR(RMW), 0x1fffffff0ULL, 0x0ULL},
	{M64, "sub ax, word ptr [rbp]", "66 2b 45 00", OP(SUB), 2, 2, DIR(READ), 0x7ffffffdfff0ULL, 0x0ULL},
	{M64, "sub word ptr [r13+0x1], 0x7f", "66 41 83 6d 01 7f", OP(SUB), 2, 2, DIR(RMW), 0x7f0000004001ULL, 0x0ULL},
	{M64, "sub word ptr [rip-0x8], 0x1234", "66 81 2d f8 ff ff ff 34 12", OP(SUB), 2, 2, DIR(RMW), 0x400001ULL, 0x0ULL},
	{M64, "sub word ptr [esi+0x10], -2", "67 66 83 6e 10 fe", OP(SUB), 2, 2, DIR(RMW), 0x8ULL, 0x0ULL},
	{M64, "xor word ptr cs:[rdi+r9*4], cx", "2e 66 42 31 0c 8f", OP(XOR), 2, 2, DIR(RMW), 0x555500001fc0ULL, 0x0ULL},
	{M64, "xor r9w, word ptr [rbx]", "66 44 33 0b", OP(XOR), 2, 2, DIR(READ), 0x7f0000001000ULL, 0x0ULL},
	{M64, "xor word ptr [rbx+0x10], 0x7f", "66 83 73 10 7f", OP(XOR), 2, 2, DIR(RMW), 0x7f0000001010ULL, 0x0ULL},
	{M64, "xor word ptr [rbp-0x80], 0x1234", "66 81 75 80 34 12", OP(XOR), 2, 2, DIR(RMW), 0x7ffffffdff70ULL, 0x0ULL},
	{M64, "xor word ptr [rsp], -2", "66 83 34 24 fe", OP(XOR), 2, 2, DIR(RMW), 0x7ffffffde000ULL, 0x0ULL},
	{M64, "cmp word ptr [rsp+0x8], si", "66 39 74 24 08", OP(CMP), 2, 2, DIR(READ), 0x7ffffffde008ULL, 0x0ULL},
	{M64, "cmp r14w, word ptr [r13]", "66 45 3b 75 00", OP(CMP), 2, 2, DIR(READ), 0x7f0000004000ULL, 0x0ULL},
	{M64, "cmp word ptr [r13+r14*8-0x4], 0x7f", "66 43 83 7c f5 fc 7f", OP(CMP), 2, 2, DIR(READ), 0x7f00000040fcULL, 0x0ULL},
	{M64, "cmp word ptr [rip+0x100], 0x1234", "66 81 3d 00 01 00 00 34 12", OP(CMP), 2, 2, DIR(READ), 0x400109ULL, 0x0ULL},
	{M64, "cmp word ptr [rax+rcx*2], -2", "66 83 3c 48 fe", OP(CMP), 2, 2, DIR(READ), 0x112233445566778eULL, 0x0ULL},
	{M64, "test word ptr fs:[rax], ax", "64 66 85 00", OP(TEST), 2, 2, DIR(READ), 0x1122b25655667788ULL, 0x0ULL},
	{M64, "test word ptr es:[rbx], 0x8001", "26 66 f7 03 01 80", OP(TEST), 2, 2, DIR(READ), 0x7f0000001000ULL, 0x0ULL},
	{M64, "xchg word ptr ss:[rbx], si", "36 66 87 33", OP(XCHG), 2, 2, DIR(RMW), 0x7f0000001000ULL, 0x0ULL},
	{M64, "xchg r14w, word ptr [eip+0x10]", "67 66 44 87 35 10 00 00 00", OP(XCHG), 2, 2, DIR(RMW), 0x400019ULL, 0x0ULL},
	{M64, "not word ptr [r9+r8*1+0x12345678]", "66 43 f7 94 01 78 56 34 12", OP(NOT), 2, 2, DIR(RMW), 0x12345670ULL, 0x0ULL},
	{M64, "neg word ptr [rdx+0x7fffffff]", "66 f7 9a ff ff ff 7f", OP(NEG), 2, 2, DIR(RMW), 0xfULL, 0x0ULL},
	{M64, "inc word ptr [0x12345678]", "66 ff 04 25 78 56 34 12", OP(INC), 2, 2, DIR(RMW), 0x12345678ULL, 0x0ULL},
	{M64, "dec word ptr gs:[0x10]", "65 66 ff 0c 25 10 00 00 00", OP(DEC), 2, 2, DIR(RMW), 0xffff888000000010ULL, 0x0ULL},
	{M64, "lock add word ptr [rsi+rsi*1], cx", "66 f0 01 0c 36", OP(ADD), 2, 2, DIR(RMW), 0x1fffffff0ULL, 0x0ULL},
	{M64, "lock xchg word ptr [r12+r12*1], si", "66 f0 43 87 34 24", OP(XCHG), 2, 2, DIR(RMW), 0xfe0000006000ULL, 0x0ULL},
	{M64, "lock neg word ptr [r13+0x1]", "66 f0 41 f7 5d 01", OP(NEG), 2, 2, DIR(RMW), 0x7f0000004001ULL, 0x0ULL},
	{M64, "lock dec word ptr [rip-0x8]", "66 f0 ff 0d f8 ff ff ff", OP(DEC), 2, 2, DIR(RMW), 0x400000ULL, 0x0ULL},
	{M64, "lock btc word ptr [esi+0x10], 3", "67 66 f0 0f ba 7e 10 03", OP(BTC), 2, 2, DIR(RMW), 0x8ULL, 0x0ULL},
	{M64, "movzx r9w, byte ptr fs:[r9+0x10]", "64 66 45 0f b6 49 10", OP(MOVZX), 2, 1, DIR(READ), 0x7f1200000000ULL, 0x0ULL},
	{M64, "movsx r14w, byte ptr [rbx]", "66 44 0f be 33", OP(MOVSX), 2, 1, DIR(READ), 0x7f0000001000ULL, 0x0ULL},
	{M64, "bt word ptr [rbp-0x80], cx", "66 0f a3 4d 80", OP(BT), 2, 2, DIR(READ), 0x7ffffffdff70ULL, 0x0ULL},
	{M64, "bt word ptr [rsp], 19", "66 0f ba 24 24 13", OP(BT), 2, 2, DIR(READ), 0x7ffffffde000ULL, 0x0ULL},
	{M64, "bts word ptr [rbx+rsi*4+0x10], r14w", "66 44 0f ab 74 b3 10", OP(BTS), 2, 2, DIR(RMW), 0x7f0400000ff4ULL, 0x0ULL},
	{M64, "bts word ptr [r12], 19", "66 41 0f ba 2c 24 13", OP(BTS), 2, 2, DIR(RMW), 0x7f0000003000ULL, 0x0ULL},
	{M64, "btr word ptr [r13+r14*8-0x4], r9w", "66 47 0f b3 4c f5 fc", OP(BTR), 2, 2, DIR(RMW), 0x7f00000040faULL, 0x0ULL},
	{M64, "btr word ptr [rip+0x100], 19", "66 0f ba 35 00 01 00 00 13", OP(BTR), 2, 2, DIR(RMW), 0x400109ULL, 0x0ULL},
	{M64, "btc word ptr fs:[rax], ax", "64 66 0f bb 00", OP(BTC), 2, 2, DIR(RMW), 0x1122b25655668678ULL, 0x0ULL},
	{M64, "btc word ptr gs:[rdi+0x20], 19", "65 66 0f ba 7f 20 13", OP(BTC), 2, 2, DIR(RMW), 0xffffddd500002020ULL, 0x0ULL},
	{M64, "mov dword ptr es:[rbx], eax", "26 89 03", OP(MOV), 4, 4, DIR(WRITE), 0x7f0000001000ULL, 0x0ULL},
	{M64, "mov ecx, dword ptr [ebp+0x7f]", "67 8b 4d 7f", OP(MOV), 4, 4, DIR(READ), 0xfffe006fULL, 0x0ULL},
	{M64, "mov dword ptr [eip+0x10], r14d", "67 44 89 35 10 00 00 00", OP(MOV), 4, 4, DIR(WRITE), 0x400018ULL, 0x0ULL},
	{M64, "mov ebp, dword ptr [0x12345678]", "8b 2c 25 78 56 34 12", OP(MOV), 4, 4, DIR(READ), 0x12345678ULL, 0x0ULL},
	{M64, "mov dword ptr gs:[0x10], r9d", "65 44 89 0c 25 10 00 00 00", OP(MOV), 4, 4, DIR(WRITE), 0xffff888000000010ULL, 0x0ULL},
	{M64, "mov esi, dword ptr [r12+r12*1]", "43 8b 34 24", OP(MOV), 4, 4, DIR(READ), 0xfe0000006000ULL, 0x0ULL},
	{M64, "mov dword ptr [rbp], 0x7abcdef0", "c7 45 00 f0 de bc 7a", OP(MOV), 4, 4, DIR(WRITE), 0x7ffffffdfff0ULL, 0x0ULL},
	{M64, "add dword ptr [r13+0x1], ecx", "41 01 4d 01", OP(ADD), 4, 4, DIR(RMW), 0x7f0000004001ULL, 0x0ULL},
	{M64, "add r9d, dword ptr cs:[rdi+r9*4]", "2e 46 03 0c 8f", OP(ADD), 4, 4, DIR(READ), 0x555500001fc0ULL, 0x0ULL},
	{M64, "add dword ptr fs:[r9+0x10], 0x7f", "64 41 83 41 10 7f", OP(ADD), 4, 4, DIR(RMW), 0x7f1200000000ULL, 0x0ULL},
	{M64, "add dword ptr [rdx+r10*8+0x80], 0x1234", "42 81 84 d2 80 00 00 00 34 12 00 00", OP(ADD), 4, 4, DIR(RMW), 0xffffffff80000890ULL, 0x0ULL},
	{M64, "add dword ptr [rbx], -2", "83 03 fe", OP(ADD), 4, 4, DIR(RMW), 0x7f0000001000ULL, 0x0ULL},
	{M64, "or dword ptr [rbx+0x10], r9d", "44 09 4b 10", OP(OR), 4, 4, DIR(RMW), 0x7f0000001010ULL, 0x0ULL},
	{M64, "or esi, dword ptr [rsp+0x8]", "0b 74 24 08", OP(OR), 4, 4, DIR(READ), 0x7ffffffde008ULL, 0x0ULL},
	{M64, "or dword ptr [rbx+rsi*4+0x10], 0x7f", "83 4c b3 10 7f", OP(OR), 4, 4, DIR(RMW), 0x7f0400000ff0ULL, 0x0ULL},
	{M64, "or dword ptr [r12], 0x1234", "41 81 0c 24 34 12 00 00", OP(OR), 4, 4, DIR(RMW), 0x7f0000003000ULL, 0x0ULL},
	{M64, "or dword ptr [r13], -2", "41 83 4d 00 fe", OP(OR), 4, 4, DIR(RMW), 0x7f0000004000ULL, 0x0ULL},
	{M64, "adc dword ptr [r13+r14*8-0x4], esi", "43 11 74 f5 fc", OP(ADC), 4, 4, DIR(RMW), 0x7f00000040fcULL, 0x0ULL},
	{M64, "adc r14d, dword ptr fs:[rax]", "64 44 13 30", OP(ADC), 4, 4, DIR(READ), 0x1122b25655667788ULL, 0x0ULL},
	{M64, "adc dword ptr gs:[rdi+0x20], 0x7f", "65 83 57 20 7f", OP(ADC), 4, 4, DIR(RMW), 0xffffddd500002020ULL, 0x0ULL},
	{M64, "adc dword ptr es:[rbx], 0x1234", "26 81 13 34 12 00 00", OP(ADC), 4, 4, DIR(RMW), 0x7f0000001000ULL, 0x0ULL},
	{M64, "adc dword ptr ss:[rbx], -2", "36 83 13 fe", OP(ADC), 4, 4, DIR(RMW), 0x7f0000001000ULL, 0x0ULL},
	{M64, "sbb dword ptr [ebx+esi*2], r14d", "67 44 19 34 73", OP(SBB), 4, 4, DIR(RMW), 0xff0ULL, 0x0ULL},
	{M64, "sbb ebp, dword ptr [r9+r8*1+0x12345678]", "43 1b ac 01 78 56 34 12", OP(SBB), 4, 4, DIR(READ), 0x12345670ULL, 0x0ULL},
	{M64, "sbb dword ptr [rdx+0x7fffffff], 0x7f", "83 9a ff ff ff 7f 7f", OP(SBB), 4, 4, DIR(RMW), 0xfULL, 0x0ULL},
	{M64, "sbb dword ptr [0x12345678], 0x1234", "81 1c 25 78 56 34 12 34 12 00 00", OP(SBB), 4, 4, DIR(RMW), 0x12345678ULL, 0x0ULL},
	{M64, "sbb dword ptr gs:[0x10], -2", "65 83 1c 25 10 00 00 00 fe", OP(SBB), 4, 4, DIR(RMW), 0xffff888000000010ULL, 0x0ULL},
	{M64, "and dword ptr [rsi+rsi*1], ebp", "21 2c 36", OP(AND), 4, 4, DIR(RMW), 0x1fffffff0ULL, 0x0ULL},
	{M64, "and eax, dword ptr [rbp]", "23 45 00", OP(AND), 4, 4, DIR(READ), 0x7ffffffdfff0ULL, 0x0ULL},
	{M64, "and dword ptr [r13+0x1], 0x7f", "41 83 65 01 7f", OP(AND), 4, 4, DIR(RMW), 0x7f0000004001ULL, 0x0ULL},
	{M64, "and dword ptr [rip-0x8], 0x1234", "81 25 f8 ff ff ff 34 12 00 00", OP(AND), 4, 4, DIR(RMW), 0x400002ULL, 0x0ULL},
	{M64, "and dword ptr [esi+0x10], -2", "67 83 66 10 fe", OP(AND), 4, 4, DIR(RMW), 0x8ULL, 0x0ULL},
	{M64, "sub dword ptr cs:[rdi+r9*4], eax", "2e 42 29 04 8f", OP(SUB), 4, 4, DIR(RMW), 0x555500001fc0ULL, 0x0ULL},
	{M64, "sub ecx, dword ptr [rbx]", "2b 0b", OP(SUB), 4, 4, DIR(READ), 0x7f0000001000ULL, 0x0ULL},
	{M64, "sub dword ptr [rbx+0x10], 0x7f", "83 6b 10 7f", OP(SUB), 4, 4, DIR(RMW), 0x7f0000001010ULL, 0x0ULL},
	{M64, "sub dword ptr [rbp-0x80], 0x1234", "81 6d 80 34 12 00 00", OP(SUB), 4, 4, DIR(RMW), 0x7ffffffdff70ULL, 0x0ULL},
	{M64, "sub dword ptr [rsp], -2", "83 2c 24 fe", OP(SUB), 4, 4, DIR(RMW), 0x7ffffffde000ULL, 0x0ULL},
	{M64, "xor dword ptr [rsp+0x8], ecx", "31 4c 24 08", OP(XOR), 4, 4, DIR(RMW), 0x7ffffffde008ULL, 0x0ULL},
	{M64, "xor r9d, dword ptr [r13]", "45 33 4d 00", OP(XOR), 4, 4, DIR(READ), 0x7f0000004000ULL, 0x0ULL},
	{M64, "xor dword ptr [r13+r14*8-0x4], 0x7f", "43 83 74 f5 fc 7f", OP(XOR), 4, 4, DIR(RMW), 0x7f00000040fcULL, 0x0ULL},
	{M64, "xor dword ptr [rip+0x100], 0x1234", "81 35 00 01 00 00 34 12 00 00", OP(XOR), 4, 4, DIR(RMW), 0x40010aULL, 0x0ULL},
	{M64, "xor dword ptr [rax+rcx*2], -2", "83 34 48 fe", OP(XOR), 4, 4, DIR(RMW), 0x112233445566778eULL, 0x0ULL},
	{M64, "cmp dword ptr fs:[rax], r9d", "64 44 39 08", OP(CMP), 4, 4, DIR(READ), 0x1122b25655667788ULL, 0x0ULL},
	{M64, "cmp esi, dword ptr ss:[rbx]", "36 3b 33", OP(CMP), 4, 4, DIR(READ), 0x7f0000001000ULL, 0x0ULL},
	{M64, "cmp dword ptr [ebx+esi*2], 0x7f", "67 83 3c 73 7f", OP(CMP), 4, 4, DIR(READ), 0xff0ULL, 0x0ULL},
	{M64, "cmp dword ptr [ebp+0x7f], 0x1234", "67 81 7d 7f 34 12 00 00", OP(CMP), 4, 4, DIR(READ), 0xfffe006fULL, 0x0ULL},
	{M64, "cmp dword ptr [eip+0x10], -2", "67 83 3d 10 00 00 00 fe", OP(CMP), 4, 4, DIR(READ), 0x400018ULL, 0x0ULL},
	{M64, "test dword ptr [r9+r8*1+0x12345678], esi", "43 85 b4 01 78 56 34 12", OP(TEST), 4, 4, DIR(READ), 0x12345670ULL, 0x0ULL},
	{M64, "test dword ptr [0x12345678], 0x8001", "f7 04 25 78 56 34 12 01 80 00 00", OP(TEST), 4, 4, DIR(READ), 0x12345678ULL, 0x0ULL},
	{M64, "xchg dword ptr gs:[0x10], eax", "65 87 04 25 10 00 00 00", OP(XCHG), 4, 4, DIR(RMW), 0xffff888000000010ULL, 0x0ULL},
	{M64, "xchg ecx, dword ptr [r12+r12*1]", "43 87 0c 24", OP(XCHG), 4, 4, DIR(RMW), 0xfe0000006000ULL, 0x0ULL},
	{M64, "not dword ptr [rbp]", "f7 55 00", OP(NOT), 4, 4, DIR(RMW), 0x7ffffffdfff0ULL, 0x0ULL},
	{M64, "neg dword ptr [r13+0x1]", "41 f7 5d 01", OP(NEG), 4, 4, DIR(RMW), 0x7f0000004001ULL, 0x0ULL},
	{M64, "inc dword ptr [rip-0x8]", "ff 05 f8 ff ff ff", OP(INC), 4, 4, DIR(RMW), 0x3ffffeULL, 0x0ULL},
	{M64, "dec dword ptr [esi+0x10]", "67 ff 4e 10", OP(DEC), 4, 4, DIR(RMW), 0x8ULL, 0x0ULL},
	{M64, "lock add dword ptr cs:[rdi+r9*4], r9d", "2e f0 46 01 0c 8f", OP(ADD), 4, 4, DIR(RMW), 0x555500001fc0ULL, 0x0ULL},
	{M64, "lock xchg dword ptr [rdx+r10*8+0x80], r14d", "f0 46 87 b4 d2 80 00 00 00", OP(XCHG), 4, 4, DIR(RMW), 0xffffffff80000890ULL, 0x0ULL},
	{M64, "lock neg dword ptr [rbx+0x10]", "f0 f7 5b 10", OP(NEG), 4, 4, DIR(RMW), 0x7f0000001010ULL, 0x0ULL},
	{M64, "lock dec dword ptr [rbp-0x80]", "f0 ff 4d 80", OP(DEC), 4, 4, DIR(RMW), 0x7ffffffdff70ULL, 0x0ULL},
	{M64, "lock btc dword ptr [rsp], 3", "f0 0f ba 3c 24 03", OP(BTC), 4, 4, DIR(RMW), 0x7ffffffde000ULL, 0x0ULL},
	{M64, "movzx r9d, byte ptr [rbx+rsi*4+0x10]", "44 0f b6 4c b3 10", OP(MOVZX), 4, 1, DIR(READ), 0x7f0400000ff0ULL, 0x0ULL},
	{M64, "movzx r14d, word ptr [r13]", "45 0f b7 75 00", OP(MOVZX), 4, 2, DIR(READ), 0x7f0000004000ULL, 0x0ULL},
	{M64, "movsx eax, byte ptr [rip+0x100]", "0f be 05 00 01 00 00", OP(MOVSX), 4, 1, DIR(READ), 0x400107ULL, 0x0ULL},
	{M64, "movsx r9d, word ptr fs:[rax]", "64 44 0f bf 08", OP(MOVSX), 4, 2, DIR(READ), 0x1122b25655667788ULL, 0x0ULL},
	{M64, "bt dword ptr es:[rbx], r14d", "26 44 0f a3 33", OP(BT), 4, 4, DIR(READ), 0x7f0000001004ULL, 0x0ULL},
	{M64, "bt dword ptr ss:[rbx], 35", "36 0f ba 23 23", OP(BT), 4, 4, DIR(READ), 0x7f0000001000ULL, 0x0ULL},
	{M64, "bts dword ptr [ebp+0x7f], ecx", "67 0f ab 4d 7f", OP(BTS), 4, 4, DIR(RMW), 0xfffe006fULL, 0x0ULL},
	{M64, "bts dword ptr [eip+0x10], 35", "67 0f ba 2d 10 00 00 00 23", OP(BTS), 4, 4, DIR(RMW), 0x400019ULL, 0x0ULL},
	{M64, "btr dword ptr [rdx+0x7fffffff], r14d", "44 0f b3 b2 ff ff ff 7f", OP(BTR), 4, 4, DIR(RMW), 0x13ULL, 0x0ULL},
	{M64, "btr dword ptr [0x12345678], 35", "0f ba 34 25 78 56 34 12 23", OP(BTR), 4, 4, DIR(RMW), 0x12345678ULL, 0x0ULL},
	{M64, "btc dword ptr [rsi+rsi*1], ecx", "0f bb 0c 36", OP(BTC), 4, 4, DIR(RMW), 0x1fffffff0ULL, 0x0ULL},
	{M64, "btc dword ptr [r11*8], 35", "42 0f ba 3c dd 00 00 00 00 23", OP(BTC), 4, 4, DIR(RMW), 0x800000000ULL, 0x0ULL},
	{M64, "mov qword ptr [r12+r12*1], rcx", "4b 89 0c 24", OP(MOV), 8, 8, DIR(WRITE), 0xfe0000006000ULL, 0x0ULL},
	{M64, "mov r9, qword ptr [rip-0x8]", "4c 8b 0d f8 ff ff ff", OP(MOV), 8, 8, DIR(READ), 0x3fffffULL, 0x0ULL},
	{M64, "mov qword ptr [esi+0x10], rsp", "67 48 89 66 10", OP(MOV), 8, 8, DIR(WRITE), 0x8ULL, 0x0ULL},
	{M64, "mov r11, qword ptr [rdx+r10*8+0x80]", "4e 8b 9c d2 80 00 00 00", OP(MOV), 8, 8, DIR(READ), 0xffffffff80000890ULL, 0x0ULL},
	{M64, "mov qword ptr [rbx], r9", "4c 89 0b", OP(MOV), 8, 8, DIR(WRITE), 0x7f0000001000ULL, 0x0ULL},
	{M64, "mov rsi, qword ptr [rsp]", "48 8b 34 24", OP(MOV), 8, 8, DIR(READ), 0x7ffffffde000ULL, 0x0ULL},
	{M64, "mov qword ptr [rsp+0x8], 0x7abcdef0", "48 c7 44 24 08 f0 de bc 7a", OP(MOV), 8, 8, DIR(WRITE), 0x7ffffffde008ULL, 0x0ULL},
	{M64, "add qword ptr [rbx+rsi*4+0x10], rax", "48 01 44 b3 10", OP(ADD), 8, 8, DIR(RMW), 0x7f0400000ff0ULL, 0x0ULL},
	{M64, "add rcx, qword ptr [r13+r14*8-0x4]", "4b 03 4c f5 fc", OP(ADD), 8, 8, DIR(READ), 0x7f00000040fcULL, 0x0ULL},
	{M64, "add qword ptr [rip+0x100], 0x7f", "48 83 05 00 01 00 00 7f", OP(ADD), 8, 8, DIR(RMW), 0x400108ULL, 0x0ULL},
	{M64, "add qword ptr [rax+rcx*2], 0x1234", "48 81 04 48 34 12 00 00", OP(ADD), 8, 8, DIR(RMW), 0x112233445566778eULL, 0x0ULL},
	{M64, "add qword ptr fs:[rax], -2", "64 48 83 00 fe", OP(ADD), 8, 8, DIR(RMW), 0x1122b25655667788ULL, 0x0ULL},
	{M64, "or qword ptr gs:[rdi+0x20], rax", "65 48 09 47 20", OP(OR), 8, 8, DIR(RMW), 0xffffddd500002020ULL, 0x0ULL},
	{M64, "or rcx, qword ptr [ebx+esi*2]", "67 48 0b 0c 73", OP(OR), 8, 8, DIR(READ), 0xff0ULL, 0x0ULL},
	{M64, "or qword ptr [ebp+0x7f], 0x7f", "67 48 83 4d 7f 7f", OP(OR), 8, 8, DIR(RMW), 0xfffe006fULL, 0x0ULL},
	{M64, "or qword ptr [eip+0x10], 0x1234", "67 48 81 0d 10 00 00 00 34 12 00 00", OP(OR), 8, 8, DIR(RMW), 0x40001cULL, 0x0ULL},
	{M64, "or qword ptr [r9+r8*1+0x12345678], -2", "4b 83 8c 01 78 56 34 12 fe", OP(OR), 8, 8, DIR(RMW), 0x12345670ULL, 0x0ULL},
	{M64, "adc qword ptr [rdx+0x7fffffff], rax", "48 11 82 ff ff ff 7f", OP(ADC), 8, 8, DIR(RMW), 0xfULL, 0x0ULL},
	{M64, "adc rcx, qword ptr [rsi+rsi*1]", "48 13 0c 36", OP(ADC), 8, 8, DIR(READ), 0x1fffffff0ULL, 0x0ULL},
	{M64, "adc qword ptr [r11*8], 0x7f", "4a 83 14 dd 00 00 00 00 7f", OP(ADC), 8, 8, DIR(RMW), 0x800000000ULL, 0x0ULL},
	{M64, "adc qword ptr [r12+r12*1], 0x1234", "4b 81 14 24 34 12 00 00", OP(ADC), 8, 8, DIR(RMW), 0xfe0000006000ULL, 0x0ULL},
	{M64, "adc qword ptr [rbp], -2", "48 83 55 00 fe", OP(ADC), 8, 8, DIR(RMW), 0x7ffffffdfff0ULL, 0x0ULL},
	{M64, "sbb qword ptr [r13+0x1], rax", "49 19 45 01", OP(SBB), 8, 8, DIR(RMW), 0x7f0000004001ULL, 0x0ULL},
	{M64, "sbb rcx, qword ptr cs:[rdi+r9*4]", "2e 4a 1b 0c 8f", OP(SBB), 8, 8, DIR(READ), 0x555500001fc0ULL, 0x0ULL},
	{M64, "sbb qword ptr fs:[r9+0x10], 0x7f", "64 49 83 59 10 7f", OP(SBB), 8, 8, DIR(RMW), 0x7f1200000000ULL, 0x0ULL},
	{M64, "sbb qword ptr [rdx+r10*8+0x80], 0x1234", "4a 81 9c d2 80 00 00 00 34 12 00 00", OP(SBB), 8, 8, DIR(RMW), 0xffffffff80000890ULL, 0x0ULL},
	{M64, "sbb qword ptr [rbx], -2", "48 83 1b fe", OP(SBB), 8, 8, DIR(RMW), 0x7f0000001000ULL, 0x0ULL},
	{M64, "and qword ptr [rbx+0x10], rax", "48 21 43 10", OP(AND), 8, 8, DIR(RMW), 0x7f0000001010ULL, 0x0ULL},
	{M64, "and rcx, qword ptr [rsp+0x8]", "48 23 4c 24 08", OP(AND), 8, 8, DIR(READ), 0x7ffffffde008ULL, 0x0ULL},
	{M64, "and qword ptr [rbx+rsi*4+0x10], 0x7f", "48 83 64 b3 10 7f", OP(AND), 8, 8, DIR(RMW), 0x7f0400000ff0ULL, 0x0ULL},
	{M64, "and qword ptr [r12], 0x1234", "49 81 24 24 34 12 00 00", OP(AND), 8, 8, DIR(RMW), 0x7f0000003000ULL, 0x0ULL},
	{M64, "and qword ptr [r13], -2", "49 83 65 00 fe", OP(AND), 8, 8, DIR(RMW), 0x7f0000004000ULL, 0x0ULL},
	{M64, "sub qword ptr [r13+r14*8-0x4], rax", "4b 29 44 f5 fc", OP(SUB), 8, 8, DIR(RMW), 0x7f00000040fcULL, 0x0ULL},
	{M64, "sub rcx, qword ptr fs:[rax]", "64 48 2b 08", OP(SUB), 8, 8, DIR(READ), 0x1122b25655667788ULL, 0x0ULL},
	{M64, "sub qword ptr gs:[rdi+0x20], 0x7f", "65 48 83 6f 20 7f", OP(SUB), 8, 8, DIR(RMW), 0xffffddd500002020ULL, 0x0ULL},
	{M64, "sub qword ptr es:[rbx], 0x1234", "26 48 81 2b 34 12 00 00", OP(SUB), 8, 8, DIR(RMW), 0x7f0000001000ULL, 0x0ULL},
	{M64, "sub qword ptr ss:[rbx], -2", "36 48 83 2b fe", OP(SUB), 8, 8, DIR(RMW), 0x7f0000001000ULL, 0x0ULL},
	{M64, "xor qword ptr [ebx+esi*2], rax", "67 48 31 04 73", OP(XOR), 8, 8, DIR(RMW), 0xff0ULL, 0x0ULL},
	{M64, "xor rcx, qword ptr [r9+r8*1+0x12345678]", "4b 33 8c 01 78 56 34 12", OP(XOR), 8, 8, DIR(READ), 0x12345670ULL, 0x0ULL},
	{M64, "xor qword ptr [rdx+0x7fffffff], 0x7f", "48 83 b2 ff ff ff 7f 7f", OP(XOR), 8, 8, DIR(RMW), 0xfULL, 0x0ULL},
	{M64, "xor qword ptr [0x12345678], 0x1234", "48 81 34 25 78 56 34 12 34 12 00 00", OP(XOR), 8, 8, DIR(RMW), 0x12345678ULL, 0x0ULL},
	{M64, "xor qword ptr gs:[0x10], -2", "65 48 83 34 25 10 00 00 00 fe", OP(XOR), 8, 8, DIR(RMW), 0xffff888000000010ULL, 0x0ULL},
	{M64, "cmp qword ptr [rsi+rsi*1], rax", "48 39 04 36", OP(CMP), 8, 8, DIR(READ), 0x1fffffff0ULL, 0x0ULL},
	{M64, "cmp rcx, qword ptr [rbp]", "48 3b 4d 00", OP(CMP), 8, 8, DIR(READ), 0x7ffffffdfff0ULL, 0x0ULL},
	{M64, "cmp qword ptr [r13+0x1], 0x7f", "49 83 7d 01 7f", OP(CMP), 8, 8, DIR(READ), 0x7f0000004001ULL, 0x0ULL},
	{M64, "cmp qword ptr [rip-0x8], 0x1234", "48 81 3d f8 ff ff ff 34 12 00 00", OP(CMP), 8, 8, DIR(READ), 0x400003ULL, 0x0ULL},
	{M64, "cmp qword ptr [esi+0x10], -2", "67 48 83 7e 10 fe", OP(CMP), 8, 8, DIR(READ), 0x8ULL, 0x0ULL},
	{M64, "test qword ptr cs:[rdi+r9*4], rax", "2e 4a 85 04 8f", OP(TEST), 8, 8, DIR(READ), 0x555500001fc0ULL, 0x0ULL},
	{M64, "test qword ptr [rdx+r10*8+0x80], 0x8001", "4a f7 84 d2 80 00 00 00 01 80 00 00", OP(TEST), 8, 8, DIR(READ), 0xffffffff80000890ULL, 0x0ULL},
	{M64, "xchg qword ptr [rbx], rsi", "48 87 33", OP(XCHG), 8, 8, DIR(RMW), 0x7f0000001000ULL, 0x0ULL},
	{M64, "xchg r14, qword ptr [rsp]", "4c 87 34 24", OP(XCHG), 8, 8, DIR(RMW), 0x7ffffffde000ULL, 0x0ULL},
	{M64, "not qword ptr [rsp+0x8]", "48 f7 54 24 08", OP(NOT), 8, 8, DIR(RMW), 0x7ffffffde008ULL, 0x0ULL},
	{M64, "neg qword ptr [rbx+rsi*4+0x10]", "48 f7 5c b3 10", OP(NEG), 8, 8, DIR(RMW), 0x7f0400000ff0ULL, 0x0ULL},
	{M64, "inc qword ptr [r12]", "49 ff 04 24", OP(INC), 8, 8, DIR(RMW), 0x7f0000003000ULL, 0x0ULL},
	{M64, "dec qword ptr [r13]", "49 ff 4d 00", OP(DEC), 8, 8, DIR(RMW), 0x7f0000004000ULL, 0x0ULL},
	{M64, "lock add qword ptr [r13+r14*8-0x4], r14", "f0 4f 01 74 f5 fc", OP(ADD), 8, 8, DIR(RMW), 0x7f00000040fcULL, 0x0ULL},
	{M64, "lock xchg qword ptr [rax+rcx*2], r11", "f0 4c 87 1c 48", OP(XCHG), 8, 8, DIR(RMW), 0x112233445566778eULL, 0x0ULL},
	{M64, "lock neg qword ptr gs:[rdi+0x20]", "65 f0 48 f7 5f 20", OP(NEG), 8, 8, DIR(RMW), 0xffffddd500002020ULL, 0x0ULL},
	{M64, "lock dec qword ptr es:[rbx]", "26 f0 48 ff 0b", OP(DEC), 8, 8, DIR(RMW), 0x7f0000001000ULL, 0x0ULL},
	{M64, "lock btc qword ptr ss:[rbx], 3", "36 f0 48 0f ba 3b 03", OP(BTC), 8, 8, DIR(RMW), 0x7f0000001000ULL, 0x0ULL},
	{M64, "movzx rsi, byte ptr [ebp+0x7f]", "67 48 0f b6 75 7f", OP(MOVZX), 8, 1, DIR(READ), 0xfffe006fULL, 0x0ULL},
	{M64, "movzx rsp, word ptr [r9+r8*1+0x12345678]", "4b 0f b7 a4 01 78 56 34 12", OP(MOVZX), 8, 2, DIR(READ), 0x12345670ULL, 0x0ULL},
	{M64, "movsx rax, byte ptr [0x12345678]", "48 0f be 04 25 78 56 34 12", OP(MOVSX), 8, 1, DIR(READ), 0x12345678ULL, 0x0ULL},
	{M64, "movsx r9, word ptr [rsi+rsi*1]", "4c 0f bf 0c 36", OP(MOVSX), 8, 2, DIR(READ), 0x1fffffff0ULL, 0x0ULL},
	{M64, "bt qword ptr [r12+r12*1], r14", "4f 0f a3 34 24", OP(BT), 8, 8, DIR(READ), 0xfe0000006000ULL, 0x0ULL},
	{M64, "bt qword ptr [rbp], 67", "48 0f ba 65 00 43", OP(BT), 8, 8, DIR(READ), 0x7ffffffdfff0ULL, 0x0ULL},
	{M64, "bts qword ptr [rip-0x8], rax", "48 0f ab 05 f8 ff ff ff", OP(BTS), 8, 8, DIR(RMW), 0x22446688aeccef0ULL, 0x0ULL},
	{M64, "bts qword ptr [esi+0x10], 67", "67 48 0f ba 6e 10 43", OP(BTS), 8, 8, DIR(RMW), 0x8ULL, 0x0ULL},
	{M64, "btr qword ptr fs:[r9+0x10], rsi", "64 49 0f b3 71 10", OP(BTR), 8, 8, DIR(RMW), 0x7f121ffffff8ULL, 0x0ULL},
	{M64, "btr qword ptr [rdx+r10*8+0x80], 67", "4a 0f ba b4 d2 80 00 00 00 43", OP(BTR), 8, 8, DIR(RMW), 0xffffffff80000890ULL, 0x0ULL},
	{M64, "btc qword ptr [rbx+0x10], r11", "4c 0f bb 5b 10", OP(BTC), 8, 8, DIR(RMW), 0x7f0020001010ULL, 0x0ULL},
	{M64, "btc qword ptr [rbp-0x80], 67", "48 0f ba 7d 80 43", OP(BTC), 8, 8, DIR(RMW), 0x7ffffffdff70ULL, 0x0ULL},
	{M64, "movsxd r9, dword ptr [rsp+0x8]", "4c 63 4c 24 08", OP(MOVSX), 8, 4, DIR(READ), 0x7ffffffde008ULL, 0x0ULL},
	{M64, "movsxd r14, dword ptr [r12]", "4d 63 34 24", OP(MOVSX), 8, 4, DIR(READ), 0x7f0000003000ULL, 0x0ULL},
	{M64, "movsxd r11, dword ptr [r13+r14*8-0x4]", "4f 63 5c f5 fc", OP(MOVSX), 8, 4, DIR(READ), 0x7f00000040fcULL, 0x0ULL},
	{M64, ".byte 0x63, 0x03", "63 03", OP(MOVSX), 4, 4, DIR(READ), 0x7f0000001000ULL, 0x0ULL},
	{M64, ".byte 0x66, 0x63, 0x0b", "66 63 0b", OP(MOVSX), 2, 2, DIR(READ), 0x7f0000001000ULL, 0x0ULL},
	{M64, "movabs al, [0x1122334455667788]", "a0 88 77 66 55 44 33 22 11", OP(MOV), 1, 1, DIR(READ), 0x1122334455667788ULL, 0x0ULL},
	{M64, "movabs [0xfedcba9876543210], al", "a2 10 32 54 76 98 ba dc fe", OP(MOV), 1, 1, DIR(WRITE), 0xfedcba9876543210ULL, 0x0ULL},
	{M64, "movabs ax, [0x1122334455667788]", "66 a1 88 77 66 55 44 33 22 11", OP(MOV), 2, 2, DIR(READ), 0x1122334455667788ULL, 0x0ULL},
	{M64, "movabs [0xfedcba9876543210], ax", "66 a3 10 32 54 76 98 ba dc fe", OP(MOV), 2, 2, DIR(WRITE), 0xfedcba9876543210ULL, 0x0ULL},
	{M64, "movabs eax, [0x1122334455667788]", "a1 88 77 66 55 44 33 22 11", OP(MOV), 4, 4, DIR(READ), 0x1122334455667788ULL, 0x0ULL},
	{M64, "movabs [0xfedcba9876543210], eax", "a3 10 32 54 76 98 ba dc fe", OP(MOV), 4, 4, DIR(WRITE), 0xfedcba9876543210ULL, 0x0ULL},
	{M64, "movabs rax, [0x1122334455667788]", "48 a1 88 77 66 55 44 33 22 11", OP(MOV), 8, 8, DIR(READ), 0x1122334455667788ULL, 0x0ULL},
	{M64, "movabs [0xfedcba9876543210], rax", "48 a3 10 32 54 76 98 ba dc fe", OP(MOV), 8, 8, DIR(WRITE), 0xfedcba9876543210ULL, 0x0ULL},
	{M64, ".byte 0x67, 0xa1, 0x78, 0x56, 0x34, 0x12", "67 a1 78 56 34 12", OP(MOV), 4, 4, DIR(READ), 0x12345678ULL, 0x0ULL},
	{M64, ".byte 0x65, 0xa3, 0x10, 0, 0, 0, 0, 0, 0, 0", "65 a3 10 00 00 00 00 00 00 00", OP(MOV), 4, 4, DIR(WRITE), 0xffff888000000010ULL, 0x0ULL},
	{M64, ".byte 0x64, 0x48, 0xa2, 0x08, 0, 0, 0, 0, 0, 0, 0", "64 48 a2 08 00 00 00 00 00 00 00", OP(MOV), 1, 1, DIR(WRITE), 0x7f1200000008ULL, 0x0ULL},
	{M64, "movsb", "a4", OP(MOVS), 1, 1, DIR(COPY), 0xfffffff8ULL, 0x555500002000ULL},
	{M64, "stosb", "aa", OP(STOS), 1, 1, DIR(WRITE), 0x555500002000ULL, 0x0ULL},
	{M64, "lodsb", "ac", OP(LODS), 1, 1, DIR(READ), 0xfffffff8ULL, 0x0ULL},
	{M64, "rep movsb", "f3 a4", OP(MOVS), 1, 1, DIR(COPY), 0xfffffff8ULL, 0x555500002000ULL},
	{M64, "rep stosb", "f3 aa", OP(STOS), 1, 1, DIR(WRITE), 0x555500002000ULL, 0x0ULL},
	{M64, "rep lodsb", "f3 ac", OP(LODS), 1, 1, DIR(READ), 0xfffffff8ULL, 0x0ULL},
	{M64, "repne movsb", "f2 a4", OP(MOVS), 1, 1, DIR(COPY), 0xfffffff8ULL, 0x555500002000ULL},
	{M64, "repne stosb", "f2 aa", OP(STOS), 1, 1, DIR(WRITE), 0x555500002000ULL, 0x0ULL},
	{M64, "repne lodsb", "f2 ac", OP(LODS), 1, 1, DIR(READ), 0xfffffff8ULL, 0x0ULL},
	{M64, "rep movs byte ptr es:[edi], byte ptr fs:[esi]", "64 67 f3 a4", OP(MOVS), 1, 1, DIR(COPY), 0x7f12fffffff8ULL, 0x2000ULL},
	{M64, "stos byte ptr es:[edi], al", "67 aa", OP(STOS), 1, 1, DIR(WRITE), 0x2000ULL, 0x0ULL},
	{M64, "lods al, byte ptr gs:[esi]", "65 67 ac", OP(LODS), 1, 1, DIR(READ), 0xffff8880fffffff8ULL, 0x0ULL},
	{M64, "movsw", "66 a5", OP(MOVS), 2, 2, DIR(COPY), 0xfffffff8ULL, 0x555500002000ULL},
	{M64, "stosw", "66 ab", OP(STOS), 2, 2, DIR(WRITE), 0x555500002000ULL, 0x0ULL},
	{M64, "lodsw", "66 ad", OP(LODS), 2, 2, DIR(READ), 0xfffffff8ULL, 0x0ULL},
	{M64, "rep movsw", "66 f3 a5", OP(MOVS), 2, 2, DIR(COPY), 0xfffffff8ULL, 0x555500002000ULL},
	{M64, "rep stosw", "66 f3 ab", OP(STOS), 2, 2, DIR(WRITE), 0x555500002000ULL, 0x0ULL},
	{M64, "rep lodsw", "66 f3 ad", OP(LODS), 2, 2, DIR(READ), 0xfffffff8ULL, 0x0ULL},
	{M64, "repne movsw", "66 f2 a5", OP(MOVS), 2, 2, DIR(COPY), 0xfffffff8ULL, 0x555500002000ULL},
	{M64, "repne stosw", "66 f2 ab", OP(STOS), 2, 2, DIR(WRITE), 0x555500002000ULL, 0x0ULL},
	{M64, "repne lodsw", "66 f2 ad", OP(LODS), 2, 2, DIR(READ), 0xfffffff8ULL, 0x0ULL},
	{M64, "rep movs word ptr es:[edi], word ptr fs:[esi]", "64 67 66 f3 a5", OP(MOVS), 2, 2, DIR(COPY), 0x7f12fffffff8ULL, 0x2000ULL},
	{M64, "stos word ptr es:[edi], ax", "67 66 ab", OP(STOS), 2, 2, DIR(WRITE), 0x2000ULL, 0x0ULL},
	{M64, "lods ax, word ptr gs:[esi]", "65 67 66 ad", OP(LODS), 2, 2, DIR(READ), 0xffff8880fffffff8ULL, 0x0ULL},
	{M64, "movsd", "a5", OP(MOVS), 4, 4, DIR(COPY), 0xfffffff8ULL, 0x555500002000ULL},
	{M64, "stosd", "ab", OP(STOS), 4, 4, DIR(WRITE), 0x555500002000ULL, 0x0ULL},
	{M64, "lodsd", "ad", OP(LODS), 4, 4, DIR(READ), 0xfffffff8ULL, 0x0ULL},
	{M64, "rep movsd", "f3 a5", OP(MOVS), 4, 4, DIR(COPY), 0xfffffff8ULL, 0x555500002000ULL},
	{M64, "rep stosd", "f3 ab", OP(STOS), 4, 4, DIR(WRITE), 0x555500002000ULL, 0x0ULL},
	{M64, "rep lodsd", "f3 ad", OP(LODS), 4, 4, DIR(READ), 0xfffffff8ULL, 0x0ULL},
	{M64, "repne movsd", "f2 a5", OP(MOVS), 4, 4, DIR(COPY), 0xfffffff8ULL, 0x555500002000ULL},
	{M64, "repne stosd", "f2 ab", OP(STOS), 4, 4, DIR(WRITE), 0x555500002000ULL, 0x0ULL},
	{M64, "repne lodsd", "f2 ad", OP(LODS), 4, 4, DIR(READ), 0xfffffff8ULL, 0x0ULL},
	{M64, "rep movs dword ptr es:[edi], dword ptr fs:[esi]", "64 67 f3 a5", OP(MOVS), 4, 4, DIR(COPY), 0x7f12fffffff8ULL, 0x2000ULL},
	{M64, "stos dword ptr es:[edi], eax", "67 ab", OP(STOS), 4, 4, DIR(WRITE), 0x2000ULL, 0x0ULL},
	{M64, "lods eax, dword ptr gs:[esi]", "65 67 ad", OP(LODS), 4, 4, DIR(READ), 0xffff8880fffffff8ULL, 0x0ULL},
	{M64, "movsq", "48 a5", OP(MOVS), 8, 8, DIR(COPY), 0xfffffff8ULL, 0x555500002000ULL},
	{M64, "stosq", "48 ab", OP(STOS), 8, 8, DIR(WRITE), 0x555500002000ULL, 0x0ULL},
	{M64, "lodsq", "48 ad", OP(LODS), 8, 8, DIR(READ), 0xfffffff8ULL, 0x0ULL},
	{M64, "rep movsq", "f3 48 a5", OP(MOVS), 8, 8, DIR(COPY), 0xfffffff8ULL, 0x555500002000ULL},
	{M64, "rep stosq", "f3 48 ab", OP(STOS), 8, 8, DIR(WRITE), 0x555500002000ULL, 0x0ULL},
	{M64, "rep lodsq", "f3 48 ad", OP(LODS), 8, 8, DIR(READ), 0xfffffff8ULL, 0x0ULL},
	{M64, "repne movsq", "f2 48 a5", OP(MOVS), 8, 8, DIR(COPY), 0xfffffff8ULL, 0x555500002000ULL},
	{M64, "repne stosq", "f2 48 ab", OP(STOS), 8, 8, DIR(WRITE), 0x555500002000ULL, 0x0ULL},
	{M64, "repne lodsq", "f2 48 ad", OP(LODS), 8, 8, DIR(READ), 0xfffffff8ULL, 0x0ULL},
	{M64, "rep movs qword ptr es:[edi], qword ptr fs:[esi]", "64 67 f3 48 a5", OP(MOVS), 8, 8, DIR(COPY), 0x7f12fffffff8ULL, 0x2000ULL},
	{M64, "stos qword ptr es:[edi], rax", "67 48 ab", OP(STOS), 8, 8, DIR(WRITE), 0x2000ULL, 0x0ULL},
	{M64, "lods rax, qword ptr gs:[esi]", "65 67 48 ad", OP(LODS), 8, 8, DIR(READ), 0xffff8880fffffff8ULL, 0x0ULL},
	{M32, "mov byte ptr [ecx*2], dh", "88 34 4d 00 00 00 00", OP(MOV), 1, 1, DIR(WRITE), 0x40006ULL, 0x0ULL},
	{M32, "mov al, byte ptr [ebx]", "8a 03", OP(MOV), 1, 1, DIR(READ), 0x41000ULL, 0x0ULL},
	{M32, "mov byte ptr [ebx+0x10], cl", "88 4b 10", OP(MOV), 1, 1, DIR(WRITE), 0x41010ULL, 0x0ULL},
	{M32, "mov dh, byte ptr [esp]", "8a 34 24", OP(MOV), 1, 1, DIR(READ), 0xe000ULL, 0x0ULL},
	{M32, "mov byte ptr [esp+0x4], bh", "88 7c 24 04", OP(MOV), 1, 1, DIR(WRITE), 0xe004ULL, 0x0ULL},
	{M32, "mov cl, byte ptr [0x1234]", "8a 0d 34 12 00 00", OP(MOV), 1, 1, DIR(READ), 0x41234ULL, 0x0ULL},
	{M32, "mov byte ptr es:[ebx], 0x5a", "26 c6 03 5a", OP(MOV), 1, 1, DIR(WRITE), 0x11000ULL, 0x0ULL},
	{M32, "add byte ptr fs:[eax], bh", "64 00 38", OP(ADD), 1, 1, DIR(RMW), 0x556b7788ULL, 0x0ULL},
	{M32, "add cl, byte ptr cs:[esi]", "2e 02 0e", OP(ADD), 1, 1, DIR(READ), 0x1fff8ULL, 0x0ULL},
	{M32, "add byte ptr [bx+si], 0x7f", "67 80 00 7f", OP(ADD), 1, 1, DIR(RMW), 0x40ff8ULL, 0x0ULL},
	{M32, "or byte ptr [bp+di+0x4], bh", "67 08 7b 04", OP(OR), 1, 1, DIR(RMW), 0x31ff4ULL, 0x0ULL},
	{M32, "or cl, byte ptr gs:[esi+0x100000]", "65 0a 8e 00 00 10 00", OP(OR), 1, 1, DIR(READ), 0xfffffff8ULL, 0x0ULL},
	{M32, "or byte ptr [ecx*2], 0x7f", "80 0c 4d 00 00 00 00 7f", OP(OR), 1, 1, DIR(RMW), 0x40006ULL, 0x0ULL},
	{M32, "adc byte ptr [ebp+eax*1], bh", "10 7c 05 00", OP(ADC), 1, 1, DIR(RMW), 0x55677778ULL, 0x0ULL},
	{M32, "adc cl, byte ptr [ebx+0x10]", "12 4b 10", OP(ADC), 1, 1, DIR(READ), 0x41010ULL, 0x0ULL},
	{M32, "adc byte ptr [ebp-0x8], 0x7f", "80 55 f8 7f", OP(ADC), 1, 1, DIR(RMW), 0xffe8ULL, 0x0ULL},
	{M32, "sbb byte ptr [ebp], bh", "18 7d 00", OP(SBB), 1, 1, DIR(RMW), 0xfff0ULL, 0x0ULL},
	{M32, "sbb cl, byte ptr [ebx+esi*4+0x10]", "1a 4c b3 10", OP(SBB), 1, 1, DIR(READ), 0x40ff0ULL, 0x0ULL},
	{M32, "sbb byte ptr [eax+ecx*8-0x1000], 0x7f", "80 9c c8 00 f0 ff ff 7f", OP(SBB), 1, 1, DIR(RMW), 0x556a67a0ULL, 0x0ULL},
	{M32, "and byte ptr [0x1234], bh", "20 3d 34 12 00 00", OP(AND), 1, 1, DIR(RMW), 0x41234ULL, 0x0ULL},
	{M32, "and cl, byte ptr gs:[edx+0x20]", "65 22 4a 20", OP(AND), 1, 1, DIR(READ), 0x7ff00030ULL, 0x0ULL},
	{M32, "and byte ptr ss:[ebx], 0x7f", "36 80 23 7f", OP(AND), 1, 1, DIR(RMW), 0x31000ULL, 0x0ULL},
	{M32, "sub byte ptr cs:[esi], bh", "2e 28 3e", OP(SUB), 1, 1, DIR(RMW), 0x1fff8ULL, 0x0ULL},
	{M32, "sub cl, byte ptr [edx+0x7fffffff]", "2a 8a ff ff ff 7f", OP(SUB), 1, 1, DIR(READ), 0x4000fULL, 0x0ULL},
	{M32, "sub byte ptr [esi+0x10], 0x7f", "80 6e 10 7f", OP(SUB), 1, 1, DIR(RMW), 0x40008ULL, 0x0ULL},
	{M32, "xor byte ptr gs:[esi+0x100000], bh", "65 30 be 00 00 10 00", OP(XOR), 1, 1, DIR(RMW), 0xfffffff8ULL, 0x0ULL},
	{M32, "xor cl, byte ptr ds:[ebp]", "3e 32 4d 00", OP(XOR), 1, 1, DIR(READ), 0x1fff0ULL, 0x0ULL},
	{M32, "xor byte ptr [ebx], 0x7f", "80 33 7f", OP(XOR), 1, 1, DIR(RMW), 0x41000ULL, 0x0ULL},
	{M32, "cmp byte ptr [ebx+0x10], bh", "38 7b 10", OP(CMP), 1, 1, DIR(READ), 0x41010ULL, 0x0ULL},
	{M32, "cmp cl, byte ptr [esp]", "3a 0c 24", OP(CMP), 1, 1, DIR(READ), 0xe000ULL, 0x0ULL},
	{M32, "cmp byte ptr [esp+0x4], 0x7f", "80 7c 24 04 7f", OP(CMP), 1, 1, DIR(READ), 0xe004ULL, 0x0ULL},
	{M32, "test byte ptr [ebx+esi*4+0x10], bh", "84 7c b3 10", OP(TEST), 1, 1, DIR(READ), 0x40ff0ULL, 0x0ULL},
	{M32, "test byte ptr [0x1234], 0x81", "f6 05 34 12 00 00 81", OP(TEST), 1, 1, DIR(READ), 0x41234ULL, 0x0ULL},
	{M32, "xchg byte ptr es:[ebx], al", "26 86 03", OP(XCHG), 1, 1, DIR(RMW), 0x11000ULL, 0x0ULL},
	{M32, "xchg ah, byte ptr ss:[ebx]", "36 86 23", OP(XCHG), 1, 1, DIR(RMW), 0x31000ULL, 0x0ULL},
	{M32, "not byte ptr cs:[esi]", "2e f6 16", OP(NOT), 1, 1, DIR(RMW), 0x1fff8ULL, 0x0ULL},
	{M32, "neg byte ptr [bx+si]", "67 f6 18", OP(NEG), 1, 1, DIR(RMW), 0x40ff8ULL, 0x0ULL},
	{M32, "inc byte ptr [bp+di+0x4]", "67 fe 43 04", OP(INC), 1, 1, DIR(RMW), 0x31ff4ULL, 0x0ULL},
	{M32, "dec byte ptr [edx+0x7fffffff]", "fe 8a ff ff ff 7f", OP(DEC), 1, 1, DIR(RMW), 0x4000fULL, 0x0ULL},
	{M32, "lock add byte ptr [esi+0x10], cl", "f0 00 4e 10", OP(ADD), 1, 1, DIR(RMW), 0x40008ULL, 0x0ULL},
	{M32, "lock xchg byte ptr [ecx*2], al", "f0 86 04 4d 00 00 00 00", OP(XCHG), 1, 1, DIR(RMW), 0x40006ULL, 0x0ULL},
	{M32, "lock neg byte ptr ds:[ebp]", "3e f0 f6 5d 00", OP(NEG), 1, 1, DIR(RMW), 0x1fff0ULL, 0x0ULL},
	{M32, "lock dec byte ptr [ebx]", "f0 fe 0b", OP(DEC), 1, 1, DIR(RMW), 0x41000ULL, 0x0ULL},
	{M32, "mov word ptr [ebx+0x10], ax", "66 89 43 10", OP(MOV), 2, 2, DIR(WRITE), 0x41010ULL, 0x0ULL},
	{M32, "mov cx, word ptr [esp]", "66 8b 0c 24", OP(MOV), 2, 2, DIR(READ), 0xe000ULL, 0x0ULL},
	{M32, "mov word ptr [esp+0x4], ax", "66 89 44 24 04", OP(MOV), 2, 2, DIR(WRITE), 0xe004ULL, 0x0ULL},
	{M32, "mov cx, word ptr [0x1234]", "66 8b 0d 34 12 00 00", OP(MOV), 2, 2, DIR(READ), 0x41234ULL, 0x0ULL},
	{M32, "mov word ptr es:[ebx], ax", "26 66 89 03", OP(MOV), 2, 2, DIR(WRITE), 0x11000ULL, 0x0ULL},
	{M32, "mov cx, word ptr ss:[ebx]", "36 66 8b 0b", OP(MOV), 2, 2, DIR(READ), 0x31000ULL, 0x0ULL},
	{M32, "mov word ptr cs:[esi], 0x1234", "2e 66 c7 06 34 12", OP(MOV), 2, 2, DIR(WRITE), 0x1fff8ULL, 0x0ULL},
	{M32, "add word ptr [bx+si], cx", "67 66 01 08", OP(ADD), 2, 2, DIR(RMW), 0x40ff8ULL, 0x0ULL},
	{M32, "add si, word ptr [esi+0x10]", "66 03 76 10", OP(ADD), 2, 2, DIR(READ), 0x40008ULL, 0x0ULL},
	{M32, "add word ptr gs:[esi+0x100000], 0x7f", "65 66 83 86 00 00 10 00 7f", OP(ADD), 2, 2, DIR(RMW), 0xfffffff8ULL, 0x0ULL},
	{M32, "add word ptr [ecx*2], 0x1234", "66 81 04 4d 00 00 00 00 34 12", OP(ADD), 2, 2, DIR(RMW), 0x40006ULL, 0x0ULL},
	{M32, "add word ptr [ebp+eax*1], -2", "66 83 44 05 00 fe", OP(ADD), 2, 2, DIR(RMW), 0x55677778ULL, 0x0ULL},
	{M32, "or word ptr ds:[ebp], ax", "3e 66 09 45 00", OP(OR), 2, 2, DIR(RMW), 0x1fff0ULL, 0x0ULL},
	{M32, "or cx, word ptr [ebp-0x8]", "66 0b 4d f8", OP(OR), 2, 2, DIR(READ), 0xffe8ULL, 0x0ULL},
	{M32, "or word ptr [ebp], 0x7f", "66 83 4d 00 7f", OP(OR), 2, 2, DIR(RMW), 0xfff0ULL, 0x0ULL},
	{M32, "or word ptr [esp], 0x1234", "66 81 0c 24 34 12", OP(OR), 2, 2, DIR(RMW), 0xe000ULL, 0x0ULL},
	{M32, "or word ptr [esp+0x4], -2", "66 83 4c 24 04 fe", OP(OR), 2, 2, DIR(RMW), 0xe004ULL, 0x0ULL},
	{M32, "adc word ptr [ebx+esi*4+0x10], bp", "66 11 6c b3 10", OP(ADC), 2, 2, DIR(RMW), 0x40ff0ULL, 0x0ULL},
	{M32, "adc ax, word ptr es:[ebx]", "26 66 13 03", OP(ADC), 2, 2, DIR(READ), 0x11000ULL, 0x0ULL},
	{M32, "adc word ptr fs:[eax], 0x7f", "64 66 83 10 7f", OP(ADC), 2, 2, DIR(RMW), 0x556b7788ULL, 0x0ULL},
	{M32, "adc word ptr gs:[edx+0x20], 0x1234", "65 66 81 52 20 34 12", OP(ADC), 2, 2, DIR(RMW), 0x7ff00030ULL, 0x0ULL},
	{M32, "adc word ptr ss:[ebx], -2", "36 66 83 13 fe", OP(ADC), 2, 2, DIR(RMW), 0x31000ULL, 0x0ULL},
	{M32, "sbb word ptr cs:[esi], si", "2e 66 19 36", OP(SBB), 2, 2, DIR(RMW), 0x1fff8ULL, 0x0ULL},
	{M32, "sbb bp, word ptr [edx+0x7fffffff]", "66 1b aa ff ff ff 7f", OP(SBB), 2, 2, DIR(READ), 0x4000fULL, 0x0ULL},
	{M32, "sbb word ptr [esi+0x10], 0x7f", "66 83 5e 10 7f", OP(SBB), 2, 2, DIR(RMW), 0x40008ULL, 0x0ULL},
	{M32, "sbb word ptr gs:[esi+0x100000], 0x1234", "65 66 81 9e 00 00 10 00 34 12", OP(SBB), 2, 2, DIR(RMW), 0xfffffff8ULL, 0x0ULL},
	{M32, "sbb word ptr [ecx*2], -2", "66 83 1c 4d 00 00 00 00 fe", OP(SBB), 2, 2, DIR(RMW), 0x40006ULL, 0x0ULL},
	{M32, "and word ptr [ebp+eax*1], cx", "66 21 4c 05 00", OP(AND), 2, 2, DIR(RMW), 0x55677778ULL, 0x0ULL},
	{M32, "and si, word ptr [ebx+0x10]", "66 23 73 10", OP(AND), 2, 2, DIR(READ), 0x41010ULL, 0x0ULL},
	{M32, "and word ptr [ebp-0x8], 0x7f", "66 83 65 f8 7f", OP(AND), 2, 2, DIR(RMW), 0xffe8ULL, 0x0ULL},
	{M32, "and word ptr [ebp], 0x1234", "66 81 65 00 34 12", OP(AND), 2, 2, DIR(RMW), 0xfff0ULL, 0x0ULL},
	{M32, "and word ptr [esp], -2", "66 83 24 24 fe", OP(AND), 2, 2, DIR(RMW), 0xe000ULL, 0x0ULL},
	{M32, "sub word ptr [esp+0x4], ax", "66 29 44 24 04", OP(SUB), 2, 2, DIR(RMW), 0xe004ULL, 0x0ULL},
	{M32, "sub cx, word ptr [0x1234]", "66 2b 0d 34 12 00 00", OP(SUB), 2, 2, DIR(READ), 0x41234ULL, 0x0ULL},
	{M32, "sub word ptr es:[ebx], 0x7f", "26 66 83 2b 7f", OP(SUB), 2, 2, DIR(RMW), 0x11000ULL, 0x0ULL},
	{M32, "sub word ptr fs:[eax], 0x1234", "64 66 81 28 34 12", OP(SUB), 2, 2, DIR(RMW), 0x556b7788ULL, 0x0ULL},
	{M32, "sub word ptr gs:[edx+0x20], -2", "65 66 83 6a 20 fe", OP(SUB), 2, 2, DIR(RMW), 0x7ff00030ULL, 0x0ULL},
	{M32, "xor word ptr ss:[ebx], bp", "36 66 31 2b", OP(XOR), 2, 2, DIR(RMW), 0x31000ULL, 0x0ULL},
	{M32, "xor ax, word ptr [bp+di+0x4]", "67 66 33 43 04", OP(XOR), 2, 2, DIR(READ), 0x31ff4ULL, 0x0ULL},
	{M32, "xor word ptr [edx+0x7fffffff], 0x7f", "66 83 b2 ff ff ff 7f 7f", OP(XOR), 2, 2, DIR(RMW), 0x4000fULL, 0x0ULL},
	{M32, "xor word ptr [esi+0x10], 0x1234", "66 81 76 10 34 12", OP(XOR), 2, 2, DIR(RMW), 0x40008ULL, 0x0ULL},
	{M32, "xor word ptr gs:[esi+0x100000], -2", "65 66 83 b6 00 00 10 00 fe", OP(XOR), 2, 2, DIR(RMW), 0xfffffff8ULL, 0x0ULL},
	{M32, "cmp word ptr [ecx*2], si", "66 39 34 4d 00 00 00 00", OP(CMP), 2, 2, DIR(READ), 0x40006ULL, 0x0ULL},
	{M32, "cmp bp, word ptr [ebx]", "66 3b 2b", OP(CMP), 2, 2, DIR(READ), 0x41000ULL, 0x0ULL},
	{M32, "cmp word ptr [ebx+0x10], 0x7f", "66 83 7b 10 7f", OP(CMP), 2, 2, DIR(READ), 0x41010ULL, 0x0ULL},
	{M32, "cmp word ptr [ebp-0x8], 0x1234", "66 81 7d f8 34 12", OP(CMP), 2, 2, DIR(READ), 0xffe8ULL, 0x0ULL},
	{M32, "cmp word ptr [ebp], -2", "66 83 7d 00 fe", OP(CMP), 2, 2, DIR(READ), 0xfff0ULL, 0x0ULL},
	{M32, "test word ptr [esp], cx", "66 85 0c 24", OP(TEST), 2, 2, DIR(READ), 0xe000ULL, 0x0ULL},
	{M32, "test word ptr [ebx+esi*4+0x10], 0x8001", "66 f7 44 b3 10 01 80", OP(TEST), 2, 2, DIR(READ), 0x40ff0ULL, 0x0ULL},
	{M32, "xchg word ptr [eax+ecx*8-0x1000], ax", "66 87 84 c8 00 f0 ff ff", OP(XCHG), 2, 2, DIR(RMW), 0x556a67a0ULL, 0x0ULL},
	{M32, "xchg cx, word ptr fs:[eax]", "64 66 87 08", OP(XCHG), 2, 2, DIR(RMW), 0x556b7788ULL, 0x0ULL},
	{M32, "not word ptr gs:[edx+0x20]", "65 66 f7 52 20", OP(NOT), 2, 2, DIR(RMW), 0x7ff00030ULL, 0x0ULL},
	{M32, "neg word ptr ss:[ebx]", "36 66 f7 1b", OP(NEG), 2, 2, DIR(RMW), 0x31000ULL, 0x0ULL},
	{M32, "inc word ptr cs:[esi]", "2e 66 ff 06", OP(INC), 2, 2, DIR(RMW), 0x1fff8ULL, 0x0ULL},
	{M32, "dec word ptr [bx+si]", "67 66 ff 08", OP(DEC), 2, 2, DIR(RMW), 0x40ff8ULL, 0x0ULL},
	{M32, "lock add word ptr [bp+di+0x4], ax", "67 66 f0 01 43 04", OP(ADD), 2, 2, DIR(RMW), 0x31ff4ULL, 0x0ULL},
	{M32, "lock xchg word ptr [esi+0x10], si", "66 f0 87 76 10", OP(XCHG), 2, 2, DIR(RMW), 0x40008ULL, 0x0ULL},
	{M32, "lock neg word ptr [ecx*2]", "66 f0 f7 1c 4d 00 00 00 00", OP(NEG), 2, 2, DIR(RMW), 0x40006ULL, 0x0ULL},
	{M32, "lock dec word ptr [ebp+eax*1]", "66 f0 ff 4c 05 00", OP(DEC), 2, 2, DIR(RMW), 0x55677778ULL, 0x0ULL},
	{M32, "lock btc word ptr ds:[ebp], 3", "3e 66 f0 0f ba 7d 00 03", OP(BTC), 2, 2, DIR(RMW), 0x1fff0ULL, 0x0ULL},
	{M32, "movzx si, byte ptr [ebx+0x10]", "66 0f b6 73 10", OP(MOVZX), 2, 1, DIR(READ), 0x41010ULL, 0x0ULL},
	{M32, "movsx ax, byte ptr [ebp]", "66 0f be 45 00", OP(MOVSX), 2, 1, DIR(READ), 0xfff0ULL, 0x0ULL},
	{M32, "bt word ptr [esp+0x4], si", "66 0f a3 74 24 04", OP(BT), 2, 2, DIR(READ), 0xe002ULL, 0x0ULL},
	{M32, "bt word ptr [ebx+esi*4+0x10], 19", "66 0f ba 64 b3 10 13", OP(BT), 2, 2, DIR(READ), 0x40ff0ULL, 0x0ULL},
	{M32, "bts word ptr [0x1234], cx", "66 0f ab 0d 34 12 00 00", OP(BTS), 2, 2, DIR(RMW), 0x41234ULL, 0x0ULL},
	{M32, "bts word ptr es:[ebx], 19", "26 66 0f ba 2b 13", OP(BTS), 2, 2, DIR(RMW), 0x11000ULL, 0x0ULL},
	{M32, "btr word ptr gs:[edx+0x20], ax", "65 66 0f b3 42 20", OP(BTR), 2, 2, DIR(RMW), 0x7ff00f20ULL, 0x0ULL},
	{M32, "btr word ptr ss:[ebx], 19", "36 66 0f ba 33 13", OP(BTR), 2, 2, DIR(RMW), 0x31000ULL, 0x0ULL},
	{M32, "btc word ptr [bx+si], bp", "67 66 0f bb 28", OP(BTC), 2, 2, DIR(RMW), 0x40ff6ULL, 0x0ULL},
	{M32, "btc word ptr [bp+di+0x4], 19", "67 66 0f ba 7b 04 13", OP(BTC), 2, 2, DIR(RMW), 0x31ff4ULL, 0x0ULL},
	{M32, "mov dword ptr [edx+0x7fffffff], esi", "89 b2 ff ff ff 7f", OP(MOV), 4, 4, DIR(WRITE), 0x4000fULL, 0x0ULL},
	{M32, "mov edi, dword ptr [ecx*2]", "8b 3c 4d 00 00 00 00", OP(MOV), 4, 4, DIR(READ), 0x40006ULL, 0x0ULL},
	{M32, "mov dword ptr [ebp+eax*1], ecx", "89 4c 05 00", OP(MOV), 4, 4, DIR(WRITE), 0x55677778ULL, 0x0ULL},
	{M32, "mov esi, dword ptr [ebx+0x10]", "8b 73 10", OP(MOV), 4, 4, DIR(READ), 0x41010ULL, 0x0ULL},
	{M32, "mov dword ptr [ebp-0x8], eax", "89 45 f8", OP(MOV), 4, 4, DIR(WRITE), 0xffe8ULL, 0x0ULL},
	{M32, "mov ecx, dword ptr [esp+0x4]", "8b 4c 24 04", OP(MOV), 4, 4, DIR(READ), 0xe004ULL, 0x0ULL},
	{M32, "mov dword ptr [ebx+esi*4+0x10], 0x7abcdef0", "c7 44 b3 10 f0 de bc 7a", OP(MOV), 4, 4, DIR(WRITE), 0x40ff0ULL, 0x0ULL},
	{M32, "add dword ptr [eax+ecx*8-0x1000], eax", "01 84 c8 00 f0 ff ff", OP(ADD), 4, 4, DIR(RMW), 0x556a67a0ULL, 0x0ULL},
	{M32, "add ecx, dword ptr fs:[eax]", "64 03 08", OP(ADD), 4, 4, DIR(READ), 0x556b7788ULL, 0x0ULL},
	{M32, "add dword ptr gs:[edx+0x20], 0x7f", "65 83 42 20 7f", OP(ADD), 4, 4, DIR(RMW), 0x7ff00030ULL, 0x0ULL},
	{M32, "add dword ptr ss:[ebx], 0x1234", "36 81 03 34 12 00 00", OP(ADD), 4, 4, DIR(RMW), 0x31000ULL, 0x0ULL},
	{M32, "add dword ptr cs:[esi], -2", "2e 83 06 fe", OP(ADD), 4, 4, DIR(RMW), 0x1fff8ULL, 0x0ULL},
	{M32, "or dword ptr [bx+si], esi", "67 09 30", OP(OR), 4, 4, DIR(RMW), 0x40ff8ULL, 0x0ULL},
	{M32, "or edi, dword ptr [esi+0x10]", "0b 7e 10", OP(OR), 4, 4, DIR(READ), 0x40008ULL, 0x0ULL},
	{M32, "or dword ptr gs:[esi+0x100000], 0x7f", "65 83 8e 00 00 10 00 7f", OP(OR), 4, 4, DIR(RMW), 0xfffffff8ULL, 0x0ULL},
	{M32, "or dword ptr [ecx*2], 0x1234", "81 0c 4d 00 00 00 00 34 12 00 00", OP(OR), 4, 4, DIR(RMW), 0x40006ULL, 0x0ULL},
	{M32, "or dword ptr [ebp+eax*1], -2", "83 4c 05 00 fe", OP(OR), 4, 4, DIR(RMW), 0x55677778ULL, 0x0ULL},
	{M32, "adc dword ptr ds:[ebp], esp", "3e 11 65 00", OP(ADC), 4, 4, DIR(RMW), 0x1fff0ULL, 0x0ULL},
	{M32, "adc eax, dword ptr [ebp-0x8]", "13 45 f8", OP(ADC), 4, 4, DIR(READ), 0xffe8ULL, 0x0ULL},
	{M32, "adc dword ptr [ebp], 0x7f", "83 55 00 7f", OP(ADC), 4, 4, DIR(RMW), 0xfff0ULL, 0x0ULL},
	{M32, "adc dword ptr [esp], 0x1234", "81 14 24 34 12 00 00", OP(ADC), 4, 4, DIR(RMW), 0xe000ULL, 0x0ULL},
	{M32, "adc dword ptr [esp+0x4], -2", "83 54 24 04 fe", OP(ADC), 4, 4, DIR(RMW), 0xe004ULL, 0x0ULL},
	{M32, "sbb dword ptr [ebx+esi*4+0x10], ecx", "19 4c b3 10", OP(SBB), 4, 4, DIR(RMW), 0x40ff0ULL, 0x0ULL},
	{M32, "sbb esi, dword ptr es:[ebx]", "26 1b 33", OP(SBB), 4, 4, DIR(READ), 0x11000ULL, 0x0ULL},
	{M32, "sbb dword ptr fs:[eax], 0x7f", "64 83 18 7f", OP(SBB), 4, 4, DIR(RMW), 0x556b7788ULL, 0x0ULL},
	{M32, "sbb dword ptr gs:[edx+0x20], 0x1234", "65 81 5a 20 34 12 00 00", OP(SBB), 4, 4, DIR(RMW), 0x7ff00030ULL, 0x0ULL},
	{M32, "sbb dword ptr ss:[ebx], -2", "36 83 1b fe", OP(SBB), 4, 4, DIR(RMW), 0x31000ULL, 0x0ULL},
	{M32, "and dword ptr cs:[esi], edi", "2e 21 3e", OP(AND), 4, 4, DIR(RMW), 0x1fff8ULL, 0x0ULL},
	{M32, "and esp, dword ptr [edx+0x7fffffff]", "23 a2 ff ff ff 7f", OP(AND), 4, 4, DIR(READ), 0x4000fULL, 0x0ULL},
	{M32, "and dword ptr [esi+0x10], 0x7f", "83 66 10 7f", OP(AND), 4, 4, DIR(RMW), 0x40008ULL, 0x0ULL},
	{M32, "and dword ptr gs:[esi+0x100000], 0x1234", "65 81 a6 00 00 10 00 34 12 00 00", OP(AND), 4, 4, DIR(RMW), 0xfffffff8ULL, 0x0ULL},
	{M32, "and dword ptr [ecx*2], -2", "83 24 4d 00 00 00 00 fe", OP(AND), 4, 4, DIR(RMW), 0x40006ULL, 0x0ULL},
	{M32, "sub dword ptr [ebp+eax*1], eax", "29 44 05 00", OP(SUB), 4, 4, DIR(RMW), 0x55677778ULL, 0x0ULL},
	{M32, "sub ecx, dword ptr [ebx+0x10]", "2b 4b 10", OP(SUB), 4, 4, DIR(READ), 0x41010ULL, 0x0ULL},
	{M32, "sub dword ptr [ebp-0x8], 0x7f", "83 6d f8 7f", OP(SUB), 4, 4, DIR(RMW), 0xffe8ULL, 0x0ULL},
	{M32, "sub dword ptr [ebp], 0x1234", "81 6d 00 34 12 00 00", OP(SUB), 4, 4, DIR(RMW), 0xfff0ULL, 0x0ULL},
	{M32, "sub dword ptr [esp], -2", "83 2c 24 fe", OP(SUB), 4, 4, DIR(RMW), 0xe000ULL, 0x0ULL},
	{M32, "xor dword ptr [esp+0x4], esi", "31 74 24 04", OP(XOR), 4, 4, DIR(RMW), 0xe004ULL, 0x0ULL},
	{M32, "xor edi, dword ptr [0x1234]", "33 3d 34 12 00 00", OP(XOR), 4, 4, DIR(READ), 0x41234ULL, 0x0ULL},
	{M32, "xor dword ptr es:[ebx], 0x7f", "26 83 33 7f", OP(XOR), 4, 4, DIR(RMW), 0x11000ULL, 0x0ULL},
	{M32, "xor dword ptr fs:[eax], 0x1234", "64 81 30 34 12 00 00", OP(XOR), 4, 4, DIR(RMW), 0x556b7788ULL, 0x0ULL},
	{M32, "xor dword ptr gs:[edx+0x20], -2", "65 83 72 20 fe", OP(XOR), 4, 4, DIR(RMW), 0x7ff00030ULL, 0x0ULL},
	{M32, "cmp dword ptr ss:[ebx], esp", "36 39 23", OP(CMP), 4, 4, DIR(READ), 0x31000ULL, 0x0ULL},
	{M32, "cmp eax, dword ptr [bp+di+0x4]", "67 3b 43 04", OP(CMP), 4, 4, DIR(READ), 0x31ff4ULL, 0x0ULL},
	{M32, "cmp dword ptr [edx+0x7fffffff], 0x7f", "83 ba ff ff ff 7f 7f", OP(CMP), 4, 4, DIR(READ), 0x4000fULL, 0x0ULL},
	{M32, "cmp dword ptr [esi+0x10], 0x1234", "81 7e 10 34 12 00 00", OP(CMP), 4, 4, DIR(READ), 0x40008ULL, 0x0ULL},
	{M32, "cmp dword ptr gs:[esi+0x100000], -2", "65 83 be 00 00 10 00 fe", OP(CMP), 4, 4, DIR(READ), 0xfffffff8ULL, 0x0ULL},
	{M32, "test dword ptr [ecx*2], ecx", "85 0c 4d 00 00 00 00", OP(TEST), 4, 4, DIR(READ), 0x40006ULL, 0x0ULL},
	{M32, "test dword ptr ds:[ebp], 0x8001", "3e f7 45 00 01 80 00 00", OP(TEST), 4, 4, DIR(READ), 0x1fff0ULL, 0x0ULL},
	{M32, "xchg dword ptr [ebx], esp", "87 23", OP(XCHG), 4, 4, DIR(RMW), 0x41000ULL, 0x0ULL},
	{M32, "xchg eax, dword ptr [ebp]", "87 45 00", OP(XCHG), 4, 4, DIR(RMW), 0xfff0ULL, 0x0ULL},
	{M32, "not dword ptr [esp]", "f7 14 24", OP(NOT), 4, 4, DIR(RMW), 0xe000ULL, 0x0ULL},
	{M32, "neg dword ptr [esp+0x4]", "f7 5c 24 04", OP(NEG), 4, 4, DIR(RMW), 0xe004ULL, 0x0ULL},
	{M32, "inc dword ptr [ebx+esi*4+0x10]", "ff 44 b3 10", OP(INC), 4, 4, DIR(RMW), 0x40ff0ULL, 0x0ULL},
	{M32, "dec dword ptr [eax+ecx*8-0x1000]", "ff 8c c8 00 f0 ff ff", OP(DEC), 4, 4, DIR(RMW), 0x556a67a0ULL, 0x0ULL},
	{M32, "lock add dword ptr [0x1234], esi", "f0 01 35 34 12 00 00", OP(ADD), 4, 4, DIR(RMW), 0x41234ULL, 0x0ULL},
	{M32, "lock xchg dword ptr fs:[eax], esp", "64 f0 87 20", OP(XCHG), 4, 4, DIR(RMW), 0x556b7788ULL, 0x0ULL},
	{M32, "lock neg dword ptr ss:[ebx]", "36 f0 f7 1b", OP(NEG), 4, 4, DIR(RMW), 0x31000ULL, 0x0ULL},
	{M32, "lock dec dword ptr cs:[esi]", "2e f0 ff 0e", OP(DEC), 4, 4, DIR(RMW), 0x1fff8ULL, 0x0ULL},
	{M32, "lock btc dword ptr [bx+si], 3", "67 f0 0f ba 38 03", OP(BTC), 4, 4, DIR(RMW), 0x40ff8ULL, 0x0ULL},
	{M32, "movzx edi, byte ptr [edx+0x7fffffff]", "0f b6 ba ff ff ff 7f", OP(MOVZX), 4, 1, DIR(READ), 0x4000fULL, 0x0ULL},
	{M32, "movzx eax, word ptr gs:[esi+0x100000]", "65 0f b7 86 00 00 10 00", OP(MOVZX), 4, 2, DIR(READ), 0xfffffff8ULL, 0x0ULL},
	{M32, "movsx esi, byte ptr [ebp+eax*1]", "0f be 74 05 00", OP(MOVSX), 4, 1, DIR(READ), 0x55677778ULL, 0x0ULL},
	{M32, "movsx esp, word ptr [ebx]", "0f bf 23", OP(MOVSX), 4, 2, DIR(READ), 0x41000ULL, 0x0ULL},
	{M32, "bt dword ptr [ebp-0x8], ecx", "0f a3 4d f8", OP(BT), 4, 4, DIR(READ), 0xffe8ULL, 0x0ULL},
	{M32, "bt dword ptr [ebp], 35", "0f ba 65 00 23", OP(BT), 4, 4, DIR(READ), 0xfff0ULL, 0x0ULL},
	{M32, "bts dword ptr [esp+0x4], esp", "0f ab 64 24 04", OP(BTS), 4, 4, DIR(RMW), 0x9c04ULL, 0x0ULL},
	{M32, "bts dword ptr [ebx+esi*4+0x10], 35", "0f ba 6c b3 10 23", OP(BTS), 4, 4, DIR(RMW), 0x40ff0ULL, 0x0ULL},
	{M32, "btr dword ptr [0x1234], esi", "0f b3 35 34 12 00 00", OP(BTR), 4, 4, DIR(RMW), 0x41230ULL, 0x0ULL},
	{M32, "btr dword ptr es:[ebx], 35", "26 0f ba 33 23", OP(BTR), 4, 4, DIR(RMW), 0x11000ULL, 0x0ULL},
	{M32, "btc dword ptr gs:[edx+0x20], eax", "65 0f bb 42 20", OP(BTC), 4, 4, DIR(RMW), 0x8a9ccf20ULL, 0x0ULL},
	{M32, "btc dword ptr ss:[ebx], 35", "36 0f ba 3b 23", OP(BTC), 4, 4, DIR(RMW), 0x31000ULL, 0x0ULL},
	{M32, "mov al, byte ptr ds:0x1234", "a0 34 12 00 00", OP(MOV), 1, 1, DIR(READ), 0x41234ULL, 0x0ULL},
	{M32, "mov byte ptr es:0x10, al", "26 a2 10 00 00 00", OP(MOV), 1, 1, DIR(WRITE), 0x10010ULL, 0x0ULL},
	{M32, "mov al, byte ptr gs:0x100000", "65 a0 00 00 10 00", OP(MOV), 1, 1, DIR(READ), 0x0ULL, 0x0ULL},
	{M32, "mov ax, word ptr ds:0x1234", "66 a1 34 12 00 00", OP(MOV), 2, 2, DIR(READ), 0x41234ULL, 0x0ULL},
	{M32, "mov word ptr es:0x10, ax", "26 66 a3 10 00 00 00", OP(MOV), 2, 2, DIR(WRITE), 0x10010ULL, 0x0ULL},
	{M32, "mov ax, word ptr gs:0x100000", "65 66 a1 00 00 10 00", OP(MOV), 2, 2, DIR(READ), 0x0ULL, 0x0ULL},
	{M32, "mov eax, dword ptr ds:0x1234", "a1 34 12 00 00", OP(MOV), 4, 4, DIR(READ), 0x41234ULL, 0x0ULL},
	{M32, "mov dword ptr es:0x10, eax", "26 a3 10 00 00 00", OP(MOV), 4, 4, DIR(WRITE), 0x10010ULL, 0x0ULL},
	{M32, "mov eax, dword ptr gs:0x100000", "65 a1 00 00 10 00", OP(MOV), 4, 4, DIR(READ), 0x0ULL, 0x0ULL},
	{M32, ".byte 0x82, 0x03, 0x01", "82 03 01", OP(ADD), 1, 1, DIR(RMW), 0x41000ULL, 0x0ULL},
	{M32, ".byte 0xf6, 0x0b, 0x01", "f6 0b 01", OP(TEST), 1, 1, DIR(READ), 0x41000ULL, 0x0ULL},
	{M32, "movsb", "a4", OP(MOVS), 1, 1, DIR(COPY), 0x3fff8ULL, 0x12000ULL},
	{M32, "stosb", "aa", OP(STOS), 1, 1, DIR(WRITE), 0x12000ULL, 0x0ULL},
	{M32, "lodsb", "ac", OP(LODS), 1, 1, DIR(READ), 0x3fff8ULL, 0x0ULL},
	{M32, "rep movsb", "f3 a4", OP(MOVS), 1, 1, DIR(COPY), 0x3fff8ULL, 0x12000ULL},
	{M32, "rep stosb", "f3 aa", OP(STOS), 1, 1, DIR(WRITE), 0x12000ULL, 0x0ULL},
	{M32, "rep lodsb", "f3 ac", OP(LODS), 1, 1, DIR(READ), 0x3fff8ULL, 0x0ULL},
	{M32, "repne movsb", "f2 a4", OP(MOVS), 1, 1, DIR(COPY), 0x3fff8ULL, 0x12000ULL},
	{M32, "repne stosb", "f2 aa", OP(STOS), 1, 1, DIR(WRITE), 0x12000ULL, 0x0ULL},
	{M32, "repne lodsb", "f2 ac", OP(LODS), 1, 1, DIR(READ), 0x3fff8ULL, 0x0ULL},
	{M32, "rep movs byte ptr es:[di], byte ptr fs:[si]", "64 67 f3 a4", OP(MOVS), 1, 1, DIR(COPY), 0x5fff8ULL, 0x12000ULL},
	{M32, "stos byte ptr es:[di], al", "67 aa", OP(STOS), 1, 1, DIR(WRITE), 0x12000ULL, 0x0ULL},
	{M32, "lods al, byte ptr gs:[si]", "65 67 ac", OP(LODS), 1, 1, DIR(READ), 0xfff0fff8ULL, 0x0ULL},
	{M32, "movsw", "66 a5", OP(MOVS), 2, 2, DIR(COPY), 0x3fff8ULL, 0x12000ULL},
	{M32, "stosw", "66 ab", OP(STOS), 2, 2, DIR(WRITE), 0x12000ULL, 0x0ULL},
	{M32, "lodsw", "66 ad", OP(LODS), 2, 2, DIR(READ), 0x3fff8ULL, 0x0ULL},
	{M32, "rep movsw", "66 f3 a5", OP(MOVS), 2, 2, DIR(COPY), 0x3fff8ULL, 0x12000ULL},
	{M32, "rep stosw", "66 f3 ab", OP(STOS), 2, 2, DIR(WRITE), 0x12000ULL, 0x0ULL},
	{M32, "rep lodsw", "66 f3 ad", OP(LODS), 2, 2, DIR(READ), 0x3fff8ULL, 0x0ULL},
	{M32, "repne movsw", "66 f2 a5", OP(MOVS), 2, 2, DIR(COPY), 0x3fff8ULL, 0x12000ULL},
	{M32, "repne stosw", "66 f2 ab", OP(STOS), 2, 2, DIR(WRITE), 0x12000ULL, 0x0ULL},
	{M32, "repne lodsw", "66 f2 ad", OP(LODS), 2, 2, DIR(READ), 0x3fff8ULL, 0x0ULL},
	{M32, "rep movs word ptr es:[di], word ptr fs:[si]", "64 67 66 f3 a5", OP(MOVS), 2, 2, DIR(COPY), 0x5fff8ULL, 0x12000ULL},
	{M32, "stos word ptr es:[di], ax", "67 66 ab", OP(STOS), 2, 2, DIR(WRITE), 0x12000ULL, 0x0ULL},
	{M32, "lods ax, word ptr gs:[si]", "65 67 66 ad", OP(LODS), 2, 2, DIR(READ), 0xfff0fff8ULL, 0x0ULL},
	{M32, "movsd", "a5", OP(MOVS), 4, 4, DIR(COPY), 0x3fff8ULL, 0x12000ULL},
	{M32, "stosd", "ab", OP(STOS), 4, 4, DIR(WRITE), 0x12000ULL, 0x0ULL},
	{M32, "lodsd", "ad", OP(LODS), 4, 4, DIR(READ), 0x3fff8ULL, 0x0ULL},
	{M32, "rep movsd", "f3 a5", OP(MOVS), 4, 4, DIR(COPY), 0x3fff8ULL, 0x12000ULL},
	{M32, "rep stosd", "f3 ab", OP(STOS), 4, 4, DIR(WRITE), 0x12000ULL, 0x0ULL},
	{M32, "rep lodsd", "f3 ad", OP(LODS), 4, 4, DIR(READ), 0x3fff8ULL, 0x0ULL},
	{M32, "repne movsd", "f2 a5", OP(MOVS), 4, 4, DIR(COPY), 0x3fff8ULL, 0x12000ULL},
	{M32, "repne stosd", "f2 ab", OP(STOS), 4, 4, DIR(WRITE), 0x12000ULL, 0x0ULL},
	{M32, "repne lodsd", "f2 ad", OP(LODS), 4, 4, DIR(READ), 0x3fff8ULL, 0x0ULL},
	{M32, "rep movs dword ptr es:[di], dword ptr fs:[si]", "64 67 f3 a5", OP(MOVS), 4, 4, DIR(COPY), 0x5fff8ULL, 0x12000ULL},
	{M32, "stos dword ptr es:[di], eax", "67 ab", OP(STOS), 4, 4, DIR(WRITE), 0x12000ULL, 0x0ULL},
	{M32, "lods eax, dword ptr gs:[si]", "65 67 ad", OP(LODS), 4, 4, DIR(READ), 0xfff0fff8ULL, 0x0ULL},
	{M16, "mov byte ptr [bp+0x20], dh", "88 76 20", OP(MOV), 1, 1, DIR(WRITE), 0x30010ULL, 0x0ULL},
	{M16, "mov al, byte ptr [bx+si-0x1]", "8a 40 ff", OP(MOV), 1, 1, DIR(READ), 0x40ff7ULL, 0x0ULL},
	{M16, "mov byte ptr gs:[bp+si+0x1000], cl", "65 88 8a 00 10", OP(MOV), 1, 1, DIR(WRITE), 0xfff00fe8ULL, 0x0ULL},
	{M16, "mov dh, byte ptr [bx+si]", "8a 30", OP(MOV), 1, 1, DIR(READ), 0x40ff8ULL, 0x0ULL},
	{M16, "mov byte ptr [bx+di+0x10], bh", "88 79 10", OP(MOV), 1, 1, DIR(WRITE), 0x43010ULL, 0x0ULL},
	{M16, "mov cl, byte ptr [si]", "8a 0c", OP(MOV), 1, 1, DIR(READ), 0x4fff8ULL, 0x0ULL},
	{M16, "mov byte ptr [di], 0x5a", "c6 05 5a", OP(MOV), 1, 1, DIR(WRITE), 0x42000ULL, 0x0ULL},
	{M16, "add byte ptr [bx], bh", "00 3f", OP(ADD), 1, 1, DIR(RMW), 0x41000ULL, 0x0ULL},
	{M16, "add cl, byte ptr [0x1234]", "02 0e 34 12", OP(ADD), 1, 1, DIR(READ), 0x41234ULL, 0x0ULL},
	{M16, "add byte ptr es:[bx+si], 0x7f", "26 80 00 7f", OP(ADD), 1, 1, DIR(RMW), 0x10ff8ULL, 0x0ULL},
	{M16, "or byte ptr ss:[bx], bh", "36 08 3f", OP(OR), 1, 1, DIR(RMW), 0x31000ULL, 0x0ULL},
	{M16, "or cl, byte ptr [ebx+eax*2]", "67 0a 0c 43", OP(OR), 1, 1, DIR(READ), 0xaad0ff10ULL, 0x0ULL},
	{M16, "or byte ptr [esp+0x4], 0x7f", "67 80 4c 24 04 7f", OP(OR), 1, 1, DIR(RMW), 0xe004ULL, 0x0ULL},
	{M16, "adc byte ptr [bx+si-0x1], bh", "10 78 ff", OP(ADC), 1, 1, DIR(RMW), 0x40ff7ULL, 0x0ULL},
	{M16, "adc cl, byte ptr [ebp]", "67 12 4d 00", OP(ADC), 1, 1, DIR(READ), 0xfff0ULL, 0x0ULL},
	{M16, "adc byte ptr [bx+si], 0x7f", "80 10 7f", OP(ADC), 1, 1, DIR(RMW), 0x40ff8ULL, 0x0ULL},
	{M16, "sbb byte ptr [bx+di+0x10], bh", "18 79 10", OP(SBB), 1, 1, DIR(RMW), 0x43010ULL, 0x0ULL},
	{M16, "sbb cl, byte ptr [si]", "1a 0c", OP(SBB), 1, 1, DIR(READ), 0x4fff8ULL, 0x0ULL},
	{M16, "sbb byte ptr [di], 0x7f", "80 1d 7f", OP(SBB), 1, 1, DIR(RMW), 0x42000ULL, 0x0ULL},
	{M16, "and byte ptr [bx], bh", "20 3f", OP(AND), 1, 1, DIR(RMW), 0x41000ULL, 0x0ULL},
	{M16, "and cl, byte ptr [0x1234]", "22 0e 34 12", OP(AND), 1, 1, DIR(READ), 0x41234ULL, 0x0ULL},
	{M16, "and byte ptr es:[bx+si], 0x7f", "26 80 20 7f", OP(AND), 1, 1, DIR(RMW), 0x10ff8ULL, 0x0ULL},
	{M16, "sub byte ptr ss:[bx], bh", "36 28 3f", OP(SUB), 1, 1, DIR(RMW), 0x31000ULL, 0x0ULL},
	{M16, "sub cl, byte ptr [ebx+eax*2]", "67 2a 0c 43", OP(SUB), 1, 1, DIR(READ), 0xaad0ff10ULL, 0x0ULL},
	{M16, "sub byte ptr [esp+0x4], 0x7f", "67 80 6c 24 04 7f", OP(SUB), 1, 1, DIR(RMW), 0xe004ULL, 0x0ULL},
	{M16, "xor byte ptr [bx+si-0x1], bh", "30 78 ff", OP(XOR), 1, 1, DIR(RMW), 0x40ff7ULL, 0x0ULL},
	{M16, "xor cl, byte ptr [ebp]", "67 32 4d 00", OP(XOR), 1, 1, DIR(READ), 0xfff0ULL, 0x0ULL},
	{M16, "xor byte ptr [bx+si], 0x7f", "80 30 7f", OP(XOR), 1, 1, DIR(RMW), 0x40ff8ULL, 0x0ULL},
	{M16, "cmp byte ptr [bx+di+0x10], bh", "38 79 10", OP(CMP), 1, 1, DIR(READ), 0x43010ULL, 0x0ULL},
	{M16, "cmp cl, byte ptr [si]", "3a 0c", OP(CMP), 1, 1, DIR(READ), 0x4fff8ULL, 0x0ULL},
	{M16, "cmp byte ptr [di], 0x7f", "80 3d 7f", OP(CMP), 1, 1, DIR(READ), 0x42000ULL, 0x0ULL},
	{M16, "test byte ptr [bx], bh", "84 3f", OP(TEST), 1, 1, DIR(READ), 0x41000ULL, 0x0ULL},
	{M16, "test byte ptr [bp], 0x81", "f6 46 00 81", OP(TEST), 1, 1, DIR(READ), 0x3fff0ULL, 0x0ULL},
	{M16, "xchg byte ptr [0x1234], al", "86 06 34 12", OP(XCHG), 1, 1, DIR(RMW), 0x41234ULL, 0x0ULL},
	{M16, "xchg ah, byte ptr fs:[di+0x7fff]", "64 86 a5 ff 7f", OP(XCHG), 1, 1, DIR(RMW), 0x59fffULL, 0x0ULL},
	{M16, "not byte ptr [bp+0x20]", "f6 56 20", OP(NOT), 1, 1, DIR(RMW), 0x30010ULL, 0x0ULL},
	{M16, "neg byte ptr [ebx+eax*2]", "67 f6 1c 43", OP(NEG), 1, 1, DIR(RMW), 0xaad0ff10ULL, 0x0ULL},
	{M16, "inc byte ptr [esp+0x4]", "67 fe 44 24 04", OP(INC), 1, 1, DIR(RMW), 0xe004ULL, 0x0ULL},
	{M16, "dec byte ptr [bx+si-0x1]", "fe 48 ff", OP(DEC), 1, 1, DIR(RMW), 0x40ff7ULL, 0x0ULL},
	{M16, "lock add byte ptr gs:[bp+si+0x1000], cl", "65 f0 00 8a 00 10", OP(ADD), 1, 1, DIR(RMW), 0xfff00fe8ULL, 0x0ULL},
	{M16, "lock xchg byte ptr [ebp], al", "67 f0 86 45 00", OP(XCHG), 1, 1, DIR(RMW), 0xfff0ULL, 0x0ULL},
	{M16, "lock neg byte ptr [bx+di+0x10]", "f0 f6 59 10", OP(NEG), 1, 1, DIR(RMW), 0x43010ULL, 0x0ULL},
	{M16, "lock dec byte ptr [bp+si]", "f0 fe 0a", OP(DEC), 1, 1, DIR(RMW), 0x3ffe8ULL, 0x0ULL},
	{M16, "mov word ptr [bp+di-0x2], ax", "89 43 fe", OP(MOV), 2, 2, DIR(WRITE), 0x31feeULL, 0x0ULL},
	{M16, "mov cx, word ptr [bx]", "8b 0f", OP(MOV), 2, 2, DIR(READ), 0x41000ULL, 0x0ULL},
	{M16, "mov word ptr [bp+0x4], ax", "89 46 04", OP(MOV), 2, 2, DIR(WRITE), 0x3fff4ULL, 0x0ULL},
	{M16, "mov cx, word ptr es:[bx+si]", "26 8b 08", OP(MOV), 2, 2, DIR(READ), 0x10ff8ULL, 0x0ULL},
	{M16, "mov word ptr ss:[bx], ax", "36 89 07", OP(MOV), 2, 2, DIR(WRITE), 0x31000ULL, 0x0ULL},
	{M16, "mov cx, word ptr [ebx+eax*2]", "67 8b 0c 43", OP(MOV), 2, 2, DIR(READ), 0xaad0ff10ULL, 0x0ULL},
	{M16, "mov word ptr [esp+0x4], 0x1234", "67 c7 44 24 04 34 12", OP(MOV), 2, 2, DIR(WRITE), 0xe004ULL, 0x0ULL},
	{M16, "add word ptr [bx+si-0x1], cx", "01 48 ff", OP(ADD), 2, 2, DIR(RMW), 0x40ff7ULL, 0x0ULL},
	{M16, "add si, word ptr [ebp]", "67 03 75 00", OP(ADD), 2, 2, DIR(READ), 0xfff0ULL, 0x0ULL},
	{M16, "add word ptr [bx+si], 0x7f", "83 00 7f", OP(ADD), 2, 2, DIR(RMW), 0x40ff8ULL, 0x0ULL},
	{M16, "add word ptr [bx+di+0x10], 0x1234", "81 41 10 34 12", OP(ADD), 2, 2, DIR(RMW), 0x43010ULL, 0x0ULL},
	{M16, "add word ptr [bp+si], -2", "83 02 fe", OP(ADD), 2, 2, DIR(RMW), 0x3ffe8ULL, 0x0ULL},
	{M16, "or word ptr [bp+di-0x2], ax", "09 43 fe", OP(OR), 2, 2, DIR(RMW), 0x31feeULL, 0x0ULL},
	{M16, "or cx, word ptr [bx]", "0b 0f", OP(OR), 2, 2, DIR(READ), 0x41000ULL, 0x0ULL},
	{M16, "or word ptr [bp+0x4], 0x7f", "83 4e 04 7f", OP(OR), 2, 2, DIR(RMW), 0x3fff4ULL, 0x0ULL},
	{M16, "or word ptr [bp], 0x1234", "81 4e 00 34 12", OP(OR), 2, 2, DIR(RMW), 0x3fff0ULL, 0x0ULL},
	{M16, "or word ptr [0x1234], -2", "83 0e 34 12 fe", OP(OR), 2, 2, DIR(RMW), 0x41234ULL, 0x0ULL},
	{M16, "adc word ptr es:[bx+si], bp", "26 11 28", OP(ADC), 2, 2, DIR(RMW), 0x10ff8ULL, 0x0ULL},
	{M16, "adc ax, word ptr [bp+0x20]", "13 46 20", OP(ADC), 2, 2, DIR(READ), 0x30010ULL, 0x0ULL},
	{M16, "adc word ptr [ebx+eax*2], 0x7f", "67 83 14 43 7f", OP(ADC), 2, 2, DIR(RMW), 0xaad0ff10ULL, 0x0ULL},
	{M16, "adc word ptr [esp+0x4], 0x1234", "67 81 54 24 04 34 12", OP(ADC), 2, 2, DIR(RMW), 0xe004ULL, 0x0ULL},
	{M16, "adc word ptr [bx+si-0x1], -2", "83 50 ff fe", OP(ADC), 2, 2, DIR(RMW), 0x40ff7ULL, 0x0ULL},
	{M16, "sbb word ptr gs:[bp+si+0x1000], si", "65 19 b2 00 10", OP(SBB), 2, 2, DIR(RMW), 0xfff00fe8ULL, 0x0ULL},
	{M16, "sbb bp, word ptr [bx+si]", "1b 28", OP(SBB), 2, 2, DIR(READ), 0x40ff8ULL, 0x0ULL},
	{M16, "sbb word ptr [bx+di+0x10], 0x7f", "83 59 10 7f", OP(SBB), 2, 2, DIR(RMW), 0x43010ULL, 0x0ULL},
	{M16, "sbb word ptr [bp+si], 0x1234", "81 1a 34 12", OP(SBB), 2, 2, DIR(RMW), 0x3ffe8ULL, 0x0ULL},
	{M16, "sbb word ptr [bp+di-0x2], -2", "83 5b fe fe", OP(SBB), 2, 2, DIR(RMW), 0x31feeULL, 0x0ULL},
	{M16, "and word ptr [si], cx", "21 0c", OP(AND), 2, 2, DIR(RMW), 0x4fff8ULL, 0x0ULL},
	{M16, "and si, word ptr [bp+0x4]", "23 76 04", OP(AND), 2, 2, DIR(READ), 0x3fff4ULL, 0x0ULL},
	{M16, "and word ptr [bp], 0x7f", "83 66 00 7f", OP(AND), 2, 2, DIR(RMW), 0x3fff0ULL, 0x0ULL},
	{M16, "and word ptr [0x1234], 0x1234", "81 26 34 12 34 12", OP(AND), 2, 2, DIR(RMW), 0x41234ULL, 0x0ULL},
	{M16, "and word ptr es:[bx+si], -2", "26 83 20 fe", OP(AND), 2, 2, DIR(RMW), 0x10ff8ULL, 0x0ULL},
	{M16, "sub word ptr ss:[bx], ax", "36 29 07", OP(SUB), 2, 2, DIR(RMW), 0x31000ULL, 0x0ULL},
	{M16, "sub cx, word ptr [ebx+eax*2]", "67 2b 0c 43", OP(SUB), 2, 2, DIR(READ), 0xaad0ff10ULL, 0x0ULL},
	{M16, "sub word ptr [esp+0x4], 0x7f", "67 83 6c 24 04 7f", OP(SUB), 2, 2, DIR(RMW), 0xe004ULL, 0x0ULL},
	{M16, "sub word ptr [bx+si-0x1], 0x1234", "81 68 ff 34 12", OP(SUB), 2, 2, DIR(RMW), 0x40ff7ULL, 0x0ULL},
	{M16, "sub word ptr gs:[bp+si+0x1000], -2", "65 83 aa 00 10 fe", OP(SUB), 2, 2, DIR(RMW), 0xfff00fe8ULL, 0x0ULL},
	{M16, "xor word ptr ds:[bp], bp", "3e 31 6e 00", OP(XOR), 2, 2, DIR(RMW), 0x4fff0ULL, 0x0ULL},
	{M16, "xor ax, word ptr [bx+di+0x10]", "33 41 10", OP(XOR), 2, 2, DIR(READ), 0x43010ULL, 0x0ULL},
	{M16, "xor word ptr [bp+si], 0x7f", "83 32 7f", OP(XOR), 2, 2, DIR(RMW), 0x3ffe8ULL, 0x0ULL},
	{M16, "xor word ptr [bp+di-0x2], 0x1234", "81 73 fe 34 12", OP(XOR), 2, 2, DIR(RMW), 0x31feeULL, 0x0ULL},
	{M16, "xor word ptr [si], -2", "83 34 fe", OP(XOR), 2, 2, DIR(RMW), 0x4fff8ULL, 0x0ULL},
	{M16, "cmp word ptr [di], si", "39 35", OP(CMP), 2, 2, DIR(READ), 0x42000ULL, 0x0ULL},
	{M16, "cmp bp, word ptr [bp]", "3b 6e 00", OP(CMP), 2, 2, DIR(READ), 0x3fff0ULL, 0x0ULL},
	{M16, "cmp word ptr [0x1234], 0x7f", "83 3e 34 12 7f", OP(CMP), 2, 2, DIR(READ), 0x41234ULL, 0x0ULL},
	{M16, "cmp word ptr es:[bx+si], 0x1234", "26 81 38 34 12", OP(CMP), 2, 2, DIR(READ), 0x10ff8ULL, 0x0ULL},
	{M16, "cmp word ptr ss:[bx], -2", "36 83 3f fe", OP(CMP), 2, 2, DIR(READ), 0x31000ULL, 0x0ULL},
	{M16, "test word ptr fs:[di+0x7fff], cx", "64 85 8d ff 7f", OP(TEST), 2, 2, DIR(READ), 0x59fffULL, 0x0ULL},
	{M16, "test word ptr [ebx+eax*2], 0x8001", "67 f7 04 43 01 80", OP(TEST), 2, 2, DIR(READ), 0xaad0ff10ULL, 0x0ULL},
	{M16, "xchg word ptr [esp+0x4], ax", "67 87 44 24 04", OP(XCHG), 2, 2, DIR(RMW), 0xe004ULL, 0x0ULL},
	{M16, "xchg cx, word ptr ds:[bp]", "3e 87 4e 00", OP(XCHG), 2, 2, DIR(RMW), 0x4fff0ULL, 0x0ULL},
	{M16, "not word ptr [ebp]", "67 f7 55 00", OP(NOT), 2, 2, DIR(RMW), 0xfff0ULL, 0x0ULL},
	{M16, "neg word ptr [bx+si]", "f7 18", OP(NEG), 2, 2, DIR(RMW), 0x40ff8ULL, 0x0ULL},
	{M16, "inc word ptr [bx+di+0x10]", "ff 41 10", OP(INC), 2, 2, DIR(RMW), 0x43010ULL, 0x0ULL},
	{M16, "dec word ptr [bp+si]", "ff 0a", OP(DEC), 2, 2, DIR(RMW), 0x3ffe8ULL, 0x0ULL},
	{M16, "lock add word ptr [bp+di-0x2], ax", "f0 01 43 fe", OP(ADD), 2, 2, DIR(RMW), 0x31feeULL, 0x0ULL},
	{M16, "lock xchg word ptr [di], si", "f0 87 35", OP(XCHG), 2, 2, DIR(RMW), 0x42000ULL, 0x0ULL},
	{M16, "lock neg word ptr [bp+0x4]", "f0 f7 5e 04", OP(NEG), 2, 2, DIR(RMW), 0x3fff4ULL, 0x0ULL},
	{M16, "lock dec word ptr [bp]", "f0 ff 4e 00", OP(DEC), 2, 2, DIR(RMW), 0x3fff0ULL, 0x0ULL},
	{M16, "lock btc word ptr [0x1234], 3", "f0 0f ba 3e 34 12 03", OP(BTC), 2, 2, DIR(RMW), 0x41234ULL, 0x0ULL},
	{M16, "movzx si, byte ptr ss:[bx]", "36 0f b6 37", OP(MOVZX), 2, 1, DIR(READ), 0x31000ULL, 0x0ULL},
	{M16, "movsx ax, byte ptr [bp+0x20]", "0f be 46 20", OP(MOVSX), 2, 1, DIR(READ), 0x30010ULL, 0x0ULL},
	{M16, "bt word ptr [esp+0x4], si", "67 0f a3 74 24 04", OP(BT), 2, 2, DIR(READ), 0xe002ULL, 0x0ULL},
	{M16, "bt word ptr [bx+si-0x1], 19", "0f ba 60 ff 13", OP(BT), 2, 2, DIR(READ), 0x40ff7ULL, 0x0ULL},
	{M16, "bts word ptr ds:[bp], cx", "3e 0f ab 4e 00", OP(BTS), 2, 2, DIR(RMW), 0x4fff0ULL, 0x0ULL},
	{M16, "bts word ptr [ebp], 19", "67 0f ba 6d 00 13", OP(BTS), 2, 2, DIR(RMW), 0xfff0ULL, 0x0ULL},
	{M16, "btr word ptr [bx+di+0x10], ax", "0f b3 41 10", OP(BTR), 2, 2, DIR(RMW), 0x43f00ULL, 0x0ULL},
	{M16, "btr word ptr [bp+si], 19", "0f ba 32 13", OP(BTR), 2, 2, DIR(RMW), 0x3ffe8ULL, 0x0ULL},
	{M16, "btc word ptr [si], bp", "0f bb 2c", OP(BTC), 2, 2, DIR(RMW), 0x4fff6ULL, 0x0ULL},
	{M16, "btc word ptr [di], 19", "0f ba 3d 13", OP(BTC), 2, 2, DIR(RMW), 0x42000ULL, 0x0ULL},
	{M16, "mov dword ptr [bx], edi", "66 89 3f", OP(MOV), 4, 4, DIR(WRITE), 0x41000ULL, 0x0ULL},
	{M16, "mov eax, dword ptr [0x1234]", "66 a1 34 12", OP(MOV), 4, 4, DIR(READ), 0x41234ULL, 0x0ULL},
	{M16, "mov dword ptr es:[bx+si], edi", "26 66 89 38", OP(MOV), 4, 4, DIR(WRITE), 0x10ff8ULL, 0x0ULL},
	{M16, "mov eax, dword ptr [bp+0x20]", "66 8b 46 20", OP(MOV), 4, 4, DIR(READ), 0x30010ULL, 0x0ULL},
	{M16, "mov dword ptr [ebx+eax*2], edi", "67 66 89 3c 43", OP(MOV), 4, 4, DIR(WRITE), 0xaad0ff10ULL, 0x0ULL},
	{M16, "mov eax, dword ptr gs:[bp+si+0x1000]", "65 66 8b 82 00 10", OP(MOV), 4, 4, DIR(READ), 0xfff00fe8ULL, 0x0ULL},
	{M16, "mov dword ptr ds:[bp], 0x7abcdef0", "3e 66 c7 46 00 f0 de bc 7a", OP(MOV), 4, 4, DIR(WRITE), 0x4fff0ULL, 0x0ULL},
	{M16, "add dword ptr [ebp], eax", "67 66 01 45 00", OP(ADD), 4, 4, DIR(RMW), 0xfff0ULL, 0x0ULL},
	{M16, "add ecx, dword ptr [bp+si]", "66 03 0a", OP(ADD), 4, 4, DIR(READ), 0x3ffe8ULL, 0x0ULL},
	{M16, "add dword ptr [bp+di-0x2], 0x7f", "66 83 43 fe 7f", OP(ADD), 4, 4, DIR(RMW), 0x31feeULL, 0x0ULL},
	{M16, "add dword ptr [si], 0x1234", "66 81 04 34 12 00 00", OP(ADD), 4, 4, DIR(RMW), 0x4fff8ULL, 0x0ULL},
	{M16, "add dword ptr [di], -2", "66 83 05 fe", OP(ADD), 4, 4, DIR(RMW), 0x42000ULL, 0x0ULL},
	{M16, "or dword ptr [bx], edi", "66 09 3f", OP(OR), 4, 4, DIR(RMW), 0x41000ULL, 0x0ULL},
	{M16, "or eax, dword ptr [0x1234]", "66 0b 06 34 12", OP(OR), 4, 4, DIR(READ), 0x41234ULL, 0x0ULL},
	{M16, "or dword ptr es:[bx+si], 0x7f", "26 66 83 08 7f", OP(OR), 4, 4, DIR(RMW), 0x10ff8ULL, 0x0ULL},
	{M16, "or dword ptr ss:[bx], 0x1234", "36 66 81 0f 34 12 00 00", OP(OR), 4, 4, DIR(RMW), 0x31000ULL, 0x0ULL},
	{M16, "or dword ptr fs:[di+0x7fff], -2", "64 66 83 8d ff 7f fe", OP(OR), 4, 4, DIR(RMW), 0x59fffULL, 0x0ULL},
	{M16, "adc dword ptr [bp+0x20], esi", "66 11 76 20", OP(ADC), 4, 4, DIR(RMW), 0x30010ULL, 0x0ULL},
	{M16, "adc edi, dword ptr [bx+si-0x1]", "66 13 78 ff", OP(ADC), 4, 4, DIR(READ), 0x40ff7ULL, 0x0ULL},
	{M16, "adc dword ptr gs:[bp+si+0x1000], 0x7f", "65 66 83 92 00 10 7f", OP(ADC), 4, 4, DIR(RMW), 0xfff00fe8ULL, 0x0ULL},
	{M16, "adc dword ptr ds:[bp], 0x1234", "3e 66 81 56 00 34 12 00 00", OP(ADC), 4, 4, DIR(RMW), 0x4fff0ULL, 0x0ULL},
	{M16, "adc dword ptr [ebp], -2", "67 66 83 55 00 fe", OP(ADC), 4, 4, DIR(RMW), 0xfff0ULL, 0x0ULL},
	{M16, "sbb dword ptr [bx+si], ecx", "66 19 08", OP(SBB), 4, 4, DIR(RMW), 0x40ff8ULL, 0x0ULL},
	{M16, "sbb esi, dword ptr [bp+di-0x2]", "66 1b 73 fe", OP(SBB), 4, 4, DIR(READ), 0x31feeULL, 0x0ULL},
	{M16, "sbb dword ptr [si], 0x7f", "66 83 1c 7f", OP(SBB), 4, 4, DIR(RMW), 0x4fff8ULL, 0x0ULL},
	{M16, "sbb dword ptr [di], 0x1234", "66 81 1d 34 12 00 00", OP(SBB), 4, 4, DIR(RMW), 0x42000ULL, 0x0ULL},
	{M16, "sbb dword ptr [bx], -2", "66 83 1f fe", OP(SBB), 4, 4, DIR(RMW), 0x41000ULL, 0x0ULL},
	{M16, "and dword ptr [bp+0x4], eax", "66 21 46 04", OP(AND), 4, 4, DIR(RMW), 0x3fff4ULL, 0x0ULL},
	{M16, "and ecx, dword ptr es:[bx+si]", "26 66 23 08", OP(AND), 4, 4, DIR(READ), 0x10ff8ULL, 0x0ULL},
	{M16, "and dword ptr ss:[bx], 0x7f", "36 66 83 27 7f", OP(AND), 4, 4, DIR(RMW), 0x31000ULL, 0x0ULL},
	{M16, "and dword ptr fs:[di+0x7fff], 0x1234", "64 66 81 a5 ff 7f 34 12 00 00", OP(AND), 4, 4, DIR(RMW), 0x59fffULL, 0x0ULL},
	{M16, "and dword ptr [bp+0x20], -2", "66 83 66 20 fe", OP(AND), 4, 4, DIR(RMW), 0x30010ULL, 0x0ULL},
	{M16, "sub dword ptr [ebx+eax*2], edi", "67 66 29 3c 43", OP(SUB), 4, 4, DIR(RMW), 0xaad0ff10ULL, 0x0ULL},
	{M16, "sub eax, dword ptr gs:[bp+si+0x1000]", "65 66 2b 82 00 10", OP(SUB), 4, 4, DIR(READ), 0xfff00fe8ULL, 0x0ULL},
	{M16, "sub dword ptr ds:[bp], 0x7f", "3e 66 83 6e 00 7f", OP(SUB), 4, 4, DIR(RMW), 0x4fff0ULL, 0x0ULL},
	{M16, "sub dword ptr [ebp], 0x1234", "67 66 81 6d 00 34 12 00 00", OP(SUB), 4, 4, DIR(RMW), 0xfff0ULL, 0x0ULL},
	{M16, "sub dword ptr [bx+si], -2", "66 83 28 fe", OP(SUB), 4, 4, DIR(RMW), 0x40ff8ULL, 0x0ULL},
	{M16, "xor dword ptr [bx+di+0x10], esi", "66 31 71 10", OP(XOR), 4, 4, DIR(RMW), 0x43010ULL, 0x0ULL},
	{M16, "xor edi, dword ptr [si]", "66 33 3c", OP(XOR), 4, 4, DIR(READ), 0x4fff8ULL, 0x0ULL},
	{M16, "xor dword ptr [di], 0x7f", "66 83 35 7f", OP(XOR), 4, 4, DIR(RMW), 0x42000ULL, 0x0ULL},
	{M16, "xor dword ptr [bx], 0x1234", "66 81 37 34 12 00 00", OP(XOR), 4, 4, DIR(RMW), 0x41000ULL, 0x0ULL},
	{M16, "xor dword ptr [bp+0x4], -2", "66 83 76 04 fe", OP(XOR), 4, 4, DIR(RMW), 0x3fff4ULL, 0x0ULL},
	{M16, "cmp dword ptr [bp], ecx", "66 39 4e 00", OP(CMP), 4, 4, DIR(READ), 0x3fff0ULL, 0x0ULL},
	{M16, "cmp esi, dword ptr ss:[bx]", "36 66 3b 37", OP(CMP), 4, 4, DIR(READ), 0x31000ULL, 0x0ULL},
	{M16, "cmp dword ptr fs:[di+0x7fff], 0x7f", "64 66 83 bd ff 7f 7f", OP(CMP), 4, 4, DIR(READ), 0x59fffULL, 0x0ULL},
	{M16, "cmp dword ptr [bp+0x20], 0x1234", "66 81 7e 20 34 12 00 00", OP(CMP), 4, 4, DIR(READ), 0x30010ULL, 0x0ULL},
	{M16, "cmp dword ptr [ebx+eax*2], -2", "67 66 83 3c 43 fe", OP(CMP), 4, 4, DIR(READ), 0xaad0ff10ULL, 0x0ULL},
	{M16, "test dword ptr [esp+0x4], eax", "67 66 85 44 24 04", OP(TEST), 4, 4, DIR(READ), 0xe004ULL, 0x0ULL},
	{M16, "test dword ptr gs:[bp+si+0x1000], 0x8001", "65 66 f7 82 00 10 01 80 00 00", OP(TEST), 4, 4, DIR(READ), 0xfff00fe8ULL, 0x0ULL},
	{M16, "xchg dword ptr ds:[bp], edi", "3e 66 87 7e 00", OP(XCHG), 4, 4, DIR(RMW), 0x4fff0ULL, 0x0ULL},
	{M16, "xchg eax, dword ptr [bx+di+0x10]", "66 87 41 10", OP(XCHG), 4, 4, DIR(RMW), 0x43010ULL, 0x0ULL},
	{M16, "not dword ptr [bp+si]", "66 f7 12", OP(NOT), 4, 4, DIR(RMW), 0x3ffe8ULL, 0x0ULL},
	{M16, "neg dword ptr [bp+di-0x2]", "66 f7 5b fe", OP(NEG), 4, 4, DIR(RMW), 0x31feeULL, 0x0ULL},
	{M16, "inc dword ptr [si]", "66 ff 04", OP(INC), 4, 4, DIR(RMW), 0x4fff8ULL, 0x0ULL},
	{M16, "dec dword ptr [di]", "66 ff 0d", OP(DEC), 4, 4, DIR(RMW), 0x42000ULL, 0x0ULL},
	{M16, "lock add dword ptr [bx], edi", "66 f0 01 3f", OP(ADD), 4, 4, DIR(RMW), 0x41000ULL, 0x0ULL},
	{M16, "lock xchg dword ptr [bp], ecx", "66 f0 87 4e 00", OP(XCHG), 4, 4, DIR(RMW), 0x3fff0ULL, 0x0ULL},
	{M16, "lock neg dword ptr es:[bx+si]", "26 66 f0 f7 18", OP(NEG), 4, 4, DIR(RMW), 0x10ff8ULL, 0x0ULL},
	{M16, "lock dec dword ptr ss:[bx]", "36 66 f0 ff 0f", OP(DEC), 4, 4, DIR(RMW), 0x31000ULL, 0x0ULL},
	{M16, "lock btc dword ptr fs:[di+0x7fff], 3", "64 66 f0 0f ba bd ff 7f 03", OP(BTC), 4, 4, DIR(RMW), 0x59fffULL, 0x0ULL},
	{M16, "movzx ecx, byte ptr [ebx+eax*2]", "67 66 0f b6 0c 43", OP(MOVZX), 4, 1, DIR(READ), 0xaad0ff10ULL, 0x0ULL},
	{M16, "movzx edi, word ptr [bx+si-0x1]", "66 0f b7 78 ff", OP(MOVZX), 4, 2, DIR(READ), 0x40ff7ULL, 0x0ULL},
	{M16, "movsx ecx, byte ptr ds:[bp]", "3e 66 0f be 4e 00", OP(MOVSX), 4, 1, DIR(READ), 0x4fff0ULL, 0x0ULL},
	{M16, "movsx edi, word ptr [bx+si]", "66 0f bf 38", OP(MOVSX), 4, 2, DIR(READ), 0x40ff8ULL, 0x0ULL},
	{M16, "bt dword ptr [bp+si], ecx", "66 0f a3 0a", OP(BT), 4, 4, DIR(READ), 0x3ffe8ULL, 0x0ULL},
	{M16, "bt dword ptr [bp+di-0x2], 35", "66 0f ba 63 fe 23", OP(BT), 4, 4, DIR(READ), 0x31feeULL, 0x0ULL},
	{M16, "bts dword ptr [di], eax", "66 0f ab 05", OP(BTS), 4, 4, DIR(RMW), 0x4eef0ULL, 0x0ULL},
	{M16, "bts dword ptr [bx], 35", "66 0f ba 2f 23", OP(BTS), 4, 4, DIR(RMW), 0x41000ULL, 0x0ULL},
	{M16, "btr dword ptr [bp], edi", "66 0f b3 7e 00", OP(BTR), 4, 4, DIR(RMW), 0x303f0ULL, 0x0ULL},
	{M16, "btr dword ptr [0x1234], 35", "66 0f ba 36 34 12 23", OP(BTR), 4, 4, DIR(RMW), 0x41234ULL, 0x0ULL},
	{M16, "btc dword ptr ss:[bx], esi", "36 66 0f bb 37", OP(BTC), 4, 4, DIR(RMW), 0x30ffcULL, 0x0ULL},
	{M16, "btc dword ptr fs:[di+0x7fff], 35", "64 66 0f ba bd ff 7f 23", OP(BTC), 4, 4, DIR(RMW), 0x59fffULL, 0x0ULL},
	{M16, "mov al, byte ptr ds:0x1234", "a0 34 12", OP(MOV), 1, 1, DIR(READ), 0x41234ULL, 0x0ULL},
	{M16, "mov byte ptr es:0x10, al", "26 a2 10 00", OP(MOV), 1, 1, DIR(WRITE), 0x10010ULL, 0x0ULL},
	{M16, "mov al, byte ptr gs:0xfff0", "65 a0 f0 ff", OP(MOV), 1, 1, DIR(READ), 0xfff0fff0ULL, 0x0ULL},
	{M16, "mov ax, word ptr ds:0x1234", "a1 34 12", OP(MOV), 2, 2, DIR(READ), 0x41234ULL, 0x0ULL},
	{M16, "mov word ptr es:0x10, ax", "26 a3 10 00", OP(MOV), 2, 2, DIR(WRITE), 0x10010ULL, 0x0ULL},
	{M16, "mov ax, word ptr gs:0xfff0", "65 a1 f0 ff", OP(MOV), 2, 2, DIR(READ), 0xfff0fff0ULL, 0x0ULL},
	{M16, "mov eax, dword ptr ds:0x1234", "66 a1 34 12", OP(MOV), 4, 4, DIR(READ), 0x41234ULL, 0x0ULL},
	{M16, "mov dword ptr es:0x10, eax", "26 66 a3 10 00", OP(MOV), 4, 4, DIR(WRITE), 0x10010ULL, 0x0ULL},
	{M16, "mov eax, dword ptr gs:0xfff0", "65 66 a1 f0 ff", OP(MOV), 4, 4, DIR(READ), 0xfff0fff0ULL, 0x0ULL},
	{M16, ".byte 0x82, 0x07, 0x01", "82 07 01", OP(ADD), 1, 1, DIR(RMW), 0x41000ULL, 0x0ULL},
	{M16, ".byte 0xf6, 0x0f, 0x01", "f6 0f 01", OP(TEST), 1, 1, DIR(READ), 0x41000ULL, 0x0ULL},
	{M16, "movsb", "a4", OP(MOVS), 1, 1, DIR(COPY), 0x4fff8ULL, 0x12000ULL},
	{M16, "stosb", "aa", OP(STOS), 1, 1, DIR(WRITE), 0x12000ULL, 0x0ULL},
	{M16, "lodsb", "ac", OP(LODS), 1, 1, DIR(READ), 0x4fff8ULL, 0x0ULL},
	{M16, "rep movsb", "f3 a4", OP(MOVS), 1, 1, DIR(COPY), 0x4fff8ULL, 0x12000ULL},
	{M16, "rep stosb", "f3 aa", OP(STOS), 1, 1, DIR(WRITE), 0x12000ULL, 0x0ULL},
	{M16, "rep lodsb", "f3 ac", OP(LODS), 1, 1, DIR(READ), 0x4fff8ULL, 0x0ULL},
	{M16, "repne movsb", "f2 a4", OP(MOVS), 1, 1, DIR(COPY), 0x4fff8ULL, 0x12000ULL},
	{M16, "repne stosb", "f2 aa", OP(STOS), 1, 1, DIR(WRITE), 0x12000ULL, 0x0ULL},
	{M16, "repne lodsb", "f2 ac", OP(LODS), 1, 1, DIR(READ), 0x4fff8ULL, 0x0ULL},
	{M16, "rep movs byte ptr es:[edi], byte ptr fs:[esi]", "64 67 f3 a4", OP(MOVS), 1, 1, DIR(COPY), 0x4fff8ULL, 0x12000ULL},
	{M16, "stos byte ptr es:[edi], al", "67 aa", OP(STOS), 1, 1, DIR(WRITE), 0x12000ULL, 0x0ULL},
	{M16, "lods al, byte ptr gs:[esi]", "65 67 ac", OP(LODS), 1, 1, DIR(READ), 0xffeffff8ULL, 0x0ULL},
	{M16, "movsw", "a5", OP(MOVS), 2, 2, DIR(COPY), 0x4fff8ULL, 0x12000ULL},
	{M16, "stosw", "ab", OP(STOS), 2, 2, DIR(WRITE), 0x12000ULL, 0x0ULL},
	{M16, "lodsw", "ad", OP(LODS), 2, 2, DIR(READ), 0x4fff8ULL, 0x0ULL},
	{M16, "rep movsw", "f3 a5", OP(MOVS), 2, 2, DIR(COPY), 0x4fff8ULL, 0x12000ULL},
	{M16, "rep stosw", "f3 ab", OP(STOS), 2, 2, DIR(WRITE), 0x12000ULL, 0x0ULL},
	{M16, "rep lodsw", "f3 ad", OP(LODS), 2, 2, DIR(READ), 0x4fff8ULL, 0x0ULL},
	{M16, "repne movsw", "f2 a5", OP(MOVS), 2, 2, DIR(COPY), 0x4fff8ULL, 0x12000ULL},
	{M16, "repne stosw", "f2 ab", OP(STOS), 2, 2, DIR(WRITE), 0x12000ULL, 0x0ULL},
	{M16, "repne lodsw", "f2 ad", OP(LODS), 2, 2, DIR(READ), 0x4fff8ULL, 0x0ULL},
	{M16, "rep movs word ptr es:[edi], word ptr fs:[esi]", "64 67 f3 a5", OP(MOVS), 2, 2, DIR(COPY), 0x4fff8ULL, 0x12000ULL},
	{M16, "stos word ptr es:[edi], ax", "67 ab", OP(STOS), 2, 2, DIR(WRITE), 0x12000ULL, 0x0ULL},
	{M16, "lods ax, word ptr gs:[esi]", "65 67 ad", OP(LODS), 2, 2, DIR(READ), 0xffeffff8ULL, 0x0ULL},
	{M16, "movsd", "66 a5", OP(MOVS), 4, 4, DIR(COPY), 0x4fff8ULL, 0x12000ULL},
	{M16, "stosd", "66 ab", OP(STOS), 4, 4, DIR(WRITE), 0x12000ULL, 0x0ULL},
	{M16, "lodsd", "66 ad", OP(LODS), 4, 4, DIR(READ), 0x4fff8ULL, 0x0ULL},
	{M16, "rep movsd", "66 f3 a5", OP(MOVS), 4, 4, DIR(COPY), 0x4fff8ULL, 0x12000ULL},
	{M16, "rep stosd", "66 f3 ab", OP(STOS), 4, 4, DIR(WRITE), 0x12000ULL, 0x0ULL},
	{M16, "rep lodsd", "66 f3 ad", OP(LODS), 4, 4, DIR(READ), 0x4fff8ULL, 0x0ULL},
	{M16, "repne movsd", "66 f2 a5", OP(MOVS), 4, 4, DIR(COPY), 0x4fff8ULL, 0x12000ULL},
	{M16, "repne stosd", "66 f2 ab", OP(STOS), 4, 4, DIR(WRITE), 0x12000ULL, 0x0ULL},
	{M16, "repne lodsd", "66 f2 ad", OP(LODS), 4, 4, DIR(READ), 0x4fff8ULL, 0x0ULL},
	{M16, "rep movs dword ptr es:[edi], dword ptr fs:[esi]", "64 67 66 f3 a5", OP(MOVS), 4, 4, DIR(COPY), 0x4fff8ULL, 0x12000ULL},
	{M16, "stos dword ptr es:[edi], eax", "67 66 ab", OP(STOS), 4, 4, DIR(WRITE), 0x12000ULL, 0x0ULL},
	{M16, "lods eax, dword ptr gs:[esi]", "65 67 66 ad", OP(LODS), 4, 4, DIR(READ), 0xffeffff8ULL, 0x0ULL},
};

#undef OP
#undef DIR

std::string Describe(const Row &r)
{
	return std::string(r.mode == M64 ? "64: " : r.mode == M32 ? "32: " : "16: ") + r.text +
	       "  [" + r.hex + "]";
}

TEST(EmulateDecode, TableHasSeveralHundredRows)
{
	EXPECT_GE(sizeof(kRows) / sizeof(kRows[0]), 500u);
}

TEST(EmulateDecode, Table)
{
	for (const Row &r : kRows) {
		SCOPED_TRACE(Describe(r));
		std::vector<u8> bytes = ParseHex(r.hex);
		kvmx_emu_ctxt c = MakeCtxt(r.mode, bytes);
		kvmx_emu_insn insn;

		ASSERT_EQ(kvmx_emu_decode(&c, &insn), KVMX_EMU_DONE);
		EXPECT_EQ(insn.len, bytes.size());
		EXPECT_EQ(insn.op, r.op);
		EXPECT_EQ(insn.op_bytes, r.op_bytes);
		EXPECT_EQ(insn.mem_bytes, r.mem_bytes);
		EXPECT_EQ(insn.dir, r.dir);
		EXPECT_EQ(insn.la, r.la);
		if (r.dir == KVMX_EMU_DIR_COPY) {
			EXPECT_EQ(insn.la2, r.la2);
		}
		EXPECT_EQ((insn.flags & KVMX_EMU_INSN_LOCK) != 0,
			  std::string(r.text).rfind("lock ", 0) == 0);
		bool str = r.op == KVMX_EMU_OP_MOVS || r.op == KVMX_EMU_OP_STOS ||
			   r.op == KVMX_EMU_OP_LODS;
		bool rep = std::string(r.text).rfind("rep", 0) == 0;
		EXPECT_EQ(insn.rep != 0, str && rep);
	}
}

// The length does not depend on what follows the instruction.
TEST(EmulateDecode, TableWithTrailingBytes)
{
	for (const Row &r : kRows) {
		SCOPED_TRACE(Describe(r));
		std::vector<u8> bytes = ParseHex(r.hex);
		size_t len = bytes.size();

		while (bytes.size() < KVMX_EMU_MAX_INSN_LEN)
			bytes.push_back(0xf0);
		kvmx_emu_ctxt c = MakeCtxt(r.mode, bytes);
		kvmx_emu_insn insn;

		ASSERT_EQ(kvmx_emu_decode(&c, &insn), KVMX_EMU_DONE);
		EXPECT_EQ(insn.len, len);
		EXPECT_EQ(insn.la, r.la);
	}
}

// Every proper prefix of a valid instruction is "cannot emulate".
TEST(EmulateDecode, TableTruncated)
{
	for (const Row &r : kRows) {
		SCOPED_TRACE(Describe(r));
		std::vector<u8> bytes = ParseHex(r.hex);

		for (size_t n = 0; n < bytes.size(); n++) {
			kvmx_emu_ctxt c = MakeCtxt(r.mode, std::vector<u8>(bytes.begin(),
									 bytes.begin() + n));
			kvmx_emu_insn insn;

			EXPECT_EQ(kvmx_emu_decode(&c, &insn), KVMX_EMU_UNHANDLEABLE) << "n=" << n;
		}
	}
}

struct Bad {
	kvmx_emu_mode mode;
	const char *hex;
	const char *what;
};

TEST(EmulateDecode, Unsupported)
{
	const Bad bad[] = {
		{M64, "01 d8", "add eax, ebx (no memory operand)"},
		{M64, "88 c3", "mov bl, al"},
		{M64, "0f b6 c3", "movzx eax, bl"},
		{M64, "48 63 c3", "movsxd rax, ebx"},
		{M64, "f7 d0", "not eax"},
		{M64, "90", "nop"},
		{M64, "c3", "ret"},
		{M64, "f7 23", "mul dword ptr [rbx]"},
		{M64, "f7 3b", "idiv dword ptr [rbx]"},
		{M64, "f6 63 01", "mul byte ptr [rbx]"},
		{M64, "ff 10", "call [rax]"},
		{M64, "ff 23", "jmp [rbx]"},
		{M64, "ff 30", "push [rax]"},
		{M64, "ff 3b", "ff /7"},
		{M64, "fe 13", "fe /2"},
		{M64, "8f 03", "pop [rbx]"},
		{M64, "0f c1 0b", "xadd [rbx], ecx"},
		{M64, "0f b1 cb", "cmpxchg ebx, ecx (no memory operand)"},
		{M64, "0f c7 cb", "cmpxchg8b with a register"},
		{M64, "0f c7 13", "0f c7 /2"},
		{M64, "0f c7 33", "vmptrld [rbx]"},
		{M64, "0f 28 03", "movaps xmm0, [rbx]"},
		{M64, "66 0f 6f 03", "movdqa xmm0, [rbx]"},
		{M64, "c5 f8 28 03", "vmovaps xmm0, [rbx]"},
		{M64, "62 f1 7c 48 28 03", "vmovaps zmm0, [rbx]"},
		{M64, "a6", "cmpsb"},
		{M64, "f3 a6", "repe cmpsb"},
		{M64, "ae", "scasb"},
		{M64, "6c", "insb"},
		{M64, "6e", "outsb"},
		{M64, "8d 03", "lea eax, [rbx]"},
		{M64, "8e 18", "mov ds, [rax]"},
		{M64, "8c 18", "mov [rax], ds"},
		{M64, "c6 4b 00 01", "c6 /1"},
		{M64, "c7 7b 00 01 00 00 00", "c7 /7"},
		{M64, "82 03 01", "82 is invalid in 64-bit mode"},
		{M64, "0f ba 03 01", "0f ba /0"},
		{M64, "0f ba 1b 01", "0f ba /3"},
		{M64, "0f 0b", "ud2"},
		{M64, "d1 23", "shl dword ptr [rbx], 1"},
		{M64, "c1 23 04", "shl dword ptr [rbx], 4"},
		{M64, "a8 01", "test al, 1"},
		{M64, "04 01", "add al, 1"},
		{M64, "3d 01 00 00 00", "cmp eax, 1"},
		{M64, "f3 0f b8 03", "popcnt eax, [rbx]"},
		{M64, "0f bc 03", "bsf eax, [rbx]"},
		{M64, "d8 03", "fadd dword ptr [rbx]"},
		{M64, "0f 01 38", "invlpg [rax]"},
		{M64, "0f ae 38", "clflush [rax]"},
		{M64, "0f 18 08", "prefetcht0 [rax]"},
		{M64, "0f 38 f0 03", "movbe eax, [rbx]"},
		{M64, "e8 00 00 00 00", "call rel32"},
		{M64, "0f", "lone 0f"},
		{M32, "63 03", "arpl [ebx], ax"},
		{M32, "40", "inc eax"},
		{M32, "48 89 03", "dec eax; mov [ebx], eax"},
		{M32, "c4 03", "les eax, [ebx]"},
		{M32, "62 03", "bound eax, [ebx]"},
		{M16, "63 07", "arpl [bx], ax"},
		{M16, "ff 37", "push word [bx]"},
		{M16, "8f 07", "pop word [bx]"},
	};

	for (const Bad &b : bad) {
		SCOPED_TRACE(b.what);
		std::vector<u8> bytes = ParseHex(b.hex);
		// With the bytes alone, and padded to 15 bytes.
		for (int pad = 0; pad < 2; pad++) {
			if (pad)
				bytes.resize(KVMX_EMU_MAX_INSN_LEN, 0);
			kvmx_emu_ctxt c = MakeCtxt(b.mode, bytes);
			kvmx_emu_insn insn;

			EXPECT_EQ(kvmx_emu_decode(&c, &insn), KVMX_EMU_UNHANDLEABLE);
		}
	}
}

TEST(EmulateDecode, MisplacedLockIsUd)
{
	const Bad bad[] = {
		{M64, "f0 89 03", "lock mov [rbx], eax"},
		{M64, "f0 8b 03", "lock mov eax, [rbx]"},
		{M64, "f0 39 03", "lock cmp [rbx], eax"},
		{M64, "f0 83 3b 01", "lock cmp dword ptr [rbx], 1"},
		{M64, "f0 03 03", "lock add eax, [rbx]"},
		{M64, "f0 85 03", "lock test [rbx], eax"},
		{M64, "f0 f7 03 01 00 00 00", "lock test dword ptr [rbx], 1"},
		{M64, "f0 0f a3 03", "lock bt [rbx], eax"},
		{M64, "f0 0f ba 23 01", "lock bt dword ptr [rbx], 1"},
		{M64, "f0 0f b6 03", "lock movzx eax, byte ptr [rbx]"},
		{M64, "f0 c7 03 01 00 00 00", "lock mov dword ptr [rbx], 1"},
		{M64, "f0 a4", "lock movsb"},
		{M64, "f0 f3 aa", "lock rep stosb"},
		{M64, "f0 ac", "lock lodsb"},
		{M64, "f0 a1 00 00 00 00 00 00 00 00", "lock mov eax, moffs"},
		{M32, "f0 8a 03", "lock mov al, [ebx]"},
		{M16, "f0 88 07", "lock mov [bx], al"},
	};

	for (const Bad &b : bad) {
		SCOPED_TRACE(b.what);
		kvmx_emu_ctxt c = MakeCtxt(b.mode, ParseHex(b.hex));
		kvmx_emu_insn insn;

		ASSERT_EQ(kvmx_emu_decode(&c, &insn), KVMX_EMU_FAULT);
		EXPECT_EQ(insn.fault.vector, KVMX_EMU_UD_VECTOR);
		EXPECT_FALSE(insn.fault.error_code_valid);
	}
}

TEST(EmulateDecode, LongerThan15BytesIsGp)
{
	// 12 prefixes + mov [rbx+disp32], eax (6 bytes) = 18 bytes; in 16-bit
	// mode [bp+di+disp16] makes it 16.
	std::vector<u8> bytes(12, 0x3e);
	for (u8 b : {0x89, 0x83, 0x00, 0x01, 0x00, 0x00})
		bytes.push_back(b);
	// The first 15 bytes are all the caller can give.
	for (kvmx_emu_mode m : {M16, M32, M64}) {
		kvmx_emu_ctxt c = MakeCtxt(m, bytes);
		kvmx_emu_insn insn;

		ASSERT_EQ(kvmx_emu_decode(&c, &insn), KVMX_EMU_FAULT);
		EXPECT_EQ(insn.fault.vector, KVMX_EMU_GP_VECTOR);
		EXPECT_TRUE(insn.fault.error_code_valid);
		EXPECT_EQ(insn.fault.error_code, 0u);
	}

	// Fifteen prefix bytes: the opcode would be byte 16.
	kvmx_emu_ctxt c = MakeCtxt(M64, std::vector<u8>(15, 0x66));
	kvmx_emu_insn insn;
	EXPECT_EQ(kvmx_emu_decode(&c, &insn), KVMX_EMU_FAULT);

	// Exactly 15 bytes is fine: 9 prefixes + 48 c7 83 disp32... is 16; use
	// 8 x 3e + mov [rbx+disp32], imm32 without REX (c7 83 d32 i32 = 10) = 18, too
	// long; 5 x 3e + c7 83 d32 i32 = 15.
	std::vector<u8> ok(5, 0x3e);
	for (u8 b : {0xc7, 0x83, 0x10, 0x00, 0x00, 0x00, 0x78, 0x56, 0x34, 0x12})
		ok.push_back(b);
	c = MakeCtxt(M64, ok);
	ASSERT_EQ(kvmx_emu_decode(&c, &insn), KVMX_EMU_DONE);
	EXPECT_EQ(insn.len, 15);
	EXPECT_EQ(insn.imm, 0x12345678u);
	EXPECT_EQ(insn.la, kGpr[3] + 0x10);
}

TEST(EmulateDecode, RexOnlyRightBeforeTheOpcode)
{
	kvmx_emu_insn insn;

	// 48 66 89 03: the REX is followed by a prefix, so it is ignored: 16-bit.
	kvmx_emu_ctxt c = MakeCtxt(M64, {0x48, 0x66, 0x89, 0x03});
	ASSERT_EQ(kvmx_emu_decode(&c, &insn), KVMX_EMU_DONE);
	EXPECT_EQ(insn.op_bytes, 2);
	EXPECT_EQ(insn.len, 4);
	EXPECT_FALSE(insn.flags & KVMX_EMU_INSN_REX);

	// 66 48 89 03: REX.W wins over 66.
	c = MakeCtxt(M64, {0x66, 0x48, 0x89, 0x03});
	ASSERT_EQ(kvmx_emu_decode(&c, &insn), KVMX_EMU_DONE);
	EXPECT_EQ(insn.op_bytes, 8);

	// 41 48 89 03: only the last REX counts (W, no B): [rbx].
	c = MakeCtxt(M64, {0x41, 0x48, 0x89, 0x03});
	ASSERT_EQ(kvmx_emu_decode(&c, &insn), KVMX_EMU_DONE);
	EXPECT_EQ(insn.op_bytes, 8);
	EXPECT_EQ(insn.la, kGpr[3]);

	// 48 41 89 03: B, no W: [r11].
	c = MakeCtxt(M64, {0x48, 0x41, 0x89, 0x03});
	ASSERT_EQ(kvmx_emu_decode(&c, &insn), KVMX_EMU_DONE);
	EXPECT_EQ(insn.op_bytes, 4);
	EXPECT_EQ(insn.la, kGpr[11]);

	// Several segment overrides: the last one wins.
	c = MakeCtxt(M64, {0x64, 0x65, 0x89, 0x03});
	ASSERT_EQ(kvmx_emu_decode(&c, &insn), KVMX_EMU_DONE);
	EXPECT_EQ(insn.seg, KVMX_EMU_SEG_GS);
	EXPECT_EQ(insn.la, kGpr[3] + kSeg64[KVMX_EMU_SEG_GS]);
}

TEST(EmulateDecode, RegisterOperands)
{
	kvmx_emu_insn insn;

	// mov ah, [rbx]: AH is reg 0 bits 15:8.
	kvmx_emu_ctxt c = MakeCtxt(M64, {0x8a, 0x23});
	ASSERT_EQ(kvmx_emu_decode(&c, &insn), KVMX_EMU_DONE);
	EXPECT_EQ(insn.reg, KVMX_EMU_RAX);
	EXPECT_TRUE(insn.flags & KVMX_EMU_INSN_HREG);
	EXPECT_TRUE(insn.flags & KVMX_EMU_INSN_REGDST);

	// 40 8a 23: mov spl, [rbx].
	c = MakeCtxt(M64, {0x40, 0x8a, 0x23});
	ASSERT_EQ(kvmx_emu_decode(&c, &insn), KVMX_EMU_DONE);
	EXPECT_EQ(insn.reg, KVMX_EMU_RSP);
	EXPECT_FALSE(insn.flags & KVMX_EMU_INSN_HREG);

	// 44 88 3b: mov [rbx], r15b.
	c = MakeCtxt(M64, {0x44, 0x88, 0x3b});
	ASSERT_EQ(kvmx_emu_decode(&c, &insn), KVMX_EMU_DONE);
	EXPECT_EQ(insn.reg, 15);
	EXPECT_FALSE(insn.flags & KVMX_EMU_INSN_REGDST);

	// 89 3b in 32-bit mode: mov [ebx], edi; 16-bit: 88 3f mov [bx], bh.
	c = MakeCtxt(M32, {0x89, 0x3b});
	ASSERT_EQ(kvmx_emu_decode(&c, &insn), KVMX_EMU_DONE);
	EXPECT_EQ(insn.reg, KVMX_EMU_RDI);
	c = MakeCtxt(M16, {0x88, 0x3f});
	ASSERT_EQ(kvmx_emu_decode(&c, &insn), KVMX_EMU_DONE);
	EXPECT_EQ(insn.reg, KVMX_EMU_RBX);
	EXPECT_TRUE(insn.flags & KVMX_EMU_INSN_HREG);

	// Forms without a register operand.
	c = MakeCtxt(M64, {0xf7, 0x13});	// not dword ptr [rbx]
	ASSERT_EQ(kvmx_emu_decode(&c, &insn), KVMX_EMU_DONE);
	EXPECT_EQ(insn.reg, 0xff);
	EXPECT_FALSE(insn.flags & KVMX_EMU_INSN_IMM);
	c = MakeCtxt(M64, {0x83, 0x03, 0x80});	// add dword ptr [rbx], -128
	ASSERT_EQ(kvmx_emu_decode(&c, &insn), KVMX_EMU_DONE);
	EXPECT_EQ(insn.reg, 0xff);
	EXPECT_TRUE(insn.flags & KVMX_EMU_INSN_IMM);
	EXPECT_EQ(insn.imm, 0xffffffffffffff80ULL);
}

TEST(EmulateDecode, Immediates)
{
	struct {
		kvmx_emu_mode mode;
		std::vector<u8> bytes;
		u64 imm;
	} cases[] = {
		{M64, {0x80, 0x03, 0x80}, 0x80},			// add byte [rbx], 0x80
		{M64, {0x83, 0x03, 0xff}, ~0ULL},			// add dword [rbx], -1
		{M64, {0x66, 0x83, 0x03, 0x80}, 0xffffffffffffff80ULL},
		{M64, {0x66, 0x81, 0x03, 0x00, 0x80}, 0x8000},		// add word [rbx], 0x8000
		{M64, {0x81, 0x03, 0x00, 0x00, 0x00, 0x80}, 0xffffffff80000000ULL},
		{M64, {0x48, 0xc7, 0x03, 0x00, 0x00, 0x00, 0x80}, 0xffffffff80000000ULL},
		{M64, {0xc6, 0x03, 0xfe}, 0xfe},
		{M32, {0x66, 0xc7, 0x03, 0x34, 0x12}, 0x1234},
		{M16, {0xc7, 0x07, 0x34, 0x12}, 0x1234},
		{M16, {0x66, 0xc7, 0x07, 0x78, 0x56, 0x34, 0x12}, 0x12345678},
		{M64, {0x0f, 0xba, 0x23, 0x45}, 0x45},			// bt dword [rbx], 0x45
	};

	for (auto &tc : cases) {
		kvmx_emu_ctxt c = MakeCtxt(tc.mode, tc.bytes);
		kvmx_emu_insn insn;

		ASSERT_EQ(kvmx_emu_decode(&c, &insn), KVMX_EMU_DONE);
		EXPECT_EQ(insn.len, tc.bytes.size());
		EXPECT_EQ(insn.imm, tc.imm);
	}

	// bt dword [rbx], 0x45 tests bit 5 of [rbx]: the immediate wraps.
	kvmx_emu_ctxt c = MakeCtxt(M64, {0x0f, 0xba, 0x23, 0x45});
	kvmx_emu_insn insn;
	ASSERT_EQ(kvmx_emu_decode(&c, &insn), KVMX_EMU_DONE);
	EXPECT_EQ(insn.bit, 5);
	EXPECT_EQ(insn.la, kGpr[3]);
}

TEST(EmulateDecode, BitOffsetRegisterMovesTheAddress)
{
	struct {
		std::vector<u8> bytes;
		u64 offset;
		u64 la;
		u8 bit;
	} cases[] = {
		// bt [rbx], ecx
		{{0x0f, 0xa3, 0x0b}, 0, kGpr[3], 0},
		{{0x0f, 0xa3, 0x0b}, 31, kGpr[3], 31},
		{{0x0f, 0xa3, 0x0b}, 32, kGpr[3] + 4, 0},
		{{0x0f, 0xa3, 0x0b}, 0xffffffff, kGpr[3] - 4, 31},
		{{0x0f, 0xa3, 0x0b}, 0xffffffffffffffe0ULL, kGpr[3] - 4, 0},	// ecx = -32
		{{0x0f, 0xa3, 0x0b}, 0x7fffffff, kGpr[3] + 0x0ffffffc, 31},
		// bts [rbx], rcx
		{{0x48, 0x0f, 0xab, 0x0b}, 0xffffffffffffffffULL, kGpr[3] - 8, 63},
		{{0x48, 0x0f, 0xab, 0x0b}, 0x1000, kGpr[3] + 0x200, 0},
		// btr [rbx], cx: 16-bit offset, sign-extended
		{{0x66, 0x0f, 0xb3, 0x0b}, 0x8000, kGpr[3] - 0x1000, 0},
		{{0x66, 0x0f, 0xb3, 0x0b}, 0x12347fff, kGpr[3] + 0xffe, 15},
	};

	for (auto &tc : cases) {
		kvmx_emu_ctxt c = MakeCtxt(M64, tc.bytes);
		kvmx_emu_insn insn;

		c.regs.gpr[KVMX_EMU_RCX] = tc.offset;
		ASSERT_EQ(kvmx_emu_decode(&c, &insn), KVMX_EMU_DONE);
		EXPECT_EQ(insn.la, tc.la) << std::hex << tc.offset;
		EXPECT_EQ(insn.bit, tc.bit);
	}

	// 32-bit addresses wrap: bt [ebx], ecx with ebx = 0, ecx = -1.
	kvmx_emu_ctxt c = MakeCtxt(M32, {0x0f, 0xa3, 0x0b});
	kvmx_emu_insn insn;
	c.regs.gpr[KVMX_EMU_RBX] = 0;
	c.regs.gpr[KVMX_EMU_RCX] = 0xffffffff;
	c.seg_base[KVMX_EMU_SEG_DS] = 0;
	ASSERT_EQ(kvmx_emu_decode(&c, &insn), KVMX_EMU_DONE);
	EXPECT_EQ(insn.la, 0xfffffffcu);
}

TEST(EmulateDecode, AddressWraps)
{
	kvmx_emu_insn insn;

	// 16-bit: [bp+si+0x10] wraps at 64 KiB, SS base added after.
	kvmx_emu_ctxt c = MakeCtxt(M16, {0x8b, 0x42, 0x10});
	c.regs.gpr[KVMX_EMU_RBP] = 0xfff0;
	c.regs.gpr[KVMX_EMU_RSI] = 0x8;
	ASSERT_EQ(kvmx_emu_decode(&c, &insn), KVMX_EMU_DONE);
	EXPECT_EQ(insn.ea, 0x8u);
	EXPECT_EQ(insn.la, kSeg32[KVMX_EMU_SEG_SS] + 0x8);
	EXPECT_EQ(insn.seg, KVMX_EMU_SEG_SS);

	// 32-bit: base + ea wraps at 4 GiB.
	c = MakeCtxt(M32, {0x65, 0x8b, 0x03});		// mov eax, gs:[ebx]
	c.regs.gpr[KVMX_EMU_RBX] = 0x00200000;
	ASSERT_EQ(kvmx_emu_decode(&c, &insn), KVMX_EMU_DONE);
	EXPECT_EQ(insn.la, 0x00100000u);

	// 64-bit with 67: the effective address wraps at 4 GiB, FS base is 64-bit.
	c = MakeCtxt(M64, {0x64, 0x67, 0x8b, 0x43, 0x10});	// mov eax, fs:[ebx+0x10]
	c.regs.gpr[KVMX_EMU_RBX] = 0x12fffffff8ULL;
	ASSERT_EQ(kvmx_emu_decode(&c, &insn), KVMX_EMU_DONE);
	EXPECT_EQ(insn.ea, 0x8u);
	EXPECT_EQ(insn.la, kSeg64[KVMX_EMU_SEG_FS] + 0x8);

	// RIP-relative adds the address of the next instruction.
	c = MakeCtxt(M64, {0xc7, 0x05, 0xf0, 0xff, 0xff, 0xff, 0x01, 0x00, 0x00, 0x00});
	c.regs.rip = 0xffffffffffffff00ULL;
	ASSERT_EQ(kvmx_emu_decode(&c, &insn), KVMX_EMU_DONE);
	EXPECT_TRUE(insn.flags & KVMX_EMU_INSN_RIPREL);
	EXPECT_EQ(insn.la, 0xffffffffffffff00ULL + 10 - 0x10);
}

// Random bytes never crash the decoder, and what it accepts is sane.
TEST(EmulateDecode, RandomBytes)
{
	std::mt19937_64 rng(1);
	int done = 0;

	for (int i = 0; i < 300000; i++) {
		std::vector<u8> bytes(rng() % 16);
		for (auto &b : bytes) {
			// Bias toward prefixes and the opcodes we know.
			static const u8 hot[] = {0x66, 0x67, 0xf0, 0xf2, 0xf3, 0x2e, 0x64, 0x48,
						 0x41, 0x0f, 0x89, 0x8b, 0xa4, 0xab, 0xf7, 0x81};
			b = (rng() & 3) ? static_cast<u8>(rng()) : hot[rng() % 16];
		}
		kvmx_emu_mode mode = static_cast<kvmx_emu_mode>(rng() % 3);
		kvmx_emu_ctxt c = MakeCtxt(mode, bytes);
		for (auto &g : c.regs.gpr)
			g = rng();
		kvmx_emu_insn insn;
		int ret = kvmx_emu_decode(&c, &insn);

		ASSERT_TRUE(ret == KVMX_EMU_DONE || ret == KVMX_EMU_FAULT ||
			    ret == KVMX_EMU_UNHANDLEABLE);
		if (ret != KVMX_EMU_DONE)
			continue;
		done++;
		ASSERT_GE(insn.len, 1);
		ASSERT_LE(insn.len, c.insn_len);
		ASSERT_GT(insn.op, KVMX_EMU_OP_NONE);
		ASSERT_LT(insn.op, KVMX_EMU_NR_OPS);
		ASSERT_TRUE(insn.op_bytes == 1 || insn.op_bytes == 2 || insn.op_bytes == 4 ||
			    insn.op_bytes == 8);
		ASSERT_TRUE(insn.mem_bytes == 1 || insn.mem_bytes == 2 || insn.mem_bytes == 4 ||
			    insn.mem_bytes == 8 || insn.mem_bytes == 16);
		if (insn.op == KVMX_EMU_OP_CMPXCHG8B)
			ASSERT_EQ(insn.mem_bytes, 2 * insn.op_bytes);
		else
			ASSERT_LE(insn.mem_bytes, insn.op_bytes);
		ASSERT_TRUE(insn.ad_bytes == 2 || insn.ad_bytes == 4 || insn.ad_bytes == 8);
		ASSERT_LT(insn.seg, KVMX_EMU_NR_SEGS);
		ASSERT_TRUE(insn.reg == 0xff || insn.reg < 16);
		if (mode != M64) {
			ASSERT_LE(insn.la, 0xffffffffu);
			ASSERT_NE(insn.op_bytes, 8);
		}
		// Decoding only the accepted bytes gives the same answer.
		kvmx_emu_ctxt c2 = c;
		kvmx_emu_insn insn2;
		c2.insn_len = insn.len;
		ASSERT_EQ(kvmx_emu_decode(&c2, &insn2), KVMX_EMU_DONE);
		ASSERT_EQ(insn2.len, insn.len);
		ASSERT_EQ(insn2.la, insn.la);
	}
	EXPECT_GT(done, 1000);
}

// A decode kept and re-addressed with other registers, segment bases and
// RIP (kvmx_emu_address()) gives what decoding afresh with them gives: the
// decode itself depends only on the bytes and the mode.
void ExpectReaddressedLikeFresh(const kvmx_emu_ctxt &old_state, const kvmx_emu_ctxt &new_state)
{
	kvmx_emu_insn kept, fresh;

	ASSERT_EQ(kvmx_emu_decode(&old_state, &kept), KVMX_EMU_DONE);
	ASSERT_EQ(kvmx_emu_decode(&new_state, &fresh), KVMX_EMU_DONE);
	kvmx_emu_address(&new_state, &kept);
	EXPECT_EQ(kept.ea, fresh.ea);
	EXPECT_EQ(kept.la, fresh.la);
	if (fresh.op == KVMX_EMU_OP_MOVS) {
		EXPECT_EQ(kept.la2, fresh.la2);
	}
	EXPECT_EQ(kept.bit, fresh.bit);
	EXPECT_EQ(kept.len, fresh.len);
	EXPECT_EQ(kept.op, fresh.op);
}

kvmx_emu_ctxt Scramble(kvmx_emu_ctxt c, std::mt19937_64 &rng)
{
	for (auto &g : c.regs.gpr)
		g = (rng() & 1) ? rng() : rng() % 0x10000;
	c.regs.rip = rng();
	for (auto &s : c.seg_base)
		s = rng();
	return c;
}

TEST(EmulateDecode, TableReaddressed)
{
	std::mt19937_64 rng(11);

	for (const Row &r : kRows) {
		SCOPED_TRACE(Describe(r));
		kvmx_emu_ctxt c = MakeCtxt(r.mode, ParseHex(r.hex));

		for (int i = 0; i < 8; i++)
			ExpectReaddressedLikeFresh(c, Scramble(c, rng));
		// And back: the kept decode returns to the table's addresses.
		kvmx_emu_insn insn;
		ASSERT_EQ(kvmx_emu_decode(&c, &insn), KVMX_EMU_DONE);
		kvmx_emu_address(&c, &insn);
		EXPECT_EQ(insn.la, r.la);
	}
}

TEST(EmulateDecode, RandomBytesReaddressed)
{
	std::mt19937_64 rng(12);
	int done = 0;

	for (int i = 0; i < 200000; i++) {
		std::vector<u8> bytes(1 + rng() % 15);
		for (auto &b : bytes) {
			static const u8 hot[] = {0x66, 0x67, 0x0f, 0xa3, 0xba, 0x89, 0x8b, 0xa5,
						 0x04, 0x44, 0x84, 0x05, 0x46, 0x41, 0x4c, 0x24};
			b = (rng() & 1) ? static_cast<u8>(rng()) : hot[rng() % 16];
		}
		kvmx_emu_ctxt c = Scramble(MakeCtxt(static_cast<kvmx_emu_mode>(rng() % 3), bytes), rng);
		kvmx_emu_insn insn;

		if (kvmx_emu_decode(&c, &insn) != KVMX_EMU_DONE)
			continue;
		done++;
		SCOPED_TRACE(i);
		ExpectReaddressedLikeFresh(c, Scramble(c, rng));
	}
	EXPECT_GT(done, 1000);
}

}  // namespace
