/* SPDX-License-Identifier: MIT */
/*
 * squib_mem_save() with SQUIB_SAVE_HELPER_THREAD (squib/snapshot.h): the
 * pages are copied and checksummed on a thread of the save's own while the
 * calling thread writes. What a caller can tell of it, against the real
 * kernel: the record is the same byte for byte as without the flag, for
 * every kind of record and more runs than the helper has buffers; a write
 * that fails mid-way fails the save as it would without the flag and ends
 * the helper; the helper blocks every signal, is named, and is gone when
 * the save returns. (A thread that cannot be started is tested in
 * tests/faults/check_faults.c: the save then succeeds on its own.)
 */
#define _GNU_SOURCE
#include <check.h>
#include <dirent.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <squib/core.h>

#include "test_util.h"
#include "test_host.h"

#define PAGE 4096u
#define MIB (1024u * 1024u)
#define HELPER SQUIB_SAVE_HELPER_THREAD

static squib_snapshot_opts_t opts_of(uint32_t flags)
{
	squib_snapshot_opts_t opts = SQUIB_SNAPSHOT_OPTS_INIT;

	opts.flags = flags;
	return opts;
}

/*
 * A layout whose records have many runs of every kind:
 * slot 1, [0x100800, +12 MiB - 0x800), logging, base and end clipped:
 *   pages [0, 600) data (three DATA runs of at most 256 pages), [600, 700)
 *   zeros, [700, 764) data and zeros in turn, the rest data;
 * slot 2, a one-page ROM at 0x2000000;
 * slot 3, 2 MiB of zeros at 0x40000000;
 * slot 4, half a page at 0x50000800.
 */
#define BIG_BASE 0x100800u
#define BIG_SIZE (12u * MIB - 0x800u)
#define BIG_PAGES (12u * MIB / PAGE)
#define BIG_WORDS (BIG_PAGES / 64)

static squib_mem_t *layout_new(void)
{
	squib_mem_t *mem = test_mem_new();
	squib_region_opts_t big = test_opts_of(BIG_BASE, BIG_SIZE, 1, SQUIB_REGION_DIRTY_LOG);
	squib_region_opts_t rom = test_opts_of(0x2000000, PAGE, 2, SQUIB_REGION_READONLY);
	uint8_t *bytes = malloc(BIG_SIZE);

	ck_assert_ptr_nonnull(bytes);
	test_fill_pattern(bytes, BIG_SIZE, 41);
	/* page p of the region holds [p * PAGE - 0x800, ...) of bytes */
	memset(bytes + 600 * PAGE - 0x800, 0, 100 * PAGE);
	for (size_t p = 701; p < 764; p += 2)
		memset(bytes + p * PAGE - 0x800, 0, PAGE);
	CK_OK(squib_mem_add_region_opts(mem, &big));
	CK_OK(squib_mem_write(mem, SQUIB_GPA(BIG_BASE), bytes, BIG_SIZE));
	rom.prot = SQUIB_PROT_READ;
	rom.bytes = bytes;
	CK_OK(squib_mem_add_region_opts(mem, &rom));
	test_add(mem, 0x40000000, 2 * MIB, 3);
	test_add(mem, 0x50000800, PAGE / 2, 4);
	CK_OK(squib_mem_write(mem, SQUIB_GPA(0x50000800), bytes, PAGE / 2));
	free(bytes);
	return mem;
}

/* Dirties pages of slot 1 after clearing its log: an incremental record
 * of them has DATA runs parted by pages it does not carry. */
static void dirty_some(squib_mem_t *mem)
{
	uint64_t bits[BIG_WORDS];

	CK_OK(squib_mem_get_dirty_log(mem, 1, bits, BIG_WORDS, SQUIB_DIRTY_CLEAR));
	for (uint64_t p = 1; p < BIG_PAGES - 1; p += p % 3 ? 1 : 5)
		CK_OK(squib_mem_write_u8(
		    mem, SQUIB_GPA((BIG_BASE & ~(uint64_t)(PAGE - 1)) + p * PAGE), (uint8_t)p));
}

/* The record a save with flags writes to a new file; free() it. */
static uint8_t *record_of(squib_mem_t *mem, uint32_t flags, size_t *len)
{
	squib_snapshot_opts_t opts = opts_of(flags);
	int fd = test_temp_file(0, 0);
	uint8_t *bytes;

	CK_OK(squib_mem_save(mem, fd, &opts));
	bytes = test_read_file(fd, len);
	close(fd);
	return bytes;
}

static void expect_same_record(squib_mem_t *mem, uint32_t flags)
{
	size_t alone_len, helped_len;
	uint8_t *alone = record_of(mem, flags, &alone_len);
	uint8_t *helped = record_of(mem, flags | HELPER, &helped_len);

	ck_assert_msg(helped_len == alone_len, "flags 0x%x: %zu bytes with the helper, %zu without",
		      flags, helped_len, alone_len);
	ck_assert_msg(memcmp(helped, alone, alone_len) == 0,
		      "flags 0x%x: the records differ from byte %zu", flags,
		      test_first_diff(helped, alone, alone_len));
	free(alone);
	free(helped);
}

START_TEST(the_record_is_the_same_byte_for_byte)
{
	squib_mem_t *mem = layout_new();

	expect_same_record(mem, 0);
	expect_same_record(mem, SQUIB_SAVE_STREAM);
	dirty_some(mem);
	/* without CLEAR_DIRTY both saves see the same bits */
	expect_same_record(mem, SQUIB_SAVE_DIRTY_ONLY);
	expect_same_record(mem, SQUIB_SAVE_DIRTY_ONLY | SQUIB_SAVE_STREAM);
	squib_mem_free(mem);
}
END_TEST

START_TEST(an_empty_handle_and_a_single_page)
{
	squib_mem_t *mem = test_mem_new();

	expect_same_record(mem, 0);
	expect_same_record(mem, SQUIB_SAVE_STREAM);
	test_add(mem, 0x1000, PAGE, 1);
	expect_same_record(mem, 0);
	CK_OK(squib_mem_write_u8(mem, SQUIB_GPA(0x1fff), 7));
	expect_same_record(mem, SQUIB_SAVE_STREAM);
	squib_mem_free(mem);
}
END_TEST

START_TEST(clear_dirty_takes_the_bits_saved)
{
	squib_mem_t *mem = layout_new();
	squib_snapshot_opts_t opts =
	    opts_of(SQUIB_SAVE_DIRTY_ONLY | SQUIB_SAVE_CLEAR_DIRTY | SQUIB_SAVE_STREAM | HELPER);
	uint64_t bits[BIG_WORDS] = {0};
	int fd = test_temp_file(0, 0);

	dirty_some(mem);
	CK_OK(squib_mem_get_dirty_log(mem, 1, bits, BIG_WORDS, 0));
	ck_assert_uint_lt(test_first_not(bits, sizeof(bits), 0), sizeof(bits));
	CK_OK(squib_mem_save(mem, fd, &opts));
	CK_OK(squib_mem_get_dirty_log(mem, 1, bits, BIG_WORDS, 0));
	ck_assert_uint_eq(test_first_not(bits, sizeof(bits), 0), sizeof(bits));
	close(fd);
	squib_mem_free(mem);
}
END_TEST

/* The thread id of the task named squib-save in this process, 0 if none. */
static pid_t helper_task(void)
{
	DIR *dir = opendir("/proc/self/task");
	struct dirent *entry;
	pid_t found = 0;

	ck_assert_ptr_nonnull(dir);
	while (!found && (entry = readdir(dir))) {
		char path[320], comm[32] = "";
		FILE *file;

		if (entry->d_name[0] == '.')
			continue;
		(void)snprintf(path, sizeof(path), "/proc/self/task/%s/comm", entry->d_name);
		file = fopen(path, "r");
		if (!file)
			continue; /* it ended meanwhile */
		if (fgets(comm, sizeof(comm), file) && strcmp(comm, "squib-save\n") == 0)
			found = (pid_t)atoi(entry->d_name);
		fclose(file);
	}
	closedir(dir);
	return found;
}

/* Whether no task named squib-save is left. The kernel wakes a joiner as
 * the thread exits, a moment before the task leaves /proc: waits for up
 * to ten seconds, which only a thread that did not end exceeds. */
static bool helper_gone(void)
{
	struct timespec pause = {0, 1000000};

	for (int i = 0; i < 10000; i++) {
		if (!helper_task())
			return true;
		nanosleep(&pause, NULL);
	}
	return false;
}

/* The SigBlk mask of task tid, as /proc shows it. */
static uint64_t blocked_signals_of(pid_t tid)
{
	char path[64], line[128];
	uint64_t mask = 0;
	bool seen = false;
	FILE *file;

	(void)snprintf(path, sizeof(path), "/proc/self/task/%d/status", (int)tid);
	file = fopen(path, "r");
	ck_assert_ptr_nonnull(file);
	while (fgets(line, sizeof(line), file))
		if (strncmp(line, "SigBlk:", 7) == 0)
			seen = sscanf(line + 7, "%" SCNx64, &mask) == 1;
	fclose(file);
	ck_assert_msg(seen, "no SigBlk line in %s", path);
	return mask;
}

/* The reading end of the pipe a blocked save writes to. */
struct drain {
	int fd;
	pid_t helper;
	uint64_t blocked;
	uint8_t *bytes;
	size_t len, capacity;
};

/* Waits (for up to a minute) until the helper runs, which it does while
 * nothing is read yet, looks at it, then reads the stream to its end. */
static void *drain_main(void *arg)
{
	struct drain *d = arg;
	struct timespec pause = {0, 1000000};

	for (int i = 0; i < 60000 && !d->helper; i++) {
		d->helper = helper_task();
		if (!d->helper)
			nanosleep(&pause, NULL);
	}
	if (d->helper)
		d->blocked = blocked_signals_of(d->helper);
	for (;;) {
		ssize_t n;

		if (d->len == d->capacity) {
			d->capacity = d->capacity ? 2 * d->capacity : MIB;
			d->bytes = realloc(d->bytes, d->capacity);
			if (!d->bytes)
				abort();
		}
		n = read(d->fd, d->bytes + d->len, d->capacity - d->len);
		if (n <= 0)
			break;
		d->len += (size_t)n;
	}
	return NULL;
}

START_TEST(the_helper_blocks_signals_and_ends_with_the_save)
{
	squib_mem_t *mem = layout_new();
	squib_snapshot_opts_t opts = opts_of(SQUIB_SAVE_STREAM | HELPER);
	struct drain d = {0};
	size_t want_len;
	uint8_t *want = record_of(mem, SQUIB_SAVE_STREAM, &want_len);
	pthread_t reader;
	int fds[2];

	ck_assert_int_eq(pipe(fds), 0);
	(void)fcntl(fds[1], F_SETPIPE_SZ, 4096);
	d.fd = fds[0];
	ck_assert(helper_gone());
	ck_assert_int_eq(pthread_create(&reader, NULL, drain_main, &d), 0);
	CK_OK(squib_mem_save(mem, fds[1], &opts));
	close(fds[1]);
	ck_assert_int_eq(pthread_join(reader, NULL), 0);
	close(fds[0]);
	ck_assert_msg(d.helper != 0, "no thread named squib-save ran during the save");
	/* every signal but the two that cannot be blocked, SIGKILL and SIGSTOP */
	for (int sig = 1; sig < 32; sig++)
		ck_assert_msg(sig == SIGKILL || sig == SIGSTOP || (d.blocked >> (sig - 1)) & 1u,
			      "the helper does not block signal %d (SigBlk %016" PRIx64 ")", sig,
			      d.blocked);
	ck_assert_msg(helper_gone(), "the helper outlived the save");
	ck_assert_uint_eq(d.len, want_len);
	CK_BYTES_EQ(d.bytes, want, want_len);
	free(d.bytes);
	free(want);
	squib_mem_free(mem);
}
END_TEST

/* A file that may not grow past 4 MiB (RLIMIT_FSIZE): a save of the 12 MiB
 * layout fails in the middle of its runs, with EFBIG. */
START_TEST(a_write_that_fails_mid_way_fails_the_save)
{
	squib_mem_t *mem = layout_new();
	squib_snapshot_opts_t opts =
	    opts_of(SQUIB_SAVE_DIRTY_ONLY | SQUIB_SAVE_CLEAR_DIRTY | HELPER);
	struct sigaction ignore = {.sa_handler = SIG_IGN}, old_action;
	struct rlimit limit = {4 * MIB, 0}, old_limit;
	uint64_t before[BIG_WORDS] = {0}, after[BIG_WORDS] = {0};
	int fd = test_temp_file(0, 0);

	dirty_some(mem);
	CK_OK(squib_mem_get_dirty_log(mem, 1, before, BIG_WORDS, 0));
	ck_assert_uint_lt(test_first_not(before, sizeof(before), 0), sizeof(before));
	sigemptyset(&ignore.sa_mask);
	ck_assert_int_eq(sigaction(SIGXFSZ, &ignore, &old_action), 0);
	ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old_limit), 0);
	limit.rlim_max = old_limit.rlim_max;
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &limit), 0);
	CK_STATUS(squib_mem_save(mem, fd, &opts), SQUIB_E_IO);
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &old_limit), 0);
	ck_assert_int_eq(sigaction(SIGXFSZ, &old_action, NULL), 0);
	CK_LAST_ERROR_HAS(strerror(EFBIG));
	ck_assert_msg(helper_gone(), "the helper outlived the failed save");
	/* what the harvest took is back */
	CK_OK(squib_mem_get_dirty_log(mem, 1, after, BIG_WORDS, 0));
	CK_BYTES_EQ(after, before, sizeof(before));
	close(fd);
	squib_mem_free(mem);
}
END_TEST

/* The same failure with a stream whose reader goes away after 1 MiB. */
struct early_close {
	int fd;
	size_t read;
};

static void *read_a_mib_and_close(void *arg)
{
	struct early_close *e = arg;
	uint8_t buf[64 * 1024];

	while (e->read < MIB) {
		ssize_t n = read(e->fd, buf, sizeof(buf));

		if (n <= 0)
			break;
		e->read += (size_t)n;
	}
	close(e->fd);
	return NULL;
}

START_TEST(a_reader_that_goes_away_fails_the_save)
{
	squib_mem_t *mem = layout_new();
	squib_snapshot_opts_t opts = opts_of(SQUIB_SAVE_STREAM | HELPER);
	struct sigaction ignore = {.sa_handler = SIG_IGN}, old;
	struct early_close e = {0};
	pthread_t reader;
	int fds[2];

	sigemptyset(&ignore.sa_mask);
	ck_assert_int_eq(sigaction(SIGPIPE, &ignore, &old), 0);
	ck_assert_int_eq(pipe(fds), 0);
	e.fd = fds[0];
	ck_assert_int_eq(pthread_create(&reader, NULL, read_a_mib_and_close, &e), 0);
	CK_STATUS(squib_mem_save(mem, fds[1], &opts), SQUIB_E_IO);
	CK_LAST_ERROR_HAS(strerror(EPIPE));
	ck_assert_int_eq(pthread_join(reader, NULL), 0);
	ck_assert_uint_ge(e.read, MIB);
	ck_assert_msg(helper_gone(), "the helper outlived the failed save");
	close(fds[1]);
	ck_assert_int_eq(sigaction(SIGPIPE, &old, NULL), 0);
	squib_mem_free(mem);
}
END_TEST

static Suite *save_helper_suite(void)
{
	Suite *suite = suite_create("save_helper");
	TCase *records = tcase_create("records");
	TCase *thread = tcase_create("thread");
	const int timeout = test_under_valgrind() ? 600 : 60;

	tcase_add_test(records, the_record_is_the_same_byte_for_byte);
	tcase_add_test(records, an_empty_handle_and_a_single_page);
	tcase_add_test(records, clear_dirty_takes_the_bits_saved);
	tcase_set_timeout(records, timeout);
	suite_add_tcase(suite, records);
	tcase_add_test(thread, the_helper_blocks_signals_and_ends_with_the_save);
	tcase_add_test(thread, a_write_that_fails_mid_way_fails_the_save);
	tcase_add_test(thread, a_reader_that_goes_away_fails_the_save);
	tcase_set_timeout(thread, timeout);
	suite_add_tcase(suite, thread);
	return suite;
}

TEST_MAIN(save_helper_suite)
