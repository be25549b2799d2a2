/* SPDX-License-Identifier: MIT */
/*
 * squib-virtio: the virtio-blk device of examples/virtio_blk end to end,
 * in requests per second of 4 KiB reads from a file in the page cache,
 * beside the same device and driver with no library
 * (docs/PERFORMANCE.md, "A virtio-blk device end to end").
 *
 *   squib-virtio [--quick] [--reps N] [--requests N]
 *
 * The library variant: the guest's driver (virtio_driver.c, this thread)
 * writes each request, its three descriptors and the avail entry into
 * guest memory through the library and publishes them with
 * squib_mem_store_u16_release; the device thread (examples/virtio_blk/
 * blk_device.c, as the example runs it) polls the avail index with
 * squib_mem_load_u16_acquire, walks the chain with typed reads, validates
 * it, preadv()s the block straight into the iovec of squib_mem_translate,
 * writes the status byte and the used entry and publishes it with
 * squib_mem_store_u16_release; the driver polls the used index and checks
 * every completion's id, length, status and data.
 *
 * The raw variant: the same two source files, compiled a second time
 * against virtio_raw_mem.h (plain loads and stores with a bounds check of
 * the one mapping, __atomic acquire/release for the indexes, one iovec),
 * so that the two differ only in the guest-memory calls. Both run over the
 * same guest memory (one mapping, registered with the library as the
 * caller's mapping) and read the same blocks in the same order.
 *
 * Method: a round is one pass of each variant, the order alternating from
 * round to round, each pass starting its own device thread (an idle
 * device would poll and take a core from the other). A pass is
 * `requests` reads (the file's blocks in a fixed-seed random order) with
 * 32 in flight, or a quarter as many with 1 in flight; and, to price the
 * library's share of a request, eight times as many null requests (a
 * header and a status descriptor, no data: a read of 0 sectors, which the
 * device completes without a system call), 32 in flight. Figures are the
 * medians over the rounds; the ratio is taken round by round (library
 * req/s / raw req/s, higher is better) and its median is reported with a
 * distribution-free 95 % confidence interval, over all rounds and over
 * the calm ones (both passes had a CPU for each of their two threads; on
 * a shared 2-CPU machine many do not). Wall-clock time, nothing pinned;
 * an untimed pass of each variant comes first.
 *
 * A report, not a test: exit 0 whatever the figures, 2 if a library call
 * fails, 3 if a completion brings other data, status or id than it should,
 * 1 for a usage or host error. --quick (the ctest smoke run) checks every
 * word of every block and asserts nothing about timings.
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
#include "virtio_bench.h"

#define PROG "squib-virtio"

#define GUEST_SLOT 0u
#define START_IDX 0xff00u /* both indexes wrap within the first pass */
#define NSETTINGS 3

struct config {
	int reps;
	size_t requests; /* per pass at depth 32 */
	uint64_t disk_size;
	bool quick;
};

enum variant { V_LIB, V_RAW, V_COUNT };

static const char *const variant_names[V_COUNT] = {"library", "raw"};

/* ---- failures ---------------------------------------------------------- */

__attribute__((cold, noinline)) static void host_failed(const char *what)
{
	fprintf(stderr, PROG ": %s: %s\n", what, strerror(errno));
	exit(EXIT_FAILURE);
}

static void lib_check(squib_status_t status, const char *call)
{
	if (status != SQUIB_OK) {
		fprintf(stderr, PROG ": %s failed: %s: %s\n", call, squib_strerror(status),
			squib_last_error());
		exit(EXIT_LIBRARY_FAILED);
	}
}

/* ---- set-up ------------------------------------------------------------ */

static const char *fs_name(int fd)
{
	struct statfs fs;

	if (fstatfs(fd, &fs) != 0)
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

/* A temporary file of disk_size bytes holding bench_pattern() of each
 * word's offset, unlinked at once and read through once, so that every
 * block is in the page cache before anything is timed. */
static int make_disk(uint64_t disk_size, const char **dir_out)
{
	const char *tmp = getenv("TMPDIR");
	const char *dir = tmp && *tmp ? tmp : "/tmp";
	size_t chunk = 1 * MIB;
	uint8_t *buf = bench_xmalloc(PROG, chunk);
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/squib-virtio.XXXXXX", dir);
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0)
		host_failed(path);
	unlink(path);
	for (uint64_t at = 0; at < disk_size; at += chunk) {
		bench_fill_pattern(buf, at, chunk);
		if (pwrite(fd, buf, chunk, (off_t)at) != (ssize_t)chunk)
			host_failed("writing the disk file");
	}
	for (uint64_t at = 0; at < disk_size; at += chunk) {
		uint32_t first;

		if (pread(fd, buf, chunk, (off_t)at) != (ssize_t)chunk)
			host_failed("reading the disk file");
		memcpy(&first, buf, sizeof(first));
		if (first != bench_pattern(at)) {
			fprintf(stderr, PROG ": the disk file does not read back\n");
			exit(EXIT_FAILURE);
		}
	}
	free(buf);
	*dir_out = dir;
	return fd;
}

/* ---- the rounds -------------------------------------------------------- */

struct setting {
	const char *name, *label;
	unsigned depth;
	size_t requests;
	bool has_target;
	double target; /* library / raw throughput, at least */
	bool null_io;
};

struct figures {
	double ns[V_COUNT][1001]; /* ns per request of each round */
	double cpus[V_COUNT][1001];
	double ratio[1001]; /* library req/s / raw req/s, per round */
};

static void one_pass(enum variant v, squib_mem_t *lib_mem, struct raw_guest *raw,
		     const struct vpass_config *cfg, struct vpass_result *res)
{
	static struct blk_device dev;

	if (v == V_LIB)
		virtio_pass(lib_mem, &dev, cfg, res);
	else
		raw_virtio_pass(raw_guest_handle(raw), &dev, cfg, res);
	if (res->failure[0]) {
		fprintf(stderr, PROG ": %s variant: %s\n", variant_names[v], res->failure);
		if (v == V_LIB)
			fprintf(stderr, PROG ": last library error: %s\n", squib_last_error());
		exit(v == V_LIB ? EXIT_LIBRARY_FAILED : EXIT_FAILURE);
	}
	if (res->bad || res->completed != cfg->requests) {
		fprintf(stderr,
			PROG ": %s variant: %" PRIu64 " of %" PRIu64
			     " completions had a wrong id, length, status or data\n",
			variant_names[v], res->bad, res->completed);
		exit(EXIT_WRONG_DATA);
	}
}

/* A round is calm when both its passes had a CPU for each thread nearly
 * all along (CPUs used >= CALM_CPUS): then the two passes ran under the
 * same conditions, which a round where another process took a CPU from
 * one pass and not the other cannot claim. */
#define CALM_CPUS 1.9

struct outcome {
	struct bench_spread ns[V_COUNT], ratio;
	struct bench_spread calm; /* the ratio over calm rounds; calm.n of them */
	double cpus[V_COUNT];	  /* median */
};

static struct outcome run_setting(const struct config *cfg, const struct setting *set,
				  squib_mem_t *lib_mem, struct raw_guest *raw, int fd,
				  const uint32_t *blocks)
{
	static struct figures fig;
	struct vpass_config pass = {
	    .q = {VB_QUEUE_DESC, VB_QUEUE_AVAIL, VB_QUEUE_USED, VB_QUEUE_SIZE},
	    .depth = set->depth,
	    .requests = set->requests,
	    .blocks = blocks,
	    .start_idx = START_IDX,
	    .check_all = cfg->quick,
	    .null_io = set->null_io,
	    .fd = fd,
	    .capacity = cfg->disk_size / VIRTIO_BLK_SECTOR_SIZE,
	};
	struct vpass_result res;
	struct outcome out;

	fprintf(stderr, "%s: %zu reads per pass, %u in flight, %d rounds\n", set->label,
		set->requests, set->depth, cfg->reps);
	for (int v = 0; v < V_COUNT; v++)
		one_pass((enum variant)v, lib_mem, raw, &pass, &res); /* untimed */
	for (int r = 0; r < cfg->reps; r++) {
		for (int turn = 0; turn < V_COUNT; turn++) {
			enum variant v = (enum variant)((r + turn) % V_COUNT);

			one_pass(v, lib_mem, raw, &pass, &res);
			fig.ns[v][r] = res.ns / (double)set->requests;
			fig.cpus[v][r] = res.cpus;
		}
		fig.ratio[r] = fig.ns[V_RAW][r] / fig.ns[V_LIB][r];
		fprintf(stderr,
			"  round %2d: library %7.0f ns/req, raw %7.0f ns/req, ratio %.3f "
			"(CPUs used %.2f / %.2f)\n",
			r + 1, fig.ns[V_LIB][r], fig.ns[V_RAW][r], fig.ratio[r], fig.cpus[V_LIB][r],
			fig.cpus[V_RAW][r]);
	}
	for (int v = 0; v < V_COUNT; v++) {
		out.ns[v] = bench_spread_of(PROG, fig.ns[v], cfg->reps);
		out.cpus[v] = bench_spread_of(PROG, fig.cpus[v], cfg->reps).median;
	}
	out.ratio = bench_spread_of(PROG, fig.ratio, cfg->reps);
	{
		double calm[1001];
		int n = 0;

		for (int r = 0; r < cfg->reps; r++)
			if (fig.cpus[V_LIB][r] >= CALM_CPUS && fig.cpus[V_RAW][r] >= CALM_CPUS)
				calm[n++] = fig.ratio[r];
		out.calm = bench_spread_of(PROG, calm, n);
	}
	return out;
}

/* ---- main -------------------------------------------------------------- */

static void usage(FILE *to)
{
	fprintf(to, "usage: " PROG " [--quick] [--reps N] [--requests N]\n"
		    "  --quick       smoke run: every word checked, 3 rounds, < 1 s\n"
		    "  --reps N      rounds (default 101, quick 3); medians are reported\n"
		    "  --requests N  reads per pass at depth 32 (default 2000); depth 1\n"
		    "                does a quarter as many, null requests 8 times as many\n");
}

static void parse_args(int argc, char **argv, struct config *cfg)
{
	int reps = 0, requests = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--quick") == 0) {
			cfg->quick = true;
		} else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc) {
			if (!bench_parse_int(argv[++i], 1, 1001, &reps)) {
				usage(stderr);
				exit(EXIT_FAILURE);
			}
		} else if (strcmp(argv[i], "--requests") == 0 && i + 1 < argc) {
			if (!bench_parse_int(argv[++i], 64, 10000000, &requests)) {
				usage(stderr);
				exit(EXIT_FAILURE);
			}
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			exit(EXIT_SUCCESS);
		} else {
			usage(stderr);
			exit(EXIT_FAILURE);
		}
	}
	cfg->reps = reps ? reps : cfg->quick ? 3 : 101;
	cfg->requests = requests ? (size_t)requests : cfg->quick ? 512 : 2000;
	cfg->disk_size = cfg->quick ? 8 * MIB : 64 * MIB;
}

int main(int argc, char **argv)
{
	struct config cfg = {0};
	squib_mem_t *mem = NULL;
	squib_region_opts_t opts = SQUIB_REGION_OPTS_INIT;
	struct raw_guest raw;
	const char *dir = "";
	uint32_t *blocks;
	uint8_t *guest;
	struct setting settings[NSETTINGS];
	struct outcome out[NSETTINGS];
	double start = bench_ns(CLOCK_MONOTONIC);
	size_t most = 0;
	int fd;

	parse_args(argc, argv, &cfg);
	settings[0] = (struct setting){
	    "read_4k_depth32", "4 KiB reads, 32 in flight", 32, cfg.requests, true, 0.9, false};
	settings[1] = (struct setting){
	    "read_4k_depth1", "4 KiB reads, 1 in flight", 1, cfg.requests / 4, false, 0, false};
	/* No data descriptor, no system call: the ring protocol alone, which
	 * prices the library's share of every request. */
	settings[2] = (struct setting){
	    "null_depth32", "null requests, 32 in flight", 32, cfg.requests * 8, false, 0, true};
	fd = make_disk(cfg.disk_size, &dir);

	/* One guest memory for both variants: the library gets it as the
	 * caller's mapping, the raw device as a plain pointer. */
	guest =
	    mmap(NULL, VB_GUEST_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (guest == MAP_FAILED)
		host_failed("mmap of the guest memory");
	memset(guest, 0, VB_GUEST_SIZE);
	raw = (struct raw_guest){guest, VB_GUEST_SIZE};
	lib_check(squib_mem_new(&mem), "squib_mem_new");
	lib_check(squib_range_init(&opts.range, SQUIB_GPA(0), VB_GUEST_SIZE), "squib_range_init");
	opts.slot = GUEST_SLOT;
	opts.prot = SQUIB_PROT_RW;
	opts.host_addr = guest;
	opts.name = "virtio-guest";
	lib_check(squib_mem_add_region_opts(mem, &opts), "squib_mem_add_region_opts");

	/* Every pass reads the same blocks in the same order. */
	for (int s = 0; s < NSETTINGS; s++)
		if (settings[s].requests > most)
			most = settings[s].requests;
	blocks = bench_random_offsets(PROG, most, cfg.disk_size / VB_BLOCK, 1, 0x76697274696f0001u);

	fprintf(stderr,
		PROG ": %" PRIu64 " MiB file in %s (%s), in the page cache; guest memory %" PRIu64
		     " KiB, queue of %u\n",
		cfg.disk_size / MIB, dir, fs_name(fd), VB_GUEST_SIZE / KIB, VB_QUEUE_SIZE);
	for (int s = 0; s < NSETTINGS; s++)
		out[s] = run_setting(&cfg, &settings[s], mem, &raw, fd, blocks);

	printf("\n" PROG " %s (libsquibcore %s), %s run: median of %d rounds per figure\n",
	       SQUIB_CORE_VERSION_STRING, squib_core_version(), cfg.quick ? "quick" : "full",
	       cfg.reps);
	printf("4 KiB reads (VIRTIO_BLK_T_IN) of random blocks of a %" PRIu64
	       " MiB file in the page cache (%s),\n"
	       "one split virtqueue of %u; ratio = library req/s / raw req/s (higher is better),\n"
	       "taken round by round: its median and 95 %% confidence interval\n\n",
	       cfg.disk_size / MIB, fs_name(fd), VB_QUEUE_SIZE);
	printf("%-28s %11s %11s %6s %11s %8s  %-6s %-9s %s\n", "metric", "library r/s", "raw r/s",
	       "ratio", "95% CI", "target", "result", "CPUs used", "calm rounds: ratio");
	for (int s = 0; s < NSETTINGS; s++) {
		const struct outcome *o = &out[s];
		char target[16] = "-", ci[32], calm[64];
		const char *verdict = "info";

		if (settings[s].has_target) {
			snprintf(target, sizeof(target), ">= %.2f", settings[s].target);
			verdict = o->ratio.median >= settings[s].target ? "PASS" : "MISS";
		}
		snprintf(ci, sizeof(ci), "%.3f-%.3f", o->ratio.ci_lo, o->ratio.ci_hi);
		if (o->calm.n >= 5)
			snprintf(calm, sizeof(calm), "%d: %.3f (%.3f-%.3f)", o->calm.n,
				 o->calm.median, o->calm.ci_lo, o->calm.ci_hi);
		else
			snprintf(calm, sizeof(calm), "%d: too few", o->calm.n);
		printf("%-28s %11.0f %11.0f %6.3f %11s %8s  %-6s %.2f/%.2f %s\n", settings[s].label,
		       1e9 / o->ns[V_LIB].median, 1e9 / o->ns[V_RAW].median, o->ratio.median, ci,
		       target, verdict, o->cpus[V_LIB], o->cpus[V_RAW], calm);
	}
	printf("\nper request, medians: library ns, raw ns, their difference; the ratio's "
	       "spread\n");
	for (int s = 0; s < NSETTINGS; s++)
		printf("  %-28s %8.0f %8.0f %+7.0f   ratio min %.3f, max %.3f\n", settings[s].label,
		       out[s].ns[V_LIB].median, out[s].ns[V_RAW].median,
		       out[s].ns[V_LIB].median - out[s].ns[V_RAW].median, out[s].ratio.min,
		       out[s].ratio.max);
	printf("null requests: a header and a status descriptor, no data and no system call:\n"
	       "the ring protocol alone, whose difference is the library's share of each request.\n"
	       "CPUs used: process CPU time / wall time of the passes (medians, library / raw):\n"
	       "2.00 when the driver and the device thread each had a CPU all along, about 1\n"
	       "when they had to share one (another process took the other). Calm rounds:\n"
	       "both passes at %.1f CPUs or more; their count, ratio and its 95 %% CI. The\n"
	       "result column judges the ratio over all rounds.\n",
	       CALM_CPUS);
	fprintf(stderr, PROG ": done in %.1f s\n", (bench_ns(CLOCK_MONOTONIC) - start) / 1e9);

	squib_mem_free(mem);
	munmap(guest, VB_GUEST_SIZE);
	free(blocks);
	close(fd);
	return EXIT_SUCCESS;
}
