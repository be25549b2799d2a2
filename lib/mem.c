/* SPDX-License-Identifier: MIT */
#include <inttypes.h>
#include <stddef.h>
#include <string.h>

#include "backing.h"
#include "dirty_log.h"
#include "error.h"
#include "host.h"
#include "listener.h"
#include "mem_internal.h"

static void grace_period_done_locked(squib_mem_t *mem);

/* Size of squib_region_info_t as 0.2 shipped it; smaller is refused. */
#define REGION_INFO_SIZE_0_2 (offsetof(squib_region_info_t, host_addr) + sizeof(void *))

squib_status_t squib_mem_new(squib_mem_t **out)
{
	squib_mem_t *mem;
	struct table *table;

	if (!out)
		return squib_fail(SQUIB_E_INVALID_ARGUMENT, "squib_mem_new: out is NULL");
	squib_epoch_init();
	mem = squib_host_alloc_aligned(SQUIB_CACHELINE, sizeof(*mem));
	if (!mem)
		return squib_fail(SQUIB_E_NO_MEMORY, "cannot allocate a handle of %zu bytes",
				  sizeof(*mem));
	table = table_new_empty();
	if (!table) {
		squib_host_free(mem);
		return squib_fail(SQUIB_E_NO_MEMORY, "cannot allocate an empty region table");
	}
	if (pthread_mutex_init(&mem->lock, NULL) != 0) {
		table_free(table);
		squib_host_free(mem);
		return squib_fail(SQUIB_E_NO_MEMORY, "cannot initialise the handle's mutex");
	}
	atomic_init(&mem->table, table);
	atomic_init(&mem->reads, table->reads);
	atomic_init(&mem->writes, table->writes);
	mem->retired = NULL;
	mem->retired_count = 0;
	mem->retired_bytes = 0;
	mem->unmap_count = 0;
	mem->unmap_bytes = 0;
	mem->spare = NULL;
	mem->listeners = (struct listener_set){0};
	*out = mem;
	return SQUIB_OK;
}

void squib_mem_free(squib_mem_t *mem)
{
	struct table *table;

	if (!mem)
		return;
	/* No other call runs (the caller's promise): no reader can hold a
	 * retired table or be inside a removed region. */
	grace_period_done_locked(mem);
	table = atomic_load_explicit(&mem->table, memory_order_relaxed);
	for (size_t i = 0; i < table->count; i++)
		backing_put(table_regions(table)[i].backing);
	table_free(table);
	table_free(mem->spare);
	listener_set_free(&mem->listeners);
	pthread_mutex_destroy(&mem->lock);
	squib_host_free(mem);
}

/* A thread inside a listener callback holds the mutex already: it is what
 * keeps mutations away, as the mutex would. */
void squib_mem_lock_for_access(const squib_mem_t *mem)
{
	if (!listener_running_on(mem))
		pthread_mutex_lock((pthread_mutex_t *)&mem->lock);
}

void squib_mem_unlock_for_access(const squib_mem_t *mem)
{
	if (!listener_running_on(mem))
		pthread_mutex_unlock((pthread_mutex_t *)&mem->lock);
}

squib_status_t mem_mutation_lock(squib_mem_t *mem, const char *caller)
{
	if (listener_running_on(mem))
		return squib_fail(SQUIB_E_BUSY,
				  "%s: called from inside a listener callback on the same handle",
				  caller);
	pthread_mutex_lock(&mem->lock);
	return SQUIB_OK;
}

void mem_mutation_unlock(squib_mem_t *mem)
{
	pthread_mutex_unlock(&mem->lock);
}

/*
 * Grace periods are batched. Each one costs a membarrier(), which
 * interrupts every CPU running a reader (several microseconds in a virtual
 * machine), so a change does not wait for its own: replaced tables and the
 * memory of removed regions wait in the handle until the SQUIB_RETIRED_MAX-th
 * change, or until removed regions add up to UNMAP_PROMPTLY_BYTES, or the
 * retired tables to RETIRED_TABLE_BYTES, then one grace period covers them
 * all. A removal of a large region thus returns with its memory given back;
 * the memory of small ones may outlive the call by some changes (or until
 * squib_mem_free()), which the contract allows: it is unmapped only once no
 * access can touch it. The table cap keeps a handle of thousands of regions
 * (a table of megabytes) from holding dozens of old tables.
 */
#define UNMAP_PROMPTLY_BYTES ((uint64_t)64 << 20)
#define RETIRED_TABLE_BYTES ((size_t)16 << 20)

/* Called with mem->lock held, after a grace period (or with no reader
 * possible): what waited for it is unreachable. Retired tables' blocks are
 * kept for the next build or freed, unless a foreach still pins one (the
 * walk frees it then); removed regions are unmapped. */
static void grace_period_done_locked(squib_mem_t *mem)
{
	struct table *table = mem->retired;

	mem->retired = NULL;
	mem->retired_count = 0;
	mem->retired_bytes = 0;
	while (table) {
		struct table *next = table->retired_next;

		if (atomic_fetch_sub_explicit(&table->refs, 1, memory_order_acq_rel) == 1)
			table_recycle(&mem->spare, table);
		table = next;
	}
	for (unsigned i = 0; i < mem->unmap_count; i++)
		backing_put(mem->unmaps[i].backing);
	mem->unmap_count = 0;
	mem->unmap_bytes = 0;
}

/*
 * Called with mem->lock held: publishes next and retires the table it
 * replaces, with the region it drops (removed, or NULL for an add). Waits
 * for a grace period when the batch is full (see above). Waiting under the
 * mutex only delays other writers: readers never take it.
 */
void mem_publish_locked(squib_mem_t *mem, struct table *next, const struct region *removed)
{
	struct table *old = atomic_load_explicit(&mem->table, memory_order_relaxed);

	/* Release: a reader that finds an index finds its hints. seq_cst for
	 * the table pairs with the table load in access_begin(); see epoch.h
	 * for why readers need no fence of their own. */
	atomic_store_explicit(&mem->writes, next->writes, memory_order_release);
	atomic_store_explicit(&mem->reads, next->reads, memory_order_release);
	atomic_store_explicit(&mem->table, next, memory_order_seq_cst);
	old->retired_next = mem->retired;
	mem->retired = old;
	/* unmap_count <= retired_count < SQUIB_RETIRED_MAX here. */
	if (removed) {
		mem->unmaps[mem->unmap_count++] = *removed;
		if (__builtin_add_overflow(mem->unmap_bytes, removed->size, &mem->unmap_bytes))
			mem->unmap_bytes = UINT64_MAX;
	}
	mem->retired_bytes += old->capacity;
	if (++mem->retired_count >= SQUIB_RETIRED_MAX || mem->unmap_bytes >= UNMAP_PROMPTLY_BYTES ||
	    mem->retired_bytes >= RETIRED_TABLE_BYTES) {
		squib_epoch_synchronize();
		grace_period_done_locked(mem);
	}
}

void mem_grace_period_locked(squib_mem_t *mem)
{
	squib_epoch_synchronize();
	grace_period_done_locked(mem);
}

struct table *mem_table_locked(const squib_mem_t *mem)
{
	return atomic_load_explicit(&mem->table, memory_order_relaxed);
}

squib_status_t mem_region_add_locked(squib_mem_t *mem, const struct backing_request *request,
				     uint32_t slot, squib_prot_t prot)
{
	struct table *table = mem_table_locked(mem), *grown, *spare;
	const struct region *other;
	struct region region = {.base = request->base,
				.size = request->size,
				.slot = slot,
				.prot = prot,
				.flags = request->flags};
	size_t insert_at;
	squib_status_t status;

	other = table_find_slot(table, slot);
	if (other)
		return squib_fail(SQUIB_E_SLOT_IN_USE,
				  "slot %" PRIu32 " is already used by [" SQUIB_GPA_FMT
				  ", " SQUIB_GPA_FMT ")",
				  slot, other->base, other->base + other->size);
	other = table_find_overlap(table, region.base, region.size, &insert_at);
	if (other)
		return squib_fail(SQUIB_E_OVERLAP,
				  "[" SQUIB_GPA_FMT ", " SQUIB_GPA_FMT ") overlaps slot %" PRIu32
				  " at [" SQUIB_GPA_FMT ", " SQUIB_GPA_FMT ")",
				  region.base, region.base + region.size, other->slot, other->base,
				  other->base + other->size);
	status = backing_check(request);
	if (status != SQUIB_OK)
		return status;
	/* The table's block first: once the memory is made (and, on a
	 * caller's mapping, its flags applied) nothing may fail. */
	spare = mem->spare;
	grown = table_reserve_insert(table, region.flags, &mem->spare);
	if (!grown)
		return squib_fail(SQUIB_E_NO_MEMORY, "cannot allocate a table of %zu regions",
				  table->count + 1);
	/* Made before the table that shows it is published: no reader can
	 * see the region without its bytes and its flags. */
	status = backing_create(request, &region.backing, &region.host);
	if (status != SQUIB_OK) {
		/* The handle holds exactly what it held before. */
		if (grown == spare)
			mem->spare = spare;
		else
			table_free(grown);
		return status;
	}
	/* Before any reader can see the region: a listener that refuses it
	 * leaves the handle as it was. */
	status = listeners_region_add(mem, &region);
	if (status != SQUIB_OK) {
		backing_abandon(region.backing, region.host, region.size);
		table_recycle(&mem->spare, grown);
		return status;
	}
	table_fill_insert(grown, table, insert_at, &region);
	mem_publish_locked(mem, grown, NULL);
	return SQUIB_OK;
}

squib_status_t squib_mem_region_add(squib_mem_t *mem, const struct backing_request *request,
				    uint32_t slot, squib_prot_t prot)
{
	squib_status_t status = mem_mutation_lock(mem, "adding a region");

	if (status != SQUIB_OK)
		return status;
	status = mem_region_add_locked(mem, request, slot, prot);
	mem_mutation_unlock(mem);
	return status;
}

/* 0.2's adds: the anonymous backing, flags 0, after 0.2's checks. */
static squib_status_t region_add(squib_mem_t *mem, const char *caller, uint64_t base, uint64_t size,
				 const void *bytes, uint32_t slot, squib_prot_t prot)
{
	struct backing_request request = {
	    .base = base, .size = size, .fd = -1, .bytes = bytes, .page = backing_host_page()};
	uint64_t end;

	if (!mem)
		return squib_fail(SQUIB_E_INVALID_ARGUMENT, "%s: mem is NULL", caller);
	if (size == 0)
		return squib_fail(SQUIB_E_INVALID_ARGUMENT,
				  "%s: region at " SQUIB_GPA_FMT " has size 0", caller, base);
	if (__builtin_add_overflow(base, size, &end))
		return squib_fail(SQUIB_E_INVALID_ARGUMENT,
				  "range overflow: base=" SQUIB_GPA_FMT " size=%" PRIu64, base,
				  size);
	if (prot & ~(squib_prot_t)SQUIB_PROT_RWX)
		return squib_fail(SQUIB_E_INVALID_ARGUMENT,
				  "%s: unknown protection bits 0x%" PRIx32, caller,
				  prot & ~(squib_prot_t)SQUIB_PROT_RWX);
	return squib_mem_region_add(mem, &request, slot, prot);
}

squib_status_t squib_mem_add_region(squib_mem_t *mem, squib_range_t range, uint32_t slot,
				    squib_prot_t prot)
{
	return region_add(mem, __func__, range.base.raw, range.size, NULL, slot, prot);
}

squib_status_t squib_mem_add_region_from_bytes(squib_mem_t *mem, squib_gpa_t base,
					       const void *bytes, size_t len, uint32_t slot,
					       squib_prot_t prot)
{
	if (mem && !bytes)
		return squib_fail(SQUIB_E_INVALID_ARGUMENT, "%s: bytes is NULL", __func__);
	return region_add(mem, __func__, base.raw, len, bytes, slot, prot);
}

squib_status_t squib_mem_remove_region(squib_mem_t *mem, uint32_t slot)
{
	struct table *table, *shrunk;
	const struct region *found;
	struct region removed;
	struct dirty_log *log;
	squib_status_t status;

	if (!mem)
		return squib_fail(SQUIB_E_INVALID_ARGUMENT, "%s: mem is NULL", __func__);
	status = mem_mutation_lock(mem, __func__);
	if (status != SQUIB_OK)
		return status;
	table = mem_table_locked(mem);
	found = table_find_slot(table, slot);
	if (!found) {
		mem_mutation_unlock(mem);
		return squib_fail(SQUIB_E_NOT_FOUND, "no region has slot %" PRIu32, slot);
	}
	removed = *found;
	shrunk = table_with_remove(table, found, &mem->spare);
	if (!shrunk) {
		mem_mutation_unlock(mem);
		return squib_fail(SQUIB_E_NO_MEMORY, "cannot allocate a table of %zu regions",
				  table->count - 1);
	}
	/* Once the replaced table's readers are gone, no access can be inside
	 * the region: earlier ones have ended, later ones see the new table.
	 * Its memory is unmapped then, with the next grace period, but not
	 * before the listeners have let go of it (a KVM slot must be deleted
	 * while its memory is mapped): the reference held here sees to it. */
	backing_get(removed.backing);
	mem_publish_locked(mem, shrunk, &removed);
	log = atomic_load_explicit(&removed.backing->dirty, memory_order_relaxed);
	if (log)
		atomic_store_explicit(&log->logging, false, memory_order_relaxed);
	listeners_region_del(mem, &removed);
	backing_put(removed.backing);
	mem_mutation_unlock(mem);
	return SQUIB_OK;
}

void mem_reset_locked(squib_mem_t *mem, struct table *empty)
{
	struct table *table = mem_table_locked(mem);

	/* Kept past the grace period, which frees the table otherwise. */
	atomic_fetch_add_explicit(&table->refs, 1, memory_order_relaxed);
	/* Every access after the publication sees no region; once the grace
	 * period is over none is inside one, and their memory can go. */
	mem_publish_locked(mem, empty, NULL);
	for (size_t i = table->count; i-- > 0;)
		listeners_region_del(mem, &table->regions[i]);
	mem_grace_period_locked(mem);
	for (size_t i = 0; i < table->count; i++)
		backing_put(table->regions[i].backing);
	table_put(table);
}

size_t squib_mem_region_count(const squib_mem_t *mem)
{
	struct access_guard guard;
	size_t count;

	if (!mem)
		return 0;
	count = access_begin(mem, &guard)->count;
	access_end(mem, &guard);
	return count;
}

static squib_status_t check_info(const squib_mem_t *mem, const squib_region_info_t *info,
				 const char *caller)
{
	if (!mem)
		return squib_fail(SQUIB_E_INVALID_ARGUMENT, "%s: mem is NULL", caller);
	if (!info)
		return squib_fail(SQUIB_E_INVALID_ARGUMENT, "%s: info is NULL", caller);
	if (info->sz < REGION_INFO_SIZE_0_2)
		return squib_fail(SQUIB_E_INVALID_ARGUMENT,
				  "%s: info->sz is %zu, smaller than the 0.2 layout (%zu bytes)",
				  caller, info->sz, (size_t)REGION_INFO_SIZE_0_2);
	return SQUIB_OK;
}

/* Whether the caller's info->sz holds all of field. */
#define INFO_HOLDS(info, field)                                                                    \
	((info)->sz >= offsetof(squib_region_info_t, field) + sizeof((info)->field))

/* Fills the fields of the layout this library knows that fit in info->sz,
 * one by one: sz, any padding and any byte past that layout stay as the
 * caller left them. 0.2's fields always fit (check_info). */
void region_info_fill(squib_region_info_t *info, const struct region *region)
{
	const struct backing *backing = region->backing;

	info->range.base.raw = region->base;
	info->range.size = region->size;
	info->slot = region->slot;
	info->prot = region->prot;
	info->host_addr = region->host;
	if (INFO_HOLDS(info, flags))
		info->flags = region->flags;
	if (INFO_HOLDS(info, fd))
		info->fd = backing->fd;
	if (INFO_HOLDS(info, fd_offset))
		info->fd_offset = backing->fd >= 0 ? backing->fd_offset : 0;
	if (INFO_HOLDS(info, name))
		memcpy(info->name, backing->name, sizeof(info->name));
}

squib_status_t squib_mem_find_region(const squib_mem_t *mem, squib_gpa_t addr,
				     squib_region_info_t *info)
{
	struct access_guard guard;
	const struct region *region;
	squib_status_t status = check_info(mem, info, __func__);

	if (status != SQUIB_OK)
		return status;
	region = table_find(access_begin(mem, &guard), addr.raw, 1);
	if (region)
		region_info_fill(info, region);
	access_end(mem, &guard);
	if (!region)
		return squib_fail(SQUIB_E_OUT_OF_RANGE, "no region contains addr " SQUIB_GPA_FMT,
				  addr.raw);
	return SQUIB_OK;
}

squib_status_t squib_mem_get_region(const squib_mem_t *mem, uint32_t slot,
				    squib_region_info_t *info)
{
	struct access_guard guard;
	const struct region *region;
	squib_status_t status = check_info(mem, info, __func__);

	if (status != SQUIB_OK)
		return status;
	region = table_find_slot(access_begin(mem, &guard), slot);
	if (region)
		region_info_fill(info, region);
	access_end(mem, &guard);
	if (!region)
		return squib_fail(SQUIB_E_NOT_FOUND, "no region has slot %" PRIu32, slot);
	return SQUIB_OK;
}

int squib_mem_foreach_region(const squib_mem_t *mem, squib_region_cb cb, void *ctx)
{
	struct access_guard guard;
	struct table *snapshot;
	int result = 0;

	if (!mem || !cb)
		return squib_fail(SQUIB_E_INVALID_ARGUMENT, "%s: %s is NULL", __func__,
				  mem ? "cb" : "mem");
	/* Pin the table with a reference rather than the read section, so that
	 * the callback may add and remove regions (which wait for read
	 * sections) without waiting for itself; and each region's backing,
	 * whose name and fd the walk reads, which a removal by the callback
	 * would otherwise give back after the next grace period. The
	 * references are taken inside the section, where neither can be
	 * given back yet. */
	snapshot = (struct table *)access_begin(mem, &guard);
	atomic_fetch_add_explicit(&snapshot->refs, 1, memory_order_relaxed);
	for (size_t i = 0; i < snapshot->count; i++)
		backing_get(table_regions(snapshot)[i].backing);
	access_end(mem, &guard);

	for (size_t i = 0; i < snapshot->count && result == 0; i++) {
		squib_region_info_t info = SQUIB_REGION_INFO_INIT;

		region_info_fill(&info, &table_regions(snapshot)[i]);
		result = cb(&info, ctx);
	}
	for (size_t i = 0; i < snapshot->count; i++)
		backing_put(table_regions(snapshot)[i].backing);
	table_put(snapshot);
	return result;
}
