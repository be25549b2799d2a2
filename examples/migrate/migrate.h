/* SPDX-License-Identifier: MIT */
/*
 * example_migrate: a pre-copy live migration of a running guest's memory
 * from this process (the source) to a fork()ed child (the destination),
 * through squib_mem_save() and squib_mem_load() on one socket.
 *
 * The two ends, and the options the source runs with.
 */
#ifndef SQUIB_MIGRATE_EXAMPLE_H
#define SQUIB_MIGRATE_EXAMPLE_H

#include <stdbool.h>
#include <stdint.h>

struct options {
	bool quick;	      /* the ctest run: a modest write rate */
	bool tcp;	      /* a TCP loopback connection, not a Unix socketpair */
	unsigned writers;     /* threads dirtying the guest meanwhile */
	uint64_t rate;	      /* writes per second, all writers together */
	uint64_t downtime_ns; /* the target: stop when remaining / bandwidth fits */
	unsigned max_rounds;  /* live incremental rounds at most */
	bool helper_thread;   /* saves with SQUIB_SAVE_HELPER_THREAD */
	/* --kvm: a vCPU writes too (NULL: none) */
	const char *kvm_plugin; /* squib-kvm.so */
	const char *kvm_guest;	/* the flat binary of vcpu_guest.S */
	const char *kvm_lib;	/* the library the plugin loads: this program's */
};

/* Each returns the process's exit status: 0 when the migration went through
 * and both ends agree on every region, 1 otherwise. */
int run_source(const struct options *opts, int sock);
int run_destination(int sock);

#endif
