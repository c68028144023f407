/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/* The dump format (dump.h), written through the dropipc_args getters in
 * the schema's field order. */
#include "dump.h"

#include <errno.h>
#include <string.h>

static void put_string(FILE *f, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '\\')
			fputs("\\\\", f);
		else if (*p == '\n')
			fputs("\\n", f);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(f, "\\x%02x", *p);
		else
			fputc(*p, f);
	}
}

static void str(FILE *f, const char *indent, const char *key, const char *value)
{
	fprintf(f, "%s%s=", indent, key);
	put_string(f, value ? value : "");
	fputc('\n', f);
}

static void list(FILE *f, const char *indent, const char *name, const dropipc_args *a,
		 dropipc_list which)
{
	size_t n = 0;
	char *const *v = dropipc_args_get_list(a, which, &n);
	char key[128];

	for (size_t i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "%s[%zu]", name, i);
		str(f, indent, key, v[i]);
	}
}

static void num(FILE *f, const char *indent, const char *key, unsigned long long v)
{
	fprintf(f, "%s%s=%llu\n", indent, key, v);
}

static void flag(FILE *f, const char *indent, const char *key, bool v)
{
	fprintf(f, "%s%s=%s\n", indent, key, v ? "true" : "false");
}

int dump_args(FILE *f, const dropipc_args *a, const char *indent)
{
	static const char *const paths[] = { NULL,  "cwd", "drop_home", "env", "fs_root",
					     "host_home", "home", "etc", "var", "tmp", "run",
					     "empty_dir", "empty_file" };
	static const char *const tr[] = { "tcp", "udp" };
	static const char *const ts_names[] = { "rows", "cols", "x_pixels", "y_pixels" };
	dropipc_net_mode mode = DROPIPC_NET_MODE_UNSPECIFIED;
	dropipc_pty_mode pty = DROPIPC_PTY_AUTO;
	uint32_t hp, gp, ts[4];
	const char *s, *t;
	char key[128];
	unsigned fl;

	str(f, indent, "env_id", dropipc_args_get_env_id(a));
	for (int i = 1; i <= DROPIPC_PATH_EMPTY_FILE; i++) {
		snprintf(key, sizeof(key), "paths.%s", paths[i]);
		str(f, indent, key, dropipc_args_get_path(a, (dropipc_path)i));
	}
	str(f, indent, "config.extends", dropipc_args_get_extends(a));
	for (size_t i = 0; dropipc_args_get_mount(a, i, &s, &t, &fl) == 0; i++) {
		snprintf(key, sizeof(key), "config.mounts[%zu].source", i);
		str(f, indent, key, s);
		snprintf(key, sizeof(key), "config.mounts[%zu].target", i);
		str(f, indent, key, t);
		snprintf(key, sizeof(key), "config.mounts[%zu].rw", i);
		flag(f, indent, key, fl & DROPIPC_MOUNT_RW);
		snprintf(key, sizeof(key), "config.mounts[%zu].overlay", i);
		flag(f, indent, key, fl & DROPIPC_MOUNT_OVERLAY);
	}
	list(f, indent, "config.blocked_paths", a, DROPIPC_LIST_BLOCKED_PATHS);
	list(f, indent, "config.environ.exposed_vars", a, DROPIPC_LIST_ENVIRON_EXPOSED_VARS);
	for (size_t i = 0; dropipc_args_get_environ_set_var(a, i, &s, &t) == 0; i++) {
		snprintf(key, sizeof(key), "config.environ.set_vars[%zu].name", i);
		str(f, indent, key, s);
		snprintf(key, sizeof(key), "config.environ.set_vars[%zu].value", i);
		str(f, indent, key, t);
	}
	dropipc_args_get_net_mode(a, &mode);
	num(f, indent, "config.net.mode", (unsigned)mode);
	for (int k = 0; k < 2; k++) {
		for (size_t i = 0; dropipc_args_get_net_published_port(a, (dropipc_transport)k, i, &s,
								       &hp, &gp, &fl) == 0;
		     i++) {
			snprintf(key, sizeof(key), "config.net.%s_published_ports[%zu].auto", tr[k], i);
			flag(f, indent, key, fl & DROPIPC_PUBLISHED_PORT_AUTO);
			snprintf(key, sizeof(key), "config.net.%s_published_ports[%zu].host_ip", tr[k], i);
			str(f, indent, key, s);
			snprintf(key, sizeof(key), "config.net.%s_published_ports[%zu].host_port", tr[k], i);
			num(f, indent, key, hp);
			snprintf(key, sizeof(key), "config.net.%s_published_ports[%zu].guest_port", tr[k], i);
			num(f, indent, key, gp);
		}
	}
	for (int k = 0; k < 2; k++) {
		for (size_t i = 0;
		     dropipc_args_get_net_host_port(a, (dropipc_transport)k, i, &hp, &gp, &fl) == 0; i++) {
			snprintf(key, sizeof(key), "config.net.%s_host_ports[%zu].auto", tr[k], i);
			flag(f, indent, key, fl & DROPIPC_HOST_PORT_AUTO);
			snprintf(key, sizeof(key), "config.net.%s_host_ports[%zu].host_port", tr[k], i);
			num(f, indent, key, hp);
			snprintf(key, sizeof(key), "config.net.%s_host_ports[%zu].guest_port", tr[k], i);
			num(f, indent, key, gp);
		}
	}
	list(f, indent, "exec_args", a, DROPIPC_LIST_EXEC_ARGS);
	dropipc_args_get_pty(a, &pty);
	num(f, indent, "pty", (unsigned)pty);
	/* All 0 is the same as absent: written as absent (dump.h). */
	dropipc_args_get_term_size(a, &ts[0], &ts[1], &ts[2], &ts[3]);
	for (int k = 0; k < 4 && (ts[0] | ts[1] | ts[2] | ts[3]); k++) {
		snprintf(key, sizeof(key), "term_size.%s", ts_names[k]);
		num(f, indent, key, ts[k]);
	}
	if (fflush(f) == EOF || ferror(f))
		return -(errno ? errno : EIO);
	return 0;
}

int dump_to_file(const char *path, const dropipc_args *args)
{
	FILE *f = fopen(path, "we");
	int r;

	if (!f)
		return -errno;
	r = dump_args(f, args, "");
	if (fclose(f) == EOF && r == 0)
		r = -errno;
	return r;
}
