/* SPDX-License-Identifier: MIT */
/*
 * Internal: grace periods for the lock-free read path.
 *
 * Every thread that reads guest memory owns a reader record, in its own
 * thread-local storage, that only it writes: a sequence number whose bit 0
 * says "inside a read section". A reader marks itself inside, loads the
 * current region table, uses it, then moves its sequence on. A writer that
 * has published a new table calls squib_epoch_synchronize(), which waits,
 * for each reader found inside, until that reader's sequence changes: the
 * section that might hold the old table has then ended. Sections that start
 * later load the new table, so a writer waits at most one section per
 * reader however fast readers keep starting new ones. Only then is the old
 * table freed or a removed region unmapped.
 *
 * A reader needs its "inside" store ordered before its table load
 * (store-load, normally a full fence). The writer pays for it instead:
 * membarrier(2) makes every running thread of the process execute a full
 * barrier, so the reader only needs a compiler barrier, and its read path
 * writes nothing but its own record and reads no shared line but the
 * table's. Where membarrier is missing, readers use a seq_cst exchange.
 */
#ifndef SQUIB_LIB_EPOCH_H
#define SQUIB_LIB_EPOCH_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "compiler.h"

/* Bits of squib_reader.seq. */
#define READER_INSIDE 1u /* in a read section */
#define READER_SLOW 2u	 /* must take reader_enter(): unregistered, or no membarrier */
#define READER_STEP 4u	 /* one section's advance; keeps the two bits above */

struct squib_reader {
	/* Written by its own thread only, on its own cache line. Starts as
	 * READER_SLOW (the thread-local initial image), so a thread's first
	 * access takes the slow path, which registers it. */
	alignas(SQUIB_CACHELINE) _Atomic uint64_t seq;
	bool registered;		    /* linked into the registry */
	struct squib_reader *next, **pprev; /* guarded by the registry lock */
};

extern SQUIB_TLS_FAST _Thread_local struct squib_reader squib_reader_self;

/* Links the calling thread's record into the registry. False if it cannot
 * be (no thread-exit hook could be installed): the caller then serialises
 * with writers by their mutex instead. */
bool squib_reader_register(struct squib_reader *reader);

/* Sets up the process-wide part once; safe to call any number of times. */
void squib_epoch_init(void);

/* Returns once every read section that was running when it was called has
 * ended. Must not be called from inside a read section. */
void squib_epoch_synchronize(void);

/*
 * The access fast path's entry, for a registered thread whose fence
 * membarrier pays and that is in no section yet. Returns false having
 * changed nothing otherwise; the caller then takes the slow path, which
 * handles registration, nesting and the fallbacks through reader_enter().
 */
static inline bool reader_enter_fast(struct squib_reader *reader, uint64_t *seq)
{
	uint64_t now = atomic_load_explicit(&reader->seq, memory_order_relaxed);

	if (SQUIB_UNLIKELY(now & (READER_INSIDE | READER_SLOW)))
		return false;
	/* Ordered before the caller's table load by the membarrier() in
	 * squib_epoch_synchronize(); the compiler barrier keeps the compiler
	 * from sinking it. */
	/* + rather than |, the same with bit 0 clear: one lea. */
	atomic_store_explicit(&reader->seq, now + READER_INSIDE, memory_order_relaxed);
	atomic_signal_fence(memory_order_seq_cst);
	*seq = now; /* after the barrier, so the compiler still knows its bits */
	return true;
}

/* Leaves a section entered with reader_enter_fast(). */
static inline void reader_exit_fast(struct squib_reader *reader, uint64_t seq)
{
	/* Release: pairs with the writer's load in wait_for_reader(), so
	 * everything the section did happens before what the writer frees. */
	atomic_store_explicit(&reader->seq, seq + READER_STEP, memory_order_release);
}

/*
 * Enters a read section from any state. Returns NULL if the thread cannot
 * take part in the protocol (see squib_reader_register). *seq receives what
 * to hand to reader_exit(). Sections nest, e.g. a signal handler that reads
 * guest memory while the code it interrupted was doing the same: the inner
 * one leaves the record alone.
 */
static inline struct squib_reader *reader_enter(uint64_t *seq)
{
	struct squib_reader *reader = &squib_reader_self;

	if (SQUIB_UNLIKELY(!reader->registered) && !squib_reader_register(reader)) {
		*seq = 0; /* unused (the caller takes the mutex), but never garbage */
		return NULL;
	}
	*seq = atomic_load_explicit(&reader->seq, memory_order_relaxed);
	if (*seq & READER_INSIDE)
		return reader;
	if (SQUIB_LIKELY(!(*seq & READER_SLOW))) {
		atomic_store_explicit(&reader->seq, *seq | READER_INSIDE, memory_order_relaxed);
		atomic_signal_fence(memory_order_seq_cst);
	} else {
		/* No membarrier: the exchange is the reader's own full fence,
		 * paired with the writer's seq_cst store and loads. */
		(void)atomic_exchange_explicit(&reader->seq, *seq | READER_INSIDE,
					       memory_order_seq_cst);
	}
	return reader;
}

static inline void reader_exit(struct squib_reader *reader, uint64_t seq)
{
	/* Release: everything the section did happens before a writer that
	 * sees the new sequence frees what the section used. A nested
	 * section (seq already inside) leaves the outer one's mark. */
	if (!(seq & READER_INSIDE))
		atomic_store_explicit(&reader->seq, seq + READER_STEP, memory_order_release);
}

#endif
