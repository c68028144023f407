/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The default ChildArgs. Like Drop's, it names an environment after the
 * working directory and keeps its files under ~/.local/share/drop; nothing
 * needs to exist on disk, since the demo child builds no jail. Every field of
 * the schema is set to a non-default value, so that dumps compared across
 * languages cover the whole schema.
 */
#include "defaults.h"

#include <errno.h>
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

/* The published and host ports, two of each kind; the first error. */
static int ports(dropipc_args *a)
{
	int r = 0;

	r = r ? r : dropipc_args_add_published_port(a, DROPIPC_TCP, 0, "127.0.0.1", 8080, 80);
	r = r ? r : dropipc_args_add_published_port(a, DROPIPC_TCP, DROPIPC_PORT_AUTO, NULL, 0, 3000);
	r = r ? r : dropipc_args_add_published_port(a, DROPIPC_UDP, 0, "::1", 5353, 53);
	r = r ? r : dropipc_args_add_published_port(a, DROPIPC_UDP, DROPIPC_PORT_AUTO, NULL, 0, 5060);
	r = r ? r : dropipc_args_add_host_port(a, DROPIPC_TCP, 0, 5432, 15432);
	r = r ? r : dropipc_args_add_host_port(a, DROPIPC_TCP, DROPIPC_PORT_AUTO, 6379, 0);
	r = r ? r : dropipc_args_add_host_port(a, DROPIPC_UDP, 0, 514, 1514);
	r = r ? r : dropipc_args_add_host_port(a, DROPIPC_UDP, DROPIPC_PORT_AUTO, 123, 0);
	return r;
}

int default_args(char **cmd, size_t n, dropipc_args **out)
{
	static const char *const blocked[] = { "~/.ssh", "~/.gnupg", "~/.aws",
					       "/var/run/docker.sock" };
	static const char *const exposed[] = { "TERM", "COLORTERM", "LANG", "LC_*" };
	char env_id[64];
	const char *home = getenv("HOME");
	const char *dh;
	dropipc_args *a = NULL;
	int r;

	*out = NULL;
	if (!getcwd(path[CWD], PATH_MAX))
		return -errno;
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

	r = dropipc_args_new(&a);
	if (r < 0)
		return r;
	r = dropipc_args_set_env_id(a, env_id);
	/* enum { CWD, ... } above is dropipc_path minus one. */
	for (int i = 0; i < NPATHS && r == 0; i++)
		r = dropipc_args_set_path(a, (dropipc_path)(i + 1), path[i]);
	r = r ? r : dropipc_args_set_extends(a, "base");
	/* Two read-only mounts, and a writable one whose writes go to an overlay. */
	r = r ? r : dropipc_args_add_mount(a, "~/.gitconfig", "~/.gitconfig", 0);
	r = r ? r : dropipc_args_add_mount(a, "~/docs", "~/docs", DROPIPC_MOUNT_OVERLAY);
	r = r ? r : dropipc_args_add_mount(a, path[CWD], path[CWD],
					   DROPIPC_MOUNT_RW | DROPIPC_MOUNT_OVERLAY);
	for (size_t i = 0; i < ARRAY_LEN(blocked) && r == 0; i++)
		r = dropipc_args_add_blocked_path(a, blocked[i]);
	for (size_t i = 0; i < ARRAY_LEN(exposed) && r == 0; i++)
		r = dropipc_args_add_exposed_var(a, exposed[i]);
	r = r ? r : dropipc_args_add_set_var(a, "DROP_ENV", env_id);
	r = r ? r : dropipc_args_add_set_var(a, "PS1", "(drop) $ ");
	r = r ? r : dropipc_args_set_net_mode(a, DROPIPC_NET_ISOLATED);
	r = r ? r : ports(a);
	for (size_t i = 0; i < n && r == 0; i++)
		r = dropipc_args_add_exec_arg(a, cmd[i]);
	if (r < 0) {
		dropipc_args_free(a);
		return r;
	}
	*out = a;
	return 0;
}
