/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "host.h"
#include "table.h"

/* Enough buckets that a table of regions laid out evenly has about one
 * region per bucket: the next power of two at or above count, at least 2 so
 * that a shift below 64 always exists. */
static size_t bucket_count(size_t count)
{
	size_t buckets = 2;

	while (buckets < count)
		buckets *= 2;
	return buckets;
}

/* One allocation holds the header and its three arrays, so a table is
 * freed with one call and a failed build has one thing to undo. */
static struct table *table_alloc(size_t count, struct table **spare, struct region **regions,
				 uint32_t **by_slot, uint32_t **bucket_first, size_t *buckets)
{
	size_t bytes = sizeof(struct table), part, capacity;
	struct table *table;

	if (count > TABLE_MAX_REGIONS)
		return NULL;
	*buckets = bucket_count(count);
	/* count + 1 regions: room for the empty table's sentinel. */
	if (__builtin_mul_overflow(count + 1, sizeof(struct region) + sizeof(uint32_t), &part) ||
	    __builtin_add_overflow(bytes, part, &bytes) ||
	    __builtin_mul_overflow(*buckets + 1, sizeof(uint32_t), &part) ||
	    __builtin_add_overflow(bytes, part, &bytes))
		return NULL;
	if (spare && *spare && (*spare)->capacity >= bytes) {
		table = *spare;
		*spare = NULL;
		capacity = table->capacity;
	} else {
		/* Half again as much, so that growing one region at a time
		 * allocates O(log n) times. */
		if (__builtin_add_overflow(bytes, bytes / 2, &capacity))
			capacity = bytes;
		table = squib_host_alloc(capacity);
		if (!table)
			return NULL;
	}
	*regions = (struct region *)(table + 1);
	*by_slot = (uint32_t *)(*regions + (count ? count : 1));
	*bucket_first = *by_slot + count;
	table->count = count;
	table->capacity = capacity;
	table->regions = *regions;
	table->by_slot = *by_slot;
	table->bucket_first = *bucket_first;
	atomic_init(&table->refs, 1);
	return table;
}

static void table_index(struct table *table, uint32_t *bucket_first, size_t buckets)
{
	const struct region *regions = table->regions;
	size_t count = table->count, bucket = 0;

	table->lo = count ? regions[0].base : 0;
	table->span = count ? regions[count - 1].base + regions[count - 1].size - table->lo : 0;
	table->shift = 0;
	while ((table->span >> table->shift) >= buckets)
		table->shift++;

	/* bucket_first[b]: the first region whose [base, end] reaches the
	 * bucket's first address, lo + (b << shift). Region i reaches every
	 * bucket up to (end_i - lo) >> shift, which cannot overflow since
	 * end_i - lo <= span. The regions a lookup in bucket b must consider
	 * all sit between bucket_first[b] and bucket_first[b + 1]: ends ascend
	 * with bases because regions do not overlap. */
	for (size_t i = 0; i < count; i++) {
		uint64_t end = regions[i].base + regions[i].size;
		size_t last = (size_t)((end - table->lo) >> table->shift);

		while (bucket <= last)
			bucket_first[bucket++] = (uint32_t)i;
	}
	/* Buckets past the last region's end are never looked up, but the
	 * last reached one reads its successor as the end of its search
	 * range: clamp it to a valid index so that the lookup needs no check. */
	while (bucket <= buckets)
		bucket_first[bucket++] = (uint32_t)(count ? count - 1 : 0);
}

struct table *table_new_empty(void)
{
	struct region *regions;
	uint32_t *by_slot, *bucket_first;
	size_t buckets;
	struct table *table = table_alloc(0, NULL, &regions, &by_slot, &bucket_first, &buckets);

	if (table) {
		/* Only address 0 passes the empty table's span check, and the
		 * sentinel's base is above it: every lookup misses. */
		regions[0] = (struct region){.base = UINT64_MAX, .size = 0};
		table_index(table, bucket_first, buckets);
	}
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

		if (table->regions[mid].base < base)
			lo = mid + 1;
		else
			hi = mid;
	}
	*insert_at = lo;
	if (lo > 0) {
		const struct region *before = &table->regions[lo - 1];

		if (before->base + before->size > base)
			return before;
	}
	if (lo < table->count && table->regions[lo].base - base < size)
		return &table->regions[lo];
	return NULL;
}

/* Position in by_slot of the first region whose slot is not below slot. */
static size_t slot_position(const struct table *table, uint32_t slot)
{
	size_t lo = 0, hi = table->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (table->regions[table->by_slot[mid]].slot < slot)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const struct region *table_find_slot(const struct table *table, uint32_t slot)
{
	size_t at = slot_position(table, slot);

	if (at < table->count && table->regions[table->by_slot[at]].slot == slot)
		return &table->regions[table->by_slot[at]];
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
	uint32_t *by_slot, *bucket_first;
	size_t buckets, slot_at;
	struct table *grown =
	    table_alloc(table->count + 1, spare, &regions, &by_slot, &bucket_first, &buckets);

	if (!grown)
		return NULL;
	memcpy(regions, table->regions, insert_at * sizeof(*regions));
	regions[insert_at] = *region;
	memcpy(regions + insert_at + 1, table->regions + insert_at,
	       (table->count - insert_at) * sizeof(*regions));

	slot_at = slot_position(table, region->slot);
	copy_indices_shifted_up(by_slot, table->by_slot, slot_at, (uint32_t)insert_at);
	by_slot[slot_at] = (uint32_t)insert_at;
	copy_indices_shifted_up(by_slot + slot_at + 1, table->by_slot + slot_at,
				table->count - slot_at, (uint32_t)insert_at);

	table_index(grown, bucket_first, buckets);
	return grown;
}

struct table *table_with_remove(const struct table *table, const struct region *region,
				struct table **spare)
{
	struct region *regions;
	uint32_t *by_slot, *bucket_first;
	size_t buckets, slot_at;
	size_t removed = (size_t)(region - table->regions);
	struct table *shrunk =
	    table_alloc(table->count - 1, spare, &regions, &by_slot, &bucket_first, &buckets);

	if (!shrunk)
		return NULL;
	memcpy(regions, table->regions, removed * sizeof(*regions));
	memcpy(regions + removed, table->regions + removed + 1,
	       (table->count - removed - 1) * sizeof(*regions));
	slot_at = slot_position(table, region->slot);
	copy_indices_shifted_down(by_slot, table->by_slot, slot_at, (uint32_t)removed);
	copy_indices_shifted_down(by_slot + slot_at, table->by_slot + slot_at + 1,
				  table->count - slot_at - 1, (uint32_t)removed);
	table_index(shrunk, bucket_first, buckets);
	return shrunk;
}
