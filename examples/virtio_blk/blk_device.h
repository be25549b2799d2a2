/* SPDX-License-Identifier: MIT */
/*
 * A virtio-blk device on one split virtqueue, served by its own thread.
 *
 * It polls the avail index, walks each chain with typed reads, validates it
 * as if the guest were hostile, and moves data between the guest's buffers
 * and a file with preadv()/pwritev() over the iovecs the library gives. In
 * "hold" mode it pins the buffers of new requests and keeps them in flight
 * until released, which is how the example hot-unplugs memory under them.
 */
#ifndef VIRTIO_BLK_BLK_DEVICE_H
#define VIRTIO_BLK_BLK_DEVICE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <squib/core.h>

#include "virtq.h"

/* The largest queue the device accepts, so per-head arrays can be static. */
#define BLK_QUEUE_MAX 256u
/* Requests the device may keep pinned at once in hold mode. */
#define BLK_HELD_MAX 16u
/* iovecs one descriptor may need: the two RAM regions are the only
 * GPA-adjacent ones, so 2 would do; more costs nothing. */
#define BLK_IOV_PER_DESC 4u
/* Data descriptors per request (virtio-blk's seg_max). */
#define BLK_SEG_MAX 16u

/* What happened to a chain. */
enum blk_verdict {
	BLK_PENDING = 0,
	BLK_DONE,     /* status byte written: OK, IOERR or UNSUPP */
	BLK_REJECTED, /* chain unusable, status not written, used.len 0 */
};

/* Why a request did not succeed; BLK_WHY_NONE when it did. */
enum blk_why {
	BLK_WHY_NONE = 0,
	BLK_WHY_HEAD_RANGE,   /* avail entry >= queue size */
	BLK_WHY_DESC_READ,    /* descriptor table unreadable */
	BLK_WHY_LOOP,	      /* chain longer than the queue: it loops */
	BLK_WHY_NEXT_RANGE,   /* next >= queue size */
	BLK_WHY_INDIRECT,     /* VIRTQ_DESC_F_INDIRECT, not negotiated */
	BLK_WHY_NO_STATUS,    /* last descriptor cannot take the status */
	BLK_WHY_STATUS_WRITE, /* status byte not writable */
	BLK_WHY_SHORT_HEADER, /* header descriptor < 16 bytes */
	BLK_WHY_HEADER,	      /* header unreadable or device-writable */
	BLK_WHY_TYPE,	      /* neither IN nor OUT */
	BLK_WHY_DIRECTION,    /* data buffer flagged the wrong way */
	BLK_WHY_SEGMENTS,     /* more than BLK_SEG_MAX data buffers */
	BLK_WHY_ALIGN,	      /* data not a whole number of sectors */
	BLK_WHY_CAPACITY,     /* past the end of the disk */
	BLK_WHY_MAP,	      /* translate/pin refused a buffer */
	BLK_WHY_IO,	      /* preadv/pwritev failed or was short */
};

/* The outcome of the last chain with a given head, for the driver to
 * check. Written before the used index is published, read after it. */
struct blk_report {
	_Atomic int verdict;	  /* enum blk_verdict */
	_Atomic int why;	  /* enum blk_why */
	_Atomic int map_status;	  /* squib status of a failed translate/pin */
	_Atomic unsigned iov_max; /* most iovecs one of its buffers needed */
};

struct blk_stats {
	atomic_uint_fast64_t requests, ok, ioerr, unsupp, rejected;
	atomic_uint_fast64_t bytes_read, bytes_written; /* of the file */
	atomic_uint_fast64_t split_buffers;		/* buffers over 2+ regions */
	atomic_uint_fast64_t pinned;			/* requests served via pins */
};

struct blk_held;

struct blk_device {
	squib_mem_t *mem;
	struct virtq q;
	int fd;
	uint64_t capacity; /* in sectors */

	/* Control from the driver side (not part of virtio: it stands in for
	 * "the host's I/O is slow" and for stopping the thread). */
	atomic_bool stop;
	atomic_bool hold;	 /* pin new requests and keep them in flight */
	atomic_bool release;	 /* complete what is held */
	atomic_uint held_total;	 /* requests ever parked */
	atomic_bool loop_failed; /* a ring access failed: a device bug */

	struct blk_stats stats;
	struct blk_report report[BLK_QUEUE_MAX];

	/* Device thread only. */
	pthread_t thread;
	uint16_t last_avail, used_idx;
	unsigned n_held;
	struct blk_held *held;
};

/* Starts the device thread on queue q, whose avail and used indexes it
 * takes from guest memory as they are now. 0 on success, else an errno. */
int blk_device_start(struct blk_device *dev, squib_mem_t *mem, const struct virtq *q, int fd,
		     uint64_t capacity_sectors);
/* Stops and joins the thread, unpinning whatever is still held. */
void blk_device_stop(struct blk_device *dev);

const char *blk_why_text(int why);

#endif /* VIRTIO_BLK_BLK_DEVICE_H */
