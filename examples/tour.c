/* SPDX-License-Identifier: MIT */
/*
 * The API tour of README.md. The README shows this file from its first
 * #include line to the end, byte for byte; ctest readme_tour_in_sync fails
 * when the two differ, so edit both together.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include <squib/core.h>

int main(void)
{
	squib_mem_t *mem;
	squib_range_t ram;
	squib_region_info_t info = SQUIB_REGION_INFO_INIT; /* sets info.sz */
	uint32_t value;
	uint8_t buf[8];
	uint64_t dirty[4]; /* one bit per 4 KiB page of a 1 MiB region */
	squib_status_t status;

	/* A handle holds one guest's regions; it starts empty. */
	if (squib_mem_new(&mem) != SQUIB_OK)
		return EXIT_FAILURE;

	/* 1 MiB of zero-filled RAM at guest-physical 0x100000, slot 0. */
	if (squib_range_init(&ram, SQUIB_GPA(0x100000), 0x100000) != SQUIB_OK ||
	    squib_mem_add_region(mem, ram, 0, SQUIB_PROT_RW) != SQUIB_OK)
		goto fail;

	/* Typed accesses are little-endian in guest memory, any alignment. */
	if (squib_mem_write_u32_le(mem, SQUIB_GPA(0x100010), 0xfeedc0de) != SQUIB_OK ||
	    squib_mem_read_u32_le(mem, SQUIB_GPA(0x100010), &value) != SQUIB_OK)
		goto fail;
	printf("read back 0x%08" PRIx32 "\n", value);

	/* Which region holds an address, and where it lives in this process. */
	if (squib_mem_find_region(mem, SQUIB_GPA(0x180000), &info) != SQUIB_OK)
		goto fail;
	printf("slot %" PRIu32 " covers 0x%" PRIx64 "+0x%" PRIx64 " at host %p\n", info.slot,
	       info.range.base.raw, info.range.size, info.host_addr);

	/* Since 0.3: log the pages written, as a live migration does, and
	 * take the log (clearing it) in KVM's bitmap layout. */
	if (squib_mem_set_dirty_log(mem, 0, true) != SQUIB_OK ||
	    squib_mem_write_u8(mem, SQUIB_GPA(0x142000), 1) != SQUIB_OK ||
	    squib_mem_get_dirty_log(mem, 0, dirty, 4, SQUIB_DIRTY_CLEAR) != SQUIB_OK)
		goto fail;
	printf("dirty: page 0x42 is bit %d of word 1: 0x%" PRIx64 "\n", 0x42 % 64, dirty[1]);
	if (dirty[0] || dirty[1] != 1u << (0x42 % 64) || dirty[2] || dirty[3])
		goto fail;

	/* Not wholly inside one region: refused, and nothing is copied. */
	status = squib_mem_read(mem, SQUIB_GPA(0x1ffffc), buf, sizeof(buf));
	printf("%s: %s\n", squib_strerror(status), squib_last_error());
	if (status != SQUIB_E_OUT_OF_RANGE)
		goto fail;

	squib_mem_free(mem);
	return EXIT_SUCCESS;
fail:
	fprintf(stderr, "tour: %s\n", squib_last_error());
	squib_mem_free(mem);
	return EXIT_FAILURE;
}
