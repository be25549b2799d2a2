/* SPDX-License-Identifier: MIT */
/**
 * @file squib/io.h
 * @brief File and socket I/O straight between guest memory and a file
 *        descriptor, with no bounce buffer.
 *
 * [addr, addr + len) is checked whole first, with the rule of
 * squib_mem_read() (inside ONE region); then the bytes move between the
 * region's host memory and @p fd with preadv()/pwritev() at @p offset, or,
 * with @p offset -1, readv()/writev() at the fd's own position (pipes,
 * sockets). Short counts and EINTR are retried until all @p len bytes have
 * moved. End of file, or any other error (EAGAIN of a non-blocking fd
 * included), is SQUIB_E_IO: then, and only then, *done tells how many
 * bytes moved before it (guest memory up to there may have changed); the
 * message carries strerror(errno) and the offset reached. @p done may be
 * NULL; on success it is set to @p len.
 *
 * The region's memory stays mapped for the whole transfer, even if the
 * region is removed meanwhile (as for a pin, squib/translate.h), and a
 * transfer that blocks (a socket) never holds up other threads' calls.
 *
 * Since 0.3 (every declaration of this header).
 */
#ifndef SQUIB_IO_H
#define SQUIB_IO_H

#include <stddef.h>
#include <stdint.h>

#include <squib/addr.h>
#include <squib/error.h>
#include <squib/export.h>
#include <squib/mem.h>

SQUIB_BEGIN_DECLS

/**
 * Reads @p len bytes from @p fd into guest memory at @p addr. A library
 * write: SQUIB_E_READ_ONLY on a read-only region, and the pages written
 * are marked dirty where the region logs (also the part written before an
 * SQUIB_E_IO).
 *
 * @return SQUIB_OK; SQUIB_E_INVALID_ARGUMENT for a NULL @p mem, a negative
 *         @p fd, an @p offset below -1 or an @p offset + @p len past
 *         INT64_MAX; SQUIB_E_OUT_OF_RANGE when not inside one region;
 *         SQUIB_E_READ_ONLY; SQUIB_E_IO, with *done.
 * Thread-safety: safe from any thread, as squib_mem_write(); it blocks as
 * long as @p fd does, but nobody else waits for it.
 */
SQUIB_NODISCARD SQUIB_API squib_status_t squib_mem_read_from_fd(squib_mem_t *mem, squib_gpa_t addr,
								size_t len, int fd, int64_t offset,
								size_t *done);

/**
 * Writes @p len bytes of guest memory at @p addr to @p fd. A read of guest
 * memory: read-only regions are fine, nothing is marked dirty.
 *
 * @return as squib_mem_read_from_fd(), without SQUIB_E_READ_ONLY.
 * Thread-safety: as squib_mem_read_from_fd().
 */
SQUIB_NODISCARD SQUIB_API squib_status_t squib_mem_write_to_fd(const squib_mem_t *mem,
							       squib_gpa_t addr, size_t len, int fd,
							       int64_t offset, size_t *done);

SQUIB_END_DECLS

#endif /* SQUIB_IO_H */
