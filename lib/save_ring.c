/* SPDX-License-Identifier: MIT */
#include "save_ring.h"

int save_ring_init(struct save_ring *ring)
{
	int err;

	*ring = (struct save_ring){.published = 0};
	err = pthread_mutex_init(&ring->lock, NULL);
	if (err)
		return err;
	err = pthread_cond_init(&ring->changed, NULL);
	if (err)
		pthread_mutex_destroy(&ring->lock);
	return err;
}

void save_ring_destroy(struct save_ring *ring)
{
	pthread_cond_destroy(&ring->changed);
	pthread_mutex_destroy(&ring->lock);
}

/* Both sides wait on one condition: the producer only while every slot
 * but its own is with the consumer, the consumer only while it has all it
 * was given, never both at once with more than one slot. */
static void wake_and_unlock(struct save_ring *ring)
{
	pthread_cond_broadcast(&ring->changed);
	pthread_mutex_unlock(&ring->lock);
}

int save_ring_publish(struct save_ring *ring)
{
	int next = -1;

	pthread_mutex_lock(&ring->lock);
	ring->published++;
	pthread_cond_broadcast(&ring->changed);
	/* The slot after it is free once fewer than all are out. */
	while (!ring->stopped && ring->published - ring->released >= SAVE_RING_SLOTS)
		pthread_cond_wait(&ring->changed, &ring->lock);
	if (!ring->stopped)
		next = (int)(ring->published % SAVE_RING_SLOTS);
	pthread_mutex_unlock(&ring->lock);
	return next;
}

void save_ring_finish(struct save_ring *ring)
{
	pthread_mutex_lock(&ring->lock);
	ring->finished = true;
	wake_and_unlock(ring);
}

int save_ring_take(struct save_ring *ring)
{
	int slot = -1;

	pthread_mutex_lock(&ring->lock);
	while (ring->released == ring->published && !ring->finished)
		pthread_cond_wait(&ring->changed, &ring->lock);
	if (ring->released < ring->published)
		slot = (int)(ring->released % SAVE_RING_SLOTS);
	pthread_mutex_unlock(&ring->lock);
	return slot;
}

void save_ring_release(struct save_ring *ring)
{
	pthread_mutex_lock(&ring->lock);
	ring->released++;
	wake_and_unlock(ring);
}

void save_ring_stop(struct save_ring *ring)
{
	pthread_mutex_lock(&ring->lock);
	ring->stopped = true;
	wake_and_unlock(ring);
}
