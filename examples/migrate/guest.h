/* SPDX-License-Identifier: MIT */
/*
 * The source guest, 256 MiB of RAM and a ROM:
 *
 *   [0,          192 MiB)         "ram-lo", slot 0, anonymous, logs dirty pages
 *   [1 GiB,      1 GiB + 64 MiB)  "ram-hi", slot 1, a SHARED memfd, logs
 *   [4 GiB - 64 KiB, 4 GiB)       "bios",   slot 2, READONLY, from bytes
 *
 * The writer threads write all of RAM but the first MiB, which is the KVM
 * guest's (vcpu_layout.h) when there is one; the bios ROM begins with that
 * guest's code.
 *
 * and what both ends compute of a guest at the end: every region's layout
 * and a hash of its bytes.
 */
#ifndef SQUIB_MIGRATE_GUEST_H
#define SQUIB_MIGRATE_GUEST_H

#include <stddef.h>
#include <stdint.h>

#include <squib/core.h>

#include "proto.h"

#define KIB (UINT64_C(1) << 10)
#define MIB (UINT64_C(1) << 20)
#define GIB (UINT64_C(1) << 30)

#define GUEST_PAGE ((uint64_t)SQUIB_DIRTY_PAGE_SIZE)
#define GUEST_RAMS 2u
#define GUEST_REGIONS_MAX 8u

/* A RAM region: what the writers dirty and the source's dirty log counts. */
struct guest_ram {
	uint64_t base;
	uint64_t size;
	uint32_t slot;
	uint32_t flags; /* SQUIB_REGION_* at the add; logging is switched on after */
	const char *name;
	uint64_t writers_from; /* the writer threads write from this offset on */
};

extern const struct guest_ram guest_rams[GUEST_RAMS];

/* Adds the regions to a new handle, fills RAM with a pattern (one MiB in
 * sixteen left zero, so that records carry ZERO runs too) and the ROM with
 * @p code (@p len bytes, NULL for none) and a pattern after it, and
 * switches dirty logging on in both RAM regions. Returns NULL after
 * printing why. */
squib_mem_t *guest_create(const uint8_t *code, size_t len);

/* The pages the writer threads write, of all RAM regions together. */
uint64_t guest_writer_pages(void);

/* Fills @p out[0, *count) with every region of @p mem, in base order;
 * false after printing why (more than @p cap regions, a failed call). */
bool guest_summarise(const squib_mem_t *mem, struct region_summary *out, size_t cap, size_t *count);

#endif
