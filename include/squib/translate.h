/* SPDX-License-Identifier: MIT */
/**
 * @file squib/translate.h
 * @brief Host pointers for devices: one region's host range, a guest
 *        buffer split over GPA-adjacent regions, and pins that keep the
 *        memory mapped across a hot-unplug.
 *
 * A block device hands guest buffers to preadv()/pwritev() or io_uring, a
 * net device to readv(): these functions give it the host memory behind a
 * guest range, checked whole (every byte, not only the start), for the
 * access it will make. @p access is SQUIB_PROT_READ, SQUIB_PROT_WRITE or
 * both; any other bit, or none, is SQUIB_E_INVALID_ARGUMENT, and
 * SQUIB_PROT_WRITE on any read-only region (SQUIB_REGION_READONLY) is
 * SQUIB_E_READ_ONLY. A failed call writes no out-parameter.
 *
 * Writes through the pointers bypass the library, so the library cannot
 * log them as dirty: with dirty-page tracking (a later part of 0.3), the
 * unpin of a pin taken for writing marks its range, and
 * squib_mem_mark_dirty() marks any other.
 *
 * Since 0.3 (every declaration of this header).
 */
#ifndef SQUIB_TRANSLATE_H
#define SQUIB_TRANSLATE_H

#include <stddef.h>
#include <sys/uio.h>

#include <squib/addr.h>
#include <squib/error.h>
#include <squib/export.h>
#include <squib/mem.h>
#include <squib/prot.h>

SQUIB_BEGIN_DECLS

/**
 * The host address of [addr, addr + len), which must lie inside ONE region
 * (the rule of squib_mem_read()).
 *
 * @p len 0 succeeds where an empty access does (addr in [base, base + size]
 * of a region) and gives the host address of @p addr.
 *
 * @return SQUIB_OK; SQUIB_E_INVALID_ARGUMENT for a NULL @p mem or @p host or
 *         a bad @p access; SQUIB_E_OUT_OF_RANGE when not inside one region
 *         (or addr + len overflows); SQUIB_E_READ_ONLY for SQUIB_PROT_WRITE
 *         on a read-only region.
 * Lifetime: *host may be used until squib_mem_remove_region() of that
 * region returns (or the handle is freed).
 * Thread-safety: lock-free, as squib_mem_read().
 */
SQUIB_NODISCARD SQUIB_API squib_status_t squib_mem_host_range(const squib_mem_t *mem,
							      squib_gpa_t addr, size_t len,
							      squib_prot_t access, void **host);

/**
 * The host memory of [addr, addr + len) as iovecs, one per region touched,
 * in address order: the range may span regions that are GPA-adjacent (one
 * ends exactly where the next begins), which is how a device serves a
 * descriptor buffer across two regions without weakening the one-region
 * rule of squib_mem_read().
 *
 * All or nothing: on failure *iov_used and iov[] are not written.
 * @p len 0 succeeds where an empty access does, with *iov_used 0 (also
 * with @p iov_cap 0 and a NULL @p iov).
 *
 * @return SQUIB_OK; SQUIB_E_INVALID_ARGUMENT for a NULL @p mem or
 *         @p iov_used, a NULL @p iov with @p iov_cap > 0, or a bad
 *         @p access; SQUIB_E_OUT_OF_RANGE for a start in no region, a hole
 *         before the end, or an overflowing end; SQUIB_E_READ_ONLY for
 *         SQUIB_PROT_WRITE touching a read-only region; SQUIB_E_NO_SPACE
 *         when more than @p iov_cap regions are touched (checked last:
 *         the same call with a larger array would succeed).
 * Lifetime: as squib_mem_host_range(), for each region touched.
 * Thread-safety: lock-free, as squib_mem_read().
 */
SQUIB_NODISCARD SQUIB_API squib_status_t squib_mem_translate(const squib_mem_t *mem,
							     squib_gpa_t addr, size_t len,
							     squib_prot_t access, struct iovec *iov,
							     size_t iov_cap, size_t *iov_used);

/** A promise that some host memory stays mapped: see squib_mem_pin(). */
typedef struct squib_pin squib_pin_t;

/**
 * squib_mem_translate() plus a promise: the host memory of the iovecs stays
 * mapped until squib_mem_unpin(), even if a region is removed meanwhile
 * (the removal still takes effect for new accesses at once) or the handle
 * is freed. This is the API for in-flight preadv/pwritev/io_uring into
 * guest memory.
 *
 * A pin of length 0 succeeds like an empty translate and gives a pin to
 * unpin like any other.
 *
 * @return as squib_mem_translate(), SQUIB_E_INVALID_ARGUMENT also for a
 *         NULL @p pin, and SQUIB_E_NO_MEMORY when the pin's record cannot
 *         be allocated. On failure *pin is not written.
 * Thread-safety: lock-free with respect to accesses; safe from any thread.
 * Pins cost nothing on the access path.
 */
SQUIB_NODISCARD SQUIB_API squib_status_t squib_mem_pin(squib_mem_t *mem, squib_gpa_t addr,
						       size_t len, squib_prot_t access,
						       struct iovec *iov, size_t iov_cap,
						       size_t *iov_used, squib_pin_t **pin);

/**
 * Ends a pin: memory only the pin kept mapped (its region removed, or its
 * handle freed) is given back now. Valid after squib_mem_free() of the pin's
 * handle. NULL is a no-op.
 *
 * Thread-safety: safe from any thread; each pin is unpinned once.
 */
SQUIB_API void squib_mem_unpin(squib_pin_t *pin);

SQUIB_END_DECLS

#endif /* SQUIB_TRANSLATE_H */
