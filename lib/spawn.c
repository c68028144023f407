/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * dropipc_spawn(): starts the child as Go's exec.Cmd with SysProcAttr and
 * ExtraFiles does for Drop, with clone3(CLONE_PIDFD) and two pipes:
 *   sync  the child waits on it until the parent has written its id maps;
 *   err   close-on-exec: a step that fails in the child writes its errno
 *         there, and end-of-file tells the parent the exec succeeded.
 * Between clone and exec the child is a copy of one thread of a possibly
 * multithreaded parent, whose other threads may have held any lock: it
 * makes system calls and async-signal-safe calls only, on memory prepared
 * before the clone, and allocates nothing. It runs with every signal
 * blocked, and leaves the launcher's signal and capability state behind:
 * default dispositions, an empty mask, inheritable and ambient sets of
 * exactly the caps asked for (unless the caller keeps its own), as
 * posix_spawn()'s SETSIGDEF and SETSIGMASK and capsh --inh do.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef SYS_clone3
#define SYS_clone3 435
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif

/* The kernel's struct clone_args, version 0 (<linux/sched.h> clashes with <sched.h>). */
struct clone3_args {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
};

#define NS_ALL                                                                                  \
	(DROPIPC_NS_USER | DROPIPC_NS_MOUNT | DROPIPC_NS_PID | DROPIPC_NS_UTS | DROPIPC_NS_IPC | \
	 DROPIPC_NS_NET | DROPIPC_NS_CGROUP)
#define FLAGS_ALL                                                                     \
	(DROPIPC_SPAWN_DENY_SETGROUPS | DROPIPC_SPAWN_NEW_SESSION | DROPIPC_SPAWN_STDIO | \
	 DROPIPC_SPAWN_ID_MAP_HELPERS | DROPIPC_SPAWN_KEEP_SIGNALS | DROPIPC_SPAWN_KEEP_CAPS)

/* The first version of the options ends at pdeathsig, without padding: a
 * later version's fields begin right after it (as clone_args grows). */
#define OPTIONS_SIZE_VER0 (offsetof(dropipc_spawn_options, pdeathsig) + sizeof(int))
_Static_assert(sizeof(dropipc_spawn_options) == OPTIONS_SIZE_VER0,
	       "dropipc_spawn_options has trailing padding");
/* Past this a size is garbage, not a newer caller (the kernel's bound for
 * clone_args and open_how too). */
#define OPTIONS_SIZE_MAX 4096
/* Lines the kernel takes in a uid_map or gid_map (since Linux 4.15). */
#define MAP_LINES_MAX 340

/* ---- the child, between clone and exec ---------------------------------- */

/* The step of the child that failed, in its report on the err pipe. */
enum step {
	STEP_PDEATHSIG = 1,
	STEP_SETSID,
	STEP_FD,
	STEP_CAPS,
	STEP_AMBIENT,
	STEP_EXEC,
	STEP_AMBIENT_CLEAR,
};

struct report {
	int step, err, arg;
};

/* Everything the child reads, prepared by the parent before the clone. */
struct plan {
	const char *program;
	char *const *argv, *const *envp;
	int sync_r, sync_w, err_w;
	/* The fd for each of the child's fds 0..n_targets-1 (-1: leave it),
	 * and room for the child to move them out of the way. */
	const int *targets;
	int *moved;
	int n_targets;
	int pdeathsig, new_session, keep_signals, keep_caps;
	uint64_t caps;
	unsigned int nofile; /* for closing fds without close_range() */
	sigset_t mask;	     /* the caller's */
};

static _Noreturn void child_fail(int err_fd, int step, int err, int arg)
{
	struct report rep = { step, err, arg };

	while (write(err_fd, &rep, sizeof(rep)) < 0 && errno == EINTR)
		;
	_exit(127);
}

/* Closes fds from..to (to may be ~0U); without close_range(), up to RLIMIT_NOFILE. */
static void close_range_(const struct plan *p, unsigned int from, unsigned int to)
{
	if (from > to || syscall(SYS_close_range, from, to, 0) == 0)
		return;
	for (unsigned int fd = from; fd <= to && fd < p->nofile; fd++)
		close((int)fd);
}

/* sig to its default disposition with the raw system call: libc refuses
 * to touch the signals it keeps for itself (32 and 33 with glibc), which a
 * launcher may have inherited ignored. The kernel's struct sigaction,
 * zeroed, is SIG_DFL (0) with no flag and an empty mask, whatever the
 * architecture's order of its fields. */
static void default_signal(int sig)
{
	uint64_t ksa[8] = { 0 };

	syscall(SYS_rt_sigaction, sig, ksa, NULL, (size_t)(NSIG / 8));
}

/* Every signal to its default disposition; with keep, only those with a
 * handler (the caller's handlers must not run here, and the exec would
 * reset them anyway), and the ignored ones stay ignored. */
static void reset_signals(int keep)
{
	struct sigaction sa;

	for (int sig = 1; sig < NSIG; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		/* With keep, libc's own signals fail sigaction(): their
		 * handlers, if any, go with the exec. */
		if (!keep || (sigaction(sig, NULL, &sa) == 0 && sa.sa_handler != SIG_IGN &&
			      sa.sa_handler != SIG_DFL))
			default_signal(sig);
	}
}

/* The inheritable set: caps, or with keep the caller's and caps. The
 * ambient set: the same (a cap must be inheritable to be ambient). */
static void set_caps(const struct plan *p, int err_fd)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	/* Zeroed for valgrind, whose capget() marks only data[0] written. */
	struct __user_cap_data_struct data[2] = { { 0 } };
	uint64_t inh;

	if (p->keep_caps && !p->caps)
		return;
	if (syscall(SYS_capget, &hdr, data) < 0)
		child_fail(err_fd, STEP_CAPS, errno, 0);
	inh = (p->keep_caps ? data[0].inheritable | (uint64_t)data[1].inheritable << 32 : 0) | p->caps;
	if (inh != (data[0].inheritable | (uint64_t)data[1].inheritable << 32)) {
		data[0].inheritable = (uint32_t)inh;
		data[1].inheritable = (uint32_t)(inh >> 32);
		if (syscall(SYS_capset, &hdr, data) < 0)
			child_fail(err_fd, STEP_CAPS, errno, 0);
	}
	/* EINVAL: a kernel without ambient capabilities, so none to clear. */
	if (!p->keep_caps && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 &&
	    (errno != EINVAL || p->caps))
		child_fail(err_fd, STEP_AMBIENT_CLEAR, errno, 0);
	for (int c = 0; c < 64; c++)
		if ((p->caps & (UINT64_C(1) << c)) &&
		    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) < 0)
			child_fail(err_fd, STEP_AMBIENT, errno, c);
}

static _Noreturn void child_run(const struct plan *p)
{
	int err_fd = p->err_w, hi = p->n_targets;
	struct pollfd pfd = { .fd = p->sync_r, .events = POLLIN };
	sigset_t none;
	char go;
	ssize_t n;

	close(p->sync_w);
	/* Every signal stays blocked until the exec. */
	reset_signals(p->keep_signals);
	if (p->pdeathsig && prctl(PR_SET_PDEATHSIG, p->pdeathsig, 0, 0, 0) < 0)
		child_fail(err_fd, STEP_PDEATHSIG, errno, p->pdeathsig);
	do
		n = read(p->sync_r, &go, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1)
		_exit(127); /* the parent gave up, or died: nobody to report to */
	/* A parent that died before the prctl sent no signal. It holds sync_w
	 * until the exec, so its death shows as a hang-up (getppid() would say
	 * 0 in a new PID namespace). */
	if (p->pdeathsig && poll(&pfd, 1, 0) > 0 && (pfd.revents & POLLHUP))
		_exit(127);
	if (p->new_session && setsid() < 0)
		child_fail(err_fd, STEP_SETSID, errno, 0);

	/* Every source goes above the targets first, so that placing one
	 * cannot clobber another. */
	for (int t = 0; t < p->n_targets; t++) {
		p->moved[t] = -1;
		if (p->targets[t] >= 0 && (p->moved[t] = fcntl(p->targets[t], F_DUPFD_CLOEXEC, hi)) < 0)
			child_fail(err_fd, STEP_FD, errno, p->targets[t]);
	}
	if (err_fd < hi && (err_fd = fcntl(err_fd, F_DUPFD_CLOEXEC, hi)) < 0)
		child_fail(p->err_w, STEP_FD, errno, p->err_w);
	for (int t = 0; t < p->n_targets; t++)
		if (p->moved[t] >= 0 && dup2(p->moved[t], t) < 0)
			child_fail(err_fd, STEP_FD, errno, p->targets[t]);
	close_range_(p, (unsigned int)hi, (unsigned int)err_fd - 1);
	close_range_(p, (unsigned int)err_fd + 1, ~0U);

	set_caps(p, err_fd);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, p->keep_signals ? &p->mask : &none, NULL);
	execve(p->program, p->argv, p->envp);
	child_fail(err_fd, STEP_EXEC, errno, 0);
}

/* ---- the parent --------------------------------------------------------- */

/* One call's options and where its message goes. */
struct call {
	const dropipc_spawn_options *o;
	char *errbuf;
	size_t errlen;
	int failed; /* a message is written */
};

static int fail(struct call *c, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(struct call *c, int code, const char *fmt, ...)
{
	va_list ap;

	c->failed = 1;
	if (!c->errbuf || !c->errlen)
		return code;
	va_start(ap, fmt);
	vsnprintf(c->errbuf, c->errlen, fmt, ap);
	va_end(ap);
	return code;
}

/* clone3(), or clone() where the kernel (or a seccomp filter) lacks it. */
static pid_t clone_pidfd(uint64_t flags, int *pidfd)
{
	struct clone3_args a = {
		.flags = flags | CLONE_PIDFD,
		.pidfd = (uint64_t)(uintptr_t)pidfd,
		.exit_signal = SIGCHLD,
	};
	long r = syscall(SYS_clone3, &a, sizeof(a));

	if (r >= 0 || errno != ENOSYS)
		return (pid_t)r;
	/* With no stack, child tid nor tls, only s390 orders the rest differently. */
#if defined(__s390__) || defined(__s390x__)
	return (pid_t)syscall(SYS_clone, 0, flags | CLONE_PIDFD | SIGCHLD, pidfd, 0, 0);
#else
	return (pid_t)syscall(SYS_clone, flags | CLONE_PIDFD | SIGCHLD, 0, pidfd, 0, 0);
#endif
}

static int write_maps(struct call *c, pid_t pid)
{
	int r = dropipc__write_id_maps(pid, c->o, c->errbuf, c->errbuf ? c->errlen : 0);

	c->failed = r < 0;
	return r;
}

/* The message for the child's report of a failed step. */
static int child_failed(struct call *c, const struct report *rep)
{
	const char *e = strerror(rep->err);
	int code = rep->err > 0 && rep->err < 4000 ? -rep->err : -EIO;

	switch (rep->step) {
	case STEP_EXEC:
		return fail(c, code, "exec %s: %s", c->o->path, e);
	case STEP_PDEATHSIG:
		return fail(c, code, "child: set parent-death signal %d: %s", rep->arg, e);
	case STEP_SETSID:
		return fail(c, code, "child: setsid: %s", e);
	case STEP_FD:
		return fail(c, code, "child: pass fd %d: %s", rep->arg, e);
	case STEP_CAPS:
		return fail(c, code, "child: capset: %s", e);
	case STEP_AMBIENT:
		return fail(c, code, "child: raise ambient capability %d: %s", rep->arg, e);
	case STEP_AMBIENT_CLEAR:
		return fail(c, code, "child: clear the ambient capabilities: %s", e);
	}
	return fail(c, -EIO, "child: unknown step %d failed: %s", rep->step, e);
}

/*
 * Reads the child's report: *n is 0 at end-of-file (the exec succeeded).
 * Also watches the pidfd: a process that another thread forked meanwhile
 * may hold the pipe open, and a child that exits without a report (after
 * its exec, or killed) must not leave this waiting for that process.
 */
static int wait_report(int err_fd, int pidfd, struct report *rep, ssize_t *n)
{
	struct pollfd pf[2] = { { .fd = err_fd, .events = POLLIN }, { .fd = pidfd, .events = POLLIN } };

	for (;;) {
		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (pf[0].revents) {
			do
				*n = read(err_fd, rep, sizeof(*rep));
			while (*n < 0 && errno == EINTR);
			return 0;
		}
		if (pf[1].revents) {
			*n = 0;
			return 0;
		}
	}
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* The options' version: a larger one (a newer caller) must leave every
 * byte past this version's fields zero, as clone3() demands of clone_args. */
static int check_size(struct call *c, const dropipc_spawn_options *o)
{
	const unsigned char *b = (const unsigned char *)o;

	if (o->size < OPTIONS_SIZE_VER0)
		return fail(c, -EINVAL, "spawn: options size %zu is smaller than the first version's %zu",
			    o->size, OPTIONS_SIZE_VER0);
	if (o->size > OPTIONS_SIZE_MAX)
		return fail(c, -EINVAL, "spawn: options size %zu is past %d", o->size, OPTIONS_SIZE_MAX);
	for (size_t i = sizeof(*o); i < o->size; i++)
		if (b[i])
			return fail(c, -EINVAL,
				    "spawn: options byte %zu is not zero, and this version knows %zu bytes",
				    i, sizeof(*o));
	return 0;
}

static int check_map(struct call *c, const char *name, const dropipc_id_map *m, size_t n)
{
	if (n && !m)
		return fail(c, -EINVAL, "spawn: %s is NULL with %zu lines", name, n);
	if (n > MAP_LINES_MAX)
		return fail(c, -EINVAL, "spawn: %s has %zu lines, the kernel takes %d", name, n,
			    MAP_LINES_MAX);
	for (size_t i = 0; i < n; i++)
		if (m[i].count == 0)
			return fail(c, -EINVAL, "spawn: %s[%zu]: count 0", name, i);
	return 0;
}

/* Everything that can be refused before the clone. */
static int check_options(struct call *c)
{
	const dropipc_spawn_options *o = c->o;
	int r = check_size(c, o);

	if (r < 0)
		return r;
	if (o->flags & ~FLAGS_ALL)
		return fail(c, -EINVAL, "spawn: unknown flags 0x%x", o->flags & ~FLAGS_ALL);
	if (o->namespaces & ~NS_ALL)
		return fail(c, -EINVAL, "spawn: unknown namespaces 0x%x", o->namespaces & ~NS_ALL);
	if (!o->path || !*o->path)
		return fail(c, -EINVAL, "spawn: no path");
	if ((r = check_map(c, "uid_map", o->uid_map, o->n_uid_map)) < 0 ||
	    (r = check_map(c, "gid_map", o->gid_map, o->n_gid_map)) < 0)
		return r;
	if ((o->n_uid_map || o->n_gid_map || (o->flags & DROPIPC_SPAWN_DENY_SETGROUPS)) &&
	    !(o->namespaces & DROPIPC_NS_USER))
		return fail(c, -EINVAL, "spawn: id maps and setgroups need DROPIPC_NS_USER");
	if (o->n_fds && !o->fds)
		return fail(c, -EINVAL, "spawn: fds is NULL with %zu fds", o->n_fds);
	if (o->n_fds > (size_t)INT32_MAX / 2)
		return fail(c, -EINVAL, "spawn: %zu fds to pass", o->n_fds);
	for (size_t i = 0; i < o->n_fds; i++)
		if (o->fds[i] < 0)
			return fail(c, -EBADF, "spawn: fds[%zu] is %d", i, o->fds[i]);
	for (int i = 0; (o->flags & DROPIPC_SPAWN_STDIO) && i < 3; i++)
		if (o->stdio[i] < -1)
			return fail(c, -EBADF, "spawn: stdio[%d] is %d", i, o->stdio[i]);
	if (o->pdeathsig < 0 || o->pdeathsig >= NSIG)
		return fail(c, -EINVAL, "spawn: pdeathsig %d is no signal", o->pdeathsig);
	return 0;
}

static uint64_t clone_flags(unsigned int namespaces)
{
	static const struct {
		unsigned int ns;
		uint64_t flag;
	} ns_flags[] = {
		{ DROPIPC_NS_USER, CLONE_NEWUSER }, { DROPIPC_NS_MOUNT, CLONE_NEWNS },
		{ DROPIPC_NS_PID, CLONE_NEWPID },   { DROPIPC_NS_UTS, CLONE_NEWUTS },
		{ DROPIPC_NS_IPC, CLONE_NEWIPC },   { DROPIPC_NS_NET, CLONE_NEWNET },
		{ DROPIPC_NS_CGROUP, CLONE_NEWCGROUP },
	};
	uint64_t flags = 0;

	for (size_t i = 0; i < sizeof(ns_flags) / sizeof(ns_flags[0]); i++)
		if (namespaces & ns_flags[i].ns)
			flags |= ns_flags[i].flag;
	return flags;
}

/* The child's fds 0..n-1, in *targets (and room to move them, after). */
static int *make_targets(const dropipc_spawn_options *o, int child_fd, int *n)
{
	int *t;

	*n = DROPIPC_CHILD_FD + 1 + (int)o->n_fds;
	t = malloc(2 * (size_t)*n * sizeof(*t));
	if (!t)
		return NULL;
	for (int i = 0; i < 3; i++)
		t[i] = (o->flags & DROPIPC_SPAWN_STDIO) ? o->stdio[i] : -1;
	t[DROPIPC_CHILD_FD] = child_fd;
	for (size_t i = 0; i < o->n_fds; i++)
		t[DROPIPC_CHILD_FD + 1 + i] = o->fds[i];
	return t;
}

int dropipc_spawn(const dropipc_spawn_options *opts, dropipc_parent **parent, pid_t *pid,
		  int *pidfd, char *errbuf, size_t errlen)
{
	struct call c = { opts, errbuf, errlen, 0 };
	const char *default_argv[2] = { NULL, NULL };
	struct plan pl = { 0 };
	struct report rep;
	dropipc_parent *p = NULL;
	int *targets = NULL, child_fd = -1, sync_p[2] = { -1, -1 }, err_p[2] = { -1, -1 };
	int pfd = -1, r, e;
	pid_t cpid = -1;
	struct rlimit rl;
	sigset_t all;
	ssize_t n;

	if (errbuf && errlen)
		errbuf[0] = '\0';
	if (parent)
		*parent = NULL;
	if (pid)
		*pid = -1;
	if (pidfd)
		*pidfd = -1;
	if (!opts || !parent || !pid)
		return fail(&c, -EINVAL, "spawn: %s is NULL",
			    !opts ? "opts" : !parent ? "parent" : "pid");
	r = check_options(&c);
	if (r < 0)
		return r;

	r = dropipc_socketpair(&p, &child_fd);
	if (r < 0) {
		fail(&c, r, "spawn: socketpair: %s", dropipc_strerror(r));
		goto out;
	}
	r = -ENOMEM;
	targets = make_targets(opts, child_fd, &pl.n_targets);
	if (!targets)
		goto out;
	if (pipe2(sync_p, O_CLOEXEC) < 0 || pipe2(err_p, O_CLOEXEC) < 0) {
		r = fail(&c, -errno, "spawn: pipe: %s", strerror(errno));
		goto out;
	}
	default_argv[0] = opts->path;
	pl.targets = targets;
	pl.moved = targets + pl.n_targets;
	pl.program = opts->path;
	pl.argv = (char *const *)(opts->argv ? opts->argv : default_argv);
	pl.envp = opts->envp ? (char *const *)opts->envp : environ;
	pl.sync_r = sync_p[0];
	pl.sync_w = sync_p[1];
	pl.err_w = err_p[1];
	pl.pdeathsig = opts->pdeathsig;
	pl.new_session = !!(opts->flags & DROPIPC_SPAWN_NEW_SESSION);
	pl.keep_signals = !!(opts->flags & DROPIPC_SPAWN_KEEP_SIGNALS);
	pl.keep_caps = !!(opts->flags & DROPIPC_SPAWN_KEEP_CAPS);
	pl.caps = opts->caps;
	pl.nofile = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < INT32_MAX
			    ? (unsigned int)rl.rlim_cur
			    : 1u << 20;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &pl.mask);
	cpid = clone_pidfd(clone_flags(opts->namespaces), &pfd);
	if (cpid == 0)
		child_run(&pl);
	e = errno;
	pthread_sigmask(SIG_SETMASK, &pl.mask, NULL);
	if (cpid < 0) {
		r = fail(&c, -e, "spawn: clone: %s", strerror(e));
		goto out;
	}
	/* sync_p[0] stays open: a child already gone must not make the write
	 * below raise SIGPIPE. */
	close_fd(&child_fd);
	close_fd(&err_p[1]);

	r = write_maps(&c, cpid);
	if (r < 0)
		goto out;
	do
		n = write(sync_p[1], "g", 1);
	while (n < 0 && errno == EINTR);
	if (n != 1) {
		r = fail(&c, n < 0 ? -errno : -EIO, "spawn: start the child: %s",
			 n < 0 ? strerror(errno) : "short write");
		goto out;
	}
	r = wait_report(err_p[0], pfd, &rep, &n);
	if (r < 0)
		fail(&c, r, "spawn: wait for the exec: %s", strerror(-r));
	else if (n < 0)
		r = fail(&c, -errno, "spawn: read the child's report: %s", strerror(errno));
	else if (n == sizeof(rep))
		r = child_failed(&c, &rep);
	else if (n != 0)
		r = fail(&c, -EIO, "spawn: the child's report is %zd bytes, not %zu", n, sizeof(rep));
	if (r < 0)
		goto out;
	/* End-of-file: the exec succeeded. */
	r = dropipc_parent_set_pidfd(p, pfd);
	if (r < 0) {
		fail(&c, r, "spawn: keep the pidfd: %s", strerror(-r));
		goto out;
	}
	*parent = p;
	p = NULL;
	*pid = cpid;
	if (pidfd) {
		*pidfd = pfd;
		pfd = -1;
	}
out:
	if (r < 0 && cpid > 0) {
		/* Not reaped yet, so the pid is still the child's. */
		kill(cpid, SIGKILL);
		while (waitpid(cpid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	close_fd(&pfd);
	close_fd(&child_fd);
	close_fd(&sync_p[0]);
	close_fd(&sync_p[1]);
	close_fd(&err_p[0]);
	close_fd(&err_p[1]);
	dropipc_parent_free(p);
	free(targets);
	if (r < 0 && !c.failed)
		fail(&c, r, "spawn: %s", strerror(-r));
	return r;
}
