/* SPDX-License-Identifier: MIT */
/*
 * example_migrate: a pre-copy live migration of a 256 MiB guest, for real.
 *
 *     example_migrate [--quick] [--tcp] [--writers N] [--rate WRITES_PER_S]
 *                     [--downtime-ms MS] [--max-rounds N] [--helper-thread]
 *                     [--kvm PLUGIN GUEST_BIN LIBSQUIBCORE]
 *
 * This process is the source: it builds the guest (guest.h), starts the
 * writer threads (writers.h) and migrates the guest while they write
 * (source.c). A fork()ed child is the destination (destination.c). They
 * talk over a Unix socketpair, or with --tcp over a TCP connection on the
 * loopback; the protocol is in proto.h. --quick is the ctest run: a modest
 * write rate, so that it takes a few seconds. --helper-thread saves every
 * record with SQUIB_SAVE_HELPER_THREAD: the library copies and checksums
 * the pages on a thread of its own while this one sends. With --kvm a KVM
 * vCPU writes the guest too (vcpu_writer.h): PLUGIN is examples/kvm's squib-kvm.so,
 * GUEST_BIN the flat binary of vcpu_guest.S, LIBSQUIBCORE the path of the
 * library this program runs on; without a usable /dev/kvm that part is
 * skipped and the migration runs without it.
 *
 * Exit status: 0 when the destination applied every record and both ends
 * agree on every region's layout and bytes, 1 otherwise, 2 for bad usage.
 */
#define _GNU_SOURCE /* the socket calls */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "migrate.h"

#define EXIT_USAGE 2

static void usage(void)
{
	(void)fprintf(stderr, "usage: example_migrate [--quick] [--tcp] [--writers N]"
			      " [--rate WRITES_PER_S] [--downtime-ms MS] [--max-rounds N]"
			      " [--helper-thread] [--kvm PLUGIN GUEST_BIN LIBSQUIBCORE]\n");
}

static bool number(const char *text, unsigned long long max, unsigned long long *out)
{
	char *end;
	unsigned long long value;

	errno = 0;
	value = strtoull(text, &end, 10);
	if (errno || end == text || *end || value > max || text[0] == '-')
		return false;
	*out = value;
	return true;
}

static bool parse(int argc, char **argv, struct options *opts)
{
	bool rate_given = false;

	*opts = (struct options){
	    .writers = 2, .rate = 50000, .downtime_ns = 50 * UINT64_C(1000000), .max_rounds = 20};
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i], *value = i + 1 < argc ? argv[i + 1] : NULL;
		unsigned long long n;

		if (strcmp(arg, "--quick") == 0) {
			opts->quick = true;
		} else if (strcmp(arg, "--helper-thread") == 0) {
			opts->helper_thread = true;
		} else if (strcmp(arg, "--tcp") == 0) {
			opts->tcp = true;
		} else if (strcmp(arg, "--writers") == 0 && value && number(value, 16, &n) && n) {
			opts->writers = (unsigned)n;
			i++;
		} else if (strcmp(arg, "--rate") == 0 && value && number(value, 100000000, &n)) {
			opts->rate = n;
			rate_given = true;
			i++;
		} else if (strcmp(arg, "--downtime-ms") == 0 && value &&
			   number(value, 100000, &n)) {
			opts->downtime_ns = n * UINT64_C(1000000);
			i++;
		} else if (strcmp(arg, "--max-rounds") == 0 && value && number(value, 1000, &n)) {
			opts->max_rounds = (unsigned)n;
			i++;
		} else if (strcmp(arg, "--kvm") == 0 && i + 3 < argc) {
			opts->kvm_plugin = argv[++i];
			opts->kvm_guest = argv[++i];
			opts->kvm_lib = argv[++i];
		} else {
			return false;
		}
	}
	if (opts->quick && !rate_given)
		opts->rate = 20000;
	return true;
}

/* A connected pair: [0] for the source, [1] for the destination. */
static bool connect_unix(int fds[2])
{
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0)
		return true;
	(void)fprintf(stderr, "example_migrate: socketpair: %s\n", strerror(errno));
	return false;
}

/* The same over TCP on 127.0.0.1, an ephemeral port: both ends are in this
 * process until the fork, so the connection can complete at once. */
static bool connect_tcp(int fds[2])
{
	struct sockaddr_in addr = {.sin_family = AF_INET,
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(addr);
	int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	bool good = listener >= 0 && bind(listener, (struct sockaddr *)&addr, len) == 0 &&
		    listen(listener, 1) == 0 &&
		    getsockname(listener, (struct sockaddr *)&addr, &len) == 0;

	fds[0] = fds[1] = -1;
	if (good) {
		fds[1] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		good = fds[1] >= 0 && connect(fds[1], (struct sockaddr *)&addr, len) == 0;
	}
	if (good) {
		fds[0] = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
		good = fds[0] >= 0;
	}
	if (!good)
		(void)fprintf(stderr, "example_migrate: TCP on the loopback: %s\n",
			      strerror(errno));
	for (int i = 0; good && i < 2; i++)
		good = setsockopt(fds[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == 0;
	if (listener >= 0)
		(void)close(listener);
	if (!good) {
		for (int i = 0; i < 2; i++)
			if (fds[i] >= 0)
				(void)close(fds[i]);
	}
	return good;
}

int main(int argc, char **argv)
{
	struct options opts;
	int fds[2], status = 0, rc;
	pid_t child;

	if (!parse(argc, argv, &opts)) {
		usage();
		return EXIT_USAGE;
	}
	/* A peer that went away is an error to report, not a signal to die of. */
	(void)signal(SIGPIPE, SIG_IGN);
	if (!(opts.tcp ? connect_tcp(fds) : connect_unix(fds)))
		return EXIT_FAILURE;
	(void)printf(
	    "example_migrate: 256 MiB of RAM and a 64 KiB ROM to a child process over %s;"
	    " %u writers, %llu writes/s; downtime target %.0f ms, %u live rounds at most\n",
	    opts.tcp ? "TCP on the loopback" : "a Unix socketpair", opts.writers,
	    (unsigned long long)opts.rate, (double)opts.downtime_ns / 1e6, opts.max_rounds);
	(void)fflush(stdout);
	/* Before any thread or guest memory exists: the child starts empty. */
	child = fork();
	if (child < 0) {
		(void)fprintf(stderr, "example_migrate: fork: %s\n", strerror(errno));
		return EXIT_FAILURE;
	}
	if (child == 0) {
		(void)close(fds[0]);
		rc = run_destination(fds[1]);
		(void)close(fds[1]);
		_exit(rc);
	}
	(void)close(fds[1]);
	rc = run_source(&opts, fds[0]);
	/* The destination sees the end of the stream and exits, whatever
	 * state the source left it in. */
	(void)close(fds[0]);
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		(void)fprintf(stderr, "example_migrate: the destination %s %d\n",
			      WIFEXITED(status) ? "exited with status" : "was killed by signal",
			      WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
		rc = EXIT_FAILURE;
	}
	(void)printf("example_migrate: %s\n", rc == 0 ? "PASS" : "FAIL");
	return rc;
}
