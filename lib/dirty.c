/* SPDX-License-Identifier: MIT */
/* Dirty-page tracking (squib/dirty.h): reading the log and marking it by
 * hand. Switching it is in region_update.c, the marks of the library's
 * own writes in access.c, discard.c and translate.c. */
#include <inttypes.h>

#include <squib/dirty.h>

#include "backing.h"
#include "dirty_log.h"
#include "error.h"
#include "listener.h"
#include "mem_internal.h"

static squib_status_t get_dirty_log_locked(squib_mem_t *mem, uint32_t slot, uint64_t *bitmap,
					   size_t words, uint32_t flags)
{
	const struct region *found = table_find_slot(mem_table_locked(mem), slot);
	struct dirty_log *log;

	if (!found)
		return squib_fail(SQUIB_E_NOT_FOUND, "no region has slot %" PRIu32, slot);
	if (!(found->flags & SQUIB_REGION_DIRTY_LOG))
		return squib_fail(
		    SQUIB_E_UNSUPPORTED,
		    "squib_mem_get_dirty_log: slot %" PRIu32 " does not log dirty pages", slot);
	log = atomic_load_explicit(&found->backing->dirty, memory_order_relaxed);
	if (words < log->words)
		return squib_fail(SQUIB_E_NO_SPACE,
				  "squib_mem_get_dirty_log: slot %" PRIu32
				  " needs %zu bitmap words, words is %zu",
				  slot, log->words, words);
	return dirty_harvest_locked(mem, found, bitmap, flags & SQUIB_DIRTY_CLEAR);
}

squib_status_t dirty_harvest_locked(squib_mem_t *mem, const struct region *region, uint64_t *bitmap,
				    bool clear)
{
	struct dirty_log *log = atomic_load_explicit(&region->backing->dirty, memory_order_relaxed);
	squib_status_t status = listeners_log_sync(mem, region, log);

	if (status == SQUIB_OK)
		dirty_log_harvest(log, bitmap, clear);
	return status;
}

squib_status_t squib_mem_get_dirty_log(squib_mem_t *mem, uint32_t slot, uint64_t *bitmap,
				       size_t words, uint32_t flags)
{
	squib_status_t status;

	if (!mem || !bitmap)
		return squib_fail(SQUIB_E_INVALID_ARGUMENT, "%s: %s is NULL", __func__,
				  mem ? "bitmap" : "mem");
	if (flags & ~(uint32_t)SQUIB_DIRTY_CLEAR)
		return squib_fail(SQUIB_E_INVALID_ARGUMENT, "%s: unknown flags 0x%" PRIx32,
				  __func__, flags & ~(uint32_t)SQUIB_DIRTY_CLEAR);
	status = mem_mutation_lock(mem, __func__);
	if (status != SQUIB_OK)
		return status;
	status = get_dirty_log_locked(mem, slot, bitmap, words, flags);
	mem_mutation_unlock(mem);
	return status;
}

squib_status_t squib_mem_mark_dirty(squib_mem_t *mem, squib_gpa_t addr, size_t len)
{
	struct access_guard guard;
	const struct region *region;

	if (!mem)
		return squib_fail(SQUIB_E_INVALID_ARGUMENT, "%s: mem is NULL", __func__);
	region = table_find(access_begin(mem, &guard), addr.raw, len);
	if (region && len)
		region_mark_writing(region, addr.raw, len);
	access_end(mem, &guard);
	if (!region)
		return squib_fail(SQUIB_E_OUT_OF_RANGE,
				  "%s: addr " SQUIB_GPA_FMT " + len %zu is not inside one region",
				  __func__, addr.raw, len);
	return SQUIB_OK;
}
