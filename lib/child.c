/* SPDX-License-Identifier: Apache-2.0 */
/* The child's end: receives ChildArgs, sends the pty or an error report. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

struct dropipc_child {
	struct dropipc__conn *conn;
	/* The parent asked for ExecConfirm (ChildArgs.confirm_exec). */
	bool confirm_exec;
};

int dropipc_child_fd_inherit(int fd)
{
	int flags;

	if (fd < 0)
		return -EBADF;
	if (fd != DROPIPC_CHILD_FD) {
		/* dup2 clears close-on-exec on the copy. */
		while (dup2(fd, DROPIPC_CHILD_FD) < 0)
			if (errno != EINTR)
				return -errno;
		close(fd);
		return 0;
	}
	flags = fcntl(fd, F_GETFD);
	if (flags < 0 || fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC) < 0)
		return -errno;
	return 0;
}

int dropipc_child_new(int fd, dropipc_child **child)
{
	dropipc_child *c;
	int r;

	*child = NULL;
	c = calloc(1, sizeof(*c));
	if (!c) {
		if (fd >= 0)
			close(fd);
		return -ENOMEM;
	}
	r = dropipc__conn_new(fd, &c->conn);
	if (r < 0) {
		free(c);
		return r;
	}
	*child = c;
	return 0;
}

void dropipc_child_close(dropipc_child *child)
{
	if (!child)
		return;
	dropipc__conn_free(child->conn);
	free(child);
}

int dropipc_child_fd(const dropipc_child *child)
{
	return dropipc__conn_fd(child->conn);
}

int dropipc_child_set_timeout(dropipc_child *child, int timeout_ms)
{
	return dropipc__conn_set_timeout(child->conn, timeout_ms);
}

int dropipc_child_set_max_payload(dropipc_child *child, size_t bytes)
{
	return dropipc__conn_set_max_payload(child->conn, bytes);
}

const char *dropipc_child_errmsg(const dropipc_child *child)
{
	return dropipc__conn_errmsg(child->conn);
}

int dropipc_child_set_nonblocking(dropipc_child *child, int on)
{
	return dropipc__conn_set_nonblocking(child->conn, on != 0);
}

int dropipc_child_events(const dropipc_child *child)
{
	return dropipc__conn_events(child->conn);
}

int dropipc_child_deadline(const dropipc_child *child, uint64_t *usec)
{
	*usec = dropipc__conn_deadline(child->conn);
	return 0;
}

int dropipc_child_flush(dropipc_child *child)
{
	int r = dropipc__conn_begin(child->conn, "flush");

	return r < 0 ? r : dropipc__conn_flush(child->conn);
}

int dropipc_child_cancel(dropipc_child *child)
{
	return dropipc__conn_cancel(child->conn);
}

int dropipc_child_recv_args(dropipc_child *child, dropipc_args **args)
{
	struct dropipc__conn *c = child->conn;
	struct dropipc__frame f;
	ProtobufCMessage *m;
	Dropipc__V1__ChildArgs *msg;
	char err[DROPIPC_ERRMSG_SIZE];
	int r;

	*args = NULL;
	r = dropipc__conn_begin(c, "recv args");
	if (r < 0)
		return r;
	r = dropipc__recv_message(c, DROPIPC__V1__ENVELOPE__BODY_CHILD_ARGS,
				  &dropipc__v1__child_args__descriptor, &f, &m, NULL);
	if (r < 0)
		return r;
	msg = (Dropipc__V1__ChildArgs *)m;
	r = dropipc__frame_finish(c, &f);
	if (r == 0) {
		r = dropipc__validate_child_args(msg, err, sizeof(err));
		if (r < 0)
			dropipc__conn_fail(c, r, "%s", err);
	}
	if (r == 0) {
		r = dropipc__args_wrap(msg, args);
		if (r < 0)
			dropipc__conn_fail(c, r, "no memory for the args");
	}
	if (r < 0) {
		dropipc__message_free(msg);
		return r;
	}
	child->confirm_exec = msg->confirm_exec;
	return 0;
}

int dropipc_child_confirm_exec(dropipc_child *child)
{
	Dropipc__V1__Envelope env = DROPIPC__V1__ENVELOPE__INIT;
	Dropipc__V1__ExecConfirm confirm = DROPIPC__V1__EXEC_CONFIRM__INIT;
	int r;

	r = dropipc__conn_begin(child->conn, "confirm exec");
	if (r < 0 || !child->confirm_exec)
		return r;
	env.body_case = DROPIPC__V1__ENVELOPE__BODY_EXEC;
	env.exec = &confirm;
	return dropipc__send_envelope(child->conn, &env, NULL, 0);
}

int dropipc_child_send_pty(dropipc_child *child, int master_fd)
{
	Dropipc__V1__Envelope env = DROPIPC__V1__ENVELOPE__INIT;
	Dropipc__V1__PtyHandoff pty = DROPIPC__V1__PTY_HANDOFF__INIT;
	int r;

	r = dropipc__conn_begin(child->conn, "send pty");
	if (r < 0)
		return r;
	if (master_fd < 0)
		return dropipc__conn_fail(child->conn, -EBADF, "master fd %d", master_fd);
	pty.master_fd = 0;
	env.body_case = DROPIPC__V1__ENVELOPE__BODY_PTY;
	env.pty = &pty;
	return dropipc__send_envelope(child->conn, &env, &master_fd, 1);
}

/* Drops a UTF-8 sequence that a cut at len left incomplete at the end of s. */
static void trim_partial_utf8(char *s, size_t len)
{
	size_t i = len, need;
	unsigned char lead;

	while (i > 0 && len - i < 4 && ((unsigned char)s[i - 1] & 0xc0) == 0x80)
		i--;
	if (i == 0)
		return;
	lead = (unsigned char)s[i - 1];
	need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
	if (len - (i - 1) < need)
		s[i - 1] = '\0';
}

int dropipc_child_send_error(dropipc_child *child, dropipc_stage stage, int err,
			     const char *fmt, ...)
{
	Dropipc__V1__Envelope env = DROPIPC__V1__ENVELOPE__INIT;
	Dropipc__V1__ChildError e = DROPIPC__V1__CHILD_ERROR__INIT;
	char text[DROPIPC_MAX_ERROR_TEXT + 1];
	va_list ap;
	int r, n;

	/* Formatted before begin() clears the last error message, which callers
	 * naturally pass as an argument. */
	va_start(ap, fmt);
	n = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	/* The peer refuses invalid UTF-8: never cut inside a character. */
	if (n > DROPIPC_MAX_ERROR_TEXT)
		trim_partial_utf8(text, DROPIPC_MAX_ERROR_TEXT);
	/* File names and strerror() in other locales need not be UTF-8, and a
	 * report the peer refuses would read as a successful exec. */
	dropipc__utf8_repair(text);
	r = dropipc__conn_begin(child->conn, "send error");
	if (r < 0)
		return r;
	e.stage = (Dropipc__V1__ChildError__Stage)stage;
	e.errno_value = err;
	e.message = text;
	env.body_case = DROPIPC__V1__ENVELOPE__BODY_ERROR;
	env.error = &e;
	return dropipc__send_envelope(child->conn, &env, NULL, 0);
}

int dropipc_child_send_files(dropipc_child *child, const dropipc_file *files, size_t n)
{
	int r = dropipc__conn_begin(child->conn, "send files");

	return r < 0 ? r : dropipc__send_files(child->conn, files, n);
}

int dropipc_child_recv_files(dropipc_child *child, dropipc_file **files, size_t *n)
{
	int r;

	*files = NULL;
	*n = 0;
	r = dropipc__conn_begin(child->conn, "recv files");
	return r < 0 ? r : dropipc__recv_files(child->conn, files, n, NULL);
}
