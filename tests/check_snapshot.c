/* SPDX-License-Identifier: MIT */
/*
 * Snapshots and migration streams (squib/snapshot.h, docs/SNAPSHOT.md):
 * round trips of file and stream records through files, pipes and sockets
 * (every region's range, slot, prot, flags, name and byte), the exact
 * bytes of both kinds of record read back by a parser of our own that
 * follows docs/SNAPSHOT.md (with its own CRC-32C), sparse files,
 * SQUIB_LOAD_MAP_PRIVATE, incremental records and SQUIB_LOAD_APPLY, dirty
 * logs harvested and restored, every refusal, listeners, and untrusted
 * input: every bit of a small file record flipped in turn, every
 * truncation, trailing garbage, and hand-crafted records for every rule a
 * reader must enforce, each refused with SQUIB_E_CORRUPT at the offset of
 * the field at fault; failed loads leave no region, fd or mapping behind.
 *
 * Public API only; the records are parsed and built here from the format
 * document, not with the library's codec.
 */
#define _GNU_SOURCE /* F_SETPIPE_SZ, mkdtemp, MAP_ANONYMOUS */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "test_util.h"
#include "test_host.h"

/* ------------------------------------------------------------------ */
/* the format, from docs/SNAPSHOT.md                                   */

#define PAGE 4096u
#define HEADER_BYTES 64u
#define REGION_BYTES 96u
#define RUN_BYTES 32u
#define MAX_REGIONS 1048576u
#define KIND_FILE 1u
#define KIND_STREAM 2u
#define REC_INCREMENTAL 1u
#define RUN_DATA 1u
#define RUN_ZERO 2u
#define RUN_END 3u
/* The region flags a record keeps: all but PRIVATE and FILE. */
#define KEPT_FLAGS 0x3fdu

#define MIB (1024u * 1024u)

static bool slow_host(void)
{
	return TEST_UNDER_TSAN || test_under_valgrind();
}

/* How much the loops of thousands of loads thin out: 1 (every case) on a
 * plain build, more where each load costs more (ASan's mmap and munmap,
 * valgrind, TSan), as check_pin_stress scales. */
static unsigned thinning(void)
{
	return slow_host() ? 16 : TEST_UNDER_ASAN ? 4 : 1;
}

/* CRC-32C, reflected 0x82F63B78, from a table built here. crc is the CRC of
 * what came before (0 for nothing), as in the library's crc32c_update. */
static uint32_t crc32c(uint32_t crc, const void *data, size_t len)
{
	static uint32_t table[256];
	static bool built;
	const uint8_t *p = data;

	if (!built) {
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t c = i;

			for (int k = 0; k < 8; k++)
				c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1u)));
			table[i] = c;
		}
		built = true;
	}
	crc = ~crc;
	for (size_t i = 0; i < len; i++)
		crc = table[(crc ^ p[i]) & 0xffu] ^ (crc >> 8);
	return ~crc;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static void put32(uint8_t *p, uint32_t v)
{
	for (unsigned i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	for (unsigned i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) / a * a;
}

static uint64_t region_pages(uint64_t base, uint64_t size)
{
	return (base + (size - 1)) / PAGE - base / PAGE + 1;
}

/* The bytes of pages [first, first + count) of a region, clipped to it:
 * their offset in the region and their length. */
static void run_span(uint64_t base, uint64_t size, uint64_t first, uint64_t count, uint64_t *off,
		     uint64_t *len)
{
	uint64_t aligned = base - base % PAGE;
	uint64_t from = aligned + first * PAGE, last = aligned + (first + count) * PAGE - 1;

	if (from < base)
		from = base;
	if (last > base + (size - 1))
		last = base + (size - 1);
	*off = from - base;
	*len = last - from + 1;
}

static uint64_t region_at(uint32_t index)
{
	return HEADER_BYTES + (uint64_t)index * REGION_BYTES;
}

/* ------------------------------------------------------------------ */
/* a parser of records, asserting every rule of the format             */

#define PARSED_REGIONS_MAX 16

struct p_region {
	uint64_t base, size;
	uint32_t slot, prot, flags;
	uint64_t data_offset;
	char name[32];
};

struct p_run {
	uint32_t type, region;
	uint64_t first, count;
	uint32_t data_crc;
	uint64_t at;	  /* record offset of the run */
	uint64_t data_at; /* record offset of its bytes (DATA) */
	uint64_t len;	  /* its bytes, clipped */
};

struct parsed {
	uint32_t kind, flags, region_count;
	uint64_t record_bytes, run_table_offset, run_count;
	uint64_t end; /* the bytes the record takes */
	struct p_region regions[PARSED_REGIONS_MAX];
	size_t runs_n;
	struct p_run *runs; /* END excluded; free with parsed_free() */
	uint64_t end_run_at;
};

static void parsed_free(struct parsed *p)
{
	free(p->runs);
	p->runs = NULL;
}

static void parse_run_at(const uint8_t *rec, size_t len, uint64_t at, struct p_run *run)
{
	ck_assert_uint_le(at + RUN_BYTES, len);
	ck_assert_msg(get32(rec + at + 28) == crc32c(0, rec + at, 28), "run at %" PRIu64 ": CRC",
		      at);
	run->at = at;
	run->type = get32(rec + at);
	run->region = get32(rec + at + 4);
	run->first = get64(rec + at + 8);
	run->count = get64(rec + at + 16);
	run->data_crc = get32(rec + at + 24);
}

/* Parses a record of len bytes (a file record: exactly; a stream record:
 * at least) and asserts everything docs/SNAPSHOT.md requires of it. */
static void parse_record(const uint8_t *rec, size_t len, struct parsed *p)
{
	uint32_t crc;
	uint64_t table_end, spans_end = 0, at;
	size_t cap = 64;

	memset(p, 0, sizeof(*p));
	ck_assert_uint_ge(len, HEADER_BYTES);
	ck_assert_int_eq(memcmp(rec, "SQUIBSNP", 8), 0);
	ck_assert_uint_eq(get32(rec + 8), 1);
	p->kind = get32(rec + 12);
	p->flags = get32(rec + 16);
	p->region_count = get32(rec + 20);
	ck_assert_msg(p->kind == KIND_FILE || p->kind == KIND_STREAM, "kind %u", p->kind);
	ck_assert_uint_eq(p->flags & ~REC_INCREMENTAL, 0);
	ck_assert_uint_le(p->region_count, PARSED_REGIONS_MAX);
	ck_assert_uint_eq(get64(rec + 24), PAGE);
	p->record_bytes = get64(rec + 32);
	p->run_table_offset = get64(rec + 40);
	p->run_count = get64(rec + 48);
	ck_assert_uint_eq(get32(rec + 56), 0);
	table_end = region_at(p->region_count);
	ck_assert_uint_le(table_end, len);
	crc = crc32c(crc32c(0, rec, 60), rec + HEADER_BYTES, (size_t)(table_end - HEADER_BYTES));
	ck_assert_msg(get32(rec + 60) == crc, "header CRC 0x%08x, computed 0x%08x", get32(rec + 60),
		      crc);
	for (uint32_t i = 0; i < p->region_count; i++) {
		const uint8_t *e = rec + region_at(i);
		struct p_region *r = &p->regions[i];

		r->base = get64(e);
		r->size = get64(e + 8);
		r->slot = get32(e + 16);
		r->prot = get32(e + 20);
		r->flags = get32(e + 24);
		r->data_offset = get64(e + 32);
		memcpy(r->name, e + 48, 32);
		ck_assert_uint_gt(r->size, 0);
		ck_assert_uint_eq(r->prot & ~7u, 0);
		ck_assert_uint_eq(r->flags & ~KEPT_FLAGS, 0);
		ck_assert_uint_eq(get32(e + 28), 0);
		ck_assert_uint_eq(test_first_not(e + 40, 8, 0), 8);
		ck_assert_uint_eq(test_first_not(e + 80, 16, 0), 16);
		ck_assert_int_eq(r->name[31], 0);
		/* padded with NUL bytes */
		ck_assert_uint_eq(
		    test_first_not(r->name + strlen(r->name), 32 - strlen(r->name), 0),
		    32 - strlen(r->name));
		if (i)
			ck_assert_uint_ge(r->base, p->regions[i - 1].base + p->regions[i - 1].size);
		if (p->kind == KIND_STREAM) {
			ck_assert_uint_eq(r->data_offset, 0);
		} else {
			ck_assert_uint_eq(r->data_offset % PAGE, 0);
			ck_assert_uint_ge(r->data_offset, i ? spans_end : table_end);
			spans_end = r->data_offset + region_pages(r->base, r->size) * PAGE;
		}
	}
	p->runs = malloc(cap * sizeof(*p->runs));
	ck_assert_ptr_nonnull(p->runs);
	if (p->kind == KIND_FILE) {
		ck_assert_uint_eq(p->record_bytes, len);
		ck_assert_uint_eq(p->run_table_offset % 8, 0);
		ck_assert_uint_ge(p->run_table_offset, spans_end);
		ck_assert_uint_ge(p->run_table_offset, table_end);
		ck_assert_uint_eq(p->record_bytes, p->run_table_offset + RUN_BYTES * p->run_count);
		p->end = p->record_bytes;
	} else {
		ck_assert_uint_eq(p->record_bytes, 0);
		ck_assert_uint_eq(p->run_table_offset, 0);
		ck_assert_uint_eq(p->run_count, 0);
	}
	at = p->kind == KIND_FILE ? p->run_table_offset : table_end;
	for (uint64_t n = 0;; n++) {
		struct p_run run;
		const struct p_region *r;
		uint64_t off;

		if (p->kind == KIND_FILE && n == p->run_count)
			break;
		parse_run_at(rec, len, at, &run);
		if (run.type == RUN_END) {
			ck_assert_uint_eq(p->kind, KIND_STREAM);
			ck_assert_uint_eq(run.region, 0);
			ck_assert_uint_eq(run.first, n);
			ck_assert_uint_eq(run.count, 0);
			ck_assert_uint_eq(run.data_crc, 0);
			p->end_run_at = at;
			p->end = at + RUN_BYTES;
			break;
		}
		ck_assert_msg(run.type == RUN_DATA || run.type == RUN_ZERO, "run type %u",
			      run.type);
		ck_assert_uint_lt(run.region, p->region_count);
		r = &p->regions[run.region];
		ck_assert_uint_ge(run.count, 1);
		if (run.type == RUN_DATA)
			ck_assert_uint_le(run.count, 256);
		ck_assert_uint_le(run.first + run.count, region_pages(r->base, r->size));
		if (p->runs_n) {
			const struct p_run *prev = &p->runs[p->runs_n - 1];

			ck_assert(
			    prev->region < run.region ||
			    (prev->region == run.region && prev->first + prev->count <= run.first));
		}
		run_span(r->base, r->size, run.first, run.count, &off, &run.len);
		if (run.type == RUN_DATA) {
			run.data_at = p->kind == KIND_FILE ? r->data_offset + r->base % PAGE + off
							   : at + RUN_BYTES;
			ck_assert_uint_le(run.data_at + run.len, len);
			ck_assert_msg(run.data_crc == crc32c(0, rec + run.data_at, (size_t)run.len),
				      "data CRC of the run at %" PRIu64, at);
		} else {
			ck_assert_uint_eq(run.data_crc, 0);
		}
		if (p->runs_n == cap) {
			cap *= 2;
			p->runs = realloc(p->runs, cap * sizeof(*p->runs));
			ck_assert_ptr_nonnull(p->runs);
		}
		p->runs[p->runs_n++] = run;
		at += RUN_BYTES;
		if (p->kind == KIND_STREAM && run.type == RUN_DATA)
			at += run.len;
	}
	/* A full record covers every page once. */
	if (!(p->flags & REC_INCREMENTAL)) {
		size_t k = 0;

		for (uint32_t i = 0; i < p->region_count; i++) {
			uint64_t next = 0;

			for (; k < p->runs_n && p->runs[k].region == i; k++) {
				ck_assert_uint_eq(p->runs[k].first, next);
				next += p->runs[k].count;
			}
			ck_assert_uint_eq(next,
					  region_pages(p->regions[i].base, p->regions[i].size));
		}
	}
}

/* The expected runs of a record: type, region, first page, page count. */
struct want_run {
	uint32_t type, region;
	uint64_t first, count;
};

static void expect_runs(const struct parsed *p, const struct want_run *want, size_t n)
{
	for (size_t i = 0; i < n && i < p->runs_n; i++)
		ck_assert_msg(
		    p->runs[i].type == want[i].type && p->runs[i].region == want[i].region &&
			p->runs[i].first == want[i].first && p->runs[i].count == want[i].count,
		    "run %zu is type %u region %u pages %" PRIu64 " + %" PRIu64
		    ", want type %u region %u pages %" PRIu64 " + %" PRIu64,
		    i, p->runs[i].type, p->runs[i].region, p->runs[i].first, p->runs[i].count,
		    want[i].type, want[i].region, want[i].first, want[i].count);
	ck_assert_uint_eq(p->runs_n, n);
}

/* ------------------------------------------------------------------ */
/* files, options, handles                                             */

/* Fresh opts with flags, padding zeroed. */
static const squib_snapshot_opts_t *opts_of(squib_snapshot_opts_t *opts, uint32_t flags)
{
	memset(opts, 0, sizeof(*opts));
	opts->sz = sizeof(*opts);
	opts->flags = flags;
	return opts;
}
#define OPTS(flags) opts_of(&(squib_snapshot_opts_t){0}, (flags))

static void write_all_at(int fd, const void *buf, size_t len, off_t at)
{
	for (size_t done = 0; done < len;) {
		ssize_t n = pwrite(fd, (const uint8_t *)buf + done, len - done, at + (off_t)done);

		ck_assert_int_gt(n, 0);
		done += (size_t)n;
	}
}

/* A temporary file holding len bytes, positioned at 0. */
static int fd_with(const void *bytes, size_t len)
{
	int fd = test_temp_file(0, 0);

	write_all_at(fd, bytes, len, 0);
	ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

/* A temporary file with a save of mem with flags in it, positioned at 0. */
static int saved(squib_mem_t *mem, uint32_t flags)
{
	int fd = test_temp_file(0, 0);

	CK_OK(squib_mem_save(mem, fd, OPTS(flags)));
	ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

/* The record offset a CORRUPT message names ("byte N"); asserts one is
 * there. */
static uint64_t corrupt_offset(void)
{
	const char *msg = squib_last_error();
	const char *at = msg ? strstr(msg, "byte ") : NULL;
	char *end;
	uint64_t offset;

	ck_assert_msg(at != NULL, "squib_last_error() = \"%s\" names no \"byte \"",
		      msg ? msg : "(null)");
	offset = strtoull(at + 5, &end, 10);
	ck_assert_msg(end != at + 5, "squib_last_error() = \"%s\": no number after \"byte \"", msg);
	return offset;
}

/* As CK_BYTES_EQ, with memcmp() first (the suites build at -O0). */
#define CK_SAME(a, b, len)                                                                         \
	do {                                                                                       \
		if (memcmp((a), (b), (len)) != 0)                                                  \
			CK_BYTES_EQ(a, b, len);                                                    \
	} while (0)

/* Loads fd (at its position) into the empty handle mem with flags and
 * asserts the status; a failed load must leave the handle empty. */
static void load_into(squib_mem_t *mem, int fd, uint32_t flags, squib_status_t want)
{
	CK_STATUS(squib_mem_load(mem, fd, OPTS(flags)), want);
	if (want != SQUIB_OK)
		ck_assert_uint_eq(squib_mem_region_count(mem), 0);
}

/* The same into a new handle: returns it on success (NULL on failure, the
 * handle freed). */
static squib_mem_t *load_expect(int fd, uint32_t flags, squib_status_t want)
{
	squib_mem_t *mem = test_mem_new();

	load_into(mem, fd, flags, want);
	if (want == SQUIB_OK)
		return mem;
	squib_mem_free(mem);
	return NULL;
}

/* Asserts that a load of the len bytes of rec (as a file from offset 0) is
 * CORRUPT at exactly offset, and that the message says what (if not NULL). */
static void expect_corrupt_at(const uint8_t *rec, size_t len, uint32_t flags, uint64_t offset,
			      const char *what)
{
	int fd = fd_with(rec, len);

	(void)load_expect(fd, flags, SQUIB_E_CORRUPT);
	ck_assert_msg(corrupt_offset() == offset,
		      "CORRUPT at byte %" PRIu64 ", want %" PRIu64 ": %s", corrupt_offset(), offset,
		      squib_last_error());
	if (what)
		CK_LAST_ERROR_HAS(what);
	close(fd);
}

/* Copies of the bitmap of a logging slot (words of them). */
static void get_log(squib_mem_t *mem, uint32_t slot, uint64_t *bitmap, size_t words, bool clear)
{
	CK_OK(squib_mem_get_dirty_log(mem, slot, bitmap, words, clear ? SQUIB_DIRTY_CLEAR : 0));
}

/* Asserts the dirty pages of slot (a region of at most 64 pages) are mask. */
static void expect_log64(squib_mem_t *mem, uint32_t slot, uint64_t mask, bool clear,
			 const char *what)
{
	uint64_t word = 0xa5a5a5a5a5a5a5a5u;

	get_log(mem, slot, &word, 1, clear);
	ck_assert_msg(word == mask, "%s: slot %u dirty 0x%016" PRIx64 ", want 0x%016" PRIx64, what,
		      slot, word, mask);
}

static void read_guest(squib_mem_t *mem, uint64_t addr, void *buf, size_t len)
{
	CK_OK(squib_mem_read(mem, SQUIB_GPA(addr), buf, len));
}

/* ------------------------------------------------------------------ */
/* the big layout of the round trips                                   */

struct spec {
	uint64_t base, size;
	uint32_t slot;
	squib_prot_t prot;
	uint32_t flags;
	const char *name;
};

#define LONG_NAME "a-name-longer-than-thirty-one-bytes-is-cut"
#define BIG_SIZE (16u * MIB)

static const struct spec big_layout[] = {
    {0x1800, 0x5000, 1, SQUIB_PROT_RW, 0, "low"}, /* unaligned, 6 pages */
    {0x100000, BIG_SIZE, 2, SQUIB_PROT_RW, SQUIB_REGION_DIRTY_LOG, "ram"},
    {0x2000000, 0x2000, 3, SQUIB_PROT_RX, SQUIB_REGION_READONLY, "rom"},
    {0x3000000, 0x4000, 4, SQUIB_PROT_RW, SQUIB_REGION_SHARED, "virtio-shared"},
    {0x4000fff, 2, 5, SQUIB_PROT_READ, 0, NULL}, /* one byte in each of two pages */
    {0x5000000, 0x3000, 6, SQUIB_PROT_RWX, SQUIB_REGION_DONTDUMP | SQUIB_REGION_DIRTY_LOG,
     LONG_NAME},
};
#define BIG_N (sizeof(big_layout) / sizeof(big_layout[0]))
#define SHARED_INDEX 3

/* What region i of the big layout holds: patterns in some pages, zero
 * pages between. */
static void image_of(size_t i, uint8_t *buf)
{
	const struct spec *s = &big_layout[i];

	memset(buf, 0, (size_t)s->size);
	switch (i) {
	case 0: /* all but aligned page 2 ([0x3000, 0x4000) = offsets 0x1800..0x2800) */
		test_fill_pattern(buf, (size_t)s->size, 11);
		memset(buf + 0x1800, 0, 0x1000);
		break;
	case 1:
		test_fill_pattern(buf, PAGE, 12);
		test_fill_pattern(buf + 7 * PAGE, PAGE, 120);
		test_fill_pattern(buf + 300 * PAGE, PAGE, 121);
		test_fill_pattern(buf + 4095 * PAGE, PAGE / 2, 122);
		buf[2000 * PAGE + 123] = 0x5a;
		break;
	case 2: /* page 1 of the ROM is zeros */
		test_fill_pattern(buf, PAGE, 13);
		break;
	case 3:
		test_fill_pattern(buf, PAGE, 14);
		test_fill_pattern(buf + 2 * PAGE, PAGE, 140);
		break;
	case 4:
		buf[0] = 0xab;
		buf[1] = 0xcd;
		break;
	default:
		test_fill_pattern(buf + PAGE, PAGE, 16);
		break;
	}
}

/* Writes the non-zero pages of an image into a region. */
static void write_image(squib_mem_t *mem, uint64_t base, const uint8_t *image, uint64_t size)
{
	for (uint64_t at = 0; at < size; at += PAGE) {
		size_t n = size - at < PAGE ? (size_t)(size - at) : PAGE;

		if (test_first_not(image + at, n, 0) != n)
			CK_OK(squib_mem_write(mem, SQUIB_GPA(base + at), image + at, n));
	}
}

static bool in_layout(size_t i, bool with_shared)
{
	return with_shared || i != SHARED_INDEX;
}

static squib_mem_t *big_layout_new(bool with_shared)
{
	squib_mem_t *mem = test_mem_new();

	for (size_t i = 0; i < BIG_N; i++) {
		const struct spec *s = &big_layout[i];
		squib_region_opts_t opts = test_opts_of(s->base, s->size, s->slot, s->flags);
		uint8_t *image = malloc((size_t)s->size);

		if (!in_layout(i, with_shared)) {
			free(image);
			continue;
		}
		ck_assert_ptr_nonnull(image);
		image_of(i, image);
		opts.prot = s->prot;
		opts.name = s->name;
		if (s->flags & SQUIB_REGION_READONLY)
			opts.bytes = image;
		CK_OK(squib_mem_add_region_opts(mem, &opts));
		if (!(s->flags & SQUIB_REGION_READONLY))
			write_image(mem, s->base, image, s->size);
		free(image);
	}
	return mem;
}

/* The name a region of the layout has: cut to 31 bytes, "" for none. */
static void expected_name(const struct spec *s, char out[SQUIB_REGION_NAME_MAX])
{
	memset(out, 0, SQUIB_REGION_NAME_MAX);
	if (s->name)
		(void)snprintf(out, SQUIB_REGION_NAME_MAX, "%s", s->name);
}

/*
 * Asserts that mem holds the big layout, every field and every byte. With
 * p (a parsed file record loaded with SQUIB_LOAD_MAP_PRIVATE), the regions
 * the load can map (host-page-aligned range and data offset) are expected
 * FILE | PRIVATE with the record file's offsets; the others copied.
 */
static void expect_big_layout(squib_mem_t *mem, bool with_shared, const struct parsed *p)
{
	const uint64_t hp = test_page();
	size_t n = 0;

	for (size_t i = 0; i < BIG_N; i++)
		n += in_layout(i, with_shared);
	ck_assert_uint_eq(squib_mem_region_count(mem), n);
	for (size_t i = 0, k = 0; i < BIG_N; i++) {
		const struct spec *s = &big_layout[i];
		squib_region_info_t info;
		uint32_t want_flags = s->flags & KEPT_FLAGS;
		char name[SQUIB_REGION_NAME_MAX];
		uint8_t *image, *got;
		bool mapped = false;

		if (!in_layout(i, with_shared))
			continue;
		info = test_info_of(mem, s->slot);
		if (p) {
			mapped = (s->base % hp) == 0 && (s->size % hp) == 0 &&
				 (p->regions[k].data_offset % hp) == 0;
			ck_assert_uint_eq(p->regions[k].slot, s->slot);
		}
		k++;
		if (mapped)
			want_flags |= SQUIB_REGION_FILE | SQUIB_REGION_PRIVATE;
		ck_assert_uint_eq(info.range.base.raw, s->base);
		ck_assert_uint_eq(info.range.size, s->size);
		ck_assert_uint_eq(info.slot, s->slot);
		ck_assert_uint_eq(info.prot, s->prot);
		ck_assert_msg(info.flags == want_flags, "slot %u: flags 0x%x, want 0x%x", s->slot,
			      info.flags, want_flags);
		expected_name(s, name);
		ck_assert_str_eq(info.name, name);
		if (mapped) {
			ck_assert_int_ge(info.fd, 0);
			ck_assert_uint_eq(info.fd_offset, p->regions[k - 1].data_offset);
		} else if (s->flags & SQUIB_REGION_SHARED) {
			ck_assert_int_ge(info.fd, 0);
		} else {
			ck_assert_int_eq(info.fd, -1);
		}
		image = malloc((size_t)s->size);
		got = malloc((size_t)s->size);
		ck_assert_ptr_nonnull(image);
		ck_assert_ptr_nonnull(got);
		image_of(i, image);
		read_guest(mem, s->base, got, (size_t)s->size);
		CK_SAME(got, image, (size_t)s->size);
		free(image);
		free(got);
	}
}

/* The ROM of a loaded big layout is read-only: for the library and for
 * the host mapping. */
static void expect_rom_read_only(squib_mem_t *mem)
{
	squib_region_info_t info = test_info_of(mem, 3);
	uint8_t byte = 0;

	ck_assert_uint_ne(info.flags & SQUIB_REGION_READONLY, 0);
	CK_STATUS(squib_mem_write_u8(mem, SQUIB_GPA(0x2000000 + 5), 1), SQUIB_E_READ_ONLY);
	CK_OK(squib_mem_read_u8(mem, SQUIB_GPA(0x2000000 + 5), &byte));
	ck_assert_uint_eq(byte, test_pattern_byte(13, 5));
	int status = test_child_writes((volatile uint8_t *)info.host_addr + 5);

	CK_SEGV(status, "a write to the loaded ROM's host mapping");
}

/* The SHARED region of a loaded big layout is a memfd whose mapping is the
 * guest's memory. */
static void expect_shared_memfd(squib_mem_t *mem)
{
	squib_region_info_t info = test_info_of(mem, 4);
	uint8_t *view, *image = malloc(0x4000), byte = 0;

	ck_assert_ptr_nonnull(image);
	ck_assert_int_ge(info.fd, 0);
	view =
	    mmap(NULL, 0x4000, PROT_READ | PROT_WRITE, MAP_SHARED, info.fd, (off_t)info.fd_offset);
	ck_assert_ptr_ne(view, MAP_FAILED);
	image_of(SHARED_INDEX, image);
	CK_BYTES_EQ(view, image, 0x4000);
	view[0x1234] = 0x77; /* another process's write, seen by the guest */
	CK_OK(squib_mem_read_u8(mem, SQUIB_GPA(0x3000000 + 0x1234), &byte));
	ck_assert_uint_eq(byte, 0x77);
	ck_assert_int_eq(munmap(view, 0x4000), 0);
	free(image);
}

/* ------------------------------------------------------------------ */
/* the small layout of the exact-format and bit-flip tests             */

/* S0: [0x1800, 0x3800) slot 1, three pages, the first and last clipped;
 * S1: a one-page ROM at 0x10000, slot 2; S2: three pages at 0x20000, slot 3,
 * logging, its middle page zero. */
static squib_mem_t *small_layout_new(void)
{
	squib_mem_t *mem = test_mem_new();
	squib_region_opts_t s0 = test_opts_of(0x1800, 0x2000, 1, 0);
	squib_region_opts_t s1 = test_opts_of(0x10000, 0x1000, 2, SQUIB_REGION_READONLY);
	squib_region_opts_t s2 = test_opts_of(0x20000, 0x3000, 3, SQUIB_REGION_DIRTY_LOG);
	uint8_t buf[0x3000];

	s0.name = "a";
	s1.name = "rom";
	s1.prot = SQUIB_PROT_READ;
	test_fill_pattern(buf, 0x1000, 22);
	s1.bytes = buf;
	CK_OK(squib_mem_add_region_opts(mem, &s0));
	CK_OK(squib_mem_add_region_opts(mem, &s1));
	CK_OK(squib_mem_add_region_opts(mem, &s2));
	test_fill_pattern(buf, 0x2000, 21);
	CK_OK(squib_mem_write(mem, SQUIB_GPA(0x1800), buf, 0x2000));
	test_fill_pattern(buf, 0x3000, 23);
	memset(buf + 0x1000, 0, 0x1000);
	CK_OK(squib_mem_write(mem, SQUIB_GPA(0x20000), buf, 0x3000));
	CK_OK(squib_mem_get_dirty_log(mem, 3, (uint64_t[1]){0}, 1, SQUIB_DIRTY_CLEAR));
	return mem;
}

static void expect_small_layout(squib_mem_t *mem)
{
	uint8_t got[0x3000], want[0x3000];

	ck_assert_uint_eq(squib_mem_region_count(mem), 3);
	read_guest(mem, 0x1800, got, 0x2000);
	test_fill_pattern(want, 0x2000, 21);
	CK_BYTES_EQ(got, want, 0x2000);
	read_guest(mem, 0x10000, got, 0x1000);
	test_fill_pattern(want, 0x1000, 22);
	CK_BYTES_EQ(got, want, 0x1000);
	read_guest(mem, 0x20000, got, 0x3000);
	test_fill_pattern(want, 0x3000, 23);
	memset(want + 0x1000, 0, 0x1000);
	CK_BYTES_EQ(got, want, 0x3000);
}

/* The tiny layout of the truncation tests: T0 [0x1800, 0x2800) slot 1,
 * two clipped pages of data; with more, also T1 a ROM of half a page at
 * 0x10000, slot 2, and T2 a zero page at 0x20000, slot 3. */
static squib_mem_t *tiny_layout_new(bool more)
{
	squib_mem_t *mem = test_mem_new();
	squib_region_opts_t t0 = test_opts_of(0x1800, 0x1000, 1, 0);
	squib_region_opts_t t1 = test_opts_of(0x10000, 0x800, 2, SQUIB_REGION_READONLY);
	uint8_t buf[0x1000];

	test_fill_pattern(buf, sizeof(buf), 31);
	CK_OK(squib_mem_add_region_opts(mem, &t0));
	CK_OK(squib_mem_write(mem, SQUIB_GPA(0x1800), buf, sizeof(buf)));
	if (more) {
		t1.bytes = buf;
		CK_OK(squib_mem_add_region_opts(mem, &t1));
		test_add(mem, 0x20000, 0x1000, 3);
	}
	return mem;
}

#define TINY_FILE_BYTES (4096u + 8192u + 32u)
#define TINY_STREAM_BYTES (64u + 3 * 96u + 32u + 4096u + 32u + 2048u + 32u + 32u)

#define SMALL_FILE_BYTES 32928u	  /* 32768 + 5 runs */
#define SMALL_STREAM_BYTES 21024u /* 352 + 6 runs + 0x5000 data */

/* ------------------------------------------------------------------ */
/* the format, byte by byte                                            */

START_TEST(own_crc32c_check_value)
{
	/* docs/SNAPSHOT.md: the CRC of "123456789" is 0xE3069283. */
	ck_assert_uint_eq(crc32c(0, "123456789", 9), 0xE3069283u);
	/* and it continues as the library's does */
	ck_assert_uint_eq(crc32c(crc32c(0, "1234", 4), "56789", 5), 0xE3069283u);
}
END_TEST

START_TEST(file_record_is_as_documented)
{
	static const struct want_run runs[] = {
	    {RUN_DATA, 0, 0, 3}, {RUN_DATA, 1, 0, 1}, {RUN_DATA, 2, 0, 1},
	    {RUN_ZERO, 2, 1, 1}, {RUN_DATA, 2, 2, 1},
	};
	squib_mem_t *mem = small_layout_new();
	int fd = saved(mem, 0);
	size_t len;
	uint8_t *rec = test_read_file(fd, &len);
	struct parsed p;

	ck_assert_uint_eq(len, SMALL_FILE_BYTES);
	parse_record(rec, len, &p);
	ck_assert_uint_eq(p.kind, KIND_FILE);
	ck_assert_uint_eq(p.flags, 0);
	ck_assert_uint_eq(p.region_count, 3);
	ck_assert_uint_eq(p.record_bytes, SMALL_FILE_BYTES);
	ck_assert_uint_eq(p.run_table_offset, 32768);
	ck_assert_uint_eq(p.run_count, 5);
	/* the regions, in base order, with their spans after the table */
	ck_assert_uint_eq(p.regions[0].base, 0x1800);
	ck_assert_uint_eq(p.regions[0].size, 0x2000);
	ck_assert_uint_eq(p.regions[0].slot, 1);
	ck_assert_uint_eq(p.regions[0].prot, SQUIB_PROT_RW);
	ck_assert_uint_eq(p.regions[0].flags, 0);
	ck_assert_uint_eq(p.regions[0].data_offset, 4096);
	ck_assert_str_eq(p.regions[0].name, "a");
	ck_assert_uint_eq(p.regions[1].base, 0x10000);
	ck_assert_uint_eq(p.regions[1].prot, SQUIB_PROT_READ);
	ck_assert_uint_eq(p.regions[1].flags, SQUIB_REGION_READONLY);
	ck_assert_uint_eq(p.regions[1].data_offset, 16384);
	ck_assert_str_eq(p.regions[1].name, "rom");
	ck_assert_uint_eq(p.regions[2].base, 0x20000);
	ck_assert_uint_eq(p.regions[2].slot, 3);
	ck_assert_uint_eq(p.regions[2].flags, SQUIB_REGION_DIRTY_LOG);
	ck_assert_uint_eq(p.regions[2].data_offset, 20480);
	ck_assert_str_eq(p.regions[2].name, "");
	expect_runs(&p, runs, 5);
	/* byte b of a region is at data_offset + base % 4096 + (b - base) */
	ck_assert_uint_eq(rec[4096 + 0x800], test_pattern_byte(21, 0));
	ck_assert_uint_eq(rec[4096 + 0x800 + 0x1fff], test_pattern_byte(21, 0x1fff));
	ck_assert_uint_eq(rec[20480 + 0x2abc], test_pattern_byte(23, 0x2abc));
	/* what no structure covers is zero: padding, clipped parts, the hole */
	CK_BYTES_ALL(rec + 352, 4096 - 352, 0);
	CK_BYTES_ALL(rec + 4096, 0x800, 0);
	CK_BYTES_ALL(rec + 4096 + 0x2800, 0x800, 0);
	CK_BYTES_ALL(rec + 20480 + 4096, 4096, 0);
	parsed_free(&p);
	free(rec);
	close(fd);
	squib_mem_free(mem);
}
END_TEST

START_TEST(stream_record_is_as_documented)
{
	static const struct want_run runs[] = {
	    {RUN_DATA, 0, 0, 3}, {RUN_DATA, 1, 0, 1}, {RUN_DATA, 2, 0, 1},
	    {RUN_ZERO, 2, 1, 1}, {RUN_DATA, 2, 2, 1},
	};
	squib_mem_t *mem = small_layout_new();
	int fd = saved(mem, SQUIB_SAVE_STREAM);
	size_t len;
	uint8_t *rec = test_read_file(fd, &len);
	struct parsed p;

	ck_assert_uint_eq(len, SMALL_STREAM_BYTES);
	parse_record(rec, len, &p);
	ck_assert_uint_eq(p.kind, KIND_STREAM);
	ck_assert_uint_eq(p.flags, 0);
	ck_assert_uint_eq(p.region_count, 3);
	ck_assert_uint_eq(p.end, SMALL_STREAM_BYTES);
	ck_assert_uint_eq(p.end_run_at, SMALL_STREAM_BYTES - RUN_BYTES);
	ck_assert_uint_eq(p.regions[0].data_offset, 0);
	expect_runs(&p, runs, 5);
	/* the first run follows the table, its bytes follow it */
	ck_assert_uint_eq(p.runs[0].at, 352);
	ck_assert_uint_eq(p.runs[0].len, 0x2000);
	ck_assert_uint_eq(rec[352 + 32], test_pattern_byte(21, 0));
	ck_assert_uint_eq(p.runs[3].len, 0x1000); /* a ZERO run: no bytes follow */
	ck_assert_uint_eq(p.runs[4].at, p.runs[3].at + RUN_BYTES);
	parsed_free(&p);
	free(rec);
	close(fd);
	squib_mem_free(mem);
}
END_TEST

START_TEST(empty_handle_round_trips)
{
	squib_mem_t *mem = test_mem_new();

	for (int stream = 0; stream < 2; stream++) {
		int fd = saved(mem, stream ? SQUIB_SAVE_STREAM : 0);
		size_t len;
		uint8_t *rec = test_read_file(fd, &len);
		struct parsed p;
		squib_mem_t *back;

		parse_record(rec, len, &p);
		ck_assert_uint_eq(p.region_count, 0);
		ck_assert_uint_eq(p.runs_n, 0);
		if (stream) {
			ck_assert_uint_eq(len, HEADER_BYTES + RUN_BYTES);
		} else {
			ck_assert_uint_eq(len, 4096);
			ck_assert_uint_eq(p.run_table_offset, 4096);
			ck_assert_uint_eq(p.run_count, 0);
		}
		back = load_expect(fd, 0, SQUIB_OK);
		ck_assert_uint_eq(squib_mem_region_count(back), 0);
		if (stream)
			ck_assert_int_eq(lseek(fd, 0, SEEK_CUR), (off_t)len);
		squib_mem_free(back);
		parsed_free(&p);
		free(rec);
		close(fd);
	}
	squib_mem_free(mem);
}
END_TEST

/* ------------------------------------------------------------------ */
/* round trips                                                         */

START_TEST(file_round_trip)
{
	squib_mem_t *src = big_layout_new(true), *dst;
	int fd = saved(src, 0);
	size_t len;
	uint8_t *rec = test_read_file(fd, &len);
	struct parsed p;

	parse_record(rec, len, &p);
	ck_assert_uint_eq(p.kind, KIND_FILE);
	ck_assert_uint_eq(p.region_count, BIG_N);
	/* the recorded flags and names */
	for (size_t i = 0; i < BIG_N; i++) {
		char name[SQUIB_REGION_NAME_MAX];

		expected_name(&big_layout[i], name);
		ck_assert_uint_eq(p.regions[i].flags, big_layout[i].flags);
		ck_assert_str_eq(p.regions[i].name, name);
	}
	dst = load_expect(fd, 0, SQUIB_OK);
	expect_big_layout(dst, true, NULL);
	expect_rom_read_only(dst);
	expect_shared_memfd(dst);
	/* the source is as it was */
	expect_big_layout(src, true, NULL);
	parsed_free(&p);
	free(rec);
	close(fd);
	squib_mem_free(dst);
	squib_mem_free(src);
}
END_TEST

START_TEST(null_opts_is_all_flags_clear)
{
	squib_mem_t *src = small_layout_new(), *dst = test_mem_new();
	int fd = test_temp_file(0, 0);
	size_t len;
	uint8_t *rec;
	struct parsed p;

	CK_OK(squib_mem_write_u8(src, SQUIB_GPA(0x20000), test_pattern_byte(23, 0))); /* dirty */
	CK_OK(squib_mem_save(src, fd, NULL));
	rec = test_read_file(fd, &len);
	parse_record(rec, len, &p);
	ck_assert_uint_eq(p.kind, KIND_FILE); /* not STREAM */
	ck_assert_uint_eq(p.flags, 0);	      /* not DIRTY_ONLY */
	expect_log64(src, 3, 0x1, false, "a save with NULL opts clears nothing");
	CK_OK(squib_mem_load(dst, fd, NULL)); /* neither APPLY nor MAP_PRIVATE */
	expect_small_layout(dst);
	ck_assert_int_eq(test_info_of(dst, 1).fd, -1);
	parsed_free(&p);
	free(rec);
	close(fd);
	squib_mem_free(dst);
	squib_mem_free(src);
}
END_TEST

START_TEST(stream_round_trip_through_a_file)
{
	squib_mem_t *src = big_layout_new(true), *dst;
	int fd = saved(src, SQUIB_SAVE_STREAM);
	size_t len;
	uint8_t *rec = test_read_file(fd, &len);
	struct parsed p;

	parse_record(rec, len, &p);
	ck_assert_uint_eq(p.kind, KIND_STREAM);
	ck_assert_uint_eq(p.end, len);
	dst = load_expect(fd, 0, SQUIB_OK);
	ck_assert_int_eq(lseek(fd, 0, SEEK_CUR), (off_t)len);
	expect_big_layout(dst, true, NULL);
	expect_rom_read_only(dst);
	expect_shared_memfd(dst);
	parsed_free(&p);
	free(rec);
	close(fd);
	squib_mem_free(dst);
	squib_mem_free(src);
}
END_TEST

/* A thread that loads records from a pipe or a socket, one per handle. */
struct loader {
	int fd;
	size_t count;
	squib_mem_t *mem[2];
	squib_status_t status[2];
	char error[2][256];
	char tail[8]; /* what follows the records */
	bool read_tail;
};

static void *load_thread(void *arg)
{
	struct loader *l = arg;

	for (size_t i = 0; i < l->count; i++) {
		l->status[i] = squib_mem_load(l->mem[i], l->fd, NULL);
		(void)snprintf(l->error[i], sizeof(l->error[i]), "%s", squib_last_error());
	}
	if (l->read_tail) {
		size_t got = 0;

		while (got < 4) {
			ssize_t n = read(l->fd, l->tail + got, 4 - got);

			if (n <= 0)
				break;
			got += (size_t)n;
		}
	}
	return NULL;
}

static void stream_round_trip_over(int rfd, int wfd)
{
	squib_mem_t *src = big_layout_new(true);
	struct loader l = {.fd = rfd, .count = 1};
	pthread_t thread;

	l.mem[0] = test_mem_new();
	ck_assert_int_eq(pthread_create(&thread, NULL, load_thread, &l), 0);
	CK_OK(squib_mem_save(src, wfd, OPTS(SQUIB_SAVE_STREAM)));
	ck_assert_int_eq(pthread_join(thread, NULL), 0);
	ck_assert_msg(l.status[0] == SQUIB_OK, "load: %d: %s", l.status[0], l.error[0]);
	expect_big_layout(l.mem[0], true, NULL);
	expect_rom_read_only(l.mem[0]);
	expect_shared_memfd(l.mem[0]);
	squib_mem_free(l.mem[0]);
	squib_mem_free(src);
}

START_TEST(stream_round_trip_through_a_pipe)
{
	int fds[2];

	ck_assert_int_eq(pipe(fds), 0);
	/* The smallest pipe the kernel allows: the writer blocks often. */
	(void)fcntl(fds[1], F_SETPIPE_SZ, 4096);
	stream_round_trip_over(fds[0], fds[1]);
	close(fds[0]);
	close(fds[1]);
}
END_TEST

START_TEST(stream_round_trip_through_a_socket)
{
	int fds[2], size = 4096;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
	ck_assert_int_eq(setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size)), 0);
	stream_round_trip_over(fds[1], fds[0]);
	close(fds[0]);
	close(fds[1]);
}
END_TEST

START_TEST(two_stream_records_back_to_back_in_a_file)
{
	squib_mem_t *src = small_layout_new(), *a, *b;
	int fd = test_temp_file(0, 0);
	off_t first;
	uint8_t byte = 0;

	CK_OK(squib_mem_save(src, fd, OPTS(SQUIB_SAVE_STREAM)));
	first = lseek(fd, 0, SEEK_CUR);
	ck_assert_int_eq(first, SMALL_STREAM_BYTES);
	CK_OK(squib_mem_write_u8(src, SQUIB_GPA(0x1800), 0xee));
	CK_OK(squib_mem_save(src, fd, OPTS(SQUIB_SAVE_STREAM)));
	ck_assert_int_eq(lseek(fd, 0, SEEK_CUR), 2 * SMALL_STREAM_BYTES);
	ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
	a = load_expect(fd, 0, SQUIB_OK);
	/* exactly one record read, nothing past it */
	ck_assert_int_eq(lseek(fd, 0, SEEK_CUR), first);
	b = load_expect(fd, 0, SQUIB_OK);
	ck_assert_int_eq(lseek(fd, 0, SEEK_CUR), 2 * first);
	expect_small_layout(a);
	CK_OK(squib_mem_read_u8(b, SQUIB_GPA(0x1800), &byte));
	ck_assert_uint_eq(byte, 0xee);
	CK_OK(squib_mem_write_u8(b, SQUIB_GPA(0x1800), test_pattern_byte(21, 0)));
	expect_small_layout(b);
	/* and the end of the file is end of input: IO */
	(void)load_expect(fd, 0, SQUIB_E_IO);
	close(fd);
	squib_mem_free(a);
	squib_mem_free(b);
	squib_mem_free(src);
}
END_TEST

START_TEST(two_stream_records_back_to_back_on_a_socket)
{
	squib_mem_t *src = big_layout_new(true);
	struct loader l = {.count = 2, .read_tail = true};
	pthread_t thread;
	int fds[2];
	uint8_t byte = 0;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
	l.fd = fds[1];
	l.mem[0] = test_mem_new();
	l.mem[1] = test_mem_new();
	ck_assert_int_eq(pthread_create(&thread, NULL, load_thread, &l), 0);
	CK_OK(squib_mem_save(src, fds[0], OPTS(SQUIB_SAVE_STREAM)));
	CK_OK(squib_mem_write_u8(src, SQUIB_GPA(0x1800), 0xee));
	CK_OK(squib_mem_save(src, fds[0], OPTS(SQUIB_SAVE_STREAM)));
	/* what follows the two records is the reader's, untouched */
	ck_assert_int_eq(write(fds[0], "TAIL", 4), 4);
	ck_assert_int_eq(pthread_join(thread, NULL), 0);
	ck_assert_msg(l.status[0] == SQUIB_OK, "first load: %s", l.error[0]);
	ck_assert_msg(l.status[1] == SQUIB_OK, "second load: %s", l.error[1]);
	ck_assert_str_eq(l.tail, "TAIL");
	CK_OK(squib_mem_read_u8(l.mem[0], SQUIB_GPA(0x1800), &byte));
	ck_assert_uint_eq(byte, test_pattern_byte(11, 0));
	CK_OK(squib_mem_read_u8(l.mem[1], SQUIB_GPA(0x1800), &byte));
	ck_assert_uint_eq(byte, 0xee);
	CK_OK(squib_mem_write_u8(l.mem[1], SQUIB_GPA(0x1800), test_pattern_byte(11, 0)));
	expect_big_layout(l.mem[0], true, NULL);
	expect_big_layout(l.mem[1], true, NULL);
	close(fds[0]);
	close(fds[1]);
	squib_mem_free(l.mem[0]);
	squib_mem_free(l.mem[1]);
	squib_mem_free(src);
}
END_TEST

START_TEST(sparse_file)
{
	const uint64_t size = 64u * MIB, pages = size / PAGE;
	squib_mem_t *src = test_mem_new(), *dst;
	squib_region_opts_t opts = test_opts_of(0x40000000, size, 1, 0);
	uint8_t page[PAGE], got[PAGE];
	struct stat st;
	int fd;
	size_t len;
	uint8_t *rec;
	struct parsed p;

	CK_OK(squib_mem_add_region_opts(src, &opts));
	/* 1 MiB of data: page 64 k + 5 for k < 256 */
	for (uint64_t k = 0; k < 256; k++) {
		test_fill_pattern(page, PAGE, 1000 + k);
		CK_OK(
		    squib_mem_write(src, SQUIB_GPA(0x40000000 + (64 * k + 5) * PAGE), page, PAGE));
	}
	fd = saved(src, 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	/* ZERO 0+5, then DATA and ZERO for each k: 513 runs */
	ck_assert_uint_eq((uint64_t)st.st_size, 4096 + pages * PAGE + 513 * RUN_BYTES);
	ck_assert_msg((uint64_t)st.st_blocks * 512 < 2u * MIB,
		      "a 64 MiB guest with 1 MiB of data takes %" PRIu64 " bytes on disk",
		      (uint64_t)st.st_blocks * 512);
	ck_assert_uint_ge((uint64_t)st.st_blocks * 512, 1u * MIB);
	rec = test_read_file(fd, &len);
	parse_record(rec, len, &p);
	ck_assert_uint_eq(p.run_count, 513);
	ck_assert_uint_eq(p.runs[0].type, RUN_ZERO);
	ck_assert_uint_eq(p.runs[0].count, 5);
	ck_assert_uint_eq(p.runs[1].type, RUN_DATA);
	ck_assert_uint_eq(p.runs[1].first, 5);
	ck_assert_uint_eq(p.runs[2].type, RUN_ZERO);
	ck_assert_uint_eq(p.runs[2].count, 63);
	ck_assert_uint_eq(p.runs[512].count, pages - (64 * 255 + 6));
	parsed_free(&p);
	free(rec);
	for (uint32_t flags = 0; flags <= SQUIB_LOAD_MAP_PRIVATE; flags += SQUIB_LOAD_MAP_PRIVATE) {
		ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
		dst = load_expect(fd, flags, SQUIB_OK);
		for (uint64_t k = 0; k < 256; k += 51) {
			test_fill_pattern(page, PAGE, 1000 + k);
			read_guest(dst, 0x40000000 + (64 * k + 5) * PAGE, got, PAGE);
			CK_BYTES_EQ(got, page, PAGE);
			read_guest(dst, 0x40000000 + (64 * k + 6) * PAGE, got, PAGE);
			CK_BYTES_ALL(got, PAGE, 0);
		}
		squib_mem_free(dst);
	}
	close(fd);
	squib_mem_free(src);
}
END_TEST

/* A load is a library write: every page it fills counts as dirty in a
 * region that logs (contract, "Writes and read-only regions" and
 * "Dirty-page tracking"), whether it copied or mapped the pages. */
/* An untouched stretch is one ZERO run however long, so a big, mostly
 * empty guest has a short run table; APPLY of it zeroes what the
 * destination wrote there since. */
START_TEST(untouched_memory_is_one_zero_run)
{
	const uint64_t base = 0x40000000, size = 64u * MIB, pages = size / PAGE;

	for (int stream = 0; stream <= 1; stream++) {
		squib_mem_t *src = test_mem_new(), *dst;
		squib_region_opts_t opts = test_opts_of(base, size, 1, 0);
		uint8_t page[PAGE], got[PAGE];
		size_t len;
		uint8_t *rec;
		struct parsed p;
		int fd;

		CK_OK(squib_mem_add_region_opts(src, &opts));
		test_fill_pattern(page, PAGE, 7);
		CK_OK(squib_mem_write(src, SQUIB_GPA(base + 5000 * PAGE), page, PAGE));
		fd = saved(src, stream ? SQUIB_SAVE_STREAM : 0);
		rec = test_read_file(fd, &len);
		parse_record(rec, len, &p);
		ck_assert_uint_eq(p.runs_n, 3);
		ck_assert_uint_eq(p.runs[0].type, RUN_ZERO);
		ck_assert_uint_eq(p.runs[0].first, 0);
		ck_assert_uint_eq(p.runs[0].count, 5000);
		ck_assert_uint_eq(p.runs[1].type, RUN_DATA);
		ck_assert_uint_eq(p.runs[1].count, 1);
		ck_assert_uint_eq(p.runs[2].type, RUN_ZERO);
		ck_assert_uint_eq(p.runs[2].first, 5001);
		ck_assert_uint_eq(p.runs[2].count, pages - 5001);
		parsed_free(&p);
		free(rec);

		ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
		dst = load_expect(fd, 0, SQUIB_OK);
		memset(got, 0xA5, sizeof(got));
		CK_OK(squib_mem_write(dst, SQUIB_GPA(base + 100 * PAGE), got, PAGE));
		CK_OK(squib_mem_write(dst, SQUIB_GPA(base + (pages - 1) * PAGE), got, PAGE));
		ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
		CK_OK(squib_mem_load(dst, fd, OPTS(SQUIB_LOAD_APPLY)));
		read_guest(dst, base + 100 * PAGE, got, PAGE);
		CK_BYTES_ALL(got, PAGE, 0);
		read_guest(dst, base + (pages - 1) * PAGE, got, PAGE);
		CK_BYTES_ALL(got, PAGE, 0);
		read_guest(dst, base + 5000 * PAGE, got, PAGE);
		CK_SAME(got, page, PAGE);
		close(fd);
		squib_mem_free(dst);
		squib_mem_free(src);
	}
}
END_TEST

START_TEST(load_marks_the_pages_it_fills)
{
	squib_mem_t *src = big_layout_new(false);
	int fd = saved(src, 0);
	uint64_t copied[64], mapped[64];
	squib_mem_t *dst = load_expect(fd, 0, SQUIB_OK);

	get_log(dst, 2, copied, 64, true);
	for (size_t i = 0; i < 64; i++)
		ck_assert_msg(copied[i] == ~0ull, "copying load: word %zu is 0x%016" PRIx64, i,
			      copied[i]);
	expect_log64(dst, 6, 0x7, true, "copying load, slot 6");
	squib_mem_free(dst);
	ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
	dst = load_expect(fd, SQUIB_LOAD_MAP_PRIVATE, SQUIB_OK);
	get_log(dst, 2, mapped, 64, true);
	for (size_t i = 0; i < 64; i++)
		ck_assert_msg(mapped[i] == copied[i],
			      "MAP_PRIVATE load: word %zu of slot 2's dirty log is 0x%016" PRIx64
			      ", a copying load's 0x%016" PRIx64,
			      i, mapped[i], copied[i]);
	squib_mem_free(dst);
	close(fd);
	squib_mem_free(src);
}
END_TEST

/* ------------------------------------------------------------------ */
/* SQUIB_LOAD_MAP_PRIVATE                                              */

/* Recomputes the header CRC of a record with count region entries. */
static void reseal_header(uint8_t *rec, uint32_t count)
{
	put32(rec + 60, crc32c(crc32c(0, rec, 60), rec + HEADER_BYTES,
			       (size_t)(region_at(count) - HEADER_BYTES)));
}

/* Recomputes the CRC of the run at record offset at. */
static void reseal_run(uint8_t *rec, uint64_t at)
{
	put32(rec + at + 28, crc32c(0, rec + at, 28));
}

START_TEST(map_private_restores_every_byte)
{
	squib_mem_t *src = big_layout_new(false), *dst;
	int fd = saved(src, 0);
	size_t len;
	uint8_t *rec = test_read_file(fd, &len);
	struct parsed p;
	squib_region_info_t info;

	parse_record(rec, len, &p);
	dst = load_expect(fd, SQUIB_LOAD_MAP_PRIVATE, SQUIB_OK);
	expect_big_layout(dst, false, &p);
	expect_rom_read_only(dst);
	/* on a 4 KiB host: the big region is mapped, the unaligned ones copied */
	if (test_page() == PAGE) {
		info = test_info_of(dst, 2);
		ck_assert_uint_eq(info.flags, SQUIB_REGION_DIRTY_LOG | SQUIB_REGION_FILE |
						  SQUIB_REGION_PRIVATE);
		ck_assert_uint_eq(info.fd_offset, p.regions[1].data_offset);
		info = test_info_of(dst, 3);
		ck_assert_uint_eq(info.flags,
				  SQUIB_REGION_READONLY | SQUIB_REGION_FILE | SQUIB_REGION_PRIVATE);
	}
	info = test_info_of(dst, 1);
	ck_assert_uint_eq(info.flags, 0);
	ck_assert_int_eq(info.fd, -1);
	info = test_info_of(dst, 5);
	ck_assert_uint_eq(info.flags, 0);
	ck_assert_int_eq(info.fd, -1);
	/* the restored memory is writable where the guest's was */
	CK_OK(squib_mem_write_u32_le(dst, SQUIB_GPA(0x100000 + 5 * PAGE), 0x01020304u));
	CK_OK(squib_mem_write_u32_le(dst, SQUIB_GPA(0x1800), 0x01020304u));
	parsed_free(&p);
	free(rec);
	close(fd);
	squib_mem_free(dst);
	squib_mem_free(src);
}
END_TEST

START_TEST(map_private_writes_never_reach_the_file)
{
	squib_mem_t *src = big_layout_new(false), *dst, *again;
	int fd = saved(src, 0);
	size_t len, len_after;
	uint8_t *before = test_read_file(fd, &len), *after, page[PAGE];

	dst = load_expect(fd, SQUIB_LOAD_MAP_PRIVATE, SQUIB_OK);
	memset(page, 0xc3, sizeof(page));
	/* a page with data, a hole, the last bytes, another mapped region */
	CK_OK(squib_mem_write(dst, SQUIB_GPA(0x100000), page, PAGE));
	CK_OK(squib_mem_write(dst, SQUIB_GPA(0x100000 + 9 * PAGE), page, PAGE));
	CK_OK(squib_mem_write(dst, SQUIB_GPA(0x100000 + BIG_SIZE - 100), page, 100));
	CK_OK(squib_mem_write(dst, SQUIB_GPA(0x5000000), page, PAGE));
	CK_OK(squib_mem_discard(dst, SQUIB_GPA(0x100000 + 7 * test_page()), (size_t)test_page()));
	after = test_read_file(fd, &len_after);
	ck_assert_uint_eq(len_after, len);
	CK_BYTES_EQ(after, before, len);
	/* and the file still restores the original */
	ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
	again = load_expect(fd, 0, SQUIB_OK);
	expect_big_layout(again, false, NULL);
	free(before);
	free(after);
	close(fd);
	squib_mem_free(again);
	squib_mem_free(dst);
	squib_mem_free(src);
}
END_TEST

START_TEST(map_private_outlives_the_file)
{
	const char *tmp = getenv("TMPDIR");
	char dir[PATH_MAX], path[PATH_MAX + 16];
	squib_mem_t *src = big_layout_new(false), *dst = test_mem_new();
	size_t fds_before, len;
	uint8_t *rec;
	struct parsed p;
	int fd;

	if (!tmp || !*tmp)
		tmp = "/tmp";
	(void)snprintf(dir, sizeof(dir), "%s/squib_snap.XXXXXX", tmp);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	(void)snprintf(path, sizeof(path), "%s/guest.snap", dir);
	fds_before = test_count_fds();
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	CK_OK(squib_mem_save(src, fd, NULL));
	rec = test_read_file(fd, &len);
	parse_record(rec, len, &p);
	free(rec);
	CK_OK(squib_mem_load(dst, fd, OPTS(SQUIB_LOAD_MAP_PRIVATE)));
	ck_assert_int_eq(close(fd), 0);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(rmdir(dir), 0);
	/* every page read now, first touch after the file is gone */
	expect_big_layout(dst, false, &p);
	parsed_free(&p);
	squib_mem_free(dst);
	ck_assert_uint_eq(test_count_fds(), fds_before);
	squib_mem_free(src);
}
END_TEST

/* The usual restore: the snapshot opened read-only. */
START_TEST(map_private_from_a_read_only_fd)
{
	squib_mem_t *src = big_layout_new(false), *dst;
	int fd = saved(src, 0), ro;
	char path[64];
	size_t len;
	uint8_t *rec = test_read_file(fd, &len);
	struct parsed p;

	parse_record(rec, len, &p);
	(void)snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ro = open(path, O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(ro, 0);
	dst = load_expect(ro, SQUIB_LOAD_MAP_PRIVATE, SQUIB_OK);
	close(ro);
	expect_big_layout(dst, false, &p);
	CK_OK(squib_mem_write_u8(dst, SQUIB_GPA(0x100000), 0x11));
	parsed_free(&p);
	free(rec);
	close(fd);
	squib_mem_free(dst);
	squib_mem_free(src);
}
END_TEST

START_TEST(map_private_refusals)
{
	squib_mem_t *shared = big_layout_new(true), *small = small_layout_new(), *mem;
	int fd = saved(shared, 0), small_fd, stream_fd;
	size_t len;
	uint8_t *rec;

	/* a SHARED region cannot be a private file mapping */
	(void)load_expect(fd, SQUIB_LOAD_MAP_PRIVATE, SQUIB_E_UNSUPPORTED);
	CK_LAST_ERROR_HAS("SHARED");
	CK_LAST_ERROR_HAS("slot 4");
	close(fd);
	/* nor a HUGETLB one (checked before any huge page is asked for) */
	small_fd = saved(small, 0);
	rec = test_read_file(small_fd, &len);
	put32(rec + region_at(2) + 24, SQUIB_REGION_HUGETLB);
	reseal_header(rec, 3);
	fd = fd_with(rec, len);
	(void)load_expect(fd, SQUIB_LOAD_MAP_PRIVATE, SQUIB_E_UNSUPPORTED);
	CK_LAST_ERROR_HAS("HUGETLB");
	close(fd);
	free(rec);
	/* a stream record has no file to map */
	stream_fd = saved(small, SQUIB_SAVE_STREAM);
	(void)load_expect(stream_fd, SQUIB_LOAD_MAP_PRIVATE, SQUIB_E_UNSUPPORTED);
	close(stream_fd);
	/* MAP_PRIVATE with APPLY, refused before anything is read */
	CK_STATUS(squib_mem_load(small, small_fd, OPTS(SQUIB_LOAD_MAP_PRIVATE | SQUIB_LOAD_APPLY)),
		  SQUIB_E_UNSUPPORTED);
	ck_assert_int_eq(lseek(small_fd, 0, SEEK_CUR), 0);
	expect_small_layout(small);
	mem = test_mem_new();
	CK_STATUS(squib_mem_load(mem, small_fd, OPTS(SQUIB_LOAD_MAP_PRIVATE | SQUIB_LOAD_APPLY)),
		  SQUIB_E_UNSUPPORTED);
	ck_assert_uint_eq(squib_mem_region_count(mem), 0);
	squib_mem_free(mem);
	close(small_fd);
	squib_mem_free(small);
	squib_mem_free(shared);
}
END_TEST

/* ------------------------------------------------------------------ */
/* incremental records and SQUIB_LOAD_APPLY                            */

#define INC_RAM 0x100000u  /* slot 1: 64 pages, logging */
#define INC_DEV 0x200000u  /* slot 2: 4 pages, not logging */
#define INC_ROM 0x300000u  /* slot 3: 1 page, read-only */
#define INC_TAIL 0x400800u /* slot 4: 0x2000 bytes over 3 pages, logging */

static void write_page(squib_mem_t *mem, uint64_t addr, uint64_t seed)
{
	uint8_t page[PAGE];

	if (seed)
		test_fill_pattern(page, PAGE, seed);
	else
		memset(page, 0, PAGE);
	CK_OK(squib_mem_write(mem, SQUIB_GPA(addr), page, PAGE));
}

static void expect_page(squib_mem_t *mem, uint64_t addr, uint64_t seed, const char *what)
{
	uint8_t page[PAGE], got[PAGE];

	if (seed)
		test_fill_pattern(page, PAGE, seed);
	else
		memset(page, 0, PAGE);
	read_guest(mem, addr, got, PAGE);
	ck_assert_msg(test_first_diff(got, page, PAGE) == PAGE,
		      "%s: page at 0x%" PRIx64 " differs at byte %zu", what, addr,
		      test_first_diff(got, page, PAGE));
}

static squib_mem_t *inc_layout_new(void)
{
	squib_mem_t *mem = test_mem_new();
	squib_region_opts_t ram = test_opts_of(INC_RAM, 64 * PAGE, 1, SQUIB_REGION_DIRTY_LOG);
	squib_region_opts_t dev = test_opts_of(INC_DEV, 4 * PAGE, 2, 0);
	squib_region_opts_t rom = test_opts_of(INC_ROM, PAGE, 3, SQUIB_REGION_READONLY);
	squib_region_opts_t tail = test_opts_of(INC_TAIL, 0x2000, 4, SQUIB_REGION_DIRTY_LOG);
	uint8_t image[PAGE];

	test_fill_pattern(image, PAGE, 300);
	rom.bytes = image;
	CK_OK(squib_mem_add_region_opts(mem, &ram));
	CK_OK(squib_mem_add_region_opts(mem, &dev));
	CK_OK(squib_mem_add_region_opts(mem, &rom));
	CK_OK(squib_mem_add_region_opts(mem, &tail));
	for (uint64_t i = 0; i < 10; i++)
		write_page(mem, INC_RAM + i * PAGE, 100 + i);
	write_page(mem, INC_RAM + 20 * PAGE, 120);
	write_page(mem, INC_DEV + PAGE, 201);
	for (uint64_t i = 0; i < 2; i++)
		write_page(mem, INC_TAIL + i * PAGE, 400 + i);
	return mem;
}

/* Asserts that every byte of every region of a and b is the same but the
 * slot 1 pages in skip (a mask of page numbers). */
static void expect_same_bytes(squib_mem_t *a, squib_mem_t *b, uint64_t skip)
{
	static const struct {
		uint64_t base, size;
	} regions[] = {
	    {INC_RAM, 64 * PAGE}, {INC_DEV, 4 * PAGE}, {INC_ROM, PAGE}, {INC_TAIL, 0x2000}};
	uint8_t *x = malloc(64 * PAGE), *y = malloc(64 * PAGE);

	ck_assert_ptr_nonnull(x);
	ck_assert_ptr_nonnull(y);
	for (size_t r = 0; r < 4; r++) {
		read_guest(a, regions[r].base, x, (size_t)regions[r].size);
		read_guest(b, regions[r].base, y, (size_t)regions[r].size);
		for (uint64_t at = 0; at < regions[r].size; at += PAGE) {
			size_t n =
			    regions[r].size - at < PAGE ? (size_t)(regions[r].size - at) : PAGE;

			if (r == 0 && (skip >> (at / PAGE) & 1))
				continue;
			ck_assert_msg(test_first_diff(x + at, y + at, n) == n,
				      "region 0x%" PRIx64 " page %" PRIu64 " differs at byte %zu",
				      regions[r].base, at / PAGE,
				      test_first_diff(x + at, y + at, n));
		}
	}
	free(x);
	free(y);
}

/* Saves src with flags (SQUIB_SAVE_STREAM added when stream) to a new
 * file; parses it into p. */
static int save_parsed(squib_mem_t *src, uint32_t flags, bool stream, struct parsed *p)
{
	int fd = saved(src, flags | (stream ? SQUIB_SAVE_STREAM : 0));
	size_t len;
	uint8_t *rec = test_read_file(fd, &len);

	parse_record(rec, len, p);
	ck_assert_uint_eq(p->end, len);
	free(rec);
	return fd;
}

/* _i: 0 file records, 1 stream records */
START_TEST(incremental_records)
{
	static const struct want_run carried[] = {
	    {RUN_DATA, 0, 3, 1},
	    {RUN_ZERO, 0, 5, 1},
	    {RUN_DATA, 0, 30, 1}, /* ram: dirty only */
	    {RUN_ZERO, 1, 0, 1},
	    {RUN_DATA, 1, 1, 2},
	    {RUN_ZERO, 1, 3, 1}, /* dev: whole */
	    /* rom: nothing */
	    {RUN_DATA, 3, 1, 1}, /* tail: its dirty page */
	};
	static const struct want_run second[] = {{RUN_DATA, 0, 7, 1},
						 {RUN_DATA, 0, 50, 1},
						 {RUN_ZERO, 1, 0, 1},
						 {RUN_DATA, 1, 1, 2},
						 {RUN_ZERO, 1, 3, 1}};
	const bool stream = _i == 1;
	squib_mem_t *src = inc_layout_new(), *dst;
	struct parsed p;
	uint64_t words[1];
	int fd;

	/* a full record that clears what it saved */
	fd = save_parsed(src, SQUIB_SAVE_CLEAR_DIRTY, stream, &p);
	ck_assert_uint_eq(p.flags, 0);
	parsed_free(&p);
	expect_log64(src, 1, 0, false, "after a full save with CLEAR_DIRTY");
	expect_log64(src, 4, 0, false, "after a full save with CLEAR_DIRTY");
	dst = load_expect(fd, 0, SQUIB_OK);
	close(fd);
	expect_same_bytes(src, dst, 0);
	get_log(dst, 1, words, 1, true);
	get_log(dst, 4, words, 1, true);

	/* the destination changes a page of its own */
	write_page(dst, INC_RAM + 40 * PAGE, 77);
	/* the source runs on: new data, a page zeroed, the device, the tail */
	write_page(src, INC_RAM + 3 * PAGE, 203);
	write_page(src, INC_RAM + 30 * PAGE, 230);
	write_page(src, INC_RAM + 5 * PAGE, 0);
	write_page(src, INC_DEV + 2 * PAGE, 302);
	CK_OK(squib_mem_write_u8(src, SQUIB_GPA(INC_TAIL + 0x1000), 0x99));
	expect_log64(src, 1, 1u << 3 | 1u << 5 | 1u << 30, false, "the source's writes");

	fd = save_parsed(src, SQUIB_SAVE_DIRTY_ONLY | SQUIB_SAVE_CLEAR_DIRTY, stream, &p);
	ck_assert_uint_eq(p.flags, REC_INCREMENTAL);
	expect_runs(&p, carried, sizeof(carried) / sizeof(carried[0]));
	parsed_free(&p);
	/* cleared; a write after the save is the next record's */
	expect_log64(src, 1, 0, false, "after DIRTY_ONLY | CLEAR_DIRTY");
	expect_log64(src, 4, 0, false, "after DIRTY_ONLY | CLEAR_DIRTY");
	write_page(src, INC_RAM + 50 * PAGE, 250);
	expect_log64(src, 1, 1ull << 50, false, "a write after the save");

	CK_OK(squib_mem_load(dst, fd, OPTS(SQUIB_LOAD_APPLY)));
	close(fd);
	/* what the record carried, and the destination's own page */
	expect_log64(dst, 1, 1u << 3 | 1u << 5 | 1u << 30 | 1ull << 40, true, "applied");
	expect_log64(dst, 4, 1u << 1, true, "applied to the tail");
	expect_same_bytes(src, dst, 1ull << 40 | 1ull << 50);
	expect_page(dst, INC_RAM + 40 * PAGE, 77, "the destination's own page");
	expect_page(dst, INC_RAM + 50 * PAGE, 0, "a page written after the save");
	expect_page(dst, INC_RAM + 5 * PAGE, 0, "a page the source zeroed");

	/* without CLEAR_DIRTY the bits stay */
	write_page(src, INC_RAM + 7 * PAGE, 207);
	fd = save_parsed(src, SQUIB_SAVE_DIRTY_ONLY, stream, &p);
	expect_runs(&p, second, sizeof(second) / sizeof(second[0]));
	parsed_free(&p);
	expect_log64(src, 1, 1ull << 7 | 1ull << 50, false, "after DIRTY_ONLY alone");
	CK_OK(squib_mem_load(dst, fd, OPTS(SQUIB_LOAD_APPLY)));
	close(fd);
	expect_same_bytes(src, dst, 1ull << 40);
	expect_log64(src, 1, 1ull << 7 | 1ull << 50, false, "the source after the apply");
	squib_mem_free(dst);
	squib_mem_free(src);
}
END_TEST

/* Logging switched on and off after the add: a save follows the region's
 * logging as it is now (info.flags), in what it carries and records. */
START_TEST(dirty_only_follows_logging_as_it_is_now)
{
	static const struct want_run on[] = {{RUN_DATA, 0, 2, 1}};
	static const struct want_run off[] = {
	    {RUN_ZERO, 0, 0, 2}, {RUN_DATA, 0, 2, 1}, {RUN_ZERO, 0, 3, 5}};
	squib_mem_t *mem = test_mem_new();
	struct parsed p;
	int fd;

	test_add(mem, 0x100000, 8 * PAGE, 1);
	write_page(mem, 0x100000 + 2 * PAGE, 2);
	CK_OK(squib_mem_set_dirty_log(mem, 1, true));
	write_page(mem, 0x100000 + 2 * PAGE, 3);
	fd = save_parsed(mem, SQUIB_SAVE_DIRTY_ONLY | SQUIB_SAVE_CLEAR_DIRTY, false, &p);
	ck_assert_uint_eq(p.regions[0].flags, SQUIB_REGION_DIRTY_LOG);
	expect_runs(&p, on, 1);
	parsed_free(&p);
	close(fd);
	expect_log64(mem, 1, 0, false, "cleared by the save");
	CK_OK(squib_mem_set_dirty_log(mem, 1, false));
	fd = save_parsed(mem, SQUIB_SAVE_DIRTY_ONLY | SQUIB_SAVE_CLEAR_DIRTY, true, &p);
	ck_assert_uint_eq(p.regions[0].flags, 0);
	expect_runs(&p, off, 3);
	parsed_free(&p);
	close(fd);
	squib_mem_free(mem);
}
END_TEST

/* An incremental record loaded into an empty handle: the pages it does not
 * carry are the fresh region's zeros. */
START_TEST(incremental_record_into_an_empty_handle)
{
	squib_mem_t *src = inc_layout_new(), *dst;
	int fd;
	uint64_t word = 0;

	get_log(src, 1, &word, 1, true);
	get_log(src, 4, &word, 1, true);
	write_page(src, INC_RAM + 9 * PAGE, 909);
	fd = saved(src, SQUIB_SAVE_DIRTY_ONLY);
	dst = load_expect(fd, 0, SQUIB_OK);
	ck_assert_uint_eq(squib_mem_region_count(dst), 4);
	expect_page(dst, INC_RAM + 9 * PAGE, 909, "carried");
	expect_page(dst, INC_RAM + 8 * PAGE, 0, "not carried");
	expect_page(dst, INC_DEV + PAGE, 201, "a region that does not log, whole");
	/* the ROM is not carried by an incremental record */
	expect_page(dst, INC_ROM, 0, "the ROM");
	close(fd);
	squib_mem_free(dst);
	squib_mem_free(src);
}
END_TEST

static squib_mem_t *two_regions(uint64_t base1, uint64_t size1, uint32_t slot1, uint64_t base2,
				uint64_t size2, uint32_t slot2, size_t count)
{
	squib_mem_t *mem = test_mem_new();
	squib_region_opts_t a = test_opts_of(base1, size1, slot1, SQUIB_REGION_DIRTY_LOG);
	squib_region_opts_t b = test_opts_of(base2, size2, slot2, 0);
	uint64_t word = 0;

	CK_OK(squib_mem_add_region_opts(mem, &a));
	if (count > 1)
		CK_OK(squib_mem_add_region_opts(mem, &b));
	write_page(mem, base1, 50);
	get_log(mem, slot1, &word, 1, true);
	return mem;
}

START_TEST(apply_onto_another_layout_changes_nothing)
{
	static const struct {
		uint64_t base1, size1, base2, size2;
		uint32_t slot1, slot2;
		size_t count;
		uint64_t offset;
	} cases[] = {
	    {0x100000, 0x4000, 0, 0, 1, 0, 1, 20},		    /* fewer regions */
	    {0x100000, 0x4000, 0x210000, 0x2000, 1, 2, 2, 64 + 96}, /* another base */
	    {0x100000, 0x4000, 0x200000, 0x3000, 1, 2, 2, 64 + 96}, /* another size */
	    {0x100000, 0x4000, 0x200000, 0x2000, 1, 9, 2, 64 + 96}, /* another slot */
	    {0x0ff000, 0x5000, 0x200000, 0x2000, 1, 2, 2, 64},	    /* the first */
	};
	squib_mem_t *src = two_regions(0x100000, 0x4000, 1, 0x200000, 0x2000, 2, 2);
	int fd;

	write_page(src, 0x100000, 51);
	write_page(src, 0x200000, 52);
	fd = saved(src, 0);
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		squib_mem_t *dst =
		    two_regions(cases[c].base1, cases[c].size1, cases[c].slot1, cases[c].base2,
				cases[c].size2, cases[c].slot2, cases[c].count);

		ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
		CK_STATUS(squib_mem_load(dst, fd, OPTS(SQUIB_LOAD_APPLY)), SQUIB_E_CORRUPT);
		ck_assert_msg(corrupt_offset() == cases[c].offset, "case %zu: %s", c,
			      squib_last_error());
		ck_assert_uint_eq(squib_mem_region_count(dst), cases[c].count);
		expect_page(dst, cases[c].base1, 50, "the destination after a refused apply");
		expect_log64(dst, cases[c].slot1, 0, false, "the destination's log");
		ck_assert_uint_eq(test_info_of(dst, cases[c].slot1).range.size, cases[c].size1);
		squib_mem_free(dst);
	}
	close(fd);
	squib_mem_free(src);
}
END_TEST

/* _i: 0 file records, 1 stream records */
START_TEST(apply_onto_a_read_only_region)
{
	const bool stream = _i == 1;
	squib_mem_t *src = test_mem_new(), *same = test_mem_new(), *other = test_mem_new(),
		    *nonzero = test_mem_new();
	squib_region_opts_t ram = test_opts_of(0x100000, 0x2000, 1, 0);
	squib_region_opts_t rom = test_opts_of(0x200000, 0x2000, 2, SQUIB_REGION_READONLY);
	uint8_t image[0x2000], got[0x2000];
	int fd;

	/* page 0 data, page 1 zeros */
	memset(image, 0, sizeof(image));
	test_fill_pattern(image, PAGE, 60);
	rom.bytes = image;
	CK_OK(squib_mem_add_region_opts(src, &ram));
	CK_OK(squib_mem_add_region_opts(src, &rom));
	CK_OK(squib_mem_add_region_opts(same, &ram));
	CK_OK(squib_mem_add_region_opts(same, &rom));
	write_page(src, 0x100000, 61);
	fd = saved(src, stream ? SQUIB_SAVE_STREAM : 0);
	/* the same bytes: nothing to write, the apply succeeds */
	CK_OK(squib_mem_load(same, fd, OPTS(SQUIB_LOAD_APPLY)));
	expect_page(same, 0x100000, 61, "applied");
	read_guest(same, 0x200000, got, sizeof(got));
	CK_BYTES_EQ(got, image, sizeof(got));
	/* other bytes in a DATA page: READ_ONLY, and the ROM keeps its own */
	test_fill_pattern(image, PAGE, 62);
	CK_OK(squib_mem_add_region_opts(other, &ram));
	CK_OK(squib_mem_add_region_opts(other, &rom));
	ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
	CK_STATUS(squib_mem_load(other, fd, OPTS(SQUIB_LOAD_APPLY)), SQUIB_E_READ_ONLY);
	CK_LAST_ERROR_HAS("slot 2");
	read_guest(other, 0x200000, got, sizeof(got));
	CK_BYTES_EQ(got, image, sizeof(got));
	ck_assert_uint_eq(squib_mem_region_count(other), 2);
	/* non-zero bytes where the record has a ZERO page */
	test_fill_pattern(image, PAGE, 60);
	image[PAGE + 17] = 1;
	CK_OK(squib_mem_add_region_opts(nonzero, &ram));
	CK_OK(squib_mem_add_region_opts(nonzero, &rom));
	ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
	CK_STATUS(squib_mem_load(nonzero, fd, OPTS(SQUIB_LOAD_APPLY)), SQUIB_E_READ_ONLY);
	CK_LAST_ERROR_HAS("slot 2");
	read_guest(nonzero, 0x200000, got, sizeof(got));
	CK_BYTES_EQ(got, image, sizeof(got));
	close(fd);
	squib_mem_free(nonzero);
	squib_mem_free(other);
	squib_mem_free(same);
	squib_mem_free(src);
}
END_TEST

START_TEST(apply_marks_every_page_it_writes)
{
	squib_mem_t *src = test_mem_new(), *dst = test_mem_new();
	squib_region_opts_t ram = test_opts_of(0x100000, 100 * PAGE, 1, 0);
	squib_region_opts_t logged = test_opts_of(0x100000, 100 * PAGE, 1, SQUIB_REGION_DIRTY_LOG);
	uint64_t words[2];
	int fd;

	CK_OK(squib_mem_add_region_opts(src, &ram));
	CK_OK(squib_mem_add_region_opts(dst, &logged));
	write_page(src, 0x100000 + 10 * PAGE, 70);
	fd = saved(src, 0);
	/* a full record carries every page, zero or not, equal or not */
	CK_OK(squib_mem_load(dst, fd, OPTS(SQUIB_LOAD_APPLY)));
	get_log(dst, 1, words, 2, true);
	ck_assert_uint_eq(words[0], ~0ull);
	ck_assert_uint_eq(words[1], (1ull << 36) - 1);
	expect_page(dst, 0x100000 + 10 * PAGE, 70, "applied");
	close(fd);
	squib_mem_free(dst);
	squib_mem_free(src);
}
END_TEST

/* ------------------------------------------------------------------ */
/* refusals                                                            */

/* A file with five bytes in it, to see that a refused save leaves it. */
static int hello_file(void)
{
	return fd_with("hello", 5);
}

static void expect_hello(int fd)
{
	char buf[8] = {0};

	ck_assert_uint_eq(test_file_size(fd), 5);
	ck_assert_int_eq(pread(fd, buf, sizeof(buf), 0), 5);
	ck_assert_str_eq(buf, "hello");
	ck_assert_int_eq(lseek(fd, 0, SEEK_CUR), 0);
}

START_TEST(argument_refusals)
{
	static const uint32_t not_for_save[] = {SQUIB_LOAD_MAP_PRIVATE, SQUIB_LOAD_APPLY, 0x10,
						0x1000, 0x80000000u};
	static const uint32_t not_for_load[] = {SQUIB_SAVE_STREAM,
						SQUIB_SAVE_DIRTY_ONLY,
						SQUIB_SAVE_CLEAR_DIRTY,
						SQUIB_SAVE_HELPER_THREAD,
						0x400,
						0x80000000u};
	squib_mem_t *mem = small_layout_new(), *empty = test_mem_new();
	int out = hello_file(), in = saved(mem, 0);
	struct {
		squib_snapshot_opts_t opts;
		uint8_t more[16];
	} big;

	CK_STATUS(squib_mem_save(NULL, out, NULL), SQUIB_E_INVALID_ARGUMENT);
	CK_STATUS(squib_mem_load(NULL, in, NULL), SQUIB_E_INVALID_ARGUMENT);
	CK_STATUS(squib_mem_save(mem, -1, NULL), SQUIB_E_INVALID_ARGUMENT);
	CK_LAST_ERROR_HAS("-1");
	CK_STATUS(squib_mem_load(empty, -7, NULL), SQUIB_E_INVALID_ARGUMENT);
	CK_LAST_ERROR_HAS("-7");
	/* sz smaller than the layout */
	for (size_t sz = 0; sz < sizeof(squib_snapshot_opts_t); sz += 4) {
		memset(&big, 0, sizeof(big));
		big.opts.sz = sz;
		CK_STATUS(squib_mem_save(mem, out, &big.opts), SQUIB_E_INVALID_ARGUMENT);
		CK_STATUS(squib_mem_load(empty, in, &big.opts), SQUIB_E_INVALID_ARGUMENT);
	}
	/* larger, a non-zero byte past the layout: UNSUPPORTED */
	memset(&big, 0, sizeof(big));
	big.opts.sz = sizeof(big);
	big.more[3] = 1;
	CK_STATUS(squib_mem_save(mem, out, &big.opts), SQUIB_E_UNSUPPORTED);
	CK_STATUS(squib_mem_load(empty, in, &big.opts), SQUIB_E_UNSUPPORTED);
	big.more[3] = 0;
	big.more[15] = 0x80;
	CK_STATUS(squib_mem_save(mem, out, &big.opts), SQUIB_E_UNSUPPORTED);
	CK_STATUS(squib_mem_load(empty, in, &big.opts), SQUIB_E_UNSUPPORTED);
	/* the other side's flags and unknown ones */
	big.more[15] = 0;
	for (size_t i = 0; i < sizeof(not_for_save) / sizeof(not_for_save[0]); i++) {
		big.opts.flags = not_for_save[i];
		CK_STATUS(squib_mem_save(mem, out, &big.opts), SQUIB_E_INVALID_ARGUMENT);
		CK_STATUS(squib_mem_save(mem, out, OPTS(not_for_save[i])),
			  SQUIB_E_INVALID_ARGUMENT);
	}
	for (size_t i = 0; i < sizeof(not_for_load) / sizeof(not_for_load[0]); i++) {
		big.opts.flags = not_for_load[i];
		CK_STATUS(squib_mem_load(empty, in, &big.opts), SQUIB_E_INVALID_ARGUMENT);
		CK_STATUS(squib_mem_load(empty, in, OPTS(not_for_load[i])),
			  SQUIB_E_INVALID_ARGUMENT);
	}
	/* none of it wrote or read anything */
	expect_hello(out);
	ck_assert_int_eq(lseek(in, 0, SEEK_CUR), 0);
	ck_assert_uint_eq(squib_mem_region_count(empty), 0);
	/* larger with zeros past the layout: as the layout */
	big.opts.flags = 0;
	CK_OK(squib_mem_save(mem, out, &big.opts));
	ck_assert_uint_eq(test_file_size(out), SMALL_FILE_BYTES);
	CK_OK(squib_mem_load(empty, in, &big.opts));
	expect_small_layout(empty);
	close(in);
	close(out);
	squib_mem_free(empty);
	squib_mem_free(mem);
}
END_TEST

/* The contract's size-first rule: UNSUPPORTED is for an sz larger than the
 * layout with a non-zero byte past it. An opts of exactly the layout is
 * read by its fields: the compiler's padding in it is not a field. */
START_TEST(opts_padding_is_not_a_field)
{
	squib_mem_t *mem = small_layout_new(), *empty = test_mem_new();
	squib_snapshot_opts_t opts;
	int fd = test_temp_file(0, 0);

	if (sizeof(opts) == offsetof(squib_snapshot_opts_t, flags) + sizeof(opts.flags))
		return;			   /* no padding on this ABI */
	memset(&opts, 0xff, sizeof(opts)); /* what a stack slot may hold */
	opts.sz = sizeof(opts);
	opts.flags = 0;
	CK_OK(squib_mem_save(mem, fd, &opts));
	ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
	CK_OK(squib_mem_load(empty, fd, &opts));
	close(fd);
	squib_mem_free(empty);
	squib_mem_free(mem);
}
END_TEST

START_TEST(file_record_to_a_pipe_or_socket_is_refused)
{
	squib_mem_t *mem = small_layout_new();
	int fds[2], pending = -1;

	CK_OK(squib_mem_write_u8(mem, SQUIB_GPA(0x20000), 1));
	for (int kind = 0; kind < 2; kind++) {
		if (kind == 0)
			ck_assert_int_eq(pipe(fds), 0);
		else
			ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
		CK_STATUS(squib_mem_save(mem, fds[1], NULL), SQUIB_E_INVALID_ARGUMENT);
		CK_LAST_ERROR_HAS("SQUIB_SAVE_STREAM");
		CK_STATUS(squib_mem_save(mem, fds[1],
					 OPTS(SQUIB_SAVE_DIRTY_ONLY | SQUIB_SAVE_CLEAR_DIRTY)),
			  SQUIB_E_INVALID_ARGUMENT);
		/* nothing was written */
		ck_assert_int_eq(ioctl(fds[0], FIONREAD, &pending), 0);
		ck_assert_int_eq(pending, 0);
		close(fds[0]);
		close(fds[1]);
	}
	/* and nothing was cleared */
	expect_log64(mem, 3, 0x1, false, "after refused saves with CLEAR_DIRTY");
	squib_mem_free(mem);
}
END_TEST

START_TEST(load_into_a_non_empty_handle_is_busy)
{
	squib_mem_t *src = big_layout_new(true), *dst = small_layout_new();
	int fd = saved(src, 0);

	CK_STATUS(squib_mem_load(dst, fd, NULL), SQUIB_E_BUSY);
	CK_LAST_ERROR_HAS("SQUIB_LOAD_APPLY");
	CK_STATUS(squib_mem_load(dst, fd, OPTS(SQUIB_LOAD_MAP_PRIVATE)), SQUIB_E_BUSY);
	ck_assert_int_eq(lseek(fd, 0, SEEK_CUR), 0); /* nothing read */
	expect_small_layout(dst);
	expect_log64(dst, 3, 0, false, "the handle after a refused load");
	close(fd);
	squib_mem_free(dst);
	squib_mem_free(src);
}
END_TEST

/* pwrite() on an O_APPEND file appends wherever it is asked to write
 * (Linux): a file record cannot be laid out in one. A save must then
 * refuse (and write nothing) or still write a record that loads. */
START_TEST(save_to_an_append_only_file)
{
	squib_mem_t *mem = small_layout_new();
	int fd = hello_file();
	squib_status_t status;

	ck_assert_int_eq(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_APPEND), 0);
	status = squib_mem_save(mem, fd, NULL);
	if (status != SQUIB_OK) {
		expect_hello(fd);
	} else {
		squib_mem_t *back;

		ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
		back = test_mem_new();
		CK_STATUS(squib_mem_load(back, fd, NULL), SQUIB_OK);
		expect_small_layout(back);
		squib_mem_free(back);
	}
	close(fd);
	squib_mem_free(mem);
}
END_TEST

/* ---- listeners ---- */

struct busy_probe {
	squib_mem_t *mem;
	int out, in;
	unsigned calls;
	squib_status_t save, save_stream, load, load_apply;
};

static squib_status_t busy_region_add(void *ctx, const squib_region_info_t *info)
{
	struct busy_probe *b = ctx;

	(void)info;
	b->calls++;
	b->save = squib_mem_save(b->mem, b->out, NULL);
	b->save_stream = squib_mem_save(b->mem, b->out, OPTS(SQUIB_SAVE_STREAM));
	b->load = squib_mem_load(b->mem, b->in, NULL);
	b->load_apply = squib_mem_load(b->mem, b->in, OPTS(SQUIB_LOAD_APPLY));
	return SQUIB_OK;
}

START_TEST(save_and_load_inside_a_listener_callback_are_busy)
{
	squib_mem_t *mem = test_mem_new(), *src = small_layout_new();
	squib_listener_t listener = SQUIB_LISTENER_INIT;
	struct busy_probe b = {.mem = mem, .out = hello_file(), .in = saved(src, 0)};
	uint64_t id = 0;

	listener.ctx = &b;
	listener.region_add = busy_region_add;
	CK_OK(squib_mem_listener_add(mem, &listener, &id));
	test_add(mem, 0x100000, PAGE, 1);
	ck_assert_uint_eq(b.calls, 1);
	CK_STATUS(b.save, SQUIB_E_BUSY);
	CK_STATUS(b.save_stream, SQUIB_E_BUSY);
	CK_STATUS(b.load, SQUIB_E_BUSY);
	CK_STATUS(b.load_apply, SQUIB_E_BUSY);
	expect_hello(b.out);
	ck_assert_int_eq(lseek(b.in, 0, SEEK_CUR), 0);
	ck_assert_uint_eq(squib_mem_region_count(mem), 1);
	close(b.out);
	close(b.in);
	squib_mem_free(src);
	squib_mem_free(mem);
}
END_TEST

struct add_probe {
	uint32_t refuse_slot;
	squib_status_t refusal;
	unsigned adds, dels, accepted;
	uint32_t slots_added;	/* bit per slot */
	uint32_t slots_deleted; /* bit per slot */
	char names[8][SQUIB_REGION_NAME_MAX];
};

static squib_status_t probe_region_add(void *ctx, const squib_region_info_t *info)
{
	struct add_probe *a = ctx;

	a->adds++;
	if (info->slot < 8)
		memcpy(a->names[info->slot], info->name, SQUIB_REGION_NAME_MAX);
	if (info->slot == a->refuse_slot)
		return a->refusal;
	a->accepted++;
	a->slots_added |= 1u << info->slot;
	return SQUIB_OK;
}

static void probe_region_del(void *ctx, const squib_region_info_t *info)
{
	struct add_probe *a = ctx;

	a->dels++;
	a->slots_deleted |= 1u << info->slot;
}

START_TEST(listeners_see_the_loaded_regions)
{
	squib_mem_t *src = big_layout_new(true), *dst = test_mem_new();
	squib_listener_t listener = SQUIB_LISTENER_INIT;
	struct add_probe a = {.refuse_slot = 99};
	int fd = saved(src, 0);
	uint64_t id = 0;

	listener.ctx = &a;
	listener.region_add = probe_region_add;
	listener.region_del = probe_region_del;
	CK_OK(squib_mem_listener_add(dst, &listener, &id));
	CK_OK(squib_mem_load(dst, fd, NULL));
	ck_assert_uint_eq(a.adds, BIG_N);
	ck_assert_uint_eq(a.slots_added, 0x7e); /* slots 1 to 6 */
	ck_assert_uint_eq(a.dels, 0);
	ck_assert_str_eq(a.names[2], "ram");
	ck_assert_str_eq(a.names[3], "rom");
	expect_big_layout(dst, true, NULL);
	CK_OK(squib_mem_listener_remove(dst, id));
	ck_assert_uint_eq(a.dels, BIG_N);
	close(fd);
	squib_mem_free(dst);
	squib_mem_free(src);
}
END_TEST

/* A listener refusing a region fails the load with its status, and what
 * it accepted is taken back. Slot 3 is the ROM (its bytes go in last). */
START_TEST(a_listener_refusal_fails_the_load)
{
	static const uint32_t refused[] = {1, 3, 4, 6};
	squib_mem_t *src = big_layout_new(true);
	int fd = saved(src, 0);

	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		squib_mem_t *dst = test_mem_new();
		squib_listener_t listener = SQUIB_LISTENER_INIT;
		struct add_probe a = {.refuse_slot = refused[i], .refusal = SQUIB_E_NOT_FOUND};
		uint64_t id = 0;

		listener.ctx = &a;
		listener.region_add = probe_region_add;
		listener.region_del = probe_region_del;
		CK_OK(squib_mem_listener_add(dst, &listener, &id));
		ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
		CK_STATUS(squib_mem_load(dst, fd, NULL), SQUIB_E_NOT_FOUND);
		ck_assert_uint_eq(squib_mem_region_count(dst), 0);
		ck_assert_uint_eq(a.dels, a.accepted);
		ck_assert_uint_eq(a.slots_deleted, a.slots_added);
		ck_assert_uint_eq(a.slots_added & (1u << refused[i]), 0);
		/* and the handle takes the record once the listener agrees */
		a.refuse_slot = 99;
		ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
		CK_OK(squib_mem_load(dst, fd, NULL));
		expect_big_layout(dst, true, NULL);
		squib_mem_free(dst);
	}
	close(fd);
	squib_mem_free(src);
}
END_TEST

/* ---- failed saves put the harvested dirty bits back ---- */

START_TEST(a_failed_save_keeps_the_dirty_bits)
{
	squib_mem_t *mem = small_layout_new();
	struct sigaction ignore = {.sa_handler = SIG_IGN}, old;
	int fds[2];
	uint64_t word = 0;

	get_log(mem, 3, &word, 1, true);
	CK_OK(squib_mem_write_u8(mem, SQUIB_GPA(0x20000 + PAGE), 1));
	CK_OK(squib_mem_write_u8(mem, SQUIB_GPA(0x20000 + 2 * PAGE), 1));
	sigemptyset(&ignore.sa_mask);
	ck_assert_int_eq(sigaction(SIGPIPE, &ignore, &old), 0);
	ck_assert_int_eq(pipe(fds), 0);
	close(fds[0]);
	CK_STATUS(squib_mem_save(
		      mem, fds[1],
		      OPTS(SQUIB_SAVE_STREAM | SQUIB_SAVE_DIRTY_ONLY | SQUIB_SAVE_CLEAR_DIRTY)),
		  SQUIB_E_IO);
	CK_LAST_ERROR_HAS(strerror(EPIPE));
	expect_log64(mem, 3, 0x6, false, "after a save that failed");
	close(fds[1]);
	ck_assert_int_eq(sigaction(SIGPIPE, &old, NULL), 0);
	squib_mem_free(mem);
}
END_TEST

static squib_status_t refuse_sync_of_slot_3(void *ctx, const squib_region_info_t *info,
					    uint64_t *bitmap, size_t words)
{
	(void)ctx;
	(void)bitmap;
	(void)words;
	return info->slot == 3 ? SQUIB_E_NOT_FOUND : SQUIB_OK;
}

START_TEST(a_log_sync_refusal_fails_the_save)
{
	squib_mem_t *mem = small_layout_new();
	squib_region_opts_t more = test_opts_of(0x1000, 0x800, 7, SQUIB_REGION_DIRTY_LOG);
	squib_listener_t listener = SQUIB_LISTENER_INIT;
	int out = hello_file();
	uint64_t id = 0, word = 0;

	/* slot 7 (before slot 3 in base order) is harvested first */
	CK_OK(squib_mem_add_region_opts(mem, &more));
	get_log(mem, 3, &word, 1, true);
	CK_OK(squib_mem_write_u8(mem, SQUIB_GPA(0x1000), 1));
	listener.log_sync = refuse_sync_of_slot_3;
	CK_OK(squib_mem_listener_add(mem, &listener, &id));
	CK_STATUS(squib_mem_save(mem, out, OPTS(SQUIB_SAVE_DIRTY_ONLY | SQUIB_SAVE_CLEAR_DIRTY)),
		  SQUIB_E_NOT_FOUND);
	expect_hello(out);
	expect_log64(mem, 7, 0x1, false, "slot 7 after the refused save");
	CK_OK(squib_mem_listener_remove(mem, id));
	close(out);
	squib_mem_free(mem);
}
END_TEST

/* ------------------------------------------------------------------ */
/* untrusted input: flipped bits, truncation, trailing garbage         */

/*
 * What a load of the small file record p must say when byte off is
 * flipped: CORRUPT at *at (exactly, or, with *below set, at some offset
 * below *at: a flip in the header or the table may be caught by the
 * field's own check or by the header's CRC), or OK for the bytes no
 * structure covers that a copying load does not read (docs/SNAPSHOT.md:
 * the clipped parts of a span's pages and the holes of ZERO runs).
 */
static squib_status_t expected_flip(const struct parsed *p, uint64_t off, uint64_t *at, bool *below)
{
	uint64_t table_end = region_at(p->region_count);

	*below = false;
	if (off < table_end) {
		*at = p->regions[0].data_offset;
		*below = true;
		return SQUIB_E_CORRUPT;
	}
	if (off < p->regions[0].data_offset) {
		*at = off; /* the padding after the table is checked */
		return SQUIB_E_CORRUPT;
	}
	if (off >= p->run_table_offset) {
		*at =
		    p->run_table_offset + (off - p->run_table_offset) / RUN_BYTES * RUN_BYTES + 28;
		return SQUIB_E_CORRUPT;
	}
	for (uint32_t i = 0; i < p->region_count; i++) {
		const struct p_region *r = &p->regions[i];
		uint64_t rel = off - r->data_offset, page = rel / PAGE;

		if (off < r->data_offset || rel >= region_pages(r->base, r->size) * PAGE)
			continue;
		if (rel < r->base % PAGE || rel >= r->base % PAGE + r->size)
			return SQUIB_OK; /* clipped: not the region's */
		for (size_t k = 0; k < p->runs_n; k++) {
			const struct p_run *run = &p->runs[k];

			if (run->region != i || page < run->first ||
			    page >= run->first + run->count)
				continue;
			if (run->type == RUN_ZERO)
				return SQUIB_OK; /* a hole, never read */
			*at = run->at + 24;
			return SQUIB_E_CORRUPT;
		}
		return SQUIB_OK; /* carried by no run */
	}
	ck_abort_msg("byte %" PRIu64 " is in no part of the record", off);
	return SQUIB_E_INVALID_ARGUMENT;
}

START_TEST(every_bit_of_a_file_record)
{
	const unsigned thin = thinning();
	squib_mem_t *src = small_layout_new();
	int fd = saved(src, 0);
	size_t len;
	uint8_t *rec = test_read_file(fd, &len);
	struct parsed p;
	size_t loads = 0, oks = 0;

	parse_record(rec, len, &p);
	ck_assert_uint_eq(len, SMALL_FILE_BYTES);
	for (uint64_t off = 0; off < len; off++) {
		bool structure = off < region_at(3) || off >= p.run_table_offset;
		unsigned bits = structure ? 0xff : (1u << (off % 8));
		uint64_t want_at = 0;
		bool below;
		squib_status_t want = expected_flip(&p, off, &want_at, &below);

		/* every bit of every structure; in the padding and the
		 * spans, one bit a byte, and a sample of the spans' bytes */
		if (!structure && off >= p.regions[0].data_offset && off % (13 * thin) != 0)
			continue;
		if (thin > 1 && off >= p.run_table_offset)
			bits &= (thin > 4 ? 0x81u : 0x99u) << (off % 2);
		else if (thin > 4 && structure && off % 4)
			bits &= 0x81;
		for (unsigned bit = 0; bit < 8; bit++) {
			uint8_t flipped = (uint8_t)(rec[off] ^ (1u << bit));
			squib_mem_t *mem;
			squib_status_t got;

			if (!(bits & (1u << bit)))
				continue;
			write_all_at(fd, &flipped, 1, (off_t)off);
			ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
			mem = test_mem_new();
			got = squib_mem_load(mem, fd, NULL);
			loads++;
			ck_assert_msg(got == want,
				      "bit %u of byte %" PRIu64 " flipped: status %d, want %d: %s",
				      bit, off, got, want, squib_last_error());
			if (got == SQUIB_OK) {
				uint8_t byte = 0xff;

				oks++;
				/* what it did not read is not in guest memory */
				if (off >= p.regions[2].data_offset + PAGE &&
				    off < p.regions[2].data_offset + 2 * PAGE) {
					CK_OK(squib_mem_read_u8(
					    mem,
					    SQUIB_GPA(0x20000 + off - p.regions[2].data_offset),
					    &byte));
					ck_assert_uint_eq(byte, 0);
				}
			} else {
				uint64_t at = corrupt_offset();

				ck_assert_uint_eq(squib_mem_region_count(mem), 0);
				if (below)
					ck_assert_msg(at < want_at,
						      "bit %u of byte %" PRIu64
						      ": CORRUPT at byte %" PRIu64 ": %s",
						      bit, off, at, squib_last_error());
				else
					ck_assert_msg(at == want_at,
						      "bit %u of byte %" PRIu64
						      ": CORRUPT at byte %" PRIu64 ", want %" PRIu64
						      ": %s",
						      bit, off, at, want_at, squib_last_error());
			}
			squib_mem_free(mem);
			write_all_at(fd, &rec[off], 1, (off_t)off);
		}
	}
	ck_assert_uint_gt(oks, 0);
	ck_assert_uint_gt(loads, oks);
	/* and untouched it loads */
	ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
	squib_mem_free(load_expect(fd, 0, SQUIB_OK));
	parsed_free(&p);
	free(rec);
	close(fd);
	squib_mem_free(src);
}
END_TEST

START_TEST(every_truncation_of_a_file_record)
{
	const uint64_t step = thinning() > 4 ? 97 : thinning();
	squib_mem_t *src = tiny_layout_new(false), *mem = test_mem_new();
	int fd = saved(src, 0);

	ck_assert_uint_eq(test_file_size(fd), TINY_FILE_BYTES);
	for (uint64_t len = TINY_FILE_BYTES; len-- > 0;) {
		if (len % step && len > 200)
			continue;
		ck_assert_int_eq(ftruncate(fd, (off_t)len), 0);
		ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
		if (len < HEADER_BYTES) {
			load_into(mem, fd, 0, SQUIB_E_IO);
			CK_LAST_ERROR_HAS("ended");
			continue;
		}
		load_into(mem, fd, 0, SQUIB_E_CORRUPT);
		ck_assert_uint_eq(corrupt_offset(), 32);
		CK_LAST_ERROR_HAS("truncated");
		CK_LAST_ERROR_HAS_U64(len);
	}
	close(fd);
	squib_mem_free(mem);
	squib_mem_free(src);
}
END_TEST

START_TEST(trailing_garbage)
{
	static const size_t extra[] = {1, 7, 4096, 100000};
	squib_mem_t *src = small_layout_new();

	for (size_t i = 0; i < sizeof(extra) / sizeof(extra[0]); i++) {
		int fd = saved(src, 0);

		/* zeros or not: the file is longer than its record */
		ck_assert_int_eq(ftruncate(fd, (off_t)(SMALL_FILE_BYTES + extra[i])), 0);
		if (i % 2)
			write_all_at(fd, "x", 1, (off_t)(SMALL_FILE_BYTES + extra[i] - 1));
		for (uint32_t flags = 0; flags <= SQUIB_LOAD_MAP_PRIVATE;
		     flags += SQUIB_LOAD_MAP_PRIVATE) {
			ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
			(void)load_expect(fd, flags, SQUIB_E_CORRUPT);
			ck_assert_uint_eq(corrupt_offset(), 32);
			CK_LAST_ERROR_HAS("trailing garbage");
		}
		close(fd);
	}
	squib_mem_free(src);
}
END_TEST

START_TEST(every_truncation_of_a_stream_record)
{
	const uint64_t step = thinning() > 4 ? 89 : thinning() > 1 ? 7 : 1;
	squib_mem_t *src = tiny_layout_new(true), *mem = test_mem_new();
	int fd = saved(src, SQUIB_SAVE_STREAM);
	size_t loads = 0;

	ck_assert_uint_eq(test_file_size(fd), TINY_STREAM_BYTES);
	for (uint64_t len = TINY_STREAM_BYTES; len-- > 0;) {
		if (len % step && len > 400)
			continue;
		ck_assert_int_eq(ftruncate(fd, (off_t)len), 0);
		ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
		load_into(mem, fd, 0, SQUIB_E_IO);
		CK_LAST_ERROR_HAS("ended");
		CK_LAST_ERROR_HAS_U64(len);
		loads++;
	}
	ck_assert_uint_gt(loads, 400);
	close(fd);
	squib_mem_free(mem);
	squib_mem_free(src);
}
END_TEST

/* Writes len bytes into a pipe and closes it; the load sees the end. */
struct feeder {
	int fd;
	const uint8_t *bytes;
	size_t len;
};

static void *feed_and_close(void *arg)
{
	struct feeder *f = arg;

	for (size_t at = 0; at < f->len;) {
		ssize_t n = write(f->fd, f->bytes + at, f->len - at);

		if (n <= 0)
			break;
		at += (size_t)n;
	}
	close(f->fd);
	return NULL;
}

START_TEST(truncated_stream_over_a_pipe)
{
	static const size_t lengths[] = {
	    0, 1, 63, 64, 100, 352, 353, 384, 400, 8000, 8576, 20000, SMALL_STREAM_BYTES - 1};
	squib_mem_t *src = small_layout_new();
	int fd = saved(src, SQUIB_SAVE_STREAM);
	size_t len;
	uint8_t *rec = test_read_file(fd, &len);

	for (size_t i = 0; i < sizeof(lengths) / sizeof(lengths[0]); i++) {
		int fds[2];
		struct feeder f = {.bytes = rec, .len = lengths[i]};
		pthread_t thread;

		ck_assert_int_eq(pipe(fds), 0);
		f.fd = fds[1];
		ck_assert_int_eq(pthread_create(&thread, NULL, feed_and_close, &f), 0);
		(void)load_expect(fds[0], 0, SQUIB_E_IO);
		CK_LAST_ERROR_HAS("stream ended");
		CK_LAST_ERROR_HAS_U64(lengths[i]);
		ck_assert_int_eq(pthread_join(thread, NULL), 0);
		close(fds[0]);
	}
	free(rec);
	close(fd);
	squib_mem_free(src);
}
END_TEST

/* ------------------------------------------------------------------ */
/* hand-crafted records, built here from docs/SNAPSHOT.md              */

struct craft_region {
	uint64_t base, size;
	uint32_t slot, prot, flags;
	const char *name;
};

struct craft_run {
	uint32_t type, region;
	uint64_t first, count;
};

#define CRAFT_REGIONS_MAX 4
#define CRAFT_RUNS_MAX 8

struct craft {
	uint32_t kind, flags;
	size_t regions_n;
	struct craft_region regions[CRAFT_REGIONS_MAX];
	size_t runs_n;
	struct craft_run runs[CRAFT_RUNS_MAX];
};

struct built {
	uint8_t *bytes;
	size_t len;
	uint64_t run_at[CRAFT_RUNS_MAX + 1]; /* the END run last, in a stream */
	uint64_t data_offset[CRAFT_REGIONS_MAX];
};

/* The byte at offset off of a crafted region with slot. */
static uint8_t craft_byte(uint32_t slot, uint64_t off)
{
	return test_pattern_byte(slot + 500, off);
}

static void built_grow(struct built *b, size_t len)
{
	if (len <= b->len)
		return;
	b->bytes = realloc(b->bytes, len);
	ck_assert_ptr_nonnull(b->bytes);
	memset(b->bytes + b->len, 0, len - b->len);
	b->len = len;
}

static void put_run(uint8_t *at, uint32_t type, uint32_t region, uint64_t first, uint64_t count,
		    uint32_t data_crc)
{
	put32(at, type);
	put32(at + 4, region);
	put64(at + 8, first);
	put64(at + 16, count);
	put32(at + 24, data_crc);
	put32(at + 28, crc32c(0, at, 28));
}

/* The record c describes, with checksums right; DATA runs hold
 * craft_byte()s. Free b->bytes. */
static void build(const struct craft *c, struct built *b)
{
	uint64_t table_end = region_at((uint32_t)c->regions_n), at;

	memset(b, 0, sizeof(*b));
	built_grow(b, (size_t)table_end);
	memcpy(b->bytes, "SQUIBSNP", 8);
	put32(b->bytes + 8, 1);
	put32(b->bytes + 12, c->kind);
	put32(b->bytes + 16, c->flags);
	put32(b->bytes + 20, (uint32_t)c->regions_n);
	put64(b->bytes + 24, PAGE);
	at = align_up(table_end, PAGE);
	for (size_t i = 0; i < c->regions_n; i++) {
		const struct craft_region *r = &c->regions[i];
		uint8_t *e = b->bytes + region_at((uint32_t)i);

		put64(e, r->base);
		put64(e + 8, r->size);
		put32(e + 16, r->slot);
		put32(e + 20, r->prot);
		put32(e + 24, r->flags);
		if (r->name)
			memcpy(e + 48, r->name, strlen(r->name));
		if (c->kind == KIND_FILE) {
			b->data_offset[i] = at;
			put64(e + 32, at);
			at += region_pages(r->base, r->size) * PAGE;
		}
	}
	if (c->kind == KIND_FILE) {
		uint64_t rto = at;

		built_grow(b, (size_t)(rto + RUN_BYTES * c->runs_n));
		for (size_t k = 0; k < c->runs_n; k++) {
			const struct craft_run *run = &c->runs[k];
			const struct craft_region *r = &c->regions[run->region];
			uint64_t off, len, data_at;
			uint32_t crc = 0;

			run_span(r->base, r->size, run->first, run->count, &off, &len);
			data_at = b->data_offset[run->region] + r->base % PAGE + off;
			if (run->type == RUN_DATA) {
				for (uint64_t j = 0; j < len; j++)
					b->bytes[data_at + j] = craft_byte(r->slot, off + j);
				crc = crc32c(0, b->bytes + data_at, (size_t)len);
			}
			b->run_at[k] = rto + RUN_BYTES * k;
			put_run(b->bytes + b->run_at[k], run->type, run->region, run->first,
				run->count, crc);
		}
		put64(b->bytes + 32, rto + RUN_BYTES * c->runs_n);
		put64(b->bytes + 40, rto);
		put64(b->bytes + 48, c->runs_n);
	} else {
		at = table_end;
		for (size_t k = 0; k < c->runs_n; k++) {
			const struct craft_run *run = &c->runs[k];
			const struct craft_region *r = &c->regions[run->region];
			uint64_t off, len = 0;
			uint32_t crc = 0;

			b->run_at[k] = at;
			if (run->type == RUN_DATA) {
				run_span(r->base, r->size, run->first, run->count, &off, &len);
				built_grow(b, (size_t)(at + RUN_BYTES + len));
				for (uint64_t j = 0; j < len; j++)
					b->bytes[at + RUN_BYTES + j] = craft_byte(r->slot, off + j);
				crc = crc32c(0, b->bytes + at + RUN_BYTES, (size_t)len);
			}
			built_grow(b, (size_t)(at + RUN_BYTES));
			put_run(b->bytes + at, run->type, run->region, run->first, run->count, crc);
			at += RUN_BYTES + len;
		}
		built_grow(b, (size_t)(at + RUN_BYTES));
		b->run_at[c->runs_n] = at;
		put_run(b->bytes + at, RUN_END, 0, c->runs_n, 0, 0);
	}
	reseal_header(b->bytes, (uint32_t)c->regions_n);
}

/* Two regions, R0 [0x10000, 0x13000) slot 1 and R1 [0x20000, 0x22000)
 * slot 2, and a full set of runs: R0 DATA 0+3, R1 DATA 0+1, ZERO 1+1. */
static struct craft craft_default(uint32_t kind)
{
	struct craft c = {
	    .kind = kind,
	    .regions_n = 2,
	    .regions = {{0x10000, 0x3000, 1, SQUIB_PROT_RW, 0, "r0"},
			{0x20000, 0x2000, 2, SQUIB_PROT_READ, 0, "r1"}},
	    .runs_n = 3,
	    .runs = {{RUN_DATA, 0, 0, 3}, {RUN_DATA, 1, 0, 1}, {RUN_ZERO, 1, 1, 1}},
	};

	return c;
}

/* Builds c and asserts its load is CORRUPT at offset, saying what. */
static void expect_craft_corrupt(const struct craft *c, uint64_t offset, const char *what)
{
	struct built b;

	build(c, &b);
	expect_corrupt_at(b.bytes, b.len, 0, offset, what);
	free(b.bytes);
}

static void load_craft_ok(const struct craft *c, struct built *b, squib_mem_t **mem)
{
	int fd;

	build(c, b);
	fd = fd_with(b->bytes, b->len);
	*mem = load_expect(fd, 0, SQUIB_OK);
	if (c->kind == KIND_STREAM)
		ck_assert_int_eq(lseek(fd, 0, SEEK_CUR), (off_t)b->len);
	close(fd);
}

/* _i: 0 file, 1 stream */
START_TEST(crafted_records_that_are_right_load)
{
	const uint32_t kind = _i ? KIND_STREAM : KIND_FILE;
	struct craft c = craft_default(kind);
	struct built b;
	squib_mem_t *mem;
	uint8_t got[0x3000];
	squib_region_info_t info;
	struct parsed p;

	load_craft_ok(&c, &b, &mem);
	parse_record(b.bytes, b.len, &p); /* our builder and parser agree */
	parsed_free(&p);
	free(b.bytes);
	ck_assert_uint_eq(squib_mem_region_count(mem), 2);
	read_guest(mem, 0x10000, got, 0x3000);
	for (size_t j = 0; j < 0x3000; j++)
		ck_assert_uint_eq(got[j], craft_byte(1, j));
	read_guest(mem, 0x20000, got, 0x2000);
	for (size_t j = 0; j < 0x1000; j++)
		ck_assert_uint_eq(got[j], craft_byte(2, j));
	CK_BYTES_ALL(got + 0x1000, 0x1000, 0);
	info = test_info_of(mem, 2);
	ck_assert_uint_eq(info.prot, SQUIB_PROT_READ);
	ck_assert_str_eq(info.name, "r1");
	squib_mem_free(mem);

	/* an incremental record may leave pages out */
	c.flags = REC_INCREMENTAL;
	c.runs_n = 2;
	c.runs[0] = (struct craft_run){RUN_DATA, 0, 1, 1};
	c.runs[1] = (struct craft_run){RUN_ZERO, 1, 1, 1};
	load_craft_ok(&c, &b, &mem);
	free(b.bytes);
	read_guest(mem, 0x10000, got, 0x3000);
	CK_BYTES_ALL(got, 0x1000, 0);
	for (size_t j = 0x1000; j < 0x2000; j++)
		ck_assert_uint_eq(got[j], craft_byte(1, j));
	CK_BYTES_ALL(got + 0x2000, 0x1000, 0);
	squib_mem_free(mem);

	/* a region that ends at UINT64_MAX, in one clipped page */
	c = craft_default(kind);
	c.regions[1] =
	    (struct craft_region){0xfffffffffffff800ull, 0x7ff, 2, SQUIB_PROT_RW, 0, NULL};
	c.runs[1] = (struct craft_run){RUN_DATA, 1, 0, 1};
	c.runs_n = 2;
	load_craft_ok(&c, &b, &mem);
	free(b.bytes);
	read_guest(mem, 0xfffffffffffff800ull, got, 0x7ff);
	for (size_t j = 0; j < 0x7ff; j++)
		ck_assert_uint_eq(got[j], craft_byte(2, j));
	squib_mem_free(mem);
}
END_TEST

/* _i: 0 file, 1 stream */
START_TEST(crafted_region_tables)
{
	const uint32_t kind = _i ? KIND_STREAM : KIND_FILE;
	const uint64_t r0 = region_at(0), r1 = region_at(1);
	struct craft c;
	struct built b;

	/* overlapping regions */
	c = craft_default(kind);
	c.regions[1].base = 0x12000;
	expect_craft_corrupt(&c, r1, "overlaps");
	/* unsorted */
	c = craft_default(kind);
	c.regions[1].base = 0x8000;
	expect_craft_corrupt(&c, r1, "order");
	/* a region of size 0 */
	c = craft_default(kind);
	build(&c, &b);
	put64(b.bytes + r1 + 8, 0);
	reseal_header(b.bytes, 2);
	expect_corrupt_at(b.bytes, b.len, 0, r1 + 8, "empty");
	free(b.bytes);
	/* a size that passes 2^64 */
	c = craft_default(kind);
	build(&c, &b);
	put64(b.bytes + r1, 0xffffffffffffe000ull);
	put64(b.bytes + r1 + 8, 0x2001);
	reseal_header(b.bytes, 2);
	expect_corrupt_at(b.bytes, b.len, 0, r1 + 8, "UINT64_MAX");
	free(b.bytes);
	/* a name without its NUL */
	c = craft_default(kind);
	build(&c, &b);
	memset(b.bytes + r0 + 48, 'n', 32);
	reseal_header(b.bytes, 2);
	expect_corrupt_at(b.bytes, b.len, 0, r0 + 48 + 31, "NUL");
	free(b.bytes);
	/* unknown prot and flags (PRIVATE and FILE are not kept) */
	c = craft_default(kind);
	c.regions[0].prot = 8;
	expect_craft_corrupt(&c, r0 + 20, "protection");
	c = craft_default(kind);
	c.regions[1].flags = SQUIB_REGION_PRIVATE;
	expect_craft_corrupt(&c, r1 + 24, "flags");
	c.regions[1].flags = SQUIB_REGION_FILE;
	expect_craft_corrupt(&c, r1 + 24, "flags");
	/* a reserved field of an entry */
	c = craft_default(kind);
	build(&c, &b);
	b.bytes[r1 + 28] = 1;
	reseal_header(b.bytes, 2);
	expect_corrupt_at(b.bytes, b.len, 0, r1 + 28, "reserved");
	free(b.bytes);
	/* the header CRC */
	c = craft_default(kind);
	build(&c, &b);
	b.bytes[r1 + 48] = 'x'; /* "x1": a name is not checked but by the CRC */
	expect_corrupt_at(b.bytes, b.len, 0, 60, "checksum");
	free(b.bytes);
}
END_TEST

/* _i: 0 file, 1 stream */
START_TEST(crafted_duplicate_slots)
{
	const uint32_t kind = _i ? KIND_STREAM : KIND_FILE;
	struct craft c = craft_default(kind);
	struct built b;
	int fd;
	uint64_t at;

	c.regions[1].slot = 1;
	build(&c, &b);
	fd = fd_with(b.bytes, b.len);
	(void)load_expect(fd, 0, SQUIB_E_CORRUPT);
	CK_LAST_ERROR_HAS("slot 1");
	/* the offset of a slot field that repeats the other's */
	at = corrupt_offset();
	ck_assert_msg(at == region_at(1) + 16 || at == region_at(0) + 16,
		      "a repeated slot is reported at byte %" PRIu64
		      ", not at a slot field (%" PRIu64 " or %" PRIu64 "): %s",
		      at, region_at(0) + 16, region_at(1) + 16, squib_last_error());
	close(fd);
	free(b.bytes);
}
END_TEST

START_TEST(crafted_headers)
{
	struct craft c = craft_default(KIND_FILE);
	struct built b;
	uint8_t *copy;

	build(&c, &b);
	copy = malloc(b.len);
	ck_assert_ptr_nonnull(copy);
#define PATCHED(stmt, offset, what)                                                                \
	do {                                                                                       \
		memcpy(copy, b.bytes, b.len);                                                      \
		stmt;                                                                              \
		reseal_header(copy, 2);                                                            \
		expect_corrupt_at(copy, b.len, 0, (offset), (what));                               \
	} while (0)
	PATCHED(copy[3] = 'X', 0, "magic");
	PATCHED(put32(copy + 8, 2), 8, "version");
	PATCHED(put32(copy + 12, 3), 12, "kind");
	PATCHED(put32(copy + 16, 2), 16, "flags");
	PATCHED(put32(copy + 20, MAX_REGIONS + 1), 20, "1048577");
	PATCHED(put64(copy + 24, 8192), 24, "page size");
	PATCHED(put32(copy + 56, 1), 56, "reserved");
	PATCHED(put64(copy + 40, get64(copy + 40) + 4), 40, "multiple of 8");
	PATCHED(put64(copy + 40, 64), 40, NULL); /* inside the table */
	PATCHED(put64(copy + 32, get64(copy + 32) + 32), 32, NULL);
	PATCHED(put64(copy + 48, get64(copy + 48) + 1), 32, NULL);
	/* a file record must begin its file */
	{
		uint8_t *shifted = calloc(1, b.len + 8);
		int fd;

		ck_assert_ptr_nonnull(shifted);
		memcpy(shifted + 8, b.bytes, b.len);
		fd = fd_with(shifted, b.len + 8);
		ck_assert_int_eq(lseek(fd, 8, SEEK_SET), 8);
		(void)load_expect(fd, 0, SQUIB_E_CORRUPT);
		free(shifted);
		close(fd);
	}
#undef PATCHED
	free(copy);
	free(b.bytes);
	/* a stream header with a file's fields */
	c = craft_default(KIND_STREAM);
	build(&c, &b);
	put64(b.bytes + 32, 4096);
	reseal_header(b.bytes, 2);
	expect_corrupt_at(b.bytes, b.len, 0, 32, "stream");
	free(b.bytes);
	c = craft_default(KIND_STREAM);
	build(&c, &b);
	put64(b.bytes + region_at(1) + 32, 4096);
	reseal_header(b.bytes, 2);
	expect_corrupt_at(b.bytes, b.len, 0, region_at(1) + 32, "data offset");
	free(b.bytes);
	/* region_count of 1048577 in a stream too */
	c = craft_default(KIND_STREAM);
	build(&c, &b);
	put32(b.bytes + 20, MAX_REGIONS + 1);
	expect_corrupt_at(b.bytes, b.len, 0, 20, "1048577");
	free(b.bytes);
}
END_TEST

/* _i: 0 file, 1 stream */
START_TEST(crafted_runs)
{
	const uint32_t kind = _i ? KIND_STREAM : KIND_FILE;
	struct craft c;
	struct built b;

	/* a run past the region's pages */
	c = craft_default(kind);
	c.runs[0].count = 4;
	build(&c, &b);
	expect_corrupt_at(b.bytes, b.len, 0, b.run_at[0] + 8, "which has 3");
	free(b.bytes);
	/* a run of no page */
	c = craft_default(kind);
	c.flags = REC_INCREMENTAL;
	c.runs[1].count = 0;
	c.runs[1].type = RUN_ZERO;
	build(&c, &b);
	expect_corrupt_at(b.bytes, b.len, 0, b.run_at[1] + 8, NULL);
	free(b.bytes);
	/* a run of a region that does not exist */
	c = craft_default(kind);
	build(&c, &b);
	put32(b.bytes + b.run_at[2] + 4, 2);
	reseal_run(b.bytes, b.run_at[2]);
	expect_corrupt_at(b.bytes, b.len, 0, b.run_at[2] + 4, "region 2");
	free(b.bytes);
	/* runs out of order: pages, then regions */
	c = craft_default(kind);
	c.flags = REC_INCREMENTAL;
	c.runs[0] = (struct craft_run){RUN_DATA, 0, 1, 2};
	c.runs[1] = (struct craft_run){RUN_DATA, 0, 0, 1};
	c.runs_n = 2;
	build(&c, &b);
	expect_corrupt_at(b.bytes, b.len, 0, b.run_at[1] + 8, "overlaps or precedes");
	free(b.bytes);
	c = craft_default(kind);
	c.flags = REC_INCREMENTAL;
	c.runs[0] = (struct craft_run){RUN_ZERO, 1, 0, 1};
	c.runs[1] = (struct craft_run){RUN_DATA, 0, 0, 1};
	c.runs_n = 2;
	build(&c, &b);
	expect_corrupt_at(b.bytes, b.len, 0, b.run_at[1] + 4, "after region 1");
	free(b.bytes);
	/* overlapping runs */
	c = craft_default(kind);
	c.flags = REC_INCREMENTAL;
	c.runs[0] = (struct craft_run){RUN_DATA, 0, 0, 2};
	c.runs[1] = (struct craft_run){RUN_ZERO, 0, 1, 2};
	c.runs_n = 2;
	build(&c, &b);
	expect_corrupt_at(b.bytes, b.len, 0, b.run_at[1] + 8, "overlaps");
	free(b.bytes);
	/* a full record with a gap: inside a region, at its end, at the end */
	c = craft_default(kind);
	c.runs[0] = (struct craft_run){RUN_DATA, 0, 0, 1};
	c.runs[1] = (struct craft_run){RUN_DATA, 0, 2, 1};
	c.runs[2] = (struct craft_run){RUN_ZERO, 1, 0, 2};
	build(&c, &b);
	expect_corrupt_at(b.bytes, b.len, 0, b.run_at[1] + 8, "in no run");
	free(b.bytes);
	c = craft_default(kind);
	c.runs[0] = (struct craft_run){RUN_DATA, 0, 0, 2};
	build(&c, &b);
	expect_corrupt_at(b.bytes, b.len, 0, b.run_at[1], "in no run");
	free(b.bytes);
	c = craft_default(kind);
	c.runs_n = 2;
	build(&c, &b);
	expect_corrupt_at(b.bytes, b.len, 0, kind == KIND_FILE ? b.len : b.run_at[2], "in no run");
	free(b.bytes);
	/* a data checksum; a ZERO run with one; an unknown type */
	c = craft_default(kind);
	build(&c, &b);
	put32(b.bytes + b.run_at[1] + 24, get32(b.bytes + b.run_at[1] + 24) ^ 1);
	reseal_run(b.bytes, b.run_at[1]);
	expect_corrupt_at(b.bytes, b.len, 0, b.run_at[1] + 24, "data checksum");
	free(b.bytes);
	build(&c, &b);
	put32(b.bytes + b.run_at[2] + 24, 1);
	reseal_run(b.bytes, b.run_at[2]);
	expect_corrupt_at(b.bytes, b.len, 0, b.run_at[2] + 24, NULL);
	free(b.bytes);
	build(&c, &b);
	put32(b.bytes + b.run_at[2], 4);
	reseal_run(b.bytes, b.run_at[2]);
	expect_corrupt_at(b.bytes, b.len, 0, b.run_at[2], "type");
	free(b.bytes);
	/* a run's own checksum */
	build(&c, &b);
	b.bytes[b.run_at[0] + 9] ^= 0x10;
	expect_corrupt_at(b.bytes, b.len, 0, b.run_at[0] + 28, "run checksum");
	free(b.bytes);
}
END_TEST

START_TEST(crafted_data_runs_of_more_than_256_pages)
{
	for (uint32_t kind = KIND_FILE; kind <= KIND_STREAM; kind++) {
		struct craft c = {
		    .kind = kind,
		    .regions_n = 1,
		    .regions = {{0x100000, 300 * PAGE, 1, SQUIB_PROT_RW, 0, NULL}},
		    .runs_n = 2,
		    .runs = {{RUN_DATA, 0, 0, 256}, {RUN_DATA, 0, 256, 44}},
		};
		struct built b;
		squib_mem_t *mem;

		load_craft_ok(&c, &b, &mem);
		free(b.bytes);
		squib_mem_free(mem);
		c.runs[0].count = 257;
		c.runs[1] = (struct craft_run){RUN_DATA, 0, 257, 43};
		build(&c, &b);
		expect_corrupt_at(b.bytes, b.len, 0, b.run_at[0] + 16, "DATA run of 257 pages");
		free(b.bytes);
	}
}
END_TEST

/* A ZERO run carries no bytes, so it has no page limit. */
START_TEST(crafted_zero_runs_of_any_length)
{
	for (uint32_t kind = KIND_FILE; kind <= KIND_STREAM; kind++) {
		struct craft c = {
		    .kind = kind,
		    .regions_n = 1,
		    .regions = {{0x100000, 4096 * PAGE, 1, SQUIB_PROT_RW, 0, NULL}},
		    .runs_n = 3,
		    .runs = {{RUN_ZERO, 0, 0, 1000},
			     {RUN_DATA, 0, 1000, 1},
			     {RUN_ZERO, 0, 1001, 3095}},
		};
		struct built b;
		squib_mem_t *mem;
		uint8_t got[PAGE];

		load_craft_ok(&c, &b, &mem);
		read_guest(mem, 0x100000 + 999 * PAGE, got, PAGE);
		CK_BYTES_ALL(got, PAGE, 0);
		read_guest(mem, 0x100000 + 4095 * PAGE, got, PAGE);
		CK_BYTES_ALL(got, PAGE, 0);
		free(b.bytes);
		squib_mem_free(mem);
	}
}
END_TEST

START_TEST(crafted_end_runs)
{
	struct craft c = craft_default(KIND_STREAM);
	struct built b;
	uint64_t end;

	/* an END count that is wrong */
	build(&c, &b);
	end = b.run_at[3];
	put64(b.bytes + end + 8, 2);
	reseal_run(b.bytes, end);
	expect_corrupt_at(b.bytes, b.len, 0, end + 8, "END");
	put64(b.bytes + end + 8, 4);
	reseal_run(b.bytes, end);
	expect_corrupt_at(b.bytes, b.len, 0, end + 8, "END");
	free(b.bytes);
	/* an END run in a file record */
	c = craft_default(KIND_FILE);
	c.flags = REC_INCREMENTAL;
	c.runs[2] = (struct craft_run){RUN_END, 0, 2, 0};
	build(&c, &b);
	put32(b.bytes + b.run_at[2] + 4, 0);
	put64(b.bytes + b.run_at[2] + 16, 0);
	reseal_run(b.bytes, b.run_at[2]);
	expect_corrupt_at(b.bytes, b.len, 0, b.run_at[2], "END");
	free(b.bytes);
}
END_TEST

/* docs/SNAPSHOT.md: the reported offset is that of the offending field. */
START_TEST(crafted_reserved_fields_are_reported_where_they_are)
{
	struct craft c = craft_default(KIND_STREAM);
	struct built b;

	/* the reserved fields of an entry, each at its own offset */
	static const uint64_t fields[] = {40, 80};

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		build(&c, &b);
		b.bytes[region_at(1) + fields[i]] = 1;
		reseal_header(b.bytes, 2);
		expect_corrupt_at(b.bytes, b.len, 0, region_at(1) + fields[i], "reserved");
		free(b.bytes);
	}
}
END_TEST

/* docs/SNAPSHOT.md: END has "region 0, ... page_count 0"; a reader names
 * the field that is wrong. */
START_TEST(crafted_end_run_fields_are_reported_where_they_are)
{
	struct craft c = craft_default(KIND_STREAM);
	struct built b;
	uint64_t end;

	build(&c, &b);
	end = b.run_at[3];
	put32(b.bytes + end + 4, 1);
	reseal_run(b.bytes, end);
	expect_corrupt_at(b.bytes, b.len, 0, end + 4, NULL);
	put32(b.bytes + end + 4, 0);
	put64(b.bytes + end + 16, 1);
	reseal_run(b.bytes, end);
	expect_corrupt_at(b.bytes, b.len, 0, end + 16, NULL);
	free(b.bytes);
}
END_TEST

START_TEST(crafted_file_spans)
{
	const uint64_t r1 = region_at(1);
	struct craft c = craft_default(KIND_FILE);
	struct built b;

	/* a span that is not page-aligned */
	build(&c, &b);
	put64(b.bytes + r1 + 32, b.data_offset[1] + 8);
	reseal_header(b.bytes, 2);
	expect_corrupt_at(b.bytes, b.len, 0, r1 + 32, "page-aligned");
	free(b.bytes);
	/* spans out of order, overlapping */
	build(&c, &b);
	put64(b.bytes + r1 + 32, b.data_offset[0]);
	reseal_header(b.bytes, 2);
	expect_corrupt_at(b.bytes, b.len, 0, r1 + 32, NULL);
	free(b.bytes);
	/* a span past the run table */
	build(&c, &b);
	put64(b.bytes + r1 + 32, b.data_offset[1] + PAGE);
	reseal_header(b.bytes, 2);
	expect_corrupt_at(b.bytes, b.len, 0, r1 + 32, "run table");
	free(b.bytes);
	/* padding after the table that is not zero */
	build(&c, &b);
	b.bytes[region_at(2) + 100] = 1;
	expect_corrupt_at(b.bytes, b.len, 0, region_at(2) + 100, "padding");
	free(b.bytes);
}
END_TEST

/* docs/SNAPSHOT.md: the spans "lie between the end of the table and
 * run_table_offset". One over the header makes the header guest memory. */
START_TEST(crafted_span_over_the_table)
{
	const uint64_t r0 = region_at(0);
	struct craft c = craft_default(KIND_FILE);
	struct built b;

	build(&c, &b);
	put64(b.bytes + r0 + 32, 0);
	reseal_header(b.bytes, 2);
	{
		/* its DATA run then checksums what is there: the front */
		uint64_t off, len;

		run_span(0x10000, 0x3000, 0, 3, &off, &len);
		put32(b.bytes + b.run_at[0] + 24, crc32c(0, b.bytes, (size_t)len));
		reseal_run(b.bytes, b.run_at[0]);
	}
	expect_corrupt_at(b.bytes, b.len, 0, r0 + 32, NULL);
	free(b.bytes);
}
END_TEST

/* A record the library could never have written: flags or a range no
 * region can have. docs/SNAPSHOT.md and the contract: "describes an
 * impossible layout" is CORRUPT, as everything wrong in the input. */
static const struct {
	struct craft_region region;
	const char *why;
} impossible[] = {
    {{0x21800, 0x1000, 2, SQUIB_PROT_RW, SQUIB_REGION_SHARED, NULL},
     "a SHARED region at an unaligned base"},
    {{0x20000, 0x2000, 2, SQUIB_PROT_RW, SQUIB_REGION_HUGETLB | SQUIB_REGION_THP, NULL},
     "HUGETLB with THP"},
    {{0xfffffffffffff000ull, 0x1000, 2, SQUIB_PROT_RW, 0, NULL},
     "a region ending at 2^64 (squib_range_t cannot hold it)"},
};

/* _i: the case of impossible[] */
START_TEST(crafted_impossible_layouts)
{
	const size_t i = (size_t)_i;

	{
		for (uint32_t kind = KIND_FILE; kind <= KIND_STREAM; kind++) {
			struct craft c = craft_default(kind);
			struct built b;
			squib_mem_t *mem = test_mem_new();
			squib_status_t got;
			int fd;

			c.regions[1] = impossible[i].region;
			c.runs[1] = (struct craft_run){RUN_ZERO, 1, 0, 1};
			c.runs_n = 2;
			if (region_pages(c.regions[1].base, c.regions[1].size) == 2) {
				c.runs[2] = (struct craft_run){RUN_ZERO, 1, 1, 1};
				c.runs_n = 3;
			}
			build(&c, &b);
			fd = fd_with(b.bytes, b.len);
			got = squib_mem_load(mem, fd, NULL);
			ck_assert_msg(got == SQUIB_E_CORRUPT,
				      "%s (kind %u): status %d (%s), want SQUIB_E_CORRUPT: %s",
				      impossible[i].why, kind, got, squib_strerror(got),
				      squib_last_error());
			ck_assert_uint_eq(squib_mem_region_count(mem), 0);
			{
				uint64_t at = corrupt_offset();

				ck_assert_uint_ge(at, region_at(1));
				ck_assert_uint_lt(at, region_at(2));
			}
			close(fd);
			free(b.bytes);
			squib_mem_free(mem);
		}
	}
}
END_TEST

/* A stream that announces a million regions and ends: the load fails at
 * the end of its input, fast, without the memory a million would take. */
static squib_status_t load_huge_announcement(size_t entries, double *seconds)
{
	uint8_t *rec = calloc(1, region_at((uint32_t)entries));
	struct timespec t0, t1;
	squib_mem_t *mem = test_mem_new();
	squib_status_t status;
	int fd;

	ck_assert_ptr_nonnull(rec);
	memcpy(rec, "SQUIBSNP", 8);
	put32(rec + 8, 1);
	put32(rec + 12, KIND_STREAM);
	put32(rec + 20, MAX_REGIONS);
	put64(rec + 24, PAGE);
	for (size_t i = 0; i < entries; i++) {
		uint8_t *e = rec + region_at((uint32_t)i);

		put64(e, 0x100000 + (uint64_t)i * 0x2000);
		put64(e + 8, 0x1000);
		put32(e + 16, (uint32_t)i);
		put32(e + 20, SQUIB_PROT_RW);
	}
	fd = fd_with(rec, (size_t)region_at((uint32_t)entries));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	status = squib_mem_load(mem, fd, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	*seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	if (status != SQUIB_OK)
		ck_assert_uint_eq(squib_mem_region_count(mem), 0);
	close(fd);
	free(rec);
	squib_mem_free(mem);
	return status;
}

START_TEST(a_huge_region_count_in_a_short_stream)
{
	static const size_t entries[] = {0, 1, 100, 1000};
	double seconds = 0;

	for (size_t i = 0; i < sizeof(entries) / sizeof(entries[0]); i++) {
		squib_status_t got = load_huge_announcement(entries[i], &seconds);

		ck_assert_msg(got == SQUIB_E_IO || got == SQUIB_E_CORRUPT,
			      "%zu entries of 1048576: status %d: %s", entries[i], got,
			      squib_last_error());
		ck_assert_msg(seconds < 1.0, "%zu entries: %.3f s", entries[i], seconds);
	}
	/* In a child whose data segment cannot grow by the 72 MiB a table of
	 * 1048576 regions takes: the load still fails only for the end of
	 * its input, not for memory. */
	if (TEST_SANITIZER_ALLOCATOR || test_under_valgrind())
		return;
	{
		pid_t child = test_child_fork();

		if (child == 0) {
			struct rlimit limit;
			char *status = test_read_proc("/proc/self/status");
			const char *vmdata = strstr(status, "VmData:");
			unsigned long long kb = vmdata ? strtoull(vmdata + 7, NULL, 10) : 0;
			squib_status_t got;

			free(status);
			limit.rlim_cur = limit.rlim_max = (rlim_t)((kb + 32 * 1024) * 1024);
			if (!kb || setrlimit(RLIMIT_DATA, &limit) != 0)
				test_child_exit(2);
			got = load_huge_announcement(1000, &seconds);
			test_child_exit(got == SQUIB_E_IO || got == SQUIB_E_CORRUPT ? 0 : 3);
		}
		int status = test_child_wait(child);

		CK_EXIT0(status, "a load with RLIMIT_DATA 32 MiB above the start");
	}
}
END_TEST

/* ------------------------------------------------------------------ */
/* failed loads leave nothing behind                                   */

/* A copy of the record in fd with byte off flipped, in a new file. */
static int flipped_copy(int fd, uint64_t off)
{
	size_t len;
	uint8_t *rec = test_read_file(fd, &len);
	int copy;

	rec[off] ^= 0x40;
	copy = fd_with(rec, len);
	free(rec);
	return copy;
}

START_TEST(failed_loads_leave_no_fd_or_mapping)
{
	squib_mem_t *with_shared = big_layout_new(true), *without = big_layout_new(false);
	int file = saved(with_shared, 0), mappable = saved(without, 0);
	int stream = saved(with_shared, SQUIB_SAVE_STREAM);
	struct parsed p;
	size_t len;
	uint8_t *rec;
	struct {
		int fd;
		uint32_t flags;
		squib_status_t want;
	} cases[3];

	/* the last DATA run's bytes: every region is made before they fail */
	cases[0].fd = -1;
	rec = test_read_file(file, &len);
	parse_record(rec, len, &p);
	for (size_t k = p.runs_n; k-- > 0;)
		if (p.runs[k].type == RUN_DATA) {
			cases[0].fd = flipped_copy(file, p.runs[k].data_at + 1);
			break;
		}
	ck_assert_int_ge(cases[0].fd, 0);
	parsed_free(&p);
	free(rec);
	cases[0].flags = 0;
	cases[0].want = SQUIB_E_CORRUPT;
	/* the last run of a mapped load: every mapping made first */
	cases[1].fd = flipped_copy(mappable, test_file_size(mappable) - 3);
	cases[1].flags = SQUIB_LOAD_MAP_PRIVATE;
	cases[1].want = SQUIB_E_CORRUPT;
	/* a stream that ends in its END run */
	rec = test_read_file(stream, &len);
	cases[2].fd = fd_with(rec, len - 10);
	free(rec);
	cases[2].flags = 0;
	cases[2].want = SQUIB_E_IO;

	for (size_t c = 0; c < 3; c++) {
		squib_mem_t *mem = test_mem_new();
		size_t fds;
		struct test_maps maps;

		/* once to warm up what the first call of anything allocates */
		ck_assert_int_eq(lseek(cases[c].fd, 0, SEEK_SET), 0);
		CK_STATUS(squib_mem_load(mem, cases[c].fd, OPTS(cases[c].flags)), cases[c].want);
		fds = test_count_fds();
		maps = test_count_maps();
		for (int round = 0; round < 3; round++) {
			ck_assert_int_eq(lseek(cases[c].fd, 0, SEEK_SET), 0);
			CK_STATUS(squib_mem_load(mem, cases[c].fd, OPTS(cases[c].flags)),
				  cases[c].want);
			ck_assert_uint_eq(squib_mem_region_count(mem), 0);
		}
		ck_assert_msg(test_count_fds() == fds, "case %zu: %zu fds, %zu before", c,
			      test_count_fds(), fds);
		if (!test_mappings_noisy()) {
			struct test_maps after = test_count_maps();

			ck_assert_msg(test_maps_equal(after, maps),
				      "case %zu: %zu mappings of %" PRIu64
				      " bytes, before %zu of %" PRIu64,
				      c, after.lines, after.bytes, maps.lines, maps.bytes);
		}
		squib_mem_free(mem);
		close(cases[c].fd);
	}
	close(file);
	close(mappable);
	close(stream);
	squib_mem_free(without);
	squib_mem_free(with_shared);
}
END_TEST

/* ------------------------------------------------------------------ */
/* a pre-copy migration: rounds of incremental records while the guest */
/* keeps writing, then a last round with the guest stopped             */

#define MIG_BASE 0x100000u
#define MIG_PAGES 64u

struct guest_writer {
	squib_mem_t *mem;
	atomic_bool stop;
	atomic_ulong writes, failures;
	uint64_t x;
};

static void guest_write_once(struct guest_writer *w)
{
	static const uint8_t zeros[PAGE];
	uint64_t x = ++w->x, page = (x * 7919u) % MIG_PAGES;
	squib_status_t status;

	if (x % 97 == 0)
		status = squib_mem_write(w->mem, SQUIB_GPA(MIG_BASE + page * PAGE), zeros, PAGE);
	else
		status = squib_mem_write_u64_le(
		    w->mem, SQUIB_GPA(MIG_BASE + page * PAGE + (x * 8) % PAGE), x);
	atomic_fetch_add(status == SQUIB_OK ? &w->writes : &w->failures, 1);
}

static void *guest_writes(void *arg)
{
	struct guest_writer *w = arg;

	while (!atomic_load(&w->stop))
		guest_write_once(w);
	return NULL;
}

/* Waits until the writer thread has made `more` writes since the call:
 * each round then races with writes, however the host schedules us. */
static void let_the_guest_write(struct guest_writer *w, unsigned long more)
{
	const unsigned long target = atomic_load(&w->writes) + more;
	const struct timespec pause = {.tv_nsec = 100000};

	while (atomic_load(&w->writes) < target && !atomic_load(&w->failures))
		nanosleep(&pause, NULL);
}

static void migrate_round(squib_mem_t *src, squib_mem_t *dst, uint32_t save_flags,
			  uint32_t load_flags)
{
	int fd = saved(src, save_flags | SQUIB_SAVE_STREAM);

	CK_OK(squib_mem_load(dst, fd, OPTS(load_flags)));
	close(fd);
}

START_TEST(a_migration_converges_while_the_guest_writes)
{
	const bool concurrent = !TEST_UNDER_TSAN;
	const int rounds = slow_host() ? 3 : 10;
	squib_mem_t *src = test_mem_new(), *dst = test_mem_new();
	squib_region_opts_t ram =
	    test_opts_of(MIG_BASE, MIG_PAGES * PAGE, 1, SQUIB_REGION_DIRTY_LOG);
	struct guest_writer w = {.mem = src};
	pthread_t thread;
	uint8_t *a = malloc(MIG_PAGES * PAGE), *b = malloc(MIG_PAGES * PAGE);

	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	CK_OK(squib_mem_add_region_opts(src, &ram));
	for (int i = 0; i < 1000; i++)
		guest_write_once(&w);
	if (concurrent)
		ck_assert_int_eq(pthread_create(&thread, NULL, guest_writes, &w), 0);
	migrate_round(src, dst, SQUIB_SAVE_CLEAR_DIRTY, 0);
	for (int r = 0; r < rounds; r++) {
		if (concurrent)
			let_the_guest_write(&w, 50);
		else
			for (int i = 0; i < 200; i++)
				guest_write_once(&w);
		/* every other round copies on a helper thread, racing the
		 * guest's writes as the calling thread's copy does */
		migrate_round(src, dst,
			      SQUIB_SAVE_DIRTY_ONLY | SQUIB_SAVE_CLEAR_DIRTY |
				  (r % 2 ? SQUIB_SAVE_HELPER_THREAD : 0),
			      SQUIB_LOAD_APPLY);
	}
	if (concurrent) {
		atomic_store(&w.stop, true);
		ck_assert_int_eq(pthread_join(thread, NULL), 0);
	}
	ck_assert_uint_gt(atomic_load(&w.writes), 1000);
	ck_assert_uint_eq(atomic_load(&w.failures), 0);
	/* the guest is paused: the last round */
	migrate_round(src, dst, SQUIB_SAVE_DIRTY_ONLY | SQUIB_SAVE_CLEAR_DIRTY, SQUIB_LOAD_APPLY);
	expect_log64(src, 1, 0, false, "the source after the last round");
	read_guest(src, MIG_BASE, a, MIG_PAGES * PAGE);
	read_guest(dst, MIG_BASE, b, MIG_PAGES * PAGE);
	CK_BYTES_EQ(b, a, MIG_PAGES * PAGE);
	free(a);
	free(b);
	squib_mem_free(dst);
	squib_mem_free(src);
}
END_TEST

/* ------------------------------------------------------------------ */

static Suite *snapshot_suite(void)
{
	Suite *suite = suite_create("snapshot");
	TCase *format = tcase_create("format");
	TCase *trips = tcase_create("round_trips");
	TCase *map_private = tcase_create("map_private");
	TCase *incremental = tcase_create("incremental");
	TCase *refusals = tcase_create("refusals");
	TCase *untrusted = tcase_create("untrusted");
	TCase *crafted = tcase_create("crafted");
	TCase *leaks = tcase_create("leaks");
	const int timeout = slow_host() ? 600 : 60;

	tcase_add_test(format, own_crc32c_check_value);
	tcase_add_test(format, file_record_is_as_documented);
	tcase_add_test(format, stream_record_is_as_documented);
	tcase_add_test(format, empty_handle_round_trips);
	suite_add_tcase(suite, format);

	tcase_add_test(trips, file_round_trip);
	tcase_add_test(trips, null_opts_is_all_flags_clear);
	tcase_add_test(trips, stream_round_trip_through_a_file);
	tcase_add_test(trips, stream_round_trip_through_a_pipe);
	tcase_add_test(trips, stream_round_trip_through_a_socket);
	tcase_add_test(trips, two_stream_records_back_to_back_in_a_file);
	tcase_add_test(trips, two_stream_records_back_to_back_on_a_socket);
	tcase_add_test(trips, sparse_file);
	tcase_add_test(trips, untouched_memory_is_one_zero_run);
	tcase_add_test(trips, load_marks_the_pages_it_fills);
	tcase_set_timeout(trips, timeout);
	suite_add_tcase(suite, trips);

	tcase_add_test(map_private, map_private_restores_every_byte);
	tcase_add_test(map_private, map_private_writes_never_reach_the_file);
	tcase_add_test(map_private, map_private_outlives_the_file);
	tcase_add_test(map_private, map_private_from_a_read_only_fd);
	tcase_add_test(map_private, map_private_refusals);
	tcase_set_timeout(map_private, timeout);
	suite_add_tcase(suite, map_private);

	tcase_add_loop_test(incremental, incremental_records, 0, 2);
	tcase_add_test(incremental, incremental_record_into_an_empty_handle);
	tcase_add_test(incremental, dirty_only_follows_logging_as_it_is_now);
	tcase_add_test(incremental, apply_onto_another_layout_changes_nothing);
	tcase_add_loop_test(incremental, apply_onto_a_read_only_region, 0, 2);
	tcase_add_test(incremental, apply_marks_every_page_it_writes);
	tcase_add_test(incremental, a_failed_save_keeps_the_dirty_bits);
	tcase_add_test(incremental, a_log_sync_refusal_fails_the_save);
	tcase_add_test(incremental, a_migration_converges_while_the_guest_writes);
	tcase_set_timeout(incremental, timeout);
	suite_add_tcase(suite, incremental);

	tcase_add_test(refusals, argument_refusals);
	tcase_add_test(refusals, opts_padding_is_not_a_field);
	tcase_add_test(refusals, file_record_to_a_pipe_or_socket_is_refused);
	tcase_add_test(refusals, save_to_an_append_only_file);
	tcase_add_test(refusals, load_into_a_non_empty_handle_is_busy);
	tcase_add_test(refusals, save_and_load_inside_a_listener_callback_are_busy);
	tcase_add_test(refusals, listeners_see_the_loaded_regions);
	tcase_add_test(refusals, a_listener_refusal_fails_the_load);
	tcase_set_timeout(refusals, timeout);
	suite_add_tcase(suite, refusals);

	tcase_add_test(untrusted, every_bit_of_a_file_record);
	tcase_add_test(untrusted, every_truncation_of_a_file_record);
	tcase_add_test(untrusted, trailing_garbage);
	tcase_add_test(untrusted, every_truncation_of_a_stream_record);
	tcase_add_test(untrusted, truncated_stream_over_a_pipe);
	tcase_set_timeout(untrusted, timeout);
	suite_add_tcase(suite, untrusted);

	tcase_add_loop_test(crafted, crafted_records_that_are_right_load, 0, 2);
	tcase_add_loop_test(crafted, crafted_region_tables, 0, 2);
	tcase_add_loop_test(crafted, crafted_duplicate_slots, 0, 2);
	tcase_add_test(crafted, crafted_headers);
	tcase_add_loop_test(crafted, crafted_runs, 0, 2);
	tcase_add_test(crafted, crafted_data_runs_of_more_than_256_pages);
	tcase_add_test(crafted, crafted_zero_runs_of_any_length);
	tcase_add_test(crafted, crafted_end_runs);
	tcase_add_test(crafted, crafted_reserved_fields_are_reported_where_they_are);
	tcase_add_test(crafted, crafted_end_run_fields_are_reported_where_they_are);
	tcase_add_test(crafted, crafted_file_spans);
	tcase_add_test(crafted, crafted_span_over_the_table);
	tcase_add_loop_test(crafted, crafted_impossible_layouts, 0,
			    (int)(sizeof(impossible) / sizeof(impossible[0])));
	tcase_add_test(crafted, a_huge_region_count_in_a_short_stream);
	tcase_set_timeout(crafted, timeout);
	suite_add_tcase(suite, crafted);

	tcase_add_test(leaks, failed_loads_leave_no_fd_or_mapping);
	tcase_set_timeout(leaks, timeout);
	suite_add_tcase(suite, leaks);
	return suite;
}

TEST_MAIN(snapshot_suite)
