/* SPDX-License-Identifier: MIT */
/* The snapshot codec (lib/snapshot_format.h, docs/SNAPSHOT.md). */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <squib/backing.h>

#include "crc32c.h"
#include "snapshot_format.h"

static const uint8_t snap_magic[8] = {'S', 'Q', 'U', 'I', 'B', 'S', 'N', 'P'};

static void put_u32(uint8_t *at, uint32_t value)
{
	for (unsigned i = 0; i < 4; i++)
		at[i] = (uint8_t)(value >> (8 * i));
}

static void put_u64(uint8_t *at, uint64_t value)
{
	for (unsigned i = 0; i < 8; i++)
		at[i] = (uint8_t)(value >> (8 * i));
}

static uint32_t get_u32(const uint8_t *at)
{
	uint32_t value = 0;

	for (unsigned i = 0; i < 4; i++)
		value |= (uint32_t)at[i] << (8 * i);
	return value;
}

static uint64_t get_u64(const uint8_t *at)
{
	uint64_t value = 0;

	for (unsigned i = 0; i < 8; i++)
		value |= (uint64_t)at[i] << (8 * i);
	return value;
}

static bool all_zero(const uint8_t *at, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (at[i])
			return false;
	return true;
}

__attribute__((format(printf, 3, 4))) static bool corrupt(struct snap_error *error, uint64_t offset,
							  const char *fmt, ...)
{
	va_list args;

	error->offset = offset;
	va_start(args, fmt);
	(void)vsnprintf(error->what, sizeof(error->what), fmt, args);
	va_end(args);
	return false;
}

/* ---- encoding ---- */

void snap_header_encode(const struct snap_header *header, uint8_t out[SNAP_HEADER_BYTES])
{
	memcpy(out, snap_magic, sizeof(snap_magic));
	put_u32(out + 8, SNAP_VERSION);
	put_u32(out + 12, header->kind);
	put_u32(out + 16, header->flags);
	put_u32(out + 20, header->region_count);
	put_u64(out + 24, SNAP_PAGE);
	put_u64(out + 32, header->record_bytes);
	put_u64(out + 40, header->run_table_offset);
	put_u64(out + 48, header->run_count);
	put_u32(out + 56, 0);
	put_u32(out + 60, header->header_crc);
}

uint32_t snap_header_crc_start(const uint8_t header[SNAP_HEADER_BYTES])
{
	return crc32c_update(0, header, SNAP_HEADER_BYTES - 4);
}

void snap_header_seal(uint8_t header[SNAP_HEADER_BYTES], uint32_t crc)
{
	put_u32(header + 60, crc);
}

void snap_region_encode(const struct snap_region *region, uint8_t out[SNAP_REGION_BYTES])
{
	memset(out, 0, SNAP_REGION_BYTES);
	put_u64(out, region->base);
	put_u64(out + 8, region->size);
	put_u32(out + 16, region->slot);
	put_u32(out + 20, region->prot);
	put_u32(out + 24, region->flags);
	put_u64(out + 32, region->data_offset);
	memcpy(out + 48, region->name, SNAP_NAME_BYTES - 1);
}

void snap_run_encode(const struct snap_run *run, uint8_t out[SNAP_RUN_BYTES])
{
	put_u32(out, run->type);
	put_u32(out + 4, run->region);
	put_u64(out + 8, run->first_page);
	put_u64(out + 16, run->page_count);
	put_u32(out + 24, run->data_crc);
	put_u32(out + 28, crc32c_update(0, out, 28));
}

/* ---- decoding ---- */

bool snap_header_decode(const uint8_t in[SNAP_HEADER_BYTES], struct snap_header *header,
			struct snap_error *error)
{
	uint32_t version = get_u32(in + 8);
	uint64_t page_size = get_u64(in + 24), table_end, runs_bytes, end;

	if (memcmp(in, snap_magic, sizeof(snap_magic)) != 0)
		return corrupt(error, 0, "bad magic: not a squib snapshot");
	if (version != SNAP_VERSION)
		return corrupt(error, 8, "format version %" PRIu32 ", this library reads %u",
			       version, SNAP_VERSION);
	header->kind = get_u32(in + 12);
	header->flags = get_u32(in + 16);
	header->region_count = get_u32(in + 20);
	header->record_bytes = get_u64(in + 32);
	header->run_table_offset = get_u64(in + 40);
	header->run_count = get_u64(in + 48);
	header->header_crc = get_u32(in + 60);
	if (header->kind != SNAP_KIND_FILE && header->kind != SNAP_KIND_STREAM)
		return corrupt(error, 12, "unknown record kind %" PRIu32, header->kind);
	if (header->flags & ~SNAP_INCREMENTAL)
		return corrupt(error, 16, "unknown record flags 0x%" PRIx32,
			       header->flags & ~SNAP_INCREMENTAL);
	if (header->region_count > SNAP_MAX_REGIONS)
		return corrupt(error, 20, "%" PRIu32 " regions, more than %u", header->region_count,
			       SNAP_MAX_REGIONS);
	if (page_size != SNAP_PAGE)
		return corrupt(error, 24, "page size %" PRIu64 ", not %u", page_size, SNAP_PAGE);
	if (get_u32(in + 56) != 0)
		return corrupt(error, 56, "reserved field is not zero");
	table_end = snap_region_offset(header->region_count);
	if (header->kind == SNAP_KIND_STREAM) {
		if (header->record_bytes || header->run_table_offset || header->run_count)
			return corrupt(error, 32,
				       "a stream record with a record size or run table");
		return true;
	}
	if (header->run_table_offset % 8 || header->run_table_offset < table_end)
		return corrupt(error, 40,
			       "run table offset %" PRIu64
			       " is not a multiple of 8 past the region table (%" PRIu64 ")",
			       header->run_table_offset, table_end);
	if (__builtin_mul_overflow(header->run_count, SNAP_RUN_BYTES, &runs_bytes) ||
	    __builtin_add_overflow(header->run_table_offset, runs_bytes, &end) ||
	    end != header->record_bytes)
		return corrupt(error, 32,
			       "record size %" PRIu64 " is not where %" PRIu64
			       " runs from offset %" PRIu64 " end",
			       header->record_bytes, header->run_count, header->run_table_offset);
	return true;
}

bool snap_region_decode(const uint8_t in[SNAP_REGION_BYTES], const struct snap_header *header,
			uint32_t index, struct snap_region *region, struct snap_error *error)
{
	uint64_t at = snap_region_offset(index), end;

	region->base = get_u64(in);
	region->size = get_u64(in + 8);
	region->slot = get_u32(in + 16);
	region->prot = get_u32(in + 20);
	region->flags = get_u32(in + 24);
	region->data_offset = get_u64(in + 32);
	memcpy(region->name, in + 48, SNAP_NAME_BYTES);
	if (region->size == 0)
		return corrupt(error, at + 8, "region %" PRIu32 " is empty", index);
	if (__builtin_add_overflow(region->base, region->size, &end))
		return corrupt(error, at + 8,
			       "region %" PRIu32 " at 0x%016" PRIx64 " of %" PRIu64
			       " bytes ends past UINT64_MAX",
			       index, region->base, region->size);
	if (region->prot & ~7u)
		return corrupt(error, at + 20, "region %" PRIu32 ": unknown protection 0x%" PRIx32,
			       index, region->prot);
	if (region->flags & ~SNAP_REGION_FLAGS)
		return corrupt(error, at + 24,
			       "region %" PRIu32 ": flags 0x%" PRIx32 " a record cannot have",
			       index, region->flags & ~SNAP_REGION_FLAGS);
	if (region->flags & SQUIB_REGION_HUGETLB && region->flags & SQUIB_REGION_THP)
		return corrupt(error, at + 24, "region %" PRIu32 ": HUGETLB with THP", index);
	if (get_u32(in + 28) != 0)
		return corrupt(error, at + 28, "region %" PRIu32 ": reserved field is not zero",
			       index);
	if (!all_zero(in + 40, 8))
		return corrupt(error, at + 40, "region %" PRIu32 ": reserved field is not zero",
			       index);
	if (!all_zero(in + 80, 16))
		return corrupt(error, at + 80, "region %" PRIu32 ": reserved field is not zero",
			       index);
	if (region->name[SNAP_NAME_BYTES - 1] != '\0')
		return corrupt(error, at + 48 + SNAP_NAME_BYTES - 1,
			       "region %" PRIu32 ": name is not NUL-terminated", index);
	for (size_t i = strlen(region->name); i < SNAP_NAME_BYTES; i++)
		if (region->name[i])
			return corrupt(error, at + 48 + i,
				       "region %" PRIu32 ": name is not padded with NUL bytes",
				       index);
	if (header->kind == SNAP_KIND_STREAM && region->data_offset)
		return corrupt(error, at + 32, "region %" PRIu32 ": data offset in a stream",
			       index);
	if (header->kind == SNAP_KIND_FILE && region->data_offset % SNAP_PAGE)
		return corrupt(error, at + 32,
			       "region %" PRIu32 ": data offset %" PRIu64 " is not page-aligned",
			       index, region->data_offset);
	return true;
}

bool snap_run_decode(const uint8_t in[SNAP_RUN_BYTES], uint64_t offset, struct snap_run *run,
		     struct snap_error *error)
{
	uint32_t stored = get_u32(in + 28), computed = crc32c_update(0, in, 28);

	if (stored != computed)
		return corrupt(error, offset + 28,
			       "run checksum 0x%08" PRIx32 ", computed 0x%08" PRIx32, stored,
			       computed);
	run->type = get_u32(in);
	run->region = get_u32(in + 4);
	run->first_page = get_u64(in + 8);
	run->page_count = get_u64(in + 16);
	run->data_crc = get_u32(in + 24);
	if (run->type < SNAP_RUN_DATA || run->type > SNAP_RUN_END)
		return corrupt(error, offset, "unknown run type %" PRIu32, run->type);
	if (run->type != SNAP_RUN_DATA && run->data_crc)
		return corrupt(error, offset + 24, "a data checksum on a run without data");
	return true;
}

void snap_run_span(const struct snap_region *region, uint64_t first_page, uint64_t page_count,
		   uint64_t *offset, uint64_t *len)
{
	uint64_t aligned = region->base - region->base % SNAP_PAGE;
	uint64_t from = aligned + first_page * SNAP_PAGE;
	uint64_t last = aligned + (first_page + page_count) * SNAP_PAGE - 1;
	uint64_t region_last = region->base + (region->size - 1);

	if (from < region->base)
		from = region->base;
	if (last > region_last)
		last = region_last;
	*offset = from - region->base;
	*len = last - from + 1;
}

/* ---- the checks across structures ---- */

bool snap_region_follows(const struct snap_header *header, const struct snap_region *previous,
			 const struct snap_region *region, uint32_t index, uint64_t *end_of_spans,
			 struct snap_error *error)
{
	uint64_t at = snap_region_offset(index), span_bytes = 0, span_end;

	if (previous && region->base - previous->base < previous->size)
		return corrupt(error, at,
			       "region %" PRIu32 " at 0x%016" PRIx64
			       " overlaps or precedes the one before (0x%016" PRIx64 ", %" PRIu64
			       " bytes)",
			       index, region->base, previous->base, previous->size);
	if (previous && region->base < previous->base)
		return corrupt(error, at, "region %" PRIu32 " is out of order", index);
	if (header->kind != SNAP_KIND_FILE)
		return true;
	if (region->data_offset < *end_of_spans ||
	    __builtin_mul_overflow(snap_region_pages(region), SNAP_PAGE, &span_bytes) ||
	    __builtin_add_overflow(region->data_offset, span_bytes, &span_end) ||
	    span_end > header->run_table_offset)
		return corrupt(error, at + 32,
			       "region %" PRIu32 ": data at %" PRIu64 " (%" PRIu64
			       " bytes) is not between %" PRIu64 " and the run table at %" PRIu64,
			       index, region->data_offset, span_bytes, *end_of_spans,
			       header->run_table_offset);
	*end_of_spans = span_end;
	return true;
}

/* By slot, then by place in the table. */
static int compare_slots(const void *a, const void *b)
{
	const struct snap_slot *x = a, *y = b;

	if (x->slot != y->slot)
		return (x->slot > y->slot) - (x->slot < y->slot);
	return (x->index > y->index) - (x->index < y->index);
}

bool snap_slots_unique(struct snap_slot *slots, uint32_t count, struct snap_error *error)
{
	qsort(slots, count, sizeof(*slots), compare_slots);
	for (uint32_t i = 1; i < count; i++)
		if (slots[i].slot == slots[i - 1].slot)
			return corrupt(error, snap_region_offset(slots[i].index) + 16,
				       "region %" PRIu32 " has slot %" PRIu32
				       ", as region %" PRIu32,
				       slots[i].index, slots[i].slot, slots[i - 1].index);
	return true;
}

/* What the cursor's region owes when its runs are over: in a full record,
 * every page. */
static bool region_done(const struct snap_run_cursor *cursor, const struct snap_header *header,
			const struct snap_region *regions, uint64_t offset,
			struct snap_error *error)
{
	const struct snap_region *region = &regions[cursor->region];

	if (!(header->flags & SNAP_INCREMENTAL) && cursor->next_page != snap_region_pages(region))
		return corrupt(error, offset,
			       "region %" PRIu32 ": pages from %" PRIu64
			       " on are in no run of a full record",
			       cursor->region, cursor->next_page);
	return true;
}

/* Closes the regions from the cursor's up to (not including) region. */
static bool advance_to(struct snap_run_cursor *cursor, const struct snap_header *header,
		       const struct snap_region *regions, uint32_t region, uint64_t offset,
		       struct snap_error *error)
{
	while (cursor->region < region) {
		if (!region_done(cursor, header, regions, offset, error))
			return false;
		cursor->region++;
		cursor->next_page = 0;
	}
	return true;
}

bool snap_runs_finish(struct snap_run_cursor *cursor, const struct snap_header *header,
		      const struct snap_region *regions, uint64_t offset, struct snap_error *error)
{
	if (header->region_count == 0)
		return true;
	return advance_to(cursor, header, regions, header->region_count - 1, offset, error) &&
	       region_done(cursor, header, regions, offset, error);
}

bool snap_run_next(struct snap_run_cursor *cursor, const struct snap_header *header,
		   const struct snap_region *regions, const struct snap_run *run, uint64_t offset,
		   struct snap_error *error)
{
	const struct snap_region *region;
	uint64_t end;

	if (run->type == SNAP_RUN_END) {
		if (header->kind != SNAP_KIND_STREAM)
			return corrupt(error, offset, "an END run in a file record");
		if (run->region)
			return corrupt(error, offset + 4, "END run of region %" PRIu32 ", not 0",
				       run->region);
		if (run->page_count)
			return corrupt(error, offset + 16, "END run of %" PRIu64 " pages, not 0",
				       run->page_count);
		if (run->first_page != cursor->runs)
			return corrupt(error, offset + 8,
				       "END run counts %" PRIu64 " runs, %" PRIu64 " came",
				       run->first_page, cursor->runs);
		return snap_runs_finish(cursor, header, regions, offset, error);
	}
	if (run->region >= header->region_count)
		return corrupt(error, offset + 4, "run of region %" PRIu32 " of %" PRIu32,
			       run->region, header->region_count);
	if (run->region < cursor->region)
		return corrupt(error, offset + 4, "run of region %" PRIu32 " after region %" PRIu32,
			       run->region, cursor->region);
	if (!advance_to(cursor, header, regions, run->region, offset, error))
		return false;
	region = &regions[run->region];
	if (run->page_count == 0 ||
	    __builtin_add_overflow(run->first_page, run->page_count, &end) ||
	    end > snap_region_pages(region))
		return corrupt(error, offset + 8,
			       "run of pages %" PRIu64 " + %" PRIu64 " of region %" PRIu32
			       ", which has %" PRIu64,
			       run->first_page, run->page_count, run->region,
			       snap_region_pages(region));
	if (run->first_page < cursor->next_page)
		return corrupt(error, offset + 8,
			       "run at page %" PRIu64 " of region %" PRIu32
			       " overlaps or precedes the one before (next page %" PRIu64 ")",
			       run->first_page, run->region, cursor->next_page);
	if (!(header->flags & SNAP_INCREMENTAL) && run->first_page != cursor->next_page)
		return corrupt(error, offset + 8,
			       "pages %" PRIu64 " to %" PRIu64 " of region %" PRIu32
			       " are in no run of a full record",
			       cursor->next_page, run->first_page - 1, run->region);
	if (run->type == SNAP_RUN_DATA && run->page_count > SNAP_RUN_MAX_PAGES)
		return corrupt(error, offset + 16, "DATA run of %" PRIu64 " pages, more than %u",
			       run->page_count, SNAP_RUN_MAX_PAGES);
	cursor->next_page = end;
	cursor->runs++;
	return true;
}
