/* SPDX-License-Identifier: MIT */
/*
 * squib-snapshot: what file I/O straight from guest memory (squib/io.h)
 * and snapshots (squib/snapshot.h) cost, each beside the same bytes moved
 * by plain pread/pwrite from a buffer of the program's own
 * (docs/PERFORMANCE.md, "Guest state: file I/O, save and load").
 *
 *   squib-snapshot [--quick] [--runs N] [--row N]
 *
 * Rows (sizes of a full run; --quick: 32 MiB guests, row 5 256 MiB):
 * 1. squib_mem_write_to_fd of a 1 GiB region, every page pattern data, to
 *    a file already in the page cache (written once before), beside one
 *    pwrite of the same bytes from a plain mmap'd 1 GiB buffer to the same
 *    file. GB/s; target lib / baseline >= 0.95.
 * 2. squib_mem_read_from_fd of the same 1 GiB from that file into the
 *    region, beside pread into the plain buffer (both already faulted in).
 *    Target >= 0.95.
 * 3. squib_mem_save (a file record, SQUIB_SAVE_HELPER_THREAD) of that
 *    guest, beside pwrite of the same 1 GiB from the plain buffer. Before
 *    every run of either, the target file is truncated to 0 (untimed), so
 *    both write into fresh file pages. Target >= 0.9. Row 3a: the same
 *    save with flags 0, on the calling thread alone, beside the same
 *    pwrite (info; it was row 3 before 0.4). The notes give the CPU time
 *    of the process per run of row 3 and of the pwrite.
 * 4. The file of a file-record save of a 1 GiB guest of which every 16th
 *    page holds data (64 MiB): st_size and allocated bytes (st_blocks *
 *    512); target: allocated about the 64 MiB of data (plus the run table
 *    and the header page).
 * 5. squib_mem_load with SQUIB_LOAD_MAP_PRIVATE into a fresh handle
 *    (squib_mem_new and squib_mem_free untimed) of a file record of a
 *    16 GiB layout beside that of a 16 MiB layout, both with the same 4 MiB
 *    of data (the first 1024 pages). Time big / small; target <= 2.
 *    Saving the 16 GiB guest reads 16 GiB of untouched memory: setup,
 *    untimed; the file is sparse. Skipped, saying why, where the host
 *    lacks the memory or the file system for it.
 * 6. A copying squib_mem_load (flags 0) of the 1 GiB file record of row 3
 *    into a fresh handle, beside pread of its page data into a freshly
 *    mmap'd 1 GiB buffer (a new mapping every run, so that both pay the
 *    faults of fresh memory; mmap timed, munmap not). Target >= 0.9. Row
 *    6b: the same load beside pread into the pre-faulted buffer (info).
 *
 * Method: each row runs N times (default 5), library and baseline
 * alternating (which goes first alternates too), so that the noise of a
 * shared machine hits both; the figures are the best of the N, the ratio
 * that of the bests. The guest region and the plain buffer are faulted in
 * page by page in turn, so that neither gets all of the memory the host
 * hands out first. Files are in /dev/shm when it is writable and has
 * room, else in $TMPDIR or /tmp (the output says which), created and
 * unlinked at once. Wall-clock time; nothing is pinned; runs in which the
 * thread was below 90 % on-CPU are counted.
 *
 * --row N runs row N alone (with the setup it needs), for a profiler:
 * perf record -g squib-snapshot --row 3.
 *
 * A report, not a test: exit 0 whatever the figures, 2 if a library call
 * fails, 3 if data read back (sample pages after every run, whole guests
 * at the end) or a file's layout is not what it should be, 1 for a usage
 * or host error. --quick (the ctest smoke run) asserts nothing about
 * timings.
 */
#define _GNU_SOURCE /* MAP_NORESERVE */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <squib/core.h>

#include "bench_common.h"

#define PROG "squib-snapshot"

#define PAGE ((uint64_t)SQUIB_DIRTY_PAGE_SIZE)
#define GIB (1024 * MIB)
#define GUEST_BASE ((uint64_t)0x100000000) /* 4 GiB */
#define GUEST_SLOT 1u
#define SAMPLE_MAX 64	       /* pages checked after every run */
#define SPARSE_EVERY 16	       /* row 4: every 16th page holds data */
#define LAYOUT_DATA_PAGES 1024 /* row 5: the first 4 MiB */
#define TMPFS_MAGIC_NUMBER 0x01021994

/* The file format's constants that the program reads (docs/SNAPSHOT.md). */
#define REC_RECORD_BYTES 32
#define REC_RUN_COUNT 48
#define REC_DATA_OFFSET (64 + 32) /* of region 0 */
#define REC_RUN_BYTES 32
#define REC_RUN_MAX ((uint64_t)256 * PAGE)

struct config {
	uint64_t size;			   /* rows 1-4 and 6 */
	uint64_t layout_big, layout_small; /* row 5 */
	int runs;
	int only; /* --row: the one row to run (1-6), 0 all */
	bool quick;
	char dir[128];
	bool tmpfs;
};

/* ---- failures ---------------------------------------------------------- */

__attribute__((cold, noinline)) static void lib_failed(squib_status_t status, const char *call)
{
	fprintf(stderr, PROG ": %s failed: %s: %s\n", call, squib_strerror(status),
		squib_last_error());
	exit(EXIT_LIBRARY_FAILED);
}

static void lib_check(squib_status_t status, const char *call)
{
	if (status != SQUIB_OK)
		lib_failed(status, call);
}

__attribute__((cold, noinline)) static void wrong(const char *what, uint64_t page)
{
	fprintf(stderr, PROG ": wrong data: %s (page %" PRIu64 ")\n", what, page);
	exit(EXIT_WRONG_DATA);
}

__attribute__((cold, noinline)) static void host_failed(const char *what)
{
	fprintf(stderr, PROG ": %s: %s\n", what, strerror(errno));
	exit(EXIT_FAILURE);
}

/* ---- what the memory holds --------------------------------------------- */

/* A guest's pages: page p holds the pattern of its own offset if
 * p < data_pages and p % every == 0, zeros otherwise. */
struct content {
	uint64_t pages, every, data_pages;
};

static bool has_data(const struct content *c, uint64_t page)
{
	return page < c->data_pages && page % c->every == 0;
}

static void expected_page(const struct content *c, uint64_t page, uint8_t *out)
{
	if (has_data(c, page))
		bench_fill_pattern(out, page * PAGE, PAGE);
	else
		memset(out, 0, PAGE);
}

static void fill(uint8_t *host, const struct content *c)
{
	for (uint64_t page = 0; page < c->pages; page++)
		if (has_data(c, page))
			bench_fill_pattern(host + page * PAGE, page * PAGE, PAGE);
}

/* The pages checked: the first, the last, both sides of the end of the
 * data, and pseudo-random others (fixed seed). */
struct sample {
	uint64_t page[SAMPLE_MAX];
	int n;
};

static struct sample sample_of(const struct content *c, uint64_t seed)
{
	struct sample s = {{0}, 0};
	uint64_t state = seed;

	s.page[s.n++] = 0;
	s.page[s.n++] = c->pages - 1;
	if (c->data_pages < c->pages) {
		s.page[s.n++] = c->data_pages - 1;
		s.page[s.n++] = c->data_pages;
	}
	while (s.n < SAMPLE_MAX)
		s.page[s.n++] = bench_xorshift64(&state) % c->pages;
	return s;
}

static uint8_t want_page[PAGE], got_page[PAGE], junk_page[PAGE];

static void check_host(const uint8_t *host, const struct content *c, const struct sample *s,
		       const char *what)
{
	for (int i = 0; i < s->n; i++) {
		expected_page(c, s->page[i], want_page);
		if (memcmp(host + s->page[i] * PAGE, want_page, PAGE) != 0)
			wrong(what, s->page[i]);
	}
}

/* Through the library: squib_mem_read of each page. */
static void check_guest(const squib_mem_t *mem, const struct content *c, const struct sample *s,
			const char *what)
{
	for (int i = 0; i < s->n; i++) {
		expected_page(c, s->page[i], want_page);
		lib_check(
		    squib_mem_read(mem, SQUIB_GPA(GUEST_BASE + s->page[i] * PAGE), got_page, PAGE),
		    "squib_mem_read");
		if (memcmp(got_page, want_page, PAGE) != 0)
			wrong(what, s->page[i]);
	}
}

/* All len bytes with pread or pwrite, retrying short counts and EINTR; a
 * failure (or an end of file, or a write of nothing) ends the program. */
static void full_move(int fd, uint8_t *at, uint64_t len, uint64_t offset, bool writing)
{
	while (len) {
		ssize_t n = writing ? pwrite(fd, at, (size_t)len, (off_t)offset)
				    : pread(fd, at, (size_t)len, (off_t)offset);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = writing ? ENOSPC : ENODATA;
			host_failed(writing ? "pwrite" : "pread");
		}
		at += n, len -= (uint64_t)n, offset += (uint64_t)n;
	}
}

static void full_pread(int fd, void *buf, uint64_t len, uint64_t offset)
{
	full_move(fd, buf, len, offset, false);
}

static void full_pwrite(int fd, const void *buf, uint64_t len, uint64_t offset)
{
	full_move(fd, (uint8_t *)(uintptr_t)buf, len, offset, true);
}

/* Pages of the file from byte `at` on, as the content says. */
static void check_file(int fd, uint64_t at, const struct content *c, const struct sample *s,
		       const char *what)
{
	for (int i = 0; i < s->n; i++) {
		expected_page(c, s->page[i], want_page);
		full_pread(fd, got_page, PAGE, at + s->page[i] * PAGE);
		if (memcmp(got_page, want_page, PAGE) != 0)
			wrong(what, s->page[i]);
	}
}

/* Before a run, the sample pages get other bytes, so that a run that moved
 * nothing cannot pass the check after it. */
static void scribble_host(uint8_t *host, const struct sample *s)
{
	for (int i = 0; i < s->n; i++)
		memcpy(host + s->page[i] * PAGE, junk_page, PAGE);
}

static void scribble_file(int fd, uint64_t at, const struct sample *s)
{
	for (int i = 0; i < s->n; i++)
		full_pwrite(fd, junk_page, PAGE, at + s->page[i] * PAGE);
}

static uint64_t read_u64_le(int fd, uint64_t offset)
{
	uint8_t bytes[8];
	uint64_t value = 0;

	full_pread(fd, bytes, sizeof(bytes), offset);
	for (int i = 7; i >= 0; i--)
		value = value << 8 | bytes[i];
	return value;
}

/* ---- guests, buffers, files -------------------------------------------- */

/* A handle with one anonymous region of `size` bytes at GUEST_BASE. */
static squib_status_t guest_try_new(uint64_t size, squib_mem_t **out, uint8_t **host)
{
	squib_mem_t *mem = NULL;
	squib_region_opts_t opts = SQUIB_REGION_OPTS_INIT;
	squib_region_info_t info = SQUIB_REGION_INFO_INIT;
	squib_status_t status;

	lib_check(squib_mem_new(&mem), "squib_mem_new");
	lib_check(squib_range_init(&opts.range, SQUIB_GPA(GUEST_BASE), size), "squib_range_init");
	opts.slot = GUEST_SLOT;
	opts.prot = SQUIB_PROT_RW;
	opts.name = "ram";
	status = squib_mem_add_region_opts(mem, &opts);
	if (status != SQUIB_OK) {
		squib_mem_free(mem);
		return status;
	}
	lib_check(squib_mem_get_region(mem, GUEST_SLOT, &info), "squib_mem_get_region");
	*out = mem;
	*host = info.host_addr;
	return SQUIB_OK;
}

static squib_mem_t *guest_new(uint64_t size, uint8_t **host)
{
	squib_mem_t *mem = NULL;

	lib_check(guest_try_new(size, &mem, host), "squib_mem_add_region_opts");
	return mem;
}

static uint8_t *region_host(const squib_mem_t *mem)
{
	squib_region_info_t info = SQUIB_REGION_INFO_INIT;

	lib_check(squib_mem_get_region(mem, GUEST_SLOT, &info), "squib_mem_get_region");
	return info.host_addr;
}

static uint8_t *map_buffer(uint64_t size)
{
	void *map = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (map == MAP_FAILED)
		host_failed("mmap");
	return map;
}

/* A new file in cfg->dir, already unlinked. */
static int scratch_file(const struct config *cfg)
{
	char path[sizeof(cfg->dir) + 32];
	int fd;

	snprintf(path, sizeof(path), "%s/" PROG "-XXXXXX", cfg->dir);
	fd = mkstemp(path);
	if (fd < 0)
		host_failed(path);
	if (unlink(path) != 0)
		host_failed(path);
	return fd;
}

static bool dir_fits(const char *dir, uint64_t need)
{
	struct statvfs vfs;
	char path[300];
	int fd;

	if (!dir || !*dir || strlen(dir) >= 128 || statvfs(dir, &vfs) != 0 ||
	    (uint64_t)vfs.f_bavail * vfs.f_frsize < need)
		return false;
	snprintf(path, sizeof(path), "%s/" PROG "-XXXXXX", dir);
	fd = mkstemp(path);
	if (fd < 0)
		return false;
	(void)unlink(path);
	close(fd);
	return true;
}

static void choose_dir(struct config *cfg)
{
	const char *candidates[] = {"/dev/shm", getenv("TMPDIR"), "/tmp"};
	uint64_t need = cfg->size + 256 * MIB;
	struct statfs fs;

	for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++) {
		if (!dir_fits(candidates[i], need))
			continue;
		snprintf(cfg->dir, sizeof(cfg->dir), "%s", candidates[i]);
		cfg->tmpfs = statfs(cfg->dir, &fs) == 0 && fs.f_type == TMPFS_MAGIC_NUMBER;
		return;
	}
	fprintf(stderr,
		PROG ": no writable directory with %" PRIu64 " MiB free among /dev/shm, "
		     "$TMPDIR and /tmp\n",
		need / MIB);
	exit(EXIT_FAILURE);
}

/* ---- timing ------------------------------------------------------------ */

/* The times of one side of a row, one per run. */
struct series {
	double *ns;
	int n, off_cpu;
};

static struct series series_new(int runs)
{
	return (struct series){bench_xmalloc(PROG, (size_t)runs * sizeof(double)), 0, 0};
}

static void series_add(struct series *s, struct bench_clock t0, struct bench_clock t1)
{
	s->ns[s->n++] = t1.wall - t0.wall;
	s->off_cpu += bench_oncpu(t0, t1) < 0.9;
}

static double series_best(const struct series *s)
{
	double best = s->ns[0];

	for (int i = 1; i < s->n; i++)
		if (s->ns[i] < best)
			best = s->ns[i];
	return best;
}

/* Which side goes first in run r: they alternate. */
static bool lib_first(int r)
{
	return r % 2 == 0;
}

/* ---- results ----------------------------------------------------------- */

enum goal { GOAL_NONE, GOAL_AT_LEAST, GOAL_AT_MOST, GOAL_ABOUT };

struct row {
	const char *id, *label, *lib_label, *base_label, *unit;
	double lib, base, ratio;
	enum goal goal;
	double target;
	bool done;
	char skipped[512]; /* why, if the row was skipped */
};

enum { R_WRITE, R_READ, R_SAVE, R_SAVE_ALONE, R_SIZE, R_MAPLOAD, R_LOAD, R_LOAD_WARM, R_COUNT };

static struct row rows[R_COUNT];
static char notes[2048];

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void note(const char *fmt, ...)
{
	size_t used = strlen(notes);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(notes + used, sizeof(notes) - used, fmt, ap);
	va_end(ap);
}

/* Prints the best, median and worst of a side's runs to stderr. */
static void report_series(const char *id, const char *side, const struct series *s, double bytes)
{
	struct bench_spread spread = bench_spread_of(PROG, s->ns, s->n);

	if (bytes > 0)
		fprintf(stderr,
			"  row %s %s: best %.3f GB/s, median %.3f, worst %.3f (%d runs, %d below "
			"90%% on-CPU)\n",
			id, side, bytes / spread.min, bytes / spread.median, bytes / spread.max,
			s->n, s->off_cpu);
	else
		fprintf(
		    stderr,
		    "  row %s %s: best %.1f us, median %.1f, worst %.1f (%d runs, %d below 90%% "
		    "on-CPU)\n",
		    id, side, spread.min / 1e3, spread.median / 1e3, spread.max / 1e3, s->n,
		    s->off_cpu);
}

/* A throughput row from the bests of both sides. */
static void throughput_row(struct row *row, const struct series *lib, const struct series *base,
			   uint64_t bytes)
{
	row->lib = (double)bytes / series_best(lib);
	row->base = (double)bytes / series_best(base);
	row->ratio = row->lib / row->base;
	row->done = true;
	report_series(row->id, "library", lib, (double)bytes);
	report_series(row->id, "baseline", base, (double)bytes);
}

/* ---- rows 1 and 2: squib_mem_write_to_fd, squib_mem_read_from_fd -------- */

struct big {
	squib_mem_t *mem; /* the guest: every page pattern data */
	uint8_t *host;	  /* its memory */
	uint8_t *buf;	  /* the plain buffer, the same bytes */
	int fd;		  /* rows 1, 2: the cached file; rows 3, 6: the record */
	struct content content;
	struct sample sample;
};

static void row_write(const struct config *cfg, struct big *b)
{
	struct series lib = series_new(cfg->runs), base = series_new(cfg->runs);

	fprintf(stderr, "row 1: squib_mem_write_to_fd vs pwrite, %" PRIu64 " MiB\n",
		cfg->size / MIB);
	for (int r = 0; r < cfg->runs; r++) {
		for (int k = 0; k < 2; k++) {
			bool with_lib = (k == 0) == lib_first(r);
			struct bench_clock t0, t1;
			size_t done = 0;

			scribble_file(b->fd, 0, &b->sample);
			t0 = bench_clock_now();
			if (with_lib)
				lib_check(squib_mem_write_to_fd(b->mem, SQUIB_GPA(GUEST_BASE),
								(size_t)cfg->size, b->fd, 0, &done),
					  "squib_mem_write_to_fd");
			else
				full_pwrite(b->fd, b->buf, cfg->size, 0);
			t1 = bench_clock_now();
			series_add(with_lib ? &lib : &base, t0, t1);
			if (with_lib && done != cfg->size)
				wrong("squib_mem_write_to_fd: *done is not len", 0);
			check_file(b->fd, 0, &b->content, &b->sample,
				   with_lib ? "the file after squib_mem_write_to_fd"
					    : "the file after pwrite");
		}
	}
	throughput_row(&rows[R_WRITE], &lib, &base, cfg->size);
	free(lib.ns);
	free(base.ns);
}

static void row_read(const struct config *cfg, struct big *b)
{
	struct series lib = series_new(cfg->runs), base = series_new(cfg->runs);

	fprintf(stderr, "row 2: squib_mem_read_from_fd vs pread, %" PRIu64 " MiB\n",
		cfg->size / MIB);
	for (int r = 0; r < cfg->runs; r++) {
		for (int k = 0; k < 2; k++) {
			bool with_lib = (k == 0) == lib_first(r);
			struct bench_clock t0, t1;
			size_t done = 0;

			scribble_host(with_lib ? b->host : b->buf, &b->sample);
			t0 = bench_clock_now();
			if (with_lib)
				lib_check(squib_mem_read_from_fd(b->mem, SQUIB_GPA(GUEST_BASE),
								 (size_t)cfg->size, b->fd, 0,
								 &done),
					  "squib_mem_read_from_fd");
			else
				full_pread(b->fd, b->buf, cfg->size, 0);
			t1 = bench_clock_now();
			series_add(with_lib ? &lib : &base, t0, t1);
			if (with_lib) {
				if (done != cfg->size)
					wrong("squib_mem_read_from_fd: *done is not len", 0);
				check_guest(b->mem, &b->content, &b->sample,
					    "the guest after squib_mem_read_from_fd");
			} else {
				check_host(b->buf, &b->content, &b->sample,
					   "the buffer after pread");
			}
		}
	}
	if (memcmp(b->host, b->buf, (size_t)cfg->size) != 0)
		wrong("the guest and the buffer differ after the reads", 0);
	throughput_row(&rows[R_READ], &lib, &base, cfg->size);
	free(lib.ns);
	free(base.ns);
}

/* ---- row 3: squib_mem_save --------------------------------------------- */

/* What a file record of one full region of `size` bytes at a page-aligned
 * base is: the header and table in page 0, the data from page 1, then a
 * run of 32 bytes per 1 MiB. */
static uint64_t full_record_bytes(uint64_t size)
{
	return PAGE + size + (size + REC_RUN_MAX - 1) / REC_RUN_MAX * REC_RUN_BYTES;
}

static void check_full_record(int fd, const struct big *b, uint64_t size)
{
	struct stat st;
	char magic[8];

	if (fstat(fd, &st) != 0)
		host_failed("fstat");
	if ((uint64_t)st.st_size != full_record_bytes(size))
		wrong("the saved file is not a full record's size", 0);
	full_pread(fd, magic, sizeof(magic), 0);
	if (memcmp(magic, "SQUIBSNP", sizeof(magic)) != 0 ||
	    read_u64_le(fd, REC_DATA_OFFSET) != PAGE ||
	    read_u64_le(fd, REC_RECORD_BYTES) != full_record_bytes(size))
		wrong("the saved file's header is not that of the record", 0);
	check_file(fd, PAGE, &b->content, &b->sample, "the page data of the saved record");
}

/* Row 3 (the save with its helper thread), 3a (the calling thread alone)
 * and their baseline, in turn, the first of the three rotating. */
static void row_save(const struct config *cfg, struct big *b)
{
	struct series helped = series_new(cfg->runs), alone = series_new(cfg->runs),
		      base = series_new(cfg->runs);
	double helped_cpu = 0, base_cpu = 0;

	fprintf(stderr, "rows 3, 3a: squib_mem_save vs pwrite, %" PRIu64 " MiB\n", cfg->size / MIB);
	for (int r = 0; r < cfg->runs; r++) {
		/* Each side goes first as often as the others, and the last
		 * run ends with a save (row 6 loads its record; with or
		 * without the helper, the bytes are the same). */
		for (int k = 0; k < 3; k++) {
			int side =
			    (k + r + (3 - cfg->runs % 3)) % 3; /* 0 helped, 1 alone, 2 base */
			squib_snapshot_opts_t opts = SQUIB_SNAPSHOT_OPTS_INIT;
			struct bench_clock t0, t1;
			double cpu0, cpu1;

			opts.flags = side == 0 ? SQUIB_SAVE_HELPER_THREAD : 0;
			if (ftruncate(b->fd, 0) != 0)
				host_failed("ftruncate");
			cpu0 = bench_ns(CLOCK_PROCESS_CPUTIME_ID);
			t0 = bench_clock_now();
			if (side < 2)
				lib_check(squib_mem_save(b->mem, b->fd, &opts), "squib_mem_save");
			else
				full_pwrite(b->fd, b->buf, cfg->size, 0);
			t1 = bench_clock_now();
			cpu1 = bench_ns(CLOCK_PROCESS_CPUTIME_ID);
			series_add(side == 0 ? &helped : side == 1 ? &alone : &base, t0, t1);
			if (side == 0)
				helped_cpu += cpu1 - cpu0;
			if (side == 2)
				base_cpu += cpu1 - cpu0;
			if (side < 2)
				check_full_record(b->fd, b, cfg->size);
			else
				check_file(b->fd, 0, &b->content, &b->sample,
					   "the file after pwrite");
		}
	}
	throughput_row(&rows[R_SAVE], &helped, &base, cfg->size);
	throughput_row(&rows[R_SAVE_ALONE], &alone, &base, cfg->size);
	note("row 3: CPU time of the process per run, the save with its helper thread %.0f ms, "
	     "pwrite %.0f ms (means of %d runs)\n",
	     helped_cpu / helped.n / 1e6, base_cpu / base.n / 1e6, cfg->runs);
	free(helped.ns);
	free(alone.ns);
	free(base.ns);
}

/* ---- row 6: the copying squib_mem_load --------------------------------- */

static void row_load(const struct config *cfg, struct big *b)
{
	struct series lib = series_new(cfg->runs), fresh = series_new(cfg->runs),
		      warm = series_new(cfg->runs);
	squib_snapshot_opts_t opts = SQUIB_SNAPSHOT_OPTS_INIT;
	uint64_t data_at = read_u64_le(b->fd, REC_DATA_OFFSET);
	struct row *row = &rows[R_LOAD], *row_warm = &rows[R_LOAD_WARM];

	fprintf(stderr,
		"row 6: copying squib_mem_load vs pread into fresh memory, %" PRIu64 " MiB\n",
		cfg->size / MIB);
	/* In the page cache already (just written); read once more anyway,
	 * into the pre-faulted buffer, which it leaves as it was. */
	full_pread(b->fd, b->buf, cfg->size, data_at);
	for (int r = 0; r < cfg->runs; r++) {
		for (int k = 0; k < 3; k++) {
			int side = (r + k) % 3; /* 0 library, 1 fresh buffer, 2 warm buffer */
			struct bench_clock t0, t1;

			if (side == 0) {
				squib_mem_t *dst = NULL;

				lib_check(squib_mem_new(&dst), "squib_mem_new");
				if (lseek(b->fd, 0, SEEK_SET) != 0)
					host_failed("lseek");
				t0 = bench_clock_now();
				lib_check(squib_mem_load(dst, b->fd, &opts), "squib_mem_load");
				t1 = bench_clock_now();
				series_add(&lib, t0, t1);
				check_guest(dst, &b->content, &b->sample,
					    "the guest after a copying squib_mem_load");
				if (r == cfg->runs - 1 &&
				    memcmp(region_host(dst), b->host, (size_t)cfg->size) != 0)
					wrong("the loaded guest differs from the saved one", 0);
				squib_mem_free(dst);
			} else if (side == 1) {
				uint8_t *map;

				t0 = bench_clock_now();
				map = map_buffer(cfg->size);
				full_pread(b->fd, map, cfg->size, data_at);
				t1 = bench_clock_now();
				series_add(&fresh, t0, t1);
				check_host(map, &b->content, &b->sample,
					   "the fresh buffer after pread");
				if (munmap(map, (size_t)cfg->size) != 0)
					host_failed("munmap");
			} else {
				scribble_host(b->buf, &b->sample);
				t0 = bench_clock_now();
				full_pread(b->fd, b->buf, cfg->size, data_at);
				t1 = bench_clock_now();
				series_add(&warm, t0, t1);
				check_host(b->buf, &b->content, &b->sample,
					   "the pre-faulted buffer after pread");
			}
		}
	}
	throughput_row(row, &lib, &fresh, cfg->size);
	row_warm->lib = row->lib;
	row_warm->base = (double)cfg->size / series_best(&warm);
	row_warm->ratio = row_warm->lib / row_warm->base;
	row_warm->done = true;
	report_series(row_warm->id, "baseline (pre-faulted)", &warm, (double)cfg->size);
	free(lib.ns);
	free(fresh.ns);
	free(warm.ns);
}

static bool wanted(const struct config *cfg, int row)
{
	return !cfg->only || cfg->only == row;
}

static void rows_full_guest(const struct config *cfg)
{
	struct big b;

	b.content = (struct content){cfg->size / PAGE, 1, cfg->size / PAGE};
	b.sample = sample_of(&b.content, 0x736e617073686f74u);
	b.mem = guest_new(cfg->size, &b.host);
	b.buf = map_buffer(cfg->size);
	/* Page by page, one of each in turn: the first 1 GiB faulted in
	 * measured some 5-7 % slower here than the second, whichever it was,
	 * so neither side gets all of the host's first pages. */
	for (uint64_t at = 0; at < cfg->size; at += PAGE) {
		bench_fill_pattern(b.host + at, at, PAGE);
		memcpy(b.buf + at, b.host + at, PAGE);
	}
	b.fd = scratch_file(cfg);
	full_pwrite(b.fd, b.buf, cfg->size, 0); /* into the page cache */

	if (wanted(cfg, 1))
		row_write(cfg, &b);
	if (wanted(cfg, 2))
		row_read(cfg, &b);
	if (wanted(cfg, 3))
		row_save(cfg, &b);
	if (wanted(cfg, 6)) {
		if (!wanted(cfg, 3)) { /* row 6 loads row 3's record */
			squib_snapshot_opts_t opts = SQUIB_SNAPSHOT_OPTS_INIT;

			lib_check(squib_mem_save(b.mem, b.fd, &opts), "squib_mem_save");
			check_full_record(b.fd, &b, cfg->size);
		}
		row_load(cfg, &b);
	}

	close(b.fd);
	if (munmap(b.buf, (size_t)cfg->size) != 0)
		host_failed("munmap");
	squib_mem_free(b.mem);
}

/* ---- row 4: the size of a sparse guest's file -------------------------- */

static void row_size(const struct config *cfg)
{
	struct content c = {cfg->size / PAGE, SPARSE_EVERY, cfg->size / PAGE};
	struct sample s = sample_of(&c, 0x7370617273650001u);
	uint64_t touched = (c.pages + SPARSE_EVERY - 1) / SPARSE_EVERY * PAGE;
	squib_snapshot_opts_t opts = SQUIB_SNAPSHOT_OPTS_INIT;
	struct row *row = &rows[R_SIZE];
	squib_mem_t *src, *dst = NULL;
	uint8_t *host;
	struct bench_clock t0, t1;
	struct stat st;
	uint64_t runs, allocated;
	int fd = scratch_file(cfg);

	fprintf(stderr, "row 4: file of a %" PRIu64 " MiB guest, every %dth page data\n",
		cfg->size / MIB, SPARSE_EVERY);
	src = guest_new(cfg->size, &host);
	fill(host, &c);
	t0 = bench_clock_now();
	lib_check(squib_mem_save(src, fd, &opts), "squib_mem_save");
	t1 = bench_clock_now();
	if (fstat(fd, &st) != 0)
		host_failed("fstat");
	runs = read_u64_le(fd, REC_RUN_COUNT);
	allocated = (uint64_t)st.st_blocks * 512;
	if ((uint64_t)st.st_size != read_u64_le(fd, REC_RECORD_BYTES) ||
	    (uint64_t)st.st_size < cfg->size)
		wrong("the sparse guest's file is not its record's size", 0);
	check_file(fd, read_u64_le(fd, REC_DATA_OFFSET), &c, &s,
		   "the page data of the sparse record");

	/* And back: a copying load gives the same guest. */
	lib_check(squib_mem_new(&dst), "squib_mem_new");
	if (lseek(fd, 0, SEEK_SET) != 0)
		host_failed("lseek");
	lib_check(squib_mem_load(dst, fd, &opts), "squib_mem_load");
	check_guest(dst, &c, &s, "the sparse guest loaded back");
	if (memcmp(region_host(dst), host, (size_t)cfg->size) != 0)
		wrong("the sparse guest loaded back differs from the saved one", 0);
	squib_mem_free(dst);
	squib_mem_free(src);
	close(fd);

	row->lib = (double)allocated / (double)MIB;
	row->base = (double)touched / (double)MIB;
	row->ratio = (double)allocated / (double)touched;
	row->done = true;
	note("row 4: st_size %.1f MiB, allocated %.3f MiB = %.0f MiB of data + the run table "
	     "%.3f MiB (%" PRIu64 " runs) + %.1f KiB (the header page, the file system's "
	     "rounding); the save took %.0f ms\n",
	     (double)st.st_size / (double)MIB, row->lib, row->base,
	     (double)(runs * REC_RUN_BYTES) / (double)MIB, runs,
	     ((double)allocated - (double)touched - (double)(runs * REC_RUN_BYTES)) / 1024.0,
	     (t1.wall - t0.wall) / 1e6);
}

/* ---- row 5: squib_mem_load with SQUIB_LOAD_MAP_PRIVATE ----------------- */

/* The record of a guest of `size` bytes whose first LAYOUT_DATA_PAGES
 * pages hold data, in a new file; -1 (and *why) if the host cannot. */
static int layout_file(const struct config *cfg, uint64_t size, char *why, size_t why_len)
{
	struct content c = {size / PAGE, 1, LAYOUT_DATA_PAGES};
	struct sample s = sample_of(&c, 0x6c61796f75740001u);
	squib_snapshot_opts_t opts = SQUIB_SNAPSHOT_OPTS_INIT;
	squib_mem_t *mem = NULL;
	uint8_t *host;
	struct bench_clock t0, t1;
	struct statvfs vfs;
	struct stat st;
	squib_status_t status;
	int fd;

	if (statvfs(cfg->dir, &vfs) != 0 || (uint64_t)vfs.f_bavail * vfs.f_frsize < 64 * MIB) {
		snprintf(why, why_len, "less than 64 MiB free in %s", cfg->dir);
		return -1;
	}
	status = guest_try_new(size, &mem, &host);
	if (status == SQUIB_E_NO_MEMORY) {
		snprintf(why, why_len, "no memory for a %" PRIu64 " MiB guest: %s", size / MIB,
			 squib_last_error());
		return -1;
	}
	lib_check(status, "squib_mem_add_region_opts");
	fill(host, &c);
	fd = scratch_file(cfg);
	/* A sparse file of that size must be possible (RLIMIT_FSIZE, the
	 * file system's limits). */
	if (ftruncate(fd, (off_t)(size + MIB)) != 0 || ftruncate(fd, 0) != 0) {
		snprintf(why, why_len, "%s cannot hold a sparse %" PRIu64 " MiB file: %s", cfg->dir,
			 size / MIB, strerror(errno));
		close(fd);
		squib_mem_free(mem);
		return -1;
	}
	t0 = bench_clock_now();
	status = squib_mem_save(mem, fd, &opts);
	t1 = bench_clock_now();
	if (status == SQUIB_E_IO || status == SQUIB_E_NO_MEMORY) {
		snprintf(why, why_len, "the save of the %" PRIu64 " MiB guest failed: %s",
			 size / MIB, squib_last_error());
		close(fd);
		squib_mem_free(mem);
		return -1;
	}
	lib_check(status, "squib_mem_save");
	squib_mem_free(mem);
	if (fstat(fd, &st) != 0)
		host_failed("fstat");
	if ((uint64_t)st.st_size != read_u64_le(fd, REC_RECORD_BYTES) ||
	    (uint64_t)st.st_size < size)
		wrong("the layout's file is not its record's size", 0);
	check_file(fd, read_u64_le(fd, REC_DATA_OFFSET), &c, &s, "the page data of a layout");
	note("row 5: the %" PRIu64 " MiB layout's file: st_size %.1f MiB, allocated %.2f MiB; "
	     "its save (setup, untimed) took %.2f s\n",
	     size / MIB, (double)st.st_size / (double)MIB,
	     (double)((uint64_t)st.st_blocks * 512) / (double)MIB, (t1.wall - t0.wall) / 1e9);
	return fd;
}

static void row_mapload(const struct config *cfg)
{
	struct row *row = &rows[R_MAPLOAD];
	struct series big = series_new(cfg->runs), small = series_new(cfg->runs);
	squib_snapshot_opts_t opts = SQUIB_SNAPSHOT_OPTS_INIT;
	uint64_t sizes[2] = {cfg->layout_big, cfg->layout_small};
	struct content c[2];
	struct sample s[2];
	int fds[2] = {-1, -1};
	bool mapped = true;

	fprintf(stderr,
		"row 5: squib_mem_load MAP_PRIVATE, %" PRIu64 " MiB vs %" PRIu64
		" MiB layout (saving them first)\n",
		cfg->layout_big / MIB, cfg->layout_small / MIB);
	opts.flags = SQUIB_LOAD_MAP_PRIVATE;
	for (int i = 0; i < 2; i++) {
		c[i] = (struct content){sizes[i] / PAGE, 1, LAYOUT_DATA_PAGES};
		s[i] = sample_of(&c[i], 0x6d61707065640001u + (uint64_t)i);
		fds[i] = layout_file(cfg, sizes[i], row->skipped, sizeof(row->skipped));
		if (fds[i] < 0)
			goto out;
	}
	for (int r = 0; r < cfg->runs; r++) {
		for (int k = 0; k < 2; k++) {
			int i = (k == 0) == lib_first(r) ? 0 : 1;
			squib_region_info_t info = SQUIB_REGION_INFO_INIT;
			struct bench_clock t0, t1;
			squib_mem_t *dst = NULL;
			squib_status_t status;

			lib_check(squib_mem_new(&dst), "squib_mem_new");
			if (lseek(fds[i], 0, SEEK_SET) != 0)
				host_failed("lseek");
			t0 = bench_clock_now();
			status = squib_mem_load(dst, fds[i], &opts);
			t1 = bench_clock_now();
			if (status == SQUIB_E_NO_MEMORY) {
				snprintf(row->skipped, sizeof(row->skipped),
					 "no memory to map the %" PRIu64 " MiB layout: %s",
					 sizes[i] / MIB, squib_last_error());
				squib_mem_free(dst);
				goto out;
			}
			lib_check(status, "squib_mem_load");
			series_add(i == 0 ? &big : &small, t0, t1);
			check_guest(dst, &c[i], &s[i],
				    "the guest after a MAP_PRIVATE squib_mem_load");
			lib_check(squib_mem_get_region(dst, GUEST_SLOT, &info),
				  "squib_mem_get_region");
			if (info.range.size != sizes[i])
				wrong("the loaded region is not the saved one's size", 0);
			mapped = mapped && (info.flags & SQUIB_REGION_FILE);
			squib_mem_free(dst);
		}
	}
	row->lib = series_best(&big) / 1e3;
	row->base = series_best(&small) / 1e3;
	row->ratio = row->lib / row->base;
	row->done = true;
	report_series(row->id, "library (big layout)", &big, 0);
	report_series(row->id, "baseline (small layout)", &small, 0);
	note("row 5: the loaded regions %s private mappings of the file\n",
	     mapped ? "were" : "were NOT all");
out:
	for (int i = 0; i < 2; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(big.ns);
	free(small.ns);
}

/* ---- output ------------------------------------------------------------ */

static const char *mib_text(uint64_t bytes, char *out, size_t len)
{
	if (bytes >= GIB && bytes % GIB == 0)
		snprintf(out, len, "%" PRIu64 " GiB", bytes / GIB);
	else
		snprintf(out, len, "%" PRIu64 " MiB", bytes / MIB);
	return out;
}

static void row_set(int i, const char *id, const char *label, const char *lib_label,
		    const char *base_label, const char *unit, enum goal goal, double target)
{
	rows[i] = (struct row){.id = id,
			       .label = label,
			       .lib_label = lib_label,
			       .base_label = base_label,
			       .unit = unit,
			       .goal = goal,
			       .target = target};
}

static void rows_init(const struct config *cfg)
{
	static char l_write[128], l_read[128], l_save[128], l_save_alone[128], l_size[128],
	    b_size[128], l_map[128], l_mapb[128], l_maps[128], l_load[128], l_warm[128];
	char a[32], big[32], small[32];

	mib_text(cfg->size, a, sizeof(a));
	mib_text(cfg->layout_big, big, sizeof(big));
	mib_text(cfg->layout_small, small, sizeof(small));
	snprintf(l_write, sizeof(l_write), "write_to_fd %s, cached file", a);
	snprintf(l_read, sizeof(l_read), "read_from_fd %s, cached file", a);
	snprintf(l_save, sizeof(l_save), "save %s, every page data, helper", a);
	snprintf(l_save_alone, sizeof(l_save_alone), "save %s, the calling thread alone", a);
	snprintf(l_size, sizeof(l_size), "save %s, every %dth page: file", a, SPARSE_EVERY);
	snprintf(b_size, sizeof(b_size), "the %" PRIu64 " MiB of data in it",
		 cfg->size / SPARSE_EVERY / MIB);
	snprintf(l_map, sizeof(l_map), "load MAP_PRIVATE, %s vs %s layout", big, small);
	snprintf(l_mapb, sizeof(l_mapb), "MAP_PRIVATE load of the %s layout (4 MiB data)", big);
	snprintf(l_maps, sizeof(l_maps), "the same of the %s layout", small);
	snprintf(l_load, sizeof(l_load), "load (copying) %s record", a);
	snprintf(l_warm, sizeof(l_warm), "load %s vs pread, pre-faulted", a);

	row_set(R_WRITE, "1", l_write, "squib_mem_write_to_fd of the guest region",
		"pwrite of a plain buffer, same file", "GB/s", GOAL_AT_LEAST, 0.95);
	row_set(R_READ, "2", l_read, "squib_mem_read_from_fd into the guest region",
		"pread into the plain buffer (faulted in)", "GB/s", GOAL_AT_LEAST, 0.95);
	row_set(R_SAVE, "3", l_save, "squib_mem_save, file record, SQUIB_SAVE_HELPER_THREAD",
		"pwrite of the plain buffer (both after ftruncate 0)", "GB/s", GOAL_AT_LEAST, 0.90);
	row_set(R_SAVE_ALONE, "3a", l_save_alone, "squib_mem_save, file record, flags 0",
		"the same pwrite", "GB/s", GOAL_NONE, 0);
	row_set(R_SIZE, "4", l_size, "the file's allocated bytes (st_blocks * 512)", b_size, "MiB",
		GOAL_ABOUT, 1.0);
	row_set(R_MAPLOAD, "5", l_map, l_mapb, l_maps, "us", GOAL_AT_MOST, 2.0);
	row_set(R_LOAD, "6", l_load, "squib_mem_load, flags 0, into a fresh handle",
		"mmap of a fresh buffer + pread of the page data", "GB/s", GOAL_AT_LEAST, 0.90);
	row_set(R_LOAD_WARM, "6b", l_warm, "the same load (row 6's figure)",
		"pread of the page data into the pre-faulted buffer", "GB/s", GOAL_NONE, 0);
}

/* "About 1": within 10 %, what the run table and a file system's rounding
 * can add. */
static const char *verdict(const struct row *r, char *target, size_t len)
{
	switch (r->goal) {
	case GOAL_AT_LEAST:
		snprintf(target, len, ">= %.2f", r->target);
		return r->ratio >= r->target ? "PASS" : "MISS";
	case GOAL_AT_MOST:
		snprintf(target, len, "<= %.2f", r->target);
		return r->ratio <= r->target ? "PASS" : "MISS";
	case GOAL_ABOUT:
		snprintf(target, len, "~%.2f", r->target);
		return r->ratio >= 0.95 * r->target && r->ratio <= 1.10 * r->target ? "PASS"
										    : "MISS";
	case GOAL_NONE:
		break;
	}
	snprintf(target, len, "-");
	return "info";
}

static void print_rows(const struct config *cfg)
{
	const char *thp = "unknown";
	char thp_text[128] = "";
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");

	if (f) {
		if (fgets(thp_text, sizeof(thp_text), f)) {
			char *lb = strchr(thp_text, '['), *rb = lb ? strchr(lb, ']') : NULL;

			if (lb && rb) {
				*rb = '\0';
				thp = lb + 1;
			}
		}
		fclose(f);
	}
	printf("\n" PROG " %s (libsquibcore %s), %s run: best of %d runs each, library and "
	       "baseline alternating\n",
	       SQUIB_CORE_VERSION_STRING, squib_core_version(), cfg->quick ? "quick" : "full",
	       cfg->runs);
	printf("files in %s (%s, unlinked at once); transparent huge pages: %s\n", cfg->dir,
	       cfg->tmpfs ? "tmpfs: always in the page cache" : "not tmpfs", thp);
	printf("GB/s = 10^9 bytes per second; ratio = library / baseline (row 4: allocated / "
	       "data, row 5: time big / small)\n\n");
	printf("%-3s %-40s %10s %10s %-5s %7s %8s  %s\n", "row", "metric", "library", "baseline",
	       "unit", "ratio", "target", "result");
	for (int i = 0; i < R_COUNT; i++) {
		const struct row *r = &rows[i];
		char target[16];
		const char *v = verdict(r, target, sizeof(target));

		if (!r->done)
			printf("%-3s %-40s %10s %10s %-5s %7s %8s  skipped: %s\n", r->id, r->label,
			       "-", "-", r->unit, "-", target,
			       r->skipped[0] ? r->skipped : "not run (--row)");
		else
			printf("%-3s %-40s %10.3f %10.3f %-5s %7.3f %8s  %s\n", r->id, r->label,
			       r->lib, r->base, r->unit, r->ratio, target, v);
	}
	printf("\nlibrary / baseline of each row:\n");
	for (int i = 0; i < R_COUNT; i++)
		printf("  %-3s %s / %s\n", rows[i].id, rows[i].lib_label, rows[i].base_label);
	printf("\n%s", notes);
}

/* ---- main -------------------------------------------------------------- */

static void usage(FILE *to)
{
	fprintf(to, "usage: " PROG " [--quick] [--runs N] [--row N]\n"
		    "  --quick   smoke run: 32 MiB guests, 256 MiB vs 16 MiB layouts, 2 runs\n"
		    "  --runs N  runs of each side of each row, the best counts (default 5)\n"
		    "  --row N   run only row N (1-6; 3 includes 3a, 6 includes 6b), e.g. under "
		    "perf record\n");
}

int main(int argc, char **argv)
{
	struct config cfg = {0};
	int runs = 0;
	double start = bench_ns(CLOCK_MONOTONIC);

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--quick") == 0) {
			cfg.quick = true;
		} else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc &&
			   bench_parse_int(argv[i + 1], 1, 1000, &runs)) {
			i++;
		} else if (strcmp(argv[i], "--row") == 0 && i + 1 < argc &&
			   bench_parse_int(argv[i + 1], 1, 6, &cfg.only)) {
			i++;
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return EXIT_SUCCESS;
		} else {
			usage(stderr);
			return EXIT_FAILURE;
		}
	}
	cfg.size = cfg.quick ? 32 * MIB : GIB;
	cfg.layout_big = cfg.quick ? 256 * MIB : 16 * GIB;
	cfg.layout_small = 16 * MIB;
	cfg.runs = runs ? runs : cfg.quick ? 2 : 5;
	memset(junk_page, 0xe5, sizeof(junk_page));
	choose_dir(&cfg);
	rows_init(&cfg);
	fprintf(stderr, PROG ": files in %s\n", cfg.dir);

	if (wanted(&cfg, 1) || wanted(&cfg, 2) || wanted(&cfg, 3) || wanted(&cfg, 6))
		rows_full_guest(&cfg);
	if (wanted(&cfg, 4))
		row_size(&cfg);
	if (wanted(&cfg, 5))
		row_mapload(&cfg);
	print_rows(&cfg);
	fprintf(stderr, PROG ": done in %.1f s\n", (bench_ns(CLOCK_MONOTONIC) - start) / 1e9);
	return EXIT_SUCCESS;
}
