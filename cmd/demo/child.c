/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * dropipc-demo-child: Drop's child in C. Started by dropipc-demo in new
 * user, mount, PID, IPC and cgroup namespaces (and network, unless
 * unjailed) with the channel on fd 3, it receives ChildArgs, builds the jail
 * (jail.c), makes a pty only when it runs at a terminal (pty.c), drops its
 * capabilities and execs the command through /usr/bin/env (exec.c) in
 * Drop's environment (environ.c). Every failure before the exec goes to the
 * parent as a ChildError naming the stage and the path or field.
 *
 * --ttys=DIGITS: which of fds 0-2 get the pty's slave (dropipc-demo gives
 * the child a pipe of its own messages where the user has a terminal);
 * without it, those of fds 0-2 that are terminals.
 *
 * --no-jail: the handshake only, no mounts (for peers tests that send
 * made-up paths): the command runs on the host's filesystem, with this
 * process's capabilities, and /usr/bin/env is not checked for being
 * writable (there is no sandbox that could have changed it).
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "child.h"
#include "dump.h"

extern char **environ;

void notice(const char *fmt, ...)
{
	char line[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: %s\n", CHILD_PROG, line);
}

static void summary(const dropipc_args *a)
{
	static const char *const modes[] = { "unspecified", "off", "isolated", "unjailed" };
	dropipc_net_mode mode = DROPIPC_NET_MODE_UNSPECIFIED;
	size_t n, nblocked = 0, nmounts = 0;
	char *const *cmd = dropipc_args_get_list(a, DROPIPC_LIST_EXEC_ARGS, &n);
	const char *s, *t;
	unsigned fl;

	dropipc_args_get_net_mode(a, &mode);
	dropipc_args_get_list(a, DROPIPC_LIST_BLOCKED_PATHS, &nblocked);
	while (dropipc_args_get_mount(a, nmounts, &s, &t, &fl) == 0)
		nmounts++;

	notice("received ChildArgs: env %s, root %s, %zu mounts, %zu blocked paths, net %s, "
	       "command %s (%zu args)",
	       dropipc_args_get_env_id(a), dropipc_args_get_path(a, DROPIPC_PATH_FS_ROOT),
	       nmounts, nblocked, (unsigned)mode < 4 ? modes[mode] : "?", n ? cmd[0] : "(the shell)", n);
}

int main(int argc, char **argv)
{
	const char *dump = getenv("DROPIPC_DUMP_ARGS");
	char *shell = getenv("SHELL") ? strdup(getenv("SHELL")) : NULL;
	bool verbose = false, jail = true;
	int ttys = -1; /* which of fds 0-2 get the pty; -1: those that are terminals */
	dropipc_child *ch = NULL;
	dropipc_args *args = NULL;
	char **envp = NULL;
	int r;

	/* The parent blocks the signals it reads from a signalfd and ignores
	 * SIGPIPE: the command gets the defaults back. */
	sigset_t none;
	struct sigaction dfl = { .sa_handler = SIG_DFL };

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	sigaction(SIGPIPE, &dfl, NULL);
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--verbose")) {
			verbose = true;
		} else if (!strcmp(argv[i], "--no-jail")) {
			jail = false;
		} else if (!strncmp(argv[i], "--ttys=", 7) &&
			   strspn(argv[i] + 7, "012") == strlen(argv[i] + 7)) {
			ttys = 0;
			for (const char *t = argv[i] + 7; *t; t++)
				ttys |= 1 << (*t - '0');
		} else {
			fprintf(stderr,
				"usage: %s [-v|--verbose] [--no-jail] [--ttys=[012]]   (the channel on fd %d)\n",
				CHILD_PROG, DROPIPC_CHILD_FD);
			return 2;
		}
	}
	r = dropipc_child_new(DROPIPC_CHILD_FD, &ch);
	if (r < 0) {
		notice("fd %d: %s", DROPIPC_CHILD_FD, dropipc_strerror(r));
		return 1;
	}
	/* On failure the library has reported it to the parent. */
	r = dropipc_child_recv_args(ch, &args);
	if (r < 0) {
		notice("%s", dropipc_conn_get_errmsg(dropipc_child_conn(ch)));
		goto out;
	}
	if (verbose)
		summary(args);
	if (dump && (r = dump_to_file(dump, args)) < 0) {
		dropipc_child_send_error(ch, DROPIPC_STAGE_ARGS, -r, "DROPIPC_DUMP_ARGS=%s: %s", dump,
					 strerror(-r));
		goto out;
	}
	if (environ_build(ch, args, environ, &envp) < 0)
		goto out;
	if (jail && jail_build(ch, args, verbose) < 0)
		goto out;
	if (verbose)
		notice("jail built%s", jail ? "" : " (none: --no-jail)");
	if (pty_setup(ch, args, ttys, verbose) < 0 || keyring_new(ch) < 0 ||
	    (jail && caps_drop(ch) < 0))
		goto out;
	enter_cwd(args, verbose);
	exec_command(ch, args, envp, shell, jail);
out:
	environ_free(envp);
	dropipc_args_free(args);
	dropipc_child_free(ch);
	free(shell);
	return 127;
}
