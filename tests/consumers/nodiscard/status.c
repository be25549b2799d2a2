/* SPDX-License-Identifier: MIT */
/*
 * A caller that drops a status: by mistake (the default), or on purpose
 * with a (void) cast (-DDISCARD). Compiled as C and as C++ by check.sh.
 */
#include <stddef.h>

#include <squib/core.h>

int main(void)
{
	squib_mem_t *mem = NULL;

#ifdef DISCARD
	(void)squib_mem_new(&mem);
#else
	squib_mem_new(&mem);
#endif
	squib_mem_free(mem);
	return 0;
}
