/* SPDX-License-Identifier: MIT */
/*
 * Runs fuzz inputs without libFuzzer, with any compiler: every file named
 * on the command line, and every regular file (sorted by name, dotfiles
 * skipped) of every directory named, goes once through
 * LLVMFuzzerTestOneInput(). A mismatch aborts inside the harness, naming
 * the operation; this program prints which file was running first.
 *
 *   fuzz_replay fuzz/corpus                     the ctest test fuzz_corpus_replay
 *   SQUIB_FUZZ_TRACE=1 fuzz_replay crash-1234   every operation of one input
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_mem.h"

static int replay_file(const char *path)
{
	FILE *file = fopen(path, "rb");
	uint8_t *data = NULL;
	size_t size = 0, cap = 0, got;

	if (!file) {
		fprintf(stderr, "fuzz_replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	do {
		if (size == cap) {
			uint8_t *grown = realloc(data, cap = cap ? cap * 2 : 4096);

			if (!grown) {
				fprintf(stderr, "fuzz_replay: %s: out of memory\n", path);
				free(data);
				fclose(file);
				return -1;
			}
			data = grown;
		}
		got = fread(data + size, 1, cap - size, file);
		size += got;
	} while (got > 0);
	if (ferror(file)) {
		fprintf(stderr, "fuzz_replay: %s: read error\n", path);
		free(data);
		fclose(file);
		return -1;
	}
	fclose(file);
	fprintf(stderr, "fuzz_replay: %s (%zu bytes)\n", path, size);
	(void)LLVMFuzzerTestOneInput(data, size);
	free(data);
	return 0;
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Replays the regular files of dir in name order; returns how many, or -1. */
static long replay_dir(const char *dir)
{
	DIR *handle = opendir(dir);
	struct dirent *entry;
	char **names = NULL;
	size_t count = 0, cap = 0;
	long done = 0;

	if (!handle) {
		fprintf(stderr, "fuzz_replay: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	while ((entry = readdir(handle)) != NULL) {
		if (entry->d_name[0] == '.')
			continue;
		if (count == cap) {
			char **grown = realloc(names, (cap = cap ? cap * 2 : 64) * sizeof(*names));

			if (!grown)
				abort();
			names = grown;
		}
		names[count] = malloc(strlen(dir) + strlen(entry->d_name) + 2);
		if (!names[count])
			abort();
		sprintf(names[count], "%s/%s", dir, entry->d_name);
		count++;
	}
	closedir(handle);
	if (count)
		qsort(names, count, sizeof(*names), compare_names);
	for (size_t i = 0; i < count; i++) {
		struct stat st;

		if (done >= 0 && stat(names[i], &st) == 0 && S_ISREG(st.st_mode))
			done = replay_file(names[i]) == 0 ? done + 1 : -1;
		free(names[i]);
	}
	free(names);
	return done;
}

int main(int argc, char **argv)
{
	long total = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE-OR-DIR...\n", argv[0]);
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		struct stat st;
		long done;

		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "fuzz_replay: %s: %s\n", argv[i], strerror(errno));
			return 1;
		}
		done = S_ISDIR(st.st_mode)	   ? replay_dir(argv[i])
		       : replay_file(argv[i]) == 0 ? 1
						   : -1;
		if (done < 0)
			return 1;
		total += done;
	}
	if (total == 0) {
		fprintf(stderr, "fuzz_replay: no input found\n");
		return 1;
	}
	printf("fuzz_replay: %ld input(s) replayed, no mismatch\n", total);
	return 0;
}
