/* SPDX-License-Identifier: MIT */
/* Internal: CRC-32C (docs/SNAPSHOT.md). Not installed. */
#ifndef SQUIB_LIB_CRC32C_H
#define SQUIB_LIB_CRC32C_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The CRC-32C of data continued from crc, the CRC of what came before it
 * (0 for none): crc32c_update(crc32c_update(0, a, n), b, m) is the CRC of
 * a followed by b. */
uint32_t crc32c_update(uint32_t crc, const void *data, size_t len);

#endif
