/* SPDX-License-Identifier: Apache-2.0 OR MIT */
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
	/* The view dropipc_child_conn() hands out. */
	struct dropipc_conn pub;
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

	if (!child) {
		if (fd >= 0)
			close(fd);
		return -EINVAL;
	}
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
	c->pub.c = c->conn;
	*child = c;
	return 0;
}

dropipc_child *dropipc_child_free(dropipc_child *child)
{
	if (!child)
		return NULL;
	dropipc__conn_free(child->conn);
	free(child);
	return NULL;
}

dropipc_conn *dropipc_child_conn(dropipc_child *child)
{
	return child ? &child->pub : NULL;
}

/*
 * Whether the failure r of a receive of ChildArgs goes to the parent as a
 * report: not when the parent is gone (EOF, ETRUNC, a reset), nor for a
 * timeout (the caller may try again, or the parent is not sending), nor for
 * a connection an earlier error broke (that one was reported).
 */
static bool reportable(int r)
{
	switch (r) {
	case DROPIPC_ERR_PROTO:
	case DROPIPC_ERR_TOOBIG:
	case DROPIPC_ERR_INVALID:
	case DROPIPC_ERR_UNSUPPORTED:
	case -ENOMEM:
		return true;
	}
	return false;
}

/* Tells the parent that its ChildArgs could not be used (stage ARGS); the
 * end's error message stays the receive's. */
static void report_args_failure(dropipc_child *child, int r)
{
	char msg[DROPIPC_ERRMSG_SIZE];
	const char *what;
	int broken;

	if (!reportable(r))
		return;
	/* A receive that lost its place in the stream leaves the sending
	 * direction as it was: frames still go out whole. */
	broken = dropipc__conn_broken(child->conn);
	dropipc__conn_set_broken(child->conn, 0);
	snprintf(msg, sizeof(msg), "%s", dropipc__conn_errmsg(child->conn));
	/* "recv args: bad magic ...": the parent knows the stage. */
	what = strncmp(msg, "recv args: ", 11) == 0 ? msg + 11 : msg;
	dropipc_child_send_error(child, DROPIPC_STAGE_ARGS, DROPIPC_IS_ERRNO(r) ? -r : 0,
				 "cannot use the arguments: %s", what);
	if (broken)
		dropipc__conn_set_broken(child->conn, broken);
	dropipc__conn_begin(child->conn, "recv args");
	dropipc__conn_fail(child->conn, r, "%s", what);
}

static int recv_args(dropipc_child *child, dropipc_args **args);

int dropipc_child_recv_args(dropipc_child *child, dropipc_args **args)
{
	int r;

	if (!child || !args)
		return -EINVAL;
	r = recv_args(child, args);
	if (r < 0)
		report_args_failure(child, r);
	return r;
}

static int recv_args(dropipc_child *child, dropipc_args **args)
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

	if (!child)
		return -EINVAL;
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

	if (!child)
		return -EINVAL;
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

int dropipc_child_send_error(dropipc_child *child, dropipc_stage stage, int err,
			     const char *fmt, ...)
{
	Dropipc__V1__Envelope env = DROPIPC__V1__ENVELOPE__INIT;
	Dropipc__V1__ChildError e = DROPIPC__V1__CHILD_ERROR__INIT;
	/* Room past the cut, to see whether a character straddles it. */
	char text[DROPIPC_MAX_ERROR_TEXT + 4];
	va_list ap;
	size_t len;
	int r, n;

	if (!child || !fmt || stage < DROPIPC_STAGE_UNSPECIFIED || stage > DROPIPC_STAGE_EXEC)
		return -EINVAL;
	/* Formatted before begin() clears the last error message, which callers
	 * naturally pass as an argument. */
	va_start(ap, fmt);
	n = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	len = n < 0 ? 0 : (size_t)n < sizeof(text) ? (size_t)n : sizeof(text) - 1;
	/* The peer refuses invalid UTF-8: never cut inside a character. File
	 * names and strerror() in other locales need not be UTF-8 either, and
	 * a report the peer refuses would read as a successful exec. */
	len = dropipc__utf8_cut(text, len, DROPIPC_MAX_ERROR_TEXT);
	text[dropipc_text_sanitize(text, len)] = '\0';
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
