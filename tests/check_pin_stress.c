/* SPDX-License-Identifier: MIT */
/*
 * Pins, translations and host ranges under a hotplug thread
 * (lib/translate.c with lib/mem.c): every value read through a host pointer
 * is checked.
 *
 * Layout: STABLE regions (never removed until the end) and HOT regions
 * (removed and re-added continuously by the hotplug thread, one of them a
 * SHARED memfd), both in GPA-adjacent pairs. Each region's first half holds
 * a per-slot pattern (re-added with the same bytes), so a wrong mapping or
 * a region of another slot is caught; its second half is scratch, one chunk
 * per worker, which only that worker writes. Host pointers of translate and
 * host_range are dereferenced only in STABLE regions (they are promised
 * only until a removal); HOT regions are touched through pins, which keep
 * them mapped whatever the hotplug thread does, and through the library's
 * own accesses. Pins are held across iterations and some outlive the
 * handle: they are checked and unpinned after squib_mem_free.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "test_util.h"
#include "test_failure.h"
#include "test_host.h"

#define WORKERS 3 /* two pinners, one typed accessor */
#define REGION_SIZE 0x4000u
#define HALF (REGION_SIZE / 2)
#define CHUNK ((HALF / WORKERS) & ~(size_t)63)

#define STABLE_N 2
#define STABLE_BASE 0x10000000u
#define HOT_N 4
#define HOT_BASE 0x20000000u
#define PAIR_STRIDE 0x100000u
#define HELD_MAX 8

/* Region i (0..STABLE_N-1 stable, then HOT_N hot): pair i / 2, at the
 * pair's base plus (i % 2) * REGION_SIZE. */
#define REGIONS (STABLE_N + HOT_N)

static uint64_t region_base(unsigned i)
{
	uint64_t first = i < STABLE_N ? STABLE_BASE : HOT_BASE;
	unsigned j = i < STABLE_N ? i : i - STABLE_N;

	return first + (uint64_t)(j / 2) * PAIR_STRIDE + (uint64_t)(j % 2) * REGION_SIZE;
}

static uint32_t region_slot(unsigned i)
{
	return 500u + i;
}

/* The pattern of region i's first half, byte off. */
static uint8_t pattern(unsigned i, uint64_t off)
{
	return test_pattern_byte(region_slot(i), off);
}

struct shared {
	squib_mem_t *mem;
	struct test_failure failure;
	atomic_bool hotplug_done;
	atomic_bool present[REGIONS];
	unsigned hotplug_cycles;
	unsigned worker_rounds;
	atomic_ulong pins_ok, pins_missed, pins_spanning, held_across_removal;
	/* Pins the workers leave for after squib_mem_free. */
	squib_pin_t *left[WORKERS][HELD_MAX];
	struct iovec left_iov[WORKERS][HELD_MAX][2];
	uint64_t left_addr[WORKERS][HELD_MAX];
	size_t left_used[WORKERS][HELD_MAX];
};

struct worker {
	struct shared *shared;
	unsigned id;
	uint64_t rng;
};

#define T_CHECK(w, cond, ...)                                                                      \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			test_failure_record(&(w)->shared->failure, __VA_ARGS__);                   \
			return false;                                                              \
		}                                                                                  \
	} while (0)

static uint64_t next_random(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dull;
}

/* Which region holds guest address addr (one of ours), and the offset. */
static unsigned region_of(uint64_t addr, uint64_t *off)
{
	for (unsigned i = 0; i < REGIONS; i++)
		if (addr - region_base(i) < REGION_SIZE) {
			*off = addr - region_base(i);
			return i;
		}
	return REGIONS;
}

/* Checks len host bytes at p, the memory of guest [addr, addr + len): the
 * pattern half against the pattern of the region that address belongs to.
 * Scratch bytes are not checked here (other workers write them). */
static bool check_bytes(struct worker *w, const uint8_t *p, uint64_t addr, size_t len,
			const char *what)
{
	for (size_t k = 0; k < len; k++) {
		uint64_t off;
		unsigned i = region_of(addr + k, &off);

		T_CHECK(w, i < REGIONS, "%s: address 0x%" PRIx64 " is none of ours", what,
			addr + k);
		if (off < HALF)
			T_CHECK(w, p[k] == pattern(i, off),
				"%s: guest 0x%" PRIx64 " (region %u +0x%" PRIx64
				") reads 0x%02x, want 0x%02x",
				what, addr + k, i, off, p[k], pattern(i, off));
	}
	return true;
}

/* Checks iovecs of guest [addr, ...) with check_bytes. */
static bool check_iov(struct worker *w, const struct iovec *iov, size_t used, uint64_t addr,
		      const char *what)
{
	for (size_t i = 0; i < used; i++) {
		if (!check_bytes(w, iov[i].iov_base, addr, iov[i].iov_len, what))
			return false;
		addr += iov[i].iov_len;
	}
	return true;
}

/* A random range of pattern bytes in region i, sometimes running into the
 * pattern... of the next region of the pair: [addr, addr + len). */
static void pick_range(struct worker *w, unsigned i, uint64_t *addr, size_t *len, bool *spans)
{
	uint64_t r = next_random(&w->rng);

	*spans = (i % 2 == 0) && (r & 3) == 0;
	if (*spans) {
		/* From the last bytes of region i over the boundary into the
		 * first (pattern) bytes of region i + 1. */
		*addr = region_base(i) + REGION_SIZE - 1 - (r >> 8) % 64;
		*len =
		    (size_t)(region_base(i) + REGION_SIZE - *addr) + 1 + (size_t)((r >> 20) % 256);
	} else {
		*addr = region_base(i) + (r >> 8) % (HALF - 64);
		*len = 1 + (size_t)((r >> 24) % 63);
	}
}

/* Writes then reads back this worker's scratch chunk of region i through
 * host memory p (the chunk's start). */
static bool scratch_round_trip(struct worker *w, uint8_t *p, uint64_t seed, const char *what)
{
	for (size_t k = 0; k < CHUNK; k += 61)
		p[k] = (uint8_t)(seed + k);
	for (size_t k = 0; k < CHUNK; k += 61)
		T_CHECK(w, p[k] == (uint8_t)(seed + k), "%s: scratch byte %zu lost", what, k);
	return true;
}

struct held {
	squib_pin_t *pin;
	struct iovec iov[2];
	size_t used;
	uint64_t addr;
	bool hot;
};

static bool check_held(struct worker *w, const struct held *h)
{
	return check_iov(w, h->iov, h->used, h->addr, "held pin");
}

static bool pinner_round(struct worker *w, struct held *held, size_t *held_n)
{
	struct shared *s = w->shared;
	uint64_t r = next_random(&w->rng);
	unsigned i = (unsigned)(r % REGIONS);
	uint64_t addr;
	size_t len, used = 0;
	bool spans;
	struct iovec iov[2];
	squib_pin_t *pin = NULL;
	squib_status_t st;

	pick_range(w, i, &addr, &len, &spans);
	st = squib_mem_pin(s->mem, SQUIB_GPA(addr), len,
			   (r >> 40) & 1 ? SQUIB_PROT_RW : SQUIB_PROT_READ, iov, 2, &used, &pin);
	if (i < STABLE_N)
		T_CHECK(w, st == SQUIB_OK, "pin of stable region %u: %d", i, (int)st);
	else
		T_CHECK(w, st == SQUIB_OK || st == SQUIB_E_OUT_OF_RANGE, "pin of hot region %u: %d",
			i, (int)st);
	if (st == SQUIB_OK) {
		T_CHECK(w, used == (spans ? 2u : 1u), "pin: %zu iovecs", used);
		if (!check_iov(w, iov, used, addr, "fresh pin"))
			return false;
		atomic_fetch_add(&s->pins_ok, 1);
		if (spans)
			atomic_fetch_add(&s->pins_spanning, 1);
		/* Keep it a while, or let go now. */
		if (*held_n < HELD_MAX && ((r >> 44) & 1)) {
			struct held *h = &held[(*held_n)++];

			h->pin = pin;
			memcpy(h->iov, iov, sizeof(iov));
			h->used = used;
			h->addr = addr;
			h->hot = i >= STABLE_N;
		} else {
			squib_mem_unpin(pin);
		}
	} else {
		atomic_fetch_add(&s->pins_missed, 1);
	}
	/* Check every held pin; let a random one go. */
	for (size_t k = 0; k < *held_n; k++)
		if (!check_held(w, &held[k]))
			return false;
	if (*held_n && ((r >> 48) & 3) == 0) {
		size_t k = (size_t)((r >> 50) % *held_n);

		if (held[k].hot && !atomic_load(&s->present[region_of(held[k].addr, &addr)]))
			atomic_fetch_add(&s->held_across_removal, 1);
		squib_mem_unpin(held[k].pin);
		held[k] = held[--*held_n];
	}

	/* A pin of this worker's scratch chunk in a random region: a round
	 * trip through it holds whatever the hotplug thread does. */
	{
		unsigned j = (unsigned)((r >> 52) % REGIONS);
		uint64_t chunk = region_base(j) + HALF + (uint64_t)w->id * CHUNK;

		st = squib_mem_pin(s->mem, SQUIB_GPA(chunk), CHUNK, SQUIB_PROT_WRITE, iov, 1, &used,
				   &pin);
		T_CHECK(w, st == SQUIB_OK || (j >= STABLE_N && st == SQUIB_E_OUT_OF_RANGE),
			"scratch pin of region %u: %d", j, (int)st);
		if (st == SQUIB_OK) {
			bool ok = used == 1 && iov[0].iov_len == CHUNK &&
				  scratch_round_trip(w, iov[0].iov_base, r, "scratch pin");

			squib_mem_unpin(pin);
			T_CHECK(w, ok, "scratch pin of region %u", j);
		}
	}

	/* translate / host_range: dereferenced only in stable regions. */
	{
		unsigned j = (unsigned)((r >> 56) % REGIONS);
		void *host = NULL;

		pick_range(w, j, &addr, &len, &spans);
		st = squib_mem_translate(s->mem, SQUIB_GPA(addr), len, SQUIB_PROT_READ, iov, 2,
					 &used);
		T_CHECK(w, st == SQUIB_OK || (j >= STABLE_N && st == SQUIB_E_OUT_OF_RANGE),
			"translate of region %u: %d", j, (int)st);
		if (st == SQUIB_OK) {
			T_CHECK(w, used == (spans ? 2u : 1u), "translate: %zu iovecs", used);
			if (j < STABLE_N && !check_iov(w, iov, used, addr, "translate"))
				return false;
		}
		if (spans)
			len = (size_t)(region_base(j) + REGION_SIZE - addr);
		st = squib_mem_host_range(s->mem, SQUIB_GPA(addr), len, SQUIB_PROT_RW, &host);
		T_CHECK(w, st == SQUIB_OK || (j >= STABLE_N && st == SQUIB_E_OUT_OF_RANGE),
			"host_range of region %u: %d", j, (int)st);
		if (st == SQUIB_OK && j < STABLE_N) {
			if (!check_bytes(w, host, addr, len, "host_range"))
				return false;
			st = squib_mem_host_range(
			    s->mem, SQUIB_GPA(region_base(j) + HALF + (uint64_t)w->id * CHUNK),
			    CHUNK, SQUIB_PROT_WRITE, &host);
			T_CHECK(w, st == SQUIB_OK, "host_range of stable scratch: %d", (int)st);
			if (!scratch_round_trip(w, host, r >> 3, "host_range scratch"))
				return false;
		}
	}
	return true;
}

static bool typed_round(struct worker *w)
{
	struct shared *s = w->shared;
	uint64_t r = next_random(&w->rng);
	unsigned i = (unsigned)(r % REGIONS);
	uint64_t addr, chunk = region_base(i) + HALF + (uint64_t)w->id * CHUNK;
	size_t len;
	bool spans;
	uint8_t buf[64];
	squib_status_t st;

	pick_range(w, i, &addr, &len, &spans);
	if (spans)
		len = (size_t)(region_base(i) + REGION_SIZE - addr);
	if (len > sizeof(buf))
		len = sizeof(buf);
	st = squib_mem_read(s->mem, SQUIB_GPA(addr), buf, len);
	T_CHECK(w, st == SQUIB_OK || (i >= STABLE_N && st == SQUIB_E_OUT_OF_RANGE),
		"read of region %u: %d", i, (int)st);
	if (st == SQUIB_OK && !check_bytes(w, buf, addr, len, "squib_mem_read"))
		return false;
	{
		uint64_t off = (r >> 20) % (HALF - 8), value = 0, want = 0;

		st = squib_mem_read_u64_le(s->mem, SQUIB_GPA(region_base(i) + off), &value);
		T_CHECK(w, st == SQUIB_OK || (i >= STABLE_N && st == SQUIB_E_OUT_OF_RANGE),
			"read_u64 of region %u: %d", i, (int)st);
		for (unsigned k = 0; k < 8; k++)
			want |= (uint64_t)pattern(i, off + k) << (8 * k);
		T_CHECK(w, st != SQUIB_OK || value == want,
			"read_u64 region %u +0x%" PRIx64 ": 0x%016" PRIx64 ", want 0x%016" PRIx64,
			i, off, value, want);
	}
	{
		uint64_t at = chunk + 8 * ((r >> 32) % (CHUNK / 8)), value = r | 1, got = 0;
		uint32_t got32 = 0;

		st = squib_mem_store_u64_release(s->mem, SQUIB_GPA(at), value);
		T_CHECK(w, st == SQUIB_OK || (i >= STABLE_N && st == SQUIB_E_OUT_OF_RANGE),
			"store_u64 of region %u: %d", i, (int)st);
		if (i < STABLE_N) {
			T_CHECK(w,
				squib_mem_load_u64_acquire(s->mem, SQUIB_GPA(at), &got) == SQUIB_OK,
				"load_u64 of stable region %u", i);
			T_CHECK(w, got == value, "load_u64 stable: 0x%" PRIx64 " want 0x%" PRIx64,
				got, value);
			T_CHECK(w,
				squib_mem_write_u32_le(s->mem, SQUIB_GPA(at + 4), 0xabcd1234u) ==
				    SQUIB_OK,
				"write_u32");
			T_CHECK(w,
				squib_mem_load_u32_acquire(s->mem, SQUIB_GPA(at + 4), &got32) ==
					SQUIB_OK &&
				    got32 == 0xabcd1234u,
				"load_u32 stable: 0x%x", got32);
		} else {
			st = squib_mem_load_u64_acquire(s->mem, SQUIB_GPA(at), &got);
			T_CHECK(w, st == SQUIB_OK || st == SQUIB_E_OUT_OF_RANGE, "load_u64 hot: %d",
				(int)st);
			/* A fresh region reads 0 there, the same one our value. */
			T_CHECK(w, st != SQUIB_OK || got == value || got == 0,
				"load_u64 hot: 0x%" PRIx64, got);
		}
	}
	return true;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct shared *s = w->shared;
	struct held held[HELD_MAX];
	size_t held_n = 0;
	unsigned round = 0;

	while (!test_failed(&s->failure) &&
	       (round < s->worker_rounds || !atomic_load(&s->hotplug_done)) &&
	       round < 20 * s->worker_rounds) {
		bool ok = w->id == WORKERS - 1 ? typed_round(w) : pinner_round(w, held, &held_n);

		if (!ok)
			break;
		round++;
	}
	/* Leave what is held for after squib_mem_free. */
	for (size_t k = 0; k < held_n; k++) {
		s->left[w->id][k] = held[k].pin;
		memcpy(s->left_iov[w->id][k], held[k].iov, sizeof(held[k].iov));
		s->left_used[w->id][k] = held[k].used;
		s->left_addr[w->id][k] = held[k].addr;
	}
	return NULL;
}

static squib_status_t add_region(squib_mem_t *mem, unsigned i, const uint8_t *images)
{
	squib_region_opts_t opts = SQUIB_REGION_OPTS_INIT;

	opts.range = test_range(region_base(i), REGION_SIZE);
	opts.slot = region_slot(i);
	opts.prot = SQUIB_PROT_RW;
	/* One hot region is a memfd: its fd goes with the last reference. */
	opts.flags = i == STABLE_N + 1 ? SQUIB_REGION_SHARED : 0;
	opts.bytes = images + (size_t)i * REGION_SIZE;
	return squib_mem_add_region_opts(mem, &opts);
}

struct hotplug {
	struct shared *shared;
	const uint8_t *images;
};

static void *hotplug_main(void *arg)
{
	struct hotplug *h = arg;
	struct shared *s = h->shared;
	uint64_t rng = 0x1234567887654321ull;

	for (unsigned c = 0; c < s->hotplug_cycles && !test_failed(&s->failure); c++) {
		unsigned i = STABLE_N + (unsigned)(next_random(&rng) % HOT_N);
		squib_status_t st;

		if (atomic_load(&s->present[i])) {
			atomic_store(&s->present[i], false);
			st = squib_mem_remove_region(s->mem, region_slot(i));
		} else {
			st = add_region(s->mem, i, h->images);
			atomic_store(&s->present[i], st == SQUIB_OK);
		}
		if (st != SQUIB_OK) {
			struct worker self = {s, 99, 0};

			test_failure_record(&self.shared->failure, "hotplug of region %u: %d", i,
					    (int)st);
			break;
		}
		if ((c & 15) == 0)
			sched_yield();
	}
	atomic_store(&s->hotplug_done, true);
	return NULL;
}

START_TEST(pins_under_hotplug)
{
	static struct shared s;
	struct worker workers[WORKERS];
	struct hotplug hot;
	pthread_t threads[WORKERS], hotplug;
	uint8_t *images = malloc((size_t)REGIONS * REGION_SIZE);
	bool slow = TEST_UNDER_TSAN || test_under_valgrind();
	size_t fds_before = test_count_fds();
	unsigned left = 0;

	ck_assert_ptr_nonnull(images);
	memset(&s, 0, sizeof(s));
	test_failure_init(&s.failure);
	s.hotplug_cycles = slow ? 400u : 6000u;
	s.worker_rounds = slow ? 300u : 4000u;
	for (unsigned i = 0; i < REGIONS; i++) {
		uint8_t *image = images + (size_t)i * REGION_SIZE;

		for (uint64_t off = 0; off < REGION_SIZE; off++)
			image[off] = off < HALF ? pattern(i, off) : 0;
	}
	s.mem = test_mem_new();
	for (unsigned i = 0; i < REGIONS; i++) {
		CK_OK(add_region(s.mem, i, images));
		atomic_store(&s.present[i], true);
	}
	hot = (struct hotplug){&s, images};
	for (unsigned k = 0; k < WORKERS; k++) {
		workers[k] = (struct worker){&s, k, 0x9e3779b97f4a7c15ull * (k + 1)};
		ck_assert_int_eq(pthread_create(&threads[k], NULL, worker_main, &workers[k]), 0);
	}
	ck_assert_int_eq(pthread_create(&hotplug, NULL, hotplug_main, &hot), 0);
	ck_assert_int_eq(pthread_join(hotplug, NULL), 0);
	for (unsigned k = 0; k < WORKERS; k++)
		ck_assert_int_eq(pthread_join(threads[k], NULL), 0);
	ck_assert_msg(!test_failed(&s.failure), "%s", s.failure.message);

	/* The handle freed under the pins the workers left: still mapped,
	 * still the right bytes; then unpinned. */
	squib_mem_free(s.mem);
	for (unsigned k = 0; k < WORKERS; k++)
		for (unsigned j = 0; j < HELD_MAX && s.left[k][j]; j++) {
			struct worker self = {&s, k, 0};

			ck_assert_msg(check_iov(&self, s.left_iov[k][j], s.left_used[k][j],
						s.left_addr[k][j], "pin after free"),
				      "%s", s.failure.message);
			squib_mem_unpin(s.left[k][j]);
			left++;
		}
	free(images);
	test_failure_destroy(&s.failure);
	ck_assert_uint_eq(test_count_fds(), fds_before);
	fprintf(stderr,
		"pin_stress: %lu pins (%lu spanning), %lu missed, %lu held across a removal, %u "
		"unpinned after free\n",
		atomic_load(&s.pins_ok), atomic_load(&s.pins_spanning), atomic_load(&s.pins_missed),
		atomic_load(&s.held_across_removal), left);
	ck_assert_uint_gt(atomic_load(&s.pins_ok), 0);
}
END_TEST

static Suite *pin_stress_suite(void)
{
	Suite *suite = suite_create("pin_stress");
	TCase *stress = tcase_create("stress");

	tcase_add_test(stress, pins_under_hotplug);
	tcase_set_timeout(stress, 240);
	suite_add_tcase(suite, stress);
	return suite;
}

TEST_MAIN(pin_stress_suite)
