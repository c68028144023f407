/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * dropipc_child_exec_init(), with real processes: a forked child receives
 * ChildArgs over a pair and stays as the init of a real command (sh,
 * sleep); the test is its parent. Exit statuses, a forwarded signal, an
 * orphan reaped, an exec failure reported with stage exec and nothing left.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit.h"

extern char **environ;

struct init {
	pid_t pid;	       /* the init (the forked child) */
	dropipc_parent *parent;
	int out;	       /* the command's stdout, read end */
};

/* Forks a child that receives ChildArgs (then, with gate >= 0, waits for
 * a byte on gate) and calls dropipc_child_exec_init() on argv; if that
 * returns, the child exits 99 for -want with no process left behind and
 * its signal mask as before (98: another error, 96: a process left, 95:
 * the mask changed). */
static void start_gated(struct init *in, char *const argv[], int gate, int want)
{
	dropipc_child *child;
	int p[2];

	ck_assert_int_eq(unit_pair(&in->parent, &child), 0);
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	in->pid = fork();
	ck_assert_int_ge(in->pid, 0);
	if (in->pid == 0) {
		dropipc_args *args = NULL;
		sigset_t before, after;
		char c;
		int r;

		dropipc_parent_free(in->parent);
		if (dup2(p[1], STDOUT_FILENO) < 0 || dropipc_child_recv_args(child, &args) < 0)
			_exit(97);
		while (gate >= 0 && read(gate, &c, 1) < 0 && errno == EINTR)
			;
		sigprocmask(SIG_SETMASK, NULL, &before);
		r = dropipc_child_exec_init(child, argv[0], argv, environ);
		sigprocmask(SIG_SETMASK, NULL, &after);
		if (r != -want)
			_exit(98);
		if (waitpid(-1, NULL, WNOHANG) >= 0 || errno != ECHILD)
			_exit(96);
		for (int sig = 1; sig < NSIG; sig++)
			if (sigismember(&before, sig) != sigismember(&after, sig))
				_exit(95);
		_exit(99);
	}
	dropipc_child_free(child);
	close(p[1]);
	in->out = p[0];
	ck_assert_int_eq(dropipc_parent_send_args(in->parent, test_example_args()), 0);
}

static void start(struct init *in, char *const argv[])
{
	start_gated(in, argv, -1, ENOENT);
}

/* The init's exit status; everything closed. */
static int finish(struct init *in)
{
	int status;

	ck_assert_int_eq(waitpid(in->pid, &status, 0), in->pid);
	dropipc_parent_free(in->parent);
	close(in->out);
	ck_assert_msg(WIFEXITED(status), "the init did not exit: status 0x%x", status);
	return WEXITSTATUS(status);
}

/* Reads the command's stdout until needle shows up (or EOF). */
static void read_until(int fd, const char *needle)
{
	char buf[256];
	size_t len = 0;
	ssize_t n;

	while (len < sizeof(buf) - 1 && (n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0) {
		len += (size_t)n;
		buf[len] = '\0';
		if (strstr(buf, needle))
			return;
	}
	ck_abort_msg("\"%s\" never came from the command", needle);
}

START_TEST(test_exit_status)
{
	char *const argv[] = { "/bin/sh", "-c", "exit 7", NULL };
	struct init in;

	start(&in, argv);
	/* ExecConfirm means what it says: the command was exec'd. */
	ck_assert_int_eq(dropipc_parent_wait_exec(in.parent), 0);
	ck_assert_int_eq(finish(&in), 7);
}
END_TEST

START_TEST(test_sigterm_143)
{
	char *const argv[] = { "/bin/sleep", "100", NULL };
	struct init in;

	start(&in, argv);
	ck_assert_int_eq(dropipc_parent_wait_exec(in.parent), 0);
	ck_assert_int_eq(kill(in.pid, SIGTERM), 0);
	/* sleep died of SIGTERM: 128 + 15, as tini reports it. */
	ck_assert_int_eq(finish(&in), 143);
}
END_TEST

START_TEST(test_signal_forwarded)
{
	char *const argv[] = { "/bin/sh", "-c",
			       "trap 'exit 42' USR1; echo ready; while :; do sleep 0.05; done",
			       NULL };
	struct init in;

	start(&in, argv);
	ck_assert_int_eq(dropipc_parent_wait_exec(in.parent), 0);
	read_until(in.out, "ready");
	ck_assert_int_eq(kill(in.pid, SIGUSR1), 0);
	ck_assert_int_eq(finish(&in), 42);
}
END_TEST

START_TEST(test_orphan_reaped)
{
	/* The inner sh exits at once: its sleep is an orphan, reparented to
	 * the init (a subreaper: its PPid becomes the init's). Killed, it must
	 * be reaped: a zombie keeps its /proc entry. 10 s bounds each wait. */
	char *const argv[] = {
		"/bin/sh", "-c",
		"pid=$(sh -c 'sleep 30 >/dev/null & echo $!'); i=0; "
		"until grep -q \"^PPid:[[:space:]]*$PPID\\$\" /proc/$pid/status; do "
		"i=$((i+1)); [ $i -lt 1000 ] || exit 3; sleep 0.01; done; "
		"kill $pid; i=0; "
		"while [ -e /proc/$pid ]; do i=$((i+1)); [ $i -lt 1000 ] || exit 4; sleep 0.01; done",
		NULL
	};
	struct init in;

	start(&in, argv);
	ck_assert_int_eq(dropipc_parent_wait_exec(in.parent), 0);
	ck_assert_int_eq(finish(&in), 0);
}
END_TEST

START_TEST(test_exec_failure)
{
	char *const argv[] = { "/nonexistent/dropipc-init-test", NULL };
	dropipc_stage stage;
	const char *msg;
	struct init in;
	int err;

	start(&in, argv);
	ck_assert_int_eq(dropipc_parent_wait_exec(in.parent), DROPIPC_ERR_CHILD);
	ck_assert_int_eq(dropipc_parent_get_child_error(in.parent, &stage, &err, &msg), 0);
	ck_assert_int_eq(stage, DROPIPC_STAGE_EXEC);
	ck_assert_int_eq(err, ENOENT);
	unit_assert_contains(msg, "execve /nonexistent/dropipc-init-test");
	/* 99: it returned -ENOENT, no process left, the signal mask back. */
	ck_assert_int_eq(finish(&in), 99);
}
END_TEST

/* The parent is gone before the confirmation: the command is killed and
 * reaped, and the call returns the send's error (EPIPE). */
START_TEST(test_parent_gone)
{
	char *const argv[] = { "/bin/sleep", "100", NULL };
	struct init in;
	int gate[2];

	ck_assert_int_eq(pipe2(gate, O_CLOEXEC), 0);
	start_gated(&in, argv, gate[0], EPIPE);
	close(gate[0]);
	dropipc_parent_free(in.parent);
	in.parent = NULL;
	ck_assert_int_eq(write(gate[1], "x", 1), 1);
	close(gate[1]);
	ck_assert_int_eq(finish(&in), 99);
}
END_TEST

START_TEST(test_null_args)
{
	char *const argv[] = { "/bin/true", NULL };

	ck_assert_int_eq(dropipc_child_exec_init(NULL, "/bin/true", argv, environ), -EINVAL);
}
END_TEST

Suite *suite_init(void)
{
	Suite *s = suite_create("init");
	TCase *tc = unit_tcase(s, "init");

	tcase_add_test(tc, test_exit_status);
	tcase_add_test(tc, test_sigterm_143);
	tcase_add_test(tc, test_signal_forwarded);
	tcase_add_test(tc, test_orphan_reaped);
	tcase_add_test(tc, test_exec_failure);
	tcase_add_test(tc, test_parent_gone);
	tcase_add_test(tc, test_null_args);
	return s;
}
