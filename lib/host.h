/* SPDX-License-Identifier: MIT */
/*
 * Internal: every request the library makes to the host for memory or
 * thread-exit hooks goes through here, so that each one can fail on demand
 * in the fault-injection test build and be proven harmless.
 */
#ifndef SQUIB_LIB_HOST_H
#define SQUIB_LIB_HOST_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <squib/error.h>

/* Blocks from squib_host_alloc are aligned to a cache line. */
void *squib_host_alloc(size_t size);
void *squib_host_alloc_aligned(size_t alignment, size_t size);
void squib_host_free(void *ptr);

/* Maps zero-filled memory for the guest range [base, base + size). The host
 * address returned for base is congruent to base modulo the page size, so
 * a naturally aligned guest access is a naturally aligned host access.
 * Sets the error message and returns SQUIB_E_NO_MEMORY on failure. */
squib_status_t squib_host_map(uint64_t base, uint64_t size, uint8_t **host_addr);
void squib_host_unmap(uint64_t base, uint64_t size, uint8_t *host_addr);

int squib_host_key_create(pthread_key_t *key, void (*destructor)(void *));
int squib_host_key_set(pthread_key_t key, const void *value);

#endif
