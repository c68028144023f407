/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * The last steps: a new session keyring, capabilities dropped, the working
 * directory, the command looked up in the new environment's PATH and run
 * through /usr/bin/env -- (so that its /proc/self/exe is not this program)
 * as the child of this process, which stays as the sandbox's init
 * (dropipc_child_exec_init()).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/close_range.h>
#include <linux/keyctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "child.h"

#define ENV_PROG "/usr/bin/env"

static int failed(dropipc_child *ch, dropipc_stage stage, int err, const char *what)
{
	dropipc_child_send_error(ch, stage, err, "%s: %s", what, strerror(err));
	return -1;
}

int keyring_new(dropipc_child *ch)
{
	/* An anonymous session keyring of our own: the caller's (Kerberos
	 * caches, file system encryption keys) is no longer ours to search
	 * or read. */
	if (syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, NULL) >= 0)
		return 0;
	/* Where keyctl is filtered out (a container's seccomp profile), the
	 * payload cannot reach any keyring either. */
	if (errno == ENOSYS || errno == EPERM) {
		notice("keyctl: %s: no keyring to leave", strerror(errno));
		return 0;
	}
	return failed(ch, DROPIPC_STAGE_EXEC, errno, "join a new session keyring");
}

int caps_drop(dropipc_child *ch)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = { { 0 } };

	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		return failed(ch, DROPIPC_STAGE_EXEC, errno, "clear the ambient capabilities");
	/* The bounding set matters when our uid is 0, where an exec would give
	 * back every capability in it; then we hold CAP_SETPCAP to empty it.
	 * With another uid an exec gives nothing (/usr is nosuid). */
	for (int cap = 0; prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; cap++) {
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && (errno != EPERM || getuid() == 0))
			return failed(ch, DROPIPC_STAGE_EXEC, errno, "drop the bounding set");
	}
	if (syscall(SYS_capset, &hdr, data) < 0)
		return failed(ch, DROPIPC_STAGE_EXEC, errno, "capset");
	return 0;
}

void enter_cwd(const dropipc_args *a, bool verbose)
{
	const char *cwd = dropipc_args_get_path(a, DROPIPC_PATH_CWD);
	const char *home = dropipc_args_get_path(a, DROPIPC_PATH_HOST_HOME);

	if (cwd[0] && chdir(cwd) == 0)
		return;
	if (verbose)
		notice("cwd %s: not in the jail, using %s", cwd, home[0] ? home : "/");
	if (!home[0] || chdir(home) < 0)
		(void)!chdir("/");
}

static bool executable(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, X_OK) == 0;
}

/* The command as a path: name itself if it has a slash, else the first
 * executable regular file in envp's PATH. With PATH unset or empty there
 * is nothing to search (as in Drop: no default PATH). */
static int lookup(const char *name, char *const *envp, char *out)
{
	const char *path = environ_get(envp, "PATH");
	size_t n;

	if (strchr(name, '/')) {
		if (snprintf(out, PATH_MAX, "%s", name) >= PATH_MAX)
			return -ENAMETOOLONG;
		return executable(out) ? 0 : -errno;
	}
	if (!path || !path[0])
		return -ENOENT;
	for (const char *p = path;; p += n + 1) {
		int w;

		n = strcspn(p, ":");
		/* An empty entry is the working directory. */
		w = snprintf(out, PATH_MAX, "%.*s%s%s", (int)n, p, n ? "/" : "", name);
		if (w >= 0 && w < PATH_MAX && executable(out))
			return 0;
		if (!p[n])
			break;
	}
	return -ENOENT;
}

int exec_command(dropipc_child *ch, const dropipc_args *a, char **envp, const char *shell,
		 bool jailed)
{
	size_t n;
	char *const *args = dropipc_args_get_list(a, DROPIPC_LIST_EXEC_ARGS, &n);
	const char *sh[] = { shell && *shell ? shell : "/bin/sh", NULL };
	char prog[PATH_MAX];
	const char **argv;
	int r;

	if (n == 0)
		args = (char *const *)sh, n = 1;
	r = lookup(args[0], envp, prog);
	if (r < 0) {
		const char *path = environ_get(envp, "PATH");

		dropipc_child_send_error(ch, DROPIPC_STAGE_EXEC, -r, "command %s: %s (PATH %s)",
					 args[0], r == -ENOENT ? "not found" : strerror(-r),
					 !path ? "unset" : path[0] ? path : "empty");
		return -1;
	}
	/* Capabilities are gone: this asks as the user. Without a jail there
	 * is no sandbox that could have replaced it, and nothing was dropped
	 * (as root on the host it is always writable). */
	if (jailed && access(ENV_PROG, W_OK) == 0) {
		dropipc_child_send_error(ch, DROPIPC_STAGE_EXEC, 0,
					 "%s is writable by uid %u: refusing to exec through it",
					 ENV_PROG, (unsigned)getuid());
		return -1;
	}
	argv = calloc(n + 3, sizeof(*argv));
	if (!argv)
		return failed(ch, DROPIPC_STAGE_EXEC, ENOMEM, "argv");
	argv[0] = ENV_PROG;
	argv[1] = "--";
	argv[2] = prog;
	for (size_t i = 1; i < n; i++)
		argv[i + 2] = args[i];
	/* Every fd but 0-2 closes at exec: the command gets only those. */
	syscall(SYS_close_range, 3u, ~0u, CLOSE_RANGE_CLOEXEC);
	/* We stay as the sandbox's init (PID 1): the command is our child.
	 * On failure the library has reported it to the parent. */
	r = dropipc_child_exec_init(ch, ENV_PROG, (char *const *)argv, envp);
	free(argv);
	return r;
}
