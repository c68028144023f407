/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * dropipc-demo: Drop's launcher in C. Lays out Drop's state under a state
 * directory, starts dropipc-demo-child with dropipc_spawn() in new
 * namespaces, starts pasta for isolated networking, sends ChildArgs and
 * relays the command's input and output until it exits: through pipes
 * (binary-exact, stdout and stderr apart) without a terminal, through the
 * pty the child sends back at one. One epoll loop drives everything: the
 * channel (non-blocking), the child's pidfd, a signalfd, pasta and the
 * relay's fds.
 *
 * Exit status: the command's exit code, 128+N if it was killed by signal N,
 * EXIT_SETUP (125) if the setup or the handshake failed, EXIT_USAGE (2) for
 * a bad command line.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "dump.h"
#include "fds.h"
#include "parent.h"

#define CHILD_PROG "dropipc-demo-child"
#define EXIT_SETUP 125
#define EXIT_USAGE 2
#define DEFAULT_TIMEOUT_MS 10000
/* How often the pid file pasta writes when the network is up is looked at. */
#define PASTA_POLL_MS 10

/* Variables a command needs to feel at home, kept unless --no-default-vars. */
static const char *const default_vars[] = { "PATH", "HOME",	 "USER", "LOGNAME", "SHELL",
					    "TERM", "COLORTERM", "LANG", "LC_*" };

struct opts {
	bool verbose, root, default_vars;
	int timeout_ms;
	char **child_argv; /* NULL: the C child next to this program */
	size_t child_argc;
	const char *state, *env_id;
	bool ports; /* some -p or --host-port */
	dropipc_pty_mode pty; /* --pty */
	bool term_size;	      /* --term-size given */
};

enum phase { NET, SEND, PTY, EXEC, RUN };

/* What epoll hands back: which fd is ready. */
enum tag { T_CHAN, T_PIDFD, T_SIG, T_PASTA, T_IN, T_CHILD_IN, T_OUT, T_ERR, T_MASTER, T_MSG };

struct demo {
	struct opts o;
	dropipc_args *a;
	dropipc_parent *parent;
	pid_t pid;
	int pidfd;
	bool reaped;
	int status; /* wait status, once reaped */
	int ep, sigfd;
	enum phase phase;
	bool tty;	/* a terminal: the child sends a pty */
	bool failed;	/* the setup failed: exit EXIT_SETUP */
	bool stop;	/* a deadly signal came: the next one is SIGKILL */
	int master;	/* tty: the pty master */
	int term;	/* tty: our fd 0-2 that the pty's output goes to */
	int msg;	/* tty: the child's own stdout and stderr, shown sanitized */
	char carry[4];	/* the start of a UTF-8 character the last read cut */
	size_t ncarry;
	int child_in;	/* pipes: the command's stdin, our end */
	int out, err;	/* pipes: the command's stdout and stderr, our ends */
	bool in_open, in_pollable, partial_line;
	char in[65536];
	size_t in_len, in_off;
	bool raw;
	struct termios saved;
	struct pasta pasta;
	long long pasta_deadline;
	char run[PATH_MAX];
};

static struct demo *g; /* for say() only */

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

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
 * A line on stderr, made safe with the library's sanitizer (it may quote
 * text from the child) and kept one line, cut at a character boundary; in
 * raw mode the terminal no longer turns \n into \r\n.
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

int say(const char *fmt, ...)
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
		"usage: %s [OPTIONS] [-- COMMAND [ARGS...]]\n"
		"Runs COMMAND (default: $SHELL, or /bin/sh) in Drop's sandbox: its own user, mount,\n"
		"PID, IPC, UTS and cgroup namespaces, a root of read-only system directories, the\n"
		"environment's own home (at your home's path), /etc overlay, /var and /tmp.\n"
		"  -v, --verbose           each step, and the ChildArgs sent, on stderr\n"
		"  --state DIR             state directory (default $XDG_DATA_HOME/dropipc-demo,\n"
		"                          or ~/.local/share/dropipc-demo)\n"
		"  --env ID                environment id (default: from the working directory)\n"
		"  --root                  be uid 0 in the sandbox (default: your own uid)\n"
		"  --net off|isolated|unjailed   network: only lo (default), pasta, or the host's\n"
		"  --mount SRC:DST[:rw|:overlay]  bind SRC at DST, read-only unless rw (~: home)\n"
		"  --block PATH            hide PATH (an empty dir or file over it)\n"
		"  --expose PATTERN        keep the host variables matching PATTERN (e.g. 'LC_*')\n"
		"  --no-default-vars       do not keep PATH HOME USER LOGNAME SHELL TERM COLORTERM\n"
		"                          LANG LC_* by default\n"
		"  --set NAME=VALUE        set NAME ($VAR expanded; an empty VALUE removes it)\n"
		"  -p, --publish [HOSTIP:]HOSTPORT:GUESTPORT[/udp]   publish a sandbox port\n"
		"                          (HOSTIP default 127.0.0.1; [::1] for IPv6); --net isolated\n"
		"  -p auto[/udp]           publish every port the sandbox listens on (pasta's auto)\n"
		"  --host-port HOSTPORT[:GUESTPORT][/udp]   reach a host port from the sandbox;\n"
		"                          --net isolated\n"
		"  --host-port auto[/udp]  reach every host port from the sandbox (pasta's auto)\n"
		"  --pty auto|always|never give the command a pty: with a terminal (auto, the\n"
		"                          default), always, never\n"
		"  --term-size ROWSxCOLS   the pty's size (default: this terminal's)\n"
		"  --timeout MS            time limit for the setup (default %d)\n"
		"  --child PROGRAM [ARGS...]   run PROGRAM as the child instead of %s\n"
		"Run by root, the command is host uid 0 without any capability: it writes what\n"
		"is mounted read-write; /proc/sys, /sys, /dev's nodes and the system\n"
		"directories stay read-only (docs/SECURITY.md).\n"
		"Exit status: the command's, 128+N if it was killed by signal N, %d if the\n"
		"setup failed, %d for a bad command line.\n",
		PROG, DEFAULT_TIMEOUT_MS, CHILD_PROG, EXIT_SETUP, EXIT_USAGE);
}

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

static int parse_port(const char *s, unsigned *port)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v < 1 || v > 65535)
		return -1;
	*port = (unsigned)v;
	return 0;
}

static dropipc_net_mode net_mode(const dropipc_args *a)
{
	dropipc_net_mode mode = DROPIPC_NET_MODE_UNSPECIFIED;

	dropipc_args_get_net_mode(a, &mode);
	return mode;
}

/* [HOSTIP:]HOSTPORT:GUESTPORT[/udp], or auto[/udp]: every port (pasta's auto) */
static int parse_publish(dropipc_args *a, const char *spec)
{
	char buf[256], *ip = "127.0.0.1", *rest, *colon, *slash;
	dropipc_transport t = DROPIPC_TCP;
	unsigned hp, gp;

	if (snprintf(buf, sizeof(buf), "%s", spec) >= (int)sizeof(buf))
		return bad_usage("-p %s: too long", spec);
	slash = strrchr(buf, '/');
	if (slash && (!strcmp(slash, "/udp") || !strcmp(slash, "/tcp"))) {
		t = slash[1] == 'u' ? DROPIPC_UDP : DROPIPC_TCP;
		*slash = '\0';
	}
	if (!strcmp(buf, "auto"))
		return dropipc_args_add_net_published_port(a, t, "", 0, 0,
							   DROPIPC_PUBLISHED_PORT_AUTO) < 0
			       ? bad_usage("-p %s: bad value", spec)
			       : 0;
	rest = buf;
	if (buf[0] == '[') {
		char *close = strchr(buf, ']');

		if (!close || close[1] != ':')
			return bad_usage("-p %s: [IPv6]:HOSTPORT:GUESTPORT expected", spec);
		*close = '\0';
		ip = buf + 1;
		rest = close + 2;
	} else if (strchr(buf, ':') != strrchr(buf, ':')) {
		colon = strchr(buf, ':');
		*colon = '\0';
		ip = buf;
		rest = colon + 1;
	}
	colon = strchr(rest, ':');
	if (!colon)
		return bad_usage("-p %s: HOSTPORT:GUESTPORT expected", spec);
	*colon = '\0';
	if (parse_port(rest, &hp) < 0 || parse_port(colon + 1, &gp) < 0)
		return bad_usage("-p %s: ports are numbers in 1..65535", spec);
	if (dropipc_args_add_net_published_port(a, t, ip, hp, gp, 0) < 0)
		return bad_usage("-p %s: bad value", spec);
	return 0;
}

/* HOSTPORT[:GUESTPORT][/udp]; without GUESTPORT, the same port; or
 * auto[/udp]: every port (pasta's auto). */
static int parse_host_port(dropipc_args *a, const char *spec)
{
	char buf[64], *colon, *slash;
	dropipc_transport t = DROPIPC_TCP;
	unsigned hp, gp = 0;

	if (snprintf(buf, sizeof(buf), "%s", spec) >= (int)sizeof(buf))
		return bad_usage("--host-port %s: too long", spec);
	slash = strrchr(buf, '/');
	if (slash && (!strcmp(slash, "/udp") || !strcmp(slash, "/tcp"))) {
		t = slash[1] == 'u' ? DROPIPC_UDP : DROPIPC_TCP;
		*slash = '\0';
	}
	if (!strcmp(buf, "auto"))
		return dropipc_args_add_net_host_port(a, t, 0, 0, DROPIPC_HOST_PORT_AUTO) < 0
			       ? bad_usage("--host-port %s: bad value", spec)
			       : 0;
	colon = strchr(buf, ':');
	if (colon)
		*colon = '\0';
	if (parse_port(buf, &hp) < 0 || (colon && parse_port(colon + 1, &gp) < 0))
		return bad_usage("--host-port %s: ports are numbers in 1..65535", spec);
	if (dropipc_args_add_net_host_port(a, t, hp, colon ? gp : hp, 0) < 0)
		return bad_usage("--host-port %s: bad value", spec);
	return 0;
}

/* SRC:DST[:rw|:overlay|:rw,overlay] */
static int parse_mount(dropipc_args *a, const char *spec)
{
	char buf[2 * PATH_MAX], *dst, *opt;
	unsigned flags = 0;

	if (snprintf(buf, sizeof(buf), "%s", spec) >= (int)sizeof(buf))
		return bad_usage("--mount %s: too long", spec);
	dst = strchr(buf, ':');
	if (!dst || dst == buf || !dst[1])
		return bad_usage("--mount %s: SRC:DST expected", spec);
	*dst++ = '\0';
	opt = strchr(dst, ':');
	if (opt) {
		*opt++ = '\0';
		for (char *o = strtok(opt, ","); o; o = strtok(NULL, ",")) {
			if (!strcmp(o, "rw"))
				flags |= DROPIPC_MOUNT_RW;
			else if (!strcmp(o, "overlay"))
				flags |= DROPIPC_MOUNT_OVERLAY;
			else if (strcmp(o, "ro"))
				return bad_usage("--mount %s: unknown option %s", spec, o);
		}
	}
	if (dropipc_args_add_mount(a, buf, dst, flags) < 0)
		return bad_usage("--mount %s: bad value", spec);
	return 0;
}

static const char *need(int argc, char **argv, int *i)
{
	if (*i + 1 >= argc) {
		bad_usage("%s needs a value", argv[*i]);
		return NULL;
	}
	return argv[++*i];
}

static int parse_opts(int argc, char **argv, struct opts *o, dropipc_args *a)
{
	dropipc_net_mode net = DROPIPC_NET_MODE_OFF;
	const char *v;
	int i;

	o->timeout_ms = DEFAULT_TIMEOUT_MS;
	o->default_vars = true;
	for (i = 1; i < argc; i++) {
		const char *s = argv[i];

		if (!strcmp(s, "-v") || !strcmp(s, "--verbose")) {
			o->verbose = true;
		} else if (!strcmp(s, "-h") || !strcmp(s, "--help")) {
			usage(stdout);
			exit(0);
		} else if (!strcmp(s, "--root")) {
			o->root = true;
		} else if (!strcmp(s, "--no-default-vars")) {
			o->default_vars = false;
		} else if (!strcmp(s, "--timeout")) {
			char *end;
			long ms;

			if (!(v = need(argc, argv, &i)))
				return -1;
			errno = 0;
			ms = strtol(v, &end, 10);
			if (errno || end == v || *end || ms < 1 || ms > INT_MAX)
				return bad_usage("--timeout %s: not a number of milliseconds", v);
			o->timeout_ms = (int)ms;
		} else if (!strcmp(s, "--state") || !strcmp(s, "--env")) {
			if (!(v = need(argc, argv, &i)))
				return -1;
			*(s[2] == 's' ? &o->state : &o->env_id) = v;
		} else if (!strcmp(s, "--net")) {
			if (!(v = need(argc, argv, &i)))
				return -1;
			if (!strcmp(v, "off"))
				net = DROPIPC_NET_MODE_OFF;
			else if (!strcmp(v, "isolated"))
				net = DROPIPC_NET_MODE_ISOLATED;
			else if (!strcmp(v, "unjailed"))
				net = DROPIPC_NET_MODE_UNJAILED;
			else
				return bad_usage("--net %s: off, isolated or unjailed", v);
		} else if (!strcmp(s, "--mount")) {
			if (!(v = need(argc, argv, &i)) || parse_mount(a, v) < 0)
				return -1;
		} else if (!strcmp(s, "--block")) {
			if (!(v = need(argc, argv, &i)) ||
			    dropipc_args_add_list(a, DROPIPC_LIST_BLOCKED_PATHS, v) < 0)
				return -1;
		} else if (!strcmp(s, "--expose")) {
			if (!(v = need(argc, argv, &i)) ||
			    dropipc_args_add_list(a, DROPIPC_LIST_ENVIRON_EXPOSED_VARS, v) < 0)
				return -1;
		} else if (!strcmp(s, "--set")) {
			char name[256];
			const char *eq;

			if (!(v = need(argc, argv, &i)))
				return -1;
			eq = strchr(v, '=');
			if (!eq || eq == v || eq - v >= (long)sizeof(name))
				return bad_usage("--set %s: NAME=VALUE expected", v);
			snprintf(name, sizeof(name), "%.*s", (int)(eq - v), v);
			if (dropipc_args_add_environ_set_var(a, name, eq + 1) < 0)
				return bad_usage("--set %s: bad value", v);
		} else if (!strcmp(s, "-p") || !strcmp(s, "--publish")) {
			if (!(v = need(argc, argv, &i)) || parse_publish(a, v) < 0)
				return -1;
			o->ports = true;
		} else if (!strcmp(s, "--host-port")) {
			if (!(v = need(argc, argv, &i)) || parse_host_port(a, v) < 0)
				return -1;
			o->ports = true;
		} else if (!strcmp(s, "--pty")) {
			if (!(v = need(argc, argv, &i)))
				return -1;
			if (!strcmp(v, "auto"))
				o->pty = DROPIPC_PTY_AUTO;
			else if (!strcmp(v, "always"))
				o->pty = DROPIPC_PTY_ALWAYS;
			else if (!strcmp(v, "never"))
				o->pty = DROPIPC_PTY_NEVER;
			else
				return bad_usage("--pty %s: auto, always or never", v);
			dropipc_args_set_pty(a, o->pty);
		} else if (!strcmp(s, "--term-size")) {
			unsigned rows, cols;
			char end;

			if (!(v = need(argc, argv, &i)))
				return -1;
			if (sscanf(v, "%ux%u%c", &rows, &cols, &end) != 2 || !rows || !cols ||
			    rows > 65535 || cols > 65535)
				return bad_usage("--term-size %s: ROWSxCOLS expected", v);
			dropipc_args_set_term_size(a, rows, cols, 0, 0);
			o->term_size = true;
		} else if (!strcmp(s, "--child")) {
			o->child_argv = &argv[i + 1];
			while (i + 1 < argc && strcmp(argv[i + 1], "--")) {
				i++;
				o->child_argc++;
			}
			if (o->child_argc == 0)
				return bad_usage("--child needs a program");
		} else if (!strcmp(s, "--")) {
			i++;
			break;
		} else {
			return bad_usage("unknown option %s", s);
		}
	}
	if (o->ports && net != DROPIPC_NET_MODE_ISOLATED)
		return bad_usage("port forwarding (-p, --host-port) needs --net isolated: "
				 "with --net %s there is nothing to forward through",
				 net == DROPIPC_NET_MODE_OFF ? "off" : "unjailed");
	if (o->default_vars)
		for (size_t k = 0; k < sizeof(default_vars) / sizeof(default_vars[0]); k++)
			dropipc_args_add_list(a, DROPIPC_LIST_ENVIRON_EXPOSED_VARS, default_vars[k]);
	dropipc_args_set_net_mode(a, net);
	for (; i < argc; i++)
		if (dropipc_args_add_list(a, DROPIPC_LIST_EXEC_ARGS, argv[i]) < 0)
			return bad_usage("%s: bad argument", argv[i]);
	return 0;
}

/* "myproject-a1b2c3": the directory's name and a hash of its full path. */
static void make_env_id(char *out, size_t len, const char *cwd)
{
	const char *base = strrchr(cwd, '/');
	uint32_t h = 2166136261u; /* FNV-1a */
	size_t n = 0;

	base = base && base[1] ? base + 1 : "root";
	for (const char *p = cwd; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	for (; *base && n < 32; base++) {
		char c = *base;
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			  c == '_' || c == '-';

		out[n++] = ok ? c : '_';
	}
	snprintf(out + n, len - n, "-%06x", (unsigned)(h & 0xffffff));
}

/* The C child, as a path: installed, in CHILD_LIBEXEC (a directory
 * relative to this program's own, /proc/self/exe, so that any prefix
 * works); in the build tree, next to this program. */
static int find_own_child(char *out, size_t len)
{
	static const char *const dirs[] = { CHILD_LIBEXEC, "." };
	char self[PATH_MAX], *slash;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n < 0)
		return say("readlink /proc/self/exe: %s", strerror(errno));
	self[n] = '\0';
	slash = strrchr(self, '/');
	if (slash)
		*slash = '\0';
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		if ((size_t)snprintf(out, len, "%s/%s/%s", slash ? self : ".", dirs[i],
				     CHILD_PROG) >= len)
			return say("%s/%s/%s: path too long", self, dirs[i], CHILD_PROG);
		if (access(out, X_OK) == 0)
			return 0;
	}
	return say("%s: not found in %s/%s nor next to %s: %s", CHILD_PROG,
		   slash ? self : ".", CHILD_LIBEXEC, PROG, strerror(errno));
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

/* ---- epoll ---------------------------------------------------------------- */

static int watch(struct demo *d, int fd, enum tag tag, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.u32 = tag };

	if (epoll_ctl(d->ep, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	return 0;
}

static void rewatch(struct demo *d, int fd, enum tag tag, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.u32 = tag };

	epoll_ctl(d->ep, EPOLL_CTL_MOD, fd, &ev);
}

static void unwatch_close(struct demo *d, int *fd)
{
	if (*fd < 0)
		return;
	epoll_ctl(d->ep, EPOLL_CTL_DEL, *fd, NULL);
	close(*fd);
	*fd = -1;
}

/* The channel's events, as the end asks for them. */
static void watch_chan(struct demo *d)
{
	int ev = dropipc_conn_get_events(dropipc_parent_conn(d->parent));

	rewatch(d, dropipc_conn_get_fd(dropipc_parent_conn(d->parent)), T_CHAN,
		(ev & POLLIN ? EPOLLIN : 0) | (ev & POLLOUT ? EPOLLOUT : 0));
}

/* ---- terminal -------------------------------------------------------------- */

/* The user's terminal: stdin if it is one, else stdout, else stderr. */
static int user_tty(void)
{
	return isatty(STDIN_FILENO)    ? STDIN_FILENO
	       : isatty(STDOUT_FILENO) ? STDOUT_FILENO
				       : STDERR_FILENO;
}

static void copy_winsize(const struct demo *d)
{
	struct winsize ws;

	if (d->master >= 0 && ioctl(user_tty(), TIOCGWINSZ, &ws) == 0)
		ioctl(d->master, TIOCSWINSZ, &ws);
}

static void raw_mode(struct demo *d)
{
	int fd = user_tty();
	struct termios t;

	if (!isatty(fd) || tcgetattr(fd, &d->saved) < 0)
		return;
	t = d->saved;
	cfmakeraw(&t);
	if (tcsetattr(fd, TCSANOW, &t) == 0)
		d->raw = true;
}

static void restore_mode(struct demo *d)
{
	if (d->raw)
		tcsetattr(user_tty(), TCSADRAIN, &d->saved);
	d->raw = false;
}

/* Input has ended: tell the command, as a terminal would, with VEOF; after
 * a partial line the first one only ends the line, so two are sent. */
static void send_eof(const struct demo *d)
{
	struct termios t;
	char eof[2];

	if (d->master < 0 || tcgetattr(d->master, &t) < 0 || !(t.c_lflag & ICANON))
		return;
	eof[0] = eof[1] = (char)t.c_cc[VEOF];
	if (write(d->master, eof, d->partial_line ? 2 : 1) < 0)
		step(d, "write EOF to the pty: %s", strerror(errno));
}

/*
 * What the child itself wrote (at a terminal): control characters but
 * newline and tab become '?', so that it cannot drive the user's terminal.
 */
static void show_child_msg(struct demo *d)
{
	char buf[sizeof(d->carry) + 4096], line[2 * sizeof(buf)];
	ssize_t n;
	size_t have, keep, len, k = 0;

	memcpy(buf, d->carry, d->ncarry);
	n = read(d->msg, buf + d->ncarry, sizeof(buf) - sizeof(d->carry));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0)
		unwatch_close(d, &d->msg);
	have = d->ncarry + (size_t)(n > 0 ? n : 0);
	/* A character the read cut in two waits for its end (at the end of
	 * the output, what is left is shown as it is: '?'). */
	keep = d->msg >= 0 ? utf8_incomplete_tail(buf, have) : 0;
	d->ncarry = keep;
	memcpy(d->carry, buf + have - keep, keep);
	len = dropipc_text_sanitize(buf, have - keep);
	for (size_t i = 0; i < len; i++) {
		if (buf[i] == '\n' && d->raw)
			line[k++] = '\r';
		line[k++] = buf[i];
	}
	if (k > 0 && write_all(STDERR_FILENO, line, k) < 0)
		step(d, "stderr: %s", strerror(errno));
}

/* ---- the child -------------------------------------------------------------- */

static void reap(struct demo *d)
{
	siginfo_t si = { 0 };

	if (d->reaped)
		return;
	while (waitid(P_PIDFD, (id_t)d->pidfd, &si, WEXITED | WNOHANG) < 0) {
		if (errno != EINTR)
			return;
	}
	if (si.si_pid == 0)
		return;
	d->reaped = true;
	d->status = si.si_code == CLD_EXITED ? (si.si_status & 0xff) << 8 : si.si_status & 0x7f;
	epoll_ctl(d->ep, EPOLL_CTL_DEL, d->pidfd, NULL);
}

static void signal_child(struct demo *d, int sig)
{
	if (!d->reaped && d->pidfd >= 0)
		syscall(SYS_pidfd_send_signal, d->pidfd, sig, NULL, 0);
}

static void handle_signals(struct demo *d)
{
	struct signalfd_siginfo si;

	while (read(d->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGWINCH) {
			copy_winsize(d);
			continue;
		}
		step(d, "forwarding signal %u (%s) to the child", si.ssi_signo,
		     strsignal((int)si.ssi_signo));
		/* The child's init passes it on to the command, which may
		 * ignore it: the second one is SIGKILL (the init, and with it
		 * the whole PID namespace), and SIGCONT lets a stopped command
		 * see either. */
		signal_child(d, d->stop ? SIGKILL : (int)si.ssi_signo);
		signal_child(d, SIGCONT);
		d->stop = true;
	}
}

static int set_signals(struct demo *d)
{
	struct sigaction ign = { .sa_handler = SIG_IGN };
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGQUIT);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	sigaddset(&set, SIGWINCH);
	sigprocmask(SIG_BLOCK, &set, NULL);
	sigaction(SIGPIPE, &ign, NULL);
	d->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (d->sigfd < 0)
		return say("signalfd: %s", strerror(errno));
	return 0;
}

/* Why a receive on the channel failed; marks the setup failed. */
static void report(struct demo *d, int r)
{
	dropipc_stage stage;
	const char *msg;

	d->failed = true;
	if (r == DROPIPC_ERR_CHILD && dropipc_parent_get_child_error(d->parent, &stage, NULL, &msg) == 0)
		say("child setup failed at %s: %s", dropipc_stage_name((int)stage), msg);
	else if (r == DROPIPC_ERR_EOF || r == DROPIPC_ERR_DEAD)
		say("the child closed the channel without sending the pty (it exited, or closed fd %d)",
		    DROPIPC_CHILD_FD);
	else if (r == DROPIPC_ERR_TIMEDOUT)
		say("timed out after %d ms waiting for the child's %s", d->o.timeout_ms,
		    d->phase == PTY ? "pty" : "exec");
	else
		say("%s", dropipc_conn_get_errmsg(dropipc_parent_conn(d->parent)));
	/* A child that reports its failure exits by itself; others are ended. */
	if (r != DROPIPC_ERR_CHILD)
		signal_child(d, SIGKILL);
}

/*
 * The child's stdio, as Drop hands it: for each of fds 0-2, a pipe we
 * relay when ours is not a terminal; when it is, our terminal for stdin
 * (so that a child knows to make a pty) and, for stdout and stderr, a pipe
 * of the child's own messages, shown sanitized (the command gets the pty's
 * slave there: the C child is told which fds with --ttys). So at a
 * terminal `cmd 2>err.log` keeps stderr apart. in, out, err get the
 * child's ends (the caller closes them after the spawn).
 */
static int make_stdio(struct demo *d, int *in, int *out, int *err)
{
	int *child[3] = { in, out, err }, *ours[3] = { &d->child_in, &d->out, &d->err };
	bool always = d->o.pty == DROPIPC_PTY_ALWAYS;
	int msg[2] = { -1, -1 };

	/* The child makes a pty as ChildArgs.pty says: auto, when it gets a
	 * terminal among fds 0-2 (on those alone); always (on all three). */
	d->tty = always ||
		 (d->o.pty == DROPIPC_PTY_AUTO &&
		  (isatty(STDIN_FILENO) || isatty(STDOUT_FILENO) || isatty(STDERR_FILENO)));
	if (d->tty) {
		struct winsize ws;

		if (!d->o.term_size && ioctl(user_tty(), TIOCGWINSZ, &ws) == 0)
			dropipc_args_set_term_size(d->a, ws.ws_row, ws.ws_col, ws.ws_xpixel,
						   ws.ws_ypixel);
	}
	/* The pty's output: to our terminal, stdout or else stderr; stdout
	 * when only stdin is one (the echo of the input, and all of it from a
	 * child that puts the pty on all three fds). */
	d->term = isatty(STDOUT_FILENO) || !isatty(STDERR_FILENO) ? STDOUT_FILENO : STDERR_FILENO;
	if (d->tty && (always || isatty(STDOUT_FILENO) || isatty(STDERR_FILENO))) {
		if (pipe2(msg, O_CLOEXEC) < 0)
			return say("pipe: %s", strerror(errno));
		d->msg = msg[0];
		fcntl(d->msg, F_SETFL, O_NONBLOCK);
	}
	for (int i = 0; i < 3; i++) {
		int p[2];

		if (d->tty && (isatty(i) || always)) {
			/* Replaced by the pty's slave: stdin our terminal (or,
			 * always without one, /dev/null), the others the
			 * messages pipe. */
			*child[i] = i	      ? msg[1]
				    : isatty(i) ? fcntl(i, F_DUPFD_CLOEXEC, 3)
						: open("/dev/null", O_RDONLY | O_CLOEXEC);
			if (*child[i] < 0)
				return say("dup: %s", strerror(errno));
			continue;
		}
		if (pipe2(p, O_CLOEXEC) < 0)
			return say("pipe: %s", strerror(errno));
		*child[i] = i ? p[1] : p[0];
		*ours[i] = i ? p[0] : p[1];
		fcntl(*ours[i], F_SETFL, O_NONBLOCK);
	}
	return 0;
}

static bool always_pty(const struct demo *d)
{
	return d->o.pty == DROPIPC_PTY_ALWAYS;
}

static int spawn_child(struct demo *d)
{
	static const uint64_t caps = UINT64_C(1) << CAP_SYS_ADMIN | UINT64_C(1) << CAP_DAC_OVERRIDE |
				     UINT64_C(1) << CAP_FOWNER | UINT64_C(1) << CAP_NET_ADMIN;
	static char *argv[256];
	char path[PATH_MAX], ttys[16];
	unsigned ns = DROPIPC_NS_USER | DROPIPC_NS_MOUNT | DROPIPC_NS_PID | DROPIPC_NS_IPC |
		      DROPIPC_NS_CGROUP | DROPIPC_NS_UTS;
	uid_t uid = getuid();
	gid_t gid = getgid();
	dropipc_id_map uid_map = { d->o.root ? 0 : uid, uid, 1 };
	dropipc_id_map gid_map = { d->o.root ? 0 : gid, gid, 1 };
	dropipc_spawn_options opts;
	char msg[512];
	int in = -1, out = -1, err = -1, r;

	r = d->o.child_argv ? find_in_path(d->o.child_argv[0], path, sizeof(path))
			    : find_own_child(path, sizeof(path));
	if (r < 0)
		return -1;
	if (d->o.child_argc >= sizeof(argv) / sizeof(argv[0]) - 2)
		return say("--child: too many arguments");
	argv[0] = path;
	if (d->o.child_argv)
		memcpy(argv + 1, d->o.child_argv + 1, (d->o.child_argc - 1) * sizeof(char *));
	else
		argv[1] = d->o.verbose ? "--verbose" : NULL;
	if (net_mode(d->a) != DROPIPC_NET_MODE_UNJAILED)
		ns |= DROPIPC_NS_NET;
	if (make_stdio(d, &in, &out, &err) < 0)
		goto out;
	if (!d->o.child_argv && d->tty && !always_pty(d)) {
		/* Which of fds 0-2 get the pty's slave: ours that are terminals. */
		size_t n = (size_t)snprintf(ttys, sizeof(ttys), "--ttys=");

		for (int i = 0; i < 3; i++)
			if (isatty(i))
				ttys[n++] = (char)('0' + i);
		ttys[n] = '\0';
		argv[d->o.verbose ? 2 : 1] = ttys;
	}
	opts = (dropipc_spawn_options){
		.size = sizeof(opts),
		.path = path,
		.argv = (const char *const *)argv,
		.namespaces = ns,
		.uid_map = &uid_map,
		.n_uid_map = 1,
		.gid_map = &gid_map,
		.n_gid_map = 1,
		.caps = caps,
		.flags = DROPIPC_SPAWN_DENY_SETGROUPS | DROPIPC_SPAWN_NEW_SESSION | DROPIPC_SPAWN_STDIO,
		.stdio = { in, out, err },
		.pdeathsig = SIGKILL,
	};
	r = dropipc_spawn(&opts, &d->parent, &d->pid, &d->pidfd, msg, sizeof(msg));
	if (r < 0) {
		say("start %s: %s", path, msg);
		if (r == -EPERM || r == -EINVAL || r == -ENOSPC)
			say("user namespaces are needed (unprivileged_userns_clone, "
			    "max_user_namespaces, or a container that allows them)");
		goto out;
	}
	step(d, "started %s as pid %d in new namespaces, the channel on its fd %d", path,
	     (int)d->pid, DROPIPC_CHILD_FD);
	r = 0;
out:
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	if (err >= 0 && err != out)
		close(err);
	return r < 0 ? -1 : 0;
}

/* ---- the handshake, one step per event ------------------------------------- */

static int send_args(struct demo *d)
{
	const char *dump = getenv("DROPIPC_DUMP_SENT");
	int r;

	if (d->o.verbose) {
		step(d, "sending ChildArgs:");
		dump_args(stderr, d->a, "    ");
	}
	r = dropipc_parent_send_args(d->parent, d->a);
	if (r < 0) {
		say("%s", dropipc_conn_get_errmsg(dropipc_parent_conn(d->parent)));
		d->failed = true;
		return -1;
	}
	if (dump && (r = dump_to_file(dump, d->a)) < 0) {
		say("DROPIPC_DUMP_SENT=%s: %s", dump, strerror(-r));
		d->failed = true;
		return -1;
	}
	d->phase = d->tty ? PTY : EXEC;
	return 0;
}

static void start_relay(struct demo *d);

/* The channel is ready (or the child died, or the deadline passed): one
 * more step of the handshake. */
static void channel_step(struct demo *d)
{
	int r;

	if (dropipc_conn_get_events(dropipc_parent_conn(d->parent)) & POLLOUT) {
		r = dropipc_conn_flush(dropipc_parent_conn(d->parent));
		if (r == -EAGAIN)
			return watch_chan(d);
		if (r < 0)
			return report(d, r);
	}
	if (d->phase == PTY) {
		r = dropipc_parent_recv_pty(d->parent, &d->master);
		if (r == -EAGAIN)
			return watch_chan(d);
		if (r < 0)
			return report(d, r);
		step(d, "received the pty master");
		d->phase = EXEC;
		fcntl(d->master, F_SETFL, fcntl(d->master, F_GETFL) | O_NONBLOCK);
		raw_mode(d);
		copy_winsize(d);
		watch(d, d->master, T_MASTER, EPOLLIN);
	}
	if (d->phase == EXEC) {
		r = dropipc_parent_wait_exec(d->parent);
		if (r == -EAGAIN)
			return watch_chan(d);
		/* A child in another language may not confirm: its status tells. */
		if (r == DROPIPC_ERR_NOEXEC && d->o.child_argv)
			step(d, "the child closed the channel without confirming its exec");
		else if (r < 0)
			return report(d, r);
		else
			step(d, "channel closed: the child's exec succeeded");
		epoll_ctl(d->ep, EPOLL_CTL_DEL, dropipc_conn_get_fd(dropipc_parent_conn(d->parent)), NULL);
		d->phase = RUN;
		start_relay(d);
	}
}

/* ---- the relay ---------------------------------------------------------------- */

static void start_relay(struct demo *d)
{
	if (d->tty || d->child_in >= 0) {
		int r = watch(d, STDIN_FILENO, T_IN, EPOLLIN);

		/* A regular file or /dev/null: always ready, read when needed. */
		d->in_pollable = r == 0;
		d->in_open = true;
		if (r < 0 && r != -EPERM)
			d->in_open = false;
	}
	if (d->child_in >= 0)
		watch(d, d->child_in, T_CHILD_IN, 0);
	step(d, "relaying %s", d->tty ? "the terminal through the pty, and the pipes" : "stdin, stdout, stderr");
}

/* Where input goes: the command's stdin pipe, else (it has the pty's
 * slave there) the pty. */
static int input_fd(const struct demo *d)
{
	return d->child_in >= 0 ? d->child_in : d->master;
}

static void input_ended(struct demo *d)
{
	if (d->in_pollable)
		epoll_ctl(d->ep, EPOLL_CTL_DEL, STDIN_FILENO, NULL);
	d->in_open = false;
	d->in_len = 0;
	if (d->child_in >= 0)
		unwatch_close(d, &d->child_in);
	else
		send_eof(d);
}

static void read_input(struct demo *d)
{
	ssize_t n;

	if (!d->in_open || d->in_len || input_fd(d) < 0)
		return;
	n = read(STDIN_FILENO, d->in, sizeof(d->in));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0)
		return input_ended(d);
	d->in_len = (size_t)n;
	d->in_off = 0;
	d->partial_line = d->in[n - 1] != '\n';
	if (d->in_pollable)
		rewatch(d, STDIN_FILENO, T_IN, 0);
}

static void write_input(struct demo *d)
{
	int fd = input_fd(d);
	ssize_t n;

	if (!d->in_len || fd < 0)
		return;
	n = write(fd, d->in + d->in_off, d->in_len - d->in_off);
	if (n > 0)
		d->in_off += (size_t)n;
	if (n < 0 && errno != EAGAIN && errno != EINTR) {
		/* The command closed its stdin: the rest has nowhere to go. */
		d->in_len = 0;
		if (fd == d->child_in) {
			d->in_open = false;
			if (d->in_pollable)
				epoll_ctl(d->ep, EPOLL_CTL_DEL, STDIN_FILENO, NULL);
			unwatch_close(d, &d->child_in);
		}
		return;
	}
	if (d->in_off == d->in_len) {
		d->in_len = 0;
		if (d->in_pollable && d->in_open)
			rewatch(d, STDIN_FILENO, T_IN, EPOLLIN);
	}
}

/* The command's output, as it is, on ours. */
static void copy_out(struct demo *d, int *fd, int to)
{
	char buf[65536];
	ssize_t n = read(*fd, buf, sizeof(buf));

	if (n > 0) {
		if (write_all(to, buf, (size_t)n) < 0)
			step(d, "write fd %d: %s", to, strerror(errno));
		return;
	}
	/* EIO from a pty master: its last slave is closed. */
	if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
		if (*fd == d->master)
			d->in_len = 0;
		unwatch_close(d, fd);
	}
}

static void update_input_watch(struct demo *d)
{
	uint32_t want = d->in_len ? EPOLLOUT : 0;

	if (d->master >= 0)
		rewatch(d, d->master, T_MASTER, EPOLLIN | (input_fd(d) == d->master ? want : 0));
	if (d->child_in >= 0)
		rewatch(d, d->child_in, T_CHILD_IN, want);
}

/* ---- the loop ------------------------------------------------------------------ */

static int timeout_ms(const struct demo *d)
{
	long long deadline = -1;
	uint64_t us;

	if (d->reaped)
		return 100; /* drain what is left, then go */
	if (d->phase == NET)
		deadline = d->pasta_deadline < now_ms() + PASTA_POLL_MS ? d->pasta_deadline
									 : now_ms() + PASTA_POLL_MS;
	else if (d->phase != RUN && dropipc_conn_get_deadline(dropipc_parent_conn(d->parent), &us) == 0 &&
		 us != DROPIPC_TIMEOUT_INFINITE)
		deadline = (long long)(us / 1000) + 1;
	if (d->phase == RUN && !d->in_pollable && d->in_open && !d->in_len)
		return 0; /* input that is always ready */
	if (deadline < 0)
		return -1;
	return deadline > now_ms() ? (int)(deadline - now_ms()) : 0;
}

static bool finished(const struct demo *d)
{
	/* What the child wrote to the message pipe is shown to its end: a
	 * failed child's words are the point. The loop's 100 ms quiet rule
	 * ends the wait when something else holds the pipe open. */
	if (d->failed)
		return (d->reaped || d->pid <= 0) && d->msg < 0;
	return d->reaped && d->out < 0 && d->err < 0 && d->master < 0 && d->msg < 0;
}

/* pasta exited: before the network was up, the setup fails. */
static void pasta_event(struct demo *d)
{
	bool ready = d->pasta.ready;

	epoll_ctl(d->ep, EPOLL_CTL_DEL, d->pasta.pidfd, NULL);
	pasta_failed(&d->pasta);
	if (!ready) {
		d->failed = true;
		signal_child(d, SIGKILL);
	}
}

/* In the NET phase: once pasta says the network is up, ChildArgs go. */
static void pasta_check(struct demo *d)
{
	if (d->phase != NET || d->failed || !pasta_ready(&d->pasta))
		return;
	step(d, "pasta is up (pid %d)", (int)d->pasta.pid);
	if (send_args(d) == 0)
		channel_step(d);
}

static int loop(struct demo *d)
{
	struct epoll_event ev[16];
	int quiet = 0;

	while (!finished(d)) {
		int n, t = timeout_ms(d);

		update_input_watch(d);
		n = epoll_wait(d->ep, ev, 16, t);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return say("epoll_wait: %s", strerror(errno));
		if (n == 0 && d->reaped && ++quiet >= 1)
			break; /* reaped, and nothing more came in 100 ms */
		pasta_check(d);
		if (n == 0 && d->phase == NET && now_ms() >= d->pasta_deadline) {
			say("timed out after %d ms waiting for pasta", d->o.timeout_ms);
			d->failed = true;
			signal_child(d, SIGKILL);
			continue;
		}
		if (n == 0 && d->phase != RUN && d->phase != NET && !d->failed)
			channel_step(d); /* the deadline: the receive says so */
		if (n == 0 && d->phase == RUN && !d->in_pollable) {
			read_input(d);
			write_input(d);
		}
		for (int i = 0; i < n; i++) {
			switch (ev[i].data.u32) {
			case T_SIG:
				handle_signals(d);
				break;
			case T_PIDFD:
				reap(d);
				if (d->phase != RUN && d->phase != NET && !d->failed)
					channel_step(d);
				if (d->phase == NET && d->reaped)
					d->failed = say("the child died before its network was up");
				break;
			case T_PASTA:
				pasta_event(d);
				break;
			case T_CHAN:
				if (!d->failed && d->phase != RUN)
					channel_step(d);
				break;
			case T_IN:
				read_input(d);
				write_input(d);
				break;
			case T_CHILD_IN:
				write_input(d);
				break;
			case T_MASTER:
				if (ev[i].events & EPOLLOUT)
					write_input(d);
				if (ev[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
					copy_out(d, &d->master, d->term);
				break;
			case T_OUT:
				copy_out(d, &d->out, STDOUT_FILENO);
				break;
			case T_ERR:
				copy_out(d, &d->err, STDERR_FILENO);
				break;
			case T_MSG:
				show_child_msg(d);
				break;
			}
		}
	}
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

static const char *host_home(void)
{
	const char *home = getenv("HOME");
	struct passwd *pw;

	if (home && home[0] == '/')
		return home;
	pw = getpwuid(getuid());
	return pw && pw->pw_dir[0] == '/' ? pw->pw_dir : "/";
}

static int setup(struct demo *d)
{
	char state[PATH_MAX], env_id[96], cwd[PATH_MAX];
	const char *xdg = getenv("XDG_DATA_HOME");

	if (d->o.state)
		snprintf(state, sizeof(state), "%s", d->o.state);
	else if (xdg && xdg[0] == '/')
		snprintf(state, sizeof(state), "%s/dropipc-demo", xdg);
	else
		snprintf(state, sizeof(state), "%s/.local/share/dropipc-demo",
			 strcmp(host_home(), "/") ? host_home() : "");
	if (d->o.env_id) {
		snprintf(env_id, sizeof(env_id), "%s", d->o.env_id);
		if (!env_id[0] || strchr(env_id, '/') || !strcmp(env_id, ".") || !strcmp(env_id, ".."))
			return say("--env %s: not a name", d->o.env_id);
	} else {
		if (!getcwd(cwd, sizeof(cwd)))
			return say("getcwd: %s", strerror(errno));
		make_env_id(env_id, sizeof(env_id), cwd);
	}
	if (dropipc_args_set_env_id(d->a, env_id) < 0)
		return say("out of memory");
	if (layout_make(state, env_id, host_home(), d->a, d->run) < 0)
		return -1;
	step(d, "state in %s, this run's files in %s", state, d->run);
	return 0;
}

int main(int argc, char **argv)
{
	struct demo d = { .pid = -1, .pidfd = -1, .ep = -1, .sigfd = -1, .master = -1, .msg = -1,
			  .child_in = -1, .out = -1, .err = -1 };
	int ret = EXIT_SETUP;
	char errbuf[512];

	g = &d;
	d.pasta.pidfd = -1;
	open_std_fds();
	if (dropipc_args_new(&d.a) < 0)
		return EXIT_SETUP;
	if (parse_opts(argc, argv, &d.o, d.a) < 0) {
		usage(stderr);
		dropipc_args_free(d.a);
		return EXIT_USAGE;
	}
	/* The command line's values, before anything is made on disk (the
	 * env id comes later). */
	dropipc_args_set_env_id(d.a, "-");
	if (dropipc_args_validate(d.a, errbuf, sizeof(errbuf)) < 0) {
		say("%s", errbuf);
		dropipc_args_free(d.a);
		return EXIT_USAGE;
	}
	/* Whatever a child of ours leaves behind comes to us. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	d.ep = epoll_create1(EPOLL_CLOEXEC);
	if (d.ep < 0 || set_signals(&d) < 0 || setup(&d) < 0 || spawn_child(&d) < 0)
		goto out;
	dropipc_conn_set_timeout(dropipc_parent_conn(d.parent),
				 d.o.timeout_ms < 0 ? DROPIPC_TIMEOUT_INFINITE
						    : (uint64_t)d.o.timeout_ms * 1000);
	if (dropipc_conn_set_nonblocking(dropipc_parent_conn(d.parent), 1) < 0) {
		say("%s", dropipc_conn_get_errmsg(dropipc_parent_conn(d.parent)));
		goto out;
	}
	watch(&d, d.sigfd, T_SIG, EPOLLIN);
	watch(&d, d.pidfd, T_PIDFD, EPOLLIN);
	watch(&d, dropipc_conn_get_fd(dropipc_parent_conn(d.parent)), T_CHAN, 0);
	if (d.msg >= 0)
		watch(&d, d.msg, T_MSG, EPOLLIN);
	if (d.out >= 0)
		watch(&d, d.out, T_OUT, EPOLLIN);
	if (d.err >= 0)
		watch(&d, d.err, T_ERR, EPOLLIN);
	/* The network first: the command must not start before it exists. */
	if (net_mode(d.a) == DROPIPC_NET_MODE_ISOLATED) {
		d.phase = NET;
		d.pasta_deadline = now_ms() + d.o.timeout_ms;
		if (pasta_start(&d.pasta, d.a, d.pid, d.run, getuid() == 0, d.o.verbose) < 0) {
			d.failed = true;
			signal_child(&d, SIGKILL);
		} else {
			watch(&d, d.pasta.pidfd, T_PASTA, EPOLLIN);
		}
	} else {
		d.phase = SEND;
		if (send_args(&d) == 0)
			channel_step(&d);
	}
	if (loop(&d) < 0)
		goto out;
	if (!d.failed && d.reaped) {
		ret = WIFSIGNALED(d.status) ? 128 + WTERMSIG(d.status) : WEXITSTATUS(d.status);
		step(&d, "the command %s %d", WIFSIGNALED(d.status) ? "was killed by signal"
								    : "exited with status",
		     WIFSIGNALED(d.status) ? WTERMSIG(d.status) : WEXITSTATUS(d.status));
	}
out:
	restore_mode(&d);
	if (d.pid > 0 && !d.reaped) {
		siginfo_t si;

		signal_child(&d, SIGKILL);
		waitid(P_PIDFD, (id_t)d.pidfd, &si, WEXITED);
	}
	/* What the child said before it went, even when we gave up on it. */
	while (d.msg >= 0)
		show_child_msg(&d);
	pasta_stop(&d.pasta);
	layout_cleanup(d.run);
	layout_release();
	unwatch_close(&d, &d.master);
	unwatch_close(&d, &d.out);
	unwatch_close(&d, &d.err);
	unwatch_close(&d, &d.child_in);
	if (d.pidfd >= 0)
		close(d.pidfd);
	if (d.sigfd >= 0)
		close(d.sigfd);
	if (d.ep >= 0)
		close(d.ep);
	dropipc_parent_free(d.parent);
	dropipc_args_free(d.a);
	return ret;
}
