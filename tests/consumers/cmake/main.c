/* SPDX-License-Identifier: MIT */
/* Built by tests/consumers/cmake/CMakeLists.txt against squib::core or
 * squib::core_static; prints the library version when every check passed. */
#include <stdio.h>
#include <string.h>

#include <squib/core.h>

int main(void)
{
	squib_mem_t *mem = NULL;
	squib_range_t range;
	uint64_t value = 0;
	int ok;

	if (strcmp(squib_core_version(), EXPECTED_VERSION) != 0 ||
	    strcmp(SQUIB_CORE_VERSION_STRING, EXPECTED_VERSION) != 0) {
		fprintf(stderr, "library %s, header %s, package %s\n", squib_core_version(),
			SQUIB_CORE_VERSION_STRING, EXPECTED_VERSION);
		return 1;
	}
	ok = squib_mem_new(&mem) == SQUIB_OK &&
	     squib_range_init(&range, SQUIB_GPA(0x1000), 0x1000) == SQUIB_OK &&
	     squib_mem_add_region(mem, range, 7, SQUIB_PROT_RW) == SQUIB_OK &&
	     squib_mem_write_u64_le(mem, SQUIB_GPA(0x1ff8), 0x0123456789abcdefu) == SQUIB_OK &&
	     squib_mem_read_u64_le(mem, SQUIB_GPA(0x1ff8), &value) == SQUIB_OK &&
	     value == 0x0123456789abcdefu &&
	     squib_mem_read_u64_le(mem, SQUIB_GPA(0x1ffc), &value) == SQUIB_E_OUT_OF_RANGE &&
	     strstr(squib_last_error(), "0x0000000000001ffc") != NULL;
	if (!ok)
		fprintf(stderr, "check failed: %s\n", squib_last_error());
	squib_mem_free(mem);
	if (ok)
		printf("squib-core %s\n", squib_core_version());
	return ok ? 0 : 1;
}
