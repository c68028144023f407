/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dropipc-demo-child: the child. Finds the channel on fd 3, receives
 * ChildArgs, creates a pty, sends its master to the parent, makes the pty
 * its controlling terminal and execs the command in it. Any failure before
 * the exec goes to the parent as a ChildError; the channel is close-on-exec,
 * so a successful exec shows as end-of-stream. No namespaces, no mounts: the
 * demo shows the IPC, not a sandbox.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <dropipc/dropipc.h>

#include "dump.h"
#include "fds.h"

#define PROG "dropipc-demo-child"

static bool verbose;

static void summary(const dropipc_args *a)
{
	static const char *modes[] = { "unspecified", "off", "isolated", "unjailed" };
	unsigned mode = (unsigned)dropipc_args_net_mode(a);
	size_t n;
	char *const *cmd = dropipc_args_exec_args(a, &n);

	fprintf(stderr,
		"%s: received ChildArgs: env %s, root %s, %zu mounts, %zu blocked paths, "
		"net %s with %zu+%zu published and %zu+%zu host ports, command %s (%zu args)\n",
		PROG, dropipc_args_env_id(a), dropipc_args_path(a, DROPIPC_PATH_FS_ROOT),
		dropipc_args_n_mounts(a), dropipc_args_n_blocked_paths(a),
		mode < 4 ? modes[mode] : "?", dropipc_args_n_published_ports(a, DROPIPC_TCP),
		dropipc_args_n_published_ports(a, DROPIPC_UDP),
		dropipc_args_n_host_ports(a, DROPIPC_TCP), dropipc_args_n_host_ports(a, DROPIPC_UDP),
		cmd[0] ? cmd[0] : "(none)", n);
}

/* Reports a failure of the pty stage, err an errno value; -1. */
static int pty_failed(dropipc_child *ch, int err, const char *what)
{
	dropipc_child_send_error(ch, DROPIPC_STAGE_PTY, err, "%s: %s", what, strerror(err));
	return -1;
}

/* Opens a pty pair, both ends close-on-exec. */
static int open_pty(dropipc_child *ch, int *master, int *slave)
{
	char name[64];
	int r;

	*master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (*master < 0)
		return pty_failed(ch, errno, "posix_openpt");
	if (grantpt(*master) < 0 || unlockpt(*master) < 0)
		r = errno;
	else
		r = ptsname_r(*master, name, sizeof(name));
	if (r == 0) {
		*slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (*slave < 0)
			r = errno;
	}
	if (r != 0) {
		close(*master);
		return pty_failed(ch, r, "grantpt/unlockpt/ptsname/open slave");
	}
	if (verbose)
		fprintf(stderr, "%s: created pty %s\n", PROG, name);
	return 0;
}

/* Makes the pty slave our controlling terminal and stdin, stdout, stderr,
 * and closes everything else but the channel (fd 3, which exec closes). */
static int take_terminal(dropipc_child *ch, int slave)
{
	long max_fd = sysconf(_SC_OPEN_MAX);

	if (setsid() < 0)
		return pty_failed(ch, errno, "setsid");
	if (ioctl(slave, TIOCSCTTY, 0) < 0)
		return pty_failed(ch, errno, "TIOCSCTTY");
	for (int fd = 0; fd < 3; fd++)
		if (dup2(slave, fd) < 0)
			return pty_failed(ch, errno, "dup2 pty to 0, 1, 2");
	if (slave > 2)
		close(slave);
	close_from(dropipc_child_fd(ch) + 1, max_fd < 0 || max_fd > 65536 ? 65536 : (int)max_fd);
	return 0;
}

int main(int argc, char **argv)
{
	dropipc_child *ch = NULL;
	dropipc_args *args = NULL;
	const char *dump = getenv("DROPIPC_DUMP_ARGS");
	char *const *cmd = NULL;
	int master = -1, slave = -1, r, ret = 1;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--verbose")) {
			verbose = true;
		} else {
			fprintf(stderr, "usage: %s [-v|--verbose]   (the channel on fd %d)\n", PROG,
				DROPIPC_CHILD_FD);
			return 2;
		}
	}
	r = dropipc_child_new(DROPIPC_CHILD_FD, &ch);
	if (r < 0) {
		fprintf(stderr, "%s: fd %d: %s\n", PROG, DROPIPC_CHILD_FD, dropipc_strerror(r));
		return 1;
	}
	r = dropipc_child_recv_args(ch, &args);
	if (r < 0) {
		fprintf(stderr, "%s: %s\n", PROG, dropipc_child_errmsg(ch));
		dropipc_child_send_error(ch, DROPIPC_STAGE_ARGS, DROPIPC_IS_ERRNO(r) ? -r : 0, "%s",
					 dropipc_child_errmsg(ch));
		goto out;
	}
	if (verbose)
		summary(args);
	if (dump && (r = dump_to_file(dump, args, false)) < 0) {
		dropipc_child_send_error(ch, DROPIPC_STAGE_ARGS, -r, "DROPIPC_DUMP_ARGS=%s: %s", dump,
					 strerror(-r));
		goto out;
	}
	cmd = dropipc_args_exec_args(args, NULL); /* NULL-terminated */
	if (!cmd[0]) {
		/* No command: the user's shell, as Drop does. */
		static char *shell[2];

		shell[0] = getenv("SHELL") && getenv("SHELL")[0] ? getenv("SHELL") : "/bin/sh";
		cmd = shell;
	}
	if (open_pty(ch, &master, &slave) < 0)
		goto out;
	/* Said before the handoff: after it the parent's terminal is raw. */
	if (verbose)
		fprintf(stderr, "%s: sending the pty master, then exec %s\n", PROG, cmd[0]);
	r = dropipc_child_send_pty(ch, master);
	if (r < 0) {
		fprintf(stderr, "%s: %s\n", PROG, dropipc_child_errmsg(ch));
		goto out;
	}
	close(master);
	master = -1;
	if (take_terminal(ch, slave) < 0)
		goto out;
	slave = -1;
	/* The channel is close-on-exec: once confirmed, end-of-stream means the
	 * exec succeeded. */
	r = dropipc_child_confirm_exec(ch);
	if (r < 0)
		goto out;
	execvp(cmd[0], cmd);
	r = errno;
	dropipc_child_send_error(ch, DROPIPC_STAGE_EXEC, r, "execvp %s: %s", cmd[0], strerror(r));
	ret = r == ENOENT ? 127 : 126;
out:
	if (master >= 0)
		close(master);
	if (slave >= 0)
		close(slave);
	dropipc_args_free(args);
	dropipc_child_close(ch);
	return ret;
}
