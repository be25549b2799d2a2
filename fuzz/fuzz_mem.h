/* SPDX-License-Identifier: MIT */
/* The libFuzzer entry point of fuzz_mem.c, also called by replay.c. */
#ifndef SQUIB_FUZZ_MEM_H
#define SQUIB_FUZZ_MEM_H

#include <stddef.h>
#include <stdint.h>

/* Decodes data into operations and runs each against libsquibcore and the
 * reference model (model.h); aborts with a printed diff on any difference.
 * Always returns 0. Set SQUIB_FUZZ_TRACE=1 to print every operation. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif /* SQUIB_FUZZ_MEM_H */
