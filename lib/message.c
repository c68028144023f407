/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * Messages: an Envelope packed into a frame on the way out; on the way in,
 * the envelope's body unpacked into an arena that holds the whole message,
 * and the frame's fds handed to the fields that claim them.
 */
#include <errno.h>
#include <stdalign.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

/* ---- the arena ------------------------------------------------------------ */

/*
 * protobuf-c allocates every string and submessage on its own; the arena
 * turns those into a few large allocations. The unpacked message is the
 * first object in the arena's first region, so the message pointer finds
 * its arena, and one call frees it all.
 *
 * Large blocks (protobuf-c's scratch tables while it unpacks, and the
 * arrays of long repeated fields) get their own malloc and a real free:
 * the scratch tables are freed before unpack returns, and in a region they
 * would stay held for the life of the message.
 */
struct chunk {
	struct chunk *next;
	size_t size;
	bool large; /* one block, not a region of small objects */
	alignas(max_align_t) unsigned char data[];
};

struct arena {
	struct chunk *chunks; /* regions after the first, and large blocks */
	unsigned char *cur;   /* where the next object goes */
	size_t left;          /* bytes free at cur */
	size_t next_size;     /* size of further regions */
	size_t total, limit;  /* bytes held, and the most allowed */
	bool over_limit;
	bool out_of_memory; /* malloc failed: not the peer's doing */
	ProtobufCAllocator allocator;
	alignas(max_align_t) unsigned char data[];
};

/* protobuf-c's structs hold pointers, sizes and 64-bit numbers at most. */
#define ALIGN (alignof(uint64_t) > alignof(void *) ? alignof(uint64_t) : alignof(void *))
#define LARGE_BLOCK 65536

static size_t align_up(size_t n)
{
	return (n + ALIGN - 1) & ~(ALIGN - 1);
}

/* A new chunk of size bytes at the head of the list, or NULL. */
static struct chunk *chunk_new(struct arena *a, size_t size, bool large)
{
	struct chunk *c;

	if (size > a->limit - a->total) {
		a->over_limit = true;
		return NULL;
	}
	c = malloc(sizeof(*c) + size);
	if (!c) {
		a->out_of_memory = true;
		return NULL;
	}
	c->next = a->chunks;
	c->size = size;
	c->large = large;
	a->chunks = c;
	a->total += size;
	return c;
}

/* need bytes (aligned) from the current region, which has them. */
static void *take(struct arena *a, size_t need)
{
	void *p = a->cur;

	a->cur += need;
	a->left -= need;
	return p;
}

/*
 * Every object is followed by a zero byte: protobuf-c copies a bytes
 * field's len bytes into an object of exactly len bytes, so the field comes
 * out NUL-terminated, a C string the getters can return as it is (a NUL
 * inside was refused before the decode, wire.c).
 */
static void *arena_alloc(void *data, size_t size)
{
	struct arena *a = data;
	size_t need = align_up(size + 1);
	unsigned char *p;
	struct chunk *c;

	if (need >= LARGE_BLOCK) {
		c = chunk_new(a, need, true);
		p = c ? c->data : NULL;
	} else {
		if (need > a->left) {
			c = chunk_new(a, need > a->next_size ? need : a->next_size, false);
			if (!c)
				return NULL;
			a->cur = c->data;
			a->left = c->size;
		}
		p = take(a, need);
	}
	if (p)
		p[size] = 0;
	return p;
}

/* Objects in regions go when the arena goes; a large block goes now. */
static void arena_release(void *data, void *p)
{
	struct arena *a = data;

	for (struct chunk **link = &a->chunks; *link; link = &(*link)->next) {
		struct chunk *c = *link;

		if (c->large && p == (void *)c->data) {
			*link = c->next;
			a->total -= c->size;
			free(c);
			return;
		}
	}
}

/* An arena for a message of len bytes on the wire; limit caps its memory. */
static struct arena *arena_new(size_t len, size_t limit)
{
	size_t first = align_up(2 * len + 512);
	struct arena *a;

	if (first > limit)
		first = align_up(limit);
	a = malloc(sizeof(*a) + first);
	if (!a)
		return NULL;
	*a = (struct arena){
		.cur = a->data,
		.left = first,
		/* The first region is sized for what valid messages decode to;
		 * what does not fit there is likely a small remainder. */
		.next_size = first / 2,
		.total = first,
		.limit = limit,
		.allocator = { .alloc = arena_alloc, .free = arena_release, .allocator_data = a },
	};
	return a;
}

static void arena_free(struct arena *a)
{
	struct chunk *c, *next;

	for (c = a->chunks; c; c = next) {
		next = c->next;
		free(c);
	}
	free(a);
}

void *dropipc__message_alloc(void *msg, size_t size)
{
	struct arena *a = (struct arena *)((unsigned char *)msg - offsetof(struct arena, data));

	size_t need = align_up(size);

	/* Where the region still has room, no new block is needed. */
	if (need <= a->left)
		return take(a, need);
	/* The decode is over: its limit has done its work. */
	a->limit = SIZE_MAX;
	return arena_alloc(a, size);
}

void *dropipc__message_new(size_t size)
{
	/* Room for a typical ChildArgs built by hand in the first region. */
	struct arena *a = arena_new(2048, SIZE_MAX);
	void *p;

	if (!a)
		return NULL;
	p = arena_alloc(a, size);
	return memset(p, 0, size);
}

void dropipc__message_free(void *msg)
{
	if (msg)
		arena_free((struct arena *)((unsigned char *)msg - offsetof(struct arena, data)));
}

/* ---- sending ------------------------------------------------------------- */

int dropipc__send_envelope(struct dropipc__conn *c, const Dropipc__V1__Envelope *env,
			   const int *fds, size_t nfds)
{
	char err[DROPIPC_ERRMSG_SIZE];
	uint8_t *buf;
	size_t len;
	int r;

	/* The peer refuses strings that are not UTF-8: refuse them here first. */
	r = dropipc__strings_check(&env->base, err, sizeof(err));
	if (r < 0)
		return dropipc__conn_fail(c, r, "%s", err);
	len = protobuf_c_message_get_packed_size(&env->base);
	if (len > dropipc__conn_max_payload(c))
		return dropipc__conn_fail(c, DROPIPC_ERR_TOOBIG,
					  "message of %zu bytes exceeds the limit of %zu bytes", len,
					  dropipc__conn_max_payload(c));
	buf = dropipc__conn_send_buffer(c, len);
	if (!buf && len > 0)
		return dropipc__conn_fail(c, -ENOMEM, "no memory for a message of %zu bytes", len);
	protobuf_c_message_pack(&env->base, buf);
	return dropipc__frame_send(c, buf, len, fds, nfds);
}

/* ---- receiving ----------------------------------------------------------- */

static const char *body_name(uint32_t field)
{
	const ProtobufCFieldDescriptor *fd =
		protobuf_c_message_descriptor_get_field(&dropipc__v1__envelope__descriptor, field);

	return fd ? fd->name : "unknown";
}

/* The first n (<= DROPIPC_ERRMSG_QUOTE) bytes of text into buf, with
 * newlines and tabs as '?'. */
static const char *one_line(char *buf, const char *text, size_t n)
{
	for (size_t i = 0; i < n; i++)
		buf[i] = text[i] == '\n' || text[i] == '\t' ? '?' : text[i];
	buf[n] = '\0';
	return buf;
}

static int unpack(struct dropipc__conn *c, const ProtobufCMessageDescriptor *desc,
		  const struct dropipc__body *body, ProtobufCMessage **msg)
{
	char err[DROPIPC_ERRMSG_SIZE];
	struct arena *a;
	int r;

	r = dropipc__wire_check(desc, body->data, body->len, err, sizeof(err));
	if (r < 0)
		return dropipc__conn_fail(c, r, "%s", err);
	a = arena_new(body->len, dropipc__decode_limit(body->len));
	if (!a)
		return dropipc__conn_fail(c, -ENOMEM, "no memory to decode %zu bytes", body->len);
	*msg = protobuf_c_message_unpack(desc, &a->allocator, body->len, body->data);
	if (*msg && (void *)*msg != (void *)a->data) {
		/* dropipc__message_free() finds the arena from the message. */
		*msg = NULL;
		arena_free(a);
		return dropipc__conn_fail(c, -ENOTRECOVERABLE,
					  "protobuf-c did not allocate the %s first", desc->short_name);
	}
	if (!*msg) {
		if (a->over_limit)
			r = dropipc__conn_fail(c, DROPIPC_ERR_TOOBIG,
					       "decoded %s would take more than %zu bytes",
					       desc->short_name, a->limit);
		else if (a->out_of_memory)
			r = dropipc__conn_fail(c, -ENOMEM, "no memory to decode %s (%zu bytes)",
					       desc->short_name, body->len);
		else
			r = dropipc__conn_fail(c, DROPIPC_ERR_PROTO, "%s does not unpack",
					       desc->short_name);
		arena_free(a);
		return r;
	}
	return 0;
}

int dropipc__recv_message(struct dropipc__conn *c, uint32_t want,
			  const ProtobufCMessageDescriptor *desc, struct dropipc__frame *f,
			  ProtobufCMessage **msg, Dropipc__V1__ChildError **report)
{
	char err[DROPIPC_ERRMSG_SIZE];
	struct dropipc__body body;
	int r;

	*msg = NULL;
	r = dropipc__frame_recv(c, f);
	if (r < 0)
		return r;
	r = dropipc__envelope_body(f->payload, f->len, &body, err, sizeof(err));
	if (r < 0) {
		dropipc__conn_fail(c, r, "%s", err);
		goto fail;
	}
	if (body.field == DROPIPC__V1__ENVELOPE__BODY_ERROR && report) {
		char line[DROPIPC_ERRMSG_QUOTE + 1];
		ProtobufCMessage *m;
		size_t n, len, quote;
		char *text;

		r = unpack(c, &dropipc__v1__child_error__descriptor, &body, &m);
		if (r < 0)
			goto fail;
		/* The report is what counts; fds that came with it are dropped. */
		dropipc__frame_close_fds(c, f);
		dropipc__message_free(*report);
		*report = (Dropipc__V1__ChildError *)m;
		text = (*report)->message;
		n = strlen(text);
		len = dropipc__utf8_cut(text, n, DROPIPC_MAX_ERROR_TEXT);
		/* Launchers print it: no terminal escapes from the sandbox. */
		len = dropipc_text_sanitize(text, len);
		/* An absent message is protobuf-c's read-only "": written only
		 * where the text got shorter. */
		if (len < n)
			text[len] = '\0';
		/* The error message is one line, and never ends inside a character. */
		quote = dropipc__utf8_cut(text, len, DROPIPC_ERRMSG_QUOTE);
		return dropipc__conn_fail(c, DROPIPC_ERR_CHILD, "child setup failed at %s: %s",
					  dropipc_stage_name((*report)->stage),
					  one_line(line, text, quote));
	}
	if (body.field != want) {
		r = want ? dropipc__conn_fail(c, DROPIPC_ERR_PROTO, "expected the %s message, got %s",
					      body_name(want), body_name(body.field))
			 : dropipc__conn_fail(c, DROPIPC_ERR_PROTO,
					      "expected end of stream or an error report, got %s",
					      body_name(body.field));
		goto fail;
	}
	r = unpack(c, desc, &body, msg);
	if (r < 0)
		goto fail;
	return 0;

fail:
	dropipc__frame_close_fds(c, f);
	return r;
}

int dropipc__claim_fd(struct dropipc__conn *c, struct dropipc__frame *f, uint32_t idx,
		      const char *what, int *fd)
{
	if (idx >= f->nfds)
		return dropipc__conn_fail(c, DROPIPC_ERR_PROTO,
					  "%s: fd index %u out of range (the frame has %zu fds)", what,
					  idx, f->nfds);
	if (f->fds[idx] < 0)
		return dropipc__conn_fail(c, DROPIPC_ERR_PROTO, "%s: fd index %u claimed twice", what,
					  idx);
	*fd = f->fds[idx];
	f->fds[idx] = -1;
	return 0;
}

int dropipc__frame_finish(struct dropipc__conn *c, struct dropipc__frame *f)
{
	int r = 0;

	for (size_t i = 0; i < f->nfds; i++) {
		if (f->fds[i] >= 0 && r == 0)
			r = dropipc__conn_fail(c, DROPIPC_ERR_PROTO, "fd index %zu claimed by no field",
					       i);
	}
	dropipc__frame_close_fds(c, f);
	return r;
}

/* ---- named fds (Files, Custom) -------------------------------------------- */

/* The File entries of files (n of them, 0..DROPIPC_MAX_FDS, checked by the
 * caller), each naming its fd by index; fds gets the fds. */
static int fill_files(struct dropipc__conn *c, const dropipc_file *files, size_t n,
		      Dropipc__V1__File *file, Dropipc__V1__File **ptrs, int *fds)
{
	for (size_t i = 0; i < n; i++) {
		if (!files[i].name || !files[i].name[0])
			return dropipc__conn_fail(c, -EINVAL, "files[%zu]: no name", i);
		if (files[i].fd < 0)
			return dropipc__conn_fail(c, -EBADF, "files[%zu] (%s): fd %d", i,
						  files[i].name, files[i].fd);
		dropipc__v1__file__init(&file[i]);
		file[i].name = (char *)files[i].name;
		file[i].fd = (uint32_t)i;
		ptrs[i] = &file[i];
		fds[i] = files[i].fd;
	}
	return 0;
}

int dropipc__send_files(struct dropipc__conn *c, const dropipc_file *files, size_t n)
{
	Dropipc__V1__File file[DROPIPC_MAX_FDS];
	Dropipc__V1__File *ptrs[DROPIPC_MAX_FDS];
	Dropipc__V1__Files msg = DROPIPC__V1__FILES__INIT;
	Dropipc__V1__Envelope env = DROPIPC__V1__ENVELOPE__INIT;
	int fds[DROPIPC_MAX_FDS];
	int r;

	if (n == 0 || n > DROPIPC_MAX_FDS || !files)
		return dropipc__conn_fail(c, -EINVAL, "%zu files, not 1..%d", n, DROPIPC_MAX_FDS);
	r = fill_files(c, files, n, file, ptrs, fds);
	if (r < 0)
		return r;
	msg.n_files = n;
	msg.files = ptrs;
	env.body_case = DROPIPC__V1__ENVELOPE__BODY_FILES;
	env.files = &msg;
	return dropipc__send_envelope(c, &env, fds, n);
}

/* Room for the names of n received File entries, after checking that they
 * claim exactly the frame's nfds fds and that none is nameless. */
static int files_size(struct dropipc__conn *c, Dropipc__V1__File *const *files, size_t n,
		      size_t nfds, size_t *names)
{
	if (n != nfds)
		return dropipc__conn_fail(c, DROPIPC_ERR_PROTO, "%zu files named for %zu fds", n, nfds);
	*names = 0;
	for (size_t i = 0; i < n; i++) {
		if (!files[i]->name[0])
			return dropipc__conn_fail(c, DROPIPC_ERR_INVALID, "files[%zu].name: empty", i);
		*names += strlen(files[i]->name) + 1;
	}
	return 0;
}

/* Moves the frame's fds into out (n entries, names copied to p), each by
 * the index its entry names; then no fd may be left unclaimed. On failure
 * the fds already moved are out's, the caller closes them. */
static int take_files(struct dropipc__conn *c, struct dropipc__frame *f,
		      Dropipc__V1__File *const *files, size_t n, dropipc_file *out, char *p)
{
	int r = 0;

	for (size_t i = 0; i < n; i++) {
		out[i].fd = -1;
		out[i].name = p;
		p = stpcpy(p, files[i]->name) + 1;
	}
	for (size_t i = 0; i < n && r == 0; i++) {
		char what[32]; /* not the name: that is the peer's text */

		snprintf(what, sizeof(what), "files[%zu].fd", i);
		r = dropipc__claim_fd(c, f, files[i]->fd, what, &out[i].fd);
	}
	return r == 0 ? dropipc__frame_finish(c, f) : r;
}

/* Closes the fds of out, from the peer, by the end's policy: in batches,
 * so that one helper takes them all. */
static void close_files(struct dropipc__conn *c, dropipc_file *out, size_t n)
{
	int fds[DROPIPC_MAX_FDS];
	size_t k = 0;

	for (size_t i = 0; out && i < n; i++) {
		fds[k++] = out[i].fd;
		if (k == DROPIPC_MAX_FDS || i + 1 == n) {
			dropipc__conn_close_untrusted(c, fds, k);
			k = 0;
		}
	}
}

int dropipc__recv_files(struct dropipc__conn *c, dropipc_file **files, size_t *n,
			Dropipc__V1__ChildError **report)
{
	struct dropipc__frame f;
	ProtobufCMessage *m;
	Dropipc__V1__Files *msg;
	dropipc_file *out = NULL;
	size_t names = 0;
	int r;

	*files = NULL;
	*n = 0;
	r = dropipc__recv_message(c, DROPIPC__V1__ENVELOPE__BODY_FILES,
				  &dropipc__v1__files__descriptor, &f, &m, report);
	if (r < 0)
		return r;
	msg = (Dropipc__V1__Files *)m;
	if (msg->n_files == 0)
		r = dropipc__conn_fail(c, DROPIPC_ERR_PROTO, "0 files named for %zu fds", f.nfds);
	if (r == 0)
		r = files_size(c, msg->files, msg->n_files, f.nfds, &names);
	if (r == 0 && !(out = malloc(msg->n_files * sizeof(*out) + names)))
		r = dropipc__conn_fail(c, -ENOMEM, "no memory for %zu files", msg->n_files);
	if (r == 0)
		r = take_files(c, &f, msg->files, msg->n_files, out, (char *)(out + msg->n_files));
	if (r == 0) {
		*files = out;
		*n = msg->n_files;
		out = NULL;
	}
	close_files(c, out, msg->n_files);
	free(out);
	dropipc__frame_close_fds(c, &f);
	dropipc__message_free(msg);
	return r;
}

/* ---- a launcher's own messages (Custom) ------------------------------------ */

/* Custom.type: 1..DROPIPC_MAX_CUSTOM_TYPE bytes of printable ASCII. */
static int check_type(struct dropipc__conn *c, int code, const char *type)
{
	size_t n = strlen(type);

	if (n == 0 || n > DROPIPC_MAX_CUSTOM_TYPE)
		return dropipc__conn_fail(c, code, "custom.type: %zu bytes, not 1..%d", n,
					  DROPIPC_MAX_CUSTOM_TYPE);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)type[i] < 0x21 || (unsigned char)type[i] > 0x7e)
			return dropipc__conn_fail(c, code,
						  "custom.type: byte %zu is not printable ASCII", i);
	return 0;
}

int dropipc__send_custom(struct dropipc__conn *c, const char *type, const void *data, size_t len,
			 const dropipc_file *files, size_t n)
{
	Dropipc__V1__File file[DROPIPC_MAX_FDS];
	Dropipc__V1__File *ptrs[DROPIPC_MAX_FDS];
	Dropipc__V1__Custom msg = DROPIPC__V1__CUSTOM__INIT;
	Dropipc__V1__Envelope env = DROPIPC__V1__ENVELOPE__INIT;
	int fds[DROPIPC_MAX_FDS];
	int r;

	if (!type || (!data && len) || (!files && n) || n > DROPIPC_MAX_FDS)
		return dropipc__conn_fail(c, -EINVAL, "no type, no data, or %zu files (0..%d)", n,
					  DROPIPC_MAX_FDS);
	r = check_type(c, -EINVAL, type);
	if (r == 0)
		r = fill_files(c, files, n, file, ptrs, fds);
	if (r < 0)
		return r;
	msg.type = (char *)type;
	msg.data.data = (uint8_t *)data;
	msg.data.len = len;
	msg.n_files = n;
	msg.files = ptrs;
	env.body_case = DROPIPC__V1__ENVELOPE__BODY_CUSTOM;
	env.custom = &msg;
	return dropipc__send_envelope(c, &env, fds, n);
}

int dropipc__recv_custom(struct dropipc__conn *c, dropipc_custom **out,
			 Dropipc__V1__ChildError **report)
{
	struct dropipc__frame f;
	ProtobufCMessage *m;
	Dropipc__V1__Custom *msg;
	dropipc_custom *got = NULL;
	size_t names = 0, tlen;
	char *p;
	int r;

	*out = NULL;
	r = dropipc__recv_message(c, DROPIPC__V1__ENVELOPE__BODY_CUSTOM,
				  &dropipc__v1__custom__descriptor, &f, &m, report);
	if (r < 0)
		return r;
	msg = (Dropipc__V1__Custom *)m;
	tlen = strlen(msg->type);
	r = check_type(c, DROPIPC_ERR_INVALID, msg->type);
	if (r == 0)
		r = files_size(c, msg->files, msg->n_files, f.nfds, &names);
	/* One allocation: the struct, the files, their names, the type, the
	 * data (NUL-terminated too, for text). */
	if (r == 0 && !(got = malloc(sizeof(*got) + msg->n_files * sizeof(dropipc_file) + names +
				     tlen + 1 + msg->data.len + 1)))
		r = dropipc__conn_fail(c, -ENOMEM, "no memory for a custom message of %zu bytes",
				       msg->data.len);
	if (r == 0) {
		got->files = (dropipc_file *)(got + 1);
		got->n_files = msg->n_files;
		p = (char *)(got->files + msg->n_files) + names;
		got->type = memcpy(p, msg->type, tlen + 1);
		p += tlen + 1;
		if (msg->data.len)
			memcpy(p, msg->data.data, msg->data.len);
		p[msg->data.len] = '\0';
		got->data = p;
		got->len = msg->data.len;
		r = take_files(c, &f, msg->files, msg->n_files, got->files,
			       (char *)(got->files + msg->n_files));
	}
	if (r == 0) {
		*out = got;
		got = NULL;
	}
	if (got)
		close_files(c, got->files, got->n_files);
	free(got);
	dropipc__frame_close_fds(c, &f);
	dropipc__message_free(msg);
	return r;
}
