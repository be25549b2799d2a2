/* SPDX-License-Identifier: MIT */
/*
 * Internal: the codec of the snapshot format (docs/SNAPSHOT.md). It turns
 * the format's structures into bytes and back and checks every rule of
 * the format, and knows no handle and no file descriptor, so that it can
 * be fuzzed on its own. A check that fails fills a snap_error with the
 * record offset of the offending field and what was wrong. Not installed.
 */
#ifndef SQUIB_LIB_SNAPSHOT_FORMAT_H
#define SQUIB_LIB_SNAPSHOT_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SNAP_VERSION 1u
#define SNAP_HEADER_BYTES 64u
#define SNAP_REGION_BYTES 96u
#define SNAP_RUN_BYTES 32u
#define SNAP_PAGE 4096u
#define SNAP_NAME_BYTES 32u
#define SNAP_MAX_REGIONS 1048576u
/* The most pages one DATA run carries: a writer checksums a run's bytes
 * from a buffer this big. A ZERO run carries no bytes and has no cap, so
 * an untouched region of any size is one run. */
#define SNAP_RUN_MAX_PAGES 256u

enum snap_kind { SNAP_KIND_FILE = 1, SNAP_KIND_STREAM = 2 };

#define SNAP_INCREMENTAL 0x1u

/* The region flags a record keeps (a region's file is not part of it). */
#define SNAP_REGION_FLAGS 0x3fdu

enum snap_run_type { SNAP_RUN_DATA = 1, SNAP_RUN_ZERO = 2, SNAP_RUN_END = 3 };

struct snap_header {
	uint32_t kind;
	uint32_t flags;
	uint32_t region_count;
	uint64_t record_bytes;	   /* file records */
	uint64_t run_table_offset; /* file records */
	uint64_t run_count;	   /* file records */
	uint32_t header_crc;
};

struct snap_region {
	uint64_t base;
	uint64_t size;
	uint32_t slot;
	uint32_t prot;
	uint32_t flags;
	uint64_t data_offset; /* file records */
	char name[SNAP_NAME_BYTES];
};

struct snap_run {
	uint32_t type;
	uint32_t region;
	uint64_t first_page;
	uint64_t page_count;
	uint32_t data_crc;
};

struct snap_error {
	uint64_t offset; /* in the record */
	char what[160];
};

/* Encoding. The header's CRC covers its first 60 bytes and the region
 * table: encode the header with any header_crc, the table after it, then
 * snap_header_seal() the header with the CRC of both. */
void snap_header_encode(const struct snap_header *header, uint8_t out[SNAP_HEADER_BYTES]);
void snap_region_encode(const struct snap_region *region, uint8_t out[SNAP_REGION_BYTES]);
void snap_run_encode(const struct snap_run *run, uint8_t out[SNAP_RUN_BYTES]);
/* The running CRC of a header's sealed part (start it with the header). */
uint32_t snap_header_crc_start(const uint8_t header[SNAP_HEADER_BYTES]);
void snap_header_seal(uint8_t header[SNAP_HEADER_BYTES], uint32_t crc);

/* Decoding, each with the format's checks of the one structure. */
bool snap_header_decode(const uint8_t in[SNAP_HEADER_BYTES], struct snap_header *header,
			struct snap_error *error);
/* index: the entry's place in the table (it names the offset). */
bool snap_region_decode(const uint8_t in[SNAP_REGION_BYTES], const struct snap_header *header,
			uint32_t index, struct snap_region *region, struct snap_error *error);
bool snap_run_decode(const uint8_t in[SNAP_RUN_BYTES], uint64_t offset, struct snap_run *run,
		     struct snap_error *error);

/* Record offset of region entry index. */
static inline uint64_t snap_region_offset(uint32_t index)
{
	return SNAP_HEADER_BYTES + (uint64_t)index * SNAP_REGION_BYTES;
}

/* Pages of a region (docs/SNAPSHOT.md numbering). */
static inline uint64_t snap_region_pages(const struct snap_region *region)
{
	return (region->base + (region->size - 1)) / SNAP_PAGE - region->base / SNAP_PAGE + 1;
}

/* The bytes of pages [first_page, first_page + page_count) of a region,
 * clipped to it: their offset in the region and their length. The pages
 * must exist. */
void snap_run_span(const struct snap_region *region, uint64_t first_page, uint64_t page_count,
		   uint64_t *offset, uint64_t *len);

/*
 * The checks that involve several structures, made as they arrive, so that
 * a reader never holds more than one entry it has not checked.
 */

/* Region index follows the one before it (sorted, no overlap) and, in a
 * file record, its span follows the last span (end_of_spans, updated;
 * start it at the end of the region table). */
bool snap_region_follows(const struct snap_header *header, const struct snap_region *previous,
			 const struct snap_region *region, uint32_t index, uint64_t *end_of_spans,
			 struct snap_error *error);

/* A region's slot and its place in the table, for snap_slots_unique(). */
struct snap_slot {
	uint32_t slot;
	uint32_t index;
};

/* Every slot once; slots holds each entry's, sorted here in place. A
 * repeat is reported at the slot field of the later entry. */
bool snap_slots_unique(struct snap_slot *slots, uint32_t count, struct snap_error *error);

/* Where the runs of a record have got to. Start it zeroed. */
struct snap_run_cursor {
	uint64_t runs;	    /* runs seen */
	uint32_t region;    /* region of the last run */
	uint64_t next_page; /* first page the next run of that region may start at */
};

/* run (read at offset) may come next: right type for the record's kind,
 * an existing region and pages, in order, without overlap and, in a
 * record that is not incremental, without a gap. For END it checks the
 * count and that nothing is left uncovered. */
bool snap_run_next(struct snap_run_cursor *cursor, const struct snap_header *header,
		   const struct snap_region *regions, const struct snap_run *run, uint64_t offset,
		   struct snap_error *error);

/* A file record's runs are all read (its run table has no END): the same
 * final checks as END. */
bool snap_runs_finish(struct snap_run_cursor *cursor, const struct snap_header *header,
		      const struct snap_region *regions, uint64_t offset, struct snap_error *error);

#endif
