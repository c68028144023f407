/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * A hostile peer for the hostile tests: speaks raw sendmsg on fd 3 (or the fd
 * given as argv[2]) and runs the one attack named by argv[1]. It is built
 * without the library on purpose: the header layout and the protobuf bytes
 * are written out by hand from docs/PROTOCOL.md and the schema, so that it
 * can send what the library would never produce.
 *
 * After an attack it keeps the socket open and waits to be killed (a parent
 * that waited for more bytes would then time out instead of seeing EOF),
 * except for the attacks that are about EOF. An alarm ends it regardless.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <linux/fuse.h>
#include <linux/sockios.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <netinet/in.h>
#include <poll.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "raw_send.h"

#define HEADER_SIZE 16
#define MAX_FDS 16
#define BUF_SIZE 16384

/* Envelope body fields. */
enum { ENV_CHILD_ARGS = 1, ENV_PTY = 2, ENV_ERROR = 3, ENV_FILES = 4, ENV_EXEC = 5, ENV_UNKNOWN = 7 };

static int sock = 3;

static void die(const char *what)
{
	fprintf(stderr, "hostile-child: %s: %s\n", what, strerror(errno));
	exit(2);
}

/* ---- protobuf, by hand ---------------------------------------------------- */

struct buf {
	uint8_t b[BUF_SIZE];
	size_t n;
};

static void put_byte(struct buf *b, uint8_t v)
{
	if (b->n >= sizeof(b->b)) {
		fprintf(stderr, "hostile-child: buffer full\n");
		exit(2);
	}
	b->b[b->n++] = v;
}

static void put_varint(struct buf *b, uint64_t v)
{
	while (v >= 0x80) {
		put_byte(b, (uint8_t)(v | 0x80));
		v >>= 7;
	}
	put_byte(b, (uint8_t)v);
}

static void put_uint(struct buf *b, uint32_t field, uint64_t v)
{
	put_varint(b, (uint64_t)field << 3 | 0);
	put_varint(b, v);
}

static void put_bytes(struct buf *b, uint32_t field, const void *data, size_t len)
{
	put_varint(b, (uint64_t)field << 3 | 2);
	put_varint(b, len);
	for (size_t i = 0; i < len; i++)
		put_byte(b, ((const uint8_t *)data)[i]);
}

static void put_str(struct buf *b, uint32_t field, const char *s)
{
	put_bytes(b, field, s, strlen(s));
}

static void put_msg(struct buf *b, uint32_t field, const struct buf *sub)
{
	put_bytes(b, field, sub->b, sub->n);
}

/* An Envelope with body field `field` holding msg. */
static void envelope(struct buf *env, uint32_t field, const struct buf *msg)
{
	env->n = 0;
	put_msg(env, field, msg);
}

/*
 * A ChildArgs that passes validation except for what the arguments change:
 * one published tcp port's guest_port, the net mode, and paths.fs_root
 * (fs_root_len bytes, so that it may hold a NUL).
 */
static void child_args(struct buf *out, uint32_t guest_port, uint32_t mode, const char *fs_root,
		       size_t fs_root_len)
{
	struct buf paths = { .n = 0 }, port = { .n = 0 }, net = { .n = 0 }, config = { .n = 0 };

	put_bytes(&paths, 4, fs_root, fs_root_len);
	put_uint(&port, 3, 8080);
	put_uint(&port, 4, guest_port);
	put_uint(&net, 1, mode);
	put_msg(&net, 2, &port);
	put_msg(&config, 5, &net);
	out->n = 0;
	put_str(out, 1, "test-env");
	put_msg(out, 2, &paths);
	put_msg(out, 3, &config);
	put_str(out, 4, "ls");
}

/* A Files message naming n fds with the given indexes. */
static void files(struct buf *out, const uint32_t *idx, size_t n)
{
	out->n = 0;
	for (size_t i = 0; i < n; i++) {
		struct buf file = { .n = 0 };
		char name[32];

		snprintf(name, sizeof(name), "f%zu", i);
		put_str(&file, 1, name);
		put_uint(&file, 2, idx[i]);
		put_msg(out, 1, &file);
	}
}

/* ---- frames, by hand ------------------------------------------------------ */

static void le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void le32(uint8_t *p, uint32_t v)
{
	le16(p, (uint16_t)v);
	le16(p + 2, (uint16_t)(v >> 16));
}

static void header(uint8_t *h, const char *magic, uint16_t version, uint16_t nfds, uint32_t len,
		   uint32_t reserved)
{
	memcpy(h, magic, 4);
	le16(h + 4, version);
	le16(h + 6, nfds);
	le32(h + 8, len);
	le32(h + 12, reserved);
}

/* One sendmsg of len bytes with nfds fds attached; all of it or die. */
static void send_raw(const void *data, size_t len, const int *fds, size_t nfds)
{
	ssize_t n = raw_send(sock, data, len, fds, nfds, MSG_NOSIGNAL);

	if (n < 0)
		die("sendmsg");
	if ((size_t)n != len) {
		fprintf(stderr, "hostile-child: short sendmsg: %zd of %zu\n", n, len);
		exit(2);
	}
}

/* A well-formed frame: header and payload in one sendmsg with the fds. */
static void send_frame(const struct buf *payload, const int *fds, size_t nfds)
{
	uint8_t frame[HEADER_SIZE + BUF_SIZE];

	header(frame, "DIPC", 1, (uint16_t)nfds, (uint32_t)payload->n, 0);
	memcpy(frame + HEADER_SIZE, payload->b, payload->n);
	send_raw(frame, HEADER_SIZE + payload->n, fds, nfds);
}

/* n copies of an fd of /dev/null (the kernel gives each its own fd). */
static int *devnull_fds(size_t n)
{
	static int fds[RAW_SEND_MAX_FDS];
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		die("open /dev/null");
	for (size_t i = 0; i < n && i < RAW_SEND_MAX_FDS; i++)
		fds[i] = fd;
	return fds;
}

static int pty_master(void)
{
	int fd = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);

	if (fd < 0 || grantpt(fd) < 0 || unlockpt(fd) < 0)
		die("posix_openpt");
	return fd;
}

/* A pty frame (PtyHandoff{master_fd: idx}) carrying fd. */
static void send_pty(int fd, uint32_t idx)
{
	struct buf pty = { .n = 0 }, env;

	if (idx)
		put_uint(&pty, 1, idx);
	envelope(&env, ENV_PTY, &pty);
	send_frame(&env, &fd, 1);
}

/*
 * A TCP socket whose close blocks without limit: connected on loopback to a
 * listener this process holds and never accepts from, its send queue full,
 * SO_LINGER {1, INT_MAX}. The listener stays open until this process dies.
 */
static int linger_socket(void)
{
	static const int small = 4096;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct linger forever = { .l_onoff = 1, .l_linger = INT_MAX };
	socklen_t alen = sizeof(a);
	char junk[4096] = { 0 };
	int l, s, queued = 0;

	l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l < 0 || setsockopt(l, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)) < 0 ||
	    bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(l, 1) < 0 ||
	    getsockname(l, (struct sockaddr *)&a, &alen) < 0)
		die("listener");
	s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0 || setsockopt(s, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)) < 0 ||
	    connect(s, (struct sockaddr *)&a, sizeof(a)) < 0)
		die("connect");
	/* Fill until the receiver's window is shut too: no room for 200 ms. */
	for (;;) {
		struct pollfd p = { .fd = s, .events = POLLOUT };

		while (send(s, junk, sizeof(junk), MSG_DONTWAIT | MSG_NOSIGNAL) > 0)
			;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			die("filling the send queue");
		if (poll(&p, 1, 200) == 0)
			break;
	}
	if (ioctl(s, SIOCOUTQ, &queued) < 0 || queued == 0)
		die("the send queue did not stay full");
	if (setsockopt(s, SOL_SOCKET, SO_LINGER, &forever, sizeof(forever)) < 0)
		die("SO_LINGER");
	return s;
}

/* The linger socket as the pty master, on a frame with one fd too many, or
 * with an error report; this process keeps no copy. */
static void linger(const char *how)
{
	struct buf msg = { .n = 0 }, env;
	uint8_t frame[HEADER_SIZE + 64];
	int fds[2] = { linger_socket(), -1 };

	if (!strcmp(how, "pty")) {
		envelope(&env, ENV_PTY, &msg);
		send_frame(&env, fds, 1);
	} else if (!strcmp(how, "fd_count")) {
		fds[1] = open("/dev/null", O_RDONLY | O_CLOEXEC);
		envelope(&env, ENV_PTY, &msg);
		header(frame, "DIPC", 1, 1, (uint32_t)env.n, 0);
		memcpy(frame + HEADER_SIZE, env.b, env.n);
		send_raw(frame, HEADER_SIZE + env.n, fds, 2);
		close(fds[1]);
	} else if (!strcmp(how, "beyond_16") || !strcmp(how, "in_unix")) {
		/* 16 fds of /dev/null and the linger socket as the 17th, past
		 * what a frame may carry; or the linger socket queued inside a
		 * Unix socket that is the frame's one fd. */
		int many[17], sv[2], n = 17;

		for (int i = 0; i < 16; i++)
			many[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
		many[16] = fds[0];
		if (!strcmp(how, "in_unix")) {
			if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
				die("socketpair");
			if (raw_send(sv[1], "x", 1, &fds[0], 1, MSG_NOSIGNAL) != 1)
				die("queueing the linger socket");
			/* The queue holds the only reference now. */
			close(fds[0]);
			fds[0] = -1;
			close(sv[1]);
			for (int i = 0; i < 16; i++)
				close(many[i]);
			many[0] = sv[0];
			n = 1;
		}
		envelope(&env, ENV_PTY, &msg);
		header(frame, "DIPC", 1, (uint16_t)(n > 16 ? 16 : n), (uint32_t)env.n, 0);
		memcpy(frame + HEADER_SIZE, env.b, env.n);
		/* The Unix socket goes with the first byte and this process
		 * closes its copy before the rest: the parent's close is last. */
		send_raw(frame, n > 16 ? HEADER_SIZE + env.n : 1, many, (size_t)n);
		for (int i = 0; i < (n > 16 ? 16 : n); i++)
			close(many[i]);
		if (n == 1)
			send_raw(frame + 1, HEADER_SIZE + env.n - 1, NULL, 0);
	} else {
		put_uint(&msg, 1, 4);
		put_uint(&msg, 2, ENOENT);
		put_str(&msg, 3, "lingering");
		envelope(&env, ENV_ERROR, &msg);
		send_frame(&env, fds, 1);
	}
	if (fds[0] >= 0)
		close(fds[0]);
}

/* The start of a pty frame carrying this end of the channel itself, then
 * death: the parent's copy would keep the channel open for ever. */
static void own_end_partial(void)
{
	struct buf pty = { .n = 0 }, env;
	uint8_t frame[HEADER_SIZE + 64];

	envelope(&env, ENV_PTY, &pty);
	header(frame, "DIPC", 1, 1, (uint32_t)env.n + 10, 0);
	memcpy(frame + HEADER_SIZE, env.b, env.n);
	send_raw(frame, HEADER_SIZE + 1, &sock, 1);
	exit(0);
}

/* A pty master opened read-only. */
static void pty_readonly(void)
{
	int fd = open("/dev/ptmx", O_RDONLY | O_NOCTTY | O_CLOEXEC);

	if (fd < 0 || grantpt(fd) < 0 || unlockpt(fd) < 0)
		die("open /dev/ptmx read-only");
	send_pty(fd, 0);
}

/* A report whose 400th byte is the first of a 2-byte character. */
static void error_utf8_cut(void)
{
	struct buf e = { .n = 0 }, env;
	char text[512];

	memset(text, 'x', 399);
	strcpy(text + 399, "\xc3\xa9 and more");
	put_uint(&e, 1, 4);
	put_uint(&e, 2, ENOENT);
	put_str(&e, 3, text);
	envelope(&env, ENV_ERROR, &e);
	send_frame(&env, NULL, 0);
}

/* ---- a FUSE file system whose FLUSH never answers -------------------------- */

static void write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		die(path);
	close(fd);
}

/*
 * In a new user and mount namespace, mounts a FUSE file system on /tmp
 * (this process's view only). Returns the /dev/fuse fd; prints why and
 * exits 3 if it cannot.
 */
static int fuse_mount(void)
{
	char map[64], opts[128];
	uid_t uid = getuid();
	gid_t gid = getgid();
	int fd;

	if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0) {
		fprintf(stderr, "unshare(CLONE_NEWUSER | CLONE_NEWNS): %s\n", strerror(errno));
		exit(3);
	}
	write_file("/proc/self/setgroups", "deny");
	snprintf(map, sizeof(map), "0 %u 1", (unsigned)uid);
	write_file("/proc/self/uid_map", map);
	snprintf(map, sizeof(map), "0 %u 1", (unsigned)gid);
	write_file("/proc/self/gid_map", map);
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		fprintf(stderr, "making / private: %s\n", strerror(errno));
		exit(3);
	}
	fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "/dev/fuse: %s\n", strerror(errno));
		exit(3);
	}
	snprintf(opts, sizeof(opts), "fd=%d,rootmode=40000,user_id=0,group_id=0", fd);
	if (mount("hostile", "/tmp", "fuse", MS_NOSUID | MS_NODEV, opts) < 0) {
		fprintf(stderr, "mount -t fuse in a user namespace: %s\n", strerror(errno));
		exit(3);
	}
	return fd;
}

static void fuse_reply(int fd, uint64_t unique, int error, const void *body, size_t len)
{
	struct fuse_out_header h = { .len = (uint32_t)(sizeof(h) + len), .error = error,
				     .unique = unique };
	struct iovec iov[2] = { { &h, sizeof(h) }, { (void *)body, len } };

	if (writev(fd, iov, body ? 2 : 1) < 0 && errno != ENOENT)
		die("writing /dev/fuse");
}

static void fuse_attr_of(struct fuse_attr *a, uint64_t ino)
{
	memset(a, 0, sizeof(*a));
	a->ino = ino;
	a->mode = ino == FUSE_ROOT_ID ? S_IFDIR | 0755 : S_IFREG | 0644;
	a->nlink = 1;
	a->blksize = 4096;
}

/* Serves one file, /f; answers everything but FLUSH from others than the
 * attacker (its parent) and POLL, which it keeps; its ioctl TIOCGPTN
 * answers as a pty master's would. */
static void fuse_serve(int fd)
{
	static uint8_t buf[1 << 17];

	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		struct fuse_in_header *in = (struct fuse_in_header *)buf;

		if (n < 0 && (errno == EINTR || errno == ENOENT))
			continue;
		if (n < (ssize_t)sizeof(*in))
			exit(0); /* unmounted */
		switch (in->opcode) {
		case FUSE_INIT: {
			struct fuse_init_out o = { .major = FUSE_KERNEL_VERSION, .minor = 31,
						   .max_readahead = 4096, .max_write = 4096,
						   .max_background = 4, .congestion_threshold = 4,
						   .time_gran = 1 };

			fuse_reply(fd, in->unique, 0, &o, sizeof(o));
			break;
		}
		case FUSE_LOOKUP: {
			struct fuse_entry_out o = { .nodeid = 2, .generation = 1,
						    .entry_valid = 3600, .attr_valid = 3600 };

			if (strcmp((const char *)(in + 1), "f") != 0) {
				fuse_reply(fd, in->unique, -ENOENT, NULL, 0);
				break;
			}
			fuse_attr_of(&o.attr, 2);
			fuse_reply(fd, in->unique, 0, &o, sizeof(o));
			break;
		}
		case FUSE_GETATTR: {
			struct fuse_attr_out o = { .attr_valid = 3600 };

			fuse_attr_of(&o.attr, in->nodeid);
			fuse_reply(fd, in->unique, 0, &o, sizeof(o));
			break;
		}
		case FUSE_OPEN: {
			struct fuse_open_out o = { .fh = 1 };

			fuse_reply(fd, in->unique, 0, &o, sizeof(o));
			break;
		}
		case FUSE_IOCTL: {
			/* TIOCGPTN answers as a pty master would: pty 7. */
			const struct fuse_ioctl_in *io = (const void *)(in + 1);
			struct {
				struct fuse_ioctl_out o;
				uint32_t ptn;
			} o = { .o = { .result = 0 }, .ptn = 7 };

			if (io->cmd == TIOCGPTN)
				fuse_reply(fd, in->unique, 0, &o, sizeof(o));
			else
				fuse_reply(fd, in->unique, -ENOTTY, NULL, 0);
			break;
		}
		case FUSE_POLL:
			/* Never answered: a poll of the file waits for ever. */
			break;
		case FUSE_FLUSH:
			/* Only the attacker's own closes are answered. */
			if (in->pid == (uint32_t)getppid())
				fuse_reply(fd, in->unique, 0, NULL, 0);
			break;
		case FUSE_RELEASE:
		case FUSE_FORGET:
		case FUSE_BATCH_FORGET:
			if (in->opcode == FUSE_RELEASE)
				fuse_reply(fd, in->unique, 0, NULL, 0);
			break;
		default:
			fuse_reply(fd, in->unique, -ENOSYS, NULL, 0);
		}
	}
}

/* Whether a FUSE mount in a user namespace works here: exit 0, or 3 with
 * the reason on stderr. */
static void fuse_probe(void)
{
	close(fuse_mount());
	exit(0);
}

/* Starts the FUSE server of fuse_mount()'s /dev/fuse fd in a process that
 * dies with this one. */
static void fuse_start(void)
{
	int dev = fuse_mount();
	pid_t server = fork();

	if (server < 0)
		die("fork");
	if (server == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() == 1)
			exit(0);
		fuse_serve(dev);
	}
	close(dev);
}

static int fuse_open(void)
{
	int fd = open("/tmp/f", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		die("open /tmp/f on FUSE");
	return fd;
}

/* A file of its own FUSE file system as the pty master: the parent's
 * fstat would ask the server, its close sends FLUSH, never answered. The
 * server dies with this process (and with it every wait on it). */
static void fuse_pty(void)
{
	int fd;

	fuse_start();
	fd = fuse_open();
	send_pty(fd, 0);
	close(fd);
}

/* ---- pipes held by splice() ------------------------------------------------ */

/* Whether process pid sleeps in system call nr (from /proc/PID/syscall
 * and the state in /proc/PID/stat). */
static int asleep_in(pid_t pid, long nr)
{
	char path[64], state = '?';
	long cur = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/syscall", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (fscanf(f, "%ld", &cur) != 1)
		cur = -1;
	fclose(f);
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (fscanf(f, "%*d (%*[^)]) %c", &state) != 1)
		state = '?';
	fclose(f);
	return cur == nr && state == 'S';
}

/*
 * The read end of a pipe whose mutex a process of this one holds:
 * splice() from a socket that never gets data into the pipe holds the
 * pipe's lock across the wait, and the last close of either end needs it
 * (pipe_release()). The holder dies with this process.
 */
static int held_pipe(void)
{
	static int keep = -1; /* the socket's other end: no EOF for splice */
	int p[2], s[2];
	pid_t holder;

	if (pipe2(p, O_CLOEXEC) < 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s) < 0)
		die("pipe");
	holder = fork();
	if (holder < 0)
		die("fork");
	if (holder == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() == 1)
			_exit(0);
		close(p[0]);
		splice(s[0], NULL, p[1], NULL, 65536, 0);
		_exit(0);
	}
	close(p[1]);
	close(s[0]);
	if (keep < 0)
		keep = s[1];
	/* Until the holder sleeps in splice, waiting for data with the lock
	 * held (2 s at most). */
	for (int i = 0; i < 200 && !asleep_in(holder, SYS_splice); i++)
		usleep(1000);
	return p[0];
}

/* Forks the sender process B: true in B; in this process, which keeps no
 * copy of fd, false. */
static bool in_sender(int fd)
{
	pid_t sender = fork();

	if (sender < 0)
		die("fork");
	if (sender > 0)
		close(fd);
	return sender == 0;
}

/*
 * The held pipe as the pty master, with an error report, or as the 17th
 * fd of a frame. The parent's close must be the last one (only the last
 * takes the lock): a sender process B, the only other holder, closes its
 * copy before the frame is complete (it sends the first byte with the fd,
 * closes it, then the rest), so the parent, which closes only once the
 * frame is complete or failed, closes last. The 17th fd is closed as it
 * arrives: there B may close last and wait in its stead. B, not this
 * process, is the one that may wait, so that killing this process (and
 * with it the holder) always works.
 */
static void splice_attack(const char *how)
{
	struct buf msg = { .n = 0 }, env;
	uint8_t frame[HEADER_SIZE + 64];
	size_t len, first = 1;
	int fd = held_pipe(), many[17], n = 1;

	if (!in_sender(fd))
		return;
	if (!strcmp(how, "error")) {
		put_uint(&msg, 1, 4);
		put_uint(&msg, 2, ENOENT);
		put_str(&msg, 3, "held");
		envelope(&env, ENV_ERROR, &msg);
	} else {
		envelope(&env, ENV_PTY, &msg);
	}
	many[0] = fd;
	if (!strcmp(how, "beyond_16")) {
		for (int i = 0; i < 16; i++)
			many[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
		many[16] = fd;
		n = 17;
	}
	header(frame, "DIPC", 1, (uint16_t)(n > 16 ? 16 : n), (uint32_t)env.n, 0);
	memcpy(frame + HEADER_SIZE, env.b, env.n);
	len = HEADER_SIZE + env.n;
	if (n > 16)
		first = len;
	send_raw(frame, first, many, (size_t)n);
	for (int i = 0; i < n; i++)
		close(many[i]);
	if (first < len)
		send_raw(frame + first, len - first, NULL, 0);
	_exit(0);
}

/*
 * A frame the receiver refuses at its header (bad magic), then, queued
 * behind it, a whole pty frame whose fd is the held pipe, and no other
 * copy of it: whoever closes the receiver's socket (its receive queue
 * still holding that frame) releases the pipe last. A sender process B
 * does it, as in splice_attack().
 */
static void splice_queued(void)
{
	struct buf msg = { .n = 0 }, env;
	uint8_t bad[HEADER_SIZE], frame[HEADER_SIZE + 64];
	int fd = held_pipe();

	if (!in_sender(fd))
		return;
	header(bad, "DIPX", 1, 0, 0, 0);
	send_raw(bad, sizeof(bad), NULL, 0);
	envelope(&env, ENV_PTY, &msg);
	header(frame, "DIPC", 1, 1, (uint32_t)env.n, 0);
	memcpy(frame + HEADER_SIZE, env.b, env.n);
	send_raw(frame, HEADER_SIZE + env.n, &fd, 1);
	close(fd);
	_exit(0);
}

/*
 * A frame of 16 fds whose last is the held pipe, of which the sender B
 * keeps no copy: a receiver without room for all 16 in its fd table has
 * the kernel drop the rest, and so release the pipe.
 */
static void splice_nofile(void)
{
	struct buf msg = { .n = 0 }, env;
	uint8_t frame[HEADER_SIZE + 64];
	int fd = held_pipe(), many[16];

	if (!in_sender(fd))
		return;
	for (int i = 0; i < 15; i++)
		many[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	many[15] = fd;
	envelope(&env, ENV_PTY, &msg);
	header(frame, "DIPC", 1, 16, (uint32_t)env.n, 0);
	memcpy(frame + HEADER_SIZE, env.b, env.n);
	send_raw(frame, HEADER_SIZE + env.n, many, 16);
	for (int i = 0; i < 16; i++)
		close(many[i]);
	_exit(0);
}

/* ---- floods ------------------------------------------------------------------ */

/* A pty frame carrying fd, whose first byte goes with fd; this process's
 * copy is closed before the rest, so that the parent's close is the last. */
static int send_pty_last(int fd)
{
	struct buf pty = { .n = 0 }, env;
	uint8_t frame[HEADER_SIZE + 16];
	ssize_t n;

	envelope(&env, ENV_PTY, &pty);
	header(frame, "DIPC", 1, 1, (uint32_t)env.n, 0);
	memcpy(frame + HEADER_SIZE, env.b, env.n);
	n = raw_send(sock, frame, 1, &fd, 1, MSG_NOSIGNAL);
	close(fd);
	if (n != 1)
		return -1;
	n = raw_send(sock, frame + 1, HEADER_SIZE + env.n - 1, NULL, 0, MSG_NOSIGNAL);
	return n == (ssize_t)(HEADER_SIZE + env.n - 1) ? 0 : -1;
}

/* One frame with 253 fds of the FUSE file (the header announces 16). */
static void fuse_flood(void)
{
	static int fds[RAW_SEND_MAX_FDS];
	struct buf pty = { .n = 0 }, env;
	uint8_t frame[HEADER_SIZE + 16];

	fuse_start();
	for (int i = 0; i < RAW_SEND_MAX_FDS; i++)
		fds[i] = fuse_open();
	envelope(&env, ENV_PTY, &pty);
	header(frame, "DIPC", 1, 16, (uint32_t)env.n, 0);
	memcpy(frame + HEADER_SIZE, env.b, env.n);
	send_raw(frame, HEADER_SIZE + env.n, fds, RAW_SEND_MAX_FDS);
	for (int i = 0; i < RAW_SEND_MAX_FDS; i++)
		close(fds[i]);
}

/* 2000 pty frames, each with another fd of the FUSE file. */
static void fuse_frames(void)
{
	fuse_start();
	for (int i = 0; i < 2000; i++) {
		if (send_pty_last(fuse_open()) < 0)
			break;
	}
}

/* 2000 pty frames, each with a Unix socket; the first one's queue holds a
 * lingering TCP socket (whose close waits without end). */
static void frames_linger(void)
{
	for (int i = 0; i < 2000; i++) {
		int sv[2];

		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
			die("socketpair");
		if (i == 0) {
			int l = linger_socket();

			if (raw_send(sv[1], "x", 1, &l, 1, MSG_NOSIGNAL) != 1)
				die("queueing the linger socket");
			close(l);
		}
		close(sv[1]);
		if (send_pty_last(sv[0]) < 0)
			break;
	}
}

/*
 * An eventfd registered in an epoll instance whose lock a process of ours
 * holds: epoll_ctl() adding the FUSE file polls it with the instance's
 * mutex held, and the server never answers the poll. The last close of
 * any file in that instance takes the mutex (eventpoll_release_file()).
 */
static void epoll_eventfd(void)
{
	struct epoll_event e = { .events = EPOLLIN };
	int ep, ev, f;
	pid_t holder;

	/* The server first: it must hold no copy of the eventfd. */
	fuse_start();
	f = fuse_open();
	ep = epoll_create1(EPOLL_CLOEXEC);
	ev = eventfd(0, EFD_CLOEXEC);
	if (ep < 0 || ev < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, ev, &e) < 0)
		die("epoll");
	holder = fork();
	if (holder < 0)
		die("fork");
	if (holder == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() == 1)
			_exit(0);
		close(ev);
		epoll_ctl(ep, EPOLL_CTL_ADD, f, &e);
		_exit(0);
	}
	close(f);
	for (int i = 0; i < 2000 && !asleep_in(holder, SYS_epoll_ctl); i++)
		usleep(1000);
	send_pty_last(ev);
}

/* This end of the channel inside the queue of another Unix socket, which
 * goes with the first byte of a frame; then death. Nothing the parent can
 * see holds its end: only the pidfd or the timeout ends the wait. */
static void own_end_queued(void)
{
	struct buf pty = { .n = 0 }, env;
	uint8_t frame[HEADER_SIZE + 16];
	int q[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, q) < 0)
		die("socketpair");
	if (raw_send(q[1], "x", 1, &sock, 1, MSG_NOSIGNAL) != 1)
		die("queueing the channel's end");
	close(q[1]);
	envelope(&env, ENV_PTY, &pty);
	header(frame, "DIPC", 1, 1, (uint32_t)env.n + 10, 0);
	memcpy(frame + HEADER_SIZE, env.b, env.n);
	send_raw(frame, HEADER_SIZE + 1, &q[0], 1);
	exit(0);
}

/* ---- the attacks ---------------------------------------------------------- */

static void wait_to_be_killed(void)
{
	for (;;)
		pause();
}

/* EOF before anything. */
static void eof_first(void)
{
	close(sock);
	exit(0);
}

static void short_header(void)
{
	uint8_t h[HEADER_SIZE];

	header(h, "DIPC", 1, 0, 2, 0);
	send_raw(h, 7, NULL, 0);
	close(sock);
	exit(0);
}

static void short_payload(void)
{
	uint8_t f[HEADER_SIZE + 4];

	header(f, "DIPC", 1, 0, 10, 0);
	memset(f + HEADER_SIZE, 0, 4);
	send_raw(f, sizeof(f), NULL, 0);
	close(sock);
	exit(0);
}

/* A bare header: magic, version, fd count, length and reserved as given. */
static void bare_header(const char *magic, uint16_t version, uint16_t nfds, uint32_t len,
			uint32_t reserved)
{
	uint8_t h[HEADER_SIZE];

	header(h, magic, version, nfds, len, reserved);
	send_raw(h, sizeof(h), NULL, 0);
}

/* A length of 0 where the pty message is required, with the pty's fd. */
static void zero_length(void)
{
	uint8_t h[HEADER_SIZE];
	int fd = pty_master();

	header(h, "DIPC", 1, 1, 0, 0);
	send_raw(h, sizeof(h), &fd, 1);
}

static void not_protobuf(void)
{
	struct buf p = { .n = 0 };

	/* Field 1, wire type 7: no such wire type. */
	for (int i = 0; i < 8; i++)
		put_byte(&p, 0x0f);
	send_frame(&p, NULL, 0);
}

/* A valid ChildArgs, sent to a parent that waits for the pty. */
static void wrong_type(void)
{
	struct buf args, env;

	child_args(&args, 3000, 2, "/root", 5);
	envelope(&env, ENV_CHILD_ARGS, &args);
	send_frame(&env, NULL, 0);
}

/* An envelope whose only field is no body this version knows, with an fd. */
static void unknown_body(void)
{
	struct buf empty = { .n = 0 }, env;

	envelope(&env, ENV_UNKNOWN, &empty);
	send_frame(&env, devnull_fds(1), 1);
}

/* Two bodies in one envelope. */
static void two_bodies(void)
{
	struct buf empty = { .n = 0 }, env;
	int fd = pty_master();

	envelope(&env, ENV_PTY, &empty);
	put_msg(&env, ENV_PTY, &empty);
	send_frame(&env, &fd, 1);
}

/* A setup failure whose text tries to drive the parent's terminal. */
static void error_escape(void)
{
	struct buf e = { .n = 0 }, env;

	put_uint(&e, 1, 4);
	put_uint(&e, 2, ENOENT);
	put_str(&e, 3, "\x1b[2J\x1b]0;pwned\x07 gone\n");
	envelope(&env, ENV_ERROR, &e);
	send_frame(&env, NULL, 0);
}

/* ChildArgs that parse but do not validate (the attacker plays the parent). */
static void bad_args(uint32_t guest_port, uint32_t mode, const char *fs_root, size_t len)
{
	struct buf args, env;

	child_args(&args, guest_port, mode, fs_root, len);
	envelope(&env, ENV_CHILD_ARGS, &args);
	send_frame(&env, NULL, 0);
}

/*
 * 2 bytes on the wire per empty Mount, about 56 in memory: a ChildArgs that
 * decodes to far more than its size.
 */
static void decode_bomb(void)
{
	struct buf config = { .n = 0 }, args = { .n = 0 }, env, empty = { .n = 0 };

	for (int i = 0; i < 6000; i++)
		put_msg(&config, 2, &empty);
	put_str(&args, 1, "test-env");
	put_msg(&args, 3, &config);
	envelope(&env, ENV_CHILD_ARGS, &args);
	send_frame(&env, NULL, 0);
}

/* A pty frame whose header announces hdr_nfds fds while nfds come. */
static void fd_count(uint16_t hdr_nfds, size_t nfds)
{
	struct buf pty = { .n = 0 }, env;
	uint8_t frame[HEADER_SIZE + 64];

	envelope(&env, ENV_PTY, &pty);
	header(frame, "DIPC", 1, hdr_nfds, (uint32_t)env.n, 0);
	memcpy(frame + HEADER_SIZE, env.b, env.n);
	send_raw(frame, HEADER_SIZE + env.n, devnull_fds(nfds), nfds);
}

/*
 * The header alone (announcing hdr_nfds fds), then the payload in a second
 * sendmsg carrying the pty's fd.
 */
static void fds_late(uint16_t hdr_nfds)
{
	struct buf pty = { .n = 0 }, env;
	uint8_t h[HEADER_SIZE];
	int fd = pty_master();

	envelope(&env, ENV_PTY, &pty);
	header(h, "DIPC", 1, hdr_nfds, (uint32_t)env.n, 0);
	send_raw(h, sizeof(h), NULL, 0);
	send_raw(env.b, env.n, &fd, 1);
}

static void send_files(const uint32_t *idx, size_t nidx, size_t nfds)
{
	struct buf f, env;

	files(&f, idx, nidx);
	envelope(&env, ENV_FILES, &f);
	send_frame(&env, devnull_fds(nfds), nfds);
}

static void not_pty(const char *kind)
{
	int fd = -1, sv[2];

	if (!strcmp(kind, "pipe")) {
		if (pipe2(sv, O_CLOEXEC) < 0)
			die("pipe");
		fd = sv[0];
	} else if (!strcmp(kind, "socket")) {
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
			die("socketpair");
		fd = sv[0];
	} else if (!strcmp(kind, "dir")) {
		fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	} else if (!strcmp(kind, "devnull")) {
		fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	} else if (!strcmp(kind, "slave")) {
		int master = pty_master();

		fd = open(ptsname(master), O_RDWR | O_NOCTTY | O_CLOEXEC);
	}
	if (fd < 0)
		die(kind);
	send_pty(fd, 0);
}

/* A valid pty frame, one byte per second. */
static void slow(void)
{
	struct buf pty = { .n = 0 }, env;
	uint8_t frame[HEADER_SIZE + 64];
	int fd = pty_master();

	envelope(&env, ENV_PTY, &pty);
	header(frame, "DIPC", 1, 1, (uint32_t)env.n, 0);
	memcpy(frame + HEADER_SIZE, env.b, env.n);
	for (size_t i = 0; i < HEADER_SIZE + env.n; i++) {
		send_raw(frame + i, 1, &fd, i == 0 ? 1 : 0);
		sleep(1);
	}
}

int main(int argc, char **argv)
{
	const char *a;

	if (argc < 2) {
		fprintf(stderr, "usage: hostile-child ATTACK [FD]\n");
		return 2;
	}
	a = argv[1];
	if (argc > 2)
		sock = atoi(argv[2]);
	alarm(60);

	if (!strcmp(a, "eof_first"))
		eof_first();
	else if (!strcmp(a, "short_header"))
		short_header();
	else if (!strcmp(a, "short_payload"))
		short_payload();
	else if (!strcmp(a, "bad_magic"))
		bare_header("DIPX", 1, 0, 2, 0);
	else if (!strcmp(a, "newer_version"))
		bare_header("DIPC", 2, 0, 2, 0);
	else if (!strcmp(a, "reserved_set"))
		bare_header("DIPC", 1, 0, 2, 0xdead);
	else if (!strcmp(a, "zero_length"))
		zero_length();
	else if (!strncmp(a, "len=", 4))
		bare_header("DIPC", 1, 0, (uint32_t)strtoul(a + 4, NULL, 0), 0);
	else if (!strcmp(a, "not_protobuf"))
		not_protobuf();
	else if (!strcmp(a, "wrong_type"))
		wrong_type();
	else if (!strcmp(a, "unknown_body"))
		unknown_body();
	else if (!strcmp(a, "two_bodies"))
		two_bodies();
	else if (!strcmp(a, "error_escape") || !strcmp(a, "error_for_files"))
		error_escape();
	else if (!strcmp(a, "args_port_0"))
		bad_args(0, 2, "/root", 5);
	else if (!strcmp(a, "args_port_70000"))
		bad_args(70000, 2, "/root", 5);
	else if (!strcmp(a, "args_net_mode"))
		bad_args(3000, 9, "/root", 5);
	else if (!strcmp(a, "args_nul_path"))
		bad_args(3000, 2, "/ro\0ot", 6);
	else if (!strcmp(a, "decode_bomb"))
		decode_bomb();
	else if (!strcmp(a, "fds_more_than_header"))
		fd_count(1, 2);
	else if (!strcmp(a, "fds_fewer_than_header"))
		fd_count(2, 1);
	else if (!strcmp(a, "fds_over_max"))
		fd_count(17, 0);
	else if (!strcmp(a, "fds_ctrunc"))
		fd_count(16, 20);
	else if (!strcmp(a, "fds_late"))
		fds_late(0);
	else if (!strcmp(a, "fds_late_announced"))
		fds_late(1);
	else if (!strcmp(a, "fd_index_out_of_range"))
		send_files((const uint32_t[]){ 0, 5 }, 2, 2);
	else if (!strcmp(a, "fd_index_twice"))
		send_files((const uint32_t[]){ 0, 0 }, 2, 2);
	else if (!strcmp(a, "pty_index_out_of_range"))
		send_pty(pty_master(), 1);
	else if (!strcmp(a, "files_16"))
		send_files((const uint32_t[]){ 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 },
			   16, 16);
	else if (!strncmp(a, "not_pty_", 8))
		not_pty(a + 8);
	else if (!strcmp(a, "pty_ok"))
		send_pty(pty_master(), 0);
	else if (!strcmp(a, "slow"))
		slow();
	else if (!strncmp(a, "linger_", 7))
		linger(a + 7);
	else if (!strcmp(a, "own_end_partial"))
		own_end_partial();
	else if (!strcmp(a, "pty_readonly"))
		pty_readonly();
	else if (!strcmp(a, "error_utf8_cut"))
		error_utf8_cut();
	else if (!strcmp(a, "fuse_probe"))
		fuse_probe();
	else if (!strcmp(a, "fuse_pty"))
		fuse_pty();
	else if (!strcmp(a, "splice_nofile"))
		splice_nofile();
	else if (!strcmp(a, "splice_queued"))
		splice_queued();
	else if (!strncmp(a, "splice_", 7))
		splice_attack(a + 7);
	else if (!strcmp(a, "fuse_flood"))
		fuse_flood();
	else if (!strcmp(a, "fuse_frames"))
		fuse_frames();
	else if (!strcmp(a, "frames_linger"))
		frames_linger();
	else if (!strcmp(a, "epoll_eventfd"))
		epoll_eventfd();
	else if (!strcmp(a, "own_end_queued"))
		own_end_queued();
	else if (!strcmp(a, "never_reads"))
		; /* nothing: the parent's sends fill the socket buffer */
	else {
		fprintf(stderr, "hostile-child: unknown attack %s\n", a);
		return 2;
	}
	wait_to_be_killed();
}
