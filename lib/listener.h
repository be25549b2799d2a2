/* SPDX-License-Identifier: MIT */
/*
 * Internal: a handle's listeners (squib/listener.h) and the calls into
 * them.
 *
 * The set is guarded by the handle's mutex, and every callback runs with
 * it held: that is what serialises callbacks with each other and with the
 * mutations. A thread inside a callback is recorded in a thread-local
 * chain of frames (one per callback running on the thread, nested when a
 * callback mutates another handle), so that a mutation of the same handle
 * from inside fails with SQUIB_E_BUSY instead of taking the mutex twice,
 * and the rare access that must take the mutex (access_begin) knows the
 * thread holds it already. Not installed.
 */
#ifndef SQUIB_LIB_LISTENER_H
#define SQUIB_LIB_LISTENER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <squib/listener.h>

struct dirty_log;
struct region;

struct listener_entry {
	uint64_t id;
	squib_listener_t callbacks; /* the caller's struct, copied */
};

/* Registration order. */
struct listener_set {
	struct listener_entry *entries;
	size_t count;
	size_t capacity;
};

void listener_set_free(struct listener_set *set);

/* Whether the calling thread is inside a listener callback of mem. */
bool listener_running_on(const squib_mem_t *mem);

/*
 * The calls a mutation makes, with mem's mutex held. Each refusal is
 * rolled back in reverse order before the status is returned, with the
 * message naming the listener, the callback, the region and the status.
 */

/* region_add of every listener, in registration order, for a region the
 * table does not hold yet. */
squib_status_t listeners_region_add(squib_mem_t *mem, const struct region *region);

/* region_del of every listener, in reverse registration order. */
void listeners_region_del(squib_mem_t *mem, const struct region *region);

/* protect of every listener: region as it is about to be, old_prot as it
 * was. */
squib_status_t listeners_protect(squib_mem_t *mem, const struct region *region,
				 squib_prot_t old_prot);

/* dirty_log of every listener: region with the flags it is about to have. */
squib_status_t listeners_dirty_log(squib_mem_t *mem, const struct region *region, bool enable);

/* log_sync of every listener, each report merged into log at once, so that
 * what the hypervisor handed over is kept even when a later one refuses. */
squib_status_t listeners_log_sync(squib_mem_t *mem, const struct region *region,
				  struct dirty_log *log);

#endif
