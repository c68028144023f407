/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dropipc-demo: the parent. Starts a child with the channel on fd 3, sends it
 * ChildArgs, receives the pty master and relays the user's terminal through
 * it until the command exits.
 *
 * Exit status: the command's exit code, 128+N if it was killed by signal N,
 * EXIT_HANDSHAKE (125) if the handshake or the child's setup failed, and
 * EXIT_USAGE (2) for a bad command line.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <dropipc/dropipc.h>

#include "defaults.h"
#include "dump.h"
#include "fds.h"

#define PROG "dropipc-demo"
#define CHILD_PROG "dropipc-demo-child"
#define EXIT_HANDSHAKE 125
#define EXIT_USAGE 2
#define DEFAULT_TIMEOUT_MS 10000

struct opts {
	bool verbose;
	int timeout_ms;
	char **child_argv; /* NULL: the C child next to this program */
	size_t child_argc;
	char **cmd;
	size_t ncmd;
};

/* Everything the exit path has to undo. */
struct demo {
	struct opts o;
	dropipc_parent *parent;
	pid_t pid;
	bool reaped;
	int status;
	int sigfd;
	int master;
	int child_out; /* the child's stdout and stderr, before its exec */
	char carry[4];	/* the start of a UTF-8 character the last read cut */
	size_t ncarry;
	bool raw;
	bool stop; /* a deadly signal came: the next one is SIGKILL */
	struct termios saved;
};

static struct demo *g; /* for say() only */

#define LINE_MAX_BYTES 1023

/* Where to cut s (len bytes) to at most max bytes without splitting a UTF-8
 * character: back over the continuation bytes the cut would split. */
static size_t utf8_cut(const char *s, size_t len, size_t max)
{
	size_t cut = max;

	if (len <= max)
		return len;
	while (cut > 0 && max - cut < 3 && ((unsigned char)s[cut] & 0xc0) == 0x80)
		cut--;
	return cut;
}

/* How many bytes at the end of s (len bytes) start a UTF-8 character that
 * is not complete yet: 0 to 3. */
static size_t utf8_incomplete_tail(const char *s, size_t len)
{
	for (size_t back = 1; back <= 3 && back <= len; back++) {
		unsigned char c = (unsigned char)s[len - back];
		size_t need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;

		if ((c & 0xc0) != 0x80)
			return need > back ? back : 0;
	}
	return 0;
}

/*
 * A line on stderr, made safe with the library's sanitizer (it quotes text
 * from the child) and kept one line, cut at a character boundary; in raw
 * mode the terminal no longer turns \n into \r\n.
 */
__attribute__((format(printf, 1, 0))) static void vsay(const char *fmt, va_list ap)
{
	char line[LINE_MAX_BYTES + 4];
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	size_t len = n < 0 ? 0 : (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;

	len = utf8_cut(line, len, LINE_MAX_BYTES);
	len = dropipc_text_sanitize(line, len);
	for (size_t i = 0; i < len; i++)
		if (line[i] == '\n' || line[i] == '\t')
			line[i] = '?';
	fprintf(stderr, "%s: %.*s%s", PROG, (int)len, line, g && g->raw ? "\r\n" : "\n");
}

/* A line on stderr; -1, for the caller to return. */
__attribute__((format(printf, 1, 2))) static int say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay(fmt, ap);
	va_end(ap);
	return -1;
}

__attribute__((format(printf, 2, 3))) static void step(const struct demo *d, const char *fmt,
							 ...)
{
	va_list ap;

	if (!d->o.verbose)
		return;
	va_start(ap, fmt);
	vsay(fmt, ap);
	va_end(ap);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: %s [-v|--verbose] [--timeout MS] [--child PROGRAM [ARGS...]] [-- COMMAND [ARGS...]]\n"
		"Runs a child through the libdropipc handshake and relays the terminal through\n"
		"the pty it sends back. Without --child, runs %s from the same directory.\n"
		"COMMAND defaults to $SHELL, or /bin/sh.\n"
		"Exit status: the command's, 128+N if it was killed by signal N, %d if the\n"
		"handshake or the child's setup failed, %d for a bad command line.\n",
		PROG, CHILD_PROG, EXIT_HANDSHAKE, EXIT_USAGE);
}

/* A complaint about the command line; -1. */
__attribute__((format(printf, 1, 2))) static int bad_usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", PROG);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -1;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static char *shell[2];
	int i;

	o->timeout_ms = DEFAULT_TIMEOUT_MS;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
			o->verbose = true;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			exit(0);
		} else if (!strcmp(a, "--timeout")) {
			char *end;
			long ms;

			if (++i == argc)
				return bad_usage("--timeout needs a value");
			errno = 0;
			ms = strtol(argv[i], &end, 10);
			if (errno || end == argv[i] || *end || ms < 1 || ms > INT_MAX)
				return bad_usage("--timeout %s: not a number of milliseconds", argv[i]);
			o->timeout_ms = (int)ms;
		} else if (!strcmp(a, "--child")) {
			o->child_argv = &argv[i + 1];
			while (i + 1 < argc && strcmp(argv[i + 1], "--")) {
				i++;
				o->child_argc++;
			}
			if (o->child_argc == 0)
				return bad_usage("--child needs a program");
		} else if (!strcmp(a, "--")) {
			i++;
			break;
		} else {
			return bad_usage("unknown option %s", a);
		}
	}
	o->cmd = &argv[i];
	o->ncmd = (size_t)(argc - i);
	if (o->ncmd == 0) {
		const char *sh = getenv("SHELL");

		shell[0] = (char *)(sh && *sh ? sh : "/bin/sh");
		o->cmd = shell;
		o->ncmd = 1;
	}
	return 0;
}

/* The C child, next to this program (/proc/self/exe), as a path. */
static int find_sibling(char *out, size_t len)
{
	char self[PATH_MAX], *slash;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n < 0)
		return say("readlink /proc/self/exe: %s", strerror(errno));
	self[n] = '\0';
	slash = strrchr(self, '/');
	if (slash)
		*slash = '\0';
	if ((size_t)snprintf(out, len, "%s/%s", slash ? self : ".", CHILD_PROG) >= len)
		return say("%s/%s: path too long", self, CHILD_PROG);
	if (access(out, X_OK) < 0)
		return say("%s: %s", out, strerror(errno));
	return 0;
}

/* name as a path: as it is if it has a slash, else looked up in PATH. */
static int find_in_path(const char *name, char *out, size_t len)
{
	const char *path = getenv("PATH");
	size_t n;

	if (strchr(name, '/')) {
		snprintf(out, len, "%s", name);
		return 0;
	}
	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (const char *p = path;; p += n + 1) {
		int w;

		n = strcspn(p, ":");
		w = n ? snprintf(out, len, "%.*s/%s", (int)n, p, name)
		      : snprintf(out, len, "%s", name);
		if (w >= 0 && (size_t)w < len && access(out, X_OK) == 0)
			return 0;
		if (!p[n])
			break;
	}
	return say("--child %s: not found in PATH", name);
}

static int write_all(int fd, const char *buf, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, buf, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		buf += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * Starts the child with child_fd as its fd 3 and nothing else of ours. It
 * dies with us: PR_SET_PDEATHSIG, then a check that we did not die before
 * it was set (the child would have been reparented already). It is not
 * trusted with the user's terminal: no controlling terminal (so no
 * TIOCSTI, no /dev/tty), stdin from /dev/null, stdout and stderr into
 * out_fd, a pipe whose text we show with control characters replaced.
 */
static int start_child(struct demo *d, char **argv, int child_fd, int out_fd,
		       const sigset_t *oldmask)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	long max_fd = sysconf(_SC_OPEN_MAX);
	pid_t self = getpid();
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

	if (null < 0)
		return say("/dev/null: %s", strerror(errno));
	if (max_fd < 0 || max_fd > 65536)
		max_fd = 65536;
	d->pid = fork();
	if (d->pid != 0) {
		close(null);
		return d->pid < 0 ? say("fork: %s", strerror(errno)) : 0;
	}
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != self)
		_exit(EXIT_HANDSHAKE);
	sigaction(SIGPIPE, &dfl, NULL);
	sigprocmask(SIG_SETMASK, oldmask, NULL);
	if (drop_controlling_terminal() < 0 || dup2(null, STDIN_FILENO) < 0 ||
	    dup2(out_fd, STDOUT_FILENO) < 0 || dup2(out_fd, STDERR_FILENO) < 0 ||
	    dropipc_child_fd_inherit(child_fd) < 0)
		_exit(EXIT_HANDSHAKE);
	close_from(DROPIPC_CHILD_FD + 1, (int)max_fd);
	execv(argv[0], argv);
	_exit(127);
}

/*
 * Shows what the child wrote on its stdout or stderr, on ours, through the
 * library's sanitizer (control characters but newline and tab, C1 among
 * them, and bytes that are not UTF-8 become '?'), so that the child cannot
 * drive the user's terminal. A character cut by the end of a read waits for
 * the next one. Closes the pipe at its end. Returns whether there was
 * something to show.
 */
static bool show_child_output(struct demo *d)
{
	char buf[sizeof(d->carry) + 4096], line[2 * sizeof(buf)];
	ssize_t n;
	size_t len = 0, have, keep;

	memcpy(buf, d->carry, d->ncarry);
	n = read(d->child_out, buf + d->ncarry, sizeof(buf) - sizeof(d->carry));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return false;
	if (n <= 0) {
		close(d->child_out);
		d->child_out = -1;
		n = 0;
	}
	have = d->ncarry + (size_t)n;
	keep = d->child_out >= 0 ? utf8_incomplete_tail(buf, have) : 0;
	d->ncarry = keep;
	memcpy(d->carry, buf + have - keep, keep);
	have = dropipc_text_sanitize(buf, have - keep);
	for (size_t i = 0; i < have; i++) {
		if (buf[i] == '\n' && d->raw)
			line[len++] = '\r';
		line[len++] = buf[i];
	}
	if (len > 0 && write_all(STDERR_FILENO, line, len) < 0)
		step(d, "stderr: %s", strerror(errno));
	return n > 0;
}

static const char *status_text(int status, char *buf, size_t len)
{
	if (WIFSIGNALED(status))
		snprintf(buf, len, "was killed by signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	else
		snprintf(buf, len, "exited with status %d", WEXITSTATUS(status));
	return buf;
}

static void reap(struct demo *d, int flags)
{
	pid_t r;

	if (d->reaped)
		return;
	while ((r = waitpid(d->pid, &d->status, flags)) < 0 && errno == EINTR)
		;
	if (r == d->pid)
		d->reaped = true;
	if (r < 0 && errno == ECHILD)
		d->reaped = true;
}

/* Copies the window size of our terminal to the pty. */
static void copy_winsize(const struct demo *d)
{
	struct winsize ws;

	if (d->master >= 0 && ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
		ioctl(d->master, TIOCSWINSZ, &ws);
}

/* Handles the signals that arrived: forwards the deadly ones to the child. */
static void handle_signals(struct demo *d)
{
	struct signalfd_siginfo si;

	while (read(d->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGCHLD:
			reap(d, WNOHANG);
			break;
		case SIGWINCH:
			copy_winsize(d);
			break;
		default:
			step(d, "forwarding signal %u (%s) to the child", si.ssi_signo,
			     strsignal((int)si.ssi_signo));
			/* The child may ignore it, or be stopped: a second one is
			 * SIGKILL, and SIGCONT lets a stopped child see either. */
			if (!d->reaped) {
				kill(d->pid, d->stop ? SIGKILL : (int)si.ssi_signo);
				kill(d->pid, SIGCONT);
			}
			d->stop = true;
			break;
		}
	}
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Says why a send or receive on the channel failed; -1. */
static int report(const struct demo *d, int r)
{
	dropipc_stage stage;
	const char *message;

	if (r == DROPIPC_ECHILD &&
	    dropipc_parent_child_error(d->parent, &stage, NULL, &message) == 0)
		say("child setup failed at %s: %s", dropipc_stage_name(stage), message);
	else if (r == DROPIPC_EOF)
		say("the child closed the channel without sending the pty (it exited, or closed fd %d)",
		    DROPIPC_CHILD_FD);
	else if (r == -EPIPE)
		say("%s (the child closed the channel without reading it all)",
		    dropipc_parent_errmsg(d->parent));
	else
		say("%s", dropipc_parent_errmsg(d->parent));
	return -1;
}

/*
 * Waits for the pty handoff, at most timeout_ms in all, forwarding signals
 * meanwhile.
 */
static int wait_pty(struct demo *d)
{
	long long deadline = now_ms() + d->o.timeout_ms;
	struct pollfd p[3] = {
		{ .fd = dropipc_parent_fd(d->parent), .events = POLLIN },
		{ .fd = d->sigfd, .events = POLLIN },
		{ .fd = d->child_out, .events = POLLIN },
	};
	int r;

	step(d, "waiting for the pty (timeout %d ms)", d->o.timeout_ms);
	for (;;) {
		long long left = deadline - now_ms();

		if (left <= 0)
			return say("timed out after %d ms waiting for the child's pty", d->o.timeout_ms);
		p[2].fd = d->child_out;
		r = poll(p, 3, (int)left);
		if (r < 0 && errno != EINTR)
			return say("poll: %s", strerror(errno));
		if (r > 0 && p[2].revents)
			show_child_output(d);
		if (r > 0 && p[1].revents)
			handle_signals(d);
		if (r > 0 && p[0].revents)
			break;
	}
	dropipc_parent_set_timeout(d->parent, (int)(deadline - now_ms() > 0 ? deadline - now_ms() : 1));
	r = dropipc_parent_recv_pty(d->parent, &d->master);
	if (r < 0)
		return report(d, r);
	if (d->o.verbose) {
		char name[64];

		if (ptsname_r(d->master, name, sizeof(name)) != 0)
			snprintf(name, sizeof(name), "?");
		step(d, "received the pty master as fd %d (slave %s)", d->master, name);
	}
	return 0;
}

/* The channel's last word: it closes when the child's exec succeeds. */
static int exec_result(struct demo *d)
{
	int r;

	dropipc_parent_set_timeout(d->parent, d->o.timeout_ms);
	r = dropipc_parent_wait_exec(d->parent);
	if (r < 0)
		return report(d, r);
	step(d, "channel closed: the child's exec succeeded");
	return 0;
}

static void raw_mode(struct demo *d)
{
	struct termios t;

	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &d->saved) < 0)
		return;
	t = d->saved;
	cfmakeraw(&t);
	if (tcsetattr(STDIN_FILENO, TCSANOW, &t) == 0)
		d->raw = true;
}

static void restore_mode(struct demo *d)
{
	if (d->raw)
		tcsetattr(STDIN_FILENO, TCSADRAIN, &d->saved);
	d->raw = false;
}


/* Input has ended: tell the command, as a terminal would, with VEOF; after
 * a partial line the first one only ends the line, so two are sent. */
static void send_eof(const struct demo *d, bool partial_line)
{
	struct termios t;
	char eof[2];

	if (tcgetattr(d->master, &t) < 0 || !(t.c_lflag & ICANON))
		return;
	eof[0] = eof[1] = (char)t.c_cc[VEOF];
	if (write(d->master, eof, partial_line ? 2 : 1) < 0)
		step(d, "write EOF to the pty: %s", strerror(errno));
}

/*
 * Relays stdin to the pty and the pty to stdout until the pty has no
 * slave left (EIO) and the child is reaped, and reads the channel's last
 * frame meanwhile. Once the child is reaped, what the pty still holds is
 * drained and the relay ends, even if a slave is still open somewhere (a
 * background job, or a hostile child's): the user is not held hostage.
 * Returns -1 if the child reported a failure after the pty.
 */
static int relay(struct demo *d)
{
	enum { IN, PTY, CHAN, SIG, OUT, NFDS };
	struct pollfd p[NFDS] = {
		[IN] = { .fd = STDIN_FILENO, .events = POLLIN },
		[PTY] = { .fd = d->master, .events = POLLIN },
		[CHAN] = { .fd = dropipc_parent_fd(d->parent), .events = POLLIN },
		[SIG] = { .fd = d->sigfd, .events = POLLIN },
		[OUT] = { .fd = d->child_out, .events = POLLIN },
	};
	char in[4096], out[16384];
	size_t in_len = 0, in_off = 0;
	bool out_ok = true, chan_done = false, in_open = true, partial_line = false;
	int ret = 0, drained = 0;

	fcntl(d->master, F_SETFL, fcntl(d->master, F_GETFL) | O_NONBLOCK);
	raw_mode(d);
	copy_winsize(d);
	step(d, "relaying the terminal (stdin %s a terminal)", d->raw ? "is" : "is not");
	while (p[PTY].fd >= 0 || !d->reaped) {
		int n_ready;

		/* Read stdin only when what it gave us has reached the pty (a
		 * negative fd, not just no events: poll reports POLLHUP anyway). */
		p[IN].fd = in_open && !in_len ? STDIN_FILENO : -1;
		p[PTY].events = POLLIN | (in_len ? POLLOUT : 0);
		p[OUT].fd = d->child_out;
		n_ready = poll(p, NFDS, d->reaped ? 100 : -1);
		if (n_ready < 0) {
			if (errno == EINTR)
				continue;
			say("poll: %s", strerror(errno));
			ret = -1;
			break;
		}
		if (d->reaped && (n_ready == 0 || ++drained > 64))
			break;
		if (p[OUT].revents)
			show_child_output(d);
		if (p[SIG].revents)
			handle_signals(d);
		if (p[CHAN].revents) {
			chan_done = true;
			p[CHAN].fd = -1;
			if (exec_result(d) < 0) {
				ret = -1;
				/* A child that reports its failure exits by itself. */
				if (dropipc_parent_child_error(d->parent, NULL, NULL, NULL) < 0 && !d->reaped)
					kill(d->pid, SIGKILL);
			}
		}
		if (p[IN].revents) {
			ssize_t n = read(STDIN_FILENO, in, sizeof(in));

			if (n > 0) {
				in_len = (size_t)n;
				in_off = 0;
				partial_line = in[n - 1] != '\n';
			} else if (n == 0 || errno != EINTR) {
				in_open = false;
				if (p[PTY].fd >= 0)
					send_eof(d, partial_line);
			}
		}
		if (p[PTY].fd >= 0 && (p[PTY].revents & POLLOUT) && in_len) {
			ssize_t n = write(d->master, in + in_off, in_len - in_off);

			if (n > 0)
				in_off += (size_t)n;
			if (in_off == in_len || (n < 0 && errno != EAGAIN && errno != EINTR))
				in_len = 0;
		}
		if (p[PTY].fd >= 0 && (p[PTY].revents & (POLLIN | POLLHUP | POLLERR))) {
			ssize_t n = read(d->master, out, sizeof(out));

			if (n > 0 && out_ok && write_all(STDOUT_FILENO, out, (size_t)n) < 0)
				out_ok = false;
			/* EIO: the last slave fd is closed. */
			if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
				p[PTY].fd = -1;
				in_len = 0;
			}
		}
	}
	restore_mode(d);
	if (!chan_done && exec_result(d) < 0)
		ret = -1;
	return ret;
}

static int set_signals(struct demo *d, sigset_t *oldmask)
{
	struct sigaction ign = { .sa_handler = SIG_IGN };
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGWINCH);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, oldmask);
	sigaction(SIGPIPE, &ign, NULL);
	d->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (d->sigfd < 0)
		return say("signalfd: %s", strerror(errno));
	return 0;
}

/* Socket pair, child, ChildArgs. */
static int start(struct demo *d, const dropipc_args *args, const sigset_t *oldmask)
{
	static char *child_argv[256];
	char path[PATH_MAX];
	const char *dump = getenv("DROPIPC_DUMP_SENT");
	int child_fd, out[2], r;

	r = d->o.child_argv ? find_in_path(d->o.child_argv[0], path, sizeof(path))
			    : find_sibling(path, sizeof(path));
	if (r < 0)
		return -1;
	if (d->o.child_argc >= sizeof(child_argv) / sizeof(child_argv[0]) - 2)
		return say("--child: too many arguments");
	child_argv[0] = path;
	if (d->o.child_argv)
		memcpy(child_argv + 1, d->o.child_argv + 1, (d->o.child_argc - 1) * sizeof(char *));
	else if (d->o.verbose)
		child_argv[1] = "--verbose";

	r = dropipc_socketpair(&d->parent, &child_fd);
	if (r < 0)
		return say("socketpair: %s", dropipc_strerror(r));
	step(d, "socketpair: parent end fd %d, child end fd %d", dropipc_parent_fd(d->parent),
	     child_fd);
	if (pipe2(out, O_CLOEXEC) < 0) {
		close(child_fd);
		return say("pipe: %s", strerror(errno));
	}
	d->child_out = out[0];
	fcntl(d->child_out, F_SETFL, O_NONBLOCK);
	r = start_child(d, child_argv, child_fd, out[1], oldmask);
	close(child_fd);
	close(out[1]);
	if (r < 0)
		return -1;
	step(d, "started %s as pid %d, the channel on its fd %d, dying with us", path, (int)d->pid,
	     DROPIPC_CHILD_FD);

	/* Before the send, so that the child's own messages come after it. */
	if (d->o.verbose) {
		step(d, "sending ChildArgs:");
		dump_args(stderr, args, true, "    ");
	}
	dropipc_parent_set_timeout(d->parent, d->o.timeout_ms);
	r = dropipc_parent_send_args(d->parent, args);
	if (r < 0)
		return report(d, r);
	step(d, "sent ChildArgs");
	if (dump && (r = dump_to_file(dump, args, true)) < 0)
		return say("DROPIPC_DUMP_SENT=%s: %s", dump, strerror(-r));
	return 0;
}

/* With fd 0, 1 or 2 closed, the channel could land there and our messages
 * go into it: such a gap gets /dev/null. */
static void open_std_fds(void)
{
	int fd;

	while ((fd = open("/dev/null", O_RDWR)) >= 0 && fd <= STDERR_FILENO)
		;
	if (fd > STDERR_FILENO)
		close(fd);
}

int main(int argc, char **argv)
{
	struct demo d = { .pid = -1, .sigfd = -1, .master = -1, .child_out = -1 };
	dropipc_args *args = NULL;
	sigset_t oldmask;
	int ret = EXIT_HANDSHAKE, r;
	char buf[128];

	g = &d;
	open_std_fds();
	if (parse_opts(argc, argv, &d.o) < 0) {
		usage(stderr);
		return EXIT_USAGE;
	}
	r = default_args(d.o.cmd, d.o.ncmd, &args);
	if (r < 0) {
		say("the default ChildArgs: %s", strerror(-r));
		return EXIT_HANDSHAKE;
	}
	if (set_signals(&d, &oldmask) < 0 || start(&d, args, &oldmask) < 0 || wait_pty(&d) < 0)
		goto out;
	if (relay(&d) < 0)
		goto out;
	step(&d, "the child %s", status_text(d.status, buf, sizeof(buf)));
	ret = WIFSIGNALED(d.status) ? 128 + WTERMSIG(d.status) : WEXITSTATUS(d.status);
out:
	restore_mode(&d);
	if (d.pid > 0 && !d.reaped) {
		kill(d.pid, SIGKILL);
		reap(&d, 0);
	}
	/* What the child said before it went, even when we gave up on it. */
	while (d.child_out >= 0 && show_child_output(&d))
		;
	if (d.master >= 0)
		close(d.master);
	if (d.sigfd >= 0)
		close(d.sigfd);
	if (d.child_out >= 0)
		close(d.child_out);
	dropipc_parent_close(d.parent);
	dropipc_args_free(args);
	return ret;
}
