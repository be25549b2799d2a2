/* SPDX-License-Identifier: MIT */
/*
 * squib_mem_add_region_opts(): everything the contract checks before a
 * region's slot and range are compared with the table, in its order
 * (INVALID_ARGUMENT, then UNSUPPORTED). What passes becomes a
 * backing_request for the one add path of mem.c.
 */
/* F_GETFL and struct stat need POSIX; O_PATH is Linux's. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <squib/backing.h>

#include "backing.h"
#include "error.h"
#include "mem_internal.h"
#include "platform.h"

#define KNOWN_FLAGS 0x7ffu

static const char *const caller = "squib_mem_add_region_opts";

static bool is_aligned(uint64_t value, uint64_t align)
{
	return (value & (align - 1)) == 0;
}

static squib_status_t check_contradictions(const squib_region_opts_t *opts)
{
	uint32_t flags = opts->flags;
	bool file = flags & SQUIB_REGION_FILE, mine = opts->host_addr != NULL;
	const char *why = NULL;

	if ((flags & SQUIB_REGION_PRIVATE) && (!file || mine))
		why = "PRIVATE needs a FILE the library maps (no host_addr)";
	else if ((flags & SQUIB_REGION_SHARED) && (file || mine))
		why = "SHARED (a library memfd) excludes FILE and host_addr";
	else if (opts->bytes && (file || mine))
		why = "bytes excludes FILE and host_addr: the memory is already there";
	else if ((flags & SQUIB_REGION_HUGETLB) && (flags & SQUIB_REGION_THP))
		why = "HUGETLB excludes THP";
	else if ((flags & SQUIB_REGION_HUGETLB) && (file || mine))
		why = "HUGETLB excludes FILE and host_addr";
	if (why)
		return squib_fail(SQUIB_E_INVALID_ARGUMENT, "%s: flags 0x%" PRIx32 ": %s", caller,
				  flags, why);
	if (file && opts->fd < 0)
		return squib_fail(SQUIB_E_INVALID_ARGUMENT, "%s: FILE with fd %d", caller,
				  opts->fd);
	return SQUIB_OK;
}

/* Alignment of everything but the anonymous backing, and of HUGETLB to
 * huge pages (huge 0: unknown, refused as UNSUPPORTED later). */
static squib_status_t check_alignment(const squib_region_opts_t *opts, uint64_t huge)
{
	uint32_t flags = opts->flags;
	uint64_t page = backing_host_page();
	bool anonymous = !opts->host_addr && !(flags & (SQUIB_REGION_FILE | SQUIB_REGION_SHARED));

	if (flags & SQUIB_REGION_HUGETLB) {
		if (huge && (!is_aligned(opts->range.base.raw, huge) ||
			     !is_aligned(opts->range.size, huge)))
			return squib_fail(SQUIB_E_INVALID_ARGUMENT,
					  "%s: HUGETLB region base " SQUIB_GPA_FMT " size %" PRIu64
					  " is not aligned to the huge page size %" PRIu64,
					  caller, opts->range.base.raw, opts->range.size, huge);
	}
	if (anonymous)
		return SQUIB_OK;
	if (!is_aligned(opts->range.base.raw, page) || !is_aligned(opts->range.size, page) ||
	    ((flags & SQUIB_REGION_FILE) && !is_aligned(opts->fd_offset, page)) ||
	    !is_aligned((uint64_t)(uintptr_t)opts->host_addr, page))
		return squib_fail(SQUIB_E_INVALID_ARGUMENT,
				  "%s: base " SQUIB_GPA_FMT " size %" PRIu64 " fd_offset %" PRIu64
				  " host_addr %p: not aligned to the page size %" PRIu64,
				  caller, opts->range.base.raw, opts->range.size, opts->fd_offset,
				  opts->host_addr, page);
	if (opts->host_addr &&
	    (opts->range.size > SIZE_MAX ||
	     (uint64_t)(uintptr_t)opts->host_addr > UINTPTR_MAX - opts->range.size))
		return squib_fail(SQUIB_E_INVALID_ARGUMENT,
				  "%s: host_addr %p + size %" PRIu64
				  " does not fit in the host address space",
				  caller, opts->host_addr, opts->range.size);
	return SQUIB_OK;
}

/*
 * The file: open, readable when the library maps it, writable when it maps
 * it shared and writable, and (for a regular file) long enough, so that no
 * access can SIGBUS later. A caller's mapping only needs the fd open: it is
 * dup'd to describe the mapping, never mapped.
 */
static squib_status_t check_file(const squib_region_opts_t *opts)
{
	int fd = opts->fd, mode = fcntl(fd, F_GETFL);
	bool writes_through = !(opts->flags & (SQUIB_REGION_READONLY | SQUIB_REGION_PRIVATE));
	uint64_t end;
	struct stat st;

	if (mode < 0)
		return squib_fail_status_errno(SQUIB_E_INVALID_ARGUMENT, errno,
					       "%s: fd %d is not usable", caller, fd);
	if (opts->host_addr)
		return SQUIB_OK;
#if defined(O_PATH)
	if (mode & O_PATH)
		return squib_fail(SQUIB_E_INVALID_ARGUMENT,
				  "%s: fd %d is an O_PATH descriptor, which cannot be mapped",
				  caller, fd);
#endif
	if ((mode & O_ACCMODE) == O_WRONLY)
		return squib_fail(SQUIB_E_INVALID_ARGUMENT,
				  "%s: fd %d is open write-only; a mapping needs read access",
				  caller, fd);
	if ((mode & O_ACCMODE) == O_RDONLY && writes_through)
		return squib_fail(SQUIB_E_INVALID_ARGUMENT,
				  "%s: fd %d is open read-only; a shared writable mapping needs "
				  "READONLY or PRIVATE",
				  caller, fd);
	if (opts->fd_offset > (uint64_t)INT64_MAX ||
	    __builtin_add_overflow(opts->fd_offset, opts->range.size, &end))
		return squib_fail(SQUIB_E_INVALID_ARGUMENT,
				  "%s: fd_offset %" PRIu64 " + size %" PRIu64 " overflows", caller,
				  opts->fd_offset, opts->range.size);
	if (fstat(fd, &st) != 0)
		return squib_fail_status_errno(SQUIB_E_INVALID_ARGUMENT, errno,
					       "%s: cannot fstat fd %d", caller, fd);
	if (S_ISREG(st.st_mode) && end > (uint64_t)st.st_size)
		return squib_fail(SQUIB_E_INVALID_ARGUMENT,
				  "%s: fd_offset %" PRIu64 " + size %" PRIu64
				  " is past the end of fd %d (%" PRIu64 " bytes)",
				  caller, opts->fd_offset, opts->range.size, fd,
				  (uint64_t)st.st_size);
	return SQUIB_OK;
}

static squib_status_t check_arguments(const squib_region_opts_t *opts, uint64_t huge)
{
	uint64_t end;
	squib_status_t status;

	if (opts->range.size == 0)
		return squib_fail(SQUIB_E_INVALID_ARGUMENT,
				  "%s: region at " SQUIB_GPA_FMT " has size 0", caller,
				  opts->range.base.raw);
	if (__builtin_add_overflow(opts->range.base.raw, opts->range.size, &end))
		return squib_fail(SQUIB_E_INVALID_ARGUMENT,
				  "range overflow: base=" SQUIB_GPA_FMT " size=%" PRIu64,
				  opts->range.base.raw, opts->range.size);
	if (opts->prot & ~(squib_prot_t)SQUIB_PROT_RWX)
		return squib_fail(SQUIB_E_INVALID_ARGUMENT,
				  "%s: unknown protection bits 0x%" PRIx32, caller,
				  opts->prot & ~(squib_prot_t)SQUIB_PROT_RWX);
	if (opts->flags & ~KNOWN_FLAGS)
		return squib_fail(SQUIB_E_INVALID_ARGUMENT, "%s: unknown flag bits 0x%" PRIx32,
				  caller, opts->flags & ~KNOWN_FLAGS);
	status = check_contradictions(opts);
	if (status == SQUIB_OK)
		status = check_alignment(opts, huge);
	if (status == SQUIB_OK && (opts->flags & SQUIB_REGION_FILE))
		status = check_file(opts);
	return status;
}

/* What this library, platform or kernel cannot do. */
static squib_status_t check_supported(const squib_region_opts_t *opts, uint64_t huge)
{
	const unsigned char *bytes = (const unsigned char *)opts;
	uint32_t missing = opts->flags & PLATFORM_UNSUPPORTED_FLAGS;

	for (size_t at = sizeof(*opts); at < opts->sz; at++)
		if (bytes[at])
			return squib_fail(SQUIB_E_UNSUPPORTED,
					  "%s: opts->sz is %zu and byte %zu is not zero: a field "
					  "this library (%zu bytes of opts) does not know is set",
					  caller, opts->sz, at, sizeof(*opts));
	if (missing)
		return squib_fail(SQUIB_E_UNSUPPORTED,
				  "%s: flags 0x%" PRIx32 " are not supported on this platform",
				  caller, missing);
	if ((opts->flags & SQUIB_REGION_HUGETLB) && huge == 0)
		return squib_fail(SQUIB_E_UNSUPPORTED,
				  "%s: HUGETLB, but this host has no default huge page size",
				  caller);
	return SQUIB_OK;
}

squib_status_t region_request_from_opts(const squib_region_opts_t *opts,
					struct backing_request *request)
{
	squib_status_t status;
	uint64_t huge = 0;
	bool file;

	if (opts->sz < sizeof(*opts))
		return squib_fail(SQUIB_E_INVALID_ARGUMENT,
				  "%s: opts->sz is %zu; this library's layout is %zu bytes", caller,
				  opts->sz, sizeof(*opts));
	if ((opts->flags & SQUIB_REGION_HUGETLB) &&
	    !(PLATFORM_UNSUPPORTED_FLAGS & SQUIB_REGION_HUGETLB))
		huge = backing_huge_page();
	status = check_arguments(opts, huge);
	if (status == SQUIB_OK)
		status = check_supported(opts, huge);
	if (status != SQUIB_OK)
		return status;
	file = opts->flags & SQUIB_REGION_FILE;
	*request = (struct backing_request){
	    .base = opts->range.base.raw,
	    .size = opts->range.size,
	    .flags = opts->flags,
	    .fd = file ? opts->fd : -1,
	    .fd_offset = file ? opts->fd_offset : 0,
	    .host_addr = opts->host_addr,
	    .bytes = opts->bytes,
	    .name = opts->name,
	    .page = huge ? huge : backing_host_page(),
	};
	return SQUIB_OK;
}

squib_status_t squib_mem_add_region_opts(squib_mem_t *mem, const squib_region_opts_t *opts)
{
	struct backing_request request;
	squib_status_t status;

	if (!mem || !opts)
		return squib_fail(SQUIB_E_INVALID_ARGUMENT, "%s: %s is NULL", caller,
				  mem ? "opts" : "mem");
	status = region_request_from_opts(opts, &request);
	if (status != SQUIB_OK)
		return status;
	return squib_mem_region_add(mem, &request, opts->slot, opts->prot);
}
