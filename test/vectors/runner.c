/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * The C receiver against the conformance vectors (test/vectors/NAME.vec,
 * format in README.md): each vector's frames and fds go through a real
 * socket pair into the real receive of the end it names, and the outcome
 * must be the one the vector expects: the dump of what arrived (the C dump
 * of cmd/demo/dump.c for ChildArgs), or the error class, the child's report
 * as a launcher gets it, and every fd that arrived closed.
 * Usage: vectors-runner FILE.vec...
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <dropipc/dropipc.h>

#include "dump.h"

#define MAX_LINES 256

struct vec {
	char name[128], receiver[16], call[16], expect[32];
	char *fd_types[DROPIPC_MAX_FDS + 2];
	size_t nfds;
	unsigned char *frames[8];
	size_t frame_len[8], nframes;
	char *dumps[MAX_LINES];
	size_t ndumps;
	bool has_report;
	int stage, err;
	unsigned char *report;
	size_t report_len;
};

/* The fds sent, and what the test keeps to see whether they got closed. */
struct sent {
	int fd[DROPIPC_MAX_FDS + 2];
	int keep[DROPIPC_MAX_FDS + 2]; /* pipe: the write end; socket: the other end */
	bool check[DROPIPC_MAX_FDS + 2];
};

static int failures;

static void failf(const struct vec *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void failf(const struct vec *v, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "FAIL %s: ", v->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	failures++;
}

static unsigned char *unhex(const char *s, size_t *len)
{
	size_t n = strlen(s), k = 0;
	unsigned char *out = malloc(n / 2 + 1);

	for (size_t i = 0; out && i + 1 < n; i += 2) {
		unsigned int b;

		if (sscanf(s + i, "%2x", &b) != 1)
			break;
		out[k++] = (unsigned char)b;
	}
	*len = k;
	return out;
}

static int make_fd(const char *type, struct sent *s, size_t i)
{
	int p[2];

	s->keep[i] = -1;
	s->check[i] = false;
	if (!strcmp(type, "pipe")) {
		if (pipe2(p, O_CLOEXEC) < 0)
			return -1;
		s->fd[i] = p[0];
		s->keep[i] = p[1];
		s->check[i] = true;
	} else if (!strcmp(type, "socket")) {
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p) < 0)
			return -1;
		s->fd[i] = p[0];
		s->keep[i] = p[1];
		s->check[i] = true;
	} else if (!strcmp(type, "pty_master")) {
		s->fd[i] = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (s->fd[i] < 0 || grantpt(s->fd[i]) < 0 || unlockpt(s->fd[i]) < 0)
			return -1;
	} else if (!strcmp(type, "regular")) {
		s->fd[i] = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	} else {
		return -1;
	}
	return s->fd[i] < 0 ? -1 : 0;
}

/* Whether the receiver closed its copy of sent fd i (the test has closed
 * its own): a pipe's write end gets EPIPE, a socket's peer end sees the
 * hangup (a socket may be closed by the library's helper thread: waited
 * for, up to a generous bound). */
static bool closed_by_receiver(const struct sent *s, size_t i)
{
	struct pollfd pfd = { .fd = s->keep[i], .events = POLLIN };
	char c = 'x';

	if (!s->check[i])
		return true;
	if (write(s->keep[i], &c, 1) < 0 && errno == EPIPE)
		return true;
	return poll(&pfd, 1, 5000) == 1 && (pfd.revents & (POLLHUP | POLLIN)) &&
	       read(s->keep[i], &c, 1) <= 0;
}

static int send_frames(const struct vec *v, int sock, const struct sent *s)
{
	for (size_t k = 0; k < v->nframes; k++) {
		struct iovec iov = { v->frames[k], v->frame_len[k] };
		union {
			char buf[CMSG_SPACE(sizeof(int) * (DROPIPC_MAX_FDS + 2))];
			struct cmsghdr align;
		} u;
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

		if (k == 0 && v->nfds) {
			struct cmsghdr *cm;

			memset(&u, 0, sizeof(u));
			mh.msg_control = u.buf;
			mh.msg_controllen = CMSG_SPACE(sizeof(int) * v->nfds);
			cm = CMSG_FIRSTHDR(&mh);
			cm->cmsg_level = SOL_SOCKET;
			cm->cmsg_type = SCM_RIGHTS;
			cm->cmsg_len = CMSG_LEN(sizeof(int) * v->nfds);
			memcpy(CMSG_DATA(cm), s->fd, sizeof(int) * v->nfds);
		}
		if (v->frame_len[k] && sendmsg(sock, &mh, MSG_NOSIGNAL) != (ssize_t)v->frame_len[k])
			return -1;
	}
	/* A vector with fds but no frame: they cannot travel alone. */
	return shutdown(sock, SHUT_WR);
}

static const struct {
	const char *name;
	int code;
} classes[] = {
	{ "eof", DROPIPC_ERR_EOF },		  { "truncated", DROPIPC_ERR_TRUNC },
	{ "protocol", DROPIPC_ERR_PROTO },	  { "too_big", DROPIPC_ERR_TOOBIG },
	{ "invalid", DROPIPC_ERR_INVALID },	  { "unsupported", DROPIPC_ERR_UNSUPPORTED },
	{ "child_error", DROPIPC_ERR_CHILD }, { "not_pty", DROPIPC_ERR_NOTPTY },
	{ "no_exec", DROPIPC_ERR_NOEXEC },
};

/* Lines of text (as the C dump writes them) into out, a list to compare. */
static size_t split(char *text, char **out, size_t max)
{
	size_t n = 0;

	for (char *line = text; line && *line && n < max;) {
		char *nl = strchr(line, '\n');

		if (nl)
			*nl = '\0';
		out[n++] = line;
		line = nl ? nl + 1 : NULL;
	}
	return n;
}

static void compare_dump(const struct vec *v, char *text)
{
	char *got[MAX_LINES];
	size_t n = split(text, got, MAX_LINES);

	if (n != v->ndumps)
		failf(v, "dump has %zu lines, expected %zu", n, v->ndumps);
	for (size_t i = 0; i < n && i < v->ndumps; i++)
		if (strcmp(got[i], v->dumps[i]))
			failf(v, "dump line %zu: got \"%s\", expected \"%s\"", i, got[i], v->dumps[i]);
}

static void put_escaped(FILE *f, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\\')
			fputs("\\\\", f);
		else if (p[i] == '\n')
			fputs("\\n", f);
		else if (p[i] < 0x20 || p[i] == 0x7f)
			fprintf(f, "\\x%02x", p[i]);
		else
			fputc(p[i], f);
	}
}

/* The files as dump lines: name, and which of the sent fds it is. */
static void dump_files(FILE *f, const dropipc_file *files, size_t n, const struct sent *s,
		       size_t nsent)
{
	for (size_t i = 0; i < n; i++) {
		struct stat a, b;
		size_t which = nsent;

		for (size_t k = 0; k < nsent; k++)
			if (fstat(files[i].fd, &a) == 0 && fstat(s->fd[k], &b) == 0 &&
			    a.st_dev == b.st_dev && a.st_ino == b.st_ino)
				which = k;
		fprintf(f, "files[%zu].name=", i);
		put_escaped(f, (const unsigned char *)files[i].name, strlen(files[i].name));
		fprintf(f, "\nfiles[%zu].fd=%zu\n", i, which);
		close(files[i].fd);
	}
}

/* Receives as the vector says; writes the dump of what arrived to f. */
static int receive(const struct vec *v, dropipc_parent *p, dropipc_child *c, FILE *f,
		   const struct sent *s)
{
	dropipc_custom *m = NULL;
	dropipc_file *files = NULL;
	dropipc_args *a = NULL;
	size_t n = 0;
	int r, fd = -1;

	if (!strcmp(v->call, "args")) {
		r = dropipc_child_recv_args(c, &a);
		if (r == 0)
			dump_args(f, a, "");
		dropipc_args_free(a);
	} else if (!strcmp(v->call, "pty")) {
		r = dropipc_parent_recv_pty(p, &fd);
		if (fd >= 0)
			close(fd);
	} else if (!strcmp(v->call, "wait_exec")) {
		r = dropipc_parent_wait_exec(p);
	} else if (!strcmp(v->call, "files")) {
		r = p ? dropipc_conn_recv_files(dropipc_parent_conn(p), &files, &n) : dropipc_conn_recv_files(dropipc_child_conn(c), &files, &n);
		if (r == 0)
			dump_files(f, files, n, s, v->nfds);
		free(files);
	} else if (!strcmp(v->call, "custom")) {
		r = p ? dropipc_conn_recv_custom(dropipc_parent_conn(p), &m) : dropipc_conn_recv_custom(dropipc_child_conn(c), &m);
		if (r == 0) {
			fprintf(f, "type=%s\ndata=", m->type);
			put_escaped(f, m->data, m->len);
			fputc('\n', f);
			dump_files(f, m->files, m->n_files, s, v->nfds);
		}
		free(m);
	} else {
		failf(v, "unknown call %s", v->call);
		return 0;
	}
	return r;
}

static void run(const struct vec *v)
{
	dropipc_parent *p = NULL;
	dropipc_child *c = NULL;
	struct sent s;
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	int sv[2], r, want = 0;

	for (size_t i = 0; i < v->nfds; i++)
		if (make_fd(v->fd_types[i], &s, i) < 0) {
			failf(v, "cannot make a %s fd", v->fd_types[i]);
			return;
		}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 ||
	    (!strcmp(v->receiver, "parent") ? dropipc_parent_new(sv[1], &p)
					     : dropipc_child_new(sv[1], &c)) < 0) {
		failf(v, "no channel");
		return;
	}
	p ? dropipc_conn_set_timeout(dropipc_parent_conn(p), 10000000) : dropipc_conn_set_timeout(dropipc_child_conn(c), 10000000);
	if (send_frames(v, sv[0], &s) < 0)
		failf(v, "sending the frames: %s", strerror(errno));
	for (size_t i = 0; i < v->nfds; i++)
		close(s.fd[i]);
	f = open_memstream(&text, &len);
	r = receive(v, p, c, f, &s);
	fclose(f);
	if (strncmp(v->expect, "error ", 6) == 0) {
		want = 1;
		for (size_t k = 0; k < sizeof(classes) / sizeof(classes[0]); k++)
			if (!strcmp(v->expect + 6, classes[k].name))
				want = classes[k].code;
		if (want == 1)
			failf(v, "unknown class %s", v->expect + 6);
	}
	if (r != want)
		failf(v, "got %s (%s), expected %s", dropipc_err_name(r),
		      p ? dropipc_conn_get_errmsg(dropipc_parent_conn(p)) : dropipc_conn_get_errmsg(dropipc_child_conn(c)), v->expect);
	else if (want == 0)
		compare_dump(v, text);
	if (v->has_report) {
		dropipc_stage stage = 0;
		const char *msg = NULL;
		int err = 0;

		if (!p || dropipc_parent_get_child_error(p, &stage, &err, &msg) < 0)
			failf(v, "no report");
		else if ((int)stage != v->stage || err != v->err || strlen(msg) != v->report_len ||
			 memcmp(msg, v->report, v->report_len))
			failf(v, "report %d %d \"%s\", expected %d %d (%zu bytes)", (int)stage, err, msg,
			      v->stage, v->err, v->report_len);
	}
	/* After a failure, every fd that arrived is closed. */
	for (size_t i = 0; want != 0 && i < v->nfds; i++)
		if (!closed_by_receiver(&s, i))
			failf(v, "fd %zu (%s) left open by the receiver", i, v->fd_types[i]);
	for (size_t i = 0; i < v->nfds; i++)
		if (s.keep[i] >= 0)
			close(s.keep[i]);
	free(text);
	close(sv[0]);
	dropipc_parent_free(p);
	dropipc_child_free(c);
}

static void clear(struct vec *v)
{
	for (size_t i = 0; i < v->nfds; i++)
		free(v->fd_types[i]);
	for (size_t i = 0; i < v->nframes; i++)
		free(v->frames[i]);
	for (size_t i = 0; i < v->ndumps; i++)
		free(v->dumps[i]);
	free(v->report);
	memset(v, 0, sizeof(*v));
}

static int run_file(const char *path)
{
	FILE *f = fopen(path, "re");
	struct vec v = { .name = "" };
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int count = 0;

	if (!f) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	while ((n = getline(&line, &cap, f)) >= 0) {
		char *arg;

		if (n && line[n - 1] == '\n')
			line[--n] = '\0';
		if (!n || line[0] == '#')
			continue;
		arg = strchr(line, ' ');
		arg = arg ? arg + 1 : line + n;
		if (!strncmp(line, "vector ", 7))
			snprintf(v.name, sizeof(v.name), "%s", arg);
		else if (!strncmp(line, "receiver ", 9))
			snprintf(v.receiver, sizeof(v.receiver), "%s", arg);
		else if (!strncmp(line, "call ", 5))
			snprintf(v.call, sizeof(v.call), "%s", arg);
		else if (!strncmp(line, "expect ", 7))
			snprintf(v.expect, sizeof(v.expect), "%s", arg);
		else if (!strncmp(line, "fd ", 3) && v.nfds < DROPIPC_MAX_FDS + 2)
			v.fd_types[v.nfds++] = strdup(arg);
		else if (!strncmp(line, "frame ", 6) && v.nframes < 8) {
			v.frames[v.nframes] = unhex(arg, &v.frame_len[v.nframes]);
			v.nframes++;
		} else if (!strncmp(line, "dump ", 5) && v.ndumps < MAX_LINES)
			v.dumps[v.ndumps++] = strdup(arg);
		else if (!strncmp(line, "report ", 7)) {
			char hex[8192] = "";

			v.has_report = sscanf(arg, "%d %d %8191s", &v.stage, &v.err, hex) >= 2;
			v.report = unhex(hex, &v.report_len);
		} else if (!strcmp(line, "end")) {
			run(&v);
			count++;
			clear(&v);
		} else {
			fprintf(stderr, "%s: cannot read \"%s\"\n", path, line);
			failures++;
		}
	}
	free(line);
	fclose(f);
	printf("%s: %d vectors\n", path, count);
	return count;
}

int main(int argc, char **argv)
{
	int total = 0;

	signal(SIGPIPE, SIG_IGN);
	for (int i = 1; i < argc; i++) {
		int n = run_file(argv[i]);

		if (n < 0)
			return 1;
		total += n;
	}
	printf("%d vectors, %d failures\n", total, failures);
	return failures || total == 0 ? 1 : 0;
}
