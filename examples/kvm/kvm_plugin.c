/* SPDX-License-Identifier: MIT */
/*
 * squib-kvm.so: its entry point and the operations of squib_kvm.h. The
 * listener that keeps the KVM slots is in kvm_slots.c.
 *
 * The plugin does not link libsquibcore. It dlopen()s it and binds each
 * function it calls with dlvsym() at the node that introduced it, the way
 * a backend built against one release keeps working with every later
 * libsquibcore.so.0: a symbol bound at its node is exactly the function
 * this code was written against, never a same-named successor.
 */
#define _GNU_SOURCE /* dlvsym, dladdr, RTLD_DEFAULT */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kvm_plugin.h"

/* KVM_CAP_NR_MEMSLOTS is absent only on kernels whose limit was 32. */
#define KVM_OLD_MEMSLOTS 32u

void plugin_failf(struct squib_kvm *kvm, const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	(void)vsnprintf(kvm->message, sizeof(kvm->message), fmt, args);
	va_end(args);
	kvm->failures++;
}

static squib_status_t op_attach(squib_kvm_t *kvm, squib_mem_t *mem)
{
	squib_listener_t listener = SQUIB_LISTENER_INIT;
	unsigned long failures;
	squib_status_t status;
	uint64_t id;

	if (kvm == NULL || mem == NULL)
		return SQUIB_E_INVALID_ARGUMENT;
	pthread_mutex_lock(&kvm->lock);
	if (kvm->mem != NULL) {
		plugin_failf(kvm, "squib-kvm: already attached to a guest memory");
		pthread_mutex_unlock(&kvm->lock);
		return SQUIB_E_BUSY;
	}
	kvm->mem = mem; /* flush_log needs it during the replay */
	failures = kvm->failures;
	pthread_mutex_unlock(&kvm->lock);

	slots_listener(kvm, &listener);
	status = kvm->api.squib_mem_listener_add(mem, &listener, &id);

	pthread_mutex_lock(&kvm->lock);
	if (status == SQUIB_OK) {
		kvm->attached = true;
		kvm->listener_id = id;
	} else {
		kvm->mem = NULL;
		/* A veto of ours has the better message already. */
		if (kvm->failures == failures)
			plugin_failf(kvm, "squib-kvm: squib_mem_listener_add: %s (%s)",
				     kvm->api.squib_strerror(status), kvm->api.squib_last_error());
	}
	pthread_mutex_unlock(&kvm->lock);
	return status;
}

static squib_status_t op_detach(squib_kvm_t *kvm)
{
	squib_status_t status;
	squib_mem_t *mem;
	uint64_t id;

	if (kvm == NULL)
		return SQUIB_E_INVALID_ARGUMENT;
	pthread_mutex_lock(&kvm->lock);
	if (!kvm->attached) {
		plugin_failf(kvm, "squib-kvm: not attached");
		pthread_mutex_unlock(&kvm->lock);
		return SQUIB_E_NOT_FOUND;
	}
	mem = kvm->mem;
	id = kvm->listener_id;
	pthread_mutex_unlock(&kvm->lock);

	status = kvm->api.squib_mem_listener_remove(mem, id); /* region_del for each */

	pthread_mutex_lock(&kvm->lock);
	if (status == SQUIB_OK) {
		kvm->attached = false;
		kvm->mem = NULL;
	} else {
		plugin_failf(kvm, "squib-kvm: squib_mem_listener_remove(%" PRIu64 "): %s (%s)", id,
			     kvm->api.squib_strerror(status), kvm->api.squib_last_error());
	}
	pthread_mutex_unlock(&kvm->lock);
	return status;
}

static squib_status_t op_listener_id(squib_kvm_t *kvm, uint64_t *id)
{
	squib_status_t status = SQUIB_E_NOT_FOUND;

	if (kvm == NULL || id == NULL)
		return SQUIB_E_INVALID_ARGUMENT;
	pthread_mutex_lock(&kvm->lock);
	if (kvm->attached) {
		*id = kvm->listener_id;
		status = SQUIB_OK;
	}
	pthread_mutex_unlock(&kvm->lock);
	return status;
}

static size_t op_slot_count(squib_kvm_t *kvm)
{
	size_t n = 0;

	if (kvm == NULL)
		return 0;
	pthread_mutex_lock(&kvm->lock);
	for (uint32_t i = 0; i < kvm->cap; i++)
		n += kvm->slots[i].state == SLOT_HELD;
	pthread_mutex_unlock(&kvm->lock);
	return n;
}

static squib_status_t op_find_slot(squib_kvm_t *kvm, uint32_t region_slot, squib_kvm_slot_t *out)
{
	squib_status_t status = SQUIB_E_NOT_FOUND;
	const struct slot *s;

	if (kvm == NULL || out == NULL)
		return SQUIB_E_INVALID_ARGUMENT;
	pthread_mutex_lock(&kvm->lock);
	s = slots_find(kvm, region_slot);
	if (s != NULL) {
		out->region_slot = s->region_slot;
		out->kvm_slot = s->reg.slot;
		out->kvm_flags = s->reg.flags;
		out->registered = s->in_kvm;
		out->guest_phys_addr = s->reg.guest_phys_addr;
		out->memory_size = s->reg.memory_size;
		out->userspace_addr = s->reg.userspace_addr;
		status = SQUIB_OK;
	}
	pthread_mutex_unlock(&kvm->lock);
	return status;
}

static const char *op_last_error(squib_kvm_t *kvm)
{
	return kvm == NULL ? "squib-kvm: no instance" : kvm->message;
}

static void op_close(squib_kvm_t *kvm)
{
	bool attached;

	if (kvm == NULL)
		return;
	pthread_mutex_lock(&kvm->lock);
	attached = kvm->attached;
	pthread_mutex_unlock(&kvm->lock);
	if (attached && op_detach(kvm) != SQUIB_OK) {
		/* The library would call into freed memory: keep it. */
		fprintf(stderr, "%s; keeping the plugin instance\n", kvm->message);
		return;
	}
	slots_free(kvm);
	(void)close(kvm->vm_fd);
	pthread_mutex_destroy(&kvm->lock);
	(void)dlclose(kvm->lib);
	free(kvm);
}

static const squib_kvm_ops_t plugin_ops = {
    .sz = sizeof(squib_kvm_ops_t),
    .attach = op_attach,
    .detach = op_detach,
    .listener_id = op_listener_id,
    .slot_count = op_slot_count,
    .find_slot = op_find_slot,
    .last_error = op_last_error,
    .close = op_close,
};

/* Binds one function at its node. The object-to-function pointer
 * conversion goes through memcpy, as ISO C users of dlsym() must. */
static bool bind_one(void *lib, const char *name, const char *node, void *field, size_t size,
		     char *err, size_t err_len)
{
	void *sym = dlvsym(lib, name, node);

	if (sym == NULL || size != sizeof(sym)) {
		(void)snprintf(err, err_len, "squib-kvm: dlvsym(%s, %s): %s", name, node,
			       sym == NULL ? dlerror() : "pointer size mismatch");
		return false;
	}
	memcpy(field, &sym, size);
	return true;
}

static bool bind_api(void *lib, struct api *api, char *err, size_t err_len)
{
#define API_BIND(name, node)                                                                       \
	if (!bind_one(lib, #name, node, &api->name, sizeof(api->name), err, err_len))              \
		return false;
	PLUGIN_API(API_BIND)
#undef API_BIND
	return true;
}

/* A second libsquibcore beside one the process already has would see none
 * of its handles: refuse it, naming both files. */
static bool same_copy(void *lib, char *err, size_t err_len)
{
	void *ours = dlvsym(lib, "squib_mem_listener_add", "SQUIB_CORE_0.3");
	void *global = dlvsym(RTLD_DEFAULT, "squib_mem_listener_add", "SQUIB_CORE_0.3");
	Dl_info ours_info, global_info;

	if (global == NULL || global == ours)
		return true;
	if (dladdr(ours, &ours_info) == 0)
		ours_info.dli_fname = "?";
	if (dladdr(global, &global_info) == 0)
		global_info.dli_fname = "?";
	(void)snprintf(err, err_len,
		       "squib-kvm: %s is a second copy of libsquibcore beside the process's %s; "
		       "pass the path of the one the monitor loaded",
		       ours_info.dli_fname, global_info.dli_fname);
	return false;
}

/* The entry point's declaration from its type in squib_kvm.h, so the two
 * cannot disagree. */
__attribute__((visibility("default"))) squib_kvm_plugin_open_fn squib_kvm_plugin_open;

squib_status_t squib_kvm_plugin_open(const char *libpath, int vm_fd, squib_kvm_t **out,
				     const squib_kvm_ops_t **ops, char *err, size_t err_len)
{
	char scratch[8];
	squib_status_t status;
	struct squib_kvm *kvm;
	int slots, saved;

	if (err == NULL || err_len == 0) {
		err = scratch;
		err_len = sizeof(scratch);
	}
	err[0] = '\0';
	if (libpath == NULL || vm_fd < 0 || out == NULL || ops == NULL) {
		(void)snprintf(err, err_len, "squib-kvm: NULL argument or negative VM fd");
		return SQUIB_E_INVALID_ARGUMENT;
	}
	kvm = calloc(1, sizeof(*kvm));
	if (kvm == NULL) {
		(void)snprintf(err, err_len, "squib-kvm: no memory");
		return SQUIB_E_NO_MEMORY;
	}
	kvm->vm_fd = -1;

	kvm->lib = dlopen(libpath, RTLD_NOW | RTLD_LOCAL);
	if (kvm->lib == NULL) {
		(void)snprintf(err, err_len, "squib-kvm: dlopen(%s): %s", libpath, dlerror());
		status = SQUIB_E_UNSUPPORTED;
		goto fail;
	}
	if (!bind_api(kvm->lib, &kvm->api, err, err_len) || !same_copy(kvm->lib, err, err_len)) {
		status = SQUIB_E_UNSUPPORTED;
		goto fail;
	}

	slots = ioctl(vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_MEMSLOTS);
	if (slots < 0) {
		saved = errno;
		(void)snprintf(err, err_len, "squib-kvm: fd %d is not a KVM VM: %s", vm_fd,
			       strerror(saved));
		status = SQUIB_E_IO;
		goto fail;
	}
	kvm->max_slots = slots > 0 ? (uint32_t)slots : KVM_OLD_MEMSLOTS;
	kvm->readonly_mem = ioctl(vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_READONLY_MEM) > 0;
	kvm->vm_fd = fcntl(vm_fd, F_DUPFD_CLOEXEC, 0);
	if (kvm->vm_fd < 0) {
		saved = errno;
		(void)snprintf(err, err_len, "squib-kvm: dup of VM fd %d: %s", vm_fd,
			       strerror(saved));
		status = SQUIB_E_IO;
		goto fail;
	}
	if (pthread_mutex_init(&kvm->lock, NULL) != 0) {
		(void)snprintf(err, err_len, "squib-kvm: pthread_mutex_init failed");
		status = SQUIB_E_NO_MEMORY;
		goto fail;
	}
	*out = kvm;
	*ops = &plugin_ops;
	return SQUIB_OK;
fail:
	if (kvm->vm_fd >= 0)
		(void)close(kvm->vm_fd);
	if (kvm->lib != NULL)
		(void)dlclose(kvm->lib);
	free(kvm);
	return status;
}
