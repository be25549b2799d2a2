/* SPDX-License-Identifier: MIT */
/*
 * squib_mem_discard(): lib/discard.c and backing_discard() in lib/backing.c.
 * Each backing gives its pages back its own way (MADV_DONTNEED, a hole
 * punched in the memfd or file, anonymous zero pages over a private file
 * mapping); each is observed in the kernel's account: mincore(2), the
 * file's bytes and blocks, a second mapping of the memfd, /proc/self/smaps.
 */
#define _GNU_SOURCE /* mincore, MAP_ANONYMOUS, mkdtemp */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include "test_util.h"
#include "test_host.h"

/* ------------------------------------------------------------------ */
/* helpers                                                             */

/* Asserts that byte i of bytes is 0 where i is in [zero_from, zero_to),
 * else test_pattern_byte(seed, off + i); what names the bytes. Finds the
 * first difference before asserting: Check marks every assertion that
 * passes (a write to a pipe in fork mode), too slow once per byte. */
static void expect_pattern(const uint8_t *bytes, uint64_t size, uint64_t seed, uint64_t off,
			   uint64_t zero_from, uint64_t zero_to, const char *what)
{
	uint64_t at = size;
	uint8_t want = 0;

	for (uint64_t i = 0; i < size && at == size; i++) {
		want = i >= zero_from && i < zero_to ? 0 : test_pattern_byte(seed, off + i);
		if (bytes[i] != want)
			at = i;
	}
	ck_assert_msg(at == size, "%s offset 0x%" PRIx64 ": 0x%02x, want 0x%02x", what, at,
		      at < size ? bytes[at] : 0, want);
}

/* Guest [base, base + size) holds pattern seed at offsets from base, but
 * zeros in [zero_from, zero_to). */
static void expect_region(const squib_mem_t *mem, uint64_t base, uint64_t size, uint64_t seed,
			  uint64_t zero_from, uint64_t zero_to)
{
	uint8_t *buf = malloc((size_t)size);
	char what[64];

	ck_assert_ptr_nonnull(buf);
	CK_OK(squib_mem_read(mem, SQUIB_GPA(base), buf, (size_t)size));
	(void)snprintf(what, sizeof(what), "guest region at 0x%" PRIx64, base);
	expect_pattern(buf, size, seed, 0, zero_from, zero_to, what);
	free(buf);
}

/* As expect_region, for host memory (a second mapping) or a file. */
static void expect_bytes(const uint8_t *bytes, uint64_t size, uint64_t seed, uint64_t zero_from,
			 uint64_t zero_to, const char *what)
{
	expect_pattern(bytes, size, seed, 0, zero_from, zero_to, what);
}

static void expect_file(int fd, uint64_t size, uint64_t seed, uint64_t zero_from, uint64_t zero_to)
{
	uint8_t *buf = malloc((size_t)size);
	struct stat st;

	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_uint_eq((uint64_t)st.st_size, size);
	ck_assert_int_eq(pread(fd, buf, (size_t)size, 0), (ssize_t)size);
	expect_bytes(buf, size, seed, zero_from, zero_to, "file");
	free(buf);
}

static void fill_region(squib_mem_t *mem, uint64_t base, uint64_t size, uint64_t seed)
{
	uint8_t *buf = malloc((size_t)size);

	ck_assert_ptr_nonnull(buf);
	test_fill_pattern(buf, (size_t)size, seed);
	CK_OK(squib_mem_write(mem, SQUIB_GPA(base), buf, (size_t)size));
	free(buf);
}

/* ------------------------------------------------------------------ */
/* each backing                                                        */

START_TEST(discard_anonymous)
{
	const uint64_t p = test_page(), size = 8 * p, base = 0x100000;
	squib_mem_t *mem = test_mem_new();
	squib_region_opts_t opts = test_opts_of(base, size, 1, 0);
	uint8_t *host;

	CK_OK(squib_mem_add_region_opts(mem, &opts));
	fill_region(mem, base, size, 1);
	host = test_info_of(mem, 1).host_addr;
	ck_assert_uint_eq(test_resident_pages(host, size), size / p);
	CK_OK(squib_mem_discard(mem, SQUIB_GPA(base + 3 * p), 2 * p));
	/* The pages are given back (not merely zeroed) ... */
	ck_assert_uint_eq(test_resident_pages(host + 3 * p, 2 * p), 0);
	ck_assert_uint_eq(test_resident_pages(host, 3 * p), 3);
	ck_assert_uint_eq(test_resident_pages(host + 5 * p, 3 * p), 3);
	/* ... read zeros, and the pages around keep their bytes. */
	expect_region(mem, base, size, 1, 3 * p, 5 * p);
	/* The region is still usable there. */
	CK_OK(squib_mem_write_u64_le(mem, SQUIB_GPA(base + 4 * p), 0x1122334455667788u));
	{
		uint64_t value = 0;

		CK_OK(squib_mem_read_u64_le(mem, SQUIB_GPA(base + 4 * p), &value));
		ck_assert_uint_eq(value, 0x1122334455667788u);
	}
	/* The whole region at once. */
	CK_OK(squib_mem_discard(mem, SQUIB_GPA(base), size));
	expect_region(mem, base, size, 1, 0, size);
	squib_mem_free(mem);
}
END_TEST

START_TEST(discard_0_2_regions)
{
	const uint64_t p = test_page(), size = 6 * p, base = 0x40000000, odd = 0x200800;
	squib_mem_t *mem = test_mem_new();

	test_add(mem, base, size, 1);
	fill_region(mem, base, size, 2);
	CK_OK(squib_mem_discard(mem, SQUIB_GPA(base + p), 2 * p));
	expect_region(mem, base, size, 2, p, 3 * p);
	CK_OK(squib_mem_discard(mem, SQUIB_GPA(base + size - p), p)); /* the last page */
	expect_region(mem, base, size - p, 2, p, 3 * p);
	{
		uint8_t *buf = malloc(size);

		ck_assert_ptr_nonnull(buf);
		CK_OK(squib_mem_read(mem, SQUIB_GPA(base + size - p), buf, p));
		CK_BYTES_ALL(buf, p, 0);
		free(buf);
	}
	/* A region whose base is not page-aligned: its host pages are
	 * congruent to the guest's, so a page-aligned guest range inside it
	 * is whole host pages, and the partial first page is kept. */
	test_add(mem, odd, 5 * p, 2);
	fill_region(mem, odd, 5 * p, 3);
	CK_OK(squib_mem_discard(mem, SQUIB_GPA(0x201000), 2 * p));
	expect_region(mem, odd, 5 * p, 3, 0x201000 - odd, 0x201000 - odd + 2 * p);
	squib_mem_free(mem);
}
END_TEST

START_TEST(discard_shared_memfd_punches_a_hole)
{
	const uint64_t p = test_page(), size = 16 * p, base = 0x80000000;
	squib_mem_t *mem = test_mem_new();
	squib_region_opts_t opts = test_opts_of(base, size, 1, SQUIB_REGION_SHARED);
	squib_region_info_t info;
	struct stat before, after;
	uint8_t *other;

	CK_OK(squib_mem_add_region_opts(mem, &opts));
	info = test_info_of(mem, 1);
	fill_region(mem, base, size, 4);
	/* A second mapping of the memfd, as another process would make. */
	other = mmap(NULL, size, PROT_READ, MAP_SHARED, info.fd, (off_t)info.fd_offset);
	ck_assert_ptr_ne(other, MAP_FAILED);
	expect_bytes(other, size, 4, 0, 0, "second mapping");
	ck_assert_int_eq(fstat(info.fd, &before), 0);
	ck_assert_int_ge(before.st_blocks, (blkcnt_t)(size / 512));

	CK_OK(squib_mem_discard(mem, SQUIB_GPA(base + 4 * p), 4 * p));
	/* Counted before anything reads the hole: a read fault on a hole of
	 * a memfd allocates a page again. */
	ck_assert_int_eq(fstat(info.fd, &after), 0);
	ck_assert_msg(after.st_blocks <= before.st_blocks - (blkcnt_t)(4 * p / 512),
		      "st_blocks %lld before, %lld after a hole of %" PRIu64 " bytes",
		      (long long)before.st_blocks, (long long)after.st_blocks, 4 * p);
	ck_assert_uint_eq((uint64_t)after.st_size, size);
	ck_assert_uint_eq(test_resident_pages(info.host_addr, size), 12);
	expect_region(mem, base, size, 4, 4 * p, 8 * p);
	expect_bytes(other, size, 4, 4 * p, 8 * p, "second mapping");
	/* Writing there again fills the hole, seen on both sides. */
	CK_OK(squib_mem_write_u32_le(mem, SQUIB_GPA(base + 5 * p), 0xcafef00du));
	ck_assert_uint_eq(other[5 * p], 0x0d);
	ck_assert_uint_eq(other[5 * p + 3], 0xca);
	ck_assert_int_eq(munmap(other, size), 0);
	squib_mem_free(mem);
}
END_TEST

START_TEST(discard_shared_file_punches_a_hole)
{
	const uint64_t p = test_page(), fsize = 8 * p, off = 2 * p, size = 4 * p, base = 0x100000;
	int fd = test_temp_file(fsize, 5);
	squib_mem_t *mem = test_mem_new();
	squib_region_opts_t opts = test_opts_of(base, size, 1, SQUIB_REGION_FILE);
	struct stat before, after;
	uint8_t *buf = malloc(size);

	ck_assert_ptr_nonnull(buf);
	opts.fd = fd;
	opts.fd_offset = off;
	CK_OK(squib_mem_add_region_opts(mem, &opts));
	CK_OK(squib_mem_read(mem, SQUIB_GPA(base), buf, size));
	expect_pattern(buf, size, 5, off, 0, 0, "guest");
	ck_assert_int_eq(fstat(fd, &before), 0);

	CK_OK(squib_mem_discard(mem, SQUIB_GPA(base + p), 2 * p));
	/* The file has a hole at fd_offset + p .. + 3p, and the same size. */
	expect_file(fd, fsize, 5, off + p, off + 3 * p);
	ck_assert_int_eq(fstat(fd, &after), 0);
	ck_assert_msg(after.st_blocks < before.st_blocks, "st_blocks %lld before, %lld after",
		      (long long)before.st_blocks, (long long)after.st_blocks);
	/* The guest sees the file. */
	CK_OK(squib_mem_read(mem, SQUIB_GPA(base), buf, size));
	expect_pattern(buf, size, 5, off, p, 3 * p, "guest");
	squib_mem_free(mem);
	expect_file(fd, fsize, 5, off + p, off + 3 * p);
	free(buf);
	ck_assert_int_eq(close(fd), 0);
}
END_TEST

START_TEST(discard_private_file_gives_zeros)
{
	const uint64_t p = test_page(), fsize = 6 * p, off = p, size = 4 * p, base = 0x300000;
	const uint32_t flags = SQUIB_REGION_FILE | SQUIB_REGION_PRIVATE | SQUIB_REGION_DONTDUMP |
			       SQUIB_REGION_DONTFORK;
	int fd = test_temp_file(fsize, 6);
	squib_mem_t *mem = test_mem_new();
	squib_region_opts_t opts = test_opts_of(base, size, 1, flags);
	uint8_t *buf = malloc(size), *host;
	uint64_t value = 0;

	ck_assert_ptr_nonnull(buf);
	opts.fd = fd;
	opts.fd_offset = off;
	CK_OK(squib_mem_add_region_opts(mem, &opts));
	host = test_info_of(mem, 1).host_addr;
	/* A copy-on-write page and a clean one in the range. */
	CK_OK(squib_mem_write_u64_le(mem, SQUIB_GPA(base + p + 8), 0x5555555555555555u));

	CK_OK(squib_mem_discard(mem, SQUIB_GPA(base + p), 2 * p));
	/* Zeros, not the file again (nor the written copy). */
	CK_OK(squib_mem_read(mem, SQUIB_GPA(base), buf, size));
	expect_pattern(buf, size, 6, off, p, 3 * p, "guest");
	expect_file(fd, fsize, 6, 0, 0);
	/* The region's flags still hold on the replaced pages. */
	ck_assert_msg(test_has_vmflag(host + p, "dd"), "DONTDUMP lost on the discarded range");
	ck_assert_msg(test_has_vmflag(host + 2 * p, "dc"), "DONTFORK lost on the discarded range");
	ck_assert_msg(test_has_vmflag(host, "dd") && test_has_vmflag(host + 3 * p, "dd"),
		      "DONTDUMP lost around the discarded range");
	/* Writes work afterwards, and still never reach the file. */
	CK_OK(squib_mem_write_u64_le(mem, SQUIB_GPA(base + 2 * p), 0x0123456789abcdefu));
	CK_OK(squib_mem_read_u64_le(mem, SQUIB_GPA(base + 2 * p), &value));
	ck_assert_uint_eq(value, 0x0123456789abcdefu);
	CK_OK(squib_mem_write_u8(mem, SQUIB_GPA(base + 3 * p), 0x77));
	expect_file(fd, fsize, 6, 0, 0);
	squib_mem_free(mem);
	expect_file(fd, fsize, 6, 0, 0);
	free(buf);
	ck_assert_int_eq(close(fd), 0);
}
END_TEST

/* LOCKED pages are given back too (a locked guest still balloons): each
 * backing on its own, so that each one's result shows. */
START_TEST(discard_locked_anonymous)
{
	const uint64_t p = test_page(), size = 4 * p, base = 0x500000;
	squib_mem_t *mem = test_mem_new();
	squib_region_opts_t opts = test_opts_of(base, size, 1, SQUIB_REGION_LOCKED);

	if (!test_lock_on_fault_works("discard_locked_anonymous")) {
		squib_mem_free(mem);
		return;
	}

	CK_OK(squib_mem_add_region_opts(mem, &opts));
	fill_region(mem, base, size, 7);
	CK_OK(squib_mem_discard(mem, SQUIB_GPA(base + p), p));
	expect_region(mem, base, size, 7, p, 2 * p);
	squib_mem_free(mem);
}
END_TEST

START_TEST(discard_locked_shared)
{
	const uint64_t p = test_page(), size = 4 * p, base = 0x500000;
	squib_mem_t *mem = test_mem_new();
	squib_region_opts_t opts =
	    test_opts_of(base, size, 1, SQUIB_REGION_LOCKED | SQUIB_REGION_SHARED);

	if (!test_lock_on_fault_works("discard_locked_shared")) {
		squib_mem_free(mem);
		return;
	}

	CK_OK(squib_mem_add_region_opts(mem, &opts));
	fill_region(mem, base, size, 8);
	CK_OK(squib_mem_discard(mem, SQUIB_GPA(base + p), p));
	expect_region(mem, base, size, 8, p, 2 * p);
	squib_mem_free(mem);
}
END_TEST

START_TEST(discard_locked_private_file)
{
	const uint64_t p = test_page(), size = 4 * p, base = 0x500000;
	squib_mem_t *mem = test_mem_new();
	squib_region_opts_t opts = test_opts_of(
	    base, size, 1, SQUIB_REGION_LOCKED | SQUIB_REGION_FILE | SQUIB_REGION_PRIVATE);
	int fd = test_temp_file(size, 10);

	if (!test_lock_on_fault_works("discard_locked_private_file")) {
		squib_mem_free(mem);
		ck_assert_int_eq(close(fd), 0);
		return;
	}

	opts.fd = fd;
	CK_OK(squib_mem_add_region_opts(mem, &opts));
	fill_region(mem, base, size, 9);
	CK_OK(squib_mem_discard(mem, SQUIB_GPA(base + p), p));
	expect_region(mem, base, size, 9, p, 2 * p);
	expect_file(fd, size, 10, 0, 0);
	squib_mem_free(mem);
	ck_assert_int_eq(close(fd), 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* refusals                                                            */

struct layout {
	squib_mem_t *mem;
	uint64_t base, p;
	uint8_t *caller;
	int fd;
};

/* Slots 1 and 2 adjacent RAM, a hole, slot 3 a ROM, slot 4 a read-only
 * file, slot 5 the caller's mapping; each filled with its own pattern. */
static struct layout make_layout(void)
{
	struct layout l;
	squib_region_opts_t opts;
	uint8_t *rom;

	l.p = test_page();
	l.base = 0x10000000;
	l.mem = test_mem_new();
	l.fd = test_temp_file(2 * l.p, 14);
	l.caller = mmap(NULL, 2 * l.p, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(l.caller, MAP_FAILED);
	rom = malloc(2 * l.p);
	ck_assert_ptr_nonnull(rom);

	opts = test_opts_of(l.base, 4 * l.p, 1, 0);
	CK_OK(squib_mem_add_region_opts(l.mem, &opts));
	fill_region(l.mem, l.base, 4 * l.p, 11);
	opts = test_opts_of(l.base + 4 * l.p, 4 * l.p, 2, SQUIB_REGION_SHARED);
	CK_OK(squib_mem_add_region_opts(l.mem, &opts));
	fill_region(l.mem, l.base + 4 * l.p, 4 * l.p, 12);
	/* [base + 8p, base + 16p) is a hole. */
	test_fill_pattern(rom, 2 * l.p, 13);
	opts = test_opts_of(l.base + 16 * l.p, 2 * l.p, 3, SQUIB_REGION_READONLY);
	opts.bytes = rom;
	CK_OK(squib_mem_add_region_opts(l.mem, &opts));
	opts =
	    test_opts_of(l.base + 20 * l.p, 2 * l.p, 4, SQUIB_REGION_FILE | SQUIB_REGION_READONLY);
	opts.fd = l.fd;
	CK_OK(squib_mem_add_region_opts(l.mem, &opts));
	opts = test_opts_of(l.base + 24 * l.p, 2 * l.p, 5, 0);
	opts.host_addr = l.caller;
	CK_OK(squib_mem_add_region_opts(l.mem, &opts));
	fill_region(l.mem, l.base + 24 * l.p, 2 * l.p, 15);
	free(rom);
	return l;
}

/* Every region of the layout still holds its pattern. */
static void expect_layout(const struct layout *l)
{
	expect_region(l->mem, l->base, 4 * l->p, 11, 0, 0);
	expect_region(l->mem, l->base + 4 * l->p, 4 * l->p, 12, 0, 0);
	expect_region(l->mem, l->base + 16 * l->p, 2 * l->p, 13, 0, 0);
	expect_region(l->mem, l->base + 20 * l->p, 2 * l->p, 14, 0, 0);
	expect_region(l->mem, l->base + 24 * l->p, 2 * l->p, 15, 0, 0);
	expect_bytes(l->caller, 2 * l->p, 15, 0, 0, "caller's mapping");
	ck_assert_uint_eq(squib_mem_region_count(l->mem), 5);
}

static void free_layout(struct layout *l)
{
	squib_mem_free(l->mem);
	ck_assert_int_eq(munmap(l->caller, 2 * l->p), 0);
	ck_assert_int_eq(close(l->fd), 0);
}

START_TEST(discard_null_and_unaligned)
{
	struct layout l = make_layout();
	const uint64_t b = l.base, p = l.p;

	CK_STATUS(squib_mem_discard(NULL, SQUIB_GPA(b), p), SQUIB_E_INVALID_ARGUMENT);
	CK_LAST_ERROR_HAS("mem is NULL");
	CK_STATUS(squib_mem_discard(l.mem, SQUIB_GPA(b + 1), p), SQUIB_E_INVALID_ARGUMENT);
	CK_LAST_ERROR_HAS_GPA(b + 1);
	CK_LAST_ERROR_HAS_U64(p);
	CK_STATUS(squib_mem_discard(l.mem, SQUIB_GPA(b + p / 2), p), SQUIB_E_INVALID_ARGUMENT);
	CK_LAST_ERROR_HAS_GPA(b + p / 2);
	CK_STATUS(squib_mem_discard(l.mem, SQUIB_GPA(b), p + 1), SQUIB_E_INVALID_ARGUMENT);
	CK_LAST_ERROR_HAS_U64(p + 1);
	CK_STATUS(squib_mem_discard(l.mem, SQUIB_GPA(b), 100), SQUIB_E_INVALID_ARGUMENT);
	CK_LAST_ERROR_HAS_U64(100);
	CK_STATUS(squib_mem_discard(l.mem, SQUIB_GPA(b + 4 * p), 2 * p - 8),
		  SQUIB_E_INVALID_ARGUMENT);
	/* Unaligned and out of range at once: still unaligned. */
	CK_STATUS(squib_mem_discard(l.mem, SQUIB_GPA(b + 10 * p + 3), p), SQUIB_E_INVALID_ARGUMENT);
	expect_layout(&l);
	free_layout(&l);
}
END_TEST

START_TEST(discard_not_inside_one_region)
{
	struct layout l = make_layout();
	const uint64_t b = l.base, p = l.p;

	/* Spanning the two adjacent regions. */
	CK_STATUS(squib_mem_discard(l.mem, SQUIB_GPA(b + 3 * p), 2 * p), SQUIB_E_OUT_OF_RANGE);
	CK_LAST_ERROR_HAS_GPA(b + 3 * p);
	CK_STATUS(squib_mem_discard(l.mem, SQUIB_GPA(b), 8 * p), SQUIB_E_OUT_OF_RANGE);
	/* Into the hole, and wholly in it. */
	CK_STATUS(squib_mem_discard(l.mem, SQUIB_GPA(b + 7 * p), 2 * p), SQUIB_E_OUT_OF_RANGE);
	CK_STATUS(squib_mem_discard(l.mem, SQUIB_GPA(b + 10 * p), p), SQUIB_E_OUT_OF_RANGE);
	CK_LAST_ERROR_HAS_GPA(b + 10 * p);
	CK_STATUS(squib_mem_discard(l.mem, SQUIB_GPA(b + 15 * p), 2 * p), SQUIB_E_OUT_OF_RANGE);
	CK_STATUS(squib_mem_discard(l.mem, SQUIB_GPA(0), p), SQUIB_E_OUT_OF_RANGE);
	/* Overflowing the address space. */
	CK_STATUS(squib_mem_discard(l.mem, SQUIB_GPA(UINT64_MAX - p + 1), 2 * p),
		  SQUIB_E_OUT_OF_RANGE);
	CK_STATUS(squib_mem_discard(l.mem, SQUIB_GPA(b), SIZE_MAX - p + 1), SQUIB_E_OUT_OF_RANGE);
	/* len 0 in a hole is out of range; inside a region, or at its end,
	 * a no-op that succeeds. */
	CK_STATUS(squib_mem_discard(l.mem, SQUIB_GPA(b + 12 * p), 0), SQUIB_E_OUT_OF_RANGE);
	CK_LAST_ERROR_HAS_GPA(b + 12 * p);
	CK_OK(squib_mem_discard(l.mem, SQUIB_GPA(b + p), 0));
	CK_OK(squib_mem_discard(l.mem, SQUIB_GPA(b + 4 * p), 0));
	CK_OK(squib_mem_discard(l.mem, SQUIB_GPA(b + 8 * p), 0));
	expect_layout(&l);
	free_layout(&l);
}
END_TEST

START_TEST(discard_read_only_and_caller_mapping)
{
	struct layout l = make_layout();
	const uint64_t b = l.base, p = l.p;

	CK_STATUS(squib_mem_discard(l.mem, SQUIB_GPA(b + 16 * p), p), SQUIB_E_READ_ONLY);
	CK_LAST_ERROR_HAS("slot 3");
	CK_LAST_ERROR_HAS_GPA(b + 16 * p);
	CK_STATUS(squib_mem_discard(l.mem, SQUIB_GPA(b + 16 * p), 2 * p), SQUIB_E_READ_ONLY);
	CK_STATUS(squib_mem_discard(l.mem, SQUIB_GPA(b + 21 * p), p), SQUIB_E_READ_ONLY);
	CK_LAST_ERROR_HAS("slot 4");
	CK_STATUS(squib_mem_discard(l.mem, SQUIB_GPA(b + 24 * p), 2 * p), SQUIB_E_UNSUPPORTED);
	CK_LAST_ERROR_HAS("slot 5");
	CK_LAST_ERROR_HAS_GPA(b + 24 * p);
	CK_STATUS(squib_mem_discard(l.mem, SQUIB_GPA(b + 25 * p), p), SQUIB_E_UNSUPPORTED);
	expect_layout(&l);
	/* The read-only file is untouched too. */
	expect_file(l.fd, 2 * p, 14, 0, 0);
	free_layout(&l);
}
END_TEST

static Suite *discard_suite(void)
{
	Suite *suite = suite_create("discard");
	TCase *backings = tcase_create("backings");
	TCase *refusals = tcase_create("refusals");

	tcase_add_test(backings, discard_anonymous);
	tcase_add_test(backings, discard_0_2_regions);
	tcase_add_test(backings, discard_shared_memfd_punches_a_hole);
	tcase_add_test(backings, discard_shared_file_punches_a_hole);
	tcase_add_test(backings, discard_private_file_gives_zeros);
	tcase_add_test(backings, discard_locked_anonymous);
	tcase_add_test(backings, discard_locked_shared);
	tcase_add_test(backings, discard_locked_private_file);
	tcase_set_timeout(backings, 60);

	tcase_add_test(refusals, discard_null_and_unaligned);
	tcase_add_test(refusals, discard_not_inside_one_region);
	tcase_add_test(refusals, discard_read_only_and_caller_mapping);
	tcase_set_timeout(refusals, 60);

	suite_add_tcase(suite, backings);
	suite_add_tcase(suite, refusals);
	return suite;
}

TEST_MAIN(discard_suite)
