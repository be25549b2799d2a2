/* SPDX-License-Identifier: MIT */
/*
 * Writes the seed inputs of fuzz/corpus-snapshot/: real records saved by
 * squib_mem_save(), one per kind of record the fuzz target should start
 * from; or, with --check, verifies that a directory holds exactly these
 * bytes for each (the ctest test fuzz_snapshot_corpus_fresh, which fails
 * when the writer's output changes: regenerate then). Files named
 * regress-* are reproducers saved by hand, neither written nor checked.
 *
 *   fuzz_snapshot_gen_corpus fuzz/corpus-snapshot
 *   fuzz_snapshot_gen_corpus --check fuzz/corpus-snapshot
 *
 * Each seed stays under 64 KiB (the -max_len of the fuzz stage).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <squib/core.h>

#include "fuzz_snapshot.h"

static void check(squib_status_t status, const char *what)
{
	if (status != SQUIB_OK) {
		fprintf(stderr, "gen_snapshot_corpus: %s: %s: %s\n", what, squib_strerror(status),
			squib_last_error());
		exit(1);
	}
}

static void add(squib_mem_t *mem, uint64_t base, uint64_t size, uint32_t slot, uint32_t prot,
		uint32_t flags, const char *name, const void *bytes)
{
	squib_region_opts_t opts = SQUIB_REGION_OPTS_INIT;

	opts.range.base = SQUIB_GPA(base);
	opts.range.size = size;
	opts.slot = slot;
	opts.prot = prot;
	opts.flags = flags;
	opts.name = name;
	opts.bytes = bytes;
	check(squib_mem_add_region_opts(mem, &opts), "squib_mem_add_region_opts");
}

static void fill(squib_mem_t *mem, uint64_t addr, size_t len, uint8_t seed)
{
	uint8_t buf[8192];

	if (len > sizeof(buf))
		exit(2);
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(seed + i * 7);
	check(squib_mem_write(mem, SQUIB_GPA(addr), buf, len), "squib_mem_write");
}

static void save(squib_mem_t *mem, int fd, uint32_t flags)
{
	squib_snapshot_opts_t opts = SQUIB_SNAPSHOT_OPTS_INIT;

	opts.flags = flags;
	check(squib_mem_save(mem, fd, &opts), "squib_mem_save");
}

/* A memfd of a record or two; the seed is its bytes. */
static int scratch(void)
{
	int fd = memfd_create("seed", MFD_CLOEXEC);

	if (fd < 0) {
		perror("gen_snapshot_corpus: memfd_create");
		exit(1);
	}
	return fd;
}

/* The fixed layout of fuzz_snapshot.h with some bytes, so that its
 * records APPLY onto the harness's handle. */
static squib_mem_t *fixed_guest(void)
{
	squib_mem_t *mem = fixed_layout_new();

	if (!mem)
		check(SQUIB_E_NO_MEMORY, "fixed_layout_new");
	fill(mem, 0x10, 100, 1);      /* page 0 */
	fill(mem, 0x2000, 4096, 2);   /* page 2; pages 1 and 3 zero */
	fill(mem, 0x10800, 0x200, 3); /* slot 1's first page, partly */
	fill(mem, 0x120f0, 0x10, 4);  /* its last byte's page */
	return mem;
}

static void fixed_changes(squib_mem_t *mem)
{
	static const uint8_t zeros[4096];

	fill(mem, 0x1000, 64, 5);						       /* page 1 */
	check(squib_mem_write(mem, SQUIB_GPA(0x2000), zeros, sizeof(zeros)), "write"); /* zero */
	fill(mem, 0x11000, 16, 6);
}

static int seed_file_full(void)
{
	squib_mem_t *mem = fixed_guest();
	int fd = scratch();

	save(mem, fd, 0);
	squib_mem_free(mem);
	return fd;
}

static int seed_file_incremental(void)
{
	squib_mem_t *mem = fixed_guest();
	int fd = scratch(), first = scratch();

	save(mem, first, SQUIB_SAVE_CLEAR_DIRTY);
	close(first);
	fixed_changes(mem);
	save(mem, fd, SQUIB_SAVE_DIRTY_ONLY | SQUIB_SAVE_CLEAR_DIRTY);
	squib_mem_free(mem);
	return fd;
}

static int seed_stream_full(void)
{
	squib_mem_t *mem = fixed_guest();
	int fd = scratch();

	save(mem, fd, SQUIB_SAVE_STREAM);
	squib_mem_free(mem);
	return fd;
}

static int seed_stream_incremental(void)
{
	squib_mem_t *mem = fixed_guest();
	int fd = scratch(), first = scratch();

	save(mem, first, SQUIB_SAVE_STREAM | SQUIB_SAVE_CLEAR_DIRTY);
	close(first);
	fixed_changes(mem);
	save(mem, fd, SQUIB_SAVE_STREAM | SQUIB_SAVE_DIRTY_ONLY);
	squib_mem_free(mem);
	return fd;
}

/* Two rounds of a migration on one fd: a load reads the first only. */
static int seed_stream_rounds(void)
{
	squib_mem_t *mem = fixed_guest();
	int fd = scratch();

	save(mem, fd, SQUIB_SAVE_STREAM | SQUIB_SAVE_CLEAR_DIRTY);
	fixed_changes(mem);
	save(mem, fd, SQUIB_SAVE_STREAM | SQUIB_SAVE_DIRTY_ONLY | SQUIB_SAVE_CLEAR_DIRTY);
	squib_mem_free(mem);
	return fd;
}

static squib_mem_t *rom_guest(void)
{
	static uint8_t rom[0x2000];
	squib_mem_t *mem;

	for (size_t i = 0; i < sizeof(rom); i++)
		rom[i] = i < 0x1000 ? (uint8_t)(0xea ^ i) : 0; /* the second page zero */
	check(squib_mem_new(&mem), "squib_mem_new");
	add(mem, 0x1000, sizeof(rom), 5, SQUIB_PROT_RX,
	    SQUIB_REGION_READONLY | SQUIB_REGION_DONTDUMP, "bios", rom);
	add(mem, 0x4000, 0x1000, 6, SQUIB_PROT_RW, 0, "ram", NULL);
	fill(mem, 0x4100, 32, 7);
	return mem;
}

static int seed_rom(void)
{
	squib_mem_t *mem = rom_guest();
	int fd = scratch();

	save(mem, fd, 0);
	squib_mem_free(mem);
	return fd;
}

/* Incremental: a ROM is never carried. */
static int seed_rom_incremental(void)
{
	squib_mem_t *mem = rom_guest();
	int fd = scratch();

	save(mem, fd, SQUIB_SAVE_STREAM | SQUIB_SAVE_DIRTY_ONLY);
	squib_mem_free(mem);
	return fd;
}

static squib_mem_t *unaligned_guest(void)
{
	squib_mem_t *mem;

	check(squib_mem_new(&mem), "squib_mem_new");
	add(mem, 0x1234, 0x2345, 1, SQUIB_PROT_RWX, 0, "odd", NULL);
	add(mem, 0x7ff0, 0x20, 2, SQUIB_PROT_READ, 0, "straddle", NULL); /* two pages */
	fill(mem, 0x1234, 16, 8);
	fill(mem, 0x3560, 0x19, 9); /* the region's last bytes */
	fill(mem, 0x7ff8, 16, 10);
	return mem;
}

static int seed_unaligned(void)
{
	squib_mem_t *mem = unaligned_guest();
	int fd = scratch();

	save(mem, fd, 0);
	squib_mem_free(mem);
	return fd;
}

static int seed_unaligned_stream(void)
{
	squib_mem_t *mem = unaligned_guest();
	int fd = scratch();

	save(mem, fd, SQUIB_SAVE_STREAM);
	squib_mem_free(mem);
	return fd;
}

static int seed_empty(void)
{
	squib_mem_t *mem;
	int fd = scratch();

	check(squib_mem_new(&mem), "squib_mem_new");
	save(mem, fd, 0);
	squib_mem_free(mem);
	return fd;
}

static int seed_empty_stream(void)
{
	squib_mem_t *mem;
	int fd = scratch();

	check(squib_mem_new(&mem), "squib_mem_new");
	save(mem, fd, SQUIB_SAVE_STREAM);
	squib_mem_free(mem);
	return fd;
}

/* Every flag a record keeps but HUGETLB and LOCKED (which a host may
 * refuse): SHARED makes MAP_PRIVATE UNSUPPORTED. */
static int seed_flags(void)
{
	squib_mem_t *mem;
	int fd = scratch();

	check(squib_mem_new(&mem), "squib_mem_new");
	add(mem, 0x0, 0x1000, 10, SQUIB_PROT_RW, SQUIB_REGION_SHARED | SQUIB_REGION_DONTDUMP,
	    "shared", NULL);
	add(mem, 0x1000, 0x1000, 11, SQUIB_PROT_RW, SQUIB_REGION_THP | SQUIB_REGION_DONTFORK, "thp",
	    NULL);
	add(mem, 0x2000, 0x1000, 12, SQUIB_PROT_RW, SQUIB_REGION_PREFAULT | SQUIB_REGION_DIRTY_LOG,
	    "prefault", NULL);
	fill(mem, 0x0, 8, 11);
	fill(mem, 0x1ff8, 8, 12);
	fill(mem, 0x2800, 8, 13);
	save(mem, fd, 0);
	squib_mem_free(mem);
	return fd;
}

/* A region ending at UINT64_MAX, the highest a handle can hold. */
static int seed_top(void)
{
	squib_mem_t *mem;
	int fd = scratch();

	check(squib_mem_new(&mem), "squib_mem_new");
	add(mem, 0xffffffffffffd000u, 0x2fff, 0xffffffffu, SQUIB_PROT_RW, 0,
	    "top-of-the-address-space-31byte", NULL);
	fill(mem, 0xffffffffffffeff0u, 16, 14);
	save(mem, fd, 0);
	squib_mem_free(mem);
	return fd;
}

static int seed_top_stream(void)
{
	squib_mem_t *mem;
	int fd = scratch();

	check(squib_mem_new(&mem), "squib_mem_new");
	add(mem, 0xffffffffffffd000u, 0x2fff, 0, SQUIB_PROT_RW, 0, "top", NULL);
	fill(mem, 0xfffffffffffffff0u, 15, 15);
	save(mem, fd, SQUIB_SAVE_STREAM);
	squib_mem_free(mem);
	return fd;
}

/* Many small regions, slots out of base order, as a stream. */
static int seed_many(void)
{
	squib_mem_t *mem;
	int fd = scratch();

	check(squib_mem_new(&mem), "squib_mem_new");
	for (uint32_t i = 0; i < 40; i++) {
		add(mem, 0x100000 + (uint64_t)i * 0x3000, 0x1000 + i * 8, 1000 - i * 3,
		    SQUIB_PROT_RW, 0, NULL, NULL);
		if (i % 8 == 0)
			fill(mem, 0x100000 + (uint64_t)i * 0x3000 + i, 8, (uint8_t)i);
	}
	save(mem, fd, SQUIB_SAVE_STREAM);
	squib_mem_free(mem);
	return fd;
}

/* A run of 256 pages, the most one may carry, then more. */
static int seed_long_run(void)
{
	squib_mem_t *mem;
	int fd = scratch();

	check(squib_mem_new(&mem), "squib_mem_new");
	add(mem, 0x0, 0x102000, 0, SQUIB_PROT_RW, 0, "long", NULL); /* 258 zero pages */
	fill(mem, 0x101ff0, 16, 16);
	save(mem, fd, SQUIB_SAVE_STREAM);
	squib_mem_free(mem);
	return fd;
}

/* Records with one thing wrong, so that replaying the corpus alone holds
 * the load's refusals (and what it does not check) to the reader's. */
static void poke(int fd, off_t at, uint8_t xor)
{
	uint8_t byte;

	if (pread(fd, &byte, 1, at) != 1)
		exit(1);
	byte ^= xor;
	if (pwrite(fd, &byte, 1, at) != 1)
		exit(1);
}

static int seed_bad_data(void)
{
	int fd = seed_file_full();

	poke(fd, 4096 + 0x20, 0x01); /* in slot 0's first DATA run */
	return fd;
}

static int seed_bad_hole(void)
{
	int fd = seed_file_full();

	poke(fd, 4096 + 0x1000 + 5, 0x40); /* slot 0's page 1, a ZERO run */
	return fd;
}

static int seed_bad_name(void)
{
	int fd = seed_stream_full();

	poke(fd, 64 + 96 + 48, 'x'); /* slot 1's name: the header checksum fails */
	return fd;
}

static int seed_bad_slot(void)
{
	int fd = seed_stream_full();

	poke(fd, 64 + 96 + 16, 0x01); /* slot 1 becomes slot 0: fixing the
					 checksum leaves a slot used twice */
	return fd;
}

static int seed_bad_trailing(void)
{
	int fd = seed_unaligned();
	uint8_t zero = 0;

	if (pwrite(fd, &zero, 1, lseek(fd, 0, SEEK_END)) != 1)
		exit(1);
	return fd;
}

static int seed_bad_truncated(void)
{
	int fd = seed_stream_incremental();

	if (ftruncate(fd, lseek(fd, 0, SEEK_END) - 100) != 0)
		exit(1);
	return fd;
}

static const struct seed {
	const char *name;
	int (*make)(void);
} seeds[] = {
    {"seed-file-full", seed_file_full},
    {"seed-file-incremental", seed_file_incremental},
    {"seed-stream-full", seed_stream_full},
    {"seed-stream-incremental", seed_stream_incremental},
    {"seed-stream-rounds", seed_stream_rounds},
    {"seed-rom", seed_rom},
    {"seed-rom-incremental-stream", seed_rom_incremental},
    {"seed-unaligned", seed_unaligned},
    {"seed-unaligned-stream", seed_unaligned_stream},
    {"seed-empty", seed_empty},
    {"seed-empty-stream", seed_empty_stream},
    {"seed-flags", seed_flags},
    {"seed-top", seed_top},
    {"seed-top-stream", seed_top_stream},
    {"seed-many-stream", seed_many},
    {"seed-long-run-stream", seed_long_run},
    {"seed-bad-data-checksum", seed_bad_data},
    {"seed-bad-hole", seed_bad_hole},
    {"seed-bad-name-stream", seed_bad_name},
    {"seed-bad-slot-stream", seed_bad_slot},
    {"seed-bad-trailing-byte", seed_bad_trailing},
    {"seed-bad-truncated-stream", seed_bad_truncated},
};

/* The bytes of the memfd. */
static unsigned char *contents(int fd, size_t *len)
{
	off_t end = lseek(fd, 0, SEEK_END);
	unsigned char *bytes;

	if (end < 0 || end > 65536) {
		fprintf(stderr, "gen_snapshot_corpus: a seed of %jd bytes (at most 65536)\n",
			(intmax_t)end);
		exit(1);
	}
	bytes = malloc((size_t)end + 1);
	if (!bytes || pread(fd, bytes, (size_t)end, 0) != (ssize_t)end)
		exit(1);
	*len = (size_t)end;
	return bytes;
}

int main(int argc, char **argv)
{
	bool checking = argc == 3 && strcmp(argv[1], "--check") == 0;
	const char *dir = argv[argc - 1];
	int stale = 0;

	if (argc != 2 && !checking) {
		fprintf(stderr, "usage: %s [--check] DIR\n", argv[0]);
		return 2;
	}
	for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
		char path[4096];
		size_t len, have_len = 0;
		int fd = seeds[i].make();
		unsigned char *bytes = contents(fd, &len), *have = NULL;
		FILE *file;

		close(fd);
		(void)snprintf(path, sizeof(path), "%s/%s", dir, seeds[i].name);
		if (checking) {
			file = fopen(path, "rb");
			if (file) {
				have = malloc(len + 1);
				have_len = have ? fread(have, 1, len + 1, file) : 0;
				fclose(file);
			}
			if (!have || have_len != len || memcmp(have, bytes, len) != 0) {
				fprintf(stderr,
					"gen_snapshot_corpus: %s is missing or stale: run "
					"fuzz_snapshot_gen_corpus %s\n",
					path, dir);
				stale = 1;
			}
			free(have);
		} else {
			file = fopen(path, "wb");
			if (!file || fwrite(bytes, 1, len, file) != len || fclose(file) != 0) {
				fprintf(stderr, "gen_snapshot_corpus: %s: %s\n", path,
					strerror(errno));
				return 1;
			}
		}
		free(bytes);
	}
	if (checking && !stale)
		printf("gen_snapshot_corpus: %zu seeds up to date in %s\n",
		       sizeof(seeds) / sizeof(seeds[0]), dir);
	return stale;
}
