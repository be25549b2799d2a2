/* SPDX-License-Identifier: MIT */
/*
 * squib-virtio's library-free driver: virtio_driver.c compiled against the
 * raw accessors of virtio_raw_mem.h, which also rename its virtio_pass to
 * raw_virtio_pass and make it start the raw device (blk_device_raw.c).
 */
#include "virtio_raw_mem.h" /* first: it renames the library's functions */

#include "virtio_driver.c"
