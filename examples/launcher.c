/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * A whole launcher, parent and child in one program: the child is the same
 * binary re-executed by dropipc_spawn() with the channel as its fd 3, in new
 * namespaces with the caller's ids mapped, as Drop does with /proc/self/exe.
 * The child hands over the master of a pty it runs the command in; the
 * parent relays the pty's output. Built and run by the tests
 * (example_launcher). docs/USAGE.md walks through it.
 *
 * Build: cc launcher.c $(pkg-config --cflags --libs dropipc) -o launcher
 */
#define _GNU_SOURCE
#include <dropipc/dropipc.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

/* The child: runs with the channel as fd 3, after exec. */
static int child(void)
{
	dropipc_child *ch;
	dropipc_args *args = NULL;
	char *const *cmd;
	size_t ncmd;
	int master = -1, slave = -1, ret = 1;

	if (dropipc_child_new(DROPIPC_CHILD_FD, &ch) < 0)
		return 1;
	if (dropipc_child_recv_args(ch, &args) < 0) {
		fprintf(stderr, "child: %s\n", dropipc_conn_get_errmsg(dropipc_child_conn(ch)));
		goto out;
	}
	/* ... build the jail under dropipc_args_get_path(args, DROPIPC_PATH_FS_ROOT) ... */
	master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0 ||
	    (slave = open(ptsname(master), O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0) {
		dropipc_child_send_error(ch, DROPIPC_STAGE_PTY, errno, "pty: %s", strerror(errno));
		goto out;
	}
	if (dropipc_child_send_pty(ch, master) < 0)
		goto out;
	setsid();
	ioctl(slave, TIOCSCTTY, 0);
	dup2(slave, STDIN_FILENO);
	dup2(slave, STDOUT_FILENO);
	dup2(slave, STDERR_FILENO);
	/* NULL-terminated, as execvp wants */
	cmd = dropipc_args_get_list(args, DROPIPC_LIST_EXEC_ARGS, &ncmd);
	if (ncmd == 0) {
		static char *shell[] = { "/bin/sh", NULL }; /* no command: a shell */
		cmd = shell;
	}
	/* The exec is next; it closes fd 3, and the parent sees that. */
	if (dropipc_child_confirm_exec(ch) < 0)
		goto out;
	execvp(cmd[0], cmd);
	dropipc_child_send_error(ch, DROPIPC_STAGE_EXEC, errno, "execvp %s: %s", cmd[0],
				 strerror(errno));
	ret = 127;
out:
	if (master >= 0)
		close(master);
	if (slave >= 0)
		close(slave);
	dropipc_args_free(args);
	dropipc_child_free(ch);
	return ret;
}

/* The parent: starts the child in new namespaces, sends the arguments,
 * relays the pty's output, reaps. */
int main(int argc, char **argv)
{
	static const char *const child_argv[] = { "launcher", "--child", NULL };
	dropipc_id_map uid_map = { getuid(), getuid(), 1 }, gid_map = { getgid(), getgid(), 1 };
	/* This program again as the child, the channel as its fd 3, in new
	 * namespaces with our own ids mapped, as Drop starts its child. */
	const dropipc_spawn_options opts = {
		.size = sizeof(opts),
		.path = "/proc/self/exe",
		.argv = child_argv,
		.namespaces = DROPIPC_NS_USER | DROPIPC_NS_MOUNT | DROPIPC_NS_PID | DROPIPC_NS_IPC |
			      DROPIPC_NS_UTS | DROPIPC_NS_NET,
		.uid_map = &uid_map,
		.n_uid_map = 1,
		.gid_map = &gid_map,
		.n_gid_map = 1,
		.flags = DROPIPC_SPAWN_DENY_SETGROUPS,
		.pdeathsig = SIGKILL,
	};
	char msg[512] = "";
	dropipc_args *args = NULL;
	dropipc_parent *parent = NULL;
	int master = -1, status, r;
	char buf[4096];
	ssize_t n;
	pid_t pid = -1;

	if (argc == 2 && strcmp(argv[1], "--child") == 0)
		return child();
	if (argc < 2) {
		fprintf(stderr, "usage: %s COMMAND [ARGS...]\n", argv[0]);
		return 2;
	}
	r = dropipc_args_new(&args); /* setters copy their strings */
	if (r == 0)
		r = dropipc_args_set_env_id(args, "example");
	if (r == 0)
		r = dropipc_args_set_path(args, DROPIPC_PATH_FS_ROOT, "/tmp/jail");
	if (r == 0)
		r = dropipc_args_set_net_mode(args, DROPIPC_NET_MODE_OFF);
	for (int i = 1; i < argc && r == 0; i++)
		r = dropipc_args_add_list(args, DROPIPC_LIST_EXEC_ARGS, argv[i]);
	if (r == 0) /* returns once it exec'd; msg says what failed */
		r = dropipc_spawn(&opts, &parent, &pid, NULL, msg, sizeof(msg));
	if (r < 0) {
		fprintf(stderr, "%s\n", msg[0] ? msg : dropipc_strerror(r));
		goto out;
	}
	/* ... set up the network here, then send ... */
	dropipc_conn_set_timeout(dropipc_parent_conn(parent), 10 * 1000000); /* µs */
	r = dropipc_parent_send_args(parent, args);
	if (r == 0)
		r = dropipc_parent_recv_pty(parent, &master); /* DROPIPC_ERR_DEAD if it died */
	if (r == 0)
		r = dropipc_parent_wait_exec(parent); /* 0: the command runs */
	if (r == 0) {
		/* A real launcher relays both ways with poll(); this one only reads. */
		while ((n = read(master, buf, sizeof(buf))) > 0)
			fwrite(buf, 1, (size_t)n, stdout);
	}
	if (r < 0)
		fprintf(stderr, "%s\n", dropipc_conn_get_errmsg(dropipc_parent_conn(parent)));
out:
	if (master >= 0)
		close(master);
	dropipc_parent_free(parent);
	dropipc_args_free(args);
	if (pid < 0 || waitpid(pid, &status, 0) < 0) /* the caller reaps */
		return 1;
	return r < 0 ? 1 : WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
