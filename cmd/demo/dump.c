/* SPDX-License-Identifier: Apache-2.0 */
/* The dump format, written generically from the protobuf-c descriptors. */
#include "dump.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "internal.h"

static void put_string(FILE *f, const uint8_t *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\\')
			fputs("\\\\", f);
		else if (s[i] == '\n')
			fputs("\\n", f);
		else if (s[i] < 0x20 || s[i] == 0x7f)
			fprintf(f, "\\x%02x", s[i]);
		else
			fputc(s[i], f);
	}
}

/* Bytes of one element of a repeated field of this type. Every protobuf-c
 * type, not only those the schema uses today: the dump follows the schema. */
static size_t elem_size(ProtobufCType type)
{
	switch (type) {
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return sizeof(uint64_t);
	case PROTOBUF_C_TYPE_DOUBLE:
		return sizeof(double);
	case PROTOBUF_C_TYPE_FLOAT:
		return sizeof(float);
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_STRING:
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(void *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	default:
		return sizeof(uint32_t);
	}
}

static void dump_fields(FILE *f, const ProtobufCMessage *msg, const char *indent,
			const char *prefix);

/* One value at p, of the field's type, under the name path. */
static void dump_value(FILE *f, const ProtobufCFieldDescriptor *fd, const void *p,
		       const char *indent, const char *path)
{
	if (fd->type == PROTOBUF_C_TYPE_MESSAGE) {
		const ProtobufCMessage *sub = *(const ProtobufCMessage *const *)p;
		char prefix[520]; /* a path of up to 511 bytes, and "." */

		if (!sub)
			return;
		snprintf(prefix, sizeof(prefix), "%s.", path);
		dump_fields(f, sub, indent, prefix);
		return;
	}
	fprintf(f, "%s%s=", indent, path);
	switch (fd->type) {
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(const char *const *)p;

		if (s)
			put_string(f, (const uint8_t *)s, strlen(s));
		break;
	}
	case PROTOBUF_C_TYPE_BYTES: {
		const ProtobufCBinaryData *b = p;

		put_string(f, b->data, b->len);
		break;
	}
	case PROTOBUF_C_TYPE_BOOL:
		fputs(*(const protobuf_c_boolean *)p ? "true" : "false", f);
		break;
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_ENUM:
		fprintf(f, "%" PRId32, *(const int32_t *)p);
		break;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		fprintf(f, "%" PRIu32, *(const uint32_t *)p);
		break;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		fprintf(f, "%" PRId64, *(const int64_t *)p);
		break;
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		fprintf(f, "%" PRIu64, *(const uint64_t *)p);
		break;
	case PROTOBUF_C_TYPE_FLOAT:
		fprintf(f, "%.9g", *(const float *)p);
		break;
	case PROTOBUF_C_TYPE_DOUBLE:
		fprintf(f, "%.17g", *(const double *)p);
		break;
	default:
		break;
	}
	fputc('\n', f);
}

/* protobuf-c keeps a descriptor's fields sorted by number. */
static void dump_fields(FILE *f, const ProtobufCMessage *msg, const char *indent,
			const char *prefix)
{
	const ProtobufCMessageDescriptor *d = msg->descriptor;

	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *fd = &d->fields[i];
		const char *base = (const char *)msg;
		const void *p = base + fd->offset;
		char path[512];

		if (fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF &&
		    *(const uint32_t *)(base + fd->quantifier_offset) != fd->id)
			continue;
		if (fd->label == PROTOBUF_C_LABEL_OPTIONAL && fd->quantifier_offset &&
		    !(fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
		    !*(const protobuf_c_boolean *)(base + fd->quantifier_offset))
			continue;
		if (fd->label != PROTOBUF_C_LABEL_REPEATED) {
			snprintf(path, sizeof(path), "%s%s", prefix, fd->name);
			dump_value(f, fd, p, indent, path);
			continue;
		}
		size_t n = *(const size_t *)(base + fd->quantifier_offset);
		const char *elems = *(const char *const *)p;

		for (size_t k = 0; k < n; k++) {
			snprintf(path, sizeof(path), "%s%s[%zu]", prefix, fd->name, k);
			dump_value(f, fd, elems + k * elem_size(fd->type), indent, path);
		}
	}
}

int dump_message(FILE *f, const ProtobufCMessage *msg, const char *indent)
{
	dump_fields(f, msg, indent, "");
	if (fflush(f) == EOF || ferror(f))
		return -(errno ? errno : EIO);
	return 0;
}

int dump_args(FILE *f, const dropipc_args *args, bool sent, const char *indent)
{
	Dropipc__V1__ChildArgs msg = *dropipc__args_msg(args);

	if (sent)
		msg.confirm_exec = 1;
	return dump_message(f, &msg.base, indent);
}

int dump_to_file(const char *path, const dropipc_args *args, bool sent)
{
	FILE *f;
	int r;

	f = fopen(path, "we");
	if (!f)
		return -errno;
	r = dump_args(f, args, sent, "");
	if (fclose(f) == EOF && r == 0)
		r = -errno;
	return r;
}
