/* SPDX-License-Identifier: MIT */
/*
 * Internal, test-only: fault injection into the host requests of lib/host.c.
 *
 * Compiled only into the squibcore_faulty test library (built with
 * SQUIB_FAULT_INJECTION); the shipped libraries contain none of it and export
 * nothing new. A test arms a countdown, "fail the Nth host request from now",
 * calls a public function and checks that the failure is reported and
 * harmless; the request counter tells it when N went past the last request
 * the call makes, so that every failure point is visited exactly once.
 */
#ifndef SQUIB_LIB_FAULT_H
#define SQUIB_LIB_FAULT_H

#include <stdbool.h>
#include <stdint.h>

/* The host requests lib/host.c makes, one bit each. */
enum squib_fault_kind {
	SQUIB_FAULT_ALLOC = 1u << 0,	     /* squib_host_alloc */
	SQUIB_FAULT_ALLOC_ALIGNED = 1u << 1, /* squib_host_alloc_aligned */
	SQUIB_FAULT_MAP = 1u << 2,	     /* squib_host_map */
	SQUIB_FAULT_KEY_CREATE = 1u << 3,    /* squib_host_key_create */
	SQUIB_FAULT_KEY_SET = 1u << 4,	     /* squib_host_key_set */
	SQUIB_FAULT_MAP_FIXED = 1u << 5,     /* squib_host_map_fixed: the backing's mmap */
	SQUIB_FAULT_MEMFD = 1u << 6,	     /* squib_host_memfd */
	SQUIB_FAULT_FTRUNCATE = 1u << 7,     /* squib_host_resize */
	SQUIB_FAULT_SEAL = 1u << 8,	     /* squib_host_seal */
	SQUIB_FAULT_DUP = 1u << 9,	     /* squib_host_dup */
	SQUIB_FAULT_MADVISE = 1u << 10,	     /* squib_host_advise */
	SQUIB_FAULT_MLOCK = 1u << 11,	     /* squib_host_lock_on_fault */
	SQUIB_FAULT_MPROTECT = 1u << 12,     /* squib_host_protect */
	SQUIB_FAULT_FALLOCATE = 1u << 13,    /* squib_host_punch_hole */
	SQUIB_FAULT_THREAD = 1u << 14,	     /* squib_host_thread_start */
	SQUIB_FAULT_ALL = (1u << 15) - 1
};

/* Resets the counters and arms the injector: the nth request (1 = the next
 * one) whose kind is in kinds fails, and with sticky every later one of
 * those kinds too. nth == 0 only counts. Requests of other kinds are neither
 * counted nor failed. Safe from any thread; meant to be called while no
 * other thread makes host requests. */
void squib_fault_arm(unsigned kinds, uint64_t nth, bool sticky);

/* The errno an injected failure reports: err, or with 0 (the default, and
 * what squib_fault_arm() restores) the kind's own (ENOMEM for memory,
 * EMFILE for descriptors, ...). EINVAL, say, makes a request look refused
 * by an older kernel, which reaches the library's fallbacks. */
void squib_fault_force_errno(int err);

/* Called by lib/host.c: the errno of the failure it injects. */
int squib_fault_errno(int kind_default);

/* Disarms the injector: every request succeeds again. Counters are kept. */
void squib_fault_disarm(void);

/* Requests of the armed kinds made since squib_fault_arm(), failed or not. */
uint64_t squib_fault_requests(void);

/* Requests failed on purpose since squib_fault_arm(). */
uint64_t squib_fault_injected(void);

/* The kind of the most recent failed request, 0 if none. */
unsigned squib_fault_last_kind(void);

/* Host resources the library holds right now: blocks from squib_host_alloc*
 * not yet freed, reservations (every library-owned mapping sits in one) not
 * yet unmapped, and file descriptors (memfds, dups) not yet closed. Counted
 * whether or not the injector is armed, so a test can prove that a failed
 * call leaked none (valgrind does not track mappings). */
int64_t squib_fault_live_blocks(void);
int64_t squib_fault_live_mappings(void);
int64_t squib_fault_live_fds(void);

/* Called by lib/host.c before each request: true if this one must fail. */
bool squib_fault_hit(enum squib_fault_kind kind);

/* Called by lib/host.c after a block or mapping was obtained (+1) or given
 * back (-1). */
void squib_fault_count_block(int delta);
void squib_fault_count_mapping(int delta);
void squib_fault_count_fd(int delta);

#endif
