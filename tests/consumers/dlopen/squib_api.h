/* SPDX-License-Identifier: MIT */
/*
 * The whole public API of libsquibcore as a table of function pointers,
 * bound from a dlopen() handle with dlvsym(h, name, node), each function at
 * the version node it was introduced in, the way a hypervisor backend plugin
 * binds it. Shared by the plugins and by the host that dlopens the library
 * itself; the host that links the library fills the same table with the
 * linked addresses.
 *
 * __typeof__ keeps every pointer's type equal to the installed header's
 * declaration, so a prototype change breaks this build instead of a call.
 */
#ifndef SQUIB_CONSUMER_API_H
#define SQUIB_CONSUMER_API_H

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include <squib/core.h>

/* X(name, node) for every symbol of lib/libsquibcore.map, node being the
 * one the map lists it in. tests/consumers/run.sh checks that these pairs
 * are exactly the library's name@@node exports, so a function added to a
 * new node (docs/ABI.md) is added here with that node. */
#define SQUIB_API_FUNCTIONS(X)                                                                     \
	X(squib_core_version, "SQUIB_CORE_0.2")                                                    \
	X(squib_strerror, "SQUIB_CORE_0.2")                                                        \
	X(squib_last_error, "SQUIB_CORE_0.2")                                                      \
	X(squib_gpa_align_down, "SQUIB_CORE_0.2")                                                  \
	X(squib_gpa_saturating_add, "SQUIB_CORE_0.2")                                              \
	X(squib_gpa_format, "SQUIB_CORE_0.2")                                                      \
	X(squib_range_init, "SQUIB_CORE_0.2")                                                      \
	X(squib_range_end, "SQUIB_CORE_0.2")                                                       \
	X(squib_range_contains, "SQUIB_CORE_0.2")                                                  \
	X(squib_mem_new, "SQUIB_CORE_0.2")                                                         \
	X(squib_mem_free, "SQUIB_CORE_0.2")                                                        \
	X(squib_mem_add_region, "SQUIB_CORE_0.2")                                                  \
	X(squib_mem_add_region_from_bytes, "SQUIB_CORE_0.2")                                       \
	X(squib_mem_remove_region, "SQUIB_CORE_0.2")                                               \
	X(squib_mem_region_count, "SQUIB_CORE_0.2")                                                \
	X(squib_mem_find_region, "SQUIB_CORE_0.2")                                                 \
	X(squib_mem_get_region, "SQUIB_CORE_0.2")                                                  \
	X(squib_mem_foreach_region, "SQUIB_CORE_0.2")                                              \
	X(squib_mem_read, "SQUIB_CORE_0.2")                                                        \
	X(squib_mem_write, "SQUIB_CORE_0.2")                                                       \
	X(squib_mem_read_u8, "SQUIB_CORE_0.2")                                                     \
	X(squib_mem_read_u16_le, "SQUIB_CORE_0.2")                                                 \
	X(squib_mem_read_u32_le, "SQUIB_CORE_0.2")                                                 \
	X(squib_mem_read_u64_le, "SQUIB_CORE_0.2")                                                 \
	X(squib_mem_write_u8, "SQUIB_CORE_0.2")                                                    \
	X(squib_mem_write_u16_le, "SQUIB_CORE_0.2")                                                \
	X(squib_mem_write_u32_le, "SQUIB_CORE_0.2")                                                \
	X(squib_mem_write_u64_le, "SQUIB_CORE_0.2")                                                \
	X(squib_mem_add_region_opts, "SQUIB_CORE_0.3")                                             \
	X(squib_mem_discard, "SQUIB_CORE_0.3")                                                     \
	X(squib_mem_host_range, "SQUIB_CORE_0.3")                                                  \
	X(squib_mem_translate, "SQUIB_CORE_0.3")                                                   \
	X(squib_mem_pin, "SQUIB_CORE_0.3")                                                         \
	X(squib_mem_unpin, "SQUIB_CORE_0.3")                                                       \
	X(squib_mem_load_u16_acquire, "SQUIB_CORE_0.3")                                            \
	X(squib_mem_load_u32_acquire, "SQUIB_CORE_0.3")                                            \
	X(squib_mem_load_u64_acquire, "SQUIB_CORE_0.3")                                            \
	X(squib_mem_store_u16_release, "SQUIB_CORE_0.3")                                           \
	X(squib_mem_store_u32_release, "SQUIB_CORE_0.3")                                           \
	X(squib_mem_store_u64_release, "SQUIB_CORE_0.3")                                           \
	X(squib_mem_listener_add, "SQUIB_CORE_0.3")                                                \
	X(squib_mem_listener_remove, "SQUIB_CORE_0.3")                                             \
	X(squib_mem_set_protection, "SQUIB_CORE_0.3")                                              \
	X(squib_mem_set_dirty_log, "SQUIB_CORE_0.3")                                               \
	X(squib_mem_get_dirty_log, "SQUIB_CORE_0.3")                                               \
	X(squib_mem_mark_dirty, "SQUIB_CORE_0.3")                                                  \
	X(squib_mem_read_from_fd, "SQUIB_CORE_0.3")                                                \
	X(squib_mem_write_to_fd, "SQUIB_CORE_0.3")                                                 \
	X(squib_mem_save, "SQUIB_CORE_0.3")                                                        \
	X(squib_mem_load, "SQUIB_CORE_0.3")

/* Nodes that no name may resolve at unless the table puts it there, besides
 * the nodes of the table: SQUIB_CORE_0.1 never existed, and SQUIB_CORE_0.3
 * inherits SQUIB_CORE_0.2 without defining its names (dlvsym matches the
 * one node asked for, not the nodes it inherits). */
#define SQUIB_ABI_OTHER_NODES(X) X("SQUIB_CORE_0.1") X("SQUIB_CORE_0.3")

#define SQUIB_API_COUNT(array) (sizeof(array) / sizeof((array)[0]))

struct squib_api {
#define SQUIB_API_FIELD(name, node) __typeof__(&name) name;
	SQUIB_API_FUNCTIONS(SQUIB_API_FIELD)
#undef SQUIB_API_FIELD
};

/* Binds one symbol at its version node. The object-to-function pointer
 * conversion goes through memcpy, as POSIX dlsym() users must in ISO C. */
static inline int squib_api_bind_one(void *handle, const char *name, const char *node, void *field,
				     size_t size, char *err, size_t errlen)
{
	void *sym = dlvsym(handle, name, node);

	if (sym == NULL || size != sizeof(sym)) {
		snprintf(err, errlen, "dlvsym(%s, %s) failed: %s", name, node,
			 sym == NULL ? dlerror() : "pointer size mismatch");
		return -1;
	}
	memcpy(field, &sym, size);
	return 0;
}

/* Fills *api from a handle of libsquibcore.so.0; 0, or -1 with err set. */
static inline int squib_api_bind(void *handle, struct squib_api *api, char *err, size_t len)
{
#define SQUIB_API_ENTRY(name, node) {#name, node},
#define SQUIB_API_NODE(node) node,
	static const struct {
		const char *name, *node;
	} entries[] = {SQUIB_API_FUNCTIONS(SQUIB_API_ENTRY)};
	static const char *const others[] = {SQUIB_ABI_OTHER_NODES(SQUIB_API_NODE)};
#undef SQUIB_API_NODE
#undef SQUIB_API_ENTRY
	const char *nodes[SQUIB_API_COUNT(entries) + SQUIB_API_COUNT(others)];
	size_t n_nodes = 0;

#define SQUIB_API_BIND(name, node)                                                                 \
	if (squib_api_bind_one(handle, #name, node, &api->name, sizeof(api->name), err, len) != 0) \
		return -1;
	SQUIB_API_FUNCTIONS(SQUIB_API_BIND)
#undef SQUIB_API_BIND

	/* The node is what binds: no name may resolve at a node other than
	 * its own: another node of the table, or one of SQUIB_ABI_OTHER_NODES. */
	for (size_t i = 0; i < SQUIB_API_COUNT(entries) + SQUIB_API_COUNT(others); i++) {
		const char *node = i < SQUIB_API_COUNT(entries)
				       ? entries[i].node
				       : others[i - SQUIB_API_COUNT(entries)];
		size_t k = 0;

		while (k < n_nodes && strcmp(nodes[k], node) != 0)
			k++;
		if (k == n_nodes)
			nodes[n_nodes++] = node;
	}
	for (size_t i = 0; i < SQUIB_API_COUNT(entries); i++) {
		for (size_t k = 0; k < n_nodes; k++) {
			if (strcmp(nodes[k], entries[i].node) == 0 ||
			    dlvsym(handle, entries[i].name, nodes[k]) == NULL)
				continue;
			snprintf(err, len, "dlvsym(%s, %s) resolved; it is only in %s",
				 entries[i].name, nodes[k], entries[i].node);
			return -1;
		}
	}
	return 0;
}

#endif
