/* SPDX-License-Identifier: MIT */
/*
 * squib-mem-mksnap: writes the real snapshots tests/run.sh runs squib-mem
 * on, of a small guest whose bytes follow a model that needs no library
 * (expect prints them), and flips bytes of files.
 *
 *   mksnap full|changed|extra|reprot|noshared|sparse FILE   a file record of
 *                        that guest
 *   mksnap incr FILE     full saved (CLEAR_DIRTY), changed, saved DIRTY_ONLY
 *   mksnap stream FILE   the full guest as a stream record
 *   mksnap rounds FILE   two stream records: the full guest, then what
 *                        changed (DIRTY_ONLY): the rounds of a migration
 *   mksnap expect GUEST ADDR LEN    the model's bytes (full, changed, ...)
 *   mksnap flip FILE OFFSET [MASK]  XORs one byte (mask default 0x01)
 *
 * The guest, sorted by base:
 *   slot 0 [0x0, 0x40000)               rw- DIRTY_LOG "ram"
 *   slot 1 [0x100800, 0x102900)         rw- "odd" (unaligned both ends)
 *   slot 3 [0x200000, 0x204000)         rw- SHARED "shared"
 *   slot 7 [0xfffff000, 0x100000000)    r-x READONLY "rom" (from bytes)
 * (extra: also slot 9 [0x300000, 0x301000) "extra"; reprot: slot 1 r--;
 * noshared: slot 3 without SHARED, so that a load can map every region.)
 * sparse is another guest: slot 0 [0x0, 0x200000) rw- "sparse", zeros but
 * for page 300, so that its two ZERO runs are longer than a DATA run may be.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <squib/core.h>

enum guest { FULL, CHANGED, EXTRA, REPROT, NOSHARED, SPARSE };

#define SPARSE_SIZE 0x200000u
#define SPARSE_PAGE 300u

struct layout {
	uint64_t base, size;
	uint32_t slot, prot, flags;
	const char *name;
};

static const struct layout regions[] = {
    {0x0, 0x40000, 0, SQUIB_PROT_RW, SQUIB_REGION_DIRTY_LOG, "ram"},
    {0x100800, 0x2100, 1, SQUIB_PROT_RW, 0, "odd"},
    {0x200000, 0x4000, 3, SQUIB_PROT_RW, SQUIB_REGION_SHARED, "shared"},
    {0xfffff000, 0x1000, 7, SQUIB_PROT_RX, SQUIB_REGION_READONLY, "rom"},
    {0x300000, 0x1000, 9, SQUIB_PROT_RW, 0, "extra"}, /* EXTRA only */
};

static uint8_t pattern(uint64_t a)
{
	return (uint8_t)(a * 7 + 3 + (a >> 12));
}

/* The model: the byte at guest-physical a. */
static uint8_t model(enum guest g, uint64_t a)
{
	static const char hello[] = "Hello, squib!";

	if (g == SPARSE)
		return a < SPARSE_SIZE && a / 4096 == SPARSE_PAGE ? pattern(a) : 0;

	if (a < 0x40000) {
		uint64_t page = a / 4096;

		if (g == CHANGED && a == 0x1800)
			return (uint8_t)(pattern(a) ^ 0xff);
		if (g == CHANGED && (page == 6 || page == 7))
			return (uint8_t)(pattern(a) + 1);
		if (g == CHANGED && a >= 0x28000 && a < 0x28008)
			return '@';
		if (a >= 0x10 && a < 0x10 + sizeof(hello) - 1)
			return (uint8_t)hello[a - 0x10];
		if (page == 1 || (page >= 5 && page <= 7))
			return pattern(a);
		return a == 0x3ffff ? 0x5a : 0;
	}
	if (a >= 0x100800 && a < 0x102900) {
		if (a < 0x100900)
			return pattern(a);
		if (a == 0x1028ff)
			return g == CHANGED ? 0x78 : 0x77;
		return 0;
	}
	if (a >= 0x200000 && a < 0x204000)
		return g != CHANGED && a >= 0x202000 && a < 0x203000 ? (uint8_t)(pattern(a) ^ 0x3c)
								     : 0;
	if (a >= 0xfffff000)
		return (uint8_t)(pattern(a) ^ 0xa5);
	if (g == EXTRA && a == 0x300000)
		return 1;
	return 0;
}

static void die(const char *what, squib_status_t status)
{
	fprintf(stderr, "mksnap: %s: %s: %s\n", what, squib_strerror(status), squib_last_error());
	exit(1);
}

static void check(squib_status_t status, const char *what)
{
	if (status != SQUIB_OK)
		die(what, status);
}

static size_t region_count(enum guest g)
{
	return g == EXTRA ? 5 : 4;
}

static squib_mem_t *build_sparse(squib_mem_t *mem)
{
	squib_region_opts_t opts = SQUIB_REGION_OPTS_INIT;
	uint8_t page[4096];

	opts.range.base = SQUIB_GPA(0);
	opts.range.size = SPARSE_SIZE;
	opts.slot = 0;
	opts.name = "sparse";
	check(squib_mem_add_region_opts(mem, &opts), "squib_mem_add_region_opts");
	for (uint64_t k = 0; k < sizeof(page); k++)
		page[k] = model(SPARSE, SPARSE_PAGE * 4096 + k);
	check(squib_mem_write(mem, SQUIB_GPA(SPARSE_PAGE * 4096), page, sizeof(page)),
	      "squib_mem_write");
	return mem;
}

static squib_mem_t *build(enum guest g)
{
	squib_mem_t *mem;
	uint8_t *bytes;

	check(squib_mem_new(&mem), "squib_mem_new");
	if (g == SPARSE)
		return build_sparse(mem);
	for (size_t i = 0; i < region_count(g); i++) {
		const struct layout *l = &regions[i];
		squib_region_opts_t opts = SQUIB_REGION_OPTS_INIT;

		bytes = malloc(l->size);
		if (!bytes)
			exit(1);
		for (uint64_t k = 0; k < l->size; k++)
			bytes[k] = model(g, l->base + k);
		opts.range.base = SQUIB_GPA(l->base);
		opts.range.size = l->size;
		opts.slot = l->slot;
		opts.prot = g == REPROT && l->slot == 1 ? SQUIB_PROT_READ : l->prot;
		opts.flags = g == NOSHARED ? l->flags & ~SQUIB_REGION_SHARED : l->flags;
		opts.name = l->name;
		if (l->flags & SQUIB_REGION_READONLY)
			opts.bytes = bytes;
		check(squib_mem_add_region_opts(mem, &opts), "squib_mem_add_region_opts");
		if (!(l->flags & SQUIB_REGION_READONLY))
			check(squib_mem_write(mem, SQUIB_GPA(l->base), bytes, (size_t)l->size),
			      "squib_mem_write");
		free(bytes);
	}
	return mem;
}

/* Turns the full guest into the changed one, writing only the pages that
 * differ (so that exactly those are dirty). */
static void change(squib_mem_t *mem)
{
	uint8_t page[4096];

	for (size_t i = 0; i < 3; i++) {
		const struct layout *l = &regions[i];

		for (uint64_t a = l->base; a < l->base + l->size;) {
			uint64_t end = (a / 4096 + 1) * 4096;
			bool differs = false;

			if (end > l->base + l->size)
				end = l->base + l->size;
			for (uint64_t k = a; k < end; k++) {
				page[k - a] = model(CHANGED, k);
				differs |= page[k - a] != model(FULL, k);
			}
			if (differs)
				check(squib_mem_write(mem, SQUIB_GPA(a), page, (size_t)(end - a)),
				      "squib_mem_write");
			a = end;
		}
	}
}

static int create(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0) {
		fprintf(stderr, "mksnap: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	return fd;
}

static void save(squib_mem_t *mem, int fd, uint32_t flags)
{
	squib_snapshot_opts_t opts = SQUIB_SNAPSHOT_OPTS_INIT;

	opts.flags = flags;
	check(squib_mem_save(mem, fd, &opts), "squib_mem_save");
}

static bool guest_named(const char *name, enum guest *g)
{
	static const char *const names[] = {"full",   "changed",  "extra",
					    "reprot", "noshared", "sparse"};

	for (int i = 0; i < 6; i++) {
		if (strcmp(name, names[i]) == 0) {
			*g = (enum guest)i;
			return true;
		}
	}
	return false;
}

static uint64_t number(const char *text)
{
	char *end;
	uint64_t value;

	errno = 0;
	value = strtoull(text, &end, 0);
	if (errno || *end || end == text) {
		fprintf(stderr, "mksnap: '%s' is not a number\n", text);
		exit(2);
	}
	return value;
}

static int flip(const char *path, uint64_t offset, uint64_t mask)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);
	uint8_t byte;

	if (fd < 0 || pread(fd, &byte, 1, (off_t)offset) != 1) {
		fprintf(stderr, "mksnap: %s: cannot read byte %" PRIu64 "\n", path, offset);
		return 1;
	}
	byte ^= (uint8_t)mask;
	if (pwrite(fd, &byte, 1, (off_t)offset) != 1) {
		fprintf(stderr, "mksnap: %s: cannot write byte %" PRIu64 "\n", path, offset);
		return 1;
	}
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	enum guest g;
	squib_mem_t *mem;
	int fd;

	if (argc == 3 && guest_named(argv[1], &g)) {
		mem = build(g);
		fd = create(argv[2]);
		save(mem, fd, 0);
	} else if (argc == 3 && strcmp(argv[1], "incr") == 0) {
		char scratch[] = "/tmp/mksnap-XXXXXX";
		int tmp = mkstemp(scratch);

		if (tmp < 0)
			return 1;
		unlink(scratch);
		mem = build(FULL);
		save(mem, tmp, SQUIB_SAVE_CLEAR_DIRTY);
		close(tmp);
		change(mem);
		fd = create(argv[2]);
		save(mem, fd, SQUIB_SAVE_DIRTY_ONLY | SQUIB_SAVE_CLEAR_DIRTY);
	} else if (argc == 3 && strcmp(argv[1], "stream") == 0) {
		mem = build(FULL);
		fd = create(argv[2]);
		save(mem, fd, SQUIB_SAVE_STREAM);
	} else if (argc == 3 && strcmp(argv[1], "rounds") == 0) {
		mem = build(FULL);
		fd = create(argv[2]);
		save(mem, fd, SQUIB_SAVE_STREAM | SQUIB_SAVE_CLEAR_DIRTY);
		change(mem);
		save(mem, fd, SQUIB_SAVE_STREAM | SQUIB_SAVE_DIRTY_ONLY | SQUIB_SAVE_CLEAR_DIRTY);
	} else if (argc == 5 && strcmp(argv[1], "expect") == 0 && guest_named(argv[2], &g)) {
		uint64_t addr = number(argv[3]), len = number(argv[4]);

		for (uint64_t k = 0; k < len; k++)
			putchar(model(g, addr + k));
		return fflush(stdout) == 0 ? 0 : 1;
	} else if ((argc == 4 || argc == 5) && strcmp(argv[1], "flip") == 0) {
		return flip(argv[2], number(argv[3]), argc == 5 ? number(argv[4]) : 1);
	} else {
		fprintf(stderr, "usage: see the comment at the top of mksnap.c\n");
		return 2;
	}
	close(fd);
	squib_mem_free(mem);
	return 0;
}
