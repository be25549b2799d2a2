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

/* A status that is ignored is a guest-controlled failure that went unnoticed. */
#if defined(__GNUC__) || defined(__clang__)
#define SQUIB_NODISCARD __attribute__((warn_unused_result))
#else
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
