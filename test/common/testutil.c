#define _GNU_SOURCE
#include "testutil.h"

#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

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

const dropipc_child_args *test_example_args(void)
{
	static Dropipc__V1__Paths paths = DROPIPC__V1__PATHS__INIT;
	static Dropipc__V1__Mount m0 = DROPIPC__V1__MOUNT__INIT, m1 = DROPIPC__V1__MOUNT__INIT;
	static Dropipc__V1__Mount *mounts[] = { &m0, &m1 };
	static char *blocked[] = { "/root", "/mnt" };
	static char *exposed[] = { "PATH", "HOME", "TERM" };
	static Dropipc__V1__SetVar foo = DROPIPC__V1__SET_VAR__INIT;
	static Dropipc__V1__SetVar *set[] = { &foo };
	static Dropipc__V1__Environ environ_ = DROPIPC__V1__ENVIRON__INIT;
	static Dropipc__V1__PublishedPort p0 = DROPIPC__V1__PUBLISHED_PORT__INIT,
					  p1 = DROPIPC__V1__PUBLISHED_PORT__INIT;
	static Dropipc__V1__PublishedPort *tcp[] = { &p0, &p1 };
	static Dropipc__V1__Net net = DROPIPC__V1__NET__INIT;
	static Dropipc__V1__Config config = DROPIPC__V1__CONFIG__INIT;
	static char *exec_args[] = { "ls", "-al" };
	static Dropipc__V1__ChildArgs args = DROPIPC__V1__CHILD_ARGS__INIT;

	paths.cwd = P("cwd");
	paths.drop_home = "/home/alice/.local/share/drop";
	paths.env = P("envs/test-env");
	paths.fs_root = P("internal/run/test-env/root");
	paths.host_home = "/home/alice";
	paths.home = P("envs/test-env/home");
	paths.etc = P("envs/test-env/etc");
	paths.var = P("envs/test-env/var");
	paths.tmp = P("internal/run/test-env/tmp");
	paths.run = P("internal/run/test-env");
	paths.empty_dir = P("internal/emptydir");
	paths.empty_file = P("internal/emptyfile");

	m0.source = "~/docs";
	m0.target = "~/docs";
	m0.rw = 0;
	m0.overlay = 1;
	m1.source = "~/projects";
	m1.target = "~/projects";
	m1.rw = 1;
	m1.overlay = 0;

	foo.name = "FOO";
	foo.value = "bar";
	environ_.n_exposed_vars = 3;
	environ_.exposed_vars = exposed;
	environ_.n_set_vars = 1;
	environ_.set_vars = set;

	p0.host_port = 8080;
	p0.guest_port = 3000;
	p1.host_port = 8082;
	p1.guest_port = 3003;
	net.mode = DROPIPC__V1__NET__MODE__MODE_ISOLATED;
	net.n_tcp_published_ports = 2;
	net.tcp_published_ports = tcp;

	config.extends = "base";
	config.n_mounts = 2;
	config.mounts = mounts;
	config.n_blocked_paths = 2;
	config.blocked_paths = blocked;
	config.environ = &environ_;
	config.net = &net;

	args.env_id = "test-env";
	args.paths = &paths;
	args.config = &config;
	args.n_exec_args = 2;
	args.exec_args = exec_args;
	return &args;
}

/* Compares two messages of the same type field by field, recursively. */
static void assert_msg_equal(const ProtobufCMessage *a, const ProtobufCMessage *b,
			     const char *path)
{
	const ProtobufCMessageDescriptor *d = a->descriptor;

	ck_assert_ptr_eq(b->descriptor, d);
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const char *pa = (const char *)a + f->offset, *pb = (const char *)b + f->offset;
		size_t na = 1, nb = 1, sz;

		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			na = *(const size_t *)((const char *)a + f->quantifier_offset);
			nb = *(const size_t *)((const char *)b + f->quantifier_offset);
			ck_assert_msg(na == nb, "%s.%s: %zu vs %zu elements", path, f->name, na, nb);
			pa = *(const char *const *)pa;
			pb = *(const char *const *)pb;
		}
		switch (f->type) {
		case PROTOBUF_C_TYPE_STRING:
		case PROTOBUF_C_TYPE_MESSAGE:
			sz = sizeof(void *);
			break;
		case PROTOBUF_C_TYPE_BOOL:
			sz = sizeof(protobuf_c_boolean);
			break;
		default:
			sz = sizeof(uint32_t);
			break;
		}
		for (size_t k = 0; k < na; k++) {
			const void *ea = pa + k * sz, *eb = pb + k * sz;

			if (f->type == PROTOBUF_C_TYPE_STRING) {
				const char *sa = *(char *const *)ea, *sb = *(char *const *)eb;

				ck_assert_msg(strcmp(sa ? sa : "", sb ? sb : "") == 0,
					      "%s.%s[%zu]: \"%s\" vs \"%s\"", path, f->name, k, sa, sb);
			} else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
				const ProtobufCMessage *ma = *(const ProtobufCMessage *const *)ea;
				const ProtobufCMessage *mb = *(const ProtobufCMessage *const *)eb;
				char sub[256];

				ck_assert_msg(!ma == !mb, "%s.%s: present on one side only", path,
					      f->name);
				snprintf(sub, sizeof(sub), "%s.%s", path, f->name);
				if (ma)
					assert_msg_equal(ma, mb, sub);
			} else {
				ck_assert_msg(memcmp(ea, eb, sz) == 0, "%s.%s[%zu] differs", path,
					      f->name, k);
			}
		}
	}
}

void test_assert_args_equal(const dropipc_child_args *want, const dropipc_child_args *got)
{
	ck_assert_ptr_nonnull(got);
	assert_msg_equal(&want->base, &got->base, "child_args");
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
