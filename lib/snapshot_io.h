/* SPDX-License-Identifier: MIT */
/*
 * Internal: what squib_mem_save() and squib_mem_load() share: their
 * options, and moving bytes to and from the fd with the record offset that
 * error messages name. Not installed.
 */
#ifndef SQUIB_LIB_SNAPSHOT_IO_H
#define SQUIB_LIB_SNAPSHOT_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <squib/error.h>
#include <squib/snapshot.h>

/* The flags of opts (NULL: none) after the size-first rules; SQUIB_E_*
 * with the message for a bad struct or a flag outside allowed. */
squib_status_t snapshot_flags(const squib_snapshot_opts_t *opts, uint32_t allowed,
			      const char *caller, uint32_t *flags);

/* One side of a record: a stream moves at the fd's position (`at` counts
 * the record's bytes so far), a file at record offsets from 0. */
struct record_fd {
	int fd;
	bool stream;
	uint64_t at;
	const char *caller;
};

/* All of len bytes, or SQUIB_E_IO with the record offset reached; a file
 * record at offset, a stream at its position (offset must equal at). */
squib_status_t record_write(struct record_fd *record, const void *buf, size_t len, uint64_t offset);
squib_status_t record_read(struct record_fd *record, void *buf, size_t len, uint64_t offset);

/* The same for two buffers one after the other, in one system call where
 * the fd takes them: a stream run's header and its bytes, or a run's bytes
 * and the header of the run after it. */
squib_status_t record_write2(struct record_fd *record, const void *a, size_t a_len, const void *b,
			     size_t b_len, uint64_t offset);
squib_status_t record_read2(struct record_fd *record, void *a, size_t a_len, void *b, size_t b_len,
			    uint64_t offset);

#endif
