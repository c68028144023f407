/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * ChildArgs, the library's own type: a protobuf-c ChildArgs kept private.
 * The public accessors are generated from the schema (lib/gen/args-gen.py,
 * one rule per field shape); each is a line that names its field by the
 * field numbers of its path and calls one of the helpers here, which find
 * the field through protobuf-c's descriptors. So a field added to the
 * schema needs no code here.
 *
 * Everything an args holds lives in one arena (message.c): built args start
 * a new one, received args share the arena the message was decoded into.
 * Setters copy into the arena, so a received args can be changed too, and
 * one free releases it all. Values that a setter replaces stay in the arena
 * until then: args are built once, not edited in a loop.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "internal.h"

/* The room in a repeated message field's array (an array that came off the
 * wire has exactly its count, and none of these). */
struct room {
	struct room *next;
	const void *member;
	size_t cap;
};

/* A list (repeated string or bytes field) as a NULL-terminated array of C
 * strings, kept in step with the field by every set. */
struct strv {
	struct strv *next;
	uint32_t which;
	size_t n, cap; /* v has room for cap strings and the NULL */
	char **v;
};

struct dropipc_args {
	Dropipc__V1__ChildArgs *msg;
	void *arena; /* the arena's first object: this struct, or msg */
	struct room *rooms;
	struct strv *lists;
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

static ProtobufCMessage *new_message(dropipc_args *a, const ProtobufCMessageDescriptor *desc)
{
	ProtobufCMessage *m = alloc(a, desc->sizeof_message);

	if (m)
		desc->message_init(m);
	return m;
}

static bool is_text(const ProtobufCFieldDescriptor *fd)
{
	return fd->type == PROTOBUF_C_TYPE_STRING || fd->type == PROTOBUF_C_TYPE_BYTES;
}

/*
 * Finds the field at path (field numbers from ChildArgs, through singular
 * submessages): its descriptor, and the message that holds it in *owner,
 * NULL where a submessage on the way is absent (and not made: create is
 * false). -EINVAL if a number is not a field of the schema.
 */
static int locate(const dropipc_args *a, const uint32_t *path, size_t depth, bool create,
		  ProtobufCMessage **owner, const ProtobufCFieldDescriptor **fdp)
{
	const ProtobufCMessageDescriptor *desc = &dropipc__v1__child_args__descriptor;
	ProtobufCMessage *m = &a->msg->base;
	const ProtobufCFieldDescriptor *fd;

	for (size_t k = 0;; k++) {
		fd = protobuf_c_message_descriptor_get_field(desc, path[k]);
		if (!fd)
			return -EINVAL;
		if (k + 1 == depth)
			break;
		if (fd->type != PROTOBUF_C_TYPE_MESSAGE || fd->label == PROTOBUF_C_LABEL_REPEATED)
			return -EINVAL;
		if (m) {
			ProtobufCMessage **sub = (ProtobufCMessage **)((char *)m + fd->offset);

			/* Only a setter creates: it holds a non-const args. */
			if (!*sub && create && !(*sub = new_message((dropipc_args *)a, fd->descriptor)))
				return -ENOMEM;
			m = *sub;
		}
		desc = fd->descriptor;
	}
	*owner = m;
	*fdp = fd;
	return 0;
}

static void *member(ProtobufCMessage *m, const ProtobufCFieldDescriptor *fd)
{
	return (char *)m + fd->offset;
}

/* Stores a copy of s in the string or bytes field at p; bytes stay
 * NUL-terminated, as received ones are (message.c). */
static int store_text(dropipc_args *a, const ProtobufCFieldDescriptor *fd, void *p, const char *s)
{
	char *c = copy(a, s);

	if (!c)
		return -ENOMEM;
	if (fd->type == PROTOBUF_C_TYPE_STRING) {
		*(char **)p = c;
	} else {
		((ProtobufCBinaryData *)p)->data = (uint8_t *)c;
		((ProtobufCBinaryData *)p)->len = strlen(c);
	}
	return 0;
}

static const char *text_of(const ProtobufCFieldDescriptor *fd, const void *p)
{
	const char *s = fd->type == PROTOBUF_C_TYPE_STRING
				? *(char *const *)p
				: (const char *)((const ProtobufCBinaryData *)p)->data;

	return s ? s : "";
}

/* ---- text and numbers ----------------------------------------------------- */

int dropipc__args_set_text(dropipc_args *a, const uint32_t *path, size_t depth, const char *s)
{
	const ProtobufCFieldDescriptor *fd;
	ProtobufCMessage *m;
	int r;

	if (!a || !s)
		return -EINVAL;
	r = locate(a, path, depth, true, &m, &fd);
	if (r < 0)
		return r;
	if (!is_text(fd) || fd->label == PROTOBUF_C_LABEL_REPEATED)
		return -EINVAL;
	return store_text(a, fd, member(m, fd), s);
}

const char *dropipc__args_get_text(const dropipc_args *a, const uint32_t *path, size_t depth)
{
	const ProtobufCFieldDescriptor *fd;
	ProtobufCMessage *m;

	if (!a || locate(a, path, depth, false, &m, &fd) < 0 || !is_text(fd) ||
	    fd->label == PROTOBUF_C_LABEL_REPEATED)
		return NULL;
	return m ? text_of(fd, member(m, fd)) : "";
}

/* Whether v is a value the field can hold (an enum's must be one of its
 * values: a C enum takes any int). */
static bool number_ok(const ProtobufCFieldDescriptor *fd, uint32_t v)
{
	switch (fd->type) {
	case PROTOBUF_C_TYPE_UINT32:
		return true;
	case PROTOBUF_C_TYPE_BOOL:
		return v <= 1;
	case PROTOBUF_C_TYPE_ENUM:
		return v <= INT32_MAX && protobuf_c_enum_descriptor_get_value(fd->descriptor, (int)v);
	default:
		return false;
	}
}

static void store_number(const ProtobufCFieldDescriptor *fd, void *p, uint32_t v)
{
	if (fd->type == PROTOBUF_C_TYPE_UINT32)
		*(uint32_t *)p = v;
	else if (fd->type == PROTOBUF_C_TYPE_BOOL)
		*(protobuf_c_boolean *)p = (protobuf_c_boolean)v;
	else
		*(int *)p = (int)v;
}

static uint32_t number_of(const ProtobufCFieldDescriptor *fd, const void *p)
{
	if (fd->type == PROTOBUF_C_TYPE_UINT32)
		return *(const uint32_t *)p;
	if (fd->type == PROTOBUF_C_TYPE_BOOL)
		return *(const protobuf_c_boolean *)p != 0;
	return (uint32_t) * (const int *)p;
}

int dropipc__args_set_number(dropipc_args *a, const uint32_t *path, size_t depth, uint32_t v)
{
	const ProtobufCFieldDescriptor *fd;
	ProtobufCMessage *m;
	int r;

	if (!a)
		return -EINVAL;
	r = locate(a, path, depth, true, &m, &fd);
	if (r < 0)
		return r;
	if (fd->label == PROTOBUF_C_LABEL_REPEATED || !number_ok(fd, v))
		return -EINVAL;
	store_number(fd, member(m, fd), v);
	return 0;
}

int dropipc__args_get_number(const dropipc_args *a, const uint32_t *path, size_t depth,
			     uint32_t *v)
{
	const ProtobufCFieldDescriptor *fd;
	ProtobufCMessage *m;
	int r;

	if (!a || !v)
		return -EINVAL;
	r = locate(a, path, depth, false, &m, &fd);
	if (r < 0)
		return r;
	if (fd->label == PROTOBUF_C_LABEL_REPEATED || !number_ok(fd, 0))
		return -EINVAL;
	*v = m ? number_of(fd, member(m, fd)) : 0;
	return 0;
}

/* The submessage field at path, all of whose n fields are uint32. */
static int numbers_message(const dropipc_args *a, const uint32_t *path, size_t depth, size_t n,
			   bool create, ProtobufCMessage **sub)
{
	const ProtobufCFieldDescriptor *fd;
	ProtobufCMessage *m;
	int r;

	if (!a)
		return -EINVAL;
	r = locate(a, path, depth, create, &m, &fd);
	if (r < 0)
		return r;
	const ProtobufCMessageDescriptor *desc;

	if (fd->type != PROTOBUF_C_TYPE_MESSAGE || fd->label == PROTOBUF_C_LABEL_REPEATED)
		return -EINVAL;
	desc = fd->descriptor;
	if (desc->n_fields != n)
		return -EINVAL;
	for (size_t k = 0; k < n; k++)
		if (desc->fields[k].type != PROTOBUF_C_TYPE_UINT32)
			return -EINVAL;
	*sub = m ? *(ProtobufCMessage **)member(m, fd) : NULL;
	if (!*sub && create) {
		*sub = new_message((dropipc_args *)a, fd->descriptor);
		if (!*sub)
			return -ENOMEM;
		*(ProtobufCMessage **)member(m, fd) = *sub;
	}
	return 0;
}

int dropipc__args_set_numbers(dropipc_args *a, const uint32_t *path, size_t depth,
			      const uint32_t *v, size_t n)
{
	const ProtobufCFieldDescriptor *fd;
	ProtobufCMessage *sub, *m;
	uint32_t any = 0;
	int r;

	/* All 0 means what absent means: the submessage goes (the dump and
	 * the receiver then see one thing, not two). */
	for (size_t k = 0; k < n; k++)
		any |= v[k];
	if (!any) {
		r = numbers_message(a, path, depth, n, false, &sub);
		if (r == 0 && sub && locate(a, path, depth, false, &m, &fd) == 0 && m)
			*(ProtobufCMessage **)member(m, fd) = NULL;
		return r;
	}
	r = numbers_message(a, path, depth, n, true, &sub);

	for (size_t k = 0; r == 0 && k < n; k++)
		*(uint32_t *)member(sub, &sub->descriptor->fields[k]) = v[k];
	return r;
}

int dropipc__args_get_numbers(const dropipc_args *a, const uint32_t *path, size_t depth,
			      uint32_t *const *v, size_t n)
{
	ProtobufCMessage *sub;
	int r;

	for (size_t k = 0; k < n; k++)
		if (!v[k])
			return -EINVAL;
	r = numbers_message(a, path, depth, n, false, &sub);
	for (size_t k = 0; r == 0 && k < n; k++)
		*v[k] = sub ? *(uint32_t *)member(sub, &sub->descriptor->fields[k]) : 0;
	return r;
}

/* ---- repeated messages ---------------------------------------------------- */

/* A repeated message field: its descriptor, array and count (NULL where
 * its message is absent). */
struct elements {
	const ProtobufCFieldDescriptor *fd;
	ProtobufCMessage ***arr;
	size_t *n;
};

static int elements_at(const dropipc_args *a, const uint32_t *path, size_t depth, bool create,
		       struct elements *el)
{
	ProtobufCMessage *m;
	int r = a ? locate(a, path, depth, create, &m, &el->fd) : -EINVAL;

	if (r < 0)
		return r;
	if (el->fd->type != PROTOBUF_C_TYPE_MESSAGE || el->fd->label != PROTOBUF_C_LABEL_REPEATED)
		return -EINVAL;
	el->arr = m ? member(m, el->fd) : NULL;
	el->n = m ? (size_t *)((char *)m + el->fd->quantifier_offset) : NULL;
	return 0;
}

/* The number of bool fields of an element: its flag bits. */
static unsigned flag_bits(const ProtobufCMessageDescriptor *desc)
{
	unsigned bits = 0;

	for (unsigned k = 0; k < desc->n_fields; k++)
		bits += desc->fields[k].type == PROTOBUF_C_TYPE_BOOL;
	return bits;
}

/* Fills a new element from the values (the other fields in field order,
 * the bools from flags). */
static int fill(dropipc_args *a, ProtobufCMessage *e, const union dropipc__in *v, size_t nv,
		unsigned flags)
{
	const ProtobufCMessageDescriptor *desc = e->descriptor;
	unsigned bit = 0;
	size_t j = 0;
	int r = 0;

	for (unsigned k = 0; k < desc->n_fields && r == 0; k++) {
		const ProtobufCFieldDescriptor *fd = &desc->fields[k];

		if (fd->type == PROTOBUF_C_TYPE_BOOL)
			*(protobuf_c_boolean *)member(e, fd) = (flags >> bit++) & 1;
		else if (j == nv)
			r = -EINVAL;
		else if (is_text(fd)) {
			r = v[j].s ? store_text(a, fd, member(e, fd), v[j].s) : -EINVAL;
			j++;
		} else if (fd->type == PROTOBUF_C_TYPE_UINT32)
			*(uint32_t *)member(e, fd) = v[j++].u;
		else
			r = -EINVAL;
	}
	return r;
}

/* The array at *arr is replaced by one of exactly its count. */
static void forget_room(dropipc_args *a, const void *arr)
{
	for (struct room *rm = a->rooms; rm; rm = rm->next)
		if (rm->member == arr)
			rm->cap = 0;
}

/* Room for one more element of size bytes in the array at *arr of n. */
static int make_room(dropipc_args *a, void **arr, size_t n, size_t size)
{
	size_t cap = n < 2 ? 4 : 2 * n;
	struct room *rm;
	void *p;

	for (rm = a->rooms; rm && rm->member != (const void *)arr; rm = rm->next)
		;
	if (rm && n < rm->cap)
		return 0;
	if (!rm) {
		rm = alloc(a, sizeof(*rm));
		if (!rm)
			return -ENOMEM;
		*rm = (struct room){ .next = a->rooms, .member = arr };
		a->rooms = rm;
	}
	p = alloc(a, cap * size);
	if (!p)
		return -ENOMEM;
	if (n)
		memcpy(p, *arr, n * size);
	*arr = p;
	rm->cap = cap;
	return 0;
}

int dropipc__args_add(dropipc_args *a, const uint32_t *path, size_t depth,
		      const union dropipc__in *v, size_t nv, unsigned int flags)
{
	struct elements el;
	ProtobufCMessage *e;
	unsigned bits;
	int r;

	r = elements_at(a, path, depth, true, &el);
	if (r < 0)
		return r;
	/* Unknown flag bits are refused, as everywhere in the API. */
	bits = flag_bits(el.fd->descriptor);
	if (bits < 32 && flags >> bits)
		return -EINVAL;
	e = new_message(a, el.fd->descriptor);
	if (!e)
		return -ENOMEM;
	r = fill(a, e, v, nv, flags);
	if (r == 0)
		r = make_room(a, (void **)el.arr, *el.n, sizeof(**el.arr));
	if (r < 0)
		return r;
	(*el.arr)[(*el.n)++] = e;
	return 0;
}

int dropipc__args_get(const dropipc_args *a, const uint32_t *path, size_t depth, size_t i,
		      const union dropipc__out *v, size_t nv, unsigned int *flags)
{
	const ProtobufCMessageDescriptor *desc;
	unsigned bit = 0, fl = 0;
	struct elements el;
	ProtobufCMessage *e;
	size_t j = 0;
	int r;

	r = elements_at(a, path, depth, false, &el);
	if (r < 0)
		return r;
	desc = el.fd->descriptor;
	for (size_t k = 0; k < nv; k++)
		if (!v[k].s)
			return -EINVAL;
	if (flag_bits(desc) && !flags)
		return -EINVAL;
	/* Past the end: -ERANGE, the out pointers untouched. */
	if (!el.n || i >= *el.n)
		return -ERANGE;
	e = (*el.arr)[i];
	for (unsigned k = 0; k < desc->n_fields; k++) {
		const ProtobufCFieldDescriptor *f = &desc->fields[k];

		if (f->type == PROTOBUF_C_TYPE_BOOL)
			fl |= (unsigned)(*(protobuf_c_boolean *)member(e, f) != 0) << bit++;
		else if (j < nv && is_text(f))
			*v[j++].s = text_of(f, member(e, f));
		else if (j < nv && f->type == PROTOBUF_C_TYPE_UINT32)
			*v[j++].u = *(uint32_t *)member(e, f);
	}
	if (flags)
		*flags = fl;
	return 0;
}

/* ---- lists ------------------------------------------------------------------ */

/* The path of list `which` (its field numbers, one byte each), if it is
 * one the schema has. */
static size_t list_path(uint32_t which, uint32_t path[4])
{
	size_t depth = 0;
	bool known = false;

	for (size_t k = 0; k < dropipc__args_n_lists; k++)
		known |= dropipc__args_lists[k] == which;
	if (!known)
		return 0;
	for (int shift = 24; shift >= 0; shift -= 8)
		if (which >> shift & 0xff)
			path[depth++] = which >> shift & 0xff;
	return depth;
}

static struct strv *strv_of(const dropipc_args *a, uint32_t which)
{
	struct strv *l;

	for (l = a->lists; l && l->which != which; l = l->next)
		;
	return l;
}

/* Remembers the list's elements (n of them, at arr) as C strings. */
static int keep_strv(dropipc_args *a, uint32_t which, const ProtobufCFieldDescriptor *fd,
		     const void *arr, size_t n)
{
	struct strv *l = strv_of(a, which);
	char **v = alloc(a, (n + 1) * sizeof(char *));
	size_t size = fd->type == PROTOBUF_C_TYPE_STRING ? sizeof(char *)
							 : sizeof(ProtobufCBinaryData);

	if (!v)
		return -ENOMEM;
	for (size_t k = 0; k < n; k++)
		v[k] = (char *)text_of(fd, (const char *)arr + k * size);
	if (!l) {
		l = alloc(a, sizeof(*l));
		if (!l)
			return -ENOMEM;
		*l = (struct strv){ .next = a->lists, .which = which };
		a->lists = l;
	}
	l->v = v;
	l->n = l->cap = n;
	return 0;
}

int dropipc__args_set_list(dropipc_args *a, uint32_t which, const char *const *strv)
{
	const ProtobufCFieldDescriptor *fd;
	uint32_t path[4];
	size_t n = 0, depth, size;
	ProtobufCMessage *m;
	char *arr;
	int r;

	depth = a ? list_path(which, path) : 0;
	if (!depth)
		return -EINVAL;
	r = locate(a, path, depth, true, &m, &fd);
	if (r < 0)
		return r;
	while (strv && strv[n])
		n++;
	/* A new array, filled before it replaces the old one: the old list
	 * stays whole on failure, and strv may be the args' own. */
	size = fd->type == PROTOBUF_C_TYPE_STRING ? sizeof(char *) : sizeof(ProtobufCBinaryData);
	arr = alloc(a, (n ? n : 1) * size);
	if (!arr)
		return -ENOMEM;
	for (size_t k = 0; k < n; k++)
		if ((r = store_text(a, fd, arr + k * size, strv[k])) < 0)
			return r;
	r = keep_strv(a, which, fd, arr, n);
	if (r < 0)
		return r;
	forget_room(a, member(m, fd));
	*(void **)member(m, fd) = arr;
	*(size_t *)((char *)m + fd->quantifier_offset) = n;
	return 0;
}

int dropipc__args_add_list(dropipc_args *a, uint32_t which, const char *str)
{
	const ProtobufCFieldDescriptor *fd;
	uint32_t path[4];
	size_t depth, size, *n;
	ProtobufCMessage *m;
	struct strv *l;
	void **arr;
	char **v;
	int r;

	depth = a && str ? list_path(which, path) : 0;
	if (!depth)
		return -EINVAL;
	r = locate(a, path, depth, true, &m, &fd);
	if (r < 0)
		return r;
	arr = member(m, fd);
	n = (size_t *)((char *)m + fd->quantifier_offset);
	if (!strv_of(a, which) && (r = keep_strv(a, which, fd, *arr, *n)) < 0)
		return r;
	l = strv_of(a, which);
	if (l->cap == l->n) {
		v = alloc(a, (2 * l->n + 5) * sizeof(char *));
		if (!v)
			return -ENOMEM;
		memcpy(v, l->v, l->n * sizeof(char *));
		l->v = v;
		l->cap = 2 * l->n + 4;
	}
	size = fd->type == PROTOBUF_C_TYPE_STRING ? sizeof(char *) : sizeof(ProtobufCBinaryData);
	r = make_room(a, arr, *n, size);
	if (r == 0)
		r = store_text(a, fd, (char *)*arr + *n * size, str);
	if (r < 0)
		return r;
	l->v[l->n++] = (char *)text_of(fd, (char *)*arr + *n * size);
	l->v[l->n] = NULL;
	(*n)++;
	return 0;
}

char *const *dropipc__args_get_list(const dropipc_args *a, uint32_t which, size_t *n)
{
	static char *const none[] = { NULL };
	const struct strv *l;
	uint32_t path[4];

	if (!a || !n || !list_path(which, path))
		return NULL;
	l = strv_of(a, which);
	*n = l ? l->n : 0;
	return l ? l->v : none;
}

/* ---- the object ------------------------------------------------------------ */

/* Fills in the submessages a sender always has (validation wants them). */
static int complete(dropipc_args *a)
{
	Dropipc__V1__ChildArgs *m = a->msg;

	if (!m->paths)
		m->paths = (Dropipc__V1__Paths *)new_message(a, &dropipc__v1__paths__descriptor);
	if (!m->config)
		m->config = (Dropipc__V1__Config *)new_message(a, &dropipc__v1__config__descriptor);
	if (!m->paths || !m->config)
		return -ENOMEM;
	if (!m->config->net)
		m->config->net = (Dropipc__V1__Net *)new_message(a, &dropipc__v1__net__descriptor);
	return m->config->net ? 0 : -ENOMEM;
}

int dropipc_args_new(dropipc_args **args)
{
	dropipc_args *a;

	if (!args)
		return -EINVAL;
	*args = NULL;
	a = dropipc__message_new(sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->arena = a;
	a->msg = (Dropipc__V1__ChildArgs *)new_message(a, &dropipc__v1__child_args__descriptor);
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

	*args = NULL;
	if (!a)
		return -ENOMEM;
	*a = (dropipc_args){ .msg = msg, .arena = msg };
	if (complete(a) < 0)
		return -ENOMEM;
	/* Every list as C strings, NULL-terminated (exec_args ready for
	 * execvp): built once, so that the getters only read. */
	for (size_t k = 0; k < dropipc__args_n_lists; k++) {
		const ProtobufCFieldDescriptor *fd;
		uint32_t path[4];
		size_t depth = list_path(dropipc__args_lists[k], path);
		ProtobufCMessage *m;
		int r = locate(a, path, depth, false, &m, &fd);

		if (r == 0 && m)
			r = keep_strv(a, dropipc__args_lists[k], fd, *(void **)member(m, fd),
				      *(size_t *)((char *)m + fd->quantifier_offset));
		if (r < 0)
			return r;
	}
	*args = a;
	return 0;
}

const Dropipc__V1__ChildArgs *dropipc__args_msg(const dropipc_args *args)
{
	return args->msg;
}

dropipc_args *dropipc_args_free(dropipc_args *args)
{
	if (args)
		dropipc__message_free(args->arena);
	return NULL;
}
