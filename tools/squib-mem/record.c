/* SPDX-License-Identifier: MIT */
/* The snapshot reader of squib-mem (record.h), from docs/SNAPSHOT.md. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"

/* ---- CRC-32C: reflected 0x82F63B78, slice-by-8 ---- */

static uint32_t crc_table[8][256];
static bool crc_ready;

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1u)));
		crc_table[0][i] = c;
	}
	for (uint32_t i = 0; i < 256; i++)
		for (int t = 1; t < 8; t++)
			crc_table[t][i] =
			    (crc_table[t - 1][i] >> 8) ^ crc_table[0][crc_table[t - 1][i] & 0xffu];
	crc_ready = true;
}

uint32_t rec_crc32c(uint32_t crc, const void *data, size_t len)
{
	const uint8_t *p = data;
	uint32_t c = ~crc;

	if (!crc_ready)
		crc_init();
	while (len >= 8) {
		uint32_t lo = c ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
				   (uint32_t)p[3] << 24);
		uint32_t hi = (uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 |
			      (uint32_t)p[7] << 24;

		c = crc_table[7][lo & 0xffu] ^ crc_table[6][(lo >> 8) & 0xffu] ^
		    crc_table[5][(lo >> 16) & 0xffu] ^ crc_table[4][lo >> 24] ^
		    crc_table[3][hi & 0xffu] ^ crc_table[2][(hi >> 8) & 0xffu] ^
		    crc_table[1][(hi >> 16) & 0xffu] ^ crc_table[0][hi >> 24];
		p += 8;
		len -= 8;
	}
	while (len--)
		c = (c >> 8) ^ crc_table[0][(c ^ *p++) & 0xffu];
	return ~c;
}

/* ---- little helpers ---- */

static uint32_t le32(const uint8_t *at)
{
	return (uint32_t)at[0] | (uint32_t)at[1] << 8 | (uint32_t)at[2] << 16 |
	       (uint32_t)at[3] << 24;
}

static uint64_t le64(const uint8_t *at)
{
	return (uint64_t)le32(at) | (uint64_t)le32(at + 4) << 32;
}

static bool zeros(const uint8_t *at, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (at[i])
			return false;
	return true;
}

__attribute__((format(printf, 4, 5))) static bool
fail(struct rec_error *err, enum rec_problem problem, uint64_t offset, const char *fmt, ...)
{
	va_list args;

	err->problem = problem;
	err->offset = offset;
	va_start(args, fmt);
	(void)vsnprintf(err->what, sizeof(err->what), fmt, args);
	va_end(args);
	return false;
}

/* Exactly len bytes at offset, or why not (the input ends: TRUNCATED). */
static bool read_at(const struct rec_input *in, void *buf, size_t len, uint64_t offset,
		    const char *what, struct rec_error *err)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = in->read(in->ctx, (uint8_t *)buf + done, len - done, offset + done);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return fail(err, REC_IO, offset + done, "cannot read %s: %s", what,
				    strerror(errno));
		}
		if (n == 0)
			return fail(err, REC_TRUNCATED, offset + done,
				    "the input ends inside %s (%zu of its %zu bytes are there)",
				    what, done, len);
		done += (size_t)n;
	}
	return true;
}

static const char *const flag_names[32] = {
    [0] = "SHARED",   [2] = "READONLY", [3] = "HUGETLB",   [4] = "THP",	     [5] = "DONTDUMP",
    [6] = "DONTFORK", [7] = "LOCKED",	[8] = "DIRTY_LOG", [9] = "PREFAULT",
};

#define REC_REGION_FLAGS 0x3fdu
#define REC_FLAG_HUGETLB 0x8u
#define REC_FLAG_THP 0x10u

const char *rec_flag_name(uint32_t bit)
{
	for (unsigned i = 0; i < 32; i++)
		if (bit == 1u << i)
			return flag_names[i];
	return NULL;
}

void rec_span(const struct rec_region *region, uint64_t first, uint64_t count, uint64_t *offset,
	      uint64_t *len)
{
	/* All in page numbers first, so that nothing wraps at 2^64. */
	uint64_t base_page = region->base / REC_PAGE;
	uint64_t last_byte = region->base + (region->size - 1);
	uint64_t from = (base_page + first) * REC_PAGE;
	uint64_t to_last = (base_page + first + count - 1) * REC_PAGE + (REC_PAGE - 1);

	if (from < region->base)
		from = region->base;
	if (to_last > last_byte)
		to_last = last_byte;
	*offset = from - region->base;
	*len = to_last - from + 1;
}

/* ---- one record ---- */

struct parse {
	const struct rec_input *in;
	unsigned checks;
	struct rec_record *rec;
	struct rec_error *err;
	uint8_t *buf; /* BUF_BYTES */
	uint64_t table_end;
	uint64_t progress_done, progress_total;
};

#define BUF_BYTES ((size_t)REC_RUN_MAX_PAGES * REC_PAGE)

static void progress(struct parse *p, uint64_t bytes)
{
	p->progress_done += bytes;
	if (p->in->progress)
		p->in->progress(p->in->ctx, p->progress_done, p->progress_total);
}

static bool check_header(struct parse *p, const uint8_t *h)
{
	struct rec_record *r = p->rec;
	uint64_t s = r->start, runs_bytes, end;
	uint32_t version = le32(h + 8);

	if (memcmp(h, "SQUIBSNP", 8) != 0)
		return fail(p->err, REC_STRUCTURE, s, "no magic SQUIBSNP: not a squib snapshot");
	if (version != 1)
		return fail(p->err, REC_STRUCTURE, s + 8, "format version %" PRIu32 ", not 1",
			    version);
	r->kind = le32(h + 12);
	r->flags = le32(h + 16);
	r->region_count = le32(h + 20);
	r->record_bytes = le64(h + 32);
	r->run_table_offset = le64(h + 40);
	r->run_count = le64(h + 48);
	if (r->kind != REC_KIND_FILE && r->kind != REC_KIND_STREAM)
		return fail(p->err, REC_STRUCTURE, s + 12, "record kind %" PRIu32 ", not 1 or 2",
			    r->kind);
	if (r->flags & ~REC_INCREMENTAL)
		return fail(p->err, REC_STRUCTURE, s + 16, "unknown header flags 0x%" PRIx32,
			    r->flags & ~REC_INCREMENTAL);
	if (r->region_count > REC_MAX_REGIONS)
		return fail(p->err, REC_STRUCTURE, s + 20, "%" PRIu32 " regions, more than %u",
			    r->region_count, REC_MAX_REGIONS);
	if (le64(h + 24) != REC_PAGE)
		return fail(p->err, REC_STRUCTURE, s + 24, "page size %" PRIu64 ", not 4096",
			    le64(h + 24));
	if (le32(h + 56) != 0)
		return fail(p->err, REC_STRUCTURE, s + 56, "reserved header field is 0x%08" PRIx32,
			    le32(h + 56));
	p->table_end = REC_HEADER_BYTES + (uint64_t)r->region_count * REC_REGION_BYTES;
	if (r->kind == REC_KIND_STREAM) {
		if (r->record_bytes)
			return fail(p->err, REC_STRUCTURE, s + 32,
				    "stream record with a record size (%" PRIu64 ")",
				    r->record_bytes);
		if (r->run_table_offset)
			return fail(p->err, REC_STRUCTURE, s + 40,
				    "stream record with a run table offset (%" PRIu64 ")",
				    r->run_table_offset);
		if (r->run_count)
			return fail(p->err, REC_STRUCTURE, s + 48,
				    "stream record with a run count (%" PRIu64 ")", r->run_count);
		return true;
	}
	if (s != 0)
		return fail(p->err, REC_STRUCTURE, s + 12,
			    "a file record at byte %" PRIu64 ": file records begin at byte 0", s);
	if (r->run_table_offset % 8 || r->run_table_offset < p->table_end)
		return fail(p->err, REC_STRUCTURE, 40,
			    "run table offset %" PRIu64 " is not a multiple of 8 at or after the"
			    " end of the region table (%" PRIu64 ")",
			    r->run_table_offset, p->table_end);
	if (__builtin_mul_overflow(r->run_count, (uint64_t)REC_RUN_BYTES, &runs_bytes) ||
	    __builtin_add_overflow(r->run_table_offset, runs_bytes, &end))
		return fail(p->err, REC_STRUCTURE, 48,
			    "%" PRIu64 " runs at byte %" PRIu64 " end past 2^64", r->run_count,
			    r->run_table_offset);
	if (end != r->record_bytes)
		return fail(p->err, REC_STRUCTURE, 32,
			    "record size %" PRIu64 ", but the run table ends at byte %" PRIu64,
			    r->record_bytes, end);
	if (p->in->size < r->record_bytes)
		return fail(p->err, REC_TRUNCATED, p->in->size,
			    "the file is %" PRIu64 " bytes, the record %" PRIu64 " (truncated)",
			    p->in->size, r->record_bytes);
	if (p->in->size > r->record_bytes)
		return fail(p->err, REC_STRUCTURE, r->record_bytes,
			    "the file is %" PRIu64 " bytes, the record %" PRIu64
			    " (trailing bytes)",
			    p->in->size, r->record_bytes);
	return true;
}

static bool check_region(struct parse *p, const uint8_t *e, uint32_t i)
{
	struct rec_record *r = p->rec;
	struct rec_region *g = &r->regions[i];
	uint64_t at = r->start + REC_HEADER_BYTES + (uint64_t)i * REC_REGION_BYTES, last;

	g->base = le64(e);
	g->size = le64(e + 8);
	g->slot = le32(e + 16);
	g->prot = le32(e + 20);
	g->flags = le32(e + 24);
	g->data_offset = le64(e + 32);
	memcpy(g->name, e + 48, REC_NAME_BYTES);
	if (g->size == 0)
		return fail(p->err, REC_STRUCTURE, at + 8, "region %" PRIu32 " has size 0", i);
	/* base + size <= 2^64 - 1: a region may end at UINT64_MAX. */
	if (__builtin_add_overflow(g->base, g->size, &last))
		return fail(p->err, REC_STRUCTURE, at + 8,
			    "region %" PRIu32 " [0x%016" PRIx64 " + %" PRIu64
			    ") ends past UINT64_MAX",
			    i, g->base, g->size);
	last--;
	g->pages = last / REC_PAGE - g->base / REC_PAGE + 1;
	if (g->prot & ~7u)
		return fail(p->err, REC_STRUCTURE, at + 20,
			    "region %" PRIu32 ": protection 0x%" PRIx32 " has unknown bits", i,
			    g->prot);
	if (g->flags & ~REC_REGION_FLAGS)
		return fail(p->err, REC_STRUCTURE, at + 24,
			    "region %" PRIu32 ": flags 0x%" PRIx32 " a record cannot hold", i,
			    g->flags & ~REC_REGION_FLAGS);
	if ((g->flags & REC_FLAG_HUGETLB) && (g->flags & REC_FLAG_THP))
		return fail(p->err, REC_STRUCTURE, at + 24,
			    "region %" PRIu32 ": flags HUGETLB and THP together", i);
	if (le32(e + 28))
		return fail(p->err, REC_STRUCTURE, at + 28,
			    "region %" PRIu32 ": reserved field at +28 is not zero", i);
	if (r->kind == REC_KIND_FILE && g->data_offset % REC_PAGE)
		return fail(p->err, REC_STRUCTURE, at + 32,
			    "region %" PRIu32 ": data offset %" PRIu64 " is not a multiple of 4096",
			    i, g->data_offset);
	if (r->kind == REC_KIND_STREAM && g->data_offset)
		return fail(p->err, REC_STRUCTURE, at + 32,
			    "region %" PRIu32 ": data offset %" PRIu64 " in a stream record", i,
			    g->data_offset);
	if (!zeros(e + 40, 8))
		return fail(p->err, REC_STRUCTURE, at + 40,
			    "region %" PRIu32 ": reserved field at +40 is not zero", i);
	if (e[48 + REC_NAME_BYTES - 1] != 0)
		return fail(p->err, REC_STRUCTURE, at + 48 + REC_NAME_BYTES - 1,
			    "region %" PRIu32 ": name is not NUL-terminated", i);
	for (size_t k = strlen(g->name); k < REC_NAME_BYTES; k++)
		if (g->name[k])
			return fail(p->err, REC_STRUCTURE, at + 48 + k,
				    "region %" PRIu32 ": name byte %zu, after its end, is not NUL",
				    i, k);
	if (!zeros(e + 80, 16))
		return fail(p->err, REC_STRUCTURE, at + 80,
			    "region %" PRIu32 ": reserved field at +80 is not zero", i);
	return true;
}

/* Region i after region i - 1: sorted, disjoint; a file record's span
 * between the table and the run table, after the last span. */
static bool check_follows(struct parse *p, uint32_t i, uint64_t *spans_end)
{
	const struct rec_record *r = p->rec;
	const struct rec_region *g = &r->regions[i];
	uint64_t at = r->start + REC_HEADER_BYTES + (uint64_t)i * REC_REGION_BYTES, span, end;

	if (i > 0) {
		const struct rec_region *prev = &r->regions[i - 1];

		if (g->base < prev->base)
			return fail(p->err, REC_STRUCTURE, at,
				    "region %" PRIu32 " at 0x%016" PRIx64
				    " comes after one at 0x%016" PRIx64 ": not sorted by base",
				    i, g->base, prev->base);
		if (g->base - prev->base < prev->size)
			return fail(p->err, REC_STRUCTURE, at,
				    "region %" PRIu32 " at 0x%016" PRIx64
				    " overlaps region %" PRIu32 " [0x%016" PRIx64 " + %" PRIu64 ")",
				    i, g->base, i - 1, prev->base, prev->size);
	}
	if (r->kind != REC_KIND_FILE)
		return true;
	if (__builtin_mul_overflow(g->pages, (uint64_t)REC_PAGE, &span) ||
	    __builtin_add_overflow(g->data_offset, span, &end) || g->data_offset < *spans_end ||
	    end > r->run_table_offset)
		return fail(p->err, REC_STRUCTURE, at + 32,
			    "region %" PRIu32 ": its %" PRIu64 " pages at byte %" PRIu64
			    " are not between byte %" PRIu64 " and the run table at byte %" PRIu64,
			    i, g->pages, g->data_offset, *spans_end, r->run_table_offset);
	*spans_end = end;
	return true;
}

static int cmp_slot(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* Every slot once: slot << 32 | index, sorted, so the message can name
 * both entries. */
static bool check_slots(struct parse *p)
{
	const struct rec_record *r = p->rec;
	uint64_t *keys;

	if (r->region_count < 2)
		return true;
	keys = malloc(r->region_count * sizeof(*keys));
	if (!keys)
		return fail(p->err, REC_NO_MEMORY, r->start, "out of memory");
	for (uint32_t i = 0; i < r->region_count; i++)
		keys[i] = (uint64_t)r->regions[i].slot << 32 | i;
	qsort(keys, r->region_count, sizeof(*keys), cmp_slot);
	for (uint32_t i = 1; i < r->region_count; i++) {
		if (keys[i] >> 32 == keys[i - 1] >> 32) {
			uint32_t a = (uint32_t)keys[i - 1], b = (uint32_t)keys[i];

			free(keys);
			return fail(p->err, REC_STRUCTURE,
				    r->start + REC_HEADER_BYTES + (uint64_t)b * REC_REGION_BYTES +
					16,
				    "regions %" PRIu32 " and %" PRIu32 " both have slot %" PRIu32,
				    a, b, r->regions[b].slot);
		}
	}
	free(keys);
	return true;
}

static bool read_table(struct parse *p, const uint8_t *header)
{
	struct rec_record *r = p->rec;
	uint64_t spans_end = p->table_end;
	uint32_t crc = rec_crc32c(0, header, REC_HEADER_BYTES - 4);
	const uint32_t chunk = BUF_BYTES / REC_REGION_BYTES;

	/* Allocate only what the input can hold. */
	if (r->region_count) {
		uint64_t avail = p->in->size - r->start - REC_HEADER_BYTES;
		uint32_t room = avail / REC_REGION_BYTES < r->region_count
				    ? (uint32_t)(avail / REC_REGION_BYTES)
				    : r->region_count;

		r->regions = calloc(room ? room : 1, sizeof(*r->regions));
		if (!r->regions)
			return fail(p->err, REC_NO_MEMORY, r->start + 20,
				    "out of memory for %" PRIu32 " regions", room);
	}
	for (uint32_t first = 0; first < r->region_count; first += chunk) {
		uint32_t n = r->region_count - first < chunk ? r->region_count - first : chunk;
		uint64_t at = r->start + REC_HEADER_BYTES + (uint64_t)first * REC_REGION_BYTES;
		size_t got = 0;
		bool whole;

		/* Check the entries that are there before saying the input ends. */
		whole = read_at(p->in, p->buf, (size_t)n * REC_REGION_BYTES, at, "the region table",
				p->err);
		if (!whole) {
			if (p->err->problem != REC_TRUNCATED)
				return false;
			got = (size_t)(p->err->offset - at) / REC_REGION_BYTES;
			if (got == 0)
				return false;
			/* Reread the complete entries; the error is kept below. */
			if (!read_at(p->in, p->buf, got * REC_REGION_BYTES, at, "the region table",
				     p->err))
				return false;
		}
		for (uint32_t k = 0; k < (whole ? n : (uint32_t)got); k++) {
			if (!check_region(p, p->buf + (size_t)k * REC_REGION_BYTES, first + k) ||
			    !check_follows(p, first + k, &spans_end))
				return false;
		}
		if (!whole)
			return fail(p->err, REC_TRUNCATED, p->in->size,
				    "the input ends inside the region table (entry %" PRIu32
				    " of %" PRIu32 ")",
				    first + (uint32_t)got, r->region_count);
		crc = rec_crc32c(crc, p->buf, (size_t)n * REC_REGION_BYTES);
	}
	if (crc != le32(header + 60))
		return fail(p->err, REC_STRUCTURE, r->start + 60,
			    "header checksum 0x%08" PRIx32
			    ", but the header and table's is 0x%08" PRIx32,
			    le32(header + 60), crc);
	return check_slots(p);
}

/* ---- runs ---- */

struct cursor {
	uint64_t runs;
	uint32_t region;
	uint64_t next_page;
};

static bool region_complete(struct parse *p, const struct cursor *c, uint64_t at)
{
	const struct rec_region *g = &p->rec->regions[c->region];

	if (!(p->rec->flags & REC_INCREMENTAL) && c->next_page != g->pages)
		return fail(p->err, REC_STRUCTURE, at,
			    "full record, but pages %" PRIu64 " to %" PRIu64 " of region %" PRIu32
			    " are in no run",
			    c->next_page, g->pages - 1, c->region);
	return true;
}

static bool close_until(struct parse *p, struct cursor *c, uint32_t region, uint64_t at)
{
	while (c->region < region) {
		if (!region_complete(p, c, at))
			return false;
		c->region++;
		c->next_page = 0;
	}
	return true;
}

static bool close_all(struct parse *p, struct cursor *c, uint64_t at)
{
	if (p->rec->region_count == 0)
		return true;
	return close_until(p, c, p->rec->region_count - 1, at) && region_complete(p, c, at);
}

static bool keep_run(struct parse *p, const struct rec_run *run, uint64_t *cap)
{
	struct rec_record *r = p->rec;

	if (r->nruns == *cap) {
		uint64_t grown_cap = *cap ? *cap * 2 : 64;
		struct rec_run *grown = realloc(r->runs, (size_t)grown_cap * sizeof(*grown));

		if (!grown)
			return fail(p->err, REC_NO_MEMORY, run->at, "out of memory for runs");
		r->runs = grown;
		*cap = grown_cap;
	}
	r->runs[r->nruns++] = *run;
	return true;
}

/* Decodes and checks the run at input offset at; *end says it was END. */
static bool check_run(struct parse *p, struct cursor *c, const uint8_t *e, uint64_t at,
		      struct rec_run *run, bool *end)
{
	const struct rec_record *r = p->rec;
	uint32_t crc = rec_crc32c(0, e, 28);
	const struct rec_region *g;
	uint64_t last;

	*end = false;
	if (le32(e + 28) != crc)
		return fail(p->err, REC_STRUCTURE, at + 28,
			    "run checksum 0x%08" PRIx32 ", but the run's is 0x%08" PRIx32,
			    le32(e + 28), crc);
	*run = (struct rec_run){.type = le32(e),
				.region = le32(e + 4),
				.first_page = le64(e + 8),
				.page_count = le64(e + 16),
				.data_crc = le32(e + 24),
				.at = at};
	if (run->type != REC_DATA && run->type != REC_ZERO && run->type != REC_END)
		return fail(p->err, REC_STRUCTURE, at, "run type %" PRIu32 ", not 1, 2 or 3",
			    run->type);
	if (run->type != REC_DATA && run->data_crc)
		return fail(p->err, REC_STRUCTURE, at + 24,
			    "a %s run with a data checksum (0x%08" PRIx32 ")",
			    run->type == REC_ZERO ? "ZERO" : "END", run->data_crc);
	if (run->type == REC_END) {
		if (r->kind != REC_KIND_STREAM)
			return fail(p->err, REC_STRUCTURE, at, "an END run in a file record");
		if (run->region)
			return fail(p->err, REC_STRUCTURE, at + 4, "END run of region %" PRIu32,
				    run->region);
		if (run->first_page != c->runs)
			return fail(p->err, REC_STRUCTURE, at + 8,
				    "END run counts %" PRIu64 " runs, %" PRIu64 " came before it",
				    run->first_page, c->runs);
		if (run->page_count)
			return fail(p->err, REC_STRUCTURE, at + 16, "END run of %" PRIu64 " pages",
				    run->page_count);
		*end = true;
		return close_all(p, c, at);
	}
	if (run->region >= r->region_count)
		return fail(p->err, REC_STRUCTURE, at + 4,
			    "run of region %" PRIu32 ", the record has %" PRIu32, run->region,
			    r->region_count);
	if (run->region < c->region)
		return fail(p->err, REC_STRUCTURE, at + 4,
			    "run of region %" PRIu32 " after a run of region %" PRIu32
			    ": out of order",
			    run->region, c->region);
	if (!close_until(p, c, run->region, at))
		return false;
	g = &r->regions[run->region];
	if (run->page_count == 0)
		return fail(p->err, REC_STRUCTURE, at + 16, "run of no pages");
	if (run->type == REC_DATA && run->page_count > REC_RUN_MAX_PAGES)
		return fail(p->err, REC_STRUCTURE, at + 16,
			    "DATA run of %" PRIu64 " pages, more than %u", run->page_count,
			    REC_RUN_MAX_PAGES);
	if (__builtin_add_overflow(run->first_page, run->page_count, &last) || last > g->pages)
		return fail(p->err, REC_STRUCTURE, at + 8,
			    "run of pages %" PRIu64 " + %" PRIu64 " of region %" PRIu32
			    ", which has %" PRIu64 " pages",
			    run->first_page, run->page_count, run->region, g->pages);
	if (run->first_page < c->next_page)
		return fail(p->err, REC_STRUCTURE, at + 8,
			    "run of page %" PRIu64 " of region %" PRIu32
			    " overlaps or precedes the run before (up to page %" PRIu64 ")",
			    run->first_page, run->region, c->next_page);
	if (!(r->flags & REC_INCREMENTAL) && run->first_page != c->next_page)
		return fail(p->err, REC_STRUCTURE, at + 8,
			    "full record, but pages %" PRIu64 " to %" PRIu64 " of region %" PRIu32
			    " are in no run",
			    c->next_page, run->first_page - 1, run->region);
	c->next_page = last;
	c->runs++;
	rec_span(g, run->first_page, run->page_count, &run->offset, &run->len);
	return true;
}

static void count_run(struct rec_record *r, const struct rec_run *run)
{
	struct rec_region *g = &r->regions[run->region];

	g->carried_pages += run->page_count;
	if (run->type == REC_DATA) {
		g->data_runs++;
		g->stored += run->len;
		r->data_runs++;
		r->stored += run->len;
	} else {
		g->zero_runs++;
		r->zero_runs++;
	}
}

static bool check_data(struct parse *p, const struct rec_run *run)
{
	uint32_t crc;

	if (!read_at(p->in, p->buf, (size_t)run->len, run->data_at, "a DATA run's bytes", p->err))
		return false;
	crc = rec_crc32c(0, p->buf, (size_t)run->len);
	progress(p, run->len);
	if (crc != run->data_crc)
		return fail(p->err, REC_BAD_DATA, run->data_at,
			    "the %" PRIu64 " bytes of the DATA run at byte %" PRIu64
			    " (region %" PRIu32 ", pages %" PRIu64 " + %" PRIu64
			    ") have checksum 0x%08" PRIx32 ", the run says 0x%08" PRIx32,
			    run->len, run->at, run->region, run->first_page, run->page_count, crc,
			    run->data_crc);
	return true;
}

static bool stream_runs(struct parse *p)
{
	struct rec_record *r = p->rec;
	struct cursor c = {0};
	uint64_t at = r->start + p->table_end, cap = 0;

	for (;;) {
		uint8_t e[REC_RUN_BYTES];
		struct rec_run run;
		bool end;

		if (!read_at(p->in, e, sizeof(e), at, "a run", p->err) ||
		    !check_run(p, &c, e, at, &run, &end))
			return false;
		at += REC_RUN_BYTES;
		if (end) {
			r->end = at;
			return true;
		}
		if (run.type == REC_DATA) {
			run.data_at = at;
			if (p->in->size - at < run.len)
				return fail(p->err, REC_TRUNCATED, p->in->size,
					    "the input ends inside the %" PRIu64
					    " bytes of the DATA run at byte %" PRIu64,
					    run.len, run.at);
			if ((p->checks & REC_CHECK_DATA) && !check_data(p, &run))
				return false;
			at += run.len;
		}
		if (!keep_run(p, &run, &cap))
			return false;
		count_run(r, &run);
	}
}

static bool file_runs(struct parse *p)
{
	struct rec_record *r = p->rec;
	struct cursor c = {0};
	uint64_t cap = 0;
	const uint64_t chunk = BUF_BYTES / REC_RUN_BYTES;

	for (uint64_t first = 0; first < r->run_count; first += chunk) {
		uint64_t n = r->run_count - first < chunk ? r->run_count - first : chunk;
		uint64_t at = r->run_table_offset + first * REC_RUN_BYTES;

		if (!read_at(p->in, p->buf, (size_t)n * REC_RUN_BYTES, at, "the run table", p->err))
			return false;
		for (uint64_t k = 0; k < n; k++) {
			struct rec_run run;
			bool end;

			if (!check_run(p, &c, p->buf + k * REC_RUN_BYTES, at + k * REC_RUN_BYTES,
				       &run, &end))
				return false;
			if (run.type == REC_DATA) {
				const struct rec_region *g = &r->regions[run.region];

				run.data_at = g->data_offset + g->base % REC_PAGE + run.offset;
			}
			if (!keep_run(p, &run, &cap))
				return false;
			count_run(r, &run);
		}
	}
	r->end = r->record_bytes;
	return close_all(p, &c, r->record_bytes);
}

/* [from, to) of a file record, which no structure covers, holds zeros. */
static bool check_zeros(struct parse *p, uint64_t from, uint64_t to)
{
	while (from < to) {
		uint64_t next = p->in->skip_zeros ? p->in->skip_zeros(p->in->ctx, from, to) : from;
		size_t n;

		if (next > to)
			next = to;
		progress(p, next - from);
		from = next;
		if (from == to)
			break;
		n = to - from < BUF_BYTES ? (size_t)(to - from) : BUF_BYTES;
		if (!read_at(p->in, p->buf, n, from, "the bytes between structures", p->err))
			return false;
		for (size_t i = 0; i < n; i++)
			if (p->buf[i])
				return fail(
				    p->err, REC_NOT_ZERO, from + i,
				    "byte 0x%02x, but no structure covers it: it must be"
				    " zero (%s)",
				    p->buf[i],
				    from + i < (p->rec->region_count
						    ? p->rec->regions[0].data_offset
						    : p->rec->run_table_offset)
					? "padding after the region table"
					: "a hole, a ZERO run, a page no run carries or the "
					  "part of a page outside its region");
		progress(p, n);
		from += n;
	}
	return true;
}

/* A file record's page data, in file order: DATA runs and the zeros
 * between them. */
static bool file_data(struct parse *p)
{
	const struct rec_record *r = p->rec;
	uint64_t at = p->table_end;

	p->progress_total = r->run_table_offset - p->table_end;
	for (uint64_t i = 0; i < r->nruns; i++) {
		const struct rec_run *run = &r->runs[i];

		if (run->type != REC_DATA)
			continue;
		if ((p->checks & REC_CHECK_ZERO) && !check_zeros(p, at, run->data_at))
			return false;
		if (p->checks & REC_CHECK_DATA) {
			if (!check_data(p, run))
				return false;
		} else {
			progress(p, run->len);
		}
		at = run->data_at + run->len;
	}
	return !(p->checks & REC_CHECK_ZERO) || check_zeros(p, at, r->run_table_offset);
}

bool rec_parse_record(const struct rec_input *in, uint64_t start, unsigned checks,
		      struct rec_record *out, struct rec_error *err)
{
	uint8_t header[REC_HEADER_BYTES];
	struct parse p = {.in = in, .checks = checks, .rec = out, .err = err};
	bool ok;

	*out = (struct rec_record){.start = start};
	*err = (struct rec_error){0};
	if (start > in->size)
		return fail(err, REC_TRUNCATED, in->size, "the input ends before byte %" PRIu64,
			    start);
	p.buf = malloc(BUF_BYTES);
	if (!p.buf)
		return fail(err, REC_NO_MEMORY, start, "out of memory");
	p.progress_total = in->size - start;
	ok = read_at(in, header, sizeof(header), start, "the header", err) &&
	     check_header(&p, header);
	if (ok) {
		err->phase = REC_IN_TABLE;
		ok = read_table(&p, header);
	}
	if (ok) {
		err->phase = REC_IN_RUNS;
		ok = out->kind == REC_KIND_STREAM ? stream_runs(&p) : file_runs(&p);
	}
	if (ok && out->kind == REC_KIND_FILE && (checks & (REC_CHECK_DATA | REC_CHECK_ZERO))) {
		err->phase = REC_IN_DATA;
		ok = file_data(&p);
	}
	free(p.buf);
	if (!ok)
		rec_record_free(out);
	return ok;
}

void rec_record_free(struct rec_record *record)
{
	free(record->regions);
	free(record->runs);
	record->regions = NULL;
	record->runs = NULL;
	record->nruns = 0;
}

bool rec_parse_input(const struct rec_input *in, unsigned checks, struct rec_file *out,
		     struct rec_error *err)
{
	uint64_t at = 0;
	size_t cap = 0;

	*out = (struct rec_file){0};
	do {
		struct rec_record record;

		if (!rec_parse_record(in, at, checks, &record, err)) {
			if (out->count && err->offset < at + REC_HEADER_BYTES &&
			    (err->problem == REC_STRUCTURE || err->problem == REC_TRUNCATED)) {
				char what[sizeof(err->what)];

				memcpy(what, err->what, sizeof(what));
				(void)snprintf(err->what, sizeof(err->what),
					       "%" PRIu64
					       " bytes after stream record %zu, which ends"
					       " at byte %" PRIu64 ", are no record: %.300s",
					       in->size - at, out->count, at, what);
			}
			rec_file_free(out);
			return false;
		}
		if (out->count == cap) {
			size_t grown_cap = cap ? 2 * cap : 4;
			struct rec_record *grown =
			    realloc(out->records, grown_cap * sizeof(*grown));

			if (!grown) {
				rec_record_free(&record);
				rec_file_free(out);
				return fail(err, REC_NO_MEMORY, at, "out of memory");
			}
			out->records = grown;
			cap = grown_cap;
		}
		out->records[out->count++] = record;
		if (out->count > 1) {
			const struct rec_record *first = &out->records[0];

			if (record.region_count != first->region_count) {
				rec_file_free(out);
				return fail(err, REC_STRUCTURE, at + 20,
					    "stream record %zu has %" PRIu32
					    " regions, the first has %" PRIu32
					    ": not one guest's rounds",
					    out->count, record.region_count, first->region_count);
			}
			for (uint32_t i = 0; i < record.region_count; i++) {
				const struct rec_region *a = &first->regions[i];
				const struct rec_region *b = &record.regions[i];

				if (a->base != b->base || a->size != b->size ||
				    a->slot != b->slot) {
					rec_file_free(out);
					return fail(err, REC_STRUCTURE,
						    at + REC_HEADER_BYTES +
							(uint64_t)i * REC_REGION_BYTES,
						    "stream record %zu: region %" PRIu32
						    " is not the first record's (base, size, slot)",
						    out->count, i);
				}
			}
		}
		at = record.end;
	} while (out->records[out->count - 1].kind == REC_KIND_STREAM && at < in->size);
	return true;
}

void rec_file_free(struct rec_file *file)
{
	for (size_t i = 0; i < file->count; i++)
		rec_record_free(&file->records[i]);
	free(file->records);
	file->records = NULL;
	file->count = 0;
}

/* ---- what a sequence of records carries ---- */

static bool seg_push(struct rec_segment **v, size_t *n, size_t *cap, uint64_t first, uint64_t count,
		     uint32_t type)
{
	if (count == 0)
		return true;
	if (*n && (*v)[*n - 1].type == type && (*v)[*n - 1].first + (*v)[*n - 1].count == first) {
		(*v)[*n - 1].count += count;
		return true;
	}
	if (*n == *cap) {
		size_t grown_cap = *cap ? 2 * *cap : 16;
		struct rec_segment *grown = realloc(*v, grown_cap * sizeof(*grown));

		if (!grown)
			return false;
		*v = grown;
		*cap = grown_cap;
	}
	(*v)[(*n)++] = (struct rec_segment){first, count, type};
	return true;
}

bool rec_carried_add(struct rec_carried *c, const struct rec_record *record, uint32_t region)
{
	struct rec_segment *out = NULL, cur = {0};
	size_t n = 0, cap = 0, k = 0;
	bool have = c->count > 0;
	uint64_t i = 0;

	if (have)
		cur = c->seg[0];
	/* The record's runs of the region are a sorted, contiguous slice. */
	while (i < record->nruns && record->runs[i].region < region)
		i++;
	for (; i < record->nruns && record->runs[i].region == region; i++) {
		const struct rec_run *run = &record->runs[i];
		uint64_t run_end = run->first_page + run->page_count;

		/* The old pages before the run stay. */
		while (have && cur.first < run->first_page) {
			uint64_t cur_end = cur.first + cur.count;
			uint64_t cut = cur_end < run->first_page ? cur_end : run->first_page;

			if (!seg_push(&out, &n, &cap, cur.first, cut - cur.first, cur.type))
				goto nomem;
			if (cut < cur_end) {
				cur.count = cur_end - cut;
				cur.first = cut;
				break;
			}
			have = ++k < c->count;
			if (have)
				cur = c->seg[k];
		}
		if (!seg_push(&out, &n, &cap, run->first_page, run->page_count, run->type))
			goto nomem;
		/* The old pages under the run are replaced. */
		while (have && cur.first < run_end) {
			uint64_t cur_end = cur.first + cur.count;

			if (cur_end > run_end) {
				cur.count = cur_end - run_end;
				cur.first = run_end;
				break;
			}
			have = ++k < c->count;
			if (have)
				cur = c->seg[k];
		}
	}
	while (have) {
		if (!seg_push(&out, &n, &cap, cur.first, cur.count, cur.type))
			goto nomem;
		have = ++k < c->count;
		if (have)
			cur = c->seg[k];
	}
	free(c->seg);
	c->seg = out;
	c->count = n;
	return true;
nomem:
	free(out);
	return false;
}

void rec_carried_free(struct rec_carried *c)
{
	free(c->seg);
	c->seg = NULL;
	c->count = 0;
}
