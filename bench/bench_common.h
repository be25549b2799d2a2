/* SPDX-License-Identifier: MIT */
/*
 * What squib-ab and squib-backings share: clocks, the fixed-seed address
 * sequences, the guest-memory pattern and order statistics over rounds.
 * Everything is static inline, so a program that uses part of it gets no
 * unused-function warning. (squib-bench keeps its own copies: it predates
 * this header and its figures are compared across releases.)
 */
#ifndef SQUIB_BENCH_COMMON_H
#define SQUIB_BENCH_COMMON_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KIB ((uint64_t)1024)
#define MIB (1024 * KIB)

/* Exit codes, as squib-bench's: 1 usage or host error. */
#define EXIT_LIBRARY_FAILED 2
#define EXIT_WRONG_DATA 3

static inline void *bench_xmalloc(const char *prog, size_t size)
{
	void *ptr = malloc(size ? size : 1);

	if (!ptr) {
		fprintf(stderr, "%s: out of memory (%zu bytes)\n", prog, size);
		exit(EXIT_FAILURE);
	}
	return ptr;
}

static inline double bench_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Wall time and the calling thread's CPU time, read together: CPU / wall
 * over a pass below 1 means another process took the CPU during it. */
struct bench_clock {
	double wall, cpu;
};

static inline struct bench_clock bench_clock_now(void)
{
	struct bench_clock c;

	c.cpu = bench_ns(CLOCK_THREAD_CPUTIME_ID);
	c.wall = bench_ns(CLOCK_MONOTONIC);
	return c;
}

static inline double bench_oncpu(struct bench_clock from, struct bench_clock to)
{
	double wall = to.wall - from.wall;

	return wall > 0 ? (to.cpu - from.cpu) / wall : 1;
}

/* xorshift64: cheap, deterministic, good enough to defeat prefetchers. */
static inline uint64_t bench_xorshift64(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*state = x;
	return x;
}

/* n offsets below span (at most 4 GiB), multiples of align (a power of two). */
static inline uint32_t *bench_random_offsets(const char *prog, size_t n, uint64_t span,
					     uint64_t align, uint64_t seed)
{
	uint32_t *off = bench_xmalloc(prog, n * sizeof(*off));
	uint64_t state = seed, slots = span / align;

	for (size_t i = 0; i < n; i++)
		off[i] = (uint32_t)((bench_xorshift64(&state) % slots) * align);
	return off;
}

/* The value guest memory holds at byte offset off (of a u32 word):
 * position-dependent, so reading the wrong place changes the sums. */
static inline uint32_t bench_pattern(uint64_t off)
{
	return (uint32_t)(off * 2654435761u) ^ 0x5a5a5a5au;
}

static inline void bench_fill_pattern(uint8_t *host, uint64_t first_off, uint64_t size)
{
	for (uint64_t at = 0; at + 4 <= size; at += 4) {
		uint32_t value = bench_pattern(first_off + at);

		memcpy(host + at, &value, sizeof(value));
	}
}

static inline int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Order statistics of n values (the caller's array is left as it was),
 * and a distribution-free 95 % confidence interval of the median: the
 * order statistics of ranks n/2 -+ 0.98 sqrt(n) (binomial, normal
 * approximation), which holds for any distribution of independent rounds. */
struct bench_spread {
	double min, p25, median, p75, max;
	double ci_lo, ci_hi;
	int n;
};

/* Linear interpolation between closest ranks, q in [0, 1]. */
static inline double bench_quantile(const double *sorted, int n, double q)
{
	double pos = q * (double)(n - 1);
	int lo = (int)pos;
	double frac = pos - (double)lo;

	if (lo + 1 >= n)
		return sorted[n - 1];
	return sorted[lo] + frac * (sorted[lo + 1] - sorted[lo]);
}

static inline struct bench_spread bench_spread_of(const char *prog, const double *values, int n)
{
	struct bench_spread s = {0, 0, 0, 0, 0, 0, 0, n};
	double *sorted, half;
	int lo, hi;

	if (n < 1)
		return s;
	sorted = bench_xmalloc(prog, (size_t)n * sizeof(*sorted));
	memcpy(sorted, values, (size_t)n * sizeof(*sorted));
	qsort(sorted, (size_t)n, sizeof(*sorted), bench_cmp_double);
	s.min = sorted[0];
	s.p25 = bench_quantile(sorted, n, 0.25);
	s.median = bench_quantile(sorted, n, 0.5);
	s.p75 = bench_quantile(sorted, n, 0.75);
	s.max = sorted[n - 1];
	half = 0.98 * sqrt((double)n);
	lo = (int)floor((double)n / 2 - half);
	hi = (int)ceil((double)n / 2 + half);
	s.ci_lo = sorted[lo < 0 ? 0 : lo];
	s.ci_hi = sorted[hi > n - 1 ? n - 1 : hi];
	free(sorted);
	return s;
}

/* Parses a positive int option value in [lo, hi]; false if it is not one. */
static inline int bench_parse_int(const char *text, long lo, long hi, int *out)
{
	char *end;
	long value;

	if (!text || !*text)
		return 0;
	value = strtol(text, &end, 10);
	if (*end || value < lo || value > hi)
		return 0;
	*out = (int)value;
	return 1;
}

#endif /* SQUIB_BENCH_COMMON_H */
