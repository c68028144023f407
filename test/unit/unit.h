/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/* Helpers of the core library's unit tests (test/unit). */
#ifndef DROPIPC_UNIT_H
#define DROPIPC_UNIT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "testutil.h"
/* The protobuf-c structs and the args behind a dropipc_args, for raw frames:
 * the unit tests link dropipc_internal. */
#include "internal.h"

/* The suites, one per file; main.c runs them (CK_RUN_SUITE picks one). */
Suite *suite_roundtrip(void);
Suite *suite_fds(void);
Suite *suite_errors(void);
Suite *suite_api(void);
Suite *suite_args(void);
Suite *suite_custom(void);
Suite *suite_nonblock(void);
Suite *suite_pidfd(void);

/* Whether this kernel has pidfd_open(2) (suite pidfd needs it). */
int unit_pidfd_supported(void);
Suite *suite_hardening(void);
Suite *suite_init(void);

/* Both ends in this process: dropipc_socketpair() and dropipc_child_new()
 * (1.0 has no dropipc_pair()). On failure both are NULL. */
int unit_pair(dropipc_parent **parent, dropipc_child **child);

/* A TCase with the fd-accounting fixture and a timeout, added to s. */
TCase *unit_tcase(Suite *s, const char *name);

/* Asserts that string s contains sub. */
#define unit_assert_contains(s, sub)                                                   \
	ck_assert_msg(strstr((s), (sub)) != NULL, "\"%s\" does not contain \"%s\"", (s), (sub))

/* ---- raw frames (rawframe.c; the header layout of docs/PROTOCOL.md) ------- */

struct unit_header {
	char magic[4];
	uint16_t version;
	uint16_t nfds;
	uint32_t len;
	uint32_t reserved;
};

/* A valid header for a payload of len bytes and nfds fds. */
struct unit_header unit_header(uint16_t nfds, uint32_t len);

/* The 16 bytes of h, little-endian. */
void unit_header_encode(const struct unit_header *h, uint8_t out[16]);

/*
 * Sends buf with one sendmsg on sock, fds attached as SCM_RIGHTS, and
 * asserts all of it went. The fds stay the caller's.
 */
void unit_send_raw(int sock, const void *buf, size_t len, const int *fds, size_t nfds);

/*
 * Sends a frame: header h (NULL: a valid one for len and nfds), then the
 * payload, in one sendmsg carrying the fds.
 */
void unit_send_frame(int sock, const struct unit_header *h, const void *payload, size_t len,
		     const int *fds, size_t nfds);

/* Packs msg into a malloc'ed buffer; *len is its size. */
uint8_t *unit_pack(const ProtobufCMessage *msg, size_t *len);

/* Packs an Envelope holding msg as child_args, as it is (no checks). */
uint8_t *unit_pack_child_args(const Dropipc__V1__ChildArgs *msg, size_t *len);

/* Packs an Envelope holding the ChildArgs message behind args. */
uint8_t *unit_pack_args(const dropipc_args *args, size_t *len);

/* Packs an Envelope holding a PtyHandoff whose master_fd is idx. */
uint8_t *unit_pack_pty(uint32_t idx, size_t *len);

/* Packs an Envelope holding Files: n files named names[i] with fd index idx[i]. */
uint8_t *unit_pack_files(const char *const *names, const uint32_t *idx, size_t n, size_t *len);

/* ---- util.c ------------------------------------------------------------------ */

/* A close-on-exec, unlinked temporary file holding text, offset 0; -1 on failure. */
int unit_tmpfile(const char *text);

/*
 * Reads up to len bytes from fd, waiting at most about 2 s for each read;
 * returns how many arrived (less at end of file or on timeout).
 */
size_t unit_read(int fd, void *buf, size_t len);

/* Whether fd has FD_CLOEXEC set (asserts that fd is open). */
int unit_cloexec(int fd);

/*
 * Forks a process that runs fn(arg) and exits with its return value (0 for
 * success); an alarm kills it if it hangs. Check's assertions work in it (a
 * failed one makes it exit 1, the message recorded). For the check macro of
 * plain code in the child, see UNIT_REQUIRE.
 */
pid_t unit_fork(int (*fn)(void *arg), void *arg);

/* Waits for pid and asserts that it exited with status 0. */
void unit_reap_ok(pid_t pid);

/* In a forked child: report a failed condition and return 1 from fn. */
#define UNIT_REQUIRE(cond)                                                              \
	do {                                                                            \
		if (!(cond)) {                                                          \
			fprintf(stderr, "%s:%d: in the child process: %s\n", __FILE__,  \
				__LINE__, #cond);                                       \
			return 1;                                                       \
		}                                                                       \
	} while (0)

#endif
