/* SPDX-License-Identifier: MIT */
/* syscall(2), MAP_ANONYMOUS and MAP_NORESERVE are not in ISO C. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <unistd.h>

#if defined(__linux__)
#include <linux/membarrier.h>
#include <sys/syscall.h>
#endif

#include "epoch.h"
#include "host.h"

/*
 * Process-wide state, documented in docs/DESIGN.md: the registry of threads
 * that have read guest memory. One registry for all handles keeps the
 * per-thread cost to one record, found with one %fs-relative load.
 */
SQUIB_TLS_FAST _Thread_local struct squib_reader squib_reader_self = {.seq = READER_SLOW};

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct squib_reader *registry;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static pthread_key_t exit_key;
static bool exit_key_ready;
static bool membarrier_ready;

#if defined(__linux__) && defined(SYS_membarrier)
static int membarrier(int cmd)
{
	return (int)syscall(SYS_membarrier, cmd, 0u, 0);
}

static bool membarrier_setup(void)
{
	int supported = membarrier(MEMBARRIER_CMD_QUERY);

	if (supported < 0 || !(supported & MEMBARRIER_CMD_PRIVATE_EXPEDITED))
		return false;
	return membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0;
}

/* Every running thread of the process executes a full barrier before this
 * returns: pairs with the compiler-only barrier of readers on the fast path. */
static void heavy_barrier(void)
{
	if (membarrier_ready && membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) == 0)
		return;
	atomic_thread_fence(memory_order_seq_cst);
}
#else
static bool membarrier_setup(void)
{
	return false;
}

static void heavy_barrier(void)
{
	atomic_thread_fence(memory_order_seq_cst);
}
#endif

static void reader_unregister(void *arg)
{
	struct squib_reader *reader = arg;

	pthread_mutex_lock(&registry_lock);
	*reader->pprev = reader->next;
	if (reader->next)
		reader->next->pprev = reader->pprev;
	pthread_mutex_unlock(&registry_lock);
	reader->registered = false;
	atomic_store_explicit(&reader->seq, READER_SLOW, memory_order_relaxed);
}

/* fork(): the registry must be consistent in the child, where only the
 * forking thread lives. Records of the parent's other threads are dropped,
 * so that a writer in the child does not wait for threads that do not
 * exist there. glibc removes these handlers at dlclose(). */
static void registry_before_fork(void)
{
	pthread_mutex_lock(&registry_lock);
}

static void registry_after_fork_parent(void)
{
	pthread_mutex_unlock(&registry_lock);
}

static void registry_after_fork_child(void)
{
	struct squib_reader *self = &squib_reader_self;

	registry = NULL;
	if (self->registered) {
		self->next = NULL;
		self->pprev = &registry;
		registry = self;
	}
	pthread_mutex_unlock(&registry_lock);
}

static void epoch_init_once(void)
{
	membarrier_ready = membarrier_setup();
	exit_key_ready = squib_host_key_create(&exit_key, reader_unregister) == 0;
	(void)pthread_atfork(registry_before_fork, registry_after_fork_parent,
			     registry_after_fork_child);
}

void squib_epoch_init(void)
{
	pthread_once(&init_once, epoch_init_once);
}

/* Without this, a thread exiting after dlclose() would run a destructor
 * that is no longer mapped. Deleting the key cancels them; the records live
 * in the threads' TLS and the registry in this object, so nothing leaks. */
__attribute__((destructor)) static void epoch_fini(void)
{
	if (exit_key_ready)
		pthread_key_delete(exit_key);
}

bool squib_reader_register(struct squib_reader *reader)
{
	squib_epoch_init();
	if (!exit_key_ready || squib_host_key_set(exit_key, reader) != 0)
		return false;
	pthread_mutex_lock(&registry_lock);
	reader->next = registry;
	reader->pprev = &registry;
	if (registry)
		registry->pprev = &reader->next;
	registry = reader;
	pthread_mutex_unlock(&registry_lock);
	reader->registered = true;
	/* Not inside a section here: the fast path may take over. */
	atomic_store_explicit(&reader->seq, membarrier_ready ? 0 : READER_SLOW,
			      memory_order_relaxed);
	return true;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

static void wait_for_reader(const struct squib_reader *reader)
{
	/* seq_cst: with membarrier any order would do; without it, this load
	 * and the table store before it are the writer's half of the Dekker
	 * pairing with the reader's seq_cst exchange. */
	uint64_t seen = atomic_load_explicit(&reader->seq, memory_order_seq_cst);

	if (!(seen & READER_INSIDE))
		return;
	/* Inside: wait for this section to end. Any change will do; a new
	 * section loads the new table. */
	for (unsigned spins = 0; atomic_load_explicit(&reader->seq, memory_order_seq_cst) == seen;
	     spins++) {
		/* Each poll pulls the reader's line away from it: poll gently. */
		cpu_relax();
		if (spins >= 64)
			sched_yield();
	}
}

void squib_epoch_synchronize(void)
{
	heavy_barrier();
	pthread_mutex_lock(&registry_lock);
	for (const struct squib_reader *reader = registry; reader; reader = reader->next)
		wait_for_reader(reader);
	pthread_mutex_unlock(&registry_lock);
}
