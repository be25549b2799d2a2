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

static squib_status_t record_move(struct record_fd *record, void *buf, size_t len, uint64_t offset,
				  bool reading)
{
	size_t moved = 0;

	while (moved < len) {
		struct iovec iov = {.iov_base = (char *)buf + moved, .iov_len = len - moved};
		ssize_t n;

		if (record->stream)
			n = reading ? readv(record->fd, &iov, 1) : writev(record->fd, &iov, 1);
		else if (reading)
			n = preadv(record->fd, &iov, 1, (off_t)(offset + moved));
		else
			n = pwritev(record->fd, &iov, 1, (off_t)(offset + moved));
		if (n > 0) {
			moved += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		return fail_io(record, n < 0 ? errno : (reading ? 0 : ENOSPC), offset, moved, len,
			       reading);
	}
	if (record->stream)
		record->at += len;
	return SQUIB_OK;
}

squib_status_t record_write(struct record_fd *record, const void *buf, size_t len, uint64_t offset)
{
	return record_move(record, (void *)buf, len, offset, false);
}

squib_status_t record_read(struct record_fd *record, void *buf, size_t len, uint64_t offset)
{
	return record_move(record, buf, len, offset, true);
}
