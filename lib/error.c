/* SPDX-License-Identifier: MIT */
/* The XSI strerror_r, which returns an int, on glibc as elsewhere. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "error.h"

/* The only mutable state of the library besides the reader registry: one
 * message per thread. A plain array, so it needs no destructor at thread
 * exit and nothing dangles after dlclose(). */
static _Thread_local char last_error[256];

const char *squib_strerror(squib_status_t status)
{
	switch (status) {
	case SQUIB_OK:
		return "success";
	case SQUIB_E_INVALID_ARGUMENT:
		return "invalid argument";
	case SQUIB_E_OUT_OF_RANGE:
		return "guest memory out of range";
	case SQUIB_E_NO_MEMORY:
		return "out of host memory";
	case SQUIB_E_OVERLAP:
		return "region overlaps a registered region";
	case SQUIB_E_SLOT_IN_USE:
		return "slot already in use";
	case SQUIB_E_NOT_FOUND:
		return "no region with that slot";
	case SQUIB_E_UNSUPPORTED:
		return "not supported by this host or build";
	case SQUIB_E_IO:
		return "file or socket I/O failed";
	case SQUIB_E_BUSY:
		return "busy: not allowed in the current state";
	case SQUIB_E_READ_ONLY:
		return "region is read-only";
	case SQUIB_E_NO_SPACE:
		return "caller's array is too small";
	case SQUIB_E_CORRUPT:
		return "snapshot or stream is corrupt";
	}
	return "unknown status";
}

const char *squib_last_error(void)
{
	return last_error;
}

squib_status_t squib_fail(squib_status_t status, const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	(void)vsnprintf(last_error, sizeof(last_error), fmt, args);
	va_end(args);
	return status;
}

SQUIB_PRINTF(3, 0)
static squib_status_t fail_errno_v(squib_status_t status, int err, const char *fmt, va_list args)
{
	char buf[96];
	int used = vsnprintf(last_error, sizeof(last_error), fmt, args);
	const char *text = strerror_r(err, buf, sizeof(buf)) == 0 ? buf : "unknown error";

	if (used >= 0 && (size_t)used < sizeof(last_error))
		(void)snprintf(last_error + used, sizeof(last_error) - (size_t)used,
			       ": %s (errno %d)", text, err);
	return status;
}

squib_status_t squib_fail_errno(int err, const char *fmt, ...)
{
	va_list args;
	squib_status_t status = err == ENOMEM || err == EAGAIN ? SQUIB_E_NO_MEMORY : SQUIB_E_IO;

	va_start(args, fmt);
	status = fail_errno_v(status, err, fmt, args);
	va_end(args);
	return status;
}

squib_status_t squib_fail_status_errno(squib_status_t status, int err, const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	status = fail_errno_v(status, err, fmt, args);
	va_end(args);
	return status;
}
