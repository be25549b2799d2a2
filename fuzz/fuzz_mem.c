/* SPDX-License-Identifier: MIT */
/*
 * Differential fuzzer of the guest-memory API: every input decodes (ops.h)
 * into a sequence of region changes and accesses that run against
 * libsquibcore and against the reference model of model.c. Any difference
 * in status, in bytes returned, in memory contents, in region information
 * or in the region count aborts with a printed diff.
 *
 * Regions come from every backing of squib_mem_add_region_opts() (anonymous,
 * a library memfd, a memfd or a temporary file of the harness, private
 * file mappings, the harness's own mappings), read-only or not; discard
 * gives pages back. Host ranges, translations and pins are compared
 * iovec by iovec with the regions' host addresses; pins outlive removals
 * and squib_mem_free, and are all unpinned by the end of the input. The
 * ring atomics are checked as typed accesses with alignment. Listeners of
 * the harness record every callback and refuse at a decoded call or by
 * chance; the calls of each mutating operation are checked against the
 * order, rollback and states the contract prescribes (model.c), each
 * listener's view of the map against the model's regions, and a refused
 * operation against a handle left as it was. Regions that log keep a
 * dirty bitmap in the model, marked by every library write, compared word
 * for word with squib_mem_get_dirty_log. The harness
 * closes every descriptor it opens before
 * the operation ends and unmaps its mappings at the end of the input, and
 * checks at the end of each input that used a descriptor that the process
 * holds exactly as many as before: libFuzzer runs millions of inputs in
 * one process.
 *
 * Built two ways: with clang -fsanitize=fuzzer,address,undefined as the
 * libFuzzer target fuzz_mem, and with any compiler into fuzz_replay
 * (replay.c), which runs the committed corpus as a ctest test.
 */
/* memfd_create, mkstemp, pread, MAP_ANONYMOUS are not in ISO C. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <squib/core.h>

#include "fuzz_mem.h"
#include "model.h"
#include "ops.h"

/* Regions stay small so that an input runs in well under a millisecond;
 * up to 72 pages, so that a dirty bitmap may take two words. */
#define MAX_REGION_SIZE ((uint64_t)288 * 1024)
#define MAX_TOTAL_BYTES ((uint64_t)768 * 1024)
/* foreach callbacks may run a nested operation, which may be a foreach. */
#define MAX_DEPTH 2
/* Removed regions remembered, to re-add at the same place or slot. */
#define REMEMBERED 8
#define SCRATCH_SIZE (MAX_REGION_SIZE + 64)
#define CANARY 0xa5
#define INFO_CANARY 0x5a
/* The harness's own mappings (host_addr) alive at once in one input. */
#define MAX_CALLER_MAPS 8
/* Pins alive at once in one input (squib_mem_pin). */
#define MAX_PINS 8
/* The iovec array of TRANSLATE and PIN: the largest iov_cap is 72, and
 * the entries past the answer must stay untouched. */
#define IOV_ARRAY 80
#define USED_CANARY ((size_t)0xa5a5a5a5u)
/* Listener ids removed, for LISTENER_REMOVE to name again. */
#define REMEMBERED_IDS 8
/* Callbacks one operation may make: a listener add or remove calls one
 * per region, an add or a removal one per listener, twice on a refusal. */
#define MAX_CALLS 512
#define ID_CANARY UINT64_C(0xa5a5a5a5a5a5a5a5)
#define WORD_CANARY UINT64_C(0x5a5a5a5a5a5a5a5a)
/* The bitmap array of GET_DIRTY_LOG: the most words asked for is
 * needed + 4, and the words past the answer must stay untouched. */
#define DIRTY_ARRAY (MODEL_DIRTY_WORDS_MAX + 8)
#define LISTENER_MAGIC 0x4c697374u

struct reader {
	const uint8_t *data;
	size_t left;
	bool out; /* a field was missing: the sequence ends */
};

/* The region an operation aims at: a copy, since nested operations may
 * change the model while it is in use. */
struct target {
	uint64_t base;
	uint64_t size;
};

/* A mapping of the harness given to the library as host_addr: unmapped
 * at the end of the input, when the handle is gone. */
struct caller_map {
	void *addr;
	size_t len;
};

/* One iovec of a live pin: region id's bytes [offset, offset + len),
 * at host. */
struct pin_piece {
	uint64_t id, offset, len;
	uint8_t *host;
};

/* A pin the harness holds: unpinned by UNPIN, or at the end of the input
 * (before squib_mem_free, or after it when keep is set). */
struct live_pin {
	squib_pin_t *pin;
	uint32_t access;
	bool keep;
	uint64_t addr, len;
	size_t count;
	struct pin_piece pieces[MODEL_MAX_REGIONS];
};

/* The last bytes of a region removed (or of every region at
 * squib_mem_free) while a pin holds it: what its iovecs still show. One
 * per region, shared by all the pins on it, as the memory is. */
struct ghost {
	uint64_t id, size;
	uint8_t *bytes;
};

struct fuzz;

/*
 * A listener of the harness (its ctx): it records every call into the log
 * of the operation running (struct fuzz's calls), refuses as decoded, and
 * keeps its view of the map as the callbacks told it. Allocated on its own
 * and freed once squib_mem_listener_remove returns, so that a callback run
 * after that is an ASan use-after-free.
 */
struct fuzz_listener {
	uint32_t magic;
	struct fuzz *f;
	uint64_t tag; /* the model's name for it; id once registered */
	uint64_t id;
	unsigned callbacks; /* MODEL_CB_ bits of the callbacks set */
	unsigned refusable; /* MODEL_CB_ bits of those that may refuse */
	bool by_chance;
	uint8_t when, sync, probe;
	int answer;
	uint64_t prng;
	unsigned calls, eligible;
	struct model_view views[MODEL_MAX_REGIONS];
	size_t view_count;
};

struct fuzz {
	squib_mem_t *mem;
	struct model model;
	struct reader in;
	struct target removed[REMEMBERED];
	uint32_t removed_slot[REMEMBERED];
	size_t removed_count, removed_next;
	unsigned op_number, depth;
	char op_text[240];
	struct caller_map callers[MAX_CALLER_MAPS];
	size_t caller_count;
	uint64_t next_id; /* the last model_region.id given */
	struct live_pin pins[MAX_PINS];
	size_t pin_count;
	struct ghost *ghosts;
	size_t ghost_count, ghost_cap;
	/* Listeners in registration order (as the model's). */
	struct fuzz_listener *listeners[MODEL_MAX_LISTENERS];
	size_t listener_count;
	uint64_t next_tag;
	uint64_t removed_ids[REMEMBERED_IDS];
	size_t removed_id_count, removed_id_next;
	uint64_t ids[256]; /* every id given in this input: never twice */
	size_t id_count;
	/* The callbacks of the operations running, nested ones appended. */
	struct model_call calls[MAX_CALLS];
	size_t call_count;
	/* A listener refused in the mutating call running: none refuses
	 * again until it returns (the undo calls are accepted). */
	bool vetoed;
	unsigned cb_depth;
	/* The region the mutating call running adds (its initial bytes,
	 * NULL for zeros) or removes: not visible to accesses while the
	 * callbacks run. */
	bool hiding;
	uint32_t hidden_slot;
	bool adding;
	const uint8_t *adding_bytes;
	/* The log_sync calls of one get_dirty_log: what they reported. */
	uint64_t sync_union[MODEL_DIRTY_WORDS_MAX];
};

/* Scratch buffers for the library and the model side; static so that an
 * out-of-bounds write by the library is an ASan global-buffer-overflow. */
static uint8_t lib_buf[SCRATCH_SIZE];
static const uint8_t zero_buf[SCRATCH_SIZE];
static bool trace;
/* Host facts the model is told: the page size, the default huge page size
 * (0 if none). Read once. */
static uint64_t host_page, huge_page;
/* What the files the harness makes hold, and what is read back from them:
 * a region and up to FILE_OFFSET pages before it. */
static uint8_t *file_buf, *file_read_buf;
static size_t file_buf_size;

/* ---- reporting ---------------------------------------------------------- */

static const char *status_name(int status)
{
	switch (status) {
	case SQUIB_OK:
		return "OK";
	case SQUIB_E_INVALID_ARGUMENT:
		return "INVALID_ARGUMENT";
	case SQUIB_E_OUT_OF_RANGE:
		return "OUT_OF_RANGE";
	case SQUIB_E_NO_MEMORY:
		return "NO_MEMORY";
	case SQUIB_E_OVERLAP:
		return "OVERLAP";
	case SQUIB_E_SLOT_IN_USE:
		return "SLOT_IN_USE";
	case SQUIB_E_NOT_FOUND:
		return "NOT_FOUND";
	case SQUIB_E_UNSUPPORTED:
		return "UNSUPPORTED";
	case SQUIB_E_IO:
		return "IO";
	case SQUIB_E_BUSY:
		return "BUSY";
	case SQUIB_E_READ_ONLY:
		return "READ_ONLY";
	case SQUIB_E_NO_SPACE:
		return "NO_SPACE";
	case SQUIB_E_CORRUPT:
		return "CORRUPT";
	default:
		return "(not a status)";
	}
}

static void dump_model(const struct model *model)
{
	const struct model_region *sorted[MODEL_MAX_REGIONS];
	size_t count = model_sorted(model, sorted);

	fprintf(stderr, "  model: %zu region(s), ascending base:\n", count);
	for (size_t i = 0; i < count; i++) {
		fprintf(stderr,
			"    slot %" PRIu32 " [0x%016" PRIx64 ", 0x%016" PRIx64 "] size %" PRIu64
			" prot %" PRIu32 " flags 0x%" PRIx32 " backing %d",
			sorted[i]->slot, sorted[i]->base, sorted[i]->base + sorted[i]->size,
			sorted[i]->size, sorted[i]->prot, sorted[i]->flags,
			(int)sorted[i]->backing);
		if (sorted[i]->dirty) {
			fprintf(stderr, " dirty");
			for (size_t w = 0; w < model_dirty_words(sorted[i]->base, sorted[i]->size);
			     w++)
				fprintf(stderr, " %016" PRIx64, sorted[i]->dirty[w]);
		}
		fputc('\n', stderr);
	}
	fprintf(stderr, "  model: %zu listener(s), registration order:\n", model->listener_count);
	for (size_t i = 0; i < model->listener_count; i++)
		fprintf(stderr, "    listener %" PRIu64 " id %" PRIu64 " callbacks 0x%x\n",
			model->listeners[i].tag, model->listeners[i].id,
			model->listeners[i].callbacks);
}

__attribute__((noreturn, format(printf, 2, 3))) static void mismatch(const struct fuzz *f,
								     const char *fmt, ...)
{
	va_list args;

	fprintf(stderr, "fuzz_mem: MISMATCH in operation #%u: %s\n  ", f->op_number, f->op_text);
	va_start(args, fmt);
	vfprintf(stderr, fmt, args);
	va_end(args);
	fputc('\n', stderr);
	dump_model(&f->model);
	abort();
}

__attribute__((format(printf, 2, 3))) static void describe(struct fuzz *f, const char *fmt, ...)
{
	va_list args;

	f->op_number++;
	va_start(args, fmt);
	vsnprintf(f->op_text, sizeof(f->op_text), fmt, args);
	va_end(args);
	if (trace)
		fprintf(stderr, "%*s#%u %s", (int)f->depth * 4, "", f->op_number, f->op_text);
}

static void check_status(const struct fuzz *f, int got, int want)
{
	const char *message;

	if (trace)
		fprintf(stderr, " -> %s\n", status_name(got));
	if (got != want)
		mismatch(f, "library returned %s (%d), the model expects %s (%d)%s%s%s",
			 status_name(got), got, status_name(want), want,
			 got == SQUIB_OK ? "" : "; its message: \"",
			 got == SQUIB_OK ? "" : squib_last_error(), got == SQUIB_OK ? "" : "\"");
	if (got == SQUIB_OK)
		return;
	/* "every failure returns a squib_status_t and sets squib_last_error()" */
	message = squib_last_error();
	if (!message || !*message)
		mismatch(f, "failure %s left squib_last_error() empty", status_name(got));
}

/* "An out-of-range message always contains the address in 0x%016x form." */
static void check_range_message(const struct fuzz *f, int status, uint64_t addr)
{
	char text[32];

	if (status != SQUIB_E_OUT_OF_RANGE)
		return;
	snprintf(text, sizeof(text), "0x%016" PRIx64, addr);
	if (!strstr(squib_last_error(), text))
		mismatch(f, "the OUT_OF_RANGE message \"%s\" lacks the address %s",
			 squib_last_error(), text);
}

static void check_count(const struct fuzz *f)
{
	size_t got = squib_mem_region_count(f->mem);

	if (got != f->model.count)
		mismatch(f, "squib_mem_region_count() is %zu, the model has %zu", got,
			 f->model.count);
}

/* All CANARY: what lib_buf is compared with, by memcmp rather than a byte
 * loop, which coverage instrumentation would make the fuzzer's hot spot. */
static uint8_t canary_buf[SCRATCH_SIZE];

/* First index in [from, to) where buf differs from CANARY, or to. */
static size_t canary_end(const uint8_t *buf, size_t from, size_t to)
{
	if (from < to && memcmp(buf + from, canary_buf, to - from) == 0)
		return to;
	while (from < to && buf[from] == CANARY)
		from++;
	return from;
}

static void compare_bytes(const struct fuzz *f, const char *what, const uint8_t *got,
			  const uint8_t *want, size_t len, uint64_t guest_addr)
{
	if (memcmp(got, want, len) == 0)
		return;
	for (size_t i = 0; i < len; i++)
		if (got[i] != want[i])
			mismatch(f,
				 "%s: byte at guest 0x%016" PRIx64 " (offset %zu) is 0x%02x, "
				 "the model has 0x%02x",
				 what, guest_addr + i, i, got[i], want[i]);
}

/* One region's bytes, read through the library, against the model. */
static void verify_region(const struct fuzz *f, const struct model_region *region)
{
	int status = squib_mem_read(f->mem, SQUIB_GPA(region->base), lib_buf, (size_t)region->size);

	if (status != SQUIB_OK)
		mismatch(f,
			 "reading all of slot %" PRIu32 " [0x%016" PRIx64 " + %" PRIu64
			 "] returned %s",
			 region->slot, region->base, region->size, status_name(status));
	compare_bytes(f, "region contents", lib_buf, region->bytes, (size_t)region->size,
		      region->base);
}

/*
 * A region's file, read through info.fd at info.fd_offset: a memfd, a
 * shared file mapping and a caller's mapping of the file (which the harness
 * maps at fd_offset) hold the region's bytes; a private mapping's file
 * holds what it held at the add, whatever was written or discarded.
 */
static void verify_file(const struct fuzz *f, const struct model_region *region)
{
	squib_region_info_t info = SQUIB_REGION_INFO_INIT;
	const uint8_t *want = region->file_bytes ? region->file_bytes : region->bytes;
	ssize_t got;
	int status;

	if (!region->has_fd)
		return;
	status = squib_mem_get_region(f->mem, region->slot, &info);
	if (status != SQUIB_OK || info.fd < 0)
		mismatch(f, "slot %" PRIu32 " has a file, yet get_region gave %s, fd %d",
			 region->slot, status_name(status), info.fd);
	/* A caller's mapping may come with an fd open for writing only: it is
	 * dup'd, not mapped, and there is nothing to read back through it. */
	if ((fcntl(info.fd, F_GETFL) & O_ACCMODE) == O_WRONLY && region->backing == MODEL_CALLER)
		return;
	got = pread(info.fd, file_read_buf, (size_t)region->size, (off_t)info.fd_offset);
	if (got != (ssize_t)region->size)
		mismatch(f,
			 "reading %" PRIu64 " bytes of the file of slot %" PRIu32
			 " (fd %d) at %" PRIu64 " gave %zd",
			 region->size, region->slot, info.fd, info.fd_offset, got);
	compare_bytes(f, "the region's file", file_read_buf, want, (size_t)region->size,
		      region->base);
}

/* Every region against the model: at VERIFY and at the end of each input. */
static void verify_all(const struct fuzz *f)
{
	for (size_t i = 0; i < f->model.count; i++) {
		verify_region(f, &f->model.regions[i]);
		verify_file(f, &f->model.regions[i]);
	}
	check_count(f);
}

/*
 * After a write of len bytes at addr, successful or not: the regions within
 * MAX_REGION_SIZE of it, where a wrong offset or a partial copy would land.
 * Damage further away still shows at the end of the input.
 */
static void verify_near(const struct fuzz *f, uint64_t addr, uint64_t len)
{
	uint64_t lo = addr > MAX_REGION_SIZE ? addr - MAX_REGION_SIZE : 0;
	uint64_t span = (len < SCRATCH_SIZE ? len : SCRATCH_SIZE) + 2 * MAX_REGION_SIZE;
	uint64_t hi = UINT64_MAX - lo > span ? lo + span : UINT64_MAX;

	for (size_t i = 0; i < f->model.count; i++) {
		const struct model_region *region = &f->model.regions[i];

		if (region->base <= hi && region->base + region->size >= lo)
			verify_region(f, region);
	}
}

/* ---- decoding ----------------------------------------------------------- */

static uint8_t take_u8(struct reader *in)
{
	if (in->left == 0) {
		in->out = true;
		return 0;
	}
	in->left--;
	return *in->data++;
}

static uint16_t take_u16(struct reader *in)
{
	uint16_t low = take_u8(in);

	return (uint16_t)(low | (uint16_t)(take_u8(in) << 8));
}

static uint32_t take_u32(struct reader *in)
{
	uint32_t low = take_u16(in);

	return low | (uint32_t)take_u16(in) << 16;
}

static uint64_t take_u64(struct reader *in)
{
	uint64_t low = take_u32(in);

	return low | (uint64_t)take_u32(in) << 32;
}

/* d - 128 as a 64-bit two's complement offset: -128 .. 127. */
static uint64_t take_delta(struct reader *in)
{
	return (uint64_t)take_u8(in) - 128u;
}

static struct target take_target(struct fuzz *f)
{
	uint8_t index = take_u8(&f->in);
	const struct model_region *region;

	if (f->model.count == 0)
		return (struct target){.base = 0x1000, .size = 0x10};
	region = &f->model.regions[index % f->model.count];
	return (struct target){.base = region->base, .size = region->size};
}

static uint32_t take_slot(struct fuzz *f)
{
	uint8_t value;

	switch (take_u8(&f->in) % SLOT_MODES) {
	case SLOT_OF_TARGET:
		value = take_u8(&f->in);
		return f->model.count ? f->model.regions[value % f->model.count].slot : value;
	case SLOT_SMALL:
		return take_u8(&f->in) % 8u;
	case SLOT_REMOVED:
		value = take_u8(&f->in);
		return f->removed_count ? f->removed_slot[value % f->removed_count] : value % 8u;
	case SLOT_RAW:
		return take_u32(&f->in);
	default:
		return UINT32_MAX - take_u8(&f->in) % 2u;
	}
}

static uint64_t take_size(struct fuzz *f)
{
	uint8_t value;

	switch (take_u8(&f->in) % SIZE_MODES) {
	case SIZE_ZERO:
		return 0;
	case SIZE_TINY:
		return 1u + take_u8(&f->in) % 16u;
	case SIZE_SMALL:
		return 1u + (uint64_t)take_u16(&f->in);
	case SIZE_PAGES:
		return 4096u * (1u + take_u8(&f->in) % 16u);
	case SIZE_HUGE:
		value = take_u8(&f->in);
		if (value < 16)
			return UINT64_MAX - value;
		return ((uint64_t)1 << (48 + value % 16)) + value;
	case SIZE_BYTE:
		return 1u + (uint64_t)take_u8(&f->in);
	case SIZE_LARGE:
		return 4096u * (56u + take_u8(&f->in) % 16u);
	default:
		value = take_u8(&f->in);
		return f->removed_count ? f->removed[value % f->removed_count].size : 16u;
	}
}

/* The lowest base at or above addr among the live regions, if any. */
static bool next_base(const struct model *model, uint64_t addr, uint64_t *base)
{
	bool found = false;

	for (size_t i = 0; i < model->count; i++) {
		uint64_t other = model->regions[i].base;

		if (other >= addr && (!found || other < *base)) {
			*base = other;
			found = true;
		}
	}
	return found;
}

static void take_layout(struct fuzz *f, uint64_t *base, uint64_t *size)
{
	struct target t;
	uint64_t next = UINT64_MAX;
	uint8_t value;

	*size = take_size(f);
	switch (take_u8(&f->in) % BASE_MODES) {
	case BASE_AFTER:
		t = take_target(f);
		*base = t.base + t.size;
		break;
	case BASE_BEFORE:
		t = take_target(f);
		*base = t.base - *size;
		break;
	case BASE_INSIDE:
		t = take_target(f);
		*base = t.base + take_u16(&f->in) % t.size;
		break;
	case BASE_TOP:
		*base = UINT64_MAX - *size;
		break;
	case BASE_WRAP:
		*base = UINT64_MAX - *size + 1u + take_u8(&f->in) % 2u;
		break;
	case BASE_REMOVED:
		value = take_u8(&f->in);
		*base = f->removed_count ? f->removed[value % f->removed_count].base : 0x1000;
		break;
	case BASE_LOW:
		*base = (uint64_t)take_u16(&f->in) * 16u;
		break;
	case BASE_RAW:
		*base = take_u64(&f->in);
		break;
	case BASE_POW2:
		value = take_u8(&f->in);
		*base = ((uint64_t)1 << (value % 64)) + take_delta(&f->in);
		break;
	case BASE_NEAR:
		t = take_target(f);
		*base = t.base + take_delta(&f->in);
		break;
	default: /* BASE_GAP: fill the hole after t exactly, or miss by one */
		t = take_target(f);
		*base = t.base + t.size;
		value = take_u8(&f->in);
		if (!next_base(&f->model, *base, &next))
			next = UINT64_MAX;
		*size = next - *base + value % 3u - 1u;
		break;
	}
}

static uint32_t take_prot(struct fuzz *f)
{
	uint8_t value = take_u8(&f->in);

	return value >= 0xf8 ? take_u32(&f->in) : value & 7u;
}

static uint64_t take_addr(struct fuzz *f, struct target t)
{
	uint64_t end = t.base + t.size;
	uint8_t value;

	switch (take_u8(&f->in) % ADDR_MODES) {
	case ADDR_BASE:
		return t.base;
	case ADDR_END:
		return end;
	case ADDR_INSIDE:
		return t.base + take_u16(&f->in) % (t.size + 1u);
	case ADDR_BELOW:
		return t.base - take_u8(&f->in) % 17u;
	case ADDR_AROUND_END:
		return end + take_delta(&f->in);
	case ADDR_TOP:
		return UINT64_MAX - take_u8(&f->in);
	case ADDR_LOW:
		return take_u16(&f->in);
	case ADDR_RAW:
		return take_u64(&f->in);
	case ADDR_POW2:
		value = take_u8(&f->in);
		return ((uint64_t)1 << (value % 64)) + take_delta(&f->in);
	default:
		return end - take_u8(&f->in) % 17u;
	}
}

static uint64_t take_len(struct fuzz *f, struct target t, uint64_t addr)
{
	switch (take_u8(&f->in) % LEN_MODES) {
	case LEN_ZERO:
		return 0;
	case LEN_TINY:
		return 1u + take_u8(&f->in) % 8u;
	case LEN_SMALL:
		return take_u16(&f->in);
	case LEN_TO_END:
		return t.base + t.size - addr + take_u8(&f->in) % 3u - 1u;
	case LEN_HUGE:
		return UINT64_MAX - take_u8(&f->in) % 16u;
	case LEN_TO_2_64:
		return UINT64_MAX - addr + take_u8(&f->in) % 3u;
	case LEN_POW2:
		return (uint64_t)1 << (take_u8(&f->in) % 64);
	default:
		return t.size;
	}
}

/* Deterministic bytes for writes and from_bytes regions (splitmix64),
 * eight at a time: this fill is on the fuzzer's hot path. */
static void fill(uint8_t *buf, size_t len, uint8_t seed)
{
	uint64_t state = seed * 0x9e3779b97f4a7c15u + 1u;

	for (size_t i = 0; i < len; i += 8) {
		uint64_t z = (state += 0x9e3779b97f4a7c15u);

		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
		z ^= z >> 31;
		memcpy(buf + i, &z, len - i < 8 ? len - i : 8);
	}
}

/* ---- listeners (squib/listener.h) -------------------------------------- */

static void info_check_0_3(const struct fuzz *f, const squib_region_info_t *info,
			   const struct model_region *region, const char *what);

/* splitmix64: a listener's own decisions, reproducible from its seed. */
static uint64_t prng_next(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15u);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

static void view_from_info(const squib_region_info_t *info, struct model_view *view)
{
	memset(view, 0, sizeof(*view));
	view->base = info->range.base.raw;
	view->size = info->range.size;
	view->slot = info->slot;
	view->prot = info->prot;
	view->flags = info->flags;
	view->has_fd = info->fd >= 0;
	memcpy(view->name, info->name, sizeof(view->name));
}

static struct model_view *view_find(struct fuzz_listener *l, uint32_t slot)
{
	for (size_t i = 0; i < l->view_count; i++)
		if (l->views[i].slot == slot)
			return &l->views[i];
	return NULL;
}

/* "Callbacks are serialised with each other": one at a time, never one
 * inside another (a nested mutating call must have been refused). */
static struct fuzz_listener *callback_enter(void *ctx)
{
	struct fuzz_listener *l = ctx;

	if (!l || l->magic != LISTENER_MAGIC) {
		fprintf(stderr,
			"fuzz_mem: MISMATCH: a listener callback got ctx %p, not one the "
			"harness registered\n",
			ctx);
		abort();
	}
	if (l->f->cb_depth > 0)
		mismatch(l->f, "a listener callback ran inside another one");
	l->f->cb_depth++;
	return l;
}

/* Records a call in the log of the operation running. */
static struct model_call *log_call(struct fuzz_listener *l, enum model_cb cb,
				   const squib_region_info_t *info, uint64_t arg)
{
	struct fuzz *f = l->f;
	struct model_call *call;

	if (!info || info->sz < sizeof(*info))
		mismatch(f, "callback %u of listener %" PRIu64 " got info %p, sz %zu", (unsigned)cb,
			 l->tag, (const void *)info, info ? info->sz : 0);
	if (!info->host_addr)
		mismatch(f, "callback %u of listener %" PRIu64 " got a NULL host_addr",
			 (unsigned)cb, l->tag);
	if (f->call_count == MAX_CALLS)
		mismatch(f, "more than %d listener calls in one operation", MAX_CALLS);
	call = &f->calls[f->call_count++];
	memset(call, 0, sizeof(*call));
	call->tag = l->tag;
	call->cb = cb;
	view_from_info(info, &call->info);
	call->arg = arg;
	call->host = info->host_addr;
	l->calls++;
	return call;
}

/* The listener's answer: it refuses as decoded, but never twice in one
 * mutating call (so the undo calls that follow a refusal are accepted). */
static int listener_answer(struct fuzz_listener *l, enum model_cb cb)
{
	struct fuzz *f = l->f;
	bool refuse;

	if (!(l->refusable & (1u << cb)) || f->vetoed)
		return 0;
	l->eligible++;
	refuse = l->by_chance ? (prng_next(&l->prng) & 0xffu) < l->when : l->eligible == l->when;
	if (!refuse)
		return 0;
	f->vetoed = true;
	return l->answer;
}

static void callback_leave(struct fuzz_listener *l, const struct model_call *call)
{
	struct fuzz *f = l->f;
	static const char *const names[MODEL_CB_COUNT] = {"region_add", "region_del", "protect",
							  "dirty_log", "log_sync"};

	if (trace)
		fprintf(stderr,
			"\n%*s    (listener %" PRIu64 ": %s slot %" PRIu32 " [0x%016" PRIx64
			" + %" PRIu64 "] prot %" PRIu32 " flags 0x%" PRIx32 " arg %" PRIu64
			" answers %d)",
			(int)f->depth * 4, "", l->tag, names[call->cb], call->info.slot,
			call->info.base, call->info.size, call->info.prot, call->info.flags,
			call->arg, call->ret);
	f->cb_depth--;
}

/* The bytes at a region_add's or region_del's host_addr: "Called once its
 * memory is ready"; "Its memory stays mapped until the call returns." */
static void check_callback_memory(const struct fuzz *f, const squib_region_info_t *info,
				  const char *what)
{
	const struct model_region *region = model_get(&f->model, info->slot);
	const uint8_t *want;

	if (f->adding && info->slot == f->hidden_slot)
		want = f->adding_bytes ? f->adding_bytes : zero_buf;
	else if (region && region->base == info->range.base.raw && region->size == info->range.size)
		want = region->bytes;
	else
		return; /* a region the model does not know of: the log check names it */
	if (info->range.size <= SCRATCH_SIZE)
		compare_bytes(f, what, info->host_addr, want, (size_t)info->range.size,
			      info->range.base.raw);
}

/* "The region becomes visible to accesses only after every listener
 * accepted it"; "Removing a region: it stops being visible to new accesses
 * first". A callback may find and read. */
static void check_visibility(const struct fuzz *f, const squib_region_info_t *info,
			     const char *what)
{
	squib_region_info_t found = SQUIB_REGION_INFO_INIT;
	bool hidden = f->hiding && info->slot == f->hidden_slot;
	size_t count = f->model.count - (hidden && !f->adding ? 1u : 0u);
	int got = squib_mem_find_region(f->mem, info->range.base, &found);

	if (hidden ? got != SQUIB_E_OUT_OF_RANGE : (got != SQUIB_OK || found.slot != info->slot))
		mismatch(f,
			 "inside %s of slot %" PRIu32 ", find_region of its base gave %s (slot "
			 "%" PRIu32 "); the region is %s",
			 what, info->slot, status_name(got), found.slot,
			 hidden ? "not visible yet, or no more" : "visible");
	if (squib_mem_region_count(f->mem) != count)
		mismatch(f, "inside %s, region_count is %zu, %zu regions are visible", what,
			 squib_mem_region_count(f->mem), count);
}

static squib_status_t quiet_region_add(void *ctx, const squib_region_info_t *info)
{
	(void)ctx;
	(void)info;
	fprintf(stderr, "fuzz_mem: MISMATCH: a listener_add made from inside a callback "
			"(BUSY) was registered\n");
	abort();
}

/*
 * At every probe-th call: one mutating call on the same handle, which
 * "from inside a callback is SQUIB_E_BUSY, never a deadlock" and changes
 * nothing (it makes no callback: the log check would see one), with
 * arguments that would succeed outside; and a read, which works.
 */
static void busy_probe(struct fuzz_listener *l)
{
	struct fuzz *f = l->f;
	squib_listener_t quiet = SQUIB_LISTENER_INIT;
	const struct model_region *other = NULL;
	uint64_t id = ID_CANARY, words[MODEL_DIRTY_WORDS_MAX + 1];
	squib_range_t range = {
	    .base = SQUIB_GPA(UINT64_C(0xfffe000000000000) + (uint64_t)(l->calls % 16u) * 0x10000u),
	    .size = 0x1000};
	uint32_t slot = 0xfffff000u + l->calls % 16u;
	const char *what = "listener_add";
	unsigned kind;
	uint8_t byte = CANARY;
	int got;

	if (!l->probe || l->calls % l->probe != 0)
		return;
	kind = (l->calls / l->probe) % 7u;
	quiet.region_add = quiet_region_add;
	for (size_t i = 0; i < f->model.count && !other; i++) {
		const struct model_region *region =
		    &f->model.regions[(i + l->calls) % f->model.count];

		if (!(f->hiding && region->slot == f->hidden_slot))
			other = region;
	}
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		words[i] = WORD_CANARY;
	if (kind == 1 && other) {
		what = "remove_region";
		got = squib_mem_remove_region(f->mem, other->slot);
	} else if (kind == 2 && other) {
		what = "set_protection";
		got = squib_mem_set_protection(f->mem, other->slot, other->prot ^ SQUIB_PROT_WRITE);
	} else if ((kind == 3 || kind == 4) && other && !(kind == 4 && other->dirty)) {
		what = "set_dirty_log";
		got = squib_mem_set_dirty_log(f->mem, other->slot, !other->dirty);
	} else if (kind == 4 && other) {
		what = "get_dirty_log";
		got = squib_mem_get_dirty_log(f->mem, other->slot, words, MODEL_DIRTY_WORDS_MAX,
					      SQUIB_DIRTY_CLEAR);
	} else if (kind == 5 && f->model.listener_count > 0) {
		what = "listener_remove";
		got = squib_mem_listener_remove(f->mem, f->model.listeners[0].id);
	} else if (kind == 6 &&
		   model_add_status(&f->model, range.base.raw, range.size, slot, SQUIB_PROT_RW,
				    false) == SQUIB_OK &&
		   !(f->adding && f->hidden_slot == slot)) {
		what = "add_region";
		got = squib_mem_add_region(f->mem, range, slot, SQUIB_PROT_RW);
	} else {
		got = squib_mem_listener_add(f->mem, &quiet, &id);
	}
	if (trace)
		fprintf(stderr, "\n%*s    (listener %" PRIu64 " calls %s from inside: %s)",
			(int)f->depth * 4, "", l->tag, what, status_name(got));
	if (got != SQUIB_E_BUSY)
		mismatch(f, "%s from inside a listener callback returned %s, not BUSY", what,
			 status_name(got));
	if (id != ID_CANARY || words[0] != WORD_CANARY)
		mismatch(f, "the refused %s (BUSY) wrote an out-parameter", what);
	if (!other)
		return;
	got = squib_mem_read_u8(f->mem, SQUIB_GPA(other->base), &byte);
	if (got != SQUIB_OK || byte != other->bytes[0])
		mismatch(f,
			 "read_u8 of slot %" PRIu32 "'s base from inside a callback gave %s, "
			 "0x%02x; the model has 0x%02x",
			 other->slot, status_name(got), byte, other->bytes[0]);
}

static squib_status_t cb_region_add(void *ctx, const squib_region_info_t *info)
{
	struct fuzz_listener *l = callback_enter(ctx);
	struct model_call *call = log_call(l, MODEL_CB_ADD, info, 0);

	check_callback_memory(l->f, info, "region_add's host_addr");
	check_visibility(l->f, info, "region_add");
	busy_probe(l);
	call->ret = listener_answer(l, MODEL_CB_ADD);
	if (call->ret == 0) {
		if (l->view_count == MODEL_MAX_REGIONS)
			mismatch(l->f, "listener %" PRIu64 " was told of more than %d regions",
				 l->tag, MODEL_MAX_REGIONS);
		l->views[l->view_count++] = call->info;
	}
	callback_leave(l, call);
	return (squib_status_t)call->ret;
}

static void cb_region_del(void *ctx, const squib_region_info_t *info)
{
	struct fuzz_listener *l = callback_enter(ctx);
	struct model_call *call = log_call(l, MODEL_CB_DEL, info, 0);
	struct model_view *view = view_find(l, info->slot);

	check_callback_memory(l->f, info, "region_del's host_addr");
	check_visibility(l->f, info, "region_del");
	busy_probe(l);
	/* A region it does not hold: the log check tells. */
	if (view) {
		*view = l->views[l->view_count - 1];
		l->view_count--;
	}
	callback_leave(l, call);
}

static squib_status_t cb_protect(void *ctx, const squib_region_info_t *info, squib_prot_t old_prot)
{
	struct fuzz_listener *l = callback_enter(ctx);
	struct model_call *call = log_call(l, MODEL_CB_PROTECT, info, old_prot);
	struct model_view *view = view_find(l, info->slot);

	busy_probe(l);
	call->ret = listener_answer(l, MODEL_CB_PROTECT);
	if (call->ret == 0 && view)
		view->prot = info->prot;
	callback_leave(l, call);
	return (squib_status_t)call->ret;
}

static squib_status_t cb_dirty_log(void *ctx, const squib_region_info_t *info, bool enable)
{
	struct fuzz_listener *l = callback_enter(ctx);
	struct model_call *call = log_call(l, MODEL_CB_DIRTY_LOG, info, enable);
	struct model_view *view = view_find(l, info->slot);

	busy_probe(l);
	call->ret = listener_answer(l, MODEL_CB_DIRTY_LOG);
	if (call->ret == 0 && view)
		view->flags = info->flags;
	callback_leave(l, call);
	return (squib_status_t)call->ret;
}

static void report_page(struct fuzz *f, struct model_call *call, uint64_t *bitmap, uint64_t page)
{
	uint64_t bit = (uint64_t)1 << (page % 64);

	bitmap[page / 64] |= bit;
	call->reported[page / 64] |= bit;
	f->sync_union[page / 64] |= bit;
}

/* log_sync: ORs the pages its sync mode picks into the bitmap ("zeroed by
 * the library": it may hold what an earlier listener of the same call
 * reported, nothing else), then answers; what it reported is in the log. */
static squib_status_t cb_log_sync(void *ctx, const squib_region_info_t *info, uint64_t *bitmap,
				  size_t words)
{
	struct fuzz_listener *l = callback_enter(ctx);
	struct model_call *call = log_call(l, MODEL_CB_LOG_SYNC, info, words);
	struct fuzz *f = l->f;
	uint64_t pages = model_dirty_pages(info->range.base.raw, info->range.size);
	size_t needed = model_dirty_words(info->range.base.raw, info->range.size);

	if (!bitmap || words < needed)
		mismatch(f, "log_sync got bitmap %p of %zu words; the region needs %zu",
			 (void *)bitmap, words, needed);
	if (needed > MODEL_DIRTY_WORDS_MAX) {
		fprintf(stderr,
			"fuzz_mem: a region of %zu bitmap words, more than the harness "
			"keeps\n",
			needed);
		abort();
	}
	for (size_t w = 0; w < needed; w++)
		if (bitmap[w] & ~f->sync_union[w])
			mismatch(f,
				 "log_sync's bitmap word %zu is 0x%016" PRIx64
				 " on entry, not zeroed by the library",
				 w, bitmap[w]);
	for (uint64_t page = 0; page < pages; page++) {
		bool dirty =
		    l->sync == SYNC_ALL || (l->sync == SYNC_RANDOM && (prng_next(&l->prng) & 1u));

		if (l->sync == SYNC_ONE && page == 0) {
			page = prng_next(&l->prng) % pages;
			dirty = true;
		}
		if (dirty)
			report_page(f, call, bitmap, page);
		if (l->sync == SYNC_ONE)
			break;
	}
	busy_probe(l);
	call->ret = listener_answer(l, MODEL_CB_LOG_SYNC);
	callback_leave(l, call);
	return (squib_status_t)call->ret;
}

/* What the caller's struct holds once listener_add returned: "The struct
 * is copied", so none of these may ever run. */
__attribute__((noreturn)) static void trap(const char *what)
{
	fprintf(stderr,
		"fuzz_mem: MISMATCH: the library called %s through a caller's squib_listener_t "
		"that listener_add had to copy, or one passed with a NULL handle\n",
		what);
	abort();
}

static squib_status_t trap_region_add(void *ctx, const squib_region_info_t *info)
{
	(void)ctx;
	(void)info;
	trap("region_add");
}

static void trap_region_del(void *ctx, const squib_region_info_t *info)
{
	(void)ctx;
	(void)info;
	trap("region_del");
}

static squib_status_t trap_protect(void *ctx, const squib_region_info_t *info, squib_prot_t old)
{
	(void)ctx;
	(void)info;
	(void)old;
	trap("protect");
}

static squib_status_t trap_dirty_log(void *ctx, const squib_region_info_t *info, bool enable)
{
	(void)ctx;
	(void)info;
	(void)enable;
	trap("dirty_log");
}

static squib_status_t trap_log_sync(void *ctx, const squib_region_info_t *info, uint64_t *bitmap,
				    size_t words)
{
	(void)ctx;
	(void)info;
	(void)bitmap;
	(void)words;
	trap("log_sync");
}

static void scribble(squib_listener_t *listener)
{
	listener->ctx = NULL;
	listener->region_add = trap_region_add;
	listener->region_del = trap_region_del;
	listener->protect = trap_protect;
	listener->dirty_log = trap_dirty_log;
	listener->log_sync = trap_log_sync;
}

/* Each listener's view of the map is the model's: the regions it holds
 * (region_add, region_del), their prot (protect) and DIRTY_LOG
 * (dirty_log), where it has those callbacks; in the model's order. */
static void listeners_check(const struct fuzz *f)
{
	if (f->listener_count != f->model.listener_count)
		mismatch(f, "the harness holds %zu listeners, the model %zu", f->listener_count,
			 f->model.listener_count);
	for (size_t k = 0; k < f->listener_count; k++) {
		struct fuzz_listener *l = f->listeners[k];
		unsigned both = 1u << MODEL_CB_ADD | 1u << MODEL_CB_DEL;

		if (l->tag != f->model.listeners[k].tag)
			mismatch(f, "listener %zu is %" PRIu64 ", the model's %" PRIu64, k, l->tag,
				 f->model.listeners[k].tag);
		if ((l->callbacks & both) != both)
			continue;
		if (l->view_count != f->model.count)
			mismatch(f, "listener %" PRIu64 " holds %zu regions, the model %zu", l->tag,
				 l->view_count, f->model.count);
		for (size_t i = 0; i < f->model.count; i++) {
			const struct model_region *region = &f->model.regions[i];
			const struct model_view *view = view_find(l, region->slot);
			struct model_view want;

			model_view_of(region, &want);
			if (view && !(l->callbacks & (1u << MODEL_CB_PROTECT)))
				want.prot = view->prot;
			if (view && !(l->callbacks & (1u << MODEL_CB_DIRTY_LOG)))
				want.flags = (want.flags & ~MODEL_DIRTY_LOG) |
					     (view->flags & MODEL_DIRTY_LOG);
			if (!view || view->base != want.base || view->size != want.size ||
			    view->prot != want.prot || view->flags != want.flags ||
			    view->has_fd != want.has_fd ||
			    strncmp(view->name, want.name, sizeof(want.name)) != 0)
				mismatch(f,
					 "listener %" PRIu64 " holds slot %" PRIu32
					 " as %s [0x%016" PRIx64 " + %" PRIu64 "] prot %" PRIu32
					 " flags 0x%" PRIx32 "; the model has prot %" PRIu32
					 " flags 0x%" PRIx32,
					 l->tag, region->slot, view ? "" : "(nothing)",
					 view ? view->base : 0, view ? view->size : 0,
					 view ? view->prot : 0, view ? view->flags : 0, want.prot,
					 want.flags);
		}
	}
}

/* get_region of every region against the model (prot, flags, host). */
static void verify_infos(const struct fuzz *f)
{
	for (size_t i = 0; i < f->model.count; i++) {
		const struct model_region *region = &f->model.regions[i];
		squib_region_info_t info = SQUIB_REGION_INFO_INIT;
		int got = squib_mem_get_region(f->mem, region->slot, &info);

		if (got != SQUIB_OK || info.range.base.raw != region->base ||
		    info.range.size != region->size || info.prot != region->prot ||
		    info.host_addr != region->host)
			mismatch(f,
				 "get_region of slot %" PRIu32 " gave %s [0x%016" PRIx64
				 " + %" PRIu64 "] prot %" PRIu32
				 " host %p; the model [0x%016" PRIx64 " + %" PRIu64
				 "] prot %" PRIu32 " host %p",
				 region->slot, status_name(got), info.range.base.raw,
				 info.range.size, info.prot, info.host_addr, region->base,
				 region->size, region->prot, (void *)region->host);
		info_check_0_3(f, &info, region, "get_region");
	}
}

/* Before a mutating call: its callbacks are logged from here on. */
static size_t mutation_begin(struct fuzz *f)
{
	f->vetoed = false;
	memset(f->sync_union, 0, sizeof(f->sync_union));
	return f->call_count;
}

/* The region a mutating call adds (with its initial bytes, NULL: zeros)
 * or removes: not visible to the callbacks' accesses. */
static void mutation_hide(struct fuzz *f, uint32_t slot, bool adding, const uint8_t *bytes)
{
	f->hiding = true;
	f->hidden_slot = slot;
	f->adding = adding;
	f->adding_bytes = bytes;
}

static struct model_log mutation_log(const struct fuzz *f, size_t mark)
{
	return (struct model_log){.calls = f->calls + mark, .count = f->call_count - mark};
}

/* The model's verdict on the calls (ok), and every call's host_addr that
 * of its region, for the regions the model holds. */
static void mutation_calls(const struct fuzz *f, const struct model_log *log, bool ok)
{
	if (!ok)
		mismatch(f, "the listener calls are not the contract's: %s", log->why);
	for (size_t i = 0; i < log->count; i++) {
		const struct model_call *call = &log->calls[i];
		const struct model_region *region = model_get(&f->model, call->info.slot);

		if (region && region->host && region->base == call->info.base &&
		    call->host != region->host)
			mismatch(f, "call %zu got host_addr %p, slot %" PRIu32 "'s is %p", i + 1,
				 call->host, region->slot, (void *)region->host);
	}
}

/* After the mutating call: the log is dropped, the views and infos are
 * compared, and after a refusal the handle must be as it was: "the table
 * never saw it", a failure "changes nothing". */
static void mutation_end(struct fuzz *f, size_t mark, bool refused)
{
	f->call_count = mark;
	f->hiding = f->adding = false;
	f->adding_bytes = NULL;
	listeners_check(f);
	verify_infos(f);
	if (refused)
		verify_all(f);
}

/* The calls of an add that passed its own checks (*want OK, which becomes
 * a listener's refusal), or of one that did not (none). */
static void listen_add(const struct fuzz *f, struct model_log *log, const struct model_view *view,
		       int *want)
{
	squib_status_t listened = SQUIB_OK;

	if (*want != SQUIB_OK) {
		mutation_calls(f, log, model_log_done(log));
		return;
	}
	mutation_calls(f, log, model_listen_add(&f->model, log, view, &listened));
	*want = listened;
}

/* An added region's region_add calls got the host_addr it has. */
static void check_add_hosts(const struct fuzz *f, const struct model_log *log,
			    const struct model_region *region)
{
	for (size_t i = 0; i < log->count; i++)
		if (log->calls[i].cb == MODEL_CB_ADD && log->calls[i].host != region->host)
			mismatch(f, "region_add got host_addr %p, get_region gives %p",
				 log->calls[i].host, (void *)region->host);
}

/* ---- operations --------------------------------------------------------- */

static bool run_op(struct fuzz *f);

/* A new region of the model gets its id, and the host address get_region
 * gives (which host_range, translate and pins are compared with). */
static void adopt(struct fuzz *f, struct model_region *region)
{
	squib_region_info_t info = SQUIB_REGION_INFO_INIT;
	int status = squib_mem_get_region(f->mem, region->slot, &info);

	if (status != SQUIB_OK || !info.host_addr)
		mismatch(f, "get_region of the new slot %" PRIu32 " gave %s, host_addr %p",
			 region->slot, status_name(status), info.host_addr);
	region->id = ++f->next_id;
	region->host = info.host_addr;
}

static void pins_region_gone(struct fuzz *f, const struct model_region *region);

static bool op_add(struct fuzz *f, bool from_bytes)
{
	uint32_t slot = take_slot(f), prot;
	uint64_t base, size;
	uint8_t flags = 1, seed = 0;
	bool bytes_null;
	struct model_view view;
	struct model_log log;
	size_t mark;
	int want, got;

	take_layout(f, &base, &size);
	prot = take_prot(f);
	if (from_bytes) {
		flags = take_u8(&f->in);
		seed = take_u8(&f->in);
	}
	if (f->in.out)
		return false;
	bytes_null = from_bytes && flags % 8 == 0;
	describe(f,
		 "%s slot %" PRIu32 " base 0x%016" PRIx64 " size %" PRIu64 " prot 0x%" PRIx32 "%s",
		 from_bytes ? "add_region_from_bytes" : "add_region", slot, base, size, prot,
		 bytes_null ? " bytes NULL" : "");
	want = model_add_status(&f->model, base, size, slot, prot, bytes_null);
	/* Regions the library would really map stay small and few; and a
	 * from_bytes call never claims more bytes than its buffer holds. */
	if ((want == SQUIB_OK && (size > MAX_REGION_SIZE || f->model.count == MODEL_MAX_REGIONS ||
				  model_bytes(&f->model) + size > MAX_TOTAL_BYTES)) ||
	    (from_bytes && !bytes_null && size > SCRATCH_SIZE)) {
		if (trace)
			fprintf(stderr, " -> skipped (too large)\n");
		return true;
	}
	/* The 0.2 adds: flags 0, no fd, no name. */
	model_view_of_new(
	    &(struct model_new_region){.base = base, .size = size, .slot = slot, .prot = prot},
	    &view);
	mark = mutation_begin(f);
	if (want == SQUIB_OK)
		mutation_hide(f, slot, true, from_bytes ? lib_buf : NULL);
	if (from_bytes) {
		if (!bytes_null)
			fill(lib_buf, (size_t)size, seed);
		got = squib_mem_add_region_from_bytes(
		    f->mem, SQUIB_GPA(base), bytes_null ? NULL : lib_buf, (size_t)size, slot, prot);
	} else {
		/* Filled in by hand, not with squib_range_init(), so that
		 * overflowing ranges reach the call. */
		squib_range_t range = {.base = SQUIB_GPA(base), .size = size};

		got = squib_mem_add_region(f->mem, range, slot, prot);
	}
	/* Once the memory is ready, every listener's region_add; a refusal
	 * is the add's status. Refused earlier, no listener hears of it. */
	log = mutation_log(f, mark);
	listen_add(f, &log, &view, &want);
	check_status(f, got, want);
	if (got == SQUIB_OK) {
		if (!model_add(&f->model, base, size, slot, prot, from_bytes ? lib_buf : NULL)) {
			fprintf(stderr, "fuzz_mem: the model is out of memory\n");
			abort();
		}
		/* Zero-filled, or a copy of bytes: a copy, so scribbling over
		 * the caller's buffer afterwards changes nothing. */
		if (from_bytes)
			memset(lib_buf, CANARY, (size_t)size);
		adopt(f, &f->model.regions[f->model.count - 1]);
		check_add_hosts(f, &log, &f->model.regions[f->model.count - 1]);
		verify_region(f, &f->model.regions[f->model.count - 1]);
	}
	mutation_end(f, mark, log.refused);
	return true;
}

static void remember_removed(struct fuzz *f, const struct model_region *region)
{
	size_t at = f->removed_next++ % REMEMBERED;

	f->removed[at] = (struct target){.base = region->base, .size = region->size};
	f->removed_slot[at] = region->slot;
	if (f->removed_count < REMEMBERED)
		f->removed_count++;
}

static bool op_remove(struct fuzz *f)
{
	uint32_t slot = take_slot(f);
	const struct model_region *region;
	struct model_log log;
	size_t mark;
	int got;

	if (f->in.out)
		return false;
	describe(f, "remove_region slot %" PRIu32, slot);
	region = model_get(&f->model, slot);
	mark = mutation_begin(f);
	if (region)
		mutation_hide(f, slot, false, NULL);
	got = squib_mem_remove_region(f->mem, slot);
	/* Hidden first, then every listener's region_del in reverse order. */
	log = mutation_log(f, mark);
	mutation_calls(
	    f, &log, region ? model_listen_remove(&f->model, &log, region) : model_log_done(&log));
	check_status(f, got, region ? SQUIB_OK : SQUIB_E_NOT_FOUND);
	if (got == SQUIB_OK) {
		remember_removed(f, region);
		pins_region_gone(f, region);
		(void)model_remove(&f->model, slot);
	}
	mutation_end(f, mark, false);
	return true;
}

static bool op_read(struct fuzz *f)
{
	struct target t = take_target(f);
	uint64_t addr = take_addr(f, t), len = take_len(f, t, addr);
	bool buf_null = take_u8(&f->in) % 8 == 0;
	const struct model_region *where;
	size_t end;
	int want, got;

	if (f->in.out)
		return false;
	describe(f, "read addr 0x%016" PRIx64 " len %" PRIu64 "%s", addr, len,
		 buf_null ? " buf NULL" : "");
	want = model_access(&f->model, addr, len, buf_null, &where);
	memset(lib_buf, CANARY, sizeof(lib_buf));
	got = squib_mem_read(f->mem, SQUIB_GPA(addr), buf_null ? NULL : lib_buf, (size_t)len);
	check_status(f, got, want);
	check_range_message(f, got, addr);
	if (got == SQUIB_OK && where)
		compare_bytes(f, "read", lib_buf, where->bytes + (addr - where->base), (size_t)len,
			      addr);
	/* Rule 1: nothing past len changes, and nothing at all on failure. */
	end = canary_end(lib_buf, got == SQUIB_OK ? (size_t)len : 0, sizeof(lib_buf));
	if (end != sizeof(lib_buf))
		mismatch(f, "read (%s) wrote buf[%zu]", status_name(got), end);
	return true;
}

static bool op_write(struct fuzz *f)
{
	struct target t = take_target(f);
	uint64_t addr = take_addr(f, t), len = take_len(f, t, addr);
	bool buf_null = take_u8(&f->in) % 8 == 0;
	uint8_t seed = take_u8(&f->in);
	const struct model_region *where;
	int want, got;

	if (f->in.out)
		return false;
	describe(f, "write addr 0x%016" PRIx64 " len %" PRIu64 "%s", addr, len,
		 buf_null ? " buf NULL" : "");
	want = model_write_status(&f->model, addr, len, buf_null, &where);
	/* A failing call may get a len larger than the buffer: it must not
	 * read it (ASan reports it if it does). */
	fill(lib_buf, len < sizeof(lib_buf) ? (size_t)len : sizeof(lib_buf), seed);
	got = squib_mem_write(f->mem, SQUIB_GPA(addr), buf_null ? NULL : lib_buf, (size_t)len);
	check_status(f, got, want);
	check_range_message(f, got, addr);
	if (got == SQUIB_OK && where) {
		memcpy(where->bytes + (addr - where->base), lib_buf, (size_t)len);
		/* "A page is dirty once any library write touched it" */
		model_mark_dirty(where, addr - where->base, len);
	}
	verify_near(f, addr, len);
	return true;
}

static uint64_t canary_value(unsigned width)
{
	uint64_t value = 0;

	memset(&value, CANARY, width);
	return value;
}

static bool op_read_typed(struct fuzz *f)
{
	unsigned width = 1u << (take_u8(&f->in) % 4);
	struct target t = take_target(f);
	uint64_t addr = take_addr(f, t);
	bool out_null = take_u8(&f->in) % 8 == 0;
	const struct model_region *where;
	uint64_t value = canary_value(width), expected = 0;
	uint8_t v8 = (uint8_t)value;
	uint16_t v16 = (uint16_t)value;
	uint32_t v32 = (uint32_t)value;
	uint64_t v64 = value;
	int want, got;

	if (f->in.out)
		return false;
	describe(f, "read_u%u addr 0x%016" PRIx64 "%s", width * 8, addr,
		 out_null ? " out NULL" : "");
	want = model_access(&f->model, addr, width, out_null, &where);
	switch (width) {
	case 1:
		got = squib_mem_read_u8(f->mem, SQUIB_GPA(addr), out_null ? NULL : &v8);
		value = v8;
		break;
	case 2:
		got = squib_mem_read_u16_le(f->mem, SQUIB_GPA(addr), out_null ? NULL : &v16);
		value = v16;
		break;
	case 4:
		got = squib_mem_read_u32_le(f->mem, SQUIB_GPA(addr), out_null ? NULL : &v32);
		value = v32;
		break;
	default:
		got = squib_mem_read_u64_le(f->mem, SQUIB_GPA(addr), out_null ? NULL : &v64);
		value = v64;
		break;
	}
	check_status(f, got, want);
	check_range_message(f, got, addr);
	if (got != SQUIB_OK) {
		expected = canary_value(width); /* *out untouched */
	} else {
		/* Rule 5: little-endian in guest memory. */
		for (unsigned i = width; i-- > 0;)
			expected = expected << 8 | where->bytes[addr - where->base + i];
	}
	if (value != expected)
		mismatch(f, "read_u%u (%s) gave 0x%" PRIx64 ", the model expects 0x%" PRIx64,
			 width * 8, status_name(got), value, expected);
	return true;
}

static bool op_write_typed(struct fuzz *f)
{
	unsigned width = 1u << (take_u8(&f->in) % 4);
	struct target t = take_target(f);
	uint64_t addr = take_addr(f, t), value = take_u64(&f->in);
	const struct model_region *where;
	int want, got;

	if (f->in.out)
		return false;
	describe(f, "write_u%u addr 0x%016" PRIx64 " value 0x%" PRIx64, width * 8, addr, value);
	want = model_write_status(&f->model, addr, width, false, &where);
	switch (width) {
	case 1:
		got = squib_mem_write_u8(f->mem, SQUIB_GPA(addr), (uint8_t)value);
		break;
	case 2:
		got = squib_mem_write_u16_le(f->mem, SQUIB_GPA(addr), (uint16_t)value);
		break;
	case 4:
		got = squib_mem_write_u32_le(f->mem, SQUIB_GPA(addr), (uint32_t)value);
		break;
	default:
		got = squib_mem_write_u64_le(f->mem, SQUIB_GPA(addr), value);
		break;
	}
	check_status(f, got, want);
	check_range_message(f, got, addr);
	if (got == SQUIB_OK) {
		for (unsigned i = 0; i < width; i++)
			where->bytes[addr - where->base + i] = (uint8_t)(value >> (8 * i));
		model_mark_dirty(where, addr - where->base, width); /* a library write */
	}
	verify_near(f, addr, width);
	return true;
}

/* The layout 0.2 shipped: the smallest sz the library accepts. */
#define INFO_0_2_SIZE (offsetof(squib_region_info_t, host_addr) + sizeof(void *))

/* A region info with room past the layout, to see that it stays untouched. */
struct info_box {
	squib_region_info_t info;
	unsigned char tail[32];
};

static squib_region_info_t *info_prepare(struct info_box *box, struct info_box *before,
					 uint8_t mode)
{
	memset(box, INFO_CANARY, sizeof(*box));
	switch (mode % INFO_MODES) {
	case INFO_NULL:
		memcpy(before, box, sizeof(*box));
		return NULL;
	case INFO_SHORT:
		box->info.sz = INFO_0_2_SIZE - 1;
		break;
	case INFO_ZERO:
		box->info.sz = 0;
		break;
	case INFO_LARGE:
		box->info.sz = sizeof(*box);
		break;
	case INFO_0_2:
		box->info.sz = INFO_0_2_SIZE;
		break;
	default:
		box->info.sz = sizeof(squib_region_info_t);
		break;
	}
	memcpy(before, box, sizeof(*box));
	return &box->info;
}

/* Argument checks come first: NULL info or an sz below the 0.2 layout. */
static bool info_invalid(const squib_region_info_t *info)
{
	return !info || info->sz < INFO_0_2_SIZE;
}

/* The fields 0.3 appended, against the model's region. */
static void info_check_0_3(const struct fuzz *f, const squib_region_info_t *info,
			   const struct model_region *region, const char *what)
{
	if (info->flags != region->flags || (info->fd >= 0) != region->has_fd ||
	    (!region->has_fd && info->fd != -1) || info->fd_offset != region->fd_offset ||
	    strncmp(info->name, region->name, sizeof(info->name)) != 0)
		mismatch(f,
			 "%s of slot %" PRIu32 " says flags 0x%" PRIx32 " fd %d fd_offset %" PRIu64
			 " name \"%.*s\", the model flags 0x%" PRIx32 " %s fd_offset %" PRIu64
			 " name \"%s\"",
			 what, region->slot, info->flags, info->fd, info->fd_offset,
			 (int)sizeof(info->name), info->name, region->flags,
			 region->has_fd ? "an fd" : "fd -1", region->fd_offset, region->name);
}

static void info_check(const struct fuzz *f, int got, const struct info_box *box,
		       const struct info_box *before, const struct model_region *region)
{
	const squib_region_info_t *info = &box->info;
	size_t known;

	if (got != SQUIB_OK) {
		if (memcmp(box, before, sizeof(*box)) != 0)
			mismatch(f, "a failed call (%s) wrote *info", status_name(got));
		return;
	}
	if (info->sz != before->info.sz)
		mismatch(f, "info->sz changed from %zu to %zu", before->info.sz, info->sz);
	/* "fills only the fields that lie wholly within sz, and never writes
	 * sz nor any byte past the layout it knows" */
	known = info->sz < sizeof(*info) ? info->sz : sizeof(*info);
	if (memcmp((const uint8_t *)box + known, (const uint8_t *)before + known,
		   sizeof(*box) - known) != 0)
		mismatch(f, "bytes of *info past sz %zu or past the layout were written", info->sz);
	if (known == sizeof(*info))
		info_check_0_3(f, info, region, "info");
	if (info->range.base.raw != region->base || info->range.size != region->size ||
	    info->slot != region->slot || info->prot != region->prot)
		mismatch(f,
			 "info says slot %" PRIu32 " [0x%016" PRIx64 " + %" PRIu64 "] prot %" PRIu32
			 ", the model slot %" PRIu32 " [0x%016" PRIx64 " + %" PRIu64
			 "] prot %" PRIu32,
			 info->slot, info->range.base.raw, info->range.size, info->prot,
			 region->slot, region->base, region->size, region->prot);
	if (!info->host_addr)
		mismatch(f, "info->host_addr is NULL");
	if (region->host && info->host_addr != region->host)
		mismatch(f, "info->host_addr is %p, it was %p after the add", info->host_addr,
			 (void *)region->host);
	/* host_addr is the host address of range.base: it holds the region's bytes. */
	compare_bytes(f, "info->host_addr", info->host_addr, region->bytes, (size_t)region->size,
		      region->base);
}

static bool op_find(struct fuzz *f)
{
	struct target t = take_target(f);
	uint64_t addr = take_addr(f, t);
	uint8_t mode = take_u8(&f->in);
	struct info_box box, before;
	squib_region_info_t *info;
	const struct model_region *region;
	int want, got;

	if (f->in.out)
		return false;
	info = info_prepare(&box, &before, mode);
	describe(f, "find_region addr 0x%016" PRIx64 " info %s%zu", addr, info ? "sz " : "NULL ",
		 info ? info->sz : 0);
	region = model_find(&f->model, addr);
	want = info_invalid(info) ? SQUIB_E_INVALID_ARGUMENT
	       : region		  ? SQUIB_OK
				  : SQUIB_E_OUT_OF_RANGE;
	got = squib_mem_find_region(f->mem, SQUIB_GPA(addr), info);
	check_status(f, got, want);
	check_range_message(f, got, addr);
	info_check(f, got, &box, &before, region);
	return true;
}

static bool op_get(struct fuzz *f)
{
	uint32_t slot = take_slot(f);
	uint8_t mode = take_u8(&f->in);
	struct info_box box, before;
	squib_region_info_t *info;
	const struct model_region *region;
	int want, got;

	if (f->in.out)
		return false;
	info = info_prepare(&box, &before, mode);
	describe(f, "get_region slot %" PRIu32 " info %s%zu", slot, info ? "sz " : "NULL ",
		 info ? info->sz : 0);
	region = model_get(&f->model, slot);
	want = info_invalid(info) ? SQUIB_E_INVALID_ARGUMENT
	       : region		  ? SQUIB_OK
				  : SQUIB_E_NOT_FOUND;
	got = squib_mem_get_region(f->mem, slot, info);
	check_status(f, got, want);
	info_check(f, got, &box, &before, region);
	return true;
}

struct foreach_ctx {
	struct fuzz *f;
	/* The regions at the call, ascending base: what must be visited even
	 * if a nested operation removes some of them meanwhile. */
	struct model_region snapshot[MODEL_MAX_REGIONS];
	size_t count, visited, stop_at, nest_at;
	int stop_value;
	bool nested; /* a nested operation ran: snapshot bytes may be stale */
};

static int foreach_cb(const squib_region_info_t *info, void *opaque)
{
	struct foreach_ctx *ctx = opaque;
	struct fuzz *f = ctx->f;
	const struct model_region *want, *now;
	struct model_region relaxed;
	char saved[sizeof(f->op_text)];
	size_t k = ++ctx->visited;

	if (k > ctx->count)
		mismatch(f, "foreach visited %zu regions, the snapshot has %zu", k, ctx->count);
	want = &ctx->snapshot[k - 1];
	/* After a nested set_protection or set_dirty_log, a region still
	 * there may show its prot and DIRTY_LOG as at the call or as now. */
	now = model_get(&f->model, want->slot);
	if (ctx->nested && now && now->id == want->id) {
		relaxed = *want;
		if (info->prot == now->prot)
			relaxed.prot = now->prot;
		if (info->flags == now->flags)
			relaxed.flags = now->flags;
		want = &relaxed;
	}
	if (info->range.base.raw != want->base || info->range.size != want->size ||
	    info->slot != want->slot || info->prot != want->prot)
		mismatch(f,
			 "foreach visit %zu is slot %" PRIu32 " [0x%016" PRIx64 " + %" PRIu64
			 "], the model expects slot %" PRIu32 " [0x%016" PRIx64 " + %" PRIu64 "]",
			 k, info->slot, info->range.base.raw, info->range.size, want->slot,
			 want->base, want->size);
	if (!info->host_addr || info->host_addr != want->host)
		mismatch(f, "foreach visit %zu: host_addr is %p, it was %p after the add", k,
			 info->host_addr, (void *)want->host);
	info_check_0_3(f, info, want, "foreach's info");
	if (!ctx->nested)
		compare_bytes(f, "foreach host_addr", info->host_addr, want->bytes,
			      (size_t)want->size, want->base);
	if (k == ctx->nest_at && f->depth < MAX_DEPTH) {
		/* "cb may call any squib_mem_* function on the same handle but
		 * squib_mem_free, add and remove included" */
		ctx->nested = true;
		memcpy(saved, f->op_text, sizeof(saved));
		f->depth++;
		(void)run_op(f);
		f->depth--;
		memcpy(f->op_text, saved, sizeof(saved));
	}
	return k == ctx->stop_at ? ctx->stop_value : 0;
}

static bool op_foreach(struct fuzz *f)
{
	static const int values[] = {1, 2, 7, 42, 255, INT_MAX, INT_MIN, -1};
	const struct model_region *sorted[MODEL_MAX_REGIONS];
	struct foreach_ctx *ctx;
	size_t want_visits;
	unsigned number;
	int want, got;
	uint8_t stop = take_u8(&f->in), value = take_u8(&f->in), nest = take_u8(&f->in);

	if (f->in.out)
		return false;
	describe(f, "foreach_region stop at %u value %d nest at %u", stop, values[value % 8], nest);
	number = f->op_number;
	if (trace)
		fprintf(stderr, "\n");
	ctx = calloc(1, sizeof(*ctx)); /* the snapshot is large for a nested stack */
	if (!ctx)
		abort();
	ctx->f = f;
	ctx->count = model_sorted(&f->model, sorted);
	for (size_t i = 0; i < ctx->count; i++)
		ctx->snapshot[i] = *sorted[i];
	ctx->stop_at = stop;
	ctx->nest_at = nest;
	ctx->stop_value = values[value % 8];
	got = squib_mem_foreach_region(f->mem, foreach_cb, ctx);
	want = stop && stop <= ctx->count ? ctx->stop_value : 0;
	want_visits = stop && stop <= ctx->count ? stop : ctx->count;
	if (trace)
		fprintf(stderr, "%*s#%u foreach returned %d after %zu visits\n", (int)f->depth * 4,
			"", number, got, ctx->visited);
	if (got != want || ctx->visited != want_visits)
		mismatch(f, "foreach returned %d after %zu visits, the model expects %d after %zu",
			 got, ctx->visited, want, want_visits);
	free(ctx);
	return true;
}

/* ---- backings, flags and discard (squib/backing.h) ---------------------- */

static uint64_t round_up(uint64_t value, uint64_t align)
{
	return value > UINT64_MAX - (align - 1) ? value : (value + align - 1) & ~(align - 1);
}

/* A file of size bytes holding file_buf[0, size): a memfd, or a temporary
 * file unlinked at once. -1 if the host refuses (the operation is then
 * skipped). */
static int make_file(bool temporary, size_t size)
{
	int fd;

	if (temporary) {
		const char *dir = getenv("TMPDIR");
		char path[512];

		snprintf(path, sizeof(path), "%s/fuzz_mem.XXXXXX", dir && *dir ? dir : "/tmp");
		fd = mkstemp(path);
		if (fd >= 0)
			(void)unlink(path);
	} else {
		fd = memfd_create("fuzz_mem", MFD_CLOEXEC);
	}
	if (fd < 0)
		return -1;
	if (pwrite(fd, file_buf, size, 0) != (ssize_t)size) {
		(void)close(fd);
		return -1;
	}
	return fd;
}

/* The same file opened again with flags (O_RDONLY, O_WRONLY). */
static int reopen(int fd, int flags)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	return open(path, flags | O_CLOEXEC);
}

static void close_if_open(int *fd)
{
	if (*fd >= 0)
		(void)close(*fd);
	*fd = -1;
}

static const char long_name[] = "fuzz-region-whose-name-is-longer-than-name-max";

/* squib_mem_add_region_opts with bytes one past the layout the library
 * knows, to be set (UNSUPPORTED) or left zero (accepted). */
struct opts_box {
	squib_region_opts_t opts;
	unsigned char tail[16];
};

/* The fields of an add_region_opts, decoded and made real. */
struct opts_op {
	uint8_t backing, oflags, extra, file, shape, seed;
	int file_fd;  /* the harness's O_RDWR descriptor of the file, or -1 */
	int other_fd; /* a second descriptor (reopened), or -1 */
	void *map;    /* the harness's mapping, or NULL */
	size_t map_len;
	struct opts_box box;
	struct model_opts model;
};

static uint32_t extra_flag(uint8_t extra)
{
	switch (extra % EXTRA_MODES) {
	case EXTRA_SHARED:
		return SQUIB_REGION_SHARED;
	case EXTRA_FILE:
		return SQUIB_REGION_FILE;
	case EXTRA_HUGETLB:
		return SQUIB_REGION_HUGETLB;
	case EXTRA_DIRTY_LOG:
		return SQUIB_REGION_DIRTY_LOG;
	case EXTRA_PRIVATE:
		return SQUIB_REGION_PRIVATE;
	case EXTRA_UNKNOWN:
		return 0x800u;
	case EXTRA_TOP:
		return 0x80000000u;
	default:
		return 0;
	}
}

static uint32_t opts_flags(const struct opts_op *op)
{
	static const struct {
		uint8_t bit;
		uint32_t flag;
	} table[] = {
	    {OFLAG_READONLY, SQUIB_REGION_READONLY}, {OFLAG_PRIVATE, SQUIB_REGION_PRIVATE},
	    {OFLAG_THP, SQUIB_REGION_THP},	     {OFLAG_DONTDUMP, SQUIB_REGION_DONTDUMP},
	    {OFLAG_DONTFORK, SQUIB_REGION_DONTFORK}, {OFLAG_PREFAULT, SQUIB_REGION_PREFAULT},
	};
	uint32_t flags = extra_flag(op->extra);

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (op->oflags & table[i].bit)
			flags |= table[i].flag;
	if (op->backing == BACKING_SHARED)
		flags |= SQUIB_REGION_SHARED;
	if (op->backing == BACKING_FILE_MEMFD || op->backing == BACKING_FILE_TEMP ||
	    op->backing == BACKING_CALLER_FILE)
		flags |= SQUIB_REGION_FILE;
	return flags;
}

/*
 * Makes the file, the descriptor and the caller's mapping the operation
 * names, and fills opts and what the model is told. false: the host
 * refused the harness something (skip the operation).
 */
static bool opts_prepare(struct fuzz *f, struct opts_op *op)
{
	squib_region_opts_t *opts = &op->box.opts;
	struct model_opts *m = &op->model;
	bool file = opts->flags & SQUIB_REGION_FILE;
	bool mine = op->backing == BACKING_CALLER || op->backing == BACKING_CALLER_FILE;
	unsigned fd_mode = (op->file >> 2) % FILE_FD_MODES;
	uint64_t size = opts->range.size, offset = (op->file & FILE_OFFSET) * host_page;
	/* Only regions the library would really map are made real. */
	bool real = size <= MAX_REGION_SIZE;
	size_t file_size;

	if (fd_mode == FILE_FD_MISALIGNED)
		offset += 512;
	m->fd_offset = offset;
	m->fd = MODEL_FD_RDWR;
	opts->fd = (int)(op->seed % 3) - 1; /* not read without FILE */
	if (file) {
		opts->fd_offset = offset;
		/* The file covers the region, or ends a page short of it; a
		 * mapping the harness makes itself always has its file. */
		file_size = (size_t)offset + (real ? (size_t)size : 0);
		if (fd_mode == FILE_FD_SHORT && !mine && file_size >= host_page)
			file_size -= host_page;
		m->file_size = file_size;
		fill(file_buf, file_size, (uint8_t)(op->seed ^ 0x5a));
		if (fd_mode == FILE_FD_NEGATIVE && !mine) {
			m->fd = MODEL_FD_NEGATIVE;
			opts->fd = -1;
		} else {
			op->file_fd = make_file(op->backing == BACKING_FILE_TEMP, file_size);
			if (op->file_fd < 0)
				return false;
			opts->fd = op->file_fd;
			switch (fd_mode) {
			case FILE_FD_RDONLY:
			case FILE_FD_WRONLY:
				m->fd =
				    fd_mode == FILE_FD_RDONLY ? MODEL_FD_RDONLY : MODEL_FD_WRONLY;
				op->other_fd = reopen(
				    op->file_fd, fd_mode == FILE_FD_RDONLY ? O_RDONLY : O_WRONLY);
				if (op->other_fd < 0)
					return false;
				opts->fd = op->other_fd;
				break;
			case FILE_FD_NEGATIVE:
				m->fd = MODEL_FD_NEGATIVE;
				opts->fd = -1;
				break;
			case FILE_FD_CLOSED:
				/* Closed below, once the mapping (if any) is made:
				 * nothing opens a descriptor between that and the
				 * call, so the number stays free. */
				m->fd = MODEL_FD_CLOSED;
				break;
			default:
				break;
			}
		}
	}
	if (mine) {
		if (f->caller_count == MAX_CALLER_MAPS)
			return false;
		if (real) {
			op->map_len = (size_t)round_up(size ? size : 1, host_page);
			op->map = file ? mmap(NULL, op->map_len, PROT_READ | PROT_WRITE, MAP_SHARED,
					      op->file_fd, (off_t)(offset & ~(host_page - 1)))
				       : mmap(NULL, op->map_len, PROT_READ | PROT_WRITE,
					      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (op->map == MAP_FAILED) {
				op->map = NULL;
				return false;
			}
			if (!file)
				fill(op->map, op->map_len, (uint8_t)(op->seed ^ 0x33));
			opts->host_addr = op->map;
		} else {
			/* Never touched: only calls that must fail before using
			 * it are made (see op_add_opts). */
			opts->host_addr = (void *)(uintptr_t)0x100000000000u;
		}
		if (op->shape & SHAPE_HOST_MISALIGNED)
			opts->host_addr = (uint8_t *)opts->host_addr + 16;
		m->host_addr = true;
		m->host_addr_value = (uint64_t)(uintptr_t)opts->host_addr;
	}
	if (fd_mode == FILE_FD_CLOSED && file)
		close_if_open(&op->file_fd);
	return true;
}

/* Gives back what opts_prepare() made, but a mapping the library now uses. */
static void opts_release(struct fuzz *f, struct opts_op *op, bool added)
{
	close_if_open(&op->file_fd);
	close_if_open(&op->other_fd);
	if (!op->map)
		return;
	if (added) {
		f->callers[f->caller_count++] = (struct caller_map){op->map, op->map_len};
		return;
	}
	(void)munmap(op->map, op->map_len);
}

static enum model_backing opts_backing(uint32_t flags, bool mine)
{
	if (mine)
		return MODEL_CALLER;
	if (flags & SQUIB_REGION_SHARED)
		return MODEL_MEMFD;
	if (flags & SQUIB_REGION_FILE)
		return flags & SQUIB_REGION_PRIVATE ? MODEL_FILE_PRIVATE : MODEL_FILE_SHARED;
	return MODEL_ANONYMOUS;
}

static bool op_add_opts(struct fuzz *f)
{
	struct opts_op op = {.file_fd = -1, .other_fd = -1};
	squib_region_opts_t *opts = &op.box.opts;
	struct opts_box before;
	uint32_t slot = take_slot(f), prot;
	uint64_t base, size;
	bool mine, bytes, opts_null, aligns;
	unsigned sz_mode;
	struct model_new_region added;
	struct model_view view;
	struct model_log log;
	size_t mark;
	int want, got;

	take_layout(f, &base, &size);
	prot = take_prot(f);
	op.backing = take_u8(&f->in) % BACKING_MODES;
	op.oflags = take_u8(&f->in);
	op.extra = take_u8(&f->in);
	op.file = take_u8(&f->in);
	op.shape = take_u8(&f->in);
	op.seed = take_u8(&f->in);
	if (f->in.out)
		return false;

	memset(&op.box, 0, sizeof(op.box));
	*opts = (squib_region_opts_t)SQUIB_REGION_OPTS_INIT;
	opts->flags = opts_flags(&op);
	mine = op.backing == BACKING_CALLER || op.backing == BACKING_CALLER_FILE;
	/* Page-aligned where the backing needs it, unless asked not to. */
	aligns = mine || (opts->flags & (SQUIB_REGION_FILE | SQUIB_REGION_SHARED));
	if (aligns && !(op.shape & SHAPE_RAW_LAYOUT)) {
		base &= ~(host_page - 1);
		size = round_up(size, host_page);
	}
	opts->range = (squib_range_t){.base = SQUIB_GPA(base), .size = size};
	opts->slot = slot;
	opts->prot = prot;
	bytes = op.oflags & OFLAG_BYTES;
	if (bytes) {
		fill(lib_buf, size < sizeof(lib_buf) ? (size_t)size : sizeof(lib_buf), op.seed);
		opts->bytes = lib_buf;
	}
	opts->name = op.oflags & OFLAG_NAME	   ? long_name
		     : op.shape & SHAPE_NAME_SHORT ? "fuzz"
						   : NULL;
	sz_mode = op.shape & SHAPE_SZ;
	opts->sz = sz_mode == 1 ? sizeof(*opts) - 1 : sz_mode >= 2 ? sizeof(op.box) : sizeof(*opts);
	if (sz_mode == 3)
		op.box.tail[op.seed % sizeof(op.box.tail)] = (uint8_t)(op.seed | 1);
	opts_null = (op.shape & SHAPE_OPTS_NULL) == SHAPE_OPTS_NULL;

	op.model = (struct model_opts){
	    .opts_null = opts_null,
	    .sz = sz_mode == 1	 ? MODEL_SZ_SHORT
		  : sz_mode == 2 ? MODEL_SZ_LONG_ZERO
		  : sz_mode == 3 ? MODEL_SZ_LONG_TAIL
				 : MODEL_SZ_EXACT,
	    .base = base,
	    .size = size,
	    .slot = slot,
	    .prot = prot,
	    .flags = opts->flags,
	    .bytes = bytes,
	    .page = host_page,
	    .huge = huge_page,
	};
	if (!opts_prepare(f, &op)) {
		opts_release(f, &op, false);
		describe(f, "add_region_opts -> skipped (the host refused a file or mapping)\n");
		return true;
	}
	describe(f,
		 "add_region_opts slot %" PRIu32 " base 0x%016" PRIx64 " size %" PRIu64
		 " prot 0x%" PRIx32 " flags 0x%" PRIx32 " backing %u fd %d/%d offset %" PRIu64
		 " host_addr %p sz %zu%s%s%s",
		 slot, base, size, prot, opts->flags, op.backing, opts->fd, (int)op.model.fd,
		 opts->fd_offset, opts->host_addr, opts->sz, bytes ? " bytes" : "",
		 opts->name ? " named" : "", opts_null ? " opts NULL" : "");
	want = model_add_opts_status(&f->model, &op.model);
	/* Regions the library would really map stay small and few; bytes are
	 * never claimed past the buffer; a caller's mapping is never claimed
	 * larger than it is. Each only where the library would use them. */
	if ((want == SQUIB_OK && (size > MAX_REGION_SIZE || f->model.count == MODEL_MAX_REGIONS ||
				  model_bytes(&f->model) + size > MAX_TOTAL_BYTES)) ||
	    ((want == SQUIB_OK || want == SQUIB_E_NO_MEMORY) &&
	     ((bytes && size > SCRATCH_SIZE) || (mine && !op.map)))) {
		if (trace)
			fprintf(stderr, " -> skipped (too large)\n");
		opts_release(f, &op, false);
		return true;
	}
	/* The region as it would be registered, and its first bytes: bytes,
	 * the caller's mapping, or the file at fd_offset. */
	added = (struct model_new_region){
	    .base = base,
	    .size = size,
	    .slot = slot,
	    .prot = prot,
	    .flags = opts->flags,
	    .backing = opts_backing(opts->flags, mine),
	    .fd_offset = opts->fd_offset,
	    .name = opts->name,
	    .bytes = bytes			       ? lib_buf
		     : mine			       ? op.map
		     : opts->flags & SQUIB_REGION_FILE ? file_buf + opts->fd_offset
						       : NULL,
	};
	model_view_of_new(&added, &view);
	memcpy(&before, &op.box, sizeof(before));
	mark = mutation_begin(f);
	if (want == SQUIB_OK)
		mutation_hide(f, slot, true, added.bytes);
	got = squib_mem_add_region_opts(f->mem, opts_null ? NULL : opts);
	log = mutation_log(f, mark);
	listen_add(f, &log, &view, &want);
	check_status(f, got, want);
	/* opts is const: its bytes, the tail included, are as they were. */
	if (memcmp(&before, &op.box, sizeof(before)) != 0)
		mismatch(f, "squib_mem_add_region_opts wrote *opts");
	if (got == SQUIB_OK) {
		const struct model_region *region;
		struct info_box box, info_before;

		if (!model_add_opts(&f->model, &added)) {
			fprintf(stderr, "fuzz_mem: the model is out of memory\n");
			abort();
		}
		region = &f->model.regions[f->model.count - 1];
		adopt(f, &f->model.regions[f->model.count - 1]);
		check_add_hosts(f, &log, region);
		/* Copied: scribbling over the caller's buffer changes nothing. */
		if (bytes)
			memset(lib_buf, CANARY, (size_t)size);
		verify_region(f, region);
		verify_file(f, region);
		(void)info_prepare(&box, &info_before, INFO_EXACT);
		got = squib_mem_get_region(f->mem, slot, &box.info);
		if (got != SQUIB_OK)
			mismatch(f, "get_region of the new slot returned %s", status_name(got));
		info_check(f, got, &box, &info_before, region);
	}
	mutation_end(f, mark, log.refused);
	opts_release(f, &op, got == SQUIB_OK);
	return true;
}

static bool op_discard(struct fuzz *f)
{
	struct target t = take_target(f);
	uint8_t align = take_u8(&f->in);
	uint64_t addr = take_addr(f, t), len = take_len(f, t, addr);
	const struct model_region *where;
	int want, got;

	if (f->in.out)
		return false;
	if (align & 1)
		addr = round_up(addr, host_page);
	if (align & 2)
		len &= ~(host_page - 1);
	describe(f, "discard addr 0x%016" PRIx64 " len %" PRIu64, addr, len);
	want = model_discard_status(&f->model, addr, len, host_page, &where);
	got = squib_mem_discard(f->mem, SQUIB_GPA(addr), (size_t)len);
	check_status(f, got, want);
	check_range_message(f, got, addr);
	/* "Afterwards the range reads as zeros." */
	if (got == SQUIB_OK && where) {
		memset(where->bytes + (addr - where->base), 0, (size_t)len);
		/* "afterwards the range reads as zeros and the pages count as
		 * dirty" */
		model_mark_dirty(where, addr - where->base, len);
		verify_file(f, where);
	}
	verify_near(f, addr, len);
	return true;
}

/* ---- host translation, pins, ring atomics (squib/translate.h, ring.h) ---- */

static uint32_t take_access(struct fuzz *f)
{
	static const uint32_t table[ACCESS_MODES] = {
	    [ACCESS_READ] = SQUIB_PROT_READ,
	    [ACCESS_WRITE] = SQUIB_PROT_WRITE,
	    [ACCESS_RW] = SQUIB_PROT_RW,
	    [ACCESS_READ_AGAIN] = SQUIB_PROT_READ,
	    [ACCESS_WRITE_AGAIN] = SQUIB_PROT_WRITE,
	    [ACCESS_RW_AGAIN] = SQUIB_PROT_RW,
	    [ACCESS_NONE] = 0,
	    [ACCESS_EXEC] = SQUIB_PROT_EXEC,
	    [ACCESS_READ_EXEC] = SQUIB_PROT_READ | SQUIB_PROT_EXEC,
	    [ACCESS_HIGH] = SQUIB_PROT_READ | 0x80000000u,
	};

	return table[take_u8(&f->in) % ACCESS_MODES];
}

/* What a failed call must leave alone: never a real answer. */
#define HOST_CANARY ((void *)&canary_buf[1])
#define PIN_CANARY ((squib_pin_t *)(void *)&canary_buf[2])

static bool op_host_range(struct fuzz *f)
{
	uint32_t access = take_access(f);
	struct target t = take_target(f);
	uint64_t addr = take_addr(f, t), len = take_len(f, t, addr);
	bool host_null = take_u8(&f->in) % 8 == 0;
	const struct model_region *where;
	void *host = HOST_CANARY;
	int want, got;

	if (f->in.out)
		return false;
	describe(f, "host_range addr 0x%016" PRIx64 " len %" PRIu64 " access 0x%" PRIx32 "%s", addr,
		 len, access, host_null ? " host NULL" : "");
	want = model_host_range_status(&f->model, addr, len, access, host_null, &where);
	got = squib_mem_host_range(f->mem, SQUIB_GPA(addr), (size_t)len, access,
				   host_null ? NULL : &host);
	check_status(f, got, want);
	check_range_message(f, got, addr);
	if (got != SQUIB_OK) {
		if (host != HOST_CANARY)
			mismatch(f, "a failed host_range (%s) wrote *host", status_name(got));
		return true;
	}
	if (where) {
		if (host != where->host + (addr - where->base))
			mismatch(f,
				 "host_range gave %p, slot %" PRIu32 "'s host address %p + %" PRIu64
				 " is %p",
				 host, where->slot, (void *)where->host, addr - where->base,
				 (void *)(where->host + (addr - where->base)));
		compare_bytes(f, "host_range's bytes", host, where->bytes + (addr - where->base),
			      (size_t)len, addr);
		return true;
	}
	/* len 0: "the host address of addr", in a region whose [base, base +
	 * size] holds it (at the end of one and the base of the next, either). */
	for (size_t i = 0; i < f->model.count; i++) {
		const struct model_region *region = &f->model.regions[i];

		if (addr >= region->base && addr - region->base <= region->size &&
		    host == region->host + (addr - region->base))
			return true;
	}
	mismatch(f, "the empty host_range gave %p, the host address of no region's 0x%016" PRIx64,
		 host, addr);
}

/* The model's bytes behind a pin's iovec: the live region's, or the ghost
 * of a region removed since. */
static uint8_t *piece_bytes(const struct fuzz *f, const struct pin_piece *piece)
{
	for (size_t i = 0; i < f->model.count; i++)
		if (f->model.regions[i].id == piece->id)
			return f->model.regions[i].bytes + piece->offset;
	for (size_t i = 0; i < f->ghost_count; i++)
		if (f->ghosts[i].id == piece->id)
			return f->ghosts[i].bytes + piece->offset;
	fprintf(stderr, "fuzz_mem: a pin names region %" PRIu64 ", which the harness lost\n",
		piece->id);
	abort();
}

static bool pinned(const struct fuzz *f, uint64_t id)
{
	for (size_t i = 0; i < f->pin_count; i++)
		for (size_t k = 0; k < f->pins[i].count; k++)
			if (f->pins[i].pieces[k].id == id)
				return true;
	return false;
}

static bool ghost_of(const struct fuzz *f, uint64_t id)
{
	for (size_t i = 0; i < f->ghost_count; i++)
		if (f->ghosts[i].id == id)
			return true;
	return false;
}

static void ghost_add(struct fuzz *f, const struct model_region *region)
{
	struct ghost *ghost;

	if (ghost_of(f, region->id))
		return;
	if (f->ghost_count == f->ghost_cap) {
		size_t cap = f->ghost_cap ? 2 * f->ghost_cap : 8;
		struct ghost *more = realloc(f->ghosts, cap * sizeof(*more));

		if (!more)
			abort();
		f->ghosts = more;
		f->ghost_cap = cap;
	}
	ghost = &f->ghosts[f->ghost_count];
	ghost->id = region->id;
	ghost->size = region->size;
	ghost->bytes = malloc(region->size ? (size_t)region->size : 1);
	if (!ghost->bytes)
		abort();
	memcpy(ghost->bytes, region->bytes, (size_t)region->size);
	f->ghost_count++;
}

/* A region leaves the model: pins on it keep its memory, and its bytes. */
static void pins_region_gone(struct fuzz *f, const struct model_region *region)
{
	if (pinned(f, region->id))
		ghost_add(f, region);
}

/* Ghosts no pin names any more. */
static void ghost_gc(struct fuzz *f)
{
	size_t kept = 0;

	for (size_t i = 0; i < f->ghost_count; i++) {
		if (pinned(f, f->ghosts[i].id))
			f->ghosts[kept++] = f->ghosts[i];
		else
			free(f->ghosts[i].bytes);
	}
	f->ghost_count = kept;
}

/* The bytes at a pin's iovecs against the model (or the ghosts). */
static void pin_check(const struct fuzz *f, const struct live_pin *pin)
{
	for (size_t k = 0; k < pin->count; k++)
		compare_bytes(f, "the bytes at a pin's iovec", pin->pieces[k].host,
			      piece_bytes(f, &pin->pieces[k]), (size_t)pin->pieces[k].len,
			      pin->addr);
}

/* Writes through a pin's iovecs (the model first, then the same bytes to
 * the host memory), then reads the live regions back through the library. */
static void pin_write(struct fuzz *f, const struct live_pin *pin, uint8_t seed)
{
	for (size_t k = 0; k < pin->count; k++) {
		uint8_t *bytes = piece_bytes(f, &pin->pieces[k]);

		fill(bytes, (size_t)pin->pieces[k].len, (uint8_t)(seed + k));
		memcpy(pin->pieces[k].host, bytes, (size_t)pin->pieces[k].len);
	}
	for (size_t k = 0; k < pin->count; k++)
		for (size_t i = 0; i < f->model.count; i++)
			if (f->model.regions[i].id == pin->pieces[k].id)
				verify_region(f, &f->model.regions[i]);
}

static void unpin_at(struct fuzz *f, size_t at)
{
	const struct live_pin *pin = &f->pins[at];

	squib_mem_unpin(pin->pin);
	/* "Unpinning a pin taken with WRITE marks its range dirty in the
	 * regions that still log": the regions it pinned that are still
	 * there (a new region in a removed one's place is other memory). */
	if (pin->access & SQUIB_PROT_WRITE)
		for (size_t k = 0; k < pin->count; k++)
			for (size_t i = 0; i < f->model.count; i++)
				if (f->model.regions[i].id == pin->pieces[k].id)
					model_mark_dirty(&f->model.regions[i],
							 pin->pieces[k].offset, pin->pieces[k].len);
	memmove(&f->pins[at], &f->pins[at + 1], (f->pin_count - at - 1) * sizeof(f->pins[0]));
	f->pin_count--;
	ghost_gc(f);
}

static bool op_translate(struct fuzz *f, bool pin)
{
	static const size_t caps[CAP_INDEX + 1] = {0, 1, 2, 3, 4, 8, 64, 72};
	static struct iovec iov[IOV_ARRAY], iov_before[IOV_ARRAY];
	struct model_piece pieces[MODEL_MAX_REGIONS];
	uint32_t access = take_access(f);
	struct target t = take_target(f);
	uint64_t addr = take_addr(f, t), len = take_len(f, t, addr);
	uint8_t cap = take_u8(&f->in), seed = take_u8(&f->in);
	unsigned nulls = cap & CAP_NULLS;
	struct model_translate call = {
	    .addr = addr,
	    .len = len,
	    .access = access,
	    .iov_null = nulls == 0x38,
	    .used_null = nulls == 0x30,
	    .pin_null = pin && nulls == 0x28,
	    .iov_cap = caps[cap & CAP_INDEX],
	};
	size_t used = USED_CANARY, count;
	squib_pin_t *made = PIN_CANARY;
	struct live_pin *live;
	int want, got;

	if (f->in.out)
		return false;
	describe(f,
		 "%s addr 0x%016" PRIx64 " len %" PRIu64 " access 0x%" PRIx32 " iov_cap %" PRIu64
		 "%s%s%s%s%s",
		 pin ? "pin" : "translate", addr, len, access, call.iov_cap,
		 call.iov_null ? " iov NULL" : "", call.used_null ? " iov_used NULL" : "",
		 call.pin_null ? " pin NULL" : "", cap & CAP_WRITE ? " write" : "",
		 pin && (cap & CAP_KEEP) ? " kept past free" : "");
	want = model_translate(&f->model, &call, pieces, &count);
	memset(iov, CANARY, sizeof(iov));
	memcpy(iov_before, iov, sizeof(iov));
	if (pin)
		got = squib_mem_pin(f->mem, SQUIB_GPA(addr), (size_t)len, access,
				    call.iov_null ? NULL : iov, (size_t)call.iov_cap,
				    call.used_null ? NULL : &used, call.pin_null ? NULL : &made);
	else
		got = squib_mem_translate(f->mem, SQUIB_GPA(addr), (size_t)len, access,
					  call.iov_null ? NULL : iov, (size_t)call.iov_cap,
					  call.used_null ? NULL : &used);
	check_status(f, got, want);
	check_range_message(f, got, addr);
	if (got != SQUIB_OK) {
		/* "All or nothing: on failure *iov_used and iov[] are not
		 * written"; "On failure *pin is not written." */
		if (memcmp(iov, iov_before, sizeof(iov)) != 0 || used != USED_CANARY ||
		    made != PIN_CANARY)
			mismatch(f, "a failed %s (%s) wrote iov[], *iov_used or *pin",
				 pin ? "pin" : "translate", status_name(got));
		return true;
	}
	if (used != count)
		mismatch(f, "*iov_used is %zu, the model splits into %zu", used, count);
	for (size_t i = 0; i < count; i++) {
		const struct model_region *region = pieces[i].region;
		uint8_t *host = region->host + pieces[i].offset;

		if (iov[i].iov_base != host || iov[i].iov_len != pieces[i].len)
			mismatch(f,
				 "iov[%zu] is {%p, %zu}, the model {%p, %" PRIu64 "} (slot %" PRIu32
				 " + %" PRIu64 ")",
				 i, iov[i].iov_base, iov[i].iov_len, (void *)host, pieces[i].len,
				 region->slot, pieces[i].offset);
		compare_bytes(f, "the bytes at an iovec", host, region->bytes + pieces[i].offset,
			      (size_t)pieces[i].len, region->base + pieces[i].offset);
	}
	if (memcmp(iov + count, iov_before + count, sizeof(iov) - count * sizeof(iov[0])) != 0)
		mismatch(f, "%s wrote iov[] past *iov_used %zu", pin ? "pin" : "translate", count);
	if (pin && !made)
		mismatch(f, "squib_mem_pin gave a NULL pin");
	if (!pin) {
		if ((cap & CAP_WRITE) && (access & SQUIB_PROT_WRITE)) {
			/* Writes through the iovecs show in squib_mem_read. */
			for (size_t i = 0; i < count; i++) {
				uint8_t *bytes = pieces[i].region->bytes + pieces[i].offset;

				fill(bytes, (size_t)pieces[i].len, (uint8_t)(seed + i));
				memcpy(iov[i].iov_base, bytes, (size_t)pieces[i].len);
			}
			for (size_t i = 0; i < count; i++)
				verify_region(f, pieces[i].region);
		}
		return true;
	}
	if (f->pin_count == MAX_PINS) {
		/* The set is full: this one ends at once, and its unpin marks
		 * the range as any unpin of a WRITE pin does. */
		squib_mem_unpin(made);
		if (access & SQUIB_PROT_WRITE)
			for (size_t i = 0; i < count; i++)
				model_mark_dirty(pieces[i].region, pieces[i].offset, pieces[i].len);
		return true;
	}
	live = &f->pins[f->pin_count++];
	live->pin = made;
	live->access = access;
	live->keep = cap & CAP_KEEP;
	live->addr = addr;
	live->len = len;
	live->count = count;
	for (size_t i = 0; i < count; i++)
		live->pieces[i] = (struct pin_piece){
		    .id = pieces[i].region->id,
		    .offset = pieces[i].offset,
		    .len = pieces[i].len,
		    .host = iov[i].iov_base,
		};
	if ((cap & CAP_WRITE) && (access & SQUIB_PROT_WRITE))
		pin_write(f, live, seed);
	return true;
}

static bool op_unpin(struct fuzz *f)
{
	uint8_t index = take_u8(&f->in);
	size_t at;

	if (f->in.out)
		return false;
	if (f->pin_count == 0) {
		describe(f, "unpin NULL\n");
		squib_mem_unpin(NULL);
		return true;
	}
	at = index % f->pin_count;
	describe(f, "unpin pin %zu of %zu (addr 0x%016" PRIx64 " len %" PRIu64 ")\n", at,
		 f->pin_count, f->pins[at].addr, f->pins[at].len);
	pin_check(f, &f->pins[at]);
	unpin_at(f, at);
	return true;
}

static bool op_pin_io(struct fuzz *f)
{
	uint8_t index = take_u8(&f->in), seed = take_u8(&f->in);
	const struct live_pin *pin;

	if (f->in.out)
		return false;
	if (f->pin_count == 0) {
		describe(f, "pin_io (no pin)\n");
		return true;
	}
	pin = &f->pins[index % f->pin_count];
	describe(f, "pin_io pin %u of %zu (addr 0x%016" PRIx64 " len %" PRIu64 ")%s\n",
		 index % (unsigned)f->pin_count, f->pin_count, pin->addr, pin->len,
		 (seed & 1) && (pin->access & SQUIB_PROT_WRITE) ? " write" : "");
	pin_check(f, pin);
	if ((seed & 1) && (pin->access & SQUIB_PROT_WRITE)) {
		pin_write(f, pin, seed);
		pin_check(f, pin);
	}
	return true;
}

/* At the end of the input: the pins not kept end before squib_mem_free;
 * the kept ones hold the last bytes of every region they name. */
static void pins_before_free(struct fuzz *f)
{
	for (size_t i = f->pin_count; i-- > 0;) {
		pin_check(f, &f->pins[i]);
		if (!f->pins[i].keep)
			unpin_at(f, i);
	}
	for (size_t i = 0; i < f->model.count; i++)
		pins_region_gone(f, &f->model.regions[i]);
}

/* After squib_mem_free: "unpinning after squib_mem_free is valid", and the
 * memory stays mapped until then. */
static void pins_after_free(struct fuzz *f)
{
	while (f->pin_count > 0) {
		pin_check(f, &f->pins[f->pin_count - 1]);
		unpin_at(f, f->pin_count - 1);
	}
	free(f->ghosts);
	f->ghosts = NULL;
	f->ghost_count = f->ghost_cap = 0;
}

static bool op_ring(struct fuzz *f)
{
	unsigned kind = take_u8(&f->in) % RING_MODES;
	struct target t = take_target(f);
	uint64_t addr = take_addr(f, t);
	uint8_t flags = take_u8(&f->in);
	uint64_t value = take_u64(&f->in), expected = 0;
	unsigned width = 2u << (kind % 3);
	bool store = kind >= RING_STORE_16, out_null = !store && flags % 8 == 0;
	const struct model_region *where;
	uint16_t v16 = (uint16_t)canary_value(2);
	uint32_t v32 = (uint32_t)canary_value(4);
	uint64_t v64 = canary_value(8);
	int want, got;

	if (f->in.out)
		return false;
	if (store)
		describe(f, "store_u%u_release addr 0x%016" PRIx64 " value 0x%" PRIx64, width * 8,
			 addr, value);
	else
		describe(f, "load_u%u_acquire addr 0x%016" PRIx64 "%s", width * 8, addr,
			 out_null ? " out NULL" : "");
	want = model_ring_status(&f->model, addr, width, store, out_null, &where);
	switch (kind) {
	case RING_LOAD_16:
		got = squib_mem_load_u16_acquire(f->mem, SQUIB_GPA(addr), out_null ? NULL : &v16);
		value = v16;
		break;
	case RING_LOAD_32:
		got = squib_mem_load_u32_acquire(f->mem, SQUIB_GPA(addr), out_null ? NULL : &v32);
		value = v32;
		break;
	case RING_LOAD_64:
		got = squib_mem_load_u64_acquire(f->mem, SQUIB_GPA(addr), out_null ? NULL : &v64);
		value = v64;
		break;
	case RING_STORE_16:
		got = squib_mem_store_u16_release(f->mem, SQUIB_GPA(addr), (uint16_t)value);
		break;
	case RING_STORE_32:
		got = squib_mem_store_u32_release(f->mem, SQUIB_GPA(addr), (uint32_t)value);
		break;
	default:
		got = squib_mem_store_u64_release(f->mem, SQUIB_GPA(addr), value);
		break;
	}
	check_status(f, got, want);
	check_range_message(f, got, addr);
	if (store) {
		/* Little-endian in guest memory. */
		if (got == SQUIB_OK) {
			for (unsigned i = 0; i < width; i++)
				where->bytes[addr - where->base + i] = (uint8_t)(value >> (8 * i));
			/* the release stores are library writes: they mark */
			model_mark_dirty(where, addr - where->base, width);
		}
		verify_near(f, addr, width);
		return true;
	}
	if (got != SQUIB_OK) {
		expected = canary_value(width); /* "A failed call writes nothing." */
	} else {
		for (unsigned i = width; i-- > 0;)
			expected = expected << 8 | where->bytes[addr - where->base + i];
	}
	if (value != expected)
		mismatch(f,
			 "load_u%u_acquire (%s) gave 0x%" PRIx64 ", the model expects 0x%" PRIx64,
			 width * 8, status_name(got), value, expected);
	return true;
}

/* ---- listeners, set_protection, dirty logging (squib/listener.h, dirty.h) - */

/* "A callback fails by returning a negative squib_status_t ... (any other
 * non-zero value is taken as SQUIB_E_BUSY)" */
static const int answers[ANSWER_MODES] = {
    [ANSWER_INVALID_ARGUMENT] = SQUIB_E_INVALID_ARGUMENT,
    [ANSWER_NO_MEMORY] = SQUIB_E_NO_MEMORY,
    [ANSWER_OVERLAP] = SQUIB_E_OVERLAP,
    [ANSWER_UNSUPPORTED] = SQUIB_E_UNSUPPORTED,
    [ANSWER_IO] = SQUIB_E_IO,
    [ANSWER_BUSY] = SQUIB_E_BUSY,
    [ANSWER_CORRUPT] = SQUIB_E_CORRUPT,
    [ANSWER_MINUS_100] = -100,
    [ANSWER_INT_MIN] = INT_MIN,
    [ANSWER_ONE] = 1,
    [ANSWER_SEVEN] = 7,
    [ANSWER_INT_MAX] = INT_MAX,
};

/* squib_mem_listener_add with a struct one past the layout the library
 * knows, to be set (UNSUPPORTED) or left zero (accepted). */
struct listener_box {
	squib_listener_t listener;
	unsigned char tail[16];
};

/*
 * LISTENER_ADD: "listener_add replays region_add for every current region,
 * in ascending base order. If one fails, those that succeeded get
 * region_del in reverse order, the listener is not added and the status is
 * returned. The struct is copied; id is never reused within the process."
 * Argument checks first: NULL listener or id, sz short (INVALID_ARGUMENT),
 * a set byte past the layout (UNSUPPORTED).
 */
static bool op_listener_add(struct fuzz *f)
{
	uint8_t shape = take_u8(&f->in), cbs = take_u8(&f->in), refuse = take_u8(&f->in);
	uint8_t when = take_u8(&f->in), answer = take_u8(&f->in), sync = take_u8(&f->in);
	uint8_t seed = take_u8(&f->in), probe = take_u8(&f->in);
	unsigned sz_mode = shape % LSHAPE_SZ_MODES, nulls = shape >> 3u;
	bool listener_null = nulls == LSHAPE_LISTENER_NULL, id_null = nulls == LSHAPE_ID_NULL;
	enum model_sz sz = sz_mode == LSHAPE_SZ_SHORT	    ? MODEL_SZ_SHORT
			   : sz_mode == LSHAPE_SZ_LONG_ZERO ? MODEL_SZ_LONG_ZERO
			   : sz_mode == LSHAPE_SZ_LONG_TAIL ? MODEL_SZ_LONG_TAIL
							    : MODEL_SZ_EXACT;
	struct listener_box box;
	struct fuzz_listener *l;
	squib_status_t listened;
	struct model_log log;
	uint64_t id = ID_CANARY;
	size_t mark;
	int want, got;

	if (f->in.out)
		return false;
	if (f->listener_count == MODEL_MAX_LISTENERS) {
		describe(f, "listener_add -> skipped (%d listeners)\n", MODEL_MAX_LISTENERS);
		return true;
	}
	l = calloc(1, sizeof(*l));
	if (!l)
		abort();
	l->magic = LISTENER_MAGIC;
	l->f = f;
	l->tag = ++f->next_tag;
	l->callbacks = cbs & LCB_SOME ? cbs & MODEL_CB_ALL : MODEL_CB_ALL;
	if (!(l->callbacks & (1u << MODEL_CB_ADD)))
		l->callbacks &= ~(1u << MODEL_CB_DEL);
	l->refusable =
	    refuse & l->callbacks & (LCB_ADD | LCB_PROTECT | LCB_DIRTY_LOG | LCB_LOG_SYNC);
	l->by_chance = refuse & REFUSE_BY_CHANCE;
	l->when = when;
	l->answer = answers[answer % ANSWER_MODES];
	l->sync = (uint8_t)(sync % SYNC_MODES);
	l->probe = probe;
	l->prng = seed;

	memset(&box, 0, sizeof(box));
	box.listener = (squib_listener_t)SQUIB_LISTENER_INIT;
	box.listener.ctx = l;
	if (l->callbacks & LCB_ADD)
		box.listener.region_add = cb_region_add;
	if (l->callbacks & LCB_DEL)
		box.listener.region_del = cb_region_del;
	if (l->callbacks & LCB_PROTECT)
		box.listener.protect = cb_protect;
	if (l->callbacks & LCB_DIRTY_LOG)
		box.listener.dirty_log = cb_dirty_log;
	if (l->callbacks & LCB_LOG_SYNC)
		box.listener.log_sync = cb_log_sync;
	if (sz == MODEL_SZ_SHORT)
		box.listener.sz = sizeof(box.listener) - 1;
	else if (sz != MODEL_SZ_EXACT)
		box.listener.sz = sizeof(box);
	if (sz == MODEL_SZ_LONG_TAIL)
		box.tail[seed % sizeof(box.tail)] = (uint8_t)(seed | 1u);
	describe(f,
		 "listener_add %" PRIu64 " callbacks 0x%x refusing 0x%x %s %u with %d, sync %u, "
		 "probe %u, sz %zu%s%s",
		 l->tag, l->callbacks, l->refusable, l->by_chance ? "by chance" : "at call",
		 l->when, l->answer, l->sync, l->probe, box.listener.sz,
		 listener_null ? " listener NULL" : "", id_null ? " id NULL" : "");
	want = model_listener_add_status(sz, listener_null, id_null);
	mark = mutation_begin(f);
	got = squib_mem_listener_add(f->mem, listener_null ? NULL : &box.listener,
				     id_null ? NULL : &id);
	/* "The struct is copied": the caller may reuse it at once. */
	scribble(&box.listener);
	log = mutation_log(f, mark);
	if (want == SQUIB_OK) {
		mutation_calls(
		    f, &log,
		    model_listener_add(&f->model, &log, l->tag, id, l->callbacks, &listened));
		want = listened;
	} else {
		mutation_calls(f, &log, model_log_done(&log));
	}
	check_status(f, got, want);
	if (got != SQUIB_OK) {
		if (id != ID_CANARY)
			mismatch(f, "a failed listener_add wrote *id (%" PRIu64 ")", id);
		free(l);
	} else {
		for (size_t i = 0; i < f->id_count; i++)
			if (f->ids[i] == id)
				mismatch(f, "listener_add gave id %" PRIu64 " a second time", id);
		if (f->id_count < sizeof(f->ids) / sizeof(f->ids[0]))
			f->ids[f->id_count++] = id;
		l->id = id;
		f->listeners[f->listener_count++] = l;
	}
	mutation_end(f, mark, log.refused);
	return true;
}

static void remember_removed_id(struct fuzz *f, uint64_t id)
{
	f->removed_ids[f->removed_id_next++ % REMEMBERED_IDS] = id;
	if (f->removed_id_count < REMEMBERED_IDS)
		f->removed_id_count++;
}

/* LISTENER_REMOVE: "listener_remove calls region_del for every current
 * region, in descending base order, then forgets the listener. NOT_FOUND
 * for an unknown id"; "no callback of it runs once this returns". */
static bool op_listener_remove(struct fuzz *f)
{
	unsigned mode = take_u8(&f->in) % REMOVE_ID_MODES;
	uint8_t index = take_u8(&f->in);
	uint64_t id = mode == REMOVE_ID_RAW ? take_u64(&f->in) : 0;
	squib_status_t want;
	struct model_log log;
	size_t mark, at;
	int got;

	if (f->in.out)
		return false;
	switch (mode) {
	case REMOVE_ID_LIVE:
	case REMOVE_ID_LIVE_AGAIN:
		id = f->listener_count ? f->listeners[index % f->listener_count]->id : index;
		break;
	case REMOVE_ID_REMOVED:
		id = f->removed_id_count ? f->removed_ids[index % f->removed_id_count] : index;
		break;
	case REMOVE_ID_EDGE:
		id = index & 1u ? UINT64_MAX : 0;
		break;
	default:
		break;
	}
	describe(f, "listener_remove id %" PRIu64, id);
	mark = mutation_begin(f);
	got = squib_mem_listener_remove(f->mem, id);
	log = mutation_log(f, mark);
	mutation_calls(f, &log, model_listener_remove(&f->model, &log, id, &want));
	check_status(f, got, want);
	if (got == SQUIB_OK) {
		for (at = 0; at < f->listener_count && f->listeners[at]->id != id; at++)
			;
		if (at == f->listener_count)
			mismatch(f, "the harness has no listener of id %" PRIu64, id);
		free(f->listeners[at]);
		memmove(&f->listeners[at], &f->listeners[at + 1],
			(f->listener_count - at - 1) * sizeof(f->listeners[0]));
		f->listener_count--;
		remember_removed_id(f, id);
	}
	mutation_end(f, mark, false);
	return true;
}

/*
 * SET_PROTECTION: "Changes a region's recorded protection (the guest's
 * view) after the listeners accepted it": protect of every listener in
 * registration order; "a failure undoes the listeners already called (the
 * same callback with the old state) and is returned". INVALID_ARGUMENT for
 * unknown bits, NOT_FOUND; the same prot: OK, nobody called. Accesses and
 * the host mapping do not change (the model's access rules ignore prot).
 */
static bool op_set_protection(struct fuzz *f)
{
	uint32_t slot = take_slot(f), prot;
	uint8_t same = take_u8(&f->in);
	const struct model_region *region;
	squib_status_t want;
	struct model_log log;
	size_t mark;
	int got;

	prot = take_prot(f);
	if (f->in.out)
		return false;
	region = model_get(&f->model, slot);
	if (same % 4 == 0 && region)
		prot = region->prot;
	describe(f, "set_protection slot %" PRIu32 " prot 0x%" PRIx32, slot, prot);
	mark = mutation_begin(f);
	got = squib_mem_set_protection(f->mem, slot, prot);
	log = mutation_log(f, mark);
	mutation_calls(f, &log, model_set_protection(&f->model, &log, slot, prot, &want));
	check_status(f, got, want);
	mutation_end(f, mark, log.refused);
	return true;
}

/*
 * SET_DIRTY_LOG: dirty_log of every listener in registration order, with
 * "info->flags show[ing] SQUIB_REGION_DIRTY_LOG as it is about to be", a
 * refusal undone; "Logging starts with every bit clear. Asking for the
 * state the region is in succeeds and calls nobody." NOT_FOUND.
 */
static bool op_set_dirty_log(struct fuzz *f)
{
	uint32_t slot = take_slot(f);
	bool enable = take_u8(&f->in) & 1u;
	squib_status_t want;
	struct model_log log;
	size_t mark;
	int got;

	if (f->in.out)
		return false;
	describe(f, "set_dirty_log slot %" PRIu32 " %s", slot, enable ? "on" : "off");
	mark = mutation_begin(f);
	got = squib_mem_set_dirty_log(f->mem, slot, enable);
	log = mutation_log(f, mark);
	mutation_calls(f, &log, model_set_dirty_log(&f->model, &log, slot, enable, &want));
	check_status(f, got, want);
	mutation_end(f, mark, log.refused);
	return true;
}

/*
 * One squib_mem_get_dirty_log, against the model's bitmap word for word:
 * the listeners' log_sync first (what they report is kept, also when one
 * refuses: then the call fails without writing the bitmap), then the copy
 * of the needed words (those past them untouched), cleared with
 * SQUIB_DIRTY_CLEAR. Refused before any log_sync: INVALID_ARGUMENT (NULL
 * bitmap, unknown flags), NOT_FOUND, UNSUPPORTED (not logging), NO_SPACE.
 */
static void dirty_get(struct fuzz *f, uint32_t slot, unsigned words_mode, uint8_t words_byte,
		      unsigned flags_mode)
{
	static uint64_t bitmap[DIRTY_ARRAY];
	uint64_t want_bits[MODEL_DIRTY_WORDS_MAX] = {0};
	const struct model_region *region = model_get(&f->model, slot);
	size_t needed = region ? model_dirty_words(region->base, region->size) : 1;
	struct model_dirty_call call = {.slot = slot, .words = needed};
	squib_status_t want;
	struct model_log log;
	size_t mark;
	int got;

	if (needed > MODEL_DIRTY_WORDS_MAX) {
		fprintf(stderr, "fuzz_mem: a region of %zu bitmap words\n", needed);
		abort();
	}
	switch (words_mode) {
	case DWORDS_SHORT:
		call.words = needed - 1;
		break;
	case DWORDS_ZERO:
		call.words = 0;
		break;
	case DWORDS_MORE:
		call.words = needed + 1u + (words_byte >> 4u) % 4u;
		break;
	case DWORDS_NULL:
		call.bitmap_null = true;
		break;
	default:
		break;
	}
	switch (flags_mode) {
	case DFLAGS_CLEAR:
	case DFLAGS_CLEAR_AGAIN:
		call.flags = SQUIB_DIRTY_CLEAR;
		break;
	case DFLAGS_CLEAR_UNKNOWN:
		call.flags = SQUIB_DIRTY_CLEAR | 0x2u;
		break;
	case DFLAGS_TOP:
		call.flags = 0x80000000u;
		break;
	default:
		break;
	}
	if (trace)
		fprintf(stderr, " (words %" PRIu64 " of %zu, flags 0x%" PRIx32 "%s)", call.words,
			needed, call.flags, call.bitmap_null ? ", bitmap NULL" : "");
	for (size_t i = 0; i < DIRTY_ARRAY; i++)
		bitmap[i] = WORD_CANARY;
	mark = mutation_begin(f);
	got = squib_mem_get_dirty_log(f->mem, slot, call.bitmap_null ? NULL : bitmap,
				      (size_t)call.words, call.flags);
	log = mutation_log(f, mark);
	mutation_calls(f, &log, model_get_dirty_log(&f->model, &log, &call, want_bits, &want));
	check_status(f, got, want);
	if (trace && got == SQUIB_OK) {
		fprintf(stderr, "%*s    bitmap:", (int)f->depth * 4, "");
		for (size_t i = 0; i < needed; i++)
			fprintf(stderr, " %016" PRIx64, bitmap[i]);
		fputc('\n', stderr);
	}
	for (size_t i = 0; i < DIRTY_ARRAY; i++) {
		uint64_t expected = got == SQUIB_OK && i < needed ? want_bits[i] : WORD_CANARY;

		if (bitmap[i] != expected)
			mismatch(f,
				 "get_dirty_log (%s) left bitmap[%zu] = 0x%016" PRIx64
				 ", the model expects 0x%016" PRIx64 "%s",
				 status_name(got), i, bitmap[i], expected,
				 i < needed ? "" : " (past the words needed: untouched)");
	}
	mutation_end(f, mark, log.refused);
}

static bool op_get_dirty_log(struct fuzz *f)
{
	uint32_t slot = take_slot(f);
	uint8_t words = take_u8(&f->in), flags = take_u8(&f->in);

	if (f->in.out)
		return false;
	describe(f, "get_dirty_log slot %" PRIu32, slot);
	dirty_get(f, slot, words % DWORDS_MODES, words, flags % DFLAGS_MODES);
	return true;
}

/* MARK_DIRTY: "The range must lie inside one region; in a region that does
 * not log this succeeds and does nothing. len 0 succeeds where an empty
 * access does, and marks nothing." Not a write: a read-only region too. */
static bool op_mark_dirty(struct fuzz *f)
{
	struct target t = take_target(f);
	uint64_t addr = take_addr(f, t), len = take_len(f, t, addr);
	const struct model_region *where;
	int want, got;

	if (f->in.out)
		return false;
	describe(f, "mark_dirty addr 0x%016" PRIx64 " len %" PRIu64, addr, len);
	want = model_access(&f->model, addr, len, false, &where);
	got = squib_mem_mark_dirty(f->mem, SQUIB_GPA(addr), (size_t)len);
	check_status(f, got, want);
	check_range_message(f, got, addr);
	if (got == SQUIB_OK && where)
		model_mark_dirty(where, addr - where->base, len);
	return true;
}

/* At the end of the input, before squib_mem_free: every logging region's
 * bitmap, as it is (no CLEAR), the words past it untouched. */
static void dirty_final(struct fuzz *f)
{
	uint32_t slots[MODEL_MAX_REGIONS];
	size_t count = 0;

	for (size_t i = 0; i < f->model.count; i++)
		if (f->model.regions[i].dirty)
			slots[count++] = f->model.regions[i].slot;
	for (size_t i = 0; i < count; i++) {
		snprintf(f->op_text, sizeof(f->op_text),
			 "(end of input) get_dirty_log slot %" PRIu32, slots[i]);
		if (trace)
			fprintf(stderr, "%s", f->op_text);
		dirty_get(f, slots[i], DWORDS_MORE, 0, DFLAGS_NONE);
	}
}

static int probe_cb(const squib_region_info_t *info, void *ctx)
{
	(void)info;
	(void)ctx;
	return 1;
}

/* Calls with a NULL handle or callback: INVALID_ARGUMENT, nothing written. */
static bool op_probe(struct fuzz *f)
{
	uint8_t which = take_u8(&f->in) % PROBE_MODES;
	squib_region_info_t info = SQUIB_REGION_INFO_INIT, info_before;
	squib_range_t range = {.base = SQUIB_GPA(0x1000), .size = 0x10};
	squib_region_opts_t opts = SQUIB_REGION_OPTS_INIT;
	uint8_t buf[8];
	uint32_t value = 0xa5a5a5a5u;
	struct iovec iov = {.iov_base = HOST_CANARY, .iov_len = 7}, iov_before = iov;
	size_t used = USED_CANARY;
	void *host = HOST_CANARY;
	squib_pin_t *pin = PIN_CANARY;
	squib_listener_t listener = SQUIB_LISTENER_INIT;
	uint64_t id = ID_CANARY, word = WORD_CANARY;
	int got;

	if (f->in.out)
		return false;
	scribble(&listener); /* none may run */
	describe(f, "probe %u (NULL argument)", which);
	memset(buf, CANARY, sizeof(buf));
	memcpy(&info_before, &info, sizeof(info));
	switch (which) {
	case PROBE_READ_NULL_MEM:
		got = squib_mem_read(NULL, SQUIB_GPA(0x1000), buf, sizeof(buf));
		break;
	case PROBE_WRITE_NULL_MEM:
		got = squib_mem_write(NULL, SQUIB_GPA(0x1000), buf, sizeof(buf));
		break;
	case PROBE_READ_TYPED_NULL_MEM:
		got = squib_mem_read_u32_le(NULL, SQUIB_GPA(0x1000), &value);
		break;
	case PROBE_WRITE_TYPED_NULL_MEM:
		got = squib_mem_write_u64_le(NULL, SQUIB_GPA(0x1000), 1);
		break;
	case PROBE_ADD_NULL_MEM:
		got = squib_mem_add_region(NULL, range, 0, SQUIB_PROT_RW);
		break;
	case PROBE_ADD_BYTES_NULL_MEM:
		got = squib_mem_add_region_from_bytes(NULL, SQUIB_GPA(0x1000), buf, sizeof(buf), 0,
						      SQUIB_PROT_RW);
		break;
	case PROBE_REMOVE_NULL_MEM:
		got = squib_mem_remove_region(NULL, 0);
		break;
	case PROBE_FIND_NULL_MEM:
		got = squib_mem_find_region(NULL, SQUIB_GPA(0x1000), &info);
		break;
	case PROBE_GET_NULL_MEM:
		got = squib_mem_get_region(NULL, 0, &info);
		break;
	case PROBE_FOREACH_NULL_MEM:
		got = squib_mem_foreach_region(NULL, probe_cb, NULL);
		break;
	case PROBE_FOREACH_NULL_CB:
		got = squib_mem_foreach_region(f->mem, NULL, NULL);
		break;
	case PROBE_ADD_OPTS_NULL_MEM:
		opts.range = range;
		got = squib_mem_add_region_opts(NULL, &opts);
		break;
	case PROBE_ADD_OPTS_NULL_OPTS:
		got = squib_mem_add_region_opts(f->mem, NULL);
		break;
	case PROBE_DISCARD_NULL_MEM:
		got = squib_mem_discard(NULL, SQUIB_GPA(0x1000), 4096);
		break;
	case PROBE_HOST_RANGE_NULL_MEM:
		got = squib_mem_host_range(NULL, SQUIB_GPA(0x1000), 8, SQUIB_PROT_READ, &host);
		break;
	case PROBE_TRANSLATE_NULL_MEM:
		got =
		    squib_mem_translate(NULL, SQUIB_GPA(0x1000), 8, SQUIB_PROT_RW, &iov, 1, &used);
		break;
	case PROBE_PIN_NULL_MEM:
		got = squib_mem_pin(NULL, SQUIB_GPA(0x1000), 8, SQUIB_PROT_READ, &iov, 1, &used,
				    &pin);
		break;
	case PROBE_LOAD_NULL_MEM:
		got = squib_mem_load_u32_acquire(NULL, SQUIB_GPA(0x1000), &value);
		break;
	case PROBE_STORE_NULL_MEM:
		got = squib_mem_store_u16_release(NULL, SQUIB_GPA(0x1000), 1);
		break;
	case PROBE_UNPIN_NULL:
		squib_mem_unpin(NULL); /* "NULL is a no-op" */
		got = SQUIB_E_INVALID_ARGUMENT;
		break;
	case PROBE_LISTENER_ADD_NULL_MEM:
		got = squib_mem_listener_add(NULL, &listener, &id);
		break;
	case PROBE_LISTENER_REMOVE_NULL_MEM:
		got = squib_mem_listener_remove(NULL, 1);
		break;
	case PROBE_SET_PROTECTION_NULL_MEM:
		got = squib_mem_set_protection(NULL, 0, SQUIB_PROT_RW);
		break;
	case PROBE_SET_DIRTY_LOG_NULL_MEM:
		got = squib_mem_set_dirty_log(NULL, 0, true);
		break;
	case PROBE_GET_DIRTY_LOG_NULL_MEM:
		got = squib_mem_get_dirty_log(NULL, 0, &word, 1, 0);
		break;
	case PROBE_MARK_DIRTY_NULL_MEM:
		got = squib_mem_mark_dirty(NULL, SQUIB_GPA(0x1000), 8);
		break;
	default:
		got = squib_mem_new(NULL);
		break;
	}
	check_status(f, got, SQUIB_E_INVALID_ARGUMENT);
	if (canary_end(buf, 0, sizeof(buf)) != sizeof(buf) || value != 0xa5a5a5a5u ||
	    memcmp(&info, &info_before, sizeof(info)) != 0 ||
	    memcmp(&iov, &iov_before, sizeof(iov)) != 0 || used != USED_CANARY ||
	    host != HOST_CANARY || pin != PIN_CANARY || id != ID_CANARY || word != WORD_CANARY)
		mismatch(f, "a NULL-argument call wrote an out-parameter");
	return true;
}

/* Decodes and runs one operation; false when the input ran out first. */
static bool run_op(struct fuzz *f)
{
	size_t calls = f->call_count;
	bool ran;

	switch (take_u8(&f->in) % OP_COUNT_ALL) {
	case OP_ADD:
		ran = op_add(f, false);
		break;
	case OP_ADD_BYTES:
		ran = op_add(f, true);
		break;
	case OP_REMOVE:
		ran = op_remove(f);
		break;
	case OP_READ:
		ran = op_read(f);
		break;
	case OP_WRITE:
		ran = op_write(f);
		break;
	case OP_READ_TYPED:
		ran = op_read_typed(f);
		break;
	case OP_WRITE_TYPED:
		ran = op_write_typed(f);
		break;
	case OP_FIND:
		ran = op_find(f);
		break;
	case OP_GET:
		ran = op_get(f);
		break;
	case OP_FOREACH:
		ran = op_foreach(f);
		break;
	case OP_COUNT:
		ran = !f->in.out;
		if (ran)
			describe(f, "region_count\n");
		break;
	case OP_VERIFY:
		ran = !f->in.out;
		if (ran) {
			describe(f, "verify every region\n");
			verify_all(f);
		}
		break;
	case OP_PROBE:
		ran = op_probe(f);
		break;
	case OP_ADD_OPTS:
		ran = op_add_opts(f);
		break;
	case OP_DISCARD:
		ran = op_discard(f);
		break;
	case OP_HOST_RANGE:
		ran = op_host_range(f);
		break;
	case OP_TRANSLATE:
		ran = op_translate(f, false);
		break;
	case OP_PIN:
		ran = op_translate(f, true);
		break;
	case OP_UNPIN:
		ran = op_unpin(f);
		break;
	case OP_PIN_IO:
		ran = op_pin_io(f);
		break;
	case OP_RING:
		ran = op_ring(f);
		break;
	case OP_LISTENER_ADD:
		ran = op_listener_add(f);
		break;
	case OP_LISTENER_REMOVE:
		ran = op_listener_remove(f);
		break;
	case OP_SET_PROTECTION:
		ran = op_set_protection(f);
		break;
	case OP_SET_DIRTY_LOG:
		ran = op_set_dirty_log(f);
		break;
	case OP_GET_DIRTY_LOG:
		ran = op_get_dirty_log(f);
		break;
	default:
		ran = op_mark_dirty(f);
		break;
	}
	/* Only the mutating calls call listeners (and drop their calls). */
	if (f->call_count != calls)
		mismatch(f,
			 "%zu listener call(s) outside add, remove, set_protection, "
			 "set_dirty_log, get_dirty_log and listener add/remove",
			 f->call_count - calls);
	if (ran) {
		check_count(f);
		listeners_check(f);
	}
	return ran;
}

/* The default huge page size, as /proc/meminfo gives it; 0 if none. */
static uint64_t read_huge_page(void)
{
	FILE *meminfo = fopen("/proc/meminfo", "re");
	char line[128];
	uint64_t kib = 0;

	if (!meminfo)
		return 0;
	while (fgets(line, sizeof(line), meminfo))
		if (sscanf(line, "Hugepagesize: %" SCNu64 " kB", &kib) == 1)
			break;
	fclose(meminfo);
	return kib * 1024;
}

/* Descriptors the process has open, this count's own directory included. */
static size_t open_fds(void)
{
	DIR *dir = opendir("/proc/self/fd");
	size_t count = 0;

	if (!dir) {
		fprintf(stderr, "fuzz_mem: cannot list /proc/self/fd\n");
		abort();
	}
	while (readdir(dir))
		count++;
	closedir(dir);
	return count;
}

static void setup_once(void)
{
	const char *env = getenv("SQUIB_FUZZ_TRACE");
	long page = sysconf(_SC_PAGESIZE);

	trace = env && *env && strcmp(env, "0") != 0;
	host_page = page > 0 ? (uint64_t)page : 4096u;
	huge_page = read_huge_page();
	file_buf_size = (size_t)(MAX_REGION_SIZE + (FILE_OFFSET + 1) * host_page);
	file_buf = malloc(file_buf_size);
	file_read_buf = malloc(file_buf_size);
	if (!file_buf || !file_read_buf)
		abort();
	memset(canary_buf, CANARY, sizeof(canary_buf));
}

/*
 * Under ASan: a request the allocator cannot meet returns NULL, as
 * malloc does, instead of aborting the run. A region of 2^60 bytes with
 * DIRTY_LOG has the library ask for a bitmap of 2^45 bytes, which it must
 * answer with NO_MEMORY (the model's host assumption); ASan's default
 * would report allocation-size-too-big. ASAN_OPTIONS (TSAN_OPTIONS) still
 * overrides it.
 */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "allocator_may_return_null=1";
}

/* The same for the replay under ThreadSanitizer (stage 30). */
const char *__tsan_default_options(void);
const char *__tsan_default_options(void)
{
	return "allocator_may_return_null=1";
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool set_up;
	struct fuzz *f;
	size_t fds_before;
	int status;

	if (!set_up) {
		setup_once();
		set_up = true;
	}
	fds_before = open_fds();
	f = calloc(1, sizeof(*f));
	if (!f)
		abort();
	model_init(&f->model);
	f->in = (struct reader){.data = data, .left = size};
	status = squib_mem_new(&f->mem);
	if (status != SQUIB_OK) {
		fprintf(stderr, "fuzz_mem: squib_mem_new: %s\n", squib_last_error());
		abort();
	}
	while (f->in.left > 0 && run_op(f))
		;
	snprintf(f->op_text, sizeof(f->op_text), "(end of input)");
	pins_before_free(f);
	dirty_final(f);
	snprintf(f->op_text, sizeof(f->op_text), "(end of input)");
	verify_all(f);
	squib_mem_free(f->mem);
	snprintf(f->op_text, sizeof(f->op_text), "(end of input, after squib_mem_free)");
	/* "squib_mem_free() calls no listener" */
	if (f->call_count != 0)
		mismatch(f, "squib_mem_free called %zu listener callback(s)", f->call_count);
	pins_after_free(f);
	for (size_t i = 0; i < f->listener_count; i++)
		free(f->listeners[i]);
	/* The library never unmaps a caller's mapping; the handle is gone. */
	for (size_t i = 0; i < f->caller_count; i++)
		(void)munmap(f->callers[i].addr, f->callers[i].len);
	/* "squib_mem_free ... close[s] the library's fds": with the
	 * harness's own, every descriptor opened for this input is closed. */
	if (open_fds() != fds_before) {
		fprintf(stderr, "fuzz_mem: %zu descriptors open before the input, %zu after\n",
			fds_before, open_fds());
		abort();
	}
	model_fini(&f->model);
	free(f);
	return 0;
}
