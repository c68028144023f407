/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/* ChildArgs sent by the parent end arrive unchanged at the child end. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"
/* The connection's buffers, to see them shrink. */
#include "conn.h"

/* Sends args from one end of a pair and checks what the other receives. */
static void roundtrip_in_process(const dropipc_args *args)
{
	dropipc_parent *p;
	dropipc_child *c;
	dropipc_args *got = (dropipc_args *)1;
	size_t n;

	ck_assert_int_eq(unit_pair(&p, &c), 0);
	ck_assert_int_eq(dropipc_parent_send_args(p, args), 0);
	ck_assert_int_eq(dropipc_child_recv_args(c, &got), 0);
	ck_assert_str_eq(dropipc_conn_get_errmsg(dropipc_child_conn(c)), "");
	test_assert_args_equal(args, got);
	/* Ready for execvp: a NULL after the last argument. */
	ck_assert_ptr_null(dropipc_args_get_list(got, DROPIPC_LIST_EXEC_ARGS, &n)[n]);
	dropipc_args_free(got);
	dropipc_child_free(c);
	dropipc_parent_free(p);
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
	ck_assert_int_eq(unit_pair(&p, &c), 0);
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
	dropipc_child_free(c);
	dropipc_parent_free(p);
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

	dropipc_parent_free(ctx->parent);
	UNIT_REQUIRE(dropipc_child_new(ctx->fd, &c) == 0);
	UNIT_REQUIRE(dropipc_conn_set_timeout(dropipc_child_conn(c), 5000000) == 0);
	if (dropipc_child_recv_args(c, &got) != 0) {
		fprintf(stderr, "child: %s\n", dropipc_conn_get_errmsg(dropipc_child_conn(c)));
		return 1;
	}
	test_assert_args_equal(ctx->want, got);
	dropipc_args_free(got);
	dropipc_child_free(c);
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
	ck_assert_int_eq(dropipc_conn_set_timeout(dropipc_parent_conn(p), 5000000), 0);
	ck_assert_int_eq(dropipc_parent_send_args(p, args), 0);
	/* The child closes its end when done: the parent sees end of stream. */
	ck_assert_int_eq(dropipc_parent_recv_pty(p, &fd), DROPIPC_ERR_EOF);
	ck_assert_int_eq(fd, -1);
	dropipc_parent_free(p);
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

/* A large frame grows the receive buffer (and the sender's queue); the
 * next, small, frame finds both back at most DROPIPC__KEEP_BUFFER. */
START_TEST(buffers_shrink_after_a_large_frame)
{
	dropipc_parent *p;
	dropipc_child *c;
	dropipc_args *a = NULL, *got = NULL;
	dropipc_file one = { "small", 0 }, *files = NULL;
	size_t big = 300 * 1024, n = 0;
	char *id = malloc(big + 1);
	const struct dropipc__conn *pc, *cc;

	ck_assert_ptr_nonnull(id);
	memset(id, 'x', big);
	id[big] = '\0';
	ck_assert_int_eq(unit_pair(&p, &c), 0);
	pc = dropipc_parent_conn(p)->c;
	cc = dropipc_child_conn(c)->c;
	ck_assert_int_eq(dropipc_args_new(&a), 0);
	ck_assert_int_eq(dropipc_args_set_env_id(a, id), 0);
	ck_assert_int_eq(dropipc_args_set_net_mode(a, DROPIPC_NET_MODE_OFF), 0);
	/* The frame is larger than the socket pair holds: both ends
	 * non-blocking, the parent flushing while the child receives. */
	ck_assert_int_eq(dropipc_conn_set_nonblocking(dropipc_parent_conn(p), 1), 0);
	ck_assert_int_eq(dropipc_conn_set_nonblocking(dropipc_child_conn(c), 1), 0);
	ck_assert_int_eq(dropipc_parent_send_args(p, a), 0);
	for (;;) {
		int r = dropipc_child_recv_args(c, &got);

		if (r == 0)
			break;
		ck_assert_int_eq(r, -EAGAIN);
		r = dropipc_conn_flush(dropipc_parent_conn(p));
		ck_assert(r == 0 || r == -EAGAIN);
	}
	ck_assert_int_eq(dropipc_conn_flush(dropipc_parent_conn(p)), 0);
	ck_assert_uint_ge(cc->recvcap, big);
	/* A small frame each way: both buffers are back under the bound. */
	ck_assert_int_eq(dropipc_conn_set_nonblocking(dropipc_parent_conn(p), 0), 0);
	ck_assert_int_eq(dropipc_conn_set_nonblocking(dropipc_child_conn(c), 0), 0);
	ck_assert_int_eq(dropipc_conn_send_files(dropipc_parent_conn(p), &one, 1), 0);
	ck_assert_int_eq(dropipc_conn_recv_files(dropipc_child_conn(c), &files, &n), 0);
	ck_assert_uint_eq(n, 1);
	close(files[0].fd);
	free(files);
	ck_assert_uint_le(cc->recvcap, DROPIPC__KEEP_BUFFER);
	ck_assert_uint_le(pc->tx.cap, DROPIPC__KEEP_BUFFER);
	dropipc_args_free(got);
	dropipc_args_free(a);
	dropipc_parent_free(p);
	dropipc_child_free(c);
	free(id);
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
	tcase_add_test(tc, buffers_shrink_after_a_large_frame);
	tc = unit_tcase(s, "two_processes");
	tcase_add_test(tc, example_args_two_processes);
	tcase_add_test(tc, large_args_two_processes);
	return s;
}
