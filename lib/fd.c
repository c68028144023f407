/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * fds from the peer: looking at them and closing them without letting the
 * peer block this process.
 *
 * The fd's type comes from statx(AT_STATX_DONT_SYNC), which answers from
 * the inode the kernel holds and never asks a FUSE or network file system.
 *
 * A close can wait on whatever is behind the fd, without limit and in
 * state D: a FUSE file's close sends FLUSH and waits for the server; the
 * last close of a pipe takes the pipe's mutex, which splice() holds for as
 * long as its source has no data; a lingering TCP socket waits for its
 * queue; a pty's release takes the tty's locks; a Unix socket's last close
 * releases the fds queued in it, with all of the above; and the last close
 * of ANY file registered in an epoll instance takes that instance's mutex
 * (eventpoll_release_file()), which epoll_ctl() and epoll_wait() hold while
 * they poll a FUSE file, that is, while its server wants. So a file is
 * closed here, in the caller's thread, only when it is on an allow-list of
 * files whose whole close path, read in the kernel, takes no lock and calls
 * no server a peer can hold (see close_is_quick()). Every other fd goes to
 * the end's close policy: by default, one helper process.
 *
 * The helper process shares this process's fd table (clone(CLONE_FILES),
 * without CLONE_VM, CLONE_FS, CLONE_SIGHAND or CLONE_THREAD): its close()
 * removes the fd from the table of both, and any wait happens in it. Being
 * another process, not a thread, it leaves the launcher single-threaded
 * (unshare(CLONE_NEWUSER) and setns() into a user namespace require that)
 * and does not keep the launcher's process from exiting. There is at most
 * one, and only while a close is pending: fds that arrive while it is busy
 * wait in their end's queue (bounded, see DROPIPC__MAX_PARKED) for the next
 * one. It exits without a signal to its parent (exit signal 0) and is
 * reaped through its pidfd with __WALL: the caller's SIGCHLD handler and
 * waitpid(-1, ...) never see it (only a wait with __WALL or __WCLONE could).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

#include "internal.h"

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#ifndef F_GET_SEALS
#define F_GET_SEALS 1034
#endif

/* The kernel's struct statx up to stx_mnt_id (glibc before 2.38 does not
 * name it), padded to the kernel's size. */
struct kstatx {
	uint32_t mask, blksize;
	uint64_t attributes;
	uint32_t nlink, uid, gid;
	uint16_t mode, pad1;
	uint64_t ino, size, blocks, attributes_mask;
	struct { int64_t sec; uint32_t nsec; int32_t pad; } atime, btime, ctime, mtime;
	uint32_t rdev_major, rdev_minor, dev_major, dev_minor;
	uint64_t mnt_id;
	uint64_t spare[13];
};
#define KSTATX_TYPE 0x1u
#define KSTATX_INO 0x100u
#define KSTATX_MNT_ID 0x1000u

static int kstatx(int fd, unsigned int mask, struct kstatx *stx)
{
	if (syscall(SYS_statx, fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, mask, stx) < 0)
		return -errno;
	return 0;
}

int dropipc__fd_type(int fd, unsigned int *mode, unsigned int *rdev_major,
		     unsigned int *rdev_minor)
{
	struct kstatx stx;
	int r = kstatx(fd, KSTATX_TYPE, &stx);

	if (r < 0)
		return r;
	*mode = stx.mode & S_IFMT;
	*rdev_major = stx.rdev_major;
	*rdev_minor = stx.rdev_minor;
	return 0;
}

int dropipc__fd_inode(int fd, struct dropipc__inode *ino)
{
	struct kstatx stx;
	int r = kstatx(fd, KSTATX_TYPE | KSTATX_INO, &stx);

	if (r < 0)
		return r;
	if (!(stx.mask & KSTATX_INO))
		return -ENODATA;
	ino->mode = stx.mode & S_IFMT;
	ino->dev = (uint64_t)stx.dev_major << 32 | stx.dev_minor;
	ino->ino = stx.ino;
	return 0;
}

/* ---- room in the fd table ---------------------------------------------------- */

/* Open fds below limit, from /proc/self/fd (its own fd counted too). */
static long count_open_fds(unsigned long limit)
{
	char buf[4096];
	long n = 0, got;
	int dir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (dir < 0)
		return -errno;
	while ((got = syscall(SYS_getdents64, dir, buf, sizeof(buf))) > 0) {
		for (long at = 0; at < got;) {
			/* struct linux_dirent64: ino, off, reclen, type, name */
			unsigned short reclen;
			const char *name = buf + at + 19;
			char *end;
			unsigned long fd;

			memcpy(&reclen, buf + at + 16, sizeof(reclen));
			at += reclen;
			if (name[0] < '0' || name[0] > '9')
				continue;
			fd = strtoul(name, &end, 10);
			if (*end == '\0' && fd < limit)
				n++;
		}
	}
	if (got < 0)
		n = -errno;
	close(dir);
	return n;
}

/* Without /proc: whether need slots below limit are free, by asking the
 * kernel for the lowest free one above the last, need times, with copies
 * of sock (a socket has no flush: closing a copy waits on nothing). */
static int probe_free_fds(int sock, unsigned long limit, size_t need)
{
	long next = 0;

	for (size_t i = 0; i < need; i++) {
		int fd = fcntl(sock, F_DUPFD_CLOEXEC, next);

		if (fd < 0)
			return errno == EMFILE || errno == EINVAL ? -EMFILE : -errno;
		close(fd);
		if ((unsigned long)fd >= limit)
			return -EMFILE;
		next = fd + 1;
	}
	return 0;
}

int dropipc__fd_room(int sock, size_t need)
{
	struct rlimit rl;
	long open_fds;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -errno;
	if (rl.rlim_cur < need)
		return -EMFILE;
	open_fds = count_open_fds(rl.rlim_cur);
	if (open_fds == -ENOENT || open_fds == -EACCES || open_fds == -EPERM)
		return probe_free_fds(sock, rl.rlim_cur, need);
	if (open_fds == -EMFILE || open_fds == -ENFILE)
		return -EMFILE;
	if (open_fds < 0)
		return (int)open_fds;
	/* The directory's own fd, counted, is closed again: one to spare. */
	return rl.rlim_cur - (unsigned long)open_fds + 1 >= need ? 0 : -EMFILE;
}

/* ---- the allow-list ------------------------------------------------------- */

/* Where memfds live: the kernel's internal shm mount (its mount id, which
 * is 0 on recent kernels, and its device), which is never unmounted. Not
 * known (then no memfd is closed inline) when this kernel (before 5.8) or
 * a seccomp filter does not say. */
static struct {
	bool known;
	uint64_t mnt_id;
	uint32_t dev_major, dev_minor;
} memfd_home;
static pthread_once_t memfd_home_once = PTHREAD_ONCE_INIT;

static void memfd_home_probe(void)
{
	struct kstatx stx;
	int fd = (int)syscall(SYS_memfd_create, "dropipc-probe", 1u /* MFD_CLOEXEC */);

	if (fd < 0)
		return;
	if (kstatx(fd, KSTATX_TYPE | KSTATX_MNT_ID, &stx) == 0 && (stx.mask & KSTATX_MNT_ID)) {
		memfd_home.mnt_id = stx.mnt_id;
		memfd_home.dev_major = stx.dev_major;
		memfd_home.dev_minor = stx.dev_minor;
		memfd_home.known = true;
	}
	close(fd);
}

/*
 * Whether closing fd here can wait on nothing a peer controls. The list,
 * from the kernel's close path (filp_close(): ->flush, dnotify, POSIX
 * locks; then, for the last reference, __fput(): fsnotify,
 * eventpoll_release(), ->release, dput, mntput):
 * - /dev/null, /dev/zero, /dev/full (character devices 1:3, 1:5, 1:7, not
 *   O_PATH): drivers/char/mem.c gives them no flush, no release and no
 *   poll, so they cannot be in an epoll set either; a node that can be
 *   opened is on a file system mounted with devices allowed, which a user
 *   namespace cannot mount, so its dput and mntput ask no server.
 * - memfds (regular files on the kernel's internal shm mount, found by its
 *   mount id and device, as a memfd of our own has them): shmem has no flush and no release, is not pollable, and the
 *   internal mount is never torn down; freeing the pages of the last
 *   reference takes CPU time only.
 * Not on it, with the reason: pipes and FIFOs (pipe_release() takes the
 * pipe's mutex, which splice() holds), sockets (linger, queued fds), ttys
 * and ptys (tty locks, hang-up), eventfd, signalfd, timerfd, pidfd and
 * epoll (pollable, so possibly in a hostile epoll set), files of other
 * file systems (FUSE, NFS, overlayfs over them: flush, writeback at
 * unmount), O_PATH fds (the last reference to a lazily unmounted mount
 * tears it down) and anything else.
 */
static bool close_is_quick(int fd)
{
	struct kstatx stx;
	int flags = fcntl(fd, F_GETFL);

	if (flags < 0 || (flags & O_PATH))
		return false;
	if (kstatx(fd, KSTATX_TYPE | KSTATX_MNT_ID, &stx) < 0 || !(stx.mask & KSTATX_TYPE))
		return false;
	switch (stx.mode & S_IFMT) {
	case S_IFCHR:
		return stx.rdev_major == 1 &&
		       (stx.rdev_minor == 3 || stx.rdev_minor == 5 || stx.rdev_minor == 7);
	case S_IFREG:
		pthread_once(&memfd_home_once, memfd_home_probe);
		/* F_GET_SEALS answers for shmem and hugetlbfs files only, from
		 * the file's operations: a second witness that costs nothing. */
		return memfd_home.known && (stx.mask & KSTATX_MNT_ID) &&
		       stx.mnt_id == memfd_home.mnt_id && stx.dev_major == memfd_home.dev_major &&
		       stx.dev_minor == memfd_home.dev_minor && fcntl(fd, F_GET_SEALS) >= 0;
	default:
		return false;
	}
}

/* ---- the ends' close policies and queues ------------------------------------ */

struct dropipc__closer {
	int mode;
	dropipc_close_fn fn;
	void *data;
	/* The rest is the helper's, under helper.lock. */
	int refs; /* the end's, and the helper list's while fds are parked */
	bool listed;
	struct dropipc__closer *next;
	/* fds[0, nbusy) are the running helper's; fds[nbusy, nbusy + nqueued)
	 * wait for the next one. */
	size_t nbusy, nqueued;
	int fds[DROPIPC__PARK_ROOM];
};

static struct {
	pthread_mutex_t lock;
	pid_t owner; /* the process this state is about (fork copies it) */
	pid_t pid;   /* the helper, 0 if none */
	int pidfd;
	struct dropipc__closer *active; /* the ends with fds parked */
} helper = { .lock = PTHREAD_MUTEX_INITIALIZER, .pidfd = -1 };

int dropipc__closer_new(struct dropipc__closer **out)
{
	struct dropipc__closer *cl = calloc(1, sizeof(*cl));

	*out = cl;
	if (!cl)
		return -ENOMEM;
	cl->mode = DROPIPC_CLOSE_HELPER;
	cl->refs = 1;
	return 0;
}

static void closer_unref_locked(struct dropipc__closer *cl)
{
	if (--cl->refs == 0)
		free(cl);
}

int dropipc__closer_set(struct dropipc__closer *cl, int mode, dropipc_close_fn fn, void *data)
{
	switch (mode) {
	case DROPIPC_CLOSE_HELPER:
	case DROPIPC_CLOSE_INLINE:
		if (fn)
			return -EINVAL;
		break;
	case DROPIPC_CLOSE_CALLBACK:
		if (!fn)
			return -EINVAL;
		break;
	default:
		return -EINVAL;
	}
	cl->mode = mode;
	cl->fn = fn;
	cl->data = data;
	return 0;
}

/* In the helper: closes every busy fd, each socket reset first (SO_LINGER
 * {1, 0}: it drops its queue instead of waiting to send it), and exits. It
 * runs in a copy of the parent's memory, with every signal blocked: only
 * system calls, no lock, no allocation. */
static __attribute__((noreturn)) void helper_main(void)
{
	static const struct linger no_linger = { .l_onoff = 1, .l_linger = 0 };

	for (struct dropipc__closer *cl = helper.active; cl; cl = cl->next) {
		for (size_t i = 0; i < cl->nbusy; i++) {
			syscall(SYS_setsockopt, cl->fds[i], SOL_SOCKET, SO_LINGER, &no_linger,
				sizeof(no_linger));
			syscall(SYS_close, cl->fds[i]);
		}
	}
	for (;;)
		syscall(SYS_exit_group, 0);
}

/* A process that shares our fd table, signals none on exit; its pidfd in
 * *pidfd. Like fork(): it runs on a copy of this stack. */
static pid_t clone_helper(int *pidfd)
{
	struct {
		uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
	} a = { .flags = CLONE_FILES | CLONE_PIDFD, .pidfd = (uint64_t)(uintptr_t)pidfd };
	long r = syscall(SYS_clone3, &a, sizeof(a));

	if (r >= 0 || errno != ENOSYS)
		return (pid_t)r;
#if defined(__s390__) || defined(__s390x__)
	return (pid_t)syscall(SYS_clone, 0, CLONE_FILES | CLONE_PIDFD, pidfd, 0, 0);
#else
	return (pid_t)syscall(SYS_clone, CLONE_FILES | CLONE_PIDFD, 0, pidfd, 0, 0);
#endif
}

static void unlist_empty_locked(void)
{
	for (struct dropipc__closer **p = &helper.active; *p;) {
		struct dropipc__closer *cl = *p;

		if (cl->nbusy + cl->nqueued > 0) {
			p = &cl->next;
			continue;
		}
		*p = cl->next;
		cl->listed = false;
		closer_unref_locked(cl);
	}
}

/* The helper's fds are closed: they leave their ends' queues. */
static void helper_done_locked(void)
{
	for (struct dropipc__closer *cl = helper.active; cl; cl = cl->next) {
		memmove(cl->fds, cl->fds + cl->nbusy, cl->nqueued * sizeof(int));
		cl->nbusy = 0;
	}
	unlist_empty_locked();
}

/* Reaps the helper if it has exited. */
static void reap_locked(void)
{
	struct pollfd p = { .fd = helper.pidfd, .events = POLLIN };
	siginfo_t si;

	if (helper.owner != getpid()) {
		/* A fork of the process that started it: the parked fds here are
		 * this process's copies, for a helper of its own. */
		if (helper.pidfd >= 0)
			close(helper.pidfd);
		helper.pid = 0;
		helper.pidfd = -1;
		helper.owner = getpid();
		for (struct dropipc__closer *cl = helper.active; cl; cl = cl->next) {
			cl->nqueued += cl->nbusy;
			cl->nbusy = 0;
		}
		return;
	}
	if (helper.pid == 0)
		return;
	while (poll(&p, 1, 0) < 0 && errno == EINTR)
		;
	if (!(p.revents & POLLIN))
		return;
	/* __WALL: it has no exit signal. (ECHILD: a caller's own __WALL wait
	 * reaped it; it has exited all the same.) */
	while (waitid((idtype_t)P_PIDFD, (id_t)helper.pidfd, &si, WEXITED | WNOHANG | __WALL) < 0 &&
	       errno == EINTR)
		;
	close(helper.pidfd);
	helper.pidfd = -1;
	helper.pid = 0;
	/* Killed part-way, it may have left some open, but which is not known:
	 * their numbers may be reused by now, so they are not closed again. */
	helper_done_locked();
}

/* Starts a helper for every queued fd, if none is running: whether it did. */
static bool launch_locked(void)
{
	sigset_t all, old;
	bool any = false;
	int pidfd = -1;
	pid_t pid;

	if (helper.pid != 0)
		return false;
	for (struct dropipc__closer *cl = helper.active; cl; cl = cl->next) {
		cl->nbusy = cl->nqueued;
		cl->nqueued = 0;
		any |= cl->nbusy > 0;
	}
	if (!any)
		return false;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid = clone_helper(&pidfd);
	if (pid == 0)
		helper_main();
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (pid < 0) {
		/* No process (RLIMIT_NPROC, which the child can exhaust, or no
		 * memory): the fds stay queued for the next try; none is closed
		 * here. */
		for (struct dropipc__closer *cl = helper.active; cl; cl = cl->next) {
			cl->nqueued = cl->nbusy;
			cl->nbusy = 0;
		}
		return false;
	}
	helper.pid = pid;
	helper.pidfd = pidfd;
	return true;
}

/* Waits up to ms for the helper to exit, and reaps it. */
static void wait_helper_locked(int ms)
{
	struct pollfd p = { .fd = helper.pidfd, .events = POLLIN };

	while (poll(&p, 1, ms) < 0 && errno == EINTR)
		;
	reap_locked();
}

/* How long a caller waits for a helper it started: a close that nothing
 * holds takes microseconds; one that takes longer is left to the helper. */
#define CLOSE_WAIT_MS 100

/* Parks n fds of cl for the helper. */
static void park(struct dropipc__closer *cl, const int *fds, size_t n)
{
	pthread_mutex_lock(&helper.lock);
	reap_locked();
	for (size_t i = 0; i < n; i++) {
		/* Cannot happen: an end takes no receive once DROPIPC__MAX_PARKED
		 * fds are parked, and one receive brings at most 2 * 253. Should
		 * it, the fd is kept open: never closed here. */
		if (cl->nbusy + cl->nqueued < DROPIPC__PARK_ROOM)
			cl->fds[cl->nbusy + cl->nqueued++] = fds[i];
	}
	if (!cl->listed) {
		cl->listed = true;
		cl->refs++;
		cl->next = helper.active;
		helper.active = cl;
	}
	if (launch_locked())
		wait_helper_locked(CLOSE_WAIT_MS);
	pthread_mutex_unlock(&helper.lock);
}

size_t dropipc__closer_parked(struct dropipc__closer *cl)
{
	size_t n;

	pthread_mutex_lock(&helper.lock);
	reap_locked();
	if (launch_locked())
		wait_helper_locked(CLOSE_WAIT_MS);
	n = cl->nbusy + cl->nqueued;
	pthread_mutex_unlock(&helper.lock);
	return n;
}

void dropipc__closer_free(struct dropipc__closer *cl)
{
	if (!cl)
		return;
	pthread_mutex_lock(&helper.lock);
	reap_locked();
	launch_locked();
	/* Its parked fds stay queued for the helper, which holds a reference. */
	closer_unref_locked(cl);
	pthread_mutex_unlock(&helper.lock);
}

void dropipc__close_untrusted(struct dropipc__closer *cl, int *fds, size_t n)
{
	int slow[DROPIPC__PARK_ROOM];
	size_t nslow = 0;

	for (size_t i = 0; i < n; i++) {
		if (fds[i] < 0)
			continue;
		if (close_is_quick(fds[i]) || nslow == DROPIPC__PARK_ROOM)
			close(fds[i]);
		else
			slow[nslow++] = fds[i];
		fds[i] = -1;
	}
	if (nslow == 0)
		return;
	switch (cl->mode) {
	case DROPIPC_CLOSE_CALLBACK:
		for (size_t i = 0; i < nslow; i++)
			cl->fn(slow[i], cl->data);
		return;
	case DROPIPC_CLOSE_HELPER:
		/* valgrind runs threads and fork-like clones only, not a process
		 * that shares the fd table: under it (tests only) the default is
		 * the inline close. */
		if (!RUNNING_ON_VALGRIND) {
			park(cl, slow, nslow);
			return;
		}
		/* fall through */
	default:
		for (size_t i = 0; i < nslow; i++)
			close(slow[i]);
	}
}
