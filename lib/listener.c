/* SPDX-License-Identifier: MIT */
/* Listeners (squib/listener.h): the registry and the calls into it. */
#include <inttypes.h>
#include <string.h>

#include "compiler.h"
#include "dirty_log.h"
#include "error.h"
#include "host.h"
#include "listener.h"
#include "mem_internal.h"

/*
 * Listener ids come from one counter for the whole process, so that an id
 * is never reused, not even by another handle: a plugin that keeps a stale
 * id cannot remove somebody else's listener. The one piece of global
 * mutable state besides the thread-locals (docs/DESIGN.md).
 */
static _Atomic uint64_t next_listener_id = 1;

/* The callbacks running on this thread, innermost first. */
struct callback_frame {
	const squib_mem_t *mem;
	const struct callback_frame *outer;
};

static _Thread_local const struct callback_frame *callbacks_running;

bool listener_running_on(const squib_mem_t *mem)
{
	for (const struct callback_frame *frame = callbacks_running; frame; frame = frame->outer)
		if (frame->mem == mem)
			return true;
	return false;
}

static void frame_enter(struct callback_frame *frame, const squib_mem_t *mem)
{
	frame->mem = mem;
	frame->outer = callbacks_running;
	callbacks_running = frame;
}

static void frame_exit(const struct callback_frame *frame)
{
	callbacks_running = frame->outer;
}

void listener_set_free(struct listener_set *set)
{
	squib_host_free(set->entries);
	*set = (struct listener_set){0};
}

/* A callback's refusal as the status the mutation returns, with the
 * message. */
static squib_status_t refused(const struct listener_entry *entry, const char *callback,
			      const struct region *region, squib_status_t returned)
{
	squib_status_t status = (int)returned < 0 ? returned : SQUIB_E_BUSY;

	return squib_fail(status,
			  "listener %" PRIu64 " refused %s of slot %" PRIu32 " [" SQUIB_GPA_FMT
			  ", " SQUIB_GPA_FMT "): status %d (%s)%s",
			  entry->id, callback, region->slot, region->base,
			  region->base + region->size, (int)returned, squib_strerror(status),
			  (int)returned > 0 ? ", taken as SQUIB_E_BUSY" : "");
}

/*
 * One callback of one listener; NULL accepts. The info is filled afresh
 * for each call: a callback may scribble on its copy.
 */
static squib_status_t call_add(squib_mem_t *mem, const struct listener_entry *entry,
			       const struct region *region)
{
	squib_region_info_t info = SQUIB_REGION_INFO_INIT;
	struct callback_frame frame;
	squib_status_t status;

	if (!entry->callbacks.region_add)
		return SQUIB_OK;
	region_info_fill(&info, region);
	frame_enter(&frame, mem);
	status = entry->callbacks.region_add(entry->callbacks.ctx, &info);
	frame_exit(&frame);
	return status;
}

static void call_del(squib_mem_t *mem, const struct listener_entry *entry,
		     const struct region *region)
{
	squib_region_info_t info = SQUIB_REGION_INFO_INIT;
	struct callback_frame frame;

	if (!entry->callbacks.region_del)
		return;
	region_info_fill(&info, region);
	frame_enter(&frame, mem);
	entry->callbacks.region_del(entry->callbacks.ctx, &info);
	frame_exit(&frame);
}

static squib_status_t call_protect(squib_mem_t *mem, const struct listener_entry *entry,
				   const struct region *region, squib_prot_t old_prot)
{
	squib_region_info_t info = SQUIB_REGION_INFO_INIT;
	struct callback_frame frame;
	squib_status_t status;

	if (!entry->callbacks.protect)
		return SQUIB_OK;
	region_info_fill(&info, region);
	frame_enter(&frame, mem);
	status = entry->callbacks.protect(entry->callbacks.ctx, &info, old_prot);
	frame_exit(&frame);
	return status;
}

static squib_status_t call_dirty_log(squib_mem_t *mem, const struct listener_entry *entry,
				     const struct region *region, bool enable)
{
	squib_region_info_t info = SQUIB_REGION_INFO_INIT;
	struct callback_frame frame;
	squib_status_t status;

	if (!entry->callbacks.dirty_log)
		return SQUIB_OK;
	region_info_fill(&info, region);
	frame_enter(&frame, mem);
	status = entry->callbacks.dirty_log(entry->callbacks.ctx, &info, enable);
	frame_exit(&frame);
	return status;
}

squib_status_t listeners_region_add(squib_mem_t *mem, const struct region *region)
{
	const struct listener_set *set = &mem->listeners;

	for (size_t i = 0; i < set->count; i++) {
		squib_status_t status = call_add(mem, &set->entries[i], region);

		if (status != SQUIB_OK) {
			status = refused(&set->entries[i], "region_add", region, status);
			while (i-- > 0)
				call_del(mem, &set->entries[i], region);
			return status;
		}
	}
	return SQUIB_OK;
}

void listeners_region_del(squib_mem_t *mem, const struct region *region)
{
	const struct listener_set *set = &mem->listeners;

	for (size_t i = set->count; i-- > 0;)
		call_del(mem, &set->entries[i], region);
}

squib_status_t listeners_protect(squib_mem_t *mem, const struct region *region,
				 squib_prot_t old_prot)
{
	const struct listener_set *set = &mem->listeners;
	struct region before = *region;

	before.prot = old_prot;
	for (size_t i = 0; i < set->count; i++) {
		squib_status_t status = call_protect(mem, &set->entries[i], region, old_prot);

		if (status != SQUIB_OK) {
			status = refused(&set->entries[i], "protect", region, status);
			/* Undone with the states swapped; an undo cannot be
			 * refused (its status is not looked at). */
			while (i-- > 0)
				(void)call_protect(mem, &set->entries[i], &before, region->prot);
			return status;
		}
	}
	return SQUIB_OK;
}

squib_status_t listeners_dirty_log(squib_mem_t *mem, const struct region *region, bool enable)
{
	const struct listener_set *set = &mem->listeners;
	struct region before = *region;

	before.flags ^= SQUIB_REGION_DIRTY_LOG;
	for (size_t i = 0; i < set->count; i++) {
		squib_status_t status = call_dirty_log(mem, &set->entries[i], region, enable);

		if (status != SQUIB_OK) {
			status = refused(&set->entries[i], "dirty_log", region, status);
			while (i-- > 0)
				(void)call_dirty_log(mem, &set->entries[i], &before, !enable);
			return status;
		}
	}
	return SQUIB_OK;
}

squib_status_t listeners_log_sync(squib_mem_t *mem, const struct region *region,
				  struct dirty_log *log)
{
	const struct listener_set *set = &mem->listeners;

	for (size_t i = 0; i < set->count; i++) {
		const struct listener_entry *entry = &set->entries[i];
		squib_region_info_t info = SQUIB_REGION_INFO_INIT;
		struct callback_frame frame;
		squib_status_t status;

		if (!entry->callbacks.log_sync)
			continue;
		region_info_fill(&info, region);
		frame_enter(&frame, mem);
		status =
		    entry->callbacks.log_sync(entry->callbacks.ctx, &info, log->sync, log->words);
		frame_exit(&frame);
		/* Kept whatever the status: the hypervisor's log may be
		 * harvested already, and a page reported twice costs a copy,
		 * one lost costs the guest's data. */
		dirty_log_merge_sync(log);
		if (status != SQUIB_OK)
			return refused(entry, "log_sync", region, status);
	}
	return SQUIB_OK;
}

/* The size rule of every input struct (squib/backing.h): at least the
 * layout this library knows; anything past it zero. The scan stops at the
 * first non-zero byte, so a garbage sz is refused as soon as it reaches
 * the caller's other data. */
static squib_status_t copy_listener(const squib_listener_t *listener, squib_listener_t *copy)
{
	const unsigned char *bytes = (const unsigned char *)listener;

	if (listener->sz < sizeof(*copy))
		return squib_fail(SQUIB_E_INVALID_ARGUMENT,
				  "squib_mem_listener_add: listener->sz is %zu, smaller than the "
				  "0.3 layout (%zu bytes)",
				  listener->sz, sizeof(*copy));
	for (size_t at = sizeof(*copy); at < listener->sz; at++)
		if (bytes[at])
			return squib_fail(SQUIB_E_UNSUPPORTED,
					  "squib_mem_listener_add: byte %zu of listener (sz %zu) "
					  "is not zero: a field this library (0.3) does not know",
					  at, listener->sz);
	memcpy(copy, listener, sizeof(*copy));
	copy->sz = sizeof(*copy);
	return SQUIB_OK;
}

static bool reserve_entry(struct listener_set *set)
{
	struct listener_entry *grown;
	size_t capacity;

	if (set->count < set->capacity)
		return true;
	capacity = set->capacity ? 2 * set->capacity : 4;
	grown = squib_host_alloc(capacity * sizeof(*grown));
	if (!grown)
		return false;
	if (set->count)
		memcpy(grown, set->entries, set->count * sizeof(*grown));
	squib_host_free(set->entries);
	set->entries = grown;
	set->capacity = capacity;
	return true;
}

static squib_status_t listener_add_locked(squib_mem_t *mem, const struct listener_entry *entry)
{
	const struct table *table = mem_table_locked(mem);
	struct listener_set *set = &mem->listeners;

	if (!reserve_entry(set))
		return squib_fail(SQUIB_E_NO_MEMORY, "cannot allocate room for %zu listeners",
				  set->count + 1);
	for (size_t i = 0; i < table->count; i++) {
		squib_status_t status = call_add(mem, entry, &table->regions[i]);

		if (status != SQUIB_OK) {
			status = refused(entry, "region_add", &table->regions[i], status);
			while (i-- > 0)
				call_del(mem, entry, &table->regions[i]);
			return status;
		}
	}
	set->entries[set->count++] = *entry;
	return SQUIB_OK;
}

squib_status_t squib_mem_listener_add(squib_mem_t *mem, const squib_listener_t *listener,
				      uint64_t *id)
{
	struct listener_entry entry = {0};
	squib_status_t status;

	if (!mem || !listener || !id)
		return squib_fail(SQUIB_E_INVALID_ARGUMENT, "%s: %s is NULL", __func__,
				  !mem	      ? "mem"
				  : !listener ? "listener"
					      : "id");
	status = copy_listener(listener, &entry.callbacks);
	if (status != SQUIB_OK)
		return status;
	status = mem_mutation_lock(mem, __func__);
	if (status != SQUIB_OK)
		return status;
	entry.id = atomic_fetch_add_explicit(&next_listener_id, 1, memory_order_relaxed);
	status = listener_add_locked(mem, &entry);
	mem_mutation_unlock(mem);
	if (status == SQUIB_OK)
		*id = entry.id;
	return status;
}

squib_status_t squib_mem_listener_remove(squib_mem_t *mem, uint64_t id)
{
	struct listener_set *set;
	const struct table *table;
	squib_status_t status;
	size_t at;

	if (!mem)
		return squib_fail(SQUIB_E_INVALID_ARGUMENT, "%s: mem is NULL", __func__);
	status = mem_mutation_lock(mem, __func__);
	if (status != SQUIB_OK)
		return status;
	set = &mem->listeners;
	for (at = 0; at < set->count && set->entries[at].id != id; at++)
		;
	if (at == set->count) {
		mem_mutation_unlock(mem);
		return squib_fail(SQUIB_E_NOT_FOUND, "this handle has no listener %" PRIu64, id);
	}
	table = mem_table_locked(mem);
	for (size_t i = table->count; i-- > 0;)
		call_del(mem, &set->entries[at], &table->regions[i]);
	for (size_t i = at + 1; i < set->count; i++) {
		set->entries[i - 1] = set->entries[i];
		SQUIB_NOT_A_LIBCALL();
	}
	set->count--;
	mem_mutation_unlock(mem);
	return SQUIB_OK;
}
