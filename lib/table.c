/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "host.h"
#include "table.h"

/* Enough buckets that a table of regions laid out evenly has about one
 * region per bucket: the next power of two at or above count, at least 2,
 * plus one more for the span's very last address (an empty access at the
 * end of the last region). */
static size_t bucket_count(size_t count)
{
	size_t buckets = 2;

	while (buckets < count)
		buckets *= 2;
	return buckets + 1;
}

/* Lays out a table for count regions in *spare when that block is big
 * enough, else in a new block: see struct table for the layout. */
static struct table *table_alloc(size_t count, struct table **spare, struct region **regions,
				 uint32_t **by_slot)
{
	size_t buckets = bucket_count(count), bytes, part, capacity;
	struct table *table;

	if (count > TABLE_MAX_REGIONS)
		return NULL;
	/* count + 1 regions: room for the empty table's sentinel. */
	if (__builtin_mul_overflow(buckets, sizeof(uint64_t), &bytes) ||
	    __builtin_add_overflow(bytes, sizeof(struct table), &bytes) ||
	    __builtin_mul_overflow(count + 1, sizeof(struct region) + sizeof(uint32_t), &part) ||
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
	*regions = (struct region *)(void *)(table->bucket + buckets);
	*by_slot = (uint32_t *)(void *)(*regions + count + 1);
	if (count == 0) {
		/* Only address 0 passes an empty table's span check, and the
		 * sentinel's base is above it: every lookup misses. */
		(*regions)[0] = (struct region){.base = UINT64_MAX, .size = 0};
	}
	table->count = count;
	table->buckets = buckets;
	table->regions = *regions;
	table->by_slot = *by_slot;
	table->capacity = capacity;
	atomic_init(&table->refs, 1);
	return table;
}

static void table_index(struct table *table)
{
	const struct region *regions = table->regions;
	size_t count = table->count, buckets = table->buckets, first = 0, last = 0;

	table->lo = count ? regions[0].base : 0;
	table->span = count ? regions[count - 1].base + regions[count - 1].size - table->lo : 0;
	table->shift = 0;
	/* The largest bucket index, span >> shift, must be below buckets. */
	while ((table->span >> table->shift) > buckets - 1)
		table->shift++;

	/* Bucket b covers [start, next) with start = lo + (b << shift). Its
	 * candidates run from the first region whose end is past start to the
	 * last whose base is before next: a region holding an address of the
	 * bucket is one of them, and both bounds only grow with b. first is
	 * clamped to a valid index; when it passes last the bucket lies in a
	 * gap, and region_holds() refuses the candidate recorded. */
	for (size_t b = 0; b < buckets; b++) {
		uint64_t start = UINT64_MAX, next = UINT64_MAX;
		bool next_overflows = true;

		if (b <= (UINT64_MAX >> table->shift) &&
		    !__builtin_add_overflow(table->lo, (uint64_t)b << table->shift, &start))
			next_overflows =
			    __builtin_add_overflow(start, (uint64_t)1 << table->shift, &next);
		while (first + 1 < count && regions[first].base + regions[first].size <= start)
			first++;
		while (last + 1 < count && (next_overflows || regions[last + 1].base < next))
			last++;
		table->bucket[b] = (uint64_t)((const char *)&regions[first] - (const char *)table) |
				   (first < last ? BUCKET_SEVERAL : 0);
	}
}

const struct region *table_search(const struct table *table, uint64_t addr)
{
	size_t lo = 0, hi = table->count ? table->count - 1 : 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo + 1) / 2;

		if (table->regions[mid].base <= addr)
			lo = mid;
		else
			hi = mid - 1;
	}
	return &table->regions[lo];
}

struct table *table_new_empty(void)
{
	struct region *regions;
	uint32_t *by_slot;
	struct table *table = table_alloc(0, NULL, &regions, &by_slot);

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

struct table *table_with_insert(const struct table *table, size_t insert_at,
				const struct region *region, struct table **spare)
{
	struct region *regions;
	uint32_t *by_slot;
	size_t slot_at;
	struct table *grown = table_alloc(table->count + 1, spare, &regions, &by_slot);

	if (!grown)
		return NULL;
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
	return grown;
}

struct table *table_with_remove(const struct table *table, const struct region *region,
				struct table **spare)
{
	struct region *regions;
	uint32_t *by_slot;
	size_t slot_at;
	size_t removed = (size_t)(region - table_regions(table));
	struct table *shrunk = table_alloc(table->count - 1, spare, &regions, &by_slot);

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
