/* SPDX-License-Identifier: MIT */
/**
 * @file squib/snapshot.h
 * @brief Snapshots and migration streams: a guest's memory saved to a
 *        file or a socket and loaded back.
 *
 * squib_mem_save() writes one record of the documented, versioned format
 * of docs/SNAPSHOT.md: a header, the region table (slot, range, prot,
 * flags, name) and page data, every part checksummed (CRC-32C).
 * squib_mem_load() reads exactly one record and nothing past it, so records
 * can follow each other on one socket (the rounds of a live migration).
 *
 * Both take the handle's mutex for the whole call, as a change of the
 * layout does: the layout and the dirty log cannot change under them, and
 * they are SQUIB_E_BUSY from inside a listener callback. Accesses by other
 * threads go on meanwhile (a pre-copy migration saves a running guest).
 *
 * Since 0.3 (every declaration of this header).
 */
#ifndef SQUIB_SNAPSHOT_H
#define SQUIB_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include <squib/error.h>
#include <squib/export.h>
#include <squib/mem.h>

SQUIB_BEGIN_DECLS

/** The fd cannot seek (a pipe, a socket): pages go as self-describing runs
 *  in order (a stream record). Without it the fd must be a regular file,
 *  which the record fills from offset 0 (a file record). */
#define SQUIB_SAVE_STREAM 0x01u
/** Only the pages dirty in regions that log, all pages of the others, none
 *  of read-only regions (which nothing can have written): an incremental
 *  record. */
#define SQUIB_SAVE_DIRTY_ONLY 0x02u
/** Clear the dirty bits of the pages saved, atomically: a write racing with
 *  the save is in this record or the next. */
#define SQUIB_SAVE_CLEAR_DIRTY 0x04u
/** Let the save start one thread of its own, for as long as it lasts: that
 *  thread copies and checksums the pages while the calling thread writes
 *  the runs before them, so that a save takes about as long as writing its
 *  bytes. The record is the same byte for byte. The thread blocks every
 *  signal, makes no system call beyond starting, naming and ending itself
 *  and futex waits, and has ended when the save returns; where one cannot
 *  be started (a thread limit), the calling thread does all the work.
 *  Leave it clear where a seccomp filter forbids starting threads. A 0.3
 *  library refuses the flag (SQUIB_E_INVALID_ARGUMENT). Since 0.4. */
#define SQUIB_SAVE_HELPER_THREAD 0x08u
/** (A file record.) Map the file's page data copy-on-write instead of
 *  reading it: the restore costs the same for 16 MiB and 16 GiB, and pages
 *  are read on first touch. Regions whose base or size is not a multiple
 *  of the host page are copied. */
#define SQUIB_LOAD_MAP_PRIVATE 0x100u
/** Apply the record's pages onto the handle's existing layout, which must
 *  match the record's table: incremental snapshots and the destination of
 *  a migration. */
#define SQUIB_LOAD_APPLY 0x200u

/**
 * Options of a save or a load. A size-first struct, as squib_region_opts_t:
 * start from SQUIB_SNAPSHOT_OPTS_INIT. A NULL opts means all flags clear.
 */
typedef struct squib_snapshot_opts {
	size_t sz;	/**< sizeof(squib_snapshot_opts_t) */
	uint32_t flags; /**< SQUIB_SAVE_* for a save, SQUIB_LOAD_* for a load */
} squib_snapshot_opts_t;

/** Initialiser for a squib_snapshot_opts_t, in C and in C++. */
/* clang-format off */
#ifdef __cplusplus
#define SQUIB_SNAPSHOT_OPTS_INIT {sizeof(squib_snapshot_opts_t), 0}
#else
#define SQUIB_SNAPSHOT_OPTS_INIT {.sz = sizeof(squib_snapshot_opts_t)}
#endif
/* clang-format on */

/**
 * Writes one record of the handle's memory to @p fd.
 *
 * A file record replaces the file's contents (it is truncated to the
 * record); pages that are all zeros are left as holes. A stream record is
 * written at the fd's position. A refused save writes nothing.
 *
 * @return SQUIB_OK; SQUIB_E_INVALID_ARGUMENT for a NULL @p mem, a negative
 *         @p fd, an opts->sz smaller than this layout, unknown or load
 *         flags, or a file record to an fd that cannot seek;
 *         SQUIB_E_UNSUPPORTED for a larger opts->sz with a non-zero byte
 *         past this layout; SQUIB_E_BUSY from inside a listener callback;
 *         SQUIB_E_IO when writing fails (the fd then holds part of a
 *         record, which a load refuses); SQUIB_E_NO_MEMORY; or the status
 *         of a listener's log_sync (SQUIB_SAVE_DIRTY_ONLY,
 *         SQUIB_SAVE_CLEAR_DIRTY).
 * Thread-safety: as squib_mem_remove_region(); accesses go on.
 */
SQUIB_NODISCARD SQUIB_API squib_status_t squib_mem_save(squib_mem_t *mem, int fd,
							const squib_snapshot_opts_t *opts);

/**
 * Reads one record from @p fd (a file record from offset 0, a stream
 * record from the fd's position, whichever the record's header says).
 *
 * Without SQUIB_LOAD_APPLY the handle must be empty; the load creates the
 * regions the record describes (library-owned memory with the recorded
 * flags; a SHARED region gets a new memfd) and fills them. With it, the
 * handle's regions must match the record's table (base, size, slot) and
 * the record's pages are written onto them; pages the record does not
 * carry are left alone, carried zero pages are applied as zeros, and the
 * pages written count as dirty. A read-only region takes the record's
 * pages only if they are what it holds (SQUIB_E_READ_ONLY otherwise).
 *
 * @return SQUIB_OK; SQUIB_E_INVALID_ARGUMENT for a NULL @p mem, a negative
 *         @p fd, a bad opts->sz or unknown or save flags;
 *         SQUIB_E_UNSUPPORTED for SQUIB_LOAD_MAP_PRIVATE with APPLY, with a
 *         stream record, or with a SHARED or HUGETLB region;
 *         SQUIB_E_BUSY for a handle that is not empty (without APPLY) or
 *         from inside a listener callback; SQUIB_E_CORRUPT for anything
 *         wrong in the record, with its byte offset and what was wrong
 *         (also a layout that does not match for APPLY); SQUIB_E_IO for a
 *         failed read or a stream that ends early; SQUIB_E_NO_MEMORY; or an
 *         add's or a listener's status. A failed load without APPLY leaves
 *         the handle empty; a failed APPLY leaves the layout as it was
 *         (pages already applied stay applied).
 * Thread-safety: as squib_mem_save().
 */
SQUIB_NODISCARD SQUIB_API squib_status_t squib_mem_load(squib_mem_t *mem, int fd,
							const squib_snapshot_opts_t *opts);

SQUIB_END_DECLS

#endif /* SQUIB_SNAPSHOT_H */
