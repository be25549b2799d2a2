/* SPDX-License-Identifier: MIT */
/**
 * @file squib/prot.h
 * @brief Protection bits a backend gives the guest for a region.
 *
 * The protection describes the guest's view of a region. It does not
 * restrict the host-side squib_mem_read() and squib_mem_write(): devices and
 * the snapshot writer may read a write-only or execute-only region.
 */
#ifndef SQUIB_PROT_H
#define SQUIB_PROT_H

#include <stdint.h>

/** A set of SQUIB_PROT_* bits. Any other bit is rejected where passed in. */
typedef uint32_t squib_prot_t;

#define SQUIB_PROT_NONE 0u  /**< the guest may not touch the region */
#define SQUIB_PROT_READ 1u  /**< the guest may read */
#define SQUIB_PROT_WRITE 2u /**< the guest may write */
#define SQUIB_PROT_EXEC 4u  /**< the guest may execute */
/** Read-write, e.g. RAM. */
#define SQUIB_PROT_RW (SQUIB_PROT_READ | SQUIB_PROT_WRITE)
/** Read-execute, e.g. kernel text or firmware. */
#define SQUIB_PROT_RX (SQUIB_PROT_READ | SQUIB_PROT_EXEC)
/** Read-write-execute. */
#define SQUIB_PROT_RWX (SQUIB_PROT_READ | SQUIB_PROT_WRITE | SQUIB_PROT_EXEC)

#endif /* SQUIB_PROT_H */
