/* SPDX-License-Identifier: Apache-2.0 */
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
	char key[128];
	size_t n;
	char *const *argv;

	str(f, indent, "env_id", dropipc_args_env_id(a));
	for (int i = 1; i <= DROPIPC_PATH_EMPTY_FILE; i++) {
		snprintf(key, sizeof(key), "paths.%s", paths[i]);
		str(f, indent, key, dropipc_args_path(a, (dropipc_path)i));
	}
	str(f, indent, "config.extends", dropipc_args_extends(a));
	for (size_t i = 0; i < dropipc_args_n_mounts(a); i++) {
		const char *s, *t;
		unsigned fl;

		dropipc_args_mount(a, i, &s, &t, &fl);
		snprintf(key, sizeof(key), "config.mounts[%zu].source", i);
		str(f, indent, key, s);
		snprintf(key, sizeof(key), "config.mounts[%zu].target", i);
		str(f, indent, key, t);
		snprintf(key, sizeof(key), "config.mounts[%zu].rw", i);
		flag(f, indent, key, fl & DROPIPC_MOUNT_RW);
		snprintf(key, sizeof(key), "config.mounts[%zu].overlay", i);
		flag(f, indent, key, fl & DROPIPC_MOUNT_OVERLAY);
	}
	for (size_t i = 0; i < dropipc_args_n_blocked_paths(a); i++) {
		snprintf(key, sizeof(key), "config.blocked_paths[%zu]", i);
		str(f, indent, key, dropipc_args_blocked_path(a, i));
	}
	for (size_t i = 0; i < dropipc_args_n_exposed_vars(a); i++) {
		snprintf(key, sizeof(key), "config.environ.exposed_vars[%zu]", i);
		str(f, indent, key, dropipc_args_exposed_var(a, i));
	}
	for (size_t i = 0; i < dropipc_args_n_set_vars(a); i++) {
		const char *name, *value;

		dropipc_args_set_var(a, i, &name, &value);
		snprintf(key, sizeof(key), "config.environ.set_vars[%zu].name", i);
		str(f, indent, key, name);
		snprintf(key, sizeof(key), "config.environ.set_vars[%zu].value", i);
		str(f, indent, key, value);
	}
	num(f, indent, "config.net.mode", (unsigned)dropipc_args_net_mode(a));
	for (int t = 0; t < 2; t++) {
		for (size_t i = 0; i < dropipc_args_n_published_ports(a, (dropipc_transport)t); i++) {
			unsigned fl, hp, gp;
			const char *ip;

			dropipc_args_published_port(a, (dropipc_transport)t, i, &fl, &ip, &hp, &gp);
			snprintf(key, sizeof(key), "config.net.%s_published_ports[%zu].auto", tr[t], i);
			flag(f, indent, key, fl & DROPIPC_PORT_AUTO);
			snprintf(key, sizeof(key), "config.net.%s_published_ports[%zu].host_ip", tr[t], i);
			str(f, indent, key, ip);
			snprintf(key, sizeof(key), "config.net.%s_published_ports[%zu].host_port", tr[t], i);
			num(f, indent, key, hp);
			snprintf(key, sizeof(key), "config.net.%s_published_ports[%zu].guest_port", tr[t], i);
			num(f, indent, key, gp);
		}
	}
	for (int t = 0; t < 2; t++) {
		for (size_t i = 0; i < dropipc_args_n_host_ports(a, (dropipc_transport)t); i++) {
			unsigned fl, hp, gp;

			dropipc_args_host_port(a, (dropipc_transport)t, i, &fl, &hp, &gp);
			snprintf(key, sizeof(key), "config.net.%s_host_ports[%zu].auto", tr[t], i);
			flag(f, indent, key, fl & DROPIPC_PORT_AUTO);
			snprintf(key, sizeof(key), "config.net.%s_host_ports[%zu].host_port", tr[t], i);
			num(f, indent, key, hp);
			snprintf(key, sizeof(key), "config.net.%s_host_ports[%zu].guest_port", tr[t], i);
			num(f, indent, key, gp);
		}
	}
	argv = dropipc_args_exec_args(a, &n);
	for (size_t i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "exec_args[%zu]", i);
		str(f, indent, key, argv[i]);
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
