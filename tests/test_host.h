/* SPDX-License-Identifier: MIT */
/*
 * Host-side helpers of the Check suites that look at the process around
 * the library: page size, temporary files, /proc/self/maps, /proc/self/fd
 * and /proc/self/smaps, mincore(), and forked children that probe an
 * address. All static inline (as in test_util.h), or static and marked
 * unused where they must not be inlined, so that a suite that uses only
 * some of them gets no unused-function warning. Include it after
 * test_util.h, with _GNU_SOURCE defined before any system header.
 */
#ifndef SQUIB_TESTS_TEST_HOST_H
#define SQUIB_TESTS_TEST_HOST_H

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_util.h"

/* The host page size; asserts that sysconf() knows it. */
static inline uint64_t test_page(void)
{
	long size = sysconf(_SC_PAGESIZE);

	ck_assert_int_gt(size, 0);
	return (uint64_t)size;
}

/* Region options of a plain RW region of size bytes at base in slot, with
 * flags; the rest as SQUIB_REGION_OPTS_INIT leaves it. */
static inline squib_region_opts_t test_opts_of(uint64_t base, uint64_t size, uint32_t slot,
					       uint32_t flags)
{
	squib_region_opts_t opts = SQUIB_REGION_OPTS_INIT;

	opts.range = test_range(base, size);
	opts.slot = slot;
	opts.prot = SQUIB_PROT_RW;
	opts.flags = flags;
	return opts;
}

/* What squib_mem_get_region() says of slot, asserting it succeeds. The
 * struct is filled with garbage first (but sz): every field the library
 * knows must be written by it, not left as the caller's zeros. */
static inline squib_region_info_t test_info_of(const squib_mem_t *mem, uint32_t slot)
{
	squib_region_info_t info;

	memset(&info, 0x5a, sizeof(info));
	info.sz = sizeof(info);
	CK_OK(squib_mem_get_region(mem, slot, &info));
	return info;
}

/* The size of the file fd, asserting fstat() tells it. */
static inline size_t test_file_size(int fd)
{
	struct stat st;

	ck_assert_int_eq(fstat(fd, &st), 0);
	return (size_t)st.st_size;
}

/* The whole file fd, read with pread() into a malloc()ed buffer of *len
 * bytes; free() it. */
static inline uint8_t *test_read_file(int fd, size_t *len)
{
	size_t n = test_file_size(fd);
	uint8_t *buf = malloc(n ? n : 1);

	ck_assert_ptr_nonnull(buf);
	for (size_t at = 0; at < n;) {
		ssize_t got = pread(fd, buf + at, n - at, (off_t)at);

		ck_assert_int_gt(got, 0);
		at += (size_t)got;
	}
	*len = n;
	return buf;
}

/* A temporary file of size bytes, open O_RDWR, made in a fresh mkdtemp
 * directory and unlinked with it at once, so that nothing is left behind
 * however the test ends. With seed != 0 byte i of the file is
 * test_pattern_byte(seed, i), written in chunks (no buffer of the whole
 * size) and fsync()ed so that the page cache and the file agree before a
 * test maps or punches it; with seed 0 the file is a hole (reads zeros). */
static inline int test_temp_file(uint64_t size, uint64_t seed)
{
	const char *tmp = getenv("TMPDIR");
	char dir[PATH_MAX], path[PATH_MAX + 8];
	int fd;

	if (!tmp || !*tmp)
		tmp = "/tmp";
	ck_assert_int_lt(snprintf(dir, sizeof(dir), "%s/squib_check.XXXXXX", tmp),
			 (int)sizeof(dir));
	ck_assert_ptr_nonnull(mkdtemp(dir));
	(void)snprintf(path, sizeof(path), "%s/file", dir);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(rmdir(dir), 0);
	ck_assert_int_eq(ftruncate(fd, (off_t)size), 0);
	if (seed) {
		uint8_t chunk[4096];

		for (uint64_t at = 0; at < size; at += sizeof(chunk)) {
			size_t len =
			    size - at < sizeof(chunk) ? (size_t)(size - at) : sizeof(chunk);

			for (size_t i = 0; i < len; i++)
				chunk[i] = test_pattern_byte(seed, at + i);
			ck_assert_int_eq(pwrite(fd, chunk, len, (off_t)at), (ssize_t)len);
		}
		ck_assert_int_eq(fsync(fd), 0);
	}
	return fd;
}

/* The text of /proc/self/maps, NUL-terminated, in a static buffer that
 * the next call overwrites. Read with plain syscalls so that reading it
 * allocates nothing (a malloc could itself map memory and change what is
 * counted). The buffer is written once in full on the first call: valgrind
 * then has the shadow of all of it, and a longer text later maps nothing
 * new under valgrind either. */
static inline const char *test_read_maps(void)
{
	static char buf[1 << 20];
	static bool touched;
	size_t len = 0;
	ssize_t got;
	int fd;

	if (!touched) {
		memset(buf, 0, sizeof(buf));
		touched = true;
	}
	fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	while ((got = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)got;
	ck_assert_int_eq(got, 0);
	ck_assert_uint_lt(len, sizeof(buf) - 1);
	ck_assert_int_eq(close(fd), 0);
	buf[len] = '\0';
	return buf;
}

/* The mappings of the process: lines of /proc/self/maps, and the bytes
 * they span (adjacent mappings the kernel merges hide from the count, not
 * from the span). */
struct test_maps {
	size_t lines;
	uint64_t bytes;
};

/* Counts the mappings of the process now (see test_read_maps()). */
static inline struct test_maps test_count_maps(void)
{
	struct test_maps maps = {0, 0};

	for (const char *line = test_read_maps(); *line;) {
		char *end;
		uint64_t from = strtoull(line, &end, 16), to = strtoull(end + 1, NULL, 16);

		maps.lines++;
		maps.bytes += to - from;
		line = strchr(line, '\n');
		if (!line)
			break;
		line++;
	}
	return maps;
}

/* Whether any mapping of the process contains p (/proc/self/maps). */
static inline bool test_mapped(const void *p)
{
	uint64_t addr = (uint64_t)(uintptr_t)p;

	for (const char *line = test_read_maps(); *line;) {
		char *end;
		uint64_t from = strtoull(line, &end, 16), to = strtoull(end + 1, NULL, 16);

		if (addr >= from && addr < to)
			return true;
		line = strchr(line, '\n');
		if (!line)
			break;
		line++;
	}
	return false;
}

/* ASan's and TSan's allocators map their chunks with MAP_FIXED inside a
 * reservation they made at start (splitting it without adding a byte),
 * and their quarantine grows by chunks of its own as a test goes on. */
#define TEST_SANITIZER_ALLOCATOR (TEST_UNDER_ASAN || TEST_UNDER_TSAN)

/* The same mappings: the same span, and (but under a sanitizer's
 * allocator, see TEST_SANITIZER_ALLOCATOR) as many lines. */
static inline bool test_maps_equal(struct test_maps a, struct test_maps b)
{
	return a.bytes == b.bytes && (TEST_SANITIZER_ALLOCATOR || a.lines == b.lines);
}

/* Whether a difference in the mappings around one call may be the
 * tool's own: valgrind's shadow memory and a sanitizer's allocator map
 * memory whenever the program touches new memory, in any call. */
static inline bool test_mappings_noisy(void)
{
	return TEST_SANITIZER_ALLOCATOR || test_under_valgrind();
}

/* Open file descriptors of the process: entries of /proc/self/fd (the
 * one used to list them included: the same in every count), read with
 * getdents64 into a static buffer so that counting opens nothing more
 * (opendir() would malloc) and a leaked descriptor shows as one more. */
static inline size_t test_count_fds(void)
{
	static char buf[1 << 14];
	size_t count = 0;
	long got;
	int fd = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	while ((got = syscall(SYS_getdents64, fd, buf, sizeof(buf))) > 0) {
		for (long at = 0; at < got;) {
			unsigned short reclen;
			const char *name =
			    buf + at + 19; /* d_ino 8, d_off 8, d_reclen 2, d_type 1 */

			memcpy(&reclen, buf + at + 16, sizeof(reclen));
			if (strcmp(name, ".") != 0 && strcmp(name, "..") != 0)
				count++;
			at += reclen;
		}
	}
	ck_assert_int_eq(got, 0);
	ck_assert_int_eq(close(fd), 0);
	return count;
}

/* The whole of a /proc file, NUL-terminated; free() it. Read with plain
 * read(2) into a buffer that grows (a sanitizer's smaps is large, and
 * stdio would stop at nothing better). */
static inline char *test_read_proc(const char *path)
{
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap);
	ssize_t got;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	ck_assert_ptr_nonnull(buf);
	ck_assert_msg(fd >= 0, "open %s: %s", path, strerror(errno));
	while ((got = read(fd, buf + len, cap - len - 1)) > 0) {
		len += (size_t)got;
		if (cap - len - 1 == 0) {
			cap *= 2;
			buf = realloc(buf, cap);
			ck_assert_ptr_nonnull(buf);
		}
	}
	ck_assert_int_eq(got, 0);
	ck_assert_int_eq(close(fd), 0);
	buf[len] = '\0';
	return buf;
}

/* What /proc/self/smaps says of the mapping (VMA) that holds an address. */
struct test_vma {
	uint64_t start, end;
	char vmflags[256]; /* " dd lf ... " with a space on both sides of each */
	uint64_t locked_kb;
	uint64_t kernel_page_kb;
};

/* The /proc/self/smaps entry of the mapping that holds addr; asserts that
 * one does (the flags a test looks for are on the VMA, not the range). */
static inline struct test_vma test_vma_of(const void *addr)
{
	char *smaps = test_read_proc("/proc/self/smaps");
	uint64_t at = (uint64_t)(uintptr_t)addr;
	struct test_vma vma;
	bool inside = false, found = false;

	memset(&vma, 0, sizeof(vma));
	for (char *line = smaps, *next; line && *line; line = next) {
		unsigned long long start, end;
		unsigned long long kb;
		int used = 0;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (sscanf(line, "%llx-%llx %n", &start, &end, &used) == 2 && used > 0) {
			inside = start <= at && at < end;
			if (inside) {
				vma.start = start;
				vma.end = end;
				found = true;
			}
			continue;
		}
		if (!inside)
			continue;
		if (strncmp(line, "VmFlags:", 8) == 0)
			(void)snprintf(vma.vmflags, sizeof(vma.vmflags), "%s ", line + 8);
		else if (sscanf(line, "Locked: %llu kB", &kb) == 1)
			vma.locked_kb = kb;
		else if (sscanf(line, "KernelPageSize: %llu kB", &kb) == 1)
			vma.kernel_page_kb = kb;
	}
	free(smaps);
	ck_assert_msg(found, "no mapping in /proc/self/smaps holds %p", addr);
	return vma;
}

/* Whether the VmFlags of vma hold the two-letter flag ("dd", "lf"), as a
 * whole token. */
static inline bool test_vma_has(const struct test_vma *vma, const char *flag)
{
	char token[8];

	(void)snprintf(token, sizeof(token), " %s ", flag);
	return strstr(vma->vmflags, token) != NULL;
}

/* Whether the mapping holding addr (which must exist) has VmFlag flag. */
static inline bool test_has_vmflag(const void *addr, const char *flag)
{
	struct test_vma vma = test_vma_of(addr);

	return test_vma_has(&vma, flag);
}

/* Pages of [addr, addr + len) that mincore() reports resident; addr need
 * not be page-aligned (the pages it touches count). */
static inline size_t test_resident_pages(const void *addr, uint64_t len)
{
	const uint64_t p = test_page();
	uint64_t start = (uint64_t)(uintptr_t)addr & ~(p - 1);
	size_t pages = (size_t)(((uint64_t)(uintptr_t)addr + len - start + p - 1) / p), count = 0;
	unsigned char *vec = malloc(pages);

	ck_assert_ptr_nonnull(vec);
	ck_assert_int_eq(mincore((void *)(uintptr_t)start, (size_t)(pages * p), vec), 0);
	for (size_t i = 0; i < pages; i++)
		if (vec[i] & 1)
			count++;
	free(vec);
	return count;
}

/* Whether this host (or the emulator running the test: valgrind 3.19 has
 * no mlock2) can lock pages on fault; prints the SKIP line naming test
 * when not, so that a skipped check shows in the log. */
static inline bool test_lock_on_fault_works(const char *test)
{
	long p = sysconf(_SC_PAGESIZE);
	void *map =
	    mmap(NULL, (size_t)p, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	bool works;
	int err;

	ck_assert_ptr_ne(map, MAP_FAILED);
	works = syscall(SYS_mlock2, map, (size_t)p, MLOCK_ONFAULT) == 0;
	err = errno;
	ck_assert_int_eq(munmap(map, (size_t)p), 0);
	if (!works && err == ENOSYS) {
		printf("SKIP locked: mlock2 is not implemented here (ENOSYS) for %s\n", test);
		(void)fflush(stdout);
		return false;
	}
	return true;
}

/* How a forked child ends: through an exec of sh that exits with code, so
 * that under valgrind the child is not leak-checked (the parent's heap it
 * inherits but no longer points to would count as lost and turn its exit
 * status into valgrind's error code). _exit() if the exec fails. */
static inline _Noreturn void test_child_exit(int code)
{
	char script[32];

	(void)snprintf(script, sizeof(script), "exit %d", code);
	execl("/bin/sh", "sh", "-c", script, (char *)NULL);
	_exit(code);
}

/* fork() for a probing child: in the child SIGSEGV and SIGBUS get their
 * default action back (a sanitizer's handler would turn the fault into an
 * exit) and an alarm ends a child that hangs; returns what fork() does. */
static inline pid_t test_child_fork(void)
{
	pid_t child = fork();

	ck_assert_int_ge(child, 0);
	if (child == 0) {
		struct sigaction dfl;

		memset(&dfl, 0, sizeof(dfl));
		dfl.sa_handler = SIG_DFL;
		(void)sigaction(SIGSEGV, &dfl, NULL);
		(void)sigaction(SIGBUS, &dfl, NULL);
		alarm(20);
	}
	return child;
}

/* The wait status of child (from test_child_fork()). */
static inline int test_child_wait(pid_t child)
{
	int status = -1;

	ck_assert_int_eq(waitpid(child, &status, 0), child);
	return status;
}

/* Forks a child that reads the byte at p; returns its wait status. The
 * child dies by the signal if the read faults, else exits 0 when want < 0
 * or the byte equals want, 3 when it does not. Not inlined: the caller's
 * pointers (its squib_mem_t) then stay in its own frame, where valgrind's
 * leak check in a child that dies of the fault finds them, instead of
 * reporting the caller's heap as lost. */
static __attribute__((noinline, unused)) int test_child_reads(const volatile uint8_t *p, int want)
{
	pid_t child = test_child_fork();

	if (child == 0) {
		uint8_t got = *p;

		test_child_exit(want < 0 || got == want ? 0 : 3);
	}
	return test_child_wait(child);
}

/* As test_child_reads(p, -1), writing a byte (0x42) instead. */
static __attribute__((noinline, unused)) int test_child_writes(volatile uint8_t *p)
{
	pid_t child = test_child_fork();

	if (child == 0) {
		*p = 0x42;
		test_child_exit(0);
	}
	return test_child_wait(child);
}

/* Asserts that a child's wait status is death by SIGSEGV; what names it. */
#define CK_SEGV(status, what)                                                                      \
	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV,                          \
		      "%s: child status 0x%x, want death by SIGSEGV", (what), (unsigned)(status))

/* Asserts that a child's wait status is exit 0; what names it. */
#define CK_EXIT0(status, what)                                                                     \
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,                               \
		      "%s: child status 0x%x, want exit 0", (what), (unsigned)(status))

#endif /* SQUIB_TESTS_TEST_HOST_H */
