/* SPDX-License-Identifier: MIT */
/*
 * virtio_blk: a split-virtqueue block device and its guest driver, both
 * going through libsquibcore's public API only.
 *
 * Guest-physical layout:
 *
 *   [0,       1 MiB)        RAM "lo", slot 0, anonymous: the queue, request
 *                           headers and status bytes, half the data buffers
 *   [1 MiB,   2 MiB)        RAM "hi", slot 1, a SHARED memfd, GPA-adjacent
 *                           to "lo": the other buffers; hot-unplugged later
 *   [128 MiB, +64 KiB)      ROM, slot 2, READONLY, copied from bytes
 *   everything else         holes
 *
 * The main thread is the guest driver: it writes requests and descriptor
 * chains into guest memory, publishes them through the avail ring and
 * checks every completion against a model of the disk. The device thread
 * (blk_device.c) serves them from a 4 MiB temporary file with
 * preadv()/pwritev() straight into guest memory.
 *
 * Phases: (1) rounds of writes then read-backs, one request per batch
 * spanning the two RAM regions (two iovecs); (2) hostile chains, each of
 * which must fail cleanly while a good request in the same batch succeeds;
 * (3) a hot-unplug of "hi" under pinned in-flight requests, which must
 * complete through their pins, then requests touching "hi" fail with IOERR
 * and those wholly in "lo" still succeed. Finally the whole file is compared
 * with the model. Exit status 0 only if every check passed.
 *
 * Usage: example_virtio_blk [rounds]. Under valgrind (detected from
 * LD_PRELOAD, or RUNNING_ON_VALGRIND set in the environment) it runs fewer.
 */
#define _GNU_SOURCE /* mkostemp, pread */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <squib/core.h>

#include "blk_device.h"
#include "virtq.h"

#define KIB (UINT64_C(1) << 10)
#define MIB (UINT64_C(1) << 20)

#define LO_BASE UINT64_C(0)
#define LO_SLOT 0u
#define HI_BASE MIB
#define HI_SIZE MIB
#define HI_SLOT 1u
#define ROM_BASE (128 * MIB)
#define ROM_SIZE (64 * KIB)
#define ROM_SLOT 2u
#define HOLE_GPA (64 * MIB)

#define QUEUE_SIZE 64u
#define QUEUE_DESC UINT64_C(0x1000)
#define QUEUE_AVAIL UINT64_C(0x2000)
#define QUEUE_USED UINT64_C(0x3000)
/* Start the free-running indexes just below 2^16 so the wrap is exercised. */
#define QUEUE_START_IDX 0xffd0u

/* Per batch position: a request header, its status byte 16 bytes on. */
#define HDR_GPA(pos) (UINT64_C(0x10000) + (uint64_t)(pos)*0x20u)
/* Per batch position: 32 KiB of data buffers in "lo" or in "hi". */
#define LO_AREA(pos) (UINT64_C(0x40000) + (uint64_t)(pos)*0x8000u)
#define HI_AREA(pos) (HI_BASE + UINT64_C(0x40000) + (uint64_t)(pos)*0x8000u)
#define SECOND_SEG 0x4000u /* offset of a request's second buffer in its area */

#define DISK_SIZE (4 * MIB)
#define DISK_SECTORS (DISK_SIZE / VIRTIO_BLK_SECTOR_SIZE)
#define BATCH_MAX 12u
#define LANES 8u /* a batch's requests use disjoint parts of the disk */
#define LANE_SECTORS (DISK_SECTORS / LANES)
#define MAX_SECTORS 32u /* per request: 16 KiB */
#define MAX_BYTES (MAX_SECTORS * VIRTIO_BLK_SECTOR_SIZE)
#define STATUS_UNSET 0xffu

/* What the driver puts in one descriptor; next is filled in for chains
 * built in order, left as given for the hostile ones. */
struct vdesc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

struct request {
	const char *name; /* set for the cases the summary lists */
	uint32_t type;
	uint64_t sector;
	uint32_t gen; /* pattern generation of an OUT's data */
	uint64_t hdr_gpa, status_gpa;
	struct vdesc desc[4];
	unsigned n_desc;
	bool raw; /* descriptors are exactly as given (hostile) */
	unsigned n_seg;
	struct vdesc seg[2]; /* the data buffers, for the data checks */
	bool spans;	     /* a buffer crosses from "lo" into "hi" */
	uint16_t head;
	/* Expected outcome. */
	int want_verdict, want_why, want_map;
	uint8_t want_status;
};

struct batch {
	struct request rq[BATCH_MAX];
	unsigned n;
	struct request *by_head[QUEUE_SIZE];
};

struct driver {
	squib_mem_t *mem;
	struct virtq q;
	struct blk_device *dev;
	int disk_fd;
	int hi_memfd; /* a dup of "hi"'s memfd, to look at it after unplug */
	uint16_t avail_idx, used_idx;
	uint64_t completed, spanning, checks;
};

static uint8_t disk_model[DISK_SIZE];
static unsigned failures;
static uint64_t rng_state = UINT64_C(0x9e3779b97f4a7c15);

__attribute__((format(printf, 2, 3))) static bool check(bool ok, const char *fmt, ...)
{
	va_list ap;

	if (ok)
		return true;
	failures++;
	fprintf(stderr, "virtio_blk: FAILED: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return false;
}

/* A failed library call, with the library's detailed message. */
static bool check_ok(squib_status_t status, const char *what)
{
	return check(status == SQUIB_OK, "%s: %s (%s)", what, squib_strerror(status),
		     squib_last_error());
}

static uint32_t rnd(uint32_t bound)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state % bound);
}

/* The byte at offset i of a sector written in generation gen: any sector
 * landing at the wrong place, or an old copy, shows. */
static uint8_t pattern(uint64_t sector, uint32_t gen, uint32_t i)
{
	uint32_t x = (uint32_t)sector * 2654435761u ^ gen * 0x9e3779b9u ^ i * 0x85ebca6bu;

	x ^= x >> 15;
	x *= 0x2c1b3c6du;
	return (uint8_t)(x ^ (x >> 12));
}

static void pattern_fill(uint8_t *buf, uint64_t sector, uint32_t gen, size_t len)
{
	for (size_t off = 0; off < len; off++)
		buf[off] = pattern(sector + off / VIRTIO_BLK_SECTOR_SIZE, gen,
				   (uint32_t)(off % VIRTIO_BLK_SECTOR_SIZE));
}

/* --- Guest memory as the driver sees it ------------------------------ */

/* squib_mem_read/write take one region at a time, so a buffer over two
 * GPA-adjacent regions is copied piece by piece, as a guest CPU would. */
static squib_status_t guest_copy(struct driver *drv, uint64_t gpa, void *buf, size_t len,
				 bool write)
{
	uint8_t *p = buf;

	while (len > 0) {
		squib_region_info_t info = SQUIB_REGION_INFO_INIT;
		squib_status_t s = squib_mem_find_region(drv->mem, SQUIB_GPA(gpa), &info);
		uint64_t room;
		size_t part;

		if (s != SQUIB_OK)
			return s;
		room = squib_range_end(info.range).raw - gpa;
		part = len < room ? len : (size_t)room;
		s = write ? squib_mem_write(drv->mem, SQUIB_GPA(gpa), p, part)
			  : squib_mem_read(drv->mem, SQUIB_GPA(gpa), p, part);
		if (s != SQUIB_OK)
			return s;
		gpa += part;
		p += part;
		len -= part;
	}
	return SQUIB_OK;
}

/* Reads what a request's buffers hold now. After the unplug, bytes of
 * "hi" are only reachable through the dup of its memfd: that is where a
 * pinned read must have put them. */
static bool read_back(struct driver *drv, uint64_t gpa, uint8_t *buf, size_t len)
{
	if (drv->hi_memfd >= 0 && gpa >= HI_BASE && gpa + len <= HI_BASE + HI_SIZE)
		return check(pread(drv->hi_memfd, buf, len, (off_t)(gpa - HI_BASE)) == (ssize_t)len,
			     "pread of the unplugged memfd at 0x%" PRIx64, gpa);
	return check_ok(guest_copy(drv, gpa, buf, len, false), "guest read-back");
}

/* --- Building and submitting requests -------------------------------- */

/* Where a request at batch position pos keeps its buffers: position 0 of a
 * batch straddles the "lo"/"hi" boundary when span is set, odd positions
 * live in "hi", even ones in "lo". The total length is split over one or
 * two buffers at an arbitrary byte: sectors need not align with buffers. */
static void place_data(struct request *rq, unsigned pos, uint32_t len, bool span, bool in_hi)
{
	bool two = len > VIRTIO_BLK_SECTOR_SIZE && rnd(2);
	uint32_t first = two ? 2 + rnd(len - 2) : len;
	uint64_t area = (in_hi || pos % 2) ? HI_AREA(pos) : LO_AREA(pos);

	rq->n_seg = two ? 2 : 1;
	rq->seg[0].len = first;
	rq->seg[1].len = len - first;
	if (span) {
		/* Both sides of the boundary get at least one byte. */
		rq->seg[0].addr = HI_BASE - first / 2;
		rq->seg[1].addr = HI_BASE + 0x10000u;
		rq->spans = true;
	} else {
		rq->seg[0].addr = area;
		rq->seg[1].addr = area + SECOND_SEG;
	}
}

/* A well-formed request: header, data buffers, status, in that order. */
static void build_request(struct request *rq, uint32_t type, uint64_t sector, uint32_t nsect,
			  unsigned pos, bool span, bool in_hi)
{
	uint16_t data_flags = type == VIRTIO_BLK_T_IN ? VIRTQ_DESC_F_WRITE : 0;

	memset(rq, 0, sizeof(*rq));
	rq->type = type;
	rq->sector = sector;
	rq->gen = rnd(1u << 30) + 1;
	rq->hdr_gpa = HDR_GPA(pos);
	rq->status_gpa = HDR_GPA(pos) + VIRTIO_BLK_HDR_SIZE;
	place_data(rq, pos, nsect * VIRTIO_BLK_SECTOR_SIZE, span, in_hi);
	rq->desc[rq->n_desc++] = (struct vdesc){rq->hdr_gpa, VIRTIO_BLK_HDR_SIZE, 0, 0};
	for (unsigned i = 0; i < rq->n_seg; i++)
		rq->desc[rq->n_desc++] =
		    (struct vdesc){rq->seg[i].addr, rq->seg[i].len, data_flags, 0};
	rq->desc[rq->n_desc++] = (struct vdesc){rq->status_gpa, 1, VIRTQ_DESC_F_WRITE, 0};
	rq->want_verdict = BLK_DONE;
	rq->want_status = VIRTIO_BLK_S_OK;
}

static squib_status_t write_desc(struct driver *drv, uint16_t index, const struct vdesc *d)
{
	uint64_t at = virtq_desc_gpa(&drv->q, index);
	squib_status_t s =
	    squib_mem_write_u64_le(drv->mem, SQUIB_GPA(at + VIRTQ_DESC_ADDR), d->addr);

	if (s == SQUIB_OK)
		s = squib_mem_write_u32_le(drv->mem, SQUIB_GPA(at + VIRTQ_DESC_LEN), d->len);
	if (s == SQUIB_OK)
		s = squib_mem_write_u16_le(drv->mem, SQUIB_GPA(at + VIRTQ_DESC_FLAGS), d->flags);
	if (s == SQUIB_OK)
		s = squib_mem_write_u16_le(drv->mem, SQUIB_GPA(at + VIRTQ_DESC_NEXT), d->next);
	return s;
}

/* Writes the header, the data of an OUT, the status sentinel and the chain
 * at descriptors [head, head + n_desc), then the avail entry. The index
 * that makes it visible is published by run_batch(). */
static bool submit(struct driver *drv, struct request *rq, uint16_t head)
{
	static uint8_t data[MAX_BYTES];
	squib_status_t s;
	size_t off = 0;

	rq->head = head;
	s = squib_mem_write_u32_le(drv->mem, SQUIB_GPA(rq->hdr_gpa + VIRTIO_BLK_HDR_TYPE),
				   rq->type);
	if (s == SQUIB_OK)
		s = squib_mem_write_u32_le(drv->mem, SQUIB_GPA(rq->hdr_gpa + 4), 0);
	if (s == SQUIB_OK)
		s = squib_mem_write_u64_le(drv->mem, SQUIB_GPA(rq->hdr_gpa + VIRTIO_BLK_HDR_SECTOR),
					   rq->sector);
	if (s == SQUIB_OK)
		s = squib_mem_write_u8(drv->mem, SQUIB_GPA(rq->status_gpa), STATUS_UNSET);
	if (!check_ok(s, "request header"))
		return false;
	/* Only a request meant to succeed has its data written: the buffers of
	 * the others may be memory the guest no longer has. */
	if (rq->type == VIRTIO_BLK_T_OUT && !rq->raw && rq->want_status == VIRTIO_BLK_S_OK) {
		pattern_fill(data, rq->sector, rq->gen, rq->seg[0].len + rq->seg[1].len);
		for (unsigned i = 0; i < rq->n_seg; i++) {
			if (!check_ok(
				guest_copy(drv, rq->seg[i].addr, data + off, rq->seg[i].len, true),
				"OUT data"))
				return false;
			off += rq->seg[i].len;
		}
	}
	for (unsigned i = 0; i < rq->n_desc; i++) {
		struct vdesc d = rq->desc[i];

		if (!rq->raw && i + 1 < rq->n_desc) {
			d.flags |= VIRTQ_DESC_F_NEXT;
			d.next = (uint16_t)(head + i + 1);
		}
		if (!check_ok(write_desc(drv, (uint16_t)(head + i), &d), "descriptor"))
			return false;
	}
	return check_ok(
	    squib_mem_write_u16_le(
		drv->mem, SQUIB_GPA(virtq_avail_ring_gpa(&drv->q, drv->avail_idx++)), head),
	    "avail entry");
}

/* --- Completions ------------------------------------------------------ */

/* An OUT that succeeded: the file must now hold its pattern. */
static void check_written(struct driver *drv, const struct request *rq, uint64_t len)
{
	static uint8_t want[MAX_BYTES], got[MAX_BYTES];
	off_t offset = (off_t)(rq->sector * VIRTIO_BLK_SECTOR_SIZE);

	pattern_fill(want, rq->sector, rq->gen, len);
	if (check(pread(drv->disk_fd, got, len, offset) == (ssize_t)len, "pread of the disk") &&
	    check(memcmp(want, got, len) == 0, "disk sectors %" PRIu64 "+%" PRIu64 " differ",
		  rq->sector, len / VIRTIO_BLK_SECTOR_SIZE))
		memcpy(disk_model + offset, want, len);
	drv->checks++;
}

/* An IN that succeeded: the guest's buffers must hold the model's bytes. */
static void check_read(struct driver *drv, const struct request *rq, uint64_t len)
{
	static uint8_t got[MAX_BYTES];
	size_t off = 0;

	for (unsigned i = 0; i < rq->n_seg; i++) {
		if (!read_back(drv, rq->seg[i].addr, got + off, rq->seg[i].len))
			return;
		off += rq->seg[i].len;
	}
	check(memcmp(got, disk_model + rq->sector * VIRTIO_BLK_SECTOR_SIZE, len) == 0,
	      "read of sectors %" PRIu64 "+%" PRIu64 " gave wrong data", rq->sector,
	      len / VIRTIO_BLK_SECTOR_SIZE);
	drv->checks++;
}

static void check_completion(struct driver *drv, const struct request *rq, uint32_t used_len)
{
	const struct blk_report *r = &drv->dev->report[rq->head];
	int verdict = atomic_load_explicit(&r->verdict, memory_order_relaxed);
	int why = atomic_load_explicit(&r->why, memory_order_relaxed);
	int map = atomic_load_explicit(&r->map_status, memory_order_relaxed);
	uint64_t len = rq->seg[0].len + (uint64_t)rq->seg[1].len;
	uint8_t status = 0;
	uint32_t want_len;

	if (!check_ok(squib_mem_read_u8(drv->mem, SQUIB_GPA(rq->status_gpa), &status),
		      "status byte"))
		return;
	check(verdict == rq->want_verdict && why == rq->want_why,
	      "head %u: verdict %d (%s), want %d (%s)", rq->head, verdict, blk_why_text(why),
	      rq->want_verdict, blk_why_text(rq->want_why));
	check(map == rq->want_map, "head %u: translate gave %s, want %s", rq->head,
	      squib_strerror((squib_status_t)map), squib_strerror((squib_status_t)rq->want_map));
	if (rq->want_verdict == BLK_REJECTED) {
		check(status == STATUS_UNSET && used_len == 0,
		      "head %u: rejected chain, status 0x%02x used.len %" PRIu32, rq->head, status,
		      used_len);
		return;
	}
	want_len =
	    1 +
	    (rq->want_status == VIRTIO_BLK_S_OK && rq->type == VIRTIO_BLK_T_IN ? (uint32_t)len : 0);
	if (!check(status == rq->want_status && used_len == want_len,
		   "head %u: status %u used.len %" PRIu32 ", want %u and %" PRIu32, rq->head,
		   status, used_len, rq->want_status, want_len))
		return;
	if (rq->spans)
		check(atomic_load_explicit(&r->iov_max, memory_order_relaxed) == 2,
		      "head %u: a buffer over two regions should give 2 iovecs", rq->head);
	if (status == VIRTIO_BLK_S_OK && !rq->raw)
		(rq->type == VIRTIO_BLK_T_OUT ? check_written : check_read)(drv, rq, len);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Polls the used index until n more completions are there. */
static bool wait_used(struct driver *drv, uint16_t n)
{
	uint16_t want = (uint16_t)(drv->used_idx + n), idx = drv->used_idx;
	double deadline = now() + 60;

	for (;;) {
		/* Acquire: the used entries and status bytes below idx were
		 * written before the device published it. */
		if (!check_ok(squib_mem_load_u16_acquire(
				  drv->mem, SQUIB_GPA(virtq_used_idx_gpa(&drv->q)), &idx),
			      "used idx"))
			return false;
		if ((uint16_t)(idx - drv->used_idx) >= n)
			break;
		if (!check(now() < deadline, "timed out waiting for completions"))
			return false;
		sched_yield();
	}
	return check(idx == want, "used idx ran %u past what was submitted",
		     (unsigned)(uint16_t)(idx - want));
}

/* Submits a batch and publishes it with one release store of the avail
 * index: the device cannot see an entry before its chain and buffers. */
static bool publish_batch(struct driver *drv, struct batch *b)
{
	uint16_t next_desc = 0;

	memset(b->by_head, 0, sizeof(b->by_head));
	for (unsigned i = 0; i < b->n; i++) {
		if (!submit(drv, &b->rq[i], next_desc))
			return false;
		b->by_head[next_desc] = &b->rq[i];
		next_desc = (uint16_t)(next_desc + b->rq[i].n_desc);
		drv->spanning += b->rq[i].spans;
	}
	return check_ok(squib_mem_store_u16_release(
			    drv->mem, SQUIB_GPA(virtq_avail_idx_gpa(&drv->q)), drv->avail_idx),
			"avail idx");
}

/* Waits for the whole batch and checks each completion by its head. */
static bool complete_batch(struct driver *drv, struct batch *b)
{
	unsigned before = failures;

	if (!wait_used(drv, (uint16_t)b->n))
		return false;
	for (unsigned i = 0; i < b->n; i++, drv->used_idx++) {
		uint64_t elem = virtq_used_elem_gpa(&drv->q, drv->used_idx);
		uint32_t id = 0, len = 0;

		if (!check_ok(squib_mem_read_u32_le(drv->mem, SQUIB_GPA(elem), &id), "used id") ||
		    !check_ok(squib_mem_read_u32_le(drv->mem, SQUIB_GPA(elem + 4), &len),
			      "used len") ||
		    !check(id < QUEUE_SIZE && b->by_head[id], "used id %" PRIu32 " is no head", id))
			continue;
		check_completion(drv, b->by_head[id], len);
		b->by_head[id] = NULL; /* each head completes once */
		drv->completed++;
	}
	return failures == before;
}

static bool run_batch(struct driver *drv, struct batch *b)
{
	return publish_batch(drv, b) && complete_batch(drv, b);
}

/* --- Phase 1: writes and read-backs ----------------------------------- */

struct extent {
	uint64_t sector;
	uint32_t nsect;
};

/* One write batch over the eight lanes, then a read batch of the same
 * extents with the buffers moved one position on, so every position (the
 * spanning one too) sees both directions. */
static bool round_trip(struct driver *drv)
{
	static struct batch b;
	struct extent ext[LANES];

	b.n = LANES;
	for (unsigned lane = 0; lane < LANES; lane++) {
		ext[lane].nsect = 2 + rnd(MAX_SECTORS - 1);
		ext[lane].sector =
		    (uint64_t)lane * LANE_SECTORS + rnd(LANE_SECTORS - ext[lane].nsect + 1);
		build_request(&b.rq[lane], VIRTIO_BLK_T_OUT, ext[lane].sector, ext[lane].nsect,
			      lane, lane == 0, false);
	}
	if (!run_batch(drv, &b))
		return false;
	for (unsigned pos = 0; pos < LANES; pos++) {
		const struct extent *e = &ext[(pos + 1) % LANES];

		build_request(&b.rq[pos], VIRTIO_BLK_T_IN, e->sector, e->nsect, pos, pos == 0,
			      false);
	}
	return run_batch(drv, &b);
}

/* --- Phase 2: hostile chains ------------------------------------------ */

/* A raw chain at position pos: descriptors exactly as given. */
static struct request *hostile(struct batch *b, const char *name, uint32_t type, uint64_t sector,
			       int verdict, int why, uint8_t status, int map)
{
	struct request *rq = &b->rq[b->n];
	unsigned pos = b->n++;

	memset(rq, 0, sizeof(*rq));
	rq->name = name;
	rq->type = type;
	rq->sector = sector;
	rq->raw = true;
	rq->hdr_gpa = HDR_GPA(pos);
	rq->status_gpa = HDR_GPA(pos) + VIRTIO_BLK_HDR_SIZE;
	rq->want_verdict = verdict;
	rq->want_why = why;
	rq->want_status = status;
	rq->want_map = map;
	return rq;
}

/* Header, one data buffer, status: with the heads known only at submit,
 * descriptors name each other relative to the chain's first index. */
static void raw3(struct request *rq, uint16_t first, uint64_t data, uint32_t len, uint16_t flags,
		 uint32_t hdr_len)
{
	rq->desc[0] =
	    (struct vdesc){rq->hdr_gpa, hdr_len, VIRTQ_DESC_F_NEXT, (uint16_t)(first + 1)};
	rq->desc[1] =
	    (struct vdesc){data, len, (uint16_t)(flags | VIRTQ_DESC_F_NEXT), (uint16_t)(first + 2)};
	rq->desc[2] = (struct vdesc){rq->status_gpa, 1, VIRTQ_DESC_F_WRITE, 0};
	rq->n_desc = 3;
	rq->n_seg = 1;
	rq->seg[0] = rq->desc[1];
}

static bool hostile_cases(struct driver *drv)
{
	static struct batch b;
	static uint8_t rom_before[ROM_SIZE], rom_after[ROM_SIZE];
	const uint16_t W = VIRTQ_DESC_F_WRITE;
	struct request *rq;
	uint16_t at = 0; /* first descriptor of the next chain, as publish_batch lays them */

	b.n = 0;
	/* A loop: the data descriptor points back to the header. */
	rq = hostile(&b, "chain that loops", VIRTIO_BLK_T_IN, 0, BLK_REJECTED, BLK_WHY_LOOP,
		     STATUS_UNSET, SQUIB_OK);
	raw3(rq, at, LO_AREA(0), 512, W, VIRTIO_BLK_HDR_SIZE);
	rq->desc[1].next = at;
	rq->n_desc = 2;
	at = (uint16_t)(at + rq->n_desc);
	/* addr + len passes 2^64. */
	rq = hostile(&b, "length that wraps", VIRTIO_BLK_T_IN, 0, BLK_DONE, BLK_WHY_MAP,
		     VIRTIO_BLK_S_IOERR, SQUIB_E_OUT_OF_RANGE);
	raw3(rq, at, UINT64_MAX - 0xfff, 0x2000, W, VIRTIO_BLK_HDR_SIZE);
	at = (uint16_t)(at + rq->n_desc);
	rq = hostile(&b, "buffer in a hole", VIRTIO_BLK_T_IN, 0, BLK_DONE, BLK_WHY_MAP,
		     VIRTIO_BLK_S_IOERR, SQUIB_E_OUT_OF_RANGE);
	raw3(rq, at, HOLE_GPA, 4096, W, VIRTIO_BLK_HDR_SIZE);
	at = (uint16_t)(at + rq->n_desc);
	rq = hostile(&b, "device-writable buffer in the ROM", VIRTIO_BLK_T_IN, 0, BLK_DONE,
		     BLK_WHY_MAP, VIRTIO_BLK_S_IOERR, SQUIB_E_READ_ONLY);
	raw3(rq, at, ROM_BASE + 0x200, 512, W, VIRTIO_BLK_HDR_SIZE);
	at = (uint16_t)(at + rq->n_desc);
	rq = hostile(&b, "next index out of range", VIRTIO_BLK_T_IN, 0, BLK_REJECTED,
		     BLK_WHY_NEXT_RANGE, STATUS_UNSET, SQUIB_OK);
	raw3(rq, at, LO_AREA(4), 512, W, VIRTIO_BLK_HDR_SIZE);
	rq->desc[0].next = QUEUE_SIZE + 7;
	at = (uint16_t)(at + rq->n_desc);
	rq = hostile(&b, "header descriptor too short", VIRTIO_BLK_T_IN, 0, BLK_DONE,
		     BLK_WHY_SHORT_HEADER, VIRTIO_BLK_S_IOERR, SQUIB_OK);
	raw3(rq, at, LO_AREA(5), 512, W, 8);
	at = (uint16_t)(at + rq->n_desc);
	rq = hostile(&b, "unknown request type", 99, 0, BLK_DONE, BLK_WHY_TYPE, VIRTIO_BLK_S_UNSUPP,
		     SQUIB_OK);
	raw3(rq, at, LO_AREA(6), 512, W, VIRTIO_BLK_HDR_SIZE);
	at = (uint16_t)(at + rq->n_desc);
	rq = hostile(&b, "read past the end of the disk", VIRTIO_BLK_T_IN, DISK_SECTORS - 1,
		     BLK_DONE, BLK_WHY_CAPACITY, VIRTIO_BLK_S_IOERR, SQUIB_OK);
	raw3(rq, at, LO_AREA(7), 1024, W, VIRTIO_BLK_HDR_SIZE);
	at = (uint16_t)(at + rq->n_desc);
	rq = hostile(&b, "write with a device-writable buffer", VIRTIO_BLK_T_OUT, 0, BLK_DONE,
		     BLK_WHY_DIRECTION, VIRTIO_BLK_S_IOERR, SQUIB_OK);
	raw3(rq, at, LO_AREA(0), 512, W, VIRTIO_BLK_HDR_SIZE);
	/* And a good request in the same batch: the device kept running. */
	build_request(&b.rq[b.n], VIRTIO_BLK_T_OUT, 3 * LANE_SECTORS + 5, 7, b.n, false, false);
	b.n++;

	if (!check_ok(squib_mem_read(drv->mem, SQUIB_GPA(ROM_BASE), rom_before, ROM_SIZE), "ROM"))
		return false;
	run_batch(drv, &b);
	for (unsigned i = 0; i < b.n; i++)
		if (b.rq[i].name)
			printf("  hostile: %-36s -> %s\n", b.rq[i].name,
			       b.rq[i].want_verdict == BLK_REJECTED ? "chain rejected, reported"
			       : b.rq[i].want_status == VIRTIO_BLK_S_UNSUPP ? "status UNSUPP"
									    : "status IOERR");
	check_ok(squib_mem_read(drv->mem, SQUIB_GPA(ROM_BASE), rom_after, ROM_SIZE), "ROM");
	return check(memcmp(rom_before, rom_after, ROM_SIZE) == 0, "the ROM changed");
}

/* --- Phase 3: hot-unplug under pinned requests ------------------------ */

/* Waits until the device has parked (pinned) n more requests. */
static bool wait_held(struct driver *drv, unsigned before, unsigned n)
{
	double deadline = now() + 60;

	while (atomic_load_explicit(&drv->dev->held_total, memory_order_acquire) - before < n) {
		if (!check(now() < deadline, "timed out waiting for pinned requests"))
			return false;
		sched_yield();
	}
	return true;
}

static bool remove_hi(struct driver *drv)
{
	uint8_t byte;
	squib_status_t s;

	if (!check_ok(squib_mem_remove_region(drv->mem, HI_SLOT), "remove \"hi\""))
		return false;
	/* The library gives a small removed region's memory back within 32
	 * changes (squib_mem_remove_region): make them, so that only the
	 * device's pins keep "hi" mapped, and an I/O through a plain
	 * translation would now land in unmapped memory. */
	for (unsigned change = 0; change < 32; change += 2) {
		squib_range_t scratch;

		if (!check_ok(squib_range_init(&scratch, SQUIB_GPA(256 * MIB), 4096), "range") ||
		    !check_ok(squib_mem_add_region(drv->mem, scratch, 9, SQUIB_PROT_RW),
			      "add scratch") ||
		    !check_ok(squib_mem_remove_region(drv->mem, 9), "remove scratch"))
			return false;
	}
	s = squib_mem_read_u8(drv->mem, SQUIB_GPA(HI_BASE), &byte);
	return check(s == SQUIB_E_OUT_OF_RANGE && squib_mem_region_count(drv->mem) == 2,
		     "\"hi\" still reachable after its removal: %s", squib_strerror(s));
}

/* Requests in "hi" (and one over the boundary) are pinned by the device
 * and kept in flight while "hi" is removed; then they complete through the
 * pins. OUTs are checked in the file (their data came from the removed
 * memory), INs through the memfd (their data went into it). */
static bool unplug_in_flight(struct driver *drv)
{
	static struct batch b;
	squib_region_info_t info = SQUIB_REGION_INFO_INIT;
	unsigned before = atomic_load(&drv->dev->held_total);

	if (!check_ok(squib_mem_get_region(drv->mem, HI_SLOT, &info), "\"hi\" info"))
		return false;
	/* info.fd dies with the region: keep our own. */
	drv->hi_memfd = dup(info.fd);
	if (!check(drv->hi_memfd >= 0, "dup of the memfd: %s", strerror(errno)))
		return false;
	b.n = 6;
	for (unsigned lane = 0; lane < b.n; lane++) {
		uint32_t type = lane < 4 ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN;
		uint32_t nsect = 2 + rnd(MAX_SECTORS - 1);

		build_request(&b.rq[lane], type, (uint64_t)lane * LANE_SECTORS + rnd(64), nsect,
			      lane, lane == 0, true);
	}
	atomic_store_explicit(&drv->dev->hold, true, memory_order_release);
	if (!publish_batch(drv, &b) || !wait_held(drv, before, b.n))
		return false;
	if (!remove_hi(drv))
		return false;
	atomic_store_explicit(&drv->dev->release, true, memory_order_release);
	if (!complete_batch(drv, &b))
		return false;
	atomic_store_explicit(&drv->dev->hold, false, memory_order_release);
	printf(
	    "  unplug: %u pinned requests in flight while slot %u was removed: all completed OK\n",
	    b.n, HI_SLOT);
	return true;
}

/* After the unplug: whatever touches "hi" is IOERR, "lo" works. */
static bool after_unplug(struct driver *drv)
{
	static struct batch b;

	b.n = 0;
	build_request(&b.rq[b.n++], VIRTIO_BLK_T_IN, 10, 4, 1, false, true); /* in "hi" */
	build_request(&b.rq[b.n++], VIRTIO_BLK_T_OUT, LANE_SECTORS + 3, 4, 0, true,
		      false); /* over */
	build_request(&b.rq[b.n++], VIRTIO_BLK_T_OUT, 2 * LANE_SECTORS, 8, 2, false, false);
	build_request(&b.rq[b.n++], VIRTIO_BLK_T_IN, 2 * LANE_SECTORS, 8, 4, false, false);
	for (unsigned i = 0; i < 2; i++) {
		b.rq[i].want_status = VIRTIO_BLK_S_IOERR;
		b.rq[i].want_why = BLK_WHY_MAP;
		b.rq[i].want_map = SQUIB_E_OUT_OF_RANGE;
		b.rq[i].spans = false; /* no iovecs to count: refused */
	}
	/* The OUT in lane 2 must land before the IN of the same sectors. */
	b.n = 3;
	if (!run_batch(drv, &b))
		return false;
	b.rq[0] = b.rq[3];
	b.n = 1;
	if (!run_batch(drv, &b))
		return false;
	printf("  unplug: after removal, 2 requests touching slot %u -> IOERR (OUT_OF_RANGE), "
	       "2 wholly in slot %u -> OK\n",
	       HI_SLOT, LO_SLOT);
	return true;
}

/* --- Set-up and the whole run ----------------------------------------- */

static bool add_regions(squib_mem_t *mem)
{
	static uint8_t rom[ROM_SIZE];
	squib_region_opts_t hi = SQUIB_REGION_OPTS_INIT, ro = SQUIB_REGION_OPTS_INIT;
	squib_range_t lo;

	for (size_t i = 0; i < sizeof(rom); i++)
		rom[i] = (uint8_t)(i ^ 0x5a);
	if (!check_ok(squib_range_init(&lo, SQUIB_GPA(LO_BASE), MIB), "range") ||
	    !check_ok(squib_mem_add_region(mem, lo, LO_SLOT, SQUIB_PROT_RW), "add \"lo\""))
		return false;
	hi.slot = HI_SLOT;
	hi.prot = SQUIB_PROT_RW;
	hi.flags = SQUIB_REGION_SHARED;
	hi.name = "ram-hi";
	ro.slot = ROM_SLOT;
	ro.prot = SQUIB_PROT_RX;
	ro.flags = SQUIB_REGION_READONLY;
	ro.bytes = rom;
	ro.name = "rom";
	return check_ok(squib_range_init(&hi.range, SQUIB_GPA(HI_BASE), HI_SIZE), "range") &&
	       check_ok(squib_mem_add_region_opts(mem, &hi), "add \"hi\"") &&
	       check_ok(squib_range_init(&ro.range, SQUIB_GPA(ROM_BASE), ROM_SIZE), "range") &&
	       check_ok(squib_mem_add_region_opts(mem, &ro), "add the ROM");
}

/* The library's side of a spanning buffer: two iovecs that meet at the
 * boundary, while a plain read of the same bytes obeys the one-region rule. */
static bool check_span_translation(squib_mem_t *mem)
{
	struct iovec iov[2];
	size_t used = 0;
	uint8_t buf[64];

	return check_ok(squib_mem_translate(mem, SQUIB_GPA(HI_BASE - 4096), 8192, SQUIB_PROT_RW,
					    iov, 2, &used),
			"translate over the boundary") &&
	       check(used == 2 && iov[0].iov_len == 4096 && iov[1].iov_len == 4096,
		     "translate over the boundary gave %zu iovecs", used) &&
	       check(squib_mem_read(mem, SQUIB_GPA(HI_BASE - 32), buf, sizeof(buf)) ==
			 SQUIB_E_OUT_OF_RANGE,
		     "a read over two regions should be refused");
}

/* A 4 MiB temporary file, unlinked at once, filled with generation 0. */
static int make_disk(void)
{
	const char *tmp = getenv("TMPDIR");
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/virtio_blk.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	fd = mkostemp(path, O_CLOEXEC);
	if (!check(fd >= 0, "mkostemp %s: %s", path, strerror(errno)))
		return -1;
	unlink(path);
	pattern_fill(disk_model, 0, 0, DISK_SIZE);
	if (!check(pwrite(fd, disk_model, DISK_SIZE, 0) == (ssize_t)DISK_SIZE,
		   "filling the disk")) {
		close(fd);
		return -1;
	}
	return fd;
}

static void check_whole_disk(int fd)
{
	static uint8_t file[DISK_SIZE];

	if (check(pread(fd, file, DISK_SIZE, 0) == (ssize_t)DISK_SIZE, "pread of the whole disk"))
		check(memcmp(file, disk_model, DISK_SIZE) == 0, "the disk differs from the model");
}

static bool init_queue(struct driver *drv)
{
	drv->q = (struct virtq){QUEUE_DESC, QUEUE_AVAIL, QUEUE_USED, QUEUE_SIZE};
	drv->avail_idx = drv->used_idx = QUEUE_START_IDX;
	return check_ok(squib_mem_write_u16_le(drv->mem, SQUIB_GPA(virtq_avail_idx_gpa(&drv->q)),
					       QUEUE_START_IDX),
			"avail idx") &&
	       check_ok(squib_mem_write_u16_le(drv->mem, SQUIB_GPA(virtq_used_idx_gpa(&drv->q)),
					       QUEUE_START_IDX),
			"used idx");
}

static bool under_valgrind(void)
{
	const char *preload = getenv("LD_PRELOAD");

	return getenv("RUNNING_ON_VALGRIND") || (preload && strstr(preload, "vgpreload"));
}

static void print_summary(const struct driver *drv, unsigned rounds, double seconds)
{
	const struct blk_stats *st = &drv->dev->stats;

	printf("device: %" PRIu64 " requests: %" PRIu64 " OK, %" PRIu64 " IOERR, %" PRIu64
	       " UNSUPP, %" PRIu64 " rejected; %" PRIu64 " pinned\n",
	       (uint64_t)st->requests, (uint64_t)st->ok, (uint64_t)st->ioerr, (uint64_t)st->unsupp,
	       (uint64_t)st->rejected, (uint64_t)st->pinned);
	printf("device: %" PRIu64 " bytes read from the disk, %" PRIu64 " written; %" PRIu64
	       " buffers over two regions (2 iovecs)\n",
	       (uint64_t)st->bytes_read, (uint64_t)st->bytes_written, (uint64_t)st->split_buffers);
	printf("driver: %u rounds, %" PRIu64 " completions, %" PRIu64 " data checks, %" PRIu64
	       " spanning requests, %.3f s\n",
	       rounds, drv->completed, drv->checks, drv->spanning, seconds);
}

int main(int argc, char **argv)
{
	static struct blk_device dev;
	struct driver drv = {.disk_fd = -1, .hi_memfd = -1, .dev = &dev};
	unsigned rounds = under_valgrind() ? 6 : 48;
	bool started = false;
	double t0 = now();
	int err;

	if (argc > 1)
		rounds = (unsigned)strtoul(argv[1], NULL, 10);
	if (!check_ok(squib_mem_new(&drv.mem), "squib_mem_new"))
		return EXIT_FAILURE;
	drv.disk_fd = make_disk();
	if (drv.disk_fd < 0 || !add_regions(drv.mem) || !check_span_translation(drv.mem) ||
	    !init_queue(&drv))
		goto out;
	err = blk_device_start(&dev, drv.mem, &drv.q, drv.disk_fd, DISK_SECTORS);
	if (!check(err == 0, "device start: %s", strerror(err)))
		goto out;
	started = true;

	printf("virtio_blk: queue of %u at 0x%" PRIx64 ", 4 MiB disk, %u rounds\n", QUEUE_SIZE,
	       QUEUE_DESC, rounds);
	for (unsigned r = 0; r < rounds; r++)
		if (!round_trip(&drv))
			goto out;
	if (!hostile_cases(&drv) || !unplug_in_flight(&drv) || !after_unplug(&drv))
		goto out;
	check(!atomic_load(&dev.loop_failed), "the device's ring accesses failed");
	check(dev.stats.split_buffers == drv.spanning,
	      "%" PRIu64 " buffers split by the device, %" PRIu64 " spanning requests",
	      (uint64_t)dev.stats.split_buffers, drv.spanning);
out:
	if (started) {
		blk_device_stop(&dev);
		check_whole_disk(drv.disk_fd);
		print_summary(&drv, rounds, now() - t0);
	}
	if (drv.hi_memfd >= 0)
		close(drv.hi_memfd);
	if (drv.disk_fd >= 0)
		close(drv.disk_fd);
	squib_mem_free(drv.mem);
	if (failures) {
		printf("virtio_blk: %u checks FAILED\n", failures);
		return EXIT_FAILURE;
	}
	printf("virtio_blk: ok\n");
	return EXIT_SUCCESS;
}
