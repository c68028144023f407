/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * The protobuf wire format, read directly where protobuf-c cannot help:
 * finding the envelope's body without unpacking the envelope (so the body
 * can be the first object of its own arena), and checking strings for NUL
 * bytes and invalid UTF-8 and bytes fields (the OS strings) for NUL bytes,
 * which protobuf-c passes through but which a C string cannot hold and
 * other languages' peers refuse.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

/* Our schema is 4 levels deep; deeper nesting is not ours to walk. */
#define MAX_DEPTH 8

enum wire_type { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_SGROUP = 3, WT_EGROUP = 4, WT_I32 = 5 };

struct reader {
	const uint8_t *p, *end;
};

struct field {
	uint32_t number;
	enum wire_type type;
	const uint8_t *data; /* WT_LEN only */
	size_t len;
};

static bool read_varint(struct reader *r, uint64_t *v)
{
	uint64_t x = 0;

	for (int shift = 0; shift < 64 && r->p < r->end; shift += 7) {
		uint8_t b = *r->p++;

		x |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*v = x;
			return true;
		}
	}
	return false;
}

/* Reads the next field. Returns 1, 0 at the end, or -1 if malformed. */
static inline int next_field(struct reader *r, struct field *f, const char **why)
{
	uint64_t tag, v;

	if (r->p == r->end)
		return 0;
	/* The common case: a string or submessage of fewer than 128 bytes in a
	 * field numbered 1 to 15, i.e. a one-byte tag and a one-byte length. */
	if (r->end - r->p >= 2 && (r->p[0] & 0x87) == WT_LEN && r->p[0] >= 8 && r->p[1] < 0x80 &&
	    r->p[1] <= r->end - r->p - 2) {
		f->number = r->p[0] >> 3;
		f->type = WT_LEN;
		f->data = r->p + 2;
		f->len = r->p[1];
		r->p = f->data + f->len;
		return 1;
	}
	if (!read_varint(r, &tag)) {
		*why = "truncated tag";
		return -1;
	}
	f->number = (uint32_t)(tag >> 3);
	f->type = (enum wire_type)(tag & 7);
	if (f->number == 0 || tag >> 3 > 0x1fffffff) {
		*why = "invalid field number";
		return -1;
	}
	switch (f->type) {
	case WT_VARINT:
		if (!read_varint(r, &v)) {
			*why = "truncated varint";
			return -1;
		}
		return 1;
	case WT_I64:
	case WT_I32: {
		size_t n = f->type == WT_I64 ? 8 : 4;

		if ((size_t)(r->end - r->p) < n) {
			*why = "truncated fixed-size field";
			return -1;
		}
		r->p += n;
		return 1;
	}
	case WT_LEN:
		if (!read_varint(r, &v) || v > (uint64_t)(r->end - r->p)) {
			*why = "length runs past the end";
			return -1;
		}
		f->data = r->p;
		f->len = (size_t)v;
		r->p += v;
		return 1;
	default:
		*why = "unsupported wire type (groups)";
		return -1;
	}
}

/* protobuf_c_message_descriptor_get_field(), without the call and the
 * search for the common case of field numbers without gaps. */
static const ProtobufCFieldDescriptor *field_of(const ProtobufCMessageDescriptor *desc,
						uint32_t number)
{
	if (desc->n_field_ranges == 1) {
		uint32_t i = number - (uint32_t)desc->field_ranges[0].start_value;

		return i < desc->n_fields ? &desc->fields[i] : NULL;
	}
	return protobuf_c_message_descriptor_get_field(desc, number);
}

int dropipc__envelope_body(const uint8_t *data, size_t len, struct dropipc__body *body,
			   char *err, size_t errlen)
{
	struct reader r = { data, data + len };
	struct field f = { 0 };
	uint32_t unknown = 0;
	unsigned bodies = 0;
	const char *why = NULL;
	int n;

	while ((n = next_field(&r, &f, &why)) > 0) {
		if (!field_of(&dropipc__v1__envelope__descriptor, f.number)) {
			if (!unknown)
				unknown = f.number;
			continue;
		}
		if (f.type != WT_LEN) {
			snprintf(err, errlen, "envelope field %u has wire type %d, not 2", f.number,
				 f.type);
			return DROPIPC_ERR_PROTO;
		}
		body->field = f.number;
		body->data = f.data;
		body->len = f.len;
		bodies++;
	}
	if (n < 0) {
		snprintf(err, errlen, "payload is not a protobuf Envelope: %s at byte %zu", why,
			 (size_t)(r.p - data));
		return DROPIPC_ERR_PROTO;
	}
	if (bodies > 1) {
		snprintf(err, errlen, "envelope has %u bodies, not 1", bodies);
		return DROPIPC_ERR_PROTO;
	}
	if (bodies == 0 && unknown) {
		snprintf(err, errlen, "unsupported message: envelope field %u is not known to "
			 "protocol version %d", unknown, DROPIPC_PROTOCOL_VERSION);
		return DROPIPC_ERR_UNSUPPORTED;
	}
	if (bodies == 0) {
		snprintf(err, errlen, "envelope has no body");
		return DROPIPC_ERR_PROTO;
	}
	return 0;
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0. */
static size_t utf8_seq(const uint8_t *s, size_t n)
{
	uint32_t cp;

	return dropipc__utf8_decode(s, n, &cp);
}

/* Whether the eight bytes at s are ASCII and none of them NUL. */
static inline bool ascii8(const uint8_t *s)
{
	const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
	uint64_t v;

	memcpy(&v, s, 8);
	return !(v & highs) && !((v - ones) & ~v & highs);
}

/* Whether s is ASCII without NUL, eight bytes at a time: the common case,
 * inlined where strings are checked. */
static inline bool ascii_string(const uint8_t *s, size_t len)
{
	uint8_t pad[8] = { 1, 1, 1, 1, 1, 1, 1, 1 };
	size_t i;

	if (len < 8) {
		memcpy(pad, s, len);
		return ascii8(pad);
	}
	for (i = 0; i + 8 <= len; i += 8)
		if (!ascii8(s + i))
			return false;
	/* The tail, as the last eight bytes (overlapping is harmless). */
	return i == len || ascii8(s + len - 8);
}

/* Offset of the first NUL or invalid UTF-8 byte in s, or len if none: the
 * byte-by-byte walk, for strings that are not plain ASCII. */
static size_t bad_string_byte(const uint8_t *s, size_t len, bool *nul)
{
	size_t i = 0, n;

	while (i < len) {
		if (s[i] > 0 && s[i] < 0x80) {
			i++;
			continue;
		}
		if (s[i] == 0) {
			*nul = true;
			return i;
		}
		n = utf8_seq(s + i, len - i);
		if (n == 0) {
			*nul = false;
			return i;
		}
		i += n;
	}
	return len;
}

/*
 * Where the walk is, for error messages: the field and element index at each
 * depth. Only the second walk, after the first found something wrong, keeps
 * it, so that a valid message costs no bookkeeping.
 */
struct trail {
	int depth;
	const ProtobufCFieldDescriptor *fd[MAX_DEPTH + 1];
	unsigned idx[MAX_DEPTH + 1];
};

/* The trail as a path, e.g. "config.mounts[1].source". */
static void trail_name(const struct trail *t, char *buf, size_t len)
{
	size_t at = 0;
	int n = 0;

	buf[0] = '\0';
	for (int i = 0; i < t->depth && at < len && n >= 0; i++) {
		if (t->fd[i]->label == PROTOBUF_C_LABEL_REPEATED)
			n = snprintf(buf + at, len - at, "%s%s[%u]", i ? "." : "", t->fd[i]->name,
				     t->idx[i]);
		else
			n = snprintf(buf + at, len - at, "%s%s", i ? "." : "", t->fd[i]->name);
		at += n > 0 ? (size_t)n : 0;
	}
}

/* The wire type a field of this type is sent with (numbers unpacked). */
static enum wire_type wire_type_of(const ProtobufCFieldDescriptor *fd)
{
	switch (fd->type) {
	case PROTOBUF_C_TYPE_FIXED32:
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_FLOAT:
		return WT_I32;
	case PROTOBUF_C_TYPE_FIXED64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_DOUBLE:
		return WT_I64;
	case PROTOBUF_C_TYPE_STRING:
	case PROTOBUF_C_TYPE_BYTES:
	case PROTOBUF_C_TYPE_MESSAGE:
		return WT_LEN;
	default:
		return WT_VARINT;
	}
}

/*
 * ChildError.message is text a child may have built from OS strings (a
 * Latin-1 path it could not use): not refused when it is not UTF-8 (the
 * report would be lost), but sanitized by the receiver (message.c), which
 * makes each byte that is not UTF-8 one '?'. A NUL is still refused.
 */
static bool report_text(const ProtobufCMessageDescriptor *desc, const ProtobufCFieldDescriptor *fd)
{
	return desc == &dropipc__v1__child_error__descriptor &&
	       fd->id == 3; /* ChildError.message */
}

/* A NUL byte at byte `at` of the bytes field the trail ends in. */
static int bad_bytes(struct trail *t, size_t at, char *err, size_t errlen)
{
	char path[256];

	if (t) {
		trail_name(t, path, sizeof(path));
		snprintf(err, errlen, "%s: NUL byte at byte %zu", path, at);
	}
	return DROPIPC_ERR_INVALID;
}

/*
 * Walks a message's wire bytes. With t NULL it only says whether something
 * is wrong; with a trail it also writes what and where into err.
 */
static int check_message(const ProtobufCMessageDescriptor *desc, const uint8_t *data,
			 size_t len, int depth, struct trail *t, char *err, size_t errlen)
{
	struct reader r = { data, data + len };
	unsigned seen[32] = { 0 };
	const char *why = NULL;
	char path[256];
	struct field f = { 0 };
	int n, rv;

	if (depth > MAX_DEPTH)
		goto too_deep;
	while ((n = next_field(&r, &f, &why)) > 0) {
		const ProtobufCFieldDescriptor *fd = field_of(desc, f.number);
		bool nul = false;
		size_t at;

		/* protobuf-c would refuse a known field of the wrong wire type
		 * without naming it (numbers may also come packed, as WT_LEN). */
		if (fd && f.type != wire_type_of(fd) &&
		    !(f.type == WT_LEN && fd->label == PROTOBUF_C_LABEL_REPEATED))
			goto wrong_type;
		if (!fd || f.type != WT_LEN ||
		    (fd->type != PROTOBUF_C_TYPE_STRING && fd->type != PROTOBUF_C_TYPE_MESSAGE &&
		     fd->type != PROTOBUF_C_TYPE_BYTES))
			continue;
		if (t) {
			unsigned i = (unsigned)(fd - desc->fields);

			t->fd[t->depth] = fd;
			t->idx[t->depth] = i < 32 ? seen[i]++ : 0;
			t->depth++;
		}
		if (fd->type == PROTOBUF_C_TYPE_MESSAGE) {
			rv = check_message(fd->descriptor, f.data, f.len, depth + 1, t, err, errlen);
			if (rv < 0)
				return rv;
		} else if (fd->type == PROTOBUF_C_TYPE_BYTES || report_text(desc, fd)) {
			/* OS strings: any byte but NUL, which a C string cannot hold.
			 * Custom's data is the launcher's, any bytes. */
			const uint8_t *z = f.len ? memchr(f.data, 0, f.len) : NULL;

			if (z && desc != &dropipc__v1__custom__descriptor)
				return bad_bytes(t, (size_t)(z - f.data), err, errlen);
		} else if (!ascii_string(f.data, f.len) &&
			   (at = bad_string_byte(f.data, f.len, &nul)) < f.len) {
			if (t) {
				trail_name(t, path, sizeof(path));
				snprintf(err, errlen, "%s: %s at byte %zu", path,
					 nul ? "NUL byte" : "invalid UTF-8", at);
			}
			return DROPIPC_ERR_INVALID;
		}
		if (t)
			t->depth--;
	}
	if (n < 0) {
		if (t) {
			trail_name(t, path, sizeof(path));
			snprintf(err, errlen, "%s%snot valid protobuf: %s", path,
				 t->depth ? ": " : "", why);
		}
		return DROPIPC_ERR_PROTO;
	}
	return 0;

wrong_type:
	if (t) {
		trail_name(t, path, sizeof(path));
		snprintf(err, errlen, "%s%s%s: wire type %d, expected %d", path, t->depth ? "." : "",
			 field_of(desc, f.number)->name, (int)f.type,
			 (int)wire_type_of(field_of(desc, f.number)));
	}
	return DROPIPC_ERR_PROTO;

too_deep:
	if (t) {
		trail_name(t, path, sizeof(path));
		snprintf(err, errlen, "%s: nested too deeply", path);
	}
	return DROPIPC_ERR_PROTO;
}

int dropipc__wire_check(const ProtobufCMessageDescriptor *desc, const uint8_t *data,
			size_t len, char *err, size_t errlen)
{
	struct trail t = { .depth = 0 };
	int r = check_message(desc, data, len, 0, NULL, err, errlen);

	/* Something is wrong: walk again, keeping track, to say what and where. */
	if (r < 0)
		r = check_message(desc, data, len, 0, &t, err, errlen);
	return r;
}

/* Checks one C string of a message being sent; the trail names it. */
static int check_cstring(const char *s, struct trail *t, char *err, size_t errlen)
{
	char path[256];
	bool nul = false;
	size_t len, at;

	if (!s) {
		if (t->fd[t->depth - 1]->label != PROTOBUF_C_LABEL_REPEATED)
			return 0;
		trail_name(t, path, sizeof(path));
		snprintf(err, errlen, "%s: NULL", path);
		return DROPIPC_ERR_INVALID;
	}
	len = strlen(s);
	at = bad_string_byte((const uint8_t *)s, len, &nul);
	if (at == len)
		return 0;
	trail_name(t, path, sizeof(path));
	snprintf(err, errlen, "%s: invalid UTF-8 at byte %zu", path, at);
	return DROPIPC_ERR_INVALID;
}

/* Checks the bytes field fd of m, a message being sent, for NUL bytes (a
 * launcher's own Custom data is not an OS string: any byte goes). */
static int check_cbytes(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *fd,
			struct trail *t, char *err, size_t errlen)
{
	const char *member = (const char *)m + fd->offset;
	const ProtobufCBinaryData *b = (const ProtobufCBinaryData *)member;
	size_t n = 1;
	int r = 0;

	if (m->descriptor == &dropipc__v1__custom__descriptor)
		return 0;
	if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
		n = *(const size_t *)((const char *)m + fd->quantifier_offset);
		b = *(const ProtobufCBinaryData *const *)member;
	}
	t->fd[t->depth] = fd;
	t->depth++;
	for (size_t k = 0; k < n && r == 0; k++) {
		const uint8_t *z = b[k].len ? memchr(b[k].data, 0, b[k].len) : NULL;

		t->idx[t->depth - 1] = (unsigned)k;
		if (z)
			r = bad_bytes(t, (size_t)(z - b[k].data), err, errlen);
	}
	t->depth--;
	return r;
}

static int check_cmessage(const ProtobufCMessage *m, struct trail *t, char *err, size_t errlen)
{
	const ProtobufCMessageDescriptor *desc = m->descriptor;
	char path[256];
	int r = 0;

	if (t->depth > MAX_DEPTH) {
		trail_name(t, path, sizeof(path));
		snprintf(err, errlen, "%s: nested too deeply", path);
		return DROPIPC_ERR_INVALID;
	}
	for (unsigned i = 0; i < desc->n_fields && r == 0; i++) {
		const ProtobufCFieldDescriptor *fd = &desc->fields[i];
		const char *member = (const char *)m + fd->offset;
		const char *quant = (const char *)m + fd->quantifier_offset;
		void *const *elems = (void *const *)member;
		size_t n = 1;

		if (fd->type == PROTOBUF_C_TYPE_BYTES) {
			r = check_cbytes(m, fd, t, err, errlen);
			continue;
		}
		if ((fd->type != PROTOBUF_C_TYPE_STRING && fd->type != PROTOBUF_C_TYPE_MESSAGE) ||
		    report_text(desc, fd))
			continue;
		if ((fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) && *(const uint32_t *)quant != fd->id)
			continue;
		if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
			n = *(const size_t *)quant;
			elems = *(void *const *const *)member;
		}
		t->fd[t->depth] = fd;
		t->depth++;
		for (size_t k = 0; k < n && r == 0; k++) {
			const char *str = elems[k];

			/* Most strings are plain ASCII: nothing to keep track of. */
			if (fd->type == PROTOBUF_C_TYPE_STRING && str &&
			    ascii_string((const uint8_t *)str, strlen(str)))
				continue;
			t->idx[t->depth - 1] = (unsigned)k;
			if (fd->type == PROTOBUF_C_TYPE_STRING)
				r = check_cstring(str, t, err, errlen);
			else if (elems[k])
				r = check_cmessage(elems[k], t, err, errlen);
		}
		t->depth--;
	}
	return r;
}

int dropipc__strings_check(const ProtobufCMessage *msg, char *err, size_t errlen)
{
	struct trail t = { .depth = 0 };

	return check_cmessage(msg, &t, err, errlen);
}
