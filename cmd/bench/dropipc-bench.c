/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * dropipc-bench: the handshake's cost against what a bare socket pair can
 * do (the floor) and against Drop's gob exchange, measured in one run.
 *
 *   dropipc-bench [--quick] [--gob PROGRAM | --no-gob] [--data FILE] [--no-pin]
 *
 * The parent and its child are two processes: the child is this program
 * re-executed (--child) with its end of the socket pair as fd 3. Over that
 * pair the parent times, interleaved in blocks so that a noisy machine
 * disturbs all of them alike:
 *   dropipc  send ChildArgs, the child receives, validates and sends a pty
 *            master back, the parent receives and checks it;
 *   floor    write()/read() of as many bytes as the dropipc frame, then
 *            sendmsg()/recvmsg() of one byte and the pty master;
 *   gob      the same values the way Drop's ipc package sends them, by
 *            dropipc-bench-gob (cmd/bench/gob), driven through a pipe.
 * Cold handshakes run in a fresh pair of processes each (--cold M B E for
 * ours, "dropipc-bench-gob cold" for gob) and time only the first round
 * trip, from the first byte sent to the fd received.
 * The child also counts the allocations of one receive and the bytes held
 * at the peak (alloccount.c).
 * Last, spawn_bench.c times dropipc_spawn() to the child's first receive,
 * next to a bare fork and exec (--spawn-child is that child).
 *
 * Every process of the run is pinned to one CPU (the first this process may
 * use) unless --no-pin: a round trip then costs its context switches and
 * its work, not the wake-up latency of an idle core, which on a virtual
 * machine swings between a few and a hundred microseconds from run to run.
 * The table goes to stdout; --data writes the size series for gnuplot
 * (cmd/bench/bench.gp). Times are printed, never asserted.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define MAX_PAYLOAD (8u << 20)
#define IO_TIMEOUT_MS 60000
/* Bytes of one frame header (docs/PROTOCOL.md). */

const char *prog = "dropipc-bench";

void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static int64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* Reads exactly n bytes: 0, 1 on end of stream before the first byte. */
static int read_full(int fd, void *buf, size_t n, const char *what)
{
	size_t got = 0;
	ssize_t r;

	while (got < n) {
		r = read(fd, (char *)buf + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			die("read %s: %s", what, strerror(errno));
		if (r == 0) {
			if (got == 0)
				return 1;
			die("read %s: end of stream after %zu of %zu bytes", what, got, n);
		}
		got += (size_t)r;
	}
	return 0;
}

static void write_full(int fd, const void *buf, size_t n, const char *what)
{
	size_t done = 0;
	ssize_t r;

	while (done < n) {
		r = write(fd, (const char *)buf + done, n - done);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			die("write %s: %s", what, strerror(errno));
		done += (size_t)r;
	}
}

/*
 * This program's path, for re-executing it. Not "/proc/self/exe" itself:
 * under valgrind that names valgrind, while readlink names the program.
 */
static const char *self_path(void)
{
	static char path[4096];
	ssize_t n;

	if (path[0])
		return path;
	n = readlink("/proc/self/exe", path, sizeof(path) - 1);
	if (n <= 0 || (size_t)n >= sizeof(path) - 1)
		die("readlink /proc/self/exe: %s", n < 0 ? strerror(errno) : "too long");
	path[n] = '\0';
	return path;
}

/* ---- the floor: one byte and one fd -------------------------------------- */

/* One byte with room for one fd of control data. */
struct fd_msg {
	char byte;
	struct iovec iov;
	struct msghdr msg;
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctrl;
};

static void fd_msg_init(struct fd_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->iov = (struct iovec){ .iov_base = &m->byte, .iov_len = 1 };
	m->msg = (struct msghdr){
		.msg_iov = &m->iov,
		.msg_iovlen = 1,
		.msg_control = m->ctrl.buf,
		.msg_controllen = sizeof(m->ctrl.buf),
	};
}

static void send_fd(int sock, int fd)
{
	struct fd_msg m;
	struct cmsghdr *cm;

	fd_msg_init(&m);
	cm = CMSG_FIRSTHDR(&m.msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	while (sendmsg(sock, &m.msg, MSG_NOSIGNAL) < 0)
		if (errno != EINTR)
			die("sendmsg fd: %s", strerror(errno));
}

static int recv_fd(int sock)
{
	struct fd_msg m;
	struct cmsghdr *cm;
	ssize_t n;
	int fd;

	fd_msg_init(&m);
	while ((n = recvmsg(sock, &m.msg, MSG_CMSG_CLOEXEC)) < 0)
		if (errno != EINTR)
			die("recvmsg fd: %s", strerror(errno));
	cm = CMSG_FIRSTHDR(&m.msg);
	if (n != 1 || !cm || cm->cmsg_type != SCM_RIGHTS || cm->cmsg_len != CMSG_LEN(sizeof(int)))
		die("recvmsg fd: expected 1 byte and 1 fd");
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

/* ---- the child ------------------------------------------------------------ */

/* What the parent asks the child to do next, written on the socket. */
enum { CMD_LIB = 1, CMD_FLOOR, CMD_ALLOC };

struct cmd {
	uint32_t kind;
	uint32_t rounds;
	uint64_t bytes; /* CMD_FLOOR: bytes to read per round */
};

/* One handshake; with stats, the receive's allocations are counted. */
static void child_handshake(dropipc_child *child, int master, struct alloc_stats *stats)
{
	dropipc_args *args;
	int r;

	if (stats)
		alloc_count_start();
	r = dropipc_child_recv_args(child, &args);
	if (stats)
		*stats = alloc_count_stop();
	if (r < 0)
		die("child: %s", dropipc_conn_get_errmsg(dropipc_child_conn(child)));
	dropipc_args_free(args);
	r = dropipc_child_send_pty(child, master);
	if (r < 0)
		die("child: %s", dropipc_conn_get_errmsg(dropipc_child_conn(child)));
}

static int child_main(void)
{
	dropipc_child *child;
	struct alloc_stats stats;
	struct cmd cmd;
	uint8_t *buf = NULL;
	size_t cap = 0;
	int master, sock, r;

	prog = "dropipc-bench child";
	r = dropipc_child_new(DROPIPC_CHILD_FD, &child);
	if (r < 0)
		die("adopt fd 3: %s", dropipc_strerror(r));
	dropipc_conn_set_max_payload(dropipc_child_conn(child), MAX_PAYLOAD);
	dropipc_conn_set_timeout(dropipc_child_conn(child), IO_TIMEOUT_MS * 1000);
	sock = dropipc_conn_get_fd(dropipc_child_conn(child));
	master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0)
		die("open /dev/ptmx: %s", strerror(errno));
	write_full(sock, "r", 1, "ready byte");
	while (read_full(sock, &cmd, sizeof(cmd), "command") == 0) {
		if (cmd.kind == CMD_FLOOR && cmd.bytes > cap) {
			free(buf);
			cap = cmd.bytes;
			buf = malloc(cap);
			if (!buf)
				die("no memory for %zu bytes", cap);
		}
		for (uint32_t i = 0; i < cmd.rounds; i++) {
			switch (cmd.kind) {
			case CMD_LIB:
				child_handshake(child, master, NULL);
				break;
			case CMD_FLOOR:
				read_full(sock, buf, cmd.bytes, "floor bytes");
				send_fd(sock, master);
				break;
			case CMD_ALLOC:
				/* The last receive is counted, the ones before warm up. */
				child_handshake(child, master, i + 1 == cmd.rounds ? &stats : NULL);
				break;
			default:
				die("unknown command %" PRIu32, cmd.kind);
			}
		}
		if (cmd.kind == CMD_ALLOC)
			write_full(sock, &stats, sizeof(stats), "allocation counts");
	}
	free(buf);
	close(master);
	dropipc_child_free(child);
	return 0;
}

/* ---- the parent's side of our pair ---------------------------------------- */

struct peer {
	dropipc_parent *parent;
	int sock;
	pid_t pid;
};

/* Starts this program as the child and waits until it is ready. */
static void peer_start(struct peer *p)
{
	char ready;
	const char *self = self_path();
	int child_fd, r;

	r = dropipc_socketpair(&p->parent, &child_fd);
	if (r < 0)
		die("socketpair: %s", dropipc_strerror(r));
	p->pid = fork();
	if (p->pid < 0)
		die("fork: %s", strerror(errno));
	if (p->pid == 0) {
		if (dropipc_child_fd_inherit(child_fd) == 0)
			execl(self, "dropipc-bench", "--child", (char *)NULL);
		_exit(127);
	}
	close(child_fd);
	dropipc_conn_set_max_payload(dropipc_parent_conn(p->parent), MAX_PAYLOAD);
	dropipc_conn_set_timeout(dropipc_parent_conn(p->parent), IO_TIMEOUT_MS * 1000);
	p->sock = dropipc_conn_get_fd(dropipc_parent_conn(p->parent));
	if (read_full(p->sock, &ready, 1, "the child's ready byte") != 0)
		die("the child exited before it was ready");
}

static void reap(pid_t pid, const char *what)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			die("waitpid %s: %s", what, strerror(errno));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		die("%s failed (wait status 0x%x)", what, status);
}

static void peer_stop(struct peer *p)
{
	dropipc_parent_free(p->parent);
	reap(p->pid, "child");
}

static void peer_command(struct peer *p, uint32_t kind, uint32_t rounds, uint64_t bytes)
{
	struct cmd cmd = { .kind = kind, .rounds = rounds, .bytes = bytes };

	write_full(p->sock, &cmd, sizeof(cmd), "command");
}

/* One handshake through the library, in nanoseconds. */
static int64_t lib_round(struct peer *p, const dropipc_args *args)
{
	int64_t t0 = now_ns(), t1;
	int fd = -1, r;

	r = dropipc_parent_send_args(p->parent, args);
	if (r == 0)
		r = dropipc_parent_recv_pty(p->parent, &fd);
	t1 = now_ns();
	if (r < 0)
		die("handshake: %s", dropipc_conn_get_errmsg(dropipc_parent_conn(p->parent)));
	close(fd);
	return t1 - t0;
}

/* The floor: n plain bytes there, one byte and an fd back. */
static int64_t floor_round(struct peer *p, const uint8_t *buf, size_t n)
{
	int64_t t0 = now_ns(), t1;
	int fd;

	write_full(p->sock, buf, n, "floor bytes");
	fd = recv_fd(p->sock);
	t1 = now_ns();
	close(fd);
	return t1 - t0;
}

/* --cold M B E: a fresh pair, one timed handshake, "ok WIRE NS" on stdout. */
static int cold_main(struct shape s)
{
	dropipc_args *args = bench_args_new(s);
	struct peer p;
	size_t body;
	int64_t t;

	prog = "dropipc-bench cold";
	if (!args)
		die("no memory for the arguments");
	peer_start(&p);
	peer_command(&p, CMD_LIB, 1, 0);
	t = lib_round(&p, args);
	peer_stop(&p);
	body = bench_envelope_size(args, MAX_PAYLOAD);
	if (!body)
		die("cannot measure the payload");
	printf("ok %zu %" PRId64 "\n", HEADER + body + PTY_FRAME, t);
	dropipc_args_free(args);
	return 0;
}

/* ---- other programs: the gob peer, cold runs ------------------------------ */

/* Runs argv[0] (path) with a pipe on its stdout and, if to, on its stdin. */
static pid_t spawn_piped(const char *path, char *const argv[], int *to, FILE **from)
{
	int in[2] = { -1, -1 }, out[2];
	pid_t pid;

	if ((to && pipe2(in, O_CLOEXEC) < 0) || pipe2(out, O_CLOEXEC) < 0)
		die("pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		if ((!to || dup2(in[0], 0) == 0) && dup2(out[1], 1) == 1)
			execv(path, argv);
		fprintf(stderr, "%s: exec %s: %s\n", prog, path, strerror(errno));
		_exit(127);
	}
	if (to) {
		close(in[0]);
		*to = in[1];
	}
	close(out[1]);
	*from = fdopen(out[0], "r");
	if (!*from)
		die("fdopen: %s", strerror(errno));
	return pid;
}

/* Reads a line "ok N N ..." into v (at most max numbers); returns the count. */
static size_t read_numbers(FILE *f, const char *who, int64_t *v, size_t max)
{
	char *line = NULL, *p, *end;
	size_t cap = 0, n = 0;

	if (getline(&line, &cap, f) < 0)
		die("%s: no answer", who);
	if (strncmp(line, "ok ", 3) != 0)
		die("%s: unexpected answer: %s", who, line);
	for (p = line + 3; n < max; p = end) {
		long long x = strtoll(p, &end, 10);

		if (end == p)
			break;
		v[n++] = x;
	}
	free(line);
	return n;
}

struct gob {
	const char *path;
	pid_t pid;
	int to;
	FILE *from;
};

static void gob_start(struct gob *g)
{
	char *argv[] = { (char *)g->path, "serve", NULL };

	g->pid = spawn_piped(g->path, argv, &g->to, &g->from);
}

static void gob_stop(struct gob *g)
{
	close(g->to);
	fclose(g->from);
	reap(g->pid, g->path);
}

/* A cold handshake by a fresh program; returns ns, and the wire bytes. */
static int64_t cold_run(const char *path, const char *flag, struct shape s, size_t *wire)
{
	char m[16], b[16], e[16];
	char *argv[] = { (char *)path, (char *)flag, m, b, e, NULL };
	int64_t v[2];
	FILE *from;
	pid_t pid;

	snprintf(m, sizeof(m), "%u", s.mounts);
	snprintf(b, sizeof(b), "%u", s.blocked);
	snprintf(e, sizeof(e), "%u", s.execs);
	pid = spawn_piped(path, argv, NULL, &from);
	if (read_numbers(from, path, v, 2) != 2)
		die("%s %s: expected wire bytes and a time", path, flag);
	fclose(from);
	reap(pid, path);
	*wire = (size_t)v[0];
	return v[1];
}

/* ---- the run -------------------------------------------------------------- */


struct run {
	bool quick;
	const char *gob_path; /* NULL: gob is not measured */
	unsigned blocks, max_rounds, cold_samples;
	size_t budget; /* bytes per configuration and block */
	struct payload *pl;
	size_t npl;
	struct peer peer;
	struct gob gob;
	uint8_t *floorbuf;
	size_t floorcap;
};

static void add_payload(struct run *x, const char *name, struct shape s, bool series, bool cold)
{
	struct payload *pl;

	x->pl = realloc(x->pl, (x->npl + 1) * sizeof(*x->pl));
	if (!x->pl)
		die("no memory");
	pl = &x->pl[x->npl++];
	*pl = (struct payload){ .shape = s, .series = series, .cold = cold };
	snprintf(pl->name, sizeof(pl->name), "%s", name);
	pl->args = bench_args_new(s);
	if (!pl->args)
		die("no memory for the %s arguments", name);
	pl->body = bench_envelope_size(pl->args, MAX_PAYLOAD);
	if (!pl->body)
		die("%s: cannot be sent (over the benchmark's limit of %u bytes?)", name,
		    MAX_PAYLOAD);
}

/* The payloads: typical, large, and the size series (by exec args). */
static void add_payloads(struct run *x)
{
	static const size_t full[] = { 1 << 10, 4 << 10, 16 << 10, 64 << 10,
				       256 << 10, 1 << 20, 4 << 20 };
	static const size_t quick[] = { 1 << 10, 64 << 10 };
	const size_t *sizes = x->quick ? quick : full;
	size_t nsizes = x->quick ? 2 : sizeof(full) / sizeof(full[0]), base;
	/* An exec arg of 20 bytes takes 22 on the wire (tag, length). */
	const size_t per_arg = 22;

	add_payload(x, "typical", (struct shape){ 2, 2, 2 }, true, true);
	add_payload(x, "large", (struct shape){ 1000, 1000, 10000 }, false, true);
	base = x->pl[0].body;
	for (size_t i = 0; i < nsizes; i++) {
		char name[24];
		struct shape s = { 2, 2, 2 + (unsigned)((sizes[i] - base) / per_arg) };

		if (sizes[i] >= 1 << 20)
			snprintf(name, sizeof(name), "%zu MB", sizes[i] >> 20);
		else
			snprintf(name, sizeof(name), "%zu KB", sizes[i] >> 10);
		add_payload(x, name, s, true, false);
	}
}

static void warm_lib(struct run *x, struct payload *pl, unsigned k)
{
	peer_command(&x->peer, CMD_LIB, k + 1, 0);
	for (unsigned i = 0; i <= k; i++) {
		int64_t t = lib_round(&x->peer, pl->args);

		if (i > 0)
			sample_add(&pl->lib, t);
	}
}

static void warm_floor(struct run *x, struct payload *pl, unsigned k)
{
	size_t n = floor_bytes(pl);

	if (n > x->floorcap) {
		free(x->floorbuf);
		x->floorbuf = calloc(1, n);
		if (!x->floorbuf)
			die("no memory for %zu bytes", n);
		x->floorcap = n;
	}
	peer_command(&x->peer, CMD_FLOOR, k + 1, n);
	for (unsigned i = 0; i <= k; i++) {
		int64_t t = floor_round(&x->peer, x->floorbuf, n);

		if (i > 0)
			sample_add(&pl->floor, t);
	}
}

static void warm_gob(struct run *x, struct payload *pl, unsigned k)
{
	int64_t *v = calloc(k + 1, sizeof(*v));
	size_t n;

	if (!v)
		die("no memory");
	dprintf(x->gob.to, "warm %u %u %u %u\n", pl->shape.mounts, pl->shape.blocked,
		pl->shape.execs, k);
	n = read_numbers(x->gob.from, x->gob_path, v, k + 1);
	if (n != k + 1)
		die("%s: %zu numbers for %u round trips", x->gob_path, n, k);
	pl->gob_wire = (size_t)v[0];
	for (size_t i = 1; i < n; i++)
		sample_add(&pl->gob, v[i]);
	free(v);
}

static void measure_warm(struct run *x)
{
	void (*const kinds[])(struct run *, struct payload *, unsigned) = { warm_lib, warm_floor,
									    warm_gob };
	unsigned nkinds = x->gob_path ? 3 : 2;

	for (unsigned b = 0; b < x->blocks; b++) {
		for (size_t i = 0; i < x->npl; i++) {
			struct payload *pl = &x->pl[i];
			size_t k = x->budget / floor_bytes(pl);

			if (k > x->max_rounds)
				k = x->max_rounds;
			if (k < 1)
				k = 1;
			/* Each block starts with another kind, so none always goes first. */
			for (unsigned j = 0; j < nkinds; j++)
				kinds[(b + i + j) % nkinds](x, pl, (unsigned)k);
		}
	}
}

static void measure_cold(struct run *x)
{
	size_t wire;

	for (unsigned s = 0; s < x->cold_samples; s++) {
		for (size_t i = 0; i < x->npl; i++) {
			struct payload *pl = &x->pl[i];

			if (!pl->cold)
				continue;
			sample_add(&pl->lib_cold, cold_run(self_path(), "--cold", pl->shape, &wire));
			if (wire != lib_wire(pl))
				die("cold run: %zu bytes on the wire, expected %zu", wire, lib_wire(pl));
			if (x->gob_path)
				sample_add(&pl->gob_cold,
					   cold_run(x->gob_path, "cold", pl->shape, &wire));
		}
	}
}

static void measure_allocs(struct run *x)
{
	for (size_t i = 0; i < x->npl; i++) {
		struct payload *pl = &x->pl[i];

		peer_command(&x->peer, CMD_ALLOC, 2, 0);
		lib_round(&x->peer, pl->args);
		lib_round(&x->peer, pl->args);
		read_full(x->peer.sock, &pl->alloc, sizeof(pl->alloc), "allocation counts");
		if (x->gob_path) {
			int64_t v[2];

			dprintf(x->gob.to, "alloc %u %u %u\n", pl->shape.mounts, pl->shape.blocked,
				pl->shape.execs);
			if (read_numbers(x->gob.from, x->gob_path, v, 2) != 2)
				die("%s: expected two allocation numbers", x->gob_path);
			pl->gob_mallocs = v[0];
			pl->gob_allocated = v[1];
		}
	}
}

/* The gob program next to this one, if it is there. */
static const char *default_gob(void)
{
	static char path[4096 + 32];
	const char *slash;

	snprintf(path, sizeof(path), "%s", self_path());
	slash = strrchr(path, '/');
	snprintf(path + (slash ? slash + 1 - path : 0), 32, "dropipc-bench-gob");
	return access(path, X_OK) == 0 ? path : NULL;
}

/* Pins this process to the first CPU it may run on; returns it, or -1. */
static int pin_to_one_cpu(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		return -1;
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		if (!CPU_ISSET(cpu, &set))
			continue;
		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		return sched_setaffinity(0, sizeof(set), &set) == 0 ? cpu : -1;
	}
	return -1;
}

static void usage(void)
{
	fprintf(stderr, "usage: %s [--quick] [--gob PROGRAM | --no-gob] [--data FILE] [--no-pin]\n",
		prog);
	exit(2);
}

int main(int argc, char **argv)
{
	struct run x = { 0 };
	struct results res;
	const char *data = NULL;
	bool no_gob = false, no_pin = false;
	int cpu = -1;

	if (argc == 2 && strcmp(argv[1], "--child") == 0)
		return child_main();
	if (argc == 2 && strcmp(argv[1], "--spawn-child") == 0)
		return spawn_child_main();
	if (argc == 5 && strcmp(argv[1], "--cold") == 0)
		return cold_main((struct shape){ (unsigned)atoi(argv[2]), (unsigned)atoi(argv[3]),
						 (unsigned)atoi(argv[4]) });
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--quick") == 0)
			x.quick = true;
		else if (strcmp(argv[i], "--no-gob") == 0)
			no_gob = true;
		else if (strcmp(argv[i], "--gob") == 0 && i + 1 < argc)
			x.gob_path = argv[++i];
		else if (strcmp(argv[i], "--data") == 0 && i + 1 < argc)
			data = argv[++i];
		else if (strcmp(argv[i], "--no-pin") == 0)
			no_pin = true;
		else
			usage();
	}
	if (!x.gob_path && !no_gob)
		x.gob_path = default_gob();
	if (no_gob)
		x.gob_path = NULL;
	x.blocks = x.quick ? 2 : 9;
	x.max_rounds = x.quick ? 5 : 100;
	x.budget = x.quick ? 1 << 20 : 16 << 20;
	x.cold_samples = x.quick ? 3 : 30;
	/* Children, the gob program and its child inherit the mask. */
	if (!no_pin)
		cpu = pin_to_one_cpu();
	signal(SIGPIPE, SIG_IGN);
	/* A watchdog: the children see end-of-stream when this process dies. */
	alarm(x.quick ? 120 : 1800);

	add_payloads(&x);
	peer_start(&x.peer);
	x.gob.path = x.gob_path;
	if (x.gob_path)
		gob_start(&x.gob);
	printf("dropipc-bench: %s run, %s, %s\n", x.quick ? "quick" : "full",
	       x.gob_path ? x.gob_path : "gob not measured",
	       cpu >= 0 ? "all processes on one CPU" : "processes not pinned");
	fflush(stdout);
	measure_warm(&x);
	measure_allocs(&x);
	measure_cold(&x);
	peer_stop(&x.peer);
	if (x.gob_path)
		gob_stop(&x.gob);

	res = (struct results){ .pl = x.pl, .npl = x.npl, .gob = x.gob_path != NULL,
				.blocks = x.blocks, .cold_samples = x.cold_samples };
	report(&res);
	spawn_bench(self_path(), x.quick);
	if (data)
		write_data(&res, data);
	for (size_t i = 0; i < x.npl; i++) {
		struct payload *pl = &x.pl[i];

		dropipc_args_free(pl->args);
		free(pl->lib.v);
		free(pl->floor.v);
		free(pl->gob.v);
		free(pl->lib_cold.v);
		free(pl->gob_cold.v);
	}
	free(x.pl);
	free(x.floorbuf);
	return 0;
}
