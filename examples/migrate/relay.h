/* SPDX-License-Identifier: MIT */
/*
 * What the source sends, counted exactly: the source writes its frames and
 * squib_mem_save() its records into a pipe, and a relay thread splice()s
 * the pipe to the socket, adding up the bytes it moved. No copy through
 * user space, and nothing estimated: the count is what went to the socket.
 */
#ifndef SQUIB_MIGRATE_RELAY_H
#define SQUIB_MIGRATE_RELAY_H

#include <stdbool.h>
#include <stdint.h>

struct relay;

/* Starts relaying to @p sock; NULL after printing why. */
struct relay *relay_start(int sock);

/* The pipe's write end: what is written there goes to the socket, in order. */
int relay_fd(const struct relay *relay);

/* Waits until everything written to relay_fd() so far has gone to the
 * socket; *total is then every byte the relay moved since it started.
 * False if the relay failed (printed once, when it happened; then the pipe
 * is closed, and writes to relay_fd() fail with EPIPE). */
bool relay_flush(struct relay *relay, uint64_t *total);

/* Flushes, stops the thread, closes the pipe and frees @p relay; false if
 * the relay failed. */
bool relay_stop(struct relay *relay);

#endif
