/* SPDX-License-Identifier: MIT */
/*
 * The device side of the example: see blk_device.h.
 *
 * Every field of every descriptor is the guest's to choose, so nothing is
 * trusted: the chain walk is bounded by the queue size (a loop cannot hang
 * the device), each buffer is checked whole by squib_mem_translate() for
 * the access the device will make (a wrapping length, a hole, a write into
 * a ROM are all refused there, before any byte moves), and a broken chain
 * costs the guest that request, never the device.
 */
#define _GNU_SOURCE /* preadv, pwritev */
#include "blk_device.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

struct blk_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

/* One request, from parsing to completion. */
struct blk_req {
	uint16_t head;
	uint32_t type;
	uint64_t sector;
	uint64_t status_gpa;
	uint64_t data_len;
	struct blk_desc data[BLK_SEG_MAX];
	unsigned n_data;
	struct iovec iov[BLK_SEG_MAX * BLK_IOV_PER_DESC];
	size_t n_iov;
	squib_pin_t *pins[BLK_SEG_MAX];
	unsigned n_pins;
};

struct blk_held {
	struct blk_req req;
};

const char *blk_why_text(int why)
{
	static const char *const text[] = {
	    [BLK_WHY_NONE] = "none",
	    [BLK_WHY_HEAD_RANGE] = "head index out of range",
	    [BLK_WHY_DESC_READ] = "descriptor unreadable",
	    [BLK_WHY_LOOP] = "chain loops (longer than the queue)",
	    [BLK_WHY_NEXT_RANGE] = "next index out of range",
	    [BLK_WHY_INDIRECT] = "indirect descriptor not negotiated",
	    [BLK_WHY_NO_STATUS] = "no device-writable status descriptor",
	    [BLK_WHY_STATUS_WRITE] = "status byte not writable",
	    [BLK_WHY_SHORT_HEADER] = "header descriptor too short",
	    [BLK_WHY_HEADER] = "header unreadable or device-writable",
	    [BLK_WHY_TYPE] = "unsupported request type",
	    [BLK_WHY_DIRECTION] = "data buffer flagged the wrong way",
	    [BLK_WHY_SEGMENTS] = "too many data buffers",
	    [BLK_WHY_ALIGN] = "data not a whole number of sectors",
	    [BLK_WHY_CAPACITY] = "past the end of the disk",
	    [BLK_WHY_MAP] = "buffer refused by translate/pin",
	    [BLK_WHY_IO] = "host I/O failed",
	};

	if (why < 0 || (size_t)why >= sizeof(text) / sizeof(text[0]))
		return "?";
	return text[why];
}

static void stat_add(atomic_uint_fast64_t *counter, uint64_t n)
{
	atomic_fetch_add_explicit(counter, n, memory_order_relaxed);
}

static void report(struct blk_device *dev, uint16_t head, enum blk_verdict verdict, int why)
{
	struct blk_report *r = &dev->report[head];

	atomic_store_explicit(&r->why, why, memory_order_relaxed);
	atomic_store_explicit(&r->verdict, (int)verdict, memory_order_relaxed);
}

/* Appends {id, len} to the used ring and publishes it: the entry must be
 * visible before the index that covers it, hence the release store. */
static void push_used(struct blk_device *dev, uint16_t id, uint32_t len)
{
	uint64_t elem = virtq_used_elem_gpa(&dev->q, dev->used_idx);

	if (squib_mem_write_u32_le(dev->mem, SQUIB_GPA(elem), id) != SQUIB_OK ||
	    squib_mem_write_u32_le(dev->mem, SQUIB_GPA(elem + 4), len) != SQUIB_OK ||
	    squib_mem_store_u16_release(dev->mem, SQUIB_GPA(virtq_used_idx_gpa(&dev->q)),
					(uint16_t)(dev->used_idx + 1u)) != SQUIB_OK) {
		atomic_store(&dev->loop_failed, true);
		return;
	}
	dev->used_idx++;
}

/* The chain is unusable: give the head back with nothing written. */
static void reject(struct blk_device *dev, uint16_t head, enum blk_why why)
{
	stat_add(&dev->stats.rejected, 1);
	if (head < dev->q.size)
		report(dev, head, BLK_REJECTED, why);
	push_used(dev, head, 0);
}

/* Writes the status byte and completes the request. used.len counts the
 * bytes the device wrote into the guest: the data of a good read, then
 * the status byte. */
static void finish(struct blk_device *dev, const struct blk_req *req, uint8_t status, int why)
{
	uint32_t used_len = 1;

	if (squib_mem_write_u8(dev->mem, SQUIB_GPA(req->status_gpa), status) != SQUIB_OK) {
		reject(dev, req->head, BLK_WHY_STATUS_WRITE);
		return;
	}
	if (status == VIRTIO_BLK_S_OK && req->type == VIRTIO_BLK_T_IN)
		used_len += (uint32_t)req->data_len;
	stat_add(status == VIRTIO_BLK_S_OK	 ? &dev->stats.ok
		 : status == VIRTIO_BLK_S_UNSUPP ? &dev->stats.unsupp
						 : &dev->stats.ioerr,
		 1);
	report(dev, req->head, BLK_DONE, why);
	push_used(dev, req->head, used_len);
}

static squib_status_t read_desc(const struct blk_device *dev, uint16_t index, struct blk_desc *d)
{
	uint64_t at = virtq_desc_gpa(&dev->q, index);
	squib_status_t s;

	s = squib_mem_read_u64_le(dev->mem, SQUIB_GPA(at + VIRTQ_DESC_ADDR), &d->addr);
	if (s == SQUIB_OK)
		s = squib_mem_read_u32_le(dev->mem, SQUIB_GPA(at + VIRTQ_DESC_LEN), &d->len);
	if (s == SQUIB_OK)
		s = squib_mem_read_u16_le(dev->mem, SQUIB_GPA(at + VIRTQ_DESC_FLAGS), &d->flags);
	if (s == SQUIB_OK)
		s = squib_mem_read_u16_le(dev->mem, SQUIB_GPA(at + VIRTQ_DESC_NEXT), &d->next);
	return s;
}

/* Copies the chain from head into chain[], at most q.size descriptors:
 * a chain cannot be longer than the table without visiting some entry
 * twice, so the bound catches every loop without remembering visits. */
static enum blk_why walk_chain(const struct blk_device *dev, uint16_t head, struct blk_desc *chain,
			       unsigned *count)
{
	uint16_t index = head;

	for (unsigned n = 0; n < dev->q.size; n++) {
		if (read_desc(dev, index, &chain[n]) != SQUIB_OK)
			return BLK_WHY_DESC_READ;
		if (chain[n].flags & VIRTQ_DESC_F_INDIRECT)
			return BLK_WHY_INDIRECT;
		if (!(chain[n].flags & VIRTQ_DESC_F_NEXT)) {
			*count = n + 1;
			return BLK_WHY_NONE;
		}
		if (chain[n].next >= dev->q.size)
			return BLK_WHY_NEXT_RANGE;
		index = chain[n].next;
	}
	return BLK_WHY_LOOP;
}

static enum blk_why parse_header(const struct blk_device *dev, const struct blk_desc *hdr,
				 struct blk_req *req)
{
	if (hdr->flags & VIRTQ_DESC_F_WRITE)
		return BLK_WHY_HEADER;
	if (hdr->len < VIRTIO_BLK_HDR_SIZE)
		return BLK_WHY_SHORT_HEADER;
	if (squib_mem_read_u32_le(dev->mem, SQUIB_GPA(hdr->addr + VIRTIO_BLK_HDR_TYPE),
				  &req->type) != SQUIB_OK ||
	    squib_mem_read_u64_le(dev->mem, SQUIB_GPA(hdr->addr + VIRTIO_BLK_HDR_SECTOR),
				  &req->sector) != SQUIB_OK)
		return BLK_WHY_HEADER;
	if (req->type != VIRTIO_BLK_T_IN && req->type != VIRTIO_BLK_T_OUT)
		return BLK_WHY_TYPE;
	return BLK_WHY_NONE;
}

/* The data buffers: all device-writable for a read, none for a write, a
 * whole number of sectors inside the disk. */
static enum blk_why parse_data(const struct blk_device *dev, const struct blk_desc *chain,
			       unsigned count, struct blk_req *req)
{
	uint16_t want = req->type == VIRTIO_BLK_T_IN ? VIRTQ_DESC_F_WRITE : 0;
	uint64_t sectors;

	if (count - 2 > BLK_SEG_MAX)
		return BLK_WHY_SEGMENTS;
	req->n_data = count - 2;
	req->data_len = 0;
	for (unsigned i = 0; i < req->n_data; i++) {
		req->data[i] = chain[i + 1];
		if ((req->data[i].flags & VIRTQ_DESC_F_WRITE) != want)
			return BLK_WHY_DIRECTION;
		req->data_len += req->data[i].len; /* <= 16 * 2^32: no overflow */
	}
	if (req->data_len % VIRTIO_BLK_SECTOR_SIZE)
		return BLK_WHY_ALIGN;
	sectors = req->data_len / VIRTIO_BLK_SECTOR_SIZE;
	if (req->sector > dev->capacity || sectors > dev->capacity - req->sector)
		return BLK_WHY_CAPACITY;
	return BLK_WHY_NONE;
}

static void unpin_all(struct blk_req *req)
{
	for (unsigned i = 0; i < req->n_pins; i++)
		squib_mem_unpin(req->pins[i]);
	req->n_pins = 0;
}

/* Host iovecs for every data buffer, for the access the device will make:
 * it writes into the buffers of a read. With pin, the memory also stays
 * mapped until unpin_all(), whatever happens to the regions meanwhile. */
static squib_status_t map_data(struct blk_device *dev, struct blk_req *req, bool pin)
{
	squib_prot_t access = req->type == VIRTIO_BLK_T_IN ? SQUIB_PROT_WRITE : SQUIB_PROT_READ;
	size_t cap = sizeof(req->iov) / sizeof(req->iov[0]);
	unsigned iov_max = 0;

	req->n_iov = 0;
	req->n_pins = 0;
	for (unsigned i = 0; i < req->n_data; i++) {
		const struct blk_desc *d = &req->data[i];
		struct iovec *iov = &req->iov[req->n_iov];
		size_t used = 0;
		squib_status_t s;

		if (pin)
			s = squib_mem_pin(dev->mem, SQUIB_GPA(d->addr), d->len, access, iov,
					  cap - req->n_iov, &used, &req->pins[req->n_pins]);
		else
			s = squib_mem_translate(dev->mem, SQUIB_GPA(d->addr), d->len, access, iov,
						cap - req->n_iov, &used);
		if (s != SQUIB_OK) {
			unpin_all(req);
			atomic_store_explicit(&dev->report[req->head].map_status, (int)s,
					      memory_order_relaxed);
			return s;
		}
		if (pin)
			req->n_pins++;
		if (used > 1)
			stat_add(&dev->stats.split_buffers, 1);
		if (used > iov_max)
			iov_max = (unsigned)used;
		req->n_iov += used;
	}
	atomic_store_explicit(&dev->report[req->head].iov_max, iov_max, memory_order_relaxed);
	return SQUIB_OK;
}

/* The actual I/O, straight between the file and guest memory. */
static void execute(struct blk_device *dev, struct blk_req *req)
{
	off_t offset = (off_t)(req->sector * VIRTIO_BLK_SECTOR_SIZE);
	int n_iov = (int)req->n_iov;
	ssize_t done;

	if (req->type == VIRTIO_BLK_T_IN)
		done = n_iov ? preadv(dev->fd, req->iov, n_iov, offset) : 0;
	else
		done = n_iov ? pwritev(dev->fd, req->iov, n_iov, offset) : 0;
	unpin_all(req);
	/* A regular file inside its size transfers all or fails; anything
	 * short is an error too, never a silent partial completion. */
	if (done < 0 || (uint64_t)done != req->data_len) {
		finish(dev, req, VIRTIO_BLK_S_IOERR, BLK_WHY_IO);
		return;
	}
	stat_add(req->type == VIRTIO_BLK_T_IN ? &dev->stats.bytes_read : &dev->stats.bytes_written,
		 req->data_len);
	finish(dev, req, VIRTIO_BLK_S_OK, BLK_WHY_NONE);
}

/* Keeps a mapped (pinned) request for release_held(). */
static bool park(struct blk_device *dev, const struct blk_req *req)
{
	if (dev->n_held == BLK_HELD_MAX)
		return false;
	dev->held[dev->n_held++].req = *req;
	stat_add(&dev->stats.pinned, 1);
	atomic_fetch_add_explicit(&dev->held_total, 1, memory_order_release);
	return true;
}

static void release_held(struct blk_device *dev)
{
	for (unsigned i = 0; i < dev->n_held; i++)
		execute(dev, &dev->held[i].req);
	dev->n_held = 0;
}

static void serve(struct blk_device *dev, uint16_t head)
{
	struct blk_desc chain[BLK_QUEUE_MAX];
	struct blk_req req = {.head = head};
	unsigned count = 0;
	enum blk_why why;
	bool hold = atomic_load_explicit(&dev->hold, memory_order_acquire);

	stat_add(&dev->stats.requests, 1);
	if (head >= dev->q.size) {
		reject(dev, head, BLK_WHY_HEAD_RANGE);
		return;
	}
	atomic_store_explicit(&dev->report[head].map_status, SQUIB_OK, memory_order_relaxed);
	atomic_store_explicit(&dev->report[head].iov_max, 0, memory_order_relaxed);
	why = walk_chain(dev, head, chain, &count);
	if (why == BLK_WHY_NONE && (count < 2 || !(chain[count - 1].flags & VIRTQ_DESC_F_WRITE) ||
				    chain[count - 1].len < 1))
		why = BLK_WHY_NO_STATUS;
	if (why != BLK_WHY_NONE) {
		/* Without a trustworthy status descriptor there is nowhere to
		 * say IOERR: the head comes back with used.len 0. */
		reject(dev, head, why);
		return;
	}
	req.status_gpa = chain[count - 1].addr;
	why = parse_header(dev, &chain[0], &req);
	if (why == BLK_WHY_TYPE) {
		finish(dev, &req, VIRTIO_BLK_S_UNSUPP, why);
		return;
	}
	if (why == BLK_WHY_NONE)
		why = parse_data(dev, chain, count, &req);
	if (why == BLK_WHY_NONE && map_data(dev, &req, hold) != SQUIB_OK)
		why = BLK_WHY_MAP;
	if (why != BLK_WHY_NONE) {
		finish(dev, &req, VIRTIO_BLK_S_IOERR, why);
		return;
	}
	if (hold && park(dev, &req))
		return;
	execute(dev, &req);
}

/* Serves what the driver has published; false when there was nothing. */
static bool poll_avail(struct blk_device *dev)
{
	uint16_t avail_idx, head;
	bool busy = false;

	/* Acquire: the ring entries below avail_idx, and the descriptors and
	 * buffers they name, were written before the driver published it. */
	if (squib_mem_load_u16_acquire(dev->mem, SQUIB_GPA(virtq_avail_idx_gpa(&dev->q)),
				       &avail_idx) != SQUIB_OK) {
		atomic_store(&dev->loop_failed, true);
		return false;
	}
	while (dev->last_avail != avail_idx) {
		if (squib_mem_read_u16_le(dev->mem,
					  SQUIB_GPA(virtq_avail_ring_gpa(&dev->q, dev->last_avail)),
					  &head) != SQUIB_OK) {
			atomic_store(&dev->loop_failed, true);
			return false;
		}
		dev->last_avail++;
		serve(dev, head);
		busy = true;
	}
	return busy;
}

static void *device_main(void *arg)
{
	struct blk_device *dev = arg;

	while (!atomic_load_explicit(&dev->stop, memory_order_acquire)) {
		bool busy = poll_avail(dev);

		if (atomic_exchange_explicit(&dev->release, false, memory_order_acq_rel)) {
			release_held(dev);
			busy = true;
		}
		if (!busy)
			sched_yield(); /* two shared cores: let the driver run */
	}
	return NULL;
}

int blk_device_start(struct blk_device *dev, squib_mem_t *mem, const struct virtq *q, int fd,
		     uint64_t capacity_sectors)
{
	int err;

	if (q->size == 0 || q->size > BLK_QUEUE_MAX || (q->size & (q->size - 1u)))
		return EINVAL;
	memset(dev, 0, sizeof(*dev));
	dev->mem = mem;
	dev->q = *q;
	dev->fd = fd;
	dev->capacity = capacity_sectors;
	dev->held = calloc(BLK_HELD_MAX, sizeof(*dev->held));
	if (!dev->held)
		return ENOMEM;
	/* Resume where the rings stand, as a device does after a reset of
	 * its own state (the example starts them near the 16-bit wrap). */
	if (squib_mem_read_u16_le(mem, SQUIB_GPA(virtq_avail_idx_gpa(q)), &dev->last_avail) !=
		SQUIB_OK ||
	    squib_mem_read_u16_le(mem, SQUIB_GPA(virtq_used_idx_gpa(q)), &dev->used_idx) !=
		SQUIB_OK) {
		free(dev->held);
		return EFAULT;
	}
	err = pthread_create(&dev->thread, NULL, device_main, dev);
	if (err)
		free(dev->held);
	return err;
}

void blk_device_stop(struct blk_device *dev)
{
	atomic_store_explicit(&dev->stop, true, memory_order_release);
	pthread_join(dev->thread, NULL);
	for (unsigned i = 0; i < dev->n_held; i++)
		unpin_all(&dev->held[i].req);
	free(dev->held);
	dev->held = NULL;
}
