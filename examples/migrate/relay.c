/* SPDX-License-Identifier: MIT */
/*
 * The relay of relay.h. The thread waits in poll() for data in the pipe or
 * for a request (an eventfd). A flush request is answered once the pipe is
 * empty: the writer is then blocked in relay_flush(), so nothing new can
 * arrive, and the count is final.
 */
#define _GNU_SOURCE /* splice, F_SETPIPE_SZ, pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "relay.h"

#define PIPE_BYTES (1 << 20) /* one splice moves up to this much */
#define COALESCE_BYTES (256 << 10)
#define COALESCE_NS 200000L

struct relay {
	int pipe_r, pipe_w, event, sock;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t answered;
	/* Under lock: */
	uint64_t total;	    /* bytes moved to the socket */
	uint64_t requested; /* flush requests made */
	uint64_t answered_up_to;
	bool quit;
	bool failed;
};

/* Moves what the pipe holds to the socket; false on failure (printed). */
static bool move_some(struct relay *relay, size_t len, uint64_t *moved)
{
	for (;;) {
		ssize_t n = splice(relay->pipe_r, NULL, relay->sock, NULL, len, SPLICE_F_MOVE);

		if (n > 0) {
			*moved += (uint64_t)n;
			return true;
		}
		if (n < 0 && errno == EINTR)
			continue;
		(void)fprintf(stderr, "example_migrate: relay: splice to the socket: %s\n",
			      n < 0 ? strerror(errno) : "the pipe closed");
		return false;
	}
}

/* Moves everything the pipe holds now. */
static bool drain(struct relay *relay, uint64_t *moved)
{
	for (;;) {
		int queued = 0;

		if (ioctl(relay->pipe_r, FIONREAD, &queued) != 0) {
			(void)fprintf(stderr, "example_migrate: relay: FIONREAD: %s\n",
				      strerror(errno));
			return false;
		}
		if (queued == 0)
			return true;
		if (!move_some(relay, (size_t)queued, moved))
			return false;
	}
}

/* A record of scattered pages arrives as two small writes a page (a run,
 * its bytes): moving each on its own would wake the destination for each.
 * So while the pipe holds little, wait a moment for more (a request ends
 * the wait at once), as Nagle's algorithm does. */
static void coalesce(struct relay *relay)
{
	struct pollfd event = {.fd = relay->event, .events = POLLIN};
	const struct timespec wait = {.tv_nsec = COALESCE_NS};
	int queued = 0;

	if (ioctl(relay->pipe_r, FIONREAD, &queued) == 0 && queued < COALESCE_BYTES)
		(void)ppoll(&event, 1, &wait, NULL);
}

static void *relay_main(void *arg)
{
	struct relay *relay = arg;
	bool good = true, quit = false;

	while (good && !quit) {
		struct pollfd fds[2] = {{.fd = relay->pipe_r, .events = POLLIN},
					{.fd = relay->event, .events = POLLIN}};
		uint64_t moved = 0, requests = 0;

		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			(void)fprintf(stderr, "example_migrate: relay: poll: %s\n",
				      strerror(errno));
			good = false;
			break;
		}
		if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			coalesce(relay);
			good = move_some(relay, PIPE_BYTES, &moved);
		}
		if (good && (fds[1].revents & POLLIN)) {
			if (read(relay->event, &requests, sizeof(requests)) < 0) {
				if (errno != EAGAIN)
					good = false;
				requests = 0;
			}
			good = good && drain(relay, &moved);
		}
		/* Only the requests read before the drain are answered: their data
		 * was in the pipe before it, so it has gone out now. */
		pthread_mutex_lock(&relay->lock);
		relay->total += moved;
		if (good)
			relay->answered_up_to += requests;
		quit = relay->quit && relay->answered_up_to == relay->requested;
		pthread_cond_broadcast(&relay->answered);
		pthread_mutex_unlock(&relay->lock);
	}
	if (!good) {
		/* The writer's next write fails with EPIPE instead of blocking. */
		pthread_mutex_lock(&relay->lock);
		relay->failed = true;
		(void)close(relay->pipe_r);
		relay->pipe_r = -1;
		pthread_cond_broadcast(&relay->answered);
		pthread_mutex_unlock(&relay->lock);
	}
	return NULL;
}

struct relay *relay_start(int sock)
{
	struct relay *relay = calloc(1, sizeof(*relay));
	int fds[2] = {-1, -1}, err;

	if (!relay) {
		(void)fprintf(stderr, "example_migrate: out of memory\n");
		return NULL;
	}
	if (pipe2(fds, O_CLOEXEC) != 0) {
		(void)fprintf(stderr, "example_migrate: pipe2: %s\n", strerror(errno));
		free(relay);
		return NULL;
	}
	/* A larger pipe, fewer wake-ups; the default 64 KiB works too. */
	(void)fcntl(fds[1], F_SETPIPE_SZ, PIPE_BYTES);
	relay->pipe_r = fds[0];
	relay->pipe_w = fds[1];
	relay->sock = sock;
	relay->event = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (relay->event < 0) {
		(void)fprintf(stderr, "example_migrate: eventfd: %s\n", strerror(errno));
		goto fail;
	}
	pthread_mutex_init(&relay->lock, NULL);
	pthread_cond_init(&relay->answered, NULL);
	err = pthread_create(&relay->thread, NULL, relay_main, relay);
	if (err) {
		(void)fprintf(stderr, "example_migrate: pthread_create: %s\n", strerror(err));
		pthread_cond_destroy(&relay->answered);
		pthread_mutex_destroy(&relay->lock);
		goto fail;
	}
	return relay;
fail:
	if (relay->event >= 0)
		(void)close(relay->event);
	(void)close(fds[0]);
	(void)close(fds[1]);
	free(relay);
	return NULL;
}

int relay_fd(const struct relay *relay)
{
	return relay->pipe_w;
}

static bool request(struct relay *relay, bool quit, uint64_t *total)
{
	uint64_t one = 1, mine;
	bool good;

	pthread_mutex_lock(&relay->lock);
	mine = ++relay->requested;
	relay->quit = relay->quit || quit;
	pthread_mutex_unlock(&relay->lock);
	if (write(relay->event, &one, sizeof(one)) != (ssize_t)sizeof(one)) {
		(void)fprintf(stderr, "example_migrate: relay: eventfd: %s\n", strerror(errno));
		return false;
	}
	pthread_mutex_lock(&relay->lock);
	while (relay->answered_up_to < mine && !relay->failed)
		pthread_cond_wait(&relay->answered, &relay->lock);
	good = !relay->failed;
	if (total)
		*total = relay->total;
	pthread_mutex_unlock(&relay->lock);
	return good;
}

bool relay_flush(struct relay *relay, uint64_t *total)
{
	return request(relay, false, total);
}

bool relay_stop(struct relay *relay)
{
	bool good = request(relay, true, NULL);

	(void)pthread_join(relay->thread, NULL);
	pthread_cond_destroy(&relay->answered);
	pthread_mutex_destroy(&relay->lock);
	if (relay->pipe_r >= 0)
		(void)close(relay->pipe_r);
	(void)close(relay->pipe_w);
	(void)close(relay->event);
	free(relay);
	return good;
}
