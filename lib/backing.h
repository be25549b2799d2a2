/* SPDX-License-Identifier: MIT */
/*
 * Internal: the host memory behind a region, and how it is given back.
 *
 * Every region owns one reference to a backing (docs/DESIGN.md, Backings):
 * the reservation its library-owned mapping sits in, between guard pages,
 * or the caller's own mapping; the library's file descriptor (a memfd, or
 * a dup of the caller's file) and the file offset; the region's name. The
 * last reference unmaps what the library mapped and closes what it opened,
 * and never touches the caller's mapping. Not installed.
 */
#ifndef SQUIB_LIB_BACKING_H
#define SQUIB_LIB_BACKING_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <squib/backing.h>
#include <squib/error.h>

struct dirty_log;
struct region;

/* What squib_mem_add_region_opts() checked, or 0.2's add functions made:
 * enough to create the backing. */
struct backing_request {
	uint64_t base;
	uint64_t size;
	uint32_t flags;	    /* SQUIB_REGION_* */
	int fd;		    /* with SQUIB_REGION_FILE, else -1 */
	uint64_t fd_offset; /* with SQUIB_REGION_FILE, else 0 */
	void *host_addr;    /* the caller's mapping, or NULL */
	const void *bytes;  /* size bytes to copy in, or NULL */
	const char *name;   /* or NULL */
	uint64_t page;	    /* the host page size, or the huge page size for HUGETLB */
};

struct backing {
	_Atomic unsigned refs;
	int fd;		    /* the library's descriptor, or -1 */
	uint64_t fd_offset; /* offset of the region's base in fd; 0 without one */
	uint64_t page;	    /* granularity of discard */
	uint32_t flags;	    /* as added */
	/* The library's reservation (guard pages included), or NULL for the
	 * caller's mapping. */
	void *reservation;
	size_t reservation_len;
	/* Of a caller's mapping: the flags the library applied to it, which
	 * backing_abandon() takes back. */
	uint32_t applied;
	/* The region's dirty log, once it has logged (lib/dirty_log.h): set
	 * under the handle's mutex, read by unpins without it. */
	struct dirty_log *_Atomic dirty;
	char name[SQUIB_REGION_NAME_MAX];
};

/* The host page size. */
uint64_t backing_host_page(void);

/* The default huge page size, or 0 when this host or build has none. */
uint64_t backing_huge_page(void);

/* SQUIB_E_NO_MEMORY, before any host request, when the library's mapping
 * of the region (guard pages included) cannot fit in the host's address
 * space. */
squib_status_t backing_check(const struct backing_request *request);

/* Makes the memory of a region (after backing_check()): maps it (or adopts the caller's mapping),
 * applies the flags, copies the bytes in. On failure, sets the message
 * and leaves nothing behind. *host receives the host address of base. */
squib_status_t backing_create(const struct backing_request *request, struct backing **out,
			      uint8_t **host);

/* Takes one more reference. */
static inline void backing_get(struct backing *backing)
{
	atomic_fetch_add_explicit(&backing->refs, 1u, memory_order_relaxed);
}

/* Drops one reference; the last gives everything back. */
void backing_put(struct backing *backing);

/* Undoes backing_create() of a region no reader ever saw (a listener
 * refused it), whose memory is [host, host + size): also takes back the
 * flags applied to a caller's mapping, which a removal leaves. */
void backing_abandon(struct backing *backing, uint8_t *host, uint64_t size);

/* squib_mem_discard() of [region->base + offset, + len), already checked
 * to be page-aligned and inside the region, which must be writable and
 * library-owned. */
squib_status_t backing_discard(const struct region *region, uint64_t offset, uint64_t len);

#endif
