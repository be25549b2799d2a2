/* SPDX-License-Identifier: MIT */
/*
 * squib-mem: looks into squib snapshots (docs/SNAPSHOT.md, squib-mem(1)).
 *
 *   squib-mem info FILE              what a record holds
 *   squib-mem verify FILE            every checksum and rule of the format
 *   squib-mem read [--raw] FILE ADDR LEN
 *   squib-mem diff A B               the pages that differ
 *
 * Built on the public API only: the records are parsed by record.c, written
 * from docs/SNAPSHOT.md, and guest memory is read through a handle that
 * squib_mem_load() fills.
 */
#define _GNU_SOURCE /* SEEK_DATA */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <squib/core.h>

#include "record.h"

#ifndef SQUIB_MEM_VERSION
#define SQUIB_MEM_VERSION SQUIB_CORE_VERSION_STRING
#endif

/* Exit statuses (squib-mem(1)). */
enum { EXIT_GOOD = 0, EXIT_BAD = 1, EXIT_USAGE = 2 };

static const char *const prog = "squib-mem";

/* Work below this many bytes shows no progress line. */
#define PROGRESS_MIN (64u << 20)
#define CHUNK ((size_t)REC_RUN_MAX_PAGES * REC_PAGE)

static void usage(FILE *to)
{
	fprintf(to,
		"usage: %s info FILE\n"
		"       %s verify FILE\n"
		"       %s read [--raw] FILE ADDR LEN\n"
		"       %s diff A B\n"
		"       %s --help | --version\n"
		"\n"
		"Looks into squib snapshots (docs/SNAPSHOT.md): file records, and stream\n"
		"records captured to a file (one or more, one after the other).\n"
		"\n"
		"  info    format version, record kind, full or incremental, and each\n"
		"          region: slot, [base, end), prot, flags, name, bytes stored, runs\n"
		"  verify  every checksum and every rule of the format, also that every\n"
		"          byte no structure covers is zero; exit 0 when sound, 1 when not\n"
		"  read    LEN bytes of guest memory at guest-physical ADDR (0x... or\n"
		"          decimal) as a hexdump, or raw with --raw\n"
		"  diff    the guest-physical ranges whose pages differ, and the regions\n"
		"          only one record has; exit 0 when identical, 1 when not\n"
		"\n"
		"Exit status: 0 success, 1 a record that is not sound, an address it does\n"
		"not hold or records that differ, 2 a usage error or a file that cannot be\n"
		"read. See squib-mem(1).\n",
		prog, prog, prog, prog, prog);
}

__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt, ...)
{
	va_list args;

	fprintf(stderr, "%s: ", prog);
	va_start(args, fmt);
	vfprintf(stderr, fmt, args);
	va_end(args);
	fprintf(stderr, "\nTry '%s --help'.\n", prog);
	return EXIT_USAGE;
}

/* "squib-mem: FILE: ..." */
__attribute__((format(printf, 3, 4))) static int complain(int status, const char *file,
							  const char *fmt, ...)
{
	va_list args;

	fprintf(stderr, "%s: %s: ", prog, file);
	va_start(args, fmt);
	vfprintf(stderr, fmt, args);
	va_end(args);
	fputc('\n', stderr);
	return status;
}

/* ---- progress on a terminal ---- */

struct progress {
	const char *what; /* "verify FILE" */
	bool on;	  /* stderr is a terminal */
	bool shown;
	struct timespec last;
};

static void progress_init(struct progress *p, const char *what)
{
	*p = (struct progress){.what = what, .on = isatty(STDERR_FILENO) == 1};
	clock_gettime(CLOCK_MONOTONIC, &p->last);
}

static void progress_show(struct progress *p, uint64_t done, uint64_t total)
{
	struct timespec now;
	double ms;

	if (!p->on || total < PROGRESS_MIN)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (double)(now.tv_sec - p->last.tv_sec) * 1e3 +
	     (double)(now.tv_nsec - p->last.tv_nsec) / 1e6;
	if (ms < 200 && done < total)
		return;
	p->last = now;
	fprintf(stderr, "\r%s: %s: %3u%% (%" PRIu64 " of %" PRIu64 " MiB)", prog, p->what,
		(unsigned)(done * 100 / total), done >> 20, total >> 20);
	p->shown = true;
}

static void progress_done(struct progress *p)
{
	if (p->shown)
		fputs("\r\033[K", stderr);
	p->shown = false;
}

/* ---- input files ---- */

struct input {
	const char *name;
	int fd;
	struct rec_input in;
	struct progress progress;
};

static ssize_t fd_read(void *ctx, void *buf, size_t len, uint64_t offset)
{
	const struct input *f = ctx;

	if (offset > (uint64_t)INT64_MAX)
		return 0;
	return pread(f->fd, buf, len, (off_t)offset);
}

static uint64_t fd_skip_zeros(void *ctx, uint64_t offset, uint64_t end)
{
	const struct input *f = ctx;
	off_t data = lseek(f->fd, (off_t)offset, SEEK_DATA);

	if (data < 0)
		return errno == ENXIO ? end : offset; /* ENXIO: only a hole is left */
	return (uint64_t)data < end ? (uint64_t)data : end;
}

static void fd_progress(void *ctx, uint64_t done, uint64_t total)
{
	struct input *f = ctx;

	progress_show(&f->progress, done, total);
}

/* A pipe or a terminal ("-" is standard input) is copied into a temporary
 * file first: the reader needs to seek. */
static int spool(struct input *f, int from)
{
	FILE *tmp = tmpfile();
	char buf[65536];
	int fd;

	if (!tmp)
		return complain(EXIT_USAGE, f->name, "cannot make a temporary file: %s",
				strerror(errno));
	fd = dup(fileno(tmp));
	fclose(tmp);
	if (fd < 0)
		return complain(EXIT_USAGE, f->name, "dup: %s", strerror(errno));
	for (;;) {
		ssize_t n = read(from, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			close(fd);
			return complain(EXIT_USAGE, f->name, "cannot read: %s", strerror(errno));
		}
		if (n == 0)
			break;
		for (ssize_t done = 0; done < n;) {
			ssize_t w = write(fd, buf + done, (size_t)(n - done));

			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				close(fd);
				return complain(EXIT_USAGE, f->name,
						"cannot write the temporary copy: %s",
						strerror(errno));
			}
			done += w;
		}
	}
	f->fd = fd;
	return EXIT_GOOD;
}

static int input_open(struct input *f, const char *name, const char *command)
{
	static char what[2][512];
	static int next;
	struct stat st;
	int status;

	*f = (struct input){.name = name, .fd = -1};
	if (strcmp(name, "-") == 0) {
		f->name = "(standard input)";
		status = spool(f, STDIN_FILENO);
		if (status != EXIT_GOOD)
			return status;
	} else {
		f->fd = open(name, O_RDONLY | O_CLOEXEC);
		if (f->fd < 0)
			return complain(EXIT_USAGE, name, "cannot open: %s", strerror(errno));
		if (fstat(f->fd, &st) != 0) {
			status = complain(EXIT_USAGE, name, "cannot stat: %s", strerror(errno));
			close(f->fd);
			return status;
		}
		if (S_ISDIR(st.st_mode)) {
			close(f->fd);
			return complain(EXIT_USAGE, name, "is a directory");
		}
		if (!S_ISREG(st.st_mode)) {
			int from = f->fd;

			status = spool(f, from);
			close(from);
			if (status != EXIT_GOOD)
				return status;
		}
	}
	if (fstat(f->fd, &st) != 0) {
		status = complain(EXIT_USAGE, f->name, "cannot stat: %s", strerror(errno));
		close(f->fd);
		return status;
	}
	(void)snprintf(what[next], sizeof(what[next]), "%s %s", command, f->name);
	progress_init(&f->progress, what[next]);
	next = (next + 1) % 2;
	f->in = (struct rec_input){.read = fd_read,
				   .skip_zeros = fd_skip_zeros,
				   .progress = fd_progress,
				   .ctx = f,
				   .size = (uint64_t)st.st_size};
	return EXIT_GOOD;
}

static void input_close(struct input *f)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
}

/* Parses f; on failure says why and returns the exit status. */
static int parse(struct input *f, unsigned checks, struct rec_file *out, int bad_status)
{
	struct rec_error err;
	bool ok = rec_parse_input(&f->in, checks, out, &err);

	progress_done(&f->progress);
	if (ok)
		return EXIT_GOOD;
	if (err.problem == REC_IO || err.problem == REC_NO_MEMORY)
		return complain(EXIT_USAGE, f->name, "byte %" PRIu64 ": %s", err.offset, err.what);
	return complain(bad_status, f->name, "byte %" PRIu64 ": %s", err.offset, err.what);
}

/* ---- formatting ---- */

static const char *prot_text(uint32_t prot, char out[4])
{
	out[0] = prot & SQUIB_PROT_READ ? 'r' : '-';
	out[1] = prot & SQUIB_PROT_WRITE ? 'w' : '-';
	out[2] = prot & SQUIB_PROT_EXEC ? 'x' : '-';
	out[3] = '\0';
	return out;
}

static const char *flags_text(uint32_t flags, char *out, size_t size)
{
	size_t len = 0;

	out[0] = '\0';
	for (unsigned i = 0; i < 32; i++) {
		const char *name;

		if (!(flags & (1u << i)))
			continue;
		name = rec_flag_name(1u << i);
		len += (size_t)snprintf(out + len, size - len, "%s%s", len ? "|" : "",
					name ? name : "?");
		if (len >= size)
			break;
	}
	if (!flags)
		(void)snprintf(out, size, "-");
	return out;
}

/* A region's name, quoted, with anything unprintable escaped. */
static const char *name_text(const char *name, char *out, size_t size)
{
	size_t len = 0;

	out[len++] = '"';
	for (size_t i = 0; i < REC_NAME_BYTES && name[i] && len + 6 < size; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
			out[len++] = (char)c;
		else
			len += (size_t)snprintf(out + len, size - len, "\\x%02x", c);
	}
	out[len++] = '"';
	out[len] = '\0';
	return out;
}

/* "[0x..., 0x...)" of [base, base + size), the end possibly 2^64. */
static const char *range_text(uint64_t base, uint64_t size, char *out, size_t len)
{
	if (size && base + (size - 1) == UINT64_MAX)
		(void)snprintf(out, len, "[0x%016" PRIx64 ", 0x10000000000000000)", base);
	else
		(void)snprintf(out, len, "[0x%016" PRIx64 ", 0x%016" PRIx64 ")", base, base + size);
	return out;
}

/* ---- loading a handle ---- */

/* The guest memory the input describes: its records loaded in order, the
 * first into an empty handle, the others applied onto it. A file record
 * is mapped copy-on-write where the library can. */
static int load(const struct input *f, const struct rec_file *parsed, squib_mem_t **out)
{
	squib_mem_t *mem = NULL;
	squib_status_t status = squib_mem_new(&mem);

	if (status != SQUIB_OK)
		return complain(EXIT_USAGE, f->name, "squib_mem_new: %s", squib_last_error());
	if (lseek(f->fd, 0, SEEK_SET) != 0) {
		squib_mem_free(mem);
		return complain(EXIT_USAGE, f->name, "cannot seek: %s", strerror(errno));
	}
	for (size_t i = 0; i < parsed->count; i++) {
		squib_snapshot_opts_t opts = SQUIB_SNAPSHOT_OPTS_INIT;
		off_t at;

		if (i > 0)
			opts.flags = SQUIB_LOAD_APPLY;
		else if (parsed->records[0].kind == REC_KIND_FILE)
			opts.flags = SQUIB_LOAD_MAP_PRIVATE;
		status = squib_mem_load(mem, f->fd, &opts);
		if (status == SQUIB_E_UNSUPPORTED && opts.flags == SQUIB_LOAD_MAP_PRIVATE) {
			/* A SHARED or HUGETLB region: copy instead. */
			opts.flags = 0;
			if (lseek(f->fd, 0, SEEK_SET) == 0)
				status = squib_mem_load(mem, f->fd, &opts);
		}
		if (status != SQUIB_OK) {
			int exit_status = status == SQUIB_E_CORRUPT ? EXIT_BAD : EXIT_USAGE;

			exit_status = complain(exit_status, f->name,
					       "record %zu at byte %" PRIu64 ": the library cannot "
					       "load it (%s): %s",
					       i + 1, parsed->records[i].start,
					       squib_strerror(status), squib_last_error());
			squib_mem_free(mem);
			return exit_status;
		}
		at = lseek(f->fd, 0, SEEK_CUR);
		if (parsed->records[i].kind == REC_KIND_STREAM &&
		    (at < 0 || (uint64_t)at != parsed->records[i].end)) {
			squib_mem_free(mem);
			return complain(
			    EXIT_BAD, f->name,
			    "record %zu: the library read up to byte %jd, but it ends at "
			    "byte %" PRIu64,
			    i + 1, (intmax_t)at, parsed->records[i].end);
		}
	}
	*out = mem;
	return EXIT_GOOD;
}

/* What the records carry of region i (the same in every record). */
static bool carried_of(const struct rec_file *parsed, uint32_t i, struct rec_carried *out)
{
	*out = (struct rec_carried){0};
	for (size_t k = 0; k < parsed->count; k++) {
		if (!rec_carried_add(out, &parsed->records[k], i)) {
			rec_carried_free(out);
			return false;
		}
	}
	return true;
}

/* ---- info ---- */

static int cmd_info(int argc, char **argv)
{
	struct input f;
	struct rec_file parsed;
	int status;

	if (argc != 1)
		return usage_error("info takes one FILE");
	status = input_open(&f, argv[0], "info");
	if (status != EXIT_GOOD)
		return status;
	status = parse(&f, 0, &parsed, EXIT_BAD);
	if (status != EXIT_GOOD) {
		input_close(&f);
		return status;
	}
	printf("%s: squib snapshot, format version 1, %zu record%s, %" PRIu64 " bytes\n", f.name,
	       parsed.count, parsed.count == 1 ? "" : "s", f.in.size);
	for (size_t k = 0; k < parsed.count; k++) {
		const struct rec_record *r = &parsed.records[k];

		printf("record %zu: byte %" PRIu64 " to %" PRIu64 "\n", k + 1, r->start, r->end);
		printf("  format version: 1\n");
		printf("  kind: %s\n", r->kind == REC_KIND_FILE ? "file" : "stream");
		printf("  content: %s\n", r->flags & REC_INCREMENTAL
					      ? "incremental (the pages it carries)"
					      : "full (every page)");
		printf("  regions: %" PRIu32 "\n", r->region_count);
		printf("  runs: %" PRIu64 " (%" PRIu64 " DATA, %" PRIu64 " ZERO)\n", r->nruns,
		       r->data_runs, r->zero_runs);
		printf("  bytes stored: %" PRIu64 "\n", r->stored);
		for (uint32_t i = 0; i < r->region_count; i++) {
			const struct rec_region *g = &r->regions[i];
			char range[64], prot[4], flags[160], name[REC_NAME_BYTES * 4 + 3];

			printf("  slot %" PRIu32 ": %s prot %s flags %s name %s stored %" PRIu64
			       " runs %" PRIu64 " (%" PRIu64 " DATA, %" PRIu64
			       " ZERO) pages %" PRIu64 " of %" PRIu64 "\n",
			       g->slot, range_text(g->base, g->size, range, sizeof(range)),
			       prot_text(g->prot, prot), flags_text(g->flags, flags, sizeof(flags)),
			       name_text(g->name, name, sizeof(name)), g->stored,
			       g->data_runs + g->zero_runs, g->data_runs, g->zero_runs,
			       g->carried_pages, g->pages);
			if (r->kind == REC_KIND_FILE)
				printf("    data at byte %" PRIu64 "\n", g->data_offset);
		}
	}
	rec_file_free(&parsed);
	input_close(&f);
	return EXIT_GOOD;
}

/* ---- verify ---- */

static int cmd_verify(int argc, char **argv)
{
	struct input f;
	struct rec_file parsed;
	uint64_t runs = 0, bytes = 0;
	int status;

	if (argc != 1)
		return usage_error("verify takes one FILE");
	status = input_open(&f, argv[0], "verify");
	if (status != EXIT_GOOD)
		return status;
	status = parse(&f, REC_CHECK_DATA | REC_CHECK_ZERO, &parsed, EXIT_BAD);
	input_close(&f);
	if (status != EXIT_GOOD)
		return status;
	for (size_t k = 0; k < parsed.count; k++) {
		runs += parsed.records[k].nruns;
		bytes += parsed.records[k].stored;
	}
	printf("%s: sound: %zu %s record%s, %" PRIu64 " runs, %" PRIu64
	       " bytes of page data checked\n",
	       f.name, parsed.count, parsed.records[0].kind == REC_KIND_FILE ? "file" : "stream",
	       parsed.count == 1 ? "" : "s", runs, bytes);
	rec_file_free(&parsed);
	return EXIT_GOOD;
}

/* ---- read ---- */

/* A number: 0x... hex or decimal, the whole argument. */
static bool parse_u64(const char *text, uint64_t *out)
{
	int base = 10;
	char *end;

	if (text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
		base = 16;
		text += 2;
	}
	if (!(text[0] >= '0' && text[0] <= '9') &&
	    !(base == 16 &&
	      ((text[0] >= 'a' && text[0] <= 'f') || (text[0] >= 'A' && text[0] <= 'F'))))
		return false;
	errno = 0;
	*out = strtoull(text, &end, base);
	return errno == 0 && *end == '\0';
}

/* The region of the first record holding addr, or NULL. */
static const struct rec_region *region_at(const struct rec_record *r, uint64_t addr,
					  uint32_t *index)
{
	uint32_t lo = 0, hi = r->region_count;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		const struct rec_region *g = &r->regions[mid];

		if (addr < g->base)
			hi = mid;
		else if (addr - g->base >= g->size)
			lo = mid + 1;
		else {
			*index = mid;
			return g;
		}
	}
	return NULL;
}

/* The page of a region that holds addr, and its first byte. */
static uint64_t page_of(const struct rec_region *g, uint64_t addr)
{
	return addr / REC_PAGE - g->base / REC_PAGE;
}

static uint64_t page_addr(const struct rec_region *g, uint64_t page)
{
	uint64_t offset, len;

	rec_span(g, page, 1, &offset, &len);
	return g->base + offset;
}

/* Every page of [addr, addr + len) of the region is carried. */
static int check_carried(const struct input *f, const struct rec_file *parsed, uint32_t index,
			 uint64_t addr, uint64_t len)
{
	const struct rec_region *g = &parsed->records[0].regions[index];
	uint64_t page = page_of(g, addr), last = page_of(g, addr + (len - 1));
	struct rec_carried c;
	int status = EXIT_GOOD;

	if (!carried_of(parsed, index, &c))
		return complain(EXIT_USAGE, f->name, "out of memory");
	for (size_t k = 0; k <= c.count && page <= last; k++) {
		if (k == c.count || c.seg[k].first > page) {
			char range[64];
			uint64_t at = page_addr(g, page) > addr ? page_addr(g, page) : addr;

			status = complain(EXIT_BAD, f->name,
					  "0x%016" PRIx64 ": page %" PRIu64 " of slot %" PRIu32
					  " %s is not in the record (an incremental record carries"
					  " only some pages)",
					  at, page, g->slot,
					  range_text(g->base, g->size, range, sizeof(range)));
			break;
		}
		if (c.seg[k].first + c.seg[k].count > page)
			page = c.seg[k].first + c.seg[k].count;
	}
	rec_carried_free(&c);
	return status;
}

/* Reads exactly n bytes at `at` of f into buf; a short or failed read is
 * the input's trouble, not a verdict on it. */
static int read_whole(struct input *f, uint8_t *buf, size_t n, uint64_t at)
{
	ssize_t got = pread(f->fd, buf, n, (off_t)at);

	if (got != (ssize_t)n)
		return complain(EXIT_USAGE, f->name, "cannot read byte %" PRIu64 ": %s", at,
				got < 0 ? strerror(errno) : "short read");
	return EXIT_GOOD;
}

/* Bytes [from, to] of a ZERO run's hole in a file record are zeros; read
 * a chunk at a time, as a ZERO run has no size limit. */
static int check_hole(struct input *f, const struct rec_region *g, const struct rec_run *run,
		      uint64_t from, uint64_t to, uint8_t *buf)
{
	uint64_t first = from > run->offset ? from : run->offset;
	uint64_t last = to < run->offset + (run->len - 1) ? to : run->offset + (run->len - 1);

	for (uint64_t at = first; at <= last;) {
		uint64_t file_at = g->data_offset + g->base % REC_PAGE + at;
		size_t n = last - at < CHUNK ? (size_t)(last - at) + 1 : CHUNK;

		if (read_whole(f, buf, n, file_at) != EXIT_GOOD)
			return EXIT_USAGE;
		for (size_t b = 0; b < n; b++)
			if (buf[b])
				return complain(EXIT_BAD, f->name,
						"byte %" PRIu64 ": the ZERO run at byte %" PRIu64
						" has a byte that is not zero in its hole (see"
						" %s verify)",
						file_at + b, run->at, prog);
		at += n;
	}
	return EXIT_GOOD;
}

/* A DATA run passes its checksum; its bytes are read whole (at most
 * REC_RUN_MAX_PAGES pages, the size of buf). */
static int check_data_run(struct input *f, const struct rec_run *run, uint8_t *buf)
{
	if (read_whole(f, buf, (size_t)run->len, run->data_at) != EXIT_GOOD)
		return EXIT_USAGE;
	if (rec_crc32c(0, buf, (size_t)run->len) != run->data_crc)
		return complain(EXIT_BAD, f->name,
				"byte %" PRIu64 ": the DATA run at byte %" PRIu64
				" fails its checksum (see %s verify)",
				run->data_at, run->at, prog);
	return EXIT_GOOD;
}

/* The runs of the records that hold bytes of [addr, addr + len) of region
 * index are sound: DATA runs pass their checksums and, in a file record,
 * the holes of ZERO runs hold zeros. A copy-on-write load reads neither. */
static int check_runs(struct input *f, const struct rec_file *parsed, uint32_t index, uint64_t addr,
		      uint64_t len, uint8_t *buf)
{
	for (size_t k = 0; k < parsed->count; k++) {
		const struct rec_record *r = &parsed->records[k];
		const struct rec_region *g = &r->regions[index];
		uint64_t from = addr - g->base, to = from + (len - 1);

		for (uint64_t i = 0; i < r->nruns; i++) {
			const struct rec_run *run = &r->runs[i];
			int status;

			if (run->region != index || run->offset + (run->len - 1) < from ||
			    run->offset > to || (run->type == REC_ZERO && r->kind != REC_KIND_FILE))
				continue;
			status = run->type == REC_ZERO ? check_hole(f, g, run, from, to, buf)
						       : check_data_run(f, run, buf);
			if (status != EXIT_GOOD)
				return status;
		}
	}
	return EXIT_GOOD;
}

static void hexdump_line(uint64_t addr, const uint8_t *bytes, size_t n)
{
	char ascii[17];

	printf("%016" PRIx64 " ", addr);
	for (size_t i = 0; i < 16; i++) {
		if (i == 8)
			putchar(' ');
		if (i < n)
			printf(" %02x", bytes[i]);
		else
			fputs("   ", stdout);
		ascii[i] = i < n ? (bytes[i] >= 0x20 && bytes[i] < 0x7f ? (char)bytes[i] : '.') : 0;
	}
	ascii[n] = '\0';
	printf("  |%s|\n", ascii);
}

static int cmd_read(int argc, char **argv)
{
	const char *args[3];
	int nargs = 0, status;
	bool raw = false, options = true;
	uint64_t addr, len;
	struct input f;
	struct rec_file parsed;
	squib_mem_t *mem = NULL;
	uint8_t *buf;

	for (int i = 0; i < argc; i++) {
		if (options && strcmp(argv[i], "--") == 0)
			options = false;
		else if (options && strcmp(argv[i], "--raw") == 0)
			raw = true;
		else if (options && argv[i][0] == '-' && argv[i][1] != '\0')
			return usage_error("read: unknown option '%s'", argv[i]);
		else if (nargs < 3)
			args[nargs++] = argv[i];
		else
			return usage_error("read takes FILE ADDR LEN");
	}
	if (nargs != 3)
		return usage_error("read takes FILE ADDR LEN");
	if (!parse_u64(args[1], &addr))
		return usage_error("read: ADDR '%s' is not a number (0x... or decimal)", args[1]);
	if (!parse_u64(args[2], &len))
		return usage_error("read: LEN '%s' is not a number (0x... or decimal)", args[2]);
	if (len && addr + (len - 1) < addr)
		return usage_error("read: ADDR 0x%016" PRIx64 " + LEN %" PRIu64 " passes 2^64",
				   addr, len);
	status = input_open(&f, args[0], "read");
	if (status != EXIT_GOOD)
		return status;
	status = parse(&f, 0, &parsed, EXIT_BAD);
	if (status != EXIT_GOOD) {
		input_close(&f);
		return status;
	}
	buf = malloc(CHUNK);
	if (!buf) {
		status = complain(EXIT_USAGE, f.name, "out of memory");
		goto out;
	}
	/* Every byte must be there before any is shown. */
	for (uint64_t at = addr, left = len; left && status == EXIT_GOOD;) {
		uint32_t index;
		const struct rec_region *g = region_at(&parsed.records[0], at, &index);
		uint64_t n;

		if (!g) {
			status = complain(EXIT_BAD, f.name,
					  "0x%016" PRIx64 ": not in any region of the record", at);
			break;
		}
		n = g->size - (at - g->base) < left ? g->size - (at - g->base) : left;
		status = check_carried(&f, &parsed, index, at, n);
		if (status == EXIT_GOOD)
			status = check_runs(&f, &parsed, index, at, n, buf);
		left -= n;
		at += n;
	}
	if (status == EXIT_GOOD && len)
		status = load(&f, &parsed, &mem);
	for (uint64_t done = 0; status == EXIT_GOOD && done < len;) {
		uint64_t at = addr + done;
		uint32_t index;
		const struct rec_region *g = region_at(&parsed.records[0], at, &index);
		size_t n = CHUNK;
		squib_status_t st;

		if (!g) { /* checked above */
			status =
			    complain(EXIT_BAD, f.name, "0x%016" PRIx64 ": not in any region", at);
			break;
		}
		if (len - done < n)
			n = (size_t)(len - done);
		/* One region at a time: a hexdump line never spans two. */
		if (g->size - (at - g->base) < n)
			n = (size_t)(g->size - (at - g->base));
		st = squib_mem_read(mem, SQUIB_GPA(at), buf, n);
		if (st != SQUIB_OK) {
			status =
			    complain(EXIT_BAD, f.name, "squib_mem_read: %s", squib_last_error());
			break;
		}
		if (raw) {
			if (fwrite(buf, 1, n, stdout) != n) {
				status = complain(EXIT_USAGE, "(standard output)", "%s",
						  strerror(errno));
				break;
			}
		} else {
			for (size_t i = 0; i < n; i += 16)
				hexdump_line(at + i, buf + i, n - i < 16 ? n - i : 16);
		}
		done += n;
	}
	if (status == EXIT_GOOD && fflush(stdout) != 0)
		status = complain(EXIT_USAGE, "(standard output)", "%s", strerror(errno));
out:
	squib_mem_free(mem);
	free(buf);
	rec_file_free(&parsed);
	input_close(&f);
	return status;
}

/* ---- diff ---- */

struct side {
	struct input f;
	struct rec_file parsed;
	squib_mem_t *mem;
	const struct rec_record *r; /* the first record: the layout */
};

/* Merged output of page ranges of one kind. */
struct pending {
	const char *kind;
	uint32_t slot;
	uint64_t from, to, pages; /* guest bytes [from, to) */
	bool open;
	uint64_t differences;
};

static void pending_flush(struct pending *p)
{
	char range[64];

	if (!p->open)
		return;
	printf("%s: %s slot %" PRIu32 " (%" PRIu64 " page%s)\n", p->kind,
	       range_text(p->from, p->to - p->from, range, sizeof(range)), p->slot, p->pages,
	       p->pages == 1 ? "" : "s");
	p->open = false;
}

/* Guest bytes [from, from + len) of one kind differ. */
static void pending_add(struct pending *p, const char *kind, uint32_t slot, uint64_t from,
			uint64_t len, uint64_t pages)
{
	p->differences++;
	if (p->open && p->kind == kind && p->slot == slot && p->to == from) {
		p->to += len;
		p->pages += pages;
		return;
	}
	pending_flush(p);
	*p = (struct pending){.kind = kind,
			      .slot = slot,
			      .from = from,
			      .to = from + len,
			      .pages = pages,
			      .open = true,
			      .differences = p->differences};
}

/* The state of page `page` in a carried list, from segment *k on: 0 not
 * carried, else REC_DATA or REC_ZERO; *until is the first page where it
 * may change. */
static uint32_t state_at(const struct rec_carried *c, size_t *k, uint64_t page, uint64_t pages,
			 uint64_t *until)
{
	while (*k < c->count && c->seg[*k].first + c->seg[*k].count <= page)
		(*k)++;
	if (*k == c->count) {
		*until = pages;
		return 0;
	}
	if (c->seg[*k].first > page) {
		*until = c->seg[*k].first;
		return 0;
	}
	*until = c->seg[*k].first + c->seg[*k].count;
	return c->seg[*k].type;
}

struct diff_work {
	struct progress progress;
	uint64_t done, total;
	uint8_t *a, *b;
};

/* Pages [page, until) of region index, carried by both records, at least
 * one of them as DATA: compared a chunk at a time. */
static int compare_pages(struct side *sa, struct side *sb, uint32_t ia, uint32_t ib, uint64_t page,
			 uint64_t until, struct pending *out, struct diff_work *w)
{
	const struct rec_region *g = &sa->r->regions[ia];

	(void)ib;
	while (page < until) {
		uint64_t count =
		    until - page < REC_RUN_MAX_PAGES ? until - page : REC_RUN_MAX_PAGES;
		uint64_t offset, len;

		rec_span(g, page, count, &offset, &len);
		if (squib_mem_read(sa->mem, SQUIB_GPA(g->base + offset), w->a, (size_t)len) !=
		    SQUIB_OK)
			return complain(EXIT_USAGE, sa->f.name, "squib_mem_read: %s",
					squib_last_error());
		if (squib_mem_read(sb->mem, SQUIB_GPA(g->base + offset), w->b, (size_t)len) !=
		    SQUIB_OK)
			return complain(EXIT_USAGE, sb->f.name, "squib_mem_read: %s",
					squib_last_error());
		for (uint64_t p = page; p < page + count; p++) {
			uint64_t po, pl;

			rec_span(g, p, 1, &po, &pl);
			if (memcmp(w->a + (po - offset), w->b + (po - offset), (size_t)pl) != 0)
				pending_add(out, "differ", g->slot, g->base + po, pl, 1);
		}
		w->done += len;
		progress_show(&w->progress, w->done, w->total);
		page += count;
	}
	return EXIT_GOOD;
}

/* Walks the pages of a region both records have: calls compare for the
 * ranges to compare (or counts their bytes when w->a is NULL), reports
 * pages only one carries. */
static int diff_region(struct side *sa, struct side *sb, uint32_t ia, uint32_t ib,
		       struct pending *out, struct diff_work *w)
{
	const struct rec_region *g = &sa->r->regions[ia];
	struct rec_carried ca, cb;
	size_t ka = 0, kb = 0;
	int status = EXIT_GOOD;

	if (!carried_of(&sa->parsed, ia, &ca))
		return complain(EXIT_USAGE, sa->f.name, "out of memory");
	if (!carried_of(&sb->parsed, ib, &cb)) {
		rec_carried_free(&ca);
		return complain(EXIT_USAGE, sb->f.name, "out of memory");
	}
	for (uint64_t page = 0; page < g->pages && status == EXIT_GOOD;) {
		uint64_t ua, ub, until, offset, len;
		uint32_t a = state_at(&ca, &ka, page, g->pages, &ua);
		uint32_t b = state_at(&cb, &kb, page, g->pages, &ub);

		until = ua < ub ? ua : ub;
		rec_span(g, page, until - page, &offset, &len);
		if (!a && !b) {
			/* neither carries them */
		} else if (!a || !b) {
			if (w->a)
				pending_add(out, a ? "carried only by A" : "carried only by B",
					    g->slot, g->base + offset, len, until - page);
		} else if (a == REC_ZERO && b == REC_ZERO) {
			/* zeros in both */
		} else if (!w->a) {
			w->total += len;
		} else {
			status = compare_pages(sa, sb, ia, ib, page, until, out, w);
		}
		page = until;
	}
	rec_carried_free(&ca);
	rec_carried_free(&cb);
	return status;
}

static const struct rec_region *by_slot(const struct rec_record *r, uint32_t slot, uint32_t *index)
{
	for (uint32_t i = 0; i < r->region_count; i++) {
		if (r->regions[i].slot == slot) {
			*index = i;
			return &r->regions[i];
		}
	}
	return NULL;
}

/* One pass over the regions: with w->a NULL it only sums the work. */
static int diff_pass(struct side *sa, struct side *sb, struct pending *out, struct diff_work *w)
{
	const bool report = w->a != NULL;
	char ra[64], rb[64], ta[160], tb[160];
	int status = EXIT_GOOD;

	for (uint32_t ia = 0; ia < sa->r->region_count && status == EXIT_GOOD; ia++) {
		const struct rec_region *ga = &sa->r->regions[ia], *gb;
		uint32_t ib;
		char na[REC_NAME_BYTES * 4 + 3], nb[REC_NAME_BYTES * 4 + 3];

		gb = by_slot(sb->r, ga->slot, &ib);
		if (!gb) {
			if (report) {
				pending_flush(out);
				out->differences++;
				printf("only in A: slot %" PRIu32 " %s %s\n", ga->slot,
				       range_text(ga->base, ga->size, ra, sizeof(ra)),
				       name_text(ga->name, na, sizeof(na)));
			}
			continue;
		}
		if (ga->base != gb->base || ga->size != gb->size) {
			if (report) {
				pending_flush(out);
				out->differences++;
				printf("slot %" PRIu32 ": range %s in A, %s in B\n", ga->slot,
				       range_text(ga->base, ga->size, ra, sizeof(ra)),
				       range_text(gb->base, gb->size, rb, sizeof(rb)));
			}
			continue;
		}
		if (report) {
			pending_flush(out);
			if (ga->prot != gb->prot) {
				out->differences++;
				printf("slot %" PRIu32 ": prot %s in A, %s in B\n", ga->slot,
				       prot_text(ga->prot, ra), prot_text(gb->prot, rb));
			}
			if (ga->flags != gb->flags) {
				out->differences++;
				printf("slot %" PRIu32 ": flags %s in A, %s in B\n", ga->slot,
				       flags_text(ga->flags, ta, sizeof(ta)),
				       flags_text(gb->flags, tb, sizeof(tb)));
			}
			if (strncmp(ga->name, gb->name, REC_NAME_BYTES) != 0) {
				out->differences++;
				printf("slot %" PRIu32 ": name %s in A, %s in B\n", ga->slot,
				       name_text(ga->name, na, sizeof(na)),
				       name_text(gb->name, nb, sizeof(nb)));
			}
		}
		status = diff_region(sa, sb, ia, ib, out, w);
	}
	for (uint32_t ib = 0; report && ib < sb->r->region_count; ib++) {
		const struct rec_region *gb = &sb->r->regions[ib];
		uint32_t ia;
		char nb[REC_NAME_BYTES * 4 + 3];

		if (by_slot(sa->r, gb->slot, &ia))
			continue;
		pending_flush(out);
		out->differences++;
		printf("only in B: slot %" PRIu32 " %s %s\n", gb->slot,
		       range_text(gb->base, gb->size, rb, sizeof(rb)),
		       name_text(gb->name, nb, sizeof(nb)));
	}
	pending_flush(out);
	return status;
}

static int cmd_diff(int argc, char **argv)
{
	struct side s[2] = {{.f = {.fd = -1}}, {.f = {.fd = -1}}};
	struct pending out = {0};
	struct diff_work w = {0};
	int status = EXIT_GOOD;

	if (argc != 2)
		return usage_error("diff takes two files, A and B");
	for (int i = 0; i < 2 && status == EXIT_GOOD; i++) {
		status = input_open(&s[i].f, argv[i], "diff");
		/* A record that cannot be read is trouble, as for diff(1). */
		/* Checked whole: the pages compared are read through copy-on-write
		 * mappings, which a load does not check. */
		if (status == EXIT_GOOD)
			status = parse(&s[i].f, REC_CHECK_DATA | REC_CHECK_ZERO, &s[i].parsed,
				       EXIT_USAGE);
		if (status == EXIT_GOOD)
			status = load(&s[i].f, &s[i].parsed, &s[i].mem);
		if (status == EXIT_GOOD)
			s[i].r = &s[i].parsed.records[0];
		else if (status == EXIT_BAD)
			status = EXIT_USAGE;
	}
	if (status == EXIT_GOOD)
		status = diff_pass(&s[0], &s[1], &out, &w); /* sums the work */
	if (status == EXIT_GOOD) {
		w.a = malloc(CHUNK);
		w.b = malloc(CHUNK);
		progress_init(&w.progress, "diff");
		if (!w.a || !w.b)
			status = complain(EXIT_USAGE, argv[0], "out of memory");
		else
			status = diff_pass(&s[0], &s[1], &out, &w);
		progress_done(&w.progress);
	}
	if (status == EXIT_GOOD && out.differences)
		status = EXIT_BAD;
	if (fflush(stdout) != 0 && status != EXIT_USAGE)
		status = complain(EXIT_USAGE, "(standard output)", "%s", strerror(errno));
	free(w.a);
	free(w.b);
	for (int i = 0; i < 2; i++) {
		squib_mem_free(s[i].mem);
		rec_file_free(&s[i].parsed);
		input_close(&s[i].f);
	}
	return status;
}

/* ---- main ---- */

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*run)(int argc, char **argv);
	} commands[] = {
	    {"info", cmd_info}, {"verify", cmd_verify}, {"read", cmd_read}, {"diff", cmd_diff}};

	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return fflush(stdout) == 0 ? EXIT_GOOD : EXIT_USAGE;
		}
		if (strcmp(argv[i], "--version") == 0 || strcmp(argv[i], "-V") == 0) {
			printf("squib-mem %s\nlibsquibcore %s (built against %s)\n",
			       SQUIB_MEM_VERSION, squib_core_version(), SQUIB_CORE_VERSION_STRING);
			return fflush(stdout) == 0 ? EXIT_GOOD : EXIT_USAGE;
		}
	}
	if (argc < 2)
		return usage_error("no command given");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[1], commands[i].name) != 0)
			continue;
		/* info, verify and diff take no options: "--" may still end them. */
		if (commands[i].run != cmd_read) {
			int skip = argc > 2 && strcmp(argv[2], "--") == 0;

			for (int k = 2 + skip; k < argc && !skip; k++)
				if (argv[k][0] == '-' && argv[k][1] != '\0')
					return usage_error("%s: unknown option '%s'", argv[1],
							   argv[k]);
			return commands[i].run(argc - 2 - skip, argv + 2 + skip);
		}
		return commands[i].run(argc - 2, argv + 2);
	}
	return usage_error("unknown command '%s'", argv[1]);
}
