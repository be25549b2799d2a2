/* SPDX-License-Identifier: MIT */
/*
 * Inside squib-kvm.so: the instance, its KVM slot table, and the library
 * functions it bound. kvm_plugin.c makes instances and drives the
 * listener; kvm_slots.c is the listener, which keeps the KVM slots.
 */
#ifndef SQUIB_KVM_PLUGIN_H
#define SQUIB_KVM_PLUGIN_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

/* Records the plugin's latest failure (the lock held, or the instance not
 * yet shared). */
__attribute__((format(printf, 2, 3))) void plugin_failf(struct squib_kvm *kvm, const char *fmt,
							...);

/* Fills the callbacks of the plugin's listener, ctx = @p kvm. */
void slots_listener(struct squib_kvm *kvm, squib_listener_t *listener);

/* The slot of library slot @p region_slot, or NULL. The lock held. */
struct slot *slots_find(struct squib_kvm *kvm, uint32_t region_slot);

/* Frees the slot table (KVM's slots are gone with the VM fd). */
void slots_free(struct squib_kvm *kvm);

#endif
