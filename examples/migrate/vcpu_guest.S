/* SPDX-License-Identifier: MIT */
/*
 * The vCPU's guest: 16-bit real-mode code in the ROM that writes guest RAM
 * until the monitor tells it to stop (vcpu_layout.h has the addresses). It
 * takes no interrupts and has no stack.
 *
 * Assembled by GNU as (through cpp) and flattened with objcopy -O binary:
 * offset 0 of the output is offset 0 of the ROM.
 */
#include "vcpu_layout.h"

	.code16
	.text

	.org VG_ENTRY
	cli
	xorw %ax, %ax
	movw %ax, %ds			/* DS base 0: the control words */
	xorw %si, %si			/* the offset in each page, per sweep */
sweep:
	movw $(VG_FIRST >> 4), %ax	/* ES walks 64 KiB segments */
segment:
	movw %ax, %es
	xorw %bx, %bx			/* 16 pages of the segment */
page:
	cmpl $0, VG_STOP
	jne stop
	incl VG_WRITES
	movl VG_WRITES, %ecx
	movl %ecx, %es:(%bx, %si)
	addw $0x1000, %bx
	jnz page			/* BX wraps to 0 after 16 pages */
	outb %al, $VG_PORT_PACE		/* the monitor paces the guest here */
	addw $0x1000, %ax
	cmpw $(VG_END >> 4), %ax
	jb segment
	incl VG_SWEEPS
	addw $8, %si
	andw $0xff8, %si
	jmp sweep
stop:
	hlt
	jmp stop

	/* Fails the build when the code outgrows what the ROM holds of it. */
	.org VG_CODE_MAX
