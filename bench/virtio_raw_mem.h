/* SPDX-License-Identifier: MIT */
/*
 * squib-virtio's library-free side: the guest-memory calls that
 * examples/virtio_blk/blk_device.c and bench/virtio_driver.c make,
 * re-implemented over one flat host mapping with no library at all, so
 * that the very same device and driver source can be compiled a second
 * time against them (bench/blk_device_raw.c, bench/virtio_driver_raw.c).
 * The two variants of squib-virtio thus differ in nothing but these
 * functions: the library's bounds-checked, region-table accesses on one
 * side; on the other, what a hand-written device over a single mapping
 * must do at the least.
 *
 * What "at the least" means here, function by function:
 *   - every access checks that [addr, addr + len) lies inside the mapping
 *     (two compares, overflow-safe): the guest chooses the descriptor
 *     addresses, so a device that skips this is a security bug, not a
 *     faster device;
 *   - typed reads and writes are plain loads and stores (memcpy, which the
 *     compiler turns into one mov; x86 and other little-endian hosts only);
 *   - the ring indexes are __atomic acquire loads and release stores, with
 *     the natural-alignment check the library makes;
 *   - translate gives one iovec (one mapping: nothing can be GPA-adjacent);
 *   - pins are not offered (squib-virtio never sets the device's hold mode).
 * Everything is static inline, so the compiler inlines it into the loops.
 *
 * Include this first, before any other header: it defines _GNU_SOURCE as
 * blk_device.c does, includes <squib/core.h> (so the library's declarations
 * are seen under their own names once), then renames the library's
 * functions to these and the device's and driver's entry points to raw_*
 * (so that both copies link into one program). A call of blk_device.c or
 * virtio_driver.c that this file does not cover would reach the real
 * library with a pointer that is no squib_mem_t: the smoke test
 * (bench_virtio_smoke) would fail on it.
 */
#ifndef SQUIB_BENCH_VIRTIO_RAW_MEM_H
#define SQUIB_BENCH_VIRTIO_RAW_MEM_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* preadv, pwritev: the same definition as blk_device.c's */
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>

#include <squib/core.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "virtio_raw_mem.h: plain loads are little-endian only on a little-endian host"
#endif

#define squib_mem_read raw_read
#define squib_mem_write raw_write
#define squib_mem_read_u8 raw_read_u8
#define squib_mem_read_u16_le raw_read_u16_le
#define squib_mem_read_u32_le raw_read_u32_le
#define squib_mem_read_u64_le raw_read_u64_le
#define squib_mem_write_u8 raw_write_u8
#define squib_mem_write_u16_le raw_write_u16_le
#define squib_mem_write_u32_le raw_write_u32_le
#define squib_mem_write_u64_le raw_write_u64_le
#define squib_mem_load_u16_acquire raw_load_u16_acquire
#define squib_mem_store_u16_release raw_store_u16_release
#define squib_mem_translate raw_translate
#define squib_mem_pin raw_pin
#define squib_mem_unpin raw_unpin

/* The entry points of the two sources compiled against the above. */
#define blk_device_start raw_blk_device_start
#define blk_device_stop raw_blk_device_stop
#define blk_why_text raw_blk_why_text
#define virtio_pass raw_virtio_pass

/* After the renames: blk_device.h's and virtio_bench.h's prototypes are
 * the raw_* ones. virtio_bench.h also has struct raw_guest. */
#include "virtio_bench.h"

/* The host address of [addr, addr + len), NULL when it is not inside. */
static inline uint8_t *raw_at(const squib_mem_t *mem, uint64_t addr, uint64_t len)
{
	const struct raw_guest *guest = (const struct raw_guest *)(const void *)mem;

	if (addr > guest->size || len > guest->size - addr)
		return NULL;
	return guest->host + addr;
}

static inline squib_status_t raw_read(const squib_mem_t *mem, squib_gpa_t addr, void *buf,
				      size_t len)
{
	const uint8_t *at = raw_at(mem, addr.raw, len);

	if (!at)
		return SQUIB_E_OUT_OF_RANGE;
	memcpy(buf, at, len);
	return SQUIB_OK;
}

static inline squib_status_t raw_write(squib_mem_t *mem, squib_gpa_t addr, const void *buf,
				       size_t len)
{
	uint8_t *at = raw_at(mem, addr.raw, len);

	if (!at)
		return SQUIB_E_OUT_OF_RANGE;
	memcpy(at, buf, len);
	return SQUIB_OK;
}

/* Typed accesses: a fixed-size memcpy, one load or store. */
#define RAW_TYPED(bits, suffix)                                                                    \
	static inline squib_status_t raw_read_u##bits##suffix(                                     \
	    const squib_mem_t *mem, squib_gpa_t addr, uint##bits##_t *out)                         \
	{                                                                                          \
		const uint8_t *at = raw_at(mem, addr.raw, sizeof(*out));                           \
                                                                                                   \
		if (!at)                                                                           \
			return SQUIB_E_OUT_OF_RANGE;                                               \
		memcpy(out, at, sizeof(*out));                                                     \
		return SQUIB_OK;                                                                   \
	}                                                                                          \
	static inline squib_status_t raw_write_u##bits##suffix(squib_mem_t *mem, squib_gpa_t addr, \
							       uint##bits##_t value)               \
	{                                                                                          \
		uint8_t *at = raw_at(mem, addr.raw, sizeof(value));                                \
                                                                                                   \
		if (!at)                                                                           \
			return SQUIB_E_OUT_OF_RANGE;                                               \
		memcpy(at, &value, sizeof(value));                                                 \
		return SQUIB_OK;                                                                   \
	}
RAW_TYPED(8, )
RAW_TYPED(16, _le)
RAW_TYPED(32, _le)
RAW_TYPED(64, _le)
#undef RAW_TYPED

/* The ring indexes: one naturally aligned atomic access each. */
static inline squib_status_t raw_load_u16_acquire(const squib_mem_t *mem, squib_gpa_t addr,
						  uint16_t *out)
{
	const uint8_t *at = raw_at(mem, addr.raw, sizeof(*out));

	if (!at || (addr.raw & 1u))
		return SQUIB_E_OUT_OF_RANGE;
	*out = __atomic_load_n((const uint16_t *)(const void *)at, __ATOMIC_ACQUIRE);
	return SQUIB_OK;
}

static inline squib_status_t raw_store_u16_release(squib_mem_t *mem, squib_gpa_t addr,
						   uint16_t value)
{
	uint8_t *at = raw_at(mem, addr.raw, sizeof(value));

	if (!at || (addr.raw & 1u))
		return SQUIB_E_OUT_OF_RANGE;
	__atomic_store_n((uint16_t *)(void *)at, value, __ATOMIC_RELEASE);
	return SQUIB_OK;
}

static inline squib_status_t raw_translate(const squib_mem_t *mem, squib_gpa_t addr, size_t len,
					   squib_prot_t access, struct iovec *iov, size_t iov_cap,
					   size_t *iov_used)
{
	uint8_t *at = raw_at(mem, addr.raw, len);

	(void)access; /* one writable mapping: every access is allowed */
	if (!at)
		return SQUIB_E_OUT_OF_RANGE;
	if (len && iov_cap < 1)
		return SQUIB_E_NO_SPACE;
	if (len) {
		iov[0].iov_base = at;
		iov[0].iov_len = len;
	}
	*iov_used = len ? 1 : 0;
	return SQUIB_OK;
}

static inline squib_status_t raw_pin(squib_mem_t *mem, squib_gpa_t addr, size_t len,
				     squib_prot_t access, struct iovec *iov, size_t iov_cap,
				     size_t *iov_used, squib_pin_t **pin)
{
	(void)mem, (void)addr, (void)len, (void)access, (void)iov, (void)iov_cap, (void)iov_used;
	(void)pin;
	return SQUIB_E_UNSUPPORTED;
}

static inline void raw_unpin(squib_pin_t *pin)
{
	(void)pin;
}

#endif /* SQUIB_BENCH_VIRTIO_RAW_MEM_H */
