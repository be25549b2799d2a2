/* SPDX-License-Identifier: MIT */
/*
 * The read/write path: every virtio descriptor goes through here.
 *
 * Each public function is a fast path for the common case, written so that
 * the compiler makes it a leaf without a stack frame: a registered thread,
 * outside any other read section, asking for bytes that one region holds.
 * Everything else (NULL arguments, a thread's first access, a nested
 * section, the seq_cst and mutex fallbacks, and every failure with its
 * message) goes to one out-of-line slow path that redoes the call from
 * scratch. The fast path changes nothing before it commits, so a retry is
 * always safe. A write that the write index misses first tries, with the
 * fast path's section still open, the index of the regions that log
 * (write_missed): a hit there marks and stores, a miss goes on to the
 * slow path having changed nothing.
 *
 * Fewer instructions per call is not vanity here: a guest's random accesses
 * miss the caches, and the CPU overlaps those misses only as far as its
 * reorder window reaches, so the call's length sets how many are in flight.
 */
#include <inttypes.h>
#include <string.h>

#include <squib/access.h>
#include <squib/backing.h>
#include <squib/ring.h>

#include "compiler.h"
#include "dirty_log.h"
#include "error.h"
#include "mem_internal.h"

/*
 * Typed values are little-endian in guest memory. A naturally aligned one
 * is moved with one relaxed atomic load or store, so a guest racing on a
 * ring index sees the old or the new value, never a mix (host addresses
 * keep the guest address's alignment, see lib/backing.c); an unaligned one
 * with memcpy, which may tear, as on real hardware.
 */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define LE16(x) __builtin_bswap16(x)
#define LE32(x) __builtin_bswap32(x)
#define LE64(x) __builtin_bswap64(x)
#else
#define LE16(x) (x)
#define LE32(x) (x)
#define LE64(x) (x)
#endif
#define LE8(x) (x)

#define DEFINE_GUEST_LOAD_STORE(bits)                                                              \
	static inline uint##bits##_t load_le##bits(const uint8_t *host)                            \
	{                                                                                          \
		uint##bits##_t value;                                                              \
                                                                                                   \
		if (((uintptr_t)host & (sizeof(value) - 1)) == 0)                                  \
			value = __atomic_load_n((const uint##bits##_t *)(const void *)host,        \
						__ATOMIC_RELAXED);                                 \
		else                                                                               \
			memcpy(&value, host, sizeof(value));                                       \
		return LE##bits(value);                                                            \
	}                                                                                          \
                                                                                                   \
	static inline void store_le##bits(uint8_t *host, uint##bits##_t value)                     \
	{                                                                                          \
		uint##bits##_t stored = LE##bits(value);                                           \
                                                                                                   \
		if (((uintptr_t)host & (sizeof(stored) - 1)) == 0)                                 \
			__atomic_store_n((uint##bits##_t *)(void *)host, stored,                   \
					 __ATOMIC_RELAXED);                                        \
		else                                                                               \
			memcpy(host, &stored, sizeof(stored));                                     \
	}

DEFINE_GUEST_LOAD_STORE(8)
DEFINE_GUEST_LOAD_STORE(16)
DEFINE_GUEST_LOAD_STORE(32)
DEFINE_GUEST_LOAD_STORE(64)

/* A typed value of `width` bytes (1, 2, 4, 8), or 0 for a plain copy. */
static void copy_from_guest(void *buf, const uint8_t *host, size_t len, unsigned width)
{
	switch (width) {
	case 1:
		*(uint8_t *)buf = load_le8(host);
		break;
	case 2:
		*(uint16_t *)buf = load_le16(host);
		break;
	case 4:
		*(uint32_t *)buf = load_le32(host);
		break;
	case 8:
		*(uint64_t *)buf = load_le64(host);
		break;
	default:
		if (len)
			memcpy(buf, host, len);
	}
}

/* A typed store of width 1, 2, 4 or 8 bytes. */
static void store_typed(uint8_t *host, uint64_t value, unsigned width)
{
	switch (width) {
	case 1:
		store_le8(host, (uint8_t)value);
		break;
	case 2:
		store_le16(host, (uint16_t)value);
		break;
	case 4:
		store_le32(host, (uint32_t)value);
		break;
	default:
		store_le64(host, value);
	}
}

static void copy_to_guest(uint8_t *host, const void *buf, size_t len, uint64_t value,
			  unsigned width)
{
	if (width)
		store_typed(host, value, width);
	else if (len)
		memcpy(host, buf, len);
}

/*
 * Finds the host memory of [addr, addr + len) in the table a read section
 * holds; false when the request is not wholly inside one region. Every
 * access is checked here or by one of the fast tests below, which only
 * refuse more. (A bool and an out-parameter rather than a NULL return: the
 * compiler cannot know that host + offset is never NULL and would test it
 * again.)
 */
static inline bool translate(const struct table *table, uint64_t addr, uint64_t len, uint8_t **host)
{
	const struct region *region = table_find(table, addr, len);

	if (!region)
		return false;
	*host = region->host + (addr - region->base);
	return true;
}

/* For the fast path of a typed access (len <= 8): false when addr's hint
 * does not settle it; the slow path, which the caller takes then, does. */
static inline bool translate_typed_fast(const struct hint_index *index, uint64_t addr,
					uint8_t **host)
{
	const struct hint *hint = index_hint(index, addr);

	if (SQUIB_UNLIKELY(!hint_holds_typed(hint, addr)))
		return false;
	*host = hint->host + (addr - hint->base);
	return true;
}

/* For the fast path of a copy. */
static inline bool translate_fast(const struct hint_index *index, uint64_t addr, uint64_t len,
				  uint8_t **host)
{
	const struct hint *hint = index_hint(index, addr);

	if (SQUIB_UNLIKELY(!hint_holds(hint, addr, len)))
		return false;
	*host = hint->host + (addr - hint->base);
	return true;
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

/* A NULL handle, or else a NULL buffer (named what) with len > 0. */
SQUIB_COLD static squib_status_t fail_arguments(const char *caller, const void *mem,
						const char *what, size_t len)
{
	if (!mem)
		return squib_fail(SQUIB_E_INVALID_ARGUMENT, "%s: mem is NULL", caller);
	return squib_fail(SQUIB_E_INVALID_ARGUMENT, "%s: %s is NULL with len %zu", caller, what,
			  len);
}

/*
 * The slow paths: the whole of a call, for every case the fast path leaves
 * (see the top). Their parameters start as the public functions' do, so
 * that the fast path reaches them with a jump and keeps no stack frame.
 */
SQUIB_COLD static squib_status_t read_slow(const squib_mem_t *mem, uint64_t addr, void *buf,
					   size_t len, unsigned width, const char *caller)
{
	struct access_guard guard;
	uint8_t *host;
	bool inside;

	if (!mem || (!buf && (len || width)))
		return fail_arguments(caller, mem, width ? "out" : "buf", len);
	inside = translate(access_begin(mem, &guard), addr, len, &host);
	if (inside)
		copy_from_guest(buf, host, len, width);
	access_end(mem, &guard);
	return inside ? SQUIB_OK : fail_out_of_range(addr, len);
}

SQUIB_COLD static squib_status_t fail_read_only(uint64_t addr, uint64_t len, uint32_t slot)
{
	return squib_fail(SQUIB_E_READ_ONLY,
			  "addr " SQUIB_GPA_FMT " + len %" PRIu64 ": slot %" PRIu32 " is read-only",
			  addr, len, slot);
}

/*
 * buf for a plain copy (width 0), value for a typed one. Every write that
 * the write index does not settle comes here: those to regions that refuse
 * plain writes (table.h) among them, and the region's flags decide. An
 * empty write writes nothing, so it succeeds wherever 0.2's rule 4 lets
 * an empty access succeed, read-only regions included (at a region's end
 * the lookup may well find a read-only neighbour that starts there).
 */
static squib_status_t write_any(squib_mem_t *mem, uint64_t addr, const void *buf, size_t len,
				uint64_t value, unsigned width, const char *caller)
{
	struct access_guard guard;
	const struct region *region;
	squib_status_t status = SQUIB_OK;

	if (!mem || (!buf && len && !width))
		return fail_arguments(caller, mem, "buf", len);
	region = table_find(access_begin(mem, &guard), addr, len);
	if (!region)
		status = fail_out_of_range(addr, len);
	else if (len && (region->flags & SQUIB_REGION_READONLY))
		status = fail_read_only(addr, len, region->slot);
	else if (len) {
		region_mark_writing(region, addr, len);
		copy_to_guest(region->host + (addr - region->base), buf, len, value, width);
	}
	access_end(mem, &guard);
	return status;
}

SQUIB_COLD static squib_status_t write_slow(squib_mem_t *mem, uint64_t addr, const void *buf,
					    size_t len, const char *caller)
{
	return write_any(mem, addr, buf, len, 0, 0, caller);
}

SQUIB_COLD static squib_status_t write_typed_slow(squib_mem_t *mem, uint64_t addr, uint64_t value,
						  unsigned width, const char *caller)
{
	return write_any(mem, addr, NULL, width, value, width, caller);
}

/*
 * A write that the write index missed, still inside the fast path's read
 * section (seq): where [addr, addr + len) lies in a region that logs (the
 * table's log index), marks its pages, before the store, and finds the
 * host address, so that such a write needs neither the slow path's second
 * section nor its search. False otherwise, and for an empty write, which
 * the slow path settles.
 */
static inline bool translate_logging(const squib_mem_t *mem, uint64_t addr, uint64_t len,
				     uint8_t **host)
{
	/* seq_cst, as in access_begin(): a plain load on x86. */
	const struct table *table = atomic_load_explicit(&mem->table, memory_order_seq_cst);
	const struct hint_index *index = table->logs;
	const struct hint *hint;

	if (!index || !len)
		return false;
	hint = index_hint(index, addr);
	if (!hint_holds(hint, addr, len))
		return false;
	region_mark_writing(table->logs_named[hint - index->entry], addr, len);
	*host = hint->host + (addr - hint->base);
	return true;
}

/*
 * Where the fast paths of writes go when the write index misses, by a
 * jump with the section still open: a write to a region that logs ends
 * here, any other in the slow path. Out of line and called last, so that
 * the fast path of a write that hits the index keeps no stack frame, as a
 * read's. One for copies and one for typed writes, rather than one taking
 * both: a jump passes six arguments in registers, and one would need
 * eight.
 */
__attribute__((noinline)) static squib_status_t write_missed(squib_mem_t *mem, uint64_t addr,
							     const void *buf, size_t len,
							     uint64_t seq, const char *caller)
{
	struct squib_reader *reader = &squib_reader_self;
	uint8_t *host;

	if (translate_logging(mem, addr, len, &host)) {
		memcpy(host, buf, len);
		reader_exit_fast(reader, seq);
		return SQUIB_OK;
	}
	reader_exit_fast(reader, seq);
	return write_slow(mem, addr, buf, len, caller);
}

__attribute__((noinline)) static squib_status_t write_typed_missed(squib_mem_t *mem, uint64_t addr,
								   uint64_t value, unsigned width,
								   uint64_t seq, const char *caller)
{
	struct squib_reader *reader = &squib_reader_self;
	uint8_t *host;

	if (translate_logging(mem, addr, width, &host)) {
		store_typed(host, value, width);
		reader_exit_fast(reader, seq);
		return SQUIB_OK;
	}
	reader_exit_fast(reader, seq);
	return write_typed_slow(mem, addr, value, width, caller);
}

squib_status_t squib_mem_read(const squib_mem_t *mem, squib_gpa_t addr, void *buf, size_t len)
{
	struct squib_reader *reader = &squib_reader_self;
	uint64_t seq;

	if (SQUIB_LIKELY(mem && buf && reader_enter_fast(reader, &seq))) {
		uint8_t *host;

		if (SQUIB_LIKELY(translate_fast(read_index(mem), addr.raw, len, &host))) {
			memcpy(buf, host, len);
			reader_exit_fast(reader, seq);
			return SQUIB_OK;
		}
		reader_exit_fast(reader, seq);
	}
	return read_slow(mem, addr.raw, buf, len, 0, __func__);
}

squib_status_t squib_mem_write(squib_mem_t *mem, squib_gpa_t addr, const void *buf, size_t len)
{
	struct squib_reader *reader = &squib_reader_self;
	uint64_t seq;

	if (SQUIB_LIKELY(mem && buf && reader_enter_fast(reader, &seq))) {
		uint8_t *host;

		if (SQUIB_LIKELY(translate_fast(write_index(mem), addr.raw, len, &host))) {
			memcpy(host, buf, len);
			reader_exit_fast(reader, seq);
			return SQUIB_OK;
		}
		return write_missed(mem, addr.raw, buf, len, seq, __func__);
	}
	return write_slow(mem, addr.raw, buf, len, __func__);
}

#define DEFINE_TYPED_ACCESS(bits, suffix)                                                          \
	squib_status_t squib_mem_read_u##bits##suffix(const squib_mem_t *mem, squib_gpa_t addr,    \
						      uint##bits##_t *out)                         \
	{                                                                                          \
		struct squib_reader *reader = &squib_reader_self;                                  \
		uint8_t *host;                                                                     \
		uint64_t seq;                                                                      \
                                                                                                   \
		if (SQUIB_LIKELY(mem && out && reader_enter_fast(reader, &seq))) {                 \
			if (SQUIB_LIKELY(                                                          \
				translate_typed_fast(read_index(mem), addr.raw, &host))) {         \
				uint##bits##_t value = load_le##bits(host);                        \
                                                                                                   \
				reader_exit_fast(reader, seq);                                     \
				*out = value;                                                      \
				return SQUIB_OK;                                                   \
			}                                                                          \
			reader_exit_fast(reader, seq);                                             \
		}                                                                                  \
		return read_slow(mem, addr.raw, out, sizeof(*out), sizeof(*out), __func__);        \
	}                                                                                          \
                                                                                                   \
	squib_status_t squib_mem_write_u##bits##suffix(squib_mem_t *mem, squib_gpa_t addr,         \
						       uint##bits##_t value)                       \
	{                                                                                          \
		struct squib_reader *reader = &squib_reader_self;                                  \
		uint8_t *host;                                                                     \
		uint64_t seq;                                                                      \
                                                                                                   \
		if (SQUIB_LIKELY(mem && reader_enter_fast(reader, &seq))) {                        \
			if (SQUIB_LIKELY(                                                          \
				translate_typed_fast(write_index(mem), addr.raw, &host))) {        \
				store_le##bits(host, value);                                       \
				reader_exit_fast(reader, seq);                                     \
				return SQUIB_OK;                                                   \
			}                                                                          \
			return write_typed_missed(mem, addr.raw, value, sizeof(value), seq,        \
						  __func__);                                       \
		}                                                                                  \
		return write_typed_slow(mem, addr.raw, value, sizeof(value), __func__);            \
	}

DEFINE_TYPED_ACCESS(8, )
DEFINE_TYPED_ACCESS(16, _le)
DEFINE_TYPED_ACCESS(32, _le)
DEFINE_TYPED_ACCESS(64, _le)

/*
 * Ring-index atomics (squib/ring.h): naturally aligned only, so that the
 * host access is one atomic load or store with the named ordering (host
 * addresses keep the guest address's alignment). The fast paths are those
 * of the typed accesses; the slow ones redo the call from scratch.
 */
SQUIB_COLD static squib_status_t fail_unaligned(const char *caller, uint64_t addr, unsigned width)
{
	return squib_fail(SQUIB_E_INVALID_ARGUMENT,
			  "%s: addr " SQUIB_GPA_FMT " is not aligned to its %u bytes", caller, addr,
			  width);
}

static uint64_t load_acquire(const uint8_t *host, unsigned width)
{
	switch (width) {
	case 2:
		return LE16(
		    __atomic_load_n((const uint16_t *)(const void *)host, __ATOMIC_ACQUIRE));
	case 4:
		return LE32(
		    __atomic_load_n((const uint32_t *)(const void *)host, __ATOMIC_ACQUIRE));
	default:
		return LE64(
		    __atomic_load_n((const uint64_t *)(const void *)host, __ATOMIC_ACQUIRE));
	}
}

/* host is written, through the casts (clang-tidy cannot see it). */
static void store_release(uint8_t *host, /* NOLINT(readability-non-const-parameter) */
			  uint64_t value, unsigned width)
{
	switch (width) {
	case 2:
		__atomic_store_n((uint16_t *)(void *)host, LE16((uint16_t)value), __ATOMIC_RELEASE);
		break;
	case 4:
		__atomic_store_n((uint32_t *)(void *)host, LE32((uint32_t)value), __ATOMIC_RELEASE);
		break;
	default:
		__atomic_store_n((uint64_t *)(void *)host, LE64(value), __ATOMIC_RELEASE);
	}
}

SQUIB_COLD static squib_status_t ring_load_slow(const squib_mem_t *mem, uint64_t addr, void *out,
						unsigned width, const char *caller)
{
	struct access_guard guard;
	uint8_t *host;
	bool inside;

	if (!mem || !out)
		return fail_arguments(caller, mem, "out", width);
	if (addr & (width - 1))
		return fail_unaligned(caller, addr, width);
	inside = translate(access_begin(mem, &guard), addr, width, &host);
	if (inside) {
		uint64_t value = load_acquire(host, width);

		if (width == 2)
			*(uint16_t *)out = (uint16_t)value;
		else if (width == 4)
			*(uint32_t *)out = (uint32_t)value;
		else
			*(uint64_t *)out = value;
	}
	access_end(mem, &guard);
	return inside ? SQUIB_OK : fail_out_of_range(addr, width);
}

SQUIB_COLD static squib_status_t ring_store_slow(squib_mem_t *mem, uint64_t addr, uint64_t value,
						 unsigned width, const char *caller)
{
	struct access_guard guard;
	const struct region *region;
	squib_status_t status = SQUIB_OK;

	if (!mem)
		return fail_arguments(caller, mem, "value", width);
	if (addr & (width - 1))
		return fail_unaligned(caller, addr, width);
	region = table_find(access_begin(mem, &guard), addr, width);
	if (!region)
		status = fail_out_of_range(addr, width);
	else if (region->flags & SQUIB_REGION_READONLY)
		status = fail_read_only(addr, width, region->slot);
	else {
		region_mark_writing(region, addr, width);
		store_release(region->host + (addr - region->base), value, width);
	}
	access_end(mem, &guard);
	return status;
}

#define DEFINE_RING_ATOMIC(bits)                                                                   \
	squib_status_t squib_mem_load_u##bits##_acquire(const squib_mem_t *mem, squib_gpa_t addr,  \
							uint##bits##_t *out)                       \
	{                                                                                          \
		struct squib_reader *reader = &squib_reader_self;                                  \
		uint64_t seq, value;                                                               \
		uint8_t *host;                                                                     \
                                                                                                   \
		if (SQUIB_LIKELY(mem && out && !(addr.raw & (sizeof(uint##bits##_t) - 1)) &&       \
				 reader_enter_fast(reader, &seq))) {                               \
			if (SQUIB_LIKELY(                                                          \
				translate_typed_fast(read_index(mem), addr.raw, &host))) {         \
				value = load_acquire(host, sizeof(uint##bits##_t));                \
				reader_exit_fast(reader, seq);                                     \
				*out = (uint##bits##_t)value;                                      \
				return SQUIB_OK;                                                   \
			}                                                                          \
			reader_exit_fast(reader, seq);                                             \
		}                                                                                  \
		return ring_load_slow(mem, addr.raw, out, sizeof(*out), __func__);                 \
	}                                                                                          \
                                                                                                   \
	squib_status_t squib_mem_store_u##bits##_release(squib_mem_t *mem, squib_gpa_t addr,       \
							 uint##bits##_t value)                     \
	{                                                                                          \
		struct squib_reader *reader = &squib_reader_self;                                  \
		uint8_t *host;                                                                     \
		uint64_t seq;                                                                      \
                                                                                                   \
		if (SQUIB_LIKELY(mem && !(addr.raw & (sizeof(uint##bits##_t) - 1)) &&              \
				 reader_enter_fast(reader, &seq))) {                               \
			if (SQUIB_LIKELY(                                                          \
				translate_typed_fast(write_index(mem), addr.raw, &host))) {        \
				store_release(host, value, sizeof(uint##bits##_t));                \
				reader_exit_fast(reader, seq);                                     \
				return SQUIB_OK;                                                   \
			}                                                                          \
			reader_exit_fast(reader, seq);                                             \
		}                                                                                  \
		return ring_store_slow(mem, addr.raw, value, sizeof(uint##bits##_t), __func__);    \
	}

DEFINE_RING_ATOMIC(16)
DEFINE_RING_ATOMIC(32)
DEFINE_RING_ATOMIC(64)
