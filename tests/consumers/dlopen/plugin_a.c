/* SPDX-License-Identifier: MIT */
/*
 * Backend plugin A: checks the constant bytes, the ROM and the cells the
 * host's writers race on, then leaves a block and the round number in the
 * mailbox for plugin B.
 */
#define _GNU_SOURCE /* dlvsym */
#define PLUGIN_NAME "plugin_a"
#include "plugin.h"

static const char *check_constants(const squib_mem_t *mem)
{
	uint8_t bytes[CONST_SIZE];
	uint64_t v64;
	uint32_t v32;
	uint16_t v16;
	uint8_t v8;

	EXPECT_STATUS(api.squib_mem_read(mem, SQUIB_GPA(RAM_BASE), bytes, sizeof(bytes)), SQUIB_OK);
	for (uint32_t i = 0; i < CONST_SIZE; i++)
		if (bytes[i] != pattern_byte(i))
			return failf("RAM byte %" PRIu32 " is %u, want %u", i, bytes[i],
				     pattern_byte(i));

	/* Typed reads of the ROM, aligned and not: little-endian. */
	for (uint32_t off = 0; off + 8 <= ROM_SIZE; off += 509) {
		uint64_t want64 = 0;

		for (uint32_t i = 0; i < 8; i++)
			want64 |= (uint64_t)rom_byte(off + i) << (8 * i);
		EXPECT_STATUS(api.squib_mem_read_u64_le(mem, SQUIB_GPA(ROM_BASE + off), &v64),
			      SQUIB_OK);
		EXPECT(v64 == want64);
		EXPECT_STATUS(api.squib_mem_read_u32_le(mem, SQUIB_GPA(ROM_BASE + off), &v32),
			      SQUIB_OK);
		EXPECT(v32 == (uint32_t)want64);
		EXPECT_STATUS(api.squib_mem_read_u16_le(mem, SQUIB_GPA(ROM_BASE + off), &v16),
			      SQUIB_OK);
		EXPECT(v16 == (uint16_t)want64);
		EXPECT_STATUS(api.squib_mem_read_u8(mem, SQUIB_GPA(ROM_BASE + off), &v8), SQUIB_OK);
		EXPECT(v8 == rom_byte(off));
	}

	/* The host's writers store cell_value(x) with aligned u64 stores;
	 * a read is one load, so it never sees halves of two stores. */
	for (uint32_t i = 0; i < CELL_COUNT; i++) {
		EXPECT_STATUS(api.squib_mem_read_u64_le(
				  mem, SQUIB_GPA(RAM_BASE + CELLS_OFFSET + 8u * i), &v64),
			      SQUIB_OK);
		if (!cell_valid(v64))
			return failf("cell %" PRIu32 " torn: 0x%016" PRIx64, i, v64);
	}
	return NULL;
}

static const char *check_errors(const squib_mem_t *mem)
{
	uint64_t addr = RAM_BASE + RAM_SIZE - 4;
	uint64_t v64 = 0x5a5a5a5a5a5a5a5a;
	squib_region_info_t info = SQUIB_REGION_INFO_INIT;

	/* Straddles the end of RAM: fails, *out untouched, message names it. */
	EXPECT_STATUS(api.squib_mem_read_u64_le(mem, SQUIB_GPA(addr), &v64), SQUIB_E_OUT_OF_RANGE);
	EXPECT(v64 == 0x5a5a5a5a5a5a5a5a);
	if (!last_error_names(addr))
		return failf("last error \"%s\" does not name 0x%016" PRIx64,
			     api.squib_last_error(), addr);

	EXPECT_STATUS(api.squib_mem_find_region(mem, SQUIB_GPA(RAM_BASE + MAILBOX_OFFSET), &info),
		      SQUIB_OK);
	EXPECT(info.slot == RAM_SLOT && info.range.base.raw == RAM_BASE &&
	       info.range.size == RAM_SIZE && info.prot == SQUIB_PROT_RW && info.host_addr != NULL);
	return NULL;
}

const char *squib_plugin_run(squib_mem_t *mem, uint32_t round)
{
	uint8_t block[BLOCK_SIZE], back[BLOCK_SIZE];
	const char *err;
	uint32_t mailbox;

	if (lib == NULL)
		return failf("run before attach");
	if ((err = check_constants(mem)) != NULL || (err = check_errors(mem)) != NULL)
		return err;

	for (uint32_t i = 0; i < BLOCK_SIZE; i++)
		block[i] = block_byte(round, i);
	EXPECT_STATUS(
	    api.squib_mem_write(mem, SQUIB_GPA(RAM_BASE + BLOCK_OFFSET), block, sizeof(block)),
	    SQUIB_OK);
	EXPECT_STATUS(api.squib_mem_write_u32_le(mem, SQUIB_GPA(RAM_BASE + MAILBOX_OFFSET), round),
		      SQUIB_OK);
	EXPECT_STATUS(
	    api.squib_mem_read(mem, SQUIB_GPA(RAM_BASE + BLOCK_OFFSET), back, sizeof(back)),
	    SQUIB_OK);
	EXPECT(memcmp(block, back, sizeof(block)) == 0);
	EXPECT_STATUS(
	    api.squib_mem_read_u32_le(mem, SQUIB_GPA(RAM_BASE + MAILBOX_OFFSET), &mailbox),
	    SQUIB_OK);
	EXPECT(mailbox == round);
	return NULL;
}
