/* SPDX-License-Identifier: MIT */
/*
 * fuzz_snapshot: the libFuzzer target of the snapshot codec
 * (lib/snapshot_format.c) and of squib_mem_load() (see README.md).
 *
 * An input is the bytes of a record. Each runs twice: as it is, and with
 * every checksum the input's structure lets one compute made right (so
 * that a mutation reaches past the checksums to the rules behind them).
 * Each version goes through:
 *
 *   - the codec, walked over the bytes as a reader must (every structure
 *     decoded, checked across structures, encoded back to the same bytes),
 *     against the reader of tools/squib-mem/record.c, which was written
 *     from docs/SNAPSHOT.md alone: both must accept or both refuse, and
 *     agree on every run's bytes and every CRC-32C;
 *   - squib_mem_load() of a memfd holding it (a file record at offset 0),
 *     without flags, with SQUIB_LOAD_MAP_PRIVATE, from a pipe (a real
 *     stream), from a memfd at offset 37 (a stream record is read at the
 *     fd's position), with SQUIB_LOAD_APPLY onto a small fixed layout, and
 *     with SQUIB_LOAD_APPLY onto the handle the first load made.
 *
 * Every load must return a documented status; a failed load without APPLY
 * leaves the handle empty, a failed APPLY the layout as it was; a CORRUPT
 * message names a byte offset. What the status must be follows from the
 * reader's verdict: a record it finds sound loads (but for the host's
 * limits), one it refuses does not; a loaded handle has the layout the
 * record describes and the bytes its runs carry (zeros elsewhere, the
 * caller's bytes where an APPLY carries nothing), the pages an APPLY wrote
 * are exactly the dirty ones, and a stream load reads exactly its record.
 * At the end of an input the process holds the descriptors it held before.
 *
 * Deviations of the library that are known but not fixed yet are reported
 * (README.md, "Known deviations") and fail the run, unless
 * SQUIB_FUZZ_STRICT=0 tolerates them. SQUIB_FUZZ_TRACE=1 prints each
 * load's status.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <squib/core.h>

#include "crc32c.h" /* lib/ */
#include "fuzz_snapshot.h"
#include "record.h"	     /* tools/squib-mem/ */
#include "snapshot_format.h" /* lib/ */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Layouts above this are loaded without touching their memory (and only
 * without flags that would make the library touch it: PREFAULT, LOCKED,
 * a ROM's copy), or not at all above BIG_BYTES. */
#define CAP_BYTES (4u << 20)
#define BIG_BYTES (1ull << 40)
/* Offset of the record in the memfd of the "at offset" load. */
#define PREFIX 37u

static bool trace, strict;
static const char *variant; /* "as is" or "checksums fixed" */

/* ---- reporting ---- */

__attribute__((format(printf, 1, 2), noreturn)) static void mismatch(const char *fmt, ...)
{
	va_list args;

	fprintf(stderr, "fuzz_snapshot: MISMATCH (%s): ", variant);
	va_start(args, fmt);
	vfprintf(stderr, fmt, args);
	va_end(args);
	fprintf(stderr, "\n  last library message: %s\n", squib_last_error());
	abort();
}

/* A known deviation (README.md): fatal unless SQUIB_FUZZ_STRICT=0. */
enum known { KNOWN_SPAN_OVERFLOW, KNOWN_COUNT };
static const char *const known_text[KNOWN_COUNT] = {
    "K2: a region of 2^52 pages (its span's size wraps to 0) passes the codec",
};

__attribute__((format(printf, 2, 3))) static void known(enum known which, const char *fmt, ...)
{
	static bool said[KNOWN_COUNT];
	va_list args;

	if (strict) {
		fprintf(stderr, "fuzz_snapshot: MISMATCH (%s, strict): %s: ", variant,
			known_text[which]);
		va_start(args, fmt);
		vfprintf(stderr, fmt, args);
		va_end(args);
		fprintf(stderr, "\n  last library message: %s\n", squib_last_error());
		abort();
	}
	if (said[which] && !trace)
		return;
	said[which] = true;
	fprintf(stderr, "fuzz_snapshot: known deviation %s (tolerated with SQUIB_FUZZ_STRICT=0): ",
		known_text[which]);
	va_start(args, fmt);
	vfprintf(stderr, fmt, args);
	va_end(args);
	fputc('\n', stderr);
}

static void say(const char *scenario, squib_status_t status)
{
	if (trace)
		fprintf(stderr, "fuzz_snapshot: %-8s %-15s -> %d %s%s%s\n", variant, scenario,
			status, squib_strerror(status), status ? ": " : "",
			status ? squib_last_error() : "");
}

/* ---- small helpers ---- */

static uint32_t le32(const uint8_t *at)
{
	return (uint32_t)at[0] | (uint32_t)at[1] << 8 | (uint32_t)at[2] << 16 |
	       (uint32_t)at[3] << 24;
}

static uint64_t le64(const uint8_t *at)
{
	return (uint64_t)le32(at) | (uint64_t)le32(at + 4) << 32;
}

static void put32(uint8_t *at, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		at[i] = (uint8_t)(v >> (8 * i));
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p) {
		fprintf(stderr, "fuzz_snapshot: out of memory\n");
		abort();
	}
	return p;
}

static int count_fds(void)
{
	DIR *dir = opendir("/proc/self/fd");
	int n = 0;

	if (!dir) {
		fprintf(stderr, "fuzz_snapshot: cannot list /proc/self/fd\n");
		abort();
	}
	while (readdir(dir))
		n++;
	closedir(dir);
	return n;
}

static int memfd_with(const uint8_t *b, size_t n, size_t prefix)
{
	int fd = memfd_create("fuzz-snapshot", MFD_CLOEXEC);
	uint8_t junk[PREFIX];

	if (fd < 0) {
		perror("fuzz_snapshot: memfd_create");
		abort();
	}
	memset(junk, 0xa5, sizeof(junk));
	if ((prefix && pwrite(fd, junk, prefix, 0) != (ssize_t)prefix) ||
	    (n && pwrite(fd, b, n, (off_t)prefix) != (ssize_t)n) ||
	    lseek(fd, (off_t)prefix, SEEK_SET) != (off_t)prefix) {
		perror("fuzz_snapshot: memfd write");
		abort();
	}
	return fd;
}

/* ---- the reader of tools/squib-mem over memory ---- */

struct bytes {
	const uint8_t *p;
	size_t n;
};

static ssize_t bytes_read(void *ctx, void *buf, size_t len, uint64_t offset)
{
	const struct bytes *b = ctx;

	if (offset >= b->n)
		return 0;
	if (len > b->n - offset)
		len = (size_t)(b->n - offset);
	memcpy(buf, b->p + offset, len);
	return (ssize_t)len;
}

static bool reader(const uint8_t *p, size_t n, unsigned checks, struct rec_record *r,
		   struct rec_error *e)
{
	struct bytes b = {p, n};
	struct rec_input in = {.read = bytes_read, .ctx = &b, .size = n};

	return rec_parse_record(&in, 0, checks, r, e);
}

/* ---- the codec, walked as a reader must ---- */

struct walk {
	struct snap_header h;
	struct snap_region *regions;
	uint64_t table_end;
	uint64_t runs;
	struct snap_error err;
};

/* encode(decode(x)) == x for what decoded. */
static void roundtrip(const char *what, const uint8_t *in, const uint8_t *out, size_t n,
		      uint64_t at)
{
	if (memcmp(in, out, n) != 0)
		mismatch("the codec encodes the %s at byte %" PRIu64 " it decoded to other bytes",
			 what, at);
}

static bool codec_fail(struct walk *w, uint64_t at, const char *what)
{
	w->err.offset = at;
	(void)snprintf(w->err.what, sizeof(w->err.what), "%s", what);
	return false;
}

/* One record from byte 0 (nothing past a stream's END is looked at), with
 * the rules the load applies, the spans starting after the table. The
 * reader's record r, when it accepted, is compared run by run. */
static bool codec_walk(const uint8_t *b, size_t n, struct walk *w, const struct rec_record *r)
{
	uint8_t enc[SNAP_REGION_BYTES];
	struct snap_slot *slots;
	uint32_t crc;
	uint64_t spans_end, at;
	struct snap_run_cursor cursor = {0};
	uint64_t k = 0; /* the reader's run */

	if (n < SNAP_HEADER_BYTES)
		return codec_fail(w, n, "the input ends inside the header");
	if (!snap_header_decode(b, &w->h, &w->err))
		return false;
	snap_header_encode(&w->h, enc);
	roundtrip("header", b, enc, SNAP_HEADER_BYTES, 0);
	if (w->h.kind == SNAP_KIND_FILE && w->h.record_bytes != n)
		return codec_fail(w, 32, "the file is not record_bytes long");
	w->table_end = snap_region_offset(w->h.region_count);
	if (w->table_end > n)
		return codec_fail(w, n, "the input ends inside the region table");
	crc = snap_header_crc_start(b);
	if (crc != rec_crc32c(0, b, SNAP_HEADER_BYTES - 4))
		mismatch("the header's CRC-32C: library 0x%08" PRIx32 ", squib-mem 0x%08" PRIx32,
			 crc, rec_crc32c(0, b, SNAP_HEADER_BYTES - 4));
	crc = crc32c_update(crc, b + SNAP_HEADER_BYTES, (size_t)(w->table_end - SNAP_HEADER_BYTES));
	w->regions = xmalloc(w->h.region_count * sizeof(*w->regions));
	spans_end = w->table_end;
	for (uint32_t i = 0; i < w->h.region_count; i++) {
		const uint8_t *e = b + snap_region_offset(i);

		if (!snap_region_decode(e, &w->h, i, &w->regions[i], &w->err) ||
		    !snap_region_follows(&w->h, i ? &w->regions[i - 1] : NULL, &w->regions[i], i,
					 &spans_end, &w->err))
			return false;
		snap_region_encode(&w->regions[i], enc);
		roundtrip("region entry", e, enc, SNAP_REGION_BYTES, snap_region_offset(i));
	}
	if (crc != w->h.header_crc)
		return codec_fail(w, 60, "header checksum");
	slots = xmalloc(w->h.region_count * sizeof(*slots));
	for (uint32_t i = 0; i < w->h.region_count; i++)
		slots[i] = (struct snap_slot){.slot = w->regions[i].slot, .index = i};
	if (!snap_slots_unique(slots, w->h.region_count, &w->err)) {
		free(slots);
		return false;
	}
	free(slots);
	at = w->h.kind == SNAP_KIND_FILE ? w->h.run_table_offset : w->table_end;
	for (;;) {
		struct snap_run run;
		uint64_t offset = 0, len = 0;

		if (w->h.kind == SNAP_KIND_FILE && w->runs == w->h.run_count)
			return snap_runs_finish(&cursor, &w->h, w->regions, n, &w->err);
		if (n - at < SNAP_RUN_BYTES)
			return codec_fail(w, n, "the input ends inside a run");
		if (!snap_run_decode(b + at, at, &run, &w->err) ||
		    !snap_run_next(&cursor, &w->h, w->regions, &run, at, &w->err))
			return false;
		snap_run_encode(&run, enc);
		roundtrip("run", b + at, enc, SNAP_RUN_BYTES, at);
		w->runs++;
		if (run.type == SNAP_RUN_END)
			return true;
		snap_run_span(&w->regions[run.region], run.first_page, run.page_count, &offset,
			      &len);
		if (r) {
			const struct rec_run *mine;

			if (k == r->nruns)
				mismatch("the codec walks more runs than squib-mem's %" PRIu64,
					 r->nruns);
			mine = &r->runs[k++];

			if (mine->offset != offset || mine->len != len || mine->at != at)
				mismatch("run at byte %" PRIu64 ": the codec's bytes are %" PRIu64
					 " + %" PRIu64 ", squib-mem's %" PRIu64 " + %" PRIu64
					 " (at byte %" PRIu64 ")",
					 at, offset, len, mine->offset, mine->len, mine->at);
		}
		at += SNAP_RUN_BYTES;
		if (run.type == SNAP_RUN_DATA) {
			const struct snap_region *g = &w->regions[run.region];
			uint64_t data_at = w->h.kind == SNAP_KIND_STREAM
					       ? at
					       : g->data_offset + g->base % SNAP_PAGE + offset;

			if (data_at > n || n - data_at < len)
				return codec_fail(w, n, "the input ends inside a run's data");
			if (crc32c_update(0, b + data_at, (size_t)len) !=
			    rec_crc32c(0, b + data_at, (size_t)len))
				mismatch("CRC-32C of %" PRIu64 " bytes at byte %" PRIu64
					 ": library 0x%08" PRIx32 ", squib-mem 0x%08" PRIx32,
					 len, data_at, crc32c_update(0, b + data_at, (size_t)len),
					 rec_crc32c(0, b + data_at, (size_t)len));
			if (w->h.kind == SNAP_KIND_STREAM)
				at += len;
		}
	}
}

/* ---- what the input describes, and what a load of it must do ---- */

struct expect {
	const uint8_t *b;
	size_t n;
	uint32_t kind;	     /* from the header, 0 if there is none */
	bool structure_ok;   /* the reader, structures only */
	bool data_ok;	     /* ... and every DATA checksum */
	bool sound;	     /* ... and every byte no structure covers is zero */
	bool front_ok;	     /* header and table (the error is past them) */
	bool truncated;	     /* the reader's first problem: the input ends */
	struct rec_record r; /* the structural parse, when structure_ok */
	struct rec_error err;
	/* Raw facts about the table, however bad: */
	uint64_t total;	   /* bytes of the regions, saturated */
	uint32_t flags_or; /* every region's flags */
	bool span_wraps;   /* K2 */
	bool add_refuses;  /* a region the format allows, the adds refuse */
	bool touch;	   /* total <= CAP_BYTES: regions may be read and written */
};

static uint64_t host_page, huge_page;

/* The default huge page size (/proc/meminfo), 0 without one. */
static uint64_t default_huge_page(void)
{
	FILE *f = fopen("/proc/meminfo", "re");
	char line[256];
	unsigned long long kb = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Hugepagesize: %llu kB", &kb) == 1)
			break;
	fclose(f);
	return (uint64_t)kb * 1024;
}

static void scan(struct expect *x)
{
	const uint8_t *b = x->b;
	uint64_t present;
	uint32_t count;

	if (x->n < SNAP_HEADER_BYTES || memcmp(b, "SQUIBSNP", 8) != 0)
		return;
	x->kind = le32(b + 12);
	count = le32(b + 20);
	present = (x->n - SNAP_HEADER_BYTES) / SNAP_REGION_BYTES;
	if (present > count)
		present = count;
	for (uint64_t i = 0; i < present; i++) {
		const uint8_t *e = b + snap_region_offset((uint32_t)i);
		uint64_t base = le64(e), size = le64(e + 8), pages;
		uint32_t flags = le32(e + 24);

		if (__builtin_add_overflow(x->total, size, &x->total))
			x->total = UINT64_MAX;
		x->flags_or |= flags;
		if (!size)
			continue;
		pages = (base + (size - 1)) / SNAP_PAGE - base / SNAP_PAGE + 1;
		if (pages >= (1ull << 52))
			x->span_wraps = true;
		/* What squib_mem_add_region_opts() refuses of a region the
		 * format allows: SHARED off the host page, HUGETLB off the huge
		 * page. */
		if ((flags & SQUIB_REGION_SHARED) && ((base | size) & (host_page - 1)))
			x->add_refuses = true;
		if ((flags & SQUIB_REGION_HUGETLB) &&
		    (!huge_page || ((base | size) & (huge_page - 1))))
			x->add_refuses = true;
	}
	x->touch = x->total <= CAP_BYTES;
}

static void expect_init(struct expect *x, const uint8_t *b, size_t n)
{
	struct rec_record tmp;
	struct rec_error e;

	*x = (struct expect){.b = b, .n = n};
	scan(x);
	x->structure_ok = reader(b, n, 0, &x->r, &x->err);
	x->truncated = !x->structure_ok && x->err.problem == REC_TRUNCATED;
	if (x->structure_ok) {
		x->front_ok = true;
		x->data_ok = reader(b, n, REC_CHECK_DATA, &tmp, &e);
		if (x->data_ok)
			rec_record_free(&tmp);
		x->sound = x->data_ok && reader(b, n, REC_CHECK_DATA | REC_CHECK_ZERO, &tmp, &e);
		if (x->sound)
			rec_record_free(&tmp);
	} else {
		x->front_ok = x->err.phase >= REC_IN_RUNS && x->err.problem != REC_NO_MEMORY;
	}
}

/* The library may leave a record unloaded for want of memory, or for a
 * region the host refuses (HUGETLB, LOCKED) or that it cannot make though
 * the format allows it (CORRUPT: no save could have written it). */
static bool host_limit(const struct expect *x, squib_status_t st)
{
	if (st == SQUIB_E_NO_MEMORY)
		return true;
	if (st == SQUIB_E_UNSUPPORTED && (x->flags_or & SQUIB_REGION_HUGETLB))
		return true;
	if (st == SQUIB_E_IO && (x->flags_or & (SQUIB_REGION_LOCKED | SQUIB_REGION_HUGETLB)))
		return true;
	return st == SQUIB_E_CORRUPT && x->add_refuses;
}

static bool documented(squib_status_t st, bool apply)
{
	switch (st) {
	case SQUIB_OK:
	case SQUIB_E_NO_MEMORY:
	case SQUIB_E_UNSUPPORTED:
	case SQUIB_E_IO:
	case SQUIB_E_CORRUPT:
		return true;
	case SQUIB_E_READ_ONLY:
		return apply;
	default:
		return false;
	}
}

/* How a load is made. */
struct scenario {
	const char *name;
	bool map;	 /* SQUIB_LOAD_MAP_PRIVATE */
	bool apply;	 /* SQUIB_LOAD_APPLY */
	bool stream_fd;	 /* a pipe */
	uint64_t prefix; /* the record's offset in the fd */
};

/* The verdict every load shares: a documented status, a CORRUPT that names
 * its byte, and the status the reader's verdict calls for. Returns whether
 * the load succeeded. (APPLY: apply_fixed() says more.) */
static bool judge(const struct expect *x, const struct scenario *s, squib_status_t st)
{
	bool relaxed = x->span_wraps && !x->structure_ok;
	/* A file record must be at offset 0 of a file. */
	bool placed = x->kind != SNAP_KIND_FILE || (!s->stream_fd && !s->prefix);
	bool unsupported = s->map && x->front_ok &&
			   (x->kind == SNAP_KIND_STREAM ||
			    (x->flags_or & (SQUIB_REGION_SHARED | SQUIB_REGION_HUGETLB)));

	say(s->name, st);
	if (!documented(st, s->apply))
		mismatch("%s: status %d (%s) is not one squib_mem_load() documents", s->name, st,
			 squib_strerror(st));
	if (st == SQUIB_E_CORRUPT && !strstr(squib_last_error(), "at byte "))
		mismatch("%s: a CORRUPT message names no byte: %s", s->name, squib_last_error());
	if (st == SQUIB_OK) {
		if (!placed)
			mismatch("%s: a file record loaded from a pipe or at byte %" PRIu64,
				 s->name, s->prefix);
		if (unsupported)
			mismatch("%s: MAP_PRIVATE of a stream record, or of a SHARED or HUGETLB "
				 "region, succeeded",
				 s->name);
		if (!x->structure_ok) {
			if (!relaxed)
				mismatch("%s: loaded, but squib-mem refuses it: byte %" PRIu64
					 ": %s",
					 s->name, x->err.offset, x->err.what);
			known(KNOWN_SPAN_OVERFLOW, "%s loaded it; squib-mem: byte %" PRIu64 ": %s",
			      s->name, x->err.offset, x->err.what);
		}
		return true;
	}
	if (host_limit(x, st) || relaxed)
		return false;
	if (unsupported) {
		/* After the table: only a file's padding can be CORRUPT first. */
		if (st != SQUIB_E_UNSUPPORTED &&
		    !(st == SQUIB_E_CORRUPT && x->kind == SNAP_KIND_FILE && !x->sound))
			mismatch("%s: status %d (%s), not UNSUPPORTED, for MAP_PRIVATE of a stream "
				 "record or of a SHARED or HUGETLB region",
				 s->name, st, squib_strerror(st));
		return false;
	}
	if (st == SQUIB_E_IO && !x->truncated && !(x->kind == SNAP_KIND_STREAM && !x->structure_ok))
		mismatch("%s: IO for a record that is all there", s->name);
	if (st == SQUIB_E_READ_ONLY)
		return false; /* (apply only) */
	if (st != SQUIB_E_CORRUPT && st != SQUIB_E_IO)
		mismatch("%s: status %d (%s) for a record that is %s", s->name, st,
			 squib_strerror(st), x->structure_ok ? "well-formed" : "malformed");
	if (x->sound && placed && !s->apply)
		mismatch("%s: status %d (%s) for a record squib-mem verify finds sound", s->name,
			 st, squib_strerror(st));
	return false;
}

/* ---- checks of a loaded handle ---- */

struct infos {
	squib_region_info_t v[64];
	size_t n;
	bool overflow;
};

static int collect(const squib_region_info_t *info, void *ctx)
{
	struct infos *in = ctx;

	if (in->n == sizeof(in->v) / sizeof(in->v[0])) {
		in->overflow = true;
		return 1;
	}
	in->v[in->n++] = *info;
	return 0;
}

/* The handle has exactly the record's regions; mapped: FILE|PRIVATE may be
 * added to the flags (a copy-on-write load). After an APPLY (ranges_only)
 * the regions keep their own prot, flags and name: only the ranges and
 * slots are the record's. */
static void check_layout(const struct expect *x, squib_mem_t *mem, const char *scenario,
			 bool mapped_ok, struct infos *in, bool ranges_only)
{
	const struct rec_record *r = &x->r;

	in->n = 0;
	in->overflow = false;
	if (squib_mem_region_count(mem) != r->region_count)
		mismatch("%s: %zu regions, the record has %" PRIu32, scenario,
			 squib_mem_region_count(mem), r->region_count);
	if (r->region_count > sizeof(in->v) / sizeof(in->v[0]))
		return;
	(void)squib_mem_foreach_region(mem, collect, in);
	for (uint32_t i = 0; i < r->region_count; i++) {
		const squib_region_info_t *info = &in->v[i];
		const struct rec_region *g = &r->regions[i];
		uint32_t extra = info->flags & ~g->flags;

		if (info->range.base.raw != g->base || info->range.size != g->size ||
		    info->slot != g->slot || (!ranges_only && info->prot != g->prot))
			mismatch("%s: region %" PRIu32 " is slot %" PRIu32 " [0x%" PRIx64
				 " + %" PRIu64 ") prot %" PRIu32 ", the record's slot %" PRIu32
				 " [0x%" PRIx64 " + %" PRIu64 ") prot %" PRIu32,
				 scenario, i, info->slot, info->range.base.raw, info->range.size,
				 info->prot, g->slot, g->base, g->size, g->prot);
		if (ranges_only)
			continue;
		if ((info->flags & g->flags) != g->flags ||
		    (extra && !(mapped_ok && extra == (SQUIB_REGION_FILE | SQUIB_REGION_PRIVATE))))
			mismatch("%s: slot %" PRIu32 " has flags 0x%" PRIx32
				 ", the record 0x%" PRIx32,
				 scenario, g->slot, info->flags, g->flags);
		if (strncmp(info->name, g->name, SQUIB_REGION_NAME_MAX) != 0)
			mismatch("%s: slot %" PRIu32 " is named '%.32s', the record says '%.32s'",
				 scenario, g->slot, info->name, g->name);
	}
}

/* What region i holds after a load of the record into fresh memory: its
 * DATA runs' bytes, zeros elsewhere. */
static uint8_t *expected_bytes(const struct expect *x, uint32_t i)
{
	const struct rec_region *g = &x->r.regions[i];
	uint8_t *want = xmalloc((size_t)g->size);

	memset(want, 0, (size_t)g->size);
	for (uint64_t k = 0; k < x->r.nruns; k++) {
		const struct rec_run *run = &x->r.runs[k];

		if (run->region == i && run->type == REC_DATA)
			memcpy(want + run->offset, x->b + run->data_at, (size_t)run->len);
	}
	return want;
}

static bool carried(const struct expect *x, uint32_t i, uint64_t page)
{
	for (uint64_t k = 0; k < x->r.nruns; k++) {
		const struct rec_run *run = &x->r.runs[k];

		if (run->region == i && page >= run->first_page &&
		    page - run->first_page < run->page_count)
			return true;
	}
	return false;
}

static void compare(const char *scenario, uint32_t slot, const uint8_t *have, const uint8_t *want,
		    uint64_t size, uint64_t base)
{
	for (uint64_t k = 0; k < size; k++)
		if (have[k] != want[k])
			mismatch("%s: slot %" PRIu32 " byte 0x%" PRIx64 " is 0x%02x, want 0x%02x",
				 scenario, slot, base + k, have[k], want[k]);
}

/* The bytes of every region: what it held before (`prior`, NULL: zeros)
 * with the record's runs applied over it; a region mapped from the file
 * (FILE in its flags): the file's bytes, which the load does not check. */
static void check_bytes(const struct expect *x, squib_mem_t *mem, const char *scenario,
			const struct infos *in, uint8_t *const *prior)
{
	for (uint32_t i = 0; i < x->r.region_count && i < in->n; i++) {
		const struct rec_region *g = &x->r.regions[i];
		uint8_t *want = xmalloc((size_t)g->size), *have = xmalloc((size_t)g->size);

		if (prior)
			memcpy(want, prior[i], (size_t)g->size);
		else
			memset(want, 0, (size_t)g->size);
		for (uint64_t k = 0; k < x->r.nruns; k++) {
			const struct rec_run *run = &x->r.runs[k];

			if (run->region != i)
				continue;
			if (run->type == REC_DATA)
				memcpy(want + run->offset, x->b + run->data_at, (size_t)run->len);
			else
				memset(want + run->offset, 0, (size_t)run->len);
		}
		if (in->v[i].flags & SQUIB_REGION_FILE)
			memcpy(want, x->b + g->data_offset, (size_t)g->size);
		if (squib_mem_read(mem, SQUIB_GPA(g->base), have, (size_t)g->size) != SQUIB_OK)
			mismatch("%s: slot %" PRIu32 " cannot be read", scenario, g->slot);
		compare(scenario, g->slot, have, want, g->size, g->base);
		free(want);
		free(have);
	}
}

/* Each region's bytes now, for check_bytes() after an APPLY. */
static uint8_t **snapshot_bytes(squib_mem_t *mem, const struct infos *in)
{
	uint8_t **bytes = xmalloc(in->n * sizeof(*bytes));

	for (size_t i = 0; i < in->n; i++) {
		bytes[i] = xmalloc((size_t)in->v[i].range.size);
		if (squib_mem_read(mem, in->v[i].range.base, bytes[i],
				   (size_t)in->v[i].range.size) != SQUIB_OK)
			mismatch("cannot read slot %" PRIu32, in->v[i].slot);
	}
	return bytes;
}

static void free_bytes(uint8_t **bytes, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(bytes[i]);
	free(bytes);
}

static void check_empty(squib_mem_t *mem, const char *scenario)
{
	if (squib_mem_region_count(mem) != 0)
		mismatch("%s: a failed load left %zu regions", scenario,
			 squib_mem_region_count(mem));
}

static void check_position(int fd, uint64_t want, const char *scenario)
{
	off_t at = lseek(fd, 0, SEEK_CUR);

	if (at < 0 || (uint64_t)at != want)
		mismatch("%s: the fd is at byte %jd after the load, the record ends at %" PRIu64,
			 scenario, (intmax_t)at, want);
}

static squib_status_t load(squib_mem_t *mem, int fd, uint32_t flags)
{
	squib_snapshot_opts_t opts = SQUIB_SNAPSHOT_OPTS_INIT;

	opts.flags = flags;
	return squib_mem_load(mem, fd, &opts);
}

/* ---- the scenarios ---- */

/* Clears the dirty bits of every logging region. */
static void clear_dirty(squib_mem_t *mem, const struct infos *in)
{
	uint64_t bits[64];

	for (size_t i = 0; i < in->n; i++) {
		size_t words;

		if (!(in->v[i].flags & SQUIB_REGION_DIRTY_LOG))
			continue;
		words = (size_t)(((in->v[i].range.base.raw + (in->v[i].range.size - 1)) / 4096 -
				  in->v[i].range.base.raw / 4096 + 1 + 63) /
				 64);
		if (words > 64 ||
		    squib_mem_get_dirty_log(mem, in->v[i].slot, bits, words, SQUIB_DIRTY_CLEAR))
			mismatch("cannot clear the dirty log of slot %" PRIu32, in->v[i].slot);
	}
}

/* The dirty pages of each writable logging region are exactly the pages
 * the record carries of it. */
static void check_dirty(const struct expect *x, squib_mem_t *mem, const struct infos *in,
			const char *scenario)
{
	uint64_t bits[64];

	for (uint32_t i = 0; i < x->r.region_count && i < in->n; i++) {
		const struct rec_region *g = &x->r.regions[i];
		size_t words = (size_t)((g->pages + 63) / 64);

		if (!(in->v[i].flags & SQUIB_REGION_DIRTY_LOG) ||
		    (in->v[i].flags & SQUIB_REGION_READONLY) || words > 64)
			continue;
		if (squib_mem_get_dirty_log(mem, g->slot, bits, words, 0) != SQUIB_OK)
			mismatch("%s: get_dirty_log of slot %" PRIu32, scenario, g->slot);
		for (uint64_t p = 0; p < g->pages; p++) {
			bool dirty = (bits[p / 64] >> (p % 64)) & 1u;

			if (dirty != carried(x, i, p))
				mismatch("%s: page %" PRIu64 " of slot %" PRIu32
					 " is %sdirty after the APPLY, which %s it",
					 scenario, p, g->slot, dirty ? "" : "not ",
					 carried(x, i, p) ? "carries" : "does not carry");
		}
	}
}

/* Fills each writable region with a byte of its own (0x51 + index). */
static void fill_regions(squib_mem_t *mem, const struct infos *in)
{
	for (size_t i = 0; i < in->n; i++) {
		uint8_t *bytes;

		if (in->v[i].flags & SQUIB_REGION_READONLY)
			continue;
		bytes = xmalloc((size_t)in->v[i].range.size);
		memset(bytes, 0x51 + (int)i, (size_t)in->v[i].range.size);
		if (squib_mem_write(mem, in->v[i].range.base, bytes, (size_t)in->v[i].range.size))
			mismatch("cannot fill slot %" PRIu32, in->v[i].slot);
		free(bytes);
	}
}

/* APPLY the record again onto the handle a load made of it: always
 * accepted; the carried pages replace what the caller wrote, the others
 * keep it, and exactly the carried pages are dirty. */
static void apply_again(const struct expect *x, squib_mem_t *mem, int fd, const struct infos *in)
{
	const char *scenario = "apply-again";
	uint8_t **prior;
	squib_status_t st;

	if (!x->touch || in->n != x->r.region_count)
		return;
	fill_regions(mem, in);
	clear_dirty(mem, in);
	prior = snapshot_bytes(mem, in);
	if (lseek(fd, 0, SEEK_SET) != 0)
		abort();
	st = load(mem, fd, SQUIB_LOAD_APPLY);
	say(scenario, st);
	if (st != SQUIB_OK && !host_limit(x, st))
		mismatch("%s: status %d (%s) for the record the handle was loaded from", scenario,
			 st, squib_strerror(st));
	if (st == SQUIB_OK) {
		struct infos *now = xmalloc(sizeof(*now));

		check_layout(x, mem, scenario, false, now, true);
		check_bytes(x, mem, scenario, in, prior);
		check_dirty(x, mem, in, scenario);
		check_position(fd, x->r.end, scenario);
		free(now);
	} else {
		check_layout(x, mem, scenario, false, (struct infos[1]){0}, true);
	}
	free_bytes(prior, in->n);
}

/* A load into an empty handle from *fd (at s->prefix); after a mapping the
 * fd is closed (*fd = -1) before the bytes are read: they must outlive it.
 * again: APPLY the record once more onto what the load made. */
static void load_fresh(const struct expect *x, int *fd, const struct scenario *s, bool again)
{
	squib_mem_t *mem;
	squib_status_t st;
	struct infos *in = xmalloc(sizeof(*in));

	if (squib_mem_new(&mem) != SQUIB_OK)
		abort();
	st = load(mem, *fd, s->map ? SQUIB_LOAD_MAP_PRIVATE : 0);
	if (!judge(x, s, st)) {
		check_empty(mem, s->name);
	} else if (x->structure_ok) {
		if (!s->map && !x->data_ok)
			mismatch("%s: a copying load accepted a DATA run that fails its checksum",
				 s->name);
		check_layout(x, mem, s->name, s->map, in, false);
		/* Just past the record, a file record's too. */
		if (!s->stream_fd)
			check_position(*fd, s->prefix + x->r.end, s->name);
		if (s->stream_fd) {
			uint8_t rest[4096];
			uint64_t left = 0;
			ssize_t got;

			while ((got = read(*fd, rest, sizeof(rest))) > 0)
				left += (uint64_t)got;
			if (left != x->n - x->r.end)
				mismatch("%s: %" PRIu64
					 " bytes were left in the pipe, want %" PRIu64,
					 s->name, left, (uint64_t)(x->n - x->r.end));
		}
		if (x->touch && !in->overflow) {
			if (s->map) {
				close(*fd);
				*fd = -1;
			}
			check_bytes(x, mem, s->name, in, NULL);
			if (again)
				apply_again(x, mem, *fd, in);
		}
	}
	squib_mem_free(mem);
	free(in);
}

static bool fixed_match(const struct expect *x)
{
	if (!x->structure_ok || x->r.region_count != 3)
		return false;
	for (int i = 0; i < 3; i++)
		if (x->r.regions[i].base != fixed_layout_regions[i].base ||
		    x->r.regions[i].size != fixed_layout_regions[i].size ||
		    x->r.regions[i].slot != fixed_layout_regions[i].slot)
			return false;
	return true;
}

/* The carried pages of the ROM hold what it holds. */
static bool rom_unchanged(const struct expect *x)
{
	uint8_t *want = expected_bytes(x, 2);
	bool same = true;

	for (uint64_t p = 0; p < x->r.regions[2].pages && same; p++) {
		uint64_t offset, len;

		if (!carried(x, 2, p))
			continue;
		rec_span(&x->r.regions[2], p, 1, &offset, &len);
		for (uint64_t k = offset; k < offset + len; k++)
			same &= want[k] == fixed_rom_byte(k);
	}
	free(want);
	return same;
}

/* APPLY onto the fixed layout, its writable regions filled first. */
static void apply_fixed(const struct expect *x, int fd)
{
	const struct scenario s = {.name = "apply-fixed", .apply = true};
	squib_mem_t *mem = fixed_layout_new();
	struct infos *in = xmalloc(sizeof(*in)), *now = xmalloc(sizeof(*now));
	bool match = fixed_match(x);
	squib_status_t st;
	uint8_t **prior;

	if (!mem)
		mismatch("cannot make the fixed layout: %s", squib_last_error());
	in->n = 0;
	(void)squib_mem_foreach_region(mem, collect, in);
	fill_regions(mem, in);
	clear_dirty(mem, in);
	prior = snapshot_bytes(mem, in);
	st = load(mem, fd, SQUIB_LOAD_APPLY);
	if (judge(x, &s, st)) {
		if (x->structure_ok) {
			if (!match || !x->data_ok)
				mismatch("%s: applied a record whose layout is not the handle's, "
					 "or whose data fails its checksum",
					 s.name);
			if (!rom_unchanged(x))
				mismatch("%s: applied a record that changes the ROM", s.name);
			check_layout(x, mem, s.name, false, now, true);
			check_bytes(x, mem, s.name, in, prior);
			check_dirty(x, mem, in, s.name);
			check_position(fd, x->r.end, s.name);
		}
	} else {
		if (squib_mem_region_count(mem) != 3)
			mismatch("%s: a failed APPLY changed the layout", s.name);
		if (match && x->data_ok && st != SQUIB_E_CORRUPT && !host_limit(x, st)) {
			bool rom_same = rom_unchanged(x);

			if (rom_same)
				mismatch("%s: status %d (%s) for a record of the handle's layout",
					 s.name, st, squib_strerror(st));
			if (st != SQUIB_E_READ_ONLY)
				mismatch("%s: status %d (%s) for a record that changes the ROM, "
					 "not READ_ONLY",
					 s.name, st, squib_strerror(st));
		}
		if (match && x->sound && st == SQUIB_E_CORRUPT)
			mismatch("%s: CORRUPT for a sound record of the handle's layout", s.name);
		/* (A ROM's run may come before what is wrong with the record.) */
		if (st == SQUIB_E_READ_ONLY && x->data_ok && !(match && !rom_unchanged(x)))
			mismatch("%s: READ_ONLY, but the record does not change the ROM", s.name);
	}
	free_bytes(prior, in->n);
	free(in);
	free(now);
	squib_mem_free(mem);
}

static void loads(const struct expect *x)
{
	const struct scenario copy = {.name = "copy"}, map = {.name = "map", .map = true},
			      piped = {.name = "pipe", .stream_fd = true},
			      at = {.name = "at-offset", .prefix = PREFIX};
	int fd, pipes[2];

	/* A file from offset 0: copied (then applied again onto what it
	 * made), and mapped copy-on-write. */
	fd = memfd_with(x->b, x->n, 0);
	load_fresh(x, &fd, &copy, true);
	close(fd);
	fd = memfd_with(x->b, x->n, 0);
	load_fresh(x, &fd, &map, false);
	if (fd >= 0)
		close(fd);
	/* A real stream: a pipe holding the input. */
	if (pipe2(pipes, O_CLOEXEC) == 0) {
		bool fits = x->n <= 65536 || fcntl(pipes[1], F_SETPIPE_SZ, (int)x->n) >= (int)x->n;

		if (fits && (x->n == 0 || write(pipes[1], x->b, x->n) == (ssize_t)x->n)) {
			close(pipes[1]);
			load_fresh(x, &pipes[0], &piped, false);
		} else {
			close(pipes[1]);
		}
		close(pipes[0]);
	}
	/* A stream record at the fd's position, past other bytes. */
	if (x->kind == SNAP_KIND_STREAM) {
		fd = memfd_with(x->b, x->n, PREFIX);
		load_fresh(x, &fd, &at, false);
		close(fd);
	}
	if (x->touch) {
		fd = memfd_with(x->b, x->n, 0);
		apply_fixed(x, fd);
		close(fd);
	}
}

/* ---- fixing checksums ---- */

/* Makes every checksum the bytes let one compute right: the header's, and
 * each run's (DATA: its data's first) whose region and pages exist. */
static void fix_checksums(uint8_t *b, size_t n)
{
	uint64_t at = 0;

	for (int record = 0; record < 4; record++) {
		uint32_t kind, count;
		uint64_t table_end, pos;

		if (n - at < SNAP_HEADER_BYTES || memcmp(b + at, "SQUIBSNP", 8) != 0)
			return;
		kind = le32(b + at + 12);
		count = le32(b + at + 20);
		table_end = at + SNAP_HEADER_BYTES + (uint64_t)count * SNAP_REGION_BYTES;
		if (count > SNAP_MAX_REGIONS || table_end > n)
			return;
		put32(b + at + 60, rec_crc32c(rec_crc32c(0, b + at, 60), b + at + SNAP_HEADER_BYTES,
					      (size_t)(table_end - at - SNAP_HEADER_BYTES)));
		pos = kind == SNAP_KIND_FILE ? le64(b + at + 40) : table_end;
		for (uint64_t k = 0; pos <= n && n - pos >= SNAP_RUN_BYTES; k++) {
			uint8_t *e = b + pos;
			uint32_t type = le32(e), region = le32(e + 4);
			uint64_t first = le64(e + 8), pages = le64(e + 16), len = 0;

			if (kind == SNAP_KIND_FILE && k >= le64(b + at + 48))
				return;
			if (type == SNAP_RUN_DATA && region < count && pages && pages <= 256) {
				const uint8_t *g = b + at + snap_region_offset(region);
				struct rec_region reg = {.base = le64(g), .size = le64(g + 8)};
				uint64_t offset, data_at;

				if (reg.size && reg.base + (reg.size - 1) >= reg.base) {
					reg.pages = (reg.base + (reg.size - 1)) / 4096 -
						    reg.base / 4096 + 1;
					if (first < reg.pages && pages <= reg.pages - first) {
						rec_span(&reg, first, pages, &offset, &len);
						data_at =
						    kind == SNAP_KIND_FILE
							? le64(g + 32) + reg.base % 4096 + offset
							: pos + SNAP_RUN_BYTES;
						if (data_at <= n && n - data_at >= len)
							put32(e + 24, rec_crc32c(0, b + data_at,
										 (size_t)len));
						else
							len = 0;
					}
				}
			}
			put32(e + 28, rec_crc32c(0, e, 28));
			pos += SNAP_RUN_BYTES;
			if (kind == SNAP_KIND_STREAM && type == SNAP_RUN_DATA)
				pos += len;
			if (kind == SNAP_KIND_STREAM && type == SNAP_RUN_END)
				break;
		}
		if (kind == SNAP_KIND_FILE)
			return;
		at = pos;
	}
}

/* ---- one version of the input ---- */

static void run_one(const uint8_t *b, size_t n)
{
	struct expect x;
	struct walk w = {0};
	bool codec_ok;

	expect_init(&x, b, n);
	codec_ok = codec_walk(b, n, &w, x.structure_ok ? &x.r : NULL);
	if (codec_ok != x.structure_ok) {
		if (codec_ok && x.span_wraps)
			known(KNOWN_SPAN_OVERFLOW, "squib-mem: byte %" PRIu64 ": %s", x.err.offset,
			      x.err.what);
		else
			mismatch("the codec %s the record, squib-mem %s it (%s%s%" PRIu64 ": %s)",
				 codec_ok ? "accepts" : "refuses",
				 x.structure_ok ? "accepts" : "refuses",
				 codec_ok ? "squib-mem" : "codec", " at byte ",
				 codec_ok ? x.err.offset : w.err.offset,
				 codec_ok ? x.err.what : w.err.what);
	}
	if (codec_ok && x.structure_ok && w.runs != x.r.nruns + (x.kind == SNAP_KIND_STREAM))
		mismatch("the codec walked %" PRIu64 " runs, squib-mem %" PRIu64, w.runs,
			 x.r.nruns);
	free(w.regions);
	/* Loads, unless the layout is too large to be had or to be touched. */
	if (x.total <= CAP_BYTES ||
	    (x.total <= BIG_BYTES &&
	     !(x.flags_or & (SQUIB_REGION_PREFAULT | SQUIB_REGION_LOCKED | SQUIB_REGION_HUGETLB |
			     SQUIB_REGION_SHARED | SQUIB_REGION_READONLY))))
		loads(&x);
	if (x.structure_ok)
		rec_record_free(&x.r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	int fds;
	uint8_t *fixed_bytes;

	if (!ready) {
		const char *t = getenv("SQUIB_FUZZ_TRACE"), *s = getenv("SQUIB_FUZZ_STRICT");

		trace = t && *t && strcmp(t, "0") != 0;
		/* K2 is fixed: strict unless asked otherwise. */
		strict = !(s && strcmp(s, "0") == 0);
		host_page = (uint64_t)sysconf(_SC_PAGESIZE);
		huge_page = default_huge_page();
		ready = true;
	}
	fds = count_fds();
	variant = "as is";
	run_one(data, size);
	fixed_bytes = xmalloc(size);
	if (size)
		memcpy(fixed_bytes, data, size);
	fix_checksums(fixed_bytes, size);
	if (size && memcmp(fixed_bytes, data, size) != 0) {
		variant = "checksums fixed";
		run_one(fixed_bytes, size);
	}
	free(fixed_bytes);
	if (count_fds() != fds)
		mismatch("the input leaves %d file descriptors open, not %d", count_fds(), fds);
	return 0;
}
