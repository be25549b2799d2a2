/* SPDX-License-Identifier: MIT */
/* The dirty bitmaps of a region (lib/dirty_log.h). */
#include <string.h>

#include "dirty_log.h"
#include "epoch.h"
#include "host.h"

/* What clears a bitmap taken by a harvest, a block at a time. */
#define ZERO_WORDS 512u
static const uint64_t zero_words[ZERO_WORDS];

struct dirty_log *dirty_log_new(uint64_t base, uint64_t size)
{
	size_t words = dirty_words(base, size), bytes;
	struct dirty_log *log;

	/* Three arrays of words: the two bitmaps and the listeners' scratch. */
	if (__builtin_mul_overflow(words, 3 * sizeof(uint64_t), &bytes) ||
	    __builtin_add_overflow(bytes, sizeof(*log), &bytes))
		return NULL;
	log = squib_host_alloc(bytes);
	if (!log)
		return NULL;
	log->first_page = base >> DIRTY_PAGE_SHIFT;
	log->words = words;
	atomic_init(&log->logging, false);
	atomic_init(&log->active, 0u);
	log->bits[0] = log->storage;
	log->bits[1] = log->storage + words;
	log->sync = (uint64_t *)(void *)(log->storage + 2 * words);
	for (size_t i = 0; i < words; i++) {
		atomic_init(&log->bits[0][i], 0);
		atomic_init(&log->bits[1][i], 0);
		log->sync[i] = 0;
	}
	return log;
}

void dirty_log_free(struct dirty_log *log)
{
	squib_host_free(log);
}

/* Bits [from, to] of one word, from <= to < 64. */
static uint64_t bit_span(unsigned from, unsigned to)
{
	return (~(uint64_t)0 >> (63 - to)) & (~(uint64_t)0 << from);
}

static void mark_bits(_Atomic uint64_t *bits, const struct dirty_log *log, uint64_t addr,
		      uint64_t len)
{
	uint64_t first = (addr >> DIRTY_PAGE_SHIFT) - log->first_page;
	uint64_t last = ((addr + (len - 1)) >> DIRTY_PAGE_SHIFT) - log->first_page;

	for (uint64_t word = first / 64; word <= last / 64; word++) {
		unsigned from = word == first / 64 ? (unsigned)(first % 64) : 0;
		unsigned to = word == last / 64 ? (unsigned)(last % 64) : 63;
		uint64_t mask = bit_span(from, to);

		/* Relaxed: the harvest's grace period orders the data. */
		if ((atomic_load_explicit(&bits[word], memory_order_relaxed) & mask) != mask)
			atomic_fetch_or_explicit(&bits[word], mask, memory_order_relaxed);
	}
}

void dirty_log_mark_span(struct dirty_log *log, uint64_t addr, uint64_t len)
{
	mark_bits(dirty_log_active(log), log, addr, len);
}

void dirty_log_clear(struct dirty_log *log)
{
	for (size_t i = 0; i < log->words; i++) {
		atomic_store_explicit(&log->bits[0][i], 0, memory_order_relaxed);
		atomic_store_explicit(&log->bits[1][i], 0, memory_order_relaxed);
	}
}

void dirty_log_merge_sync(struct dirty_log *log)
{
	_Atomic uint64_t *bits = dirty_log_active(log);

	for (size_t i = 0; i < log->words; i++) {
		if (log->sync[i]) {
			atomic_fetch_or_explicit(&bits[i], log->sync[i], memory_order_relaxed);
			log->sync[i] = 0;
		}
	}
}

void dirty_log_harvest(struct dirty_log *log, uint64_t *out, bool clear)
{
	unsigned was = atomic_load_explicit(&log->active, memory_order_relaxed) & 1u;
	_Atomic uint64_t *taken = log->bits[was], *other = log->bits[was ^ 1u];

	if (!clear) {
		/* The other bitmap only holds marks made by a thread outside
		 * the epoch protocol (see backing_mark_written()): they count. */
		for (size_t i = 0; i < log->words; i++)
			out[i] = atomic_load_explicit(&taken[i], memory_order_relaxed) |
				 atomic_load_explicit(&other[i], memory_order_relaxed);
		return;
	}
	atomic_store_explicit(&log->active, was ^ 1u, memory_order_seq_cst);
	/* Every write that marked the old bitmap has stored its data, and
	 * nothing marks it any more (a write that found it active was in a
	 * read section, now over): plain loads and stores take it, and it is
	 * all zeros again for the next switch. */
	squib_epoch_synchronize();
	/* No other thread touches it now: copied and cleared as plain
	 * memory, with the block moves the compiler has. */
	memcpy(out, (const void *)taken, log->words * sizeof(uint64_t));
	for (size_t i = 0; i < log->words; i += ZERO_WORDS) {
		size_t n = log->words - i < ZERO_WORDS ? log->words - i : ZERO_WORDS;

		memcpy((void *)(taken + i), zero_words, n * sizeof(uint64_t));
	}
}

void dirty_log_restore(struct dirty_log *log, const uint64_t *bits)
{
	_Atomic uint64_t *active = dirty_log_active(log);

	for (size_t i = 0; i < log->words; i++)
		if (bits[i])
			atomic_fetch_or_explicit(&active[i], bits[i], memory_order_relaxed);
}

void backing_mark_written(struct backing *backing, uint64_t addr, uint64_t len)
{
	uint64_t seq;
	struct squib_reader *reader = reader_enter(&seq);
	struct dirty_log *log = atomic_load_explicit(&backing->dirty, memory_order_acquire);

	if (!log || !atomic_load_explicit(&log->logging, memory_order_relaxed)) {
		/* not logging */
	} else if (reader) {
		dirty_log_mark(log, addr, len);
	} else {
		/* A thread that cannot join the epoch protocol, with no handle
		 * whose mutex it could take: a harvest may be taking either
		 * bitmap right now, so the mark goes into both, and whichever
		 * harvest comes next reports it. */
		mark_bits(log->bits[0], log, addr, len);
		mark_bits(log->bits[1], log, addr, len);
	}
	if (reader)
		reader_exit(reader, seq);
}
