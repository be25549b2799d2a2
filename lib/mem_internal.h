/* SPDX-License-Identifier: MIT */
/* Internal: the layout of squib_mem_t and the read-section helpers that
 * mem.c and access.c share. Not installed. */
#ifndef SQUIB_LIB_MEM_INTERNAL_H
#define SQUIB_LIB_MEM_INTERNAL_H

#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>

#include <squib/backing.h>
#include <squib/mem.h>

#include "epoch.h"
#include "listener.h"
#include "table.h"

/* Changes that may wait for one grace period together; see mem.c. */
#define SQUIB_RETIRED_MAX 32

/* The padding after `table` is the point: clang-analyzer's padding check
 * would pack it away. */
struct squib_mem { /* NOLINT(clang-analyzer-optin.performance.Padding) */
	/* Read by every access, written only when the table changes: alone
	 * on their cache line so that taking the writer mutex does not evict
	 * them from the readers' caches. The read fast path uses reads, the
	 * write fast path writes (the table's two indexes, see table.h), every
	 * other path the table itself. Published together, in one grace
	 * period's reach: a reader may see any mix of old and new pointers,
	 * each valid until its section ends. */
	alignas(SQUIB_CACHELINE) const struct hint_index *_Atomic reads;
	const struct hint_index *_Atomic writes;
	struct table *_Atomic table;
	/* Serialises add and remove (and the rare reader that could not
	 * register, see access_begin). */
	alignas(SQUIB_CACHELINE) pthread_mutex_t lock;
	/* Guarded by lock: what waits for the next grace period (tables
	 * replaced since the last one, which readers may still hold, and the
	 * memory of regions removed since), and a block kept for the next
	 * build. See table_replace_locked() in mem.c. */
	struct table *retired;
	struct table *spare;
	struct listener_set listeners;
	uint64_t unmap_bytes;
	size_t retired_bytes; /* capacity of the retired tables */
	unsigned retired_count;
	unsigned unmap_count;
	struct region unmaps[SQUIB_RETIRED_MAX];
};

/* How a thread is allowed to look at mem->table. */
struct access_guard {
	struct squib_reader *reader; /* NULL: holding mem->lock instead */
	uint64_t seq;
};

struct backing_request;

/* Adds a region whose arguments are checked (everything before
 * SQUIB_E_SLOT_IN_USE in the contract's order): the one path of every add. */
squib_status_t squib_mem_region_add(squib_mem_t *mem, const struct backing_request *request,
				    uint32_t slot, squib_prot_t prot);

/* The same with the mutex held. */
squib_status_t mem_region_add_locked(squib_mem_t *mem, const struct backing_request *request,
				     uint32_t slot, squib_prot_t prot);

/* squib_mem_add_region_opts()'s checks, everything before SQUIB_E_SLOT_IN_USE:
 * the request they make (opts->bytes, opts->name and the caller's mapping
 * are referred to, not copied). */
squib_status_t region_request_from_opts(const squib_region_opts_t *opts,
					struct backing_request *request);

/* With the mutex held: removes every region, in descending base order with
 * the listeners' region_del, and publishes `empty`, an empty table made
 * beforehand so that this cannot fail. */
void mem_reset_locked(squib_mem_t *mem, struct table *empty);

/* Takes the mutex of a mutation: SQUIB_E_BUSY, with the message, from
 * inside a listener callback on mem, whose thread holds it already. */
squib_status_t mem_mutation_lock(squib_mem_t *mem, const char *caller);
void mem_mutation_unlock(squib_mem_t *mem);

/* With the mutex held: the current table; publishing the next one, which
 * retires the current one with the region it drops (or NULL); and waiting
 * for a grace period now, after which no reader holds anything retired. */
struct table *mem_table_locked(const squib_mem_t *mem);
void mem_publish_locked(squib_mem_t *mem, struct table *next, const struct region *removed);
void mem_grace_period_locked(squib_mem_t *mem);

/* Fills the fields of info that fit in info->sz from region. */
void region_info_fill(squib_region_info_t *info, const struct region *region);

void squib_mem_lock_for_access(const squib_mem_t *mem);
void squib_mem_unlock_for_access(const squib_mem_t *mem);

/* Starts looking at the handle's current table, which stays valid until
 * access_end(), from any thread state (the slow paths; the access fast path
 * uses reader_enter_fast). Takes no lock and writes no shared memory unless
 * the thread cannot join the protocol. */
static inline const struct table *access_begin(const squib_mem_t *mem, struct access_guard *guard)
{
	guard->reader = reader_enter(&guard->seq);
	if (SQUIB_UNLIKELY(!guard->reader))
		squib_mem_lock_for_access(mem);
	/* seq_cst: the load a reader orders after announcing its epoch; pairs
	 * with the seq_cst store in table_replace_locked(). A plain load on x86. */
	return atomic_load_explicit(&mem->table, memory_order_seq_cst);
}

/* The index a fast read or write consults (see table.h), inside a section
 * entered with reader_enter_fast(). seq_cst, as in access_begin(): a plain
 * load on x86. */
static inline const struct hint_index *read_index(const squib_mem_t *mem)
{
	return atomic_load_explicit(&mem->reads, memory_order_seq_cst);
}

static inline const struct hint_index *write_index(const squib_mem_t *mem)
{
	return atomic_load_explicit(&mem->writes, memory_order_seq_cst);
}

static inline void access_end(const squib_mem_t *mem, struct access_guard *guard)
{
	if (SQUIB_LIKELY(guard->reader))
		reader_exit(guard->reader, guard->seq);
	else
		squib_mem_unlock_for_access(mem);
}

#endif
