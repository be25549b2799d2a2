/* SPDX-License-Identifier: MIT */
/*
 * Shared helpers of the Check unit suites: status assertions that print the
 * library's own message, handle set-up, sentinel patterns and the main()
 * every suite uses. Public API only (no lib/ header), so every suite tests
 * what a consumer sees.
 */
#ifndef SQUIB_TESTS_TEST_UTIL_H
#define SQUIB_TESTS_TEST_UTIL_H

#include <check.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <squib/core.h>

/* Asserts that EXPR returns WANT; a failure names both statuses and the
 * library's detailed message of the calling thread. */
#define CK_STATUS(expr, want)                                                                      \
	do {                                                                                       \
		squib_status_t got_ = (expr);                                                      \
		squib_status_t want_ = (want);                                                     \
		ck_assert_msg(got_ == want_,                                                       \
			      "%s:\n  got %d (%s), want %d (%s)\n  squib_last_error(): \"%s\"",    \
			      #expr, (int)got_, squib_strerror(got_), (int)want_,                  \
			      squib_strerror(want_), squib_last_error());                          \
	} while (0)

#define CK_OK(expr) CK_STATUS(expr, SQUIB_OK)

/* Asserts that squib_last_error() contains NEEDLE. */
#define CK_LAST_ERROR_HAS(needle)                                                                  \
	do {                                                                                       \
		const char *msg_ = squib_last_error();                                             \
		ck_assert_msg(msg_ &&strstr(msg_, (needle)) != NULL,                               \
			      "squib_last_error() = \"%s\" does not contain \"%s\"",               \
			      msg_ ? msg_ : "(null)", (needle));                                   \
	} while (0)

/* Asserts that squib_last_error() contains the decimal NUMBER as a whole
 * number (not as part of a longer one). */
#define CK_LAST_ERROR_HAS_U64(number)                                                              \
	do {                                                                                       \
		const char *msg_ = squib_last_error();                                             \
		uint64_t number_ = (number);                                                       \
		ck_assert_msg(test_has_decimal(msg_, number_),                                     \
			      "squib_last_error() = \"%s\" does not contain the number %" PRIu64,  \
			      msg_ ? msg_ : "(null)", number_);                                    \
	} while (0)

/* Asserts that squib_last_error() contains ADDR in "0x%016" PRIx64 form. */
#define CK_LAST_ERROR_HAS_GPA(addr)                                                                \
	do {                                                                                       \
		char gpa_text_[SQUIB_GPA_STRLEN];                                                  \
		(void)snprintf(gpa_text_, sizeof(gpa_text_), "0x%016" PRIx64, (uint64_t)(addr));   \
		CK_LAST_ERROR_HAS(gpa_text_);                                                      \
	} while (0)

/* Asserts that LEN bytes at P all equal BYTE; names the first that does not. */
#define CK_BYTES_ALL(p, len, byte)                                                                 \
	do {                                                                                       \
		size_t at_ = test_first_not(p, len, byte);                                         \
		ck_assert_msg(at_ == (size_t)(len), "%s: byte %zu of %zu is 0x%02x, want 0x%02x",  \
			      #p, at_, (size_t)(len),                                              \
			      at_ < (size_t)(len) ? ((const uint8_t *)(p))[at_] : 0u,              \
			      (unsigned)(byte));                                                   \
	} while (0)

/* Asserts that LEN bytes at A and B are equal; names the first difference. */
#define CK_BYTES_EQ(a, b, len)                                                                     \
	do {                                                                                       \
		size_t at_ = test_first_diff(a, b, len);                                           \
		ck_assert_msg(at_ == (size_t)(len),                                                \
			      "%s vs %s: byte %zu of %zu differs: 0x%02x != 0x%02x", #a, #b, at_,  \
			      (size_t)(len),                                                       \
			      at_ < (size_t)(len) ? ((const uint8_t *)(a))[at_] : 0u,              \
			      at_ < (size_t)(len) ? ((const uint8_t *)(b))[at_] : 0u);             \
	} while (0)

static inline bool test_has_decimal(const char *haystack, uint64_t number)
{
	char text[24];
	size_t len;

	if (!haystack)
		return false;
	(void)snprintf(text, sizeof(text), "%" PRIu64, number);
	len = strlen(text);
	for (const char *at = strstr(haystack, text); at; at = strstr(at + 1, text)) {
		bool digit_before = at > haystack && at[-1] >= '0' && at[-1] <= '9';
		bool digit_after = at[len] >= '0' && at[len] <= '9';

		/* "0x..." hex digits before are fine to reject too: a lone
		 * decimal is what we look for. */
		if (!digit_before && !digit_after && !(at > haystack && at[-1] == 'x'))
			return true;
	}
	return false;
}

static inline size_t test_first_not(const void *p, size_t len, uint8_t byte)
{
	const uint8_t *bytes = p;

	for (size_t i = 0; i < len; i++)
		if (bytes[i] != byte)
			return i;
	return len;
}

static inline size_t test_first_diff(const void *a, const void *b, size_t len)
{
	const uint8_t *x = a, *y = b;

	for (size_t i = 0; i < len; i++)
		if (x[i] != y[i])
			return i;
	return len;
}

/* A byte pattern that differs per seed and per offset, so a copy from the
 * wrong offset or the wrong region is caught. */
static inline uint8_t test_pattern_byte(uint64_t seed, uint64_t offset)
{
	uint64_t x = (seed + 1) * 0x9e3779b97f4a7c15u + offset * 0xbf58476d1ce4e5b9u;

	x ^= x >> 29;
	return (uint8_t)(x ^ (x >> 8));
}

static inline void test_fill_pattern(void *p, size_t len, uint64_t seed)
{
	uint8_t *bytes = p;

	for (size_t i = 0; i < len; i++)
		bytes[i] = test_pattern_byte(seed, i);
}

/* Returns len if the bytes hold the pattern of seed, else the first bad offset. */
static inline size_t test_check_pattern(const void *p, size_t len, uint64_t seed)
{
	const uint8_t *bytes = p;

	for (size_t i = 0; i < len; i++)
		if (bytes[i] != test_pattern_byte(seed, i))
			return i;
	return len;
}

/* A fresh, empty handle; fails the test if none can be made. */
static inline squib_mem_t *test_mem_new(void)
{
	squib_mem_t *mem = NULL;

	CK_OK(squib_mem_new(&mem));
	ck_assert_ptr_nonnull(mem);
	return mem;
}

/* Registers [base, base + size) zero-filled, read-write, with slot. */
static inline void test_add(squib_mem_t *mem, uint64_t base, uint64_t size, uint32_t slot)
{
	squib_range_t range;

	CK_OK(squib_range_init(&range, SQUIB_GPA(base), size));
	CK_OK(squib_mem_add_region(mem, range, slot, SQUIB_PROT_RW));
}

/* A range built by hand, bypassing squib_range_init()'s overflow check. */
static inline squib_range_t test_range(uint64_t base, uint64_t size)
{
	squib_range_t range;

	range.base.raw = base;
	range.size = size;
	return range;
}

/* True when the process runs under valgrind (which preloads its own
 * vgpreload_*.so objects). */
static inline bool test_under_valgrind(void)
{
	const char *preload = getenv("LD_PRELOAD");

	return preload && strstr(preload, "vgpreload") != NULL;
}

/* Compile-time sanitizer detection, for tests that must scale their work. */
#if defined(__SANITIZE_THREAD__)
#define TEST_UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TEST_UNDER_TSAN 1
#endif
#endif
#ifndef TEST_UNDER_TSAN
#define TEST_UNDER_TSAN 0
#endif
#if defined(__SANITIZE_ADDRESS__)
#define TEST_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_UNDER_ASAN 1
#endif
#endif
#ifndef TEST_UNDER_ASAN
#define TEST_UNDER_ASAN 0
#endif

/* main() of every suite: runs the suite SUITE_FN() builds, returns failure
 * when any test failed. */
#define TEST_MAIN(suite_fn)                                                                        \
	int main(void)                                                                             \
	{                                                                                          \
		SRunner *runner = srunner_create(suite_fn());                                      \
		int failed;                                                                        \
                                                                                                   \
		srunner_run_all(runner, CK_ENV);                                                   \
		failed = srunner_ntests_failed(runner);                                            \
		srunner_free(runner);                                                              \
		return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;                                  \
	}

#endif /* SQUIB_TESTS_TEST_UTIL_H */
