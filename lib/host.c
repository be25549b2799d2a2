/* SPDX-License-Identifier: MIT */
/* syscall(2), MAP_ANONYMOUS and MAP_NORESERVE are not in ISO C. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <inttypes.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "compiler.h"
#include "error.h"
#include "host.h"

/* The test build fails chosen requests on purpose (lib/fault.h); in every
 * other build the check is a constant false and compiles to nothing. A failed
 * request looks exactly like the host's own failure, errno included, so the
 * same error paths run. */
#ifdef SQUIB_FAULT_INJECTION
#include "fault.h"
#define FAULT(kind) squib_fault_hit(kind)
#define COUNT_BLOCK(ptr, delta) ((ptr) ? squib_fault_count_block(delta) : (void)0)
#define COUNT_MAPPING(delta) squib_fault_count_mapping(delta)
#else
#define FAULT(kind) false
#define COUNT_BLOCK(ptr, delta) ((void)0)
#define COUNT_MAPPING(delta) ((void)0)
#endif

#ifndef MAP_NORESERVE
#define MAP_NORESERVE 0 /* not every system has it; the mapping is still lazy */
#endif

void *squib_host_alloc(size_t size)
{
	void *ptr;
	int err;

	if (FAULT(SQUIB_FAULT_ALLOC)) {
		errno = ENOMEM;
		return NULL;
	}
	/* Cache-line aligned: a region table's index entries must not
	 * straddle lines (see lib/table.h). */
	err = posix_memalign(&ptr, SQUIB_CACHELINE, size);
	if (err) {
		errno = err;
		return NULL;
	}
	COUNT_BLOCK(ptr, 1);
	return ptr;
}

void *squib_host_alloc_aligned(size_t alignment, size_t size)
{
	void *ptr = NULL;

	if (FAULT(SQUIB_FAULT_ALLOC_ALIGNED) || posix_memalign(&ptr, alignment, size) != 0)
		return NULL;
	COUNT_BLOCK(ptr, 1);
	return ptr;
}

void squib_host_free(void *ptr)
{
	COUNT_BLOCK(ptr, -1);
	free(ptr);
}

static uint64_t page_size(void)
{
	long size = sysconf(_SC_PAGESIZE);

	return size > 0 ? (uint64_t)size : 4096u;
}

/* The mapping behind [base, base + size): it starts base's offset into its
 * page before the host address, and is whole pages long. Returns false if
 * that length does not fit in size_t. */
static bool mapping_span(uint64_t base, uint64_t size, uint64_t *lead, size_t *length)
{
	uint64_t page = page_size();
	uint64_t total;

	*lead = base & (page - 1);
	if (__builtin_add_overflow(size, *lead, &total) ||
	    __builtin_add_overflow(total, page - 1, &total) || total > SIZE_MAX)
		return false;
	*length = (size_t)(total & ~(page - 1));
	return true;
}

squib_status_t squib_host_map(uint64_t base, uint64_t size, uint8_t **host_addr)
{
	uint64_t lead;
	size_t length;
	void *map;

	if (!mapping_span(base, size, &lead, &length))
		return squib_fail(SQUIB_E_NO_MEMORY,
				  "cannot map %" PRIu64 " bytes for base " SQUIB_GPA_FMT
				  ": larger than the host address space",
				  size, base);
	/* MAP_NORESERVE: a 64 GiB guest costs no swap reservation and no RAM
	 * until the guest touches it. */
	if (FAULT(SQUIB_FAULT_MAP)) {
		map = MAP_FAILED;
		errno = ENOMEM;
	} else {
		/* fd -1: what mmap(2) asks of MAP_ANONYMOUS (cppcheck's POSIX
		 * model disagrees: see .cppcheck/suppressions.txt). */
		map = mmap(NULL, length, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	}
	if (map == MAP_FAILED)
		return squib_fail(SQUIB_E_NO_MEMORY,
				  "cannot map %zu bytes for base " SQUIB_GPA_FMT " size %" PRIu64
				  ": errno %d",
				  length, base, size, errno);
	COUNT_MAPPING(1);
	*host_addr = (uint8_t *)map + lead;
	return SQUIB_OK;
}

/* Not const: the memory is given back, which is the strongest write; munmap
 * takes a void *. */
/* cppcheck-suppress constParameter */
void squib_host_unmap(uint64_t base, uint64_t size, uint8_t *host_addr)
{
	uint64_t lead;
	size_t length;

	if (mapping_span(base, size, &lead, &length)) {
		COUNT_MAPPING(-1);
		(void)munmap(host_addr - lead, length);
	}
}

int squib_host_key_create(pthread_key_t *key, void (*destructor)(void *))
{
	if (FAULT(SQUIB_FAULT_KEY_CREATE))
		return EAGAIN;
	return pthread_key_create(key, destructor);
}

int squib_host_key_set(pthread_key_t key, const void *value)
{
	if (FAULT(SQUIB_FAULT_KEY_SET))
		return ENOMEM;
	return pthread_setspecific(key, value);
}
