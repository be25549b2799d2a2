/* SPDX-License-Identifier: MIT */
/*
 * The VM, its one vCPU and the KVM_RUN loop (vcpu.h).
 */
#define _GNU_SOURCE /* sigaction, MAP_ANONYMOUS */
#include "vcpu.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

/* Three pages KVM keeps for itself on Intel hosts that cannot run real
 * mode natively: above the guest's map, as QEMU places it. */
#define TSS_ADDR 0xfffbd000ul

#define KVM_API 12

enum vm_open_result vm_open(struct vm *vm, const char *device, char *why, size_t why_len)
{
	int kvm_fd, vm_fd, version, slots, err;

	kvm_fd = open(device, O_RDWR | O_CLOEXEC);
	if (kvm_fd < 0) {
		(void)snprintf(why, why_len, "cannot open %s: %s", device, strerror(errno));
		return VM_UNAVAILABLE;
	}
	version = ioctl(kvm_fd, KVM_GET_API_VERSION, 0);
	if (version != KVM_API) {
		(void)snprintf(why, why_len, "%s speaks KVM API %d, not %d", device, version,
			       KVM_API);
		(void)close(kvm_fd);
		return VM_UNAVAILABLE;
	}
	vm_fd = ioctl(kvm_fd, KVM_CREATE_VM, 0);
	if (vm_fd < 0) {
		(void)snprintf(why, why_len, "KVM_CREATE_VM on %s: %s", device, strerror(errno));
		(void)close(kvm_fd);
		return VM_UNAVAILABLE;
	}
	if (ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SET_TSS_ADDR) > 0 &&
	    ioctl(vm_fd, KVM_SET_TSS_ADDR, TSS_ADDR) < 0) {
		err = errno;
		(void)snprintf(why, why_len, "KVM_SET_TSS_ADDR: %s", strerror(err));
		(void)close(vm_fd);
		(void)close(kvm_fd);
		return VM_FAILED;
	}
	slots = ioctl(vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_MEMSLOTS);
	vm->kvm_fd = kvm_fd;
	vm->vm_fd = vm_fd;
	vm->max_slots = slots > 0 ? (uint32_t)slots : 32u;
	return VM_OPENED;
}

void vm_close(struct vm *vm)
{
	(void)close(vm->vm_fd);
	(void)close(vm->kvm_fd);
	vm->vm_fd = vm->kvm_fd = -1;
}

int vm_range_unmapped(const struct vm *vm, uint64_t base, uint64_t size, char *why, size_t why_len)
{
	/* The highest slot id: the plugin hands out the lowest free ones. */
	struct kvm_userspace_memory_region reg = {
	    .slot = vm->max_slots - 1,
	    .guest_phys_addr = base,
	    .memory_size = size,
	};
	void *memory;
	int result, err;

	memory = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (memory == MAP_FAILED) {
		(void)snprintf(why, why_len, "mmap of %" PRIu64 " bytes: %s", size,
			       strerror(errno));
		return -1;
	}
	reg.userspace_addr = (uint64_t)(uintptr_t)memory;
	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &reg) == 0) {
		reg.memory_size = 0;
		result = 1;
		if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &reg) < 0) {
			(void)snprintf(why, why_len, "deleting the probe slot: %s",
				       strerror(errno));
			result = -1;
		}
	} else {
		err = errno;
		result = err == EEXIST ? 0 : -1;
		(void)snprintf(why, why_len,
			       "KVM_SET_USER_MEMORY_REGION(slot %" PRIu32 ", gpa 0x%" PRIx64
			       ", size 0x%" PRIx64 "): %s",
			       reg.slot, base, size, strerror(err));
	}
	(void)munmap(memory, (size_t)size);
	return result;
}

int vcpu_open(const struct vm *vm, struct vcpu *vcpu, char *why, size_t why_len)
{
	int fd, size;
	void *run;

	fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, 0);
	if (fd < 0) {
		(void)snprintf(why, why_len, "KVM_CREATE_VCPU: %s", strerror(errno));
		return -1;
	}
	size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (size < (int)sizeof(struct kvm_run)) {
		(void)snprintf(why, why_len, "KVM_GET_VCPU_MMAP_SIZE: %d (%s)", size,
			       size < 0 ? strerror(errno) : "too small");
		(void)close(fd);
		return -1;
	}
	run = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (run == MAP_FAILED) {
		(void)snprintf(why, why_len, "mmap of kvm_run: %s", strerror(errno));
		(void)close(fd);
		return -1;
	}
	if (ioctl(fd, KVM_GET_SREGS, &vcpu->reset) < 0) {
		(void)snprintf(why, why_len, "KVM_GET_SREGS: %s", strerror(errno));
		(void)munmap(run, (size_t)size);
		(void)close(fd);
		return -1;
	}
	vcpu->fd = fd;
	vcpu->run = run;
	vcpu->run_size = (size_t)size;
	return 0;
}

void vcpu_close(struct vcpu *vcpu)
{
	(void)munmap(vcpu->run, vcpu->run_size);
	(void)close(vcpu->fd);
	vcpu->fd = -1;
	vcpu->run = NULL;
}

static void real_mode_segment(struct kvm_segment *seg, uint16_t selector)
{
	seg->selector = selector;
	seg->base = (uint64_t)selector << 4;
	seg->limit = 0xffff;
}

static int enter_real_mode(struct vcpu *vcpu, uint16_t cs, uint16_t ip, char *why, size_t why_len)
{
	struct kvm_sregs sregs = vcpu->reset;
	struct kvm_regs regs;

	real_mode_segment(&sregs.cs, cs);
	real_mode_segment(&sregs.ds, 0);
	real_mode_segment(&sregs.es, 0);
	real_mode_segment(&sregs.fs, 0);
	real_mode_segment(&sregs.gs, 0);
	real_mode_segment(&sregs.ss, 0);
	memset(&regs, 0, sizeof(regs));
	regs.rip = ip;
	regs.rflags = 0x2; /* bit 1 is always set; IF clear */
	if (ioctl(vcpu->fd, KVM_SET_SREGS, &sregs) < 0 ||
	    ioctl(vcpu->fd, KVM_SET_REGS, &regs) < 0) {
		(void)snprintf(why, why_len, "setting real-mode registers: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* The timeout: SIGALRM sets immediate_exit, which makes a KVM_RUN in
 * progress or about to start return EINTR (no race with the check). */
static struct kvm_run *volatile alarm_run;

static void on_alarm(int sig)
{
	struct kvm_run *run = alarm_run;

	(void)sig;
	if (run != NULL)
		run->immediate_exit = 1;
}

static uint64_t little_endian(const uint8_t *data, uint32_t len)
{
	uint64_t value = 0;

	for (uint32_t i = len; i-- > 0;)
		value = value << 8 | data[i];
	return value;
}

static bool record(struct guest_trace *trace, enum guest_event_kind kind, uint64_t addr,
		   uint32_t len, uint64_t value)
{
	if (trace->count == GUEST_EVENTS_MAX)
		return false;
	trace->events[trace->count++] = (struct guest_event){kind, addr, len, value};
	return true;
}

/* Handles one exit; 1: go on, 0: halted, -1: failed (@p why). */
static int handle_exit(struct kvm_run *run, struct guest_trace *trace, char *why, size_t why_len)
{
	uint8_t *data;

	switch (run->exit_reason) {
	case KVM_EXIT_HLT:
		if (!record(trace, GUEST_HLT, 0, 0, 0))
			break;
		return 0;
	case KVM_EXIT_IO:
		data = (uint8_t *)run + run->io.data_offset;
		for (uint32_t i = 0; i < run->io.count; i++, data += run->io.size) {
			if (run->io.direction == KVM_EXIT_IO_IN)
				memset(data, 0xff, run->io.size);
			if (!record(trace,
				    run->io.direction == KVM_EXIT_IO_OUT ? GUEST_OUT : GUEST_IN,
				    run->io.port, run->io.size, little_endian(data, run->io.size)))
				goto full;
		}
		return 1;
	case KVM_EXIT_MMIO:
		if (run->mmio.len > sizeof(run->mmio.data))
			break;
		if (!run->mmio.is_write)
			memset(run->mmio.data, 0xff, run->mmio.len);
		if (!record(trace, run->mmio.is_write ? GUEST_MMIO_WRITE : GUEST_MMIO_READ,
			    run->mmio.phys_addr, run->mmio.len,
			    little_endian(run->mmio.data, run->mmio.len)))
			goto full;
		return 1;
	case KVM_EXIT_FAIL_ENTRY:
		(void)snprintf(why, why_len, "KVM_EXIT_FAIL_ENTRY, hardware reason 0x%llx",
			       (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		return -1;
	case KVM_EXIT_INTERNAL_ERROR:
		(void)snprintf(why, why_len, "KVM_EXIT_INTERNAL_ERROR, suberror %" PRIu32,
			       run->internal.suberror);
		return -1;
	case KVM_EXIT_SHUTDOWN:
		(void)snprintf(why, why_len, "KVM_EXIT_SHUTDOWN (a triple fault)");
		return -1;
	default:
		(void)snprintf(why, why_len, "unexpected exit reason %" PRIu32, run->exit_reason);
		return -1;
	}
full:
	(void)snprintf(why, why_len, "more than %d exits without a hlt", GUEST_EVENTS_MAX);
	return -1;
}

int vcpu_run_real_mode(struct vcpu *vcpu, uint16_t cs, uint16_t ip, unsigned timeout_s,
		       struct guest_trace *trace, char *why, size_t why_len)
{
	struct sigaction action, old_action;
	struct kvm_run *run = vcpu->run;
	int result;

	trace->count = 0;
	if (enter_real_mode(vcpu, cs, ip, why, why_len) != 0)
		return -1;
	memset(&action, 0, sizeof(action));
	action.sa_handler = on_alarm;
	(void)sigemptyset(&action.sa_mask);
	if (sigaction(SIGALRM, &action, &old_action) != 0) {
		(void)snprintf(why, why_len, "sigaction(SIGALRM): %s", strerror(errno));
		return -1;
	}
	run->immediate_exit = 0;
	alarm_run = run;
	(void)alarm(timeout_s);
	do {
		if (ioctl(vcpu->fd, KVM_RUN, 0) == 0) {
			result = handle_exit(run, trace, why, why_len);
		} else if (errno == EINTR && run->immediate_exit) {
			(void)snprintf(why, why_len, "no hlt within %u s (%zu exits)", timeout_s,
				       trace->count);
			result = -1;
		} else if (errno == EINTR) {
			result = 1; /* some other signal: go on */
		} else {
			(void)snprintf(why, why_len, "KVM_RUN: %s", strerror(errno));
			result = -1;
		}
	} while (result == 1);
	(void)alarm(0);
	alarm_run = NULL;
	run->immediate_exit = 0;
	(void)sigaction(SIGALRM, &old_action, NULL);
	return result;
}
