/* SPDX-License-Identifier: MIT */
/* The reader registry across fork(): a child must be able to add and remove
 * regions even though the parent had other threads inside read sections at
 * the moment of the fork (those threads do not exist in the child). */
#define _GNU_SOURCE
#include <check.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <squib/core.h>

#define BIG_REGION (64u << 20)

struct reader_args {
	squib_mem_t *mem;
	_Atomic int stop;
	_Atomic int reads;
};

static void *reader_main(void *arg)
{
	struct reader_args *args = arg;
	void *buf = malloc(BIG_REGION);

	if (!buf)
		return NULL;
	/* Long reads: most of this thread's time is inside a read section. */
	while (!atomic_load(&args->stop)) {
		if (squib_mem_read(args->mem, SQUIB_GPA(0), buf, BIG_REGION) == SQUIB_OK)
			atomic_fetch_add(&args->reads, 1);
	}
	free(buf);
	return NULL;
}

START_TEST(child_of_busy_parent_can_remove_regions)
{
	struct reader_args args = {0};
	squib_range_t range;
	pthread_t reader;
	int status = -1;
	pid_t child;

	ck_assert_int_eq(squib_mem_new(&args.mem), SQUIB_OK);
	ck_assert_int_eq(squib_range_init(&range, SQUIB_GPA(0), BIG_REGION), SQUIB_OK);
	ck_assert_int_eq(squib_mem_add_region(args.mem, range, 1, SQUIB_PROT_RW), SQUIB_OK);
	ck_assert_int_eq(pthread_create(&reader, NULL, reader_main, &args), 0);
	while (atomic_load(&args.reads) < 2)
		sched_yield();

	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		squib_range_t extra;
		int ok;

		/* A hang here is the bug: end it instead of the whole suite. */
		alarm(20);
		ok = squib_range_init(&extra, SQUIB_GPA(1ull << 32), 4096) == SQUIB_OK &&
		     squib_mem_add_region(args.mem, extra, 2, SQUIB_PROT_RW) == SQUIB_OK &&
		     squib_mem_remove_region(args.mem, 2) == SQUIB_OK &&
		     squib_mem_remove_region(args.mem, 1) == SQUIB_OK &&
		     squib_mem_region_count(args.mem) == 0;
		_exit(ok ? 0 : 1);
	}
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	atomic_store(&args.stop, 1);
	pthread_join(reader, NULL);
	squib_mem_free(args.mem);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "child failed or hung: status 0x%x", (unsigned)status);
}
END_TEST

static Suite *fork_suite(void)
{
	Suite *suite = suite_create("fork");
	TCase *tcase = tcase_create("registry");

	tcase_set_timeout(tcase, 60);
	tcase_add_test(tcase, child_of_busy_parent_can_remove_regions);
	suite_add_tcase(suite, tcase);
	return suite;
}

int main(void)
{
	SRunner *runner = srunner_create(fork_suite());
	int failed;

	srunner_run_all(runner, CK_NORMAL);
	failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
