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

/* Publishes a copy of the current table with found (one of its regions)
 * replaced by updated, once the listeners accepted the change through
 * ask(); the same base and slot. */
static squib_status_t
region_update_locked(squib_mem_t *mem, const struct region *found, const struct region *updated,
		     squib_status_t (*ask)(squib_mem_t *mem, const struct region *updated,
					   const struct region *found))
{
	struct table *table = mem_table_locked(mem);
	struct table *next = table_with_update(table, found, updated, &mem->spare);
	squib_status_t status;

	if (!next)
		return squib_fail(SQUIB_E_NO_MEMORY, "cannot allocate a table of %zu regions",
				  table->count);
	status = ask(mem, updated, found);
	if (status != SQUIB_OK) {
		table_recycle(&mem->spare, next);
		return status;
	}
	mem_publish_locked(mem, next, NULL);
	return SQUIB_OK;
}

static squib_status_t ask_protect(squib_mem_t *mem, const struct region *updated,
				  const struct region *found)
{
	return listeners_protect(mem, updated, found->prot);
}

squib_status_t squib_mem_set_protection(squib_mem_t *mem, uint32_t slot, squib_prot_t prot)
{
	const struct region *found;
	struct region updated;
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
	else if (found->prot != prot) {
		updated = *found;
		updated.prot = prot;
		status = region_update_locked(mem, found, &updated, ask_protect);
	}
	mem_mutation_unlock(mem);
	return status;
}

static squib_status_t ask_dirty_log(squib_mem_t *mem, const struct region *updated,
				    const struct region *found)
{
	(void)found;
	return listeners_dirty_log(mem, updated, updated->flags & SQUIB_REGION_DIRTY_LOG);
}

/* squib_mem_set_dirty_log() with the mutex held, for a region that is not
 * in the state asked for. */
static squib_status_t set_dirty_log_locked(squib_mem_t *mem, const struct region *found,
					   bool enable)
{
	struct dirty_log *log = backing_dirty_log(found->backing, found->base, found->size);
	struct region updated = *found;
	squib_status_t status;

	if (!log)
		return squib_fail(SQUIB_E_NO_MEMORY,
				  "cannot allocate the dirty bitmap of %zu words of slot %" PRIu32,
				  dirty_words(found->base, found->size), found->slot);
	updated.flags ^= SQUIB_REGION_DIRTY_LOG;
	/* No write marks the bitmap now: the region does not log, and the
	 * switch that stopped it waited for the writes in progress. */
	if (enable)
		dirty_log_clear(log);
	status = region_update_locked(mem, found, &updated, ask_dirty_log);
	if (status != SQUIB_OK)
		return status;
	atomic_store_explicit(&log->logging, enable, memory_order_relaxed);
	/* So that the next enable starts clear: no write or unpin that saw
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
