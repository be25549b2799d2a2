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
#include "test_host.h"

#define MIB ((uint64_t)1 << 20)

/* ------------------------------------------------------------------ */
/* helpers                                                             */

#define CK_VMFLAG(addr, flag, want)                                                                \
	do {                                                                                       \
		struct test_vma vma_ = test_vma_of(addr);                                          \
		ck_assert_msg(test_vma_has(&vma_, (flag)) == (want),                               \
			      "%s: VmFlags of [0x%" PRIx64 ", 0x%" PRIx64 ") are \"%s\": "         \
			      "\"%s\" %s",                                                         \
			      #addr, vma_.start, vma_.end, vma_.vmflags, (flag),                   \
			      (want) ? "missing" : "present");                                     \
	} while (0)

/* Calls squib_mem_add_region_opts(mem, opts); returns 1 when it does not
 * return want, 2 when it changes the region count, the file descriptors
 * or the mappings (under a tool, a difference in the mappings must come
 * back on each of 8 more calls to count: a leak does, the tool's own
 * mapping does not), else 0. No assertion: children use it too. */
static int refusal_check(squib_mem_t *mem, const squib_region_opts_t *opts, squib_status_t want)
{
	size_t regions = squib_mem_region_count(mem), fds = test_count_fds();
	struct test_maps maps = test_count_maps();
	squib_status_t got = squib_mem_add_region_opts(mem, opts);
	struct test_maps after = test_count_maps();
	bool same = test_maps_equal(after, maps);

	if (got != want) {
		fprintf(stderr, "refusal_check: flags 0x%x: got %d (%s), want %d: %s\n",
			(unsigned)opts->flags, (int)got, squib_strerror(got), (int)want,
			squib_last_error());
		return 1;
	}
	for (int again = 0; !same && test_mappings_noisy() && again < 8; again++) {
		struct test_maps retry = test_count_maps();

		if (squib_mem_add_region_opts(mem, opts) != want)
			return 1;
		same = test_maps_equal(test_count_maps(), retry);
	}
	if (squib_mem_region_count(mem) != regions || test_count_fds() != fds || !same) {
		fprintf(stderr,
			"refusal_check: flags 0x%x: %zu regions (were %zu), %zu fds (were %zu), "
			"%zu mappings of %" PRIu64 " bytes (were %zu of %" PRIu64 ")\n",
			(unsigned)opts->flags, squib_mem_region_count(mem), regions,
			test_count_fds(), fds, after.lines, after.bytes, maps.lines, maps.bytes);
		return 2;
	}
	return 0;
}

/* A value of /proc/meminfo ("HugePages_Free", "Hugepagesize"), or 0. */
static uint64_t meminfo(const char *key)
{
	char *text = test_read_proc("/proc/meminfo");
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

/* ------------------------------------------------------------------ */
/* DONTDUMP                                                            */

START_TEST(dontdump_in_vmflags)
{
	const uint64_t p = test_page();
	int fd = test_temp_file(4 * p, 0);
	squib_mem_t *mem = test_mem_new();
	squib_region_opts_t opts;
	uint8_t *caller =
	    mmap(NULL, 2 * p, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ck_assert_ptr_ne(caller, MAP_FAILED);
	opts = test_opts_of(0x100000, 4 * p, 1, SQUIB_REGION_DONTDUMP);
	CK_OK(squib_mem_add_region_opts(mem, &opts));
	opts = test_opts_of(0x200000, 4 * p, 2, 0);
	CK_OK(squib_mem_add_region_opts(mem, &opts));
	opts = test_opts_of(0x300000, 4 * p, 3, SQUIB_REGION_SHARED | SQUIB_REGION_DONTDUMP);
	CK_OK(squib_mem_add_region_opts(mem, &opts));
	opts = test_opts_of(0x400000, 4 * p, 4, SQUIB_REGION_FILE | SQUIB_REGION_DONTDUMP);
	opts.fd = fd;
	CK_OK(squib_mem_add_region_opts(mem, &opts));
	opts = test_opts_of(0x500000, 2 * p, 5, SQUIB_REGION_DONTDUMP);
	opts.host_addr = caller;
	CK_OK(squib_mem_add_region_opts(mem, &opts));
	test_add(mem, 0x600000, 4 * p, 6);

	CK_VMFLAG(test_info_of(mem, 1).host_addr, "dd", true);
	CK_VMFLAG((uint8_t *)test_info_of(mem, 1).host_addr + 4 * p - 1, "dd", true);
	CK_VMFLAG(test_info_of(mem, 2).host_addr, "dd", false);
	CK_VMFLAG(test_info_of(mem, 3).host_addr, "dd", true);
	CK_VMFLAG(test_info_of(mem, 4).host_addr, "dd", true);
	CK_VMFLAG(caller, "dd", true); /* applied to the caller's range */
	CK_VMFLAG(test_info_of(mem, 6).host_addr, "dd", false);
	ck_assert_uint_eq(test_info_of(mem, 1).flags, SQUIB_REGION_DONTDUMP);
	squib_mem_free(mem);
	ck_assert_int_eq(munmap(caller, 2 * p), 0);
	ck_assert_int_eq(close(fd), 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* LOCKED                                                              */

START_TEST(locked_on_fault)
{
	const uint64_t p = test_page(), size = 8 * p, base = 0x100000;
	squib_mem_t *mem = test_mem_new();
	squib_region_opts_t opts = test_opts_of(base, size, 1, SQUIB_REGION_LOCKED);
	squib_region_info_t info;
	struct test_vma vma;

	if (!test_lock_on_fault_works("locked_on_fault")) {
		squib_mem_free(mem);
		return;
	}
	CK_OK(squib_mem_add_region_opts(mem, &opts));
	info = test_info_of(mem, 1);
	ck_assert_uint_eq(info.flags, SQUIB_REGION_LOCKED);
	vma = test_vma_of(info.host_addr);
	ck_assert_msg(test_vma_has(&vma, "lf") || test_vma_has(&vma, "lo"),
		      "VmFlags \"%s\" lack lf/lo", vma.vmflags);
	/* On fault: nothing locked before the guest touches it ... */
	ck_assert_uint_eq(vma.locked_kb, 0);
	for (uint64_t at = 0; at < size; at += p)
		CK_OK(squib_mem_write_u8(mem, SQUIB_GPA(base + at), 1));
	/* ... and every touched page locked after. */
	vma = test_vma_of(info.host_addr);
	ck_assert_msg(vma.locked_kb >= size / 1024, "Locked: %" PRIu64 " kB, want %" PRIu64 " kB",
		      vma.locked_kb, size / 1024);
	/* Without the flag, nothing is locked. */
	test_add(mem, 0x200000, size, 2);
	for (uint64_t at = 0; at < size; at += p)
		CK_OK(squib_mem_write_u8(mem, SQUIB_GPA(0x200000 + at), 1));
	vma = test_vma_of(test_info_of(mem, 2).host_addr);
	ck_assert_msg(!test_vma_has(&vma, "lo") && !test_vma_has(&vma, "lf") && vma.locked_kb == 0,
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
	const uint64_t p = test_page();
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
	opts = test_opts_of(0x100000, 8 * p, 1, SQUIB_REGION_LOCKED);
	if (squib_mem_add_region_opts(mem, &opts) != SQUIB_OK)
		return 13;
	for (int round = 0; round < 2; round++) {
		/* Round 0 warms up: what a sanitizer or valgrind maps the first
		 * time a path runs is not the library's. Round 1 is counted. */
		for (uint32_t shared = 0; shared <= SQUIB_REGION_SHARED;
		     shared += SQUIB_REGION_SHARED) {
			int result;

			opts = test_opts_of(0x10000000, 16 * MIB, 2, SQUIB_REGION_LOCKED | shared);
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
	opts = test_opts_of(0x100000, 16 * MIB, 2, SQUIB_REGION_LOCKED);
	if (squib_mem_add_region_opts(mem, &opts) != SQUIB_E_OVERLAP)
		return 18;
	opts = test_opts_of(0x10000000, 16 * MIB, 1, SQUIB_REGION_LOCKED);
	if (squib_mem_add_region_opts(mem, &opts) != SQUIB_E_SLOT_IN_USE)
		return 19;
	squib_mem_free(mem);
	return 0;
}

START_TEST(locked_beyond_the_limit)
{
	int status = -1;
	pid_t child;

	if (!test_lock_on_fault_works("locked_beyond_the_limit"))
		return;
	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		alarm(30);
		test_child_exit(locked_child());
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
	const uint64_t p = test_page(), size = 16 * p;
	/* Two files: a prefault reads ahead in its file, so the untouched
	 * one must be another (mincore reports a file's page cache). */
	int fd = test_temp_file(size, 0), untouched = test_temp_file(2 * size, 0);
	squib_mem_t *mem = test_mem_new();
	squib_region_opts_t opts;
	const void *host;

	opts = test_opts_of(0x100000, size, 1, SQUIB_REGION_PREFAULT);
	CK_OK(squib_mem_add_region_opts(mem, &opts));
	opts = test_opts_of(0x200000, size, 2, 0);
	CK_OK(squib_mem_add_region_opts(mem, &opts));
	opts = test_opts_of(0x300000, size, 3, SQUIB_REGION_FILE | SQUIB_REGION_PREFAULT);
	opts.fd = fd;
	CK_OK(squib_mem_add_region_opts(mem, &opts));
	opts = test_opts_of(0x400000, size, 4, SQUIB_REGION_FILE);
	opts.fd = untouched;
	opts.fd_offset = size;
	CK_OK(squib_mem_add_region_opts(mem, &opts));
	opts = test_opts_of(0x500000, size, 5, SQUIB_REGION_SHARED | SQUIB_REGION_PREFAULT);
	CK_OK(squib_mem_add_region_opts(mem, &opts));
	opts = test_opts_of(0x600000, size, 6, SQUIB_REGION_READONLY | SQUIB_REGION_PREFAULT);
	CK_OK(squib_mem_add_region_opts(mem, &opts));
	test_add(mem, 0x700000, size, 7);

	host = test_info_of(mem, 1).host_addr;
	ck_assert_uint_eq(test_resident_pages(host, size), size / p);
	host = test_info_of(mem, 2).host_addr;
	ck_assert_uint_eq(test_resident_pages(host, size), 0);
	host = test_info_of(mem, 3).host_addr;
	ck_assert_uint_eq(test_resident_pages(host, size), size / p);
	host = test_info_of(mem, 4).host_addr;
	ck_assert_uint_eq(test_resident_pages(host, size), 0);
	host = test_info_of(mem, 5).host_addr;
	ck_assert_uint_eq(test_resident_pages(host, size), size / p);
	host = test_info_of(mem, 6).host_addr;
	ck_assert_uint_eq(test_resident_pages(host, size), size / p);
	host = test_info_of(mem, 7).host_addr;
	ck_assert_uint_eq(test_resident_pages(host, size), 0);
	/* Touching one page of an unprefaulted region makes just that one
	 * resident: mincore tells them apart. */
	CK_OK(squib_mem_write_u8(mem, SQUIB_GPA(0x200000 + 3 * p), 1));
	ck_assert_uint_eq(test_resident_pages(test_info_of(mem, 2).host_addr, size), 1);
	ck_assert_uint_eq(test_info_of(mem, 3).flags, SQUIB_REGION_FILE | SQUIB_REGION_PREFAULT);
	squib_mem_free(mem);
	ck_assert_int_eq(close(fd), 0);
	ck_assert_int_eq(close(untouched), 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* DONTFORK                                                            */

START_TEST(dontfork_child_does_not_inherit)
{
	const uint64_t p = test_page(), size = 4 * p;
	int fd = test_temp_file(size, 0);
	squib_mem_t *mem = test_mem_new();
	squib_region_opts_t opts;
	int status;

	opts = test_opts_of(0x100000, size, 1, SQUIB_REGION_DONTFORK);
	CK_OK(squib_mem_add_region_opts(mem, &opts));
	opts = test_opts_of(0x200000, size, 2, 0);
	CK_OK(squib_mem_add_region_opts(mem, &opts));
	opts = test_opts_of(0x300000, size, 3, SQUIB_REGION_SHARED | SQUIB_REGION_DONTFORK);
	CK_OK(squib_mem_add_region_opts(mem, &opts));
	opts = test_opts_of(0x400000, size, 4, SQUIB_REGION_FILE | SQUIB_REGION_DONTFORK);
	opts.fd = fd;
	CK_OK(squib_mem_add_region_opts(mem, &opts));
	opts = test_opts_of(0x500000, size, 5, SQUIB_REGION_SHARED);
	CK_OK(squib_mem_add_region_opts(mem, &opts));
	for (uint32_t slot = 1; slot <= 5; slot++)
		CK_OK(squib_mem_write_u8(mem, SQUIB_GPA(0x100000 * slot + p + 1),
					 (uint8_t)(0x40 + slot)));

	for (uint32_t slot = 1; slot <= 5; slot++) {
		squib_region_info_t info = test_info_of(mem, slot);
		bool dontfork = info.flags & SQUIB_REGION_DONTFORK;

		status =
		    test_child_reads((uint8_t *)info.host_addr + p + 1, (uint8_t)(0x40 + slot));
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
	const uint64_t p = test_page(), size = 8 * MIB;
	bool has_thp = access("/sys/kernel/mm/transparent_hugepage", F_OK) == 0;
	int fd = test_temp_file(4 * p, 0);
	squib_mem_t *mem = test_mem_new();
	squib_region_opts_t opts;
	uint8_t *caller =
	    mmap(NULL, 4 * p, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t value = 0;

	ck_assert_ptr_ne(caller, MAP_FAILED);
	opts = test_opts_of(0x40000000, size, 1, SQUIB_REGION_THP);
	CK_OK(squib_mem_add_region_opts(mem, &opts));
	/* On every backing it never fails, whatever the kernel makes of it. */
	opts = test_opts_of(0x80000000, 4 * p, 2, SQUIB_REGION_THP | SQUIB_REGION_SHARED);
	CK_OK(squib_mem_add_region_opts(mem, &opts));
	opts = test_opts_of(0x90000000, 4 * p, 3, SQUIB_REGION_THP | SQUIB_REGION_FILE);
	opts.fd = fd;
	CK_OK(squib_mem_add_region_opts(mem, &opts));
	opts = test_opts_of(0xa0000000, 4 * p, 4, SQUIB_REGION_THP);
	opts.host_addr = caller;
	CK_OK(squib_mem_add_region_opts(mem, &opts));
	opts = test_opts_of(0xb0000003, 5, 5, SQUIB_REGION_THP); /* smaller than a page */
	CK_OK(squib_mem_add_region_opts(mem, &opts));
	for (uint32_t slot = 1; slot <= 5; slot++) {
		squib_region_info_t info = test_info_of(mem, slot);

		ck_assert_uint_eq(info.flags & SQUIB_REGION_THP, SQUIB_REGION_THP);
		CK_OK(squib_mem_write_u8(mem, info.range.base, (uint8_t)slot));
	}
	CK_OK(squib_mem_write_u64_le(mem, SQUIB_GPA(0x40000000 + size - 8), 0x1122334455667788u));
	CK_OK(squib_mem_read_u64_le(mem, SQUIB_GPA(0x40000000 + size - 8), &value));
	ck_assert_uint_eq(value, 0x1122334455667788u);
	if (has_thp) {
		CK_VMFLAG(test_info_of(mem, 1).host_addr, "hg", true);
		CK_VMFLAG(caller, "hg", true);
		test_add(mem, 0xc0000000, size, 6);
		CK_VMFLAG(test_info_of(mem, 6).host_addr, "hg", false);
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
	char *text = test_read_proc("/proc/sys/vm/nr_hugepages");
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
	opts = test_opts_of(0x40000000, 2 * huge, 1, SQUIB_REGION_HUGETLB);
	CK_OK(squib_mem_add_region_opts(mem, &opts));
	opts = test_opts_of(0x80000000, 2 * huge, 2, SQUIB_REGION_HUGETLB | SQUIB_REGION_SHARED);
	opts.name = "huge";
	CK_OK(squib_mem_add_region_opts(mem, &opts));
	for (uint32_t slot = 1; slot <= 2; slot++) {
		squib_region_info_t info = test_info_of(mem, slot);
		uint64_t base = info.range.base.raw, value = 0;
		struct test_vma vma;
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
		vma = test_vma_of(info.host_addr);
		ck_assert_msg(vma.kernel_page_kb * 1024 == huge,
			      "slot %u: KernelPageSize %" PRIu64 " kB, want %" PRIu64 " kB", slot,
			      vma.kernel_page_kb, huge / 1024);
		ck_assert_msg(test_vma_has(&vma, "ht"), "slot %u: VmFlags \"%s\" lack ht", slot,
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
	const uint64_t p = test_page(), huge = huge_page();
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
	opts = test_opts_of(0x40000000 + huge / 2, 2 * huge, 1, SQUIB_REGION_HUGETLB);
	CK_STATUS(squib_mem_add_region_opts(mem, &opts), SQUIB_E_INVALID_ARGUMENT);
	CK_LAST_ERROR_HAS_U64(huge);
	opts =
	    test_opts_of(0x40000000 + p, 2 * huge, 1, SQUIB_REGION_HUGETLB | SQUIB_REGION_SHARED);
	CK_STATUS(squib_mem_add_region_opts(mem, &opts), SQUIB_E_INVALID_ARGUMENT);
	CK_LAST_ERROR_HAS_U64(huge);
	opts = test_opts_of(0x40000000, huge + p, 1, SQUIB_REGION_HUGETLB);
	CK_STATUS(squib_mem_add_region_opts(mem, &opts), SQUIB_E_INVALID_ARGUMENT);
	CK_LAST_ERROR_HAS_U64(huge);
	CK_LAST_ERROR_HAS_U64(huge + p);
	opts = test_opts_of(0x40000000, p, 1, SQUIB_REGION_HUGETLB | SQUIB_REGION_SHARED);
	CK_STATUS(squib_mem_add_region_opts(mem, &opts), SQUIB_E_INVALID_ARGUMENT);
	opts = test_opts_of(0x40000000, 2 * huge, 1, SQUIB_REGION_HUGETLB | SQUIB_REGION_THP);
	CK_STATUS(squib_mem_add_region_opts(mem, &opts), SQUIB_E_INVALID_ARGUMENT);
	ck_assert_uint_eq(squib_mem_region_count(mem), 0);

	lock = pool_lock();
	if (meminfo("HugePages_Free") == 0 && meminfo("HugePages_Total") == 0 &&
	    meminfo("HugePages_Surp") == 0) {
		char *over = test_read_proc("/proc/sys/vm/nr_overcommit_hugepages");
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

					opts = test_opts_of(0x40000000, 2 * huge, 1, variants[i]);
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
			opts = test_opts_of(0x40000000, 2 * huge, 2, SQUIB_REGION_HUGETLB);
			CK_STATUS(squib_mem_add_region_opts(mem, &opts), SQUIB_E_OVERLAP);
			opts = test_opts_of(0x80000000, 2 * huge, 9, SQUIB_REGION_HUGETLB);
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
	const uint64_t p = test_page();
	squib_mem_t *mem = test_mem_new();
	squib_region_opts_t opts;
	uint8_t buf[32], got[32];
	uint64_t value = 0;

	opts = test_opts_of(0x100000, 4 * p, 1, SQUIB_REGION_DIRTY_LOG);
	CK_OK(squib_mem_add_region_opts(mem, &opts));
	opts = test_opts_of(0x200000, 4 * p, 2, SQUIB_REGION_DIRTY_LOG | SQUIB_REGION_SHARED);
	CK_OK(squib_mem_add_region_opts(mem, &opts));
	ck_assert_uint_eq(test_info_of(mem, 1).flags, SQUIB_REGION_DIRTY_LOG);
	ck_assert_uint_eq(test_info_of(mem, 2).flags, SQUIB_REGION_DIRTY_LOG | SQUIB_REGION_SHARED);
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
