/* SPDX-License-Identifier: MIT */
/*
 * Internal: the region table, an immutable snapshot of the regions of one
 * handle, sorted by base address.
 *
 * A table is never modified once published; adding or removing a region
 * builds a new one. Lookups go through a bucket index so that they cost
 * about the same with 1 or 32768 regions: the span [lo, hi] of the table is
 * cut into a power-of-two number of equal buckets, and each bucket records
 * the one region that may hold its addresses (see struct table). A lookup
 * computes its bucket with a subtraction and a shift and reads the region
 * from it; a bucket that several regions share (clustered small regions)
 * sends the lookup to a binary search of the whole table, O(log n).
 */
#ifndef SQUIB_LIB_TABLE_H
#define SQUIB_LIB_TABLE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

/* A bucket entry with this bit set has several candidate regions; see
 * struct table. */
#define BUCKET_SEVERAL ((uint64_t)1)

/*
 * One allocation holds a table: this header with its buckets, then the
 * regions sorted by base, then the slot order. The buckets follow the
 * header directly, so a lookup reaches its bucket with one load at a fixed
 * offset from the table pointer, and a bucket holds the byte offset from
 * the table of the one region that may hold its addresses: the common case
 * costs no index arithmetic. On the read path every instruction and load
 * counts, because together they limit how many of the guest's cache misses
 * the CPU can overlap (docs/PERFORMANCE.md).
 */
struct table {
	uint64_t lo;	/* base of the first region */
	uint64_t span;	/* end of the last region - lo */
	unsigned shift; /* bucket of addr: (addr - lo) >> shift */
	size_t count;	/* number of regions */
	size_t buckets; /* a power of two, plus one for the span's last address */
	/* [count] sorted by base; an empty table holds one sentinel that no
	 * address matches, so that no lookup needs a count check. */
	const struct region *regions;
	const uint32_t *by_slot; /* [count] region indices sorted by slot */
	/* One reference for being published or retiring, one per foreach
	 * in progress; the last to drop it frees the table. */
	_Atomic size_t refs;
	struct table *retired_next; /* the handle's retired list, under its lock */
	size_t capacity;	    /* bytes of the allocation */
	/* [buckets]: the byte offset from the table of the region whose base
	 * is the last at or below any address of the bucket that a region
	 * holds; with BUCKET_SEVERAL set, the bucket has several candidates
	 * and the lookup searches all regions instead. */
	uint64_t bucket[];
};

static inline const struct region *table_regions(const struct table *table)
{
	return table->regions;
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

/* The last region whose base is at or below addr, or the first region if
 * none is. O(log n). */
const struct region *table_search(const struct table *table, uint64_t addr)
    __attribute__((pure, noinline));

/* The bucket entry of addr; false when addr is outside the table's span. */
static inline bool table_bucket_of(const struct table *table, uint64_t addr, uint64_t *bucket)
{
	/* Unsigned: an addr below lo wraps to a huge offset and is rejected
	 * with the addresses above the last region. */
	uint64_t offset = addr - table->lo;

	if (SQUIB_UNLIKELY(offset > table->span))
		return false;
	*bucket = table->bucket[offset >> table->shift];
	return true;
}

static inline const struct region *bucket_region(const struct table *table, uint64_t bucket)
{
	return (const struct region *)(const void *)((const char *)table + bucket);
}

/*
 * Finds the one region that may hold addr: the last region whose base is at
 * or below addr, when there is one. The caller's region_holds() tells
 * whether it does hold addr (see there why a region above addr is rejected
 * too). False only when addr is outside the table's span. An empty access
 * just past a region's end may find the next region instead, see
 * table_lookup_end(). (A bool rather than a NULL return, which the compiler
 * would test again after the pointer arithmetic.)
 */
static inline bool table_lookup(const struct table *table, uint64_t addr,
				const struct region **region)
{
	uint64_t bucket;

	if (!table_bucket_of(table, addr, &bucket))
		return false;
	*region =
	    bucket & BUCKET_SEVERAL ? table_search(table, addr) : bucket_region(table, bucket);
	return true;
}

/*
 * table_lookup() for the access fast path: also false when addr's bucket
 * has several candidates, which the slow path then searches. Searching
 * inline would make the fast path keep registers on the stack.
 */
static inline bool table_lookup_single(const struct table *table, uint64_t addr,
				       const struct region **region)
{
	uint64_t bucket;

	if (!table_bucket_of(table, addr, &bucket) || SQUIB_UNLIKELY(bucket & BUCKET_SEVERAL))
		return false;
	*region = bucket_region(table, bucket);
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
