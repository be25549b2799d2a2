/* SPDX-License-Identifier: MIT */
/*
 * The whole public API of libsquibcore as a table of function pointers,
 * bound from a dlopen() handle with dlvsym(h, name, "SQUIB_CORE_0.2"), the
 * way a hypervisor backend plugin binds it. Shared by the plugins and by the
 * host that dlopens the library itself; the host that links the library
 * fills the same table with the linked addresses.
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

#define SQUIB_ABI_NODE "SQUIB_CORE_0.2"

/* X(name) for every symbol of lib/libsquibcore.map. */
#define SQUIB_API_FUNCTIONS(X)                                                                     \
	X(squib_core_version)                                                                      \
	X(squib_strerror)                                                                          \
	X(squib_last_error)                                                                        \
	X(squib_gpa_align_down)                                                                    \
	X(squib_gpa_saturating_add)                                                                \
	X(squib_gpa_format)                                                                        \
	X(squib_range_init)                                                                        \
	X(squib_range_end)                                                                         \
	X(squib_range_contains)                                                                    \
	X(squib_mem_new)                                                                           \
	X(squib_mem_free)                                                                          \
	X(squib_mem_add_region)                                                                    \
	X(squib_mem_add_region_from_bytes)                                                         \
	X(squib_mem_remove_region)                                                                 \
	X(squib_mem_region_count)                                                                  \
	X(squib_mem_find_region)                                                                   \
	X(squib_mem_get_region)                                                                    \
	X(squib_mem_foreach_region)                                                                \
	X(squib_mem_read)                                                                          \
	X(squib_mem_write)                                                                         \
	X(squib_mem_read_u8)                                                                       \
	X(squib_mem_read_u16_le)                                                                   \
	X(squib_mem_read_u32_le)                                                                   \
	X(squib_mem_read_u64_le)                                                                   \
	X(squib_mem_write_u8)                                                                      \
	X(squib_mem_write_u16_le)                                                                  \
	X(squib_mem_write_u32_le)                                                                  \
	X(squib_mem_write_u64_le)

struct squib_api {
#define SQUIB_API_FIELD(name) __typeof__(&name) name;
	SQUIB_API_FUNCTIONS(SQUIB_API_FIELD)
#undef SQUIB_API_FIELD
};

/* Binds one symbol at the 0.2 version node. The object-to-function pointer
 * conversion goes through memcpy, as POSIX dlsym() users must in ISO C. */
static inline int squib_api_bind_one(void *handle, const char *name, void *field, size_t size,
				     char *err, size_t errlen)
{
	void *sym = dlvsym(handle, name, SQUIB_ABI_NODE);

	if (sym == NULL || size != sizeof(sym)) {
		snprintf(err, errlen, "dlvsym(%s, %s) failed: %s", name, SQUIB_ABI_NODE,
			 sym == NULL ? dlerror() : "pointer size mismatch");
		return -1;
	}
	memcpy(field, &sym, size);
	return 0;
}

/* Fills *api from a handle of libsquibcore.so.0; 0, or -1 with err set. */
static inline int squib_api_bind(void *handle, struct squib_api *api, char *err, size_t errlen)
{
#define SQUIB_API_BIND(name)                                                                       \
	if (squib_api_bind_one(handle, #name, &api->name, sizeof(api->name), err, errlen) != 0)    \
		return -1;
	SQUIB_API_FUNCTIONS(SQUIB_API_BIND)
#undef SQUIB_API_BIND
	/* The node is what binds: a name at a version that never existed
	 * must not resolve. */
	if (dlvsym(handle, "squib_mem_read", "SQUIB_CORE_0.1") != NULL) {
		snprintf(err, errlen, "dlvsym(squib_mem_read, SQUIB_CORE_0.1) resolved");
		return -1;
	}
	return 0;
}

#endif
