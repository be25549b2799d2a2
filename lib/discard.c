/* SPDX-License-Identifier: MIT */
/* squib_mem_discard(): the checks; lib/backing.c gives the pages back. */
#include <inttypes.h>

#include <squib/backing.h>

#include "backing.h"
#include "dirty_log.h"
#include "error.h"
#include "mem_internal.h"

squib_status_t squib_mem_discard(squib_mem_t *mem, squib_gpa_t addr, size_t len)
{
	struct access_guard guard;
	const struct region *region;
	uint64_t page = backing_host_page(), mask;
	squib_status_t status = SQUIB_OK;

	if (!mem)
		return squib_fail(SQUIB_E_INVALID_ARGUMENT, "%s: mem is NULL", __func__);
	if ((addr.raw | len) & (page - 1))
		goto unaligned;
	/* Inside a read section for the whole call: the region's memory
	 * cannot be unmapped under the host call, even if it is removed
	 * meanwhile (the call then discards pages nobody can reach). */
	region = table_find(access_begin(mem, &guard), addr.raw, len);
	if (!region) {
		access_end(mem, &guard);
		return squib_fail(SQUIB_E_OUT_OF_RANGE,
				  "addr " SQUIB_GPA_FMT " + len %zu is not inside one region",
				  addr.raw, len);
	}
	page = region->backing->page;
	mask = page - 1;
	if ((addr.raw | len) & mask)
		status = SQUIB_E_INVALID_ARGUMENT;
	else if (len == 0)
		status = SQUIB_OK;
	else if (region->flags & SQUIB_REGION_READONLY)
		status =
		    squib_fail(SQUIB_E_READ_ONLY,
			       "addr " SQUIB_GPA_FMT " + len %zu: slot %" PRIu32 " is read-only",
			       addr.raw, len, region->slot);
	else if (!region->backing->reservation)
		status = squib_fail(SQUIB_E_UNSUPPORTED,
				    "addr " SQUIB_GPA_FMT " + len %zu: slot %" PRIu32
				    " is the caller's mapping, which the library never gives back",
				    addr.raw, len, region->slot);
	else {
		status = backing_discard(region, addr.raw - region->base, len);
		if (status == SQUIB_OK)
			region_mark_writing(region, addr.raw, len);
	}
	access_end(mem, &guard);
	if (status != SQUIB_E_INVALID_ARGUMENT)
		return status;
unaligned:
	return squib_fail(SQUIB_E_INVALID_ARGUMENT,
			  "%s: addr " SQUIB_GPA_FMT
			  " + len %zu is not aligned to the page size %" PRIu64,
			  __func__, addr.raw, len, page);
}
