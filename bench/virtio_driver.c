/* SPDX-License-Identifier: MIT */
/*
 * squib-virtio's guest driver: one measured pass of 4 KiB reads through
 * the virtio-blk device of examples/virtio_blk (virtio_bench.h).
 *
 * Written against the library's API, as a monitor's own driver-side code
 * (or a test harness playing the guest) would be; bench/virtio_driver_raw.c
 * compiles this same file against virtio_raw_mem.h for the library-free
 * variant, and then blk_device_start/stop are the raw device's too.
 *
 * The driver keeps `depth` requests in flight: it fills every slot,
 * publishes them with one release store of the avail index, then polls the
 * used index (acquire); for each completion it checks the id, the used
 * length, the status byte and the data (the file holds bench_pattern() of
 * each word's offset: the first and last word of every block, or all of
 * them with check_all), and puts the slot's next request in. Each batch of
 * new requests is published with one store, as a guest kernel does.
 */
#define _GNU_SOURCE /* as blk_device.c: the raw build defines it first, alike */
#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <squib/core.h>

#include "bench_common.h"
#include "virtio_bench.h"

/* The value the first word of a slot's buffer holds while its read is in
 * flight: never the pattern the read must bring. */
static uint32_t poison_of(uint64_t file_off)
{
	return ~bench_pattern(file_off);
}

static bool write_desc(squib_mem_t *mem, const struct virtq *q, uint16_t index, uint64_t addr,
		       uint32_t len, uint16_t flags, uint16_t next)
{
	uint64_t at = virtq_desc_gpa(q, index);

	return squib_mem_write_u64_le(mem, SQUIB_GPA(at + VIRTQ_DESC_ADDR), addr) == SQUIB_OK &&
	       squib_mem_write_u32_le(mem, SQUIB_GPA(at + VIRTQ_DESC_LEN), len) == SQUIB_OK &&
	       squib_mem_write_u16_le(mem, SQUIB_GPA(at + VIRTQ_DESC_FLAGS), flags) == SQUIB_OK &&
	       squib_mem_write_u16_le(mem, SQUIB_GPA(at + VIRTQ_DESC_NEXT), next) == SQUIB_OK;
}

/* Header, status sentinel, the buffer's poison, three descriptors and the
 * avail entry of a read of file block `block` in slot `slot`. A null
 * request has no data descriptor (header -> status): a read of 0 sectors,
 * which the device serves without a system call. */
static bool submit(squib_mem_t *mem, const struct virtq *q, unsigned slot, uint32_t block,
		   uint16_t avail_idx, bool null_io)
{
	uint64_t hdr = VB_HDR_GPA(slot), status = hdr + VIRTIO_BLK_HDR_SIZE;
	uint64_t data = VB_DATA_GPA(slot);
	uint16_t head = (uint16_t)(slot * 3u);

	if (squib_mem_write_u32_le(mem, SQUIB_GPA(hdr + VIRTIO_BLK_HDR_TYPE), VIRTIO_BLK_T_IN) !=
		SQUIB_OK ||
	    squib_mem_write_u32_le(mem, SQUIB_GPA(hdr + 4), 0) != SQUIB_OK ||
	    squib_mem_write_u64_le(mem, SQUIB_GPA(hdr + VIRTIO_BLK_HDR_SECTOR),
				   (uint64_t)block * (VB_BLOCK / VIRTIO_BLK_SECTOR_SIZE)) !=
		SQUIB_OK ||
	    squib_mem_write_u8(mem, SQUIB_GPA(status), VB_STATUS_UNSET) != SQUIB_OK ||
	    !write_desc(mem, q, head, hdr, VIRTIO_BLK_HDR_SIZE, VIRTQ_DESC_F_NEXT,
			(uint16_t)(head + (null_io ? 2u : 1u))))
		return false;
	if (!null_io &&
	    (squib_mem_write_u32_le(mem, SQUIB_GPA(data), poison_of((uint64_t)block * VB_BLOCK)) !=
		 SQUIB_OK ||
	     !write_desc(mem, q, (uint16_t)(head + 1u), data, VB_BLOCK,
			 VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, (uint16_t)(head + 2u))))
		return false;
	return write_desc(mem, q, (uint16_t)(head + 2u), status, 1, VIRTQ_DESC_F_WRITE, 0) &&
	       squib_mem_write_u16_le(mem, SQUIB_GPA(virtq_avail_ring_gpa(q, avail_idx)), head) ==
		   SQUIB_OK;
}

/* The words of block `block` that the read put at gpa: true if they are
 * the file's. */
static bool data_ok(const squib_mem_t *mem, uint64_t gpa, uint32_t block, bool all)
{
	uint64_t file_off = (uint64_t)block * VB_BLOCK;
	uint32_t word;

	if (all) {
		uint32_t buf[VB_BLOCK / 4];

		if (squib_mem_read(mem, SQUIB_GPA(gpa), buf, sizeof(buf)) != SQUIB_OK)
			return false;
		for (size_t i = 0; i < VB_BLOCK / 4; i++)
			if (buf[i] != bench_pattern(file_off + 4 * i))
				return false;
		return true;
	}
	return squib_mem_read_u32_le(mem, SQUIB_GPA(gpa), &word) == SQUIB_OK &&
	       word == bench_pattern(file_off) &&
	       squib_mem_read_u32_le(mem, SQUIB_GPA(gpa + VB_BLOCK - 4), &word) == SQUIB_OK &&
	       word == bench_pattern(file_off + VB_BLOCK - 4);
}

/* One used entry: which slot it completes (VB_DEPTH_MAX when none). */
static unsigned complete(const squib_mem_t *mem, const struct vpass_config *cfg,
			 const uint32_t *in_flight, uint16_t used_idx, uint64_t *bad)
{
	uint64_t elem = virtq_used_elem_gpa(&cfg->q, used_idx);
	uint32_t id = 0, len = 0;
	uint8_t status = 0;
	unsigned slot;

	if (squib_mem_read_u32_le(mem, SQUIB_GPA(elem), &id) != SQUIB_OK ||
	    squib_mem_read_u32_le(mem, SQUIB_GPA(elem + 4), &len) != SQUIB_OK || id % 3u ||
	    id / 3u >= cfg->depth || in_flight[id / 3u] == UINT32_MAX) {
		(*bad)++;
		return VB_DEPTH_MAX;
	}
	slot = id / 3u;
	if (len != (cfg->null_io ? 0u : VB_BLOCK) + 1u ||
	    squib_mem_read_u8(mem, SQUIB_GPA(VB_HDR_GPA(slot) + VIRTIO_BLK_HDR_SIZE), &status) !=
		SQUIB_OK ||
	    status != VIRTIO_BLK_S_OK ||
	    (!cfg->null_io && !data_ok(mem, VB_DATA_GPA(slot), in_flight[slot], cfg->check_all)))
		(*bad)++;
	return slot;
}

static void fail(struct vpass_result *res, const char *what)
{
	if (!res->failure[0])
		snprintf(res->failure, sizeof(res->failure), "%s", what);
}

/* Sets both indexes to cfg->start_idx, so that every pass starts alike. */
static bool queue_reset(squib_mem_t *mem, const struct vpass_config *cfg)
{
	return squib_mem_write_u16_le(mem, SQUIB_GPA(virtq_avail_idx_gpa(&cfg->q)),
				      cfg->start_idx) == SQUIB_OK &&
	       squib_mem_write_u16_le(mem, SQUIB_GPA(virtq_used_idx_gpa(&cfg->q)),
				      cfg->start_idx) == SQUIB_OK;
}

static void run(squib_mem_t *mem, const struct vpass_config *cfg, struct vpass_result *res)
{
	uint32_t in_flight[VB_DEPTH_MAX]; /* block of each slot, UINT32_MAX if free */
	uint16_t avail_idx = cfg->start_idx, used_idx = cfg->start_idx;
	uint16_t published = cfg->start_idx;
	size_t next = 0, done = 0;
	double t0, t1, cpu0, cpu1;

	for (unsigned s = 0; s < VB_DEPTH_MAX; s++)
		in_flight[s] = UINT32_MAX;
	cpu0 = bench_ns(CLOCK_PROCESS_CPUTIME_ID);
	t0 = bench_ns(CLOCK_MONOTONIC);
	for (unsigned s = 0; s < cfg->depth && next < cfg->requests; s++, next++) {
		if (!submit(mem, &cfg->q, s, cfg->blocks[next], avail_idx++, cfg->null_io)) {
			fail(res, "driver: a request could not be written");
			return;
		}
		in_flight[s] = cfg->blocks[next];
	}
	while (done < cfg->requests) {
		uint16_t idx;
		bool more = false;

		/* Release: the chains and avail entries below avail_idx are
		 * written before the device can see the index. */
		if (published != avail_idx) {
			if (squib_mem_store_u16_release(mem,
							SQUIB_GPA(virtq_avail_idx_gpa(&cfg->q)),
							avail_idx) != SQUIB_OK) {
				fail(res, "driver: the avail index could not be published");
				return;
			}
			published = avail_idx;
		}
		if (squib_mem_load_u16_acquire(mem, SQUIB_GPA(virtq_used_idx_gpa(&cfg->q)), &idx) !=
		    SQUIB_OK) {
			fail(res, "driver: the used index could not be read");
			return;
		}
		/* Acquire: every used entry below idx, and the data and status
		 * bytes it covers, were written before the device published it. */
		while (used_idx != idx) {
			unsigned slot = complete(mem, cfg, in_flight, used_idx++, &res->bad);

			done++;
			if (slot == VB_DEPTH_MAX) {
				fail(res, "driver: a used entry names no request in flight");
				return;
			}
			in_flight[slot] = UINT32_MAX;
			if (next < cfg->requests) {
				if (!submit(mem, &cfg->q, slot, cfg->blocks[next], avail_idx++,
					    cfg->null_io)) {
					fail(res, "driver: a request could not be written");
					return;
				}
				in_flight[slot] = cfg->blocks[next++];
			}
			more = true;
		}
		if (!more)
			sched_yield(); /* as the device does: two shared cores */
	}
	t1 = bench_ns(CLOCK_MONOTONIC);
	cpu1 = bench_ns(CLOCK_PROCESS_CPUTIME_ID);
	res->ns = t1 - t0;
	res->cpus = res->ns > 0 ? (cpu1 - cpu0) / res->ns : 0;
	res->completed = done;
}

void virtio_pass(squib_mem_t *mem, struct blk_device *dev, const struct vpass_config *cfg,
		 struct vpass_result *res)
{
	int err;

	memset(res, 0, sizeof(*res));
	if (cfg->depth < 1 || cfg->depth > VB_DEPTH_MAX || cfg->q.size != VB_QUEUE_SIZE) {
		fail(res, "driver: bad depth or queue size");
		return;
	}
	if (!queue_reset(mem, cfg)) {
		fail(res, "driver: the ring indexes could not be written");
		return;
	}
	err = blk_device_start(dev, mem, &cfg->q, cfg->fd, cfg->capacity);
	if (err) {
		snprintf(res->failure, sizeof(res->failure), "blk_device_start: %s", strerror(err));
		return;
	}
	run(mem, cfg, res);
	blk_device_stop(dev);
	if (atomic_load(&dev->loop_failed))
		fail(res, "device: a ring access failed");
	else if (res->completed == cfg->requests &&
		 (dev->stats.requests != cfg->requests || dev->stats.ok != cfg->requests ||
		  dev->stats.bytes_read !=
		      (uint64_t)cfg->requests * (cfg->null_io ? 0u : VB_BLOCK)))
		fail(res, "device: its counters do not match the requests served");
}
