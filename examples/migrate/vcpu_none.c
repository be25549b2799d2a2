/* SPDX-License-Identifier: MIT */
/* vcpu_writer.h for a build without KVM support: always skipped. */
#include <stdio.h>

#include "vcpu_writer.h"

struct vcpu_writer *vcpu_writer_open(const char *guest_bin, uint8_t *code, size_t cap, size_t *len,
				     bool *skipped)
{
	(void)guest_bin;
	(void)code;
	(void)cap;
	(void)len;
	(void)printf("KVM: skipped, this build has no KVM support (examples/kvm is not built)\n");
	*skipped = true;
	return NULL;
}

bool vcpu_writer_start(struct vcpu_writer *writer, squib_mem_t *mem, const char *plugin,
		       const char *libpath)
{
	(void)writer;
	(void)mem;
	(void)plugin;
	(void)libpath;
	return false;
}

bool vcpu_writer_pause(struct vcpu_writer *writer)
{
	(void)writer;
	return false;
}

void vcpu_writer_report(const struct vcpu_writer *writer, const squib_mem_t *mem)
{
	(void)writer;
	(void)mem;
}

void vcpu_writer_close(struct vcpu_writer *writer)
{
	(void)writer;
}
