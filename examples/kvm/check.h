/* SPDX-License-Identifier: MIT */
/*
 * The monitor's checks: each prints one line, "ok" or "FAIL", with the
 * values it compared, so a log shows what was verified and not only that
 * nothing failed. Failures are counted; the monitor exits non-zero on any.
 */
#ifndef SQUIB_KVM_EXAMPLE_CHECK_H
#define SQUIB_KVM_EXAMPLE_CHECK_H

#include <stdbool.h>

#include <squib/core.h>

/* Prints and counts one check; returns @p ok. */
__attribute__((format(printf, 2, 3))) bool check(bool ok, const char *fmt, ...);

/* check() that a call returned @p want; on a mismatch the line also shows
 * squib_last_error(). */
bool check_status(squib_status_t got, squib_status_t want, const char *call);

/* A section heading in the log. */
void check_section(const char *title);

/* Prints the totals; returns the number of checks that failed. */
unsigned check_summary(void);

#endif
