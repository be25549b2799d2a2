/* SPDX-License-Identifier: MIT */
/*
 * What the library holds for later is bounded. Grace periods are shared by
 * several changes (lib/mem.c), so replaced tables and the memory of removed
 * regions wait in the handle for a while; these tests count, through the
 * host-request counters of lib/fault.h (linked from squibcore_faulty), that
 * the wait ends by the documented bounds: 32 changes, 64 MiB of removed
 * regions, 16 MiB of replaced tables.
 */
#include <check.h>
#include <stdint.h>

#include <squib/core.h>

#include "../test_util.h"
#include "fault.h"

/* Far above every region of the tests: a change there moves nothing else. */
#define FAR_BASE ((uint64_t)1 << 44)
#define MIB ((uint64_t)1 << 20)

/* Ends the current batch: a removal of 64 MiB takes its grace period at
 * once, so afterwards nothing waits. */
static void settle(squib_mem_t *mem, uint32_t slot)
{
	test_add(mem, FAR_BASE + 64 * MIB, 64 * MIB, slot);
	CK_OK(squib_mem_remove_region(mem, slot));
}

/* One change: adds the small region at FAR_BASE, or removes it. */
static void toggle(squib_mem_t *mem, uint32_t slot, unsigned change)
{
	if (change % 2 == 0)
		test_add(mem, FAR_BASE, 0x1000, slot);
	else
		CK_OK(squib_mem_remove_region(mem, slot));
}

/* With small tables the count bound rules: the memory of a removed region
 * is unmapped by the 32nd change, and no more than 32 replaced tables wait. */
START_TEST(small_changes_wait_at_most_32)
{
	squib_mem_t *mem = test_mem_new();
	int64_t blocks, mappings, most_blocks = 0, most_mappings = 0;

	test_add(mem, 0, 0x10000, 0);
	settle(mem, 1);
	blocks = squib_fault_live_blocks();
	mappings = squib_fault_live_mappings();
	for (unsigned change = 0; change < 100; change++) {
		toggle(mem, 2, change);
		if (squib_fault_live_blocks() - blocks > most_blocks)
			most_blocks = squib_fault_live_blocks() - blocks;
		if (squib_fault_live_mappings() - mappings > most_mappings)
			most_mappings = squib_fault_live_mappings() - mappings;
	}
	/* Each change retires one table; each removal leaves one mapping and
	 * the block of its backing waiting, and the region being added holds
	 * one of each more. */
	ck_assert_int_le(most_blocks, 32 + 16 + 1);
	ck_assert_int_ge(most_blocks, 16); /* batched at all */
	ck_assert_int_le(most_mappings, 1 + 16);
	squib_mem_free(mem);
}
END_TEST

#if !TEST_UNDER_TSAN /* a minute under TSan for no thread at all */
/* With large tables the byte bound rules: a table of 16384 regions is over
 * 1 MiB, so no more than 16 of them wait, far fewer than 32. */
START_TEST(large_tables_wait_at_most_16_mib)
{
	const uint32_t count = 16384;
	squib_mem_t *mem = test_mem_new();
	int64_t blocks, most = 0;

	for (uint32_t i = 0; i < count; i++)
		test_add(mem, (uint64_t)i * 0x1000, 0x1000, i);
	settle(mem, count);
	blocks = squib_fault_live_blocks();
	for (unsigned change = 0; change < 31; change++) {
		toggle(mem, count + 1, change);
		if (squib_fault_live_blocks() - blocks > most)
			most = squib_fault_live_blocks() - blocks;
	}
	ck_assert_int_le(most, 16);
	squib_mem_free(mem);
}
END_TEST
#endif

int main(void)
{
	Suite *suite = suite_create("retention");
	TCase *tc = tcase_create("bounds");
	SRunner *runner;
	int failed;

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, small_changes_wait_at_most_32);
#if !TEST_UNDER_TSAN
	tcase_add_test(tc, large_tables_wait_at_most_16_mib);
#endif
	suite_add_tcase(suite, tc);
	runner = srunner_create(suite);
	srunner_run_all(runner, CK_NORMAL);
	failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	return failed == 0 ? 0 : 1;
}
