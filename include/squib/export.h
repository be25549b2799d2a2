/* SPDX-License-Identifier: MIT */
/**
 * @file squib/export.h
 * @brief Symbol visibility and attribute macros shared by every public header.
 *
 * Consumers never need these directly; they decorate the declarations of the
 * other headers. The library itself is compiled with -fvisibility=hidden and
 * defines SQUIB_CORE_BUILDING, so SQUIB_API is the single switch that decides
 * what leaves the shared object.
 */
#ifndef SQUIB_EXPORT_H
#define SQUIB_EXPORT_H

#if defined(_WIN32)
#if defined(SQUIB_CORE_BUILDING)
#define SQUIB_API __declspec(dllexport)
#else
#define SQUIB_API __declspec(dllimport)
#endif
#elif defined(__GNUC__) || defined(__clang__)
#define SQUIB_API __attribute__((visibility("default")))
#else
#define SQUIB_API
#endif

/*
 * SQUIB_NODISCARD marks the functions that return a squib_status_t: a
 * status that is ignored is a guest-controlled failure that went
 * unnoticed. Forgetting one warns; casting the call to (void) says the
 * caller means it, and must always be quiet. So the warning is only used
 * where both hold:
 *   C++17 and later, C23 (when the compiler has it): [[nodiscard]];
 *   clang, other language modes: warn_unused_result, which (void) silences;
 *   GCC, C before C23 and C++ before 17: nothing, as GCC's
 *     warn_unused_result cannot be silenced by (void). The library's own
 *     build (SQUIB_CORE_BUILDING) keeps it there, since no code of the
 *     library ignores a status on purpose.
 * It comes first in a declaration (before SQUIB_API): a standard attribute
 * may not follow a GNU one in C++. tests/consumers/nodiscard/ checks each
 * combination.
 */
#if defined(__cplusplus) && __cplusplus >= 201703L
#define SQUIB_NODISCARD [[nodiscard]]
#elif !defined(__cplusplus) && defined(__STDC_VERSION__) && __STDC_VERSION__ > 201710L &&          \
    defined(__has_c_attribute)
#if __has_c_attribute(nodiscard)
#define SQUIB_NODISCARD [[nodiscard]]
#endif
#endif
#if !defined(SQUIB_NODISCARD) &&                                                                   \
    (defined(__clang__) || (defined(__GNUC__) && defined(SQUIB_CORE_BUILDING)))
#define SQUIB_NODISCARD __attribute__((warn_unused_result))
#endif
#ifndef SQUIB_NODISCARD
#define SQUIB_NODISCARD
#endif

#ifdef __cplusplus
#define SQUIB_BEGIN_DECLS extern "C" {
#define SQUIB_END_DECLS }
#else
#define SQUIB_BEGIN_DECLS
#define SQUIB_END_DECLS
#endif

#endif /* SQUIB_EXPORT_H */
