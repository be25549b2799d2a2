/* SPDX-License-Identifier: MIT */
/* Internal: setting the thread-local error message. Not installed. */
#ifndef SQUIB_LIB_ERROR_H
#define SQUIB_LIB_ERROR_H

#include <squib/error.h>

#include "compiler.h"

/* Formats the thread's error message and returns @status, so that a failure
 * is one line: return squib_fail(SQUIB_E_..., "...", ...). Cold and out of
 * line so that no formatting code sits on a hot path. */
SQUIB_COLD SQUIB_PRINTF(2, 3) squib_status_t
    squib_fail(squib_status_t status, const char *fmt, ...);

/* squib_fail() for a failed host request: the status follows err (ENOMEM
 * and EAGAIN are a shortage of memory, SQUIB_E_NO_MEMORY; anything else is
 * SQUIB_E_IO) and the message ends with err's text and number. */
SQUIB_COLD SQUIB_PRINTF(2, 3) squib_status_t squib_fail_errno(int err, const char *fmt, ...);

/* The same with the status given. */
SQUIB_COLD SQUIB_PRINTF(3, 4) squib_status_t
    squib_fail_status_errno(squib_status_t status, int err, const char *fmt, ...);

/* printf format of a guest-physical address in every message. */
#define SQUIB_GPA_FMT "0x%016" PRIx64

#endif
