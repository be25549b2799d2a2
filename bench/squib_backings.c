/* SPDX-License-Identifier: MIT */
/*
 * squib-backings: what adding and removing a region costs with each
 * backing of squib_mem_add_region_opts(), beside the anonymous one
 * (docs/PERFORMANCE.md, "Adding and removing regions of each backing").
 *
 *   squib-backings [--quick] [--rounds N] [--cycles N]
 *
 * A cycle is squib_mem_add_region_opts() (or squib_mem_add_region() for
 * the 0.2 row) of one region at 8 GiB followed by squib_mem_remove_region()
 * of it; nothing touches the region's memory in between, except that a
 * ROM's bytes are copied in by the add itself. Every backing has a handle
 * of its own (holding one untouched 64 MiB RAM region besides), so that the
 * grace periods one backing's changes wait for, and the unmapping and
 * closing done in them, are paid by that backing's own cycles.
 *
 * A removal does not wait for its own grace period: the handle collects 32
 * changes (16 cycles) and then one grace period frees all 16 regions. So a
 * pass is a multiple of 16 cycles (default 32), every pass of a backing
 * holds the same number of grace periods whatever the phase of the batch,
 * and the per-cycle figure includes 1/16 of one grace period and the whole
 * freeing of the region (munmap, close).
 *
 * A round runs one pass of every backing, in an order shuffled each
 * round; figures are medians over rounds with their spread, and the ratio
 * to the anonymous backing (flags 0, same size) is taken round by round.
 * Short passes (about 0.5 ms) and many rounds: a pass that another process
 * interrupts is an outlier the median ignores. A 2 MiB ROM's add copies
 * 2 MiB into fresh pages, a hundred times the others' cost, so its passes
 * are half as long, to keep the run short.
 *
 * A report, not a test: exit 0 whatever the figures, 2 if a library call
 * fails, 3 if a region does not hold what it should, 1 for a usage or host
 * error.
 */
#define _GNU_SOURCE /* mkostemp */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <squib/core.h>

#include "bench_common.h"

#define PROG "squib-backings"

#define RAM_BASE ((uint64_t)0x100000000) /* 4 GiB */
#define RAM_SIZE (64 * MIB)
#define RAM_SLOT 1u
#define CYCLE_BASE ((uint64_t)0x200000000) /* 8 GiB */
#define CYCLE_SLOT 2u
#define MAX_SIZE (2 * MIB)
#define CYCLES_PER_GRACE 16 /* 32 changes: mem.c's SQUIB_RETIRED_MAX */

enum backing {
	B_ANON,		/* opts, flags 0: the reference */
	B_ANON_02,	/* squib_mem_add_region() */
	B_ROM,		/* READONLY, filled from bytes */
	B_SHARED,	/* SHARED: a memfd */
	B_FILE,		/* FILE, MAP_SHARED */
	B_FILE_PRIVATE, /* FILE | PRIVATE */
	B_HOST,		/* the caller's mapping */
	B_COUNT
};

static const char *const backing_names[B_COUNT] = {"anonymous (opts, flags 0)",
						   "anonymous (0.2 add_region)",
						   "READONLY + bytes (ROM)",
						   "SHARED (memfd)",
						   "FILE, shared",
						   "FILE | PRIVATE",
						   "host_addr (caller's map)"};

struct variant {
	enum backing backing;
	uint64_t size;
	int cycles; /* per pass */
	squib_mem_t *mem;
	squib_region_opts_t opts;
	bool unsupported;
	double *ns;    /* ns per cycle, one per round */
	double *oncpu; /* CPU / wall of each round's pass */
};

struct config {
	int rounds, cycles; /* rounds; cycles per pass (a multiple of 16) */
	bool quick;
};

/* ---- failures ---------------------------------------------------------- */

__attribute__((cold, noinline)) static void lib_failed(squib_status_t status, const char *call,
						       const struct variant *v)
{
	fprintf(stderr, PROG ": %s(%s, %" PRIu64 " KiB) failed: %s: %s\n", call,
		backing_names[v->backing], v->size / KIB, squib_strerror(status),
		squib_last_error());
	exit(EXIT_LIBRARY_FAILED);
}

static void lib_check(squib_status_t status, const char *call, const struct variant *v)
{
	if (status != SQUIB_OK)
		lib_failed(status, call, v);
}

__attribute__((cold, noinline)) static void host_failed(const char *what)
{
	fprintf(stderr, PROG ": %s: %s\n", what, strerror(errno));
	exit(EXIT_FAILURE);
}

__attribute__((cold, noinline)) static void wrong_data(const struct variant *v, const char *what)
{
	fprintf(stderr, PROG ": %s, %" PRIu64 " KiB: %s\n", backing_names[v->backing],
		v->size / KIB, what);
	exit(EXIT_WRONG_DATA);
}

/* ---- what the backings need -------------------------------------------- */

struct resources {
	int fd;		   /* a MAX_SIZE temporary file, open read-write */
	const char *dir;   /* where it is */
	uint8_t *bytes;	   /* MAX_SIZE bytes of pattern, the ROM image */
	uint8_t *host[2];  /* the caller's mappings, one per size */
	uint64_t sizes[2]; /* 4 KiB, 2 MiB */
};

static const char *fs_name(const char *dir)
{
	struct statfs fs;

	if (statfs(dir, &fs) != 0)
		return "?";
	switch ((unsigned long)fs.f_type) {
	case 0xef53ul:
		return "ext2/3/4";
	case 0x01021994ul:
		return "tmpfs";
	case 0x58465342ul:
		return "xfs";
	case 0x9123683eul:
		return "btrfs";
	case 0x794c7630ul:
		return "overlayfs";
	default:
		return "other";
	}
}

static void resources_init(struct resources *res)
{
	static char path[4096];
	const char *dir = getenv("TMPDIR");

	res->dir = dir && *dir ? dir : "/tmp";
	snprintf(path, sizeof(path), "%s/squib-backings-XXXXXX", res->dir);
	res->fd = mkostemp(path, O_CLOEXEC);
	if (res->fd < 0)
		host_failed(path);
	if (unlink(path) != 0)
		host_failed("unlink");
	if (ftruncate(res->fd, (off_t)MAX_SIZE) != 0) /* sparse: nothing written */
		host_failed("ftruncate");
	res->bytes = bench_xmalloc(PROG, MAX_SIZE);
	bench_fill_pattern(res->bytes, 0, MAX_SIZE);
	res->sizes[0] = 4 * KIB;
	res->sizes[1] = MAX_SIZE;
	for (int k = 0; k < 2; k++) {
		void *map = mmap(NULL, res->sizes[k], PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (map == MAP_FAILED)
			host_failed("mmap");
		res->host[k] = map;
	}
}

static void resources_free(struct resources *res)
{
	for (int k = 0; k < 2; k++)
		munmap(res->host[k], res->sizes[k]);
	free(res->bytes);
	close(res->fd);
}

/* ---- one cycle --------------------------------------------------------- */

static squib_status_t add(const struct variant *v)
{
	if (v->backing == B_ANON_02)
		return squib_mem_add_region(v->mem, v->opts.range, v->opts.slot, v->opts.prot);
	return squib_mem_add_region_opts(v->mem, &v->opts);
}

__attribute__((noinline)) static void cycles(const struct variant *v, int n)
{
	for (int i = 0; i < n; i++) {
		squib_status_t status = add(v);

		if (status != SQUIB_OK)
			lib_failed(status, "add", v);
		status = squib_mem_remove_region(v->mem, CYCLE_SLOT);
		if (status != SQUIB_OK)
			lib_failed(status, "squib_mem_remove_region", v);
	}
}

/* ---- setup: a handle per variant, and one checked cycle ----------------- */

static uint32_t file_word(int fd, uint64_t at)
{
	uint32_t value = 0;

	if (pread(fd, &value, sizeof(value), (off_t)at) != (ssize_t)sizeof(value))
		host_failed("pread");
	return value;
}

/* Adds the region once and checks that it is what its backing promises:
 * writes reach a caller's mapping and a shared file, not a private one; a
 * ROM holds its bytes and refuses writes. */
static void variant_check(struct variant *v, const struct resources *res, int size_index)
{
	const uint64_t at = 8;
	uint32_t value = 0, marker = 0xc0ffee00u ^ (uint32_t)v->backing;
	squib_status_t status = add(v);

	if (status == SQUIB_E_UNSUPPORTED) {
		v->unsupported = true;
		fprintf(stderr, PROG ": %s: unsupported here: %s\n", backing_names[v->backing],
			squib_last_error());
		return;
	}
	lib_check(status, "add", v);
	if (v->backing == B_ROM) {
		lib_check(squib_mem_read_u32_le(v->mem, SQUIB_GPA(CYCLE_BASE + at), &value),
			  "squib_mem_read_u32_le", v);
		if (value != bench_pattern(at))
			wrong_data(v, "the ROM does not hold its bytes");
		if (squib_mem_write_u32_le(v->mem, SQUIB_GPA(CYCLE_BASE + at), marker) !=
		    SQUIB_E_READ_ONLY)
			wrong_data(v, "a write to the ROM did not fail with SQUIB_E_READ_ONLY");
	} else {
		uint32_t before = v->backing == B_FILE_PRIVATE ? file_word(res->fd, at) : 0;

		lib_check(squib_mem_write_u32_le(v->mem, SQUIB_GPA(CYCLE_BASE + at), marker),
			  "squib_mem_write_u32_le", v);
		lib_check(squib_mem_read_u32_le(v->mem, SQUIB_GPA(CYCLE_BASE + at), &value),
			  "squib_mem_read_u32_le", v);
		if (value != marker)
			wrong_data(v, "a write did not read back");
		if (v->backing == B_FILE && file_word(res->fd, at) != marker)
			wrong_data(v, "a write did not reach the shared file");
		if (v->backing == B_FILE_PRIVATE && file_word(res->fd, at) != before)
			wrong_data(v, "a write reached the file through a PRIVATE mapping");
		if (v->backing == B_HOST) {
			memcpy(&value, res->host[size_index] + at, sizeof(value));
			if (value != marker)
				wrong_data(v, "a write did not reach the caller's mapping");
		}
	}
	lib_check(squib_mem_remove_region(v->mem, CYCLE_SLOT), "squib_mem_remove_region", v);
}

static void variant_init(struct variant *v, enum backing backing, int size_index,
			 const struct resources *res, int rounds)
{
	squib_range_t ram;
	squib_region_opts_t *o = &v->opts;

	*v = (struct variant){.backing = backing, .size = res->sizes[size_index]};
	*o = (squib_region_opts_t)SQUIB_REGION_OPTS_INIT;
	lib_check(squib_mem_new(&v->mem), "squib_mem_new", v);
	lib_check(squib_range_init(&ram, SQUIB_GPA(RAM_BASE), RAM_SIZE), "squib_range_init", v);
	lib_check(squib_mem_add_region(v->mem, ram, RAM_SLOT, SQUIB_PROT_RW),
		  "squib_mem_add_region", v);
	lib_check(squib_range_init(&o->range, SQUIB_GPA(CYCLE_BASE), v->size), "squib_range_init",
		  v);
	o->slot = CYCLE_SLOT;
	o->prot = SQUIB_PROT_RW;
	switch (backing) {
	case B_ANON:
	case B_ANON_02:
		break;
	case B_ROM:
		o->prot = SQUIB_PROT_RX;
		o->flags = SQUIB_REGION_READONLY;
		o->bytes = res->bytes;
		break;
	case B_SHARED:
		o->flags = SQUIB_REGION_SHARED;
		o->name = "bench";
		break;
	case B_FILE:
		o->flags = SQUIB_REGION_FILE;
		o->fd = res->fd;
		break;
	case B_FILE_PRIVATE:
		o->flags = SQUIB_REGION_FILE | SQUIB_REGION_PRIVATE;
		o->fd = res->fd;
		break;
	case B_HOST:
		o->host_addr = res->host[size_index];
		break;
	case B_COUNT:
		abort();
	}
	v->ns = bench_xmalloc(PROG, (size_t)rounds * sizeof(double));
	v->oncpu = bench_xmalloc(PROG, (size_t)rounds * sizeof(double));
	variant_check(v, res, size_index);
}

/* ---- output ------------------------------------------------------------ */

static void print_row(const char *label, struct bench_spread t, const struct bench_spread *ratio)
{
	printf("  %-27s %8.2f [%7.2f .. %7.2f] (%7.2f .. %7.2f)", label, t.median / 1e3,
	       t.p25 / 1e3, t.p75 / 1e3, t.min / 1e3, t.max / 1e3);
	if (ratio)
		printf("  %6.2f [%6.2f .. %6.2f] (%6.2f .. %6.2f)", ratio->median, ratio->ci_lo,
		       ratio->ci_hi, ratio->min, ratio->max);
	printf("\n");
}

/* ---- main -------------------------------------------------------------- */

static void usage(FILE *to)
{
	fprintf(to, "usage: " PROG " [--quick] [--rounds N] [--cycles N]\n"
		    "  --quick     smoke run: 2 rounds of 32 cycles\n"
		    "  --rounds N  rounds (default 151, quick 2)\n"
		    "  --cycles N  add+remove cycles per pass, a multiple of 16 (default 32)\n");
}

int main(int argc, char **argv)
{
	struct config cfg = {0};
	struct resources res;
	struct variant variants[2 * B_COUNT];
	const int count = 2 * B_COUNT;
	double *ratio;
	double start = bench_ns(CLOCK_MONOTONIC);
	int low_cpu = 0, passes = 0;
	uint64_t shuffle_state = 0x853c49e6748fea9bu;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--quick") == 0) {
			cfg.quick = true;
		} else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) {
			if (!bench_parse_int(argv[++i], 1, 100000, &cfg.rounds)) {
				usage(stderr);
				return EXIT_FAILURE;
			}
		} else if (strcmp(argv[i], "--cycles") == 0 && i + 1 < argc) {
			if (!bench_parse_int(argv[++i], CYCLES_PER_GRACE, 1 << 20, &cfg.cycles) ||
			    cfg.cycles % CYCLES_PER_GRACE) {
				usage(stderr);
				return EXIT_FAILURE;
			}
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return EXIT_SUCCESS;
		} else {
			usage(stderr);
			return EXIT_FAILURE;
		}
	}
	if (!cfg.rounds)
		cfg.rounds = cfg.quick ? 2 : 151;
	if (!cfg.cycles)
		cfg.cycles = 32;

	resources_init(&res);
	for (int s = 0; s < 2; s++) {
		for (int b = 0; b < B_COUNT; b++) {
			struct variant *v = &variants[s * B_COUNT + b];

			variant_init(v, (enum backing)b, s, &res, cfg.rounds);
			v->cycles = cfg.cycles;
			if (b == B_ROM && s == 1 && cfg.cycles > CYCLES_PER_GRACE)
				v->cycles = cfg.cycles / 2 / CYCLES_PER_GRACE * CYCLES_PER_GRACE;
		}
	}

	fprintf(stderr, PROG ": %d rounds of %d add+remove cycles per backing and size\n",
		cfg.rounds, cfg.cycles);
	for (int k = 0; k < count; k++) /* untimed: tables, spare blocks, files */
		if (!variants[k].unsupported)
			cycles(&variants[k], 2 * CYCLES_PER_GRACE);
	for (int r = 0; r < cfg.rounds; r++) {
		int order[2 * B_COUNT];

		/* A fresh order each round (fixed seed), so that no backing
		 * always follows the same one and inherits what its frees
		 * left in the kernel's caches. */
		for (int k = 0; k < count; k++)
			order[k] = k;
		for (int k = count - 1; k > 0; k--) {
			int other = (int)(bench_xorshift64(&shuffle_state) % (uint64_t)(k + 1));
			int tmp = order[k];

			order[k] = order[other];
			order[other] = tmp;
		}
		for (int turn = 0; turn < count; turn++) {
			struct variant *v = &variants[order[turn]];
			struct bench_clock t0, t1;

			if (v->unsupported)
				continue;
			t0 = bench_clock_now();
			cycles(v, v->cycles);
			t1 = bench_clock_now();
			v->ns[r] = (t1.wall - t0.wall) / v->cycles;
			v->oncpu[r] = bench_oncpu(t0, t1);
			passes++;
			low_cpu += v->oncpu[r] < 0.9;
			if (squib_mem_region_count(v->mem) != 1)
				wrong_data(v, "cycles left a region behind");
		}
	}

	printf(PROG " (libsquibcore %s), %s run: %d rounds of one pass per row, a pass\n"
		    "%d add+remove cycles (2 MiB ROM: %d); one grace period per %d cycles\n",
	       squib_core_version(), cfg.quick ? "quick" : "full", cfg.rounds, cfg.cycles,
	       variants[B_COUNT + B_ROM].cycles, CYCLES_PER_GRACE);
	printf("temporary file in %s (%s)\n", res.dir, fs_name(res.dir));
	printf("\n  %-27s %-46s %s\n", "", "us per cycle", "x anonymous, same size and round");
	printf("  %-27s %8s [%7s .. %7s] (%7s .. %7s)  %6s [95 %% CI median] (%6s .. %6s)\n",
	       "backing", "median", "p25", "p75", "min", "max", "median", "min", "max");
	ratio = bench_xmalloc(PROG, (size_t)cfg.rounds * sizeof(*ratio));
	for (int s = 0; s < 2; s++) {
		const struct variant *anon = &variants[s * B_COUNT + B_ANON];

		printf("%" PRIu64 " KiB regions\n", res.sizes[s] / KIB);
		for (int b = 0; b < B_COUNT; b++) {
			const struct variant *v = &variants[s * B_COUNT + b];
			struct bench_spread rs;

			if (v->unsupported) {
				printf("  %-27s unsupported on this host\n", backing_names[b]);
				continue;
			}
			for (int r = 0; r < cfg.rounds; r++)
				ratio[r] = v->ns[r] / anon->ns[r];
			rs = bench_spread_of(PROG, ratio, cfg.rounds);
			print_row(backing_names[b], bench_spread_of(PROG, v->ns, cfg.rounds),
				  b == B_ANON || anon->unsupported ? NULL : &rs);
		}
	}
	printf("\non-CPU below 90 %% in %d of %d passes (another process took the CPU)\n", low_cpu,
	       passes);
	fprintf(stderr, PROG ": done in %.1f s\n", (bench_ns(CLOCK_MONOTONIC) - start) / 1e9);

	free(ratio);
	for (int k = 0; k < count; k++) {
		squib_mem_free(variants[k].mem);
		free(variants[k].ns);
		free(variants[k].oncpu);
	}
	resources_free(&res);
	return EXIT_SUCCESS;
}
