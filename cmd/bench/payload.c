/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * The benchmark's ChildArgs: the Go test's example, with generated mounts,
 * blocked paths and exec args added to reach a size. cmd/bench/gob/main.go
 * builds the same values; change both together.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

#define DROP "/home/alice/.local/share/drop"
/* Longest generated string, with its NUL. */
#define GEN_MAX 40

static char *gen(char *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *gen(char *buf, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, GEN_MAX, fmt, ap);
	va_end(ap);
	return buf;
}

/* The example's values but its mounts, blocked paths and exec args. */
static int example(dropipc_args *a)
{
	static const struct {
		dropipc_path which;
		const char *path;
	} paths[] = {
		{ DROPIPC_PATH_CWD, DROP "/cwd" },
		{ DROPIPC_PATH_DROP_HOME, DROP },
		{ DROPIPC_PATH_ENV, DROP "/envs/test-env" },
		{ DROPIPC_PATH_FS_ROOT, DROP "/internal/run/test-env/root" },
		{ DROPIPC_PATH_HOST_HOME, "/home/alice" },
		{ DROPIPC_PATH_HOME, DROP "/envs/test-env/home" },
		{ DROPIPC_PATH_ETC, DROP "/envs/test-env/etc" },
		{ DROPIPC_PATH_VAR, DROP "/envs/test-env/var" },
		{ DROPIPC_PATH_TMP, DROP "/internal/run/test-env/tmp" },
		{ DROPIPC_PATH_RUN, DROP "/internal/run/test-env" },
		{ DROPIPC_PATH_EMPTY_DIR, DROP "/internal/emptydir" },
		{ DROPIPC_PATH_EMPTY_FILE, DROP "/internal/emptyfile" },
	};
	int r = dropipc_args_set_env_id(a, "test-env");

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]) && r == 0; i++)
		r = dropipc_args_set_path(a, paths[i].which, paths[i].path);
	r = r ? r : dropipc_args_set_extends(a, "base");
	r = r ? r : dropipc_args_add_list(a, DROPIPC_LIST_ENVIRON_EXPOSED_VARS, "PATH");
	r = r ? r : dropipc_args_add_list(a, DROPIPC_LIST_ENVIRON_EXPOSED_VARS, "HOME");
	r = r ? r : dropipc_args_add_list(a, DROPIPC_LIST_ENVIRON_EXPOSED_VARS, "TERM");
	r = r ? r : dropipc_args_add_environ_set_var(a, "FOO", "bar");
	r = r ? r : dropipc_args_set_net_mode(a, DROPIPC_NET_MODE_ISOLATED);
	r = r ? r : dropipc_args_add_net_published_port(a, DROPIPC_TCP, "", 8080, 3000, 0);
	r = r ? r : dropipc_args_add_net_published_port(a, DROPIPC_TCP, "", 8082, 3003, 0);
	return r;
}

dropipc_args *bench_args_new(struct shape s)
{
	char src[GEN_MAX], dst[GEN_MAX];
	dropipc_args *a = NULL;
	int r;

	if (s.mounts < 2 || s.blocked < 2 || s.execs < 2 || dropipc_args_new(&a) < 0)
		return NULL;
	r = example(a);
	r = r ? r : dropipc_args_add_mount(a, "~/docs", "~/docs", DROPIPC_MOUNT_OVERLAY);
	r = r ? r : dropipc_args_add_mount(a, "~/projects", "~/projects", DROPIPC_MOUNT_RW);
	for (unsigned i = 2; i < s.mounts && r == 0; i++)
		r = dropipc_args_add_mount(a, gen(src, "/home/alice/src/mount-%06u", i),
					   gen(dst, "~/mnt/mount-%06u", i),
					   (i % 2 == 1 ? DROPIPC_MOUNT_RW : 0) |
						   (i % 3 == 0 ? DROPIPC_MOUNT_OVERLAY : 0));
	r = r ? r : dropipc_args_add_list(a, DROPIPC_LIST_BLOCKED_PATHS, "/root");
	r = r ? r : dropipc_args_add_list(a, DROPIPC_LIST_BLOCKED_PATHS, "/mnt");
	for (unsigned i = 2; i < s.blocked && r == 0; i++)
		r = dropipc_args_add_list(a, DROPIPC_LIST_BLOCKED_PATHS,
					  gen(src, "/home/alice/private/%06u", i));
	r = r ? r : dropipc_args_add_list(a, DROPIPC_LIST_EXEC_ARGS, "ls");
	r = r ? r : dropipc_args_add_list(a, DROPIPC_LIST_EXEC_ARGS, "-al");
	for (unsigned i = 2; i < s.execs && r == 0; i++)
		r = dropipc_args_add_list(a, DROPIPC_LIST_EXEC_ARGS, gen(src, "--argument-%09u", i));
	if (r < 0) {
		dropipc_args_free(a);
		return NULL;
	}
	return a;
}

/*
 * The payload is the library's business: it is read off the wire, from the
 * header of the frame a forked sender puts there (the frame may not fit in
 * the socket's buffer: the reader must not be the sender).
 */
size_t bench_envelope_size(const dropipc_args *args, size_t max_payload)
{
	dropipc_parent *p;
	uint8_t h[HEADER];
	size_t got = 0;
	int fd, status;
	pid_t pid;

	if (dropipc_socketpair(&p, &fd) < 0)
		return 0;
	dropipc_conn_set_max_payload(dropipc_parent_conn(p), max_payload);
	pid = fork();
	if (pid == 0) {
		close(fd);
		_exit(dropipc_parent_send_args(p, args) == 0 ? 0 : 1);
	}
	dropipc_parent_free(p);
	while (pid > 0 && got < sizeof(h)) {
		ssize_t n = read(fd, h + got, sizeof(h) - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd); /* the sender stops with EPIPE */
	while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (got < sizeof(h))
		return 0;
	/* The payload's length: bytes 8..11, little-endian. */
	return (size_t)h[8] | (size_t)h[9] << 8 | (size_t)h[10] << 16 | (size_t)h[11] << 24;
}
