/* SPDX-License-Identifier: MIT */
/*
 * The monitor's checks (check.h).
 */
#include "check.h"

#include <stdarg.h>
#include <stdio.h>

static unsigned passed, failed;

bool check(bool ok, const char *fmt, ...)
{
	va_list args;

	printf("  %s ", ok ? "ok  " : "FAIL");
	va_start(args, fmt);
	(void)vprintf(fmt, args);
	va_end(args);
	putchar('\n');
	if (ok)
		passed++;
	else
		failed++;
	return ok;
}

bool check_status(squib_status_t got, squib_status_t want, const char *call)
{
	if (got == want)
		return check(true, "%s: %s", call, squib_strerror(got));
	return check(false, "%s: %s (%d), want %s (%d); %s", call, squib_strerror(got), (int)got,
		     squib_strerror(want), (int)want, squib_last_error());
}

void check_section(const char *title)
{
	printf("%s\n", title);
}

unsigned check_summary(void)
{
	printf("%u checks passed, %u failed\n", passed, failed);
	return failed;
}
