/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ChildArgs, the library's own type: a protobuf-c ChildArgs kept private,
 * with setters for the parent and getters for the child.
 *
 * Everything an args holds lives in one arena (message.c): built args start
 * a new one, received args share the arena the message was decoded into.
 * Setters copy into the arena, so a received args can be changed too, and
 * one free releases it all. Strings that a setter replaces stay in the
 * arena until then: args are built once, not edited in a loop.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "internal.h"

/* The repeated fields, each with its own capacity. */
enum list {
	L_EXEC,
	L_MOUNTS,
	L_BLOCKED,
	L_EXPOSED,
	L_SET_VARS,
	L_PUBLISHED_TCP,
	L_PUBLISHED_UDP,
	L_HOST_TCP,
	L_HOST_UDP,
	N_LISTS
};

struct dropipc_args {
	Dropipc__V1__ChildArgs *msg;
	void *arena; /* the arena's first object: this struct, or msg */
	/* exec_args as C strings, NULL-terminated for execvp(), kept in step
	 * with msg->exec_args (bytes on the wire). */
	char **argv;
	/* Room in each repeated field's array; an array that came off the
	 * wire has exactly its count (and is copied on the first add). */
	size_t cap[N_LISTS];
};

static void *alloc(dropipc_args *a, size_t size)
{
	void *p = dropipc__message_alloc(a->arena, size);

	if (p)
		memset(p, 0, size);
	return p;
}

static char *copy(dropipc_args *a, const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = dropipc__message_alloc(a->arena, n);

	return p ? memcpy(p, s, n) : NULL;
}

static int set_string(dropipc_args *a, char **field, const char *s);

/* Sets *field to a copy of s, NUL-terminated like every bytes field the
 * library holds. */
static int set_bytes(dropipc_args *a, ProtobufCBinaryData *field, const char *s)
{
	char *p;
	int r = set_string(a, &p, s);

	if (r == 0) {
		field->data = (uint8_t *)p;
		field->len = strlen(p);
	}
	return r;
}

/* A bytes field as a C string: received ones are NUL-terminated in the
 * arena (message.c), set ones by set_bytes(). */
static const char *str(const ProtobufCBinaryData *b)
{
	return b->data ? (const char *)b->data : "";
}

/* Sets *field to a copy of s. */
static int set_string(dropipc_args *a, char **field, const char *s)
{
	char *p;

	if (!s)
		return -EINVAL;
	p = copy(a, s);
	if (!p)
		return -ENOMEM;
	*field = p;
	return 0;
}

/*
 * Makes room for one more element of a repeated field whose array is *arr
 * with n elements, and returns where it goes. extra is 1 for exec_args,
 * which keep a NULL after the last one.
 */
static void *grow_sized(dropipc_args *a, enum list l, void **arr, size_t n, size_t extra,
			size_t size)
{
	size_t cap = a->cap[l];
	char *p;

	if (n + extra + 1 > cap) {
		cap = cap ? 2 * cap : 4;
		if (cap < n + extra + 1)
			cap = 2 * (n + extra + 1);
		p = alloc(a, cap * size);
		if (!p)
			return NULL;
		if (n)
			memcpy(p, *arr, n * size);
		*arr = p;
		a->cap[l] = cap;
	}
	return (char *)*arr + n * size;
}

static void **grow(dropipc_args *a, enum list l, void ***arr, size_t n, size_t extra)
{
	return grow_sized(a, l, (void **)arr, n, extra, sizeof(void *));
}

/* The optional submessages, made on first use; NULL if out of memory. */
static Dropipc__V1__Environ *environ_of(dropipc_args *a)
{
	Dropipc__V1__Config *cfg = a->msg->config;

	if (!cfg->environ) {
		cfg->environ = alloc(a, sizeof(*cfg->environ));
		if (cfg->environ)
			dropipc__v1__environ__init(cfg->environ);
	}
	return cfg->environ;
}

/* Fills in the submessages a sender always has. */
static int complete(dropipc_args *a)
{
	Dropipc__V1__ChildArgs *m = a->msg;

	if (!m->paths && (m->paths = alloc(a, sizeof(*m->paths))))
		dropipc__v1__paths__init(m->paths);
	if (!m->config && (m->config = alloc(a, sizeof(*m->config))))
		dropipc__v1__config__init(m->config);
	if (!m->paths || !m->config)
		return -ENOMEM;
	if (!m->config->net && (m->config->net = alloc(a, sizeof(*m->config->net))))
		dropipc__v1__net__init(m->config->net);
	return m->config->net ? 0 : -ENOMEM;
}

int dropipc_args_new(dropipc_args **args)
{
	dropipc_args *a;

	*args = NULL;
	a = dropipc__message_new(sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->arena = a;
	a->msg = alloc(a, sizeof(*a->msg));
	if (a->msg)
		dropipc__v1__child_args__init(a->msg);
	if (!a->msg || complete(a) < 0) {
		dropipc__message_free(a);
		return -ENOMEM;
	}
	*args = a;
	return 0;
}

int dropipc__args_wrap(Dropipc__V1__ChildArgs *msg, dropipc_args **args)
{
	dropipc_args *a = dropipc__message_alloc(msg, sizeof(*a));
	char **argv;

	*args = NULL;
	if (!a)
		return -ENOMEM;
	*a = (dropipc_args){ .msg = msg, .arena = msg };
	/* exec_args as C strings ending with NULL, ready for execvp: room for
	 * exactly that, as a received args is seldom added to. */
	argv = dropipc__message_alloc(msg, (msg->n_exec_args + 1) * sizeof(char *));
	if (!argv || complete(a) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < msg->n_exec_args; i++)
		argv[i] = (char *)str(&msg->exec_args[i]);
	argv[msg->n_exec_args] = NULL;
	a->argv = argv;
	a->cap[L_EXEC] = msg->n_exec_args;
	*args = a;
	return 0;
}

const Dropipc__V1__ChildArgs *dropipc__args_msg(const dropipc_args *args)
{
	return args->msg;
}

void dropipc_args_free(dropipc_args *args)
{
	if (args)
		dropipc__message_free(args->arena);
}

/* ---- scalars ------------------------------------------------------------- */

int dropipc_args_set_env_id(dropipc_args *args, const char *env_id)
{
	return set_string(args, &args->msg->env_id, env_id);
}

const char *dropipc_args_env_id(const dropipc_args *args)
{
	return args->msg->env_id;
}

/* Paths' fields are its strings 1..12 in order: the descriptor finds them. */
static ProtobufCBinaryData *path_field(const dropipc_args *args, dropipc_path which)
{
	const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(
		&dropipc__v1__paths__descriptor, (unsigned)which);

	if (!f || f->type != PROTOBUF_C_TYPE_BYTES)
		return NULL;
	return (ProtobufCBinaryData *)((char *)args->msg->paths + f->offset);
}

int dropipc_args_set_path(dropipc_args *args, dropipc_path which, const char *path)
{
	ProtobufCBinaryData *field = path_field(args, which);

	return field ? set_bytes(args, field, path) : -EINVAL;
}

const char *dropipc_args_path(const dropipc_args *args, dropipc_path which)
{
	ProtobufCBinaryData *field = path_field(args, which);

	return field ? str(field) : NULL;
}

int dropipc_args_set_extends(dropipc_args *args, const char *name)
{
	return set_string(args, &args->msg->config->extends, name);
}

const char *dropipc_args_extends(const dropipc_args *args)
{
	return args->msg->config->extends;
}

int dropipc_args_set_net_mode(dropipc_args *args, dropipc_net_mode mode)
{
	args->msg->config->net->mode = (Dropipc__V1__Net__Mode)mode;
	return 0;
}

dropipc_net_mode dropipc_args_net_mode(const dropipc_args *args)
{
	return (dropipc_net_mode)args->msg->config->net->mode;
}

/* ---- bytes lists ---------------------------------------------------------- */

static int add_bytes(dropipc_args *a, enum list l, ProtobufCBinaryData **arr, size_t *n,
		     const char *s)
{
	ProtobufCBinaryData *slot;

	if (!s)
		return -EINVAL;
	slot = grow_sized(a, l, (void **)arr, *n, 0, sizeof(**arr));
	if (!slot)
		return -ENOMEM;
	if (set_bytes(a, slot, s) < 0)
		return -ENOMEM;
	(*n)++;
	return 0;
}

static const char *bytes_at(const ProtobufCBinaryData *arr, size_t n, size_t i)
{
	return i < n ? str(&arr[i]) : NULL;
}

int dropipc_args_add_blocked_path(dropipc_args *args, const char *path)
{
	Dropipc__V1__Config *c = args->msg->config;

	return add_bytes(args, L_BLOCKED, &c->blocked_paths, &c->n_blocked_paths, path);
}

size_t dropipc_args_n_blocked_paths(const dropipc_args *args)
{
	return args->msg->config->n_blocked_paths;
}

const char *dropipc_args_blocked_path(const dropipc_args *args, size_t i)
{
	const Dropipc__V1__Config *c = args->msg->config;

	return bytes_at(c->blocked_paths, c->n_blocked_paths, i);
}

int dropipc_args_add_exposed_var(dropipc_args *args, const char *pattern)
{
	Dropipc__V1__Environ *e = environ_of(args);

	if (!e)
		return -ENOMEM;
	return add_bytes(args, L_EXPOSED, &e->exposed_vars, &e->n_exposed_vars, pattern);
}

size_t dropipc_args_n_exposed_vars(const dropipc_args *args)
{
	const Dropipc__V1__Environ *e = args->msg->config->environ;

	return e ? e->n_exposed_vars : 0;
}

const char *dropipc_args_exposed_var(const dropipc_args *args, size_t i)
{
	const Dropipc__V1__Environ *e = args->msg->config->environ;

	return e ? bytes_at(e->exposed_vars, e->n_exposed_vars, i) : NULL;
}

int dropipc_args_set_exec_args(dropipc_args *args, const char *const *argv)
{
	Dropipc__V1__ChildArgs *m = args->msg;
	ProtobufCBinaryData *arr;
	size_t n = 0;
	char **cs;

	while (argv && argv[n])
		n++;
	/* New arrays, filled before they replace the old ones: the old command
	 * stays whole on failure, and argv may be the args' own. */
	arr = alloc(args, (n ? n : 1) * sizeof(*arr));
	cs = alloc(args, (n + 1) * sizeof(char *));
	if (!arr || !cs)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (set_bytes(args, &arr[i], argv[i]) < 0)
			return -ENOMEM;
		cs[i] = (char *)arr[i].data;
	}
	cs[n] = NULL;
	m->exec_args = arr;
	m->n_exec_args = n;
	args->argv = cs;
	args->cap[L_EXEC] = n;
	return 0;
}

int dropipc_args_add_exec_arg(dropipc_args *args, const char *arg)
{
	Dropipc__V1__ChildArgs *m = args->msg;
	size_t n = m->n_exec_args, cap = args->cap[L_EXEC];
	char **cs = args->argv;

	if (add_bytes(args, L_EXEC, &m->exec_args, &m->n_exec_args, arg) < 0)
		return arg ? -ENOMEM : -EINVAL;
	/* argv grows with the bytes array, with room for its NULL. */
	if (args->cap[L_EXEC] != cap) {
		cs = alloc(args, (args->cap[L_EXEC] + 1) * sizeof(char *));
		if (!cs) {
			m->n_exec_args--;
			return -ENOMEM;
		}
		if (n)
			memcpy(cs, args->argv, n * sizeof(char *));
		args->argv = cs;
	}
	cs[n] = (char *)m->exec_args[n].data;
	cs[n + 1] = NULL;
	return 0;
}

char *const *dropipc_args_exec_args(const dropipc_args *args, size_t *n)
{
	static char *const none[] = { NULL };
	const Dropipc__V1__ChildArgs *m = args->msg;

	if (n)
		*n = m->n_exec_args;
	return args->argv ? args->argv : none;
}

/* ---- mounts and variables -------------------------------------------------- */

int dropipc_args_add_mount(dropipc_args *args, const char *source, const char *target,
			   unsigned int flags)
{
	Dropipc__V1__Config *c = args->msg->config;
	Dropipc__V1__Mount *m, **slot;

	if (!source || !target)
		return -EINVAL;
	m = alloc(args, sizeof(*m));
	if (!m)
		return -ENOMEM;
	dropipc__v1__mount__init(m);
	if (set_bytes(args, &m->source, source) < 0 || set_bytes(args, &m->target, target) < 0)
		return -ENOMEM;
	m->rw = (flags & DROPIPC_MOUNT_RW) != 0;
	m->overlay = (flags & DROPIPC_MOUNT_OVERLAY) != 0;
	slot = (Dropipc__V1__Mount **)grow(args, L_MOUNTS, (void ***)&c->mounts, c->n_mounts, 0);
	if (!slot)
		return -ENOMEM;
	*slot = m;
	c->n_mounts++;
	return 0;
}

size_t dropipc_args_n_mounts(const dropipc_args *args)
{
	return args->msg->config->n_mounts;
}

int dropipc_args_mount(const dropipc_args *args, size_t i, const char **source,
		       const char **target, unsigned int *flags)
{
	const Dropipc__V1__Config *c = args->msg->config;
	const Dropipc__V1__Mount *m;

	if (i >= c->n_mounts)
		return -ERANGE;
	m = c->mounts[i];
	if (source)
		*source = str(&m->source);
	if (target)
		*target = str(&m->target);
	if (flags)
		*flags = (m->rw ? DROPIPC_MOUNT_RW : 0) | (m->overlay ? DROPIPC_MOUNT_OVERLAY : 0);
	return 0;
}

int dropipc_args_add_set_var(dropipc_args *args, const char *name, const char *value)
{
	Dropipc__V1__Environ *e = environ_of(args);
	Dropipc__V1__SetVar *v, **slot;

	if (!name || !value)
		return -EINVAL;
	v = e ? alloc(args, sizeof(*v)) : NULL;
	if (!v)
		return -ENOMEM;
	dropipc__v1__set_var__init(v);
	if (set_bytes(args, &v->name, name) < 0 || set_bytes(args, &v->value, value) < 0)
		return -ENOMEM;
	slot = (Dropipc__V1__SetVar **)grow(args, L_SET_VARS, (void ***)&e->set_vars,
					    e->n_set_vars, 0);
	if (!slot)
		return -ENOMEM;
	*slot = v;
	e->n_set_vars++;
	return 0;
}

size_t dropipc_args_n_set_vars(const dropipc_args *args)
{
	const Dropipc__V1__Environ *e = args->msg->config->environ;

	return e ? e->n_set_vars : 0;
}

int dropipc_args_set_var(const dropipc_args *args, size_t i, const char **name,
			 const char **value)
{
	const Dropipc__V1__Environ *e = args->msg->config->environ;

	if (!e || i >= e->n_set_vars)
		return -ERANGE;
	if (name)
		*name = str(&e->set_vars[i]->name);
	if (value)
		*value = str(&e->set_vars[i]->value);
	return 0;
}

/* ---- ports ------------------------------------------------------------------ */

/* The published (or host) port list of transport t: array, count, list. */
static Dropipc__V1__PublishedPort ***published(const dropipc_args *args, dropipc_transport t,
					       size_t **n, enum list *l)
{
	Dropipc__V1__Net *net = args->msg->config->net;

	*l = t == DROPIPC_UDP ? L_PUBLISHED_UDP : L_PUBLISHED_TCP;
	*n = t == DROPIPC_UDP ? &net->n_udp_published_ports : &net->n_tcp_published_ports;
	return t == DROPIPC_UDP ? &net->udp_published_ports : &net->tcp_published_ports;
}

static Dropipc__V1__HostPort ***host(const dropipc_args *args, dropipc_transport t, size_t **n,
				     enum list *l)
{
	Dropipc__V1__Net *net = args->msg->config->net;

	*l = t == DROPIPC_UDP ? L_HOST_UDP : L_HOST_TCP;
	*n = t == DROPIPC_UDP ? &net->n_udp_host_ports : &net->n_tcp_host_ports;
	return t == DROPIPC_UDP ? &net->udp_host_ports : &net->tcp_host_ports;
}

static bool known_transport(dropipc_transport t)
{
	return t == DROPIPC_TCP || t == DROPIPC_UDP;
}

int dropipc_args_add_published_port(dropipc_args *args, dropipc_transport t, unsigned int flags,
				    const char *host_ip, unsigned int host_port,
				    unsigned int guest_port)
{
	Dropipc__V1__PublishedPort ***arr, *p, **slot;
	enum list l;
	size_t *n;

	if (!known_transport(t))
		return -EINVAL;
	arr = published(args, t, &n, &l);
	p = alloc(args, sizeof(*p));
	if (!p)
		return -ENOMEM;
	dropipc__v1__published_port__init(p);
	if (host_ip && set_string(args, &p->host_ip, host_ip) < 0)
		return -ENOMEM;
	p->auto_ = (flags & DROPIPC_PORT_AUTO) != 0;
	p->host_port = host_port;
	p->guest_port = guest_port;
	slot = (Dropipc__V1__PublishedPort **)grow(args, l, (void ***)arr, *n, 0);
	if (!slot)
		return -ENOMEM;
	*slot = p;
	(*n)++;
	return 0;
}

size_t dropipc_args_n_published_ports(const dropipc_args *args, dropipc_transport t)
{
	enum list l;
	size_t *n;

	if (!known_transport(t))
		return 0;
	published(args, t, &n, &l);
	return *n;
}

int dropipc_args_published_port(const dropipc_args *args, dropipc_transport t, size_t i,
				unsigned int *flags, const char **host_ip, unsigned int *host_port,
				unsigned int *guest_port)
{
	Dropipc__V1__PublishedPort **arr, *p;
	enum list l;
	size_t *n;

	if (!known_transport(t))
		return -EINVAL;
	arr = *published(args, t, &n, &l);
	if (i >= *n)
		return -ERANGE;
	p = arr[i];
	if (flags)
		*flags = p->auto_ ? DROPIPC_PORT_AUTO : 0;
	if (host_ip)
		*host_ip = p->host_ip;
	if (host_port)
		*host_port = p->host_port;
	if (guest_port)
		*guest_port = p->guest_port;
	return 0;
}

int dropipc_args_add_host_port(dropipc_args *args, dropipc_transport t, unsigned int flags,
			       unsigned int host_port, unsigned int guest_port)
{
	Dropipc__V1__HostPort ***arr, *p, **slot;
	enum list l;
	size_t *n;

	if (!known_transport(t))
		return -EINVAL;
	arr = host(args, t, &n, &l);
	p = alloc(args, sizeof(*p));
	if (!p)
		return -ENOMEM;
	dropipc__v1__host_port__init(p);
	p->auto_ = (flags & DROPIPC_PORT_AUTO) != 0;
	p->host_port = host_port;
	p->guest_port = guest_port;
	slot = (Dropipc__V1__HostPort **)grow(args, l, (void ***)arr, *n, 0);
	if (!slot)
		return -ENOMEM;
	*slot = p;
	(*n)++;
	return 0;
}

size_t dropipc_args_n_host_ports(const dropipc_args *args, dropipc_transport t)
{
	enum list l;
	size_t *n;

	if (!known_transport(t))
		return 0;
	host(args, t, &n, &l);
	return *n;
}

int dropipc_args_host_port(const dropipc_args *args, dropipc_transport t, size_t i,
			   unsigned int *flags, unsigned int *host_port, unsigned int *guest_port)
{
	Dropipc__V1__HostPort **arr, *p;
	enum list l;
	size_t *n;

	if (!known_transport(t))
		return -EINVAL;
	arr = *host(args, t, &n, &l);
	if (i >= *n)
		return -ERANGE;
	p = arr[i];
	if (flags)
		*flags = p->auto_ ? DROPIPC_PORT_AUTO : 0;
	if (host_port)
		*host_port = p->host_port;
	if (guest_port)
		*guest_port = p->guest_port;
	return 0;
}
