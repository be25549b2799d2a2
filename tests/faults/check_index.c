/* SPDX-License-Identifier: MIT */
/*
 * White-box test of the hint indexes (lib/table.h). Every access is checked
 * exactly whatever its hint says, so an index that hinted at nothing, or at
 * the wrong region, would pass every black-box test and the fuzzer and
 * only show in the benchmark. This suite looks inside the published table
 * (linked from squibcore_faulty, which exposes the internals) and compares
 * each entry of both indexes with a reference computed here from the
 * regions: for every granule of the span, the region that covers most of
 * it (among those the index admits), or an empty entry.
 */
#include <check.h>
#include <stdint.h>

#include <squib/core.h>

#include "../test_util.h"
#include "mem_internal.h"

/* Bytes of [start, last] that [base, base + size) covers. */
static uint64_t covered(uint64_t base, uint64_t size, uint64_t start, uint64_t last)
{
	uint64_t region_last = base + (size - 1);
	uint64_t from = base > start ? base : start, to = region_last < last ? region_last : last;

	return from > to ? 0 : to - from + 1;
}

/* The three indexes of a table. */
enum which { READS, WRITES, LOGS };

static bool admits(const struct region *region, enum which which)
{
	switch (which) {
	case WRITES:
		return region_takes_plain_writes(region);
	case LOGS:
		return region_logs_writes(region);
	case READS:
		break;
	}
	return true;
}

/* The reference: the region that covers most of the granule, first one on
 * a tie (as the sweep of table.c), or NULL. */
static const struct region *widest(const struct table *table, uint64_t start, uint64_t last,
				   enum which which)
{
	const struct region *best = NULL;
	uint64_t best_bytes = 0;

	for (size_t i = 0; i < table->count; i++) {
		const struct region *region = &table->regions[i];
		uint64_t bytes = covered(region->base, region->size, start, last);

		if (admits(region, which) && bytes > best_bytes) {
			best = region;
			best_bytes = bytes;
		}
	}
	return best;
}

static void check_hint_names(const struct hint *hint, const struct region *region)
{
	ck_assert_uint_eq(hint->base, region->base);
	ck_assert_uint_eq(hint->size, region->size);
	ck_assert_ptr_eq(hint->host, region->host);
	ck_assert_uint_eq(hint->typed_limit, region->size >= 8 ? region->size - 7 : 0);
}

static void check_hint_empty(const struct hint *hint)
{
	ck_assert_uint_eq(hint->size, 0);
	ck_assert_uint_eq(hint->typed_limit, 0);
}

/* Every entry of one index against the reference (and for the log index
 * the region each entry names); returns how many name a region. */
static size_t check_index(const struct table *table, enum which which)
{
	const struct hint_index *index = which == READS	   ? table->reads
					 : which == WRITES ? table->writes
							   : table->logs;
	uint64_t entries = (index->mask >> HINT_SHIFT) + 1;
	unsigned shift = index->shift + HINT_SHIFT;
	uint64_t first = 0, granules = 0, named = 0;

	ck_assert_uint_ge(entries, table->count);
	ck_assert_uint_eq(entries & (entries - 1), 0);
	if (table->count) {
		const struct region *last = &table->regions[table->count - 1];

		first = table->regions[0].base >> shift;
		granules = ((last->base + last->size - 1) >> shift) - first + 1;
		/* Every granule of the span has an entry of its own ... */
		ck_assert_uint_le(granules, entries);
		/* ... and the shift is the smallest that gives it one. */
		if (shift > HINT_SHIFT)
			ck_assert_uint_gt(((last->base + last->size - 1) >> (shift - 1)) -
					      (table->regions[0].base >> (shift - 1)) + 1,
					  entries);
	}
	for (uint64_t i = 0; i < entries; i++) {
		uint64_t granule = first + i, start = granule << shift;
		const struct region *want =
		    i < granules ? widest(table, start, start + (((uint64_t)1 << shift) - 1), which)
				 : NULL;
		const struct hint *hint = index_hint(index, start);

		ck_assert_ptr_eq(hint, &index->entry[granule & (entries - 1)]);
		if (which == LOGS)
			ck_assert_ptr_eq(table->logs_named[granule & (entries - 1)], want);
		if (want) {
			check_hint_names(hint, want);
			named++;
		} else {
			check_hint_empty(hint);
		}
	}
	return (size_t)named;
}

static const struct table *published(const squib_mem_t *mem)
{
	const struct table *table = atomic_load(&mem->table);

	/* The fast paths' pointers are the table's own indexes. */
	ck_assert_ptr_eq(atomic_load(&mem->reads), table->reads);
	ck_assert_ptr_eq(atomic_load(&mem->writes), table->writes);
	return table;
}

static void add_opts(squib_mem_t *mem, uint64_t base, uint64_t size, uint32_t slot, uint32_t flags)
{
	squib_region_opts_t opts = SQUIB_REGION_OPTS_INIT;

	CK_OK(squib_range_init(&opts.range, SQUIB_GPA(base), size));
	opts.slot = slot;
	opts.prot = SQUIB_PROT_RW;
	opts.flags = flags;
	CK_OK(squib_mem_add_region_opts(mem, &opts));
}

/* A PC-like layout: big RAM, small ROM and MMIO-sized regions, tiny ones
 * sharing granules, and regions far apart. */
static void add_layout(squib_mem_t *mem, uint32_t readonly_flags)
{
	test_add(mem, 0, 0xa0000, 0);
	add_opts(mem, 0xf0000, 0x10000, 1, readonly_flags);
	test_add(mem, 0x100000, 0x3ff00000, 2);
	test_add(mem, 0xfed00000, 0x1000, 3);
	test_add(mem, 0xfed01000, 3, 4);
	test_add(mem, 0xfed01003, 5, 5);
	add_opts(mem, 0xffe00000, 0x200000, 6, readonly_flags);
	test_add(mem, (uint64_t)1 << 32, (uint64_t)1 << 30, 7);
}

START_TEST(indexes_match_the_reference)
{
	squib_mem_t *mem = test_mem_new();
	const struct table *table = published(mem);

	/* Empty: every entry empty. */
	ck_assert_uint_eq(check_index(table, READS), 0);
	add_layout(mem, 0);
	table = published(mem);
	ck_assert_ptr_eq(table->writes, table->reads); /* nothing refuses plain writes */
	ck_assert_uint_eq(table->write_slow, 0);
	/* Each region but the tiny ones that share a granule has an entry. */
	ck_assert_uint_ge(check_index(table, READS), 6);
	squib_mem_free(mem);
}
END_TEST

START_TEST(read_only_regions_leave_the_write_index)
{
	squib_mem_t *mem = test_mem_new();
	const struct table *table;
	const struct hint *hint;

	add_layout(mem, SQUIB_REGION_READONLY);
	table = published(mem);
	ck_assert_ptr_ne(table->writes, table->reads);
	ck_assert_uint_eq(table->write_slow, 2);
	ck_assert_uint_eq(table->writes->shift, table->reads->shift);
	ck_assert_uint_eq(table->writes->mask, table->reads->mask);
	check_index(table, READS);
	check_index(table, WRITES);
	/* The ROM is in the read index and nowhere in the write index. */
	hint = index_hint(table->reads, 0xffe00000);
	ck_assert_uint_eq(hint->base, 0xffe00000);
	hint = index_hint(table->writes, 0xffe00000);
	ck_assert_uint_ne(hint->base, 0xffe00000);
	for (uint64_t i = 0; i <= table->writes->mask >> HINT_SHIFT; i++)
		ck_assert(table->writes->entry[i].size == 0 ||
			  (table->writes->entry[i].base != 0xf0000 &&
			   table->writes->entry[i].base != 0xffe00000));

	/* Removing the read-only regions gives the table one index again. */
	CK_OK(squib_mem_remove_region(mem, 1));
	table = published(mem);
	ck_assert_uint_eq(table->write_slow, 1);
	check_index(table, WRITES);
	CK_OK(squib_mem_remove_region(mem, 6));
	table = published(mem);
	ck_assert_uint_eq(table->write_slow, 0);
	ck_assert_ptr_eq(table->writes, table->reads);
	check_index(table, READS);
	squib_mem_free(mem);
}
END_TEST

/* Of slots [0, n) of the growth test, those that log (and are not
 * read-only). */
static size_t logging_below(uint32_t n)
{
	size_t count = 0;

	for (uint32_t slot = 0; slot < n; slot++)
		count += slot % 3 != 0 && slot % 4 == 1;
	return count;
}

/* Tables of every size from 1 to 200 regions of mixed sizes and gaps,
 * every third read-only and some of the others logging: every index
 * matches the reference after each add and each remove. */
START_TEST(indexes_match_through_growth_and_shrinking)
{
	squib_mem_t *mem = test_mem_new();
	uint64_t base = 0x10000;

	for (uint32_t slot = 0; slot < 200; slot++) {
		uint64_t size = (uint64_t)0x1000 << (slot % 7);
		const struct table *table;

		add_opts(mem, base, size, slot,
			 slot % 3 == 0	 ? SQUIB_REGION_READONLY
			 : slot % 4 == 1 ? SQUIB_REGION_DIRTY_LOG
					 : 0);
		base += size + ((uint64_t)(slot % 5) << 16);
		table = published(mem);
		ck_assert_uint_eq(table->logging, logging_below(slot + 1));
		ck_assert_uint_eq(table->write_slow, slot / 3 + 1 + table->logging);
		ck_assert_uint_ge(check_index(table, READS), 1);
		check_index(table, WRITES);
		if (table->logs)
			check_index(table, LOGS);
	}
	for (uint32_t slot = 0; slot < 200; slot += 2) {
		const struct table *table;

		CK_OK(squib_mem_remove_region(mem, slot));
		table = published(mem);
		check_index(table, READS);
		check_index(table, WRITES);
		if (table->logs)
			check_index(table, LOGS);
	}
	squib_mem_free(mem);
}
END_TEST

/* Each region that logs and takes writes is in the log index, named by
 * its entries; read-only ones (logging or not) and plain ones are not. */
START_TEST(logging_regions_have_an_index_of_their_own)
{
	squib_mem_t *mem = test_mem_new();
	const struct table *table;
	const struct hint *hint;

	add_layout(mem, SQUIB_REGION_READONLY);
	table = published(mem);
	ck_assert_ptr_null(table->logs);
	ck_assert_uint_eq(table->logging, 0);
	CK_OK(squib_mem_set_dirty_log(mem, 2, true));
	CK_OK(squib_mem_set_dirty_log(mem, 4, true));
	CK_OK(squib_mem_set_dirty_log(mem, 7, true));
	CK_OK(squib_mem_set_dirty_log(mem, 6, true)); /* the ROM: no writes to mark */
	table = published(mem);
	ck_assert_ptr_nonnull(table->logs);
	ck_assert_uint_eq(table->logging, 3);
	ck_assert_uint_eq(table->write_slow, 5);
	ck_assert_uint_eq(table->logs->shift, table->reads->shift);
	ck_assert_uint_eq(table->logs->mask, table->reads->mask);
	check_index(table, READS);
	check_index(table, WRITES);
	ck_assert_uint_ge(check_index(table, LOGS), 2);
	hint = index_hint(table->logs, 0x100000);
	ck_assert_uint_eq(hint->base, 0x100000);
	ck_assert_uint_eq(table->logs_named[hint - table->logs->entry]->slot, 2);
	hint = index_hint(table->logs, 0xffe00000);
	ck_assert_uint_ne(hint->base, 0xffe00000);
	/* Logging off again, one by one: the index goes with the last. */
	CK_OK(squib_mem_set_dirty_log(mem, 2, false));
	table = published(mem);
	ck_assert_uint_eq(table->logging, 2);
	check_index(table, LOGS);
	CK_OK(squib_mem_remove_region(mem, 4));
	CK_OK(squib_mem_set_dirty_log(mem, 7, false));
	table = published(mem);
	ck_assert_ptr_null(table->logs);
	ck_assert_uint_eq(table->logging, 0);
	check_index(table, WRITES);
	squib_mem_free(mem);
}
END_TEST

int main(void)
{
	Suite *suite = suite_create("index");
	TCase *tc = tcase_create("whitebox");
	SRunner *runner;
	int failed;

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, indexes_match_the_reference);
	tcase_add_test(tc, read_only_regions_leave_the_write_index);
	tcase_add_test(tc, logging_regions_have_an_index_of_their_own);
	tcase_add_test(tc, indexes_match_through_growth_and_shrinking);
	suite_add_tcase(suite, tc);
	runner = srunner_create(suite);
	srunner_run_all(runner, CK_NORMAL);
	failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	return failed == 0 ? 0 : 1;
}
