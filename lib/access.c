/* SPDX-License-Identifier: MIT */
/*
 * The read/write path: every virtio descriptor goes through here. Each call
 * is argument checks, one translation, one copy. Nothing on the success path
 * locks, allocates, writes shared memory or formats a message.
 */
#include <inttypes.h>
#include <string.h>

#include <squib/access.h>

#include "error.h"
#include "mem_internal.h"

/*
 * Translates [addr, addr + len) to host memory and keeps it valid until
 * access_end(); NULL (with the section already ended) when the request is
 * not wholly inside one region. Every access goes through this one check.
 */
static inline uint8_t *translate_begin(const squib_mem_t *mem, uint64_t addr, uint64_t len,
				       struct access_guard *guard)
{
	const struct region *region = table_lookup(access_begin(mem, guard), addr);

	if (SQUIB_LIKELY(region && region_holds(region, addr, len)))
		return region->host + (addr - region->base);
	access_end(mem, guard);
	return NULL;
}

SQUIB_COLD static squib_status_t fail_out_of_range(uint64_t addr, uint64_t len)
{
	uint64_t end;

	if (__builtin_add_overflow(addr, len, &end))
		return squib_fail(SQUIB_E_OUT_OF_RANGE,
				  "addr " SQUIB_GPA_FMT " + len %" PRIu64
				  " overflows the guest address space",
				  addr, len);
	return squib_fail(SQUIB_E_OUT_OF_RANGE,
			  "addr " SQUIB_GPA_FMT " + len %" PRIu64 " is not inside one region", addr,
			  len);
}

SQUIB_COLD static squib_status_t fail_arguments(const char *caller, const void *mem,
						const void *buf, size_t len)
{
	if (!mem)
		return squib_fail(SQUIB_E_INVALID_ARGUMENT, "%s: mem is NULL", caller);
	if (!buf)
		return squib_fail(SQUIB_E_INVALID_ARGUMENT, "%s: buffer is NULL with len %zu",
				  caller, len);
	return squib_fail(SQUIB_E_INVALID_ARGUMENT, "%s: bad arguments", caller);
}

squib_status_t squib_mem_read(const squib_mem_t *mem, squib_gpa_t addr, void *buf, size_t len)
{
	struct access_guard guard;
	const uint8_t *host;

	if (SQUIB_UNLIKELY(!mem || (!buf && len)))
		return fail_arguments(__func__, mem, buf, len);
	host = translate_begin(mem, addr.raw, len, &guard);
	if (SQUIB_UNLIKELY(!host))
		return fail_out_of_range(addr.raw, len);
	if (len)
		memcpy(buf, host, len);
	access_end(mem, &guard);
	return SQUIB_OK;
}

squib_status_t squib_mem_write(squib_mem_t *mem, squib_gpa_t addr, const void *buf, size_t len)
{
	struct access_guard guard;
	uint8_t *host;

	if (SQUIB_UNLIKELY(!mem || (!buf && len)))
		return fail_arguments(__func__, mem, buf, len);
	host = translate_begin(mem, addr.raw, len, &guard);
	if (SQUIB_UNLIKELY(!host))
		return fail_out_of_range(addr.raw, len);
	if (len)
		memcpy(host, buf, len);
	access_end(mem, &guard);
	return SQUIB_OK;
}

/*
 * Typed accessors. Guest memory is little-endian. A naturally aligned value
 * is moved with one relaxed atomic load or store, so a guest racing on a
 * ring index sees the old or the new value, never a mix (host addresses
 * keep the guest address's alignment, see squib_host_map). An unaligned one
 * is copied bytewise-equivalently with memcpy, which may tear, as on real
 * hardware.
 */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define LE8(x) (x)
#define LE16(x) __builtin_bswap16(x)
#define LE32(x) __builtin_bswap32(x)
#define LE64(x) __builtin_bswap64(x)
#else
#define LE8(x) (x)
#define LE16(x) (x)
#define LE32(x) (x)
#define LE64(x) (x)
#endif

#define DEFINE_TYPED_ACCESS(bits, suffix)                                                          \
	squib_status_t squib_mem_read_u##bits##suffix(const squib_mem_t *mem, squib_gpa_t addr,    \
						      uint##bits##_t *out)                         \
	{                                                                                          \
		struct access_guard guard;                                                         \
		const uint8_t *host;                                                               \
		uint##bits##_t value;                                                              \
                                                                                                   \
		if (SQUIB_UNLIKELY(!mem || !out))                                                  \
			return fail_arguments(__func__, mem, out, sizeof(value));                  \
		host = translate_begin(mem, addr.raw, sizeof(value), &guard);                      \
		if (SQUIB_UNLIKELY(!host))                                                         \
			return fail_out_of_range(addr.raw, sizeof(value));                         \
		if (((uintptr_t)host & (sizeof(value) - 1)) == 0)                                  \
			value = __atomic_load_n((const uint##bits##_t *)(const void *)host,        \
						__ATOMIC_RELAXED);                                 \
		else                                                                               \
			memcpy(&value, host, sizeof(value));                                       \
		access_end(mem, &guard);                                                           \
		*out = LE##bits(value);                                                            \
		return SQUIB_OK;                                                                   \
	}                                                                                          \
                                                                                                   \
	squib_status_t squib_mem_write_u##bits##suffix(squib_mem_t *mem, squib_gpa_t addr,         \
						       uint##bits##_t value)                       \
	{                                                                                          \
		struct access_guard guard;                                                         \
		uint8_t *host;                                                                     \
		uint##bits##_t stored = LE##bits(value);                                           \
                                                                                                   \
		if (SQUIB_UNLIKELY(!mem))                                                          \
			return fail_arguments(__func__, mem, &value, sizeof(value));               \
		host = translate_begin(mem, addr.raw, sizeof(value), &guard);                      \
		if (SQUIB_UNLIKELY(!host))                                                         \
			return fail_out_of_range(addr.raw, sizeof(value));                         \
		if (((uintptr_t)host & (sizeof(value) - 1)) == 0)                                  \
			__atomic_store_n((uint##bits##_t *)(void *)host, stored,                   \
					 __ATOMIC_RELAXED);                                        \
		else                                                                               \
			memcpy(host, &stored, sizeof(value));                                      \
		access_end(mem, &guard);                                                           \
		return SQUIB_OK;                                                                   \
	}

DEFINE_TYPED_ACCESS(8, )
DEFINE_TYPED_ACCESS(16, _le)
DEFINE_TYPED_ACCESS(32, _le)
DEFINE_TYPED_ACCESS(64, _le)
