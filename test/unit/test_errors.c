/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * One test per error class of docs/PROTOCOL.md: the exact code, a message
 * that says what failed, and whether the connection stays usable.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "unit.h"

/* A valid pty frame's payload: Envelope{pty: PtyHandoff{}} (PROTOCOL.md). */
static const uint8_t pty_payload[] = { 0x12, 0x00 };

/* Asserts that the parent still works: a real pty arrives fine. */
static void assert_pty_arrives(dropipc_parent *p, dropipc_child *c)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC), got = -2;

	ck_assert_int_ge(m, 0);
	ck_assert_int_eq(dropipc_child_send_pty(c, m), 0);
	close(m);
	ck_assert_int_eq(dropipc_parent_recv_pty(p, &got), 0);
	ck_assert_int_ge(got, 0);
	ck_assert_str_eq(dropipc_conn_get_errmsg(dropipc_parent_conn(p)), "");
	close(got);
}

/* Asserts that the child still works: the example ChildArgs arrive fine. */
static void assert_args_arrive(dropipc_parent *p, dropipc_child *c)
{
	dropipc_args *got;

	ck_assert_int_eq(dropipc_parent_send_args(p, test_example_args()), 0);
	ck_assert_int_eq(dropipc_child_recv_args(c, &got), 0);
	test_assert_args_equal(test_example_args(), got);
	dropipc_args_free(got);
}

/* Asserts that the parent's end refuses everything after an earlier error. */
static void assert_parent_closed(dropipc_parent *p, const char *earlier)
{
	dropipc_file f = { "x", 0 }, *fl;
	size_t n;
	int fd;

	ck_assert_int_eq(dropipc_parent_recv_pty(p, &fd), DROPIPC_ERR_CLOSED);
	ck_assert_int_eq(fd, -1);
	unit_assert_contains(dropipc_conn_get_errmsg(dropipc_parent_conn(p)), "recv pty: connection unusable after an earlier");
	unit_assert_contains(dropipc_conn_get_errmsg(dropipc_parent_conn(p)), earlier);
	ck_assert_int_eq(dropipc_conn_recv_files(dropipc_parent_conn(p), &fl, &n), DROPIPC_ERR_CLOSED);
	ck_assert_int_eq(dropipc_conn_send_files(dropipc_parent_conn(p), &f, 1), DROPIPC_ERR_CLOSED);
	unit_assert_contains(dropipc_conn_get_errmsg(dropipc_parent_conn(p)), "send files: connection unusable");
	ck_assert_int_eq(dropipc_parent_send_args(p, test_example_args()), DROPIPC_ERR_CLOSED);
}

/* Whether fd has something to read right now. */
static int readable(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	return poll(&pfd, 1, 0) > 0;
}

/* ---- DROPIPC_ERR_EOF ----------------------------------------------------------- */

START_TEST(eof_between_frames)
{
	dropipc_parent *p;
	dropipc_child *c;
	dropipc_args *args = (dropipc_args *)1;
	dropipc_file *fl;
	size_t n;
	int fd = -2;

	ck_assert_int_eq(unit_pair(&p, &c), 0);
	assert_pty_arrives(p, c);
	dropipc_child_free(c);
	ck_assert_int_eq(dropipc_parent_recv_pty(p, &fd), DROPIPC_ERR_EOF);
	ck_assert_int_eq(fd, -1);
	ck_assert_str_eq(dropipc_conn_get_errmsg(dropipc_parent_conn(p)), "recv pty: peer closed the connection");
	/* End of stream is not an error in a frame: it is reported again. */
	ck_assert_int_eq(dropipc_conn_recv_files(dropipc_parent_conn(p), &fl, &n), DROPIPC_ERR_EOF);
	ck_assert_str_eq(dropipc_conn_get_errmsg(dropipc_parent_conn(p)), "recv files: peer closed the connection");
	dropipc_parent_free(p);

	ck_assert_int_eq(unit_pair(&p, &c), 0);
	dropipc_parent_free(p);
	ck_assert_int_eq(dropipc_child_recv_args(c, &args), DROPIPC_ERR_EOF);
	ck_assert_ptr_null(args);
	ck_assert_str_eq(dropipc_conn_get_errmsg(dropipc_child_conn(c)), "recv args: peer closed the connection");
	dropipc_child_free(c);
}
END_TEST

/* ---- DROPIPC_ERR_TRUNC and DROPIPC_ERR_CLOSED -------------------------------------- */

/* Writes the first `part` bytes of a pty frame, closes the child, expects ETRUNC. */
static void truncated_after(size_t part)
{
	dropipc_parent *p;
	dropipc_child *c;
	uint8_t frame[16 + sizeof(pty_payload)];
	struct unit_header h = unit_header(0, sizeof(pty_payload));
	char want[64];
	int fd = -2;

	unit_header_encode(&h, frame);
	memcpy(frame + 16, pty_payload, sizeof(pty_payload));
	ck_assert_int_eq(unit_pair(&p, &c), 0);
	ck_assert_int_eq(write(dropipc_conn_get_fd(dropipc_child_conn(c)), frame, part), (ssize_t)part);
	dropipc_child_free(c);
	ck_assert_int_eq(dropipc_parent_recv_pty(p, &fd), DROPIPC_ERR_TRUNC);
	ck_assert_int_eq(fd, -1);
	snprintf(want, sizeof(want), "recv pty: peer closed the connection after %zu bytes", part);
	unit_assert_contains(dropipc_conn_get_errmsg(dropipc_parent_conn(p)), want);
	assert_parent_closed(p, "DROPIPC_ERR_TRUNC");
	dropipc_parent_free(p);
}

START_TEST(etrunc_in_header)
{
	truncated_after(1);
	truncated_after(8);
	truncated_after(15);
}
END_TEST

START_TEST(etrunc_in_payload)
{
	truncated_after(17);
}
END_TEST

/* An explicit ECLOSED test: the child's end too, after a mid-frame error. */
START_TEST(eclosed_after_mid_frame_error)
{
	dropipc_parent *p;
	dropipc_child *c;
	dropipc_args *args;
	dropipc_file f = { "x", 0 };
	uint8_t half[8];
	struct unit_header h = unit_header(0, 100);
	uint8_t hdr[16];

	unit_header_encode(&h, hdr);
	memcpy(half, hdr, sizeof(half));
	ck_assert_int_eq(unit_pair(&p, &c), 0);
	ck_assert_int_eq(dropipc_conn_set_timeout(dropipc_child_conn(c), 20000), 0);
	ck_assert_int_eq(write(dropipc_conn_get_fd(dropipc_parent_conn(p)), half, sizeof(half)), (ssize_t)sizeof(half));
	ck_assert_int_eq(dropipc_child_recv_args(c, &args), DROPIPC_ERR_TIMEDOUT);
	unit_assert_contains(dropipc_conn_get_errmsg(dropipc_child_conn(c)), "timed out after 8 bytes of the frame");
	/* The rest of the frame arrives; too late, the stream is lost. */
	ck_assert_int_eq(write(dropipc_conn_get_fd(dropipc_parent_conn(p)), hdr + 8, 8), 8);
	ck_assert_int_eq(dropipc_child_recv_args(c, &args), DROPIPC_ERR_CLOSED);
	ck_assert_ptr_null(args);
	ck_assert_str_eq(dropipc_err_name(DROPIPC_ERR_CLOSED), "DROPIPC_ERR_CLOSED");
	ck_assert_str_eq(dropipc_conn_get_errmsg(dropipc_child_conn(c)),
			 "recv args: connection unusable after an earlier DROPIPC_ERR_TIMEDOUT");
	ck_assert_int_eq(dropipc_child_send_pty(c, 0), DROPIPC_ERR_CLOSED);
	ck_assert_int_eq(dropipc_conn_send_files(dropipc_child_conn(c), &f, 1), DROPIPC_ERR_CLOSED);
	ck_assert_int_eq(dropipc_child_send_error(c, DROPIPC_STAGE_ARGS, 0, "x"), DROPIPC_ERR_CLOSED);
	unit_assert_contains(dropipc_conn_get_errmsg(dropipc_child_conn(c)), "send error: connection unusable");
	dropipc_child_free(c);
	dropipc_parent_free(p);
}
END_TEST

/* ---- DROPIPC_ERR_PROTO ------------------------------------------------------------ */

/* Headers that break the stream: each on a fresh pair. */
START_TEST(eproto_bad_header)
{
	static const struct {
		const char *magic;
		uint16_t version, nfds;
		uint32_t reserved;
		const char *msg;
	} cases[] = {
		{ "XIPC", 1, 0, 0, "bad magic 58 49 50 43 (expected \"DIPC\")" },
		{ "dipc", 1, 0, 0, "bad magic 64 69 70 63" },
		{ "DIPC", 2, 0, 0, "peer speaks protocol version 2, this end speaks version 1" },
		{ "DIPC", 0, 0, 0, "peer speaks protocol version 0" },
		{ "DIPC", 1, 0, 1, "reserved header field is 0x1, not 0" },
		{ "DIPC", 1, 17, 0, "header announces 17 fds, the maximum is 16" },
		{ "DIPC", 1, 1, 0, "header announces 1 fds, 0 arrived" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct unit_header h = unit_header(cases[i].nfds, sizeof(pty_payload));
		dropipc_parent *p;
		dropipc_child *c;
		int fd = -2;

		memcpy(h.magic, cases[i].magic, 4);
		h.version = cases[i].version;
		h.reserved = cases[i].reserved;
		ck_assert_int_eq(unit_pair(&p, &c), 0);
		unit_send_frame(dropipc_conn_get_fd(dropipc_child_conn(c)), &h, pty_payload, sizeof(pty_payload), NULL, 0);
		ck_assert_int_eq(dropipc_parent_recv_pty(p, &fd), DROPIPC_ERR_PROTO);
		ck_assert_int_eq(fd, -1);
		unit_assert_contains(dropipc_conn_get_errmsg(dropipc_parent_conn(p)), "recv pty: ");
		unit_assert_contains(dropipc_conn_get_errmsg(dropipc_parent_conn(p)), cases[i].msg);
		assert_parent_closed(p, "DROPIPC_ERR_PROTO");
		dropipc_child_free(c);
		dropipc_parent_free(p);
	}
}
END_TEST

/* Payloads that are whole frames but wrong: the stream stays usable. */
START_TEST(eproto_bad_payload)
{
	static const struct {
		const char *bytes;
		size_t len;
		const char *msg;
	} cases[] = {
		{ "\xff", 1, "payload is not a protobuf Envelope: truncated tag at byte 1" },
		{ "", 0, "envelope has no body" },
		{ "\x12\x00\x12\x00", 4, "envelope has 2 bodies, not 1" },
		{ "\x12\x05\x08", 3, "length runs past the end" },
		{ "\x10\x01", 2, "envelope field 2 has wire type 0, not 2" },
		{ "\x0a\x00", 2, "expected the pty message, got child_args" },
		{ "\x22\x00", 2, "expected the pty message, got files" },
	};
	dropipc_parent *p;
	dropipc_child *c;

	ck_assert_int_eq(unit_pair(&p, &c), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int fd = -2;

		unit_send_frame(dropipc_conn_get_fd(dropipc_child_conn(c)), NULL, cases[i].bytes, cases[i].len, NULL, 0);
		ck_assert_int_eq(dropipc_parent_recv_pty(p, &fd), DROPIPC_ERR_PROTO);
		ck_assert_int_eq(fd, -1);
		unit_assert_contains(dropipc_conn_get_errmsg(dropipc_parent_conn(p)), cases[i].msg);
	}
	assert_pty_arrives(p, c);
	dropipc_child_free(c);
	dropipc_parent_free(p);
}
END_TEST

/* The API's own messages in the wrong place; the wrong frame's fds are closed. */
START_TEST(eproto_wrong_message)
{
	dropipc_parent *p;
	dropipc_child *c;
	dropipc_args *args;
	dropipc_file f = { "stdout", unit_tmpfile("x") };
	int fd = -2, before;

	ck_assert_int_ge(f.fd, 0);
	ck_assert_int_eq(unit_pair(&p, &c), 0);
	ck_assert_int_eq(dropipc_conn_send_files(dropipc_child_conn(c), &f, 1), 0);
	close(f.fd);
	before = test_count_fds();
	ck_assert_int_eq(dropipc_parent_recv_pty(p, &fd), DROPIPC_ERR_PROTO);
	ck_assert_int_eq(fd, -1);
	ck_assert_int_eq(test_count_fds(), before);
	ck_assert_str_eq(dropipc_conn_get_errmsg(dropipc_parent_conn(p)), "recv pty: expected the pty message, got files");
	assert_pty_arrives(p, c);

	/* A setup failure report is the child's to send, not the parent's. */
	unit_send_frame(dropipc_conn_get_fd(dropipc_parent_conn(p)), NULL, "\x1a\x00", 2, NULL, 0);
	ck_assert_int_eq(dropipc_child_recv_args(c, &args), DROPIPC_ERR_PROTO);
	ck_assert_ptr_null(args);
	ck_assert_str_eq(dropipc_conn_get_errmsg(dropipc_child_conn(c)),
			 "recv args: expected the child_args message, got error");
	assert_args_arrive(p, c);
	dropipc_child_free(c);
	dropipc_parent_free(p);
}
END_TEST

/* ---- DROPIPC_ERR_TOOBIG ------------------------------------------------------------ */

START_TEST(etoobig_header)
{
	dropipc_parent *p;
	dropipc_child *c;
	struct unit_header h = unit_header(0, 4097);
	uint8_t hdr[16];
	int fd = -2;

	ck_assert_int_eq(unit_pair(&p, &c), 0);
	ck_assert_int_eq(dropipc_conn_set_max_payload(dropipc_parent_conn(p), 0), -EINVAL);
	ck_assert_int_eq(dropipc_conn_set_max_payload(dropipc_parent_conn(p), DROPIPC_MAX_PAYLOAD_LIMIT + 1), -EINVAL);
	ck_assert_int_eq(dropipc_conn_set_max_payload(dropipc_parent_conn(p), DROPIPC_MAX_PAYLOAD_LIMIT), 0);
	ck_assert_int_eq(dropipc_conn_set_max_payload(dropipc_parent_conn(p), 4096), 0);
	unit_header_encode(&h, hdr);
	unit_send_raw(dropipc_conn_get_fd(dropipc_child_conn(c)), hdr, sizeof(hdr), NULL, 0);
	ck_assert_int_eq(dropipc_parent_recv_pty(p, &fd), DROPIPC_ERR_TOOBIG);
	ck_assert_int_eq(fd, -1);
	ck_assert_str_eq(dropipc_conn_get_errmsg(dropipc_parent_conn(p)),
			 "recv pty: payload of 4097 bytes exceeds the limit of 4096 bytes");
	assert_parent_closed(p, "DROPIPC_ERR_TOOBIG");
	dropipc_child_free(c);
	dropipc_parent_free(p);
}
END_TEST

/* Runs in its own process: the address space limit must not outlive it. */
static int toobig_under_rlimit(void *arg)
{
	struct unit_header h = unit_header(0, 0xffffffffu);
	dropipc_parent *p;
	dropipc_child *c;
	uint8_t hdr[16];
	unsigned long pages = 0;
	struct rlimit rl;
	FILE *f;
	void *m;
	int fd, r;

	(void)arg;
	unit_header_encode(&h, hdr);
	UNIT_REQUIRE(unit_pair(&p, &c) == 0);
	UNIT_REQUIRE(dropipc_conn_set_max_payload(dropipc_parent_conn(p), 4096) == 0);
	UNIT_REQUIRE(write(dropipc_conn_get_fd(dropipc_child_conn(c)), hdr, sizeof(hdr)) == (ssize_t)sizeof(hdr));
	/* Room for what is mapped now and 256 MiB more: a 4 GiB buffer cannot fit. */
	f = fopen("/proc/self/statm", "re");
	UNIT_REQUIRE(f && fscanf(f, "%lu", &pages) == 1);
	fclose(f);
	rl.rlim_cur = rl.rlim_max = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + (256u << 20);
	UNIT_REQUIRE(setrlimit(RLIMIT_AS, &rl) == 0);
	m = mmap(NULL, 1u << 30, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		 -1, 0);
	UNIT_REQUIRE(m == MAP_FAILED); /* the limit bites */
	r = dropipc_parent_recv_pty(p, &fd);
	if (r != DROPIPC_ERR_TOOBIG) {
		fprintf(stderr, "recv pty: %s (%s)\n", dropipc_err_name(r), dropipc_conn_get_errmsg(dropipc_parent_conn(p)));
		return 1;
	}
	UNIT_REQUIRE(strcmp(dropipc_conn_get_errmsg(dropipc_parent_conn(p)),
			    "recv pty: payload of 4294967295 bytes exceeds the limit of 4096 bytes") == 0);
	dropipc_child_free(c);
	dropipc_parent_free(p);
	return 0;
}

START_TEST(etoobig_allocates_nothing)
{
	unit_reap_ok(unit_fork(toobig_under_rlimit, NULL));
}
END_TEST

/* A sender refuses a message over its own limit and sends nothing. */
START_TEST(etoobig_on_send)
{
	dropipc_parent *p;
	dropipc_child *c;

	ck_assert_int_eq(unit_pair(&p, &c), 0);
	ck_assert_int_eq(dropipc_conn_set_max_payload(dropipc_parent_conn(p), 64), 0);
	ck_assert_int_eq(dropipc_parent_send_args(p, test_example_args()), DROPIPC_ERR_TOOBIG);
	unit_assert_contains(dropipc_conn_get_errmsg(dropipc_parent_conn(p)), "send args: message of ");
	unit_assert_contains(dropipc_conn_get_errmsg(dropipc_parent_conn(p)), "bytes exceeds the limit of 64 bytes");
	ck_assert(!readable(dropipc_conn_get_fd(dropipc_child_conn(c))));
	ck_assert_int_eq(dropipc_conn_set_max_payload(dropipc_parent_conn(p), DROPIPC_DEFAULT_MAX_PAYLOAD), 0);
	assert_args_arrive(p, c);
	dropipc_child_free(c);
	dropipc_parent_free(p);
}
END_TEST

/* ---- DROPIPC_ERR_TIMEDOUT ------------------------------------------------------------ */

START_TEST(etimedout_before_a_frame)
{
	dropipc_parent *p;
	dropipc_child *c;
	dropipc_args *args;
	int fd = -2;

	ck_assert_int_eq(unit_pair(&p, &c), 0);
	ck_assert_int_eq(dropipc_conn_set_timeout(NULL, 30000), -EINVAL);
	ck_assert_int_eq(dropipc_conn_set_timeout(dropipc_parent_conn(p), 30000), 0);
	ck_assert_int_eq(dropipc_parent_recv_pty(p, &fd), DROPIPC_ERR_TIMEDOUT);
	ck_assert_int_eq(fd, -1);
	ck_assert_str_eq(dropipc_conn_get_errmsg(dropipc_parent_conn(p)), "recv pty: waiting for a frame: timed out");
	ck_assert_int_eq(dropipc_parent_recv_pty(p, &fd), DROPIPC_ERR_TIMEDOUT);
	/* Nothing of a frame was read: the next frame arrives fine. */
	assert_pty_arrives(p, c);

	ck_assert_int_eq(dropipc_conn_set_timeout(dropipc_child_conn(c), 0), 0);
	ck_assert_int_eq(dropipc_child_recv_args(c, &args), DROPIPC_ERR_TIMEDOUT);
	ck_assert_str_eq(dropipc_conn_get_errmsg(dropipc_child_conn(c)), "recv args: waiting for a frame: timed out");
	assert_args_arrive(p, c);
	dropipc_child_free(c);
	dropipc_parent_free(p);
}
END_TEST

/* A send that cannot finish (nobody reads) times out part way: the stream is lost. */
START_TEST(etimedout_on_send)
{
	enum { N = 8000 };
	dropipc_args *a = test_new_example_args();
	dropipc_parent *p;
	dropipc_child *c;

	for (size_t i = 0; i < N; i++)
		ck_assert_int_eq(dropipc_args_add_list(a, DROPIPC_LIST_EXEC_ARGS, "an argument long enough to fill the socket buffer fast"),
				 0);
	ck_assert_int_eq(unit_pair(&p, &c), 0);
	ck_assert_int_eq(dropipc_conn_set_timeout(dropipc_parent_conn(p), 30000), 0);
	ck_assert_int_eq(dropipc_parent_send_args(p, a), DROPIPC_ERR_TIMEDOUT);
	unit_assert_contains(dropipc_conn_get_errmsg(dropipc_parent_conn(p)), "send args: send: timed out after ");
	assert_parent_closed(p, "DROPIPC_ERR_TIMEDOUT");
	dropipc_args_free(a);
	dropipc_child_free(c);
	dropipc_parent_free(p);
}
END_TEST

/* ---- DROPIPC_ERR_INVALID ----------------------------------------------------------------- */

/* Breaks one field of a, built by the setters: case i of the table below. */
static const char *break_args(dropipc_args *a, int i)
{
	/* The example has two tcp published ports: a third one is [2]. */
	switch (i) {
	case 0:
		ck_assert_int_eq(dropipc_args_add_net_published_port(a, DROPIPC_TCP, "", 8080, 0, 0), 0);
		return "config.net.tcp_published_ports[2].guest_port: 0 is not in 1..65535";
	case 1:
		ck_assert_int_eq(dropipc_args_add_net_published_port(a, DROPIPC_TCP, "", 8080, 70000, 0),
				 0);
		return "config.net.tcp_published_ports[2].guest_port: 70000 is not in 1..65535";
	case 2:
		ck_assert_int_eq(dropipc_args_add_net_published_port(a, DROPIPC_TCP, "", 0, 80, 0), 0);
		return "config.net.tcp_published_ports[2].host_port: 0 is not in 1..65535";
	case 3:
		ck_assert_int_eq(dropipc_args_add_net_published_port(a, DROPIPC_TCP, "", 8080, 80, DROPIPC_PUBLISHED_PORT_AUTO),
				 0);
		return "config.net.tcp_published_ports[2].host_port: 8080 set with auto";
	case 4:
		ck_assert_int_eq(dropipc_args_add_net_published_port(a, DROPIPC_TCP, "localhost", 8080, 80, 0),
				 0);
		return "config.net.tcp_published_ports[2].host_ip: \"localhost\" is not an IP address";
	case 5:
		/* The setter refuses it: a peer's frame would hold it. */
		ck_assert_int_eq(dropipc_args_set_net_mode(a, (dropipc_net_mode)7), -EINVAL);
		dropipc__args_msg(a)->config->net->mode = (Dropipc__V1__Net__Mode)7;
		return "config.net.mode: 7 is not a known mode";
	case 6:
		ck_assert_int_eq(dropipc_args_set_net_mode(a, DROPIPC_NET_MODE_UNSPECIFIED), 0);
		return "config.net.mode: 0 is not a known mode";
	case 7:
		ck_assert_int_eq(dropipc_args_add_net_host_port(a, DROPIPC_UDP, 70000, 53, 0), 0);
		return "config.net.udp_host_ports[0].host_port: 70000 is not in 1..65535";
	case 8:
		ck_assert_int_eq(dropipc_args_add_net_host_port(a, DROPIPC_TCP, 0, 2222, DROPIPC_HOST_PORT_AUTO),
				 0);
		return "config.net.tcp_host_ports[0].guest_port: 2222 set with auto";
	case 9:
		ck_assert_int_eq(dropipc_args_add_mount(a, "", "/x", 0), 0);
		return "config.mounts[2].source: empty";
	case 10:
		ck_assert_int_eq(dropipc_args_add_list(a, DROPIPC_LIST_BLOCKED_PATHS, ""), 0);
		return "config.blocked_paths[2]: empty";
	case 11:
		ck_assert_int_eq(dropipc_args_add_environ_set_var(a, "A=B", "c"), 0);
		return "config.environ.set_vars[1].name: '=' at byte 1";
	case 12:
		ck_assert_int_eq(dropipc_args_set_env_id(a, ""), 0);
		return "env_id: empty";
	case 13:
		ck_assert_int_eq(dropipc_args_set_pty(a, (dropipc_pty_mode)3), -EINVAL);
		((Dropipc__V1__ChildArgs *)dropipc__args_msg(a))->pty = (Dropipc__V1__PtyMode)3;
		return "pty: 3 is not a known mode";
	case 14:
		ck_assert_int_eq(dropipc_args_add_net_published_port(a, DROPIPC_UDP, "::1", 0, 0,
								     DROPIPC_PUBLISHED_PORT_AUTO),
				 0);
		return "config.net.udp_published_ports[0].host_ip: set with auto";
	case 15:
		ck_assert_int_eq(dropipc_args_add_net_published_port(a, DROPIPC_UDP, "", 0, 53,
								     DROPIPC_PUBLISHED_PORT_AUTO),
				 0);
		return "config.net.udp_published_ports[0].guest_port: 53 set with auto";
	}
	return NULL;
}

START_TEST(einval_validation)
{
	dropipc_parent *p;
	dropipc_child *c;
	const char *want;
	char err[256], full[300];

	ck_assert_int_eq(dropipc_args_validate(test_example_args(), err, sizeof(err)), 0);
	ck_assert_str_eq(err, "");
	ck_assert_int_eq(dropipc_args_validate(NULL, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(unit_pair(&p, &c), 0);
	for (int i = 0;; i++) {
		dropipc_args *got = (dropipc_args *)1, *a = test_new_example_args();
		uint8_t *buf;
		size_t len;

		want = break_args(a, i);
		if (!want) {
			dropipc_args_free(a);
			break;
		}
		ck_assert_int_eq(dropipc_args_validate(a, err, sizeof(err)), DROPIPC_ERR_INVALID);
		ck_assert_str_eq(err, want);
		ck_assert_int_eq(dropipc_args_validate(a, NULL, 0), DROPIPC_ERR_INVALID);

		/* The sender refuses, and nothing reaches the socket. */
		ck_assert_int_eq(dropipc_parent_send_args(p, a), DROPIPC_ERR_INVALID);
		snprintf(full, sizeof(full), "send args: %s", want);
		ck_assert_str_eq(dropipc_conn_get_errmsg(dropipc_parent_conn(p)), full);
		ck_assert(!readable(dropipc_conn_get_fd(dropipc_child_conn(c))));

		/* Sent anyway, by a peer that does not check: the receiver refuses. */
		buf = unit_pack_args(a, &len);
		unit_send_frame(dropipc_conn_get_fd(dropipc_parent_conn(p)), NULL, buf, len, NULL, 0);
		free(buf);
		ck_assert_int_eq(dropipc_child_recv_args(c, &got), DROPIPC_ERR_INVALID);
		ck_assert_ptr_null(got);
		snprintf(full, sizeof(full), "recv args: %s", want);
		ck_assert_str_eq(dropipc_conn_get_errmsg(dropipc_child_conn(c)), full);
		dropipc_args_free(a);
	}
	/* A refused message was a whole frame: the channel still works. */
	assert_args_arrive(p, c);
	dropipc_child_free(c);
	dropipc_parent_free(p);
}
END_TEST

/* Submessages the setters always make, left out by a peer: the receiver
 * refuses the frame (raw, from the protobuf-c structs). */
START_TEST(einval_missing_submessages)
{
	dropipc_parent *p;
	dropipc_child *c;
	Dropipc__V1__ChildArgs m;
	Dropipc__V1__Config cfg;
	char want[64];

	ck_assert_int_eq(unit_pair(&p, &c), 0);
	for (int i = 0; i < 3; i++) {
		dropipc_args *got = (dropipc_args *)1;
		const char *field = NULL;
		uint8_t *buf;
		size_t len;

		m = *dropipc__args_msg(test_example_args());
		cfg = *m.config;
		m.config = &cfg;
		switch (i) {
		case 0:
			m.paths = NULL;
			field = "paths";
			break;
		case 1:
			m.config = NULL;
			field = "config";
			break;
		case 2:
			cfg.net = NULL;
			field = "config.net";
			break;
		}
		buf = unit_pack_child_args(&m, &len);
		unit_send_frame(dropipc_conn_get_fd(dropipc_parent_conn(p)), NULL, buf, len, NULL, 0);
		free(buf);
		ck_assert_int_eq(dropipc_child_recv_args(c, &got), DROPIPC_ERR_INVALID);
		ck_assert_ptr_null(got);
		snprintf(want, sizeof(want), "recv args: %s: missing", field);
		ck_assert_str_eq(dropipc_conn_get_errmsg(dropipc_child_conn(c)), want);
	}
	assert_args_arrive(p, c);
	dropipc_child_free(c);
	dropipc_parent_free(p);
}
END_TEST

/* No exec args is valid now: the child runs the user's shell, as Drop does. */
START_TEST(empty_exec_args_are_valid)
{
	dropipc_parent *p;
	dropipc_child *c;
	dropipc_args *got, *a = test_new_example_args();
	char err[256];
	size_t n = 9;

	ck_assert_int_eq(dropipc_args_set_list(a, DROPIPC_LIST_EXEC_ARGS, NULL), 0);
	ck_assert_int_eq(dropipc_args_validate(a, err, sizeof(err)), 0);
	ck_assert_int_eq(unit_pair(&p, &c), 0);
	ck_assert_int_eq(dropipc_parent_send_args(p, a), 0);
	ck_assert_int_eq(dropipc_child_recv_args(c, &got), 0);
	ck_assert_ptr_null(dropipc_args_get_list(got, DROPIPC_LIST_EXEC_ARGS, &n)[0]);
	ck_assert_uint_eq(n, 0);
	dropipc_args_free(got);
	dropipc_args_free(a);
	dropipc_child_free(c);
	dropipc_parent_free(p);
}
END_TEST

/* Strings the C API cannot even express, sent by a hand-made frame. */
START_TEST(einval_nul_and_utf8)
{
	dropipc_parent *p;
	dropipc_child *c;
	dropipc_args *got, *a = test_new_example_args();
	uint8_t *buf, *at;
	size_t len;

	ck_assert_int_eq(dropipc_args_set_path(a, DROPIPC_PATH_FS_ROOT, "/fs@root"), 0);
	buf = unit_pack_args(a, &len);
	dropipc_args_free(a);
	at = memmem(buf, len, "/fs@root", 8);
	ck_assert_ptr_nonnull(at);
	at[3] = '\0';
	ck_assert_int_eq(unit_pair(&p, &c), 0);
	unit_send_frame(dropipc_conn_get_fd(dropipc_parent_conn(p)), NULL, buf, len, NULL, 0);
	free(buf);
	ck_assert_int_eq(dropipc_child_recv_args(c, &got), DROPIPC_ERR_INVALID);
	ck_assert_str_eq(dropipc_conn_get_errmsg(dropipc_child_conn(c)),
			 "recv args: paths.fs_root: NUL byte at byte 3");

	/* Invalid UTF-8 in a text field: the setter takes it, the sender
	 * refuses it, and so does the receiver. (OS strings are bytes: see
	 * test_args.c, non_utf8_bytes.) */
	a = test_new_example_args();
	ck_assert_int_eq(dropipc_args_set_env_id(a, "env\xff"), 0);
	ck_assert_int_eq(dropipc_parent_send_args(p, a), DROPIPC_ERR_INVALID);
	unit_assert_contains(dropipc_conn_get_errmsg(dropipc_parent_conn(p)), "env_id: invalid UTF-8 at byte 3");
	ck_assert(!readable(dropipc_conn_get_fd(dropipc_child_conn(c))));
	buf = unit_pack_args(a, &len);
	dropipc_args_free(a);
	unit_send_frame(dropipc_conn_get_fd(dropipc_parent_conn(p)), NULL, buf, len, NULL, 0);
	free(buf);
	ck_assert_int_eq(dropipc_child_recv_args(c, &got), DROPIPC_ERR_INVALID);
	ck_assert_str_eq(dropipc_conn_get_errmsg(dropipc_child_conn(c)),
			 "recv args: env_id: invalid UTF-8 at byte 3");

	/* A surrogate, encoded: not UTF-8 either. */
	a = test_new_example_args();
	ck_assert_int_eq(dropipc_args_set_extends(a, "b\xed\xa0\x80"), 0);
	buf = unit_pack_args(a, &len);
	dropipc_args_free(a);
	unit_send_frame(dropipc_conn_get_fd(dropipc_parent_conn(p)), NULL, buf, len, NULL, 0);
	free(buf);
	ck_assert_int_eq(dropipc_child_recv_args(c, &got), DROPIPC_ERR_INVALID);
	ck_assert_str_eq(dropipc_conn_get_errmsg(dropipc_child_conn(c)),
			 "recv args: config.extends: invalid UTF-8 at byte 1");
	assert_args_arrive(p, c);
	dropipc_child_free(c);
	dropipc_parent_free(p);
}
END_TEST

/* ---- DROPIPC_ERR_UNSUPPORTED ------------------------------------------------------------ */

START_TEST(eunsupported_body)
{
	/* Envelope with only field 9 (wire type 2, length 0): a future body. */
	static const uint8_t field9[] = { 9 << 3 | 2, 0x00 };
	dropipc_parent *p;
	dropipc_child *c;
	dropipc_args *args;
	int fd = -2, sent, before;

	ck_assert_int_eq(unit_pair(&p, &c), 0);
	sent = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(sent, 0);
	unit_send_frame(dropipc_conn_get_fd(dropipc_child_conn(c)), NULL, field9, sizeof(field9), &sent, 1);
	close(sent);
	before = test_count_fds();
	ck_assert_int_eq(dropipc_parent_recv_pty(p, &fd), DROPIPC_ERR_UNSUPPORTED);
	ck_assert_int_eq(fd, -1);
	ck_assert_int_eq(test_count_fds(), before);
	ck_assert_str_eq(dropipc_conn_get_errmsg(dropipc_parent_conn(p)),
			 "recv pty: unsupported message: envelope field 9 is not known to "
			 "protocol version 1");
	assert_pty_arrives(p, c);

	unit_send_frame(dropipc_conn_get_fd(dropipc_parent_conn(p)), NULL, field9, sizeof(field9), NULL, 0);
	ck_assert_int_eq(dropipc_child_recv_args(c, &args), DROPIPC_ERR_UNSUPPORTED);
	unit_assert_contains(dropipc_conn_get_errmsg(dropipc_child_conn(c)), "envelope field 9 is not known");
	assert_args_arrive(p, c);
	dropipc_child_free(c);
	dropipc_parent_free(p);
}
END_TEST

/* ---- DROPIPC_ERR_CHILD ----------------------------------------------------------------- */

START_TEST(echild_report)
{
	dropipc_parent *p;
	dropipc_child *c;
	dropipc_stage stage = 9;
	const char *msg = "x";
	int fd = -2, err = 9;

	ck_assert_int_eq(unit_pair(&p, &c), 0);
	ck_assert_int_eq(dropipc_parent_get_child_error(p, &stage, &err, &msg), -ENODATA);
	ck_assert_int_eq(dropipc_child_send_error(c, DROPIPC_STAGE_EXEC, ENOENT, "execvp %s: %s",
						  "nosuchcmd", strerror(ENOENT)),
			 0);
	ck_assert_int_eq(dropipc_parent_recv_pty(p, &fd), DROPIPC_ERR_CHILD);
	ck_assert_int_eq(fd, -1);
	ck_assert_int_eq(dropipc_parent_get_child_error(p, &stage, &err, &msg), 0);
	ck_assert_int_eq(stage, DROPIPC_STAGE_EXEC);
	ck_assert_int_eq(err, ENOENT);
	ck_assert_str_eq(msg, "execvp nosuchcmd: No such file or directory");
	/* Any of the out-params may be NULL. */
	ck_assert_int_eq(dropipc_parent_get_child_error(p, NULL, NULL, NULL), 0);
	ck_assert_str_eq(dropipc_conn_get_errmsg(dropipc_parent_conn(p)),
			 "recv pty: child setup failed at exec: execvp nosuchcmd: No such file or "
			 "directory");

	/* The peer's text is made safe to print, in the message and in the report. */
	ck_assert_int_eq(dropipc_child_send_error(c, DROPIPC_STAGE_JAIL, 0, "mount\n\x1b[31m/x"), 0);
	ck_assert_int_eq(dropipc_parent_recv_pty(p, &fd), DROPIPC_ERR_CHILD);
	ck_assert_int_eq(dropipc_parent_get_child_error(p, &stage, &err, &msg), 0);
	ck_assert_int_eq(stage, DROPIPC_STAGE_JAIL);
	ck_assert_int_eq(err, 0);
	/* dropipc_text_sanitize() keeps newlines and tabs; the one-line error
	 * message does not. */
	ck_assert_str_eq(msg, "mount\n?[31m/x");
	ck_assert_str_eq(dropipc_conn_get_errmsg(dropipc_parent_conn(p)), "recv pty: child setup failed at jail: mount??[31m/x");

	/* The next receive forgets the report. */
	assert_pty_arrives(p, c);
	ck_assert_int_eq(dropipc_parent_get_child_error(p, NULL, NULL, NULL), -ENODATA);
	dropipc_child_free(c);
	dropipc_parent_free(p);
}
END_TEST

/* Texts longer than 4096 bytes are cut, and still arrive as UTF-8. */
/* A report whose text is not UTF-8 (a Latin-1 file name) still arrives, the
 * bad bytes replaced; C1 controls (here CSI, U+009B) are replaced too, by
 * one '?' for the character, not one per byte. */
START_TEST(echild_text_repaired)
{
	dropipc_parent *p;
	dropipc_child *c;
	const char *msg = NULL;
	int fd;

	ck_assert_int_eq(unit_pair(&p, &c), 0);
	ck_assert_int_eq(dropipc_child_send_error(c, DROPIPC_STAGE_EXEC, ENOENT,
						  "execvp /tmp/caf\xe9: gone \xc2\x9b" "31m"),
			 0);
	ck_assert_int_eq(dropipc_parent_recv_pty(p, &fd), DROPIPC_ERR_CHILD);
	ck_assert_int_eq(dropipc_parent_get_child_error(p, NULL, NULL, &msg), 0);
	ck_assert_str_eq(msg, "execvp /tmp/caf?: gone ?31m");
	ck_assert_str_eq(dropipc_conn_get_errmsg(dropipc_parent_conn(p)),
			 "recv pty: child setup failed at exec: execvp /tmp/caf?: gone ?31m");
	dropipc_child_free(c);
	dropipc_parent_free(p);
}
END_TEST

/*
 * After the pty: the child's ExecConfirm and then end of stream is a
 * successful exec; end of stream without it is DROPIPC_ERR_NOEXEC; a report is
 * a failure (before or after the confirmation); anything else a protocol
 * error.
 */
START_TEST(wait_exec_outcomes)
{
	dropipc_parent *p;
	dropipc_child *c;
	dropipc_args *got;
	dropipc_stage stage;
	const char *msg;
	int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC), err;

	ck_assert_int_ge(master, 0);
	ck_assert_int_eq(unit_pair(&p, &c), 0);
	ck_assert_int_eq(dropipc_child_send_error(c, DROPIPC_STAGE_EXEC, ENOENT, "execvp x: gone"), 0);
	ck_assert_int_eq(dropipc_parent_wait_exec(p), DROPIPC_ERR_CHILD);
	ck_assert_int_eq(dropipc_parent_get_child_error(p, NULL, NULL, &msg), 0);
	ck_assert_str_eq(msg, "execvp x: gone");
	ck_assert_str_eq(dropipc_conn_get_errmsg(dropipc_parent_conn(p)), "wait exec: child setup failed at exec: execvp x: gone");

	ck_assert_int_eq(dropipc_child_send_pty(c, master), 0);
	ck_assert_int_eq(dropipc_parent_wait_exec(p), DROPIPC_ERR_PROTO);
	unit_assert_contains(dropipc_conn_get_errmsg(dropipc_parent_conn(p)), "wait exec: expected ");
	unit_assert_contains(dropipc_conn_get_errmsg(dropipc_parent_conn(p)), ", got pty");

	/* Without args that ask for it, the child confirms nothing. */
	ck_assert_int_eq(dropipc_child_confirm_exec(c), 0);
	ck_assert(!readable(dropipc_conn_get_fd(dropipc_parent_conn(p))));

	/* The library's args ask: confirmed, then the exec failed. */
	ck_assert_int_eq(dropipc_parent_send_args(p, test_example_args()), 0);
	ck_assert_int_eq(dropipc_child_recv_args(c, &got), 0);
	dropipc_args_free(got);
	ck_assert_int_eq(dropipc_child_confirm_exec(c), 0);
	ck_assert_int_eq(dropipc_child_send_error(c, DROPIPC_STAGE_EXEC, EACCES, "execvp y: denied"),
			 0);
	ck_assert_int_eq(dropipc_parent_wait_exec(p), DROPIPC_ERR_CHILD);
	ck_assert_int_eq(dropipc_parent_get_child_error(p, &stage, &err, &msg), 0);
	ck_assert_int_eq(stage, DROPIPC_STAGE_EXEC);
	ck_assert_int_eq(err, EACCES);
	ck_assert_str_eq(msg, "execvp y: denied");

	/* Confirmed, then a message that is no report. */
	ck_assert_int_eq(dropipc_child_confirm_exec(c), 0);
	ck_assert_int_eq(dropipc_child_send_pty(c, master), 0);
	ck_assert_int_eq(dropipc_parent_wait_exec(p), DROPIPC_ERR_PROTO);
	ck_assert_str_eq(dropipc_conn_get_errmsg(dropipc_parent_conn(p)),
			 "wait exec: expected end of stream or an error report, got pty");

	/* Confirmed, then closed: the exec succeeded. */
	ck_assert_int_eq(dropipc_child_confirm_exec(c), 0);
	dropipc_child_free(c);
	ck_assert_int_eq(dropipc_parent_wait_exec(p), 0);
	ck_assert_str_eq(dropipc_conn_get_errmsg(dropipc_parent_conn(p)), "");
	ck_assert_int_eq(dropipc_parent_get_child_error(p, NULL, NULL, NULL), -ENODATA);
	dropipc_parent_free(p);

	/* Closed without a confirmation: the child never got to its exec. */
	ck_assert_int_eq(unit_pair(&p, &c), 0);
	ck_assert_int_eq(dropipc_parent_send_args(p, test_example_args()), 0);
	ck_assert_int_eq(dropipc_child_recv_args(c, &got), 0);
	dropipc_args_free(got);
	dropipc_child_free(c);
	ck_assert_int_eq(dropipc_parent_wait_exec(p), DROPIPC_ERR_NOEXEC);
	ck_assert_str_eq(dropipc_conn_get_errmsg(dropipc_parent_conn(p)),
			 "wait exec: the channel closed before the child confirmed its exec");
	dropipc_parent_free(p);
	close(master);
}
END_TEST

/* The sandbox's child that gets its args, hands over a pty and exits
 * without an exec. */
static int exits_after_pty(void *arg)
{
	dropipc_child *c;
	dropipc_args *args;
	int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);

	UNIT_REQUIRE(master >= 0 && grantpt(master) == 0 && unlockpt(master) == 0);
	UNIT_REQUIRE(dropipc_child_new(*(int *)arg, &c) == 0);
	UNIT_REQUIRE(dropipc_child_recv_args(c, &args) == 0);
	UNIT_REQUIRE(dropipc_child_send_pty(c, master) == 0);
	_exit(0);
}

/* A child process that _exits after sending the pty is no successful exec. */
START_TEST(wait_exec_child_exits_after_pty)
{
	dropipc_parent *p;
	int child_fd, master = -1;
	pid_t pid;

	ck_assert_int_eq(dropipc_socketpair(&p, &child_fd), 0);
	pid = unit_fork(exits_after_pty, &child_fd);
	close(child_fd);
	ck_assert_int_eq(dropipc_conn_set_timeout(dropipc_parent_conn(p), 10000000), 0);
	ck_assert_int_eq(dropipc_parent_send_args(p, test_example_args()), 0);
	ck_assert_int_eq(dropipc_parent_recv_pty(p, &master), 0);
	ck_assert_int_eq(dropipc_parent_wait_exec(p), DROPIPC_ERR_NOEXEC);
	close(master);
	dropipc_parent_free(p);
	unit_reap_ok(pid);
}
END_TEST

/* A report with no text: proto3 leaves the empty string out, and the
 * parent gets protobuf-c's read-only "" (which it must not write to). */
START_TEST(report_without_text)
{
	dropipc_parent *p;
	dropipc_child *c;
	dropipc_stage stage;
	const char *msg = NULL;
	int err;

	ck_assert_int_eq(unit_pair(&p, &c), 0);
	ck_assert_int_eq(dropipc_child_send_error(c, DROPIPC_STAGE_JAIL, EPERM, "%s", ""), 0);
	ck_assert_int_eq(dropipc_parent_wait_exec(p), DROPIPC_ERR_CHILD);
	ck_assert_int_eq(dropipc_parent_get_child_error(p, &stage, &err, &msg), 0);
	ck_assert_int_eq(stage, DROPIPC_STAGE_JAIL);
	ck_assert_int_eq(err, EPERM);
	ck_assert_str_eq(msg, "");
	ck_assert_str_eq(dropipc_conn_get_errmsg(dropipc_parent_conn(p)), "wait exec: child setup failed at jail: ");
	dropipc_child_free(c);
	dropipc_parent_free(p);
}
END_TEST

/* A peer that closes without reading what was sent to it: the kernel says
 * ECONNRESET, the library says end of stream, as for any peer that closed. */
START_TEST(eof_with_data_unread)
{
	dropipc_parent *p;
	dropipc_child *c;
	int fd;

	ck_assert_int_eq(unit_pair(&p, &c), 0);
	ck_assert_int_eq(dropipc_parent_send_args(p, test_example_args()), 0);
	dropipc_child_free(c);
	ck_assert_int_eq(dropipc_parent_recv_pty(p, &fd), DROPIPC_ERR_EOF);
	ck_assert_str_eq(dropipc_conn_get_errmsg(dropipc_parent_conn(p)), "recv pty: peer closed the connection");
	dropipc_parent_free(p);
}
END_TEST

START_TEST(echild_long_text)
{
	static const struct {
		size_t at;
		const char *ch;
		size_t len;
	} cuts[] = {
		{ 4095, "\xc3\xa9", 4095 },         /* é, 2 bytes */
		{ 4094, "\xc3\xa9", 4096 },
		{ 4094, "\xe2\x82\xac", 4094 },     /* €, 3 bytes */
		{ 4095, "\xe2\x82\xac", 4095 },
		{ 4093, "\xf0\x9f\x98\x80", 4093 }, /* U+1F600, 4 bytes */
		{ 4092, "\xf0\x9f\x98\x80", 4096 },
	};
	dropipc_parent *p;
	dropipc_child *c;
	const char *msg;
	char text[5000];
	int fd, err;

	memset(text, 'x', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	ck_assert_int_eq(unit_pair(&p, &c), 0);
	ck_assert_int_eq(dropipc_child_send_error(c, DROPIPC_STAGE_PTY, EIO, "%s", text), 0);
	ck_assert_int_eq(dropipc_parent_recv_pty(p, &fd), DROPIPC_ERR_CHILD);
	ck_assert_int_eq(dropipc_parent_get_child_error(p, NULL, &err, &msg), 0);
	ck_assert_uint_eq(strlen(msg), 4096);
	ck_assert_int_eq(err, EIO);

	/* A character straddling the cut goes whole; one that ends at it stays. */
	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		memset(text, 'x', sizeof(text) - 1);
		memcpy(text + cuts[i].at, cuts[i].ch, strlen(cuts[i].ch));
		ck_assert_int_eq(dropipc_child_send_error(c, DROPIPC_STAGE_PTY, EIO, "%s", text), 0);
		ck_assert_int_eq(dropipc_parent_recv_pty(p, &fd), DROPIPC_ERR_CHILD);
		ck_assert_int_eq(dropipc_parent_get_child_error(p, NULL, NULL, &msg), 0);
		ck_assert_uint_eq(strlen(msg), cuts[i].len);
	}
	dropipc_child_free(c);
	dropipc_parent_free(p);
}
END_TEST

/* A report where files were expected is a child failure too (and frees what it decoded). */
START_TEST(echild_instead_of_files)
{
	dropipc_parent *p;
	dropipc_child *c;
	dropipc_file *fl = (dropipc_file *)1;
	size_t n = 9;

	ck_assert_int_eq(unit_pair(&p, &c), 0);
	ck_assert_int_eq(dropipc_child_send_error(c, DROPIPC_STAGE_ARGS, EINVAL, "bad args"), 0);
	ck_assert_int_eq(dropipc_conn_recv_files(dropipc_parent_conn(p), &fl, &n), DROPIPC_ERR_CHILD);
	ck_assert_ptr_null(fl);
	ck_assert_uint_eq(n, 0);
	ck_assert_str_eq(dropipc_conn_get_errmsg(dropipc_parent_conn(p)), "recv files: child setup failed at args: bad args");
	dropipc_child_free(c);
	dropipc_parent_free(p);
}
END_TEST

/* ---- system errors ---------------------------------------------------------------------- */

START_TEST(epipe_without_sigpipe)
{
	dropipc_parent *p;
	dropipc_child *c;
	int m;

	/* The default action would kill the test: the library must not raise it. */
	signal(SIGPIPE, SIG_DFL);
	ck_assert_int_eq(unit_pair(&p, &c), 0);
	dropipc_child_free(c);
	ck_assert_int_eq(dropipc_parent_send_args(p, test_example_args()), -EPIPE);
	ck_assert_str_eq(dropipc_err_name(-EPIPE), "EPIPE");
	ck_assert_str_eq(dropipc_conn_get_errmsg(dropipc_parent_conn(p)), "send args: send: Broken pipe");
	/* Nothing of the frame went out: the end is not marked broken. */
	ck_assert_int_eq(dropipc_parent_send_args(p, test_example_args()), -EPIPE);
	dropipc_parent_free(p);

	ck_assert_int_eq(unit_pair(&p, &c), 0);
	dropipc_parent_free(p);
	m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	ck_assert_int_ge(m, 0);
	ck_assert_int_eq(dropipc_child_send_pty(c, m), -EPIPE);
	ck_assert_str_eq(dropipc_conn_get_errmsg(dropipc_child_conn(c)), "send pty: send: Broken pipe");
	close(m);
	dropipc_child_free(c);
}
END_TEST

START_TEST(bad_arguments)
{
	dropipc_parent *p;
	dropipc_child *c;
	dropipc_file f[DROPIPC_MAX_FDS + 1];

	for (int i = 0; i <= DROPIPC_MAX_FDS; i++)
		f[i] = (dropipc_file){ "f", 0 };
	ck_assert_int_eq(unit_pair(&p, &c), 0);
	ck_assert_int_eq(dropipc_child_send_pty(c, -1), -EBADF);
	ck_assert_str_eq(dropipc_conn_get_errmsg(dropipc_child_conn(c)), "send pty: master fd -1");
	ck_assert_int_eq(dropipc_conn_send_files(dropipc_child_conn(c), f, 0), -EINVAL);
	ck_assert_int_eq(dropipc_conn_send_files(dropipc_child_conn(c), f, DROPIPC_MAX_FDS + 1), -EINVAL);
	ck_assert_str_eq(dropipc_conn_get_errmsg(dropipc_child_conn(c)), "send files: 17 files, not 1..16");
	f[1].name = "";
	ck_assert_int_eq(dropipc_conn_send_files(dropipc_parent_conn(p), f, 2), -EINVAL);
	ck_assert_str_eq(dropipc_conn_get_errmsg(dropipc_parent_conn(p)), "send files: files[1]: no name");
	f[1] = (dropipc_file){ "out", -1 };
	ck_assert_int_eq(dropipc_conn_send_files(dropipc_parent_conn(p), f, 2), -EBADF);
	ck_assert_str_eq(dropipc_conn_get_errmsg(dropipc_parent_conn(p)), "send files: files[1] (out): fd -1");
	ck_assert(!readable(dropipc_conn_get_fd(dropipc_child_conn(c))));
	ck_assert(!readable(dropipc_conn_get_fd(dropipc_parent_conn(p))));
	assert_pty_arrives(p, c);
	dropipc_child_free(c);
	dropipc_parent_free(p);
}
END_TEST

Suite *suite_errors(void)
{
	Suite *s = suite_create("errors");
	TCase *tc = unit_tcase(s, "stream");

	tcase_add_test(tc, eof_between_frames);
	tcase_add_test(tc, etrunc_in_header);
	tcase_add_test(tc, etrunc_in_payload);
	tcase_add_test(tc, eclosed_after_mid_frame_error);
	tcase_add_test(tc, eproto_bad_header);
	tcase_add_test(tc, eproto_bad_payload);
	tcase_add_test(tc, eproto_wrong_message);
	tc = unit_tcase(s, "limits");
	tcase_add_test(tc, etoobig_header);
	tcase_add_test(tc, etoobig_allocates_nothing);
	tcase_add_test(tc, etoobig_on_send);
	tcase_add_test(tc, etimedout_before_a_frame);
	tcase_add_test(tc, etimedout_on_send);
	tc = unit_tcase(s, "messages");
	tcase_add_test(tc, einval_validation);
	tcase_add_test(tc, einval_missing_submessages);
	tcase_add_test(tc, empty_exec_args_are_valid);
	tcase_add_test(tc, einval_nul_and_utf8);
	tcase_add_test(tc, eunsupported_body);
	tcase_add_test(tc, echild_report);
	tcase_add_test(tc, echild_long_text);
	tcase_add_test(tc, echild_text_repaired);
	tcase_add_test(tc, wait_exec_outcomes);
	tcase_add_test(tc, wait_exec_child_exits_after_pty);
	tcase_add_test(tc, report_without_text);
	tcase_add_test(tc, eof_with_data_unread);
	tcase_add_test(tc, echild_instead_of_files);
	tc = unit_tcase(s, "system");
	tcase_add_test(tc, epipe_without_sigpipe);
	tcase_add_test(tc, bad_arguments);
	return s;
}
