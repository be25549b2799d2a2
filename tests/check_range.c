/* SPDX-License-Identifier: MIT */
/* Half-open ranges: lib/range.c. */
#include "test_util.h"

#define SENTINEL 0xa5a5a5a5a5a5a5a5u

START_TEST(init_fills_fields)
{
	squib_range_t r = test_range(SENTINEL, SENTINEL);

	CK_OK(squib_range_init(&r, SQUIB_GPA(0x40000000), 0x1000));
	ck_assert_uint_eq(r.base.raw, 0x40000000);
	ck_assert_uint_eq(r.size, 0x1000);
	ck_assert_uint_eq(squib_range_end(r).raw, 0x40001000);
}
END_TEST

START_TEST(init_rejects_overflow)
{
	static const struct {
		uint64_t base, size;
	} bad[] = {
	    {UINT64_MAX, 1},	       {UINT64_MAX - 0x100, 0x200},
	    {UINT64_MAX - 0x10, 0x11}, {1, UINT64_MAX},
	    {UINT64_MAX, UINT64_MAX},  {0x8000000000000000u, 0x8000000000000000u},
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		squib_range_t r = test_range(SENTINEL, SENTINEL);

		CK_STATUS(squib_range_init(&r, SQUIB_GPA(bad[i].base), bad[i].size),
			  SQUIB_E_INVALID_ARGUMENT);
		ck_assert_msg(r.base.raw == SENTINEL && r.size == SENTINEL,
			      "base 0x%" PRIx64 " size 0x%" PRIx64 ": out was written", bad[i].base,
			      bad[i].size);
		CK_LAST_ERROR_HAS_GPA(bad[i].base);
		CK_LAST_ERROR_HAS_U64(bad[i].size);
	}
}
END_TEST

START_TEST(init_allows_end_at_max)
{
	squib_range_t r;

	CK_OK(squib_range_init(&r, SQUIB_GPA(UINT64_MAX - 0x10), 0x10));
	ck_assert_uint_eq(squib_range_end(r).raw, UINT64_MAX);
	CK_OK(squib_range_init(&r, SQUIB_GPA(0), UINT64_MAX));
	ck_assert_uint_eq(squib_range_end(r).raw, UINT64_MAX);
	ck_assert(squib_range_contains(r, SQUIB_GPA(0)));
	ck_assert(squib_range_contains(r, SQUIB_GPA(UINT64_MAX - 1)));
	ck_assert(!squib_range_contains(r, SQUIB_GPA(UINT64_MAX)));
	CK_OK(squib_range_init(&r, SQUIB_GPA(1), UINT64_MAX - 1));
	ck_assert_uint_eq(squib_range_end(r).raw, UINT64_MAX);
	CK_OK(squib_range_init(&r, SQUIB_GPA(UINT64_MAX), 0));
	ck_assert_uint_eq(squib_range_end(r).raw, UINT64_MAX);
}
END_TEST

START_TEST(init_size_zero)
{
	squib_range_t r = test_range(SENTINEL, SENTINEL);

	CK_OK(squib_range_init(&r, SQUIB_GPA(0x1000), 0));
	ck_assert_uint_eq(r.base.raw, 0x1000);
	ck_assert_uint_eq(r.size, 0);
	ck_assert_uint_eq(squib_range_end(r).raw, 0x1000);
	ck_assert(!squib_range_contains(r, SQUIB_GPA(0x1000)));
	ck_assert(!squib_range_contains(r, SQUIB_GPA(0xfff)));
	ck_assert(!squib_range_contains(r, SQUIB_GPA(0x1001)));
}
END_TEST

START_TEST(init_null_out)
{
	CK_STATUS(squib_range_init(NULL, SQUIB_GPA(0x1000), 0x1000), SQUIB_E_INVALID_ARGUMENT);
	CK_STATUS(squib_range_init(NULL, SQUIB_GPA(UINT64_MAX), 2), SQUIB_E_INVALID_ARGUMENT);
}
END_TEST

START_TEST(end_wraps_for_hand_made_overflow)
{
	/* The seed's overflowing example, built by hand. */
	ck_assert_uint_eq(squib_range_end(test_range(UINT64_MAX - 0xff, 0x200)).raw, 0x100);
	ck_assert_uint_eq(squib_range_end(test_range(UINT64_MAX, 1)).raw, 0);
	ck_assert_uint_eq(squib_range_end(test_range(UINT64_MAX, UINT64_MAX)).raw, UINT64_MAX - 1);
	ck_assert_uint_eq(squib_range_end(test_range(0, 0)).raw, 0);
}
END_TEST

START_TEST(contains_endpoints)
{
	squib_range_t r = test_range(0x1000, 0x1000);

	ck_assert(!squib_range_contains(r, SQUIB_GPA(0)));
	ck_assert(!squib_range_contains(r, SQUIB_GPA(0xfff)));
	ck_assert(squib_range_contains(r, SQUIB_GPA(0x1000)));
	ck_assert(squib_range_contains(r, SQUIB_GPA(0x1800)));
	ck_assert(squib_range_contains(r, SQUIB_GPA(0x1fff)));
	ck_assert(!squib_range_contains(r, SQUIB_GPA(0x2000)));
	ck_assert(!squib_range_contains(r, SQUIB_GPA(UINT64_MAX)));
}
END_TEST

START_TEST(contains_never_wraps)
{
	/* Hand-made, end overflows: contains base..UINT64_MAX and nothing
	 * of the wrapped part [0, 0x100). */
	squib_range_t r = test_range(UINT64_MAX - 0xff, 0x200);

	ck_assert(squib_range_contains(r, SQUIB_GPA(UINT64_MAX - 0xff)));
	ck_assert(squib_range_contains(r, SQUIB_GPA(UINT64_MAX - 0x10)));
	ck_assert(squib_range_contains(r, SQUIB_GPA(UINT64_MAX)));
	ck_assert(!squib_range_contains(r, SQUIB_GPA(UINT64_MAX - 0x100)));
	ck_assert(!squib_range_contains(r, SQUIB_GPA(0)));
	ck_assert(!squib_range_contains(r, SQUIB_GPA(0x50)));
	ck_assert(!squib_range_contains(r, SQUIB_GPA(0xff)));
	ck_assert(!squib_range_contains(r, SQUIB_GPA(0x100)));

	r = test_range(1, UINT64_MAX);
	ck_assert(!squib_range_contains(r, SQUIB_GPA(0)));
	ck_assert(squib_range_contains(r, SQUIB_GPA(1)));
	ck_assert(squib_range_contains(r, SQUIB_GPA(UINT64_MAX)));

	r = test_range(UINT64_MAX, UINT64_MAX);
	ck_assert(squib_range_contains(r, SQUIB_GPA(UINT64_MAX)));
	ck_assert(!squib_range_contains(r, SQUIB_GPA(0)));
	ck_assert(!squib_range_contains(r, SQUIB_GPA(UINT64_MAX - 1)));

	r = test_range(UINT64_MAX, 1);
	ck_assert(squib_range_contains(r, SQUIB_GPA(UINT64_MAX)));
	ck_assert(!squib_range_contains(r, SQUIB_GPA(0)));
}
END_TEST

START_TEST(contains_empty_range_contains_nothing)
{
	static const uint64_t bases[] = {0, 1, 0x1000, UINT64_MAX - 1, UINT64_MAX};

	for (size_t i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
		squib_range_t r = test_range(bases[i], 0);

		ck_assert(!squib_range_contains(r, SQUIB_GPA(bases[i])));
		ck_assert(!squib_range_contains(r, SQUIB_GPA(bases[i] - 1)));
		ck_assert(!squib_range_contains(r, SQUIB_GPA(bases[i] + 1)));
		ck_assert(!squib_range_contains(r, SQUIB_GPA(0)));
		ck_assert(!squib_range_contains(r, SQUIB_GPA(UINT64_MAX)));
	}
}
END_TEST

START_TEST(contains_at_top)
{
	squib_range_t r;

	CK_OK(squib_range_init(&r, SQUIB_GPA(UINT64_MAX - 0x10), 0x10));
	ck_assert(squib_range_contains(r, SQUIB_GPA(UINT64_MAX - 0x10)));
	ck_assert(squib_range_contains(r, SQUIB_GPA(UINT64_MAX - 1)));
	ck_assert(!squib_range_contains(r, SQUIB_GPA(UINT64_MAX)));
	ck_assert(!squib_range_contains(r, SQUIB_GPA(UINT64_MAX - 0x11)));
}
END_TEST

static Suite *range_suite(void)
{
	Suite *suite = suite_create("range");
	TCase *init = tcase_create("init");
	TCase *end = tcase_create("end");
	TCase *contains = tcase_create("contains");

	tcase_add_test(init, init_fills_fields);
	tcase_add_test(init, init_rejects_overflow);
	tcase_add_test(init, init_allows_end_at_max);
	tcase_add_test(init, init_size_zero);
	tcase_add_test(init, init_null_out);
	tcase_add_test(end, end_wraps_for_hand_made_overflow);
	tcase_add_test(contains, contains_endpoints);
	tcase_add_test(contains, contains_never_wraps);
	tcase_add_test(contains, contains_empty_range_contains_nothing);
	tcase_add_test(contains, contains_at_top);
	suite_add_tcase(suite, init);
	suite_add_tcase(suite, end);
	suite_add_tcase(suite, contains);
	return suite;
}

TEST_MAIN(range_suite)
