/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dropipc_spawn(): starts the child as Go's exec.Cmd with SysProcAttr and
 * ExtraFiles does for Drop, with clone3(CLONE_PIDFD) and two pipes:
 *   sync  the child waits on it until the parent has written its id maps;
 *   err   close-on-exec: a step that fails in the child writes its errno
 *         there, and end-of-file tells the parent the exec succeeded.
 * Between clone and exec the child is a copy of one thread of a possibly
 * multithreaded parent, whose other threads may have held any lock: it
 * makes system calls and async-signal-safe calls only, on memory prepared
 * before the clone, and allocates nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
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

struct idmap {
	uint32_t inside, outside, count;
};

struct dropipc_spawn_attr {
	char *program;
	char **argv; /* NULL: { program, NULL } */
	char **envp; /* NULL: the caller's environ */
	unsigned int namespaces;
	struct idmap *maps[2]; /* uid, gid */
	size_t n_maps[2];
	int deny_setgroups;
	uint64_t ambient; /* one bit per capability */
	int *fds;
	size_t n_fds;
	int stdio[3];
	int pdeathsig;
	int new_session;
	char errmsg[DROPIPC_ERRMSG_SIZE];
};

int dropipc_spawn_attr_new(dropipc_spawn_attr **attr)
{
	dropipc_spawn_attr *a = calloc(1, sizeof(*a));

	*attr = a;
	if (!a)
		return -ENOMEM;
	a->stdio[0] = a->stdio[1] = a->stdio[2] = -1;
	return 0;
}

static void strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

/* A deep copy of a NULL-terminated array into *out (NULL for NULL). */
static int strv_dup(const char *const *v, char ***out)
{
	size_t n = 0;
	char **c;

	*out = NULL;
	if (!v)
		return 0;
	while (v[n])
		n++;
	c = calloc(n + 1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		c[i] = strdup(v[i]);
		if (!c[i]) {
			strv_free(c);
			return -ENOMEM;
		}
	}
	*out = c;
	return 0;
}

void dropipc_spawn_attr_free(dropipc_spawn_attr *attr)
{
	if (!attr)
		return;
	free(attr->program);
	strv_free(attr->argv);
	strv_free(attr->envp);
	free(attr->maps[0]);
	free(attr->maps[1]);
	free(attr->fds);
	free(attr);
}

int dropipc_spawn_attr_set_program(dropipc_spawn_attr *attr, const char *path)
{
	char *p;

	if (!path || !*path)
		return -EINVAL;
	p = strdup(path);
	if (!p)
		return -ENOMEM;
	free(attr->program);
	attr->program = p;
	return 0;
}

static int set_strv(char ***field, const char *const *v)
{
	char **c;
	int r = strv_dup(v, &c);

	if (r < 0)
		return r;
	strv_free(*field);
	*field = c;
	return 0;
}

int dropipc_spawn_attr_set_argv(dropipc_spawn_attr *attr, const char *const *argv)
{
	return set_strv(&attr->argv, argv);
}

int dropipc_spawn_attr_set_envp(dropipc_spawn_attr *attr, const char *const *envp)
{
	return set_strv(&attr->envp, envp);
}

#define NS_ALL                                                                                  \
	(DROPIPC_NS_USER | DROPIPC_NS_MOUNT | DROPIPC_NS_PID | DROPIPC_NS_UTS | DROPIPC_NS_IPC | \
	 DROPIPC_NS_NET | DROPIPC_NS_CGROUP)

int dropipc_spawn_attr_set_namespaces(dropipc_spawn_attr *attr, unsigned int namespaces)
{
	if (namespaces & ~NS_ALL)
		return -EINVAL;
	attr->namespaces = namespaces;
	return 0;
}

static int add_map(dropipc_spawn_attr *attr, int which, uint32_t inside, uint32_t outside,
		   uint32_t count)
{
	struct idmap *m;

	if (count == 0)
		return -EINVAL;
	m = realloc(attr->maps[which], (attr->n_maps[which] + 1) * sizeof(*m));
	if (!m)
		return -ENOMEM;
	m[attr->n_maps[which]++] = (struct idmap){ inside, outside, count };
	attr->maps[which] = m;
	return 0;
}

int dropipc_spawn_attr_add_uid_map(dropipc_spawn_attr *attr, uint32_t inside, uint32_t outside,
				   uint32_t count)
{
	return add_map(attr, 0, inside, outside, count);
}

int dropipc_spawn_attr_add_gid_map(dropipc_spawn_attr *attr, uint32_t inside, uint32_t outside,
				   uint32_t count)
{
	return add_map(attr, 1, inside, outside, count);
}

int dropipc_spawn_attr_set_deny_setgroups(dropipc_spawn_attr *attr, int deny)
{
	attr->deny_setgroups = !!deny;
	return 0;
}

int dropipc_spawn_attr_add_ambient_cap(dropipc_spawn_attr *attr, int cap)
{
	if (cap < 0 || cap > 63)
		return -EINVAL;
	attr->ambient |= UINT64_C(1) << cap;
	return 0;
}

int dropipc_spawn_attr_add_fd(dropipc_spawn_attr *attr, int fd)
{
	int *f;

	if (fd < 0)
		return -EBADF;
	f = realloc(attr->fds, (attr->n_fds + 1) * sizeof(*f));
	if (!f)
		return -ENOMEM;
	f[attr->n_fds++] = fd;
	attr->fds = f;
	return 0;
}

int dropipc_spawn_attr_set_stdio(dropipc_spawn_attr *attr, int in, int out, int err)
{
	if (in < -1 || out < -1 || err < -1)
		return -EBADF;
	attr->stdio[0] = in;
	attr->stdio[1] = out;
	attr->stdio[2] = err;
	return 0;
}

int dropipc_spawn_attr_set_pdeathsig(dropipc_spawn_attr *attr, int sig)
{
	if (sig < 0 || sig >= NSIG)
		return -EINVAL;
	attr->pdeathsig = sig;
	return 0;
}

int dropipc_spawn_attr_set_new_session(dropipc_spawn_attr *attr, int on)
{
	attr->new_session = !!on;
	return 0;
}

const char *dropipc_spawn_attr_errmsg(const dropipc_spawn_attr *attr)
{
	return attr->errmsg;
}

/* ---- the child, between clone and exec ---------------------------------- */

/* The step of the child that failed, in its report on the err pipe. */
enum step { STEP_PDEATHSIG = 1, STEP_SETSID, STEP_FD, STEP_CAPS, STEP_AMBIENT, STEP_EXEC };

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
	int pdeathsig, new_session;
	uint64_t ambient;
	unsigned int nofile; /* for closing fds without close_range() */
	sigset_t mask;
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

static _Noreturn void child_run(const struct plan *p)
{
	int err_fd = p->err_w, hi = p->n_targets;
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	struct pollfd pfd = { .fd = p->sync_r, .events = POLLIN };
	char go;
	ssize_t n;

	close(p->sync_w);
	/* The parent's handlers must not run here: all signals are blocked
	 * until the exec, and the exec'd program starts with the defaults. */
	for (int sig = 1; sig < NSIG; sig++) {
		struct sigaction sa;

		if (sig != SIGKILL && sig != SIGSTOP && sigaction(sig, NULL, &sa) == 0 &&
		    sa.sa_handler != SIG_IGN && sa.sa_handler != SIG_DFL)
			sigaction(sig, &dfl, NULL);
	}
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

	if (p->ambient) {
		struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
		struct __user_cap_data_struct data[2];

		if (syscall(SYS_capget, &hdr, data) < 0)
			child_fail(err_fd, STEP_CAPS, errno, 0);
		for (int c = 0; c < 64; c++)
			if (p->ambient & (UINT64_C(1) << c))
				data[c / 32].inheritable |= UINT32_C(1) << (c % 32);
		if (syscall(SYS_capset, &hdr, data) < 0)
			child_fail(err_fd, STEP_CAPS, errno, 0);
		for (int c = 0; c < 64; c++)
			if ((p->ambient & (UINT64_C(1) << c)) &&
			    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) < 0)
				child_fail(err_fd, STEP_AMBIENT, errno, c);
	}
	sigprocmask(SIG_SETMASK, &p->mask, NULL);
	execve(p->program, p->argv, p->envp);
	child_fail(err_fd, STEP_EXEC, errno, 0);
}

/* ---- the parent --------------------------------------------------------- */

static int fail(dropipc_spawn_attr *attr, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(dropipc_spawn_attr *attr, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(attr->errmsg, sizeof(attr->errmsg), fmt, ap);
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

/* "inside outside count\n" per line, as /proc/PID/uid_map takes them. */
static char *map_text(const struct idmap *m, size_t n)
{
	char *s = malloc(n * 33 + 1), *p = s;

	if (!s)
		return NULL;
	*p = '\0';
	for (size_t i = 0; i < n; i++)
		p += sprintf(p, "%u %u %u\n", m[i].inside, m[i].outside, m[i].count);
	return s;
}

/* Writes text to /proc/pid/file in one write(), as the kernel requires. */
static int write_proc(dropipc_spawn_attr *attr, pid_t pid, const char *file, const char *text)
{
	char path[64];
	size_t len = strlen(text);
	ssize_t n;
	int fd, r;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	do
		fd = open(path, O_WRONLY | O_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	if (fd < 0)
		return fail(attr, -errno, "open %s: %s", path, strerror(errno));
	do
		n = write(fd, text, len);
	while (n < 0 && errno == EINTR);
	r = n < 0 ? -errno : 0;
	close(fd);
	if (r < 0)
		return fail(attr, r, "write %s: %s", path, strerror(-r));
	if ((size_t)n != len)
		return fail(attr, -EIO, "write %s: wrote %zd of %zu bytes", path, n, len);
	return 0;
}

static int write_maps(dropipc_spawn_attr *attr, pid_t pid, char *const text[2])
{
	int r = 0;

	if (attr->deny_setgroups)
		r = write_proc(attr, pid, "setgroups", "deny");
	if (r == 0 && text[0])
		r = write_proc(attr, pid, "uid_map", text[0]);
	if (r == 0 && text[1])
		r = write_proc(attr, pid, "gid_map", text[1]);
	return r;
}

/* The message for the child's report of a failed step. */
static int child_failed(dropipc_spawn_attr *attr, const struct report *rep)
{
	const char *e = strerror(rep->err);
	int code = rep->err > 0 && rep->err < 4000 ? -rep->err : -EIO;

	switch (rep->step) {
	case STEP_EXEC:
		return fail(attr, code, "exec %s: %s", attr->program, e);
	case STEP_PDEATHSIG:
		return fail(attr, code, "child: set parent-death signal %d: %s", rep->arg, e);
	case STEP_SETSID:
		return fail(attr, code, "child: setsid: %s", e);
	case STEP_FD:
		return fail(attr, code, "child: pass fd %d: %s", rep->arg, e);
	case STEP_CAPS:
		return fail(attr, code, "child: capset: %s", e);
	case STEP_AMBIENT:
		return fail(attr, code, "child: raise ambient capability %d: %s", rep->arg, e);
	}
	return fail(attr, -EIO, "child: unknown step %d failed: %s", rep->step, e);
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

int dropipc_spawn(dropipc_spawn_attr *attr, dropipc_parent **parent, pid_t *pid, int *pidfd)
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
	const char *default_argv[] = { attr->program, NULL };
	struct plan pl = { 0 };
	struct report rep;
	dropipc_parent *p = NULL;
	char *maps[2] = { NULL, NULL };
	int *targets = NULL, child_fd = -1, sync_p[2] = { -1, -1 }, err_p[2] = { -1, -1 };
	int pfd = -1, r, e;
	uint64_t flags = 0;
	pid_t cpid = -1;
	struct rlimit rl;
	sigset_t all;
	ssize_t n;

	*parent = NULL;
	*pid = -1;
	if (pidfd)
		*pidfd = -1;
	attr->errmsg[0] = '\0';
	if (!attr->program)
		return fail(attr, -EINVAL, "spawn: no program set");
	if ((attr->n_maps[0] || attr->n_maps[1] || attr->deny_setgroups) &&
	    !(attr->namespaces & DROPIPC_NS_USER))
		return fail(attr, -EINVAL, "spawn: id maps and setgroups need DROPIPC_NS_USER");
	if (attr->n_fds > (size_t)INT32_MAX / 2)
		return fail(attr, -EINVAL, "spawn: %zu fds to pass", attr->n_fds);
	for (size_t i = 0; i < sizeof(ns_flags) / sizeof(ns_flags[0]); i++)
		if (attr->namespaces & ns_flags[i].ns)
			flags |= ns_flags[i].flag;

	r = -ENOMEM;
	for (int i = 0; i < 2; i++)
		if (attr->n_maps[i] && !(maps[i] = map_text(attr->maps[i], attr->n_maps[i])))
			goto out;
	pl.n_targets = DROPIPC_CHILD_FD + 1 + (int)attr->n_fds;
	targets = malloc(2 * (size_t)pl.n_targets * sizeof(*targets));
	if (!targets)
		goto out;
	r = dropipc_socketpair(&p, &child_fd);
	if (r < 0) {
		fail(attr, r, "spawn: socketpair: %s", dropipc_strerror(r));
		goto out;
	}
	if (pipe2(sync_p, O_CLOEXEC) < 0 || pipe2(err_p, O_CLOEXEC) < 0) {
		r = fail(attr, -errno, "spawn: pipe: %s", strerror(errno));
		goto out;
	}
	for (int i = 0; i < 3; i++)
		targets[i] = attr->stdio[i];
	targets[DROPIPC_CHILD_FD] = child_fd;
	for (size_t i = 0; i < attr->n_fds; i++)
		targets[DROPIPC_CHILD_FD + 1 + i] = attr->fds[i];
	pl.targets = targets;
	pl.moved = targets + pl.n_targets;
	pl.program = attr->program;
	pl.argv = attr->argv ? attr->argv : (char *const *)default_argv;
	pl.envp = attr->envp ? attr->envp : environ;
	pl.sync_r = sync_p[0];
	pl.sync_w = sync_p[1];
	pl.err_w = err_p[1];
	pl.pdeathsig = attr->pdeathsig;
	pl.new_session = attr->new_session;
	pl.ambient = attr->ambient;
	pl.nofile = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < INT32_MAX
			    ? (unsigned int)rl.rlim_cur
			    : 1u << 20;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &pl.mask);
	cpid = clone_pidfd(flags, &pfd);
	if (cpid == 0)
		child_run(&pl);
	e = errno;
	pthread_sigmask(SIG_SETMASK, &pl.mask, NULL);
	if (cpid < 0) {
		r = fail(attr, -e, "spawn: clone: %s", strerror(e));
		goto out;
	}
	/* sync_p[0] stays open: a child already gone must not make the write
	 * below raise SIGPIPE. */
	close_fd(&child_fd);
	close_fd(&err_p[1]);

	r = write_maps(attr, cpid, maps);
	if (r < 0)
		goto out;
	do
		n = write(sync_p[1], "g", 1);
	while (n < 0 && errno == EINTR);
	if (n != 1) {
		r = fail(attr, n < 0 ? -errno : -EIO, "spawn: start the child: %s",
			 n < 0 ? strerror(errno) : "short write");
		goto out;
	}
	r = wait_report(err_p[0], pfd, &rep, &n);
	if (r < 0)
		fail(attr, r, "spawn: wait for the exec: %s", strerror(-r));
	else if (n < 0)
		r = fail(attr, -errno, "spawn: read the child's report: %s", strerror(errno));
	else if (n == sizeof(rep))
		r = child_failed(attr, &rep);
	else if (n != 0)
		r = fail(attr, -EIO, "spawn: the child's report is %zd bytes, not %zu", n, sizeof(rep));
	if (r < 0)
		goto out;
	/* End-of-file: the exec succeeded. */
	r = dropipc_parent_set_pidfd(p, pfd);
	if (r < 0) {
		fail(attr, r, "spawn: keep the pidfd: %s", strerror(-r));
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
	free(maps[0]);
	free(maps[1]);
	if (r < 0 && !attr->errmsg[0])
		fail(attr, r, "spawn: %s", strerror(-r));
	return r;
}
