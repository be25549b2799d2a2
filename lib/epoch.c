/* SPDX-License-Identifier: MIT */
/* syscall(2), nanosleep(2), MAP_ANONYMOUS and MAP_NORESERVE are not in ISO C. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <time.h>
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

/*
 * How a writer waits for a reader it found inside a section. The reader
 * never wakes it: that would add a load of a shared "writer waiting" word to
 * every section's exit (liburcu's futex check), and the access path must
 * not grow. So the writer polls, ever less often, and blocks between polls
 * once the section has lasted longer than an access would:
 *
 * - WAIT_SPINS polls a pause apart, 1 to 10 us in all (a pause is 10 to 150
 *   cycles depending on the CPU). An access's section is well under 1 us,
 *   a copy of tens of KiB a few us: the common wait ends here, at once.
 * - WAIT_YIELDS polls a sched_yield() apart, about 1 us each when nothing
 *   else is runnable. A reader preempted on this very CPU runs instead.
 * - Then naps of WAIT_NAP_MIN_NS, doubling up to WAIT_NAP_MAX_NS. The exit
 *   is seen at most one nap late, and each nap is no longer than the wait
 *   so far (plus the spins), so a section that lasts t costs the writer a
 *   wait of about 2t at most, never more than about 1 ms late. The timer
 *   slack (50 us by default, none for real-time threads) stretches the
 *   first naps to about 50 us each. A reader away for long (its vCPU thread
 *   descheduled on an oversubscribed host, a stopped thread) costs the
 *   writer about 1000 wake-ups a second of 2 to 15 us of CPU each (the most
 *   in a VM): 1 % of a CPU or less, where polling burnt all of one
 *   (tests/faults/check_grace.c measures it).
 *
 * Readers never wait for it. It holds registry_lock (and its handle's
 * mutex) meanwhile, as it did when it spun: writers of any handle, and
 * threads making their first access or exiting, wait with it.
 */
#define WAIT_SPINS 256u
#define WAIT_YIELDS 8u
#define WAIT_NAP_MIN_NS 4000L
#define WAIT_NAP_MAX_NS 1000000L

static void wait_for_reader(const struct squib_reader *reader)
{
	/* seq_cst: with membarrier any order would do; without it, this load
	 * and the table store before it are the writer's half of the Dekker
	 * pairing with the reader's seq_cst exchange. */
	uint64_t seen = atomic_load_explicit(&reader->seq, memory_order_seq_cst);
	unsigned polls = 0;
	long nap_ns = WAIT_NAP_MIN_NS;

	if (!(seen & READER_INSIDE))
		return;
	/* Inside: wait for this section to end. Any change will do; a new
	 * section loads the new table. Each poll pulls the reader's line away
	 * from it, one more reason to poll less the longer the wait. */
	while (atomic_load_explicit(&reader->seq, memory_order_seq_cst) == seen) {
		if (polls < WAIT_SPINS) {
			polls++;
			cpu_relax();
		} else if (polls < WAIT_SPINS + WAIT_YIELDS) {
			polls++;
			sched_yield();
		} else {
			struct timespec nap = {.tv_sec = 0, .tv_nsec = nap_ns};

			/* Cannot fail but for EINTR, which only polls early. */
			(void)nanosleep(&nap, NULL);
			nap_ns = nap_ns < WAIT_NAP_MAX_NS / 2 ? 2 * nap_ns : WAIT_NAP_MAX_NS;
		}
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
