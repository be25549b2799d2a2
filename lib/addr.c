/* SPDX-License-Identifier: MIT */
#include <inttypes.h>
#include <stdio.h>

#include <squib/addr.h>

#include "error.h"

squib_status_t squib_gpa_align_down(squib_gpa_t addr, uint64_t align, squib_gpa_t *out)
{
	if (!out)
		return squib_fail(SQUIB_E_INVALID_ARGUMENT, "squib_gpa_align_down: out is NULL");
	if (align == 0 || (align & (align - 1)) != 0)
		return squib_fail(SQUIB_E_INVALID_ARGUMENT,
				  "alignment must be a power of two: %" PRIu64, align);
	out->raw = addr.raw & ~(align - 1);
	return SQUIB_OK;
}

squib_gpa_t squib_gpa_saturating_add(squib_gpa_t addr, uint64_t offset)
{
	squib_gpa_t sum;

	if (__builtin_add_overflow(addr.raw, offset, &sum.raw))
		sum.raw = UINT64_MAX;
	return sum;
}

int squib_gpa_format(squib_gpa_t addr, char *buf, size_t len)
{
	return snprintf(buf, len, SQUIB_GPA_FMT, addr.raw);
}
