/* SPDX-License-Identifier: MIT */
/*
 * vcpu_writer.h on KVM: the VM and vCPU of examples/kvm/vcpu.c, the
 * squib-kvm.so plugin, and a thread running KVM_RUN.
 */
#define _GNU_SOURCE /* pthread_kill, clock_nanosleep */
#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#include "clock.h"
#include "squib_kvm.h"
#include "vcpu.h"
#include "vcpu_layout.h"
#include "vcpu_writer.h"

#define PACE_NS 200000L /* the monitor's sleep at each port write: 16 pages */
#define HALT_TIMEOUT_NS (2 * NS_PER_S)

struct vcpu_writer {
	struct vm vm;
	struct vcpu vcpu;
	void *plugin;
	squib_kvm_t *kvm;
	const squib_kvm_ops_t *ops;
	squib_mem_t *mem;
	pthread_t thread;
	bool running;
	pthread_mutex_t lock;
	pthread_cond_t halted_cond;
	bool finished; /* under lock: the thread is done */
	bool halted;   /* the guest executed hlt */
	atomic_bool forced;
	uint64_t pace_exits;
	char why[256];
};

static void on_kick(int sig)
{
	(void)sig; /* only there to make KVM_RUN return EINTR */
}

struct vcpu_writer *vcpu_writer_open(const char *guest_bin, uint8_t *code, size_t cap, size_t *len,
				     bool *skipped)
{
	const char *device = getenv("SQUIB_KVM_DEVICE");
	struct vcpu_writer *w = calloc(1, sizeof(*w));
	FILE *file;
	char why[256];

	*skipped = false;
	if (!w) {
		(void)fprintf(stderr, "example_migrate: out of memory\n");
		return NULL;
	}
	switch (vm_open(&w->vm, device ? device : "/dev/kvm", why, sizeof(why))) {
	case VM_OPENED:
		break;
	case VM_UNAVAILABLE:
		(void)printf("KVM: skipped, no usable KVM here (%s)\n", why);
		*skipped = true;
		free(w);
		return NULL;
	case VM_FAILED:
	default:
		(void)fprintf(stderr, "example_migrate: KVM: %s\n", why);
		free(w);
		return NULL;
	}
	file = fopen(guest_bin, "rb");
	*len = file ? fread(code, 1, cap, file) : 0;
	if (!file || ferror(file) || *len == 0 || (fgetc(file) != EOF)) {
		(void)fprintf(stderr, "example_migrate: KVM: cannot read the guest %s (%s)\n",
			      guest_bin, file ? "empty, too large or unreadable" : strerror(errno));
		if (file)
			(void)fclose(file);
		vm_close(&w->vm);
		free(w);
		return NULL;
	}
	(void)fclose(file);
	w->vcpu.fd = -1;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->halted_cond, NULL);
	atomic_init(&w->forced, false);
	return w;
}

static bool load_plugin(struct vcpu_writer *w, const char *path, const char *libpath)
{
	squib_kvm_plugin_open_fn *open_fn;
	char err[512] = "";
	squib_status_t status;
	void *sym;

	w->plugin = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!w->plugin) {
		(void)fprintf(stderr, "example_migrate: KVM: dlopen(%s): %s\n", path, dlerror());
		return false;
	}
	sym = dlsym(w->plugin, SQUIB_KVM_PLUGIN_ENTRY);
	if (!sym) {
		(void)fprintf(stderr, "example_migrate: KVM: %s has no %s\n", path,
			      SQUIB_KVM_PLUGIN_ENTRY);
		return false;
	}
	memcpy(&open_fn, &sym, sizeof(open_fn)); /* ISO C has no void * to function cast */
	status = open_fn(libpath, w->vm.vm_fd, &w->kvm, &w->ops, err, sizeof(err));
	if (status != SQUIB_OK || w->ops->sz < sizeof(squib_kvm_ops_t)) {
		(void)fprintf(stderr, "example_migrate: KVM: %s(%s): %s %s\n",
			      SQUIB_KVM_PLUGIN_ENTRY, libpath, squib_strerror(status), err);
		return false;
	}
	return true;
}

static void real_mode_segment(struct kvm_segment *seg, uint16_t selector)
{
	seg->selector = selector;
	seg->base = (uint64_t)selector << 4;
	seg->limit = 0xffff;
}

/* As after a reset, CS 0xf000 with base 0xffff0000 (KVM's reset state):
 * the code runs in the ROM below 4 GiB without a far jump. */
static bool enter(struct vcpu_writer *w)
{
	struct kvm_sregs sregs = w->vcpu.reset;
	struct kvm_regs regs;

	real_mode_segment(&sregs.ds, 0);
	real_mode_segment(&sregs.es, 0);
	real_mode_segment(&sregs.fs, 0);
	real_mode_segment(&sregs.gs, 0);
	real_mode_segment(&sregs.ss, 0);
	memset(&regs, 0, sizeof(regs));
	regs.rip = VG_ENTRY;
	regs.rflags = 0x2;
	if (ioctl(w->vcpu.fd, KVM_SET_SREGS, &sregs) == 0 &&
	    ioctl(w->vcpu.fd, KVM_SET_REGS, &regs) == 0)
		return true;
	(void)fprintf(stderr, "example_migrate: KVM: setting the registers: %s\n", strerror(errno));
	return false;
}

static void pace(void)
{
	struct timespec ts = {.tv_nsec = PACE_NS};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* KVM_RUN until the guest halts; *why otherwise. */
static bool run(struct vcpu_writer *w)
{
	struct kvm_run *r = w->vcpu.run;

	for (;;) {
		if (ioctl(w->vcpu.fd, KVM_RUN, 0) != 0) {
			if (errno == EINTR && !atomic_load(&w->forced))
				continue;
			(void)snprintf(w->why, sizeof(w->why), "KVM_RUN: %s",
				       errno == EINTR ? "no hlt in time" : strerror(errno));
			return false;
		}
		switch (r->exit_reason) {
		case KVM_EXIT_HLT:
			return true;
		case KVM_EXIT_IO:
			if (r->io.port == VG_PORT_PACE && r->io.direction == KVM_EXIT_IO_OUT) {
				w->pace_exits++;
				pace();
				continue;
			}
			(void)snprintf(w->why, sizeof(w->why), "port %s 0x%x",
				       r->io.direction == KVM_EXIT_IO_OUT ? "write to" : "read of",
				       r->io.port);
			return false;
		case KVM_EXIT_MMIO:
			(void)snprintf(w->why, sizeof(w->why), "MMIO %s 0x%llx",
				       r->mmio.is_write ? "write to" : "read of",
				       (unsigned long long)r->mmio.phys_addr);
			return false;
		default:
			(void)snprintf(w->why, sizeof(w->why), "exit reason %" PRIu32,
				       r->exit_reason);
			return false;
		}
	}
}

static void *vcpu_main(void *arg)
{
	struct vcpu_writer *w = arg;
	bool halted = run(w);

	pthread_mutex_lock(&w->lock);
	w->halted = halted;
	w->finished = true;
	pthread_cond_broadcast(&w->halted_cond);
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

bool vcpu_writer_start(struct vcpu_writer *w, squib_mem_t *mem, const char *plugin,
		       const char *libpath)
{
	struct sigaction action;
	char why[256];
	squib_status_t status;
	int err;

	/* The control words: RAM holds a pattern until now. */
	for (uint64_t at = VG_STOP; at <= VG_SWEEPS; at += 4) {
		status = squib_mem_write_u32_le(mem, SQUIB_GPA(at), 0);
		if (status != SQUIB_OK) {
			(void)fprintf(stderr, "example_migrate: KVM: clearing 0x%" PRIx64 ": %s\n",
				      at, squib_strerror(status));
			return false;
		}
	}
	if (!load_plugin(w, plugin, libpath))
		return false;
	status = w->ops->attach(w->kvm, mem);
	if (status != SQUIB_OK) {
		(void)fprintf(stderr, "example_migrate: KVM: attach: %s (%s; %s)\n",
			      squib_strerror(status), w->ops->last_error(w->kvm),
			      squib_last_error());
		return false;
	}
	w->mem = mem;
	if (vcpu_open(&w->vm, &w->vcpu, why, sizeof(why)) != 0) {
		(void)fprintf(stderr, "example_migrate: KVM: %s\n", why);
		return false;
	}
	memset(&action, 0, sizeof(action));
	action.sa_handler = on_kick; /* no SA_RESTART: KVM_RUN returns EINTR */
	(void)sigemptyset(&action.sa_mask);
	if (sigaction(SIGUSR1, &action, NULL) != 0 || !enter(w))
		return false;
	err = pthread_create(&w->thread, NULL, vcpu_main, w);
	if (err) {
		(void)fprintf(stderr, "example_migrate: pthread_create: %s\n", strerror(err));
		return false;
	}
	w->running = true;
	(void)printf("KVM: vCPU 0 runs the guest in the ROM, writing %d pages of ram-lo\n",
		     VG_PAGES);
	return true;
}

bool vcpu_writer_pause(struct vcpu_writer *w)
{
	uint64_t deadline = now_ns() + HALT_TIMEOUT_NS;
	struct timespec ts;
	squib_status_t status;
	bool halted;

	if (!w->running)
		return false;
	status = squib_mem_write_u32_le(w->mem, SQUIB_GPA(VG_STOP), 1);
	if (status != SQUIB_OK)
		(void)fprintf(stderr, "example_migrate: KVM: writing STOP: %s\n",
			      squib_strerror(status));
	/* pthread_cond_timedwait measures CLOCK_REALTIME by default. */
	(void)clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += (time_t)(HALT_TIMEOUT_NS / NS_PER_S);
	pthread_mutex_lock(&w->lock);
	while (!w->finished && now_ns() < deadline)
		if (pthread_cond_timedwait(&w->halted_cond, &w->lock, &ts) == ETIMEDOUT)
			break;
	if (!w->finished) {
		/* Out of KVM_RUN at once: immediate_exit, and a signal for a
		 * KVM_RUN already under way. */
		atomic_store(&w->forced, true);
		w->vcpu.run->immediate_exit = 1;
		(void)pthread_kill(w->thread, SIGUSR1);
	}
	pthread_mutex_unlock(&w->lock);
	(void)pthread_join(w->thread, NULL);
	w->running = false;
	halted = w->halted;
	if (!halted)
		(void)fprintf(stderr, "example_migrate: KVM: the guest did not halt: %s\n", w->why);
	return halted && status == SQUIB_OK;
}

void vcpu_writer_report(const struct vcpu_writer *w, const squib_mem_t *mem)
{
	uint32_t writes = 0, sweeps = 0;

	if (squib_mem_read_u32_le(mem, SQUIB_GPA(VG_WRITES), &writes) != SQUIB_OK ||
	    squib_mem_read_u32_le(mem, SQUIB_GPA(VG_SWEEPS), &sweeps) != SQUIB_OK)
		return;
	(void)printf("KVM: the vCPU wrote %" PRIu32 " times (%" PRIu32 " sweeps of %d pages,"
		     " %" PRIu64 " pacing exits), seen through KVM's dirty log\n",
		     writes, sweeps, VG_PAGES, w->pace_exits);
}

void vcpu_writer_close(struct vcpu_writer *w)
{
	if (!w)
		return;
	if (w->running)
		(void)vcpu_writer_pause(w);
	if (w->ops)
		w->ops->close(w->kvm); /* detaches first */
	if (w->plugin)
		(void)dlclose(w->plugin);
	if (w->vcpu.fd >= 0)
		vcpu_close(&w->vcpu);
	vm_close(&w->vm);
	pthread_cond_destroy(&w->halted_cond);
	pthread_mutex_destroy(&w->lock);
	free(w);
}
