/* SPDX-License-Identifier: MIT */
/*
 * The migration protocol around the library's records. Everything is
 * little-endian and fixed-width, as the records themselves are.
 *
 *   source -> destination   RECORD(round, kind)  then one squib record
 *   destination -> source   ACK(round, status)   once the record is applied
 *   ...                     (one RECORD and ACK per round)
 *   source -> destination   DONE(round)
 *   destination -> source   SUMMARY(round, n)    then n region summaries
 *
 * A frame is 16 bytes: magic "SQMG", type, round, argument (u32 each).
 * The record that follows a RECORD frame is read by squib_mem_load(),
 * which reads exactly one record and nothing past it, so the next frame
 * starts right after it.
 */
#ifndef SQUIB_MIGRATE_PROTO_H
#define SQUIB_MIGRATE_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <squib/core.h>

#define FRAME_BYTES 16u
#define FRAME_MAGIC 0x474d5153u /* the bytes "SQMG" read little-endian */

enum frame_type {
	FRAME_RECORD = 1,  /* arg: RECORD_FULL or RECORD_DIRTY; a record follows */
	FRAME_DONE = 2,	   /* arg: 0; the destination answers with a SUMMARY */
	FRAME_ACK = 3,	   /* arg: the load's squib_status_t (0: applied) */
	FRAME_SUMMARY = 4, /* arg: the number of region summaries that follow */
};

#define RECORD_FULL 0u	/* load into the empty handle */
#define RECORD_DIRTY 1u /* load with SQUIB_LOAD_APPLY */

struct frame {
	uint32_t type;
	uint32_t round;
	uint32_t arg;
};

/* One region as an end sees it after the migration: its layout as
 * squib_mem_foreach_region() tells it, and a hash of its every byte. */
struct region_summary {
	uint64_t base;
	uint64_t size;
	uint32_t slot;
	uint32_t prot;
	uint32_t flags;
	uint32_t has_fd; /* 1 when the region has a file (a memfd for SHARED) */
	uint64_t hash;	 /* 64-bit FNV-1a */
	char name[SQUIB_REGION_NAME_MAX];
};

#define SUMMARY_BYTES (40u + SQUIB_REGION_NAME_MAX)

/* Write or read all of @p len bytes, retrying short counts and EINTR.
 * Return false after printing what failed (@p what names the transfer);
 * the end of the stream is a failure too. */
bool write_all(int fd, const void *buf, size_t len, const char *what);
bool read_all(int fd, void *buf, size_t len, const char *what);

bool frame_send(int fd, const struct frame *frame);
/* Receives a frame and checks its magic and that its type is @p type. */
bool frame_recv(int fd, uint32_t type, struct frame *frame);

void summary_encode(const struct region_summary *summary, uint8_t out[SUMMARY_BYTES]);
void summary_decode(const uint8_t in[SUMMARY_BYTES], struct region_summary *summary);

#endif
