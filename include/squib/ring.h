/* SPDX-License-Identifier: MIT */
/**
 * @file squib/ring.h
 * @brief Acquire loads and release stores of ring indexes (virtio).
 *
 * A virtqueue's device polls the driver's avail index and publishes its used
 * index with orderings the guest pairs with: the load of an index must come
 * before the reads of the ring entries it covers (acquire), the entries
 * written before the store that publishes them (release). Each function is
 * one atomic access of a little-endian value at a naturally aligned guest
 * address, bounds-checked as squib_mem_read() (wholly inside ONE region).
 *
 * Errors, for every function: SQUIB_E_INVALID_ARGUMENT for a NULL @p mem or
 * @p out or an address that is not a multiple of the value's size;
 * SQUIB_E_OUT_OF_RANGE when the value is not inside one region; for the
 * stores, SQUIB_E_READ_ONLY on a read-only region. A failed call writes
 * nothing.
 *
 * Thread-safety: lock-free, as squib_mem_read().
 *
 * Since 0.3 (every declaration of this header).
 */
#ifndef SQUIB_RING_H
#define SQUIB_RING_H

#include <stdint.h>

#include <squib/addr.h>
#include <squib/error.h>
#include <squib/export.h>
#include <squib/mem.h>

SQUIB_BEGIN_DECLS

/** Loads the u16 at @p addr with acquire ordering. */
SQUIB_NODISCARD SQUIB_API squib_status_t squib_mem_load_u16_acquire(const squib_mem_t *mem,
								    squib_gpa_t addr,
								    uint16_t *out);
/** Loads the u32 at @p addr with acquire ordering. */
SQUIB_NODISCARD SQUIB_API squib_status_t squib_mem_load_u32_acquire(const squib_mem_t *mem,
								    squib_gpa_t addr,
								    uint32_t *out);
/** Loads the u64 at @p addr with acquire ordering. */
SQUIB_NODISCARD SQUIB_API squib_status_t squib_mem_load_u64_acquire(const squib_mem_t *mem,
								    squib_gpa_t addr,
								    uint64_t *out);
/** Stores @p value at @p addr with release ordering. */
SQUIB_NODISCARD SQUIB_API squib_status_t squib_mem_store_u16_release(squib_mem_t *mem,
								     squib_gpa_t addr,
								     uint16_t value);
/** Stores @p value at @p addr with release ordering. */
SQUIB_NODISCARD SQUIB_API squib_status_t squib_mem_store_u32_release(squib_mem_t *mem,
								     squib_gpa_t addr,
								     uint32_t value);
/** Stores @p value at @p addr with release ordering. */
SQUIB_NODISCARD SQUIB_API squib_status_t squib_mem_store_u64_release(squib_mem_t *mem,
								     squib_gpa_t addr,
								     uint64_t value);

SQUIB_END_DECLS

#endif /* SQUIB_RING_H */
