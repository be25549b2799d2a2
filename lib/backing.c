/* SPDX-License-Identifier: MIT */
/* MAP_ANONYMOUS, MAP_NORESERVE, MAP_HUGETLB, MADV_*, memfd seals and
 * fallocate flags are not in ISO C. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "backing.h"
#include "dirty_log.h"
#include "error.h"
#include "host.h"
#include "platform.h"
#include "table.h"

#ifndef MAP_NORESERVE
#define MAP_NORESERVE 0 /* not every system has it; the mapping is still lazy */
#endif

uint64_t backing_host_page(void)
{
	long size = sysconf(_SC_PAGESIZE);

	return size > 0 ? (uint64_t)size : 4096u;
}

#if defined(__linux__)
/*
 * Calls on_line for each line of a /proc file until it returns false;
 * false when the file cannot be read. getline() rather than fgets():
 * lines of /proc/self/smaps have no useful bound, and the hardening check
 * (scripts/check.d/80-hardening.sh) wants no unfortified stdio call.
 */
static bool proc_lines(const char *path, bool (*on_line)(const char *line, void *ctx), void *ctx)
{
	FILE *file = fopen(path, "re");
	char *line = NULL;
	size_t capacity = 0;

	if (!file)
		return false;
	while (getline(&line, &capacity, file) >= 0 && on_line(line, ctx))
		;
	free(line);
	(void)fclose(file);
	return true;
}
#endif

#if PLATFORM_HAS_HUGETLB
/* An unsigned number at *at in base, which moves past it; false for none. */
static bool parse_u64(const char **at, int base, uint64_t *value)
{
	char *end;
	unsigned long long parsed;

	errno = 0;
	parsed = strtoull(*at, &end, base);
	if (end == *at || errno != 0)
		return false;
	*at = end;
	*value = (uint64_t)parsed;
	return true;
}

static bool find_huge_page_size(const char *line, void *ctx)
{
	static const char key[] = "Hugepagesize:";
	uint64_t *kib = ctx;

	if (strncmp(line, key, sizeof(key) - 1) != 0)
		return true;
	line += sizeof(key) - 1;
	if (!parse_u64(&line, 10, kib))
		*kib = 0;
	return false;
}

/* Read each time it is needed (only for HUGETLB): the library keeps no
 * global state it does not document. */
uint64_t backing_huge_page(void)
{
	uint64_t kib = 0;

	(void)proc_lines("/proc/meminfo", find_huge_page_size, &kib);
	return kib <= UINT64_MAX / 1024 ? kib * 1024 : 0;
}
#else
uint64_t backing_huge_page(void)
{
	return 0;
}
#endif

static bool align_up(uint64_t value, uint64_t align, uint64_t *out)
{
	if (__builtin_add_overflow(value, align - 1, out))
		return false;
	*out &= ~(align - 1);
	return true;
}

/* The flags that undo can take back: what the kernel records per mapping. */
#define UNDOABLE_FLAGS (SQUIB_REGION_LOCKED | SQUIB_REGION_DONTDUMP | SQUIB_REGION_DONTFORK)

#if defined(__linux__)
/* The UNDOABLE_FLAGS in the mnemonics of a VmFlags line of
 * /proc/self/smaps (proc(5)). */
static uint32_t vm_flags_of(const char *line)
{
	static const struct {
		char mnemonic[3];
		uint32_t flag;
	} known[] = {{"lo", SQUIB_REGION_LOCKED},
		     {"dd", SQUIB_REGION_DONTDUMP},
		     {"dc", SQUIB_REGION_DONTFORK}};
	uint32_t flags = 0;
	char token[8];
	int used;

	while (sscanf(line, " %7s%n", token, &used) == 1) {
		for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
			if (strcmp(token, known[i].mnemonic) == 0)
				flags |= known[i].flag;
		line += used;
	}
	return flags;
}

/*
 * Of the UNDOABLE_FLAGS, those every mapping in [map, map + len) already
 * has, read from /proc/self/smaps; 0 when it cannot be read. Only asked for
 * a caller's mapping with such flags: the library then neither applies nor,
 * on a failure, takes back what the caller had set up itself (mlockall(),
 * its own MADV_DONTDUMP). A range that has a flag only in part gets it
 * applied, and on a failure taken back from all of it.
 */
struct range_flags {
	uint64_t lo, hi;   /* the range asked about */
	bool inside, seen; /* in a mapping that overlaps it; saw one */
	uint32_t common;   /* the flags of every such mapping */
};

static bool collect_range_flags(const char *line, void *ctx)
{
	struct range_flags *range = ctx;
	const char *at = line;
	uint64_t start, end;

	/* A mapping's first line: "start-end perms offset ...", in hex. */
	if (parse_u64(&at, 16, &start) && *at == '-') {
		at++;
		if (parse_u64(&at, 16, &end) && *at == ' ') {
			range->inside = start < range->hi && end > range->lo;
			return true;
		}
	}
	if (range->inside && strncmp(line, "VmFlags:", 8) == 0) {
		range->common &= vm_flags_of(line + 8);
		range->seen = true;
	}
	return true;
}

static uint32_t flags_already_on(const uint8_t *map, size_t len)
{
	struct range_flags range = {.lo = (uint64_t)(uintptr_t)map,
				    .hi = (uint64_t)(uintptr_t)map + len,
				    .common = UNDOABLE_FLAGS};

	if (!proc_lines("/proc/self/smaps", collect_range_flags, &range) || !range.seen)
		return 0;
	return range.common;
}
#else
static uint32_t flags_already_on(const uint8_t *map, size_t len)
{
	(void)map;
	(void)len;
	return 0;
}
#endif

/* The madvise() behind DONTDUMP and DONTFORK, and its undo, where the
 * platform has them; the empty entry ends the list on every platform. */
static const struct {
	uint32_t flag;
	int advice, undo;
} flag_advice[] = {
#if PLATFORM_HAS_DONTDUMP
    {SQUIB_REGION_DONTDUMP, MADV_DONTDUMP, MADV_DODUMP},
#endif
#if PLATFORM_HAS_DONTFORK
    {SQUIB_REGION_DONTFORK, MADV_DONTFORK, MADV_DOFORK},
#endif
    {0, 0, 0},
};

/* Takes back the UNDOABLE_FLAGS of `applied` from [map, map + len). */
static void undo_flags(uint8_t *map, size_t len, uint32_t applied)
{
	for (size_t i = 0; flag_advice[i].flag; i++)
		if (applied & flag_advice[i].flag)
			squib_host_advise_undo(map, len, flag_advice[i].undo);
	if (applied & SQUIB_REGION_LOCKED)
		squib_host_unlock(map, len);
}

/* THP, DONTDUMP, DONTFORK and LOCKED on [map, map + len), but those of
 * `already` (which the range has). LOCKED goes first, being the one a limit
 * refuses. On failure what was applied is undone (the library's own
 * mapping goes away anyway; a caller's must be left as it was), and the
 * message is set. */
static squib_status_t apply_flags(uint8_t *map, size_t len, uint32_t flags, uint32_t already)
{
	uint32_t wanted = flags & ~already, applied = 0;
	int err;

	if (wanted & SQUIB_REGION_LOCKED) {
		if (squib_host_lock_on_fault(map, len) != 0) {
			err = errno;
			return squib_fail_errno(err,
						"cannot lock %zu bytes at %p in memory (mlock2)",
						len, (void *)map);
		}
		applied |= SQUIB_REGION_LOCKED;
	}
	for (size_t i = 0; flag_advice[i].flag; i++) {
		if (!(wanted & flag_advice[i].flag))
			continue;
		if (squib_host_advise(map, len, flag_advice[i].advice) != 0) {
			err = errno;
			undo_flags(map, len, applied);
			return squib_fail_errno(
			    err, "cannot apply flags 0x%" PRIx32 " to %zu bytes at %p (madvise)",
			    flags, len, (void *)map);
		}
		applied |= flag_advice[i].flag;
	}
#if PLATFORM_HAS_THP
	/* A hint: a kernel without THP (EINVAL) or a refusal changes nothing
	 * the region promises. */
	if (flags & SQUIB_REGION_THP)
		(void)squib_host_advise(map, len, MADV_HUGEPAGE);
#endif
	return SQUIB_OK;
}

/* Touches every page, for PREFAULT where the kernel cannot populate. */
static void touch_pages(const uint8_t *map, size_t len, uint64_t page)
{
	for (size_t at = 0; at < len; at += page)
		(void)*(const volatile uint8_t *)(map + at);
}

/* PREFAULT of a caller's mapping: MADV_POPULATE_* (Linux 5.14), else
 * touching. Writable pages are populated for writing, so that the first
 * guest write does not fault either. */
static squib_status_t populate_caller_mapping(uint8_t *map, size_t len, uint32_t flags,
					      uint64_t page)
{
#if defined(MADV_POPULATE_READ) && defined(MADV_POPULATE_WRITE)
	int advice = flags & SQUIB_REGION_READONLY ? MADV_POPULATE_READ : MADV_POPULATE_WRITE;

	if (squib_host_advise(map, len, advice) == 0)
		return SQUIB_OK;
	if (errno != EINVAL) {
		int err = errno;

		return squib_fail_errno(err, "cannot populate %zu bytes at %p (madvise)", len,
					(void *)map);
	}
#else
	(void)flags;
#endif
	touch_pages(map, len, page);
	return SQUIB_OK;
}

/* The library's own descriptor of a FILE region's file: the caller may
 * close theirs at once. */
static squib_status_t dup_file(struct backing *backing, const struct backing_request *request)
{
	int err;

	backing->fd = squib_host_dup(request->fd);
	if (backing->fd >= 0)
		return SQUIB_OK;
	err = errno;
	return squib_fail_errno(err, "cannot dup fd %d of the region at " SQUIB_GPA_FMT,
				request->fd, request->base);
}

static squib_status_t adopt_caller_mapping(struct backing *backing,
					   const struct backing_request *request, uint8_t **host)
{
	uint8_t *map = request->host_addr;
	size_t len = (size_t)request->size; /* checked to fit: a mapping of it exists */
	uint32_t already = 0;
	squib_status_t status;

	if (request->flags & SQUIB_REGION_FILE) {
		status = dup_file(backing, request);
		if (status != SQUIB_OK)
			return status;
	}
	/* Populating first: it is the one step that leaves nothing to undo
	 * (resident pages are not a change the caller can tell), and
	 * apply_flags() undoes its own part when it fails. */
	status = SQUIB_OK;
	if (request->flags & SQUIB_REGION_PREFAULT)
		status = populate_caller_mapping(map, len, request->flags, request->page);
	if (request->flags & UNDOABLE_FLAGS)
		already = flags_already_on(map, len);
	if (status == SQUIB_OK)
		status = apply_flags(map, len, request->flags, already);
	if (status != SQUIB_OK)
		return status; /* backing_create() closes the dup */
	backing->applied = request->flags & UNDOABLE_FLAGS & ~already;
	*host = map;
	return SQUIB_OK;
}

/* The memfd of a SHARED region, sized and sealed against shrinking, so
 * that no process holding it can truncate the guest's memory under the
 * library (a SIGBUS on the next access). */
static squib_status_t make_memfd(struct backing *backing, const struct backing_request *request,
				 size_t len)
{
	const char *name = backing->name[0] ? backing->name : "squib-guest";
	int err;

	backing->fd = squib_host_memfd(name, (request->flags & SQUIB_REGION_HUGETLB) != 0);
	if (backing->fd < 0) {
		err = errno;
		if (err == EINVAL && (request->flags & SQUIB_REGION_HUGETLB))
			return squib_fail_status_errno(SQUIB_E_UNSUPPORTED, err,
						       "the kernel refuses a hugetlb memfd");
		return squib_fail_errno(
		    err, "cannot create a memfd for the region at " SQUIB_GPA_FMT, request->base);
	}
	if (squib_host_resize(backing->fd, len) != 0) {
		err = errno;
		return squib_fail_errno(err,
					"cannot size the memfd of the region at " SQUIB_GPA_FMT
					" to %zu bytes (ftruncate)",
					request->base, len);
	}
#if defined(F_SEAL_SHRINK)
	if (squib_host_seal(backing->fd, F_SEAL_SHRINK) != 0) {
		err = errno;
		return squib_fail_errno(
		    err, "cannot seal the memfd of the region at " SQUIB_GPA_FMT, request->base);
	}
#endif
	return SQUIB_OK;
}

/* The mmap flags of a library-owned backing, PREFAULT aside. */
static int map_flags(const struct backing_request *request)
{
	uint32_t flags = request->flags;

	if (flags & SQUIB_REGION_SHARED)
		return MAP_SHARED;
	if (flags & SQUIB_REGION_FILE)
		return flags & SQUIB_REGION_PRIVATE ? MAP_PRIVATE | MAP_NORESERVE : MAP_SHARED;
#if PLATFORM_HAS_HUGETLB
	/* No MAP_NORESERVE: huge pages are then taken from the pool now, so
	 * that an empty pool is ENOMEM here and not SIGBUS on a guest access. */
	if (flags & SQUIB_REGION_HUGETLB)
		return MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB;
#endif
	/* MAP_NORESERVE: a 64 GiB guest costs no swap reservation and no RAM
	 * until the guest touches it. */
	return MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
}

#if defined(__linux__) && !defined(MADV_GUARD_INSTALL)
#define MADV_GUARD_INSTALL 102 /* Linux 6.13; not yet in every libc's headers */
#endif

/*
 * Makes [at, at + len) of a private anonymous mapping a guard: with
 * MADV_GUARD_INSTALL, page-table markers inside the mapping's VMA, so that
 * a region costs one VMA and a handle of 32768 regions stays far below the
 * kernel's default vm.max_map_count of 65530; on a kernel without it
 * (EINVAL), with mprotect(PROT_NONE), which costs two more VMAs a region.
 */
static int install_guard(uint8_t *at, size_t len)
{
#if defined(MADV_GUARD_INSTALL)
	if (squib_host_advise(at, len, MADV_GUARD_INSTALL) == 0)
		return 0;
	if (errno != EINVAL)
		return -1;
#endif
	return squib_host_protect(at, len, PROT_NONE);
}

/* The space for a library-owned backing: anonymous memory is mapped in
 * one piece with its guard pages at both ends; everything else (a file, a
 * memfd, hugetlb) goes with MAP_FIXED into the middle of a PROT_NONE
 * reservation whose ends are the guards. */
static bool mapped_in_one_piece(uint32_t flags)
{
	return !(flags & (SQUIB_REGION_FILE | SQUIB_REGION_SHARED | SQUIB_REGION_HUGETLB));
}

static squib_status_t map_space(struct backing *backing, const struct backing_request *request,
				uint64_t map_len, int prot, int flags, uint8_t **map)
{
	uint64_t page = request->page, guard = backing_host_page(), total, inner;
	bool in_one_piece = mapped_in_one_piece(request->flags);
	int err;

	/* One guard page each side; a hugetlb mapping also needs room to
	 * start on a huge page. Fits: see space_fits(). */
	total = map_len + (in_one_piece ? 2 * guard : 2 * page);
	backing->reservation = in_one_piece ? squib_host_map_anonymous((size_t)total, prot, flags)
					    : squib_host_reserve((size_t)total);
	if (!backing->reservation) {
		/* Anonymous memory or address space the host cannot give, for
		 * whatever errno (a length the kernel finds absurd is EINVAL
		 * under valgrind): a shortage of memory, as 0.2 said. */
		err = errno;
		return squib_fail_status_errno(SQUIB_E_NO_MEMORY, err,
					       "cannot map %zu bytes for base " SQUIB_GPA_FMT
					       " size %" PRIu64,
					       (size_t)total, request->base, request->size);
	}
	backing->reservation_len = (size_t)total;
	(void)align_up((uint64_t)(uintptr_t)backing->reservation + guard, page, &inner);
	*map =
	    (uint8_t *)backing->reservation + (inner - (uint64_t)(uintptr_t)backing->reservation);
	if (in_one_piece && (install_guard(backing->reservation, (size_t)guard) != 0 ||
			     install_guard(*map + map_len, (size_t)guard) != 0)) {
		err = errno;
		return squib_fail_errno(
		    err, "cannot make the guard pages of the region at " SQUIB_GPA_FMT,
		    request->base);
	}
	return SQUIB_OK;
}

/*
 * Library-owned memory, between guard pages (map_space). The host address
 * of base is congruent to base modulo the region's page (the host page, or
 * the huge page), so a naturally aligned guest access is a naturally
 * aligned host access and a hugetlb mapping starts on a huge page.
 */
static squib_status_t map_library_owned(struct backing *backing,
					const struct backing_request *request, uint8_t **host)
{
	uint64_t page = request->page, lead = request->base & (page - 1), map_len;
	bool copy = request->bytes != NULL, read_only = request->flags & SQUIB_REGION_READONLY;
	int prot = read_only && !copy ? PROT_READ : PROT_READ | PROT_WRITE;
	int flags = map_flags(request), err;
	squib_status_t status;
	uint8_t *map = NULL;

	if (request->flags & SQUIB_REGION_PREFAULT)
		flags |= PLATFORM_MAP_POPULATE;
	(void)align_up(request->size + lead, page, &map_len); /* fits: space_fits() */
	status = map_space(backing, request, map_len, prot, flags, &map);
	if (status != SQUIB_OK)
		return status;

	if (request->flags & SQUIB_REGION_SHARED) {
		status = make_memfd(backing, request, (size_t)map_len);
		if (status != SQUIB_OK)
			return status;
	} else if (request->flags & SQUIB_REGION_FILE) {
		status = dup_file(backing, request);
		if (status != SQUIB_OK)
			return status;
	}
	if (!mapped_in_one_piece(request->flags) &&
	    squib_host_map_fixed(map, (size_t)map_len, prot, flags, backing->fd,
				 backing->fd_offset) != 0) {
		err = errno;
		return squib_fail_errno(
		    err, "cannot map %" PRIu64 " bytes for base " SQUIB_GPA_FMT " size %" PRIu64,
		    map_len, request->base, request->size);
	}
	status = apply_flags(map, (size_t)map_len, request->flags, 0);
	if (status != SQUIB_OK)
		return status;
	if ((request->flags & SQUIB_REGION_PREFAULT) && !PLATFORM_MAP_POPULATE)
		touch_pages(map, (size_t)map_len, page);
	/* Before the table shows the region: no reader sees it without its
	 * bytes, nor writable when it is a ROM. */
	if (copy) {
		memcpy(map + lead, request->bytes, (size_t)request->size);
		if (read_only && squib_host_protect(map, (size_t)map_len, PROT_READ) != 0) {
			err = errno;
			return squib_fail_errno(
			    err, "cannot make the region at " SQUIB_GPA_FMT " read-only (mprotect)",
			    request->base);
		}
	}
	*host = map + lead;
	return SQUIB_OK;
}

/* Gives back what the library obtained for a backing; safe on one that is
 * only partly made. */
static void backing_release(struct backing *backing)
{
	dirty_log_free(atomic_load_explicit(&backing->dirty, memory_order_relaxed));
	if (backing->reservation)
		squib_host_unreserve(backing->reservation, backing->reservation_len);
	if (backing->fd >= 0)
		squib_host_close(backing->fd);
	squib_host_free(backing);
}

/* Whether the library's mapping of a region, guard pages and huge page
 * alignment included, fits in the host's address space: checked before any
 * host request, so that a guest bigger than the host is refused at once. */
static bool space_fits(const struct backing_request *request)
{
	uint64_t page = request->page, total;

	return !__builtin_add_overflow(request->size, request->base & (page - 1), &total) &&
	       align_up(total, page, &total) && !__builtin_add_overflow(total, 2 * page, &total) &&
	       total <= SIZE_MAX;
}

squib_status_t backing_check(const struct backing_request *request)
{
	if (!request->host_addr && !space_fits(request))
		return squib_fail(SQUIB_E_NO_MEMORY,
				  "cannot map %" PRIu64 " bytes for base " SQUIB_GPA_FMT
				  ": larger than the host address space",
				  request->size, request->base);
	return SQUIB_OK;
}

squib_status_t backing_create(const struct backing_request *request, struct backing **out,
			      uint8_t **host)
{
	struct backing *backing;
	squib_status_t status;
	size_t name_len = request->name ? strnlen(request->name, SQUIB_REGION_NAME_MAX - 1) : 0;

	backing = squib_host_alloc(sizeof(*backing));
	if (!backing)
		return squib_fail(SQUIB_E_NO_MEMORY,
				  "cannot allocate the backing of the region at " SQUIB_GPA_FMT,
				  request->base);
	*backing = (struct backing){.fd = -1,
				    .fd_offset = request->fd_offset,
				    .page = request->page,
				    .flags = request->flags};
	atomic_init(&backing->refs, 1u);
	atomic_init(&backing->dirty, NULL);
	if (request->flags & SQUIB_REGION_DIRTY_LOG) {
		/* Logging from the start: the bitmap before the memory, so
		 * that nothing can fail once the memory is made. */
		struct dirty_log *log = dirty_log_new(request->base, request->size);

		if (!log) {
			squib_host_free(backing);
			return squib_fail(SQUIB_E_NO_MEMORY,
					  "cannot allocate the dirty bitmap of %zu words of the "
					  "region at " SQUIB_GPA_FMT,
					  dirty_words(request->base, request->size), request->base);
		}
		atomic_store_explicit(&log->logging, true, memory_order_relaxed);
		atomic_init(&backing->dirty, log);
	}
	if (name_len)
		memcpy(backing->name, request->name, name_len);
	status = request->host_addr ? adopt_caller_mapping(backing, request, host)
				    : map_library_owned(backing, request, host);
	if (status != SQUIB_OK) {
		backing_release(backing);
		return status;
	}
	*out = backing;
	return SQUIB_OK;
}

void backing_put(struct backing *backing)
{
	/* acq_rel: whoever gives the memory back sees every use of it done. */
	if (atomic_fetch_sub_explicit(&backing->refs, 1u, memory_order_acq_rel) == 1u)
		backing_release(backing);
}

void backing_abandon(struct backing *backing, uint8_t *host, uint64_t size)
{
	if (!backing->reservation && backing->applied)
		undo_flags(host, (size_t)size, backing->applied);
	backing_put(backing);
}

#if defined(__linux__) && !defined(MADV_DONTNEED_LOCKED)
#define MADV_DONTNEED_LOCKED 24 /* Linux 5.18; not yet in every libc's headers */
#endif

/*
 * Replaces [at, at + len) of a region with zero pages that carry the
 * region's flags, all at once: the pages are mapped and given the flags
 * apart, then moved over the range (mremap), so that a failure leaves the
 * range as it was. Afterwards the range is anonymous memory inside the
 * region's reservation, given back with it.
 */
static squib_status_t replace_with_zero_pages(const struct region *region, uint8_t *at,
					      uint64_t len)
{
	uint32_t flags = region->backing->flags;
	void *scratch = squib_host_map_anonymous((size_t)len, PROT_READ | PROT_WRITE,
						 MAP_PRIVATE | MAP_NORESERVE);
	squib_status_t status;
	int err;

	if (!scratch) {
		err = errno;
		return squib_fail_errno(err, "cannot map %" PRIu64 " bytes of zero pages", len);
	}
	status = apply_flags(scratch, (size_t)len, flags, 0);
	if (status == SQUIB_OK && squib_host_move(scratch, (size_t)len, at) != 0) {
		err = errno;
		status = squib_fail_status_errno(
		    err == ENOSYS
			? SQUIB_E_UNSUPPORTED
			: (err == ENOMEM || err == EAGAIN ? SQUIB_E_NO_MEMORY : SQUIB_E_IO),
		    err, "cannot move zero pages over %" PRIu64 " bytes at " SQUIB_GPA_FMT, len,
		    region->base + (uint64_t)(at - region->host));
	}
	if (status != SQUIB_OK)
		squib_host_unreserve(scratch, (size_t)len);
	return status;
}

squib_status_t backing_discard(const struct region *region, uint64_t offset, uint64_t len)
{
	const struct backing *backing = region->backing;
	uint8_t *at = region->host + offset;
	int advice = MADV_DONTNEED, err;

	if (backing->fd >= 0 && !(backing->flags & SQUIB_REGION_PRIVATE)) {
		/* A memfd or a shared file: the pages live in the file, so the
		 * hole is punched there; every mapping of it, another
		 * process's too, then reads zeros. */
		if (squib_host_punch_hole(backing->fd, backing->fd_offset + offset, len) == 0)
			return SQUIB_OK;
		err = errno;
		return squib_fail_status_errno(
		    err == EOPNOTSUPP
			? SQUIB_E_UNSUPPORTED
			: (err == ENOMEM || err == EAGAIN ? SQUIB_E_NO_MEMORY : SQUIB_E_IO),
		    err, "cannot punch a hole of %" PRIu64 " bytes at offset %" PRIu64 " of fd %d",
		    len, backing->fd_offset + offset, backing->fd);
	}
	if (backing->fd >= 0)
		/* A copy-on-write file mapping: MADV_DONTNEED would read the
		 * file again. */
		return replace_with_zero_pages(region, at, len);
#if defined(MADV_DONTNEED_LOCKED)
	/* Locked pages refuse MADV_DONTNEED; MADV_DONTNEED_LOCKED (Linux
	 * 5.18) discards them and keeps the range locked on fault. */
	advice = backing->flags & SQUIB_REGION_LOCKED ? MADV_DONTNEED_LOCKED : MADV_DONTNEED;
#endif
	if (squib_host_advise(at, (size_t)len, advice) == 0)
		return SQUIB_OK;
	err = errno;
	if (err == EINVAL && (backing->flags & SQUIB_REGION_LOCKED) &&
	    !(backing->flags & SQUIB_REGION_HUGETLB))
		return replace_with_zero_pages(region, at, len); /* a kernel before 5.18 */
	return squib_fail_errno(err, "cannot discard %" PRIu64 " bytes at " SQUIB_GPA_FMT, len,
				region->base + offset);
}
