/* SPDX-License-Identifier: MIT */
/*
 * squib-kvm.so: a KVM backend plugin for libsquibcore, and the C interface
 * a monitor uses to drive it.
 *
 * The plugin mirrors a squib_mem_t's regions into KVM memory slots of one
 * VM through a listener (squib/listener.h), and feeds KVM's dirty log back
 * into the library's. It is a plugin in the strict sense: it does not link
 * libsquibcore, it dlopen()s it (RTLD_NOW | RTLD_LOCAL) and binds each
 * function with dlvsym() at the version node that introduced it, so the
 * same squib-kvm.so works with any later libsquibcore.so.0.
 *
 * A monitor gets the interface with dlopen() of the plugin and dlsym() of
 * the one exported symbol, SQUIB_KVM_PLUGIN_ENTRY:
 *
 *     squib_kvm_plugin_open_fn *open_fn;   (dlsym, then memcpy: ISO C)
 *     squib_kvm_t *kvm;
 *     const squib_kvm_ops_t *ops;
 *     open_fn(libpath, vm_fd, &kvm, &ops, err, sizeof(err));
 *     ops->attach(kvm, mem);               regions now mirror into KVM
 *     ...
 *     ops->detach(kvm);                    every slot deleted
 *     ops->close(kvm);
 *
 * The monitor and the plugin must share one copy of the library, since a
 * handle of one copy means nothing to another: pass the path of the very
 * file the monitor itself loaded (the plugin refuses a second copy).
 *
 * How the map is mirrored:
 *   - region_add: KVM_SET_USER_MEMORY_REGION on the lowest free KVM slot id
 *     (KVM's ids are few, KVM_CAP_NR_MEMSLOTS, and the library's slot
 *     numbers are arbitrary u32s), KVM_MEM_READONLY when the host mapping
 *     is read-only (SQUIB_REGION_READONLY) or the guest may not write
 *     (no SQUIB_PROT_WRITE), KVM_MEM_LOG_DIRTY_PAGES while the region logs.
 *     A region the guest may not touch at all (SQUIB_PROT_NONE) gets no
 *     KVM slot: every access then exits to the monitor.
 *   - region_del: the slot is deleted (memory_size 0) before the library
 *     unmaps the memory.
 *   - dirty_log: the slot is registered again with the new flags.
 *   - protect: KVM cannot change KVM_MEM_READONLY of a live slot, so the
 *     slot is deleted and registered again (KVM's dirty log of it is
 *     harvested into the library first, with squib_mem_mark_dirty()). A
 *     vCPU running meanwhile sees MMIO exits for the moment in between:
 *     pause vCPUs around a protection change.
 *   - log_sync: KVM_GET_DIRTY_LOG, ORed into the library's bitmap (the
 *     same layout: bit n of the u64 words is 4 KiB page n of the region).
 * A KVM refusal (the ioctl's errno) is a veto: SQUIB_E_NO_MEMORY for
 * ENOMEM, SQUIB_E_OVERLAP for EEXIST, SQUIB_E_IO for anything else, and
 * the library undoes the change. ops->last_error() then says what KVM was
 * asked and what it answered; squib_last_error() names the listener.
 */
#ifndef SQUIB_KVM_H
#define SQUIB_KVM_H

#include <stddef.h>
#include <stdint.h>

#include <squib/core.h>

/** The name to dlsym() in squib-kvm.so; its type is squib_kvm_plugin_open_fn. */
#define SQUIB_KVM_PLUGIN_ENTRY "squib_kvm_plugin_open"

/** One plugin instance: one VM fd (its own dup), at most one squib_mem_t. */
typedef struct squib_kvm squib_kvm_t;

/** A KVM memory slot as the plugin registered it for a library region. */
typedef struct squib_kvm_slot {
	uint32_t region_slot;	  /**< the library's slot number */
	uint32_t kvm_slot;	  /**< the KVM slot id */
	uint32_t kvm_flags;	  /**< KVM_MEM_LOG_DIRTY_PAGES, KVM_MEM_READONLY */
	int registered;		  /**< 0: known but not in KVM (SQUIB_PROT_NONE) */
	uint64_t guest_phys_addr; /**< as given to KVM */
	uint64_t memory_size;	  /**< as given to KVM */
	uint64_t userspace_addr;  /**< as given to KVM */
} squib_kvm_slot_t;

/**
 * What the plugin does, as function pointers (the plugin's only export is
 * its entry). Callers check @c sz: a later plugin may append members.
 * Every function is safe from any thread; the table stays valid until
 * dlclose() of the plugin.
 */
typedef struct squib_kvm_ops {
	size_t sz; /**< sizeof(squib_kvm_ops_t) of the plugin's build */

	/** Registers the plugin's listener on @p mem: every current region
	 *  is added to KVM (in ascending base order), and every later change
	 *  mirrored. Returns what squib_mem_listener_add() returns; on a
	 *  refusal no KVM slot is left behind. SQUIB_E_BUSY when attached. */
	squib_status_t (*attach)(squib_kvm_t *kvm, squib_mem_t *mem);

	/** Removes the listener (squib_mem_listener_remove()), which deletes
	 *  every KVM slot. Must run before squib_mem_free() of the handle,
	 *  which calls no listener. SQUIB_E_NOT_FOUND when not attached. */
	squib_status_t (*detach)(squib_kvm_t *kvm);

	/** The id squib_mem_listener_add() gave the plugin's listener, which
	 *  the library's messages about its vetoes name. SQUIB_E_NOT_FOUND
	 *  when not attached. */
	squib_status_t (*listener_id)(squib_kvm_t *kvm, uint64_t *id);

	/** The number of regions the plugin holds KVM slot ids for. */
	size_t (*slot_count)(squib_kvm_t *kvm);

	/** Copies the KVM slot of library slot @p region_slot to *out;
	 *  SQUIB_E_NOT_FOUND when the plugin has none. */
	squib_status_t (*find_slot)(squib_kvm_t *kvm, uint32_t region_slot, squib_kvm_slot_t *out);

	/** The message of the plugin's most recent failure: the KVM call,
	 *  its arguments and errno's text. Static storage of @p kvm,
	 *  overwritten by the next failure. */
	const char *(*last_error)(squib_kvm_t *kvm);

	/** Detaches if attached, closes the plugin's VM fd, releases the
	 *  library (dlclose) and frees @p kvm. NULL is a no-op. */
	void (*close)(squib_kvm_t *kvm);
} squib_kvm_ops_t;

/**
 * The entry point: loads libsquibcore from @p libpath (a path, or a name
 * the dynamic loader searches, such as "libsquibcore.so.0"), binds it, and
 * makes an instance driving the KVM VM @p vm_fd (duplicated: the caller
 * keeps its own fd and may close it whenever it likes).
 *
 * @return SQUIB_OK with *kvm and *ops set; SQUIB_E_INVALID_ARGUMENT for a
 *         NULL pointer or a negative @p vm_fd; SQUIB_E_UNSUPPORTED when the
 *         library cannot be loaded, lacks a function at its node, or is a
 *         second copy beside the process's own; SQUIB_E_IO when @p vm_fd
 *         is not a KVM VM or cannot be duplicated; SQUIB_E_NO_MEMORY. On
 *         failure @p err (when not NULL) receives the reason and nothing is
 *         left open.
 */
typedef squib_status_t squib_kvm_plugin_open_fn(const char *libpath, int vm_fd, squib_kvm_t **kvm,
						const squib_kvm_ops_t **ops, char *err,
						size_t err_len);

#endif
