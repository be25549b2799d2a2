/* SPDX-License-Identifier: MIT */
#include <inttypes.h>

#include <squib/range.h>

#include "error.h"

squib_status_t squib_range_init(squib_range_t *out, squib_gpa_t base, uint64_t size)
{
	uint64_t end;

	if (!out)
		return squib_fail(SQUIB_E_INVALID_ARGUMENT, "squib_range_init: out is NULL");
	if (__builtin_add_overflow(base.raw, size, &end))
		return squib_fail(SQUIB_E_INVALID_ARGUMENT,
				  "range overflow: base=" SQUIB_GPA_FMT " size=%" PRIu64, base.raw,
				  size);
	out->base = base;
	out->size = size;
	return SQUIB_OK;
}

squib_gpa_t squib_range_end(squib_range_t range)
{
	/* Unsigned arithmetic: a hand-made overflowing range wraps, as the
	 * contract says, instead of being undefined. */
	squib_gpa_t end = {range.base.raw + range.size};
	return end;
}

bool squib_range_contains(squib_range_t range, squib_gpa_t addr)
{
	/* addr - base cannot wrap once base <= addr, so this is right even for
	 * a range whose end overflows. */
	return addr.raw >= range.base.raw && addr.raw - range.base.raw < range.size;
}
