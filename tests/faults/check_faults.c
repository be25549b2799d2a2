/* SPDX-License-Identifier: MIT */
/*
 * Failing hosts: every host request a public function makes is failed in
 * turn, through the injector of lib/fault.h (linked from squibcore_faulty).
 *
 * For each function the sweep arms "fail the Nth host request from now" for
 * N = 1, 2, ... and calls it, until a call makes fewer than N requests and so
 * succeeds untouched; that run's request count proves every failure point was
 * visited. Each injected failure must come back as SQUIB_E_NO_MEMORY with a
 * fresh message and leave the handle exactly as it was (count, listing and
 * bytes of every region) -- or, where the library absorbs it by design (a
 * thread that cannot install its exit hook reads under the handle's mutex),
 * the call must succeed with correct values.
 *
 *   check_faults                 the sweeps (any order, fork or no-fork)
 *   check_faults process-start   the failures that can only happen once per
 *                                process; must run in a fresh process
 */
#include <check.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <squib/core.h>

#include "fault.h"

#define MAX_REGIONS 8
#define UNUSED_SLOT 999999u

/* ---- the state a failed call must leave alone ---------------------------- */

struct region_copy {
	squib_region_info_t info;
	uint8_t *bytes;
};

struct snapshot {
	int64_t blocks; /* host memory held by the library, lib/fault.h */
	int64_t mappings;
	size_t count;  /* squib_mem_region_count() */
	size_t listed; /* regions visited by squib_mem_foreach_region() */
	struct region_copy regions[MAX_REGIONS];
};

static int snapshot_visit(const squib_region_info_t *info, void *ctx)
{
	struct snapshot *snap = ctx;
	struct region_copy *copy;

	ck_assert_uint_lt(snap->listed, MAX_REGIONS);
	copy = &snap->regions[snap->listed++];
	copy->info = *info;
	return 0;
}

static void snapshot_take(const squib_mem_t *mem, struct snapshot *snap)
{
	memset(snap, 0, sizeof(*snap));
	snap->blocks = squib_fault_live_blocks();
	snap->mappings = squib_fault_live_mappings();
	snap->count = squib_mem_region_count(mem);
	ck_assert_int_eq(squib_mem_foreach_region(mem, snapshot_visit, snap), 0);
	for (size_t i = 0; i < snap->listed; i++) {
		struct region_copy *copy = &snap->regions[i];

		copy->bytes = malloc((size_t)copy->info.range.size);
		ck_assert_ptr_nonnull(copy->bytes);
		ck_assert_int_eq(squib_mem_read(mem, copy->info.range.base, copy->bytes,
						(size_t)copy->info.range.size),
				 SQUIB_OK);
	}
}

static void snapshot_release(struct snapshot *snap)
{
	for (size_t i = 0; i < snap->listed; i++)
		free(snap->regions[i].bytes);
	snap->listed = 0;
}

/* The handle shows exactly the regions of before, with the same bytes. */
static void expect_unchanged(const squib_mem_t *mem, const struct snapshot *before)
{
	struct snapshot now;

	snapshot_take(mem, &now);
	ck_assert_int_eq(now.blocks, before->blocks);
	ck_assert_int_eq(now.mappings, before->mappings);
	ck_assert_uint_eq(now.count, before->count);
	ck_assert_uint_eq(now.listed, before->listed);
	for (size_t i = 0; i < now.listed; i++) {
		const squib_region_info_t *a = &now.regions[i].info, *b = &before->regions[i].info;

		ck_assert_uint_eq(a->range.base.raw, b->range.base.raw);
		ck_assert_uint_eq(a->range.size, b->range.size);
		ck_assert_uint_eq(a->slot, b->slot);
		ck_assert_uint_eq(a->prot, b->prot);
		ck_assert_ptr_eq(a->host_addr, b->host_addr);
		ck_assert_mem_eq(now.regions[i].bytes, before->regions[i].bytes,
				 (size_t)a->range.size);
	}
	snapshot_release(&now);
}

/* ---- error messages --------------------------------------------------------- */

static char sentinel[256];

/* Leaves a known message behind, so that a message after an injected failure
 * is proven to come from the failing call. */
static void error_sentinel_set(void)
{
	squib_gpa_t out = SQUIB_GPA(0);

	ck_assert_int_eq(squib_gpa_align_down(SQUIB_GPA(0x1234), 7, &out),
			 SQUIB_E_INVALID_ARGUMENT);
	snprintf(sentinel, sizeof(sentinel), "%s", squib_last_error());
	ck_assert_str_ne(sentinel, "");
}

static void expect_fresh_message(void)
{
	const char *msg = squib_last_error();

	ck_assert_ptr_nonnull(msg);
	ck_assert_str_ne(msg, "");
	ck_assert_str_ne(msg, sentinel);
}

static const char *kind_name(unsigned kind)
{
	switch (kind) {
	case SQUIB_FAULT_ALLOC:
		return "alloc";
	case SQUIB_FAULT_ALLOC_ALIGNED:
		return "alloc_aligned";
	case SQUIB_FAULT_MAP:
		return "map";
	case SQUIB_FAULT_KEY_CREATE:
		return "key_create";
	case SQUIB_FAULT_KEY_SET:
		return "key_set";
	case SQUIB_FAULT_MAP_FIXED:
		return "map_fixed";
	case SQUIB_FAULT_MEMFD:
		return "memfd";
	case SQUIB_FAULT_FTRUNCATE:
		return "ftruncate";
	case SQUIB_FAULT_SEAL:
		return "seal";
	case SQUIB_FAULT_DUP:
		return "dup";
	case SQUIB_FAULT_MADVISE:
		return "madvise";
	case SQUIB_FAULT_MLOCK:
		return "mlock";
	case SQUIB_FAULT_MPROTECT:
		return "mprotect";
	case SQUIB_FAULT_FALLOCATE:
		return "fallocate";
	default:
		return "?";
	}
}

/* Whether kinds (as sweep() lists them) names a request of this kind.
 * (No kind's name is part of another's but alloc's, which is checked as
 * a whole word.) */
static bool kinds_has(const char *kinds, unsigned kind)
{
	const char *name = kind_name(kind);
	size_t len = strlen(name);

	for (const char *at = strstr(kinds, name); at; at = strstr(at + 1, name))
		if ((at == kinds || at[-1] == ' ') && (at[len] == ',' || at[len] == '\0'))
			return true;
	return false;
}

static char last_kinds[128]; /* kinds of the last sweep(), for assertions */

/* One line per swept function, which the check stage greps for the docs. */
static void report(const char *function, unsigned points, const char *kinds)
{
	printf("failure points: %-34s %u (%s)\n", function, points, kinds);
	fflush(stdout);
}

static void kinds_append(char *kinds, size_t size, unsigned kind)
{
	size_t used = strlen(kinds);

	snprintf(kinds + used, size - used, "%s%s", used ? ", " : "", kind_name(kind));
}

/* ---- the handle every sweep starts from -------------------------------------- */

static squib_mem_t *mem;
static int64_t baseline_blocks, baseline_mappings;

static void pattern_fill(uint8_t *buf, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(seed * 31u + i * 7u + 1u);
}

static void handle_setup(void)
{
	static const struct {
		uint64_t base, size;
		uint32_t slot;
		squib_prot_t prot;
	} layout[] = {
	    {0x1000, 64, 1, SQUIB_PROT_RW},
	    {0x10000, 4096, 7, SQUIB_PROT_RX},
	    {UINT64_MAX - 0x10, 0x10, 3, SQUIB_PROT_READ},
	};
	squib_range_t range;
	uint8_t buf[4096];

	squib_fault_disarm();
	baseline_blocks = squib_fault_live_blocks();
	baseline_mappings = squib_fault_live_mappings();
	ck_assert_int_eq(squib_mem_new(&mem), SQUIB_OK);
	for (size_t i = 0; i < sizeof(layout) / sizeof(layout[0]); i++) {
		ck_assert_int_eq(
		    squib_range_init(&range, SQUIB_GPA(layout[i].base), layout[i].size), SQUIB_OK);
		ck_assert_int_eq(squib_mem_add_region(mem, range, layout[i].slot, layout[i].prot),
				 SQUIB_OK);
		pattern_fill(buf, (size_t)layout[i].size, (unsigned)i);
		/* Also registers this thread as a reader: the sweeps below
		 * start from a thread whose first access is behind it. */
		ck_assert_int_eq(
		    squib_mem_write(mem, SQUIB_GPA(layout[i].base), buf, (size_t)layout[i].size),
		    SQUIB_OK);
	}
}

static void handle_teardown(void)
{
	squib_fault_disarm();
	squib_mem_free(mem);
	mem = NULL;
	/* Every block and mapping of the handle went back to the host. */
	ck_assert_int_eq(squib_fault_live_blocks(), baseline_blocks);
	ck_assert_int_eq(squib_fault_live_mappings(), baseline_mappings);
}

/*
 * The sweep. op() makes one call and returns its status; it is called with
 * "fail the Nth request" armed for N = 1, 2, ... until a call makes fewer
 * than N requests. Returns the number of failure points, N - 1, after
 * checking that the last, unfailed, call made exactly that many requests.
 */
typedef squib_status_t (*sweep_op)(void *ctx);

static unsigned sweep(const char *function, sweep_op op, void *ctx)
{
	char kinds[128] = "";
	struct snapshot before;
	unsigned points = 0;

	snapshot_take(mem, &before);
	for (uint64_t n = 1;; n++) {
		squib_status_t status;

		ck_assert_uint_lt(n, 64); /* no call of ours makes that many */
		error_sentinel_set();
		squib_fault_arm(SQUIB_FAULT_ALL, n, false);
		status = op(ctx);
		squib_fault_disarm();
		if (squib_fault_injected() == 0) {
			ck_assert_msg(status == SQUIB_OK, "%s: %d without a fault (%s)", function,
				      status, squib_last_error());
			ck_assert_uint_eq(squib_fault_requests(), points);
			break;
		}
		ck_assert_uint_eq(squib_fault_injected(), 1);
		ck_assert_msg(status == SQUIB_E_NO_MEMORY,
			      "%s: request %" PRIu64 " (%s) failed, call returned %d", function, n,
			      kind_name(squib_fault_last_kind()), status);
		expect_fresh_message();
		expect_unchanged(mem, &before);
		kinds_append(kinds, sizeof(kinds), squib_fault_last_kind());
		points++;
	}
	snapshot_release(&before);
	report(function, points, kinds);
	snprintf(last_kinds, sizeof(last_kinds), "%s", kinds);
	return points;
}

/* ---- squib_mem_new -------------------------------------------------------------- */

struct new_ctx {
	squib_mem_t *out;
};

/* Not a handle: proves that a failed call leaves *out alone. */
static squib_mem_t *const untouched = (squib_mem_t *)(uintptr_t)0x5a5a5a50;

static squib_status_t op_new(void *arg)
{
	struct new_ctx *ctx = arg;

	ctx->out = untouched;
	return squib_mem_new(&ctx->out);
}

START_TEST(test_mem_new)
{
	struct new_ctx ctx;
	unsigned points = sweep("squib_mem_new", op_new, &ctx);

	/* The handle and its empty table. */
	ck_assert_uint_ge(points, 2);
	ck_assert_ptr_ne(ctx.out, untouched);
	ck_assert_ptr_nonnull(ctx.out);
	ck_assert_uint_eq(squib_mem_region_count(ctx.out), 0);
	squib_mem_free(ctx.out);
}
END_TEST

/* A failure inside squib_mem_new() leaves *out untouched at every point. */
START_TEST(test_mem_new_out_untouched)
{
	for (uint64_t n = 1;; n++) {
		squib_mem_t *out = untouched;
		squib_status_t status;
		int64_t blocks = squib_fault_live_blocks();

		ck_assert_uint_lt(n, 64);
		squib_fault_arm(SQUIB_FAULT_ALL, n, false);
		status = squib_mem_new(&out);
		squib_fault_disarm();
		if (squib_fault_injected() == 0) {
			ck_assert_int_eq(status, SQUIB_OK);
			squib_mem_free(out);
			break;
		}
		ck_assert_int_eq(status, SQUIB_E_NO_MEMORY);
		ck_assert_ptr_eq(out, untouched);
		ck_assert_int_eq(squib_fault_live_blocks(), blocks);
	}
}
END_TEST

/* ---- adding regions --------------------------------------------------------------- */

struct add_ctx {
	uint64_t base, size;
	uint32_t slot;
	const uint8_t *bytes; /* NULL: squib_mem_add_region */
};

static squib_status_t op_add(void *arg)
{
	const struct add_ctx *ctx = arg;
	squib_range_t range;

	if (ctx->bytes)
		return squib_mem_add_region_from_bytes(mem, SQUIB_GPA(ctx->base), ctx->bytes,
						       (size_t)ctx->size, ctx->slot, SQUIB_PROT_RW);
	ck_assert_int_eq(squib_range_init(&range, SQUIB_GPA(ctx->base), ctx->size), SQUIB_OK);
	return squib_mem_add_region(mem, range, ctx->slot, SQUIB_PROT_RW);
}

/* After the sweep: the region is there, once, with the right contents. */
static void expect_added(const struct add_ctx *ctx, size_t count_before)
{
	squib_region_info_t info = SQUIB_REGION_INFO_INIT;
	uint8_t got[256];

	ck_assert_uint_le(ctx->size, sizeof(got));
	ck_assert_uint_eq(squib_mem_region_count(mem), count_before + 1);
	ck_assert_int_eq(squib_mem_get_region(mem, ctx->slot, &info), SQUIB_OK);
	ck_assert_uint_eq(info.range.base.raw, ctx->base);
	ck_assert_uint_eq(info.range.size, ctx->size);
	ck_assert_int_eq(squib_mem_read(mem, SQUIB_GPA(ctx->base), got, (size_t)ctx->size),
			 SQUIB_OK);
	for (size_t i = 0; i < ctx->size; i++)
		ck_assert_uint_eq(got[i], ctx->bytes ? ctx->bytes[i] : 0);
}

START_TEST(test_add_region)
{
	/* Between two registered regions, so the table is rebuilt around it.
	 * The new table may be built in the block a handle keeps from the
	 * table it retired last, so the mapping is the one request certain. */
	struct add_ctx ctx = {.base = 0x8000, .size = 100, .slot = 5};
	size_t count = squib_mem_region_count(mem);

	ck_assert_uint_ge(sweep("squib_mem_add_region", op_add, &ctx), 1);
	ck_assert(kinds_has(last_kinds, SQUIB_FAULT_MAP));
	expect_added(&ctx, count);
}
END_TEST

START_TEST(test_add_region_first)
{
	/* Into a fresh handle: no retired block to build in, so the backing,
	 * the mapping, its two guard pages and the table are requested. */
	struct add_ctx ctx = {.base = 0x0, .size = 16, .slot = 0};

	squib_mem_free(mem);
	ck_assert_int_eq(squib_mem_new(&mem), SQUIB_OK);
	ck_assert_uint_eq(sweep("squib_mem_add_region (fresh handle)", op_add, &ctx), 5);
	ck_assert_str_eq(last_kinds, "alloc, map, madvise, madvise, alloc");
	expect_added(&ctx, 0);
}
END_TEST

START_TEST(test_add_region_from_bytes)
{
	uint8_t bytes[200];
	struct add_ctx ctx = {.base = 0x20000, .size = sizeof(bytes), .slot = 9, .bytes = bytes};
	size_t count = squib_mem_region_count(mem);

	pattern_fill(bytes, sizeof(bytes), 42);
	ck_assert_uint_ge(sweep("squib_mem_add_region_from_bytes", op_add, &ctx), 1);
	ck_assert(kinds_has(last_kinds, SQUIB_FAULT_MAP));
	expect_added(&ctx, count);
}
END_TEST

/* A host whose address space is smaller than the guest's: a region whose
 * mapping would not fit in 64 bits fails before mmap is even asked, with
 * the same status and the same guarantees as an injected failure. */
START_TEST(test_add_region_larger_than_host)
{
	squib_range_t range;
	struct snapshot before;

	/* A handle with one byte of guest memory at 0, right below it. */
	squib_mem_free(mem);
	ck_assert_int_eq(squib_mem_new(&mem), SQUIB_OK);
	ck_assert_int_eq(squib_range_init(&range, SQUIB_GPA(0), 1), SQUIB_OK);
	ck_assert_int_eq(squib_mem_add_region(mem, range, 41, SQUIB_PROT_RW), SQUIB_OK);
	ck_assert_int_eq(squib_mem_write_u8(mem, SQUIB_GPA(0), 0xa5), SQUIB_OK);
	snapshot_take(mem, &before);
	/* Ends exactly at UINT64_MAX (a valid range), but base's offset in
	 * its page plus the size, rounded up to pages, passes 2^64. */
	ck_assert_int_eq(squib_range_init(&range, SQUIB_GPA(1), UINT64_MAX - 1), SQUIB_OK);
	error_sentinel_set();
	squib_fault_arm(SQUIB_FAULT_ALL, 0, false);
	ck_assert_int_eq(squib_mem_add_region(mem, range, 40, SQUIB_PROT_RW), SQUIB_E_NO_MEMORY);
	ck_assert_uint_eq(squib_fault_requests(), 0); /* refused before mmap is asked */
	expect_fresh_message();
	ck_assert_ptr_nonnull(strstr(squib_last_error(), "larger than the host address space"));
	expect_unchanged(mem, &before);
	snapshot_release(&before);
}
END_TEST

/* ---- removing regions ------------------------------------------------------------- */

static squib_status_t op_remove(void *arg)
{
	return squib_mem_remove_region(mem, *(const uint32_t *)arg);
}

static void expect_removed(uint32_t slot, uint64_t base, size_t count_before)
{
	squib_region_info_t info = SQUIB_REGION_INFO_INIT;

	ck_assert_uint_eq(squib_mem_region_count(mem), count_before - 1);
	ck_assert_int_eq(squib_mem_get_region(mem, slot, &info), SQUIB_E_NOT_FOUND);
	ck_assert_int_eq(squib_mem_find_region(mem, SQUIB_GPA(base), &info), SQUIB_E_OUT_OF_RANGE);
}

START_TEST(test_remove_region)
{
	/* A smaller table fits the block kept from the last retired one, so
	 * this may request nothing at all; whatever it requests is swept. */
	uint32_t slot = 7;
	size_t count = squib_mem_region_count(mem);

	(void)sweep("squib_mem_remove_region", op_remove, &slot);
	expect_removed(slot, 0x10000, count);
}
END_TEST

START_TEST(test_remove_last_region)
{
	/* Down to an empty table, then add again: nothing was left behind. */
	static const uint32_t slots[] = {1, 3, 7};
	struct add_ctx ctx = {.base = 0x1000, .size = 64, .slot = 1};

	for (size_t i = 0; i < 3; i++) {
		uint32_t slot = slots[i];

		(void)sweep("squib_mem_remove_region (down to empty)", op_remove, &slot);
	}
	ck_assert_uint_eq(squib_mem_region_count(mem), 0);
	ck_assert_uint_ge(sweep("squib_mem_add_region (after emptying)", op_add, &ctx), 1);
	expect_added(&ctx, 0);
}
END_TEST

/*
 * A table that a foreach walk still pins is not kept for reuse when it is
 * replaced. So inside a walk's callback, once a first change has used up the
 * kept block, the next change must request a new table: that is the only
 * way to reach the failure of the table request of a remove (and a sure way
 * to reach the add's).
 */
/* Changes leave their grace period, and so the blocks of the tables they
 * replace, to a later change, except a removal of a region of 64 MiB or
 * more, which gives its memory back before it returns (squib/mem.h). Adding
 * and removing such a region (reserved, never touched) therefore leaves no
 * table waiting and exactly one block kept, which the walk's first change
 * then uses up. */
static void settle_tables(void)
{
	squib_range_t range;

	ck_assert_int_eq(squib_range_init(&range, SQUIB_GPA(0x40000000), (uint64_t)64 << 20),
			 SQUIB_OK);
	ck_assert_int_eq(squib_mem_add_region(mem, range, 99, SQUIB_PROT_RW), SQUIB_OK);
	ck_assert_int_eq(squib_mem_remove_region(mem, 99), SQUIB_OK);
}

struct pinned_ctx {
	bool done;
	const char *name;
	sweep_op op;
	void *op_ctx;
	uint32_t consume_slot; /* removed first, to use up the kept block */
	unsigned points;
	char kinds[128];
};

static int sweep_inside_foreach(const squib_region_info_t *info, void *arg)
{
	struct pinned_ctx *ctx = arg;

	(void)info;
	if (ctx->done)
		return 0;
	ctx->done = true;
	squib_fault_arm(SQUIB_FAULT_ALL, 0, false);
	ck_assert_int_eq(squib_mem_remove_region(mem, ctx->consume_slot), SQUIB_OK);
	ck_assert_msg(squib_fault_requests() == 0,
		      "removing a region did not reuse the block kept from the last table");
	ctx->points = sweep(ctx->name, ctx->op, ctx->op_ctx);
	snprintf(ctx->kinds, sizeof(ctx->kinds), "%s", last_kinds);
	return 0;
}

START_TEST(test_remove_region_table_pinned)
{
	uint32_t slot = 7;
	struct pinned_ctx ctx = {.name = "squib_mem_remove_region (table pinned by a foreach)",
				 .op = op_remove,
				 .op_ctx = &slot,
				 .consume_slot = 1};

	settle_tables();
	ck_assert_int_eq(squib_mem_foreach_region(mem, sweep_inside_foreach, &ctx), 0);
	ck_assert(ctx.done);
	ck_assert_uint_eq(ctx.points, 1);
	ck_assert(kinds_has(ctx.kinds, SQUIB_FAULT_ALLOC));
	expect_removed(slot, 0x10000, 2);
}
END_TEST

START_TEST(test_add_region_table_pinned)
{
	struct add_ctx add = {.base = 0x8000, .size = 100, .slot = 5};
	struct pinned_ctx ctx = {.name = "squib_mem_add_region (table pinned by a foreach)",
				 .op = op_add,
				 .op_ctx = &add,
				 .consume_slot = 1};

	settle_tables();
	ck_assert_int_eq(squib_mem_foreach_region(mem, sweep_inside_foreach, &ctx), 0);
	ck_assert(ctx.done);
	ck_assert_uint_eq(ctx.points, 5);
	ck_assert_str_eq(ctx.kinds, "alloc, map, madvise, madvise, alloc");
	expect_added(&add, 2);
}
END_TEST

/* ---- the first access of a new thread ---------------------------------------------- */

/* What a reader thread does and what it saw. It writes and reads back its
 * own 16-byte window of region slot 1 (0x1000, 64 bytes), so that several
 * readers can run at once, and reads region slot 7 (0x10000). */
#define WINDOW 16

struct reader_ctx {
	uint64_t rounds;
	uint32_t seed;
	uint64_t window; /* guest address of the window */
	bool ok;
	char failure[256];
	char first_error[256]; /* message after the thread's first call */
	char last_error[256];  /* message when it finished */
};

#define READER_EXPECT(ctx, cond)                                                                   \
	do {                                                                                       \
		if (!(cond) && (ctx)->ok) {                                                        \
			(ctx)->ok = false;                                                         \
			snprintf((ctx)->failure, sizeof((ctx)->failure), "%s:%d: %s (%s)",         \
				 __FILE__, __LINE__, #cond, squib_last_error());                   \
		}                                                                                  \
	} while (0)

static uint64_t le64(const uint8_t *p)
{
	uint64_t value = 0;

	for (int i = 7; i >= 0; i--)
		value = value << 8 | p[i];
	return value;
}

/* Check's assertions may not be used off the test's own thread. */
static void *reader_main(void *arg)
{
	struct reader_ctx *ctx = arg;
	squib_region_info_t info = SQUIB_REGION_INFO_INIT;
	uint8_t buf[WINDOW], expect[WINDOW];

	ctx->ok = true;
	for (uint64_t round = 0; round < ctx->rounds; round++) {
		uint32_t value = ctx->seed + (uint32_t)round, got32 = 0;
		uint64_t got64 = 0;

		/* The very first call of the thread is a typed write. */
		READER_EXPECT(ctx, squib_mem_write_u32_le(mem, SQUIB_GPA(ctx->window + 4), value) ==
				       SQUIB_OK);
		if (round == 0)
			snprintf(ctx->first_error, sizeof(ctx->first_error), "%s",
				 squib_last_error());
		READER_EXPECT(ctx, squib_mem_read_u32_le(mem, SQUIB_GPA(ctx->window + 4), &got32) ==
				       SQUIB_OK);
		READER_EXPECT(ctx, got32 == value);
		pattern_fill(expect, sizeof(expect), value);
		READER_EXPECT(ctx, squib_mem_write(mem, SQUIB_GPA(ctx->window), expect,
						   sizeof(expect)) == SQUIB_OK);
		READER_EXPECT(ctx, squib_mem_read(mem, SQUIB_GPA(ctx->window), buf, sizeof(buf)) ==
				       SQUIB_OK);
		READER_EXPECT(ctx, memcmp(buf, expect, sizeof(buf)) == 0);
		READER_EXPECT(ctx, squib_mem_read_u64_le(mem, SQUIB_GPA(ctx->window), &got64) ==
				       SQUIB_OK);
		READER_EXPECT(ctx, got64 == le64(expect));
		READER_EXPECT(ctx, squib_mem_read(mem, SQUIB_GPA(0x10000), buf, sizeof(buf)) ==
				       SQUIB_OK);
		pattern_fill(expect, sizeof(expect), 1);
		READER_EXPECT(ctx, memcmp(buf, expect, sizeof(buf)) == 0);
		READER_EXPECT(ctx,
			      squib_mem_find_region(mem, SQUIB_GPA(0x10010), &info) == SQUIB_OK);
		READER_EXPECT(ctx, info.slot == 7);
		READER_EXPECT(ctx, squib_mem_region_count(mem) >= 3);
		/* Still refused across the region's end. */
		READER_EXPECT(ctx, squib_mem_read(mem, SQUIB_GPA(0x1030), buf, sizeof(buf) + 1) ==
				       SQUIB_E_OUT_OF_RANGE);
	}
	snprintf(ctx->last_error, sizeof(ctx->last_error), "%s", squib_last_error());
	return NULL;
}

/* A reader saw what it wrote, set no message for the absorbed fault, and
 * its last message is the out-of-range one it provoked itself. */
static void expect_reader_ok(const struct reader_ctx *ctx)
{
	uint8_t buf[WINDOW], expect[WINDOW];

	ck_assert_msg(ctx->ok, "reader thread: %s", ctx->failure);
	ck_assert_str_eq(ctx->first_error, "");
	ck_assert_ptr_nonnull(strstr(ctx->last_error, "0x0000000000001030"));
	/* The creating thread sees what the reader wrote last. */
	pattern_fill(expect, sizeof(expect), ctx->seed + (uint32_t)ctx->rounds - 1u);
	ck_assert_int_eq(squib_mem_read(mem, SQUIB_GPA(ctx->window), buf, sizeof(buf)), SQUIB_OK);
	ck_assert_mem_eq(buf, expect, sizeof(buf));
}

static void reader_run(struct reader_ctx *ctx)
{
	pthread_t thread;

	ck_assert_int_eq(pthread_create(&thread, NULL, reader_main, ctx), 0);
	ck_assert_int_eq(pthread_join(thread, NULL), 0);
}

START_TEST(test_thread_first_access)
{
	char kinds[128] = "";
	unsigned points = 0;

	for (uint64_t n = 1;; n++) {
		struct reader_ctx ctx = {
		    .rounds = 3, .seed = (uint32_t)n * 1000u, .window = 0x1000};

		ck_assert_uint_lt(n, 64);
		squib_fault_arm(SQUIB_FAULT_ALL, n, false);
		reader_run(&ctx);
		squib_fault_disarm();
		/* Absorbed by design: every call of the thread succeeded. */
		expect_reader_ok(&ctx);
		if (squib_fault_injected() == 0) {
			ck_assert_uint_eq(squib_fault_requests(), points);
			break;
		}
		kinds_append(kinds, sizeof(kinds), squib_fault_last_kind());
		points++;
	}
	report("first access of a thread", points, kinds);
	ck_assert_uint_ge(points, 1);
}
END_TEST

/* A thread that can never install its exit hook reads and writes under the
 * handle's mutex for its whole life, while regions come and go. */
START_TEST(test_thread_fallback_with_writer)
{
	struct reader_ctx ctx = {.rounds = 2000, .seed = 77, .window = 0x1010};
	squib_range_t range;
	pthread_t thread;

	squib_fault_arm(SQUIB_FAULT_KEY_SET, 1, true);
	ck_assert_int_eq(pthread_create(&thread, NULL, reader_main, &ctx), 0);
	ck_assert_int_eq(squib_range_init(&range, SQUIB_GPA(0x40000), 4096), SQUIB_OK);
	for (int i = 0; i < 200; i++) {
		ck_assert_int_eq(squib_mem_add_region(mem, range, 100, SQUIB_PROT_RW), SQUIB_OK);
		ck_assert_int_eq(squib_mem_write_u8(mem, SQUIB_GPA(0x40000), (uint8_t)i), SQUIB_OK);
		ck_assert_int_eq(squib_mem_remove_region(mem, 100), SQUIB_OK);
	}
	ck_assert_int_eq(pthread_join(thread, NULL), 0);
	/* Every registration attempt failed; the main thread never asked. */
	ck_assert_uint_ge(squib_fault_injected(), 1);
	ck_assert_uint_eq(squib_fault_injected(), squib_fault_requests());
	squib_fault_disarm();
	expect_reader_ok(&ctx);
	ck_assert_uint_eq(squib_mem_region_count(mem), 3);
}
END_TEST

/* ---- once per process: the thread-exit key ------------------------------------------ */

START_TEST(test_key_create_fails)
{
	struct reader_ctx ctx = {.rounds = 200, .seed = 5, .window = 0x1000};
	squib_mem_t *first = NULL;
	pthread_t threads[2];
	struct reader_ctx more[2] = {{.rounds = 500, .seed = 1, .window = 0x1010},
				     {.rounds = 500, .seed = 2, .window = 0x1020}};
	squib_range_t range;

	squib_fault_arm(SQUIB_FAULT_KEY_CREATE, 1, false);
	ck_assert_int_eq(squib_mem_new(&first), SQUIB_OK);
	ck_assert_msg(squib_fault_injected() == 1,
		      "the library was initialised before this test: run it in a fresh process");
	squib_fault_disarm();
	report("process start (squib_mem_new)", 1, "key_create, absorbed");
	squib_mem_free(first);

	/* Set up the usual handle; no thread, the main one included, may
	 * even try to install an exit hook now: each reads under the mutex. */
	squib_fault_arm(SQUIB_FAULT_KEY_SET | SQUIB_FAULT_KEY_CREATE, 0, false);
	handle_setup();
	reader_run(&ctx);
	expect_reader_ok(&ctx);

	/* Two such readers racing each other and a writer. */
	for (int i = 0; i < 2; i++)
		ck_assert_int_eq(pthread_create(&threads[i], NULL, reader_main, &more[i]), 0);
	ck_assert_int_eq(squib_range_init(&range, SQUIB_GPA(0x40000), 4096), SQUIB_OK);
	for (int i = 0; i < 100; i++) {
		ck_assert_int_eq(squib_mem_add_region(mem, range, 100, SQUIB_PROT_RW), SQUIB_OK);
		ck_assert_int_eq(squib_mem_remove_region(mem, 100), SQUIB_OK);
	}
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(pthread_join(threads[i], NULL), 0);
		expect_reader_ok(&more[i]);
	}
	ck_assert_uint_eq(squib_fault_requests(), 0);
	ck_assert_uint_eq(squib_mem_region_count(mem), 3);
	handle_teardown();
}
END_TEST

/* ---- suites ------------------------------------------------------------------------ */

static Suite *sweeps_suite(void)
{
	Suite *s = suite_create("faults");
	TCase *tc = tcase_create("sweeps");

	tcase_add_checked_fixture(tc, handle_setup, handle_teardown);
	tcase_add_test(tc, test_mem_new);
	tcase_add_test(tc, test_mem_new_out_untouched);
	tcase_add_test(tc, test_add_region);
	tcase_add_test(tc, test_add_region_first);
	tcase_add_test(tc, test_add_region_from_bytes);
	tcase_add_test(tc, test_add_region_larger_than_host);
	tcase_add_test(tc, test_remove_region);
	tcase_add_test(tc, test_remove_last_region);
	tcase_add_test(tc, test_remove_region_table_pinned);
	tcase_add_test(tc, test_add_region_table_pinned);
	suite_add_tcase(s, tc);

	tc = tcase_create("threads");
	tcase_add_checked_fixture(tc, handle_setup, handle_teardown);
	tcase_add_test(tc, test_thread_first_access);
	tcase_add_test(tc, test_thread_fallback_with_writer);
	suite_add_tcase(s, tc);
	return s;
}

static Suite *process_start_suite(void)
{
	Suite *s = suite_create("faults-process-start");
	TCase *tc = tcase_create("process_start");

	tcase_add_test(tc, test_key_create_fails);
	suite_add_tcase(s, tc);
	return s;
}

int main(int argc, char **argv)
{
	bool process_start = argc > 1 && strcmp(argv[1], "process-start") == 0;
	SRunner *runner;
	int failed;

	if (argc > 1 && !process_start) {
		fprintf(stderr, "usage: %s [process-start]\n", argv[0]);
		return 2;
	}
	runner = srunner_create(process_start ? process_start_suite() : sweeps_suite());
	srunner_run_all(runner, CK_NORMAL);
	failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
