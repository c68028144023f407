/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fds from the peer: looking at them and closing them without letting the
 * peer block this process.
 *
 * The fd's type comes from statx(AT_STATX_DONT_SYNC), which answers from
 * the inode the kernel holds and never asks a FUSE or network file system.
 * A close can call into whatever is behind the fd: a TCP socket with
 * SO_LINGER waits for its send queue to drain, a FUSE file sends FLUSH and
 * waits for the server's answer, with no limit. Sockets are made to close
 * at once (SO_LINGER {1, 0}: the kernel drops the queue and resets the
 * connection); pipes and the character devices a pty and /dev/null are
 * close without asking anyone. Anything else is closed by a helper
 * thread, which the caller waits for only briefly: a close that hangs
 * then hangs there, not in the receive.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

int dropipc__fd_type(int fd, unsigned int *mode, unsigned int *rdev_major,
		     unsigned int *rdev_minor)
{
	struct statx stx;

	if (statx(fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_TYPE, &stx) < 0)
		return -errno;
	*mode = stx.stx_mode & S_IFMT;
	*rdev_major = stx.stx_rdev_major;
	*rdev_minor = stx.stx_rdev_minor;
	return 0;
}

/* Character devices whose release asks no one: mem (/dev/null, /dev/zero),
 * tty and ptmx, and pty slaves (Unix98, majors 136..143). */
static bool quiet_chardev(unsigned int major)
{
	return major == 1 || major == 5 || (major >= 136 && major <= 143);
}

/* Whether fd can be closed here without waiting on anything. Sockets are
 * first told not to linger. */
static bool close_is_quick(int fd)
{
	static const struct linger no_linger = { .l_onoff = 1, .l_linger = 0 };
	unsigned int mode = 0, major = 0, minor = 0;
	int flags = fcntl(fd, F_GETFL);

	/* An O_PATH fd has no file operations: its close calls nothing. */
	if (flags >= 0 && (flags & O_PATH))
		return true;
	if (dropipc__fd_type(fd, &mode, &major, &minor) < 0)
		return false;
	switch (mode) {
	case S_IFSOCK: {
		int domain = 0;
		socklen_t len = sizeof(domain);

		/* A Unix socket's last close releases the fds queued in it, whose
		 * own closes may wait: the helper thread takes it. */
		if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0 || domain == AF_UNIX)
			return false;
		/* Other sockets drop their queue instead of lingering. */
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &no_linger, sizeof(no_linger));
		return true;
	}
	case S_IFIFO:
		return true;
	case S_IFCHR:
		return quiet_chardev(major);
	default:
		return false;
	}
}

/* ---- closing in a helper thread ------------------------------------------ */

/* How long a caller waits for the helper's closes: a benign file closes in
 * microseconds; one that takes longer is left to the helper. */
#define CLOSE_WAIT_MS 100

enum { RUNNING, DONE, ABANDONED };

struct closing {
	atomic_int refs;  /* the helper and the caller */
	atomic_int state; /* RUNNING, then DONE or ABANDONED (by the caller) */
	sem_t done;
	size_t n;
	int fds[DROPIPC_MAX_FDS];
};

/* Helpers abandoned in a close: while there is one, callers do not wait, so
 * that a peer which blocks one close cannot make each receive wait. */
static atomic_int stuck;

static void closing_put(struct closing *cl)
{
	if (atomic_fetch_sub(&cl->refs, 1) == 1) {
		sem_destroy(&cl->done);
		free(cl);
	}
}

static void *closer(void *arg)
{
	struct closing *cl = arg;

	for (size_t i = 0; i < cl->n; i++)
		close(cl->fds[i]);
	if (atomic_exchange(&cl->state, DONE) == ABANDONED)
		atomic_fetch_sub(&stuck, 1);
	sem_post(&cl->done);
	closing_put(cl);
	return NULL;
}

/* Waits up to CLOSE_WAIT_MS for the helper (not at all while another is
 * stuck); abandons it after that. */
static void wait_closed(struct closing *cl)
{
	int running = RUNNING;
	struct timespec end;
	int r;

	clock_gettime(CLOCK_MONOTONIC, &end);
	if (atomic_load(&stuck) == 0)
		end.tv_nsec += CLOSE_WAIT_MS * 1000000L;
	if (end.tv_nsec >= 1000000000L) {
		end.tv_sec++;
		end.tv_nsec -= 1000000000L;
	}
	do
		r = sem_clockwait(&cl->done, CLOCK_MONOTONIC, &end);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		return;
	atomic_fetch_add(&stuck, 1);
	if (!atomic_compare_exchange_strong(&cl->state, &running, ABANDONED))
		atomic_fetch_sub(&stuck, 1); /* it finished meanwhile */
}

/*
 * Closes fds in a detached thread. If that cannot be started, closes them
 * here: the only way left not to keep them (see SECURITY.md).
 */
static void close_in_thread(const int *fds, size_t n)
{
	struct closing *cl = calloc(1, sizeof(*cl));
	pthread_attr_t attr;
	sigset_t all, old;
	pthread_t t;
	bool started = false;

	if (cl && sem_init(&cl->done, 0, 0) == 0) {
		if (pthread_attr_init(&attr) == 0) {
			atomic_init(&cl->refs, 2);
			atomic_init(&cl->state, RUNNING);
			memcpy(cl->fds, fds, n * sizeof(int));
			cl->n = n;
			pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
			pthread_attr_setstacksize(&attr, 64 * 1024);
			/* The helper takes none of the process's signals. */
			sigfillset(&all);
			pthread_sigmask(SIG_SETMASK, &all, &old);
			started = pthread_create(&t, &attr, closer, cl) == 0;
			pthread_sigmask(SIG_SETMASK, &old, NULL);
			pthread_attr_destroy(&attr);
		}
		if (!started)
			sem_destroy(&cl->done);
	}
	if (!started) {
		for (size_t i = 0; i < n; i++)
			close(fds[i]);
		free(cl);
		return;
	}
	wait_closed(cl);
	closing_put(cl);
}

void dropipc__fd_close_untrusted_n(int *fds, size_t n)
{
	int slow[DROPIPC_MAX_FDS];
	size_t nslow = 0;

	for (size_t i = 0; i < n; i++) {
		if (fds[i] < 0)
			continue;
		if (close_is_quick(fds[i]) || nslow == DROPIPC_MAX_FDS)
			close(fds[i]);
		else
			slow[nslow++] = fds[i];
		fds[i] = -1;
	}
	if (nslow > 0)
		close_in_thread(slow, nslow);
}

void dropipc__fd_close_untrusted(int fd)
{
	dropipc__fd_close_untrusted_n(&fd, 1);
}

/* ---- the channel's own other end ------------------------------------------ */

/* The inode of the peer of Unix socket ino, from the kernel's sock_diag. */
static int unix_peer_ino(unsigned int ino, unsigned int *peer)
{
	struct {
		struct nlmsghdr nh;
		struct unix_diag_req req;
	} q = {
		.nh = { .nlmsg_len = sizeof(q), .nlmsg_type = SOCK_DIAG_BY_FAMILY,
			.nlmsg_flags = NLM_F_REQUEST, .nlmsg_seq = 1 },
		.req = { .sdiag_family = AF_UNIX, .udiag_states = ~0u, .udiag_ino = ino,
			 .udiag_show = UDIAG_SHOW_PEER,
			 .udiag_cookie = { INET_DIAG_NOCOOKIE, INET_DIAG_NOCOOKIE } },
	};
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	union {
		char buf[1024];
		struct nlmsghdr align;
	} a;
	int s, r = -ENOENT;
	ssize_t n;

	s = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (s < 0)
		return -errno;
	do
		n = sendto(s, &q, sizeof(q), 0, (struct sockaddr *)&kernel, sizeof(kernel));
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		r = -errno;
		goto out;
	}
	do
		n = recv(s, a.buf, sizeof(a.buf), 0);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		r = -errno;
		goto out;
	}
	for (struct nlmsghdr *h = &a.align; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
		struct unix_diag_msg *m = NLMSG_DATA(h);
		struct rtattr *rta;
		int len;

		if (h->nlmsg_type == NLMSG_ERROR) {
			struct nlmsgerr *e = NLMSG_DATA(h);

			r = e->error < 0 ? e->error : -EPROTO;
			break;
		}
		if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY || m->udiag_ino != ino)
			continue;
		len = (int)(h->nlmsg_len - NLMSG_LENGTH(sizeof(*m)));
		for (rta = (struct rtattr *)(m + 1); RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
			if (rta->rta_type == UNIX_DIAG_PEER &&
			    RTA_PAYLOAD(rta) >= sizeof(uint32_t)) {
				uint32_t v;

				memcpy(&v, RTA_DATA(rta), sizeof(v));
				*peer = v;
				r = 0;
			}
		}
		break;
	}
out:
	close(s);
	return r;
}

int dropipc__fd_is_channel_peer(int sock, int fd)
{
	int domain = 0;
	socklen_t len = sizeof(domain);
	struct stat own, other;
	unsigned int peer = 0;
	int r;

	/* Not a socket, or not a Unix one: not our peer, asking no one. */
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0 || domain != AF_UNIX)
		return 0;
	if (fstat(sock, &own) < 0 || fstat(fd, &other) < 0)
		return -errno;
	if (other.st_ino == own.st_ino)
		return 1; /* our own end, sent back */
	r = unix_peer_ino((unsigned int)own.st_ino, &peer);
	if (r < 0)
		return r;
	return peer == other.st_ino;
}
