/* SPDX-License-Identifier: MIT */
/**
 * @file squib/core.h
 * @brief Umbrella header of libsquibcore, the guest-memory core of squib.
 *
 * Include this one header; it only includes the others.
 */
#ifndef SQUIB_CORE_H
#define SQUIB_CORE_H

#include <squib/access.h>
#include <squib/addr.h>
#include <squib/backing.h>
#include <squib/dirty.h>
#include <squib/error.h>
#include <squib/export.h>
#include <squib/io.h>
#include <squib/listener.h>
#include <squib/mem.h>
#include <squib/prot.h>
#include <squib/range.h>
#include <squib/ring.h>
#include <squib/snapshot.h>
#include <squib/translate.h>
#include <squib/version.h>

#endif /* SQUIB_CORE_H */
