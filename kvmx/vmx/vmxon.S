/* SPDX-License-Identifier: GPL-2.0 */
/*
 * VMXON and VMXOFF with their outcomes as return values: 0 on success,
 * 1 on VMfail (CF or ZF set), 2 when the instruction faulted (#UD/#GP,
 * caught through the exception table).
 */
#include <linux/linkage.h>
#include <asm/asm.h>

	.text

/* int kvmx_vmxon(u64 *vmxon_region_pa) */
SYM_FUNC_START(kvmx_vmxon)
1:	vmxon	(%rdi)
	jna	2f
	xorl	%eax, %eax
	RET
2:	movl	$1, %eax
	RET
3:	movl	$2, %eax
	RET
	_ASM_EXTABLE(1b, 3b)
SYM_FUNC_END(kvmx_vmxon)

/* int kvmx_vmxoff(void) */
SYM_FUNC_START(kvmx_vmxoff)
1:	vmxoff
	jna	2f
	xorl	%eax, %eax
	RET
2:	movl	$1, %eax
	RET
3:	movl	$2, %eax
	RET
	_ASM_EXTABLE(1b, 3b)
SYM_FUNC_END(kvmx_vmxoff)
