/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * Writes the fuzz target's seed corpus: valid frames of every message type
 * (and one sequence of two), as the library sends them, each behind the
 * control byte that makes the target receive them the right way. Files are
 * named after the message and a hash of their content.
 *
 *   gen_corpus DIR          writes the corpus into DIR
 *   gen_corpus --check DIR  fails unless DIR holds every file, unchanged
 *                           (the committed corpus follows the protocol)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz_recv.h"
#include "testutil.h"

#define MAX_FRAMES 4096

struct input {
	uint8_t buf[MAX_FRAMES];
	size_t len;
};

static void die(const char *what, int err)
{
	fprintf(stderr, "gen_corpus: %s: %s\n", what, dropipc_strerror(err));
	exit(1);
}

/* Appends what is queued on raw fd to in, closing the fds that came. */
static void drain(int fd, struct input *in)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * DROPIPC_MAX_FDS)];
		struct cmsghdr align;
	} ctrl;

	for (;;) {
		struct iovec iov = { in->buf + in->len, sizeof(in->buf) - in->len };
		struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctrl.buf,
				      .msg_controllen = sizeof(ctrl.buf) };
		ssize_t n = recvmsg(fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

		if (n <= 0) {
			if (n < 0 && errno != EAGAIN)
				die("recvmsg", -errno);
			return;
		}
		for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
			size_t k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			int got;

			for (size_t i = 0; i < k; i++) {
				memcpy(&got, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
				close(got);
			}
		}
		in->len += (size_t)n;
	}
}

/* FNV-1a, 64 bits: a stable name for a content. */
static uint64_t hash(const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

/* Writes (or checks) one corpus file: ctl, then the frames. */
static int emit(const char *dir, bool check, const char *name, uint8_t ctl,
		const struct input *in)
{
	uint8_t data[1 + MAX_FRAMES], old[2 + MAX_FRAMES];
	char path[4096];
	size_t len = 1 + in->len, oldlen;
	FILE *f;

	data[0] = ctl;
	memcpy(data + 1, in->buf, in->len);
	snprintf(path, sizeof(path), "%s/%s-%016llx", dir, name,
		 (unsigned long long)hash(data, len));
	if (check) {
		f = fopen(path, "rbe");
		oldlen = f ? fread(old, 1, sizeof(old), f) : 0;
		if (f)
			fclose(f);
		if (!f || oldlen != len || memcmp(old, data, len) != 0) {
			fprintf(stderr, "gen_corpus: %s is missing or differs; regenerate the "
				"corpus with gen_corpus test/fuzz/corpus\n", path);
			return 1;
		}
		return 0;
	}
	f = fopen(path, "wbe");
	if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0)
		die(path, -errno);
	printf("%s\n", path);
	return 0;
}

/* A parent end and the raw socket of the child's side. */
static dropipc_parent *parent_pair(int *raw)
{
	dropipc_parent *p;
	int r = dropipc_socketpair(&p, raw);

	if (r < 0)
		die("dropipc_socketpair", r);
	return p;
}

/* A child end and the raw socket of the parent's side. */
static dropipc_child *child_pair(int *raw)
{
	dropipc_child *c;
	int sv[2], r;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		die("socketpair", -errno);
	r = dropipc_child_new(sv[0], &c);
	if (r < 0)
		die("dropipc_child_new", r);
	*raw = sv[1];
	return c;
}

static void ok(int r, const char *what)
{
	if (r < 0)
		die(what, r);
}

int main(int argc, char **argv)
{
	const dropipc_file three[] = { { "stdin", 0 }, { "stdout", 1 }, { "stderr", 2 } };
	bool check = argc == 3 && !strcmp(argv[1], "--check");
	const char *dir = argv[argc - 1];
	struct input in;
	dropipc_parent *p;
	dropipc_child *c;
	int raw, ptm, fails = 0;

	if (argc != 2 && !check) {
		fprintf(stderr, "usage: gen_corpus [--check] DIR\n");
		return 2;
	}
	ptm = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (ptm < 0)
		die("posix_openpt", -errno);

	/* Parent to child: ChildArgs, and Files. */
	p = parent_pair(&raw);
	in.len = 0;
	ok(dropipc_parent_send_args(p, test_example_args()), "send args");
	drain(raw, &in);
	fails += emit(dir, check, "child_args", FUZZ_CTL(FUZZ_CHILD_ARGS, 0, 0), &in);
	in.len = 0;
	ok(dropipc_conn_send_files(dropipc_parent_conn(p), three, 2), "send files");
	drain(raw, &in);
	fails += emit(dir, check, "files_to_child", FUZZ_CTL(FUZZ_CHILD_FILES, 2, 0), &in);
	dropipc_parent_free(p);
	close(raw);

	/* Child to parent: the pty, an error, the pty then an error, Files. */
	c = child_pair(&raw);
	in.len = 0;
	ok(dropipc_child_send_pty(c, ptm), "send pty");
	drain(raw, &in);
	fails += emit(dir, check, "pty", FUZZ_CTL(FUZZ_PARENT_PTY, 1, 1), &in);
	ok(dropipc_child_send_error(c, DROPIPC_STAGE_EXEC, ENOENT,
				    "execvp nosuchcmd: No such file or directory"),
	   "send error");
	drain(raw, &in);
	fails += emit(dir, check, "pty_then_error", FUZZ_CTL(FUZZ_PARENT_PTY, 1, 1), &in);
	in.len = 0;
	ok(dropipc_child_send_error(c, DROPIPC_STAGE_JAIL, EPERM, "mount /proc: %s",
				    "Operation not permitted"),
	   "send error");
	drain(raw, &in);
	fails += emit(dir, check, "error", FUZZ_CTL(FUZZ_PARENT_PTY, 0, 0), &in);
	in.len = 0;
	ok(dropipc_conn_send_files(dropipc_child_conn(c), three, 3), "send files");
	drain(raw, &in);
	fails += emit(dir, check, "files_to_parent", FUZZ_CTL(FUZZ_PARENT_FILES, 3, 0), &in);
	dropipc_child_free(c);
	close(raw);
	close(ptm);
	return fails ? 1 : 0;
}
