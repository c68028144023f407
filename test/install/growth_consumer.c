/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * A program built once against the installed package, then run, not
 * rebuilt, against libraries built from a grown schema (schema_growth.sh).
 * The parent starts itself again as the child (with the channel as fd 3,
 * and LD_LIBRARY_PATH set to CHILD_LIBDIR when given), sends ChildArgs with
 * every kind of field, and the child checks each value, sends a pty,
 * confirms its exec and execs true. Exit 0 when all of it held.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <dropipc/dropipc.h>

#define FAIL(...) (fprintf(stderr, "growth_consumer: " __VA_ARGS__), fputc('\n', stderr), 1)

static int build(dropipc_args **out)
{
	static const char *const argv[] = { "true", "--flag", NULL };
	dropipc_args *a;
	int r;

	r = dropipc_args_new(&a);
	if (r < 0)
		return r;
	if ((r = dropipc_args_set_env_id(a, "growth")) < 0 ||
	    (r = dropipc_args_set_path(a, DROPIPC_PATH_FS_ROOT, "/run/root")) < 0 ||
	    (r = dropipc_args_set_path(a, DROPIPC_PATH_EMPTY_FILE, "/run/empty")) < 0 ||
	    (r = dropipc_args_set_extends(a, "base.toml")) < 0 ||
	    (r = dropipc_args_add_mount(a, "~/docs", "~/docs", DROPIPC_MOUNT_OVERLAY)) < 0 ||
	    (r = dropipc_args_add_list(a, DROPIPC_LIST_BLOCKED_PATHS, "/mnt")) < 0 ||
	    (r = dropipc_args_add_list(a, DROPIPC_LIST_ENVIRON_EXPOSED_VARS, "LC_*")) < 0 ||
	    (r = dropipc_args_add_environ_set_var(a, "FOO", "bar")) < 0 ||
	    (r = dropipc_args_set_net_mode(a, DROPIPC_NET_MODE_ISOLATED)) < 0 ||
	    (r = dropipc_args_add_net_published_port(a, DROPIPC_TCP, "127.0.0.1", 8080, 3000,
						     0)) < 0 ||
	    (r = dropipc_args_add_net_host_port(a, DROPIPC_UDP, 0, 0, DROPIPC_HOST_PORT_AUTO)) < 0 ||
	    (r = dropipc_args_set_list(a, DROPIPC_LIST_EXEC_ARGS, argv)) < 0) {
		dropipc_args_free(a);
		return r;
	}
	*out = a;
	return 0;
}

static int check(const dropipc_args *a)
{
	const char *s, *t, *ip;
	unsigned int f;
	uint32_t hp, gp;
	dropipc_net_mode mode;
	size_t n, nb, ne;
	char *const *argv = dropipc_args_get_list(a, DROPIPC_LIST_EXEC_ARGS, &n);
	char *const *blocked = dropipc_args_get_list(a, DROPIPC_LIST_BLOCKED_PATHS, &nb);
	char *const *exposed = dropipc_args_get_list(a, DROPIPC_LIST_ENVIRON_EXPOSED_VARS, &ne);

	if (strcmp(dropipc_args_get_env_id(a), "growth") != 0 ||
	    strcmp(dropipc_args_get_path(a, DROPIPC_PATH_FS_ROOT), "/run/root") != 0 ||
	    strcmp(dropipc_args_get_path(a, DROPIPC_PATH_EMPTY_FILE), "/run/empty") != 0 ||
	    strcmp(dropipc_args_get_extends(a), "base.toml") != 0)
		return FAIL("env_id, paths or extends differ");
	if (dropipc_args_get_mount(a, 1, &s, &t, &f) != -ERANGE ||
	    dropipc_args_get_mount(a, 0, &s, &t, &f) < 0 || strcmp(s, "~/docs") != 0 ||
	    strcmp(t, "~/docs") != 0 || f != DROPIPC_MOUNT_OVERLAY)
		return FAIL("mounts differ");
	if (nb != 1 || strcmp(blocked[0], "/mnt") || ne != 1 || strcmp(exposed[0], "LC_*") ||
	    dropipc_args_get_environ_set_var(a, 0, &s, &t) < 0 || strcmp(s, "FOO") || strcmp(t, "bar"))
		return FAIL("blocked paths or variables differ");
	if (dropipc_args_get_net_mode(a, &mode) < 0 || mode != DROPIPC_NET_MODE_ISOLATED ||
	    dropipc_args_get_net_published_port(a, DROPIPC_TCP, 0, &ip, &hp, &gp, &f) < 0 || f != 0 ||
	    strcmp(ip, "127.0.0.1") || hp != 8080 || gp != 3000 ||
	    dropipc_args_get_net_host_port(a, DROPIPC_UDP, 0, &hp, &gp, &f) < 0 ||
	    f != DROPIPC_HOST_PORT_AUTO ||
	    hp != 0 || gp != 0)
		return FAIL("net differs");
	if (n != 2 || strcmp(argv[0], "true") || strcmp(argv[1], "--flag") || argv[2])
		return FAIL("exec_args differ");
	return 0;
}

static int child(void)
{
	dropipc_child *c;
	dropipc_args *a = NULL;
	char *const *cmd;
	size_t n;
	int master, r;

	if (dropipc_child_new(DROPIPC_CHILD_FD, &c) < 0)
		return FAIL("child_new");
	r = dropipc_child_recv_args(c, &a);
	if (r < 0)
		return FAIL("child: %s", dropipc_conn_get_errmsg(dropipc_child_conn(c)));
	if (check(a) != 0)
		return 1;
	master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0)
		return FAIL("posix_openpt");
	if (dropipc_child_send_pty(c, master) < 0 || dropipc_child_confirm_exec(c) < 0)
		return FAIL("child: %s", dropipc_conn_get_errmsg(dropipc_child_conn(c)));
	cmd = dropipc_args_get_list(a, DROPIPC_LIST_EXEC_ARGS, &n);
	execvp(cmd[0], cmd);
	return FAIL("execvp true");
}

int main(int argc, char **argv)
{
	const char *libdir = getenv("CHILD_LIBDIR");
	dropipc_parent *p;
	dropipc_args *a;
	int child_fd, master, status, r;
	pid_t pid;

	if (argc == 2 && strcmp(argv[1], "--child") == 0)
		return child();
	if (build(&a) < 0 || dropipc_socketpair(&p, &child_fd) < 0)
		return FAIL("setup");
	pid = fork();
	if (pid == 0) {
		if (libdir)
			setenv("LD_LIBRARY_PATH", libdir, 1);
		if (dropipc_child_fd_inherit(child_fd) == 0)
			execl("/proc/self/exe", argv[0], "--child", (char *)NULL);
		_exit(127);
	}
	close(child_fd);
	dropipc_conn_set_timeout(dropipc_parent_conn(p), 10000000);
	r = pid < 0 ? -1 : dropipc_parent_send_args(p, a);
	if (r == 0 && (r = dropipc_parent_recv_pty(p, &master)) == 0) {
		close(master);
		r = dropipc_parent_wait_exec(p);
	}
	if (r < 0)
		fprintf(stderr, "growth_consumer: parent: %s\n", dropipc_conn_get_errmsg(dropipc_parent_conn(p)));
	dropipc_parent_free(p);
	dropipc_args_free(a);
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return FAIL("fork or waitpid");
	if (r < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return FAIL("handshake failed (child status 0x%x)", status);
	return 0;
}
