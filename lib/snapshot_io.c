/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE /* preadv and pwritev are not in ISO C */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/uio.h>

#include "error.h"
#include "snapshot_io.h"

squib_status_t snapshot_flags(const squib_snapshot_opts_t *opts, uint32_t allowed,
			      const char *caller, uint32_t *flags)
{
	const unsigned char *bytes = (const unsigned char *)opts;

	*flags = 0;
	if (!opts)
		return SQUIB_OK;
	if (opts->sz < sizeof(*opts))
		return squib_fail(SQUIB_E_INVALID_ARGUMENT,
				  "%s: opts->sz is %zu, smaller than the 0.3 layout (%zu bytes)",
				  caller, opts->sz, sizeof(*opts));
	for (size_t at = sizeof(*opts); at < opts->sz; at++)
		if (bytes[at])
			return squib_fail(SQUIB_E_UNSUPPORTED,
					  "%s: byte %zu of opts (sz %zu) is not zero: a field this "
					  "library (0.3) does not know",
					  caller, at, opts->sz);
	if (opts->flags & ~allowed)
		return squib_fail(SQUIB_E_INVALID_ARGUMENT,
				  "%s: flags 0x%" PRIx32 " are not for it", caller,
				  opts->flags & ~allowed);
	*flags = opts->flags;
	return SQUIB_OK;
}

static squib_status_t fail_io(const struct record_fd *record, int err, uint64_t offset,
			      size_t moved, size_t len, bool reading)
{
	if (err == 0)
		return squib_fail(
		    SQUIB_E_IO, "%s: the %s ended at record offset %" PRIu64 " (%zu of %zu bytes)",
		    record->caller, record->stream ? "stream" : "file", offset + moved, moved, len);
	return squib_fail(SQUIB_E_IO, "%s: %s fd %d at record offset %" PRIu64 ": %s",
			  record->caller, reading ? "reading" : "writing", record->fd,
			  offset + moved, strerror(err));
}

/* Steps iov[0, *count) past n bytes that moved. */
static struct iovec *iov_advance(struct iovec *iov, int *count, size_t n)
{
	while (*count > 0 && n >= iov->iov_len) {
		n -= iov->iov_len;
		iov++;
		--*count;
	}
	if (*count > 0) {
		iov->iov_base = (char *)iov->iov_base + n;
		iov->iov_len -= n;
	}
	return iov;
}

/* One vectored call at the record's place. */
static ssize_t move_once(const struct record_fd *record, const struct iovec *iov, int count,
			 uint64_t at, bool reading)
{
	if (record->stream)
		return reading ? readv(record->fd, iov, count) : writev(record->fd, iov, count);
	return reading ? preadv(record->fd, iov, count, (off_t)at)
		       : pwritev(record->fd, iov, count, (off_t)at);
}

/* Moves every byte of iov[0, count), len in all, retrying short counts and
 * EINTR; iov is consumed. */
static squib_status_t record_movev(struct record_fd *record, struct iovec *iov, int count,
				   size_t len, uint64_t offset, bool reading)
{
	size_t moved = 0;

	iov = iov_advance(iov, &count, 0); /* empty buffers first */
	while (count > 0) {
		ssize_t n = move_once(record, iov, count, offset + moved, reading);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return fail_io(record, n < 0 ? errno : (reading ? 0 : ENOSPC), offset,
				       moved, len, reading);
		moved += (size_t)n;
		iov = iov_advance(iov, &count, (size_t)n);
	}
	if (record->stream)
		record->at += len;
	return SQUIB_OK;
}

squib_status_t record_write(struct record_fd *record, const void *buf, size_t len, uint64_t offset)
{
	struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};

	return record_movev(record, &iov, 1, len, offset, false);
}

squib_status_t record_read(struct record_fd *record, void *buf, size_t len, uint64_t offset)
{
	struct iovec iov = {.iov_base = buf, .iov_len = len};

	return record_movev(record, &iov, 1, len, offset, true);
}

squib_status_t record_write2(struct record_fd *record, const void *a, size_t a_len, const void *b,
			     size_t b_len, uint64_t offset)
{
	struct iovec iov[2] = {{.iov_base = (void *)a, .iov_len = a_len},
			       {.iov_base = (void *)b, .iov_len = b_len}};

	return record_movev(record, iov, 2, a_len + b_len, offset, false);
}

squib_status_t record_read2(struct record_fd *record, void *a, size_t a_len, void *b, size_t b_len,
			    uint64_t offset)
{
	struct iovec iov[2] = {{.iov_base = a, .iov_len = a_len},
			       {.iov_base = b, .iov_len = b_len}};

	return record_movev(record, iov, 2, a_len + b_len, offset, true);
}
