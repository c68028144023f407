/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * One raw sendmsg with fds attached, for the tests that play a hostile peer
 * without the library (hostile-child, the fuzz target, the unit tests).
 */
#ifndef DROPIPC_RAW_SEND_H
#define DROPIPC_RAW_SEND_H

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

/* Most fds raw_send attaches (the kernel's SCM_MAX_FD): more than a
 * receiver takes, on purpose. */
#define RAW_SEND_MAX_FDS 253

/*
 * Sends the bytes of iov on sock with nfds (<= RAW_SEND_MAX_FDS) fds
 * attached to the first byte, retrying on EINTR. As sendmsg: the bytes
 * sent, or -1 with errno.
 */
static inline ssize_t raw_sendv(int sock, struct iovec *iov, size_t niov, const int *fds,
				size_t nfds, int flags)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * RAW_SEND_MAX_FDS)];
		struct cmsghdr align;
	} ctrl;
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = niov };
	ssize_t n;

	if (nfds > RAW_SEND_MAX_FDS) {
		errno = EINVAL;
		return -1;
	}
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
	do
		n = sendmsg(sock, &msg, flags);
	while (n < 0 && errno == EINTR);
	return n;
}

/* raw_sendv() of one buffer. */
static inline ssize_t raw_send(int sock, const void *data, size_t len, const int *fds,
			       size_t nfds, int flags)
{
	struct iovec iov = { .iov_base = (void *)data, .iov_len = len };

	return raw_sendv(sock, &iov, 1, fds, nfds, flags);
}

#endif
