/* SPDX-License-Identifier: MIT */
/*
 * A reference model of squib guest memory for the fuzzer: a plain list of
 * regions, each with its own byte array, written straight from the rules of
 * the contract (squib-core-0.2.md; for backings, flags, read-only regions
 * and discard, squib-core-0.3.md and <squib/backing.h>; for listeners,
 * set_protection and dirty logging, its "Listeners" and "Dirty-page
 * tracking" sections, <squib/listener.h> and <squib/dirty.h>) and sharing
 * no code with lib/. It is
 * deliberately slow and simple: linear scans, 128-bit arithmetic for every
 * end, so that each rule reads as it is written in the contract.
 *
 * Only the status values come from <squib/error.h>: they are the contract's
 * numbers, not the library's code.
 */
#ifndef SQUIB_FUZZ_MODEL_H
#define SQUIB_FUZZ_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <squib/error.h>

/* The most regions the fuzzer keeps alive at once. */
#define MODEL_MAX_REGIONS 64

/*
 * A new region at least this large that passes every other check is
 * expected to fail with NO_MEMORY: no 64-bit host maps 2^60 bytes (x86-64
 * and arm64 user address spaces are at most 2^57 bytes). This is the one
 * host assumption of the model.
 */
#define MODEL_HUGE_SIZE ((uint64_t)1 << 60)

/* The contract's SQUIB_REGION_* values (squib-core-0.3.md, "Flags"). */
#define MODEL_SHARED 0x001u
#define MODEL_PRIVATE 0x002u
#define MODEL_READONLY 0x004u
#define MODEL_HUGETLB 0x008u
#define MODEL_THP 0x010u
#define MODEL_DIRTY_LOG 0x100u
#define MODEL_FILE 0x400u
#define MODEL_FLAGS_KNOWN 0x7ffu
/* SQUIB_REGION_NAME_MAX, the NUL included. */
#define MODEL_NAME_MAX 32

/* What backs a region's bytes, as far as the contract lets one tell. */
enum model_backing {
	MODEL_ANONYMOUS,    /* 0.2's backing, or none of the fields below */
	MODEL_MEMFD,	    /* SHARED: a memfd the library makes; info.fd holds the bytes */
	MODEL_FILE_SHARED,  /* FILE mapped MAP_SHARED: the file holds the bytes */
	MODEL_FILE_PRIVATE, /* FILE|PRIVATE: copy-on-write; the file never changes */
	MODEL_CALLER,	    /* host_addr: the caller's mapping, never given back */
};

struct model_region {
	uint64_t base;
	uint64_t size;
	uint32_t slot;
	uint32_t prot;
	uint8_t *bytes; /* size bytes */
	/* Since 0.3; 0, MODEL_ANONYMOUS, "", false for the 0.2 adds. */
	uint32_t flags;
	enum model_backing backing;
	bool has_fd; /* info.fd is a descriptor (FILE or SHARED), else -1 */
	uint64_t fd_offset;
	char name[MODEL_NAME_MAX];
	/* MODEL_FILE_PRIVATE: the file's bytes at fd_offset, which no write
	 * or discard may change; else NULL. */
	uint8_t *file_bytes;
	/* Set by the harness, not the model (0 and NULL here): a number no
	 * other region of the input has, for pins to name the region by, and
	 * info.host_addr as get_region gave it after the add. */
	uint64_t id;
	uint8_t *host;
	/* Dirty logging (squib/dirty.h): while flags has MODEL_DIRTY_LOG,
	 * model_dirty_words() words in KVM's layout, else NULL. */
	uint64_t *dirty;
};

/* ---- listeners (squib/listener.h) ---- */

/* The most listeners the fuzzer keeps registered at once. */
#define MODEL_MAX_LISTENERS 8

/* The callbacks of a listener; (1u << cb) in a callbacks mask: set when
 * the listener's pointer is not NULL. */
enum model_cb {
	MODEL_CB_ADD,	    /* region_add */
	MODEL_CB_DEL,	    /* region_del */
	MODEL_CB_PROTECT,   /* protect */
	MODEL_CB_DIRTY_LOG, /* dirty_log */
	MODEL_CB_LOG_SYNC,  /* log_sync */
	MODEL_CB_COUNT
};
#define MODEL_CB_ALL ((1u << MODEL_CB_COUNT) - 1u)

/* A registered listener: tag names it in the call log (the harness's
 * number: callbacks run before squib_mem_listener_add gives the id). */
struct model_listener {
	uint64_t tag, id;
	unsigned callbacks;
};

/* A region as a callback's info shows it, in the model's terms. */
struct model_view {
	uint64_t base, size;
	uint32_t slot, prot, flags;
	bool has_fd;
	char name[MODEL_NAME_MAX];
};

/* The largest bitmap one log_sync call of the log carries: 512 pages. */
#define MODEL_DIRTY_WORDS_MAX 8

/* One callback the library made, as the harness's listener recorded it. */
struct model_call {
	uint64_t tag; /* of the listener called */
	enum model_cb cb;
	struct model_view info;
	/* PROTECT: old_prot; DIRTY_LOG: enable (0 or 1); LOG_SYNC: words */
	uint64_t arg;
	int ret;				  /* what the callback returned (0 for DEL) */
	uint64_t reported[MODEL_DIRTY_WORDS_MAX]; /* LOG_SYNC: the pages it ORed in */
	const void *host; /* info->host_addr: for the harness, the model ignores it */
};

/*
 * The calls one mutating operation made, read in order by the model's
 * listener functions below: each returns false, with why filled in, when
 * the calls differ from what the contract says (wrong listener, order,
 * region, state, a missing or an extra call), and otherwise gives the
 * status the operation must return. refused: a listener refused, and the
 * status is its answer.
 */
struct model_log {
	const struct model_call *calls;
	size_t count, at;
	bool refused;
	char why[320];
};

struct model {
	/* Live regions in the order they were added. */
	struct model_region regions[MODEL_MAX_REGIONS];
	size_t count;
	/* Registered listeners in registration order. */
	struct model_listener listeners[MODEL_MAX_LISTENERS];
	size_t listener_count;
};

void model_init(struct model *model);
void model_fini(struct model *model);

/*
 * The status that adding [base, base + size) with slot and prot must
 * return. bytes_null: the call is add_region_from_bytes with bytes NULL.
 * Order: INVALID_ARGUMENT, SLOT_IN_USE, OVERLAP, NO_MEMORY (huge sizes), OK.
 * Changes nothing.
 */
squib_status_t model_add_status(const struct model *model, uint64_t base, uint64_t size,
				uint32_t slot, uint32_t prot, bool bytes_null);

/*
 * Registers a region that model_add_status() accepted; bytes NULL means
 * zero-filled. Returns false when the model is full or out of host memory
 * (the caller then skips the operation).
 */
bool model_add(struct model *model, uint64_t base, uint64_t size, uint32_t slot, uint32_t prot,
	       const uint8_t *bytes);

/* The state of opts->fd when SQUIB_REGION_FILE is set. */
enum model_fd {
	MODEL_FD_NEGATIVE, /* fd < 0 */
	MODEL_FD_CLOSED,   /* a number no descriptor has */
	MODEL_FD_RDWR,
	MODEL_FD_RDONLY,
	MODEL_FD_WRONLY,
};

/* opts->sz against the 0.3 layout. */
enum model_sz {
	MODEL_SZ_EXACT,
	MODEL_SZ_SHORT,	    /* smaller: INVALID_ARGUMENT */
	MODEL_SZ_LONG_ZERO, /* larger, the bytes past the layout zero: accepted */
	MODEL_SZ_LONG_TAIL, /* larger, a byte past the layout set: UNSUPPORTED */
};

/* A squib_mem_add_region_opts() call, in the contract's terms. */
struct model_opts {
	bool opts_null;
	enum model_sz sz;
	uint64_t base, size;
	uint32_t slot, prot, flags;
	enum model_fd fd;   /* read only with MODEL_FILE */
	uint64_t fd_offset; /* read only with MODEL_FILE */
	uint64_t file_size; /* of the regular file behind fd */
	bool host_addr;	    /* set (the caller's mapping of size bytes) */
	uint64_t host_addr_value;
	bool bytes;    /* non-NULL */
	uint64_t page; /* the host page size */
	uint64_t huge; /* the default huge page size, 0 if none */
};

/*
 * The status squib_mem_add_region_opts() must return: INVALID_ARGUMENT,
 * UNSUPPORTED, SLOT_IN_USE, OVERLAP, then host failures (NO_MEMORY for
 * sizes no host maps), then OK. Changes nothing.
 */
squib_status_t model_add_opts_status(const struct model *model, const struct model_opts *opts);

/* What a new region of model_add_opts() holds and how it is backed. */
struct model_new_region {
	uint64_t base, size;
	uint32_t slot, prot, flags;
	enum model_backing backing;
	uint64_t fd_offset;
	const char *name;     /* NULL: "" */
	const uint8_t *bytes; /* size bytes, or NULL: zeros */
};

/* Registers a region that model_add_opts_status() accepted; false as
 * model_add(). */
bool model_add_opts(struct model *model, const struct model_new_region *region);

/*
 * The status of a write of len bytes at addr: as model_access(), then
 * READ_ONLY when the region holding the bytes is read-only ("Every
 * library write ... to a READONLY region fails with SQUIB_E_READ_ONLY and
 * changes nothing"). An empty write touches no region: it succeeds where
 * an empty access does.
 */
squib_status_t model_write_status(const struct model *model, uint64_t addr, uint64_t len,
				  bool buf_null, const struct model_region **where);

/*
 * The status of squib_mem_discard(addr, len) with the host page size page,
 * and on OK with len > 0 the region to zero. Changes nothing.
 */
squib_status_t model_discard_status(const struct model *model, uint64_t addr, uint64_t len,
				    uint64_t page, const struct model_region **where);

/* squib_prot_t bits of an access (squib/prot.h). */
#define MODEL_PROT_READ 1u
#define MODEL_PROT_WRITE 2u

/*
 * The status of squib_mem_host_range(addr, len, access) (host_null: host
 * is NULL), and on OK the region holding the bytes (NULL for len 0). Order
 * as <squib/translate.h>: INVALID_ARGUMENT (NULL host, access not READ,
 * WRITE or both), OUT_OF_RANGE (not inside ONE region, as a read), then
 * READ_ONLY (WRITE on a read-only region; an empty range touches none).
 */
squib_status_t model_host_range_status(const struct model *model, uint64_t addr, uint64_t len,
				       uint32_t access, bool host_null,
				       const struct model_region **where);

/* One iovec of a translation: region's bytes [offset, offset + len). */
struct model_piece {
	const struct model_region *region;
	uint64_t offset, len;
};

/* A squib_mem_translate() or squib_mem_pin() call, in the contract's terms. */
struct model_translate {
	uint64_t addr, len;
	uint32_t access;
	bool iov_null, used_null, pin_null;
	uint64_t iov_cap;
};

/*
 * The status of that call, and on OK the split: *count pieces in address
 * order, each region beginning where the one before ends. Order:
 * INVALID_ARGUMENT, OUT_OF_RANGE (a start in no region, a hole, an
 * overflowing end), READ_ONLY (WRITE touching a read-only region),
 * NO_SPACE (more pieces than iov_cap). len 0: OK with no piece where an
 * empty access succeeds. pieces has room for MODEL_MAX_REGIONS.
 */
squib_status_t model_translate(const struct model *model, const struct model_translate *call,
			       struct model_piece *pieces, size_t *count);

/*
 * The status of a ring atomic of width bytes at addr (store: a
 * store_*_release; out_null: a load's out is NULL), and on OK the region.
 * INVALID_ARGUMENT (out NULL, addr % width), OUT_OF_RANGE (as a read),
 * then READ_ONLY for a store.
 */
squib_status_t model_ring_status(const struct model *model, uint64_t addr, unsigned width,
				 bool store, bool out_null, const struct model_region **where);

/* Removes the region of slot: OK or NOT_FOUND. */
squib_status_t model_remove(struct model *model, uint32_t slot);

/*
 * The status of a read or write of len bytes at addr (buf_null: the buffer
 * is NULL), and on OK the region that holds the bytes (NULL for len 0).
 */
squib_status_t model_access(const struct model *model, uint64_t addr, uint64_t len, bool buf_null,
			    const struct model_region **where);

/* The region containing addr (its end excluded), or NULL. */
const struct model_region *model_find(const struct model *model, uint64_t addr);

/* The region registered with slot, or NULL. */
const struct model_region *model_get(const struct model *model, uint32_t slot);

/* Fills out[] with the live regions in ascending base order; returns the count. */
size_t model_sorted(const struct model *model, const struct model_region **out);

/* Total bytes held by the live regions. */
uint64_t model_bytes(const struct model *model);

/* ---- listeners, set_protection, dirty logging (squib-core 0.3) ---- */

/* The view of a live region, and of one model_add_opts() would register. */
void model_view_of(const struct model_region *region, struct model_view *view);
void model_view_of_new(const struct model_new_region *added, struct model_view *view);

/*
 * Adding a region that model_add_status() or model_add_opts_status()
 * accepted, with its memory ready: region_add of every listener in
 * registration order; a refusal gets region_del of the listeners that
 * accepted, in reverse order, and is the status (the caller then does not
 * register the region). Changes nothing.
 */
bool model_listen_add(const struct model *model, struct model_log *log,
		      const struct model_view *region, squib_status_t *status);

/* Removing a live region: region_del of every listener in reverse
 * registration order (it cannot refuse). Changes nothing. */
bool model_listen_remove(const struct model *model, struct model_log *log,
			 const struct model_region *region);

/* squib_mem_listener_add's argument checks: INVALID_ARGUMENT (NULL
 * listener or id, sz short), UNSUPPORTED (a set byte past the layout). */
squib_status_t model_listener_add_status(enum model_sz sz, bool listener_null, bool id_null);

/*
 * squib_mem_listener_add of a listener that passed those checks: the
 * replay of region_add in ascending base order, undone by region_del in
 * reverse on a refusal. On OK registers {tag, id, callbacks} last.
 */
bool model_listener_add(struct model *model, struct model_log *log, uint64_t tag, uint64_t id,
			unsigned callbacks, squib_status_t *status);

/* squib_mem_listener_remove(id): NOT_FOUND for an id not registered,
 * else region_del in descending base order, and the listener is gone. */
bool model_listener_remove(struct model *model, struct model_log *log, uint64_t id,
			   squib_status_t *status);

/* The listener of id, or NULL. */
const struct model_listener *model_listener(const struct model *model, uint64_t id);

/*
 * squib_mem_set_protection(slot, prot): INVALID_ARGUMENT (unknown bits),
 * NOT_FOUND, OK with no call for the protection the region has; else
 * protect of every listener in registration order, a refusal undone in
 * reverse (the states swapped). On OK the region's prot is prot.
 */
bool model_set_protection(struct model *model, struct model_log *log, uint32_t slot, uint32_t prot,
			  squib_status_t *status);

/*
 * squib_mem_set_dirty_log(slot, enable): NOT_FOUND, OK with no call for
 * the state the region is in; else dirty_log of every listener in
 * registration order (info.flags as it is about to be), a refusal undone
 * in reverse. On OK the region logs (every bit clear) or stops.
 */
bool model_set_dirty_log(struct model *model, struct model_log *log, uint32_t slot, bool enable,
			 squib_status_t *status);

/* The 4 KiB pages [base, base + size) touches, and the bitmap words
 * that takes: ceil(pages / 64). */
uint64_t model_dirty_pages(uint64_t base, uint64_t size);
size_t model_dirty_words(uint64_t base, uint64_t size);

/* squib_mem_get_dirty_log's arguments. */
struct model_dirty_call {
	uint32_t slot;
	bool bitmap_null;
	uint64_t words;
	uint32_t flags;
};

/*
 * squib_mem_get_dirty_log: INVALID_ARGUMENT (NULL bitmap, unknown flags),
 * NOT_FOUND, UNSUPPORTED (the region does not log), NO_SPACE (words below
 * what it needs), all before any callback; then log_sync of every
 * listener in registration order, whose reports are kept even when one
 * refuses (then the status, nothing copied or cleared); then on OK out
 * gets the region's model_dirty_words() words, cleared with
 * SQUIB_DIRTY_CLEAR. out has room for MODEL_DIRTY_WORDS_MAX.
 */
bool model_get_dirty_log(struct model *model, struct model_log *log,
			 const struct model_dirty_call *call, uint64_t *out,
			 squib_status_t *status);

/*
 * A library write that succeeded with len > 0 at region offset offset
 * (or mark_dirty, or the unpin of a WRITE pin): in a region that logs,
 * every 4 KiB page the bytes touch becomes dirty.
 */
void model_mark_dirty(const struct model_region *region, uint64_t offset, uint64_t len);

/* Every call of the log was expected (called last, after the above). */
bool model_log_done(struct model_log *log);

#endif /* SQUIB_FUZZ_MODEL_H */
