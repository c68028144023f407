/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * Raw frames, built by hand from the header layout of docs/PROTOCOL.md and
 * sent with sendmsg(), without the library: for the tests that play a peer
 * the library would never be.
 */
#include "unit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "raw_send.h"

struct unit_header unit_header(uint16_t nfds, uint32_t len)
{
	struct unit_header h = { .magic = { 'D', 'I', 'P', 'C' }, .version = 1 };

	h.nfds = nfds;
	h.len = len;
	return h;
}

static void le(uint8_t *p, uint32_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

void unit_header_encode(const struct unit_header *h, uint8_t out[16])
{
	memcpy(out, h->magic, 4);
	le(out + 4, h->version, 2);
	le(out + 6, h->nfds, 2);
	le(out + 8, h->len, 4);
	le(out + 12, h->reserved, 4);
}

static void send_iov(int sock, struct iovec *iov, int niov, size_t total, const int *fds,
		     size_t nfds)
{
	ssize_t n = raw_sendv(sock, iov, (size_t)niov, fds, nfds, MSG_NOSIGNAL);

	ck_assert_msg(n == (ssize_t)total, "sendmsg sent %zd of %zu bytes: %s", n, total,
		      n < 0 ? strerror(errno) : "short");
}

void unit_send_raw(int sock, const void *buf, size_t len, const int *fds, size_t nfds)
{
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };

	send_iov(sock, &iov, 1, len, fds, nfds);
}

void unit_send_frame(int sock, const struct unit_header *h, const void *payload, size_t len,
		     const int *fds, size_t nfds)
{
	struct unit_header def = unit_header((uint16_t)nfds, (uint32_t)len);
	uint8_t hdr[16];
	struct iovec iov[2] = {
		{ .iov_base = hdr, .iov_len = sizeof(hdr) },
		{ .iov_base = (void *)payload, .iov_len = len },
	};

	unit_header_encode(h ? h : &def, hdr);
	send_iov(sock, iov, 2, sizeof(hdr) + len, fds, nfds);
}

uint8_t *unit_pack(const ProtobufCMessage *msg, size_t *len)
{
	uint8_t *buf;

	*len = protobuf_c_message_get_packed_size(msg);
	buf = malloc(*len ? *len : 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(protobuf_c_message_pack(msg, buf), *len);
	return buf;
}

uint8_t *unit_pack_child_args(const Dropipc__V1__ChildArgs *msg, size_t *len)
{
	Dropipc__V1__Envelope env = DROPIPC__V1__ENVELOPE__INIT;

	env.body_case = DROPIPC__V1__ENVELOPE__BODY_CHILD_ARGS;
	env.child_args = (Dropipc__V1__ChildArgs *)msg;
	return unit_pack(&env.base, len);
}

uint8_t *unit_pack_args(const dropipc_args *args, size_t *len)
{
	return unit_pack_child_args(dropipc__args_msg(args), len);
}

uint8_t *unit_pack_pty(uint32_t idx, size_t *len)
{
	Dropipc__V1__Envelope env = DROPIPC__V1__ENVELOPE__INIT;
	Dropipc__V1__PtyHandoff pty = DROPIPC__V1__PTY_HANDOFF__INIT;

	pty.master_fd = idx;
	env.body_case = DROPIPC__V1__ENVELOPE__BODY_PTY;
	env.pty = &pty;
	return unit_pack(&env.base, len);
}

uint8_t *unit_pack_files(const char *const *names, const uint32_t *idx, size_t n, size_t *len)
{
	Dropipc__V1__Envelope env = DROPIPC__V1__ENVELOPE__INIT;
	Dropipc__V1__Files files = DROPIPC__V1__FILES__INIT;
	Dropipc__V1__File file[DROPIPC_MAX_FDS], *ptrs[DROPIPC_MAX_FDS];

	ck_assert_uint_le(n, DROPIPC_MAX_FDS);
	for (size_t i = 0; i < n; i++) {
		dropipc__v1__file__init(&file[i]);
		file[i].name = (char *)names[i];
		file[i].fd = idx[i];
		ptrs[i] = &file[i];
	}
	files.n_files = n;
	files.files = ptrs;
	env.body_case = DROPIPC__V1__ENVELOPE__BODY_FILES;
	env.files = &files;
	return unit_pack(&env.base, len);
}
