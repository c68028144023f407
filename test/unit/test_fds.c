/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * fds across the channel: named files both ways (as Drop's Go test passes
 * them), the pty handoff with a real pty, and frames carrying fds no field
 * claims.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "unit.h"

static const char *const texts[] = {
	"hello from the other end\n",
	"second file, with more in it\n",
	"third\n",
};

/* Asserts that fd, a received fd, is close-on-exec and holds exactly text. */
static void assert_holds(int fd, const char *text)
{
	char buf[256] = "";
	size_t n;

	ck_assert(unit_cloexec(fd));
	n = unit_read(fd, buf, sizeof(buf) - 1);
	ck_assert_uint_eq(n, strlen(text));
	ck_assert_str_eq(buf, text);
}

/* The same for the child process: 0 if fd holds exactly text. */
static int holds(int fd, const char *text)
{
	char buf[256] = "";

	UNIT_REQUIRE(unit_read(fd, buf, sizeof(buf) - 1) == strlen(text));
	UNIT_REQUIRE(strcmp(buf, text) == 0);
	return 0;
}

/* ---- Files: named fds ------------------------------------------------------ */

/*
 * Sends the n files f in one frame from one end of a fresh pair, closes the
 * sender's copies, and checks that the other end receives the same names in
 * the same order, each fd holding contents[i].
 */
static void pass_files(const dropipc_file *f, const char *const *contents, size_t n,
		       int to_child)
{
	dropipc_parent *p;
	dropipc_child *c;
	dropipc_file *got;
	size_t m;

	ck_assert_int_eq(unit_pair(&p, &c), 0);
	if (to_child)
		ck_assert_int_eq(dropipc_conn_send_files(dropipc_parent_conn(p), f, n), 0);
	else
		ck_assert_int_eq(dropipc_conn_send_files(dropipc_child_conn(c), f, n), 0);
	for (size_t i = 0; i < n; i++)
		close(f[i].fd);
	if (to_child)
		ck_assert_int_eq(dropipc_conn_recv_files(dropipc_child_conn(c), &got, &m), 0);
	else
		ck_assert_int_eq(dropipc_conn_recv_files(dropipc_parent_conn(p), &got, &m), 0);
	ck_assert_uint_eq(m, n);
	for (size_t i = 0; i < n; i++) {
		ck_assert_str_eq(got[i].name, f[i].name);
		assert_holds(got[i].fd, contents[i]);
		close(got[i].fd);
	}
	free(got);
	dropipc_child_free(c);
	dropipc_parent_free(p);
}

START_TEST(file_child_to_parent)
{
	dropipc_file f = { "log", unit_tmpfile(texts[0]) };

	ck_assert_int_ge(f.fd, 0);
	pass_files(&f, texts, 1, 0);
}
END_TEST

START_TEST(file_parent_to_child)
{
	dropipc_file f = { "stdin", unit_tmpfile(texts[1]) };

	ck_assert_int_ge(f.fd, 0);
	pass_files(&f, texts + 1, 1, 1);
}
END_TEST

/* Three files and a pipe in one frame: names and order arrive as sent. */
START_TEST(several_files_keep_names_and_order)
{
	static const char *const names[] = { "first", "second", "third", "pipe" };
	static const char piped[] = "through the pipe\n";
	const char *const contents[] = { texts[0], texts[1], texts[2], piped };
	dropipc_file f[4];
	int pipefd[2];

	for (size_t i = 0; i < 3; i++) {
		f[i] = (dropipc_file){ names[i], unit_tmpfile(texts[i]) };
		ck_assert_int_ge(f[i].fd, 0);
	}
	ck_assert_int_eq(pipe2(pipefd, O_CLOEXEC), 0);
	ck_assert_int_eq(write(pipefd[1], piped, strlen(piped)), (ssize_t)strlen(piped));
	close(pipefd[1]);
	f[3] = (dropipc_file){ names[3], pipefd[0] };
	pass_files(f, contents, 4, 0);
}
END_TEST

/* The most a frame may carry, each fd where its name says. */
START_TEST(sixteen_files)
{
	dropipc_file f[DROPIPC_MAX_FDS];
	char names[DROPIPC_MAX_FDS][8];
	const char *contents[DROPIPC_MAX_FDS];

	for (int i = 0; i < DROPIPC_MAX_FDS; i++) {
		snprintf(names[i], sizeof(names[i]), "f%d", i);
		contents[i] = names[i];
		f[i] = (dropipc_file){ names[i], unit_tmpfile(names[i]) };
		ck_assert_int_ge(f[i].fd, 0);
	}
	pass_files(f, contents, DROPIPC_MAX_FDS, 1);
}
END_TEST

struct files_ctx {
	dropipc_parent *parent;
	int fd;
};

/* Sends texts[0] as "from-child", then expects "from-parent" with texts[1]. */
static int child_exchanges_files(void *arg)
{
	struct files_ctx *ctx = arg;
	dropipc_file f = { "from-child", unit_tmpfile(texts[0]) }, *got;
	dropipc_child *c;
	size_t n;
	int r;

	dropipc_parent_free(ctx->parent);
	UNIT_REQUIRE(f.fd >= 0);
	UNIT_REQUIRE(dropipc_child_new(ctx->fd, &c) == 0);
	UNIT_REQUIRE(dropipc_conn_set_timeout(dropipc_child_conn(c), 5000000) == 0);
	UNIT_REQUIRE(dropipc_conn_send_files(dropipc_child_conn(c), &f, 1) == 0);
	UNIT_REQUIRE(dropipc_conn_recv_files(dropipc_child_conn(c), &got, &n) == 0);
	UNIT_REQUIRE(n == 1);
	UNIT_REQUIRE(strcmp(got[0].name, "from-parent") == 0);
	r = holds(got[0].fd, texts[1]);
	close(got[0].fd);
	free(got);
	dropipc_child_free(c);
	return r;
}

START_TEST(files_two_processes)
{
	struct files_ctx ctx;
	dropipc_file f = { "from-parent", unit_tmpfile(texts[1]) }, *got;
	size_t n;
	pid_t pid;

	ck_assert_int_ge(f.fd, 0);
	ck_assert_int_eq(dropipc_socketpair(&ctx.parent, &ctx.fd), 0);
	pid = unit_fork(child_exchanges_files, &ctx);
	close(ctx.fd);
	ck_assert_int_eq(dropipc_conn_set_timeout(dropipc_parent_conn(ctx.parent), 5000000), 0);
	ck_assert_int_eq(dropipc_conn_recv_files(dropipc_parent_conn(ctx.parent), &got, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(got[0].name, "from-child");
	assert_holds(got[0].fd, texts[0]);
	close(got[0].fd);
	free(got);
	ck_assert_int_eq(dropipc_conn_send_files(dropipc_parent_conn(ctx.parent), &f, 1), 0);
	close(f.fd);
	unit_reap_ok(pid);
	dropipc_parent_free(ctx.parent);
}
END_TEST

/* ---- the pty handoff --------------------------------------------------------- */

/* Opens the slave of master and passes bytes both ways through the pair. */
static void assert_pty_works(int master)
{
	struct termios t;
	char buf[8] = "";
	const char *name;
	int slave;

	ck_assert(unit_cloexec(master));
	ck_assert_int_eq(grantpt(master), 0);
	ck_assert_int_eq(unlockpt(master), 0);
	name = ptsname(master);
	ck_assert_ptr_nonnull(name);
	slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	ck_assert_msg(slave >= 0, "open %s: %s", name, strerror(errno));
	/* Raw mode: no echo, no line editing, bytes pass unchanged. */
	ck_assert_int_eq(tcgetattr(slave, &t), 0);
	cfmakeraw(&t);
	ck_assert_int_eq(tcsetattr(slave, TCSANOW, &t), 0);

	ck_assert_int_eq(write(master, "ping", 4), 4);
	ck_assert_uint_eq(unit_read(slave, buf, 4), 4);
	ck_assert_str_eq(buf, "ping");
	ck_assert_int_eq(write(slave, "pong", 4), 4);
	ck_assert_uint_eq(unit_read(master, buf, 4), 4);
	ck_assert_str_eq(buf, "pong");
	close(slave);
}

START_TEST(pty_in_process)
{
	dropipc_parent *p;
	dropipc_child *c;
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC), got = -2;

	ck_assert_int_ge(m, 0);
	ck_assert_int_eq(unit_pair(&p, &c), 0);
	ck_assert_int_eq(dropipc_child_send_pty(c, m), 0);
	close(m);
	ck_assert_int_eq(dropipc_parent_recv_pty(p, &got), 0);
	ck_assert_int_ge(got, 0);
	ck_assert_int_eq(dropipc_parent_get_child_error(p, NULL, NULL, NULL), -ENODATA);
	assert_pty_works(got);
	close(got);
	dropipc_child_free(c);
	dropipc_parent_free(p);
}
END_TEST

static int child_sends_pty(void *arg)
{
	struct files_ctx *ctx = arg;
	dropipc_child *c;
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);

	dropipc_parent_free(ctx->parent);
	UNIT_REQUIRE(m >= 0);
	UNIT_REQUIRE(dropipc_child_new(ctx->fd, &c) == 0);
	UNIT_REQUIRE(dropipc_child_send_pty(c, m) == 0);
	close(m);
	dropipc_child_free(c);
	return 0;
}

START_TEST(pty_two_processes)
{
	struct files_ctx ctx;
	int got = -2;
	pid_t pid;

	ck_assert_int_eq(dropipc_socketpair(&ctx.parent, &ctx.fd), 0);
	pid = unit_fork(child_sends_pty, &ctx);
	close(ctx.fd);
	ck_assert_int_eq(dropipc_conn_set_timeout(dropipc_parent_conn(ctx.parent), 5000000), 0);
	ck_assert_int_eq(dropipc_parent_recv_pty(ctx.parent, &got), 0);
	unit_reap_ok(pid);
	/* The child is gone: the master the parent holds keeps the pty alive. */
	assert_pty_works(got);
	close(got);
	dropipc_parent_free(ctx.parent);
}
END_TEST

/* An fd that is not a pty master is refused and closed; the channel stays usable. */
START_TEST(not_a_pty_is_refused)
{
	static const char *const kinds[] = { "a regular file", "a pipe", "a character device",
					     "a directory" };
	dropipc_parent *p;
	dropipc_child *c;
	int pipefd[2], fds[4], got, before, m;

	ck_assert_int_eq(pipe2(pipefd, O_CLOEXEC), 0);
	fds[0] = unit_tmpfile("not a terminal");
	fds[1] = pipefd[0];
	fds[2] = open("/dev/null", O_RDWR | O_CLOEXEC);
	fds[3] = open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	close(pipefd[1]);
	ck_assert_int_eq(unit_pair(&p, &c), 0);
	for (int i = 0; i < 4; i++) {
		ck_assert_int_ge(fds[i], 0);
		ck_assert_int_eq(dropipc_child_send_pty(c, fds[i]), 0);
		close(fds[i]);
		before = test_count_fds();
		got = -2;
		ck_assert_int_eq(dropipc_parent_recv_pty(p, &got), DROPIPC_ERR_NOTPTY);
		ck_assert_int_eq(got, -1);
		ck_assert_int_eq(test_count_fds(), before);
		unit_assert_contains(dropipc_conn_get_errmsg(dropipc_parent_conn(p)), "recv pty: ");
		unit_assert_contains(dropipc_conn_get_errmsg(dropipc_parent_conn(p)), kinds[i]);
		unit_assert_contains(dropipc_conn_get_errmsg(dropipc_parent_conn(p)), "not a pty master");
	}
	m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	ck_assert_int_ge(m, 0);
	ck_assert_int_eq(dropipc_child_send_pty(c, m), 0);
	close(m);
	ck_assert_int_eq(dropipc_parent_recv_pty(p, &got), 0);
	ck_assert_str_eq(dropipc_conn_get_errmsg(dropipc_parent_conn(p)), "");
	close(got);
	dropipc_child_free(c);
	dropipc_parent_free(p);
}
END_TEST

/* ---- fds no field claims are closed -------------------------------------------- */

/* n open fds of the test's own (the sender's copies), to send and close. */
static void open_fds(int *fds, int n)
{
	for (int i = 0; i < n; i++) {
		fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
		ck_assert_int_ge(fds[i], 0);
	}
}

static void close_fds(const int *fds, int n)
{
	for (int i = 0; i < n; i++)
		close(fds[i]);
}

/*
 * The parent's recv_pty (or recv_files) fails with code and a message
 * containing what, and no fd of the frame is left behind.
 */
static void check_refused(dropipc_parent *p, int files, int code, const char *what)
{
	dropipc_file *fl = (dropipc_file *)1;
	int before = test_count_fds(), got = -2;
	size_t n = 99;

	if (files) {
		ck_assert_int_eq(dropipc_conn_recv_files(dropipc_parent_conn(p), &fl, &n), code);
		ck_assert_ptr_null(fl);
		ck_assert_uint_eq(n, 0);
	} else {
		ck_assert_int_eq(dropipc_parent_recv_pty(p, &got), code);
		ck_assert_int_eq(got, -1);
	}
	ck_assert_int_eq(test_count_fds(), before);
	unit_assert_contains(dropipc_conn_get_errmsg(dropipc_parent_conn(p)), what);
}

/* Sends the child's frame (header h, payload, nfds fds), then check_refused(). */
static void expect_refused(dropipc_parent *p, dropipc_child *c, const struct unit_header *h,
			   const void *payload, size_t len, int nfds, int files, int code,
			   const char *what)
{
	int fds[DROPIPC_MAX_FDS + 1];

	open_fds(fds, nfds);
	unit_send_frame(dropipc_conn_get_fd(dropipc_child_conn(c)), h, payload, len, fds, (size_t)nfds);
	close_fds(fds, nfds);
	check_refused(p, files, code, what);
}

START_TEST(more_fds_than_the_header_announces)
{
	dropipc_parent *p;
	dropipc_child *c;
	struct unit_header h;
	size_t len;
	uint8_t *pty = unit_pack_pty(0, &len);

	h = unit_header(1, (uint32_t)len);
	ck_assert_int_eq(unit_pair(&p, &c), 0);
	expect_refused(p, c, &h, pty, len, 2, 0, DROPIPC_ERR_PROTO, "header announces 1 fds, 2 arrived");
	free(pty);
	dropipc_child_free(c);
	dropipc_parent_free(p);
}
END_TEST

/* The header and the fds agree, the message claims fewer: whole-frame errors. */
START_TEST(more_fds_than_the_message_claims)
{
	static const char *const names[] = { "a", "b" };
	static const uint32_t idx[] = { 0, 0 };
	dropipc_parent *p;
	dropipc_child *c;
	size_t len;
	uint8_t *buf;
	int fd, m;

	ck_assert_int_eq(unit_pair(&p, &c), 0);
	buf = unit_pack_pty(0, &len);
	expect_refused(p, c, NULL, buf, len, 2, 0, DROPIPC_ERR_PROTO, "recv pty: expected 1 fd, got 2");
	free(buf);
	buf = unit_pack_files(names, idx, 1, &len);
	expect_refused(p, c, NULL, buf, len, 2, 1, DROPIPC_ERR_PROTO, "1 files named for 2 fds");
	free(buf);
	buf = unit_pack_files(names, idx, 2, &len);
	expect_refused(p, c, NULL, buf, len, 2, 1, DROPIPC_ERR_PROTO, "files[1].fd: fd index 0 claimed twice");
	free(buf);
	buf = unit_pack_pty(1, &len);
	expect_refused(p, c, NULL, buf, len, 1, 0, DROPIPC_ERR_PROTO,
		       "master_fd: fd index 1 out of range (the frame has 1 fds)");
	free(buf);
	/* Whole frames were read: the next one arrives fine. */
	m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	ck_assert_int_ge(m, 0);
	ck_assert_int_eq(dropipc_child_send_pty(c, m), 0);
	close(m);
	ck_assert_int_eq(dropipc_parent_recv_pty(p, &fd), 0);
	close(fd);
	dropipc_child_free(c);
	dropipc_parent_free(p);
}
END_TEST

/* A ChildArgs claims no fd at all. */
START_TEST(fd_with_child_args_is_unclaimed)
{
	dropipc_parent *p;
	dropipc_child *c;
	dropipc_args *got = (dropipc_args *)1;
	size_t len;
	uint8_t *buf = unit_pack_args(test_example_args(), &len);
	int fd, before;

	ck_assert_int_eq(unit_pair(&p, &c), 0);
	open_fds(&fd, 1);
	unit_send_frame(dropipc_conn_get_fd(dropipc_parent_conn(p)), NULL, buf, len, &fd, 1);
	close(fd);
	before = test_count_fds();
	ck_assert_int_eq(dropipc_child_recv_args(c, &got), DROPIPC_ERR_PROTO);
	ck_assert_ptr_null(got);
	ck_assert_int_eq(test_count_fds(), before);
	unit_assert_contains(dropipc_conn_get_errmsg(dropipc_child_conn(c)), "recv args: fd index 0 claimed by no field");
	free(buf);
	dropipc_child_free(c);
	dropipc_parent_free(p);
}
END_TEST

/* 17 fds: the kernel truncates the control data (MSG_CTRUNC). */
START_TEST(more_fds_than_the_protocol_allows)
{
	dropipc_parent *p;
	dropipc_child *c;
	struct unit_header h;
	size_t len;
	uint8_t *pty = unit_pack_pty(0, &len);
	int fd;

	h = unit_header(DROPIPC_MAX_FDS, (uint32_t)len);
	ck_assert_int_eq(unit_pair(&p, &c), 0);
	expect_refused(p, c, &h, pty, len, DROPIPC_MAX_FDS + 1, 0, DROPIPC_ERR_PROTO,
		       "control data truncated");
	ck_assert_int_eq(dropipc_parent_recv_pty(p, &fd), DROPIPC_ERR_CLOSED);
	free(pty);
	dropipc_child_free(c);
	dropipc_parent_free(p);
}
END_TEST

/* fds may only come with the first byte of a frame. */
START_TEST(fds_after_the_first_byte)
{
	dropipc_parent *p;
	dropipc_child *c;
	struct unit_header h;
	uint8_t hdr[16];
	size_t len;
	uint8_t *pty = unit_pack_pty(0, &len);
	int fd;

	h = unit_header(0, (uint32_t)len);
	unit_header_encode(&h, hdr);
	ck_assert_int_eq(unit_pair(&p, &c), 0);
	open_fds(&fd, 1);
	unit_send_raw(dropipc_conn_get_fd(dropipc_child_conn(c)), hdr, sizeof(hdr), NULL, 0);
	unit_send_raw(dropipc_conn_get_fd(dropipc_child_conn(c)), pty, len, &fd, 1);
	close(fd);
	check_refused(p, 0, DROPIPC_ERR_PROTO, "1 fds arrived at byte 16 of the frame");
	free(pty);
	dropipc_child_free(c);
	dropipc_parent_free(p);
}
END_TEST

Suite *suite_fds(void)
{
	Suite *s = suite_create("fds");
	TCase *tc = unit_tcase(s, "files");

	tcase_add_test(tc, file_child_to_parent);
	tcase_add_test(tc, file_parent_to_child);
	tcase_add_test(tc, several_files_keep_names_and_order);
	tcase_add_test(tc, sixteen_files);
	tcase_add_test(tc, files_two_processes);
	tc = unit_tcase(s, "pty");
	tcase_add_test(tc, pty_in_process);
	tcase_add_test(tc, pty_two_processes);
	tcase_add_test(tc, not_a_pty_is_refused);
	tc = unit_tcase(s, "extra_fds");
	tcase_add_test(tc, more_fds_than_the_header_announces);
	tcase_add_test(tc, more_fds_than_the_message_claims);
	tcase_add_test(tc, fd_with_child_args_is_unclaimed);
	tcase_add_test(tc, more_fds_than_the_protocol_allows);
	tcase_add_test(tc, fds_after_the_first_byte);
	return s;
}
