/* SPDX-License-Identifier: MIT */
/* Internal: compiler attributes used across lib/. Not installed. */
#ifndef SQUIB_LIB_COMPILER_H
#define SQUIB_LIB_COMPILER_H

#define SQUIB_LIKELY(x) __builtin_expect(!!(x), 1)
#define SQUIB_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define SQUIB_COLD __attribute__((cold, noinline))
#define SQUIB_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#define SQUIB_CACHELINE 64

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
