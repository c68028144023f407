/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests of the demo programs: dropipc-demo runs as a real process, with
 * pipes (as in CI) or a pseudoterminal (as a user) for its terminal, with
 * the C child, a Python child and children that misbehave.
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
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
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

/* The same when the child wrote something too (before or after that line). */
static void assert_handshake_failed_after(const struct proc *p, int status, const char *what)
{
	assert_exit(status, 125, p);
	ck_assert_msg(strstr(p->buf[1], "dropipc-demo: ") && strstr(p->buf[1], what),
		      "stderr does not say \"%s\": %s", what, p->buf[1]);
}

#define DEMO(...)                                                                 \
	(char *[])                                                                \
	{                                                                         \
		DEMO_BIN, __VA_ARGS__, NULL                                       \
	}

START_TEST(test_command_exit_code)
{
	struct proc p;
	int status;

	status = run(&p, DEMO("--", "sh", "-c", "echo hello; exit 3"));
	assert_exit(status, 3, &p);
	/* \r\n: it came through the pty (ONLCR), not a pipe. */
	ck_assert_msg(strstr(p.buf[0], "hello\r\n"), "stdout: %s", p.buf[0]);
	ck_assert_str_eq(p.buf[1], "");
}
END_TEST

START_TEST(test_killed_by_signal)
{
	struct proc p;
	int status;

	status = run(&p, DEMO("--", "sh", "-c", "kill -KILL $$"));
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

START_TEST(test_signal_forwarded)
{
	sigterm_demo("echo ready; exec sleep 30", 1, SIGTERM);
}
END_TEST

START_TEST(test_command_not_found)
{
	struct proc p;
	int status;

	status = run(&p, DEMO("--", NOT_FOUND, "arg"));
	assert_handshake_failed(&p, status, "child setup failed at exec: execvp " NOT_FOUND ": ");
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
	ck_assert_msg(strstr(p.buf[1], "dropipc-demo: received the pty master"), "%s", p.buf[1]);
	ck_assert_msg(strstr(p.buf[1], "the child's exec succeeded"), "%s", p.buf[1]);
}
END_TEST

/* The child and the command see only what they should: fds 0-2, and the
 * channel as 3 for the child. The glob's own directory fd comes last. */
START_TEST(test_no_fd_leaks)
{
	static const char list[] = "for f in /proc/$$/fd/*; do printf '%s ' ${f##*/}; done";
	struct proc p;
	int status, leak;

	leak = dup(0); /* inheritable: the demo gets it, its child must not */
	ck_assert_int_ge(leak, 0);
	/* The child's stdout comes out, control characters replaced, on ours. */
	status = run(&p, DEMO("--child", "sh", "-c", (char *)list));
	assert_exit(status, 125, &p);
	ck_assert_str_eq(p.buf[0], "");
	ck_assert_msg(strstr(p.buf[1], "0 1 2 3 4 "), "stderr: %s", p.buf[1]);

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
	snprintf(want, sizeof(want), "5\r\n");
	ck_assert_msg(strstr(p.buf[0], want), "stdout: %s", p.buf[0]);

	proc_start_input(&p, DEMO("--", "od", "-An", "-c"), "abc");
	status = proc_finish(&p);
	assert_exit(status, 0, &p);
	ck_assert_msg(strstr(p.buf[0], "a   b   c"), "stdout: %s", p.buf[0]);
}
END_TEST

/* A background job that keeps the pty open after the command exits does
 * not keep the demo: it leaves with the command's status. */
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
	/* The job is ours to end (we are its subreaper). */
	ck_assert_int_eq(kill(pid, SIGKILL), 0);
	ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
	assert_no_leftover();
}
END_TEST

/* ---- children that misbehave ---------------------------------------------- */

START_TEST(test_child_dies_first)
{
	struct proc p;
	int status;

	status = run(&p, DEMO("--child", "sh", "-c", "exec 3>&-; exit 1"));
	assert_handshake_failed(&p, status, "the child closed the channel");
}
END_TEST

START_TEST(test_child_sends_garbage)
{
	struct proc p;
	int status;

	status = run(&p, DEMO("--child", "sh", "-c",
			      "printf 'this is no frame header' >&3; exec sleep 30"));
	assert_handshake_failed(&p, status, "recv pty: bad magic");
}
END_TEST

/* The child's output reaches the user through the library's sanitizer: an
 * 8-bit CSI (U+009B, C1) becomes one '?'. */
START_TEST(test_child_output_c1)
{
	struct proc p;
	int status;

	status = run(&p, DEMO("--child", "sh", "-c", "printf 'a\\302\\233[31mb\\n' >&2; exit 1"));
	assert_handshake_failed_after(&p, status, "the child closed the channel");
	ck_assert_msg(strstr(p.buf[1], "\xc2\x9b") == NULL, "C1 CSI passed through: %s", p.buf[1]);
	ck_assert_msg(strstr(p.buf[1], "a?[31mb\n") != NULL, "not one '?' for the CSI: %s",
		      p.buf[1]);
}
END_TEST

/* A character that a read of the child's output cuts in two arrives whole. */
START_TEST(test_child_output_utf8_split)
{
	struct proc p;
	int status;

	status = run(&p, DEMO("--child", "sh", "-c", "printf '%4095s\\303\\251\\n' '' >&2; exit 1"));
	assert_handshake_failed_after(&p, status, "the child closed the channel");
	ck_assert_msg(strstr(p.buf[1], " \xc3\xa9\n") != NULL, "the character was cut: %.80s",
		      p.buf[1] + 4090);
	ck_assert(test_utf8_valid(p.buf[1], strlen(p.buf[1])));
}
END_TEST

START_TEST(test_child_never_answers)
{
	struct proc p;
	int status;

	status = run(&p, DEMO("--timeout", "300", "--child", "sh", "-c", "exec sleep 30"));
	assert_handshake_failed(&p, status, "timed out after 300 ms waiting for the child's pty");
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
	ck_assert_msg(strstr(p.buf[0], "from the python child\r\n"), "stdout: %s", p.buf[0]);
}
END_TEST

/* ---- the dump -------------------------------------------------------------- */

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && !strcmp(s + n - k, suffix);
}

static char *dump_string(const ProtobufCMessage *m, const char *indent)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(dump_message(f, m, indent), 0);
	fclose(f);
	return text;
}

static char *args_dump_string(const dropipc_args *args, bool sent)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(dump_args(f, args, sent, ""), 0);
	fclose(f);
	return text;
}

/* The dump format is documented in the installed PROTOCOL.md, and its
 * example there is what dump_message() writes. */
START_TEST(test_dump_documented)
{
	FILE *f = fopen(PROTOCOL_MD, "re");
	char line[512], *text;
	bool in_section = false, in_block = false;
	int example_lines = 0;

	ck_assert_ptr_nonnull(f);
	text = args_dump_string(test_example_args(), false);
	while (fgets(line, sizeof(line), f)) {
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
	fclose(f);
	free(text);
	ck_assert_msg(example_lines >= 3, "PROTOCOL.md has no dump format example (%d lines)",
		      example_lines);
}
END_TEST

START_TEST(test_dump_format)
{
	Dropipc__V1__SetVar v = DROPIPC__V1__SET_VAR__INIT;
	Dropipc__V1__Config c = DROPIPC__V1__CONFIG__INIT;
	char *text;

	v.name = "a\\b\nc\x01\x1f\x7f \xc3\xa9=";
	text = dump_string(&v.base, "");
	ck_assert_str_eq(text, "name=a\\\\b\\nc\\x01\\x1f\\x7f \xc3\xa9=\nvalue=\n");
	free(text);

	/* Absent submessages and empty repeated fields print nothing. */
	c.extends = "";
	text = dump_string(&c.base, "  ");
	ck_assert_str_eq(text, "  extends=\n");
	free(text);

	text = args_dump_string(test_example_args(), false);
	ck_assert_msg(strncmp(text, "env_id=test-env\npaths.cwd=/home/alice/", 38) == 0, "%s", text);
	ck_assert_ptr_nonnull(strstr(text, "\nconfig.extends=base\n"
					   "config.mounts[0].source=~/docs\n"
					   "config.mounts[0].target=~/docs\n"
					   "config.mounts[0].rw=false\n"
					   "config.mounts[0].overlay=true\n"));
	ck_assert_ptr_nonnull(strstr(text, "\nconfig.environ.set_vars[0].name=FOO\n"
					   "config.environ.set_vars[0].value=bar\n"
					   "config.net.mode=2\n"
					   "config.net.tcp_published_ports[0].auto=false\n"
					   "config.net.tcp_published_ports[0].host_ip=\n"
					   "config.net.tcp_published_ports[0].host_port=8080\n"));
	ck_assert_msg(ends_with(text, "\nexec_args[0]=ls\nexec_args[1]=-al\nconfirm_exec=false\n"),
		      "%s", text);
	free(text);

	/* As sent: the library always asks the child to confirm its exec. */
	text = args_dump_string(test_example_args(), true);
	ck_assert_msg(ends_with(text, "\nexec_args[1]=-al\nconfirm_exec=true\n"), "%s", text);
	free(text);
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

/* Some line of the dump for field `key` (its path without [N]) has a value
 * other than the default. */
static bool has_value(const char *dump, const char *key)
{
	for (const char *line = dump; *line; line = strchr(line, '\n') + 1) {
		const char *eq = strchr(line, '='), *end = strchr(line, '\n');
		char path[256];
		size_t n = 0;

		for (const char *s = line; s < eq && n < sizeof(path) - 1; s++) {
			if (*s == '[')
				s = strchr(s, ']');
			else
				path[n++] = *s;
		}
		path[n] = '\0';
		if (!strcmp(path, key) && end - eq > 1 && strncmp(eq, "=false\n", 7) &&
		    strncmp(eq, "=0\n", 3))
			return true;
	}
	return false;
}

/* Every scalar field of desc, at any depth, has a non-default value. */
static void assert_every_field(const char *dump, const ProtobufCMessageDescriptor *desc,
			       const char *prefix)
{
	for (unsigned i = 0; i < desc->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &desc->fields[i];
		char key[256];

		snprintf(key, sizeof(key), "%s%s", prefix, f->name);
		if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
			strcat(key, ".");
			assert_every_field(dump, f->descriptor, key);
		} else {
			ck_assert_msg(has_value(dump, key), "%s is never set in the default args", key);
		}
	}
}

/* The parent's and the child's dumps of the default ChildArgs match and
 * cover every field of the schema. */
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
	status = run(&p, DEMO("--", "echo", "a\\b"));
	assert_exit(status, 0, &p);
	a = read_file(sent);
	b = read_file(got);
	unlink(sent);
	unlink(got);
	rmdir(dir);
	ck_assert_str_eq(a, b);
	ck_assert_msg(strstr(a, "\nexec_args[0]=echo\nexec_args[1]=a\\\\b\n"), "%s", a);
	assert_every_field(a, &dropipc__v1__child_args__descriptor, "");
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
static int term_start(char *const argv[], const struct winsize *ws, pid_t *pid)
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
		if (dup2(slave, 0) < 0 || dup2(slave, 1) < 0 || dup2(slave, 2) < 0)
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

static Suite *demo_suite(void)
{
	const struct {
		const char *name;
		const TTest *tests[8];
	} cases[] = {
		{ "run",
		  { test_command_exit_code, test_killed_by_signal, test_signal_forwarded,
		    test_command_not_found, test_verbose, test_no_fd_leaks, test_bad_usage } },
		{ "children",
		  { test_child_dies_first, test_child_sends_garbage, test_child_never_answers,
		    test_child_program_missing, test_python_child, test_child_output_c1,
		    test_child_output_utf8_split } },
		{ "relay", { test_second_signal_kills, test_piped_input, test_background_job_keeps_pty } },
		{ "dump", { test_dump_format, test_dump_files, test_dump_documented } },
		{ "terminal", { test_interactive, test_child_kept_off_terminal } },
	};
	Suite *s = suite_create("demo");

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		TCase *tc = tcase_create(cases[i].name);

		tcase_add_checked_fixture(tc, test_fd_setup, test_fd_teardown);
		tcase_set_timeout(tc, 60);
		for (size_t k = 0; k < 8 && cases[i].tests[k]; k++)
			tcase_add_test(tc, cases[i].tests[k]);
		suite_add_tcase(s, tc);
	}
	return s;
}

int main(void)
{
	return test_srunner_run(srunner_create(demo_suite()));
}
