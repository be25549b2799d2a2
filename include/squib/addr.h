/* SPDX-License-Identifier: MIT */
/**
 * @file squib/addr.h
 * @brief Guest-physical addresses.
 */
#ifndef SQUIB_ADDR_H
#define SQUIB_ADDR_H

#include <stddef.h>
#include <stdint.h>

#include <squib/error.h>
#include <squib/export.h>

SQUIB_BEGIN_DECLS

/**
 * A guest-physical address.
 *
 * A struct rather than a bare integer so that the compiler rejects a length
 * or a host pointer passed where a guest-physical address belongs.
 */
typedef struct squib_gpa {
	uint64_t raw; /**< the address as the guest sees it */
} squib_gpa_t;

/** Builds a squib_gpa_t from any integer expression, in C and in C++. */
#ifdef __cplusplus
#define SQUIB_GPA(x) (squib_gpa_t{static_cast<uint64_t>(x)})
#else
#define SQUIB_GPA(x) ((squib_gpa_t){(uint64_t)(x)})
#endif

/** Buffer size that holds any formatted address: "0x" + 16 digits + NUL. */
#define SQUIB_GPA_STRLEN 19

/**
 * Rounds an address down to a power-of-two alignment.
 *
 * @param addr  the address to align.
 * @param align the alignment; must be a power of two (0 is not).
 * @param out   receives the aligned address; untouched on failure.
 * @return SQUIB_OK, or SQUIB_E_INVALID_ARGUMENT if @p out is NULL or
 *         @p align is not a power of two.
 * Thread-safety: pure function, safe from any thread.
 */
SQUIB_NODISCARD SQUIB_API squib_status_t squib_gpa_align_down(squib_gpa_t addr, uint64_t align,
							      squib_gpa_t *out);

/**
 * Returns @p addr advanced by @p offset, saturating at UINT64_MAX.
 *
 * Thread-safety: pure function, safe from any thread.
 */
SQUIB_API squib_gpa_t squib_gpa_saturating_add(squib_gpa_t addr, uint64_t offset);

/**
 * Formats an address as "0x%016" PRIx64, snprintf-style.
 *
 * @param addr the address to format.
 * @param buf  destination; may be NULL when @p len is 0.
 * @param len  size of @p buf; at most @p len bytes are written, NUL included.
 * @return 18, the length of the full text without its NUL, whatever @p len
 *         is, so a return >= @p len means the text was truncated.
 * Thread-safety: pure function, safe from any thread.
 */
SQUIB_API int squib_gpa_format(squib_gpa_t addr, char *buf, size_t len);

SQUIB_END_DECLS

#endif /* SQUIB_ADDR_H */
