/* SPDX-License-Identifier: MIT */
/*
 * Changes to a region in place: its recorded protection
 * (squib_mem_set_protection) and whether it logs dirty pages
 * (squib_mem_set_dirty_log). Each publishes a copy of the table with the
 * one region changed, once every listener accepted the change.
 */
#include <inttypes.h>

#include <squib/dirty.h>

#include "backing.h"
#include "dirty_log.h"
#include "error.h"
#include "listener.h"
#include "mem_internal.h"

/* The table that replaces found (one of the current table's regions) with
 * updated, the same base and slot; NULL with the message when out of
 * memory. Published once the listeners accepted the change, else given
 * to table_recycle(). */
static struct table *update_reserve(squib_mem_t *mem, const struct region *found,
				    const struct region *updated)
{
	struct table *table = mem_table_locked(mem);
	struct table *next = table_with_update(table, found, updated, &mem->spare);

	if (!next)
		(void)squib_fail(SQUIB_E_NO_MEMORY, "cannot allocate a table of %zu regions",
				 table->count);
	return next;
}

static squib_status_t set_protection_locked(squib_mem_t *mem, const struct region *found,
					    squib_prot_t prot)
{
	struct region updated = *found;
	struct table *next;
	squib_status_t status;

	updated.prot = prot;
	next = update_reserve(mem, found, &updated);
	if (!next)
		return SQUIB_E_NO_MEMORY;
	status = listeners_protect(mem, &updated, found->prot);
	if (status != SQUIB_OK) {
		table_recycle(&mem->spare, next);
		return status;
	}
	mem_publish_locked(mem, next, NULL);
	return SQUIB_OK;
}

squib_status_t squib_mem_set_protection(squib_mem_t *mem, uint32_t slot, squib_prot_t prot)
{
	const struct region *found;
	squib_status_t status;

	if (!mem)
		return squib_fail(SQUIB_E_INVALID_ARGUMENT, "%s: mem is NULL", __func__);
	if (prot & ~(squib_prot_t)SQUIB_PROT_RWX)
		return squib_fail(SQUIB_E_INVALID_ARGUMENT,
				  "%s: unknown protection bits 0x%" PRIx32, __func__,
				  prot & ~(squib_prot_t)SQUIB_PROT_RWX);
	status = mem_mutation_lock(mem, __func__);
	if (status != SQUIB_OK)
		return status;
	found = table_find_slot(mem_table_locked(mem), slot);
	if (!found)
		status = squib_fail(SQUIB_E_NOT_FOUND, "no region has slot %" PRIu32, slot);
	else if (found->prot != prot)
		status = set_protection_locked(mem, found, prot);
	mem_mutation_unlock(mem);
	return status;
}

/* squib_mem_set_dirty_log() with the mutex held, for a region that is not
 * in the state asked for. The region's first switch on makes its bitmap,
 * which the backing keeps from then on: a write that found the region in
 * an old table, or an unpin, may still reach it. */
static squib_status_t set_dirty_log_locked(squib_mem_t *mem, const struct region *found,
					   bool enable)
{
	struct backing *backing = found->backing;
	struct dirty_log *log = atomic_load_explicit(&backing->dirty, memory_order_relaxed);
	struct dirty_log *made = NULL;
	struct region updated = *found;
	struct table *next;
	squib_status_t status;

	if (!log) {
		log = made = dirty_log_new(found->base, found->size);
		if (!log)
			return squib_fail(SQUIB_E_NO_MEMORY,
					  "cannot allocate the dirty bitmap of %zu words of slot "
					  "%" PRIu32,
					  dirty_words(found->base, found->size), found->slot);
	}
	updated.flags ^= SQUIB_REGION_DIRTY_LOG;
	next = update_reserve(mem, found, &updated);
	if (!next) {
		dirty_log_free(made);
		return SQUIB_E_NO_MEMORY;
	}
	status = listeners_dirty_log(mem, &updated, enable);
	if (status != SQUIB_OK) {
		table_recycle(&mem->spare, next);
		dirty_log_free(made);
		return status;
	}
	/* No write marks the bitmap now: the region does not log, and the
	 * switch that stopped it waited for the writes in progress. */
	if (enable)
		dirty_log_clear(log);
	/* Release: whoever finds the region logging finds its bitmap. */
	if (made)
		atomic_store_explicit(&backing->dirty, made, memory_order_release);
	atomic_store_explicit(&log->logging, enable, memory_order_relaxed);
	mem_publish_locked(mem, next, NULL);
	/* So that the next switch on starts clear: no write or unpin that saw
	 * the region logging is still marking. */
	if (!enable)
		mem_grace_period_locked(mem);
	return SQUIB_OK;
}

squib_status_t squib_mem_set_dirty_log(squib_mem_t *mem, uint32_t slot, bool enable)
{
	const struct region *found;
	squib_status_t status;

	if (!mem)
		return squib_fail(SQUIB_E_INVALID_ARGUMENT, "%s: mem is NULL", __func__);
	status = mem_mutation_lock(mem, __func__);
	if (status != SQUIB_OK)
		return status;
	found = table_find_slot(mem_table_locked(mem), slot);
	if (!found)
		status = squib_fail(SQUIB_E_NOT_FOUND, "no region has slot %" PRIu32, slot);
	else if (!(found->flags & SQUIB_REGION_DIRTY_LOG) == enable)
		status = set_dirty_log_locked(mem, found, enable);
	mem_mutation_unlock(mem);
	return status;
}
