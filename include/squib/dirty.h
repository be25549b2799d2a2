/* SPDX-License-Identifier: MIT */
/**
 * @file squib/dirty.h
 * @brief Dirty-page tracking for live migration and incremental snapshots.
 *
 * A region that logs keeps a bitmap in KVM's layout: bit (i % 64) of word
 * i / 64 stands for the 4 KiB guest page align_down(base, 4096) + i * 4096
 * of the region, so a region needs ceil(pages / 64) words, where pages
 * counts the 4 KiB pages it touches (an unaligned base or end touches a
 * page partly).
 *
 * A page is dirty once any library write touched it since logging was
 * enabled or its bit was last cleared: squib_mem_write(), the typed writes,
 * the release stores, squib_mem_discard(), squib_mem_mark_dirty(), the
 * unpin of a pin taken with SQUIB_PROT_WRITE, or a listener's log_sync
 * (the hypervisor's own log). Reads never mark. Writes through host
 * pointers (squib/translate.h) are invisible to the library: mark them.
 *
 * A region that does not log pays nothing for this on any write path.
 *
 * Since 0.3 (every declaration of this header).
 */
#ifndef SQUIB_DIRTY_H
#define SQUIB_DIRTY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <squib/addr.h>
#include <squib/error.h>
#include <squib/export.h>
#include <squib/mem.h>

SQUIB_BEGIN_DECLS

/** The guest page size of the dirty bitmaps, whatever the host's. */
#define SQUIB_DIRTY_PAGE_SIZE 4096

/** squib_mem_get_dirty_log(): clear what is returned, atomically. */
#define SQUIB_DIRTY_CLEAR 0x1

/**
 * Switches dirty logging of the region with slot @p slot on or off, after
 * every listener's dirty_log accepted it (a refusal undoes the listeners
 * already called). Logging starts with every bit clear. Asking for the
 * state the region is in succeeds and calls nobody. Switching off waits
 * until no write in progress can still mark the bitmap.
 *
 * @return SQUIB_OK; SQUIB_E_INVALID_ARGUMENT for a NULL @p mem;
 *         SQUIB_E_NOT_FOUND; SQUIB_E_NO_MEMORY for a bitmap or table that
 *         cannot be allocated; SQUIB_E_BUSY from inside a listener
 *         callback on @p mem; or a listener's status.
 * Thread-safety: safe against every call on @p mem but squib_mem_free();
 * serialised with the other mutations.
 */
SQUIB_NODISCARD SQUIB_API squib_status_t squib_mem_set_dirty_log(squib_mem_t *mem, uint32_t slot,
								 bool enable);

/**
 * Copies the dirty bitmap of the region with slot @p slot into
 * @p bitmap[0, needed) (needed as above; the words past those are not
 * touched), after running every listener's log_sync and keeping what they
 * report. With SQUIB_DIRTY_CLEAR the bits returned are cleared in the same
 * atomic step: a write that races with the call is reported by this call
 * or by the next, never lost.
 *
 * @return SQUIB_OK; SQUIB_E_INVALID_ARGUMENT for a NULL @p mem or
 *         @p bitmap, or unknown @p flags; SQUIB_E_NOT_FOUND;
 *         SQUIB_E_UNSUPPORTED when the region does not log;
 *         SQUIB_E_NO_SPACE when @p words is below what the region needs;
 *         SQUIB_E_BUSY from inside a listener callback on @p mem; or a
 *         listener's log_sync status (then @p bitmap is not written and
 *         nothing is cleared).
 * Thread-safety: as squib_mem_set_dirty_log(); writes on other threads go
 * on meanwhile.
 */
SQUIB_NODISCARD SQUIB_API squib_status_t squib_mem_get_dirty_log(squib_mem_t *mem, uint32_t slot,
								 uint64_t *bitmap, size_t words,
								 uint32_t flags);

/**
 * Marks the pages [addr, addr + len) touches as dirty, for writes the
 * library did not see (through host pointers, by DMA of a vhost-user
 * back-end). The range must lie inside one region; in a region that does
 * not log this succeeds and does nothing. @p len 0 succeeds where an empty
 * access does, and marks nothing.
 *
 * @return SQUIB_OK; SQUIB_E_INVALID_ARGUMENT for a NULL @p mem;
 *         SQUIB_E_OUT_OF_RANGE when not inside one region.
 * Thread-safety: lock-free, as squib_mem_write().
 */
SQUIB_NODISCARD SQUIB_API squib_status_t squib_mem_mark_dirty(squib_mem_t *mem, squib_gpa_t addr,
							      size_t len);

SQUIB_END_DECLS

#endif /* SQUIB_DIRTY_H */
