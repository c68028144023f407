/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * Validation of ChildArgs, the same on both ends: the sender checks before
 * sending, the receiver before handing the message over. Each failure names
 * the field, e.g. "config.net.tcp_published_ports[1].guest_port: 70000 is
 * not in 1..65535".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

struct check {
	char *buf;
	size_t len;
};

static int fail(struct check *ck, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct check *ck, const char *fmt, ...)
{
	va_list ap;

	if (ck->buf && ck->len) {
		va_start(ap, fmt);
		vsnprintf(ck->buf, ck->len, fmt, ap);
		va_end(ap);
	}
	return DROPIPC_ERR_INVALID;
}

static bool empty(const char *s)
{
	return !s || !s[0];
}

static bool empty_bytes(ProtobufCBinaryData b)
{
	return b.len == 0;
}

static int check_port(struct check *ck, const char *list, size_t i, const char *name,
		      uint32_t port)
{
	if (port >= 1 && port <= 65535)
		return 0;
	return fail(ck, "config.net.%s[%zu].%s: %u is not in 1..65535", list, i, name, port);
}

/* Drop's auto: every port (pasta's `auto`), so no port is named. */
static int check_auto(struct check *ck, const char *list, size_t i, uint32_t host_port,
		      uint32_t guest_port)
{
	if (host_port != 0)
		return fail(ck, "config.net.%s[%zu].host_port: %u set with auto", list, i,
			    host_port);
	if (guest_port != 0)
		return fail(ck, "config.net.%s[%zu].guest_port: %u set with auto", list, i,
			    guest_port);
	return 0;
}

static int check_published(struct check *ck, const char *list,
			   Dropipc__V1__PublishedPort *const *ports, size_t n)
{
	unsigned char addr[sizeof(struct in6_addr)];
	int r;

	for (size_t i = 0; i < n; i++) {
		const Dropipc__V1__PublishedPort *p = ports[i];

		if (!p)
			return fail(ck, "config.net.%s[%zu]: missing", list, i);
		if (p->auto_) {
			if (!empty(p->host_ip))
				return fail(ck, "config.net.%s[%zu].host_ip: set with auto", list,
					    i);
			if ((r = check_auto(ck, list, i, p->host_port, p->guest_port)) < 0)
				return r;
			continue;
		}
		if ((r = check_port(ck, list, i, "host_port", p->host_port)) < 0 ||
		    (r = check_port(ck, list, i, "guest_port", p->guest_port)) < 0)
			return r;
		if (!empty(p->host_ip) && inet_pton(AF_INET, p->host_ip, addr) != 1 &&
		    inet_pton(AF_INET6, p->host_ip, addr) != 1)
			return fail(ck, "config.net.%s[%zu].host_ip: \"%s\" is not an IP address",
				    list, i, p->host_ip);
	}
	return 0;
}

static int check_host_ports(struct check *ck, const char *list,
			    Dropipc__V1__HostPort *const *ports, size_t n)
{
	int r;

	for (size_t i = 0; i < n; i++) {
		const Dropipc__V1__HostPort *p = ports[i];

		if (!p)
			return fail(ck, "config.net.%s[%zu]: missing", list, i);
		if (p->auto_)
			r = check_auto(ck, list, i, p->host_port, p->guest_port);
		else if ((r = check_port(ck, list, i, "host_port", p->host_port)) == 0)
			r = check_port(ck, list, i, "guest_port", p->guest_port);
		if (r < 0)
			return r;
	}
	return 0;
}

static int check_net(struct check *ck, const Dropipc__V1__Net *net)
{
	int r;

	if (!net)
		return fail(ck, "config.net: missing");
	switch (net->mode) {
	case DROPIPC__V1__NET__MODE__MODE_OFF:
	case DROPIPC__V1__NET__MODE__MODE_ISOLATED:
	case DROPIPC__V1__NET__MODE__MODE_UNJAILED:
		break;
	default:
		return fail(ck, "config.net.mode: %d is not a known mode", (int)net->mode);
	}
	if ((r = check_published(ck, "tcp_published_ports", net->tcp_published_ports,
				 net->n_tcp_published_ports)) < 0 ||
	    (r = check_published(ck, "udp_published_ports", net->udp_published_ports,
				 net->n_udp_published_ports)) < 0 ||
	    (r = check_host_ports(ck, "tcp_host_ports", net->tcp_host_ports,
				  net->n_tcp_host_ports)) < 0 ||
	    (r = check_host_ports(ck, "udp_host_ports", net->udp_host_ports,
				  net->n_udp_host_ports)) < 0)
		return r;
	return 0;
}

/*
 * Drop's rule for mount sources and targets and blocked paths: "~", or a
 * path that starts with "/" or "~/"; and normalized: no empty component
 * ("//"), no "." or ".." component, no trailing "/" (but "/" itself). So
 * that what the config names is what the jail touches: "/etc/../usr" is
 * refused rather than read one way by the user and another by the child.
 */
static bool normalized(const uint8_t *p, size_t n)
{
	size_t i;

	if ((n == 1 && (p[0] == '~' || p[0] == '/')))
		return true;
	if (n >= 1 && p[0] == '/')
		i = 1;
	else if (n >= 2 && p[0] == '~' && p[1] == '/')
		i = 2;
	else
		return false;
	for (;;) {
		const uint8_t *slash = memchr(p + i, '/', n - i);
		size_t len = (slash ? (size_t)(slash - p) : n) - i;

		if (len == 0 || (len == 1 && p[i] == '.') ||
		    (len == 2 && p[i] == '.' && p[i + 1] == '.'))
			return false;
		if (!slash)
			return true;
		i += len + 1;
	}
}

/* Most bytes of a refused path an error message quotes. */
#define PATH_QUOTE 200

static int check_path(struct check *ck, ProtobufCBinaryData p, const char *field, size_t i,
		      const char *sub)
{
	int q = (int)(p.len < PATH_QUOTE ? p.len : PATH_QUOTE);

	if (empty_bytes(p))
		return fail(ck, "config.%s[%zu]%s: empty", field, i, sub);
	if (p.data[0] != '/' && !(p.data[0] == '~' && (p.len == 1 || p.data[1] == '/')))
		return fail(ck, "config.%s[%zu]%s: path must start with / or ~/: %.*s", field, i,
			    sub, q, (const char *)p.data);
	if (!normalized(p.data, p.len))
		return fail(ck, "config.%s[%zu]%s: path is not normalized: %.*s", field, i, sub, q,
			    (const char *)p.data);
	return 0;
}

static int check_config(struct check *ck, const Dropipc__V1__Config *cfg)
{
	int r;

	if (!cfg)
		return fail(ck, "config: missing");
	for (size_t i = 0; i < cfg->n_mounts; i++) {
		if (!cfg->mounts[i])
			return fail(ck, "config.mounts[%zu]: missing", i);
		if ((r = check_path(ck, cfg->mounts[i]->source, "mounts", i, ".source")) < 0 ||
		    (r = check_path(ck, cfg->mounts[i]->target, "mounts", i, ".target")) < 0)
			return r;
	}
	for (size_t i = 0; i < cfg->n_blocked_paths; i++)
		if ((r = check_path(ck, cfg->blocked_paths[i], "blocked_paths", i, "")) < 0)
			return r;
	if (cfg->environ) {
		for (size_t i = 0; i < cfg->environ->n_exposed_vars; i++)
			if (empty_bytes(cfg->environ->exposed_vars[i]))
				return fail(ck, "config.environ.exposed_vars[%zu]: empty", i);
		for (size_t i = 0; i < cfg->environ->n_set_vars; i++) {
			ProtobufCBinaryData name;
			const uint8_t *eq;

			if (!cfg->environ->set_vars[i])
				return fail(ck, "config.environ.set_vars[%zu]: missing", i);
			name = cfg->environ->set_vars[i]->name;
			if (empty_bytes(name))
				return fail(ck, "config.environ.set_vars[%zu].name: empty", i);
			/* The name is bytes, not text: the message gives where, not what. */
			if ((eq = memchr(name.data, '=', name.len)))
				return fail(ck, "config.environ.set_vars[%zu].name: '=' at byte %zu",
					    i, (size_t)(eq - name.data));
		}
	}
	return check_net(ck, cfg->net);
}

int dropipc__validate_child_args(const Dropipc__V1__ChildArgs *args, char *errbuf, size_t errlen)
{
	struct check ck = { errbuf, errlen };

	if (errbuf && errlen)
		errbuf[0] = '\0';
	if (!args)
		return fail(&ck, "child_args: missing");
	if (empty(args->env_id))
		return fail(&ck, "env_id: empty");
	if (!args->paths)
		return fail(&ck, "paths: missing");
	/* No exec args is fine: the child runs the user's shell, as Drop does. */
	if (!protobuf_c_enum_descriptor_get_value(&dropipc__v1__pty_mode__descriptor, args->pty))
		return fail(&ck, "pty: %d is not a known mode", (int)args->pty);
	return check_config(&ck, args->config);
}

int dropipc_args_validate(const dropipc_args *args, char *errbuf, size_t errlen)
{
	const Dropipc__V1__ChildArgs *msg = args ? dropipc__args_msg(args) : NULL;
	char err[DROPIPC_ERRMSG_SIZE];
	int r;

	if (!args)
		return -EINVAL;
	if (!errbuf || !errlen) {
		errbuf = err;
		errlen = sizeof(err);
	}
	r = dropipc__validate_child_args(msg, errbuf, errlen);
	return r < 0 ? r : dropipc__strings_check(&msg->base, errbuf, errlen);
}
