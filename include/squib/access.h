/* SPDX-License-Identifier: MIT */
/**
 * @file squib/access.h
 * @brief Byte-accurate reads and writes of guest memory.
 *
 * Every address and length here may come from a hostile guest. The rules,
 * for every function of this header:
 *
 * 1. All or nothing: either all @p len bytes are copied, or the call fails
 *    and no byte of guest memory, of the buffer or of *out changes.
 * 2. [addr, addr + len) must lie wholly inside ONE region; a request that
 *    straddles a region's edge fails with SQUIB_E_OUT_OF_RANGE even when the
 *    next region starts exactly there.
 * 3. An addr + len that overflows 64 bits is SQUIB_E_OUT_OF_RANGE, never a
 *    wrap.
 * 4. len == 0 succeeds when addr lies in [base, base + size] of a region
 *    (the end included) and copies nothing; the buffer may then be NULL.
 *    A NULL buffer with len > 0, a NULL handle or a NULL out is
 *    SQUIB_E_INVALID_ARGUMENT.
 * 5. Typed values are little-endian in guest memory whatever the host's
 *    byte order, and need no alignment. A naturally aligned typed access is
 *    a single load or store, so a racing guest sees the old or the new value,
 *    never a mix.
 * 6. Each byte of guest memory is read at most once per call.
 *
 * Failures set squib_last_error() to a message with the address in
 * 0x%016 form and the length.
 *
 * Thread-safety: lock-free and wait-free with respect to each other; any
 * number of threads may read and write the same handle at once, and while
 * other threads add or remove regions. Concurrent accesses to the same bytes
 * race as plain memory does (rule 5 bounds the tearing).
 */
#ifndef SQUIB_ACCESS_H
#define SQUIB_ACCESS_H

#include <stddef.h>
#include <stdint.h>

#include <squib/addr.h>
#include <squib/error.h>
#include <squib/export.h>
#include <squib/mem.h>

SQUIB_BEGIN_DECLS

/**
 * Copies @p len bytes of guest memory at @p addr into @p buf.
 *
 * @return SQUIB_OK, SQUIB_E_INVALID_ARGUMENT or SQUIB_E_OUT_OF_RANGE as in
 *         the rules of this header; @p buf is untouched on failure.
 */
SQUIB_NODISCARD SQUIB_API squib_status_t squib_mem_read(const squib_mem_t *mem, squib_gpa_t addr,
							void *buf, size_t len);

/**
 * Copies @p len bytes from @p buf into guest memory at @p addr.
 *
 * @return SQUIB_OK, SQUIB_E_INVALID_ARGUMENT or SQUIB_E_OUT_OF_RANGE as in
 *         the rules of this header; guest memory is untouched on failure.
 */
SQUIB_NODISCARD SQUIB_API squib_status_t squib_mem_write(squib_mem_t *mem, squib_gpa_t addr,
							 const void *buf, size_t len);

/** Reads one byte at @p addr into *out. Errors as squib_mem_read(). */
SQUIB_NODISCARD SQUIB_API squib_status_t squib_mem_read_u8(const squib_mem_t *mem, squib_gpa_t addr,
							   uint8_t *out);
/** Reads a little-endian 16-bit value at @p addr. Errors as squib_mem_read(). */
SQUIB_NODISCARD SQUIB_API squib_status_t squib_mem_read_u16_le(const squib_mem_t *mem,
							       squib_gpa_t addr, uint16_t *out);
/** Reads a little-endian 32-bit value at @p addr. Errors as squib_mem_read(). */
SQUIB_NODISCARD SQUIB_API squib_status_t squib_mem_read_u32_le(const squib_mem_t *mem,
							       squib_gpa_t addr, uint32_t *out);
/** Reads a little-endian 64-bit value at @p addr. Errors as squib_mem_read(). */
SQUIB_NODISCARD SQUIB_API squib_status_t squib_mem_read_u64_le(const squib_mem_t *mem,
							       squib_gpa_t addr, uint64_t *out);

/** Writes one byte at @p addr. Errors as squib_mem_write(). */
SQUIB_NODISCARD SQUIB_API squib_status_t squib_mem_write_u8(squib_mem_t *mem, squib_gpa_t addr,
							    uint8_t value);
/** Writes @p value little-endian at @p addr. Errors as squib_mem_write(). */
SQUIB_NODISCARD SQUIB_API squib_status_t squib_mem_write_u16_le(squib_mem_t *mem, squib_gpa_t addr,
								uint16_t value);
/** Writes @p value little-endian at @p addr. Errors as squib_mem_write(). */
SQUIB_NODISCARD SQUIB_API squib_status_t squib_mem_write_u32_le(squib_mem_t *mem, squib_gpa_t addr,
								uint32_t value);
/** Writes @p value little-endian at @p addr. Errors as squib_mem_write(). */
SQUIB_NODISCARD SQUIB_API squib_status_t squib_mem_write_u64_le(squib_mem_t *mem, squib_gpa_t addr,
								uint64_t value);

SQUIB_END_DECLS

#endif /* SQUIB_ACCESS_H */
