/* SPDX-License-Identifier: MIT */
/*
 * Internal: the region table, an immutable snapshot of the regions of one
 * handle, sorted by base address.
 *
 * A table is never modified once published; adding or removing a region
 * builds a new one. Accesses find their region through a hashed index of
 * hints (see struct table) that costs the same with 1 or 32768 regions;
 * whatever a hint does not settle falls back to a binary search, O(log n).
 */
#ifndef SQUIB_LIB_TABLE_H
#define SQUIB_LIB_TABLE_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <squib/backing.h>
#include <squib/prot.h>

struct backing;

/* A registered region. */
struct region {
	uint64_t base;
	uint64_t size; /* > 0; base + size <= UINT64_MAX */
	uint8_t *host; /* host address of base */
	uint32_t slot;
	squib_prot_t prot;
	uint32_t flags;		 /* SQUIB_REGION_*, DIRTY_LOG as it is in this table */
	struct backing *backing; /* the host memory; one reference per region */
};

/* Flags that keep a region out of a table's write index: a plain store
 * must not reach it (docs/DESIGN.md, where "writable" lives). */
#define REGION_WRITE_SLOW (SQUIB_REGION_READONLY | SQUIB_REGION_DIRTY_LOG)

static inline bool region_takes_plain_writes(const struct region *region)
{
	return !(region->flags & REGION_WRITE_SLOW);
}

/* A region whose writes mark its dirty bitmap: it has the log index. */
static inline bool region_logs_writes(const struct region *region)
{
	return (region->flags & REGION_WRITE_SLOW) == SQUIB_REGION_DIRTY_LOG;
}

/*
 * An entry of the lookup index: a copy of the one region that addresses
 * hashing to it should try first, laid out for the access fast path. The
 * check an access makes against it is exact on its own (see
 * hint_holds_typed), so an entry that names the wrong region, or none,
 * only ever sends an access to the slow path, never to wrong memory.
 */
struct hint {
	uint64_t base;
	/* addr - base < typed_limit means the 8 bytes at addr lie inside
	 * the region: size - 7, or 0 (nothing passes) for a region smaller
	 * than 8 bytes and for an empty entry. */
	uint64_t typed_limit;
	uint8_t *host; /* host address of base */
	uint64_t size; /* 0 for an empty entry */
};

/* log2(sizeof(struct hint)): the index is addressed in bytes. */
#define HINT_SHIFT 5

/*
 * A direct-mapped hash of guest addresses: the hint for addr is at byte
 * offset (addr >> shift) & mask of entry[], found in three instructions
 * with no bounds check, because whatever the hint says is checked against
 * addr anyway. shift is the granule shift less HINT_SHIFT, mask is
 * (entries - 1) << HINT_SHIFT.
 */
struct hint_index {
	unsigned shift;
	uint64_t mask;
	alignas(sizeof(struct hint)) struct hint entry[];
};

/*
 * One allocation holds a table: this header, the read index, the write
 * index when some region needs one, the regions sorted by base, then the
 * slot order.
 *
 * Both indexes have the same shape. The granule shift is the smallest that
 * gives every granule (2^shift bytes) of the span from the first region's
 * base to the last one's end its own entry, so the regions of a table never
 * compete for an entry through wrap-around; a granule that several regions
 * share hints at the one covering most of it. The read index holds every
 * region; the write index only those that take plain writes
 * (region_takes_plain_writes), so a write to any other misses the fast
 * path. When every region takes plain writes, writes == reads. A third
 * index of the same shape, when some region logs, holds those regions for
 * the writes the write index misses (see the logs field). Every access
 * that its hints do not settle, and every lookup outside the fast paths,
 * uses the binary search.
 *
 * On the access path every instruction and load counts, because together
 * they limit how many of the guest's cache misses the CPU can overlap
 * (docs/PERFORMANCE.md): the two index parameters are read from the
 * index's first line, then one 32-byte entry that holds all the check
 * needs. The handle publishes both index pointers beside the table's, so
 * a write costs what a read does.
 */
struct table {
	/* Written only while the table is built, before it is published. */
	size_t count;		/* number of regions */
	struct region *regions; /* [count] sorted by base */
	uint32_t *by_slot;	/* [count] region indices sorted by slot */
	struct hint_index *reads;
	struct hint_index *writes; /* == reads when write_slow == 0 */
	size_t write_slow;	   /* regions kept out of the write index */
	/* The regions that log (region_logs_writes) in an index of their
	 * own, and the region each entry names (NULL for an empty one): a
	 * write that misses the write index tries it before the slow path,
	 * and marks the region it finds. NULL when no region logs. */
	struct hint_index *logs;
	const struct region **logs_named;
	size_t logging; /* regions in logs */
	/* One reference for being published or retiring, one per foreach
	 * in progress; the last to drop it frees the table. */
	_Atomic size_t refs;
	struct table *retired_next; /* the handle's retired list, under its lock */
	size_t capacity;	    /* bytes of the allocation */
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

/* A table with one region more, in two steps, so that everything that can
 * fail is done before the region's memory is made: table_reserve_insert()
 * takes the block (NULL when out of host memory) for a region of these
 * flags, table_fill_insert() builds the table in it once the region is
 * complete. The block is *spare when that is big enough (and *spare becomes
 * NULL), otherwise a fresh one with room to grow: a handle that gains
 * regions one by one then copies its table without faulting in new pages
 * each time. A reserved block that goes unused is given to
 * table_recycle(). */
struct table *table_reserve_insert(const struct table *table, uint32_t flags, struct table **spare);
void table_fill_insert(struct table *grown, const struct table *table, size_t insert_at,
		       const struct region *region);

/* A new table with one region less; NULL when out of host memory. The
 * source table is left as it was; *spare as above. */
struct table *table_with_remove(const struct table *table, const struct region *region,
				struct table **spare);

/* A new table with `old` (one of table's regions) replaced by `updated`,
 * which has the same base and slot; NULL when out of host memory. *spare
 * as above. */
struct table *table_with_update(const struct table *table, const struct region *old,
				const struct region *updated, struct table **spare);

/* Keeps the bigger of *spare and a table no reader can see any more, for
 * the next build; frees the other. */
void table_recycle(struct table **spare, struct table *unused);

/* The last region whose base is at or below addr; NULL when there is none.
 * O(log n). */
const struct region *table_search(const struct table *table, uint64_t addr) __attribute__((pure));

/* The hint for addr. Any address has one, however far from every region. */
static inline const struct hint *index_hint(const struct hint_index *index, uint64_t addr)
{
	uint64_t offset = (addr >> index->shift) & index->mask;

	return (const struct hint *)(const void *)((const char *)index->entry + offset);
}

/*
 * The check of a guest-controlled (addr, len) against a region, of which
 * the fast path's two tests below are stricter forms:
 * [addr, addr + len) lies inside [base, base + size) exactly when
 * offset = addr - base <= size and len <= size - offset. The second
 * subtraction cannot wrap given the first comparison, so no addr or len,
 * however close to 2^64, slips through. An addr below base needs no test of
 * its own: the offset then wraps to 2^64 - (base - addr), which exceeds size
 * because every region has base + size <= UINT64_MAX.
 */
static inline bool span_holds(uint64_t base, uint64_t size, uint64_t addr, uint64_t len)
{
	uint64_t offset = addr - base;

	return offset <= size && len <= size - offset;
}

static inline bool region_holds(const struct region *region, uint64_t addr, uint64_t len)
{
	return span_holds(region->base, region->size, addr, len);
}

/*
 * The fast path's test for a typed access (at most 8 bytes): one
 * comparison. offset < typed_limit = size - 7 gives offset + 8 <= size, and
 * an addr below base wraps to an offset above any limit, as above. The last
 * 7 bytes of a region fail it and take the slow path, which is exact.
 */
static inline bool hint_holds_typed(const struct hint *hint, uint64_t addr)
{
	return addr - hint->base < hint->typed_limit;
}

/* The fast path's test for a copy of len bytes: span_holds() with a strict
 * first comparison, so that an empty entry (size 0) holds nothing, not
 * even an empty access. An empty access at a region's very end fails it
 * too, and takes the slow path. */
static inline bool hint_holds(const struct hint *hint, uint64_t addr, uint64_t len)
{
	uint64_t offset = addr - hint->base;

	return offset < hint->size && len <= hint->size - offset;
}

/*
 * The region holding [addr, addr + len), or NULL. Only the last region at
 * or below addr can: regions do not overlap. That covers an empty access at
 * a region's end too (the contract allows it there): the region found is
 * then the one ending at addr, or one starting right there, and either
 * holds it.
 */
static inline const struct region *table_find(const struct table *table, uint64_t addr,
					      uint64_t len)
{
	const struct region *region = table_search(table, addr);

	return region && region_holds(region, addr, len) ? region : NULL;
}

#endif
