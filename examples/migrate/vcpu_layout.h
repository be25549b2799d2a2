/* SPDX-License-Identifier: MIT */
/*
 * The real-mode guest of vcpu_guest.S and the monitor's side of it
 * (vcpu_writer.c): one file, read by GNU as (through cpp) and by C, so
 * plain #defines of integer expressions only.
 *
 * The guest's code is the start of the "bios" ROM (guest.h), at 4 GiB - 64
 * KiB, and runs there as after a reset: CS 0xf000 with base 0xffff0000. It
 * writes the first MiB of "ram-lo", which the library's writer threads
 * leave alone:
 *
 *   [0x1000, 0x100c)    the control words: STOP (the monitor sets it to
 *                       make the guest halt), WRITES and SWEEPS (counters)
 *   [0x10000, 0x90000)  128 pages, each written in turn with the WRITES
 *                       count at an offset that moves on every sweep
 *
 * After every 16 pages it writes a byte to port PACE: the monitor sleeps
 * there, which is the guest's rate limit.
 */
#ifndef SQUIB_MIGRATE_VCPU_LAYOUT_H
#define SQUIB_MIGRATE_VCPU_LAYOUT_H

#define VG_ENTRY 0x0000 /* IP, in the ROM */
#define VG_CODE_MAX 0x1000

#define VG_STOP 0x1000
#define VG_WRITES 0x1004
#define VG_SWEEPS 0x1008

#define VG_FIRST 0x10000
#define VG_END 0x90000
#define VG_PAGES ((VG_END - VG_FIRST) / 0x1000)

#define VG_PORT_PACE 0x80

#endif
