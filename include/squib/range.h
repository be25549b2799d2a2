/* SPDX-License-Identifier: MIT */
/**
 * @file squib/range.h
 * @brief Half-open guest-physical ranges.
 */
#ifndef SQUIB_RANGE_H
#define SQUIB_RANGE_H

#include <stdbool.h>
#include <stdint.h>

#include <squib/addr.h>
#include <squib/error.h>
#include <squib/export.h>

SQUIB_BEGIN_DECLS

/**
 * The half-open guest-physical range [base, base + size).
 *
 * Build one with squib_range_init(), which refuses a range whose end would
 * pass 2^64. A range may end exactly at UINT64_MAX.
 */
typedef struct squib_range {
	squib_gpa_t base; /**< first address inside the range */
	uint64_t size;	  /**< length in bytes */
} squib_range_t;

/**
 * Initialises a range, refusing one whose end overflows 64 bits.
 *
 * @param out  receives the range; untouched on failure.
 * @param base first address.
 * @param size length in bytes (0 is a valid, empty range).
 * @return SQUIB_OK, or SQUIB_E_INVALID_ARGUMENT if @p out is NULL or
 *         base + size exceeds UINT64_MAX (message names both).
 * Thread-safety: pure function, safe from any thread.
 */
SQUIB_NODISCARD SQUIB_API squib_status_t squib_range_init(squib_range_t *out, squib_gpa_t base,
							  uint64_t size);

/**
 * Returns the first address past the range, base + size.
 *
 * For a range filled in by hand whose end overflows, the sum wraps modulo
 * 2^64; squib_range_init() never produces such a range.
 * Thread-safety: pure function, safe from any thread.
 */
SQUIB_API squib_gpa_t squib_range_end(squib_range_t range);

/**
 * Tells whether @p addr lies inside the range.
 *
 * True exactly when base <= addr and addr - base < size. The test never
 * wraps: a hand-made range whose end overflows contains every address from
 * base up to UINT64_MAX.
 * Thread-safety: pure function, safe from any thread.
 */
SQUIB_API bool squib_range_contains(squib_range_t range, squib_gpa_t addr);

SQUIB_END_DECLS

#endif /* SQUIB_RANGE_H */
