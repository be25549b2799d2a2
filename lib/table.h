/* SPDX-License-Identifier: MIT */
/*
 * Internal: the region table, an immutable snapshot of the regions of one
 * handle, sorted by base address.
 *
 * A table is never modified once published; adding or removing a region
 * builds a new one. Lookups go through a bucket index so that they cost
 * about the same with 1 or 32768 regions: the span [lo, hi] of the table is
 * cut into a power-of-two number of equal buckets, and each bucket records
 * the first region that may contain one of its addresses. A lookup computes
 * its bucket with a subtraction and a shift, then binary-searches the few
 * regions between that bucket's first and the next bucket's first. For
 * guest layouts whose regions cluster (most of them), the search range is
 * one or two regions; in the worst case it is the whole table, O(log n).
 */
#ifndef SQUIB_LIB_TABLE_H
#define SQUIB_LIB_TABLE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <squib/prot.h>

#include "compiler.h"

/* A registered region. Hot fields first: a lookup reads base, size and host
 * from one cache line. */
struct region {
	uint64_t base;
	uint64_t size; /* > 0; base + size <= UINT64_MAX */
	uint8_t *host; /* host address of base */
	uint32_t slot;
	squib_prot_t prot;
};

/* The regions a lookup in one bucket must consider: the first whose end is
 * past the bucket's first address, and the last whose base is before the
 * bucket's end. Read with one 8-byte load. */
struct bucket {
	uint32_t first;
	uint32_t last;
};

/*
 * One allocation holds a table: its buckets, then this header, then the
 * regions sorted by base, then the slot order. The buckets sit just before
 * the header (bucket b at index -1 - b) and the regions just after it, so
 * the lookup finds both at fixed offsets from the table pointer without
 * loading a pointer first: on the read path every load counts, because it
 * limits how many of the guest's cache misses the CPU can overlap.
 */
struct table {
	uint64_t lo;		 /* base of the first region */
	uint64_t span;		 /* end of the last region - lo */
	unsigned shift;		 /* bucket of addr: (addr - lo) >> shift */
	size_t count;		 /* number of regions */
	size_t buckets;		 /* a power of two, plus one for the span's last address */
	const uint32_t *by_slot; /* [count] region indices sorted by slot */
	/* One reference for being published or retiring, one per foreach
	 * in progress; the last to drop it frees the table. */
	_Atomic size_t refs;
	struct table *retired_next; /* the handle's retired list, under its lock */
	void *block;		    /* the allocation, which starts with the buckets */
	size_t capacity;	    /* bytes of the block */
};

/* [count] sorted by base; an empty table holds one sentinel that no address
 * matches, so that table_lookup() needs no count check. */
static inline const struct region *table_regions(const struct table *table)
{
	return (const struct region *)(const void *)(table + 1);
}

static inline struct bucket table_bucket(const struct table *table, uint64_t index)
{
	/* One 8-byte load rather than two 4-byte ones. */
	const char *at = (const char *)table - (index + 1) * sizeof(struct bucket);
	uint64_t both;
	struct bucket bucket;

	memcpy(&both, at, sizeof(both));
	memcpy(&bucket, &both, sizeof(bucket));
	return bucket;
}

/* The most regions a table holds: indices must fit its uint32_t arrays. */
#define TABLE_MAX_REGIONS ((size_t)UINT32_MAX - 1)

struct table *table_new_empty(void);
void table_free(struct table *table);

/* Drops one reference; frees the table on the last. */
void table_put(struct table *table);

/* Index in regions[] where a region starting at base goes, and the region
 * it would overlap, if any (NULL when [base, base + size) is free). */
const struct region *table_find_overlap(const struct table *table, uint64_t base, uint64_t size,
					size_t *insert_at);

/* The region registered with slot, or NULL. O(log n). */
const struct region *table_find_slot(const struct table *table, uint32_t slot);

/* New tables with one region more or less; NULL when out of host memory.
 * The source table is left as it was. The new table is built in *spare
 * when that block is big enough (and *spare becomes NULL), otherwise in a
 * fresh block with room to grow: a handle that gains regions one by one
 * then copies its table without faulting in new pages each time. */
struct table *table_with_insert(const struct table *table, size_t insert_at,
				const struct region *region, struct table **spare);
struct table *table_with_remove(const struct table *table, const struct region *region,
				struct table **spare);

/* Keeps the bigger of *spare and a table no reader can see any more, for
 * the next build; frees the other. */
void table_recycle(struct table **spare, struct table *unused);

/* The last region of [bucket.first, bucket.last] whose base is at or below
 * addr, or bucket.first if none is. */
uint32_t table_search(const struct table *table, uint64_t addr, struct bucket bucket)
    __attribute__((pure, noinline));

/* The bucket of addr; false when addr is outside the table's span. */
static inline bool table_bucket_of(const struct table *table, uint64_t addr, struct bucket *bucket)
{
	/* Unsigned: an addr below lo wraps to a huge offset and is rejected
	 * with the addresses above the last region. */
	uint64_t offset = addr - table->lo;

	if (SQUIB_UNLIKELY(offset > table->span))
		return false;
	*bucket = table_bucket(table, offset >> table->shift);
	return true;
}

/*
 * Finds the one region that may hold addr: the last region of its bucket
 * whose base is at or below addr, when there is one. The caller's
 * region_holds() tells whether it does hold addr (see there why a region
 * above addr is rejected too). False only when addr is outside the table's
 * span. An empty access just past a region's end may find the next region
 * instead, see table_lookup_end(). (A bool rather than a NULL return, which
 * the compiler would test again after the pointer arithmetic.)
 */
static inline bool table_lookup(const struct table *table, uint64_t addr,
				const struct region **region)
{
	struct bucket bucket;

	if (!table_bucket_of(table, addr, &bucket))
		return false;
	if (bucket.first < bucket.last)
		bucket.first = table_search(table, addr, bucket);
	*region = &table_regions(table)[bucket.first];
	return true;
}

/*
 * table_lookup() for the access fast path: also false when addr's bucket
 * has several candidates, which the slow path then searches. Searching
 * inline would make the fast path keep registers on the stack, and every
 * load on that path counts (see access.c).
 */
static inline bool table_lookup_single(const struct table *table, uint64_t addr,
				       const struct region **region)
{
	struct bucket bucket;

	if (!table_bucket_of(table, addr, &bucket) || SQUIB_UNLIKELY(bucket.first != bucket.last))
		return false;
	*region = &table_regions(table)[bucket.first];
	return true;
}

/*
 * The one place a guest-controlled (addr, len) is checked against a region:
 * [addr, addr + len) lies inside [base, base + size) exactly when
 * offset = addr - base <= size and len <= size - offset. The second
 * subtraction cannot wrap given the first comparison, so no addr or len,
 * however close to 2^64, slips through. An addr below base needs no test of
 * its own: the offset then wraps to 2^64 - (base - addr), which exceeds size
 * because every region has base + size <= UINT64_MAX (the empty table's
 * sentinel, base UINT64_MAX, is only ever asked about address 0).
 */
static inline bool region_holds(const struct region *region, uint64_t addr, uint64_t len)
{
	uint64_t offset = addr - region->base;

	return offset <= region->size && len <= region->size - offset;
}

/*
 * For an empty access at addr: the region whose end is exactly addr, which
 * table_lookup() can miss when a bucket starts just there. The contract
 * lets an empty access sit at a region's end.
 */
static inline bool table_lookup_end(const struct table *table, uint64_t addr,
				    const struct region **region)
{
	return addr != 0 && table_lookup(table, addr - 1, region) && region_holds(*region, addr, 0);
}

#endif
