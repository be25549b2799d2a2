/* SPDX-License-Identifier: MIT */
/**
 * @file squib/error.h
 * @brief Status codes and the per-thread detailed error message.
 */
#ifndef SQUIB_ERROR_H
#define SQUIB_ERROR_H

#include <squib/export.h>

SQUIB_BEGIN_DECLS

/**
 * Result of every fallible libsquibcore function.
 *
 * The numeric values are part of the ABI and never change; new codes may be
 * appended with new negative values. Treat any value you do not know as a
 * failure.
 */
typedef enum squib_status {
	/** Success. */
	SQUIB_OK = 0,
	/** A bad parameter: NULL where a pointer is required, an alignment
	 *  that is not a power of two, an overflowing range, unknown flag
	 *  bits, a zero-sized region, or a too-small `sz`. */
	SQUIB_E_INVALID_ARGUMENT = -1,
	/** The request is not wholly inside one registered region. */
	SQUIB_E_OUT_OF_RANGE = -2,
	/** The host could not provide memory. */
	SQUIB_E_NO_MEMORY = -3,
	/** A new region overlaps a registered one. */
	SQUIB_E_OVERLAP = -4,
	/** A new region reuses the slot of a registered one. */
	SQUIB_E_SLOT_IN_USE = -5,
	/** No region has that slot. */
	SQUIB_E_NOT_FOUND = -6,
	/** This host, kernel or build cannot do what was asked (a backing or
	 *  flag the platform lacks, MAP_HUGETLB refused by the kernel), or an
	 *  input struct has non-zero bytes past the layout this library knows.
	 *  Since 0.3. */
	SQUIB_E_UNSUPPORTED = -7,
	/** A file or socket operation failed or hit end of file; the message
	 *  carries strerror(errno) and the offset reached. Since 0.3. */
	SQUIB_E_IO = -8,
	/** Refused in the current state (e.g. a mutating call from inside a
	 *  listener callback on the same handle). Since 0.3. */
	SQUIB_E_BUSY = -9,
	/** A write, or a translation for writing, to a region whose host
	 *  mapping is read-only. Since 0.3. */
	SQUIB_E_READ_ONLY = -10,
	/** A caller's array is too small for the answer. Since 0.3. */
	SQUIB_E_NO_SPACE = -11,
	/** A snapshot or migration stream is malformed, truncated, fails a
	 *  checksum or describes an impossible layout. Since 0.3. */
	SQUIB_E_CORRUPT = -12
} squib_status_t;

/**
 * Returns a short, static English description of a status code.
 *
 * @param status any value, known or not; unknown values get a generic text.
 * @return a static NUL-terminated string; never NULL.
 * Thread-safety: safe from any thread.
 */
SQUIB_API const char *squib_strerror(squib_status_t status);

/**
 * Returns the detailed message of the most recent failure on this thread.
 *
 * The message names the values that caused the failure, e.g.
 * "addr 0x0000000040000010 + len 8 is not inside one region". A successful
 * call does not clear it. The text stays valid until the next failing
 * libsquibcore call on the same thread; copy it to keep it longer.
 *
 * @return a NUL-terminated string owned by the library; "" when this thread
 *         has seen no failure. Never NULL.
 * Thread-safety: each thread has its own message; the storage needs no
 * destructor, so it survives dlclose() of the library.
 */
SQUIB_API const char *squib_last_error(void);

SQUIB_END_DECLS

#endif /* SQUIB_ERROR_H */
