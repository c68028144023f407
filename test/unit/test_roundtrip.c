/* SPDX-License-Identifier: Apache-2.0 */
/* ChildArgs sent by the parent end arrive unchanged at the child end. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"

/* Sends args from one end of a pair and checks what the other receives. */
static void roundtrip_in_process(const dropipc_child_args *args)
{
	dropipc_parent *p;
	dropipc_child *c;
	dropipc_child_args *got = (dropipc_child_args *)1;

	ck_assert_int_eq(dropipc_pair(&p, &c), 0);
	ck_assert_int_eq(dropipc_parent_send_child_args(p, args), 0);
	ck_assert_int_eq(dropipc_child_recv_child_args(c, &got), 0);
	ck_assert_str_eq(dropipc_child_errmsg(c), "");
	test_assert_args_equal(args, got);
	/* Ready for execvp: a NULL after the last argument. */
	ck_assert_ptr_null(got->exec_args[got->n_exec_args]);
	dropipc_child_args_free(got);
	dropipc_child_close(c);
	dropipc_parent_close(p);
}

START_TEST(example_args_in_process)
{
	roundtrip_in_process(test_example_args());
}
END_TEST

/* The fields test_example_args() leaves at their defaults, set too. */
START_TEST(every_net_field_in_process)
{
	struct unit_args a;
	Dropipc__V1__PublishedPort udp = DROPIPC__V1__PUBLISHED_PORT__INIT, *udps[] = { &udp };
	Dropipc__V1__HostPort th = DROPIPC__V1__HOST_PORT__INIT, uh = DROPIPC__V1__HOST_PORT__INIT;
	Dropipc__V1__HostPort *ths[] = { &th }, *uhs[] = { &uh };
	char *exec[] = { "sh", "-c", "echo \"grüße\" $1", "", "日本語" };

	unit_args_init(&a);
	a.port[1].host_ip = "::1";
	a.port[0].auto_ = 1;
	a.port[0].host_port = 0;
	udp.host_ip = "127.0.0.1";
	udp.host_port = 5353;
	udp.guest_port = 53;
	th.host_port = 5432;
	th.guest_port = 5433;
	uh.auto_ = 1;
	uh.host_port = 514;
	a.net.mode = DROPIPC__V1__NET__MODE__MODE_UNJAILED;
	a.net.n_udp_published_ports = 1;
	a.net.udp_published_ports = udps;
	a.net.n_tcp_host_ports = 1;
	a.net.tcp_host_ports = ths;
	a.net.n_udp_host_ports = 1;
	a.net.udp_host_ports = uhs;
	a.args.n_exec_args = 5;
	a.args.exec_args = exec;
	roundtrip_in_process(&a.args);
}
END_TEST

/* Frames follow each other on one connection; each arrives whole. */
START_TEST(several_frames_in_process)
{
	dropipc_parent *p;
	dropipc_child *c;
	dropipc_child_args *got;
	struct unit_args a;

	unit_args_init(&a);
	a.args.env_id = "second";
	ck_assert_int_eq(dropipc_pair(&p, &c), 0);
	ck_assert_int_eq(dropipc_parent_send_child_args(p, test_example_args()), 0);
	ck_assert_int_eq(dropipc_parent_send_child_args(p, &a.args), 0);
	ck_assert_int_eq(dropipc_child_recv_child_args(c, &got), 0);
	test_assert_args_equal(test_example_args(), got);
	dropipc_child_args_free(got);
	ck_assert_int_eq(dropipc_child_recv_child_args(c, &got), 0);
	ck_assert_str_eq(got->env_id, "second");
	test_assert_args_equal(&a.args, got);
	dropipc_child_args_free(got);
	dropipc_child_args_free(NULL);
	dropipc_child_close(c);
	dropipc_parent_close(p);
}
END_TEST

/* ---- between two processes --------------------------------------------- */

struct child_ctx {
	dropipc_parent *parent; /* the parent's end, closed in the child */
	int fd;                 /* the child's end */
	const dropipc_child_args *want;
};

static int child_receives_args(void *arg)
{
	struct child_ctx *ctx = arg;
	dropipc_child *c;
	dropipc_child_args *got;

	dropipc_parent_close(ctx->parent);
	UNIT_REQUIRE(dropipc_child_new(ctx->fd, &c) == 0);
	UNIT_REQUIRE(dropipc_child_set_timeout(c, 5000) == 0);
	if (dropipc_child_recv_child_args(c, &got) != 0) {
		fprintf(stderr, "child: %s\n", dropipc_child_errmsg(c));
		return 1;
	}
	test_assert_args_equal(ctx->want, got);
	dropipc_child_args_free(got);
	dropipc_child_close(c);
	return 0;
}

static void roundtrip_two_processes(const dropipc_child_args *args)
{
	struct child_ctx ctx = { .want = args };
	dropipc_parent *p;
	pid_t pid;
	int fd;

	ck_assert_int_eq(dropipc_socketpair(&p, &ctx.fd), 0);
	ctx.parent = p;
	pid = unit_fork(child_receives_args, &ctx);
	close(ctx.fd);
	ck_assert_int_eq(dropipc_parent_set_timeout(p, 5000), 0);
	ck_assert_int_eq(dropipc_parent_send_child_args(p, args), 0);
	/* The child closes its end when done: the parent sees end of stream. */
	ck_assert_int_eq(dropipc_parent_recv_pty(p, &fd), DROPIPC_EOF);
	ck_assert_int_eq(fd, -1);
	dropipc_parent_close(p);
	unit_reap_ok(pid);
}

START_TEST(example_args_two_processes)
{
	roundtrip_two_processes(test_example_args());
}
END_TEST

/* Larger than a socket buffer: partial sends and reads on both sides. */
START_TEST(large_args_two_processes)
{
	enum { N = 4000 };
	struct unit_args a;
	char **exec = calloc(N, sizeof(*exec));
	char *text = malloc(N * 100);

	ck_assert_ptr_nonnull(exec);
	ck_assert_ptr_nonnull(text);
	unit_args_init(&a);
	for (size_t i = 0; i < N; i++) {
		exec[i] = text + i * 100;
		snprintf(exec[i], 100, "argument-%zu-%080zu", i, i);
	}
	a.args.n_exec_args = N;
	a.args.exec_args = exec;
	roundtrip_two_processes(&a.args);
	free(text);
	free(exec);
}
END_TEST

Suite *suite_roundtrip(void)
{
	Suite *s = suite_create("roundtrip");
	TCase *tc = unit_tcase(s, "in_process");

	tcase_add_test(tc, example_args_in_process);
	tcase_add_test(tc, every_net_field_in_process);
	tcase_add_test(tc, several_frames_in_process);
	tc = unit_tcase(s, "two_processes");
	tcase_add_test(tc, example_args_two_processes);
	tcase_add_test(tc, large_args_two_processes);
	return s;
}
