/* SPDX-License-Identifier: MIT */
/*
 * What both backend plugins share: attach (dlopen libsquibcore.so.0 by its
 * SONAME, bind every function at its version node), detach (dlclose it) and
 * the failure message. Each plugin is its own shared object with its own
 * copy of this state, as two independently built backends would have.
 */
#ifndef SQUIB_CONSUMER_PLUGIN_H
#define SQUIB_CONSUMER_PLUGIN_H

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "layout.h"
#include "squib_api.h"

static void *lib;
static struct squib_api api;
static char message[512];

__attribute__((format(printf, 1, 2))) static const char *failf(const char *fmt, ...)
{
	va_list args;
	int n;

	n = snprintf(message, sizeof(message), "%s: ", PLUGIN_NAME);
	va_start(args, fmt);
	(void)vsnprintf(message + n, sizeof(message) - (size_t)n, fmt, args);
	va_end(args);
	return message;
}

/* Fails the run unless the call returned `want`; names the call. */
#define EXPECT_STATUS(call, want)                                                                  \
	do {                                                                                       \
		squib_status_t got_ = (call);                                                      \
		if (got_ != (want))                                                                \
			return failf("%s:%d: %s returned %d, want %d (%s)", __FILE__, __LINE__,    \
				     #call, (int)got_, (int)(want), api.squib_last_error());       \
	} while (0)

#define EXPECT(cond)                                                                               \
	do {                                                                                       \
		if (!(cond))                                                                       \
			return failf("%s:%d: expected %s", __FILE__, __LINE__, #cond);             \
	} while (0)

/* True when this thread's last error names addr in 0x%016x form. */
static int last_error_names(uint64_t addr)
{
	char text[SQUIB_GPA_STRLEN];

	(void)api.squib_gpa_format(SQUIB_GPA(addr), text, sizeof(text));
	return strstr(api.squib_last_error(), text) != NULL;
}

const char *squib_plugin_attach(void)
{
	if (lib != NULL)
		return failf("attached twice");
	lib = dlopen("libsquibcore.so.0", RTLD_NOW | RTLD_LOCAL);
	if (lib == NULL)
		return failf("dlopen(libsquibcore.so.0): %s", dlerror());
	if (squib_api_bind(lib, &api, message, sizeof(message)) != 0) {
		(void)dlclose(lib);
		lib = NULL;
		return message;
	}
	if (strcmp(api.squib_core_version(), SQUIB_CORE_VERSION_STRING) != 0)
		return failf("loaded library is %s, built against %s", api.squib_core_version(),
			     SQUIB_CORE_VERSION_STRING);
	return NULL;
}

const char *squib_plugin_detach(void)
{
	if (lib == NULL)
		return failf("detached twice");
	memset(&api, 0, sizeof(api));
	if (dlclose(lib) != 0)
		return failf("dlclose(libsquibcore.so.0): %s", dlerror());
	lib = NULL;
	return NULL;
}

#endif
