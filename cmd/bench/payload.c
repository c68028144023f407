/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The benchmark's ChildArgs: the Go test's example, with generated mounts,
 * blocked paths and exec args added to reach a size. cmd/bench/gob/main.go
 * builds the same values; change both together.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"

/* Everything one ChildArgs points to, in one allocation plus arrays. */
struct built {
	dropipc_child_args args; /* first: the args pointer is the struct's */
	Dropipc__V1__Paths paths;
	Dropipc__V1__Config config;
	Dropipc__V1__Environ environ_;
	Dropipc__V1__SetVar foo;
	Dropipc__V1__SetVar *set[1];
	Dropipc__V1__PublishedPort port[2];
	Dropipc__V1__PublishedPort *tcp[2];
	Dropipc__V1__Net net;
	Dropipc__V1__Mount *mount;
	Dropipc__V1__Mount **mounts;
	char **blocked, **execs;
	char *pool;
};

#define DROP "/home/alice/.local/share/drop"
/* Longest generated string, with its NUL. */
#define GEN_MAX 40

static char *lit(const char *s)
{
	return (char *)s;
}

static char *gen(char **pool, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *gen(char **pool, const char *fmt, ...)
{
	char *s = *pool;
	va_list ap;

	va_start(ap, fmt);
	*pool += vsnprintf(s, GEN_MAX, fmt, ap) + 1;
	va_end(ap);
	return s;
}

static void example(struct built *b)
{
	static char *exposed[] = { "PATH", "HOME", "TERM" };

	b->paths.cwd = lit(DROP "/cwd");
	b->paths.drop_home = lit(DROP);
	b->paths.env = lit(DROP "/envs/test-env");
	b->paths.fs_root = lit(DROP "/internal/run/test-env/root");
	b->paths.host_home = lit("/home/alice");
	b->paths.home = lit(DROP "/envs/test-env/home");
	b->paths.etc = lit(DROP "/envs/test-env/etc");
	b->paths.var = lit(DROP "/envs/test-env/var");
	b->paths.tmp = lit(DROP "/internal/run/test-env/tmp");
	b->paths.run = lit(DROP "/internal/run/test-env");
	b->paths.empty_dir = lit(DROP "/internal/emptydir");
	b->paths.empty_file = lit(DROP "/internal/emptyfile");

	b->foo.name = lit("FOO");
	b->foo.value = lit("bar");
	b->set[0] = &b->foo;
	b->environ_.n_exposed_vars = 3;
	b->environ_.exposed_vars = exposed;
	b->environ_.n_set_vars = 1;
	b->environ_.set_vars = b->set;

	b->port[0].host_port = 8080;
	b->port[0].guest_port = 3000;
	b->port[1].host_port = 8082;
	b->port[1].guest_port = 3003;
	b->tcp[0] = &b->port[0];
	b->tcp[1] = &b->port[1];
	b->net.mode = DROPIPC__V1__NET__MODE__MODE_ISOLATED;
	b->net.n_tcp_published_ports = 2;
	b->net.tcp_published_ports = b->tcp;

	b->config.extends = lit("base");
	b->config.environ = &b->environ_;
	b->config.net = &b->net;

	b->args.env_id = lit("test-env");
	b->args.paths = &b->paths;
	b->args.config = &b->config;

	b->mount[0].source = lit("~/docs");
	b->mount[0].target = lit("~/docs");
	b->mount[0].overlay = 1;
	b->mount[1].source = lit("~/projects");
	b->mount[1].target = lit("~/projects");
	b->mount[1].rw = 1;
	b->blocked[0] = lit("/root");
	b->blocked[1] = lit("/mnt");
	b->execs[0] = lit("ls");
	b->execs[1] = lit("-al");
}

dropipc_child_args *bench_args_new(struct shape s)
{
	struct built *b = calloc(1, sizeof(*b));
	char *pool;

	if (!b || s.mounts < 2 || s.blocked < 2 || s.execs < 2)
		goto fail;
	b->mount = calloc(s.mounts, sizeof(*b->mount));
	b->mounts = calloc(s.mounts, sizeof(*b->mounts));
	b->blocked = calloc(s.blocked, sizeof(*b->blocked));
	b->execs = calloc(s.execs, sizeof(*b->execs));
	b->pool = malloc(((size_t)s.mounts * 2 + s.blocked + s.execs) * GEN_MAX);
	if (!b->mount || !b->mounts || !b->blocked || !b->execs || !b->pool)
		goto fail;
	dropipc__v1__child_args__init(&b->args);
	dropipc__v1__paths__init(&b->paths);
	dropipc__v1__config__init(&b->config);
	dropipc__v1__environ__init(&b->environ_);
	dropipc__v1__set_var__init(&b->foo);
	dropipc__v1__published_port__init(&b->port[0]);
	dropipc__v1__published_port__init(&b->port[1]);
	dropipc__v1__net__init(&b->net);
	for (unsigned i = 0; i < s.mounts; i++) {
		dropipc__v1__mount__init(&b->mount[i]);
		b->mounts[i] = &b->mount[i];
	}
	example(b);

	pool = b->pool;
	for (unsigned i = 2; i < s.mounts; i++) {
		b->mount[i].source = gen(&pool, "/home/alice/src/mount-%06u", i);
		b->mount[i].target = gen(&pool, "~/mnt/mount-%06u", i);
		b->mount[i].rw = i % 2 == 1;
		b->mount[i].overlay = i % 3 == 0;
	}
	for (unsigned i = 2; i < s.blocked; i++)
		b->blocked[i] = gen(&pool, "/home/alice/private/%06u", i);
	for (unsigned i = 2; i < s.execs; i++)
		b->execs[i] = gen(&pool, "--argument-%09u", i);
	b->config.n_mounts = s.mounts;
	b->config.mounts = b->mounts;
	b->config.n_blocked_paths = s.blocked;
	b->config.blocked_paths = b->blocked;
	b->args.n_exec_args = s.execs;
	b->args.exec_args = b->execs;
	return &b->args;

fail:
	bench_args_free(b ? &b->args : NULL);
	return NULL;
}

void bench_args_free(dropipc_child_args *args)
{
	struct built *b = (struct built *)args;

	if (!b)
		return;
	free(b->mount);
	free(b->mounts);
	free(b->blocked);
	free(b->execs);
	free(b->pool);
	free(b);
}

size_t bench_envelope_size(const dropipc_child_args *args)
{
	Dropipc__V1__Envelope env = DROPIPC__V1__ENVELOPE__INIT;

	env.body_case = DROPIPC__V1__ENVELOPE__BODY_CHILD_ARGS;
	env.child_args = (dropipc_child_args *)args;
	return protobuf_c_message_get_packed_size(&env.base);
}
