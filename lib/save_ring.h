/* SPDX-License-Identifier: MIT */
/*
 * Internal: the hand-off between a save's helper thread, which copies runs
 * of guest pages into buffers, and the calling thread, which writes them
 * out in the order they were filled (lib/snapshot_save.c). A bounded queue
 * of SAVE_RING_SLOTS slots with one producer and one consumer; it keeps
 * only the counts, the caller keeps the slots, indexed as it returns them.
 *
 * The producer always holds one slot, the one it fills: slot 0 at first,
 * then each index save_ring_publish() returns. The consumer holds at most
 * one, from save_ring_take() to save_ring_release().
 */
#ifndef SQUIB_LIB_SAVE_RING_H
#define SQUIB_LIB_SAVE_RING_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define SAVE_RING_SLOTS 4u

struct save_ring {
	pthread_mutex_t lock;
	pthread_cond_t changed; /* any of the four below moved */
	uint64_t published;	/* slots the producer handed over, ever */
	uint64_t released;	/* slots the consumer gave back, ever */
	bool finished;		/* the producer will publish no more */
	bool stopped;		/* the consumer will take no more */
};

/* 0, or the errno of the failure. */
int save_ring_init(struct save_ring *ring);
void save_ring_destroy(struct save_ring *ring);

/* Producer: hands over the slot it fills and waits until the next one is
 * free; that one's index, or -1 once the consumer has stopped. */
int save_ring_publish(struct save_ring *ring);
/* Producer: there is no more (the slot it holds is not handed over). */
void save_ring_finish(struct save_ring *ring);

/* Consumer: waits for the next slot in order; its index, or -1 when the
 * producer has finished and every slot it handed over was taken. */
int save_ring_take(struct save_ring *ring);
/* Consumer: gives back the slot it took. */
void save_ring_release(struct save_ring *ring);
/* Consumer: takes no more; the producer's next publish returns -1. */
void save_ring_stop(struct save_ring *ring);

#endif
