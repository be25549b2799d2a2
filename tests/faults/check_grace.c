/* SPDX-License-Identifier: MIT */
/*
 * The writer's wait for a grace period (lib/epoch.c): it ends only once the
 * read section it found has ended, and it blocks rather than spins while
 * that section lasts, so a reader that is descheduled inside a section
 * (an oversubscribed host, a stopped thread) does not cost the writer a
 * whole CPU for as long as it is away.
 *
 * Uses the internal reader API of lib/epoch.h (reader_enter, reader_exit,
 * squib_epoch_synchronize), which squibcore_faulty links statically. The
 * test's own thread is the writer; each reader is a thread of its own.
 */
#define _POSIX_C_SOURCE 200809L
#include <check.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "epoch.h"

/* How long the long reader stays inside its section. */
#define LONG_SECTION_NS 300000000L
/* The writer's CPU time during its wait, at most this share of the wall
 * time of the wait: spinning or yielding would be close to 100 %. */
#define MOST_CPU_PERCENT 25
/* Short sections, one grace period each. */
#define SHORT_ROUNDS 200u

static int64_t clock_ns(clockid_t clock)
{
	struct timespec now;

	ck_assert_int_eq(clock_gettime(clock, &now), 0);
	return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}

/* ---- a section that lasts: the writer waits for it, asleep --------------- */

struct long_reader {
	atomic_bool inside;  /* set once the section has begun */
	atomic_bool leaving; /* set just before reader_exit() */
	atomic_bool entered; /* reader_enter() gave a record */
};

static void *long_reader_main(void *arg)
{
	struct long_reader *r = arg;
	struct timespec stay = {LONG_SECTION_NS / 1000000000L, LONG_SECTION_NS % 1000000000L};
	struct squib_reader *reader;
	uint64_t seq;

	/* A thread's first reader_enter() registers it. */
	reader = reader_enter(&seq);
	atomic_store(&r->entered, reader != NULL);
	atomic_store(&r->inside, true);
	if (!reader)
		return NULL;
	while (nanosleep(&stay, &stay) != 0)
		continue; /* EINTR: sleep the rest */
	atomic_store(&r->leaving, true);
	reader_exit(reader, seq);
	return NULL;
}

START_TEST(writer_sleeps_while_reader_is_inside)
{
	struct long_reader r = {false, false, false};
	int64_t wall, cpu;
	pthread_t thread;

	squib_epoch_init();
	ck_assert_int_eq(pthread_create(&thread, NULL, long_reader_main, &r), 0);
	while (!atomic_load(&r.inside))
		sched_yield();
	ck_assert_msg(atomic_load(&r.entered), "reader_enter() could not register the reader");

	wall = clock_ns(CLOCK_MONOTONIC);
	cpu = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	squib_epoch_synchronize();
	cpu = clock_ns(CLOCK_THREAD_CPUTIME_ID) - cpu;
	wall = clock_ns(CLOCK_MONOTONIC) - wall;

	/* (a) The grace period covered the section: the flag set before
	 * reader_exit() is visible, because the writer's load that saw the
	 * exit pairs with its release store. */
	ck_assert_msg(atomic_load(&r.leaving),
		      "squib_epoch_synchronize() returned after %.1f ms, inside the section",
		      (double)wall / 1e6);
	/* (b) Waiting did not burn the writer's CPU. */
	ck_assert_msg(cpu * 100 < wall * MOST_CPU_PERCENT,
		      "the writer used %.1f ms of CPU in %.1f ms of waiting (over %d %%)",
		      (double)cpu / 1e6, (double)wall / 1e6, MOST_CPU_PERCENT);
	fprintf(stderr, "grace: writer waited %.1f ms using %.3f ms of CPU (%.2f %%)\n",
		(double)wall / 1e6, (double)cpu / 1e6, 100.0 * (double)cpu / (double)wall);
	ck_assert_int_eq(pthread_join(thread, NULL), 0);
}
END_TEST

/* ---- sections that end at once: the writer returns promptly -------------- */

struct short_reader {
	atomic_uint inside;  /* round whose section has begun */
	atomic_uint waiting; /* round whose grace period the writer has begun */
	atomic_uint leaving; /* round whose section is ending */
	atomic_uint done;    /* round whose grace period has ended */
	atomic_bool entered;
};

static void *short_reader_main(void *arg)
{
	struct short_reader *r = arg;

	for (unsigned round = 1; round <= SHORT_ROUNDS; round++) {
		struct squib_reader *reader;
		uint64_t seq;

		reader = reader_enter(&seq);
		if (!reader) {
			atomic_store(&r->inside, SHORT_ROUNDS);
			return NULL;
		}
		atomic_store(&r->entered, true);
		atomic_store(&r->inside, round);
		/* Leave as the writer starts to wait: a section of a few
		 * hundred nanoseconds seen from the writer, like an access.
		 * Yield after a while, in case the writer shares this CPU. */
		for (unsigned spins = 0; atomic_load(&r->waiting) != round; spins++) {
			if (spins >= 1000)
				sched_yield();
		}
		atomic_store(&r->leaving, round);
		reader_exit(reader, seq);
		/* Outside, until the writer is done: a writer that finds the
		 * next section already begun must wait for that one too, and
		 * that one would wait for the writer. */
		while (atomic_load(&r->done) != round)
			sched_yield();
	}
	return NULL;
}

START_TEST(writer_returns_after_short_sections)
{
	struct short_reader r = {0, 0, 0, 0, false};
	pthread_t thread;
	int64_t wall;

	squib_epoch_init();
	ck_assert_int_eq(pthread_create(&thread, NULL, short_reader_main, &r), 0);
	wall = clock_ns(CLOCK_MONOTONIC);
	for (unsigned round = 1; round <= SHORT_ROUNDS; round++) {
		while (atomic_load(&r.inside) < round)
			sched_yield();
		ck_assert_msg(atomic_load(&r.entered),
			      "reader_enter() could not register the reader");
		atomic_store(&r.waiting, round);
		squib_epoch_synchronize();
		ck_assert_uint_eq(atomic_load(&r.leaving), round);
		atomic_store(&r.done, round);
	}
	wall = clock_ns(CLOCK_MONOTONIC) - wall;
	/* No bound: how fast depends on the host; shown for the record. */
	fprintf(stderr, "grace: %u short sections, %.1f us per round\n", SHORT_ROUNDS,
		(double)wall / 1e3 / SHORT_ROUNDS);
	ck_assert_int_eq(pthread_join(thread, NULL), 0);
	/* The reader is registered and outside: nothing to wait for. */
	squib_epoch_synchronize();
}
END_TEST

static Suite *grace_suite(void)
{
	Suite *suite = suite_create("grace");
	TCase *tc = tcase_create("writer wait");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, writer_sleeps_while_reader_is_inside);
	tcase_add_test(tc, writer_returns_after_short_sections);
	suite_add_tcase(suite, tc);
	return suite;
}

int main(void)
{
	SRunner *runner = srunner_create(grace_suite());
	int failed;

	srunner_run_all(runner, CK_ENV);
	failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	return failed == 0 ? 0 : 1;
}
