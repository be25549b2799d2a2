/* SPDX-License-Identifier: MIT */
/* What the source prints: the rounds, the totals, the comparison of the
 * two ends' region summaries. */
#ifndef SQUIB_MIGRATE_REPORT_H
#define SQUIB_MIGRATE_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <squib/core.h>

#include "proto.h"

#define NOT_COUNTED UINT64_MAX

/* True for SQUIB_OK; otherwise prints the call, the status and
 * squib_last_error() and returns false. */
bool report_ok(squib_status_t status, const char *call);

/* One round: a record sent and applied. */
struct round {
	const char *phase;    /* "full", "live" or "final" */
	uint64_t dirty_pages; /* counted just before it, or NOT_COUNTED */
	uint64_t bytes;	      /* the record's bytes, its frame not included */
	uint64_t ns;	      /* from the frame's send to the acknowledgement */
};

void report_header(void);
void report_round(unsigned index, const struct round *round);

/* Bytes per second of a round (0 for a round that took no time). */
double round_bandwidth(const struct round *round);

/* Compares the source's summaries with the destination's, printing every
 * region and every difference; true when they agree in every field. */
bool report_compare(const struct region_summary *source, size_t source_count,
		    const struct region_summary *destination, size_t destination_count);

#endif
