/* SPDX-License-Identifier: MIT */
/*
 * The guest memory the dlopen host builds and its plugins check, and the
 * plugins' entry points.
 *
 * RAM (slot RAM_SLOT, added by the host):
 *   [0x0000, 0x1000)  constant bytes pattern_byte(i); nobody writes them
 *   [0x1000, 0x2000)  CELL_COUNT u64 cells; writers store cell_value(x),
 *                     whose halves are complements, so a torn read shows
 *   0x2000            MAILBOX: the round plugin A ran last (u32)
 *   [0x2100, 0x2140)  plugin A's block for that round, block_byte(round, i)
 * ROM (slot ROM_SLOT, from bytes): ROM_SIZE bytes rom_byte(i).
 * Plugin B adds and removes slot SCRATCH_SLOT at SCRATCH_BASE every run.
 */
#ifndef SQUIB_CONSUMER_LAYOUT_H
#define SQUIB_CONSUMER_LAYOUT_H

#include <stdbool.h>
#include <stdint.h>

#include <squib/core.h>

#define RAM_SLOT 1u
#define RAM_BASE UINT64_C(0x40000000)
#define RAM_SIZE UINT64_C(0x10000)
#define CONST_SIZE 0x1000u
#define CELLS_OFFSET UINT64_C(0x1000)
#define CELL_COUNT 512u
#define MAILBOX_OFFSET UINT64_C(0x2000)
#define BLOCK_OFFSET UINT64_C(0x2100)
#define BLOCK_SIZE 64u

#define ROM_SLOT 2u
#define ROM_BASE UINT64_C(0xfff00000)
#define ROM_SIZE 0x1000u

#define SCRATCH_SLOT 1000u
#define SCRATCH_BASE UINT64_C(0x80000000)
#define SCRATCH_SIZE UINT64_C(0x3001) /* no alignment required */

static inline uint8_t pattern_byte(uint32_t i)
{
	return (uint8_t)(i * 31u + 7u);
}

static inline uint8_t rom_byte(uint32_t i)
{
	return (uint8_t)((i >> 8) ^ (i * 13u));
}

static inline uint8_t block_byte(uint32_t round, uint32_t i)
{
	return (uint8_t)(round * 7u + i);
}

static inline uint64_t cell_value(uint32_t x)
{
	return (uint64_t)x | ((uint64_t)~x << 32);
}

static inline bool cell_valid(uint64_t v)
{
	return (uint32_t)(v >> 32) == (uint32_t) ~(uint32_t)v;
}

/*
 * Plugin entry points, found with dlsym() in each plugin. Each returns NULL
 * on success, else a message that stays valid until the plugin is closed.
 *   attach: dlopen libsquibcore.so.0 and bind the API with dlvsym
 *   run:    operate on the host's handle for this round
 *   detach: dlclose the library
 */
typedef const char *(*squib_plugin_attach_fn)(void);
typedef const char *(*squib_plugin_run_fn)(squib_mem_t *mem, uint32_t round);
typedef const char *(*squib_plugin_detach_fn)(void);

const char *squib_plugin_attach(void);
const char *squib_plugin_run(squib_mem_t *mem, uint32_t round);
const char *squib_plugin_detach(void);

#endif
