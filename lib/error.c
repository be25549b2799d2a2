/* SPDX-License-Identifier: MIT */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

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
