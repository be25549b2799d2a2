/* SPDX-License-Identifier: MIT */
#include <squib/version.h>

const char *squib_core_version(void)
{
	return SQUIB_CORE_VERSION_STRING;
}
