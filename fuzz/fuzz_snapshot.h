/* SPDX-License-Identifier: MIT */
/*
 * What fuzz_snapshot.c and gen_snapshot_corpus.c share: the fixed layout
 * that the harness applies records onto (SQUIB_LOAD_APPLY), of which the
 * generator writes some of the seeds, so that those applies succeed.
 */
#ifndef SQUIB_FUZZ_SNAPSHOT_H
#define SQUIB_FUZZ_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include <squib/core.h>

/* Slot 0 logs dirty pages, slot 1 is unaligned at both ends, slot 2 is a
 * ROM whose bytes are fixed_rom_byte(). */
static const struct fixed_region {
	uint64_t base, size;
	uint32_t slot, prot, flags;
} fixed_layout_regions[3] = {
    {0x0, 0x4000, 0, SQUIB_PROT_RW, SQUIB_REGION_DIRTY_LOG},
    {0x10800, 0x1900, 1, SQUIB_PROT_RW, 0},
    {0xf0000, 0x1000, 2, SQUIB_PROT_RX, SQUIB_REGION_READONLY},
};

static inline uint8_t fixed_rom_byte(uint64_t offset)
{
	return (uint8_t)(offset * 13 + 1);
}

/* The fixed layout in a new handle, or NULL (squib_last_error() says why). */
static inline squib_mem_t *fixed_layout_new(void)
{
	static uint8_t rom[0x1000];
	squib_mem_t *mem;

	for (size_t k = 0; k < sizeof(rom); k++)
		rom[k] = fixed_rom_byte(k);
	if (squib_mem_new(&mem) != SQUIB_OK)
		return NULL;
	for (int i = 0; i < 3; i++) {
		const struct fixed_region *f = &fixed_layout_regions[i];
		squib_region_opts_t opts = SQUIB_REGION_OPTS_INIT;

		opts.range.base = SQUIB_GPA(f->base);
		opts.range.size = f->size;
		opts.slot = f->slot;
		opts.prot = f->prot;
		opts.flags = f->flags;
		opts.bytes = (f->flags & SQUIB_REGION_READONLY) ? rom : NULL;
		if (squib_mem_add_region_opts(mem, &opts) != SQUIB_OK) {
			squib_mem_free(mem);
			return NULL;
		}
	}
	return mem;
}

#endif /* SQUIB_FUZZ_SNAPSHOT_H */
