/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * libFuzzer target for the receive path: the fuzzer's bytes (and fds) go
 * through a real socket pair into the library's frame reader and message
 * decoder, as a hostile peer's would; in pieces mode, into a non-blocking
 * end in pieces of the sizes the input chooses. Besides crashes and sanitizer
 * reports, it traps on a broken promise of the API: outputs not reset on
 * failure, an error without a message, an accepted message that does not
 * validate, or an fd left open.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <dropipc/dropipc.h>

#include "fuzz_recv.h"
#include "raw_send.h"

/* Receives per input: enough to go past a bad frame to the next one. */
#define MAX_RECEIVES 4
/* fds counted for the leak check; new fds take the lowest free numbers. */
#define FD_SCAN 256

#define require(cond)                    \
	do {                             \
		if (!(cond))             \
			__builtin_trap(); \
	} while (0)

static int devnull = -1, ptm = -1;

unsigned long fuzz_received;
int fuzz_pieces;

static void init(void)
{
	const char *pieces = getenv("FUZZ_PIECES");

	signal(SIGPIPE, SIG_IGN);
	if (pieces && pieces[0] == '1')
		fuzz_pieces = 1;
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	ptm = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	require(devnull >= 0 && ptm >= 0);
}

/* Open fds among the first FD_SCAN, in one system call. */
static int open_fds(void)
{
	struct pollfd p[FD_SCAN];
	int n = 0;

	for (int i = 0; i < FD_SCAN; i++)
		p[i] = (struct pollfd){ .fd = i };
	require(poll(p, FD_SCAN, 0) >= 0);
	for (int i = 0; i < FD_SCAN; i++)
		n += !(p[i].revents & POLLNVAL);
	return n;
}

/* Queues data on fd, the fds with its first byte, as far as it fits;
 * returns how much went. */
static size_t feed(int fd, const uint8_t *data, size_t len, size_t nfds, int pty)
{
	size_t sent = 0;
	int fds[32];
	ssize_t n;

	for (size_t i = 0; i < nfds; i++)
		fds[i] = pty ? ptm : devnull;
	while (sent < len) {
		n = raw_send(fd, data + sent, len - sent, fds, nfds, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n <= 0)
			break;
		nfds = 0; /* the fds went with the first byte */
		sent += (size_t)n;
	}
	return sent;
}

/* What holds after every receive, whatever the peer sent. */
static void check_failure(int r, const char *errmsg)
{
	require(r < 0);
	require(errmsg && errmsg[0]);
	require(strcmp(dropipc_err_name(r), "UNKNOWN") != 0);
}

static int recv_pty(dropipc_parent *p)
{
	int fd = 99, r = dropipc_parent_recv_pty(p, &fd);

	if (r == -EAGAIN) {
		require(fuzz_pieces && fd == -1);
		return r;
	}
	if (r == 0) {
		require(fd >= 0);
		close(fd);
		return 0;
	}
	check_failure(r, dropipc_conn_get_errmsg(dropipc_parent_conn(p)));
	require(fd == -1);
	require((r == DROPIPC_ERR_CHILD) == (dropipc_parent_get_child_error(p, NULL, NULL, NULL) == 0));
	return r;
}

static int check_files(int r, dropipc_file *files, size_t n, const char *errmsg)
{
	if (r == -EAGAIN) {
		require(fuzz_pieces && files == NULL && n == 0);
		return r;
	}
	if (r == 0) {
		require(files && n >= 1 && n <= DROPIPC_MAX_FDS);
		for (size_t i = 0; i < n; i++) {
			require(files[i].name && files[i].name[0] && files[i].fd >= 0);
			close(files[i].fd);
		}
		free(files);
		return 0;
	}
	check_failure(r, errmsg);
	require(files == NULL && n == 0);
	return r;
}

static int recv_args(dropipc_child *c)
{
	dropipc_args *args = (dropipc_args *)1;
	int r = dropipc_child_recv_args(c, &args);

	if (r == -EAGAIN) {
		require(fuzz_pieces && args == NULL);
		return r;
	}
	if (r == 0) {
		size_t n = SIZE_MAX;
		char *const *argv;

		require(args && dropipc_args_validate(args, NULL, 0) == 0);
		argv = dropipc_args_get_list(args, DROPIPC_LIST_EXEC_ARGS, &n);
		require(argv != NULL && n != SIZE_MAX && argv[n] == NULL);
		dropipc_args_free(args);
		return 0;
	}
	check_failure(r, dropipc_conn_get_errmsg(dropipc_child_conn(c)));
	require(args == NULL);
	return r;
}

/* The peer's side in pieces mode: what is left to send, and how. */
struct pieces {
	int fd; /* -1 once closed */
	const uint8_t *data;
	size_t len, nfds;
	int pty;
	const uint8_t *sizes;
	size_t nsizes, next;
};

/* Sends the next piece, or closes once all went: false if nothing is left. */
static bool send_piece(struct pieces *pc)
{
	size_t n;

	if (pc->fd < 0)
		return false;
	n = pc->len;
	if (pc->nsizes > 0) {
		n = pc->sizes[pc->next++ % pc->nsizes];
		n = n ? n : 256;
	}
	if (n > pc->len)
		n = pc->len;
	if (n == 0 || feed(pc->fd, pc->data, n, pc->nfds, pc->pty) < n) {
		/* All sent, or the socket is full (the receiver stopped reading). */
		close(pc->fd);
		pc->fd = -1;
		return true;
	}
	pc->nfds = 0;
	pc->data += n;
	pc->len -= n;
	return true;
}

/* Runs the receive of kind on fd until the stream ends or breaks; in
 * pieces mode, feeding pc each time it would block. */
static void receive(enum fuzz_recv_kind kind, int fd, struct pieces *pc)
{
	dropipc_parent *p = NULL;
	dropipc_child *c = NULL;
	dropipc_file *files;
	size_t n;
	int r = 0;

	if (kind == FUZZ_CHILD_ARGS || kind == FUZZ_CHILD_FILES) {
		require(dropipc_child_new(fd, &c) == 0);
		require(dropipc_conn_set_timeout(dropipc_child_conn(c), 1000000) == 0);
	} else {
		require(dropipc_parent_new(fd, &p) == 0);
		require(dropipc_conn_set_timeout(dropipc_parent_conn(p), 1000000) == 0);
	}
	if (pc)
		require((c ? dropipc_conn_set_nonblocking(dropipc_child_conn(c), 1) : dropipc_conn_set_nonblocking(dropipc_parent_conn(p), 1)) == 0);
	for (int i = 0; i < MAX_RECEIVES && r != DROPIPC_ERR_EOF && r != DROPIPC_ERR_CLOSED; i++) {
		switch (kind) {
		case FUZZ_PARENT_PTY:
			r = recv_pty(p);
			break;
		case FUZZ_CHILD_ARGS:
			r = recv_args(c);
			break;
		case FUZZ_PARENT_FILES:
			r = dropipc_conn_recv_files(dropipc_parent_conn(p), &files, &n);
			r = check_files(r, files, n, dropipc_conn_get_errmsg(dropipc_parent_conn(p)));
			break;
		case FUZZ_CHILD_FILES:
			r = dropipc_conn_recv_files(dropipc_child_conn(c), &files, &n);
			r = check_files(r, files, n, dropipc_conn_get_errmsg(dropipc_child_conn(c)));
			break;
		}
		if (r == -EAGAIN) {
			/* Only a peer with more to send leaves a receive waiting. */
			require(pc && send_piece(pc));
			i--;
			continue;
		}
		/* The writer is gone: nothing is ever waited for. */
		require(r != DROPIPC_ERR_TIMEDOUT);
		fuzz_received += r == 0 || r == DROPIPC_ERR_CHILD;
	}
	dropipc_parent_free(p);
	dropipc_child_free(c);
	if (pc && pc->fd >= 0)
		close(pc->fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int sv[2], before;

	if (size < 1)
		return 0;
	if (devnull < 0)
		init();
	if (size - 1 > FUZZ_MAX_INPUT)
		size = FUZZ_MAX_INPUT + 1;
	before = open_fds();
	require(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	if (fuzz_pieces) {
		size_t nsizes = size > 1 ? data[1] & 15 : 0, skip = 2 + nsizes;
		struct pieces pc = {
			.fd = sv[1],
			.nfds = (data[0] >> 2) & 0x1f,
			.pty = data[0] & 0x80,
			.sizes = data + 2,
			.nsizes = nsizes,
		};

		if (size < skip)
			skip = size, pc.nsizes = 0;
		pc.data = data + skip;
		pc.len = size - skip;
		receive((enum fuzz_recv_kind)(data[0] & 3), sv[0], &pc);
	} else {
		feed(sv[1], data + 1, size - 1, (data[0] >> 2) & 0x1f, data[0] & 0x80);
		close(sv[1]);
		receive((enum fuzz_recv_kind)(data[0] & 3), sv[0], NULL);
	}
	require(open_fds() == before);
	return 0;
}
