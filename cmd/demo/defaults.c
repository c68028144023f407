/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The default ChildArgs. Like Drop's, it names an environment after the
 * working directory and keeps its files under ~/.local/share/drop; nothing
 * needs to exist on disk, since the demo child builds no jail. Every field of
 * the schema is set to a non-default value, so that dumps compared across
 * languages cover the whole schema.
 */
#include "defaults.h"

#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

enum { CWD, DROP_HOME, ENV, FS_ROOT, HOST_HOME, HOME, ETC, VAR, TMP, RUN, EMPTY_DIR,
       EMPTY_FILE, NPATHS };

/* "myproject-a1b2c3": the directory's name and a hash of its full path. */
static void make_env_id(char *out, size_t len, const char *cwd)
{
	const char *base = strrchr(cwd, '/');
	uint32_t h = 2166136261u; /* FNV-1a */
	size_t n = 0;

	base = base && base[1] ? base + 1 : "root";
	for (const char *p = cwd; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	for (; *base && n < 32; base++) {
		char c = *base;

		out[n++] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
					   c == '_' || c == '-'
				   ? c
				   : '_';
	}
	snprintf(out + n, len - n, "-%06x", (unsigned)(h & 0xffffff));
}

static char path[NPATHS][PATH_MAX];

/* An over-long $HOME is cut: the demo child only prints these. */
__attribute__((format(printf, 2, 3))) static void setpath(int i, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path[i], sizeof(path[i]), fmt, ap);
	va_end(ap);
}

const dropipc_child_args *default_args(char **cmd, size_t n)
{
	static char env_id[64];
	static Dropipc__V1__Paths paths = DROPIPC__V1__PATHS__INIT;
	static Dropipc__V1__Mount mounts[] = {
		DROPIPC__V1__MOUNT__INIT,
		DROPIPC__V1__MOUNT__INIT,
		DROPIPC__V1__MOUNT__INIT,
	};
	static Dropipc__V1__Mount *mount_ptrs[ARRAY_LEN(mounts)];
	static char *blocked[] = { "~/.ssh", "~/.gnupg", "~/.aws", "/var/run/docker.sock" };
	static char *exposed[] = { "TERM", "COLORTERM", "LANG", "LC_*" };
	static Dropipc__V1__SetVar vars[] = { DROPIPC__V1__SET_VAR__INIT,
					      DROPIPC__V1__SET_VAR__INIT };
	static Dropipc__V1__SetVar *var_ptrs[ARRAY_LEN(vars)];
	static Dropipc__V1__Environ environ_ = DROPIPC__V1__ENVIRON__INIT;
	static Dropipc__V1__PublishedPort tcp_pub[] = { DROPIPC__V1__PUBLISHED_PORT__INIT,
							DROPIPC__V1__PUBLISHED_PORT__INIT };
	static Dropipc__V1__PublishedPort udp_pub[] = { DROPIPC__V1__PUBLISHED_PORT__INIT,
							DROPIPC__V1__PUBLISHED_PORT__INIT };
	static Dropipc__V1__PublishedPort *tcp_pub_ptrs[ARRAY_LEN(tcp_pub)];
	static Dropipc__V1__PublishedPort *udp_pub_ptrs[ARRAY_LEN(udp_pub)];
	static Dropipc__V1__HostPort tcp_host[] = { DROPIPC__V1__HOST_PORT__INIT,
						    DROPIPC__V1__HOST_PORT__INIT };
	static Dropipc__V1__HostPort udp_host[] = { DROPIPC__V1__HOST_PORT__INIT,
						    DROPIPC__V1__HOST_PORT__INIT };
	static Dropipc__V1__HostPort *tcp_host_ptrs[ARRAY_LEN(tcp_host)];
	static Dropipc__V1__HostPort *udp_host_ptrs[ARRAY_LEN(udp_host)];
	static Dropipc__V1__Net net = DROPIPC__V1__NET__INIT;
	static Dropipc__V1__Config config = DROPIPC__V1__CONFIG__INIT;
	static Dropipc__V1__ChildArgs args = DROPIPC__V1__CHILD_ARGS__INIT;
	const char *home = getenv("HOME");
	const char *dh;

	if (!getcwd(path[CWD], PATH_MAX))
		return NULL;
	if (!home || home[0] != '/')
		home = "/";
	make_env_id(env_id, sizeof(env_id), path[CWD]);
	setpath(HOST_HOME, "%s", home);
	setpath(DROP_HOME, "%s/.local/share/drop", strcmp(home, "/") ? home : "");
	dh = path[DROP_HOME];
	setpath(ENV, "%s/envs/%s", dh, env_id);
	setpath(FS_ROOT, "%s/internal/run/%s/root", dh, env_id);
	setpath(HOME, "%s/home", path[ENV]);
	setpath(ETC, "%s/etc", path[ENV]);
	setpath(VAR, "%s/var", path[ENV]);
	setpath(TMP, "%s/internal/run/%s/tmp", dh, env_id);
	setpath(RUN, "%s/internal/run/%s", dh, env_id);
	setpath(EMPTY_DIR, "%s/internal/emptydir", dh);
	setpath(EMPTY_FILE, "%s/internal/emptyfile", dh);
	paths.cwd = path[CWD];
	paths.drop_home = path[DROP_HOME];
	paths.env = path[ENV];
	paths.fs_root = path[FS_ROOT];
	paths.host_home = path[HOST_HOME];
	paths.home = path[HOME];
	paths.etc = path[ETC];
	paths.var = path[VAR];
	paths.tmp = path[TMP];
	paths.run = path[RUN];
	paths.empty_dir = path[EMPTY_DIR];
	paths.empty_file = path[EMPTY_FILE];

	/* Two read-only mounts, and a writable one whose writes go to an overlay. */
	mounts[0].source = "~/.gitconfig";
	mounts[0].target = "~/.gitconfig";
	mounts[1].source = "~/docs";
	mounts[1].target = "~/docs";
	mounts[1].overlay = 1;
	mounts[2].source = path[CWD];
	mounts[2].target = path[CWD];
	mounts[2].rw = 1;
	mounts[2].overlay = 1;
	for (size_t i = 0; i < ARRAY_LEN(mounts); i++)
		mount_ptrs[i] = &mounts[i];

	vars[0].name = "DROP_ENV";
	vars[0].value = env_id;
	vars[1].name = "PS1";
	vars[1].value = "(drop) $ ";
	for (size_t i = 0; i < ARRAY_LEN(vars); i++)
		var_ptrs[i] = &vars[i];
	environ_.n_exposed_vars = ARRAY_LEN(exposed);
	environ_.exposed_vars = exposed;
	environ_.n_set_vars = ARRAY_LEN(vars);
	environ_.set_vars = var_ptrs;

	tcp_pub[0].host_ip = "127.0.0.1";
	tcp_pub[0].host_port = 8080;
	tcp_pub[0].guest_port = 80;
	tcp_pub[1].auto_ = 1;
	tcp_pub[1].guest_port = 3000;
	udp_pub[0].host_ip = "::1";
	udp_pub[0].host_port = 5353;
	udp_pub[0].guest_port = 53;
	tcp_host[0].host_port = 5432;
	tcp_host[0].guest_port = 15432;
	tcp_host[1].auto_ = 1;
	tcp_host[1].host_port = 6379;
	udp_host[0].host_port = 514;
	udp_host[0].guest_port = 1514;
	udp_pub[1].auto_ = 1;
	udp_pub[1].guest_port = 5060;
	udp_host[1].auto_ = 1;
	udp_host[1].host_port = 123;
	for (size_t i = 0; i < 2; i++) {
		tcp_pub_ptrs[i] = &tcp_pub[i];
		udp_pub_ptrs[i] = &udp_pub[i];
		tcp_host_ptrs[i] = &tcp_host[i];
		udp_host_ptrs[i] = &udp_host[i];
	}
	net.mode = DROPIPC__V1__NET__MODE__MODE_ISOLATED;
	net.n_tcp_published_ports = ARRAY_LEN(tcp_pub_ptrs);
	net.tcp_published_ports = tcp_pub_ptrs;
	net.n_udp_published_ports = ARRAY_LEN(udp_pub_ptrs);
	net.udp_published_ports = udp_pub_ptrs;
	net.n_tcp_host_ports = ARRAY_LEN(tcp_host_ptrs);
	net.tcp_host_ports = tcp_host_ptrs;
	net.n_udp_host_ports = ARRAY_LEN(udp_host_ptrs);
	net.udp_host_ports = udp_host_ptrs;

	config.extends = "base";
	config.n_mounts = ARRAY_LEN(mount_ptrs);
	config.mounts = mount_ptrs;
	config.n_blocked_paths = ARRAY_LEN(blocked);
	config.blocked_paths = blocked;
	config.environ = &environ_;
	config.net = &net;

	args.env_id = env_id;
	args.paths = &paths;
	args.config = &config;
	args.n_exec_args = n;
	args.exec_args = cmd;
	return &args;
}
