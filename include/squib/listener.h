/* SPDX-License-Identifier: MIT */
/**
 * @file squib/listener.h
 * @brief Listeners: how a hypervisor backend plugin mirrors the memory map
 *        (KVM memory slots, hv_vm_map) and feeds back its dirty log.
 *
 * A listener is a set of callbacks the library calls as the map changes.
 * Unlike QEMU's MemoryListener, a listener may refuse a change: the
 * mutating call then undoes what the listeners before it did, changes
 * nothing and returns the listener's status. squib_last_error() then names
 * the listener (its id), the callback, the region and the status.
 *
 * Every callback runs with the handle's mutations held off: callbacks are
 * serialised with each other and with add, remove, set_protection,
 * set_dirty_log, get_dirty_log and listener add/remove on the same handle.
 * Accesses are never blocked by them. From inside a callback a thread may
 * read, write, translate, pin, mark dirty, find and iterate the handle and
 * move its memory to and from fds; a mutating call
 * on the same handle returns SQUIB_E_BUSY (it never deadlocks). The @p info
 * a callback receives, and everything it points to, is valid for the call
 * only.
 *
 * squib_mem_free() calls no listener: remove a listener first if it must
 * see the regions go.
 *
 * Since 0.3 (every declaration of this header).
 */
#ifndef SQUIB_LISTENER_H
#define SQUIB_LISTENER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <squib/error.h>
#include <squib/export.h>
#include <squib/mem.h>
#include <squib/prot.h>

SQUIB_BEGIN_DECLS

/**
 * The callbacks of a listener. A size-first struct: start from
 * SQUIB_LISTENER_INIT, which sets @c sz and zeroes the rest. Any callback
 * may be NULL (it then accepts every change). A callback that returns
 * non-zero refuses: a negative squib_status_t is returned by the mutating
 * call as it is, any other non-zero value as SQUIB_E_BUSY.
 */
typedef struct squib_listener {
	size_t sz; /**< sizeof(squib_listener_t) */
	void *ctx; /**< passed to every callback */
	/** A region is being added (or, from squib_mem_listener_add(), is
	 *  there already). Called once its memory is ready, before any access
	 *  can see it. */
	squib_status_t (*region_add)(void *ctx, const squib_region_info_t *info);
	/** A region is gone for new accesses (or the listener is being
	 *  removed). Its memory stays mapped until the call returns. Cannot
	 *  refuse. */
	void (*region_del)(void *ctx, const squib_region_info_t *info);
	/** The region's recorded protection changes from @p old_prot to
	 *  info->prot (squib_mem_set_protection()); also called with the
	 *  states swapped to undo an accepted change another listener
	 *  refused. */
	squib_status_t (*protect)(void *ctx, const squib_region_info_t *info,
				  squib_prot_t old_prot);
	/** Dirty logging of the region is being switched on (@p enable true)
	 *  or off; info->flags shows SQUIB_REGION_DIRTY_LOG as it is about to
	 *  be. Also called with the old state to undo an accepted change
	 *  another listener refused. */
	squib_status_t (*dirty_log)(void *ctx, const squib_region_info_t *info, bool enable);
	/** squib_mem_get_dirty_log() of a logging region: OR into @p bitmap
	 *  (@p words long, zeroed by the library, layout of squib/dirty.h)
	 *  the pages the guest wrote since the last sync. What it reports is
	 *  kept even when it refuses (so that a harvested hypervisor log is
	 *  never lost); the call then fails and the pages are reported by a
	 *  later one. */
	squib_status_t (*log_sync)(void *ctx, const squib_region_info_t *info, uint64_t *bitmap,
				   size_t words);
} squib_listener_t;

/** Initialiser for a squib_listener_t, in C and in C++: sets @c sz and
 *  zeroes the rest. */
/* clang-format off */
#ifdef __cplusplus
#define SQUIB_LISTENER_INIT {sizeof(squib_listener_t), nullptr, nullptr, nullptr, nullptr, nullptr, nullptr}
#else
#define SQUIB_LISTENER_INIT {.sz = sizeof(squib_listener_t)}
#endif
/* clang-format on */

/**
 * Registers a copy of @p listener, replaying region_add for every current
 * region in ascending base order. If one refuses, those it accepted get
 * region_del in reverse order, the listener is not added and its status is
 * returned.
 *
 * Later listeners are called after earlier ones (registration order) for
 * region_add, protect and dirty_log; before them for region_del.
 *
 * @return SQUIB_OK with *id set (an id never reused within the process);
 *         SQUIB_E_INVALID_ARGUMENT for a NULL @p mem, @p listener or @p id,
 *         or a @c sz smaller than this layout; SQUIB_E_UNSUPPORTED for a
 *         larger @c sz with a non-zero byte past this layout;
 *         SQUIB_E_BUSY from inside a callback on @p mem; SQUIB_E_NO_MEMORY;
 *         or the status of the refusing region_add.
 * Thread-safety: safe against every call on @p mem but squib_mem_free().
 */
SQUIB_NODISCARD SQUIB_API squib_status_t squib_mem_listener_add(squib_mem_t *mem,
								const squib_listener_t *listener,
								uint64_t *id);

/**
 * Calls region_del of the listener @p id for every current region, in
 * descending base order, then forgets it: no callback of it runs once this
 * returns.
 *
 * @return SQUIB_OK; SQUIB_E_INVALID_ARGUMENT for a NULL @p mem;
 *         SQUIB_E_NOT_FOUND for an id this handle does not have;
 *         SQUIB_E_BUSY from inside a callback on @p mem.
 * Thread-safety: as squib_mem_listener_add().
 */
SQUIB_NODISCARD SQUIB_API squib_status_t squib_mem_listener_remove(squib_mem_t *mem, uint64_t id);

SQUIB_END_DECLS

#endif /* SQUIB_LISTENER_H */
