/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * A user of the installed package, built out of tree (with pkg-config,
 * shared and static, or with CMake's find_package): a parent and a forked
 * child go through the handshake, and the parent gets a real pty master.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <dropipc/dropipc.h>

static int child(int fd)
{
	dropipc_child *c;
	dropipc_args *args;
	size_t n;
	int master, r;

	if (dropipc_child_new(fd, &c) < 0)
		return 10;
	r = dropipc_child_recv_args(c, &args);
	if (r < 0) {
		fprintf(stderr, "consumer child: %s\n", dropipc_conn_get_errmsg(dropipc_child_conn(c)));
		return 11;
	}
	if (strcmp(dropipc_args_get_env_id(args), "consumer") != 0 ||
	    strcmp(dropipc_args_get_list(args, DROPIPC_LIST_EXEC_ARGS, &n)[0], "true") != 0 || n != 1)
		return 12;
	master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0)
		return 13;
	r = dropipc_child_send_pty(c, master);
	dropipc_args_free(args);
	dropipc_child_free(c);
	return r < 0 ? 14 : 0;
}

int main(void)
{
	dropipc_args *args;
	dropipc_parent *p;
	int child_fd, master = -1, status = 0, r;
	pid_t pid;

	r = dropipc_args_new(&args);
	if (r == 0)
		r = dropipc_args_set_env_id(args, "consumer");
	if (r == 0)
		r = dropipc_args_set_path(args, DROPIPC_PATH_CWD, "/");
	if (r == 0)
		r = dropipc_args_set_net_mode(args, DROPIPC_NET_MODE_OFF);
	if (r == 0)
		r = dropipc_args_add_list(args, DROPIPC_LIST_EXEC_ARGS, "true");
	if (r == 0)
		r = dropipc_socketpair(&p, &child_fd);
	if (r < 0) {
		fprintf(stderr, "consumer: %s\n", dropipc_strerror(r));
		return 1;
	}
	pid = fork();
	if (pid == 0) {
		close(dropipc_conn_get_fd(dropipc_parent_conn(p)));
		_exit(child(child_fd));
	}
	close(child_fd);
	dropipc_conn_set_timeout(dropipc_parent_conn(p), 10000000);
	r = dropipc_parent_send_args(p, args);
	if (r == 0)
		r = dropipc_parent_recv_pty(p, &master);
	if (r < 0)
		fprintf(stderr, "consumer: %s (%s)\n", dropipc_conn_get_errmsg(dropipc_parent_conn(p)), dropipc_err_name(r));
	dropipc_parent_free(p);
	dropipc_args_free(args);
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0) {
		fprintf(stderr, "consumer: the child failed (status 0x%x)\n", status);
		r = -1;
	}
	if (r < 0)
		return 1;
	printf("consumer: handshake done, pty master %s\n", ptsname(master));
	close(master);
	return 0;
}
