/* SPDX-License-Identifier: MIT */
/*
 * Internal: epoch-based reclamation for the lock-free read path.
 *
 * Readers (every access and lookup) announce the epoch they entered in a
 * record that only their own thread writes, then load the current region
 * table. A writer that has replaced a table calls epoch_synchronize(): it
 * advances the global epoch and waits until no reader that could have loaded
 * the old table is still inside. Only then is the old table freed or a
 * removed region unmapped.
 *
 * The store-load ordering a reader needs between announcing itself and
 * loading the table is paid by the writer: membarrier(2) makes every running
 * thread of the process execute a full barrier, so the reader gets away with
 * a compiler barrier and its read path writes no shared memory and issues no
 * fence. Where membarrier is missing the reader falls back to a seq_cst
 * exchange.
 */
#ifndef SQUIB_LIB_EPOCH_H
#define SQUIB_LIB_EPOCH_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "compiler.h"

struct squib_reader {
	/* 0 while the thread is outside every read section; otherwise the
	 * global epoch it saw on entering. Written by its thread only. */
	alignas(SQUIB_CACHELINE) _Atomic uint64_t epoch;
	bool registered;		    /* linked into the registry */
	bool light;			    /* membarrier pays for our fence */
	struct squib_reader *next, **pprev; /* guarded by the registry lock */
};

extern SQUIB_TLS_FAST _Thread_local struct squib_reader squib_reader_self;
extern _Atomic uint64_t squib_global_epoch;

/* Links the calling thread's record into the registry. False if it cannot
 * be (no thread-exit hook could be installed): the caller then serialises
 * with writers by their mutex instead. */
bool squib_reader_register(struct squib_reader *reader);

/* Sets up the process-wide part once; safe to call any number of times. */
void squib_epoch_init(void);

/* Returns once every read section that began before the call has ended.
 * Must not be called from inside a read section. */
void squib_epoch_synchronize(void);

/*
 * Enters a read section. Returns NULL if the thread cannot take part in the
 * protocol (see squib_reader_register). *saved receives what to hand to
 * reader_exit(); sections nest, e.g. a signal handler that reads guest
 * memory while the interrupted code was doing the same.
 */
static inline struct squib_reader *reader_enter(uint64_t *saved)
{
	struct squib_reader *reader = &squib_reader_self;

	if (SQUIB_UNLIKELY(!reader->registered) && !squib_reader_register(reader))
		return NULL;
	*saved = atomic_load_explicit(&reader->epoch, memory_order_relaxed);
	if (SQUIB_LIKELY(*saved == 0)) {
		/* Acquire pairs with the seq_cst increment in
		 * squib_epoch_synchronize(): a reader that sees the new epoch
		 * also sees the table published before it. */
		uint64_t now = atomic_load_explicit(&squib_global_epoch, memory_order_acquire);

		if (SQUIB_LIKELY(reader->light)) {
			/* Ordered before the table load by the membarrier()
			 * in squib_epoch_synchronize(). */
			atomic_store_explicit(&reader->epoch, now, memory_order_relaxed);
			atomic_signal_fence(memory_order_seq_cst);
		} else {
			(void)atomic_exchange_explicit(&reader->epoch, now, memory_order_seq_cst);
		}
	}
	return reader;
}

static inline void reader_exit(struct squib_reader *reader, uint64_t saved)
{
	/* Release: everything the section did happens before a writer that
	 * sees the 0 frees what the section used. */
	if (saved == 0)
		atomic_store_explicit(&reader->epoch, 0, memory_order_release);
}

#endif
