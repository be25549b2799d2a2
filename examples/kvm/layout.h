/* SPDX-License-Identifier: MIT */
/*
 * The guest's memory map and its port protocol, shared by guest.S and the
 * monitor: one file, so that the addresses the guest writes and the pages
 * the monitor expects dirty cannot drift apart. Plain #defines of integer
 * expressions only, because GNU as reads this file too (through cpp).
 *
 * The guest runs in 16-bit real mode, so everything lies below 1 MiB:
 *
 *   [0x00000, 0x80000)  RAM0, anonymous memory           library slot 100
 *   [0x80000, 0xc0000)  RAM1, a SHARED memfd             library slot 101
 *   [0xf0000, 0x100000) ROM, READONLY, the guest's code  library slot 102
 *
 * The library's slot numbers are deliberately not KVM's: the plugin picks
 * small KVM slot ids of its own.
 */
#ifndef SQUIB_KVM_EXAMPLE_LAYOUT_H
#define SQUIB_KVM_EXAMPLE_LAYOUT_H

#define RAM0_BASE 0x00000
#define RAM0_SIZE 0x80000
#define RAM0_SLOT 100

#define RAM1_BASE 0x80000
#define RAM1_SIZE 0x40000
#define RAM1_SLOT 101

#define ROM_BASE 0xf0000
#define ROM_SIZE 0x10000
#define ROM_SLOT 102

/* A region KVM refuses: the library accepts any alignment for anonymous
 * memory, KVM wants a page-aligned guest address (and host address, which
 * the library keeps congruent to the guest's modulo the page size). */
#define ODD_BASE 0x100800
#define ODD_SIZE 0x1000
#define ODD_SLOT 103

/* The code: entry points at fixed offsets of the ROM (guest.S places them
 * with .org), entered with CS = ROM_BASE >> 4 and IP = the offset. */
#define ENTRY_MAIN 0x0000
#define ENTRY_UNPLUGGED 0x0100
#define ENTRY_PROTECTED 0x0200
#define GUEST_CODE_MAX 0x0300

/* A ROM byte past the code that the guest tries to overwrite. */
#define ROM_PROBE (ROM_BASE + 0x8000)
#define ROM_PROBE_VALUE 0x5a
#define ROM_POISON 0xaa

/* The guest reports 32-bit values with `outl %eax, %dx` to this port. */
#define PORT_REPORT 0x0510
#define HELLO_MAIN 0x4e49414d	   /* "MAIN" */
#define HELLO_UNPLUGGED 0x47554c50 /* "PLUG" */
#define HELLO_PROTECTED 0x544f5250 /* "PROT" */

/* ENTRY_MAIN, with dirty logging on in RAM0 and RAM1. The guest writes: */
#define GUEST_W0 0x02000 /* RAM0 page 0x02 */
#define GUEST_W0_VALUE 0x11223344
#define GUEST_W1 0x7fffc /* RAM0's last dword, page 0x7f */
#define GUEST_W1_VALUE 0x55667788
#define GUEST_SUM 0x81000 /* RAM1 page 1: MONITOR_A + MONITOR_B */
/* ... reads what the monitor wrote through squib_mem_write(): */
#define MONITOR_A 0x05000 /* RAM0 page 0x05 */
#define MONITOR_A_VALUE 0x01020304
#define MONITOR_B 0x82000 /* RAM1 page 2 */
#define MONITOR_B_VALUE 0x20406080
/* ... and the monitor wrote this before logging was on (not dirty): */
#define MONITOR_EARLY 0x06000 /* RAM0 page 0x06 */

/* ENTRY_UNPLUGGED, after RAM1's removal: a write and a read of RAM1 (both
 * must exit as MMIO), then a write to RAM0 (must not). */
#define UNPLUGGED_W 0x81000
#define UNPLUGGED_W_VALUE 0xdeadbeef
#define UNPLUGGED_R 0x82000
#define UNPLUGGED_RAM0_W 0x03000
#define UNPLUGGED_RAM0_VALUE 0xcafef00d

/* ENTRY_PROTECTED, after squib_mem_set_protection(RAM0, RX): the write
 * must exit as MMIO and change nothing; the read must not exit. */
#define PROTECTED_W 0x04000
#define PROTECTED_W_VALUE 0x0badf00d

#endif
