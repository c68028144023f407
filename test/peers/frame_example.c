/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * Prints real frames as the C library puts them on the socket, for the
 * annotated example in docs/PROTOCOL.md (see frame_doc.py): the child's pty
 * handoff and a child error report, each read raw from the other end of the
 * socket pair. One line per frame: the number of fds that came with it, then
 * its bytes in hex.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <dropipc/dropipc.h>

static void die(const char *what, int err)
{
	fprintf(stderr, "frame_example: %s: %s\n", what, dropipc_strerror(err));
	exit(1);
}

/* Reads the one frame waiting on fd and prints it; closes the fds it carried. */
static void print_frame(int fd)
{
	unsigned char buf[4096];
	union {
		char buf[CMSG_SPACE(sizeof(int) * DROPIPC_MAX_FDS)];
		struct cmsghdr align;
	} ctrl;
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctrl.buf,
			      .msg_controllen = sizeof(ctrl.buf) };
	size_t nfds = 0;
	ssize_t n;

	do
		n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		die("recvmsg", n < 0 ? -errno : DROPIPC_ERR_EOF);
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
		size_t k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);

		for (size_t i = 0; i < k; i++) {
			int got;

			memcpy(&got, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			close(got);
		}
		nfds += k;
	}
	printf("%zu ", nfds);
	for (ssize_t i = 0; i < n; i++)
		printf("%02x", buf[i]);
	printf("\n");
}

int main(void)
{
	dropipc_child *ch;
	int sv[2], master, r;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		die("socketpair", -errno);
	r = dropipc_child_new(sv[0], &ch);
	if (r < 0)
		die("dropipc_child_new", r);
	master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0)
		die("posix_openpt", -errno);
	r = dropipc_child_send_pty(ch, master);
	if (r < 0)
		die(dropipc_conn_get_errmsg(dropipc_child_conn(ch)), r);
	close(master);
	print_frame(sv[1]);
	r = dropipc_child_send_error(ch, DROPIPC_STAGE_EXEC, ENOENT,
				     "execvp nosuchcmd: No such file or directory");
	if (r < 0)
		die(dropipc_conn_get_errmsg(dropipc_child_conn(ch)), r);
	print_frame(sv[1]);
	dropipc_child_free(ch);
	close(sv[1]);
	return 0;
}
