/* SPDX-License-Identifier: MIT */
/*
 * Internal: the dirty bitmap of one region (squib/dirty.h), in KVM's
 * layout.
 *
 * A log belongs to a region's backing: made when the region first logs,
 * given back with the backing, so that a write that found the region in an
 * old table, or a pin's unpin after the region's removal, can always reach
 * it. Whether the region logs is decided by its flags in the table (what
 * writes look at) and mirrored in `logging` (what unpins look at, having no
 * table).
 *
 * There are two bitmaps, one active. A write marks the active one before
 * it stores its data, inside its read section (or under the handle's
 * mutex), and only when the bits are not set already: a plain load, and a
 * locked or only for the first write to a page since the last harvest, so
 * that the store of a write that misses the cache is not held up by a
 * locked instruction behind it. A harvest that clears makes the other
 * bitmap active, waits for a grace period, and only then takes the old
 * one: every write whose mark it takes has finished storing by then, and
 * the caller, which copies the pages afterwards, sees its data. A mark
 * made after the switch is in the new bitmap, for the next harvest. That
 * is the whole of "never lose a racing write". Not installed.
 */
#ifndef SQUIB_LIB_DIRTY_LOG_H
#define SQUIB_LIB_DIRTY_LOG_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <squib/dirty.h>

#include "backing.h"
#include "table.h"

#define DIRTY_PAGE_SHIFT 12

struct dirty_log {
	uint64_t first_page; /* align_down(base, 4096) / 4096 */
	size_t words;	     /* ceil(pages the region touches / 64) */
	_Atomic bool logging;
	_Atomic unsigned active; /* which of bits[] writes mark */
	/* The inactive one is all zeros between harvests, but for the marks
	 * of a thread outside the epoch protocol, which go into both. */
	_Atomic uint64_t *bits[2];
	/* words zeroed words for the listeners' log_sync: used only under the
	 * handle's mutex, allocated with the log so that a harvest never
	 * fails for memory. */
	uint64_t *sync;
	_Atomic uint64_t storage[]; /* both bitmaps */
};

/* Words of the bitmap of [base, base + size), size > 0. */
static inline size_t dirty_words(uint64_t base, uint64_t size)
{
	uint64_t pages = ((base + (size - 1)) >> DIRTY_PAGE_SHIFT) - (base >> DIRTY_PAGE_SHIFT) + 1;

	return (size_t)((pages + 63) / 64);
}

/* A clear log for a region of [base, base + size), not logging; NULL when
 * out of memory. */
struct dirty_log *dirty_log_new(uint64_t base, uint64_t size);
void dirty_log_free(struct dirty_log *log);

/* The bitmap writes mark now. seq_cst, as the table pointer: pairs with the
 * switch in dirty_log_harvest() (a plain load on x86). */
static inline _Atomic uint64_t *dirty_log_active(struct dirty_log *log)
{
	return log->bits[atomic_load_explicit(&log->active, memory_order_seq_cst) & 1u];
}

/* dirty_log_mark() of a write that touches more than one page. */
void dirty_log_mark_span(struct dirty_log *log, uint64_t addr, uint64_t len);

/* Marks the pages [addr, addr + len) touches; len > 0, inside the region.
 * From inside a read section, before the write's data is stored, or with
 * the handle's mutex held (see the top). A write within one page, nearly
 * every write of the access path, is marked here, inline. */
static inline void dirty_log_mark(struct dirty_log *log, uint64_t addr, uint64_t len)
{
	_Atomic uint64_t *word;
	uint64_t page, bit;

	if ((addr ^ (addr + (len - 1))) >> DIRTY_PAGE_SHIFT) {
		dirty_log_mark_span(log, addr, len);
		return;
	}
	page = (addr >> DIRTY_PAGE_SHIFT) - log->first_page;
	bit = (uint64_t)1 << (page % 64);
	word = dirty_log_active(log) + page / 64;
	/* Relaxed: the harvest's grace period orders the data. */
	if (!(atomic_load_explicit(word, memory_order_relaxed) & bit))
		atomic_fetch_or_explicit(word, bit, memory_order_relaxed);
}

/* Clears every bit (no write may be marking it). */
void dirty_log_clear(struct dirty_log *log);

/* ORs log->sync into the bitmap and zeroes log->sync again. */
void dirty_log_merge_sync(struct dirty_log *log);

/* Copies the bitmap to out[0, words); with clear, takes the bits copied,
 * after a grace period. With the handle's mutex held. */
void dirty_log_harvest(struct dirty_log *log, uint64_t *out, bool clear);

/* ORs bits[0, words) back in: what a harvest took that was not used after
 * all (a save that failed). */
void dirty_log_restore(struct dirty_log *log, const uint64_t *bits);

struct squib_mem;

/* With the handle's mutex held, for a region that logs: the listeners'
 * log_sync merged, then the bitmap copied to bitmap (the log's words),
 * cleared with clear. */
squib_status_t dirty_harvest_locked(struct squib_mem *mem, const struct region *region,
				    uint64_t *bitmap, bool clear);

/* Marks [addr, addr + len), len > 0, where the region of a backing held by
 * a reference (a pin, a transfer) logs now: for writes made outside any
 * read section. Enters one itself, so that a switch that stops the region
 * logging, which waits for a grace period, knows the mark is done before
 * the next switch clears the bitmap. */
void backing_mark_written(struct backing *backing, uint64_t addr, uint64_t len);

/* For a library write of len > 0 bytes at addr into region, found in a
 * read section that the write has not left (or with the handle's mutex
 * held): marks them where the region logs. Best before the data is stored
 * (see the top); after it, inside the same section, is as correct. */
static inline void region_mark_writing(const struct region *region, uint64_t addr, uint64_t len)
{
	if (region->flags & SQUIB_REGION_DIRTY_LOG)
		dirty_log_mark(atomic_load_explicit(&region->backing->dirty, memory_order_acquire),
			       addr, len);
}

#endif
