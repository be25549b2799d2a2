/* SPDX-License-Identifier: MIT */
#include "dirty_log.h"
#include "epoch.h"
#include "host.h"

struct dirty_log *dirty_log_new(uint64_t base, uint64_t size)
{
	size_t words = dirty_words(base, size), bytes;
	struct dirty_log *log;

	/* Two arrays of words: the bitmap and the listeners' scratch. */
	if (__builtin_mul_overflow(words, 2 * sizeof(uint64_t), &bytes) ||
	    __builtin_add_overflow(bytes, sizeof(*log), &bytes))
		return NULL;
	log = squib_host_alloc(bytes);
	if (!log)
		return NULL;
	log->first_page = base >> DIRTY_PAGE_SHIFT;
	log->words = words;
	atomic_init(&log->logging, false);
	log->sync = (uint64_t *)(void *)(log->bits + words);
	for (size_t i = 0; i < words; i++) {
		atomic_init(&log->bits[i], 0);
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

void dirty_log_mark(struct dirty_log *log, uint64_t addr, uint64_t len)
{
	uint64_t first = (addr >> DIRTY_PAGE_SHIFT) - log->first_page;
	uint64_t last = ((addr + (len - 1)) >> DIRTY_PAGE_SHIFT) - log->first_page;

	/* Release: a harvest that takes the bit sees the data stored
	 * before. */
	for (uint64_t word = first / 64; word <= last / 64; word++) {
		unsigned from = word == first / 64 ? (unsigned)(first % 64) : 0;
		unsigned to = word == last / 64 ? (unsigned)(last % 64) : 63;

		atomic_fetch_or_explicit(&log->bits[word], bit_span(from, to),
					 memory_order_release);
	}
}

void dirty_log_clear(struct dirty_log *log)
{
	for (size_t i = 0; i < log->words; i++)
		atomic_store_explicit(&log->bits[i], 0, memory_order_relaxed);
}

void dirty_log_merge_sync(struct dirty_log *log)
{
	for (size_t i = 0; i < log->words; i++) {
		if (log->sync[i]) {
			atomic_fetch_or_explicit(&log->bits[i], log->sync[i], memory_order_relaxed);
			log->sync[i] = 0;
		}
	}
}

void dirty_log_harvest(struct dirty_log *log, uint64_t *out, bool clear)
{
	for (size_t i = 0; i < log->words; i++) {
		uint64_t bits = atomic_load_explicit(&log->bits[i], memory_order_acquire);

		/* A clean word needs no exchange (as KVM's own harvest): a
		 * bit set after this load is the next call's. */
		if (clear && bits)
			bits = atomic_exchange_explicit(&log->bits[i], 0, memory_order_acquire);
		out[i] = bits;
	}
}

void backing_mark_written(struct backing *backing, uint64_t addr, uint64_t len)
{
	uint64_t seq;
	struct squib_reader *reader = reader_enter(&seq);
	struct dirty_log *log = atomic_load_explicit(&backing->dirty, memory_order_acquire);

	if (log && atomic_load_explicit(&log->logging, memory_order_relaxed))
		dirty_log_mark(log, addr, len);
	if (reader)
		reader_exit(reader, seq);
}
