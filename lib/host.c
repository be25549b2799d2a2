/* SPDX-License-Identifier: MIT */
/* MAP_ANONYMOUS, MAP_NORESERVE, memfd_create, mlock2, fallocate and
 * F_DUPFD_CLOEXEC are not in ISO C. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#if defined(__linux__)
#include <sys/syscall.h>
#endif

#include "compiler.h"
#include "host.h"

/* The test build fails chosen requests on purpose (lib/fault.h); in every
 * other build the check is a constant false and compiles to nothing. A failed
 * request looks exactly like the host's own failure, errno included, so the
 * same error paths run. */
#ifdef SQUIB_FAULT_INJECTION
#include "fault.h"
#define FAULT(kind) squib_fault_hit(kind)
#define FAULT_ERRNO(err) squib_fault_errno(err)
#define COUNT_BLOCK(ptr, delta) ((ptr) ? squib_fault_count_block(delta) : (void)0)
#define COUNT_MAPPING(delta) squib_fault_count_mapping(delta)
#define COUNT_FD(delta) squib_fault_count_fd(delta)
#else
#define FAULT(kind) false
#define FAULT_ERRNO(err) (err)
#define COUNT_BLOCK(ptr, delta) ((void)0)
#define COUNT_MAPPING(delta) ((void)0)
#define COUNT_FD(delta) ((void)0)
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

/* A failed request looks exactly like the host's own failure. */
#define FAIL_WITH(kind, err, ret)                                                                  \
	do {                                                                                       \
		if (FAULT(kind)) {                                                                 \
			errno = FAULT_ERRNO(err);                                                  \
			return ret;                                                                \
		}                                                                                  \
	} while (0)

void *squib_host_reserve(size_t length)
{
	return squib_host_map_anonymous(length, PROT_NONE, MAP_PRIVATE | MAP_NORESERVE);
}

void *squib_host_map_anonymous(size_t length, int prot, int flags)
{
	void *map;

	FAIL_WITH(SQUIB_FAULT_MAP, ENOMEM, NULL);
	/* fd -1: what mmap(2) asks of MAP_ANONYMOUS (cppcheck's POSIX model
	 * disagrees: see .cppcheck/suppressions.txt). */
	map = mmap(NULL, length, prot, flags | MAP_ANONYMOUS, -1, 0);
	if (map == MAP_FAILED)
		return NULL;
	COUNT_MAPPING(1);
	return map;
}

/* Not const: the memory is given back, which is the strongest write; munmap
 * takes a void *. */
/* cppcheck-suppress constParameter */
void squib_host_unreserve(void *addr, size_t length)
{
	COUNT_MAPPING(-1);
	(void)munmap(addr, length);
}

int squib_host_map_fixed(void *addr, size_t length, int prot, int flags, int fd, uint64_t offset)
{
	FAIL_WITH(SQUIB_FAULT_MAP_FIXED, ENOMEM, -1);
	if (offset > (uint64_t)INT64_MAX) {
		errno = EOVERFLOW;
		return -1;
	}
	/* Lands at addr, inside a reservation that owns it from then on and
	 * is unmapped whole (squib_host_unreserve): nothing to keep here. */
	// cppcheck-suppress leakReturnValNotUsed
	return mmap(addr, length, prot, flags | MAP_FIXED, fd, (off_t)offset) == MAP_FAILED ? -1
											    : 0;
}

int squib_host_move(void *from, size_t length, void *to)
{
	FAIL_WITH(SQUIB_FAULT_MAP_FIXED, ENOMEM, -1);
#if defined(MREMAP_MAYMOVE) && defined(MREMAP_FIXED)
	if (mremap(from, length, length, MREMAP_MAYMOVE | MREMAP_FIXED, to) == MAP_FAILED)
		return -1;
	COUNT_MAPPING(-1); /* now part of the mapping at to */
	return 0;
#else
	(void)from;
	(void)length;
	(void)to;
	errno = ENOSYS;
	return -1;
#endif
}

int squib_host_protect(void *addr, size_t length, int prot)
{
	FAIL_WITH(SQUIB_FAULT_MPROTECT, ENOMEM, -1);
	return mprotect(addr, length, prot);
}

int squib_host_advise(void *addr, size_t length, int advice)
{
	FAIL_WITH(SQUIB_FAULT_MADVISE, ENOMEM, -1);
	return madvise(addr, length, advice);
}

void squib_host_advise_undo(void *addr, size_t length, int advice)
{
	(void)madvise(addr, length, advice);
}

int squib_host_lock_on_fault(void *addr, size_t length)
{
	FAIL_WITH(SQUIB_FAULT_MLOCK, ENOMEM, -1);
#if defined(MLOCK_ONFAULT)
	return mlock2(addr, length, MLOCK_ONFAULT);
#else
	(void)addr;
	(void)length;
	errno = ENOSYS;
	return -1;
#endif
}

void squib_host_unlock(void *addr, size_t length)
{
#if defined(__linux__) && defined(SYS_munlock)
	/* The system call itself: AddressSanitizer intercepts munlock() and
	 * makes it a no-op, which would leave a caller's mapping locked after
	 * a failed add in a sanitized build. */
	(void)syscall(SYS_munlock, addr, length);
#else
	(void)munlock(addr, length);
#endif
}

int squib_host_memfd(const char *name, int hugetlb)
{
	FAIL_WITH(SQUIB_FAULT_MEMFD, EMFILE, -1);
#if defined(MFD_CLOEXEC) && defined(MFD_ALLOW_SEALING)
	unsigned flags = MFD_CLOEXEC | MFD_ALLOW_SEALING;
	int fd;

#if defined(MFD_HUGETLB)
	if (hugetlb)
		flags |= MFD_HUGETLB;
#endif
	fd = memfd_create(name, flags);
	if (fd >= 0)
		COUNT_FD(1);
	return fd;
#else
	(void)name;
	(void)hugetlb;
	errno = ENOSYS;
	return -1;
#endif
}

int squib_host_resize(int fd, uint64_t size)
{
	FAIL_WITH(SQUIB_FAULT_FTRUNCATE, ENOSPC, -1);
	if (size > (uint64_t)INT64_MAX) {
		errno = EFBIG;
		return -1;
	}
	return ftruncate(fd, (off_t)size);
}

int squib_host_seal(int fd, int seals)
{
	FAIL_WITH(SQUIB_FAULT_SEAL, EPERM, -1);
#if defined(F_ADD_SEALS)
	return fcntl(fd, F_ADD_SEALS, seals);
#else
	(void)fd;
	(void)seals;
	errno = ENOSYS;
	return -1;
#endif
}

int squib_host_dup(int fd)
{
	int copy;

	FAIL_WITH(SQUIB_FAULT_DUP, EMFILE, -1);
	/* 3 or above: never one of the standard streams, even if the caller
	 * closed them. */
	copy = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (copy >= 0)
		COUNT_FD(1);
	return copy;
}

void squib_host_close(int fd)
{
	COUNT_FD(-1);
	/* Linux closes the descriptor even when close() reports EINTR, so it
	 * is never retried (that could close another thread's new fd). */
	(void)close(fd);
}

int squib_host_punch_hole(int fd, uint64_t offset, uint64_t length)
{
	FAIL_WITH(SQUIB_FAULT_FALLOCATE, EIO, -1);
#if defined(FALLOC_FL_PUNCH_HOLE) && defined(FALLOC_FL_KEEP_SIZE)
	if (offset > (uint64_t)INT64_MAX || length > (uint64_t)INT64_MAX - offset) {
		errno = EOVERFLOW;
		return -1;
	}
	return fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)offset,
			 (off_t)length);
#else
	(void)fd;
	(void)offset;
	(void)length;
	errno = EOPNOTSUPP;
	return -1;
#endif
}

int squib_host_thread_start(pthread_t *thread, void *(*run)(void *), void *arg)
{
	sigset_t all, kept;
	int err;

	if (FAULT(SQUIB_FAULT_THREAD))
		return EAGAIN;
	/* A new thread inherits the mask of the one that creates it. */
	sigfillset(&all);
	err = pthread_sigmask(SIG_SETMASK, &all, &kept);
	if (err)
		return err;
	err = pthread_create(thread, NULL, run, arg);
	(void)pthread_sigmask(SIG_SETMASK, &kept, NULL);
	return err;
}

void squib_host_thread_join(pthread_t thread)
{
	/* Fails only for a thread that is not joinable, which ours is. */
	(void)pthread_join(thread, NULL);
}

void squib_host_thread_name(const char *name)
{
#if defined(__linux__)
	(void)pthread_setname_np(pthread_self(), name);
#elif defined(__APPLE__)
	(void)pthread_setname_np(name);
#else
	(void)name;
#endif
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
