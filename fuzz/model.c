/* SPDX-License-Identifier: MIT */
/*
 * The fuzzer's reference model; see model.h. Each function quotes the
 * contract rule it implements. Nothing here is shared with lib/.
 */
#include <stdlib.h>
#include <string.h>

#include "model.h"

/* 128 bits: base + size and addr + len never wrap here, so "overflows 64
 * bits" is a plain comparison with UINT64_MAX. */
__extension__ typedef unsigned __int128 wide_t;

#define WIDE_U64_MAX ((wide_t)UINT64_MAX)

/* "SQUIB_PROT_RWX (all three)"; any other bit is unknown. */
#define MODEL_PROT_KNOWN 7u

void model_init(struct model *model)
{
	memset(model, 0, sizeof(*model));
}

void model_fini(struct model *model)
{
	for (size_t i = 0; i < model->count; i++)
		free(model->regions[i].bytes);
	model_init(model);
}

static wide_t region_end(const struct model_region *region)
{
	return (wide_t)region->base + region->size;
}

squib_status_t model_add_status(const struct model *model, uint64_t base, uint64_t size,
				uint32_t slot, uint32_t prot, bool bytes_null)
{
	wide_t end = (wide_t)base + size;

	/* "Argument checks come first": NULL required pointer, size 0, a
	 * range whose end overflows 64 bits ("may end at UINT64_MAX but not
	 * at 2^64"), unknown prot bits. */
	if (bytes_null || size == 0 || end > WIDE_U64_MAX || (prot & ~MODEL_PROT_KNOWN) != 0)
		return SQUIB_E_INVALID_ARGUMENT;
	/* "For adding a region the order is then SLOT_IN_USE, OVERLAP, NO_MEMORY." */
	for (size_t i = 0; i < model->count; i++)
		if (model->regions[i].slot == slot)
			return SQUIB_E_SLOT_IN_USE;
	/* Two half-open ranges overlap when each starts before the other ends. */
	for (size_t i = 0; i < model->count; i++) {
		const struct model_region *other = &model->regions[i];

		if ((wide_t)base < region_end(other) && (wide_t)other->base < end)
			return SQUIB_E_OVERLAP;
	}
	if (size >= MODEL_HUGE_SIZE)
		return SQUIB_E_NO_MEMORY;
	return SQUIB_OK;
}

bool model_add(struct model *model, uint64_t base, uint64_t size, uint32_t slot, uint32_t prot,
	       const uint8_t *bytes)
{
	struct model_region *region;

	if (model->count == MODEL_MAX_REGIONS || size > SIZE_MAX)
		return false;
	region = &model->regions[model->count];
	/* "backed by zero-filled host memory", or "pre-filled with a copy of bytes" */
	region->bytes = calloc(1, (size_t)size);
	if (!region->bytes)
		return false;
	if (bytes)
		memcpy(region->bytes, bytes, (size_t)size);
	region->base = base;
	region->size = size;
	region->slot = slot;
	region->prot = prot;
	model->count++;
	return true;
}

squib_status_t model_remove(struct model *model, uint32_t slot)
{
	for (size_t i = 0; i < model->count; i++) {
		if (model->regions[i].slot != slot)
			continue;
		free(model->regions[i].bytes);
		/* Keep the others in the order they were added. */
		memmove(&model->regions[i], &model->regions[i + 1],
			(model->count - i - 1) * sizeof(model->regions[0]));
		model->count--;
		return SQUIB_OK;
	}
	return SQUIB_E_NOT_FOUND;
}

squib_status_t model_access(const struct model *model, uint64_t addr, uint64_t len, bool buf_null,
			    const struct model_region **where)
{
	wide_t start = addr, stop = (wide_t)addr + len;

	*where = NULL;
	/* Rule 4: "buf == NULL with len > 0 is INVALID_ARGUMENT". */
	if (buf_null && len > 0)
		return SQUIB_E_INVALID_ARGUMENT;
	for (size_t i = 0; i < model->count; i++) {
		const struct model_region *region = &model->regions[i];

		if (len == 0) {
			/* Rule 4: "len == 0 succeeds when addr lies in
			 * [base, base + size] of some region (the end itself
			 * included)". */
			if (start >= region->base && start <= region_end(region))
				return SQUIB_OK;
			continue;
		}
		/* Rules 2 and 3: wholly inside ONE region; an end past 2^64
		 * can never be inside one, as no region ends past UINT64_MAX. */
		if (start >= region->base && stop <= region_end(region)) {
			*where = region;
			return SQUIB_OK;
		}
	}
	return SQUIB_E_OUT_OF_RANGE;
}

const struct model_region *model_find(const struct model *model, uint64_t addr)
{
	/* squib_range_contains: "base <= addr and addr - base < size". */
	for (size_t i = 0; i < model->count; i++) {
		const struct model_region *region = &model->regions[i];

		if ((wide_t)addr >= region->base && (wide_t)addr < region_end(region))
			return region;
	}
	return NULL;
}

const struct model_region *model_get(const struct model *model, uint32_t slot)
{
	for (size_t i = 0; i < model->count; i++)
		if (model->regions[i].slot == slot)
			return &model->regions[i];
	return NULL;
}

size_t model_sorted(const struct model *model, const struct model_region **out)
{
	/* Insertion sort: at most MODEL_MAX_REGIONS entries. */
	for (size_t i = 0; i < model->count; i++) {
		size_t j = i;

		while (j > 0 && out[j - 1]->base > model->regions[i].base) {
			out[j] = out[j - 1];
			j--;
		}
		out[j] = &model->regions[i];
	}
	return model->count;
}

uint64_t model_bytes(const struct model *model)
{
	uint64_t total = 0;

	for (size_t i = 0; i < model->count; i++)
		total += model->regions[i].size;
	return total;
}
