/* SPDX-License-Identifier: MIT */
/* The frames and region summaries of proto.h, and whole-buffer I/O. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "proto.h"

static void put_le32(uint8_t *at, uint32_t value)
{
	for (unsigned i = 0; i < 4; i++)
		at[i] = (uint8_t)(value >> (8 * i));
}

static void put_le64(uint8_t *at, uint64_t value)
{
	for (unsigned i = 0; i < 8; i++)
		at[i] = (uint8_t)(value >> (8 * i));
}

static uint32_t get_le32(const uint8_t *at)
{
	uint32_t value = 0;

	for (unsigned i = 0; i < 4; i++)
		value |= (uint32_t)at[i] << (8 * i);
	return value;
}

static uint64_t get_le64(const uint8_t *at)
{
	uint64_t value = 0;

	for (unsigned i = 0; i < 8; i++)
		value |= (uint64_t)at[i] << (8 * i);
	return value;
}

bool write_all(int fd, const void *buf, size_t len, const char *what)
{
	const uint8_t *at = buf;

	while (len) {
		ssize_t n = write(fd, at, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			(void)fprintf(stderr, "example_migrate: writing %s: %s\n", what,
				      n < 0 ? strerror(errno) : "nothing written");
			return false;
		}
		at += n;
		len -= (size_t)n;
	}
	return true;
}

bool read_all(int fd, void *buf, size_t len, const char *what)
{
	uint8_t *at = buf;

	while (len) {
		ssize_t n = read(fd, at, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			(void)fprintf(stderr, "example_migrate: reading %s: %s\n", what,
				      n < 0 ? strerror(errno) : "the peer closed the connection");
			return false;
		}
		at += n;
		len -= (size_t)n;
	}
	return true;
}

bool frame_send(int fd, const struct frame *frame)
{
	uint8_t bytes[FRAME_BYTES];

	put_le32(bytes, FRAME_MAGIC);
	put_le32(bytes + 4, frame->type);
	put_le32(bytes + 8, frame->round);
	put_le32(bytes + 12, frame->arg);
	return write_all(fd, bytes, sizeof(bytes), "a frame");
}

bool frame_recv(int fd, uint32_t type, struct frame *frame)
{
	uint8_t bytes[FRAME_BYTES];

	if (!read_all(fd, bytes, sizeof(bytes), "a frame"))
		return false;
	if (get_le32(bytes) != FRAME_MAGIC) {
		(void)fprintf(stderr, "example_migrate: a frame with magic 0x%08x, not 0x%08x\n",
			      get_le32(bytes), FRAME_MAGIC);
		return false;
	}
	frame->type = get_le32(bytes + 4);
	frame->round = get_le32(bytes + 8);
	frame->arg = get_le32(bytes + 12);
	if (type && frame->type != type) {
		(void)fprintf(stderr, "example_migrate: a frame of type %u, expected %u\n",
			      frame->type, type);
		return false;
	}
	return true;
}

void summary_encode(const struct region_summary *summary, uint8_t out[SUMMARY_BYTES])
{
	put_le64(out, summary->base);
	put_le64(out + 8, summary->size);
	put_le32(out + 16, summary->slot);
	put_le32(out + 20, summary->prot);
	put_le32(out + 24, summary->flags);
	put_le32(out + 28, summary->has_fd);
	put_le64(out + 32, summary->hash);
	memcpy(out + 40, summary->name, SQUIB_REGION_NAME_MAX);
}

void summary_decode(const uint8_t in[SUMMARY_BYTES], struct region_summary *summary)
{
	summary->base = get_le64(in);
	summary->size = get_le64(in + 8);
	summary->slot = get_le32(in + 16);
	summary->prot = get_le32(in + 20);
	summary->flags = get_le32(in + 24);
	summary->has_fd = get_le32(in + 28);
	summary->hash = get_le64(in + 32);
	memcpy(summary->name, in + 40, SQUIB_REGION_NAME_MAX);
	summary->name[SQUIB_REGION_NAME_MAX - 1] = '\0';
}
