/* SPDX-License-Identifier: MIT */
/*
 * guest_layout: what a monitor does with libsquibcore before it starts a vCPU.
 *
 * Lays out a small guest, the way a PC-like machine looks:
 *
 *   [0,          2 MiB)           low RAM,  slot 0, RWX  (kernel, boot params)
 *   [4 GiB - 64 KiB, 4 GiB)       firmware, slot 2, RX   (a read-only ROM, copied from a blob)
 *   [4 GiB,      4 GiB + 2 MiB)   high RAM, slot 1, RW
 *
 * then loads a fake kernel image into low RAM, checks its header the way a
 * boot loader would (typed little-endian reads), writes an e820-style memory
 * map built from the region list, and shows what the library refuses: an
 * overlapping region, accesses that are not wholly inside one region, and a
 * write to the ROM.
 *
 * Every status is checked; any unexpected result exits with status 1.
 * Built in-tree (ctest example_guest_layout) and by scripts/bootstrap.sh
 * against the installed library with nothing but `pkg-config squib-core`.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <squib/core.h>

#define KIB (UINT64_C(1) << 10)
#define MIB (UINT64_C(1) << 20)
#define GIB (UINT64_C(1) << 30)

#define LOW_RAM_BASE UINT64_C(0)
#define LOW_RAM_SIZE (2 * MIB)
#define LOW_RAM_SLOT 0u
#define HIGH_RAM_BASE (4 * GIB)
#define HIGH_RAM_SIZE (2 * MIB)
#define HIGH_RAM_SLOT 1u
#define FIRMWARE_SIZE (64 * KIB)
#define FIRMWARE_BASE (4 * GIB - FIRMWARE_SIZE)
#define FIRMWARE_SLOT 2u

/* Where the boot loader puts things in low RAM. */
#define BOOT_PARAMS_ADDR UINT64_C(0x7000) /* u32 count, then e820 entries */
#define KERNEL_LOAD_ADDR UINT64_C(0x100000)

/* The fake kernel image: a 32-byte little-endian header, then the payload. */
#define KERNEL_MAGIC UINT32_C(0x4e4b5153) /* "SQKN" in memory */
#define KERNEL_HDR_VERSION 2u
#define KERNEL_HDR_SIZE 32u
#define KERNEL_PAYLOAD_SIZE (48u * 1024u)
#define KERNEL_ENTRY_OFFSET UINT64_C(0x1000)

/* e820 entry as the guest reads it: u64 base, u64 size, u32 type. */
#define E820_ENTRY_SIZE 20u
#define E820_RAM 1u
#define E820_RESERVED 2u

/* Reports a failed call with both the short text and the detailed message. */
#define TRY(call)                                                                                  \
	do {                                                                                       \
		squib_status_t try_status_ = (call);                                               \
		if (try_status_ != SQUIB_OK) {                                                     \
			fprintf(stderr, "guest_layout:%d: %s failed: %s (%s)\n", __LINE__, #call,  \
				squib_strerror(try_status_), squib_last_error());                  \
			goto out;                                                                  \
		}                                                                                  \
	} while (0)

#define EXPECT(cond)                                                                               \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "guest_layout:%d: expected %s\n", __LINE__, #cond);        \
			goto out;                                                                  \
		}                                                                                  \
	} while (0)

static uint8_t kernel_image[KERNEL_HDR_SIZE + KERNEL_PAYLOAD_SIZE];
static uint8_t firmware[FIRMWARE_SIZE];

static void put_le(uint8_t *dst, uint64_t value, unsigned bytes)
{
	for (unsigned i = 0; i < bytes; i++)
		dst[i] = (uint8_t)(value >> (8 * i));
}

/* FNV-1a, the image's payload checksum. */
static uint32_t checksum(const uint8_t *bytes, size_t len)
{
	uint32_t hash = UINT32_C(2166136261);

	for (size_t i = 0; i < len; i++)
		hash = (hash ^ bytes[i]) * UINT32_C(16777619);
	return hash;
}

/* Builds the image a real monitor would read from a file. */
static void kernel_image_build(void)
{
	uint8_t *payload = kernel_image + KERNEL_HDR_SIZE;

	for (size_t i = 0; i < KERNEL_PAYLOAD_SIZE; i++)
		payload[i] = (uint8_t)(i * 7u + 3u);
	memset(kernel_image, 0, KERNEL_HDR_SIZE);
	put_le(kernel_image + 0, KERNEL_MAGIC, 4);
	put_le(kernel_image + 4, KERNEL_HDR_VERSION, 2);
	put_le(kernel_image + 6, 0x0001, 2); /* flags: wants boot params */
	put_le(kernel_image + 8, KERNEL_LOAD_ADDR + KERNEL_ENTRY_OFFSET, 8);
	put_le(kernel_image + 16, KERNEL_PAYLOAD_SIZE, 4);
	put_le(kernel_image + 20, checksum(payload, KERNEL_PAYLOAD_SIZE), 4);
}

/* A firmware blob: a signature at the start and an x86 reset vector (far jmp
 * to f000:e05b) 16 bytes below 4 GiB, where a CPU starts fetching. */
static void firmware_build(void)
{
	static const uint8_t reset_jump[] = {0xea, 0x5b, 0xe0, 0x00, 0xf0};

	memset(firmware, 0xff, sizeof(firmware));
	memcpy(firmware, "SQFW", 4);
	memcpy(firmware + FIRMWARE_SIZE - 16, reset_jump, sizeof(reset_jump));
}

static void prot_text(squib_prot_t prot, char text[4])
{
	text[0] = (prot & SQUIB_PROT_READ) ? 'r' : '-';
	text[1] = (prot & SQUIB_PROT_WRITE) ? 'w' : '-';
	text[2] = (prot & SQUIB_PROT_EXEC) ? 'x' : '-';
	text[3] = '\0';
}

struct e820_writer {
	squib_mem_t *mem;
	uint64_t next; /* guest address of the next entry */
	uint32_t count;
	uint64_t last_end; /* to check the ascending order */
	squib_status_t status;
};

/* squib_mem_foreach_region() callback: prints one region and appends its
 * e820 entry to the boot params in guest memory. Returns 1 to stop on error
 * (positive, so it cannot be mistaken for a squib_status_t). */
static int e820_add(const squib_region_info_t *info, void *ctx)
{
	struct e820_writer *w = ctx;
	uint32_t type = (info->prot & SQUIB_PROT_WRITE) ? E820_RAM : E820_RESERVED;
	char base[SQUIB_GPA_STRLEN], end[SQUIB_GPA_STRLEN], prot[4];

	(void)squib_gpa_format(info->range.base, base, sizeof(base));
	(void)squib_gpa_format(squib_range_end(info->range), end, sizeof(end));
	prot_text(info->prot, prot);
	printf("  slot %" PRIu32 "  [%s, %s)  %5" PRIu64 " KiB  %s  %s\n", info->slot, base, end,
	       info->range.size / KIB, prot, type == E820_RAM ? "RAM" : "reserved");

	if (w->count > 0 && info->range.base.raw < w->last_end) {
		fprintf(stderr, "guest_layout: regions not in ascending order at %s\n", base);
		w->status = SQUIB_E_INVALID_ARGUMENT;
		return 1;
	}
	w->last_end = squib_range_end(info->range).raw;
	w->status = squib_mem_write_u64_le(w->mem, SQUIB_GPA(w->next), info->range.base.raw);
	if (w->status == SQUIB_OK)
		w->status =
		    squib_mem_write_u64_le(w->mem, SQUIB_GPA(w->next + 8), info->range.size);
	if (w->status == SQUIB_OK)
		w->status = squib_mem_write_u32_le(w->mem, SQUIB_GPA(w->next + 16), type);
	if (w->status != SQUIB_OK)
		return 1;
	w->next += E820_ENTRY_SIZE;
	w->count++;
	return 0;
}

/* Tries a read that is not wholly inside one region; it must fail with
 * SQUIB_E_OUT_OF_RANGE, leave the buffer alone and name the address. */
static int show_rejected_read(const squib_mem_t *mem, uint64_t addr, size_t len, const char *why)
{
	uint8_t buf[16];
	uint8_t untouched[sizeof(buf)];
	char where[SQUIB_GPA_STRLEN];
	squib_status_t status;

	if (len > sizeof(buf))
		return 0;
	memset(buf, 0xa5, sizeof(buf));
	memcpy(untouched, buf, sizeof(buf));
	(void)squib_gpa_format(SQUIB_GPA(addr), where, sizeof(where));
	status = squib_mem_read(mem, SQUIB_GPA(addr), buf, len);
	printf("read %zu bytes at %s (%s):\n  -> %s: %s\n", len, where, why, squib_strerror(status),
	       squib_last_error());
	if (status != SQUIB_E_OUT_OF_RANGE) {
		fprintf(stderr, "guest_layout: expected SQUIB_E_OUT_OF_RANGE, got %d\n", status);
		return 0;
	}
	if (memcmp(buf, untouched, sizeof(buf)) != 0) {
		fprintf(stderr, "guest_layout: a failed read changed the buffer\n");
		return 0;
	}
	if (!strstr(squib_last_error(), where)) {
		fprintf(stderr, "guest_layout: the message does not name %s\n", where);
		return 0;
	}
	return 1;
}

int main(void)
{
	squib_mem_t *mem = NULL;
	squib_range_t low, high, clash;
	squib_region_info_t info = SQUIB_REGION_INFO_INIT;
	squib_region_opts_t rom = SQUIB_REGION_OPTS_INIT;
	struct e820_writer e820 = {0};
	uint8_t payload[KERNEL_PAYLOAD_SIZE];
	uint8_t bytes[8];
	uint64_t entry, marker, e820_base;
	uint32_t magic, payload_size, sum, count, type, jump;
	uint16_t version, flags, odd;
	uint8_t first_opcode;
	squib_status_t status;
	int rc = EXIT_FAILURE;

	printf("libsquibcore %s (built against %s)\n", squib_core_version(),
	       SQUIB_CORE_VERSION_STRING);
	kernel_image_build();
	firmware_build();

	/* 1. The layout. RAM comes zero-filled; the firmware is a read-only
	 *    copy of its blob, in place before any other thread could see the
	 *    region. */
	TRY(squib_mem_new(&mem));
	TRY(squib_range_init(&low, SQUIB_GPA(LOW_RAM_BASE), LOW_RAM_SIZE));
	TRY(squib_range_init(&high, SQUIB_GPA(HIGH_RAM_BASE), HIGH_RAM_SIZE));
	TRY(squib_mem_add_region(mem, low, LOW_RAM_SLOT, SQUIB_PROT_RWX));
	TRY(squib_mem_add_region(mem, high, HIGH_RAM_SLOT, SQUIB_PROT_RW));
	rom.slot = FIRMWARE_SLOT;
	rom.prot = SQUIB_PROT_RX;
	rom.flags = SQUIB_REGION_READONLY | SQUIB_REGION_DONTDUMP;
	rom.bytes = firmware;
	rom.name = "firmware";
	TRY(squib_range_init(&rom.range, SQUIB_GPA(FIRMWARE_BASE), sizeof(firmware)));
	TRY(squib_mem_add_region_opts(mem, &rom));
	EXPECT(squib_mem_region_count(mem) == 3);

	/* A region that overlaps high RAM is refused, and nothing changes. */
	TRY(squib_range_init(&clash, SQUIB_GPA(HIGH_RAM_BASE + MIB), MIB));
	status = squib_mem_add_region(mem, clash, 7, SQUIB_PROT_RW);
	printf("add [4 GiB + 1 MiB, +1 MiB) in slot 7:\n  -> %s: %s\n", squib_strerror(status),
	       squib_last_error());
	EXPECT(status == SQUIB_E_OVERLAP);
	EXPECT(squib_mem_region_count(mem) == 3);

	/* 2. Load the kernel image, then check it the way a boot loader
	 *    would: typed little-endian reads of its header. */
	TRY(squib_mem_write(mem, SQUIB_GPA(KERNEL_LOAD_ADDR), kernel_image, sizeof(kernel_image)));
	TRY(squib_mem_read_u32_le(mem, SQUIB_GPA(KERNEL_LOAD_ADDR + 0), &magic));
	TRY(squib_mem_read_u16_le(mem, SQUIB_GPA(KERNEL_LOAD_ADDR + 4), &version));
	TRY(squib_mem_read_u16_le(mem, SQUIB_GPA(KERNEL_LOAD_ADDR + 6), &flags));
	TRY(squib_mem_read_u64_le(mem, SQUIB_GPA(KERNEL_LOAD_ADDR + 8), &entry));
	TRY(squib_mem_read_u32_le(mem, SQUIB_GPA(KERNEL_LOAD_ADDR + 16), &payload_size));
	TRY(squib_mem_read_u32_le(mem, SQUIB_GPA(KERNEL_LOAD_ADDR + 20), &sum));
	EXPECT(magic == KERNEL_MAGIC);
	EXPECT(version == KERNEL_HDR_VERSION);
	EXPECT(flags == 0x0001);
	EXPECT(entry == KERNEL_LOAD_ADDR + KERNEL_ENTRY_OFFSET);
	EXPECT(payload_size == KERNEL_PAYLOAD_SIZE);
	TRY(squib_mem_read(mem, SQUIB_GPA(KERNEL_LOAD_ADDR + KERNEL_HDR_SIZE), payload,
			   payload_size));
	EXPECT(checksum(payload, payload_size) == sum);
	printf("kernel: magic 0x%08" PRIx32 ", header v%" PRIu16 ", entry 0x%" PRIx64 ", %" PRIu32
	       " payload bytes, checksum 0x%08" PRIx32 " ok\n",
	       magic, version, entry, payload_size, sum);

	/* 3. The memory map the guest will see, built from the region list
	 *    (ascending base order) and written into its boot params. */
	printf("regions:\n");
	e820_base = BOOT_PARAMS_ADDR + 4;
	e820 = (struct e820_writer){.mem = mem, .next = e820_base, .status = SQUIB_OK};
	EXPECT(squib_mem_foreach_region(mem, e820_add, &e820) == 0);
	TRY(e820.status);
	TRY(squib_mem_write_u32_le(mem, SQUIB_GPA(BOOT_PARAMS_ADDR), e820.count));
	TRY(squib_mem_read_u32_le(mem, SQUIB_GPA(BOOT_PARAMS_ADDR), &count));
	EXPECT(count == 3);
	/* Second entry is the firmware: reserved, at 4 GiB - 64 KiB. */
	TRY(squib_mem_read_u64_le(mem, SQUIB_GPA(e820_base + E820_ENTRY_SIZE), &marker));
	EXPECT(marker == FIRMWARE_BASE);
	TRY(squib_mem_read_u32_le(mem, SQUIB_GPA(e820_base + E820_ENTRY_SIZE + 16), &type));
	EXPECT(type == E820_RESERVED);

	/* 4. Typed values: little-endian whatever the host, no alignment
	 *    needed, and the last bytes of a region are as usable as any. */
	TRY(squib_mem_write_u32_le(mem, SQUIB_GPA(HIGH_RAM_BASE), UINT32_C(0x11223344)));
	TRY(squib_mem_read(mem, SQUIB_GPA(HIGH_RAM_BASE), bytes, 4));
	EXPECT(bytes[0] == 0x44 && bytes[1] == 0x33 && bytes[2] == 0x22 && bytes[3] == 0x11);
	TRY(squib_mem_write_u16_le(mem, SQUIB_GPA(HIGH_RAM_BASE + 0x101), 0xbeef));
	TRY(squib_mem_read_u16_le(mem, SQUIB_GPA(HIGH_RAM_BASE + 0x101), &odd));
	EXPECT(odd == 0xbeef);
	TRY(squib_mem_write_u64_le(mem, SQUIB_GPA(HIGH_RAM_BASE + HIGH_RAM_SIZE - 8),
				   UINT64_C(0x0123456789abcdef)));
	TRY(squib_mem_read_u64_le(mem, SQUIB_GPA(HIGH_RAM_BASE + HIGH_RAM_SIZE - 8), &marker));
	EXPECT(marker == UINT64_C(0x0123456789abcdef));
	printf("high RAM: u32 stored as 44 33 22 11, unaligned u16 0x%04" PRIx16
	       ", last u64 0x%016" PRIx64 "\n",
	       odd, marker);

	/* The firmware's reset vector, read where a CPU would fetch it. */
	TRY(squib_mem_read_u8(mem, SQUIB_GPA(4 * GIB - 16), &first_opcode));
	TRY(squib_mem_read_u32_le(mem, SQUIB_GPA(4 * GIB - 15), &jump));
	EXPECT(first_opcode == 0xea && jump == UINT32_C(0xf000e05b));
	TRY(squib_mem_find_region(mem, SQUIB_GPA(4 * GIB - 16), &info));
	EXPECT(info.slot == FIRMWARE_SLOT && info.prot == SQUIB_PROT_RX);
	EXPECT(memcmp(info.host_addr, "SQFW", 4) == 0);
	EXPECT(strcmp(info.name, "firmware") == 0 && (info.flags & SQUIB_REGION_READONLY));
	printf("%s: reset vector jmp f000:%04" PRIx32 " in slot %" PRIu32 "\n", info.name,
	       jump & 0xffffu, info.slot);

	/* The ROM is read-only for the library too: a write is refused and
	 * changes nothing, instead of faulting. */
	status = squib_mem_write_u8(mem, SQUIB_GPA(FIRMWARE_BASE), 0);
	printf("write to the firmware ROM:\n  -> %s: %s\n", squib_strerror(status),
	       squib_last_error());
	EXPECT(status == SQUIB_E_READ_ONLY);
	EXPECT(memcmp(info.host_addr, "SQFW", 4) == 0);

	/* 5. What is refused: requests that are not wholly inside ONE region,
	 *    even when the next region starts exactly where this one ends. */
	EXPECT(show_rejected_read(mem, LOW_RAM_BASE + LOW_RAM_SIZE - 8, 16,
				  "crosses the end of low RAM"));
	EXPECT(show_rejected_read(mem, 4 * GIB - 4, 8, "firmware into the adjacent high RAM"));

	rc = EXIT_SUCCESS;
	printf("guest_layout: ok\n");
out:
	squib_mem_free(mem);
	return rc;
}
