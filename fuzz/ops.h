/* SPDX-License-Identifier: MIT */
/*
 * The byte format fuzz_mem decodes, shared by the harness (fuzz_mem.c) and
 * the corpus generator (gen_corpus.c) so that both speak of operations and
 * modes by name. An input is a sequence of operations; every field is read
 * with a tiny byte reader (integers little-endian), and an input that runs
 * out in the middle of an operation ends before that operation.
 *
 * Every selector byte is taken modulo its mode count, so any byte value
 * decodes to something: the fuzzer never wastes an input on a parse error.
 *
 *   op          := u8 (OP_*) then the fields of that operation
 *   ADD         := slot layout prot
 *   ADD_BYTES   := slot layout prot u8:flags u8:seed
 *                  (flags % 8 == 0: bytes is NULL; else a PRNG fill from seed)
 *   REMOVE      := slot
 *   READ        := target addr len u8:flags      (flags % 8 == 0: buf is NULL)
 *   WRITE       := target addr len u8:flags u8:seed
 *   READ_TYPED  := u8:width target addr u8:flags (width % 4: 1, 2, 4, 8 bytes)
 *   WRITE_TYPED := u8:width target addr u64:value
 *   FIND        := target addr u8:info
 *   GET         := slot u8:info
 *   FOREACH     := u8:stop u8:value u8:nest      (stop/nest 0: never; k: at visit k;
 *                  at visit `nest` one nested operation is decoded and run
 *                  from inside the callback)
 *   COUNT       := (nothing)
 *   VERIFY      := (nothing)
 *   PROBE       := u8:which                      (NULL-argument calls)
 *   ADD_OPTS    := slot layout prot u8:backing u8:flags u8:extra u8:file
 *                  u8:shape u8:seed                (squib_mem_add_region_opts;
 *                  see the BACKING_, OFLAG_, EXTRA_, FILE_ and SHAPE_ modes)
 *   DISCARD     := target u8:align addr len     (align & 1: addr rounded up
 *                  to a page, & 2: len rounded down to pages)
 *   HOST_RANGE  := u8:access target addr len u8:flags
 *                  (flags % 8 == 0: host is NULL)
 *   TRANSLATE   := u8:access target addr len u8:cap u8:seed
 *   PIN         := u8:access target addr len u8:cap u8:seed
 *                  (cap: the CAP_ bits; squib_mem_pin keeps the pin in a
 *                  set of at most 8, unpinned by UNPIN or at the end)
 *   UNPIN       := u8:index                      (of a live pin; none: NULL)
 *   PIN_IO      := u8:index u8:seed              (the pin's iovecs read, and
 *                  written through if it was taken for WRITE and seed & 1)
 *   RING        := u8:kind target addr u8:flags u64:value
 *                  (kind % RING_MODES; flags % 8 == 0: out is NULL)
 *   LISTENER_ADD := u8:shape u8:callbacks u8:refuse u8:when u8:answer
 *                  u8:sync u8:seed u8:probe  (a listener of the harness, kept
 *                  in a set of at most 8; see the LSHAPE_, LCB_, REFUSE_,
 *                  ANSWER_, SYNC_ fields below)
 *   LISTENER_REMOVE := u8:mode u8:index [u64:id]  (REMOVE_ID_ modes; the
 *                  u64 only for REMOVE_ID_RAW)
 *   SET_PROTECTION := slot u8:same prot  (same % 4 == 0: the region's own
 *                  prot, when the slot is live; else the decoded one)
 *   SET_DIRTY_LOG := slot u8:enable       (enable & 1)
 *   GET_DIRTY_LOG := slot u8:words u8:flags (DWORDS_ and DFLAGS_ modes)
 *   MARK_DIRTY  := target addr len
 *
 *   target      := u8: index (mod count) of a live region, in the order the
 *                  regions were added (removed ones drop out of the order)
 *   slot        := u8:mode then SLOT_* payload
 *   layout      := u8:size-mode payload u8:base-mode payload (BASE_GAP sets
 *                  the size too)
 *   addr        := u8:mode then ADDR_* payload, relative to the target region
 *   len         := u8:mode then LEN_* payload, relative to target and addr
 *   prot        := u8 p: p >= 0xf8 then u32 raw bits, else p & 7
 */
#ifndef SQUIB_FUZZ_OPS_H
#define SQUIB_FUZZ_OPS_H

enum fuzz_op {
	OP_ADD,
	OP_ADD_BYTES,
	OP_REMOVE,
	OP_READ,
	OP_WRITE,
	OP_READ_TYPED,
	OP_WRITE_TYPED,
	OP_FIND,
	OP_GET,
	OP_FOREACH,
	OP_COUNT,
	OP_VERIFY,
	OP_PROBE,
	OP_ADD_OPTS,
	OP_DISCARD,
	OP_HOST_RANGE,
	OP_TRANSLATE,
	OP_PIN,
	OP_UNPIN,
	OP_PIN_IO,
	OP_RING,
	OP_LISTENER_ADD,
	OP_LISTENER_REMOVE,
	OP_SET_PROTECTION,
	OP_SET_DIRTY_LOG,
	OP_GET_DIRTY_LOG,
	OP_MARK_DIRTY,
	OP_COUNT_ALL /* number of operations */
};

/* slot := mode, payload */
enum fuzz_slot_mode {
	SLOT_OF_TARGET, /* u8 target: the slot of a live region */
	SLOT_SMALL,	/* u8 v: v % 8 */
	SLOT_REMOVED,	/* u8 i: the slot of the i-th remembered removed region */
	SLOT_RAW,	/* u32 */
	SLOT_TOP,	/* u8 v: UINT32_MAX - v % 2 */
	SLOT_MODES
};

/* size := mode, payload */
enum fuzz_size_mode {
	SIZE_ZERO,    /* (none) */
	SIZE_TINY,    /* u8 v: 1 + v % 16 */
	SIZE_SMALL,   /* u16 v: 1 + v (up to 64 KiB) */
	SIZE_PAGES,   /* u8 v: 4096 * (1 + v % 16) */
	SIZE_HUGE,    /* u8 v: v < 16: UINT64_MAX - v; else 2^(48 + v % 16) + v */
	SIZE_BYTE,    /* u8 v: 1 + v */
	SIZE_REMOVED, /* u8 i: the size of the i-th remembered removed region */
	SIZE_LARGE,   /* u8 v: 4096 * (56 + v % 16): 56 to 71 pages, about the
			 64 pages of one dirty-bitmap word */
	SIZE_MODES
};

/* base := mode, payload (size is already decoded) */
enum fuzz_base_mode {
	BASE_AFTER,   /* u8 target: its end (adjacent above) */
	BASE_BEFORE,  /* u8 target: its base - size (adjacent below) */
	BASE_INSIDE,  /* u8 target, u16 off: base + off % its size (overlaps) */
	BASE_TOP,     /* (none): UINT64_MAX - size (ends at UINT64_MAX) */
	BASE_WRAP,    /* u8 v: UINT64_MAX - size + 1 + v % 2 (end overflows) */
	BASE_REMOVED, /* u8 i: base of the i-th remembered removed region */
	BASE_LOW,     /* u16 v: v * 16 */
	BASE_RAW,     /* u64 */
	BASE_POW2,    /* u8 k, u8 d: 2^(k % 64) + d - 128 */
	BASE_NEAR,    /* u8 target, u8 d: its base + d - 128 */
	BASE_GAP,     /* u8 target, u8 d: its end, size = gap to the next region
			   (or to UINT64_MAX) + d % 3 - 1 */
	BASE_MODES
};

/* addr := mode, payload; "t" is the target region (with no live region,
 * base 0x1000 and size 0x10 stand in) */
enum fuzz_addr_mode {
	ADDR_BASE,	 /* (none): t.base */
	ADDR_END,	 /* (none): t.base + t.size */
	ADDR_INSIDE,	 /* u16 off: t.base + off % (t.size + 1) */
	ADDR_BELOW,	 /* u8 d: t.base - d % 17 */
	ADDR_AROUND_END, /* u8 d: t.end + d - 128 */
	ADDR_TOP,	 /* u8 d: UINT64_MAX - d */
	ADDR_LOW,	 /* u16 */
	ADDR_RAW,	 /* u64 */
	ADDR_POW2,	 /* u8 k, u8 d: 2^(k % 64) + d - 128 */
	ADDR_END_MINUS,	 /* u8 d: t.end - d % 17 */
	ADDR_MODES
};

/* len := mode, payload */
enum fuzz_len_mode {
	LEN_ZERO,    /* (none) */
	LEN_TINY,    /* u8 v: 1 + v % 8 */
	LEN_SMALL,   /* u16 v: v (up to 64 KiB - 1) */
	LEN_TO_END,  /* u8 d: t.end - addr + d % 3 - 1 (exact fit, +-1) */
	LEN_HUGE,    /* u8 v: UINT64_MAX - v % 16 */
	LEN_TO_2_64, /* u8 v: UINT64_MAX - addr + v % 3 (end at 2^64 - 1, 2^64, 2^64 + 1) */
	LEN_POW2,    /* u8 k: 2^(k % 64) */
	LEN_FULL,    /* (none): t.size */
	LEN_MODES
};

/* FIND and GET: u8 info % INFO_MODES */
enum fuzz_info_mode {
	INFO_EXACT, /* sz = sizeof(squib_region_info_t) */
	INFO_NULL,  /* info is NULL */
	INFO_SHORT, /* sz = the 0.2 layout - 1: INVALID_ARGUMENT */
	INFO_ZERO,  /* sz = 0: INVALID_ARGUMENT */
	INFO_LARGE, /* sz = sizeof + 32: the tail must stay untouched */
	INFO_0_2,   /* sz = the 0.2 layout: the 0.3 fields must stay untouched */
	INFO_MODES
};

/* PROBE: u8 which % PROBE_MODES; each is one call that must fail with
 * INVALID_ARGUMENT (or, for foreach, return it) and change nothing */
enum fuzz_probe {
	PROBE_READ_NULL_MEM,
	PROBE_WRITE_NULL_MEM,
	PROBE_READ_TYPED_NULL_MEM,
	PROBE_WRITE_TYPED_NULL_MEM,
	PROBE_ADD_NULL_MEM,
	PROBE_ADD_BYTES_NULL_MEM,
	PROBE_REMOVE_NULL_MEM,
	PROBE_FIND_NULL_MEM,
	PROBE_GET_NULL_MEM,
	PROBE_FOREACH_NULL_MEM,
	PROBE_FOREACH_NULL_CB,
	PROBE_NEW_NULL_OUT,
	PROBE_ADD_OPTS_NULL_MEM,
	PROBE_ADD_OPTS_NULL_OPTS,
	PROBE_DISCARD_NULL_MEM,
	PROBE_HOST_RANGE_NULL_MEM,
	PROBE_TRANSLATE_NULL_MEM,
	PROBE_PIN_NULL_MEM,
	PROBE_LOAD_NULL_MEM,
	PROBE_STORE_NULL_MEM,
	PROBE_UNPIN_NULL, /* squib_mem_unpin(NULL): a no-op */
	PROBE_LISTENER_ADD_NULL_MEM,
	PROBE_LISTENER_REMOVE_NULL_MEM,
	PROBE_SET_PROTECTION_NULL_MEM,
	PROBE_SET_DIRTY_LOG_NULL_MEM,
	PROBE_GET_DIRTY_LOG_NULL_MEM,
	PROBE_MARK_DIRTY_NULL_MEM,
	PROBE_MODES
};

/* ADD_OPTS: u8 backing % BACKING_MODES, the fields it sets */
enum fuzz_backing {
	BACKING_ANON,	     /* none */
	BACKING_SHARED,	     /* SQUIB_REGION_SHARED: a library memfd */
	BACKING_FILE_MEMFD,  /* FILE: a memfd the harness makes */
	BACKING_FILE_TEMP,   /* FILE: a temporary file the harness makes */
	BACKING_CALLER,	     /* host_addr: an anonymous mapping of the harness */
	BACKING_CALLER_FILE, /* host_addr and FILE: the harness maps a memfd */
	BACKING_MODES
};

/* ADD_OPTS: u8 flags, bits */
enum fuzz_opts_flag {
	OFLAG_READONLY = 0x01,
	OFLAG_PRIVATE = 0x02,
	OFLAG_THP = 0x04,
	OFLAG_DONTDUMP = 0x08,
	OFLAG_DONTFORK = 0x10,
	OFLAG_PREFAULT = 0x20,
	OFLAG_BYTES = 0x40, /* bytes: a PRNG fill from seed (else NULL) */
	OFLAG_NAME = 0x80,  /* name: a label longer than SQUIB_REGION_NAME_MAX (else NULL) */
};

/* ADD_OPTS: u8 extra % EXTRA_MODES, one more flag (contradictions and
 * unknown bits) */
enum fuzz_extra {
	EXTRA_NONE,
	EXTRA_SHARED,
	EXTRA_FILE,
	EXTRA_HUGETLB,
	EXTRA_DIRTY_LOG,
	EXTRA_PRIVATE,
	EXTRA_UNKNOWN, /* 0x800, the first bit past the known ones */
	EXTRA_TOP,     /* 0x80000000 */
	EXTRA_MODES
};

/* ADD_OPTS: u8 file, with FILE: fd_offset = (file & FILE_OFFSET) pages,
 * and the fd's state (% FILE_FD_MODES of file >> 2) */
#define FILE_OFFSET 0x03u
enum fuzz_file_fd {
	FILE_FD_RDWR,
	FILE_FD_RDWR_AGAIN, /* twice as likely: the usual case */
	FILE_FD_RDONLY,
	FILE_FD_WRONLY,
	FILE_FD_SHORT,	    /* O_RDWR, but the file ends a page before the region */
	FILE_FD_NEGATIVE,   /* fd -1 */
	FILE_FD_CLOSED,	    /* a descriptor number closed just before */
	FILE_FD_MISALIGNED, /* O_RDWR, fd_offset + 512 */
	FILE_FD_MODES
};

/* ADD_OPTS: u8 shape, bits: the struct and the layout */
enum fuzz_shape {
	SHAPE_SZ = 0x03,	      /* sz % 4: exact, short, longer with a zero tail,
					 longer with a non-zero tail */
	SHAPE_NAME_SHORT = 0x04,      /* with OFLAG_NAME clear: name is "fuzz" */
	SHAPE_HOST_MISALIGNED = 0x08, /* host_addr + 16 */
	SHAPE_RAW_LAYOUT = 0x10,      /* base and size as decoded, even where the
					 backing needs them page-aligned (else
					 base rounded down, size up, to pages) */
	SHAPE_OPTS_NULL = 0xe0,	      /* all three bits: opts is NULL */
};

/* HOST_RANGE, TRANSLATE, PIN: u8 access % ACCESS_MODES */
enum fuzz_access {
	ACCESS_READ,
	ACCESS_WRITE,
	ACCESS_RW,
	ACCESS_READ_AGAIN, /* valid ones twice as likely */
	ACCESS_WRITE_AGAIN,
	ACCESS_RW_AGAIN,
	ACCESS_NONE,	  /* 0: INVALID_ARGUMENT */
	ACCESS_EXEC,	  /* SQUIB_PROT_EXEC alone */
	ACCESS_READ_EXEC, /* READ | EXEC */
	ACCESS_HIGH,	  /* READ | 0x80000000 */
	ACCESS_MODES
};

/* TRANSLATE and PIN: u8 cap, bits */
enum fuzz_cap {
	CAP_INDEX = 0x07, /* iov_cap: 0, 1, 2, 3, 4, 8, 64, 72 (of an array of 80) */
	CAP_NULLS = 0x38, /* 0x38: iov NULL; 0x30: iov_used NULL; 0x28: pin NULL
			     (PIN only); else none */
	CAP_WRITE = 0x40, /* a WRITE translation: the iovecs are written through */
	CAP_KEEP = 0x80,  /* PIN: kept past squib_mem_free at the end of the input */
};

/* RING: u8 kind % RING_MODES */
enum fuzz_ring {
	RING_LOAD_16,
	RING_LOAD_32,
	RING_LOAD_64,
	RING_STORE_16,
	RING_STORE_32,
	RING_STORE_64,
	RING_MODES
};

/* LISTENER_ADD: u8 shape. Bits 0-2 % LSHAPE_SZ_MODES: the struct's sz;
 * bits 3-7 (shape >> 3): 0, the listener is NULL; 1, id is NULL. */
enum fuzz_lshape_sz {
	LSHAPE_SZ_EXACT,
	LSHAPE_SZ_EXACT_AGAIN,
	LSHAPE_SZ_EXACT_THIRD, /* the usual case, three times as likely */
	LSHAPE_SZ_SHORT,       /* sizeof - 1: INVALID_ARGUMENT */
	LSHAPE_SZ_LONG_ZERO,   /* 16 bytes more, all zero: accepted */
	LSHAPE_SZ_LONG_TAIL,   /* 16 bytes more, one set: UNSUPPORTED */
	LSHAPE_SZ_MODES
};
#define LSHAPE_LISTENER_NULL 0u
#define LSHAPE_ID_NULL 1u

/* LISTENER_ADD: u8 callbacks. Without LCB_SOME every callback is set;
 * with it, the bits below say which are (a NULL region_add makes
 * region_del NULL too: a listener that never heard of a region is not
 * told it went). */
enum fuzz_lcb {
	LCB_ADD = 0x01,
	LCB_DEL = 0x02,
	LCB_PROTECT = 0x04,
	LCB_DIRTY_LOG = 0x08,
	LCB_LOG_SYNC = 0x10,
	LCB_SOME = 0x80,
};

/* LISTENER_ADD: u8 refuse. The LCB_ bits of region_add, protect,
 * dirty_log, log_sync say which callbacks may refuse (region_del cannot);
 * REFUSE_BY_CHANCE: each such call refuses with probability when / 256,
 * else only the when-th such call (when 0: never). No listener refuses a
 * second time within one operation: the undo calls are always accepted. */
#define REFUSE_BY_CHANCE 0x80u

/* LISTENER_ADD: u8 answer % ANSWER_MODES: what a refusal returns. */
enum fuzz_answer {
	ANSWER_INVALID_ARGUMENT, /* -1 */
	ANSWER_NO_MEMORY,	 /* -3 */
	ANSWER_OVERLAP,		 /* -4 */
	ANSWER_UNSUPPORTED,	 /* -7 */
	ANSWER_IO,		 /* -8 */
	ANSWER_BUSY,		 /* -9 */
	ANSWER_CORRUPT,		 /* -12 */
	ANSWER_MINUS_100,	 /* -100: no status, returned as it is */
	ANSWER_INT_MIN,		 /* INT_MIN */
	ANSWER_ONE,		 /* 1: taken as BUSY */
	ANSWER_SEVEN,		 /* 7: taken as BUSY */
	ANSWER_INT_MAX,		 /* INT_MAX: taken as BUSY */
	ANSWER_MODES
};

/* LISTENER_ADD: u8 sync % SYNC_MODES: what log_sync reports. */
enum fuzz_sync {
	SYNC_NONE,
	SYNC_ALL,    /* every page of the region */
	SYNC_ONE,    /* one page, by the listener's PRNG */
	SYNC_RANDOM, /* each page with probability 1/2, by its PRNG */
	SYNC_MODES
};

/* LISTENER_ADD: u8 probe: 0, never; k, at every k-th call of the
 * listener one mutating call on the same handle from inside the callback,
 * which must be BUSY, and a read, which must work. */

/* LISTENER_REMOVE: u8 mode % REMOVE_ID_MODES */
enum fuzz_remove_id {
	REMOVE_ID_LIVE,	      /* u8 index: a registered listener's id */
	REMOVE_ID_LIVE_AGAIN, /* twice as likely */
	REMOVE_ID_REMOVED,    /* u8 index: a removed listener's id: NOT_FOUND */
	REMOVE_ID_RAW,	      /* u64 */
	REMOVE_ID_EDGE,	      /* u8 v: 0 or UINT64_MAX */
	REMOVE_ID_MODES
};

/* GET_DIRTY_LOG: u8 words % DWORDS_MODES (needed: the words the slot's
 * region needs, 1 for no region) */
enum fuzz_dirty_words {
	DWORDS_NEEDED,
	DWORDS_NEEDED_AGAIN,
	DWORDS_SHORT, /* needed - 1: NO_SPACE */
	DWORDS_ZERO,  /* 0 */
	DWORDS_MORE,  /* needed + 1 + (words >> 4) % 4: the rest stays untouched */
	DWORDS_NULL,  /* bitmap NULL, needed words */
	DWORDS_MODES
};

/* GET_DIRTY_LOG: u8 flags % DFLAGS_MODES */
enum fuzz_dirty_flags {
	DFLAGS_NONE,
	DFLAGS_NONE_AGAIN,
	DFLAGS_CLEAR,
	DFLAGS_CLEAR_AGAIN,
	DFLAGS_CLEAR_UNKNOWN, /* SQUIB_DIRTY_CLEAR | 0x2: INVALID_ARGUMENT */
	DFLAGS_TOP,	      /* 0x80000000: INVALID_ARGUMENT */
	DFLAGS_MODES
};

#endif /* SQUIB_FUZZ_OPS_H */
