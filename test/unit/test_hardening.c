/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * The hardening of issue 10 that is not an attack of its own: the one
 * sanitizer, a known field of the wrong wire type named, error sentences
 * that stay put, the decode budget that cannot wrap, and out of memory in a
 * decode reported as such. From issue 18: which fds the library closes
 * inline and the close policies, and a test for each careless change a
 * mutation run found the suite let through (each asserts an outcome: a
 * code, a length, an fd, memory).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h" /* dropipc__decode_limit(), a static inline */
#include "unit.h"

/* ---- dropipc_text_sanitize ------------------------------------------------- */

START_TEST(sanitize_table)
{
	static const struct {
		const char *in;
		size_t len;
		const char *out;
	} cases[] = {
		{ "plain text", 10, "plain text" },
		{ "tab\tand\nnewline", 15, "tab\tand\nnewline" }, /* kept */
		{ "\x1b[2J\r\x07\x7f", 7, "?[2J???" },		  /* C0 and DEL */
		{ "a\xc2\x9b[31mb", 8, "a?[31mb" },		  /* C1 CSI: one '?' */
		{ "\xc2\x80\xc2\x9f\xc2\xa0", 6, "??\xc2\xa0" },  /* C1 ends at U+009F */
		{ "nul\0byte", 8, "nul?byte" },			  /* NUL is a C0 control */
		{ "caf\xe9!", 5, "caf?!" },			  /* Latin-1: one per byte */
		{ "\xc0\xaf", 2, "??" },			  /* overlong */
		{ "\xed\xa0\x80", 3, "???" },			  /* surrogate */
		{ "\xe2\x82", 2, "??" },			  /* cut short */
		{ "\xe2\x82\xac \xf0\x9f\x98\x80", 8, "\xe2\x82\xac \xf0\x9f\x98\x80" },
		{ "", 0, "" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[64];
		size_t n;

		memcpy(buf, cases[i].in, cases[i].len);
		buf[cases[i].len] = 'Z'; /* not NUL-terminated: len decides */
		n = dropipc_text_sanitize(buf, cases[i].len);
		ck_assert_uint_le(n, cases[i].len);
		ck_assert_msg(n == strlen(cases[i].out) && memcmp(buf, cases[i].out, n) == 0,
			      "case %zu: got \"%.*s\", want \"%s\"", i, (int)n, buf, cases[i].out);
		ck_assert_int_eq(buf[cases[i].len], 'Z');
	}
	ck_assert_uint_eq(dropipc_text_sanitize(NULL, 0), 0);
}
END_TEST

/* ---- a known field of the wrong wire type ---------------------------------- */

START_TEST(wire_type_named)
{
	/* Envelope{child_args: ChildArgs{env_id: "x", paths: Paths{cwd: varint 1}}} */
	static const uint8_t payload[] = { 0x0a, 0x07, 0x0a, 0x01, 'x', 0x12, 0x02, 0x08, 0x01 };
	dropipc_args *args;
	dropipc_child *c;
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	ck_assert_int_eq(dropipc_child_new(sv[0], &c), 0);
	unit_send_frame(sv[1], NULL, payload, sizeof(payload), NULL, 0);
	ck_assert_int_eq(dropipc_child_recv_args(c, &args), DROPIPC_ERR_PROTO);
	ck_assert_str_eq(dropipc_conn_get_errmsg(dropipc_child_conn(c)), "recv args: paths.cwd: wire type 0, expected 2");
	dropipc_child_free(c);
	close(sv[1]);
}
END_TEST

/* ---- error sentences -------------------------------------------------------- */

static void *strerror_elsewhere(void *arg)
{
	(void)arg;
	return (void *)dropipc_strerror(-3998);
}

/* The sentence for an errno value is static: a later call, in this thread
 * or another, does not change it (strerror() writes unknown values into a
 * buffer it reuses). */
START_TEST(strerror_stays)
{
	const char *unknown = dropipc_strerror(-3999), *eperm = dropipc_strerror(-EPERM);
	char saved[128], saved_eperm[128];
	pthread_t t;
	void *other;

	snprintf(saved, sizeof(saved), "%s", unknown);
	snprintf(saved_eperm, sizeof(saved_eperm), "%s", eperm);
	ck_assert_int_eq(pthread_create(&t, NULL, strerror_elsewhere, NULL), 0);
	ck_assert_int_eq(pthread_join(t, &other), 0);
	ck_assert_ptr_nonnull(other);
	(void)dropipc_strerror(-3998);
	ck_assert_str_eq(unknown, saved);
	ck_assert_str_eq(eperm, saved_eperm);
	ck_assert_str_eq(eperm, "Operation not permitted");
}
END_TEST

/* ---- the decode budget -------------------------------------------------------- */

/* 64 x the payload + 4 KiB, saturating: never below the payload, even
 * where 64 x it would not fit in a size_t (32-bit builds). */
START_TEST(decode_limit_saturates)
{
	const size_t lens[] = { 0, 1, DROPIPC_MAX_PAYLOAD_LIMIT, SIZE_MAX / 64, SIZE_MAX / 32,
				SIZE_MAX / 2, SIZE_MAX };

	ck_assert_uint_eq(dropipc__decode_limit(0), 4096);
	ck_assert_uint_eq(dropipc__decode_limit(1000), 64 * 1000 + 4096);
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		ck_assert_uint_ge(dropipc__decode_limit(lens[i]), lens[i]);
		if (i > 0)
			ck_assert_uint_ge(dropipc__decode_limit(lens[i]),
					  dropipc__decode_limit(lens[i - 1]));
	}
	ck_assert_uint_eq(dropipc__decode_limit(SIZE_MAX / 32), SIZE_MAX);
}
END_TEST

/* ---- out of memory in a decode ---------------------------------------------- */

/* v (< 2^21) as a 3-byte varint at p + at; the new end. */
static size_t put_varint3(uint8_t *p, size_t at, size_t v)
{
	p[at] = (uint8_t)((v & 0x7f) | 0x80);
	p[at + 1] = (uint8_t)(((v >> 7) & 0x7f) | 0x80);
	p[at + 2] = (uint8_t)(v >> 14);
	return at + 3;
}


#if defined(__SANITIZE_ADDRESS__)
#define NO_MALLOC_OVERRIDE "AddressSanitizer replaces malloc"
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NO_MALLOC_OVERRIDE "AddressSanitizer replaces malloc"
#endif
#endif

#ifndef NO_MALLOC_OVERRIDE
extern void *__libc_malloc(size_t size);

/* While not 0, mallocs of at least this many bytes fail. */
static volatile size_t fail_from;

/* This executable's malloc takes precedence over libc's for the whole
 * process, the library included. */
void *malloc(size_t size)
{
	if (fail_from && size >= fail_from) {
		errno = ENOMEM;
		return NULL;
	}
	return __libc_malloc(size);
}

/* ChildArgs of 20000 empty mounts: about 40 KB on the wire; protobuf-c
 * wants one 160 KB array for them, which this malloc refuses. */
START_TEST(decode_out_of_memory)
{
	enum { N = 20000 };
	size_t cfg = 2 * N, len = 0;
	uint8_t *p = malloc(2 * N + 16);
	dropipc_args *args = (dropipc_args *)1;
	dropipc_child *c;
	int sv[2], r;

	ck_assert_ptr_nonnull(p);
	p[len++] = 0x0a; /* Envelope.child_args: 1 + 3 + cfg bytes */
	len = put_varint3(p, len, 4 + cfg);
	p[len++] = 0x1a; /* ChildArgs.config: cfg bytes */
	len = put_varint3(p, len, cfg);
	for (size_t i = 0; i < N; i++) {
		p[len++] = 0x12; /* Config.mounts, empty */
		p[len++] = 0x00;
	}
	ck_assert_uint_eq(len, 1 + 3 + 1 + 3 + cfg);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	ck_assert_int_eq(dropipc_child_new(sv[0], &c), 0);
	unit_send_frame(sv[1], NULL, p, len, NULL, 0);
	fail_from = 120000;
	r = dropipc_child_recv_args(c, &args);
	fail_from = 0;
	ck_assert_msg(r == -ENOMEM, "got %s (%s), want ENOMEM", dropipc_err_name(r),
		      dropipc_conn_get_errmsg(dropipc_child_conn(c)));
	unit_assert_contains(dropipc_conn_get_errmsg(dropipc_child_conn(c)), "no memory to decode ChildArgs");
	ck_assert_ptr_null(args);
	dropipc_child_free(c);
	close(sv[1]);
	free(p);
}
END_TEST
#endif

/* ---- closing fds from the peer: the allow-list and the policies ------------- */

/* What the close callback was given: each fd's /proc/self/fd link (an
 * O_PATH one marked "path:"). It closes them. */
struct seen {
	int n;
	char what[16][80];
};

static void record_close(int fd, void *data)
{
	struct seen *s = data;
	char link[64], *w = s->what[s->n < 16 ? s->n++ : 15];
	int flags = fcntl(fd, F_GETFL);
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	strcpy(w, flags >= 0 && (flags & O_PATH) ? "path:" : "");
	n = readlink(link, w + strlen(w), 70);
	if (n > 0)
		w[strlen(w) + (size_t)n] = '\0';
	close(fd);
}

static bool seen_has(const struct seen *s, const char *prefix)
{
	for (int i = 0; i < s->n; i++)
		if (strncmp(s->what[i], prefix, strlen(prefix)) == 0)
			return true;
	return false;
}

/*
 * Eleven kinds of fd in a Files frame where the pty is expected: the frame
 * is refused and every fd closed. Inline: /dev/null, /dev/zero, /dev/full
 * and a memfd. Everything else goes to the close policy, here a callback
 * that records them: a pipe, an eventfd, /dev/random (a character device
 * not on the list), a socket, an O_PATH fd, a regular file, a directory.
 */
START_TEST(close_allow_list)
{
	static const char *const open_paths[] = { "/dev/null", "/dev/zero", "/dev/full",
						  "/dev/random" };
	struct seen seen = { 0 };
	dropipc_file files[11];
	int fds[11], pipefd[2], sv[2], n = 0, master = 99;
	dropipc_parent *p;
	dropipc_child *c;

	for (size_t i = 0; i < 4; i++)
		fds[n++] = open(open_paths[i], O_RDONLY | O_CLOEXEC);
	fds[n++] = memfd_create("quick", MFD_CLOEXEC);
	ck_assert_int_eq(pipe2(pipefd, O_CLOEXEC), 0);
	fds[n++] = pipefd[0];
	fds[n++] = eventfd(0, EFD_CLOEXEC);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv), 0);
	fds[n++] = sv[0];
	fds[n++] = open("/dev/null", O_PATH | O_CLOEXEC);
	fds[n++] = unit_tmpfile("x");
	fds[n++] = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	for (int i = 0; i < n; i++) {
		ck_assert_int_ge(fds[i], 0);
		files[i] = (dropipc_file){ "f", fds[i] };
	}
	ck_assert_int_eq(unit_pair(&p, &c), 0);
	ck_assert_int_eq(dropipc_conn_set_close(dropipc_parent_conn(p), DROPIPC_CLOSE_CALLBACK, record_close, &seen), 0);
	ck_assert_int_eq(dropipc_conn_send_files(dropipc_child_conn(c), files, (size_t)n), 0);
	ck_assert_int_eq(dropipc_parent_recv_pty(p, &master), DROPIPC_ERR_PROTO);
	ck_assert_int_eq(master, -1);
	ck_assert_msg(seen.n == 7, "%d fds went to the callback, want 7 (%s, %s, %s, %s, %s, %s, %s, %s)", seen.n, seen.what[0], seen.what[1], seen.what[2], seen.what[3], seen.what[4], seen.what[5], seen.what[6], seen.what[7]);
	ck_assert(seen_has(&seen, "pipe:"));
	ck_assert(seen_has(&seen, "anon_inode:[eventfd]"));
	ck_assert(seen_has(&seen, "/dev/random"));
	ck_assert(seen_has(&seen, "socket:"));
	ck_assert(seen_has(&seen, "path:/dev/null"));
	ck_assert(seen_has(&seen, "/"));
	ck_assert(!seen_has(&seen, "/dev/null") && !seen_has(&seen, "/dev/zero") &&
		  !seen_has(&seen, "/dev/full") && !seen_has(&seen, "/memfd:"));
	dropipc_parent_free(p);
	dropipc_child_free(c);
	for (int i = 0; i < n; i++)
		close(fds[i]);
	close(pipefd[1]);
	close(sv[1]);
}
END_TEST

/* A pipe refused as the pty, by an end with close mode `mode`: closed all
 * the same, with no process left behind. */
static void refuse_pipe(int mode)
{
	int pipefd[2], master = 99, children = test_count_children();
	dropipc_file file;
	dropipc_parent *p;
	dropipc_child *c;

	ck_assert_int_eq(pipe2(pipefd, O_CLOEXEC), 0);
	file = (dropipc_file){ "pipe", pipefd[0] };
	ck_assert_int_eq(unit_pair(&p, &c), 0);
	ck_assert_int_eq(dropipc_conn_set_close(dropipc_parent_conn(p), mode, NULL, NULL), 0);
	ck_assert_int_eq(dropipc_conn_send_files(dropipc_child_conn(c), &file, 1), 0);
	close(pipefd[0]);
	ck_assert_int_eq(dropipc_parent_recv_pty(p, &master), DROPIPC_ERR_PROTO);
	/* The last read end is gone: the write end sees it at once. */
	ck_assert_int_eq(write(pipefd[1], "x", 1), -1);
	ck_assert_int_eq(errno, EPIPE);
	/* The helper (if any) was reaped in the receive. */
	ck_assert_int_eq(test_count_children(), children);
	dropipc_parent_free(p);
	dropipc_child_free(c);
	close(pipefd[1]);
}

static volatile sig_atomic_t sigchld_count;

static void count_sigchld(int sig)
{
	(void)sig;
	sigchld_count++;
}

/* The default (the helper, which the receive waits for while it takes
 * microseconds) and DROPIPC_CLOSE_INLINE both close a benign pipe before
 * the receive returns. The helper sends the caller no SIGCHLD, and a
 * waitpid(-1) of the caller's never finds it. (valgrind: the helper mode
 * closes inline there.) */
START_TEST(close_modes)
{
	struct sigaction sa = { .sa_handler = count_sigchld }, old;

	sigemptyset(&sa.sa_mask);
	ck_assert_int_eq(sigaction(SIGCHLD, &sa, &old), 0);
	signal(SIGPIPE, SIG_IGN);
	sigchld_count = 0;
	refuse_pipe(DROPIPC_CLOSE_HELPER);
	ck_assert_int_eq(sigchld_count, 0);
	ck_assert_int_eq(waitpid(-1, NULL, WNOHANG), -1);
	ck_assert_int_eq(errno, ECHILD);
	refuse_pipe(DROPIPC_CLOSE_INLINE);
	ck_assert_int_eq(sigaction(SIGCHLD, &old, NULL), 0);
}
END_TEST

START_TEST(close_mode_invalid)
{
	dropipc_parent *p;
	dropipc_child *c;

	ck_assert_int_eq(unit_pair(&p, &c), 0);
	ck_assert_int_eq(dropipc_conn_set_close(dropipc_parent_conn(p), 3, NULL, NULL), -EINVAL);
	ck_assert_int_eq(dropipc_conn_set_close(dropipc_parent_conn(p), DROPIPC_CLOSE_CALLBACK, NULL, NULL), -EINVAL);
	ck_assert_int_eq(dropipc_conn_set_close(dropipc_parent_conn(p), DROPIPC_CLOSE_INLINE, record_close, NULL),
			 -EINVAL);
	ck_assert_int_eq(dropipc_conn_set_close(dropipc_child_conn(c), DROPIPC_CLOSE_HELPER, record_close, NULL),
			 -EINVAL);
	ck_assert_int_eq(dropipc_conn_set_close(dropipc_child_conn(c), DROPIPC_CLOSE_INLINE, NULL, NULL), 0);
	ck_assert_int_eq(dropipc_parent_set_peer(p, -1), -EBADF);
	ck_assert_int_eq(dropipc_parent_set_peer(p, 0), -ENOTSOCK);
	dropipc_parent_free(p);
	dropipc_child_free(c);
}
END_TEST

/* ---- mutation survivors --------------------------------------------------- */

/* text.c: a character cut by the end of the text is invalid, not read past
 * the length: "ab" and one '?' for the lone lead byte. */
START_TEST(sanitize_stops_at_len)
{
	char buf[] = "ab\xc3\xa9";

	ck_assert_uint_eq(dropipc_text_sanitize(buf, 3), 3);
	ck_assert_int_eq(memcmp(buf, "ab?", 3), 0);
	ck_assert_int_eq((unsigned char)buf[3], 0xa9);
}
END_TEST

/*
 * wire.c's fast path: a string whose length byte points 2 bytes past its
 * message must be refused for its length, not read. The frame before
 * leaves in the receive buffer, just past the short frame, a NUL byte: a
 * reader that went past would report that NUL (and under ASan, on a fresh
 * buffer, read out of bounds) instead.
 */
START_TEST(fast_path_stays_in_the_body)
{
	/* Envelope{error: ChildError{errno: 2, stage: 0, stage: 0}}: byte 5 is 0. */
	static const uint8_t report[] = { 0x1a, 0x06, 0x10, 0x02, 0x08, 0x00, 0x08, 0x00 };
	/* Envelope{error: ChildError{message: "a" and 2 bytes that are not there}} */
	static const uint8_t cut[] = { 0x1a, 0x03, 0x1a, 0x03, 'a' };
	int sv[2], master = 99, r;
	dropipc_parent *p;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	ck_assert_int_eq(dropipc_parent_new(sv[0], &p), 0);
	unit_send_frame(sv[1], NULL, report, sizeof(report), NULL, 0);
	ck_assert_int_eq(dropipc_parent_recv_pty(p, &master), DROPIPC_ERR_CHILD);
	unit_send_frame(sv[1], NULL, cut, sizeof(cut), NULL, 0);
	r = dropipc_parent_recv_pty(p, &master);
	ck_assert_msg(r == DROPIPC_ERR_PROTO, "got %s (%s)", dropipc_err_name(r),
		      dropipc_conn_get_errmsg(dropipc_parent_conn(p)));
	unit_assert_contains(dropipc_conn_get_errmsg(dropipc_parent_conn(p)), "length runs past the end");
	ck_assert_msg(!strstr(dropipc_conn_get_errmsg(dropipc_parent_conn(p)), "NUL"), "read past the body: %s",
		      dropipc_conn_get_errmsg(dropipc_parent_conn(p)));
	/* The stream is intact: the frame was whole. */
	unit_send_frame(sv[1], NULL, report, sizeof(report), NULL, 0);
	ck_assert_int_eq(dropipc_parent_recv_pty(p, &master), DROPIPC_ERR_CHILD);
	dropipc_parent_free(p);
	close(sv[1]);
}
END_TEST

/* The most memory this process has used, in KiB. */
static long max_rss_kib(void)
{
	struct rusage ru;

	ck_assert_int_eq(getrusage(RUSAGE_SELF, &ru), 0);
	return ru.ru_maxrss;
}

/*
 * message.c's decode budget: a 32 KB ChildArgs that repeats `config` 8000
 * times, each with one empty mount. protobuf-c merges a repeated singular
 * submessage by copying its arrays, which would take about 277 MB; the
 * budget (64 x 32 KB + 4 KiB) refuses it, and the receive's peak memory
 * stays within 32 MiB of what it was (in a sub-process, whose peak is its
 * own).
 */
static int budget_bomb(void *arg)
{
	enum { N = 8000 };
	size_t len = 0;
	uint8_t *buf = malloc(4 * N + 8);
	dropipc_args *args = NULL;
	dropipc_child *c;
	long before;
	int sv[2], r;

	(void)arg;
	if (!buf || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 ||
	    dropipc_child_new(sv[0], &c) < 0)
		return 10;
	buf[len++] = 0x0a; /* Envelope.child_args */
	len = put_varint3(buf, len, 4 * N);
	for (int i = 0; i < N; i++) {
		buf[len++] = 0x1a; /* ChildArgs.config: {mounts: [{}]} */
		buf[len++] = 0x02;
		buf[len++] = 0x12;
		buf[len++] = 0x00;
	}
	unit_send_frame(sv[1], NULL, buf, len, NULL, 0);
	before = max_rss_kib();
	r = dropipc_child_recv_args(c, &args);
	if (r != DROPIPC_ERR_TOOBIG || !strstr(dropipc_conn_get_errmsg(dropipc_child_conn(c)), "would take more than")) {
		fprintf(stderr, "got %s: %s\n", dropipc_err_name(r), dropipc_conn_get_errmsg(dropipc_child_conn(c)));
		return 11;
	}
	if (max_rss_kib() - before > 32 * 1024) {
		fprintf(stderr, "peak memory grew by %ld KiB\n", max_rss_kib() - before);
		return 12;
	}
	dropipc_child_free(c);
	close(sv[1]);
	free(buf);
	return 0;
}

START_TEST(decode_budget_refuses)
{
	unit_reap_ok(unit_fork(budget_bomb, NULL));
}
END_TEST

/* validate.c: an empty mount target is refused like an empty source. */
START_TEST(mount_target_empty)
{
	dropipc_args *a = test_new_example_args();
	char err[256];
	const char *src, *dst;
	unsigned int flags;
	size_t n = 0;

	while (dropipc_args_get_mount(a, n, &src, &dst, &flags) == 0)
		n++;

	ck_assert_int_eq(dropipc_args_add_mount(a, "/src", "", 0), 0);
	ck_assert_int_eq(dropipc_args_validate(a, err, sizeof(err)), DROPIPC_ERR_INVALID);
	snprintf(err + 200, 56, "config.mounts[%zu].target: empty", n);
	ck_assert_str_eq(err, err + 200);
	dropipc_args_free(a);
}
END_TEST

Suite *suite_hardening(void)
{
	Suite *s = suite_create("hardening");
	TCase *tc = unit_tcase(s, "hardening");

	tcase_add_test(tc, sanitize_table);
	tcase_add_test(tc, wire_type_named);
	tcase_add_test(tc, strerror_stays);
	tcase_add_test(tc, decode_limit_saturates);
	tcase_add_test(tc, close_allow_list);
	tcase_add_test(tc, close_modes);
	tcase_add_test(tc, close_mode_invalid);
	tcase_add_test(tc, sanitize_stops_at_len);
	tcase_add_test(tc, fast_path_stays_in_the_body);
	tcase_add_test(tc, decode_budget_refuses);
	tcase_add_test(tc, mount_target_empty);
#ifdef NO_MALLOC_OVERRIDE
	test_skip_case("oom", NO_MALLOC_OVERRIDE);
#else
	/* valgrind brings its own malloc, which this one cannot replace. */
	if (getenv("LD_PRELOAD") && strstr(getenv("LD_PRELOAD"), "vgpreload")) {
		test_skip_case("oom", "valgrind replaces malloc, so no allocation can be made to fail");
		return s;
	}
	tc = unit_tcase(s, "oom");
	tcase_add_test(tc, decode_out_of_memory);
#endif
	return s;
}
