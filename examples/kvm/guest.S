/* SPDX-License-Identifier: MIT */
/*
 * The guest: 16-bit real-mode code that lives in the ROM (CS = 0xf000) and
 * has three entry points, each ending in hlt. It has no stack and takes no
 * interrupts, so the only guest-physical pages it writes are the ones named
 * in layout.h, which is what lets the monitor demand an exact dirty log.
 *
 * Each access loads ES with the 64 KiB-aligned segment of its address and
 * uses the low 16 bits as the offset (SEG and OFF below). Values go to the
 * monitor as 32-bit `outl` to PORT_REPORT (a KVM_EXIT_IO each).
 *
 * Assembled by GNU as (through cpp, for layout.h) and flattened with
 * objcopy -O binary: offset 0 of the output is offset 0 of the ROM.
 */
#include "layout.h"

#define SEG(a) ((((a) >> 4) & 0xf000))
#define OFF(a) ((a) & 0xffff)

/* ES = segment of address a; clobbers AX. */
#define LOAD_ES(a)                                                            \
	movw $SEG(a), %ax;                                                    \
	movw %ax, %es

	.code16
	.text

	/* ENTRY_MAIN: write both RAM regions, add the monitor's two values,
	 * try to overwrite the ROM, report. */
	.org ENTRY_MAIN
	cli
	movw $PORT_REPORT, %dx
	movl $HELLO_MAIN, %eax
	outl %eax, %dx

	LOAD_ES(GUEST_W0)
	movl $GUEST_W0_VALUE, %es:OFF(GUEST_W0)
	LOAD_ES(GUEST_W1)
	movl $GUEST_W1_VALUE, %es:OFF(GUEST_W1)

	LOAD_ES(MONITOR_A)
	movl %es:OFF(MONITOR_A), %ebx
	LOAD_ES(MONITOR_B)
	addl %es:OFF(MONITOR_B), %ebx
	LOAD_ES(GUEST_SUM)
	movl %ebx, %es:OFF(GUEST_SUM)
	movl %ebx, %eax
	outl %eax, %dx

	/* A read-only KVM slot turns this store into a KVM_EXIT_MMIO; the
	 * byte read back must still be the ROM's. */
	LOAD_ES(ROM_PROBE)
	movb $ROM_POISON, %es:OFF(ROM_PROBE)
	xorl %eax, %eax
	movb %es:OFF(ROM_PROBE), %al
	outl %eax, %dx
1:	hlt
	jmp 1b

	/* ENTRY_UNPLUGGED: RAM1 has been removed, so its store and load
	 * exit as MMIO (the monitor answers the load with all ones); RAM0
	 * is still there. */
	.org ENTRY_UNPLUGGED
	cli
	movw $PORT_REPORT, %dx
	movl $HELLO_UNPLUGGED, %eax
	outl %eax, %dx
	LOAD_ES(UNPLUGGED_W)
	movl $UNPLUGGED_W_VALUE, %es:OFF(UNPLUGGED_W)
	LOAD_ES(UNPLUGGED_R)
	movl %es:OFF(UNPLUGGED_R), %ebx
	LOAD_ES(UNPLUGGED_RAM0_W)
	movl $UNPLUGGED_RAM0_VALUE, %es:OFF(UNPLUGGED_RAM0_W)
	movl %ebx, %eax
	outl %eax, %dx
2:	hlt
	jmp 2b

	/* ENTRY_PROTECTED: RAM0 is now read-execute for the guest, so the
	 * store exits as MMIO and the load does not. */
	.org ENTRY_PROTECTED
	cli
	movw $PORT_REPORT, %dx
	movl $HELLO_PROTECTED, %eax
	outl %eax, %dx
	LOAD_ES(PROTECTED_W)
	movl $PROTECTED_W_VALUE, %es:OFF(PROTECTED_W)
	LOAD_ES(MONITOR_A)
	movl %es:OFF(MONITOR_A), %eax
	outl %eax, %dx
3:	hlt
	jmp 3b

	/* Fails the build when the code outgrows what the monitor copies. */
	.org GUEST_CODE_MAX
