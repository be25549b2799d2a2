/* SPDX-License-Identifier: MIT */
/*
 * Concurrency: readers, writers, a region iterator and a hotplug thread on
 * one handle, every value read checked (lib/mem.c, lib/epoch.c, lib/access.c).
 *
 * Layout (no two threads ever touch the same bytes with a plain copy, so
 * the run is race-free under TSan; shared words are only ever accessed with
 * naturally aligned typed accesses, which are atomic):
 * - STABLE regions, never removed: a read-only half filled with a per-region
 *   pattern (readers bulk-read and check it) and a word half where writers
 *   store self-checking values with aligned u64/u32 writes, each writer
 *   owning its own words, and readers check every word they read.
 * - SCRATCH regions, one per writer, for its bulk write/read round trips.
 * - HOT_PATTERN regions, removed and re-added from_bytes with a known
 *   pattern by the hotplug thread: a reader that reads one must see the
 *   whole pattern, never zeros or garbage; else OUT_OF_RANGE, buffer intact.
 * - HOT_ZERO regions, removed and re-added zero-filled: writers store
 *   self-checking words there when they can; a reader sees 0 or such a word.
 * The work is bounded by operation counts: every thread does its count,
 * readers and the iterator also keep going while the hotplug thread runs.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>

#include "test_util.h"
#include "test_failure.h"

#define READERS 2
#define WRITERS 2

#define STABLE_N 6
#define STABLE_BASE 0x10000000u
#define STABLE_STRIDE 0x100000u
#define STABLE_SIZE 0x10000u
#define STABLE_RO 0x8000u  /* [0, RO): read-only pattern */
#define WORDS64_AT 0x8000u /* u64 words */
#define WORDS64_N 0x800u
#define WORDS32_AT 0xc000u /* u32 words */
#define WORDS32_N 0x1000u
#define STABLE_SLOT(i) (1000u + (uint32_t)(i))

#define SCRATCH_BASE 0x40000000u
#define SCRATCH_SIZE 0x4000u
#define SCRATCH_SLOT(w) (4000u + (uint32_t)(w))

#define HOT_N 4
#define HOT_PATTERN_BASE 0x20000000u
#define HOT_PATTERN_SIZE 0x1000u
#define HOT_PATTERN_SLOT(j) (2000u + (uint32_t)(j))
#define HOT_ZERO_BASE 0x30000000u
#define HOT_ZERO_SIZE 0x2000u
#define HOT_ZERO_WORDS (HOT_ZERO_SIZE / 8)
#define HOT_ZERO_SLOT(j) (3000u + (uint32_t)(j))
#define HOT_STRIDE 0x100000u

/* Operation counts; smaller under TSan, which runs everything ~10x slower. */
#if TEST_UNDER_TSAN
#define HOTPLUG_CYCLES 2000u
#define READER_ROUNDS 10000u
#define WRITER_ROUNDS 10000u
#define ITERATOR_ROUNDS 500u
#else
#define HOTPLUG_CYCLES 10000u
#define READER_ROUNDS 50000u
#define WRITER_ROUNDS 50000u
#define ITERATOR_ROUNDS 2000u
#endif
/* Cap on the extra rounds readers do while the hotplug thread still runs. */
#define EXTRA_ROUNDS_CAP 50u

struct shared {
	squib_mem_t *mem;
	struct test_failure failure;
	atomic_bool hotplug_done;
	/* Statistics, to show the run actually raced. */
	atomic_ulong hot_reads_ok, hot_reads_missed, foreach_visits;
};

struct worker {
	struct shared *shared;
	unsigned id;
	uint64_t rng;
};

#define T_CHECK(w, cond, ...)                                                                      \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			test_failure_record(&(w)->shared->failure, __VA_ARGS__);                   \
			return NULL;                                                               \
		}                                                                                  \
	} while (0)

static uint64_t next_random(struct worker *w)
{
	/* xorshift64*: enough for picking offsets. */
	w->rng ^= w->rng >> 12;
	w->rng ^= w->rng << 25;
	w->rng ^= w->rng >> 27;
	return w->rng * 0x2545f4914f6cdd1du;
}

static uint32_t below(struct worker *w, uint64_t n)
{
	return (uint32_t)(next_random(w) % n);
}

/* Self-checking words: (high half) XOR (low half) is a tag that depends on
 * where the word lives, so a torn, misplaced or garbage value fails. */
static uint32_t tag32(uint64_t region, uint64_t word)
{
	return (uint32_t)(((region << 16) | word) * 0x9e3779b1u) | 1u;
}

static uint64_t word64(uint64_t region, uint64_t word, uint32_t counter)
{
	return ((uint64_t)counter << 32) | (counter ^ tag32(region, word));
}

static bool word64_ok(uint64_t region, uint64_t word, uint64_t value)
{
	return value == 0 || ((uint32_t)(value >> 32) ^ (uint32_t)value) == tag32(region, word);
}

static uint32_t word32(uint64_t region, uint64_t word, uint32_t counter)
{
	uint16_t high = (uint16_t)(counter % 0xffffu + 1);

	return ((uint32_t)high << 16) | (uint16_t)(high ^ (uint16_t)tag32(region, word));
}

static bool word32_ok(uint64_t region, uint64_t word, uint32_t value)
{
	return value == 0 || (uint16_t)((value >> 16) ^ value) == (uint16_t)tag32(region, word);
}

static uint64_t stable_base(unsigned i)
{
	return STABLE_BASE + (uint64_t)i * STABLE_STRIDE;
}

static uint64_t hot_pattern_base(unsigned j)
{
	return HOT_PATTERN_BASE + (uint64_t)j * HOT_STRIDE;
}

static uint64_t hot_zero_base(unsigned j)
{
	return HOT_ZERO_BASE + (uint64_t)j * HOT_STRIDE;
}

static uint64_t scratch_base(unsigned w)
{
	return SCRATCH_BASE + (uint64_t)w * STABLE_STRIDE;
}

/* ------------------------------------------------------------------ */

static void *reader_main(void *arg)
{
	struct worker *w = arg;
	squib_mem_t *mem = w->shared->mem;
	uint8_t buf[HOT_PATTERN_SIZE];

	for (unsigned round = 0;; round++) {
		unsigned i = below(w, STABLE_N), j = below(w, HOT_N);
		uint64_t base = stable_base(i);
		squib_status_t status;

		if (test_failed(&w->shared->failure))
			return NULL;
		if (round >= READER_ROUNDS && (atomic_load(&w->shared->hotplug_done) ||
					       round >= READER_ROUNDS * EXTRA_ROUNDS_CAP))
			return NULL;

		/* Bulk read of the read-only pattern: always succeeds. */
		{
			uint32_t off = below(w, STABLE_RO), len = below(w, 512) + 1;

			if (off + len > STABLE_RO)
				len = STABLE_RO - off;
			status = squib_mem_read(mem, SQUIB_GPA(base + off), buf, len);
			T_CHECK(w, status == SQUIB_OK, "reader: stable %u +0x%x len %u: %d", i, off,
				len, (int)status);
			for (uint32_t b = 0; b < len; b++)
				T_CHECK(w, buf[b] == test_pattern_byte(i, off + b),
					"reader: stable %u byte 0x%x is 0x%02x, want 0x%02x", i,
					off + b, buf[b], test_pattern_byte(i, off + b));
		}
		/* Unaligned typed read of the read-only part. */
		{
			uint32_t off = below(w, STABLE_RO - 8) | 1u;
			uint64_t value = 0, want = 0;

			status = squib_mem_read_u64_le(mem, SQUIB_GPA(base + off), &value);
			T_CHECK(w, status == SQUIB_OK, "reader: u64 at stable %u +0x%x: %d", i, off,
				(int)status);
			for (unsigned b = 0; b < 8; b++)
				want |= (uint64_t)test_pattern_byte(i, off + b) << (8 * b);
			T_CHECK(w, value == want,
				"reader: u64 at stable %u +0x%x = 0x%" PRIx64 ", want 0x%" PRIx64,
				i, off, value, want);
		}
		/* Words that writers are changing. */
		{
			uint32_t k = below(w, WORDS64_N), m = below(w, WORDS32_N);
			uint64_t v64 = 1;
			uint32_t v32 = 1;

			status =
			    squib_mem_read_u64_le(mem, SQUIB_GPA(base + WORDS64_AT + 8u * k), &v64);
			T_CHECK(w, status == SQUIB_OK && word64_ok(i, k, v64),
				"reader: stable %u u64 word %u = 0x%016" PRIx64 " (status %d)", i,
				k, v64, (int)status);
			status =
			    squib_mem_read_u32_le(mem, SQUIB_GPA(base + WORDS32_AT + 4u * m), &v32);
			T_CHECK(w, status == SQUIB_OK && word32_ok(i, m, v32),
				"reader: stable %u u32 word %u = 0x%08" PRIx32 " (status %d)", i, m,
				v32, (int)status);
		}
		/* Straddling the end of a stable region always fails. */
		memset(buf, 0xa5, 16);
		status = squib_mem_read(mem, SQUIB_GPA(base + STABLE_SIZE - 4), buf, 8);
		T_CHECK(w, status == SQUIB_E_OUT_OF_RANGE && test_first_not(buf, 16, 0xa5) == 16,
			"reader: straddling read of stable %u: %d", i, (int)status);

		/* A hot region from bytes: all of the pattern, or nothing. */
		memset(buf, 0xa5, sizeof(buf));
		status = squib_mem_read(mem, SQUIB_GPA(hot_pattern_base(j)), buf, sizeof(buf));
		if (status == SQUIB_OK) {
			size_t bad = test_check_pattern(buf, sizeof(buf), 100 + j);

			T_CHECK(w, bad == sizeof(buf),
				"reader: hot pattern %u byte %zu is 0x%02x, want 0x%02x", j, bad,
				buf[bad], test_pattern_byte(100 + j, bad));
			atomic_fetch_add_explicit(&w->shared->hot_reads_ok, 1,
						  memory_order_relaxed);
		} else {
			T_CHECK(w, status == SQUIB_E_OUT_OF_RANGE,
				"reader: hot pattern %u: status %d", j, (int)status);
			T_CHECK(w, test_first_not(buf, sizeof(buf), 0xa5) == sizeof(buf),
				"reader: failed read of hot pattern %u wrote the buffer", j);
			atomic_fetch_add_explicit(&w->shared->hot_reads_missed, 1,
						  memory_order_relaxed);
		}
		/* A hot zero-filled region: 0 or a writer's word. */
		{
			uint32_t k = below(w, HOT_ZERO_WORDS);
			uint64_t value = 0x5a5a5a5a5a5a5a5au;

			status = squib_mem_read_u64_le(mem, SQUIB_GPA(hot_zero_base(j) + 8u * k),
						       &value);
			if (status == SQUIB_OK)
				T_CHECK(w, word64_ok(100 + j, k, value),
					"reader: hot zero %u word %u = 0x%016" PRIx64, j, k, value);
			else
				T_CHECK(w,
					status == SQUIB_E_OUT_OF_RANGE &&
					    value == 0x5a5a5a5a5a5a5a5au,
					"reader: hot zero %u word %u: status %d, out 0x%" PRIx64, j,
					k, (int)status, value);
		}
		/* Lookups. */
		{
			squib_region_info_t info = SQUIB_REGION_INFO_INIT;

			status = squib_mem_find_region(mem, SQUIB_GPA(base + 0x123), &info);
			T_CHECK(w,
				status == SQUIB_OK && info.slot == STABLE_SLOT(i) &&
				    info.range.base.raw == base && info.range.size == STABLE_SIZE,
				"reader: find_region(stable %u): %d slot %" PRIu32, i, (int)status,
				info.slot);
			status = squib_mem_get_region(mem, HOT_PATTERN_SLOT(j), &info);
			if (status == SQUIB_OK)
				T_CHECK(w,
					info.range.base.raw == hot_pattern_base(j) &&
					    info.range.size == HOT_PATTERN_SIZE &&
					    info.slot == HOT_PATTERN_SLOT(j),
					"reader: get_region(hot %u) = [0x%" PRIx64 ", +0x%" PRIx64
					") slot %" PRIu32,
					j, info.range.base.raw, info.range.size, info.slot);
			else
				T_CHECK(w, status == SQUIB_E_NOT_FOUND,
					"reader: get_region(hot %u): %d", j, (int)status);
		}
	}
}

static void *writer_main(void *arg)
{
	struct worker *w = arg;
	squib_mem_t *mem = w->shared->mem;
	const unsigned me = w->id;
	uint8_t out[512], in[512];

	for (uint32_t round = 1; round <= WRITER_ROUNDS; round++) {
		unsigned i = below(w, STABLE_N), j = below(w, HOT_N);
		uint64_t base = stable_base(i);
		/* Only words k with k % WRITERS == me are this writer's. */
		uint32_t k = below(w, WORDS64_N / WRITERS) * WRITERS + me;
		uint32_t m = below(w, WORDS32_N / WRITERS) * WRITERS + me;
		uint32_t z = below(w, HOT_ZERO_WORDS / WRITERS) * WRITERS + me;
		squib_status_t status;
		uint64_t back64 = 0;
		uint32_t back32 = 0;

		if (test_failed(&w->shared->failure))
			return NULL;

		status = squib_mem_write_u64_le(mem, SQUIB_GPA(base + WORDS64_AT + 8u * k),
						word64(i, k, round));
		T_CHECK(w, status == SQUIB_OK, "writer %u: stable %u word %u: %d", me, i, k,
			(int)status);
		/* Nobody else writes this word: it reads back as written. */
		status = squib_mem_read_u64_le(mem, SQUIB_GPA(base + WORDS64_AT + 8u * k), &back64);
		T_CHECK(w, status == SQUIB_OK && back64 == word64(i, k, round),
			"writer %u: stable %u word %u reads 0x%" PRIx64 ", wrote 0x%" PRIx64, me, i,
			k, back64, word64(i, k, round));
		status = squib_mem_write_u32_le(mem, SQUIB_GPA(base + WORDS32_AT + 4u * m),
						word32(i, m, round));
		T_CHECK(w, status == SQUIB_OK, "writer %u: stable %u u32 word %u: %d", me, i, m,
			(int)status);
		status = squib_mem_read_u32_le(mem, SQUIB_GPA(base + WORDS32_AT + 4u * m), &back32);
		T_CHECK(w, status == SQUIB_OK && back32 == word32(i, m, round),
			"writer %u: stable %u u32 word %u reads 0x%" PRIx32, me, i, m, back32);

		/* Hot zero-filled region: present or not. */
		status = squib_mem_write_u64_le(mem, SQUIB_GPA(hot_zero_base(j) + 8u * z),
						word64(100 + j, z, round));
		T_CHECK(w, status == SQUIB_OK || status == SQUIB_E_OUT_OF_RANGE,
			"writer %u: hot zero %u: %d", me, j, (int)status);

		/* Bulk round trip in this writer's own scratch region. */
		if (round % 8 == 0) {
			uint32_t off = below(w, SCRATCH_SIZE - sizeof(out));
			uint32_t len = below(w, sizeof(out)) + 1;

			test_fill_pattern(out, len, round);
			status = squib_mem_write(mem, SQUIB_GPA(scratch_base(me) + off), out, len);
			T_CHECK(w, status == SQUIB_OK, "writer %u: scratch write: %d", me,
				(int)status);
			status = squib_mem_read(mem, SQUIB_GPA(scratch_base(me) + off), in, len);
			T_CHECK(w, status == SQUIB_OK && memcmp(in, out, len) == 0,
				"writer %u: scratch +0x%x len %u did not round-trip (%d)", me, off,
				len, (int)status);
		}
	}
	return NULL;
}

static void *hotplug_main(void *arg)
{
	struct worker *w = arg;
	squib_mem_t *mem = w->shared->mem;
	bool present[2][HOT_N] = {{false}};
	static uint8_t patterns[HOT_N][HOT_PATTERN_SIZE];

	for (unsigned j = 0; j < HOT_N; j++)
		test_fill_pattern(patterns[j], HOT_PATTERN_SIZE, 100 + j);

	for (unsigned cycle = 0; cycle < HOTPLUG_CYCLES; cycle++) {
		unsigned j = below(w, HOT_N), kind = below(w, 2);
		squib_status_t status;

		if (test_failed(&w->shared->failure))
			break;
		if (present[kind][j]) {
			status = squib_mem_remove_region(mem, kind ? HOT_ZERO_SLOT(j)
								   : HOT_PATTERN_SLOT(j));
		} else if (kind) {
			status =
			    squib_mem_add_region(mem, test_range(hot_zero_base(j), HOT_ZERO_SIZE),
						 HOT_ZERO_SLOT(j), SQUIB_PROT_RW);
		} else {
			status = squib_mem_add_region_from_bytes(
			    mem, SQUIB_GPA(hot_pattern_base(j)), patterns[j], HOT_PATTERN_SIZE,
			    HOT_PATTERN_SLOT(j), SQUIB_PROT_RX);
		}
		if (status != SQUIB_OK) {
			test_failure_record(&w->shared->failure, "hotplug: cycle %u %s %s %u: %d",
					    cycle, present[kind][j] ? "remove" : "add",
					    kind ? "zero" : "pattern", j, (int)status);
			break;
		}
		present[kind][j] = !present[kind][j];
		/* Now and then a region that conflicts, to exercise the
		 * failure paths under load: they must change nothing. */
		if (cycle % 16 == 0) {
			status = squib_mem_add_region(mem, test_range(stable_base(0) + 8, 8), 9999,
						      SQUIB_PROT_RW);
			if (status != SQUIB_E_OVERLAP) {
				test_failure_record(&w->shared->failure,
						    "hotplug: overlapping add gave %d",
						    (int)status);
				break;
			}
		}
	}
	atomic_store(&w->shared->hotplug_done, true);
	return NULL;
}

struct visit_state {
	struct worker *w;
	size_t count;
	uint64_t prev_end;
	unsigned stable_seen, scratch_seen;
	bool bad;
	char why[256];
};

static int visit_check(const squib_region_info_t *info, void *ctx)
{
	struct visit_state *v = ctx;
	uint64_t base = info->range.base.raw, size = info->range.size;
	uint32_t slot = info->slot;
	bool known = false;

#define VISIT_FAIL(...)                                                                            \
	do {                                                                                       \
		(void)snprintf(v->why, sizeof(v->why), __VA_ARGS__);                               \
		v->bad = true;                                                                     \
		return 1;                                                                          \
	} while (0)

	if (info->sz != sizeof(*info) || size == 0 || info->host_addr == NULL || base + size < base)
		VISIT_FAIL("malformed region slot %" PRIu32 " [0x%" PRIx64 ", +0x%" PRIx64 ")",
			   slot, base, size);
	if (v->count > 0 && base < v->prev_end)
		VISIT_FAIL("region 0x%" PRIx64 " visited after one ending at 0x%" PRIx64, base,
			   v->prev_end);
	for (unsigned i = 0; i < STABLE_N; i++)
		if (slot == STABLE_SLOT(i)) {
			known = base == stable_base(i) && size == STABLE_SIZE;
			v->stable_seen++;
		}
	for (unsigned i = 0; i < WRITERS; i++)
		if (slot == SCRATCH_SLOT(i)) {
			known = base == scratch_base(i) && size == SCRATCH_SIZE;
			v->scratch_seen++;
		}
	for (unsigned j = 0; j < HOT_N; j++) {
		if (slot == HOT_PATTERN_SLOT(j))
			known = base == hot_pattern_base(j) && size == HOT_PATTERN_SIZE &&
				info->prot == SQUIB_PROT_RX;
		if (slot == HOT_ZERO_SLOT(j))
			known = base == hot_zero_base(j) && size == HOT_ZERO_SIZE;
	}
	if (!known)
		VISIT_FAIL("unexpected region slot %" PRIu32 " [0x%" PRIx64 ", +0x%" PRIx64 ")",
			   slot, base, size);
	v->prev_end = base + size;
	v->count++;
	return 0;
#undef VISIT_FAIL
}

static void *iterator_main(void *arg)
{
	struct worker *w = arg;
	squib_mem_t *mem = w->shared->mem;

	for (unsigned round = 0;; round++) {
		struct visit_state v;
		int result;
		size_t count;

		if (test_failed(&w->shared->failure))
			return NULL;
		if (round >= ITERATOR_ROUNDS && (atomic_load(&w->shared->hotplug_done) ||
						 round >= ITERATOR_ROUNDS * EXTRA_ROUNDS_CAP))
			return NULL;
		memset(&v, 0, sizeof(v));
		v.w = w;
		result = squib_mem_foreach_region(mem, visit_check, &v);
		T_CHECK(w, !v.bad, "iterator: %s", v.why);
		T_CHECK(w, result == 0, "iterator: foreach returned %d", result);
		T_CHECK(w, v.stable_seen == STABLE_N && v.scratch_seen == WRITERS,
			"iterator: saw %u stable and %u scratch regions", v.stable_seen,
			v.scratch_seen);
		atomic_fetch_add_explicit(&w->shared->foreach_visits, v.count,
					  memory_order_relaxed);
		count = squib_mem_region_count(mem);
		T_CHECK(w, count >= STABLE_N + WRITERS && count <= STABLE_N + WRITERS + 2 * HOT_N,
			"iterator: region_count %zu", count);
	}
}

START_TEST(readers_writers_iterator_and_hotplug)
{
	struct shared s;
	struct worker readers[READERS], writers[WRITERS], iterator, hotplug;
	pthread_t threads[READERS + WRITERS + 2];
	unsigned started = 0;
	static uint8_t bytes[STABLE_SIZE];

	memset(&s, 0, sizeof(s));
	test_failure_init(&s.failure);
	s.mem = test_mem_new();
	for (unsigned i = 0; i < STABLE_N; i++) {
		memset(bytes, 0, sizeof(bytes));
		test_fill_pattern(bytes, STABLE_RO, i);
		CK_OK(squib_mem_add_region_from_bytes(s.mem, SQUIB_GPA(stable_base(i)), bytes,
						      sizeof(bytes), STABLE_SLOT(i),
						      SQUIB_PROT_RW));
	}
	for (unsigned i = 0; i < WRITERS; i++)
		CK_OK(squib_mem_add_region(s.mem, test_range(scratch_base(i), SCRATCH_SIZE),
					   SCRATCH_SLOT(i), SQUIB_PROT_RW));

	hotplug = (struct worker){&s, 0, 0x1234567887654321u};
	iterator = (struct worker){&s, 0, 0x0badc0ffee0ddf00u};
	ck_assert_int_eq(pthread_create(&threads[started++], NULL, hotplug_main, &hotplug), 0);
	ck_assert_int_eq(pthread_create(&threads[started++], NULL, iterator_main, &iterator), 0);
	for (unsigned i = 0; i < READERS; i++) {
		readers[i] = (struct worker){&s, i, 0x9e3779b97f4a7c15u * (i + 1)};
		ck_assert_int_eq(
		    pthread_create(&threads[started++], NULL, reader_main, &readers[i]), 0);
	}
	for (unsigned i = 0; i < WRITERS; i++) {
		writers[i] = (struct worker){&s, i, 0xbf58476d1ce4e5b9u * (i + 7)};
		ck_assert_int_eq(
		    pthread_create(&threads[started++], NULL, writer_main, &writers[i]), 0);
	}
	for (unsigned t = 0; t < started; t++)
		ck_assert_int_eq(pthread_join(threads[t], NULL), 0);

	ck_assert_msg(!test_failed(&s.failure), "%s", s.failure.message);
	fprintf(stderr,
		"threads: hot reads %lu ok / %lu out of range, %lu regions visited by foreach\n",
		atomic_load(&s.hot_reads_ok), atomic_load(&s.hot_reads_missed),
		atomic_load(&s.foreach_visits));

	/* After the storm: every stable word is well-formed, every pattern
	 * intact, and the handle is consistent. */
	for (unsigned i = 0; i < STABLE_N; i++) {
		CK_OK(squib_mem_read(s.mem, SQUIB_GPA(stable_base(i)), bytes, STABLE_SIZE));
		ck_assert_uint_eq(test_check_pattern(bytes, STABLE_RO, i), STABLE_RO);
		for (uint32_t k = 0; k < WORDS64_N; k++) {
			uint64_t value = 0;

			for (unsigned b = 0; b < 8; b++)
				value |= (uint64_t)bytes[WORDS64_AT + 8u * k + b] << (8 * b);
			ck_assert_msg(word64_ok(i, k, value), "stable %u word %u = 0x%" PRIx64, i,
				      k, value);
		}
	}
	ck_assert_uint_ge(squib_mem_region_count(s.mem), STABLE_N + WRITERS);
	squib_mem_free(s.mem);
	test_failure_destroy(&s.failure);
}
END_TEST

/* Many threads that each add, use and remove their own regions at once:
 * adds and removes from different threads must not lose each other's
 * regions. */
struct churner {
	squib_mem_t *mem;
	unsigned id;
	unsigned rounds;
	char failure[256];
};

static void *churn_main(void *arg)
{
	struct churner *c = arg;
	const uint64_t base = 0x100000000u * (c->id + 1);

	for (unsigned r = 0; r < c->rounds; r++) {
		uint32_t slot = c->id * 1000000u + r;
		squib_range_t range = test_range(base + (uint64_t)(r % 7) * 0x10000, 0x1000);
		squib_status_t status = squib_mem_add_region(c->mem, range, slot, SQUIB_PROT_RW);
		uint32_t value = 0;

		if (status == SQUIB_OK)
			status =
			    squib_mem_write_u32_le(c->mem, SQUIB_GPA(range.base.raw + 4), slot);
		if (status == SQUIB_OK)
			status =
			    squib_mem_read_u32_le(c->mem, SQUIB_GPA(range.base.raw + 4), &value);
		if (status == SQUIB_OK && value != slot)
			status = SQUIB_E_INVALID_ARGUMENT;
		if (status == SQUIB_OK)
			status = squib_mem_remove_region(c->mem, slot);
		if (status != SQUIB_OK) {
			(void)snprintf(c->failure, sizeof(c->failure),
				       "churner %u round %u: %d, value %" PRIu32 " (%s)", c->id, r,
				       (int)status, value, squib_last_error());
			return NULL;
		}
	}
	return NULL;
}

START_TEST(concurrent_adds_and_removes)
{
	enum { CHURNERS = 4 };
	struct churner churners[CHURNERS];
	pthread_t threads[CHURNERS];
	squib_mem_t *mem = test_mem_new();

	test_add(mem, 0x1000, 0x1000, 0xffffffffu);
	for (unsigned i = 0; i < CHURNERS; i++) {
		churners[i] = (struct churner){mem, i, TEST_UNDER_TSAN ? 150u : 1000u, ""};
		ck_assert_int_eq(pthread_create(&threads[i], NULL, churn_main, &churners[i]), 0);
	}
	for (unsigned i = 0; i < CHURNERS; i++) {
		ck_assert_int_eq(pthread_join(threads[i], NULL), 0);
		ck_assert_msg(churners[i].failure[0] == '\0', "%s", churners[i].failure);
	}
	ck_assert_uint_eq(squib_mem_region_count(mem), 1);
	squib_mem_free(mem);
}
END_TEST

/* Threads that read guest memory and exit, many of them, some while
 * regions are being removed: each joins the library's reader registry on
 * its first access and must leave it at exit, or a later removal would
 * wait on (or read) a dead thread's record. */
struct short_lived {
	squib_mem_t *mem;
	unsigned id;
	squib_status_t status;
	uint64_t value;
};

static void *short_lived_main(void *arg)
{
	struct short_lived *t = arg;

	t->status = squib_mem_read_u64_le(t->mem, SQUIB_GPA(0x1000 + 8u * (t->id % 64)), &t->value);
	return NULL;
}

START_TEST(short_lived_threads_leave_the_registry)
{
	enum { BATCH = 16 };
	const unsigned batches = TEST_UNDER_TSAN ? 8u : 32u;
	squib_mem_t *mem = test_mem_new();
	uint64_t value = 0;

	test_add(mem, 0x1000, 0x1000, 1);
	for (unsigned i = 0; i < 64; i++)
		CK_OK(squib_mem_write_u64_le(mem, SQUIB_GPA(0x1000 + 8u * i),
					     0x1111111111111111u * (i % 15 + 1)));
	for (unsigned b = 0; b < batches; b++) {
		struct short_lived threads[BATCH];
		pthread_t ids[BATCH];

		for (unsigned i = 0; i < BATCH; i++) {
			threads[i] = (struct short_lived){mem, b * BATCH + i, SQUIB_E_NOT_FOUND, 0};
			ck_assert_int_eq(
			    pthread_create(&ids[i], NULL, short_lived_main, &threads[i]), 0);
		}
		/* Add and remove while they run and exit. */
		test_add(mem, 0x100000 + 0x1000 * (uint64_t)b, 0x1000, 100 + b);
		CK_OK(squib_mem_remove_region(mem, 100 + b));
		for (unsigned i = 0; i < BATCH; i++) {
			unsigned word = (b * BATCH + i) % 64;

			ck_assert_int_eq(pthread_join(ids[i], NULL), 0);
			CK_OK(threads[i].status);
			ck_assert_uint_eq(threads[i].value, 0x1111111111111111u * (word % 15 + 1));
		}
		/* All of them are gone: a removal must not wait for them. */
		test_add(mem, 0x200000, 0x1000, 2);
		CK_OK(squib_mem_remove_region(mem, 2));
	}
	CK_OK(squib_mem_read_u64_le(mem, SQUIB_GPA(0x1000), &value));
	ck_assert_uint_eq(value, 0x1111111111111111u);
	squib_mem_free(mem);
}
END_TEST

static Suite *threads_suite(void)
{
	Suite *suite = suite_create("threads");
	TCase *tc = tcase_create("threads");

	tcase_add_test(tc, readers_writers_iterator_and_hotplug);
	tcase_add_test(tc, concurrent_adds_and_removes);
	tcase_add_test(tc, short_lived_threads_leave_the_registry);
	tcase_set_timeout(tc, 240);
	suite_add_tcase(suite, tc);
	return suite;
}

TEST_MAIN(threads_suite)
