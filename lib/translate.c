/* SPDX-License-Identifier: MIT */
/*
 * Host translation for devices (squib/translate.h): one region's host
 * range, a guest buffer split over GPA-adjacent regions, and pins.
 *
 * A translation walks the table in a read section: the region holding the
 * start, then each next one in base order while it begins exactly where
 * the last ended, until the range is covered. It is checked whole before
 * anything is written, so a failure leaves the caller's array alone. A pin
 * also takes a reference on each region's backing inside the section,
 * where no backing can be given back yet; the memory then outlives any
 * removal until the pin lets go (lib/backing.h).
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>

#include <squib/backing.h>
#include <squib/translate.h>

#include "backing.h"
#include "compiler.h"
#include "dirty_log.h"
#include "error.h"
#include "host.h"
#include "mem_internal.h"

/* What a pin keeps of each region it touches: the memory, and for a pin
 * taken for writing the guest range to mark dirty when it is let go. */
struct pin_piece {
	struct backing *backing;
	uint64_t addr;
	uint64_t len;
};

struct squib_pin {
	size_t count;
	bool written; /* taken with SQUIB_PROT_WRITE */
	struct pin_piece pieces[];
};

static squib_status_t check_access(squib_prot_t access, const char *caller)
{
	if (access == 0 || (access & ~(squib_prot_t)SQUIB_PROT_RW))
		return squib_fail(SQUIB_E_INVALID_ARGUMENT,
				  "%s: access 0x%" PRIx32
				  " is not SQUIB_PROT_READ, SQUIB_PROT_WRITE or both",
				  caller, access);
	return SQUIB_OK;
}

SQUIB_COLD static squib_status_t fail_read_only(uint64_t addr, uint64_t len, uint32_t slot)
{
	return squib_fail(SQUIB_E_READ_ONLY,
			  "addr " SQUIB_GPA_FMT " + len %" PRIu64 ": slot %" PRIu32
			  " is read-only, asked for writing",
			  addr, len, slot);
}

SQUIB_COLD static squib_status_t fail_out_of_range(uint64_t addr, uint64_t len, const char *why)
{
	return squib_fail(SQUIB_E_OUT_OF_RANGE, "addr " SQUIB_GPA_FMT " + len %" PRIu64 " %s", addr,
			  len, why);
}

/* The fast path of squib_mem_translate() and squib_mem_host_range(): the
 * host address of [addr, addr + len) when its hint settles it (one region;
 * for writing, from the write index, which holds no read-only region). */
static inline bool translate_fast(const squib_mem_t *mem, uint64_t addr, uint64_t len,
				  squib_prot_t access, uint8_t **host)
{
	struct squib_reader *reader = &squib_reader_self;
	bool settled = false;
	uint64_t seq;

	if (SQUIB_LIKELY(reader_enter_fast(reader, &seq))) {
		const struct hint_index *index =
		    access & SQUIB_PROT_WRITE ? write_index(mem) : read_index(mem);
		const struct hint *hint = index_hint(index, addr);

		settled = hint_holds(hint, addr, len);
		if (SQUIB_LIKELY(settled))
			*host = hint->host + (addr - hint->base);
		reader_exit_fast(reader, seq);
	}
	return settled;
}

/* The whole of squib_mem_host_range(), for what its fast path leaves. */
SQUIB_COLD static squib_status_t host_range_slow(const squib_mem_t *mem, uint64_t addr, size_t len,
						 squib_prot_t access, void **host)
{
	struct access_guard guard;
	const struct region *region;
	squib_status_t status;
	uint64_t end;

	if (!mem || !host)
		return squib_fail(SQUIB_E_INVALID_ARGUMENT, "squib_mem_host_range: %s is NULL",
				  mem ? "host" : "mem");
	status = check_access(access, "squib_mem_host_range");
	if (status != SQUIB_OK)
		return status;
	region = table_find(access_begin(mem, &guard), addr, len);
	if (!region)
		status = __builtin_add_overflow(addr, len, &end)
			     ? fail_out_of_range(addr, len, "overflows the guest address space")
			     : fail_out_of_range(addr, len, "is not inside one region");
	else if (len && (access & SQUIB_PROT_WRITE) && (region->flags & SQUIB_REGION_READONLY))
		status = fail_read_only(addr, len, region->slot); /* empty: nothing to write */
	else
		*host = region->host + (addr - region->base);
	access_end(mem, &guard);
	return status;
}

/* A fast path as squib_mem_read()'s (lib/access.c). */
squib_status_t squib_mem_host_range(const squib_mem_t *mem, squib_gpa_t addr, size_t len,
				    squib_prot_t access, void **host)
{
	uint8_t *found;

	if (SQUIB_LIKELY(mem && host && access && !(access & ~(squib_prot_t)SQUIB_PROT_RW) &&
			 translate_fast(mem, addr.raw, len, access, &found))) {
		*host = found;
		return SQUIB_OK;
	}
	return host_range_slow(mem, addr.raw, len, access, host);
}

/*
 * Checks [addr, addr + len) against the table: the regions it touches are
 * regions[first, first + *count), each beginning where the one before ends.
 * len > 0.
 */
static squib_status_t walk(const struct table *table, uint64_t addr, uint64_t len,
			   squib_prot_t access, size_t *first, size_t *count)
{
	const struct region *region = table_search(table, addr), *regions = table->regions;
	const struct region *read_only = NULL;
	uint64_t end;
	size_t start, at;

	if (__builtin_add_overflow(addr, len, &end))
		return fail_out_of_range(addr, len, "overflows the guest address space");
	if (!region || addr - region->base >= region->size)
		return fail_out_of_range(addr, len, "starts in no region");
	start = at = (size_t)(region - regions);
	for (;;) {
		region = &regions[at];
		if (!read_only && (region->flags & SQUIB_REGION_READONLY))
			read_only = region;
		uint64_t covered = region->base + region->size;

		if (end <= covered)
			break;
		if (at + 1 == table->count || regions[at + 1].base != covered)
			return fail_out_of_range(addr, len, "runs into a hole");
		at++;
	}
	/* The range is whole: only now does what it is for matter. */
	if (read_only && (access & SQUIB_PROT_WRITE))
		return fail_read_only(addr, len, read_only->slot);
	*first = start;
	*count = at - start + 1;
	return SQUIB_OK;
}

static void fill(const struct table *table, uint64_t addr, uint64_t len, size_t first, size_t count,
		 struct iovec *iov)
{
	for (size_t i = 0; i < count; i++) {
		const struct region *region = &table->regions[first + i];
		uint64_t offset = addr - region->base, room = region->size - offset;
		uint64_t part = len < room ? len : room;

		iov[i].iov_base = region->host + offset;
		iov[i].iov_len = (size_t)part;
		addr += part;
		len -= part;
	}
}

static squib_status_t check_iov_arguments(const squib_mem_t *mem, const struct iovec *iov,
					  size_t iov_cap, const size_t *iov_used,
					  squib_prot_t access, const char *caller)
{
	if (!mem || !iov_used || (!iov && iov_cap))
		return squib_fail(SQUIB_E_INVALID_ARGUMENT, "%s: %s is NULL%s", caller,
				  !mem	      ? "mem"
				  : !iov_used ? "iov_used"
					      : "iov",
				  !mem || !iov_used ? "" : " with iov_cap > 0");
	return check_access(access, caller);
}

/* An empty translation succeeds where an empty access does. */
static squib_status_t check_empty(const struct table *table, uint64_t addr)
{
	if (!table_find(table, addr, 0))
		return fail_out_of_range(addr, 0, "is not inside one region");
	return SQUIB_OK;
}

static squib_status_t check_space(size_t count, size_t iov_cap, uint64_t addr, uint64_t len)
{
	if (count > iov_cap)
		return squib_fail(SQUIB_E_NO_SPACE,
				  "addr " SQUIB_GPA_FMT " + len %" PRIu64
				  " spans %zu regions, iov_cap is %zu",
				  addr, len, count, iov_cap);
	return SQUIB_OK;
}

squib_status_t squib_mem_translate(const squib_mem_t *mem, squib_gpa_t addr, size_t len,
				   squib_prot_t access, struct iovec *iov, size_t iov_cap,
				   size_t *iov_used)
{
	struct access_guard guard;
	const struct table *table;
	size_t first = 0, count = 0;
	squib_status_t status = check_iov_arguments(mem, iov, iov_cap, iov_used, access, __func__);
	uint8_t *host;

	if (status != SQUIB_OK)
		return status;
	/* One region, the common case, without the walk. */
	if (SQUIB_LIKELY(len && iov_cap && translate_fast(mem, addr.raw, len, access, &host))) {
		iov[0].iov_base = host;
		iov[0].iov_len = len;
		*iov_used = 1;
		return SQUIB_OK;
	}
	table = access_begin(mem, &guard);
	if (len == 0)
		status = check_empty(table, addr.raw);
	else
		status = walk(table, addr.raw, len, access, &first, &count);
	if (status == SQUIB_OK)
		status = check_space(count, iov_cap, addr.raw, len);
	if (status == SQUIB_OK) {
		fill(table, addr.raw, len, first, count, iov);
		*iov_used = count;
	}
	access_end(mem, &guard);
	return status;
}

squib_status_t squib_mem_pin(squib_mem_t *mem, squib_gpa_t addr, size_t len, squib_prot_t access,
			     struct iovec *iov, size_t iov_cap, size_t *iov_used, squib_pin_t **pin)
{
	struct access_guard guard;
	const struct table *table;
	struct squib_pin *made = NULL;
	size_t first = 0, count = 0;
	squib_status_t status = check_iov_arguments(mem, iov, iov_cap, iov_used, access, __func__);

	if (status != SQUIB_OK)
		return status;
	if (!pin)
		return squib_fail(SQUIB_E_INVALID_ARGUMENT, "%s: pin is NULL", __func__);
	table = access_begin(mem, &guard);
	if (len == 0)
		status = check_empty(table, addr.raw);
	else
		status = walk(table, addr.raw, len, access, &first, &count);
	if (status == SQUIB_OK)
		status = check_space(count, iov_cap, addr.raw, len);
	if (status == SQUIB_OK)
		/* count <= iov_cap iovecs the caller has room for: no overflow. */
		made = squib_host_alloc(sizeof(*made) + count * sizeof(made->pieces[0]));
	if (made) {
		uint64_t at = addr.raw;

		made->count = count;
		made->written = access & SQUIB_PROT_WRITE;
		fill(table, addr.raw, len, first, count, iov);
		for (size_t i = 0; i < count; i++) {
			made->pieces[i] = (struct pin_piece){
			    .backing = table->regions[first + i].backing,
			    .addr = at,
			    .len = iov[i].iov_len,
			};
			at += iov[i].iov_len;
			backing_get(made->pieces[i].backing);
		}
		*iov_used = count;
		*pin = made;
	} else if (status == SQUIB_OK) {
		status =
		    squib_fail(SQUIB_E_NO_MEMORY, "cannot allocate a pin of %zu regions", count);
	}
	access_end(mem, &guard);
	return status;
}

void squib_mem_unpin(squib_pin_t *pin)
{
	if (!pin)
		return;
	/* The writes through a pin are done when it is let go. Without a
	 * handle: the log belongs to the backing the pin holds, handle freed
	 * or not. */
	for (size_t i = 0; i < pin->count; i++) {
		if (pin->written)
			backing_mark_written(pin->pieces[i].backing, pin->pieces[i].addr,
					     pin->pieces[i].len);
		backing_put(pin->pieces[i].backing);
	}
	squib_host_free(pin);
}
