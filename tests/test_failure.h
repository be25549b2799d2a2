/* SPDX-License-Identifier: MIT */
/*
 * The first failure among a test's worker threads. Check's assertions end
 * the process (or the thread) that makes them, so a worker records what
 * went wrong, with the library's message of the moment, and stops; the
 * main thread joins the workers and reports the first record with one
 * ck_assert_msg(). Include it after test_util.h.
 */
#ifndef SQUIB_TESTS_TEST_FAILURE_H
#define SQUIB_TESTS_TEST_FAILURE_H

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "test_util.h"

struct test_failure {
	atomic_bool failed; /* a worker may poll it to stop early */
	pthread_mutex_t lock;
	char message[512];
};

static inline void test_failure_init(struct test_failure *f)
{
	atomic_init(&f->failed, false);
	f->message[0] = '\0';
	ck_assert_int_eq(pthread_mutex_init(&f->lock, NULL), 0);
}

static inline void test_failure_destroy(struct test_failure *f)
{
	pthread_mutex_destroy(&f->lock);
}

static inline bool test_failed(struct test_failure *f)
{
	return atomic_load_explicit(&f->failed, memory_order_relaxed);
}

/* Keeps the first failure only: its message, then squib_last_error() of
 * the thread that saw it. */
__attribute__((format(printf, 2, 3))) static inline void test_failure_record(struct test_failure *f,
									     const char *fmt, ...)
{
	va_list args;

	pthread_mutex_lock(&f->lock);
	if (!atomic_load(&f->failed)) {
		size_t used;

		va_start(args, fmt);
		(void)vsnprintf(f->message, sizeof(f->message), fmt, args);
		va_end(args);
		used = strlen(f->message);
		(void)snprintf(f->message + used, sizeof(f->message) - used,
			       " [squib_last_error: \"%s\"]", squib_last_error());
		atomic_store(&f->failed, true);
	}
	pthread_mutex_unlock(&f->lock);
}

#endif /* SQUIB_TESTS_TEST_FAILURE_H */
