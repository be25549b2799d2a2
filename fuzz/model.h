/* SPDX-License-Identifier: MIT */
/*
 * A reference model of squib guest memory for the fuzzer: a plain list of
 * regions, each with its own byte array, written straight from the rules of
 * the contract (squib-core-0.2.md) and sharing no code with lib/. It is
 * deliberately slow and simple: linear scans, 128-bit arithmetic for every
 * end, so that each rule reads as it is written in the contract.
 *
 * Only the status values come from <squib/error.h>: they are the contract's
 * numbers, not the library's code.
 */
#ifndef SQUIB_FUZZ_MODEL_H
#define SQUIB_FUZZ_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <squib/error.h>

/* The most regions the fuzzer keeps alive at once. */
#define MODEL_MAX_REGIONS 64

/*
 * A new region at least this large that passes every other check is
 * expected to fail with NO_MEMORY: no 64-bit host maps 2^60 bytes (x86-64
 * and arm64 user address spaces are at most 2^57 bytes). This is the one
 * host assumption of the model.
 */
#define MODEL_HUGE_SIZE ((uint64_t)1 << 60)

struct model_region {
	uint64_t base;
	uint64_t size;
	uint32_t slot;
	uint32_t prot;
	uint8_t *bytes; /* size bytes */
};

struct model {
	/* Live regions in the order they were added. */
	struct model_region regions[MODEL_MAX_REGIONS];
	size_t count;
};

void model_init(struct model *model);
void model_fini(struct model *model);

/*
 * The status that adding [base, base + size) with slot and prot must
 * return. bytes_null: the call is add_region_from_bytes with bytes NULL.
 * Order: INVALID_ARGUMENT, SLOT_IN_USE, OVERLAP, NO_MEMORY (huge sizes), OK.
 * Changes nothing.
 */
squib_status_t model_add_status(const struct model *model, uint64_t base, uint64_t size,
				uint32_t slot, uint32_t prot, bool bytes_null);

/*
 * Registers a region that model_add_status() accepted; bytes NULL means
 * zero-filled. Returns false when the model is full or out of host memory
 * (the caller then skips the operation).
 */
bool model_add(struct model *model, uint64_t base, uint64_t size, uint32_t slot, uint32_t prot,
	       const uint8_t *bytes);

/* Removes the region of slot: OK or NOT_FOUND. */
squib_status_t model_remove(struct model *model, uint32_t slot);

/*
 * The status of a read or write of len bytes at addr (buf_null: the buffer
 * is NULL), and on OK the region that holds the bytes (NULL for len 0).
 */
squib_status_t model_access(const struct model *model, uint64_t addr, uint64_t len, bool buf_null,
			    const struct model_region **where);

/* The region containing addr (its end excluded), or NULL. */
const struct model_region *model_find(const struct model *model, uint64_t addr);

/* The region registered with slot, or NULL. */
const struct model_region *model_get(const struct model *model, uint32_t slot);

/* Fills out[] with the live regions in ascending base order; returns the count. */
size_t model_sorted(const struct model *model, const struct model_region **out);

/* Total bytes held by the live regions. */
uint64_t model_bytes(const struct model *model);

#endif /* SQUIB_FUZZ_MODEL_H */
