/* SPDX-License-Identifier: MIT */
/*
 * The split virtqueue of virtio 1.x and the virtio-blk request format, as
 * guest-physical offsets. Both sides of the example (blk_device.c and
 * main.c) compute every ring address here, so they cannot disagree.
 *
 * Everything is little-endian in guest memory; the library's typed
 * accessors take care of that, so no struct here is ever overlaid on guest
 * memory (a hostile guest could change it under us while we look).
 */
#ifndef VIRTIO_BLK_VIRTQ_H
#define VIRTIO_BLK_VIRTQ_H

#include <stdint.h>

/* Descriptor table: 16-byte entries {le64 addr, le32 len, le16 flags, le16 next}. */
#define VIRTQ_DESC_SIZE 16u
#define VIRTQ_DESC_ADDR 0u
#define VIRTQ_DESC_LEN 8u
#define VIRTQ_DESC_FLAGS 12u
#define VIRTQ_DESC_NEXT 14u

#define VIRTQ_DESC_F_NEXT 1u
#define VIRTQ_DESC_F_WRITE 2u	 /* the device writes this buffer */
#define VIRTQ_DESC_F_INDIRECT 4u /* not offered by this device */

/* Avail ring: {le16 flags, le16 idx, le16 ring[size]}. */
#define VIRTQ_AVAIL_IDX 2u
#define VIRTQ_AVAIL_RING 4u

/* Used ring: {le16 flags, le16 idx, {le32 id, le32 len}[size]}. */
#define VIRTQ_USED_IDX 2u
#define VIRTQ_USED_RING 4u
#define VIRTQ_USED_ELEM_SIZE 8u

/* virtio-blk: a 16-byte header {le32 type, le32 reserved, le64 sector},
 * the data buffers, then one status byte the device writes. */
#define VIRTIO_BLK_HDR_SIZE 16u
#define VIRTIO_BLK_HDR_TYPE 0u
#define VIRTIO_BLK_HDR_SECTOR 8u
#define VIRTIO_BLK_T_IN 0u  /* read: device -> guest */
#define VIRTIO_BLK_T_OUT 1u /* write: guest -> device */
#define VIRTIO_BLK_S_OK 0u
#define VIRTIO_BLK_S_IOERR 1u
#define VIRTIO_BLK_S_UNSUPP 2u
#define VIRTIO_BLK_SECTOR_SIZE 512u

/* Where one queue lives in guest-physical memory. size is a power of two. */
struct virtq {
	uint64_t desc;
	uint64_t avail;
	uint64_t used;
	uint16_t size;
};

static inline uint64_t virtq_desc_gpa(const struct virtq *q, uint16_t index)
{
	return q->desc + (uint64_t)index * VIRTQ_DESC_SIZE;
}

static inline uint64_t virtq_avail_idx_gpa(const struct virtq *q)
{
	return q->avail + VIRTQ_AVAIL_IDX;
}

/* The ring slot a free-running 16-bit index lands in. */
static inline uint64_t virtq_avail_ring_gpa(const struct virtq *q, uint16_t idx)
{
	return q->avail + VIRTQ_AVAIL_RING + (uint64_t)(idx & (q->size - 1u)) * 2u;
}

static inline uint64_t virtq_used_idx_gpa(const struct virtq *q)
{
	return q->used + VIRTQ_USED_IDX;
}

static inline uint64_t virtq_used_elem_gpa(const struct virtq *q, uint16_t idx)
{
	return q->used + VIRTQ_USED_RING + (uint64_t)(idx & (q->size - 1u)) * VIRTQ_USED_ELEM_SIZE;
}

#endif /* VIRTIO_BLK_VIRTQ_H */
