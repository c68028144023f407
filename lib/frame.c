/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * The frame codec: frames and fds over the connection's SOCK_STREAM Unix
 * socket.
 *
 * A frame is a 16-byte header (magic "DIPC", version, fd count, payload
 * length, reserved; little-endian) and the payload. fds travel as SCM_RIGHTS
 * with the first byte of the frame. Reads are exact (the header, then the
 * payload), so a recvmsg never crosses into the next frame and every fd that
 * arrives is known to belong to the frame being read.
 *
 * Every system call on the socket is non-blocking (MSG_DONTWAIT; the file's
 * own flags are left alone, the child may share them). A receive is a state
 * machine kept in the connection (rx), fed by whatever the socket has; a
 * send goes through the queue (tx), which the socket drains. A blocking
 * call is the same step in a loop around dropipc__conn_wait() (conn.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conn.h"

/* An error in the middle of a frame: the stream cannot be resynchronized. */
static int fail_broken(struct dropipc__conn *c, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail_broken(struct dropipc__conn *c, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	dropipc__conn_vfail_broken(c, code, fmt, ap);
	va_end(ap);
	return code;
}

/* Frees a buffer past DROPIPC__KEEP_BUFFER bytes; the next use allocates
 * what it needs. */
static void buffer_shrink(uint8_t **buf, size_t *cap)
{
	if (*cap <= DROPIPC__KEEP_BUFFER)
		return;
	free(*buf);
	*buf = NULL;
	*cap = 0;
}

static void tx_clear(struct tx_queue *tx)
{
	for (size_t i = tx->cur; i < tx->n; i++) {
		for (size_t k = 0; k < tx->frames[i].nfds; k++)
			close(tx->frames[i].fds[k]);
		tx->frames[i].nfds = 0;
	}
	tx->head = tx->len = 0;
	tx->cur = tx->n = 0;
	tx->nfds = 0;
	buffer_shrink(&tx->buf, &tx->cap);
}

static void rx_reset(struct dropipc__conn *c)
{
	struct rx_state *rx = &c->rx;

	dropipc__frame_close_fds(c, &rx->fds);
	rx->active = false;
	rx->got = 0;
	rx->len = 0;
}

/* Room for total more bytes at the queue's tail. Grows by doubling, but
 * never past what a large frame needs, so that a buffer one frame grew
 * is no larger than that frame. */
static int tx_reserve(struct tx_queue *tx, size_t total)
{
	size_t need = tx->len + total, cap;
	uint8_t *p;

	if (need <= tx->cap)
		return 0;
	cap = tx->cap * 2 > 4096 ? tx->cap * 2 : 4096;
	if (cap < need)
		cap = need;
	if (cap > DROPIPC__KEEP_BUFFER)
		cap = need > DROPIPC__KEEP_BUFFER ? need : DROPIPC__KEEP_BUFFER;
	p = realloc(tx->buf, cap);
	if (!p)
		return -ENOMEM;
	tx->buf = p;
	tx->cap = cap;
	return 0;
}

uint8_t *dropipc__conn_send_buffer(struct dropipc__conn *c, size_t n)
{
	struct tx_queue *tx = &c->tx;

	/* At the queue's tail, past the frame's header: tx_append() then
	 * finds the payload in place. */
	if (tx_reserve(tx, DROPIPC_HEADER_SIZE + n) < 0)
		return NULL;
	return tx->buf + tx->len + DROPIPC_HEADER_SIZE;
}

/* Drops what the codec holds: the partial frame, the queue, the buffers. */
void dropipc__frame_state_free(struct dropipc__conn *c)
{
	rx_reset(c);
	tx_clear(&c->tx);
	free(c->tx.buf);
	free(c->tx.frames);
	free(c->recvbuf);
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
		return fail_broken(c, DROPIPC_ERR_PROTO,
				   "bad magic %02x %02x %02x %02x (expected \"DIPC\")", buf[0],
				   buf[1], buf[2], buf[3]);
	h->version = get_le16(buf + 4);
	h->nfds = get_le16(buf + 6);
	h->len = get_le32(buf + 8);
	h->reserved = get_le32(buf + 12);
	if (h->version != DROPIPC_PROTOCOL_VERSION)
		return fail_broken(c, DROPIPC_ERR_PROTO,
				   "peer speaks protocol version %u, this end speaks version %u",
				   h->version, DROPIPC_PROTOCOL_VERSION);
	if (h->reserved != 0)
		return fail_broken(c, DROPIPC_ERR_PROTO, "reserved header field is 0x%x, not 0",
				   h->reserved);
	if (h->nfds > DROPIPC_MAX_FDS)
		return fail_broken(c, DROPIPC_ERR_PROTO, "header announces %u fds, the maximum is %d",
				   h->nfds, DROPIPC_MAX_FDS);
	if (h->len > c->max_payload)
		return fail_broken(c, DROPIPC_ERR_TOOBIG,
				   "payload of %u bytes exceeds the limit of %zu bytes", h->len,
				   c->max_payload);
	return 0;
}

/* ---- sending ------------------------------------------------------------- */

union ctrl_buf {
	char buf[CMSG_SPACE(sizeof(int) * DROPIPC_MAX_FDS)];
	struct cmsghdr align;
};

/* Attaches nfds fds to msg as SCM_RIGHTS, in ctrl. */
static void attach_fds(struct msghdr *msg, union ctrl_buf *ctrl, const int *fds, size_t nfds)
{
	struct cmsghdr *cm;

	if (nfds == 0)
		return;
	memset(ctrl, 0, sizeof(*ctrl));
	msg->msg_control = ctrl->buf;
	msg->msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
	cm = CMSG_FIRSTHDR(msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
	memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
}

static bool tx_empty(const struct tx_queue *tx)
{
	return tx->head == tx->len;
}

/*
 * Queues a frame (header hdr, then payload); fds, which go with its first
 * byte, are copied (F_DUPFD_CLOEXEC). Nothing is queued on failure.
 */
static int tx_append(struct dropipc__conn *c, const uint8_t *hdr, const uint8_t *payload,
		     size_t len, const int *fds, size_t nfds, uint64_t deadline)
{
	struct tx_queue *tx = &c->tx;
	size_t total = DROPIPC_HEADER_SIZE + len;
	struct tx_frame *fr;

	/* A peer that does not read must not make this end hold without
	 * bound: an empty queue takes any one frame, a full one nothing. */
	if (!tx_empty(tx) && (tx->len - tx->head + total > DROPIPC_MAX_QUEUED_BYTES ||
			      tx->nfds + nfds > DROPIPC_MAX_QUEUED_FDS))
		return -ENOBUFS;
	if (tx_reserve(tx, total) < 0)
		return -ENOMEM;
	if (tx->n == tx->nalloc) {
		size_t n = tx->nalloc ? tx->nalloc * 2 : 4;
		struct tx_frame *p = realloc(tx->frames, n * sizeof(*p));

		if (!p)
			return -ENOMEM;
		tx->frames = p;
		tx->nalloc = n;
	}
	fr = &tx->frames[tx->n];
	fr->at = tx->len;
	fr->len = total;
	fr->deadline = deadline;
	fr->nfds = 0;
	for (size_t i = 0; i < nfds; i++) {
		int fd = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);

		if (fd < 0) {
			int r = -errno;

			while (fr->nfds > 0)
				close(fr->fds[--fr->nfds]);
			return r;
		}
		fr->fds[fr->nfds++] = fd;
	}
	tx->nfds += fr->nfds;
	memcpy(tx->buf + tx->len, hdr, DROPIPC_HEADER_SIZE);
	/* A payload packed in place (dropipc__conn_send_buffer()) is there. */
	if (len > 0 && payload != tx->buf + tx->len + DROPIPC_HEADER_SIZE)
		memcpy(tx->buf + tx->len + DROPIPC_HEADER_SIZE, payload, len);
	tx->len += total;
	tx->n++;
	return 0;
}

/*
 * Gives up on the queue after error r. Frames not begun are dropped and
 * their fd copies closed; a frame cut short breaks the stream.
 */
static int tx_abort(struct dropipc__conn *c, int r)
{
	struct tx_queue *tx = &c->tx;
	const struct tx_frame *fr = &tx->frames[tx->cur];
	size_t sent = tx->head - fr->at, total = fr->len;

	tx_clear(tx);
	if (sent == 0)
		return dropipc__conn_fail(c, r, "send: %s", dropipc_strerror(r));
	return fail_broken(c, r, "send: %s after %zu of %zu bytes", dropipc_strerror(r), sent,
			   total);
}

/* Writes what the socket takes: 0 once the queue is empty, -EAGAIN, or an error. */
static int tx_flush(struct dropipc__conn *c)
{
	struct tx_queue *tx = &c->tx;

	while (!tx_empty(tx)) {
		struct tx_frame *fr = &tx->frames[tx->cur];
		size_t end = tx->len;
		union ctrl_buf ctrl;
		struct iovec iov;
		struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
		bool with_fds = tx->head == fr->at && fr->nfds > 0;
		ssize_t n;

		/* fds go with their frame's first byte and no earlier byte: a
		 * frame that has fds starts a sendmsg of its own. */
		for (size_t k = tx->cur + 1; k < tx->n; k++) {
			if (tx->frames[k].nfds > 0) {
				end = tx->frames[k].at;
				break;
			}
		}
		iov = (struct iovec){ .iov_base = tx->buf + tx->head, .iov_len = end - tx->head };
		if (with_fds)
			attach_fds(&msg, &ctrl, fr->fds, fr->nfds);
		n = sendmsg(c->fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return -EAGAIN;
			return tx_abort(c, -errno);
		}
		if (with_fds) {
			for (size_t k = 0; k < fr->nfds; k++)
				close(fr->fds[k]);
			tx->nfds -= fr->nfds;
			fr->nfds = 0;
		}
		tx->head += (size_t)n;
		while (tx->cur < tx->n &&
		       tx->head >= tx->frames[tx->cur].at + tx->frames[tx->cur].len)
			tx->cur++;
	}
	tx_clear(tx);
	return 0;
}

/* The deadline of the frame at the head of the queue. */
static uint64_t tx_deadline(const struct tx_queue *tx)
{
	return tx_empty(tx) ? NO_DEADLINE : tx->frames[tx->cur].deadline;
}

/* Flushes the queue; in blocking mode, waiting until it is empty. */
static int tx_drain(struct dropipc__conn *c)
{
	int r;

	for (;;) {
		r = tx_flush(c);
		if (r != -EAGAIN)
			return r;
		if (c->nonblocking)
			return dropipc__deadline_passed(tx_deadline(&c->tx)) ? tx_abort(c, DROPIPC_ERR_TIMEDOUT)
								     : -EAGAIN;
		r = dropipc__conn_wait(c, POLLOUT, tx_deadline(&c->tx));
		if (r == DROPIPC__WAIT_DEAD)
			r = DROPIPC_ERR_DEAD;
		if (r < 0)
			return tx_abort(c, r);
	}
}

/*
 * One send path: the frame goes into the queue (the payload copied, the fds
 * duplicated), and the queue drains into the socket; a blocking end waits
 * until it is empty, a non-blocking one leaves the rest for flush.
 */
int dropipc__frame_send(struct dropipc__conn *c, const uint8_t *payload, size_t len,
			const int *fds, size_t nfds)
{
	uint8_t hdr[DROPIPC_HEADER_SIZE];
	size_t total = sizeof(hdr) + len;
	int r;

	if (len > UINT32_MAX || len > c->max_payload)
		return dropipc__conn_fail(c, DROPIPC_ERR_TOOBIG,
					  "payload of %zu bytes exceeds the limit of %zu bytes", len,
					  c->max_payload);
	if (nfds > DROPIPC_MAX_FDS)
		return dropipc__conn_fail(c, -EINVAL, "%zu fds, the maximum is %d", nfds,
					  DROPIPC_MAX_FDS);
	if (!c->nonblocking && dropipc__conn_cancel_take(c))
		return dropipc__conn_fail(c, -ECANCELED, "send: %s", dropipc_strerror(-ECANCELED));
	header_encode(hdr, (uint32_t)len, (uint16_t)nfds);
	r = tx_append(c, hdr, payload, len, fds, nfds,
		      dropipc__deadline_after(dropipc__conn_timeout(c)));
	if (r == -ENOBUFS)
		return dropipc__conn_fail(c, r,
					  "send queue full: %zu bytes and %zu fds wait for the peer, "
					  "the limits are %u bytes and %d fds",
					  c->tx.len - c->tx.head, c->tx.nfds, DROPIPC_MAX_QUEUED_BYTES,
					  DROPIPC_MAX_QUEUED_FDS);
	if (r < 0)
		return dropipc__conn_fail(c, r, "queueing a frame of %zu bytes: %s", total,
					  dropipc_strerror(r));
	r = tx_drain(c);
	return r == -EAGAIN ? 0 : r;
}

int dropipc__conn_flush(struct dropipc__conn *c)
{
	int r;

	if (tx_empty(&c->tx))
		return 0;
	r = tx_flush(c);
	if (r == -EAGAIN && dropipc__deadline_passed(tx_deadline(&c->tx)))
		return tx_abort(c, DROPIPC_ERR_TIMEDOUT);
	return r;
}

int dropipc__conn_events(const struct dropipc__conn *c)
{
	return POLLIN | (tx_empty(&c->tx) ? 0 : POLLOUT);
}

uint64_t dropipc__conn_deadline(const struct dropipc__conn *c)
{
	uint64_t rx = c->rx.active ? c->rx.deadline : NO_DEADLINE;
	uint64_t tx = tx_deadline(&c->tx);

	return rx < tx ? rx : tx;
}

/* ---- receiving ----------------------------------------------------------- */

/* Room for every fd one sendmsg can carry (the kernel's SCM_MAX_FD): fds
 * that do not fit are dropped by the kernel in recvmsg itself, where the
 * last close of a hostile one could hold this thread; here each one is
 * closed as any rejected fd is. */
#define RX_MAX_FDS 253

void dropipc__frame_close_fds(struct dropipc__conn *c, struct dropipc__frame *f)
{
	dropipc__conn_close_untrusted(c, f->fds, f->nfds);
	f->nfds = 0;
}

/* What a received fd is to the channel. */
enum channel_fd { NOT_CHANNEL, CHANNEL_END, MAYBE_CHANNEL, UNKNOWN_FD };

static bool same_inode(const struct dropipc__inode *a, const struct dropipc__inode *b)
{
	return a->dev == b->dev && a->ino == b->ino;
}

/*
 * Whether fd is this channel's own socket or its other end, by inode
 * (statx, which sockfs answers itself): holding either, this end would
 * never see the channel close. A parent end that does not know the other
 * end cannot tell a Unix stream socket from it.
 */
static enum channel_fd channel_fd(const struct dropipc__conn *c, int fd)
{
	struct dropipc__inode ino;
	int type = 0, domain = 0;
	socklen_t len = sizeof(int);

	if (dropipc__fd_inode(fd, &ino) < 0)
		return UNKNOWN_FD;
	if (ino.mode != S_IFSOCK)
		return NOT_CHANNEL;
	if (same_inode(&ino, &c->own) || (c->peer_known && same_inode(&ino, &c->peer)))
		return CHANNEL_END;
	if (c->peer_known || !c->parent)
		return NOT_CHANNEL;
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0)
		return UNKNOWN_FD;
	len = sizeof(int);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0)
		return UNKNOWN_FD;
	return domain == AF_UNIX && type == SOCK_STREAM ? MAYBE_CHANNEL : NOT_CHANNEL;
}

/*
 * Moves the fds of msg's control data into f. Returns the number that
 * arrived, closing those that do not fit (they are counted all the same).
 */
static size_t take_fds(struct dropipc__conn *c, struct msghdr *msg, struct dropipc__frame *f,
		       bool *foreign, enum channel_fd *own_end)
{
	int extra[RX_MAX_FDS];
	size_t arrived = 0, nextra = 0;

	for (struct cmsghdr *cm = CMSG_FIRSTHDR(msg); cm; cm = CMSG_NXTHDR(msg, cm)) {
		size_t n;
		int fd;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS) {
			*foreign = true;
			continue;
		}
		n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			enum channel_fd kind;

			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			kind = channel_fd(c, fd);
			if (kind > *own_end)
				*own_end = kind;
			if (f->nfds < DROPIPC_MAX_FDS)
				f->fds[f->nfds++] = fd;
			else if (nextra < RX_MAX_FDS)
				extra[nextra++] = fd;
			arrived++;
		}
	}
	/* All in one batch: one helper for all of them, at most. */
	dropipc__conn_close_untrusted(c, extra, nextra);
	return arrived;
}

/* The header is in: checks it and makes room for the payload. */
static int rx_header(struct dropipc__conn *c)
{
	struct rx_state *rx = &c->rx;
	struct header h = { 0 };
	int r;

	r = header_decode(c, rx->hdr, &h);
	if (r < 0)
		return r;
	if (rx->fds.nfds != h.nfds)
		return fail_broken(c, DROPIPC_ERR_PROTO, "header announces %u fds, %zu arrived", h.nfds,
				   rx->fds.nfds);
	if (h.len > c->recvcap) {
		uint8_t *p = realloc(c->recvbuf, h.len);

		if (!p)
			return fail_broken(c, -ENOMEM, "no memory for a payload of %u bytes", h.len);
		c->recvbuf = p;
		c->recvcap = h.len;
	}
	rx->len = h.len;
	return 0;
}

/*
 * Reads what the socket has of the current frame, without waiting: 0 once
 * the frame is complete, -EAGAIN when the socket has nothing more, or an
 * error (its message set).
 */
union ctrl_rx_buf {
	char buf[CMSG_SPACE(sizeof(int) * RX_MAX_FDS)];
	struct cmsghdr align;
};

static int rx_step(struct dropipc__conn *c)
{
	struct rx_state *rx = &c->rx;
	union ctrl_rx_buf ctrl;

	for (;;) {
		struct iovec iov;
		struct msghdr msg = {
			.msg_iov = &iov,
			.msg_iovlen = 1,
			.msg_control = ctrl.buf,
			.msg_controllen = sizeof(ctrl.buf),
		};
		bool foreign = false;
		enum channel_fd own_end = NOT_CHANNEL;
		size_t arrived;
		ssize_t n;
		int r;

		if (rx->got < DROPIPC_HEADER_SIZE)
			iov = (struct iovec){ .iov_base = rx->hdr + rx->got,
					      .iov_len = DROPIPC_HEADER_SIZE - rx->got };
		else if (rx->got - DROPIPC_HEADER_SIZE < rx->len)
			iov = (struct iovec){ .iov_base = c->recvbuf + (rx->got - DROPIPC_HEADER_SIZE),
					      .iov_len = rx->len - (rx->got - DROPIPC_HEADER_SIZE) };
		else
			return 0;
		/* fds that do not fit in the table are closed by the kernel in
		 * this thread, where a hostile one could hold it: no read
		 * without room for every fd one recvmsg can carry. */
		r = dropipc__fd_room(c->fd, RX_MAX_FDS);
		if (r < 0) {
			if (rx->got == 0)
				return dropipc__conn_fail(c, r,
							  "fewer than %d fds free below RLIMIT_NOFILE: "
							  "a frame's fds that do not fit would be closed "
							  "in this thread (%s)",
							  RX_MAX_FDS, dropipc_strerror(r));
			return fail_broken(c, r,
					   "fewer than %d fds free below RLIMIT_NOFILE after %zu "
					   "bytes of the frame (%s)",
					   RX_MAX_FDS, rx->got, dropipc_strerror(r));
		}
		n = recvmsg(c->fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		/* A peer that closed with our data unread is a peer that closed
		 * (and a failed recvmsg filled in no control data). */
		if (n < 0 && errno == ECONNRESET) {
			n = 0;
			msg.msg_controllen = 0;
			msg.msg_flags = 0;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return -EAGAIN;
			r = -errno;
			if (rx->got == 0)
				return dropipc__conn_fail(c, r, "waiting for a frame: %s",
							  dropipc_strerror(r));
			return fail_broken(c, r, "%s after %zu bytes of the frame", dropipc_strerror(r),
					   rx->got);
		}
		arrived = take_fds(c, &msg, &rx->fds, &foreign, &own_end);
		if (own_end == CHANNEL_END)
			return fail_broken(c, DROPIPC_ERR_PROTO,
					   "an fd of the frame is the other end of this channel");
		if (own_end == MAYBE_CHANNEL)
			return fail_broken(c, DROPIPC_ERR_PROTO,
					   "an fd of the frame is a Unix stream socket and this end does "
					   "not know the channel's other end (dropipc_parent_set_peer()): "
					   "it could be that");
		if (own_end == UNKNOWN_FD)
			return fail_broken(c, DROPIPC_ERR_PROTO,
					   "an fd of the frame cannot be told from this channel's other "
					   "end (statx or getsockopt failed)");
		if ((msg.msg_flags & MSG_CTRUNC) || arrived > DROPIPC_MAX_FDS)
			return fail_broken(c, DROPIPC_ERR_PROTO,
					   "control data truncated after %zu fds: the peer sent more than %d, "
					   "or this process is out of fds (RLIMIT_NOFILE)",
					   arrived > DROPIPC_MAX_FDS ? (size_t)DROPIPC_MAX_FDS : arrived,
					   DROPIPC_MAX_FDS);
		if (foreign)
			return fail_broken(c, DROPIPC_ERR_PROTO, "ancillary data other than SCM_RIGHTS");
		if (arrived > 0 && rx->got > 0)
			return fail_broken(c, DROPIPC_ERR_PROTO,
					   "%zu fds arrived at byte %zu of the frame, not with its first byte",
					   arrived, rx->got);
		if (n == 0) {
			if (rx->got == 0)
				return dropipc__conn_fail(c, DROPIPC_ERR_EOF, "peer closed the connection");
			return fail_broken(c, DROPIPC_ERR_TRUNC,
					   "peer closed the connection after %zu bytes of the frame",
					   rx->got);
		}
		rx->got += (size_t)n;
		if (rx->got == DROPIPC_HEADER_SIZE) {
			r = rx_header(c);
			if (r < 0)
				return r;
		}
	}
}

/* A receive that ended while waiting, with r: the frame is lost if it had begun. */
static int rx_wait_failed(struct dropipc__conn *c, int r)
{
	size_t got = c->rx.got;

	if (got == 0)
		return dropipc__conn_fail(c, r, "waiting for a frame: %s", dropipc_strerror(r));
	if (r == DROPIPC_ERR_DEAD)
		return fail_broken(c, r, "the child process died %zu bytes into a frame", got);
	return fail_broken(c, r, "%s after %zu bytes of the frame", dropipc_strerror(r), got);
}

int dropipc__frame_recv(struct dropipc__conn *c, struct dropipc__frame *f)
{
	static const uint8_t no_payload[1];
	struct rx_state *rx = &c->rx;
	size_t parked;
	int r;

	f->payload = NULL;
	f->len = 0;
	f->nfds = 0;
	if (!rx->active) {
		rx->active = true;
		rx->deadline = dropipc__deadline_after(dropipc__conn_timeout(c));
		/* The last payload is the caller's no longer: a buffer a large
		 * frame grew goes, so that one frame does not keep its size for
		 * the connection's life. */
		buffer_shrink(&c->recvbuf, &c->recvcap);
	}
	/* What this end's peer parked for the helper is bounded: past the
	 * limit, no receive brings more. */
	parked = dropipc__closer_parked(c->closer);
	if (parked >= DROPIPC__MAX_PARKED) {
		r = fail_broken(c, DROPIPC_ERR_CLOSED,
				"%zu fds the peer sent still wait to be closed (a close it holds "
				"up): this end takes no more (the limit is %d)",
				parked, DROPIPC__MAX_PARKED);
		goto fail;
	}
	if (!c->nonblocking && dropipc__conn_cancel_take(c)) {
		r = rx_wait_failed(c, -ECANCELED);
		goto fail;
	}
	for (;;) {
		r = rx_step(c);
		if (r != -EAGAIN)
			break;
		if (c->nonblocking) {
			/* Whatever the child sent before it died has been read. */
			if (dropipc__conn_child_dead(c))
				r = rx_wait_failed(c, DROPIPC_ERR_DEAD);
			else if (dropipc__deadline_passed(rx->deadline))
				r = rx_wait_failed(c, DROPIPC_ERR_TIMEDOUT);
			if (r != -EAGAIN)
				goto fail;
			return -EAGAIN;
		}
		r = dropipc__conn_wait(c, POLLIN, rx->deadline);
		if (r == DROPIPC__WAIT_DEAD) {
			/* Frames it completed before it died still count. */
			r = rx_step(c);
			if (r == -EAGAIN)
				r = rx_wait_failed(c, DROPIPC_ERR_DEAD);
			break;
		}
		if (r < 0) {
			r = rx_wait_failed(c, r);
			break;
		}
	}
	if (r < 0)
		goto fail;
	/* The frame's fds are the caller's from here. */
	*f = rx->fds;
	rx->fds.nfds = 0;
	/* An empty payload on a fresh connection has no buffer; NULL + 0 is
	 * undefined behaviour for the readers that walk it. */
	f->payload = c->recvbuf ? c->recvbuf : no_payload;
	f->len = rx->len;
	rx_reset(c);
	return 0;

fail:
	rx_reset(c);
	return r;
}
