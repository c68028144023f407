/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * Spawn to first receive: the time from starting the child to the end of
 * its first receive of ChildArgs, with dropipc_spawn() and with a bare
 * socketpair(), fork() and execv() (no pidfd, no exec status, no wait for
 * the exec). Both children are this program with --spawn-child: it
 * receives the typical ChildArgs, then writes the CLOCK_MONOTONIC time its
 * receive ended at, in nanoseconds, on the channel. The parent sends as
 * soon as it can: after dropipc_spawn() returns (the child has exec'd), or
 * right after fork(). The two alternate, round by round.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define SPAWN_TIMEOUT_MS 60000

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int spawn_child_main(void)
{
	dropipc_child *child;
	dropipc_args *args;
	int64_t t;
	int r;

	prog = "dropipc-bench spawn child";
	r = dropipc_child_new(DROPIPC_CHILD_FD, &child);
	if (r < 0)
		die("adopt fd 3: %s", dropipc_strerror(r));
	dropipc_conn_set_timeout(dropipc_child_conn(child), SPAWN_TIMEOUT_MS * 1000);
	r = dropipc_child_recv_args(child, &args);
	t = mono_ns();
	if (r < 0)
		die("%s", dropipc_conn_get_errmsg(dropipc_child_conn(child)));
	dropipc_args_free(args);
	if (write(dropipc_conn_get_fd(dropipc_child_conn(child)), &t, sizeof(t)) != sizeof(t))
		die("write the time: %s", strerror(errno));
	dropipc_child_free(child);
	return 0;
}

/* Sends args, reads the time the child's receive ended, reaps the child. */
static int64_t finish(dropipc_parent *parent, pid_t pid, const dropipc_args *args)
{
	int64_t t = 0;
	ssize_t n;
	int status, r;

	dropipc_conn_set_timeout(dropipc_parent_conn(parent), SPAWN_TIMEOUT_MS * 1000);
	r = dropipc_parent_send_args(parent, args);
	if (r < 0)
		die("send child args: %s", dropipc_conn_get_errmsg(dropipc_parent_conn(parent)));
	do
		n = read(dropipc_conn_get_fd(dropipc_parent_conn(parent)), &t, sizeof(t));
	while (n < 0 && errno == EINTR);
	if (n != sizeof(t))
		die("the spawned child sent no time");
	dropipc_parent_free(parent);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			die("waitpid: %s", strerror(errno));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		die("the spawned child failed (wait status 0x%x)", status);
	return t;
}

static int64_t round_spawn(const dropipc_spawn_options *opts, const dropipc_args *args)
{
	dropipc_parent *parent;
	int64_t t0 = mono_ns();
	char msg[512];
	pid_t pid;
	int r;

	r = dropipc_spawn(opts, &parent, &pid, NULL, msg, sizeof(msg));
	if (r < 0)
		die("%s", msg);
	return finish(parent, pid, args) - t0;
}

static int64_t round_fork(const char *self, const dropipc_args *args)
{
	dropipc_parent *parent;
	int64_t t0 = mono_ns();
	int child_fd, r;
	pid_t pid;

	r = dropipc_socketpair(&parent, &child_fd);
	if (r < 0)
		die("socketpair: %s", dropipc_strerror(r));
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		if (dropipc_child_fd_inherit(child_fd) == 0)
			execl(self, "dropipc-bench", "--spawn-child", (char *)NULL);
		_exit(127);
	}
	close(child_fd);
	return finish(parent, pid, args) - t0;
}

void spawn_bench(const char *self, bool quick)
{
	const char *argv[] = { self, "--spawn-child", NULL };
	unsigned rounds = quick ? 5 : 200;
	struct samples spawn = { 0 }, forked = { 0 };
	dropipc_args *args = bench_args_new((struct shape){ 2, 2, 2 });
	const dropipc_spawn_options opts = { .size = sizeof(opts), .path = self, .argv = argv };

	if (!args)
		die("no memory");
	for (unsigned i = 0; i < rounds; i++) {
		sample_add(&spawn, round_spawn(&opts, args));
		sample_add(&forked, round_fork(self, args));
	}
	printf("\nSpawn to the child's first receive of ChildArgs (typical payload), %u\n"
	       "alternating samples each, microseconds.\n\n",
	       rounds);
	printf("| start         |     median |       p10-p90         |\n");
	printf("|---------------|-----------:|-----------------------|\n");
	printf("| dropipc_spawn | %10.1f | %10.1f-%-10.1f |\n", median(&spawn),
	       quantile(&spawn, 0.1), quantile(&spawn, 0.9));
	printf("| fork + execv  | %10.1f | %10.1f-%-10.1f |\n", median(&forked),
	       quantile(&forked, 0.1), quantile(&forked, 0.9));
	dropipc_args_free(args);
	free(spawn.v);
	free(forked.v);
}
