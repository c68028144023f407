/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * The connection's state, shared by conn.c (the connection: settings,
 * errors, cancel, pidfd, waits) and frame.c (the frame codec: header, send
 * queue, receive). Nothing else sees inside it.
 */
#ifndef DROPIPC_CONN_H
#define DROPIPC_CONN_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "internal.h"

#define NO_DEADLINE UINT64_MAX

/* Most bytes the receive buffer and the send queue's keep between frames:
 * a larger one, grown for a large frame, is freed when the next receive
 * starts, or when the queue is empty again. */
#define DROPIPC__KEEP_BUFFER (256u << 10)

/* The frame being received. */
struct rx_state {
	bool active;	   /* a receive has started: its deadline runs */
	uint64_t deadline; /* CLOCK_MONOTONIC, microseconds */
	size_t got;	   /* bytes of the frame read so far, header included */
	uint32_t len;	   /* the payload's length, once the header is in */
	uint8_t hdr[DROPIPC_HEADER_SIZE];
	struct dropipc__frame fds; /* the fds that came with the first byte */
};

/* A frame in the send queue: bytes [at, at + len) of the queue's buffer. */
struct tx_frame {
	size_t at, len;
	uint64_t deadline;
	/* Our own copies of the fds, until the frame's first byte is out. */
	size_t nfds;
	int fds[DROPIPC_MAX_FDS];
};

/* Frames the socket has not taken yet; empty when head == len. */
struct tx_queue {
	uint8_t *buf;
	size_t head, len, cap;
	struct tx_frame *frames;
	size_t cur, n, nalloc; /* frames[cur] holds byte head */
	size_t nfds;	       /* fd copies the queue holds */
};

struct dropipc__conn {
	int fd;
	int timeout_ms;
	bool timeout_set; /* by the caller: no default applies */
	bool parent;	  /* a parent end: the default timeout, the peer check */
	/* This socket and the channel's other end, never to be received. */
	struct dropipc__inode own, peer;
	bool peer_known;
	struct dropipc__closer *closer;
	size_t max_payload;
	bool nonblocking;
	/* The error that desynchronized the stream, or 0. */
	int broken;
	const char *op;
	/* Set by cancel (any thread, or a signal handler); cancel_fd, an
	 * eventfd, wakes the poll. */
	atomic_int cancelled;
	int cancel_fd;
	int pidfd; /* the child's, on the parent's end; -1 if none */
	uint8_t *recvbuf;
	size_t recvcap;
	struct rx_state rx;
	struct tx_queue tx;
	char errmsg[DROPIPC_ERRMSG_SIZE];
};

/* ---- conn.c, for frame.c ------------------------------------------------ */

/* The timeout in force, in ms (-1: none): the caller's, or the default. */
int dropipc__conn_timeout(const struct dropipc__conn *c);

/* Takes a pending cancel: whether there was one. */
bool dropipc__conn_cancel_take(struct dropipc__conn *c);

/* An error in the middle of a frame: the stream cannot be resynchronized
 * (later calls fail with DROPIPC_ERR_CLOSED). Returns code. */
int dropipc__conn_vfail_broken(struct dropipc__conn *c, int code, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

/* CLOCK_MONOTONIC microseconds timeout_ms from now (NO_DEADLINE for -1),
 * and whether a deadline has passed. */
uint64_t dropipc__deadline_after(int timeout_ms);
bool dropipc__deadline_passed(uint64_t deadline);

/* Whether the child's pidfd says it has died (never waits). */
bool dropipc__conn_child_dead(const struct dropipc__conn *c);

/* What dropipc__conn_wait() saw on the pidfd: the child is dead. */
#define DROPIPC__WAIT_DEAD 1

/* Waits until the socket is ready for events: 0; DROPIPC__WAIT_DEAD when
 * the child's pidfd fires first; -ECANCELED, DROPIPC_ERR_TIMEDOUT or
 * -errno. */
int dropipc__conn_wait(struct dropipc__conn *c, short events, uint64_t deadline);

/* ---- frame.c, for conn.c ------------------------------------------------ */

/* Drops what the codec holds: the partial frame, the queue, the buffers. */
void dropipc__frame_state_free(struct dropipc__conn *c);

#endif /* DROPIPC_CONN_H */
