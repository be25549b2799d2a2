/* SPDX-License-Identifier: MIT */
/*
 * squib_mem_save() (squib/snapshot.h, docs/SNAPSHOT.md).
 *
 * The guest may keep writing while it is saved (a pre-copy migration), so
 * every run's bytes are first copied into a buffer of one run's size and
 * checksummed and written from there: what the checksum covers is what
 * went out. Whether a page is all zeros is asked of the guest's page
 * itself: a page found zero goes in a ZERO run, and one that is not is
 * copied, zeros or not by then, with its checksum; either is the page as
 * it was at some moment of the save, which is all a running guest allows.
 *
 * The dirty bitmaps of the regions that log are harvested (and cleared,
 * with SQUIB_SAVE_CLEAR_DIRTY) before any page is copied, so that a write
 * racing with the save is in this record or sets its bit again for the
 * next; if the save fails, what the harvest cleared is put back.
 *
 * With SQUIB_SAVE_HELPER_THREAD the pages are copied and checksummed on a
 * thread of the save's own while the calling thread writes the runs
 * before them (lib/save_ring.h): the copy then costs no time the write
 * does not already take. The record is the same byte for byte.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backing.h"
#include "compiler.h"
#include "crc32c.h"
#include "dirty_log.h"
#include "error.h"
#include "host.h"
#include "mem_internal.h"
#include "save_ring.h"
#include "snapshot_format.h"
#include "snapshot_io.h"

#define SAVE_FLAGS                                                                                 \
	(SQUIB_SAVE_STREAM | SQUIB_SAVE_DIRTY_ONLY | SQUIB_SAVE_CLEAR_DIRTY |                      \
	 SQUIB_SAVE_HELPER_THREAD)
#define RUN_BUFFER_BYTES ((size_t)SNAP_RUN_MAX_PAGES * SNAP_PAGE)

static const char *const caller = "squib_mem_save";

/* One run being built or written: its entry, and a DATA run's bytes. */
struct run_slot {
	struct snap_run run;
	uint64_t data_at; /* a file record: where the bytes go */
	size_t len;	  /* bytes in data */
	uint8_t *data;	  /* RUN_BUFFER_BYTES */
};

/* What one save holds. */
struct save {
	squib_mem_t *mem;
	const struct table *table;
	uint32_t flags;
	struct record_fd out;
	const uint64_t *data_offsets; /* a file record: where each region's span begins */
	uint64_t **harvested; /* [count]: the bits taken from each logging region, or NULL */
	uint8_t *buffers;     /* the slots' data, one after another */
	struct run_slot slots[SAVE_RING_SLOTS];
	struct save_ring *ring; /* with a helper thread, else NULL: one slot */
	uint8_t *runs;		/* file records: the run table, encoded */
	uint64_t run_count;
	uint64_t run_capacity;
};

static uint64_t align_up(uint64_t value, uint64_t align)
{
	return (value + align - 1) / align * align;
}

/*
 * Guest memory that the guest (or another thread's library write) may be
 * writing meanwhile: a race by design, as squib_mem_read()'s copy races a
 * guest's stores, and why the save checksums its own copy. In a
 * ThreadSanitizer build both functions are plain loops outside its view
 * (its memcpy interceptor would look), which would otherwise report the
 * guest's race as the library's.
 */
#if defined(__SANITIZE_THREAD__)
__attribute__((no_sanitize_thread)) static bool guest_is_zero(const uint8_t *at, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (at[i])
			return false;
	return true;
}

__attribute__((no_sanitize_thread)) static void copy_guest(uint8_t *to, const uint8_t *from,
							   size_t len)
{
	for (size_t i = 0; i < len; i++)
		to[i] = from[i];
}
#else
/* Whether the guest's len bytes are all zero. A page of data usually
 * shows a non-zero byte in its first line, so the scan stops at the first
 * 64 bytes that hold one instead of reading the whole page. */
static bool guest_is_zero(const uint8_t *at, size_t len)
{
	uint64_t any = 0;
	size_t i = 0;

	for (; i + 64 <= len && !any; i += 64) {
		uint64_t line[8];

		memcpy(line, at + i, sizeof(line));
		any = line[0] | line[1] | line[2] | line[3] | line[4] | line[5] | line[6] | line[7];
	}
	for (; i < len && !any; i++)
		any = at[i];
	return any == 0;
}

static void copy_guest(uint8_t *to, const uint8_t *from, size_t len)
{
	memcpy(to, from, len);
}
#endif

/* ---- the dirty bitmaps ---- */

static bool logs(const struct region *region)
{
	return region->flags & SQUIB_REGION_DIRTY_LOG;
}

static struct dirty_log *log_of(const struct region *region)
{
	return atomic_load_explicit(&region->backing->dirty, memory_order_relaxed);
}

static void free_harvests(struct save *save, bool restore)
{
	if (!save->harvested)
		return;
	for (size_t i = 0; i < save->table->count; i++) {
		if (!save->harvested[i])
			continue;
		if (restore)
			dirty_log_restore(log_of(&save->table->regions[i]), save->harvested[i]);
		squib_host_free(save->harvested[i]);
	}
	squib_host_free(save->harvested);
	save->harvested = NULL;
}

/* Harvests every logging region when the flags need it. */
static squib_status_t harvest(struct save *save)
{
	const struct table *table = save->table;

	if (!(save->flags & (SQUIB_SAVE_DIRTY_ONLY | SQUIB_SAVE_CLEAR_DIRTY)) || !table->count)
		return SQUIB_OK;
	save->harvested = squib_host_alloc(table->count * sizeof(*save->harvested));
	if (!save->harvested)
		return squib_fail(SQUIB_E_NO_MEMORY, "%s: cannot allocate %zu bitmap pointers",
				  caller, table->count);
	for (size_t i = 0; i < table->count; i++) {
		save->harvested[i] = NULL;
		SQUIB_NOT_A_LIBCALL();
	}
	for (size_t i = 0; i < table->count; i++) {
		const struct region *region = &table->regions[i];
		size_t words;
		squib_status_t status;

		if (!logs(region))
			continue;
		words = log_of(region)->words;
		save->harvested[i] = squib_host_alloc(words * sizeof(uint64_t));
		if (!save->harvested[i])
			return squib_fail(SQUIB_E_NO_MEMORY,
					  "%s: cannot allocate %zu bitmap words of slot %" PRIu32,
					  caller, words, region->slot);
		/* An incremental record carries nothing of a read-only region:
		 * its bits are not the record's to clear. */
		status = dirty_harvest_locked(save->mem, region, save->harvested[i],
					      (save->flags & SQUIB_SAVE_CLEAR_DIRTY) &&
						  !((save->flags & SQUIB_SAVE_DIRTY_ONLY) &&
						    (region->flags & SQUIB_REGION_READONLY)));
		if (status != SQUIB_OK) {
			squib_host_free(save->harvested[i]);
			save->harvested[i] = NULL;
			return status;
		}
	}
	return SQUIB_OK;
}

/* Whether the record carries page `page` of region i. */
static bool carried(const struct save *save, size_t i, uint64_t page)
{
	const struct region *region = &save->table->regions[i];

	if (!(save->flags & SQUIB_SAVE_DIRTY_ONLY))
		return true;
	/* Nothing can have written it: not the guest, not the library. */
	if (region->flags & SQUIB_REGION_READONLY)
		return false;
	if (!logs(region))
		return true;
	return (save->harvested[i][page / 64] >> (page % 64)) & 1u;
}

/* ---- runs ---- */

static void region_of(const struct region *region, struct snap_region *out)
{
	*out = (struct snap_region){.base = region->base,
				    .size = region->size,
				    .slot = region->slot,
				    .prot = region->prot,
				    .flags = region->flags & SNAP_REGION_FLAGS};
	memcpy(out->name, region->backing->name, sizeof(out->name) - 1);
	out->name[sizeof(out->name) - 1] = '\0';
}

static squib_status_t keep_run(struct save *save, const uint8_t encoded[SNAP_RUN_BYTES])
{
	if (save->run_count == save->run_capacity) {
		uint64_t capacity = save->run_capacity ? 2 * save->run_capacity : 256;
		uint8_t *grown = squib_host_alloc((size_t)capacity * SNAP_RUN_BYTES);

		if (!grown)
			return squib_fail(SQUIB_E_NO_MEMORY,
					  "%s: cannot allocate a run table of %" PRIu64 " runs",
					  caller, capacity);
		if (save->runs)
			memcpy(grown, save->runs, (size_t)save->run_count * SNAP_RUN_BYTES);
		squib_host_free(save->runs);
		save->runs = grown;
		save->run_capacity = capacity;
	}
	memcpy(save->runs + save->run_count * SNAP_RUN_BYTES, encoded, SNAP_RUN_BYTES);
	save->run_count++;
	return SQUIB_OK;
}

/* Writes out the run in slot: a stream record's entry and bytes, or a
 * file record's bytes, its entry kept for the run table. The calling
 * thread's work, in the order the runs were built. */
static squib_status_t emit_run(struct save *save, const struct run_slot *slot)
{
	uint8_t encoded[SNAP_RUN_BYTES];
	squib_status_t status;

	snap_run_encode(&slot->run, encoded);
	if (save->out.stream) {
		status = record_write2(&save->out, encoded, sizeof(encoded), slot->data, slot->len,
				       save->out.at);
		save->run_count++;
		return status;
	}
	if (slot->run.type == SNAP_RUN_DATA) {
		status = record_write(&save->out, slot->data, slot->len, slot->data_at);
		if (status != SQUIB_OK)
			return status;
	}
	return keep_run(save, encoded);
}

/* A helper thread's publish found the calling thread stopped (by a failed
 * write, whose status it reports): the runs end. Never returned by the
 * save. */
#define SAVE_STOPPED SQUIB_E_IO

/* Ends the run in *slot, if any: written now, or with a helper thread
 * handed to the calling thread and *slot moved to the next free one. */
static squib_status_t deliver(struct save *save, struct run_slot **slot)
{
	squib_status_t status = SQUIB_OK;

	if (!(*slot)->run.page_count)
		return SQUIB_OK;
	if (save->ring) {
		int next = save_ring_publish(save->ring);

		if (next < 0)
			return SAVE_STOPPED;
		*slot = &save->slots[next];
	} else {
		status = emit_run(save, *slot);
	}
	(*slot)->run.page_count = 0;
	(*slot)->len = 0;
	return status;
}

/*
 * The runs of region i (its index in the table), page by page, built in
 * *slot: a run grows while its pages are carried and of one kind (all
 * zeros or not), and a DATA run while it has fewer than
 * SNAP_RUN_MAX_PAGES. A DATA run's bytes gather in the slot, its checksum
 * with them.
 */
static squib_status_t save_region(struct save *save, uint32_t i, struct run_slot **slot)
{
	const struct region *region = &save->table->regions[i];
	uint64_t data_offset = save->data_offsets ? save->data_offsets[i] : 0;
	struct snap_region described;
	uint64_t pages;
	squib_status_t status = SQUIB_OK;

	region_of(region, &described);
	pages = snap_region_pages(&described);
	for (uint64_t page = 0; page < pages && status == SQUIB_OK; page++) {
		struct run_slot *at;
		uint64_t offset, len;
		uint32_t type;

		if (!carried(save, i, page) || ((*slot)->run.type == SNAP_RUN_DATA &&
						(*slot)->run.page_count == SNAP_RUN_MAX_PAGES)) {
			status = deliver(save, slot);
			if (status != SQUIB_OK || !carried(save, i, page))
				continue;
		}
		snap_run_span(&described, page, 1, &offset, &len);
		type = guest_is_zero(region->host + offset, (size_t)len) ? SNAP_RUN_ZERO
									 : SNAP_RUN_DATA;
		if ((*slot)->run.page_count && (*slot)->run.type != type) {
			status = deliver(save, slot);
			if (status != SQUIB_OK)
				continue;
		}
		at = *slot;
		if (!at->run.page_count) {
			at->run = (struct snap_run){.type = type, .region = i, .first_page = page};
			at->data_at = data_offset + region->base % SNAP_PAGE + offset;
		}
		at->run.page_count++;
		if (type == SNAP_RUN_DATA) {
			/* Checksummed now, while the page just copied is in
			 * the L1 cache; the run's bytes are the pages' bytes
			 * in order. */
			copy_guest(at->data + at->len, region->host + offset, (size_t)len);
			at->run.data_crc =
			    crc32c_update(at->run.data_crc, at->data + at->len, (size_t)len);
			at->len += (size_t)len;
		}
	}
	if (status == SQUIB_OK)
		status = deliver(save, slot);
	return status;
}

/* Every region's runs, in order. */
static squib_status_t save_regions(struct save *save, struct run_slot *slot)
{
	squib_status_t status = SQUIB_OK;

	for (size_t i = 0; i < save->table->count && status == SQUIB_OK; i++)
		status = save_region(save, (uint32_t)i, &slot);
	return status;
}

/* ---- the helper thread ---- */

static void *helper_main(void *arg)
{
	struct save *save = arg;

	squib_host_thread_name("squib-save");
	(void)save_regions(save, &save->slots[0]);
	save_ring_finish(save->ring);
	return NULL;
}

/* The calling thread's side: writes each run the helper hands over. */
static squib_status_t write_handed_runs(struct save *save)
{
	squib_status_t status = SQUIB_OK;
	int slot;

	while ((slot = save_ring_take(save->ring)) >= 0) {
		status = emit_run(save, &save->slots[slot]);
		save_ring_release(save->ring);
		if (status != SQUIB_OK) {
			save_ring_stop(save->ring);
			break;
		}
	}
	return status;
}

/* The runs of every region, on a helper thread where the flags allow one
 * and it starts (and in the calling thread where it does not). */
static squib_status_t write_runs(struct save *save)
{
	struct save_ring ring;
	pthread_t helper;
	squib_status_t status;

	if (!(save->flags & SQUIB_SAVE_HELPER_THREAD) || !save->table->count ||
	    save_ring_init(&ring) != 0)
		return save_regions(save, &save->slots[0]);
	save->ring = &ring;
	if (squib_host_thread_start(&helper, helper_main, save) == 0) {
		status = write_handed_runs(save);
		squib_host_thread_join(helper);
	} else {
		save->ring = NULL;
		status = save_regions(save, &save->slots[0]);
	}
	save->ring = NULL;
	save_ring_destroy(&ring);
	return status;
}

/* ---- the record ---- */

/* Where each region's span begins in a file record, and where the spans
 * end: after the table, page-aligned, in order. */
static uint64_t file_layout(const struct table *table, uint64_t *data_offsets)
{
	uint64_t at = align_up(snap_region_offset((uint32_t)table->count), SNAP_PAGE);

	for (size_t i = 0; i < table->count; i++) {
		const struct region *region = &table->regions[i];
		uint64_t pages =
		    (region->base + (region->size - 1)) / SNAP_PAGE - region->base / SNAP_PAGE + 1;

		data_offsets[i] = at;
		at += pages * SNAP_PAGE;
	}
	return at;
}

/* The header and the region table, encoded and sealed, in one block of
 * *bytes bytes. */
static uint8_t *encode_front(const struct save *save, const struct snap_header *header,
			     const uint64_t *data_offsets, size_t *bytes)
{
	const struct table *table = save->table;
	uint8_t *front;

	*bytes = (size_t)snap_region_offset((uint32_t)table->count);
	front = squib_host_alloc(*bytes);
	if (!front)
		return NULL;
	snap_header_encode(header, front);
	for (size_t i = 0; i < table->count; i++) {
		struct snap_region described;

		region_of(&table->regions[i], &described);
		if (data_offsets)
			described.data_offset = data_offsets[i];
		snap_region_encode(&described, front + snap_region_offset((uint32_t)i));
	}
	snap_header_seal(front,
			 crc32c_update(snap_header_crc_start(front), front + SNAP_HEADER_BYTES,
				       *bytes - SNAP_HEADER_BYTES));
	return front;
}

static squib_status_t save_stream(struct save *save, struct snap_header *header)
{
	uint8_t end[SNAP_RUN_BYTES], *front;
	size_t bytes;
	squib_status_t status;

	front = encode_front(save, header, NULL, &bytes);
	if (!front)
		return squib_fail(SQUIB_E_NO_MEMORY, "%s: cannot allocate a table of %zu regions",
				  caller, save->table->count);
	status = record_write(&save->out, front, bytes, 0);
	squib_host_free(front);
	if (status == SQUIB_OK)
		status = write_runs(save);
	if (status != SQUIB_OK)
		return status;
	snap_run_encode(&(struct snap_run){.type = SNAP_RUN_END, .first_page = save->run_count},
			end);
	return record_write(&save->out, end, sizeof(end), save->out.at);
}

static squib_status_t save_file(struct save *save, struct snap_header *header)
{
	const struct table *table = save->table;
	uint64_t *data_offsets = NULL, spans_end;
	uint8_t *front;
	size_t bytes;
	squib_status_t status = SQUIB_OK;
	int err;

	if (table->count) {
		data_offsets = squib_host_alloc(table->count * sizeof(*data_offsets));
		if (!data_offsets)
			return squib_fail(SQUIB_E_NO_MEMORY,
					  "%s: cannot allocate the layout of %zu regions", caller,
					  table->count);
	}
	spans_end = file_layout(table, data_offsets);
	/* The record replaces the file: its holes must read as zeros. */
	if (ftruncate(save->out.fd, 0) != 0) {
		err = errno;
		squib_host_free(data_offsets);
		return squib_fail(SQUIB_E_IO, "%s: cannot truncate fd %d: %s", caller, save->out.fd,
				  strerror(err));
	}
	save->data_offsets = data_offsets;
	status = write_runs(save);
	save->data_offsets = NULL;
	if (status == SQUIB_OK && save->run_count)
		status = record_write(&save->out, save->runs,
				      (size_t)save->run_count * SNAP_RUN_BYTES, spans_end);
	if (status != SQUIB_OK) {
		squib_host_free(data_offsets);
		return status;
	}
	header->run_table_offset = spans_end;
	header->run_count = save->run_count;
	header->record_bytes = spans_end + save->run_count * SNAP_RUN_BYTES;
	front = encode_front(save, header, data_offsets, &bytes);
	squib_host_free(data_offsets);
	if (!front)
		return squib_fail(SQUIB_E_NO_MEMORY, "%s: cannot allocate a table of %zu regions",
				  caller, table->count);
	/* Written last: a save that fails before leaves no valid header. */
	status = record_write(&save->out, front, bytes, 0);
	squib_host_free(front);
	if (status == SQUIB_OK && ftruncate(save->out.fd, (off_t)header->record_bytes) != 0) {
		err = errno;
		status = squib_fail(SQUIB_E_IO, "%s: cannot size fd %d to %" PRIu64 " bytes: %s",
				    caller, save->out.fd, header->record_bytes, strerror(err));
	}
	return status;
}

static squib_status_t save_locked(squib_mem_t *mem, int fd, uint32_t flags)
{
	struct save save = {
	    .mem = mem,
	    .table = mem_table_locked(mem),
	    .flags = flags,
	    .out = {.fd = fd, .stream = flags & SQUIB_SAVE_STREAM, .caller = caller}};
	struct snap_header header = {.kind = save.out.stream ? SNAP_KIND_STREAM : SNAP_KIND_FILE,
				     .flags = flags & SQUIB_SAVE_DIRTY_ONLY ? SNAP_INCREMENTAL : 0,
				     .region_count = (uint32_t)save.table->count};
	size_t buffers;
	squib_status_t status;

	if (save.table->count > SNAP_MAX_REGIONS)
		return squib_fail(SQUIB_E_UNSUPPORTED, "%s: %zu regions, the format holds %u",
				  caller, save.table->count, SNAP_MAX_REGIONS);
	/* One run's buffer, or one for each slot of the helper's ring. */
	buffers = flags & SQUIB_SAVE_HELPER_THREAD ? SAVE_RING_SLOTS : 1;
	save.buffers = squib_host_alloc(buffers * RUN_BUFFER_BYTES);
	if (!save.buffers)
		return squib_fail(SQUIB_E_NO_MEMORY,
				  "%s: cannot allocate %zu run buffers of %zu bytes", caller,
				  buffers, RUN_BUFFER_BYTES);
	for (size_t k = 0; k < buffers; k++)
		save.slots[k].data = save.buffers + k * RUN_BUFFER_BYTES;
	status = harvest(&save);
	if (status == SQUIB_OK)
		status = save.out.stream ? save_stream(&save, &header) : save_file(&save, &header);
	free_harvests(&save, status != SQUIB_OK);
	squib_host_free(save.runs);
	squib_host_free(save.buffers);
	return status;
}

squib_status_t squib_mem_save(squib_mem_t *mem, int fd, const squib_snapshot_opts_t *opts)
{
	struct stat st;
	uint32_t flags;
	squib_status_t status;

	if (!mem)
		return squib_fail(SQUIB_E_INVALID_ARGUMENT, "%s: mem is NULL", caller);
	if (fd < 0)
		return squib_fail(SQUIB_E_INVALID_ARGUMENT, "%s: fd %d is negative", caller, fd);
	status = snapshot_flags(opts, SAVE_FLAGS, caller, &flags);
	if (status != SQUIB_OK)
		return status;
	if (!(flags & SQUIB_SAVE_STREAM) && (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)))
		return squib_fail(SQUIB_E_INVALID_ARGUMENT,
				  "%s: fd %d is not a regular file; save to it with "
				  "SQUIB_SAVE_STREAM",
				  caller, fd);
	/* Every write of an O_APPEND fd goes to its end, whatever offset it
	 * names: a file record could not be laid out. */
	if (!(flags & SQUIB_SAVE_STREAM) && (fcntl(fd, F_GETFL) & O_APPEND))
		return squib_fail(SQUIB_E_INVALID_ARGUMENT,
				  "%s: fd %d is open O_APPEND; a file record needs positioned "
				  "writes (or save it with SQUIB_SAVE_STREAM)",
				  caller, fd);
	status = mem_mutation_lock(mem, caller);
	if (status != SQUIB_OK)
		return status;
	status = save_locked(mem, fd, flags);
	mem_mutation_unlock(mem);
	return status;
}
