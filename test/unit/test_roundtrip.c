/* SPDX-License-Identifier: Apache-2.0 */
/* ChildArgs sent by the parent end arrive unchanged at the child end. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"

/* Sends args from one end of a pair and checks what the other receives. */
static void roundtrip_in_process(const dropipc_args *args)
{
	dropipc_parent *p;
	dropipc_child *c;
	dropipc_args *got = (dropipc_args *)1;
	size_t n;

	ck_assert_int_eq(dropipc_pair(&p, &c), 0);
	ck_assert_int_eq(dropipc_parent_send_args(p, args), 0);
	ck_assert_int_eq(dropipc_child_recv_args(c, &got), 0);
	ck_assert_str_eq(dropipc_child_errmsg(c), "");
	test_assert_args_equal(args, got);
	/* Ready for execvp: a NULL after the last argument. */
	ck_assert_ptr_null(dropipc_args_get_list(got, DROPIPC_LIST_EXEC_ARGS, &n)[n]);
	dropipc_args_free(got);
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
	static const char *const exec[] = { "sh", "-c", "echo \"grüße\" $1", "", "日本語", NULL };
	dropipc_args *a = test_new_example_args();

	ck_assert_int_eq(dropipc_args_add_net_published_port(a, DROPIPC_TCP, "", 0, 0, DROPIPC_PUBLISHED_PORT_AUTO),
			 0);
	ck_assert_int_eq(dropipc_args_add_net_published_port(a, DROPIPC_UDP, "127.0.0.1", 5353, 53, 0),
			 0);
	ck_assert_int_eq(dropipc_args_add_net_host_port(a, DROPIPC_TCP, 5432, 5433, 0), 0);
	ck_assert_int_eq(dropipc_args_add_net_host_port(a, DROPIPC_UDP, 0, 0, DROPIPC_HOST_PORT_AUTO), 0);
	ck_assert_int_eq(dropipc_args_set_net_mode(a, DROPIPC_NET_MODE_UNJAILED), 0);
	ck_assert_int_eq(dropipc_args_set_list(a, DROPIPC_LIST_EXEC_ARGS, exec), 0);
	roundtrip_in_process(a);
	dropipc_args_free(a);
}
END_TEST

/* No command at all: the child runs the user's shell. */
START_TEST(no_exec_args_in_process)
{
	dropipc_args *a = test_new_example_args();

	ck_assert_int_eq(dropipc_args_set_list(a, DROPIPC_LIST_EXEC_ARGS, NULL), 0);
	roundtrip_in_process(a);
	dropipc_args_free(a);
}
END_TEST

/* Frames follow each other on one connection; each arrives whole. */
START_TEST(several_frames_in_process)
{
	dropipc_parent *p;
	dropipc_child *c;
	dropipc_args *got, *a = test_new_example_args();

	ck_assert_int_eq(dropipc_args_set_env_id(a, "second"), 0);
	ck_assert_int_eq(dropipc_pair(&p, &c), 0);
	ck_assert_int_eq(dropipc_parent_send_args(p, test_example_args()), 0);
	ck_assert_int_eq(dropipc_parent_send_args(p, a), 0);
	ck_assert_int_eq(dropipc_child_recv_args(c, &got), 0);
	test_assert_args_equal(test_example_args(), got);
	dropipc_args_free(got);
	ck_assert_int_eq(dropipc_child_recv_args(c, &got), 0);
	ck_assert_str_eq(dropipc_args_get_env_id(got), "second");
	test_assert_args_equal(a, got);
	dropipc_args_free(got);
	dropipc_args_free(NULL);
	dropipc_args_free(a);
	dropipc_child_close(c);
	dropipc_parent_close(p);
}
END_TEST

/* ---- between two processes --------------------------------------------- */

struct child_ctx {
	dropipc_parent *parent; /* the parent's end, closed in the child */
	int fd;                 /* the child's end */
	const dropipc_args *want;
};

static int child_receives_args(void *arg)
{
	struct child_ctx *ctx = arg;
	dropipc_child *c;
	dropipc_args *got;

	dropipc_parent_close(ctx->parent);
	UNIT_REQUIRE(dropipc_child_new(ctx->fd, &c) == 0);
	UNIT_REQUIRE(dropipc_child_set_timeout(c, 5000) == 0);
	if (dropipc_child_recv_args(c, &got) != 0) {
		fprintf(stderr, "child: %s\n", dropipc_child_errmsg(c));
		return 1;
	}
	test_assert_args_equal(ctx->want, got);
	dropipc_args_free(got);
	dropipc_child_close(c);
	return 0;
}

static void roundtrip_two_processes(const dropipc_args *args)
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
	ck_assert_int_eq(dropipc_parent_send_args(p, args), 0);
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
	dropipc_args *a = test_new_example_args();
	char text[100];

	ck_assert_int_eq(dropipc_args_set_list(a, DROPIPC_LIST_EXEC_ARGS, NULL), 0);
	for (size_t i = 0; i < N; i++) {
		snprintf(text, sizeof(text), "argument-%zu-%080zu", i, i);
		ck_assert_int_eq(dropipc_args_add_list(a, DROPIPC_LIST_EXEC_ARGS, text), 0);
	}
	roundtrip_two_processes(a);
	dropipc_args_free(a);
}
END_TEST

Suite *suite_roundtrip(void)
{
	Suite *s = suite_create("roundtrip");
	TCase *tc = unit_tcase(s, "in_process");

	tcase_add_test(tc, example_args_in_process);
	tcase_add_test(tc, every_net_field_in_process);
	tcase_add_test(tc, no_exec_args_in_process);
	tcase_add_test(tc, several_frames_in_process);
	tc = unit_tcase(s, "two_processes");
	tcase_add_test(tc, example_args_two_processes);
	tcase_add_test(tc, large_args_two_processes);
	return s;
}
