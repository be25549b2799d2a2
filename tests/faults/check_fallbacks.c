/* SPDX-License-Identifier: MIT */
/*
 * The library's answers to an older or smaller kernel, reached by making a
 * host request fail with the errno such a kernel gives (lib/fault.h,
 * squib_fault_force_errno): EINVAL for an madvise() advice or a memfd flag
 * it does not know. Each fallback must still keep the promise it stands in
 * for, observed on the real mapping: guard pages that fault, populated
 * pages, a hint that is only a hint, a refusal that says UNSUPPORTED.
 */
#define _GNU_SOURCE /* mincore */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <squib/core.h>

#include "../test_util.h"
#include "fault.h"

static size_t page(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

/* Whether reading the byte at addr kills a forked child with SIGSEGV. */
static bool read_faults(const volatile uint8_t *addr)
{
	pid_t child = fork();
	int status;

	ck_assert_int_ge(child, 0);
	if (child == 0) {
		/* The default action, not a sanitizer's report and exit. */
		(void)signal(SIGSEGV, SIG_DFL);
		(void)*addr;
		_exit(0);
	}
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV;
}

static squib_status_t add_opts(squib_mem_t *mem, uint64_t base, uint64_t size, uint32_t slot,
			       uint32_t flags, void *host_addr)
{
	squib_region_opts_t opts = SQUIB_REGION_OPTS_INIT;

	CK_OK(squib_range_init(&opts.range, SQUIB_GPA(base), size));
	opts.slot = slot;
	opts.prot = SQUIB_PROT_RW;
	opts.flags = flags;
	opts.host_addr = host_addr;
	return squib_mem_add_region_opts(mem, &opts);
}

/* Before Linux 6.13 MADV_GUARD_INSTALL is EINVAL: the guards become
 * PROT_NONE pages, which fault just the same. */
START_TEST(guard_pages_without_madv_guard_install)
{
	squib_mem_t *mem = test_mem_new();
	squib_region_info_t info = SQUIB_REGION_INFO_INIT;
	uint8_t *host;

	squib_fault_arm(SQUIB_FAULT_MADVISE, 1, true);
	squib_fault_force_errno(EINVAL);
	CK_OK(add_opts(mem, 0x10000, 4 * page(), 1, 0, NULL));
	squib_fault_disarm();
	ck_assert_uint_eq(squib_fault_injected(), 2); /* both guards, each refused */
	CK_OK(squib_mem_get_region(mem, 1, &info));
	host = info.host_addr;
	CK_OK(squib_mem_write_u64_le(mem, SQUIB_GPA(0x10000), 0x1122334455667788u));
	CK_OK(squib_mem_write_u8(mem, SQUIB_GPA(0x10000 + 4 * page() - 1), 0x99));
	ck_assert(!read_faults(host));
	ck_assert(!read_faults(host + 4 * page() - 1));
	ck_assert(read_faults(host - 1));
	ck_assert(read_faults(host + 4 * page()));
	squib_mem_free(mem);
}
END_TEST

/* A kernel without THP refuses MADV_HUGEPAGE: the region is added anyway. */
START_TEST(thp_refused_is_only_a_hint)
{
	squib_mem_t *mem = test_mem_new();
	uint64_t requests;

	/* Count the madvise calls of a THP region: two guards, then THP. */
	squib_fault_arm(SQUIB_FAULT_MADVISE, 0, false);
	CK_OK(add_opts(mem, 0x200000, 0x200000, 1, SQUIB_REGION_THP, NULL));
	requests = squib_fault_requests();
	ck_assert_uint_eq(requests, 3);
	squib_fault_arm(SQUIB_FAULT_MADVISE, requests, false);
	squib_fault_force_errno(EINVAL);
	CK_OK(add_opts(mem, 0x400000, 0x200000, 2, SQUIB_REGION_THP, NULL));
	squib_fault_disarm();
	ck_assert_uint_eq(squib_fault_injected(), 1);
	ck_assert_uint_eq(squib_mem_region_count(mem), 2);
	CK_OK(squib_mem_write_u32_le(mem, SQUIB_GPA(0x400000), 7));
	squib_mem_free(mem);
}
END_TEST

/* Before Linux 5.14 MADV_POPULATE_WRITE is EINVAL: PREFAULT of a caller's
 * mapping touches its pages instead, and they are resident all the same. */
START_TEST(prefault_of_a_callers_mapping_without_madv_populate)
{
	size_t len = 8 * page();
	unsigned char resident[8];
	uint8_t *map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	squib_mem_t *mem = test_mem_new();

	ck_assert_ptr_ne(map, MAP_FAILED);
	ck_assert_int_eq(mincore(map, len, resident), 0);
	for (size_t i = 0; i < 8; i++)
		ck_assert_uint_eq(resident[i] & 1, 0);
	squib_fault_arm(SQUIB_FAULT_MADVISE, 1, false);
	squib_fault_force_errno(EINVAL);
	CK_OK(add_opts(mem, 0x100000, len, 1, SQUIB_REGION_PREFAULT, map));
	squib_fault_disarm();
	ck_assert_uint_eq(squib_fault_injected(), 1);
	ck_assert_int_eq(mincore(map, len, resident), 0);
	for (size_t i = 0; i < 8; i++)
		ck_assert_msg(resident[i] & 1, "page %zu of the caller's mapping not resident", i);
	squib_mem_free(mem);
	ck_assert_int_eq(munmap(map, len), 0);
}
END_TEST

/* Any other failure of MADV_POPULATE is the host's, reported. */
START_TEST(prefault_of_a_callers_mapping_fails_cleanly)
{
	size_t len = 4 * page();
	uint8_t *map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	squib_mem_t *mem = test_mem_new();

	ck_assert_ptr_ne(map, MAP_FAILED);
	squib_fault_arm(SQUIB_FAULT_MADVISE, 1, false);
	CK_STATUS(add_opts(mem, 0x100000, len, 1, SQUIB_REGION_PREFAULT, map), SQUIB_E_NO_MEMORY);
	squib_fault_disarm();
	CK_LAST_ERROR_HAS("populate");
	ck_assert_uint_eq(squib_mem_region_count(mem), 0);
	map[0] = 1; /* the caller's mapping is still theirs */
	squib_mem_free(mem);
	ck_assert_int_eq(munmap(map, len), 0);
}
END_TEST

/* Before Linux 5.18 MADV_DONTNEED_LOCKED is EINVAL: discarding pages of a
 * LOCKED region moves zero pages over them instead, locked like the rest. */
START_TEST(discard_of_locked_pages_without_madv_dontneed_locked)
{
	squib_mem_t *mem = test_mem_new();
	uint64_t base = 0x100000, size = 4 * page();
	uint8_t buf[64];
	squib_status_t status;

	status = add_opts(mem, base, size, 1, SQUIB_REGION_LOCKED, NULL);
	if (status == SQUIB_E_NO_MEMORY) { /* no mlock2 (valgrind) or no limit left */
		printf("SKIP discard_of_locked_pages_without_madv_dontneed_locked: %s\n",
		       squib_last_error());
		squib_mem_free(mem);
		return;
	}
	CK_OK(status);
	for (uint64_t at = 0; at < size; at += sizeof(buf)) {
		memset(buf, 0x3c, sizeof(buf));
		CK_OK(squib_mem_write(mem, SQUIB_GPA(base + at), buf, sizeof(buf)));
	}
	squib_fault_arm(SQUIB_FAULT_MADVISE, 1, false);
	squib_fault_force_errno(EINVAL);
	CK_OK(squib_mem_discard(mem, SQUIB_GPA(base + page()), 2 * page()));
	squib_fault_disarm();
	ck_assert_uint_eq(squib_fault_injected(), 1);
	for (uint64_t at = 0; at < size; at += sizeof(buf)) {
		bool discarded = at >= page() && at < 3 * page();

		CK_OK(squib_mem_read(mem, SQUIB_GPA(base + at), buf, sizeof(buf)));
		CK_BYTES_ALL(buf, sizeof(buf), discarded ? 0 : 0x3c);
	}
	CK_OK(squib_mem_write_u32_le(mem, SQUIB_GPA(base + page()), 5));
	squib_mem_free(mem);
}
END_TEST

/* A kernel without hugetlb memfds refuses MFD_HUGETLB with EINVAL. */
START_TEST(hugetlb_memfd_refused_is_unsupported)
{
	squib_mem_t *mem = test_mem_new();
	uint64_t huge = 2u << 20;
	squib_status_t status;

	squib_fault_arm(SQUIB_FAULT_MEMFD, 1, false);
	squib_fault_force_errno(EINVAL);
	status = add_opts(mem, 0, huge, 1, SQUIB_REGION_SHARED | SQUIB_REGION_HUGETLB, NULL);
	squib_fault_disarm();
	if (status == SQUIB_E_INVALID_ARGUMENT || squib_fault_requests() == 0) {
		/* Another default huge page size, or none: the request never
		 * reached memfd_create. */
		printf("SKIP hugetlb_memfd_refused_is_unsupported: %s\n", squib_last_error());
	} else {
		CK_STATUS(status, SQUIB_E_UNSUPPORTED);
		CK_LAST_ERROR_HAS("hugetlb memfd");
	}
	ck_assert_uint_eq(squib_mem_region_count(mem), 0);
	squib_mem_free(mem);
}
END_TEST

int main(void)
{
	Suite *suite = suite_create("fallbacks");
	TCase *tc = tcase_create("older_kernels");
	SRunner *runner;
	int failed;

	tcase_add_test(tc, guard_pages_without_madv_guard_install);
	tcase_add_test(tc, thp_refused_is_only_a_hint);
	tcase_add_test(tc, prefault_of_a_callers_mapping_without_madv_populate);
	tcase_add_test(tc, prefault_of_a_callers_mapping_fails_cleanly);
	tcase_add_test(tc, hugetlb_memfd_refused_is_unsupported);
	tcase_add_test(tc, discard_of_locked_pages_without_madv_dontneed_locked);
	suite_add_tcase(suite, tc);
	runner = srunner_create(suite);
	srunner_run_all(runner, CK_NORMAL);
	failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	return failed == 0 ? 0 : 1;
}
