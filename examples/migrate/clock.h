/* SPDX-License-Identifier: MIT */
/* CLOCK_MONOTONIC in nanoseconds, the one clock of the example. */
#ifndef SQUIB_MIGRATE_CLOCK_H
#define SQUIB_MIGRATE_CLOCK_H

#include <stdint.h>
#include <time.h>

#define NS_PER_S UINT64_C(1000000000)
#define NS_PER_MS UINT64_C(1000000)

static inline uint64_t now_ns(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

static inline double ns_to_ms(uint64_t ns)
{
	return (double)ns / 1e6;
}

#endif
