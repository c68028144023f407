/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * The input format of the receive-path fuzz target, shared by the target and
 * the seed corpus generator. An input is one control byte, then the bytes
 * the peer sends:
 *   bits 0-1  which receive runs (enum fuzz_recv_kind), repeatedly
 *   bits 2-6  how many fds go with the first byte (0..31; more than 16
 *             makes the kernel truncate the control data)
 *   bit  7    the fds are copies of a pty master (else of /dev/null)
 */
#ifndef DROPIPC_FUZZ_RECV_H
#define DROPIPC_FUZZ_RECV_H

#include <stddef.h>
#include <stdint.h>

enum fuzz_recv_kind {
	FUZZ_PARENT_PTY = 0,	/* dropipc_parent_recv_pty */
	FUZZ_CHILD_ARGS = 1,	/* dropipc_child_recv_args */
	FUZZ_PARENT_FILES = 2,	/* dropipc_conn_recv_files on the parent's end */
	FUZZ_CHILD_FILES = 3,	/* dropipc_conn_recv_files on the child's end */
};

/*
 * In pieces mode (fuzz_pieces set: FUZZ_PIECES=1 in the environment of the
 * libFuzzer binary, or replay --pieces), the control byte is followed by a
 * byte n (its low 4 bits), then n piece sizes (a byte each, 0 meaning 256),
 * then the bytes the peer sends. The end runs non-blocking, and the peer
 * sends one piece (the sizes in turn) each time a receive returns -EAGAIN;
 * after the last piece it closes.
 */
extern int fuzz_pieces;

#define FUZZ_CTL(kind, nfds, pty) ((uint8_t)((kind) | (nfds) << 2 | ((pty) ? 0x80 : 0)))

/* Inputs longer than this are cut: what one nonblocking send can queue. */
#define FUZZ_MAX_INPUT (64 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Messages (a ChildError included) received, over all inputs so far. */
extern unsigned long fuzz_received;

#endif
