/* SPDX-License-Identifier: MIT */
/*
 * Region backings against the real kernel: lib/add_opts.c and lib/backing.c.
 * Real files (in a mkdtemp directory, unlinked at once), real memfds, a real
 * second process that maps a SHARED region from the fd it is sent, guard
 * pages probed by children, and every refusal of squib_mem_add_region_opts()
 * with the mappings and file descriptors of the process counted around it.
 */
#define _GNU_SOURCE /* memfd seals, mkdtemp, O_PATH, F_GET_SEALS */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_util.h"
#include "test_host.h"

/* ------------------------------------------------------------------ */
/* helpers                                                             */

static uint64_t round_up(uint64_t value, uint64_t align)
{
	return (value + align - 1) & ~(align - 1);
}

/* A new open file description of fd's file with another access mode
 * (works for an unlinked file too). */
static int reopen(int fd, int mode)
{
	char path[64];
	int again;

	(void)snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	again = open(path, mode | O_CLOEXEC);
	ck_assert_msg(again >= 0, "reopen %s: %s", path, strerror(errno));
	return again;
}

/* The first i < len where buf[i] is not file byte off + i of pattern seed
 * (0: zeros), or len. One assertion per check, not per byte: Check marks
 * every assertion that passes, which is a write to a pipe in fork mode. */
static uint64_t first_off_pattern(const uint8_t *buf, uint64_t len, uint64_t off, uint64_t seed)
{
	for (uint64_t i = 0; i < len; i++)
		if (buf[i] != (seed ? test_pattern_byte(seed, off + i) : 0))
			return i;
	return len;
}

/* Asserts that len bytes of fd at off hold pattern seed of the file
 * (file offset off + i holds test_pattern_byte(seed, off + i)); seed 0:
 * zeros. */
static void expect_file(int fd, uint64_t off, uint64_t len, uint64_t seed)
{
	uint8_t *buf = malloc((size_t)len);
	uint64_t at;

	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(pread(fd, buf, (size_t)len, (off_t)off), (ssize_t)len);
	at = first_off_pattern(buf, len, off, seed);
	ck_assert_msg(at == len, "file offset %" PRIu64 ": 0x%02x, want 0x%02x", off + at,
		      at < len ? buf[at] : 0, seed ? test_pattern_byte(seed, off + at) : 0);
	free(buf);
}

/* Asserts that guest [addr, addr + len) reads as file bytes off.. of
 * pattern seed (0: zeros), through squib_mem_read. */
static void expect_guest(const squib_mem_t *mem, uint64_t addr, uint64_t len, uint64_t off,
			 uint64_t seed)
{
	uint8_t *buf = malloc((size_t)len);
	uint64_t at;

	ck_assert_ptr_nonnull(buf);
	CK_OK(squib_mem_read(mem, SQUIB_GPA(addr), buf, (size_t)len));
	at = first_off_pattern(buf, len, off, seed);
	ck_assert_msg(at == len, "guest 0x%" PRIx64 ": 0x%02x, want 0x%02x", addr + at,
		      at < len ? buf[at] : 0, seed ? test_pattern_byte(seed, off + at) : 0);
	free(buf);
}

/* ------------------------------------------------------------------ */
/* FILE, shared and private                                            */

START_TEST(file_shared_reaches_the_file)
{
	const uint64_t p = test_page(), size = 4 * p, off = 2 * p, base = 0x100000;
	const uint32_t flags = SQUIB_REGION_FILE | SQUIB_REGION_DONTDUMP;
	int fd = test_temp_file(8 * p, 0), other = reopen(fd, O_RDWR);
	squib_mem_t *mem = test_mem_new();
	squib_region_opts_t opts = test_opts_of(base, size, 3, flags);
	squib_region_info_t info;
	struct stat mine, lib;
	uint8_t buf[64], got[64];
	uint64_t value = 0;

	opts.fd = fd;
	opts.fd_offset = off;
	opts.name = "disk0";
	CK_OK(squib_mem_add_region_opts(mem, &opts));
	info = test_info_of(mem, 3);
	ck_assert_uint_eq(info.range.base.raw, base);
	ck_assert_uint_eq(info.range.size, size);
	ck_assert_uint_eq(info.slot, 3);
	ck_assert_uint_eq(info.prot, SQUIB_PROT_RW);
	ck_assert_uint_eq(info.flags, flags);
	ck_assert_uint_eq(info.fd_offset, off);
	ck_assert_str_eq(info.name, "disk0");
	ck_assert_int_ge(info.fd, 0);
	ck_assert_int_ne(info.fd, fd);
	ck_assert_int_eq(fstat(fd, &mine), 0);
	ck_assert_int_eq(fstat(info.fd, &lib), 0);
	ck_assert_msg(mine.st_dev == lib.st_dev && mine.st_ino == lib.st_ino,
		      "info.fd %d is not the caller's file", info.fd);

	/* The caller's fd closes at once: the region keeps its dup. */
	ck_assert_int_eq(close(fd), 0);
	ck_assert_int_ne(fcntl(info.fd, F_GETFD), -1);

	/* Library writes reach the file, at fd_offset + (addr - base). */
	test_fill_pattern(buf, sizeof(buf), 11);
	CK_OK(squib_mem_write(mem, SQUIB_GPA(base + 0x10), buf, sizeof(buf)));
	CK_OK(squib_mem_write_u8(mem, SQUIB_GPA(base + p), 0xa1));
	CK_OK(squib_mem_write_u16_le(mem, SQUIB_GPA(base + p + 2), 0xb2c3));
	CK_OK(squib_mem_write_u32_le(mem, SQUIB_GPA(base + 2 * p + 5), 0xd4e5f607u));
	CK_OK(squib_mem_write_u64_le(mem, SQUIB_GPA(base + size - 8), 0x0123456789abcdefu));
	ck_assert_int_eq(pread(other, got, sizeof(got), (off_t)(off + 0x10)), (ssize_t)sizeof(got));
	CK_BYTES_EQ(got, buf, sizeof(buf));
	ck_assert_int_eq(pread(other, got, 3, (off_t)(off + p + 1)), 3);
	ck_assert_uint_eq(got[0], 0);
	ck_assert_uint_eq(got[1], 0xc3);
	ck_assert_uint_eq(got[2], 0xb2);
	ck_assert_int_eq(pread(other, got, 1, (off_t)(off + p)), 1);
	ck_assert_uint_eq(got[0], 0xa1);
	ck_assert_int_eq(pread(other, got, 4, (off_t)(off + 2 * p + 5)), 4);
	ck_assert_uint_eq(got[0], 0x07);
	ck_assert_uint_eq(got[1], 0xf6);
	ck_assert_uint_eq(got[2], 0xe5);
	ck_assert_uint_eq(got[3], 0xd4);
	ck_assert_int_eq(pread(other, got, 8, (off_t)(off + size - 8)), 8);
	for (unsigned i = 0; i < 8; i++)
		ck_assert_uint_eq(got[i], (0x0123456789abcdefu >> (8 * i)) & 0xff);
	/* Nothing outside [fd_offset, fd_offset + size) of the file. */
	expect_file(other, 0, off, 0);
	expect_file(other, off + size, 8 * p - off - size, 0);

	/* pwrite() to the file is what the guest reads. */
	test_fill_pattern(buf, sizeof(buf), 12);
	ck_assert_int_eq(pwrite(other, buf, sizeof(buf), (off_t)(off + 3 * p + 100)),
			 (ssize_t)sizeof(buf));
	CK_OK(squib_mem_read(mem, SQUIB_GPA(base + 3 * p + 100), got, sizeof(got)));
	CK_BYTES_EQ(got, buf, sizeof(buf));
	{
		const uint8_t le[8] = {0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11};

		ck_assert_int_eq(pwrite(other, le, 8, (off_t)(off + 8)), 8);
		CK_OK(squib_mem_read_u64_le(mem, SQUIB_GPA(base + 8), &value));
		ck_assert_uint_eq(value, 0x1122334455667788u);
	}
	/* find_region says the same as get_region. */
	{
		squib_region_info_t found = SQUIB_REGION_INFO_INIT;

		CK_OK(squib_mem_find_region(mem, SQUIB_GPA(base + size - 1), &found));
		ck_assert_int_eq(found.fd, info.fd);
		ck_assert_uint_eq(found.fd_offset, off);
		ck_assert_uint_eq(found.flags, flags);
		ck_assert_str_eq(found.name, "disk0");
	}

	squib_mem_free(mem);
	/* squib_mem_free closed the library's dup, not the other fd. */
	errno = 0;
	ck_assert_int_eq(fcntl(info.fd, F_GETFD), -1);
	ck_assert_int_eq(errno, EBADF);
	ck_assert_int_ne(fcntl(other, F_GETFD), -1);
	ck_assert_int_eq(close(other), 0);
}
END_TEST

START_TEST(file_private_never_reaches_the_file)
{
	const uint64_t p = test_page(), size = 4 * p, off = p, base = 0x7000000;
	const uint32_t flags = SQUIB_REGION_FILE | SQUIB_REGION_PRIVATE;
	int fd = test_temp_file(6 * p, 5), other = reopen(fd, O_RDONLY);
	squib_mem_t *mem = test_mem_new();
	squib_region_opts_t opts = test_opts_of(base, size, 1, flags);
	squib_region_info_t info;
	uint8_t buf[64], got[64];
	uint32_t value = 0;

	opts.fd = fd;
	opts.fd_offset = off;
	CK_OK(squib_mem_add_region_opts(mem, &opts));
	ck_assert_int_eq(close(fd), 0);
	info = test_info_of(mem, 1);
	ck_assert_uint_eq(info.flags, flags);
	ck_assert_int_ge(info.fd, 0);
	ck_assert_uint_eq(info.fd_offset, off);
	ck_assert_str_eq(info.name, "");
	/* Reads give the file at fd_offset. */
	expect_guest(mem, base, size, off, 5);

	test_fill_pattern(buf, sizeof(buf), 13);
	CK_OK(squib_mem_write(mem, SQUIB_GPA(base + 0x20), buf, sizeof(buf)));
	CK_OK(squib_mem_write_u32_le(mem, SQUIB_GPA(base + 2 * p), 0xfeedc0deu));
	CK_OK(squib_mem_write_u8(mem, SQUIB_GPA(base + size - 1), 0x99));
	/* The region shows the writes ... */
	CK_OK(squib_mem_read(mem, SQUIB_GPA(base + 0x20), got, sizeof(got)));
	CK_BYTES_EQ(got, buf, sizeof(buf));
	CK_OK(squib_mem_read_u32_le(mem, SQUIB_GPA(base + 2 * p), &value));
	ck_assert_uint_eq(value, 0xfeedc0deu);
	/* ... and the rest of the written pages still the file. */
	expect_guest(mem, base, 0x20, off, 5);
	expect_guest(mem, base + 0x60, p - 0x60, off + 0x60, 5);
	/* The file never sees them, neither through another fd nor the
	 * region's own. */
	expect_file(other, 0, 6 * p, 5);
	expect_file(info.fd, 0, 6 * p, 5);
	squib_mem_free(mem);
	expect_file(other, 0, 6 * p, 5);
	ck_assert_int_eq(close(other), 0);
}
END_TEST

/* Every library write to slot at [addr, addr + len) is refused with
 * READ_ONLY and a message that names slot and address. */
static void expect_write_refused(squib_mem_t *mem, uint64_t addr, unsigned width, uint32_t slot)
{
	static const uint8_t buf[64] = {0xee};
	char slot_text[32];
	squib_status_t status;

	switch (width) {
	case 1:
		status = squib_mem_write_u8(mem, SQUIB_GPA(addr), 0xee);
		break;
	case 2:
		status = squib_mem_write_u16_le(mem, SQUIB_GPA(addr), 0xeeee);
		break;
	case 4:
		status = squib_mem_write_u32_le(mem, SQUIB_GPA(addr), 0xeeeeeeeeu);
		break;
	case 8:
		status = squib_mem_write_u64_le(mem, SQUIB_GPA(addr), 0xeeeeeeeeeeeeeeeeu);
		break;
	default: /* width 100 + len: squib_mem_write of len bytes */
		status = squib_mem_write(mem, SQUIB_GPA(addr), buf, width - 100);
	}
	ck_assert_msg(status == SQUIB_E_READ_ONLY,
		      "write (width %u) at 0x%" PRIx64 ": got %d (%s), want READ_ONLY: %s", width,
		      addr, (int)status, squib_strerror(status), squib_last_error());
	(void)snprintf(slot_text, sizeof(slot_text), "slot %" PRIu32, slot);
	CK_LAST_ERROR_HAS(slot_text);
	CK_LAST_ERROR_HAS_GPA(addr);
}

/* Every write function, at the region's edges and inside. */
static void expect_all_writes_refused(squib_mem_t *mem, uint64_t base, uint64_t size, uint32_t slot)
{
	const uint64_t inside[] = {base, base + 1, base + size / 2 + 3, base + size - 8};

	for (size_t i = 0; i < sizeof(inside) / sizeof(inside[0]); i++) {
		expect_write_refused(mem, inside[i], 1, slot);
		expect_write_refused(mem, inside[i], 2, slot);
		expect_write_refused(mem, inside[i], 4, slot);
		expect_write_refused(mem, inside[i], 8, slot);
		expect_write_refused(mem, inside[i], 100 + 1, slot);
		expect_write_refused(mem, inside[i], 100 + 8, slot);
	}
	expect_write_refused(mem, base + size - 1, 1, slot);
	expect_write_refused(mem, base + size - 2, 2, slot);
	expect_write_refused(mem, base + size - 4, 4, slot);
	expect_write_refused(mem, base + size - 1, 100 + 1, slot);
	if (size >= 64)
		expect_write_refused(mem, base, 100 + 64, slot);
}

START_TEST(file_read_only)
{
	const uint64_t p = test_page(), size = 4 * p, base = 0x200000;
	const uint32_t flags = SQUIB_REGION_FILE | SQUIB_REGION_READONLY;
	int rw = test_temp_file(size, 7), fd = reopen(rw, O_RDONLY);
	squib_mem_t *mem = test_mem_new();
	squib_region_opts_t opts = test_opts_of(base, size, 2, flags);
	squib_region_info_t info;
	uint8_t buf[16], got[16];
	uint64_t value = 0;
	uint8_t byte = 0;

	ck_assert_int_eq(close(rw), 0); /* only the O_RDONLY description is left */
	opts.fd = fd;
	opts.prot = SQUIB_PROT_RX;
	CK_OK(squib_mem_add_region_opts(mem, &opts));
	/* RAM on both sides, touching it. */
	test_add(mem, base - p, p, 1);
	test_add(mem, base + size, p, 3);
	info = test_info_of(mem, 2);
	ck_assert_uint_eq(info.flags, flags);
	ck_assert_int_ge(info.fd, 0);
	ck_assert_uint_eq(info.fd_offset, 0);

	expect_guest(mem, base, size, 0, 7);
	expect_all_writes_refused(mem, base, size, 2);
	/* Nothing changed; reads still work, plain and typed. */
	expect_guest(mem, base, size, 0, 7);
	expect_file(fd, 0, size, 7);
	CK_OK(squib_mem_read_u64_le(mem, SQUIB_GPA(base + size - 8), &value));
	{
		uint64_t want = 0;

		for (unsigned i = 0; i < 8; i++)
			want |= (uint64_t)test_pattern_byte(7, size - 8 + i) << (8 * i);
		ck_assert_uint_eq(value, want);
	}

	/* The neighbours take writes right up to the boundaries. */
	CK_OK(squib_mem_write_u64_le(mem, SQUIB_GPA(base - 8), 0x1111111111111111u));
	CK_OK(squib_mem_write_u8(mem, SQUIB_GPA(base - 1), 0x22));
	CK_OK(squib_mem_write_u64_le(mem, SQUIB_GPA(base + size), 0x3333333333333333u));
	test_fill_pattern(buf, sizeof(buf), 14);
	CK_OK(squib_mem_write(mem, SQUIB_GPA(base + size + 8), buf, sizeof(buf)));
	CK_OK(squib_mem_write_u8(mem, SQUIB_GPA(base + size + p - 1), 0x44));
	CK_OK(squib_mem_read_u64_le(mem, SQUIB_GPA(base - 8), &value));
	ck_assert_uint_eq(value, 0x2211111111111111u);
	CK_OK(squib_mem_read_u64_le(mem, SQUIB_GPA(base + size), &value));
	ck_assert_uint_eq(value, 0x3333333333333333u);
	CK_OK(squib_mem_read(mem, SQUIB_GPA(base + size + 8), got, sizeof(got)));
	CK_BYTES_EQ(got, buf, sizeof(buf));
	CK_OK(squib_mem_read_u8(mem, SQUIB_GPA(base + size + p - 1), &byte));
	ck_assert_uint_eq(byte, 0x44);
	/* Straddling a boundary is not inside one region. */
	CK_STATUS(squib_mem_write(mem, SQUIB_GPA(base - 1), buf, 2), SQUIB_E_OUT_OF_RANGE);
	CK_STATUS(squib_mem_write_u16_le(mem, SQUIB_GPA(base + size - 1), 0), SQUIB_E_OUT_OF_RANGE);
	CK_OK(squib_mem_read_u8(mem, SQUIB_GPA(base - 1), &byte));
	ck_assert_uint_eq(byte, 0x22);
	expect_guest(mem, base, size, 0, 7);

	/* The host mapping itself is read-only: a store through host_addr
	 * faults (in a child). */
	CK_SEGV(test_child_writes((uint8_t *)info.host_addr + 5), "store into a READONLY file");
	squib_mem_free(mem);
	expect_file(fd, 0, size, 7);
	ck_assert_int_eq(close(fd), 0);
}
END_TEST

START_TEST(rom_from_bytes)
{
	const uint64_t p = test_page(), base = 0xfff00010, size = 0x3003, zeros = 0x2000000;
	uint8_t *bytes = malloc(size), *got = malloc(size);
	squib_mem_t *mem = test_mem_new();
	squib_region_opts_t opts = test_opts_of(base, size, 1, SQUIB_REGION_READONLY);
	squib_region_info_t info;

	ck_assert_ptr_nonnull(bytes);
	ck_assert_ptr_nonnull(got);
	test_fill_pattern(bytes, size, 9);
	opts.bytes = bytes;
	opts.prot = SQUIB_PROT_RX;
	opts.name = "bios";
	CK_OK(squib_mem_add_region_opts(mem, &opts));
	memset(bytes, 0, size); /* a copy: the source can go */
	info = test_info_of(mem, 1);
	ck_assert_uint_eq(info.flags, SQUIB_REGION_READONLY);
	ck_assert_int_eq(info.fd, -1);
	ck_assert_uint_eq(info.fd_offset, 0);
	ck_assert_str_eq(info.name, "bios");
	CK_OK(squib_mem_read(mem, SQUIB_GPA(base), got, size));
	ck_assert_uint_eq(test_check_pattern(got, size, 9), size);
	expect_all_writes_refused(mem, base, size, 1);
	CK_OK(squib_mem_read(mem, SQUIB_GPA(base), got, size));
	ck_assert_uint_eq(test_check_pattern(got, size, 9), size);
	CK_SEGV(test_child_writes((uint8_t *)info.host_addr + size / 2), "store into a ROM");

	/* READONLY without bytes: zeros, and they stay zeros. */
	opts = test_opts_of(zeros, 3 * p, 2, SQUIB_REGION_READONLY);
	CK_OK(squib_mem_add_region_opts(mem, &opts));
	expect_guest(mem, zeros, 3 * p, 0, 0);
	expect_all_writes_refused(mem, zeros, 3 * p, 2);
	expect_guest(mem, zeros, 3 * p, 0, 0);
	ck_assert_uint_eq(squib_mem_region_count(mem), 2);
	squib_mem_free(mem);
	free(bytes);
	free(got);
}
END_TEST

/* ROM and RAM regions of 16 bytes, alternating and touching, so that they
 * share every granule of the lookup index: no ROM may hide a neighbour's
 * writes, and no RAM may let a ROM be written. */
START_TEST(rom_and_ram_interleaved)
{
	enum { N = 256, SZ = 16 };
	const uint64_t base = 0x10000;
	squib_mem_t *mem = test_mem_new();
	uint8_t rom[SZ], got[SZ];

	for (uint32_t i = 0; i < N; i++) {
		if (i % 2 == 0) {
			squib_region_opts_t opts =
			    test_opts_of(base + SZ * (uint64_t)i, SZ, i, SQUIB_REGION_READONLY);

			test_fill_pattern(rom, SZ, i);
			opts.bytes = rom;
			CK_OK(squib_mem_add_region_opts(mem, &opts));
		} else {
			test_add(mem, base + SZ * (uint64_t)i, SZ, i);
		}
	}
	for (uint32_t i = 0; i < N; i++) {
		uint64_t at = base + SZ * (uint64_t)i;

		if (i % 2 == 0) {
			ck_assert_int_eq(squib_mem_write_u64_le(mem, SQUIB_GPA(at), i),
					 SQUIB_E_READ_ONLY);
			ck_assert_int_eq(squib_mem_write_u8(mem, SQUIB_GPA(at + SZ - 1), 1),
					 SQUIB_E_READ_ONLY);
			ck_assert_int_eq(squib_mem_write(mem, SQUIB_GPA(at), rom, SZ),
					 SQUIB_E_READ_ONLY);
		} else {
			CK_OK(squib_mem_write_u64_le(mem, SQUIB_GPA(at), 0xabcd0000u + i));
			CK_OK(squib_mem_write_u64_le(mem, SQUIB_GPA(at + 8), 0x12340000u + i));
			CK_OK(squib_mem_write_u8(mem, SQUIB_GPA(at + SZ - 1), (uint8_t)i));
		}
	}
	for (uint32_t i = 0; i < N; i++) {
		uint64_t at = base + SZ * (uint64_t)i, value = 0;

		CK_OK(squib_mem_read(mem, SQUIB_GPA(at), got, SZ));
		if (i % 2 == 0) {
			ck_assert_msg(test_check_pattern(got, SZ, i) == SZ, "ROM slot %u changed",
				      i);
		} else {
			CK_OK(squib_mem_read_u64_le(mem, SQUIB_GPA(at), &value));
			ck_assert_uint_eq(value, 0xabcd0000u + i);
			ck_assert_uint_eq(got[SZ - 1], (uint8_t)i);
		}
	}
	squib_mem_free(mem);
}
END_TEST

/*
 * An empty write. Strictly inside a read-only region it is a write to that
 * region, refused like any other (the contract's "every library write"), so
 * that a caller learns the region is read-only without writing a byte. At
 * a boundary it shares with a writable neighbour it is an empty access at
 * that neighbour's end, which 0.2's rule 4 lets succeed.
 */
START_TEST(read_only_empty_write)
{
	const uint64_t p = test_page(), base = 0x200000, size = 2 * p;
	int fd = test_temp_file(size, 8), ro = reopen(fd, O_RDONLY);
	squib_mem_t *mem = test_mem_new();
	squib_region_opts_t opts =
	    test_opts_of(base, size, 2, SQUIB_REGION_FILE | SQUIB_REGION_READONLY);
	uint8_t rom[64];

	opts.fd = ro;
	CK_OK(squib_mem_add_region_opts(mem, &opts));
	test_add(mem, base - p, p, 1);
	test_fill_pattern(rom, sizeof(rom), 3);
	opts = test_opts_of(0x900000, sizeof(rom), 3, SQUIB_REGION_READONLY);
	opts.bytes = rom;
	CK_OK(squib_mem_add_region_opts(mem, &opts));

	/* An empty write writes nothing: it succeeds wherever an empty
	 * access does (0.2's rule 4), inside a read-only region, at its
	 * base and end, and at the end of the RAM region where the read-only
	 * one starts; a NULL buffer is allowed as for any empty access. */
	CK_OK(squib_mem_write(mem, SQUIB_GPA(base + 1), rom, 0));
	CK_OK(squib_mem_write(mem, SQUIB_GPA(base + p), NULL, 0));
	CK_OK(squib_mem_write(mem, SQUIB_GPA(base + size), rom, 0));
	CK_OK(squib_mem_write(mem, SQUIB_GPA(0x900000 + 10), rom, 0));
	CK_OK(squib_mem_write(mem, SQUIB_GPA(base), rom, 0));
	CK_OK(squib_mem_write(mem, SQUIB_GPA(base - p), rom, 0));
	/* ... and anything longer is refused, down to one byte. */
	expect_write_refused(mem, base + 1, 100 + 1, 2);
	expect_write_refused(mem, 0x900000 + 10, 100 + 1, 3);
	expect_guest(mem, base, size, 0, 8);
	squib_mem_free(mem);
	ck_assert_int_eq(close(ro), 0);
	ck_assert_int_eq(close(fd), 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* SHARED memfd                                                        */

struct share_msg {
	uint64_t fd_offset;
	uint64_t size;
};

static void send_fd(int sock, int fd, const struct share_msg *msg)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} control;
	struct iovec iov = {.iov_base = (void *)(uintptr_t)msg, .iov_len = sizeof(*msg)};
	struct msghdr hdr;
	struct cmsghdr *cmsg;

	memset(&control, 0, sizeof(control));
	memset(&hdr, 0, sizeof(hdr));
	hdr.msg_iov = &iov;
	hdr.msg_iovlen = 1;
	hdr.msg_control = control.buf;
	hdr.msg_controllen = sizeof(control.buf);
	cmsg = CMSG_FIRSTHDR(&hdr);
	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cmsg), &fd, sizeof(fd));
	ck_assert_int_eq(sendmsg(sock, &hdr, 0), (ssize_t)sizeof(*msg));
}

/* -1 on any failure (the child reports it as its exit status). */
static int recv_fd(int sock, struct share_msg *msg)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} control;
	struct iovec iov = {.iov_base = msg, .iov_len = sizeof(*msg)};
	struct msghdr hdr;
	struct cmsghdr *cmsg;
	int fd;

	memset(&control, 0, sizeof(control));
	memset(&hdr, 0, sizeof(hdr));
	hdr.msg_iov = &iov;
	hdr.msg_iovlen = 1;
	hdr.msg_control = control.buf;
	hdr.msg_controllen = sizeof(control.buf);
	if (recvmsg(sock, &hdr, MSG_CMSG_CLOEXEC) != (ssize_t)sizeof(*msg))
		return -1;
	cmsg = CMSG_FIRSTHDR(&hdr);
	if (!cmsg || cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS ||
	    cmsg->cmsg_len != CMSG_LEN(sizeof(int)))
		return -1;
	memcpy(&fd, CMSG_DATA(cmsg), sizeof(fd));
	return fd;
}

static bool send_byte(int sock, char byte)
{
	return write(sock, &byte, 1) == 1;
}

static bool recv_byte(int sock, char want)
{
	char byte = 0;

	return read(sock, &byte, 1) == 1 && byte == want;
}

/*
 * The other process, as a vhost-user back-end: forked before the region
 * exists, so it inherits no mapping of it. It receives the region's fd,
 * maps it itself at the offset it is told, checks the parent's pattern
 * (seed 21) and answers with its own (seed 22). Returns its exit status.
 */
static int shared_peer(int sock)
{
	struct share_msg msg;
	struct stat st;
	uint8_t *map;
	int fd = recv_fd(sock, &msg);

	if (fd < 0)
		return 10;
	if (fstat(fd, &st) != 0 || (uint64_t)st.st_size != msg.fd_offset + msg.size)
		return 11;
	map = mmap(NULL, (size_t)msg.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		   (off_t)msg.fd_offset);
	if (map == MAP_FAILED)
		return 12;
	(void)close(fd); /* the mapping keeps the memory */
	if (!recv_byte(sock, 'w'))
		return 13;
	if (test_check_pattern(map, (size_t)msg.size, 21) != msg.size)
		return 14;
	test_fill_pattern(map, (size_t)msg.size, 22);
	if (!send_byte(sock, 'r'))
		return 15;
	/* Second round: one typed value each way. */
	if (!recv_byte(sock, 'w'))
		return 16;
	if (map[msg.size - 4] != 0x78 || map[msg.size - 3] != 0x56 || map[msg.size - 2] != 0x34 ||
	    map[msg.size - 1] != 0x12)
		return 17;
	map[0] = 0x5e;
	if (!send_byte(sock, 'r') || !recv_byte(sock, 'q'))
		return 18;
	(void)munmap(map, (size_t)msg.size);
	return 0;
}

START_TEST(shared_memfd_seen_by_another_process)
{
	const uint64_t p = test_page(), size = 16 * p, base = 0x40000000;
	squib_mem_t *mem = test_mem_new();
	squib_region_opts_t opts = test_opts_of(base, size, 7, SQUIB_REGION_SHARED);
	squib_region_info_t info;
	struct share_msg msg;
	uint8_t *buf = malloc(size);
	int sv[2], status = -1;
	uint8_t byte = 0;
	pid_t child;

	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		(void)close(sv[0]);
		alarm(30);
		test_child_exit(shared_peer(sv[1]));
	}
	ck_assert_int_eq(close(sv[1]), 0);

	opts.name = "vhost-ram";
	CK_OK(squib_mem_add_region_opts(mem, &opts));
	info = test_info_of(mem, 7);
	ck_assert_uint_eq(info.flags, SQUIB_REGION_SHARED);
	ck_assert_int_ge(info.fd, 0);
	ck_assert_uint_eq(info.fd_offset, 0);
	msg.fd_offset = info.fd_offset;
	msg.size = info.range.size;
	send_fd(sv[0], info.fd, &msg);

	test_fill_pattern(buf, size, 21);
	CK_OK(squib_mem_write(mem, SQUIB_GPA(base), buf, size));
	ck_assert(send_byte(sv[0], 'w'));
	ck_assert_msg(recv_byte(sv[0], 'r'), "the peer did not answer");
	CK_OK(squib_mem_read(mem, SQUIB_GPA(base), buf, size));
	ck_assert_uint_eq(test_check_pattern(buf, size, 22), size);

	CK_OK(squib_mem_write_u32_le(mem, SQUIB_GPA(base + size - 4), 0x12345678u));
	ck_assert(send_byte(sv[0], 'w'));
	ck_assert_msg(recv_byte(sv[0], 'r'), "the peer did not answer");
	CK_OK(squib_mem_read_u8(mem, SQUIB_GPA(base), &byte));
	ck_assert_uint_eq(byte, 0x5e);
	ck_assert(send_byte(sv[0], 'q'));
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	CK_EXIT0(status, "vhost-user peer");
	ck_assert_int_eq(close(sv[0]), 0);
	squib_mem_free(mem);
	free(buf);
}
END_TEST

START_TEST(shared_memfd_sealed_and_sized)
{
	const uint64_t p = test_page(), size = 8 * p, base = 0x80000000;
	squib_mem_t *mem = test_mem_new();
	squib_region_opts_t opts = test_opts_of(base, size, 1, SQUIB_REGION_SHARED);
	squib_region_info_t info;
	struct stat st;
	char link[PATH_MAX], path[64];
	ssize_t len;
	int seals;
	uint8_t byte = 1;

	opts.name = "guest-ram";
	CK_OK(squib_mem_add_region_opts(mem, &opts));
	info = test_info_of(mem, 1);
	ck_assert_int_ge(info.fd, 0);
	ck_assert_str_eq(info.name, "guest-ram");
	ck_assert_int_eq(fstat(info.fd, &st), 0);
	ck_assert_uint_eq((uint64_t)st.st_size, size);
	seals = fcntl(info.fd, F_GET_SEALS);
	ck_assert_int_ge(seals, 0);
	ck_assert_msg(seals & F_SEAL_SHRINK, "seals 0x%x lack F_SEAL_SHRINK", (unsigned)seals);
	/* No holder of the fd can truncate the guest's memory away. */
	errno = 0;
	ck_assert_int_eq(ftruncate(info.fd, (off_t)(size - p)), -1);
	ck_assert_int_eq(errno, EPERM);
	ck_assert_int_eq(ftruncate(info.fd, 0), -1);
	ck_assert_int_eq(fstat(info.fd, &st), 0);
	ck_assert_uint_eq((uint64_t)st.st_size, size);
	CK_OK(squib_mem_write_u8(mem, SQUIB_GPA(base + size - 1), 0x77));
	CK_OK(squib_mem_read_u8(mem, SQUIB_GPA(base + size - 1), &byte));
	ck_assert_uint_eq(byte, 0x77);
	/* A memfd named after the region. */
	(void)snprintf(path, sizeof(path), "/proc/self/fd/%d", info.fd);
	len = readlink(path, link, sizeof(link) - 1);
	ck_assert_int_gt(len, 0);
	link[len] = '\0';
	ck_assert_msg(strstr(link, "memfd:guest-ram") != NULL, "info.fd is \"%s\"", link);
	squib_mem_free(mem);
	errno = 0;
	ck_assert_int_eq(fcntl(info.fd, F_GETFD), -1);
	ck_assert_int_eq(errno, EBADF);
}
END_TEST

START_TEST(shared_with_bytes)
{
	const uint64_t p = test_page(), size = 3 * p, base = 0x100000000u;
	uint8_t *bytes = malloc(size), *got = malloc(size);
	squib_mem_t *mem = test_mem_new();
	squib_region_opts_t opts = test_opts_of(base, size, 1, SQUIB_REGION_SHARED);
	squib_region_info_t info;

	ck_assert_ptr_nonnull(bytes);
	ck_assert_ptr_nonnull(got);
	test_fill_pattern(bytes, size, 31);
	opts.bytes = bytes;
	CK_OK(squib_mem_add_region_opts(mem, &opts));
	info = test_info_of(mem, 1);
	CK_OK(squib_mem_read(mem, SQUIB_GPA(base), got, size));
	ck_assert_uint_eq(test_check_pattern(got, size, 31), size);
	/* In the memfd itself, where a back-end would look. */
	ck_assert_int_eq(pread(info.fd, got, size, 0), (ssize_t)size);
	ck_assert_uint_eq(test_check_pattern(got, size, 31), size);

	/* A shareable ROM: the bytes are there, writes are refused. */
	opts = test_opts_of(base + size, size, 2, SQUIB_REGION_SHARED | SQUIB_REGION_READONLY);
	test_fill_pattern(bytes, size, 32);
	opts.bytes = bytes;
	CK_OK(squib_mem_add_region_opts(mem, &opts));
	info = test_info_of(mem, 2);
	ck_assert_int_ge(info.fd, 0);
	expect_all_writes_refused(mem, base + size, size, 2);
	CK_OK(squib_mem_read(mem, SQUIB_GPA(base + size), got, size));
	ck_assert_uint_eq(test_check_pattern(got, size, 32), size);
	ck_assert_int_eq(pread(info.fd, got, size, 0), (ssize_t)size);
	ck_assert_uint_eq(test_check_pattern(got, size, 32), size);
	squib_mem_free(mem);
	free(bytes);
	free(got);
}
END_TEST

/* ------------------------------------------------------------------ */
/* names, and 0.2's regions                                            */

START_TEST(region_names)
{
	const uint64_t p = test_page();
	const char *exact = "0123456789abcdefghijklmnopqrstu"; /* 31 */
	char longer[64] = "0123456789abcdefghijklmnopqrstuvwxyz-and-more";
	squib_mem_t *mem = test_mem_new();
	squib_region_opts_t opts;
	squib_region_info_t info;
	char link[PATH_MAX], path[64];
	ssize_t len;

	ck_assert_uint_eq(strlen(exact), SQUIB_REGION_NAME_MAX - 1);
	opts = test_opts_of(0x1000, 0x100, 1, 0);
	opts.name = exact;
	CK_OK(squib_mem_add_region_opts(mem, &opts));
	info = test_info_of(mem, 1);
	ck_assert_str_eq(info.name, exact);

	opts = test_opts_of(0x2000, 0x100, 2, 0);
	opts.name = longer;
	CK_OK(squib_mem_add_region_opts(mem, &opts));
	memset(longer, 'X', 10); /* copied: the caller's buffer can change */
	info = test_info_of(mem, 2);
	ck_assert_uint_eq(strlen(info.name), SQUIB_REGION_NAME_MAX - 1);
	ck_assert_int_eq(info.name[SQUIB_REGION_NAME_MAX - 1], '\0');
	ck_assert_int_eq(memcmp(info.name, "0123456789abcdefghijklmnopqrstu", 31), 0);

	opts = test_opts_of(0x3000, 0x100, 3, 0);
	opts.name = "";
	CK_OK(squib_mem_add_region_opts(mem, &opts));
	info = test_info_of(mem, 3);
	ck_assert_str_eq(info.name, "");

	/* A memfd gets the truncated name too. */
	opts = test_opts_of(0x100000, 2 * p, 4, SQUIB_REGION_SHARED);
	opts.name = "shared-memory-with-a-very-long-name-indeed";
	CK_OK(squib_mem_add_region_opts(mem, &opts));
	info = test_info_of(mem, 4);
	ck_assert_str_eq(info.name, "shared-memory-with-a-very-long-");
	(void)snprintf(path, sizeof(path), "/proc/self/fd/%d", info.fd);
	len = readlink(path, link, sizeof(link) - 1);
	ck_assert_int_gt(len, 0);
	link[len] = '\0';
	ck_assert_msg(strstr(link, "memfd:shared-memory-with-a-very-long-") != NULL,
		      "info.fd is \"%s\"", link);
	squib_mem_free(mem);
}
END_TEST

struct info_walk {
	unsigned seen;
	bool ok;
};

static int check_0_2_info(const squib_region_info_t *info, void *ctx)
{
	struct info_walk *walk = ctx;

	walk->seen++;
	if (info->flags != 0 || info->fd != -1 || info->fd_offset != 0 || info->name[0] != '\0')
		walk->ok = false;
	return 0;
}

START_TEST(info_of_0_2_regions)
{
	squib_mem_t *mem = test_mem_new();
	uint8_t bytes[100];
	squib_region_info_t info;
	struct info_walk walk = {0, true};
	squib_region_opts_t opts = test_opts_of(0x9000, 0x10, 3, 0);

	test_fill_pattern(bytes, sizeof(bytes), 1);
	test_add(mem, 0x1000, 0x1000, 1);
	CK_OK(squib_mem_add_region_from_bytes(mem, SQUIB_GPA(0x5003), bytes, sizeof(bytes), 2,
					      SQUIB_PROT_RX));
	/* add_region_opts with nothing set is 0.2's backing, with a fd of 0
	 * in opts that means nothing (FILE is not set). */
	CK_OK(squib_mem_add_region_opts(mem, &opts));
	for (uint32_t slot = 1; slot <= 3; slot++) {
		info = test_info_of(mem, slot);
		ck_assert_uint_eq(info.flags, 0);
		ck_assert_int_eq(info.fd, -1);
		ck_assert_uint_eq(info.fd_offset, 0);
		ck_assert_str_eq(info.name, "");
	}
	memset(&info, 0x5a, sizeof(info));
	info.sz = sizeof(info);
	CK_OK(squib_mem_find_region(mem, SQUIB_GPA(0x5003 + 99), &info));
	ck_assert_uint_eq(info.slot, 2);
	ck_assert_uint_eq(info.flags, 0);
	ck_assert_int_eq(info.fd, -1);
	ck_assert_uint_eq(info.fd_offset, 0);
	ck_assert_str_eq(info.name, "");
	ck_assert_int_eq(squib_mem_foreach_region(mem, check_0_2_info, &walk), 0);
	ck_assert_uint_eq(walk.seen, 3);
	ck_assert_msg(walk.ok, "foreach_region gave 0.3 fields a 0.2 region does not have");
	squib_mem_free(mem);
}
END_TEST

/* ------------------------------------------------------------------ */
/* the caller's mapping                                                */

START_TEST(caller_mapping_used_as_is)
{
	const uint64_t p = test_page(), size = 4 * p, base = 0x200000;
	uint8_t *map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	squib_mem_t *mem = test_mem_new();
	squib_region_opts_t opts = test_opts_of(base, size, 1, 0);
	squib_region_info_t info;
	uint32_t value = 0;
	uint8_t byte = 0;

	ck_assert_ptr_ne(map, MAP_FAILED);
	map[0] = 0x31;
	opts.host_addr = map;
	CK_OK(squib_mem_add_region_opts(mem, &opts));
	info = test_info_of(mem, 1);
	ck_assert_ptr_eq(info.host_addr, map);
	ck_assert_int_eq(info.fd, -1);
	ck_assert_uint_eq(info.fd_offset, 0);
	ck_assert_uint_eq(info.flags, 0);
	/* The caller's bytes are the region's (not zero-filled or copied). */
	CK_OK(squib_mem_read_u8(mem, SQUIB_GPA(base), &byte));
	ck_assert_uint_eq(byte, 0x31);
	CK_OK(squib_mem_write_u32_le(mem, SQUIB_GPA(base + 100), 0xa1b2c3d4u));
	ck_assert_uint_eq(map[100], 0xd4);
	ck_assert_uint_eq(map[103], 0xa1);
	map[2 * p + 7] = 0x5c;
	CK_OK(squib_mem_read_u8(mem, SQUIB_GPA(base + 2 * p + 7), &byte));
	ck_assert_uint_eq(byte, 0x5c);

	/* Removed, and later whatever the deferred release does: still the
	 * caller's. */
	CK_OK(squib_mem_remove_region(mem, 1));
	map[size - 1] = 0x61;
	ck_assert_uint_eq(map[size - 1], 0x61);
	ck_assert_uint_eq(map[100], 0xd4);
	opts.slot = 2;
	CK_OK(squib_mem_add_region_opts(mem, &opts));
	CK_OK(squib_mem_read_u32_le(mem, SQUIB_GPA(base + 100), &value));
	ck_assert_uint_eq(value, 0xa1b2c3d4u);
	squib_mem_free(mem);
	map[0] = 0x62;
	map[size - 1] = 0x63;
	ck_assert_uint_eq(map[0], 0x62);
	ck_assert_uint_eq(map[size - 1], 0x63);
	ck_assert_uint_eq(map[2 * p + 7], 0x5c);
	CK_EXIT0(test_child_reads(map + size - 1, -1), "the caller's mapping after squib_mem_free");
	ck_assert_int_eq(munmap(map, size), 0);
}
END_TEST

START_TEST(caller_file_mapping_keeps_a_dup)
{
	const uint64_t p = test_page(), size = 2 * p, off = p, base = 0x300000;
	int fd = test_temp_file(4 * p, 3);
	uint8_t *map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)off);
	squib_mem_t *mem = test_mem_new();
	squib_region_opts_t opts = test_opts_of(base, size, 1, SQUIB_REGION_FILE);
	squib_region_info_t info;
	struct stat mine, lib;

	ck_assert_ptr_ne(map, MAP_FAILED);
	opts.fd = fd;
	opts.fd_offset = off;
	opts.host_addr = map;
	opts.name = "caller-file";
	CK_OK(squib_mem_add_region_opts(mem, &opts));
	info = test_info_of(mem, 1);
	ck_assert_ptr_eq(info.host_addr, map);
	ck_assert_int_ge(info.fd, 0);
	ck_assert_int_ne(info.fd, fd);
	ck_assert_uint_eq(info.fd_offset, off);
	ck_assert_uint_eq(info.flags, SQUIB_REGION_FILE);
	ck_assert_str_eq(info.name, "caller-file");
	ck_assert_int_eq(fstat(fd, &mine), 0);
	ck_assert_int_eq(close(fd), 0);
	/* The dup outlives the caller's close. */
	ck_assert_int_eq(fstat(info.fd, &lib), 0);
	ck_assert(mine.st_dev == lib.st_dev && mine.st_ino == lib.st_ino);
	ck_assert_uint_eq((uint64_t)lib.st_size, 4 * p);
	/* The region is the caller's mapping of the file. */
	expect_guest(mem, base, size, off, 3);
	CK_OK(squib_mem_write_u64_le(mem, SQUIB_GPA(base + p), 0x0807060504030201u));
	ck_assert_uint_eq(map[p], 0x01);
	ck_assert_uint_eq(map[p + 7], 0x08);
	{
		uint8_t got[8];

		ck_assert_int_eq(pread(info.fd, got, 8, (off_t)(off + p)), 8);
		for (unsigned i = 0; i < 8; i++)
			ck_assert_uint_eq(got[i], i + 1);
	}
	CK_OK(squib_mem_remove_region(mem, 1));
	squib_mem_free(mem);
	/* The mapping is the caller's still; the dup is closed. */
	ck_assert_uint_eq(map[p + 7], 0x08);
	ck_assert_uint_eq(map[0], test_pattern_byte(3, off));
	map[1] = 0x44;
	ck_assert_uint_eq(map[1], 0x44);
	errno = 0;
	ck_assert_int_eq(fcntl(info.fd, F_GETFD), -1);
	ck_assert_int_eq(errno, EBADF);
	ck_assert_int_eq(munmap(map, size), 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* guard pages                                                         */

/* The byte before the region's first host page and the first byte of the
 * page past its end fault (in a child); the region's first and last bytes
 * do not. For a base that is not page-aligned the first page starts
 * base modulo the page size before host_addr. */
static void expect_guards(const squib_mem_t *mem, uint32_t slot, const char *what)
{
	const uint64_t p = test_page();
	squib_region_info_t info = test_info_of(mem, slot);
	uint8_t *host = info.host_addr;
	uint64_t lead = (uint64_t)(uintptr_t)host & (p - 1);
	uint8_t *start = host - lead, *end = start + round_up(lead + info.range.size, p);
	char text[128];

	(void)snprintf(text, sizeof(text), "%s: first byte", what);
	CK_EXIT0(test_child_reads(host, -1), text);
	(void)snprintf(text, sizeof(text), "%s: last byte", what);
	CK_EXIT0(test_child_reads(host + info.range.size - 1, -1), text);
	(void)snprintf(text, sizeof(text), "%s: byte before the first page", what);
	CK_SEGV(test_child_reads(start - 1, -1), text);
	(void)snprintf(text, sizeof(text), "%s: byte past the last page", what);
	CK_SEGV(test_child_reads(end, -1), text);
}

START_TEST(guard_pages_around_library_mappings)
{
	const uint64_t p = test_page();
	int fd = test_temp_file(8 * p, 4);
	uint8_t bytes[300];
	squib_mem_t *mem = test_mem_new();
	squib_region_opts_t opts;

	test_fill_pattern(bytes, sizeof(bytes), 2);
	/* 0.2: page-aligned base, a size that ends inside a page. */
	test_add(mem, 0x100000, 3 * p + 100, 1);
	expect_guards(mem, 1, "add_region");
	CK_OK(squib_mem_add_region_from_bytes(mem, SQUIB_GPA(0x200000), bytes, sizeof(bytes), 2,
					      SQUIB_PROT_RW));
	expect_guards(mem, 2, "add_region_from_bytes");
	/* Anonymous through opts, with flags, and at an unaligned base. */
	opts = test_opts_of(0x300000, 5 * p, 3, SQUIB_REGION_DONTDUMP | SQUIB_REGION_PREFAULT);
	CK_OK(squib_mem_add_region_opts(mem, &opts));
	expect_guards(mem, 3, "anonymous opts");
	opts = test_opts_of(0x400003, 2 * p, 4, 0);
	CK_OK(squib_mem_add_region_opts(mem, &opts));
	expect_guards(mem, 4, "anonymous opts, unaligned base");
	opts = test_opts_of(0x500000, sizeof(bytes), 5, SQUIB_REGION_READONLY);
	opts.bytes = bytes;
	CK_OK(squib_mem_add_region_opts(mem, &opts));
	expect_guards(mem, 5, "ROM");
	opts = test_opts_of(0x600000, 4 * p, 6, SQUIB_REGION_SHARED);
	CK_OK(squib_mem_add_region_opts(mem, &opts));
	expect_guards(mem, 6, "SHARED");
	opts = test_opts_of(0x700000, 4 * p, 7, SQUIB_REGION_FILE);
	opts.fd = fd;
	opts.fd_offset = p;
	CK_OK(squib_mem_add_region_opts(mem, &opts));
	expect_guards(mem, 7, "FILE");
	opts = test_opts_of(0x800000, 4 * p, 8, SQUIB_REGION_FILE | SQUIB_REGION_PRIVATE);
	opts.fd = fd;
	opts.fd_offset = 4 * p; /* the file's last 4 pages: the guard is past EOF too */
	CK_OK(squib_mem_add_region_opts(mem, &opts));
	expect_guards(mem, 8, "FILE | PRIVATE");
	squib_mem_free(mem);
	ck_assert_int_eq(close(fd), 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* refusals                                                            */

/* A needle of expect_refused(): "#123" is the decimal number 123 as a
 * whole; "$1f" is the hexadecimal 0x1f as a whole; anything else is
 * looked for as is. */
static const char *dec(uint64_t value)
{
	static char ring[32][32];
	static unsigned next;
	char *text = ring[next++ % 32];

	(void)snprintf(text, sizeof(ring[0]), "#%" PRIu64, value);
	return text;
}

static const char *hex(uint64_t value)
{
	static char ring[32][32];
	static unsigned next;
	char *text = ring[next++ % 32];

	(void)snprintf(text, sizeof(ring[0]), "$%" PRIx64, value);
	return text;
}

static const char *gpa(uint64_t value)
{
	static char ring[32][32];
	static unsigned next;
	char *text = ring[next++ % 32];

	(void)snprintf(text, sizeof(ring[0]), "0x%016" PRIx64, value);
	return text;
}

/* "fd N", as messages name a descriptor. */
static const char *fd_text(int fd)
{
	static char ring[32][32];
	static unsigned next;
	char *text = ring[next++ % 32];

	(void)snprintf(text, sizeof(ring[0]), "fd %d", fd);
	return text;
}

static const char *ptr_text(const void *ptr)
{
	static char ring[8][32];
	static unsigned next;
	char *text = ring[next++ % 8];

	(void)snprintf(text, sizeof(ring[0]), "%p", ptr);
	return text;
}

static bool is_hex_digit(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool has_hex(const char *haystack, const char *digits)
{
	char text[40];
	size_t len;

	(void)snprintf(text, sizeof(text), "0x%s", digits);
	len = strlen(text);
	for (const char *at = strstr(haystack, text); at; at = strstr(at + 1, text))
		if (!is_hex_digit(at[len]))
			return true;
	return false;
}

static bool message_has(const char *msg, const char *needle)
{
	if (needle[0] == '#')
		return test_has_decimal(msg, strtoull(needle + 1, NULL, 10));
	if (needle[0] == '$')
		return has_hex(msg, needle + 1);
	return strstr(msg, needle) != NULL;
}

/* squib_mem_add_region_opts(call_mem, opts) returns want, leaves mem with
 * as many regions, the process with as many mappings and file descriptors
 * as before, and says every needle in its message. */
/* Set while a first pass runs every refusal once: whatever libc or a
 * sanitizer maps the first time is not the library's. */
static bool warming_up;

static void expect_refused(squib_mem_t *mem, squib_mem_t *call_mem, const squib_region_opts_t *opts,
			   squib_status_t want, const char *what, const char *const *needles)
{
	size_t regions = squib_mem_region_count(mem), fds = test_count_fds();
	struct test_maps maps = test_count_maps();
	squib_status_t got = squib_mem_add_region_opts(call_mem, opts);
	struct test_maps maps_after = test_count_maps();
	size_t fds_after = test_count_fds();
	const char *msg = squib_last_error();
	char text[512];

	ck_assert_msg(got == want, "%s: got %d (%s), want %d (%s): \"%s\"", what, (int)got,
		      squib_strerror(got), (int)want, squib_strerror(want), msg);
	ck_assert_msg(squib_mem_region_count(mem) == regions, "%s: %zu regions, were %zu", what,
		      squib_mem_region_count(mem), regions);
	(void)snprintf(text, sizeof(text), "%s", msg);
	/* Under a tool, a difference counts only if it comes back on each of
	 * 8 more calls: a leak does, the tool's own mapping does not. */
	for (int again = 0; !warming_up && !test_maps_equal(maps_after, maps) &&
			    test_mappings_noisy() && again < 8;
	     again++) {
		struct test_maps retry = test_count_maps();

		ck_assert_int_eq(squib_mem_add_region_opts(call_mem, opts), want);
		if (test_maps_equal(test_count_maps(), retry))
			maps_after = maps;
	}
	ck_assert_msg(warming_up || test_maps_equal(maps_after, maps),
		      "%s: %zu mappings of %" PRIu64 " bytes after, %zu of %" PRIu64 " before",
		      what, maps_after.lines, maps_after.bytes, maps.lines, maps.bytes);
	ck_assert_msg(warming_up || fds_after == fds, "%s: %zu fds after, %zu before", what,
		      fds_after, fds);
	for (; *needles; needles++)
		ck_assert_msg(message_has(text, *needles), "%s: \"%s\" does not name \"%s\"", what,
			      text, *needles);
}

#define REFUSED(mem, opts, want, what, ...)                                                        \
	expect_refused((mem), (mem), (opts), (want), (what),                                       \
		       (const char *const[]){__VA_ARGS__, NULL})

/* An opts of a later, larger layout. */
struct opts_ext {
	squib_region_opts_t opts;
	unsigned char tail[24];
};

struct fixture {
	squib_mem_t *mem;
	int rw, ro, wo, path, closed;
	uint64_t file_size;
	uint8_t *map; /* a caller's mapping of 4 pages */
};

/* Every refusal the contract lists, each checked by expect_refused(). */
static void refuse_everything(struct fixture *fx)
{
	const uint64_t p = test_page(), fb = 0x40000000, fsz = fx->file_size;
	squib_mem_t *mem = fx->mem;
	static const uint8_t bytes[1 << 14];
	squib_region_opts_t o;
	struct opts_ext ext;

	/* NULLs and the struct's size. */
	o = test_opts_of(fb, p, 500, 0);
	REFUSED(mem, NULL, SQUIB_E_INVALID_ARGUMENT, "opts NULL", "opts is NULL");
	expect_refused(mem, NULL, &o, SQUIB_E_INVALID_ARGUMENT, "mem NULL",
		       (const char *const[]){"mem is NULL", NULL});
	o.sz = sizeof(o) - 1;
	REFUSED(mem, &o, SQUIB_E_INVALID_ARGUMENT, "sz one short", dec(sizeof(o) - 1),
		dec(sizeof(o)));
	o.sz = 0;
	REFUSED(mem, &o, SQUIB_E_INVALID_ARGUMENT, "sz 0", dec(sizeof(o)));
	o.sz = sizeof(size_t) + sizeof(squib_range_t);
	REFUSED(mem, &o, SQUIB_E_INVALID_ARGUMENT, "sz of a prefix", dec(o.sz), dec(sizeof(o)));
	memset(&ext, 0, sizeof(ext));
	ext.opts = test_opts_of(fb, p, 500, 0);
	ext.opts.sz = sizeof(ext);
	ext.tail[5] = 0x80;
	REFUSED(mem, &ext.opts, SQUIB_E_UNSUPPORTED, "larger sz, byte 5 past the layout set",
		dec(sizeof(ext)), dec(sizeof(o) + 5));
	ext.tail[5] = 0;
	ext.tail[sizeof(ext.tail) - 1] = 1;
	REFUSED(mem, &ext.opts, SQUIB_E_UNSUPPORTED, "larger sz, last byte set", dec(sizeof(ext)),
		dec(sizeof(ext) - 1));

	/* The range and the protection. */
	o = test_opts_of(fb, 0, 500, 0);
	REFUSED(mem, &o, SQUIB_E_INVALID_ARGUMENT, "size 0", gpa(fb));
	o = test_opts_of(fb, 0, 500, SQUIB_REGION_SHARED);
	REFUSED(mem, &o, SQUIB_E_INVALID_ARGUMENT, "SHARED size 0", gpa(fb));
	o = test_opts_of(UINT64_MAX - p + 1, 2 * p, 500, 0);
	REFUSED(mem, &o, SQUIB_E_INVALID_ARGUMENT, "overflowing range", gpa(UINT64_MAX - p + 1),
		dec(2 * p));
	o = test_opts_of(UINT64_MAX - p + 1, 2 * p, 500, SQUIB_REGION_FILE);
	o.fd = fx->rw;
	REFUSED(mem, &o, SQUIB_E_INVALID_ARGUMENT, "overflowing FILE range",
		gpa(UINT64_MAX - p + 1), dec(2 * p));
	o = test_opts_of(1, UINT64_MAX, 500, 0);
	REFUSED(mem, &o, SQUIB_E_INVALID_ARGUMENT, "size UINT64_MAX at 1", gpa(1), dec(UINT64_MAX));
	o = test_opts_of(fb, p, 500, 0);
	o.prot = 0x8;
	REFUSED(mem, &o, SQUIB_E_INVALID_ARGUMENT, "prot 0x8", hex(0x8));
	o.prot = 0x80000000u | SQUIB_PROT_RW;
	REFUSED(mem, &o, SQUIB_E_INVALID_ARGUMENT, "prot 0x80000003", hex(0x80000000u));

	/* Unknown flags. */
	o = test_opts_of(fb, p, 500, 0x800);
	REFUSED(mem, &o, SQUIB_E_INVALID_ARGUMENT, "flag 0x800", hex(0x800));
	o = test_opts_of(fb, p, 500, 0x80000000u | SQUIB_REGION_DONTDUMP);
	REFUSED(mem, &o, SQUIB_E_INVALID_ARGUMENT, "flag 0x80000000", hex(0x80000000u));

	/* Contradictions. */
	o = test_opts_of(fb, p, 500, SQUIB_REGION_PRIVATE);
	REFUSED(mem, &o, SQUIB_E_INVALID_ARGUMENT, "PRIVATE without FILE", hex(0x2));
	o = test_opts_of(fb, p, 500, SQUIB_REGION_PRIVATE | SQUIB_REGION_FILE);
	o.fd = fx->rw;
	o.host_addr = fx->map;
	REFUSED(mem, &o, SQUIB_E_INVALID_ARGUMENT, "PRIVATE with host_addr", hex(0x402));
	o = test_opts_of(fb, p, 500, SQUIB_REGION_PRIVATE);
	o.host_addr = fx->map;
	REFUSED(mem, &o, SQUIB_E_INVALID_ARGUMENT, "PRIVATE with host_addr, no FILE", hex(0x2));
	o = test_opts_of(fb, p, 500, SQUIB_REGION_SHARED | SQUIB_REGION_FILE);
	o.fd = fx->rw;
	REFUSED(mem, &o, SQUIB_E_INVALID_ARGUMENT, "SHARED with FILE", hex(0x401));
	o = test_opts_of(fb, p, 500, SQUIB_REGION_SHARED);
	o.host_addr = fx->map;
	REFUSED(mem, &o, SQUIB_E_INVALID_ARGUMENT, "SHARED with host_addr", hex(0x1));
	o = test_opts_of(fb, p, 500, SQUIB_REGION_FILE);
	o.fd = fx->rw;
	o.bytes = bytes;
	REFUSED(mem, &o, SQUIB_E_INVALID_ARGUMENT, "bytes with FILE", hex(0x400));
	o = test_opts_of(fb, p, 500, 0);
	o.host_addr = fx->map;
	o.bytes = bytes;
	REFUSED(mem, &o, SQUIB_E_INVALID_ARGUMENT, "bytes with host_addr", hex(0x0));
	o = test_opts_of(fb, p, 500, SQUIB_REGION_HUGETLB | SQUIB_REGION_THP);
	REFUSED(mem, &o, SQUIB_E_INVALID_ARGUMENT, "HUGETLB with THP", hex(0x18));
	o = test_opts_of(fb, p, 500, SQUIB_REGION_HUGETLB | SQUIB_REGION_FILE);
	o.fd = fx->rw;
	REFUSED(mem, &o, SQUIB_E_INVALID_ARGUMENT, "HUGETLB with FILE", hex(0x408));
	o = test_opts_of(fb, p, 500, SQUIB_REGION_HUGETLB);
	o.host_addr = fx->map;
	REFUSED(mem, &o, SQUIB_E_INVALID_ARGUMENT, "HUGETLB with host_addr", hex(0x8));
	o = test_opts_of(fb, p, 500, SQUIB_REGION_FILE);
	o.fd = -1;
	REFUSED(mem, &o, SQUIB_E_INVALID_ARGUMENT, "FILE with fd -1", "fd -1");
	o.fd = INT32_MIN;
	REFUSED(mem, &o, SQUIB_E_INVALID_ARGUMENT, "FILE with fd INT_MIN", fd_text(INT32_MIN));

	/* Alignment of every backing but the anonymous one. */
	o = test_opts_of(fb + 1, p, 500, SQUIB_REGION_FILE);
	o.fd = fx->rw;
	REFUSED(mem, &o, SQUIB_E_INVALID_ARGUMENT, "FILE base unaligned", gpa(fb + 1), dec(p));
	o = test_opts_of(fb, p + 1, 500, SQUIB_REGION_FILE);
	o.fd = fx->rw;
	REFUSED(mem, &o, SQUIB_E_INVALID_ARGUMENT, "FILE size unaligned", dec(p + 1), dec(p));
	o = test_opts_of(fb, p, 500, SQUIB_REGION_FILE);
	o.fd = fx->rw;
	o.fd_offset = 100;
	REFUSED(mem, &o, SQUIB_E_INVALID_ARGUMENT, "FILE fd_offset unaligned", dec(100), dec(p));
	o = test_opts_of(fb + p / 2, p, 500, SQUIB_REGION_SHARED);
	REFUSED(mem, &o, SQUIB_E_INVALID_ARGUMENT, "SHARED base unaligned", gpa(fb + p / 2),
		dec(p));
	o = test_opts_of(fb, 3 * p / 2, 500, SQUIB_REGION_SHARED);
	REFUSED(mem, &o, SQUIB_E_INVALID_ARGUMENT, "SHARED size unaligned", dec(3 * p / 2), dec(p));
	o = test_opts_of(fb + 8, p, 500, 0);
	o.host_addr = fx->map;
	REFUSED(mem, &o, SQUIB_E_INVALID_ARGUMENT, "host_addr base unaligned", gpa(fb + 8), dec(p));
	o = test_opts_of(fb, p - 8, 500, 0);
	o.host_addr = fx->map;
	REFUSED(mem, &o, SQUIB_E_INVALID_ARGUMENT, "host_addr size unaligned", dec(p - 8), dec(p));
	o = test_opts_of(fb, p, 500, 0);
	o.host_addr = fx->map + 1;
	REFUSED(mem, &o, SQUIB_E_INVALID_ARGUMENT, "host_addr unaligned", ptr_text(fx->map + 1),
		dec(p));
	o = test_opts_of(fb, p, 500, SQUIB_REGION_FILE);
	o.fd = fx->rw;
	o.fd_offset = p + 8;
	o.host_addr = fx->map;
	REFUSED(mem, &o, SQUIB_E_INVALID_ARGUMENT, "FILE + host_addr fd_offset unaligned",
		dec(p + 8), dec(p));

	/* The file itself. */
	o = test_opts_of(fb, 2 * p, 500, SQUIB_REGION_FILE);
	o.fd = fx->rw;
	o.fd_offset = fsz - p;
	REFUSED(mem, &o, SQUIB_E_INVALID_ARGUMENT, "FILE past the end", dec(fsz - p), dec(2 * p),
		dec(fsz));
	o.fd_offset = fsz;
	o.range.size = p;
	REFUSED(mem, &o, SQUIB_E_INVALID_ARGUMENT, "FILE at the end", dec(fsz), dec(p));
	o.fd_offset = 0;
	o.range.size = fsz + p;
	o.flags |= SQUIB_REGION_PRIVATE;
	REFUSED(mem, &o, SQUIB_E_INVALID_ARGUMENT, "PRIVATE FILE past the end", dec(fsz + p),
		dec(fsz));
	o = test_opts_of(fb, p, 500, SQUIB_REGION_FILE);
	o.fd = fx->rw;
	o.fd_offset = (uint64_t)1 << 62;
	REFUSED(mem, &o, SQUIB_E_INVALID_ARGUMENT, "FILE far past the end", dec((uint64_t)1 << 62));
	o.fd_offset = UINT64_MAX - p + 1;
	REFUSED(mem, &o, SQUIB_E_INVALID_ARGUMENT, "FILE fd_offset + size overflows",
		dec(UINT64_MAX - p + 1));
	o = test_opts_of(fb, p, 500, SQUIB_REGION_FILE);
	o.fd = fx->ro;
	REFUSED(mem, &o, SQUIB_E_INVALID_ARGUMENT, "O_RDONLY without READONLY or PRIVATE",
		fd_text(fx->ro));
	o.flags |= SQUIB_REGION_DONTDUMP | SQUIB_REGION_PREFAULT;
	REFUSED(mem, &o, SQUIB_E_INVALID_ARGUMENT, "O_RDONLY, other flags", fd_text(fx->ro));
	o = test_opts_of(fb, p, 500, SQUIB_REGION_FILE);
	o.fd = fx->wo;
	REFUSED(mem, &o, SQUIB_E_INVALID_ARGUMENT, "O_WRONLY", fd_text(fx->wo));
	o.flags |= SQUIB_REGION_READONLY;
	REFUSED(mem, &o, SQUIB_E_INVALID_ARGUMENT, "O_WRONLY, READONLY", fd_text(fx->wo));
	o.flags = SQUIB_REGION_FILE | SQUIB_REGION_PRIVATE;
	REFUSED(mem, &o, SQUIB_E_INVALID_ARGUMENT, "O_WRONLY, PRIVATE", fd_text(fx->wo));
	o = test_opts_of(fb, p, 500, SQUIB_REGION_FILE | SQUIB_REGION_READONLY);
	o.fd = fx->path;
	REFUSED(mem, &o, SQUIB_E_INVALID_ARGUMENT, "O_PATH", fd_text(fx->path));
	o = test_opts_of(fb, p, 500, SQUIB_REGION_FILE);
	o.fd = fx->closed;
	REFUSED(mem, &o, SQUIB_E_INVALID_ARGUMENT, "closed fd", fd_text(fx->closed));
	o.host_addr = fx->map;
	REFUSED(mem, &o, SQUIB_E_INVALID_ARGUMENT, "closed fd with host_addr", fd_text(fx->closed));
}

/* One of the accepted adds the refusals are mixed with, by kind. */
static void add_accepted(struct fixture *fx, unsigned kind, uint64_t base, uint32_t slot)
{
	const uint64_t p = test_page();
	squib_region_opts_t o;
	struct opts_ext ext;
	uint8_t byte = 0xff;

	switch (kind % 9) {
	case 0: /* the anonymous backing keeps 0.2's any alignment */
		base += 0x1003;
		o = test_opts_of(base, 5, slot, 0);
		break;
	case 1: /* fd_offset + size exactly at the end of the file */
		o = test_opts_of(base, 2 * p, slot, SQUIB_REGION_FILE);
		o.fd = fx->rw;
		o.fd_offset = fx->file_size - 2 * p;
		break;
	case 2:
		o = test_opts_of(base, 2 * p, slot, SQUIB_REGION_SHARED | SQUIB_REGION_DONTDUMP);
		o.name = "cycle";
		break;
	case 3:
		o = test_opts_of(base, 2 * p, slot, 0);
		o.host_addr = fx->map;
		break;
	case 4: /* O_RDONLY is fine copy-on-write ... */
		o = test_opts_of(base, p, slot, SQUIB_REGION_FILE | SQUIB_REGION_PRIVATE);
		o.fd = fx->ro;
		o.fd_offset = p;
		break;
	case 5: /* ... and read-only */
		o = test_opts_of(base, p, slot, SQUIB_REGION_FILE | SQUIB_REGION_READONLY);
		o.fd = fx->ro;
		break;
	case 6: /* a larger sz with zeros past the layout */
		memset(&ext, 0, sizeof(ext));
		ext.opts = test_opts_of(base, 3 * p + 1, slot, SQUIB_REGION_THP);
		ext.opts.sz = sizeof(ext);
		CK_OK(squib_mem_add_region_opts(fx->mem, &ext.opts));
		CK_OK(squib_mem_read_u8(fx->mem, SQUIB_GPA(base + 3 * p), &byte));
		ck_assert_uint_eq(byte, 0);
		return;
	case 7: /* the 0.2 function */
		CK_OK(squib_mem_add_region(fx->mem, test_range(base + 1, p), slot, SQUIB_PROT_RW));
		CK_OK(squib_mem_read_u8(fx->mem, SQUIB_GPA(base + p), &byte));
		return;
	default: /* FILE describing a caller's mapping */
		o = test_opts_of(base, 2 * p, slot, SQUIB_REGION_FILE);
		o.fd = fx->rw;
		o.host_addr = fx->map;
		break;
	}
	CK_OK(squib_mem_add_region_opts(fx->mem, &o));
	CK_OK(squib_mem_read_u8(fx->mem, SQUIB_GPA(base), &byte));
}

START_TEST(refused_adds_leave_nothing)
{
	const uint64_t p = test_page();
	const unsigned cycles = test_under_valgrind() ? 20 : 200;
	struct fixture fx;
	size_t fds_start;
	struct test_maps maps_start, maps_end;
	int spare;

	fx.file_size = 4 * p;
	fx.rw = test_temp_file(fx.file_size, 6);
	fx.ro = reopen(fx.rw, O_RDONLY);
	fx.wo = reopen(fx.rw, O_WRONLY);
	fx.path = reopen(fx.rw, O_PATH);
	/* A closed fd far above the ones in use, so no open can reuse it. */
	spare = fcntl(fx.rw, F_DUPFD_CLOEXEC, 700);
	ck_assert_int_ge(spare, 700);
	fx.closed = spare;
	ck_assert_int_eq(close(spare), 0);
	fx.map = mmap(NULL, 4 * p, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(fx.map, MAP_FAILED);

	/* A first failure and count of each kind, so that whatever the
	 * library, libc or a sanitizer set up once is there from the start. */
	fx.mem = test_mem_new();
	warming_up = true;
	refuse_everything(&fx);
	warming_up = false;
	squib_mem_free(fx.mem);
	fds_start = test_count_fds();
	maps_start = test_count_maps();

	fx.mem = test_mem_new();
	for (unsigned i = 0; i < cycles; i++) {
		/* Up to three accepted regions live, of rotating kinds. */
		if (i >= 3)
			CK_OK(squib_mem_remove_region(fx.mem, 1000 + i - 3));
		add_accepted(&fx, i, 0x80000000u + (uint64_t)(i % 4) * 0x100000, 1000 + i);
		ck_assert_uint_eq(squib_mem_region_count(fx.mem), i >= 3 ? 3 : i + 1);
		refuse_everything(&fx);
	}
	squib_mem_free(fx.mem);
	/* Everything the accepted adds made is gone too. */
	ck_assert_uint_eq(test_count_fds(), fds_start);
	/* Not under a tool: after the cycles of accepted adds its allocator
	 * and shadow memory have grown by chunks of their own. */
	maps_end = test_count_maps();
	ck_assert_msg(test_mappings_noisy() || test_maps_equal(maps_end, maps_start),
		      "%zu mappings of %" PRIu64 " bytes at the end, %zu of %" PRIu64
		      " at the start",
		      maps_end.lines, maps_end.bytes, maps_start.lines, maps_start.bytes);
	ck_assert_int_eq(munmap(fx.map, 4 * p), 0);
	ck_assert_int_eq(close(fx.rw), 0);
	ck_assert_int_eq(close(fx.ro), 0);
	ck_assert_int_eq(close(fx.wo), 0);
	ck_assert_int_eq(close(fx.path), 0);
}
END_TEST

START_TEST(check_order)
{
	const uint64_t p = test_page(), base = 0x10000000;
	squib_mem_t *mem = test_mem_new();
	squib_region_opts_t o;
	struct opts_ext ext;
	int fd = test_temp_file(2 * p, 0);

	o = test_opts_of(base, 4 * p, 1, 0);
	CK_OK(squib_mem_add_region_opts(mem, &o));

	/* INVALID_ARGUMENT before SLOT_IN_USE and OVERLAP (the first time
	 * warming up: see refused_adds_leave_nothing). */
	o = test_opts_of(base, 0, 1, 0);
	warming_up = true;
	REFUSED(mem, &o, SQUIB_E_INVALID_ARGUMENT, "size 0, slot in use", gpa(base));
	warming_up = false;
	REFUSED(mem, &o, SQUIB_E_INVALID_ARGUMENT, "size 0, slot in use", gpa(base));
	o = test_opts_of(base, p, 1, 0x800);
	REFUSED(mem, &o, SQUIB_E_INVALID_ARGUMENT, "unknown flag, slot in use, overlap",
		hex(0x800));
	o = test_opts_of(base + p, p, 1, SQUIB_REGION_FILE);
	o.fd = -1;
	REFUSED(mem, &o, SQUIB_E_INVALID_ARGUMENT, "fd -1, slot in use, overlap", "fd -1");
	o = test_opts_of(base + 1, p, 1, SQUIB_REGION_SHARED);
	REFUSED(mem, &o, SQUIB_E_INVALID_ARGUMENT, "unaligned SHARED, slot in use, overlap",
		gpa(base + 1));
	o = test_opts_of(base, 4 * p, 2, SQUIB_REGION_FILE);
	o.fd = fd;
	REFUSED(mem, &o, SQUIB_E_INVALID_ARGUMENT, "FILE past the end, overlap", dec(4 * p),
		dec(2 * p));
	/* INVALID_ARGUMENT before UNSUPPORTED. */
	memset(&ext, 0, sizeof(ext));
	ext.opts = test_opts_of(base + 16 * p, 0, 3, 0);
	ext.opts.sz = sizeof(ext);
	ext.tail[0] = 1;
	REFUSED(mem, &ext.opts, SQUIB_E_INVALID_ARGUMENT, "size 0 and a set tail",
		gpa(base + 16 * p));
	/* UNSUPPORTED before SLOT_IN_USE and OVERLAP. */
	ext.opts = test_opts_of(base, p, 1, 0);
	ext.opts.sz = sizeof(ext);
	REFUSED(mem, &ext.opts, SQUIB_E_UNSUPPORTED, "a set tail, slot in use, overlap",
		dec(sizeof(o)));
	/* SLOT_IN_USE before OVERLAP. */
	o = test_opts_of(base + p, p, 1, SQUIB_REGION_SHARED);
	REFUSED(mem, &o, SQUIB_E_SLOT_IN_USE, "slot in use, overlap", "slot 1", gpa(base));
	o = test_opts_of(base + 64 * p, p, 1, SQUIB_REGION_FILE);
	o.fd = fd;
	REFUSED(mem, &o, SQUIB_E_SLOT_IN_USE, "slot in use", "slot 1", gpa(base),
		gpa(base + 4 * p));
	/* OVERLAP, naming both ranges and the other slot. */
	o = test_opts_of(base + 3 * p, 2 * p, 2, SQUIB_REGION_FILE);
	o.fd = fd;
	REFUSED(mem, &o, SQUIB_E_OVERLAP, "overlap", "slot 1", gpa(base), gpa(base + 4 * p),
		gpa(base + 3 * p), gpa(base + 5 * p));
	o = test_opts_of(base - p, 2 * p, 2, SQUIB_REGION_SHARED);
	REFUSED(mem, &o, SQUIB_E_OVERLAP, "SHARED overlap", "slot 1", gpa(base - p));
	ck_assert_uint_eq(squib_mem_region_count(mem), 1);
	squib_mem_free(mem);
	ck_assert_int_eq(close(fd), 0);
}
END_TEST

static Suite *backing_suite(void)
{
	Suite *suite = suite_create("backing");
	TCase *file = tcase_create("file");
	TCase *rom = tcase_create("read_only");
	TCase *shared = tcase_create("shared");
	TCase *info = tcase_create("info");
	TCase *caller = tcase_create("caller_mapping");
	TCase *guards = tcase_create("guards");
	TCase *refusals = tcase_create("refusals");

	tcase_add_test(file, file_shared_reaches_the_file);
	tcase_add_test(file, file_private_never_reaches_the_file);

	tcase_add_test(rom, file_read_only);
	tcase_add_test(rom, rom_from_bytes);
	tcase_add_test(rom, rom_and_ram_interleaved);
	tcase_add_test(rom, read_only_empty_write);

	tcase_add_test(shared, shared_memfd_seen_by_another_process);
	tcase_add_test(shared, shared_memfd_sealed_and_sized);
	tcase_add_test(shared, shared_with_bytes);
	tcase_set_timeout(shared, 60);

	tcase_add_test(info, region_names);
	tcase_add_test(info, info_of_0_2_regions);

	tcase_add_test(caller, caller_mapping_used_as_is);
	tcase_add_test(caller, caller_file_mapping_keeps_a_dup);

	tcase_add_test(guards, guard_pages_around_library_mappings);
	tcase_set_timeout(guards, 60);

	tcase_add_test(refusals, refused_adds_leave_nothing);
	tcase_add_test(refusals, check_order);
	tcase_set_timeout(refusals, 240);

	suite_add_tcase(suite, file);
	suite_add_tcase(suite, rom);
	suite_add_tcase(suite, shared);
	suite_add_tcase(suite, info);
	suite_add_tcase(suite, caller);
	suite_add_tcase(suite, guards);
	suite_add_tcase(suite, refusals);
	return suite;
}

TEST_MAIN(backing_suite)
