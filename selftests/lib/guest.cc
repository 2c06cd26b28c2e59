// SPDX-License-Identifier: GPL-2.0
// Code that runs in the guest: ucalls, the IDT stubs and the exception
// dispatcher.  No libc, no TLS, nothing that could throw.
#include "guest.h"

namespace kvmx {

// Per-vector handlers installed by the host (Vm::install_handler) into the
// guest's copy of this array.
extern "C" {
ExHandler kvmx_guest_handlers[256];
void kvmx_guest_exception(ExFrame *frame);
}

namespace guest {

void ucall(uint64_t cmd, uint64_t a0, uint64_t a1, uint64_t a2)
{
	volatile Ucall uc;

	uc.cmd = cmd;
	uc.args[0] = a0;
	uc.args[1] = a1;
	uc.args[2] = a2;
	uc.file = nullptr;
	uc.expr = nullptr;
	uc.line = 0;
	asm volatile("inb %%dx, %%al"
		     : : "d"(KVMX_UCALL_PORT), "D"(&uc) : "rax", "memory");
}

void ucall_abort(const char *file, uint64_t line, const char *expr, uint64_t a, uint64_t b,
		 bool two_values)
{
	volatile Ucall uc;

	uc.cmd = UCALL_ABORT;
	uc.args[0] = a;
	uc.args[1] = b;
	uc.args[2] = two_values;
	uc.file = file;
	uc.expr = expr;
	uc.line = line;
	for (;;) // the host does not resume an aborted guest
		asm volatile("inb %%dx, %%al"
			     : : "d"(KVMX_UCALL_PORT), "D"(&uc) : "rax", "memory");
}

} // namespace guest

extern "C" void kvmx_guest_exception(ExFrame *frame)
{
	ExHandler h = kvmx_guest_handlers[frame->vector & 0xff];

	if (h) {
		h(frame);
		return;
	}
	for (;;)
		guest::ucall(UCALL_UNHANDLED, frame->vector, frame->error_code, frame->rip);
}

// A guest entry function that returns lands here (the library puts this
// address where the return address would be): it reports UCALL_DONE.
extern "C" void kvmx_guest_returned();

} // namespace kvmx

// 256 IDT stubs of 16 bytes each at kvmx_idt_stubs + 16 * vector.  Vectors
// without an error code push a 0 so that every frame looks alike.  The
// common part saves the GPRs and the SSE state (guest code is compiled
// with SSE), and calls kvmx_guest_exception(frame).
asm(R"(
	.pushsection .text
	.p2align 4
	.globl kvmx_idt_stubs
kvmx_idt_stubs:
	vec = 0
	.rept 256
	.p2align 4
	.if (vec == 8) || (vec == 10) || (vec == 11) || (vec == 12) || (vec == 13) || (vec == 14) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)
	.else
	pushq $0
	.endif
	pushq $vec
	jmp kvmx_idt_common
	vec = vec + 1
	.endr

	.p2align 4
kvmx_idt_common:
	pushq %rax
	pushq %rbx
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %rbp
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rsp, %rdi
	movq %rsp, %rbx
	andq $-16, %rsp
	subq $512, %rsp
	fxsave64 (%rsp)
	call kvmx_guest_exception
	fxrstor64 (%rsp)
	movq %rbx, %rsp
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rbp
	popq %rdi
	popq %rsi
	popq %rdx
	popq %rcx
	popq %rbx
	popq %rax
	addq $16, %rsp
	iretq

	.p2align 4
	.globl kvmx_guest_returned
kvmx_guest_returned:
	andq $-16, %rsp
	movl $2, %edi
	xorl %esi, %esi
	xorl %edx, %edx
	xorl %ecx, %ecx
	call _ZN4kvmx5guest5ucallEmmmm
1:	hlt
	jmp 1b
	.popsection
)");
