/* SPDX-License-Identifier: MIT */
/*
 * Writes the generated seed inputs of fuzz/corpus/, one per contract rule,
 * in the byte format of ops.h; or, with --check, verifies that a directory
 * holds exactly these bytes for each of them (the ctest test
 * fuzz_corpus_fresh). Files named regress-* are reproducers saved by hand
 * and are neither written nor checked here.
 *
 *   fuzz_gen_corpus fuzz/corpus             (re)write the seeds
 *   fuzz_gen_corpus --check fuzz/corpus     exit 1 if any differs or is missing
 *   fuzz_gen_corpus --pending fuzz/pending  (re)write the reproducers of
 *                                           library bugs not fixed yet
 *
 * To add a seed: write a function below with the encoders, list it in
 * seeds[], run the first command and commit the new file.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"

#define RW 3u /* SQUIB_PROT_RW, spelled out: this program does not link the library */

struct enc {
	uint8_t bytes[8192];
	size_t len;
};

static void put8(struct enc *e, unsigned value)
{
	if (e->len == sizeof(e->bytes) || value > 0xff) {
		fprintf(stderr, "gen_corpus: seed too long or byte out of range\n");
		exit(2);
	}
	e->bytes[e->len++] = (uint8_t)value;
}

static void put16(struct enc *e, uint64_t value)
{
	put8(e, (unsigned)(value & 0xff));
	put8(e, (unsigned)(value >> 8 & 0xff));
}

static void put32(struct enc *e, uint64_t value)
{
	put16(e, value & 0xffff);
	put16(e, value >> 16 & 0xffff);
}

static void put64(struct enc *e, uint64_t value)
{
	put32(e, value & 0xffffffffu);
	put32(e, value >> 32);
}

static void fail(const char *what, uint64_t value)
{
	fprintf(stderr, "gen_corpus: cannot encode %s %" PRIu64 "\n", what, value);
	exit(2);
}

/* ---- fields --------------------------------------------------------------- */

static void slot_raw(struct enc *e, uint32_t slot)
{
	put8(e, SLOT_RAW);
	put32(e, slot);
}

/* An exact size: 0, 1 .. 65536, 56 .. 71 pages, UINT64_MAX - v for v <
 * 16, or 2^(48 + v % 16) + v for 16 <= v < 256. */
static void size_exact(struct enc *e, uint64_t size)
{
	if (size % 4096 == 0 && size / 4096 >= 56 && size / 4096 < 72) {
		put8(e, SIZE_LARGE);
		put8(e, (unsigned)(size / 4096 - 56));
		return;
	}
	for (unsigned v = 16; v < 256; v++) {
		if (size == ((uint64_t)1 << (48 + v % 16)) + v) {
			put8(e, SIZE_HUGE);
			put8(e, v);
			return;
		}
	}
	if (size == 0) {
		put8(e, SIZE_ZERO);
	} else if (size <= 65536) {
		put8(e, SIZE_SMALL);
		put16(e, size - 1);
	} else if (size > UINT64_MAX - 16) {
		put8(e, SIZE_HUGE);
		put8(e, (unsigned)(UINT64_MAX - size));
	} else {
		fail("size", size);
	}
}

static void prot(struct enc *e, uint32_t bits)
{
	if (bits <= 7) {
		put8(e, bits);
	} else {
		put8(e, 0xff);
		put32(e, bits);
	}
}

/* Any address, relative to no region (the target byte is still read). */
static void addr_raw(struct enc *e, uint64_t addr)
{
	put8(e, 0); /* target */
	put8(e, ADDR_RAW);
	put64(e, addr);
}

/* An exact length: 0, 1 .. 8, 9 .. 65535, UINT64_MAX - v (v < 16), 2^k. */
static void len_exact(struct enc *e, uint64_t len)
{
	if (len == 0) {
		put8(e, LEN_ZERO);
	} else if (len <= 8) {
		put8(e, LEN_TINY);
		put8(e, (unsigned)(len - 1));
	} else if (len <= 65535) {
		put8(e, LEN_SMALL);
		put16(e, len);
	} else if (len > UINT64_MAX - 16) {
		put8(e, LEN_HUGE);
		put8(e, (unsigned)(UINT64_MAX - len));
	} else if ((len & (len - 1)) == 0) {
		unsigned k = 0;

		while (((uint64_t)1 << k) != len)
			k++;
		put8(e, LEN_POW2);
		put8(e, k);
	} else {
		fail("len", len);
	}
}

/* ---- operations ----------------------------------------------------------- */

static void add(struct enc *e, uint32_t slot, uint64_t base, uint64_t size, uint32_t bits)
{
	put8(e, OP_ADD);
	slot_raw(e, slot);
	size_exact(e, size);
	put8(e, BASE_RAW);
	put64(e, base);
	prot(e, bits);
}

/* flags 0: bytes NULL; seed picks the contents. */
static void add_bytes(struct enc *e, uint32_t slot, uint64_t base, uint64_t size, unsigned flags,
		      unsigned seed)
{
	put8(e, OP_ADD_BYTES);
	slot_raw(e, slot);
	size_exact(e, size);
	put8(e, BASE_RAW);
	put64(e, base);
	prot(e, RW);
	put8(e, flags);
	put8(e, seed);
}

/* An add whose base is given by a mode of ops.h relative to target t. */
static void add_rel(struct enc *e, uint32_t slot, uint64_t size, unsigned base_mode, unsigned t,
		    unsigned extra)
{
	put8(e, OP_ADD);
	slot_raw(e, slot);
	size_exact(e, size);
	put8(e, base_mode);
	switch (base_mode) {
	case BASE_AFTER:
	case BASE_BEFORE:
		put8(e, t);
		break;
	case BASE_INSIDE:
		put8(e, t);
		put16(e, extra);
		break;
	case BASE_NEAR:
	case BASE_GAP:
		put8(e, t);
		put8(e, extra);
		break;
	case BASE_WRAP:
	case BASE_REMOVED:
		put8(e, extra);
		break;
	default: /* BASE_TOP */
		break;
	}
	prot(e, RW);
}

static void remove_slot(struct enc *e, uint32_t slot)
{
	put8(e, OP_REMOVE);
	slot_raw(e, slot);
}

/* buf_null: pass NULL as the buffer. */
static void read_at(struct enc *e, uint64_t addr, uint64_t len, bool buf_null)
{
	put8(e, OP_READ);
	addr_raw(e, addr);
	len_exact(e, len);
	put8(e, buf_null ? 0 : 1);
}

static void write_at(struct enc *e, uint64_t addr, uint64_t len, bool buf_null, unsigned seed)
{
	put8(e, OP_WRITE);
	addr_raw(e, addr);
	len_exact(e, len);
	put8(e, buf_null ? 0 : 1);
	put8(e, seed);
}

/* A read or write given by modes relative to target t. */
static void access_rel(struct enc *e, bool write, unsigned t, unsigned addr_mode,
		       unsigned addr_extra, unsigned len_mode, unsigned len_extra)
{
	put8(e, write ? OP_WRITE : OP_READ);
	put8(e, t);
	put8(e, addr_mode);
	switch (addr_mode) {
	case ADDR_BASE:
	case ADDR_END:
		break;
	case ADDR_INSIDE:
	case ADDR_LOW:
		put16(e, addr_extra);
		break;
	default:
		put8(e, addr_extra);
		break;
	}
	put8(e, len_mode);
	if (len_mode == LEN_SMALL)
		put16(e, len_extra);
	else if (len_mode != LEN_ZERO && len_mode != LEN_FULL)
		put8(e, len_extra);
	put8(e, 1);
	if (write)
		put8(e, 0x5e);
}

static unsigned width_code(unsigned width)
{
	return width == 1 ? 0 : width == 2 ? 1 : width == 4 ? 2 : 3;
}

static void read_typed(struct enc *e, unsigned width, uint64_t addr, bool out_null)
{
	put8(e, OP_READ_TYPED);
	put8(e, width_code(width));
	addr_raw(e, addr);
	put8(e, out_null ? 0 : 1);
}

static void write_typed(struct enc *e, unsigned width, uint64_t addr, uint64_t value)
{
	put8(e, OP_WRITE_TYPED);
	put8(e, width_code(width));
	addr_raw(e, addr);
	put64(e, value);
}

static void find(struct enc *e, uint64_t addr, unsigned info_mode)
{
	put8(e, OP_FIND);
	addr_raw(e, addr);
	put8(e, info_mode);
}

static void get(struct enc *e, uint32_t slot, unsigned info_mode)
{
	put8(e, OP_GET);
	slot_raw(e, slot);
	put8(e, info_mode);
}

/* stop/nest 0: never; value: index into the stop values of fuzz_mem.c. */
static void foreach (struct enc *e, unsigned stop, unsigned value, unsigned nest)
{
	put8(e, OP_FOREACH);
	put8(e, stop);
	put8(e, value);
	put8(e, nest);
}

static void simple(struct enc *e, unsigned op)
{
	put8(e, op);
}

static void probe(struct enc *e, unsigned which)
{
	put8(e, OP_PROBE);
	put8(e, which);
}

/* The file byte of ADD_OPTS: fd_offset in pages, and the fd's state. */
static unsigned file_mode(unsigned offset_pages, unsigned fd_mode)
{
	return fd_mode << 2 | (offset_pages & FILE_OFFSET);
}

/* squib_mem_add_region_opts; the fields as ops.h names them. */
static void add_opts(struct enc *e, uint32_t slot, uint64_t base, uint64_t size, uint32_t bits,
		     unsigned backing, unsigned oflags, unsigned extra, unsigned file,
		     unsigned shape, unsigned seed)
{
	put8(e, OP_ADD_OPTS);
	slot_raw(e, slot);
	size_exact(e, size);
	put8(e, BASE_RAW);
	put64(e, base);
	prot(e, bits);
	put8(e, backing);
	put8(e, oflags);
	put8(e, extra);
	put8(e, file);
	put8(e, shape);
	put8(e, seed);
}

/* The usual case: exact sz, no name, fd_offset 0, O_RDWR. */
static void add_backed(struct enc *e, uint32_t slot, uint64_t base, uint64_t size, unsigned backing,
		       unsigned oflags, unsigned seed)
{
	add_opts(e, slot, base, size, RW, backing, oflags, EXTRA_NONE, 0, 0, seed);
}

/* align: bit 0 rounds addr up to a page, bit 1 len down. */
static void discard_at(struct enc *e, uint64_t addr, uint64_t len, unsigned align)
{
	put8(e, OP_DISCARD);
	put8(e, 0); /* target */
	put8(e, align);
	put8(e, ADDR_RAW);
	put64(e, addr);
	len_exact(e, len);
}

/* HOST_RANGE; access is an ACCESS_ mode. */
static void host_range(struct enc *e, unsigned access, uint64_t addr, uint64_t len, bool host_null)
{
	put8(e, OP_HOST_RANGE);
	put8(e, access);
	addr_raw(e, addr);
	len_exact(e, len);
	put8(e, host_null ? 0 : 1);
}

/* TRANSLATE (pin false) or PIN; cap holds the CAP_ bits of ops.h. */
static void translate(struct enc *e, bool pin, unsigned access, uint64_t addr, uint64_t len,
		      unsigned cap, unsigned seed)
{
	put8(e, pin ? OP_PIN : OP_TRANSLATE);
	put8(e, access);
	addr_raw(e, addr);
	len_exact(e, len);
	put8(e, cap);
	put8(e, seed);
}

/* The CAP_INDEX of an iov_cap: 0, 1, 2, 3, 4, 8, 64, 72. */
static unsigned cap_of(unsigned iov_cap)
{
	static const unsigned caps[] = {0, 1, 2, 3, 4, 8, 64, 72};

	for (unsigned i = 0; i < 8; i++)
		if (caps[i] == iov_cap)
			return i;
	fail("iov_cap", iov_cap);
	return 0;
}

#define CAP_IOV_NULL 0x38u
#define CAP_USED_NULL 0x30u
#define CAP_PIN_NULL 0x28u

static void unpin(struct enc *e, unsigned index)
{
	put8(e, OP_UNPIN);
	put8(e, index);
}

/* seed & 1: write through the pin's iovecs (a WRITE pin). */
static void pin_io(struct enc *e, unsigned index, unsigned seed)
{
	put8(e, OP_PIN_IO);
	put8(e, index);
	put8(e, seed);
}

/* RING; kind is a RING_ mode. */
static void ring(struct enc *e, unsigned kind, uint64_t addr, bool out_null, uint64_t value)
{
	put8(e, OP_RING);
	put8(e, kind);
	addr_raw(e, addr);
	put8(e, out_null ? 0 : 1);
	put64(e, value);
}

/* LISTENER_ADD, the fields as ops.h names them: shape (LSHAPE_), the LCB_
 * callbacks (0: all), refuse (LCB_ bits, REFUSE_BY_CHANCE), when, the
 * ANSWER_, the SYNC_ mode, the PRNG seed, probe (0: never). */
static void listener_add(struct enc *e, unsigned shape, unsigned cbs, unsigned refuse,
			 unsigned when, unsigned answer, unsigned sync, unsigned seed,
			 unsigned probe)
{
	put8(e, OP_LISTENER_ADD);
	put8(e, shape);
	put8(e, cbs);
	put8(e, refuse);
	put8(e, when);
	put8(e, answer);
	put8(e, sync);
	put8(e, seed);
	put8(e, probe);
}

/* A listener with every callback that never refuses; sync picks what its
 * log_sync reports. */
static void listener_plain(struct enc *e, unsigned sync)
{
	listener_add(e, LSHAPE_SZ_EXACT | 0x10, 0, 0, 0, 0, sync, 1, 0);
}

/* The shape byte of a listener add with sz mode sz and no NULL. */
#define LSHAPE(sz) ((sz) | 0x10u)

static void listener_remove(struct enc *e, unsigned mode, unsigned index, uint64_t id)
{
	put8(e, OP_LISTENER_REMOVE);
	put8(e, mode);
	put8(e, index);
	if (mode == REMOVE_ID_RAW)
		put64(e, id);
}

/* same: the region's own prot (the decoded bits are then ignored). */
static void set_protection(struct enc *e, uint32_t slot, bool same, uint32_t bits)
{
	put8(e, OP_SET_PROTECTION);
	slot_raw(e, slot);
	put8(e, same ? 0 : 1);
	prot(e, bits);
}

static void set_dirty_log(struct enc *e, uint32_t slot, bool enable)
{
	put8(e, OP_SET_DIRTY_LOG);
	slot_raw(e, slot);
	put8(e, enable ? 1 : 0);
}

/* words: a DWORDS_ mode (DWORDS_MORE: needed + 1); flags: a DFLAGS_ one. */
static void get_dirty_log(struct enc *e, uint32_t slot, unsigned words, unsigned flags)
{
	put8(e, OP_GET_DIRTY_LOG);
	slot_raw(e, slot);
	put8(e, words);
	put8(e, flags);
}

static void mark_dirty(struct enc *e, uint64_t addr, uint64_t len)
{
	put8(e, OP_MARK_DIRTY);
	addr_raw(e, addr);
	len_exact(e, len);
}

/* ---- the seeds: one per contract rule -------------------------------------- */

/* The seed's slice_guest_memory_round_trips_typed_writes, and every width. */
static void seed_typed_roundtrip(struct enc *e)
{
	add(e, 0, 0x40000000, 0x1000, RW);
	write_typed(e, 4, 0x40000010, 0xdeadbeef);
	read_typed(e, 4, 0x40000010, false);
	write_typed(e, 2, 0x40000020, 0xabcd);
	read_typed(e, 2, 0x40000020, false);
	write_typed(e, 8, 0x40000030, 0x0102030405060708u);
	read_typed(e, 8, 0x40000030, false);
	read_typed(e, 1, 0x40000031, false);
	read_typed(e, 4, 0x40000033, false);		    /* unaligned */
	write_typed(e, 8, 0x40000ff9, 0x1122334455667788u); /* unaligned, ends at the end */
	read_typed(e, 8, 0x40000ff8, false);
	read_typed(e, 4, 0x40000010, true); /* out NULL */
	read_at(e, 0x40000000, 0x40, false);
}

/* The seed's rejects_below_base and rejects_straddling_top. */
static void seed_below_base_and_straddle_end(struct enc *e)
{
	add(e, 0, 0x40000000, 0x1000, RW);
	read_at(e, 0x3fffffff, 4, false);
	read_typed(e, 4, 0x3ffffffe, false);
	remove_slot(e, 0);
	add(e, 0, 0x40000000, 0x10, RW);
	read_at(e, 0x4000000c, 8, false);
	write_at(e, 0x4000000c, 8, false, 1);
	read_typed(e, 8, 0x4000000c, false);
	write_typed(e, 8, 0x40000009, 1);
	read_typed(e, 4, 0x4000000c, false); /* the last 4 bytes: fits */
	simple(e, OP_VERIFY);
}

/* The seed's rejects_overflow, and the top of the address space. */
static void seed_top_of_address_space(struct enc *e)
{
	add(e, 0, UINT64_MAX - 0x10, 0x10, RW);
	read_at(e, UINT64_MAX - 8, 0x100, false);
	read_at(e, UINT64_MAX - 8, 8, false); /* the last 8 bytes */
	read_at(e, UINT64_MAX - 8, 9, false); /* would need byte UINT64_MAX */
	read_at(e, UINT64_MAX, 0, false);     /* len 0 at the end */
	read_at(e, UINT64_MAX, 1, false);
	read_typed(e, 1, UINT64_MAX, false);
	read_typed(e, 8, UINT64_MAX - 7, false);
	write_typed(e, 8, UINT64_MAX - 8, 0xfeedfacecafebeefu);
	find(e, UINT64_MAX, INFO_EXACT);	    /* the end is not in the region */
	find(e, UINT64_MAX - 1, INFO_EXACT);	    /* the last byte is */
	add(e, 1, UINT64_MAX, 1, RW);		    /* would end at 2^64 */
	add(e, 1, UINT64_MAX - 0x20, 0x20, RW);	    /* overlaps */
	add(e, 1, UINT64_MAX - 0x20, 0x10, RW);	    /* adjacent below */
	read_at(e, UINT64_MAX - 0x18, 0x10, false); /* straddles the two */
	add_rel(e, 2, 16, BASE_WRAP, 0, 0);
	foreach (e, 0, 0, 0)
		;
	simple(e, OP_VERIFY);
}

/* Rule 3: addr + len past 2^64 is OUT_OF_RANGE, never a wrap. */
static void seed_len_wraps(struct enc *e)
{
	add(e, 0, 0x1000, 0x100, RW);
	read_at(e, 0x1008, UINT64_MAX - 7, false); /* wraps to 0x1000 */
	read_at(e, 0x1008, UINT64_MAX, false);
	write_at(e, 0x1008, UINT64_MAX - 7, false, 2);
	write_at(e, 0x1000, (uint64_t)1 << 63, false, 3);
	access_rel(e, false, 0, ADDR_BASE, 0, LEN_TO_2_64, 0);
	access_rel(e, false, 0, ADDR_BASE, 0, LEN_TO_2_64, 1);
	access_rel(e, true, 0, ADDR_INSIDE, 5, LEN_TO_2_64, 2);
	access_rel(e, false, 0, ADDR_BASE, 0, LEN_HUGE, 0);
	simple(e, OP_VERIFY);
}

/* Rule 2: a request across two adjacent regions fails. */
static void seed_straddle_adjacent(struct enc *e)
{
	add(e, 1, 0x1000, 0x1000, RW);
	add(e, 2, 0x2000, 0x1000, RW);
	write_at(e, 0x1ff0, 0x10, false, 4);
	write_at(e, 0x2000, 0x10, false, 5);
	read_at(e, 0x1ff8, 0x10, false);
	write_at(e, 0x1ff8, 0x10, false, 6);
	read_typed(e, 4, 0x1ffe, false);
	write_typed(e, 8, 0x1ffc, 0x1234);
	read_typed(e, 8, 0x1ff8, false);
	read_at(e, 0x2000, 0, false);
	read_at(e, 0x1000, 0x2000, false);
	access_rel(e, false, 0, ADDR_BASE, 0, LEN_TO_END, 2); /* one too many */
	access_rel(e, false, 0, ADDR_BASE, 0, LEN_TO_END, 1); /* exact */
	find(e, 0x2000, INFO_EXACT);
	find(e, 0x1fff, INFO_EXACT);
	simple(e, OP_VERIFY);
}

/* Rule 4: len 0 at the end succeeds; NULL buffers. */
static void seed_len_zero(struct enc *e)
{
	read_at(e, 0, 0, false); /* no region at all */
	add(e, 0, 0x1000, 0x10, RW);
	read_at(e, 0x1010, 0, false);
	read_at(e, 0x1010, 0, true);
	write_at(e, 0x1010, 0, true, 0);
	read_at(e, 0x1011, 0, false);
	read_at(e, 0x0fff, 0, true);
	read_at(e, 0x1000, 0, true);
	read_at(e, 0x1000, 1, true); /* NULL with len > 0 */
	write_at(e, 0x1000, 1, true, 0);
	read_at(e, 0x9000, 4, true); /* INVALID_ARGUMENT before OUT_OF_RANGE */
	access_rel(e, false, 0, ADDR_END, 0, LEN_ZERO, 0);
	access_rel(e, true, 0, ADDR_END, 0, LEN_ZERO, 0);
	access_rel(e, false, 0, ADDR_END, 0, LEN_TINY, 0);
}

/* The order of add's errors: INVALID_ARGUMENT, SLOT_IN_USE, OVERLAP, NO_MEMORY. */
static void seed_add_error_order(struct enc *e)
{
	add(e, 1, 0x10000, 0x1000, RW);
	add(e, 1, 0x10000, 0, RW);	     /* size 0 beats slot and overlap */
	add(e, 1, UINT64_MAX - 1, 0x10, RW); /* overflow beats slot */
	add(e, 1, 0x10000, 0x10, 0x8);	     /* unknown prot beats slot */
	add(e, 1, 0x10000, 0x10, 0x80000000u);
	add_bytes(e, 1, 0x10000, 0x10, 0, 0);			    /* NULL bytes beats slot */
	add(e, 1, 0x20000, 0x10, RW);				    /* slot in use, no overlap */
	add(e, 1, 0x10800, 0x10, RW);				    /* slot in use beats overlap */
	add(e, 2, 0x10800, 0x10, RW);				    /* overlap */
	add(e, 2, 0x0, UINT64_MAX - 0xf, RW);			    /* overlap beats no memory */
	add(e, 2, 0xfff0, ((uint64_t)1 << 60) + 60, RW);	    /* the same, 2^60 bytes */
	add(e, 2, (uint64_t)1 << 62, ((uint64_t)1 << 60) + 60, RW); /* NO_MEMORY */
	add(e, 1, (uint64_t)1 << 62, ((uint64_t)1 << 60) + 60, RW); /* SLOT_IN_USE first */
	add(e, 2, 0xf000, 0x1000, RW);				    /* adjacent below: fine */
	add(e, 3, 0x11000, 0x10, RW);				    /* adjacent above: fine */
	add(e, 4, 0xffff, 2, RW);      /* overlaps slot 2 by one byte */
	add(e, 4, 0x11010 - 1, 2, RW); /* overlaps slot 3 by one byte */
	add(e, 4, 0x20000, 0x10, 0xf);
	simple(e, OP_COUNT);
	foreach (e, 0, 0, 0)
		;
}

/* Removing, then touching what was there; reusing slots and places. */
static void seed_remove_then_access(struct enc *e)
{
	add(e, 7, 0x8000, 0x100, RW);
	write_at(e, 0x8000, 0x100, false, 9);
	remove_slot(e, 7);
	read_at(e, 0x8000, 1, false);
	read_at(e, 0x8000, 0, false);
	write_typed(e, 4, 0x8010, 5);
	find(e, 0x8000, INFO_EXACT);
	get(e, 7, INFO_EXACT);
	remove_slot(e, 7);
	add(e, 7, 0x8000, 0x100, RW); /* same slot, same place: zeros again */
	read_at(e, 0x8000, 0x100, false);
	put8(e, OP_ADD); /* slot 8 at the place just removed, from the history */
	slot_raw(e, 8);
	put8(e, SIZE_REMOVED);
	put8(e, 0);
	put8(e, BASE_REMOVED);
	put8(e, 0);
	prot(e, RW);
	remove_slot(e, 7);
	put8(e, OP_ADD); /* now it fits */
	slot_raw(e, 8);
	put8(e, SIZE_REMOVED);
	put8(e, 0);
	put8(e, BASE_REMOVED);
	put8(e, 0);
	prot(e, RW);
	put8(e, OP_REMOVE); /* the slot of the first removed region: gone again */
	put8(e, SLOT_REMOVED);
	put8(e, 0);
	simple(e, OP_VERIFY);
}

/* add_region_from_bytes: contents, NULL bytes, size 0, conflicts. */
static void seed_from_bytes(struct enc *e)
{
	add_bytes(e, 1, 0x3000, 0x40, 1, 17);
	read_at(e, 0x3000, 0x40, false);
	read_typed(e, 8, 0x3038, false);
	add_bytes(e, 2, 0x4000, 0x10, 0, 0); /* NULL bytes */
	add_bytes(e, 2, 0x4000, 0, 1, 0);    /* size 0 */
	add_bytes(e, 1, 0x4000, 0x10, 1, 0); /* slot in use */
	add_bytes(e, 2, 0x3020, 0x10, 1, 0); /* overlap */
	add_bytes(e, 2, 0x3040, 0x1000, 2, 99);
	add_bytes(e, 3, UINT64_MAX - 0x40, 0x40, 3, 5);
	write_at(e, 0x3040, 0x80, false, 4);
	simple(e, OP_VERIFY);
	foreach (e, 0, 0, 0)
		;
}

/* find (end excluded), get, foreach order and early stop, info sz rules. */
static void seed_find_get_foreach(struct enc *e)
{
	add(e, 30, 0x900000, 0x100, 1);
	add(e, 10, 0x100000, 0x100, 3);
	add(e, 20, 0x100100, 0x80, 7);
	find(e, 0x100000, INFO_EXACT);
	find(e, 0x1000ff, INFO_LARGE);
	find(e, 0x100100, INFO_EXACT); /* end of slot 10 is base of slot 20 */
	find(e, 0x100180, INFO_EXACT); /* end of slot 20: nothing */
	find(e, 0x9000ff, INFO_EXACT);
	find(e, 0x900100, INFO_EXACT);
	find(e, 0x100000, INFO_NULL);
	find(e, 0x100000, INFO_SHORT);
	find(e, 0x555555, INFO_ZERO); /* sz checked before the lookup */
	get(e, 10, INFO_EXACT);
	get(e, 20, INFO_LARGE);
	get(e, 30, INFO_SHORT);
	get(e, 40, INFO_EXACT);
	get(e, 40, INFO_NULL);
	foreach (e, 0, 0, 0)
		;
	foreach (e, 2, 3, 0)
		; /* stop at the second with 42 */
	foreach (e, 1, 7, 0)
		; /* stop at the first with -1 */
	foreach (e, 3, 5, 0)
		; /* INT_MAX at the last */
	foreach (e, 4, 0, 0)
		; /* never reached */
	simple(e, OP_COUNT);
}

/* foreach callbacks that remove, add and iterate again. */
static void seed_foreach_nested(struct enc *e)
{
	add(e, 1, 0x1000, 0x10, RW);
	add(e, 2, 0x2000, 0x10, RW);
	add(e, 3, 0x3000, 0x10, RW);
	foreach (e, 0, 0, 1)
		; /* at the first visit, remove slot 3: still visited */
	remove_slot(e, 3);
	foreach (e, 0, 0, 2)
		; /* at the second visit, add slot 4: not visited */
	add(e, 4, 0x500, 0x10, RW);
	foreach (e, 0, 0, 1)
		; /* a foreach inside a foreach */
	foreach (e, 2, 1, 1)
		;
	foreach (e, 0, 0, 1)
		;
	read_at(e, 0x2000, 0x10, false);
	simple(e, OP_COUNT);
}

/* NULL handles and callbacks. */
static void seed_null_arguments(struct enc *e)
{
	add(e, 0, 0x1000, 0x10, RW);
	for (unsigned which = 0; which < PROBE_MODES; which++)
		probe(e, which);
	simple(e, OP_VERIFY);
}

/* Regions laid end to end, taken out from the middle, put back by gap. */
static void seed_many_adjacent(struct enc *e)
{
	for (uint32_t i = 0; i < 40; i++)
		add(e, 100 + i, 0x100000 + 0x40 * (uint64_t)i, 0x40, RW);
	for (uint32_t i = 0; i < 39; i++)
		read_at(e, 0x100000 + 0x40 * (uint64_t)i + 0x3c, 8, false);
	for (uint32_t i = 0; i < 40; i += 3)
		write_typed(e, 4, 0x100000 + 0x40 * (uint64_t)i + 0x3c, i);
	for (uint32_t i = 5; i < 35; i += 4)
		remove_slot(e, 100 + i);
	for (uint32_t i = 0; i < 40; i++)
		find(e, 0x100000 + 0x40 * (uint64_t)i + 0x20, INFO_EXACT);
	/* Fill the hole after the 5th live region exactly, then miss by one. */
	add_rel(e, 200, 1, BASE_GAP, 4, 1);
	add_rel(e, 201, 1, BASE_GAP, 5, 2);
	add_rel(e, 202, 1, BASE_GAP, 6, 0);
	foreach (e, 0, 0, 0)
		;
	simple(e, OP_VERIFY);
}

/* Regions spread over the whole 64-bit space (the lookup index spans it). */
static void seed_sparse(struct enc *e)
{
	static const uint64_t bases[] = {0,
					 0x1000,
					 (uint64_t)1 << 20,
					 (uint64_t)1 << 32,
					 (uint64_t)1 << 40,
					 ((uint64_t)1 << 63) - 0x10,
					 (uint64_t)1 << 63,
					 UINT64_MAX - 0x1000};

	for (uint32_t i = 0; i < 8; i++)
		add(e, i, bases[i], 0x10, RW);
	for (uint32_t i = 0; i < 8; i++) {
		read_at(e, bases[i], 0x10, false);
		read_at(e, bases[i] + 0x10, 0, false);
		read_at(e, bases[i] + 0x10, 1, false);
		read_at(e, bases[i] - 1, 1, false);
		find(e, bases[i] + 0xf, INFO_EXACT);
	}
	read_at(e, ((uint64_t)1 << 63) - 8, 0x10, false); /* straddles two */
	remove_slot(e, 0);
	remove_slot(e, 7);
	read_at(e, 0x1000, 0x10, false);
	read_at(e, 0, 1, false);
	foreach (e, 0, 0, 0)
		;
	simple(e, OP_VERIFY);
}

/* Slots at the ends of uint32_t, reused again and again. */
static void seed_slots(struct enc *e)
{
	add(e, 0, 0x1000, 0x10, RW);
	add(e, UINT32_MAX, 0x2000, 0x10, RW);
	add(e, UINT32_MAX - 1, 0x3000, 0x10, RW);
	get(e, UINT32_MAX, INFO_EXACT);
	get(e, 0, INFO_EXACT);
	for (unsigned round = 0; round < 4; round++) {
		remove_slot(e, UINT32_MAX);
		add(e, UINT32_MAX, 0x2000 + 0x10 * (uint64_t)round, 0x10, RW);
		write_at(e, 0x2000 + 0x10 * (uint64_t)round, 0x10, false, round);
	}
	remove_slot(e, 12345);
	foreach (e, 0, 0, 0)
		;
	simple(e, OP_VERIFY);
}

/* Whole-region and partial bulk copies of a 64 KiB region. */
static void seed_bulk(struct enc *e)
{
	add(e, 0, 0x7ffff000, 0x10000, RW);
	access_rel(e, true, 0, ADDR_BASE, 0, LEN_FULL, 0);
	access_rel(e, false, 0, ADDR_BASE, 0, LEN_FULL, 0);
	access_rel(e, false, 0, ADDR_INSIDE, 0x1234, LEN_TO_END, 1);
	access_rel(e, true, 0, ADDR_END_MINUS, 3, LEN_TO_END, 1);
	access_rel(e, false, 0, ADDR_BELOW, 1, LEN_FULL, 0);
	access_rel(e, false, 0, ADDR_AROUND_END, 127, LEN_TINY, 0);
	simple(e, OP_VERIFY);
}

/* The fuzzer's first find (fuzz/corpus/regress-emptied-table-sentinel, which
 * decodes differently since ADD_OPTS and DISCARD were added): a table
 * emptied by removals must not find anything, at address 0 least of all. */
static void seed_emptied_table(struct enc *e)
{
	add(e, 0, 0x40000000, 0x1000, RW);
	write_typed(e, 4, 0x40000010, 0xdeadbeef);
	remove_slot(e, 0);
	find(e, 0, INFO_EXACT);
	read_at(e, 0, 1, false);
	read_at(e, 0, 0, false);
	read_typed(e, 1, 0, false);
	write_typed(e, 1, 0, 1);
	discard_at(e, 0, 0x1000, 0);
	add(e, 0xffffffffu, 0x2030, 0x10, RW);
	remove_slot(e, 0xffffffffu);
	find(e, 0, INFO_EXACT);
	simple(e, OP_COUNT);
}

#define PAGE 4096u /* the harness rounds to the host's page: 4 KiB here */

/* Every backing of squib_mem_add_region_opts, as it should be used: the
 * bytes each starts with, the file behind it, writes and reads. */
static void seed_opts_backings(struct enc *e)
{
	add_backed(e, 1, 0x100000, 2 * PAGE, BACKING_ANON, OFLAG_THP | OFLAG_DONTDUMP, 1);
	add_backed(e, 2, 0x110000, PAGE, BACKING_SHARED, 0, 2);
	add_backed(e, 3, 0x120000, 2 * PAGE, BACKING_SHARED, OFLAG_BYTES | OFLAG_PREFAULT, 3);
	add_opts(e, 4, 0x130000, 2 * PAGE, RW, BACKING_FILE_MEMFD, OFLAG_NAME, EXTRA_NONE,
		 file_mode(1, FILE_FD_RDWR), 0, 4);
	add_opts(e, 5, 0x140000, PAGE, RW, BACKING_FILE_TEMP, OFLAG_DONTFORK, EXTRA_NONE,
		 file_mode(2, FILE_FD_RDWR), SHAPE_NAME_SHORT, 5);
	add_opts(e, 6, 0x150000, 2 * PAGE, RW, BACKING_FILE_MEMFD, OFLAG_PRIVATE, EXTRA_NONE,
		 file_mode(0, FILE_FD_RDONLY), 0, 6);
	add_backed(e, 7, 0x160000, PAGE, BACKING_CALLER, OFLAG_PREFAULT | OFLAG_DONTDUMP, 7);
	add_opts(e, 8, 0x170000, 2 * PAGE, RW, BACKING_CALLER_FILE, 0, EXTRA_NONE,
		 file_mode(3, FILE_FD_RDWR), 0, 8);
	add_opts(e, 9, 0x180000, 0x100, RW, BACKING_ANON, OFLAG_BYTES, EXTRA_DIRTY_LOG, 0,
		 SHAPE_SZ & 2, 9); /* a larger sz, zero past the layout */
	for (uint64_t at = 0x100000; at <= 0x180000; at += 0x10000) {
		write_at(e, at + 0x10, 0x20, false, (unsigned)(at >> 16));
		write_typed(e, 8, at + 0xff8, at);
		read_at(e, at, 0x40, false);
		find(e, at + 1, INFO_EXACT);
		find(e, at + 1, INFO_0_2);
	}
	write_at(e, 0x130000 + PAGE - 4, 8, false, 10); /* across pages of a file */
	get(e, 4, INFO_LARGE);
	foreach (e, 0, 0, 0)
		;
	remove_slot(e, 6);
	remove_slot(e, 8);
	simple(e, OP_VERIFY);
}

/* Read-only regions: a zero one, a ROM, a read-only file. Every write
 * fails with READ_ONLY and changes nothing; reads work. */
static void seed_read_only(struct enc *e)
{
	add_backed(e, 1, 0x1000, 0x80, BACKING_ANON, OFLAG_READONLY, 0);
	add_backed(e, 2, 0x200000, PAGE, BACKING_ANON, OFLAG_READONLY | OFLAG_BYTES, 11);
	add_backed(e, 3, 0x210000, PAGE, BACKING_SHARED, OFLAG_READONLY | OFLAG_BYTES, 12);
	add_opts(e, 4, 0x220000, PAGE, RW, BACKING_FILE_MEMFD, OFLAG_READONLY, EXTRA_NONE,
		 file_mode(0, FILE_FD_RDONLY), 0, 13);
	add_opts(e, 5, 0x230000, PAGE, RW, BACKING_FILE_TEMP, OFLAG_READONLY | OFLAG_PRIVATE,
		 EXTRA_NONE, file_mode(1, FILE_FD_RDONLY), 0, 14);
	add(e, 6, 0x200000 + PAGE, PAGE, RW); /* writable, right above the ROM */
	for (uint64_t at = 0x200000; at <= 0x230000; at += 0x10000) {
		write_at(e, at, 16, false, 1);
		write_typed(e, 1, at + 3, 0xff);
		write_typed(e, 2, at + 6, 0xffff);
		write_typed(e, 4, at + 8, 0xffffffff);
		write_typed(e, 8, at + PAGE - 8, 0x0123456789abcdefu);
		read_at(e, at, 64, false);
		read_typed(e, 8, at + 8, false);
	}
	write_at(e, 0x1000, 0x80, false, 2);
	write_at(e, 0x1000, 0x81, false, 2);	       /* OUT_OF_RANGE before READ_ONLY */
	write_at(e, 0x1000, 1, true, 0);	       /* INVALID before READ_ONLY */
	write_at(e, 0x200000 + PAGE - 4, 8, false, 3); /* across ROM and RAM */
	write_at(e, 0x200000 + PAGE, 8, false, 3);     /* the RAM above: fine */
	discard_at(e, 0x200000, PAGE, 0);	       /* READ_ONLY */
	discard_at(e, 0x220000, PAGE, 0);
	simple(e, OP_VERIFY);
}

/* squib_mem_discard on each backing: zeros afterwards (in the file too,
 * for a shared one), and its errors. */
static void seed_discard(struct enc *e)
{
	add(e, 1, 0x10800, 4 * PAGE, RW); /* 0.2's, not page-aligned */
	add_backed(e, 2, 0x100000, 4 * PAGE, BACKING_SHARED, OFLAG_BYTES, 21);
	add_opts(e, 3, 0x200000, 4 * PAGE, RW, BACKING_FILE_TEMP, 0, EXTRA_NONE,
		 file_mode(0, FILE_FD_RDWR), 0, 22);
	add_opts(e, 4, 0x300000, 4 * PAGE, RW, BACKING_FILE_MEMFD, OFLAG_PRIVATE, EXTRA_NONE,
		 file_mode(1, FILE_FD_RDWR), 0, 23);
	add_backed(e, 5, 0x400000, 2 * PAGE, BACKING_CALLER, 0, 24);
	add_opts(e, 6, 0x500000, 2 * PAGE, RW, BACKING_ANON, OFLAG_BYTES | OFLAG_THP,
		 EXTRA_DIRTY_LOG, 0, 0, 25);
	write_at(e, 0x10800, 4 * PAGE, false, 26);
	write_at(e, 0x300000, 2 * PAGE, false, 27); /* private: the file keeps its bytes */
	discard_at(e, 0x11000, 2 * PAGE, 0);	    /* inside slot 1 */
	discard_at(e, 0x10800, PAGE, 0);	    /* not aligned */
	discard_at(e, 0x10800, PAGE, 1);	    /* rounded up: 0x11000 */
	discard_at(e, 0x14000, 2 * PAGE, 0);	    /* past slot 1's end */
	discard_at(e, 0x101000, PAGE, 0);
	discard_at(e, 0x100000, 4 * PAGE, 0);
	discard_at(e, 0x202000, 2 * PAGE, 0);
	discard_at(e, 0x300000, PAGE, 0);
	discard_at(e, 0x303000, PAGE + 17, 2); /* rounded down: a page */
	discard_at(e, 0x400000, PAGE, 0);      /* a caller's mapping: UNSUPPORTED */
	discard_at(e, 0x501000, PAGE, 0);
	discard_at(e, 0x501000, 0, 0);	/* len 0 where an empty access works */
	discard_at(e, 0x502000, 0, 0);	/* at the end: works too */
	discard_at(e, 0x503000, 0, 0);	/* past it: OUT_OF_RANGE */
	discard_at(e, 0x100000, 12, 0); /* len not aligned */
	discard_at(e, 0x100000, (uint64_t)1 << 40, 0);
	read_at(e, 0x11000, 2 * PAGE, false);
	write_at(e, 0x11000, 16, false, 28); /* discarded pages take writes again */
	probe(e, PROBE_DISCARD_NULL_MEM);
	simple(e, OP_VERIFY);
}

/* squib_mem_add_region_opts's refusals, in the contract's order:
 * INVALID_ARGUMENT, UNSUPPORTED, SLOT_IN_USE, OVERLAP, then host failures. */
static void seed_opts_refused(struct enc *e)
{
	add_backed(e, 1, 0x100000, PAGE, BACKING_ANON, 0, 0);
	/* Contradictions. */
	add_backed(e, 2, 0x200000, PAGE, BACKING_ANON, OFLAG_PRIVATE, 0);
	add_backed(e, 2, 0x200000, PAGE, BACKING_CALLER_FILE, OFLAG_PRIVATE, 0);
	add_opts(e, 2, 0x200000, PAGE, RW, BACKING_SHARED, 0, EXTRA_FILE, 0, 0, 0);
	add_opts(e, 2, 0x200000, PAGE, RW, BACKING_CALLER, 0, EXTRA_SHARED, 0, 0, 0);
	add_backed(e, 2, 0x200000, PAGE, BACKING_FILE_MEMFD, OFLAG_BYTES, 0);
	add_backed(e, 2, 0x200000, PAGE, BACKING_CALLER, OFLAG_BYTES, 0);
	add_opts(e, 2, 0x200000, PAGE, RW, BACKING_ANON, OFLAG_THP, EXTRA_HUGETLB, 0, 0, 0);
	add_opts(e, 2, 0x200000, PAGE, RW, BACKING_FILE_MEMFD, 0, EXTRA_HUGETLB, 0, 0, 0);
	add_opts(e, 2, 0x200000, PAGE, RW, BACKING_FILE_MEMFD, 0, EXTRA_NONE,
		 file_mode(0, FILE_FD_NEGATIVE), 0, 0);
	add_opts(e, 2, 0x200000, PAGE, RW, BACKING_ANON, 0, EXTRA_HUGETLB, 0, 0, 0); /* align */
	/* Alignment: the anonymous backing needs none, the others pages. */
	add_opts(e, 2, 0x200010, 0x30, RW, BACKING_SHARED, 0, EXTRA_NONE, 0, SHAPE_RAW_LAYOUT, 0);
	add_opts(e, 2, 0x200000, PAGE + 1, RW, BACKING_FILE_TEMP, 0, EXTRA_NONE, 0,
		 SHAPE_RAW_LAYOUT, 0);
	add_opts(e, 2, 0x200000, PAGE, RW, BACKING_FILE_MEMFD, 0, EXTRA_NONE,
		 file_mode(1, FILE_FD_MISALIGNED), 0, 0);
	add_opts(e, 2, 0x200000, PAGE, RW, BACKING_CALLER, 0, EXTRA_NONE, 0, SHAPE_HOST_MISALIGNED,
		 0);
	/* The file: not open, not readable, read-only for a shared writable
	 * mapping (fine for READONLY or PRIVATE), too short. */
	add_opts(e, 2, 0x200000, PAGE, RW, BACKING_FILE_MEMFD, 0, EXTRA_NONE,
		 file_mode(0, FILE_FD_CLOSED), 0, 0);
	add_opts(e, 2, 0x200000, PAGE, RW, BACKING_FILE_MEMFD, 0, EXTRA_NONE,
		 file_mode(0, FILE_FD_WRONLY), 0, 0);
	add_opts(e, 2, 0x200000, PAGE, RW, BACKING_FILE_TEMP, 0, EXTRA_NONE,
		 file_mode(0, FILE_FD_RDONLY), 0, 0);
	add_opts(e, 2, 0x200000, 2 * PAGE, RW, BACKING_FILE_MEMFD, 0, EXTRA_NONE,
		 file_mode(2, FILE_FD_SHORT), 0, 0);
	add_opts(e, 2, 0x200000, PAGE, RW, BACKING_CALLER_FILE, 0, EXTRA_NONE,
		 file_mode(0, FILE_FD_CLOSED), 0, 0);
	/* The struct and unknown bits. */
	add_opts(e, 2, 0x200000, PAGE, RW, BACKING_ANON, 0, EXTRA_NONE, 0, 1, 0); /* sz short */
	add_opts(e, 2, 0x200000, PAGE, RW, BACKING_ANON, 0, EXTRA_NONE, 0, SHAPE_OPTS_NULL, 0);
	add_opts(e, 2, 0x200000, PAGE, RW, BACKING_ANON, 0, EXTRA_UNKNOWN, 0, 0, 0);
	add_opts(e, 2, 0x200000, PAGE, RW, BACKING_ANON, 0, EXTRA_TOP, 0, 0, 0);
	add_opts(e, 2, 0x200000, PAGE, 0x8, BACKING_ANON, 0, EXTRA_NONE, 0, 0, 0);
	add_opts(e, 2, 0x200000, 0, RW, BACKING_SHARED, 0, EXTRA_NONE, 0, 0, 0);
	/* INVALID beats UNSUPPORTED beats SLOT_IN_USE beats OVERLAP. */
	add_opts(e, 1, 0x100000, PAGE, RW, BACKING_ANON, OFLAG_PRIVATE, EXTRA_NONE, 0, 3, 0);
	add_opts(e, 1, 0x100000, PAGE, RW, BACKING_ANON, 0, EXTRA_NONE, 0, 3, 7);
	add_opts(e, 1, 0x100000, PAGE, RW, BACKING_SHARED, 0, EXTRA_NONE, 0, 0, 0);
	add_opts(e, 2, 0x100000, PAGE, RW, BACKING_FILE_TEMP, 0, EXTRA_NONE, 0, 0, 0);
	add_opts(e, 2, 0x0, ((uint64_t)1 << 60) + 60, RW, BACKING_SHARED, 0, EXTRA_NONE, 0, 0, 0);
	add_opts(e, 2, (uint64_t)1 << 62, ((uint64_t)1 << 60) + 60, RW, BACKING_SHARED, 0,
		 EXTRA_NONE, 0, 0, 0); /* NO_MEMORY */
	/* Accepted on purpose: READONLY with bytes (a ROM), bytes with SHARED,
	 * PRIVATE of a read-only fd, a larger sz with zeros past the layout. */
	add_backed(e, 2, 0x200000, PAGE, BACKING_ANON, OFLAG_READONLY | OFLAG_BYTES, 1);
	add_backed(e, 3, 0x300000, PAGE, BACKING_SHARED, OFLAG_BYTES, 2);
	add_opts(e, 4, 0x400000, PAGE, RW, BACKING_FILE_TEMP, OFLAG_PRIVATE, EXTRA_NONE,
		 file_mode(0, FILE_FD_RDONLY), 2, 3);
	add_opts(e, 5, 0x500000, 0x11, RW, BACKING_ANON, 0, EXTRA_NONE, 0, 2, 0);
	probe(e, PROBE_ADD_OPTS_NULL_MEM);
	probe(e, PROBE_ADD_OPTS_NULL_OPTS);
	foreach (e, 0, 0, 0)
		;
	simple(e, OP_VERIFY);
}

/* An empty write succeeds where an empty access does (0.2's rule 4; the
 * contract says so of the empty translation for writing and the empty
 * discard), read-only region or not: also at the end of a writable region
 * that a read-only one follows, where the lookup finds the read-only one.
 * (Found by the fuzzer: the library answered READ_ONLY there.) */
static void seed_empty_write_read_only(struct enc *e)
{
	add(e, 1, 0x1000, PAGE, RW);
	add_backed(e, 2, 0x2000, PAGE, BACKING_ANON, OFLAG_READONLY | OFLAG_BYTES, 1);
	write_at(e, 0x1000, 0, false, 0); /* slot 1's base: OK */
	write_at(e, 0x2000, 0, false, 0); /* slot 1's end, slot 2's base */
	write_at(e, 0x2800, 0, false, 0); /* inside the read-only slot 2 */
	write_at(e, 0x3000, 0, true, 0);  /* slot 2's end, NULL buffer */
	discard_at(e, 0x2000, 0, 0);	  /* what discard answers: OK */
	simple(e, OP_VERIFY);
}

/* squib_mem_host_range: one region, access bits, READ_ONLY, len 0, and
 * the check order (INVALID_ARGUMENT, OUT_OF_RANGE, READ_ONLY). */
static void seed_host_range(struct enc *e)
{
	add_bytes(e, 1, 0x10000, PAGE, 1, 31);
	add_backed(e, 2, 0x10000 + PAGE, PAGE, BACKING_ANON, OFLAG_READONLY | OFLAG_BYTES, 32);
	add_backed(e, 3, 0x20000, PAGE, BACKING_SHARED, OFLAG_BYTES, 33);
	host_range(e, ACCESS_READ, 0x10000, 16, false);
	host_range(e, ACCESS_RW, 0x10010, PAGE - 0x10, false);	   /* to the end exactly */
	host_range(e, ACCESS_RW, 0x10010, PAGE - 0xf, false);	   /* one past: OUT_OF_RANGE */
	host_range(e, ACCESS_READ, 0x10000 + PAGE - 8, 16, false); /* across two regions */
	host_range(e, ACCESS_READ, 0x10000 + PAGE + 8, 8, false);  /* a ROM for reading */
	host_range(e, ACCESS_WRITE, 0x10000 + PAGE + 8, 8, false); /* READ_ONLY */
	host_range(e, ACCESS_RW, 0x10000 + PAGE, PAGE, false);	   /* READ_ONLY */
	host_range(e, ACCESS_WRITE, 0x20000, PAGE, false);
	host_range(e, ACCESS_READ, 0x10000, 0, false);		  /* len 0 at the base */
	host_range(e, ACCESS_READ, 0x20000 + PAGE, 0, false);	  /* len 0 at the end */
	host_range(e, ACCESS_READ, 0x20000 + PAGE + 1, 0, false); /* past it */
	host_range(e, ACCESS_NONE, 0x10000, 8, false);
	host_range(e, ACCESS_EXEC, 0x10000, 8, false);
	host_range(e, ACCESS_READ_EXEC, 0x10000, 8, false);
	host_range(e, ACCESS_HIGH, 0x10000, 8, false);
	host_range(e, ACCESS_READ, 0x10000, 8, true);	/* host NULL */
	host_range(e, ACCESS_NONE, 0x900000, 8, false); /* INVALID before OUT_OF_RANGE */
	host_range(e, ACCESS_WRITE, 0x10000 + PAGE, PAGE + 1, false); /* OUT_OF_RANGE first */
	host_range(e, ACCESS_READ, 0x10000, UINT64_MAX, false);	      /* the end overflows */
	host_range(e, ACCESS_READ, UINT64_MAX, 1, false);
	write_at(e, 0x10020, 16, false, 34);
	host_range(e, ACCESS_READ, 0x10018, 32, false); /* the write shows */
	probe(e, PROBE_HOST_RANGE_NULL_MEM);
}

/* squib_mem_translate: the split over GPA-adjacent regions, iov_cap,
 * holes, READ_ONLY, len 0, and the order INVALID_ARGUMENT, OUT_OF_RANGE,
 * READ_ONLY, NO_SPACE; writes through the iovecs show in reads. */
static void seed_translate(struct enc *e)
{
	add(e, 1, 0x100000, PAGE, RW);
	add_backed(e, 2, 0x100000 + PAGE, PAGE, BACKING_SHARED, OFLAG_BYTES, 41);
	add_backed(e, 3, 0x100000 + 2 * PAGE, PAGE, BACKING_ANON, OFLAG_READONLY | OFLAG_BYTES, 42);
	/* a hole of a page, then one more */
	add_bytes(e, 4, 0x100000 + 4 * PAGE, 0x100, 1, 43);
	translate(e, false, ACCESS_READ, 0x100010, 0x20, cap_of(1), 0);
	translate(e, false, ACCESS_RW, 0x100000 + PAGE - 8, 16, cap_of(1), 0); /* NO_SPACE */
	translate(e, false, ACCESS_RW, 0x100000 + PAGE - 8, 16, cap_of(2) | CAP_WRITE, 44);
	read_at(e, 0x100000 + PAGE - 8, 8, false);
	read_at(e, 0x100000 + PAGE, 8, false);
	translate(e, false, ACCESS_READ, 0x100800, 2 * PAGE, cap_of(3), 0);
	translate(e, false, ACCESS_READ, 0x100800, 2 * PAGE, cap_of(2), 0); /* NO_SPACE */
	translate(e, false, ACCESS_READ, 0x100000, 3 * PAGE, cap_of(72), 0);
	translate(e, false, ACCESS_WRITE, 0x100800, 2 * PAGE, cap_of(3), 0); /* READ_ONLY */
	translate(e, false, ACCESS_WRITE, 0x100800, 2 * PAGE, cap_of(1), 0); /* before NO_SPACE */
	translate(e, false, ACCESS_READ, 0x100000, 3 * PAGE + 1, cap_of(8), 0);	 /* a hole */
	translate(e, false, ACCESS_WRITE, 0x100000, 3 * PAGE + 1, cap_of(8), 0); /* OOR first */
	translate(e, false, ACCESS_READ, 0x100000 + 3 * PAGE, 4, cap_of(8), 0); /* unmapped start */
	translate(e, false, ACCESS_READ, 0x100000 + 4 * PAGE, 0x100, cap_of(1) | CAP_WRITE, 45);
	translate(e, false, ACCESS_RW, 0x100000 + 4 * PAGE, 0x100, cap_of(1) | CAP_WRITE, 45);
	translate(e, false, ACCESS_RW, 0x100000 + 4 * PAGE, 0x101, cap_of(1), 0);
	translate(e, false, ACCESS_READ, 0x100000, UINT64_MAX, cap_of(8), 0); /* overflow */
	translate(e, false, ACCESS_READ, 0x100000, 0, CAP_IOV_NULL, 0);	      /* len 0, NULL, 0 */
	translate(e, false, ACCESS_WRITE, 0x100000 + 3 * PAGE, 0, cap_of(0), 0);    /* at an end */
	translate(e, false, ACCESS_READ, 0x100000 + 3 * PAGE + 1, 0, cap_of(4), 0); /* OOR */
	translate(e, false, ACCESS_READ, 0x100000, 8, cap_of(0), 0);		    /* NO_SPACE */
	translate(e, false, ACCESS_READ, 0x100000, 8, CAP_IOV_NULL, 0); /* cap 0: NO_SPACE */
	translate(e, false, ACCESS_READ, 0x100000, 8, CAP_IOV_NULL | cap_of(1), 0); /* INVALID */
	translate(e, false, ACCESS_READ, 0x100000, 8, CAP_USED_NULL | cap_of(1), 0);
	translate(e, false, ACCESS_NONE, 0x900000, 8, cap_of(1), 0); /* INVALID before OOR */
	translate(e, false, ACCESS_EXEC, 0x100000, 8, cap_of(1), 0);
	translate(e, false, ACCESS_HIGH, 0x100000, 8, cap_of(1), 0);
	/* Eight adjacent regions in one translation, then iov_cap one short. */
	for (unsigned i = 0; i < 8; i++)
		add(e, 10 + i, 0x200000 + 0x40 * i, 0x40, RW);
	translate(e, false, ACCESS_RW, 0x200010, 0x1e0, cap_of(8) | CAP_WRITE, 46);
	translate(e, false, ACCESS_RW, 0x200000, 0x200, cap_of(4), 0);
	read_at(e, 0x200000, 0x40, false);
	probe(e, PROBE_TRANSLATE_NULL_MEM);
	simple(e, OP_VERIFY);
}

/* Pins: translate plus a promise. A pinned region removed still shows
 * its last bytes through the pin and takes writes, while the guest range
 * is gone; pins end by UNPIN, before squib_mem_free, or after it. */
static void seed_pins(struct enc *e)
{
	unpin(e, 0); /* none yet: squib_mem_unpin(NULL) */
	pin_io(e, 0, 0);
	add_bytes(e, 1, 0x100000, PAGE, 1, 51);
	add_backed(e, 2, 0x100000 + PAGE, PAGE, BACKING_SHARED, OFLAG_BYTES, 52);
	add_opts(e, 3, 0x200000, PAGE, RW, BACKING_FILE_MEMFD, 0, EXTRA_NONE,
		 file_mode(1, FILE_FD_RDWR), 0, 53);
	add_backed(e, 4, 0x300000, PAGE, BACKING_CALLER, 0, 54);
	add_backed(e, 5, 0x400000, PAGE, BACKING_ANON, OFLAG_READONLY | OFLAG_BYTES, 55);
	/* pin 0: across slots 1 and 2, for writing */
	translate(e, true, ACCESS_RW, 0x100800, PAGE, cap_of(2) | CAP_WRITE, 56);
	remove_slot(e, 2);
	read_at(e, 0x100000 + PAGE, 8, false); /* gone for the guest */
	write_at(e, 0x100000 + PAGE, 8, false, 57);
	pin_io(e, 0, 0);		      /* the last bytes before the removal */
	pin_io(e, 0, 59);		      /* and still writable */
	add(e, 2, 0x100000 + PAGE, PAGE, RW); /* the same place again: new memory */
	read_at(e, 0x100000 + PAGE, 16, false);
	pin_io(e, 0, 61);
	read_at(e, 0x100800, 16, false);
	/* pin 1: a file region, kept past squib_mem_free; pin 2: the ROM,
	 * for reading; pin 3: length 0; pin 4: the caller's mapping */
	translate(e, true, ACCESS_WRITE, 0x200100, 0x100, cap_of(1) | CAP_WRITE | CAP_KEEP, 62);
	translate(e, true, ACCESS_READ, 0x400000, PAGE, cap_of(1) | CAP_KEEP, 0);
	translate(e, true, ACCESS_READ, 0x400000 + PAGE, 0, CAP_IOV_NULL, 0);
	translate(e, true, ACCESS_RW, 0x300000, PAGE, cap_of(4), 0);
	remove_slot(e, 3);
	remove_slot(e, 4);
	pin_io(e, 1, 63);
	pin_io(e, 4, 65);
	unpin(e, 4);
	unpin(e, 0);
	/* Refused: no pin is made. */
	translate(e, true, ACCESS_WRITE, 0x400000, 8, cap_of(1), 0); /* READ_ONLY */
	translate(e, true, ACCESS_READ, 0x900000, 8, cap_of(1), 0);  /* OUT_OF_RANGE */
	translate(e, true, ACCESS_READ, 0x100000, 8, cap_of(0), 0);  /* NO_SPACE */
	translate(e, true, ACCESS_READ, 0x100000, 8, CAP_PIN_NULL | cap_of(1), 0);
	translate(e, true, ACCESS_READ, 0x100000, 8, CAP_USED_NULL | cap_of(1), 0);
	translate(e, true, ACCESS_NONE, 0x100000, 8, cap_of(1), 0);
	probe(e, PROBE_PIN_NULL_MEM);
	probe(e, PROBE_UNPIN_NULL);
	/* More than the harness keeps: the ninth ends at once. */
	for (unsigned i = 0; i < 7; i++)
		translate(e, true, ACCESS_READ, 0x100000 + 8 * i, 8,
			  cap_of(1) | (i & 1 ? CAP_KEEP : 0), 0);
	simple(e, OP_VERIFY);
	remove_slot(e, 1); /* pinned by several, some kept past free */
}

/* The ring atomics: alignment, bounds as read, READ_ONLY for stores,
 * little-endian values. */
static void seed_ring(struct enc *e)
{
	add(e, 1, 0x1000, 0x100, RW);
	add_backed(e, 2, 0x2000, PAGE, BACKING_ANON, OFLAG_READONLY | OFLAG_BYTES, 71);
	add(e, 3, 0x1100, 0x100, RW); /* adjacent above slot 1 */
	ring(e, RING_STORE_16, 0x1000, false, 0xbeef);
	ring(e, RING_LOAD_16, 0x1000, false, 0);
	read_typed(e, 2, 0x1000, false);
	ring(e, RING_STORE_32, 0x1004, false, 0xdeadbeef);
	ring(e, RING_LOAD_32, 0x1004, false, 0);
	ring(e, RING_STORE_64, 0x1008, false, 0x0123456789abcdefu);
	ring(e, RING_LOAD_64, 0x1008, false, 0);
	read_at(e, 0x1000, 16, false);
	write_typed(e, 8, 0x1010, 0xfedcba9876543210u);
	ring(e, RING_LOAD_64, 0x1010, false, 0);
	ring(e, RING_LOAD_16, 0x1012, false, 0);
	ring(e, RING_LOAD_32, 0x1014, false, 0);
	/* Unaligned: INVALID_ARGUMENT, also where the bytes are inside. */
	ring(e, RING_LOAD_16, 0x1001, false, 0);
	ring(e, RING_LOAD_32, 0x1002, false, 0);
	ring(e, RING_LOAD_64, 0x1004, false, 0);
	ring(e, RING_STORE_16, 0x1003, false, 1);
	ring(e, RING_STORE_32, 0x1006, false, 1);
	ring(e, RING_STORE_64, 0x100c, false, 1);
	ring(e, RING_STORE_64, 0x900004, false, 1); /* unaligned beats out of range */
	/* At the end of a region, across two, past everything. */
	ring(e, RING_STORE_64, 0x10f8, false, 0x1122334455667788u);
	ring(e, RING_LOAD_64, 0x10f8, false, 0);
	ring(e, RING_LOAD_64, 0x1100, false, 0);
	ring(e, RING_STORE_16, 0x11fe, false, 0x55aa);
	ring(e, RING_LOAD_16, 0x1200, false, 0);
	ring(e, RING_STORE_32, 0x1200, false, 1);
	ring(e, RING_LOAD_64, UINT64_MAX - 7, false, 0);
	ring(e, RING_STORE_16, UINT64_MAX - 1, false, 1);
	/* The ROM: loads work, stores are READ_ONLY. */
	ring(e, RING_LOAD_32, 0x2010, false, 0);
	ring(e, RING_STORE_32, 0x2010, false, 1);
	ring(e, RING_STORE_64, 0x2ff8, false, 1);
	ring(e, RING_STORE_16, 0x2001, false, 1); /* INVALID before READ_ONLY */
	ring(e, RING_LOAD_16, 0x1000, true, 0);	  /* out NULL */
	ring(e, RING_LOAD_64, 0x900000, true, 0);
	probe(e, PROBE_LOAD_NULL_MEM);
	probe(e, PROBE_STORE_NULL_MEM);
	simple(e, OP_VERIFY);
}

/* An empty host range succeeds where an empty access does, for WRITE
 * too: on a read-only region it touches no byte (the contract's len 0
 * rule; the empty write and the empty translation for writing succeed
 * there). Also at the end of a writable region that a read-only one
 * follows. (Found by the fuzzer: the library answered READ_ONLY.) */
static void seed_empty_host_range_read_only(struct enc *e)
{
	add(e, 1, 0x1000, PAGE, RW);
	add_backed(e, 2, 0x2000, PAGE, BACKING_ANON, OFLAG_READONLY | OFLAG_BYTES, 1);
	translate(e, false, ACCESS_WRITE, 0x2800, 0, cap_of(0), 0); /* OK */
	write_at(e, 0x2800, 0, false, 0);			    /* OK */
	host_range(e, ACCESS_WRITE, 0x1800, 0, false);		    /* OK */
	host_range(e, ACCESS_WRITE, 0x2000, 0, false); /* slot 1's end, slot 2's base */
	host_range(e, ACCESS_RW, 0x2800, 0, false);    /* inside the read-only slot 2 */
	host_range(e, ACCESS_WRITE, 0x3000, 0, false); /* slot 2's end */
}

/* Listeners that accept everything: the replay of region_add in ascending
 * base order, region_add in registration order, region_del in reverse,
 * listener_remove's region_del in descending base order, unknown and
 * removed ids, the struct's sz rules, NULL arguments, NULL callbacks, and
 * mutating calls from inside callbacks (BUSY) next to reads (fine). */
static void seed_listeners(struct enc *e)
{
	add(e, 3, 0x30000, 0x100, RW);
	add(e, 1, 0x10000, 0x100, RW);
	add_opts(e, 2, 0x20000, PAGE, RW, BACKING_SHARED, OFLAG_NAME, EXTRA_NONE, 0, 0, 7);
	listener_plain(e, SYNC_NONE); /* replays slots 1, 2, 3 */
	add(e, 4, 0x40000, 0x100, RW);
	listener_add(e, LSHAPE(LSHAPE_SZ_LONG_ZERO), LCB_SOME | LCB_ADD | LCB_DEL, 0, 0, 0, 0, 0,
		     0);
	add_bytes(e, 5, 0x8000, 0x80, 1, 9); /* region_add: listener 1, then 2 */
	remove_slot(e, 3);		     /* region_del: listener 2, then 1 */
	listener_add(e, LSHAPE(LSHAPE_SZ_EXACT), LCB_SOME | LCB_PROTECT | LCB_DIRTY_LOG, 0, 0, 0, 0,
		     0, 0); /* no region_add: nothing to replay */
	set_protection(e, 1, false, 1);
	set_dirty_log(e, 2, true);
	listener_remove(e, REMOVE_ID_LIVE, 0, 0); /* region_del in descending base order */
	listener_remove(e, REMOVE_ID_REMOVED, 0, 0);
	listener_remove(e, REMOVE_ID_RAW, 0, 0x123456789abcdefu);
	listener_remove(e, REMOVE_ID_EDGE, 0, 0);
	listener_remove(e, REMOVE_ID_EDGE, 1, 0);
	listener_add(e, LSHAPE(LSHAPE_SZ_SHORT), 0, 0, 0, 0, 0, 0, 0);	   /* INVALID_ARGUMENT */
	listener_add(e, LSHAPE(LSHAPE_SZ_LONG_TAIL), 0, 0, 0, 0, 0, 5, 0); /* UNSUPPORTED */
	listener_add(e, LSHAPE_SZ_EXACT | LSHAPE_LISTENER_NULL << 3, 0, 0, 0, 0, 0, 0, 0);
	listener_add(e, LSHAPE_SZ_EXACT | LSHAPE_ID_NULL << 3, 0, 0, 0, 0, 0, 0, 0);
	listener_add(e, LSHAPE(LSHAPE_SZ_SHORT) & ~0xf8u, 0, 0, 0, 0, 0, 0, 0); /* NULL, short */
	/* Every call of this one tries a mutating call from inside: BUSY. */
	listener_add(e, LSHAPE(LSHAPE_SZ_EXACT), 0, 0, 0, 0, SYNC_ALL, 3, 1);
	add(e, 6, 0x60000, 0x100, RW);
	set_protection(e, 6, false, 5);
	set_dirty_log(e, 6, true);
	get_dirty_log(e, 6, DWORDS_NEEDED, DFLAGS_NONE);
	set_dirty_log(e, 6, false);
	remove_slot(e, 6);
	add(e, 7, 0x70000, 0x100, RW);
	remove_slot(e, 4);
	remove_slot(e, 7);
	listener_remove(e, REMOVE_ID_LIVE, 1, 0);
	probe(e, PROBE_LISTENER_ADD_NULL_MEM);
	probe(e, PROBE_LISTENER_REMOVE_NULL_MEM);
	simple(e, OP_VERIFY);
}

/* Listeners that refuse: a region_add refused by the second listener
 * (undone by region_del of the first; the table never saw the region),
 * a listener_add whose replay is refused (undone in reverse), statuses
 * returned as they are and positive answers taken as BUSY, refusals by
 * chance. */
static void seed_listener_veto(struct enc *e)
{
	add(e, 1, 0x10000, 0x100, RW);
	add(e, 2, 0x20000, 0x100, RW);
	add(e, 3, 0x30000, 0x100, RW);
	listener_plain(e, SYNC_NONE);
	/* refuses its third region_add with UNSUPPORTED: the replay of slot
	 * 3 fails, slots 2 and 1 get region_del, the listener is not added */
	listener_add(e, LSHAPE(LSHAPE_SZ_EXACT), 0, LCB_ADD, 3, ANSWER_UNSUPPORTED, 0, 0, 0);
	/* refuses its second region_add with 1: BUSY */
	listener_add(e, LSHAPE(LSHAPE_SZ_EXACT), 0, LCB_ADD, 5, ANSWER_ONE, 0, 0, 0);
	add(e, 4, 0x40000, 0x100, RW);
	add_bytes(e, 5, 0x50000, 0x100, 1, 3); /* refused: BUSY */
	read_at(e, 0x50000, 1, false);	       /* never visible */
	add_bytes(e, 5, 0x50000, 0x100, 1, 3); /* accepted this time */
	listener_add(e, LSHAPE(LSHAPE_SZ_EXACT), 0, LCB_ADD | LCB_PROTECT, 2, ANSWER_MINUS_100, 0,
		     0, 0);
	add_opts(e, 6, 0x60000, PAGE, RW, BACKING_SHARED, 0, EXTRA_NONE, 0, 0, 1);
	add_opts(e, 6, 0x60000, PAGE, RW, BACKING_SHARED, 0, EXTRA_NONE, 0, 0, 1); /* -100 */
	listener_add(e, LSHAPE(LSHAPE_SZ_EXACT), 0, LCB_ADD, 1, ANSWER_INT_MIN, 0, 0, 0);
	listener_add(e, LSHAPE(LSHAPE_SZ_EXACT), 0, LCB_ADD, 1, ANSWER_INT_MAX, 0, 0, 0);
	remove_slot(e, 2); /* region_del cannot refuse */
	/* one in four of its calls refuses, by its own PRNG (seed 5 lets the
	 * replay through) */
	listener_add(e, LSHAPE(LSHAPE_SZ_EXACT), 0,
		     REFUSE_BY_CHANCE | LCB_ADD | LCB_PROTECT | LCB_DIRTY_LOG | LCB_LOG_SYNC, 64,
		     ANSWER_IO, SYNC_RANDOM, 5, 0);
	for (unsigned i = 0; i < 6; i++) {
		add(e, 10 + i, 0x100000 + 0x1000 * i, 0x1000, RW);
		set_protection(e, 10 + i, false, 1 + i % 7);
		set_dirty_log(e, 10 + i, true);
		write_at(e, 0x100000 + 0x1000 * i, 16, false, i);
		get_dirty_log(e, 10 + i, DWORDS_NEEDED, DFLAGS_CLEAR);
	}
	for (unsigned i = 0; i < 6; i += 2)
		remove_slot(e, 10 + i);
	listener_remove(e, REMOVE_ID_LIVE, 0, 0);
	simple(e, OP_VERIFY);
}

/* set_protection: the listeners' protect in registration order, a refusal
 * undone in reverse with the states swapped; the same prot calls nobody;
 * unknown bits and slots; accesses unaffected. */
static void seed_set_protection(struct enc *e)
{
	add(e, 1, 0x10000, 0x100, RW);
	set_protection(e, 1, false, 1); /* no listener yet */
	read_at(e, 0x10000, 8, false);
	write_at(e, 0x10000, 8, false, 1); /* the guest's view only: still writable */
	listener_plain(e, SYNC_NONE);
	listener_plain(e, SYNC_NONE);
	/* refuses its first protect with READ_ONLY... */
	listener_add(e, LSHAPE(LSHAPE_SZ_EXACT), 0, LCB_PROTECT, 1, ANSWER_CORRUPT, 0, 0, 0);
	set_protection(e, 1, false, 7); /* ...undone by listeners 2, then 1 */
	get(e, 1, INFO_EXACT);		/* prot still 1 */
	set_protection(e, 1, false, 7); /* accepted */
	set_protection(e, 1, true, 0);	/* the same: nobody called */
	set_protection(e, 1, false, 0);
	set_protection(e, 1, false, 8);		  /* unknown bit */
	set_protection(e, 1, false, 0x80000003u); /* unknown bit */
	set_protection(e, 9, false, 1);		  /* NOT_FOUND */
	set_protection(e, 9, false, 0x10);	  /* INVALID_ARGUMENT first */
	foreach (e, 0, 0, 0)
		;
	probe(e, PROBE_SET_PROTECTION_NULL_MEM);
	simple(e, OP_VERIFY);
}

/* Dirty logging: a region added with DIRTY_LOG logs from the start; every
 * library write marks the 4 KiB pages it touches (write, typed, release
 * stores, discard, mark_dirty, unpin of a WRITE pin), reads and writes
 * through host pointers do not; get_dirty_log with and without CLEAR,
 * NO_SPACE, UNSUPPORTED, NOT_FOUND, unknown flags, NULL bitmap; a
 * two-word bitmap of an unaligned region; set_dirty_log on, off, again. */
static void seed_dirty_log(struct enc *e)
{
	add_opts(e, 1, 0x100000, 16 * PAGE, RW, BACKING_ANON, 0, EXTRA_DIRTY_LOG, 0, 0, 0);
	get(e, 1, INFO_EXACT); /* flags show DIRTY_LOG */
	get_dirty_log(e, 1, DWORDS_NEEDED, DFLAGS_NONE);
	write_at(e, 0x100ffe, 4, false, 1); /* pages 0 and 1 */
	write_typed(e, 8, 0x102ffc, 1);	    /* pages 2 and 3 */
	ring(e, RING_STORE_32, 0x104000, false, 1);
	read_at(e, 0x105000, 16, false);    /* a read marks nothing */
	write_at(e, 0x106000, 0, false, 1); /* nor an empty write */
	discard_at(e, 0x107000, 2 * PAGE, 0);
	mark_dirty(e, 0x10a000, 1);
	mark_dirty(e, 0x10b000, 0);
	mark_dirty(e, 0x10fff0, 0x20);						/* OUT_OF_RANGE */
	translate(e, false, ACCESS_RW, 0x10c000, 16, cap_of(1) | CAP_WRITE, 3); /* not marked */
	translate(e, true, ACCESS_RW, 0x10d000, PAGE + 1, cap_of(1) | CAP_WRITE, 4);
	get_dirty_log(e, 1, DWORDS_MORE, DFLAGS_NONE);
	unpin(e, 0); /* now pages 13 and 14 */
	get_dirty_log(e, 1, DWORDS_NEEDED, DFLAGS_CLEAR);
	get_dirty_log(e, 1, DWORDS_NEEDED, DFLAGS_NONE); /* all clear */
	get_dirty_log(e, 1, DWORDS_ZERO, DFLAGS_NONE);	 /* NO_SPACE */
	get_dirty_log(e, 1, DWORDS_NULL, DFLAGS_NONE);
	get_dirty_log(e, 1, DWORDS_NEEDED, DFLAGS_CLEAR_UNKNOWN);
	get_dirty_log(e, 1, DWORDS_NEEDED, DFLAGS_TOP);
	get_dirty_log(e, 9, DWORDS_NEEDED, DFLAGS_NONE); /* NOT_FOUND */
	/* 71 pages from an unaligned base: 72 pages touched, two words */
	add(e, 2, 0x200800, 71 * PAGE, RW);
	get_dirty_log(e, 2, DWORDS_NEEDED, DFLAGS_NONE); /* UNSUPPORTED */
	mark_dirty(e, 0x200800, 1);			 /* not logging: nothing */
	set_dirty_log(e, 2, true);
	set_dirty_log(e, 2, true); /* the same state: nobody called */
	write_at(e, 0x200800, 1, false, 5);
	write_at(e, 0x200800 + 63 * PAGE, 2 * PAGE, false, 6); /* pages 63 to 65 */
	write_typed(e, 1, 0x200800 + 71 * PAGE - 1, 7);	       /* the last byte, page 71 */
	get_dirty_log(e, 2, DWORDS_SHORT, DFLAGS_NONE);	       /* one word: NO_SPACE */
	get_dirty_log(e, 2, DWORDS_MORE, DFLAGS_CLEAR);
	write_at(e, 0x200800 + 40 * PAGE, 8, false, 8);
	set_dirty_log(e, 2, false);
	get_dirty_log(e, 2, DWORDS_NEEDED, DFLAGS_NONE); /* UNSUPPORTED */
	set_dirty_log(e, 2, true);			 /* every bit clear again */
	get_dirty_log(e, 2, DWORDS_NEEDED, DFLAGS_NONE);
	set_dirty_log(e, 9, true); /* NOT_FOUND */
	/* A read-only region logs too; its writes fail and mark nothing. */
	add_backed(e, 3, 0x300000, PAGE, BACKING_ANON, OFLAG_READONLY | OFLAG_BYTES, 9);
	set_dirty_log(e, 3, true);
	write_at(e, 0x300000, 8, false, 1);
	mark_dirty(e, 0x300000, 8);
	get_dirty_log(e, 3, DWORDS_NEEDED, DFLAGS_NONE);
	foreach (e, 0, 0, 0)
		;
	probe(e, PROBE_SET_DIRTY_LOG_NULL_MEM);
	probe(e, PROBE_GET_DIRTY_LOG_NULL_MEM);
	probe(e, PROBE_MARK_DIRTY_NULL_MEM);
	/* 2^60 bytes that log: NO_MEMORY (the library's bitmap alone would be
	 * 2^45 bytes; under ASan the harness has it return NULL, as malloc) */
	add_opts(e, 4, (uint64_t)1 << 62, ((uint64_t)1 << 60) + 60, RW, BACKING_ANON, 0,
		 EXTRA_DIRTY_LOG, 0, 0, 0);
	write_at(e, 0x200800 + 70 * PAGE, 8, false, 9); /* checked at the end */
}

/* Listeners and the dirty log: dirty_log calls (info.flags as they are
 * about to be), a refusal undone, log_sync reports ORed in and kept even
 * when one refuses (the call then fails, the bitmap unwritten), the
 * unpin of a WRITE pin in a region that logs by then. */
static void seed_dirty_listeners(struct enc *e)
{
	add(e, 1, 0x100000, 8 * PAGE, RW);
	add(e, 2, 0x200000, 70 * PAGE, RW);
	translate(e, true, ACCESS_WRITE, 0x100000, 2 * PAGE, cap_of(1) | CAP_WRITE, 1);
	listener_plain(e, SYNC_NONE);
	/* refuses its first dirty_log, then its second log_sync, with NO_MEMORY */
	listener_add(e, LSHAPE(LSHAPE_SZ_EXACT), 0, LCB_DIRTY_LOG, 1, ANSWER_NO_MEMORY, SYNC_ONE, 5,
		     0);
	set_dirty_log(e, 1, true);			 /* refused: undone for listener 1 */
	get_dirty_log(e, 1, DWORDS_NEEDED, DFLAGS_NONE); /* UNSUPPORTED */
	set_dirty_log(e, 1, true);
	unpin(e, 0); /* the region logs by now: pages 0 and 1 */
	get_dirty_log(e, 1, DWORDS_NEEDED, DFLAGS_NONE);
	listener_add(e, LSHAPE(LSHAPE_SZ_EXACT), LCB_SOME | LCB_LOG_SYNC, LCB_LOG_SYNC, 2,
		     ANSWER_SEVEN, SYNC_RANDOM, 11, 0);
	set_dirty_log(e, 2, true);
	get_dirty_log(e, 2, DWORDS_NEEDED, DFLAGS_CLEAR); /* all three report */
	get_dirty_log(e, 2, DWORDS_NEEDED, DFLAGS_CLEAR); /* the third refuses: BUSY */
	get_dirty_log(e, 2, DWORDS_NEEDED, DFLAGS_NONE);  /* what it reported is there */
	set_dirty_log(e, 2, false);
	listener_remove(e, REMOVE_ID_LIVE, 0, 0);
	get_dirty_log(e, 1, DWORDS_NEEDED, DFLAGS_CLEAR);
	remove_slot(e, 1);
	simple(e, OP_VERIFY);
}

struct seed {
	const char *name;
	void (*build)(struct enc *e);
};

static const struct seed seeds[] = {
    {"seed-typed-roundtrip", seed_typed_roundtrip},
    {"seed-below-base-straddle-end", seed_below_base_and_straddle_end},
    {"seed-top-of-address-space", seed_top_of_address_space},
    {"seed-len-wraps", seed_len_wraps},
    {"seed-straddle-adjacent", seed_straddle_adjacent},
    {"seed-len-zero", seed_len_zero},
    {"seed-add-error-order", seed_add_error_order},
    {"seed-remove-then-access", seed_remove_then_access},
    {"seed-from-bytes", seed_from_bytes},
    {"seed-find-get-foreach", seed_find_get_foreach},
    {"seed-foreach-nested", seed_foreach_nested},
    {"seed-null-arguments", seed_null_arguments},
    {"seed-many-adjacent", seed_many_adjacent},
    {"seed-sparse", seed_sparse},
    {"seed-slots", seed_slots},
    {"seed-bulk", seed_bulk},
    {"seed-emptied-table", seed_emptied_table},
    {"seed-opts-backings", seed_opts_backings},
    {"seed-read-only", seed_read_only},
    {"seed-discard", seed_discard},
    {"seed-opts-refused", seed_opts_refused},
    {"regress-empty-write-read-only", seed_empty_write_read_only},
    {"seed-host-range", seed_host_range},
    {"seed-translate", seed_translate},
    {"seed-pins", seed_pins},
    {"seed-ring", seed_ring},
    {"regress-empty-host-range-read-only", seed_empty_host_range_read_only},
    {"seed-listeners", seed_listeners},
    {"seed-listener-veto", seed_listener_veto},
    {"seed-set-protection", seed_set_protection},
    {"seed-dirty-log", seed_dirty_log},
    {"seed-dirty-listeners", seed_dirty_listeners},
};

/* Reproducers of library bugs not fixed yet: they fail fuzz_replay until
 * the fix lands, then move to seeds[] (fuzz/README.md). */
static const struct seed pending[] = {
    {NULL, NULL}, /* none today */
};

static char *path_of(const char *dir, const char *name)
{
	char *path = malloc(strlen(dir) + strlen(name) + 2);

	if (!path)
		exit(2);
	sprintf(path, "%s/%s", dir, name);
	return path;
}

static bool write_seed(const char *path, const struct enc *e)
{
	FILE *file = fopen(path, "wb");
	bool ok;

	if (!file)
		return false;
	ok = fwrite(e->bytes, 1, e->len, file) == e->len;
	return fclose(file) == 0 && ok;
}

static bool check_seed(const char *path, const struct enc *e)
{
	static uint8_t bytes[sizeof(e->bytes) + 1];
	FILE *file = fopen(path, "rb");
	size_t len;

	if (!file)
		return false;
	len = fread(bytes, 1, sizeof(bytes), file);
	fclose(file);
	return len == e->len && memcmp(bytes, e->bytes, len) == 0;
}

int main(int argc, char **argv)
{
	bool check = argc == 3 && strcmp(argv[1], "--check") == 0;
	bool pend = argc == 3 && strcmp(argv[1], "--pending") == 0;
	const char *dir = check || pend ? argv[2] : argv[1];
	const struct seed *list = pend ? pending : seeds;
	size_t count =
	    pend ? sizeof(pending) / sizeof(pending[0]) : sizeof(seeds) / sizeof(seeds[0]);
	int failed = 0;

	if (argc != (check || pend ? 3 : 2)) {
		fprintf(stderr, "usage: %s [--check | --pending] DIR\n", argv[0]);
		return 2;
	}
	for (size_t i = 0; i < count; i++) {
		struct enc e = {.len = 0};
		char *path;

		if (!list[i].name) /* the placeholder of an empty list */
			continue;
		path = path_of(dir, list[i].name);
		list[i].build(&e);
		if (check ? !check_seed(path, &e) : !write_seed(path, &e)) {
			fprintf(stderr, "gen_corpus: %s %s\n", path,
				check ? "is missing or differs from the generator: run "
					"fuzz_gen_corpus on the directory and commit it"
				      : "cannot be written");
			failed = 1;
		}
		free(path);
	}
	if (!failed)
		printf("gen_corpus: %zu %s %s\n", count, pend ? "pending reproducers" : "seeds",
		       check ? "match" : "written");
	return failed;
}
