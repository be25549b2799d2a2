/* SPDX-License-Identifier: MIT */
/*
 * squib_mem_read_from_fd() and squib_mem_write_to_fd() (squib/io.h) against
 * real files, pipes and sockets: the bytes, the offsets, short counts and
 * EINTR retried, end of file and errors with *done, the argument and range
 * rules, read-only regions, dirty marking, and a removal while a transfer
 * blocks.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "test_host.h"
#include "test_util.h"

#define BASE 0x100000u
#define SIZE (64u * 4096u)
#define ROM_BASE 0x200000u

/* Slot 1: [BASE, BASE + SIZE) read-write; slot 2: a 4 KiB ROM. */
static squib_mem_t *layout(void)
{
	squib_mem_t *mem = test_mem_new();
	squib_region_opts_t rom = test_opts_of(ROM_BASE, 4096, 2, SQUIB_REGION_READONLY);
	static uint8_t image[4096];

	test_fill_pattern(image, sizeof(image), 9);
	rom.bytes = image;
	test_add(mem, BASE, SIZE, 1);
	CK_OK(squib_mem_add_region_opts(mem, &rom));
	return mem;
}

static void expect_guest_pattern(squib_mem_t *mem, uint64_t addr, size_t len, uint64_t seed,
				 uint64_t seed_offset)
{
	uint8_t *got = malloc(len);

	ck_assert_ptr_nonnull(got);
	CK_OK(squib_mem_read(mem, SQUIB_GPA(addr), got, len));
	for (size_t i = 0; i < len; i++)
		ck_assert_msg(got[i] == test_pattern_byte(seed, seed_offset + i),
			      "guest byte %zu is 0x%02x, want 0x%02x", i, got[i],
			      test_pattern_byte(seed, seed_offset + i));
	free(got);
}

START_TEST(read_from_file_at_offset)
{
	squib_mem_t *mem = layout();
	int fd = test_temp_file(3 * SIZE, 5);
	size_t done = 77;

	/* Unaligned everywhere: guest address, length and file offset. */
	CK_OK(squib_mem_read_from_fd(mem, SQUIB_GPA(BASE + 3), SIZE - 10, fd, 4097, &done));
	ck_assert_uint_eq(done, SIZE - 10);
	expect_guest_pattern(mem, BASE + 3, SIZE - 10, 5, 4097);
	/* The fd's own position is untouched by an offset transfer. */
	ck_assert_int_eq(lseek(fd, 0, SEEK_CUR), 0);
	CK_OK(squib_mem_read_from_fd(mem, SQUIB_GPA(BASE), 100, fd, 0, NULL));
	expect_guest_pattern(mem, BASE, 100, 5, 0);
	close(fd);
	squib_mem_free(mem);
}
END_TEST

START_TEST(read_from_fd_position)
{
	squib_mem_t *mem = layout();
	int fd = test_temp_file(SIZE, 6);
	size_t done = 0;

	ck_assert_int_eq(lseek(fd, 1000, SEEK_SET), 1000);
	CK_OK(squib_mem_read_from_fd(mem, SQUIB_GPA(BASE), 5000, fd, -1, &done));
	ck_assert_uint_eq(done, 5000);
	expect_guest_pattern(mem, BASE, 5000, 6, 1000);
	ck_assert_int_eq(lseek(fd, 0, SEEK_CUR), 6000);
	close(fd);
	squib_mem_free(mem);
}
END_TEST

START_TEST(write_to_file_and_back)
{
	squib_mem_t *mem = layout();
	int fd = test_temp_file(0, 0);
	uint8_t *pattern = malloc(SIZE), *back = malloc(SIZE);
	size_t done = 0;

	ck_assert_ptr_nonnull(pattern);
	ck_assert_ptr_nonnull(back);
	test_fill_pattern(pattern, SIZE, 11);
	CK_OK(squib_mem_write(mem, SQUIB_GPA(BASE), pattern, SIZE));
	CK_OK(squib_mem_write_to_fd(mem, SQUIB_GPA(BASE + 1), SIZE - 1, fd, 12345, &done));
	ck_assert_uint_eq(done, SIZE - 1);
	ck_assert_int_eq(pread(fd, back, SIZE - 1, 12345), (ssize_t)(SIZE - 1));
	CK_BYTES_EQ(back, pattern + 1, SIZE - 1);
	/* A read-only region can be written out: it is a read of guest memory. */
	CK_OK(squib_mem_write_to_fd(mem, SQUIB_GPA(ROM_BASE), 4096, fd, -1, &done));
	ck_assert_int_eq(pread(fd, back, 4096, 0), 4096);
	for (size_t i = 0; i < 4096; i++)
		ck_assert_uint_eq(back[i], test_pattern_byte(9, i));
	free(pattern);
	free(back);
	close(fd);
	squib_mem_free(mem);
}
END_TEST

/* ---- pipes and sockets: short counts, in order ---- */

struct feeder {
	int fd;
	size_t len;
	size_t chunk;
	uint64_t seed;
	useconds_t pause;
};

/* Writes len pattern bytes in chunks, with a pause between them, so that
 * the reader gets one short count after another. */
static void *feed(void *arg)
{
	const struct feeder *feeder = arg;
	uint8_t buf[4096];

	for (size_t at = 0; at < feeder->len; at += feeder->chunk) {
		size_t n = feeder->len - at < feeder->chunk ? feeder->len - at : feeder->chunk;

		for (size_t i = 0; i < n; i++)
			buf[i] = test_pattern_byte(feeder->seed, at + i);
		if (write(feeder->fd, buf, n) != (ssize_t)n)
			return (void *)1;
		if (feeder->pause)
			usleep(feeder->pause);
	}
	return NULL;
}

START_TEST(read_from_pipe_short_counts)
{
	squib_mem_t *mem = layout();
	int fds[2];
	struct feeder feeder = {.len = 20000, .chunk = 777, .seed = 3, .pause = 200};
	pthread_t thread;
	void *result;
	size_t done = 0;

	ck_assert_int_eq(pipe(fds), 0);
	feeder.fd = fds[1];
	ck_assert_int_eq(pthread_create(&thread, NULL, feed, &feeder), 0);
	CK_OK(squib_mem_read_from_fd(mem, SQUIB_GPA(BASE + 5), feeder.len, fds[0], -1, &done));
	ck_assert_int_eq(pthread_join(thread, &result), 0);
	ck_assert_ptr_null(result);
	ck_assert_uint_eq(done, feeder.len);
	expect_guest_pattern(mem, BASE + 5, feeder.len, 3, 0);
	close(fds[0]);
	close(fds[1]);
	squib_mem_free(mem);
}
END_TEST

struct drainer {
	int fd;
	size_t len;
	uint8_t *got;
};

/* Reads len bytes in small pieces, so that the writer meets a full socket
 * buffer and short counts. */
static void *drain(void *arg)
{
	struct drainer *drainer = arg;
	size_t at = 0;

	while (at < drainer->len) {
		ssize_t n = read(drainer->fd, drainer->got + at,
				 drainer->len - at < 1000 ? drainer->len - at : 1000);

		if (n <= 0)
			return (void *)1;
		at += (size_t)n;
	}
	return NULL;
}

START_TEST(write_to_socket_in_order)
{
	squib_mem_t *mem = layout();
	int fds[2], size = 4096;
	uint8_t *pattern = malloc(SIZE);
	struct drainer drainer = {.len = SIZE, .got = malloc(SIZE)};
	pthread_t thread;
	void *result;
	size_t done = 0;

	ck_assert_ptr_nonnull(pattern);
	ck_assert_ptr_nonnull(drainer.got);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
	/* A small send buffer: the 256 KiB go out in many short writes. */
	ck_assert_int_eq(setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size)), 0);
	test_fill_pattern(pattern, SIZE, 13);
	CK_OK(squib_mem_write(mem, SQUIB_GPA(BASE), pattern, SIZE));
	drainer.fd = fds[1];
	ck_assert_int_eq(pthread_create(&thread, NULL, drain, &drainer), 0);
	CK_OK(squib_mem_write_to_fd(mem, SQUIB_GPA(BASE), SIZE, fds[0], -1, &done));
	ck_assert_int_eq(pthread_join(thread, &result), 0);
	ck_assert_ptr_null(result);
	ck_assert_uint_eq(done, SIZE);
	CK_BYTES_EQ(drainer.got, pattern, SIZE);
	free(pattern);
	free(drainer.got);
	close(fds[0]);
	close(fds[1]);
	squib_mem_free(mem);
}
END_TEST

/* ---- EINTR ---- */

static void on_signal(int sig)
{
	(void)sig;
}

struct interrupter {
	pthread_t target;
	int write_fd;
	_Atomic bool stop;
};

/* Interrupts the target's blocking read a few times, then feeds it. */
static void *interrupt_then_feed(void *arg)
{
	struct interrupter *it = arg;
	static const char data[] = "after the signals";

	for (int i = 0; i < 20; i++) {
		(void)pthread_kill(it->target, SIGUSR1);
		usleep(2000);
	}
	if (write(it->write_fd, data, sizeof(data)) != (ssize_t)sizeof(data))
		return (void *)1;
	return NULL;
}

START_TEST(eintr_is_retried)
{
	squib_mem_t *mem = layout();
	struct sigaction action = {.sa_handler = on_signal}, old;
	struct interrupter it = {.target = pthread_self()};
	int fds[2];
	pthread_t thread;
	void *result;
	char got[32] = {0};
	size_t done = 0;

	/* No SA_RESTART: the read returns EINTR to the library. */
	sigemptyset(&action.sa_mask);
	ck_assert_int_eq(sigaction(SIGUSR1, &action, &old), 0);
	ck_assert_int_eq(pipe(fds), 0);
	it.write_fd = fds[1];
	ck_assert_int_eq(pthread_create(&thread, NULL, interrupt_then_feed, &it), 0);
	CK_OK(squib_mem_read_from_fd(mem, SQUIB_GPA(BASE), sizeof("after the signals"), fds[0], -1,
				     &done));
	ck_assert_int_eq(pthread_join(thread, &result), 0);
	ck_assert_ptr_null(result);
	ck_assert_uint_eq(done, sizeof("after the signals"));
	CK_OK(squib_mem_read(mem, SQUIB_GPA(BASE), got, sizeof("after the signals")));
	ck_assert_str_eq(got, "after the signals");
	ck_assert_int_eq(sigaction(SIGUSR1, &old, NULL), 0);
	close(fds[0]);
	close(fds[1]);
	squib_mem_free(mem);
}
END_TEST

/* ---- end of file and errors: SQUIB_E_IO with *done ---- */

START_TEST(end_of_file_reports_done)
{
	squib_mem_t *mem = layout();
	int fd = test_temp_file(10000, 4);
	size_t done = 77;

	CK_STATUS(squib_mem_read_from_fd(mem, SQUIB_GPA(BASE), 8192, fd, 5000, &done), SQUIB_E_IO);
	ck_assert_uint_eq(done, 5000);
	CK_LAST_ERROR_HAS("end of file");
	CK_LAST_ERROR_HAS_U64(10000); /* the offset reached */
	CK_LAST_ERROR_HAS_U64(8192);
	/* What came before the end is in guest memory. */
	expect_guest_pattern(mem, BASE, 5000, 4, 5000);
	/* The writer side closed: a pipe ends too. */
	{
		int fds[2];

		ck_assert_int_eq(pipe(fds), 0);
		ck_assert_int_eq(write(fds[1], "abc", 3), 3);
		close(fds[1]);
		CK_STATUS(squib_mem_read_from_fd(mem, SQUIB_GPA(BASE), 10, fds[0], -1, &done),
			  SQUIB_E_IO);
		ck_assert_uint_eq(done, 3);
		CK_LAST_ERROR_HAS("end of file");
		close(fds[0]);
	}
	close(fd);
	squib_mem_free(mem);
}
END_TEST

START_TEST(host_errors_are_io)
{
	squib_mem_t *mem = layout();
	int fds[2], flags;
	int closed = test_temp_file(0, 0);
	size_t done = 77;
	char fill[4096] = {0};

	/* A descriptor that is not open. */
	close(closed);
	CK_STATUS(squib_mem_read_from_fd(mem, SQUIB_GPA(BASE), 10, closed, 0, &done), SQUIB_E_IO);
	ck_assert_uint_eq(done, 0);
	CK_LAST_ERROR_HAS(strerror(EBADF));
	/* An offset on a pipe, which cannot seek. */
	ck_assert_int_eq(pipe(fds), 0);
	done = 77;
	CK_STATUS(squib_mem_write_to_fd(mem, SQUIB_GPA(BASE), 10, fds[1], 0, &done), SQUIB_E_IO);
	ck_assert_uint_eq(done, 0);
	CK_LAST_ERROR_HAS(strerror(ESPIPE));
	/* A full non-blocking pipe: EAGAIN is an error, after what fitted. */
	flags = fcntl(fds[1], F_GETFL);
	ck_assert_int_eq(fcntl(fds[1], F_SETFL, flags | O_NONBLOCK), 0);
	while (write(fds[1], fill, sizeof(fill)) > 0)
		;
	ck_assert_int_eq(read(fds[0], fill, 100), 100);
	done = 77;
	CK_STATUS(squib_mem_write_to_fd(mem, SQUIB_GPA(BASE), 4096, fds[1], -1, &done), SQUIB_E_IO);
	ck_assert_uint_le(done, 100);
	CK_LAST_ERROR_HAS(strerror(EAGAIN));
	close(fds[0]);
	close(fds[1]);
	squib_mem_free(mem);
}
END_TEST

/* ---- the argument and range rules: nothing moves, *done untouched ---- */

START_TEST(refusals_move_nothing)
{
	squib_mem_t *mem = layout();
	int fd = test_temp_file(SIZE, 8);
	size_t done = 77;
	uint8_t zero[64] = {0};

	CK_STATUS(squib_mem_read_from_fd(NULL, SQUIB_GPA(BASE), 10, fd, 0, &done),
		  SQUIB_E_INVALID_ARGUMENT);
	CK_STATUS(squib_mem_write_to_fd(NULL, SQUIB_GPA(BASE), 10, fd, 0, &done),
		  SQUIB_E_INVALID_ARGUMENT);
	CK_STATUS(squib_mem_read_from_fd(mem, SQUIB_GPA(BASE), 10, -1, 0, &done),
		  SQUIB_E_INVALID_ARGUMENT);
	CK_LAST_ERROR_HAS("fd -1");
	CK_STATUS(squib_mem_read_from_fd(mem, SQUIB_GPA(BASE), 10, fd, -2, &done),
		  SQUIB_E_INVALID_ARGUMENT);
	CK_LAST_ERROR_HAS("-2");
	CK_STATUS(squib_mem_write_to_fd(mem, SQUIB_GPA(BASE), 10, fd, INT64_MAX - 5, &done),
		  SQUIB_E_INVALID_ARGUMENT);
	CK_LAST_ERROR_HAS("INT64_MAX");
	/* Inside one region, as read: a straddle, a hole, an overflow. */
	CK_STATUS(squib_mem_read_from_fd(mem, SQUIB_GPA(BASE + SIZE - 4), 8, fd, 0, &done),
		  SQUIB_E_OUT_OF_RANGE);
	CK_STATUS(squib_mem_write_to_fd(mem, SQUIB_GPA(0x10), 8, fd, 0, &done),
		  SQUIB_E_OUT_OF_RANGE);
	CK_STATUS(squib_mem_read_from_fd(mem, SQUIB_GPA(UINT64_MAX - 2), 8, fd, 0, &done),
		  SQUIB_E_OUT_OF_RANGE);
	CK_LAST_ERROR_HAS("overflows");
	/* Reading into a ROM is a write to it. */
	CK_STATUS(squib_mem_read_from_fd(mem, SQUIB_GPA(ROM_BASE), 64, fd, 0, &done),
		  SQUIB_E_READ_ONLY);
	CK_LAST_ERROR_HAS("slot 2");
	ck_assert_uint_eq(done, 77);
	{
		uint8_t rom[64];

		CK_OK(squib_mem_read(mem, SQUIB_GPA(ROM_BASE), rom, sizeof(rom)));
		for (size_t i = 0; i < sizeof(rom); i++)
			ck_assert_uint_eq(rom[i], test_pattern_byte(9, i));
	}
	{
		uint8_t got[64];

		CK_OK(squib_mem_read(mem, SQUIB_GPA(BASE), got, sizeof(got)));
		CK_BYTES_EQ(got, zero, sizeof(got));
	}
	ck_assert_int_eq(lseek(fd, 0, SEEK_CUR), 0);
	close(fd);
	squib_mem_free(mem);
}
END_TEST

START_TEST(empty_transfers)
{
	squib_mem_t *mem = layout();
	int fd = test_temp_file(0, 0);
	size_t done = 77;

	/* Where an empty access succeeds, and without touching the fd. */
	CK_OK(squib_mem_read_from_fd(mem, SQUIB_GPA(BASE + SIZE), 0, fd, 0, &done));
	ck_assert_uint_eq(done, 0);
	done = 77;
	CK_OK(squib_mem_write_to_fd(mem, SQUIB_GPA(ROM_BASE), 0, fd, -1, &done));
	ck_assert_uint_eq(done, 0);
	CK_OK(squib_mem_read_from_fd(mem, SQUIB_GPA(ROM_BASE), 0, fd, 0, NULL));
	CK_STATUS(squib_mem_read_from_fd(mem, SQUIB_GPA(0x10), 0, fd, 0, &done),
		  SQUIB_E_OUT_OF_RANGE);
	close(fd);
	squib_mem_free(mem);
}
END_TEST

/* ---- dirty logging: a read from an fd is a library write ---- */

START_TEST(read_from_fd_marks_dirty)
{
	squib_mem_t *mem = layout();
	int fd = test_temp_file(3 * 4096, 2);
	uint64_t bitmap[1] = {0};
	size_t done = 0;

	CK_OK(squib_mem_set_dirty_log(mem, 1, true));
	CK_OK(squib_mem_write_to_fd(mem, SQUIB_GPA(BASE), 4096, fd, 0, &done));
	CK_OK(squib_mem_get_dirty_log(mem, 1, bitmap, 1, 0));
	ck_assert_uint_eq(bitmap[0], 0); /* a write to the fd reads guest memory */
	/* Pages 1 and 2 (bytes 4095 .. 8192 of the region). */
	CK_OK(squib_mem_read_from_fd(mem, SQUIB_GPA(BASE + 4095), 4098, fd, 0, &done));
	CK_OK(squib_mem_get_dirty_log(mem, 1, bitmap, 1, SQUIB_DIRTY_CLEAR));
	ck_assert_uint_eq(bitmap[0], 0x7);
	/* An end of file part-way: the pages written before it are dirty. */
	CK_STATUS(
	    squib_mem_read_from_fd(mem, SQUIB_GPA(BASE + 10 * 4096), 8 * 4096, fd, 4096, &done),
	    SQUIB_E_IO);
	ck_assert_uint_eq(done, 2 * 4096);
	CK_OK(squib_mem_get_dirty_log(mem, 1, bitmap, 1, 0));
	ck_assert_uint_eq(bitmap[0], (uint64_t)0x3 << 10);
	close(fd);
	squib_mem_free(mem);
}
END_TEST

/* ---- a removal while a transfer blocks ---- */

struct blocked_read {
	squib_mem_t *mem;
	int fd;
	squib_status_t status;
	size_t done;
	_Atomic bool finished;
};

static void *read_blocking(void *arg)
{
	struct blocked_read *blocked = arg;

	blocked->status = squib_mem_read_from_fd(blocked->mem, SQUIB_GPA(BASE), 4096, blocked->fd,
						 -1, &blocked->done);
	atomic_store(&blocked->finished, true);
	return NULL;
}

START_TEST(removal_does_not_wait_for_a_blocked_transfer)
{
	squib_mem_t *mem = layout();
	struct blocked_read blocked = {.mem = mem};
	uint8_t data[4096];
	int fds[2];
	pthread_t thread;

	ck_assert_int_eq(pipe(fds), 0);
	blocked.fd = fds[0];
	ck_assert_int_eq(pthread_create(&thread, NULL, read_blocking, &blocked), 0);
	usleep(20000); /* let it block in the read */
	/* Returns while the transfer still waits for its peer, and the
	 * region is gone for new accesses at once. */
	CK_OK(squib_mem_remove_region(mem, 1));
	ck_assert(!atomic_load(&blocked.finished));
	CK_STATUS(squib_mem_write_u8(mem, SQUIB_GPA(BASE), 1), SQUIB_E_OUT_OF_RANGE);
	/* Other changes go on too. */
	test_add(mem, 0x400000, 4096, 5);
	CK_OK(squib_mem_remove_region(mem, 5));
	/* The transfer finishes into the memory it held. */
	test_fill_pattern(data, sizeof(data), 21);
	ck_assert_int_eq(write(fds[1], data, sizeof(data)), (ssize_t)sizeof(data));
	ck_assert_int_eq(pthread_join(thread, NULL), 0);
	CK_OK(blocked.status);
	ck_assert_uint_eq(blocked.done, 4096);
	close(fds[0]);
	close(fds[1]);
	squib_mem_free(mem);
}
END_TEST

static Suite *fd_io_suite(void)
{
	Suite *suite = suite_create("fd_io");
	TCase *files = tcase_create("files");
	TCase *streams = tcase_create("streams");
	TCase *rules = tcase_create("rules");

	tcase_add_test(files, read_from_file_at_offset);
	tcase_add_test(files, read_from_fd_position);
	tcase_add_test(files, write_to_file_and_back);
	suite_add_tcase(suite, files);

	tcase_add_test(streams, read_from_pipe_short_counts);
	tcase_add_test(streams, write_to_socket_in_order);
	tcase_add_test(streams, eintr_is_retried);
	tcase_add_test(streams, removal_does_not_wait_for_a_blocked_transfer);
	tcase_set_timeout(streams, 60);
	suite_add_tcase(suite, streams);

	tcase_add_test(rules, end_of_file_reports_done);
	tcase_add_test(rules, host_errors_are_io);
	tcase_add_test(rules, refusals_move_nothing);
	tcase_add_test(rules, empty_transfers);
	tcase_add_test(rules, read_from_fd_marks_dirty);
	suite_add_tcase(suite, rules);
	return suite;
}

TEST_MAIN(fd_io_suite)
