/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * Event loops and waits: non-blocking ends fed in pieces (under a seccomp
 * filter that refuses every blocking call), the send queue, deadlines,
 * cancel from a thread or a signal handler; and (suite pidfd) the child's
 * death ending a receive with DROPIPC_ERR_DEAD.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>

#include "raw_send.h"
#include "unit.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434 /* the same number on every architecture */
#endif

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* header + payload of a frame, malloc'ed; *len is its size. */
static uint8_t *frame_bytes(const uint8_t *payload, size_t plen, uint16_t nfds, size_t *len)
{
	struct unit_header h = unit_header(nfds, (uint32_t)plen);
	uint8_t *buf = malloc(16 + plen);

	ck_assert_ptr_nonnull(buf);
	unit_header_encode(&h, buf);
	memcpy(buf + 16, payload, plen);
	*len = 16 + plen;
	return buf;
}

/* Sends buf[at, at + n) in one sendmsg, fds attached. */
static int send_piece(int sock, const uint8_t *buf, size_t n, const int *fds, size_t nfds)
{
	return raw_send(sock, buf, n, fds, nfds, MSG_NOSIGNAL) == (ssize_t)n ? 0 : -1;
}

/* ---- pieces, without a single blocking call ----------------------------------- */

#if defined(__x86_64__)
#define TEST_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define TEST_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

#ifdef TEST_AUDIT_ARCH
/*
 * Makes every call that could block on the channel fail with EPERM: poll,
 * select and epoll waits, recvfrom, and recvmsg and sendmsg without
 * MSG_DONTWAIT. Returns 0 or -1.
 */
static int forbid_blocking(void)
{
	enum { DENY_AT = 63, ALLOW_AT = 62 };
	static const long waits[] = {
#ifdef __NR_poll
		__NR_poll,
#endif
#ifdef __NR_select
		__NR_select,
#endif
#ifdef __NR_epoll_wait
		__NR_epoll_wait,
#endif
		__NR_ppoll,  __NR_pselect6, __NR_epoll_pwait,
#ifdef __NR_epoll_pwait2
		__NR_epoll_pwait2,
#endif
		/* The library never uses it; its flags are not the third argument. */
		__NR_recvfrom,
	};
	static const long flagged[] = { __NR_recvmsg, __NR_sendmsg };
	struct sock_filter f[64];
	struct sock_fprog prog = { .len = 64, .filter = f };
	unsigned int i = 0;

	memset(f, 0, sizeof(f));
	f[i++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
					      offsetof(struct seccomp_data, arch));
	f[i] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, TEST_AUDIT_ARCH, 0, 0);
	f[i].jf = (uint8_t)(DENY_AT - i - 1);
	i++;
	f[i++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
					      offsetof(struct seccomp_data, nr));
	for (size_t k = 0; k < sizeof(waits) / sizeof(waits[0]); k++, i++) {
		f[i] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)waits[k], 0, 0);
		f[i].jt = (uint8_t)(DENY_AT - i - 1);
	}
	/* The flags argument is the third one for all four. */
	for (size_t k = 0; k < sizeof(flagged) / sizeof(flagged[0]); k++, i++) {
		f[i] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)flagged[k], 0, 0);
		f[i].jt = (uint8_t)(ALLOW_AT - 2 - i - 1);
	}
	f[i] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	for (i = i + 1; i < ALLOW_AT - 2; i++)
		f[i] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	f[ALLOW_AT - 2] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
						       offsetof(struct seccomp_data, args[2]));
	f[ALLOW_AT - 1] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, MSG_DONTWAIT, 0, 1);
	f[ALLOW_AT] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	f[DENY_AT] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -1;
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
}
#endif

static const char *const piece_names[] = { "one", "two", "three" };
static const char *const piece_texts[] = { "first file\n", "second file\n", "third file\n" };

#ifdef TEST_AUDIT_ARCH
struct pieces_ctx {
	int sock; /* the receiver's socket */
	int go;	  /* read end of a pipe: the sender has started */
};

/* Receives a Files frame with only non-blocking calls; the number of -EAGAIN. */
static int recv_files_nb(dropipc_parent *p, dropipc_file **files, size_t *n, long *again)
{
	int r;

	*again = 0;
	for (;;) {
		r = dropipc_conn_recv_files(dropipc_parent_conn(p), files, n);
		if (r != -EAGAIN)
			return r;
		(*again)++;
		nanosleep(&(struct timespec){ .tv_nsec = 200000 }, NULL);
	}
}

static int pieces_receiver(void *arg)
{
	const struct pieces_ctx *ctx = arg;
	dropipc_parent *p;
	dropipc_file *files;
	struct msghdr m = { 0 };
	char buf[64];
	size_t n;
	long again;
	int r;

	UNIT_REQUIRE(dropipc_parent_new(ctx->sock, &p) == 0);
	UNIT_REQUIRE(dropipc_conn_set_nonblocking(dropipc_parent_conn(p), 1) == 0);
	UNIT_REQUIRE(dropipc_conn_set_timeout(dropipc_parent_conn(p), 8000000) == 0);
	UNIT_REQUIRE(read(ctx->go, buf, 1) == 1);
	UNIT_REQUIRE(forbid_blocking() == 0);
	/* The filter works: these would block, or could. */
	UNIT_REQUIRE(poll(NULL, 0, 0) < 0 && errno == EPERM);
	UNIT_REQUIRE(recvmsg(dropipc_conn_get_fd(dropipc_parent_conn(p)), &m, 0) < 0 && errno == EPERM);

	/* First frame: three fds with the first byte, then one byte at a time. */
	r = recv_files_nb(p, &files, &n, &again);
	if (r < 0)
		fprintf(stderr, "recv files: %s\n", dropipc_conn_get_errmsg(dropipc_parent_conn(p)));
	UNIT_REQUIRE(r == 0);
	UNIT_REQUIRE(again >= 10);
	UNIT_REQUIRE(n == 3);
	for (size_t i = 0; i < n; i++) {
		ssize_t got = pread(files[i].fd, buf, sizeof(buf), 0);

		UNIT_REQUIRE(strcmp(files[i].name, piece_names[i]) == 0);
		UNIT_REQUIRE(got == (ssize_t)strlen(piece_texts[i]));
		UNIT_REQUIRE(memcmp(buf, piece_texts[i], (size_t)got) == 0);
		UNIT_REQUIRE(fcntl(files[i].fd, F_GETFD) == FD_CLOEXEC);
		close(files[i].fd);
	}
	free(files);

	/* Second frame: half of it, a pause, the rest. */
	r = recv_files_nb(p, &files, &n, &again);
	UNIT_REQUIRE(r == 0 && n == 1 && again >= 1);
	close(files[0].fd);
	free(files);
	dropipc_parent_free(p);
	return 0;
}

#endif

START_TEST(pieces_without_a_blocking_call)
{
#ifndef TEST_AUDIT_ARCH
	ck_abort_msg("no seccomp filter written for this architecture");
#else
	int sv[2], go[2], fds[3];
	uint32_t idx[3] = { 0, 1, 2 }, one = 0;
	struct pieces_ctx ctx;
	uint8_t *payload, *buf;
	size_t plen, len;
	pid_t pid;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	ck_assert_int_eq(pipe2(go, O_CLOEXEC), 0);
	ctx = (struct pieces_ctx){ .sock = sv[0], .go = go[0] };
	pid = unit_fork(pieces_receiver, &ctx);
	close(sv[0]);
	close(go[0]);
	for (int i = 0; i < 3; i++) {
		fds[i] = unit_tmpfile(piece_texts[i]);
		ck_assert_int_ge(fds[i], 0);
	}
	payload = unit_pack_files(piece_names, idx, 3, &plen);
	buf = frame_bytes(payload, plen, 3, &len);
	ck_assert_int_eq(write(go[1], "g", 1), 1);
	/* A receiver that failed has gone: its exit status says why. */
	for (size_t i = 0; i < len; i++) {
		if (send_piece(sv[1], buf + i, 1, i == 0 ? fds : NULL, i == 0 ? 3 : 0) < 0)
			break;
		sleep_ms(1);
	}
	for (int i = 0; i < 3; i++)
		close(fds[i]);
	free(payload);
	free(buf);

	fds[0] = unit_tmpfile("x");
	payload = unit_pack_files(piece_names, &one, 1, &plen);
	buf = frame_bytes(payload, plen, 1, &len);
	if (send_piece(sv[1], buf, len / 2, fds, 1) == 0) {
		sleep_ms(50);
		send_piece(sv[1], buf + len / 2, len - len / 2, NULL, 0);
	}
	close(fds[0]);
	free(payload);
	free(buf);
	unit_reap_ok(pid);
	close(sv[1]);
	close(go[1]);
#endif
}
END_TEST

/* Feeds the example ChildArgs in pieces of each size: the same message arrives. */
START_TEST(args_in_pieces_of_every_size)
{
	static const size_t sizes[] = { 1, 2, 3, 7, 15, 16, 17, 100, 4096 };
	uint8_t *payload, *buf;
	size_t plen, len;

	payload = unit_pack_args(test_example_args(), &plen);
	buf = frame_bytes(payload, plen, 0, &len);
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		dropipc_parent *p;
		dropipc_child *c;
		dropipc_args *got = NULL;
		size_t at = 0;
		int r = -EAGAIN;

		ck_assert_int_eq(unit_pair(&p, &c), 0);
		ck_assert_int_eq(dropipc_conn_set_nonblocking(dropipc_child_conn(c), 1), 0);
		while (at < len) {
			size_t n = len - at < sizes[s] ? len - at : sizes[s];

			ck_assert_int_eq(dropipc_child_recv_args(c, &got), -EAGAIN);
			ck_assert_ptr_null(got);
			ck_assert_str_eq(dropipc_conn_get_errmsg(dropipc_child_conn(c)), "");
			ck_assert_int_eq(send_piece(dropipc_conn_get_fd(dropipc_parent_conn(p)), buf + at, n, NULL, 0), 0);
			at += n;
		}
		r = dropipc_child_recv_args(c, &got);
		ck_assert_msg(r == 0, "pieces of %zu: %s", sizes[s], dropipc_conn_get_errmsg(dropipc_child_conn(c)));
		test_assert_args_equal(test_example_args(), got);
		dropipc_args_free(got);
		/* Nothing more: again, not a hang. */
		ck_assert_int_eq(dropipc_child_recv_args(c, &got), -EAGAIN);
		dropipc_child_free(c);
		dropipc_parent_free(p);
	}
	free(payload);
	free(buf);
}
END_TEST

/* fds after the first byte, fed in pieces: refused as in blocking mode, none left open. */
START_TEST(attribution_in_pieces)
{
	uint32_t idx[2] = { 0, 1 };
	uint8_t *payload, *buf;
	size_t plen, len;
	dropipc_parent *p;
	dropipc_child *c;
	dropipc_file *files = NULL;
	size_t n = 9;
	int fd = unit_tmpfile("x"), sock;

	ck_assert_int_ge(fd, 0);
	payload = unit_pack_files(piece_names, idx, 2, &plen);
	buf = frame_bytes(payload, plen, 2, &len);

	/* One fd with the first byte, one with the second. */
	ck_assert_int_eq(unit_pair(&p, &c), 0);
	ck_assert_int_eq(dropipc_conn_set_nonblocking(dropipc_parent_conn(p), 1), 0);
	sock = dropipc_conn_get_fd(dropipc_child_conn(c));
	ck_assert_int_eq(send_piece(sock, buf, 1, &fd, 1), 0);
	ck_assert_int_eq(dropipc_conn_recv_files(dropipc_parent_conn(p), &files, &n), -EAGAIN);
	ck_assert_int_eq(send_piece(sock, buf + 1, 1, &fd, 1), 0);
	ck_assert_int_eq(dropipc_conn_recv_files(dropipc_parent_conn(p), &files, &n), DROPIPC_ERR_PROTO);
	ck_assert_str_eq(dropipc_conn_get_errmsg(dropipc_parent_conn(p)),
			 "recv files: 1 fds arrived at byte 1 of the frame, not with its first byte");
	ck_assert_ptr_null(files);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(dropipc_conn_recv_files(dropipc_parent_conn(p), &files, &n), DROPIPC_ERR_CLOSED);
	dropipc_parent_free(p);
	dropipc_child_free(c);

	/* Two announced, one came: found once the header is complete. */
	ck_assert_int_eq(unit_pair(&p, &c), 0);
	ck_assert_int_eq(dropipc_conn_set_nonblocking(dropipc_parent_conn(p), 1), 0);
	sock = dropipc_conn_get_fd(dropipc_child_conn(c));
	for (size_t i = 0; i < 15; i++) {
		ck_assert_int_eq(send_piece(sock, buf + i, 1, i == 0 ? &fd : NULL, i == 0), 0);
		ck_assert_int_eq(dropipc_conn_recv_files(dropipc_parent_conn(p), &files, &n), -EAGAIN);
	}
	ck_assert_int_eq(send_piece(sock, buf + 15, 1, NULL, 0), 0);
	ck_assert_int_eq(dropipc_conn_recv_files(dropipc_parent_conn(p), &files, &n), DROPIPC_ERR_PROTO);
	ck_assert_str_eq(dropipc_conn_get_errmsg(dropipc_parent_conn(p)), "recv files: header announces 2 fds, 1 arrived");
	dropipc_parent_free(p);
	dropipc_child_free(c);
	close(fd);
	free(payload);
	free(buf);
}
END_TEST

/* ---- events, deadlines, the send queue --------------------------------------------- */

START_TEST(events_and_deadline)
{
	dropipc_parent *p;
	dropipc_child *c;
	dropipc_args *got;
	uint64_t dl, before, after;

	ck_assert_int_eq(unit_pair(&p, &c), 0);
	ck_assert_int_eq(dropipc_conn_set_nonblocking(dropipc_child_conn(c), 1), 0);
	ck_assert_int_eq(dropipc_conn_set_timeout(dropipc_child_conn(c), 50000), 0);
	ck_assert_int_eq(dropipc_conn_get_events(dropipc_child_conn(c)), POLLIN);
	ck_assert_int_eq(dropipc_conn_get_deadline(dropipc_child_conn(c), &dl), 0);
	ck_assert_uint_eq(dl, UINT64_MAX);

	before = now_us();
	ck_assert_int_eq(dropipc_child_recv_args(c, &got), -EAGAIN);
	after = now_us();
	ck_assert_int_eq(dropipc_conn_get_deadline(dropipc_child_conn(c), &dl), 0);
	ck_assert_uint_ge(dl, before + 50000);
	ck_assert_uint_le(dl, after + 50000);
	/* Counted from the call that started the receive, not from this one. */
	ck_assert_int_eq(dropipc_child_recv_args(c, &got), -EAGAIN);
	ck_assert_int_eq(dropipc_conn_get_deadline(dropipc_child_conn(c), &dl), 0);
	ck_assert_uint_le(dl, after + 50000);
	while (now_us() <= dl)
		sleep_ms(5);
	ck_assert_int_eq(dropipc_child_recv_args(c, &got), DROPIPC_ERR_TIMEDOUT);
	ck_assert_str_eq(dropipc_conn_get_errmsg(dropipc_child_conn(c)), "recv args: waiting for a frame: timed out");
	ck_assert_int_eq(dropipc_conn_get_deadline(dropipc_child_conn(c), &dl), 0);
	ck_assert_uint_eq(dl, UINT64_MAX);

	/* Nothing of a frame had come: the end still works, and the timeout
	 * set once still holds. */
	ck_assert_int_eq(dropipc_parent_send_args(p, test_example_args()), 0);
	ck_assert_int_eq(dropipc_child_recv_args(c, &got), 0);
	test_assert_args_equal(test_example_args(), got);
	dropipc_args_free(got);
	ck_assert_int_eq(dropipc_conn_set_nonblocking(dropipc_child_conn(c), 0), 0);
	ck_assert_int_eq(dropipc_child_recv_args(c, &got), DROPIPC_ERR_TIMEDOUT);
	ck_assert_int_eq(dropipc_child_recv_args(c, &got), DROPIPC_ERR_TIMEDOUT);
	dropipc_child_free(c);
	dropipc_parent_free(p);
}
END_TEST

/* ChildArgs of n long exec args: more than a socket buffer holds. */
static dropipc_args *large_args(size_t n)
{
	dropipc_args *a = test_new_example_args();

	ck_assert_int_eq(dropipc_args_set_list(a, DROPIPC_LIST_EXEC_ARGS, NULL), 0);
	for (size_t i = 0; i < n; i++)
		ck_assert_int_eq(dropipc_args_add_list(a, DROPIPC_LIST_EXEC_ARGS, "an argument long enough to fill the socket buffer fast"),
				 0);
	return a;
}

struct slow_ctx {
	int sock, go;
	const dropipc_args *want;
};

/* The slow reader: starts only once the parent says its sends returned. */
static int slow_reader(void *arg)
{
	const struct slow_ctx *ctx = arg;
	dropipc_child *c;
	dropipc_args *got;
	dropipc_file *files;
	char buf[8], text[32] = "";
	size_t n;

	UNIT_REQUIRE(dropipc_child_new(ctx->sock, &c) == 0);
	UNIT_REQUIRE(dropipc_conn_set_timeout(dropipc_child_conn(c), 8000000) == 0);
	UNIT_REQUIRE(read(ctx->go, buf, 1) == 1);
	UNIT_REQUIRE(dropipc_child_recv_args(c, &got) == 0);
	{
		size_t n_got, n_want;
		char *const *g = dropipc_args_get_list(got, DROPIPC_LIST_EXEC_ARGS, &n_got);
		char *const *w = dropipc_args_get_list(ctx->want, DROPIPC_LIST_EXEC_ARGS, &n_want);

		UNIT_REQUIRE(n_got == n_want && n_got > 0);
		UNIT_REQUIRE(strcmp(g[n_got - 1], w[0]) == 0);
		UNIT_REQUIRE(strcmp(dropipc_args_get_env_id(got), dropipc_args_get_env_id(ctx->want)) == 0);
	}
	dropipc_args_free(got);
	UNIT_REQUIRE(dropipc_conn_recv_files(dropipc_child_conn(c), &files, &n) == 0);
	UNIT_REQUIRE(n == 1 && strcmp(files[0].name, "queued") == 0);
	UNIT_REQUIRE(pread(files[0].fd, text, sizeof(text) - 1, 0) == 14);
	UNIT_REQUIRE(strcmp(text, "behind a frame") == 0);
	close(files[0].fd);
	free(files);
	dropipc_child_free(c);
	return 0;
}

START_TEST(large_args_to_a_slow_reader)
{
	dropipc_args *a;
	struct slow_ctx ctx;
	dropipc_parent *p;
	dropipc_file f = { "queued", -1 };
	int child_fd, go[2], r;
	uint64_t dl;
	pid_t pid;

	ctx.want = a = large_args(8000);
	ck_assert_int_eq(pipe2(go, O_CLOEXEC), 0);
	ck_assert_int_eq(dropipc_socketpair(&p, &child_fd), 0);
	ctx.sock = child_fd;
	ctx.go = go[0];
	pid = unit_fork(slow_reader, &ctx);
	close(child_fd);
	close(go[0]);

	ck_assert_int_eq(dropipc_conn_set_nonblocking(dropipc_parent_conn(p), 1), 0);
	ck_assert_int_eq(dropipc_conn_set_timeout(dropipc_parent_conn(p), 20000000), 0);
	/* Nobody reads yet: a blocking send would hang here. */
	ck_assert_int_eq(dropipc_parent_send_args(p, ctx.want), 0);
	ck_assert_int_eq(dropipc_conn_get_events(dropipc_parent_conn(p)), POLLIN | POLLOUT);
	ck_assert_int_eq(dropipc_conn_get_deadline(dropipc_parent_conn(p), &dl), 0);
	ck_assert_uint_ne(dl, UINT64_MAX);
	/* Queued behind it; the end keeps its own copy of the fd. */
	f.fd = unit_tmpfile("behind a frame");
	ck_assert_int_ge(f.fd, 0);
	ck_assert_int_eq(dropipc_conn_send_files(dropipc_parent_conn(p), &f, 1), 0);
	close(f.fd);
	ck_assert_int_eq(dropipc_conn_flush(dropipc_parent_conn(p)), -EAGAIN);
	ck_assert_int_eq(write(go[1], "g", 1), 1);

	do {
		struct pollfd pf = { .fd = dropipc_conn_get_fd(dropipc_parent_conn(p)), .events = (short)dropipc_conn_get_events(dropipc_parent_conn(p)) };

		ck_assert_int_ge(poll(&pf, 1, 5000), 1);
		r = dropipc_conn_flush(dropipc_parent_conn(p));
	} while (r == -EAGAIN);
	ck_assert_msg(r == 0, "flush: %s", dropipc_conn_get_errmsg(dropipc_parent_conn(p)));
	ck_assert_int_eq(dropipc_conn_get_events(dropipc_parent_conn(p)), POLLIN);
	ck_assert_int_eq(dropipc_conn_get_deadline(dropipc_parent_conn(p), &dl), 0);
	ck_assert_uint_eq(dl, UINT64_MAX);
	unit_reap_ok(pid);
	dropipc_parent_free(p);
	close(go[1]);
	dropipc_args_free(a);
}
END_TEST

/* A queued send past its deadline: timed out on the next flush, stream lost. */
START_TEST(queued_send_times_out)
{
	dropipc_args *a;
	dropipc_parent *p;
	dropipc_child *c;
	dropipc_file f = { "x", 0 };

	a = large_args(8000);
	ck_assert_int_eq(unit_pair(&p, &c), 0);
	ck_assert_int_eq(dropipc_conn_set_nonblocking(dropipc_parent_conn(p), 1), 0);
	ck_assert_int_eq(dropipc_conn_set_timeout(dropipc_parent_conn(p), 30000), 0);
	ck_assert_int_eq(dropipc_parent_send_args(p, a), 0);
	/* A second frame with an fd: its copy must not leak when it is dropped. */
	ck_assert_int_eq(dropipc_conn_send_files(dropipc_parent_conn(p), &f, 1), 0);
	sleep_ms(40);
	ck_assert_int_eq(dropipc_conn_flush(dropipc_parent_conn(p)), DROPIPC_ERR_TIMEDOUT);
	unit_assert_contains(dropipc_conn_get_errmsg(dropipc_parent_conn(p)), "flush: send: timed out after ");
	ck_assert_int_eq(dropipc_conn_get_events(dropipc_parent_conn(p)), POLLIN);
	ck_assert_int_eq(dropipc_conn_flush(dropipc_parent_conn(p)), DROPIPC_ERR_CLOSED);
	dropipc_parent_free(p);
	dropipc_child_free(c);
	dropipc_args_free(a);
}
END_TEST

/* ---- cancel -------------------------------------------------------------------------- */

struct canceller {
	pthread_t thread;
	dropipc_parent *parent;
	int delay_ms;
};

static void *cancel_later(void *arg)
{
	struct canceller *k = arg;

	sleep_ms(k->delay_ms);
	dropipc_conn_cancel(dropipc_parent_conn(k->parent));
	return NULL;
}

static void cancel_in(struct canceller *k, dropipc_parent *p, int delay_ms)
{
	k->parent = p;
	k->delay_ms = delay_ms;
	ck_assert_int_eq(pthread_create(&k->thread, NULL, cancel_later, k), 0);
}

START_TEST(cancel_from_another_thread)
{
	struct canceller k;
	dropipc_parent *p;
	dropipc_child *c;
	int fd = -2, m;

	ck_assert_int_eq(unit_pair(&p, &c), 0);
	cancel_in(&k, p, 50);
	/* No timeout: only the cancel can end it (or the Check timeout fails it). */
	ck_assert_int_eq(dropipc_parent_recv_pty(p, &fd), -ECANCELED);
	pthread_join(k.thread, NULL);
	ck_assert_int_eq(fd, -1);
	ck_assert_str_eq(dropipc_conn_get_errmsg(dropipc_parent_conn(p)), "recv pty: waiting for a frame: Operation canceled");

	/* Before the first byte: the end still works. */
	m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	ck_assert_int_ge(m, 0);
	ck_assert_int_eq(dropipc_child_send_pty(c, m), 0);
	close(m);
	ck_assert_int_eq(dropipc_parent_recv_pty(p, &fd), 0);
	close(fd);

	/* A cancel with no call waiting ends the next one at once, even with a
	 * frame there, which the call after it gets. */
	ck_assert_int_eq(dropipc_conn_cancel(dropipc_parent_conn(p)), 0);
	m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	ck_assert_int_eq(dropipc_child_send_pty(c, m), 0);
	close(m);
	ck_assert_int_eq(dropipc_parent_recv_pty(p, &fd), -ECANCELED);
	ck_assert_int_eq(dropipc_parent_recv_pty(p, &fd), 0);
	close(fd);
	dropipc_parent_free(p);
	dropipc_child_free(c);
}
END_TEST

START_TEST(cancel_in_the_middle_of_a_frame)
{
	struct unit_header h = unit_header(0, 100);
	struct canceller k;
	dropipc_parent *p;
	dropipc_child *c;
	uint8_t hdr[16];
	int fd;

	unit_header_encode(&h, hdr);
	ck_assert_int_eq(unit_pair(&p, &c), 0);
	ck_assert_int_eq(send_piece(dropipc_conn_get_fd(dropipc_child_conn(c)), hdr, 8, NULL, 0), 0);
	cancel_in(&k, p, 50);
	ck_assert_int_eq(dropipc_parent_recv_pty(p, &fd), -ECANCELED);
	pthread_join(k.thread, NULL);
	ck_assert_str_eq(dropipc_conn_get_errmsg(dropipc_parent_conn(p)),
			 "recv pty: Operation canceled after 8 bytes of the frame");
	ck_assert_int_eq(dropipc_parent_recv_pty(p, &fd), DROPIPC_ERR_CLOSED);
	dropipc_parent_free(p);
	dropipc_child_free(c);
}
END_TEST

START_TEST(cancel_a_blocking_send)
{
	dropipc_args *a;
	struct canceller k;
	dropipc_parent *p;
	dropipc_child *c;

	a = large_args(8000);
	ck_assert_int_eq(unit_pair(&p, &c), 0);
	cancel_in(&k, p, 50);
	ck_assert_int_eq(dropipc_parent_send_args(p, a), -ECANCELED);
	pthread_join(k.thread, NULL);
	unit_assert_contains(dropipc_conn_get_errmsg(dropipc_parent_conn(p)), "send args: send: Operation canceled after ");
	ck_assert_int_eq(dropipc_parent_send_args(p, a), DROPIPC_ERR_CLOSED);
	dropipc_parent_free(p);
	dropipc_child_free(c);
	dropipc_args_free(a);
}
END_TEST

static dropipc_child *signal_target;

static void on_alarm(int sig)
{
	(void)sig;
	dropipc_conn_cancel(dropipc_child_conn(signal_target));
}

START_TEST(cancel_from_a_signal_handler)
{
	struct sigaction sa = { .sa_handler = on_alarm, .sa_flags = SA_RESTART };
	struct itimerval it = { .it_value = { .tv_usec = 50000 } };
	dropipc_parent *p;
	dropipc_child *c;
	dropipc_args *got;

	ck_assert_int_eq(unit_pair(&p, &c), 0);
	signal_target = c;
	sigemptyset(&sa.sa_mask);
	ck_assert_int_eq(sigaction(SIGALRM, &sa, NULL), 0);
	ck_assert_int_eq(setitimer(ITIMER_REAL, &it, NULL), 0);
	ck_assert_int_eq(dropipc_child_recv_args(c, &got), -ECANCELED);
	ck_assert_ptr_null(got);
	signal(SIGALRM, SIG_DFL);
	ck_assert_int_eq(dropipc_parent_send_args(p, test_example_args()), 0);
	ck_assert_int_eq(dropipc_child_recv_args(c, &got), 0);
	dropipc_args_free(got);
	dropipc_parent_free(p);
	dropipc_child_free(c);
}
END_TEST

Suite *suite_nonblock(void)
{
	Suite *s = suite_create("nonblock");
	TCase *tc = unit_tcase(s, "pieces");

	tcase_add_test(tc, pieces_without_a_blocking_call);
	tcase_add_test(tc, args_in_pieces_of_every_size);
	tcase_add_test(tc, attribution_in_pieces);
	tc = unit_tcase(s, "queue");
	tcase_add_test(tc, events_and_deadline);
	tcase_add_test(tc, large_args_to_a_slow_reader);
	tcase_add_test(tc, queued_send_times_out);
	tc = unit_tcase(s, "cancel");
	tcase_add_test(tc, cancel_from_another_thread);
	tcase_add_test(tc, cancel_in_the_middle_of_a_frame);
	tcase_add_test(tc, cancel_a_blocking_send);
	tcase_add_test(tc, cancel_from_a_signal_handler);
	return s;
}

/* ---- pidfd: the child's death (issue 11) -------------------------------------------- */

/* The bound from the issue: a receive ends this soon after the death. */
#define DEATH_BOUND_US 100000

static int pidfd_open_(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

int unit_pidfd_supported(void)
{
	int fd = pidfd_open_(getpid());

	if (fd < 0)
		return 0;
	close(fd);
	return 1;
}

/* Shared with the forked child: when it died, and its own child's pid. */
struct death {
	uint64_t died_us;
	pid_t grandchild;
};

static struct death *death_map(void)
{
	struct death *d = mmap(NULL, sizeof(*d), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
			       -1, 0);

	ck_assert_ptr_ne(d, MAP_FAILED);
	memset(d, 0, sizeof(*d));
	return d;
}

static void reap(pid_t pid)
{
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

/* A parent's end on sv[0] with pid's pidfd attached (the test's copy closed). */
static dropipc_parent *parent_watching(int sock, pid_t pid)
{
	dropipc_parent *p;
	int pidfd = pidfd_open_(pid);

	ck_assert_msg(pidfd >= 0, "pidfd_open: %s", strerror(errno));
	ck_assert_int_eq(dropipc_parent_new(sock, &p), 0);
	ck_assert_int_eq(dropipc_parent_set_pidfd(p, pidfd), 0);
	close(pidfd);
	return p;
}

/*
 * The held-out attack: the child attaches its own channel end to the first
 * bytes of a frame and exits. Its end is then in flight (or in the parent's
 * partial frame), so the channel never reports end-of-stream.
 */
START_TEST(dead_child_with_its_end_in_a_partial_frame)
{
	struct death *d = death_map();
	struct unit_header h = unit_header(1, 100);
	dropipc_parent *p;
	uint8_t hdr[16];
	int sv[2], fd = -2, r;
	uint64_t done;
	pid_t pid;

	unit_header_encode(&h, hdr);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	fflush(NULL);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(sv[0]);
		sleep_ms(50); /* the parent is waiting by now */
		if (send_piece(sv[1], hdr, 8, &sv[1], 1) < 0)
			_exit(1);
		d->died_us = now_us();
		_exit(0);
	}
	p = parent_watching(sv[0], pid);
	/* The adopted end learns which socket is the child's. */
	ck_assert_int_eq(dropipc_parent_set_peer(p, sv[1]), 0);
	close(sv[1]);
	/* With a pidfd attached, the default: no timeout at all. */
	r = dropipc_parent_recv_pty(p, &fd);
	done = now_us();
	/* The channel's own end is refused as soon as it arrives (even
	 * before the death); the pidfd would end the wait otherwise. */
	ck_assert_msg(r == DROPIPC_ERR_PROTO, "got %s: %s", dropipc_err_name(r),
		      dropipc_conn_get_errmsg(dropipc_parent_conn(p)));
	ck_assert_int_eq(fd, -1);
	unit_assert_contains(dropipc_conn_get_errmsg(dropipc_parent_conn(p)),
			     "recv pty: an fd of the frame is the other end of this channel");
	ck_assert_int_eq(dropipc_parent_recv_pty(p, &fd), DROPIPC_ERR_CLOSED);
	/* The child's end that came with the frame was closed (the fixture
	 * counts fds). */
	dropipc_parent_free(p);
	reap(pid);
	ck_assert_uint_ne(d->died_us, 0);
	ck_assert_msg(done < d->died_us + DEATH_BOUND_US, "ended %lld us after the death",
		      (long long)(done - d->died_us));
	munmap(d, sizeof(*d));
}
END_TEST

/* The child forks a grandchild that keeps the channel open; sig kills the child. */
static pid_t start_doomed_child(int sv[2], struct death *d, int fork_keeper)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(sv[0]);
		if (fork_keeper) {
			pid_t g = fork();

			if (g == 0) {
				alarm(10);
				pause();
				_exit(0);
			}
			d->grandchild = g;
		}
		sleep_ms(50);
		d->died_us = now_us();
		kill(getpid(), SIGKILL);
		_exit(1);
	}
	close(sv[1]);
	return pid;
}

START_TEST(sigkill_while_waiting_for_the_pty)
{
	struct death *d = death_map();
	dropipc_parent *p;
	int sv[2], fd = -2, r;
	uint64_t done;
	pid_t pid;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	pid = start_doomed_child(sv, d, 1);
	p = parent_watching(sv[0], pid);
	r = dropipc_parent_recv_pty(p, &fd);
	done = now_us();
	ck_assert_msg(r == DROPIPC_ERR_DEAD, "got %s: %s", dropipc_err_name(r), dropipc_conn_get_errmsg(dropipc_parent_conn(p)));
	ck_assert_msg(done - d->died_us < DEATH_BOUND_US, "ended %llu us after the death",
		      (unsigned long long)(done - d->died_us));
	ck_assert_str_eq(dropipc_conn_get_errmsg(dropipc_parent_conn(p)),
			 "recv pty: waiting for a frame: the child process died before the message arrived");
	/* Nothing of a frame had come: EDEAD again, not ECLOSED. */
	ck_assert_int_eq(dropipc_parent_wait_exec(p), DROPIPC_ERR_DEAD);
	kill(d->grandchild, SIGKILL);
	reap(pid);
	dropipc_parent_free(p);
	munmap(d, sizeof(*d));
}
END_TEST

/* Without a keeper, the channel closes with the child: the stream says so first. */
START_TEST(sigkill_with_the_channel_closing)
{
	struct death *d = death_map();
	dropipc_parent *p;
	int sv[2], fd = -2;
	pid_t pid;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	pid = start_doomed_child(sv, d, 0);
	p = parent_watching(sv[0], pid);
	ck_assert_int_eq(dropipc_parent_recv_pty(p, &fd), DROPIPC_ERR_EOF);
	reap(pid);
	dropipc_parent_free(p);
	munmap(d, sizeof(*d));
}
END_TEST

/* A frame the child completed before it died is received, in both modes. */
static void complete_frame_then_death(int nonblocking)
{
	struct death *d = death_map();
	dropipc_parent *p;
	int sv[2], fd = -2, r;
	pid_t pid;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	fflush(NULL);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dropipc_child *c;
		int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
		pid_t g;

		close(sv[0]);
		if (m < 0 || dropipc_child_new(sv[1], &c) < 0 || dropipc_child_send_pty(c, m) < 0)
			_exit(1);
		g = fork();
		if (g == 0) {
			alarm(10);
			pause();
			_exit(0);
		}
		d->grandchild = g;
		_exit(0);
	}
	close(sv[1]);
	p = parent_watching(sv[0], pid);
	/* Dead before the parent reads anything. */
	reap(pid);
	ck_assert_int_eq(dropipc_conn_set_nonblocking(dropipc_parent_conn(p), nonblocking), 0);
	r = dropipc_parent_recv_pty(p, &fd);
	ck_assert_msg(r == 0, "got %s: %s", dropipc_err_name(r), dropipc_conn_get_errmsg(dropipc_parent_conn(p)));
	close(fd);
	ck_assert_int_eq(dropipc_parent_wait_exec(p), DROPIPC_ERR_DEAD);
	kill(d->grandchild, SIGKILL);
	dropipc_parent_free(p);
	munmap(d, sizeof(*d));
}

START_TEST(complete_frame_before_death_blocking)
{
	complete_frame_then_death(0);
}
END_TEST

START_TEST(complete_frame_before_death_nonblocking)
{
	complete_frame_then_death(1);
}
END_TEST

START_TEST(set_pidfd_arguments)
{
	dropipc_parent *p;
	dropipc_child *c;
	int pidfd = pidfd_open_(getpid()), before;

	ck_assert_int_ge(pidfd, 0);
	ck_assert_int_eq(unit_pair(&p, &c), 0);
	ck_assert_int_eq(dropipc_parent_set_pidfd(p, -2), -EBADF);
	before = test_count_fds();
	ck_assert_int_eq(dropipc_parent_set_pidfd(p, pidfd), 0);
	ck_assert_int_eq(test_count_fds(), before + 1);
	/* Replaced, then detached: the end's copies go with it. */
	ck_assert_int_eq(dropipc_parent_set_pidfd(p, pidfd), 0);
	ck_assert_int_eq(test_count_fds(), before + 1);
	ck_assert_int_eq(dropipc_parent_set_pidfd(p, -1), 0);
	ck_assert_int_eq(test_count_fds(), before);
	ck_assert_int_eq(dropipc_parent_set_pidfd(p, pidfd), 0);
	close(pidfd);
	/* This process is alive: a receive still times out as usual. */
	ck_assert_int_eq(dropipc_conn_set_timeout(dropipc_parent_conn(p), 20000), 0);
	ck_assert_int_eq(dropipc_parent_recv_pty(p, &pidfd), DROPIPC_ERR_TIMEDOUT);
	dropipc_parent_free(p);
	dropipc_child_free(c);
}
END_TEST

Suite *suite_pidfd(void)
{
	Suite *s = suite_create("pidfd");
	TCase *tc = unit_tcase(s, "death");

	tcase_add_test(tc, dead_child_with_its_end_in_a_partial_frame);
	tcase_add_test(tc, sigkill_while_waiting_for_the_pty);
	tcase_add_test(tc, sigkill_with_the_channel_closing);
	tcase_add_test(tc, complete_frame_before_death_blocking);
	tcase_add_test(tc, complete_frame_before_death_nonblocking);
	tcase_add_test(tc, set_pidfd_arguments);
	return s;
}
