/* SPDX-License-Identifier: MIT */
/*
 * squib-kvm.so: mirrors a libsquibcore memory map into the KVM memory slots
 * of one VM (the interface and the rules are in squib_kvm.h).
 *
 * The plugin does not link libsquibcore. It dlopen()s it and binds each
 * function it calls with dlvsym() at the node that introduced it, the way
 * a backend built against one release keeps working with every later
 * libsquibcore.so.0: a symbol bound at its node is exactly the function
 * this code was written against, never a same-named successor.
 *
 * The listener's callbacks are serialised by the library, but the query
 * functions of the ops table may run on any thread meanwhile, so the slot
 * table and the message sit under one mutex.
 */
#define _GNU_SOURCE /* dlvsym, dladdr, RTLD_DEFAULT */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/kvm.h>

#include "squib_kvm.h"

/* X(name, node): every library function this plugin calls, each at the
 * node of lib/libsquibcore.map that introduced it. */
#define PLUGIN_API(X)                                                                              \
	X(squib_last_error, "SQUIB_CORE_0.2")                                                      \
	X(squib_strerror, "SQUIB_CORE_0.2")                                                        \
	X(squib_mem_listener_add, "SQUIB_CORE_0.3")                                                \
	X(squib_mem_listener_remove, "SQUIB_CORE_0.3")                                             \
	X(squib_mem_mark_dirty, "SQUIB_CORE_0.3")

/* __typeof__ keeps each pointer's type the header's declaration's, so a
 * prototype change breaks this build instead of a call. */
struct api {
#define API_FIELD(name, node) __typeof__(&name) name;
	PLUGIN_API(API_FIELD)
#undef API_FIELD
};

/* KVM's dirty bitmap counts pages of 4 KiB on x86, as the library's. */
#define DIRTY_PAGE_SHIFT 12
_Static_assert((1 << DIRTY_PAGE_SHIFT) == SQUIB_DIRTY_PAGE_SIZE, "KVM's page is the library's");

/* KVM_CAP_NR_MEMSLOTS is absent only on kernels whose limit was 32. */
#define KVM_OLD_MEMSLOTS 32u

enum slot_state {
	SLOT_FREE,
	SLOT_HELD,  /* belongs to the region region_slot */
	SLOT_STUCK, /* KVM refused to delete it: never reuse the id */
};

/* One KVM slot id; the index in squib_kvm::slots is the id. */
struct slot {
	enum slot_state state;
	bool in_kvm;  /* registered (a SQUIB_PROT_NONE region is not) */
	bool logging; /* the region logs dirty pages */
	uint32_t region_slot;
	/* What KVM was last given. */
	struct kvm_userspace_memory_region reg;
	/* KVM_GET_DIRTY_LOG's buffer, while logging. */
	uint64_t *dirty;
	size_t dirty_words;
};

struct squib_kvm {
	void *lib;
	struct api api;
	int vm_fd;	    /* our own dup of the monitor's VM fd */
	bool readonly_mem;  /* KVM_CAP_READONLY_MEM */
	uint32_t max_slots; /* KVM_CAP_NR_MEMSLOTS */

	pthread_mutex_t lock; /* everything below */
	squib_mem_t *mem;     /* while attaching or attached */
	bool attached;
	uint64_t listener_id;
	struct slot *slots;
	uint32_t cap; /* slots allocated, <= max_slots */
	unsigned long failures;
	char message[512];
};

/* Records the plugin's latest failure. Called with the lock held. */
__attribute__((format(printf, 2, 3))) static void failf(struct squib_kvm *kvm, const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	(void)vsnprintf(kvm->message, sizeof(kvm->message), fmt, args);
	va_end(args);
	kvm->failures++;
}

/* What a KVM errno means to the library: the listener's veto. */
static squib_status_t status_of_errno(int err)
{
	switch (err) {
	case ENOMEM:
		return SQUIB_E_NO_MEMORY;
	case EEXIST: /* the range overlaps a slot someone else registered */
		return SQUIB_E_OVERLAP;
	default:
		return SQUIB_E_IO;
	}
}

/* KVM_SET_USER_MEMORY_REGION of s->reg, or @p reg when deleting or
 * trying new flags; the message names the call, its arguments and the
 * region. */
static squib_status_t kvm_set_region(struct squib_kvm *kvm, const struct slot *s,
				     const struct kvm_userspace_memory_region *reg, const char *why)
{
	int err;

	if (ioctl(kvm->vm_fd, KVM_SET_USER_MEMORY_REGION, reg) == 0)
		return SQUIB_OK;
	err = errno;
	failf(kvm,
	      "squib-kvm: %s of region slot %" PRIu32 ": KVM_SET_USER_MEMORY_REGION(slot %" PRIu32
	      ", flags 0x%" PRIx32 ", gpa 0x%llx, size 0x%llx, hva 0x%llx): %s",
	      why, s->region_slot, reg->slot, reg->flags, (unsigned long long)reg->guest_phys_addr,
	      (unsigned long long)reg->memory_size, (unsigned long long)reg->userspace_addr,
	      strerror(err));
	return status_of_errno(err);
}

static squib_status_t kvm_delete(struct squib_kvm *kvm, const struct slot *s, const char *why)
{
	struct kvm_userspace_memory_region reg = s->reg;

	reg.memory_size = 0;
	return kvm_set_region(kvm, s, &reg, why);
}

/* The KVM flags that say what the guest may do with a region. KVM has no
 * per-slot execute permission, so SQUIB_PROT_EXEC changes nothing. */
static uint32_t kvm_flags(uint32_t region_flags, squib_prot_t prot, bool logging)
{
	uint32_t flags = 0;

	if ((region_flags & SQUIB_REGION_READONLY) != 0 || (prot & SQUIB_PROT_WRITE) == 0)
		flags |= KVM_MEM_READONLY;
	if (logging)
		flags |= KVM_MEM_LOG_DIRTY_PAGES;
	return flags;
}

static struct slot *find_region(struct squib_kvm *kvm, uint32_t region_slot)
{
	/* A linear search: a VM has a few dozen regions, and the callbacks
	 * run only on changes of the map, never on an access. */
	for (uint32_t i = 0; i < kvm->cap; i++)
		if (kvm->slots[i].state == SLOT_HELD && kvm->slots[i].region_slot == region_slot)
			return &kvm->slots[i];
	return NULL;
}

/* The lowest free KVM slot id, growing the table up to KVM's limit. */
static squib_status_t take_slot(struct squib_kvm *kvm, uint32_t region_slot, struct slot **out)
{
	uint32_t id = 0, cap;
	struct slot *grown;

	while (id < kvm->cap && kvm->slots[id].state != SLOT_FREE)
		id++;
	if (id == kvm->cap) {
		if (kvm->cap == kvm->max_slots) {
			failf(kvm,
			      "squib-kvm: region slot %" PRIu32 ": all %" PRIu32
			      " KVM memory slots are in use",
			      region_slot, kvm->max_slots);
			return SQUIB_E_UNSUPPORTED;
		}
		cap = kvm->cap < 8 ? 8 : kvm->cap * 2;
		if (cap > kvm->max_slots)
			cap = kvm->max_slots;
		grown = realloc(kvm->slots, cap * sizeof(*grown));
		if (grown == NULL) {
			failf(kvm,
			      "squib-kvm: region slot %" PRIu32 ": no memory for %" PRIu32 " slots",
			      region_slot, cap);
			return SQUIB_E_NO_MEMORY;
		}
		memset(grown + kvm->cap, 0, (cap - kvm->cap) * sizeof(*grown));
		kvm->slots = grown;
		kvm->cap = cap;
	}
	*out = &kvm->slots[id];
	return SQUIB_OK;
}

static void release_slot(struct slot *s)
{
	free(s->dirty);
	memset(s, 0, sizeof(*s));
	s->state = SLOT_FREE;
}

/* Allocates KVM_GET_DIRTY_LOG's buffer up front, so that a log_sync never
 * fails for memory. */
static squib_status_t alloc_dirty(struct squib_kvm *kvm, const struct slot *s, uint64_t size,
				  uint64_t **out, size_t *words)
{
	uint64_t pages = size >> DIRTY_PAGE_SHIFT;

	*words = (size_t)((pages + 63) / 64);
	*out = calloc(*words == 0 ? 1 : *words, sizeof(uint64_t));
	if (*out == NULL) {
		failf(kvm, "squib-kvm: region slot %" PRIu32 ": no memory for a %zu-word dirty log",
		      s->region_slot, *words);
		return SQUIB_E_NO_MEMORY;
	}
	return SQUIB_OK;
}

/* KVM_GET_DIRTY_LOG of a logging slot into s->dirty; KVM clears its own
 * log as it hands it over. */
static squib_status_t harvest(struct squib_kvm *kvm, struct slot *s)
{
	struct kvm_dirty_log log;
	int err;

	memset(&log, 0, sizeof(log));
	log.slot = s->reg.slot;
	log.dirty_bitmap = s->dirty;
	if (ioctl(kvm->vm_fd, KVM_GET_DIRTY_LOG, &log) == 0)
		return SQUIB_OK;
	err = errno;
	failf(kvm, "squib-kvm: KVM_GET_DIRTY_LOG(slot %" PRIu32 ") of region slot %" PRIu32 ": %s",
	      s->reg.slot, s->region_slot, strerror(err));
	return status_of_errno(err);
}

static squib_status_t on_region_add(void *ctx, const squib_region_info_t *info)
{
	struct squib_kvm *kvm = ctx;
	bool logging = (info->flags & SQUIB_REGION_DIRTY_LOG) != 0;
	squib_status_t status;
	struct slot *s;

	pthread_mutex_lock(&kvm->lock);
	if (find_region(kvm, info->slot) != NULL) {
		failf(kvm, "squib-kvm: region slot %" PRIu32 " added twice", info->slot);
		status = SQUIB_E_SLOT_IN_USE;
		goto out;
	}
	if (info->prot != SQUIB_PROT_NONE &&
	    (kvm_flags(info->flags, info->prot, false) & KVM_MEM_READONLY) != 0 &&
	    !kvm->readonly_mem) {
		failf(kvm,
		      "squib-kvm: region slot %" PRIu32 " is read-only for the guest, and "
		      "this KVM has no KVM_CAP_READONLY_MEM",
		      info->slot);
		status = SQUIB_E_UNSUPPORTED;
		goto out;
	}
	status = take_slot(kvm, info->slot, &s);
	if (status != SQUIB_OK)
		goto out;
	s->region_slot = info->slot;
	s->reg.slot = (uint32_t)(s - kvm->slots);
	s->reg.flags = kvm_flags(info->flags, info->prot, logging);
	s->reg.guest_phys_addr = info->range.base.raw;
	s->reg.memory_size = info->range.size;
	s->reg.userspace_addr = (uint64_t)(uintptr_t)info->host_addr;
	if (logging) {
		status = alloc_dirty(kvm, s, info->range.size, &s->dirty, &s->dirty_words);
		if (status != SQUIB_OK)
			goto undo;
	}
	if (info->prot != SQUIB_PROT_NONE) {
		status = kvm_set_region(kvm, s, &s->reg, "region_add");
		if (status != SQUIB_OK)
			goto undo;
		s->in_kvm = true;
	}
	s->logging = logging;
	s->state = SLOT_HELD;
	goto out;
undo:
	release_slot(s);
out:
	pthread_mutex_unlock(&kvm->lock);
	return status;
}

static void on_region_del(void *ctx, const squib_region_info_t *info)
{
	struct squib_kvm *kvm = ctx;
	struct slot *s;

	pthread_mutex_lock(&kvm->lock);
	s = find_region(kvm, info->slot);
	if (s != NULL) {
		/* The library unmaps the memory once this returns, so KVM
		 * must let go of it now. A slot KVM will not delete keeps its
		 * id for good: reusing it would modify that slot instead. */
		if (s->in_kvm && kvm_delete(kvm, s, "region_del") != SQUIB_OK)
			s->state = SLOT_STUCK;
		else
			release_slot(s);
	}
	pthread_mutex_unlock(&kvm->lock);
}

static squib_status_t on_dirty_log(void *ctx, const squib_region_info_t *info, bool enable)
{
	struct squib_kvm *kvm = ctx;
	struct kvm_userspace_memory_region reg;
	uint64_t *dirty = NULL;
	size_t words = 0;
	squib_status_t status = SQUIB_OK;
	struct slot *s;

	pthread_mutex_lock(&kvm->lock);
	s = find_region(kvm, info->slot);
	if (s == NULL || s->logging == enable)
		goto out;
	if (enable) {
		status = alloc_dirty(kvm, s, s->reg.memory_size, &dirty, &words);
		if (status != SQUIB_OK)
			goto out;
	}
	/* KVM changes the flags of a live slot in place (same id, address
	 * and size): logging starts clean, and stopping drops KVM's log,
	 * which the library is dropping as well. */
	reg = s->reg;
	reg.flags = kvm_flags(info->flags, info->prot, enable);
	if (s->in_kvm) {
		status = kvm_set_region(kvm, s, &reg, enable ? "dirty_log on" : "dirty_log off");
		if (status != SQUIB_OK) {
			free(dirty);
			goto out;
		}
	}
	s->reg.flags = reg.flags;
	s->logging = enable;
	free(s->dirty);
	s->dirty = dirty;
	s->dirty_words = words;
out:
	pthread_mutex_unlock(&kvm->lock);
	return status;
}

static squib_status_t on_log_sync(void *ctx, const squib_region_info_t *info, uint64_t *bitmap,
				  size_t words)
{
	struct squib_kvm *kvm = ctx;
	squib_status_t status = SQUIB_OK;
	struct slot *s;
	size_t n;

	pthread_mutex_lock(&kvm->lock);
	s = find_region(kvm, info->slot);
	if (s == NULL || !s->in_kvm || !s->logging)
		goto out; /* the guest cannot have written it through KVM */
	status = harvest(kvm, s);
	if (status != SQUIB_OK)
		goto out;
	/* The layouts agree (bit n = 4 KiB page n from the region's base,
	 * which KVM only accepts page-aligned), and so do the lengths. Should
	 * they not, what fits is kept and the call refused. */
	n = s->dirty_words < words ? s->dirty_words : words;
	for (size_t i = 0; i < n; i++)
		bitmap[i] |= s->dirty[i];
	for (size_t i = n; i < s->dirty_words; i++) {
		if (s->dirty[i] != 0) {
			failf(kvm,
			      "squib-kvm: log_sync of region slot %" PRIu32
			      ": KVM's log has %zu words, the library's %zu",
			      s->region_slot, s->dirty_words, words);
			status = SQUIB_E_NO_SPACE;
			break;
		}
	}
out:
	pthread_mutex_unlock(&kvm->lock);
	return status;
}

/* Hands what KVM logged of a slot about to be deleted to the library, so
 * that a protection change loses no dirty page. */
static squib_status_t flush_log(struct squib_kvm *kvm, struct slot *s)
{
	squib_status_t status = harvest(kvm, s);

	for (size_t i = 0; status == SQUIB_OK && i < s->dirty_words; i++) {
		for (unsigned bit = 0; bit < 64; bit++) {
			uint64_t gpa =
			    s->reg.guest_phys_addr + ((i * 64 + bit) << DIRTY_PAGE_SHIFT);

			if ((s->dirty[i] >> bit & 1) == 0)
				continue;
			status = kvm->api.squib_mem_mark_dirty(kvm->mem, SQUIB_GPA(gpa),
							       SQUIB_DIRTY_PAGE_SIZE);
			if (status != SQUIB_OK) {
				failf(kvm, "squib-kvm: squib_mem_mark_dirty(0x%" PRIx64 "): %s",
				      gpa, kvm->api.squib_last_error());
				break;
			}
		}
	}
	return status;
}

static squib_status_t on_protect(void *ctx, const squib_region_info_t *info, squib_prot_t old_prot)
{
	struct squib_kvm *kvm = ctx;
	bool want_in_kvm = info->prot != SQUIB_PROT_NONE;
	struct kvm_userspace_memory_region reg;
	squib_status_t status = SQUIB_OK;
	bool was_in_kvm;
	struct slot *s;

	(void)old_prot; /* s->reg holds what KVM has, which is what counts */
	pthread_mutex_lock(&kvm->lock);
	s = find_region(kvm, info->slot);
	if (s == NULL)
		goto out;
	reg = s->reg;
	reg.flags = kvm_flags(info->flags, info->prot, s->logging);
	if (want_in_kvm == s->in_kvm && reg.flags == s->reg.flags)
		goto out; /* e.g. only SQUIB_PROT_EXEC changed */
	was_in_kvm = s->in_kvm;
	if (want_in_kvm && (reg.flags & KVM_MEM_READONLY) != 0 && !kvm->readonly_mem) {
		failf(kvm,
		      "squib-kvm: region slot %" PRIu32 " cannot become read-only: no "
		      "KVM_CAP_READONLY_MEM",
		      s->region_slot);
		status = SQUIB_E_UNSUPPORTED;
		goto out;
	}
	/* KVM refuses to flip KVM_MEM_READONLY of a live slot: delete it and
	 * register it again. */
	if (s->in_kvm) {
		if (s->logging) {
			status = flush_log(kvm, s);
			if (status != SQUIB_OK)
				goto out;
		}
		status = kvm_delete(kvm, s, "protect");
		if (status != SQUIB_OK)
			goto out;
		s->in_kvm = false;
	}
	if (want_in_kvm) {
		status = kvm_set_region(kvm, s, &reg, "protect");
		if (status != SQUIB_OK) {
			/* Put back what the guest had: the library keeps the
			 * old protection, since this callback refused. */
			if (was_in_kvm &&
			    ioctl(kvm->vm_fd, KVM_SET_USER_MEMORY_REGION, &s->reg) == 0) {
				s->in_kvm = true;
			} else if (was_in_kvm) {
				int err = errno;
				char first[sizeof(kvm->message)];

				memcpy(first, kvm->message, sizeof(first));
				failf(kvm, "%s; restoring the old slot failed too: %s", first,
				      strerror(err));
			}
			goto out;
		}
		s->in_kvm = true;
	}
	s->reg.flags = reg.flags;
out:
	pthread_mutex_unlock(&kvm->lock);
	return status;
}

static squib_status_t op_attach(squib_kvm_t *kvm, squib_mem_t *mem)
{
	squib_listener_t listener = SQUIB_LISTENER_INIT;
	unsigned long failures;
	squib_status_t status;
	uint64_t id;

	if (kvm == NULL || mem == NULL)
		return SQUIB_E_INVALID_ARGUMENT;
	pthread_mutex_lock(&kvm->lock);
	if (kvm->mem != NULL) {
		failf(kvm, "squib-kvm: already attached to a guest memory");
		pthread_mutex_unlock(&kvm->lock);
		return SQUIB_E_BUSY;
	}
	kvm->mem = mem; /* flush_log needs it during the replay */
	failures = kvm->failures;
	pthread_mutex_unlock(&kvm->lock);

	listener.ctx = kvm;
	listener.region_add = on_region_add;
	listener.region_del = on_region_del;
	listener.protect = on_protect;
	listener.dirty_log = on_dirty_log;
	listener.log_sync = on_log_sync;
	status = kvm->api.squib_mem_listener_add(mem, &listener, &id);

	pthread_mutex_lock(&kvm->lock);
	if (status == SQUIB_OK) {
		kvm->attached = true;
		kvm->listener_id = id;
	} else {
		kvm->mem = NULL;
		/* A veto of ours has the better message already. */
		if (kvm->failures == failures)
			failf(kvm, "squib-kvm: squib_mem_listener_add: %s (%s)",
			      kvm->api.squib_strerror(status), kvm->api.squib_last_error());
	}
	pthread_mutex_unlock(&kvm->lock);
	return status;
}

static squib_status_t op_detach(squib_kvm_t *kvm)
{
	squib_status_t status;
	squib_mem_t *mem;
	uint64_t id;

	if (kvm == NULL)
		return SQUIB_E_INVALID_ARGUMENT;
	pthread_mutex_lock(&kvm->lock);
	if (!kvm->attached) {
		failf(kvm, "squib-kvm: not attached");
		pthread_mutex_unlock(&kvm->lock);
		return SQUIB_E_NOT_FOUND;
	}
	mem = kvm->mem;
	id = kvm->listener_id;
	pthread_mutex_unlock(&kvm->lock);

	status = kvm->api.squib_mem_listener_remove(mem, id); /* region_del for each */

	pthread_mutex_lock(&kvm->lock);
	if (status == SQUIB_OK) {
		kvm->attached = false;
		kvm->mem = NULL;
	} else {
		failf(kvm, "squib-kvm: squib_mem_listener_remove(%" PRIu64 "): %s (%s)", id,
		      kvm->api.squib_strerror(status), kvm->api.squib_last_error());
	}
	pthread_mutex_unlock(&kvm->lock);
	return status;
}

static squib_status_t op_listener_id(squib_kvm_t *kvm, uint64_t *id)
{
	squib_status_t status = SQUIB_E_NOT_FOUND;

	if (kvm == NULL || id == NULL)
		return SQUIB_E_INVALID_ARGUMENT;
	pthread_mutex_lock(&kvm->lock);
	if (kvm->attached) {
		*id = kvm->listener_id;
		status = SQUIB_OK;
	}
	pthread_mutex_unlock(&kvm->lock);
	return status;
}

static size_t op_slot_count(squib_kvm_t *kvm)
{
	size_t n = 0;

	if (kvm == NULL)
		return 0;
	pthread_mutex_lock(&kvm->lock);
	for (uint32_t i = 0; i < kvm->cap; i++)
		n += kvm->slots[i].state == SLOT_HELD;
	pthread_mutex_unlock(&kvm->lock);
	return n;
}

static squib_status_t op_find_slot(squib_kvm_t *kvm, uint32_t region_slot, squib_kvm_slot_t *out)
{
	squib_status_t status = SQUIB_E_NOT_FOUND;
	const struct slot *s;

	if (kvm == NULL || out == NULL)
		return SQUIB_E_INVALID_ARGUMENT;
	pthread_mutex_lock(&kvm->lock);
	s = find_region(kvm, region_slot);
	if (s != NULL) {
		out->region_slot = s->region_slot;
		out->kvm_slot = s->reg.slot;
		out->kvm_flags = s->reg.flags;
		out->registered = s->in_kvm;
		out->guest_phys_addr = s->reg.guest_phys_addr;
		out->memory_size = s->reg.memory_size;
		out->userspace_addr = s->reg.userspace_addr;
		status = SQUIB_OK;
	}
	pthread_mutex_unlock(&kvm->lock);
	return status;
}

static const char *op_last_error(squib_kvm_t *kvm)
{
	return kvm == NULL ? "squib-kvm: no instance" : kvm->message;
}

static void op_close(squib_kvm_t *kvm)
{
	if (kvm == NULL)
		return;
	if (kvm->attached && op_detach(kvm) != SQUIB_OK) {
		/* The library would call into freed memory: keep it. */
		fprintf(stderr, "%s; keeping the plugin instance\n", kvm->message);
		return;
	}
	for (uint32_t i = 0; i < kvm->cap; i++)
		free(kvm->slots[i].dirty);
	free(kvm->slots);
	(void)close(kvm->vm_fd);
	pthread_mutex_destroy(&kvm->lock);
	(void)dlclose(kvm->lib);
	free(kvm);
}

static const squib_kvm_ops_t plugin_ops = {
    .sz = sizeof(squib_kvm_ops_t),
    .attach = op_attach,
    .detach = op_detach,
    .listener_id = op_listener_id,
    .slot_count = op_slot_count,
    .find_slot = op_find_slot,
    .last_error = op_last_error,
    .close = op_close,
};

/* Binds one function at its node. The object-to-function pointer
 * conversion goes through memcpy, as ISO C users of dlsym() must. */
static bool bind_one(void *lib, const char *name, const char *node, void *field, size_t size,
		     char *err, size_t err_len)
{
	void *sym = dlvsym(lib, name, node);

	if (sym == NULL || size != sizeof(sym)) {
		(void)snprintf(err, err_len, "squib-kvm: dlvsym(%s, %s): %s", name, node,
			       sym == NULL ? dlerror() : "pointer size mismatch");
		return false;
	}
	memcpy(field, &sym, size);
	return true;
}

static bool bind_api(void *lib, struct api *api, char *err, size_t err_len)
{
#define API_BIND(name, node)                                                                       \
	if (!bind_one(lib, #name, node, &api->name, sizeof(api->name), err, err_len))              \
		return false;
	PLUGIN_API(API_BIND)
#undef API_BIND
	return true;
}

/* A second libsquibcore beside one the process already has would see none
 * of its handles: refuse it, naming both files. */
static bool same_copy(void *lib, char *err, size_t err_len)
{
	void *ours = dlvsym(lib, "squib_mem_listener_add", "SQUIB_CORE_0.3");
	void *global = dlvsym(RTLD_DEFAULT, "squib_mem_listener_add", "SQUIB_CORE_0.3");
	Dl_info ours_info, global_info;

	if (global == NULL || global == ours)
		return true;
	if (dladdr(ours, &ours_info) == 0)
		ours_info.dli_fname = "?";
	if (dladdr(global, &global_info) == 0)
		global_info.dli_fname = "?";
	(void)snprintf(err, err_len,
		       "squib-kvm: %s is a second copy of libsquibcore beside the process's %s; "
		       "pass the path of the one the monitor loaded",
		       ours_info.dli_fname, global_info.dli_fname);
	return false;
}

/* The entry point's declaration from its type in squib_kvm.h, so the two
 * cannot disagree. */
__attribute__((visibility("default"))) squib_kvm_plugin_open_fn squib_kvm_plugin_open;

squib_status_t squib_kvm_plugin_open(const char *libpath, int vm_fd, squib_kvm_t **out,
				     const squib_kvm_ops_t **ops, char *err, size_t err_len)
{
	char scratch[8];
	squib_status_t status;
	struct squib_kvm *kvm;
	int slots, saved;

	if (err == NULL || err_len == 0) {
		err = scratch;
		err_len = sizeof(scratch);
	}
	err[0] = '\0';
	if (libpath == NULL || vm_fd < 0 || out == NULL || ops == NULL) {
		(void)snprintf(err, err_len, "squib-kvm: NULL argument or negative VM fd");
		return SQUIB_E_INVALID_ARGUMENT;
	}
	kvm = calloc(1, sizeof(*kvm));
	if (kvm == NULL) {
		(void)snprintf(err, err_len, "squib-kvm: no memory");
		return SQUIB_E_NO_MEMORY;
	}
	kvm->vm_fd = -1;

	kvm->lib = dlopen(libpath, RTLD_NOW | RTLD_LOCAL);
	if (kvm->lib == NULL) {
		(void)snprintf(err, err_len, "squib-kvm: dlopen(%s): %s", libpath, dlerror());
		status = SQUIB_E_UNSUPPORTED;
		goto fail;
	}
	if (!bind_api(kvm->lib, &kvm->api, err, err_len) || !same_copy(kvm->lib, err, err_len)) {
		status = SQUIB_E_UNSUPPORTED;
		goto fail;
	}

	slots = ioctl(vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_MEMSLOTS);
	if (slots < 0) {
		saved = errno;
		(void)snprintf(err, err_len, "squib-kvm: fd %d is not a KVM VM: %s", vm_fd,
			       strerror(saved));
		status = SQUIB_E_IO;
		goto fail;
	}
	kvm->max_slots = slots > 0 ? (uint32_t)slots : KVM_OLD_MEMSLOTS;
	kvm->readonly_mem = ioctl(vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_READONLY_MEM) > 0;
	kvm->vm_fd = fcntl(vm_fd, F_DUPFD_CLOEXEC, 0);
	if (kvm->vm_fd < 0) {
		saved = errno;
		(void)snprintf(err, err_len, "squib-kvm: dup of VM fd %d: %s", vm_fd,
			       strerror(saved));
		status = SQUIB_E_IO;
		goto fail;
	}
	if (pthread_mutex_init(&kvm->lock, NULL) != 0) {
		(void)snprintf(err, err_len, "squib-kvm: pthread_mutex_init failed");
		status = SQUIB_E_NO_MEMORY;
		goto fail;
	}
	*out = kvm;
	*ops = &plugin_ops;
	return SQUIB_OK;
fail:
	if (kvm->vm_fd >= 0)
		(void)close(kvm->vm_fd);
	if (kvm->lib != NULL)
		(void)dlclose(kvm->lib);
	free(kvm);
	return status;
}
