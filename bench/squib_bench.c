/* SPDX-License-Identifier: MIT */
/*
 * squib-bench: what libsquibcore's guest-memory path costs next to the raw
 * host access it wraps, measured in one process with the same address
 * sequences. A report, not a test: it exits 0 when a target is missed and
 * non-zero only when a library call fails or returns wrong data.
 *
 *   squib-bench            the full run (about 20 s idle, under 60 s loaded)
 *   squib-bench --quick    a smoke run of a few seconds (smaller memory)
 *   squib-bench --json     the results as one JSON document on stdout
 *   squib-bench --reps N   repetitions of every measurement (default 7)
 *
 * Method (docs/PERFORMANCE.md says more): every address sequence is
 * generated before timing with a fixed-seed xorshift, so the library loop
 * and its baseline loop walk exactly the same addresses; all guest memory
 * is touched before timing; every value read goes into a sum that is
 * checked (library sum == raw sum), so no load can be dropped; library and
 * baseline passes alternate, each is repeated N times, and the table shows
 * the best (fastest) pass of each side, the median beside it in --json.
 * Times are CLOCK_MONOTONIC.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <squib/core.h>
#include <sys/uio.h>

#define KIB ((uint64_t)1024)
#define MIB (1024 * KIB)

#define EXIT_LIBRARY_FAILED 2
#define EXIT_WRONG_DATA 3

/* Where the big region sits, and the far-away area the churn thread uses. */
#define MAIN_BASE ((uint64_t)0x100000000)    /* 4 GiB */
#define CHURN_BASE ((uint64_t)0x10000000000) /* 1 TiB */
#define CHURN_SIZE (64 * KIB)
#define MAIN_SLOT 1u
#define CHURN_SLOT 0xc0deu
#define MANY_SLOT0 0x1000u

struct config {
	uint64_t span;	   /* bytes of the big region */
	size_t many_count; /* regions of the many-region layout */
	size_t reads;	   /* u32 accesses per pass (per thread) */
	size_t hot_span;   /* bytes the cache-hot sequence stays in */
	int reps;	   /* passes per measurement */
	bool quick, json;
};

/* ---- failures ---------------------------------------------------------- */

/* Any library failure ends the run: a benchmark of a broken call is
 * meaningless. The message is the failing thread's squib_last_error(). */
__attribute__((cold, noinline)) static void lib_failed(squib_status_t status, const char *call,
						       uint64_t addr)
{
	fprintf(stderr, "squib-bench: %s(0x%016" PRIx64 ") failed: %s: %s\n", call, addr,
		squib_strerror(status), squib_last_error());
	exit(EXIT_LIBRARY_FAILED);
}

static void lib_check(squib_status_t status, const char *call, uint64_t addr)
{
	if (status != SQUIB_OK)
		lib_failed(status, call, addr);
}

__attribute__((cold, noinline)) static void wrong_data(const char *what, uint64_t lib, uint64_t raw)
{
	fprintf(stderr,
		"squib-bench: %s: library sum 0x%016" PRIx64 " != raw sum 0x%016" PRIx64 "\n", what,
		lib, raw);
	exit(EXIT_WRONG_DATA);
}

static void *xmalloc(size_t size)
{
	void *ptr = malloc(size);

	if (!ptr) {
		fprintf(stderr, "squib-bench: out of memory (%zu bytes)\n", size);
		exit(EXIT_FAILURE);
	}
	return ptr;
}

/* ---- time, randomness, statistics -------------------------------------- */

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Wall time and the calling thread's CPU time, read together: their ratio
 * over a pass says how much of it the thread actually ran (another process
 * taking the CPU shows up as on-CPU below 100%). */
struct clock_pair {
	double wall, cpu;
};

static struct clock_pair clock_now(void)
{
	struct timespec ts;
	struct clock_pair c;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	c.cpu = (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
	c.wall = now_ns();
	return c;
}

struct sample {
	double ns;    /* wall ns per operation */
	double oncpu; /* CPU time / wall time of the pass (per thread) */
};

static struct sample sample_between(struct clock_pair from, struct clock_pair to, size_t ops)
{
	double wall = to.wall - from.wall;
	struct sample s = {wall / (double)ops, wall > 0 ? (to.cpu - from.cpu) / wall : 1};

	return s;
}

/* xorshift64: cheap, deterministic, good enough to defeat prefetchers. */
static uint64_t xorshift64(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*state = x;
	return x;
}

/* n offsets below span, multiples of align (a power of two). */
static uint32_t *random_offsets(size_t n, uint64_t span, uint64_t align, uint64_t seed)
{
	uint32_t *off = xmalloc(n * sizeof(*off));
	uint64_t state = seed, slots = span / align;

	for (size_t i = 0; i < n; i++)
		off[i] = (uint32_t)((xorshift64(&state) % slots) * align);
	return off;
}

/* The value the guest memory holds at byte offset off (of a u32 word):
 * position-dependent, so reading the wrong place changes the sums. */
static uint32_t pattern(uint64_t off)
{
	return (uint32_t)(off * 2654435761u) ^ 0x5a5a5a5au;
}

static void fill_pattern(uint8_t *host, uint64_t first_off, uint64_t size)
{
	for (uint64_t at = 0; at < size; at += 4) {
		uint32_t value = pattern(first_off + at);

		memcpy(host + at, &value, sizeof(value));
	}
}

static int cmp_sample(const void *a, const void *b)
{
	double x = ((const struct sample *)a)->ns, y = ((const struct sample *)b)->ns;

	return (x > y) - (x < y);
}

struct figure {
	double best, median; /* ns per operation */
	double oncpu;	     /* on-CPU fraction of the best pass */
};

static struct figure stat_of(struct sample *samples, int n)
{
	struct figure f;

	qsort(samples, (size_t)n, sizeof(*samples), cmp_sample);
	f.best = samples[0].ns;
	f.oncpu = samples[0].oncpu;
	f.median = n % 2 ? samples[n / 2].ns : (samples[n / 2 - 1].ns + samples[n / 2].ns) / 2;
	return f;
}

/* ---- the measured loops ------------------------------------------------ */
/* noinline: each loop is one call the reader can find in the disassembly,
 * and the library and raw variants get the same treatment. */

__attribute__((noinline)) static uint64_t read_lib(const squib_mem_t *mem, uint64_t base,
						   const uint32_t *off, size_t n)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < n; i++) {
		uint32_t value = 0;
		squib_status_t status =
		    squib_mem_read_u32_le(mem, SQUIB_GPA(base + off[i]), &value);

		if (status != SQUIB_OK)
			lib_failed(status, "squib_mem_read_u32_le", base + off[i]);
		sum += value;
	}
	return sum;
}

/* A u32 read through the host pointer of squib_mem_host_range, as a
 * device would read a descriptor it was given the memory of. */
__attribute__((noinline)) static uint64_t host_range_lib(const squib_mem_t *mem, uint64_t base,
							 const uint32_t *off, size_t n)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < n; i++) {
		void *host = NULL;
		uint32_t value;
		squib_status_t status = squib_mem_host_range(mem, SQUIB_GPA(base + off[i]),
							     sizeof(value), SQUIB_PROT_READ, &host);

		if (status != SQUIB_OK)
			lib_failed(status, "squib_mem_host_range", base + off[i]);
		memcpy(&value, host, sizeof(value));
		sum += value;
	}
	return sum;
}

/* The same through squib_mem_translate's one iovec. */
__attribute__((noinline)) static uint64_t translate_lib(const squib_mem_t *mem, uint64_t base,
							const uint32_t *off, size_t n)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < n; i++) {
		struct iovec iov[2];
		size_t used = 0;
		uint32_t value;
		squib_status_t status = squib_mem_translate(
		    mem, SQUIB_GPA(base + off[i]), sizeof(value), SQUIB_PROT_READ, iov, 2, &used);

		if (status != SQUIB_OK)
			lib_failed(status, "squib_mem_translate", base + off[i]);
		memcpy(&value, iov[0].iov_base, sizeof(value));
		sum += value;
	}
	return sum;
}

/* A u32 that straddles two GPA-adjacent regions, through the two iovecs
 * of squib_mem_translate: the walk a device takes for a buffer that spans
 * regions (two bytes from each). */
__attribute__((noinline)) static uint64_t translate2_lib(const squib_mem_t *mem, uint64_t base,
							 const uint32_t *off, size_t n)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < n; i++) {
		struct iovec iov[2];
		size_t used = 0, at = 0;
		uint8_t bytes[4];
		uint32_t value;
		squib_status_t status = squib_mem_translate(
		    mem, SQUIB_GPA(base + off[i]), sizeof(value), SQUIB_PROT_READ, iov, 2, &used);

		if (status != SQUIB_OK)
			lib_failed(status, "squib_mem_translate", base + off[i]);
		for (size_t k = 0; k < used && at + iov[k].iov_len <= sizeof(bytes); k++) {
			memcpy(bytes + at, iov[k].iov_base, iov[k].iov_len);
			at += iov[k].iov_len;
		}
		memcpy(&value, bytes, sizeof(value));
		sum += value + (uint64_t)used; /* 2 iovecs each: checked against the baseline */
	}
	return sum;
}

/* The baseline of translate2_lib: the same unaligned u32 reads in the
 * one-region guest, plus the 2 its sum counts per access. */
__attribute__((noinline)) static uint64_t read2_lib(const squib_mem_t *mem, uint64_t base,
						    const uint32_t *off, size_t n)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < n; i++) {
		uint32_t value = 0;
		squib_status_t status =
		    squib_mem_read_u32_le(mem, SQUIB_GPA(base + off[i]), &value);

		if (status != SQUIB_OK)
			lib_failed(status, "squib_mem_read_u32_le", base + off[i]);
		sum += value + 2u;
	}
	return sum;
}

__attribute__((noinline)) static uint64_t read_raw(const uint8_t *host, const uint32_t *off,
						   size_t n)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < n; i++) {
		uint32_t value;

		memcpy(&value, host + off[i], sizeof(value));
		sum += value;
	}
	return sum;
}

/* Dependent chains: each address depends on the value read before it
 * (through `value & zero`, zero being 0 at run time), so accesses cannot
 * overlap and the loop measures latency, not throughput. Same addresses as
 * the random loops. */
__attribute__((noinline)) static uint64_t chase_lib(const squib_mem_t *mem, uint64_t base,
						    const uint32_t *off, size_t n, uint32_t zero)
{
	uint64_t sum = 0;
	uint32_t value = 0;

	for (size_t i = 0; i < n; i++) {
		uint64_t addr = base + (off[i] + (value & zero));
		squib_status_t status = squib_mem_read_u32_le(mem, SQUIB_GPA(addr), &value);

		if (status != SQUIB_OK)
			lib_failed(status, "squib_mem_read_u32_le", addr);
		sum += value;
	}
	return sum;
}

__attribute__((noinline)) static uint64_t chase_raw(const uint8_t *host, const uint32_t *off,
						    size_t n, uint32_t zero)
{
	uint64_t sum = 0;
	uint32_t value = 0;

	for (size_t i = 0; i < n; i++) {
		memcpy(&value, host + (off[i] + (value & zero)), sizeof(value));
		sum += value;
	}
	return sum;
}

/*
 * The core check: the raw loop with 32 independent additions per access,
 * about as many instructions as a library call, and no library. Where the
 * two run at about the same speed, the core's reorder window holds enough
 * of them to keep the guest's misses overlapping; where this loop is much
 * slower than the raw one, the core was short of that window during the
 * run (on these virtual machines: the host's SMT sibling of the vCPU was
 * busy, which halves it), and every ratio of a call-bound loop to the raw
 * loop is inflated by the same cause. The empty asm keeps each addition.
 */
__attribute__((noinline)) static uint64_t read_raw_padded(const uint8_t *host, const uint32_t *off,
							  size_t n)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < n; i++) {
		uint64_t a = i, b = i, c = i, d = i;
		uint32_t value;

		memcpy(&value, host + off[i], sizeof(value));
		sum += value;
		for (int k = 0; k < 8; k++) {
			a++, b++, c++, d++;
			__asm__ volatile("" : "+r"(a), "+r"(b), "+r"(c), "+r"(d));
		}
	}
	return sum;
}

static volatile uint32_t chase_zero = 0;

/* The raw baseline of the many-region layout: a perfect direct-mapped
 * translation (region = offset / region size) into the regions' host
 * pointers. */
__attribute__((noinline)) static uint64_t read_raw_paged(uint8_t *const *hosts, unsigned shift,
							 const uint32_t *off, size_t n)
{
	uint64_t sum = 0;
	uint32_t mask = (uint32_t)((1u << shift) - 1);

	for (size_t i = 0; i < n; i++) {
		uint32_t value;

		memcpy(&value, hosts[off[i] >> shift] + (off[i] & mask), sizeof(value));
		sum += value;
	}
	return sum;
}

/* Writes store the value already there, so the memory keeps its pattern
 * and later read sums stay checkable. */
__attribute__((noinline)) static void write_lib(squib_mem_t *mem, uint64_t base,
						const uint32_t *off, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		squib_status_t status =
		    squib_mem_write_u32_le(mem, SQUIB_GPA(base + off[i]), pattern(off[i]));

		if (status != SQUIB_OK)
			lib_failed(status, "squib_mem_write_u32_le", base + off[i]);
	}
}

__attribute__((noinline)) static void write_raw(uint8_t *host, const uint32_t *off, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint32_t value = pattern(off[i]);

		memcpy(host + off[i], &value, sizeof(value));
	}
}

__attribute__((noinline)) static uint64_t block_lib(const squib_mem_t *mem, uint64_t base,
						    const uint32_t *off, size_t n, uint8_t *buf,
						    size_t len)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < n; i++) {
		squib_status_t status = squib_mem_read(mem, SQUIB_GPA(base + off[i]), buf, len);

		if (status != SQUIB_OK)
			lib_failed(status, "squib_mem_read", base + off[i]);
		sum += (uint64_t)buf[0] + buf[len - 1];
	}
	return sum;
}

__attribute__((noinline)) static uint64_t block_raw(const uint8_t *host, const uint32_t *off,
						    size_t n, uint8_t *buf, size_t len)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < n; i++) {
		memcpy(buf, host + off[i], len);
		sum += (uint64_t)buf[0] + buf[len - 1];
	}
	return sum;
}

/* Read through a volatile so that no clone of block_raw is specialised for
 * a constant length (memcpy must be the same libc call on both sides). */
static volatile size_t block_len_small = 4 * KIB, block_len_large = 64 * KIB;

/* ---- threads ----------------------------------------------------------- */

/* All workers of a measurement start together: each announces it is ready
 * (after an untimed access that registers it with the library), then waits
 * for the go. */
struct start_gate {
	atomic_int ready;
	atomic_bool go;
};

enum worker_kind { WORKER_LIB, WORKER_RAW, WORKER_RAW_PADDED };

struct worker {
	enum worker_kind kind;
	const squib_mem_t *mem;
	uint64_t base;
	const uint8_t *host;
	const uint32_t *off;
	size_t n;
	struct start_gate *gate;
	pthread_t thread;
	struct clock_pair start, end;
	uint64_t sum;
};

static void gate_wait(struct start_gate *gate)
{
	atomic_fetch_add(&gate->ready, 1);
	while (!atomic_load(&gate->go))
		sched_yield();
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	if (w->kind == WORKER_LIB)
		w->sum = read_lib(w->mem, w->base, w->off, 1);
	gate_wait(w->gate);
	w->start = clock_now();
	if (w->kind == WORKER_LIB)
		w->sum = read_lib(w->mem, w->base, w->off, w->n);
	else if (w->kind == WORKER_RAW_PADDED)
		w->sum = read_raw_padded(w->host, w->off, w->n);
	else
		w->sum = read_raw(w->host, w->off, w->n);
	w->end = clock_now();
	return NULL;
}

static void thread_start(pthread_t *thread, void *(*fn)(void *), void *arg)
{
	int err = pthread_create(thread, NULL, fn, arg);

	if (err) {
		fprintf(stderr, "squib-bench: pthread_create: %s\n", strerror(err));
		exit(EXIT_FAILURE);
	}
}

static void gate_open(struct start_gate *gate, int workers)
{
	while (atomic_load(&gate->ready) < workers)
		sched_yield();
	atomic_store(&gate->go, true);
}

/* Runs `count` workers at once, each over its own n offsets (worker k
 * starts at off + k * n); returns the wall time from the first start to
 * the last end in ns per access (all threads' accesses counted) with the
 * workers' mean on-CPU fraction, and adds the workers' sums into *sum. */
static struct sample run_workers(enum worker_kind kind, const squib_mem_t *mem, uint64_t base,
				 const uint8_t *host, const uint32_t *off, size_t n, int count,
				 uint64_t *sum)
{
	struct start_gate gate;
	struct worker workers[2];
	double first = 0, last = 0, cpu = 0;
	struct sample result;

	atomic_init(&gate.ready, 0);
	atomic_init(&gate.go, false);
	for (int k = 0; k < count; k++) {
		workers[k] = (struct worker){.kind = kind,
					     .mem = mem,
					     .base = base,
					     .host = host,
					     .off = off + (size_t)k * n,
					     .n = n,
					     .gate = &gate};
		thread_start(&workers[k].thread, worker_main, &workers[k]);
	}
	gate_open(&gate, count);
	*sum = 0;
	for (int k = 0; k < count; k++) {
		pthread_join(workers[k].thread, NULL);
		if (k == 0 || workers[k].start.wall < first)
			first = workers[k].start.wall;
		if (k == 0 || workers[k].end.wall > last)
			last = workers[k].end.wall;
		cpu += workers[k].end.cpu - workers[k].start.cpu;
		*sum += workers[k].sum;
	}
	result.ns = (last - first) / ((double)n * count);
	result.oncpu = last > first ? cpu / ((last - first) * count) : 1;
	return result;
}

/* Adds and removes one region far from the readers' addresses until told
 * to stop. Every library failure ends the run. */
struct churn {
	squib_mem_t *mem;
	uint64_t pace_ns; /* 0: back to back; else one add+remove pair per pace_ns */
	atomic_bool stop;
	atomic_bool started;
	uint64_t cycles;
	double start_ns, end_ns;
};

static void *churn_main(void *arg)
{
	struct churn *c = arg;
	squib_range_t range;

	lib_check(squib_range_init(&range, SQUIB_GPA(CHURN_BASE), CHURN_SIZE), "squib_range_init",
		  CHURN_BASE);
	c->start_ns = now_ns();
	while (!atomic_load_explicit(&c->stop, memory_order_relaxed)) {
		lib_check(squib_mem_add_region(c->mem, range, CHURN_SLOT, SQUIB_PROT_RW),
			  "squib_mem_add_region", CHURN_BASE);
		lib_check(squib_mem_remove_region(c->mem, CHURN_SLOT), "squib_mem_remove_region",
			  CHURN_BASE);
		c->cycles++;
		atomic_store_explicit(&c->started, true, memory_order_relaxed);
		if (c->pace_ns) {
			uint64_t due = (uint64_t)c->start_ns + c->cycles * c->pace_ns;
			struct timespec ts = {(time_t)(due / 1000000000u),
					      (long)(due % 1000000000u)};

			while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
				;
		}
	}
	c->end_ns = now_ns();
	return NULL;
}

/* ---- results ----------------------------------------------------------- */

enum goal { GOAL_NONE, GOAL_AT_MOST, GOAL_AT_LEAST };

struct result {
	const char *name;  /* short machine name */
	const char *label; /* table label */
	const char *lib_label, *base_label;
	struct figure lib, base; /* ns per op */
	/* ratio = lib/base ("time ratio") or base/lib ("throughput ratio") */
	bool throughput;
	enum goal goal;
	double target;
	const char *note;
};

#define MAX_RESULTS 24
static struct result results[MAX_RESULTS];
static int result_count;

static double ratio_of(const struct result *r)
{
	return r->throughput ? r->base.best / r->lib.best : r->lib.best / r->base.best;
}

static const char *verdict_of(const struct result *r)
{
	double ratio = ratio_of(r);

	switch (r->goal) {
	case GOAL_AT_MOST:
		return ratio <= r->target ? "PASS" : "MISS";
	case GOAL_AT_LEAST:
		return ratio >= r->target ? "PASS" : "MISS";
	case GOAL_NONE:
		break;
	}
	return "info";
}

static void add_result(struct result r)
{
	if (result_count == MAX_RESULTS)
		abort();
	results[result_count++] = r;
	fprintf(stderr,
		"  %-24s lib %8.2f ns/op (median %8.2f, on-CPU %3.0f%%)"
		"  base %8.2f (median %8.2f, on-CPU %3.0f%%)  ratio %.3f\n",
		r.name, r.lib.best, r.lib.median, 100 * r.lib.oncpu, r.base.best, r.base.median,
		100 * r.base.oncpu, ratio_of(&r));
}

/* Alternates the two measurements `reps` times; samples are ns per op. */
struct pair {
	struct sample *lib, *base;
};

static struct pair pair_new(int reps)
{
	struct pair p = {xmalloc((size_t)reps * sizeof(struct sample)),
			 xmalloc((size_t)reps * sizeof(struct sample))};
	return p;
}

static void pair_free(struct pair p)
{
	free(p.lib);
	free(p.base);
}

/* ---- setup ------------------------------------------------------------- */

static uint8_t *host_of(const squib_mem_t *mem, uint64_t addr)
{
	squib_region_info_t info = SQUIB_REGION_INFO_INIT;

	lib_check(squib_mem_find_region(mem, SQUIB_GPA(addr), &info), "squib_mem_find_region",
		  addr);
	return (uint8_t *)info.host_addr + (addr - info.range.base.raw);
}

static squib_mem_t *mem_one_region(const struct config *cfg, uint8_t **host)
{
	squib_mem_t *mem = NULL;
	squib_range_t range;

	lib_check(squib_mem_new(&mem), "squib_mem_new", 0);
	lib_check(squib_range_init(&range, SQUIB_GPA(MAIN_BASE), cfg->span), "squib_range_init",
		  MAIN_BASE);
	lib_check(squib_mem_add_region(mem, range, MAIN_SLOT, SQUIB_PROT_RW),
		  "squib_mem_add_region", MAIN_BASE);
	*host = host_of(mem, MAIN_BASE);
	fill_pattern(*host, 0, cfg->span); /* touches every page */
	return mem;
}

/* The same span cut into many_count equal regions, back to back. */
static squib_mem_t *mem_many_regions(const struct config *cfg, uint8_t **hosts)
{
	squib_mem_t *mem = NULL;
	uint64_t size = cfg->span / cfg->many_count;

	lib_check(squib_mem_new(&mem), "squib_mem_new", 0);
	for (size_t i = 0; i < cfg->many_count; i++) {
		uint64_t base = MAIN_BASE + i * size;
		squib_range_t range;

		lib_check(squib_range_init(&range, SQUIB_GPA(base), size), "squib_range_init",
			  base);
		lib_check(squib_mem_add_region(mem, range, MANY_SLOT0 + (uint32_t)i, SQUIB_PROT_RW),
			  "squib_mem_add_region", base);
		hosts[i] = host_of(mem, base);
		fill_pattern(hosts[i], i * size, size);
	}
	if (squib_mem_region_count(mem) != cfg->many_count) {
		fprintf(stderr, "squib-bench: region count %zu, expected %zu\n",
			squib_mem_region_count(mem), cfg->many_count);
		exit(EXIT_LIBRARY_FAILED);
	}
	return mem;
}

static unsigned log2_of(uint64_t x)
{
	unsigned n = 0;

	while ((x >> n) > 1)
		n++;
	return n;
}

/* ---- the measurements -------------------------------------------------- */

struct fixture {
	const struct config *cfg;
	squib_mem_t *one, *many;
	uint8_t *host;	   /* host address of MAIN_BASE in `one` */
	uint8_t **hosts;   /* host address of each region of `many` */
	uint32_t *off;	   /* 2 * reads random u32 offsets in the span */
	uint32_t *hot_off; /* 2 * reads random u32 offsets in the first hot_span bytes */
};

/* One timed loop: which function, over which memory and addresses. */
enum job_kind {
	JOB_READ_LIB,
	JOB_READ_RAW,
	JOB_READ_RAW_PADDED,
	JOB_READ_RAW_PAGED,
	JOB_WRITE_LIB,
	JOB_WRITE_RAW,
	JOB_BLOCK_LIB,
	JOB_BLOCK_RAW,
	JOB_CHASE_LIB,
	JOB_CHASE_RAW,
	JOB_HOST_RANGE_LIB,
	JOB_TRANSLATE_LIB,
	JOB_TRANSLATE2_LIB,
	JOB_READ2_LIB,
};

struct job {
	enum job_kind kind;
	squib_mem_t *mem;
	uint8_t *host;	       /* JOB_*_RAW */
	uint8_t *const *hosts; /* JOB_READ_RAW_PAGED */
	unsigned shift;	       /* JOB_READ_RAW_PAGED */
	const uint32_t *off;
	size_t n;
	uint8_t *buf; /* JOB_BLOCK_* */
	size_t len;   /* JOB_BLOCK_* */
};

/* Runs a job once; returns its checksum (0 for writes). */
static uint64_t job_run(const struct job *j)
{
	switch (j->kind) {
	case JOB_READ_LIB:
		return read_lib(j->mem, MAIN_BASE, j->off, j->n);
	case JOB_READ_RAW:
		return read_raw(j->host, j->off, j->n);
	case JOB_READ_RAW_PADDED:
		return read_raw_padded(j->host, j->off, j->n);
	case JOB_READ_RAW_PAGED:
		return read_raw_paged(j->hosts, j->shift, j->off, j->n);
	case JOB_WRITE_LIB:
		write_lib(j->mem, MAIN_BASE, j->off, j->n);
		return 0;
	case JOB_WRITE_RAW:
		write_raw(j->host, j->off, j->n);
		return 0;
	case JOB_BLOCK_LIB:
		return block_lib(j->mem, MAIN_BASE, j->off, j->n, j->buf, j->len);
	case JOB_BLOCK_RAW:
		return block_raw(j->host, j->off, j->n, j->buf, j->len);
	case JOB_CHASE_LIB:
		return chase_lib(j->mem, MAIN_BASE, j->off, j->n, chase_zero);
	case JOB_CHASE_RAW:
		return chase_raw(j->host, j->off, j->n, chase_zero);
	case JOB_HOST_RANGE_LIB:
		return host_range_lib(j->mem, MAIN_BASE, j->off, j->n);
	case JOB_TRANSLATE_LIB:
		return translate_lib(j->mem, MAIN_BASE, j->off, j->n);
	case JOB_TRANSLATE2_LIB:
		return translate2_lib(j->mem, MAIN_BASE, j->off, j->n);
	case JOB_READ2_LIB:
		return read2_lib(j->mem, MAIN_BASE, j->off, j->n);
	}
	abort();
}

/*
 * Measures jobs[0] (the library), jobs[1] (its baseline) and any further
 * jobs (controls): one untimed pass of each first (caches, TLBs, the
 * thread's reader record), then `reps` timed passes of each, the jobs
 * taking turns in an order that rotates every pass, so that none always
 * inherits another's cache and TLB state and all see the same state of the
 * machine. Every job must produce the baseline's checksum.
 */
#define MEASURE_MAX_JOBS 3
static void measure_jobs(const struct config *cfg, const char *what, const struct job *const *jobs,
			 int count, struct figure *figs)
{
	struct sample *samples[MEASURE_MAX_JOBS];
	uint64_t want = job_run(jobs[1]);

	if (count > MEASURE_MAX_JOBS)
		abort();
	for (int k = 0; k < count; k++) {
		uint64_t sum = job_run(jobs[k]);

		if (sum != want)
			wrong_data(what, sum, want);
		samples[k] = xmalloc((size_t)cfg->reps * sizeof(struct sample));
	}
	for (int r = 0; r < cfg->reps; r++) {
		for (int turn = 0; turn < count; turn++) {
			int k = (r + turn) % count;
			struct clock_pair t0 = clock_now();
			uint64_t sum = job_run(jobs[k]);
			struct clock_pair t1 = clock_now();

			if (sum != want)
				wrong_data(what, sum, want);
			samples[k][r] = sample_between(t0, t1, jobs[k]->n);
		}
	}
	for (int k = 0; k < count; k++) {
		figs[k] = stat_of(samples[k], cfg->reps);
		free(samples[k]);
	}
}

static void measure_pair(const struct config *cfg, const struct job *lib, const struct job *base,
			 const char *what, struct figure *lib_fig, struct figure *base_fig)
{
	const struct job *jobs[] = {lib, base};
	struct figure figs[2];

	measure_jobs(cfg, what, jobs, 2, figs);
	*lib_fig = figs[0];
	*base_fig = figs[1];
}

static void bench_u32(const struct fixture *fx)
{
	const struct config *cfg = fx->cfg;
	size_t n = cfg->reads;
	struct job read_l = {.kind = JOB_READ_LIB, .mem = fx->one, .off = fx->off, .n = n};
	struct job read_r = {.kind = JOB_READ_RAW, .host = fx->host, .off = fx->off, .n = n};
	struct job padded_r = {
	    .kind = JOB_READ_RAW_PADDED, .host = fx->host, .off = fx->off, .n = n};
	struct job write_l = {.kind = JOB_WRITE_LIB, .mem = fx->one, .off = fx->off, .n = n};
	struct job write_r = {.kind = JOB_WRITE_RAW, .host = fx->host, .off = fx->off, .n = n};
	struct job hot_l = {.kind = JOB_READ_LIB, .mem = fx->one, .off = fx->hot_off, .n = n};
	struct job hot_r = {.kind = JOB_READ_RAW, .host = fx->host, .off = fx->hot_off, .n = n};
	struct result rd = {.name = "u32_read_random",
			    .label = "u32 read, random, 1 region",
			    .lib_label = "squib_mem_read_u32_le",
			    .base_label = "raw load via host_addr",
			    .goal = GOAL_AT_MOST,
			    .target = 3.0};
	struct result core = {.name = "core_check",
			      .label = "raw load + 32 adds (core check)",
			      .lib_label = "raw load plus 32 additions, no library",
			      .base_label = "raw load via host_addr",
			      .goal = GOAL_NONE,
			      .note =
				  "a library-free loop of a call's length: when it and the "
				  "u32 read rise together, the core was short of reorder window"};
	struct result wr = {.name = "u32_write_random",
			    .label = "u32 write, random, 1 region",
			    .lib_label = "squib_mem_write_u32_le",
			    .base_label = "raw store via host_addr",
			    .goal = GOAL_NONE};
	struct result hot = {.name = "u32_read_hot",
			     .label = "u32 read, cache-hot (call cost)",
			     .lib_label = "squib_mem_read_u32_le",
			     .base_label = "raw load via host_addr",
			     .goal = GOAL_NONE,
			     .note = "addresses within the first hot_span bytes"};
	const struct job *read_jobs[] = {&read_l, &read_r, &padded_r};
	struct figure read_figs[3];

	fprintf(stderr, "u32 accesses, %zu random addresses in %" PRIu64 " MiB:\n", n,
		cfg->span / MIB);
	measure_jobs(cfg, "u32 read", read_jobs, 3, read_figs);
	rd.lib = read_figs[0];
	rd.base = core.base = read_figs[1];
	core.lib = read_figs[2];
	add_result(rd);
	add_result(core);
	measure_pair(cfg, &write_l, &write_r, "u32 write", &wr.lib, &wr.base);
	add_result(wr);
	measure_pair(cfg, &hot_l, &hot_r, "u32 read (hot)", &hot.lib, &hot.base);
	add_result(hot);
}

/* Device-side translation of a u32, beside the u32 read it replaces. */
static void bench_host_translation(const struct fixture *fx)
{
	const struct config *cfg = fx->cfg;
	size_t n = cfg->reads;
	struct job range_l = {.kind = JOB_HOST_RANGE_LIB, .mem = fx->one, .off = fx->off, .n = n};
	struct job translate_l = {
	    .kind = JOB_TRANSLATE_LIB, .mem = fx->one, .off = fx->off, .n = n};
	struct job read_l = {.kind = JOB_READ_LIB, .mem = fx->one, .off = fx->off, .n = n};
	struct result range = {.name = "host_range_u32",
			       .label = "host_range + u32 load, random",
			       .lib_label = "squib_mem_host_range, then a load",
			       .base_label = "squib_mem_read_u32_le",
			       .goal = GOAL_AT_MOST,
			       .target = 1.2};
	struct result translate = {.name = "translate_u32",
				   .label = "translate (1 iovec) + u32 load, random",
				   .lib_label = "squib_mem_translate, then a load",
				   .base_label = "squib_mem_read_u32_le",
				   .goal = GOAL_NONE};

	/* The same at cache-hot addresses: each call's own cost, without the
	 * memory-level parallelism that dominates (and blurs) the random rows. */
	struct job range_h = {
	    .kind = JOB_HOST_RANGE_LIB, .mem = fx->one, .off = fx->hot_off, .n = n};
	struct job translate_h = {
	    .kind = JOB_TRANSLATE_LIB, .mem = fx->one, .off = fx->hot_off, .n = n};
	struct job read_h = {.kind = JOB_READ_LIB, .mem = fx->one, .off = fx->hot_off, .n = n};
	struct result range_hot = {.name = "host_range_u32_hot",
				   .label = "host_range + u32 load, cache-hot",
				   .lib_label = "squib_mem_host_range, then a load",
				   .base_label = "squib_mem_read_u32_le",
				   .goal = GOAL_NONE,
				   .note = "the calls' own cost"};
	struct result translate_hot = {.name = "translate_u32_hot",
				       .label = "translate (1 iovec) + u32, cache-hot",
				       .lib_label = "squib_mem_translate, then a load",
				       .base_label = "squib_mem_read_u32_le",
				       .goal = GOAL_NONE,
				       .note = "the calls' own cost"};

	fprintf(stderr, "device translation of %zu random u32 addresses:\n", n);
	measure_pair(cfg, &range_l, &read_l, "host_range", &range.lib, &range.base);
	add_result(range);
	measure_pair(cfg, &translate_l, &read_l, "translate", &translate.lib, &translate.base);
	add_result(translate);
	measure_pair(cfg, &range_h, &read_h, "host_range (hot)", &range_hot.lib, &range_hot.base);
	add_result(range_hot);
	measure_pair(cfg, &translate_h, &read_h, "translate (hot)", &translate_hot.lib,
		     &translate_hot.base);
	add_result(translate_hot);
}

/*
 * translate over two regions: a u32 across the boundary between two of the
 * many-region guest's GPA-adjacent regions (2 bytes in each, a random
 * boundary each time), beside squib_mem_read_u32_le of the same unaligned
 * addresses in the one-region guest, whose memory holds the same bytes.
 * Only the 4095 boundaries are touched, so this is cache- and TLB-friendlier
 * than the random rows above: compare it with its own baseline only.
 */
static void bench_translate_two_regions(const struct fixture *fx)
{
	const struct config *cfg = fx->cfg;
	size_t n = cfg->reads;
	uint64_t size = cfg->span / cfg->many_count;
	uint32_t *off = random_offsets(n, cfg->span - size, size, 0x7472616e736c3202u);
	struct job translate_l = {.kind = JOB_TRANSLATE2_LIB, .mem = fx->many, .off = off, .n = n};
	struct job read_l = {.kind = JOB_READ2_LIB, .mem = fx->one, .off = off, .n = n};
	struct result res = {.name = "translate_u32_2_regions",
			     .label = "translate over 2 regions + u32",
			     .lib_label = "squib_mem_translate over a boundary, 2 iovecs",
			     .base_label = "squib_mem_read_u32_le, 1 region, same addresses",
			     .goal = GOAL_NONE,
			     .note = "only region boundaries: see the source"};

	for (size_t i = 0; i < n; i++)
		off[i] = (uint32_t)(off[i] + size - 2); /* 2 bytes before a boundary */
	fprintf(stderr, "translate of %zu u32 over a boundary of %" PRIu64 " KiB regions:\n", n,
		size / KIB);
	measure_pair(cfg, &translate_l, &read_l, "translate, 2 regions", &res.lib, &res.base);
	add_result(res);
	free(off);
}

static void bench_block(const struct fixture *fx, size_t len, const char *name, const char *label,
			enum goal goal)
{
	const struct config *cfg = fx->cfg;
	size_t n = (size_t)(cfg->span / len);
	uint32_t *off = random_offsets(n, cfg->span, len, 0x6b6c6f636b000000u ^ len);
	uint8_t *buf = xmalloc(len);
	struct job lib = {
	    .kind = JOB_BLOCK_LIB, .mem = fx->one, .off = off, .n = n, .buf = buf, .len = len};
	struct job raw = {
	    .kind = JOB_BLOCK_RAW, .host = fx->host, .off = off, .n = n, .buf = buf, .len = len};
	struct result res = {.name = name,
			     .label = label,
			     .lib_label = "squib_mem_read",
			     .base_label = "memcpy from host_addr",
			     .throughput = true,
			     .goal = goal,
			     .target = 0.95};

	fprintf(stderr, "%zu-byte reads, %zu random aligned blocks in %" PRIu64 " MiB:\n", len, n,
		cfg->span / MIB);
	measure_pair(cfg, &lib, &raw, label, &res.lib, &res.base);
	add_result(res);
	free(buf);
	free(off);
}

static void bench_many_regions(const struct fixture *fx)
{
	const struct config *cfg = fx->cfg;
	size_t n = cfg->reads;
	struct job many = {.kind = JOB_READ_LIB, .mem = fx->many, .off = fx->off, .n = n};
	struct job one = {.kind = JOB_READ_LIB, .mem = fx->one, .off = fx->off, .n = n};
	struct job paged = {.kind = JOB_READ_RAW_PAGED,
			    .hosts = fx->hosts,
			    .shift = log2_of(cfg->span / cfg->many_count),
			    .off = fx->off,
			    .n = n};
	struct job raw = {.kind = JOB_READ_RAW, .host = fx->host, .off = fx->off, .n = n};
	struct result lib_res = {.name = "u32_read_4096_regions",
				 .label = "u32 read, 4096 regions vs 1",
				 .lib_label = "squib_mem_read_u32_le, many regions",
				 .base_label = "squib_mem_read_u32_le, 1 region",
				 .goal = GOAL_AT_MOST,
				 .target = 1.3};
	struct result raw_res = {.name = "raw_read_4096_regions",
				 .label = "raw load, 4096-region memory",
				 .lib_label = "raw load, host pointer array",
				 .base_label = "raw load, 1 mapping",
				 .goal = GOAL_NONE,
				 .note = "memory-system difference of the two layouts"};

	fprintf(stderr, "u32 reads, %zu regions of %" PRIu64 " KiB vs 1 region:\n", cfg->many_count,
		cfg->span / cfg->many_count / KIB);
	measure_pair(cfg, &many, &one, "u32 read, many regions", &lib_res.lib, &lib_res.base);
	add_result(lib_res);
	measure_pair(cfg, &paged, &raw, "raw read, many regions", &raw_res.lib, &raw_res.base);
	add_result(raw_res);
}

/* Latency rather than throughput: the same addresses as dependent chains.
 * No target; it shows how much of the random-read ratios comes from the
 * library's extra latency and how much from lost overlap between misses. */
static void bench_chain(const struct fixture *fx)
{
	const struct config *cfg = fx->cfg;
	size_t n = cfg->reads / 4;
	struct job lib = {.kind = JOB_CHASE_LIB, .mem = fx->one, .off = fx->off, .n = n};
	struct job raw = {.kind = JOB_CHASE_RAW, .host = fx->host, .off = fx->off, .n = n};
	struct job many = {.kind = JOB_CHASE_LIB, .mem = fx->many, .off = fx->off, .n = n};
	struct result one_res = {.name = "u32_chain",
				 .label = "u32 read, dependent chain",
				 .lib_label = "squib_mem_read_u32_le",
				 .base_label = "raw load via host_addr",
				 .goal = GOAL_NONE,
				 .note = "latency-bound: misses cannot overlap"};
	struct result many_res = {.name = "u32_chain_4096_regions",
				  .label = "u32 chain, 4096 regions vs 1",
				  .lib_label = "squib_mem_read_u32_le, many regions",
				  .base_label = "squib_mem_read_u32_le, 1 region",
				  .goal = GOAL_NONE,
				  .note = "latency-bound"};

	fprintf(stderr, "u32 reads as a dependent chain, %zu addresses:\n", n);
	measure_pair(cfg, &lib, &raw, "u32 chain", &one_res.lib, &one_res.base);
	add_result(one_res);
	measure_pair(cfg, &many, &lib, "u32 chain, many regions", &many_res.lib, &many_res.base);
	add_result(many_res);
}

static void bench_threads(const struct fixture *fx)
{
	const struct config *cfg = fx->cfg;
	size_t n = cfg->reads;
	struct pair lib = pair_new(cfg->reps), raw = pair_new(cfg->reps), hot = pair_new(cfg->reps);
	struct pair padded = pair_new(cfg->reps);

	fprintf(stderr, "u32 reads, 2 threads vs 1 (%zu reads per thread):\n", n);
	for (int r = 0; r < cfg->reps; r++) {
		uint64_t sum1, sum2, raw1, raw2, hot1, hot2, padded1, padded2;

		/* 1 thread first on even passes, 2 threads first on odd ones. */
		for (int k = 0; k < 2; k++) {
			if ((k + r) % 2 == 0) {
				hot.base[r] = run_workers(WORKER_LIB, fx->one, MAIN_BASE, NULL,
							  fx->hot_off, n, 1, &hot1);
				lib.base[r] = run_workers(WORKER_LIB, fx->one, MAIN_BASE, NULL,
							  fx->off, n, 1, &sum1);
				raw.base[r] = run_workers(WORKER_RAW, NULL, 0, fx->host, fx->off, n,
							  1, &raw1);
				padded.base[r] = run_workers(WORKER_RAW_PADDED, NULL, 0, fx->host,
							     fx->off, n, 1, &padded1);
			} else {
				hot.lib[r] = run_workers(WORKER_LIB, fx->one, MAIN_BASE, NULL,
							 fx->hot_off, n, 2, &hot2);
				lib.lib[r] = run_workers(WORKER_LIB, fx->one, MAIN_BASE, NULL,
							 fx->off, n, 2, &sum2);
				raw.lib[r] = run_workers(WORKER_RAW, NULL, 0, fx->host, fx->off, n,
							 2, &raw2);
				padded.lib[r] = run_workers(WORKER_RAW_PADDED, NULL, 0, fx->host,
							    fx->off, n, 2, &padded2);
			}
		}
		if (sum1 != raw1 || sum2 != raw2)
			wrong_data("threaded u32 read", sum1 != raw1 ? sum1 : sum2,
				   sum1 != raw1 ? raw1 : raw2);
		if (padded1 != raw1 || padded2 != raw2)
			wrong_data("threaded core check", padded1 != raw1 ? padded1 : padded2,
				   padded1 != raw1 ? raw1 : raw2);
	}
	add_result((struct result){.name = "u32_read_2_threads",
				   .label = "u32 read, 2 threads vs 1",
				   .lib_label = "2 threads, aggregate ns/op",
				   .base_label = "1 thread",
				   .lib = stat_of(lib.lib, cfg->reps),
				   .base = stat_of(lib.base, cfg->reps),
				   .throughput = true,
				   .goal = GOAL_AT_LEAST,
				   .target = 1.8});
	add_result((struct result){.name = "raw_read_2_threads",
				   .label = "raw load, 2 threads vs 1",
				   .lib_label = "2 threads, aggregate ns/op",
				   .base_label = "1 thread",
				   .lib = stat_of(raw.lib, cfg->reps),
				   .base = stat_of(raw.base, cfg->reps),
				   .throughput = true,
				   .goal = GOAL_NONE,
				   .note = "what the machine itself scales to"});
	add_result((struct result){.name = "core_check_2_threads",
				   .label = "core check, 2 threads vs 1",
				   .lib_label = "2 threads, aggregate ns/op",
				   .base_label = "1 thread",
				   .lib = stat_of(padded.lib, cfg->reps),
				   .base = stat_of(padded.base, cfg->reps),
				   .throughput = true,
				   .goal = GOAL_NONE,
				   .note = "a library-free loop of a call's length: what the cores "
					   "scale a call-bound loop to"});
	add_result(
	    (struct result){.name = "u32_read_hot_2_threads",
			    .label = "u32 read hot, 2 threads vs 1",
			    .lib_label = "2 threads, aggregate ns/op",
			    .base_label = "1 thread",
			    .lib = stat_of(hot.lib, cfg->reps),
			    .base = stat_of(hot.base, cfg->reps),
			    .throughput = true,
			    .goal = GOAL_NONE,
			    .note = "cache-hot: the library's own work, no memory bottleneck"});
	pair_free(lib);
	pair_free(raw);
	pair_free(hot);
	pair_free(padded);
}

static double churn_rate_median, churn_rate_paced;

static void bench_churn(const struct fixture *fx, uint64_t pace_ns, struct result res,
			double *rate_median)
{
	const struct config *cfg = fx->cfg;
	size_t n = cfg->reads;
	struct pair p = pair_new(cfg->reps);
	struct sample *rate = xmalloc((size_t)cfg->reps * sizeof(*rate));

	fprintf(stderr,
		"u32 reads while a thread adds/removes a region at 0x%016" PRIx64
		" (%s, one pair per %" PRIu64 " ns):\n",
		CHURN_BASE, pace_ns ? "paced" : "back to back", pace_ns);
	for (int r = 0; r < cfg->reps; r++) {
		struct churn churn = {.mem = fx->one, .pace_ns = pace_ns};
		pthread_t thread;
		uint64_t calm_sum, busy_sum;

		/* Calm first on even passes, under churn first on odd ones. */
		if (r % 2 == 0)
			p.base[r] = run_workers(WORKER_LIB, fx->one, MAIN_BASE, NULL, fx->off, n, 1,
						&calm_sum);
		atomic_init(&churn.stop, false);
		atomic_init(&churn.started, false);
		thread_start(&thread, churn_main, &churn);
		while (!atomic_load_explicit(&churn.started, memory_order_relaxed))
			sched_yield();
		p.lib[r] =
		    run_workers(WORKER_LIB, fx->one, MAIN_BASE, NULL, fx->off, n, 1, &busy_sum);
		atomic_store(&churn.stop, true);
		pthread_join(thread, NULL);
		if (r % 2 == 1)
			p.base[r] = run_workers(WORKER_LIB, fx->one, MAIN_BASE, NULL, fx->off, n, 1,
						&calm_sum);
		if (calm_sum != busy_sum)
			wrong_data("u32 read under churn", busy_sum, calm_sum);
		rate[r].ns = (double)churn.cycles / ((churn.end_ns - churn.start_ns) / 1e9);
		rate[r].oncpu = 1;
	}
	if (squib_mem_region_count(fx->one) != 1) {
		fprintf(stderr, "squib-bench: churn left %zu regions\n",
			squib_mem_region_count(fx->one));
		exit(EXIT_LIBRARY_FAILED);
	}
	*rate_median = stat_of(rate, cfg->reps).median;
	res.lib = stat_of(p.lib, cfg->reps);
	res.base = stat_of(p.base, cfg->reps);
	res.throughput = true;
	add_result(res);
	fprintf(stderr, "  churn: median %.0f add+remove pairs/s\n", *rate_median);
	free(rate);
	pair_free(p);
}

/* ---- output ------------------------------------------------------------ */

static void target_text(const struct result *r, char *buf, size_t len)
{
	const char *kind = r->throughput ? "thr" : "time";

	switch (r->goal) {
	case GOAL_AT_MOST:
		snprintf(buf, len, "<= %.2f %s", r->target, kind);
		return;
	case GOAL_AT_LEAST:
		snprintf(buf, len, ">= %.2f %s", r->target, kind);
		return;
	case GOAL_NONE:
		break;
	}
	snprintf(buf, len, "- (%s)", kind);
}

static void print_table(const struct config *cfg)
{
	printf("\nsquib-bench %s (libsquibcore %s), %s run, best of %d passes per figure\n",
	       SQUIB_CORE_VERSION_STRING, squib_core_version(), cfg->quick ? "quick" : "full",
	       cfg->reps);
	printf("ratio: time = library/baseline (lower is better); "
	       "thr = baseline/library (throughput, higher is better)\n\n");
	printf("%-32s %12s %12s %8s %14s  %-6s %s\n", "metric", "library ns", "baseline ns",
	       "ratio", "target", "result", "on-CPU");
	for (int i = 0; i < result_count; i++) {
		const struct result *r = &results[i];
		char target[32];

		target_text(r, target, sizeof(target));
		printf("%-32s %12.2f %12.2f %8.3f %14s  %-6s %3.0f%%\n", r->label, r->lib.best,
		       r->base.best, ratio_of(r), target, verdict_of(r),
		       100 * (r->lib.oncpu < r->base.oncpu ? r->lib.oncpu : r->base.oncpu));
	}
	printf("\non-CPU: the lower of the two best passes' CPU time / wall time (per thread);\n"
	       "well below 100%% means another process took the CPU during the pass.\n");
	printf("core check: a library-free loop as long as a call, in the same passes; when\n"
	       "it rises with the u32 read (about 3x on a calm core here, 4x with a busy\n"
	       "SMT sibling on the host), every call-bound ratio of the run is inflated\n"
	       "(docs/PERFORMANCE.md).\n");
	printf("churn thread: %.0f add+remove pairs/s back to back, %.0f paced (medians)\n",
	       churn_rate_median, churn_rate_paced);
}

static void print_json(const struct config *cfg)
{
	printf("{\"version\":\"%s\",\"mode\":\"%s\",\"reps\":%d,\"statistic\":\"best\","
	       "\"span_bytes\":%" PRIu64 ",\"regions_many\":%zu,\"reads_per_pass\":%zu,"
	       "\"churn_pairs_per_s\":%.0f,\"paced_churn_pairs_per_s\":%.0f,\"metrics\":[",
	       squib_core_version(), cfg->quick ? "quick" : "full", cfg->reps, cfg->span,
	       cfg->many_count, cfg->reads, churn_rate_median, churn_rate_paced);
	for (int i = 0; i < result_count; i++) {
		const struct result *r = &results[i];
		char target[32];

		target_text(r, target, sizeof(target));
		printf("%s{\"name\":\"%s\",\"library\":\"%s\",\"baseline\":\"%s\","
		       "\"lib_ns\":%.3f,\"lib_ns_median\":%.3f,\"base_ns\":%.3f,"
		       "\"base_ns_median\":%.3f,\"lib_oncpu\":%.3f,\"base_oncpu\":%.3f,"
		       "\"ratio\":%.4f,\"ratio_kind\":\"%s\","
		       "\"target\":\"%s\",\"result\":\"%s\"}",
		       i ? "," : "", r->name, r->lib_label, r->base_label, r->lib.best,
		       r->lib.median, r->base.best, r->base.median, r->lib.oncpu, r->base.oncpu,
		       ratio_of(r), r->throughput ? "throughput" : "time", target, verdict_of(r));
	}
	printf("]}\n");
}

/* ---- main -------------------------------------------------------------- */

static void usage(FILE *to)
{
	fprintf(to, "usage: squib-bench [--quick] [--json] [--reps N]\n"
		    "  --quick   smoke run: 32 MiB, few passes, a few seconds\n"
		    "  --json    print the results as one JSON document on stdout\n"
		    "  --reps N  passes per measurement (default 7, quick 3); best is reported\n");
}

static void parse_args(int argc, char **argv, struct config *cfg)
{
	int reps = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--quick") == 0) {
			cfg->quick = true;
		} else if (strcmp(argv[i], "--json") == 0) {
			cfg->json = true;
		} else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc) {
			char *end;
			long value;

			errno = 0;
			value = strtol(argv[++i], &end, 10);
			if (errno || *end || value < 1 || value > 1000) {
				usage(stderr);
				exit(EXIT_FAILURE);
			}
			reps = (int)value;
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			exit(EXIT_SUCCESS);
		} else {
			usage(stderr);
			exit(EXIT_FAILURE);
		}
	}
	cfg->span = cfg->quick ? 32 * MIB : 256 * MIB;
	cfg->many_count = 4096;
	cfg->reads = cfg->quick ? (size_t)1 << 16 : (size_t)1 << 21;
	cfg->hot_span = 16 * KIB;
	cfg->reps = reps ? reps : cfg->quick ? 3 : 7;
}

int main(int argc, char **argv)
{
	struct config cfg = {0};
	struct fixture fx = {.cfg = &cfg};
	double start = now_ns();

	parse_args(argc, argv, &cfg);
	fprintf(stderr, "squib-bench: setting up %" PRIu64 " MiB twice (1 region, %zu regions)\n",
		cfg.span / MIB, cfg.many_count);
	fx.hosts = xmalloc(cfg.many_count * sizeof(*fx.hosts));
	fx.one = mem_one_region(&cfg, &fx.host);
	fx.many = mem_many_regions(&cfg, fx.hosts);
	fx.off = random_offsets(2 * cfg.reads, cfg.span, 4, 0x9e3779b97f4a7c15u);
	fx.hot_off = random_offsets(2 * cfg.reads, cfg.hot_span, 4, 0x2545f4914f6cdd1du);

	bench_u32(&fx);
	bench_host_translation(&fx);
	bench_translate_two_regions(&fx);
	bench_block(&fx, block_len_small, "read_4k", "4 KiB read vs memcpy", GOAL_NONE);
	bench_block(&fx, block_len_large, "read_64k", "64 KiB read vs memcpy", GOAL_AT_LEAST);
	bench_many_regions(&fx);
	bench_chain(&fx);
	bench_threads(&fx);
	bench_churn(&fx, 0,
		    (struct result){.name = "u32_read_under_churn",
				    .label = "u32 read, add/remove churn",
				    .lib_label = "reads while another thread adds/removes",
				    .base_label = "calm reads",
				    .goal = GOAL_AT_LEAST,
				    .target = 0.8},
		    &churn_rate_median);
	bench_churn(&fx, 1000000,
		    (struct result){.name = "u32_read_under_paced_churn",
				    .label = "u32 read, churn 1000 pairs/s",
				    .lib_label = "reads while another thread adds/removes, paced",
				    .base_label = "calm reads",
				    .goal = GOAL_NONE},
		    &churn_rate_paced);

	if (cfg.json)
		print_json(&cfg);
	else
		print_table(&cfg);
	fprintf(stderr, "squib-bench: done in %.1f s\n", (now_ns() - start) / 1e9);

	squib_mem_free(fx.many);
	squib_mem_free(fx.one);
	free(fx.hot_off);
	free(fx.off);
	free(fx.hosts);
	return EXIT_SUCCESS;
}
