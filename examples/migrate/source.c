/* SPDX-License-Identifier: MIT */
/*
 * The source: pre-copy migration of a running guest.
 *
 *   1. The full record (SQUIB_SAVE_STREAM) while the writers run. Dirty
 *      logging was on before it, so every write from then on is in a later
 *      round.
 *   2. Live rounds: just before each, the dirty pages are counted (the
 *      bitmaps read without clearing); if sending them at the bandwidth of
 *      the previous round would fit the downtime target, or the round limit
 *      is reached, the live phase ends. Otherwise a record of the dirty
 *      pages goes (SQUIB_SAVE_DIRTY_ONLY | SQUIB_SAVE_CLEAR_DIRTY, which
 *      clears what it sends atomically: a page written meanwhile is in this
 *      record or the next). This is cloud-hypervisor's rule.
 *   3. The guest pauses (the writers stop and are joined) and the last
 *      dirty pages go: the downtime runs from the pause until the
 *      destination acknowledges that record applied.
 *   4. DONE: the destination hashes its regions and sends the summaries;
 *      they must equal the source's, field by field.
 */
#define _GNU_SOURCE /* clock_gettime in clock.h */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include <squib/core.h>

#include "clock.h"
#include "guest.h"
#include "migrate.h"
#include "proto.h"
#include "relay.h"
#include "report.h"
#include "vcpu_writer.h"
#include "writers.h"

#define ROUNDS_MAX 1002u /* the full one, up to 1000 live ones, the final one */
#define ROM_CODE_MAX (16 * KIB)

struct source {
	const struct options *opts;
	squib_mem_t *mem;
	int sock;
	struct relay *relay;
	struct vcpu_writer *vcpu; /* NULL without --kvm or without KVM */
	uint64_t *bitmap;	  /* room for the largest RAM region's dirty log */
	uint64_t moved;		  /* what the relay had moved after the last round */
	uint64_t frames;	  /* bytes of our own frames among them */
	uint64_t acked;		  /* when the last acknowledgement came */
	struct round rounds[ROUNDS_MAX];
	unsigned count;
};

static size_t bitmap_words(const struct guest_ram *ram)
{
	return (size_t)((ram->size / GUEST_PAGE + 63) / 64);
}

static size_t bitmap_words_max(void)
{
	size_t words = 0;

	for (unsigned i = 0; i < GUEST_RAMS; i++)
		if (bitmap_words(&guest_rams[i]) > words)
			words = bitmap_words(&guest_rams[i]);
	return words;
}

/* The pages dirty now in every RAM region; nothing is cleared. */
static bool count_dirty(struct source *s, uint64_t *pages)
{
	uint64_t count = 0;

	for (unsigned i = 0; i < GUEST_RAMS; i++) {
		size_t words = bitmap_words(&guest_rams[i]);

		if (!report_ok(
			squib_mem_get_dirty_log(s->mem, guest_rams[i].slot, s->bitmap, words, 0),
			"squib_mem_get_dirty_log"))
			return false;
		for (size_t w = 0; w < words; w++)
			count += (uint64_t)__builtin_popcountll(s->bitmap[w]);
	}
	*pages = count;
	return true;
}

/* Sends one record and waits until the destination has applied it. */
static bool send_round(struct source *s, const char *phase, uint32_t flags, uint64_t dirty)
{
	squib_snapshot_opts_t opts = SQUIB_SNAPSHOT_OPTS_INIT;
	struct round *round = &s->rounds[s->count];
	uint32_t number = s->count;
	struct frame ack;
	uint64_t start = now_ns(), moved;
	bool good;

	/* A helper thread copies and checksums while this one sends. */
	opts.flags = flags | (s->opts->helper_thread ? SQUIB_SAVE_HELPER_THREAD : 0);
	if (!frame_send(relay_fd(s->relay),
			&(struct frame){.type = FRAME_RECORD,
					.round = number,
					.arg = flags & SQUIB_SAVE_DIRTY_ONLY ? RECORD_DIRTY
									     : RECORD_FULL}) ||
	    !report_ok(squib_mem_save(s->mem, relay_fd(s->relay), &opts), "squib_mem_save") ||
	    !relay_flush(s->relay, &moved))
		return false;
	good = frame_recv(s->sock, FRAME_ACK, &ack);
	s->acked = now_ns();
	if (!good)
		return false;
	if (ack.round != number || ack.arg != (uint32_t)SQUIB_OK) {
		(void)fprintf(stderr,
			      "example_migrate: round %" PRIu32
			      ": the destination answered round %" PRIu32 " with %s\n",
			      number, ack.round, squib_strerror((squib_status_t)(int32_t)ack.arg));
		return false;
	}
	*round = (struct round){.phase = phase,
				.dirty_pages = dirty,
				.bytes = moved - s->moved - FRAME_BYTES,
				.ns = s->acked - start};
	s->moved = moved;
	s->frames += FRAME_BYTES;
	s->count++;
	report_round(number, round);
	return true;
}

/* The live rounds; *why says what ended them. */
static bool live_rounds(struct source *s, const char **why)
{
	const uint32_t flags = SQUIB_SAVE_STREAM | SQUIB_SAVE_DIRTY_ONLY | SQUIB_SAVE_CLEAR_DIRTY;

	for (unsigned live = 0;; live++) {
		const struct round *last = &s->rounds[s->count - 1];
		double bandwidth = round_bandwidth(last);
		uint64_t dirty;
		double expected_ns;

		if (!count_dirty(s, &dirty))
			return false;
		expected_ns = bandwidth > 0 ? (double)(dirty * GUEST_PAGE) * 1e9 / bandwidth : 0;
		if (expected_ns <= (double)s->opts->downtime_ns) {
			*why = "converged";
			(void)printf("       %" PRIu64
				     " dirty pages at %.1f MB/s: %.2f ms <= %.2f ms\n",
				     dirty, bandwidth / 1e6, expected_ns / 1e6,
				     ns_to_ms(s->opts->downtime_ns));
			return true;
		}
		if (live == s->opts->max_rounds) {
			*why = "round limit";
			(void)printf("       %" PRIu64
				     " dirty pages at %.1f MB/s: %.2f ms > %.2f ms,"
				     " but %u live rounds are the limit\n",
				     dirty, bandwidth / 1e6, expected_ns / 1e6,
				     ns_to_ms(s->opts->downtime_ns), live);
			return true;
		}
		if (!send_round(s, "live", flags, dirty))
			return false;
	}
}

/* Asks for the destination's summaries and compares them with ours. */
static bool compare_ends(struct source *s)
{
	struct region_summary mine[GUEST_REGIONS_MAX], theirs[GUEST_REGIONS_MAX];
	uint8_t bytes[SUMMARY_BYTES];
	size_t mine_count, theirs_count;
	struct frame frame;

	if (!frame_recv(s->sock, FRAME_SUMMARY, &frame))
		return false;
	if (frame.arg > GUEST_REGIONS_MAX) {
		(void)fprintf(stderr, "example_migrate: the destination has %" PRIu32 " regions\n",
			      frame.arg);
		return false;
	}
	theirs_count = frame.arg;
	for (size_t i = 0; i < theirs_count; i++) {
		if (!read_all(s->sock, bytes, sizeof(bytes), "a summary"))
			return false;
		summary_decode(bytes, &theirs[i]);
	}
	if (!guest_summarise(s->mem, mine, GUEST_REGIONS_MAX, &mine_count))
		return false;
	(void)printf("regions (layout and FNV-1a of every byte), source and destination:\n");
	if (!report_compare(mine, mine_count, theirs, theirs_count))
		return false;
	(void)printf("both ends agree on all %zu regions\n", mine_count);
	return true;
}

static void print_totals(const struct source *s, uint64_t ns, uint64_t downtime, uint64_t writes,
			 const char *why)
{
	uint64_t records = s->moved - s->frames;

	(void)printf("saves: %s\n", s->opts->helper_thread
					? "pages copied on the library's helper thread"
					: "pages copied on the sending thread");
	(void)printf("rounds: %u (1 full, %u live, 1 final; the live phase ended: %s)\n", s->count,
		     s->count - 2, why);
	(void)printf("sent: %" PRIu64 " bytes of records and %" PRIu64 " of frames, %" PRIu64
		     " in all, in %.2f ms: %.1f MB/s\n",
		     records, s->frames, s->moved, ns_to_ms(ns),
		     (double)s->moved * 1e3 / (double)ns);
	(void)printf("downtime: %.2f ms (the guest paused until the last record was applied;"
		     " target %.2f ms)\n",
		     ns_to_ms(downtime), ns_to_ms(s->opts->downtime_ns));
	(void)printf("writers: %" PRIu64 " writes by %u threads (%.0f/s)\n", writes,
		     s->opts->writers, (double)writes * 1e9 / (double)(ns - downtime));
}

static bool migrate(struct source *s)
{
	const uint32_t last = SQUIB_SAVE_STREAM | SQUIB_SAVE_DIRTY_ONLY | SQUIB_SAVE_CLEAR_DIRTY;
	struct writers *writers = writers_start(s->mem, s->opts->writers, s->opts->rate);
	const char *why = "";
	uint64_t start = now_ns(), paused, writes = 0, dirty;
	bool good;

	if (!writers)
		return false;
	report_header();
	good = send_round(s, "full", SQUIB_SAVE_STREAM, NOT_COUNTED) && live_rounds(s, &why);
	paused = now_ns();
	writers_pause(writers);
	if (s->vcpu)
		good = vcpu_writer_pause(s->vcpu) && good;
	good = writers_join(writers, &writes) && good;
	good = good && count_dirty(s, &dirty) && send_round(s, "final", last, dirty);
	if (!good)
		return false;
	print_totals(s, s->acked - start, s->acked - paused, writes, why);
	return true;
}

/* The guest, and with --kvm its vCPU (running from here on). */
static bool start_guest(struct source *s)
{
	static uint8_t code[ROM_CODE_MAX];
	size_t len = 0;
	bool skipped = false;

	if (s->opts->kvm_plugin) {
		s->vcpu = vcpu_writer_open(s->opts->kvm_guest, code, sizeof(code), &len, &skipped);
		if (!s->vcpu && !skipped)
			return false;
	}
	s->mem = guest_create(s->vcpu ? code : NULL, len);
	return s->mem && (!s->vcpu || vcpu_writer_start(s->vcpu, s->mem, s->opts->kvm_plugin,
							s->opts->kvm_lib));
}

int run_source(const struct options *opts, int sock)
{
	struct source *s = calloc(1, sizeof(*s));
	bool good;

	if (!s) {
		(void)fprintf(stderr, "example_migrate: out of memory\n");
		return EXIT_FAILURE;
	}
	s->opts = opts;
	s->sock = sock;
	s->bitmap = calloc(bitmap_words_max(), sizeof(uint64_t));
	good = s->bitmap && start_guest(s) && (s->relay = relay_start(sock));
	good = good && migrate(s);
	if (good) {
		good = frame_send(relay_fd(s->relay),
				  &(struct frame){.type = FRAME_DONE, .round = s->count});
		s->frames += FRAME_BYTES;
	}
	if (s->relay)
		good = relay_stop(s->relay) && good;
	good = good && compare_ends(s);
	if (good && s->vcpu)
		vcpu_writer_report(s->vcpu, s->mem);
	vcpu_writer_close(s->vcpu); /* before the handle goes */
	squib_mem_free(s->mem);
	free(s->bitmap);
	free(s);
	return good ? EXIT_SUCCESS : EXIT_FAILURE;
}
