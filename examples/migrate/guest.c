/* SPDX-License-Identifier: MIT */
/* The source guest of guest.h, and the summaries both ends compare. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guest.h"
#include "report.h"

#define ROM_BASE (4 * GIB - 64 * KIB)
#define ROM_SIZE (64 * KIB)
#define ROM_SLOT 2u
#define FILL_CHUNK MIB

#define FNV_OFFSET UINT64_C(0xcbf29ce484222325)
#define FNV_PRIME UINT64_C(0x100000001b3)

const struct guest_ram guest_rams[GUEST_RAMS] = {
    {.base = 0, .size = 192 * MIB, .slot = 0, .flags = 0, .name = "ram-lo", .writers_from = MIB},
    {.base = GIB, .size = 64 * MIB, .slot = 1, .flags = SQUIB_REGION_SHARED, .name = "ram-hi"},
};

static uint64_t splitmix64(uint64_t x)
{
	x += UINT64_C(0x9e3779b97f4a7c15);
	x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
	return x ^ (x >> 31);
}

/* Fills [base, base + size) with words derived from their addresses, but
 * for every sixteenth MiB, which stays zero. */
static bool fill(squib_mem_t *mem, const struct guest_ram *ram, uint64_t *buf)
{
	for (uint64_t at = 0; at < ram->size; at += FILL_CHUNK) {
		uint64_t gpa = ram->base + at;

		if ((gpa / FILL_CHUNK) % 16 == 15)
			continue;
		for (size_t i = 0; i < FILL_CHUNK / sizeof(*buf); i++)
			buf[i] = splitmix64(gpa + i * sizeof(*buf));
		if (!report_ok(squib_mem_write(mem, SQUIB_GPA(gpa), buf, FILL_CHUNK),
			       "squib_mem_write"))
			return false;
	}
	return true;
}

static bool add_rom(squib_mem_t *mem, const uint8_t *code, size_t len)
{
	squib_region_opts_t opts = SQUIB_REGION_OPTS_INIT;
	static uint8_t rom[ROM_SIZE];

	for (size_t i = 0; i < sizeof(rom); i++)
		rom[i] = (uint8_t)(i * 7u + 0x5au);
	memcpy(rom + sizeof(rom) - 16, "squib migrate v1", 16);
	if (len > sizeof(rom) - 16) {
		(void)fprintf(stderr,
			      "example_migrate: %zu bytes of code for a %" PRIu64 " byte ROM\n",
			      len, ROM_SIZE);
		return false;
	}
	if (code)
		memcpy(rom, code, len);
	opts.range = (squib_range_t){SQUIB_GPA(ROM_BASE), ROM_SIZE};
	opts.slot = ROM_SLOT;
	opts.prot = SQUIB_PROT_RX;
	opts.flags = SQUIB_REGION_READONLY;
	opts.bytes = rom;
	opts.name = "bios";
	return report_ok(squib_mem_add_region_opts(mem, &opts), "squib_mem_add_region_opts(bios)");
}

squib_mem_t *guest_create(const uint8_t *code, size_t len)
{
	squib_mem_t *mem = NULL;
	uint64_t *buf = malloc(FILL_CHUNK);
	bool good = buf && report_ok(squib_mem_new(&mem), "squib_mem_new");

	for (unsigned i = 0; good && i < GUEST_RAMS; i++) {
		const struct guest_ram *ram = &guest_rams[i];
		squib_region_opts_t opts = SQUIB_REGION_OPTS_INIT;

		opts.range = (squib_range_t){SQUIB_GPA(ram->base), ram->size};
		opts.slot = ram->slot;
		opts.prot = SQUIB_PROT_RWX;
		opts.flags = ram->flags;
		opts.name = ram->name;
		good =
		    report_ok(squib_mem_add_region_opts(mem, &opts), "squib_mem_add_region_opts") &&
		    fill(mem, ram, buf);
	}
	good = good && add_rom(mem, code, len);
	/* Logging from here on: the full record carries what is there now. */
	for (unsigned i = 0; good && i < GUEST_RAMS; i++)
		good = report_ok(squib_mem_set_dirty_log(mem, guest_rams[i].slot, true),
				 "squib_mem_set_dirty_log");
	free(buf);
	if (!buf)
		(void)fprintf(stderr, "example_migrate: out of memory\n");
	if (!good) {
		squib_mem_free(mem);
		return NULL;
	}
	return mem;
}

uint64_t guest_writer_pages(void)
{
	uint64_t pages = 0;

	for (unsigned i = 0; i < GUEST_RAMS; i++)
		pages += (guest_rams[i].size - guest_rams[i].writers_from) / GUEST_PAGE;
	return pages;
}

/* ---- summaries ---- */

struct walk {
	const squib_mem_t *mem;
	struct region_summary *out;
	size_t cap;
	size_t count;
	bool failed;
};

static uint64_t fnv1a(const uint8_t *at, uint64_t len)
{
	uint64_t hash = FNV_OFFSET;

	for (uint64_t i = 0; i < len; i++) {
		hash ^= at[i];
		hash *= FNV_PRIME;
	}
	return hash;
}

static int summarise_one(const squib_region_info_t *info, void *ctx)
{
	struct walk *walk = ctx;
	struct region_summary *summary;
	void *host;

	if (walk->count == walk->cap) {
		(void)fprintf(stderr, "example_migrate: more than %zu regions\n", walk->cap);
		walk->failed = true;
		return 1;
	}
	/* Through the library's own translation: every byte of the region. */
	if (!report_ok(squib_mem_host_range(walk->mem, info->range.base, (size_t)info->range.size,
					    SQUIB_PROT_READ, &host),
		       "squib_mem_host_range")) {
		walk->failed = true;
		return 1;
	}
	summary = &walk->out[walk->count++];
	*summary = (struct region_summary){.base = info->range.base.raw,
					   .size = info->range.size,
					   .slot = info->slot,
					   .prot = info->prot,
					   .flags = info->flags,
					   .has_fd = info->fd >= 0,
					   .hash = fnv1a(host, info->range.size)};
	memcpy(summary->name, info->name, sizeof(summary->name));
	summary->name[sizeof(summary->name) - 1] = '\0';
	return 0;
}

bool guest_summarise(const squib_mem_t *mem, struct region_summary *out, size_t cap, size_t *count)
{
	struct walk walk = {.mem = mem, .out = out, .cap = cap};
	int rc = squib_mem_foreach_region(mem, summarise_one, &walk);

	if (rc < 0)
		return report_ok((squib_status_t)rc, "squib_mem_foreach_region");
	if (walk.failed)
		return false;
	*count = walk.count;
	return true;
}
