/* SPDX-License-Identifier: MIT */
/*
 * squib-virtio: what its driver (virtio_driver.c) and main program
 * (squib_virtio.c) share. The guest-physical layout of one split virtqueue
 * and its requests, and one measured pass.
 *
 * Guest-physical memory is [0, VB_GUEST_SIZE), one region:
 *
 *   0x0000                  descriptor table, VB_QUEUE_SIZE entries
 *   0x1000                  avail ring
 *   0x2000                  used ring
 *   0x4000 + 32 * slot      request header of a slot (16 bytes), its
 *                           status byte 16 bytes on
 *   0x10000 + 4096 * slot   the 4 KiB data buffer of a slot
 *
 * A slot is one request in flight: descriptors [3 slot, 3 slot + 3), the
 * chain header -> data (device-writable) -> status, head 3 * slot.
 */
#ifndef SQUIB_BENCH_VIRTIO_BENCH_H
#define SQUIB_BENCH_VIRTIO_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <squib/core.h>

#include "blk_device.h"
#include "virtq.h"

#define VB_GUEST_SIZE ((uint64_t)1 << 20)
#define VB_QUEUE_SIZE 128u
#define VB_QUEUE_DESC UINT64_C(0x0)
#define VB_QUEUE_AVAIL UINT64_C(0x1000)
#define VB_QUEUE_USED UINT64_C(0x2000)
#define VB_HDR_GPA(slot) (UINT64_C(0x4000) + (uint64_t)(slot)*32u)
#define VB_DATA_GPA(slot) (UINT64_C(0x10000) + (uint64_t)(slot)*VB_BLOCK)
#define VB_BLOCK 4096u
#define VB_DEPTH_MAX 42u /* 3 descriptors each in a queue of 128 */
#define VB_STATUS_UNSET 0xffu

/* The raw variant's "guest memory": guest-physical [0, size) at host,
 * passed where the library variant passes its squib_mem_t *
 * (virtio_raw_mem.h casts it back). */
struct raw_guest {
	uint8_t *host;
	uint64_t size;
};

static inline squib_mem_t *raw_guest_handle(struct raw_guest *guest)
{
	return (squib_mem_t *)(void *)guest;
}

/* One pass: `requests` 4 KiB reads, at most `depth` in flight. */
struct vpass_config {
	struct virtq q;
	unsigned depth;		/* 1 .. VB_DEPTH_MAX */
	size_t requests;	/* reads in the pass */
	const uint32_t *blocks; /* requests file block numbers, one per read */
	uint16_t start_idx;	/* where avail and used start (near 2^16: wraps) */
	bool check_all;		/* check every word read, not the first and last */
	bool null_io;		/* no data descriptor: reads of 0 sectors */
	int fd;			/* the disk */
	uint64_t capacity;	/* of the disk, in sectors */
};

/* cpus: process CPU time / wall time, 2 when the driver and the device
 * each had a CPU throughout. */
struct vpass_result {
	double ns;   /* wall ns, first submission to last completion */
	double cpus; /* see above */
	uint64_t completed;
	uint64_t bad;	   /* completions with a wrong id, length, status or data */
	char failure[160]; /* empty, or what went wrong (device, library) */
};

/* Starts a device (blk_device.c) on cfg->q, runs the pass as the guest's
 * driver, stops the device and checks its counters. The library variant is
 * virtio_driver.c over a squib_mem_t; raw_virtio_pass is the same source
 * over raw_guest_handle() (virtio_raw_mem.h). */
void virtio_pass(squib_mem_t *mem, struct blk_device *dev, const struct vpass_config *cfg,
		 struct vpass_result *res);
void raw_virtio_pass(squib_mem_t *mem, struct blk_device *dev, const struct vpass_config *cfg,
		     struct vpass_result *res);

#endif /* SQUIB_BENCH_VIRTIO_BENCH_H */
