/* SPDX-License-Identifier: MIT */
/*
 * Ring-index atomics (squib/ring.h, the end of lib/access.c): the six
 * acquire loads and release stores, little-endian round trips, natural
 * alignment, bounds as squib_mem_read(), read-only regions, a region at
 * the top of the address space and one at an unaligned base, and a
 * two-thread message-passing test of the orderings (run under TSan).
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include "test_util.h"

/* One function of each kind, for a width (2, 4 or 8). */
static squib_status_t store_w(squib_mem_t *mem, uint64_t addr, unsigned width, uint64_t value)
{
	switch (width) {
	case 2:
		return squib_mem_store_u16_release(mem, SQUIB_GPA(addr), (uint16_t)value);
	case 4:
		return squib_mem_store_u32_release(mem, SQUIB_GPA(addr), (uint32_t)value);
	default:
		return squib_mem_store_u64_release(mem, SQUIB_GPA(addr), value);
	}
}

/* Loads into *out; a failed call must leave *out as it was, which the
 * sentinel in the wider variable shows. */
static squib_status_t load_w(const squib_mem_t *mem, uint64_t addr, unsigned width, uint64_t *out)
{
	squib_status_t status;

	switch (width) {
	case 2: {
		uint16_t v = (uint16_t)*out;

		status = squib_mem_load_u16_acquire(mem, SQUIB_GPA(addr), &v);
		if (status == SQUIB_OK || v != (uint16_t)*out)
			*out = v;
		return status;
	}
	case 4: {
		uint32_t v = (uint32_t)*out;

		status = squib_mem_load_u32_acquire(mem, SQUIB_GPA(addr), &v);
		if (status == SQUIB_OK || v != (uint32_t)*out)
			*out = v;
		return status;
	}
	default:
		return squib_mem_load_u64_acquire(mem, SQUIB_GPA(addr), out);
	}
}

static squib_status_t load_null(const squib_mem_t *mem, uint64_t addr, unsigned width)
{
	switch (width) {
	case 2:
		return squib_mem_load_u16_acquire(mem, SQUIB_GPA(addr), NULL);
	case 4:
		return squib_mem_load_u32_acquire(mem, SQUIB_GPA(addr), NULL);
	default:
		return squib_mem_load_u64_acquire(mem, SQUIB_GPA(addr), NULL);
	}
}

static const unsigned widths[] = {2, 4, 8};

static uint64_t mask_of(unsigned width)
{
	return width == 8 ? UINT64_MAX : ((uint64_t)1 << (8 * width)) - 1;
}

static void le_encode(uint8_t *out, uint64_t value, unsigned width)
{
	for (unsigned i = 0; i < width; i++)
		out[i] = (uint8_t)(value >> (8 * i));
}

#define SENTINEL 0x5a5a5a5a5a5a5a5aull

static squib_region_opts_t opts_of(uint64_t base, uint64_t size, uint32_t slot, uint32_t flags,
				   const void *bytes)
{
	squib_region_opts_t opts = SQUIB_REGION_OPTS_INIT;

	opts.range = test_range(base, size);
	opts.slot = slot;
	opts.prot = SQUIB_PROT_RW;
	opts.flags = flags;
	opts.bytes = bytes;
	return opts;
}

/* Asserts that guest [addr, addr + len) reads as bytes. */
static void ck_guest_eq(const squib_mem_t *mem, uint64_t addr, const uint8_t *bytes, size_t len)
{
	uint8_t got[64];

	ck_assert_uint_le(len, sizeof(got));
	CK_OK(squib_mem_read(mem, SQUIB_GPA(addr), got, len));
	CK_BYTES_EQ(got, bytes, len);
}

/* ------------------------------------------------------------------ */

START_TEST(round_trip_little_endian)
{
	const uint64_t base = 0x10000;
	squib_mem_t *mem = test_mem_new();
	const uint64_t values[] = {
	    0, 1, 0x0102030405060708ull, 0x8000000000000001ull, UINT64_MAX, 0xfedcba9876543210ull};
	uint8_t around[24], want[24];

	test_add(mem, base, 0x1000, 1);
	for (size_t w = 0; w < 3; w++) {
		unsigned width = widths[w];

		for (size_t v = 0; v < sizeof(values) / sizeof(values[0]); v++) {
			uint64_t value = values[v] & mask_of(width), addr = base + 0x100 + 8 * v;
			uint64_t got = SENTINEL;

			/* A store writes exactly width LE bytes, nothing around. */
			memset(around, 0xee, sizeof(around));
			CK_OK(squib_mem_write(mem, SQUIB_GPA(addr - 8), around, sizeof(around)));
			CK_OK(store_w(mem, addr, width, value));
			memcpy(want, around, sizeof(want));
			le_encode(want + 8, value, width);
			ck_guest_eq(mem, addr - 8, want, sizeof(want));

			/* A load reads LE bytes written by squib_mem_write. */
			le_encode(want, ~value & mask_of(width), width);
			CK_OK(squib_mem_write(mem, SQUIB_GPA(addr), want, width));
			CK_OK(load_w(mem, addr, width, &got));
			ck_assert_uint_eq(got, ~value & mask_of(width));
			le_encode(want, value, width);
			CK_OK(squib_mem_write(mem, SQUIB_GPA(addr), want, width));
			got = 0;
			CK_OK(load_w(mem, addr, width, &got));
			ck_assert_uint_eq(got, value);
		}
		/* Agrees with the typed accesses. */
		{
			uint64_t got = 0;
			uint64_t typed = 0;

			CK_OK(store_w(mem, base + 0x800, width, 0x1122334455667788ull));
			CK_OK(squib_mem_read_u64_le(mem, SQUIB_GPA(base + 0x800), &typed));
			ck_assert_uint_eq(typed & mask_of(width),
					  0x1122334455667788ull & mask_of(width));
			CK_OK(squib_mem_write_u64_le(mem, SQUIB_GPA(base + 0x808),
						     0x99aabbccddeeff00ull));
			CK_OK(load_w(mem, base + 0x808, width, &got));
			ck_assert_uint_eq(got, 0x99aabbccddeeff00ull & mask_of(width));
		}
	}
	squib_mem_free(mem);
}
END_TEST

START_TEST(misaligned_is_invalid)
{
	const uint64_t base = 0x10000;
	squib_mem_t *mem = test_mem_new();
	uint8_t before[32], after[32];

	test_add(mem, base, 0x1000, 1);
	test_fill_pattern(before, sizeof(before), 3);
	CK_OK(squib_mem_write(mem, SQUIB_GPA(base + 0x200), before, sizeof(before)));
	for (size_t w = 0; w < 3; w++) {
		unsigned width = widths[w];

		for (uint64_t addr = base + 0x200; addr < base + 0x200 + 24; addr++) {
			uint64_t got = SENTINEL;

			if (addr % width == 0)
				continue;
			CK_STATUS(store_w(mem, addr, width, 0), SQUIB_E_INVALID_ARGUMENT);
			CK_STATUS(load_w(mem, addr, width, &got), SQUIB_E_INVALID_ARGUMENT);
			ck_assert_uint_eq(got, SENTINEL);
			/* Also where there is no region: arguments first. */
			CK_STATUS(store_w(mem, addr + 0x100000, width, 0),
				  SQUIB_E_INVALID_ARGUMENT);
			CK_STATUS(load_w(mem, addr + 0x100000, width, &got),
				  SQUIB_E_INVALID_ARGUMENT);
			ck_assert_uint_eq(got, SENTINEL);
		}
	}
	CK_OK(squib_mem_read(mem, SQUIB_GPA(base + 0x200), after, sizeof(after)));
	CK_BYTES_EQ(after, before, sizeof(before));
	squib_mem_free(mem);
}
END_TEST

START_TEST(bounds_as_read)
{
	/* [0x20000, 0x21006); the pair [0x30000, 0x30006) | [0x30006, 0x31000). */
	const uint64_t a = 0x20000, a_size = 0x1006, b = 0x30000;
	squib_mem_t *mem = test_mem_new();
	uint8_t ones[16];

	test_add(mem, a, a_size, 1);
	test_add(mem, b, 6, 2);
	test_add(mem, b + 6, 0x1000 - 6, 3);
	memset(ones, 0xff, sizeof(ones));
	CK_OK(squib_mem_write(mem, SQUIB_GPA(a + a_size - 6), ones, 6));
	CK_OK(squib_mem_write(mem, SQUIB_GPA(b), ones, 6));
	CK_OK(squib_mem_write(mem, SQUIB_GPA(b + 6), ones, 10));

	for (size_t w = 0; w < 3; w++) {
		unsigned width = widths[w];
		/* The last naturally aligned value inside region a. */
		uint64_t last = (a + a_size - width) & ~(uint64_t)(width - 1);
		uint64_t got = SENTINEL;

		CK_OK(store_w(mem, a, width, 0x42));
		CK_OK(load_w(mem, a, width, &got));
		ck_assert_uint_eq(got, 0x42);
		CK_OK(store_w(mem, last, width, 0x1234 & mask_of(width)));
		got = SENTINEL;
		CK_OK(load_w(mem, last, width, &got));
		ck_assert_uint_eq(got, 0x1234 & mask_of(width));
		CK_OK(store_w(mem, last, width, mask_of(width)));
	}
	/* Aligned values that straddle a's end: 0x21000 (u64), 0x21004 (u32,
	 * u64 misaligned). */
	{
		uint64_t got = SENTINEL;

		CK_STATUS(store_w(mem, a + 0x1000, 8, 0), SQUIB_E_OUT_OF_RANGE);
		CK_STATUS(load_w(mem, a + 0x1000, 8, &got), SQUIB_E_OUT_OF_RANGE);
		CK_STATUS(store_w(mem, a + 0x1004, 4, 0), SQUIB_E_OUT_OF_RANGE);
		CK_STATUS(load_w(mem, a + 0x1004, 4, &got), SQUIB_E_OUT_OF_RANGE);
		CK_OK(store_w(mem, a + 0x1004, 2, 0xffff)); /* the last u16 */
		/* Straddling two GPA-adjacent regions. */
		CK_STATUS(store_w(mem, b, 8, 0), SQUIB_E_OUT_OF_RANGE);
		CK_STATUS(load_w(mem, b, 8, &got), SQUIB_E_OUT_OF_RANGE);
		CK_STATUS(store_w(mem, b + 4, 4, 0), SQUIB_E_OUT_OF_RANGE);
		CK_STATUS(load_w(mem, b + 4, 4, &got), SQUIB_E_OUT_OF_RANGE);
		ck_assert_uint_eq(got, SENTINEL);
		/* Nothing written by those. */
		ck_guest_eq(mem, a + a_size - 6, ones, 6);
		ck_guest_eq(mem, b, ones, 6);
		ck_guest_eq(mem, b + 6, ones, 10);
		/* In a hole, and past the end. */
		for (size_t w = 0; w < 3; w++) {
			CK_STATUS(store_w(mem, 0x50000, widths[w], 0), SQUIB_E_OUT_OF_RANGE);
			CK_STATUS(load_w(mem, 0x50000, widths[w], &got), SQUIB_E_OUT_OF_RANGE);
			CK_STATUS(store_w(mem, a + 0x1008, widths[w], 0), SQUIB_E_OUT_OF_RANGE);
			CK_STATUS(load_w(mem, a + 0x1008, widths[w], &got), SQUIB_E_OUT_OF_RANGE);
			CK_STATUS(store_w(mem, a - 8, widths[w], 0), SQUIB_E_OUT_OF_RANGE);
			ck_assert_uint_eq(got, SENTINEL);
		}
	}
	squib_mem_free(mem);
}
END_TEST

START_TEST(null_arguments)
{
	squib_mem_t *mem = test_mem_new();

	test_add(mem, 0x10000, 0x1000, 1);
	for (size_t w = 0; w < 3; w++) {
		uint64_t got = SENTINEL;

		CK_STATUS(store_w(NULL, 0x10000, widths[w], 1), SQUIB_E_INVALID_ARGUMENT);
		CK_STATUS(load_w(NULL, 0x10000, widths[w], &got), SQUIB_E_INVALID_ARGUMENT);
		ck_assert_uint_eq(got, SENTINEL);
		CK_STATUS(load_null(mem, 0x10000, widths[w]), SQUIB_E_INVALID_ARGUMENT);
		CK_STATUS(load_null(mem, 0x50000, widths[w]), SQUIB_E_INVALID_ARGUMENT);
		CK_STATUS(load_null(NULL, 0x10000, widths[w]), SQUIB_E_INVALID_ARGUMENT);
	}
	squib_mem_free(mem);
}
END_TEST

START_TEST(read_only_region)
{
	const uint64_t rom = 0x10000, size = 0x1000;
	squib_mem_t *mem = test_mem_new();
	uint8_t image[0x1000];
	squib_region_opts_t opts = opts_of(rom, size, 1, SQUIB_REGION_READONLY, image);

	test_fill_pattern(image, sizeof(image), 21);
	CK_OK(squib_mem_add_region_opts(mem, &opts));
	test_add(mem, rom + size, size, 2);
	for (size_t w = 0; w < 3; w++) {
		unsigned width = widths[w];

		for (uint64_t off = 0; off < 0x40; off += width) {
			uint64_t got = SENTINEL, want = 0;

			CK_STATUS(store_w(mem, rom + off, width, 0), SQUIB_E_READ_ONLY);
			CK_STATUS(store_w(mem, rom + size - width, width, 0), SQUIB_E_READ_ONLY);
			for (unsigned i = 0; i < width; i++)
				want |= (uint64_t)image[off + i] << (8 * i);
			CK_OK(load_w(mem, rom + off, width, &got));
			ck_assert_uint_eq(got, want);
		}
		/* The RAM right after it is writable. */
		CK_OK(store_w(mem, rom + size, width, 7));
	}
	{
		uint8_t now[0x1000];

		CK_OK(squib_mem_read(mem, SQUIB_GPA(rom), now, sizeof(now)));
		CK_BYTES_EQ(now, image, sizeof(image));
	}
	squib_mem_free(mem);
}
END_TEST

/* [UINT64_MAX - 0x10, UINT64_MAX): the last region there can be (a range
 * ends at UINT64_MAX at most), at an odd base too. */
START_TEST(top_of_the_address_space)
{
	const uint64_t base = UINT64_MAX - 0x10;
	squib_mem_t *mem = test_mem_new();
	squib_region_opts_t opts = opts_of(base, 0x10, 1, 0, NULL);

	CK_OK(squib_mem_add_region_opts(mem, &opts));
	for (size_t w = 0; w < 3; w++) {
		unsigned width = widths[w];
		unsigned accepted = 0;

		for (uint64_t off = 0; off <= 0x10; off++) {
			uint64_t addr = base + off, got = SENTINEL;
			uint64_t value = (0xa1b2c3d4e5f60718ull ^ addr) & mask_of(width);

			if (addr % width) {
				CK_STATUS(store_w(mem, addr, width, value),
					  SQUIB_E_INVALID_ARGUMENT);
				CK_STATUS(load_w(mem, addr, width, &got), SQUIB_E_INVALID_ARGUMENT);
			} else if (off + width > 0x10) {
				/* Past the end, or past 2^64. */
				CK_STATUS(store_w(mem, addr, width, value), SQUIB_E_OUT_OF_RANGE);
				CK_STATUS(load_w(mem, addr, width, &got), SQUIB_E_OUT_OF_RANGE);
			} else {
				uint8_t want[8];

				CK_OK(store_w(mem, addr, width, value));
				le_encode(want, value, width);
				ck_guest_eq(mem, addr, want, width);
				CK_OK(load_w(mem, addr, width, &got));
				ck_assert_uint_eq(got, value);
				accepted++;
				continue;
			}
			ck_assert_uint_eq(got, SENTINEL);
		}
		/* ...f0 .. ...fc: 7 u16; ...f0, ...f4, ...f8: 3 u32; ...f0: 1 u64. */
		ck_assert_uint_eq(accepted, width == 2 ? 7 : width == 4 ? 3 : 1);
	}
	squib_mem_free(mem);
}
END_TEST

START_TEST(unaligned_base)
{
	const uint64_t base = 0x1003, size = 0x40;
	squib_mem_t *mem = test_mem_new();
	squib_region_opts_t opts = opts_of(base, size, 1, 0, NULL);

	CK_OK(squib_mem_add_region_opts(mem, &opts));
	for (size_t w = 0; w < 3; w++) {
		unsigned width = widths[w];
		unsigned accepted = 0;

		for (uint64_t addr = base - 8; addr < base + size + 8; addr++) {
			uint64_t got = SENTINEL;
			uint64_t value = (0x0f1e2d3c4b5a6978ull + addr) & mask_of(width);
			bool inside = addr >= base && addr + width <= base + size;

			if (addr % width) {
				CK_STATUS(store_w(mem, addr, width, value),
					  SQUIB_E_INVALID_ARGUMENT);
				CK_STATUS(load_w(mem, addr, width, &got), SQUIB_E_INVALID_ARGUMENT);
			} else if (!inside) {
				CK_STATUS(store_w(mem, addr, width, value), SQUIB_E_OUT_OF_RANGE);
				CK_STATUS(load_w(mem, addr, width, &got), SQUIB_E_OUT_OF_RANGE);
			} else {
				uint8_t want[8];

				CK_OK(store_w(mem, addr, width, value));
				le_encode(want, value, width);
				ck_guest_eq(mem, addr, want, width);
				CK_OK(load_w(mem, addr, width, &got));
				ck_assert_uint_eq(got, value);
				accepted++;
				continue;
			}
			ck_assert_uint_eq(got, SENTINEL);
		}
		/* 0x1004 .. 0x1042: 31 u16, 15 u32, 7 u64 (0x1008 .. 0x1038). */
		ck_assert_uint_eq(accepted, width == 2 ? 31 : width == 4 ? 15 : 7);
	}
	squib_mem_free(mem);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Message passing                                                     */

#define MP_PAYLOAD_BASE 0x100000u
#define MP_PAYLOAD_SIZE 0x400u
#define MP_INDEX_BASE 0x200000u /* another region: seq at +0x40, ack at +0x80 */

struct mp {
	squib_mem_t *mem;
	unsigned width;
	unsigned rounds;
	atomic_bool failed;
	char message[256];
};

static uint64_t mp_load(struct mp *mp, uint64_t addr, bool *ok)
{
	uint64_t value = 0;

	*ok = load_w(mp->mem, addr, mp->width, &value) == SQUIB_OK;
	return value;
}

static void mp_fail(struct mp *mp, const char *what, unsigned round)
{
	if (!atomic_exchange(&mp->failed, true))
		(void)snprintf(mp->message, sizeof(mp->message), "%s in round %u: %s", what, round,
			       squib_last_error());
}

static void *mp_producer(void *arg)
{
	struct mp *mp = arg;
	uint8_t *payload = malloc(MP_PAYLOAD_SIZE);
	uint64_t mask = mask_of(mp->width);

	if (!payload) {
		mp_fail(mp, "malloc", 0);
		return NULL;
	}
	for (unsigned r = 1; r <= mp->rounds && !atomic_load(&mp->failed); r++) {
		bool ok;

		/* Wait for the consumer to be done with round r - 1. */
		while (mp_load(mp, MP_INDEX_BASE + 0x80, &ok) != ((r - 1) & mask) && ok &&
		       !atomic_load(&mp->failed))
			sched_yield();
		if (!ok) {
			mp_fail(mp, "load of ack", r);
			break;
		}
		test_fill_pattern(payload, MP_PAYLOAD_SIZE, r);
		if (squib_mem_write(mp->mem, SQUIB_GPA(MP_PAYLOAD_BASE), payload,
				    MP_PAYLOAD_SIZE) != SQUIB_OK ||
		    store_w(mp->mem, MP_INDEX_BASE + 0x40, mp->width, r & mask) != SQUIB_OK) {
			mp_fail(mp, "publish", r);
			break;
		}
	}
	free(payload);
	return NULL;
}

static void *mp_consumer(void *arg)
{
	struct mp *mp = arg;
	uint8_t *payload = malloc(MP_PAYLOAD_SIZE);
	uint64_t mask = mask_of(mp->width);

	if (!payload) {
		mp_fail(mp, "malloc", 0);
		return NULL;
	}
	for (unsigned r = 1; r <= mp->rounds && !atomic_load(&mp->failed); r++) {
		bool ok;
		size_t at;

		while (mp_load(mp, MP_INDEX_BASE + 0x40, &ok) != (r & mask) && ok &&
		       !atomic_load(&mp->failed))
			sched_yield();
		if (!ok) {
			mp_fail(mp, "load of seq", r);
			break;
		}
		if (squib_mem_read(mp->mem, SQUIB_GPA(MP_PAYLOAD_BASE), payload, MP_PAYLOAD_SIZE) !=
		    SQUIB_OK) {
			mp_fail(mp, "read of payload", r);
			break;
		}
		at = test_check_pattern(payload, MP_PAYLOAD_SIZE, r);
		if (at != MP_PAYLOAD_SIZE) {
			char what[64];

			(void)snprintf(what, sizeof(what), "payload byte %zu incomplete", at);
			mp_fail(mp, what, r);
			break;
		}
		if (store_w(mp->mem, MP_INDEX_BASE + 0x80, mp->width, r & mask) != SQUIB_OK) {
			mp_fail(mp, "store of ack", r);
			break;
		}
	}
	free(payload);
	return NULL;
}

START_TEST(message_passing)
{
	struct mp mp;
	pthread_t producer, consumer;
	unsigned rounds = TEST_UNDER_TSAN || test_under_valgrind() ? 1000u : 5000u;

	memset(&mp, 0, sizeof(mp));
	mp.mem = test_mem_new();
	mp.width = widths[_i];
	mp.rounds = rounds;
	atomic_init(&mp.failed, false);
	test_add(mp.mem, MP_PAYLOAD_BASE, MP_PAYLOAD_SIZE, 1);
	test_add(mp.mem, MP_INDEX_BASE, 0x1000, 2);
	ck_assert_int_eq(pthread_create(&consumer, NULL, mp_consumer, &mp), 0);
	ck_assert_int_eq(pthread_create(&producer, NULL, mp_producer, &mp), 0);
	ck_assert_int_eq(pthread_join(producer, NULL), 0);
	ck_assert_int_eq(pthread_join(consumer, NULL), 0);
	ck_assert_msg(!atomic_load(&mp.failed), "width %u: %s", mp.width, mp.message);
	{
		uint64_t seq = 0, ack = 0;

		CK_OK(load_w(mp.mem, MP_INDEX_BASE + 0x40, mp.width, &seq));
		CK_OK(load_w(mp.mem, MP_INDEX_BASE + 0x80, mp.width, &ack));
		ck_assert_uint_eq(seq, rounds & mask_of(mp.width));
		ck_assert_uint_eq(ack, rounds & mask_of(mp.width));
	}
	squib_mem_free(mp.mem);
}
END_TEST

static Suite *ring_suite(void)
{
	Suite *suite = suite_create("ring");
	TCase *rules = tcase_create("rules");
	TCase *threads = tcase_create("threads");

	tcase_add_test(rules, round_trip_little_endian);
	tcase_add_test(rules, misaligned_is_invalid);
	tcase_add_test(rules, bounds_as_read);
	tcase_add_test(rules, null_arguments);
	tcase_add_test(rules, read_only_region);
	tcase_add_test(rules, top_of_the_address_space);
	tcase_add_test(rules, unaligned_base);
	suite_add_tcase(suite, rules);

	tcase_add_loop_test(threads, message_passing, 0, 3);
	tcase_set_timeout(threads, 120);
	suite_add_tcase(suite, threads);
	return suite;
}

TEST_MAIN(ring_suite)
