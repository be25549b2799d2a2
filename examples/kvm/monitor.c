/* SPDX-License-Identifier: MIT */
/*
 * example_kvm: a monitor that runs a tiny real guest on KVM. Guest memory
 * is libsquibcore's (linked normally); the KVM memory slots are kept by
 * the squib-kvm.so plugin (dlopen()ed, itself dlopen()ing the library).
 *
 *     example_kvm PLUGIN GUEST_BIN [LIBSQUIBCORE]
 *
 * PLUGIN is squib-kvm.so, GUEST_BIN the flat binary of guest.S, and
 * LIBSQUIBCORE the library the plugin opens: the path of the very file
 * this program loaded, or the default "libsquibcore.so.0" of an installed
 * system. SQUIB_KVM_DEVICE replaces /dev/kvm (to see the skip happen).
 *
 * The story, each step checked (layout.h has the addresses):
 *   1. RAM0 (anonymous), the ROM (read-only, the guest's code) and a
 *      region at a misaligned base: attaching the plugin replays them,
 *      KVM refuses the misaligned one, and the library rolls back, so
 *      KVM is left with no slot. Without it the attach succeeds.
 *   2. RAM1 (a SHARED memfd) is added live; the misaligned region again,
 *      now vetoed as a live add, and the library names the listener.
 *   3. Dirty logging on in both RAMs (the plugin re-registers the slots
 *      with KVM_MEM_LOG_DIRTY_PAGES); the monitor writes two values; the
 *      guest writes both RAMs, adds the values, tries to write its ROM
 *      (a KVM_EXIT_MMIO) and halts. The monitor reads the results through
 *      the library and demands a dirty log of exactly the pages the
 *      guest wrote (KVM's log, through log_sync) and the monitor wrote.
 *   4. RAM1 is removed: the guest's accesses to it exit as MMIO.
 *   5. RAM0 becomes read-execute: the guest's store exits as MMIO, and the
 *      page it wrote in step 4 is still in the dirty log.
 *   6. The plugin is detached: KVM has no slot left.
 *
 * Exit status: 0 when every check passed, 1 otherwise, 2 for bad usage,
 * 77 when this machine has no usable KVM (ctest reports a skip).
 */
#define _POSIX_C_SOURCE 200809L /* pread */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <squib/core.h>

#include "check.h"
#include "layout.h"
#include "squib_kvm.h"
#include "vcpu.h"

#define EXIT_SKIP 77
#define EXIT_USAGE 2
#define LIBSQUIBCORE_DEFAULT "libsquibcore.so.0"
#define RUN_TIMEOUT_S 10u
#define GUEST_CS ((uint16_t)(ROM_BASE >> 4))
/* Every region of layout.h lies in [0, PROBE_SIZE). */
#define PROBE_SIZE 0x200000u
/* A RAM0 page only the monitor writes, after the first harvest. */
#define MONITOR_LATE 0x09000
#define PAGE(addr, base) (((uint64_t)(addr) - (uint64_t)(base)) / SQUIB_DIRTY_PAGE_SIZE)
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

struct monitor {
	struct vm vm;
	struct vcpu vcpu;
	void *plugin;
	squib_kvm_t *kvm;
	const squib_kvm_ops_t *ops;
	squib_mem_t *mem;
	uint8_t rom[ROM_SIZE];
};

/* ---- setting up ------------------------------------------------------ */

/* The ROM image: the guest's code at offset 0, the probe byte, and 0xff
 * (erased flash) everywhere else. */
static bool load_rom(struct monitor *m, const char *path)
{
	FILE *file = fopen(path, "rb");
	size_t len;

	if (!check(file != NULL, "open the guest binary %s%s%s", path, file ? "" : ": ",
		   file ? "" : strerror(errno)))
		return false;
	memset(m->rom, 0xff, sizeof(m->rom));
	len = fread(m->rom, 1, GUEST_CODE_MAX + 1, file);
	(void)fclose(file);
	m->rom[ROM_PROBE - ROM_BASE] = ROM_PROBE_VALUE;
	return check(len > 0 && len <= GUEST_CODE_MAX, "guest binary is %zu bytes (at most %d)",
		     len, GUEST_CODE_MAX);
}

static bool load_plugin(struct monitor *m, const char *path, const char *libpath)
{
	squib_kvm_plugin_open_fn *open_fn;
	char err[512] = "";
	squib_status_t status;
	void *sym;

	m->plugin = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!check(m->plugin != NULL, "dlopen(%s)%s%s", path, m->plugin ? "" : ": ",
		   m->plugin ? "" : dlerror()))
		return false;
	sym = dlsym(m->plugin, SQUIB_KVM_PLUGIN_ENTRY);
	if (!check(sym != NULL, "dlsym(%s)", SQUIB_KVM_PLUGIN_ENTRY))
		return false;
	memcpy(&open_fn, &sym, sizeof(open_fn)); /* ISO C has no void * to function cast */
	status = open_fn(libpath, m->vm.vm_fd, &m->kvm, &m->ops, err, sizeof(err));
	if (!check(status == SQUIB_OK, "%s(%s): %s%s%s", SQUIB_KVM_PLUGIN_ENTRY, libpath,
		   squib_strerror(status), err[0] ? ": " : "", err))
		return false;
	return check(m->ops->sz >= sizeof(squib_kvm_ops_t),
		     "plugin ops table is %zu bytes (want >= %zu)", m->ops->sz,
		     sizeof(squib_kvm_ops_t));
}

static bool setup(struct monitor *m, const char *plugin, const char *guest, const char *libpath)
{
	char why[256];

	check_section("setup");
	if (!load_rom(m, guest) || !load_plugin(m, plugin, libpath))
		return false;
	if (!check_status(squib_mem_new(&m->mem), SQUIB_OK, "squib_mem_new"))
		return false;
	if (vcpu_open(&m->vm, &m->vcpu, why, sizeof(why)) != 0)
		return check(false, "vCPU: %s", why);
	return check(true, "vCPU 0 created, kvm_run mapped (%zu bytes)", m->vcpu.run_size);
}

static void teardown(struct monitor *m)
{
	if (m->ops != NULL)
		m->ops->close(m->kvm); /* detaches first if still attached */
	if (m->plugin != NULL)
		(void)dlclose(m->plugin);
	squib_mem_free(m->mem);
	if (m->vcpu.run != NULL)
		vcpu_close(&m->vcpu);
	vm_close(&m->vm);
}

/* ---- what the checks look at ----------------------------------------- */

static bool add_region(struct monitor *m, const char *what, uint64_t base, uint64_t size,
		       uint32_t slot, squib_prot_t prot, uint32_t flags, const void *bytes,
		       squib_status_t want)
{
	squib_region_opts_t opts = SQUIB_REGION_OPTS_INIT;
	char call[160];

	if (squib_range_init(&opts.range, SQUIB_GPA(base), size) != SQUIB_OK)
		return check(false, "range 0x%" PRIx64 "+0x%" PRIx64 ": %s", base, size,
			     squib_last_error());
	opts.slot = slot;
	opts.prot = prot;
	opts.flags = flags;
	opts.bytes = bytes;
	opts.name = what;
	(void)snprintf(call, sizeof(call), "add %s [0x%" PRIx64 ", 0x%" PRIx64 ") slot %" PRIu32,
		       what, base, base + size, slot);
	return check_status(squib_mem_add_region_opts(m->mem, &opts), want, call);
}

/* The plugin has KVM slot @p id for the region (it hands out the lowest
 * free one), with @p flags and exactly the region's guest range and host
 * memory. */
static bool expect_kvm_slot(struct monitor *m, const char *what, uint32_t region_slot, uint32_t id,
			    uint32_t flags)
{
	squib_region_info_t info = SQUIB_REGION_INFO_INIT;
	squib_status_t status;
	squib_kvm_slot_t slot;

	status = m->ops->find_slot(m->kvm, region_slot, &slot);
	if (status != SQUIB_OK)
		return check(false, "%s: the plugin has no KVM slot: %s", what,
			     squib_strerror(status));
	status = squib_mem_get_region(m->mem, region_slot, &info);
	if (status != SQUIB_OK)
		return check(false, "%s: not in the library: %s", what, squib_last_error());
	return check(slot.registered && slot.kvm_slot == id && slot.kvm_flags == flags &&
			 slot.guest_phys_addr == info.range.base.raw &&
			 slot.memory_size == info.range.size &&
			 slot.userspace_addr == (uint64_t)(uintptr_t)info.host_addr,
		     "%s: KVM slot %" PRIu32 " (want %" PRIu32 ") flags 0x%" PRIx32
		     " (want 0x%" PRIx32 "), gpa 0x%" PRIx64 " size 0x%" PRIx64 " hva 0x%" PRIx64
		     " (library: 0x%" PRIx64 " 0x%" PRIx64 " %p)",
		     what, slot.kvm_slot, id, slot.kvm_flags, flags, slot.guest_phys_addr,
		     slot.memory_size, slot.userspace_addr, info.range.base.raw, info.range.size,
		     info.host_addr);
}

static bool expect_slot_count(struct monitor *m, size_t want)
{
	size_t got = m->ops->slot_count(m->kvm);

	return check(got == want, "plugin holds %zu KVM slots (want %zu)", got, want);
}

/* Asks KVM itself, not the plugin, that nothing is mapped there. */
static bool expect_unmapped(struct monitor *m, uint64_t base, uint64_t size)
{
	char why[256] = "";
	int got = vm_range_unmapped(&m->vm, base, size, why, sizeof(why));

	return check(got == 1, "KVM has no slot in [0x%" PRIx64 ", 0x%" PRIx64 ")%s%s", base,
		     base + size, got == 1 ? "" : ": ", got == 1 ? "" : why);
}

static const char *event_name(enum guest_event_kind kind)
{
	switch (kind) {
	case GUEST_OUT:
		return "out";
	case GUEST_IN:
		return "in";
	case GUEST_MMIO_WRITE:
		return "mmio write";
	case GUEST_MMIO_READ:
		return "mmio read";
	case GUEST_HLT:
		return "hlt";
	}
	return "?";
}

/* Runs the guest from @p entry and checks its exits, one by one. */
static bool run_guest(struct monitor *m, uint16_t entry, const struct guest_event *want, size_t n)
{
	struct guest_trace trace;
	char why[256];
	int result;
	bool ok;

	result =
	    vcpu_run_real_mode(&m->vcpu, GUEST_CS, entry, RUN_TIMEOUT_S, &trace, why, sizeof(why));
	ok = check(result == 0, "KVM_RUN from %04x:%04x until hlt%s%s", GUEST_CS, entry,
		   result == 0 ? "" : ": ", result == 0 ? "" : why);
	/* Even after a failure: the exits so far tell how far the guest got. */
	for (size_t i = 0; i < n || i < trace.count; i++) {
		const struct guest_event *got = i < trace.count ? &trace.events[i] : NULL;
		const struct guest_event *exp = i < n ? &want[i] : NULL;

		ok &= check(
		    got != NULL && exp != NULL && got->kind == exp->kind &&
			got->addr == exp->addr && got->len == exp->len && got->value == exp->value,
		    "exit %zu: %s 0x%" PRIx64 " len %" PRIu32 " value 0x%" PRIx64
		    " (want %s 0x%" PRIx64 " len %" PRIu32 " value 0x%" PRIx64 ")",
		    i + 1, got ? event_name(got->kind) : "none", got ? got->addr : 0,
		    got ? got->len : 0, got ? got->value : 0, exp ? event_name(exp->kind) : "none",
		    exp ? exp->addr : 0, exp ? exp->len : 0, exp ? exp->value : 0);
	}
	return ok;
}

static bool expect_u32(struct monitor *m, const char *what, uint64_t addr, uint32_t want)
{
	uint32_t got = 0;
	squib_status_t status = squib_mem_read_u32_le(m->mem, SQUIB_GPA(addr), &got);

	return check(status == SQUIB_OK && got == want,
		     "%s: squib_mem_read at 0x%05" PRIx64 " gives 0x%08" PRIx32
		     " (want 0x%08" PRIx32 ") %s",
		     what, addr, got, want, squib_strerror(status));
}

static void format_pages(const uint64_t *bitmap, size_t words, char *out, size_t len)
{
	size_t used = 0;

	out[0] = '\0';
	for (size_t page = 0; page < words * 64 && used < len; page++) {
		if ((bitmap[page / 64] >> (page % 64) & 1) == 0)
			continue;
		used += (size_t)snprintf(out + used, len - used, "%s0x%zx", used ? " " : "", page);
	}
}

/* squib_mem_get_dirty_log of a region reports exactly @p pages. */
static bool expect_dirty(struct monitor *m, const char *what, uint32_t slot, uint64_t size,
			 uint32_t flags, const uint64_t *pages, size_t n)
{
	/* One word past the region's needs: the library must not touch it. */
	enum { WORDS_MAX = RAM0_SIZE / SQUIB_DIRTY_PAGE_SIZE / 64 + 1 };
	uint64_t got[WORDS_MAX + 1], want[WORDS_MAX + 1];
	size_t words = (size_t)((size / SQUIB_DIRTY_PAGE_SIZE + 63) / 64);
	char got_text[256], want_text[256];
	squib_status_t status;

	memset(got, 0xa5, sizeof(got));
	memset(want, 0, sizeof(want));
	for (size_t i = 0; i < n; i++)
		want[pages[i] / 64] |= UINT64_C(1) << (pages[i] % 64);
	status = squib_mem_get_dirty_log(m->mem, slot, got, words, flags);
	if (!check_status(status, SQUIB_OK, "squib_mem_get_dirty_log"))
		return false;
	format_pages(got, words, got_text, sizeof(got_text));
	format_pages(want, words, want_text, sizeof(want_text));
	return check(memcmp(got, want, words * sizeof(uint64_t)) == 0 &&
			 got[words] == UINT64_C(0xa5a5a5a5a5a5a5a5),
		     "%s dirty pages%s: {%s} (want {%s})", what,
		     flags & SQUIB_DIRTY_CLEAR ? ", cleared" : "", got_text, want_text);
}

/* ---- the story ------------------------------------------------------- */

/* Step 1: a replay KVM refuses leaves nothing behind; then the attach. */
static bool attach(struct monitor *m)
{
	size_t regions;

	check_section("attach: the listener replays the regions present");
	if (!add_region(m, "ram0", RAM0_BASE, RAM0_SIZE, RAM0_SLOT, SQUIB_PROT_RWX, 0, NULL,
			SQUIB_OK) ||
	    !add_region(m, "rom", ROM_BASE, ROM_SIZE, ROM_SLOT, SQUIB_PROT_RX,
			SQUIB_REGION_READONLY, m->rom, SQUIB_OK) ||
	    !add_region(m, "odd", ODD_BASE, ODD_SIZE, ODD_SLOT, SQUIB_PROT_RW, 0, NULL, SQUIB_OK))
		return false;
	regions = squib_mem_region_count(m->mem);
	if (!check_status(m->ops->attach(m->kvm, m->mem), SQUIB_E_IO,
			  "attach with a misaligned region"))
		return false;
	check(strstr(squib_last_error(), "refused region_add of slot 103") != NULL,
	      "library names the refusal: %s", squib_last_error());
	check(strstr(m->ops->last_error(m->kvm), strerror(EINVAL)) != NULL,
	      "plugin names KVM's answer: %s", m->ops->last_error(m->kvm));
	check(squib_mem_region_count(m->mem) == regions, "library still has its %zu regions",
	      regions);
	expect_slot_count(m, 0);
	expect_unmapped(m, 0, PROBE_SIZE); /* RAM0 and ROM were rolled back */

	if (!check_status(squib_mem_remove_region(m->mem, ODD_SLOT), SQUIB_OK, "remove odd") ||
	    !check_status(m->ops->attach(m->kvm, m->mem), SQUIB_OK, "attach"))
		return false;
	expect_slot_count(m, 2);
	expect_kvm_slot(m, "ram0", RAM0_SLOT, 0, 0);
	return expect_kvm_slot(m, "rom", ROM_SLOT, 1, KVM_MEM_READONLY);
}

/* Step 2: a live add, then a live add KVM refuses. */
static bool add_live(struct monitor *m)
{
	squib_region_info_t info = SQUIB_REGION_INFO_INIT;
	char name[64];
	uint64_t id = 0;
	size_t regions;

	check_section("region_add: live adds, and KVM's veto");
	if (!add_region(m, "ram1", RAM1_BASE, RAM1_SIZE, RAM1_SLOT, SQUIB_PROT_RW,
			SQUIB_REGION_SHARED, NULL, SQUIB_OK))
		return false;
	expect_slot_count(m, 3);
	expect_kvm_slot(m, "ram1", RAM1_SLOT, 2, 0);

	regions = squib_mem_region_count(m->mem);
	if (!add_region(m, "odd", ODD_BASE, ODD_SIZE, ODD_SLOT, SQUIB_PROT_RW, 0, NULL, SQUIB_E_IO))
		return false;
	if (check_status(m->ops->listener_id(m->kvm, &id), SQUIB_OK, "plugin listener_id")) {
		(void)snprintf(name, sizeof(name),
			       "listener %" PRIu64 " refused region_add of slot %d", id, ODD_SLOT);
		check(strstr(squib_last_error(), name) != NULL,
		      "library names listener %" PRIu64 ": %s", id, squib_last_error());
	}
	check(strstr(m->ops->last_error(m->kvm), strerror(EINVAL)) != NULL,
	      "plugin names KVM's answer: %s", m->ops->last_error(m->kvm));
	check(squib_mem_region_count(m->mem) == regions,
	      "library's region count is still %zu after the veto", regions);
	check(squib_mem_find_region(m->mem, SQUIB_GPA(ODD_BASE), &info) == SQUIB_E_OUT_OF_RANGE,
	      "no region at 0x%x", ODD_BASE);
	return expect_slot_count(m, 3);
}

/* Step 3: the guest's first run, its data and the dirty log. */
static bool run_main(struct monitor *m)
{
	const uint32_t sum = (uint32_t)MONITOR_A_VALUE + (uint32_t)MONITOR_B_VALUE;
	const struct guest_event want[] = {
	    {GUEST_OUT, PORT_REPORT, 4, HELLO_MAIN},
	    {GUEST_OUT, PORT_REPORT, 4, sum},
	    {GUEST_MMIO_WRITE, ROM_PROBE, 1, ROM_POISON},
	    {GUEST_OUT, PORT_REPORT, 4, ROM_PROBE_VALUE},
	    {GUEST_HLT, 0, 0, 0},
	};
	const uint64_t ram0_pages[] = {PAGE(GUEST_W0, RAM0_BASE), PAGE(MONITOR_A, RAM0_BASE),
				       PAGE(GUEST_W1, RAM0_BASE)};
	const uint64_t ram1_pages[] = {PAGE(GUEST_SUM, RAM1_BASE), PAGE(MONITOR_B, RAM1_BASE)};
	const uint64_t late_pages[] = {PAGE(MONITOR_LATE, RAM0_BASE)};
	squib_region_info_t info = SQUIB_REGION_INFO_INIT;
	squib_status_t status;
	uint64_t bitmap[1];
	uint32_t shared = 0;
	uint8_t rom_byte = 0;
	ssize_t got = -1;

	check_section("dirty logging on, the guest's first run");
	/* Before logging: never reported. */
	if (!check_status(squib_mem_write_u32_le(m->mem, SQUIB_GPA(MONITOR_EARLY), 0x5eed),
			  SQUIB_OK, "squib_mem_write before logging") ||
	    !check_status(squib_mem_set_dirty_log(m->mem, RAM0_SLOT, true), SQUIB_OK,
			  "squib_mem_set_dirty_log(ram0, on)") ||
	    !check_status(squib_mem_set_dirty_log(m->mem, RAM1_SLOT, true), SQUIB_OK,
			  "squib_mem_set_dirty_log(ram1, on)"))
		return false;
	expect_kvm_slot(m, "ram0", RAM0_SLOT, 0, KVM_MEM_LOG_DIRTY_PAGES);
	expect_kvm_slot(m, "ram1", RAM1_SLOT, 2, KVM_MEM_LOG_DIRTY_PAGES);
	if (!check_status(squib_mem_write_u32_le(m->mem, SQUIB_GPA(MONITOR_A), MONITOR_A_VALUE),
			  SQUIB_OK, "squib_mem_write of the guest's first value") ||
	    !check_status(squib_mem_write_u32_le(m->mem, SQUIB_GPA(MONITOR_B), MONITOR_B_VALUE),
			  SQUIB_OK, "squib_mem_write of the guest's second value"))
		return false;

	if (!run_guest(m, ENTRY_MAIN, want, ARRAY_SIZE(want)))
		return false;

	check_section("what the guest left, through the library");
	expect_u32(m, "guest's word in ram0", GUEST_W0, GUEST_W0_VALUE);
	expect_u32(m, "guest's word at ram0's end", GUEST_W1, GUEST_W1_VALUE);
	expect_u32(m, "guest's sum in ram1", GUEST_SUM, sum);
	status = squib_mem_read_u8(m->mem, SQUIB_GPA(ROM_PROBE), &rom_byte);
	check(status == SQUIB_OK && rom_byte == ROM_PROBE_VALUE,
	      "ROM byte at 0x%x is 0x%02x after the guest's write (want 0x%02x) %s", ROM_PROBE,
	      rom_byte, ROM_PROBE_VALUE, squib_strerror(status));
	/* RAM1 is a memfd another process could map: the guest's store is in
	 * the file. */
	status = squib_mem_get_region(m->mem, RAM1_SLOT, &info);
	if (status == SQUIB_OK && info.fd >= 0)
		got = pread(info.fd, &shared, sizeof(shared),
			    (off_t)(info.fd_offset + (GUEST_SUM - RAM1_BASE)));
	check(got == (ssize_t)sizeof(shared) && shared == sum,
	      "ram1's memfd (fd %d) holds the sum: 0x%08" PRIx32 " (want 0x%08" PRIx32 ") %s",
	      info.fd, shared, sum, status != SQUIB_OK ? squib_last_error() : "");

	check_section("the dirty log: KVM's pages and the library's, nothing else");
	expect_dirty(m, "ram0", RAM0_SLOT, RAM0_SIZE, 0, ram0_pages, ARRAY_SIZE(ram0_pages));
	expect_dirty(m, "ram0", RAM0_SLOT, RAM0_SIZE, SQUIB_DIRTY_CLEAR, ram0_pages,
		     ARRAY_SIZE(ram0_pages));
	expect_dirty(m, "ram1", RAM1_SLOT, RAM1_SIZE, SQUIB_DIRTY_CLEAR, ram1_pages,
		     ARRAY_SIZE(ram1_pages));
	check_status(squib_mem_get_dirty_log(m->mem, ROM_SLOT, bitmap, 1, 0), SQUIB_E_UNSUPPORTED,
		     "squib_mem_get_dirty_log(rom), which does not log");
	if (!check_status(squib_mem_write_u32_le(m->mem, SQUIB_GPA(MONITOR_LATE), 1), SQUIB_OK,
			  "squib_mem_write after the harvest"))
		return false;
	expect_dirty(m, "ram0", RAM0_SLOT, RAM0_SIZE, SQUIB_DIRTY_CLEAR, late_pages,
		     ARRAY_SIZE(late_pages));
	expect_dirty(m, "ram1", RAM1_SLOT, RAM1_SIZE, SQUIB_DIRTY_CLEAR, NULL, 0);

	if (!check_status(squib_mem_set_dirty_log(m->mem, RAM1_SLOT, false), SQUIB_OK,
			  "squib_mem_set_dirty_log(ram1, off)"))
		return false;
	return expect_kvm_slot(m, "ram1", RAM1_SLOT, 2, 0);
}

/* Step 4: an unplugged region is gone for the guest too. */
static bool run_unplugged(struct monitor *m)
{
	const struct guest_event want[] = {
	    {GUEST_OUT, PORT_REPORT, 4, HELLO_UNPLUGGED},
	    {GUEST_MMIO_WRITE, UNPLUGGED_W, 4, UNPLUGGED_W_VALUE},
	    {GUEST_MMIO_READ, UNPLUGGED_R, 4, 0xffffffff},
	    {GUEST_OUT, PORT_REPORT, 4, 0xffffffff},
	    {GUEST_HLT, 0, 0, 0},
	};
	squib_kvm_slot_t slot;

	check_section("region_del: removing ram1 deletes its KVM slot");
	if (!check_status(squib_mem_remove_region(m->mem, RAM1_SLOT), SQUIB_OK, "remove ram1"))
		return false;
	expect_slot_count(m, 2);
	check_status(m->ops->find_slot(m->kvm, RAM1_SLOT, &slot), SQUIB_E_NOT_FOUND,
		     "plugin find_slot(ram1)");
	expect_unmapped(m, RAM1_BASE, RAM1_SIZE);
	if (!run_guest(m, ENTRY_UNPLUGGED, want, ARRAY_SIZE(want)))
		return false;
	return expect_u32(m, "guest's word in ram0", UNPLUGGED_RAM0_W, UNPLUGGED_RAM0_VALUE);
}

/* Step 5: a protection change reaches KVM and keeps the dirty log. */
static bool run_protected(struct monitor *m)
{
	const struct guest_event want[] = {
	    {GUEST_OUT, PORT_REPORT, 4, HELLO_PROTECTED},
	    {GUEST_MMIO_WRITE, PROTECTED_W, 4, PROTECTED_W_VALUE},
	    {GUEST_OUT, PORT_REPORT, 4, MONITOR_A_VALUE},
	    {GUEST_HLT, 0, 0, 0},
	};
	/* Written by the guest in step 4, still in KVM's log when the slot
	 * was re-registered read-only. */
	const uint64_t pages[] = {PAGE(UNPLUGGED_RAM0_W, RAM0_BASE)};

	check_section("protect: ram0 read-execute for the guest");
	if (!check_status(squib_mem_set_protection(m->mem, RAM0_SLOT, SQUIB_PROT_RX), SQUIB_OK,
			  "squib_mem_set_protection(ram0, RX)"))
		return false;
	expect_kvm_slot(m, "ram0", RAM0_SLOT, 0, KVM_MEM_READONLY | KVM_MEM_LOG_DIRTY_PAGES);
	if (!run_guest(m, ENTRY_PROTECTED, want, ARRAY_SIZE(want)))
		return false;
	expect_u32(m, "ram0 where the guest could not write", PROTECTED_W, 0);
	expect_dirty(m, "ram0", RAM0_SLOT, RAM0_SIZE, SQUIB_DIRTY_CLEAR, pages, ARRAY_SIZE(pages));
	if (!check_status(squib_mem_set_protection(m->mem, RAM0_SLOT, SQUIB_PROT_RWX), SQUIB_OK,
			  "squib_mem_set_protection(ram0, RWX)") ||
	    !expect_kvm_slot(m, "ram0", RAM0_SLOT, 0, KVM_MEM_LOG_DIRTY_PAGES) ||
	    !check_status(squib_mem_set_dirty_log(m->mem, RAM0_SLOT, false), SQUIB_OK,
			  "squib_mem_set_dirty_log(ram0, off)"))
		return false;
	return expect_kvm_slot(m, "ram0", RAM0_SLOT, 0, 0);
}

/* Step 6: without the listener, KVM has nothing. */
static bool detach(struct monitor *m)
{
	check_section("detach: removing the listener deletes every slot");
	if (!check_status(m->ops->detach(m->kvm), SQUIB_OK, "detach"))
		return false;
	expect_slot_count(m, 0);
	check(squib_mem_region_count(m->mem) == 2, "library keeps its %zu regions",
	      squib_mem_region_count(m->mem));
	return expect_unmapped(m, 0, PROBE_SIZE);
}

/* Open file descriptors of this process, to see that every path of the
 * plugin, the library and this program closes what it opened. */
static long open_fds(void)
{
	DIR *dir = opendir("/proc/self/fd");
	long n = 0;

	if (dir == NULL)
		return -1;
	while (readdir(dir) != NULL)
		n++;
	(void)closedir(dir);
	return n;
}

int main(int argc, char **argv)
{
	const char *device = getenv("SQUIB_KVM_DEVICE");
	long fds_before = open_fds(), fds_after;
	struct monitor m;
	char why[256];

	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: %s PLUGIN GUEST_BIN [LIBSQUIBCORE]\n", argv[0]);
		return EXIT_USAGE;
	}
	memset(&m, 0, sizeof(m));
	switch (vm_open(&m.vm, device != NULL ? device : "/dev/kvm", why, sizeof(why))) {
	case VM_OPENED:
		break;
	case VM_UNAVAILABLE:
		printf("SKIP example_kvm: no usable KVM: %s\n", why);
		return EXIT_SKIP;
	case VM_FAILED:
		fprintf(stderr, "example_kvm: %s\n", why);
		return EXIT_FAILURE;
	}
	printf("libsquibcore %s, KVM with %" PRIu32 " memory slots\n", squib_core_version(),
	       m.vm.max_slots);
	if (setup(&m, argv[1], argv[2], argc > 3 ? argv[3] : LIBSQUIBCORE_DEFAULT))
		(void)(attach(&m) && add_live(&m) && run_main(&m) && run_unplugged(&m) &&
		       run_protected(&m) && detach(&m));
	teardown(&m);
	fds_after = open_fds();
	check(fds_before >= 0 && fds_after == fds_before,
	      "every file descriptor closed again (%ld open before, %ld after)", fds_before,
	      fds_after);
	return check_summary() == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
