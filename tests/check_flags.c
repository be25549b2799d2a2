/* SPDX-License-Identifier: MIT */
/*
 * The region flags of squib_mem_add_region_opts(), each observed in the
 * kernel's own account of the mapping (/proc/self/smaps, mincore(2), a
 * forked child) rather than assumed: lib/backing.c.
 */
#define _GNU_SOURCE /* mincore, MAP_ANONYMOUS, mkdtemp */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_util.h"

#define MIB ((uint64_t)1 << 20)

/* ------------------------------------------------------------------ */
/* helpers                                                             */

static uint64_t page(void)
{
	long size = sysconf(_SC_PAGESIZE);

	ck_assert_int_gt(size, 0);
	return (uint64_t)size;
}

/* A temporary file of size bytes (a hole), O_RDWR, in a fresh mkdtemp
 * directory, both unlinked at once. */
static int temp_file(uint64_t size)
{
	const char *tmp = getenv("TMPDIR");
	char dir[PATH_MAX], path[PATH_MAX + 8];
	int fd;

	if (!tmp || !*tmp)
		tmp = "/tmp";
	ck_assert_int_lt(snprintf(dir, sizeof(dir), "%s/check_flags.XXXXXX", tmp),
			 (int)sizeof(dir));
	ck_assert_ptr_nonnull(mkdtemp(dir));
	(void)snprintf(path, sizeof(path), "%s/file", dir);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(rmdir(dir), 0);
	ck_assert_int_eq(ftruncate(fd, (off_t)size), 0);
	return fd;
}

static squib_region_opts_t opts_of(uint64_t base, uint64_t size, uint32_t slot, uint32_t flags)
{
	squib_region_opts_t opts = SQUIB_REGION_OPTS_INIT;

	opts.range = test_range(base, size);
	opts.slot = slot;
	opts.prot = SQUIB_PROT_RW;
	opts.flags = flags;
	return opts;
}

static squib_region_info_t info_of(const squib_mem_t *mem, uint32_t slot)
{
	squib_region_info_t info = SQUIB_REGION_INFO_INIT;

	CK_OK(squib_mem_get_region(mem, slot, &info));
	return info;
}

/* The whole of a /proc file, NUL-terminated; free() it. Read with plain
 * read(2) (a sanitizer's smaps is large). */
static char *read_proc(const char *path)
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

/* What /proc/self/smaps says of the mapping (VMA) that holds addr. */
struct vma {
	uint64_t start, end;
	char vmflags[256]; /* " dd lf ... " with a space on both sides of each */
	uint64_t locked_kb;
	uint64_t kernel_page_kb;
};

static struct vma vma_of(const void *addr)
{
	char *smaps = read_proc("/proc/self/smaps");
	uint64_t at = (uint64_t)(uintptr_t)addr;
	struct vma vma;
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

static bool vma_has(const struct vma *vma, const char *flag)
{
	char token[8];

	(void)snprintf(token, sizeof(token), " %s ", flag);
	return strstr(vma->vmflags, token) != NULL;
}

#define CK_VMFLAG(addr, flag, want)                                                                \
	do {                                                                                       \
		struct vma vma_ = vma_of(addr);                                                    \
		ck_assert_msg(vma_has(&vma_, (flag)) == (want),                                    \
			      "%s: VmFlags of [0x%" PRIx64 ", 0x%" PRIx64 ") are \"%s\": "         \
			      "\"%s\" %s",                                                         \
			      #addr, vma_.start, vma_.end, vma_.vmflags, (flag),                   \
			      (want) ? "missing" : "present");                                     \
	} while (0)

/* Pages of [addr, addr + len) mincore() reports resident. */
static size_t resident_pages(const void *addr, uint64_t len)
{
	const uint64_t p = page();
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

/* The mappings of the process: lines of /proc/self/maps and the bytes
 * they span, read into a static buffer so that counting allocates
 * nothing. */
struct maps {
	size_t lines;
	uint64_t bytes;
};

static struct maps count_maps(void)
{
	static char buf[1 << 20];
	static bool touched;
	struct maps maps = {0, 0};
	size_t len = 0;
	ssize_t got;
	int fd;

	/* Every page of the buffer written once, first: valgrind then has
	 * the shadow of all of it, and a longer text later maps nothing. */
	if (!touched) {
		memset(buf, 0, sizeof(buf));
		touched = true;
	}
	fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	while ((got = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)got;
	ck_assert_uint_lt(len, sizeof(buf) - 1);
	ck_assert_int_eq(close(fd), 0);
	buf[len] = '\0';
	for (char *line = buf; line && *line;
	     line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		char *end;
		uint64_t from = strtoull(line, &end, 16), to = strtoull(end + 1, NULL, 16);

		maps.lines++;
		maps.bytes += to - from;
	}
	return maps;
}

/* ASan's and TSan's allocators split a reservation of their own with
 * MAP_FIXED as they grow, adding lines but not bytes. */
#define SANITIZER_ALLOCATOR (TEST_UNDER_ASAN || TEST_UNDER_TSAN)

/* The same span and, but under a sanitizer's allocator, as many lines. */
static bool maps_equal(struct maps a, struct maps b)
{
	return a.bytes == b.bytes && (SANITIZER_ALLOCATOR || a.lines == b.lines);
}

/* Entries of /proc/self/fd. */
static size_t count_fds(void)
{
	static char buf[1 << 14];
	size_t count = 0;
	long got;
	int fd = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	while ((got = syscall(SYS_getdents64, fd, buf, sizeof(buf))) > 0) {
		for (long at = 0; at < got;) {
			unsigned short reclen;
			const char *name = buf + at + 19;

			memcpy(&reclen, buf + at + 16, sizeof(reclen));
			if (strcmp(name, ".") != 0 && strcmp(name, "..") != 0)
				count++;
			at += reclen;
		}
	}
	ck_assert_int_eq(close(fd), 0);
	return count;
}

/* Whether a difference in the mappings around one call may be the
 * tool's own: valgrind's shadow memory and a sanitizer's allocator map
 * memory whenever the program touches new memory, in any call. */
static bool mappings_noisy(void)
{
	return SANITIZER_ALLOCATOR || test_under_valgrind();
}

/* Calls squib_mem_add_region_opts(mem, opts); returns 1 when it does not
 * return want, 2 when it changes the region count, the file descriptors
 * or the mappings (under a tool, a difference in the mappings must come
 * back on each of 8 more calls to count: a leak does, the tool's own
 * mapping does not), else 0. No assertion: children use it too. */
static int refusal_check(squib_mem_t *mem, const squib_region_opts_t *opts, squib_status_t want)
{
	size_t regions = squib_mem_region_count(mem), fds = count_fds();
	struct maps maps = count_maps();
	squib_status_t got = squib_mem_add_region_opts(mem, opts);
	struct maps after = count_maps();
	bool same = maps_equal(after, maps);

	if (got != want) {
		fprintf(stderr, "refusal_check: flags 0x%x: got %d (%s), want %d: %s\n",
			(unsigned)opts->flags, (int)got, squib_strerror(got), (int)want,
			squib_last_error());
		return 1;
	}
	for (int again = 0; !same && mappings_noisy() && again < 8; again++) {
		struct maps retry = count_maps();

		if (squib_mem_add_region_opts(mem, opts) != want)
			return 1;
		same = maps_equal(count_maps(), retry);
	}
	if (squib_mem_region_count(mem) != regions || count_fds() != fds || !same) {
		fprintf(stderr,
			"refusal_check: flags 0x%x: %zu regions (were %zu), %zu fds (were %zu), "
			"%zu mappings of %" PRIu64 " bytes (were %zu of %" PRIu64 ")\n",
			(unsigned)opts->flags, squib_mem_region_count(mem), regions, count_fds(),
			fds, after.lines, after.bytes, maps.lines, maps.bytes);
		return 2;
	}
	return 0;
}

/* A value of /proc/meminfo ("HugePages_Free", "Hugepagesize"), or 0. */
static uint64_t meminfo(const char *key)
{
	char *text = read_proc("/proc/meminfo");
	size_t len = strlen(key);
	uint64_t value = 0;

	for (char *line = text; line && *line;
	     line = strchr(line, '\n'), line = line ? line + 1 : NULL)
		if (strncmp(line, key, len) == 0 && line[len] == ':') {
			value = strtoull(line + len + 1, NULL, 10);
			break;
		}
	free(text);
	return value;
}

static uint64_t huge_page(void)
{
	return meminfo("Hugepagesize") * 1024;
}

/* How a forked child ends: through an exec of sh that exits with code, so
 * that under valgrind the child is not leak-checked (the parent's heap it
 * inherits but no longer points to would count as lost and turn its exit
 * status into valgrind's error code). _exit() if the exec fails. */
static _Noreturn void child_exit(int code)
{
	char script[32];

	(void)snprintf(script, sizeof(script), "exit %d", code);
	execl("/bin/sh", "sh", "-c", script, (char *)NULL);
	_exit(code);
}

/* Forks a child that reads the byte at p with the default SIGSEGV action
 * and exits 0 when it equals want (3 when not); returns its status. */
static int child_reads(const volatile uint8_t *p, uint8_t want)
{
	int status = -1;
	pid_t child = fork();

	ck_assert_int_ge(child, 0);
	if (child == 0) {
		struct sigaction dfl;

		memset(&dfl, 0, sizeof(dfl));
		dfl.sa_handler = SIG_DFL;
		(void)sigaction(SIGSEGV, &dfl, NULL);
		alarm(20);
		child_exit(*p == want ? 0 : 3);
	}
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	return status;
}

/* ------------------------------------------------------------------ */
/* DONTDUMP                                                            */

START_TEST(dontdump_in_vmflags)
{
	const uint64_t p = page();
	int fd = temp_file(4 * p);
	squib_mem_t *mem = test_mem_new();
	squib_region_opts_t opts;
	uint8_t *caller =
	    mmap(NULL, 2 * p, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ck_assert_ptr_ne(caller, MAP_FAILED);
	opts = opts_of(0x100000, 4 * p, 1, SQUIB_REGION_DONTDUMP);
	CK_OK(squib_mem_add_region_opts(mem, &opts));
	opts = opts_of(0x200000, 4 * p, 2, 0);
	CK_OK(squib_mem_add_region_opts(mem, &opts));
	opts = opts_of(0x300000, 4 * p, 3, SQUIB_REGION_SHARED | SQUIB_REGION_DONTDUMP);
	CK_OK(squib_mem_add_region_opts(mem, &opts));
	opts = opts_of(0x400000, 4 * p, 4, SQUIB_REGION_FILE | SQUIB_REGION_DONTDUMP);
	opts.fd = fd;
	CK_OK(squib_mem_add_region_opts(mem, &opts));
	opts = opts_of(0x500000, 2 * p, 5, SQUIB_REGION_DONTDUMP);
	opts.host_addr = caller;
	CK_OK(squib_mem_add_region_opts(mem, &opts));
	test_add(mem, 0x600000, 4 * p, 6);

	CK_VMFLAG(info_of(mem, 1).host_addr, "dd", true);
	CK_VMFLAG((uint8_t *)info_of(mem, 1).host_addr + 4 * p - 1, "dd", true);
	CK_VMFLAG(info_of(mem, 2).host_addr, "dd", false);
	CK_VMFLAG(info_of(mem, 3).host_addr, "dd", true);
	CK_VMFLAG(info_of(mem, 4).host_addr, "dd", true);
	CK_VMFLAG(caller, "dd", true); /* applied to the caller's range */
	CK_VMFLAG(info_of(mem, 6).host_addr, "dd", false);
	ck_assert_uint_eq(info_of(mem, 1).flags, SQUIB_REGION_DONTDUMP);
	squib_mem_free(mem);
	ck_assert_int_eq(munmap(caller, 2 * p), 0);
	ck_assert_int_eq(close(fd), 0);
}
END_TEST

/* Whether this host (or the emulator running the test: valgrind 3.19 has
 * no mlock2) can lock pages on fault; prints the SKIP line when not. */
static bool lock_on_fault_works(const char *test)
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

/* ------------------------------------------------------------------ */
/* LOCKED                                                              */

START_TEST(locked_on_fault)
{
	const uint64_t p = page(), size = 8 * p, base = 0x100000;
	squib_mem_t *mem = test_mem_new();
	squib_region_opts_t opts = opts_of(base, size, 1, SQUIB_REGION_LOCKED);
	squib_region_info_t info;
	struct vma vma;

	if (!lock_on_fault_works("locked_on_fault")) {
		squib_mem_free(mem);
		return;
	}
	CK_OK(squib_mem_add_region_opts(mem, &opts));
	info = info_of(mem, 1);
	ck_assert_uint_eq(info.flags, SQUIB_REGION_LOCKED);
	vma = vma_of(info.host_addr);
	ck_assert_msg(vma_has(&vma, "lf") || vma_has(&vma, "lo"), "VmFlags \"%s\" lack lf/lo",
		      vma.vmflags);
	/* On fault: nothing locked before the guest touches it ... */
	ck_assert_uint_eq(vma.locked_kb, 0);
	for (uint64_t at = 0; at < size; at += p)
		CK_OK(squib_mem_write_u8(mem, SQUIB_GPA(base + at), 1));
	/* ... and every touched page locked after. */
	vma = vma_of(info.host_addr);
	ck_assert_msg(vma.locked_kb >= size / 1024, "Locked: %" PRIu64 " kB, want %" PRIu64 " kB",
		      vma.locked_kb, size / 1024);
	/* Without the flag, nothing is locked. */
	test_add(mem, 0x200000, size, 2);
	for (uint64_t at = 0; at < size; at += p)
		CK_OK(squib_mem_write_u8(mem, SQUIB_GPA(0x200000 + at), 1));
	vma = vma_of(info_of(mem, 2).host_addr);
	ck_assert_msg(!vma_has(&vma, "lo") && !vma_has(&vma, "lf") && vma.locked_kb == 0,
		      "an unlocked region: VmFlags \"%s\", Locked %" PRIu64 " kB", vma.vmflags,
		      vma.locked_kb);
	squib_mem_free(mem);
}
END_TEST

/* Drops CAP_IPC_LOCK from the effective set (a root process ignores
 * RLIMIT_MEMLOCK with it). */
static bool drop_ipc_lock(void)
{
	struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct data[2];

	memset(data, 0, sizeof(data));
	if (syscall(SYS_capget, &header, data) != 0)
		return false;
	data[CAP_IPC_LOCK / 32].effective &= ~(1u << (CAP_IPC_LOCK % 32));
	return syscall(SYS_capset, &header, data) == 0;
}

/* The child of locked_beyond_the_limit: 0 when all went as wanted. */
static int locked_child(void)
{
	const uint64_t p = page();
	struct rlimit limit = {64 * 1024, 64 * 1024};
	squib_mem_t *mem = NULL;
	squib_region_opts_t opts;

	if (getuid() == 0 && !drop_ipc_lock())
		return 10;
	if (setrlimit(RLIMIT_MEMLOCK, &limit) != 0)
		return 11;
	if (squib_mem_new(&mem) != SQUIB_OK)
		return 12;
	/* Within the limit: accepted, so a refusal below is the limit's. */
	opts = opts_of(0x100000, 8 * p, 1, SQUIB_REGION_LOCKED);
	if (squib_mem_add_region_opts(mem, &opts) != SQUIB_OK)
		return 13;
	for (int round = 0; round < 2; round++) {
		/* Round 0 warms up: what a sanitizer or valgrind maps the first
		 * time a path runs is not the library's. Round 1 is counted. */
		for (uint32_t shared = 0; shared <= SQUIB_REGION_SHARED;
		     shared += SQUIB_REGION_SHARED) {
			int result;

			opts = opts_of(0x10000000, 16 * MIB, 2, SQUIB_REGION_LOCKED | shared);
			result = refusal_check(mem, &opts, SQUIB_E_NO_MEMORY);
			if (result == 1)
				return 14;
			if (!test_has_decimal(squib_last_error(), 16 * MIB))
				return 15;
			if (round == 1 && result == 2)
				return 16;
		}
	}
	/* The table comes first: OVERLAP and SLOT_IN_USE, not NO_MEMORY. */
	opts = opts_of(0x100000, 16 * MIB, 2, SQUIB_REGION_LOCKED);
	if (squib_mem_add_region_opts(mem, &opts) != SQUIB_E_OVERLAP)
		return 18;
	opts = opts_of(0x10000000, 16 * MIB, 1, SQUIB_REGION_LOCKED);
	if (squib_mem_add_region_opts(mem, &opts) != SQUIB_E_SLOT_IN_USE)
		return 19;
	squib_mem_free(mem);
	return 0;
}

START_TEST(locked_beyond_the_limit)
{
	int status = -1;
	pid_t child;

	if (!lock_on_fault_works("locked_beyond_the_limit"))
		return;
	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		alarm(30);
		child_exit(locked_child());
	}
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "child status 0x%x (exit 14: not NO_MEMORY, 15: message lacks the size, "
		      "16: a refusal left something behind)",
		      (unsigned)status);
}
END_TEST

/* ------------------------------------------------------------------ */
/* PREFAULT                                                            */

START_TEST(prefault_populates)
{
	const uint64_t p = page(), size = 16 * p;
	/* Two files: a prefault reads ahead in its file, so the untouched
	 * one must be another (mincore reports a file's page cache). */
	int fd = temp_file(size), untouched = temp_file(2 * size);
	squib_mem_t *mem = test_mem_new();
	squib_region_opts_t opts;
	const void *host;

	opts = opts_of(0x100000, size, 1, SQUIB_REGION_PREFAULT);
	CK_OK(squib_mem_add_region_opts(mem, &opts));
	opts = opts_of(0x200000, size, 2, 0);
	CK_OK(squib_mem_add_region_opts(mem, &opts));
	opts = opts_of(0x300000, size, 3, SQUIB_REGION_FILE | SQUIB_REGION_PREFAULT);
	opts.fd = fd;
	CK_OK(squib_mem_add_region_opts(mem, &opts));
	opts = opts_of(0x400000, size, 4, SQUIB_REGION_FILE);
	opts.fd = untouched;
	opts.fd_offset = size;
	CK_OK(squib_mem_add_region_opts(mem, &opts));
	opts = opts_of(0x500000, size, 5, SQUIB_REGION_SHARED | SQUIB_REGION_PREFAULT);
	CK_OK(squib_mem_add_region_opts(mem, &opts));
	opts = opts_of(0x600000, size, 6, SQUIB_REGION_READONLY | SQUIB_REGION_PREFAULT);
	CK_OK(squib_mem_add_region_opts(mem, &opts));
	test_add(mem, 0x700000, size, 7);

	host = info_of(mem, 1).host_addr;
	ck_assert_uint_eq(resident_pages(host, size), size / p);
	host = info_of(mem, 2).host_addr;
	ck_assert_uint_eq(resident_pages(host, size), 0);
	host = info_of(mem, 3).host_addr;
	ck_assert_uint_eq(resident_pages(host, size), size / p);
	host = info_of(mem, 4).host_addr;
	ck_assert_uint_eq(resident_pages(host, size), 0);
	host = info_of(mem, 5).host_addr;
	ck_assert_uint_eq(resident_pages(host, size), size / p);
	host = info_of(mem, 6).host_addr;
	ck_assert_uint_eq(resident_pages(host, size), size / p);
	host = info_of(mem, 7).host_addr;
	ck_assert_uint_eq(resident_pages(host, size), 0);
	/* Touching one page of an unprefaulted region makes just that one
	 * resident: mincore tells them apart. */
	CK_OK(squib_mem_write_u8(mem, SQUIB_GPA(0x200000 + 3 * p), 1));
	ck_assert_uint_eq(resident_pages(info_of(mem, 2).host_addr, size), 1);
	ck_assert_uint_eq(info_of(mem, 3).flags, SQUIB_REGION_FILE | SQUIB_REGION_PREFAULT);
	squib_mem_free(mem);
	ck_assert_int_eq(close(fd), 0);
	ck_assert_int_eq(close(untouched), 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* DONTFORK                                                            */

START_TEST(dontfork_child_does_not_inherit)
{
	const uint64_t p = page(), size = 4 * p;
	int fd = temp_file(size);
	squib_mem_t *mem = test_mem_new();
	squib_region_opts_t opts;
	int status;

	opts = opts_of(0x100000, size, 1, SQUIB_REGION_DONTFORK);
	CK_OK(squib_mem_add_region_opts(mem, &opts));
	opts = opts_of(0x200000, size, 2, 0);
	CK_OK(squib_mem_add_region_opts(mem, &opts));
	opts = opts_of(0x300000, size, 3, SQUIB_REGION_SHARED | SQUIB_REGION_DONTFORK);
	CK_OK(squib_mem_add_region_opts(mem, &opts));
	opts = opts_of(0x400000, size, 4, SQUIB_REGION_FILE | SQUIB_REGION_DONTFORK);
	opts.fd = fd;
	CK_OK(squib_mem_add_region_opts(mem, &opts));
	opts = opts_of(0x500000, size, 5, SQUIB_REGION_SHARED);
	CK_OK(squib_mem_add_region_opts(mem, &opts));
	for (uint32_t slot = 1; slot <= 5; slot++)
		CK_OK(squib_mem_write_u8(mem, SQUIB_GPA(0x100000 * slot + p + 1),
					 (uint8_t)(0x40 + slot)));

	for (uint32_t slot = 1; slot <= 5; slot++) {
		squib_region_info_t info = info_of(mem, slot);
		bool dontfork = info.flags & SQUIB_REGION_DONTFORK;

		status = child_reads((uint8_t *)info.host_addr + p + 1, (uint8_t)(0x40 + slot));
		if (dontfork) {
			ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV,
				      "slot %u (DONTFORK): child status 0x%x, want SIGSEGV", slot,
				      (unsigned)status);
			CK_VMFLAG(info.host_addr, "dc", true);
		} else {
			ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
				      "slot %u: child status 0x%x, want it to read the byte", slot,
				      (unsigned)status);
			CK_VMFLAG(info.host_addr, "dc", false);
		}
	}
	squib_mem_free(mem);
	ck_assert_int_eq(close(fd), 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* THP                                                                 */

START_TEST(thp_is_a_hint)
{
	const uint64_t p = page(), size = 8 * MIB;
	bool has_thp = access("/sys/kernel/mm/transparent_hugepage", F_OK) == 0;
	int fd = temp_file(4 * p);
	squib_mem_t *mem = test_mem_new();
	squib_region_opts_t opts;
	uint8_t *caller =
	    mmap(NULL, 4 * p, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t value = 0;

	ck_assert_ptr_ne(caller, MAP_FAILED);
	opts = opts_of(0x40000000, size, 1, SQUIB_REGION_THP);
	CK_OK(squib_mem_add_region_opts(mem, &opts));
	/* On every backing it never fails, whatever the kernel makes of it. */
	opts = opts_of(0x80000000, 4 * p, 2, SQUIB_REGION_THP | SQUIB_REGION_SHARED);
	CK_OK(squib_mem_add_region_opts(mem, &opts));
	opts = opts_of(0x90000000, 4 * p, 3, SQUIB_REGION_THP | SQUIB_REGION_FILE);
	opts.fd = fd;
	CK_OK(squib_mem_add_region_opts(mem, &opts));
	opts = opts_of(0xa0000000, 4 * p, 4, SQUIB_REGION_THP);
	opts.host_addr = caller;
	CK_OK(squib_mem_add_region_opts(mem, &opts));
	opts = opts_of(0xb0000003, 5, 5, SQUIB_REGION_THP); /* smaller than a page */
	CK_OK(squib_mem_add_region_opts(mem, &opts));
	for (uint32_t slot = 1; slot <= 5; slot++) {
		squib_region_info_t info = info_of(mem, slot);

		ck_assert_uint_eq(info.flags & SQUIB_REGION_THP, SQUIB_REGION_THP);
		CK_OK(squib_mem_write_u8(mem, info.range.base, (uint8_t)slot));
	}
	CK_OK(squib_mem_write_u64_le(mem, SQUIB_GPA(0x40000000 + size - 8), 0x1122334455667788u));
	CK_OK(squib_mem_read_u64_le(mem, SQUIB_GPA(0x40000000 + size - 8), &value));
	ck_assert_uint_eq(value, 0x1122334455667788u);
	if (has_thp) {
		CK_VMFLAG(info_of(mem, 1).host_addr, "hg", true);
		CK_VMFLAG(caller, "hg", true);
		test_add(mem, 0xc0000000, size, 6);
		CK_VMFLAG(info_of(mem, 6).host_addr, "hg", false);
	} else {
		printf("SKIP thp: no THP on this host\n");
		(void)fflush(stdout);
	}
	squib_mem_free(mem);
	ck_assert_int_eq(munmap(caller, 4 * p), 0);
	ck_assert_int_eq(close(fd), 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* HUGETLB                                                             */

/* The pool for hugetlb_regions_work: when run as root and the pool has
 * fewer than POOL_PAGES free, grow nr_hugepages for the tcase (an
 * unchecked fixture: it runs in the runner, once, whatever the test does)
 * and put the old value back afterwards. */
#define POOL_PAGES 4
static long pool_old = -1;
static int pool_lock_fd = -1;

/*
 * Test processes that change the pool, or count on it being empty, take
 * an exclusive flock on /proc/sys/vm/nr_hugepages itself: another run of
 * this suite at the same time (a second check.sh on the machine) then
 * neither empties the pool under this one's regions nor grows it between
 * this one's "the pool is empty" and its NO_MEMORY. The lock is released
 * with the descriptor; nothing is left behind.
 */
static int pool_lock(void)
{
	int fd = open("/proc/sys/vm/nr_hugepages", O_RDONLY | O_CLOEXEC);

	/* Bounded: a lock that a failed test of this very process left held
	 * (CK_FORK=no) must not hang the suite; after 30 s, go on without. */
	for (int tries = 0; fd >= 0 && tries < 3000; tries++) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0 || errno != EWOULDBLOCK)
			break;
		(void)usleep(10000);
	}
	return fd;
}

static void pool_unlock(int fd)
{
	if (fd >= 0)
		(void)close(fd);
}

static long read_nr_hugepages(void)
{
	char *text = read_proc("/proc/sys/vm/nr_hugepages");
	long value = strtol(text, NULL, 10);

	free(text);
	return value;
}

static bool write_nr_hugepages(long value)
{
	char text[32];
	int fd = open("/proc/sys/vm/nr_hugepages", O_WRONLY | O_CLOEXEC);
	int len = snprintf(text, sizeof(text), "%ld\n", value);
	bool ok;

	if (fd < 0)
		return false;
	ok = write(fd, text, (size_t)len) == (ssize_t)len;
	(void)close(fd);
	return ok;
}

static void pool_setup(void)
{
	uint64_t free_pages;

	pool_lock_fd = pool_lock();
	free_pages = meminfo("HugePages_Free");
	pool_old = -1;
	if (free_pages >= POOL_PAGES || getuid() != 0)
		return;
	pool_old = read_nr_hugepages();
	if (pool_old < 0 || !write_nr_hugepages(pool_old + POOL_PAGES - (long)free_pages))
		pool_old = -1;
}

static void pool_teardown(void)
{
	if (pool_old >= 0)
		(void)write_nr_hugepages(pool_old);
	pool_old = -1;
	pool_unlock(pool_lock_fd);
	pool_lock_fd = -1;
}

START_TEST(hugetlb_regions_work)
{
	const uint64_t huge = huge_page(), free_pages = meminfo("HugePages_Free");
	squib_mem_t *mem;
	squib_region_opts_t opts;

	if (huge == 0 || free_pages < POOL_PAGES) {
		printf("SKIP hugetlb: no huge pages in the pool (HugePages_Free %" PRIu64
		       ") for hugetlb_regions_work\n",
		       free_pages);
		(void)fflush(stdout);
		return;
	}
	mem = test_mem_new();
	opts = opts_of(0x40000000, 2 * huge, 1, SQUIB_REGION_HUGETLB);
	CK_OK(squib_mem_add_region_opts(mem, &opts));
	opts = opts_of(0x80000000, 2 * huge, 2, SQUIB_REGION_HUGETLB | SQUIB_REGION_SHARED);
	opts.name = "huge";
	CK_OK(squib_mem_add_region_opts(mem, &opts));
	for (uint32_t slot = 1; slot <= 2; slot++) {
		squib_region_info_t info = info_of(mem, slot);
		uint64_t base = info.range.base.raw, value = 0;
		struct vma vma;
		uint8_t buf[256], got[256];

		ck_assert_uint_eq(info.flags & SQUIB_REGION_HUGETLB, SQUIB_REGION_HUGETLB);
		ck_assert_uint_eq((uint64_t)(uintptr_t)info.host_addr % huge, 0);
		test_fill_pattern(buf, sizeof(buf), slot);
		CK_OK(squib_mem_write(mem, SQUIB_GPA(base + huge - 128), buf, sizeof(buf)));
		CK_OK(squib_mem_write_u64_le(mem, SQUIB_GPA(base + 2 * huge - 8),
					     0xfedcba98u + slot));
		CK_OK(squib_mem_read(mem, SQUIB_GPA(base + huge - 128), got, sizeof(got)));
		CK_BYTES_EQ(got, buf, sizeof(buf));
		CK_OK(squib_mem_read_u64_le(mem, SQUIB_GPA(base + 2 * huge - 8), &value));
		ck_assert_uint_eq(value, 0xfedcba98u + slot);
		vma = vma_of(info.host_addr);
		ck_assert_msg(vma.kernel_page_kb * 1024 == huge,
			      "slot %u: KernelPageSize %" PRIu64 " kB, want %" PRIu64 " kB", slot,
			      vma.kernel_page_kb, huge / 1024);
		ck_assert_msg(vma_has(&vma, "ht"), "slot %u: VmFlags \"%s\" lack ht", slot,
			      vma.vmflags);
		if (slot == 2) {
			struct stat st;

			ck_assert_int_ge(info.fd, 0);
			ck_assert_int_eq(fstat(info.fd, &st), 0);
			ck_assert_uint_eq((uint64_t)st.st_size, 2 * huge);
		}
	}
	squib_mem_free(mem);
}
END_TEST

START_TEST(hugetlb_refusals)
{
	const uint64_t p = page(), huge = huge_page();
	squib_mem_t *mem = test_mem_new();
	squib_region_opts_t opts;
	int lock;

	if (huge == 0) {
		printf("SKIP hugetlb: no default huge page size for hugetlb_refusals\n");
		(void)fflush(stdout);
		squib_mem_free(mem);
		return;
	}
	/* Base and size must be multiples of the huge page size. */
	opts = opts_of(0x40000000 + huge / 2, 2 * huge, 1, SQUIB_REGION_HUGETLB);
	CK_STATUS(squib_mem_add_region_opts(mem, &opts), SQUIB_E_INVALID_ARGUMENT);
	CK_LAST_ERROR_HAS_U64(huge);
	opts = opts_of(0x40000000 + p, 2 * huge, 1, SQUIB_REGION_HUGETLB | SQUIB_REGION_SHARED);
	CK_STATUS(squib_mem_add_region_opts(mem, &opts), SQUIB_E_INVALID_ARGUMENT);
	CK_LAST_ERROR_HAS_U64(huge);
	opts = opts_of(0x40000000, huge + p, 1, SQUIB_REGION_HUGETLB);
	CK_STATUS(squib_mem_add_region_opts(mem, &opts), SQUIB_E_INVALID_ARGUMENT);
	CK_LAST_ERROR_HAS_U64(huge);
	CK_LAST_ERROR_HAS_U64(huge + p);
	opts = opts_of(0x40000000, p, 1, SQUIB_REGION_HUGETLB | SQUIB_REGION_SHARED);
	CK_STATUS(squib_mem_add_region_opts(mem, &opts), SQUIB_E_INVALID_ARGUMENT);
	opts = opts_of(0x40000000, 2 * huge, 1, SQUIB_REGION_HUGETLB | SQUIB_REGION_THP);
	CK_STATUS(squib_mem_add_region_opts(mem, &opts), SQUIB_E_INVALID_ARGUMENT);
	ck_assert_uint_eq(squib_mem_region_count(mem), 0);

	lock = pool_lock();
	if (meminfo("HugePages_Free") == 0 && meminfo("HugePages_Total") == 0 &&
	    meminfo("HugePages_Surp") == 0) {
		char *over = read_proc("/proc/sys/vm/nr_overcommit_hugepages");
		bool no_surplus = strtol(over, NULL, 10) == 0;

		free(over);
		if (no_surplus) {
			/* An empty pool: aligned requests are NO_MEMORY and leave
			 * nothing behind (counted in round 1: round 0 warms up
			 * what libc, a sanitizer or valgrind set up once). */
			static const uint32_t variants[] = {
			    SQUIB_REGION_HUGETLB, SQUIB_REGION_HUGETLB | SQUIB_REGION_SHARED,
			    SQUIB_REGION_HUGETLB | SQUIB_REGION_SHARED | SQUIB_REGION_DONTDUMP |
				SQUIB_REGION_PREFAULT,
			    SQUIB_REGION_HUGETLB | SQUIB_REGION_PREFAULT | SQUIB_REGION_LOCKED};

			for (int round = 0; round < 2; round++)
				for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]);
				     i++) {
					int result;

					opts = opts_of(0x40000000, 2 * huge, 1, variants[i]);
					result = refusal_check(mem, &opts, SQUIB_E_NO_MEMORY);
					ck_assert_msg(result != 1, "flags 0x%x: not NO_MEMORY: %s",
						      (unsigned)variants[i], squib_last_error());
					CK_LAST_ERROR_HAS_U64(2 * huge);
					ck_assert_msg(
					    round == 0 || result == 0,
					    "flags 0x%x: a refusal left a region, a mapping "
					    "or an fd behind (see stderr)",
					    (unsigned)variants[i]);
				}
			/* SLOT_IN_USE and OVERLAP come before the pool. */
			test_add(mem, 0x40000000, p, 9);
			opts = opts_of(0x40000000, 2 * huge, 2, SQUIB_REGION_HUGETLB);
			CK_STATUS(squib_mem_add_region_opts(mem, &opts), SQUIB_E_OVERLAP);
			opts = opts_of(0x80000000, 2 * huge, 9, SQUIB_REGION_HUGETLB);
			CK_STATUS(squib_mem_add_region_opts(mem, &opts), SQUIB_E_SLOT_IN_USE);
		} else {
			printf("SKIP hugetlb: surplus huge pages allowed, no empty-pool "
			       "NO_MEMORY check in hugetlb_refusals\n");
			(void)fflush(stdout);
		}
	} else {
		printf("SKIP hugetlb: the pool is not empty, no NO_MEMORY check in "
		       "hugetlb_refusals\n");
		(void)fflush(stdout);
	}
	pool_unlock(lock);
	squib_mem_free(mem);
}
END_TEST

/* ------------------------------------------------------------------ */
/* DIRTY_LOG                                                           */

START_TEST(dirty_log_accepted)
{
	const uint64_t p = page();
	squib_mem_t *mem = test_mem_new();
	squib_region_opts_t opts;
	uint8_t buf[32], got[32];
	uint64_t value = 0;

	opts = opts_of(0x100000, 4 * p, 1, SQUIB_REGION_DIRTY_LOG);
	CK_OK(squib_mem_add_region_opts(mem, &opts));
	opts = opts_of(0x200000, 4 * p, 2, SQUIB_REGION_DIRTY_LOG | SQUIB_REGION_SHARED);
	CK_OK(squib_mem_add_region_opts(mem, &opts));
	ck_assert_uint_eq(info_of(mem, 1).flags, SQUIB_REGION_DIRTY_LOG);
	ck_assert_uint_eq(info_of(mem, 2).flags, SQUIB_REGION_DIRTY_LOG | SQUIB_REGION_SHARED);
	/* Writes to a logged region still land. */
	test_fill_pattern(buf, sizeof(buf), 3);
	for (uint64_t base = 0x100000; base <= 0x200000; base += 0x100000) {
		CK_OK(squib_mem_write(mem, SQUIB_GPA(base + 10), buf, sizeof(buf)));
		CK_OK(
		    squib_mem_write_u64_le(mem, SQUIB_GPA(base + 4 * p - 8), 0x0102030405060708u));
		CK_OK(squib_mem_read(mem, SQUIB_GPA(base + 10), got, sizeof(got)));
		CK_BYTES_EQ(got, buf, sizeof(buf));
		CK_OK(squib_mem_read_u64_le(mem, SQUIB_GPA(base + 4 * p - 8), &value));
		ck_assert_uint_eq(value, 0x0102030405060708u);
	}
	squib_mem_free(mem);
}
END_TEST

static Suite *flags_suite(void)
{
	Suite *suite = suite_create("flags");
	TCase *dump = tcase_create("dontdump");
	TCase *lock = tcase_create("locked");
	TCase *prefault = tcase_create("prefault");
	TCase *fork_case = tcase_create("dontfork");
	TCase *thp = tcase_create("thp");
	TCase *huge = tcase_create("hugetlb_refusals");
	TCase *pool = tcase_create("hugetlb_pool");
	TCase *dirty = tcase_create("dirty_log");

	tcase_add_test(dump, dontdump_in_vmflags);
	tcase_add_test(lock, locked_on_fault);
	tcase_add_test(lock, locked_beyond_the_limit);
	tcase_set_timeout(lock, 60);
	tcase_add_test(prefault, prefault_populates);
	tcase_add_test(fork_case, dontfork_child_does_not_inherit);
	tcase_set_timeout(fork_case, 60);
	tcase_add_test(thp, thp_is_a_hint);
	/* Before the pool tcase: it needs the host's empty pool. */
	tcase_add_test(huge, hugetlb_refusals);
	tcase_add_unchecked_fixture(pool, pool_setup, pool_teardown);
	tcase_add_test(pool, hugetlb_regions_work);
	tcase_set_timeout(pool, 60);
	tcase_add_test(dirty, dirty_log_accepted);

	suite_add_tcase(suite, dump);
	suite_add_tcase(suite, lock);
	suite_add_tcase(suite, prefault);
	suite_add_tcase(suite, fork_case);
	suite_add_tcase(suite, thp);
	suite_add_tcase(suite, huge);
	suite_add_tcase(suite, pool);
	suite_add_tcase(suite, dirty);
	return suite;
}

TEST_MAIN(flags_suite)
