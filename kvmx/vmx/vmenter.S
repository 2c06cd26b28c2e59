/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The transition into the guest and back.
 *
 * int kvmx_vmx_run(unsigned long *regs, bool launched)
 *
 * Loads the guest's general-purpose registers from @regs (RSP is in the
 * VMCS), runs VMLAUNCH (or VMRESUME once @launched), and on VM exit, which
 * lands at kvmx_vmx_vmexit (HOST_RIP) with the stack pointer written to
 * HOST_RSP here, stores them back.  Returns 0 after a VM exit, 1 if the
 * VM entry itself failed (VMfail).  Interrupts are off throughout.
 */
#include <linux/linkage.h>
#include <asm/asm.h>
#include <asm/nospec-branch.h>
#include <asm/unwind_hints.h>

#define WORD		8
#define REG(n)		((n) * WORD)
#define R_RAX		REG(0)
#define R_RCX		REG(1)
#define R_RDX		REG(2)
#define R_RBX		REG(3)
#define R_RBP		REG(5)
#define R_RSI		REG(6)
#define R_RDI		REG(7)
#define R_R8		REG(8)
#define R_R9		REG(9)
#define R_R10		REG(10)
#define R_R11		REG(11)
#define R_R12		REG(12)
#define R_R13		REG(13)
#define R_R14		REG(14)
#define R_R15		REG(15)
#define VMCS_HOST_RSP	0x6c14

.section .noinstr.text, "ax"

SYM_FUNC_START(kvmx_vmx_run)
	push	%rbp
	mov	%rsp, %rbp
	push	%r15
	push	%r14
	push	%r13
	push	%r12
	push	%rbx

	/* @regs stays on the stack: after VM exit it is all we have. */
	push	%rdi
	mov	%esi, %ebx

	mov	$VMCS_HOST_RSP, %eax
	vmwrite	%rsp, %rax
	jna	.Lvmfail_early

	mov	(%rsp), %rax
	testb	%bl, %bl

	/* Guest registers; RAX last, it holds @regs.  Flags stay intact. */
	mov	R_RCX(%rax), %rcx
	mov	R_RDX(%rax), %rdx
	mov	R_RBX(%rax), %rbx
	mov	R_RBP(%rax), %rbp
	mov	R_RSI(%rax), %rsi
	mov	R_RDI(%rax), %rdi
	mov	R_R8(%rax), %r8
	mov	R_R9(%rax), %r9
	mov	R_R10(%rax), %r10
	mov	R_R11(%rax), %r11
	mov	R_R12(%rax), %r12
	mov	R_R13(%rax), %r13
	mov	R_R14(%rax), %r14
	mov	R_R15(%rax), %r15
	mov	R_RAX(%rax), %rax

	jz	.Lvmlaunch

	/* Execution continues at kvmx_vmx_vmexit; tell objtool the stack. */
	UNWIND_HINT_SAVE
.Lvmresume:
	vmresume
	jmp	.Lvmfail
.Lvmlaunch:
	vmlaunch
	jmp	.Lvmfail

SYM_INNER_LABEL(kvmx_vmx_vmexit, SYM_L_GLOBAL)
	UNWIND_HINT_RESTORE
	ENDBR

	push	%rax
	mov	WORD(%rsp), %rax
	pop	R_RAX(%rax)
	mov	%rcx, R_RCX(%rax)
	mov	%rdx, R_RDX(%rax)
	mov	%rbx, R_RBX(%rax)
	mov	%rbp, R_RBP(%rax)
	mov	%rsi, R_RSI(%rax)
	mov	%rdi, R_RDI(%rax)
	mov	%r8, R_R8(%rax)
	mov	%r9, R_R9(%rax)
	mov	%r10, R_R10(%rax)
	mov	%r11, R_R11(%rax)
	mov	%r12, R_R12(%rax)
	mov	%r13, R_R13(%rax)
	mov	%r14, R_R14(%rax)
	mov	%r15, R_R15(%rax)
	xor	%ebx, %ebx

.Lclear_regs:
	/* Leave no guest value in a register for speculation to use. */
	xor	%eax, %eax
	xor	%ecx, %ecx
	xor	%edx, %edx
	xor	%ebp, %ebp
	xor	%esi, %esi
	xor	%edi, %edi
	xor	%r8d, %r8d
	xor	%r9d, %r9d
	xor	%r10d, %r10d
	xor	%r11d, %r11d
	xor	%r12d, %r12d
	xor	%r13d, %r13d
	xor	%r14d, %r14d
	xor	%r15d, %r15d

	add	$WORD, %rsp

	/* Before the first unbalanced RET after VM exit. */
	FILL_RETURN_BUFFER %rcx, RSB_CLEAR_LOOPS, X86_FEATURE_RSB_VMEXIT, \
			   X86_FEATURE_RSB_VMEXIT_LITE

	mov	%rbx, %rax
	pop	%rbx
	pop	%r12
	pop	%r13
	pop	%r14
	pop	%r15
	pop	%rbp
	RET

.Lvmfail:
	mov	$1, %ebx
	jmp	.Lclear_regs

.Lvmfail_early:
	mov	$1, %ebx
	jmp	.Lclear_regs
SYM_FUNC_END(kvmx_vmx_run)
