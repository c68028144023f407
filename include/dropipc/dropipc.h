/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * libdropipc 1.0: the setup channel between a sandbox launcher (the parent)
 * and the process it starts inside the sandbox (the child).
 *
 * The parent creates a socket pair, starts the child with its end as fd 3
 * (DROPIPC_CHILD_FD; dropipc_spawn() does all of it), finishes its own setup
 * and sends the child its arguments (a dropipc_args); the child builds the
 * jail, creates a pseudoterminal, sends its master fd back and execs the
 * command. The wire format is protobuf, defined in dropipc/v1/dropipc.proto
 * (installed under `pkg-config --variable=protodir dropipc`, for peers in
 * other languages); the framing is in PROTOCOL.md (installed beside the
 * schema as share/dropipc/PROTOCOL.md, /usr/share/dropipc/PROTOCOL.md from
 * the Debian package). This header is the whole C API: the protobuf structs
 * stay inside the library.
 *
 * The objects: a dropipc_parent and a dropipc_child are the two ends of one
 * channel, typed by role, so that calling the other role's operation is a
 * compile error. What both ends do alike (the fd, events, deadline, flush,
 * cancel, timeout, limits, non-blocking mode, the error message, Files) is
 * on the end's connection, a dropipc_conn reached with dropipc_parent_conn()
 * or dropipc_child_conn().
 *
 * Conventions, for every function of this header:
 * - Return values: 0 (or a count, an fd, events) on success, a negative
 *   error code on failure: -errno (from a system call, or -EINVAL for a bad
 *   argument from the caller), or a DROPIPC_ERR_* code below, which are
 *   about the peer and its messages. dropipc_strerror() and
 *   dropipc_err_name() describe any of them.
 * - Rich errors, one way: a call on an end (through the end or its
 *   connection) leaves a message with context on the connection,
 *   dropipc_conn_get_errmsg(), e.g. "recv pty: expected 1 fd, got 2". A
 *   function that has no end and has more to say than the code takes a
 *   caller buffer, `char *errbuf, size_t errlen` (NULL or 0: no message;
 *   always NUL-terminated, cut when short).
 * - NULL: every pointer argument is checked unless its description says
 *   "may be NULL". A NULL object or out-pointer gives -EINVAL (and no
 *   message, as there is no end to hold one); a function that returns a
 *   pointer returns NULL for a NULL object, except
 *   dropipc_conn_get_errmsg(), which returns "".
 * - Out-pointers: on failure a receive sets its out-pointers to "nothing"
 *   (-1 for an fd, NULL for an object, 0 for a count), so that they can be
 *   closed or freed either way; a getter leaves them untouched.
 * - Getters are named *_get_* (and setters *_set_*). A getter given an
 *   index past the end returns -ERANGE and leaves its out-pointers
 *   untouched.
 * - Flags: a bit this version does not define is refused with -EINVAL,
 *   never ignored. A boolean argument is 0 or 1; other values are refused.
 * - Time: one unit, microseconds in a uint64_t, in and out (timeouts, and
 *   deadlines on CLOCK_MONOTONIC). DROPIPC_TIMEOUT_INFINITE means none.
 * - Lifetime: an object made by *_new() (or dropipc_socketpair(),
 *   dropipc_spawn()) is freed by its *_free(), which takes NULL and
 *   returns NULL, as sd-bus's unref calls do: `p = dropipc_parent_free(p);`
 *   leaves no dangling pointer, and calling it again is harmless. Freeing
 *   one object through two copies of its pointer is undefined. A
 *   dropipc_conn belongs to its end and lives as long as it. Strings
 *   passed in are copied; strings handed out are owned by the object they
 *   come from and stay valid as each function says.
 * - The peer is not trusted: every frame is checked before it is used, and
 *   every fd of a frame that is rejected, or that no field claims, is
 *   closed. All fds the library creates or receives are close-on-exec.
 * - An end is not thread-safe: use it from one thread at a time, except
 *   for dropipc_conn_cancel().
 */
#ifndef DROPIPC_H
#define DROPIPC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(DROPIPC_BUILDING) && defined(__GNUC__)
#define DROPIPC_EXPORT __attribute__((visibility("default")))
#else
#define DROPIPC_EXPORT
#endif

#if defined(__GNUC__)
#define DROPIPC_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define DROPIPC_PRINTF(fmt, args)
#endif

/* ------------------------------------------------------------------------ */
/* Version                                                                   */

/* The version of the headers this program was compiled with. */
#define DROPIPC_VERSION_MAJOR 1
#define DROPIPC_VERSION_MINOR 0
#define DROPIPC_VERSION_PATCH 0
#define DROPIPC_VERSION_HEX                                                    \
	((DROPIPC_VERSION_MAJOR << 16) | (DROPIPC_VERSION_MINOR << 8) | DROPIPC_VERSION_PATCH)

/*
 * The version of the library this program runs with, as
 * DROPIPC_VERSION_HEX encodes it; *text (may be NULL) gets it as a static
 * string, e.g. "1.0.0".
 */
DROPIPC_EXPORT unsigned int dropipc_version(const char **text);

/* ------------------------------------------------------------------------ */
/* Errors                                                                    */

/*
 * Library error codes. They lie below -4000, away from -errno values (see
 * DROPIPC_IS_ERRNO()), so a return value is either 0, -errno, or one of
 * these. Their names start with DROPIPC_ERR_, which no errno name does.
 */
#define DROPIPC_ERROR_MAP(X)                                                   \
	X(EOF, -4095, "end of stream: the peer closed the connection between frames") \
	X(TRUNC, -4094, "the peer closed the connection in the middle of a frame") \
	X(PROTO, -4093, "protocol violation")                                  \
	X(TOOBIG, -4092, "frame larger than the size limit")                   \
	X(TIMEDOUT, -4091, "timed out")                                        \
	X(INVALID, -4090, "message failed validation")                         \
	X(UNSUPPORTED, -4089, "unsupported message type")                      \
	X(CHILD, -4088, "the child reported a setup failure")                  \
	X(NOTPTY, -4087, "received fd is not a pseudoterminal master")         \
	X(CLOSED, -4086, "connection unusable after an earlier error")         \
	X(DEAD, -4085, "the child process died before the message arrived")    \
	X(NOEXEC, -4084, "the child closed the channel without confirming its exec")

enum dropipc_error {
#define DROPIPC_ERR_ENUM(name, value, text) DROPIPC_ERR_##name = (value),
	DROPIPC_ERROR_MAP(DROPIPC_ERR_ENUM)
#undef DROPIPC_ERR_ENUM
};

/* Whether r, a negative return value, is -errno rather than a DROPIPC_ERR_* code. */
#define DROPIPC_IS_ERRNO(r) ((r) < 0 && (r) > -4000)

/*
 * A sentence describing the error code err (a DROPIPC_ERR_* code or -errno;
 * "success" for 0). Never NULL; the string is static. Thread-safe.
 */
DROPIPC_EXPORT const char *dropipc_strerror(int err);

/*
 * The symbolic name of err, e.g. "DROPIPC_ERR_PROTO" or "EPIPE"; "OK" for
 * 0, "UNKNOWN" for a value that is neither. Never NULL; the string is
 * static.
 */
DROPIPC_EXPORT const char *dropipc_err_name(int err);

/*
 * Makes text from the sandbox safe to print on a terminal, in place: every
 * byte that is not part of valid UTF-8, and every control character (C0 but
 * '\n' and '\t', DEL, C1), becomes one '?' per character. len is the text's
 * length in bytes (it need not be NUL-terminated, and a NUL byte is a C0
 * control); returns the new length, which is never more than len (0 for a
 * NULL text). The library uses it on the child's error reports
 * (dropipc_parent_get_child_error() and the errmsg); the names of received
 * Files are passed on as they came (valid UTF-8 without NUL): sanitize them
 * before printing.
 */
DROPIPC_EXPORT size_t dropipc_text_sanitize(char *text, size_t len);

/* ------------------------------------------------------------------------ */
/* Limits and time                                                           */

/* The fd the child finds its end of the channel on after exec. */
#define DROPIPC_CHILD_FD 3

/* Protocol version this library speaks (the frame header's version). */
#define DROPIPC_PROTOCOL_VERSION 1

/* Most fds one frame may carry (a protocol constant, see PROTOCOL.md). */
#define DROPIPC_MAX_FDS 16

/* The timeout, in microseconds, of a parent end with no pidfd and no
 * timeout set (see dropipc_conn_set_timeout()). */
#define DROPIPC_DEFAULT_TIMEOUT (30 * 1000000ull)

/* Most bytes (frames with their headers) and fds a non-blocking end keeps
 * queued for a peer that does not read: a send past either fails with
 * -ENOBUFS and queues nothing. A frame is always taken by an empty queue. */
#define DROPIPC_MAX_QUEUED_BYTES (4u << 20)
#define DROPIPC_MAX_QUEUED_FDS 64

/* Default and highest payload size limit, in bytes, per end. */
#define DROPIPC_DEFAULT_MAX_PAYLOAD (1u << 20)
#define DROPIPC_MAX_PAYLOAD_LIMIT (256u << 20)

/* Microseconds: "no timeout" in, "no deadline" out. */
#define DROPIPC_TIMEOUT_INFINITE UINT64_MAX

/* ------------------------------------------------------------------------ */
/* ChildArgs: what the parent sends the child                                */

/*
 * Everything the child needs to build the jail and run the command: the
 * environment id, the jail's Paths, the Config (mounts, blocked paths,
 * environment variables, network) and the command. The meaning of each field
 * is the .proto's (dropipc/v1/dropipc.proto), which says what a child does
 * with it.
 *
 * The parent builds one with dropipc_args_new() and the setters; the child
 * gets one from dropipc_child_recv_args(). Both are freed with
 * dropipc_args_free(). The accessors are generated from the .proto, one
 * rule per field shape (<dropipc/dropipc-args.h>, included below; each
 * one's comment is its field's in the .proto), and follow these rules:
 * - Getters are dropipc_args_get_*, setters dropipc_args_set_* (a single
 *   field) or dropipc_args_add_* (one more element of a repeated one).
 * - Setters copy their strings; getters return strings owned by the
 *   object, NUL-terminated, valid until it is freed or the same field is
 *   set again. OS strings (paths, arguments, variables: bytes in the
 *   schema) may hold any byte but NUL; text (env_id, extends, host_ip)
 *   must be UTF-8, which dropipc_args_validate() checks.
 * - A NULL args, string or out pointer, a flag bit or enum value this
 *   version does not know: -EINVAL, or NULL from a getter that returns a
 *   pointer. Never a crash.
 * - Out of range: an indexed getter returns -ERANGE for i past the end and
 *   leaves the out pointers untouched; to walk a list, call it with i = 0,
 *   1, ... until -ERANGE.
 * - Out of memory: -ENOMEM.
 * Values are checked by dropipc_args_validate() (and by every send), which
 * names the field that is wrong. No struct here grows with the schema: a
 * field added later gets new functions, and a program built against this
 * header keeps working with a library built from a grown schema.
 */
typedef struct dropipc_args dropipc_args;

#include <dropipc/dropipc-args.h>

/* A new, empty ChildArgs (net mode unspecified, no command). -EINVAL for a
 * NULL args, -ENOMEM. */
DROPIPC_EXPORT int dropipc_args_new(dropipc_args **args);

/* Frees args and everything in it. NULL is allowed. Returns NULL, for
 * `args = dropipc_args_free(args);`. */
DROPIPC_EXPORT dropipc_args *dropipc_args_free(dropipc_args *args);

/*
 * Checks args as both ends do: env_id not empty; a known net mode; ports in
 * 1..65535, or auto with both ports 0 (and host_ip empty); host_ip empty or
 * an IP literal; mounts with source and target; blocked paths and exposed
 * patterns not empty; set_vars names not empty and without '='; text
 * fields (env_id, extends, host_ip) valid UTF-8. OS strings (paths,
 * arguments, variables) are bytes: any byte but NUL.
 * Returns 0 or DROPIPC_ERR_INVALID (-EINVAL for a NULL args), with a message
 * naming the field in errbuf
 * (if not NULL), e.g. "config.net.tcp_published_ports[1].guest_port: 70000
 * is not in 1..65535".
 */
DROPIPC_EXPORT int dropipc_args_validate(const dropipc_args *args, char *errbuf, size_t errlen);

/* ------------------------------------------------------------------------ */
/* The two ends                                                              */

/* The parent's end: lives in the launcher, outside the sandbox. */
typedef struct dropipc_parent dropipc_parent;

/* The child's end: lives in the sandbox, next to untrusted code. */
typedef struct dropipc_child dropipc_child;

/* What both ends do alike; see "The connection" below. */
typedef struct dropipc_conn dropipc_conn;

/*
 * Creates the channel: a SOCK_STREAM Unix socket pair. *parent is the
 * parent's end; *child_fd is the child's end, a plain fd for the caller to
 * hand to the child process (see dropipc_child_fd_inherit()) and then
 * close in the parent, or to adopt in this process with
 * dropipc_child_new(). Both are close-on-exec. On failure *parent is NULL,
 * *child_fd -1, and nothing is left open. dropipc_spawn() does this and the
 * rest of starting the child.
 */
DROPIPC_EXPORT int dropipc_socketpair(dropipc_parent **parent, int *child_fd);

/*
 * In the forked child, between fork and exec: makes fd the child's end at
 * DROPIPC_CHILD_FD, inheritable across exec (the copy at DROPIPC_CHILD_FD
 * has close-on-exec cleared; fd itself, if different, is closed).
 * Async-signal-safe: it only calls dup2, fcntl and close. -EBADF for a
 * negative fd.
 */
DROPIPC_EXPORT int dropipc_child_fd_inherit(int fd);

/*
 * Adopts fd (usually one inherited across exec) as the parent's end. The end
 * owns fd from then on, even when this fails. Sets close-on-exec on it.
 * fd must be an AF_UNIX SOCK_STREAM socket: -ENOTSOCK or -EPROTOTYPE
 * otherwise. On failure *parent is NULL.
 */
DROPIPC_EXPORT int dropipc_parent_new(int fd, dropipc_parent **parent);

/*
 * Adopts fd (usually DROPIPC_CHILD_FD) as the child's end. The end owns fd
 * from then on, even when this fails. Sets close-on-exec on it, so that the
 * parent sees end-of-stream when the child's exec succeeds (or it dies). fd
 * must be an AF_UNIX SOCK_STREAM socket, as for dropipc_parent_new().
 */
DROPIPC_EXPORT int dropipc_child_new(int fd, dropipc_child **child);

/*
 * Closes the socket and frees the end (and its connection). NULL is
 * allowed. Returns NULL, for `p = dropipc_parent_free(p);`.
 */
DROPIPC_EXPORT dropipc_parent *dropipc_parent_free(dropipc_parent *parent);
DROPIPC_EXPORT dropipc_child *dropipc_child_free(dropipc_child *child);

/*
 * The end's connection: owned by the end, valid until it is freed. NULL
 * for a NULL end. Async-signal-safe (for dropipc_conn_cancel()).
 */
DROPIPC_EXPORT dropipc_conn *dropipc_parent_conn(dropipc_parent *parent);
DROPIPC_EXPORT dropipc_conn *dropipc_child_conn(dropipc_child *child);

/* ------------------------------------------------------------------------ */
/* The connection: what both ends do alike                                   */

/* The end's socket, for poll(): an fd still owned by the end. */
DROPIPC_EXPORT int dropipc_conn_get_fd(const dropipc_conn *conn);

/*
 * Time limit, in microseconds, for each whole send or receive on the end
 * (not per system call); it holds for every later call until it is set
 * again. A receive that has not completed a frame by then fails with
 * DROPIPC_ERR_TIMEDOUT. DROPIPC_TIMEOUT_INFINITE waits forever; 0 fails at
 * once when nothing is there. The default: forever on a child end and on a
 * parent end with a pidfd attached; DROPIPC_DEFAULT_TIMEOUT (30 s) on a
 * parent end without one, since a child can hide its death (its end inside
 * another socket's queue keeps the channel open): set
 * DROPIPC_TIMEOUT_INFINITE to wait forever there. A timeout before the
 * first byte of a frame leaves the connection usable; one in the middle of
 * a frame does not (later calls fail with DROPIPC_ERR_CLOSED). A child that
 * lives on and sends nothing (or hands its end to a process of its own) is
 * ended by the timeout only: the pidfd sees deaths, not silence.
 */
DROPIPC_EXPORT int dropipc_conn_set_timeout(dropipc_conn *conn, uint64_t usec);

/*
 * Largest payload, in bytes, the end accepts, and sends: a frame that
 * announces more is rejected with DROPIPC_ERR_TOOBIG before anything is
 * allocated for it, and a message that packs to more is not sent (a peer
 * keeps to the default unless both ends raise it).
 * 1..DROPIPC_MAX_PAYLOAD_LIMIT; default DROPIPC_DEFAULT_MAX_PAYLOAD. A
 * decoded message may use at most 64 times its payload size, plus 4 KiB, in
 * memory while it is decoded (every message the schema allows fits).
 */
DROPIPC_EXPORT int dropipc_conn_set_max_payload(dropipc_conn *conn, size_t bytes);

/*
 * The message for the end's last error, with context, e.g. "recv pty:
 * expected 1 fd, got 2". "" if there was none, and for a NULL conn. Valid
 * until the next call on the end. Text from the peer in it is sanitized
 * (no control characters) and never cut inside a UTF-8 character.
 */
DROPIPC_EXPORT const char *dropipc_conn_get_errmsg(const dropipc_conn *conn);

/*
 * Makes the blocking call waiting on the end, or the next one, return
 * -ECANCELED at once. Async-signal-safe, and the one call that may come from
 * another thread. A frame cut short by it leaves the connection unusable.
 */
DROPIPC_EXPORT int dropipc_conn_cancel(dropipc_conn *conn);

/*
 * Closing the fds from the peer that an end does not keep (rejected, or
 * claimed by no field). A close can wait, without limit and in a state no
 * signal ends, on whatever the peer put behind the fd: a FUSE file's FLUSH,
 * a pipe whose lock splice() holds, a lingering socket, a tty's locks, a
 * Unix socket's queued fds, an epoll instance the file is registered in.
 * The end closes in the calling thread only what cannot wait on anything
 * (/dev/null, /dev/zero, /dev/full and memfds: docs/SECURITY.md says why);
 * every other fd goes by the end's mode:
 * - DROPIPC_CLOSE_HELPER (the default; fn NULL): a helper process that
 *   shares this process's fd table closes it. There is at most one, and
 *   only while a close is pending; the call that starts it waits for it at
 *   most 100 ms. Being a process, not a thread, it does not make the
 *   launcher multi-threaded (unshare(CLONE_NEWUSER) and setns() into a
 *   user namespace still work) nor keep it from exiting; it sends no
 *   SIGCHLD and only a wait with __WALL or __WCLONE can see it. While it is
 *   stuck, the fds of later closes wait, open, for the next one; an end
 *   with DROPIPC_MAX_PARKED_FDS of them waiting refuses every later
 *   receive (DROPIPC_ERR_CLOSED). A stuck helper holds the fd table, so the
 *   launcher's fds stay open until it ends, also after the launcher exits.
 * - DROPIPC_CLOSE_INLINE (fn NULL): close() in the calling thread, which
 *   may then wait as long as the peer wants. For a launcher that accepts
 *   the risk.
 * - DROPIPC_CLOSE_CALLBACK: fn(fd, data) is called with each such fd,
 *   which is then fn's to close.
 * The end's own socket, whose receive queue may still hold fds from the
 * peer (its last close releases them), goes the same way when the end is
 * freed.
 * A receive reads nothing unless 253 fds (the most one recvmsg can carry)
 * fit below RLIMIT_NOFILE: the kernel would close those that do not fit in
 * the calling thread. It fails with -EMFILE instead, the frame left
 * unread; so a process whose soft RLIMIT_NOFILE is below about 260 cannot
 * receive.
 * Returns 0, or -EINVAL for an unknown mode or a fn that does not fit it.
 */
typedef void (*dropipc_close_fn)(int fd, void *data);
#define DROPIPC_CLOSE_HELPER 0
#define DROPIPC_CLOSE_INLINE 1
#define DROPIPC_CLOSE_CALLBACK 2
#define DROPIPC_MAX_PARKED_FDS 64
DROPIPC_EXPORT int dropipc_conn_set_close(dropipc_conn *conn, int mode, dropipc_close_fn fn,
					  void *data);

/* ------------------------------------------------------------------------ */
/* Event loops: non-blocking connections                                     */

/*
 * In non-blocking mode (on = 1; 0 turns it off) no call on the end blocks:
 * - A receive that cannot complete a frame yet returns -EAGAIN and keeps
 *   the partial frame (and its fds) inside the end; call the same receive
 *   again when dropipc_conn_get_events() is ready. A completed message is
 *   handed out exactly as in blocking mode, with the same checks.
 * - A send queues the whole frame (the end keeps its own copies of the
 *   fds), writes what the socket takes and returns 0; while data is left,
 *   dropipc_conn_get_events() includes POLLOUT, and dropipc_conn_flush()
 *   writes more.
 * - The timeout still holds, counted from the call that started the
 *   receive or the send: once dropipc_conn_get_deadline() has passed, the
 *   call returns DROPIPC_ERR_TIMEDOUT.
 * - No call waits on the socket. Closing a rejected fd goes by the end's
 *   close policy (dropipc_conn_set_close()): by default a helper process,
 *   which the call that starts it waits for at most 100 ms.
 * - A send that would queue more than DROPIPC_MAX_QUEUED_BYTES or
 *   DROPIPC_MAX_QUEUED_FDS for a peer that does not read fails with
 *   -ENOBUFS and queues nothing.
 * - The end's events cover its socket only: watch the child's pidfd in the
 *   same loop (a receive called after the child died returns
 *   DROPIPC_ERR_DEAD when the pidfd is attached).
 * - A send before execve() or _exit() (dropipc_child_confirm_exec(),
 *   dropipc_child_send_error()) must be flushed first: call
 *   dropipc_conn_flush() until it returns 0, or the frame is lost.
 */
DROPIPC_EXPORT int dropipc_conn_set_nonblocking(dropipc_conn *conn, int on);

/* The poll(2) events (POLLIN, POLLOUT) the end waits for on its fd. */
DROPIPC_EXPORT int dropipc_conn_get_events(const dropipc_conn *conn);

/*
 * The end's next deadline on CLOCK_MONOTONIC, in microseconds, in *usec;
 * DROPIPC_TIMEOUT_INFINITE when there is none.
 */
DROPIPC_EXPORT int dropipc_conn_get_deadline(const dropipc_conn *conn, uint64_t *usec);

/* Writes queued data: 0 when all is sent, -EAGAIN while some is left. */
DROPIPC_EXPORT int dropipc_conn_flush(dropipc_conn *conn);

/* ------------------------------------------------------------------------ */
/* Named fds (Files), in either direction                                    */

/*
 * One named fd of a Files message. When sending, the fd stays the caller's.
 * When receiving, the fd is the caller's to close.
 */
typedef struct dropipc_file {
	const char *name;
	int fd;
} dropipc_file;

/*
 * Sends n (1..DROPIPC_MAX_FDS) named fds in one frame. The fds stay the
 * caller's.
 */
DROPIPC_EXPORT int dropipc_conn_send_files(dropipc_conn *conn, const dropipc_file *files,
					   size_t n);

/*
 * Receives a Files frame. On success *files is an array of *n entries in one
 * allocation with free() semantics (names included); each fd is the
 * caller's to close. On failure *files is NULL, *n is 0 and every fd that
 * arrived has been closed. On the parent's end, DROPIPC_ERR_CHILD means the
 * child sent a setup failure instead (see dropipc_parent_get_child_error()).
 */
DROPIPC_EXPORT int dropipc_conn_recv_files(dropipc_conn *conn, dropipc_file **files, size_t *n);

/* ------------------------------------------------------------------------ */
/* A launcher's own messages (Custom), in either direction                   */

/*
 * A launcher's own message (Envelope.custom): a type that names it
 * ("org.example.launcher.Limits/1": 1..256 bytes of printable ASCII,
 * 0x21..0x7e), data in whatever encoding the type says, and 0..16 named
 * fds, checked as Files' are. Send one only to a peer known to expect it
 * (the launcher's own agreement); an older peer reports it unsupported
 * (DROPIPC_ERR_UNSUPPORTED), and a peer expecting another message a
 * protocol error. The sender's data and fds stay the caller's. data may be
 * NULL when len is 0, files when n is 0.
 */
DROPIPC_EXPORT int dropipc_conn_send_custom(dropipc_conn *conn, const char *type,
					    const void *data, size_t len,
					    const dropipc_file *files, size_t n);

/*
 * A received Custom message: one allocation with free() semantics (type,
 * data and names included), made by the library only (the struct may grow
 * at the end). data is followed by a NUL byte not counted in len; each fd
 * of files is the caller's to close.
 */
typedef struct dropipc_custom {
	const char *type;
	const void *data;
	size_t len;
	dropipc_file *files;
	size_t n_files;
} dropipc_custom;

/*
 * Receives a Custom frame into *msg (NULL on failure, when every fd that
 * arrived has been closed). On the parent's end, DROPIPC_ERR_CHILD means
 * the child reported a setup failure instead.
 */
DROPIPC_EXPORT int dropipc_conn_recv_custom(dropipc_conn *conn, dropipc_custom **msg);

/* ------------------------------------------------------------------------ */
/* The handshake                                                             */

/*
 * Attaches the child's pidfd (pidfd_open(2), or from dropipc_spawn(), which
 * attaches it itself) to the parent's end: every blocking receive then also
 * waits on it, and a child that dies before a frame completes ends the
 * receive at once with DROPIPC_ERR_DEAD, whatever fds it sent. Frames the
 * child sent completely before it died are still received. The end keeps
 * its own copy of pidfd (the caller's stays the caller's); -1 detaches it.
 * It does not reap the child: waitpid() or waitid(P_PIDFD) stays the
 * caller's.
 */
DROPIPC_EXPORT int dropipc_parent_set_pidfd(dropipc_parent *parent, int pidfd);

/*
 * Tells a parent end adopted with dropipc_parent_new() which socket is the
 * child's end of the channel (child_fd stays the caller's): its inode is
 * recorded, and a receive that finds that socket among the fds the child
 * sent fails with DROPIPC_ERR_PROTO (holding it, the parent would never see
 * the channel close). dropipc_socketpair() and dropipc_spawn()
 * record it themselves. A parent end that does not know it
 * refuses every Unix stream socket the child sends (DROPIPC_ERR_PROTO),
 * since any of them could be it. -ENOTSOCK or -EPROTOTYPE if child_fd is
 * not a Unix stream socket, -EBADF if it is negative.
 */
DROPIPC_EXPORT int dropipc_parent_set_peer(dropipc_parent *parent, int child_fd);

/*
 * Parent: sends the child its arguments. args is validated first (see
 * dropipc_args_validate()); nothing is sent if it fails. args stays the
 * caller's. The library asks the child to confirm its exec (see
 * dropipc_child_confirm_exec()).
 */
DROPIPC_EXPORT int dropipc_parent_send_args(dropipc_parent *parent, const dropipc_args *args);

/*
 * Child: waits for the parent's arguments and validates them. On success
 * *args is the caller's, to free with dropipc_args_free(); on failure *args
 * is NULL. When the arguments arrive but cannot be used (they fail
 * validation, or do not decode), the child's end reports the failure to the
 * parent itself (stage DROPIPC_STAGE_ARGS) before returning.
 */
DROPIPC_EXPORT int dropipc_child_recv_args(dropipc_child *child, dropipc_args **args);

/*
 * Child: sends the pseudoterminal's master fd to the parent. master_fd stays
 * the caller's (the parent gets its own copy). It must be a pty master
 * opened read-write; -EBADF for a negative fd.
 */
DROPIPC_EXPORT int dropipc_child_send_pty(dropipc_child *child, int master_fd);

/*
 * Parent: waits for the child's pty master. On success *master_fd is a
 * close-on-exec fd the caller owns, checked to be a pty master opened
 * read-write; on failure it is -1. Returns DROPIPC_ERR_EOF if the child
 * closed the channel first (it died, or exec'd without sending),
 * DROPIPC_ERR_DEAD if its pidfd said it died first, DROPIPC_ERR_CHILD if
 * the child sent a setup failure instead (dropipc_parent_get_child_error()
 * then has it), DROPIPC_ERR_NOTPTY if the fd it sent is not a read-write
 * pty master, and any receive error otherwise.
 */
DROPIPC_EXPORT int dropipc_parent_recv_pty(dropipc_parent *parent, int *master_fd);

/*
 * Child, right before execve(): tells the parent that the exec is next
 * (when the parent asked for it; otherwise sends nothing). The channel is
 * close-on-exec, so the parent then sees end-of-stream exactly when the
 * exec succeeded. If the exec fails, report it with
 * dropipc_child_send_error(DROPIPC_STAGE_EXEC, ...).
 */
DROPIPC_EXPORT int dropipc_child_confirm_exec(dropipc_child *child);

/*
 * Parent, after sending the arguments (and receiving the pty, if one was
 * sent): waits for the outcome of the child's exec. Returns 0 when the
 * child confirmed its exec and then closed the channel (the exec
 * succeeded); DROPIPC_ERR_NOEXEC when the channel closed without that
 * confirmation (the child died or exited before exec, or it is a peer that
 * does not confirm); DROPIPC_ERR_DEAD when the pidfd says the child died
 * first; DROPIPC_ERR_CHILD when the child reported a failure (see
 * dropipc_parent_get_child_error()); DROPIPC_ERR_PROTO for any other
 * message; DROPIPC_ERR_TRUNC, DROPIPC_ERR_TIMEDOUT or -errno as for any
 * receive.
 */
DROPIPC_EXPORT int dropipc_parent_wait_exec(dropipc_parent *parent);

/* Where the child's setup failed (ChildError.Stage). */
typedef enum {
	DROPIPC_STAGE_UNSPECIFIED = 0,
	DROPIPC_STAGE_ARGS = 1, /* receiving or validating the arguments */
	DROPIPC_STAGE_JAIL = 2, /* building the jail */
	DROPIPC_STAGE_PTY = 3,	/* creating or handing over the pty */
	DROPIPC_STAGE_EXEC = 4	/* finding or starting the command */
} dropipc_stage;

/* The name of a stage, e.g. "exec"; "unknown" for other values. */
DROPIPC_EXPORT const char *dropipc_stage_name(int stage);

/*
 * Child: reports a setup failure to the parent. stage is one of
 * DROPIPC_STAGE_* (others: -EINVAL); err is an errno value (0 for none);
 * the message is printf-formatted and cut at 4096 bytes (never inside a
 * UTF-8 character).
 */
DROPIPC_EXPORT int dropipc_child_send_error(dropipc_child *child, dropipc_stage stage,
					    int err, const char *fmt, ...) DROPIPC_PRINTF(4, 5);

/*
 * Parent: the setup failure the child last reported (after
 * DROPIPC_ERR_CHILD). Returns 0 and fills in whichever of stage, err (the
 * child's errno value) and message are not NULL (each may be NULL), or
 * -ENODATA when there is none. The message is owned by the end, valid until
 * its next receive. It comes from the sandbox: it is cut at 4096 bytes
 * (never inside a character) and passed through dropipc_text_sanitize(), so
 * that printing it cannot drive the user's terminal (it keeps '\n' and
 * '\t'; the errmsg's quote of it has no control character at all).
 */
DROPIPC_EXPORT int dropipc_parent_get_child_error(const dropipc_parent *parent,
						  dropipc_stage *stage, int *err,
						  const char **message);

/* ------------------------------------------------------------------------ */
/* The child as the sandbox's init                                           */

/*
 * Child, instead of execve(): runs the command as a child of this process,
 * which stays as the sandbox's init (PID 1 of a new PID namespace, or a
 * child subreaper otherwise) until the command exits. In order:
 *   - sets PR_SET_PDEATHSIG SIGKILL (then checks getppid(): a parent gone
 *     meanwhile fails it), PR_SET_CHILD_SUBREAPER, and PR_SET_DUMPABLE 0
 *     (nothing in the sandbox may ptrace the init and clear that signal);
 *   - forks; the command gets its own process group (the foreground one of
 *     the controlling terminal, if one of fds 0-2 is it), the caller's
 *     signal mask, and execve(path, argv, envp): path is not looked up;
 *   - learns whether that execve succeeded (a close-on-exec pipe). If not,
 *     reaps the command, reports DROPIPC_STAGE_EXEC ("execve PATH: ...")
 *     with dropipc_child_send_error() and returns -errno of the execve;
 *   - confirms the exec (dropipc_child_confirm_exec(): the command was
 *     exec'd). If that fails (the parent is gone), kills the command's
 *     process group, reaps the command and returns that call's error;
 *   - closes child (freed: the caller must not use it again) and every fd
 *     but 0-2, which the init keeps open until it exits;
 *   - then, for good: reaps every child (orphans too); forwards SIGHUP,
 *     SIGINT, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM, SIGTERM, SIGCONT, SIGTSTP,
 *     SIGTTIN, SIGTTOU and SIGWINCH to the command's process group (to the
 *     command alone once it has left that group); and when the command
 *     exits, exits with its status, 128+N if it was killed by signal N.
 *     Processes left in the PID namespace die with the init (the kernel
 *     kills them); out of one, they are reparented further up.
 * Like execve(), it returns only on failure: a negative errno, the child
 * still the caller's (to close), no process left behind, and the
 * caller's signal mask, SIGCHLD action, subreaper and dumpable flags back
 * (the parent-death signal stays set). -EINVAL if an argument is NULL.
 */
DROPIPC_EXPORT int dropipc_child_exec_init(dropipc_child *child, const char *path,
					   char *const argv[], char *const envp[]);

/* ------------------------------------------------------------------------ */
/* Starting the child                                                        */

/* Namespaces for dropipc_spawn_options.namespaces. */
#define DROPIPC_NS_USER 0x01u
#define DROPIPC_NS_MOUNT 0x02u
#define DROPIPC_NS_PID 0x04u
#define DROPIPC_NS_UTS 0x08u
#define DROPIPC_NS_IPC 0x10u
#define DROPIPC_NS_NET 0x20u
#define DROPIPC_NS_CGROUP 0x40u

/* Flags for dropipc_spawn_options.flags. */
/* Write "deny" to the child's setgroups before its gid_map (needed for an
 * unprivileged gid_map written to /proc). */
#define DROPIPC_SPAWN_DENY_SETGROUPS 0x01u
/* The child starts a new session (setsid()). */
#define DROPIPC_SPAWN_NEW_SESSION 0x02u
/* stdio[] gives the child's fds 0, 1 and 2 (without it, all three are the
 * caller's, and stdio[] is not read). */
#define DROPIPC_SPAWN_STDIO 0x04u
/* Write the id maps with the setuid helpers /usr/bin/newuidmap and
 * /usr/bin/newgidmap (the uidmap package), as rootless podman and crun do:
 * an unprivileged caller can then map several ranges, those /etc/subuid
 * and /etc/subgid give it (and its own id). The parent runs each with
 * fds 0-2 only, default signals and an environment of its own, and waits
 * for it; one that fails makes the spawn fail with -EPERM and a message
 * naming it, with its exit status and what it wrote (sanitized), e.g.
 * "/usr/bin/newuidmap for pid 42: exit status 1: newuidmap: uid range
 * [1-6) -> [4000000000-4000000005) not allowed". With DENY_SETGROUPS the
 * parent writes "deny" itself before newgidmap runs. Without the flag the
 * parent writes /proc/PID/uid_map and gid_map itself, which takes one line
 * (the caller's own id) from an unprivileged caller. */
#define DROPIPC_SPAWN_ID_MAP_HELPERS 0x08u
/* Keep the caller's signal mask and ignored signals for the child (its
 * handlers cannot survive the exec and are reset either way). */
#define DROPIPC_SPAWN_KEEP_SIGNALS 0x10u
/* Keep the caller's inheritable and ambient capabilities for the child
 * (caps is raised on top of them). */
#define DROPIPC_SPAWN_KEEP_CAPS 0x20u

/* One line of a uid_map or gid_map: count ids from `outside` (in the
 * caller's user namespace) appear as `inside` in the child's. */
typedef struct dropipc_id_map {
	uint32_t inside, outside, count;
} dropipc_id_map;

/*
 * How to start the child: what Go's exec.Cmd with SysProcAttr and
 * ExtraFiles does for Drop. The caller owns it and everything it points
 * to; dropipc_spawn() only reads them, and keeps nothing after it returns.
 * Zero it, then set size, path and argv: every other field's zero is the
 * default (no namespace, no map, no capability, no extra fd, the caller's
 * stdio, no parent-death signal, no flag). Fields are never reordered: a
 * later version only adds fields at the end, and size tells the library
 * which version the caller was built with.
 */
typedef struct dropipc_spawn_options {
	size_t size;		   /* sizeof(dropipc_spawn_options) */
	const char *path;	   /* the program to exec: a path, no PATH lookup */
	const char *const *argv;   /* NULL-terminated; NULL: { path, NULL } */
	const char *const *envp;   /* NULL-terminated; NULL: the caller's environ */
	const dropipc_id_map *uid_map; /* n_uid_map lines (DROPIPC_NS_USER only) */
	size_t n_uid_map;
	const dropipc_id_map *gid_map; /* n_gid_map lines (DROPIPC_NS_USER only) */
	size_t n_gid_map;
	const int *fds;		   /* passed at 4, 5, ... in order; stay the caller's */
	size_t n_fds;
	uint64_t caps;		   /* bit 1 << CAP_x: raised inheritable and ambient */
	unsigned int namespaces;   /* DROPIPC_NS_* to create */
	unsigned int flags;	   /* DROPIPC_SPAWN_* */
	int stdio[3];		   /* with DROPIPC_SPAWN_STDIO: fds 0-2, -1 keeps the caller's */
	int pdeathsig;		   /* signal on the parent's death (0: none), see below */
} dropipc_spawn_options;

/*
 * Starts the child as opts says, with its end of a new channel as fd 3 and
 * every other fd but 0-2 and the extra ones closed.
 *
 * The child starts clean, whatever the caller's state: every signal
 * unblocked and at its default disposition (unless
 * DROPIPC_SPAWN_KEEP_SIGNALS), the inheritable and ambient capability sets
 * exactly opts->caps (unless DROPIPC_SPAWN_KEEP_CAPS). The bounding set is
 * the caller's. The parent writes the id maps (itself, or with
 * DROPIPC_SPAWN_ID_MAP_HELPERS through newuidmap and newgidmap) while the
 * child waits, before it goes on.
 *
 * pdeathsig: as PR_SET_PDEATHSIG works, "the parent" is the thread that
 * calls dropipc_spawn(): call it from a thread that lives as long as the
 * child should. In a new PID namespace only SIGKILL ends the child (it is
 * PID 1 there).
 *
 * Returns 0 when no exec error was reported: the exec-status pipe,
 * close-on-exec in the child, closed without a report, which means the
 * exec succeeded (or the child was killed before it, by someone else).
 * That is all a success says: the program may fail or exit at once, and
 * the wait status is the truth from then on. On success *parent is the
 * parent's end (with the child's pidfd attached, see
 * dropipc_parent_set_pidfd()), *pid the child's pid and *pidfd (if not
 * NULL) a close-on-exec pidfd the caller owns. The caller reaps the child
 * (waitpid() or waitid(P_PIDFD)).
 *
 * On failure it returns a negative error code, writes a message naming
 * what failed to errbuf (if not NULL; errlen bytes, NUL-terminated, e.g.
 * "exec /no/such: No such file or directory"), and leaves *parent NULL,
 * *pid -1 and *pidfd -1; a child already started is killed and reaped and
 * nothing is left open. A failure of the exec itself (-ENOENT, -EACCES,
 * ...) or of a step before it in the child is this call's own result.
 * -EINVAL: opts, parent or pid NULL, a size smaller than the first
 * version's (or larger, with a non-zero byte past what this version
 * knows), an unknown flag or namespace bit, no path, a map line of count
 * 0, maps or DENY_SETGROUPS without DROPIPC_NS_USER, a pdeathsig that is
 * no signal. -EBADF: a negative fd in fds or stdio (but -1 in stdio).
 * -EPERM: a helper refused an id map, or the kernel refused one written to
 * /proc (it says -EINVAL for a malformed one, e.g. overlapping lines).
 *
 * Safe in a multithreaded parent: between clone and exec the child makes
 * only async-signal-safe calls. But a process that another thread forks
 * meanwhile, and that neither execs nor exits, holds the exec-status pipe,
 * and this call waits for it (as Go's os/exec without its ForkLock would);
 * fork only to exec in a launcher that spawns.
 */
DROPIPC_EXPORT int dropipc_spawn(const dropipc_spawn_options *opts, dropipc_parent **parent,
				 pid_t *pid, int *pidfd, char *errbuf, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif /* DROPIPC_H */
