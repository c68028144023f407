/* SPDX-License-Identifier: Apache-2.0 OR MIT */
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

	ck_assert_int_eq(unit_pair(&p, &c), 0);
	ck_assert_int_eq(dropipc_parent_send_args(p, args), 0);
	ck_assert_int_eq(dropipc_child_recv_args(c, &got), 0);
	ck_assert_ptr_nonnull(got);
	dropipc_child_free(c);
	dropipc_parent_free(p);
	return got;
}

/* exec args of a: n of them, as want says, then NULL. */
static void assert_exec(const dropipc_args *a, const char *const *want, size_t n)
{
	size_t got_n = 99;
	char *const *argv = dropipc_args_get_list(a, DROPIPC_LIST_EXEC_ARGS, &got_n);

	ck_assert_ptr_nonnull(argv);
	ck_assert_uint_eq(got_n, n);
	for (size_t i = 0; i < n; i++)
		ck_assert_str_eq(argv[i], want[i]);
	ck_assert_ptr_null(argv[n]);
}


/* A new args: every field empty, every list empty and NULL-terminated. */
START_TEST(new_args_are_empty)
{
	static const dropipc_list lists[] = { DROPIPC_LIST_EXEC_ARGS, DROPIPC_LIST_BLOCKED_PATHS,
					      DROPIPC_LIST_ENVIRON_EXPOSED_VARS };
	const char *s = "untouched", *t = "untouched";
	dropipc_net_mode mode = (dropipc_net_mode)9;
	dropipc_pty_mode pty = (dropipc_pty_mode)9;
	uint32_t v[4] = { 1, 2, 3, 4 }, hp = 7;
	unsigned fl = 7;
	dropipc_args *a;
	size_t n = 9;

	ck_assert_int_eq(dropipc_args_new(&a), 0);
	ck_assert_str_eq(dropipc_args_get_env_id(a), "");
	ck_assert_str_eq(dropipc_args_get_path(a, DROPIPC_PATH_CWD), "");
	ck_assert_str_eq(dropipc_args_get_extends(a), "");
	for (size_t i = 0; i < 3; i++) {
		char *const *l = dropipc_args_get_list(a, lists[i], &n);

		ck_assert_ptr_nonnull(l);
		ck_assert_ptr_null(l[0]);
		ck_assert_uint_eq(n, 0);
	}
	ck_assert_int_eq(dropipc_args_get_mount(a, 0, &s, &t, &fl), -ERANGE);
	ck_assert_int_eq(dropipc_args_get_environ_set_var(a, 0, &s, &t), -ERANGE);
	ck_assert_int_eq(dropipc_args_get_net_published_port(a, DROPIPC_UDP, 0, &s, &hp, &hp, &fl),
			 -ERANGE);
	ck_assert_int_eq(dropipc_args_get_net_host_port(a, DROPIPC_TCP, 0, &hp, &hp, &fl), -ERANGE);
	ck_assert_str_eq(s, "untouched");
	ck_assert_uint_eq(fl, 7);
	ck_assert_int_eq(dropipc_args_get_net_mode(a, &mode), 0);
	ck_assert_int_eq(mode, DROPIPC_NET_MODE_UNSPECIFIED);
	ck_assert_int_eq(dropipc_args_get_pty(a, &pty), 0);
	ck_assert_int_eq(pty, DROPIPC_PTY_AUTO);
	ck_assert_int_eq(dropipc_args_get_term_size(a, &v[0], &v[1], &v[2], &v[3]), 0);
	ck_assert_uint_eq(v[0] | v[1] | v[2] | v[3], 0);
	dropipc_args_free(a);
}
END_TEST

/* Every accessor: set, read back, sent and received, read again. */
static void fill_everything(dropipc_args *a)
{
	static const char *const exec[] = { "sh", "-c", "", NULL };

	ck_assert_int_eq(dropipc_args_set_env_id(a, "env"), 0);
	for (int p = DROPIPC_PATH_CWD; p <= DROPIPC_PATH_EMPTY_FILE; p++) {
		char path[32];

		snprintf(path, sizeof(path), "/p%d", p);
		ck_assert_int_eq(dropipc_args_set_path(a, (dropipc_path)p, path), 0);
	}
	ck_assert_int_eq(dropipc_args_set_extends(a, "base"), 0);
	ck_assert_int_eq(dropipc_args_add_mount(a, "/s0", "/t0", DROPIPC_MOUNT_RW), 0);
	ck_assert_int_eq(dropipc_args_add_mount(a, "/s1", "/t1", DROPIPC_MOUNT_OVERLAY), 0);
	ck_assert_int_eq(dropipc_args_add_list(a, DROPIPC_LIST_BLOCKED_PATHS, "/b0"), 0);
	ck_assert_int_eq(dropipc_args_add_list(a, DROPIPC_LIST_BLOCKED_PATHS, "/b1"), 0);
	ck_assert_int_eq(dropipc_args_add_list(a, DROPIPC_LIST_ENVIRON_EXPOSED_VARS, "LC_*"), 0);
	ck_assert_int_eq(dropipc_args_add_environ_set_var(a, "A", "1"), 0);
	ck_assert_int_eq(dropipc_args_add_environ_set_var(a, "B", ""), 0);
	ck_assert_int_eq(dropipc_args_set_net_mode(a, DROPIPC_NET_MODE_ISOLATED), 0);
	ck_assert_int_eq(dropipc_args_add_net_published_port(a, DROPIPC_TCP, "127.0.0.1", 8080, 80, 0),
			 0);
	ck_assert_int_eq(dropipc_args_add_net_published_port(a, DROPIPC_TCP, "", 0, 0,
							     DROPIPC_PUBLISHED_PORT_AUTO),
			 0);
	ck_assert_int_eq(dropipc_args_add_net_published_port(a, DROPIPC_UDP, "::1", 5353, 53, 0), 0);
	ck_assert_int_eq(dropipc_args_add_net_host_port(a, DROPIPC_TCP, 5432, 15432, 0), 0);
	ck_assert_int_eq(dropipc_args_add_net_host_port(a, DROPIPC_UDP, 0, 0, DROPIPC_HOST_PORT_AUTO),
			 0);
	ck_assert_int_eq(dropipc_args_set_list(a, DROPIPC_LIST_EXEC_ARGS, exec), 0);
	ck_assert_int_eq(dropipc_args_set_pty(a, DROPIPC_PTY_ALWAYS), 0);
	ck_assert_int_eq(dropipc_args_set_term_size(a, 24, 80, 640, 480), 0);
}

static void assert_everything(const dropipc_args *a)
{
	static const char *const exec[] = { "sh", "-c", "" };
	const char *s, *t;
	dropipc_net_mode mode;
	dropipc_pty_mode pty;
	uint32_t hp, gp, ts[4];
	unsigned fl;
	size_t n;
	char *const *l;

	ck_assert_str_eq(dropipc_args_get_env_id(a), "env");
	ck_assert_str_eq(dropipc_args_get_path(a, DROPIPC_PATH_EMPTY_FILE), "/p12");
	ck_assert_str_eq(dropipc_args_get_extends(a), "base");
	ck_assert_int_eq(dropipc_args_get_mount(a, 1, &s, &t, &fl), 0);
	ck_assert_str_eq(s, "/s1");
	ck_assert_str_eq(t, "/t1");
	ck_assert_uint_eq(fl, DROPIPC_MOUNT_OVERLAY);
	ck_assert_int_eq(dropipc_args_get_mount(a, 2, &s, &t, &fl), -ERANGE);
	l = dropipc_args_get_list(a, DROPIPC_LIST_BLOCKED_PATHS, &n);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(l[1], "/b1");
	ck_assert_ptr_null(l[2]);
	l = dropipc_args_get_list(a, DROPIPC_LIST_ENVIRON_EXPOSED_VARS, &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(l[0], "LC_*");
	ck_assert_int_eq(dropipc_args_get_environ_set_var(a, 1, &s, &t), 0);
	ck_assert_str_eq(s, "B");
	ck_assert_str_eq(t, "");
	ck_assert_int_eq(dropipc_args_get_net_mode(a, &mode), 0);
	ck_assert_int_eq(mode, DROPIPC_NET_MODE_ISOLATED);
	ck_assert_int_eq(dropipc_args_get_net_published_port(a, DROPIPC_TCP, 1, &s, &hp, &gp, &fl), 0);
	ck_assert_str_eq(s, "");
	ck_assert_uint_eq(hp | gp, 0);
	ck_assert_uint_eq(fl, DROPIPC_PUBLISHED_PORT_AUTO);
	ck_assert_int_eq(dropipc_args_get_net_published_port(a, DROPIPC_UDP, 0, &s, &hp, &gp, &fl), 0);
	ck_assert_str_eq(s, "::1");
	ck_assert_uint_eq(hp, 5353);
	ck_assert_uint_eq(gp, 53);
	ck_assert_uint_eq(fl, 0);
	ck_assert_int_eq(dropipc_args_get_net_published_port(a, DROPIPC_UDP, 1, &s, &hp, &gp, &fl),
			 -ERANGE);
	ck_assert_int_eq(dropipc_args_get_net_host_port(a, DROPIPC_TCP, 0, &hp, &gp, &fl), 0);
	ck_assert_uint_eq(hp, 5432);
	ck_assert_uint_eq(gp, 15432);
	ck_assert_int_eq(dropipc_args_get_net_host_port(a, DROPIPC_UDP, 0, &hp, &gp, &fl), 0);
	ck_assert_uint_eq(fl, DROPIPC_HOST_PORT_AUTO);
	assert_exec(a, exec, 3);
	ck_assert_int_eq(dropipc_args_get_pty(a, &pty), 0);
	ck_assert_int_eq(pty, DROPIPC_PTY_ALWAYS);
	ck_assert_int_eq(dropipc_args_get_term_size(a, &ts[0], &ts[1], &ts[2], &ts[3]), 0);
	ck_assert_uint_eq(ts[0], 24);
	ck_assert_uint_eq(ts[1], 80);
	ck_assert_uint_eq(ts[2], 640);
	ck_assert_uint_eq(ts[3], 480);
}

START_TEST(every_field_round_trips)
{
	char err[256];
	dropipc_args *a, *got;

	ck_assert_int_eq(dropipc_args_new(&a), 0);
	fill_everything(a);
	ck_assert_int_eq(dropipc_args_validate(a, err, sizeof(err)), 0);
	assert_everything(a);
	got = through_pair(a);
	assert_everything(got);
	test_assert_args_equal(a, got);
	dropipc_args_free(got);
	dropipc_args_free(a);
}
END_TEST

/* Setters copy: the caller's buffer can change after the call. */
START_TEST(setters_copy_their_strings)
{
	char buf[16];
	const char *s, *t;
	unsigned fl;
	dropipc_args *a;
	const char *argv[] = { buf, NULL };

	ck_assert_int_eq(dropipc_args_new(&a), 0);
	strcpy(buf, "one");
	ck_assert_int_eq(dropipc_args_set_env_id(a, buf), 0);
	ck_assert_int_eq(dropipc_args_add_mount(a, buf, buf, 0), 0);
	ck_assert_int_eq(dropipc_args_set_list(a, DROPIPC_LIST_EXEC_ARGS, argv), 0);
	strcpy(buf, "two");
	ck_assert_str_eq(dropipc_args_get_env_id(a), "one");
	ck_assert_int_eq(dropipc_args_get_mount(a, 0, &s, &t, &fl), 0);
	ck_assert_str_eq(s, "one");
	assert_exec(a, (const char *const[]){ "one" }, 1);
	dropipc_args_free(a);
}
END_TEST

/* The NULL rule: a NULL args, string or out pointer is -EINVAL (NULL from
 * a pointer getter), never a crash. */
START_TEST(null_args_and_pointers)
{
	const char *s;
	uint32_t u;
	unsigned fl;
	size_t n;
	dropipc_net_mode mode;
	dropipc_pty_mode pty;
	dropipc_args *a;

	ck_assert_int_eq(dropipc_args_new(NULL), -EINVAL);
	ck_assert_int_eq(dropipc_args_validate(NULL, NULL, 0), -EINVAL);
	dropipc_args_free(NULL);
	ck_assert_int_eq(dropipc_args_set_env_id(NULL, "x"), -EINVAL);
	ck_assert_ptr_null(dropipc_args_get_env_id(NULL));
	ck_assert_ptr_null(dropipc_args_get_path(NULL, DROPIPC_PATH_CWD));
	ck_assert_ptr_null(dropipc_args_get_list(NULL, DROPIPC_LIST_EXEC_ARGS, &n));
	ck_assert_int_eq(dropipc_args_add_mount(NULL, "/a", "/b", 0), -EINVAL);
	ck_assert_int_eq(dropipc_args_get_mount(NULL, 0, &s, &s, &fl), -EINVAL);
	ck_assert_int_eq(dropipc_args_get_net_mode(NULL, &mode), -EINVAL);
	ck_assert_int_eq(dropipc_args_set_pty(NULL, DROPIPC_PTY_NEVER), -EINVAL);
	ck_assert_int_eq(dropipc_args_set_term_size(NULL, 1, 2, 3, 4), -EINVAL);
	ck_assert_int_eq(dropipc_args_set_list(NULL, DROPIPC_LIST_EXEC_ARGS, NULL), -EINVAL);

	ck_assert_int_eq(dropipc_args_new(&a), 0);
	ck_assert_int_eq(dropipc_args_set_env_id(a, NULL), -EINVAL);
	ck_assert_int_eq(dropipc_args_set_path(a, DROPIPC_PATH_CWD, NULL), -EINVAL);
	ck_assert_int_eq(dropipc_args_set_extends(a, NULL), -EINVAL);
	ck_assert_int_eq(dropipc_args_add_mount(a, "/a", NULL, 0), -EINVAL);
	ck_assert_int_eq(dropipc_args_add_environ_set_var(a, NULL, "v"), -EINVAL);
	ck_assert_int_eq(dropipc_args_add_net_published_port(a, DROPIPC_TCP, NULL, 1, 2, 0), -EINVAL);
	ck_assert_int_eq(dropipc_args_add_list(a, DROPIPC_LIST_BLOCKED_PATHS, NULL), -EINVAL);
	/* Refused adds leave nothing behind. */
	ck_assert_int_eq(dropipc_args_get_mount(a, 0, &s, &s, &fl), -ERANGE);
	ck_assert_int_eq(dropipc_args_get_net_published_port(a, DROPIPC_TCP, 0, &s, &u, &u, &fl),
			 -ERANGE);
	ck_assert_int_eq(dropipc_args_add_mount(a, "/a", "/b", 0), 0);
	ck_assert_int_eq(dropipc_args_get_mount(a, 0, NULL, &s, &fl), -EINVAL);
	ck_assert_int_eq(dropipc_args_get_mount(a, 0, &s, &s, NULL), -EINVAL);
	ck_assert_int_eq(dropipc_args_get_net_mode(a, NULL), -EINVAL);
	ck_assert_int_eq(dropipc_args_get_pty(a, NULL), -EINVAL);
	ck_assert_int_eq(dropipc_args_get_term_size(a, &u, &u, NULL, &u), -EINVAL);
	ck_assert_ptr_null(dropipc_args_get_list(a, DROPIPC_LIST_EXEC_ARGS, NULL));
	(void)pty;
	dropipc_args_free(a);
}
END_TEST

/* Values this version does not know: -EINVAL, or NULL. */
START_TEST(unknown_values_refused)
{
	const char *s = "untouched";
	uint32_t u;
	unsigned fl;
	size_t n;
	dropipc_args *a;

	ck_assert_int_eq(dropipc_args_new(&a), 0);
	ck_assert_int_eq(dropipc_args_set_path(a, (dropipc_path)0, "/x"), -EINVAL);
	ck_assert_int_eq(dropipc_args_set_path(a, (dropipc_path)13, "/x"), -EINVAL);
	ck_assert_ptr_null(dropipc_args_get_path(a, (dropipc_path)13));
	ck_assert_int_eq(dropipc_args_set_list(a, (dropipc_list)0x305, NULL), -EINVAL);
	ck_assert_int_eq(dropipc_args_add_list(a, (dropipc_list)1, "x"), -EINVAL);
	ck_assert_ptr_null(dropipc_args_get_list(a, (dropipc_list)0x3, &n));
	ck_assert_int_eq(dropipc_args_add_mount(a, "/a", "/b", 4), -EINVAL);
	ck_assert_int_eq(dropipc_args_add_net_host_port(a, DROPIPC_TCP, 1, 2, 2), -EINVAL);
	ck_assert_int_eq(dropipc_args_add_net_host_port(a, (dropipc_transport)2, 1, 2, 0), -EINVAL);
	ck_assert_int_eq(dropipc_args_get_net_published_port(a, (dropipc_transport)2, 0, &s, &u, &u,
							     &fl),
			 -EINVAL);
	ck_assert_int_eq(dropipc_args_set_net_mode(a, (dropipc_net_mode)4), -EINVAL);
	ck_assert_int_eq(dropipc_args_set_pty(a, (dropipc_pty_mode)3), -EINVAL);
	ck_assert_int_eq(dropipc_args_set_pty(a, (dropipc_pty_mode)-1), -EINVAL);
	ck_assert_str_eq(s, "untouched");
	dropipc_args_free(a);
}
END_TEST

/* A term size of all 0 is the same as none: the pty keeps its default. */
START_TEST(term_size_zero_is_absent)
{
	uint32_t v[4];
	dropipc_args *a = test_new_example_args(), *got;

	ck_assert_int_eq(dropipc_args_set_term_size(a, 50, 132, 0, 0), 0);
	ck_assert_int_eq(dropipc_args_set_term_size(a, 0, 0, 0, 0), 0);
	got = through_pair(a);
	ck_assert_ptr_null(dropipc__args_msg(got)->term_size);
	ck_assert_int_eq(dropipc_args_get_term_size(got, &v[0], &v[1], &v[2], &v[3]), 0);
	ck_assert_uint_eq(v[0] | v[1] | v[2] | v[3], 0);
	dropipc_args_free(got);
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
	ck_assert_int_eq(dropipc_args_set_list(a, DROPIPC_LIST_EXEC_ARGS, three), 0);
	assert_exec(a, three, 3);
	ck_assert_int_eq(dropipc_args_set_list(a, DROPIPC_LIST_EXEC_ARGS, one), 0);
	assert_exec(a, one, 1);
	ck_assert_int_eq(dropipc_args_add_list(a, DROPIPC_LIST_EXEC_ARGS, "y"), 0);
	assert_exec(a, x_y, 2);
	ck_assert_int_eq(dropipc_args_set_list(a, DROPIPC_LIST_EXEC_ARGS, NULL), 0);
	assert_exec(a, NULL, 0);
	ck_assert_int_eq(dropipc_args_set_list(a, DROPIPC_LIST_EXEC_ARGS, three), 0);
	ck_assert_int_eq(dropipc_args_set_list(a, DROPIPC_LIST_EXEC_ARGS, none), 0);
	assert_exec(a, NULL, 0);
	ck_assert_int_eq(dropipc_args_set_list(a, DROPIPC_LIST_EXEC_ARGS, three), 0);

	/* What goes on the wire is the last command, whole. */
	ck_assert_int_eq(dropipc_args_set_env_id(a, "e"), 0);
	ck_assert_int_eq(dropipc_args_set_net_mode(a, DROPIPC_NET_MODE_OFF), 0);
	got = through_pair(a);
	assert_exec(got, three, 3);
	dropipc_args_free(got);
	ck_assert_int_eq(dropipc_args_set_list(a, DROPIPC_LIST_EXEC_ARGS, one), 0);
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
		ck_assert_int_eq(dropipc_args_add_list(got, DROPIPC_LIST_EXEC_ARGS, names[i]), 0);
		assert_exec(got, want, i + 3);
	}
	ck_assert_int_eq(dropipc_args_set_env_id(got, "changed"), 0);
	ck_assert_int_eq(dropipc_args_add_mount(got, "/new", "/new", DROPIPC_MOUNT_RW), 0);
	ck_assert_int_eq(dropipc_args_add_net_published_port(got, DROPIPC_UDP, "::1", 1, 2, 0), 0);
	again = through_pair(got);
	test_assert_args_equal(got, again);
	ck_assert_str_eq(dropipc_args_get_env_id(again), "changed");
	assert_exec(again, want, 66);
	dropipc_args_free(again);
	dropipc_args_free(got);

	/* No exec args on the wire: still an array with its NULL. */
	ck_assert_int_eq(dropipc_args_new(&empty), 0);
	ck_assert_int_eq(dropipc_args_set_env_id(empty, "e"), 0);
	ck_assert_int_eq(dropipc_args_set_net_mode(empty, DROPIPC_NET_MODE_OFF), 0);
	got = through_pair(empty);
	assert_exec(got, NULL, 0);
	ck_assert_int_eq(dropipc_args_add_list(got, DROPIPC_LIST_EXEC_ARGS, "ls"), 0);
	assert_exec(got, ls_al, 1);
	dropipc_args_free(got);
	dropipc_args_free(empty);
}
END_TEST

/* OS strings are bytes: a Latin-1 directory, an argument $'A\xff' and a
 * value that is not UTF-8 go through as they are (issue 20). */
START_TEST(non_utf8_bytes)
{
	static const char *const cmd[] = { "printf", "%s", "A\xff", NULL };
	dropipc_args *a = test_new_example_args(), *got;
	char *const *argv;
	const char *name, *value;
	size_t n;

	ck_assert_int_eq(dropipc_args_set_path(a, DROPIPC_PATH_CWD, "/tmp/caf\xe9"), 0);
	ck_assert_int_eq(dropipc_args_set_list(a, DROPIPC_LIST_EXEC_ARGS, cmd), 0);
	ck_assert_int_eq(dropipc_args_add_environ_set_var(a, "L1", "\xe9t\xe9"), 0);
	ck_assert_int_eq(dropipc_args_add_list(a, DROPIPC_LIST_BLOCKED_PATHS, "/\x80\xfe"), 0);
	ck_assert_int_eq(dropipc_args_validate(a, NULL, 0), 0);
	got = through_pair(a);
	test_assert_args_equal(a, got);
	ck_assert_str_eq(dropipc_args_get_path(got, DROPIPC_PATH_CWD), "/tmp/caf\xe9");
	argv = dropipc_args_get_list(got, DROPIPC_LIST_EXEC_ARGS, &n);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(argv[2], "A\xff");
	ck_assert_ptr_null(argv[3]);
	ck_assert_int_eq(dropipc_args_get_environ_set_var(got, 1, &name, &value), 0);
	ck_assert_str_eq(value, "\xe9t\xe9");
	dropipc_args_free(got);
	dropipc_args_free(a);
}
END_TEST

/* Literals and const strings go in as they are (no cast), the command
 * as a compound literal. */
START_TEST(string_literals)
{
	const char *const cwd = "/literal";
	dropipc_args *a, *got;
	dropipc_net_mode mode;
	size_t n;

	ck_assert_int_eq(dropipc_args_new(&a), 0);
	ck_assert_int_eq(dropipc_args_set_env_id(a, "lit"), 0);
	ck_assert_int_eq(dropipc_args_set_path(a, DROPIPC_PATH_CWD, cwd), 0);
	ck_assert_int_eq(dropipc_args_set_net_mode(a, DROPIPC_NET_MODE_UNJAILED), 0);
	ck_assert_int_eq(dropipc_args_add_environ_set_var(a, "K", "V"), 0);
	ck_assert_int_eq(dropipc_args_set_list(a, DROPIPC_LIST_EXEC_ARGS,
					       (const char *const[]){ "echo", "hi", NULL }),
			 0);
	got = through_pair(a);
	ck_assert_str_eq(dropipc_args_get_env_id(got), "lit");
	ck_assert_str_eq(dropipc_args_get_path(got, DROPIPC_PATH_CWD), cwd);
	ck_assert_int_eq(dropipc_args_get_net_mode(got, &mode), 0);
	ck_assert_int_eq(mode, DROPIPC_NET_MODE_UNJAILED);
	ck_assert_str_eq(dropipc_args_get_list(got, DROPIPC_LIST_EXEC_ARGS, &n)[1], "hi");
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
	ck_assert_int_eq(dropipc_args_set_list(a, DROPIPC_LIST_EXEC_ARGS, argv), 0);
	ck_assert_int_eq(dropipc_args_set_list(a, DROPIPC_LIST_EXEC_ARGS,
					       (const char *const *)dropipc_args_get_list(
						       a, DROPIPC_LIST_EXEC_ARGS, &n)),
			 0);
	got = dropipc_args_get_list(a, DROPIPC_LIST_EXEC_ARGS, &n);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(got[0], "ls");
	ck_assert_str_eq(got[1], "-al");
	ck_assert_str_eq(got[2], "/tmp");
	ck_assert_ptr_null(got[3]);
	ck_assert_int_eq(dropipc_args_add_list(a, DROPIPC_LIST_EXEC_ARGS, "x"), 0);
	got = dropipc_args_get_list(a, DROPIPC_LIST_EXEC_ARGS, &n);
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

	ck_assert_int_eq(dropipc_args_add_list(a, DROPIPC_LIST_ENVIRON_EXPOSED_VARS, "LC_*"), 0);
	ck_assert_int_eq(dropipc_args_add_list(a, DROPIPC_LIST_ENVIRON_EXPOSED_VARS, "A=[bc]"), 0);
	ck_assert_int_eq(dropipc_args_validate(a, err, sizeof(err)), 0);
	ck_assert_int_eq(dropipc_args_add_list(a, DROPIPC_LIST_ENVIRON_EXPOSED_VARS, ""), 0);
	ck_assert_int_eq(dropipc_args_validate(a, err, sizeof(err)), DROPIPC_ERR_INVALID);
	ck_assert_msg(strstr(err, "config.environ.exposed_vars[") && strstr(err, "]: empty"), "%s",
		      err);
	dropipc_args_free(a);

	a = test_new_example_args();
	ck_assert_int_eq(dropipc_args_add_environ_set_var(a, "A=B", "x"), 0);
	ck_assert_int_eq(dropipc_args_validate(a, err, sizeof(err)), DROPIPC_ERR_INVALID);
	ck_assert_msg(strstr(err, "name: '=' at byte 1"), "%s", err);
	dropipc_args_free(a);
}
END_TEST

static size_t n_mounts(const dropipc_args *a)
{
	const char *source, *target;
	unsigned flags;
	size_t n = 0;

	while (dropipc_args_get_mount(a, n, &source, &target, &flags) == 0)
		n++;
	return n;
}

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
		ck_assert_int_eq(dropipc_args_add_list(a, DROPIPC_LIST_BLOCKED_PATHS, good[i]), 0);
		ck_assert_msg(dropipc_args_validate(a, err, sizeof(err)) == 0, "%s: %s", good[i], err);
		dropipc_args_free(a);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		dropipc_args *a = test_new_example_args();
		size_t m = n_mounts(a), b;

		dropipc_args_get_list(a, DROPIPC_LIST_BLOCKED_PATHS, &b);

		ck_assert_int_eq(dropipc_args_add_mount(a, "/s", bad[i], 0), 0);
		ck_assert_int_eq(dropipc_args_validate(a, err, sizeof(err)), DROPIPC_ERR_INVALID);
		snprintf(want, sizeof(want), "config.mounts[%zu].target: path is not normalized: %s",
			 m, bad[i]);
		ck_assert_str_eq(err, want);
		dropipc_args_free(a);

		a = test_new_example_args();
		ck_assert_int_eq(dropipc_args_add_mount(a, bad[i], "/t", 0), 0);
		ck_assert_int_eq(dropipc_args_validate(a, err, sizeof(err)), DROPIPC_ERR_INVALID);
		snprintf(want, sizeof(want), "config.mounts[%zu].source: path is not normalized: %s",
			 m, bad[i]);
		ck_assert_str_eq(err, want);
		dropipc_args_free(a);

		a = test_new_example_args();
		ck_assert_int_eq(dropipc_args_add_list(a, DROPIPC_LIST_BLOCKED_PATHS, bad[i]), 0);
		ck_assert_int_eq(dropipc_args_validate(a, err, sizeof(err)), DROPIPC_ERR_INVALID);
		snprintf(want, sizeof(want), "config.blocked_paths[%zu]: path is not normalized: %s",
			 b, bad[i]);
		ck_assert_str_eq(err, want);
		dropipc_args_free(a);
	}
	for (size_t i = 0; i < sizeof(unrooted) / sizeof(unrooted[0]); i++) {
		dropipc_args *a = test_new_example_args();
		size_t b;

		dropipc_args_get_list(a, DROPIPC_LIST_BLOCKED_PATHS, &b);
		ck_assert_int_eq(dropipc_args_add_list(a, DROPIPC_LIST_BLOCKED_PATHS, unrooted[i]), 0);
		ck_assert_int_eq(dropipc_args_validate(a, err, sizeof(err)), DROPIPC_ERR_INVALID);
		snprintf(want, sizeof(want), "config.blocked_paths[%zu]: path must start with / or ~/: %s",
			 b, unrooted[i]);
		ck_assert_str_eq(err, want);
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
	tcase_add_test(tc, null_args_and_pointers);
	tcase_add_test(tc, unknown_values_refused);
	tcase_add_test(tc, term_size_zero_is_absent);
	tcase_add_test(tc, paths_normalized);
	tc = unit_tcase(s, "exec_args");
	tcase_add_test(tc, set_exec_args_replaces);
	tcase_add_test(tc, set_exec_args_from_its_own);
	tcase_add_test(tc, exposed_vars_are_patterns);
	tcase_add_test(tc, received_exec_args_null_terminated);
	tcase_add_test(tc, non_utf8_bytes);
	return s;
}
