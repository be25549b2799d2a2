/* SPDX-License-Identifier: MIT */
/*
 * squib-dirty: what dirty-page logging (squib/dirty.h) and listeners
 * (squib/listener.h) cost, each beside the same work without them
 * (docs/PERFORMANCE.md, "Dirty logging and listeners").
 *
 *   squib-dirty [--quick] [--rounds N]
 *
 * 1. Writes. One 256 MiB mapping of guest memory, registered as the
 *    caller's mapping in three handles: "off" (the region does not log),
 *    "log" (squib_mem_set_dirty_log(mem, slot, true)) and "other" (the
 *    region does not log, but a second, 4 KiB region of the handle does).
 *    Each does random u32 writes (squib_mem_write_u32_le) and random 4 KiB
 *    writes (squib_mem_write). Controls on the same memory: the
 *    not-logging write followed by what the library does to mark a page
 *    (an atomic release fetch-or into a bitmap word, here the program's
 *    own); and, without the library, raw 4-byte stores and 4 KiB memcpy,
 *    alone and followed by that fetch-or, the store followed by a plain,
 *    non-atomic or, and the store padded with 32 additions (a call's
 *    length) with and without the fetch-or, or with a test that finds the
 *    bit set.
 *    After every round the "log" bitmap is harvested (untimed) and must be
 *    exactly the pages that round's logging writes touched.
 * 2. Harvests. A 1 GiB region (262144 pages, a bitmap of 4096 words) that
 *    logs, its memory never touched: squib_mem_get_dirty_log with
 *    SQUIB_DIRTY_CLEAR beside a memcpy of 4096 uint64_t, with no page, 1 %
 *    of the pages (a fixed pseudo-random set) and every page dirty, marked
 *    with squib_mem_mark_dirty before each (untimed). The harvest must
 *    return exactly the pages marked. Controls: the library's harvest
 *    algorithm (an acquire load of each word, an exchange of each non-zero
 *    one) over a plain array, no library; and, with every page dirty, the
 *    harvest without SQUIB_DIRTY_CLEAR.
 * 3. Listeners. squib_mem_add_region_opts then squib_mem_remove_region of
 *    a 4 KiB region, 32 cycles a pass (two grace periods, as in
 *    squib-backings), in a handle with one listener registered whose
 *    callbacks only count, beside a handle with none. The counts must match
 *    the cycles.
 *
 * Method: rounds, as squib-ab and squib-backings. In a round every job of
 * a part runs once, in an order shuffled afresh; each write job walks its
 * own slice of a fixed-seed address sequence (4096 u32 addresses or 128
 * blocks), so that no job finds the cache lines or TLB entries another
 * left. Each ratio is taken round by round; its median, a
 * distribution-free 95 % confidence interval and the medians of each side
 * are reported, with the number of rounds. Wall-clock time; nothing is
 * pinned; rounds in which the thread lost the CPU are counted.
 *
 * A report, not a test: exit 0 whatever the figures, 2 if a library call
 * fails, 3 if memory, a bitmap or a listener's counts are not what they
 * should be, 1 for a usage or host error. --quick (the ctest smoke run)
 * runs a few rounds on smaller memory and asserts nothing about timings.
 */
#define _GNU_SOURCE /* MAP_NORESERVE */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <squib/core.h>

#include "bench_common.h"

#define PROG "squib-dirty"

#define PAGE ((uint64_t)SQUIB_DIRTY_PAGE_SIZE)
#define MAIN_BASE ((uint64_t)0x100000000) /* 4 GiB */
#define MAIN_SLOT 1u
#define OTHER_BASE ((uint64_t)0xfff00000) /* 4 KiB below 4 GiB, as firmware */
#define OTHER_SLOT 2u
#define BIG_BASE ((uint64_t)0x400000000) /* 16 GiB */
#define BIG_SIZE ((uint64_t)1 << 30)
#define BIG_SLOT 3u
#define BIG_WORDS ((size_t)(BIG_SIZE / PAGE / 64)) /* 4096 */
#define CYCLE_BASE ((uint64_t)0x200000000)	   /* 8 GiB */
#define CYCLE_SLOT 4u
#define RAM_SIZE (64 * MIB) /* the listener handles' untouched region */

#define SLICE_U32 4096u
#define SLICE_BLOCKS 128u
#define SLICES 67u /* prime: each job cycles through every slice */
#define CYCLES 32  /* per listener pass: two grace periods of 16 cycles */

struct config {
	uint64_t span; /* bytes of the write-test memory */
	int rounds, cycle_rounds;
	bool quick;
};

/* ---- failures ---------------------------------------------------------- */

__attribute__((cold, noinline)) static void lib_failed(squib_status_t status, const char *call,
						       uint64_t addr)
{
	fprintf(stderr, PROG ": %s(0x%016" PRIx64 ") failed: %s: %s\n", call, addr,
		squib_strerror(status), squib_last_error());
	exit(EXIT_LIBRARY_FAILED);
}

static void lib_check(squib_status_t status, const char *call, uint64_t addr)
{
	if (status != SQUIB_OK)
		lib_failed(status, call, addr);
}

__attribute__((cold, noinline)) static void wrong(const char *what)
{
	fprintf(stderr, PROG ": %s\n", what);
	exit(EXIT_WRONG_DATA);
}

/* ---- results ----------------------------------------------------------- */

enum goal { GOAL_NONE, GOAL_AT_MOST };

struct row {
	const char *label;
	const char *lib_label, *base_label;
	double *lib, *base; /* ns per operation, one per round */
	int n;		    /* rounds */
	enum goal goal;
	double target;
};

#define MAX_ROWS 20
static struct row rows[MAX_ROWS];
static int row_count;
static int rounds_off_cpu[3]; /* per part: rounds with a pass below 90 % on-CPU */

static struct row *row_new(const char *label, const char *lib_label, const char *base_label, int n,
			   enum goal goal, double target)
{
	struct row *r;

	if (row_count == MAX_ROWS)
		abort();
	r = &rows[row_count++];
	*r = (struct row){label,
			  lib_label,
			  base_label,
			  bench_xmalloc(PROG, (size_t)n * sizeof(double)),
			  bench_xmalloc(PROG, (size_t)n * sizeof(double)),
			  n,
			  goal,
			  target};
	return r;
}

/* ---- part 1: writes ---------------------------------------------------- */

/* u32 writes store the pattern's value for their address, 4 KiB writes the
 * same block every time (block_of), so that memory always holds one or the
 * other and can be checked at the end. */
static uint32_t block_word(uint64_t at)
{
	return bench_pattern(at ^ 0xb10c0000u);
}

__attribute__((noinline)) static void write_u32_lib(squib_mem_t *mem, const uint32_t *off, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		squib_status_t status = squib_mem_write_u32_le(mem, SQUIB_GPA(MAIN_BASE + off[i]),
							       bench_pattern(off[i]));

		if (status != SQUIB_OK)
			lib_failed(status, "squib_mem_write_u32_le", MAIN_BASE + off[i]);
	}
}

/* The not-logging write (the fast path) followed by the mark a logging
 * write makes, here into a bitmap of the caller's: what the lock-or would
 * cost if a logging write were the fast path plus the mark. */
__attribute__((noinline)) static void write_u32_lib_mark(squib_mem_t *mem, const uint32_t *off,
							 size_t n, _Atomic uint64_t *bits)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t page = off[i] / PAGE;
		squib_status_t status = squib_mem_write_u32_le(mem, SQUIB_GPA(MAIN_BASE + off[i]),
							       bench_pattern(off[i]));

		if (status != SQUIB_OK)
			lib_failed(status, "squib_mem_write_u32_le", MAIN_BASE + off[i]);
		atomic_fetch_or_explicit(&bits[page / 64], (uint64_t)1 << (page % 64),
					 memory_order_release);
	}
}

__attribute__((noinline)) static void write_4k_lib(squib_mem_t *mem, const uint32_t *off, size_t n,
						   const uint8_t *block)
{
	for (size_t i = 0; i < n; i++) {
		squib_status_t status =
		    squib_mem_write(mem, SQUIB_GPA(MAIN_BASE + off[i]), block, PAGE);

		if (status != SQUIB_OK)
			lib_failed(status, "squib_mem_write", MAIN_BASE + off[i]);
	}
}

__attribute__((noinline)) static void write_u32_raw(uint8_t *host, const uint32_t *off, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint32_t value = bench_pattern(off[i]);

		memcpy(host + off[i], &value, sizeof(value));
	}
}

/* What the library adds to mark a page (lib/dirty_log.c: a release
 * fetch-or, a `lock or` on x86), without the library. */
__attribute__((noinline)) static void write_u32_raw_mark(uint8_t *host, const uint32_t *off,
							 size_t n, _Atomic uint64_t *bits)
{
	for (size_t i = 0; i < n; i++) {
		uint32_t value = bench_pattern(off[i]);
		uint64_t page = off[i] / PAGE;

		memcpy(host + off[i], &value, sizeof(value));
		atomic_fetch_or_explicit(&bits[page / 64], (uint64_t)1 << (page % 64),
					 memory_order_release);
	}
}

/* The same with a plain read-modify-write: what the mark costs when it
 * need not be atomic (it must be, since writers race with the harvest). */
__attribute__((noinline)) static void write_u32_raw_plain_or(uint8_t *host, const uint32_t *off,
							     size_t n, uint64_t *bits)
{
	for (size_t i = 0; i < n; i++) {
		uint32_t value = bench_pattern(off[i]);
		uint64_t page = off[i] / PAGE;

		memcpy(host + off[i], &value, sizeof(value));
		bits[page / 64] |= (uint64_t)1 << (page % 64);
		__asm__ volatile("" ::: "memory"); /* keep the or in the loop */
	}
}

/* Read through a volatile, so that the raw 4 KiB copies are the same libc
 * memcpy call as the library's, not one the compiler expands inline. */
static volatile size_t page_len = PAGE;

/*
 * The core check of squib-bench, for writes: the raw store followed by 32
 * independent additions (about one library call's length of work) and then
 * no mark, the lock-or mark, or a mark that tests the bit first and finds
 * it set (bits all ones). A locked instruction cannot complete before the
 * stores ahead of it have, and holds up retirement meanwhile, so the
 * further apart two writes' stores are in instructions, the fewer of their
 * cache misses the core overlaps: these show what that costs without the
 * library.
 */
#define PAD_32_ADDS(i)                                                                             \
	do {                                                                                       \
		uint64_t a = (i), b = (i), c = (i), d = (i);                                       \
		for (int k = 0; k < 8; k++) {                                                      \
			a++, b++, c++, d++;                                                        \
			__asm__ volatile("" : "+r"(a), "+r"(b), "+r"(c), "+r"(d));                 \
		}                                                                                  \
	} while (0)

enum pad_mark { PAD_NONE, PAD_LOCK_OR, PAD_TEST_SET };

__attribute__((noinline)) static void write_u32_raw_padded(uint8_t *host, const uint32_t *off,
							   size_t n, _Atomic uint64_t *bits,
							   enum pad_mark mark)
{
	for (size_t i = 0; i < n; i++) {
		uint32_t value = bench_pattern(off[i]);
		uint64_t page = off[i] / PAGE, bit = (uint64_t)1 << (page % 64);

		memcpy(host + off[i], &value, sizeof(value));
		PAD_32_ADDS(i);
		if (mark == PAD_LOCK_OR ||
		    (mark == PAD_TEST_SET &&
		     !(atomic_load_explicit(&bits[page / 64], memory_order_relaxed) & bit)))
			atomic_fetch_or_explicit(&bits[page / 64], bit, memory_order_release);
		__asm__ volatile("" ::: "memory");
	}
}

__attribute__((noinline)) static void write_4k_raw(uint8_t *host, const uint32_t *off, size_t n,
						   const uint8_t *block)
{
	size_t len = page_len;

	for (size_t i = 0; i < n; i++)
		memcpy(host + off[i], block, len);
}

__attribute__((noinline)) static void write_4k_raw_mark(uint8_t *host, const uint32_t *off,
							size_t n, const uint8_t *block,
							_Atomic uint64_t *bits)
{
	size_t len = page_len;

	for (size_t i = 0; i < n; i++) {
		uint64_t page = off[i] / PAGE;

		memcpy(host + off[i], block, len);
		atomic_fetch_or_explicit(&bits[page / 64], (uint64_t)1 << (page % 64),
					 memory_order_release);
	}
}

enum wjob_kind {
	WJ_U32_OFF,
	WJ_U32_LOG,
	WJ_U32_LOG_DIRTY,
	WJ_U32_OTHER,
	WJ_U32_OFF_MARK,
	WJ_U32_RAW,
	WJ_U32_RAW_MARK,
	WJ_U32_RAW_PLAIN_OR,
	WJ_U32_RAW_PAD,
	WJ_U32_RAW_PAD_MARK,
	WJ_U32_RAW_PAD_TEST,
	WJ_4K_OFF,
	WJ_4K_LOG,
	WJ_4K_OTHER,
	WJ_4K_RAW,
	WJ_4K_RAW_MARK,
	WJ_COUNT
};

struct writes {
	uint8_t *host; /* the mapping, guest MAIN_BASE */
	squib_mem_t *off, *log, *other;
	squib_mem_t *log_dirty; /* logs, every page dirty, never harvested */
	uint32_t *u32;		/* SLICES * SLICE_U32 offsets */
	uint32_t *blocks;	/* SLICES * SLICE_BLOCKS 4 KiB-aligned offsets */
	uint8_t *block;		/* what 4 KiB writes store */
	_Atomic uint64_t *bits; /* the controls' bitmap */
	_Atomic uint64_t *ones; /* a bitmap of every page dirty */
	uint64_t *plain_bits;	/* the plain-or control's */
	uint64_t *want, *got;	/* the log handle's expected and harvested bitmap */
	size_t words;		/* of a bitmap of the mapping */
};

static void run_wjob(const struct writes *w, enum wjob_kind kind, unsigned slice)
{
	const uint32_t *u32 = w->u32 + (size_t)slice * SLICE_U32;
	const uint32_t *blk = w->blocks + (size_t)slice * SLICE_BLOCKS;

	switch (kind) {
	case WJ_U32_OFF:
		write_u32_lib(w->off, u32, SLICE_U32);
		return;
	case WJ_U32_LOG:
		write_u32_lib(w->log, u32, SLICE_U32);
		return;
	case WJ_U32_LOG_DIRTY:
		write_u32_lib(w->log_dirty, u32, SLICE_U32);
		return;
	case WJ_U32_OTHER:
		write_u32_lib(w->other, u32, SLICE_U32);
		return;
	case WJ_U32_OFF_MARK:
		write_u32_lib_mark(w->off, u32, SLICE_U32, w->bits);
		return;
	case WJ_U32_RAW:
		write_u32_raw(w->host, u32, SLICE_U32);
		return;
	case WJ_U32_RAW_MARK:
		write_u32_raw_mark(w->host, u32, SLICE_U32, w->bits);
		return;
	case WJ_U32_RAW_PLAIN_OR:
		write_u32_raw_plain_or(w->host, u32, SLICE_U32, w->plain_bits);
		return;
	case WJ_U32_RAW_PAD:
		write_u32_raw_padded(w->host, u32, SLICE_U32, w->bits, PAD_NONE);
		return;
	case WJ_U32_RAW_PAD_MARK:
		write_u32_raw_padded(w->host, u32, SLICE_U32, w->bits, PAD_LOCK_OR);
		return;
	case WJ_U32_RAW_PAD_TEST:
		write_u32_raw_padded(w->host, u32, SLICE_U32, w->ones, PAD_TEST_SET);
		return;
	case WJ_4K_OFF:
		write_4k_lib(w->off, blk, SLICE_BLOCKS, w->block);
		return;
	case WJ_4K_LOG:
		write_4k_lib(w->log, blk, SLICE_BLOCKS, w->block);
		return;
	case WJ_4K_OTHER:
		write_4k_lib(w->other, blk, SLICE_BLOCKS, w->block);
		return;
	case WJ_4K_RAW:
		write_4k_raw(w->host, blk, SLICE_BLOCKS, w->block);
		return;
	case WJ_4K_RAW_MARK:
		write_4k_raw_mark(w->host, blk, SLICE_BLOCKS, w->block, w->bits);
		return;
	case WJ_COUNT:
		break;
	}
	abort();
}

static bool wjob_is_4k(enum wjob_kind kind)
{
	return kind >= WJ_4K_OFF;
}

static void shuffle(int *order, int n, uint64_t *state)
{
	for (int k = n - 1; k > 0; k--) {
		int other = (int)(bench_xorshift64(state) % (uint64_t)(k + 1));
		int tmp = order[k];

		order[k] = order[other];
		order[other] = tmp;
	}
}

static void set_bits(uint64_t *bits, const uint32_t *off, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t page = off[i] / PAGE;

		bits[page / 64] |= (uint64_t)1 << (page % 64);
	}
}

/* After a round: the log handle's bitmap holds exactly the pages its two
 * jobs wrote, and is clear after the harvest; the other handle's logging
 * region was never written. */
static void check_harvest(const struct writes *w, unsigned u32_slice, unsigned blk_slice)
{
	uint64_t other = 0;

	memset(w->want, 0, w->words * sizeof(uint64_t));
	set_bits(w->want, w->u32 + (size_t)u32_slice * SLICE_U32, SLICE_U32);
	set_bits(w->want, w->blocks + (size_t)blk_slice * SLICE_BLOCKS, SLICE_BLOCKS);
	lib_check(squib_mem_get_dirty_log(w->log, MAIN_SLOT, w->got, w->words, SQUIB_DIRTY_CLEAR),
		  "squib_mem_get_dirty_log", MAIN_BASE);
	if (memcmp(w->want, w->got, w->words * sizeof(uint64_t)) != 0)
		wrong("the logging region's bitmap is not the pages its writes touched");
	lib_check(squib_mem_get_dirty_log(w->other, OTHER_SLOT, &other, 1, SQUIB_DIRTY_CLEAR),
		  "squib_mem_get_dirty_log", OTHER_BASE);
	if (other)
		wrong("a logging region nobody wrote has dirty pages");
}

/* Every word holds its pattern value or the 4 KiB block's. */
static void check_memory(const struct writes *w, uint64_t span)
{
	for (uint64_t at = 0; at < span; at += 4) {
		uint32_t value;

		memcpy(&value, w->host + at, sizeof(value));
		if (value != bench_pattern(at) && value != block_word(at % PAGE))
			wrong("guest memory does not hold what was written");
	}
}

static squib_mem_t *handle_on(uint8_t *host, uint64_t span, bool log, bool other)
{
	squib_mem_t *mem = NULL;
	squib_region_opts_t opts = SQUIB_REGION_OPTS_INIT;

	lib_check(squib_mem_new(&mem), "squib_mem_new", 0);
	lib_check(squib_range_init(&opts.range, SQUIB_GPA(MAIN_BASE), span), "squib_range_init",
		  MAIN_BASE);
	opts.slot = MAIN_SLOT;
	opts.prot = SQUIB_PROT_RW;
	opts.host_addr = host;
	lib_check(squib_mem_add_region_opts(mem, &opts), "squib_mem_add_region_opts", MAIN_BASE);
	if (log)
		lib_check(squib_mem_set_dirty_log(mem, MAIN_SLOT, true), "squib_mem_set_dirty_log",
			  MAIN_BASE);
	if (other) {
		squib_range_t range;

		lib_check(squib_range_init(&range, SQUIB_GPA(OTHER_BASE), PAGE), "squib_range_init",
			  OTHER_BASE);
		lib_check(squib_mem_add_region(mem, range, OTHER_SLOT, SQUIB_PROT_RW),
			  "squib_mem_add_region", OTHER_BASE);
		lib_check(squib_mem_set_dirty_log(mem, OTHER_SLOT, true), "squib_mem_set_dirty_log",
			  OTHER_BASE);
	}
	return mem;
}

static void part_writes(const struct config *cfg)
{
	struct writes w = {0};
	struct bench_clock t0, t1;
	uint64_t state = 0x64697274790001u;
	int order[WJ_COUNT];
	double ns[WJ_COUNT];
	uint64_t probe[1];
	struct row *u32_log, *u32_log_dirty, *u32_other, *u32_mark, *u32_plain, *k4_log, *k4_other,
	    *k4_mark, *u32_vs_raw, *pad_mark, *pad_test, *off_mark;
	int n = cfg->rounds;

	w.host = mmap(NULL, cfg->span, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (w.host == MAP_FAILED) {
		perror(PROG ": mmap");
		exit(EXIT_FAILURE);
	}
	bench_fill_pattern(w.host, 0, cfg->span); /* touches every page */
	w.off = handle_on(w.host, cfg->span, false, false);
	w.log = handle_on(w.host, cfg->span, true, false);
	w.other = handle_on(w.host, cfg->span, false, true);
	/* A guest that rewrites its working set between two harvests: every
	 * page is dirty already, so a write only tests its bit. */
	w.log_dirty = handle_on(w.host, cfg->span, true, false);
	lib_check(squib_mem_mark_dirty(w.log_dirty, SQUIB_GPA(MAIN_BASE), (size_t)cfg->span),
		  "squib_mem_mark_dirty", MAIN_BASE);
	if (squib_mem_get_dirty_log(w.off, MAIN_SLOT, probe, 1, 0) != SQUIB_E_UNSUPPORTED)
		wrong("squib_mem_get_dirty_log of a region that does not log did not refuse");
	w.u32 = bench_random_offsets(PROG, (size_t)SLICES * SLICE_U32, cfg->span, 4,
				     0x9e3779b97f4a7c15u);
	w.blocks = bench_random_offsets(PROG, (size_t)SLICES * SLICE_BLOCKS, cfg->span, PAGE,
					0x6b6c6f636b001000u);
	w.block = bench_xmalloc(PROG, PAGE);
	for (uint64_t at = 0; at < PAGE; at += 4) {
		uint32_t value = block_word(at);

		memcpy(w.block + at, &value, sizeof(value));
	}
	w.words = (size_t)(cfg->span / PAGE / 64);
	w.bits = bench_xmalloc(PROG, w.words * sizeof(*w.bits));
	w.ones = bench_xmalloc(PROG, w.words * sizeof(*w.ones));
	for (size_t i = 0; i < w.words; i++) {
		atomic_init(&w.bits[i], 0);
		atomic_init(&w.ones[i], ~(uint64_t)0);
	}
	w.plain_bits = calloc(w.words, sizeof(uint64_t));
	w.want = bench_xmalloc(PROG, w.words * sizeof(uint64_t));
	w.got = bench_xmalloc(PROG, w.words * sizeof(uint64_t));
	if (!w.plain_bits) {
		perror(PROG ": calloc");
		exit(EXIT_FAILURE);
	}

	u32_log = row_new("u32 write, logging vs not", "squib_mem_write_u32_le, region logs",
			  "the same, region does not log", n, GOAL_AT_MOST, 1.3);
	u32_log_dirty = row_new("u32 write, logging, page dirty already",
				"squib_mem_write_u32_le, region logs, its bit set",
				"the same, region does not log", n, GOAL_NONE, 0);
	k4_log = row_new("4 KiB write, logging vs not", "squib_mem_write 4 KiB, region logs",
			 "the same, region does not log", n, GOAL_AT_MOST, 1.3);
	u32_other = row_new("u32 write, another region logs", "not logging, other region logs",
			    "no region logs", n, GOAL_NONE, 0);
	k4_other = row_new("4 KiB write, another region logs", "not logging, other region logs",
			   "no region logs", n, GOAL_NONE, 0);
	off_mark =
	    row_new("u32 write (not logging) + lock or", "squib_mem_write_u32_le, then a fetch-or",
		    "squib_mem_write_u32_le, region does not log", n, GOAL_NONE, 0);
	u32_vs_raw = row_new("u32 write (not logging) vs raw", "squib_mem_write_u32_le",
			     "raw 4-byte store", n, GOAL_NONE, 0);
	u32_mark = row_new("raw store + lock or vs store", "store, atomic fetch-or of its bit",
			   "raw 4-byte store", n, GOAL_NONE, 0);
	u32_plain = row_new("raw store + plain or vs store", "store, non-atomic or of its bit",
			    "raw 4-byte store", n, GOAL_NONE, 0);
	pad_mark = row_new("store+32 adds+lock or vs +32 adds", "store, 32 adds, atomic fetch-or",
			   "store, 32 adds", n, GOAL_NONE, 0);
	pad_test =
	    row_new("store+32 adds+test (set) vs +32 adds",
		    "store, 32 adds, test finds the bit set", "store, 32 adds", n, GOAL_NONE, 0);
	k4_mark = row_new("raw 4 KiB copy + lock or vs copy", "memcpy, atomic fetch-or of its bit",
			  "memcpy 4 KiB", n, GOAL_NONE, 0);

	for (int k = 0; k < WJ_COUNT; k++)
		order[k] = k;
	fprintf(stderr,
		"writes: %d rounds of %d jobs (%u u32 writes or %u 4 KiB writes each) in %" PRIu64
		" MiB\n",
		n, (int)WJ_COUNT, SLICE_U32, SLICE_BLOCKS, cfg->span / MIB);
	for (int k = 0; k < WJ_COUNT; k++) /* untimed: thread records, first touches */
		run_wjob(&w, (enum wjob_kind)k, (unsigned)k % SLICES);
	check_harvest(&w, WJ_U32_LOG % SLICES, WJ_4K_LOG % SLICES);
	for (int r = 0; r < n; r++) {
		bool off_cpu = false;

		shuffle(order, WJ_COUNT, &state);
		for (int i = 0; i < WJ_COUNT; i++) {
			enum wjob_kind kind = (enum wjob_kind)order[i];
			unsigned slice = ((unsigned)(r + 1) * WJ_COUNT + (unsigned)kind) % SLICES;

			t0 = bench_clock_now();
			run_wjob(&w, kind, slice);
			t1 = bench_clock_now();
			ns[kind] =
			    (t1.wall - t0.wall) / (wjob_is_4k(kind) ? SLICE_BLOCKS : SLICE_U32);
			off_cpu |= bench_oncpu(t0, t1) < 0.9;
		}
		rounds_off_cpu[0] += off_cpu;
		check_harvest(&w, ((unsigned)(r + 1) * WJ_COUNT + WJ_U32_LOG) % SLICES,
			      ((unsigned)(r + 1) * WJ_COUNT + WJ_4K_LOG) % SLICES);
		u32_log->lib[r] = ns[WJ_U32_LOG], u32_log->base[r] = ns[WJ_U32_OFF];
		u32_log_dirty->lib[r] = ns[WJ_U32_LOG_DIRTY],
		u32_log_dirty->base[r] = ns[WJ_U32_OFF];
		k4_log->lib[r] = ns[WJ_4K_LOG], k4_log->base[r] = ns[WJ_4K_OFF];
		u32_other->lib[r] = ns[WJ_U32_OTHER], u32_other->base[r] = ns[WJ_U32_OFF];
		k4_other->lib[r] = ns[WJ_4K_OTHER], k4_other->base[r] = ns[WJ_4K_OFF];
		off_mark->lib[r] = ns[WJ_U32_OFF_MARK], off_mark->base[r] = ns[WJ_U32_OFF];
		u32_vs_raw->lib[r] = ns[WJ_U32_OFF], u32_vs_raw->base[r] = ns[WJ_U32_RAW];
		u32_mark->lib[r] = ns[WJ_U32_RAW_MARK], u32_mark->base[r] = ns[WJ_U32_RAW];
		u32_plain->lib[r] = ns[WJ_U32_RAW_PLAIN_OR], u32_plain->base[r] = ns[WJ_U32_RAW];
		pad_mark->lib[r] = ns[WJ_U32_RAW_PAD_MARK], pad_mark->base[r] = ns[WJ_U32_RAW_PAD];
		pad_test->lib[r] = ns[WJ_U32_RAW_PAD_TEST], pad_test->base[r] = ns[WJ_U32_RAW_PAD];
		k4_mark->lib[r] = ns[WJ_4K_RAW_MARK], k4_mark->base[r] = ns[WJ_4K_RAW];
	}
	check_memory(&w, cfg->span);

	squib_mem_free(w.off);
	squib_mem_free(w.log);
	squib_mem_free(w.other);
	squib_mem_free(w.log_dirty);
	munmap(w.host, cfg->span);
	free(w.u32);
	free(w.blocks);
	free(w.block);
	free(w.bits);
	free(w.ones);
	free(w.plain_bits);
	free(w.want);
	free(w.got);
}

/* ---- part 2: harvests -------------------------------------------------- */

enum density { D_EMPTY, D_ONE_PERCENT, D_FULL, D_COUNT };

static const char *const density_names[D_COUNT] = {"no page dirty", "1% of pages dirty",
						   "every page dirty"};

/* The 1 % set: pages whose hash falls below 1/100 (2621 of 262144 here,
 * about half the words non-zero). */
static bool page_in_sample(uint64_t page)
{
	uint64_t x = (page + 1) * 0x9e3779b97f4a7c15u;

	x ^= x >> 29;
	x *= 0xbf58476d1ce4e5b9u;
	x ^= x >> 32;
	return x % 100 == 0;
}

struct sample {
	uint32_t *pages; /* the 1 % set, ascending */
	size_t count;
};

static struct sample sample_new(void)
{
	struct sample s = {bench_xmalloc(PROG, (BIG_SIZE / PAGE) * sizeof(uint32_t)), 0};

	for (uint64_t page = 0; page < BIG_SIZE / PAGE; page++)
		if (page_in_sample(page))
			s.pages[s.count++] = (uint32_t)page;
	return s;
}

/* Marks the pages of the density; sets the bitmap it must give. */
static void mark_density(squib_mem_t *mem, enum density d, const struct sample *sample,
			 uint64_t *want)
{
	memset(want, 0, BIG_WORDS * sizeof(uint64_t));
	if (d == D_FULL) {
		lib_check(squib_mem_mark_dirty(mem, SQUIB_GPA(BIG_BASE), BIG_SIZE),
			  "squib_mem_mark_dirty", BIG_BASE);
		memset(want, 0xff, BIG_WORDS * sizeof(uint64_t));
		return;
	}
	if (d == D_EMPTY)
		return;
	for (size_t i = 0; i < sample->count; i++) {
		uint64_t page = sample->pages[i];

		lib_check(squib_mem_mark_dirty(mem, SQUIB_GPA(BIG_BASE + page * PAGE), 1),
			  "squib_mem_mark_dirty", BIG_BASE + page * PAGE);
		want[page / 64] |= (uint64_t)1 << (page % 64);
	}
}

/* The bitmap of a density, without marking anything. */
static void want_density(enum density d, const struct sample *sample, uint64_t *want)
{
	memset(want, d == D_FULL ? 0xff : 0, BIG_WORDS * sizeof(uint64_t));
	if (d == D_ONE_PERCENT)
		for (size_t i = 0; i < sample->count; i++)
			want[sample->pages[i] / 64] |= (uint64_t)1 << (sample->pages[i] % 64);
}

/* The library's harvest (lib/dirty_log.c) over a plain array: what the
 * algorithm costs without the mutex, the lookup and the listeners. */
__attribute__((noinline)) static void harvest_raw(_Atomic uint64_t *bits, uint64_t *out,
						  size_t words)
{
	for (size_t i = 0; i < words; i++) {
		uint64_t value = atomic_load_explicit(&bits[i], memory_order_acquire);

		if (value)
			value = atomic_exchange_explicit(&bits[i], 0, memory_order_acquire);
		out[i] = value;
	}
}

/* What the memcpy baseline copies: a bitmap of the same density. */
static volatile size_t bitmap_bytes = BIG_WORDS * sizeof(uint64_t);

enum hjob_kind { HJ_LIB, HJ_MEMCPY, HJ_RAW, HJ_LIB_NOCLEAR, HJ_COUNT };

static void part_harvests(const struct config *cfg)
{
	squib_mem_t *mem = NULL;
	squib_region_opts_t opts = SQUIB_REGION_OPTS_INIT;
	uint64_t *want = bench_xmalloc(PROG, BIG_WORDS * sizeof(uint64_t));
	uint64_t *out = bench_xmalloc(PROG, BIG_WORDS * sizeof(uint64_t));
	uint64_t *src = bench_xmalloc(PROG, BIG_WORDS * sizeof(uint64_t));
	_Atomic uint64_t *raw = bench_xmalloc(PROG, BIG_WORDS * sizeof(*raw));
	uint64_t state = 0x6861727665737401u;
	struct row *lib_rows[D_COUNT], *raw_rows[D_COUNT], *noclear;
	struct sample sample = sample_new();
	int n = cfg->rounds;
	int order[HJ_COUNT];
	size_t nonzero = 0;

	lib_check(squib_mem_new(&mem), "squib_mem_new", 0);
	lib_check(squib_range_init(&opts.range, SQUIB_GPA(BIG_BASE), BIG_SIZE), "squib_range_init",
		  BIG_BASE);
	opts.slot = BIG_SLOT;
	opts.prot = SQUIB_PROT_RW;
	opts.flags = SQUIB_REGION_DIRTY_LOG; /* the memory is never touched */
	lib_check(squib_mem_add_region_opts(mem, &opts), "squib_mem_add_region_opts", BIG_BASE);

	for (int d = 0; d < D_COUNT; d++) {
		static char labels[D_COUNT][64], raw_labels[D_COUNT][64];

		snprintf(labels[d], sizeof(labels[d]), "harvest 1 GiB, %s", density_names[d]);
		snprintf(raw_labels[d], sizeof(raw_labels[d]), "raw harvest loop, %s",
			 density_names[d]);
		lib_rows[d] = row_new(labels[d], "squib_mem_get_dirty_log, SQUIB_DIRTY_CLEAR",
				      "memcpy of 4096 uint64_t", n, GOAL_AT_MOST, 2.0);
		raw_rows[d] =
		    row_new(raw_labels[d], "load + exchange of non-zero words, no library",
			    "memcpy of 4096 uint64_t", n, GOAL_NONE, 0);
	}
	noclear = row_new("harvest 1 GiB, all dirty, no CLEAR", "squib_mem_get_dirty_log, flags 0",
			  "memcpy of 4096 uint64_t", n, GOAL_NONE, 0);

	want_density(D_ONE_PERCENT, &sample, want);
	for (size_t w = 0; w < BIG_WORDS; w++)
		nonzero += want[w] != 0;
	fprintf(stderr,
		"harvests: %d rounds, 1 GiB region (%zu bitmap words), 3 densities; the 1%% set "
		"is %zu pages in %zu non-zero words\n",
		n, BIG_WORDS, sample.count, nonzero);
	for (int k = 0; k < HJ_COUNT; k++)
		order[k] = k;
	for (int r = -1; r < n; r++) { /* round -1: untimed */
		bool off_cpu = false;

		for (int d = 0; d < D_COUNT; d++) {
			double ns[HJ_COUNT] = {0};

			shuffle(order, HJ_COUNT, &state);
			for (int i = 0; i < HJ_COUNT; i++) {
				enum hjob_kind kind = (enum hjob_kind)order[i];
				struct bench_clock t0, t1;

				if (kind == HJ_LIB_NOCLEAR && d != D_FULL)
					continue;
				/* Untimed: the state each job starts from. */
				if (kind == HJ_LIB || kind == HJ_LIB_NOCLEAR) {
					/* Then a read of the whole bitmap (flags 0: it
					 * stays), so that it is as hot as the
					 * controls' arrays, which were just written. */
					mark_density(mem, (enum density)d, &sample, want);
					lib_check(squib_mem_get_dirty_log(mem, BIG_SLOT, out,
									  BIG_WORDS, 0),
						  "squib_mem_get_dirty_log", BIG_BASE);
				} else {
					want_density((enum density)d, &sample, want);
					if (kind == HJ_RAW)
						for (size_t w = 0; w < BIG_WORDS; w++)
							atomic_store_explicit(&raw[w], want[w],
									      memory_order_relaxed);
					else
						memcpy(src, want, BIG_WORDS * sizeof(uint64_t));
				}
				memset(out, 0x55, BIG_WORDS * sizeof(uint64_t));
				t0 = bench_clock_now();
				if (kind == HJ_LIB || kind == HJ_LIB_NOCLEAR)
					lib_check(squib_mem_get_dirty_log(
						      mem, BIG_SLOT, out, BIG_WORDS,
						      kind == HJ_LIB ? SQUIB_DIRTY_CLEAR : 0),
						  "squib_mem_get_dirty_log", BIG_BASE);
				else if (kind == HJ_RAW)
					harvest_raw(raw, out, BIG_WORDS);
				else
					memcpy(out, src, bitmap_bytes);
				t1 = bench_clock_now();
				ns[kind] = t1.wall - t0.wall;
				off_cpu |= bench_oncpu(t0, t1) < 0.9;
				if (memcmp(out, want, BIG_WORDS * sizeof(uint64_t)) != 0)
					wrong("a harvest did not return exactly the pages marked");
				if (kind == HJ_LIB_NOCLEAR) { /* clear it, and check it was kept */
					lib_check(squib_mem_get_dirty_log(mem, BIG_SLOT, out,
									  BIG_WORDS,
									  SQUIB_DIRTY_CLEAR),
						  "squib_mem_get_dirty_log", BIG_BASE);
					if (memcmp(out, want, BIG_WORDS * sizeof(uint64_t)) != 0)
						wrong("a harvest without CLEAR cleared");
				}
			}
			/* Everything taken: the next harvest is empty. */
			lib_check(squib_mem_get_dirty_log(mem, BIG_SLOT, out, BIG_WORDS, 0),
				  "squib_mem_get_dirty_log", BIG_BASE);
			for (size_t w = 0; w < BIG_WORDS; w++)
				if (out[w])
					wrong("SQUIB_DIRTY_CLEAR left dirty pages behind");
			if (r < 0)
				continue;
			lib_rows[d]->lib[r] = ns[HJ_LIB], lib_rows[d]->base[r] = ns[HJ_MEMCPY];
			raw_rows[d]->lib[r] = ns[HJ_RAW], raw_rows[d]->base[r] = ns[HJ_MEMCPY];
			if (d == D_FULL)
				noclear->lib[r] = ns[HJ_LIB_NOCLEAR],
				noclear->base[r] = ns[HJ_MEMCPY];
		}
		if (r >= 0)
			rounds_off_cpu[1] += off_cpu;
	}
	squib_mem_free(mem);
	free(sample.pages);
	free(want);
	free(out);
	free(src);
	free(raw);
}

/* ---- part 3: listeners ------------------------------------------------- */

struct counts {
	uint64_t adds, dels, other;
};

static squib_status_t count_add(void *ctx, const squib_region_info_t *info)
{
	(void)info;
	((struct counts *)ctx)->adds++;
	return SQUIB_OK;
}

static void count_del(void *ctx, const squib_region_info_t *info)
{
	(void)info;
	((struct counts *)ctx)->dels++;
}

static squib_status_t count_protect(void *ctx, const squib_region_info_t *info,
				    squib_prot_t old_prot)
{
	(void)info, (void)old_prot;
	((struct counts *)ctx)->other++;
	return SQUIB_OK;
}

static squib_status_t count_dirty_log(void *ctx, const squib_region_info_t *info, bool enable)
{
	(void)info, (void)enable;
	((struct counts *)ctx)->other++;
	return SQUIB_OK;
}

static squib_status_t count_log_sync(void *ctx, const squib_region_info_t *info, uint64_t *bitmap,
				     size_t words)
{
	(void)info, (void)bitmap, (void)words;
	((struct counts *)ctx)->other++;
	return SQUIB_OK;
}

static squib_mem_t *cycle_handle(void)
{
	squib_mem_t *mem = NULL;
	squib_range_t range;

	lib_check(squib_mem_new(&mem), "squib_mem_new", 0);
	lib_check(squib_range_init(&range, SQUIB_GPA(MAIN_BASE), RAM_SIZE), "squib_range_init",
		  MAIN_BASE);
	lib_check(squib_mem_add_region(mem, range, MAIN_SLOT, SQUIB_PROT_RW),
		  "squib_mem_add_region", MAIN_BASE);
	return mem;
}

__attribute__((noinline)) static void cycles(squib_mem_t *mem, const squib_region_opts_t *opts,
					     int count)
{
	for (int i = 0; i < count; i++) {
		lib_check(squib_mem_add_region_opts(mem, opts), "squib_mem_add_region_opts",
			  CYCLE_BASE);
		lib_check(squib_mem_remove_region(mem, CYCLE_SLOT), "squib_mem_remove_region",
			  CYCLE_BASE);
	}
}

static void part_listeners(const struct config *cfg)
{
	squib_mem_t *plain = cycle_handle(), *listened = cycle_handle();
	squib_listener_t listener = SQUIB_LISTENER_INIT;
	squib_region_opts_t opts = SQUIB_REGION_OPTS_INIT;
	struct counts counts = {0};
	uint64_t id = 0, state = 0x6c697374656e0001u;
	int n = cfg->cycle_rounds;
	struct row *row = row_new("add+remove, 1 listener vs none", "4 KiB region, 1 listener",
				  "the same, no listener", n, GOAL_NONE, 0);
	uint64_t total = 0;

	listener.ctx = &counts;
	listener.region_add = count_add;
	listener.region_del = count_del;
	listener.protect = count_protect;
	listener.dirty_log = count_dirty_log;
	listener.log_sync = count_log_sync;
	lib_check(squib_mem_listener_add(listened, &listener, &id), "squib_mem_listener_add", 0);
	if (counts.adds != 1) /* the replay of the 64 MiB region */
		wrong("squib_mem_listener_add did not replay the region there");
	lib_check(squib_range_init(&opts.range, SQUIB_GPA(CYCLE_BASE), PAGE), "squib_range_init",
		  CYCLE_BASE);
	opts.slot = CYCLE_SLOT;
	opts.prot = SQUIB_PROT_RW;

	fprintf(stderr, "listeners: %d rounds of %d add+remove cycles per handle\n", n, CYCLES);
	cycles(plain, &opts, CYCLES); /* untimed */
	cycles(listened, &opts, CYCLES);
	total += CYCLES;
	for (int r = 0; r < n; r++) {
		bool with_first = bench_xorshift64(&state) & 1;
		bool off_cpu = false;

		for (int k = 0; k < 2; k++) {
			bool with = (k == 0) == with_first;
			struct bench_clock t0 = bench_clock_now(), t1;

			cycles(with ? listened : plain, &opts, CYCLES);
			t1 = bench_clock_now();
			off_cpu |= bench_oncpu(t0, t1) < 0.9;
			(with ? row->lib : row->base)[r] = (t1.wall - t0.wall) / CYCLES;
		}
		total += CYCLES;
		rounds_off_cpu[2] += off_cpu;
	}
	if (counts.adds != 1 + total || counts.dels != total || counts.other != 0)
		wrong("the listener was not called once per add and once per remove");
	lib_check(squib_mem_listener_remove(listened, id), "squib_mem_listener_remove", 0);
	if (counts.dels != total + 1)
		wrong("squib_mem_listener_remove did not call region_del for the region there");
	squib_mem_free(plain);
	squib_mem_free(listened);
}

/* ---- output ------------------------------------------------------------ */

static void print_rows(const struct config *cfg)
{
	printf("\n" PROG " %s (libsquibcore %s), %s run: %d rounds (writes, harvests), "
	       "%d rounds of %d cycles (listeners)\n",
	       SQUIB_CORE_VERSION_STRING, squib_core_version(), cfg->quick ? "quick" : "full",
	       cfg->rounds, cfg->cycle_rounds, CYCLES);
	printf("figures are medians over the rounds; ratio = the median of the round-by-round\n"
	       "ratios, time = first / second (lower is better), with its 95 %% confidence "
	       "interval\n\n");
	printf("%-36s %11s %11s %7s %13s %8s  %s\n", "metric", "first ns", "second ns", "ratio",
	       "95% CI", "target", "result");
	for (int i = 0; i < row_count; i++) {
		const struct row *r = &rows[i];
		double *ratio = bench_xmalloc(PROG, (size_t)r->n * sizeof(double));
		struct bench_spread lib = bench_spread_of(PROG, r->lib, r->n);
		struct bench_spread base = bench_spread_of(PROG, r->base, r->n);
		struct bench_spread q;
		char target[16] = "-", ci[32];
		const char *verdict = "info";

		for (int k = 0; k < r->n; k++)
			ratio[k] = r->lib[k] / r->base[k];
		q = bench_spread_of(PROG, ratio, r->n);
		if (r->goal == GOAL_AT_MOST) {
			snprintf(target, sizeof(target), "<= %.2f", r->target);
			verdict = q.median <= r->target ? "PASS" : "MISS";
		}
		snprintf(ci, sizeof(ci), "%.3f-%.3f", q.ci_lo, q.ci_hi);
		printf("%-36s %11.1f %11.1f %7.3f %13s %8s  %s\n", r->label, lib.median,
		       base.median, q.median, ci, target, verdict);
		free(ratio);
	}
	printf("\nfirst / second of each row:\n");
	for (int i = 0; i < row_count; i++)
		printf("  %-36s %s / %s\n", rows[i].label, rows[i].lib_label, rows[i].base_label);
	printf("\nharvest ns are per call (4096 words); write ns per write; add+remove ns per "
	       "cycle.\nrounds with a pass below 90%% on-CPU: writes %d, harvests %d, "
	       "listeners %d.\nNot logging against release 0.2.0: bench/ab-0.2.sh "
	       "(docs/PERFORMANCE.md).\n",
	       rounds_off_cpu[0], rounds_off_cpu[1], rounds_off_cpu[2]);
}

/* ---- main -------------------------------------------------------------- */

static void usage(FILE *to)
{
	fprintf(to, "usage: " PROG " [--quick] [--rounds N]\n"
		    "  --quick     smoke run: 32 MiB, a few rounds, about a second\n"
		    "  --rounds N  rounds of the write and harvest parts (default 801, quick 5);\n"
		    "              the listener part runs N / 4 + 1\n");
}

int main(int argc, char **argv)
{
	struct config cfg = {0};
	int rounds = 0;
	double start = bench_ns(CLOCK_MONOTONIC);

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--quick") == 0) {
			cfg.quick = true;
		} else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc &&
			   bench_parse_int(argv[i + 1], 1, 100000, &rounds)) {
			i++;
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return EXIT_SUCCESS;
		} else {
			usage(stderr);
			return EXIT_FAILURE;
		}
	}
	cfg.span = cfg.quick ? 32 * MIB : 256 * MIB;
	cfg.rounds = rounds ? rounds : cfg.quick ? 5 : 801;
	cfg.cycle_rounds = cfg.rounds / 4 + 1;

	part_writes(&cfg);
	part_harvests(&cfg);
	part_listeners(&cfg);
	print_rows(&cfg);
	fprintf(stderr, PROG ": done in %.1f s\n", (bench_ns(CLOCK_MONOTONIC) - start) / 1e9);
	for (int i = 0; i < row_count; i++) {
		free(rows[i].lib);
		free(rows[i].base);
	}
	return EXIT_SUCCESS;
}
