/* SPDX-License-Identifier: MIT */
/*
 * Failing hosts: every host request a public function makes is failed in
 * turn, through the injector of lib/fault.h (linked from squibcore_faulty).
 *
 * For each function the sweep arms "fail the Nth host request from now" for
 * N = 1, 2, ... and calls it, until a call makes fewer than N requests and so
 * succeeds untouched; that run's request count proves every failure point was
 * visited. Each injected failure must come back as the status its errno
 * gives (ENOMEM or EAGAIN: SQUIB_E_NO_MEMORY; any other: SQUIB_E_IO, with
 * errno in the message) with a fresh message, and leave the handle exactly
 * as it was (count, listing and bytes of every region, host blocks,
 * mappings and file descriptors, a caller's mapping and file) -- or, where
 * the library absorbs it by design (a thread that cannot install its exit
 * hook reads under the handle's mutex, a refused MADV_HUGEPAGE), the call
 * must succeed with correct values.
 *
 *   check_faults                 the sweeps (any order, fork or no-fork)
 *   check_faults process-start   the failures that can only happen once per
 *                                process; must run in a fresh process
 */
/* mkstemp, pread, mlock2, memfd seals and MADV_* are not in ISO C. */
#define _GNU_SOURCE
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

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
	int64_t blocks; /* host resources held by the library, lib/fault.h */
	int64_t mappings;
	int64_t fds;
	size_t proc_fds; /* entries of /proc/self/fd: the process's own view */
	size_t count;	 /* squib_mem_region_count() */
	size_t listed;	 /* regions visited by squib_mem_foreach_region() */
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

/* Open file descriptors of the process, whoever opened them (the directory
 * stream's own among them, every time). */
static size_t proc_fd_count(void)
{
	DIR *dir = opendir("/proc/self/fd");
	size_t count = 0;

	ck_assert_ptr_nonnull(dir);
	while (readdir(dir))
		count++;
	ck_assert_int_eq(closedir(dir), 0);
	return count;
}

static void snapshot_take(const squib_mem_t *mem, struct snapshot *snap)
{
	memset(snap, 0, sizeof(*snap));
	snap->blocks = squib_fault_live_blocks();
	snap->mappings = squib_fault_live_mappings();
	snap->fds = squib_fault_live_fds();
	snap->proc_fds = proc_fd_count();
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
	ck_assert_int_eq(now.fds, before->fds);
	ck_assert_uint_eq(now.proc_fds, before->proc_fds);
	ck_assert_uint_eq(now.count, before->count);
	ck_assert_uint_eq(now.listed, before->listed);
	for (size_t i = 0; i < now.listed; i++) {
		const squib_region_info_t *a = &now.regions[i].info, *b = &before->regions[i].info;

		ck_assert_uint_eq(a->range.base.raw, b->range.base.raw);
		ck_assert_uint_eq(a->range.size, b->range.size);
		ck_assert_uint_eq(a->slot, b->slot);
		ck_assert_uint_eq(a->prot, b->prot);
		ck_assert_ptr_eq(a->host_addr, b->host_addr);
		ck_assert_uint_eq(a->flags, b->flags);
		ck_assert_int_eq(a->fd, b->fd);
		ck_assert_uint_eq(a->fd_offset, b->fd_offset);
		ck_assert_str_eq(a->name, b->name);
		if (memcmp(now.regions[i].bytes, before->regions[i].bytes, (size_t)a->range.size) ==
		    0)
			continue;
		for (size_t at = 0; at < a->range.size; at++)
			if (now.regions[i].bytes[at] != before->regions[i].bytes[at])
				ck_abort_msg("byte at guest 0x%" PRIx64 " (slot %" PRIu32
					     ") is 0x%02x, was 0x%02x",
					     a->range.base.raw + at, a->slot,
					     now.regions[i].bytes[at],
					     before->regions[i].bytes[at]);
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
	case SQUIB_FAULT_THREAD:
		return "thread";
	default:
		return "?";
	}
}

/* The errno an injected failure of kind sets, as the host's own would
 * (lib/host.c); 0 for the requests whose failure the library reports
 * without one (allocations, the thread key). */
static int injected_errno(unsigned kind)
{
	switch (kind) {
	case SQUIB_FAULT_MAP:
	case SQUIB_FAULT_MAP_FIXED:
	case SQUIB_FAULT_MADVISE:
	case SQUIB_FAULT_MLOCK:
	case SQUIB_FAULT_MPROTECT:
		return ENOMEM;
	case SQUIB_FAULT_MEMFD:
	case SQUIB_FAULT_DUP:
		return EMFILE;
	case SQUIB_FAULT_FTRUNCATE:
		return ENOSPC;
	case SQUIB_FAULT_SEAL:
		return EPERM;
	case SQUIB_FAULT_FALLOCATE:
		return EIO;
	case SQUIB_FAULT_THREAD:
		return EAGAIN;
	default:
		return 0;
	}
}

/* What a call must return when a request of kind failed: the status the
 * contract gives its errno ("NO_MEMORY for memory shortage (ENOMEM,
 * EAGAIN), IO for the rest"); an allocation is a memory shortage. */
static squib_status_t expected_status(unsigned kind)
{
	int err = injected_errno(kind);

	return err == 0 || err == ENOMEM || err == EAGAIN ? SQUIB_E_NO_MEMORY : SQUIB_E_IO;
}

/* A failure with an errno carries it in the message ("with errno's text"). */
static void expect_errno_in_message(unsigned kind)
{
	char text[32];
	int err = injected_errno(kind);

	if (err == 0)
		return;
	snprintf(text, sizeof(text), "(errno %d)", err);
	ck_assert_msg(strstr(squib_last_error(), text), "message \"%s\" lacks %s",
		      squib_last_error(), text);
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

static char last_kinds[192]; /* kinds of the last sweep(), for assertions */

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
static int64_t baseline_blocks, baseline_mappings, baseline_fds;

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
	baseline_fds = squib_fault_live_fds();
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
	/* Every block, mapping and descriptor of the handle went back. */
	ck_assert_int_eq(squib_fault_live_blocks(), baseline_blocks);
	ck_assert_int_eq(squib_fault_live_mappings(), baseline_mappings);
	ck_assert_int_eq(squib_fault_live_fds(), baseline_fds);
}

/*
 * The sweep. op() makes one call and returns its status; it is called with
 * "fail the Nth request" armed for N = 1, 2, ... until a call makes fewer
 * than N requests. Returns the number of failure points, N - 1, after
 * checking that the last, unfailed, call made exactly that many requests.
 */
typedef squib_status_t (*sweep_op)(void *ctx);

/* What a sweep needs beyond op(); every field may be zero. */
struct sweep_spec {
	/* Kinds whose failure the call may absorb by design: it then
	 * succeeds, sets no message, and absorbed() checks its result and
	 * undoes it, so that the next call starts from the same handle. */
	unsigned absorbable;
	void (*absorbed)(void *ctx);
	/* State outside the handle that a failed call must leave alone (a
	 * caller's mapping, a file): NULL if it did, else what changed. Each
	 * problem is reported after the sweep, with the request that caused
	 * it, and fails the test. */
	const char *(*changed)(void *ctx);
};

static unsigned last_absorbed; /* absorbed failures of the last sweep */

static unsigned sweep_spec(const char *function, sweep_op op, void *ctx,
			   const struct sweep_spec *spec)
{
	char kinds[192] = "", problems[1024] = "";
	struct snapshot before;
	unsigned points = 0;

	last_absorbed = 0;
	snapshot_take(mem, &before);
	for (uint64_t n = 1;; n++) {
		squib_status_t status;
		unsigned kind;
		const char *changed;

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
		kind = squib_fault_last_kind();
		if (status == SQUIB_OK) {
			ck_assert_msg(spec && (spec->absorbable & kind) && spec->absorbed,
				      "%s: request %" PRIu64 " (%s) failed, yet the call succeeded",
				      function, n, kind_name(kind));
			/* A successful call leaves the message alone. */
			ck_assert_str_eq(squib_last_error(), sentinel);
			spec->absorbed(ctx);
			snapshot_release(&before);
			snapshot_take(mem, &before);
			kinds_append(kinds, sizeof(kinds), kind);
			snprintf(kinds + strlen(kinds), sizeof(kinds) - strlen(kinds),
				 " (absorbed)");
			last_absorbed++;
			points++;
			continue;
		}
		ck_assert_msg(status == expected_status(kind),
			      "%s: request %" PRIu64 " (%s) failed, call returned %d, not %d",
			      function, n, kind_name(kind), status, expected_status(kind));
		expect_fresh_message();
		expect_errno_in_message(kind);
		expect_unchanged(mem, &before);
		changed = spec && spec->changed ? spec->changed(ctx) : NULL;
		if (changed)
			snprintf(problems + strlen(problems), sizeof(problems) - strlen(problems),
				 "\n  request %" PRIu64 " (%s) failed: %s", n, kind_name(kind),
				 changed);
		kinds_append(kinds, sizeof(kinds), kind);
		points++;
	}
	snapshot_release(&before);
	report(function, points, kinds);
	snprintf(last_kinds, sizeof(last_kinds), "%s", kinds);
	ck_assert_msg(problems[0] == '\0', "%s: a failed call changed what it must not:%s",
		      function, problems);
	return points;
}

static unsigned sweep(const char *function, sweep_op op, void *ctx)
{
	return sweep_spec(function, op, ctx, NULL);
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
	ck_assert_str_eq(last_kinds, "alloc, alloc, map, madvise, madvise");
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

/* ---- squib_mem_pin ---- */

struct pin_ctx {
	struct iovec iov[2];
	size_t used;
	squib_pin_t *pin;
};

/* Not a pin: proves that a failed call leaves *pin alone. */
static squib_pin_t *const pin_untouched = (squib_pin_t *)(uintptr_t)0x5a5a5a40;

static squib_status_t op_pin(void *arg)
{
	struct pin_ctx *ctx = arg;
	struct iovec before[2];
	squib_status_t status;

	memset(ctx->iov, 0x5a, sizeof(ctx->iov));
	memcpy(before, ctx->iov, sizeof(before));
	ctx->used = 77;
	ctx->pin = pin_untouched;
	status = squib_mem_pin(mem, SQUIB_GPA(0x10000), 4096, SQUIB_PROT_RW, ctx->iov, 2,
			       &ctx->used, &ctx->pin);
	if (status != SQUIB_OK) {
		ck_assert_uint_eq(ctx->used, 77);
		ck_assert_ptr_eq(ctx->pin, pin_untouched);
		ck_assert_int_eq(memcmp(ctx->iov, before, sizeof(before)), 0);
	}
	return status;
}

START_TEST(test_pin)
{
	/* The pin's record is the one request; the region's memory is only
	 * referenced. */
	struct pin_ctx ctx;

	ck_assert_uint_eq(sweep("squib_mem_pin", op_pin, &ctx), 1);
	ck_assert_str_eq(last_kinds, "alloc");
	ck_assert_uint_eq(ctx.used, 1);
	ck_assert_uint_eq(ctx.iov[0].iov_len, 4096);
	squib_mem_unpin(ctx.pin);
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
	char kinds[192];
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
	ck_assert_str_eq(ctx.kinds, "alloc, alloc, map, madvise, madvise");
	expect_added(&add, 2);
}
END_TEST

/* ---- region backings and flags (squib/backing.h) ------------------------------------- */

static size_t page_size(void)
{
	long page = sysconf(_SC_PAGESIZE);

	ck_assert_int_gt(page, 0);
	return (size_t)page;
}

/* Valgrind 3.19 does not know mlock2(2) (it fails it with EINVAL), so under
 * valgrind the sweeps leave LOCKED out, saying so; they keep it everywhere
 * else. Asked of the host directly, once. */
static bool host_locks_on_fault(void)
{
	static int known = -1;

	if (known < 0) {
		size_t page = page_size();
		void *map =
		    mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		ck_assert(map != MAP_FAILED);
		known = mlock2(map, page, MLOCK_ONFAULT) == 0;
		ck_assert_int_eq(munmap(map, page), 0);
		if (!known)
			printf("note: this host cannot mlock2(MLOCK_ONFAULT) (valgrind?): the "
			       "sweeps leave SQUIB_REGION_LOCKED out\n");
	}
	return known;
}

/* flags without LOCKED where the host cannot lock (see above). */
static uint32_t lockable(uint32_t flags)
{
	return host_locks_on_fault() ? flags : flags & ~SQUIB_REGION_LOCKED;
}

/* A temporary regular file of known contents, unlinked at once: one
 * descriptor open for reading and writing, one for reading only. */
struct temp_file {
	int fd, fd_ro;
	size_t size;
	uint8_t *bytes; /* what the file holds */
};

static void temp_file_open(struct temp_file *file, size_t size, unsigned seed)
{
	const char *dir = getenv("TMPDIR");
	char path[512];

	snprintf(path, sizeof(path), "%s/check_faults.XXXXXX", dir && *dir ? dir : "/tmp");
	file->fd = mkstemp(path);
	ck_assert_int_ge(file->fd, 0);
	file->fd_ro = open(path, O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(file->fd_ro, 0);
	ck_assert_int_eq(unlink(path), 0);
	file->size = size;
	file->bytes = malloc(size);
	ck_assert_ptr_nonnull(file->bytes);
	pattern_fill(file->bytes, size, seed);
	ck_assert_int_eq(pwrite(file->fd, file->bytes, size, 0), (ssize_t)size);
}

/* Takes what the file holds now as what it must keep holding. */
static void temp_file_reload(struct temp_file *file)
{
	ck_assert_int_eq(pread(file->fd, file->bytes, file->size, 0), (ssize_t)file->size);
}

/* NULL if the file holds file->bytes, else a description of the first
 * difference. */
static const char *temp_file_changed(const struct temp_file *file)
{
	static char what[96];
	uint8_t *now = malloc(file->size);

	ck_assert_ptr_nonnull(now);
	ck_assert_int_eq(pread(file->fd, now, file->size, 0), (ssize_t)file->size);
	what[0] = '\0';
	for (size_t i = 0; i < file->size && !what[0]; i++)
		if (now[i] != file->bytes[i])
			snprintf(what, sizeof(what), "byte %zu of the file is 0x%02x, was 0x%02x",
				 i, now[i], file->bytes[i]);
	free(now);
	return what[0] ? what : NULL;
}

static void temp_file_close(struct temp_file *file)
{
	ck_assert_int_eq(close(file->fd), 0);
	ck_assert_int_eq(close(file->fd_ro), 0);
	free(file->bytes);
}

/*
 * What the kernel says of [addr, addr + len): for each of its VMAs, the
 * part inside the range (as offsets, so that a neighbour merging with it
 * changes nothing), its permissions and its VmFlags ("lo" locked, "dd"
 * dontdump, "dc" dontcopy, "hg" hugepage...), from /proc/self/smaps.
 */
static void vm_state(const void *addr, size_t len, char *out, size_t cap)
{
	FILE *smaps = fopen("/proc/self/smaps", "re");
	uintptr_t lo = (uintptr_t)addr, hi = lo + len, start, end;
	bool inside = false;
	char *line = NULL, perms[8];
	size_t line_cap = 0, used = 0;

	ck_assert_ptr_nonnull(smaps);
	out[0] = '\0';
	while (getline(&line, &line_cap, smaps) > 0) {
		if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " %7s", &start, &end, perms) == 3) {
			inside = start < hi && end > lo;
			if (inside)
				used += (size_t)snprintf(out + used, cap - used,
							 "[+%#" PRIxPTR " +%#" PRIxPTR " %s]",
							 (start > lo ? start : lo) - lo,
							 (end < hi ? end : hi) - lo, perms);
		} else if (inside && strncmp(line, "VmFlags:", 8) == 0) {
			line[strcspn(line, "\n")] = '\0';
			used += (size_t)snprintf(out + used, cap - used, "%s;", line + 8);
		}
		ck_assert_uint_lt(used, cap);
	}
	free(line);
	ck_assert_int_eq(fclose(smaps), 0);
	ck_assert_str_ne(out, "");
}

/* A caller's own mapping (host_addr), which a failed call must leave as it
 * was: same bytes, same VMAs, permissions and VmFlags. */
struct caller_map {
	uint8_t *addr;
	size_t len;
	uint8_t *bytes;
	char state[1024];
};

static void caller_map_keep(struct caller_map *map)
{
	map->bytes = malloc(map->len);
	ck_assert_ptr_nonnull(map->bytes);
	memcpy(map->bytes, map->addr, map->len);
	vm_state(map->addr, map->len, map->state, sizeof(map->state));
}

static const char *caller_map_changed(const struct caller_map *map)
{
	static char what[2200];
	char now[1024];

	if (memcmp(map->addr, map->bytes, map->len) != 0)
		return "the bytes of the caller's mapping changed";
	vm_state(map->addr, map->len, now, sizeof(now));
	if (strcmp(now, map->state) == 0)
		return NULL;
	snprintf(what, sizeof(what), "the caller's mapping was\n    %s\n  and is now\n    %s",
		 map->state, now);
	return what;
}

static void caller_map_release(struct caller_map *map)
{
	free(map->bytes);
	ck_assert_int_eq(munmap(map->addr, map->len), 0);
}

/* ---- squib_mem_add_region_opts ---- */

struct opts_ctx {
	squib_region_opts_t opts;
	const uint8_t *expect;	   /* what the region reads as; NULL: zeros */
	struct temp_file *file;	   /* a file no failure may change, or NULL */
	struct caller_map *caller; /* the caller's mapping (opts.host_addr), or NULL */
};

static squib_status_t op_add_opts(void *arg)
{
	struct opts_ctx *ctx = arg;
	squib_region_opts_t copy;
	squib_status_t status;

	memcpy(&copy, &ctx->opts, sizeof(copy));
	status = squib_mem_add_region_opts(mem, &ctx->opts);
	/* Its one "out-parameter": opts is const, and stays so. */
	ck_assert(memcmp(&copy, &ctx->opts, sizeof(copy)) == 0);
	return status;
}

static const char *opts_changed(void *arg)
{
	const struct opts_ctx *ctx = arg;
	const char *what = NULL;

	if (ctx->file)
		what = temp_file_changed(ctx->file);
	if (!what && ctx->caller)
		what = caller_map_changed(ctx->caller);
	return what;
}

static size_t count_nonzero(const uint8_t *buf, size_t len)
{
	size_t count = 0;

	for (size_t i = 0; i < len; i++)
		count += buf[i] != 0;
	return count;
}

/* The region the sweep added is there with everything opts asked for. */
static void expect_opts_region(const struct opts_ctx *ctx)
{
	const squib_region_opts_t *opts = &ctx->opts;
	squib_region_info_t info = SQUIB_REGION_INFO_INIT;
	size_t len = (size_t)opts->range.size;
	uint8_t *got = malloc(len);
	bool has_fd = opts->flags & (SQUIB_REGION_FILE | SQUIB_REGION_SHARED);

	ck_assert_ptr_nonnull(got);
	ck_assert_int_eq(squib_mem_get_region(mem, opts->slot, &info), SQUIB_OK);
	ck_assert_uint_eq(info.range.base.raw, opts->range.base.raw);
	ck_assert_uint_eq(info.range.size, opts->range.size);
	ck_assert_uint_eq(info.prot, opts->prot);
	ck_assert_uint_eq(info.flags, opts->flags);
	ck_assert_str_eq(info.name, opts->name ? opts->name : "");
	if (opts->host_addr)
		ck_assert_ptr_eq(info.host_addr, opts->host_addr);
	if (has_fd) {
		/* The library's own descriptor: a memfd, or a dup of the caller's. */
		ck_assert_int_ge(info.fd, 0);
		ck_assert_int_ne(info.fd, opts->fd);
		ck_assert_int_ge(fcntl(info.fd, F_GETFD), 0);
	} else {
		ck_assert_int_eq(info.fd, -1);
	}
	ck_assert_uint_eq(info.fd_offset, opts->flags & SQUIB_REGION_FILE ? opts->fd_offset : 0);
	if (opts->flags & SQUIB_REGION_SHARED)
		ck_assert_int_ne(fcntl(info.fd, F_GET_SEALS) & F_SEAL_SHRINK, 0);
	ck_assert_int_eq(squib_mem_read(mem, opts->range.base, got, len), SQUIB_OK);
	/* One assertion, not one a byte: each costs a write to Check's pipe. */
	if (ctx->expect)
		ck_assert_mem_eq(got, ctx->expect, len);
	else
		ck_assert_uint_eq(count_nonzero(got, len), 0);
	if (opts->flags & SQUIB_REGION_READONLY) {
		ck_assert_int_eq(squib_mem_write_u8(mem, opts->range.base, 0x5a),
				 SQUIB_E_READ_ONLY);
		ck_assert_int_eq(squib_mem_read(mem, opts->range.base, got, 1), SQUIB_OK);
		ck_assert_uint_eq(got[0], ctx->expect ? ctx->expect[0] : 0);
	}
	free(got);
}

/* An absorbed failure (THP's hint): the region is complete; take it away
 * again for the next failure point. */
static void opts_absorbed(void *arg)
{
	const struct opts_ctx *ctx = arg;

	expect_opts_region(ctx);
	ck_assert_int_eq(squib_mem_remove_region(mem, ctx->opts.slot), SQUIB_OK);
}

static const struct sweep_spec opts_spec = {
    .absorbable = SQUIB_FAULT_MADVISE, .absorbed = opts_absorbed, .changed = opts_changed};

/* Sweeps one add; then the region must be there, and exactly want_kinds
 * must have been swept, with at most the THP hint absorbed. */
static void sweep_opts(const char *function, struct opts_ctx *ctx, const char *want_kinds)
{
	size_t count = squib_mem_region_count(mem);

	(void)sweep_spec(function, op_add_opts, ctx, &opts_spec);
	ck_assert_str_eq(last_kinds, want_kinds);
	ck_assert_uint_eq(last_absorbed, ctx->opts.flags & SQUIB_REGION_THP ? 1 : 0);
	ck_assert_uint_eq(squib_mem_region_count(mem), count + 1);
	expect_opts_region(ctx);
}

/* Library-owned memory, page-aligned, between the fixture's regions. */
#define OPTS_BASE 0x100000u

static void opts_init(struct opts_ctx *ctx, uint32_t flags, size_t len)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->opts = (squib_region_opts_t)SQUIB_REGION_OPTS_INIT;
	ctx->opts.range.base = SQUIB_GPA(OPTS_BASE);
	ctx->opts.range.size = len;
	ctx->opts.slot = 20;
	ctx->opts.prot = SQUIB_PROT_RW;
	ctx->opts.flags = flags;
}

START_TEST(test_opts_anonymous)
{
	struct opts_ctx ctx;

	/* 0.2's backing through the 0.3 entry point: the same five requests. */
	opts_init(&ctx, 0, 100);
	ctx.opts.range.base = SQUIB_GPA(0x8000);
	sweep_opts("squib_mem_add_region_opts (anonymous)", &ctx,
		   "alloc, alloc, map, madvise, madvise");
}
END_TEST

START_TEST(test_opts_dirty_log)
{
	struct opts_ctx ctx;

	/* Logging from the start: the bitmap comes with the backing's record,
	 * before the memory. */
	opts_init(&ctx, SQUIB_REGION_DIRTY_LOG, 3 * 4096 + 100);
	ctx.opts.range.base = SQUIB_GPA(0x8000);
	sweep_opts("squib_mem_add_region_opts (DIRTY_LOG)", &ctx,
		   "alloc, alloc, alloc, map, madvise, madvise");
}
END_TEST

START_TEST(test_opts_anonymous_flags)
{
	struct opts_ctx ctx;
	uint32_t flags = lockable(SQUIB_REGION_THP | SQUIB_REGION_DONTDUMP | SQUIB_REGION_DONTFORK |
				  SQUIB_REGION_LOCKED | SQUIB_REGION_PREFAULT);

	/* The guards, then mlock2, DONTDUMP, DONTFORK and the THP hint, whose
	 * refusal changes nothing the region promises; PREFAULT is
	 * MAP_POPULATE, part of the mapping. */
	opts_init(&ctx, flags, 4 * page_size());
	ctx.opts.name = "ram";
	sweep_opts(
	    "squib_mem_add_region_opts (THP|DONTDUMP|DONTFORK|LOCKED|PREFAULT)", &ctx,
	    flags & SQUIB_REGION_LOCKED
		? "alloc, alloc, map, madvise, madvise, mlock, madvise, madvise, "
		  "madvise (absorbed)"
		: "alloc, alloc, map, madvise, madvise, madvise, madvise, madvise (absorbed)");
}
END_TEST

START_TEST(test_opts_rom)
{
	struct opts_ctx ctx;
	size_t len = 2 * page_size();
	uint8_t *rom = malloc(len);

	/* Filled while writable, then made read-only before it is shown. */
	ck_assert_ptr_nonnull(rom);
	pattern_fill(rom, len, 3);
	opts_init(&ctx, SQUIB_REGION_READONLY, len);
	ctx.opts.prot = SQUIB_PROT_RX;
	ctx.opts.bytes = rom;
	ctx.opts.name = "firmware";
	ctx.expect = rom;
	sweep_opts("squib_mem_add_region_opts (READONLY, bytes: a ROM)", &ctx,
		   "alloc, alloc, map, madvise, madvise, mprotect");
	free(rom);
}
END_TEST

START_TEST(test_opts_shared)
{
	struct opts_ctx ctx;

	opts_init(&ctx, SQUIB_REGION_SHARED, 2 * page_size());
	ctx.opts.name = "shared-ram";
	sweep_opts("squib_mem_add_region_opts (SHARED)", &ctx,
		   "alloc, alloc, map, memfd, ftruncate, seal, map_fixed");
}
END_TEST

START_TEST(test_opts_shared_bytes)
{
	struct opts_ctx ctx;
	size_t len = 2 * page_size();
	uint8_t *bytes = malloc(len);

	ck_assert_ptr_nonnull(bytes);
	pattern_fill(bytes, len, 4);
	opts_init(&ctx, SQUIB_REGION_SHARED, len);
	ctx.opts.bytes = bytes;
	ctx.expect = bytes;
	sweep_opts("squib_mem_add_region_opts (SHARED, bytes)", &ctx,
		   "alloc, alloc, map, memfd, ftruncate, seal, map_fixed");
	free(bytes);
}
END_TEST

START_TEST(test_opts_shared_rom)
{
	struct opts_ctx ctx;
	size_t len = 2 * page_size();
	uint8_t *bytes = malloc(len);

	/* A ROM another process can map: filled, then made read-only. */
	ck_assert_ptr_nonnull(bytes);
	pattern_fill(bytes, len, 9);
	opts_init(&ctx, SQUIB_REGION_SHARED | SQUIB_REGION_READONLY, len);
	ctx.opts.prot = SQUIB_PROT_RX;
	ctx.opts.bytes = bytes;
	ctx.expect = bytes;
	sweep_opts("squib_mem_add_region_opts (SHARED|READONLY, bytes)", &ctx,
		   "alloc, alloc, map, memfd, ftruncate, seal, map_fixed, mprotect");
	free(bytes);
}
END_TEST

/* FILE regions: 2 pages of a 3-page temporary file, at fd_offset 1 page. */
static void opts_file_init(struct opts_ctx *ctx, struct temp_file *file, uint32_t flags, bool ro)
{
	size_t page = page_size();

	temp_file_open(file, 3 * page, 5);
	opts_init(ctx, SQUIB_REGION_FILE | flags, 2 * page);
	ctx->opts.fd = ro ? file->fd_ro : file->fd;
	ctx->opts.fd_offset = page;
	ctx->expect = file->bytes + page;
	ctx->file = file;
}

START_TEST(test_opts_file)
{
	struct opts_ctx ctx;
	struct temp_file file;

	opts_file_init(&ctx, &file, 0, false);
	sweep_opts("squib_mem_add_region_opts (FILE, shared)", &ctx,
		   "alloc, alloc, map, dup, map_fixed");
	/* MAP_SHARED: a write reaches the file. */
	ck_assert_int_eq(squib_mem_write_u8(mem, SQUIB_GPA(OPTS_BASE), 0x77), SQUIB_OK);
	file.bytes[page_size()] = 0x77;
	ck_assert_ptr_null(temp_file_changed(&file));
	temp_file_close(&file);
}
END_TEST

START_TEST(test_opts_file_private)
{
	struct opts_ctx ctx;
	struct temp_file file;

	opts_file_init(&ctx, &file, SQUIB_REGION_PRIVATE, false);
	sweep_opts("squib_mem_add_region_opts (FILE|PRIVATE)", &ctx,
		   "alloc, alloc, map, dup, map_fixed");
	/* Copy-on-write: a write never reaches the file. */
	ck_assert_int_eq(squib_mem_write_u8(mem, SQUIB_GPA(OPTS_BASE), 0x77), SQUIB_OK);
	ck_assert_ptr_null(temp_file_changed(&file));
	temp_file_close(&file);
}
END_TEST

START_TEST(test_opts_file_readonly)
{
	struct opts_ctx ctx;
	struct temp_file file;

	opts_file_init(&ctx, &file, SQUIB_REGION_READONLY, true);
	sweep_opts("squib_mem_add_region_opts (FILE|READONLY, O_RDONLY fd)", &ctx,
		   "alloc, alloc, map, dup, map_fixed");
	temp_file_close(&file);
}
END_TEST

START_TEST(test_opts_caller_file)
{
	struct opts_ctx ctx;
	struct temp_file file;
	struct caller_map map;
	size_t page = page_size();

	/* The caller maps the file itself; the library only dups the fd. */
	opts_file_init(&ctx, &file, 0, false);
	map.len = 2 * page;
	map.addr = mmap(NULL, map.len, PROT_READ | PROT_WRITE, MAP_SHARED, file.fd, (off_t)page);
	ck_assert(map.addr != MAP_FAILED);
	caller_map_keep(&map);
	ctx.opts.host_addr = map.addr;
	ctx.caller = &map;
	sweep_opts("squib_mem_add_region_opts (host_addr, FILE)", &ctx, "alloc, alloc, dup");
	ck_assert_int_eq(squib_mem_remove_region(mem, ctx.opts.slot), SQUIB_OK);
	caller_map_release(&map);
	temp_file_close(&file);
}
END_TEST

/* A caller's anonymous mapping of 2 pages, filled, with some of its own
 * state set up by prepare() (NULL: none). */
static void caller_anon_init(struct opts_ctx *ctx, struct caller_map *map, uint32_t flags)
{
	map->len = 2 * page_size();
	map->addr =
	    mmap(NULL, map->len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert(map->addr != MAP_FAILED);
	pattern_fill(map->addr, map->len, 6);
	opts_init(ctx, flags, map->len);
	ctx->opts.host_addr = map->addr;
	ctx->caller = map;
}

/* Flags applied to a caller's mapping are taken back on every failure: the
 * table's block is allocated before anything touches the mapping, so no
 * failure comes after the flags are applied. */
START_TEST(test_opts_caller_flags)
{
	struct opts_ctx ctx;
	struct caller_map map;
	uint32_t flags =
	    lockable(SQUIB_REGION_DONTDUMP | SQUIB_REGION_LOCKED | SQUIB_REGION_PREFAULT);

	/* Populated (MADV_POPULATE_WRITE) first, then locked and kept out of
	 * dumps: each failure must leave the caller's mapping as it was. */
	caller_anon_init(&ctx, &map, flags);
	caller_map_keep(&map);
	ctx.expect = map.bytes;
	sweep_opts("squib_mem_add_region_opts (host_addr, DONTDUMP|LOCKED|PREFAULT)", &ctx,
		   flags & SQUIB_REGION_LOCKED ? "alloc, alloc, madvise, mlock, madvise"
					       : "alloc, alloc, madvise, madvise");
	ck_assert_int_eq(squib_mem_remove_region(mem, ctx.opts.slot), SQUIB_OK);
	caller_map_release(&map);
}
END_TEST

/* What the caller's mapping already has (its own mlock, MADV_DONTDUMP) the
 * library neither applies again nor takes back on a failure. */
START_TEST(test_opts_caller_flags_already_set)
{
	struct opts_ctx ctx;
	struct caller_map map;
	uint32_t flags =
	    lockable(SQUIB_REGION_LOCKED | SQUIB_REGION_DONTDUMP | SQUIB_REGION_DONTFORK);

	/* The caller's mapping is locked and out of dumps already (a monitor
	 * that called mlockall(MCL_FUTURE) gets every mapping locked): a
	 * failed add must not unlock it, nor put it back into dumps. */
	caller_anon_init(&ctx, &map, flags);
	/* The system call: AddressSanitizer makes mlock() a no-op. */
	ck_assert_int_eq(syscall(SYS_mlock, map.addr, map.len), 0);
	ck_assert_int_eq(madvise(map.addr, map.len, MADV_DONTDUMP), 0);
	caller_map_keep(&map);
	ctx.expect = map.bytes;
	sweep_opts("squib_mem_add_region_opts (host_addr already locked, DONTDUMP)", &ctx,
		   "alloc, alloc, madvise");
	ck_assert_int_eq(squib_mem_remove_region(mem, ctx.opts.slot), SQUIB_OK);
	caller_map_release(&map);
}
END_TEST

/* ---- squib_mem_discard ---- */

struct discard_ctx {
	uint64_t base, size;	/* the region */
	uint64_t at, len;	/* the range discarded */
	uint8_t *bytes;		/* the region's bytes before */
	struct temp_file *file; /* its file, or NULL */
	bool punches_file;	/* the hole goes through to the file */
};

static squib_status_t op_discard(void *arg)
{
	const struct discard_ctx *ctx = arg;

	return squib_mem_discard(mem, SQUIB_GPA(ctx->at), (size_t)ctx->len);
}

static const char *discard_changed(void *arg)
{
	const struct discard_ctx *ctx = arg;

	return ctx->file ? temp_file_changed(ctx->file) : NULL;
}

static const struct sweep_spec discard_spec = {.changed = discard_changed};

/* Adds a 4-page region with opts' backing (the file of ctx, if any) and
 * writes a pattern over all of it; the middle two pages are discarded. */
static void discard_init(struct discard_ctx *ctx, struct opts_ctx *add, uint32_t flags,
			 struct temp_file *file)
{
	size_t page = page_size(), len = 4 * page;

	memset(ctx, 0, sizeof(*ctx));
	if (file) {
		temp_file_open(file, len, 7);
		opts_init(add, SQUIB_REGION_FILE | flags, len);
		add->opts.fd = file->fd;
	} else {
		opts_init(add, flags, len);
	}
	ck_assert_int_eq(squib_mem_add_region_opts(mem, &add->opts), SQUIB_OK);
	ctx->base = OPTS_BASE;
	ctx->size = len;
	ctx->at = OPTS_BASE + page;
	ctx->len = 2 * page;
	ctx->bytes = malloc(len);
	ck_assert_ptr_nonnull(ctx->bytes);
	pattern_fill(ctx->bytes, len, 8);
	ck_assert_int_eq(squib_mem_write(mem, SQUIB_GPA(ctx->base), ctx->bytes, len), SQUIB_OK);
	ctx->file = file;
	ctx->punches_file = file && !(flags & SQUIB_REGION_PRIVATE);
	if (file)
		temp_file_reload(file);
}

/* After the sweep: the range reads as zeros, the rest as before; through
 * to the file for a shared one, never for a private one. */
static void discard_check(struct discard_ctx *ctx)
{
	size_t len = (size_t)ctx->size, from = (size_t)(ctx->at - ctx->base);
	uint8_t *got = malloc(len);

	ck_assert_ptr_nonnull(got);
	memset(ctx->bytes + from, 0, (size_t)ctx->len);
	ck_assert_int_eq(squib_mem_read(mem, SQUIB_GPA(ctx->base), got, len), SQUIB_OK);
	ck_assert_mem_eq(got, ctx->bytes, len);
	if (ctx->file) {
		if (ctx->punches_file)
			memset(ctx->file->bytes + from, 0, (size_t)ctx->len);
		ck_assert_ptr_null(temp_file_changed(ctx->file));
		temp_file_close(ctx->file);
	}
	free(got);
	free(ctx->bytes);
}

static void sweep_discard(const char *function, uint32_t flags, bool with_file,
			  const char *want_kinds)
{
	struct discard_ctx ctx;
	struct opts_ctx add;
	struct temp_file file;

	discard_init(&ctx, &add, flags, with_file ? &file : NULL);
	ck_assert_uint_ge(sweep_spec(function, op_discard, &ctx, &discard_spec), 1);
	if (want_kinds)
		ck_assert_str_eq(last_kinds, want_kinds);
	discard_check(&ctx);
}

START_TEST(test_discard_anonymous)
{
	sweep_discard("squib_mem_discard (anonymous)", 0, false, "madvise");
}
END_TEST

START_TEST(test_discard_shared)
{
	sweep_discard("squib_mem_discard (SHARED)", SQUIB_REGION_SHARED, false, "fallocate");
}
END_TEST

START_TEST(test_discard_file)
{
	sweep_discard("squib_mem_discard (FILE, shared)", 0, true, "fallocate");
}
END_TEST

START_TEST(test_discard_file_private)
{
	sweep_discard("squib_mem_discard (FILE|PRIVATE)", SQUIB_REGION_PRIVATE, true,
		      "map, map_fixed");
}
END_TEST

/*
 * The zero pages that replace a private file range get the region's flags
 * again: a failure there must still leave the bytes as they were (they are
 * made and given the flags apart, then moved over the range).
 */
START_TEST(test_discard_file_private_flags)
{
	sweep_discard("squib_mem_discard (FILE|PRIVATE|DONTDUMP)",
		      SQUIB_REGION_PRIVATE | SQUIB_REGION_DONTDUMP, true, NULL);
}
END_TEST

/*
 * Discarding part of a LOCKED region, with every request failed in turn:
 * MADV_DONTNEED refuses locked pages, MADV_DONTNEED_LOCKED (Linux 5.18)
 * takes them.
 */
START_TEST(test_discard_locked)
{
	if (!host_locks_on_fault())
		return;
	sweep_discard("squib_mem_discard (LOCKED)", SQUIB_REGION_LOCKED, false, NULL);
}
END_TEST

/* ---- listeners, protection changes and dirty logging ---------------------------- */

/* A listener that keeps count of the regions it holds, as a KVM plugin
 * keeps its slots: every region_add a failed call made must be undone. */
struct mirror {
	int held;
	int protects; /* protect calls minus their undos */
	int logging;  /* dirty_log(true) calls minus dirty_log(false) */
};

static squib_status_t mirror_add(void *ctx, const squib_region_info_t *info)
{
	(void)info;
	((struct mirror *)ctx)->held++;
	return SQUIB_OK;
}

static void mirror_del(void *ctx, const squib_region_info_t *info)
{
	(void)info;
	((struct mirror *)ctx)->held--;
}

static squib_status_t mirror_protect(void *ctx, const squib_region_info_t *info,
				     squib_prot_t old_prot)
{
	((struct mirror *)ctx)->protects += info->prot == SQUIB_PROT_READ ? 1 : -1;
	(void)old_prot;
	return SQUIB_OK;
}

static squib_status_t mirror_dirty_log(void *ctx, const squib_region_info_t *info, bool enable)
{
	(void)info;
	((struct mirror *)ctx)->logging += enable ? 1 : -1;
	return SQUIB_OK;
}

static uint64_t mirror_register(struct mirror *mirror)
{
	squib_listener_t listener = SQUIB_LISTENER_INIT;
	uint64_t id = 0;

	*mirror = (struct mirror){0};
	listener.ctx = mirror;
	listener.region_add = mirror_add;
	listener.region_del = mirror_del;
	listener.protect = mirror_protect;
	listener.dirty_log = mirror_dirty_log;
	ck_assert_int_eq(squib_mem_listener_add(mem, &listener, &id), SQUIB_OK);
	ck_assert_int_eq(mirror->held, (int)squib_mem_region_count(mem));
	return id;
}

static struct mirror *mirror_checked;
static char mirror_problem[128];

/* The listener holds exactly the handle's regions after a failed call. */
static const char *mirror_changed(void *ctx)
{
	(void)ctx;
	if (mirror_checked->held == (int)squib_mem_region_count(mem) &&
	    mirror_checked->protects == 0 && mirror_checked->logging == 0)
		return NULL;
	snprintf(mirror_problem, sizeof(mirror_problem),
		 "the listener holds %d regions of %zu, protects %d, logging %d",
		 mirror_checked->held, squib_mem_region_count(mem), mirror_checked->protects,
		 mirror_checked->logging);
	return mirror_problem;
}

static const struct sweep_spec mirror_spec = {.changed = mirror_changed};

/* A listener that was not added holds nothing. */
static const char *mirror_empty(void *ctx)
{
	(void)ctx;
	if (mirror_checked->held == 0)
		return NULL;
	snprintf(mirror_problem, sizeof(mirror_problem), "the listener kept %d regions",
		 mirror_checked->held);
	return mirror_problem;
}

static const struct sweep_spec unregistered_spec = {.changed = mirror_empty};

static squib_status_t op_listener_add(void *arg)
{
	squib_listener_t listener = SQUIB_LISTENER_INIT;

	listener.ctx = arg;
	listener.region_add = mirror_add;
	listener.region_del = mirror_del;
	return squib_mem_listener_add(mem, &listener, &(uint64_t){0});
}

START_TEST(test_listener_add)
{
	/* The room for the listener is the one request; replayed region_adds
	 * are undone when it fails. */
	struct mirror mirror = {0};

	mirror_checked = &mirror;
	ck_assert_uint_eq(
	    sweep_spec("squib_mem_listener_add", op_listener_add, &mirror, &unregistered_spec), 1);
	ck_assert_str_eq(last_kinds, "alloc");
	ck_assert_int_eq(mirror.held, 3);
}
END_TEST

START_TEST(test_add_region_listened)
{
	struct mirror mirror;
	struct add_ctx ctx = {.base = 0x40000, .size = 0x100, .slot = 9};
	size_t count = squib_mem_region_count(mem);

	mirror_checked = &mirror;
	(void)mirror_register(&mirror);
	(void)sweep_spec("squib_mem_add_region (listened)", op_add, &ctx, &mirror_spec);
	expect_added(&ctx, count);
	ck_assert_int_eq(mirror.held, 4);
}
END_TEST

static squib_status_t op_set_protection(void *arg)
{
	(void)arg;
	return squib_mem_set_protection(mem, 1, SQUIB_PROT_READ);
}

START_TEST(test_set_protection)
{
	squib_region_info_t info = SQUIB_REGION_INFO_INIT;
	struct mirror mirror;

	mirror_checked = &mirror;
	(void)mirror_register(&mirror);
	(void)sweep_spec("squib_mem_set_protection", op_set_protection, NULL, &mirror_spec);
	ck_assert_int_eq(mirror.protects, 1);
	ck_assert_int_eq(squib_mem_get_region(mem, 1, &info), SQUIB_OK);
	ck_assert_uint_eq(info.prot, SQUIB_PROT_READ);
}
END_TEST

static squib_status_t op_set_dirty_log(void *arg)
{
	return squib_mem_set_dirty_log(mem, 7, *(const bool *)arg);
}

START_TEST(test_set_dirty_log)
{
	/* On: the bitmap, then the table (which the spare block may hold);
	 * off: at most the table. The bitmap stays with the region. */
	squib_region_info_t info = SQUIB_REGION_INFO_INIT;
	struct mirror mirror;
	uint64_t bitmap = ~(uint64_t)0;
	bool enable = true;

	mirror_checked = &mirror;
	(void)mirror_register(&mirror);
	ck_assert_uint_ge(
	    sweep_spec("squib_mem_set_dirty_log (on)", op_set_dirty_log, &enable, &mirror_spec), 1);
	ck_assert_str_eq(strtok(last_kinds, ","), "alloc");
	ck_assert_int_eq(squib_mem_get_region(mem, 7, &info), SQUIB_OK);
	ck_assert_uint_eq(info.flags, SQUIB_REGION_DIRTY_LOG);
	ck_assert_int_eq(squib_mem_write_u8(mem, SQUIB_GPA(0x10000), 1), SQUIB_OK);
	ck_assert_int_eq(squib_mem_get_dirty_log(mem, 7, &bitmap, 1, 0), SQUIB_OK);
	ck_assert_uint_eq(bitmap, 1);

	mirror.logging = 0;
	enable = false;
	(void)sweep_spec("squib_mem_set_dirty_log (off)", op_set_dirty_log, &enable, &mirror_spec);
	ck_assert_int_eq(mirror.logging, -1);
	ck_assert_int_eq(squib_mem_get_dirty_log(mem, 7, &bitmap, 1, 0), SQUIB_E_UNSUPPORTED);
}
END_TEST

/* ---- snapshots ---- */

struct snapshot_ctx {
	int fd;
	uint32_t flags;
	uint8_t want[65536]; /* with the helper thread: the record without it */
	size_t want_len;
};

/* An unlinked temporary file. */
static int snapshot_file(void)
{
	char path[] = "/tmp/squib_faults_snapshot.XXXXXX";
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(unlink(path), 0);
	return fd;
}

static squib_status_t op_save(void *arg)
{
	const struct snapshot_ctx *ctx = arg;
	squib_snapshot_opts_t opts = SQUIB_SNAPSHOT_OPTS_INIT;

	opts.flags = ctx->flags;
	return squib_mem_save(mem, ctx->fd, &opts);
}

static squib_status_t op_load_apply(void *arg)
{
	const struct snapshot_ctx *ctx = arg;
	squib_snapshot_opts_t opts = SQUIB_SNAPSHOT_OPTS_INIT;

	opts.flags = SQUIB_LOAD_APPLY;
	ck_assert_int_eq(lseek(ctx->fd, 0, SEEK_SET), 0);
	return squib_mem_load(mem, ctx->fd, &opts);
}

/* A load into a fresh handle, freed again: the handle's own requests are
 * swept with the load's, and a failed load must leave it empty. */
static squib_status_t op_load_fresh(void *arg)
{
	const struct snapshot_ctx *ctx = arg;
	squib_mem_t *fresh = NULL;
	squib_status_t status = squib_mem_new(&fresh);

	if (status != SQUIB_OK)
		return status;
	ck_assert_int_eq(lseek(ctx->fd, 0, SEEK_SET), 0);
	status = squib_mem_load(fresh, ctx->fd, NULL);
	if (status != SQUIB_OK)
		ck_assert_uint_eq(squib_mem_region_count(fresh), 0);
	else
		ck_assert_uint_eq(squib_mem_region_count(fresh), squib_mem_region_count(mem));
	squib_mem_free(fresh);
	return status;
}

/* The record in fd, into buf (of 64 KiB); its length. */
static size_t record_in(int fd, uint8_t *buf)
{
	off_t end = lseek(fd, 0, SEEK_END);

	ck_assert_int_gt(end, 0);
	ck_assert_int_le(end, 65536);
	ck_assert_int_eq(pread(fd, buf, (size_t)end, 0), end);
	return (size_t)end;
}

/* A helper thread that could not start: the calling thread did all the
 * work, and wrote the record a save without the flag writes. */
static void save_helper_absorbed(void *arg)
{
	struct snapshot_ctx *ctx = arg;
	static uint8_t got[65536];

	ck_assert_uint_eq(record_in(ctx->fd, got), ctx->want_len);
	ck_assert_msg(memcmp(got, ctx->want, ctx->want_len) == 0,
		      "the record saved without the helper thread differs");
}

static const struct sweep_spec save_helper_spec = {.absorbable = SQUIB_FAULT_THREAD,
						   .absorbed = save_helper_absorbed};

START_TEST(test_save_helper_thread)
{
	struct snapshot_ctx *ctx = calloc(1, sizeof(*ctx));

	ck_assert_ptr_nonnull(ctx);
	ctx->fd = snapshot_file();
	ck_assert_int_eq(op_save(ctx), SQUIB_OK);
	ctx->want_len = record_in(ctx->fd, ctx->want);
	ctx->flags = SQUIB_SAVE_HELPER_THREAD;
	(void)sweep_spec("squib_mem_save (HELPER_THREAD)", op_save, ctx, &save_helper_spec);
	ck_assert_uint_eq(last_absorbed, 1);
	ck_assert_ptr_nonnull(strstr(last_kinds, "thread (absorbed)"));
	close(ctx->fd);
	free(ctx);
}
END_TEST

START_TEST(test_load_fresh)
{
	struct snapshot_ctx ctx = {.fd = snapshot_file()};

	ck_assert_int_eq(op_save(&ctx), SQUIB_OK);
	ck_assert_uint_ge(sweep("squib_mem_load (fresh handle)", op_load_fresh, &ctx), 1);
	close(ctx.fd);
}
END_TEST

START_TEST(test_save)
{
	/* The run buffer, the layout, the run table, the front block; with
	 * DIRTY_ONLY the harvests' arrays too. A failed save leaves the
	 * handle and its dirty bits as they were. */
	struct snapshot_ctx ctx = {.fd = snapshot_file()};
	uint64_t bitmap = 0;

	(void)sweep("squib_mem_save (file record)", op_save, &ctx);
	ck_assert_int_eq(squib_mem_set_dirty_log(mem, 7, true), SQUIB_OK);
	ck_assert_int_eq(squib_mem_write_u8(mem, SQUIB_GPA(0x10000), 1), SQUIB_OK);
	ctx.flags = SQUIB_SAVE_DIRTY_ONLY | SQUIB_SAVE_CLEAR_DIRTY;
	ck_assert_uint_ge(sweep("squib_mem_save (DIRTY_ONLY|CLEAR_DIRTY)", op_save, &ctx), 1);
	/* The sweep's last, successful, save took the bit. */
	ck_assert_int_eq(squib_mem_get_dirty_log(mem, 7, &bitmap, 1, 0), SQUIB_OK);
	ck_assert_uint_eq(bitmap, 0);
	close(ctx.fd);
}
END_TEST

START_TEST(test_load_apply)
{
	/* The record of the handle itself, applied onto it: the bytes are
	 * the same whatever a failure leaves applied. */
	struct snapshot_ctx ctx = {.fd = snapshot_file()};

	ck_assert_int_eq(op_save(&ctx), SQUIB_OK);
	ck_assert_uint_ge(sweep("squib_mem_load (APPLY)", op_load_apply, &ctx), 1);
	close(ctx.fd);
}
END_TEST

START_TEST(test_get_dirty_log_never_fails_for_memory)
{
	/* Its scratch words were allocated with the bitmap. */
	uint64_t bitmap = 0;

	ck_assert_int_eq(squib_mem_set_dirty_log(mem, 1, true), SQUIB_OK);
	ck_assert_int_eq(squib_mem_write_u8(mem, SQUIB_GPA(0x1000), 1), SQUIB_OK);
	squib_fault_arm(SQUIB_FAULT_ALL, 1, true);
	ck_assert_int_eq(squib_mem_get_dirty_log(mem, 1, &bitmap, 1, SQUIB_DIRTY_CLEAR), SQUIB_OK);
	ck_assert_int_eq(squib_mem_mark_dirty(mem, SQUIB_GPA(0x1000), 64), SQUIB_OK);
	ck_assert_uint_eq(squib_fault_requests(), 0);
	squib_fault_disarm();
	ck_assert_uint_eq(bitmap, 1);
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
	tcase_add_test(tc, test_pin);
	tcase_add_test(tc, test_remove_last_region);
	tcase_add_test(tc, test_remove_region_table_pinned);
	tcase_add_test(tc, test_add_region_table_pinned);
	suite_add_tcase(s, tc);

	tc = tcase_create("backings");
	tcase_add_checked_fixture(tc, handle_setup, handle_teardown);
	tcase_add_test(tc, test_opts_anonymous);
	tcase_add_test(tc, test_opts_anonymous_flags);
	tcase_add_test(tc, test_opts_dirty_log);
	tcase_add_test(tc, test_opts_rom);
	tcase_add_test(tc, test_opts_shared);
	tcase_add_test(tc, test_opts_shared_bytes);
	tcase_add_test(tc, test_opts_shared_rom);
	tcase_add_test(tc, test_opts_file);
	tcase_add_test(tc, test_opts_file_private);
	tcase_add_test(tc, test_opts_file_readonly);
	tcase_add_test(tc, test_opts_caller_file);
	tcase_add_test(tc, test_discard_anonymous);
	tcase_add_test(tc, test_discard_shared);
	tcase_add_test(tc, test_discard_file);
	tcase_add_test(tc, test_discard_file_private);
	tcase_add_test(tc, test_opts_caller_flags);
	tcase_add_test(tc, test_opts_caller_flags_already_set);
	tcase_add_test(tc, test_discard_file_private_flags);
	tcase_add_test(tc, test_discard_locked);
	suite_add_tcase(s, tc);

	tc = tcase_create("listeners");
	tcase_add_checked_fixture(tc, handle_setup, handle_teardown);
	tcase_add_test(tc, test_listener_add);
	tcase_add_test(tc, test_add_region_listened);
	tcase_add_test(tc, test_set_protection);
	tcase_add_test(tc, test_set_dirty_log);
	tcase_add_test(tc, test_get_dirty_log_never_fails_for_memory);
	tcase_add_test(tc, test_save);
	tcase_add_test(tc, test_save_helper_thread);
	tcase_add_test(tc, test_load_apply);
	tcase_add_test(tc, test_load_fresh);
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
