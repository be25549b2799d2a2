/* SPDX-License-Identifier: MIT */
/* Guest-physical addresses: lib/addr.c and the SQUIB_GPA macro. */
#include "test_util.h"

#define SENTINEL 0xa5a5a5a5a5a5a5a5u

static const uint64_t some_addrs[] = {
    0,
    1,
    0x1234,
    0xfff,
    0x1000,
    0x40000010,
    0x8000000000000000u,
    0x7fffffffffffffffu,
    UINT64_MAX - 0x10,
    UINT64_MAX,
};

START_TEST(align_down_every_power_of_two)
{
	for (unsigned shift = 0; shift < 64; shift++) {
		uint64_t align = (uint64_t)1 << shift;

		for (size_t i = 0; i < sizeof(some_addrs) / sizeof(some_addrs[0]); i++) {
			uint64_t addr = some_addrs[i];
			/* Computed another way than the library does: shift out
			 * the low bits and back. */
			uint64_t want = (addr >> shift) << shift;
			squib_gpa_t out = SQUIB_GPA(SENTINEL);

			CK_OK(squib_gpa_align_down(SQUIB_GPA(addr), align, &out));
			ck_assert_msg(out.raw == want,
				      "align_down(0x%016" PRIx64 ", 2^%u) = 0x%016" PRIx64
				      ", want 0x%016" PRIx64,
				      addr, shift, out.raw, want);
		}
	}
}
END_TEST

START_TEST(align_down_one_is_identity)
{
	squib_gpa_t out = SQUIB_GPA(0);

	CK_OK(squib_gpa_align_down(SQUIB_GPA(UINT64_MAX), 1, &out));
	ck_assert_uint_eq(out.raw, UINT64_MAX);
	CK_OK(squib_gpa_align_down(SQUIB_GPA(UINT64_MAX), (uint64_t)1 << 63, &out));
	ck_assert_uint_eq(out.raw, (uint64_t)1 << 63);
	CK_OK(squib_gpa_align_down(SQUIB_GPA(0x7fffffffffffffffu), (uint64_t)1 << 63, &out));
	ck_assert_uint_eq(out.raw, 0);
}
END_TEST

START_TEST(align_down_rejects_zero)
{
	squib_gpa_t out = SQUIB_GPA(SENTINEL);

	CK_STATUS(squib_gpa_align_down(SQUIB_GPA(0x1234), 0, &out), SQUIB_E_INVALID_ARGUMENT);
	ck_assert_uint_eq(out.raw, SENTINEL);
	CK_LAST_ERROR_HAS("power of two");
	CK_LAST_ERROR_HAS_U64(0);
}
END_TEST

START_TEST(align_down_rejects_non_powers)
{
	static const uint64_t bad[] = {
	    3,
	    5,
	    6,
	    7,
	    12,
	    0x1001,
	    0x3000,
	    0xffff,
	    UINT64_MAX,
	    0x8000000000000001u,
	    0xc000000000000000u,
	    0x7fffffffffffffffu,
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		squib_gpa_t out = SQUIB_GPA(SENTINEL);

		CK_STATUS(squib_gpa_align_down(SQUIB_GPA(0x1234), bad[i], &out),
			  SQUIB_E_INVALID_ARGUMENT);
		ck_assert_msg(out.raw == SENTINEL, "align %" PRIu64 ": out changed to 0x%" PRIx64,
			      bad[i], out.raw);
		CK_LAST_ERROR_HAS_U64(bad[i]);
	}
	/* Every sum of two distinct powers of two. */
	for (unsigned a = 0; a < 64; a++) {
		for (unsigned b = a + 1; b < 64; b++) {
			uint64_t align = ((uint64_t)1 << a) | ((uint64_t)1 << b);
			squib_gpa_t out = SQUIB_GPA(SENTINEL);

			CK_STATUS(squib_gpa_align_down(SQUIB_GPA(0x1234), align, &out),
				  SQUIB_E_INVALID_ARGUMENT);
			ck_assert_uint_eq(out.raw, SENTINEL);
		}
	}
}
END_TEST

START_TEST(align_down_null_out)
{
	CK_STATUS(squib_gpa_align_down(SQUIB_GPA(0x1234), 0x1000, NULL), SQUIB_E_INVALID_ARGUMENT);
	CK_STATUS(squib_gpa_align_down(SQUIB_GPA(0x1234), 7, NULL), SQUIB_E_INVALID_ARGUMENT);
}
END_TEST

START_TEST(saturating_add_values)
{
	static const struct {
		uint64_t addr, offset, want;
	} cases[] = {
	    {0, 0, 0},
	    {1, 2, 3},
	    {0x40000000, 0x10, 0x40000010},
	    {UINT64_MAX - 1, 1, UINT64_MAX},
	    {UINT64_MAX - 1, 2, UINT64_MAX},
	    {UINT64_MAX, 0, UINT64_MAX},
	    {UINT64_MAX, 1, UINT64_MAX},
	    {UINT64_MAX, UINT64_MAX, UINT64_MAX},
	    {0, UINT64_MAX, UINT64_MAX},
	    {0x8000000000000000u, 0x8000000000000000u, UINT64_MAX},
	    {0x8000000000000000u, 0x7fffffffffffffffu, UINT64_MAX},
	    {0x7fffffffffffffffu, 0x8000000000000000u, UINT64_MAX},
	    {UINT64_MAX - 0x10, 0x10, UINT64_MAX},
	    {UINT64_MAX - 0x10, 0x0f, UINT64_MAX - 1},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		squib_gpa_t got =
		    squib_gpa_saturating_add(SQUIB_GPA(cases[i].addr), cases[i].offset);

		ck_assert_msg(got.raw == cases[i].want,
			      "0x%016" PRIx64 " +sat 0x%" PRIx64 " = 0x%016" PRIx64
			      ", want 0x%016" PRIx64,
			      cases[i].addr, cases[i].offset, got.raw, cases[i].want);
	}
}
END_TEST

START_TEST(format_full)
{
	char buf[32];
	int n;

	memset(buf, 'X', sizeof(buf));
	n = squib_gpa_format(SQUIB_GPA(0x1234), buf, sizeof(buf));
	ck_assert_int_eq(n, 18);
	ck_assert_str_eq(buf, "0x0000000000001234");
	ck_assert_int_eq(buf[19], 'X');

	n = squib_gpa_format(SQUIB_GPA(UINT64_MAX), buf, sizeof(buf));
	ck_assert_int_eq(n, 18);
	ck_assert_str_eq(buf, "0xffffffffffffffff");

	n = squib_gpa_format(SQUIB_GPA(0), buf, sizeof(buf));
	ck_assert_int_eq(n, 18);
	ck_assert_str_eq(buf, "0x0000000000000000");

	n = squib_gpa_format(SQUIB_GPA(0xDEADBEEF00C0FFEEu), buf, sizeof(buf));
	ck_assert_int_eq(n, 18);
	ck_assert_str_eq(buf, "0xdeadbeef00c0ffee");
}
END_TEST

START_TEST(format_exact_strlen)
{
	char buf[SQUIB_GPA_STRLEN + 4];

	ck_assert_int_eq(SQUIB_GPA_STRLEN, 19);
	memset(buf, 'X', sizeof(buf));
	ck_assert_int_eq(squib_gpa_format(SQUIB_GPA(UINT64_MAX), buf, SQUIB_GPA_STRLEN), 18);
	ck_assert_str_eq(buf, "0xffffffffffffffff");
	/* Nothing past len bytes is written. */
	CK_BYTES_ALL(buf + SQUIB_GPA_STRLEN, sizeof(buf) - SQUIB_GPA_STRLEN, 'X');
}
END_TEST

START_TEST(format_truncates)
{
	for (size_t len = 1; len < SQUIB_GPA_STRLEN; len++) {
		char buf[32];
		char want[32] = "0x0000000040000010";

		memset(buf, 'X', sizeof(buf));
		ck_assert_int_eq(squib_gpa_format(SQUIB_GPA(0x40000010), buf, len), 18);
		want[len - 1] = '\0';
		ck_assert_msg(strcmp(buf, want) == 0, "len %zu: \"%s\", want \"%s\"", len, buf,
			      want);
		CK_BYTES_ALL(buf + len, sizeof(buf) - len, 'X');
	}
}
END_TEST

START_TEST(format_len_zero)
{
	char buf[4] = {'X', 'X', 'X', 'X'};

	ck_assert_int_eq(squib_gpa_format(SQUIB_GPA(0x1234), NULL, 0), 18);
	ck_assert_int_eq(squib_gpa_format(SQUIB_GPA(0x1234), buf, 0), 18);
	CK_BYTES_ALL(buf, sizeof(buf), 'X');
}
END_TEST

START_TEST(gpa_macro)
{
	squib_gpa_t a = SQUIB_GPA(0x1234);
	squib_gpa_t minus_one = SQUIB_GPA(-1);
	uint8_t small = 0xab;

	ck_assert_uint_eq(a.raw, 0x1234);
	ck_assert_uint_eq(minus_one.raw, UINT64_MAX);
	ck_assert_uint_eq(SQUIB_GPA(small).raw, 0xab);
	ck_assert_uint_eq(SQUIB_GPA(UINT64_MAX).raw, UINT64_MAX);
	ck_assert_uint_eq(SQUIB_GPA(1u << 31).raw, 0x80000000u);
	/* The macro yields a squib_gpa_t, usable directly as an argument. */
	ck_assert_int_eq(_Generic(SQUIB_GPA(1), squib_gpa_t : 1, default : 0), 1);
	ck_assert_uint_eq(sizeof(squib_gpa_t), sizeof(uint64_t));
	ck_assert_uint_eq(squib_gpa_saturating_add(SQUIB_GPA(0x10), 0x20).raw, 0x30);
}
END_TEST

static Suite *addr_suite(void)
{
	Suite *suite = suite_create("addr");
	TCase *align = tcase_create("align_down");
	TCase *sat = tcase_create("saturating_add");
	TCase *format = tcase_create("format");
	TCase *macro = tcase_create("macro");

	tcase_add_test(align, align_down_every_power_of_two);
	tcase_add_test(align, align_down_one_is_identity);
	tcase_add_test(align, align_down_rejects_zero);
	tcase_add_test(align, align_down_rejects_non_powers);
	tcase_add_test(align, align_down_null_out);
	tcase_add_test(sat, saturating_add_values);
	tcase_add_test(format, format_full);
	tcase_add_test(format, format_exact_strlen);
	tcase_add_test(format, format_truncates);
	tcase_add_test(format, format_len_zero);
	tcase_add_test(macro, gpa_macro);
	suite_add_tcase(suite, align);
	suite_add_tcase(suite, sat);
	suite_add_tcase(suite, format);
	suite_add_tcase(suite, macro);
	return suite;
}

TEST_MAIN(addr_suite)
