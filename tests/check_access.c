/* SPDX-License-Identifier: MIT */
/*
 * Reads and writes: lib/access.c against the six rules of the contract's
 * Access section (numbered as there).
 */
#include <pthread.h>

#include "test_util.h"

#define A_BASE 0x1000u /* region 1: [0x1000, 0x2000) */
#define B_BASE 0x2000u /* region 2: [0x2000, 0x3000), adjacent to 1 */
#define R_SIZE 0x1000u

/* Two adjacent regions, each filled with its own pattern. */
static squib_mem_t *two_adjacent_regions(void)
{
	squib_mem_t *mem = test_mem_new();
	uint8_t bytes[R_SIZE];

	test_fill_pattern(bytes, sizeof(bytes), 1);
	CK_OK(squib_mem_add_region_from_bytes(mem, SQUIB_GPA(A_BASE), bytes, sizeof(bytes), 1,
					      SQUIB_PROT_RW));
	test_fill_pattern(bytes, sizeof(bytes), 2);
	CK_OK(squib_mem_add_region_from_bytes(mem, SQUIB_GPA(B_BASE), bytes, sizeof(bytes), 2,
					      SQUIB_PROT_RW));
	return mem;
}

/* Asserts that both regions still hold their initial patterns. */
static void expect_patterns_intact(const squib_mem_t *mem)
{
	uint8_t got[R_SIZE];

	CK_OK(squib_mem_read(mem, SQUIB_GPA(A_BASE), got, sizeof(got)));
	ck_assert_uint_eq(test_check_pattern(got, sizeof(got), 1), sizeof(got));
	CK_OK(squib_mem_read(mem, SQUIB_GPA(B_BASE), got, sizeof(got)));
	ck_assert_uint_eq(test_check_pattern(got, sizeof(got), 2), sizeof(got));
}

/* Requests that must all fail with OUT_OF_RANGE on two_adjacent_regions(). */
static const struct {
	uint64_t addr;
	size_t len;
	const char *what;
} bad_requests[] = {
    {A_BASE - 1, 1, "byte below the first region"},
    {A_BASE - 4, 8, "straddles the first region's base"},
    {B_BASE - 8, 16, "straddles the edge between the adjacent regions"},
    {B_BASE - 1, 2, "two bytes across the shared edge"},
    {A_BASE, 2 * R_SIZE, "both regions exactly"},
    {B_BASE + R_SIZE - 4, 8, "straddles the last region's end"},
    {B_BASE + R_SIZE, 1, "first byte past the end"},
    {0, 1, "address 0"},
    {UINT64_MAX, 1, "last address"},
    {UINT64_MAX - 8, 64, "addr + len overflows"},
    {A_BASE, SIZE_MAX, "len SIZE_MAX from a base"},
    {A_BASE + 1, SIZE_MAX - 0x100, "huge len, no overflow"},
};
#define BAD_COUNT (sizeof(bad_requests) / sizeof(bad_requests[0]))

/* ------------------------------------------------------------------ */
/* Rule 1: byte accuracy                                               */

START_TEST(rule1_failed_read_leaves_buf)
{
	squib_mem_t *mem = two_adjacent_regions();
	static uint8_t buf[3 * R_SIZE];

	for (size_t i = 0; i < BAD_COUNT; i++) {
		size_t len = bad_requests[i].len;
		squib_status_t status;

		memset(buf, 0xa5, sizeof(buf));
		/* Lengths past the buffer are never copied: the call fails
		 * before touching it. */
		status = squib_mem_read(mem, SQUIB_GPA(bad_requests[i].addr), buf, len);
		ck_assert_msg(status == SQUIB_E_OUT_OF_RANGE,
			      "read %s (0x%" PRIx64 " + %zu): %d, %s", bad_requests[i].what,
			      bad_requests[i].addr, len, (int)status, squib_last_error());
		CK_BYTES_ALL(buf, sizeof(buf), 0xa5);
	}
	expect_patterns_intact(mem);
	squib_mem_free(mem);
}
END_TEST

START_TEST(rule1_failed_write_leaves_guest_memory)
{
	squib_mem_t *mem = two_adjacent_regions();
	static uint8_t buf[3 * R_SIZE];

	memset(buf, 0x3c, sizeof(buf));
	for (size_t i = 0; i < BAD_COUNT; i++) {
		squib_status_t status =
		    squib_mem_write(mem, SQUIB_GPA(bad_requests[i].addr), buf, bad_requests[i].len);

		ck_assert_msg(status == SQUIB_E_OUT_OF_RANGE,
			      "write %s (0x%" PRIx64 " + %zu): %d, %s", bad_requests[i].what,
			      bad_requests[i].addr, bad_requests[i].len, (int)status,
			      squib_last_error());
		expect_patterns_intact(mem);
	}
	CK_BYTES_ALL(buf, sizeof(buf), 0x3c);
	squib_mem_free(mem);
}
END_TEST

START_TEST(rule1_failed_typed_leaves_out_and_memory)
{
	squib_mem_t *mem = two_adjacent_regions();
	uint8_t u8 = 0xa5;
	uint16_t u16 = 0xa5a5;
	uint32_t u32 = 0xa5a5a5a5u;
	uint64_t u64 = 0xa5a5a5a5a5a5a5a5u;
	const uint64_t end = B_BASE + R_SIZE;

	CK_STATUS(squib_mem_read_u8(mem, SQUIB_GPA(end), &u8), SQUIB_E_OUT_OF_RANGE);
	CK_STATUS(squib_mem_read_u16_le(mem, SQUIB_GPA(end - 1), &u16), SQUIB_E_OUT_OF_RANGE);
	CK_STATUS(squib_mem_read_u32_le(mem, SQUIB_GPA(B_BASE - 2), &u32), SQUIB_E_OUT_OF_RANGE);
	CK_STATUS(squib_mem_read_u64_le(mem, SQUIB_GPA(A_BASE - 4), &u64), SQUIB_E_OUT_OF_RANGE);
	CK_STATUS(squib_mem_read_u64_le(mem, SQUIB_GPA(UINT64_MAX - 3), &u64),
		  SQUIB_E_OUT_OF_RANGE);
	ck_assert_uint_eq(u8, 0xa5);
	ck_assert_uint_eq(u16, 0xa5a5);
	ck_assert_uint_eq(u32, 0xa5a5a5a5u);
	ck_assert_uint_eq(u64, 0xa5a5a5a5a5a5a5a5u);

	CK_STATUS(squib_mem_write_u8(mem, SQUIB_GPA(end), 0), SQUIB_E_OUT_OF_RANGE);
	CK_STATUS(squib_mem_write_u16_le(mem, SQUIB_GPA(end - 1), 0), SQUIB_E_OUT_OF_RANGE);
	CK_STATUS(squib_mem_write_u32_le(mem, SQUIB_GPA(B_BASE - 2), 0), SQUIB_E_OUT_OF_RANGE);
	CK_STATUS(squib_mem_write_u32_le(mem, SQUIB_GPA(B_BASE - 1), 0), SQUIB_E_OUT_OF_RANGE);
	CK_STATUS(squib_mem_write_u64_le(mem, SQUIB_GPA(B_BASE - 7), 0), SQUIB_E_OUT_OF_RANGE);
	CK_STATUS(squib_mem_write_u64_le(mem, SQUIB_GPA(A_BASE - 1), 0), SQUIB_E_OUT_OF_RANGE);
	expect_patterns_intact(mem);
	squib_mem_free(mem);
}
END_TEST

START_TEST(rule1_success_copies_exactly_len)
{
	squib_mem_t *mem = two_adjacent_regions();
	uint8_t buf[64], want[R_SIZE];

	test_fill_pattern(want, sizeof(want), 1);
	/* Read 13 bytes into the middle of a sentinel buffer: nothing around
	 * them changes. */
	memset(buf, 0xa5, sizeof(buf));
	CK_OK(squib_mem_read(mem, SQUIB_GPA(A_BASE + 100), buf + 20, 13));
	CK_BYTES_ALL(buf, 20, 0xa5);
	CK_BYTES_EQ(buf + 20, want + 100, 13);
	CK_BYTES_ALL(buf + 33, sizeof(buf) - 33, 0xa5);

	/* Write 7 bytes: the guest bytes around them keep the pattern. */
	memset(buf, 0x11, sizeof(buf));
	CK_OK(squib_mem_write(mem, SQUIB_GPA(A_BASE + 200), buf, 7));
	{
		uint8_t got[R_SIZE];

		CK_OK(squib_mem_read(mem, SQUIB_GPA(A_BASE), got, sizeof(got)));
		CK_BYTES_EQ(got, want, 200);
		CK_BYTES_ALL(got + 200, 7, 0x11);
		CK_BYTES_EQ(got + 207, want + 207, sizeof(got) - 207);
	}
	squib_mem_free(mem);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Rule 2: one region, even when the next one starts exactly there      */

START_TEST(rule2_straddling_adjacent_regions_fails)
{
	squib_mem_t *mem = two_adjacent_regions();
	uint8_t buf[2 * R_SIZE];

	/* Every split of a 16-byte request across the shared edge. */
	for (uint64_t before = 1; before < 16; before++) {
		memset(buf, 0xa5, 16);
		CK_STATUS(squib_mem_read(mem, SQUIB_GPA(B_BASE - before), buf, 16),
			  SQUIB_E_OUT_OF_RANGE);
		CK_BYTES_ALL(buf, 16, 0xa5);
		CK_STATUS(squib_mem_write(mem, SQUIB_GPA(B_BASE - before), buf, 16),
			  SQUIB_E_OUT_OF_RANGE);
	}
	CK_STATUS(squib_mem_read(mem, SQUIB_GPA(A_BASE), buf, sizeof(buf)), SQUIB_E_OUT_OF_RANGE);
	/* Right up to the edge from either side succeeds. */
	CK_OK(squib_mem_read(mem, SQUIB_GPA(B_BASE - 16), buf, 16));
	CK_OK(squib_mem_read(mem, SQUIB_GPA(B_BASE), buf, 16));
	CK_OK(squib_mem_read(mem, SQUIB_GPA(A_BASE), buf, R_SIZE));
	CK_OK(squib_mem_read(mem, SQUIB_GPA(B_BASE), buf, R_SIZE));
	expect_patterns_intact(mem);
	squib_mem_free(mem);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Rule 3: addr + len overflow                                          */

START_TEST(rule3_overflow_is_out_of_range)
{
	squib_mem_t *mem = test_mem_new();
	uint8_t buf[0x100];
	uint64_t u64 = 7;

	test_add(mem, UINT64_MAX - 0x10, 0x10, 1);
	test_add(mem, 0, 0x1000, 2);
	memset(buf, 0xa5, sizeof(buf));
	CK_STATUS(squib_mem_read(mem, SQUIB_GPA(UINT64_MAX - 8), buf, SIZE_MAX),
		  SQUIB_E_OUT_OF_RANGE);
	CK_LAST_ERROR_HAS_GPA(UINT64_MAX - 8);
	CK_LAST_ERROR_HAS_U64(SIZE_MAX);
	CK_STATUS(squib_mem_read(mem, SQUIB_GPA(UINT64_MAX - 0x10), buf, SIZE_MAX),
		  SQUIB_E_OUT_OF_RANGE);
	CK_STATUS(squib_mem_read(mem, SQUIB_GPA(UINT64_MAX - 8), buf, 0x100), SQUIB_E_OUT_OF_RANGE);
	/* A wrap would land inside region 2 at address 0. */
	CK_STATUS(squib_mem_read(mem, SQUIB_GPA(UINT64_MAX - 8), buf, 0x10), SQUIB_E_OUT_OF_RANGE);
	CK_STATUS(squib_mem_write(mem, SQUIB_GPA(UINT64_MAX - 8), buf, 0x10), SQUIB_E_OUT_OF_RANGE);
	CK_STATUS(squib_mem_read(mem, SQUIB_GPA(UINT64_MAX), buf, 2), SQUIB_E_OUT_OF_RANGE);
	CK_STATUS(squib_mem_read(mem, SQUIB_GPA(1), buf, SIZE_MAX), SQUIB_E_OUT_OF_RANGE);
	CK_STATUS(squib_mem_read(mem, SQUIB_GPA(0), buf, SIZE_MAX), SQUIB_E_OUT_OF_RANGE);
	CK_STATUS(squib_mem_write(mem, SQUIB_GPA(UINT64_MAX - 0x10), buf, SIZE_MAX),
		  SQUIB_E_OUT_OF_RANGE);
	CK_STATUS(squib_mem_read_u64_le(mem, SQUIB_GPA(UINT64_MAX - 3), &u64),
		  SQUIB_E_OUT_OF_RANGE);
	CK_STATUS(squib_mem_write_u64_le(mem, SQUIB_GPA(UINT64_MAX - 3), 1), SQUIB_E_OUT_OF_RANGE);
	CK_STATUS(squib_mem_write_u16_le(mem, SQUIB_GPA(UINT64_MAX), 1), SQUIB_E_OUT_OF_RANGE);
	ck_assert_uint_eq(u64, 7);
	CK_BYTES_ALL(buf, sizeof(buf), 0xa5);
	/* Nothing landed at the bottom of the address space. */
	CK_OK(squib_mem_read(mem, SQUIB_GPA(0), buf, 0x10));
	CK_BYTES_ALL(buf, 0x10, 0);
	/* The top region itself works up to its last byte. */
	CK_OK(squib_mem_read(mem, SQUIB_GPA(UINT64_MAX - 0x10), buf, 0x10));
	CK_OK(squib_mem_write_u64_le(mem, SQUIB_GPA(UINT64_MAX - 8), 0x0102030405060708u));
	CK_OK(squib_mem_read_u64_le(mem, SQUIB_GPA(UINT64_MAX - 8), &u64));
	ck_assert_uint_eq(u64, 0x0102030405060708u);
	squib_mem_free(mem);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Rule 4: len == 0, NULL arguments                                     */

START_TEST(rule4_len_zero_in_region_succeeds)
{
	squib_mem_t *mem = test_mem_new();
	uint8_t buf[4] = {0xa5, 0xa5, 0xa5, 0xa5};
	static const uint64_t addrs[] = {0x1000, 0x1001, 0x1800, 0x1fff, 0x2000};

	test_add(mem, 0x1000, 0x1000, 1);
	test_add(mem, UINT64_MAX - 0x10, 0x10, 2);
	for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
		CK_OK(squib_mem_read(mem, SQUIB_GPA(addrs[i]), NULL, 0));
		CK_OK(squib_mem_write(mem, SQUIB_GPA(addrs[i]), NULL, 0));
		CK_OK(squib_mem_read(mem, SQUIB_GPA(addrs[i]), buf, 0));
		CK_OK(squib_mem_write(mem, SQUIB_GPA(addrs[i]), buf, 0));
	}
	CK_BYTES_ALL(buf, sizeof(buf), 0xa5);
	/* The end of a region ending at UINT64_MAX is UINT64_MAX itself. */
	CK_OK(squib_mem_read(mem, SQUIB_GPA(UINT64_MAX), NULL, 0));
	CK_OK(squib_mem_read(mem, SQUIB_GPA(UINT64_MAX - 0x10), NULL, 0));
	squib_mem_free(mem);
}
END_TEST

/* An empty access at any region's end succeeds, whatever the layout: the
 * lookup index cuts the span into granules, and an end that falls exactly on
 * a granule's start is found by a different path than one inside a granule. */
START_TEST(rule4_len_zero_at_every_region_end)
{
	uint64_t state = 0x9e3779b97f4a7c15ull;

	for (unsigned layout = 0; layout < 300; layout++) {
		squib_mem_t *mem = test_mem_new();
		uint64_t bases[48], ends[48], cursor;
		unsigned count = 1 + layout % 48;

		state ^= state << 13, state ^= state >> 7, state ^= state << 17;
		cursor = (state & 0xff) << (state >> 60);
		for (unsigned i = 0; i < count; i++) {
			uint64_t size, gap;

			state ^= state << 13, state ^= state >> 7, state ^= state << 17;
			/* Sizes and gaps of powers of two and odd lengths, gaps of
			 * zero (adjacent regions) included. */
			size = (state & 1) ? (uint64_t)1 << (state >> 1 & 15)
					   : 1 + (state >> 8 & 0x3fff);
			gap = (state >> 20 & 3) == 0 ? 0 : (uint64_t)1 << (state >> 24 & 15);
			bases[i] = cursor;
			ends[i] = cursor + size;
			test_add(mem, bases[i], size, i);
			cursor = ends[i] + gap;
		}
		for (unsigned i = 0; i < count; i++) {
			CK_OK(squib_mem_read(mem, SQUIB_GPA(ends[i]), NULL, 0));
			CK_OK(squib_mem_write(mem, SQUIB_GPA(ends[i]), NULL, 0));
			CK_OK(squib_mem_read(mem, SQUIB_GPA(bases[i]), NULL, 0));
			if (i + 1 == count || ends[i] + 1 < bases[i + 1])
				CK_STATUS(squib_mem_read(mem, SQUIB_GPA(ends[i] + 1), NULL, 0),
					  SQUIB_E_OUT_OF_RANGE);
		}
		squib_mem_free(mem);
	}
}
END_TEST

START_TEST(rule4_len_zero_outside_fails)
{
	squib_mem_t *mem = test_mem_new();
	static const uint64_t addrs[] = {0x2001, 0xfff, 0, 0x3000, UINT64_MAX};

	CK_STATUS(squib_mem_read(mem, SQUIB_GPA(0x1000), NULL, 0), SQUIB_E_OUT_OF_RANGE);
	test_add(mem, 0x1000, 0x1000, 1);
	for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
		CK_STATUS(squib_mem_read(mem, SQUIB_GPA(addrs[i]), NULL, 0), SQUIB_E_OUT_OF_RANGE);
		CK_STATUS(squib_mem_write(mem, SQUIB_GPA(addrs[i]), NULL, 0), SQUIB_E_OUT_OF_RANGE);
	}
	squib_mem_free(mem);
}
END_TEST

START_TEST(rule4_null_arguments)
{
	squib_mem_t *mem = test_mem_new();
	uint8_t buf[8] = {0};
	uint8_t u8 = 0;
	uint16_t u16 = 0;
	uint32_t u32 = 0;
	uint64_t u64 = 0;

	test_add(mem, 0x1000, 0x1000, 1);
	/* NULL buffer with len > 0, inside and outside every region: argument
	 * checks come first. */
	CK_STATUS(squib_mem_read(mem, SQUIB_GPA(0x1000), NULL, 1), SQUIB_E_INVALID_ARGUMENT);
	CK_LAST_ERROR_HAS("squib_mem_read: buf is NULL with len 1");
	CK_STATUS(squib_mem_write(mem, SQUIB_GPA(0x1000), NULL, 8), SQUIB_E_INVALID_ARGUMENT);
	CK_LAST_ERROR_HAS("squib_mem_write: buf is NULL with len 8");
	CK_STATUS(squib_mem_read(mem, SQUIB_GPA(0x9000), NULL, 1), SQUIB_E_INVALID_ARGUMENT);
	CK_STATUS(squib_mem_write(mem, SQUIB_GPA(UINT64_MAX), NULL, SIZE_MAX),
		  SQUIB_E_INVALID_ARGUMENT);
	/* NULL handle. */
	CK_STATUS(squib_mem_read(NULL, SQUIB_GPA(0x1000), buf, sizeof(buf)),
		  SQUIB_E_INVALID_ARGUMENT);
	CK_LAST_ERROR_HAS("squib_mem_read: mem is NULL");
	CK_STATUS(squib_mem_write(NULL, SQUIB_GPA(0x1000), buf, sizeof(buf)),
		  SQUIB_E_INVALID_ARGUMENT);
	CK_STATUS(squib_mem_read(NULL, SQUIB_GPA(0x1000), NULL, 0), SQUIB_E_INVALID_ARGUMENT);
	CK_STATUS(squib_mem_read_u8(NULL, SQUIB_GPA(0x1000), &u8), SQUIB_E_INVALID_ARGUMENT);
	CK_STATUS(squib_mem_read_u16_le(NULL, SQUIB_GPA(0x1000), &u16), SQUIB_E_INVALID_ARGUMENT);
	CK_STATUS(squib_mem_read_u32_le(NULL, SQUIB_GPA(0x1000), &u32), SQUIB_E_INVALID_ARGUMENT);
	CK_STATUS(squib_mem_read_u64_le(NULL, SQUIB_GPA(0x1000), &u64), SQUIB_E_INVALID_ARGUMENT);
	CK_STATUS(squib_mem_write_u8(NULL, SQUIB_GPA(0x1000), 1), SQUIB_E_INVALID_ARGUMENT);
	CK_STATUS(squib_mem_write_u16_le(NULL, SQUIB_GPA(0x1000), 1), SQUIB_E_INVALID_ARGUMENT);
	CK_STATUS(squib_mem_write_u32_le(NULL, SQUIB_GPA(0x1000), 1), SQUIB_E_INVALID_ARGUMENT);
	CK_STATUS(squib_mem_write_u64_le(NULL, SQUIB_GPA(0x1000), 1), SQUIB_E_INVALID_ARGUMENT);
	/* NULL out, inside and outside. */
	CK_STATUS(squib_mem_read_u8(mem, SQUIB_GPA(0x1000), NULL), SQUIB_E_INVALID_ARGUMENT);
	CK_STATUS(squib_mem_read_u16_le(mem, SQUIB_GPA(0x1000), NULL), SQUIB_E_INVALID_ARGUMENT);
	CK_STATUS(squib_mem_read_u32_le(mem, SQUIB_GPA(0x1000), NULL), SQUIB_E_INVALID_ARGUMENT);
	CK_STATUS(squib_mem_read_u64_le(mem, SQUIB_GPA(0x1000), NULL), SQUIB_E_INVALID_ARGUMENT);
	CK_STATUS(squib_mem_read_u64_le(mem, SQUIB_GPA(0x9000), NULL), SQUIB_E_INVALID_ARGUMENT);
	CK_LAST_ERROR_HAS("squib_mem_read_u64_le: out is NULL with len 8");
	/* Nothing was written. */
	CK_OK(squib_mem_read(mem, SQUIB_GPA(0x1000), buf, sizeof(buf)));
	CK_BYTES_ALL(buf, sizeof(buf), 0);
	squib_mem_free(mem);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Rule 5: little-endian, unaligned, every width at the edges           */

START_TEST(rule5_little_endian_layout)
{
	squib_mem_t *mem = test_mem_new();
	uint8_t got[8];
	uint16_t u16 = 0;
	uint32_t u32 = 0;
	uint64_t u64 = 0;
	static const uint8_t le64[8] = {0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01};

	test_add(mem, 0x1000, 0x1000, 1);
	CK_OK(squib_mem_write_u16_le(mem, SQUIB_GPA(0x1000), 0x0102));
	CK_OK(squib_mem_read(mem, SQUIB_GPA(0x1000), got, 2));
	ck_assert_uint_eq(got[0], 0x02);
	ck_assert_uint_eq(got[1], 0x01);

	CK_OK(squib_mem_write_u32_le(mem, SQUIB_GPA(0x1010), 0x01020304));
	CK_OK(squib_mem_read(mem, SQUIB_GPA(0x1010), got, 4));
	CK_BYTES_EQ(got, le64 + 4, 4);

	CK_OK(squib_mem_write_u64_le(mem, SQUIB_GPA(0x1020), 0x0102030405060708u));
	CK_OK(squib_mem_read(mem, SQUIB_GPA(0x1020), got, 8));
	CK_BYTES_EQ(got, le64, 8);

	/* And the other way: bytes in, values out. */
	CK_OK(squib_mem_write(mem, SQUIB_GPA(0x1030), le64, 8));
	CK_OK(squib_mem_read_u64_le(mem, SQUIB_GPA(0x1030), &u64));
	ck_assert_uint_eq(u64, 0x0102030405060708u);
	CK_OK(squib_mem_read_u32_le(mem, SQUIB_GPA(0x1030), &u32));
	ck_assert_uint_eq(u32, 0x05060708u);
	CK_OK(squib_mem_read_u32_le(mem, SQUIB_GPA(0x1034), &u32));
	ck_assert_uint_eq(u32, 0x01020304u);
	CK_OK(squib_mem_read_u16_le(mem, SQUIB_GPA(0x1036), &u16));
	ck_assert_uint_eq(u16, 0x0102u);
	{
		uint8_t u8 = 0;

		CK_OK(squib_mem_read_u8(mem, SQUIB_GPA(0x1037), &u8));
		ck_assert_uint_eq(u8, 0x01);
		CK_OK(squib_mem_write_u8(mem, SQUIB_GPA(0x1037), 0xfe));
		CK_OK(squib_mem_read_u64_le(mem, SQUIB_GPA(0x1030), &u64));
		ck_assert_uint_eq(u64, 0xfe02030405060708u);
	}
	squib_mem_free(mem);
}
END_TEST

START_TEST(rule5_unaligned_typed_access)
{
	squib_mem_t *mem = test_mem_new();

	test_add(mem, 0x1000, 0x1000, 1);
	for (uint64_t off = 0; off < 16; off++) {
		uint64_t addr = 0x1100 + off * 0x20 + off; /* every misalignment */
		uint8_t got[8];
		uint16_t u16 = 0;
		uint32_t u32 = 0;
		uint64_t u64 = 0;
		uint64_t value = 0x8877665544332211u ^ (off * 0x0101010101010101u);

		CK_OK(squib_mem_write_u64_le(mem, SQUIB_GPA(addr), value));
		CK_OK(squib_mem_read_u64_le(mem, SQUIB_GPA(addr), &u64));
		ck_assert_uint_eq(u64, value);
		CK_OK(squib_mem_read(mem, SQUIB_GPA(addr), got, 8));
		for (unsigned b = 0; b < 8; b++)
			ck_assert_uint_eq(got[b], (uint8_t)(value >> (8 * b)));
		CK_OK(squib_mem_read_u32_le(mem, SQUIB_GPA(addr + 1), &u32));
		ck_assert_uint_eq(u32, (uint32_t)(value >> 8));
		CK_OK(squib_mem_read_u16_le(mem, SQUIB_GPA(addr + 3), &u16));
		ck_assert_uint_eq(u16, (uint16_t)(value >> 24));
		CK_OK(squib_mem_write_u32_le(mem, SQUIB_GPA(addr + 3), 0xdeadbeef));
		CK_OK(squib_mem_write_u16_le(mem, SQUIB_GPA(addr + 1), 0xcafe));
		CK_OK(squib_mem_read_u64_le(mem, SQUIB_GPA(addr), &u64));
		ck_assert_uint_eq(u64, (value & 0xff00000000000000u) | 0xdeadbeef000000u |
					   0xcafe00u | (value & 0xffu));
	}
	squib_mem_free(mem);
}
END_TEST

/* Every width at the first and the last position of regions with aligned
 * and unaligned bases and odd sizes; one byte further fails. */
START_TEST(rule5_every_width_at_region_edges)
{
	static const struct {
		uint64_t base, size;
	} regions[] = {
	    {0x10000, 0x1000},
	    {0x20001, 0x21},
	    {0x30007, 0x8},
	    {UINT64_MAX - 0x10, 0x10},
	};
	squib_mem_t *mem = test_mem_new();

	for (size_t r = 0; r < sizeof(regions) / sizeof(regions[0]); r++)
		test_add(mem, regions[r].base, regions[r].size, (uint32_t)r);
	for (size_t r = 0; r < sizeof(regions) / sizeof(regions[0]); r++) {
		const uint64_t base = regions[r].base, end = base + regions[r].size;
		uint8_t u8 = 0;
		uint16_t u16 = 0;
		uint32_t u32 = 0;
		uint64_t u64 = 0;

		CK_OK(squib_mem_write_u8(mem, SQUIB_GPA(base), 0x81));
		CK_OK(squib_mem_read_u8(mem, SQUIB_GPA(base), &u8));
		ck_assert_uint_eq(u8, 0x81);
		CK_OK(squib_mem_write_u8(mem, SQUIB_GPA(end - 1), 0x82));
		CK_OK(squib_mem_read_u8(mem, SQUIB_GPA(end - 1), &u8));
		ck_assert_uint_eq(u8, 0x82);
		CK_STATUS(squib_mem_read_u8(mem, SQUIB_GPA(end), &u8), SQUIB_E_OUT_OF_RANGE);
		CK_STATUS(squib_mem_read_u8(mem, SQUIB_GPA(base - 1), &u8), SQUIB_E_OUT_OF_RANGE);

		CK_OK(squib_mem_write_u16_le(mem, SQUIB_GPA(base), 0x8384));
		CK_OK(squib_mem_read_u16_le(mem, SQUIB_GPA(base), &u16));
		ck_assert_uint_eq(u16, 0x8384);
		CK_OK(squib_mem_write_u16_le(mem, SQUIB_GPA(end - 2), 0x8586));
		CK_OK(squib_mem_read_u16_le(mem, SQUIB_GPA(end - 2), &u16));
		ck_assert_uint_eq(u16, 0x8586);
		CK_STATUS(squib_mem_read_u16_le(mem, SQUIB_GPA(end - 1), &u16),
			  SQUIB_E_OUT_OF_RANGE);
		CK_STATUS(squib_mem_write_u16_le(mem, SQUIB_GPA(end - 1), 0), SQUIB_E_OUT_OF_RANGE);
		CK_STATUS(squib_mem_read_u16_le(mem, SQUIB_GPA(base - 1), &u16),
			  SQUIB_E_OUT_OF_RANGE);

		CK_OK(squib_mem_write_u32_le(mem, SQUIB_GPA(base), 0x8788898au));
		CK_OK(squib_mem_read_u32_le(mem, SQUIB_GPA(base), &u32));
		ck_assert_uint_eq(u32, 0x8788898au);
		CK_OK(squib_mem_write_u32_le(mem, SQUIB_GPA(end - 4), 0x8b8c8d8eu));
		CK_OK(squib_mem_read_u32_le(mem, SQUIB_GPA(end - 4), &u32));
		ck_assert_uint_eq(u32, 0x8b8c8d8eu);
		CK_STATUS(squib_mem_read_u32_le(mem, SQUIB_GPA(end - 3), &u32),
			  SQUIB_E_OUT_OF_RANGE);
		CK_STATUS(squib_mem_write_u32_le(mem, SQUIB_GPA(end - 3), 0), SQUIB_E_OUT_OF_RANGE);

		CK_OK(squib_mem_write_u64_le(mem, SQUIB_GPA(base), 0x8f90919293949596u));
		CK_OK(squib_mem_read_u64_le(mem, SQUIB_GPA(base), &u64));
		ck_assert_uint_eq(u64, 0x8f90919293949596u);
		CK_OK(squib_mem_write_u64_le(mem, SQUIB_GPA(end - 8), 0x9798999a9b9c9d9eu));
		CK_OK(squib_mem_read_u64_le(mem, SQUIB_GPA(end - 8), &u64));
		ck_assert_uint_eq(u64, 0x9798999a9b9c9d9eu);
		CK_STATUS(squib_mem_read_u64_le(mem, SQUIB_GPA(end - 7), &u64),
			  SQUIB_E_OUT_OF_RANGE);
		CK_STATUS(squib_mem_write_u64_le(mem, SQUIB_GPA(end - 7), 0), SQUIB_E_OUT_OF_RANGE);
		ck_assert_uint_eq(u64, 0x9798999a9b9c9d9eu);
	}
	squib_mem_free(mem);
}
END_TEST

/* ------------------------------------------------------------------ */
/* The lookup index: whatever it hints, every answer is exact.         */

/* Addresses that share low bits with a region's (the index hashes on them)
 * but lie far above it are refused by every kind of access, and change
 * nothing. */
START_TEST(index_far_aliases_are_refused)
{
	static const uint64_t offsets[] = {0, 8, 0xff8, 0xfff};
	squib_mem_t *mem = test_mem_new();
	uint8_t buf[16], page[0x1000];

	test_add(mem, 0x10000, 0x1000, 0);
	for (unsigned p = 12; p < 64; p++) {
		for (size_t i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++) {
			uint64_t addr = 0x10000 + offsets[i] + ((uint64_t)1 << p);
			uint64_t u64 = 0x5a5a5a5a5a5a5a5au;
			uint32_t u32 = 0x5a5a5a5au;
			uint8_t u8 = 0x5a;

			if (addr >= 0x10000 && addr < 0x11000)
				continue; /* 2^12 from the base is still inside */
			memset(buf, 0xa5, sizeof(buf));
			CK_STATUS(squib_mem_read(mem, SQUIB_GPA(addr), buf, 1),
				  SQUIB_E_OUT_OF_RANGE);
			CK_STATUS(squib_mem_read_u8(mem, SQUIB_GPA(addr), &u8),
				  SQUIB_E_OUT_OF_RANGE);
			CK_STATUS(squib_mem_read_u32_le(mem, SQUIB_GPA(addr), &u32),
				  SQUIB_E_OUT_OF_RANGE);
			CK_STATUS(squib_mem_read_u64_le(mem, SQUIB_GPA(addr), &u64),
				  SQUIB_E_OUT_OF_RANGE);
			CK_STATUS(squib_mem_write_u64_le(mem, SQUIB_GPA(addr), 1),
				  SQUIB_E_OUT_OF_RANGE);
			CK_STATUS(squib_mem_write(mem, SQUIB_GPA(addr), buf, 1),
				  SQUIB_E_OUT_OF_RANGE);
			CK_BYTES_ALL(buf, sizeof(buf), 0xa5);
			ck_assert_uint_eq(u8, 0x5a);
			ck_assert_uint_eq(u32, 0x5a5a5a5au);
			ck_assert_uint_eq(u64, 0x5a5a5a5a5a5a5a5au);
		}
	}
	/* Nothing was written: the region is still all zero. */
	CK_OK(squib_mem_read(mem, SQUIB_GPA(0x10000), page, sizeof(page)));
	CK_BYTES_ALL(page, sizeof(page), 0);
	squib_mem_free(mem);
}
END_TEST

/* Tiny regions (1 to 7 bytes, too small for the typed fast test) packed
 * beside big ones, so that the index can hint at only one region where
 * they are: each still takes every access that fits it, and nothing that
 * does not. */
START_TEST(index_tiny_regions_beside_big_ones)
{
	const uint64_t gib = (uint64_t)1 << 30, tiny_at = gib + 0x100;
	squib_mem_t *mem = test_mem_new();
	uint64_t u64 = 0;

	test_add(mem, 0, gib, 0);
	test_add(mem, 2 * gib, gib, 1);
	for (uint64_t size = 1; size <= 7; size++)
		test_add(mem, tiny_at + size * 0x10, size, (uint32_t)(1 + size));

	for (uint64_t size = 1; size <= 7; size++) {
		const uint64_t base = tiny_at + size * 0x10, end = base + size;
		uint8_t u8 = 0;
		uint16_t u16 = 0;
		uint32_t u32 = 0;

		for (uint64_t at = base; at < end; at++) {
			CK_OK(squib_mem_write_u8(mem, SQUIB_GPA(at), (uint8_t)(at * 7)));
			CK_OK(squib_mem_read_u8(mem, SQUIB_GPA(at), &u8));
			ck_assert_uint_eq(u8, (uint8_t)(at * 7));
		}
		if (size >= 2) {
			CK_OK(squib_mem_write_u16_le(mem, SQUIB_GPA(end - 2), 0x1234));
			CK_OK(squib_mem_read_u16_le(mem, SQUIB_GPA(end - 2), &u16));
			ck_assert_uint_eq(u16, 0x1234);
		} else {
			CK_STATUS(squib_mem_read_u16_le(mem, SQUIB_GPA(base), &u16),
				  SQUIB_E_OUT_OF_RANGE);
		}
		if (size >= 4) {
			CK_OK(squib_mem_write_u32_le(mem, SQUIB_GPA(base), 0x89abcdefu));
			CK_OK(squib_mem_read_u32_le(mem, SQUIB_GPA(base), &u32));
			ck_assert_uint_eq(u32, 0x89abcdefu);
		} else {
			CK_STATUS(squib_mem_read_u32_le(mem, SQUIB_GPA(base), &u32),
				  SQUIB_E_OUT_OF_RANGE);
		}
		CK_STATUS(squib_mem_read_u8(mem, SQUIB_GPA(end), &u8), SQUIB_E_OUT_OF_RANGE);
		CK_STATUS(squib_mem_read_u8(mem, SQUIB_GPA(base - 1), &u8), SQUIB_E_OUT_OF_RANGE);
		CK_STATUS(squib_mem_read_u64_le(mem, SQUIB_GPA(base), &(uint64_t){0}),
			  SQUIB_E_OUT_OF_RANGE);
		CK_OK(squib_mem_read(mem, SQUIB_GPA(end), NULL, 0));
	}
	/* Alone in a handle, a tiny region has the index to itself. */
	for (uint64_t size = 1; size <= 7; size++) {
		squib_mem_t *alone = test_mem_new();
		const uint64_t base = 0x5003, end = base + size;
		uint64_t value = 0x5a5a5a5a5a5a5a5au;

		test_add(alone, base, size, 0);
		for (uint64_t at = base; at < end; at++) {
			CK_STATUS(squib_mem_read_u64_le(alone, SQUIB_GPA(at), &value),
				  SQUIB_E_OUT_OF_RANGE);
			CK_STATUS(squib_mem_write_u64_le(alone, SQUIB_GPA(at), 1),
				  SQUIB_E_OUT_OF_RANGE);
			CK_STATUS(squib_mem_read_u32_le(alone, SQUIB_GPA(at), &(uint32_t){0}),
				  at + 4 <= end ? SQUIB_OK : SQUIB_E_OUT_OF_RANGE);
			CK_STATUS(squib_mem_read_u16_le(alone, SQUIB_GPA(at), &(uint16_t){0}),
				  at + 2 <= end ? SQUIB_OK : SQUIB_E_OUT_OF_RANGE);
			CK_OK(squib_mem_read_u8(alone, SQUIB_GPA(at), &(uint8_t){0}));
		}
		ck_assert_uint_eq(value, 0x5a5a5a5a5a5a5a5au);
		squib_mem_free(alone);
	}
	/* The big regions still answer at both ends. */
	CK_OK(squib_mem_write_u64_le(mem, SQUIB_GPA(gib - 8), 0x0102030405060708u));
	CK_OK(squib_mem_write_u64_le(mem, SQUIB_GPA(2 * gib), 0x1112131415161718u));
	CK_OK(squib_mem_read_u64_le(mem, SQUIB_GPA(gib - 8), &u64));
	ck_assert_uint_eq(u64, 0x0102030405060708u);
	CK_OK(squib_mem_read_u64_le(mem, SQUIB_GPA(2 * gib), &u64));
	ck_assert_uint_eq(u64, 0x1112131415161718u);
	squib_mem_free(mem);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Rule 5: a naturally aligned typed access is one load or one store.   */

struct flipper {
	squib_mem_t *mem;
	uint64_t addr;
	unsigned rounds;
};

static void *flip_values(void *arg)
{
	const struct flipper *f = arg;

	for (unsigned i = 0; i < f->rounds; i++) {
		uint64_t v = i % 2 ? UINT64_MAX : 0;

		if (squib_mem_write_u64_le(f->mem, SQUIB_GPA(f->addr), v) != SQUIB_OK ||
		    squib_mem_write_u32_le(f->mem, SQUIB_GPA(f->addr + 8), (uint32_t)v) !=
			SQUIB_OK ||
		    squib_mem_write_u16_le(f->mem, SQUIB_GPA(f->addr + 12), (uint16_t)v) !=
			SQUIB_OK)
			return (void *)1;
	}
	return NULL;
}

START_TEST(rule5_aligned_typed_access_does_not_tear)
{
	const unsigned rounds = TEST_UNDER_TSAN ? 20000 : 200000;
	struct flipper f;
	pthread_t thread;
	void *thread_result = (void *)1;
	unsigned torn = 0;

	f.mem = test_mem_new();
	f.addr = 0x1040;
	f.rounds = rounds;
	test_add(f.mem, 0x1000, 0x1000, 1);
	ck_assert_int_eq(pthread_create(&thread, NULL, flip_values, &f), 0);
	for (unsigned i = 0; i < rounds; i++) {
		uint64_t u64 = 1;
		uint32_t u32 = 1;
		uint16_t u16 = 1;

		CK_OK(squib_mem_read_u64_le(f.mem, SQUIB_GPA(f.addr), &u64));
		CK_OK(squib_mem_read_u32_le(f.mem, SQUIB_GPA(f.addr + 8), &u32));
		CK_OK(squib_mem_read_u16_le(f.mem, SQUIB_GPA(f.addr + 12), &u16));
		torn += (u64 != 0 && u64 != UINT64_MAX) ? 1u : 0u;
		torn += (u32 != 0 && u32 != UINT32_MAX) ? 1u : 0u;
		torn += (u16 != 0 && u16 != UINT16_MAX) ? 1u : 0u;
	}
	ck_assert_int_eq(pthread_join(thread, &thread_result), 0);
	ck_assert_ptr_null(thread_result);
	ck_assert_msg(torn == 0, "%u torn values seen", torn);
	squib_mem_free(f.mem);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Big copies                                                           */

START_TEST(big_reads_round_trip)
{
	const size_t len = (size_t)1 << 20;
	squib_mem_t *mem = test_mem_new();
	uint8_t *in = malloc(len), *out = malloc(len);

	ck_assert_ptr_nonnull(in);
	ck_assert_ptr_nonnull(out);
	test_add(mem, 0x40000000, 2 * len + 0x1000, 1);
	test_fill_pattern(in, len, 99);
	CK_OK(squib_mem_write(mem, SQUIB_GPA(0x40000123), in, len));
	memset(out, 0, len);
	CK_OK(squib_mem_read(mem, SQUIB_GPA(0x40000123), out, len));
	ck_assert_uint_eq(test_check_pattern(out, len, 99), len);
	/* Whole region in one read: zeros around the written part. */
	{
		uint8_t *all = malloc(2 * len + 0x1000);

		ck_assert_ptr_nonnull(all);
		CK_OK(squib_mem_read(mem, SQUIB_GPA(0x40000000), all, 2 * len + 0x1000));
		CK_BYTES_ALL(all, 0x123, 0);
		CK_BYTES_EQ(all + 0x123, in, len);
		CK_BYTES_ALL(all + 0x123 + len, 2 * len + 0x1000 - 0x123 - len, 0);
		/* One byte more fails and leaves the buffer. */
		memset(all, 0xa5, 2 * len + 0x1000);
		CK_STATUS(squib_mem_read(mem, SQUIB_GPA(0x40000000), all, 2 * len + 0x1001),
			  SQUIB_E_OUT_OF_RANGE);
		CK_BYTES_ALL(all, 2 * len + 0x1000, 0xa5);
		free(all);
	}
	/* A from_bytes region of 1 MiB. */
	CK_OK(
	    squib_mem_add_region_from_bytes(mem, SQUIB_GPA(0x80000001), in, len, 2, SQUIB_PROT_RW));
	memset(out, 0, len);
	CK_OK(squib_mem_read(mem, SQUIB_GPA(0x80000001), out, len));
	CK_BYTES_EQ(out, in, len);
	free(in);
	free(out);
	squib_mem_free(mem);
}
END_TEST

static Suite *access_suite(void)
{
	Suite *suite = suite_create("access");
	TCase *rule1 = tcase_create("rule1_byte_accurate");
	TCase *rule2 = tcase_create("rule2_one_region");
	TCase *rule3 = tcase_create("rule3_overflow");
	TCase *rule4 = tcase_create("rule4_len_zero_and_null");
	TCase *rule5 = tcase_create("rule5_typed");
	TCase *big = tcase_create("big");
	TCase *index = tcase_create("index");

	tcase_add_test(rule1, rule1_failed_read_leaves_buf);
	tcase_add_test(rule1, rule1_failed_write_leaves_guest_memory);
	tcase_add_test(rule1, rule1_failed_typed_leaves_out_and_memory);
	tcase_add_test(rule1, rule1_success_copies_exactly_len);
	tcase_add_test(rule2, rule2_straddling_adjacent_regions_fails);
	tcase_add_test(rule3, rule3_overflow_is_out_of_range);
	tcase_add_test(rule4, rule4_len_zero_in_region_succeeds);
	tcase_add_test(rule4, rule4_len_zero_at_every_region_end);
	tcase_add_test(rule4, rule4_len_zero_outside_fails);
	tcase_add_test(rule4, rule4_null_arguments);
	tcase_add_test(rule5, rule5_little_endian_layout);
	tcase_add_test(rule5, rule5_unaligned_typed_access);
	tcase_add_test(rule5, rule5_every_width_at_region_edges);
	tcase_add_test(rule5, rule5_aligned_typed_access_does_not_tear);
	tcase_set_timeout(rule5, 60);
	tcase_add_test(big, big_reads_round_trip);
	tcase_add_test(index, index_far_aliases_are_refused);
	tcase_add_test(index, index_tiny_regions_beside_big_ones);
	tcase_set_timeout(big, 60);
	suite_add_tcase(suite, rule1);
	suite_add_tcase(suite, rule2);
	suite_add_tcase(suite, rule3);
	suite_add_tcase(suite, rule4);
	suite_add_tcase(suite, rule5);
	suite_add_tcase(suite, big);
	suite_add_tcase(suite, index);
	return suite;
}

TEST_MAIN(access_suite)
