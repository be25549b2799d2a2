/* SPDX-License-Identifier: MIT */
/*
 * A KVM vCPU writing guest memory while it migrates (with --kvm): the
 * real-mode guest of vcpu_guest.S runs on KVM through the squib-kvm.so
 * plugin of examples/kvm, whose listener mirrors the regions into KVM
 * memory slots and feeds KVM's dirty log back into the library's
 * (log_sync), which is where squib_mem_save() finds the pages the vCPU
 * wrote. Without a usable /dev/kvm (or with a build that has no KVM
 * support) it is skipped, and the migration runs without it.
 */
#ifndef SQUIB_MIGRATE_VCPU_WRITER_H
#define SQUIB_MIGRATE_VCPU_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <squib/core.h>

struct vcpu_writer;

/* Opens KVM (SQUIB_KVM_DEVICE replaces /dev/kvm) and reads the guest's
 * code from @p guest_bin into @p code (at most @p cap bytes, *len of
 * them), for the ROM. NULL with *skipped when this machine cannot run it
 * (printed), NULL without it on a failure (printed). */
struct vcpu_writer *vcpu_writer_open(const char *guest_bin, uint8_t *code, size_t cap, size_t *len,
				     bool *skipped);

/* Loads @p plugin, which loads @p libpath (the library this program runs
 * on), attaches it to @p mem and starts the vCPU in a thread. */
bool vcpu_writer_start(struct vcpu_writer *writer, squib_mem_t *mem, const char *plugin,
		       const char *libpath);

/* Tells the guest to stop (a library write of its STOP word) and waits
 * until it halted; false if it failed or did not halt (printed). */
bool vcpu_writer_pause(struct vcpu_writer *writer);

/* Prints what the guest did, as its counters in @p mem say. */
void vcpu_writer_report(const struct vcpu_writer *writer, const squib_mem_t *mem);

/* Detaches the plugin (before squib_mem_free() of the handle), closes the
 * vCPU and the VM, frees @p writer. NULL is a no-op. */
void vcpu_writer_close(struct vcpu_writer *writer);

#endif
