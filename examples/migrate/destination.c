/* SPDX-License-Identifier: MIT */
/*
 * The destination: an empty handle that becomes the guest. The first record
 * (full) is loaded into it as it is; each later one (the dirty pages of a
 * round) is applied onto the layout the first created. Every record is
 * acknowledged once applied; at DONE it hashes every region and sends the
 * summaries back, for the source to compare.
 */
#include <stdio.h>
#include <stdlib.h>

#include <squib/core.h>

#include "guest.h"
#include "migrate.h"
#include "proto.h"

static bool send_summary(int sock, const squib_mem_t *mem, uint32_t round)
{
	struct region_summary summary[GUEST_REGIONS_MAX];
	uint8_t bytes[GUEST_REGIONS_MAX][SUMMARY_BYTES];
	size_t count;

	if (!guest_summarise(mem, summary, GUEST_REGIONS_MAX, &count))
		return false;
	for (size_t i = 0; i < count; i++)
		summary_encode(&summary[i], bytes[i]);
	return frame_send(sock, &(struct frame){.type = FRAME_SUMMARY,
						.round = round,
						.arg = (uint32_t)count}) &&
	       write_all(sock, bytes, count * SUMMARY_BYTES, "the summaries");
}

/* Loads the record that follows a RECORD frame; acknowledges it either way. */
static bool load_record(int sock, squib_mem_t *mem, const struct frame *frame)
{
	squib_snapshot_opts_t opts = SQUIB_SNAPSHOT_OPTS_INIT;
	squib_status_t status;

	if (frame->arg != RECORD_FULL && frame->arg != RECORD_DIRTY) {
		(void)fprintf(stderr, "example_migrate: destination: a record of kind %u\n",
			      frame->arg);
		return false;
	}
	opts.flags = frame->arg == RECORD_FULL ? 0 : SQUIB_LOAD_APPLY;
	status = squib_mem_load(mem, sock, &opts);
	if (status != SQUIB_OK)
		(void)fprintf(stderr,
			      "example_migrate: destination: round %u: squib_mem_load: %s (%s)\n",
			      frame->round, squib_strerror(status), squib_last_error());
	return frame_send(sock, &(struct frame){.type = FRAME_ACK,
						.round = frame->round,
						.arg = (uint32_t)status}) &&
	       status == SQUIB_OK;
}

int run_destination(int sock)
{
	squib_mem_t *mem = NULL;
	squib_status_t status = squib_mem_new(&mem);
	bool good = status == SQUIB_OK, done = false;

	if (!good)
		(void)fprintf(stderr, "example_migrate: destination: squib_mem_new: %s\n",
			      squib_strerror(status));
	while (good && !done) {
		struct frame frame;

		good = frame_recv(sock, 0, &frame);
		if (!good)
			break;
		switch (frame.type) {
		case FRAME_RECORD:
			good = load_record(sock, mem, &frame);
			break;
		case FRAME_DONE:
			good = send_summary(sock, mem, frame.round);
			done = true;
			break;
		default:
			(void)fprintf(stderr, "example_migrate: destination: frame type %u\n",
				      frame.type);
			good = false;
		}
	}
	squib_mem_free(mem);
	return good ? EXIT_SUCCESS : EXIT_FAILURE;
}
