/* SPDX-License-Identifier: MIT */
/*
 * The nine tests of the seed (squib-core 0.2.0, guest-memory module),
 * translated one for one: same names, same values. Where the seed only
 * checked is_err()/matches!, these assert the exact status; the seed's
 * range_overflow_is_rejected forgot to assert its matches!, this one does.
 */
#include "test_util.h"

START_TEST(align_down_rejects_non_power_of_two)
{
	squib_gpa_t addr = SQUIB_GPA(0x1234);
	squib_gpa_t out = SQUIB_GPA(0xa5a5);

	CK_STATUS(squib_gpa_align_down(addr, 7, &out), SQUIB_E_INVALID_ARGUMENT);
	ck_assert_uint_eq(out.raw, 0xa5a5);
}
END_TEST

START_TEST(align_down_rounds)
{
	squib_gpa_t addr = SQUIB_GPA(0x1234);
	squib_gpa_t out = SQUIB_GPA(0);

	CK_OK(squib_gpa_align_down(addr, 0x1000, &out));
	ck_assert_uint_eq(out.raw, 0x1000);
}
END_TEST

START_TEST(range_overflow_is_rejected)
{
	squib_range_t range = test_range(0x5a5a, 0x5a5a);

	CK_STATUS(squib_range_init(&range, SQUIB_GPA(UINT64_MAX - 0x100), 0x200),
		  SQUIB_E_INVALID_ARGUMENT);
	ck_assert_uint_eq(range.base.raw, 0x5a5a);
	ck_assert_uint_eq(range.size, 0x5a5a);
}
END_TEST

START_TEST(range_contains_endpoints)
{
	squib_range_t r;

	CK_OK(squib_range_init(&r, SQUIB_GPA(0x1000), 0x1000));
	ck_assert(squib_range_contains(r, SQUIB_GPA(0x1000)));
	ck_assert(squib_range_contains(r, SQUIB_GPA(0x1FFF)));
	ck_assert(!squib_range_contains(r, SQUIB_GPA(0x2000)));
}
END_TEST

START_TEST(protection_constants_round_trip)
{
	squib_prot_t p = SQUIB_PROT_RW;

	ck_assert((p & SQUIB_PROT_READ) && (p & SQUIB_PROT_WRITE) && !(p & SQUIB_PROT_EXEC));
}
END_TEST

/* SliceGuestMemory::new(base, size): one zero-filled region. */
static squib_mem_t *slice_guest_memory_new(uint64_t base, uint64_t size)
{
	squib_mem_t *mem = test_mem_new();

	test_add(mem, base, size, 0);
	return mem;
}

START_TEST(slice_guest_memory_round_trips_typed_writes)
{
	squib_mem_t *mem = slice_guest_memory_new(0x40000000, 0x1000);
	uint32_t value32 = 0;
	uint16_t value16 = 0;

	CK_OK(squib_mem_write_u32_le(mem, SQUIB_GPA(0x40000010), 0xDEADBEEF));
	CK_OK(squib_mem_read_u32_le(mem, SQUIB_GPA(0x40000010), &value32));
	ck_assert_uint_eq(value32, 0xDEADBEEF);
	CK_OK(squib_mem_write_u16_le(mem, SQUIB_GPA(0x40000020), 0xABCD));
	CK_OK(squib_mem_read_u16_le(mem, SQUIB_GPA(0x40000020), &value16));
	ck_assert_uint_eq(value16, 0xABCD);
	squib_mem_free(mem);
}
END_TEST

START_TEST(slice_guest_memory_rejects_below_base)
{
	squib_mem_t *mem = slice_guest_memory_new(0x40000000, 0x1000);
	uint8_t buf[4] = {0};

	CK_STATUS(squib_mem_read(mem, SQUIB_GPA(0x3FFFFFFF), buf, sizeof(buf)),
		  SQUIB_E_OUT_OF_RANGE);
	squib_mem_free(mem);
}
END_TEST

START_TEST(slice_guest_memory_rejects_straddling_top)
{
	squib_mem_t *mem = slice_guest_memory_new(0x40000000, 0x10);
	uint8_t buf[8] = {0};

	CK_STATUS(squib_mem_read(mem, SQUIB_GPA(0x4000000C), buf, sizeof(buf)),
		  SQUIB_E_OUT_OF_RANGE);
	squib_mem_free(mem);
}
END_TEST

START_TEST(slice_guest_memory_rejects_overflow)
{
	squib_mem_t *mem = slice_guest_memory_new(UINT64_MAX - 0x10, 0x10);
	uint8_t buf[0x100] = {0};

	CK_STATUS(squib_mem_read(mem, SQUIB_GPA(UINT64_MAX - 0x8), buf, sizeof(buf)),
		  SQUIB_E_OUT_OF_RANGE);
	squib_mem_free(mem);
}
END_TEST

static Suite *seed_suite(void)
{
	Suite *suite = suite_create("seed");
	TCase *tc = tcase_create("seed");

	tcase_add_test(tc, align_down_rejects_non_power_of_two);
	tcase_add_test(tc, align_down_rounds);
	tcase_add_test(tc, range_overflow_is_rejected);
	tcase_add_test(tc, range_contains_endpoints);
	tcase_add_test(tc, protection_constants_round_trip);
	tcase_add_test(tc, slice_guest_memory_round_trips_typed_writes);
	tcase_add_test(tc, slice_guest_memory_rejects_below_base);
	tcase_add_test(tc, slice_guest_memory_rejects_straddling_top);
	tcase_add_test(tc, slice_guest_memory_rejects_overflow);
	suite_add_tcase(suite, tc);
	return suite;
}

TEST_MAIN(seed_suite)
