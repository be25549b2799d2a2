/* SPDX-License-Identifier: MIT */
/*
 * An external program built with nothing but
 *   cc main.c $(pkg-config --cflags --libs squib-core)
 * (or --static against libsquibcore.a). It uses the installed headers only
 * and prints "squib-core VERSION" when every check passed.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <squib/core.h>

/* The version macros are usable by the preprocessor, as consumers test them. */
#if !defined(SQUIB_CORE_VERSION_MAJOR) || SQUIB_CORE_VERSION_MAJOR != 0 ||                         \
    SQUIB_CORE_VERSION_MINOR < 2
#error "squib/version.h does not describe squib-core 0.2"
#endif

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: check failed: %s (last error: \"%s\")\n",          \
				__FILE__, __LINE__, #cond, squib_last_error());                    \
			return 1;                                                                  \
		}                                                                                  \
	} while (0)

static int run(squib_mem_t *mem)
{
	static const uint8_t rom[4] = {0xde, 0xad, 0xbe, 0xef};
	squib_region_info_t info = SQUIB_REGION_INFO_INIT;
	squib_range_t ram;
	uint8_t bytes[4] = {0};
	uint32_t v32 = 0;
	uint64_t v64 = 0;
	char text[SQUIB_GPA_STRLEN];

	CHECK(squib_range_init(&ram, SQUIB_GPA(0x100000), 0x10000) == SQUIB_OK);
	CHECK(squib_mem_add_region(mem, ram, 0, SQUIB_PROT_RW) == SQUIB_OK);
	CHECK(squib_mem_add_region_from_bytes(mem, SQUIB_GPA(0x200000), rom, sizeof(rom), 1,
					      SQUIB_PROT_RX) == SQUIB_OK);
	CHECK(squib_mem_region_count(mem) == 2);

	/* Typed values are little-endian in guest memory. */
	CHECK(squib_mem_write_u32_le(mem, SQUIB_GPA(0x100010), 0x12345678) == SQUIB_OK);
	CHECK(squib_mem_read(mem, SQUIB_GPA(0x100010), bytes, sizeof(bytes)) == SQUIB_OK);
	CHECK(bytes[0] == 0x78 && bytes[1] == 0x56 && bytes[2] == 0x34 && bytes[3] == 0x12);
	CHECK(squib_mem_read_u32_le(mem, SQUIB_GPA(0x200000), &v32) == SQUIB_OK);
	CHECK(v32 == 0xefbeadde);

	/* A read straddling the end of the ROM fails whole and says where. */
	CHECK(squib_mem_read_u64_le(mem, SQUIB_GPA(0x200002), &v64) == SQUIB_E_OUT_OF_RANGE);
	CHECK(v64 == 0);
	CHECK(squib_gpa_format(SQUIB_GPA(0x200002), text, sizeof(text)) == 18);
	CHECK(strstr(squib_last_error(), text) != NULL);
	CHECK(strcmp(squib_strerror(SQUIB_E_OUT_OF_RANGE), "unknown status") != 0);

	CHECK(squib_mem_find_region(mem, SQUIB_GPA(0x10ffff), &info) == SQUIB_OK);
	CHECK(info.slot == 0 && info.range.base.raw == 0x100000 && info.host_addr != NULL);
	CHECK(squib_mem_remove_region(mem, 1) == SQUIB_OK);
	CHECK(squib_mem_read_u32_le(mem, SQUIB_GPA(0x200000), &v32) == SQUIB_E_OUT_OF_RANGE);
	CHECK(squib_mem_get_region(mem, 1, &info) == SQUIB_E_NOT_FOUND);
	return 0;
}

int main(void)
{
	squib_mem_t *mem = NULL;
	int rc;

	/* The library loaded is the one these headers describe. */
	CHECK(strcmp(squib_core_version(), SQUIB_CORE_VERSION_STRING) == 0);
	CHECK(squib_mem_new(&mem) == SQUIB_OK && mem != NULL);
	rc = run(mem);
	squib_mem_free(mem);
	if (rc == 0)
		printf("squib-core %s\n", squib_core_version());
	return rc;
}
