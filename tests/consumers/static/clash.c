/* SPDX-License-Identifier: MIT */
/*
 * A program that defines functions of its own under names the library uses
 * internally (table_free, table_search, squib_fail, squib_host_alloc), built
 * fully static against libsquibcore.a:
 *
 *   cc -static clash.c $(pkg-config --static --cflags --libs squib-core) -pthread
 *
 * Only the API may be global in the archive, so the link must succeed and
 * each side must call its own function of that name. The library's
 * thread-local state (the reader record, the error message) is used from
 * two threads. Prints "squib-core VERSION" when every check passed.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <squib/core.h>

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: check failed: %s (last error: \"%s\")\n",          \
				__FILE__, __LINE__, #cond, squib_last_error());                    \
			return 1;                                                                  \
		}                                                                                  \
	} while (0)

/* The program's own, with signatures unlike the library's. */
int table_free(int table);
int table_search(const int *table, int n, int key);
void squib_fail(const char *why);
void *squib_host_alloc(size_t size);

static int own_calls;
static char own_failure[64];

int table_free(int table)
{
	own_calls++;
	return -table;
}

int table_search(const int *table, int n, int key)
{
	own_calls++;
	for (int i = 0; i < n; i++)
		if (table[i] == key)
			return i;
	return -1;
}

void squib_fail(const char *why)
{
	own_calls++;
	snprintf(own_failure, sizeof(own_failure), "%s", why);
}

void *squib_host_alloc(size_t size)
{
	own_calls++;
	return malloc(size);
}

struct reader {
	squib_mem_t *mem;
	int status;
	char error[128];
};

/* Another thread: its first access registers its reader record (TLS,
 * initial-exec), and its failure message is its own. */
static void *reader_main(void *arg)
{
	struct reader *r = arg;
	uint32_t v32 = 0;

	r->status = 1;
	if (squib_mem_write_u32_le(r->mem, SQUIB_GPA(0x100020), 0xc0ffee) != SQUIB_OK ||
	    squib_mem_read_u32_le(r->mem, SQUIB_GPA(0x100020), &v32) != SQUIB_OK || v32 != 0xc0ffee)
		return NULL;
	if (squib_mem_read_u32_le(r->mem, SQUIB_GPA(0x300000), &v32) != SQUIB_E_OUT_OF_RANGE)
		return NULL;
	snprintf(r->error, sizeof(r->error), "%s", squib_last_error());
	r->status = 0;
	return NULL;
}

static int run(squib_mem_t *mem)
{
	static const int table[] = {3, 5, 8};
	struct reader reader = {mem, 1, ""};
	squib_range_t ram;
	uint32_t v32 = 0;
	char text[SQUIB_GPA_STRLEN];
	pthread_t thread;
	void *own;

	/* Calls that make the library allocate, search and replace tables and
	 * report failures; none may reach the program's functions. */
	CHECK(squib_range_init(&ram, SQUIB_GPA(0x100000), 0x10000) == SQUIB_OK);
	CHECK(squib_mem_add_region(mem, ram, 0, SQUIB_PROT_RW) == SQUIB_OK);
	CHECK(squib_mem_read_u32_le(mem, SQUIB_GPA(0x100000), &v32) == SQUIB_OK && v32 == 0);
	CHECK(squib_mem_read_u32_le(mem, SQUIB_GPA(0x200000), &v32) == SQUIB_E_OUT_OF_RANGE);
	CHECK(squib_gpa_format(SQUIB_GPA(0x200000), text, sizeof(text)) == 18);
	CHECK(strstr(squib_last_error(), text) != NULL);
	CHECK(squib_mem_remove_region(mem, 7) == SQUIB_E_NOT_FOUND);
	CHECK(own_calls == 0 && own_failure[0] == '\0');

	CHECK(pthread_create(&thread, NULL, reader_main, &reader) == 0);
	CHECK(pthread_join(thread, NULL) == 0);
	CHECK(reader.status == 0);
	CHECK(squib_gpa_format(SQUIB_GPA(0x300000), text, sizeof(text)) == 18);
	CHECK(strstr(reader.error, text) != NULL);
	/* This thread's message is still its own (about 0x...200000 or the
	 * missing slot), not the other thread's. */
	CHECK(strstr(squib_last_error(), text) == NULL);
	CHECK(own_calls == 0);

	/* And the program's functions are the program's. */
	CHECK(table_free(4) == -4);
	CHECK(table_search(table, 3, 8) == 2);
	squib_fail("own");
	CHECK(strcmp(own_failure, "own") == 0);
	own = squib_host_alloc(16);
	CHECK(own != NULL);
	free(own);
	CHECK(own_calls == 4);
	return 0;
}

int main(void)
{
	squib_mem_t *mem = NULL;
	int rc;

	CHECK(strcmp(squib_core_version(), SQUIB_CORE_VERSION_STRING) == 0);
	CHECK(squib_mem_new(&mem) == SQUIB_OK && mem != NULL);
	rc = run(mem);
	squib_mem_free(mem);
	if (rc == 0)
		printf("squib-core %s\n", squib_core_version());
	return rc;
}
