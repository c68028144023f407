/* SPDX-License-Identifier: Apache-2.0 */
/* Error names and texts, stage names, and the fd flags of the channel. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
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
		/* Library codes stay clear of -errno values. */
		if (strncmp(codes[i].name, "DROPIPC_", 8) == 0) {
			ck_assert_int_lt(codes[i].code, -4000);
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
	return s;
}
