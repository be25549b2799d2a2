/* SPDX-License-Identifier: MIT */
/* The writer threads of writers.h. */
#define _GNU_SOURCE /* clock_nanosleep */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "guest.h"
#include "writers.h"

#define WRITERS_MAX 16u
#define TICK_NS (100 * UINT64_C(1000)) /* sleep granularity: 100 us */

struct writer {
	pthread_t thread;
	struct writers *all;
	unsigned id;
	uint64_t rate; /* writes per second of this thread */
	uint64_t writes;
	squib_status_t status;
	squib_gpa_t failed_at;
	char error[256]; /* squib_last_error() is per thread: kept here */
};

struct writers {
	squib_mem_t *mem;
	atomic_bool stop;
	unsigned count;
	struct writer writer[WRITERS_MAX];
};

static uint64_t xorshift64(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *state = x;
}

/* A random 8-byte slot of a random RAM page. */
static squib_gpa_t random_slot(uint64_t *state, uint64_t ram_pages)
{
	uint64_t r = xorshift64(state);
	uint64_t page = (r >> 16) % ram_pages;
	uint64_t offset = (r & 0x1ffu) * 8u;

	for (unsigned i = 0; i < GUEST_RAMS; i++) {
		const struct guest_ram *ram = &guest_rams[i];
		uint64_t pages = (ram->size - ram->writers_from) / GUEST_PAGE;

		if (page < pages)
			return SQUIB_GPA(ram->base + ram->writers_from + page * GUEST_PAGE +
					 offset);
		page -= pages;
	}
	return SQUIB_GPA(0); /* not reached: page < ram_pages */
}

static void sleep_until(uint64_t ns)
{
	struct timespec ts = {.tv_sec = (time_t)(ns / NS_PER_S), .tv_nsec = (long)(ns % NS_PER_S)};

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

/* Writes as many times as the rate allows by now, then sleeps a tick: a
 * token bucket, so that the rate holds whatever the scheduler does. */
static void *writer_main(void *arg)
{
	struct writer *self = arg;
	squib_mem_t *mem = self->all->mem;
	uint64_t state = UINT64_C(0x9e3779b97f4a7c15) * (self->id + 1u);
	uint64_t ram_pages = guest_writer_pages();
	uint64_t start = now_ns();
	uint64_t tag = (uint64_t)(self->id + 1u) << 56;

	while (!atomic_load_explicit(&self->all->stop, memory_order_relaxed)) {
		uint64_t now = now_ns();
		uint64_t due = (uint64_t)((double)self->rate * (double)(now - start) / 1e9);

		while (self->writes < due) {
			squib_gpa_t gpa = random_slot(&state, ram_pages);
			squib_status_t status =
			    squib_mem_write_u64_le(mem, gpa, tag | ++self->writes);

			if (status != SQUIB_OK) {
				self->status = status;
				self->failed_at = gpa;
				(void)snprintf(self->error, sizeof(self->error), "%s",
					       squib_last_error());
				return NULL;
			}
		}
		sleep_until(now + TICK_NS);
	}
	return NULL;
}

struct writers *writers_start(squib_mem_t *mem, unsigned count, uint64_t rate)
{
	struct writers *writers = calloc(1, sizeof(*writers));

	if (!writers || count == 0 || count > WRITERS_MAX) {
		(void)fprintf(stderr, "example_migrate: %u writers (1 to %u)\n", count,
			      WRITERS_MAX);
		free(writers);
		return NULL;
	}
	writers->mem = mem;
	atomic_init(&writers->stop, false);
	for (unsigned i = 0; i < count; i++) {
		struct writer *w = &writers->writer[i];
		int err;

		*w = (struct writer){
		    .all = writers, .id = i, .rate = rate / count + (i < rate % count ? 1u : 0u)};
		err = pthread_create(&w->thread, NULL, writer_main, w);
		if (err) {
			(void)fprintf(stderr, "example_migrate: pthread_create: %s\n",
				      strerror(err));
			writers_pause(writers);
			(void)writers_join(writers, NULL);
			return NULL;
		}
		writers->count++;
	}
	return writers;
}

void writers_pause(struct writers *writers)
{
	atomic_store_explicit(&writers->stop, true, memory_order_relaxed);
}

bool writers_join(struct writers *writers, uint64_t *writes)
{
	uint64_t total = 0;
	bool good = true;

	writers_pause(writers);
	for (unsigned i = 0; i < writers->count; i++) {
		struct writer *w = &writers->writer[i];
		char gpa[SQUIB_GPA_STRLEN];

		(void)pthread_join(w->thread, NULL);
		total += w->writes;
		if (w->status == SQUIB_OK)
			continue;
		(void)squib_gpa_format(w->failed_at, gpa, sizeof(gpa));
		(void)fprintf(stderr,
			      "example_migrate: writer %u: squib_mem_write_u64_le(%s): %s (%s)\n",
			      i, gpa, squib_strerror(w->status), w->error);
		good = false;
	}
	free(writers);
	if (writes)
		*writes = total;
	return good;
}
