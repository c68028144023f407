/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/* The parent's end: sends ChildArgs, receives the pty (or the child's error). */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

struct dropipc_parent {
	struct dropipc__conn *conn;
	/* The view dropipc_parent_conn() hands out. */
	struct dropipc_conn pub;
	/* The last setup failure the child reported; arena-owned. */
	Dropipc__V1__ChildError *child_error;
	/* wait_exec got the child's ExecConfirm. */
	bool exec_confirmed;
};

int dropipc_parent_new(int fd, dropipc_parent **parent)
{
	dropipc_parent *p;
	int r;

	if (!parent) {
		if (fd >= 0)
			close(fd);
		return -EINVAL;
	}
	*parent = NULL;
	p = calloc(1, sizeof(*p));
	if (!p) {
		if (fd >= 0)
			close(fd);
		return -ENOMEM;
	}
	r = dropipc__conn_new(fd, &p->conn);
	if (r < 0) {
		free(p);
		return r;
	}
	p->pub.c = p->conn;
	p->pub.report = &p->child_error;
	dropipc__conn_set_parent(p->conn);
	*parent = p;
	return 0;
}

dropipc_parent *dropipc_parent_free(dropipc_parent *parent)
{
	if (!parent)
		return NULL;
	dropipc__message_free(parent->child_error);
	dropipc__conn_free(parent->conn);
	free(parent);
	return NULL;
}

dropipc_conn *dropipc_parent_conn(dropipc_parent *parent)
{
	return parent ? &parent->pub : NULL;
}

int dropipc_socketpair(dropipc_parent **parent, int *child_fd)
{
	int sv[2], r;

	if (!parent || !child_fd)
		return -EINVAL;
	*parent = NULL;
	*child_fd = -1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	r = dropipc_parent_new(sv[0], parent);
	if (r == 0)
		r = dropipc__conn_set_peer((*parent)->conn, sv[1]);
	if (r < 0) {
		dropipc_parent_free(*parent);
		*parent = NULL;
		close(sv[1]);
		return r;
	}
	*child_fd = sv[1];
	return 0;
}

int dropipc_parent_set_pidfd(dropipc_parent *parent, int pidfd)
{
	if (!parent)
		return -EINVAL;
	return dropipc__conn_set_pidfd(parent->conn, pidfd);
}

int dropipc_parent_set_peer(dropipc_parent *parent, int child_fd)
{
	if (!parent)
		return -EINVAL;
	if (child_fd < 0)
		return -EBADF;
	return dropipc__conn_set_peer(parent->conn, child_fd);
}

int dropipc_parent_get_child_error(const dropipc_parent *parent, dropipc_stage *stage,
				   int *err, const char **message)
{
	const Dropipc__V1__ChildError *e;

	if (!parent)
		return -EINVAL;
	e = parent->child_error;
	if (!e)
		return -ENODATA;
	if (stage)
		*stage = (dropipc_stage)e->stage;
	if (err)
		*err = e->errno_value;
	if (message)
		*message = e->message;
	return 0;
}

int dropipc_parent_send_args(dropipc_parent *parent, const dropipc_args *args)
{
	Dropipc__V1__Envelope env = DROPIPC__V1__ENVELOPE__INIT;
	Dropipc__V1__ChildArgs msg;
	char err[DROPIPC_ERRMSG_SIZE];
	int r;

	if (!parent)
		return -EINVAL;
	r = dropipc__conn_begin(parent->conn, "send args");
	if (r < 0)
		return r;
	if (!args)
		return dropipc__conn_fail(parent->conn, -EINVAL, "no args");
	r = dropipc__validate_child_args(dropipc__args_msg(args), err, sizeof(err));
	if (r < 0)
		return dropipc__conn_fail(parent->conn, r, "%s", err);
	/* A shallow copy: the caller's args stay as they are. */
	msg = *dropipc__args_msg(args);
	msg.confirm_exec = 1;
	env.body_case = DROPIPC__V1__ENVELOPE__BODY_CHILD_ARGS;
	env.child_args = &msg;
	return dropipc__send_envelope(parent->conn, &env, NULL, 0);
}

/* Starts a receive: the report of an earlier one no longer applies. */
static int begin_recv(dropipc_parent *parent, const char *op)
{
	dropipc__message_free(parent->child_error);
	parent->child_error = NULL;
	return dropipc__conn_begin(parent->conn, op);
}

/*
 * A pty master is the ptmx character device (5:2), opened read-write, on
 * which TIOCGPTN works. Nothing here asks a file system: the type comes
 * from statx(AT_STATX_DONT_SYNC), and the ioctl only reaches a real ptmx.
 */
static int check_pty_master(struct dropipc__conn *c, int fd)
{
	static const struct {
		mode_t type;
		const char *name;
	} kinds[] = {
		{ S_IFREG, "a regular file" }, { S_IFDIR, "a directory" },
		{ S_IFIFO, "a pipe" },	       { S_IFSOCK, "a socket" },
		{ S_IFBLK, "a block device" }, { S_IFCHR, "a character device" },
	};
	const char *kind = "of unknown type";
	unsigned int mode, major, minor, ptn;
	int flags, r;

	r = dropipc__fd_type(fd, &mode, &major, &minor);
	if (r < 0)
		return dropipc__conn_fail(c, r, "statx pty master: %s", dropipc_strerror(r));
	flags = fcntl(fd, F_GETFL);
	if (flags < 0) {
		r = -errno;
		return dropipc__conn_fail(c, r, "fcntl pty master: %s", dropipc_strerror(r));
	}
	/* The device check comes first: a FUSE file could answer the ioctl. */
	if (mode == S_IFCHR && major == 5 && minor == 2 && !(flags & O_PATH) &&
	    ioctl(fd, TIOCGPTN, &ptn) == 0) {
		if ((flags & O_ACCMODE) == O_RDWR)
			return 0;
		return dropipc__conn_fail(c, DROPIPC_ERR_NOTPTY,
					  "the fd sent as pty master is a pty master opened %s, "
					  "not read-write",
					  (flags & O_ACCMODE) == O_RDONLY ? "read-only" : "write-only");
	}
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (mode == kinds[i].type)
			kind = kinds[i].name;
	return dropipc__conn_fail(c, DROPIPC_ERR_NOTPTY, "the fd sent as pty master is %s, not a pty master",
				  kind);
}

int dropipc_parent_recv_pty(dropipc_parent *parent, int *master_fd)
{
	struct dropipc__conn *c;
	struct dropipc__frame f;
	ProtobufCMessage *m;
	Dropipc__V1__PtyHandoff *pty;
	int fd = -1, r;

	if (!parent || !master_fd)
		return -EINVAL;
	c = parent->conn;
	*master_fd = -1;
	r = begin_recv(parent, "recv pty");
	if (r < 0)
		return r;
	r = dropipc__recv_message(c, DROPIPC__V1__ENVELOPE__BODY_PTY,
				  &dropipc__v1__pty_handoff__descriptor, &f, &m,
				  &parent->child_error);
	if (r < 0)
		return r;
	pty = (Dropipc__V1__PtyHandoff *)m;
	if (f.nfds != 1)
		r = dropipc__conn_fail(c, DROPIPC_ERR_PROTO, "expected 1 fd, got %zu", f.nfds);
	if (r == 0)
		r = dropipc__claim_fd(c, &f, pty->master_fd, "master_fd", &fd);
	if (r == 0)
		r = dropipc__frame_finish(c, &f);
	if (r == 0)
		r = check_pty_master(c, fd);
	dropipc__frame_close_fds(c, &f);
	dropipc__message_free(pty);
	if (r < 0) {
		dropipc__conn_close_untrusted(c, &fd, 1);
		return r;
	}
	*master_fd = fd;
	return 0;
}

static int wait_exec(dropipc_parent *parent);

int dropipc_parent_wait_exec(dropipc_parent *parent)
{
	int r;

	if (!parent)
		return -EINVAL;
	r = begin_recv(parent, "wait exec");
	if (r < 0)
		return r;
	/* Two frames, each of which a non-blocking end may get in a later call:
	 * the confirmation is kept across -EAGAIN only. */
	r = wait_exec(parent);
	if (r != -EAGAIN)
		parent->exec_confirmed = false;
	return r;
}

static int wait_exec(dropipc_parent *parent)
{
	struct dropipc__frame f;
	ProtobufCMessage *m;
	int r;

	if (!parent->exec_confirmed) {
		r = dropipc__recv_message(parent->conn, DROPIPC__V1__ENVELOPE__BODY_EXEC,
					  &dropipc__v1__exec_confirm__descriptor, &f, &m,
					  &parent->child_error);
		if (r == DROPIPC_ERR_EOF)
			return dropipc__conn_fail(parent->conn, DROPIPC_ERR_NOEXEC,
						  "the channel closed before the child confirmed its exec");
		if (r < 0)
			return r;
		dropipc__message_free(m);
		r = dropipc__frame_finish(parent->conn, &f);
		if (r < 0)
			return r;
		parent->exec_confirmed = true;
	}
	/* The exec is next: the channel, close-on-exec, closes when it
	 * succeeds, and a report comes instead when it fails. */
	r = dropipc__recv_message(parent->conn, 0, NULL, &f, &m, &parent->child_error);
	if (r == DROPIPC_ERR_EOF) {
		dropipc__conn_clear_error(parent->conn);
		return 0;
	}
	return r;
}
