// SPDX-License-Identifier: MIT
// The installed headers from C++11: extern "C" linkage, and SQUIB_GPA and
// SQUIB_REGION_INFO_INIT in their C++ forms (no compound literals, no
// designated initialisers). Built with -std=c++11 -Wall -Wextra -Wpedantic
// -Werror by g++ and clang++; prints the library version when all passed.
#include <squib/core.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

static_assert(SQUIB_CORE_VERSION_MAJOR == 0 && SQUIB_CORE_VERSION_MINOR >= 2,
	      "squib/version.h does not describe squib-core 0.2 or a later 0.y");

namespace
{

int failures = 0;

void check(bool ok, const char *what)
{
	if (!ok) {
		std::fprintf(stderr, "check failed: %s (last error: \"%s\")\n", what,
			     squib_last_error());
		failures++;
	}
}

// A capturing lambda cannot be a C callback; its context pointer can carry it.
int collect(const squib_region_info_t *info, void *ctx)
{
	static_cast<std::vector<uint32_t> *>(ctx)->push_back(info->slot);
	return 0;
}

} // namespace

int main()
{
	squib_mem_t *mem = nullptr;
	squib_range_t range;
	squib_region_info_t info = SQUIB_REGION_INFO_INIT;
	const squib_gpa_t base = SQUIB_GPA(0x80000000u);
	const unsigned char firmware[] = {1, 2, 3, 4, 5, 6, 7, 8};
	std::vector<uint32_t> slots;
	uint64_t value = 0;
	char text[SQUIB_GPA_STRLEN];

	check(info.sz == sizeof(squib_region_info_t), "SQUIB_REGION_INFO_INIT sets sz");
	check(info.host_addr == nullptr && info.slot == 0,
	      "SQUIB_REGION_INFO_INIT zeroes the rest");
	check(std::string(squib_core_version()) == SQUIB_CORE_VERSION_STRING, "version");

	check(squib_mem_new(&mem) == SQUIB_OK, "squib_mem_new");
	check(squib_range_init(&range, base, 0x2000) == SQUIB_OK, "squib_range_init");
	check(squib_mem_add_region(mem, range, 3, SQUIB_PROT_RW) == SQUIB_OK, "add RAM");
	check(squib_mem_add_region_from_bytes(mem, SQUIB_GPA(0xfffff000u), firmware,
					      sizeof(firmware), 9, SQUIB_PROT_RX) == SQUIB_OK,
	      "add firmware");

	check(squib_mem_write_u64_le(mem, squib_gpa_saturating_add(base, 8), 42) == SQUIB_OK,
	      "write u64");
	check(squib_mem_read_u64_le(mem, SQUIB_GPA(0x80000008u), &value) == SQUIB_OK && value == 42,
	      "read u64 back");
	check(squib_mem_read_u64_le(mem, SQUIB_GPA(0xfffff000u), &value) == SQUIB_OK &&
		  value == 0x0807060504030201u,
	      "firmware is little-endian");

	check(squib_mem_read_u64_le(mem, SQUIB_GPA(0x80001ffcu), &value) == SQUIB_E_OUT_OF_RANGE,
	      "straddling read fails");
	check(squib_gpa_format(SQUIB_GPA(0x80001ffcu), text, sizeof(text)) == 18, "format");
	check(std::strstr(squib_last_error(), text) != nullptr, "message names the address");

	check(squib_mem_find_region(mem, SQUIB_GPA(0x80001fffu), &info) == SQUIB_OK &&
		  info.slot == 3 && info.range.base.raw == base.raw && info.prot == SQUIB_PROT_RW,
	      "find_region");
	check(squib_mem_foreach_region(mem, collect, &slots) == 0 && slots.size() == 2 &&
		  slots[0] == 3 && slots[1] == 9,
	      "foreach_region in base order");

	squib_mem_free(mem);
	if (failures != 0)
		return 1;
	std::printf("squib-core %s\n", squib_core_version());
	return 0;
}
