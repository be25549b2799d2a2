/* SPDX-License-Identifier: MIT */
/*
 * The guest's "vCPUs" while it migrates: threads that each write a
 * counter-tagged u64 into a random RAM page through
 * squib_mem_write_u64_le(), at a steady, limited rate, so that the dirty
 * set of a round stays below what a round can send and the rounds converge.
 */
#ifndef SQUIB_MIGRATE_WRITERS_H
#define SQUIB_MIGRATE_WRITERS_H

#include <stdbool.h>
#include <stdint.h>

#include <squib/core.h>

struct writers;

/* Starts @p count threads writing @p rate times a second in all. */
struct writers *writers_start(squib_mem_t *mem, unsigned count, uint64_t rate);

/* Tells the threads to stop, without waiting: the guest is paused. */
void writers_pause(struct writers *writers);

/* Joins the threads and frees @p writers; *writes is how many writes they
 * made in all. False if any write failed (printed). */
bool writers_join(struct writers *writers, uint64_t *writes);

#endif
