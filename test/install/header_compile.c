/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * The installed header as C99 and as C++17 code sees it: compiled with
 * -Wall -Wextra -Werror in both, string literals and const arrays passed to
 * the setters as they are (no casts), then run.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <dropipc/dropipc.h>

int main(void)
{
	static const char *const argv[] = { "sh", "-c", "echo hi", NULL };
	const char *source = NULL, *target = NULL, *message = "";
	unsigned int flags = 0;
	dropipc_args *a = NULL;
	dropipc_parent *p = NULL;
	dropipc_child *c = NULL;
	dropipc_args *got = NULL;
	char err[128];
	size_t n = 0;
	int child_fd = -1, r;

	r = dropipc_args_new(&a);
	if (r == 0)
		r = dropipc_args_set_env_id(a, "lit");
	if (r == 0)
		r = dropipc_args_set_path(a, DROPIPC_PATH_CWD, "/");
	if (r == 0)
		r = dropipc_args_set_extends(a, "base");
	if (r == 0)
		r = dropipc_args_add_mount(a, "~/docs", "~/docs",
					   DROPIPC_MOUNT_RW | DROPIPC_MOUNT_OVERLAY);
	if (r == 0)
		r = dropipc_args_add_list(a, DROPIPC_LIST_BLOCKED_PATHS, "/root");
	if (r == 0)
		r = dropipc_args_add_list(a, DROPIPC_LIST_ENVIRON_EXPOSED_VARS, "LC_*");
	if (r == 0)
		r = dropipc_args_add_environ_set_var(a, "PS1", "$ ");
	if (r == 0)
		r = dropipc_args_set_net_mode(a, DROPIPC_NET_MODE_ISOLATED);
	if (r == 0)
		r = dropipc_args_add_net_published_port(a, DROPIPC_TCP, "", 0, 0,
							DROPIPC_PUBLISHED_PORT_AUTO);
	if (r == 0)
		r = dropipc_args_add_net_host_port(a, DROPIPC_UDP, 53, 5353, 0);
	if (r == 0)
		r = dropipc_args_set_list(a, DROPIPC_LIST_EXEC_ARGS, argv);
	if (r == 0)
		r = dropipc_args_add_list(a, DROPIPC_LIST_EXEC_ARGS, "arg0");
	if (r == 0)
		r = dropipc_args_validate(a, err, sizeof(err));
	if (r == 0)
		r = dropipc_socketpair(&p, &child_fd);
	if (r == 0)
		r = dropipc_child_new(child_fd, &c);
	if (r == 0)
		r = dropipc_conn_set_timeout(dropipc_parent_conn(p), 5 * 1000000);
	if (r == 0)
		r = dropipc_parent_send_args(p, a);
	if (r == 0)
		r = dropipc_child_recv_args(c, &got);
	if (r == 0)
		r = dropipc_args_get_mount(got, 0, &source, &target, &flags);
	if (r == 0 && (strcmp(source, "~/docs") != 0 ||
		       strcmp(dropipc_args_get_list(got, DROPIPC_LIST_EXEC_ARGS, &n)[2], "echo hi") != 0 ||
		       n != 4))
		r = -1;
	if (r == 0 && dropipc_parent_get_child_error(p, NULL, NULL, &message) != -ENODATA)
		r = -1;
	printf("%s: %s\n", r == 0 ? "ok" : "failed", dropipc_strerror(r));
	dropipc_args_free(got);
	dropipc_args_free(a);
	c = dropipc_child_free(c);
	p = dropipc_parent_free(p);
	/* Safe twice: the pointers are NULL now. */
	dropipc_child_free(c);
	dropipc_parent_free(p);
	return r == 0 ? 0 : 1;
}
