/* SPDX-License-Identifier: Apache-2.0 */
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

static dropipc_spawn_attr *attr_new(const char *mode)
{
	const char *argv[] = { SPAWN_PROBE, mode, NULL };
	dropipc_spawn_attr *attr;

	ck_assert_int_eq(dropipc_spawn_attr_new(&attr), 0);
	ck_assert_int_eq(dropipc_spawn_attr_set_program(attr, SPAWN_PROBE), 0);
	ck_assert_int_eq(dropipc_spawn_attr_set_argv(attr, argv), 0);
	return attr;
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
static int run_probe(dropipc_spawn_attr *attr, struct probe *pr)
{
	dropipc_parent *parent;
	int out[2], pidfd, r;
	pid_t pid;

	memset(pr, 0, sizeof(*pr));
	ck_assert_int_eq(pipe2(out, O_CLOEXEC), 0);
	ck_assert_int_eq(dropipc_spawn_attr_set_stdio(attr, -1, out[1], -1), 0);
	r = dropipc_spawn(attr, &parent, &pid, &pidfd);
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
	read_all(dropipc_parent_fd(parent), pr->chan, sizeof(pr->chan));
	ck_assert_int_eq(waitid(P_PIDFD, (id_t)pidfd, &pr->exit, WEXITED), 0);
	ck_assert_int_eq(pr->exit.si_pid, pid);
	close(pidfd);
	dropipc_parent_close(parent);
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

/* ---- basic: the channel, stdio and nothing else ---------------------------- */

START_TEST(test_basic)
{
	dropipc_spawn_attr *attr = attr_new("report");
	sigset_t usr2, old;
	unsigned long long blk;
	struct probe pr;
	char ns[128], key[32];

	/* The caller's signal mask reaches the exec'd program as it was. */
	sigemptyset(&usr2);
	sigaddset(&usr2, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &usr2, &old);
	ck_assert_int_eq(run_probe(attr, &pr), 0);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	assert_exited_0(&pr);
	ck_assert_str_eq(pr.chan, "hello");
	ck_assert_str_eq(field(&pr, "fds"), "0 1 2 3");
	ck_assert_str_eq(dropipc_spawn_attr_errmsg(attr), "");
	blk = strtoull(field(&pr, "sigblk"), NULL, 16);
	ck_assert_msg(blk == 1ull << (SIGUSR2 - 1), "sigblk %llx", blk);
	/* No namespace asked, none created. */
	for (size_t i = 0; i < sizeof(ns_names) / sizeof(ns_names[0]); i++) {
		own_ns(ns_names[i], ns, sizeof(ns));
		snprintf(key, sizeof(key), "ns_%s", ns_names[i]);
		ck_assert_str_eq(field(&pr, key), ns);
	}
	dropipc_spawn_attr_free(attr);
}
END_TEST

/* With pidfd NULL the caller gets no pidfd; it still reaps by pid. */
START_TEST(test_no_pidfd)
{
	dropipc_spawn_attr *attr = attr_new("exit");
	dropipc_parent *parent;
	int status;
	pid_t pid;

	ck_assert_int_eq(dropipc_spawn(attr, &parent, &pid, NULL), 0);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	dropipc_parent_close(parent);
	dropipc_spawn_attr_free(attr);
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
	dropipc_spawn_attr *attr = attr_new("report");
	int saved[3], leak, high_leak;
	struct probe pr;

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
		ck_assert_int_eq(dropipc_spawn_attr_add_fd(attr, at[i]), 0);
	}
	leak = open("/dev/null", O_RDONLY); /* not close-on-exec, not passed */
	ck_assert_int_ge(leak, 0);
	/* And one above the exec-status pipe, which the child closes around. */
	high_leak = fcntl(leak, F_DUPFD, 900);
	ck_assert_int_ge(high_leak, 900);
	ck_assert_int_eq(run_probe(attr, &pr), 0);
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
	dropipc_spawn_attr_free(attr);
}
END_TEST

/* stdin from a file, stderr to the same pipe as stdout. */
START_TEST(test_stdio)
{
	dropipc_spawn_attr *attr = attr_new("report");
	const char *argv[] = { "/bin/sh", "-c", "cat; echo err >&2", NULL };
	dropipc_parent *parent;
	int in = memfd("stdin"), out[2], pidfd;
	char buf[64];
	siginfo_t si;
	pid_t pid;

	ck_assert_int_eq(write(in, "from stdin\n", 11), 11);
	ck_assert_int_eq(lseek(in, 0, SEEK_SET), 0);
	ck_assert_int_eq(pipe2(out, O_CLOEXEC), 0);
	ck_assert_int_eq(dropipc_spawn_attr_set_program(attr, "/bin/sh"), 0);
	ck_assert_int_eq(dropipc_spawn_attr_set_argv(attr, argv), 0);
	ck_assert_int_eq(dropipc_spawn_attr_set_stdio(attr, in, out[1], out[1]), 0);
	ck_assert_int_eq(dropipc_spawn(attr, &parent, &pid, &pidfd), 0);
	close(out[1]);
	read_all(out[0], buf, sizeof(buf));
	ck_assert_str_eq(buf, "from stdin\nerr\n");
	ck_assert_int_eq(waitid(P_PIDFD, (id_t)pidfd, &si, WEXITED), 0);
	ck_assert_int_eq(si.si_status, 0);
	close(out[0]);
	close(in);
	close(pidfd);
	dropipc_parent_close(parent);
	dropipc_spawn_attr_free(attr);
}
END_TEST

/* ---- exec failures: the spawn's own result, nothing left ------------------ */

START_TEST(test_exec_enoent)
{
	dropipc_spawn_attr *attr = attr_new("report");
	struct probe pr;

	ck_assert_int_eq(dropipc_spawn_attr_set_program(attr, "/no/such/program"), 0);
	ck_assert_int_eq(run_probe(attr, &pr), -ENOENT);
	ck_assert_str_eq(dropipc_spawn_attr_errmsg(attr),
			 "exec /no/such/program: No such file or directory");
	dropipc_spawn_attr_free(attr);
}
END_TEST

START_TEST(test_exec_eacces)
{
	dropipc_spawn_attr *attr = attr_new("report");
	char path[] = "/tmp/dropipc-spawn-XXXXXX", want[128];
	struct probe pr;
	int fd = mkostemp(path, O_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "#!/bin/sh\n", 10), 10);
	close(fd);
	ck_assert_int_eq(chmod(path, 0644), 0);
	ck_assert_int_eq(dropipc_spawn_attr_set_program(attr, path), 0);
	ck_assert_int_eq(run_probe(attr, &pr), -EACCES);
	snprintf(want, sizeof(want), "exec %s: Permission denied", path);
	ck_assert_str_eq(dropipc_spawn_attr_errmsg(attr), want);
	unlink(path);
	dropipc_spawn_attr_free(attr);
}
END_TEST

/* A bad fd to pass fails in the child, before the exec. */
START_TEST(test_bad_fd)
{
	dropipc_spawn_attr *attr = attr_new("report");
	struct probe pr;
	int fd = 900;

	ck_assert(fd_is_free(fd));
	ck_assert_int_eq(dropipc_spawn_attr_add_fd(attr, fd), 0);
	ck_assert_int_eq(run_probe(attr, &pr), -EBADF);
	ck_assert_str_eq(dropipc_spawn_attr_errmsg(attr), "child: pass fd 900: Bad file descriptor");
	dropipc_spawn_attr_free(attr);
}
END_TEST

START_TEST(test_bad_attr)
{
	dropipc_spawn_attr *attr;
	dropipc_parent *parent = (dropipc_parent *)1;
	pid_t pid = 1;

	ck_assert_int_eq(dropipc_spawn_attr_new(&attr), 0);
	ck_assert_int_eq(dropipc_spawn(attr, &parent, &pid, NULL), -EINVAL);
	ck_assert_ptr_null(parent);
	ck_assert_int_eq(pid, -1);
	ck_assert_str_eq(dropipc_spawn_attr_errmsg(attr), "spawn: no program set");
	ck_assert_int_eq(dropipc_spawn_attr_set_program(attr, SPAWN_PROBE), 0);
	ck_assert_int_eq(dropipc_spawn_attr_add_uid_map(attr, 0, 0, 1), 0);
	ck_assert_int_eq(dropipc_spawn(attr, &parent, &pid, NULL), -EINVAL);
	ck_assert_int_eq(dropipc_spawn_attr_set_namespaces(attr, 0x80), -EINVAL);
	ck_assert_int_eq(dropipc_spawn_attr_add_fd(attr, -1), -EBADF);
	ck_assert_int_eq(dropipc_spawn_attr_set_stdio(attr, -2, -1, -1), -EBADF);
	ck_assert_int_eq(dropipc_spawn_attr_add_ambient_cap(attr, 64), -EINVAL);
	dropipc_spawn_attr_free(attr);
	dropipc_spawn_attr_free(NULL);
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
	dropipc_spawn_attr *attr = attr_new("report");
	uint32_t uid = getuid(), gid = getgid();
	struct probe pr;
	char want[64], ns[128], key[32];

	ck_assert_int_eq(dropipc_spawn_attr_set_namespaces(attr, ALL_NS), 0);
	ck_assert_int_eq(dropipc_spawn_attr_add_uid_map(attr, uid_inside, uid, 1), 0);
	ck_assert_int_eq(dropipc_spawn_attr_add_gid_map(attr, gid_inside, gid, 1), 0);
	ck_assert_int_eq(dropipc_spawn_attr_set_deny_setgroups(attr, 1), 0);
	ck_assert_int_eq(run_probe(attr, &pr), 0);
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
	dropipc_spawn_attr_free(attr);
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
	dropipc_spawn_attr *attr = attr_new("report");
	struct probe pr;

	ck_assert_int_eq(dropipc_spawn_attr_set_namespaces(attr, DROPIPC_NS_USER), 0);
	ck_assert_int_eq(dropipc_spawn_attr_add_uid_map(attr, 0, getuid(), 1), 0);
	ck_assert_int_eq(dropipc_spawn_attr_add_uid_map(attr, 0, getuid() + 1, 1), 0);
	ck_assert_int_eq(run_probe(attr, &pr), -EINVAL);
	ck_assert_msg(strncmp(dropipc_spawn_attr_errmsg(attr), "write /proc/", 12) == 0 &&
			      strstr(dropipc_spawn_attr_errmsg(attr), "/uid_map: Invalid argument"),
		      "%s", dropipc_spawn_attr_errmsg(attr));
	dropipc_spawn_attr_free(attr);
}
END_TEST

/* ---- capabilities ---------------------------------------------------------- */

/* In a user namespace as uid 1000, which the exec leaves no capability
 * but the ambient ones. */
static unsigned long long capeff(int ambient_cap)
{
	dropipc_spawn_attr *attr = attr_new("report");
	unsigned long long eff;
	struct probe pr;

	ck_assert_int_eq(dropipc_spawn_attr_set_namespaces(attr, DROPIPC_NS_USER), 0);
	ck_assert_int_eq(dropipc_spawn_attr_add_uid_map(attr, 1000, getuid(), 1), 0);
	ck_assert_int_eq(dropipc_spawn_attr_add_gid_map(attr, 1000, getgid(), 1), 0);
	ck_assert_int_eq(dropipc_spawn_attr_set_deny_setgroups(attr, 1), 0);
	if (ambient_cap >= 0)
		ck_assert_int_eq(dropipc_spawn_attr_add_ambient_cap(attr, ambient_cap), 0);
	ck_assert_int_eq(run_probe(attr, &pr), 0);
	assert_exited_0(&pr);
	ck_assert_str_eq(field(&pr, "uid"), "1000");
	eff = strtoull(field(&pr, "capeff"), NULL, 16);
	dropipc_spawn_attr_free(attr);
	return eff;
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
		dropipc_spawn_attr *attr;
		dropipc_parent *parent;
		pid_t pid = -1;

		close(pp[0]);
		if (dropipc_spawn_attr_new(&attr) == 0 &&
		    dropipc_spawn_attr_set_program(attr, SPAWN_PROBE) == 0 &&
		    dropipc_spawn_attr_set_argv(attr, (const char *[]){ SPAWN_PROBE, "sleep", NULL }) ==
			    0 &&
		    dropipc_spawn_attr_set_pdeathsig(attr, pdeathsig) == 0 &&
		    dropipc_spawn_attr_set_namespaces(attr, namespaces) == 0 &&
		    dropipc_spawn(attr, &parent, &pid, NULL) < 0)
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
	dropipc_spawn_attr *attr = attr_new("exit");
	pthread_t th[8];

	ck_assert_int_gt(count, 0);
	atomic_store(&stop_churn, 0);
	for (int i = 0; i < 8; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, churn, (void *)(uintptr_t)(i + 1)), 0);
	for (int i = 0; i < count; i++) {
		dropipc_parent *parent;
		siginfo_t si;
		int pidfd, r;
		pid_t pid;

		r = dropipc_spawn(attr, &parent, &pid, &pidfd);
		ck_assert_msg(r == 0, "spawn %d: %s", i, dropipc_spawn_attr_errmsg(attr));
		ck_assert_int_eq(waitid(P_PIDFD, (id_t)pidfd, &si, WEXITED), 0);
		ck_assert_msg(si.si_code == CLD_EXITED && si.si_status == 0, "spawn %d: code %d status %d",
			      i, si.si_code, si.si_status);
		close(pidfd);
		dropipc_parent_close(parent);
	}
	atomic_store(&stop_churn, 1);
	for (int i = 0; i < 8; i++)
		ck_assert_int_eq(pthread_join(th[i], NULL), 0);
	dropipc_spawn_attr_free(attr);
}
END_TEST

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
	Suite *s = suite_create("spawn");
	SRunner *sr;
	TCase *tc;
	int run, failed;

	tc = tcase(s, "basic", 30);
	tcase_add_test(tc, test_basic);
	tcase_add_test(tc, test_no_pidfd);
	tcase_add_test(tc, test_fds);
	tcase_add_test(tc, test_stdio);
	tc = tcase(s, "exec", 30);
	tcase_add_test(tc, test_exec_enoent);
	tcase_add_test(tc, test_exec_eacces);
	tcase_add_test(tc, test_bad_fd);
	tcase_add_test(tc, test_bad_attr);
	tc = tcase(s, "pdeath", 60);
	tcase_add_test(tc, test_pdeathsig);
	tcase_add_test(tc, test_no_pdeathsig);
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

	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	run = srunner_ntests_run(sr);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	/* A CK_RUN_CASE that matched nothing is a failure too. */
	return run > 0 && failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
