/* SPDX-License-Identifier: MIT */
/*
 * squib_mem_load() (squib/snapshot.h, docs/SNAPSHOT.md).
 *
 * The input is untrusted. Every structure is checked by the codec
 * (lib/snapshot_format.c) as it arrives, before anything depends on it; the
 * region table is read in pieces, so a record claiming a million regions
 * costs memory only as far as its bytes go; page data goes straight into
 * the guest memory its run names, and its checksum is checked there.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backing.h"
#include "compiler.h"
#include "crc32c.h"
#include "dirty_log.h"
#include "error.h"
#include "host.h"
#include "mem_internal.h"
#include "snapshot_format.h"
#include "snapshot_io.h"

#define LOAD_FLAGS (SQUIB_LOAD_MAP_PRIVATE | SQUIB_LOAD_APPLY)
#define TABLE_CHUNK ((uint32_t)64) /* region entries read at a time */
#define RUN_CHUNK ((uint64_t)128)  /* file run-table entries read at a time */

static const char *const caller = "squib_mem_load";

/* Where the pages of one region of the record go. */
struct target {
	uint8_t *host;	  /* guest memory, or the ROM's staging copy; NULL: mapped, skip */
	uint8_t *staging; /* a read-only region's bytes until it is added */
	const struct region *region; /* once it is in the table (for dirty marks) */
	bool compare;		     /* APPLY onto a read-only region: must equal */
};

struct load {
	squib_mem_t *mem;
	uint32_t flags;
	struct record_fd in;
	struct snap_header header;
	int64_t start;		     /* the fd's position when the load began, -1 if it has none */
	struct snap_region *regions; /* [capacity], header.region_count once read */
	uint32_t capacity;
	struct target *targets;
	uint8_t *buffer; /* a run's bytes, for comparing */
};

static squib_status_t fail_corrupt(const struct snap_error *error)
{
	return squib_fail(SQUIB_E_CORRUPT, "%s: corrupt record at byte %" PRIu64 ": %s", caller,
			  error->offset, error->what);
}

static squib_status_t fail_corrupt_at(uint64_t offset, const char *what)
{
	return squib_fail(SQUIB_E_CORRUPT, "%s: corrupt record at byte %" PRIu64 ": %s", caller,
			  offset, what);
}

/* ---- header and table ---- */

/* A file record fills its file from offset 0, exactly. */
static squib_status_t check_file(struct load *load)
{
	struct stat st;
	char what[128];

	if (load->in.at != SNAP_HEADER_BYTES || load->start != 0) {
		(void)snprintf(what, sizeof(what),
			       "a file record must start at offset 0 of its file, not %" PRId64,
			       load->start);
		return fail_corrupt_at(12, what);
	}
	if (fstat(load->in.fd, &st) != 0) {
		int err = errno;

		return squib_fail(SQUIB_E_IO, "%s: cannot stat fd %d: %s", caller, load->in.fd,
				  strerror(err));
	}
	if ((uint64_t)st.st_size != load->header.record_bytes) {
		(void)snprintf(what, sizeof(what),
			       "the file is %" PRId64 " bytes, the record %" PRIu64 " (%s)",
			       (int64_t)st.st_size, load->header.record_bytes,
			       (uint64_t)st.st_size > load->header.record_bytes ? "trailing garbage"
										: "truncated");
		return fail_corrupt_at(32, what);
	}
	/* From here on at record offsets. */
	load->in.stream = false;
	return SQUIB_OK;
}

/* Room for the first `count` regions: the table grows as it arrives, so
 * that memory follows the bytes actually read. */
static squib_status_t grow_regions(struct load *load, uint32_t count)
{
	struct snap_region *grown;
	uint32_t capacity;

	if (count <= load->capacity)
		return SQUIB_OK;
	capacity = load->capacity ? load->capacity : TABLE_CHUNK;
	while (capacity < count)
		capacity *= 2;
	if (capacity > load->header.region_count)
		capacity = load->header.region_count;
	grown = squib_host_alloc(capacity * sizeof(*grown));
	if (!grown)
		return squib_fail(SQUIB_E_NO_MEMORY,
				  "%s: cannot allocate a table of %" PRIu32 " regions", caller,
				  capacity);
	if (load->regions)
		memcpy(grown, load->regions, load->capacity * sizeof(*grown));
	squib_host_free(load->regions);
	load->regions = grown;
	load->capacity = capacity;
	return SQUIB_OK;
}

/* Region entries [first, first + n) of the table, from chunk (n of them,
 * encoded); *end_of_spans as snap_region_follows(). */
static squib_status_t decode_regions(struct load *load, const uint8_t *chunk, uint32_t first,
				     uint32_t n, uint64_t *end_of_spans)
{
	struct snap_error error;

	for (uint32_t k = 0; k < n; k++) {
		uint32_t i = first + k;

		if (!snap_region_decode(chunk + (size_t)k * SNAP_REGION_BYTES, &load->header, i,
					&load->regions[i], &error) ||
		    !snap_region_follows(&load->header, i ? &load->regions[i - 1] : NULL,
					 &load->regions[i], i, end_of_spans, &error))
			return fail_corrupt(&error);
	}
	return SQUIB_OK;
}

/* The region table, a chunk at a time, with the header's checksum. */
static squib_status_t read_table(struct load *load, uint32_t crc)
{
	uint32_t count = load->header.region_count;
	uint64_t end_of_spans = snap_region_offset(count);
	uint8_t *chunk = squib_host_alloc((size_t)TABLE_CHUNK * SNAP_REGION_BYTES);
	squib_status_t status = SQUIB_OK;

	if (!chunk)
		return squib_fail(SQUIB_E_NO_MEMORY, "%s: cannot allocate a table buffer", caller);
	for (uint32_t first = 0; first < count && status == SQUIB_OK; first += TABLE_CHUNK) {
		uint32_t n = count - first < TABLE_CHUNK ? count - first : TABLE_CHUNK;
		size_t bytes = (size_t)n * SNAP_REGION_BYTES;

		status = record_read(&load->in, chunk, bytes, snap_region_offset(first));
		if (status == SQUIB_OK)
			status = grow_regions(load, first + n);
		if (status == SQUIB_OK) {
			crc = crc32c_update(crc, chunk, bytes);
			status = decode_regions(load, chunk, first, n, &end_of_spans);
		}
	}
	squib_host_free(chunk);
	if (status == SQUIB_OK && crc != load->header.header_crc)
		status = fail_corrupt_at(60, "the header checksum does not match the header and "
					     "the region table");
	return status;
}

static squib_status_t read_front(struct load *load)
{
	uint8_t bytes[SNAP_HEADER_BYTES];
	struct snap_error error;
	squib_status_t status = record_read(&load->in, bytes, sizeof(bytes), 0);

	if (status != SQUIB_OK)
		return status;
	if (!snap_header_decode(bytes, &load->header, &error))
		return fail_corrupt(&error);
	if (load->header.kind == SNAP_KIND_FILE) {
		status = check_file(load);
		if (status != SQUIB_OK)
			return status;
	}
	return read_table(load, snap_header_crc_start(bytes));
}

/* A file record's padding between the region table and the first span
 * (less than a page) is zero: a cheap check that catches a flipped bit
 * there too. The rest of what no structure covers is for squib-mem verify
 * (docs/SNAPSHOT.md). */
static squib_status_t check_padding(struct load *load)
{
	uint64_t from = snap_region_offset(load->header.region_count);
	uint64_t to = load->header.region_count ? load->regions[0].data_offset
						: load->header.run_table_offset;
	uint8_t bytes[SNAP_PAGE];
	squib_status_t status;

	if (load->header.kind != SNAP_KIND_FILE || to - from > sizeof(bytes))
		return SQUIB_OK; /* (the first span may begin pages later: then unchecked) */
	status = record_read(&load->in, bytes, (size_t)(to - from), from);
	if (status != SQUIB_OK)
		return status;
	for (uint64_t i = 0; i < to - from; i++)
		if (bytes[i])
			return fail_corrupt_at(from + i,
					       "the padding after the region table is not zero");
	return SQUIB_OK;
}

static squib_status_t check_slots(const struct load *load)
{
	uint32_t count = load->header.region_count;
	struct snap_slot *slots;
	struct snap_error error;
	bool unique;

	if (count < 2)
		return SQUIB_OK;
	slots = squib_host_alloc(count * sizeof(*slots));
	if (!slots)
		return squib_fail(SQUIB_E_NO_MEMORY, "%s: cannot allocate %" PRIu32 " slots",
				  caller, count);
	for (uint32_t i = 0; i < count; i++)
		slots[i] = (struct snap_slot){.slot = load->regions[i].slot, .index = i};
	unique = snap_slots_unique(slots, count, &error);
	squib_host_free(slots);
	return unique ? SQUIB_OK : fail_corrupt(&error);
}

/* ---- the layout ---- */

/* APPLY: the handle's regions are the record's (base, size, slot). */
static squib_status_t match_layout(struct load *load)
{
	const struct table *table = mem_table_locked(load->mem);
	char what[160];

	if (table->count != load->header.region_count) {
		(void)snprintf(what, sizeof(what),
			       "the record has %" PRIu32 " regions, the handle %zu",
			       load->header.region_count, table->count);
		return fail_corrupt_at(20, what);
	}
	for (uint32_t i = 0; i < load->header.region_count; i++) {
		const struct snap_region *want = &load->regions[i];
		const struct region *have = &table->regions[i];

		if (have->base != want->base || have->size != want->size ||
		    have->slot != want->slot) {
			(void)snprintf(what, sizeof(what),
				       "region %" PRIu32 " (slot %" PRIu32 ", 0x%016" PRIx64
				       ", %" PRIu64 " bytes) is not the handle's (slot %" PRIu32
				       ", 0x%016" PRIx64 ", %" PRIu64 " bytes)",
				       i, want->slot, want->base, want->size, have->slot,
				       have->base, have->size);
			return fail_corrupt_at(snap_region_offset(i), what);
		}
		load->targets[i] = (struct target){
		    .host = have->host,
		    .region = have,
		    .compare = have->flags & SQUIB_REGION_READONLY,
		};
	}
	return SQUIB_OK;
}

/* Whether a MAP_PRIVATE load maps region i rather than copying it: the
 * mapping needs host-page alignment of the range and of the file offset. */
static bool mapped(const struct load *load, uint32_t i)
{
	const struct snap_region *region = &load->regions[i];
	uint64_t page = backing_host_page();

	return (load->flags & SQUIB_LOAD_MAP_PRIVATE) &&
	       ((region->base | region->size | region->data_offset) & (page - 1)) == 0;
}

static squib_status_t add_region(struct load *load, uint32_t i, uint32_t flags, int fd,
				 uint64_t fd_offset, const void *bytes)
{
	const struct snap_region *region = &load->regions[i];
	squib_region_opts_t opts = SQUIB_REGION_OPTS_INIT;
	struct backing_request request;
	squib_status_t status;

	opts.range.base.raw = region->base;
	opts.range.size = region->size;
	opts.slot = region->slot;
	opts.prot = region->prot;
	opts.flags = flags;
	opts.fd = fd;
	opts.fd_offset = fd_offset;
	opts.bytes = bytes;
	opts.name = region->name;
	status = region_request_from_opts(&opts, &request);
	if (status == SQUIB_OK)
		status = mem_region_add_locked(load->mem, &request, region->slot, region->prot);
	if (status == SQUIB_E_INVALID_ARGUMENT) {
		/* The record describes a region no save could have made. */
		char what[160];

		(void)snprintf(what, sizeof(what), "region %" PRIu32 " cannot be made: %s", i,
			       squib_last_error());
		return fail_corrupt_at(snap_region_offset(i), what);
	}
	return status;
}

/* Without APPLY: the record's regions, read-only ones staged until their
 * bytes are in (a read-only mapping cannot be filled). */
static squib_status_t create_layout(struct load *load)
{
	const struct table *table;
	squib_status_t status = SQUIB_OK;

	for (uint32_t i = 0; i < load->header.region_count && status == SQUIB_OK; i++) {
		const struct snap_region *region = &load->regions[i];

		if (mapped(load, i)) {
			status = add_region(
			    load, i, region->flags | SQUIB_REGION_FILE | SQUIB_REGION_PRIVATE,
			    load->in.fd, region->data_offset, NULL);
		} else if (region->flags & SQUIB_REGION_READONLY) {
			load->targets[i].staging =
			    squib_host_map_anonymous((size_t)region->size, PROT_READ | PROT_WRITE,
						     MAP_PRIVATE | MAP_NORESERVE);
			if (!load->targets[i].staging)
				status = squib_fail_errno(errno,
							  "%s: cannot stage the %" PRIu64
							  " bytes of read-only slot %" PRIu32,
							  caller, region->size, region->slot);
			load->targets[i].host = load->targets[i].staging;
		} else {
			status = add_region(load, i, region->flags, -1, 0, NULL);
		}
	}
	if (status != SQUIB_OK)
		return status;
	/* The table is final until the staged regions go in: the runs may
	 * point into it. */
	table = mem_table_locked(load->mem);
	for (uint32_t i = 0; i < load->header.region_count; i++) {
		const struct region *region = table_find_slot(table, load->regions[i].slot);

		if (!region || load->targets[i].staging)
			continue;
		load->targets[i].region = region;
		if (!mapped(load, i))
			load->targets[i].host = region->host;
	}
	return SQUIB_OK;
}

static squib_status_t add_staged(struct load *load)
{
	squib_status_t status = SQUIB_OK;

	for (uint32_t i = 0; i < load->header.region_count && status == SQUIB_OK; i++)
		if (load->targets[i].staging)
			status = add_region(load, i, load->regions[i].flags, -1, 0,
					    load->targets[i].staging);
	return status;
}

/* ---- runs ---- */

static const uint8_t zero_page[SNAP_PAGE];

static squib_status_t fail_read_only(const struct snap_region *region, uint64_t offset,
				     uint64_t len)
{
	return squib_fail(SQUIB_E_READ_ONLY,
			  "%s: the record changes %" PRIu64 " bytes at 0x%016" PRIx64
			  " of read-only slot %" PRIu32,
			  caller, len, region->base + offset, region->slot);
}

static void mark(const struct target *target, uint64_t addr, uint64_t len)
{
	if (target->region && len)
		region_mark_writing(target->region, addr, len);
}

/* A ZERO run of APPLY: the pages become zeros. */
static squib_status_t apply_zeros(struct load *load, const struct target *target,
				  const struct snap_region *region, uint64_t offset, uint64_t len)
{
	(void)load;
	for (uint64_t at = 0; at < len; at += SNAP_PAGE) {
		size_t n = len - at < SNAP_PAGE ? (size_t)(len - at) : SNAP_PAGE;

		if (target->compare) {
			if (memcmp(target->host + offset + at, zero_page, n) != 0)
				return fail_read_only(region, offset, len);
		} else {
			memcpy(target->host + offset + at, zero_page, n);
		}
	}
	if (!target->compare)
		mark(target, region->base + offset, len);
	return SQUIB_OK;
}

/* Bytes a DATA run is read in: small enough that what a read brought in
 * is still in the L2 cache when it is checksummed. */
#define LOAD_PIECE ((size_t)256 * 1024)

/* Reads len bytes of a DATA run at data_at into `into` and returns their
 * CRC in *crc, a piece at a time. In a stream, the header of the run after
 * it comes with the last piece (a DATA run is never the last). */
static squib_status_t read_checksummed(struct load *load, uint8_t *into, size_t len, uint8_t *next,
				       uint64_t data_at, uint32_t *crc)
{
	*crc = 0;
	for (size_t at = 0; at < len;) {
		size_t piece = len - at < LOAD_PIECE ? len - at : LOAD_PIECE;
		bool last = at + piece == len;
		squib_status_t status =
		    last && next ? record_read2(&load->in, into + at, piece, next, SNAP_RUN_BYTES,
						data_at + at)
				 : record_read(&load->in, into + at, piece, data_at + at);

		if (status != SQUIB_OK)
			return status;
		*crc = crc32c_update(*crc, into + at, piece);
		at += piece;
	}
	return SQUIB_OK;
}

/* The run read at run_at (a record offset). In a stream its bytes follow
 * it; in a file they are at their place in the region's span. */
static squib_status_t apply_run(struct load *load, const struct snap_run *run, uint64_t run_at,
				uint8_t *next)
{
	const struct snap_region *region = &load->regions[run->region];
	const struct target *target = &load->targets[run->region];
	uint64_t offset, len, data_at;
	uint8_t *into;
	uint32_t crc;
	squib_status_t status;

	snap_run_span(region, run->first_page, run->page_count, &offset, &len);
	if (run->type == SNAP_RUN_ZERO && (load->flags & SQUIB_LOAD_APPLY))
		return apply_zeros(load, target, region, offset, len);
	/* A fresh region reads as zeros; a mapped one reads the file. Both
	 * were written by the load, as far as the dirty log goes. */
	if (run->type == SNAP_RUN_ZERO || !target->host) {
		mark(target, region->base + offset, len);
		return SQUIB_OK;
	}
	data_at =
	    load->in.stream ? load->in.at : region->data_offset + region->base % SNAP_PAGE + offset;
	into = target->compare ? load->buffer : target->host + offset;
	status = read_checksummed(load, into, (size_t)len, next, data_at, &crc);
	if (status != SQUIB_OK)
		return status;
	if (crc != run->data_crc) {
		char what[128];

		(void)snprintf(what, sizeof(what),
			       "data checksum 0x%08" PRIx32 " of the run's %" PRIu64
			       " bytes, computed 0x%08" PRIx32,
			       run->data_crc, len, crc);
		return fail_corrupt_at(run_at + 24, what);
	}
	if (target->compare && memcmp(into, target->host + offset, (size_t)len) != 0)
		return fail_read_only(region, offset, len);
	if (!target->compare)
		mark(target, region->base + offset, len);
	return SQUIB_OK;
}

static squib_status_t stream_runs(struct load *load)
{
	struct snap_run_cursor cursor = {0};
	struct snap_error error;
	uint8_t bytes[SNAP_RUN_BYTES];
	bool have_next = false;

	for (;;) {
		struct snap_run run;
		uint64_t at = load->in.at - (have_next ? SNAP_RUN_BYTES : 0);
		squib_status_t status =
		    have_next ? SQUIB_OK : record_read(&load->in, bytes, sizeof(bytes), at);

		if (status != SQUIB_OK)
			return status;
		if (!snap_run_decode(bytes, at, &run, &error) ||
		    !snap_run_next(&cursor, &load->header, load->regions, &run, at, &error))
			return fail_corrupt(&error);
		if (run.type == SNAP_RUN_END)
			return SQUIB_OK;
		have_next = run.type == SNAP_RUN_DATA;
		status = apply_run(load, &run, at, have_next ? bytes : NULL);
		if (status != SQUIB_OK)
			return status;
	}
}

/* Runs [first, first + n) of a file record's run table, from chunk. */
static squib_status_t apply_file_runs(struct load *load, struct snap_run_cursor *cursor,
				      const uint8_t *chunk, uint64_t first, uint64_t n)
{
	struct snap_error error;
	squib_status_t status = SQUIB_OK;

	for (uint64_t k = 0; k < n && status == SQUIB_OK; k++) {
		uint64_t at = load->header.run_table_offset + (first + k) * SNAP_RUN_BYTES;
		struct snap_run run;

		if (!snap_run_decode(chunk + k * SNAP_RUN_BYTES, at, &run, &error) ||
		    !snap_run_next(cursor, &load->header, load->regions, &run, at, &error))
			status = fail_corrupt(&error);
		else
			status = apply_run(load, &run, at, NULL);
	}
	return status;
}

static squib_status_t file_runs(struct load *load)
{
	struct snap_run_cursor cursor = {0};
	struct snap_error error;
	uint64_t count = load->header.run_count, table = load->header.run_table_offset;
	uint8_t *chunk = squib_host_alloc((size_t)(RUN_CHUNK * SNAP_RUN_BYTES));
	squib_status_t status = SQUIB_OK;

	if (!chunk)
		return squib_fail(SQUIB_E_NO_MEMORY, "%s: cannot allocate a run buffer", caller);
	for (uint64_t first = 0; first < count && status == SQUIB_OK; first += RUN_CHUNK) {
		uint64_t n = count - first < RUN_CHUNK ? count - first : RUN_CHUNK;

		status = record_read(&load->in, chunk, (size_t)(n * SNAP_RUN_BYTES),
				     table + first * SNAP_RUN_BYTES);
		if (status == SQUIB_OK)
			status = apply_file_runs(load, &cursor, chunk, first, n);
	}
	squib_host_free(chunk);
	if (status == SQUIB_OK && !snap_runs_finish(&cursor, &load->header, load->regions,
						    load->header.record_bytes, &error))
		status = fail_corrupt(&error);
	return status;
}

/* ---- the load ---- */

static void load_release(struct load *load)
{
	if (load->targets) {
		for (uint32_t i = 0; i < load->header.region_count; i++)
			if (load->targets[i].staging)
				squib_host_unreserve(load->targets[i].staging,
						     (size_t)load->regions[i].size);
		squib_host_free(load->targets);
	}
	squib_host_free(load->regions);
	squib_host_free(load->buffer);
}

static squib_status_t check_supported(const struct load *load)
{
	if (!(load->flags & SQUIB_LOAD_MAP_PRIVATE))
		return SQUIB_OK;
	if (load->header.kind == SNAP_KIND_STREAM)
		return squib_fail(SQUIB_E_UNSUPPORTED,
				  "%s: SQUIB_LOAD_MAP_PRIVATE of a stream record, which has no "
				  "file to map",
				  caller);
	for (uint32_t i = 0; i < load->header.region_count; i++)
		if (load->regions[i].flags & (SQUIB_REGION_SHARED | SQUIB_REGION_HUGETLB))
			return squib_fail(SQUIB_E_UNSUPPORTED,
					  "%s: SQUIB_LOAD_MAP_PRIVATE of slot %" PRIu32
					  ", a %s region: a private file mapping cannot be one",
					  caller, load->regions[i].slot,
					  load->regions[i].flags & SQUIB_REGION_SHARED ? "SHARED"
										       : "HUGETLB");
	return SQUIB_OK;
}

static squib_status_t load_locked(struct load *load)
{
	uint32_t count;
	squib_status_t status = read_front(load);

	if (status == SQUIB_OK)
		status = check_slots(load);
	if (status == SQUIB_OK)
		status = check_padding(load);
	if (status == SQUIB_OK)
		status = check_supported(load);
	if (status != SQUIB_OK)
		return status;
	count = load->header.region_count;
	load->targets = count ? squib_host_alloc(count * sizeof(*load->targets)) : NULL;
	if (count && !load->targets)
		return squib_fail(SQUIB_E_NO_MEMORY, "%s: cannot allocate %" PRIu32 " targets",
				  caller, count);
	/* Before anything can fail: load_release() looks at every one. */
	for (uint32_t i = 0; i < count; i++) {
		load->targets[i] = (struct target){0};
		SQUIB_NOT_A_LIBCALL();
	}
	load->buffer = squib_host_alloc((size_t)SNAP_RUN_MAX_PAGES * SNAP_PAGE);
	if (!load->buffer)
		return squib_fail(SQUIB_E_NO_MEMORY, "%s: cannot allocate a run buffer of %u bytes",
				  caller, SNAP_RUN_MAX_PAGES * SNAP_PAGE);
	status = (load->flags & SQUIB_LOAD_APPLY) ? match_layout(load) : create_layout(load);
	if (status == SQUIB_OK)
		status =
		    load->header.kind == SNAP_KIND_STREAM ? stream_runs(load) : file_runs(load);
	if (status == SQUIB_OK && !(load->flags & SQUIB_LOAD_APPLY))
		status = add_staged(load);
	return status;
}

squib_status_t squib_mem_load(squib_mem_t *mem, int fd, const squib_snapshot_opts_t *opts)
{
	struct load load = {.mem = mem, .in = {.fd = fd, .stream = true, .caller = caller}};
	struct table *empty = NULL;
	squib_status_t status;

	if (!mem)
		return squib_fail(SQUIB_E_INVALID_ARGUMENT, "%s: mem is NULL", caller);
	if (fd < 0)
		return squib_fail(SQUIB_E_INVALID_ARGUMENT, "%s: fd %d is negative", caller, fd);
	status = snapshot_flags(opts, LOAD_FLAGS, caller, &load.flags);
	if (status != SQUIB_OK)
		return status;
	if ((load.flags & SQUIB_LOAD_MAP_PRIVATE) && (load.flags & SQUIB_LOAD_APPLY))
		return squib_fail(SQUIB_E_UNSUPPORTED,
				  "%s: SQUIB_LOAD_MAP_PRIVATE with SQUIB_LOAD_APPLY: this library "
				  "copies the pages it applies",
				  caller);
	status = mem_mutation_lock(mem, caller);
	if (status != SQUIB_OK)
		return status;
	if (!(load.flags & SQUIB_LOAD_APPLY)) {
		if (mem_table_locked(mem)->count) {
			mem_mutation_unlock(mem);
			return squib_fail(SQUIB_E_BUSY,
					  "%s: the handle has %zu regions; load into an empty one "
					  "or use SQUIB_LOAD_APPLY",
					  caller, mem_table_locked(mem)->count);
		}
		/* Made first, so that undoing a failed load cannot fail. */
		empty = table_new_empty();
		if (!empty) {
			mem_mutation_unlock(mem);
			return squib_fail(SQUIB_E_NO_MEMORY, "%s: cannot allocate an empty table",
					  caller);
		}
	}
	load.start = lseek(fd, 0, SEEK_CUR);
	status = load_locked(&load);
	/* Past the record, as a stream load leaves its fd. */
	if (status == SQUIB_OK && load.header.kind == SNAP_KIND_FILE)
		(void)lseek(fd, (off_t)load.header.record_bytes, SEEK_SET);
	if (empty) {
		if (status != SQUIB_OK && mem_table_locked(mem)->count)
			mem_reset_locked(mem, empty);
		else
			table_free(empty);
	}
	mem_mutation_unlock(mem);
	load_release(&load);
	return status;
}
