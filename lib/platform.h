/* SPDX-License-Identifier: MIT */
/*
 * Internal: what this platform can do for a region backing, decided at
 * compile time in this one place. Include it after the system headers that
 * define the features (sys/mman.h, fcntl.h, with _GNU_SOURCE). Not
 * installed.
 *
 * PLATFORM_UNSUPPORTED_FLAGS is the set of SQUIB_REGION_* flags that
 * squib_mem_add_region_opts() answers with SQUIB_E_UNSUPPORTED here. THP is
 * never in it: it is a hint, and never fails for lack of huge pages.
 */
#ifndef SQUIB_LIB_PLATFORM_H
#define SQUIB_LIB_PLATFORM_H

#include <squib/backing.h>

/* A sealable memfd (Linux; FreeBSD has memfd_create too). */
#if defined(MFD_CLOEXEC) && defined(MFD_ALLOW_SEALING) && defined(F_ADD_SEALS)
#define PLATFORM_HAS_MEMFD 1
#else
#define PLATFORM_HAS_MEMFD 0
#endif

/* hugetlb pages: MAP_HUGETLB for anonymous memory, MFD_HUGETLB for memfds,
 * and a default huge page size read from /proc/meminfo. */
#if defined(__linux__) && defined(MAP_HUGETLB) && defined(MFD_HUGETLB)
#define PLATFORM_HAS_HUGETLB 1
#else
#define PLATFORM_HAS_HUGETLB 0
#endif

#if defined(MADV_DONTDUMP) && defined(MADV_DODUMP)
#define PLATFORM_HAS_DONTDUMP 1
#else
#define PLATFORM_HAS_DONTDUMP 0
#endif

#if defined(MADV_DONTFORK) && defined(MADV_DOFORK)
#define PLATFORM_HAS_DONTFORK 1
#else
#define PLATFORM_HAS_DONTFORK 0
#endif

/* mlock2(MLOCK_ONFAULT): Linux 4.4, glibc 2.27. macOS can only lock pages
 * that are there, which is not what LOCKED promises. */
#if defined(MLOCK_ONFAULT)
#define PLATFORM_HAS_LOCK_ON_FAULT 1
#else
#define PLATFORM_HAS_LOCK_ON_FAULT 0
#endif

#if defined(MADV_HUGEPAGE)
#define PLATFORM_HAS_THP 1
#else
#define PLATFORM_HAS_THP 0
#endif

/* Prefaulting: MAP_POPULATE for the library's own mappings,
 * MADV_POPULATE_READ/WRITE (Linux 5.14) for a caller's; elsewhere, and on
 * older kernels, the pages are touched one by one. */
#if defined(MAP_POPULATE)
#define PLATFORM_MAP_POPULATE MAP_POPULATE
#else
#define PLATFORM_MAP_POPULATE 0
#endif

/* Discarding pages of a memfd or shared file punches a hole where the
 * host can (lib/host.c); elsewhere squib_mem_discard() of such a region is
 * SQUIB_E_UNSUPPORTED at run time, like a file system that cannot. */

#define PLATFORM_UNSUPPORTED_FLAGS                                                                 \
	((PLATFORM_HAS_MEMFD ? 0u : SQUIB_REGION_SHARED) |                                         \
	 (PLATFORM_HAS_HUGETLB ? 0u : SQUIB_REGION_HUGETLB) |                                      \
	 (PLATFORM_HAS_DONTDUMP ? 0u : SQUIB_REGION_DONTDUMP) |                                    \
	 (PLATFORM_HAS_DONTFORK ? 0u : SQUIB_REGION_DONTFORK) |                                    \
	 (PLATFORM_HAS_LOCK_ON_FAULT ? 0u : SQUIB_REGION_LOCKED))

#endif
