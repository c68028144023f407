/*
 * The connection: frames and fds over a SOCK_STREAM Unix socket.
 *
 * A frame is a 16-byte header (magic "DIPC", version, fd count, payload
 * length, reserved; little-endian) and the payload. fds travel as SCM_RIGHTS
 * with the first byte of the frame. Reads are exact (the header, then the
 * payload), so a recvmsg never crosses into the next frame and every fd that
 * arrives is known to belong to the frame being read.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

struct dropipc__conn {
	int fd;
	int timeout_ms;
	size_t max_payload;
	/* The error that desynchronized the stream, or 0. */
	int broken;
	const char *op;
	uint8_t *sendbuf;
	size_t sendcap;
	uint8_t *recvbuf;
	size_t recvcap;
	char errmsg[DROPIPC_ERRMSG_SIZE];
};

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
	c->fd = fd;
	c->timeout_ms = -1;
	c->max_payload = DROPIPC_DEFAULT_MAX_PAYLOAD;
	c->op = "";
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
	close(c->fd);
	free(c->sendbuf);
	free(c->recvbuf);
	free(c);
}

int dropipc__conn_fd(const struct dropipc__conn *c)
{
	return c->fd;
}

int dropipc__conn_set_timeout(struct dropipc__conn *c, int timeout_ms)
{
	/* The first read of a frame blocks in the kernel for up to the whole
	 * timeout, rather than failing with EAGAIN and polling first: it saves
	 * two system calls on every receive that waits. 0 means forever. */
	struct timeval tv = { .tv_sec = timeout_ms > 0 ? timeout_ms / 1000 : 0,
			      .tv_usec = timeout_ms > 0 ? (timeout_ms % 1000) * 1000 : 0 };

	if (timeout_ms < -1)
		return -EINVAL;
	if (setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
		return -errno;
	c->timeout_ms = timeout_ms;
	return 0;
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
		return dropipc__conn_fail(c, DROPIPC_ECLOSED, "connection unusable after an earlier %s",
					  dropipc_err_name(c->broken));
	return 0;
}

/* An error in the middle of a frame: the stream cannot be resynchronized. */
static int fail_broken(struct dropipc__conn *c, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail_broken(struct dropipc__conn *c, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	dropipc__conn_vfail(c, code, fmt, ap);
	va_end(ap);
	c->broken = code;
	return code;
}

uint8_t *dropipc__conn_send_buffer(struct dropipc__conn *c, size_t n)
{
	uint8_t *p;

	if (n <= c->sendcap)
		return c->sendbuf;
	p = realloc(c->sendbuf, n);
	if (!p)
		return NULL;
	c->sendbuf = p;
	c->sendcap = n;
	return p;
}

/* ---- deadlines ------------------------------------------------------------ */

struct deadline {
	bool forever;
	int timeout_ms;
	struct timespec end;
};

static struct deadline deadline_start(int timeout_ms)
{
	struct deadline d = { .forever = timeout_ms < 0, .timeout_ms = timeout_ms };

	if (!d.forever) {
		clock_gettime(CLOCK_MONOTONIC, &d.end);
		d.end.tv_sec += timeout_ms / 1000;
		d.end.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
		if (d.end.tv_nsec >= 1000000000L) {
			d.end.tv_sec++;
			d.end.tv_nsec -= 1000000000L;
		}
	}
	return d;
}

/* Milliseconds left, rounded up; 0 once the deadline has passed. */
static int deadline_left_ms(const struct deadline *d)
{
	struct timespec now;
	int64_t ns;

	if (d->forever)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &now);
	ns = (int64_t)(d->end.tv_sec - now.tv_sec) * 1000000000LL + (d->end.tv_nsec - now.tv_nsec);
	if (ns <= 0)
		return 0;
	if (ns > (int64_t)INT32_MAX * 1000000LL)
		return INT32_MAX;
	return (int)((ns + 999999) / 1000000);
}

/* Waits until fd is ready for events: 0, DROPIPC_ETIMEDOUT or -errno. */
static int wait_ready(int fd, short events, const struct deadline *d)
{
	struct pollfd p = { .fd = fd, .events = events };
	int left, n;

	for (;;) {
		left = deadline_left_ms(d);
		if (left == 0)
			return DROPIPC_ETIMEDOUT;
		n = poll(&p, 1, left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -errno;
	}
}

/* ---- the header ----------------------------------------------------------- */

struct header {
	uint16_t version;
	uint16_t nfds;
	uint32_t len;
	uint32_t reserved;
};

static void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = v & 0xff;
	p[1] = v >> 8;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	put_le16(p, v & 0xffff);
	put_le16(p + 2, v >> 16);
}

static uint16_t get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get_le32(const uint8_t *p)
{
	return get_le16(p) | (uint32_t)get_le16(p + 2) << 16;
}

static void header_encode(uint8_t *buf, uint32_t len, uint16_t nfds)
{
	memcpy(buf, DROPIPC_MAGIC, 4);
	put_le16(buf + 4, DROPIPC_PROTOCOL_VERSION);
	put_le16(buf + 6, nfds);
	put_le32(buf + 8, len);
	put_le32(buf + 12, 0);
}

static int header_decode(struct dropipc__conn *c, const uint8_t *buf, struct header *h)
{
	if (memcmp(buf, DROPIPC_MAGIC, 4) != 0)
		return fail_broken(c, DROPIPC_EPROTO,
				   "bad magic %02x %02x %02x %02x (expected \"DIPC\")", buf[0],
				   buf[1], buf[2], buf[3]);
	h->version = get_le16(buf + 4);
	h->nfds = get_le16(buf + 6);
	h->len = get_le32(buf + 8);
	h->reserved = get_le32(buf + 12);
	if (h->version != DROPIPC_PROTOCOL_VERSION)
		return fail_broken(c, DROPIPC_EPROTO,
				   "peer speaks protocol version %u, this end speaks version %u",
				   h->version, DROPIPC_PROTOCOL_VERSION);
	if (h->reserved != 0)
		return fail_broken(c, DROPIPC_EPROTO, "reserved header field is 0x%x, not 0",
				   h->reserved);
	if (h->nfds > DROPIPC_MAX_FDS)
		return fail_broken(c, DROPIPC_EPROTO, "header announces %u fds, the maximum is %d",
				   h->nfds, DROPIPC_MAX_FDS);
	if (h->len > c->max_payload)
		return fail_broken(c, DROPIPC_ETOOBIG,
				   "payload of %u bytes exceeds the limit of %zu bytes", h->len,
				   c->max_payload);
	return 0;
}

/* ---- sending ------------------------------------------------------------- */

int dropipc__frame_send(struct dropipc__conn *c, const uint8_t *payload, size_t len,
			const int *fds, size_t nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * DROPIPC_MAX_FDS)];
		struct cmsghdr align;
	} ctrl;
	uint8_t hdr[DROPIPC_HEADER_SIZE];
	struct iovec iov[2] = {
		{ .iov_base = hdr, .iov_len = sizeof(hdr) },
		{ .iov_base = (void *)payload, .iov_len = len },
	};
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = 2 };
	struct deadline d = deadline_start(c->timeout_ms);
	int flags = MSG_NOSIGNAL | (d.forever ? 0 : MSG_DONTWAIT);
	size_t sent = 0, total = sizeof(hdr) + len;
	ssize_t n;
	int r;

	if (len > UINT32_MAX || len > c->max_payload)
		return dropipc__conn_fail(c, DROPIPC_ETOOBIG,
					  "payload of %zu bytes exceeds the limit of %zu bytes", len,
					  c->max_payload);
	if (nfds > DROPIPC_MAX_FDS)
		return dropipc__conn_fail(c, -EINVAL, "%zu fds, the maximum is %d", nfds,
					  DROPIPC_MAX_FDS);
	header_encode(hdr, (uint32_t)len, (uint16_t)nfds);
	if (nfds > 0) {
		struct cmsghdr *cm;

		memset(&ctrl, 0, sizeof(ctrl));
		msg.msg_control = ctrl.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
	}

	while (sent < total) {
		n = sendmsg(c->fd, &msg, flags);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				r = wait_ready(c->fd, POLLOUT, &d);
				if (r == 0)
					continue;
			} else {
				r = -errno;
			}
			if (sent == 0)
				return dropipc__conn_fail(c, r, "send: %s", dropipc_strerror(r));
			return fail_broken(c, r, "send: %s after %zu of %zu bytes",
					   dropipc_strerror(r), sent, total);
		}
		/* The fds went with the first byte: never send them twice. */
		msg.msg_control = NULL;
		msg.msg_controllen = 0;
		sent += (size_t)n;
		while (n > 0 && msg.msg_iovlen > 0) {
			size_t step = (size_t)n < msg.msg_iov->iov_len ? (size_t)n : msg.msg_iov->iov_len;

			msg.msg_iov->iov_base = (uint8_t *)msg.msg_iov->iov_base + step;
			msg.msg_iov->iov_len -= step;
			n -= (ssize_t)step;
			if (msg.msg_iov->iov_len == 0) {
				msg.msg_iov++;
				msg.msg_iovlen--;
			}
		}
	}
	return 0;
}

/* ---- receiving ----------------------------------------------------------- */

void dropipc__frame_close_fds(struct dropipc__frame *f)
{
	dropipc__fd_close_untrusted_n(f->fds, f->nfds);
	f->nfds = 0;
}

/*
 * Moves the fds of msg's control data into f. Returns the number that
 * arrived, closing those that do not fit (they are counted all the same).
 */
static size_t take_fds(struct dropipc__conn *c, struct msghdr *msg, struct dropipc__frame *f,
		       bool *foreign, bool *own_end)
{
	size_t arrived = 0;

	for (struct cmsghdr *cm = CMSG_FIRSTHDR(msg); cm; cm = CMSG_NXTHDR(msg, cm)) {
		size_t n;
		int fd;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS) {
			*foreign = true;
			continue;
		}
		n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			/* Holding the peer's own end, we would never see its EOF. */
			if (dropipc__fd_is_channel_peer(c->fd, fd) == 1)
				*own_end = true;
			if (f->nfds < DROPIPC_MAX_FDS)
				f->fds[f->nfds++] = fd;
			else
				dropipc__fd_close_untrusted(fd);
			arrived++;
		}
	}
	return arrived;
}

/*
 * Reads exactly len bytes of the current frame into buf; at is how much of
 * the frame was read before. fds may only come with the frame's first byte.
 */
static int recv_exact(struct dropipc__conn *c, uint8_t *buf, size_t len, size_t at,
		      struct dropipc__frame *f, const struct deadline *d)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * DROPIPC_MAX_FDS)];
		struct cmsghdr align;
	} ctrl;
	int flags = MSG_CMSG_CLOEXEC | (d->forever ? 0 : MSG_DONTWAIT);
	/* Wait in recvmsg itself, under SO_RCVTIMEO, before the frame starts. */
	bool in_kernel = at == 0 && !d->forever && d->timeout_ms > 0;
	size_t got = 0;

	while (got < len) {
		struct iovec iov = { .iov_base = buf + got, .iov_len = len - got };
		struct msghdr msg = {
			.msg_iov = &iov,
			.msg_iovlen = 1,
			.msg_control = ctrl.buf,
			.msg_controllen = sizeof(ctrl.buf),
		};
		bool foreign = false, own_end = false;
		size_t arrived;
		ssize_t n;
		int r;

		n = recvmsg(c->fd, &msg, in_kernel ? flags & ~MSG_DONTWAIT : flags);
		/* A peer that closed with our data unread is a peer that closed
		 * (and a failed recvmsg filled in no control data). */
		if (n < 0 && errno == ECONNRESET) {
			n = 0;
			msg.msg_controllen = 0;
			msg.msg_flags = 0;
		}
		if (n < 0) {
			/* After a signal or SO_RCVTIMEO, the deadline decides. */
			in_kernel = false;
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				r = wait_ready(c->fd, POLLIN, d);
				if (r == 0)
					continue;
			} else {
				r = -errno;
			}
			if (at + got == 0)
				return dropipc__conn_fail(c, r, "waiting for a frame: %s",
							  dropipc_strerror(r));
			return fail_broken(c, r, "%s after %zu bytes of the frame",
					   dropipc_strerror(r), at + got);
		}
		arrived = take_fds(c, &msg, f, &foreign, &own_end);
		if (own_end)
			return fail_broken(c, DROPIPC_EPROTO,
					   "an fd of the frame is the other end of this channel");
		if (msg.msg_flags & MSG_CTRUNC)
			return fail_broken(c, DROPIPC_EPROTO,
					   "control data truncated after %zu fds: the peer sent more than %d, "
					   "or this process is out of fds (RLIMIT_NOFILE)",
					   arrived, DROPIPC_MAX_FDS);
		if (foreign)
			return fail_broken(c, DROPIPC_EPROTO,
					   "ancillary data other than SCM_RIGHTS");
		if (arrived > 0 && at + got > 0)
			return fail_broken(c, DROPIPC_EPROTO,
					   "%zu fds arrived at byte %zu of the frame, not with its first byte",
					   arrived, at + got);
		if (n == 0) {
			if (at + got == 0)
				return dropipc__conn_fail(c, DROPIPC_EOF, "peer closed the connection");
			return fail_broken(c, DROPIPC_ETRUNC,
					   "peer closed the connection after %zu bytes of the frame",
					   at + got);
		}
		got += (size_t)n;
		/* SO_RCVTIMEO restarts on every read: once the frame has begun,
		 * only the deadline may bound the wait. */
		in_kernel = false;
	}
	return 0;
}

int dropipc__frame_recv(struct dropipc__conn *c, struct dropipc__frame *f)
{
	static const uint8_t no_payload[1];
	struct deadline d = deadline_start(c->timeout_ms);
	uint8_t hdr[DROPIPC_HEADER_SIZE];
	struct header h = { 0 };
	int r;

	f->payload = NULL;
	f->len = 0;
	f->nfds = 0;
	r = recv_exact(c, hdr, sizeof(hdr), 0, f, &d);
	if (r < 0)
		goto fail;
	r = header_decode(c, hdr, &h);
	if (r < 0)
		goto fail;
	if (f->nfds != h.nfds) {
		r = fail_broken(c, DROPIPC_EPROTO, "header announces %u fds, %zu arrived", h.nfds,
				f->nfds);
		goto fail;
	}
	if (h.len > c->recvcap) {
		uint8_t *p = realloc(c->recvbuf, h.len);

		if (!p) {
			r = fail_broken(c, -ENOMEM, "no memory for a payload of %u bytes", h.len);
			goto fail;
		}
		c->recvbuf = p;
		c->recvcap = h.len;
	}
	r = recv_exact(c, c->recvbuf, h.len, sizeof(hdr), f, &d);
	if (r < 0)
		goto fail;
	/* An empty payload on a fresh connection has no buffer; NULL + 0 is
	 * undefined behaviour for the readers that walk it. */
	f->payload = c->recvbuf ? c->recvbuf : no_payload;
	f->len = h.len;
	return 0;

fail:
	dropipc__frame_close_fds(f);
	return r;
}
