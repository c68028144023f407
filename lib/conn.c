/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * The connection: the state of one end's socket apart from the frames on
 * it. Its settings (timeout, payload limit, non-blocking mode, close
 * policy, the channel's own ends), its errors (the message, and the error
 * that broke the stream), cancel (an eventfd any thread or a signal handler
 * writes), the child's pidfd, and the waits: a blocking call is a step of
 * the codec (frame.c) in a loop around dropipc__conn_wait(), a poll() on
 * the socket, the cancel eventfd and the pidfd, so that neither a
 * half-sent frame nor a dead child can hold it past its deadline. Last,
 * the public calls on a connection (dropipc_conn_*), each checking its
 * arguments as the header says.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "conn.h"

/* ---- the connection ----------------------------------------------------- */

/* The channel must be a Unix stream socket: exact reads depend on it. */
static int check_socket(int fd)
{
	int type = 0, domain = 0;
	socklen_t len = sizeof(int);

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0)
		return -errno;
	len = sizeof(int);
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0)
		return -errno;
	return type == SOCK_STREAM && domain == AF_UNIX ? 0 : -EPROTOTYPE;
}

int dropipc__conn_new(int fd, struct dropipc__conn **out)
{
	struct dropipc__conn *c = NULL;
	int r;

	*out = NULL;
	if (fd < 0)
		return -EBADF;
	r = check_socket(fd);
	if (r < 0)
		goto fail;
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
		r = -errno;
		goto fail;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		r = -ENOMEM;
		goto fail;
	}
	r = dropipc__fd_inode(fd, &c->own);
	if (r < 0 || (r = dropipc__closer_new(&c->closer)) < 0) {
		free(c);
		goto fail;
	}
	c->cancel_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (c->cancel_fd < 0) {
		r = -errno;
		dropipc__closer_free(c->closer);
		free(c);
		goto fail;
	}
	c->fd = fd;
	c->timeout_ms = -1;
	c->max_payload = DROPIPC_DEFAULT_MAX_PAYLOAD;
	c->op = "";
	c->pidfd = -1;
	atomic_init(&c->cancelled, 0);
	*out = c;
	return 0;

fail:
	close(fd);
	return r;
}

void dropipc__conn_free(struct dropipc__conn *c)
{
	if (!c)
		return;
	dropipc__frame_state_free(c);
	/* The socket's receive queue holds what the peer sent and this end has
	 * not read, fds included: its last close releases them, with all the
	 * waits of a received socket's close. So it goes to the close policy
	 * as a received one does, never closed inline. */
	dropipc__close_untrusted(c->closer, &c->fd, 1);
	dropipc__closer_free(c->closer);
	close(c->cancel_fd);
	if (c->pidfd >= 0)
		close(c->pidfd);
	free(c);
}

int dropipc__conn_fd(const struct dropipc__conn *c)
{
	return c->fd;
}

int dropipc__conn_set_timeout(struct dropipc__conn *c, int timeout_ms)
{
	if (timeout_ms < -1)
		return -EINVAL;
	c->timeout_ms = timeout_ms;
	c->timeout_set = true;
	return 0;
}

/* The timeout in force: the caller's, or the default (see the header). */
int dropipc__conn_timeout(const struct dropipc__conn *c)
{
	if (c->timeout_set)
		return c->timeout_ms;
	return c->parent && c->pidfd < 0 ? (int)(DROPIPC_DEFAULT_TIMEOUT / 1000) : -1;
}

void dropipc__conn_set_parent(struct dropipc__conn *c)
{
	c->parent = true;
}

int dropipc__conn_set_peer(struct dropipc__conn *c, int peer_fd)
{
	struct dropipc__inode ino;
	int r;

	if (peer_fd < 0) {
		c->peer_known = false;
		return 0;
	}
	r = check_socket(peer_fd);
	if (r == 0)
		r = dropipc__fd_inode(peer_fd, &ino);
	if (r < 0)
		return r;
	c->peer = ino;
	c->peer_known = true;
	return 0;
}

int dropipc__conn_set_close(struct dropipc__conn *c, int mode, dropipc_close_fn fn, void *data)
{
	return dropipc__closer_set(c->closer, mode, fn, data);
}

void dropipc__conn_close_untrusted(struct dropipc__conn *c, int *fds, size_t n)
{
	dropipc__close_untrusted(c->closer, fds, n);
}

int dropipc__conn_set_max_payload(struct dropipc__conn *c, size_t bytes)
{
	if (bytes == 0 || bytes > DROPIPC_MAX_PAYLOAD_LIMIT)
		return -EINVAL;
	c->max_payload = bytes;
	return 0;
}

size_t dropipc__conn_max_payload(const struct dropipc__conn *c)
{
	return c->max_payload;
}

int dropipc__conn_set_nonblocking(struct dropipc__conn *c, bool on)
{
	c->nonblocking = on;
	return 0;
}

int dropipc__conn_set_pidfd(struct dropipc__conn *c, int pidfd)
{
	int copy = -1;

	if (pidfd < -1)
		return -EBADF;
	if (pidfd >= 0) {
		copy = fcntl(pidfd, F_DUPFD_CLOEXEC, 3);
		if (copy < 0)
			return -errno;
	}
	if (c->pidfd >= 0)
		close(c->pidfd);
	c->pidfd = copy;
	return 0;
}

int dropipc__conn_cancel(struct dropipc__conn *c)
{
	uint64_t one = 1;
	int saved = errno;
	ssize_t n;

	atomic_store(&c->cancelled, 1);
	do
		n = write(c->cancel_fd, &one, sizeof(one));
	while (n < 0 && errno == EINTR);
	/* A signal handler must leave errno as it found it. */
	errno = saved;
	return 0;
}

/* Takes a pending cancel: whether there was one. */
bool dropipc__conn_cancel_take(struct dropipc__conn *c)
{
	uint64_t v;

	if (!atomic_load_explicit(&c->cancelled, memory_order_relaxed) ||
	    !atomic_exchange(&c->cancelled, 0))
		return false;
	/* Its wake-up is spent too (a late one only wakes a poll for nothing). */
	while (read(c->cancel_fd, &v, sizeof(v)) < 0 && errno == EINTR)
		;
	return true;
}

const char *dropipc__conn_errmsg(const struct dropipc__conn *c)
{
	return c->errmsg;
}

int dropipc__conn_vfail(struct dropipc__conn *c, int code, const char *fmt, va_list ap)
{
	int n = snprintf(c->errmsg, sizeof(c->errmsg), "%s: ", c->op);

	if (n < 0 || (size_t)n >= sizeof(c->errmsg))
		n = 0;
	vsnprintf(c->errmsg + n, sizeof(c->errmsg) - n, fmt, ap);
	return code;
}

int dropipc__conn_fail(struct dropipc__conn *c, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	dropipc__conn_vfail(c, code, fmt, ap);
	va_end(ap);
	return code;
}

void dropipc__conn_clear_error(struct dropipc__conn *c)
{
	c->errmsg[0] = '\0';
}

int dropipc__conn_broken(const struct dropipc__conn *c)
{
	return c->broken;
}

void dropipc__conn_set_broken(struct dropipc__conn *c, int code)
{
	c->broken = code;
}

int dropipc__conn_begin(struct dropipc__conn *c, const char *op)
{
	c->op = op;
	dropipc__conn_clear_error(c);
	if (c->broken)
		return dropipc__conn_fail(c, DROPIPC_ERR_CLOSED, "connection unusable after an earlier %s",
					  dropipc_err_name(c->broken));
	return 0;
}

int dropipc__conn_vfail_broken(struct dropipc__conn *c, int code, const char *fmt, va_list ap)
{
	dropipc__conn_vfail(c, code, fmt, ap);
	c->broken = code;
	return code;
}

/* ---- waiting -------------------------------------------------------------- */

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t dropipc__deadline_after(int timeout_ms)
{
	return timeout_ms < 0 ? NO_DEADLINE : now_us() + (uint64_t)timeout_ms * 1000u;
}

bool dropipc__deadline_passed(uint64_t deadline)
{
	return deadline != NO_DEADLINE && now_us() >= deadline;
}

/* Milliseconds left for poll(), rounded up; -1 for none, 0 once passed. */
static int deadline_left_ms(uint64_t deadline)
{
	uint64_t now;

	if (deadline == NO_DEADLINE)
		return -1;
	now = now_us();
	if (now >= deadline)
		return 0;
	if ((deadline - now) / 1000u >= INT_MAX)
		return INT_MAX;
	return (int)((deadline - now + 999u) / 1000u);
}

/* What dropipc__conn_wait() saw on the pidfd: the child is dead. */
#define DROPIPC__WAIT_DEAD 1

/* Whether the child's pidfd says it has died (never waits). */
bool dropipc__conn_child_dead(const struct dropipc__conn *c)
{
	struct pollfd p = { .fd = c->pidfd, .events = POLLIN };

	if (c->pidfd < 0)
		return false;
	while (poll(&p, 1, 0) < 0)
		if (errno != EINTR)
			return false;
	return p.revents != 0;
}

/*
 * Waits until the socket is ready for events: 0; DROPIPC__WAIT_DEAD when the child's
 * pidfd fires first; -ECANCELED, DROPIPC_ERR_TIMEDOUT or -errno.
 */
int dropipc__conn_wait(struct dropipc__conn *c, short events, uint64_t deadline)
{
	struct pollfd p[3] = {
		{ .fd = c->fd, .events = events },
		{ .fd = c->cancel_fd, .events = POLLIN },
		{ .fd = c->pidfd, .events = POLLIN },
	};
	nfds_t n = c->pidfd >= 0 ? 3 : 2;
	int left, r;

	for (;;) {
		if (dropipc__conn_cancel_take(c))
			return -ECANCELED;
		left = deadline_left_ms(deadline);
		if (left == 0)
			return DROPIPC_ERR_TIMEDOUT;
		r = poll(p, n, left);
		if (r < 0 && errno != EINTR)
			return -errno;
		if (r <= 0)
			continue;
		/* A cancel is taken at the top of the loop; a stale wake-up only
		 * needs draining. */
		if (p[1].revents) {
			uint64_t v;

			while (read(c->cancel_fd, &v, sizeof(v)) < 0 && errno == EINTR)
				;
			if (dropipc__conn_cancel_take(c))
				return -ECANCELED;
		}
		if (n == 3 && p[2].revents)
			return DROPIPC__WAIT_DEAD;
		if (p[0].revents)
			return 0;
	}
}

/* ---- the public calls ---------------------------------------------------- */

int dropipc_conn_get_fd(const dropipc_conn *conn)
{
	if (!conn)
		return -EINVAL;
	return dropipc__conn_fd(conn->c);
}

int dropipc_conn_set_timeout(dropipc_conn *conn, uint64_t usec)
{
	uint64_t ms;

	if (!conn)
		return -EINVAL;
	if (usec == DROPIPC_TIMEOUT_INFINITE)
		return dropipc__conn_set_timeout(conn->c, -1);
	/* The waits count in milliseconds: round up, so that a short timeout
	 * is not "fail at once", and cap at what poll() takes. */
	ms = usec / 1000 + (usec % 1000 != 0);
	return dropipc__conn_set_timeout(conn->c, ms > INT_MAX ? INT_MAX : (int)ms);
}

int dropipc_conn_set_max_payload(dropipc_conn *conn, size_t bytes)
{
	if (!conn)
		return -EINVAL;
	return dropipc__conn_set_max_payload(conn->c, bytes);
}

const char *dropipc_conn_get_errmsg(const dropipc_conn *conn)
{
	if (!conn)
		return "";
	return dropipc__conn_errmsg(conn->c);
}

int dropipc_conn_set_close(dropipc_conn *conn, int mode, dropipc_close_fn fn, void *data)
{
	if (!conn)
		return -EINVAL;
	return dropipc__conn_set_close(conn->c, mode, fn, data);
}

int dropipc_conn_cancel(dropipc_conn *conn)
{
	if (!conn)
		return -EINVAL;
	return dropipc__conn_cancel(conn->c);
}

int dropipc_conn_set_nonblocking(dropipc_conn *conn, int on)
{
	if (!conn || (on != 0 && on != 1))
		return -EINVAL;
	return dropipc__conn_set_nonblocking(conn->c, on);
}

int dropipc_conn_get_events(const dropipc_conn *conn)
{
	if (!conn)
		return -EINVAL;
	return dropipc__conn_events(conn->c);
}

int dropipc_conn_get_deadline(const dropipc_conn *conn, uint64_t *usec)
{
	if (!conn || !usec)
		return -EINVAL;
	*usec = dropipc__conn_deadline(conn->c);
	return 0;
}

int dropipc_conn_flush(dropipc_conn *conn)
{
	int r;

	if (!conn)
		return -EINVAL;
	r = dropipc__conn_begin(conn->c, "flush");
	return r < 0 ? r : dropipc__conn_flush(conn->c);
}

int dropipc_conn_send_files(dropipc_conn *conn, const dropipc_file *files, size_t n)
{
	int r;

	if (!conn || !files)
		return -EINVAL;
	r = dropipc__conn_begin(conn->c, "send files");
	return r < 0 ? r : dropipc__send_files(conn->c, files, n);
}

/* A new receive on the parent's end forgets the child's last report. */
static void forget_report(dropipc_conn *conn)
{
	if (conn->report) {
		dropipc__message_free(*conn->report);
		*conn->report = NULL;
	}
}

int dropipc_conn_recv_files(dropipc_conn *conn, dropipc_file **files, size_t *n)
{
	int r;

	if (!conn || !files || !n)
		return -EINVAL;
	*files = NULL;
	*n = 0;
	forget_report(conn);
	r = dropipc__conn_begin(conn->c, "recv files");
	if (r < 0)
		return r;
	return dropipc__recv_files(conn->c, files, n, conn->report);
}

int dropipc_conn_send_custom(dropipc_conn *conn, const char *type, const void *data, size_t len,
			     const dropipc_file *files, size_t n)
{
	int r;

	if (!conn || !type || (!data && len) || (!files && n))
		return -EINVAL;
	r = dropipc__conn_begin(conn->c, "send custom");
	return r < 0 ? r : dropipc__send_custom(conn->c, type, data, len, files, n);
}

int dropipc_conn_recv_custom(dropipc_conn *conn, dropipc_custom **msg)
{
	int r;

	if (!conn || !msg)
		return -EINVAL;
	*msg = NULL;
	forget_report(conn);
	r = dropipc__conn_begin(conn->c, "recv custom");
	return r < 0 ? r : dropipc__recv_custom(conn->c, msg, conn->report);
}
