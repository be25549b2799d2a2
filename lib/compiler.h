/* SPDX-License-Identifier: MIT */
/* Internal: compiler attributes used across lib/. Not installed. */
#ifndef SQUIB_LIB_COMPILER_H
#define SQUIB_LIB_COMPILER_H

#include <stdatomic.h>

#define SQUIB_LIKELY(x) __builtin_expect(!!(x), 1)
#define SQUIB_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define SQUIB_COLD __attribute__((cold, noinline))
#define SQUIB_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#define SQUIB_CACHELINE 64

/* In the body of a loop that zeroes or shifts an array: keeps the compiler
 * from turning the loop into a call to memset() or memmove(), which the
 * fortified build cannot check when the size is not known (stage 80 wants
 * none imported). A compiler barrier; no instruction. */
#define SQUIB_NOT_A_LIBCALL() atomic_signal_fence(memory_order_seq_cst)

/* The reader record is touched on every access; in an ELF shared object the
 * default TLS model costs a call to __tls_get_addr, initial-exec is one
 * %fs-relative load. The object is tiny, so it fits the static TLS surplus
 * glibc keeps for dlopen'd libraries. */
#if defined(__ELF__)
#define SQUIB_TLS_FAST __attribute__((tls_model("initial-exec")))
#else
#define SQUIB_TLS_FAST
#endif

#endif
