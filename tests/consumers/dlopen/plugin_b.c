/* SPDX-License-Identifier: MIT */
/*
 * Backend plugin B: checks what plugin A left this round, adds, inspects
 * and removes a region of its own while the host's threads keep accessing
 * the handle, and exercises the address and range helpers.
 */
#define _GNU_SOURCE /* dlvsym */
#define PLUGIN_NAME "plugin_b"
#include "plugin.h"

struct walk {
	uint32_t regions;
	uint64_t last_base;
	int sorted;
	int saw_scratch;
};

static int walk_region(const squib_region_info_t *info, void *ctx)
{
	struct walk *walk = ctx;

	if (walk->regions > 0 && info->range.base.raw <= walk->last_base)
		walk->sorted = 0;
	walk->last_base = info->range.base.raw;
	if (info->slot == SCRATCH_SLOT)
		walk->saw_scratch = 1;
	walk->regions++;
	return 0;
}

static const char *check_mailbox(const squib_mem_t *mem, uint32_t round)
{
	uint8_t block[BLOCK_SIZE];
	uint32_t mailbox = 0;

	EXPECT_STATUS(
	    api.squib_mem_read_u32_le(mem, SQUIB_GPA(RAM_BASE + MAILBOX_OFFSET), &mailbox),
	    SQUIB_OK);
	if (mailbox != round)
		return failf("mailbox holds round %" PRIu32 ", want %" PRIu32, mailbox, round);
	EXPECT_STATUS(
	    api.squib_mem_read(mem, SQUIB_GPA(RAM_BASE + BLOCK_OFFSET), block, sizeof(block)),
	    SQUIB_OK);
	for (uint32_t i = 0; i < BLOCK_SIZE; i++)
		if (block[i] != block_byte(round, i))
			return failf("block byte %" PRIu32 " is %u, want %u", i, block[i],
				     block_byte(round, i));
	return NULL;
}

static const char *check_scratch(squib_mem_t *mem, uint32_t round)
{
	squib_region_info_t info = SQUIB_REGION_INFO_INIT;
	squib_range_t range;
	struct walk walk = {0, 0, 1, 0};
	uint64_t last = SCRATCH_BASE + SCRATCH_SIZE - 2;
	uint16_t v16 = 0;
	size_t before = api.squib_mem_region_count(mem);

	EXPECT_STATUS(api.squib_range_init(&range, SQUIB_GPA(SCRATCH_BASE), SCRATCH_SIZE),
		      SQUIB_OK);
	EXPECT_STATUS(api.squib_mem_add_region(mem, range, SCRATCH_SLOT, SQUIB_PROT_RW), SQUIB_OK);
	EXPECT_STATUS(api.squib_mem_add_region(mem, range, SCRATCH_SLOT, SQUIB_PROT_RW),
		      SQUIB_E_SLOT_IN_USE);
	EXPECT(api.squib_mem_region_count(mem) == before + 1);

	/* Fresh memory is zero; an unaligned u16 at the very end round-trips. */
	EXPECT_STATUS(api.squib_mem_read_u16_le(mem, SQUIB_GPA(last), &v16), SQUIB_OK);
	EXPECT(v16 == 0);
	EXPECT_STATUS(api.squib_mem_write_u16_le(mem, SQUIB_GPA(last), (uint16_t)(round ^ 0xbeef)),
		      SQUIB_OK);
	EXPECT_STATUS(api.squib_mem_read_u16_le(mem, SQUIB_GPA(last), &v16), SQUIB_OK);
	EXPECT(v16 == (uint16_t)(round ^ 0xbeef));
	EXPECT_STATUS(api.squib_mem_write_u64_le(mem, SQUIB_GPA(last), 1), SQUIB_E_OUT_OF_RANGE);

	EXPECT_STATUS(api.squib_mem_get_region(mem, SCRATCH_SLOT, &info), SQUIB_OK);
	EXPECT(info.range.base.raw == SCRATCH_BASE && info.range.size == SCRATCH_SIZE &&
	       info.slot == SCRATCH_SLOT && info.prot == SQUIB_PROT_RW && info.host_addr != NULL);

	EXPECT(api.squib_mem_foreach_region(mem, walk_region, &walk) == 0);
	EXPECT(walk.sorted && walk.saw_scratch && walk.regions == before + 1);

	EXPECT_STATUS(api.squib_mem_remove_region(mem, SCRATCH_SLOT), SQUIB_OK);
	EXPECT_STATUS(api.squib_mem_read_u16_le(mem, SQUIB_GPA(SCRATCH_BASE), &v16),
		      SQUIB_E_OUT_OF_RANGE);
	if (!last_error_names(SCRATCH_BASE))
		return failf("last error \"%s\" does not name the removed region",
			     api.squib_last_error());
	EXPECT_STATUS(api.squib_mem_get_region(mem, SCRATCH_SLOT, &info), SQUIB_E_NOT_FOUND);
	EXPECT_STATUS(api.squib_mem_remove_region(mem, SCRATCH_SLOT), SQUIB_E_NOT_FOUND);
	EXPECT(api.squib_mem_region_count(mem) == before);
	return NULL;
}

static const char *check_helpers(void)
{
	squib_gpa_t out = SQUIB_GPA(1);
	squib_range_t range = {SQUIB_GPA(7), 9};
	char text[SQUIB_GPA_STRLEN];

	EXPECT_STATUS(api.squib_gpa_align_down(SQUIB_GPA(0x1234), 0x100, &out), SQUIB_OK);
	EXPECT(out.raw == 0x1200);
	EXPECT_STATUS(api.squib_gpa_align_down(SQUIB_GPA(0x1234), 7, &out),
		      SQUIB_E_INVALID_ARGUMENT);
	EXPECT(out.raw == 0x1200);
	EXPECT(strstr(api.squib_last_error(), "7") != NULL);
	EXPECT(api.squib_gpa_saturating_add(SQUIB_GPA(UINT64_MAX - 1), 5).raw == UINT64_MAX);
	EXPECT(api.squib_gpa_format(SQUIB_GPA(0xabc), text, sizeof(text)) == 18);
	EXPECT(strcmp(text, "0x0000000000000abc") == 0);
	EXPECT_STATUS(api.squib_range_init(&range, SQUIB_GPA(UINT64_MAX - 3), 5),
		      SQUIB_E_INVALID_ARGUMENT);
	EXPECT(range.base.raw == 7 && range.size == 9);
	EXPECT(api.squib_range_end(range).raw == 16);
	EXPECT(api.squib_range_contains(range, SQUIB_GPA(15)));
	EXPECT(!api.squib_range_contains(range, SQUIB_GPA(16)));
	EXPECT(strcmp(api.squib_strerror(SQUIB_E_NOT_FOUND), api.squib_strerror(SQUIB_OK)) != 0);
	EXPECT(api.squib_strerror((squib_status_t)-1000) != NULL);
	return NULL;
}

const char *squib_plugin_run(squib_mem_t *mem, uint32_t round)
{
	const char *err;

	if (lib == NULL)
		return failf("run before attach");
	if ((err = check_mailbox(mem, round)) != NULL ||
	    (err = check_scratch(mem, round)) != NULL || (err = check_helpers()) != NULL)
		return err;
	return NULL;
}
