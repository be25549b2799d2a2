/* SPDX-License-Identifier: MIT */
/**
 * @file squib/backing.h
 * @brief Region backings and flags: files, shared memory, the caller's own
 *        mappings, huge pages; giving pages back with squib_mem_discard().
 *
 * squib_mem_add_region_opts() registers a region whose host memory comes
 * from one of four backings, chosen by the fields of squib_region_opts_t:
 *
 * | fields                         | backing                                   | owner   |
 * | ------------------------------ | ----------------------------------------- | ------- |
 * | host_addr set                  | the caller's mapping, used as is          | caller  |
 * | SQUIB_REGION_FILE, no host_addr| range.size bytes of fd at fd_offset,      | library |
 * |                                | MAP_SHARED, or copy-on-write with PRIVATE |         |
 * | SQUIB_REGION_SHARED            | a memfd the library creates and seals     | library |
 * |                                | against shrinking, MAP_SHARED             |         |
 * | none of these                  | zero-filled anonymous memory (0.2's)      | library |
 *
 * Library-owned mappings sit between inaccessible guard pages, so an
 * overrun through a host pointer faults instead of landing in other memory.
 * The library never unmaps a caller's mapping; it closes only its own file
 * descriptors (a FILE region keeps a dup of the caller's fd, so the caller
 * may close its own at once).
 *
 * Since 0.3 (every declaration of this header).
 */
#ifndef SQUIB_BACKING_H
#define SQUIB_BACKING_H

#include <stddef.h>
#include <stdint.h>

#include <squib/addr.h>
#include <squib/error.h>
#include <squib/export.h>
#include <squib/mem.h>
#include <squib/prot.h>
#include <squib/range.h>

SQUIB_BEGIN_DECLS

/** @name Region flags (squib_region_opts_t::flags, squib_region_info_t::flags)
 *  Any other bit is SQUIB_E_INVALID_ARGUMENT. @{ */
/** A memfd the library creates (named after @c name): another process, such
 *  as a vhost-user back-end, can map the same memory from info.fd. */
#define SQUIB_REGION_SHARED 0x001u
/** Copy-on-write mapping of a file: writes never reach the file (restore
 *  without touching a snapshot). Needs SQUIB_REGION_FILE without host_addr. */
#define SQUIB_REGION_PRIVATE 0x002u
/** The host mapping is read-only (a ROM, a file opened O_RDONLY): library
 *  writes fail with SQUIB_E_READ_ONLY instead of faulting, and change
 *  nothing. Reads are unaffected, and so is an empty write, which writes
 *  nothing and succeeds where an empty access does. */
#define SQUIB_REGION_READONLY 0x004u
/** Hugetlb pages (MAP_HUGETLB, or MFD_HUGETLB with SHARED): base and size
 *  must be multiples of the default huge page size. An empty pool is
 *  SQUIB_E_NO_MEMORY, a kernel or build without hugetlb
 *  SQUIB_E_UNSUPPORTED. */
#define SQUIB_REGION_HUGETLB 0x008u
/** Ask for transparent huge pages (MADV_HUGEPAGE); never fails for lack of
 *  them. */
#define SQUIB_REGION_THP 0x010u
/** Keep the region out of the monitor's core dumps (MADV_DONTDUMP). */
#define SQUIB_REGION_DONTDUMP 0x020u
/** A fork()ed child does not inherit the mapping (MADV_DONTFORK). */
#define SQUIB_REGION_DONTFORK 0x040u
/** Lock the pages in RAM as they are touched (mlock2(MLOCK_ONFAULT));
 *  SQUIB_E_NO_MEMORY when RLIMIT_MEMLOCK forbids. */
#define SQUIB_REGION_LOCKED 0x080u
/** Dirty-page logging on from the start. */
#define SQUIB_REGION_DIRTY_LOG 0x100u
/** Populate every page now instead of on first touch. */
#define SQUIB_REGION_PREFAULT 0x200u
/** @c fd and @c fd_offset are meaningful (a zeroed opts struct never means
 *  fd 0). */
#define SQUIB_REGION_FILE 0x400u
/** @} */

/**
 * How to add a region: a size-first struct, as the kernel's clone3() and
 * libbpf's opts. Start from SQUIB_REGION_OPTS_INIT, which sets @c sz and
 * zeroes the rest: zero means "not wanted" for every field.
 *
 * A program built against a later header may pass a larger @c sz: the
 * library accepts it if every byte past the layout it knows is zero, and
 * refuses it with SQUIB_E_UNSUPPORTED otherwise (the kernel's
 * copy_struct_from_user() rule), so a request it cannot understand is never
 * half obeyed.
 */
typedef struct squib_region_opts {
	size_t sz;	     /**< sizeof(squib_region_opts_t) */
	squib_range_t range; /**< guest-physical range of the region */
	uint32_t slot;	     /**< any value no registered region uses */
	squib_prot_t prot;   /**< SQUIB_PROT_* bits: the guest's view */
	uint32_t flags;	     /**< SQUIB_REGION_* bits */
	int fd;		     /**< the file; read only with SQUIB_REGION_FILE */
	uint64_t fd_offset;  /**< offset of range.base in @c fd */
	void *host_addr;     /**< NULL: the library maps the memory; else the
				  caller's mapping of range.size bytes */
	const void *bytes;   /**< NULL, or range.size bytes to copy in */
	const char *name;    /**< NULL, or a label (copied, truncated to
				  SQUIB_REGION_NAME_MAX - 1 bytes) */
} squib_region_opts_t;

/** Initialiser for a squib_region_opts_t, in C and in C++: sets @c sz and
 *  zeroes the rest. */
/* clang-format off */
#ifdef __cplusplus
#define SQUIB_REGION_OPTS_INIT \
	{sizeof(squib_region_opts_t), {{0}, 0}, 0, 0, 0, 0, 0, nullptr, nullptr, nullptr}
#else
#define SQUIB_REGION_OPTS_INIT {.sz = sizeof(squib_region_opts_t)}
#endif
/* clang-format on */

/**
 * Registers a region with the backing and flags of @p opts.
 *
 * Rules, checked in this order (a failed call leaves no mapping, no file
 * descriptor and no region, and sets squib_last_error()):
 *
 * 1. SQUIB_E_INVALID_ARGUMENT:
 *    - a NULL @p mem or @p opts, an @c opts->sz smaller than this layout,
 *      size 0, a range whose end overflows, unknown @c prot or @c flags bits;
 *    - contradictions: PRIVATE without FILE or with host_addr; SHARED with
 *      FILE or host_addr; @c bytes with FILE or host_addr; HUGETLB with THP,
 *      FILE or host_addr; FILE with a negative @c fd;
 *    - alignment: every backing but the anonymous one needs range.base,
 *      range.size, fd_offset and host_addr aligned to the host page size,
 *      and HUGETLB (anonymous or shared) base and size aligned to the huge
 *      page size; the anonymous backing accepts any alignment;
 *    - a FILE mapped by the library: an fd that is not open, or not open
 *      for reading, fd_offset + range.size past the end of a regular file
 *      (which would SIGBUS later), or a shared writable mapping (neither
 *      READONLY nor PRIVATE) of an fd not open for writing.
 * 2. SQUIB_E_UNSUPPORTED: non-zero bytes past the layout this library
 *    knows; a backing or flag this platform or kernel lacks (memfd, hugetlb
 *    without a default huge page size).
 * 3. SQUIB_E_SLOT_IN_USE, then SQUIB_E_OVERLAP.
 * 4. Host failures: SQUIB_E_NO_MEMORY for a memory shortage (ENOMEM,
 *    EAGAIN: an empty hugetlb pool, RLIMIT_MEMLOCK for LOCKED), SQUIB_E_IO
 *    for any other failure of mmap, memfd_create, ftruncate, fcntl, dup,
 *    madvise or mlock2, with errno's text.
 *
 * Allowed on purpose: READONLY on library-owned memory filled from
 * @c bytes (a ROM image), and @c bytes with SHARED. On a caller's mapping,
 * THP, DONTDUMP, DONTFORK, LOCKED and PREFAULT are applied to the caller's
 * range and not undone at removal; a failed call leaves the range as it
 * was (what it already had, such as the caller's own mlock(), is neither
 * applied again nor taken back).
 *
 * squib_mem_add_region() and squib_mem_add_region_from_bytes() are this
 * function with the anonymous backing and flags 0.
 *
 * Thread-safety: as squib_mem_add_region(). The region becomes visible to
 * other threads all at once, fully initialised (its bytes copied, its
 * flags applied).
 */
SQUIB_NODISCARD SQUIB_API squib_status_t squib_mem_add_region_opts(squib_mem_t *mem,
								   const squib_region_opts_t *opts);

/**
 * Gives the host pages of [addr, addr + len) back to the host (a balloon,
 * virtio-mem, free page reporting). Afterwards the range reads as zeros.
 *
 * Anonymous memory: MADV_DONTNEED; a memfd or a shared file: a hole is
 * punched in the file; a private (copy-on-write) file mapping: the range is
 * replaced with anonymous zero pages, so the file is not read again.
 *
 * @return SQUIB_OK (also for @p len 0 where an empty access would succeed,
 *         which does nothing); SQUIB_E_INVALID_ARGUMENT for a NULL @p mem or
 *         an @p addr or @p len not aligned to the region's page size (the
 *         huge page size for HUGETLB); SQUIB_E_OUT_OF_RANGE when the range
 *         is not inside one region; SQUIB_E_READ_ONLY for a read-only
 *         region; SQUIB_E_UNSUPPORTED for a caller's mapping; SQUIB_E_IO
 *         when the host refuses (with errno's text).
 * Thread-safety: safe from any thread. Concurrent accesses to the range
 * see either the old bytes or zeros, page by page.
 */
SQUIB_NODISCARD SQUIB_API squib_status_t squib_mem_discard(squib_mem_t *mem, squib_gpa_t addr,
							   size_t len);

SQUIB_END_DECLS

#endif /* SQUIB_BACKING_H */
