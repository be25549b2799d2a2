/* SPDX-License-Identifier: MIT */
/*
 * squib-virtio's library-free device: examples/virtio_blk/blk_device.c,
 * unchanged, compiled against the raw accessors of virtio_raw_mem.h
 * instead of the library (its entry points become raw_blk_device_start,
 * raw_blk_device_stop and raw_blk_why_text). The library variant links
 * blk_device.c as the example does.
 */
#include "virtio_raw_mem.h" /* first: it renames the library's functions */

#include "blk_device.c" /* examples/virtio_blk/, on this target's include path */
