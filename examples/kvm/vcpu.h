/* SPDX-License-Identifier: MIT */
/*
 * The monitor's side of KVM: the VM, one vCPU in 16-bit real mode, and the
 * KVM_RUN loop that turns the guest's exits into a trace the monitor checks
 * afterwards. Nothing here knows libsquibcore: guest memory reaches KVM
 * only through the plugin.
 */
#ifndef SQUIB_KVM_EXAMPLE_VCPU_H
#define SQUIB_KVM_EXAMPLE_VCPU_H

#include <stddef.h>
#include <stdint.h>

#include <linux/kvm.h>

struct vm {
	int kvm_fd;	    /* /dev/kvm */
	int vm_fd;	    /* KVM_CREATE_VM */
	uint32_t max_slots; /* KVM_CAP_NR_MEMSLOTS */
};

enum vm_open_result {
	VM_OPENED,
	VM_UNAVAILABLE, /* no usable /dev/kvm here: the example is skipped */
	VM_FAILED,	/* KVM is there but misbehaves: a failure */
};

/* Opens @p device (normally /dev/kvm) and creates a VM; *vm is untouched
 * unless VM_OPENED, and @p why says what went wrong otherwise. */
enum vm_open_result vm_open(struct vm *vm, const char *device, char *why, size_t why_len);
void vm_close(struct vm *vm);

/* Whether KVM has no memory slot overlapping [base, base + size), asked of
 * KVM itself: creating a slot there fails with EEXIST exactly when one
 * does. 1: none, 0: some slot overlaps, -1: the probe failed (@p why). */
int vm_range_unmapped(const struct vm *vm, uint64_t base, uint64_t size, char *why, size_t why_len);

struct vcpu {
	int fd;
	struct kvm_run *run; /* the shared page KVM reports exits in */
	size_t run_size;
	struct kvm_sregs reset; /* KVM's reset state: every run starts from it */
};

/* Creates vCPU 0 of @p vm; 0, or -1 with @p why and nothing left open. */
int vcpu_open(const struct vm *vm, struct vcpu *vcpu, char *why, size_t why_len);
void vcpu_close(struct vcpu *vcpu);

enum guest_event_kind {
	GUEST_OUT,	  /* port write: addr is the port */
	GUEST_IN,	  /* port read, answered with all ones */
	GUEST_MMIO_WRITE, /* a store KVM had no writable memory for */
	GUEST_MMIO_READ,  /* a load KVM had no memory for: all ones */
	GUEST_HLT,
};

struct guest_event {
	enum guest_event_kind kind;
	uint64_t addr; /* port or guest-physical address */
	uint32_t len;  /* bytes */
	uint64_t value;
};

#define GUEST_EVENTS_MAX 16

struct guest_trace {
	struct guest_event events[GUEST_EVENTS_MAX];
	size_t count;
};

/* Resets the vCPU to real mode at @p cs:@p ip (data segments 0, no stack,
 * interrupts off) and runs it until it halts, at most @p timeout_s
 * seconds. Every exit is appended to @p trace; the devices behind the
 * ports and unbacked addresses ignore writes and read as all ones.
 * 0 on hlt; -1 with @p why on a timeout, a full trace, or an exit the
 * guest should never cause (a triple fault, an emulation failure). */
int vcpu_run_real_mode(struct vcpu *vcpu, uint16_t cs, uint16_t ip, unsigned timeout_s,
		       struct guest_trace *trace, char *why, size_t why_len);

#endif
