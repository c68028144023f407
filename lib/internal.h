/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * Declarations shared between the library's layers, bottom-up:
 *   fd.c       fds from the peer: their type and inode, closing them (helper process)
 *   text.c     text from the peer: sanitizing, cutting at character boundaries
 *   conn.c     the connection: settings, errors, cancel, pidfd, waits, and
 *              its public calls (dropipc_conn_*); conn.h is its state
 *   frame.c    the frame codec: header, send queue, receive
 *   wire.c     the protobuf wire format: envelope unwrap, string checks
 *   message.c  messages: pack, unpack into an arena, claim fds
 *   validate.c ChildArgs validation
 *   args.c     ChildArgs, the library's own type over the protobuf one
 *   spawn.c    dropipc_spawn(): clone3, fds, signals, capabilities, exec status
 *   idmap.c    the spawned child's id maps: /proc, or newuidmap and newgidmap
 *   parent.c, child.c  the two public ends
 *   error.c    error codes and names
 * Nothing here is exported: the library is built with hidden visibility.
 */
#ifndef DROPIPC_INTERNAL_H
#define DROPIPC_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dropipc/dropipc.h"
#include "dropipc/v1/dropipc.pb-c.h"

#define DROPIPC_HEADER_SIZE 16
#define DROPIPC_MAGIC "DIPC"
#define DROPIPC_ERRMSG_SIZE 512
#define DROPIPC_MAX_ERROR_TEXT 4096
/* A decoded message may use at most this many times its payload in memory,
 * plus DROPIPC_DECODE_EXTRA bytes. */
#define DROPIPC_DECODE_FACTOR 64
#define DROPIPC_DECODE_EXTRA 4096
/* Most bytes of a ChildError's text the error message quotes. */
#define DROPIPC_ERRMSG_QUOTE 400

/* The decode budget of a payload of len bytes, saturating instead of
 * wrapping where size_t is 32 bits. */
static inline size_t dropipc__decode_limit(size_t len)
{
	if (len > (SIZE_MAX - DROPIPC_DECODE_EXTRA) / DROPIPC_DECODE_FACTOR)
		return SIZE_MAX;
	return DROPIPC_DECODE_FACTOR * len + DROPIPC_DECODE_EXTRA;
}

/* ---- fd.c: fds from the peer --------------------------------------------- */

/*
 * The type (S_IFMT bits) of fd and, for a device, its number, from
 * statx(AT_STATX_DONT_SYNC): never a call into a FUSE or network file
 * system. 0 or -errno.
 */
int dropipc__fd_type(int fd, unsigned int *mode, unsigned int *rdev_major,
		     unsigned int *rdev_minor);

/* A file's identity: its type (S_IFMT bits), device and inode number. */
struct dropipc__inode {
	unsigned int mode;
	uint64_t dev, ino;
};

/* fd's identity from statx(AT_STATX_DONT_SYNC): 0 or -errno. */
int dropipc__fd_inode(int fd, struct dropipc__inode *ino);
/*
 * 0 if this process's fd table has at least need free slots below its
 * RLIMIT_NOFILE; -EMFILE if not (or -errno if that cannot be told). fds a
 * recvmsg cannot install are closed by the kernel in the receiving thread.
 * sock, a socket of ours, is copied where /proc cannot be read.
 */
int dropipc__fd_room(int sock, size_t need);

/*
 * An end's close policy (DROPIPC_CLOSE_*) for the fds from the peer it must
 * not keep, and its fds parked for the helper process (see fd.c).
 */
struct dropipc__closer;

/* Most fds an end may have parked (waiting for the helper) and still take
 * a receive; one receive can park up to 2 * 253 more (two recvmsg of 253:
 * the first bytes of the frame, then the byte that fails it). */
#define DROPIPC__MAX_PARKED 64
#define DROPIPC__PARK_ROOM (DROPIPC__MAX_PARKED + 2 * 253 + 10)

int dropipc__closer_new(struct dropipc__closer **out);
/* The end is done with cl; fds still parked stay queued for the helper. */
void dropipc__closer_free(struct dropipc__closer *cl);
int dropipc__closer_set(struct dropipc__closer *cl, int mode, dropipc_close_fn fn, void *data);
/* How many of cl's fds wait for the helper (after reaping a finished one,
 * and starting the next). */
size_t dropipc__closer_parked(struct dropipc__closer *cl);

/*
 * Closes fds from the peer without letting the peer block this thread: the
 * ones on the allow-list here, the others by cl's policy (by default parked
 * for the helper process, waited for at most 100 ms when this call starts
 * it). Each is set to -1; -1 entries are skipped.
 */
void dropipc__close_untrusted(struct dropipc__closer *cl, int *fds, size_t n);

/* ---- text.c: text from the peer ------------------------------------------- */

/* Where to cut s (len bytes) to at most max bytes without splitting a UTF-8
 * character: len if it fits. */
size_t dropipc__utf8_cut(const char *s, size_t len, size_t max);

/* The code point of the valid UTF-8 sequence at s (at most n bytes) in *cp
 * and its length, or 0 when s does not start one (overlong forms,
 * surrogates and values past U+10FFFF are not valid). */
size_t dropipc__utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);

/* ---- idmap.c: the spawned child's id maps ------------------------------- */

/* Writes "deny" to the setgroups of pid (with DROPIPC_SPAWN_DENY_SETGROUPS)
 * and its uid and gid maps from o: to /proc/pid, or with
 * DROPIPC_SPAWN_ID_MAP_HELPERS through newuidmap and newgidmap. On failure
 * a message naming the file or the helper goes to err (errlen bytes). */
int dropipc__write_id_maps(pid_t pid, const dropipc_spawn_options *o, char *err, size_t errlen);

/* ---- conn.c, frame.c: the connection and its frames ------------------ */

struct dropipc__conn;

/* A received frame. payload belongs to the connection (valid until its next
 * receive); fds belong to whoever holds the frame. */
struct dropipc__frame {
	const uint8_t *payload;
	size_t len;
	int fds[DROPIPC_MAX_FDS];
	size_t nfds;
};

int dropipc__conn_new(int fd, struct dropipc__conn **out);
void dropipc__conn_free(struct dropipc__conn *c);
int dropipc__conn_fd(const struct dropipc__conn *c);
int dropipc__conn_set_timeout(struct dropipc__conn *c, int timeout_ms);
int dropipc__conn_set_max_payload(struct dropipc__conn *c, size_t bytes);
size_t dropipc__conn_max_payload(const struct dropipc__conn *c);
const char *dropipc__conn_errmsg(const struct dropipc__conn *c);
int dropipc__conn_set_nonblocking(struct dropipc__conn *c, bool on);
/* Attaches a copy of pidfd (-1 detaches): waits end with DROPIPC_ERR_DEAD once
 * it fires. */
int dropipc__conn_set_pidfd(struct dropipc__conn *c, int pidfd);
/* The other end's socket, which must never come back through this one:
 * recorded from peer_fd (a Unix stream socket), or unknown (-1). */
int dropipc__conn_set_peer(struct dropipc__conn *c, int peer_fd);
/* Parent ends: with no pidfd and no timeout set, receives and sends end
 * after DROPIPC_DEFAULT_TIMEOUT; an unknown peer makes every received
 * Unix stream socket suspect. */
void dropipc__conn_set_parent(struct dropipc__conn *c);
int dropipc__conn_set_close(struct dropipc__conn *c, int mode, dropipc_close_fn fn, void *data);
/* Closes fds from the peer by the end's policy (see dropipc__close_untrusted()). */
void dropipc__conn_close_untrusted(struct dropipc__conn *c, int *fds, size_t n);
/* Async-signal-safe. */
int dropipc__conn_cancel(struct dropipc__conn *c);
/* poll(2) events the connection waits for on its fd. */
int dropipc__conn_events(const struct dropipc__conn *c);
/* The next deadline, CLOCK_MONOTONIC microseconds; UINT64_MAX for none. */
uint64_t dropipc__conn_deadline(const struct dropipc__conn *c);
/* Writes queued frames without waiting: 0 when none is left, -EAGAIN. */
int dropipc__conn_flush(struct dropipc__conn *c);

/* Starts an operation: names it for error messages ("recv pty") and clears
 * the last error. Returns DROPIPC_ERR_CLOSED if an earlier error broke the
 * stream. */
int dropipc__conn_begin(struct dropipc__conn *c, const char *op);

/* The error that broke the stream (0 if none), and setting it: the child
 * end reports a broken receive on the send direction, which still works. */
int dropipc__conn_broken(const struct dropipc__conn *c);
void dropipc__conn_set_broken(struct dropipc__conn *c, int code);

/* Forgets the last error message (an outcome that was not an error after all). */
void dropipc__conn_clear_error(struct dropipc__conn *c);

/* Records an error as "OP: MESSAGE" and returns code. */
int dropipc__conn_fail(struct dropipc__conn *c, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int dropipc__conn_vfail(struct dropipc__conn *c, int code, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

/* A buffer of at least n bytes the connection owns, for packing a payload
 * into: the send queue's tail, so that dropipc__frame_send() of it copies
 * nothing. Valid until the next call. NULL if out of memory. */
uint8_t *dropipc__conn_send_buffer(struct dropipc__conn *c, size_t n);

/* Sends one frame: header, payload and fds (the fds stay the caller's). In
 * non-blocking mode what the socket does not take is queued, with copies of
 * the fds, for dropipc__conn_flush(). */
int dropipc__frame_send(struct dropipc__conn *c, const uint8_t *payload, size_t len,
			const int *fds, size_t nfds);

/* Receives one whole frame. In non-blocking mode -EAGAIN keeps the partial
 * frame (and its fds) in the connection for the next call. On failure no fd
 * is left open. */
int dropipc__frame_recv(struct dropipc__conn *c, struct dropipc__frame *f);

/* Closes the frame's fds that are not -1, by the end's policy. */
void dropipc__frame_close_fds(struct dropipc__conn *c, struct dropipc__frame *f);

/* ---- conn.c: the public connection ----------------------------------- */

/* What an end's dropipc_parent_conn()/dropipc_child_conn() hands out: a view
 * of the end's connection, embedded in the end (it lives as long as it). */
struct dropipc_conn {
	struct dropipc__conn *c;
	/* The parent's end: where a ChildError body is kept (the receive
	 * returns DROPIPC_ERR_CHILD). NULL on the child's end, where such a
	 * body is the wrong message. */
	Dropipc__V1__ChildError **report;
};

/* ---- wire.c: protobuf wire format -------------------------------------- */

/* The one body of an envelope payload: its field number and bytes. */
struct dropipc__body {
	uint32_t field;
	const uint8_t *data;
	size_t len;
};

/* Finds the envelope's body. Fails with DROPIPC_ERR_PROTO (not protobuf, or
 * more than one body) or DROPIPC_ERR_UNSUPPORTED (no body this version
 * knows), with a message in err. */
int dropipc__envelope_body(const uint8_t *data, size_t len, struct dropipc__body *body,
			   char *err, size_t errlen);

/* Checks that data parses as desc's message and that none of its strings,
 * at any depth, holds a NUL byte or invalid UTF-8; the error names the field
 * ("paths.fs_root: NUL byte at offset 3"). */
int dropipc__wire_check(const ProtobufCMessageDescriptor *desc, const uint8_t *data,
			size_t len, char *err, size_t errlen);

/* Checks that every string of msg, a message about to be packed, is valid
 * UTF-8 (and no repeated string is NULL); the error names the field. */
int dropipc__strings_check(const ProtobufCMessage *msg, char *err, size_t errlen);

/* ---- message.c: messages ---------------------------------------------- */

/* Packs env into a frame and sends it with fds. */
int dropipc__send_envelope(struct dropipc__conn *c, const Dropipc__V1__Envelope *env,
			   const int *fds, size_t nfds);

/* Receives a frame whose body must be field `want` of the envelope, unpacked
 * as desc's message into an arena. The message is the arena's first object:
 * free it with dropipc__message_free(). On success f->fds hold the frame's
 * fds, to be claimed with dropipc__claim_fd().
 * want 0 expects no message at all (only an error report, or EOF).
 * report is NULL on the child's end, where an error body is the wrong
 * message. On the parent's end, an error body is unpacked into *report
 * (freed first; the caller frees the new one) and DROPIPC_ERR_CHILD returned. */
int dropipc__recv_message(struct dropipc__conn *c, uint32_t want,
			  const ProtobufCMessageDescriptor *desc, struct dropipc__frame *f,
			  ProtobufCMessage **msg, Dropipc__V1__ChildError **report);

void dropipc__message_free(void *msg);

/* A new arena whose first object, returned zeroed, has size bytes; freed
 * with dropipc__message_free(). It has no size limit. */
void *dropipc__message_new(size_t size);

/* size more bytes in the arena of msg, a received message, freed with it. */
void *dropipc__message_alloc(void *msg, size_t size);

/* Takes fd index idx of frame f for field `what`: checks it is in range and
 * not taken yet, and moves it out of the frame. */
int dropipc__claim_fd(struct dropipc__conn *c, struct dropipc__frame *f, uint32_t idx,
		      const char *what, int *fd);

/* Closes the fds no field claimed; an unclaimed fd is a protocol error. */
int dropipc__frame_finish(struct dropipc__conn *c, struct dropipc__frame *f);

int dropipc__send_files(struct dropipc__conn *c, const dropipc_file *files, size_t n);
int dropipc__recv_files(struct dropipc__conn *c, dropipc_file **files, size_t *n,
			Dropipc__V1__ChildError **report);

/* Most bytes of a Custom message's type. */
#define DROPIPC_MAX_CUSTOM_TYPE 256
int dropipc__send_custom(struct dropipc__conn *c, const char *type, const void *data, size_t len,
			 const dropipc_file *files, size_t n);
int dropipc__recv_custom(struct dropipc__conn *c, dropipc_custom **out,
			 Dropipc__V1__ChildError **report);

/* ---- validate.c, args.c: ChildArgs ------------------------------------- */

/* Checks msg as dropipc_args_validate() says. */
int dropipc__validate_child_args(const Dropipc__V1__ChildArgs *msg, char *errbuf, size_t errlen);

/* Wraps a received ChildArgs (the first object of its arena) into a
 * dropipc_args that owns it from then on: freed with it, also on failure msg is
 * still the caller's. */
int dropipc__args_wrap(Dropipc__V1__ChildArgs *msg, dropipc_args **args);

/* The protobuf message behind args, for packing. */
const Dropipc__V1__ChildArgs *dropipc__args_msg(const dropipc_args *args);

/*
 * The helpers behind the generated accessors (lib/gen/args-gen.py writes
 * args-gen.c, one line per accessor): each names its field by path, the
 * field numbers from ChildArgs through singular submessages, and checks
 * through the descriptors that the field has the shape the rule expects.
 * NULL args or strings and unknown values give -EINVAL (NULL for pointer
 * getters); an absent submessage reads as its defaults.
 */
union dropipc__in {
	const char *s;
	uint32_t u;
};
union dropipc__out {
	const char **s;
	uint32_t *u;
};
int dropipc__args_set_text(dropipc_args *a, const uint32_t *path, size_t depth, const char *s);
const char *dropipc__args_get_text(const dropipc_args *a, const uint32_t *path, size_t depth);
int dropipc__args_set_number(dropipc_args *a, const uint32_t *path, size_t depth, uint32_t v);
int dropipc__args_get_number(const dropipc_args *a, const uint32_t *path, size_t depth,
			     uint32_t *v);
int dropipc__args_set_numbers(dropipc_args *a, const uint32_t *path, size_t depth,
			      const uint32_t *v, size_t n);
int dropipc__args_get_numbers(const dropipc_args *a, const uint32_t *path, size_t depth,
			      uint32_t *const *v, size_t n);
/* A repeated message field: add appends an element made of v (its
 * non-bool fields in order) and flags (its bool fields, bit k the k-th);
 * get reads element i, -ERANGE past the end. */
int dropipc__args_add(dropipc_args *a, const uint32_t *path, size_t depth,
		      const union dropipc__in *v, size_t nv, unsigned int flags);
int dropipc__args_get(const dropipc_args *a, const uint32_t *path, size_t depth, size_t i,
		      const union dropipc__out *v, size_t nv, unsigned int *flags);
/* A repeated string or bytes field, by its dropipc_list value. */
int dropipc__args_set_list(dropipc_args *a, uint32_t which, const char *const *strv);
int dropipc__args_add_list(dropipc_args *a, uint32_t which, const char *s);
char *const *dropipc__args_get_list(const dropipc_args *a, uint32_t which, size_t *n);
/* The dropipc_list values, from the generated code. */
extern const uint32_t dropipc__args_lists[];
extern const size_t dropipc__args_n_lists;

#endif /* DROPIPC_INTERNAL_H */
