/* SPDX-License-Identifier: MIT */
/*
 * File and socket I/O (squib/io.h): the bytes move between the region's
 * host memory and the fd with one vectored call after another, never
 * through a buffer of ours.
 *
 * The range is checked in a read section, which also takes a reference on
 * the region's backing; the transfer itself runs outside any section. A
 * read from a socket may block for as long as the peer likes, and a
 * section held that long would hold up every removal (which waits for
 * sections to end) on every handle. The reference keeps the memory mapped
 * instead, as a pin does: a removal meanwhile takes effect for new
 * accesses at once, and the transfer finishes in memory nobody else uses.
 */
#define _GNU_SOURCE /* preadv and pwritev are not in ISO C */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>

#include <squib/io.h>

#include "backing.h"
#include "dirty_log.h"
#include "error.h"
#include "mem_internal.h"

/* Linux moves at most this much per call (MAX_RW_COUNT); asking for less
 * keeps every count exact on 32-bit hosts too. */
#define IO_CHUNK ((size_t)0x7ffff000)

/* The memory of [addr, addr + len) and a reference that keeps it mapped. */
struct held_range {
	struct backing *backing; /* NULL for len 0: nothing to keep */
	uint8_t *host;
};

static squib_status_t check_arguments(const squib_mem_t *mem, size_t len, int fd, int64_t offset,
				      const char *caller)
{
	if (!mem)
		return squib_fail(SQUIB_E_INVALID_ARGUMENT, "%s: mem is NULL", caller);
	if (fd < 0)
		return squib_fail(SQUIB_E_INVALID_ARGUMENT, "%s: fd %d is negative", caller, fd);
	if (offset < -1)
		return squib_fail(SQUIB_E_INVALID_ARGUMENT,
				  "%s: offset %" PRId64 " is negative and not -1", caller, offset);
	if (offset >= 0 && len > (uint64_t)(INT64_MAX - offset))
		return squib_fail(SQUIB_E_INVALID_ARGUMENT,
				  "%s: offset %" PRId64 " + len %zu passes INT64_MAX", caller,
				  offset, len);
	return SQUIB_OK;
}

static squib_status_t hold_range(const squib_mem_t *mem, uint64_t addr, size_t len,
				 bool for_writing, const char *caller, struct held_range *held)
{
	struct access_guard guard;
	const struct region *region = table_find(access_begin(mem, &guard), addr, len);
	squib_status_t status = SQUIB_OK;
	uint64_t end;

	if (!region)
		status = squib_fail(SQUIB_E_OUT_OF_RANGE, "%s: addr " SQUIB_GPA_FMT " + len %zu %s",
				    caller, addr, len,
				    __builtin_add_overflow(addr, len, &end)
					? "overflows the guest address space"
					: "is not inside one region");
	else if (len && for_writing && (region->flags & SQUIB_REGION_READONLY))
		status = squib_fail(SQUIB_E_READ_ONLY,
				    "%s: addr " SQUIB_GPA_FMT " + len %zu: slot %" PRIu32
				    " is read-only",
				    caller, addr, len, region->slot);
	else {
		held->host = region->host + (addr - region->base);
		held->backing = NULL;
		if (len) {
			held->backing = region->backing;
			backing_get(held->backing);
		}
	}
	access_end(mem, &guard);
	return status;
}

/* One vectored call of at most IO_CHUNK bytes: from the fd into guest
 * memory (to_guest) or back, at offset, or at the fd's position for -1. */
/* host is written through the iovec (clang-tidy cannot see it). */
static ssize_t move_once(int fd, uint8_t *host, /* NOLINT(readability-non-const-parameter) */
			 size_t len, int64_t offset, bool to_guest)
{
	struct iovec iov = {.iov_base = host, .iov_len = len < IO_CHUNK ? len : IO_CHUNK};

	if (offset >= 0)
		return to_guest ? preadv(fd, &iov, 1, (off_t)offset)
				: pwritev(fd, &iov, 1, (off_t)offset);
	return to_guest ? readv(fd, &iov, 1) : writev(fd, &iov, 1);
}

static squib_status_t fail_transfer(const char *caller, int err, int fd, int64_t offset,
				    size_t moved, size_t len)
{
	char where[48];

	if (offset >= 0)
		snprintf(where, sizeof(where), "offset %" PRId64, offset + (int64_t)moved);
	else
		snprintf(where, sizeof(where), "the position of fd %d", fd);
	if (err == 0)
		return squib_fail(SQUIB_E_IO, "%s: end of file at %s, after %zu of %zu bytes",
				  caller, where, moved, len);
	return squib_fail(SQUIB_E_IO, "%s: %s at %s, after %zu of %zu bytes", caller, strerror(err),
			  where, moved, len);
}

/* Moves all len bytes, retrying short counts and EINTR; *moved is what
 * went through when it stops. */
static squib_status_t transfer(int fd, uint8_t *host, size_t len, int64_t offset, bool to_guest,
			       size_t *moved, const char *caller)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = move_once(fd, host + done, len - done,
				      offset >= 0 ? offset + (int64_t)done : -1, to_guest);

		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		*moved = done;
		/* 0 is the end of the file, or, for a write, a device that
		 * takes nothing: retrying would spin. */
		return fail_transfer(caller, n < 0 ? errno : (to_guest ? 0 : ENOSPC), fd, offset,
				     done, len);
	}
	*moved = done;
	return SQUIB_OK;
}

static squib_status_t fd_io(const squib_mem_t *mem, uint64_t addr, size_t len, int fd,
			    int64_t offset, size_t *done, bool to_guest, const char *caller)
{
	struct held_range held = {0};
	size_t moved = 0;
	squib_status_t status = check_arguments(mem, len, fd, offset, caller);

	if (status == SQUIB_OK)
		status = hold_range(mem, addr, len, to_guest, caller, &held);
	if (status != SQUIB_OK)
		return status;
	if (len)
		status = transfer(fd, held.host, len, offset, to_guest, &moved, caller);
	if (moved && to_guest)
		backing_mark_written(held.backing, addr, moved);
	if (held.backing)
		backing_put(held.backing);
	if (done)
		*done = moved;
	return status;
}

squib_status_t squib_mem_read_from_fd(squib_mem_t *mem, squib_gpa_t addr, size_t len, int fd,
				      int64_t offset, size_t *done)
{
	return fd_io(mem, addr.raw, len, fd, offset, done, true, __func__);
}

squib_status_t squib_mem_write_to_fd(const squib_mem_t *mem, squib_gpa_t addr, size_t len, int fd,
				     int64_t offset, size_t *done)
{
	return fd_io(mem, addr.raw, len, fd, offset, done, false, __func__);
}
