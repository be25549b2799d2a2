/* SPDX-License-Identifier: MIT */
/* Protection bits: include/squib/prot.h and their checks in lib/mem.c. */
#include "test_util.h"

START_TEST(constant_values)
{
	ck_assert_uint_eq(SQUIB_PROT_NONE, 0);
	ck_assert_uint_eq(SQUIB_PROT_READ, 1);
	ck_assert_uint_eq(SQUIB_PROT_WRITE, 2);
	ck_assert_uint_eq(SQUIB_PROT_EXEC, 4);
	ck_assert_uint_eq(sizeof(squib_prot_t), sizeof(uint32_t));
}
END_TEST

START_TEST(combinations)
{
	ck_assert_uint_eq(SQUIB_PROT_RW, SQUIB_PROT_READ | SQUIB_PROT_WRITE);
	ck_assert_uint_eq(SQUIB_PROT_RX, SQUIB_PROT_READ | SQUIB_PROT_EXEC);
	ck_assert_uint_eq(SQUIB_PROT_RWX, SQUIB_PROT_READ | SQUIB_PROT_WRITE | SQUIB_PROT_EXEC);
	ck_assert_uint_eq(SQUIB_PROT_RW, 3);
	ck_assert_uint_eq(SQUIB_PROT_RX, 5);
	ck_assert_uint_eq(SQUIB_PROT_RWX, 7);
	/* The seed's READ_WRITE: read and write, no execute. */
	ck_assert((SQUIB_PROT_RW & SQUIB_PROT_READ) && (SQUIB_PROT_RW & SQUIB_PROT_WRITE) &&
		  !(SQUIB_PROT_RW & SQUIB_PROT_EXEC));
	ck_assert((SQUIB_PROT_RX & SQUIB_PROT_READ) && !(SQUIB_PROT_RX & SQUIB_PROT_WRITE) &&
		  (SQUIB_PROT_RX & SQUIB_PROT_EXEC));
}
END_TEST

START_TEST(every_known_value_round_trips)
{
	squib_mem_t *mem = test_mem_new();

	for (squib_prot_t prot = 0; prot <= SQUIB_PROT_RWX; prot++) {
		squib_region_info_t info = SQUIB_REGION_INFO_INIT;
		squib_range_t range = test_range(0x100000 * (prot + 1), 0x1000);

		CK_OK(squib_mem_add_region(mem, range, prot, prot));
		CK_OK(squib_mem_get_region(mem, prot, &info));
		ck_assert_uint_eq(info.prot, prot);
		CK_OK(squib_mem_find_region(mem, range.base, &info));
		ck_assert_uint_eq(info.prot, prot);
	}
	ck_assert_uint_eq(squib_mem_region_count(mem), 8);
	squib_mem_free(mem);
}
END_TEST

START_TEST(from_bytes_round_trips_prot)
{
	squib_mem_t *mem = test_mem_new();
	squib_region_info_t info = SQUIB_REGION_INFO_INIT;
	uint8_t bytes[16] = {1, 2, 3};

	CK_OK(squib_mem_add_region_from_bytes(mem, SQUIB_GPA(0x1000), bytes, sizeof(bytes), 9,
					      SQUIB_PROT_RX));
	CK_OK(squib_mem_get_region(mem, 9, &info));
	ck_assert_uint_eq(info.prot, SQUIB_PROT_RX);
	squib_mem_free(mem);
}
END_TEST

static const squib_prot_t unknown_prots[] = {
    8, 0x10, 0x80000000u, 0xffffffffu, SQUIB_PROT_RWX | 8, SQUIB_PROT_READ | 0x100, 0xfffffff8u,
};

START_TEST(unknown_bits_rejected_by_add_region)
{
	squib_mem_t *mem = test_mem_new();
	squib_region_info_t info = SQUIB_REGION_INFO_INIT;

	for (size_t i = 0; i < sizeof(unknown_prots) / sizeof(unknown_prots[0]); i++) {
		squib_prot_t prot = unknown_prots[i];
		char bits[32];

		CK_STATUS(squib_mem_add_region(mem, test_range(0x1000, 0x1000), 1, prot),
			  SQUIB_E_INVALID_ARGUMENT);
		/* The message names the offending bits. */
		(void)snprintf(bits, sizeof(bits), "%" PRIx32,
			       prot & ~(squib_prot_t)SQUIB_PROT_RWX);
		CK_LAST_ERROR_HAS(bits);
		ck_assert_uint_eq(squib_mem_region_count(mem), 0);
		CK_STATUS(squib_mem_find_region(mem, SQUIB_GPA(0x1000), &info),
			  SQUIB_E_OUT_OF_RANGE);
		CK_STATUS(squib_mem_get_region(mem, 1, &info), SQUIB_E_NOT_FOUND);
	}
	/* The same slot and range are still free. */
	test_add(mem, 0x1000, 0x1000, 1);
	squib_mem_free(mem);
}
END_TEST

START_TEST(unknown_bits_rejected_by_from_bytes)
{
	squib_mem_t *mem = test_mem_new();
	uint8_t bytes[32] = {0};

	for (size_t i = 0; i < sizeof(unknown_prots) / sizeof(unknown_prots[0]); i++) {
		CK_STATUS(squib_mem_add_region_from_bytes(mem, SQUIB_GPA(0x2000), bytes,
							  sizeof(bytes), 2, unknown_prots[i]),
			  SQUIB_E_INVALID_ARGUMENT);
		ck_assert_uint_eq(squib_mem_region_count(mem), 0);
	}
	squib_mem_free(mem);
}
END_TEST

/* The protection describes the guest's view; the host-side accessors of the
 * library ignore it, as the seed's trait does. */
START_TEST(prot_does_not_restrict_host_access)
{
	static const squib_prot_t prots[] = {SQUIB_PROT_NONE, SQUIB_PROT_READ, SQUIB_PROT_EXEC,
					     SQUIB_PROT_RX};
	squib_mem_t *mem = test_mem_new();

	for (size_t i = 0; i < sizeof(prots) / sizeof(prots[0]); i++) {
		uint64_t base = 0x10000 * (i + 1);
		uint32_t value = 0;

		CK_OK(squib_mem_add_region(mem, test_range(base, 0x100), (uint32_t)i, prots[i]));
		CK_OK(squib_mem_write_u32_le(mem, SQUIB_GPA(base + 4), 0xfeedf00d));
		CK_OK(squib_mem_read_u32_le(mem, SQUIB_GPA(base + 4), &value));
		ck_assert_uint_eq(value, 0xfeedf00d);
	}
	squib_mem_free(mem);
}
END_TEST

static Suite *prot_suite(void)
{
	Suite *suite = suite_create("prot");
	TCase *constants = tcase_create("constants");
	TCase *regions = tcase_create("regions");

	tcase_add_test(constants, constant_values);
	tcase_add_test(constants, combinations);
	tcase_add_test(regions, every_known_value_round_trips);
	tcase_add_test(regions, from_bytes_round_trips_prot);
	tcase_add_test(regions, unknown_bits_rejected_by_add_region);
	tcase_add_test(regions, unknown_bits_rejected_by_from_bytes);
	tcase_add_test(regions, prot_does_not_restrict_host_access);
	suite_add_tcase(suite, constants);
	suite_add_tcase(suite, regions);
	return suite;
}

TEST_MAIN(prot_suite)
