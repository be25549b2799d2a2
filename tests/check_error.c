/* SPDX-License-Identifier: MIT */
/* Status codes, the per-thread message (lib/error.c) and the version. */
#include <pthread.h>

#include "test_util.h"

static const squib_status_t known[] = {
    SQUIB_OK,	       SQUIB_E_INVALID_ARGUMENT, SQUIB_E_OUT_OF_RANGE,
    SQUIB_E_NO_MEMORY, SQUIB_E_OVERLAP,		 SQUIB_E_SLOT_IN_USE,
    SQUIB_E_NOT_FOUND, SQUIB_E_UNSUPPORTED,	 SQUIB_E_IO,
    SQUIB_E_BUSY,      SQUIB_E_READ_ONLY,	 SQUIB_E_NO_SPACE,
    SQUIB_E_CORRUPT,
};
#define KNOWN_COUNT (sizeof(known) / sizeof(known[0]))

START_TEST(status_values_are_the_abi)
{
	ck_assert_int_eq(SQUIB_OK, 0);
	ck_assert_int_eq(SQUIB_E_INVALID_ARGUMENT, -1);
	ck_assert_int_eq(SQUIB_E_OUT_OF_RANGE, -2);
	ck_assert_int_eq(SQUIB_E_NO_MEMORY, -3);
	ck_assert_int_eq(SQUIB_E_OVERLAP, -4);
	ck_assert_int_eq(SQUIB_E_SLOT_IN_USE, -5);
	ck_assert_int_eq(SQUIB_E_NOT_FOUND, -6);
	ck_assert_int_eq(SQUIB_E_UNSUPPORTED, -7);
	ck_assert_int_eq(SQUIB_E_IO, -8);
	ck_assert_int_eq(SQUIB_E_BUSY, -9);
	ck_assert_int_eq(SQUIB_E_READ_ONLY, -10);
	ck_assert_int_eq(SQUIB_E_NO_SPACE, -11);
	ck_assert_int_eq(SQUIB_E_CORRUPT, -12);
	ck_assert_uint_eq(sizeof(squib_status_t), sizeof(int));
}
END_TEST

START_TEST(strerror_known_are_distinct)
{
	for (size_t i = 0; i < KNOWN_COUNT; i++) {
		const char *text = squib_strerror(known[i]);

		ck_assert_msg(text != NULL, "squib_strerror(%d) is NULL", (int)known[i]);
		ck_assert_msg(text[0] != '\0', "squib_strerror(%d) is empty", (int)known[i]);
		/* Static: the same pointer every time. */
		ck_assert_ptr_eq(text, squib_strerror(known[i]));
		for (size_t j = 0; j < i; j++)
			ck_assert_msg(strcmp(text, squib_strerror(known[j])) != 0,
				      "squib_strerror(%d) == squib_strerror(%d) == \"%s\"",
				      (int)known[i], (int)known[j], text);
	}
}
END_TEST

START_TEST(strerror_unknown_is_generic)
{
	static const int unknown[] = {1, 2, -13, -14, 100, -100, INT32_MAX, INT32_MIN};
	const char *generic = squib_strerror((squib_status_t)unknown[0]);

	ck_assert_ptr_nonnull(generic);
	ck_assert(generic[0] != '\0');
	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		const char *text = squib_strerror((squib_status_t)unknown[i]);

		ck_assert_msg(text != NULL, "squib_strerror(%d) is NULL", unknown[i]);
		ck_assert_msg(strcmp(text, generic) == 0,
			      "squib_strerror(%d) = \"%s\", want the generic \"%s\"", unknown[i],
			      text, generic);
		for (size_t j = 0; j < KNOWN_COUNT; j++)
			ck_assert_msg(strcmp(text, squib_strerror(known[j])) != 0,
				      "unknown %d reads like known %d: \"%s\"", unknown[i],
				      (int)known[j], text);
	}
}
END_TEST

struct thread_result {
	char before[256];
	char after[256];
	squib_status_t status;
};

static void *fresh_thread_main(void *arg)
{
	struct thread_result *result = arg;
	squib_gpa_t out;

	(void)snprintf(result->before, sizeof(result->before), "%s", squib_last_error());
	result->status = squib_gpa_align_down(SQUIB_GPA(0), 12, &out);
	(void)snprintf(result->after, sizeof(result->after), "%s", squib_last_error());
	return NULL;
}

START_TEST(last_error_empty_on_fresh_thread)
{
	struct thread_result result;
	pthread_t thread;

	memset(&result, 'X', sizeof(result));
	ck_assert_int_eq(pthread_create(&thread, NULL, fresh_thread_main, &result), 0);
	ck_assert_int_eq(pthread_join(thread, NULL), 0);
	ck_assert_msg(result.before[0] == '\0', "fresh thread's squib_last_error() = \"%.255s\"",
		      result.before);
	ck_assert_int_eq(result.status, SQUIB_E_INVALID_ARGUMENT);
	ck_assert_msg(strstr(result.after, "alignment must be a power of two: 12") != NULL,
		      "after a failure: \"%.255s\"", result.after);
}
END_TEST

START_TEST(last_error_is_per_thread)
{
	struct thread_result result;
	pthread_t thread;
	squib_range_t range;

	/* Thread A (this one) fails first. */
	CK_STATUS(squib_range_init(&range, SQUIB_GPA(UINT64_MAX - 0xff), 512),
		  SQUIB_E_INVALID_ARGUMENT);
	CK_LAST_ERROR_HAS("range overflow: base=0xffffffffffffff00 size=512");
	/* Thread B does not see A's message, and its own failure does not
	 * replace A's. */
	ck_assert_int_eq(pthread_create(&thread, NULL, fresh_thread_main, &result), 0);
	ck_assert_int_eq(pthread_join(thread, NULL), 0);
	ck_assert_msg(result.before[0] == '\0', "thread B sees \"%.255s\"", result.before);
	ck_assert_msg(strstr(result.after, "12") != NULL, "thread B's own: \"%.255s\"",
		      result.after);
	CK_LAST_ERROR_HAS("range overflow: base=0xffffffffffffff00 size=512");
}
END_TEST

START_TEST(success_does_not_clear_last_error)
{
	squib_gpa_t out;

	CK_STATUS(squib_gpa_align_down(SQUIB_GPA(0x1234), 7, &out), SQUIB_E_INVALID_ARGUMENT);
	CK_OK(squib_gpa_align_down(SQUIB_GPA(0x1234), 8, &out));
	CK_LAST_ERROR_HAS("alignment must be a power of two: 7");
}
END_TEST

START_TEST(message_alignment)
{
	squib_gpa_t out;

	CK_STATUS(squib_gpa_align_down(SQUIB_GPA(0x1234), 7, &out), SQUIB_E_INVALID_ARGUMENT);
	CK_LAST_ERROR_HAS("alignment must be a power of two: 7");
}
END_TEST

START_TEST(message_range_overflow)
{
	squib_range_t range;

	CK_STATUS(squib_range_init(&range, SQUIB_GPA(0xffffffffffffff00u), 512),
		  SQUIB_E_INVALID_ARGUMENT);
	CK_LAST_ERROR_HAS("range overflow: base=0xffffffffffffff00 size=512");
}
END_TEST

START_TEST(message_add_region_overflow)
{
	squib_mem_t *mem = test_mem_new();

	CK_STATUS(squib_mem_add_region(mem, test_range(0xffffffffffffff00u, 512), 0, SQUIB_PROT_RW),
		  SQUIB_E_INVALID_ARGUMENT);
	CK_LAST_ERROR_HAS("range overflow: base=0xffffffffffffff00 size=512");
	squib_mem_free(mem);
}
END_TEST

START_TEST(message_out_of_range)
{
	squib_mem_t *mem = test_mem_new();
	uint8_t buf[64];
	uint64_t value;

	test_add(mem, 0x40000000, 0x10, 0);
	CK_STATUS(squib_mem_read(mem, SQUIB_GPA(0x40000010), buf, 8), SQUIB_E_OUT_OF_RANGE);
	CK_LAST_ERROR_HAS("0x0000000040000010");
	CK_LAST_ERROR_HAS_U64(8);

	CK_STATUS(squib_mem_write(mem, SQUIB_GPA(0x4000000c), buf, 37), SQUIB_E_OUT_OF_RANGE);
	CK_LAST_ERROR_HAS("0x000000004000000c");
	CK_LAST_ERROR_HAS_U64(37);

	CK_STATUS(squib_mem_read_u64_le(mem, SQUIB_GPA(0x3ffffffc), &value), SQUIB_E_OUT_OF_RANGE);
	CK_LAST_ERROR_HAS("0x000000003ffffffc");
	CK_LAST_ERROR_HAS_U64(8);

	CK_STATUS(squib_mem_write_u16_le(mem, SQUIB_GPA(0x4000000f), 1), SQUIB_E_OUT_OF_RANGE);
	CK_LAST_ERROR_HAS("0x000000004000000f");
	CK_LAST_ERROR_HAS_U64(2);

	/* Overflowing addr + len: still the address and the length. */
	CK_STATUS(squib_mem_read(mem, SQUIB_GPA(UINT64_MAX - 8), buf, sizeof(buf)),
		  SQUIB_E_OUT_OF_RANGE);
	CK_LAST_ERROR_HAS("0xfffffffffffffff7");
	CK_LAST_ERROR_HAS_U64(64);

	CK_STATUS(squib_mem_read(mem, SQUIB_GPA(0x50000000), NULL, 0), SQUIB_E_OUT_OF_RANGE);
	CK_LAST_ERROR_HAS("0x0000000050000000");
	CK_LAST_ERROR_HAS_U64(0);

	/* find_region has no length, but names the address. */
	{
		squib_region_info_t info = SQUIB_REGION_INFO_INIT;

		CK_STATUS(squib_mem_find_region(mem, SQUIB_GPA(0x40000010), &info),
			  SQUIB_E_OUT_OF_RANGE);
		CK_LAST_ERROR_HAS("0x0000000040000010");
	}
	squib_mem_free(mem);
}
END_TEST

START_TEST(message_slot_errors_name_the_slot)
{
	squib_mem_t *mem = test_mem_new();
	squib_region_info_t info = SQUIB_REGION_INFO_INIT;

	test_add(mem, 0x1000, 0x1000, 4242);
	CK_STATUS(squib_mem_add_region(mem, test_range(0x8000, 0x1000), 4242, SQUIB_PROT_RW),
		  SQUIB_E_SLOT_IN_USE);
	CK_LAST_ERROR_HAS_U64(4242);
	CK_STATUS(squib_mem_remove_region(mem, 31337), SQUIB_E_NOT_FOUND);
	CK_LAST_ERROR_HAS_U64(31337);
	CK_STATUS(squib_mem_get_region(mem, 27182, &info), SQUIB_E_NOT_FOUND);
	CK_LAST_ERROR_HAS_U64(27182);
	CK_STATUS(squib_mem_add_region(mem, test_range(0x1800, 0x1000), 1, SQUIB_PROT_RW),
		  SQUIB_E_OVERLAP);
	CK_LAST_ERROR_HAS_GPA(0x1800);
	squib_mem_free(mem);
}
END_TEST

#define STR(x) #x
#define XSTR(x) STR(x)

START_TEST(version_runtime_matches_header)
{
	const char *version = squib_core_version();

	ck_assert_ptr_nonnull(version);
	ck_assert_str_eq(version, SQUIB_CORE_VERSION_STRING);
	ck_assert_str_eq(version, "0.3.0");
}
END_TEST

/* Compared as the macros' spelling, so that a broken substitution in
 * version.h.in (e.g. "@PROJECT_VERSION_MAJOR @") fails this test with a
 * readable message instead of breaking the build of every suite. */
START_TEST(version_macros)
{
	ck_assert_str_eq(XSTR(SQUIB_CORE_VERSION_MAJOR), "0");
	ck_assert_str_eq(XSTR(SQUIB_CORE_VERSION_MINOR), "3");
	ck_assert_str_eq(XSTR(SQUIB_CORE_VERSION_PATCH), "0");
	ck_assert_str_eq(XSTR(SQUIB_CORE_VERSION_MAJOR) "." XSTR(SQUIB_CORE_VERSION_MINOR) "." XSTR(
			     SQUIB_CORE_VERSION_PATCH),
			 SQUIB_CORE_VERSION_STRING);
}
END_TEST

static Suite *error_suite(void)
{
	Suite *suite = suite_create("error");
	TCase *codes = tcase_create("codes");
	TCase *last = tcase_create("last_error");
	TCase *messages = tcase_create("messages");
	TCase *version = tcase_create("version");

	tcase_add_test(codes, status_values_are_the_abi);
	tcase_add_test(codes, strerror_known_are_distinct);
	tcase_add_test(codes, strerror_unknown_is_generic);
	tcase_add_test(last, last_error_empty_on_fresh_thread);
	tcase_add_test(last, last_error_is_per_thread);
	tcase_add_test(last, success_does_not_clear_last_error);
	tcase_add_test(messages, message_alignment);
	tcase_add_test(messages, message_range_overflow);
	tcase_add_test(messages, message_add_region_overflow);
	tcase_add_test(messages, message_out_of_range);
	tcase_add_test(messages, message_slot_errors_name_the_slot);
	tcase_add_test(version, version_runtime_matches_header);
	tcase_add_test(version, version_macros);
	suite_add_tcase(suite, codes);
	suite_add_tcase(suite, last);
	suite_add_tcase(suite, messages);
	suite_add_tcase(suite, version);
	return suite;
}

TEST_MAIN(error_suite)
