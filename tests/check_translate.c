/* SPDX-License-Identifier: MIT */
/*
 * Host translation for devices and pins (lib/translate.c): every rule and
 * error of squib_mem_host_range(), squib_mem_translate(), squib_mem_pin()
 * and squib_mem_unpin(), the iovecs compared with squib_mem_find_region()'s
 * host_addr, real preadv()/pwritev() through them, and pinned memory used
 * after its region is removed and after the handle is freed, with the
 * mappings and file descriptors of the process counted around it.
 */
#define _GNU_SOURCE /* mkdtemp, preadv, pwritev */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "test_util.h"
#include "test_host.h"

/* ------------------------------------------------------------------ */
/* helpers                                                             */

#define IOV_MAX_TEST 32

/* A region of size bytes at base holding pattern seed (byte i of the
 * region is test_pattern_byte(seed, i)), with flags. */
static void add_pattern(squib_mem_t *mem, uint64_t base, uint64_t size, uint32_t slot,
			uint32_t flags, uint64_t seed)
{
	squib_region_opts_t opts = test_opts_of(base, size, slot, flags);
	uint8_t *bytes = malloc((size_t)size);

	ck_assert_ptr_nonnull(bytes);
	test_fill_pattern(bytes, (size_t)size, seed);
	opts.bytes = bytes;
	CK_OK(squib_mem_add_region_opts(mem, &opts));
	free(bytes);
}

/* A read-only region (a ROM) holding pattern seed. */
static void add_rom(squib_mem_t *mem, uint64_t base, uint64_t size, uint32_t slot, uint64_t seed)
{
	add_pattern(mem, base, size, slot, SQUIB_REGION_READONLY, seed);
}

static uint8_t *host_of(const squib_mem_t *mem, uint64_t addr)
{
	squib_region_info_t info = SQUIB_REGION_INFO_INIT;

	CK_OK(squib_mem_find_region(mem, SQUIB_GPA(addr), &info));
	ck_assert_ptr_nonnull(info.host_addr);
	return (uint8_t *)info.host_addr + (addr - info.range.base.raw);
}

/* Sentinel values: an out-parameter a failed call must not write. */
static char sentinel_object;
#define SENTINEL_PTR ((void *)&sentinel_object)
#define SENTINEL_USED ((size_t)0x5eed5eedu)
#define SENTINEL_PIN ((squib_pin_t *)(void *)&sentinel_object)

static void iov_poison(struct iovec *iov, size_t n)
{
	memset(iov, 0xa5, n * sizeof(*iov));
}

static void ck_iov_poisoned(const struct iovec *iov, size_t n)
{
	CK_BYTES_ALL(iov, n * sizeof(*iov), 0xa5);
}

/*
 * Asserts that iov[0, used) is exactly the host memory of [addr, addr + len)
 * split at region boundaries: each base is find_region's host_addr plus the
 * offset, each length runs to the region's end (the last to addr + len).
 */
static void ck_iov_exact(const squib_mem_t *mem, uint64_t addr, uint64_t len,
			 const struct iovec *iov, size_t used, size_t want_used)
{
	uint64_t at = addr, total = 0;

	ck_assert_uint_eq(used, want_used);
	for (size_t i = 0; i < used; i++) {
		squib_region_info_t info = SQUIB_REGION_INFO_INIT;
		uint64_t end, want;

		CK_OK(squib_mem_find_region(mem, SQUIB_GPA(at), &info));
		end = info.range.base.raw + info.range.size;
		want = addr + len - at < end - at ? addr + len - at : end - at;
		ck_assert_msg(iov[i].iov_base ==
				  (uint8_t *)info.host_addr + (at - info.range.base.raw),
			      "iov[%zu].iov_base %p, want %p", i, iov[i].iov_base,
			      (void *)((uint8_t *)info.host_addr + (at - info.range.base.raw)));
		ck_assert_uint_eq(iov[i].iov_len, want);
		at += want;
		total += iov[i].iov_len;
	}
	ck_assert_uint_eq(total, len);
	ck_assert_uint_eq(at, addr + len);
}

/* Fills the iovecs with pattern seed (continuous over them). */
static void iov_fill(const struct iovec *iov, size_t n, uint64_t seed)
{
	uint64_t at = 0;

	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < iov[i].iov_len; j++)
			((uint8_t *)iov[i].iov_base)[j] = test_pattern_byte(seed, at++);
}

/* The first offset where the iovecs do not hold pattern seed, or their
 * total length. */
static uint64_t iov_check(const struct iovec *iov, size_t n, uint64_t seed)
{
	uint64_t at = 0;

	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < iov[i].iov_len; j++, at++)
			if (((const uint8_t *)iov[i].iov_base)[j] != test_pattern_byte(seed, at))
				return at;
	return at;
}

/* The first i < len where p[i] is not byte off + i of pattern seed, or len. */
static size_t pattern_from(const void *p, size_t len, uint64_t seed, uint64_t off)
{
	for (size_t i = 0; i < len; i++)
		if (((const uint8_t *)p)[i] != test_pattern_byte(seed, off + i))
			return i;
	return len;
}

static uint64_t iov_total(const struct iovec *iov, size_t n)
{
	uint64_t total = 0;

	for (size_t i = 0; i < n; i++)
		total += iov[i].iov_len;
	return total;
}

/* Asserts that guest [addr, addr + len) holds pattern seed from offset 0,
 * read with squib_mem_read region by region. */
static void ck_guest_pattern(const squib_mem_t *mem, uint64_t addr, size_t len, uint64_t seed)
{
	uint8_t *buf = malloc(len ? len : 1);
	size_t at, done = 0;

	ck_assert_ptr_nonnull(buf);
	while (done < len) {
		squib_region_info_t info = SQUIB_REGION_INFO_INIT;
		uint64_t end, part;

		CK_OK(squib_mem_find_region(mem, SQUIB_GPA(addr + done), &info));
		end = info.range.base.raw + info.range.size;
		part = end - (addr + done) < len - done ? end - (addr + done) : len - done;
		CK_OK(squib_mem_read(mem, SQUIB_GPA(addr + done), buf + done, (size_t)part));
		done += (size_t)part;
	}
	at = test_check_pattern(buf, len, seed);
	ck_assert_msg(at == len, "guest 0x%" PRIx64 ": byte %zu of %zu is not pattern %" PRIu64,
		      addr, at, len, seed);
	free(buf);
}

static bool maps_equal(struct test_maps a, struct test_maps b)
{
	/* valgrind maps memory of its own as the process runs: there the
	 * VMA checks (test_mapped()) and the fd counts have to do. */
	if (test_under_valgrind())
		return true;
	return test_maps_equal(a, b);
}

/* A caller's mapping of one page, added and removed n times: changes of
 * the table that map nothing of the library's (so they cannot land at an
 * address a test watches), enough to end the deferral of removed memory. */
static void churn(squib_mem_t *mem, unsigned n)
{
	const uint64_t p = test_page();
	void *own =
	    mmap(NULL, (size_t)p, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	squib_region_opts_t opts = test_opts_of(0x7f000000, p, 999, 0);

	ck_assert_ptr_ne(own, MAP_FAILED);
	opts.host_addr = own;
	for (unsigned i = 0; i < n; i++) {
		CK_OK(squib_mem_add_region_opts(mem, &opts));
		CK_OK(squib_mem_remove_region(mem, 999));
	}
	ck_assert_int_eq(munmap(own, (size_t)p), 0);
}

static const squib_prot_t bad_access[] = {
    0u,
    SQUIB_PROT_EXEC,
    8u,
    SQUIB_PROT_READ | SQUIB_PROT_EXEC,
    SQUIB_PROT_WRITE | SQUIB_PROT_EXEC,
    SQUIB_PROT_RWX,
    SQUIB_PROT_READ | 8u,
    0x80000000u,
    0xffffffffu,
};
#define BAD_ACCESS_N (sizeof(bad_access) / sizeof(bad_access[0]))

static const squib_prot_t good_access[] = {SQUIB_PROT_READ, SQUIB_PROT_WRITE, SQUIB_PROT_RW};

/* ------------------------------------------------------------------ */
/* squib_mem_host_range                                                */

START_TEST(host_range_inside_one_region)
{
	const uint64_t base = 0x100000, size = 0x4000;
	squib_mem_t *mem = test_mem_new();
	squib_region_info_t info = SQUIB_REGION_INFO_INIT;
	const struct {
		uint64_t off, len;
	} cases[] = {{0, 1}, {0, size}, {0x123, 0x456}, {size - 1, 1}, {size - 0x100, 0x100}};
	uint8_t buf[0x400];

	test_add(mem, base, size, 1);
	CK_OK(squib_mem_get_region(mem, 1, &info));
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++)
		for (size_t a = 0; a < 3; a++) {
			void *host = SENTINEL_PTR;

			CK_OK(squib_mem_host_range(mem, SQUIB_GPA(base + cases[c].off),
						   (size_t)cases[c].len, good_access[a], &host));
			ck_assert_ptr_eq(host, (uint8_t *)info.host_addr + cases[c].off);
		}

	/* Writes through the pointer are what squib_mem_read sees, and back. */
	{
		void *host = NULL;

		CK_OK(squib_mem_host_range(mem, SQUIB_GPA(base + 0x1000), sizeof(buf),
					   SQUIB_PROT_WRITE, &host));
		test_fill_pattern(host, sizeof(buf), 7);
		ck_guest_pattern(mem, base + 0x1000, sizeof(buf), 7);
		test_fill_pattern(buf, sizeof(buf), 8);
		CK_OK(squib_mem_write(mem, SQUIB_GPA(base + 0x1000), buf, sizeof(buf)));
		CK_OK(squib_mem_host_range(mem, SQUIB_GPA(base + 0x1000), sizeof(buf),
					   SQUIB_PROT_READ, &host));
		CK_BYTES_EQ(host, buf, sizeof(buf));
	}
	squib_mem_free(mem);
}
END_TEST

START_TEST(host_range_out_of_range)
{
	const uint64_t a = 0x100000, b = 0x104000, size = 0x4000, top = UINT64_MAX - 0xfff;
	squib_mem_t *mem = test_mem_new();
	const struct {
		uint64_t addr;
		size_t len;
		const char *what;
	} cases[] = {
	    {a - 1, 2, "starts before the first region"},
	    {a - 0x10, 0x10, "ends at the first region's base"},
	    {b + size - 4, 5, "one byte past the end"},
	    {b + size, 1, "just past the end"},
	    {a + size - 0x10, 0x20, "straddles two GPA-adjacent regions"},
	    {a, (size_t)(2 * size), "the whole of two adjacent regions"},
	    {0x200000, 1, "in a hole"},
	    {0x200000, 0, "empty, in a hole"},
	    {top + 0x10, SIZE_MAX, "addr + len overflows"},
	    {UINT64_MAX, 2, "addr + len overflows by one"},
	    {UINT64_MAX - 3, 8, "overflow with no region there"},
	};

	test_add(mem, a, size, 1);
	test_add(mem, b, size, 2);
	test_add(mem, top, 0xfff, 3);
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++)
		for (size_t k = 0; k < 3; k++) {
			void *host = SENTINEL_PTR;

			CK_STATUS(squib_mem_host_range(mem, SQUIB_GPA(cases[c].addr), cases[c].len,
						       good_access[k], &host),
				  SQUIB_E_OUT_OF_RANGE);
			ck_assert_msg(host == SENTINEL_PTR, "%s: *host written", cases[c].what);
		}
	/* Each half of the straddle is fine. */
	{
		void *host = NULL;

		CK_OK(squib_mem_host_range(mem, SQUIB_GPA(a + size - 0x10), 0x10, SQUIB_PROT_RW,
					   &host));
		ck_assert_ptr_eq(host, host_of(mem, a + size - 0x10));
		CK_OK(squib_mem_host_range(mem, SQUIB_GPA(b), 0x10, SQUIB_PROT_RW, &host));
		ck_assert_ptr_eq(host, host_of(mem, b));
	}
	squib_mem_free(mem);
}
END_TEST

START_TEST(host_range_empty)
{
	const uint64_t base = 0x100000, size = 0x4000;
	squib_mem_t *mem = test_mem_new();
	squib_region_info_t info = SQUIB_REGION_INFO_INIT;
	const uint64_t offs[] = {0, 1, 0x2000, size - 1, size};

	test_add(mem, base, size, 1);
	CK_OK(squib_mem_get_region(mem, 1, &info));
	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++)
		for (size_t k = 0; k < 3; k++) {
			void *host = SENTINEL_PTR;

			CK_OK(squib_mem_host_range(mem, SQUIB_GPA(base + offs[i]), 0,
						   good_access[k], &host));
			ck_assert_ptr_eq(host, (uint8_t *)info.host_addr + offs[i]);
		}
	{
		void *host = SENTINEL_PTR;

		CK_STATUS(squib_mem_host_range(mem, SQUIB_GPA(base + size + 1), 0, SQUIB_PROT_READ,
					       &host),
			  SQUIB_E_OUT_OF_RANGE);
		CK_STATUS(squib_mem_host_range(mem, SQUIB_GPA(base - 1), 0, SQUIB_PROT_READ, &host),
			  SQUIB_E_OUT_OF_RANGE);
		ck_assert_ptr_eq(host, SENTINEL_PTR);
	}
	squib_mem_free(mem);
}
END_TEST

START_TEST(host_range_arguments)
{
	const uint64_t base = 0x100000;
	squib_mem_t *mem = test_mem_new();
	void *host = SENTINEL_PTR;

	test_add(mem, base, 0x1000, 1);
	for (size_t i = 0; i < BAD_ACCESS_N; i++) {
		CK_STATUS(squib_mem_host_range(mem, SQUIB_GPA(base), 8, bad_access[i], &host),
			  SQUIB_E_INVALID_ARGUMENT);
		/* Argument checks come first: also where the range is bad. */
		CK_STATUS(squib_mem_host_range(mem, SQUIB_GPA(0x900000), 8, bad_access[i], &host),
			  SQUIB_E_INVALID_ARGUMENT);
		ck_assert_ptr_eq(host, SENTINEL_PTR);
	}
	CK_STATUS(squib_mem_host_range(NULL, SQUIB_GPA(base), 8, SQUIB_PROT_READ, &host),
		  SQUIB_E_INVALID_ARGUMENT);
	ck_assert_ptr_eq(host, SENTINEL_PTR);
	CK_STATUS(squib_mem_host_range(mem, SQUIB_GPA(base), 8, SQUIB_PROT_READ, NULL),
		  SQUIB_E_INVALID_ARGUMENT);
	CK_STATUS(squib_mem_host_range(mem, SQUIB_GPA(base), 8, SQUIB_PROT_WRITE, NULL),
		  SQUIB_E_INVALID_ARGUMENT);
	squib_mem_free(mem);
}
END_TEST

START_TEST(host_range_read_only_and_dirty_log)
{
	const uint64_t rom = 0x100000, ram = 0x101000, logged = 0x200000, size = 0x1000;
	squib_mem_t *mem = test_mem_new();
	void *host = SENTINEL_PTR;

	add_rom(mem, rom, size, 1, 11);
	test_add(mem, ram, size, 2);
	CK_STATUS(squib_mem_host_range(mem, SQUIB_GPA(rom + 8), 8, SQUIB_PROT_WRITE, &host),
		  SQUIB_E_READ_ONLY);
	CK_STATUS(squib_mem_host_range(mem, SQUIB_GPA(rom), size, SQUIB_PROT_RW, &host),
		  SQUIB_E_READ_ONLY);
	ck_assert_ptr_eq(host, SENTINEL_PTR);
	CK_OK(squib_mem_host_range(mem, SQUIB_GPA(rom), size, SQUIB_PROT_READ, &host));
	ck_assert_ptr_eq(host, host_of(mem, rom));
	ck_assert_uint_eq(test_check_pattern(host, size, 11), size);
	/* The RAM next to it is writable. */
	CK_OK(squib_mem_host_range(mem, SQUIB_GPA(ram), size, SQUIB_PROT_WRITE, &host));
	ck_assert_ptr_eq(host, host_of(mem, ram));

	/* Only read-only refuses writing: a dirty-logged region does not. */
	{
		squib_region_opts_t opts = test_opts_of(logged, size, 3, SQUIB_REGION_DIRTY_LOG);

		CK_OK(squib_mem_add_region_opts(mem, &opts));
		for (size_t k = 0; k < 3; k++) {
			host = SENTINEL_PTR;
			CK_OK(squib_mem_host_range(mem, SQUIB_GPA(logged + 0x10), 0x100,
						   good_access[k], &host));
			ck_assert_ptr_eq(host, host_of(mem, logged + 0x10));
		}
		memset(host, 0x3c, 0x100);
		{
			uint8_t buf[0x100];

			CK_OK(squib_mem_read(mem, SQUIB_GPA(logged + 0x10), buf, sizeof(buf)));
			CK_BYTES_ALL(buf, sizeof(buf), 0x3c);
		}
	}
	squib_mem_free(mem);
}
END_TEST

/* ------------------------------------------------------------------ */
/* squib_mem_translate                                                 */

#define SPAN_N 20
#define SPAN_BASE 0x1000000u

/* SPAN_N GPA-adjacent regions from SPAN_BASE, of sizes 0x1000 + i * 0x80
 * (slot 100 + i, pattern 100 + i), added in a shuffled order; bases[]
 * receives their bases and bases[SPAN_N] the end. */
static squib_mem_t *span_new(uint64_t *bases)
{
	squib_mem_t *mem = test_mem_new();
	static const unsigned order[SPAN_N] = {7,  3, 19, 0, 12, 5,  16, 1,  9, 14,
					       18, 2, 11, 6, 4,	 15, 10, 17, 8, 13};

	bases[0] = SPAN_BASE;
	for (unsigned i = 0; i < SPAN_N; i++)
		bases[i + 1] = bases[i] + 0x1000 + i * 0x80;
	for (unsigned k = 0; k < SPAN_N; k++) {
		unsigned i = order[k];

		add_pattern(mem, bases[i], bases[i + 1] - bases[i], 100 + i, 0, 100 + i);
	}
	return mem;
}

START_TEST(translate_one_region)
{
	const uint64_t base = 0x100000, size = 0x4000;
	squib_mem_t *mem = test_mem_new();
	struct iovec iov[2];
	size_t used = SENTINEL_USED;

	add_pattern(mem, base, size, 1, 0, 5);
	for (size_t k = 0; k < 3; k++) {
		iov_poison(iov, 2);
		CK_OK(squib_mem_translate(mem, SQUIB_GPA(base + 0x10), 0x100, good_access[k], iov,
					  2, &used));
		ck_iov_exact(mem, base + 0x10, 0x100, iov, used, 1);
		ck_iov_poisoned(&iov[1], 1);
		/* iov_cap exactly 1 is enough. */
		CK_OK(
		    squib_mem_translate(mem, SQUIB_GPA(base), size, good_access[k], iov, 1, &used));
		ck_iov_exact(mem, base, size, iov, used, 1);
	}
	ck_assert_uint_eq(iov_check(iov, 1, 5), size);
	squib_mem_free(mem);
}
END_TEST

START_TEST(translate_spans_adjacent_regions)
{
	uint64_t bases[SPAN_N + 1];
	squib_mem_t *mem = span_new(bases);
	struct iovec iov[IOV_MAX_TEST];
	const struct {
		unsigned first, count;
		uint64_t head, tail; /* bytes skipped in the first, left in the last */
	} cases[] = {
	    {0, 2, 0, 0},     {0, 2, 0x10, 0x10}, {4, 2, 0x7ff, 1},  {4, 3, 1, 0x7ff},
	    {9, 3, 0, 0x100}, {0, 20, 0, 0},	  {0, 20, 0x123, 3}, {1, 18, 0xfff, 0xfff},
	};

	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		uint64_t addr = bases[cases[c].first] + cases[c].head;
		uint64_t end = bases[cases[c].first + cases[c].count] - cases[c].tail;
		size_t used = SENTINEL_USED;

		for (size_t k = 0; k < 3; k++) {
			iov_poison(iov, IOV_MAX_TEST);
			CK_OK(squib_mem_translate(mem, SQUIB_GPA(addr), (size_t)(end - addr),
						  good_access[k], iov, IOV_MAX_TEST, &used));
			ck_iov_exact(mem, addr, end - addr, iov, used, cases[c].count);
			ck_iov_poisoned(&iov[used], IOV_MAX_TEST - used);
			/* iov_cap exactly the count is enough. */
			CK_OK(squib_mem_translate(mem, SQUIB_GPA(addr), (size_t)(end - addr),
						  good_access[k], iov, cases[c].count, &used));
			ck_iov_exact(mem, addr, end - addr, iov, used, cases[c].count);
		}
		/* Each iovec shows its own region's bytes (before the first
		 * case writes over them). */
		for (size_t i = 0; c == 0 && i < used; i++) {
			unsigned r = cases[c].first + (unsigned)i;
			uint64_t off = i == 0 ? cases[c].head : 0;

			for (size_t j = 0; j < iov[i].iov_len; j++)
				if (((uint8_t *)iov[i].iov_base)[j] !=
				    test_pattern_byte(100 + r, off + j))
					ck_abort_msg(
					    "case %zu iov[%zu] byte %zu is not region %u's", c, i,
					    j, r);
		}
		/* Writes through them land where squib_mem_read looks. */
		iov_fill(iov, used, 1000 + c);
		ck_guest_pattern(mem, addr, (size_t)(end - addr), 1000 + c);
	}
	squib_mem_free(mem);
}
END_TEST

START_TEST(translate_out_of_range)
{
	const uint64_t a = 0x100000, size = 0x1000, top = UINT64_MAX - 0x1fff;
	squib_mem_t *mem = test_mem_new();
	/* [a, a+2s) adjacent pair, hole [a+2s, a+3s), [a+3s, a+4s); a top pair. */
	const struct {
		uint64_t addr;
		size_t len;
		const char *what;
	} cases[] = {
	    {a, (size_t)(4 * size), "a hole in the middle"},
	    {a + size + 0x10, (size_t)(2 * size), "runs from a region into a hole"},
	    {a + 2 * size + 0x10, (size_t)size, "starts in a hole"},
	    {a - 1, 2, "starts just before the first region"},
	    {a + 3 * size, (size_t)size + 1, "ends one byte past the last region"},
	    {a + 3 * size + 0x800, (size_t)size, "ends past the last region"},
	    {0x50000000, 1, "no region at all"},
	    {top + 0x10, SIZE_MAX, "addr + len overflows"},
	    {top, (size_t)0x2001, "runs past the top of the address space"},
	    {UINT64_MAX, 2, "overflows by one"},
	    {a + 2 * size + 5, 0, "empty, in a hole"},
	};
	struct iovec iov[4];

	test_add(mem, a, size, 1);
	test_add(mem, a + size, size, 2);
	test_add(mem, a + 3 * size, size, 3);
	test_add(mem, top, 0x1000, 4);
	test_add(mem, top + 0x1000, 0xfff, 5);
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++)
		for (size_t k = 0; k < 3; k++) {
			size_t used = SENTINEL_USED;

			iov_poison(iov, 4);
			CK_STATUS(squib_mem_translate(mem, SQUIB_GPA(cases[c].addr), cases[c].len,
						      good_access[k], iov, 4, &used),
				  SQUIB_E_OUT_OF_RANGE);
			ck_assert_msg(used == SENTINEL_USED, "%s: *iov_used written",
				      cases[c].what);
			ck_iov_poisoned(iov, 4);
		}
	/* The top pair itself translates, up to the last byte. */
	{
		size_t used = 0;

		CK_OK(squib_mem_translate(mem, SQUIB_GPA(top + 0x10), 0x1fef, SQUIB_PROT_RW, iov, 4,
					  &used));
		ck_iov_exact(mem, top + 0x10, 0x1fef, iov, used, 2);
	}
	squib_mem_free(mem);
}
END_TEST

START_TEST(translate_no_space)
{
	uint64_t bases[SPAN_N + 1];
	squib_mem_t *mem = span_new(bases);
	struct iovec iov[IOV_MAX_TEST];
	size_t used;
	const uint64_t addr = bases[2] + 0x40, len = bases[5] - 0x40 - addr; /* 3 regions */

	for (size_t cap = 0; cap < 3; cap++) {
		used = SENTINEL_USED;
		iov_poison(iov, IOV_MAX_TEST);
		CK_STATUS(squib_mem_translate(mem, SQUIB_GPA(addr), (size_t)len, SQUIB_PROT_RW, iov,
					      cap, &used),
			  SQUIB_E_NO_SPACE);
		ck_assert_uint_eq(used, SENTINEL_USED);
		ck_iov_poisoned(iov, IOV_MAX_TEST);
	}
	CK_OK(squib_mem_translate(mem, SQUIB_GPA(addr), (size_t)len, SQUIB_PROT_RW, iov, 3, &used));
	ck_iov_exact(mem, addr, len, iov, used, 3);

	/* All twenty regions: 19 is too few, 20 enough. */
	used = SENTINEL_USED;
	iov_poison(iov, IOV_MAX_TEST);
	CK_STATUS(squib_mem_translate(mem, SQUIB_GPA(bases[0]), (size_t)(bases[SPAN_N] - bases[0]),
				      SQUIB_PROT_READ, iov, SPAN_N - 1, &used),
		  SQUIB_E_NO_SPACE);
	ck_assert_uint_eq(used, SENTINEL_USED);
	ck_iov_poisoned(iov, IOV_MAX_TEST);
	CK_OK(squib_mem_translate(mem, SQUIB_GPA(bases[0]), (size_t)(bases[SPAN_N] - bases[0]),
				  SQUIB_PROT_READ, iov, SPAN_N, &used));
	ck_iov_exact(mem, bases[0], bases[SPAN_N] - bases[0], iov, used, SPAN_N);

	/* iov_cap 0 with len > 0: NO_SPACE even inside one region, iov NULL
	 * or not. */
	used = SENTINEL_USED;
	CK_STATUS(squib_mem_translate(mem, SQUIB_GPA(bases[0]), 1, SQUIB_PROT_READ, NULL, 0, &used),
		  SQUIB_E_NO_SPACE);
	CK_STATUS(squib_mem_translate(mem, SQUIB_GPA(bases[0]), 1, SQUIB_PROT_READ, iov, 0, &used),
		  SQUIB_E_NO_SPACE);
	ck_assert_uint_eq(used, SENTINEL_USED);
	squib_mem_free(mem);
}
END_TEST

START_TEST(translate_empty)
{
	const uint64_t base = 0x100000, size = 0x2000;
	squib_mem_t *mem = test_mem_new();
	const uint64_t offs[] = {0, 0x10, size - 1, size};
	struct iovec iov[2];

	test_add(mem, base, size, 1);
	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++)
		for (size_t k = 0; k < 3; k++) {
			size_t used = SENTINEL_USED;

			CK_OK(squib_mem_translate(mem, SQUIB_GPA(base + offs[i]), 0, good_access[k],
						  NULL, 0, &used));
			ck_assert_uint_eq(used, 0);
			used = SENTINEL_USED;
			iov_poison(iov, 2);
			CK_OK(squib_mem_translate(mem, SQUIB_GPA(base + offs[i]), 0, good_access[k],
						  iov, 2, &used));
			ck_assert_uint_eq(used, 0);
			ck_iov_poisoned(iov, 2);
		}
	{
		size_t used = SENTINEL_USED;

		CK_STATUS(squib_mem_translate(mem, SQUIB_GPA(base + size + 1), 0, SQUIB_PROT_READ,
					      NULL, 0, &used),
			  SQUIB_E_OUT_OF_RANGE);
		CK_STATUS(squib_mem_translate(mem, SQUIB_GPA(base - 1), 0, SQUIB_PROT_READ, iov, 2,
					      &used),
			  SQUIB_E_OUT_OF_RANGE);
		ck_assert_uint_eq(used, SENTINEL_USED);
	}
	squib_mem_free(mem);
}
END_TEST

START_TEST(translate_arguments)
{
	const uint64_t base = 0x100000;
	squib_mem_t *mem = test_mem_new();
	struct iovec iov[2];
	size_t used = SENTINEL_USED;

	test_add(mem, base, 0x1000, 1);
	iov_poison(iov, 2);
	CK_STATUS(squib_mem_translate(mem, SQUIB_GPA(base), 8, SQUIB_PROT_READ, NULL, 1, &used),
		  SQUIB_E_INVALID_ARGUMENT);
	CK_STATUS(squib_mem_translate(mem, SQUIB_GPA(base), 0, SQUIB_PROT_READ, NULL, 2, &used),
		  SQUIB_E_INVALID_ARGUMENT);
	CK_STATUS(squib_mem_translate(mem, SQUIB_GPA(base), 8, SQUIB_PROT_READ, iov, 2, NULL),
		  SQUIB_E_INVALID_ARGUMENT);
	CK_STATUS(squib_mem_translate(mem, SQUIB_GPA(base), 0, SQUIB_PROT_READ, NULL, 0, NULL),
		  SQUIB_E_INVALID_ARGUMENT);
	CK_STATUS(squib_mem_translate(NULL, SQUIB_GPA(base), 8, SQUIB_PROT_READ, iov, 2, &used),
		  SQUIB_E_INVALID_ARGUMENT);
	for (size_t i = 0; i < BAD_ACCESS_N; i++) {
		CK_STATUS(
		    squib_mem_translate(mem, SQUIB_GPA(base), 8, bad_access[i], iov, 2, &used),
		    SQUIB_E_INVALID_ARGUMENT);
		CK_STATUS(
		    squib_mem_translate(mem, SQUIB_GPA(0x900000), 8, bad_access[i], iov, 2, &used),
		    SQUIB_E_INVALID_ARGUMENT);
		CK_STATUS(
		    squib_mem_translate(mem, SQUIB_GPA(base), 0, bad_access[i], NULL, 0, &used),
		    SQUIB_E_INVALID_ARGUMENT);
	}
	ck_assert_uint_eq(used, SENTINEL_USED);
	ck_iov_poisoned(iov, 2);
	squib_mem_free(mem);
}
END_TEST

START_TEST(translate_read_only)
{
	const uint64_t s = 0x1000, a = 0x100000; /* RAM | ROM | RAM, adjacent */
	squib_mem_t *mem = test_mem_new();
	struct iovec iov[4];
	size_t used;

	add_pattern(mem, a, s, 1, 0, 1);
	add_rom(mem, a + s, s, 2, 2);
	add_pattern(mem, a + 2 * s, s, 3, 0, 3);
	const struct {
		uint64_t addr, len;
	} touching[] = {{a, 3 * s}, {a + s - 1, 2}, {a + 2 * s - 1, 2}, {a + s, s}, {a + s + 5, 1}};
	for (size_t c = 0; c < sizeof(touching) / sizeof(touching[0]); c++) {
		used = SENTINEL_USED;
		iov_poison(iov, 4);
		CK_STATUS(squib_mem_translate(mem, SQUIB_GPA(touching[c].addr),
					      (size_t)touching[c].len, SQUIB_PROT_WRITE, iov, 4,
					      &used),
			  SQUIB_E_READ_ONLY);
		CK_STATUS(squib_mem_translate(mem, SQUIB_GPA(touching[c].addr),
					      (size_t)touching[c].len, SQUIB_PROT_RW, iov, 4,
					      &used),
			  SQUIB_E_READ_ONLY);
		ck_assert_uint_eq(used, SENTINEL_USED);
		ck_iov_poisoned(iov, 4);
		CK_OK(squib_mem_translate(mem, SQUIB_GPA(touching[c].addr), (size_t)touching[c].len,
					  SQUIB_PROT_READ, iov, 4, &used));
		ck_iov_exact(mem, touching[c].addr, touching[c].len, iov, used,
			     c == 0  ? 3
			     : c < 3 ? 2
				     : 1);
	}
	/* Nothing written: every region still holds its pattern. */
	ck_guest_pattern(mem, a, (size_t)s, 1);
	ck_guest_pattern(mem, a + s, (size_t)s, 2);
	ck_guest_pattern(mem, a + 2 * s, (size_t)s, 3);
	/* The RAM on either side alone is writable. */
	CK_OK(squib_mem_translate(mem, SQUIB_GPA(a), (size_t)s, SQUIB_PROT_WRITE, iov, 4, &used));
	ck_iov_exact(mem, a, s, iov, used, 1);
	CK_OK(squib_mem_translate(mem, SQUIB_GPA(a + 2 * s), (size_t)s, SQUIB_PROT_RW, iov, 4,
				  &used));
	ck_iov_exact(mem, a + 2 * s, s, iov, used, 1);
	squib_mem_free(mem);
}
END_TEST

START_TEST(translate_error_order)
{
	const uint64_t s = 0x1000, a = 0x100000;
	squib_mem_t *mem = test_mem_new();
	struct iovec iov[4];
	size_t used = SENTINEL_USED;

	/* RAM | ROM | hole | RAM, and from 0x200000: ROM | RAM | RAM. */
	test_add(mem, a, s, 1);
	add_rom(mem, a + s, s, 2, 2);
	test_add(mem, a + 3 * s, s, 3);
	add_rom(mem, 0x200000, s, 4, 4);
	test_add(mem, 0x200000 + s, s, 5);
	test_add(mem, 0x200000 + 2 * s, s, 6);

	iov_poison(iov, 4);
	/* A hole and a read-only region: OUT_OF_RANGE, whichever comes first. */
	CK_STATUS(squib_mem_translate(mem, SQUIB_GPA(a), (size_t)(4 * s), SQUIB_PROT_WRITE, iov, 4,
				      &used),
		  SQUIB_E_OUT_OF_RANGE);
	CK_STATUS(squib_mem_translate(mem, SQUIB_GPA(a + s), (size_t)(3 * s), SQUIB_PROT_WRITE, iov,
				      4, &used),
		  SQUIB_E_OUT_OF_RANGE);
	/* ... also with too small an array. */
	CK_STATUS(squib_mem_translate(mem, SQUIB_GPA(a), (size_t)(4 * s), SQUIB_PROT_WRITE, iov, 1,
				      &used),
		  SQUIB_E_OUT_OF_RANGE);
	/* Too long for iov_cap and read-only for WRITE: READ_ONLY (NO_SPACE
	 * is last). */
	CK_STATUS(squib_mem_translate(mem, SQUIB_GPA(0x200000), (size_t)(3 * s), SQUIB_PROT_WRITE,
				      iov, 2, &used),
		  SQUIB_E_READ_ONLY);
	CK_STATUS(squib_mem_translate(mem, SQUIB_GPA(0x200000), (size_t)(3 * s), SQUIB_PROT_WRITE,
				      NULL, 0, &used),
		  SQUIB_E_READ_ONLY);
	/* Bad access before all of it. */
	CK_STATUS(
	    squib_mem_translate(mem, SQUIB_GPA(a), (size_t)(4 * s), SQUIB_PROT_EXEC, iov, 1, &used),
	    SQUIB_E_INVALID_ARGUMENT);
	ck_assert_uint_eq(used, SENTINEL_USED);
	ck_iov_poisoned(iov, 4);
	/* For reading it is only too long. */
	CK_STATUS(squib_mem_translate(mem, SQUIB_GPA(0x200000), (size_t)(3 * s), SQUIB_PROT_READ,
				      iov, 2, &used),
		  SQUIB_E_NO_SPACE);
	CK_OK(squib_mem_translate(mem, SQUIB_GPA(0x200000), (size_t)(3 * s), SQUIB_PROT_READ, iov,
				  3, &used));
	ck_iov_exact(mem, 0x200000, 3 * s, iov, used, 3);
	squib_mem_free(mem);
}
END_TEST

START_TEST(translate_real_io)
{
	const uint64_t p = test_page(), a = 0x100000, size = 4 * p;
	const uint64_t addr = a + size - 3000, len = 6000, off = 1234;
	squib_mem_t *mem = test_mem_new();
	int fd = test_temp_file(0x10000, 42);
	struct iovec iov[2];
	size_t used = 0;
	uint8_t *buf = malloc(len), *file = malloc(len);

	ck_assert_ptr_nonnull(buf);
	ck_assert_ptr_nonnull(file);
	test_add(mem, a, size, 1);
	test_add(mem, a + size, size, 2);

	/* preadv() into guest memory: exactly the file's bytes, nothing
	 * around them. */
	CK_OK(squib_mem_translate(mem, SQUIB_GPA(addr), (size_t)len, SQUIB_PROT_WRITE, iov, 2,
				  &used));
	ck_iov_exact(mem, addr, len, iov, used, 2);
	ck_assert_int_eq(preadv(fd, iov, (int)used, (off_t)off), (ssize_t)len);
	CK_OK(squib_mem_read(mem, SQUIB_GPA(addr), buf, 2999));
	CK_STATUS(squib_mem_read(mem, SQUIB_GPA(addr), buf, (size_t)len), SQUIB_E_OUT_OF_RANGE);
	CK_OK(squib_mem_read(mem, SQUIB_GPA(addr), buf, 3000));
	CK_OK(squib_mem_read(mem, SQUIB_GPA(a + size), buf + 3000, (size_t)len - 3000));
	ck_assert_int_eq(pread(fd, file, (size_t)len, (off_t)off), (ssize_t)len);
	CK_BYTES_EQ(buf, file, len);
	{
		uint8_t around[2];

		CK_OK(squib_mem_read(mem, SQUIB_GPA(addr - 1), &around[0], 1));
		CK_OK(squib_mem_read(mem, SQUIB_GPA(addr + len), &around[1], 1));
		CK_BYTES_ALL(around, 2, 0);
	}

	/* pwritev() out of guest memory: the file receives exactly them. */
	test_fill_pattern(buf, (size_t)len, 77);
	CK_OK(squib_mem_write(mem, SQUIB_GPA(addr), buf, 3000));
	CK_OK(squib_mem_write(mem, SQUIB_GPA(a + size), buf + 3000, (size_t)len - 3000));
	CK_OK(
	    squib_mem_translate(mem, SQUIB_GPA(addr), (size_t)len, SQUIB_PROT_READ, iov, 2, &used));
	ck_assert_int_eq(pwritev(fd, iov, (int)used, 0x8000), (ssize_t)len);
	ck_assert_int_eq(pread(fd, file, (size_t)len, 0x8000), (ssize_t)len);
	CK_BYTES_EQ(file, buf, len);
	ck_assert_int_eq(pread(fd, file, 1, 0x8000 + (off_t)len), 1);
	ck_assert_uint_eq(file[0], test_pattern_byte(42, 0x8000 + len));

	free(buf);
	free(file);
	ck_assert_int_eq(close(fd), 0);
	squib_mem_free(mem);
}
END_TEST

/* ------------------------------------------------------------------ */
/* squib_mem_pin / squib_mem_unpin                                     */

START_TEST(pin_iovecs_as_translate)
{
	uint64_t bases[SPAN_N + 1];
	squib_mem_t *mem = span_new(bases);
	struct iovec iov[IOV_MAX_TEST], tiov[IOV_MAX_TEST];
	const uint64_t addr = bases[3] + 0x77, len = bases[8] - 0x99 - addr; /* 5 regions */
	size_t used = SENTINEL_USED, tused = 0;
	squib_pin_t *pin = SENTINEL_PIN;

	for (size_t k = 0; k < 3; k++) {
		iov_poison(iov, IOV_MAX_TEST);
		CK_OK(squib_mem_pin(mem, SQUIB_GPA(addr), (size_t)len, good_access[k], iov,
				    IOV_MAX_TEST, &used, &pin));
		ck_assert_ptr_nonnull(pin);
		ck_assert_ptr_ne(pin, SENTINEL_PIN);
		ck_iov_exact(mem, addr, len, iov, used, 5);
		ck_iov_poisoned(&iov[5], IOV_MAX_TEST - 5);
		CK_OK(squib_mem_translate(mem, SQUIB_GPA(addr), (size_t)len, good_access[k], tiov,
					  IOV_MAX_TEST, &tused));
		ck_assert_uint_eq(tused, used);
		CK_BYTES_EQ(tiov, iov, used * sizeof(iov[0]));
		squib_mem_unpin(pin);
		pin = SENTINEL_PIN;
	}
	/* Whole span, iov_cap exactly SPAN_N. */
	CK_OK(squib_mem_pin(mem, SQUIB_GPA(bases[0]), (size_t)(bases[SPAN_N] - bases[0]),
			    SQUIB_PROT_READ, iov, SPAN_N, &used, &pin));
	ck_iov_exact(mem, bases[0], bases[SPAN_N] - bases[0], iov, used, SPAN_N);
	squib_mem_unpin(pin);
	squib_mem_free(mem);
}
END_TEST

START_TEST(pin_errors_as_translate)
{
	const uint64_t s = 0x1000, a = 0x100000, top = UINT64_MAX - 0xfff;
	squib_mem_t *mem = test_mem_new();
	struct iovec iov[4];
	size_t used = SENTINEL_USED;
	squib_pin_t *pin = SENTINEL_PIN;
	const struct {
		uint64_t addr;
		size_t len;
		squib_prot_t access;
		size_t cap;
		bool null_iov;
		squib_status_t want;
	} cases[] = {
	    /* RAM a | RAM a+s | ROM a+2s | hole | RAM a+4s */
	    {a, (size_t)(5 * s), SQUIB_PROT_READ, 4, false, SQUIB_E_OUT_OF_RANGE},
	    {a + 3 * s, 1, SQUIB_PROT_READ, 4, false, SQUIB_E_OUT_OF_RANGE},
	    {a + 3 * s + 1, 0, SQUIB_PROT_READ, 4, false, SQUIB_E_OUT_OF_RANGE},
	    {a + 4 * s, (size_t)s + 1, SQUIB_PROT_READ, 4, false, SQUIB_E_OUT_OF_RANGE},
	    {top + 1, SIZE_MAX, SQUIB_PROT_READ, 4, false, SQUIB_E_OUT_OF_RANGE},
	    {a, (size_t)(3 * s), SQUIB_PROT_READ, 2, false, SQUIB_E_NO_SPACE},
	    {a, 1, SQUIB_PROT_READ, 0, true, SQUIB_E_NO_SPACE},
	    {a, (size_t)(3 * s), SQUIB_PROT_WRITE, 4, false, SQUIB_E_READ_ONLY},
	    {a, (size_t)(3 * s), SQUIB_PROT_RW, 1, false, SQUIB_E_READ_ONLY},
	    {a + 2 * s, 1, SQUIB_PROT_WRITE, 4, false, SQUIB_E_READ_ONLY},
	    {a, (size_t)(5 * s), SQUIB_PROT_WRITE, 4, false, SQUIB_E_OUT_OF_RANGE},
	    {a, 8, 0, 4, false, SQUIB_E_INVALID_ARGUMENT},
	    {a, 8, SQUIB_PROT_EXEC, 4, false, SQUIB_E_INVALID_ARGUMENT},
	    {a, 8, 8, 4, false, SQUIB_E_INVALID_ARGUMENT},
	    {a, 8, SQUIB_PROT_RWX, 4, false, SQUIB_E_INVALID_ARGUMENT},
	    {a + 3 * s, 8, SQUIB_PROT_EXEC, 4, false, SQUIB_E_INVALID_ARGUMENT},
	    {a, 8, SQUIB_PROT_READ, 1, true, SQUIB_E_INVALID_ARGUMENT},
	};

	test_add(mem, a, s, 1);
	test_add(mem, a + s, s, 2);
	add_rom(mem, a + 2 * s, s, 3, 3);
	test_add(mem, a + 4 * s, s, 4);
	test_add(mem, top, 0xfff, 5);
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		iov_poison(iov, 4);
		CK_STATUS(squib_mem_pin(mem, SQUIB_GPA(cases[c].addr), cases[c].len,
					cases[c].access, cases[c].null_iov ? NULL : iov,
					cases[c].cap, &used, &pin),
			  cases[c].want);
		ck_assert_msg(used == SENTINEL_USED, "case %zu: *iov_used written", c);
		ck_assert_msg(pin == SENTINEL_PIN, "case %zu: *pin written", c);
		ck_iov_poisoned(iov, 4);
	}
	CK_STATUS(squib_mem_pin(mem, SQUIB_GPA(a), 8, SQUIB_PROT_READ, iov, 4, &used, NULL),
		  SQUIB_E_INVALID_ARGUMENT);
	CK_STATUS(squib_mem_pin(mem, SQUIB_GPA(a), 8, SQUIB_PROT_READ, iov, 4, NULL, &pin),
		  SQUIB_E_INVALID_ARGUMENT);
	CK_STATUS(squib_mem_pin(NULL, SQUIB_GPA(a), 8, SQUIB_PROT_READ, iov, 4, &used, &pin),
		  SQUIB_E_INVALID_ARGUMENT);
	ck_assert_uint_eq(used, SENTINEL_USED);
	ck_assert_ptr_eq(pin, SENTINEL_PIN);
	ck_iov_poisoned(iov, 4);

	/* The same calls that failed for want of room or for WRITE succeed
	 * with room, or for READ. */
	CK_OK(squib_mem_pin(mem, SQUIB_GPA(a), (size_t)(3 * s), SQUIB_PROT_READ, iov, 3, &used,
			    &pin));
	ck_iov_exact(mem, a, 3 * s, iov, used, 3);
	squib_mem_unpin(pin);
	CK_OK(squib_mem_pin(mem, SQUIB_GPA(a), (size_t)(2 * s), SQUIB_PROT_WRITE, iov, 2, &used,
			    &pin));
	ck_iov_exact(mem, a, 2 * s, iov, used, 2);
	squib_mem_unpin(pin);
	squib_mem_free(mem);
}
END_TEST

START_TEST(pin_outlives_remove_and_free)
{
	const uint64_t s = 0x3000, a = 0x100000;
	squib_mem_t *mem = test_mem_new();
	struct iovec iov[3];
	size_t used = 0;
	squib_pin_t *pin = NULL;
	void *host = SENTINEL_PTR;
	uint8_t byte;

	add_pattern(mem, a, s, 1, 0, 1);
	add_pattern(mem, a + s, s, 2, 0, 2);
	add_pattern(mem, a + 2 * s, s, 3, SQUIB_REGION_SHARED, 3);
	CK_OK(squib_mem_pin(mem, SQUIB_GPA(a + 0x100), (size_t)(3 * s - 0x200), SQUIB_PROT_RW, iov,
			    3, &used, &pin));
	ck_iov_exact(mem, a + 0x100, 3 * s - 0x200, iov, used, 3);

	/* Remove the first: new accesses to it fail at once, the second still
	 * works, the pinned bytes are still there. */
	CK_OK(squib_mem_remove_region(mem, 1));
	CK_STATUS(squib_mem_read(mem, SQUIB_GPA(a + 0x100), &byte, 1), SQUIB_E_OUT_OF_RANGE);
	CK_STATUS(squib_mem_host_range(mem, SQUIB_GPA(a + 0x100), 1, SQUIB_PROT_READ, &host),
		  SQUIB_E_OUT_OF_RANGE);
	{
		struct iovec again[3];
		size_t again_used = SENTINEL_USED;
		squib_pin_t *other = SENTINEL_PIN;

		CK_STATUS(squib_mem_translate(mem, SQUIB_GPA(a + 0x100), 0x10, SQUIB_PROT_READ,
					      again, 3, &again_used),
			  SQUIB_E_OUT_OF_RANGE);
		CK_STATUS(squib_mem_pin(mem, SQUIB_GPA(a + 0x100), 0x10, SQUIB_PROT_READ, again, 3,
					&again_used, &other),
			  SQUIB_E_OUT_OF_RANGE);
		ck_assert_ptr_eq(other, SENTINEL_PIN);
	}
	ck_assert_uint_eq(pattern_from(iov[0].iov_base, iov[0].iov_len, 1, 0x100), iov[0].iov_len);
	ck_assert_uint_eq(iov[0].iov_len, s - 0x100);
	CK_OK(squib_mem_read(mem, SQUIB_GPA(a + s), &byte, 1));
	ck_assert_uint_eq(byte, test_pattern_byte(2, 0));

	/* Remove the others too, and churn until the handle's own deferral
	 * is over (a grace period): the pin alone keeps the memory. */
	CK_OK(squib_mem_remove_region(mem, 2));
	CK_OK(squib_mem_remove_region(mem, 3));
	ck_assert_uint_eq(squib_mem_region_count(mem), 0);
	churn(mem, 40);
	CK_STATUS(squib_mem_read(mem, SQUIB_GPA(a + s), &byte, 1), SQUIB_E_OUT_OF_RANGE);
	for (size_t i = 0; i < 3; i++)
		ck_assert_msg(test_mapped(iov[i].iov_base), "iov[%zu] unmapped while pinned", i);
	iov_fill(iov, used, 50);
	ck_assert_uint_eq(iov_check(iov, used, 50), 3 * s - 0x200);

	/* A region added again at the same addresses is new memory. */
	test_add(mem, a, s, 1);
	CK_OK(squib_mem_read(mem, SQUIB_GPA(a + 0x100), &byte, 1));
	ck_assert_uint_eq(byte, 0);
	ck_assert_uint_eq(iov_check(iov, used, 50), 3 * s - 0x200);

	/* The handle freed: the pinned memory is still usable. */
	squib_mem_free(mem);
	ck_assert_uint_eq(iov_check(iov, used, 50), 3 * s - 0x200);
	iov_fill(iov, used, 51);
	ck_assert_uint_eq(iov_check(iov, used, 51), 3 * s - 0x200);
	squib_mem_unpin(pin);
	for (size_t i = 0; i < 3; i++)
		ck_assert_msg(!test_mapped(iov[i].iov_base), "iov[%zu] still mapped after unpin",
			      i);
}
END_TEST

START_TEST(pin_then_free_then_unpin)
{
	const uint64_t a = 0x100000, s = 0x2000;
	squib_mem_t *mem = test_mem_new();
	struct iovec iov[2];
	size_t used = 0, empty_used = SENTINEL_USED;
	squib_pin_t *pin = NULL, *empty = NULL;

	add_pattern(mem, a, s, 1, 0, 9);
	CK_OK(squib_mem_pin(mem, SQUIB_GPA(a), (size_t)s, SQUIB_PROT_READ, iov, 2, &used, &pin));
	CK_OK(squib_mem_pin(mem, SQUIB_GPA(a + s), 0, SQUIB_PROT_WRITE, NULL, 0, &empty_used,
			    &empty));
	ck_assert_ptr_nonnull(empty);
	ck_assert_uint_eq(empty_used, 0);
	squib_mem_free(mem);
	ck_assert_uint_eq(used, 1);
	ck_assert_uint_eq(test_check_pattern(iov[0].iov_base, iov[0].iov_len, 9), s);
	squib_mem_unpin(empty);
	ck_assert_uint_eq(test_check_pattern(iov[0].iov_base, iov[0].iov_len, 9), s);
	squib_mem_unpin(pin);
	ck_assert(!test_mapped(iov[0].iov_base));
}
END_TEST

START_TEST(pin_empty_and_null)
{
	const uint64_t a = 0x100000, s = 0x1000;
	squib_mem_t *mem = test_mem_new();
	const uint64_t offs[] = {0, 0x10, s};
	struct iovec iov[1];

	test_add(mem, a, s, 1);
	squib_mem_unpin(NULL);
	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++)
		for (size_t k = 0; k < 3; k++) {
			squib_pin_t *pin = SENTINEL_PIN;
			size_t used = SENTINEL_USED;

			CK_OK(squib_mem_pin(mem, SQUIB_GPA(a + offs[i]), 0, good_access[k], NULL, 0,
					    &used, &pin));
			ck_assert_uint_eq(used, 0);
			ck_assert_ptr_nonnull(pin);
			ck_assert_ptr_ne(pin, SENTINEL_PIN);
			squib_mem_unpin(pin);
			pin = SENTINEL_PIN;
			used = SENTINEL_USED;
			iov_poison(iov, 1);
			CK_OK(squib_mem_pin(mem, SQUIB_GPA(a + offs[i]), 0, good_access[k], iov, 1,
					    &used, &pin));
			ck_assert_uint_eq(used, 0);
			ck_iov_poisoned(iov, 1);
			squib_mem_unpin(pin);
		}
	{
		squib_pin_t *pin = SENTINEL_PIN;
		size_t used = SENTINEL_USED;

		CK_STATUS(squib_mem_pin(mem, SQUIB_GPA(a + s + 1), 0, SQUIB_PROT_READ, NULL, 0,
					&used, &pin),
			  SQUIB_E_OUT_OF_RANGE);
		ck_assert_ptr_eq(pin, SENTINEL_PIN);
		ck_assert_uint_eq(used, SENTINEL_USED);
	}
	squib_mem_unpin(NULL);
	squib_mem_free(mem);
}
END_TEST

START_TEST(pin_many_of_one_region)
{
	enum { PINS = 16 };
	static const unsigned order[PINS] = {5, 0, 15, 9, 3, 12, 1, 7, 14, 2, 10, 6, 13, 4, 11, 8};
	const uint64_t a = 0x100000, s = 0x4000;
	squib_mem_t *mem = test_mem_new();
	squib_pin_t *pins[PINS];
	struct iovec iov[PINS];
	uint8_t *host;

	add_pattern(mem, a, s, 1, 0, 4);
	host = host_of(mem, a);
	for (unsigned i = 0; i < PINS; i++) {
		size_t used = 0;

		CK_OK(squib_mem_pin(mem, SQUIB_GPA(a + i * 0x100), 0x100,
				    i % 2 ? SQUIB_PROT_RW : SQUIB_PROT_READ, &iov[i], 1, &used,
				    &pins[i]));
		ck_assert_uint_eq(used, 1);
		ck_assert_ptr_eq(iov[i].iov_base, host + i * 0x100);
		for (unsigned j = 0; j < i; j++)
			ck_assert_ptr_ne(pins[i], pins[j]);
	}
	/* Half unpinned while the region is there, in a shuffled order. */
	for (unsigned k = 0; k < PINS / 2; k++)
		squib_mem_unpin(pins[order[k]]);
	CK_OK(squib_mem_remove_region(mem, 1));
	churn(mem, 40);
	/* The rest keep the whole region: unpin them one by one, the memory
	 * there until the last. */
	for (unsigned k = PINS / 2; k < PINS; k++) {
		unsigned i = order[k];

		ck_assert(test_mapped(host));
		ck_assert_uint_eq(test_check_pattern(host, (size_t)s, 4), s);
		squib_mem_unpin(pins[i]);
	}
	ck_assert(!test_mapped(host));
	squib_mem_free(mem);
}
END_TEST

/* One pin of a removed region, and its unpin: the mapping and, for a
 * SHARED region, the memfd go away with the unpin and with nothing else. */
static void pin_removed_cycle(squib_mem_t *mem, uint64_t size, uint32_t flags,
			      struct test_maps *pinned, size_t *pinned_fds)
{
	const uint64_t a = 0x40000000;
	squib_region_opts_t opts = test_opts_of(a, size, 77, flags);
	squib_region_info_t info = SQUIB_REGION_INFO_INIT;
	struct iovec iov[1];
	size_t used = 0;
	squib_pin_t *pin = NULL;
	int fd_copy = -1;

	CK_OK(squib_mem_add_region_opts(mem, &opts));
	CK_OK(squib_mem_get_region(mem, 77, &info));
	if (flags & SQUIB_REGION_SHARED) {
		ck_assert_int_ge(info.fd, 0);
		fd_copy = fcntl(info.fd, F_DUPFD_CLOEXEC, 0);
		ck_assert_int_ge(fd_copy, 0);
	}
	CK_OK(
	    squib_mem_pin(mem, SQUIB_GPA(a + 0x1000), 0x1000, SQUIB_PROT_RW, iov, 1, &used, &pin));
	CK_OK(squib_mem_remove_region(mem, 77));
	churn(mem, 40);
	ck_assert(test_mapped(iov[0].iov_base));
	memset(iov[0].iov_base, 0x6b, iov[0].iov_len);
	if (fd_copy >= 0) {
		/* The pin holds the region's memory itself, not a copy: the
		 * memfd (our dup) sees the write. */
		uint8_t buf[16];

		ck_assert_int_eq(pread(fd_copy, buf, sizeof(buf), 0x1000), (ssize_t)sizeof(buf));
		CK_BYTES_ALL(buf, sizeof(buf), 0x6b);
		ck_assert_int_eq(close(fd_copy), 0);
	}
	if (pinned)
		*pinned = test_count_maps();
	if (pinned_fds)
		*pinned_fds = test_count_fds();
	squib_mem_unpin(pin);
	ck_assert_msg(!test_mapped(iov[0].iov_base), "pinned VMA %p still mapped after unpin",
		      iov[0].iov_base);
}

START_TEST(pin_leaves_no_mapping_or_fd)
{
	const uint64_t big = (uint64_t)64 << 20, small = 0x10000;
	const uint32_t kinds[] = {0, SQUIB_REGION_SHARED};
	squib_mem_t *mem = test_mem_new();

	for (size_t k = 0; k < 2; k++)
		for (size_t z = 0; z < 2; z++) {
			uint64_t size = z ? big : small;
			struct test_maps before, pinned, after;
			size_t fds_before, fds_pinned, fds_after;

			/* Once to warm every allocator up, then counted. */
			pin_removed_cycle(mem, size, kinds[k], NULL, NULL);
			before = test_count_maps();
			fds_before = test_count_fds();
			pin_removed_cycle(mem, size, kinds[k], &pinned, &fds_pinned);
			after = test_count_maps();
			fds_after = test_count_fds();
			ck_assert_msg(maps_equal(before, after),
				      "flags 0x%x size 0x%" PRIx64 ": maps %zu lines %" PRIu64
				      " bytes before, %zu lines %" PRIu64 " bytes after",
				      kinds[k], size, before.lines, before.bytes, after.lines,
				      after.bytes);
			ck_assert_uint_ge(pinned.bytes, before.bytes + size);
			ck_assert_uint_eq(fds_after, fds_before);
			ck_assert_uint_eq(fds_pinned, fds_before + (kinds[k] ? 1 : 0));
		}
	squib_mem_free(mem);
}
END_TEST

/* The handle freed while a removed region is pinned: the unpin gives
 * everything back. */
START_TEST(pin_free_unpin_leaves_nothing)
{
	const uint64_t a = 0x100000, s = 0x10000;
	struct test_maps before, after;
	size_t fds_before;

	for (int round = 0; round < 2; round++) {
		squib_mem_t *mem;
		squib_region_opts_t opts = test_opts_of(a, s, 1, SQUIB_REGION_SHARED);
		struct iovec iov[2];
		size_t used = 0;
		squib_pin_t *pin = NULL;

		before = test_count_maps();
		fds_before = test_count_fds();
		mem = test_mem_new();
		CK_OK(squib_mem_add_region_opts(mem, &opts));
		test_add(mem, a + s, s, 2);
		CK_OK(squib_mem_pin(mem, SQUIB_GPA(a), (size_t)(2 * s), SQUIB_PROT_WRITE, iov, 2,
				    &used, &pin));
		ck_assert_uint_eq(used, 2);
		CK_OK(squib_mem_remove_region(mem, 1));
		squib_mem_free(mem);
		iov_fill(iov, used, 3);
		ck_assert_uint_eq(iov_check(iov, used, 3), 2 * s);
		ck_assert_uint_eq(iov_total(iov, used), 2 * s);
		squib_mem_unpin(pin);
		ck_assert(!test_mapped(iov[0].iov_base));
		ck_assert(!test_mapped(iov[1].iov_base));
		after = test_count_maps();
		ck_assert_uint_eq(test_count_fds(), fds_before);
		if (round == 1)
			ck_assert_msg(maps_equal(before, after),
				      "maps %zu lines %" PRIu64 " bytes before, %zu/%" PRIu64
				      " after",
				      before.lines, before.bytes, after.lines, after.bytes);
	}
}
END_TEST

static Suite *translate_suite(void)
{
	Suite *suite = suite_create("translate");
	TCase *host_range = tcase_create("host_range");
	TCase *translate = tcase_create("translate");
	TCase *pin = tcase_create("pin");

	tcase_add_test(host_range, host_range_inside_one_region);
	tcase_add_test(host_range, host_range_out_of_range);
	tcase_add_test(host_range, host_range_empty);
	tcase_add_test(host_range, host_range_arguments);
	tcase_add_test(host_range, host_range_read_only_and_dirty_log);
	suite_add_tcase(suite, host_range);

	tcase_add_test(translate, translate_one_region);
	tcase_add_test(translate, translate_spans_adjacent_regions);
	tcase_add_test(translate, translate_out_of_range);
	tcase_add_test(translate, translate_no_space);
	tcase_add_test(translate, translate_empty);
	tcase_add_test(translate, translate_arguments);
	tcase_add_test(translate, translate_read_only);
	tcase_add_test(translate, translate_error_order);
	tcase_add_test(translate, translate_real_io);
	suite_add_tcase(suite, translate);

	tcase_add_test(pin, pin_iovecs_as_translate);
	tcase_add_test(pin, pin_errors_as_translate);
	tcase_add_test(pin, pin_outlives_remove_and_free);
	tcase_add_test(pin, pin_then_free_then_unpin);
	tcase_add_test(pin, pin_empty_and_null);
	tcase_add_test(pin, pin_many_of_one_region);
	tcase_add_test(pin, pin_leaves_no_mapping_or_fd);
	tcase_add_test(pin, pin_free_unpin_leaves_nothing);
	tcase_set_timeout(pin, 120);
	suite_add_tcase(suite, pin);
	return suite;
}

TEST_MAIN(translate_suite)
