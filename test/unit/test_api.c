/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/* Error names and texts, stage names, the fd flags of the channel, and the
 * 1.0 conventions: NULL arguments, free returning NULL, the connection
 * shared by both ends, time in microseconds. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "unit.h"

START_TEST(every_error_code_has_a_name_and_text)
{
	static const struct {
		int code;
		const char *name, *text;
	} codes[] = {
		{ DROPIPC_ERR_EOF, "DROPIPC_ERR_EOF", "end of stream" },
		{ DROPIPC_ERR_TRUNC, "DROPIPC_ERR_TRUNC", "in the middle of a frame" },
		{ DROPIPC_ERR_PROTO, "DROPIPC_ERR_PROTO", "protocol violation" },
		{ DROPIPC_ERR_TOOBIG, "DROPIPC_ERR_TOOBIG", "larger than the size limit" },
		{ DROPIPC_ERR_TIMEDOUT, "DROPIPC_ERR_TIMEDOUT", "timed out" },
		{ DROPIPC_ERR_INVALID, "DROPIPC_ERR_INVALID", "failed validation" },
		{ DROPIPC_ERR_UNSUPPORTED, "DROPIPC_ERR_UNSUPPORTED", "unsupported message type" },
		{ DROPIPC_ERR_CHILD, "DROPIPC_ERR_CHILD", "child reported a setup failure" },
		{ DROPIPC_ERR_NOTPTY, "DROPIPC_ERR_NOTPTY", "not a pseudoterminal master" },
		{ DROPIPC_ERR_CLOSED, "DROPIPC_ERR_CLOSED", "unusable after an earlier error" },
		{ DROPIPC_ERR_DEAD, "DROPIPC_ERR_DEAD", "child process died" },
		{ DROPIPC_ERR_NOEXEC, "DROPIPC_ERR_NOEXEC", "without confirming its exec" },
		{ -EPIPE, "EPIPE", "Broken pipe" },
		{ -ENOMEM, "ENOMEM", "Cannot allocate memory" },
		{ 0, "OK", "success" },
		{ 1, "UNKNOWN", "unknown error" },
		{ -5000, "UNKNOWN", "unknown error" },
	};
	size_t n = sizeof(codes) / sizeof(codes[0]), lib = 0;

	for (size_t i = 0; i < n; i++) {
		ck_assert_str_eq(dropipc_err_name(codes[i].code), codes[i].name);
		unit_assert_contains(dropipc_strerror(codes[i].code), codes[i].text);
		/* Library codes stay clear of -errno values, and their names
		 * of errno names: DROPIPC_ERR_PROTO, not DROPIPC_ERR_PROTO. */
		if (strncmp(codes[i].name, "DROPIPC_", 8) == 0) {
			ck_assert_int_lt(codes[i].code, -4000);
			ck_assert_int_eq(strncmp(codes[i].name, "DROPIPC_ERR_", 12), 0);
			for (int e = 1; e < 4000; e++)
				ck_assert_str_ne(codes[i].name + 8, dropipc_err_name(-e));
			lib++;
		}
		for (size_t j = 0; j < i; j++)
			if (codes[i].code != 1 && codes[i].code != -5000)
				ck_assert_int_ne(codes[i].code, codes[j].code);
	}
	/* The table above covers every code the header defines. */
#define COUNT(name, value, text) +1
	ck_assert_uint_eq(lib, 0 DROPIPC_ERROR_MAP(COUNT));
#undef COUNT
}
END_TEST

START_TEST(stage_names)
{
	ck_assert_str_eq(dropipc_stage_name(DROPIPC_STAGE_ARGS), "args");
	ck_assert_str_eq(dropipc_stage_name(DROPIPC_STAGE_JAIL), "jail");
	ck_assert_str_eq(dropipc_stage_name(DROPIPC_STAGE_PTY), "pty");
	ck_assert_str_eq(dropipc_stage_name(DROPIPC_STAGE_EXEC), "exec");
	ck_assert_str_eq(dropipc_stage_name(0), "unknown");
	ck_assert_str_eq(dropipc_stage_name(99), "unknown");
}
END_TEST

/* ---- fd flags ------------------------------------------------------------------ */

START_TEST(ends_are_close_on_exec)
{
	dropipc_parent *p;
	dropipc_child *c;
	dropipc_args *got;
	int sv[2], fd;

	/* Made without SOCK_CLOEXEC: adopting an fd sets the flag. */
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert(!unit_cloexec(sv[0]));
	ck_assert(!unit_cloexec(sv[1]));
	ck_assert_int_eq(dropipc_parent_new(sv[0], &p), 0);
	ck_assert_int_eq(dropipc_conn_get_fd(dropipc_parent_conn(p)), sv[0]);
	ck_assert(unit_cloexec(sv[0]));
	ck_assert_int_eq(dropipc_child_new(sv[1], &c), 0);
	ck_assert_int_eq(dropipc_conn_get_fd(dropipc_child_conn(c)), sv[1]);
	ck_assert(unit_cloexec(sv[1]));
	ck_assert_int_eq(dropipc_parent_send_args(p, test_example_args()), 0);
	ck_assert_int_eq(dropipc_child_recv_args(c, &got), 0);
	dropipc_args_free(got);
	dropipc_child_free(c);
	dropipc_parent_free(p);

	ck_assert_int_eq(dropipc_socketpair(&p, &fd), 0);
	ck_assert(unit_cloexec(fd));
	ck_assert(unit_cloexec(dropipc_conn_get_fd(dropipc_parent_conn(p))));
	close(fd);
	dropipc_parent_free(p);

	ck_assert_int_eq(unit_pair(&p, &c), 0);
	ck_assert(unit_cloexec(dropipc_conn_get_fd(dropipc_parent_conn(p))));
	ck_assert(unit_cloexec(dropipc_conn_get_fd(dropipc_child_conn(c))));
	dropipc_child_free(c);
	dropipc_parent_free(p);

	ck_assert_int_eq(dropipc_parent_new(-1, &p), -EBADF);
	ck_assert_ptr_null(p);
	ck_assert_int_eq(dropipc_child_new(-1, &c), -EBADF);
	ck_assert_ptr_null(c);
	dropipc_parent_free(NULL);
	dropipc_child_free(NULL);
}
END_TEST

/* In a forked child, as a launcher does between fork and exec. */
static int inherit_in_child(void *arg)
{
	int sv[2], flags;

	(void)arg;
	close(DROPIPC_CHILD_FD);
	/* Somewhere above fd 3, close-on-exec as the library makes it. */
	UNIT_REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	UNIT_REQUIRE(dup3(sv[0], 40, O_CLOEXEC) == 40);
	close(sv[0]);
	UNIT_REQUIRE(dropipc_child_fd_inherit(40) == 0);
	flags = fcntl(DROPIPC_CHILD_FD, F_GETFD);
	UNIT_REQUIRE(flags >= 0 && !(flags & FD_CLOEXEC));
	UNIT_REQUIRE(fcntl(40, F_GETFD) < 0 && errno == EBADF); /* moved, not copied */

	/* Already at fd 3, close-on-exec: the flag is cleared in place. */
	UNIT_REQUIRE(fcntl(DROPIPC_CHILD_FD, F_SETFD, FD_CLOEXEC) == 0);
	UNIT_REQUIRE(dropipc_child_fd_inherit(DROPIPC_CHILD_FD) == 0);
	flags = fcntl(DROPIPC_CHILD_FD, F_GETFD);
	UNIT_REQUIRE(flags >= 0 && !(flags & FD_CLOEXEC));
	UNIT_REQUIRE(dropipc_child_fd_inherit(-1) == -EBADF);

	/* And it survives exec: the shell finds its fd 3 open. */
	execl("/bin/sh", "sh", "-c", "test -e /proc/self/fd/3 || exit 7", (char *)NULL);
	return 1;
}

/* Only a Unix stream socket is adopted; the fd is closed either way. */
START_TEST(ends_adopt_only_unix_stream_sockets)
{
	dropipc_parent *p = (dropipc_parent *)1;
	dropipc_child *c = (dropipc_child *)1;
	int sv[2], pipefd[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv), 0);
	ck_assert_int_eq(dropipc_parent_new(sv[0], &p), -EPROTOTYPE);
	ck_assert_ptr_null(p);
	ck_assert_int_eq(dropipc_child_new(sv[1], &c), -EPROTOTYPE);
	ck_assert_ptr_null(c);
	ck_assert_int_eq(pipe2(pipefd, O_CLOEXEC), 0);
	ck_assert_int_eq(dropipc_parent_new(pipefd[0], &p), -ENOTSOCK);
	ck_assert_int_eq(dropipc_child_new(pipefd[1], &c), -ENOTSOCK);
	/* All four were closed: the fixture counts them. */
}
END_TEST

START_TEST(fd_inherit_moves_to_3_without_cloexec)
{
	unit_reap_ok(unit_fork(inherit_in_child, NULL));
}
END_TEST

/* One row per public call given NULL where the header says it checks: each
 * returns -EINVAL (never crashes, never blocks), whatever end it is on. */
START_TEST(null_objects_and_out_pointers_give_einval)
{
	dropipc_parent *p, *p2 = NULL;
	dropipc_child *c;
	dropipc_conn *pc, *cc;
	dropipc_file *files = NULL, one = { "f", 0 };
	dropipc_custom *custom = NULL;
	char *argv[] = { (char *)"true", NULL }, *envp[] = { NULL };
	dropipc_args *a = NULL;
	pid_t pid = 0;
	uint64_t usec;
	size_t n;
	int fd = -1, m = -1;

	ck_assert_int_eq(unit_pair(&p, &c), 0);
	pc = dropipc_parent_conn(p);
	cc = dropipc_child_conn(c);
	{
		const struct {
			const char *call;
			int r;
		} calls[] = {
#define ROW(expr) { #expr, (expr) }
			ROW(dropipc_socketpair(NULL, &fd)),
			ROW(dropipc_socketpair(&p2, NULL)),
			ROW(dropipc_parent_new(-1, NULL)),
			ROW(dropipc_child_new(-1, NULL)),
			ROW(dropipc_conn_get_fd(NULL)),
			ROW(dropipc_conn_set_timeout(NULL, 0)),
			ROW(dropipc_conn_set_max_payload(NULL, 1)),
			ROW(dropipc_conn_cancel(NULL)),
			ROW(dropipc_conn_set_close(NULL, DROPIPC_CLOSE_INLINE, NULL, NULL)),
			ROW(dropipc_conn_set_close(pc, 7, NULL, NULL)),
			ROW(dropipc_conn_set_close(pc, DROPIPC_CLOSE_CALLBACK, NULL, NULL)),
			ROW(dropipc_conn_set_nonblocking(NULL, 0)),
			ROW(dropipc_conn_set_nonblocking(pc, 2)),
			ROW(dropipc_conn_set_nonblocking(cc, -1)),
			ROW(dropipc_conn_get_events(NULL)),
			ROW(dropipc_conn_get_deadline(NULL, &usec)),
			ROW(dropipc_conn_get_deadline(pc, NULL)),
			ROW(dropipc_conn_flush(NULL)),
			ROW(dropipc_conn_send_files(NULL, &one, 1)),
			ROW(dropipc_conn_send_files(cc, NULL, 1)),
			ROW(dropipc_conn_recv_files(NULL, &files, &n)),
			ROW(dropipc_conn_recv_files(pc, NULL, &n)),
			ROW(dropipc_conn_recv_files(cc, &files, NULL)),
			ROW(dropipc_conn_send_custom(NULL, "t", NULL, 0, NULL, 0)),
			ROW(dropipc_conn_send_custom(pc, NULL, NULL, 0, NULL, 0)),
			ROW(dropipc_conn_send_custom(pc, "t", NULL, 1, NULL, 0)),
			ROW(dropipc_conn_send_custom(pc, "t", NULL, 0, NULL, 1)),
			ROW(dropipc_conn_recv_custom(NULL, &custom)),
			ROW(dropipc_conn_recv_custom(cc, NULL)),
			ROW(dropipc_args_new(NULL)),
			ROW(dropipc_args_validate(NULL, NULL, 0)),
			ROW(dropipc_spawn(NULL, &p2, &pid, NULL, NULL, 0)),
			ROW(dropipc_parent_set_pidfd(NULL, -1)),
			ROW(dropipc_parent_set_peer(NULL, 0)),
			ROW(dropipc_parent_send_args(NULL, a)),
			ROW(dropipc_parent_send_args(p, NULL)),
			ROW(dropipc_parent_recv_pty(NULL, &m)),
			ROW(dropipc_parent_recv_pty(p, NULL)),
			ROW(dropipc_parent_wait_exec(NULL)),
			ROW(dropipc_parent_get_child_error(NULL, NULL, NULL, NULL)),
			ROW(dropipc_child_recv_args(NULL, &a)),
			ROW(dropipc_child_recv_args(c, NULL)),
			ROW(dropipc_child_send_pty(NULL, 0)),
			ROW(dropipc_child_confirm_exec(NULL)),
			ROW(dropipc_child_exec_init(NULL, "/bin/true", argv, envp)),
			ROW(dropipc_child_send_error(NULL, DROPIPC_STAGE_EXEC, 0, "x")),
			ROW(dropipc_child_send_error(c, (dropipc_stage)99, 0, "x")),
			ROW(dropipc_child_send_error(c, DROPIPC_STAGE_EXEC, 0, NULL)),
#undef ROW
		};

		for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++)
			ck_assert_msg(calls[i].r == -EINVAL, "%s: %d (%s), not -EINVAL", calls[i].call,
				      calls[i].r, dropipc_err_name(calls[i].r));
	}
	/* Nothing was written where a pointer was given. */
	ck_assert_int_eq(fd, -1);
	ck_assert_ptr_null(p2);
	ck_assert_ptr_null(files);
	ck_assert_ptr_null(custom);
	ck_assert_ptr_null(a);
	ck_assert_ptr_null(dropipc_args_free(NULL));
	/* Functions that return a pointer: NULL for NULL, and errmsg "". */
	ck_assert_ptr_null(dropipc_parent_conn(NULL));
	ck_assert_ptr_null(dropipc_child_conn(NULL));
	ck_assert_str_eq(dropipc_conn_get_errmsg(NULL), "");
	ck_assert_uint_eq(dropipc_text_sanitize(NULL, 5), 0);
	/* The ends still work: nothing above touched them. */
	ck_assert_int_eq(dropipc_child_send_error(c, DROPIPC_STAGE_JAIL, 0, "after"), 0);
	ck_assert_int_eq(dropipc_parent_recv_pty(p, &m), DROPIPC_ERR_CHILD);
	ck_assert_int_eq(m, -1);
	p = dropipc_parent_free(p);
	c = dropipc_child_free(c);
}
END_TEST

/* free takes NULL and returns NULL, so `p = free(p)` twice is harmless. */
START_TEST(free_returns_null_and_is_safe_twice)
{
	dropipc_parent *p;
	dropipc_child *c;
	dropipc_args *a;

	ck_assert_int_eq(unit_pair(&p, &c), 0);
	p = dropipc_parent_free(p);
	ck_assert_ptr_null(p);
	p = dropipc_parent_free(p);
	ck_assert_ptr_null(p);
	c = dropipc_child_free(c);
	ck_assert_ptr_null(c);
	ck_assert_ptr_null(dropipc_child_free(c));
	ck_assert_int_eq(dropipc_args_new(&a), 0);
	a = dropipc_args_free(a);
	ck_assert_ptr_null(a);
	a = dropipc_args_free(a);
	ck_assert_ptr_null(a);
}
END_TEST

/* The connection is one object per end, the same for every call, and what
 * is set on it holds for the end's own calls. */
START_TEST(connection_is_shared_by_the_ends_calls)
{
	dropipc_parent *p;
	dropipc_child *c;
	dropipc_conn *pc, *cc;
	int m = -1;

	ck_assert_int_eq(unit_pair(&p, &c), 0);
	pc = dropipc_parent_conn(p);
	cc = dropipc_child_conn(c);
	ck_assert_ptr_nonnull(pc);
	ck_assert_ptr_eq(pc, dropipc_parent_conn(p));
	ck_assert_ptr_ne(pc, cc);
	ck_assert_int_ge(dropipc_conn_get_fd(pc), 0);
	ck_assert_int_ne(dropipc_conn_get_fd(pc), dropipc_conn_get_fd(cc));
	/* A role call's error shows on the connection's errmsg. */
	ck_assert_int_eq(dropipc_child_send_pty(c, -1), -EBADF);
	unit_assert_contains(dropipc_conn_get_errmsg(cc), "send pty: master fd -1");
	ck_assert_str_eq(dropipc_conn_get_errmsg(pc), "");
	/* A timeout set on the connection holds for recv_pty. */
	ck_assert_int_eq(dropipc_conn_set_timeout(pc, 0), 0);
	ck_assert_int_eq(dropipc_parent_recv_pty(p, &m), DROPIPC_ERR_TIMEDOUT);
	unit_assert_contains(dropipc_conn_get_errmsg(pc), "recv pty");
	dropipc_parent_free(p);
	dropipc_child_free(c);
}
END_TEST

/* Time is microseconds in and out: a 1 us timeout is not "at once" turned
 * into forever, and a deadline is read in the same unit. */
START_TEST(time_is_microseconds_in_and_out)
{
	dropipc_parent *p;
	dropipc_child *c;
	dropipc_conn *pc;
	dropipc_args *a = NULL;
	struct timespec ts;
	uint64_t dl, now;
	int m = -1;

	ck_assert_int_eq(unit_pair(&p, &c), 0);
	pc = dropipc_parent_conn(p);
	ck_assert_int_eq(dropipc_conn_get_deadline(pc, &dl), 0);
	ck_assert(dl == DROPIPC_TIMEOUT_INFINITE);
	ck_assert_int_eq(dropipc_conn_set_timeout(pc, DROPIPC_TIMEOUT_INFINITE), 0);
	/* Non-blocking, so that the receive leaves its deadline to read. */
	ck_assert_int_eq(dropipc_conn_set_nonblocking(pc, 1), 0);
	ck_assert_int_eq(dropipc_conn_set_timeout(pc, 30 * 1000000ull), 0);
	ck_assert_int_eq(dropipc_parent_recv_pty(p, &m), -EAGAIN);
	ck_assert_int_eq(dropipc_conn_get_deadline(pc, &dl), 0);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
	/* 30 s from the receive, in microseconds (a generous lower bound). */
	ck_assert_uint_gt(dl, now + 20 * 1000000ull);
	ck_assert_uint_le(dl, now + 30 * 1000000ull);
	/* A timeout under a millisecond still waits, then times out (on the
	 * child's end: the parent's receive above keeps its 30 s deadline). */
	ck_assert_int_eq(dropipc_conn_set_timeout(dropipc_child_conn(c), 1), 0);
	ck_assert_int_eq(dropipc_child_recv_args(c, &a), DROPIPC_ERR_TIMEDOUT);
	ck_assert_ptr_null(a);
	dropipc_parent_free(p);
	dropipc_child_free(c);
}
END_TEST

struct closed {
	int calls;
	int fifo;
};

static void close_cb(int fd, void *data)
{
	struct closed *c = data;
	struct stat st;

	c->calls++;
	if (fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode))
		c->fifo++;
	close(fd);
}

/* The close policy is set on the connection: a callback gets the fd the
 * parent rejects (a pipe sent as the pty master), inline closes it here. */
START_TEST(close_policy_on_the_connection)
{
	struct closed got = { 0, 0 };
	dropipc_parent *p;
	dropipc_child *c;
	int pipefd[2], m = -1, before = test_count_fds();

	ck_assert_int_eq(unit_pair(&p, &c), 0);
	ck_assert_int_eq(pipe2(pipefd, O_CLOEXEC), 0);
	ck_assert_int_eq(dropipc_conn_set_close(dropipc_parent_conn(p), DROPIPC_CLOSE_INLINE,
						close_cb, &got),
			 -EINVAL);
	ck_assert_int_eq(dropipc_conn_set_close(dropipc_parent_conn(p), DROPIPC_CLOSE_CALLBACK,
						close_cb, &got),
			 0);
	ck_assert_int_eq(dropipc_child_send_pty(c, pipefd[0]), 0);
	ck_assert_int_eq(dropipc_parent_recv_pty(p, &m), DROPIPC_ERR_NOTPTY);
	ck_assert_int_eq(m, -1);
	ck_assert_int_eq(got.calls, 1);
	ck_assert_int_eq(got.fifo, 1);
	/* Inline: closed in this thread, nothing left open after the call. */
	ck_assert_int_eq(dropipc_conn_set_close(dropipc_parent_conn(p), DROPIPC_CLOSE_INLINE, NULL,
						NULL),
			 0);
	ck_assert_int_eq(dropipc_child_send_pty(c, pipefd[0]), 0);
	ck_assert_int_eq(dropipc_parent_recv_pty(p, &m), DROPIPC_ERR_NOTPTY);
	ck_assert_int_eq(got.calls, 1);
	close(pipefd[0]);
	close(pipefd[1]);
	dropipc_parent_free(p);
	dropipc_child_free(c);
	ck_assert_int_eq(test_count_fds(), before);
}
END_TEST

Suite *suite_api(void)
{
	Suite *s = suite_create("api");
	TCase *tc = unit_tcase(s, "names");

	tcase_add_test(tc, every_error_code_has_a_name_and_text);
	tcase_add_test(tc, stage_names);
	tc = unit_tcase(s, "fd_flags");
	tcase_add_test(tc, ends_are_close_on_exec);
	tcase_add_test(tc, ends_adopt_only_unix_stream_sockets);
	tcase_add_test(tc, fd_inherit_moves_to_3_without_cloexec);
	tc = unit_tcase(s, "conventions");
	tcase_add_test(tc, null_objects_and_out_pointers_give_einval);
	tcase_add_test(tc, free_returns_null_and_is_safe_twice);
	tcase_add_test(tc, connection_is_shared_by_the_ends_calls);
	tcase_add_test(tc, time_is_microseconds_in_and_out);
	tcase_add_test(tc, close_policy_on_the_connection);
	return s;
}
