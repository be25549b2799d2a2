/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "host.h"
#include "table.h"

/* Index entries for count regions: a power of two at or above count, and
 * at least 32, so that a small guest layout (a few big RAM regions beside
 * small ROM and MMIO ones) still gives its small regions hints of their
 * own. */
static size_t index_entries(size_t count)
{
	size_t entries = 32;

	while (entries < count)
		entries *= 2;
	return entries;
}

/* Bytes of a hint index of entries entries, header included. */
static bool index_bytes(size_t entries, size_t *bytes)
{
	return !__builtin_mul_overflow(entries, sizeof(struct hint), bytes) &&
	       !__builtin_add_overflow(*bytes, sizeof(struct hint_index), bytes);
}

/* Where the read index starts: after the header, on a hint boundary, so
 * that no entry straddles a cache line of the cache-line aligned block. */
#define TABLE_HEADER_BYTES                                                                         \
	((sizeof(struct table) + sizeof(struct hint) - 1) & ~(sizeof(struct hint) - 1))

/* Lays out a table for count regions, write_slow of which stay out of the
 * write index and logging of those in the log index, in *spare when that
 * block is big enough, else in a new block: see struct table for the
 * layout. */
static struct table *table_alloc(size_t count, size_t write_slow, size_t logging,
				 struct table **spare, struct region **regions, uint32_t **by_slot)
{
	size_t entries = index_entries(count), one_index, bytes, part, capacity;
	size_t indexes = 1u + (write_slow ? 1u : 0u) + (logging ? 1u : 0u);
	struct hint_index *reads, *writes;
	struct table *table;
	char *tail;

	/* The log index's names: entries pointers, a multiple of 32 bytes. */
	if (count > TABLE_MAX_REGIONS || !index_bytes(entries, &one_index) ||
	    __builtin_mul_overflow(one_index, indexes, &bytes) ||
	    (logging && __builtin_add_overflow(bytes, entries * sizeof(struct region *), &bytes)) ||
	    __builtin_add_overflow(bytes, TABLE_HEADER_BYTES, &bytes) ||
	    __builtin_mul_overflow(count, sizeof(struct region) + sizeof(uint32_t), &part) ||
	    __builtin_add_overflow(bytes, part, &bytes))
		return NULL;
	if (spare && *spare && (*spare)->capacity >= bytes) {
		table = *spare;
		capacity = table->capacity;
		*spare = NULL;
	} else {
		/* Half again as much, so that growing one region at a time
		 * allocates O(log n) times. */
		if (__builtin_add_overflow(bytes, bytes / 2, &capacity))
			capacity = bytes;
		table = squib_host_alloc(capacity);
		if (!table)
			return NULL;
	}
	tail = (char *)table + TABLE_HEADER_BYTES;
	reads = (struct hint_index *)(void *)tail;
	tail += one_index;
	writes = reads;
	if (write_slow) {
		writes = (struct hint_index *)(void *)tail;
		tail += one_index;
	}
	reads->mask = writes->mask = (uint64_t)(entries - 1) << HINT_SHIFT;
	table->logs = NULL;
	table->logs_named = NULL;
	if (logging) {
		table->logs = (struct hint_index *)(void *)tail;
		table->logs->mask = reads->mask;
		tail += one_index;
		table->logs_named = (const struct region **)(void *)tail;
		tail += entries * sizeof(struct region *);
	}
	table->logging = logging;
	*regions = (struct region *)(void *)tail;
	*by_slot = (uint32_t *)(void *)(*regions + count);
	table->count = count;
	table->write_slow = write_slow;
	table->reads = reads;
	table->writes = writes;
	table->regions = *regions;
	table->by_slot = *by_slot;
	table->capacity = capacity;
	atomic_init(&table->refs, 1);
	return table;
}

static struct hint hint_of(const struct region *region)
{
	return (struct hint){.base = region->base,
			     .typed_limit = region->size >= 8 ? region->size - 7 : 0,
			     .host = region->host,
			     .size = region->size};
}

/* Bytes of [start, last] that region covers, for a region that covers
 * some (inclusive bounds: a granule may end at 2^64). */
static uint64_t overlap(const struct region *region, uint64_t start, uint64_t last)
{
	uint64_t from = region->base > start ? region->base : start;
	uint64_t to = region->base + (region->size - 1);

	return (to < last ? to : last) - from + 1;
}

/*
 * The region covering most of the granule [start, last] among those that
 * `wanted` accepts, or NULL. Regions are visited in order of base: *next is
 * the first one not wholly before the granule, and as granules only move
 * up it never moves back. (shift < 64 for every granule: at 63 the span has
 * at most 2 of them.)
 */
static const struct region *widest_in(const struct region *regions, size_t count, size_t *next,
				      uint64_t start, uint64_t last,
				      bool (*wanted)(const struct region *))
{
	const struct region *best = NULL;
	uint64_t best_bytes = 0;

	while (*next < count && regions[*next].base + regions[*next].size - 1 < start)
		++*next;
	/* Each region from *next on ends at or after start; those that also
	 * begin by last cover part of the granule. */
	for (size_t k = *next; k < count && regions[k].base <= last; k++) {
		uint64_t bytes;

		if (wanted && !wanted(&regions[k]))
			continue;
		bytes = overlap(&regions[k], start, last);
		if (bytes > best_bytes) {
			best = &regions[k];
			best_bytes = bytes;
		}
	}
	return best;
}

/*
 * Fills one index (see struct table) with the regions `wanted` accepts
 * (all for NULL). The span's granules, `granules` of them from
 * first_granule on, number at most `entries`, so each has its own entry;
 * one sweep over granules and regions together finds, for each, the region
 * that covers most of it, and every other entry is written empty. A region
 * is looked at once per granule it touches, so the work is
 * O(entries + count). (Each entry is written once, with no memset first:
 * the index is rebuilt on every change.)
 */
static void index_fill(struct hint_index *index, const struct table *table, unsigned shift,
		       bool (*wanted)(const struct region *), const struct region **named)
{
	const struct region *regions = table->regions;
	size_t count = table->count, next = 0;
	uint64_t entries = (index->mask >> HINT_SHIFT) + 1;
	uint64_t first_granule = count ? regions[0].base >> shift : 0;
	uint64_t granules = 0, granule_mask = ((uint64_t)1 << shift) - 1;

	if (count > 0)
		granules = ((regions[count - 1].base + regions[count - 1].size - 1) >> shift) -
			   first_granule + 1;
	index->shift = shift - HINT_SHIFT;
	for (uint64_t i = 0; i < entries; i++) {
		uint64_t granule = first_granule + i, start = granule << shift;
		const struct region *best = NULL;

		if (i < granules)
			best =
			    widest_in(regions, count, &next, start, start + granule_mask, wanted);
		index->entry[granule & (entries - 1)] = best ? hint_of(best) : (struct hint){0};
		if (named)
			named[granule & (entries - 1)] = best;
	}
}

/* The granule shift of a table: the smallest that gives each granule of
 * the regions' span an entry of its own. */
static unsigned granule_shift(const struct table *table, uint64_t entries)
{
	const struct region *regions = table->regions;
	size_t count = table->count;
	unsigned shift = HINT_SHIFT;

	if (count > 0) {
		uint64_t lo = regions[0].base;
		uint64_t last_byte = regions[count - 1].base + regions[count - 1].size - 1;

		while ((last_byte >> shift) - (lo >> shift) > entries - 1)
			shift++;
	}
	return shift;
}

static void table_index(struct table *table)
{
	unsigned shift = granule_shift(table, (table->reads->mask >> HINT_SHIFT) + 1);

	index_fill(table->reads, table, shift, NULL, NULL);
	if (table->writes != table->reads)
		index_fill(table->writes, table, shift, region_takes_plain_writes, NULL);
	if (table->logs)
		index_fill(table->logs, table, shift, region_logs_writes, table->logs_named);
}

const struct region *table_search(const struct table *table, uint64_t addr)
{
	size_t lo = 0, hi = table->count;

	/* The first region whose base is above addr is regions[lo]. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (table->regions[mid].base <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? &table->regions[lo - 1] : NULL;
}

struct table *table_new_empty(void)
{
	struct region *regions;
	uint32_t *by_slot;
	struct table *table = table_alloc(0, 0, 0, NULL, &regions, &by_slot);

	if (table)
		table_index(table);
	return table;
}

void table_free(struct table *table)
{
	squib_host_free(table);
}

void table_recycle(struct table **spare, struct table *unused)
{
	if (*spare && (*spare)->capacity >= unused->capacity) {
		table_free(unused);
		return;
	}
	table_free(*spare);
	*spare = unused;
}

void table_put(struct table *table)
{
	/* acq_rel: whoever frees the table sees every use of it finished. */
	if (atomic_fetch_sub_explicit(&table->refs, 1, memory_order_acq_rel) == 1)
		table_free(table);
}

const struct region *table_find_overlap(const struct table *table, uint64_t base, uint64_t size,
					size_t *insert_at)
{
	size_t lo = 0, hi = table->count;

	/* First region with a base at or above the new one. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (table_regions(table)[mid].base < base)
			lo = mid + 1;
		else
			hi = mid;
	}
	*insert_at = lo;
	if (lo > 0) {
		const struct region *before = &table_regions(table)[lo - 1];

		if (before->base + before->size > base)
			return before;
	}
	if (lo < table->count && table_regions(table)[lo].base - base < size)
		return &table_regions(table)[lo];
	return NULL;
}

/* Position in by_slot of the first region whose slot is not below slot. */
static size_t slot_position(const struct table *table, uint32_t slot)
{
	size_t lo = 0, hi = table->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (table_regions(table)[table->by_slot[mid]].slot < slot)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const struct region *table_find_slot(const struct table *table, uint32_t slot)
{
	size_t at = slot_position(table, slot);

	if (at < table->count && table_regions(table)[table->by_slot[at]].slot == slot)
		return &table_regions(table)[table->by_slot[at]];
	return NULL;
}

/* Copies slot-order indices, moving up by one those at or past a region
 * inserted at index inserted (or down by one those past a removed one). A
 * plain loop the compiler vectorises. */
static void copy_indices_shifted_up(uint32_t *out, const uint32_t *in, size_t n, uint32_t inserted)
{
	for (size_t i = 0; i < n; i++)
		out[i] = in[i] + (in[i] >= inserted ? 1u : 0u);
}

static void copy_indices_shifted_down(uint32_t *out, const uint32_t *in, size_t n, uint32_t removed)
{
	for (size_t i = 0; i < n; i++)
		out[i] = in[i] - (in[i] > removed ? 1u : 0u);
}

struct table *table_reserve_insert(const struct table *table, uint32_t flags, struct table **spare)
{
	struct region *regions;
	uint32_t *by_slot;
	const struct region probe = {.flags = flags};

	return table_alloc(table->count + 1, table->write_slow + !region_takes_plain_writes(&probe),
			   table->logging + region_logs_writes(&probe), spare, &regions, &by_slot);
}

void table_fill_insert(struct table *grown, const struct table *table, size_t insert_at,
		       const struct region *region)
{
	struct region *regions = grown->regions;
	uint32_t *by_slot = grown->by_slot;
	size_t slot_at;

	memcpy(regions, table_regions(table), insert_at * sizeof(*regions));
	regions[insert_at] = *region;
	memcpy(regions + insert_at + 1, table_regions(table) + insert_at,
	       (table->count - insert_at) * sizeof(*regions));

	slot_at = slot_position(table, region->slot);
	copy_indices_shifted_up(by_slot, table->by_slot, slot_at, (uint32_t)insert_at);
	by_slot[slot_at] = (uint32_t)insert_at;
	copy_indices_shifted_up(by_slot + slot_at + 1, table->by_slot + slot_at,
				table->count - slot_at, (uint32_t)insert_at);

	table_index(grown);
}

struct table *table_with_remove(const struct table *table, const struct region *region,
				struct table **spare)
{
	struct region *regions;
	uint32_t *by_slot;
	size_t slot_at;
	size_t removed = (size_t)(region - table_regions(table));
	struct table *shrunk =
	    table_alloc(table->count - 1, table->write_slow - !region_takes_plain_writes(region),
			table->logging - region_logs_writes(region), spare, &regions, &by_slot);

	if (!shrunk)
		return NULL;
	memcpy(regions, table_regions(table), removed * sizeof(*regions));
	memcpy(regions + removed, table_regions(table) + removed + 1,
	       (table->count - removed - 1) * sizeof(*regions));
	slot_at = slot_position(table, region->slot);
	copy_indices_shifted_down(by_slot, table->by_slot, slot_at, (uint32_t)removed);
	copy_indices_shifted_down(by_slot + slot_at, table->by_slot + slot_at + 1,
				  table->count - slot_at - 1, (uint32_t)removed);
	table_index(shrunk);
	return shrunk;
}

struct table *table_with_update(const struct table *table, const struct region *old,
				const struct region *updated, struct table **spare)
{
	struct region *regions;
	uint32_t *by_slot;
	size_t at = (size_t)(old - table_regions(table));
	size_t write_slow = table->write_slow - !region_takes_plain_writes(old) +
			    !region_takes_plain_writes(updated);
	size_t logging = table->logging - region_logs_writes(old) + region_logs_writes(updated);
	struct table *next =
	    table_alloc(table->count, write_slow, logging, spare, &regions, &by_slot);

	if (!next)
		return NULL;
	memcpy(regions, table_regions(table), table->count * sizeof(*regions));
	regions[at] = *updated;
	memcpy(by_slot, table->by_slot, table->count * sizeof(*by_slot));
	table_index(next);
	return next;
}
