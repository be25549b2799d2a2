/* SPDX-License-Identifier: MIT */
/*
 * Listeners (squib/listener.h) and squib_mem_set_protection(): every
 * callback's order, the infos it gets and what the handle looks like from
 * inside it, every refusal at every position with its rollback compared
 * call by call, the size-first struct rules, ids, the SQUIB_E_BUSY of every
 * mutating call from inside every kind of callback (and the accesses and
 * the other handles that keep working there), accesses that run on while a
 * callback sleeps, callbacks that never overlap, and squib_mem_free() with
 * a listener still registered.
 *
 * Every callback appends what it got to a journal; a test compares the
 * journal's text with the exact sequence the contract asks for:
 *   a<who>:<slot>              region_add of listener <who>
 *   d<who>:<slot>              region_del
 *   p<who>:<slot>:<prot><<old> protect (info->prot, old_prot)
 *   l<who>:<slot>:<en><flag>   dirty_log (enable, info->flags has DIRTY_LOG)
 *   s<who>:<slot>              log_sync
 */
#define _GNU_SOURCE /* MAP_ANONYMOUS, MADV_DONTDUMP, mkdtemp */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "test_util.h"
#include "test_host.h"

/* ------------------------------------------------------------------ */
/* the journal and the probe listener                                  */

#define EVENTS_MAX 512
#define TEXT_MAX 8192

struct event {
	char kind;
	unsigned who;
	squib_region_info_t info; /* a copy of what the callback got */
	squib_prot_t old_prot;
	bool enable;
	size_t words;
};

struct journal {
	size_t n;
	bool overflow;
	struct event ev[EVENTS_MAX];
};

struct probe;
typedef void (*probe_hook)(struct probe *p, char kind, const squib_region_info_t *info);

/* The ctx of one recording listener. */
struct probe {
	struct journal *journal;
	unsigned who;
	char fail_kind;	  /* the kind of callback that refuses ... */
	unsigned fail_at; /* ... at its fail_at-th call after probe_fail(), 0: never */
	int fail_status;  /* what it returns then (positive values too) */
	unsigned seen;	  /* calls of fail_kind since probe_fail() */
	bool short_info;  /* a callback got an info->sz below the 0.3 layout */
	probe_hook hook;  /* run inside every callback, before it answers */
	void *hook_ctx;
};

static struct journal *journal_new(void)
{
	struct journal *j = calloc(1, sizeof(*j));

	ck_assert_ptr_nonnull(j);
	return j;
}

__attribute__((format(printf, 3, 4))) static void append(char *buf, size_t cap, const char *fmt,
							 ...);

static void append(char *buf, size_t cap, const char *fmt, ...)
{
	size_t used = strlen(buf);
	va_list args;

	ck_assert_uint_lt(used, cap);
	va_start(args, fmt);
	(void)vsnprintf(buf + used, cap - used, fmt, args);
	va_end(args);
}

/* The journal as text (see the top of the file), in buf. */
static const char *journal_text(const struct journal *j, char *buf, size_t cap)
{
	buf[0] = '\0';
	for (size_t i = 0; i < j->n; i++) {
		const struct event *e = &j->ev[i];
		const char *sep = i ? " " : "";

		switch (e->kind) {
		case 'p':
			append(buf, cap, "%sp%u:%u:%u<%u", sep, e->who, e->info.slot, e->info.prot,
			       e->old_prot);
			break;
		case 'l':
			append(buf, cap, "%sl%u:%u:%d%d", sep, e->who, e->info.slot,
			       e->enable ? 1 : 0, (e->info.flags & SQUIB_REGION_DIRTY_LOG) ? 1 : 0);
			break;
		default:
			append(buf, cap, "%s%c%u:%u", sep, e->kind, e->who, e->info.slot);
			break;
		}
	}
	return buf;
}

/* Asserts that the journal reads want exactly, then empties it. */
#define CK_JOURNAL(j, want)                                                                        \
	do {                                                                                       \
		char text_[TEXT_MAX];                                                              \
		ck_assert_msg(!(j)->overflow, "journal overflow");                                 \
		journal_text((j), text_, sizeof(text_));                                           \
		ck_assert_msg(strcmp(text_, (want)) == 0,                                          \
			      "callbacks:\n  got  \"%s\"\n  want \"%s\"", text_, (want));          \
		(j)->n = 0;                                                                        \
	} while (0)

static int cmp_token(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* text with its space-separated tokens sorted, in place. */
static void sort_tokens(char *text)
{
	char *tokens[EVENTS_MAX], copy[TEXT_MAX], *save = NULL;
	size_t n = 0;

	(void)snprintf(copy, sizeof(copy), "%s", text);
	for (char *t = strtok_r(copy, " ", &save); t && n < EVENTS_MAX;
	     t = strtok_r(NULL, " ", &save))
		tokens[n++] = t;
	qsort(tokens, n, sizeof(tokens[0]), cmp_token);
	text[0] = '\0';
	for (size_t i = 0; i < n; i++)
		append(text, TEXT_MAX, "%s%s", i ? " " : "", tokens[i]);
}

/* As CK_JOURNAL, in any order (log_sync has none). */
#define CK_JOURNAL_ANY_ORDER(j, want)                                                              \
	do {                                                                                       \
		char text_[TEXT_MAX], want_[TEXT_MAX];                                             \
		ck_assert_msg(!(j)->overflow, "journal overflow");                                 \
		journal_text((j), text_, sizeof(text_));                                           \
		(void)snprintf(want_, sizeof(want_), "%s", (want));                                \
		sort_tokens(text_);                                                                \
		sort_tokens(want_);                                                                \
		ck_assert_msg(strcmp(text_, want_) == 0,                                           \
			      "callbacks (any order):\n  got  \"%s\"\n  want \"%s\"", text_,       \
			      want_);                                                              \
		(j)->n = 0;                                                                        \
	} while (0)

static squib_status_t probe_event(void *ctx, char kind, const squib_region_info_t *info,
				  squib_prot_t old_prot, bool enable, size_t words)
{
	struct probe *p = ctx;
	struct journal *j = p->journal;

	if (info->sz < sizeof(squib_region_info_t))
		p->short_info = true;
	if (j->n < EVENTS_MAX) {
		struct event *e = &j->ev[j->n++];
		size_t len = info->sz < sizeof(e->info) ? info->sz : sizeof(e->info);

		memset(e, 0, sizeof(*e));
		e->kind = kind;
		e->who = p->who;
		memcpy(&e->info, info, len);
		e->old_prot = old_prot;
		e->enable = enable;
		e->words = words;
	} else {
		j->overflow = true;
	}
	if (p->hook)
		p->hook(p, kind, info);
	if (kind == p->fail_kind && p->fail_at) {
		p->seen++;
		if (p->seen == p->fail_at)
			return (squib_status_t)p->fail_status;
	}
	return SQUIB_OK;
}

static squib_status_t probe_add(void *ctx, const squib_region_info_t *info)
{
	return probe_event(ctx, 'a', info, 0, false, 0);
}

static void probe_del(void *ctx, const squib_region_info_t *info)
{
	(void)probe_event(ctx, 'd', info, 0, false, 0);
}

static squib_status_t probe_protect(void *ctx, const squib_region_info_t *info,
				    squib_prot_t old_prot)
{
	return probe_event(ctx, 'p', info, old_prot, false, 0);
}

static squib_status_t probe_dirty_log(void *ctx, const squib_region_info_t *info, bool enable)
{
	return probe_event(ctx, 'l', info, 0, enable, 0);
}

static squib_status_t probe_log_sync(void *ctx, const squib_region_info_t *info, uint64_t *bitmap,
				     size_t words)
{
	(void)bitmap;
	return probe_event(ctx, 's', info, 0, false, words);
}

static void probe_init(struct probe *p, struct journal *j, unsigned who)
{
	memset(p, 0, sizeof(*p));
	p->journal = j;
	p->who = who;
}

/* Makes callback kind refuse with status at its k-th call from now. */
static void probe_fail(struct probe *p, char kind, unsigned k, int status)
{
	p->fail_kind = kind;
	p->fail_at = k;
	p->fail_status = status;
	p->seen = 0;
}

static squib_listener_t probe_listener(struct probe *p)
{
	squib_listener_t l = SQUIB_LISTENER_INIT;

	l.ctx = p;
	l.region_add = probe_add;
	l.region_del = probe_del;
	l.protect = probe_protect;
	l.dirty_log = probe_dirty_log;
	l.log_sync = probe_log_sync;
	return l;
}

static uint64_t probe_register(squib_mem_t *mem, struct probe *p)
{
	squib_listener_t l = probe_listener(p);
	uint64_t id = 0;

	CK_OK(squib_mem_listener_add(mem, &l, &id));
	return id;
}

/* ------------------------------------------------------------------ */
/* other helpers                                                       */

#define SENTINEL_ID 0x5eed5eed5eed5eedull

/* Adds a region with opts built from the arguments; SHARED regions get
 * bytes of pattern seed and the name. */
static squib_status_t add_opts(squib_mem_t *mem, uint64_t base, uint64_t size, uint32_t slot,
			       uint32_t flags, const char *name, uint64_t seed)
{
	squib_region_opts_t opts = test_opts_of(base, size, slot, flags);
	uint8_t *bytes = NULL;
	squib_status_t status;

	if (seed) {
		bytes = malloc((size_t)size);
		ck_assert_ptr_nonnull(bytes);
		test_fill_pattern(bytes, (size_t)size, seed);
		opts.bytes = bytes;
	}
	opts.name = name;
	status = squib_mem_add_region_opts(mem, &opts);
	free(bytes);
	return status;
}

/* Asserts that two infos describe the same region in every field. */
static void ck_info_same(const squib_region_info_t *got, const squib_region_info_t *want,
			 const char *what)
{
	ck_assert_msg(got->range.base.raw == want->range.base.raw &&
			  got->range.size == want->range.size,
		      "%s: range 0x%" PRIx64 "+0x%" PRIx64 ", want 0x%" PRIx64 "+0x%" PRIx64, what,
		      got->range.base.raw, got->range.size, want->range.base.raw, want->range.size);
	ck_assert_msg(got->slot == want->slot, "%s: slot %u, want %u", what, got->slot, want->slot);
	ck_assert_msg(got->prot == want->prot, "%s: prot %u, want %u", what, got->prot, want->prot);
	ck_assert_msg(got->host_addr == want->host_addr, "%s: host_addr %p, want %p", what,
		      got->host_addr, want->host_addr);
	ck_assert_msg(got->flags == want->flags, "%s: flags 0x%x, want 0x%x", what, got->flags,
		      want->flags);
	ck_assert_msg(got->fd == want->fd, "%s: fd %d, want %d", what, got->fd, want->fd);
	ck_assert_msg(got->fd_offset == want->fd_offset, "%s: fd_offset %" PRIu64 ", want %" PRIu64,
		      what, got->fd_offset, want->fd_offset);
	ck_assert_msg(strncmp(got->name, want->name, SQUIB_REGION_NAME_MAX) == 0,
		      "%s: name \"%.32s\", want \"%.32s\"", what, got->name, want->name);
}

static int count_visit(const squib_region_info_t *info, void *ctx)
{
	(void)info;
	(*(size_t *)ctx)++;
	return 0;
}

static size_t foreach_count(const squib_mem_t *mem)
{
	size_t n = 0;

	ck_assert_int_eq(squib_mem_foreach_region(mem, count_visit, &n), 0);
	return n;
}

/* Whether msg names status: its text, its name's tail or its number. */
static bool names_status(const char *msg, squib_status_t status)
{
	static const char *const names[] = {
	    "OK",	   "INVALID_ARGUMENT", "OUT_OF_RANGE", "NO_MEMORY", "OVERLAP",
	    "SLOT_IN_USE", "NOT_FOUND",	       "UNSUPPORTED",  "IO",	    "BUSY",
	    "READ_ONLY",   "NO_SPACE",	       "CORRUPT"};
	char number[16];
	int index = -(int)status;

	if (!msg)
		return false;
	(void)snprintf(number, sizeof(number), "%d", (int)status);
	if (strstr(msg, squib_strerror(status)) || strstr(msg, number))
		return true;
	return index >= 0 && index < (int)(sizeof(names) / sizeof(names[0])) &&
	       strstr(msg, names[index]) != NULL;
}

#define CK_LAST_ERROR_NAMES_STATUS(status)                                                         \
	ck_assert_msg(names_status(squib_last_error(), (status)),                                  \
		      "squib_last_error() = \"%s\" does not name status %d (%s)",                  \
		      squib_last_error(), (int)(status), squib_strerror(status))

static void sleep_ms(unsigned ms)
{
	struct timespec left = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};

	while (nanosleep(&left, &left) != 0 && errno == EINTR)
		;
}

/* Where the stress and thread tests scale down (as check_pin_stress). */
static bool slow_host(void)
{
	return TEST_UNDER_TSAN || test_under_valgrind();
}

/* ------------------------------------------------------------------ */
/* order                                                               */

START_TEST(replay_ascending_remove_descending)
{
	squib_mem_t *mem = test_mem_new();
	struct journal *j = journal_new();
	struct probe p;
	uint64_t id;
	const uint64_t page = test_page();
	const uint32_t order[] = {12, 3, 9, 7};

	/* Slots unrelated to the bases, added in neither order. */
	test_add(mem, 0x300000, 0x1000, 7);
	test_add(mem, 0x100000, 0x2000, 3);
	CK_OK(add_opts(mem, 0x200000, page, 9, SQUIB_REGION_SHARED, "mid", 9));
	test_add(mem, 0x50, 0x10, 12);
	probe_init(&p, j, 1);

	id = probe_register(mem, &p);
	for (size_t i = 0; i < 4; i++) {
		squib_region_info_t want = test_info_of(mem, order[i]);

		ck_info_same(&j->ev[i].info, &want, "replayed region_add");
	}
	CK_JOURNAL(j, "a1:12 a1:3 a1:9 a1:7");

	CK_OK(squib_mem_listener_remove(mem, id));
	for (size_t i = 0; i < 4; i++) {
		squib_region_info_t want = test_info_of(mem, order[3 - i]);

		ck_info_same(&j->ev[i].info, &want, "region_del of listener_remove");
	}
	CK_JOURNAL(j, "d1:7 d1:9 d1:3 d1:12");
	ck_assert(!p.short_info);

	/* The regions stay; the listener is gone. */
	ck_assert_uint_eq(squib_mem_region_count(mem), 4);
	test_add(mem, 0x400000, 0x1000, 1);
	CK_OK(squib_mem_set_protection(mem, 1, SQUIB_PROT_READ));
	CK_OK(squib_mem_remove_region(mem, 1));
	CK_JOURNAL(j, "");
	CK_STATUS(squib_mem_listener_remove(mem, id), SQUIB_E_NOT_FOUND);

	/* An empty handle replays nothing. */
	squib_mem_free(mem);
	mem = test_mem_new();
	id = probe_register(mem, &p);
	CK_JOURNAL(j, "");
	CK_OK(squib_mem_listener_remove(mem, id));
	CK_JOURNAL(j, "");
	squib_mem_free(mem);
	free(j);
}
END_TEST

START_TEST(registration_order_and_reverse)
{
	squib_mem_t *mem = test_mem_new();
	struct journal *j = journal_new();
	struct probe p[4];
	uint64_t id[4];
	uint8_t bytes[0x100];

	for (unsigned i = 0; i < 4; i++)
		probe_init(&p[i], j, i + 1);
	for (unsigned i = 0; i < 3; i++)
		id[i] = probe_register(mem, &p[i]);
	CK_JOURNAL(j, "");

	test_add(mem, 0x10000, 0x1000, 5);
	CK_JOURNAL(j, "a1:5 a2:5 a3:5");
	CK_OK(squib_mem_remove_region(mem, 5));
	CK_JOURNAL(j, "d3:5 d2:5 d1:5");

	CK_OK(add_opts(mem, 0x20000, test_page(), 6, SQUIB_REGION_SHARED, "six", 6));
	CK_JOURNAL(j, "a1:6 a2:6 a3:6");
	test_fill_pattern(bytes, sizeof(bytes), 7);
	CK_OK(squib_mem_add_region_from_bytes(mem, SQUIB_GPA(0x30000), bytes, sizeof(bytes), 7,
					      SQUIB_PROT_READ));
	CK_JOURNAL(j, "a1:7 a2:7 a3:7");

	/* The middle one leaves: the others keep their order. */
	CK_OK(squib_mem_listener_remove(mem, id[1]));
	CK_JOURNAL(j, "d2:7 d2:6");
	test_add(mem, 0x40000, 0x1000, 8);
	CK_JOURNAL(j, "a1:8 a3:8");

	/* A newcomer is replayed the map, then comes last. */
	id[3] = probe_register(mem, &p[3]);
	CK_JOURNAL(j, "a4:6 a4:7 a4:8");
	test_add(mem, 0x50000, 0x1000, 9);
	CK_JOURNAL(j, "a1:9 a3:9 a4:9");
	CK_OK(squib_mem_remove_region(mem, 7));
	CK_JOURNAL(j, "d4:7 d3:7 d1:7");
	CK_OK(squib_mem_set_protection(mem, 9, SQUIB_PROT_READ));
	CK_JOURNAL(j, "p1:9:1<3 p3:9:1<3 p4:9:1<3");
	CK_OK(squib_mem_set_dirty_log(mem, 9, true));
	CK_JOURNAL(j, "l1:9:11 l3:9:11 l4:9:11");

	CK_OK(squib_mem_listener_remove(mem, id[0]));
	CK_JOURNAL(j, "d1:9 d1:8 d1:6");
	CK_OK(squib_mem_listener_remove(mem, id[2]));
	CK_JOURNAL(j, "d3:9 d3:8 d3:6");
	CK_OK(squib_mem_listener_remove(mem, id[3]));
	CK_JOURNAL(j, "d4:9 d4:8 d4:6");
	for (unsigned i = 0; i < 4; i++)
		ck_assert(!p[i].short_info);
	squib_mem_free(mem);
	free(j);
}
END_TEST

/* What a region_add or region_del callback saw of the handle. */
struct view {
	squib_mem_t *mem;
	char when; /* the kind of callback that looks */
	unsigned looks;
	squib_status_t read, find, get;
	size_t count;
	squib_region_info_t info;
	uint8_t head[64], tail[64];
	bool fd_ok;
	struct stat st;
};

static void look_hook(struct probe *p, char kind, const squib_region_info_t *info)
{
	struct view *v = p->hook_ctx;
	squib_region_info_t found = SQUIB_REGION_INFO_INIT;
	uint8_t byte = 0;
	size_t part = info->range.size < 64 ? (size_t)info->range.size : 64;

	if (kind != v->when)
		return;
	v->looks++;
	v->read = squib_mem_read(v->mem, info->range.base, &byte, 1);
	v->find = squib_mem_find_region(v->mem, info->range.base, &found);
	v->get = squib_mem_get_region(v->mem, info->slot, &found);
	v->count = squib_mem_region_count(v->mem);
	memcpy(&v->info, info, sizeof(v->info));
	/* The host memory, at both ends. */
	memcpy(v->head, info->host_addr, part);
	memcpy(v->tail, (const uint8_t *)info->host_addr + info->range.size - part, part);
	v->fd_ok = info->fd >= 0 && fstat(info->fd, &v->st) == 0;
}

START_TEST(region_add_sees_a_ready_invisible_region)
{
	squib_mem_t *mem = test_mem_new();
	struct journal *j = journal_new();
	struct probe p;
	struct view v;
	const uint64_t page = test_page();
	const uint64_t size = 4 * page;
	uint8_t zeros[64] = {0}, want_head[64], want_tail[64];
	squib_region_info_t after;
	uint8_t bytes[0x321];

	test_add(mem, 0x10000, 0x1000, 1);
	probe_init(&p, j, 1);
	memset(&v, 0, sizeof(v));
	v.mem = mem;
	v.when = 'a';
	p.hook = look_hook;
	p.hook_ctx = &v;
	(void)probe_register(mem, &p);
	CK_JOURNAL(j, "a1:1");
	v.looks = 0;

	/* A SHARED region with bytes, a name and RX: every field. */
	CK_OK(add_opts(mem, 0x800000, size, 21, SQUIB_REGION_SHARED, "hot-ram", 21));
	CK_JOURNAL(j, "a1:21");
	ck_assert_uint_eq(v.looks, 1);
	CK_STATUS(v.read, SQUIB_E_OUT_OF_RANGE);
	CK_STATUS(v.find, SQUIB_E_OUT_OF_RANGE);
	CK_STATUS(v.get, SQUIB_E_NOT_FOUND);
	ck_assert_uint_eq(v.count, 1);
	ck_assert_uint_ge(v.info.sz, sizeof(squib_region_info_t));
	ck_assert_uint_eq(v.info.range.base.raw, 0x800000);
	ck_assert_uint_eq(v.info.range.size, size);
	ck_assert_uint_eq(v.info.slot, 21);
	ck_assert_uint_eq(v.info.prot, SQUIB_PROT_RW);
	ck_assert_ptr_nonnull(v.info.host_addr);
	ck_assert_uint_eq(v.info.flags, SQUIB_REGION_SHARED);
	ck_assert_msg(v.fd_ok, "info->fd %d inside region_add is not an open file", v.info.fd);
	ck_assert_uint_ge((uint64_t)v.st.st_size, size);
	ck_assert_uint_eq(v.info.fd_offset, 0);
	ck_assert_str_eq(v.info.name, "hot-ram");
	for (size_t i = 0; i < 64; i++) {
		want_head[i] = test_pattern_byte(21, i);
		want_tail[i] = test_pattern_byte(21, size - 64 + i);
	}
	CK_BYTES_EQ(v.head, want_head, 64); /* the bytes are in place */
	CK_BYTES_EQ(v.tail, want_tail, 64);
	/* Visible once added, the memory the callback was shown. */
	after = test_info_of(mem, 21);
	ck_info_same(&after, &v.info, "get_region after the add");
	ck_assert_uint_eq(squib_mem_region_count(mem), 2);

	/* A 0.2 region, unaligned, READ only: flags 0, fd -1, name "". */
	CK_OK(squib_mem_add_region(mem, test_range(0x900010, 0x123), 22, SQUIB_PROT_READ));
	CK_JOURNAL(j, "a1:22");
	ck_assert_uint_eq(v.looks, 2);
	CK_STATUS(v.read, SQUIB_E_OUT_OF_RANGE);
	CK_STATUS(v.find, SQUIB_E_OUT_OF_RANGE);
	CK_STATUS(v.get, SQUIB_E_NOT_FOUND);
	ck_assert_uint_eq(v.count, 2);
	ck_assert_uint_eq(v.info.range.base.raw, 0x900010);
	ck_assert_uint_eq(v.info.range.size, 0x123);
	ck_assert_uint_eq(v.info.slot, 22);
	ck_assert_uint_eq(v.info.prot, SQUIB_PROT_READ);
	ck_assert_ptr_nonnull(v.info.host_addr);
	ck_assert_uint_eq(v.info.flags, 0);
	ck_assert_int_eq(v.info.fd, -1);
	ck_assert_uint_eq(v.info.fd_offset, 0);
	ck_assert_str_eq(v.info.name, "");
	CK_BYTES_EQ(v.head, zeros, 64);
	after = test_info_of(mem, 22);
	ck_info_same(&after, &v.info, "get_region after the 0.2 add");

	/* From bytes: the bytes are there before anyone is told. */
	test_fill_pattern(bytes, sizeof(bytes), 23);
	CK_OK(squib_mem_add_region_from_bytes(mem, SQUIB_GPA(0xa00000), bytes, sizeof(bytes), 23,
					      SQUIB_PROT_RWX));
	CK_JOURNAL(j, "a1:23");
	CK_STATUS(v.read, SQUIB_E_OUT_OF_RANGE);
	ck_assert_uint_eq(v.info.prot, SQUIB_PROT_RWX);
	ck_assert_uint_eq(v.info.flags, 0);
	CK_BYTES_EQ(v.head, bytes, 64);
	CK_BYTES_EQ(v.tail, bytes + sizeof(bytes) - 64, 64);
	ck_assert(!p.short_info);
	squib_mem_free(mem);
	free(j);
}
END_TEST

START_TEST(region_del_sees_an_invisible_mapped_region)
{
	squib_mem_t *mem = test_mem_new();
	struct journal *j = journal_new();
	struct probe p[2];
	struct view v;
	const uint64_t page = test_page();
	const uint64_t big = 64ull << 20; /* unmapped before remove_region returns */
	uint8_t head[64], tail[64];
	uint64_t id;

	memset(&v, 0, sizeof(v));
	v.mem = mem;
	v.when = 'd';
	probe_init(&p[0], j, 1);
	probe_init(&p[1], j, 2);
	p[0].hook = look_hook;
	p[0].hook_ctx = &v;
	(void)probe_register(mem, &p[0]);
	id = probe_register(mem, &p[1]);

	test_add(mem, 0x40000000, big, 31);
	test_fill_pattern(head, sizeof(head), 31);
	test_fill_pattern(tail, sizeof(tail), 32);
	CK_OK(squib_mem_write(mem, SQUIB_GPA(0x40000000), head, sizeof(head)));
	CK_OK(squib_mem_write(mem, SQUIB_GPA(0x40000000 + big - 64), tail, sizeof(tail)));
	CK_OK(add_opts(mem, 0x10000000, 4 * page, 32, SQUIB_REGION_SHARED, "small", 33));
	test_add(mem, 0x20000000, 0x800, 33);
	CK_OK(squib_mem_write(mem, SQUIB_GPA(0x20000000), head, sizeof(head)));
	CK_OK(squib_mem_write(mem, SQUIB_GPA(0x20000000 + 0x800 - 64), tail, sizeof(tail)));
	CK_JOURNAL(j, "a1:31 a2:31 a1:32 a2:32 a1:33 a2:33");

	/* Removing: gone for accesses, still mapped for the callback. */
	CK_OK(squib_mem_remove_region(mem, 31));
	CK_JOURNAL(j, "d2:31 d1:31");
	ck_assert_uint_eq(v.looks, 1);
	CK_STATUS(v.read, SQUIB_E_OUT_OF_RANGE);
	CK_STATUS(v.find, SQUIB_E_OUT_OF_RANGE);
	CK_STATUS(v.get, SQUIB_E_NOT_FOUND);
	ck_assert_uint_eq(v.count, 2);
	ck_assert_uint_eq(v.info.range.base.raw, 0x40000000);
	ck_assert_uint_eq(v.info.range.size, big);
	CK_BYTES_EQ(v.head, head, 64);
	CK_BYTES_EQ(v.tail, tail, 64);

	CK_OK(squib_mem_remove_region(mem, 32));
	CK_JOURNAL(j, "d2:32 d1:32");
	CK_STATUS(v.read, SQUIB_E_OUT_OF_RANGE);
	CK_STATUS(v.get, SQUIB_E_NOT_FOUND);
	ck_assert_uint_eq(v.info.flags, SQUIB_REGION_SHARED);
	ck_assert_msg(v.fd_ok, "info->fd %d inside region_del is not an open file", v.info.fd);
	ck_assert_str_eq(v.info.name, "small");
	for (size_t i = 0; i < 64; i++)
		ck_assert_uint_eq(v.head[i], test_pattern_byte(33, i));

	CK_OK(squib_mem_remove_region(mem, 33));
	CK_JOURNAL(j, "d2:33 d1:33");
	CK_STATUS(v.read, SQUIB_E_OUT_OF_RANGE);
	CK_BYTES_EQ(v.head, head, 64);
	CK_BYTES_EQ(v.tail, tail, 64);
	ck_assert_uint_eq(squib_mem_region_count(mem), 0);

	/* listener_remove: the region stays visible during its region_del. */
	test_add(mem, 0x30000000, 0x1000, 34);
	CK_JOURNAL(j, "a1:34 a2:34");
	v.looks = 0;
	v.mem = mem;
	p[1].hook = look_hook;
	p[1].hook_ctx = &v;
	CK_OK(squib_mem_listener_remove(mem, id));
	CK_JOURNAL(j, "d2:34");
	ck_assert_uint_eq(v.looks, 1);
	CK_OK(v.read);
	CK_OK(v.find);
	CK_OK(v.get);
	squib_mem_free(mem);
	free(j);
}
END_TEST

/* ------------------------------------------------------------------ */
/* refusals                                                            */

START_TEST(veto_of_replay_at_every_position)
{
	squib_mem_t *mem = test_mem_new();
	struct journal *j = journal_new();
	struct probe p;
	const unsigned n = 4;

	for (unsigned s = 1; s <= n; s++)
		test_add(mem, 0x100000ull * (n + 1 - s), 0x1000, s); /* slot n lowest */
	probe_init(&p, j, 1);

	for (unsigned k = 1; k <= n; k++) {
		squib_listener_t l = probe_listener(&p);
		uint64_t id = SENTINEL_ID;
		char want[TEXT_MAX] = "";

		probe_fail(&p, 'a', k, SQUIB_E_IO);
		CK_STATUS(squib_mem_listener_add(mem, &l, &id), SQUIB_E_IO);
		ck_assert_uint_eq(id, SENTINEL_ID);
		CK_LAST_ERROR_HAS("region_add");
		CK_LAST_ERROR_NAMES_STATUS(SQUIB_E_IO);
		/* Ascending base order is slot n, n-1, ...; the k-th refuses,
		 * the k-1 accepted get region_del in reverse. */
		for (unsigned i = 0; i < k; i++)
			append(want, sizeof(want), "%sa1:%u", i ? " " : "", n - i);
		for (unsigned i = k - 1; i-- > 0;)
			append(want, sizeof(want), " d1:%u", n - i);
		for (unsigned i = 0; i + 1 < k; i++)
			ck_assert_ptr_eq(j->ev[k + i].info.host_addr,
					 j->ev[k - 2 - i].info.host_addr);
		CK_JOURNAL(j, want);
		/* Not added: nothing more reaches it. */
		test_add(mem, 0x10000000, 0x1000, 50);
		CK_OK(squib_mem_remove_region(mem, 50));
		CK_JOURNAL(j, "");
		ck_assert_uint_eq(squib_mem_region_count(mem), n);
	}

	/* A refusal that never comes: added. */
	{
		squib_listener_t l = probe_listener(&p);
		uint64_t id = SENTINEL_ID;

		probe_fail(&p, 'a', n + 1, SQUIB_E_IO);
		CK_OK(squib_mem_listener_add(mem, &l, &id));
		ck_assert_uint_ne(id, SENTINEL_ID);
		CK_JOURNAL(j, "a1:4 a1:3 a1:2 a1:1");
		CK_OK(squib_mem_listener_remove(mem, id));
		CK_JOURNAL(j, "d1:1 d1:2 d1:3 d1:4");
	}
	squib_mem_free(mem);
	free(j);
}
END_TEST

static bool maps_equal(struct test_maps a, struct test_maps b)
{
	if (test_under_valgrind())
		return true;
	return test_maps_equal(a, b);
}

START_TEST(veto_of_region_add_at_every_position)
{
	static const squib_status_t statuses[] = {SQUIB_E_IO, SQUIB_E_NO_MEMORY,
						  SQUIB_E_UNSUPPORTED};
	squib_mem_t *mem = test_mem_new();
	struct journal *j = journal_new();
	struct probe p[3];
	const uint64_t page = test_page();
	const unsigned n = 3;

	test_add(mem, 0x10000, 0x1000, 1);
	for (unsigned i = 0; i < n; i++) {
		probe_init(&p[i], j, i + 1);
		(void)probe_register(mem, &p[i]);
	}
	CK_JOURNAL(j, "a1:1 a2:1 a3:1");
	/* Warm-up: whatever the first refusals allocate for good (libc's
	 * arenas, the thread's message) is not counted below. */
	for (int shared = 0; shared < 2; shared++) {
		probe_fail(&p[0], 'a', 1, SQUIB_E_IO);
		CK_STATUS(shared ? add_opts(mem, 0x200000, 4 * page, 20, SQUIB_REGION_SHARED,
					    "vetoed", 20)
				 : squib_mem_add_region(mem, test_range(0x200000, 4 * page), 20,
							SQUIB_PROT_RW),
			  SQUIB_E_IO);
		CK_JOURNAL(j, "a1:20");
	}

	for (unsigned k = 1; k <= n; k++) {
		for (int shared = 0; shared < 2; shared++) {
			char want[TEXT_MAX] = "";
			size_t fds = test_count_fds();
			struct test_maps maps = test_count_maps();
			squib_status_t st;

			probe_fail(&p[k - 1], 'a', 1, statuses[k - 1]);
			if (shared)
				st = add_opts(mem, 0x200000, 4 * page, 20, SQUIB_REGION_SHARED,
					      "vetoed", 20);
			else
				st = squib_mem_add_region(mem, test_range(0x200000, 4 * page), 20,
							  SQUIB_PROT_RW);
			CK_STATUS(st, statuses[k - 1]);
			for (unsigned i = 1; i <= k; i++)
				append(want, sizeof(want), "%sa%u:20", i > 1 ? " " : "", i);
			for (unsigned i = k - 1; i >= 1; i--)
				append(want, sizeof(want), " d%u:20", i);
			for (unsigned i = 0; i + 1 < k; i++)
				ck_info_same(&j->ev[k + i].info, &j->ev[k - 2 - i].info,
					     "region_del of the rollback");
			CK_JOURNAL(j, want);
			/* The table never saw it, and it left nothing behind. */
			ck_assert_uint_eq(squib_mem_region_count(mem), 1);
			ck_assert_uint_eq(foreach_count(mem), 1);
			{
				squib_region_info_t info = SQUIB_REGION_INFO_INIT;

				CK_STATUS(squib_mem_get_region(mem, 20, &info), SQUIB_E_NOT_FOUND);
				CK_STATUS(squib_mem_find_region(mem, SQUIB_GPA(0x200000), &info),
					  SQUIB_E_OUT_OF_RANGE);
			}
			ck_assert_uint_eq(test_count_fds(), fds);
			ck_assert_msg(maps_equal(test_count_maps(), maps),
				      "a vetoed add (k = %u) left a mapping", k);
		}
	}
	/* Slot and range are free again. */
	CK_OK(add_opts(mem, 0x200000, 4 * page, 20, SQUIB_REGION_SHARED, "accepted", 20));
	CK_JOURNAL(j, "a1:20 a2:20 a3:20");
	ck_assert_uint_eq(squib_mem_region_count(mem), 2);
	squib_mem_free(mem);
	free(j);
}
END_TEST

START_TEST(veto_leaves_a_caller_mapping_as_it_was)
{
	squib_mem_t *mem = test_mem_new();
	struct journal *j = journal_new();
	struct probe p;
	const uint64_t page = test_page();
	const size_t size = (size_t)(4 * page);
	const uint32_t flags = SQUIB_REGION_DONTDUMP | SQUIB_REGION_DONTFORK;
	uint8_t *own[2];

	probe_init(&p, j, 1);
	(void)probe_register(mem, &p);
	for (int i = 0; i < 2; i++) {
		own[i] =
		    mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		ck_assert_ptr_ne(own[i], MAP_FAILED);
		test_fill_pattern(own[i], size, 40u + (unsigned)i);
	}
	/* The second one the caller made DONTDUMP itself. */
	ck_assert_int_eq(madvise(own[1], size, MADV_DONTDUMP), 0);

	for (int i = 0; i < 2; i++) {
		struct test_vma before = test_vma_of(own[i]), after;
		squib_region_opts_t opts = test_opts_of(0x300000, size, 40, flags);

		opts.host_addr = own[i];
		probe_fail(&p, 'a', 1, SQUIB_E_NO_MEMORY);
		CK_STATUS(squib_mem_add_region_opts(mem, &opts), SQUIB_E_NO_MEMORY);
		CK_JOURNAL(j, "a1:40");
		ck_assert_uint_eq(squib_mem_region_count(mem), 0);
		after = test_vma_of(own[i]);
		ck_assert_msg(strcmp(before.vmflags, after.vmflags) == 0,
			      "caller mapping %d: VmFlags\n  before \"%s\"\n  after  \"%s\"", i,
			      before.vmflags, after.vmflags);
		ck_assert(test_vma_has(&after, "dd") == (i == 1));
		ck_assert(!test_vma_has(&after, "dc"));
		ck_assert(test_mapped(own[i]));
		ck_assert_uint_eq(test_check_pattern(own[i], size, 40u + (unsigned)i), size);

		/* The control: accepted, the flags are applied. */
		CK_OK(squib_mem_add_region_opts(mem, &opts));
		CK_JOURNAL(j, "a1:40");
		after = test_vma_of(own[i]);
		ck_assert(test_vma_has(&after, "dd"));
		ck_assert(test_vma_has(&after, "dc"));
		CK_OK(squib_mem_remove_region(mem, 40));
		CK_JOURNAL(j, "d1:40");
	}
	squib_mem_free(mem);
	for (int i = 0; i < 2; i++)
		ck_assert_int_eq(munmap(own[i], size), 0);
	free(j);
}
END_TEST

START_TEST(positive_refusal_is_busy)
{
	static const int positives[] = {1, 7, 0x7fffffff};
	squib_mem_t *mem = test_mem_new();
	struct journal *j = journal_new();
	struct probe p;

	test_add(mem, 0x10000, 0x1000, 1);
	probe_init(&p, j, 1);
	for (size_t i = 0; i < sizeof(positives) / sizeof(positives[0]); i++) {
		squib_listener_t l = probe_listener(&p);
		uint64_t id = SENTINEL_ID;

		probe_fail(&p, 'a', 1, positives[i]);
		CK_STATUS(squib_mem_listener_add(mem, &l, &id), SQUIB_E_BUSY);
		ck_assert_uint_eq(id, SENTINEL_ID);
		CK_JOURNAL(j, "a1:1");
	}
	(void)probe_register(mem, &p);
	CK_JOURNAL(j, "a1:1");
	for (size_t i = 0; i < sizeof(positives) / sizeof(positives[0]); i++) {
		squib_region_info_t info;

		probe_fail(&p, 'a', 1, positives[i]);
		CK_STATUS(squib_mem_add_region(mem, test_range(0x20000, 0x1000), 2, SQUIB_PROT_RW),
			  SQUIB_E_BUSY);
		CK_JOURNAL(j, "a1:2");
		ck_assert_uint_eq(squib_mem_region_count(mem), 1);

		probe_fail(&p, 'p', 1, positives[i]);
		CK_STATUS(squib_mem_set_protection(mem, 1, SQUIB_PROT_READ), SQUIB_E_BUSY);
		CK_JOURNAL(j, "p1:1:1<3");
		info = test_info_of(mem, 1);
		ck_assert_uint_eq(info.prot, SQUIB_PROT_RW);

		probe_fail(&p, 'l', 1, positives[i]);
		CK_STATUS(squib_mem_set_dirty_log(mem, 1, true), SQUIB_E_BUSY);
		CK_JOURNAL(j, "l1:1:11");
		info = test_info_of(mem, 1);
		ck_assert_uint_eq(info.flags, 0);
	}
	squib_mem_free(mem);
	free(j);
}
END_TEST

START_TEST(veto_message_names_listener_callback_status)
{
	squib_mem_t *mem = test_mem_new();
	struct journal *j = journal_new();
	struct probe p[2];
	uint64_t id[2];

	test_add(mem, 0x10000, 0x1000, 4242);
	for (unsigned i = 0; i < 2; i++) {
		probe_init(&p[i], j, i + 1);
		id[i] = probe_register(mem, &p[i]);
	}
	CK_JOURNAL(j, "a1:4242 a2:4242");

	probe_fail(&p[1], 'a', 1, SQUIB_E_NO_MEMORY);
	CK_STATUS(squib_mem_add_region(mem, test_range(0x20000, 0x1000), 4343, SQUIB_PROT_RW),
		  SQUIB_E_NO_MEMORY);
	CK_JOURNAL(j, "a1:4343 a2:4343 d1:4343");
	CK_LAST_ERROR_HAS_U64(id[1]);
	CK_LAST_ERROR_HAS("region_add");
	CK_LAST_ERROR_NAMES_STATUS(SQUIB_E_NO_MEMORY);
	CK_LAST_ERROR_HAS_U64(4343);

	probe_fail(&p[1], 'p', 1, SQUIB_E_IO);
	CK_STATUS(squib_mem_set_protection(mem, 4242, SQUIB_PROT_READ), SQUIB_E_IO);
	CK_JOURNAL(j, "p1:4242:1<3 p2:4242:1<3 p1:4242:3<1");
	CK_LAST_ERROR_HAS_U64(id[1]);
	CK_LAST_ERROR_HAS("protect");
	CK_LAST_ERROR_NAMES_STATUS(SQUIB_E_IO);
	CK_LAST_ERROR_HAS_U64(4242);

	probe_fail(&p[0], 'l', 1, SQUIB_E_UNSUPPORTED);
	CK_STATUS(squib_mem_set_dirty_log(mem, 4242, true), SQUIB_E_UNSUPPORTED);
	CK_JOURNAL(j, "l1:4242:11");
	CK_LAST_ERROR_HAS_U64(id[0]);
	CK_LAST_ERROR_HAS("dirty_log");
	CK_LAST_ERROR_NAMES_STATUS(SQUIB_E_UNSUPPORTED);

	probe_fail(&p[0], 'a', 1, 3);
	CK_STATUS(squib_mem_add_region(mem, test_range(0x20000, 0x1000), 4343, SQUIB_PROT_RW),
		  SQUIB_E_BUSY);
	CK_JOURNAL(j, "a1:4343");
	CK_LAST_ERROR_HAS_U64(id[0]);
	CK_LAST_ERROR_HAS("region_add");

	/* The replay of a listener being added: its id is not out yet. */
	{
		struct probe q;
		squib_listener_t l;
		uint64_t qid = SENTINEL_ID;

		probe_init(&q, j, 3);
		probe_fail(&q, 'a', 1, SQUIB_E_OVERLAP);
		l = probe_listener(&q);
		CK_STATUS(squib_mem_listener_add(mem, &l, &qid), SQUIB_E_OVERLAP);
		ck_assert_uint_eq(qid, SENTINEL_ID);
		CK_JOURNAL(j, "a3:4242");
		CK_LAST_ERROR_HAS("region_add");
		CK_LAST_ERROR_NAMES_STATUS(SQUIB_E_OVERLAP);
	}
	squib_mem_free(mem);
	free(j);
}
END_TEST

/* ------------------------------------------------------------------ */
/* the struct, ids, arguments                                          */

START_TEST(listener_struct_is_copied)
{
	squib_mem_t *mem = test_mem_new();
	struct journal *j = journal_new();
	struct probe p, other;
	squib_listener_t *heap = malloc(sizeof(*heap));
	uint64_t id;

	ck_assert_ptr_nonnull(heap);
	test_add(mem, 0x10000, 0x1000, 1);
	probe_init(&p, j, 1);
	probe_init(&other, j, 2);
	*heap = probe_listener(&p);
	CK_OK(squib_mem_listener_add(mem, heap, &id));
	CK_JOURNAL(j, "a1:1");
	/* The caller's struct changes, then goes. */
	heap->ctx = &other;
	heap->region_add = NULL;
	heap->protect = NULL;
	memset(heap, 0xff, sizeof(*heap));
	free(heap);

	test_add(mem, 0x20000, 0x1000, 2);
	CK_JOURNAL(j, "a1:2");
	CK_OK(squib_mem_set_protection(mem, 2, SQUIB_PROT_READ));
	CK_JOURNAL(j, "p1:2:1<3");
	CK_OK(squib_mem_set_dirty_log(mem, 2, true));
	CK_JOURNAL(j, "l1:2:11");
	{
		uint64_t bitmap[1];

		CK_OK(squib_mem_get_dirty_log(mem, 2, bitmap, 1, 0));
		CK_JOURNAL(j, "s1:2");
	}
	CK_OK(squib_mem_remove_region(mem, 2));
	CK_JOURNAL(j, "d1:2");
	CK_OK(squib_mem_listener_remove(mem, id));
	CK_JOURNAL(j, "d1:1");
	squib_mem_free(mem);
	free(j);
}
END_TEST

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

START_TEST(ids_never_reused)
{
	enum { ROUNDS = 150 };
	squib_mem_t *mem[2] = {test_mem_new(), test_mem_new()};
	squib_listener_t plain = SQUIB_LISTENER_INIT;
	uint64_t *ids = malloc(sizeof(uint64_t) * (ROUNDS * 3 + 10));
	size_t n = 0;

	ck_assert_ptr_nonnull(ids);
	for (unsigned r = 0; r < ROUNDS; r++) {
		uint64_t a, b, c;

		CK_OK(squib_mem_listener_add(mem[0], &plain, &a));
		CK_OK(squib_mem_listener_add(mem[1], &plain, &b));
		CK_OK(squib_mem_listener_add(mem[r % 2], &plain, &c));
		ids[n++] = a;
		ids[n++] = b;
		ids[n++] = c;
		/* An id of the other handle is not this one's. */
		CK_STATUS(squib_mem_listener_remove(mem[1], a), SQUIB_E_NOT_FOUND);
		CK_STATUS(squib_mem_listener_remove(mem[0], b), SQUIB_E_NOT_FOUND);
		CK_OK(squib_mem_listener_remove(mem[0], a));
		CK_OK(squib_mem_listener_remove(mem[1], b));
		/* Removed: unknown from now on. */
		CK_STATUS(squib_mem_listener_remove(mem[0], a), SQUIB_E_NOT_FOUND);
		if (r % 3 == 0)
			CK_OK(squib_mem_listener_remove(mem[r % 2], c));
	}
	/* A handle freed and a new one: still new ids. */
	squib_mem_free(mem[0]);
	mem[0] = test_mem_new();
	for (unsigned r = 0; r < 10; r++) {
		CK_OK(squib_mem_listener_add(mem[0], &plain, &ids[n]));
		n++;
	}
	qsort(ids, n, sizeof(ids[0]), cmp_u64);
	for (size_t i = 1; i < n; i++)
		ck_assert_msg(ids[i] != ids[i - 1], "id %" PRIu64 " given twice", ids[i]);
	squib_mem_free(mem[0]);
	squib_mem_free(mem[1]);
	free(ids);
}
END_TEST

START_TEST(unknown_id_not_found)
{
	squib_mem_t *mem = test_mem_new();
	struct journal *j = journal_new();
	struct probe p;
	uint64_t id;
	const uint64_t unknown[] = {0, 1, 2, 999999, UINT64_MAX, UINT64_MAX - 1};

	test_add(mem, 0x10000, 0x1000, 1);
	probe_init(&p, j, 1);
	id = probe_register(mem, &p);
	CK_JOURNAL(j, "a1:1");
	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		if (unknown[i] == id)
			continue;
		CK_STATUS(squib_mem_listener_remove(mem, unknown[i]), SQUIB_E_NOT_FOUND);
		CK_LAST_ERROR_HAS_U64(unknown[i]);
		CK_JOURNAL(j, "");
	}
	CK_STATUS(squib_mem_listener_remove(mem, id + 1000), SQUIB_E_NOT_FOUND);
	CK_JOURNAL(j, "");
	CK_OK(squib_mem_listener_remove(mem, id));
	CK_JOURNAL(j, "d1:1");
	CK_STATUS(squib_mem_listener_remove(mem, id), SQUIB_E_NOT_FOUND);
	CK_JOURNAL(j, "");
	squib_mem_free(mem);
	free(j);
}
END_TEST

/* A listener and bytes after it, for sizes past the layout. */
struct bigger_listener {
	squib_listener_t l;
	unsigned char tail[24];
};
_Static_assert(offsetof(struct bigger_listener, tail) == sizeof(squib_listener_t),
	       "the tail follows the layout at once");

START_TEST(listener_size_rules)
{
	squib_mem_t *mem = test_mem_new();
	struct journal *j = journal_new();
	struct probe p;
	const size_t small[] = {0, 1, sizeof(size_t), offsetof(squib_listener_t, log_sync),
				sizeof(squib_listener_t) - 1};
	struct bigger_listener big;

	test_add(mem, 0x10000, 0x1000, 1);
	probe_init(&p, j, 1);

	for (size_t i = 0; i < sizeof(small) / sizeof(small[0]); i++) {
		squib_listener_t l = probe_listener(&p);
		uint64_t id = SENTINEL_ID;

		l.sz = small[i];
		CK_STATUS(squib_mem_listener_add(mem, &l, &id), SQUIB_E_INVALID_ARGUMENT);
		ck_assert_uint_eq(id, SENTINEL_ID);
		CK_LAST_ERROR_HAS_U64(small[i]);
		CK_JOURNAL(j, "");
	}

	/* Larger, the bytes past the layout zero: accepted, whatever lies
	 * past sz. */
	{
		const size_t sizes[] = {sizeof(squib_listener_t) + 1, sizeof(squib_listener_t) + 8,
					sizeof(big)};

		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			uint64_t id = SENTINEL_ID;

			memset(&big, 0, sizeof(big));
			big.l = probe_listener(&p);
			big.l.sz = sizes[i];
			if (sizes[i] < sizeof(big))
				big.tail[sizeof(big.tail) - 1] = 0xee; /* past sz: not read */
			CK_OK(squib_mem_listener_add(mem, &big.l, &id));
			ck_assert_uint_ne(id, SENTINEL_ID);
			CK_JOURNAL(j, "a1:1");
			CK_OK(squib_mem_listener_remove(mem, id));
			CK_JOURNAL(j, "d1:1");
		}
	}

	/* Larger with a non-zero byte within sz: UNSUPPORTED. */
	{
		const size_t at[] = {0, 7, sizeof(big.tail) - 1};

		for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
			uint64_t id = SENTINEL_ID;

			memset(&big, 0, sizeof(big));
			big.l = probe_listener(&p);
			big.l.sz = sizeof(big);
			big.tail[at[i]] = 1;
			CK_STATUS(squib_mem_listener_add(mem, &big.l, &id), SQUIB_E_UNSUPPORTED);
			ck_assert_uint_eq(id, SENTINEL_ID);
			CK_JOURNAL(j, "");
		}
		memset(&big, 0, sizeof(big));
		big.l = probe_listener(&p);
		big.l.sz = sizeof(squib_listener_t) + 1;
		big.tail[0] = 0x80;
		{
			uint64_t id = SENTINEL_ID;

			CK_STATUS(squib_mem_listener_add(mem, &big.l, &id), SQUIB_E_UNSUPPORTED);
			ck_assert_uint_eq(id, SENTINEL_ID);
		}
		CK_JOURNAL(j, "");
	}
	/* Nothing of those refused was registered. */
	test_add(mem, 0x20000, 0x1000, 2);
	CK_JOURNAL(j, "");
	squib_mem_free(mem);
	free(j);
}
END_TEST

/* "Larger, with any non-zero byte past the layout: UNSUPPORTED": a larger
 * struct of zeros is accepted whatever its size (a page and more here). */
START_TEST(listener_size_far_larger_zeros)
{
	squib_mem_t *mem = test_mem_new();
	struct journal *j = journal_new();
	struct probe p;
	const size_t sizes[] = {4096, 4096 + 8, 16384};
	unsigned char *buf = calloc(1, 16384);

	ck_assert_ptr_nonnull(buf);
	test_add(mem, 0x10000, 0x1000, 1);
	probe_init(&p, j, 1);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		squib_listener_t l = probe_listener(&p);
		uint64_t id = SENTINEL_ID;

		l.sz = sizes[i];
		memset(buf, 0, 16384);
		memcpy(buf, &l, sizeof(l));
		CK_OK(squib_mem_listener_add(mem, (const squib_listener_t *)(void *)buf, &id));
		CK_JOURNAL(j, "a1:1");
		CK_OK(squib_mem_listener_remove(mem, id));
		CK_JOURNAL(j, "d1:1");
		/* And with its last byte set: UNSUPPORTED. */
		buf[sizes[i] - 1] = 1;
		CK_STATUS(squib_mem_listener_add(mem, (const squib_listener_t *)(void *)buf, &id),
			  SQUIB_E_UNSUPPORTED);
		CK_JOURNAL(j, "");
	}
	free(buf);
	squib_mem_free(mem);
	free(j);
}
END_TEST

START_TEST(null_arguments)
{
	squib_mem_t *mem = test_mem_new();
	struct journal *j = journal_new();
	struct probe p;
	squib_listener_t l;
	uint64_t id = SENTINEL_ID;

	test_add(mem, 0x10000, 0x1000, 1);
	probe_init(&p, j, 1);
	l = probe_listener(&p);
	CK_STATUS(squib_mem_listener_add(NULL, &l, &id), SQUIB_E_INVALID_ARGUMENT);
	CK_LAST_ERROR_HAS("mem");
	CK_STATUS(squib_mem_listener_add(mem, NULL, &id), SQUIB_E_INVALID_ARGUMENT);
	CK_LAST_ERROR_HAS("listener");
	ck_assert_uint_eq(id, SENTINEL_ID);
	CK_STATUS(squib_mem_listener_add(mem, &l, NULL), SQUIB_E_INVALID_ARGUMENT);
	CK_LAST_ERROR_HAS("id");
	CK_JOURNAL(j, ""); /* nothing replayed for the one without id */
	CK_STATUS(squib_mem_listener_remove(NULL, 1), SQUIB_E_INVALID_ARGUMENT);
	CK_LAST_ERROR_HAS("mem");
	CK_STATUS(squib_mem_set_protection(NULL, 1, SQUIB_PROT_READ), SQUIB_E_INVALID_ARGUMENT);
	CK_LAST_ERROR_HAS("mem");
	/* None was registered. */
	test_add(mem, 0x20000, 0x1000, 2);
	CK_JOURNAL(j, "");

	/* A listener of NULL callbacks accepts everything. */
	{
		squib_listener_t none = SQUIB_LISTENER_INIT;
		uint64_t bitmap[1];

		CK_OK(squib_mem_listener_add(mem, &none, &id));
		test_add(mem, 0x30000, 0x1000, 3);
		CK_OK(squib_mem_set_protection(mem, 3, SQUIB_PROT_READ));
		CK_OK(squib_mem_set_dirty_log(mem, 3, true));
		CK_OK(squib_mem_get_dirty_log(mem, 3, bitmap, 1, SQUIB_DIRTY_CLEAR));
		ck_assert_uint_eq(bitmap[0], 0);
		CK_OK(squib_mem_set_dirty_log(mem, 3, false));
		CK_OK(squib_mem_remove_region(mem, 3));
		CK_OK(squib_mem_listener_remove(mem, id));
	}
	squib_mem_free(mem);
	free(j);
}
END_TEST

/* ------------------------------------------------------------------ */
/* calls from inside callbacks                                         */

/*
 * The fixture of the re-entry tests: slot 1 (4 pages at 0x100000, pattern
 * 1, logging), slot 2 (one page at 0x200000, RW, not logging), slot 3 (four
 * pages at 0x300000, logging), and a listener of NULL callbacks whose id a
 * callback tries to remove.
 */
#define FIX_PAGES 4

struct fixture {
	squib_mem_t *mem;
	struct journal *journal;
	struct probe probe;
	uint64_t plain_id;
};

static void fixture_up(struct fixture *f)
{
	squib_listener_t plain = SQUIB_LISTENER_INIT;

	f->mem = test_mem_new();
	f->journal = journal_new();
	CK_OK(add_opts(f->mem, 0x100000, FIX_PAGES * 0x1000, 1, SQUIB_REGION_DIRTY_LOG, NULL, 1));
	test_add(f->mem, 0x200000, 0x1000, 2);
	CK_OK(add_opts(f->mem, 0x300000, FIX_PAGES * 0x1000, 3, SQUIB_REGION_DIRTY_LOG, NULL, 0));
	CK_OK(squib_mem_listener_add(f->mem, &plain, &f->plain_id));
	probe_init(&f->probe, f->journal, 1);
}

static void fixture_down(struct fixture *f)
{
	squib_mem_free(f->mem);
	free(f->journal);
}

/* How a test makes one kind of callback run. */
enum trigger {
	T_ADD,		/* region_add of squib_mem_add_region() */
	T_ADD_OPTS,	/* region_add of squib_mem_add_region_opts() (SHARED) */
	T_ADD_BYTES,	/* region_add of squib_mem_add_region_from_bytes() */
	T_REPLAY,	/* region_add of squib_mem_listener_add() */
	T_DEL,		/* region_del of squib_mem_remove_region() */
	T_DEL_LISTENER, /* region_del of squib_mem_listener_remove() */
	T_DEL_ROLLBACK, /* region_del undoing an add another listener refused */
	T_PROTECT,	/* protect of squib_mem_set_protection() */
	T_DIRTY_LOG,	/* dirty_log of squib_mem_set_dirty_log() */
	T_LOG_SYNC,	/* log_sync of squib_mem_get_dirty_log() */
	TRIGGERS
};

static const char *const trigger_name[TRIGGERS] = {"region_add (add_region)",
						   "region_add (add_region_opts)",
						   "region_add (from_bytes)",
						   "region_add (listener_add replay)",
						   "region_del (remove_region)",
						   "region_del (listener_remove)",
						   "region_del (rollback)",
						   "protect",
						   "dirty_log",
						   "log_sync"};

static char trigger_kind(enum trigger t)
{
	switch (t) {
	case T_ADD:
	case T_ADD_OPTS:
	case T_ADD_BYTES:
	case T_REPLAY:
		return 'a';
	case T_DEL:
	case T_DEL_LISTENER:
	case T_DEL_ROLLBACK:
		return 'd';
	case T_PROTECT:
		return 'p';
	case T_DIRTY_LOG:
		return 'l';
	default:
		return 's';
	}
}

/*
 * Registers the fixture's probe (its hook already set) and makes the
 * trigger's callback run once on it; slot 10 (one page at 0x1000000) is
 * the region the trigger adds or removes. Returns what the triggering call
 * returned.
 */
static squib_status_t run_trigger(struct fixture *f, enum trigger t)
{
	squib_listener_t l = probe_listener(&f->probe);
	uint8_t bytes[0x40] = {1, 2, 3};
	uint64_t bitmap[1];
	uint64_t id = 0;
	squib_status_t st = SQUIB_E_INVALID_ARGUMENT;
	probe_hook hook = f->probe.hook;

	/* Set-up without the hook. */
	f->probe.hook = NULL;
	if (t != T_REPLAY)
		CK_OK(squib_mem_listener_add(f->mem, &l, &id));
	if (t == T_DEL || t == T_DEL_LISTENER || t == T_PROTECT || t == T_DIRTY_LOG ||
	    t == T_LOG_SYNC)
		test_add(f->mem, 0x1000000, 0x1000, 10);
	if (t == T_LOG_SYNC)
		CK_OK(squib_mem_set_dirty_log(f->mem, 10, true));
	f->probe.hook = hook;

	switch (t) {
	case T_ADD:
		st = squib_mem_add_region(f->mem, test_range(0x1000000, 0x1000), 10, SQUIB_PROT_RW);
		break;
	case T_ADD_OPTS:
		st = add_opts(f->mem, 0x1000000, test_page(), 10, SQUIB_REGION_SHARED, "t", 10);
		break;
	case T_ADD_BYTES:
		st = squib_mem_add_region_from_bytes(f->mem, SQUIB_GPA(0x1000000), bytes,
						     sizeof(bytes), 10, SQUIB_PROT_RW);
		break;
	case T_REPLAY:
		st = squib_mem_listener_add(f->mem, &l, &id);
		break;
	case T_DEL:
		st = squib_mem_remove_region(f->mem, 10);
		break;
	case T_DEL_LISTENER:
		st = squib_mem_listener_remove(f->mem, id);
		break;
	case T_DEL_ROLLBACK: {
		/* A second listener refuses what the probe accepted. */
		struct probe veto;
		squib_listener_t vl;
		uint64_t vid;

		probe_init(&veto, f->journal, 9);
		vl = probe_listener(&veto);
		f->probe.hook = NULL;
		CK_OK(squib_mem_listener_add(f->mem, &vl, &vid));
		f->probe.hook = hook;
		probe_fail(&veto, 'a', 1, SQUIB_E_IO);
		st = squib_mem_add_region(f->mem, test_range(0x1000000, 0x1000), 10, SQUIB_PROT_RW);
		f->probe.hook = NULL;
		CK_OK(squib_mem_listener_remove(f->mem, vid));
		CK_STATUS(st, SQUIB_E_IO);
		st = SQUIB_OK;
		break;
	}
	case T_PROTECT:
		st = squib_mem_set_protection(f->mem, 10, SQUIB_PROT_READ);
		break;
	case T_DIRTY_LOG:
		st = squib_mem_set_dirty_log(f->mem, 10, true);
		break;
	case T_LOG_SYNC:
		st = squib_mem_get_dirty_log(f->mem, 10, bitmap, 1, SQUIB_DIRTY_CLEAR);
		break;
	default:
		break;
	}
	f->probe.hook = NULL;
	return st;
}

#define MUTATIONS 8
static const char *const mutation_name[MUTATIONS] = {
    "add_region",    "add_region_opts", "remove_region", "set_protection",
    "set_dirty_log", "get_dirty_log",	"listener_add",	 "listener_remove"};

struct reentry {
	squib_mem_t *mem;
	uint64_t plain_id;
	char when;
	unsigned runs;
	squib_status_t got[MUTATIONS];
};

static void run_mutations(squib_mem_t *mem, uint64_t plain_id, squib_status_t *got)
{
	squib_region_opts_t opts = test_opts_of(0x7800000, 0x1000, 78, 0);
	squib_listener_t plain = SQUIB_LISTENER_INIT;
	uint64_t bitmap[FIX_PAGES] = {0}, id = SENTINEL_ID;

	got[0] = squib_mem_add_region(mem, test_range(0x7700000, 0x1000), 77, SQUIB_PROT_RW);
	got[1] = squib_mem_add_region_opts(mem, &opts);
	got[2] = squib_mem_remove_region(mem, 2);
	got[3] = squib_mem_set_protection(mem, 2, SQUIB_PROT_READ);
	got[4] = squib_mem_set_dirty_log(mem, 2, true);
	got[5] = squib_mem_get_dirty_log(mem, 3, bitmap, FIX_PAGES, 0);
	got[6] = squib_mem_listener_add(mem, &plain, &id);
	got[7] = squib_mem_listener_remove(mem, plain_id);
}

static void reentry_hook(struct probe *p, char kind, const squib_region_info_t *info)
{
	struct reentry *r = p->hook_ctx;

	(void)info;
	if (kind != r->when || r->runs++)
		return;
	run_mutations(r->mem, r->plain_id, r->got);
}

START_TEST(mutations_inside_callbacks_are_busy)
{
	for (int t = 0; t < TRIGGERS; t++) {
		struct fixture f;
		struct reentry r;
		squib_region_info_t info;
		uint64_t bitmap[FIX_PAGES];

		fixture_up(&f);
		memset(&r, 0, sizeof(r));
		r.mem = f.mem;
		r.plain_id = f.plain_id;
		r.when = trigger_kind((enum trigger)t);
		f.probe.hook = reentry_hook;
		f.probe.hook_ctx = &r;
		CK_OK(run_trigger(&f, (enum trigger)t));
		ck_assert_msg(r.runs >= 1, "%s: the callback did not run", trigger_name[t]);
		for (int m = 0; m < MUTATIONS; m++)
			ck_assert_msg(r.got[m] == SQUIB_E_BUSY,
				      "%s inside %s: got %d (%s), want SQUIB_E_BUSY",
				      mutation_name[m], trigger_name[t], (int)r.got[m],
				      squib_strerror(r.got[m]));
		/* None of them changed anything. */
		info = (squib_region_info_t)SQUIB_REGION_INFO_INIT;
		CK_STATUS(squib_mem_get_region(f.mem, 77, &info), SQUIB_E_NOT_FOUND);
		CK_STATUS(squib_mem_get_region(f.mem, 78, &info), SQUIB_E_NOT_FOUND);
		info = test_info_of(f.mem, 2);
		ck_assert_uint_eq(info.prot, SQUIB_PROT_RW);
		ck_assert_uint_eq(info.flags, 0);
		CK_STATUS(squib_mem_get_dirty_log(f.mem, 2, bitmap, FIX_PAGES, 0),
			  SQUIB_E_UNSUPPORTED);
		CK_OK(squib_mem_listener_remove(f.mem, f.plain_id));
		fixture_down(&f);
	}
}
END_TEST

/* Accesses from inside a callback: each must work as outside. */
struct access_check {
	squib_mem_t *mem;
	int fd; /* a temporary file, for the fd transfers */
	char when;
	unsigned runs;
	char failure[256];
};

__attribute__((format(printf, 2, 3))) static void access_fail(struct access_check *a,
							      const char *fmt, ...);

static void access_fail(struct access_check *a, const char *fmt, ...)
{
	va_list args;

	if (a->failure[0])
		return;
	va_start(args, fmt);
	(void)vsnprintf(a->failure, sizeof(a->failure), fmt, args);
	va_end(args);
}

#define A_CHECK(a, cond, ...)                                                                      \
	do {                                                                                       \
		if (!(cond))                                                                       \
			access_fail((a), __VA_ARGS__);                                             \
	} while (0)

static int find_slot1(const squib_region_info_t *info, void *ctx)
{
	if (info->slot == 1)
		(*(unsigned *)ctx)++;
	return 0;
}

static void run_accesses(struct access_check *a)
{
	squib_mem_t *mem = a->mem;
	uint8_t buf[64], want[64];
	uint32_t v32 = 0;
	uint64_t v64 = 0;
	struct iovec iov[2];
	size_t used = 0;
	void *host = NULL;
	squib_pin_t *pin = NULL;
	squib_region_info_t info = SQUIB_REGION_INFO_INIT;
	unsigned seen = 0;
	squib_status_t st;

	for (size_t i = 0; i < sizeof(want); i++)
		want[i] = test_pattern_byte(1, 0x100 + i);
	st = squib_mem_read(mem, SQUIB_GPA(0x100100), buf, sizeof(buf));
	A_CHECK(a, st == SQUIB_OK && memcmp(buf, want, sizeof(buf)) == 0, "read: %d", (int)st);
	memset(buf, 0x3c, sizeof(buf));
	st = squib_mem_write(mem, SQUIB_GPA(0x101000), buf, sizeof(buf));
	A_CHECK(a, st == SQUIB_OK, "write: %d", (int)st);
	memset(buf, 0, sizeof(buf));
	st = squib_mem_read(mem, SQUIB_GPA(0x101000), buf, sizeof(buf));
	A_CHECK(a, st == SQUIB_OK && buf[0] == 0x3c && buf[63] == 0x3c, "read back: %d", (int)st);
	st = squib_mem_write_u32_le(mem, SQUIB_GPA(0x101100), 0xfeedf00du);
	A_CHECK(a, st == SQUIB_OK, "write_u32_le: %d", (int)st);
	st = squib_mem_read_u32_le(mem, SQUIB_GPA(0x101100), &v32);
	A_CHECK(a, st == SQUIB_OK && v32 == 0xfeedf00du, "read_u32_le: %d 0x%x", (int)st, v32);
	st = squib_mem_store_u64_release(mem, SQUIB_GPA(0x101200), 0x0123456789abcdefull);
	A_CHECK(a, st == SQUIB_OK, "store_u64_release: %d", (int)st);
	st = squib_mem_load_u64_acquire(mem, SQUIB_GPA(0x101200), &v64);
	A_CHECK(a, st == SQUIB_OK && v64 == 0x0123456789abcdefull, "load_u64_acquire: %d", (int)st);
	st = squib_mem_translate(mem, SQUIB_GPA(0x100100), 64, SQUIB_PROT_RW, iov, 2, &used);
	A_CHECK(a,
		st == SQUIB_OK && used == 1 && iov[0].iov_len == 64 &&
		    memcmp(iov[0].iov_base, want, 64) == 0,
		"translate: %d", (int)st);
	st = squib_mem_host_range(mem, SQUIB_GPA(0x100100), 64, SQUIB_PROT_READ, &host);
	A_CHECK(a, st == SQUIB_OK && host && memcmp(host, want, 64) == 0, "host_range: %d",
		(int)st);
	st = squib_mem_find_region(mem, SQUIB_GPA(0x100800), &info);
	A_CHECK(a, st == SQUIB_OK && info.slot == 1, "find_region: %d", (int)st);
	info = (squib_region_info_t)SQUIB_REGION_INFO_INIT;
	st = squib_mem_get_region(mem, 3, &info);
	A_CHECK(a, st == SQUIB_OK && info.range.base.raw == 0x300000, "get_region: %d", (int)st);
	A_CHECK(a, squib_mem_foreach_region(mem, find_slot1, &seen) == 0 && seen == 1,
		"foreach_region saw slot 1 %u times", seen);
	st = squib_mem_pin(mem, SQUIB_GPA(0x102000), 0x100, SQUIB_PROT_WRITE, iov, 2, &used, &pin);
	A_CHECK(a, st == SQUIB_OK && used == 1 && pin, "pin: %d", (int)st);
	if (st == SQUIB_OK) {
		memset(iov[0].iov_base, 0x5d, iov[0].iov_len);
		squib_mem_unpin(pin);
	}
	st = squib_mem_mark_dirty(mem, SQUIB_GPA(0x300000), 0x10);
	A_CHECK(a, st == SQUIB_OK, "mark_dirty: %d", (int)st);
	/* Guest memory to a file and back. */
	st = squib_mem_write_to_fd(mem, SQUIB_GPA(0x100100), 64, a->fd, 0, &used);
	A_CHECK(a, st == SQUIB_OK && used == 64, "write_to_fd: %d", (int)st);
	st = squib_mem_read_from_fd(mem, SQUIB_GPA(0x103000), 64, a->fd, 0, &used);
	A_CHECK(a, st == SQUIB_OK && used == 64, "read_from_fd: %d", (int)st);
	st = squib_mem_read(mem, SQUIB_GPA(0x103000), buf, sizeof(buf));
	A_CHECK(a, st == SQUIB_OK && memcmp(buf, want, sizeof(buf)) == 0,
		"read after read_from_fd: %d", (int)st);
}

static void access_hook(struct probe *p, char kind, const squib_region_info_t *info)
{
	struct access_check *a = p->hook_ctx;

	(void)info;
	if (kind != a->when || a->runs++)
		return;
	run_accesses(a);
}

START_TEST(accesses_inside_callbacks_work)
{
	for (int t = 0; t < TRIGGERS; t++) {
		struct fixture f;
		struct access_check a;
		uint8_t byte = 0;
		uint64_t bitmap[1] = {0};

		fixture_up(&f);
		memset(&a, 0, sizeof(a));
		a.mem = f.mem;
		a.fd = test_temp_file(4096, 0);
		a.when = trigger_kind((enum trigger)t);
		f.probe.hook = access_hook;
		f.probe.hook_ctx = &a;
		CK_OK(squib_mem_get_dirty_log(f.mem, 1, bitmap, 1, SQUIB_DIRTY_CLEAR));
		CK_OK(squib_mem_get_dirty_log(f.mem, 3, bitmap, 1, SQUIB_DIRTY_CLEAR));
		CK_OK(run_trigger(&f, (enum trigger)t));
		ck_assert_msg(a.runs >= 1, "%s: the callback did not run", trigger_name[t]);
		ck_assert_msg(a.failure[0] == '\0', "inside %s: %s", trigger_name[t], a.failure);
		/* What they wrote is there, and was logged. */
		CK_OK(squib_mem_read_u8(f.mem, SQUIB_GPA(0x102000), &byte));
		ck_assert_uint_eq(byte, 0x5d);
		CK_OK(squib_mem_get_dirty_log(f.mem, 1, bitmap, 1, 0));
		/* pages 1 (writes), 2 (the pin) and 3 (read_from_fd) */
		ck_assert_uint_eq(bitmap[0], 0xe);
		CK_OK(squib_mem_get_dirty_log(f.mem, 3, bitmap, 1, 0));
		ck_assert_uint_eq(bitmap[0], 0x1); /* mark_dirty */
		ck_assert_int_eq(close(a.fd), 0);
		fixture_down(&f);
	}
}
END_TEST

/* Mutations of another handle from inside a callback: all work, and that
 * handle's own listener is called from inside this one's callback. */
struct elsewhere {
	squib_mem_t *other;
	struct probe *other_probe2;
	char when;
	unsigned runs;
	squib_status_t got[8];
};

static void elsewhere_hook(struct probe *p, char kind, const squib_region_info_t *info)
{
	struct elsewhere *e = p->hook_ctx;
	squib_listener_t l = probe_listener(e->other_probe2);
	uint64_t bitmap[1], id = 0;

	(void)info;
	if (kind != e->when || e->runs++)
		return;
	e->got[0] = squib_mem_add_region(e->other, test_range(0x50000, 0x1000), 5, SQUIB_PROT_RW);
	e->got[1] = squib_mem_set_protection(e->other, 5, SQUIB_PROT_READ);
	e->got[2] = squib_mem_set_dirty_log(e->other, 5, true);
	e->got[3] = squib_mem_get_dirty_log(e->other, 5, bitmap, 1, SQUIB_DIRTY_CLEAR);
	e->got[4] = squib_mem_listener_add(e->other, &l, &id);
	e->got[5] = squib_mem_listener_remove(e->other, id);
	e->got[6] = squib_mem_remove_region(e->other, 5);
	e->got[7] = add_opts(e->other, 0x60000, test_page(), 6, SQUIB_REGION_SHARED, "x", 6);
}

/* The other handle's listener, called from inside a callback of the
 * first: the first handle is still inside a callback, its mutations are
 * still BUSY (never a deadlock), its accesses still work. */
struct back {
	squib_mem_t *first;
	uint64_t plain_id;
	unsigned runs;
	squib_status_t got[MUTATIONS];
	squib_status_t read;
};

static void back_hook(struct probe *p, char kind, const squib_region_info_t *info)
{
	struct back *b = p->hook_ctx;
	uint8_t byte = 0;

	if (kind != 'a' || info->slot != 5 || b->runs++)
		return;
	run_mutations(b->first, b->plain_id, b->got);
	b->read = squib_mem_read(b->first, SQUIB_GPA(0x100000), &byte, 1);
}

START_TEST(mutations_of_another_handle_inside_callbacks_work)
{
	for (int t = 0; t < TRIGGERS; t++) {
		struct fixture f;
		struct elsewhere e;
		struct back b;
		struct journal *oj = journal_new();
		struct probe op, op2;

		fixture_up(&f);
		memset(&e, 0, sizeof(e));
		e.other = test_mem_new();
		probe_init(&op, oj, 8);
		probe_init(&op2, oj, 9);
		(void)probe_register(e.other, &op);
		memset(&b, 0, sizeof(b));
		b.first = f.mem;
		b.plain_id = f.plain_id;
		op.hook = back_hook;
		op.hook_ctx = &b;
		e.other_probe2 = &op2;
		e.when = trigger_kind((enum trigger)t);
		f.probe.hook = elsewhere_hook;
		f.probe.hook_ctx = &e;
		CK_OK(run_trigger(&f, (enum trigger)t));
		ck_assert_msg(e.runs >= 1, "%s: the callback did not run", trigger_name[t]);
		for (int m = 0; m < 8; m++)
			ck_assert_msg(e.got[m] == SQUIB_OK,
				      "call %d on another handle inside %s: %d (%s)", m,
				      trigger_name[t], (int)e.got[m], squib_strerror(e.got[m]));
		CK_JOURNAL(oj, "a8:5 p8:5:1<3 l8:5:11 s8:5 a9:5 d9:5 d8:5 a8:6");
		ck_assert_uint_eq(b.runs, 1);
		for (int m = 0; m < MUTATIONS; m++)
			ck_assert_msg(
			    b.got[m] == SQUIB_E_BUSY,
			    "%s of the first handle, from the other's callback inside %s: "
			    "%d (%s), want SQUIB_E_BUSY",
			    mutation_name[m], trigger_name[t], (int)b.got[m],
			    squib_strerror(b.got[m]));
		CK_OK(b.read);
		ck_assert_uint_eq(squib_mem_region_count(e.other), 1);
		squib_mem_free(e.other);
		free(oj);
		fixture_down(&f);
	}
}
END_TEST

/* ------------------------------------------------------------------ */
/* set_protection                                                      */

START_TEST(set_protection_calls_every_listener)
{
	squib_mem_t *mem = test_mem_new();
	struct journal *j = journal_new();
	struct probe p[3];
	squib_region_info_t info, before;
	uint8_t byte = 0;

	CK_OK(add_opts(mem, 0x50000, test_page(), 5, SQUIB_REGION_SHARED, "five", 5));
	for (unsigned i = 0; i < 3; i++) {
		probe_init(&p[i], j, i + 1);
		(void)probe_register(mem, &p[i]);
	}
	CK_JOURNAL(j, "a1:5 a2:5 a3:5");
	before = test_info_of(mem, 5);

	CK_OK(squib_mem_set_protection(mem, 5, SQUIB_PROT_READ));
	for (size_t i = 0; i < 3; i++) {
		squib_region_info_t want = before;

		want.prot = SQUIB_PROT_READ;
		ck_info_same(&j->ev[i].info, &want, "protect's info");
	}
	CK_JOURNAL(j, "p1:5:1<3 p2:5:1<3 p3:5:1<3");
	info = test_info_of(mem, 5);
	ck_assert_uint_eq(info.prot, SQUIB_PROT_READ);
	info = (squib_region_info_t)SQUIB_REGION_INFO_INIT;
	CK_OK(squib_mem_find_region(mem, SQUIB_GPA(0x50000), &info));
	ck_assert_uint_eq(info.prot, SQUIB_PROT_READ);
	/* The guest's view only: the library still writes the region. */
	CK_OK(squib_mem_write_u8(mem, SQUIB_GPA(0x50010), 0x77));
	CK_OK(squib_mem_read_u8(mem, SQUIB_GPA(0x50010), &byte));
	ck_assert_uint_eq(byte, 0x77);

	/* The same protection: success, nobody called. */
	CK_OK(squib_mem_set_protection(mem, 5, SQUIB_PROT_READ));
	CK_JOURNAL(j, "");

	CK_OK(squib_mem_set_protection(mem, 5, SQUIB_PROT_NONE));
	CK_JOURNAL(j, "p1:5:0<1 p2:5:0<1 p3:5:0<1");
	CK_OK(squib_mem_write_u8(mem, SQUIB_GPA(0x50011), 0x78));
	CK_OK(squib_mem_set_protection(mem, 5, SQUIB_PROT_RWX));
	CK_JOURNAL(j, "p1:5:7<0 p2:5:7<0 p3:5:7<0");
	info = test_info_of(mem, 5);
	ck_assert_uint_eq(info.prot, SQUIB_PROT_RWX);
	ck_assert_uint_eq(info.flags, SQUIB_REGION_SHARED);
	ck_assert_ptr_eq(info.host_addr, before.host_addr);
	ck_assert_uint_eq(squib_mem_region_count(mem), 1);

	/* Without listeners too. */
	{
		squib_mem_t *bare = test_mem_new();

		test_add(bare, 0x1000, 0x1000, 1);
		CK_OK(squib_mem_set_protection(bare, 1, SQUIB_PROT_RX));
		info = test_info_of(bare, 1);
		ck_assert_uint_eq(info.prot, SQUIB_PROT_RX);
		squib_mem_free(bare);
	}
	squib_mem_free(mem);
	free(j);
}
END_TEST

START_TEST(set_protection_veto_undoes_in_reverse)
{
	static const squib_status_t statuses[] = {SQUIB_E_IO, SQUIB_E_NO_MEMORY,
						  SQUIB_E_UNSUPPORTED};
	squib_mem_t *mem = test_mem_new();
	struct journal *j = journal_new();
	struct probe p[3];
	const unsigned n = 3;

	test_add(mem, 0x50000, 0x1000, 5);
	for (unsigned i = 0; i < n; i++) {
		probe_init(&p[i], j, i + 1);
		(void)probe_register(mem, &p[i]);
	}
	CK_JOURNAL(j, "a1:5 a2:5 a3:5");
	for (unsigned k = 1; k <= n; k++) {
		char want[TEXT_MAX] = "";
		squib_region_info_t info;

		probe_fail(&p[k - 1], 'p', 1, statuses[k - 1]);
		CK_STATUS(squib_mem_set_protection(mem, 5, SQUIB_PROT_RX), statuses[k - 1]);
		for (unsigned i = 1; i <= k; i++)
			append(want, sizeof(want), "%sp%u:5:5<3", i > 1 ? " " : "", i);
		for (unsigned i = k - 1; i >= 1; i--)
			append(want, sizeof(want), " p%u:5:3<5", i);
		CK_JOURNAL(j, want);
		info = test_info_of(mem, 5);
		ck_assert_uint_eq(info.prot, SQUIB_PROT_RW);
		probe_fail(&p[k - 1], 0, 0, 0);
	}
	/* Then accepted by all. */
	CK_OK(squib_mem_set_protection(mem, 5, SQUIB_PROT_RX));
	CK_JOURNAL(j, "p1:5:5<3 p2:5:5<3 p3:5:5<3");
	ck_assert_uint_eq(test_info_of(mem, 5).prot, SQUIB_PROT_RX);
	squib_mem_free(mem);
	free(j);
}
END_TEST

START_TEST(set_protection_errors)
{
	static const squib_prot_t bad[] = {8u, 0x10u, 0x80000000u, SQUIB_PROT_RWX | 8u};
	squib_mem_t *mem = test_mem_new();
	struct journal *j = journal_new();
	struct probe p;

	test_add(mem, 0x50000, 0x1000, 5);
	probe_init(&p, j, 1);
	(void)probe_register(mem, &p);
	CK_JOURNAL(j, "a1:5");

	CK_STATUS(squib_mem_set_protection(mem, 99, SQUIB_PROT_READ), SQUIB_E_NOT_FOUND);
	CK_LAST_ERROR_HAS_U64(99);
	CK_JOURNAL(j, "");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CK_STATUS(squib_mem_set_protection(mem, 5, bad[i]), SQUIB_E_INVALID_ARGUMENT);
		CK_JOURNAL(j, "");
		/* Arguments first: an unknown slot with bad bits too. */
		CK_STATUS(squib_mem_set_protection(mem, 99, bad[i]), SQUIB_E_INVALID_ARGUMENT);
		CK_JOURNAL(j, "");
		ck_assert_uint_eq(test_info_of(mem, 5).prot, SQUIB_PROT_RW);
	}
	CK_STATUS(squib_mem_set_protection(NULL, 5, SQUIB_PROT_READ), SQUIB_E_INVALID_ARGUMENT);
	squib_mem_free(mem);
	free(j);
}
END_TEST

/* ------------------------------------------------------------------ */
/* set_dirty_log                                                       */

START_TEST(set_dirty_log_calls_every_listener)
{
	squib_mem_t *mem = test_mem_new();
	struct journal *j = journal_new();
	struct probe p[2];
	squib_region_info_t before, info;

	CK_OK(add_opts(mem, 0x50000, test_page(), 5, SQUIB_REGION_SHARED, "five", 5));
	for (unsigned i = 0; i < 2; i++) {
		probe_init(&p[i], j, i + 1);
		(void)probe_register(mem, &p[i]);
	}
	CK_JOURNAL(j, "a1:5 a2:5");
	before = test_info_of(mem, 5);

	CK_OK(squib_mem_set_dirty_log(mem, 5, true));
	for (size_t i = 0; i < 2; i++) {
		squib_region_info_t want = before;

		want.flags = SQUIB_REGION_SHARED | SQUIB_REGION_DIRTY_LOG;
		ck_info_same(&j->ev[i].info, &want, "dirty_log's info (on)");
	}
	CK_JOURNAL(j, "l1:5:11 l2:5:11");
	info = test_info_of(mem, 5);
	ck_assert_uint_eq(info.flags, SQUIB_REGION_SHARED | SQUIB_REGION_DIRTY_LOG);
	CK_OK(squib_mem_set_dirty_log(mem, 5, true)); /* as it is: nobody called */
	CK_JOURNAL(j, "");

	CK_OK(squib_mem_set_dirty_log(mem, 5, false));
	for (size_t i = 0; i < 2; i++)
		ck_info_same(&j->ev[i].info, &before, "dirty_log's info (off)");
	CK_JOURNAL(j, "l1:5:00 l2:5:00");
	info = test_info_of(mem, 5);
	ck_assert_uint_eq(info.flags, SQUIB_REGION_SHARED);
	CK_OK(squib_mem_set_dirty_log(mem, 5, false));
	CK_JOURNAL(j, "");

	CK_STATUS(squib_mem_set_dirty_log(mem, 99, true), SQUIB_E_NOT_FOUND);
	CK_LAST_ERROR_HAS_U64(99);
	CK_JOURNAL(j, "");
	CK_STATUS(squib_mem_set_dirty_log(NULL, 5, true), SQUIB_E_INVALID_ARGUMENT);
	CK_JOURNAL(j, "");
	squib_mem_free(mem);
	free(j);
}
END_TEST

START_TEST(set_dirty_log_veto_undoes_in_reverse)
{
	static const squib_status_t statuses[] = {SQUIB_E_IO, SQUIB_E_NO_MEMORY,
						  SQUIB_E_UNSUPPORTED};
	squib_mem_t *mem = test_mem_new();
	struct journal *j = journal_new();
	struct probe p[3];
	const unsigned n = 3;
	uint64_t bitmap[1];

	test_add(mem, 0x50000, 0x4000, 5);
	for (unsigned i = 0; i < n; i++) {
		probe_init(&p[i], j, i + 1);
		(void)probe_register(mem, &p[i]);
	}
	CK_JOURNAL(j, "a1:5 a2:5 a3:5");

	/* Switching on, refused at each position. */
	for (unsigned k = 1; k <= n; k++) {
		char want[TEXT_MAX] = "";

		probe_fail(&p[k - 1], 'l', 1, statuses[k - 1]);
		CK_STATUS(squib_mem_set_dirty_log(mem, 5, true), statuses[k - 1]);
		for (unsigned i = 1; i <= k; i++)
			append(want, sizeof(want), "%sl%u:5:11", i > 1 ? " " : "", i);
		for (unsigned i = k - 1; i >= 1; i--)
			append(want, sizeof(want), " l%u:5:00", i);
		CK_JOURNAL(j, want);
		ck_assert_uint_eq(test_info_of(mem, 5).flags, 0);
		CK_STATUS(squib_mem_get_dirty_log(mem, 5, bitmap, 1, 0), SQUIB_E_UNSUPPORTED);
		CK_JOURNAL(j, "");
		probe_fail(&p[k - 1], 0, 0, 0);
	}

	/* Switching off, refused at each position: still logging, bits kept. */
	CK_OK(squib_mem_set_dirty_log(mem, 5, true));
	CK_JOURNAL(j, "l1:5:11 l2:5:11 l3:5:11");
	CK_OK(squib_mem_write_u8(mem, SQUIB_GPA(0x52000), 1));
	for (unsigned k = 1; k <= n; k++) {
		char want[TEXT_MAX] = "";

		probe_fail(&p[k - 1], 'l', 1, statuses[k - 1]);
		CK_STATUS(squib_mem_set_dirty_log(mem, 5, false), statuses[k - 1]);
		for (unsigned i = 1; i <= k; i++)
			append(want, sizeof(want), "%sl%u:5:00", i > 1 ? " " : "", i);
		for (unsigned i = k - 1; i >= 1; i--)
			append(want, sizeof(want), " l%u:5:11", i);
		CK_JOURNAL(j, want);
		ck_assert_uint_eq(test_info_of(mem, 5).flags, SQUIB_REGION_DIRTY_LOG);
		bitmap[0] = 0;
		CK_OK(squib_mem_get_dirty_log(mem, 5, bitmap, 1, 0));
		ck_assert_uint_eq(bitmap[0], 0x4);
		CK_JOURNAL_ANY_ORDER(j, "s1:5 s2:5 s3:5");
		probe_fail(&p[k - 1], 0, 0, 0);
	}
	squib_mem_free(mem);
	free(j);
}
END_TEST

/* ------------------------------------------------------------------ */
/* threads                                                             */

struct reader {
	squib_mem_t *mem;
	atomic_bool stop;
	atomic_ulong done;
	atomic_ulong errors;
};

static void *reader_main(void *arg)
{
	struct reader *r = arg;
	uint64_t value = 0;

	while (!atomic_load(&r->stop)) {
		struct iovec iov;
		size_t used = 0;

		if (squib_mem_read_u64_le(r->mem, SQUIB_GPA(0x100000), &value) != SQUIB_OK ||
		    squib_mem_write_u64_le(r->mem, SQUIB_GPA(0x100008), value + 1) != SQUIB_OK ||
		    squib_mem_translate(r->mem, SQUIB_GPA(0x100010), 8, SQUIB_PROT_READ, &iov, 1,
					&used) != SQUIB_OK)
			atomic_fetch_add(&r->errors, 1);
		atomic_fetch_add(&r->done, 1);
	}
	return NULL;
}

struct sleeper {
	struct reader *reader;
	unsigned long during[128]; /* accesses done while each kind slept */
	unsigned slept[128];
};

static void sleeper_hook(struct probe *p, char kind, const squib_region_info_t *info)
{
	struct sleeper *s = p->hook_ctx;
	unsigned long before;

	if (info->slot != 10 || s->slept[(unsigned char)kind & 127]++)
		return;
	before = atomic_load(&s->reader->done);
	sleep_ms(100);
	s->during[(unsigned char)kind & 127] = atomic_load(&s->reader->done) - before;
}

START_TEST(callbacks_never_block_accesses)
{
	static const char kinds[] = "apsld";
	squib_mem_t *mem = test_mem_new();
	struct journal *j = journal_new();
	struct probe p;
	struct reader r;
	struct sleeper s;
	pthread_t thread;
	uint64_t bitmap[1];

	test_add(mem, 0x100000, 0x1000, 1);
	CK_OK(squib_mem_set_dirty_log(mem, 1, true));
	memset(&s, 0, sizeof(s));
	memset(&r, 0, sizeof(r));
	r.mem = mem;
	s.reader = &r;
	probe_init(&p, j, 1);
	p.hook = sleeper_hook;
	p.hook_ctx = &s;
	(void)probe_register(mem, &p);
	ck_assert_int_eq(pthread_create(&thread, NULL, reader_main, &r), 0);
	while (atomic_load(&r.done) == 0)
		sched_yield();

	test_add(mem, 0x200000, 0x1000, 10);
	CK_OK(squib_mem_set_protection(mem, 10, SQUIB_PROT_READ));
	CK_OK(squib_mem_set_dirty_log(mem, 10, true));
	CK_OK(squib_mem_get_dirty_log(mem, 10, bitmap, 1, SQUIB_DIRTY_CLEAR));
	CK_OK(squib_mem_set_dirty_log(mem, 10, false));
	CK_OK(squib_mem_remove_region(mem, 10));

	atomic_store(&r.stop, true);
	ck_assert_int_eq(pthread_join(thread, NULL), 0);
	CK_JOURNAL(j, "a1:1 a1:10 p1:10:1<3 l1:10:11 s1:10 l1:10:00 d1:10");
	ck_assert_uint_eq(atomic_load(&r.errors), 0);
	for (const char *k = kinds; *k; k++) {
		ck_assert_msg(s.slept[(unsigned char)*k] >= 1, "callback %c did not sleep", *k);
		ck_assert_msg(s.during[(unsigned char)*k] > 0,
			      "no access completed while callback %c slept 100 ms", *k);
	}
	squib_mem_free(mem);
	free(j);
}
END_TEST

/* Callbacks that check they never overlap. */
struct serial {
	atomic_int inside;
	atomic_ulong overlaps;
	atomic_ulong calls;
};

static void serial_enter_leave(struct serial *s)
{
	if (atomic_fetch_add(&s->inside, 1) != 0)
		atomic_fetch_add(&s->overlaps, 1);
	atomic_fetch_add(&s->calls, 1);
	for (int i = 0; i < 3; i++)
		sched_yield();
	if (atomic_fetch_sub(&s->inside, 1) != 1)
		atomic_fetch_add(&s->overlaps, 1);
}

static squib_status_t serial_add(void *ctx, const squib_region_info_t *info)
{
	(void)info;
	serial_enter_leave(ctx);
	return SQUIB_OK;
}

static void serial_del(void *ctx, const squib_region_info_t *info)
{
	(void)info;
	serial_enter_leave(ctx);
}

static squib_status_t serial_protect(void *ctx, const squib_region_info_t *info,
				     squib_prot_t old_prot)
{
	(void)info;
	(void)old_prot;
	serial_enter_leave(ctx);
	return SQUIB_OK;
}

static squib_status_t serial_dirty_log(void *ctx, const squib_region_info_t *info, bool enable)
{
	(void)info;
	(void)enable;
	serial_enter_leave(ctx);
	return SQUIB_OK;
}

static squib_status_t serial_log_sync(void *ctx, const squib_region_info_t *info, uint64_t *bitmap,
				      size_t words)
{
	(void)info;
	(void)bitmap;
	(void)words;
	serial_enter_leave(ctx);
	return SQUIB_OK;
}

static squib_listener_t serial_listener(struct serial *s)
{
	squib_listener_t l = SQUIB_LISTENER_INIT;

	l.ctx = s;
	l.region_add = serial_add;
	l.region_del = serial_del;
	l.protect = serial_protect;
	l.dirty_log = serial_dirty_log;
	l.log_sync = serial_log_sync;
	return l;
}

struct mutator {
	squib_mem_t *mem;
	struct serial *serial;
	unsigned id, rounds;
	atomic_ulong *failures;
};

static void *hotplug_main(void *arg)
{
	struct mutator *m = arg;
	uint64_t base = 0x10000000ull + (uint64_t)m->id * 0x1000000ull;

	for (unsigned r = 0; r < m->rounds; r++) {
		uint32_t slot = 100 + m->id;

		if (squib_mem_add_region(m->mem, test_range(base, 0x2000), slot, SQUIB_PROT_RW) !=
			SQUIB_OK ||
		    squib_mem_remove_region(m->mem, slot) != SQUIB_OK)
			atomic_fetch_add(m->failures, 1);
	}
	return NULL;
}

static void *toggler_main(void *arg)
{
	struct mutator *m = arg;
	uint64_t bitmap[1];

	for (unsigned r = 0; r < m->rounds; r++) {
		if (squib_mem_set_dirty_log(m->mem, 1, true) != SQUIB_OK ||
		    squib_mem_get_dirty_log(m->mem, 1, bitmap, 1, SQUIB_DIRTY_CLEAR) != SQUIB_OK ||
		    squib_mem_set_protection(m->mem, 1, r % 2 ? SQUIB_PROT_RW : SQUIB_PROT_READ) !=
			SQUIB_OK ||
		    squib_mem_set_dirty_log(m->mem, 1, false) != SQUIB_OK)
			atomic_fetch_add(m->failures, 1);
	}
	return NULL;
}

static void *relistener_main(void *arg)
{
	struct mutator *m = arg;
	squib_listener_t l = serial_listener(m->serial);

	for (unsigned r = 0; r < m->rounds / 4 + 1; r++) {
		uint64_t id;

		if (squib_mem_listener_add(m->mem, &l, &id) != SQUIB_OK ||
		    squib_mem_listener_remove(m->mem, id) != SQUIB_OK)
			atomic_fetch_add(m->failures, 1);
	}
	return NULL;
}

START_TEST(callbacks_are_serialised)
{
	squib_mem_t *mem = test_mem_new();
	struct serial s;
	squib_listener_t l;
	atomic_ulong failures = 0;
	unsigned rounds = slow_host() ? 40u : 300u;
	struct mutator m[4];
	pthread_t threads[4];
	void *(*mains[4])(void *) = {hotplug_main, hotplug_main, toggler_main, relistener_main};
	uint64_t id;

	memset(&s, 0, sizeof(s));
	test_add(mem, 0x100000, 0x1000, 1);
	test_add(mem, 0x200000, 0x1000, 2);
	l = serial_listener(&s);
	CK_OK(squib_mem_listener_add(mem, &l, &id));
	for (unsigned i = 0; i < 4; i++) {
		m[i] = (struct mutator){mem, &s, i, rounds, &failures};
		ck_assert_int_eq(pthread_create(&threads[i], NULL, mains[i], &m[i]), 0);
	}
	for (unsigned i = 0; i < 4; i++)
		ck_assert_int_eq(pthread_join(threads[i], NULL), 0);
	CK_OK(squib_mem_listener_remove(mem, id));
	ck_assert_uint_eq(atomic_load(&failures), 0);
	ck_assert_uint_eq(atomic_load(&s.overlaps), 0);
	ck_assert_int_eq(atomic_load(&s.inside), 0);
	/* Every call of every thread reached the first listener at least. */
	ck_assert_uint_ge(atomic_load(&s.calls), 2 + 2 * 2 * rounds + 4 * rounds);
	ck_assert_uint_eq(squib_mem_region_count(mem), 2);
	squib_mem_free(mem);
}
END_TEST

START_TEST(free_with_a_listener_registered)
{
	squib_mem_t *mem = test_mem_new();
	struct journal *j = journal_new();
	struct probe p[2];
	uint64_t bitmap[1];

	test_add(mem, 0x10000, 0x1000, 1);
	CK_OK(add_opts(mem, 0x20000, test_page(), 2, SQUIB_REGION_SHARED | SQUIB_REGION_DIRTY_LOG,
		       "two", 2));
	for (unsigned i = 0; i < 2; i++) {
		probe_init(&p[i], j, i + 1);
		(void)probe_register(mem, &p[i]);
	}
	CK_JOURNAL(j, "a1:1 a1:2 a2:1 a2:2");
	CK_OK(squib_mem_get_dirty_log(mem, 2, bitmap, 1, 0));
	CK_JOURNAL_ANY_ORDER(j, "s1:2 s2:2");
	squib_mem_free(mem);
	CK_JOURNAL(j, "");
	free(j);
}
END_TEST

static Suite *listener_suite(void)
{
	Suite *suite = suite_create("listener");
	TCase *order = tcase_create("order");
	TCase *veto = tcase_create("veto");
	TCase *api = tcase_create("api");
	TCase *reentry = tcase_create("reentry");
	TCase *protect = tcase_create("protect");
	TCase *dirty = tcase_create("dirty_log");
	TCase *threads = tcase_create("threads");

	tcase_add_test(order, replay_ascending_remove_descending);
	tcase_add_test(order, registration_order_and_reverse);
	tcase_add_test(order, region_add_sees_a_ready_invisible_region);
	tcase_add_test(order, region_del_sees_an_invisible_mapped_region);

	tcase_add_test(veto, veto_of_replay_at_every_position);
	tcase_add_test(veto, veto_of_region_add_at_every_position);
	tcase_add_test(veto, veto_leaves_a_caller_mapping_as_it_was);
	tcase_add_test(veto, positive_refusal_is_busy);
	tcase_add_test(veto, veto_message_names_listener_callback_status);

	tcase_add_test(api, listener_struct_is_copied);
	tcase_add_test(api, ids_never_reused);
	tcase_add_test(api, unknown_id_not_found);
	tcase_add_test(api, listener_size_rules);
	tcase_add_test(api, listener_size_far_larger_zeros);
	tcase_add_test(api, null_arguments);

	tcase_add_test(reentry, mutations_inside_callbacks_are_busy);
	tcase_add_test(reentry, accesses_inside_callbacks_work);
	tcase_add_test(reentry, mutations_of_another_handle_inside_callbacks_work);
	tcase_set_timeout(reentry, 60);

	tcase_add_test(protect, set_protection_calls_every_listener);
	tcase_add_test(protect, set_protection_veto_undoes_in_reverse);
	tcase_add_test(protect, set_protection_errors);

	tcase_add_test(dirty, set_dirty_log_calls_every_listener);
	tcase_add_test(dirty, set_dirty_log_veto_undoes_in_reverse);

	tcase_add_test(threads, callbacks_never_block_accesses);
	tcase_add_test(threads, callbacks_are_serialised);
	tcase_add_test(threads, free_with_a_listener_registered);
	tcase_set_timeout(threads, 120);

	suite_add_tcase(suite, order);
	suite_add_tcase(suite, veto);
	suite_add_tcase(suite, api);
	suite_add_tcase(suite, reentry);
	suite_add_tcase(suite, protect);
	suite_add_tcase(suite, dirty);
	suite_add_tcase(suite, threads);
	return suite;
}

TEST_MAIN(listener_suite)
