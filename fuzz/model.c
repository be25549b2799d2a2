/* SPDX-License-Identifier: MIT */
/*
 * The fuzzer's reference model; see model.h. Each function quotes the
 * contract rule it implements. Nothing here is shared with lib/.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

/* 128 bits: base + size and addr + len never wrap here, so "overflows 64
 * bits" is a plain comparison with UINT64_MAX. */
__extension__ typedef unsigned __int128 wide_t;

#define WIDE_U64_MAX ((wide_t)UINT64_MAX)

/* "SQUIB_PROT_RWX (all three)"; any other bit is unknown. */
#define MODEL_PROT_KNOWN 7u

void model_init(struct model *model)
{
	memset(model, 0, sizeof(*model));
}

static void region_free(struct model_region *region)
{
	free(region->bytes);
	free(region->file_bytes);
	free(region->dirty);
}

void model_fini(struct model *model)
{
	for (size_t i = 0; i < model->count; i++)
		region_free(&model->regions[i]);
	model_init(model);
}

static wide_t region_end(const struct model_region *region)
{
	return (wide_t)region->base + region->size;
}

squib_status_t model_add_status(const struct model *model, uint64_t base, uint64_t size,
				uint32_t slot, uint32_t prot, bool bytes_null)
{
	wide_t end = (wide_t)base + size;

	/* "Argument checks come first": NULL required pointer, size 0, a
	 * range whose end overflows 64 bits ("may end at UINT64_MAX but not
	 * at 2^64"), unknown prot bits. */
	if (bytes_null || size == 0 || end > WIDE_U64_MAX || (prot & ~MODEL_PROT_KNOWN) != 0)
		return SQUIB_E_INVALID_ARGUMENT;
	/* "For adding a region the order is then SLOT_IN_USE, OVERLAP, NO_MEMORY." */
	for (size_t i = 0; i < model->count; i++)
		if (model->regions[i].slot == slot)
			return SQUIB_E_SLOT_IN_USE;
	/* Two half-open ranges overlap when each starts before the other ends. */
	for (size_t i = 0; i < model->count; i++) {
		const struct model_region *other = &model->regions[i];

		if ((wide_t)base < region_end(other) && (wide_t)other->base < end)
			return SQUIB_E_OVERLAP;
	}
	if (size >= MODEL_HUGE_SIZE)
		return SQUIB_E_NO_MEMORY;
	return SQUIB_OK;
}

bool model_add(struct model *model, uint64_t base, uint64_t size, uint32_t slot, uint32_t prot,
	       const uint8_t *bytes)
{
	/* "squib_mem_add_region and squib_mem_add_region_from_bytes are
	 * squib_mem_add_region_opts with the anonymous backing" (flags 0). */
	struct model_new_region region = {
	    .base = base, .size = size, .slot = slot, .prot = prot, .bytes = bytes};

	return model_add_opts(model, &region);
}

bool model_add_opts(struct model *model, const struct model_new_region *added)
{
	struct model_region *region;
	size_t size = (size_t)added->size;

	if (model->count == MODEL_MAX_REGIONS || added->size > SIZE_MAX)
		return false;
	region = &model->regions[model->count];
	memset(region, 0, sizeof(*region));
	/* "zero-filled anonymous private memory", or a copy of bytes, or
	 * what the file or the caller's mapping holds */
	region->bytes = calloc(1, size);
	if (!region->bytes)
		return false;
	if (added->bytes)
		memcpy(region->bytes, added->bytes, size);
	if (added->backing == MODEL_FILE_PRIVATE) {
		region->file_bytes = malloc(size);
		if (!region->file_bytes) {
			free(region->bytes);
			return false;
		}
		memcpy(region->file_bytes, region->bytes, size);
	}
	/* "SQUIB_REGION_DIRTY_LOG: dirty logging on from the start", every
	 * bit clear. */
	if (added->flags & MODEL_DIRTY_LOG) {
		region->dirty =
		    calloc(model_dirty_words(added->base, added->size), sizeof(uint64_t));
		if (!region->dirty) {
			free(region->bytes);
			free(region->file_bytes);
			return false;
		}
	}
	region->base = added->base;
	region->size = added->size;
	region->slot = added->slot;
	region->prot = added->prot;
	region->flags = added->flags;
	region->backing = added->backing;
	/* "info.fd: the region's file (memfd or the dup), or -1" and
	 * "Without a file, fd is -1 and fd_offset 0". */
	region->has_fd = added->flags & (MODEL_FILE | MODEL_SHARED);
	region->fd_offset = added->flags & MODEL_FILE ? added->fd_offset : 0;
	/* "a label (copied, truncated)" to SQUIB_REGION_NAME_MAX - 1 bytes */
	if (added->name)
		strncpy(region->name, added->name, MODEL_NAME_MAX - 1);
	model->count++;
	return true;
}

static bool aligned(uint64_t value, uint64_t align)
{
	return value % align == 0;
}

/* The INVALID_ARGUMENT rules of squib_mem_add_region_opts(), in the
 * contract's words; their order among themselves does not show. */
static bool opts_invalid(const struct model_opts *o)
{
	bool file = o->flags & MODEL_FILE, mine = o->host_addr;
	bool anonymous = !mine && !(o->flags & (MODEL_FILE | MODEL_SHARED));
	bool writes_through = !(o->flags & (MODEL_READONLY | MODEL_PRIVATE));
	wide_t end = (wide_t)o->base + o->size;

	/* "opts->sz smaller than the 0.3 layout", "size 0, a range whose end
	 * overflows, unknown prot or flags bits" */
	if (o->opts_null || o->sz == MODEL_SZ_SHORT || o->size == 0 || end > WIDE_U64_MAX ||
	    (o->prot & ~MODEL_PROT_KNOWN) || (o->flags & ~MODEL_FLAGS_KNOWN))
		return true;
	/* "Contradictions are INVALID_ARGUMENT: PRIVATE without a mapped file,
	 * SHARED with FILE or host_addr, bytes with FILE or host_addr, HUGETLB
	 * with THP, HUGETLB with FILE or host_addr, FILE with a negative fd." */
	if ((o->flags & MODEL_PRIVATE) && (!file || mine))
		return true;
	if ((o->flags & MODEL_SHARED) && (file || mine))
		return true;
	if (o->bytes && (file || mine))
		return true;
	if ((o->flags & MODEL_HUGETLB) && ((o->flags & MODEL_THP) || file || mine))
		return true;
	if (file && o->fd == MODEL_FD_NEGATIVE)
		return true;
	/* "HUGETLB (anonymous or shared) base and size aligned to the huge
	 * page size" (an unknown huge page size is UNSUPPORTED, below). */
	if ((o->flags & MODEL_HUGETLB) && o->huge &&
	    (!aligned(o->base, o->huge) || !aligned(o->size, o->huge)))
		return true;
	/* "Anything but the anonymous backing needs range.base, range.size,
	 * fd_offset and host_addr aligned to the host page size." */
	if (!anonymous && (!aligned(o->base, o->page) || !aligned(o->size, o->page) ||
			   (file && !aligned(o->fd_offset, o->page)) ||
			   (mine && !aligned(o->host_addr_value, o->page))))
		return true;
	if (mine && (wide_t)o->host_addr_value + o->size > (wide_t)UINTPTR_MAX + 1)
		return true;
	if (!file)
		return false;
	/* "an fd that is not open"; a caller's mapping needs nothing more:
	 * "the fd is dup'd, not mapped" (backing.h: the file rules are for "a
	 * FILE mapped by the library"). */
	if (o->fd == MODEL_FD_CLOSED)
		return true;
	if (mine)
		return false;
	/* "not open for reading", "a shared writable mapping (neither
	 * READONLY nor PRIVATE) of an fd not open for writing",
	 * "fd_offset + range.size past the end of a regular file" */
	if (o->fd == MODEL_FD_WRONLY || (o->fd == MODEL_FD_RDONLY && writes_through))
		return true;
	return (wide_t)o->fd_offset + o->size > o->file_size;
}

squib_status_t model_add_opts_status(const struct model *model, const struct model_opts *o)
{
	squib_status_t status;

	/* "Check order: INVALID_ARGUMENT, UNSUPPORTED, SLOT_IN_USE, OVERLAP,
	 * then host failures." */
	if (opts_invalid(o))
		return SQUIB_E_INVALID_ARGUMENT;
	/* "Larger, with any non-zero byte past the layout this library
	 * knows: UNSUPPORTED"; "hugetlb without a default huge page size" */
	if (o->sz == MODEL_SZ_LONG_TAIL || ((o->flags & MODEL_HUGETLB) && o->huge == 0))
		return SQUIB_E_UNSUPPORTED;
	/* The same checks as 0.2's add; prot and bytes were checked above. */
	status = model_add_status(model, o->base, o->size, o->slot, 0, false);
	/* A caller's mapping is used as is: nothing is mapped, so no size
	 * is too large for the host. */
	if (o->host_addr && status == SQUIB_E_NO_MEMORY)
		return SQUIB_OK;
	return status;
}

squib_status_t model_remove(struct model *model, uint32_t slot)
{
	for (size_t i = 0; i < model->count; i++) {
		if (model->regions[i].slot != slot)
			continue;
		region_free(&model->regions[i]);
		/* Keep the others in the order they were added. */
		memmove(&model->regions[i], &model->regions[i + 1],
			(model->count - i - 1) * sizeof(model->regions[0]));
		model->count--;
		return SQUIB_OK;
	}
	return SQUIB_E_NOT_FOUND;
}

squib_status_t model_access(const struct model *model, uint64_t addr, uint64_t len, bool buf_null,
			    const struct model_region **where)
{
	wide_t start = addr, stop = (wide_t)addr + len;

	*where = NULL;
	/* Rule 4: "buf == NULL with len > 0 is INVALID_ARGUMENT". */
	if (buf_null && len > 0)
		return SQUIB_E_INVALID_ARGUMENT;
	for (size_t i = 0; i < model->count; i++) {
		const struct model_region *region = &model->regions[i];

		if (len == 0) {
			/* Rule 4: "len == 0 succeeds when addr lies in
			 * [base, base + size] of some region (the end itself
			 * included)". */
			if (start >= region->base && start <= region_end(region))
				return SQUIB_OK;
			continue;
		}
		/* Rules 2 and 3: wholly inside ONE region; an end past 2^64
		 * can never be inside one, as no region ends past UINT64_MAX. */
		if (start >= region->base && stop <= region_end(region)) {
			*where = region;
			return SQUIB_OK;
		}
	}
	return SQUIB_E_OUT_OF_RANGE;
}

squib_status_t model_write_status(const struct model *model, uint64_t addr, uint64_t len,
				  bool buf_null, const struct model_region **where)
{
	squib_status_t status = model_access(model, addr, len, buf_null, where);

	/* "Every library write (squib_mem_write*, ...) to a READONLY region
	 * fails with SQUIB_E_READ_ONLY and changes nothing." An empty write
	 * writes to no region (*where is NULL): 0.2's rule 4 decides it, as
	 * the contract says of the empty translation for writing and the
	 * empty discard. */
	if (status == SQUIB_OK && *where && ((*where)->flags & MODEL_READONLY)) {
		*where = NULL;
		return SQUIB_E_READ_ONLY;
	}
	return status;
}

squib_status_t model_discard_status(const struct model *model, uint64_t addr, uint64_t len,
				    uint64_t page, const struct model_region **where)
{
	squib_status_t status;

	*where = NULL;
	/* "INVALID_ARGUMENT when not page-aligned": an argument check, first. */
	if (!aligned(addr, page) || !aligned(len, page))
		return SQUIB_E_INVALID_ARGUMENT;
	/* "OUT_OF_RANGE when not inside one region"; "len 0: a no-op that
	 * succeeds where an empty access would". */
	status = model_access(model, addr, len, false, where);
	if (status != SQUIB_OK || len == 0)
		return status;
	/* "READ_ONLY on a read-only region, UNSUPPORTED on a caller's
	 * mapping" */
	if ((*where)->flags & MODEL_READONLY)
		status = SQUIB_E_READ_ONLY;
	else if ((*where)->backing == MODEL_CALLER)
		status = SQUIB_E_UNSUPPORTED;
	if (status != SQUIB_OK)
		*where = NULL;
	return status;
}

/* "access is SQUIB_PROT_READ, SQUIB_PROT_WRITE or both; any other bit, or
 * none, is SQUIB_E_INVALID_ARGUMENT". */
static bool access_invalid(uint32_t access)
{
	return access == 0 || (access & ~(MODEL_PROT_READ | MODEL_PROT_WRITE)) != 0;
}

squib_status_t model_host_range_status(const struct model *model, uint64_t addr, uint64_t len,
				       uint32_t access, bool host_null,
				       const struct model_region **where)
{
	squib_status_t status;

	*where = NULL;
	if (host_null || access_invalid(access))
		return SQUIB_E_INVALID_ARGUMENT;
	/* "[addr, addr + len) ... must lie inside ONE region (the rule of
	 * squib_mem_read())"; "len 0 succeeds where an empty access does". */
	status = model_access(model, addr, len, false, where);
	if (status != SQUIB_OK)
		return status;
	/* "SQUIB_PROT_WRITE on any read-only region is SQUIB_E_READ_ONLY":
	 * an empty range is on no region (*where is NULL). */
	if ((access & MODEL_PROT_WRITE) && *where && ((*where)->flags & MODEL_READONLY)) {
		*where = NULL;
		return SQUIB_E_READ_ONLY;
	}
	return SQUIB_OK;
}

squib_status_t model_translate(const struct model *model, const struct model_translate *call,
			       struct model_piece *pieces, size_t *count)
{
	const struct model_region *region = model_find(model, call->addr), *unused;
	wide_t at = call->addr, stop = (wide_t)call->addr + call->len;
	bool read_only = false;
	size_t n = 0;

	*count = 0;
	/* "NULL mem or iov_used, a NULL iov with iov_cap > 0, or a bad
	 * access"; for a pin, "also for a NULL pin". */
	if (call->used_null || call->pin_null || (call->iov_null && call->iov_cap > 0) ||
	    access_invalid(call->access))
		return SQUIB_E_INVALID_ARGUMENT;
	/* "len == 0 succeeds where 0.2's rule 4 says an empty access does
	 * (*iov_used = 0, even with iov_cap 0)" */
	if (call->len == 0)
		return model_access(model, call->addr, 0, false, &unused);
	/* "A hole, an overflow or an unmapped start is OUT_OF_RANGE": the
	 * range is covered by regions each beginning where the last ended. */
	if (stop > WIDE_U64_MAX || !region)
		return SQUIB_E_OUT_OF_RANGE;
	for (;;) {
		wide_t end = region_end(region);

		pieces[n].region = region;
		pieces[n].offset = (uint64_t)(at - region->base);
		pieces[n].len = (uint64_t)((stop < end ? stop : end) - at);
		n++;
		if (region->flags & MODEL_READONLY)
			read_only = true;
		if (stop <= end)
			break;
		at = end;
		/* The region that begins exactly at the end (none begins at
		 * 2^64: no region ends past UINT64_MAX). */
		if (end > WIDE_U64_MAX)
			return SQUIB_E_OUT_OF_RANGE;
		region = model_find(model, (uint64_t)end);
		if (!region || region->base != (uint64_t)end)
			return SQUIB_E_OUT_OF_RANGE;
	}
	/* "WRITE touching any read-only region is READ_ONLY" */
	if (read_only && (call->access & MODEL_PROT_WRITE))
		return SQUIB_E_READ_ONLY;
	/* "more than iov_cap regions are touched: NO_SPACE (checked last)" */
	if (n > call->iov_cap)
		return SQUIB_E_NO_SPACE;
	*count = n;
	return SQUIB_OK;
}

squib_status_t model_ring_status(const struct model *model, uint64_t addr, unsigned width,
				 bool store, bool out_null, const struct model_region **where)
{
	squib_status_t status;

	*where = NULL;
	/* "INVALID_ARGUMENT for a NULL mem or out or an address that is not
	 * a multiple of the value's size" */
	if (out_null || addr % width != 0)
		return SQUIB_E_INVALID_ARGUMENT;
	/* "bounds-checked as squib_mem_read() (wholly inside ONE region)" */
	status = model_access(model, addr, width, false, where);
	if (status != SQUIB_OK)
		return status;
	/* "for the stores, SQUIB_E_READ_ONLY on a read-only region" */
	if (store && ((*where)->flags & MODEL_READONLY)) {
		*where = NULL;
		return SQUIB_E_READ_ONLY;
	}
	return SQUIB_OK;
}

const struct model_region *model_find(const struct model *model, uint64_t addr)
{
	/* squib_range_contains: "base <= addr and addr - base < size". */
	for (size_t i = 0; i < model->count; i++) {
		const struct model_region *region = &model->regions[i];

		if ((wide_t)addr >= region->base && (wide_t)addr < region_end(region))
			return region;
	}
	return NULL;
}

const struct model_region *model_get(const struct model *model, uint32_t slot)
{
	for (size_t i = 0; i < model->count; i++)
		if (model->regions[i].slot == slot)
			return &model->regions[i];
	return NULL;
}

size_t model_sorted(const struct model *model, const struct model_region **out)
{
	/* Insertion sort: at most MODEL_MAX_REGIONS entries. */
	for (size_t i = 0; i < model->count; i++) {
		size_t j = i;

		while (j > 0 && out[j - 1]->base > model->regions[i].base) {
			out[j] = out[j - 1];
			j--;
		}
		out[j] = &model->regions[i];
	}
	return model->count;
}

uint64_t model_bytes(const struct model *model)
{
	uint64_t total = 0;

	for (size_t i = 0; i < model->count; i++)
		total += model->regions[i].size;
	return total;
}

/* ---- listeners, set_protection, dirty logging ------------------------------
 *
 * The functions below read the calls a mutating operation made (struct
 * model_log) and say whether they are the calls the contract prescribes,
 * given what each listener answered: the listeners are the harness's, and
 * whether one refuses is its own business; which calls follow from a
 * refusal, in which order, with what info, is the contract's. */

void model_view_of(const struct model_region *region, struct model_view *view)
{
	memset(view, 0, sizeof(*view));
	view->base = region->base;
	view->size = region->size;
	view->slot = region->slot;
	view->prot = region->prot;
	view->flags = region->flags;
	view->has_fd = region->has_fd;
	memcpy(view->name, region->name, sizeof(view->name));
}

void model_view_of_new(const struct model_new_region *added, struct model_view *view)
{
	/* What model_add_opts() would register, as its info shows it. */
	memset(view, 0, sizeof(*view));
	view->base = added->base;
	view->size = added->size;
	view->slot = added->slot;
	view->prot = added->prot;
	view->flags = added->flags;
	view->has_fd = added->flags & (MODEL_FILE | MODEL_SHARED);
	if (added->name)
		strncpy(view->name, added->name, MODEL_NAME_MAX - 1);
}

static const char *cb_name(enum model_cb cb)
{
	static const char *const names[MODEL_CB_COUNT] = {
	    [MODEL_CB_ADD] = "region_add",    [MODEL_CB_DEL] = "region_del",
	    [MODEL_CB_PROTECT] = "protect",   [MODEL_CB_DIRTY_LOG] = "dirty_log",
	    [MODEL_CB_LOG_SYNC] = "log_sync",
	};

	return (unsigned)cb < MODEL_CB_COUNT ? names[cb] : "(no callback)";
}

__attribute__((format(printf, 2, 3))) static bool differ(struct model_log *log, const char *fmt,
							 ...)
{
	va_list args;

	va_start(args, fmt);
	vsnprintf(log->why, sizeof(log->why), fmt, args);
	va_end(args);
	return false;
}

static bool view_equal(const struct model_view *a, const struct model_view *b)
{
	return a->base == b->base && a->size == b->size && a->slot == b->slot &&
	       a->prot == b->prot && a->flags == b->flags && a->has_fd == b->has_fd &&
	       strncmp(a->name, b->name, sizeof(a->name)) == 0;
}

static int describe_call(char *text, size_t len, uint64_t tag, enum model_cb cb,
			 const struct model_view *info, uint64_t arg)
{
	return snprintf(text, len,
			"%s of listener %" PRIu64 " for slot %" PRIu32 " [0x%016" PRIx64
			" + %" PRIu64 "] prot %" PRIu32 " flags 0x%" PRIx32 " arg %" PRIu64,
			cb_name(cb), tag, info->slot, info->base, info->size, info->prot,
			info->flags, arg);
}

/*
 * The next call must be cb of listener tag with info and arg (for
 * LOG_SYNC, arg is the least number of words: the region's); *ret is what
 * the listener answered.
 */
static bool expect(struct model_log *log, uint64_t tag, enum model_cb cb,
		   const struct model_view *info, uint64_t arg, int *ret)
{
	char want[160], got[160];
	const struct model_call *call;

	describe_call(want, sizeof(want), tag, cb, info, arg);
	if (log->at == log->count)
		return differ(log, "expected %s (call %zu), there was no such call", want,
			      log->at + 1);
	call = &log->calls[log->at];
	if (call->tag != tag || call->cb != cb || !view_equal(&call->info, info) ||
	    (cb == MODEL_CB_LOG_SYNC ? call->arg < arg : call->arg != arg)) {
		describe_call(got, sizeof(got), call->tag, call->cb, &call->info, call->arg);
		return differ(log, "call %zu is %s; the contract expects %s", log->at + 1, got,
			      want);
	}
	log->at++;
	*ret = call->ret;
	return true;
}

/* "A callback fails by returning a negative squib_status_t, which the
 * mutating call then returns (any other non-zero value is taken as
 * SQUIB_E_BUSY)." */
static squib_status_t refusal(int ret)
{
	return ret < 0 ? (squib_status_t)ret : SQUIB_E_BUSY;
}

static bool has(const struct model_listener *listener, enum model_cb cb)
{
	return listener->callbacks & (1u << cb);
}

bool model_log_done(struct model_log *log)
{
	char got[160];
	const struct model_call *call;

	if (log->at == log->count)
		return true;
	call = &log->calls[log->at];
	describe_call(got, sizeof(got), call->tag, call->cb, &call->info, call->arg);
	return differ(log, "call %zu, %s, was not expected (%zu call(s) in all, %zu expected)",
		      log->at + 1, got, log->count, log->at);
}

bool model_listen_add(const struct model *model, struct model_log *log,
		      const struct model_view *region, squib_status_t *status)
{
	size_t accepted;
	int ret = 0;

	*status = SQUIB_OK;
	/* "every listener's region_add runs in registration order" (a NULL
	 * one accepts) */
	for (accepted = 0; accepted < model->listener_count; accepted++) {
		const struct model_listener *listener = &model->listeners[accepted];

		if (!has(listener, MODEL_CB_ADD))
			continue;
		if (!expect(log, listener->tag, MODEL_CB_ADD, region, 0, &ret))
			return false;
		if (ret != 0)
			break;
	}
	if (ret == 0)
		return model_log_done(log);
	/* "if one fails, the ones already called get region_del in reverse
	 * order, the region is destroyed and the add fails with that
	 * status": the ones that accepted, not the one refusing. */
	log->refused = true;
	*status = refusal(ret);
	while (accepted-- > 0) {
		const struct model_listener *listener = &model->listeners[accepted];

		if (has(listener, MODEL_CB_DEL) &&
		    !expect(log, listener->tag, MODEL_CB_DEL, region, 0, &ret))
			return false;
	}
	return model_log_done(log);
}

bool model_listen_remove(const struct model *model, struct model_log *log,
			 const struct model_region *region)
{
	struct model_view view;
	int ret;

	/* "Removing a region: it stops being visible to new accesses first,
	 * then every listener's region_del runs in reverse registration
	 * order." */
	model_view_of(region, &view);
	for (size_t i = model->listener_count; i-- > 0;) {
		const struct model_listener *listener = &model->listeners[i];

		if (has(listener, MODEL_CB_DEL) &&
		    !expect(log, listener->tag, MODEL_CB_DEL, &view, 0, &ret))
			return false;
	}
	return model_log_done(log);
}

squib_status_t model_listener_add_status(enum model_sz sz, bool listener_null, bool id_null)
{
	/* "INVALID_ARGUMENT for a NULL mem, listener or id, or a sz smaller
	 * than this layout; UNSUPPORTED for a larger sz with a non-zero byte
	 * past this layout" */
	if (listener_null || id_null || sz == MODEL_SZ_SHORT)
		return SQUIB_E_INVALID_ARGUMENT;
	if (sz == MODEL_SZ_LONG_TAIL)
		return SQUIB_E_UNSUPPORTED;
	return SQUIB_OK;
}

bool model_listener_add(struct model *model, struct model_log *log, uint64_t tag, uint64_t id,
			unsigned callbacks, squib_status_t *status)
{
	const struct model_region *sorted[MODEL_MAX_REGIONS];
	size_t count = model_sorted(model, sorted), accepted;
	struct model_view view;
	int ret = 0;

	*status = SQUIB_OK;
	/* "listener_add replays region_add for every current region, in
	 * ascending base order." */
	for (accepted = 0; accepted < count && (callbacks & (1u << MODEL_CB_ADD)); accepted++) {
		model_view_of(sorted[accepted], &view);
		if (!expect(log, tag, MODEL_CB_ADD, &view, 0, &ret))
			return false;
		if (ret != 0)
			break;
	}
	if (ret != 0) {
		/* "If one fails, those that succeeded get region_del in
		 * reverse order, the listener is not added and the status is
		 * returned." */
		log->refused = true;
		*status = refusal(ret);
		while (accepted-- > 0 && (callbacks & (1u << MODEL_CB_DEL))) {
			model_view_of(sorted[accepted], &view);
			if (!expect(log, tag, MODEL_CB_DEL, &view, 0, &ret))
				return false;
		}
		return model_log_done(log);
	}
	if (!model_log_done(log))
		return false;
	if (model->listener_count == MODEL_MAX_LISTENERS)
		return differ(log, "the model holds %d listeners at most", MODEL_MAX_LISTENERS);
	/* "Later listeners are called after earlier ones (registration
	 * order)": it goes last. */
	model->listeners[model->listener_count++] =
	    (struct model_listener){.tag = tag, .id = id, .callbacks = callbacks};
	return true;
}

const struct model_listener *model_listener(const struct model *model, uint64_t id)
{
	for (size_t i = 0; i < model->listener_count; i++)
		if (model->listeners[i].id == id)
			return &model->listeners[i];
	return NULL;
}

bool model_listener_remove(struct model *model, struct model_log *log, uint64_t id,
			   squib_status_t *status)
{
	const struct model_region *sorted[MODEL_MAX_REGIONS];
	const struct model_listener *listener = model_listener(model, id);
	size_t count = model_sorted(model, sorted), at;
	struct model_view view;
	int ret;

	/* "NOT_FOUND for an unknown id" (nothing called) */
	*status = listener ? SQUIB_OK : SQUIB_E_NOT_FOUND;
	if (!listener)
		return model_log_done(log);
	/* "listener_remove calls region_del for every current region, in
	 * descending base order, then forgets the listener." */
	for (size_t i = count; i-- > 0 && has(listener, MODEL_CB_DEL);) {
		model_view_of(sorted[i], &view);
		if (!expect(log, listener->tag, MODEL_CB_DEL, &view, 0, &ret))
			return false;
	}
	if (!model_log_done(log))
		return false;
	at = (size_t)(listener - model->listeners);
	memmove(&model->listeners[at], &model->listeners[at + 1],
		(model->listener_count - at - 1) * sizeof(model->listeners[0]));
	model->listener_count--;
	return true;
}

static struct model_region *region_of(struct model *model, uint32_t slot)
{
	for (size_t i = 0; i < model->count; i++)
		if (model->regions[i].slot == slot)
			return &model->regions[i];
	return NULL;
}

/*
 * One change of state told to every listener that has cb, in registration
 * order, as (now, arg_now); a refusal is undone for the ones that accepted
 * in reverse order as (before, arg_before) ("a failure undoes the
 * listeners already called (the same callback with the old state)").
 */
static bool listen_change(const struct model *model, struct model_log *log, enum model_cb cb,
			  const struct model_view *now, uint64_t arg_now,
			  const struct model_view *before, uint64_t arg_before,
			  squib_status_t *status)
{
	size_t accepted;
	int ret = 0;

	*status = SQUIB_OK;
	for (accepted = 0; accepted < model->listener_count; accepted++) {
		const struct model_listener *listener = &model->listeners[accepted];

		if (!has(listener, cb))
			continue;
		if (!expect(log, listener->tag, cb, now, arg_now, &ret))
			return false;
		if (ret != 0)
			break;
	}
	if (ret != 0) {
		log->refused = true;
		*status = refusal(ret);
		while (accepted-- > 0) {
			const struct model_listener *listener = &model->listeners[accepted];

			if (has(listener, cb) &&
			    !expect(log, listener->tag, cb, before, arg_before, &ret))
				return false;
		}
	}
	return model_log_done(log);
}

bool model_set_protection(struct model *model, struct model_log *log, uint32_t slot, uint32_t prot,
			  squib_status_t *status)
{
	struct model_region *region = region_of(model, slot);
	struct model_view before, now;

	/* "SQUIB_E_INVALID_ARGUMENT for ... unknown prot bits;
	 * SQUIB_E_NOT_FOUND"; "Asking for the protection the region has
	 * succeeds and calls nobody." */
	*status = (prot & ~MODEL_PROT_KNOWN) ? SQUIB_E_INVALID_ARGUMENT
		  : !region		     ? SQUIB_E_NOT_FOUND
					     : SQUIB_OK;
	if (*status != SQUIB_OK || region->prot == prot)
		return model_log_done(log);
	/* protect: "The region's recorded protection changes from old_prot
	 * to info->prot; also called with the states swapped to undo". */
	model_view_of(region, &before);
	now = before;
	now.prot = prot;
	if (!listen_change(model, log, MODEL_CB_PROTECT, &now, before.prot, &before, prot, status))
		return false;
	/* "Changes a region's recorded protection (the guest's view) after
	 * the listeners accepted it": info.prot shows it; accesses and the
	 * host mapping are not affected. */
	if (*status == SQUIB_OK)
		region->prot = prot;
	return true;
}

bool model_set_dirty_log(struct model *model, struct model_log *log, uint32_t slot, bool enable,
			 squib_status_t *status)
{
	struct model_region *region = region_of(model, slot);
	struct model_view before, now;
	uint64_t *bits = NULL;

	*status = region ? SQUIB_OK : SQUIB_E_NOT_FOUND;
	/* "Asking for the state the region is in succeeds and calls nobody." */
	if (!region || ((region->flags & MODEL_DIRTY_LOG) != 0) == enable)
		return model_log_done(log);
	/* dirty_log: "info->flags shows SQUIB_REGION_DIRTY_LOG as it is about
	 * to be. Also called with the old state to undo". */
	model_view_of(region, &before);
	now = before;
	now.flags ^= MODEL_DIRTY_LOG;
	if (!listen_change(model, log, MODEL_CB_DIRTY_LOG, &now, enable, &before, !enable, status))
		return false;
	if (*status != SQUIB_OK)
		return true;
	/* "Logging starts with every bit clear"; switched off, nothing is
	 * kept. */
	if (enable) {
		bits = calloc(model_dirty_words(region->base, region->size), sizeof(uint64_t));
		if (!bits)
			return differ(log, "the model is out of memory");
	}
	free(region->dirty);
	region->dirty = bits;
	region->flags ^= MODEL_DIRTY_LOG;
	return true;
}

uint64_t model_dirty_pages(uint64_t base, uint64_t size)
{
	/* From align_down(base, 4096) to the end rounded up. */
	wide_t first = base / 4096u, end = ((wide_t)base + size + 4095u) / 4096u;

	return (uint64_t)(end - first);
}

size_t model_dirty_words(uint64_t base, uint64_t size)
{
	/* "a region needs ceil(pages / 64) words" */
	return (size_t)((model_dirty_pages(base, size) + 63u) / 64u);
}

void model_mark_dirty(const struct model_region *region, uint64_t offset, uint64_t len)
{
	/* Bit i % 64 of word i / 64 is the page align_down(base, 4096) +
	 * i * 4096: page i holds region offsets from i * 4096 - base % 4096. */
	wide_t first, last;

	if (!(region->flags & MODEL_DIRTY_LOG) || len == 0)
		return;
	first = ((wide_t)region->base % 4096u + offset) / 4096u;
	last = ((wide_t)region->base % 4096u + offset + len - 1u) / 4096u;
	for (wide_t page = first; page <= last; page++)
		region->dirty[(size_t)(page / 64u)] |= (uint64_t)1 << (unsigned)(page % 64u);
}

bool model_get_dirty_log(struct model *model, struct model_log *log,
			 const struct model_dirty_call *call, uint64_t *out, squib_status_t *status)
{
	struct model_region *region = region_of(model, call->slot);
	struct model_view view;
	bool refused = false, deciding = false;
	size_t words;
	int ret;

	/* "SQUIB_E_INVALID_ARGUMENT for a NULL mem or bitmap, or unknown
	 * flags; SQUIB_E_NOT_FOUND; SQUIB_E_UNSUPPORTED when the region does
	 * not log; SQUIB_E_NO_SPACE when words is below what the region
	 * needs": refusals of the call itself, which "changes nothing", so no
	 * log_sync runs for them. */
	if (call->bitmap_null || (call->flags & ~(uint32_t)0x1u))
		*status = SQUIB_E_INVALID_ARGUMENT;
	else if (!region)
		*status = SQUIB_E_NOT_FOUND;
	else if (!(region->flags & MODEL_DIRTY_LOG))
		*status = SQUIB_E_UNSUPPORTED;
	else if (call->words < model_dirty_words(region->base, region->size))
		*status = SQUIB_E_NO_SPACE;
	else
		*status = SQUIB_OK;
	if (*status != SQUIB_OK)
		return model_log_done(log);
	words = model_dirty_words(region->base, region->size);
	if (words > MODEL_DIRTY_WORDS_MAX)
		return differ(log, "a bitmap of %zu words is more than the model keeps", words);
	/* "get_dirty_log first runs every listener's log_sync and keeps what
	 * they report". After a refusal the contract does not say whether
	 * the later listeners still run: either they all do or none does. */
	model_view_of(region, &view);
	for (size_t i = 0; i < model->listener_count; i++) {
		const struct model_listener *listener = &model->listeners[i];

		if (!has(listener, MODEL_CB_LOG_SYNC))
			continue;
		if (deciding) {
			deciding = false;
			if (log->at == log->count)
				break;
		}
		if (!expect(log, listener->tag, MODEL_CB_LOG_SYNC, &view, words, &ret))
			return false;
		/* "What it reports is kept even when it refuses" */
		for (size_t w = 0; w < words; w++)
			region->dirty[w] |= log->calls[log->at - 1].reported[w];
		if (ret != 0 && !refused) {
			refused = deciding = log->refused = true;
			*status = refusal(ret);
		}
	}
	if (!model_log_done(log))
		return false;
	if (refused)
		return true;
	/* "then copies the region's bitmap; with SQUIB_DIRTY_CLEAR it gets
	 * and clears atomically" */
	memcpy(out, region->dirty, words * sizeof(uint64_t));
	if (call->flags & 0x1u)
		memset(region->dirty, 0, words * sizeof(uint64_t));
	return true;
}
