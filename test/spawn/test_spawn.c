/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * dropipc_spawn(): each TCase is one ctest (CK_RUN_CASE). The child is
 * spawn-probe, which reports on stdout what it was started with. After
 * every test no fd is left open and no child is left, reaped or not.
 *
 * The cases that need user namespaces (ns, caps) print why and exit 77
 * (ctest: skipped) where the kernel refuses them. Environment:
 * DROPIPC_SPAWN_COUNT sets the number of spawns of the threads case
 * (default 1000).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#define CAP_CHOWN_BIT 0
#define CAP_NET_ADMIN_BIT 12
#define CAP_SYS_ADMIN_BIT 21

/* ---- fixtures ------------------------------------------------------------ */

static void no_child_left(void)
{
	pid_t r = waitpid(-1, NULL, WNOHANG);

	ck_assert_msg(r == -1 && errno == ECHILD, "a child is left (waitpid: %d)", (int)r);
}

static void setup(void)
{
	test_fd_setup();
}

static void teardown(void)
{
	test_fd_teardown();
	no_child_left();
}

/* ---- running the probe --------------------------------------------------- */

struct probe {
	char out[16384]; /* its stdout */
	char chan[8];	 /* what it wrote on fd 3 */
	siginfo_t exit;
};

/* The options of one spawn, what they point to, and its message. */
struct spawn {
	dropipc_spawn_options o;
	const char *argv[4];
	char err[512];
};

/* The probe in `mode`, every other option at its zero default. */
static void spawn_init(struct spawn *sp, const char *mode)
{
	memset(sp, 0, sizeof(*sp));
	sp->argv[0] = SPAWN_PROBE;
	sp->argv[1] = mode;
	sp->o.size = sizeof(sp->o);
	sp->o.path = SPAWN_PROBE;
	sp->o.argv = sp->argv;
	strcpy(sp->err, "(untouched)");
}

/* dropipc_spawn() with sp's options, which it must leave as they were. */
static int spawn(struct spawn *sp, dropipc_parent **parent, pid_t *pid, int *pidfd)
{
	dropipc_spawn_options before = sp->o;
	const void *argv0 = sp->argv[0], *argv1 = sp->argv[1];
	int r = dropipc_spawn(&sp->o, parent, pid, pidfd, sp->err, sizeof(sp->err));

	ck_assert(memcmp(&before, &sp->o, sizeof(before)) == 0);
	ck_assert(sp->argv[0] == argv0 && sp->argv[1] == argv1);
	return r;
}

static size_t read_all(int fd, char *buf, size_t cap)
{
	size_t len = 0;
	ssize_t n;

	while (len + 1 < cap && (n = read(fd, buf + len, cap - 1 - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		ck_assert_msg(n > 0, "read: %s", strerror(errno));
		len += (size_t)n;
	}
	buf[len] = '\0';
	return len;
}

/* Spawns the probe (its stdout a pipe), reads all it says and reaps it
 * through the pidfd. Returns dropipc_spawn()'s result. */
static int run_probe(struct spawn *sp, struct probe *pr)
{
	dropipc_parent *parent;
	int out[2], pidfd, r;
	pid_t pid;

	memset(pr, 0, sizeof(*pr));
	ck_assert_int_eq(pipe2(out, O_CLOEXEC), 0);
	sp->o.flags |= DROPIPC_SPAWN_STDIO;
	sp->o.stdio[0] = -1;
	sp->o.stdio[1] = out[1];
	sp->o.stdio[2] = -1;
	r = spawn(sp, &parent, &pid, &pidfd);
	sp->o.flags &= ~DROPIPC_SPAWN_STDIO;
	close(out[1]);
	if (r < 0) {
		ck_assert_ptr_null(parent);
		ck_assert_int_eq(pid, -1);
		ck_assert_int_eq(pidfd, -1);
		close(out[0]);
		return r;
	}
	ck_assert_int_gt(pid, 0);
	ck_assert_int_ge(pidfd, 0);
	ck_assert_int_ne(fcntl(pidfd, F_GETFD) & FD_CLOEXEC, 0);
	read_all(out[0], pr->out, sizeof(pr->out));
	close(out[0]);
	read_all(dropipc_conn_get_fd(dropipc_parent_conn(parent)), pr->chan, sizeof(pr->chan));
	ck_assert_int_eq(waitid(P_PIDFD, (id_t)pidfd, &pr->exit, WEXITED), 0);
	ck_assert_int_eq(pr->exit.si_pid, pid);
	close(pidfd);
	dropipc_parent_free(parent);
	return 0;
}

/* The value of the probe's line "key value" (static buffer). */
static const char *field(const struct probe *pr, const char *key)
{
	static char val[4096];
	size_t klen = strlen(key);

	for (const char *l = pr->out; *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : "") {
		if (strncmp(l, key, klen) == 0 && l[klen] == ' ') {
			size_t n = strcspn(l + klen + 1, "\n");

			snprintf(val, sizeof(val), "%.*s", (int)n, l + klen + 1);
			return val;
		}
	}
	ck_abort_msg("the probe said no \"%s\":\n%s", key, pr->out);
	return NULL;
}

static void assert_exited_0(const struct probe *pr)
{
	ck_assert_msg(pr->exit.si_code == CLD_EXITED && pr->exit.si_status == 0,
		      "probe: code %d status %d; said:\n%s", pr->exit.si_code, pr->exit.si_status,
		      pr->out);
}

static const char *const ns_names[] = { "user", "mnt", "pid", "uts", "ipc", "net", "cgroup" };

static void own_ns(const char *name, char *buf, size_t len)
{
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/ns/%s", name);
	n = readlink(path, buf, len - 1);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
}

/* ---- signal state ---------------------------------------------------------- */

/* What a launcher's signal state may look like: some signals blocked,
 * some ignored, a handler. */
struct sigstate {
	sigset_t mask;
	struct sigaction act[4];
	uint64_t libc_act[4]; /* the kernel's struct sigaction of LIBC_SIGNAL */
};

#if defined(__x86_64__) || defined(__aarch64__)
/* A signal glibc keeps for itself (SIGCANCEL), whose sigaction() refuses
 * it; a launcher can still inherit it ignored, as under dh_auto_test. The
 * kernel's struct sigaction here starts with the handler. */
#define LIBC_SIGNAL 32

static void raw_sigaction(int sig, const uint64_t act[4], uint64_t old[4])
{
	ck_assert_int_eq(syscall(SYS_rt_sigaction, sig, act, old, (size_t)(NSIG / 8)), 0);
}
#endif

static const int ignored_sigs[3] = { SIGPIPE, SIGHUP, SIGQUIT };

static void on_usr1(int sig)
{
	(void)sig;
}

static void dirty_signals(struct sigstate *saved)
{
	struct sigaction ign = { .sa_handler = SIG_IGN }, handler = { .sa_handler = on_usr1 };
	sigset_t block;

	sigemptyset(&block);
	sigaddset(&block, SIGUSR2);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	ck_assert_int_eq(pthread_sigmask(SIG_BLOCK, &block, &saved->mask), 0);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(sigaction(ignored_sigs[i], &ign, &saved->act[i]), 0);
	ck_assert_int_eq(sigaction(SIGUSR1, &handler, &saved->act[3]), 0);
#ifdef LIBC_SIGNAL
	raw_sigaction(LIBC_SIGNAL, (const uint64_t[4]){ (uintptr_t)SIG_IGN }, saved->libc_act);
#endif
}

static void restore_signals(const struct sigstate *saved)
{
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(sigaction(ignored_sigs[i], &saved->act[i], NULL), 0);
	ck_assert_int_eq(sigaction(SIGUSR1, &saved->act[3], NULL), 0);
#ifdef LIBC_SIGNAL
	raw_sigaction(LIBC_SIGNAL, saved->libc_act, NULL);
#endif
	ck_assert_int_eq(pthread_sigmask(SIG_SETMASK, &saved->mask, NULL), 0);
}

/* A "SigBlk"-style mask of the calling thread's blocked signals. */
static unsigned long long blocked_now(void)
{
	unsigned long long m = 0;
	sigset_t cur;

	pthread_sigmask(SIG_SETMASK, NULL, &cur);
	for (int sig = 1; sig <= 64; sig++)
		if (sigismember(&cur, sig) == 1)
			m |= 1ull << (sig - 1);
	return m;
}

/* The "SigIgn" field of this process's /proc/self/status, as a number. */
static unsigned long long own_status_hex(const char *name)
{
	char line[256];
	size_t len = strlen(name);
	unsigned long long v = ~0ull;
	FILE *f = fopen("/proc/self/status", "re");

	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, name, len) == 0 && line[len] == ':')
			v = strtoull(line + len + 1, NULL, 16);
	fclose(f);
	ck_assert_msg(v != ~0ull, "no %s in /proc/self/status", name);
	return v;
}

/* ---- basic: the channel, stdio and nothing else ---------------------------- */

/* With DROPIPC_SPAWN_KEEP_SIGNALS the caller's signal mask and ignored
 * signals reach the exec'd program as they were; a handler cannot. */
START_TEST(test_basic)
{
	unsigned long long blk, ign, want_blk, want_ign;
	struct sigstate saved;
	struct spawn sp;
	struct probe pr;
	char ns[128], key[32];

	dirty_signals(&saved);
	want_blk = blocked_now();
	want_ign = own_status_hex("SigIgn");
	spawn_init(&sp, "report");
	sp.o.flags = DROPIPC_SPAWN_KEEP_SIGNALS;
	ck_assert_int_eq(run_probe(&sp, &pr), 0);
	restore_signals(&saved);
	assert_exited_0(&pr);
	ck_assert_str_eq(pr.chan, "hello");
	ck_assert_str_eq(field(&pr, "fds"), "0 1 2 3");
	ck_assert_str_eq(sp.err, "");
	blk = strtoull(field(&pr, "sigblk"), NULL, 16);
	ign = strtoull(field(&pr, "sigign"), NULL, 16);
	ck_assert_msg(blk == want_blk && (blk & 1ull << (SIGUSR2 - 1)), "sigblk %llx, want %llx",
		      blk, want_blk);
	ck_assert_msg(ign == want_ign && (ign & 1ull << (SIGPIPE - 1)) && !(ign & 1ull << (SIGUSR1 - 1)),
		      "sigign %llx, want %llx", ign, want_ign);
#ifdef LIBC_SIGNAL
	ck_assert(ign & 1ull << (LIBC_SIGNAL - 1));
#endif
	/* No namespace asked, none created. */
	for (size_t i = 0; i < sizeof(ns_names) / sizeof(ns_names[0]); i++) {
		own_ns(ns_names[i], ns, sizeof(ns));
		snprintf(key, sizeof(key), "ns_%s", ns_names[i]);
		ck_assert_str_eq(field(&pr, key), ns);
	}
}
END_TEST

/* By default the child starts with no signal blocked and none ignored,
 * whatever the caller blocks and ignores. */
START_TEST(test_signals_clean)
{
	struct sigstate saved;
	struct spawn sp;
	struct probe pr;

	dirty_signals(&saved);
	ck_assert_uint_ne(blocked_now(), 0);
	ck_assert_uint_ne(own_status_hex("SigIgn"), 0);
#ifdef LIBC_SIGNAL
	ck_assert(own_status_hex("SigIgn") & 1ull << (LIBC_SIGNAL - 1));
#endif
	spawn_init(&sp, "report");
	ck_assert_int_eq(run_probe(&sp, &pr), 0);
	restore_signals(&saved);
	assert_exited_0(&pr);
	ck_assert_str_eq(field(&pr, "sigblk"), "0000000000000000");
	ck_assert_str_eq(field(&pr, "sigign"), "0000000000000000");
}
END_TEST

/* With pidfd NULL the caller gets no pidfd; it still reaps by pid. */
START_TEST(test_no_pidfd)
{
	struct spawn sp;
	dropipc_parent *parent;
	int status;
	pid_t pid;

	spawn_init(&sp, "exit");
	ck_assert_int_eq(spawn(&sp, &parent, &pid, NULL), 0);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	dropipc_parent_free(parent);
}
END_TEST

/* ---- fds --------------------------------------------------------------------- */

static int memfd(const char *name)
{
	int fd = (int)syscall(SYS_memfd_create, name, 1u /* MFD_CLOEXEC */);

	ck_assert_int_ge(fd, 0);
	return fd;
}

static int fd_is_free(int fd)
{
	return fcntl(fd, F_GETFD) < 0 && errno == EBADF;
}

/* Extra fds land at 4, 5, ... in order, even when each sits on another's
 * target (6, 4, 5: placing them one by one would clobber), and nothing
 * else is open but 0-3. */
START_TEST(test_fds)
{
	static const int at[3] = { 6, 4, 5 };
	struct spawn sp;
	int saved[3], leak, high_leak;
	struct probe pr;

	spawn_init(&sp, "report");

	/* What the test runner left at 4-6 waits above, until the end. */
	for (int i = 0; i < 3; i++) {
		saved[i] = fd_is_free(4 + i) ? -1 : fcntl(4 + i, F_DUPFD_CLOEXEC, 200);
		if (saved[i] >= 0)
			close(4 + i);
	}
	for (int i = 0; i < 3; i++) {
		char name[16];
		int m, high;

		snprintf(name, sizeof(name), "extra%d", i);
		m = memfd(name);
		high = fcntl(m, F_DUPFD_CLOEXEC, 100);
		ck_assert_int_ge(high, 100);
		close(m);
		ck_assert_int_eq(dup3(high, at[i], O_CLOEXEC), at[i]);
		close(high);
	}
	sp.o.fds = at;
	sp.o.n_fds = 3;
	leak = open("/dev/null", O_RDONLY); /* not close-on-exec, not passed */
	ck_assert_int_ge(leak, 0);
	/* And one above the exec-status pipe, which the child closes around. */
	high_leak = fcntl(leak, F_DUPFD, 900);
	ck_assert_int_ge(high_leak, 900);
	ck_assert_int_eq(run_probe(&sp, &pr), 0);
	assert_exited_0(&pr);
	ck_assert_str_eq(pr.chan, "hello");
	ck_assert_str_eq(field(&pr, "fds"), "0 1 2 3 4 5 6");
	ck_assert_str_eq(field(&pr, "fd4"), "/memfd:extra0 (deleted)");
	ck_assert_str_eq(field(&pr, "fd5"), "/memfd:extra1 (deleted)");
	ck_assert_str_eq(field(&pr, "fd6"), "/memfd:extra2 (deleted)");
	/* The passed fds stay the caller's, open. */
	for (int i = 0; i < 3; i++) {
		ck_assert_int_ge(fcntl(at[i], F_GETFD), 0);
		close(at[i]);
	}
	close(leak);
	close(high_leak);
	for (int i = 0; i < 3; i++)
		if (saved[i] >= 0) {
			ck_assert_int_eq(dup2(saved[i], 4 + i), 4 + i);
			close(saved[i]);
		}
}
END_TEST

/* stdin from a file, stderr to the same pipe as stdout. */
START_TEST(test_stdio)
{
	const char *argv[] = { "/bin/sh", "-c", "cat; echo err >&2", NULL };
	struct spawn sp;
	dropipc_parent *parent;
	int in = memfd("stdin"), out[2], pidfd;
	char buf[64];
	siginfo_t si;
	pid_t pid;

	ck_assert_int_eq(write(in, "from stdin\n", 11), 11);
	ck_assert_int_eq(lseek(in, 0, SEEK_SET), 0);
	ck_assert_int_eq(pipe2(out, O_CLOEXEC), 0);
	spawn_init(&sp, "report");
	sp.o.path = "/bin/sh";
	sp.o.argv = argv;
	sp.o.flags = DROPIPC_SPAWN_STDIO;
	sp.o.stdio[0] = in;
	sp.o.stdio[1] = sp.o.stdio[2] = out[1];
	ck_assert_int_eq(spawn(&sp, &parent, &pid, &pidfd), 0);
	close(out[1]);
	read_all(out[0], buf, sizeof(buf));
	ck_assert_str_eq(buf, "from stdin\nerr\n");
	ck_assert_int_eq(waitid(P_PIDFD, (id_t)pidfd, &si, WEXITED), 0);
	ck_assert_int_eq(si.si_status, 0);
	close(out[0]);
	close(in);
	close(pidfd);
	dropipc_parent_free(parent);
}
END_TEST

/* ---- exec failures: the spawn's own result, nothing left ------------------ */

START_TEST(test_exec_enoent)
{
	struct spawn sp;
	struct probe pr;

	spawn_init(&sp, "report");
	sp.o.path = "/no/such/program";
	ck_assert_int_eq(run_probe(&sp, &pr), -ENOENT);
	ck_assert_str_eq(sp.err, "exec /no/such/program: No such file or directory");
}
END_TEST

/* A script holding text, with mode, whose exec fails with err. */
static void assert_script_exec_fails(const char *text, mode_t mode, int err)
{
	char path[] = "/tmp/dropipc-spawn-XXXXXX", want[128];
	struct spawn sp;
	struct probe pr;
	int fd = mkostemp(path, O_CLOEXEC);
	size_t len = strlen(text);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
	close(fd);
	ck_assert_int_eq(chmod(path, mode), 0);
	spawn_init(&sp, "report");
	sp.o.path = path;
	ck_assert_int_eq(run_probe(&sp, &pr), -err);
	snprintf(want, sizeof(want), "exec %s: %s", path, strerror(err));
	ck_assert_str_eq(sp.err, want);
	unlink(path);
}

START_TEST(test_exec_eacces)
{
	assert_script_exec_fails("#!/bin/sh\n", 0644, EACCES);
}
END_TEST

/* A success says only that the exec succeeded: a program that fails at
 * once is a success, and its wait status tells the rest. */
START_TEST(test_success_is_exec)
{
	const char *argv[] = { "/bin/sh", "-c", "exit 3", NULL };
	struct spawn sp;
	dropipc_parent *parent;
	siginfo_t si;
	int pidfd;
	pid_t pid;

	spawn_init(&sp, "exit");
	sp.o.path = argv[0];
	sp.o.argv = argv;
	ck_assert_int_eq(spawn(&sp, &parent, &pid, &pidfd), 0);
	ck_assert_str_eq(sp.err, "");
	ck_assert_int_eq(waitid(P_PIDFD, (id_t)pidfd, &si, WEXITED), 0);
	ck_assert(si.si_code == CLD_EXITED && si.si_status == 3);
	close(pidfd);
	dropipc_parent_free(parent);
}
END_TEST

/* A bad fd to pass fails in the child, before the exec. */
START_TEST(test_bad_fd)
{
	static const int fd = 900;
	struct spawn sp;
	struct probe pr;

	ck_assert(fd_is_free(fd));
	spawn_init(&sp, "report");
	sp.o.fds = &fd;
	sp.o.n_fds = 1;
	ck_assert_int_eq(run_probe(&sp, &pr), -EBADF);
	ck_assert_str_eq(sp.err, "child: pass fd 900: Bad file descriptor");
}
END_TEST

/* A refused call: code, and the message in sp->err; nothing started. */
static void assert_refused(struct spawn *sp, int code, const char *msg)
{
	dropipc_parent *parent = (dropipc_parent *)1;
	pid_t pid = 1;
	int pidfd = 1;

	ck_assert_int_eq(spawn(sp, &parent, &pid, &pidfd), code);
	ck_assert_ptr_null(parent);
	ck_assert_int_eq(pid, -1);
	ck_assert_int_eq(pidfd, -1);
	ck_assert_str_eq(sp->err, msg);
}

START_TEST(test_bad_options)
{
	static const dropipc_id_map map = { 0, 0, 1 }, map0 = { 0, 0, 0 };
	static const int bad_fd = -1;
	struct spawn sp;
	char want[160];

	spawn_init(&sp, "report");
	sp.o.path = NULL;
	assert_refused(&sp, -EINVAL, "spawn: no path");
	sp.o.path = "";
	assert_refused(&sp, -EINVAL, "spawn: no path");

	spawn_init(&sp, "report");
	sp.o.uid_map = &map;
	sp.o.n_uid_map = 1;
	assert_refused(&sp, -EINVAL, "spawn: id maps and setgroups need DROPIPC_NS_USER");
	spawn_init(&sp, "report");
	sp.o.flags = DROPIPC_SPAWN_DENY_SETGROUPS;
	assert_refused(&sp, -EINVAL, "spawn: id maps and setgroups need DROPIPC_NS_USER");
	spawn_init(&sp, "report");
	sp.o.namespaces = DROPIPC_NS_USER;
	sp.o.gid_map = &map0;
	sp.o.n_gid_map = 1;
	assert_refused(&sp, -EINVAL, "spawn: gid_map[0]: count 0");
	sp.o.gid_map = NULL;
	assert_refused(&sp, -EINVAL, "spawn: gid_map is NULL with 1 lines");

	spawn_init(&sp, "report");
	sp.o.namespaces = 0x80;
	assert_refused(&sp, -EINVAL, "spawn: unknown namespaces 0x80");
	spawn_init(&sp, "report");
	sp.o.flags = DROPIPC_SPAWN_NEW_SESSION | 0x40000000u;
	assert_refused(&sp, -EINVAL, "spawn: unknown flags 0x40000000");

	spawn_init(&sp, "report");
	sp.o.fds = &bad_fd;
	sp.o.n_fds = 1;
	assert_refused(&sp, -EBADF, "spawn: fds[0] is -1");
	sp.o.fds = NULL;
	assert_refused(&sp, -EINVAL, "spawn: fds is NULL with 1 fds");
	spawn_init(&sp, "report");
	sp.o.flags = DROPIPC_SPAWN_STDIO;
	sp.o.stdio[0] = -2;
	assert_refused(&sp, -EBADF, "spawn: stdio[0] is -2");
	spawn_init(&sp, "report");
	sp.o.pdeathsig = 65;
	assert_refused(&sp, -EINVAL, "spawn: pdeathsig 65 is no signal");

	spawn_init(&sp, "report");
	sp.o.size = offsetof(dropipc_spawn_options, flags);
	snprintf(want, sizeof(want), "spawn: options size %zu is smaller than the first version's %zu",
		 sp.o.size, sizeof(sp.o));
	assert_refused(&sp, -EINVAL, want);
	sp.o.size = 0;
	snprintf(want, sizeof(want), "spawn: options size 0 is smaller than the first version's %zu",
		 sizeof(sp.o));
	assert_refused(&sp, -EINVAL, want);
	sp.o.size = (size_t)-1;
	snprintf(want, sizeof(want), "spawn: options size %zu is past 4096", (size_t)-1);
	assert_refused(&sp, -EINVAL, want);
}
END_TEST

/* A caller built with a later, larger version: accepted while its new
 * fields are zero, refused (naming the byte) when one is not. */
START_TEST(test_larger_options)
{
	/* The options, then 24 bytes of a later version's fields. */
	_Alignas(dropipc_spawn_options) unsigned char buf[sizeof(dropipc_spawn_options) + 24];
	dropipc_spawn_options *o = (dropipc_spawn_options *)(void *)buf;
	const size_t known = sizeof(dropipc_spawn_options);
	dropipc_parent *parent;
	struct spawn sp;
	char want[160];
	int status;
	pid_t pid;

	spawn_init(&sp, "exit");
	memset(buf, 0, sizeof(buf));
	memcpy(buf, &sp.o, known);
	o->size = sizeof(buf);
	ck_assert_int_eq(dropipc_spawn(o, &parent, &pid, NULL, sp.err, sizeof(sp.err)), 0);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	dropipc_parent_free(parent);

	buf[known + 9] = 1;
	ck_assert_int_eq(dropipc_spawn(o, &parent, &pid, NULL, sp.err, sizeof(sp.err)), -EINVAL);
	ck_assert_ptr_null(parent);
	snprintf(want, sizeof(want),
		 "spawn: options byte %zu is not zero, and this version knows %zu bytes", known + 9,
		 known);
	ck_assert_str_eq(sp.err, want);
}
END_TEST

/* NULL for the options or a required out-pointer is -EINVAL, not a crash;
 * errbuf may be NULL, and a short one is cut, NUL-terminated. */
START_TEST(test_null_args)
{
	struct spawn sp;
	dropipc_parent *parent = (dropipc_parent *)1;
	pid_t pid = 1;
	char small[8];

	spawn_init(&sp, "exit");
	ck_assert_int_eq(dropipc_spawn(NULL, &parent, &pid, NULL, sp.err, sizeof(sp.err)), -EINVAL);
	ck_assert_str_eq(sp.err, "spawn: opts is NULL");
	ck_assert_ptr_null(parent);
	ck_assert_int_eq(pid, -1);
	ck_assert_int_eq(dropipc_spawn(&sp.o, NULL, &pid, NULL, sp.err, sizeof(sp.err)), -EINVAL);
	ck_assert_str_eq(sp.err, "spawn: parent is NULL");
	ck_assert_int_eq(dropipc_spawn(&sp.o, &parent, NULL, NULL, sp.err, sizeof(sp.err)), -EINVAL);
	ck_assert_str_eq(sp.err, "spawn: pid is NULL");
	ck_assert_int_eq(dropipc_spawn(NULL, NULL, NULL, NULL, NULL, 0), -EINVAL);
	sp.o.path = "/no/such/program";
	ck_assert_int_eq(dropipc_spawn(&sp.o, &parent, &pid, NULL, NULL, 0), -ENOENT);
	ck_assert_int_eq(dropipc_spawn(&sp.o, &parent, &pid, NULL, small, sizeof(small)), -ENOENT);
	ck_assert_str_eq(small, "exec /n");
}
END_TEST

/* ---- namespaces and id maps ----------------------------------------------- */

static const char *userns_refused;

/* Why the kernel refuses a user namespace here, or NULL if it allows one. */
static const char *probe_userns(void)
{
	static char why[256];
	int status;
	pid_t pid = fork();

	if (pid == 0)
		_exit(unshare(CLONE_NEWUSER) == 0 ? 0 : errno);
	if (pid < 0 || waitpid(pid, &status, 0) != pid) {
		snprintf(why, sizeof(why), "fork: %s", strerror(errno));
		return why;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return NULL;
	snprintf(why, sizeof(why), "unshare(CLONE_NEWUSER): %s",
		 WIFEXITED(status) ? strerror(WEXITSTATUS(status)) : "killed");
	return why;
}

#define ALL_NS                                                                                   \
	(DROPIPC_NS_USER | DROPIPC_NS_MOUNT | DROPIPC_NS_PID | DROPIPC_NS_UTS | DROPIPC_NS_IPC | \
	 DROPIPC_NS_NET | DROPIPC_NS_CGROUP)

/* The caller's ids mapped to `inside` (itself, or 0), setgroups denied.
 * (As root, "itself" is 0 too.) */
static void check_ns(uint32_t uid_inside, uint32_t gid_inside)
{
	uint32_t uid = getuid(), gid = getgid();
	dropipc_id_map uid_map = { uid_inside, uid, 1 }, gid_map = { gid_inside, gid, 1 };
	struct spawn sp;
	struct probe pr;
	char want[64], ns[128], key[32];

	spawn_init(&sp, "report");
	sp.o.namespaces = ALL_NS;
	sp.o.uid_map = &uid_map;
	sp.o.n_uid_map = 1;
	sp.o.gid_map = &gid_map;
	sp.o.n_gid_map = 1;
	sp.o.flags = DROPIPC_SPAWN_DENY_SETGROUPS;
	ck_assert_int_eq(run_probe(&sp, &pr), 0);
	assert_exited_0(&pr);
	ck_assert_str_eq(pr.chan, "hello");
	snprintf(want, sizeof(want), "%u", uid_inside);
	ck_assert_str_eq(field(&pr, "uid"), want);
	snprintf(want, sizeof(want), "%u", gid_inside);
	ck_assert_str_eq(field(&pr, "gid"), want);
	snprintf(want, sizeof(want), "%u %u 1", uid_inside, uid);
	ck_assert_str_eq(field(&pr, "uid_map"), want);
	snprintf(want, sizeof(want), "%u %u 1", gid_inside, gid);
	ck_assert_str_eq(field(&pr, "gid_map"), want);
	ck_assert_str_eq(field(&pr, "setgroups"), "deny");
	ck_assert_str_eq(field(&pr, "fds"), "0 1 2 3");
	for (size_t i = 0; i < sizeof(ns_names) / sizeof(ns_names[0]); i++) {
		own_ns(ns_names[i], ns, sizeof(ns));
		snprintf(key, sizeof(key), "ns_%s", ns_names[i]);
		ck_assert_str_ne(field(&pr, key), ns);
	}
}

START_TEST(test_ns_ids_itself)
{
	check_ns(getuid(), getgid());
}
END_TEST

START_TEST(test_ns_ids_root)
{
	check_ns(0, 0);
}
END_TEST

/* A map the kernel refuses fails the spawn after the clone: the child is
 * killed and reaped (the teardown checks). */
START_TEST(test_ns_bad_map)
{
	const dropipc_id_map map[2] = { { 0, getuid(), 1 }, { 0, getuid() + 1, 1 } };
	struct spawn sp;
	struct probe pr;

	spawn_init(&sp, "report");
	sp.o.namespaces = DROPIPC_NS_USER;
	sp.o.uid_map = map;
	sp.o.n_uid_map = 2;
	ck_assert_int_eq(run_probe(&sp, &pr), -EINVAL);
	ck_assert_msg(strncmp(sp.err, "write /proc/", 12) == 0 &&
			      strstr(sp.err, "/uid_map: Invalid argument"),
		      "%s", sp.err);
}
END_TEST

/* ---- capabilities ---------------------------------------------------------- */

/* In a user namespace as uid 1000, which the exec leaves no capability
 * but the ambient ones. */
static unsigned long long capeff(int ambient_cap)
{
	const dropipc_id_map uid_map = { 1000, getuid(), 1 }, gid_map = { 1000, getgid(), 1 };
	struct spawn sp;
	struct probe pr;

	spawn_init(&sp, "report");
	sp.o.namespaces = DROPIPC_NS_USER;
	sp.o.uid_map = &uid_map;
	sp.o.n_uid_map = 1;
	sp.o.gid_map = &gid_map;
	sp.o.n_gid_map = 1;
	sp.o.flags = DROPIPC_SPAWN_DENY_SETGROUPS;
	if (ambient_cap >= 0)
		sp.o.caps = UINT64_C(1) << ambient_cap;
	ck_assert_int_eq(run_probe(&sp, &pr), 0);
	assert_exited_0(&pr);
	ck_assert_str_eq(field(&pr, "uid"), "1000");
	ck_assert_uint_eq(strtoull(field(&pr, "capinh"), NULL, 16), sp.o.caps);
	ck_assert_uint_eq(strtoull(field(&pr, "capamb"), NULL, 16), sp.o.caps);
	return strtoull(field(&pr, "capeff"), NULL, 16);
}

START_TEST(test_cap_ambient)
{
	unsigned long long eff = capeff(CAP_SYS_ADMIN_BIT);

	ck_assert_msg(eff == 1ull << CAP_SYS_ADMIN_BIT, "CapEff %llx", eff);
}
END_TEST

START_TEST(test_cap_none)
{
	unsigned long long eff = capeff(-1);

	ck_assert_msg(eff == 0, "CapEff %llx", eff);
}
END_TEST

/* ---- id maps through newuidmap and newgidmap -------------------------------- */

/* Why newuidmap and newgidmap cannot run here, or NULL. */
static const char *probe_helpers(void)
{
	static const char *const helpers[] = { "/usr/bin/newuidmap", "/usr/bin/newgidmap" };
	static char why[256];
	struct stat st;

	for (int i = 0; i < 2; i++) {
		if (stat(helpers[i], &st) < 0) {
			snprintf(why, sizeof(why), "%s: %s (the uidmap package)", helpers[i],
				 strerror(errno));
			return why;
		}
		if (!(st.st_mode & S_ISUID) || st.st_uid != 0) {
			snprintf(why, sizeof(why), "%s is not setuid root", helpers[i]);
			return why;
		}
	}
	return NULL;
}

/* Spawns the probe in a new user namespace with these maps (helpers or
 * not); on success checks the maps it sees. Returns the spawn's result. */
static int run_mapped(const dropipc_id_map *uid_map, size_t n_uid, const dropipc_id_map *gid_map,
		      size_t n_gid, unsigned int flags, struct spawn *sp)
{
	struct probe pr;
	char want[256];
	size_t len = 0;
	int r;

	spawn_init(sp, "report");
	sp->o.namespaces = DROPIPC_NS_USER;
	sp->o.uid_map = uid_map;
	sp->o.n_uid_map = n_uid;
	sp->o.gid_map = gid_map;
	sp->o.n_gid_map = n_gid;
	sp->o.flags = flags;
	r = run_probe(sp, &pr);
	if (r < 0)
		return r;
	assert_exited_0(&pr);
	ck_assert_str_eq(pr.chan, "hello");
	for (size_t i = 0; i < n_uid; i++)
		len += (size_t)snprintf(want + len, sizeof(want) - len, "%s%u %u %u", i ? ";" : "",
					uid_map[i].inside, uid_map[i].outside, uid_map[i].count);
	ck_assert_str_eq(field(&pr, "uid_map"), want);
	len = 0;
	for (size_t i = 0; i < n_gid; i++)
		len += (size_t)snprintf(want + len, sizeof(want) - len, "%s%u %u %u", i ? ";" : "",
					gid_map[i].inside, gid_map[i].outside, gid_map[i].count);
	ck_assert_str_eq(field(&pr, "gid_map"), want);
	return 0;
}

/* The caller's own ids, which the helpers map for anyone. */
START_TEST(test_helpers_own_ids)
{
	const dropipc_id_map uid_map = { 0, getuid(), 1 }, gid_map = { 0, getgid(), 1 };
	struct spawn sp;

	ck_assert_msg(run_mapped(&uid_map, 1, &gid_map, 1, DROPIPC_SPAWN_ID_MAP_HELPERS, &sp) == 0,
		      "%s", sp.err);
	ck_assert_str_eq(sp.err, "");
}
END_TEST

/* A range /etc/subuid does not give the caller: the helper's own words
 * and exit status, naming it; the child is killed and reaped. */
START_TEST(test_helpers_refused)
{
	const dropipc_id_map uid_map[2] = { { 0, getuid(), 1 }, { 1, 4000000000u, 5 } };
	const dropipc_id_map gid_map = { 0, getgid(), 1 };
	char want[128];
	struct spawn sp;

	ck_assert_int_eq(run_mapped(uid_map, 2, &gid_map, 1, DROPIPC_SPAWN_ID_MAP_HELPERS, &sp),
			 -EPERM);
	snprintf(want, sizeof(want), "/usr/bin/newuidmap for pid ");
	ck_assert_msg(strncmp(sp.err, want, strlen(want)) == 0 &&
			      strstr(sp.err, ": exit status 1: newuidmap: ") &&
			      strstr(sp.err, "4000000000"),
		      "%s", sp.err);
	for (const char *c = sp.err; *c; c++)
		ck_assert_msg(*c >= 0x20 && *c < 0x7f, "control character in: %s", sp.err);
}
END_TEST

/* The subordinate range of the user this runs as, from the environment
 * rootless.sh sets: "start count". */
static int subid_range(const char *name, uint32_t *start, uint32_t *count)
{
	const char *v = getenv(name);

	return v && sscanf(v, "%u %u", start, count) == 2 && *count > 0;
}

/* As an unprivileged user with subordinate ids (rootless.sh sets it up):
 * 0 is the user, 1-count its range, for uids and gids. Through the helpers
 * the two-range maps work; written to /proc they are refused, clearly. */
START_TEST(test_rootless_ranges)
{
	uint32_t us, uc, gs, gc;
	struct spawn sp;

	ck_assert(subid_range("DROPIPC_TEST_SUBUID", &us, &uc));
	ck_assert(subid_range("DROPIPC_TEST_SUBGID", &gs, &gc));
	ck_assert_uint_ne(getuid(), 0);
	{
		const dropipc_id_map uid_map[2] = { { 0, getuid(), 1 }, { 1, us, uc } };
		const dropipc_id_map gid_map[2] = { { 0, getgid(), 1 }, { 1, gs, gc } };

		ck_assert_msg(run_mapped(uid_map, 2, gid_map, 2, DROPIPC_SPAWN_ID_MAP_HELPERS, &sp) == 0,
			      "%s", sp.err);
		ck_assert_int_eq(run_mapped(uid_map, 2, gid_map, 2, 0, &sp), -EPERM);
		ck_assert_msg(strncmp(sp.err, "write /proc/", 12) == 0 &&
				      strstr(sp.err, "/uid_map: Operation not permitted"),
			      "%s", sp.err);
		/* setgroups denied first, then the helpers: they still map. */
		ck_assert_msg(run_mapped(uid_map, 2, gid_map, 2,
					 DROPIPC_SPAWN_ID_MAP_HELPERS | DROPIPC_SPAWN_DENY_SETGROUPS,
					 &sp) == 0,
			      "%s", sp.err);
	}
}
END_TEST

/* ---- capability state of a child in the caller's namespaces ---------------- */

/* This process's permitted and inheritable sets. */
static void own_caps(uint64_t *prm, uint64_t *inh)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2] = { { 0 } }; /* valgrind marks d[0] only */

	ck_assert_int_eq(syscall(SYS_capget, &hdr, d), 0);
	*prm = d[0].permitted | (uint64_t)d[1].permitted << 32;
	*inh = d[0].inheritable | (uint64_t)d[1].inheritable << 32;
}

static void set_own_inheritable(uint64_t inh)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2] = { { 0 } }; /* valgrind marks d[0] only */

	ck_assert_int_eq(syscall(SYS_capget, &hdr, d), 0);
	d[0].inheritable = (uint32_t)inh;
	d[1].inheritable = (uint32_t)(inh >> 32);
	ck_assert_msg(syscall(SYS_capset, &hdr, d) == 0, "capset: %s", strerror(errno));
}

static uint64_t saved_inh;
static int inh_raised;

/* Raises this process's inheritable set to its permitted set, and
 * CAP_CHOWN as ambient, as a launcher running with capabilities might. */
static uint64_t raise_own_caps(void)
{
	uint64_t prm, inh;

	own_caps(&prm, &saved_inh);
	inh_raised = 1;
	set_own_inheritable(prm);
	own_caps(&prm, &inh);
	ck_assert_uint_eq(inh, prm);
	ck_assert_int_eq(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_CHOWN_BIT, 0, 0), 0);
	return inh;
}

static void caps_teardown(void)
{
	if (inh_raised) {
		prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
		set_own_inheritable(saved_inh);
		inh_raised = 0;
	}
	teardown();
}

/* The probe's inheritable and ambient sets; its bounding set is the
 * caller's. */
static void probe_caps(struct spawn *sp, uint64_t *inh, uint64_t *amb)
{
	struct probe pr;

	ck_assert_int_eq(run_probe(sp, &pr), 0);
	assert_exited_0(&pr);
	*inh = strtoull(field(&pr, "capinh"), NULL, 16);
	*amb = strtoull(field(&pr, "capamb"), NULL, 16);
	ck_assert_uint_eq(strtoull(field(&pr, "capbnd"), NULL, 16), own_status_hex("CapBnd"));
}

/* Whatever the caller's inheritable and ambient sets, the child's are
 * exactly the caps asked for: none, or two. */
START_TEST(test_caps_clean)
{
	const uint64_t two = UINT64_C(1) << CAP_SYS_ADMIN_BIT | UINT64_C(1) << CAP_NET_ADMIN_BIT;
	uint64_t raised = raise_own_caps(), inh, amb;
	struct spawn sp;

	ck_assert_uint_ne(raised, 0);
	spawn_init(&sp, "report");
	probe_caps(&sp, &inh, &amb);
	ck_assert_msg(inh == 0 && amb == 0, "CapInh %llx CapAmb %llx, the caller's %llx",
		      (unsigned long long)inh, (unsigned long long)amb, (unsigned long long)raised);
	sp.o.caps = two;
	probe_caps(&sp, &inh, &amb);
	ck_assert_msg(inh == two && amb == two, "CapInh %llx CapAmb %llx, asked %llx",
		      (unsigned long long)inh, (unsigned long long)amb, (unsigned long long)two);
}
END_TEST

/* DROPIPC_SPAWN_KEEP_CAPS: the caller's sets, the asked caps on top. */
START_TEST(test_caps_keep)
{
	uint64_t raised = raise_own_caps(), inh, amb;
	struct spawn sp;

	spawn_init(&sp, "report");
	sp.o.flags = DROPIPC_SPAWN_KEEP_CAPS;
	probe_caps(&sp, &inh, &amb);
	ck_assert_uint_eq(inh, raised);
	ck_assert_uint_eq(amb, UINT64_C(1) << CAP_CHOWN_BIT);
	sp.o.caps = UINT64_C(1) << CAP_SYS_ADMIN_BIT;
	probe_caps(&sp, &inh, &amb);
	ck_assert_uint_eq(inh, raised);
	ck_assert_uint_eq(amb, UINT64_C(1) << CAP_CHOWN_BIT | UINT64_C(1) << CAP_SYS_ADMIN_BIT);
}
END_TEST

/* A cap the child does not have (past the last one the kernel knows)
 * fails the spawn, naming it. */
START_TEST(test_caps_unknown)
{
	struct spawn sp;
	struct probe pr;

	spawn_init(&sp, "report");
	sp.o.caps = UINT64_C(1) << 63;
	ck_assert_int_eq(run_probe(&sp, &pr), -EINVAL);
	ck_assert_str_eq(sp.err, "child: raise ambient capability 63: Invalid argument");
}
END_TEST

/* ---- parent death ---------------------------------------------------------- */

/* A middle process spawns the probe ("sleep") and exits; the probe comes
 * to this process (a subreaper). Waits wait_ms for the probe to die, then
 * kills it. Returns its wait status. */
static int orphan_status(unsigned int namespaces, int pdeathsig, int wait_ms, int *killed_by_test)
{
	int pp[2], status = 0;
	pid_t mid, child = -1;

	ck_assert_int_eq(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
	ck_assert_int_eq(pipe2(pp, O_CLOEXEC), 0);
	mid = fork();
	ck_assert_int_ge(mid, 0);
	if (mid == 0) {
		const char *argv[] = { SPAWN_PROBE, "sleep", NULL };
		const dropipc_spawn_options o = {
			.size = sizeof(o),
			.path = SPAWN_PROBE,
			.argv = argv,
			.namespaces = namespaces,
			.pdeathsig = pdeathsig,
		};
		dropipc_parent *parent;
		pid_t pid = -1;

		close(pp[0]);
		if (dropipc_spawn(&o, &parent, &pid, NULL, NULL, 0) < 0)
			pid = -1;
		if (write(pp[1], &pid, sizeof(pid)) != sizeof(pid))
			_exit(2);
		_exit(pid > 0 ? 0 : 1);
	}
	close(pp[1]);
	ck_assert_int_eq(read(pp[0], &child, sizeof(child)), sizeof(child));
	close(pp[0]);
	ck_assert_int_eq(waitpid(mid, &status, 0), mid);
	ck_assert_int_eq(status, 0);
	ck_assert_int_gt(child, 0);
	*killed_by_test = 0;
	for (int i = 0; i < wait_ms / 10; i++) {
		pid_t r = waitpid(child, &status, WNOHANG);

		if (r == child)
			return status;
		ck_assert_int_eq(r, 0);
		nanosleep(&(struct timespec){ 0, 10 * 1000 * 1000 }, NULL);
	}
	kill(child, SIGKILL);
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	*killed_by_test = 1;
	return status;
}

START_TEST(test_pdeathsig)
{
	/* Bound: the signal arrives within 10 s of the parent's death. */
	int killed_by_test, status = orphan_status(0, SIGKILL, 10000, &killed_by_test);

	ck_assert_msg(!killed_by_test, "the probe outlived its parent by 10 s");
	ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}
END_TEST

/* Without it, the probe outlives its parent (the test kills it after
 * 200 ms): what the case above would see if the signal were not set. */
START_TEST(test_no_pdeathsig)
{
	int killed_by_test;

	orphan_status(0, 0, 200, &killed_by_test);
	ck_assert(killed_by_test);
}
END_TEST

/* As PID 1 of a new PID namespace, where getppid() says 0. */
START_TEST(test_pdeathsig_pidns)
{
	int killed_by_test,
		status = orphan_status(DROPIPC_NS_USER | DROPIPC_NS_PID, SIGKILL, 10000, &killed_by_test);

	ck_assert_msg(!killed_by_test, "the probe outlived its parent by 10 s");
	ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}
END_TEST

/* ---- threads --------------------------------------------------------------- */

static atomic_int stop_churn;

/* Holds and frees malloc's locks, as the other threads of a launcher would. */
static void *churn(void *arg)
{
	unsigned int seed = (unsigned int)(uintptr_t)arg;
	void *p[32] = { 0 };

	while (!atomic_load(&stop_churn)) {
		for (int i = 0; i < 32; i++) {
			free(p[i]);
			p[i] = malloc(16 + (size_t)(rand_r(&seed) % 8192));
		}
	}
	for (int i = 0; i < 32; i++)
		free(p[i]);
	return NULL;
}

START_TEST(test_threads)
{
	const char *env = getenv("DROPIPC_SPAWN_COUNT");
	int count = env ? atoi(env) : 1000;
	struct spawn sp;
	pthread_t th[8];

	spawn_init(&sp, "exit");
	ck_assert_int_gt(count, 0);
	atomic_store(&stop_churn, 0);
	for (int i = 0; i < 8; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, churn, (void *)(uintptr_t)(i + 1)), 0);
	for (int i = 0; i < count; i++) {
		dropipc_parent *parent;
		siginfo_t si;
		int pidfd, r;
		pid_t pid;

		r = dropipc_spawn(&sp.o, &parent, &pid, &pidfd, sp.err, sizeof(sp.err));
		ck_assert_msg(r == 0, "spawn %d: %s", i, sp.err);
		ck_assert_int_eq(waitid(P_PIDFD, (id_t)pidfd, &si, WEXITED), 0);
		ck_assert_msg(si.si_code == CLD_EXITED && si.si_status == 0, "spawn %d: code %d status %d",
			      i, si.si_code, si.si_status);
		close(pidfd);
		dropipc_parent_free(parent);
	}
	atomic_store(&stop_churn, 1);
	for (int i = 0; i < 8; i++)
		ck_assert_int_eq(pthread_join(th[i], NULL), 0);
}
END_TEST

/* Why this process cannot raise its inheritable set to show that the
 * child's is cleared (it has no permitted capability: not root), or NULL. */
static const char *probe_caps_here(void)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2] = { { 0 } }; /* valgrind marks d[0] only */
	uint64_t need = UINT64_C(1) << CAP_CHOWN_BIT | UINT64_C(1) << CAP_SYS_ADMIN_BIT |
			UINT64_C(1) << CAP_NET_ADMIN_BIT;

	if (syscall(SYS_capget, &hdr, d) < 0)
		return "capget failed";
	if (((d[0].permitted | (uint64_t)d[1].permitted << 32) & need) != need)
		return "not running with CAP_CHOWN, CAP_NET_ADMIN and CAP_SYS_ADMIN permitted "
		       "(run as root)";
	return NULL;
}

/* ---- runner ----------------------------------------------------------------- */

static TCase *tcase(Suite *s, const char *name, int timeout)
{
	TCase *tc = tcase_create(name);

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, timeout);
	suite_add_tcase(s, tc);
	return tc;
}

int main(void)
{
	const char *only = getenv("CK_RUN_CASE");
	const char *caps_refused = probe_caps_here(), *helpers_refused;
	Suite *s = suite_create("spawn");
	SRunner *sr;
	TCase *tc;
	int run, failed;

	tc = tcase(s, "basic", 30);
	tcase_add_test(tc, test_basic);
	tcase_add_test(tc, test_signals_clean);
	tcase_add_test(tc, test_no_pidfd);
	tcase_add_test(tc, test_fds);
	tcase_add_test(tc, test_stdio);
	tc = tcase(s, "exec", 30);
	tcase_add_test(tc, test_exec_enoent);
	tcase_add_test(tc, test_exec_eacces);
	tcase_add_test(tc, test_success_is_exec);
	tcase_add_test(tc, test_bad_fd);
	tcase_add_test(tc, test_bad_options);
	tcase_add_test(tc, test_larger_options);
	tcase_add_test(tc, test_null_args);
	tc = tcase(s, "pdeath", 60);
	tcase_add_test(tc, test_pdeathsig);
	tcase_add_test(tc, test_no_pdeathsig);
	if (caps_refused) {
		printf("SKIPPED capstate: %s\n", caps_refused);
		if (only && strcmp(only, "capstate") == 0)
			return 77;
	} else {
		tc = tcase_create("capstate");
		tcase_add_checked_fixture(tc, setup, caps_teardown);
		tcase_set_timeout(tc, 30);
		suite_add_tcase(s, tc);
		tcase_add_test(tc, test_caps_clean);
		tcase_add_test(tc, test_caps_keep);
		tcase_add_test(tc, test_caps_unknown);
	}
	tc = tcase(s, "threads", 600);
	tcase_add_test(tc, test_threads);

	userns_refused = probe_userns();
	if (userns_refused) {
		printf("SKIPPED ns and caps: the kernel refuses user namespaces: %s\n", userns_refused);
		if (only && (strcmp(only, "ns") == 0 || strcmp(only, "caps") == 0))
			return 77;
	} else {
		tc = tcase(s, "ns", 30);
		tcase_add_test(tc, test_ns_ids_itself);
		tcase_add_test(tc, test_ns_ids_root);
		tcase_add_test(tc, test_ns_bad_map);
		tcase_add_test(tc, test_pdeathsig_pidns);
		tc = tcase(s, "caps", 30);
		tcase_add_test(tc, test_cap_ambient);
		tcase_add_test(tc, test_cap_none);
	}
	helpers_refused = userns_refused ? userns_refused : probe_helpers();
	if (helpers_refused) {
		printf("SKIPPED helpers and rootless: %s\n", helpers_refused);
		if (only && (strcmp(only, "helpers") == 0 || strcmp(only, "rootless") == 0))
			return 77;
	} else {
		tc = tcase(s, "helpers", 30);
		tcase_add_test(tc, test_helpers_own_ids);
		tcase_add_test(tc, test_helpers_refused);
	}
	/* Only rootless.sh, as a user it made, runs this one. */
	if (!helpers_refused && subid_range("DROPIPC_TEST_SUBUID", &(uint32_t){ 0 }, &(uint32_t){ 0 })) {
		tc = tcase(s, "rootless", 30);
		tcase_add_test(tc, test_rootless_ranges);
	} else if (only && strcmp(only, "rootless") == 0) {
		printf("SKIPPED rootless: run by test/spawn/rootless.sh, as a user with subordinate "
		       "ids (DROPIPC_TEST_SUBUID and DROPIPC_TEST_SUBGID unset)\n");
		return 77;
	}

	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	run = srunner_ntests_run(sr);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	/* A CK_RUN_CASE that matched nothing is a failure too. */
	return run > 0 && failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
