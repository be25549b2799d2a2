/* SPDX-License-Identifier: MIT */
/* Test-only fault injector; see fault.h. Built into squibcore_faulty only. */
#include <stdatomic.h>

#include "fault.h"

/* Atomics: a test may arm the injector in one thread and have the requests
 * made by another (the first access of a new thread). */
static _Atomic unsigned armed_kinds;
static _Atomic uint64_t fail_at;   /* 1-based request number, 0: never */
static _Atomic bool fail_sticky;   /* also fail every request after fail_at */
static _Atomic uint64_t requests;  /* requests of armed_kinds seen */
static _Atomic uint64_t injected;  /* requests failed on purpose */
static _Atomic unsigned last_kind; /* kind of the last failed request */
static _Atomic int64_t live_blocks;
static _Atomic int64_t live_mappings;
static _Atomic int64_t live_fds;
static _Atomic int forced_errno; /* 0: each kind's own */

void squib_fault_arm(unsigned kinds, uint64_t nth, bool sticky)
{
	atomic_store(&armed_kinds, 0u);
	atomic_store(&requests, 0u);
	atomic_store(&injected, 0u);
	atomic_store(&last_kind, 0u);
	atomic_store(&fail_at, nth);
	atomic_store(&fail_sticky, sticky);
	atomic_store(&forced_errno, 0);
	atomic_store(&armed_kinds, kinds & (unsigned)SQUIB_FAULT_ALL);
}

void squib_fault_disarm(void)
{
	atomic_store(&fail_at, 0u);
	atomic_store(&fail_sticky, false);
}

uint64_t squib_fault_requests(void)
{
	return atomic_load(&requests);
}

uint64_t squib_fault_injected(void)
{
	return atomic_load(&injected);
}

unsigned squib_fault_last_kind(void)
{
	return atomic_load(&last_kind);
}

bool squib_fault_hit(enum squib_fault_kind kind)
{
	uint64_t number, at;

	if (!(atomic_load(&armed_kinds) & (unsigned)kind))
		return false;
	number = atomic_fetch_add(&requests, 1u) + 1u;
	at = atomic_load(&fail_at);
	if (at == 0 || number < at || (number > at && !atomic_load(&fail_sticky)))
		return false;
	atomic_fetch_add(&injected, 1u);
	atomic_store(&last_kind, (unsigned)kind);
	return true;
}

int64_t squib_fault_live_blocks(void)
{
	return atomic_load(&live_blocks);
}

int64_t squib_fault_live_mappings(void)
{
	return atomic_load(&live_mappings);
}

void squib_fault_count_block(int delta)
{
	atomic_fetch_add(&live_blocks, delta);
}

void squib_fault_count_mapping(int delta)
{
	atomic_fetch_add(&live_mappings, delta);
}

int64_t squib_fault_live_fds(void)
{
	return atomic_load(&live_fds);
}

void squib_fault_count_fd(int delta)
{
	atomic_fetch_add(&live_fds, delta);
}

void squib_fault_force_errno(int err)
{
	atomic_store(&forced_errno, err);
}

int squib_fault_errno(int kind_default)
{
	int err = atomic_load(&forced_errno);

	return err ? err : kind_default;
}
