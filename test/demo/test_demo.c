/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * Tests of the demo programs: dropipc-demo runs as a real process, with
 * pipes (as in CI) or a pseudoterminal (as a user) for its terminal, with
 * the C child, a Python child and children that misbehave; and the sandbox
 * it builds, each check running a command inside it and looking at the
 * result. Needs user namespaces (else the whole runner SKIPs, exit 77);
 * `test_demo isolated` runs the pasta checks alone (SKIP without passt or
 * /dev/net/tun).
 *
 * Each test makes itself a child subreaper, so that a process the demo
 * leaves behind becomes the test's child and assert_no_leftover() sees it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sched.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dump.h"
#include "testutil.h"

/* Generous: the tests also run under sanitizers and valgrind. */
#define DEADLINE_MS 15000
#define NOT_FOUND "dropipc-demo-no-such-command"

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void become_subreaper(void)
{
	ck_assert_int_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
}

/* Every process the demo started is gone (none was reparented to us). */
static void assert_no_leftover(void)
{
	pid_t r = waitpid(-1, NULL, WNOHANG);

	ck_assert_msg(r == -1 && errno == ECHILD, "a process was left behind (waitpid: %d)", (int)r);
}

/* Waits for pid; kills it and fails if it takes longer than the deadline. */
static int wait_exit(pid_t pid, long long deadline)
{
	int status;
	pid_t r;

	while ((r = waitpid(pid, &status, WNOHANG)) == 0 && now_ms() < deadline)
		usleep(5000);
	if (r == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		ck_abort_msg("the demo did not exit: it hung");
	}
	ck_assert_int_eq(r, pid);
	return status;
}

/* ---- the demo with pipes for its stdout and stderr ----------------------- */

struct proc {
	pid_t pid;
	int fd[2]; /* stdout, stderr; -1 at EOF */
	char buf[2][65536];
	size_t len[2];
	long long deadline;
};

/* Starts the demo with pipes for stdout and stderr; stdin is input (a pipe
 * holding it, then closed), or /dev/null when input is NULL. */
static void proc_start_input(struct proc *p, char *const argv[], const char *input)
{
	int out[2], err[2], in, inpipe[2];

	memset(p, 0, sizeof(*p));
	p->deadline = now_ms() + DEADLINE_MS;
	ck_assert_int_eq(pipe2(out, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(err, O_CLOEXEC), 0);
	if (input) {
		ck_assert_int_eq(pipe2(inpipe, O_CLOEXEC), 0);
		ck_assert_uint_lt(strlen(input), 65536); /* fits the pipe */
		ck_assert_int_eq(write(inpipe[1], input, strlen(input)), (ssize_t)strlen(input));
		close(inpipe[1]);
		in = inpipe[0];
	} else {
		in = open("/dev/null", O_RDONLY | O_CLOEXEC);
	}
	ck_assert_int_ge(in, 0);
	p->pid = fork();
	ck_assert_int_ge(p->pid, 0);
	if (p->pid == 0) {
		if (dup2(in, 0) < 0 || dup2(out[1], 1) < 0 || dup2(err[1], 2) < 0)
			_exit(126);
		execv(DEMO_BIN, argv);
		_exit(127);
	}
	close(in);
	close(out[1]);
	close(err[1]);
	p->fd[0] = out[0];
	p->fd[1] = err[0];
}

static void proc_start(struct proc *p, char *const argv[])
{
	proc_start_input(p, argv, NULL);
}

/* Reads what the demo wrote until needle is in its stdout (or, needle
 * NULL, until both pipes are closed). */
static void proc_read(struct proc *p, const char *needle)
{
	while (p->fd[0] >= 0 || p->fd[1] >= 0) {
		struct pollfd pf[2] = { { .fd = p->fd[0], .events = POLLIN },
					{ .fd = p->fd[1], .events = POLLIN } };
		long long left = p->deadline - now_ms();

		if (needle && strstr(p->buf[0], needle))
			return;
		if (left <= 0 || poll(pf, 2, (int)left) == 0) {
			kill(p->pid, SIGKILL);
			waitpid(p->pid, NULL, 0);
			ck_abort_msg("no end of output from the demo; stdout: %s; stderr: %s", p->buf[0],
				     p->buf[1]);
		}
		for (int i = 0; i < 2; i++) {
			size_t room = sizeof(p->buf[i]) - 1 - p->len[i];
			ssize_t n;

			if (p->fd[i] < 0 || !pf[i].revents)
				continue;
			n = read(p->fd[i], p->buf[i] + p->len[i], room);
			if (n > 0) {
				p->len[i] += (size_t)n;
				p->buf[i][p->len[i]] = '\0';
			} else if (n == 0 || errno != EINTR) {
				close(p->fd[i]);
				p->fd[i] = -1;
			}
		}
	}
	ck_assert_msg(!needle || strstr(p->buf[0], needle), "\"%s\" not in the output: %s", needle,
		      p->buf[0]);
}

/* Reads to the end, reaps the demo and checks nothing is left behind;
 * returns the demo's wait status. */
static int proc_finish(struct proc *p)
{
	int status;

	proc_read(p, NULL);
	status = wait_exit(p->pid, p->deadline);
	assert_no_leftover();
	return status;
}

/* Runs the demo to the end, as a subreaper; returns its wait status. */
static int run(struct proc *p, char *const argv[])
{
	become_subreaper();
	proc_start(p, argv);
	return proc_finish(p);
}

static void assert_exit(int status, int code, const struct proc *p)
{
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == code,
		      "expected exit %d, got status 0x%x; stdout: %s; stderr: %s", code, status,
		      p->buf[0], p->buf[1]);
}

/* The demo failed the handshake: one line on stderr, naming it, exit 125. */
static void assert_handshake_failed(const struct proc *p, int status, const char *what)
{
	const char *e = p->buf[1];

	assert_exit(status, 125, p);
	ck_assert_msg(strncmp(e, "dropipc-demo: ", 14) == 0 && strstr(e, what),
		      "stderr does not say \"%s\": %s", what, e);
	ck_assert_msg(strchr(e, '\n') == e + strlen(e) - 1, "not one line: %s", e);
}

/* Every run keeps its state in the test's own directory. */
static char state[64];

#define DEMO(...)                                                                 \
	(char *[])                                                                \
	{                                                                         \
		DEMO_BIN, "--state", state, __VA_ARGS__, NULL                     \
	}

static void state_setup(void)
{
	snprintf(state, sizeof(state), "/tmp/dropipc-demo-test.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(state));
	test_fd_setup();
}

static void state_teardown(void)
{
	char cmd[128];

	test_fd_teardown();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", state);
	ck_assert_int_eq(system(cmd), 0);
}

START_TEST(test_command_exit_code)
{
	struct proc p;
	int status;

	status = run(&p, DEMO("--", "sh", "-c", "echo hello; echo oops >&2; exit 3"));
	assert_exit(status, 3, &p);
	/* No terminal, no pty: the pipes, stdout and stderr apart, no \r\n. */
	ck_assert_str_eq(p.buf[0], "hello\n");
	ck_assert_str_eq(p.buf[1], "oops\n");
}
END_TEST

/* The command killed by a signal (from outside: as PID 1 of its
 * namespace it cannot be killed from inside): the demo exits 128+N. */
START_TEST(test_killed_by_signal)
{
	struct proc p;
	char path[64], buf[64] = "";
	FILE *f;
	int status, child;

	become_subreaper();
	proc_start(&p, DEMO("--", "sh", "-c", "echo ready; exec sleep 30"));
	proc_read(&p, "ready");
	/* The demo's child is the sandbox's init; the command is its child. */
	child = p.pid;
	for (int gen = 0; gen < 2; gen++) {
		snprintf(path, sizeof(path), "/proc/%d/task/%d/children", child, child);
		f = fopen(path, "re");
		ck_assert_ptr_nonnull(f);
		ck_assert_ptr_nonnull(fgets(buf, sizeof(buf), f));
		fclose(f);
		child = atoi(buf);
		ck_assert_int_gt(child, 1);
	}
	ck_assert_int_eq(kill(child, SIGKILL), 0);
	status = proc_finish(&p);
	assert_exit(status, 128 + SIGKILL, &p);
}
END_TEST

/* Runs script (which prints "ready" first) in the demo, sends the demo
 * SIGTERM count times, 200 ms apart, and checks that it exits 128+want. */
static void sigterm_demo(char *script, int count, int want)
{
	struct proc p;
	int status;

	become_subreaper();
	proc_start(&p, DEMO("--", "sh", "-c", script));
	proc_read(&p, "ready");
	for (int i = 0; i < count; i++) {
		if (i)
			usleep(200 * 1000);
		ck_assert_int_eq(kill(p.pid, SIGTERM), 0);
	}
	status = proc_finish(&p);
	assert_exit(status, 128 + want, &p);
}

/* The command is PID 1 of its namespace: it gets a forwarded signal it
 * handles (one it does not handle is ignored, as for any init). */
START_TEST(test_signal_forwarded)
{
	sigterm_demo("trap 'exit 143' TERM; echo ready; while :; do sleep 0.1; done", 1, SIGTERM);
}
END_TEST

START_TEST(test_command_not_found)
{
	struct proc p;
	int status;

	status = run(&p, DEMO("--", NOT_FOUND, "arg"));
	assert_handshake_failed(&p, status, "child setup failed at exec: command " NOT_FOUND ": not found");
}
END_TEST

START_TEST(test_verbose)
{
	struct proc p;
	int status;

	status = run(&p, DEMO("-v", "--", "true"));
	assert_exit(status, 0, &p);
	ck_assert_msg(strstr(p.buf[1], "dropipc-demo: sending ChildArgs:\n    env_id="), "%s", p.buf[1]);
	ck_assert_msg(strstr(p.buf[1], "\n    exec_args[0]=true\n"), "%s", p.buf[1]);
	ck_assert_msg(strstr(p.buf[1], "dropipc-demo-child: received ChildArgs: env "), "%s",
		      p.buf[1]);
	ck_assert_msg(strstr(p.buf[1], "dropipc-demo-child: jail built"), "%s", p.buf[1]);
	ck_assert_msg(strstr(p.buf[1], "the child's exec succeeded"), "%s", p.buf[1]);
}
END_TEST

/* The child and the command see only what they should: fds 0-2, and the
 * channel as 3 for the child. The glob's own directory fd comes last. */
START_TEST(test_no_fd_leaks)
{
	static const char list[] = "for f in /proc/self/fd/*; do printf '%s ' ${f##*/}; done";
	/* The child reads the start of its arguments before it exits. */
	static const char list_then_read[] =
		"for f in /proc/self/fd/*; do printf '%s ' ${f##*/}; done; head -c 1 <&3 >/dev/null";
	struct proc p;
	int status, leak;

	leak = dup(0); /* inheritable: the demo gets it, its child must not */
	ck_assert_int_ge(leak, 0);
	/* A child that confirms nothing: its own status tells. */
	status = run(&p, DEMO("--child", "sh", "-c", (char *)list_then_read));
	assert_exit(status, 0, &p);
	ck_assert_str_eq(p.buf[0], "0 1 2 3 4 ");

	status = run(&p, DEMO("--", "sh", "-c", (char *)list));
	assert_exit(status, 0, &p);
	ck_assert_str_eq(p.buf[0], "0 1 2 3 ");
	close(leak);
}
END_TEST


/* A command that ignores SIGTERM: the second one is SIGKILL. */
START_TEST(test_second_signal_kills)
{
	sigterm_demo("trap '' TERM; echo ready; exec sleep 30", 2, SIGKILL);
}
END_TEST

/* Piped input all reaches the command, before the end of input; a last
 * line without a newline too. */
START_TEST(test_piped_input)
{
	struct proc p;
	char want[16];
	int status;

	/* Lines without a 5 in them: only wc's count can say 5. */
	proc_start_input(&p, DEMO("--", "wc", "-l"), "a\nb\nc\nd\ne\n");
	status = proc_finish(&p);
	assert_exit(status, 0, &p);
	snprintf(want, sizeof(want), "5\n");
	ck_assert_msg(strstr(p.buf[0], want), "stdout: %s", p.buf[0]);

	proc_start_input(&p, DEMO("--", "od", "-An", "-c"), "abc");
	status = proc_finish(&p);
	assert_exit(status, 0, &p);
	ck_assert_msg(strstr(p.buf[0], "a   b   c"), "stdout: %s", p.buf[0]);
}
END_TEST

/* A background job that keeps the output open after the command exits
 * does not keep the demo: it dies with the command, PID 1 of its
 * namespace, and the demo leaves with the command's status. */
START_TEST(test_background_job_keeps_pty)
{
	struct proc p;
	int status, pid = 0;
	char *at;

	become_subreaper();
	proc_start(&p, DEMO("--", "sh", "-c",
			    "trap '' HUP; sleep 30 & echo \"job=$!\"; exit 7"));
	proc_read(&p, "job=");
	proc_read(&p, NULL);
	status = wait_exit(p.pid, p.deadline);
	assert_exit(status, 7, &p);
	at = strstr(p.buf[0], "job=");
	ck_assert_ptr_nonnull(at);
	pid = atoi(at + 4);
	ck_assert_int_gt(pid, 1);
	assert_no_leftover();
}
END_TEST

/* ---- children that misbehave ---------------------------------------------- */

START_TEST(test_child_dies_first)
{
	struct proc p;
	int status;

	/* Either the arguments find the channel closed (the send fails), or
	 * the child is gone without a word: another language's child may not
	 * confirm its exec, so its own status tells. */
	status = run(&p, DEMO("--child", "sh", "-c", "exec 3>&-; exit 1"));
	if (WIFEXITED(status) && WEXITSTATUS(status) == 125)
		assert_handshake_failed(&p, status, "send args: ");
	else
		assert_exit(status, 1, &p);
}
END_TEST

START_TEST(test_child_sends_garbage)
{
	struct proc p;
	int status;

	status = run(&p, DEMO("--child", "sh", "-c",
			      "printf 'this is no frame header' >&3; exec sleep 30"));
	assert_handshake_failed(&p, status, "bad magic");
}
END_TEST

START_TEST(test_child_never_answers)
{
	struct proc p;
	int status;

	status = run(&p, DEMO("--timeout", "300", "--child", "sh", "-c", "exec sleep 30"));
	assert_handshake_failed(&p, status, "timed out after 300 ms waiting for the child's exec");
}
END_TEST

START_TEST(test_child_program_missing)
{
	struct proc p;
	int status;

	status = run(&p, DEMO("--child", NOT_FOUND));
	assert_handshake_failed(&p, status, "--child " NOT_FOUND ": not found in PATH");
}
END_TEST

START_TEST(test_bad_usage)
{
	struct proc p;
	int status;

	status = run(&p, DEMO("--timeout", "soon"));
	assert_exit(status, 2, &p);
	ck_assert_msg(strstr(p.buf[1], "--timeout soon"), "%s", p.buf[1]);
}
END_TEST

/* A child in Python that frames the protocol by hand. */
START_TEST(test_python_child)
{
	struct proc p;
	int status;

	status = run(&p, DEMO("--child", "python3", PYCHILD, "--", "sh", "-c",
			      "echo from the python child; exit 5"));
	assert_exit(status, 5, &p);
	ck_assert_msg(strstr(p.buf[0], "from the python child\n"), "stdout: %s", p.buf[0]);
}
END_TEST

/* ---- the dump -------------------------------------------------------------- */

START_TEST(test_dump_format)
{
	dropipc_args *a;
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	ck_assert_int_eq(dropipc_args_new(&a), 0);
	ck_assert_int_eq(dropipc_args_set_env_id(a, "e"), 0);
	ck_assert_int_eq(dropipc_args_add_environ_set_var(a, "N", "a\\b\nc\x01\x1f\x7f \xc3\xa9="), 0);
	ck_assert_int_eq(dropipc_args_add_mount(a, "~/docs", "~/docs", DROPIPC_MOUNT_OVERLAY), 0);
	ck_assert_int_eq(dropipc_args_add_list(a, DROPIPC_LIST_EXEC_ARGS, "ls"), 0);
	f = open_memstream(&text, &len);
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(dump_args(f, a, ""), 0);
	fclose(f);
	ck_assert_msg(strncmp(text, "env_id=e\npaths.cwd=\n", 20) == 0, "%s", text);
	ck_assert_ptr_nonnull(strstr(text, "\nconfig.extends=\n"
					   "config.mounts[0].source=~/docs\n"
					   "config.mounts[0].target=~/docs\n"
					   "config.mounts[0].rw=false\n"
					   "config.mounts[0].overlay=true\n"
					   "config.environ.set_vars[0].name=N\n"
					   "config.environ.set_vars[0].value=a\\\\b\\nc\\x01\\x1f\\x7f \xc3\xa9=\n"
					   "config.net.mode=0\n"
					   "exec_args[0]=ls\n"));
	free(text);
	dropipc_args_free(a);
}
END_TEST

/* The dump format is documented in PROTOCOL.md (installed), and its example
 * there is what dump_args() writes for the example ChildArgs. */
START_TEST(test_dump_documented)
{
	FILE *doc = fopen(PROTOCOL_MD, "re"), *f;
	char line[512], *text = NULL;
	size_t len = 0;
	bool in_section = false, in_block = false;
	int example_lines = 0;

	ck_assert_ptr_nonnull(doc);
	f = open_memstream(&text, &len);
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(dump_args(f, test_example_args(), ""), 0);
	fclose(f);
	while (fgets(line, sizeof(line), doc)) {
		if (!strncmp(line, "## ", 3))
			in_section = !strcmp(line, "## The dump format (test tooling)\n");
		else if (in_section && !strcmp(line, "```\n"))
			in_block = !in_block;
		else if (in_block) {
			ck_assert_msg(strstr(text, line) != NULL, "documented \"%s\" is not in the dump",
				      line);
			example_lines++;
		}
	}
	fclose(doc);
	free(text);
	ck_assert_msg(example_lines >= 3, "PROTOCOL.md has no dump format example (%d lines)",
		      example_lines);
}
END_TEST

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "re");
	char *text = calloc(1, 65536);
	size_t n;

	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(text);
	n = fread(text, 1, 65535, f);
	text[n] = '\0';
	fclose(f);
	return text;
}

/* The parent's and the child's dumps match. */
START_TEST(test_dump_files)
{
	char dir[] = "/tmp/dropipc-demo-test.XXXXXX", sent[64], got[64];
	struct proc p;
	char *a, *b;
	int status;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(sent, sizeof(sent), "%s/sent", dir);
	snprintf(got, sizeof(got), "%s/got", dir);
	setenv("DROPIPC_DUMP_SENT", sent, 1);
	setenv("DROPIPC_DUMP_ARGS", got, 1);
	status = run(&p, DEMO("--mount", "/nonexistent:/x:rw", "--block", "~/.ssh", "--expose", "LC_*",
			      "--set", "A=b", "--", "echo", "a\\b"));
	assert_exit(status, 0, &p);
	a = read_file(sent);
	b = read_file(got);
	unlink(sent);
	unlink(got);
	rmdir(dir);
	ck_assert_str_eq(a, b);
	ck_assert_msg(strstr(a, "\nexec_args[0]=echo\nexec_args[1]=a\\\\b\n"), "%s", a);
	ck_assert_msg(strstr(a, "\nconfig.mounts[0].rw=true\n"), "%s", a);
	unsetenv("DROPIPC_DUMP_SENT");
	unsetenv("DROPIPC_DUMP_ARGS");
	free(a);
	free(b);
}
END_TEST

/* ---- a user at a terminal --------------------------------------------------- */

/* Reads the pty until needle has come (or, needle NULL, until it closes). */
static void pty_expect(int master, char *buf, size_t cap, size_t *len, const char *needle,
		       long long deadline, pid_t pid)
{
	while (!needle || !strstr(buf, needle)) {
		struct pollfd pf = { .fd = master, .events = POLLIN };
		long long left = deadline - now_ms();
		ssize_t n;

		if (left <= 0 || poll(&pf, 1, (int)left) == 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			ck_abort_msg("waiting for \"%s\" from the terminal; got: %s",
				     needle ? needle : "the end", buf);
		}
		n = read(master, buf + *len, cap - 1 - *len);
		if (n <= 0 && (n == 0 || errno == EIO)) {
			ck_assert_msg(!needle, "the terminal closed before \"%s\": %s", needle, buf);
			return;
		}
		if (n > 0) {
			*len += (size_t)n;
			buf[*len] = '\0';
		}
	}
}

static void type(int master, const char *s)
{
	ck_assert_int_eq(write(master, s, strlen(s)), (ssize_t)strlen(s));
}

/* Runs the demo on a terminal of ours (a pty whose master we hold), as a
 * user would; returns the master, *pid the demo's. */
static int term_start_fds(char *const argv[], const struct winsize *ws, pid_t *pid, int infd,
			  int errfd);

static int term_start(char *const argv[], const struct winsize *ws, pid_t *pid)
{
	return term_start_fds(argv, ws, pid, -1, -1);
}

/* The same, with fd 0 infd and fd 2 errfd instead of the terminal (-1:
 * the terminal). */
static int term_start_fds(char *const argv[], const struct winsize *ws, pid_t *pid, int infd,
			  int errfd)
{
	char name[64];
	int master;

	become_subreaper();
	master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	ck_assert_int_ge(master, 0);
	ck_assert_int_eq(grantpt(master), 0);
	ck_assert_int_eq(unlockpt(master), 0);
	ck_assert_int_eq(ptsname_r(master, name, sizeof(name)), 0);
	ck_assert_int_eq(ioctl(master, TIOCSWINSZ, ws), 0);
	*pid = fork();
	ck_assert_int_ge(*pid, 0);
	if (*pid == 0) {
		int slave;

		/* The pty becomes our controlling terminal, as a login's would. */
		if (setsid() < 0 || (slave = open(name, O_RDWR)) < 0)
			_exit(126);
		if (dup2(infd >= 0 ? infd : slave, 0) < 0 || dup2(slave, 1) < 0 ||
		    dup2(errfd >= 0 ? errfd : slave, 2) < 0)
			_exit(126);
		execv(DEMO_BIN, argv);
		_exit(127);
	}
	return master;
}

/* The terminal is in its usual mode again: raw mode was undone. */
static void assert_cooked(int master)
{
	struct termios t;

	ck_assert_int_eq(tcgetattr(master, &t), 0);
	ck_assert(t.c_lflag & ICANON);
	ck_assert(t.c_lflag & ECHO);
}

START_TEST(test_interactive)
{
	struct winsize ws = { .ws_row = 33, .ws_col = 111 };
	long long deadline = now_ms() + DEADLINE_MS;
	char buf[65536] = "";
	size_t len = 0;
	int master, status;
	pid_t pid;

	master = term_start(DEMO("--", "sh"), &ws, &pid);
	type(master, "echo $((6*7))\r");
	pty_expect(master, buf, sizeof(buf), &len, "42\r\n", deadline, pid);
	type(master, "stty size\r");
	pty_expect(master, buf, sizeof(buf), &len, "33 111\r\n", deadline, pid);
	/* A resize reaches the demo as SIGWINCH, and the command's pty. */
	ws.ws_row = 44;
	ws.ws_col = 122;
	ck_assert_int_eq(ioctl(master, TIOCSWINSZ, &ws), 0);
	type(master, "stty size\r");
	pty_expect(master, buf, sizeof(buf), &len, "44 122\r\n", deadline, pid);
	type(master, "exit\r");
	pty_expect(master, buf, sizeof(buf), &len, NULL, deadline, pid);
	status = wait_exit(pid, deadline);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status 0x%x: %s", status, buf);
	assert_cooked(master);
	close(master);
	assert_no_leftover();
}
END_TEST

/* At a terminal with stderr redirected (`cmd 2>err.log`), the pty goes
 * only on fds 0 and 1: stderr stays a pipe, relayed apart, as in Drop
 * (test_only_terminal_fds_are_terminals_in_sandbox). */
START_TEST(test_only_terminal_fds_get_the_pty)
{
	struct winsize ws = { .ws_row = 24, .ws_col = 80 };
	long long deadline = now_ms() + DEADLINE_MS;
	char buf[65536] = "", err[4096];
	size_t len = 0;
	int master, status, p[2];
	ssize_t n;
	pid_t pid;

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	master = term_start_fds(DEMO("--", "sh", "-c",
				     "test -t 0 && echo IN-TTY; test -t 1 && echo OUT-TTY; "
				     "test -t 2 || echo ERR-PIPE; echo to-stderr >&2"),
				&ws, &pid, -1, p[1]);
	close(p[1]);
	pty_expect(master, buf, sizeof(buf), &len, NULL, deadline, pid);
	status = wait_exit(pid, deadline);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status 0x%x: %s", status, buf);
	n = read(p[0], err, sizeof(err) - 1);
	ck_assert_int_ge(n, 0);
	err[n] = '\0';
	close(p[0]);
	ck_assert_msg(strstr(buf, "IN-TTY") && strstr(buf, "OUT-TTY") && strstr(buf, "ERR-PIPE"),
		      "fds 0 and 1 a terminal, 2 not: %s", buf);
	ck_assert_msg(!strstr(buf, "to-stderr"), "stderr went to the terminal: %s", buf);
	ck_assert_str_eq(err, "to-stderr\n");
	close(master);
	assert_no_leftover();
}
END_TEST

/* Input from a pipe, output to a terminal (`producer | dropipc-demo -- cmd`):
 * stdin stays a pipe, relayed to its end; stdout and stderr get the pty;
 * the terminal is put in raw mode (one \r\n per line, not two) and back. */
START_TEST(test_piped_input_at_terminal)
{
	struct winsize ws = { .ws_row = 24, .ws_col = 80 };
	long long deadline = now_ms() + DEADLINE_MS;
	char buf[65536] = "";
	size_t len = 0;
	int master, status, p[2];
	pid_t pid;

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	ck_assert_int_eq(write(p[1], "piped-data\n", 11), 11);
	close(p[1]);
	master = term_start_fds(DEMO("--", "sh", "-c",
				     "cat; test -t 0 || echo IN-PIPE; test -t 1 && echo OUT-TTY; "
				     "test -t 2 && echo ERR-TTY"),
				&ws, &pid, p[0], -1);
	close(p[0]);
	pty_expect(master, buf, sizeof(buf), &len, NULL, deadline, pid);
	status = wait_exit(pid, deadline);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status 0x%x: %s", status, buf);
	ck_assert_msg(strstr(buf, "piped-data\r\nIN-PIPE\r\nOUT-TTY\r\nERR-TTY\r\n"), "%s", buf);
	assert_cooked(master);
	close(master);
	assert_no_leftover();
}
END_TEST


/*
 * The child is not given the user's terminal: it cannot open /dev/tty (so
 * no TIOCSTI, no termios), and what it writes shows with its escapes
 * replaced. The terminal is as it was.
 */
START_TEST(test_child_kept_off_terminal)
{
	static char hostile[] = "printf '\\033]0;pwned\\007' >&2; "
				"if stty raw </dev/tty; then echo GOT-TTY >&2; fi; exit 1";
	struct winsize ws = { .ws_row = 24, .ws_col = 80 };
	long long deadline = now_ms() + DEADLINE_MS;
	char buf[65536] = "";
	size_t len = 0;
	int master, status;
	pid_t pid;

	master = term_start(DEMO("--child", "sh", "-c", hostile), &ws, &pid);
	pty_expect(master, buf, sizeof(buf), &len, NULL, deadline, pid);
	status = wait_exit(pid, deadline);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 125, "status 0x%x: %s", status,
		      buf);
	ck_assert_msg(strstr(buf, "?]0;pwned?"), "the title escape was not replaced: %s", buf);
	ck_assert_msg(!strchr(buf, 0x1b), "an escape reached the terminal: %s", buf);
	ck_assert_msg(!strstr(buf, "GOT-TTY"), "the child opened /dev/tty: %s", buf);
	assert_cooked(master);
	close(master);
	assert_no_leftover();
}
END_TEST


/* What the child writes reaches the user's terminal through the library's
 * sanitizer: an 8-bit CSI (U+009B, a C1 control) becomes one '?'. */
START_TEST(test_child_output_c1)
{
	struct winsize ws = { .ws_row = 24, .ws_col = 80 };
	long long deadline = now_ms() + DEADLINE_MS;
	char buf[65536] = "";
	size_t len = 0;
	int master;
	pid_t pid;

	master = term_start(DEMO("--child", "sh", "-c", "printf 'a\\302\\233[31mb\\n' >&2; exit 1"),
			    &ws, &pid);
	pty_expect(master, buf, sizeof(buf), &len, NULL, deadline, pid);
	wait_exit(pid, deadline);
	ck_assert_msg(strstr(buf, "\xc2\x9b") == NULL, "C1 CSI passed through: %s", buf);
	ck_assert_msg(strstr(buf, "a?[31mb") != NULL, "not one '?' for the CSI: %s", buf);
	close(master);
	assert_no_leftover();
}
END_TEST

/* A character that a read of the child's output cuts in two arrives whole. */
START_TEST(test_child_output_utf8_split)
{
	struct winsize ws = { .ws_row = 24, .ws_col = 80 };
	long long deadline = now_ms() + DEADLINE_MS;
	static char buf[65536];
	size_t len = 0;
	int master;
	pid_t pid;

	buf[0] = '\0';
	master = term_start(DEMO("--child", "sh", "-c", "printf '%4095s\\303\\251\\n' '' >&2; exit 1"),
			    &ws, &pid);
	pty_expect(master, buf, sizeof(buf), &len, NULL, deadline, pid);
	wait_exit(pid, deadline);
	ck_assert_msg(strstr(buf, " \xc3\xa9") != NULL, "the character was cut: %s",
		      strstr(buf, "   ") ? "(spaces, no e-acute)" : buf);
	close(master);
	assert_no_leftover();
}
END_TEST

/* ---- the sandbox ------------------------------------------------------------ */

/* Runs sh -c script in the sandbox with the options before it; expects
 * exit 0 and returns stdout in p. */
#define SANDBOX(p, ...) sandbox_run(p, DEMO(__VA_ARGS__))

static void sandbox_run(struct proc *p, char *const argv[])
{
	int status = run(p, argv);

	assert_exit(status, 0, p);
}

static void host_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

static void ns_of(pid_t pid, const char *ns, char *out, size_t len)
{
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, ns);
	n = readlink(path, out, len - 1);
	ck_assert_int_gt(n, 0);
	out[n] = '\0';
}

START_TEST(test_identity)
{
	char want[256], pidns[64];
	struct proc p;

	ns_of(getpid(), "pid", pidns, sizeof(pidns));
	SANDBOX(&p, "--", "sh", "-c",
		"echo \"$(id -u) $(id -g) $$\"; readlink /proc/self/ns/pid; "
		"ps -e -o pid= | wc -l; grep NSpid /proc/self/status");
	/* PID 1 is the child, staying as the init; the command is PID 2. */
	snprintf(want, sizeof(want), "%u %u 2\n", (unsigned)getuid(), (unsigned)getgid());
	ck_assert_msg(!strncmp(p.buf[0], want, strlen(want)), "want %s, got %s", want, p.buf[0]);
	ck_assert_msg(!strstr(p.buf[0], pidns), "the host's PID namespace: %s", p.buf[0]);
	/* The init, sh, ps, wc and the subshell: nothing of the host's. */
	ck_assert_msg(strstr(p.buf[0], "\n5\n") || strstr(p.buf[0], "\n4\n"), "%s", p.buf[0]);
	ck_assert_msg(strstr(p.buf[0], "NSpid:\t"), "%s", p.buf[0]);

	SANDBOX(&p, "--root", "--", "sh", "-c", "id -u");
	ck_assert_str_eq(p.buf[0], "0\n");
}
END_TEST

/* A caller who is not root: uid 1000 outside and in, a state dir it owns. */
START_TEST(test_identity_not_root)
{
	char *argv[] = { "setpriv", "--reuid", "1000", "--regid", "1000", "--clear-groups",
			 "--inh-caps=-all", DEMO_BIN, "--state", state, "--", "sh", "-c",
			 "id -u; id -g; cat /proc/self/uid_map", NULL };
	struct proc p;
	int status, pid;

	if (getuid() != 0) {
		fprintf(stderr, "test_identity_not_root: not root, the other tests cover it\n");
		return;
	}
	ck_assert_int_eq(chown(state, 1000, 1000), 0);
	become_subreaper();
	/* setpriv is found in PATH: argv[0] of proc_start is DEMO_BIN. */
	/* Through pipes, to see the output. */
	{
		int out[2];

		ck_assert_int_eq(pipe2(out, O_CLOEXEC), 0);
		pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			int null = open("/dev/null", O_RDONLY);

			setenv("HOME", state, 1);
			if (dup2(null, 0) < 0 || dup2(out[1], 1) < 0 || dup2(out[1], 2) < 0)
				_exit(126);
			execvp("setpriv", argv);
			_exit(127);
		}
		close(out[1]);
		p.len[0] = 0;
		for (ssize_t n; (n = read(out[0], p.buf[0] + p.len[0],
					  sizeof(p.buf[0]) - 1 - p.len[0])) > 0;)
			p.len[0] += (size_t)n;
		p.buf[0][p.len[0]] = '\0';
		close(out[0]);
		status = wait_exit(pid, now_ms() + DEADLINE_MS);
	}
	assert_no_leftover();
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status 0x%x: %s", status,
		      p.buf[0]);
	ck_assert_msg(!strncmp(p.buf[0], "1000\n1000\n", 10), "%s", p.buf[0]);
	ck_assert_msg(strstr(p.buf[0], "1000       1000          1"), "%s", p.buf[0]);
}
END_TEST

START_TEST(test_files)
{
	char secret[128], ro[128], rw[128], blocked[128], etcfile[128], mnt_ro[160], mnt_rw[160],
		block_d[160], block_f[160], script[2048];
	struct proc p;

	snprintf(secret, sizeof(secret), "%s/secret", state);
	host_file(secret, "top secret\n");
	snprintf(ro, sizeof(ro), "%s/ro", state);
	snprintf(rw, sizeof(rw), "%s/rw", state);
	snprintf(blocked, sizeof(blocked), "%s/blocked", state);
	ck_assert_int_eq(mkdir(ro, 0755), 0);
	ck_assert_int_eq(mkdir(rw, 0755), 0);
	ck_assert_int_eq(mkdir(blocked, 0755), 0);
	snprintf(script, sizeof(script), "%s/file", blocked);
	host_file(script, "hidden\n");
	snprintf(script, sizeof(script), "%s/hidden-file", ro);
	host_file(script, "hidden too\n");
	snprintf(mnt_ro, sizeof(mnt_ro), "%s:/mnt/ro", ro);
	snprintf(mnt_rw, sizeof(mnt_rw), "%s:/mnt/rw:rw", rw);
	snprintf(block_d, sizeof(block_d), "/mnt/ro");
	snprintf(block_f, sizeof(block_f), "/mnt/rw/f");
	snprintf(script, sizeof(script), "%s/rw/f", state);
	host_file(script, "visible\n");
	/* A file put in the env's etc shows in /etc. */
	snprintf(etcfile, sizeof(etcfile), "%s/envs/e1/etc", state);
	snprintf(script, sizeof(script), "mkdir -p %s && echo from-env-etc > %s/demo-test.conf",
		 etcfile, etcfile);
	ck_assert_int_eq(system(script), 0);
	snprintf(script, sizeof(script),
		 "test -e %s && echo SECRET-VISIBLE; "
		 "touch /usr/x 2>&1 | grep -q 'Read-only' && echo usr-ro; "
		 "cat /etc/demo-test.conf; "
		 "echo x > /tmp/t && echo tmp-ok; echo v > /var/v && echo var-ok; "
		 "ls -A /mnt/ro 2>&1 | grep -q 'Permission denied' && echo blocked-dir; "
		 "test -s /mnt/rw/f || echo blocked-file-empty; "
		 "echo w > /mnt/rw/new && echo rw-ok",
		 secret);
	SANDBOX(&p, "--env", "e1", "--mount", mnt_ro, "--mount", mnt_rw, "--block", block_d,
		"--block", block_f, "--", "sh", "-c", script);
	ck_assert_msg(!strstr(p.buf[0], "SECRET-VISIBLE"), "%s", p.buf[0]);
	ck_assert_msg(strstr(p.buf[0], "usr-ro\n"), "%s", p.buf[0]);
	ck_assert_msg(strstr(p.buf[0], "from-env-etc\n"), "%s", p.buf[0]);
	ck_assert_msg(strstr(p.buf[0], "tmp-ok\nvar-ok\n"), "%s", p.buf[0]);
	ck_assert_msg(strstr(p.buf[0], "blocked-dir\n"), "%s", p.buf[0]);
	ck_assert_msg(strstr(p.buf[0], "blocked-file-empty\n"), "%s", p.buf[0]);
	ck_assert_msg(strstr(p.buf[0], "rw-ok\n"), "%s", p.buf[0]);
	/* The rw write is on the host; /var's went to the env, not the host. */
	snprintf(script, sizeof(script), "%s/rw/new", state);
	ck_assert_int_eq(access(script, F_OK), 0);
	snprintf(script, sizeof(script), "%s/envs/e1/var/v", state);
	ck_assert_int_eq(access(script, F_OK), 0);
	ck_assert_int_ne(access("/var/v", F_OK), 0);

	/* A read-only mount refuses a write with EROFS. */
	SANDBOX(&p, "--mount", mnt_ro, "--", "sh", "-c",
		"echo x > /mnt/ro/y 2>/dev/null || python3 -c \"import os\ntry: open('/mnt/ro/y','w')\n"
		"except OSError as e: print(os.strerror(e.errno))\"");
	ck_assert_msg(strstr(p.buf[0], "Read-only file system"), "%s", p.buf[0]);
}
END_TEST

START_TEST(test_environment)
{
	struct proc p;

	setenv("DEMO_TEST_KEEP_ME", "kept", 1);
	setenv("DEMO_TEST_DROP_ME", "dropped", 1);
	setenv("DEMO_TEST_GONE", "x", 1);
	SANDBOX(&p, "--env", "envtest", "--expose", "DEMO_TEST_KEEP_*", "--expose", "DEMO_TEST_GONE",
		"--set", "DEMO_SET=v-$DEMO_TEST_DROP_ME-${HOME}", "--set", "DEMO_TEST_GONE=", "--",
		"env");
	unsetenv("DEMO_TEST_KEEP_ME");
	unsetenv("DEMO_TEST_DROP_ME");
	unsetenv("DEMO_TEST_GONE");
	ck_assert_msg(strstr(p.buf[0], "DEMO_TEST_KEEP_ME=kept\n"), "%s", p.buf[0]);
	ck_assert_msg(!strstr(p.buf[0], "DEMO_TEST_DROP_ME"), "%s", p.buf[0]);
	ck_assert_msg(!strstr(p.buf[0], "DEMO_TEST_GONE"), "%s", p.buf[0]);
	ck_assert_msg(strstr(p.buf[0], "DEMO_SET=v-dropped-/"), "%s", p.buf[0]);
	ck_assert_msg(strstr(p.buf[0], "DROP_ENV=envtest\n"), "%s", p.buf[0]);
}
END_TEST

START_TEST(test_working_directory)
{
	char dir[128], home[128], want[160];
	struct proc p;

	/* /usr/share is in the jail: kept. */
	ck_assert_int_eq(chdir("/usr/share"), 0);
	SANDBOX(&p, "--", "pwd");
	ck_assert_str_eq(p.buf[0], "/usr/share\n");
	/* A directory of the state is not: the home (host_home) instead. */
	snprintf(dir, sizeof(dir), "%s", state);
	ck_assert_int_eq(chdir(dir), 0);
	snprintf(home, sizeof(home), "%s", getenv("HOME") ? getenv("HOME") : "/");
	SANDBOX(&p, "--", "pwd");
	ck_assert_int_eq(chdir("/"), 0);
	snprintf(want, sizeof(want), "%s\n", home);
	ck_assert_str_eq(p.buf[0], want);
}
END_TEST

/* OS strings are bytes (issue 20): an argument $'A\xff' reaches the
 * command as it is, and a Latin-1 working directory (mounted into the
 * jail) is the command's. */
START_TEST(test_non_utf8)
{
	char dir[160], mount[340], want[170];
	struct proc p;

	SANDBOX(&p, "--", "printf", "%s", "A\xff");
	ck_assert_str_eq(p.buf[0], "A\xff");
	snprintf(dir, sizeof(dir), "%s/caf\xe9", state);
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	snprintf(mount, sizeof(mount), "%s:%s", dir, dir);
	ck_assert_int_eq(chdir(dir), 0);
	SANDBOX(&p, "--mount", mount, "--", "pwd");
	ck_assert_int_eq(chdir("/"), 0);
	snprintf(want, sizeof(want), "%s\n", dir);
	ck_assert_str_eq(p.buf[0], want);
}
END_TEST

/* ChildArgs.pty: always gives the command a pty without a terminal, of
 * the size --term-size says; never gives it none at a terminal. */
START_TEST(test_pty_modes)
{
	struct winsize ws = { .ws_row = 33, .ws_col = 111 };
	long long deadline = now_ms() + DEADLINE_MS;
	char buf[65536] = "";
	size_t len = 0;
	struct proc p;
	int master, status;
	pid_t pid;

	SANDBOX(&p, "--pty", "always", "--term-size", "21x77", "--", "sh", "-c",
		"test -t 0 && test -t 1 && test -t 2 && stty size");
	ck_assert_str_eq(p.buf[0], "21 77\r\n");
	master = term_start(DEMO("--pty", "never", "--", "sh", "-c",
				 "test -t 0 || test -t 1 || echo no-terminal"),
			    &ws, &pid);
	pty_expect(master, buf, sizeof(buf), &len, "no-terminal", deadline, pid);
	pty_expect(master, buf, sizeof(buf), &len, NULL, deadline, pid);
	status = wait_exit(pid, deadline);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status 0x%x: %s", status, buf);
	close(master);
	assert_no_leftover();
}
END_TEST

START_TEST(test_network_off_unjailed)
{
	struct proc p;

	SANDBOX(&p, "--", "sh", "-c", "ls /sys/class/net");
	ck_assert_str_eq(p.buf[0], "lo\n");
	SANDBOX(&p, "--net", "unjailed", "--", "sh", "-c", "ls /sys/class/net | wc -l");
	ck_assert_msg(atoi(p.buf[0]) >= 2 || access("/sys/class/net/lo", F_OK) == 0, "%s",
		      p.buf[0]);
}
END_TEST

START_TEST(test_ports_need_isolated)
{
	struct proc p;
	int status = run(&p, DEMO("-p", "127.0.0.1:18081:80", "--", "true"));

	assert_exit(status, 2, &p);
	ck_assert_msg(strstr(p.buf[1], "needs --net isolated"), "%s", p.buf[1]);
}
END_TEST

/* Without a terminal the sandbox holds pipes: binary-exact, stdout and
 * stderr apart, and not the caller's own stdin file. */
START_TEST(test_pipes)
{
	char input[300];
	struct proc p;
	int status;

	for (int i = 0; i < 256; i++)
		input[i] = (char)(i ? i : 1);
	input[256] = '\0';
	proc_start_input(&p, DEMO("--", "sh", "-c",
				  "cat; printf '\\000\\r\\n\\377' >&2; readlink /proc/self/fd/0 >&2"),
			 input);
	status = proc_finish(&p);
	assert_exit(status, 0, &p);
	ck_assert_uint_eq(p.len[0], 256);
	ck_assert_int_eq(memcmp(p.buf[0], input, 256), 0);
	ck_assert_int_eq(memcmp(p.buf[1], "\0\r\n\377pipe:", 9), 0);
}
END_TEST

START_TEST(test_bad_mount_source)
{
	char fifo[128], spec[160];
	struct proc p;
	int status;

	snprintf(fifo, sizeof(fifo), "%s/fifo", state);
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	snprintf(spec, sizeof(spec), "%s:/mnt/fifo", fifo);
	status = run(&p, DEMO("--mount", spec, "--", "true"));
	assert_handshake_failed(&p, status, "child setup failed at jail: mount source ");
	ck_assert_msg(strstr(p.buf[1], fifo), "%s", p.buf[1]);
	/* A missing source is skipped with a notice (Drop's rule). */
	status = run(&p, DEMO("--mount", "/nonexistent/dir:/mnt/x", "--", "true"));
	assert_exit(status, 0, &p);
	ck_assert_msg(strstr(p.buf[1], "mount source /nonexistent/dir: missing, skipped"), "%s",
		      p.buf[1]);
	/* Nothing of the run is left in the state. */
	snprintf(spec, sizeof(spec), "%s/internal/run", state);
	{
		char cmd[256];

		snprintf(cmd, sizeof(cmd), "test -z \"$(ls -A %s)\"", spec);
		ck_assert_int_eq(system(cmd), 0);
	}
}
END_TEST

START_TEST(test_isolated)
{
	char hostport[64], script[1024];
	struct proc p;
	int srv, one = 1, status;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);

	/* A server on the host, reached from inside through --host-port. */
	srv = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(srv, 0);
	setsockopt(srv, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	ck_assert_int_eq(bind(srv, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(srv, 1), 0);
	ck_assert_int_eq(getsockname(srv, (struct sockaddr *)&sa, &len), 0);
	snprintf(hostport, sizeof(hostport), "%u:7777", ntohs(sa.sin_port));
	snprintf(script, sizeof(script),
		 "python3 -c \"import socket, sys, time\n"
		 "for i in range(50):\n"
		 "  try: s=socket.create_connection(('127.0.0.1',7777),5); break\n"
		 "  except OSError as e: print('connect:', e, file=sys.stderr); time.sleep(0.2)\n"
		 "s.sendall(b'from-inside'); s.close()\" && echo sent");
	become_subreaper();
	proc_start(&p, DEMO("--net", "isolated", "--host-port", hostport, "--", "sh", "-c", script));
	{
		struct pollfd pf = { .fd = srv, .events = POLLIN };
		char buf[64] = "";
		int c;

		ck_assert_msg(poll(&pf, 1, DEADLINE_MS) == 1, "no connection from the sandbox");
		c = accept4(srv, NULL, NULL, SOCK_CLOEXEC);
		ck_assert_int_ge(c, 0);
		ck_assert_int_gt(read(c, buf, sizeof(buf) - 1), 0);
		ck_assert_str_eq(buf, "from-inside");
		close(c);
	}
	status = proc_finish(&p);
	close(srv);
	assert_exit(status, 0, &p);
	ck_assert_str_eq(p.buf[0], "sent\n");
}
END_TEST

/* A server inside on guest port 8080 answers on 127.0.0.1 at the published
 * host port. */
START_TEST(test_isolated_publish)
{
	struct proc p;
	int status, c = -1;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(18089),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	char buf[64] = "";

	become_subreaper();
	proc_start(&p, DEMO("--net", "isolated", "-p", "127.0.0.1:18089:8080", "--", "python3", "-c",
			    "import socket\ns=socket.socket()\ns.setsockopt(socket.SOL_SOCKET,"
			    "socket.SO_REUSEADDR,1)\ns.bind(('0.0.0.0',8080))\ns.listen()\n"
			    "print('ready',flush=True)\nc,_=s.accept()\nc.sendall(b'from-guest')\n"
			    "c.close()"));
	proc_read(&p, "ready");
	for (int i = 0; i < 100; i++) {
		c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (connect(c, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
		    read(c, buf, sizeof(buf) - 1) > 0)
			break;
		close(c);
		c = -1;
		usleep(50 * 1000);
	}
	ck_assert_int_ge(c, 0);
	close(c);
	ck_assert_str_eq(buf, "from-guest");
	status = proc_finish(&p);
	assert_exit(status, 0, &p);
}
END_TEST

static Suite *demo_suite(bool isolated)
{
	const struct {
		const char *name;
		const TTest *tests[10];
	} cases[] = {
		{ "run",
		  { test_command_exit_code, test_killed_by_signal, test_signal_forwarded,
		    test_command_not_found, test_verbose, test_no_fd_leaks, test_bad_usage } },
		{ "children",
		  { test_child_dies_first, test_child_sends_garbage, test_child_never_answers,
		    test_child_program_missing, test_python_child } },
		{ "relay", { test_second_signal_kills, test_piped_input, test_background_job_keeps_pty,
			     test_pipes } },
		{ "dump", { test_dump_format, test_dump_files, test_dump_documented } },
		{ "terminal", { test_interactive, test_child_kept_off_terminal, test_child_output_c1,
			       test_child_output_utf8_split, test_only_terminal_fds_get_the_pty,
			       test_piped_input_at_terminal, test_pty_modes } },
		{ "sandbox",
		  { test_identity, test_identity_not_root, test_files, test_environment,
		    test_working_directory, test_network_off_unjailed, test_ports_need_isolated,
		    test_bad_mount_source, test_non_utf8 } },
	};
	const TTest *net[] = { test_isolated, test_isolated_publish };
	Suite *s = suite_create("demo");

	for (size_t i = 0; i < (isolated ? 1 : sizeof(cases) / sizeof(cases[0])); i++) {
		TCase *tc = tcase_create(isolated ? "isolated" : cases[i].name);

		tcase_add_checked_fixture(tc, state_setup, state_teardown);
		tcase_set_timeout(tc, 60);
		for (size_t k = 0; isolated ? k < 2 : k < 10 && cases[i].tests[k]; k++)
			tcase_add_test(tc, isolated ? net[k] : cases[i].tests[k]);
		suite_add_tcase(s, tc);
	}
	return s;
}

/* Whether this process can make a user namespace (the child needs one). */
static bool userns_works(void)
{
	pid_t pid = fork();
	int status;

	if (pid == 0)
		_exit(unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID) == 0 ? 0 : 1);
	return pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	       WEXITSTATUS(status) == 0;
}

int main(int argc, char **argv)
{
	bool isolated = argc > 1 && !strcmp(argv[1], "isolated");
	SRunner *sr;
	int failed, ran;

	if (!userns_works()) {
		printf("SKIP: user namespaces are not available here (the sandbox needs them)\n");
		return 77;
	}
	if (isolated && system("command -v pasta >/dev/null 2>&1") != 0) {
		printf("SKIP: pasta (Debian package passt) is not installed\n");
		return 77;
	}
	if (isolated && access("/dev/net/tun", R_OK | W_OK) != 0) {
		printf("SKIP: /dev/net/tun is not there (pasta needs it)\n");
		return 77;
	}
	sr = srunner_create(demo_suite(isolated));
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	ran = srunner_ntests_run(sr);
	srunner_free(sr);
	return failed || ran == 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
