/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * Schema evolution, C side: the C library, built from the installed schema,
 * reads frames written by evolution.py from a NEWER schema (a new ChildArgs
 * field, a new Envelope body) and from a newer protocol version.
 *
 * Usage: evolution PYTHON EVOLUTION_PY WORK (WORK from test/peers/setup.sh)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"
/* The unknown fields of the message behind the args: dropipc_internal. */
#include "internal.h"

#define TIMEOUT_MS 20000

static const char *python, *script, *work;

/* Starts `evolution.py write CASE` with the other end of a new channel on
 * fd 3; returns its pid and our end in *fd. */
static pid_t start_writer(const char *name, int *fd)
{
	int sv[2];
	pid_t pid;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (dropipc_child_fd_inherit(sv[1]) < 0)
			_exit(126);
		execl(python, python, script, "--work", work, "write", name, (char *)NULL);
		_exit(127);
	}
	close(sv[1]);
	*fd = sv[0];
	return pid;
}

/* Closes our end (so the writer sees EOF) and checks the writer succeeded. */
static void finish_writer(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		ck_assert_int_eq(errno, EINTR);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "evolution.py write: status 0x%x", status);
}

static dropipc_child *reader(const char *name, pid_t *pid)
{
	dropipc_child *ch;
	int fd;

	*pid = start_writer(name, &fd);
	ck_assert_int_eq(dropipc_child_new(fd, &ch), 0);
	ck_assert_int_eq(dropipc_conn_set_timeout(dropipc_child_conn(ch), TIMEOUT_MS * 1000), 0);
	return ch;
}

/* The next frame is refused with code and the message want. */
static void expect_refused(dropipc_child *ch, int code, const char *want)
{
	dropipc_args *args;

	ck_assert_int_eq(dropipc_child_recv_args(ch, &args), code);
	ck_assert_ptr_null(args);
	ck_assert_str_eq(dropipc_conn_get_errmsg(dropipc_child_conn(ch)), want);
}

START_TEST(new_field_skipped)
{
	const Dropipc__V1__ChildArgs *msg;
	dropipc_net_mode mode;
	size_t n;
	dropipc_args *args;
	pid_t pid;
	dropipc_child *ch = reader("new-field", &pid);

	ck_assert_int_eq(dropipc_child_recv_args(ch, &args), 0);
	ck_assert_str_eq(dropipc_args_get_env_id(args), "test-env");
	ck_assert_str_eq(dropipc_args_get_list(args, DROPIPC_LIST_EXEC_ARGS, &n)[0], "true");
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(dropipc_args_get_net_mode(args, &mode), 0);
	ck_assert_int_eq(mode, DROPIPC_NET_MODE_ISOLATED);
	/* The field this schema does not know arrived and was set aside. */
	msg = dropipc__args_msg(args);
	ck_assert_uint_eq(msg->base.n_unknown_fields, 1);
	ck_assert_uint_eq(msg->base.unknown_fields[0].tag, 99);
	dropipc_args_free(args);
	dropipc_child_free(ch);
	finish_writer(pid);
}
END_TEST

START_TEST(new_body_unsupported)
{
	dropipc_args *args;
	pid_t pid;
	dropipc_child *ch = reader("new-body", &pid);

	expect_refused(ch, DROPIPC_ERR_UNSUPPORTED,
		       "recv args: unsupported message: envelope field 9 is not known to "
		       "protocol version 1");
	/* A whole frame was refused: the stream goes on with the next one. */
	ck_assert_int_eq(dropipc_child_recv_args(ch, &args), 0);
	ck_assert_str_eq(dropipc_args_get_env_id(args), "test-env");
	dropipc_args_free(args);
	dropipc_child_free(ch);
	finish_writer(pid);
}
END_TEST

START_TEST(newer_version_refused)
{
	pid_t pid;
	dropipc_child *ch = reader("version-2", &pid);

	expect_refused(ch, DROPIPC_ERR_PROTO,
		       "recv args: peer speaks protocol version 2, this end speaks version 1");
	expect_refused(ch, DROPIPC_ERR_CLOSED,
		       "recv args: connection unusable after an earlier DROPIPC_ERR_PROTO");
	dropipc_child_free(ch);
	finish_writer(pid);
}
END_TEST

int main(int argc, char **argv)
{
	Suite *s = suite_create("evolution");
	TCase *tc = tcase_create("newer writer, older C reader");
	if (argc != 4) {
		fprintf(stderr, "usage: %s PYTHON EVOLUTION_PY WORK\n", argv[0]);
		return 2;
	}
	python = argv[1];
	script = argv[2];
	work = argv[3];
	signal(SIGPIPE, SIG_IGN);
	tcase_add_checked_fixture(tc, test_fd_setup, test_fd_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, new_field_skipped);
	tcase_add_test(tc, new_body_unsupported);
	tcase_add_test(tc, newer_version_refused);
	suite_add_tcase(s, tc);
	return test_srunner_run(srunner_create(s));
}
