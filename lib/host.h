/* SPDX-License-Identifier: MIT */
/*
 * Internal: every request the library makes to the host for memory, file
 * descriptors or thread-exit hooks goes through here, so that each one can
 * fail on demand in the fault-injection test build and be proven harmless.
 */
#ifndef SQUIB_LIB_HOST_H
#define SQUIB_LIB_HOST_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

/* Blocks from squib_host_alloc are aligned to a cache line. */
void *squib_host_alloc(size_t size);
void *squib_host_alloc_aligned(size_t alignment, size_t size);
void squib_host_free(void *ptr);

/*
 * The system calls behind region backings (lib/backing.c), one wrapper
 * each, with the system's own convention: 0 (or a descriptor, or an
 * address) on success, -1 (NULL) with errno set on failure. They know
 * nothing of statuses; backing.c turns errno into one.
 */

/* An inaccessible (PROT_NONE), unreserved span of address space. */
void *squib_host_reserve(size_t length);
/* Anonymous memory of length bytes, anywhere; flags beside MAP_ANONYMOUS. */
void *squib_host_map_anonymous(size_t length, int prot, int flags);
/* Gives back a span from squib_host_reserve or squib_host_map_anonymous,
 * whatever was mapped into it since. */
void squib_host_unreserve(void *addr, size_t length);
/* mmap(addr, length, prot, flags | MAP_FIXED, fd, offset) over part of a
 * reservation. */
int squib_host_map_fixed(void *addr, size_t length, int prot, int flags, int fd, uint64_t offset);
/* Moves a mapping made by squib_host_map_anonymous over [to, to + length),
 * replacing what was there at once (mremap); it then belongs to the
 * reservation that holds to. ENOSYS where the host cannot. */
int squib_host_move(void *from, size_t length, void *to);
int squib_host_protect(void *addr, size_t length, int prot);
int squib_host_advise(void *addr, size_t length, int advice);
/* madvise() that undoes an earlier one on a failure path: never failed on
 * purpose, and its own failure is ignored (the advice was applied to the
 * same range a moment ago). */
void squib_host_advise_undo(void *addr, size_t length, int advice);
/* mlock2(MLOCK_ONFAULT), and its undo. */
int squib_host_lock_on_fault(void *addr, size_t length);
void squib_host_unlock(void *addr, size_t length);

/* A close-on-exec memfd that allows sealing, of hugetlb pages if asked. */
int squib_host_memfd(const char *name, int hugetlb);
int squib_host_resize(int fd, uint64_t size);
int squib_host_seal(int fd, int seals);
/* A close-on-exec duplicate of fd, numbered 3 or above. */
int squib_host_dup(int fd);
void squib_host_close(int fd);
int squib_host_punch_hole(int fd, uint64_t offset, uint64_t length);

/*
 * Starts a thread of the library's own running run(arg), with every signal
 * blocked: a signal meant for the process must not land on it, whose code
 * knows nothing of the caller's handlers. 0, or the errno of the failure
 * (EAGAIN at a thread limit). The thread gives itself a name with
 * squib_host_thread_name(); squib_host_thread_join() waits for it.
 */
int squib_host_thread_start(pthread_t *thread, void *(*run)(void *), void *arg);
void squib_host_thread_join(pthread_t thread);
/* Names the calling thread, as ps and gdb show it, where the host can;
 * name is at most 15 characters. */
void squib_host_thread_name(const char *name);

int squib_host_key_create(pthread_key_t *key, void (*destructor)(void *));
int squib_host_key_set(pthread_key_t key, const void *value);

#endif
