/* SPDX-License-Identifier: MIT */
/*
 * squib-ab: the access path of two builds of libsquibcore, A and B,
 * compared in one process (docs/PERFORMANCE.md, "0.3's write path").
 *
 *   squib-ab [--quick] [--rounds N] LIB_A LIB_B
 *
 * LIB_A and LIB_B are paths of two builds of libsquibcore.so
 * (bench/ab-0.2.sh passes release 0.2.0 as A and this tree as B). Both are
 * loaded with dlopen(RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND) and each
 * function is bound with dlvsym() to the version node it was released in,
 * so each copy keeps its own globals (reader registry, thread records,
 * last error) and the loops call both through the same kind of pointer.
 *
 * The handles (when B has squib_mem_add_region_opts; else A and B only):
 *
 *   A       build A: one anonymous region of 256 MiB at 4 GiB, memory MA
 *   B       build B: the same region, anonymous: memory MB of its own
 *   Bm      build B: the same range as a caller's mapping (host_addr) of MB
 *   Ba      build B: the same range as a caller's mapping of MA
 *   Ba+ROM  Ba and a 4 KiB READONLY region below 4 GiB: its table has a
 *           write index of its own (docs/DESIGN.md, "Where "writable" lives")
 *   Ba+RAM  Ba and a 4 KiB ordinary region there: the same layout, one index
 *
 * Two anonymous mappings of one process need not be equally fast (the
 * host backs guest memory with pages of its own choosing; the page tables
 * of a memory that more handles use stay in the cache more), so every
 * comparison is between handles on the same memory: Ba / A compares the
 * two libraries alone, B / Bm shows that B's access path does not depend
 * on the backing (so Ba stands for an anonymous region of B), and
 * Ba+ROM / Ba+RAM is what a separate write index costs ordinary writes.
 *
 * Measured on each handle: random u32 writes, random 4 KiB writes, random
 * u32 reads; and raw 4-byte stores to MA and MB. A round runs each of
 * these on every handle once, over 4096 addresses (128 blocks), in an
 * order shuffled each round; each job of a round takes its own slice of
 * the fixed-seed address sequence, so that none finds the lines or TLB
 * entries of the one before it. Thousands of rounds of about 0.1 ms per
 * job: the two sides of a ratio run within a millisecond of each other,
 * so the ratio is taken round by round, and its median (with a 95 %
 * confidence interval and its spread) is what is reported. Wall-clock
 * time; a round in which the thread lost the CPU is counted.
 *
 * A report, not a test: exit 0 whatever the figures, 2 if a library call
 * fails, 3 if a read returns, or the memories hold, other data than they
 * should, 1 for a usage or host error.
 */
#define _GNU_SOURCE /* dlvsym, RTLD_DEEPBIND */
#include <dlfcn.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <squib/core.h>

#include "bench_common.h"

#define PROG "squib-ab"

/* RTLD_DEEPBIND makes each copy bind its own squib_* calls first; RTLD_LOCAL
 * alone already does, since neither copy is in the global scope and this
 * program defines no squib_* symbol. The sanitizer runtimes refuse
 * RTLD_DEEPBIND, so a sanitized build goes without. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define AB_DEEPBIND 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define AB_DEEPBIND 0
#endif
#endif
#ifndef AB_DEEPBIND
#define AB_DEEPBIND RTLD_DEEPBIND
#endif

#define MAIN_BASE ((uint64_t)0x100000000) /* 4 GiB */
#define MAIN_SLOT 1u
#define EXTRA_BASE ((uint64_t)0xfff00000) /* 1 MiB below 4 GiB, as firmware */
#define EXTRA_SIZE (4 * KIB)
#define EXTRA_SLOT 2u
#define BLOCK (4 * KIB)
#define NGROUPS 4   /* u32 write, raw store, 4 KiB write, u32 read */
#define MAX_SIDES 6 /* A, B, Bm, Ba, Ba+ROM, Ba+RAM */

/* The functions of one loaded build. */
struct api {
	const char *path;
	char *own_path; /* path, when it was made here */
	void *dl;
	const char *(*core_version)(void);
	const char *(*strerror_fn)(squib_status_t);
	const char *(*last_error)(void);
	squib_status_t (*mem_new)(squib_mem_t **);
	void (*mem_free)(squib_mem_t *);
	squib_status_t (*range_init)(squib_range_t *, squib_gpa_t, uint64_t);
	squib_status_t (*add_region)(squib_mem_t *, squib_range_t, uint32_t, squib_prot_t);
	squib_status_t (*find_region)(const squib_mem_t *, squib_gpa_t, squib_region_info_t *);
	squib_status_t (*read_u32)(const squib_mem_t *, squib_gpa_t, uint32_t *);
	squib_status_t (*write_u32)(squib_mem_t *, squib_gpa_t, uint32_t);
	squib_status_t (*write)(squib_mem_t *, squib_gpa_t, const void *, size_t);
	/* NULL when the build has no SQUIB_CORE_0.3 node */
	squib_status_t (*add_region_opts)(squib_mem_t *, const squib_region_opts_t *);
};

/* One handle of one build. */
struct side {
	const char *name;
	const struct api *api;
	squib_mem_t *mem;
	uint8_t *host; /* host address of MAIN_BASE */
};

struct config {
	uint64_t span;			/* bytes of each main region */
	size_t n_off, n_blocks;		/* lengths of the address sequences */
	size_t chunk_u32, chunk_blocks; /* accesses per job and round */
	int rounds;
	bool quick;
};

/* ---- failures ---------------------------------------------------------- */

__attribute__((cold, noinline)) static void lib_failed(const struct side *s, squib_status_t status,
						       const char *call, uint64_t addr)
{
	fprintf(stderr, PROG ": %s: %s(0x%016" PRIx64 ") failed: %s: %s\n", s->name, call, addr,
		s->api->strerror_fn(status), s->api->last_error());
	exit(EXIT_LIBRARY_FAILED);
}

static void side_check(const struct side *s, squib_status_t status, const char *call, uint64_t addr)
{
	if (status != SQUIB_OK)
		lib_failed(s, status, call, addr);
}

__attribute__((cold, noinline)) static void wrong_data(const char *what, const char *side)
{
	fprintf(stderr, PROG ": %s: %s disagrees with the first handle\n", what, side);
	exit(EXIT_WRONG_DATA);
}

/* ---- loading ----------------------------------------------------------- */

static void *symbol(const struct api *api, const char *name, const char *version, bool required)
{
	void *sym;

	dlerror();
	sym = dlvsym(api->dl, name, version);
	if (!sym && required) {
		const char *err = dlerror();

		fprintf(stderr, PROG ": %s: %s@%s: %s\n", api->path, name, version,
			err ? err : "not found");
		exit(EXIT_FAILURE);
	}
	return sym;
}

/* ISO C has no conversion from void * to a function pointer: copy the bits. */
#define BIND(api, field, name, version)                                                            \
	do {                                                                                       \
		void *sym_ = symbol((api), (name), (version), true);                               \
		memcpy(&(api)->field, &sym_, sizeof(sym_));                                        \
	} while (0)

static void api_load(struct api *api, const char *path)
{
	void *opts;

	/* A path, not a name for the loader to search: "lib.so" means ./lib.so. */
	if (!strchr(path, '/')) {
		size_t len = strlen(path) + 3;
		char *local = bench_xmalloc(PROG, len);

		snprintf(local, len, "./%s", path);
		path = api->own_path = local;
	}
	api->path = path;
	api->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL | AB_DEEPBIND);
	if (!api->dl) {
		fprintf(stderr, PROG ": dlopen: %s\n", dlerror());
		exit(EXIT_FAILURE);
	}
	BIND(api, core_version, "squib_core_version", "SQUIB_CORE_0.2");
	BIND(api, strerror_fn, "squib_strerror", "SQUIB_CORE_0.2");
	BIND(api, last_error, "squib_last_error", "SQUIB_CORE_0.2");
	BIND(api, mem_new, "squib_mem_new", "SQUIB_CORE_0.2");
	BIND(api, mem_free, "squib_mem_free", "SQUIB_CORE_0.2");
	BIND(api, range_init, "squib_range_init", "SQUIB_CORE_0.2");
	BIND(api, add_region, "squib_mem_add_region", "SQUIB_CORE_0.2");
	BIND(api, find_region, "squib_mem_find_region", "SQUIB_CORE_0.2");
	BIND(api, read_u32, "squib_mem_read_u32_le", "SQUIB_CORE_0.2");
	BIND(api, write_u32, "squib_mem_write_u32_le", "SQUIB_CORE_0.2");
	BIND(api, write, "squib_mem_write", "SQUIB_CORE_0.2");
	opts = symbol(api, "squib_mem_add_region_opts", "SQUIB_CORE_0.3", false);
	memcpy(&api->add_region_opts, &opts, sizeof(opts));
}

/* ---- setup ------------------------------------------------------------- */

enum extra { EXTRA_NONE, EXTRA_ROM, EXTRA_RAM };

/* A handle with the main region: anonymous (host NULL), or the caller's
 * mapping at host; and the extra 4 KiB region, if any. */
static void side_init(struct side *s, const char *name, const struct api *api,
		      const struct config *cfg, uint8_t *host, enum extra extra)
{
	squib_range_t range;
	squib_region_info_t info = SQUIB_REGION_INFO_INIT;

	s->name = name;
	s->api = api;
	side_check(s, api->mem_new(&s->mem), "squib_mem_new", 0);
	side_check(s, api->range_init(&range, SQUIB_GPA(MAIN_BASE), cfg->span), "squib_range_init",
		   MAIN_BASE);
	if (!host) {
		side_check(s, api->add_region(s->mem, range, MAIN_SLOT, SQUIB_PROT_RW),
			   "squib_mem_add_region", MAIN_BASE);
	} else {
		squib_region_opts_t opts = SQUIB_REGION_OPTS_INIT;

		opts.range = range;
		opts.slot = MAIN_SLOT;
		opts.prot = SQUIB_PROT_RW;
		opts.host_addr = host;
		side_check(s, api->add_region_opts(s->mem, &opts), "squib_mem_add_region_opts",
			   MAIN_BASE);
	}
	side_check(s, api->find_region(s->mem, SQUIB_GPA(MAIN_BASE), &info),
		   "squib_mem_find_region", MAIN_BASE);
	s->host = info.host_addr;
	if (host && s->host != host)
		wrong_data("the caller's mapping", s->name);
	if (!host)
		bench_fill_pattern(s->host, 0, cfg->span); /* touches every page */
	if (extra == EXTRA_ROM) {
		squib_region_opts_t opts = SQUIB_REGION_OPTS_INIT;
		uint8_t rom[EXTRA_SIZE];
		uint32_t value = 0;
		squib_status_t status;

		bench_fill_pattern(rom, EXTRA_BASE, EXTRA_SIZE);
		side_check(s, api->range_init(&opts.range, SQUIB_GPA(EXTRA_BASE), EXTRA_SIZE),
			   "squib_range_init", EXTRA_BASE);
		opts.slot = EXTRA_SLOT;
		opts.prot = SQUIB_PROT_RX;
		opts.flags = SQUIB_REGION_READONLY;
		opts.bytes = rom;
		opts.name = "rom";
		side_check(s, api->add_region_opts(s->mem, &opts), "squib_mem_add_region_opts",
			   EXTRA_BASE);
		/* The ROM is really there and really refuses writes. */
		side_check(s, api->read_u32(s->mem, SQUIB_GPA(EXTRA_BASE + 8), &value),
			   "squib_mem_read_u32_le", EXTRA_BASE + 8);
		status = api->write_u32(s->mem, SQUIB_GPA(EXTRA_BASE + 8), value);
		if (value != bench_pattern(EXTRA_BASE + 8) || status != SQUIB_E_READ_ONLY)
			wrong_data("the ROM (or its refusal of writes)", s->name);
	} else if (extra == EXTRA_RAM) {
		uint32_t value = 0;

		side_check(s, api->range_init(&range, SQUIB_GPA(EXTRA_BASE), EXTRA_SIZE),
			   "squib_range_init", EXTRA_BASE);
		side_check(s, api->add_region(s->mem, range, EXTRA_SLOT, SQUIB_PROT_RW),
			   "squib_mem_add_region", EXTRA_BASE);
		side_check(s, api->write_u32(s->mem, SQUIB_GPA(EXTRA_BASE + 8), 0x5eed),
			   "squib_mem_write_u32_le", EXTRA_BASE + 8);
		side_check(s, api->read_u32(s->mem, SQUIB_GPA(EXTRA_BASE + 8), &value),
			   "squib_mem_read_u32_le", EXTRA_BASE + 8);
		if (value != 0x5eed)
			wrong_data("the extra region", s->name);
	}
}

/* After the run every word of a memory holds its pattern value, or, where
 * a 4 KiB write was the last to touch it, the block's word for its offset
 * in the block. */
static void memory_check(const uint8_t *host, uint64_t span, const char *name)
{
	for (uint64_t at = 0; at < span; at += 4) {
		uint32_t value;

		memcpy(&value, host + at, sizeof(value));
		if (value != bench_pattern(at) && value != bench_pattern(at % BLOCK))
			wrong_data("memory after the run", name);
	}
}

/* ---- the measured loops ------------------------------------------------ */
/* noinline, and the function pointer read once before the loop: every
 * handle runs exactly the same caller code, only the library differs.
 * u32 writes store the pattern's value for their address, 4 KiB writes the
 * one block, whichever handle and memory they go to. */

__attribute__((noinline)) static void write_u32_loop(const struct side *s, const uint32_t *off,
						     size_t n)
{
	squib_status_t (*write_u32)(squib_mem_t *, squib_gpa_t, uint32_t) = s->api->write_u32;
	squib_mem_t *mem = s->mem;

	for (size_t i = 0; i < n; i++) {
		squib_status_t status =
		    write_u32(mem, SQUIB_GPA(MAIN_BASE + off[i]), bench_pattern(off[i]));

		if (status != SQUIB_OK)
			lib_failed(s, status, "squib_mem_write_u32_le", MAIN_BASE + off[i]);
	}
}

__attribute__((noinline)) static void store_u32_loop(uint8_t *host, const uint32_t *off, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint32_t value = bench_pattern(off[i]);

		memcpy(host + off[i], &value, sizeof(value));
	}
}

__attribute__((noinline)) static void write_block_loop(const struct side *s, const uint32_t *off,
						       size_t n, const uint8_t *block, size_t len)
{
	squib_status_t (*write)(squib_mem_t *, squib_gpa_t, const void *, size_t) = s->api->write;
	squib_mem_t *mem = s->mem;

	for (size_t i = 0; i < n; i++) {
		squib_status_t status = write(mem, SQUIB_GPA(MAIN_BASE + off[i]), block, len);

		if (status != SQUIB_OK)
			lib_failed(s, status, "squib_mem_write", MAIN_BASE + off[i]);
	}
}

__attribute__((noinline)) static uint64_t read_u32_loop(const struct side *s, const uint32_t *off,
							size_t n)
{
	squib_status_t (*read_u32)(const squib_mem_t *, squib_gpa_t, uint32_t *) = s->api->read_u32;
	const squib_mem_t *mem = s->mem;
	uint64_t sum = 0;

	for (size_t i = 0; i < n; i++) {
		uint32_t value = 0;
		squib_status_t status = read_u32(mem, SQUIB_GPA(MAIN_BASE + off[i]), &value);

		if (status != SQUIB_OK)
			lib_failed(s, status, "squib_mem_read_u32_le", MAIN_BASE + off[i]);
		sum += value;
	}
	return sum;
}

__attribute__((noinline)) static uint64_t load_u32_loop(const uint8_t *host, const uint32_t *off,
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

/* Keeps the block length opaque, so that nothing specialises for it. */
static volatile size_t block_len = BLOCK;

/* ---- jobs and rounds --------------------------------------------------- */

enum job_kind { JOB_WRITE_U32, JOB_STORE_U32, JOB_WRITE_BLOCK, JOB_READ_U32 };

struct job {
	enum job_kind kind;
	const struct side *side;
	const char *label; /* row label */
	double *ns;	   /* ns per op, one per round */
	int preempted;	   /* rounds where the thread was off the CPU for > 10 % */
};

/* The address sequences; each job of each round takes a slice of them. */
struct data {
	const uint32_t *off;	/* u32 offsets, n_off of them */
	const uint32_t *blocks; /* 4 KiB-aligned offsets, n_blocks of them */
	const uint8_t *block;	/* the 4 KiB the block writes store */
	size_t n_off, n_blocks;
	size_t chunk_u32, chunk_blocks; /* accesses per job and round */
};

static size_t job_ops(const struct job *j, const struct data *d)
{
	return j->kind == JOB_WRITE_BLOCK ? d->chunk_blocks : d->chunk_u32;
}

static const uint32_t *slice_off(const struct data *d, size_t slice)
{
	return d->off + slice * d->chunk_u32 % d->n_off;
}

/* Runs one job over a slice of the addresses; the read sum, or 0. */
static uint64_t job_run(const struct job *j, const struct data *d, size_t slice)
{
	const uint32_t *off = slice_off(d, slice);

	switch (j->kind) {
	case JOB_WRITE_U32:
		write_u32_loop(j->side, off, d->chunk_u32);
		return 0;
	case JOB_STORE_U32:
		store_u32_loop(j->side->host, off, d->chunk_u32);
		return 0;
	case JOB_WRITE_BLOCK:
		write_block_loop(j->side, d->blocks + slice * d->chunk_blocks % d->n_blocks,
				 d->chunk_blocks, d->block, block_len);
		return 0;
	case JOB_READ_U32:
		return read_u32_loop(j->side, off, d->chunk_u32);
	}
	abort();
}

/* One group: the same loop on every handle (or memory); its jobs take
 * turns. */
struct group {
	const char *what;
	int index;
	struct job *jobs;
	int count;
};

/* Runs every job of the group once, in an order shuffled afresh each
 * round (fixed seed), so that no handle always follows the same one; the
 * job in turn t takes slice (round * NGROUPS + group) * MAX_SIDES + t of
 * the sequence (of the block sequence, round * MAX_SIDES + t), so no two
 * jobs of a round walk the same addresses. Read sums must agree with raw
 * loads of the same addresses, taken after the group. The thread's CPU
 * time is read outside the timed interval, only to count the passes in
 * which another process took the CPU. */
static void group_round(const struct group *g, const struct data *d, int round, bool timed)
{
	static uint64_t shuffle_state = 0x853c49e6748fea9bu;
	int order[MAX_SIDES];
	uint64_t sums[MAX_SIDES];
	size_t slices[MAX_SIDES];

	if (g->count > MAX_SIDES)
		abort();
	for (int k = 0; k < g->count; k++)
		order[k] = k;
	for (int k = g->count - 1; k > 0; k--) {
		int other = (int)(bench_xorshift64(&shuffle_state) % (uint64_t)(k + 1));
		int tmp = order[k];

		order[k] = order[other];
		order[other] = tmp;
	}
	for (int turn = 0; turn < g->count; turn++) {
		struct job *j = &g->jobs[order[turn]];
		size_t slice =
		    j->kind == JOB_WRITE_BLOCK
			? (size_t)round * MAX_SIDES + (size_t)turn
			: ((size_t)round * NGROUPS + (size_t)g->index) * MAX_SIDES + (size_t)turn;
		double cpu0 = bench_ns(CLOCK_THREAD_CPUTIME_ID);
		double t0 = bench_ns(CLOCK_MONOTONIC);
		uint64_t sum = job_run(j, d, slice);
		double t1 = bench_ns(CLOCK_MONOTONIC);
		double cpu1 = bench_ns(CLOCK_THREAD_CPUTIME_ID);

		sums[order[turn]] = sum;
		slices[order[turn]] = slice;
		if (timed) {
			j->ns[round] = (t1 - t0) / (double)job_ops(j, d);
			j->preempted += cpu1 - cpu0 < 0.9 * (t1 - t0);
		}
	}
	for (int k = 0; k < g->count; k++) {
		const struct job *j = &g->jobs[k];

		if (j->kind == JOB_READ_U32 &&
		    load_u32_loop(j->side->host, slice_off(d, slices[k]), d->chunk_u32) != sums[k])
			wrong_data(g->what, j->side->name);
	}
}

/* ---- output ------------------------------------------------------------ */

static void print_figure(const char *label, struct bench_spread s)
{
	printf("  %-24s %9.2f  [%8.2f .. %8.2f]  (%8.2f .. %9.2f)\n", label, s.median, s.p25, s.p75,
	       s.min, s.max);
}

/* The ratio of two jobs, taken round by round. */
static void print_ratio(const char *label, const struct job *num, const struct job *den, int rounds)
{
	double *r = bench_xmalloc(PROG, (size_t)rounds * sizeof(*r));
	struct bench_spread s;

	for (int i = 0; i < rounds; i++)
		r[i] = num->ns[i] / den->ns[i];
	s = bench_spread_of(PROG, r, rounds);
	free(r);
	printf("  %-24s %6.3f  [%6.3f .. %6.3f]  [%6.3f .. %6.3f]  (%6.3f .. %6.3f)\n", label,
	       s.median, s.ci_lo, s.ci_hi, s.p25, s.p75, s.min, s.max);
}

/* ---- main -------------------------------------------------------------- */

static void usage(FILE *to)
{
	fprintf(to, "usage: " PROG " [--quick] [--rounds N] LIB_A LIB_B\n"
		    "  LIB_A, LIB_B  paths of two libsquibcore.so builds (A: the reference)\n"
		    "  --quick       smoke run: 32 MiB, a few rounds\n"
		    "  --rounds N    rounds (default 4000, quick 8)\n");
}

/* Which ratios to print: numerator and denominator handles. */
struct ratio_spec {
	const char *label;
	int num, den;
};

static const struct ratio_spec lib_ratios[] = {
    {"Ba / A", 3, 0},	   {"Ba+ROM / A", 4, 0}, {"Ba+ROM / Ba+RAM", 4, 5},
    {"Ba+RAM / Ba", 5, 3}, {"B / Bm", 1, 2},
};

int main(int argc, char **argv)
{
	static const char *const group_names[NGROUPS] = {"u32 write, random", "raw 4-byte store",
							 "4 KiB write, random", "u32 read, random"};
	static const enum job_kind kinds[NGROUPS] = {JOB_WRITE_U32, JOB_STORE_U32, JOB_WRITE_BLOCK,
						     JOB_READ_U32};
	static const char *const names[MAX_SIDES] = {"A", "B", "Bm", "Ba", "Ba+ROM", "Ba+RAM"};
	struct config cfg = {0};
	const char *paths[2] = {NULL, NULL};
	int npaths = 0, rounds = 0;
	struct api api_a = {0}, api_b = {0};
	struct side sides[MAX_SIDES];
	int nsides;
	struct data d;
	uint8_t *block;
	uint32_t *off, *blocks;
	struct job jobs[NGROUPS][MAX_SIDES];
	struct group groups[NGROUPS];
	double start = bench_ns(CLOCK_MONOTONIC);
	int preempted = 0, passes = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--quick") == 0) {
			cfg.quick = true;
		} else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) {
			if (!bench_parse_int(argv[++i], 1, 10000000, &rounds)) {
				usage(stderr);
				return EXIT_FAILURE;
			}
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return EXIT_SUCCESS;
		} else if (argv[i][0] != '-' && npaths < 2) {
			paths[npaths++] = argv[i];
		} else {
			usage(stderr);
			return EXIT_FAILURE;
		}
	}
	if (npaths != 2) {
		usage(stderr);
		return EXIT_FAILURE;
	}
	cfg.span = cfg.quick ? 32 * MIB : 256 * MIB;
	cfg.n_off = (size_t)1 << (cfg.quick ? 17 : 22);
	cfg.n_blocks = cfg.quick ? 1024 : 65536;
	cfg.chunk_u32 = 4096;
	cfg.chunk_blocks = 128;
	cfg.rounds = rounds ? rounds : cfg.quick ? 8 : 4000;

	api_load(&api_a, paths[0]);
	api_load(&api_b, paths[1]);
	printf(PROG ": A = %s\n         (squib_core_version %s, %s)\n", api_a.path,
	       api_a.core_version(), api_a.add_region_opts ? "has SQUIB_CORE_0.3" : "0.2 ABI only");
	printf("         B = %s\n         (squib_core_version %s, %s)\n", api_b.path,
	       api_b.core_version(), api_b.add_region_opts ? "has SQUIB_CORE_0.3" : "0.2 ABI only");
	fprintf(stderr, PROG ": setting up %" PRIu64 " MiB twice\n", cfg.span / MIB);
	side_init(&sides[0], names[0], &api_a, &cfg, NULL, EXTRA_NONE);
	side_init(&sides[1], names[1], &api_b, &cfg, NULL, EXTRA_NONE);
	nsides = 2;
	if (api_b.add_region_opts) {
		side_init(&sides[2], names[2], &api_b, &cfg, sides[1].host, EXTRA_NONE);
		side_init(&sides[3], names[3], &api_b, &cfg, sides[0].host, EXTRA_NONE);
		side_init(&sides[4], names[4], &api_b, &cfg, sides[0].host, EXTRA_ROM);
		side_init(&sides[5], names[5], &api_b, &cfg, sides[0].host, EXTRA_RAM);
		nsides = MAX_SIDES;
	} else {
		fprintf(stderr,
			PROG ": B has no squib_mem_add_region_opts: handles A and B only\n");
	}

	off = bench_random_offsets(PROG, cfg.n_off, cfg.span, 4, 0x9e3779b97f4a7c15u);
	blocks = bench_random_offsets(PROG, cfg.n_blocks, cfg.span, BLOCK, 0x6b6c6f636b001000u);
	block = bench_xmalloc(PROG, BLOCK);
	bench_fill_pattern(block, 0, BLOCK);
	d = (struct data){.off = off,
			  .blocks = blocks,
			  .block = block,
			  .n_off = cfg.n_off,
			  .n_blocks = cfg.n_blocks,
			  .chunk_u32 = cfg.chunk_u32,
			  .chunk_blocks = cfg.chunk_blocks};

	/* A group per loop, a job per handle; raw stores go to MA and MB. */
	for (int g = 0; g < NGROUPS; g++) {
		int count = kinds[g] == JOB_STORE_U32 ? 2 : nsides;

		for (int k = 0; k < count; k++) {
			jobs[g][k] = (struct job){
			    .kind = kinds[g],
			    .side = &sides[k],
			    .label = kinds[g] != JOB_STORE_U32 ? names[k]
				     : k		       ? "MB"
							       : "MA",
			    .ns = bench_xmalloc(PROG, (size_t)cfg.rounds * sizeof(double))};
		}
		groups[g] = (struct group){group_names[g], g, jobs[g], count};
	}

	fprintf(stderr,
		PROG ": %d rounds; in each, every handle does %zu u32 writes, %zu 4 KiB writes "
		     "and %zu u32 reads\n",
		cfg.rounds, cfg.chunk_u32, cfg.chunk_blocks, cfg.chunk_u32);
	for (int r = 0; r < 16; r++) /* untimed: caches, TLBs, reader records */
		for (int g = 0; g < NGROUPS; g++)
			group_round(&groups[g], &d, cfg.rounds + r, false);
	for (int r = 0; r < cfg.rounds; r++) {
		for (int g = 0; g < NGROUPS; g++)
			group_round(&groups[g], &d, r, true);
		if (!cfg.quick && (r + 1) % 1000 == 0)
			fprintf(stderr, "  round %d of %d\n", r + 1, cfg.rounds);
	}
	memory_check(sides[0].host, cfg.span, "MA");
	memory_check(sides[1].host, cfg.span, "MB");
	for (int g = 0; g < NGROUPS; g++) {
		for (int k = 0; k < groups[g].count; k++) {
			passes += cfg.rounds;
			preempted += jobs[g][k].preempted;
		}
	}

	printf("%s run: %" PRIu64 " MiB per region, %d rounds; in a round every handle runs "
	       "each loop once,\nover %zu random u32 addresses or %zu random 4 KiB blocks, in "
	       "shuffled order\n",
	       cfg.quick ? "quick" : "full", cfg.span / MIB, cfg.rounds, cfg.chunk_u32,
	       cfg.chunk_blocks);
	printf("  A       build A, anonymous region: memory MA\n"
	       "  B       build B, anonymous region: memory MB\n");
	if (nsides == MAX_SIDES)
		printf("  Bm      build B, the caller's mapping (host_addr) of MB\n"
		       "  Ba      build B, the caller's mapping of MA\n"
		       "  Ba+ROM  Ba + a 4 KiB READONLY region: a separate write index\n"
		       "  Ba+RAM  Ba + a 4 KiB ordinary region: the same layout, one index\n");
	printf("\nns per operation, per round     median  [     p25 ..      p75]  "
	       "(     min ..       max)\n");
	for (int g = 0; g < NGROUPS; g++) {
		printf("%s\n", groups[g].what);
		for (int k = 0; k < groups[g].count; k++)
			print_figure(jobs[g][k].label,
				     bench_spread_of(PROG, jobs[g][k].ns, cfg.rounds));
	}
	printf("\nratio, round by round   median  [95 %% CI median]  [   p25 ..    p75]  "
	       "(   min ..    max)\n");
	for (int g = 0; g < NGROUPS; g++) {
		const struct job *j = jobs[g];

		/* Across memories only when nothing else shares them. */
		if (nsides != 2 && kinds[g] == JOB_STORE_U32)
			continue;
		printf("%s\n", groups[g].what);
		if (nsides == 2) {
			print_ratio(kinds[g] == JOB_STORE_U32 ? "MB / MA" : "B / A", &j[1], &j[0],
				    cfg.rounds);
			continue;
		}
		for (size_t i = 0; i < sizeof(lib_ratios) / sizeof(lib_ratios[0]); i++)
			print_ratio(lib_ratios[i].label, &j[lib_ratios[i].num],
				    &j[lib_ratios[i].den], cfg.rounds);
	}
	printf("u32 write / raw store, same memory\n");
	print_ratio("A / MA", &jobs[0][0], &jobs[1][0], cfg.rounds);
	if (nsides == MAX_SIDES)
		print_ratio("Ba / MA", &jobs[0][3], &jobs[1][0], cfg.rounds);
	print_ratio("B / MB", &jobs[0][1], &jobs[1][1], cfg.rounds);
	printf("\noff the CPU for > 10 %% of a pass in %d of %d passes (another process ran)\n",
	       preempted, passes);
	fprintf(stderr, PROG ": done in %.1f s\n", (bench_ns(CLOCK_MONOTONIC) - start) / 1e9);

	for (int g = 0; g < NGROUPS; g++)
		for (int k = 0; k < groups[g].count; k++)
			free(jobs[g][k].ns);
	for (int k = nsides - 1; k >= 0; k--) /* the borrowers first */
		sides[k].api->mem_free(sides[k].mem);
	free(block);
	free(blocks);
	free(off);
	dlclose(api_b.dl);
	dlclose(api_a.dl);
	free(api_b.own_path);
	free(api_a.own_path);
	return EXIT_SUCCESS;
}
