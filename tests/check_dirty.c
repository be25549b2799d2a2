/* SPDX-License-Identifier: MIT */
/*
 * Dirty-page tracking (squib/dirty.h): the bitmap's size and layout for
 * aligned and unaligned regions, the exact pages each kind of library write
 * marks, read_from_fd included (and that reads, translations, empty and
 * failed writes mark none), harvesting with and without SQUIB_DIRTY_CLEAR,
 * switching on and off, SQUIB_REGION_DIRTY_LOG at add time, every refusal, pins let go after the
 * region stopped logging, was removed or the handle freed, listeners'
 * log_sync ORed in (and kept when one refuses), and a stress of writers
 * racing a harvesting thread in which no write may be lost.
 *
 * Every check compares every word of the bitmap with the exact pages that
 * must be dirty, and that the words past those the region needs are left
 * as they were.
 */
#define _GNU_SOURCE /* MAP_ANONYMOUS, mkdtemp */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "test_util.h"
#include "test_host.h"

/* ------------------------------------------------------------------ */
/* helpers                                                             */

#define PAGE4K 4096u
#define WORDS_MAX 64
#define SENTINEL_WORD 0xa5a5a5a5a5a5a5a5ull

/* Adds [base, base + size) logging from the start, RW, anonymous. */
static void add_logging(squib_mem_t *mem, uint64_t base, uint64_t size, uint32_t slot)
{
	squib_region_opts_t opts = test_opts_of(base, size, slot, SQUIB_REGION_DIRTY_LOG);

	CK_OK(squib_mem_add_region_opts(mem, &opts));
}

/*
 * Asserts that get_dirty_log of slot with flags returns exactly the pages
 * listed (page indices of the bitmap, ended by -1) in words words, and
 * leaves the two words after them alone.
 */
static void expect_dirty(squib_mem_t *mem, uint32_t slot, size_t words, uint32_t flags,
			 const int *pages, const char *what)
{
	uint64_t got[WORDS_MAX + 2], want[WORDS_MAX];

	ck_assert_uint_le(words, WORDS_MAX);
	memset(want, 0, sizeof(want));
	for (size_t i = 0; i < WORDS_MAX + 2; i++)
		got[i] = SENTINEL_WORD;
	for (const int *p = pages; *p >= 0; p++) {
		ck_assert_uint_lt((size_t)*p / 64, words);
		want[*p / 64] |= 1ull << (*p % 64);
	}
	CK_OK(squib_mem_get_dirty_log(mem, slot, got, words, flags));
	for (size_t i = 0; i < words; i++)
		ck_assert_msg(got[i] == want[i],
			      "%s: slot %u word %zu is 0x%016" PRIx64 ", want 0x%016" PRIx64, what,
			      slot, i, got[i], want[i]);
	ck_assert_msg(got[words] == SENTINEL_WORD && got[words + 1] == SENTINEL_WORD,
		      "%s: words past the %zu needed were written", what, words);
}

/* Exactly these pages dirty; harvested and cleared. */
#define CK_DIRTY(mem, slot, words, what, ...)                                                      \
	expect_dirty((mem), (slot), (words), SQUIB_DIRTY_CLEAR, (const int[]){__VA_ARGS__, -1},    \
		     (what))
/* Nothing dirty (and cleared). */
#define CK_CLEAN(mem, slot, words, what)                                                           \
	expect_dirty((mem), (slot), (words), SQUIB_DIRTY_CLEAR, (const int[]){-1}, (what))
/* Exactly these pages dirty; kept. */
#define CK_DIRTY_KEPT(mem, slot, words, what, ...)                                                 \
	expect_dirty((mem), (slot), (words), 0, (const int[]){__VA_ARGS__, -1}, (what))

static void ck_all_sentinel(const uint64_t *bitmap, size_t n, const char *what)
{
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(bitmap[i] == SENTINEL_WORD,
			      "%s: word %zu written (0x%016" PRIx64 ") by a failed call", what, i,
			      bitmap[i]);
}

static uint64_t round_up(uint64_t value, uint64_t align)
{
	return (value + align - 1) / align * align;
}

/* Where the stress and thread tests scale down (as check_pin_stress). */
static bool slow_host(void)
{
	return TEST_UNDER_TSAN || test_under_valgrind();
}

/* ------------------------------------------------------------------ */
/* size and layout                                                     */

START_TEST(word_counts)
{
	static const struct {
		uint64_t base, size;
		size_t words;
		int last_bit; /* the bit of the region's last byte */
	} cases[] = {
	    {0x1800, 0x1000, 1, 1}, /* 2 pages, partly each */
	    {0x10000, 0x1000, 1, 0},
	    {0x20fff, 2, 1, 1}, /* 2 bytes, 2 pages */
	    {0x30000, 1, 1, 0},
	    {0x100000, 64 * PAGE4K, 1, 63},
	    {0x200000, 65 * PAGE4K, 2, 64},
	    {0x300800, 64 * PAGE4K, 2, 64}, /* 64 pages long, touches 65 */
	    {0x400001, 64 * PAGE4K - 1, 1, 63},
	    {0x500000, 128 * PAGE4K, 2, 127},
	    {0x600800, 128 * PAGE4K, 3, 128},
	    {0x800000, 64 * 64 * PAGE4K, 64, 4095},
	    {0xffffffffffffe000ull, 0x1fff, 1, 1}, /* to the top of the address space */
	    {0xfffffffffff0f800ull, 0x800, 1, 0},
	};
	squib_mem_t *mem = test_mem_new();

	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		const uint32_t slot = (uint32_t)c + 1;
		const size_t words = cases[c].words;
		uint64_t bitmap[WORDS_MAX + 3];
		char what[64];

		(void)snprintf(what, sizeof(what), "region 0x%" PRIx64 "+0x%" PRIx64, cases[c].base,
			       cases[c].size);
		add_logging(mem, cases[c].base, cases[c].size, slot);
		/* One word short: NO_SPACE, nothing written. */
		for (size_t i = 0; i < WORDS_MAX + 3; i++)
			bitmap[i] = SENTINEL_WORD;
		CK_STATUS(squib_mem_get_dirty_log(mem, slot, bitmap, words - 1, 0),
			  SQUIB_E_NO_SPACE);
		CK_LAST_ERROR_HAS_U64(words);
		CK_LAST_ERROR_HAS_U64(words - 1);
		ck_all_sentinel(bitmap, WORDS_MAX + 3, what);
		if (words > 1) {
			CK_STATUS(squib_mem_get_dirty_log(mem, slot, bitmap, 0, SQUIB_DIRTY_CLEAR),
				  SQUIB_E_NO_SPACE);
			ck_all_sentinel(bitmap, WORDS_MAX + 3, what);
		}
		/* Exactly enough, and more: the words past the needed ones
		 * are left alone. */
		CK_CLEAN(mem, slot, words, what);
		CK_OK(squib_mem_get_dirty_log(mem, slot, bitmap, words + 3, 0));
		for (size_t i = 0; i < words; i++)
			ck_assert_uint_eq(bitmap[i], 0);
		ck_all_sentinel(bitmap + words, 3, what);
		/* The first and the last byte: bit 0 and the last bit. */
		CK_OK(squib_mem_write_u8(mem, SQUIB_GPA(cases[c].base), 1));
		CK_OK(squib_mem_write_u8(mem, SQUIB_GPA(cases[c].base + cases[c].size - 1), 2));
		if (cases[c].last_bit == 0)
			CK_DIRTY(mem, slot, words, what, 0);
		else
			CK_DIRTY(mem, slot, words, what, 0, cases[c].last_bit);
	}
	squib_mem_free(mem);
}
END_TEST

START_TEST(bit_layout)
{
	squib_mem_t *mem = test_mem_new();
	uint64_t bitmap[6];
	static const uint64_t writes[] = {0x1800,  0x1fff,  0x2000,  0x40000,
					  0x41000, 0xc9005, 0x1017ff};

	/* 0x1800 + 1 MiB: pages 0x1000 ... 0x101000, 257 of them, 5 words. */
	add_logging(mem, 0x1800, 0x100000, 1);
	for (size_t i = 0; i < sizeof(writes) / sizeof(writes[0]); i++)
		CK_OK(squib_mem_write_u8(mem, SQUIB_GPA(writes[i]), 0xee));
	for (size_t i = 0; i < 6; i++)
		bitmap[i] = SENTINEL_WORD;
	CK_OK(squib_mem_get_dirty_log(mem, 1, bitmap, 6, 0));
	ck_assert_uint_eq(bitmap[0], 0x8000000000000003ull); /* pages 0, 1 and 63 */
	ck_assert_uint_eq(bitmap[1], 0x1ull);		     /* page 64 */
	ck_assert_uint_eq(bitmap[2], 0);
	ck_assert_uint_eq(bitmap[3], 0x100ull); /* page 200 */
	ck_assert_uint_eq(bitmap[4], 0x1ull);	/* page 256, the last */
	ck_assert_uint_eq(bitmap[5], SENTINEL_WORD);

	/* Bit 0 is the region's own first page, not a page of a global
	 * numbering: a base of page 5 of its 64-page block. */
	add_logging(mem, 0x10005000, 8 * PAGE4K, 2);
	CK_OK(squib_mem_write_u8(mem, SQUIB_GPA(0x10005000 + 3 * PAGE4K + 7), 1));
	CK_DIRTY(mem, 2, 1, "region at page 5 of a block", 3);
	squib_mem_free(mem);
}
END_TEST

/* ------------------------------------------------------------------ */
/* what marks                                                          */

/* A: 64 pages at 0x100000, slot 1; B: 16 pages right after, slot 2; both
 * logging. */
#define A_BASE 0x100000ull
#define A_PAGES 64
#define B_BASE (A_BASE + A_PAGES * PAGE4K)
#define B_PAGES 16
#define PG(n) (A_BASE + (uint64_t)(n)*PAGE4K)

static squib_mem_t *two_logging_regions(void)
{
	squib_mem_t *mem = test_mem_new();

	add_logging(mem, A_BASE, A_PAGES * PAGE4K, 1);
	add_logging(mem, B_BASE, B_PAGES * PAGE4K, 2);
	return mem;
}

START_TEST(each_write_marks_the_pages_it_touched)
{
	squib_mem_t *mem = two_logging_regions();
	uint8_t buf[0x3000];
	uint8_t byte = 0;

	memset(buf, 0x6b, sizeof(buf));
	CK_CLEAN(mem, 1, 1, "fresh");
	CK_CLEAN(mem, 2, 1, "fresh");

	CK_OK(squib_mem_write(mem, SQUIB_GPA(PG(5) + 0x123), buf, 1));
	CK_DIRTY(mem, 1, 1, "write of 1 byte", 5);
	CK_OK(squib_mem_write(mem, SQUIB_GPA(PG(3) + 0xfff), buf, 0x2001));
	CK_DIRTY(mem, 1, 1, "write of 0x2001 bytes from the last byte of page 3", 3, 4, 5);
	CK_OK(squib_mem_write(mem, SQUIB_GPA(PG(7)), buf, 0x1000));
	CK_DIRTY(mem, 1, 1, "write of exactly page 7", 7);
	CK_OK(squib_mem_write(mem, SQUIB_GPA(PG(7)), buf, 0x1001));
	CK_DIRTY(mem, 1, 1, "write of page 7 and a byte", 7, 8);
	CK_OK(squib_mem_write(mem, SQUIB_GPA(PG(8) + 1), buf, 0x2fff));
	CK_DIRTY(mem, 1, 1, "write of pages 8-10 but the first byte", 8, 9, 10);
	CK_OK(squib_mem_write(mem, SQUIB_GPA(B_BASE - 1), buf, 1));
	CK_DIRTY(mem, 1, 1, "write of the region's last byte", 63);
	CK_OK(squib_mem_write(mem, SQUIB_GPA(B_BASE - 0x1000), buf, 0x1000));
	CK_DIRTY(mem, 1, 1, "write of the last page, to the end", 63);
	CK_OK(squib_mem_write(mem, SQUIB_GPA(B_BASE - 0x1001), buf, 0x1001));
	CK_DIRTY(mem, 1, 1, "write of the last page and a byte, to the end", 62, 63);
	CK_OK(squib_mem_write(mem, SQUIB_GPA(A_BASE), buf, 1));
	CK_DIRTY(mem, 1, 1, "write of the first byte", 0);
	CK_CLEAN(mem, 2, 1, "B after the writes to A"); /* nothing spilt over */

	CK_OK(squib_mem_write_u8(mem, SQUIB_GPA(PG(9) + 0x800), 0x12));
	CK_DIRTY(mem, 1, 1, "write_u8", 9);
	CK_OK(squib_mem_write_u16_le(mem, SQUIB_GPA(PG(10) + 0xfff), 0x1234));
	CK_DIRTY(mem, 1, 1, "write_u16_le over a page boundary", 10, 11);
	CK_OK(squib_mem_write_u16_le(mem, SQUIB_GPA(PG(12)), 0x1234));
	CK_DIRTY(mem, 1, 1, "write_u16_le", 12);
	CK_OK(squib_mem_write_u32_le(mem, SQUIB_GPA(PG(13) + 0xffe), 0x12345678u));
	CK_DIRTY(mem, 1, 1, "write_u32_le over a page boundary", 13, 14);
	CK_OK(squib_mem_write_u32_le(mem, SQUIB_GPA(PG(15) + 0xffc), 0x12345678u));
	CK_DIRTY(mem, 1, 1, "write_u32_le at a page's end", 15);
	CK_OK(squib_mem_write_u64_le(mem, SQUIB_GPA(PG(16) + 0xffc), 0x0123456789abcdefull));
	CK_DIRTY(mem, 1, 1, "write_u64_le over a page boundary", 16, 17);
	CK_OK(squib_mem_write_u64_le(mem, SQUIB_GPA(PG(18) + 0xff8), 0x0123456789abcdefull));
	CK_DIRTY(mem, 1, 1, "write_u64_le at a page's end", 18);
	CK_OK(squib_mem_write_u64_le(mem, SQUIB_GPA(B_BASE - 8), 1));
	CK_DIRTY(mem, 1, 1, "write_u64_le at the region's end", 63);

	CK_OK(squib_mem_store_u16_release(mem, SQUIB_GPA(PG(19) + 0xffe), 0xbeef));
	CK_DIRTY(mem, 1, 1, "store_u16_release", 19);
	CK_OK(squib_mem_store_u32_release(mem, SQUIB_GPA(PG(20) + 0xffc), 0xdeadbeefu));
	CK_DIRTY(mem, 1, 1, "store_u32_release", 20);
	CK_OK(squib_mem_store_u64_release(mem, SQUIB_GPA(PG(21) + 0xff8), 0xfeedfacecafef00dull));
	CK_DIRTY(mem, 1, 1, "store_u64_release", 21);
	CK_OK(squib_mem_store_u64_release(mem, SQUIB_GPA(B_BASE - 8), 7));
	CK_DIRTY(mem, 1, 1, "store_u64_release at the region's end", 63);

	CK_OK(squib_mem_mark_dirty(mem, SQUIB_GPA(PG(24) + 0x800), 0x1000));
	CK_DIRTY(mem, 1, 1, "mark_dirty of half of pages 24 and 25", 24, 25);
	CK_OK(squib_mem_mark_dirty(mem, SQUIB_GPA(PG(26) + 0xfff), 1));
	CK_DIRTY(mem, 1, 1, "mark_dirty of a page's last byte", 26);
	CK_OK(squib_mem_mark_dirty(mem, SQUIB_GPA(A_BASE), A_PAGES * PAGE4K));
	{
		uint64_t word = 0;

		CK_OK(squib_mem_get_dirty_log(mem, 1, &word, 1, SQUIB_DIRTY_CLEAR));
		ck_assert_uint_eq(word, ~0ull);
	}
	CK_CLEAN(mem, 2, 1, "B after the marks of A");

	/* The values are there too. */
	CK_OK(squib_mem_read_u8(mem, SQUIB_GPA(PG(9) + 0x800), &byte));
	ck_assert_uint_eq(byte, 0x12);
	squib_mem_free(mem);
}
END_TEST

START_TEST(discard_marks_its_pages)
{
	squib_mem_t *mem = two_logging_regions();
	const uint64_t p = test_page();
	const uint64_t off = round_up(32 * PAGE4K, p);
	uint8_t byte = 0xff;

	ck_assert_uint_le(off + p, A_PAGES * PAGE4K);
	CK_OK(squib_mem_write_u8(mem, SQUIB_GPA(A_BASE + off), 0x42));
	CK_DIRTY(mem, 1, 1, "the set-up write", (int)(off / PAGE4K));
	CK_OK(squib_mem_discard(mem, SQUIB_GPA(A_BASE + off), (size_t)p));
	{
		int pages[64];
		size_t n = 0;

		for (uint64_t at = off; at < off + p; at += PAGE4K)
			pages[n++] = (int)(at / PAGE4K);
		pages[n] = -1;
		expect_dirty(mem, 1, 1, SQUIB_DIRTY_CLEAR, pages, "discard of one host page");
	}
	CK_OK(squib_mem_read_u8(mem, SQUIB_GPA(A_BASE + off), &byte));
	ck_assert_uint_eq(byte, 0);
	/* An empty discard marks nothing. */
	CK_OK(squib_mem_discard(mem, SQUIB_GPA(A_BASE + off), 0));
	CK_CLEAN(mem, 1, 1, "after an empty discard");
	CK_CLEAN(mem, 2, 1, "B after the discard of A");

	/* A SHARED (memfd) region that logs: the hole punched counts too. */
	{
		squib_region_opts_t opts = test_opts_of(
		    0x10000000, 4 * p, 3, SQUIB_REGION_SHARED | SQUIB_REGION_DIRTY_LOG);
		int pages[64];
		size_t n = 0;

		CK_OK(squib_mem_add_region_opts(mem, &opts));
		CK_OK(squib_mem_discard(mem, SQUIB_GPA(0x10000000 + 2 * p), (size_t)p));
		for (uint64_t at = 2 * p; at < 3 * p; at += PAGE4K)
			pages[n++] = (int)(at / PAGE4K);
		pages[n] = -1;
		expect_dirty(mem, 3, (size_t)((4 * p / PAGE4K + 63) / 64), SQUIB_DIRTY_CLEAR, pages,
			     "discard of a SHARED region");
	}
	squib_mem_free(mem);
}
END_TEST

START_TEST(unpin_of_a_write_pin_marks)
{
	static const squib_prot_t writing[] = {SQUIB_PROT_WRITE, SQUIB_PROT_RW};
	squib_mem_t *mem = two_logging_regions();
	struct iovec iov[2];
	size_t used = 0;
	squib_pin_t *pin = NULL;

	for (size_t k = 0; k < 2; k++) {
		CK_OK(squib_mem_pin(mem, SQUIB_GPA(PG(27) + 0x10), 0x2000, writing[k], iov, 2,
				    &used, &pin));
		ck_assert_uint_eq(used, 1);
		memset(iov[0].iov_base, 0x11, iov[0].iov_len);
		/* A pin is not a write: nothing until it is let go. */
		CK_CLEAN(mem, 1, 1, "pinned for writing");
		squib_mem_unpin(pin);
		CK_DIRTY(mem, 1, 1, "unpin of a write pin", 27, 28, 29);
	}

	/* A READ pin marks nothing. */
	CK_OK(squib_mem_pin(mem, SQUIB_GPA(PG(30)), 0x3000, SQUIB_PROT_READ, iov, 2, &used, &pin));
	squib_mem_unpin(pin);
	CK_CLEAN(mem, 1, 1, "unpin of a read pin");

	/* Over the boundary of two logging regions: both. */
	CK_OK(squib_mem_pin(mem, SQUIB_GPA(B_BASE - 0x800), 0x1000, SQUIB_PROT_WRITE, iov, 2, &used,
			    &pin));
	ck_assert_uint_eq(used, 2);
	squib_mem_unpin(pin);
	CK_DIRTY(mem, 1, 1, "unpin of a pin over A's end", 63);
	CK_DIRTY(mem, 2, 1, "unpin of a pin over B's start", 0);

	/* Over the end of B into a region that does not log: B only. */
	test_add(mem, B_BASE + B_PAGES * PAGE4K, 0x2000, 3);
	CK_OK(squib_mem_pin(mem, SQUIB_GPA(B_BASE + B_PAGES * PAGE4K - 0x10), 0x20,
			    SQUIB_PROT_WRITE, iov, 2, &used, &pin));
	ck_assert_uint_eq(used, 2);
	squib_mem_unpin(pin);
	CK_DIRTY(mem, 2, 1, "unpin of a pin over B's end into a region that does not log",
		 B_PAGES - 1);
	CK_CLEAN(mem, 1, 1, "A after the pin over B's end");

	/* An empty write pin marks nothing. */
	CK_OK(squib_mem_pin(mem, SQUIB_GPA(PG(40)), 0, SQUIB_PROT_WRITE, iov, 2, &used, &pin));
	ck_assert_uint_eq(used, 0);
	squib_mem_unpin(pin);
	CK_CLEAN(mem, 1, 1, "unpin of an empty pin");
	squib_mem_unpin(NULL);
	squib_mem_free(mem);
}
END_TEST

START_TEST(unpin_after_logging_stopped_removal_or_free)
{
	squib_mem_t *mem = two_logging_regions();
	struct iovec iov[2];
	size_t used = 0;
	squib_pin_t *pin = NULL;
	uint64_t word[1];

	/* Spanning A and B; A stops logging before the unpin: only B. */
	CK_OK(squib_mem_pin(mem, SQUIB_GPA(B_BASE - 0x800), 0x1000, SQUIB_PROT_WRITE, iov, 2, &used,
			    &pin));
	CK_OK(squib_mem_set_dirty_log(mem, 1, false));
	squib_mem_unpin(pin);
	CK_DIRTY(mem, 2, 1, "B after the unpin", 0);
	CK_STATUS(squib_mem_get_dirty_log(mem, 1, word, 1, 0), SQUIB_E_UNSUPPORTED);
	CK_OK(squib_mem_set_dirty_log(mem, 1, true));
	CK_CLEAN(mem, 1, 1, "A switched on again after the unpin");

	/* A region that logs, removed under a write pin. */
	add_logging(mem, 0x10000000, 4 * PAGE4K, 3);
	CK_OK(squib_mem_pin(mem, SQUIB_GPA(0x10001000), 0x1000, SQUIB_PROT_WRITE, iov, 2, &used,
			    &pin));
	CK_OK(squib_mem_remove_region(mem, 3));
	memset(iov[0].iov_base, 0x22, iov[0].iov_len); /* still mapped */
	squib_mem_unpin(pin);
	CK_CLEAN(mem, 2, 1, "B untouched by the unpin of a removed region");
	CK_CLEAN(mem, 1, 1, "A untouched by the unpin of a removed region");

	/* And the handle freed under a write pin of a logging region. */
	CK_OK(squib_mem_pin(mem, SQUIB_GPA(PG(5)), 0x2000, SQUIB_PROT_RW, iov, 2, &used, &pin));
	squib_mem_free(mem);
	memset(iov[0].iov_base, 0x33, iov[0].iov_len);
	squib_mem_unpin(pin);
}
END_TEST

START_TEST(fd_transfers)
{
	squib_mem_t *mem = two_logging_regions();
	const uint64_t p = test_page();
	int fd = test_temp_file(0x4000, 8), pipes[2];
	uint8_t buf[0x2001], want[0x2001];
	size_t done = 0;

	/* read_from_fd is a library write: the pages it filled. */
	CK_OK(squib_mem_read_from_fd(mem, SQUIB_GPA(PG(3) + 0xfff), 0x2001, fd, 0, &done));
	ck_assert_uint_eq(done, 0x2001);
	CK_DIRTY(mem, 1, 1, "read_from_fd of 0x2001 bytes", 3, 4, 5);
	CK_OK(squib_mem_read(mem, SQUIB_GPA(PG(3) + 0xfff), buf, sizeof(buf)));
	test_fill_pattern(want, sizeof(want), 8);
	CK_BYTES_EQ(buf, want, sizeof(buf));

	/* At the fd's position (a pipe). */
	ck_assert_int_eq(pipe(pipes), 0);
	ck_assert_int_eq(write(pipes[1], want, 0x10), 0x10);
	CK_OK(squib_mem_read_from_fd(mem, SQUIB_GPA(PG(7) + 0x20), 0x10, pipes[0], -1, NULL));
	CK_DIRTY(mem, 1, 1, "read_from_fd from a pipe", 7);

	/* End of file after 0x1000 of 0x2000 bytes: IO, and the part written
	 * (pages 10 and 11), not the rest, is dirty. */
	done = 0;
	CK_STATUS(squib_mem_read_from_fd(mem, SQUIB_GPA(PG(10) + 0x800), 0x2000, fd, 0x3000, &done),
		  SQUIB_E_IO);
	ck_assert_uint_eq(done, 0x1000);
	CK_DIRTY(mem, 1, 1, "read_from_fd cut short by the end of the file", 10, 11);

	/* write_to_fd reads guest memory: nothing. */
	CK_OK(squib_mem_write_to_fd(mem, SQUIB_GPA(PG(20)), 0x2000, fd, 0, &done));
	CK_OK(squib_mem_write_to_fd(mem, SQUIB_GPA(B_BASE - 0x10), 0x10, pipes[1], -1, &done));
	/* Refused: out of range (over A's end) and read-only. */
	CK_STATUS(squib_mem_read_from_fd(mem, SQUIB_GPA(B_BASE - 0x10), 0x20, fd, 0, &done),
		  SQUIB_E_OUT_OF_RANGE);
	CK_CLEAN(mem, 1, 1, "A after write_to_fd and refused reads");
	CK_CLEAN(mem, 2, 1, "B after write_to_fd and refused reads");
	{
		squib_region_opts_t opts =
		    test_opts_of(0x20000000, p, 6, SQUIB_REGION_READONLY | SQUIB_REGION_DIRTY_LOG);
		uint8_t *image = calloc(1, (size_t)p);

		ck_assert_ptr_nonnull(image);
		opts.bytes = image;
		CK_OK(squib_mem_add_region_opts(mem, &opts));
		CK_STATUS(squib_mem_read_from_fd(mem, SQUIB_GPA(0x20000000), 0x100, fd, 0, &done),
			  SQUIB_E_READ_ONLY);
		CK_CLEAN(mem, 6, (size_t)((p / PAGE4K + 63) / 64),
			 "ROM after a refused read_from_fd");
		free(image);
	}
	ck_assert_int_eq(close(pipes[0]), 0);
	ck_assert_int_eq(close(pipes[1]), 0);
	ck_assert_int_eq(close(fd), 0);
	squib_mem_free(mem);
}
END_TEST

static int visit(const squib_region_info_t *info, void *ctx)
{
	(void)info;
	(*(unsigned *)ctx)++;
	return 0;
}

START_TEST(reads_and_translations_mark_nothing)
{
	squib_mem_t *mem = two_logging_regions();
	uint8_t buf[0x2000];
	uint8_t v8;
	uint16_t v16;
	uint32_t v32;
	uint64_t v64;
	struct iovec iov[2];
	size_t used;
	void *host;
	squib_pin_t *pin;
	squib_region_info_t info = SQUIB_REGION_INFO_INIT;
	unsigned seen = 0;

	CK_OK(squib_mem_read(mem, SQUIB_GPA(PG(1) + 0x800), buf, sizeof(buf)));
	CK_OK(squib_mem_read_u8(mem, SQUIB_GPA(PG(4)), &v8));
	CK_OK(squib_mem_read_u16_le(mem, SQUIB_GPA(PG(5) + 0xfff), &v16));
	CK_OK(squib_mem_read_u32_le(mem, SQUIB_GPA(PG(6) + 0xffe), &v32));
	CK_OK(squib_mem_read_u64_le(mem, SQUIB_GPA(PG(7) + 0xffc), &v64));
	CK_OK(squib_mem_load_u16_acquire(mem, SQUIB_GPA(PG(8)), &v16));
	CK_OK(squib_mem_load_u32_acquire(mem, SQUIB_GPA(PG(9)), &v32));
	CK_OK(squib_mem_load_u64_acquire(mem, SQUIB_GPA(PG(10)), &v64));
	CK_OK(squib_mem_translate(mem, SQUIB_GPA(PG(11)), 0x2000, SQUIB_PROT_READ, iov, 2, &used));
	CK_OK(
	    squib_mem_translate(mem, SQUIB_GPA(B_BASE - 0x10), 0x20, SQUIB_PROT_RW, iov, 2, &used));
	CK_OK(squib_mem_host_range(mem, SQUIB_GPA(PG(13)), 0x1000, SQUIB_PROT_WRITE, &host));
	CK_OK(squib_mem_pin(mem, SQUIB_GPA(PG(14)), 0x1000, SQUIB_PROT_READ, iov, 2, &used, &pin));
	squib_mem_unpin(pin);
	CK_OK(squib_mem_find_region(mem, SQUIB_GPA(PG(15)), &info));
	CK_OK(squib_mem_get_region(mem, 1, &info));
	ck_assert_int_eq(squib_mem_foreach_region(mem, visit, &seen), 0);
	ck_assert_uint_eq(seen, 2);
	/* Empty writes touch no page. */
	CK_OK(squib_mem_write(mem, SQUIB_GPA(PG(16)), NULL, 0));
	CK_OK(squib_mem_write(mem, SQUIB_GPA(B_BASE), buf, 0));
	CK_OK(squib_mem_mark_dirty(mem, SQUIB_GPA(PG(17)), 0));
	CK_CLEAN(mem, 1, 1, "A after reads and translations");
	CK_CLEAN(mem, 2, 1, "B after reads and translations");
	squib_mem_free(mem);
}
END_TEST

START_TEST(failed_writes_mark_nothing)
{
	squib_mem_t *mem = two_logging_regions();
	const uint64_t p = test_page();
	const uint64_t e_base = 0x10000000, e_size = 4 * p, e_end = e_base + e_size;
	const size_t e_words = (size_t)((e_size / PAGE4K + 63) / 64);
	uint8_t buf[0x2000];
	struct iovec iov[2];
	size_t used = 0;
	squib_pin_t *pin = NULL;

	memset(buf, 0x5c, sizeof(buf));
	add_logging(mem, e_base, e_size, 5); /* a hole after it */

	/* Out of range, starting inside a logging region. */
	CK_STATUS(squib_mem_write(mem, SQUIB_GPA(e_end - 0x10), buf, 0x20), SQUIB_E_OUT_OF_RANGE);
	CK_STATUS(squib_mem_write(mem, SQUIB_GPA(B_BASE - 0x10), buf, 0x20), SQUIB_E_OUT_OF_RANGE);
	CK_STATUS(squib_mem_write_u16_le(mem, SQUIB_GPA(e_end - 1), 1), SQUIB_E_OUT_OF_RANGE);
	CK_STATUS(squib_mem_write_u32_le(mem, SQUIB_GPA(e_end - 2), 1), SQUIB_E_OUT_OF_RANGE);
	CK_STATUS(squib_mem_write_u64_le(mem, SQUIB_GPA(e_end - 4), 1), SQUIB_E_OUT_OF_RANGE);
	CK_STATUS(squib_mem_write_u64_le(mem, SQUIB_GPA(B_BASE - 4), 1), SQUIB_E_OUT_OF_RANGE);
	CK_STATUS(squib_mem_store_u64_release(mem, SQUIB_GPA(e_end), 1), SQUIB_E_OUT_OF_RANGE);
	CK_STATUS(squib_mem_mark_dirty(mem, SQUIB_GPA(B_BASE - 0x10), 0x20), SQUIB_E_OUT_OF_RANGE);
	CK_STATUS(squib_mem_mark_dirty(mem, SQUIB_GPA(e_end - 1), 2), SQUIB_E_OUT_OF_RANGE);
	CK_STATUS(squib_mem_discard(mem, SQUIB_GPA(e_end - p), (size_t)(2 * p)),
		  SQUIB_E_OUT_OF_RANGE);
	/* Invalid arguments. */
	CK_STATUS(squib_mem_store_u32_release(mem, SQUIB_GPA(e_base + 2), 1),
		  SQUIB_E_INVALID_ARGUMENT);
	CK_STATUS(squib_mem_store_u64_release(mem, SQUIB_GPA(e_base + 4), 1),
		  SQUIB_E_INVALID_ARGUMENT);
	CK_STATUS(squib_mem_store_u16_release(mem, SQUIB_GPA(e_base + 1), 1),
		  SQUIB_E_INVALID_ARGUMENT);
	CK_STATUS(squib_mem_write(mem, SQUIB_GPA(e_base), NULL, 8), SQUIB_E_INVALID_ARGUMENT);
	CK_STATUS(squib_mem_discard(mem, SQUIB_GPA(e_base + 0x10), (size_t)p),
		  SQUIB_E_INVALID_ARGUMENT);
	CK_CLEAN(mem, 5, e_words, "E after failed writes");
	CK_CLEAN(mem, 1, 1, "A after failed writes");
	CK_CLEAN(mem, 2, 1, "B after failed writes");

	/* A read-only region that logs: every write READ_ONLY, nothing
	 * marked, nothing changed. */
	{
		squib_region_opts_t opts = test_opts_of(
		    0x20000000, 4 * p, 6, SQUIB_REGION_READONLY | SQUIB_REGION_DIRTY_LOG);
		uint8_t *image = malloc((size_t)(4 * p));
		uint8_t *back = malloc((size_t)(4 * p));

		ck_assert_ptr_nonnull(image);
		ck_assert_ptr_nonnull(back);
		test_fill_pattern(image, (size_t)(4 * p), 6);
		opts.bytes = image;
		CK_OK(squib_mem_add_region_opts(mem, &opts));
		CK_STATUS(squib_mem_write(mem, SQUIB_GPA(0x20000010), buf, 0x1000),
			  SQUIB_E_READ_ONLY);
		CK_STATUS(squib_mem_write_u8(mem, SQUIB_GPA(0x20000000), 1), SQUIB_E_READ_ONLY);
		CK_STATUS(squib_mem_write_u16_le(mem, SQUIB_GPA(0x20000fff), 1), SQUIB_E_READ_ONLY);
		CK_STATUS(squib_mem_write_u32_le(mem, SQUIB_GPA(0x20001000), 1), SQUIB_E_READ_ONLY);
		CK_STATUS(squib_mem_write_u64_le(mem, SQUIB_GPA(0x20001ffc), 1), SQUIB_E_READ_ONLY);
		CK_STATUS(squib_mem_store_u16_release(mem, SQUIB_GPA(0x20002000), 1),
			  SQUIB_E_READ_ONLY);
		CK_STATUS(squib_mem_store_u32_release(mem, SQUIB_GPA(0x20002004), 1),
			  SQUIB_E_READ_ONLY);
		CK_STATUS(squib_mem_store_u64_release(mem, SQUIB_GPA(0x20002008), 1),
			  SQUIB_E_READ_ONLY);
		CK_STATUS(squib_mem_discard(mem, SQUIB_GPA(0x20000000), (size_t)p),
			  SQUIB_E_READ_ONLY);
		CK_STATUS(squib_mem_pin(mem, SQUIB_GPA(0x20000000), 0x100, SQUIB_PROT_WRITE, iov, 2,
					&used, &pin),
			  SQUIB_E_READ_ONLY);
		CK_CLEAN(mem, 6, (size_t)((4 * p / PAGE4K + 63) / 64), "ROM after refused writes");
		CK_OK(squib_mem_read(mem, SQUIB_GPA(0x20000000), back, (size_t)(4 * p)));
		CK_BYTES_EQ(back, image, (size_t)(4 * p));
		free(image);
		free(back);
	}
	squib_mem_free(mem);
}
END_TEST

/* ------------------------------------------------------------------ */
/* harvesting and switching                                            */

START_TEST(get_keeps_or_clears)
{
	squib_mem_t *mem = two_logging_regions();

	CK_OK(squib_mem_write_u8(mem, SQUIB_GPA(PG(1)), 1));
	CK_OK(squib_mem_write_u8(mem, SQUIB_GPA(PG(40) + 0xfff), 1));
	CK_DIRTY_KEPT(mem, 1, 1, "first get without CLEAR", 1, 40);
	CK_DIRTY_KEPT(mem, 1, 1, "second get without CLEAR", 1, 40);
	CK_DIRTY(mem, 1, 1, "get with CLEAR", 1, 40);
	CK_CLEAN(mem, 1, 1, "after a get with CLEAR");
	CK_OK(squib_mem_write_u8(mem, SQUIB_GPA(PG(2)), 1));
	CK_DIRTY_KEPT(mem, 1, 1, "a new write after the clear", 2);
	CK_DIRTY(mem, 1, 1, "a new write after the clear, cleared", 2);
	/* B's bits are B's own. */
	CK_OK(squib_mem_write_u8(mem, SQUIB_GPA(B_BASE + 0x3000), 1));
	CK_DIRTY_KEPT(mem, 2, 1, "B", 3);
	CK_CLEAN(mem, 1, 1, "A after the write to B");
	CK_DIRTY(mem, 2, 1, "B", 3);
	squib_mem_free(mem);
}
END_TEST

START_TEST(enabling_starts_clear_and_disabled_writes_work)
{
	squib_mem_t *mem = test_mem_new();
	const uint64_t p = test_page();
	const uint64_t base = 0x500000, size = round_up(8 * PAGE4K, p);
	const size_t words = (size_t)((size / PAGE4K + 63) / 64);
	uint8_t buf[16], back[16];
	uint64_t v64 = 0, word[1];
	uint32_t v32 = 0;

	test_add(mem, base, size, 7);
	CK_STATUS(squib_mem_get_dirty_log(mem, 7, word, 1, 0), SQUIB_E_UNSUPPORTED);
	CK_OK(squib_mem_set_dirty_log(mem, 7, true));
	CK_CLEAN(mem, 7, words, "switched on");
	CK_OK(squib_mem_write_u8(mem, SQUIB_GPA(base + 3 * PAGE4K), 1));
	CK_OK(squib_mem_set_dirty_log(mem, 7, false));

	/* Not logging: every write still works. */
	memset(buf, 0x9a, sizeof(buf));
	CK_OK(squib_mem_write(mem, SQUIB_GPA(base + 4 * PAGE4K), buf, sizeof(buf)));
	CK_OK(squib_mem_read(mem, SQUIB_GPA(base + 4 * PAGE4K), back, sizeof(back)));
	CK_BYTES_EQ(back, buf, sizeof(buf));
	CK_OK(squib_mem_write_u64_le(mem, SQUIB_GPA(base + 5 * PAGE4K + 1), 0x1122334455667788ull));
	CK_OK(squib_mem_read_u64_le(mem, SQUIB_GPA(base + 5 * PAGE4K + 1), &v64));
	ck_assert_uint_eq(v64, 0x1122334455667788ull);
	CK_OK(squib_mem_store_u32_release(mem, SQUIB_GPA(base + 6 * PAGE4K), 0xa1b2c3d4u));
	CK_OK(squib_mem_load_u32_acquire(mem, SQUIB_GPA(base + 6 * PAGE4K), &v32));
	ck_assert_uint_eq(v32, 0xa1b2c3d4u);
	CK_OK(squib_mem_mark_dirty(mem, SQUIB_GPA(base + 7 * PAGE4K), 1));
	CK_OK(squib_mem_discard(mem, SQUIB_GPA(base), (size_t)p));
	CK_STATUS(squib_mem_get_dirty_log(mem, 7, word, 1, 0), SQUIB_E_UNSUPPORTED);

	/* On again: clear, whatever was written before or meanwhile. */
	CK_OK(squib_mem_set_dirty_log(mem, 7, true));
	CK_CLEAN(mem, 7, words, "switched on again");
	CK_OK(squib_mem_write_u8(mem, SQUIB_GPA(base + 5 * PAGE4K), 1));
	CK_DIRTY(mem, 7, words, "a write after switching on again", 5);
	/* Off and on with bits set and not harvested. */
	CK_OK(squib_mem_write_u8(mem, SQUIB_GPA(base + 2 * PAGE4K), 1));
	CK_OK(squib_mem_set_dirty_log(mem, 7, false));
	CK_OK(squib_mem_set_dirty_log(mem, 7, true));
	CK_CLEAN(mem, 7, words, "off and on with a bit set");
	squib_mem_free(mem);
}
END_TEST

START_TEST(get_and_set_errors)
{
	squib_mem_t *mem = two_logging_regions();
	uint64_t bitmap[4];
	static const uint32_t bad_flags[] = {0x2, 0x80000000u, SQUIB_DIRTY_CLEAR | 0x4};

	test_add(mem, 0x20000000, 0x1000, 9); /* does not log */
	CK_OK(squib_mem_write_u8(mem, SQUIB_GPA(PG(1)), 1));
	for (size_t i = 0; i < 4; i++)
		bitmap[i] = SENTINEL_WORD;

	CK_STATUS(squib_mem_get_dirty_log(mem, 9, bitmap, 4, 0), SQUIB_E_UNSUPPORTED);
	CK_LAST_ERROR_HAS_U64(9);
	CK_STATUS(squib_mem_get_dirty_log(mem, 99, bitmap, 4, 0), SQUIB_E_NOT_FOUND);
	CK_LAST_ERROR_HAS_U64(99);
	for (size_t i = 0; i < sizeof(bad_flags) / sizeof(bad_flags[0]); i++) {
		CK_STATUS(squib_mem_get_dirty_log(mem, 1, bitmap, 4, bad_flags[i]),
			  SQUIB_E_INVALID_ARGUMENT);
		/* Arguments first. */
		CK_STATUS(squib_mem_get_dirty_log(mem, 99, bitmap, 4, bad_flags[i]),
			  SQUIB_E_INVALID_ARGUMENT);
		CK_STATUS(squib_mem_get_dirty_log(mem, 9, bitmap, 4, bad_flags[i]),
			  SQUIB_E_INVALID_ARGUMENT);
	}
	CK_STATUS(squib_mem_get_dirty_log(mem, 1, NULL, 4, 0), SQUIB_E_INVALID_ARGUMENT);
	CK_STATUS(squib_mem_get_dirty_log(mem, 1, NULL, 0, 0), SQUIB_E_INVALID_ARGUMENT);
	CK_STATUS(squib_mem_get_dirty_log(mem, 99, NULL, 4, 0), SQUIB_E_INVALID_ARGUMENT);
	CK_STATUS(squib_mem_get_dirty_log(NULL, 1, bitmap, 4, 0), SQUIB_E_INVALID_ARGUMENT);
	ck_all_sentinel(bitmap, 4, "refused gets");
	/* None of them cleared anything. */
	CK_DIRTY(mem, 1, 1, "A after the refused gets", 1);

	/* A CLEAR get refused for room clears nothing. */
	add_logging(mem, 0x30000000, 65 * PAGE4K, 10);
	CK_OK(squib_mem_write_u8(mem, SQUIB_GPA(0x30000000 + 64 * PAGE4K), 1));
	CK_STATUS(squib_mem_get_dirty_log(mem, 10, bitmap, 1, SQUIB_DIRTY_CLEAR), SQUIB_E_NO_SPACE);
	CK_LAST_ERROR_HAS_U64(2);
	ck_all_sentinel(bitmap, 4, "a get with one word of two");
	CK_DIRTY(mem, 10, 2, "after the refused CLEAR", 64);

	CK_STATUS(squib_mem_set_dirty_log(mem, 99, true), SQUIB_E_NOT_FOUND);
	CK_LAST_ERROR_HAS_U64(99);
	CK_STATUS(squib_mem_set_dirty_log(mem, 99, false), SQUIB_E_NOT_FOUND);
	CK_STATUS(squib_mem_set_dirty_log(NULL, 1, false), SQUIB_E_INVALID_ARGUMENT);
	CK_STATUS(squib_mem_mark_dirty(NULL, SQUIB_GPA(PG(1)), 1), SQUIB_E_INVALID_ARGUMENT);
	/* The same state: success. */
	CK_OK(squib_mem_set_dirty_log(mem, 1, true));
	CK_OK(squib_mem_set_dirty_log(mem, 9, false));
	ck_assert_uint_eq(test_info_of(mem, 1).flags, SQUIB_REGION_DIRTY_LOG);
	ck_assert_uint_eq(test_info_of(mem, 9).flags, 0);
	squib_mem_free(mem);
}
END_TEST

START_TEST(mark_dirty_rules)
{
	squib_mem_t *mem = two_logging_regions();

	/* Right before A, a region that does not log. */
	test_add(mem, A_BASE - 0x10000, 0x10000, 8);
	CK_OK(squib_mem_mark_dirty(mem, SQUIB_GPA(A_BASE - 0x1000), 0x1000));
	CK_OK(squib_mem_mark_dirty(mem, SQUIB_GPA(A_BASE - 0x10000), 0x10000));
	CK_CLEAN(mem, 1, 1, "A after marks of the region before it");

	/* Not inside one region. */
	CK_STATUS(squib_mem_mark_dirty(mem, SQUIB_GPA(0x7000000), 1), SQUIB_E_OUT_OF_RANGE);
	CK_LAST_ERROR_HAS_GPA(0x7000000);
	CK_STATUS(squib_mem_mark_dirty(mem, SQUIB_GPA(A_BASE - 1), 2), SQUIB_E_OUT_OF_RANGE);
	CK_STATUS(squib_mem_mark_dirty(mem, SQUIB_GPA(B_BASE - 1), 2), SQUIB_E_OUT_OF_RANGE);
	CK_STATUS(squib_mem_mark_dirty(mem, SQUIB_GPA(B_BASE + B_PAGES * PAGE4K - 1), 2),
		  SQUIB_E_OUT_OF_RANGE);
	CK_STATUS(squib_mem_mark_dirty(mem, SQUIB_GPA(UINT64_MAX - 10), 100), SQUIB_E_OUT_OF_RANGE);
	CK_STATUS(squib_mem_mark_dirty(mem, SQUIB_GPA(PG(3)), SIZE_MAX), SQUIB_E_OUT_OF_RANGE);
	CK_CLEAN(mem, 1, 1, "A after refused marks");
	CK_CLEAN(mem, 2, 1, "B after refused marks");

	/* len 0: where an empty access succeeds (the end included). */
	CK_OK(squib_mem_mark_dirty(mem, SQUIB_GPA(A_BASE), 0));
	CK_OK(squib_mem_mark_dirty(mem, SQUIB_GPA(PG(9) + 5), 0));
	CK_OK(squib_mem_mark_dirty(mem, SQUIB_GPA(B_BASE + B_PAGES * PAGE4K), 0));
	CK_STATUS(squib_mem_mark_dirty(mem, SQUIB_GPA(0x7000000), 0), SQUIB_E_OUT_OF_RANGE);
	CK_CLEAN(mem, 1, 1, "A after empty marks");
	CK_CLEAN(mem, 2, 1, "B after empty marks");

	/* The last byte of A and the first of B, each inside one. */
	CK_OK(squib_mem_mark_dirty(mem, SQUIB_GPA(B_BASE - 1), 1));
	CK_OK(squib_mem_mark_dirty(mem, SQUIB_GPA(B_BASE), 1));
	CK_DIRTY(mem, 1, 1, "A's last byte marked", 63);
	CK_DIRTY(mem, 2, 1, "B's first byte marked", 0);
	squib_mem_free(mem);
}
END_TEST

START_TEST(dirty_log_flag_at_add)
{
	squib_mem_t *mem = test_mem_new();
	const uint64_t p = test_page();
	squib_region_info_t info;
	uint8_t *image = malloc((size_t)(4 * p));
	squib_region_opts_t opts;
	int fd;
	void *own;

	ck_assert_ptr_nonnull(image);
	test_fill_pattern(image, (size_t)(4 * p), 3);

	/* Anonymous, logging from the start. */
	add_logging(mem, 0x100000, 8 * PAGE4K, 1);
	CK_CLEAN(mem, 1, 1, "a region added logging");
	info = test_info_of(mem, 1);
	ck_assert_uint_eq(info.flags, SQUIB_REGION_DIRTY_LOG);
	info = (squib_region_info_t)SQUIB_REGION_INFO_INIT;
	CK_OK(squib_mem_find_region(mem, SQUIB_GPA(0x100000), &info));
	ck_assert_uint_eq(info.flags, SQUIB_REGION_DIRTY_LOG);
	CK_OK(squib_mem_write_u8(mem, SQUIB_GPA(0x100000 + 6 * PAGE4K), 1));
	CK_DIRTY(mem, 1, 1, "a region added logging, written", 6);
	/* DIRTY_LOG as it is now. */
	CK_OK(squib_mem_set_dirty_log(mem, 1, false));
	ck_assert_uint_eq(test_info_of(mem, 1).flags, 0);
	info = (squib_region_info_t)SQUIB_REGION_INFO_INIT;
	CK_OK(squib_mem_find_region(mem, SQUIB_GPA(0x100000), &info));
	ck_assert_uint_eq(info.flags, 0);
	CK_OK(squib_mem_set_dirty_log(mem, 1, true));
	ck_assert_uint_eq(test_info_of(mem, 1).flags, SQUIB_REGION_DIRTY_LOG);

	/* SHARED, from bytes, named: the other flags stay as added, and the
	 * bytes copied in are no write since logging began. */
	opts = test_opts_of(0x200000, 4 * p, 2, SQUIB_REGION_SHARED | SQUIB_REGION_DIRTY_LOG);
	opts.bytes = image;
	opts.name = "logged";
	CK_OK(squib_mem_add_region_opts(mem, &opts));
	info = test_info_of(mem, 2);
	ck_assert_uint_eq(info.flags, SQUIB_REGION_SHARED | SQUIB_REGION_DIRTY_LOG);
	ck_assert_str_eq(info.name, "logged");
	CK_CLEAN(mem, 2, 1, "a SHARED region from bytes, added logging");
	CK_OK(squib_mem_write_u32_le(mem, SQUIB_GPA(0x200000 + PAGE4K - 2), 1));
	CK_DIRTY(mem, 2, 1, "a SHARED region written", 0, 1);
	CK_OK(squib_mem_set_dirty_log(mem, 2, false));
	ck_assert_uint_eq(test_info_of(mem, 2).flags, SQUIB_REGION_SHARED);

	/* A file the library maps. */
	fd = test_temp_file(4 * p, 4);
	opts = test_opts_of(0x300000, 4 * p, 3, SQUIB_REGION_FILE | SQUIB_REGION_DIRTY_LOG);
	opts.fd = fd;
	CK_OK(squib_mem_add_region_opts(mem, &opts));
	ck_assert_int_eq(close(fd), 0);
	ck_assert_uint_eq(test_info_of(mem, 3).flags, SQUIB_REGION_FILE | SQUIB_REGION_DIRTY_LOG);
	CK_OK(squib_mem_write_u8(mem, SQUIB_GPA(0x300000 + 2 * PAGE4K), 1));
	CK_DIRTY(mem, 3, 1, "a FILE region written", 2);

	/* The caller's mapping: written marks; discard is refused and marks
	 * nothing. */
	own =
	    mmap(NULL, (size_t)(4 * p), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(own, MAP_FAILED);
	opts = test_opts_of(0x400000, 4 * p, 4, SQUIB_REGION_DIRTY_LOG);
	opts.host_addr = own;
	CK_OK(squib_mem_add_region_opts(mem, &opts));
	ck_assert_uint_eq(test_info_of(mem, 4).flags, SQUIB_REGION_DIRTY_LOG);
	CK_OK(squib_mem_write_u8(mem, SQUIB_GPA(0x400000 + 1), 1));
	CK_STATUS(squib_mem_discard(mem, SQUIB_GPA(0x400000 + p), (size_t)p), SQUIB_E_UNSUPPORTED);
	CK_DIRTY(mem, 4, 1, "a caller's mapping written", 0);

	/* 0.2 regions: flags 0 until switched on. */
	test_add(mem, 0x500000, 0x1000, 5);
	ck_assert_uint_eq(test_info_of(mem, 5).flags, 0);
	CK_OK(squib_mem_set_dirty_log(mem, 5, true));
	ck_assert_uint_eq(test_info_of(mem, 5).flags, SQUIB_REGION_DIRTY_LOG);
	CK_OK(squib_mem_add_region_from_bytes(mem, SQUIB_GPA(0x600000), image, 0x1800, 6,
					      SQUIB_PROT_RW));
	ck_assert_uint_eq(test_info_of(mem, 6).flags, 0);
	CK_OK(squib_mem_set_dirty_log(mem, 6, true));
	CK_CLEAN(mem, 6, 1, "a from_bytes region switched on");
	CK_OK(squib_mem_write_u8(mem, SQUIB_GPA(0x600000 + 0x17ff), 1));
	CK_DIRTY(mem, 6, 1, "a from_bytes region written", 1);
	squib_mem_free(mem);
	ck_assert_int_eq(munmap(own, (size_t)(4 * p)), 0);
	free(image);
}
END_TEST

/* ------------------------------------------------------------------ */
/* listeners' log_sync                                                 */

struct hv {
	int report[8];	    /* pages to report, -1 ended */
	bool report_always; /* else only on the next call */
	int fail;	    /* returned on the next call, then 0 */
	unsigned calls;
	size_t words;
	bool zeroed; /* the bitmap was all zero on entry */
	uint32_t slot;
	uint64_t base, size;
};

static squib_status_t hv_log_sync(void *ctx, const squib_region_info_t *info, uint64_t *bitmap,
				  size_t words)
{
	struct hv *hv = ctx;
	int status = hv->fail;

	hv->calls++;
	hv->words = words;
	hv->slot = info->slot;
	hv->base = info->range.base.raw;
	hv->size = info->range.size;
	hv->zeroed = true;
	for (size_t i = 0; i < words; i++)
		if (bitmap[i])
			hv->zeroed = false;
	for (const int *p = hv->report; *p >= 0; p++)
		bitmap[*p / 64] |= 1ull << (*p % 64);
	if (!hv->report_always)
		hv->report[0] = -1;
	hv->fail = 0;
	return (squib_status_t)status;
}

static void hv_init(struct hv *hv)
{
	memset(hv, 0, sizeof(*hv));
	hv->report[0] = -1;
}

static uint64_t hv_register(squib_mem_t *mem, struct hv *hv)
{
	squib_listener_t l = SQUIB_LISTENER_INIT;
	uint64_t id = 0;

	l.ctx = hv;
	l.log_sync = hv_log_sync;
	CK_OK(squib_mem_listener_add(mem, &l, &id));
	return id;
}

#define H_BASE 0x1000000ull
#define H_PAGES 100 /* 2 words */

START_TEST(log_sync_is_ored_in)
{
	squib_mem_t *mem = test_mem_new();
	struct hv hv[2];
	uint64_t bitmap[2];

	add_logging(mem, H_BASE, H_PAGES * PAGE4K, 9);
	add_logging(mem, 0x2000000, 4 * PAGE4K, 10);
	test_add(mem, 0x3000000, 0x1000, 11);
	hv_init(&hv[0]);
	hv_init(&hv[1]);
	(void)hv_register(mem, &hv[0]);

	hv[0].report[0] = 2;
	hv[0].report[1] = 65;
	hv[0].report[2] = -1;
	CK_OK(squib_mem_write_u8(mem, SQUIB_GPA(H_BASE + 10 * PAGE4K), 1));
	CK_DIRTY_KEPT(mem, 9, 2, "the write and the hypervisor's pages", 2, 10, 65);
	ck_assert_uint_eq(hv[0].calls, 1);
	ck_assert_uint_eq(hv[0].words, 2);
	ck_assert(hv[0].zeroed);
	ck_assert_uint_eq(hv[0].slot, 9);
	ck_assert_uint_eq(hv[0].base, H_BASE);
	ck_assert_uint_eq(hv[0].size, H_PAGES * PAGE4K);
	/* Reported once, kept by the library. */
	CK_DIRTY_KEPT(mem, 9, 2, "the hypervisor's pages kept", 2, 10, 65);
	ck_assert_uint_eq(hv[0].calls, 2);
	ck_assert(hv[0].zeroed);
	CK_DIRTY(mem, 9, 2, "harvested with CLEAR", 2, 10, 65);
	CK_CLEAN(mem, 9, 2, "after the CLEAR");
	ck_assert_uint_eq(hv[0].calls, 4);

	/* Two listeners: both ORed in, each with a zeroed bitmap. */
	(void)hv_register(mem, &hv[1]);
	hv[0].report[0] = 3;
	hv[0].report[1] = -1;
	hv[1].report[0] = 70;
	hv[1].report[1] = 3;
	hv[1].report[2] = -1;
	CK_DIRTY(mem, 9, 2, "two hypervisor logs", 3, 70);
	ck_assert(hv[0].zeroed);
	ck_assert(hv[1].zeroed);
	ck_assert_uint_eq(hv[1].calls, 1);

	/* Another slot: the listener is asked about that one. */
	hv[0].report[0] = 1;
	hv[0].report[1] = -1;
	CK_DIRTY(mem, 10, 1, "the other region's sync", 1);
	ck_assert_uint_eq(hv[0].slot, 10);
	ck_assert_uint_eq(hv[0].words, 1);
	CK_CLEAN(mem, 9, 2, "the first region untouched by the other's sync");

	/* No sync for a get that is refused before the region is read. */
	{
		unsigned calls[2] = {hv[0].calls, hv[1].calls};

		CK_STATUS(squib_mem_get_dirty_log(mem, 11, bitmap, 2, 0), SQUIB_E_UNSUPPORTED);
		CK_STATUS(squib_mem_get_dirty_log(mem, 99, bitmap, 2, 0), SQUIB_E_NOT_FOUND);
		CK_STATUS(squib_mem_get_dirty_log(mem, 9, bitmap, 2, 0x2),
			  SQUIB_E_INVALID_ARGUMENT);
		CK_STATUS(squib_mem_get_dirty_log(mem, 9, NULL, 2, 0), SQUIB_E_INVALID_ARGUMENT);
		ck_assert_uint_eq(hv[0].calls, calls[0]);
		ck_assert_uint_eq(hv[1].calls, calls[1]);
	}
	squib_mem_free(mem);
}
END_TEST

START_TEST(failing_log_sync_keeps_what_it_reported)
{
	squib_mem_t *mem = test_mem_new();
	struct hv hv[2];
	uint64_t id[2];
	uint64_t bitmap[4];

	add_logging(mem, H_BASE, H_PAGES * PAGE4K, 9);
	hv_init(&hv[0]);
	hv_init(&hv[1]);
	id[0] = hv_register(mem, &hv[0]);
	id[1] = hv_register(mem, &hv[1]);

	for (int round = 0; round < 2; round++) {
		/* The first round the later listener refuses, the second the
		 * earlier one. */
		struct hv *refuser = &hv[round == 0 ? 1 : 0];
		uint64_t refuser_id = id[round == 0 ? 1 : 0];

		CK_OK(squib_mem_write_u8(mem, SQUIB_GPA(H_BASE + PAGE4K), 1));
		hv[0].report[0] = 7;
		hv[0].report[1] = -1;
		hv[1].report[0] = 90;
		hv[1].report[1] = -1;
		refuser->fail = SQUIB_E_IO;
		for (size_t i = 0; i < 4; i++)
			bitmap[i] = SENTINEL_WORD;
		CK_STATUS(squib_mem_get_dirty_log(mem, 9, bitmap, 4, SQUIB_DIRTY_CLEAR),
			  SQUIB_E_IO);
		ck_all_sentinel(bitmap, 4, "a get whose log_sync refused");
		CK_LAST_ERROR_HAS_U64(refuser_id);
		CK_LAST_ERROR_HAS("log_sync");
		ck_assert_msg(strstr(squib_last_error(), squib_strerror(SQUIB_E_IO)) ||
				  strstr(squib_last_error(), "-8"),
			      "squib_last_error() = \"%s\" does not name SQUIB_E_IO",
			      squib_last_error());
		/* Nothing lost: the write, and what both reported (now or on
		 * the next call); and the next call hands each listener a
		 * zeroed bitmap again. */
		CK_DIRTY(mem, 9, 2, "after the refused sync", 1, 7, 90);
		ck_assert_msg(hv[0].zeroed && hv[1].zeroed,
			      "the sync after a refused one got a bitmap that was not zeroed");
		CK_CLEAN(mem, 9, 2, "after the refused sync, harvested");
	}

	/* A positive refusal is BUSY, and keeps the pages too. */
	hv[0].report[0] = 33;
	hv[0].report[1] = -1;
	hv[0].fail = 4;
	CK_STATUS(squib_mem_get_dirty_log(mem, 9, bitmap, 4, 0), SQUIB_E_BUSY);
	CK_DIRTY(mem, 9, 2, "after a positive refusal", 33);
	squib_mem_free(mem);
}
END_TEST

/* ------------------------------------------------------------------ */
/* stress: no racing write is lost                                     */

#define S_WRITERS 3 /* library writers; one more thread plays the hypervisor */
#define S_OWNERS (S_WRITERS + 1)
#define S_PAGES 1024
#define S_WORDS (S_PAGES / 64)
#define S_BASE 0x40000000ull
#define S_SLOT 77

struct stress {
	squib_mem_t *mem;
	atomic_bool writers_done;
	atomic_ulong failures;
	char message[256];
	pthread_mutex_t lock;
	/* The hypervisor's own log, taken by log_sync. */
	pthread_mutex_t hv_lock;
	uint64_t hv_pending[S_WORDS];
	/* The harvester's union of one round. */
	uint64_t harvested[S_WORDS];
	unsigned long harvests;
};

struct stress_writer {
	struct stress *s;
	unsigned id;
	unsigned round;
	uint64_t rng;
	uint64_t wrote[S_WORDS];
	unsigned long writes;
};

__attribute__((format(printf, 2, 3))) static void stress_fail(struct stress *s, const char *fmt,
							      ...);

static void stress_fail(struct stress *s, const char *fmt, ...)
{
	va_list args;

	pthread_mutex_lock(&s->lock);
	if (atomic_fetch_add(&s->failures, 1) == 0) {
		va_start(args, fmt);
		(void)vsnprintf(s->message, sizeof(s->message), fmt, args);
		va_end(args);
	}
	pthread_mutex_unlock(&s->lock);
}

static uint64_t next_random(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dull;
}

static squib_status_t stress_log_sync(void *ctx, const squib_region_info_t *info, uint64_t *bitmap,
				      size_t words)
{
	struct stress *s = ctx;

	(void)info;
	pthread_mutex_lock(&s->hv_lock);
	for (size_t i = 0; i < words && i < S_WORDS; i++) {
		bitmap[i] |= s->hv_pending[i];
		s->hv_pending[i] = 0;
	}
	pthread_mutex_unlock(&s->hv_lock);
	return SQUIB_OK;
}

/* One write of page page, of a kind that varies; true when it is done. */
static bool stress_write(struct stress_writer *w, unsigned page, uint64_t r)
{
	squib_mem_t *mem = w->s->mem;
	uint64_t at = S_BASE + (uint64_t)page * PAGE4K + ((r >> 20) % (PAGE4K / 8)) * 8;
	struct iovec iov;
	size_t used;
	squib_pin_t *pin;
	squib_status_t st;

	switch ((r >> 8) % 6) {
	case 0:
		st = squib_mem_write_u8(mem, SQUIB_GPA(at), (uint8_t)r);
		break;
	case 1:
		st = squib_mem_write_u64_le(mem, SQUIB_GPA(at), r);
		break;
	case 2:
		st = squib_mem_store_u32_release(mem, SQUIB_GPA(at), (uint32_t)r);
		break;
	case 3:
		st = squib_mem_mark_dirty(mem, SQUIB_GPA(at), 8);
		break;
	case 4:
		st = squib_mem_write(mem, SQUIB_GPA(at), &r, sizeof(r));
		break;
	default:
		st = squib_mem_pin(mem, SQUIB_GPA(at), 8, SQUIB_PROT_WRITE, &iov, 1, &used, &pin);
		if (st == SQUIB_OK) {
			memcpy(iov.iov_base, &r, sizeof(r));
			squib_mem_unpin(pin);
		}
		break;
	}
	if (st != SQUIB_OK) {
		stress_fail(w->s, "writer %u: write of kind %u to page %u: %d", w->id,
			    (unsigned)((r >> 8) % 6), page, (int)st);
		return false;
	}
	return true;
}

static void *stress_writer_main(void *arg)
{
	struct stress_writer *w = arg;
	struct stress *s = w->s;

	memset(w->wrote, 0, sizeof(w->wrote));
	/* Its own pages (page % S_OWNERS == id), in an order that varies,
	 * each at most once: a lost bit is not masked by a later write. */
	for (unsigned k = 0, n = S_PAGES / S_OWNERS; k < n && !atomic_load(&s->failures); k++) {
		unsigned page = ((k * 37u + w->round * 11u) % n) * S_OWNERS + w->id;
		uint64_t r = next_random(&w->rng);

		if (page >= S_PAGES || (r & 1))
			continue;
		if (w->id == S_WRITERS) {
			/* The hypervisor: the guest wrote it behind the
			 * library's back. */
			pthread_mutex_lock(&s->hv_lock);
			s->hv_pending[page / 64] |= 1ull << (page % 64);
			pthread_mutex_unlock(&s->hv_lock);
		} else if (!stress_write(w, page, r)) {
			break;
		}
		w->wrote[page / 64] |= 1ull << (page % 64);
		w->writes++;
		if ((r >> 40) % 16 == 0)
			sched_yield();
	}
	return NULL;
}

static void stress_harvest(struct stress *s)
{
	uint64_t bitmap[S_WORDS];
	squib_status_t st =
	    squib_mem_get_dirty_log(s->mem, S_SLOT, bitmap, S_WORDS, SQUIB_DIRTY_CLEAR);

	if (st != SQUIB_OK) {
		stress_fail(s, "harvest: %d", (int)st);
		return;
	}
	for (size_t i = 0; i < S_WORDS; i++)
		s->harvested[i] |= bitmap[i];
	s->harvests++;
}

static void *stress_harvester_main(void *arg)
{
	struct stress *s = arg;

	while (!atomic_load(&s->writers_done) && !atomic_load(&s->failures))
		stress_harvest(s);
	return NULL;
}

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

START_TEST(no_racing_write_is_lost)
{
	static struct stress s;
	static struct stress_writer w[S_OWNERS];
	const unsigned max_rounds = test_under_valgrind() ? 10u : TEST_UNDER_TSAN ? 30u : 200u;
	const double budget = slow_host() ? 20.0 : 2.0;
	const double start = now_seconds();
	squib_listener_t l = SQUIB_LISTENER_INIT;
	unsigned long writes = 0;
	unsigned rounds = 0;
	uint64_t id;

	memset(&s, 0, sizeof(s));
	pthread_mutex_init(&s.lock, NULL);
	pthread_mutex_init(&s.hv_lock, NULL);
	s.mem = test_mem_new();
	add_logging(s.mem, S_BASE, S_PAGES * PAGE4K, S_SLOT);
	l.ctx = &s;
	l.log_sync = stress_log_sync;
	CK_OK(squib_mem_listener_add(s.mem, &l, &id));
	for (unsigned i = 0; i < S_OWNERS; i++)
		w[i] = (struct stress_writer){&s, i, 0, 0x9e3779b97f4a7c15ull * (i + 1), {0}, 0};

	while (rounds < max_rounds && (rounds < 3 || now_seconds() - start < budget)) {
		pthread_t writers[S_OWNERS], harvester;
		uint64_t wrote[S_WORDS] = {0};

		memset(s.harvested, 0, sizeof(s.harvested));
		atomic_store(&s.writers_done, false);
		ck_assert_int_eq(pthread_create(&harvester, NULL, stress_harvester_main, &s), 0);
		for (unsigned i = 0; i < S_OWNERS; i++) {
			w[i].round = rounds;
			ck_assert_int_eq(
			    pthread_create(&writers[i], NULL, stress_writer_main, &w[i]), 0);
		}
		for (unsigned i = 0; i < S_OWNERS; i++)
			ck_assert_int_eq(pthread_join(writers[i], NULL), 0);
		atomic_store(&s.writers_done, true);
		ck_assert_int_eq(pthread_join(harvester, NULL), 0);
		ck_assert_msg(atomic_load(&s.failures) == 0, "%s", s.message);
		/* The writers are done: one last harvest takes the rest. */
		stress_harvest(&s);
		ck_assert_msg(atomic_load(&s.failures) == 0, "%s", s.message);
		for (unsigned i = 0; i < S_OWNERS; i++)
			for (size_t k = 0; k < S_WORDS; k++)
				wrote[k] |= w[i].wrote[k];
		for (size_t k = 0; k < S_WORDS; k++) {
			uint64_t lost = wrote[k] & ~s.harvested[k];
			uint64_t extra = s.harvested[k] & ~wrote[k];

			ck_assert_msg(lost == 0,
				      "round %u: page %zu written but never harvested (word %zu: "
				      "wrote 0x%016" PRIx64 ", harvested 0x%016" PRIx64 ")",
				      rounds, k * 64 + (size_t)__builtin_ctzll(lost ? lost : 1), k,
				      wrote[k], s.harvested[k]);
			ck_assert_msg(extra == 0,
				      "round %u: page %zu harvested but written by nobody", rounds,
				      k * 64 + (size_t)__builtin_ctzll(extra ? extra : 1));
		}
		rounds++;
	}
	for (unsigned i = 0; i < S_OWNERS; i++)
		writes += w[i].writes;
	CK_OK(squib_mem_listener_remove(s.mem, id));
	squib_mem_free(s.mem);
	pthread_mutex_destroy(&s.lock);
	pthread_mutex_destroy(&s.hv_lock);
	fprintf(stderr, "dirty stress: %u rounds, %lu writes, %lu harvests in %.2f s\n", rounds,
		writes, s.harvests, now_seconds() - start);
	ck_assert_uint_ge(rounds, 3);
	ck_assert_uint_gt(writes, 0);
}
END_TEST

static Suite *dirty_suite(void)
{
	Suite *suite = suite_create("dirty");
	TCase *layout = tcase_create("layout");
	TCase *marks = tcase_create("marks");
	TCase *harvest = tcase_create("harvest");
	TCase *sync = tcase_create("log_sync");
	TCase *stress = tcase_create("stress");

	tcase_add_test(layout, word_counts);
	tcase_add_test(layout, bit_layout);

	tcase_add_test(marks, each_write_marks_the_pages_it_touched);
	tcase_add_test(marks, discard_marks_its_pages);
	tcase_add_test(marks, unpin_of_a_write_pin_marks);
	tcase_add_test(marks, fd_transfers);
	tcase_add_test(marks, unpin_after_logging_stopped_removal_or_free);
	tcase_add_test(marks, reads_and_translations_mark_nothing);
	tcase_add_test(marks, failed_writes_mark_nothing);

	tcase_add_test(harvest, get_keeps_or_clears);
	tcase_add_test(harvest, enabling_starts_clear_and_disabled_writes_work);
	tcase_add_test(harvest, get_and_set_errors);
	tcase_add_test(harvest, mark_dirty_rules);
	tcase_add_test(harvest, dirty_log_flag_at_add);

	tcase_add_test(sync, log_sync_is_ored_in);
	tcase_add_test(sync, failing_log_sync_keeps_what_it_reported);

	tcase_add_test(stress, no_racing_write_is_lost);
	tcase_set_timeout(stress, 120);

	suite_add_tcase(suite, layout);
	suite_add_tcase(suite, marks);
	suite_add_tcase(suite, harvest);
	suite_add_tcase(suite, sync);
	suite_add_tcase(suite, stress);
	return suite;
}

TEST_MAIN(dirty_suite)
