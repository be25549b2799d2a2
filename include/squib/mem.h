/* SPDX-License-Identifier: MIT */
/**
 * @file squib/mem.h
 * @brief The guest-memory handle and its regions.
 *
 * A squib_mem_t holds a virtual machine's guest-physical memory: a set of
 * non-overlapping regions, each a range of guest-physical addresses backed
 * by host memory, tagged with a slot number and a protection. The 0.2
 * functions here add anonymous memory that the library maps and owns;
 * squib/backing.h adds files, shared memory and the caller's own mappings.
 *
 * Threads: every function may be called from any thread at once on the same
 * handle, except squib_mem_free(). Lookups and accesses take no lock and
 * write no shared memory; adding and removing regions serialise among
 * themselves only, and never make a concurrent access fail that would have
 * succeeded both before and after the change.
 */
#ifndef SQUIB_MEM_H
#define SQUIB_MEM_H

#include <stddef.h>
#include <stdint.h>

#include <squib/addr.h>
#include <squib/error.h>
#include <squib/export.h>
#include <squib/prot.h>
#include <squib/range.h>

SQUIB_BEGIN_DECLS

/** Opaque guest memory: the region table and what guards it. */
typedef struct squib_mem squib_mem_t;

/**
 * Creates an empty guest memory.
 *
 * @param out receives the new handle; untouched on failure.
 * @return SQUIB_OK, SQUIB_E_INVALID_ARGUMENT if @p out is NULL, or
 *         SQUIB_E_NO_MEMORY.
 * Thread-safety: safe from any thread.
 */
SQUIB_NODISCARD SQUIB_API squib_status_t squib_mem_new(squib_mem_t **out);

/**
 * Destroys a guest memory and unmaps every region the library owns.
 *
 * @param mem the handle, or NULL (a no-op).
 * Thread-safety: the caller guarantees that no other call on @p mem is
 * running or will start; every other function may race with anything else.
 */
SQUIB_API void squib_mem_free(squib_mem_t *mem);

/**
 * Registers a region backed by fresh zero-filled host memory.
 *
 * The host memory is an anonymous private mapping made without reserving
 * swap, so registering a large guest costs nothing until pages are touched,
 * between inaccessible guard pages. No alignment is required of @p range.
 * This is squib_mem_add_region_opts() (squib/backing.h) with the anonymous
 * backing and no flags: the region's info says flags 0, fd -1, name "".
 *
 * Checks, in this order: SQUIB_E_INVALID_ARGUMENT (NULL @p mem, size 0, a
 * range whose end overflows, unknown @p prot bits), SQUIB_E_SLOT_IN_USE,
 * SQUIB_E_OVERLAP, SQUIB_E_NO_MEMORY. A failed call changes nothing.
 *
 * @param mem   the handle.
 * @param range guest-physical range of the new region.
 * @param slot  any value not used by a registered region.
 * @param prot  SQUIB_PROT_* bits describing the guest's view.
 * Thread-safety: safe against every other call on @p mem but
 * squib_mem_free(); serialised with other adds and removes. The region
 * becomes visible to other threads all at once, fully initialised.
 */
SQUIB_NODISCARD SQUIB_API squib_status_t squib_mem_add_region(squib_mem_t *mem, squib_range_t range,
							      uint32_t slot, squib_prot_t prot);

/**
 * Registers a region pre-filled with a copy of @p bytes.
 *
 * The region covers [base, base + len). Errors and ordering as for
 * squib_mem_add_region(), plus SQUIB_E_INVALID_ARGUMENT for a NULL
 * @p bytes. No thread can see the region before all its bytes are in place.
 *
 * Thread-safety: as squib_mem_add_region().
 */
SQUIB_NODISCARD SQUIB_API squib_status_t squib_mem_add_region_from_bytes(squib_mem_t *mem,
									 squib_gpa_t base,
									 const void *bytes,
									 size_t len, uint32_t slot,
									 squib_prot_t prot);

/**
 * Unregisters the region with slot @p slot and gives back its host memory.
 *
 * An access that started before the removal completes on the old memory;
 * one that starts after it fails with SQUIB_E_OUT_OF_RANGE. The host memory
 * is unmapped only once no access can still touch it: before this call
 * returns for a region of 64 MiB or more, otherwise possibly some adds or
 * removals later (at most 32), so that small regions can be added and removed
 * in quick succession without interrupting the CPUs of readers each time,
 * and at the latest by squib_mem_free(). Do not use the region's host_addr
 * once this call has returned.
 *
 * @return SQUIB_OK, SQUIB_E_INVALID_ARGUMENT for a NULL @p mem,
 *         SQUIB_E_NOT_FOUND if no region has @p slot, or SQUIB_E_NO_MEMORY
 *         if the smaller region table cannot be allocated.
 * Thread-safety: safe against every other call on @p mem but
 * squib_mem_free(); when it waits for in-flight accesses, which are short,
 * it is never starved by readers that keep starting new ones.
 */
SQUIB_NODISCARD SQUIB_API squib_status_t squib_mem_remove_region(squib_mem_t *mem, uint32_t slot);

/**
 * Changes the recorded protection (the guest's view) of the region with
 * slot @p slot to @p prot, after every listener's protect accepted it (a
 * refusal undoes the listeners already called and changes nothing). The
 * host mapping and the library's own accesses are not affected: a host
 * mapping is read-only only through SQUIB_REGION_READONLY. Asking for the
 * protection the region has succeeds and calls nobody.
 *
 * @return SQUIB_OK; SQUIB_E_INVALID_ARGUMENT for a NULL @p mem or unknown
 *         @p prot bits; SQUIB_E_NOT_FOUND; SQUIB_E_NO_MEMORY for a table
 *         that cannot be allocated; SQUIB_E_BUSY from inside a listener
 *         callback on @p mem (squib/listener.h); or a listener's status.
 * Thread-safety: as squib_mem_remove_region(). Since 0.3.
 */
SQUIB_NODISCARD SQUIB_API squib_status_t squib_mem_set_protection(squib_mem_t *mem, uint32_t slot,
								  squib_prot_t prot);

/**
 * Returns the number of registered regions (0 for a NULL @p mem).
 *
 * Thread-safety: safe from any thread; the count may be stale by the time
 * the caller looks at it if other threads add or remove regions.
 */
SQUIB_API size_t squib_mem_region_count(const squib_mem_t *mem);

/** Bytes of squib_region_info_t::name, including the terminating NUL;
 *  longer names given to squib_mem_add_region_opts() are truncated. Since 0.3. */
#define SQUIB_REGION_NAME_MAX 32

/**
 * What the library tells about a region. An extensible, size-first struct.
 *
 * Set @c sz to sizeof(squib_region_info_t), best with
 * SQUIB_REGION_INFO_INIT. Fields are only ever appended: a program built
 * against an older header passes a smaller @c sz and gets the fields it
 * knows; the library fills only the fields that lie wholly within @c sz,
 * and never writes @c sz nor any byte past the layout it knows.
 */
typedef struct squib_region_info {
	size_t sz;	     /**< caller sets sizeof(squib_region_info_t) */
	squib_range_t range; /**< the guest-physical range of the region */
	uint32_t slot;	     /**< the slot it was registered with */
	squib_prot_t prot;   /**< the protection it was registered with */
	void *host_addr;     /**< host address of range.base; usable until
				  squib_mem_remove_region() of this slot returns
				  or the handle is freed */
	/* Since 0.3: */
	uint32_t flags;			  /**< the SQUIB_REGION_* flags the region was added with
			     (squib/backing.h), with SQUIB_REGION_DIRTY_LOG as
			     logging is now; 0 for a region added by the 0.2
			     functions */
	int fd;				  /**< the region's file (the library's memfd, or its dup
			     of the caller's fd), or -1. Owned by the library and
			     valid as long as host_addr is: dup() it to keep it
			     longer, never close it */
	uint64_t fd_offset;		  /**< offset of range.base in that file; 0 without one */
	char name[SQUIB_REGION_NAME_MAX]; /**< the region's label, "" without one */
} squib_region_info_t;

/**
 * Initialiser for a squib_region_info_t, in C and in C++: sets @c sz and
 * zeroes the rest. C++ before C++20 has no designated initialisers, so it
 * gets the positional form.
 */
/* clang-format off */
#ifdef __cplusplus
#define SQUIB_REGION_INFO_INIT {sizeof(squib_region_info_t), {{0}, 0}, 0, 0, nullptr, 0, 0, 0, {0}}
#else
#define SQUIB_REGION_INFO_INIT {.sz = sizeof(squib_region_info_t)}
#endif
/* clang-format on */

/**
 * Describes the region that contains @p addr.
 *
 * @return SQUIB_OK; SQUIB_E_INVALID_ARGUMENT for a NULL @p mem or @p info,
 *         or an @c info->sz smaller than the 0.2 layout; SQUIB_E_OUT_OF_RANGE
 *         if no region contains @p addr (*info untouched).
 * Thread-safety: lock-free; safe from any thread.
 */
SQUIB_NODISCARD SQUIB_API squib_status_t squib_mem_find_region(const squib_mem_t *mem,
							       squib_gpa_t addr,
							       squib_region_info_t *info);

/**
 * Describes the region registered with @p slot.
 *
 * @return SQUIB_OK; SQUIB_E_INVALID_ARGUMENT as for squib_mem_find_region();
 *         SQUIB_E_NOT_FOUND if no region has @p slot (*info untouched).
 * Thread-safety: lock-free; safe from any thread.
 */
SQUIB_NODISCARD SQUIB_API squib_status_t squib_mem_get_region(const squib_mem_t *mem, uint32_t slot,
							      squib_region_info_t *info);

/**
 * Callback of squib_mem_foreach_region(): return 0 to go on, anything else
 * (best a positive value) to stop. @p info is valid during the call only.
 */
typedef int (*squib_region_cb)(const squib_region_info_t *info, void *ctx);

/**
 * Visits every region in ascending base order.
 *
 * The regions visited are those registered when the call starts: a region
 * removed meanwhile is still visited, one added meanwhile is not. @p cb may
 * call any squib_mem_* function on the same handle but squib_mem_free(),
 * including add and remove, without deadlock.
 *
 * @return 0 after the last region; the first non-zero value @p cb returns;
 *         SQUIB_E_INVALID_ARGUMENT for a NULL @p mem or @p cb. Since the
 *         negative values are taken by status codes, a callback should stop
 *         the walk with a positive value.
 * Thread-safety: safe from any thread. The snapshot is pinned, not copied:
 * the walk allocates nothing and cannot fail once started.
 */
SQUIB_API int squib_mem_foreach_region(const squib_mem_t *mem, squib_region_cb cb, void *ctx);

SQUIB_END_DECLS

#endif /* SQUIB_MEM_H */
