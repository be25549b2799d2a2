/* SPDX-License-Identifier: MIT */
/*
 * A reader of the squib snapshot format written from docs/SNAPSHOT.md
 * alone: it shares no code with lib/ (not even the CRC-32C), so that
 * squib-mem verify is a second opinion on what the library writes and
 * accepts, and so that fuzz/fuzz_snapshot.c can hold the library's load
 * against it.
 *
 * An input is a byte string read through a callback (a file, or memory).
 * It holds one file record from byte 0, or stream records one after the
 * other (a captured stream: the rounds of a migration). Offsets in errors
 * are offsets in the input.
 */
#ifndef SQUIB_MEM_RECORD_H
#define SQUIB_MEM_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define REC_HEADER_BYTES 64u
#define REC_REGION_BYTES 96u
#define REC_RUN_BYTES 32u
#define REC_PAGE 4096u
#define REC_NAME_BYTES 32u
#define REC_MAX_REGIONS 1048576u
#define REC_RUN_MAX_PAGES 256u /* in a DATA run; a ZERO run has no cap */

#define REC_KIND_FILE 1u
#define REC_KIND_STREAM 2u
#define REC_INCREMENTAL 0x1u

#define REC_DATA 1u
#define REC_ZERO 2u
#define REC_END 3u

/* What a parse checks beyond the structures (header, table, runs and
 * their checksums, which it always checks). */
#define REC_CHECK_DATA 0x1u /* every DATA run's data checksum */
#define REC_CHECK_ZERO 0x2u /* every byte of a file record no structure covers is zero */

/* The CRC-32C of docs/SNAPSHOT.md, continued from crc (0 to start). */
uint32_t rec_crc32c(uint32_t crc, const void *data, size_t len);

struct rec_input {
	/* Reads up to len bytes at offset: the count read (less only at the
	 * end of the input), or -1 with errno set. */
	ssize_t (*read)(void *ctx, void *buf, size_t len, uint64_t offset);
	/* Optional: the first offset in [offset, end) that may hold a byte
	 * that is not zero (SEEK_DATA); NULL reads everything. */
	uint64_t (*skip_zeros)(void *ctx, uint64_t offset, uint64_t end);
	/* Optional: called now and then during the checks of page data with
	 * the input bytes done so far and their total. */
	void (*progress)(void *ctx, uint64_t done, uint64_t total);
	void *ctx;
	uint64_t size; /* bytes of the input */
};

enum rec_problem {
	REC_OK = 0,
	REC_STRUCTURE, /* a rule of the format broken by a header, table or run */
	REC_TRUNCATED, /* the input ends inside the record */
	REC_BAD_DATA,  /* a DATA run's data checksum (REC_CHECK_DATA) */
	REC_NOT_ZERO,  /* a byte no structure covers is not zero (REC_CHECK_ZERO) */
	REC_IO,	       /* the input could not be read */
	REC_NO_MEMORY
};

/* Where a parse stopped: a reader that knows no more than the header and
 * the region table has seen them whole from REC_IN_RUNS on. */
enum rec_phase { REC_IN_HEADER, REC_IN_TABLE, REC_IN_RUNS, REC_IN_DATA };

struct rec_error {
	enum rec_problem problem;
	enum rec_phase phase;
	uint64_t offset; /* in the input */
	char what[512];
};

struct rec_region {
	uint64_t base, size;
	uint64_t data_offset; /* file records: where page 0 of the region begins */
	uint64_t pages;	      /* docs/SNAPSHOT.md numbering */
	uint32_t slot, prot, flags;
	char name[REC_NAME_BYTES];
	/* What the record carries of it: */
	uint64_t stored; /* bytes of its DATA runs */
	uint64_t data_runs, zero_runs;
	uint64_t carried_pages;
};

struct rec_run {
	uint32_t type, region, data_crc;
	uint64_t first_page, page_count;
	uint64_t at;	  /* input offset of the run */
	uint64_t data_at; /* input offset of its bytes (DATA runs) */
	uint64_t offset;  /* its bytes: offset in the region ... */
	uint64_t len;	  /* ... and length (pages clipped to the region) */
};

struct rec_record {
	uint64_t start, end; /* input offsets: [start, end) */
	uint32_t kind, flags, region_count;
	uint64_t record_bytes, run_table_offset, run_count; /* file records */
	struct rec_region *regions;			    /* [region_count] */
	struct rec_run *runs;				    /* in order, END not kept */
	uint64_t nruns;
	uint64_t data_runs, zero_runs, stored;
};

struct rec_file {
	struct rec_record *records;
	size_t count;
};

/* Parses (and checks) the record at input offset start. On failure *err
 * says what and where, and *out holds nothing to free. */
bool rec_parse_record(const struct rec_input *in, uint64_t start, unsigned checks,
		      struct rec_record *out, struct rec_error *err);
void rec_record_free(struct rec_record *record);

/* The whole input: one file record, or one or more stream records that
 * end exactly at the end of the input. */
bool rec_parse_input(const struct rec_input *in, unsigned checks, struct rec_file *out,
		     struct rec_error *err);
void rec_file_free(struct rec_file *file);

/* The bytes of pages [first, first + count) of a region, clipped to it:
 * offset in the region and length. */
void rec_span(const struct rec_region *region, uint64_t first, uint64_t count, uint64_t *offset,
	      uint64_t *len);

/* The name of SQUIB_REGION_* flag bit `bit` as the record keeps it, or
 * NULL. */
const char *rec_flag_name(uint32_t bit);

/*
 * What a sequence of records carries of one region, page by page: sorted,
 * disjoint segments, each either DATA or ZERO (as the last record that
 * carries the page says). Built by rec_carried_add() of each record's runs
 * in order: a later record overrides an earlier one.
 */
struct rec_segment {
	uint64_t first, count; /* pages */
	uint32_t type;	       /* REC_DATA or REC_ZERO */
};

struct rec_carried {
	struct rec_segment *seg;
	size_t count;
};

/* Paints the runs of region `region` of record onto c. */
bool rec_carried_add(struct rec_carried *c, const struct rec_record *record, uint32_t region);
void rec_carried_free(struct rec_carried *c);

#endif /* SQUIB_MEM_RECORD_H */
