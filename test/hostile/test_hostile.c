/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * The hostile-peer tests: for each attack of hostile-child, a peer built on
 * the library receives what the attacker sends and must fail with the exact
 * error code and a message that says what was wrong, without crashing,
 * hanging past its timeout, or keeping an fd. Memory is checked by running
 * this test under valgrind and LeakSanitizer (scripts/test.sh); the huge
 * lengths are also received under a low RLIMIT_AS.
 *
 * Environment: DROPIPC_TEST_NO_RLIMIT=1 skips the parts that lower
 * RLIMIT_AS and RLIMIT_NOFILE (valgrind emulates both, so they prove
 * nothing there); under AddressSanitizer RLIMIT_AS is skipped on its own.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stddef.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "raw_send.h"
#include "testutil.h"

#if defined(__SANITIZE_ADDRESS__)
#define ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ASAN 1
#endif
#endif
#ifndef ASAN
#define ASAN 0
#endif

#define TIMEOUT_MS 2000
/* Timeout of the second receive that shows whether the stream survived. */
#define AFTER_TIMEOUT_MS 50

/* Which receive the attacked end runs. */
enum role { RECV_PTY, RECV_FILES, RECV_ARGS };

struct attack_case {
	const char *attack; /* argv[1] of hostile-child */
	enum role role;
	int timeout_ms;
	size_t max_payload; /* 0: the default */
	int want;	    /* the exact return code */
	const char *msg;    /* a substring of the error message */
	/*
	 * What a second receive returns: DROPIPC_ERR_CLOSED after an error in
	 * the middle of a frame, DROPIPC_ERR_TIMEDOUT (nothing more comes) when
	 * the stream survived a bad whole frame; 0 to skip.
	 */
	int after;
	int max_ms; /* the receive returns within this, if not 0 */
	/* The close of a received fd stays stuck in the library's helper
	 * process until the attacker dies: one more child, and one more fd
	 * (its pidfd), until then. */
	int held;
};

/* The attacked end: a parent or a child, and the attacker's pid. */
struct peer {
	pid_t pid;
	dropipc_parent *parent;
	dropipc_child *child;
};

static void peer_start(struct peer *p, const char *attack, enum role role)
{
	int sv[2];

	*p = (struct peer){ .pid = -1 };
	if (role == RECV_ARGS) {
		/* The attacker plays the parent: the library end is a child. */
		ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
		ck_assert_int_eq(dropipc_child_new(sv[0], &p->child), 0);
	} else {
		ck_assert_int_eq(dropipc_socketpair(&p->parent, &sv[1]), 0);
	}
	p->pid = fork();
	ck_assert_int_ge(p->pid, 0);
	if (p->pid == 0) {
		if (dropipc_child_fd_inherit(sv[1]) == 0)
			execl(HOSTILE_CHILD, "hostile-child", attack, (char *)NULL);
		_exit(127);
	}
	close(sv[1]);
}

/* Kills and reaps the attacker, closes the end. */
static void peer_stop(struct peer *p)
{
	int status;

	if (p->pid > 0) {
		kill(p->pid, SIGKILL);
		while (waitpid(p->pid, &status, 0) < 0 && errno == EINTR)
			;
	}
	dropipc_parent_free(p->parent);
	dropipc_child_free(p->child);
	*p = (struct peer){ .pid = -1 };
}

/* Whichever end the peer has: what both do alike is on its connection. */
static dropipc_conn *peer_conn(const struct peer *p)
{
	return p->parent ? dropipc_parent_conn(p->parent) : dropipc_child_conn(p->child);
}

static const char *peer_errmsg(const struct peer *p)
{
	return dropipc_conn_get_errmsg(peer_conn(p));
}

/* ms < 0: no timeout, set on purpose. */
static void peer_set_timeout(struct peer *p, int ms)
{
	ck_assert_int_eq(dropipc_conn_set_timeout(peer_conn(p), ms < 0 ? DROPIPC_TIMEOUT_INFINITE
									: (uint64_t)ms * 1000),
			 0);
}

/*
 * Runs the role's receive. On success closes and frees what came (after
 * checking it is there); on failure checks that the outputs were reset.
 */
static int peer_recv(struct peer *p, enum role role)
{
	dropipc_args *args = (dropipc_args *)1;
	dropipc_file *files = (dropipc_file *)1;
	size_t n = 99;
	int fd = 99, r;

	switch (role) {
	case RECV_PTY:
		r = dropipc_parent_recv_pty(p->parent, &fd);
		if (r == 0) {
			ck_assert_int_ge(fd, 0);
			close(fd);
		} else {
			ck_assert_int_eq(fd, -1);
		}
		return r;
	case RECV_FILES:
		r = dropipc_conn_recv_files(dropipc_parent_conn(p->parent), &files, &n);
		if (r == 0) {
			ck_assert_ptr_nonnull(files);
			for (size_t i = 0; i < n; i++)
				close(files[i].fd);
			free(files);
		} else {
			ck_assert_ptr_null(files);
			ck_assert_uint_eq(n, 0);
		}
		return r;
	case RECV_ARGS:
		r = dropipc_child_recv_args(p->child, &args);
		if (r == 0) {
			ck_assert_ptr_nonnull(args);
			dropipc_args_free(args);
		} else {
			ck_assert_ptr_null(args);
		}
		return r;
	}
	ck_abort_msg("unknown role %d", role);
	return 0;
}

static void assert_outcome(const char *attack, int r, const char *msg, int want,
			   const char *want_msg)
{
	ck_assert_msg(r == want, "%s: got %s (%s), want %s", attack, dropipc_err_name(r), msg,
		      dropipc_err_name(want));
	ck_assert_msg(strstr(msg, want_msg) != NULL, "%s: message \"%s\" lacks \"%s\"", attack,
		      msg, want_msg);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Threads of this process, from /proc/self/status. */
static int count_threads(void)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[256];
	int n = -1;

	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Threads: %d", &n) == 1)
			break;
	fclose(f);
	return n;
}

/*
 * Waits (10 s at most) until the library's helper process has ended and
 * been reaped: the library reaps it in its next call that closes or
 * receives, or frees an end; here, freeing a new pair.
 */
static void settle_helper(int children)
{
	for (int i = 0; i < 1000; i++) {
		dropipc_parent *p;
		int child_fd;

		ck_assert_int_eq(dropipc_socketpair(&p, &child_fd), 0);
		close(child_fd);
		dropipc_parent_free(p);
		if (test_count_children() <= children)
			return;
		usleep(10000);
	}
	ck_abort_msg("the helper process is still there 10 s after the attacker died");
}

static void run_case(const struct attack_case *c)
{
	int before = test_count_fds(), threads = count_threads(), children = test_count_children(), r;
	int held;
	long long start;
	struct peer p;

	peer_start(&p, c->attack, c->role);
	peer_set_timeout(&p, c->timeout_ms ? c->timeout_ms : TIMEOUT_MS);
	if (c->max_payload)
		ck_assert_int_eq(dropipc_conn_set_max_payload(dropipc_parent_conn(p.parent), c->max_payload), 0);
	start = now_ms();
	r = peer_recv(&p, c->role);
	if (c->max_ms)
		ck_assert_msg(now_ms() - start <= c->max_ms, "%s: the receive took %lld ms, bound %d ms",
			      c->attack, now_ms() - start, c->max_ms);
	assert_outcome(c->attack, r, peer_errmsg(&p), c->want, c->msg);
	if (r == DROPIPC_ERR_CHILD && c->role == RECV_PTY) {
		dropipc_stage stage;
		int err;

		ck_assert_int_eq(dropipc_parent_get_child_error(p.parent, &stage, &err, NULL), 0);
		ck_assert_int_eq(stage, DROPIPC_STAGE_EXEC);
		ck_assert_int_eq(err, ENOENT);
	}
	/* Only the end's own fds (its socket and its cancel eventfd) are left:
	 * every fd that came was closed (or, stuck, is being closed by the
	 * helper, whose pidfd is the one more). No thread was started; the
	 * attacker and, while stuck, the helper are the only children. */
	held = c->held >= 0 ? c->held : test_count_fds() - before - 2;
	ck_assert_msg(test_count_fds() == before + 2 + held && held >= 0 && held <= 1,
		      "%s: %d fds open, want %d", c->attack, test_count_fds(),
		      before + 2 + held);
	ck_assert_int_eq(count_threads(), threads);
	ck_assert_int_eq(test_count_children(), children + 1 + held);
	if (c->after) {
		peer_set_timeout(&p, AFTER_TIMEOUT_MS);
		r = peer_recv(&p, c->role);
		ck_assert_msg(r == c->after, "%s: second receive got %s (%s), want %s", c->attack,
			      dropipc_err_name(r), peer_errmsg(&p), dropipc_err_name(c->after));
	}
	peer_stop(&p);
	if (held)
		settle_helper(children);
	ck_assert_int_eq(test_count_children(), children);
	ck_assert_int_eq(test_count_fds(), before);
}

#define ATTACK(name, role, want, msg, after)                                         \
	START_TEST(test_##name)                                                      \
	{                                                                            \
		run_case(&(struct attack_case){ #name, role, 0, 0, want, msg, after, 0, 0 }); \
	}                                                                            \
	END_TEST

/* An attack with its own timeout and a bound on how long the receive takes. */
#define ATTACK_BOUNDED(name, role, timeout_ms, max_ms, want, msg, after)              \
	START_TEST(test_##name)                                                       \
	{                                                                             \
		run_case(&(struct attack_case){ #name, role, timeout_ms, 0, want, msg, after, \
						max_ms, 0 });                         \
	}                                                                             \
	END_TEST

#define ATTACK_HELD_MAYBE(name, role, timeout_ms, max_ms, want, msg, after)           \
	START_TEST(test_##name)                                                       \
	{                                                                             \
		run_case(&(struct attack_case){ #name, role, timeout_ms, 0, want, msg, after, \
						max_ms, -1 });                        \
	}                                                                             \
	END_TEST

/* The same, for an attack that leaves the helper stuck in a close. */
#define ATTACK_HELD(name, role, timeout_ms, max_ms, want, msg, after)                 \
	START_TEST(test_##name)                                                       \
	{                                                                             \
		run_case(&(struct attack_case){ #name, role, timeout_ms, 0, want, msg, after, \
						max_ms, 1 });                         \
	}                                                                             \
	END_TEST

/* ---- frames: EOF, cut short, bad header ------------------------------------ */

ATTACK(eof_first, RECV_PTY, DROPIPC_ERR_EOF, "recv pty: peer closed the connection", DROPIPC_ERR_EOF)
ATTACK(short_header, RECV_PTY, DROPIPC_ERR_TRUNC,
       "peer closed the connection after 7 bytes of the frame", DROPIPC_ERR_CLOSED)
ATTACK(short_payload, RECV_PTY, DROPIPC_ERR_TRUNC,
       "peer closed the connection after 20 bytes of the frame", DROPIPC_ERR_CLOSED)
ATTACK(bad_magic, RECV_PTY, DROPIPC_ERR_PROTO, "bad magic 44 49 50 58", DROPIPC_ERR_CLOSED)
ATTACK(newer_version, RECV_PTY, DROPIPC_ERR_PROTO,
       "peer speaks protocol version 2, this end speaks version 1", DROPIPC_ERR_CLOSED)
ATTACK(reserved_set, RECV_PTY, DROPIPC_ERR_PROTO, "reserved header field is 0xdead, not 0",
       DROPIPC_ERR_CLOSED)
ATTACK(zero_length, RECV_PTY, DROPIPC_ERR_PROTO, "envelope has no body", DROPIPC_ERR_TIMEDOUT)

/* ---- payloads: not protobuf, wrong message, bad ChildArgs ------------------ */

ATTACK(not_protobuf, RECV_PTY, DROPIPC_ERR_PROTO, "payload is not a protobuf Envelope",
       DROPIPC_ERR_TIMEDOUT)
ATTACK(wrong_type, RECV_PTY, DROPIPC_ERR_PROTO, "expected the pty message, got child_args",
       DROPIPC_ERR_TIMEDOUT)
ATTACK(unknown_body, RECV_PTY, DROPIPC_ERR_UNSUPPORTED,
       "unsupported message: envelope field 7 is not known", DROPIPC_ERR_TIMEDOUT)
ATTACK(two_bodies, RECV_PTY, DROPIPC_ERR_PROTO, "envelope has 2 bodies, not 1", DROPIPC_ERR_TIMEDOUT)
ATTACK(error_escape, RECV_PTY, DROPIPC_ERR_CHILD,
       "child setup failed at exec: ?[2J?]0;pwned? gone?", DROPIPC_ERR_TIMEDOUT)
/* The child's error where Files was expected: reported, and freed. */
ATTACK(error_for_files, RECV_FILES, DROPIPC_ERR_CHILD,
       "recv files: child setup failed at exec: ?[2J?]0;pwned? gone?", DROPIPC_ERR_TIMEDOUT)
ATTACK(args_port_0, RECV_ARGS, DROPIPC_ERR_INVALID,
       "config.net.tcp_published_ports[0].guest_port: 0 is not in 1..65535", DROPIPC_ERR_TIMEDOUT)
ATTACK(args_port_70000, RECV_ARGS, DROPIPC_ERR_INVALID,
       "config.net.tcp_published_ports[0].guest_port: 70000 is not in 1..65535",
       DROPIPC_ERR_TIMEDOUT)
ATTACK(args_net_mode, RECV_ARGS, DROPIPC_ERR_INVALID, "config.net.mode: 9 is not a known mode",
       DROPIPC_ERR_TIMEDOUT)
ATTACK(args_nul_path, RECV_ARGS, DROPIPC_ERR_INVALID, "paths.fs_root: NUL byte at byte 3",
       DROPIPC_ERR_TIMEDOUT)

/*
 * The densest message the schema allows (empty mounts: 2 bytes on the wire,
 * up to about 120 in memory while protobuf-c decodes) stays within the
 * decode bound of 64 times its size, and validation then refuses it.
 */
ATTACK(decode_bomb, RECV_ARGS, DROPIPC_ERR_INVALID, "recv args: paths: missing",
       DROPIPC_ERR_TIMEDOUT)

/* ---- fds ------------------------------------------------------------------ */

ATTACK(fds_more_than_header, RECV_PTY, DROPIPC_ERR_PROTO, "header announces 1 fds, 2 arrived",
       DROPIPC_ERR_CLOSED)
ATTACK(fds_fewer_than_header, RECV_PTY, DROPIPC_ERR_PROTO, "header announces 2 fds, 1 arrived",
       DROPIPC_ERR_CLOSED)
ATTACK(fds_late, RECV_PTY, DROPIPC_ERR_PROTO,
       "1 fds arrived at byte 16 of the frame, not with its first byte", DROPIPC_ERR_CLOSED)
ATTACK(fds_late_announced, RECV_PTY, DROPIPC_ERR_PROTO, "header announces 1 fds, 0 arrived",
       DROPIPC_ERR_CLOSED)
ATTACK(fds_over_max, RECV_PTY, DROPIPC_ERR_PROTO, "header announces 17 fds, the maximum is 16",
       DROPIPC_ERR_CLOSED)
ATTACK(fds_ctrunc, RECV_PTY, DROPIPC_ERR_PROTO,
       "control data truncated after 16 fds: the peer sent more than 16",
       DROPIPC_ERR_CLOSED)
ATTACK(fd_index_out_of_range, RECV_FILES, DROPIPC_ERR_PROTO,
       "files[1].fd: fd index 5 out of range (the frame has 2 fds)", DROPIPC_ERR_TIMEDOUT)
ATTACK(fd_index_twice, RECV_FILES, DROPIPC_ERR_PROTO, "files[1].fd: fd index 0 claimed twice",
       DROPIPC_ERR_TIMEDOUT)
ATTACK(pty_index_out_of_range, RECV_PTY, DROPIPC_ERR_PROTO,
       "master_fd: fd index 1 out of range (the frame has 1 fds)", DROPIPC_ERR_TIMEDOUT)
/* The harness itself: 16 fds of a well-formed frame all arrive. */
ATTACK(files_16, RECV_FILES, 0, "", DROPIPC_ERR_TIMEDOUT)

/* ---- what comes as the pty master ----------------------------------------- */

ATTACK(not_pty_pipe, RECV_PTY, DROPIPC_ERR_NOTPTY, "the fd sent as pty master is a pipe",
       DROPIPC_ERR_TIMEDOUT)
ATTACK(not_pty_socket, RECV_PTY, DROPIPC_ERR_NOTPTY, "the fd sent as pty master is a socket",
       DROPIPC_ERR_TIMEDOUT)
ATTACK(not_pty_dir, RECV_PTY, DROPIPC_ERR_NOTPTY, "the fd sent as pty master is a directory",
       DROPIPC_ERR_TIMEDOUT)
ATTACK(not_pty_devnull, RECV_PTY, DROPIPC_ERR_NOTPTY,
       "the fd sent as pty master is a character device", DROPIPC_ERR_TIMEDOUT)
ATTACK(not_pty_slave, RECV_PTY, DROPIPC_ERR_NOTPTY,
       "the fd sent as pty master is a character device", DROPIPC_ERR_TIMEDOUT)
/* The harness itself: a real pty master is accepted. */
ATTACK(pty_ok, RECV_PTY, 0, "", DROPIPC_ERR_TIMEDOUT)
/* A master the parent could not write to (or read from) is no use. */
ATTACK(pty_readonly, RECV_PTY, DROPIPC_ERR_NOTPTY,
       "the fd sent as pty master is a pty master opened read-only, not read-write",
       DROPIPC_ERR_TIMEDOUT)

/* ---- fds whose close blocks ------------------------------------------------ */

/*
 * A TCP socket with a full send queue and SO_LINGER {1, INT_MAX}: a plain
 * close() of it waits for ever. The receive returns at once (well within
 * its 2000 ms timeout), the socket closed: as the pty master, on a frame
 * with a bad fd count, with an error report.
 */
ATTACK_BOUNDED(linger_pty, RECV_PTY, TIMEOUT_MS, 1000, DROPIPC_ERR_NOTPTY,
	       "the fd sent as pty master is a socket", DROPIPC_ERR_TIMEDOUT)
ATTACK_BOUNDED(linger_fd_count, RECV_PTY, TIMEOUT_MS, 1000, DROPIPC_ERR_PROTO,
	       "header announces 1 fds, 2 arrived", DROPIPC_ERR_CLOSED)
ATTACK_BOUNDED(linger_error, RECV_PTY, TIMEOUT_MS, 1000, DROPIPC_ERR_CHILD,
	       "child setup failed at exec: lingering", DROPIPC_ERR_TIMEDOUT)
/* ... as a 17th fd past the 16 a frame may carry (the kernel would drop it
 * in recvmsg, closing it in the parent's thread, if the library let it),
 * and queued inside a Unix socket sent as the pty master (whose last close
 * releases it). */
ATTACK_BOUNDED(linger_beyond_16, RECV_PTY, TIMEOUT_MS, 1000, DROPIPC_ERR_PROTO,
	       "control data truncated after 16 fds: the peer sent more than 16", DROPIPC_ERR_CLOSED)
ATTACK_HELD(linger_in_unix, RECV_PTY, TIMEOUT_MS, 1000, DROPIPC_ERR_NOTPTY,
	    "the fd sent as pty master is a socket", DROPIPC_ERR_TIMEDOUT)

/*
 * A pipe whose mutex the attacker's splice() holds (pipe_release() waits
 * for it, in state D): as the pty master, with an error report, as the
 * 17th fd. The receive returns within 1 s; the helper process holds the
 * close until the attacker dies.
 */
ATTACK_HELD(splice_pty, RECV_PTY, TIMEOUT_MS, 1000, DROPIPC_ERR_NOTPTY,
	    "the fd sent as pty master is a pipe", DROPIPC_ERR_TIMEDOUT)
ATTACK_HELD(splice_error, RECV_PTY, TIMEOUT_MS, 1000, DROPIPC_ERR_CHILD,
	    "child setup failed at exec: held", DROPIPC_ERR_TIMEDOUT)
/* (Here the attacker's sender may close last and wait in the helper's
 * stead: held is -1, "either".) */
ATTACK_HELD_MAYBE(splice_beyond_16, RECV_PTY, TIMEOUT_MS, 1000, DROPIPC_ERR_PROTO,
		  "control data truncated after 16 fds: the peer sent more than 16",
		  DROPIPC_ERR_CLOSED)

/*
 * The channel's own other end, attached to the first byte of a frame whose
 * sender then dies: holding it, the parent would never see end-of-stream.
 * Refused as it arrives, with a 10 s timeout, within 1 s.
 */
ATTACK_BOUNDED(own_end_partial, RECV_PTY, 10000, 1000, DROPIPC_ERR_PROTO,
	       "recv pty: an fd of the frame is the other end of this channel", DROPIPC_ERR_CLOSED)

/* The child's text cut at 400 bytes in the error message: at a character
 * boundary, so the message is valid UTF-8 (here 399 bytes of it). */
START_TEST(test_error_utf8_cut)
{
	char want[512] = "recv pty: child setup failed at exec: ";
	int before = test_count_fds();
	const char *msg;
	struct peer p;

	peer_start(&p, "error_utf8_cut", RECV_PTY);
	peer_set_timeout(&p, TIMEOUT_MS);
	ck_assert_int_eq(peer_recv(&p, RECV_PTY), DROPIPC_ERR_CHILD);
	msg = peer_errmsg(&p);
	ck_assert_msg(test_utf8_valid(msg, strlen(msg)), "not UTF-8: \"%s\"", msg);
	memset(want + strlen(want), 'x', 399);
	ck_assert_str_eq(msg, want);
	ck_assert_int_eq(test_count_fds(), before + 2);
	peer_stop(&p);
	ck_assert_int_eq(test_count_fds(), before);
}
END_TEST

/*
 * A file of a FUSE file system the child serves, sent as the pty master:
 * the server answers everything but FLUSH, which every close() sends and
 * waits for. The type check never asks the server; the close goes to a
 * helper process and the receive returns within 1 s of the frame's arrival;
 * the helper waits until the server dies with the attacker, and ends.
 */
START_TEST(test_fuse_pty)
{
	int before = test_count_fds(), threads = count_threads(), children = test_count_children(), r;
	struct pollfd pf;
	long long start;
	struct peer p;

	peer_start(&p, "fuse_pty", RECV_PTY);
	peer_set_timeout(&p, TIMEOUT_MS);
	pf = (struct pollfd){ .fd = dropipc_conn_get_fd(dropipc_parent_conn(p.parent)), .events = POLLIN };
	ck_assert_int_eq(poll(&pf, 1, 10000), 1); /* the mount takes its time */
	start = now_ms();
	r = peer_recv(&p, RECV_PTY);
	ck_assert_msg(now_ms() - start <= 1000, "fuse_pty: the receive took %lld ms, bound 1000 ms",
		      now_ms() - start);
	assert_outcome("fuse_pty", r, peer_errmsg(&p), DROPIPC_ERR_NOTPTY,
		       "the fd sent as pty master is a regular file");
	/* close() takes the fd out of the table before it waits: only the
	 * end's socket and eventfd are left, and the pidfd of the helper
	 * process, which waits for the FLUSH. No thread. */
	ck_assert_int_eq(test_count_fds(), before + 3);
	ck_assert_int_eq(count_threads(), threads);
	ck_assert_int_eq(test_count_children(), children + 2);
	peer_stop(&p);
	/* The server died with the attacker: the FLUSH failed, the helper ended. */
	settle_helper(children);
	ck_assert_int_eq(test_count_fds(), before);
}
END_TEST

/* Keeps the fd it is given (the close policy's callback), for later. */
/* Keeps the first fd; a later one (the end's own socket, when it is
 * freed) is closed. */
static void keep_fd(int fd, void *data)
{
	if (*(int *)data < 0)
		*(int *)data = fd;
	else
		close(fd);
}

/*
 * The pty check does not trust TIOCGPTN: that FUSE file answers it as a
 * pty master would (shown here on the fd itself), and it is refused as the
 * regular file it is. The fd comes back through the close callback, and is
 * closed once the server is dead (its FLUSH would wait until then).
 */
START_TEST(test_fuse_answers_tiocgptn)
{
	int before = test_count_fds(), kept = -1, r;
	unsigned int ptn = 0;
	struct pollfd pf;
	struct peer p;

	peer_start(&p, "fuse_pty", RECV_PTY);
	peer_set_timeout(&p, TIMEOUT_MS);
	ck_assert_int_eq(dropipc_conn_set_close(dropipc_parent_conn(p.parent), DROPIPC_CLOSE_CALLBACK, keep_fd, &kept),
			 0);
	pf = (struct pollfd){ .fd = dropipc_conn_get_fd(dropipc_parent_conn(p.parent)), .events = POLLIN };
	ck_assert_int_eq(poll(&pf, 1, 10000), 1);
	r = peer_recv(&p, RECV_PTY);
	assert_outcome("fuse_ptn", r, peer_errmsg(&p), DROPIPC_ERR_NOTPTY,
		       "the fd sent as pty master is a regular file");
	ck_assert_int_ge(kept, 0);
	ck_assert_int_eq(ioctl(kept, TIOCGPTN, &ptn), 0);
	ck_assert_uint_eq(ptn, 7);
	peer_stop(&p);
	close(kept);
	ck_assert_int_eq(test_count_fds(), before);
}
END_TEST

/*
 * Why eventfd (and every pollable file) is not closed inline: the last
 * close of a file takes the lock of each epoll instance it is registered
 * in, and the attacker holds that lock while its FUSE server sits on a
 * poll. The receive returns within 1 s; the helper holds the close.
 */
START_TEST(test_epoll_eventfd)
{
	int before = test_count_fds(), threads = count_threads(), children = test_count_children();
	struct pollfd pf;
	long long start;
	struct peer p;
	int r;

	peer_start(&p, "epoll_eventfd", RECV_PTY);
	peer_set_timeout(&p, TIMEOUT_MS);
	pf = (struct pollfd){ .fd = dropipc_conn_get_fd(dropipc_parent_conn(p.parent)), .events = POLLIN };
	ck_assert_int_eq(poll(&pf, 1, 10000), 1);
	start = now_ms();
	r = peer_recv(&p, RECV_PTY);
	ck_assert_msg(now_ms() - start <= 1000, "epoll_eventfd: the receive took %lld ms",
		      now_ms() - start);
	ck_assert_msg(r == DROPIPC_ERR_NOTPTY, "got %s (%s)", dropipc_err_name(r), peer_errmsg(&p));
	/* The helper is stuck in the eventfd's close: its pidfd, and it. */
	ck_assert_int_eq(test_count_fds(), before + 3);
	ck_assert_int_eq(count_threads(), threads);
	ck_assert_int_eq(test_count_children(), children + 2);
	peer_stop(&p);
	settle_helper(children);
	ck_assert_int_eq(test_count_fds(), before);
}
END_TEST

/*
 * One frame with 253 fds of that FUSE file (its header announces 16): the
 * receive takes all 253 (the kernel would drop those past its buffer in the
 * parent's thread) and fails at once; the one helper process closes them,
 * stuck in the first FLUSH, the 252 others still in the table behind it.
 * No thread at all.
 */
START_TEST(test_fuse_flood)
{
	int before = test_count_fds(), threads = count_threads(), children = test_count_children(), r;
	struct pollfd pf;
	long long start;
	struct peer p;

	peer_start(&p, "fuse_flood", RECV_PTY);
	peer_set_timeout(&p, TIMEOUT_MS);
	pf = (struct pollfd){ .fd = dropipc_conn_get_fd(dropipc_parent_conn(p.parent)), .events = POLLIN };
	ck_assert_int_eq(poll(&pf, 1, 10000), 1);
	start = now_ms();
	r = peer_recv(&p, RECV_PTY);
	ck_assert_msg(now_ms() - start <= 1000, "fuse_flood: the receive took %lld ms, bound 1000 ms",
		      now_ms() - start);
	assert_outcome("fuse_flood", r, peer_errmsg(&p), DROPIPC_ERR_PROTO,
		       "control data truncated after 16 fds: the peer sent more than 16");
	ck_assert_int_eq(count_threads(), threads);
	ck_assert_int_eq(test_count_children(), children + 2);
	ck_assert_int_eq(test_count_fds(), before + 2 + 1 + 252);
	/* 253 parked: the end takes no more. */
	r = peer_recv(&p, RECV_PTY);
	ck_assert_int_eq(r, DROPIPC_ERR_CLOSED);
	peer_stop(&p);
	settle_helper(children);
	ck_assert_int_eq(test_count_fds(), before);
}
END_TEST

/*
 * 2000 frames, each with one fd whose close sticks (attack "fuse_frames":
 * a file of that FUSE server; "frames_linger": Unix sockets, the first of
 * which holds a lingering TCP socket), received one after the other, as a
 * launcher that retries after DROPIPC_ERR_NOTPTY would. The first close sticks
 * in the helper, the next ones wait in the end's queue; with
 * DROPIPC_MAX_PARKED_FDS waiting, the end refuses every receive. Across all
 * 2000 receives: no thread, at most the attacker and one helper as
 * children, at most 64 parked fds and the helper's pidfd.
 */
static void flood(const char *attack, const char *kind)
{
	int before = test_count_fds(), threads = count_threads(), children = test_count_children();
	int notpty = 0, refused = 0, most = 0, r;
	long long start, took;
	struct peer p;

	peer_start(&p, attack, RECV_PTY);
	peer_set_timeout(&p, 10000); /* the first frame: a FUSE mount takes its time */
	start = now_ms();
	for (int i = 0; i < 2000; i++) {
		r = peer_recv(&p, RECV_PTY);
		if (r == DROPIPC_ERR_NOTPTY) {
			ck_assert_msg(refused == 0, "%s: a receive after the end refused", attack);
			ck_assert_msg(strstr(peer_errmsg(&p), kind), "%s: %s", attack, peer_errmsg(&p));
			notpty++;
		} else {
			ck_assert_msg(r == DROPIPC_ERR_CLOSED, "%s: receive %d got %s (%s)", attack, i,
				      dropipc_err_name(r), peer_errmsg(&p));
			if (refused++ == 0)
				ck_assert_msg(strstr(peer_errmsg(&p),
						     "64 fds the peer sent still wait to be closed"),
					      "%s: %s", attack, peer_errmsg(&p));
		}
		if (test_count_fds() > most)
			most = test_count_fds();
		ck_assert_int_eq(count_threads(), threads);
		ck_assert_int_le(test_count_children(), children + 2);
	}
	took = now_ms() - start;
	ck_assert_int_eq(notpty, DROPIPC_MAX_PARKED_FDS);
	ck_assert_int_eq(refused, 2000 - DROPIPC_MAX_PARKED_FDS);
	ck_assert_msg(most <= before + 2 + 1 + DROPIPC_MAX_PARKED_FDS, "%s: %d fds at most, bound %d",
		      attack, most, before + 2 + 1 + DROPIPC_MAX_PARKED_FDS);
	ck_assert_msg(took <= 15000, "%s: 2000 receives took %lld ms", attack, took);
	fprintf(stderr, "%s: 2000 receives in %lld ms, %d fds at most (%d before), %d refused\n",
		attack, took, most, before, refused);
	peer_stop(&p);
	settle_helper(children);
	ck_assert_int_eq(test_count_fds(), before);
}

START_TEST(test_fuse_frames)
{
	flood("fuse_frames", "the fd sent as pty master is a regular file");
}
END_TEST

START_TEST(test_linger_frames)
{
	flood("frames_linger", "the fd sent as pty master is a socket");
}
END_TEST

/* ---- the launcher, after a close got stuck ------------------------------------ */

/* What the launcher sub-process saw. */
struct launcher_report {
	int r, threads, children, unshare_r;
	long long ms;
	pid_t attacker;
};

/*
 * A launcher in a sub-process: receives the splice-held pipe as its pty
 * (the close sticks in the helper), then calls unshare(CLONE_NEWUSER) and
 * exits with the close still stuck. No Check assertions in here.
 */
static __attribute__((noreturn)) void launcher(int report)
{
	struct launcher_report rep = { 0 };
	dropipc_parent *p;
	long long start;
	int cfd, fd;

	if (dropipc_socketpair(&p, &cfd) < 0)
		_exit(1);
	rep.attacker = fork();
	if (rep.attacker < 0)
		_exit(1);
	if (rep.attacker == 0) {
		if (dropipc_child_fd_inherit(cfd) == 0)
			execl(HOSTILE_CHILD, "hostile-child", "splice_pty", (char *)NULL);
		_exit(127);
	}
	close(cfd);
	dropipc_conn_set_timeout(dropipc_parent_conn(p), TIMEOUT_MS * 1000);
	start = now_ms();
	rep.r = dropipc_parent_recv_pty(p, &fd);
	rep.ms = now_ms() - start;
	rep.threads = count_threads();
	rep.children = test_count_children();
	rep.unshare_r = unshare(CLONE_NEWUSER) == 0 ? 0 : -errno;
	if (write(report, &rep, sizeof(rep)) != (ssize_t)sizeof(rep))
		_exit(1);
	_exit(0);
}

/* Whether this process may create a user namespace at all (in a fork). */
static int userns_allowed(void)
{
	int status;
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(unshare(CLONE_NEWUSER) == 0 ? 0 : 1);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/*
 * A close stuck in the helper (the splice-held pipe) leaves the launcher as
 * it was: single-threaded, so that unshare(CLONE_NEWUSER) works, and free
 * to exit at once. What it does not end: the helper shares the fd table, so
 * the launcher's fds (here the write end of the report pipe) stay open
 * until the attacker dies and the helper's close returns.
 */
START_TEST(test_launcher_after_stuck_close)
{
	int rp[2], pidfd, status, userns = userns_allowed();
	struct launcher_report rep;
	struct pollfd pf;
	long long start;
	ssize_t n;
	pid_t pid, w;

	/* The launcher's orphans (its helper, the attacker) come back here. */
	ck_assert_int_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	ck_assert_int_eq(pipe2(rp, O_CLOEXEC), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(rp[0]);
		launcher(rp[1]);
	}
	close(rp[1]);
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	ck_assert_int_ge(pidfd, 0);
	pf = (struct pollfd){ .fd = rp[0], .events = POLLIN };
	ck_assert_int_eq(poll(&pf, 1, 10000), 1);
	n = read(rp[0], &rep, sizeof(rep));
	ck_assert_int_eq(n, sizeof(rep));
	start = now_ms();
	pf = (struct pollfd){ .fd = pidfd, .events = POLLIN };
	ck_assert_msg(poll(&pf, 1, 5000) == 1, "the launcher did not exit within 5 s");
	fprintf(stderr, "launcher: receive %lld ms, exit after %lld ms, unshare %s\n", rep.ms,
		now_ms() - start, rep.unshare_r ? strerror(-rep.unshare_r) : "ok");
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(pidfd);
	assert_outcome("launcher", rep.r, "", DROPIPC_ERR_NOTPTY, "");
	ck_assert_msg(rep.ms <= 1000, "the receive took %lld ms", rep.ms);
	ck_assert_int_eq(rep.threads, 1);
	ck_assert_int_eq(rep.children, 2); /* the attacker and the helper */
	if (userns)
		ck_assert_msg(rep.unshare_r == 0, "unshare(CLONE_NEWUSER): %s",
			      strerror(-rep.unshare_r));
	else
		fprintf(stderr, "launcher: no user namespaces here, the unshare is not checked\n");
	/* The helper holds the launcher's fd table: no end-of-file yet. */
	pf = (struct pollfd){ .fd = rp[0], .events = POLLIN };
	ck_assert_int_eq(poll(&pf, 1, 100), 0);
	/* The attacker dies, and with it the splice: the helper's close
	 * returns, it exits (an orphan, reaped here) and the table closes. */
	kill(rep.attacker, SIGKILL);
	ck_assert_int_eq(poll(&pf, 1, 10000), 1);
	ck_assert(pf.revents & POLLHUP);
	close(rp[0]);
	for (int i = 0; i < 1000; i++) {
		w = waitpid(-1, &status, __WALL | WNOHANG);
		if (w < 0 && errno == ECHILD)
			break;
		if (w == 0)
			usleep(10000);
	}
	ck_assert_msg(waitpid(-1, &status, __WALL | WNOHANG) < 0 && errno == ECHILD,
		      "an orphan of the launcher is still there after 10 s");
}
END_TEST

/* ---- the end's own socket, closed with a hostile frame still queued --------- */

/*
 * The attacker queues, behind a frame refused at its header, a frame whose
 * fd is a pipe its splice() holds, and keeps no copy: the fd's last
 * reference is in the receive queue of the end's own socket, and closing
 * the end releases it. Freeing the end returns within 1 s (the helper
 * process holds that close until the attacker dies), for a parent end and
 * a child end alike. A watchdog kills the attacker after 5 s, so that
 * without that the test fails instead of hanging in state D.
 */
static void *kill_later(void *pid)
{
	usleep(5000 * 1000);
	kill(*(pid_t *)pid, SIGKILL);
	return NULL;
}

static void queued_behind(enum role role)
{
	int before = test_count_fds(), children = test_count_children(), r, queued = 0;
	long long start, took;
	pthread_t watchdog;
	struct peer p;

	peer_start(&p, "splice_queued", role);
	peer_set_timeout(&p, TIMEOUT_MS);
	/* Both frames in the socket: the bad header and the pty frame. */
	for (int i = 0; i < 500 && queued <= 16; i++) {
		ck_assert_int_eq(ioctl(p.parent ? dropipc_conn_get_fd(dropipc_parent_conn(p.parent)) : dropipc_conn_get_fd(dropipc_child_conn(p.child)),
				       FIONREAD, &queued),
				 0);
		if (queued <= 16)
			usleep(10000);
	}
	ck_assert_int_gt(queued, 16);
	usleep(200 * 1000); /* the sender has closed its copy */
	r = peer_recv(&p, role);
	assert_outcome("splice_queued", r, peer_errmsg(&p), DROPIPC_ERR_PROTO, "bad magic 44 49 50 58");
	/* A thread, not a process: a fork would hold a copy of the socket. */
	ck_assert_int_eq(pthread_create(&watchdog, NULL, kill_later, &p.pid), 0);
	start = now_ms();
	dropipc_parent_free(p.parent);
	dropipc_child_free(p.child);
	p.parent = NULL;
	p.child = NULL;
	took = now_ms() - start;
	pthread_cancel(watchdog);
	pthread_join(watchdog, NULL);
	ck_assert_msg(took <= 1000, "splice_queued: freeing the end took %lld ms", took);
	peer_stop(&p);
	settle_helper(children);
	ck_assert_int_eq(test_count_children(), children);
	ck_assert_int_eq(test_count_fds(), before);
}

START_TEST(test_splice_queued_parent)
{
	queued_behind(RECV_PTY);
}
END_TEST

START_TEST(test_splice_queued_child)
{
	queued_behind(RECV_ARGS);
}
END_TEST

/* ---- the channel's own end, unseen ---------------------------------------------- */

/*
 * The child's end inside another Unix socket's queue, that socket with the
 * first byte of a frame, then death: nothing the parent holds shows the
 * end. The pidfd does: DROPIPC_ERR_DEAD at once (within 3 s), with no
 * timeout set.
 */
START_TEST(test_own_end_queued)
{
	int before = test_count_fds(), pidfd, fd = 99, r;
	long long start;
	struct peer p;

	peer_start(&p, "own_end_queued", RECV_PTY);
	pidfd = (int)syscall(SYS_pidfd_open, p.pid, 0);
	if (pidfd < 0) {
		/* valgrind 3.19 does not know pidfd_open: a timeout, then. */
		ck_assert_int_eq(errno, ENOSYS);
		fprintf(stderr, "own_end_queued: no pidfd_open here, the timeout ends the wait\n");
		peer_set_timeout(&p, 1000);
	} else {
		ck_assert_int_eq(dropipc_parent_set_pidfd(p.parent, pidfd), 0);
		close(pidfd);
	}
	start = now_ms();
	r = dropipc_parent_recv_pty(p.parent, &fd);
	ck_assert_msg(now_ms() - start <= 3000, "own_end_queued: %lld ms", now_ms() - start);
	assert_outcome("own_end_queued", r, dropipc_conn_get_errmsg(dropipc_parent_conn(p.parent)),
		       pidfd < 0 ? DROPIPC_ERR_TIMEDOUT : DROPIPC_ERR_DEAD,
		       pidfd < 0 ? "recv pty: timed out after 17 bytes of the frame"
				 : "recv pty: the child process died 17 bytes into a frame");
	ck_assert_int_eq(fd, -1);
	peer_stop(&p);
	ck_assert_int_eq(test_count_fds(), before);
}
END_TEST

/* The deadline of a non-blocking receive that got the first byte of the
 * same attack's frame, with timeout `set` (or none set), in ms from now. */
static long long queued_deadline(int set, int has_set)
{
	struct pollfd pf;
	uint64_t usec;
	struct timespec ts;
	long long left;
	struct peer p;
	int fd;

	peer_start(&p, "own_end_queued", RECV_PTY);
	if (has_set)
		peer_set_timeout(&p, set);
	ck_assert_int_eq(dropipc_conn_set_nonblocking(dropipc_parent_conn(p.parent), 1), 0);
	pf = (struct pollfd){ .fd = dropipc_conn_get_fd(dropipc_parent_conn(p.parent)), .events = POLLIN };
	ck_assert_int_eq(poll(&pf, 1, 5000), 1);
	ck_assert_int_eq(dropipc_parent_recv_pty(p.parent, &fd), -EAGAIN);
	ck_assert_int_eq(dropipc_conn_get_deadline(dropipc_parent_conn(p.parent), &usec), 0);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	left = usec == UINT64_MAX ? -1
				  : ((long long)usec - ((long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000)) /
					    1000;
	peer_stop(&p);
	return left;
}

/* Without a pidfd that wait would end only by a timeout: a parent end
 * without a pidfd or a timeout has DROPIPC_DEFAULT_TIMEOUT; INFINITE set
 * on purpose waits for ever. */
START_TEST(test_own_end_queued_default_timeout)
{
	int before = test_count_fds();
	long long left = queued_deadline(0, 0);
	long long want = (long long)(DROPIPC_DEFAULT_TIMEOUT / 1000);

	ck_assert_msg(left > want - 2000 && left <= want, "deadline in %lld ms, want about %lld",
		      left, want);
	ck_assert_int_eq(queued_deadline(-1, 1), -1);
	ck_assert_int_eq(test_count_fds(), before);
}
END_TEST

/* A seccomp filter that makes socket(AF_NETLINK, ...) fail with EPERM. */
static int deny_netlink(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_socket, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AF_NETLINK, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
		return -errno;
	return 0;
}

/*
 * The own-end check asks no one: under a filter that denies netlink
 * sockets, the child's end attached to a partial frame is still refused
 * (DROPIPC_ERR_PROTO, not a timeout), within 1 s of a 10 s timeout. In a
 * sub-process, which the filter stays with; exit codes say what failed.
 */
START_TEST(test_own_end_no_netlink)
{
	int status;
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dropipc_parent *p;
		int cfd, fd, s, r;
		long long start;
		pid_t a;

		if (deny_netlink() < 0)
			_exit(10);
		s = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (s >= 0 || errno != EPERM)
			_exit(11);
		if (dropipc_socketpair(&p, &cfd) < 0)
			_exit(12);
		a = fork();
		if (a == 0) {
			if (dropipc_child_fd_inherit(cfd) == 0)
				execl(HOSTILE_CHILD, "hostile-child", "own_end_partial", (char *)NULL);
			_exit(127);
		}
		close(cfd);
		dropipc_conn_set_timeout(dropipc_parent_conn(p), 10 * 1000000);
		start = now_ms();
		r = dropipc_parent_recv_pty(p, &fd);
		if (r != DROPIPC_ERR_PROTO ||
		    !strstr(dropipc_conn_get_errmsg(dropipc_parent_conn(p)), "is the other end of this channel")) {
			fprintf(stderr, "got %s: %s\n", dropipc_err_name(r), dropipc_conn_get_errmsg(dropipc_parent_conn(p)));
			_exit(13);
		}
		if (now_ms() - start > 1000)
			_exit(14);
		kill(a, SIGKILL);
		waitpid(a, NULL, 0);
		dropipc_parent_free(p);
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "the sub-process failed: status 0x%x (exit 10: no filter, 11: netlink not "
		      "denied, 13: wrong outcome, 14: too slow)",
		      status);
}
END_TEST

/* Whether a child can mount FUSE in a user namespace here; if not, why. */
static int fuse_available(char *why, size_t len)
{
	int errpipe[2], status;
	ssize_t n;
	pid_t pid;

	if (pipe2(errpipe, O_CLOEXEC) < 0)
		return snprintf(why, len, "pipe: %s", strerror(errno)), 0;
	pid = fork();
	if (pid < 0)
		return snprintf(why, len, "fork: %s", strerror(errno)), 0;
	if (pid == 0) {
		dup2(errpipe[1], 2);
		execl(HOSTILE_CHILD, "hostile-child", "fuse_probe", (char *)NULL);
		_exit(127);
	}
	close(errpipe[1]);
	n = read(errpipe[0], why, len - 1);
	why[n > 0 ? n : 0] = '\0';
	why[strcspn(why, "\n")] = '\0';
	close(errpipe[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* ---- the child end reports ChildArgs it cannot use ------------------------- */

/*
 * The attacker plays the parent from this process: it writes raw bytes into
 * the channel, the library's child end receives them and fails, and then
 * the attacker's end, adopted by a library parent, reads what the child end
 * sent back: a report at stage ARGS whenever the connection can still
 * carry one, nothing after the parent closed (EOF, or a frame cut by EOF).
 */
static void put_header(uint8_t *h, const char *magic, uint16_t version, uint16_t nfds,
		       uint32_t len, uint32_t reserved)
{
	memcpy(h, magic, 4);
	h[4] = (uint8_t)version, h[5] = (uint8_t)(version >> 8);
	h[6] = (uint8_t)nfds, h[7] = (uint8_t)(nfds >> 8);
	for (int i = 0; i < 4; i++) {
		h[8 + i] = (uint8_t)(len >> (8 * i));
		h[12 + i] = (uint8_t)(reserved >> (8 * i));
	}
}

/* The stage of the report the parent got (one call, for the API to come). */
static int report_stage(dropipc_parent *p, int *err)
{
	dropipc_stage stage;

	ck_assert_int_eq(dropipc_parent_get_child_error(p, &stage, err, NULL), 0);
	return (int)stage;
}

enum report_attack {
	R_BAD_MAGIC, R_VERSION_2, R_RESERVED, R_FDS_17, R_FD_MISSING, R_FD_LATE, R_OVERSIZE,
	R_NOT_PROTOBUF, R_INVALID, R_TRUNCATED, R_EOF,
};

static void report_attack(int sock, enum report_attack a)
{
	uint8_t h[16], payload[64];
	int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	/* Envelope{child_args: ChildArgs{paths: {}, config: {net: {mode: OFF}}}}:
	 * no env_id, so it fails validation. */
	static const uint8_t invalid[] = { 0x0a, 0x08, 0x12, 0x00, 0x1a, 0x04,
					   0x2a, 0x02, 0x08, 0x01 };

	ck_assert_int_ge(devnull, 0);
	memset(payload, 0x0f, sizeof(payload)); /* field 1, wire type 7: not protobuf */
	switch (a) {
	case R_BAD_MAGIC:
		put_header(h, "DIPX", 1, 0, 2, 0);
		break;
	case R_VERSION_2:
		put_header(h, "DIPC", 2, 0, 2, 0);
		break;
	case R_RESERVED:
		put_header(h, "DIPC", 1, 0, 2, 1);
		break;
	case R_FDS_17:
		put_header(h, "DIPC", 1, 17, 2, 0);
		break;
	case R_FD_MISSING:
		put_header(h, "DIPC", 1, 1, 2, 0);
		break;
	case R_FD_LATE:
	case R_NOT_PROTOBUF:
	case R_TRUNCATED:
		put_header(h, "DIPC", 1, 0, 8, 0);
		break;
	case R_OVERSIZE:
		put_header(h, "DIPC", 1, 0, DROPIPC_DEFAULT_MAX_PAYLOAD + 1, 0);
		break;
	case R_INVALID:
		put_header(h, "DIPC", 1, 0, sizeof(invalid), 0);
		ck_assert_int_eq(raw_send(sock, h, sizeof(h), NULL, 0, 0), sizeof(h));
		ck_assert_int_eq(raw_send(sock, invalid, sizeof(invalid), NULL, 0, 0),
				 (ssize_t)sizeof(invalid));
		close(devnull);
		return;
	case R_EOF:
		shutdown(sock, SHUT_WR);
		close(devnull);
		return;
	}
	ck_assert_int_eq(raw_send(sock, h, sizeof(h), NULL, 0, 0), sizeof(h));
	if (a == R_FD_LATE || a == R_NOT_PROTOBUF)
		ck_assert_int_eq(raw_send(sock, payload, 8, &devnull, a == R_FD_LATE, 0), 8);
	if (a == R_TRUNCATED) {
		ck_assert_int_eq(raw_send(sock, payload, 4, NULL, 0, 0), 4);
		shutdown(sock, SHUT_WR);
	}
	close(devnull);
}

static void run_report(enum report_attack a, int want, const char *msg, int reported)
{
	int before = test_count_fds(), sv[2], r, err = -1;
	dropipc_args *args = NULL;
	dropipc_child *ch;
	dropipc_parent *p;
	char expect[600];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	ck_assert_int_eq(dropipc_child_new(sv[0], &ch), 0);
	ck_assert_int_eq(dropipc_conn_set_timeout(dropipc_child_conn(ch), TIMEOUT_MS * 1000), 0);
	report_attack(sv[1], a);
	r = dropipc_child_recv_args(ch, &args);
	assert_outcome(msg, r, dropipc_conn_get_errmsg(dropipc_child_conn(ch)), want, msg);
	ck_assert_ptr_null(args);

	ck_assert_int_eq(dropipc_parent_new(sv[1], &p), 0);
	ck_assert_int_eq(dropipc_conn_set_timeout(dropipc_parent_conn(p), (reported ? TIMEOUT_MS : AFTER_TIMEOUT_MS) * 1000), 0);
	r = dropipc_parent_wait_exec(p);
	if (reported) {
		ck_assert_msg(r == DROPIPC_ERR_CHILD, "%s: the parent got %s (%s), not the report", msg,
			      dropipc_err_name(r), dropipc_conn_get_errmsg(dropipc_parent_conn(p)));
		ck_assert_int_eq(report_stage(p, &err), DROPIPC_STAGE_ARGS);
		ck_assert_int_eq(err, 0);
		snprintf(expect, sizeof(expect),
			 "wait exec: child setup failed at args: cannot use the arguments: %s", msg);
		ck_assert_msg(strncmp(dropipc_conn_get_errmsg(dropipc_parent_conn(p)), expect, strlen(expect)) == 0,
			      "\"%s\" does not start with \"%s\"", dropipc_conn_get_errmsg(dropipc_parent_conn(p)), expect);
	} else {
		ck_assert_msg(r == DROPIPC_ERR_TIMEDOUT, "%s: the parent got %s (%s), want nothing", msg,
			      dropipc_err_name(r), dropipc_conn_get_errmsg(dropipc_parent_conn(p)));
	}
	dropipc_parent_free(p);
	dropipc_child_free(ch);
	ck_assert_int_eq(test_count_fds(), before);
}

START_TEST(test_report_frame_errors)
{
	run_report(R_BAD_MAGIC, DROPIPC_ERR_PROTO, "bad magic 44 49 50 58", 1);
	run_report(R_VERSION_2, DROPIPC_ERR_PROTO, "peer speaks protocol version 2", 1);
	run_report(R_RESERVED, DROPIPC_ERR_PROTO, "reserved header field is 0x1, not 0", 1);
	run_report(R_FDS_17, DROPIPC_ERR_PROTO, "header announces 17 fds, the maximum is 16", 1);
	run_report(R_FD_MISSING, DROPIPC_ERR_PROTO, "header announces 1 fds, 0 arrived", 1);
	run_report(R_FD_LATE, DROPIPC_ERR_PROTO, "1 fds arrived at byte 16 of the frame", 1);
	run_report(R_OVERSIZE, DROPIPC_ERR_TOOBIG, "payload of 1048577 bytes exceeds the limit", 1);
}
END_TEST

START_TEST(test_report_message_errors)
{
	run_report(R_NOT_PROTOBUF, DROPIPC_ERR_PROTO, "payload is not a protobuf Envelope", 1);
	run_report(R_INVALID, DROPIPC_ERR_INVALID, "env_id: empty", 1);
}
END_TEST

/* The parent is gone: no report (PROTOCOL.md says so). */
START_TEST(test_report_not_after_eof)
{
	run_report(R_TRUNCATED, DROPIPC_ERR_TRUNC, "peer closed the connection after 20 bytes", 0);
	run_report(R_EOF, DROPIPC_ERR_EOF, "peer closed the connection", 0);
}
END_TEST

/* ---- time ----------------------------------------------------------------- */

/*
 * One byte per second: the 1500 ms are for the whole frame, not per byte.
 * The outcome shows which: a whole-frame timeout stops within the first
 * bytes of the 16-byte header; one per read would let all of it through.
 */
START_TEST(test_slow)
{
	struct peer p;
	unsigned got = 99;
	const char *msg, *at;
	int r;

	peer_start(&p, "slow", RECV_PTY);
	peer_set_timeout(&p, 1500);
	r = peer_recv(&p, RECV_PTY);
	msg = peer_errmsg(&p);
	assert_outcome("slow", r, msg, DROPIPC_ERR_TIMEDOUT, "recv pty: timed out after ");
	at = strstr(msg, "timed out after ");
	ck_assert_int_eq(sscanf(at, "timed out after %u bytes of the frame", &got), 1);
	ck_assert_msg(got < 16, "slow: %u bytes read before the timeout: it held per read", got);
	peer_stop(&p);
}
END_TEST

/* A ChildArgs of about 800 KiB: more than a socket buffer holds. */
static dropipc_args *big_args(void)
{
	enum { N = 100, LEN = 8000 };
	dropipc_args *args = test_new_example_args();
	char *s = malloc(LEN + 1);

	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(dropipc_args_set_list(args, DROPIPC_LIST_EXEC_ARGS, NULL), 0);
	for (int i = 0; i < N; i++) {
		memset(s, 'a' + i % 26, LEN);
		s[LEN] = '\0';
		ck_assert_int_eq(dropipc_args_add_list(args, DROPIPC_LIST_EXEC_ARGS, s), 0);
	}
	free(s);
	return args;
}

/* The child never reads: the parent's send gives up at its timeout. */
START_TEST(test_never_reads)
{
	int before = test_count_fds(), r = 0;
	dropipc_args *args = big_args();
	struct peer p;

	peer_start(&p, "never_reads", RECV_PTY);
	peer_set_timeout(&p, 1000);
	for (int i = 0; i < 8 && r == 0; i++)
		r = dropipc_parent_send_args(p.parent, args);
	assert_outcome("never_reads", r, dropipc_conn_get_errmsg(dropipc_parent_conn(p.parent)), DROPIPC_ERR_TIMEDOUT,
		       "send args: send: timed out after ");
	/* Cut in the middle of a frame: the connection is done. */
	r = dropipc_parent_send_args(p.parent, args);
	ck_assert_int_eq(r, DROPIPC_ERR_CLOSED);
	peer_stop(&p);
	dropipc_args_free(args);
	ck_assert_int_eq(test_count_fds(), before);
}
END_TEST

/* ---- the non-blocking send queue ------------------------------------------------ */

/*
 * A child that never reads, and a non-blocking parent that sends 16 fds at
 * a time: the socket takes what its buffer holds, the end's queue keeps
 * copies of at most DROPIPC_MAX_QUEUED_FDS fds; the send past that fails
 * with -ENOBUFS and keeps nothing (the fd count does not move).
 */
START_TEST(test_send_flood_fds)
{
	int before = test_count_fds(), devnull = open("/dev/null", O_RDONLY | O_CLOEXEC), r = 0;
	dropipc_file files[16];
	struct peer p;
	int sent = 0, at_full;

	ck_assert_int_ge(devnull, 0);
	for (int i = 0; i < 16; i++)
		files[i] = (dropipc_file){ "f", devnull };
	peer_start(&p, "never_reads", RECV_PTY);
	ck_assert_int_eq(dropipc_conn_set_nonblocking(dropipc_parent_conn(p.parent), 1), 0);
	for (int i = 0; i < 2000 && r == 0; i++) {
		r = dropipc_conn_send_files(dropipc_parent_conn(p.parent), files, 16);
		sent += r == 0;
	}
	assert_outcome("send_flood_fds", r, dropipc_conn_get_errmsg(dropipc_parent_conn(p.parent)), -ENOBUFS,
		       "send files: send queue full: ");
	ck_assert_msg(strstr(dropipc_conn_get_errmsg(dropipc_parent_conn(p.parent)), "64 fds wait for the peer"),
		      "%s", dropipc_conn_get_errmsg(dropipc_parent_conn(p.parent)));
	at_full = test_count_fds();
	ck_assert_int_le(at_full, before + 1 + 2 + DROPIPC_MAX_QUEUED_FDS);
	ck_assert_int_eq(dropipc_conn_send_files(dropipc_parent_conn(p.parent), files, 16), -ENOBUFS);
	ck_assert_int_eq(test_count_fds(), at_full);
	fprintf(stderr, "send_flood_fds: %d frames of 16 fds taken, then -ENOBUFS, %d fds open\n",
		sent, at_full - before);
	peer_stop(&p);
	close(devnull);
	ck_assert_int_eq(test_count_fds(), before);
}
END_TEST

static dropipc_args *big_args(void);

/* The same with bytes: frames of about 800 KiB fill the queue's 4 MiB. */
START_TEST(test_send_flood_bytes)
{
	int before = test_count_fds(), r = 0, sent = 0;
	dropipc_args *args = big_args();
	struct peer p;

	peer_start(&p, "never_reads", RECV_PTY);
	ck_assert_int_eq(dropipc_conn_set_nonblocking(dropipc_parent_conn(p.parent), 1), 0);
	for (int i = 0; i < 2000 && r == 0; i++) {
		r = dropipc_parent_send_args(p.parent, args);
		sent += r == 0;
	}
	assert_outcome("send_flood_bytes", r, dropipc_conn_get_errmsg(dropipc_parent_conn(p.parent)), -ENOBUFS,
		       "send args: send queue full: ");
	/* The socket's buffer, then at most 4 MiB of 800 KiB frames. */
	ck_assert_int_le(sent, 2 + (int)(DROPIPC_MAX_QUEUED_BYTES / (800 * 1024)) + 1);
	peer_stop(&p);
	dropipc_args_free(args);
	ck_assert_int_eq(test_count_fds(), before);
}
END_TEST

/* ---- limits: huge lengths, RLIMIT_AS, RLIMIT_NOFILE ------------------------ */

static int no_rlimit(void)
{
	const char *e = getenv("DROPIPC_TEST_NO_RLIMIT");

	return e && *e && strcmp(e, "0") != 0;
}

/* What a receive in a limited sub-process saw. */
struct sub_result {
	int r;
	int fds_before, fds_after;
	int probe_failed; /* an allocation of the announced length failed */
	char msg[512];
};

struct limited {
	struct peer *peer;
	enum role role;
	int resource;	/* RLIMIT_AS or RLIMIT_NOFILE */
	size_t length;	/* the announced payload length */
};

/* Bytes of address space this process uses now. */
static size_t address_space(void)
{
	unsigned long pages = 0;
	FILE *f = fopen("/proc/self/statm", "re");

	if (f) {
		if (fscanf(f, "%lu", &pages) != 1)
			pages = 0;
		fclose(f);
	}
	return pages * (size_t)sysconf(_SC_PAGESIZE);
}

/*
 * The RLIMIT_NOFILE that leaves this process room for exactly n more fds:
 * new fds take the lowest free numbers, and the limit bounds the number.
 */
static rlim_t nofile_for_room(int n)
{
	int fd = 0;

	for (int free_slots = 0;; fd++)
		if (fcntl(fd, F_GETFD) < 0 && ++free_slots > n)
			break;
	return (rlim_t)fd;
}

static void limited_recv(const struct limited *l, struct sub_result *res)
{
	struct rlimit rl;

	if (l->resource == RLIMIT_AS)
		rl.rlim_cur = rl.rlim_max = address_space() + (64u << 20);
	else
		rl.rlim_cur = rl.rlim_max = nofile_for_room(4);
	if (setrlimit(l->resource, &rl) < 0) {
		snprintf(res->msg, sizeof(res->msg), "setrlimit: %s", strerror(errno));
		res->r = 1;
		return;
	}
	res->fds_before = test_count_fds();
	res->r = peer_recv(l->peer, l->role);
	snprintf(res->msg, sizeof(res->msg), "%s", peer_errmsg(l->peer));
	res->fds_after = test_count_fds();
	if (l->resource == RLIMIT_AS) {
		/* volatile: clang drops a malloc whose result is only freed. */
		void *volatile big = malloc(l->length);

		res->probe_failed = big == NULL;
		free(big);
	}
}

/* Runs the receive in a forked sub-process, so that Check keeps its limits. */
static void run_limited(const struct limited *l, struct sub_result *res)
{
	int pipefd[2], status;
	ssize_t n;
	pid_t pid;

	memset(res, 0, sizeof(*res));
	ck_assert_int_eq(pipe2(pipefd, O_CLOEXEC), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(pipefd[0]);
		limited_recv(l, res);
		dropipc_parent_free(l->peer->parent);
		n = write(pipefd[1], res, sizeof(*res));
		_exit(n == (ssize_t)sizeof(*res) ? 0 : 1);
	}
	close(pipefd[1]);
	do
		n = read(pipefd[0], res, sizeof(*res));
	while (n < 0 && errno == EINTR);
	close(pipefd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "limited sub-process failed (status 0x%x)", status);
	ck_assert_int_eq(n, sizeof(*res));
}

/*
 * A header announcing `length` bytes, with the parent's limit at max: the
 * receive fails before allocating, even where an allocation of that size
 * would fail (a sub-process with 64 MiB of address space to spare).
 */
static void huge_length(size_t length, size_t max, const char *msg)
{
	int before = test_count_fds();
	char attack[32];
	struct sub_result res;
	struct peer p;

	snprintf(attack, sizeof(attack), "len=%zu", length);
	run_case(&(struct attack_case){ attack, RECV_PTY, 0, max, DROPIPC_ERR_TOOBIG, msg,
					DROPIPC_ERR_CLOSED, 0, 0 });
	if (ASAN || no_rlimit())
		return; /* AddressSanitizer and valgrind reserve huge address space */
	peer_start(&p, attack, RECV_PTY);
	peer_set_timeout(&p, TIMEOUT_MS);
	ck_assert_int_eq(dropipc_conn_set_max_payload(dropipc_parent_conn(p.parent), max), 0);
	run_limited(&(struct limited){ &p, RECV_PTY, RLIMIT_AS, length }, &res);
	peer_stop(&p);
	assert_outcome(attack, res.r, res.msg, DROPIPC_ERR_TOOBIG, msg);
	ck_assert_int_eq(res.fds_after, res.fds_before);
	if (length > (64u << 20))
		ck_assert_msg(res.probe_failed, "RLIMIT_AS did not stop a %zu-byte allocation",
			      length);
	ck_assert_int_eq(test_count_fds(), before);
}

START_TEST(test_len_over_limit)
{
	huge_length(DROPIPC_DEFAULT_MAX_PAYLOAD + 1, DROPIPC_DEFAULT_MAX_PAYLOAD,
		    "recv pty: payload of 1048577 bytes exceeds the limit of 1048576 bytes");
}
END_TEST

START_TEST(test_len_over_max_limit)
{
	huge_length(DROPIPC_MAX_PAYLOAD_LIMIT + 1, DROPIPC_MAX_PAYLOAD_LIMIT,
		    "recv pty: payload of 268435457 bytes exceeds the limit of 268435456 bytes");
}
END_TEST

START_TEST(test_len_4g)
{
	huge_length(UINT32_MAX, DROPIPC_MAX_PAYLOAD_LIMIT,
		    "recv pty: payload of 4294967295 bytes exceeds the limit of 268435456 bytes");
}
END_TEST

/* 16 fds arrive at a parent that has room for at most 4 more. */
START_TEST(test_nofile)
{
	int before = test_count_fds();
	struct sub_result res;
	struct peer p;

	if (no_rlimit())
		return; /* valgrind emulates RLIMIT_NOFILE: the kernel would not refuse */
	peer_start(&p, "files_16", RECV_FILES);
	peer_set_timeout(&p, TIMEOUT_MS);
	run_limited(&(struct limited){ &p, RECV_FILES, RLIMIT_NOFILE, 0 }, &res);
	peer_stop(&p);
	/* Refused before anything is read: the kernel closes nothing here. */
	assert_outcome("nofile", res.r, res.msg, -EMFILE,
		       "recv files: fewer than 253 fds free below RLIMIT_NOFILE");
	ck_assert_msg(res.fds_after == res.fds_before, "%d fds before, %d after", res.fds_before,
		      res.fds_after);
	ck_assert_int_eq(test_count_fds(), before);
}
END_TEST

/*
 * At RLIMIT_NOFILE, the kernel drops the fds of a frame that do not fit
 * in the receiver's table, in the receiving thread: the attacker's last
 * fd is the splice-held pipe, of which it keeps no copy. The receive (in a
 * sub-process with room for 4 fds) reads nothing without room for 253
 * fds: -EMFILE within 1 s. A watchdog kills the attacker after 5 s, so
 * that where the kernel drops the pipe the test fails, not hangs.
 */
START_TEST(test_nofile_splice)
{
	int before = test_count_fds(), queued = 0;
	struct sub_result res;
	pthread_t watchdog;
	long long start, took;
	struct peer p;

	if (no_rlimit())
		return; /* valgrind emulates RLIMIT_NOFILE: the kernel would not refuse */
	peer_start(&p, "splice_nofile", RECV_PTY);
	peer_set_timeout(&p, TIMEOUT_MS);
	for (int i = 0; i < 500 && queued == 0; i++) {
		ck_assert_int_eq(ioctl(dropipc_conn_get_fd(dropipc_parent_conn(p.parent)), FIONREAD, &queued), 0);
		if (queued == 0)
			usleep(10000);
	}
	ck_assert_int_gt(queued, 0);
	usleep(200 * 1000); /* the sender has closed its copies */
	ck_assert_int_eq(pthread_create(&watchdog, NULL, kill_later, &p.pid), 0);
	start = now_ms();
	run_limited(&(struct limited){ &p, RECV_PTY, RLIMIT_NOFILE, 0 }, &res);
	took = now_ms() - start;
	pthread_cancel(watchdog);
	pthread_join(watchdog, NULL);
	peer_stop(&p);
	ck_assert_msg(took <= 1000, "nofile_splice: the receive took %lld ms", took);
	assert_outcome("nofile_splice", res.r, res.msg, -EMFILE,
		       "fewer than 253 fds free below RLIMIT_NOFILE");
	settle_helper(test_count_children());
	ck_assert_int_eq(test_count_fds(), before);
}
END_TEST

/* In a process without /proc (a tmpfs over it in a mount namespace of its
 * own): exit 0 when a receive with room for 20 fds fails with -EMFILE and
 * reads nothing, and the same frame comes whole once the limit is back; 77
 * when no namespace can be made; another code names the step that failed. */
static int noproc_room(void)
{
	struct rlimit rl, low;
	dropipc_parent *p;
	dropipc_child *c;
	int fd = -1, master, child_fd;

	if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0 || mount("none", "/proc", "tmpfs", 0, NULL) < 0)
		return 77;
	if (access("/proc/self/fd", F_OK) == 0)
		return 2;
	master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0 || dropipc_socketpair(&p, &child_fd) < 0 ||
	    dropipc_child_new(child_fd, &c) < 0 ||
	    dropipc_conn_set_timeout(dropipc_parent_conn(p), 1000 * 1000) < 0 ||
	    dropipc_child_send_pty(c, master) < 0 || getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 3;
	low = (struct rlimit){ .rlim_cur = 20, .rlim_max = rl.rlim_max };
	if (setrlimit(RLIMIT_NOFILE, &low) < 0)
		return 3;
	if (dropipc_parent_recv_pty(p, &fd) != -EMFILE ||
	    !strstr(dropipc_conn_get_errmsg(dropipc_parent_conn(p)), "fewer than 253 fds free below RLIMIT_NOFILE"))
		return 4;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 3;
	if (dropipc_parent_recv_pty(p, &fd) != 0 || fd < 0)
		return 5;
	return 0;
}

/* Where /proc cannot be read, the room for 253 fds is found by asking the
 * kernel for free slots: the same -EMFILE, nothing read. */
START_TEST(test_nofile_no_proc)
{
	int status;
	pid_t pid;

	if (no_rlimit())
		return; /* valgrind emulates RLIMIT_NOFILE: the kernel would not refuse */
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(noproc_room());
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77) {
		fprintf(stderr, "nofile_no_proc: no user and mount namespace here, not run\n");
		return;
	}
	ck_assert_msg(WEXITSTATUS(status) == 0, "nofile_no_proc: step %d failed",
		      WEXITSTATUS(status));
}
END_TEST

/* ---- the suite ------------------------------------------------------------ */

static TCase *tcase(Suite *s, const char *name)
{
	TCase *tc = tcase_create(name);

	tcase_add_checked_fixture(tc, test_fd_setup, test_fd_teardown);
	tcase_set_timeout(tc, 20);
	suite_add_tcase(s, tc);
	return tc;
}

int main(void)
{
	Suite *s = suite_create("hostile");
	TCase *tc;

	signal(SIGPIPE, SIG_IGN);

	tc = tcase(s, "frames");
	tcase_add_test(tc, test_eof_first);
	tcase_add_test(tc, test_short_header);
	tcase_add_test(tc, test_short_payload);
	tcase_add_test(tc, test_bad_magic);
	tcase_add_test(tc, test_newer_version);
	tcase_add_test(tc, test_reserved_set);
	tcase_add_test(tc, test_zero_length);

	tc = tcase(s, "messages");
	tcase_add_test(tc, test_not_protobuf);
	tcase_add_test(tc, test_wrong_type);
	tcase_add_test(tc, test_unknown_body);
	tcase_add_test(tc, test_two_bodies);
	tcase_add_test(tc, test_error_escape);
	tcase_add_test(tc, test_error_for_files);
	tcase_add_test(tc, test_error_utf8_cut);
	tcase_add_test(tc, test_args_port_0);
	tcase_add_test(tc, test_args_port_70000);
	tcase_add_test(tc, test_args_net_mode);
	tcase_add_test(tc, test_args_nul_path);
	tcase_add_test(tc, test_decode_bomb);

	tc = tcase(s, "fds");
	tcase_add_test(tc, test_fds_more_than_header);
	tcase_add_test(tc, test_fds_fewer_than_header);
	tcase_add_test(tc, test_fds_late);
	tcase_add_test(tc, test_fds_late_announced);
	tcase_add_test(tc, test_fds_over_max);
	tcase_add_test(tc, test_fds_ctrunc);
	tcase_add_test(tc, test_fd_index_out_of_range);
	tcase_add_test(tc, test_fd_index_twice);
	tcase_add_test(tc, test_pty_index_out_of_range);
	tcase_add_test(tc, test_files_16);

	tc = tcase(s, "pty");
	tcase_add_test(tc, test_not_pty_pipe);
	tcase_add_test(tc, test_not_pty_socket);
	tcase_add_test(tc, test_not_pty_dir);
	tcase_add_test(tc, test_not_pty_devnull);
	tcase_add_test(tc, test_not_pty_slave);
	tcase_add_test(tc, test_pty_ok);
	tcase_add_test(tc, test_pty_readonly);

	tc = tcase(s, "blocking");
	tcase_add_test(tc, test_linger_pty);
	tcase_add_test(tc, test_linger_fd_count);
	tcase_add_test(tc, test_linger_error);
	tcase_add_test(tc, test_linger_beyond_16);
	tcase_add_test(tc, test_linger_in_unix);
	tcase_add_test(tc, test_splice_pty);
	tcase_add_test(tc, test_splice_error);
	tcase_add_test(tc, test_splice_beyond_16);
	tcase_add_test(tc, test_linger_frames);
	tcase_add_test(tc, test_splice_queued_parent);
	tcase_add_test(tc, test_splice_queued_child);
	tcase_add_test(tc, test_nofile_splice);

	tc = tcase(s, "ownend");
	tcase_add_test(tc, test_own_end_partial);
	tcase_add_test(tc, test_own_end_queued);
	tcase_add_test(tc, test_own_end_queued_default_timeout);
	tcase_add_test(tc, test_own_end_no_netlink);

	/* The launcher after a stuck close: valgrind runs no process that
	 * shares the fd table (the library then closes inline, and this
	 * launcher would wait in state D): not labelled "library". */
	tc = tcase(s, "launcher");
	tcase_add_test(tc, test_launcher_after_stuck_close);

	{
		char why[256] = "";

		if (fuse_available(why, sizeof(why))) {
			tc = tcase(s, "fuse");
			tcase_add_test(tc, test_fuse_pty);
			tcase_add_test(tc, test_fuse_answers_tiocgptn);
			tcase_add_test(tc, test_fuse_flood);
			tcase_add_test(tc, test_epoll_eventfd);
			tcase_add_test(tc, test_fuse_frames);
		} else {
			test_skip_case("fuse", why);
		}
	}

	tc = tcase(s, "report");
	tcase_add_test(tc, test_report_frame_errors);
	tcase_add_test(tc, test_report_message_errors);
	tcase_add_test(tc, test_report_not_after_eof);

	tc = tcase(s, "sendq");
	tcase_add_test(tc, test_send_flood_fds);
	tcase_add_test(tc, test_send_flood_bytes);

	tc = tcase(s, "time");
	tcase_add_test(tc, test_slow);
	tcase_add_test(tc, test_never_reads);

	tc = tcase(s, "limits");
	tcase_add_test(tc, test_len_over_limit);
	tcase_add_test(tc, test_len_over_max_limit);
	tcase_add_test(tc, test_len_4g);
	tcase_add_test(tc, test_nofile);
	tcase_add_test(tc, test_nofile_no_proc);

	return test_srunner_run(srunner_create(s));
}
