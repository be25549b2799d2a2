/* SPDX-License-Identifier: MIT */
/*
 * The listener of squib-kvm.so: each library region gets a KVM memory slot
 * (squib_kvm.h says how each callback maps to KVM), on the lowest free KVM
 * slot id, since KVM's ids are few and the library's slot numbers are any
 * u32. The index in squib_kvm::slots is the KVM id.
 *
 * Every callback runs under the instance's lock: the library serialises
 * its callbacks, but the monitor may query the table from any thread.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "kvm_plugin.h"

/* KVM's dirty bitmap counts pages of 4 KiB on x86, as the library's. */
#define DIRTY_PAGE_SHIFT 12
_Static_assert((1 << DIRTY_PAGE_SHIFT) == SQUIB_DIRTY_PAGE_SIZE, "KVM's page is the library's");

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
	plugin_failf(kvm,
		     "squib-kvm: %s of region slot %" PRIu32
		     ": KVM_SET_USER_MEMORY_REGION(slot %" PRIu32 ", flags 0x%" PRIx32
		     ", gpa 0x%llx, size 0x%llx, hva 0x%llx): %s",
		     why, s->region_slot, reg->slot, reg->flags,
		     (unsigned long long)reg->guest_phys_addr, (unsigned long long)reg->memory_size,
		     (unsigned long long)reg->userspace_addr, strerror(err));
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

struct slot *slots_find(struct squib_kvm *kvm, uint32_t region_slot)
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
			plugin_failf(kvm,
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
			plugin_failf(kvm,
				     "squib-kvm: region slot %" PRIu32 ": no memory for %" PRIu32
				     " slots",
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
		plugin_failf(
		    kvm, "squib-kvm: region slot %" PRIu32 ": no memory for a %zu-word dirty log",
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
	plugin_failf(
	    kvm, "squib-kvm: KVM_GET_DIRTY_LOG(slot %" PRIu32 ") of region slot %" PRIu32 ": %s",
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
	if (slots_find(kvm, info->slot) != NULL) {
		plugin_failf(kvm, "squib-kvm: region slot %" PRIu32 " added twice", info->slot);
		status = SQUIB_E_SLOT_IN_USE;
		goto out;
	}
	if (info->prot != SQUIB_PROT_NONE &&
	    (kvm_flags(info->flags, info->prot, false) & KVM_MEM_READONLY) != 0 &&
	    !kvm->readonly_mem) {
		plugin_failf(kvm,
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
	s = slots_find(kvm, info->slot);
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
	s = slots_find(kvm, info->slot);
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
	s = slots_find(kvm, info->slot);
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
			plugin_failf(kvm,
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
				plugin_failf(kvm,
					     "squib-kvm: squib_mem_mark_dirty(0x%" PRIx64 "): %s",
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
	s = slots_find(kvm, info->slot);
	if (s == NULL)
		goto out;
	reg = s->reg;
	reg.flags = kvm_flags(info->flags, info->prot, s->logging);
	if (want_in_kvm == s->in_kvm && reg.flags == s->reg.flags)
		goto out; /* e.g. only SQUIB_PROT_EXEC changed */
	was_in_kvm = s->in_kvm;
	if (want_in_kvm && (reg.flags & KVM_MEM_READONLY) != 0 && !kvm->readonly_mem) {
		plugin_failf(kvm,
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
				plugin_failf(kvm, "%s; restoring the old slot failed too: %s",
					     first, strerror(err));
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

void slots_listener(struct squib_kvm *kvm, squib_listener_t *listener)
{
	listener->ctx = kvm;
	listener->region_add = on_region_add;
	listener->region_del = on_region_del;
	listener->protect = on_protect;
	listener->dirty_log = on_dirty_log;
	listener->log_sync = on_log_sync;
}

void slots_free(struct squib_kvm *kvm)
{
	for (uint32_t i = 0; i < kvm->cap; i++)
		free(kvm->slots[i].dirty);
	free(kvm->slots);
	kvm->slots = NULL;
	kvm->cap = 0;
}
