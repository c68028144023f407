/* SPDX-License-Identifier: Apache-2.0 OR MIT */
#define _GNU_SOURCE
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int test_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the directory's own fd */
}

int test_count_children(void)
{
	char path[64];
	int n = 0, c;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/children", (int)getpid());
	f = fopen(path, "re");
	ck_assert_ptr_nonnull(f);
	while ((c = fgetc(f)) != EOF)
		n += c == ' ';
	fclose(f);
	return n;
}

static int fds_before;

void test_fd_setup(void)
{
	fds_before = test_count_fds();
}

void test_fd_teardown(void)
{
	ck_assert_int_eq(test_count_fds(), fds_before);
}

#define P(name) "/home/alice/.local/share/drop/" name
#define OK(call) ck_assert_int_eq((call), 0)

/* Also outside a Check test (gen_corpus): no ck_assert here. */
#define SET(call) built((call), #call)

static void built(int r, const char *call)
{
	if (r != 0) {
		fprintf(stderr, "%s: %s\n", call, dropipc_strerror(r));
		abort();
	}
}

dropipc_args *test_new_example_args(void)
{
	static const char *const exec_args[] = { "ls", "-al", NULL };
	dropipc_args *a;

	SET(dropipc_args_new(&a));
	SET(dropipc_args_set_env_id(a, "test-env"));
	SET(dropipc_args_set_path(a, DROPIPC_PATH_CWD, P("cwd")));
	SET(dropipc_args_set_path(a, DROPIPC_PATH_DROP_HOME, "/home/alice/.local/share/drop"));
	SET(dropipc_args_set_path(a, DROPIPC_PATH_ENV, P("envs/test-env")));
	SET(dropipc_args_set_path(a, DROPIPC_PATH_FS_ROOT, P("internal/run/test-env/root")));
	SET(dropipc_args_set_path(a, DROPIPC_PATH_HOST_HOME, "/home/alice"));
	SET(dropipc_args_set_path(a, DROPIPC_PATH_HOME, P("envs/test-env/home")));
	SET(dropipc_args_set_path(a, DROPIPC_PATH_ETC, P("envs/test-env/etc")));
	SET(dropipc_args_set_path(a, DROPIPC_PATH_VAR, P("envs/test-env/var")));
	SET(dropipc_args_set_path(a, DROPIPC_PATH_TMP, P("internal/run/test-env/tmp")));
	SET(dropipc_args_set_path(a, DROPIPC_PATH_RUN, P("internal/run/test-env")));
	SET(dropipc_args_set_path(a, DROPIPC_PATH_EMPTY_DIR, P("internal/emptydir")));
	SET(dropipc_args_set_path(a, DROPIPC_PATH_EMPTY_FILE, P("internal/emptyfile")));

	SET(dropipc_args_set_extends(a, "base"));
	SET(dropipc_args_add_mount(a, "~/docs", "~/docs", DROPIPC_MOUNT_OVERLAY));
	SET(dropipc_args_add_mount(a, "~/projects", "~/projects", DROPIPC_MOUNT_RW));
	SET(dropipc_args_add_list(a, DROPIPC_LIST_BLOCKED_PATHS, "/root"));
	SET(dropipc_args_add_list(a, DROPIPC_LIST_BLOCKED_PATHS, "/mnt"));
	SET(dropipc_args_add_list(a, DROPIPC_LIST_ENVIRON_EXPOSED_VARS, "PATH"));
	SET(dropipc_args_add_list(a, DROPIPC_LIST_ENVIRON_EXPOSED_VARS, "HOME"));
	SET(dropipc_args_add_list(a, DROPIPC_LIST_ENVIRON_EXPOSED_VARS, "TERM"));
	SET(dropipc_args_add_environ_set_var(a, "FOO", "bar"));

	SET(dropipc_args_set_net_mode(a, DROPIPC_NET_MODE_ISOLATED));
	SET(dropipc_args_add_net_published_port(a, DROPIPC_TCP, "", 8080, 3000, 0));
	SET(dropipc_args_add_net_published_port(a, DROPIPC_TCP, "", 8082, 3003, 0));

	SET(dropipc_args_set_list(a, DROPIPC_LIST_EXEC_ARGS, exec_args));
	return a;
}

const dropipc_args *test_example_args(void)
{
	static dropipc_args *shared;

	if (!shared)
		shared = test_new_example_args();
	return shared;
}

/* NULL and "" are the same to the wire. */
static void assert_str(const char *want, const char *got, const char *what, size_t i)
{
	ck_assert_msg(strcmp(want ? want : "", got ? got : "") == 0, "%s[%zu]: \"%s\" vs \"%s\"",
		      what, i, want, got);
}

static void assert_list(const dropipc_args *want, const dropipc_args *got, dropipc_list which,
			const char *what)
{
	size_t nw, ng;
	char *const *w = dropipc_args_get_list(want, which, &nw);
	char *const *g = dropipc_args_get_list(got, which, &ng);

	ck_assert_ptr_nonnull(w);
	ck_assert_ptr_nonnull(g);
	ck_assert_uint_eq(ng, nw);
	for (size_t i = 0; i < nw; i++)
		assert_str(w[i], g[i], what, i);
	ck_assert_ptr_null(g[ng]);
}

void test_assert_args_equal(const dropipc_args *want, const dropipc_args *got)
{
	static const dropipc_transport transports[] = { DROPIPC_TCP, DROPIPC_UDP };
	char *const *wexec, *const *gexec;
	dropipc_net_mode wmode, gmode;
	dropipc_pty_mode wpty, gpty;
	uint32_t wts[4], gts[4];
	size_t nw, ng;

	ck_assert_ptr_nonnull(got);
	assert_str(dropipc_args_get_env_id(want), dropipc_args_get_env_id(got), "env_id", 0);
	for (int p = DROPIPC_PATH_CWD; p <= DROPIPC_PATH_EMPTY_FILE; p++)
		assert_str(dropipc_args_get_path(want, (dropipc_path)p),
			   dropipc_args_get_path(got, (dropipc_path)p), "paths", (size_t)p);
	assert_str(dropipc_args_get_extends(want), dropipc_args_get_extends(got), "config.extends", 0);

	for (size_t i = 0;; i++) {
		const char *ws, *wt, *gs, *gt;
		unsigned int wf, gf;
		int rw = dropipc_args_get_mount(want, i, &ws, &wt, &wf);

		ck_assert_int_eq(dropipc_args_get_mount(got, i, &gs, &gt, &gf), rw);
		if (rw == -ERANGE)
			break;
		assert_str(ws, gs, "config.mounts.source", i);
		assert_str(wt, gt, "config.mounts.target", i);
		ck_assert_msg(wf == gf, "config.mounts[%zu]: flags %u vs %u", i, wf, gf);
	}
	assert_list(want, got, DROPIPC_LIST_BLOCKED_PATHS, "config.blocked_paths");
	assert_list(want, got, DROPIPC_LIST_ENVIRON_EXPOSED_VARS, "config.environ.exposed_vars");
	for (size_t i = 0;; i++) {
		const char *wn, *wv, *gn, *gv;
		int rw = dropipc_args_get_environ_set_var(want, i, &wn, &wv);

		ck_assert_int_eq(dropipc_args_get_environ_set_var(got, i, &gn, &gv), rw);
		if (rw == -ERANGE)
			break;
		assert_str(wn, gn, "config.environ.set_vars.name", i);
		assert_str(wv, gv, "config.environ.set_vars.value", i);
	}

	OK(dropipc_args_get_net_mode(want, &wmode));
	OK(dropipc_args_get_net_mode(got, &gmode));
	ck_assert_int_eq(gmode, wmode);
	for (size_t t = 0; t < 2; t++) {
		dropipc_transport tr = transports[t];

		for (size_t i = 0;; i++) {
			unsigned int wf, gf;
			uint32_t whp, wgp, ghp, ggp;
			const char *wip, *gip;
			int rw = dropipc_args_get_net_published_port(want, tr, i, &wip, &whp, &wgp, &wf);

			ck_assert_int_eq(
				dropipc_args_get_net_published_port(got, tr, i, &gip, &ghp, &ggp, &gf), rw);
			if (rw == -ERANGE)
				break;
			assert_str(wip, gip, "config.net.published_ports.host_ip", i);
			ck_assert_msg(wf == gf && whp == ghp && wgp == ggp,
				      "config.net.published_ports[%zu] (transport %d) differs", i,
				      (int)tr);
		}
		for (size_t i = 0;; i++) {
			unsigned int wf, gf;
			uint32_t whp, wgp, ghp, ggp;
			int rw = dropipc_args_get_net_host_port(want, tr, i, &whp, &wgp, &wf);

			ck_assert_int_eq(dropipc_args_get_net_host_port(got, tr, i, &ghp, &ggp, &gf), rw);
			if (rw == -ERANGE)
				break;
			ck_assert_msg(wf == gf && whp == ghp && wgp == ggp,
				      "config.net.host_ports[%zu] (transport %d) differs", i, (int)tr);
		}
	}
	OK(dropipc_args_get_pty(want, &wpty));
	OK(dropipc_args_get_pty(got, &gpty));
	ck_assert_int_eq(gpty, wpty);
	OK(dropipc_args_get_term_size(want, &wts[0], &wts[1], &wts[2], &wts[3]));
	OK(dropipc_args_get_term_size(got, &gts[0], &gts[1], &gts[2], &gts[3]));
	ck_assert_mem_eq(gts, wts, sizeof(wts));

	wexec = dropipc_args_get_list(want, DROPIPC_LIST_EXEC_ARGS, &nw);
	gexec = dropipc_args_get_list(got, DROPIPC_LIST_EXEC_ARGS, &ng);
	ck_assert_uint_eq(ng, nw);
	for (size_t i = 0; i < nw; i++)
		assert_str(wexec[i], gexec[i], "exec_args", i);
	/* Ready for execvp: a NULL after the last argument. */
	ck_assert_ptr_null(gexec[ng]);
}

static int skipped;

void test_skip_case(const char *tcase, const char *why)
{
	const char *sel = getenv("CK_RUN_CASE");

	if (sel && *sel && strcmp(sel, tcase) != 0)
		return;
	printf("SKIP %s: %s\n", tcase, why);
	fflush(stdout);
	skipped++;
}

int test_srunner_run(SRunner *sr)
{
	int run, failed;

	srunner_run_all(sr, CK_NORMAL);
	run = srunner_ntests_run(sr);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	printf("%d checks run, %d failed, %d skipped\n", run, failed, skipped);
	if (failed > 0)
		return EXIT_FAILURE;
	if (run == 0 && skipped > 0)
		return 77;
	if (run == 0) {
		printf("FAIL: no check ran (does CK_RUN_SUITE or CK_RUN_CASE name nothing?)\n");
		return EXIT_FAILURE;
	}
	return EXIT_SUCCESS;
}

int test_utf8_valid(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;

	for (size_t i = 0; i < len;) {
		size_t n;
		uint32_t cp;

		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if ((s[i] & 0xe0) == 0xc0)
			n = 2, cp = s[i] & 0x1f;
		else if ((s[i] & 0xf0) == 0xe0)
			n = 3, cp = s[i] & 0x0f;
		else if ((s[i] & 0xf8) == 0xf0)
			n = 4, cp = s[i] & 0x07;
		else
			return 0;
		if (i + n > len)
			return 0;
		for (size_t k = 1; k < n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += n;
	}
	return 1;
}
