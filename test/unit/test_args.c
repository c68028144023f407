/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The args API: every setter and getter, through a real send and receive;
 * the arguments they refuse; exec args ready for execvp.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "unit.h"

/* Sends args over a fresh pair and returns what the child received. */
static dropipc_args *through_pair(const dropipc_args *args)
{
	dropipc_parent *p;
	dropipc_child *c;
	dropipc_args *got = (dropipc_args *)1;

	ck_assert_int_eq(dropipc_pair(&p, &c), 0);
	ck_assert_int_eq(dropipc_parent_send_args(p, args), 0);
	ck_assert_int_eq(dropipc_child_recv_args(c, &got), 0);
	ck_assert_ptr_nonnull(got);
	dropipc_child_close(c);
	dropipc_parent_close(p);
	return got;
}

/* exec args of a: n of them, as want says, then NULL. */
static void assert_exec(const dropipc_args *a, const char *const *want, size_t n)
{
	size_t got_n = 99;
	char *const *argv = dropipc_args_exec_args(a, &got_n);

	ck_assert_ptr_nonnull(argv);
	ck_assert_uint_eq(got_n, n);
	for (size_t i = 0; i < n; i++)
		ck_assert_str_eq(argv[i], want[i]);
	ck_assert_ptr_null(argv[n]);
	/* n is optional. */
	ck_assert_ptr_eq(dropipc_args_exec_args(a, NULL), argv);
}

START_TEST(new_args_are_empty)
{
	dropipc_args *a = (dropipc_args *)1;
	char err[128];

	ck_assert_int_eq(dropipc_args_new(&a), 0);
	ck_assert_ptr_nonnull(a);
	ck_assert_str_eq(dropipc_args_env_id(a), "");
	for (int p = DROPIPC_PATH_CWD; p <= DROPIPC_PATH_EMPTY_FILE; p++)
		ck_assert_str_eq(dropipc_args_path(a, (dropipc_path)p), "");
	ck_assert_str_eq(dropipc_args_extends(a), "");
	ck_assert_uint_eq(dropipc_args_n_mounts(a), 0);
	ck_assert_uint_eq(dropipc_args_n_blocked_paths(a), 0);
	ck_assert_uint_eq(dropipc_args_n_exposed_vars(a), 0);
	ck_assert_uint_eq(dropipc_args_n_set_vars(a), 0);
	ck_assert_int_eq(dropipc_args_net_mode(a), DROPIPC_NET_UNSPECIFIED);
	ck_assert_uint_eq(dropipc_args_n_published_ports(a, DROPIPC_TCP), 0);
	ck_assert_uint_eq(dropipc_args_n_published_ports(a, DROPIPC_UDP), 0);
	ck_assert_uint_eq(dropipc_args_n_host_ports(a, DROPIPC_TCP), 0);
	ck_assert_uint_eq(dropipc_args_n_host_ports(a, DROPIPC_UDP), 0);
	assert_exec(a, NULL, 0);
	/* Empty is not valid: the first field that is wrong is named. */
	ck_assert_int_eq(dropipc_args_validate(a, err, sizeof(err)), DROPIPC_EINVAL);
	ck_assert_str_eq(err, "env_id: empty");
	ck_assert_int_eq(dropipc_args_set_env_id(a, "e"), 0);
	ck_assert_int_eq(dropipc_args_validate(a, err, sizeof(err)), DROPIPC_EINVAL);
	ck_assert_str_eq(err, "config.net.mode: 0 is not a known mode");
	ck_assert_int_eq(dropipc_args_set_net_mode(a, DROPIPC_NET_OFF), 0);
	ck_assert_int_eq(dropipc_args_validate(a, err, sizeof(err)), 0);
	dropipc_args_free(a);
	dropipc_args_free(NULL);
}
END_TEST

/* Sets every field with a distinct value (string literals passed as they
 * are), sends, and reads each one back on both sides. */
static void set_everything(dropipc_args *a)
{
	static const char *const paths[] = {
		NULL,	 "/p/cwd", "/p/drop", "/p/env", "/p/root", "/home/u", "/p/home",
		"/p/etc", "/p/var", "/p/tmp", "/p/run",	 "/p/edir", "/p/efile",
	};

	ck_assert_int_eq(dropipc_args_set_env_id(a, "env-1"), 0);
	for (int p = DROPIPC_PATH_CWD; p <= DROPIPC_PATH_EMPTY_FILE; p++)
		ck_assert_int_eq(dropipc_args_set_path(a, (dropipc_path)p, paths[p]), 0);
	ck_assert_int_eq(dropipc_args_set_extends(a, "base"), 0);
	ck_assert_int_eq(dropipc_args_add_mount(a, "/s0", "/t0", 0), 0);
	ck_assert_int_eq(dropipc_args_add_mount(a, "/s1", "/t1", DROPIPC_MOUNT_RW), 0);
	ck_assert_int_eq(dropipc_args_add_mount(a, "/s2", "/t2", DROPIPC_MOUNT_OVERLAY), 0);
	ck_assert_int_eq(dropipc_args_add_mount(a, "/s3", "/t3",
						DROPIPC_MOUNT_RW | DROPIPC_MOUNT_OVERLAY),
			 0);
	ck_assert_int_eq(dropipc_args_add_blocked_path(a, "/b0"), 0);
	ck_assert_int_eq(dropipc_args_add_blocked_path(a, "/b1"), 0);
	ck_assert_int_eq(dropipc_args_add_exposed_var(a, "LC_*"), 0);
	ck_assert_int_eq(dropipc_args_add_exposed_var(a, "TERM"), 0);
	ck_assert_int_eq(dropipc_args_add_set_var(a, "A", "1"), 0);
	ck_assert_int_eq(dropipc_args_add_set_var(a, "B", ""), 0);
	ck_assert_int_eq(dropipc_args_add_set_var(a, "PATH", "$PATH:/x"), 0);
	ck_assert_int_eq(dropipc_args_set_net_mode(a, DROPIPC_NET_ISOLATED), 0);
	ck_assert_int_eq(dropipc_args_add_published_port(a, DROPIPC_TCP, 0, "127.0.0.1", 8080, 80),
			 0);
	ck_assert_int_eq(dropipc_args_add_published_port(a, DROPIPC_TCP, DROPIPC_PORT_AUTO, NULL, 0,
							 3000),
			 0);
	ck_assert_int_eq(dropipc_args_add_published_port(a, DROPIPC_UDP, 0, "::1", 5353, 53), 0);
	ck_assert_int_eq(dropipc_args_add_host_port(a, DROPIPC_TCP, 0, 5432, 15432), 0);
	ck_assert_int_eq(dropipc_args_add_host_port(a, DROPIPC_UDP, 0, 514, 1514), 0);
	ck_assert_int_eq(dropipc_args_add_host_port(a, DROPIPC_UDP, DROPIPC_PORT_AUTO, 123, 0), 0);
	ck_assert_int_eq(dropipc_args_add_exec_arg(a, "sh"), 0);
	ck_assert_int_eq(dropipc_args_add_exec_arg(a, "-c"), 0);
	ck_assert_int_eq(dropipc_args_add_exec_arg(a, ""), 0);
}

static void assert_everything(const dropipc_args *a)
{
	static const char *const paths[] = {
		NULL,	 "/p/cwd", "/p/drop", "/p/env", "/p/root", "/home/u", "/p/home",
		"/p/etc", "/p/var", "/p/tmp", "/p/run",	 "/p/edir", "/p/efile",
	};
	static const char *const exec[] = { "sh", "-c", "" };
	const char *s, *t, *ip;
	unsigned int flags, hp, gp;

	ck_assert_str_eq(dropipc_args_env_id(a), "env-1");
	for (int p = DROPIPC_PATH_CWD; p <= DROPIPC_PATH_EMPTY_FILE; p++)
		ck_assert_str_eq(dropipc_args_path(a, (dropipc_path)p), paths[p]);
	ck_assert_str_eq(dropipc_args_extends(a), "base");

	ck_assert_uint_eq(dropipc_args_n_mounts(a), 4);
	for (unsigned i = 0; i < 4; i++) {
		char ws[8], wt[8];

		snprintf(ws, sizeof(ws), "/s%u", i);
		snprintf(wt, sizeof(wt), "/t%u", i);
		ck_assert_int_eq(dropipc_args_mount(a, i, &s, &t, &flags), 0);
		ck_assert_str_eq(s, ws);
		ck_assert_str_eq(t, wt);
		/* 0, RW, OVERLAY, both: i's two bits. */
		ck_assert_uint_eq(flags, i);
	}
	/* Any out pointer may be NULL. */
	ck_assert_int_eq(dropipc_args_mount(a, 3, NULL, NULL, NULL), 0);

	ck_assert_uint_eq(dropipc_args_n_blocked_paths(a), 2);
	ck_assert_str_eq(dropipc_args_blocked_path(a, 0), "/b0");
	ck_assert_str_eq(dropipc_args_blocked_path(a, 1), "/b1");
	ck_assert_uint_eq(dropipc_args_n_exposed_vars(a), 2);
	ck_assert_str_eq(dropipc_args_exposed_var(a, 0), "LC_*");
	ck_assert_str_eq(dropipc_args_exposed_var(a, 1), "TERM");
	ck_assert_uint_eq(dropipc_args_n_set_vars(a), 3);
	ck_assert_int_eq(dropipc_args_set_var(a, 0, &s, &t), 0);
	ck_assert_str_eq(s, "A");
	ck_assert_str_eq(t, "1");
	ck_assert_int_eq(dropipc_args_set_var(a, 1, &s, &t), 0);
	ck_assert_str_eq(s, "B");
	ck_assert_str_eq(t, "");
	ck_assert_int_eq(dropipc_args_set_var(a, 2, NULL, &t), 0);
	ck_assert_str_eq(t, "$PATH:/x");

	ck_assert_int_eq(dropipc_args_net_mode(a), DROPIPC_NET_ISOLATED);
	ck_assert_uint_eq(dropipc_args_n_published_ports(a, DROPIPC_TCP), 2);
	ck_assert_uint_eq(dropipc_args_n_published_ports(a, DROPIPC_UDP), 1);
	ck_assert_int_eq(dropipc_args_published_port(a, DROPIPC_TCP, 0, &flags, &ip, &hp, &gp), 0);
	ck_assert_uint_eq(flags, 0);
	ck_assert_str_eq(ip, "127.0.0.1");
	ck_assert_uint_eq(hp, 8080);
	ck_assert_uint_eq(gp, 80);
	ck_assert_int_eq(dropipc_args_published_port(a, DROPIPC_TCP, 1, &flags, &ip, &hp, &gp), 0);
	ck_assert_uint_eq(flags, DROPIPC_PORT_AUTO);
	ck_assert_str_eq(ip, "");
	ck_assert_uint_eq(hp, 0);
	ck_assert_uint_eq(gp, 3000);
	ck_assert_int_eq(dropipc_args_published_port(a, DROPIPC_UDP, 0, &flags, &ip, &hp, &gp), 0);
	ck_assert_uint_eq(flags, 0);
	ck_assert_str_eq(ip, "::1");
	ck_assert_uint_eq(hp, 5353);
	ck_assert_uint_eq(gp, 53);
	ck_assert_int_eq(dropipc_args_published_port(a, DROPIPC_UDP, 0, NULL, NULL, NULL, NULL), 0);

	ck_assert_uint_eq(dropipc_args_n_host_ports(a, DROPIPC_TCP), 1);
	ck_assert_uint_eq(dropipc_args_n_host_ports(a, DROPIPC_UDP), 2);
	ck_assert_int_eq(dropipc_args_host_port(a, DROPIPC_TCP, 0, &flags, &hp, &gp), 0);
	ck_assert_uint_eq(flags, 0);
	ck_assert_uint_eq(hp, 5432);
	ck_assert_uint_eq(gp, 15432);
	ck_assert_int_eq(dropipc_args_host_port(a, DROPIPC_UDP, 0, &flags, &hp, &gp), 0);
	ck_assert_uint_eq(flags, 0);
	ck_assert_uint_eq(hp, 514);
	ck_assert_uint_eq(gp, 1514);
	ck_assert_int_eq(dropipc_args_host_port(a, DROPIPC_UDP, 1, &flags, &hp, &gp), 0);
	ck_assert_uint_eq(flags, DROPIPC_PORT_AUTO);
	ck_assert_uint_eq(hp, 123);
	ck_assert_uint_eq(gp, 0);
	ck_assert_int_eq(dropipc_args_host_port(a, DROPIPC_UDP, 1, NULL, NULL, NULL), 0);

	assert_exec(a, exec, 3);
}

START_TEST(every_field_round_trips)
{
	dropipc_args *a, *got;
	char err[128];

	ck_assert_int_eq(dropipc_args_new(&a), 0);
	set_everything(a);
	ck_assert_int_eq(dropipc_args_validate(a, err, sizeof(err)), 0);
	assert_everything(a);
	got = through_pair(a);
	assert_everything(got);
	test_assert_args_equal(a, got);
	/* Sending did not change the sender's args. */
	assert_everything(a);
	dropipc_args_free(got);
	dropipc_args_free(a);
}
END_TEST

/* Setters copy: the caller's buffers may change or go right after. */
START_TEST(setters_copy_their_strings)
{
	dropipc_args *a, *got;
	char buf[16];
	const char *argv[] = { buf, NULL };

	ck_assert_int_eq(dropipc_args_new(&a), 0);
	strcpy(buf, "env-1");
	ck_assert_int_eq(dropipc_args_set_env_id(a, buf), 0);
	strcpy(buf, "/p");
	ck_assert_int_eq(dropipc_args_set_path(a, DROPIPC_PATH_CWD, buf), 0);
	ck_assert_int_eq(dropipc_args_add_blocked_path(a, buf), 0);
	strcpy(buf, "cmd");
	ck_assert_int_eq(dropipc_args_set_exec_args(a, argv), 0);
	strcpy(buf, "overwritten");
	ck_assert_int_eq(dropipc_args_set_net_mode(a, DROPIPC_NET_OFF), 0);
	got = through_pair(a);
	ck_assert_str_eq(dropipc_args_env_id(got), "env-1");
	ck_assert_str_eq(dropipc_args_path(got, DROPIPC_PATH_CWD), "/p");
	ck_assert_str_eq(dropipc_args_blocked_path(got, 0), "/p");
	ck_assert_str_eq(dropipc_args_exec_args(got, NULL)[0], "cmd");
	ck_assert_str_eq(dropipc_args_exec_args(a, NULL)[0], "cmd");
	dropipc_args_free(got);
	dropipc_args_free(a);
}
END_TEST

/* A NULL string is refused with -EINVAL, and nothing is added. */
START_TEST(null_strings_are_einval)
{
	dropipc_args *a = test_new_example_args();
	size_t n;

	ck_assert_int_eq(dropipc_args_set_env_id(a, NULL), -EINVAL);
	ck_assert_str_eq(dropipc_args_env_id(a), "test-env");
	ck_assert_int_eq(dropipc_args_set_path(a, DROPIPC_PATH_FS_ROOT, NULL), -EINVAL);
	ck_assert_str_eq(dropipc_args_path(a, DROPIPC_PATH_FS_ROOT),
			 "/home/alice/.local/share/drop/internal/run/test-env/root");
	ck_assert_int_eq(dropipc_args_set_extends(a, NULL), -EINVAL);
	ck_assert_str_eq(dropipc_args_extends(a), "base");
	ck_assert_int_eq(dropipc_args_add_mount(a, NULL, "/t", 0), -EINVAL);
	ck_assert_int_eq(dropipc_args_add_mount(a, "/s", NULL, 0), -EINVAL);
	ck_assert_uint_eq(dropipc_args_n_mounts(a), 2);
	ck_assert_int_eq(dropipc_args_add_blocked_path(a, NULL), -EINVAL);
	ck_assert_uint_eq(dropipc_args_n_blocked_paths(a), 2);
	ck_assert_int_eq(dropipc_args_add_exposed_var(a, NULL), -EINVAL);
	ck_assert_uint_eq(dropipc_args_n_exposed_vars(a), 3);
	ck_assert_int_eq(dropipc_args_add_set_var(a, NULL, "v"), -EINVAL);
	ck_assert_int_eq(dropipc_args_add_set_var(a, "N", NULL), -EINVAL);
	ck_assert_uint_eq(dropipc_args_n_set_vars(a), 1);
	ck_assert_int_eq(dropipc_args_add_exec_arg(a, NULL), -EINVAL);
	dropipc_args_exec_args(a, &n);
	ck_assert_uint_eq(n, 2);
	/* host_ip NULL is allowed: the launcher's default, "". */
	ck_assert_int_eq(dropipc_args_add_published_port(a, DROPIPC_UDP, 0, NULL, 1, 2), 0);
	ck_assert_int_eq(dropipc_args_published_port(a, DROPIPC_UDP, 0, NULL, &(const char *){ NULL },
						     NULL, NULL),
			 0);
	/* A transport that does not exist. */
	ck_assert_int_eq(dropipc_args_add_published_port(a, (dropipc_transport)7, 0, NULL, 1, 2),
			 -EINVAL);
	ck_assert_int_eq(dropipc_args_add_host_port(a, (dropipc_transport)7, 0, 1, 2), -EINVAL);
	ck_assert_uint_eq(dropipc_args_n_published_ports(a, (dropipc_transport)7), 0);
	ck_assert_uint_eq(dropipc_args_n_host_ports(a, (dropipc_transport)7), 0);
	ck_assert_int_eq(dropipc_args_validate(a, NULL, 0), 0);
	dropipc_args_free(a);
}
END_TEST

/* Past the end: -ERANGE for the getters with out pointers, NULL for the others. */
START_TEST(out_of_range_getters)
{
	dropipc_args *got = through_pair(test_example_args());
	const dropipc_args *ex = test_example_args();
	const char *s = "untouched";

	for (int k = 0; k < 2; k++) {
		const dropipc_args *a = k ? got : ex;

		ck_assert_int_eq(dropipc_args_mount(a, 2, &s, NULL, NULL), -ERANGE);
		ck_assert_int_eq(dropipc_args_mount(a, (size_t)-1, NULL, NULL, NULL), -ERANGE);
		ck_assert_ptr_null(dropipc_args_blocked_path(a, 2));
		ck_assert_ptr_null(dropipc_args_blocked_path(a, (size_t)-1));
		ck_assert_ptr_null(dropipc_args_exposed_var(a, 3));
		ck_assert_int_eq(dropipc_args_set_var(a, 1, &s, &s), -ERANGE);
		ck_assert_int_eq(dropipc_args_published_port(a, DROPIPC_TCP, 2, NULL, NULL, NULL, NULL),
				 -ERANGE);
		ck_assert_int_eq(dropipc_args_published_port(a, DROPIPC_UDP, 0, NULL, NULL, NULL, NULL),
				 -ERANGE);
		ck_assert_int_eq(dropipc_args_host_port(a, DROPIPC_TCP, 0, NULL, NULL, NULL), -ERANGE);
		ck_assert_int_eq(dropipc_args_host_port(a, DROPIPC_UDP, 0, NULL, NULL, NULL), -ERANGE);
		ck_assert_str_eq(s, "untouched");
	}
	dropipc_args_free(got);
}
END_TEST

/* A dropipc_path this version does not know: NULL and -EINVAL. */
START_TEST(unknown_path)
{
	static const int bad[] = { 0, 13, 14, 100, -1 };
	dropipc_args *a = test_new_example_args();

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_ptr_null(dropipc_args_path(a, (dropipc_path)bad[i]));
		ck_assert_int_eq(dropipc_args_set_path(a, (dropipc_path)bad[i], "/x"), -EINVAL);
	}
	ck_assert_str_eq(dropipc_args_path(a, DROPIPC_PATH_EMPTY_FILE),
			 "/home/alice/.local/share/drop/internal/emptyfile");
	dropipc_args_free(a);
}
END_TEST

/* set_exec_args replaces the command; add_exec_arg appends. */
START_TEST(set_exec_args_replaces)
{
	static const char *const three[] = { "a", "b", "c", NULL };
	static const char *const one[] = { "x", NULL };
	static const char *const none[] = { NULL };
	static const char *const x_y[] = { "x", "y" };
	dropipc_args *a, *got;

	ck_assert_int_eq(dropipc_args_new(&a), 0);
	ck_assert_int_eq(dropipc_args_set_exec_args(a, three), 0);
	assert_exec(a, three, 3);
	ck_assert_int_eq(dropipc_args_set_exec_args(a, one), 0);
	assert_exec(a, one, 1);
	ck_assert_int_eq(dropipc_args_add_exec_arg(a, "y"), 0);
	assert_exec(a, x_y, 2);
	ck_assert_int_eq(dropipc_args_set_exec_args(a, NULL), 0);
	assert_exec(a, NULL, 0);
	ck_assert_int_eq(dropipc_args_set_exec_args(a, three), 0);
	ck_assert_int_eq(dropipc_args_set_exec_args(a, none), 0);
	assert_exec(a, NULL, 0);
	ck_assert_int_eq(dropipc_args_set_exec_args(a, three), 0);

	/* What goes on the wire is the last command, whole. */
	ck_assert_int_eq(dropipc_args_set_env_id(a, "e"), 0);
	ck_assert_int_eq(dropipc_args_set_net_mode(a, DROPIPC_NET_OFF), 0);
	got = through_pair(a);
	assert_exec(got, three, 3);
	dropipc_args_free(got);
	ck_assert_int_eq(dropipc_args_set_exec_args(a, one), 0);
	got = through_pair(a);
	assert_exec(got, one, 1);
	dropipc_args_free(got);
	dropipc_args_free(a);
}
END_TEST

/* Received exec args end with NULL, also after more are added, and a
 * received args can be changed and sent on. */
START_TEST(received_exec_args_null_terminated)
{
	static const char *const ls_al[] = { "ls", "-al" };
	const char *want[64 + 2] = { "ls", "-al" };
	char names[64][16];
	dropipc_args *got, *again, *empty;

	got = through_pair(test_example_args());
	assert_exec(got, ls_al, 2);
	/* Enough to grow the array the message came with, more than once. */
	for (size_t i = 0; i < 64; i++) {
		snprintf(names[i], sizeof(names[i]), "arg%zu", i);
		want[i + 2] = names[i];
		ck_assert_int_eq(dropipc_args_add_exec_arg(got, names[i]), 0);
		assert_exec(got, want, i + 3);
	}
	ck_assert_int_eq(dropipc_args_set_env_id(got, "changed"), 0);
	ck_assert_int_eq(dropipc_args_add_mount(got, "/new", "/new", DROPIPC_MOUNT_RW), 0);
	ck_assert_int_eq(dropipc_args_add_published_port(got, DROPIPC_UDP, 0, "::1", 1, 2), 0);
	again = through_pair(got);
	test_assert_args_equal(got, again);
	ck_assert_str_eq(dropipc_args_env_id(again), "changed");
	assert_exec(again, want, 66);
	dropipc_args_free(again);
	dropipc_args_free(got);

	/* No exec args on the wire: still an array with its NULL. */
	ck_assert_int_eq(dropipc_args_new(&empty), 0);
	ck_assert_int_eq(dropipc_args_set_env_id(empty, "e"), 0);
	ck_assert_int_eq(dropipc_args_set_net_mode(empty, DROPIPC_NET_OFF), 0);
	got = through_pair(empty);
	assert_exec(got, NULL, 0);
	ck_assert_int_eq(dropipc_args_add_exec_arg(got, "ls"), 0);
	assert_exec(got, ls_al, 1);
	dropipc_args_free(got);
	dropipc_args_free(empty);
}
END_TEST

/* Literals and const strings go in as they are (no cast), the command
 * as a compound literal. */
START_TEST(string_literals)
{
	const char *const cwd = "/literal";
	dropipc_args *a, *got;

	ck_assert_int_eq(dropipc_args_new(&a), 0);
	ck_assert_int_eq(dropipc_args_set_env_id(a, "lit"), 0);
	ck_assert_int_eq(dropipc_args_set_path(a, DROPIPC_PATH_CWD, cwd), 0);
	ck_assert_int_eq(dropipc_args_set_net_mode(a, DROPIPC_NET_UNJAILED), 0);
	ck_assert_int_eq(dropipc_args_add_set_var(a, "K", "V"), 0);
	ck_assert_int_eq(dropipc_args_set_exec_args(a, (const char *const[]){ "echo", "hi", NULL }),
			 0);
	got = through_pair(a);
	ck_assert_str_eq(dropipc_args_env_id(got), "lit");
	ck_assert_str_eq(dropipc_args_path(got, DROPIPC_PATH_CWD), cwd);
	ck_assert_int_eq(dropipc_args_net_mode(got), DROPIPC_NET_UNJAILED);
	ck_assert_str_eq(dropipc_args_exec_args(got, NULL)[1], "hi");
	dropipc_args_free(got);
	dropipc_args_free(a);
}
END_TEST

/* exec args set from the args' own array, and added to after. */
START_TEST(set_exec_args_from_its_own)
{
	static const char *const argv[] = { "ls", "-al", "/tmp", NULL };
	dropipc_args *a;
	char *const *got;
	size_t n;

	ck_assert_int_eq(dropipc_args_new(&a), 0);
	ck_assert_int_eq(dropipc_args_set_exec_args(a, argv), 0);
	ck_assert_int_eq(dropipc_args_set_exec_args(a, (const char *const *)dropipc_args_exec_args(a, NULL)), 0);
	got = dropipc_args_exec_args(a, &n);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(got[0], "ls");
	ck_assert_str_eq(got[1], "-al");
	ck_assert_str_eq(got[2], "/tmp");
	ck_assert_ptr_null(got[3]);
	ck_assert_int_eq(dropipc_args_add_exec_arg(a, "x"), 0);
	got = dropipc_args_exec_args(a, &n);
	ck_assert_uint_eq(n, 4);
	ck_assert_str_eq(got[3], "x");
	ck_assert_ptr_null(got[4]);
	dropipc_args_free(a);
}
END_TEST

/* exposed_vars are glob patterns, not names: '=' and '*' pass, and only an
 * empty one is refused, by its index; set_vars names may hold no '='. */
START_TEST(exposed_vars_are_patterns)
{
	char err[256];
	dropipc_args *a = test_new_example_args();

	ck_assert_int_eq(dropipc_args_add_exposed_var(a, "LC_*"), 0);
	ck_assert_int_eq(dropipc_args_add_exposed_var(a, "A=[bc]"), 0);
	ck_assert_int_eq(dropipc_args_validate(a, err, sizeof(err)), 0);
	ck_assert_int_eq(dropipc_args_add_exposed_var(a, ""), 0);
	ck_assert_int_eq(dropipc_args_validate(a, err, sizeof(err)), DROPIPC_EINVAL);
	ck_assert_msg(strstr(err, "config.environ.exposed_vars[") && strstr(err, "]: empty"), "%s",
		      err);
	dropipc_args_free(a);

	a = test_new_example_args();
	ck_assert_int_eq(dropipc_args_add_set_var(a, "A=B", "x"), 0);
	ck_assert_int_eq(dropipc_args_validate(a, err, sizeof(err)), DROPIPC_EINVAL);
	ck_assert_msg(strstr(err, "\"A=B\" contains '='"), "%s", err);
	dropipc_args_free(a);
}
END_TEST

/* Mount sources and targets and blocked paths: "~", or "/..." or "~/...",
 * normalized; a refusal names the field and the path (Drop's rule). */
START_TEST(paths_normalized)
{
	static const char *const good[] = { "/",    "~",	  "/etc",    "/usr/lib", "~/a/b",
					    "/a.b/..c/.d", "/a~b", "~/.config", "/..." };
	static const char *const bad[] = { "/etc/../usr", "/etc/./x", "/etc/", "//etc", "/a//b",
					   "~/a/",	  "~/..",     "~/.",   "/..",   "/.",
					   "~//a",	  "/a/b/..",  "~/" };
	static const char *const unrooted[] = { "etc", "./etc", "../x", "~x", "~user/a", "x/~" };
	char err[256], want[160];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		dropipc_args *a = test_new_example_args();

		ck_assert_int_eq(dropipc_args_add_mount(a, good[i], good[i], 0), 0);
		ck_assert_int_eq(dropipc_args_add_blocked_path(a, good[i]), 0);
		ck_assert_msg(dropipc_args_validate(a, err, sizeof(err)) == 0, "%s: %s", good[i], err);
		dropipc_args_free(a);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		dropipc_args *a = test_new_example_args();
		size_t m = dropipc_args_n_mounts(a), b = dropipc_args_n_blocked_paths(a);

		ck_assert_int_eq(dropipc_args_add_mount(a, "/s", bad[i], 0), 0);
		ck_assert_int_eq(dropipc_args_validate(a, err, sizeof(err)), DROPIPC_EINVAL);
		snprintf(want, sizeof(want), "config.mounts[%zu].target: path is not normalized: %s",
			 m, bad[i]);
		ck_assert_str_eq(err, want);
		dropipc_args_free(a);

		a = test_new_example_args();
		ck_assert_int_eq(dropipc_args_add_mount(a, bad[i], "/t", 0), 0);
		ck_assert_int_eq(dropipc_args_validate(a, err, sizeof(err)), DROPIPC_EINVAL);
		snprintf(want, sizeof(want), "config.mounts[%zu].source: path is not normalized: %s",
			 m, bad[i]);
		ck_assert_str_eq(err, want);
		dropipc_args_free(a);

		a = test_new_example_args();
		ck_assert_int_eq(dropipc_args_add_blocked_path(a, bad[i]), 0);
		ck_assert_int_eq(dropipc_args_validate(a, err, sizeof(err)), DROPIPC_EINVAL);
		snprintf(want, sizeof(want), "config.blocked_paths[%zu]: path is not normalized: %s",
			 b, bad[i]);
		ck_assert_str_eq(err, want);
		dropipc_args_free(a);
	}
	for (size_t i = 0; i < sizeof(unrooted) / sizeof(unrooted[0]); i++) {
		dropipc_args *a = test_new_example_args();

		ck_assert_int_eq(dropipc_args_add_blocked_path(a, unrooted[i]), 0);
		ck_assert_int_eq(dropipc_args_validate(a, err, sizeof(err)), DROPIPC_EINVAL);
		ck_assert_msg(strstr(err, "config.blocked_paths[") &&
				      strstr(err, "]: path ") && strstr(err, unrooted[i]),
			      "%s", err);
		dropipc_args_free(a);
	}
}
END_TEST

Suite *suite_args(void)
{
	Suite *s = suite_create("args");
	TCase *tc = unit_tcase(s, "setters_getters");

	tcase_add_test(tc, new_args_are_empty);
	tcase_add_test(tc, every_field_round_trips);
	tcase_add_test(tc, setters_copy_their_strings);
	tcase_add_test(tc, string_literals);
	tc = unit_tcase(s, "refused");
	tcase_add_test(tc, null_strings_are_einval);
	tcase_add_test(tc, out_of_range_getters);
	tcase_add_test(tc, unknown_path);
	tcase_add_test(tc, paths_normalized);
	tc = unit_tcase(s, "exec_args");
	tcase_add_test(tc, set_exec_args_replaces);
	tcase_add_test(tc, set_exec_args_from_its_own);
	tcase_add_test(tc, exposed_vars_are_patterns);
	tcase_add_test(tc, received_exec_args_null_terminated);
	return s;
}
