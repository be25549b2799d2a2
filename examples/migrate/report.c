/* SPDX-License-Identifier: MIT */
/* The printing and comparing of report.h. */
#define _GNU_SOURCE /* clock_gettime in clock.h */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "guest.h"
#include "report.h"

bool report_ok(squib_status_t status, const char *call)
{
	if (status == SQUIB_OK)
		return true;
	(void)fprintf(stderr, "example_migrate: %s: %s (%s)\n", call, squib_strerror(status),
		      squib_last_error());
	return false;
}

void report_header(void)
{
	(void)printf("%5s  %-5s  %11s  %12s  %9s  %9s\n", "round", "phase", "dirty pages", "bytes",
		     "ms", "MB/s");
}

double round_bandwidth(const struct round *round)
{
	return round->ns ? (double)round->bytes * 1e9 / (double)round->ns : 0.0;
}

void report_round(unsigned index, const struct round *round)
{
	char dirty[24] = "-";

	if (round->dirty_pages != NOT_COUNTED)
		(void)snprintf(dirty, sizeof(dirty), "%" PRIu64, round->dirty_pages);
	(void)printf("%5u  %-5s  %11s  %12" PRIu64 "  %9.2f  %9.1f\n", index, round->phase, dirty,
		     round->bytes, ns_to_ms(round->ns), round_bandwidth(round) / 1e6);
	(void)fflush(stdout);
}

static void print_summary(const char *end, const struct region_summary *s)
{
	(void)printf("  %-11s slot %" PRIu32 " %-6s [0x%09" PRIx64 ", +%6" PRIu64
		     " KiB) prot 0x%" PRIx32 " flags 0x%03" PRIx32 " %-5s fnv1a 0x%016" PRIx64 "\n",
		     end, s->slot, s->name, s->base, s->size / KIB, s->prot, s->flags,
		     s->has_fd ? "memfd" : "anon", s->hash);
}

static bool same(const struct region_summary *a, const struct region_summary *b)
{
	return a->base == b->base && a->size == b->size && a->slot == b->slot &&
	       a->prot == b->prot && a->flags == b->flags && a->has_fd == b->has_fd &&
	       a->hash == b->hash && strcmp(a->name, b->name) == 0;
}

bool report_compare(const struct region_summary *source, size_t source_count,
		    const struct region_summary *destination, size_t destination_count)
{
	bool good = source_count == destination_count;

	if (!good)
		(void)printf("MISMATCH: the source has %zu regions, the destination %zu\n",
			     source_count, destination_count);
	for (size_t i = 0; i < source_count || i < destination_count; i++) {
		bool agree =
		    i < source_count && i < destination_count && same(&source[i], &destination[i]);

		if (agree) {
			print_summary("both", &source[i]);
			continue;
		}
		good = false;
		(void)printf("MISMATCH in region %zu:\n", i);
		if (i < source_count)
			print_summary("source", &source[i]);
		if (i < destination_count)
			print_summary("destination", &destination[i]);
	}
	return good;
}
