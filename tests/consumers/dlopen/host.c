/* SPDX-License-Identifier: MIT */
/*
 * Host of the two backend plugins.
 *
 * Built twice from this file:
 *
 *   host-linked (HOST_LINKED=1) links libsquibcore through pkg-config, like
 *   the squib monitor. It creates one handle, starts reader and writer
 *   threads on it, and loads, runs and unloads both plugins ROUNDS times;
 *   each plugin dlopens/dlcloses libsquibcore.so.0 itself.
 *
 *       host-linked PLUGIN_A PLUGIN_B ROUNDS
 *
 *   host-dlopen (HOST_LINKED=0) does not link the library: it dlopens it by
 *   path, so the library really unloads at the last dlclose. CYCLES times
 *   it loads the library, builds a handle, runs threads and ROUNDS plugin
 *   rounds, frees the handle and unloads the library, checking it is gone.
 *   Threads that used the library exit only after it is unloaded, and two
 *   threads live through every cycle: the per-thread error message and the
 *   reader registry must survive dlclose and a reload.
 *
 *       host-dlopen PLUGIN_A PLUGIN_B ROUNDS LIBSQUIBCORE_PATH CYCLES
 *
 * Exit status 0 when every check passed; the first failure is printed.
 */
#define _GNU_SOURCE /* dlvsym */
#include <dlfcn.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layout.h"
#include "squib_api.h"

#ifndef HOST_LINKED
#error "build with -DHOST_LINKED=1 (links libsquibcore) or 0 (dlopens it)"
#endif

#define READERS 2
#define WRITERS 1
#define WORKERS (READERS + WRITERS)
#define LONG_LIVED 2

static struct squib_api api;

static atomic_int failures;
static pthread_mutex_t failure_lock = PTHREAD_MUTEX_INITIALIZER;
static char first_failure[512];

/* Records a failure (the first one's text is kept); returns false. */
__attribute__((format(printf, 1, 2))) static bool fail(const char *fmt, ...)
{
	va_list args;

	pthread_mutex_lock(&failure_lock);
	if (atomic_fetch_add(&failures, 1) == 0) {
		va_start(args, fmt);
		(void)vsnprintf(first_failure, sizeof(first_failure), fmt, args);
		va_end(args);
	}
	pthread_mutex_unlock(&failure_lock);
	return false;
}

static bool failed(void)
{
	return atomic_load(&failures) != 0;
}

/* A generation counter under a mutex: threads wait for it to pass a value. */
struct gate {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned value;
};

#define GATE_INIT                                                                                  \
	{                                                                                          \
		PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0                             \
	}

static void gate_add(struct gate *gate)
{
	pthread_mutex_lock(&gate->lock);
	gate->value++;
	pthread_cond_broadcast(&gate->cond);
	pthread_mutex_unlock(&gate->lock);
}

static void gate_wait(struct gate *gate, unsigned at_least)
{
	pthread_mutex_lock(&gate->lock);
	while (gate->value < at_least)
		pthread_cond_wait(&gate->cond, &gate->lock);
	pthread_mutex_unlock(&gate->lock);
}

static uint32_t next_random(uint32_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 17;
	*state ^= *state << 5;
	return *state;
}

/* True when this thread's last error names addr in 0x%016x form. */
static bool last_error_names(uint64_t addr)
{
	char text[SQUIB_GPA_STRLEN];

	(void)api.squib_gpa_format(SQUIB_GPA(addr), text, sizeof(text));
	return strstr(api.squib_last_error(), text) != NULL;
}

/* One pass of a reader: constant bytes, a cell, the ROM, and a failure
 * whose message must be this thread's own (each thread fails at its own
 * address, concurrently with the others). */
static bool reader_pass(const squib_mem_t *mem, uint32_t id, uint32_t *rng, uint64_t pass)
{
	uint8_t bytes[64];
	uint32_t off = next_random(rng) % (CONST_SIZE - (uint32_t)sizeof(bytes));
	uint32_t cell = next_random(rng) % CELL_COUNT;
	uint32_t rom_off = next_random(rng) % (ROM_SIZE - 4);
	uint64_t v64;
	uint32_t v32;

	if (api.squib_mem_read(mem, SQUIB_GPA(RAM_BASE + off), bytes, sizeof(bytes)) != SQUIB_OK)
		return fail("reader %" PRIu32 ": read: %s", id, api.squib_last_error());
	for (uint32_t i = 0; i < sizeof(bytes); i++)
		if (bytes[i] != pattern_byte(off + i))
			return fail("reader %" PRIu32 ": RAM byte %" PRIu32 " changed", id,
				    off + i);
	if (api.squib_mem_read_u64_le(mem, SQUIB_GPA(RAM_BASE + CELLS_OFFSET + 8u * cell), &v64) !=
	    SQUIB_OK)
		return fail("reader %" PRIu32 ": read cell: %s", id, api.squib_last_error());
	if (!cell_valid(v64))
		return fail("reader %" PRIu32 ": cell %" PRIu32 " torn: 0x%016" PRIx64, id, cell,
			    v64);
	if (api.squib_mem_read_u32_le(mem, SQUIB_GPA(ROM_BASE + rom_off), &v32) != SQUIB_OK)
		return fail("reader %" PRIu32 ": read ROM: %s", id, api.squib_last_error());
	for (uint32_t i = 0; i < 4; i++)
		if ((uint8_t)(v32 >> (8 * i)) != rom_byte(rom_off + i))
			return fail("reader %" PRIu32 ": ROM byte %" PRIu32 " wrong", id,
				    rom_off + i);
	if (pass % 16 == 0) {
		uint64_t addr = RAM_BASE + RAM_SIZE - 1 - id;

		if (api.squib_mem_read(mem, SQUIB_GPA(addr), bytes, 16) != SQUIB_E_OUT_OF_RANGE)
			return fail("reader %" PRIu32 ": straddling read did not fail", id);
		if (!last_error_names(addr))
			return fail("reader %" PRIu32 ": last error \"%s\" is not its own", id,
				    api.squib_last_error());
	}
	return true;
}

static void writer_pass(squib_mem_t *mem, uint32_t id, uint32_t *rng)
{
	uint32_t cell = next_random(rng) % CELL_COUNT;
	uint64_t addr = RAM_BASE + CELLS_OFFSET + 8u * cell;

	if (api.squib_mem_write_u64_le(mem, SQUIB_GPA(addr), cell_value(next_random(rng))) !=
	    SQUIB_OK)
		(void)fail("writer %" PRIu32 ": write cell: %s", id, api.squib_last_error());
}

struct worker {
	pthread_t thread;
	squib_mem_t *mem;
	uint32_t id;
	atomic_bool *stop;
	struct gate *parked;   /* counts workers done with the library */
	struct gate *unloaded; /* opened once the library is gone */
	unsigned cycle;
	uint64_t passes;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	uint32_t rng = 0x9e3779b9u ^ (w->id * 0x85ebca6bu) ^ w->cycle;

	/* At least one pass, so the thread has used the library (and, for a
	 * reader, registered itself) before it may exit. */
	do {
		if (w->id < READERS)
			(void)reader_pass(w->mem, w->id, &rng, w->passes);
		else
			writer_pass(w->mem, w->id, &rng);
		w->passes++;
	} while (!atomic_load_explicit(w->stop, memory_order_relaxed) && !failed());

	if (w->unloaded != NULL) {
		/* Done with the library; exit only after it is unloaded, so
		 * any thread-exit hook it left behind would run unmapped. */
		gate_add(w->parked);
		gate_wait(w->unloaded, w->cycle + 1);
	}
	return NULL;
}

static squib_mem_t *mem_build(void)
{
	squib_mem_t *mem = NULL;
	squib_range_t range;
	uint8_t rom[ROM_SIZE], constants[CONST_SIZE];

	for (uint32_t i = 0; i < ROM_SIZE; i++)
		rom[i] = rom_byte(i);
	for (uint32_t i = 0; i < CONST_SIZE; i++)
		constants[i] = pattern_byte(i);
	if (api.squib_mem_new(&mem) != SQUIB_OK ||
	    api.squib_range_init(&range, SQUIB_GPA(RAM_BASE), RAM_SIZE) != SQUIB_OK ||
	    api.squib_mem_add_region(mem, range, RAM_SLOT, SQUIB_PROT_RW) != SQUIB_OK ||
	    api.squib_mem_add_region_from_bytes(mem, SQUIB_GPA(ROM_BASE), rom, sizeof(rom),
						ROM_SLOT, SQUIB_PROT_RX) != SQUIB_OK ||
	    api.squib_mem_write(mem, SQUIB_GPA(RAM_BASE), constants, sizeof(constants)) !=
		SQUIB_OK) {
		fail("building guest memory: %s", api.squib_last_error());
		api.squib_mem_free(mem);
		return NULL;
	}
	for (uint32_t i = 0; i < CELL_COUNT; i++)
		if (api.squib_mem_write_u64_le(mem, SQUIB_GPA(RAM_BASE + CELLS_OFFSET + 8u * i),
					       cell_value(i)) != SQUIB_OK) {
			fail("initialising cells: %s", api.squib_last_error());
			api.squib_mem_free(mem);
			return NULL;
		}
	return mem;
}

static void *symbol(void *handle, const char *name)
{
	void *sym = dlsym(handle, name);

	if (sym == NULL)
		fail("dlsym(%s): %s", name, dlerror());
	return sym;
}

struct plugin {
	const char *path;
	void *handle;
	squib_plugin_attach_fn attach;
	squib_plugin_run_fn run;
	squib_plugin_detach_fn detach;
};

static bool plugin_open(struct plugin *p)
{
	void *attach, *run, *detach;
	const char *err;

	p->handle = dlopen(p->path, RTLD_NOW | RTLD_LOCAL);
	if (p->handle == NULL) {
		fail("dlopen(%s): %s", p->path, dlerror());
		return false;
	}
	attach = symbol(p->handle, "squib_plugin_attach");
	run = symbol(p->handle, "squib_plugin_run");
	detach = symbol(p->handle, "squib_plugin_detach");
	if (attach == NULL || run == NULL || detach == NULL)
		return false;
	memcpy(&p->attach, &attach, sizeof(attach));
	memcpy(&p->run, &run, sizeof(run));
	memcpy(&p->detach, &detach, sizeof(detach));
	if ((err = p->attach()) != NULL) {
		fail("%s", err);
		return false;
	}
	return true;
}

static bool plugin_close(struct plugin *p)
{
	const char *err = p->detach != NULL ? p->detach() : NULL;
	void *again;

	if (err != NULL)
		fail("%s", err);
	if (p->handle != NULL && dlclose(p->handle) != 0)
		fail("dlclose(%s): %s", p->path, dlerror());
	p->handle = NULL;
	p->attach = NULL;
	p->run = NULL;
	p->detach = NULL;
	/* The plugin is really gone, so its reference to the library went
	 * with its own dlclose. */
	again = dlopen(p->path, RTLD_NOW | RTLD_NOLOAD);
	if (again != NULL) {
		fail("%s still loaded after dlclose", p->path);
		(void)dlclose(again);
	}
	return !failed();
}

/* One round: open both plugins (order alternating), let A then B work on
 * the handle, close them (order alternating too). */
static void plugins_round(struct plugin plugins[2], squib_mem_t *mem, uint32_t round)
{
	struct plugin *first = &plugins[round % 2], *second = &plugins[(round + 1) % 2];
	const char *err;

	if (plugin_open(first) && plugin_open(second)) {
		if ((err = plugins[0].run(mem, round)) != NULL ||
		    (err = plugins[1].run(mem, round)) != NULL)
			fail("round %" PRIu32 ": %s", round, err);
	}
	if (second->handle != NULL)
		plugin_close(second);
	if (first->handle != NULL)
		plugin_close(first);
}

static void workers_start(struct worker workers[WORKERS], squib_mem_t *mem, atomic_bool *stop,
			  struct gate *parked, struct gate *unloaded, unsigned cycle)
{
	atomic_store(stop, false);
	for (uint32_t i = 0; i < WORKERS; i++) {
		workers[i] = (struct worker){.mem = mem,
					     .id = i,
					     .stop = stop,
					     .parked = parked,
					     .unloaded = unloaded,
					     .cycle = cycle};
		if (pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]) != 0) {
			fprintf(stderr, "pthread_create failed\n");
			exit(2);
		}
	}
}

static void workers_join(struct worker workers[WORKERS], uint64_t *passes)
{
	for (uint32_t i = 0; i < WORKERS; i++) {
		pthread_join(workers[i].thread, NULL);
		*passes += workers[i].passes;
	}
}

static uint32_t parse_count(const char *text)
{
	char *end;
	unsigned long value = strtoul(text, &end, 10);

	if (*text == '\0' || *end != '\0' || value == 0 || value > 100000) {
		fprintf(stderr, "bad count: %s\n", text);
		exit(2);
	}
	return (uint32_t)value;
}

static int report(const char *what, uint64_t passes)
{
	if (failed()) {
		fprintf(stderr, "%s: FAILED (%d failures), first: %s\n", what,
			atomic_load(&failures), first_failure);
		return 1;
	}
	printf("%s: ok, %" PRIu64 " worker passes\n", what, passes);
	return 0;
}

#if HOST_LINKED

int main(int argc, char **argv)
{
	struct plugin plugins[2] = {{.path = NULL}, {.path = NULL}};
	struct worker workers[WORKERS];
	atomic_bool stop;
	squib_mem_t *mem;
	uint32_t rounds;
	uint64_t passes = 0;

	if (argc != 4) {
		fprintf(stderr, "usage: %s PLUGIN_A PLUGIN_B ROUNDS\n", argv[0]);
		return 2;
	}
	plugins[0].path = argv[1];
	plugins[1].path = argv[2];
	rounds = parse_count(argv[3]);

#define SQUIB_API_LINK(name, node) api.name = name;
	SQUIB_API_FUNCTIONS(SQUIB_API_LINK)
#undef SQUIB_API_LINK

	if ((mem = mem_build()) == NULL)
		return report("host-linked", 0);
	workers_start(workers, mem, &stop, NULL, NULL, 0);
	for (uint32_t round = 0; round < rounds && !failed(); round++)
		plugins_round(plugins, mem, round);
	atomic_store(&stop, true);
	workers_join(workers, &passes);
	if (api.squib_mem_region_count(mem) != 2)
		fail("%zu regions left, want 2", api.squib_mem_region_count(mem));
	api.squib_mem_free(mem);
	return report("host-linked", passes);
}

#else /* !HOST_LINKED */

static struct gate cycle_open = GATE_INIT; /* value: cycles started */
static struct gate cycle_done = GATE_INIT; /* long-lived threads done */
static atomic_bool finished;
static squib_mem_t *cycle_mem;

/* Lives through every cycle: uses the library while it is loaded, then
 * keeps running across its unload and reload. */
static void *long_lived_main(void *arg)
{
	uint32_t id = (uint32_t)(uintptr_t)arg;
	uint32_t rng = 0x2545f491u * (id + 1);

	for (unsigned cycle = 0;; cycle++) {
		const char *msg;

		gate_wait(&cycle_open, cycle + 1);
		if (atomic_load(&finished))
			break;
		/* A fresh instance of the library: this thread has had no
		 * failure in it yet, whatever it saw in the previous one. */
		msg = api.squib_last_error();
		if (msg == NULL || msg[0] != '\0')
			fail("thread %" PRIu32 ", cycle %u: stale last error \"%s\"", id, cycle,
			     msg != NULL ? msg : "(null)");
		for (uint64_t pass = 0; pass < 64; pass++)
			if (!reader_pass(cycle_mem, READERS + WRITERS + id, &rng, pass))
				break;
		gate_add(&cycle_done);
	}
	return NULL;
}

static bool library_loaded(const char *path)
{
	void *handle = dlopen(path, RTLD_NOW | RTLD_NOLOAD);

	if (handle == NULL)
		return false;
	(void)dlclose(handle);
	return true;
}

int main(int argc, char **argv)
{
	struct plugin plugins[2] = {{.path = NULL}, {.path = NULL}};
	struct worker workers[WORKERS];
	pthread_t long_lived[LONG_LIVED];
	struct gate parked = GATE_INIT, unloaded = GATE_INIT;
	atomic_bool stop;
	const char *lib_path;
	uint32_t rounds, cycles;
	uint64_t passes = 0;
	char err[256] = "";

	if (argc != 6) {
		fprintf(stderr, "usage: %s PLUGIN_A PLUGIN_B ROUNDS LIBSQUIBCORE_PATH CYCLES\n",
			argv[0]);
		return 2;
	}
	plugins[0].path = argv[1];
	plugins[1].path = argv[2];
	rounds = parse_count(argv[3]);
	lib_path = argv[4];
	cycles = parse_count(argv[5]);

	for (uint32_t i = 0; i < LONG_LIVED; i++)
		if (pthread_create(&long_lived[i], NULL, long_lived_main, (void *)(uintptr_t)i) !=
		    0) {
			fprintf(stderr, "pthread_create failed\n");
			return 2;
		}

	for (unsigned cycle = 0; cycle < cycles && !failed(); cycle++) {
		void *lib;

		if (library_loaded(lib_path)) {
			fail("cycle %u: %s loaded before dlopen", cycle, lib_path);
			break;
		}
		lib = dlopen(lib_path, RTLD_NOW | RTLD_LOCAL);
		if (lib == NULL) {
			fail("cycle %u: dlopen(%s): %s", cycle, lib_path, dlerror());
			break;
		}
		if (squib_api_bind(lib, &api, err, sizeof(err)) != 0 ||
		    (cycle_mem = mem_build()) == NULL) {
			fail("cycle %u: %s", cycle, err);
			(void)dlclose(lib);
			break;
		}

		workers_start(workers, cycle_mem, &stop, &parked, &unloaded, cycle);
		gate_add(&cycle_open);
		for (uint32_t round = 0; round < rounds && !failed(); round++)
			plugins_round(plugins, cycle_mem, cycle * rounds + round);
		gate_wait(&cycle_done, (cycle + 1) * LONG_LIVED);
		atomic_store(&stop, true);
		gate_wait(&parked, (cycle + 1) * WORKERS);

		if (api.squib_mem_region_count(cycle_mem) != 2)
			fail("cycle %u: %zu regions left, want 2", cycle,
			     api.squib_mem_region_count(cycle_mem));
		api.squib_mem_free(cycle_mem);
		cycle_mem = NULL;
		memset(&api, 0, sizeof(api));
		if (dlclose(lib) != 0)
			fail("cycle %u: dlclose: %s", cycle, dlerror());
		if (library_loaded(lib_path))
			fail("cycle %u: %s still loaded after the last dlclose", cycle, lib_path);

		/* Workers that used the library exit now, after its unload. */
		gate_add(&unloaded); /* now cycle + 1 */
		workers_join(workers, &passes);
	}

	atomic_store(&finished, true);
	gate_add(&cycle_open);
	for (uint32_t i = 0; i < LONG_LIVED; i++)
		pthread_join(long_lived[i], NULL);
	return report("host-dlopen", passes);
}

#endif /* HOST_LINKED */
