/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * The jail, in Drop's order (drop-jail.md, "The jail"): mounts made
 * private; the system directories read-only; /run, /dev, /tmp, /proc, /sys,
 * /var; the home; the /etc overlay; the config's mounts; the blocked paths;
 * pivot_root. The child runs in new user, mount, PID, IPC and cgroup
 * namespaces with CAP_SYS_ADMIN in them.
 *
 * Paths inside fs_root that come from the config (mount targets, blocked
 * paths) are resolved with openat2(RESOLVE_IN_ROOT), so that a symlink the
 * sandbox left in its home cannot send a mount outside the new root; the
 * mounts onto them are made with open_tree/move_mount on those fds.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "child.h"

#define HOSTNAME "dropipc-demo"

struct jail {
	dropipc_child *ch;
	const dropipc_args *a;
	const char *root;      /* paths.fs_root */
	const char *host_home; /* paths.host_home */
	int root_fd;	       /* fs_root, once bound onto itself */
	bool verbose;
};

static const char *path(const struct jail *j, dropipc_path which)
{
	return dropipc_args_get_path(j->a, which);
}

/* Reports a failure of the jail stage; -1. */
__attribute__((format(printf, 3, 4))) static int fail(struct jail *j, int err, const char *fmt,
							...)
{
	char what[PATH_MAX + 256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	dropipc_child_send_error(j->ch, DROPIPC_STAGE_JAIL, err, "%s%s%s", what, err ? ": " : "",
				 err ? strerror(err) : "");
	return -1;
}

/* fs_root + p (p absolute) into out. */
static int in_root(struct jail *j, const char *p, char *out)
{
	if (snprintf(out, PATH_MAX, "%s%s", j->root, p) >= PATH_MAX)
		return fail(j, ENAMETOOLONG, "%s%s", j->root, p);
	return 0;
}

/* "~" and "~/..." mean host_home. */
static int expand_home(struct jail *j, const char *p, char *out, const char *field)
{
	int n;

	if (p[0] == '~' && (p[1] == '/' || !p[1]))
		n = snprintf(out, PATH_MAX, "%s%s", j->host_home, p + 1);
	else
		n = snprintf(out, PATH_MAX, "%s", p);
	if (n >= PATH_MAX)
		return fail(j, ENAMETOOLONG, "%s %s", field, p);
	if (out[0] != '/')
		return fail(j, 0, "%s %s: not an absolute path (nor ~/...)", field, p);
	return 0;
}

static int do_mount(struct jail *j, const char *src, const char *dst, const char *type,
		    unsigned long flags, const char *data)
{
	while (mount(src, dst, type, flags, data) < 0) {
		if (errno != EINTR)
			return fail(j, errno, "mount %s on %s%s%s", src ? src : "none", dst,
				    type ? " type " : "", type ? type : "");
	}
	return 0;
}

/* Sets attributes on the mount at dst and every mount under it. */
static int set_attr(struct jail *j, int dfd, const char *dst, uint64_t attr, const char *what)
{
	struct mount_attr ma = { .attr_set = attr };
	unsigned flags = AT_RECURSIVE | (dst[0] ? 0 : AT_EMPTY_PATH);

	if (mount_setattr(dfd, dst, flags, &ma, sizeof(ma)) < 0)
		return fail(j, errno, "mount_setattr %s", what);
	return 0;
}

static int open_in(struct jail *j, const char *rel, bool nofollow);

/* Makes a directory in the jail, parents first; existing ones are fine.
 * rel is relative to fs_root and resolved in it. */
static int mkdirs(struct jail *j, const char *rel, mode_t mode)
{
	char buf[PATH_MAX];
	size_t len = strlen(rel);

	if (len >= sizeof(buf))
		return fail(j, ENAMETOOLONG, "mkdir %s", rel);
	memcpy(buf, rel, len + 1);
	for (size_t i = 1; i <= len; i++) {
		char *name, saved = buf[i];
		int fd, dfd;

		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		buf[i] = '\0';
		fd = open_in(j, buf, false);
		if (fd >= 0) {
			close(fd);
		} else if (fd != -ENOENT) {
			return fail(j, -fd, "mkdir %s/%s", j->root, buf);
		} else {
			name = strrchr(buf, '/');
			if (name)
				*name = '\0';
			dfd = open_in(j, name ? buf : ".", false);
			if (name)
				*name = '/';
			if (dfd < 0)
				return fail(j, -dfd, "mkdir %s/%s: parent", j->root, buf);
			fd = mkdirat(dfd, name ? name + 1 : buf, mode);
			if (fd < 0 && errno != EEXIST) {
				fd = errno;
				close(dfd);
				return fail(j, fd, "mkdir %s/%s", j->root, buf);
			}
			close(dfd);
		}
		buf[i] = saved;
	}
	return 0;
}

/* Opens path (relative to dfd) as O_PATH with resolve flags: -errno on
 * failure. nofollow: the last component is not followed. */
static int open_how(int dfd, const char *path, bool nofollow, uint64_t resolve)
{
	struct open_how how = { .flags = O_PATH | O_CLOEXEC | (nofollow ? O_NOFOLLOW : 0),
				.resolve = resolve };
	int fd = (int)syscall(SYS_openat2, dfd, path, &how, sizeof(how));

	return fd < 0 ? -errno : fd;
}

/* Opens rel (relative to fs_root) as O_PATH, resolved inside fs_root. */
static int open_in(struct jail *j, const char *rel, bool nofollow)
{
	return open_how(j->root_fd, rel, nofollow, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
}

/* Mounts a copy of the tree at src (an absolute path, or src_fd itself
 * when src_fd >= 0) (recursive if rec) onto the object target_fd refers to,
 * with attributes attr. */
static int graft(struct jail *j, int src_fd, const char *src, bool rec, int target_fd,
		 uint64_t attr, const char *what)
{
	int tree = open_tree(src_fd >= 0 ? src_fd : AT_FDCWD, src_fd >= 0 ? "" : src,
			     OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (rec ? AT_RECURSIVE : 0) |
				     (src_fd >= 0 ? AT_EMPTY_PATH : 0));
	int r = 0;

	if (tree < 0)
		return fail(j, errno, "open_tree %s (for %s)", src, what);
	if (attr && set_attr(j, tree, "", attr, what) < 0)
		r = -1;
	else if (move_mount(tree, "", target_fd, "",
			    MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		r = fail(j, errno, "mount %s on %s", src, what);
	close(tree);
	return r;
}

/* 2. The system directories, read-only, nosuid, nodev; symlinks as such. */
static int system_dirs(struct jail *j)
{
	static const char *const dirs[] = { "/usr", "/bin", "/lib", "/lib32", "/lib64", "/sbin" };
	char dst[PATH_MAX], link[PATH_MAX];

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		struct stat st;
		ssize_t n;

		if (lstat(dirs[i], &st) < 0) {
			if (errno == ENOENT)
				continue;
			return fail(j, errno, "lstat %s", dirs[i]);
		}
		if (in_root(j, dirs[i], dst) < 0)
			return -1;
		if (S_ISLNK(st.st_mode)) {
			n = readlink(dirs[i], link, sizeof(link) - 1);
			if (n < 0)
				return fail(j, errno, "readlink %s", dirs[i]);
			link[n] = '\0';
			if (symlink(link, dst) < 0 && errno != EEXIST)
				return fail(j, errno, "symlink %s -> %s", dst, link);
			continue;
		}
		if (mkdirs(j, dirs[i] + 1, 0755) < 0 ||
		    do_mount(j, dirs[i], dst, NULL, MS_BIND | MS_REC, NULL) < 0 ||
		    set_attr(j, AT_FDCWD, dst,
			     MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, dst) < 0)
			return -1;
	}
	return 0;
}

/*
 * A new, empty file at rel in the jail, as a mount point: its parent
 * resolved inside fs_root (a symlink the sandbox left in its home cannot
 * lead out of it), the file made there with O_EXCL|O_NOFOLLOW (never an
 * existing file, FIFO or device opened, nor a symlink followed).
 */
static int mkfile(struct jail *j, const char *rel)
{
	const char *name = strrchr(rel, '/');
	char parent[PATH_MAX];
	int dfd, fd, e;

	snprintf(parent, sizeof(parent), "%.*s", name ? (int)(name - rel) : 1, name ? rel : ".");
	dfd = open_in(j, parent, false);
	if (dfd < 0)
		return fail(j, -dfd, "create %s/%s: parent", j->root, rel);
	fd = openat(dfd, name ? name + 1 : rel,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);
	e = errno;
	close(dfd);
	if (fd < 0)
		return fail(j, e, "create %s/%s", j->root, rel);
	close(fd);
	return 0;
}

/* 3, 4. /run, /dev. */
static int run_and_dev(struct jail *j)
{
	static const char *const devs[] = { "null", "zero", "full", "random", "urandom" };
	static const char *const links[][2] = { { "stdin", "/proc/self/fd/0" },
						 { "stdout", "/proc/self/fd/1" },
						 { "stderr", "/proc/self/fd/2" },
						 { "fd", "/proc/self/fd" },
						 { "core", "/proc/kcore" } };
	char dst[PATH_MAX], src[64], rel[64];

	if (mkdirs(j, "run", 0755) < 0 || in_root(j, "/run", dst) < 0 ||
	    do_mount(j, "tmpfs", dst, "tmpfs", MS_NOSUID | MS_NODEV, "mode=700") < 0)
		return -1;
	snprintf(rel, sizeof(rel), "run/user/%u", (unsigned)getuid());
	if (mkdirs(j, rel, 0700) < 0)
		return -1;

	if (mkdirs(j, "dev", 0755) < 0 || in_root(j, "/dev", dst) < 0 ||
	    do_mount(j, "tmpfs", dst, "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=755") < 0)
		return -1;
	if (mkdirs(j, "dev/shm", 01777) < 0 || in_root(j, "/dev/shm", dst) < 0 ||
	    do_mount(j, "tmpfs", dst, "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") < 0)
		return -1;
	if (mkdirs(j, "dev/pts", 0755) < 0 || in_root(j, "/dev/pts", dst) < 0 ||
	    do_mount(j, "devpts", dst, "devpts", MS_NOSUID | MS_NOEXEC,
		     "newinstance,ptmxmode=0666,mode=0620") < 0)
		return -1;
	for (size_t i = 0; i < sizeof(devs) / sizeof(devs[0]); i++) {
		snprintf(rel, sizeof(rel), "dev/%s", devs[i]);
		snprintf(src, sizeof(src), "/dev/%s", devs[i]);
		/* Read-only: writes to the device still work, but the host's
		 * inode cannot be chmod'ed or chown'ed (EROFS). */
		if (mkfile(j, rel) < 0 || in_root(j, src, dst) < 0 ||
		    do_mount(j, src, dst, NULL, MS_BIND, NULL) < 0 ||
		    set_attr(j, AT_FDCWD, dst, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID, dst) < 0)
			return -1;
	}
	{
		char ptmx[PATH_MAX];

		if (mkfile(j, "dev/ptmx") < 0 || in_root(j, "/dev/ptmx", dst) < 0 ||
		    in_root(j, "/dev/pts/ptmx", ptmx) < 0 ||
		    do_mount(j, ptmx, dst, NULL, MS_BIND, NULL) < 0)
			return -1;
	}
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		snprintf(rel, sizeof(rel), "dev/%s", links[i][0]);
		if (symlinkat(links[i][1], j->root_fd, rel) < 0 && errno != EEXIST)
			return fail(j, errno, "symlink %s/%s", j->root, rel);
	}
	return 0;
}

/* A bind of a host directory at an absolute jail path, read-write. */
static int bind_dir(struct jail *j, const char *src, const char *at)
{
	char dst[PATH_MAX];

	if (mkdirs(j, at + 1, 0755) < 0 || in_root(j, at, dst) < 0 ||
	    do_mount(j, src, dst, NULL, MS_BIND | MS_REC, NULL) < 0 ||
	    set_attr(j, AT_FDCWD, dst, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, dst) < 0)
		return -1;
	return 0;
}

/* Whether name, an entry of /proc, is the processes' own (a pid, self,
 * thread-self): the one part of the procfs a payload may write. */
static bool process_entry(const char *name)
{
	return strspn(name, "0123456789") == strlen(name) || !strcmp(name, "self") ||
	       !strcmp(name, "thread-self");
}

/* Covers the file proc/name (in fs_root) with the empty file, read-only. */
static int proc_hide(struct jail *j, const char *name)
{
	char rel[PATH_MAX];
	int fd, r;

	snprintf(rel, sizeof(rel), "proc/%s", name);
	fd = open_how(j->root_fd, rel, true,
		      RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
	if (fd < 0)
		return fail(j, -fd, "/%s", rel);
	r = graft(j, -1, path(j, DROPIPC_PATH_EMPTY_FILE), false, fd,
		  MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC,
		  rel);
	close(fd);
	return r;
}

/*
 * The new procfs read-only but for the processes' own directories (an
 * allow-list): each other directory, and each other file with a write bit,
 * bound read-only over itself. A payload that is host root (run by root,
 * the uid mapped to itself) passes the owner checks of sysctl files
 * without any capability, and could set kernel.core_pattern; bubblewrap
 * covers /proc/sys, sysrq-trigger, irq and bus, this covers what a kernel
 * adds beside them too (mtrr, pressure). A file that only its owner (root)
 * may read is hidden: such a payload would read it by the owner's bit
 * (slabinfo, kpageflags: the kernel's heap and physical pages).
 */
static int proc_read_only(struct jail *j)
{
	char proc[PATH_MAX], dst[PATH_MAX];
	struct dirent *e;
	DIR *d;
	int r = 0;

	if (in_root(j, "/proc", proc) < 0)
		return -1;
	d = opendir(proc);
	if (!d)
		return fail(j, errno, "open %s", proc);
	while (r == 0 && (e = readdir(d))) {
		struct stat st;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") ||
		    process_entry(e->d_name) ||
		    fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISREG(st.st_mode) && !(st.st_mode & (S_IRGRP | S_IROTH))) {
			r = proc_hide(j, e->d_name);
			continue;
		}
		if (!(S_ISDIR(st.st_mode) ||
		      (S_ISREG(st.st_mode) && (st.st_mode & (S_IWUSR | S_IWGRP | S_IWOTH)))))
			continue;
		if (snprintf(dst, sizeof(dst), "%s/%s", proc, e->d_name) >= (int)sizeof(dst))
			r = fail(j, ENAMETOOLONG, "%s/%s", proc, e->d_name);
		else if (do_mount(j, dst, dst, NULL, MS_BIND | MS_REC, NULL) < 0 ||
			 set_attr(j, AT_FDCWD, dst,
				  MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
					  MOUNT_ATTR_NOEXEC,
				  dst) < 0)
			r = -1;
	}
	closedir(d);
	return r;
}

/* Undoes mountinfo's octal escapes (\040 for a space), in place. */
static void unescape(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*o++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			s += 3;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}

/*
 * Unjailed, the host's /sys comes with what the host mounts in it
 * (debugfs, tracefs, securityfs, ...), locked to it: they cannot be
 * unmounted here, so each is covered with the empty directory, read-only
 * (root's payload would read their root-only files by the owner's bit).
 * Only sysfs itself and /sys/fs/cgroup show (an allow-list). dst is
 * fs_root/sys, already bound; mountinfo is read whole before anything is
 * covered.
 */
static int sys_cover_submounts(struct jail *j, const char *dst)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *all = NULL, *line, *save = NULL;
	size_t cap = 0, n = strlen(dst);
	int r = 0;

	if (!f)
		return fail(j, errno, "open /proc/self/mountinfo");
	if (getdelim(&all, &cap, '\0', f) < 0) {
		fclose(f);
		free(all);
		return fail(j, EIO, "read /proc/self/mountinfo");
	}
	fclose(f);
	for (line = strtok_r(all, "\n", &save); r == 0 && line; line = strtok_r(NULL, "\n", &save)) {
		char mp[PATH_MAX], rel[PATH_MAX];
		struct stat st;
		int fd;

		/* The fifth field: the mount point, with \ooo escapes. */
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1)
			continue;
		unescape(mp);
		if (strncmp(mp, dst, n) || mp[n] != '/')
			continue;
		if (!strncmp(mp + n, "/fs/cgroup", 10) && (!mp[n + 10] || mp[n + 10] == '/'))
			continue;
		snprintf(rel, sizeof(rel), "sys%s", mp + n);
		fd = open_how(j->root_fd, rel, true,
			      RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
		if (fd == -ENOENT || fd == -EACCES)
			continue; /* under one covered already */
		if (fd < 0) {
			r = fail(j, -fd, "/%s", rel);
			break;
		}
		if (fstat(fd, &st) < 0)
			r = fail(j, errno, "stat /%s", rel);
		else
			r = graft(j, -1,
				  path(j, S_ISDIR(st.st_mode) ? DROPIPC_PATH_EMPTY_DIR
							      : DROPIPC_PATH_EMPTY_FILE),
				  false, fd,
				  MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
					  MOUNT_ATTR_NOEXEC,
				  rel);
		close(fd);
	}
	free(all);
	return r;
}

/* 5, 6. /tmp, /proc, /sys, /var; the home. */
static int data_dirs(struct jail *j)
{
	dropipc_net_mode mode = DROPIPC_NET_MODE_UNSPECIFIED;
	bool unjailed = dropipc_args_get_net_mode(j->a, &mode) == 0 &&
			mode == DROPIPC_NET_MODE_UNJAILED;
	char dst[PATH_MAX];

	if (bind_dir(j, path(j, DROPIPC_PATH_TMP), "/tmp") < 0)
		return -1;
	if (mkdirs(j, "proc", 0555) < 0 || in_root(j, "/proc", dst) < 0 ||
	    do_mount(j, "proc", dst, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0 ||
	    proc_read_only(j) < 0)
		return -1;
	/* /sys: a sysfs of our own network namespace, read-only, with the
	 * host's /sys/fs/cgroup read-only in it. Unjailed there is no network
	 * namespace of ours to mount a sysfs for: the host's /sys, read-only
	 * (past Drop, which leaves it writable), submounts and cgroups too. */
	if (mkdirs(j, "sys", 0555) < 0 || in_root(j, "/sys", dst) < 0)
		return -1;
	if (unjailed) {
		if (do_mount(j, "/sys", dst, NULL, MS_BIND | MS_REC, NULL) < 0 ||
		    set_attr(j, AT_FDCWD, dst,
			     MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
				     MOUNT_ATTR_NOEXEC,
			     dst) < 0 ||
		    sys_cover_submounts(j, dst) < 0)
			return -1;
	} else {
		char cg[PATH_MAX];

		if (do_mount(j, "sysfs", dst, "sysfs",
			     MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0 ||
		    in_root(j, "/sys/fs/cgroup", cg) < 0)
			return -1;
		if (access("/sys/fs/cgroup", F_OK) == 0 && access(cg, F_OK) == 0 &&
		    (do_mount(j, "/sys/fs/cgroup", cg, NULL, MS_BIND | MS_REC, NULL) < 0 ||
		     set_attr(j, AT_FDCWD, cg,
			      MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
				      MOUNT_ATTR_NOEXEC,
			      cg) < 0))
			return -1;
	}
	if (bind_dir(j, path(j, DROPIPC_PATH_VAR), "/var") < 0)
		return -1;
	return bind_dir(j, path(j, DROPIPC_PATH_HOME), j->host_home);
}

/* 7. /etc: a read-only overlay of paths.etc over the host's /etc. */
static int etc(struct jail *j)
{
	const char *top = path(j, DROPIPC_PATH_ETC);
	char dst[PATH_MAX], opts[PATH_MAX + 32], conf[PATH_MAX];
	dropipc_net_mode mode = DROPIPC_NET_MODE_UNSPECIFIED;

	if (strpbrk(top, ":,\\"))
		return fail(j, 0, "paths.etc %s: ':', ',' or '\\' cannot go into overlay options",
			    top);
	/* In isolated mode pasta answers DNS at 169.254.1.1 (--dns-forward). */
	if (dropipc_args_get_net_mode(j->a, &mode) == 0 && mode == DROPIPC_NET_MODE_ISOLATED) {
		int fd;

		snprintf(conf, sizeof(conf), "%s/resolv.conf", top);
		fd = open(conf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (fd < 0 && errno != EEXIST)
			return fail(j, errno, "create %s", conf);
		if (fd >= 0) {
			static const char text[] = "nameserver 169.254.1.1\n";
			ssize_t n = write(fd, text, sizeof(text) - 1);

			close(fd);
			if (n != (ssize_t)sizeof(text) - 1)
				return fail(j, n < 0 ? errno : EIO, "write %s", conf);
		}
	}
	snprintf(opts, sizeof(opts), "lowerdir=%s:/etc", top);
	if (mkdirs(j, "etc", 0755) < 0 || in_root(j, "/etc", dst) < 0 ||
	    do_mount(j, "overlay", dst, "overlay", MS_RDONLY | MS_NOSUID | MS_NODEV, opts) < 0)
		return -1;
	return 0;
}

/* The mount point for a mount of a directory (dir) or file at rel, made if
 * missing; an O_PATH fd, 0 to skip (with a notice), -1 on failure. */
static int mount_point(struct jail *j, char *rel, const char *target, bool dir)
{
	struct stat st;
	int fd = open_in(j, rel, true);

	if (fd == -ENOENT) {
		char *slash = strrchr(rel, '/');

		if (slash) {
			*slash = '\0';
			fd = mkdirs(j, rel, 0755);
			*slash = '/';
			if (fd < 0)
				return -1;
		}
		if (dir ? mkdirs(j, rel, 0755) < 0 : mkfile(j, rel) < 0)
			return -1;
		fd = open_in(j, rel, true);
	}
	if (fd < 0)
		return fail(j, -fd, "mount target %s", target);
	if (fstat(fd, &st) < 0) {
		int e = errno;

		close(fd);
		return fail(j, e, "stat mount target %s", target);
	}
	if (S_ISLNK(st.st_mode) || (dir != !!S_ISDIR(st.st_mode))) {
		notice("mount target %s: %s, skipped", target,
		       S_ISLNK(st.st_mode) ? "a symlink"
		       : dir		   ? "not a directory, and the source is one"
					   : "a directory, and the source is not");
		close(fd);
		return 0;
	}
	return fd;
}

/* Whether the sandbox (our uid and groups, without capabilities) could
 * write in the directory st describes, if it were mounted read-write. */
static bool sandbox_can_write(const struct stat *st)
{
	gid_t groups[NGROUPS_MAX];
	int n = getgroups(NGROUPS_MAX, groups);

	if (st->st_uid == getuid())
		return st->st_mode & S_IWUSR;
	if (st->st_mode & S_IWOTH)
		return true;
	if (!(st->st_mode & S_IWGRP))
		return false;
	if (st->st_gid == getgid())
		return true;
	for (int i = 0; i < n; i++)
		if (groups[i] == st->st_gid)
			return true;
	return false;
}

#define MAX_LINKS 40
#define SOURCE_MISSING (-2)

/*
 * Opens a mount source (absolute) as O_PATH, resolving its symlinks one by
 * one: one that lies in a directory our uid can write is refused (a
 * sandbox given that directory read-write, in this run or an earlier one,
 * could have planted it); others are the user's own and are followed, as
 * in Drop. The resolved path is then opened with RESOLVE_NO_SYMLINKS, so
 * that nothing swapped in since is followed either. Returns the fd,
 * SOURCE_MISSING, or -1 (reported).
 */
static int open_source(struct jail *j, const char *src, char *real)
{
	char todo[PATH_MAX], tmp[PATH_MAX], link[PATH_MAX];
	size_t len = 0;
	int links = 0, fd;

	real[0] = '\0';
	snprintf(todo, sizeof(todo), "%s", src);
	while (todo[0]) {
		char *c = todo + strspn(todo, "/"), *end = c + strcspn(c, "/");
		struct stat st, dir;
		ssize_t n;
		size_t clen = (size_t)(end - c);

		if (clen == 0)
			break;
		if ((clen == 1 && c[0] == '.') || (clen == 2 && !strncmp(c, "..", 2))) {
			if (clen == 2 && len > 0) {
				while (len > 0 && real[--len] != '/')
					;
				real[len] = '\0';
			}
			memmove(todo, end, strlen(end) + 1);
			continue;
		}
		if (len + 1 + clen >= PATH_MAX)
			return fail(j, ENAMETOOLONG, "mount source %s", src);
		real[len] = '/';
		memcpy(real + len + 1, c, clen);
		real[len + 1 + clen] = '\0';
		memmove(todo, end, strlen(end) + 1);
		if (lstat(real, &st) < 0) {
			if (errno == ENOENT || errno == ENOTDIR)
				return SOURCE_MISSING;
			return fail(j, errno, "mount source %s: %s", src, real);
		}
		if (!S_ISLNK(st.st_mode)) {
			len += 1 + clen;
			continue;
		}
		real[len] = '\0';
		if (stat(len ? real : "/", &dir) < 0)
			return fail(j, errno, "mount source %s: %s", src, len ? real : "/");
		if (sandbox_can_write(&dir))
			return fail(j, 0,
				    "mount source %s: %s/%.*s is a symlink in a directory the "
				    "sandbox can write (uid %u): refused, give the path it "
				    "points to",
				    src, real, (int)clen, c, (unsigned)getuid());
		real[len] = '/';
		n = readlink(real, link, sizeof(link) - 1);
		if (n < 0 || ++links > MAX_LINKS)
			return fail(j, n < 0 ? errno : ELOOP, "mount source %s: %s", src, real);
		link[n] = '\0';
		if (snprintf(tmp, sizeof(tmp), "%s/%s", link, todo) >= (int)sizeof(tmp))
			return fail(j, ENAMETOOLONG, "mount source %s", src);
		memcpy(todo, tmp, strlen(tmp) + 1);
		if (link[0] == '/')
			len = 0;
		real[len] = '\0';
	}
	if (!real[0])
		strcpy(real, "/");
	fd = open_how(AT_FDCWD, real, false, RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
	if (fd == -ENOENT)
		return SOURCE_MISSING;
	if (fd < 0)
		return fail(j, -fd, "mount source %s (resolved: %s)", src, real);
	return fd;
}

/* 8. The config's mounts. */
static int config_mounts(struct jail *j)
{
	const char *source, *target;
	unsigned flags;

	for (size_t i = 0; dropipc_args_get_mount(j->a, i, &source, &target, &flags) == 0; i++) {
		char src[PATH_MAX], dst[PATH_MAX], real[PATH_MAX];
		struct stat st;
		int fd, sfd, r;

		if (expand_home(j, source, src, "mount source") < 0 ||
		    expand_home(j, target, dst, "mount target") < 0)
			return -1;
		sfd = open_source(j, src, real);
		if (sfd == SOURCE_MISSING) {
			notice("mount source %s: missing, skipped", src);
			continue;
		}
		if (sfd < 0)
			return -1;
		if (fstat(sfd, &st) < 0 || (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))) {
			close(sfd);
			return fail(j, 0, "mount source %s: not a directory or a regular file", src);
		}
		if (!strcmp(dst, "/")) {
			close(sfd);
			return fail(j, 0, "mount target %s: the jail's root", target);
		}
		fd = mount_point(j, dst + 1, dst, S_ISDIR(st.st_mode));
		if (fd <= 0) {
			close(sfd);
			if (fd < 0)
				return -1;
			continue;
		}
		/* overlay: carried, not acted on, as in Drop v0.1.5 (see
		 * docs/PROTOCOL.md): the mount is a bind like any other. */
		r = graft(j, sfd, src, S_ISDIR(st.st_mode), fd,
			  MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
				  (flags & DROPIPC_MOUNT_RW ? 0 : MOUNT_ATTR_RDONLY),
			  dst);
		close(fd);
		close(sfd);
		if (r < 0)
			return -1;
		if (j->verbose)
			notice("mounted %s on %s%s", src, dst, flags & DROPIPC_MOUNT_RW ? "" : " read-only");
	}
	return 0;
}

/* Whether abs (expanded) is at or under the target of a read-write config
 * mount: a place the sandbox could have rearranged in an earlier run. */
static bool in_rw_mount(struct jail *j, const char *abs)
{
	const char *source, *target;
	unsigned flags;

	for (size_t i = 0; dropipc_args_get_mount(j->a, i, &source, &target, &flags) == 0; i++) {
		char dst[PATH_MAX];
		size_t n;

		if (!(flags & DROPIPC_MOUNT_RW) ||
		    snprintf(dst, sizeof(dst), "%s%s", target[0] == '~' ? j->host_home : "",
			     target[0] == '~' ? target + 1 : target) >= (int)sizeof(dst))
			continue;
		n = strlen(dst);
		if (!strncmp(abs, dst, n) && (abs[n] == '/' || !abs[n] || !strcmp(dst, "/")))
			return true;
	}
	return false;
}

/* Whether the directory fd refers to is the root of a mount. */
static bool is_mount_root(int fd)
{
	struct statx stx;

	return statx(fd, "", AT_EMPTY_PATH, 0, &stx) == 0 &&
	       (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
	       (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
}

/*
 * Pins each directory above a blocked path (abs, expanded), from the top:
 * a recursive bind onto itself, so that in this run the sandbox can
 * neither rename nor remove it (EBUSY: a mount point). Else it could move
 * a directory above the hidden file away (with the file, where nothing
 * hides it in the next run) and leave a decoy of the same name in its
 * place, in its home, /var or a read-write mount. A component that cannot
 * be opened is left for the blocked path's own check to report.
 */
static int pin_parents(struct jail *j, const char *abs)
{
	char rel[PATH_MAX];

	snprintf(rel, sizeof(rel), "%s", abs + 1);
	for (char *s = strchr(rel, '/'); s; s = strchr(s + 1, '/')) {
		int fd, r;

		*s = '\0';
		fd = open_how(j->root_fd, rel, true,
			      RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
		if (fd < 0) {
			*s = '/';
			return 0;
		}
		/* A mount's root is pinned already (as is one pinned for an
		 * earlier blocked path): no mount stacked again. */
		r = is_mount_root(fd) ? 0 : graft(j, fd, rel, true, fd, 0, abs);
		close(fd);
		*s = '/';
		if (r < 0)
			return -1;
	}
	return 0;
}

/* 9. Blocked paths: the fixed list, then the config's. A missing one is
 * skipped, as in Drop, unless it lies in a read-write mount. */
static int blocked(struct jail *j)
{
	static const char *const fixed[] = { "/proc/acpi",	  "/proc/asound",
					     "/proc/kcore",	  "/proc/keys",
					     "/proc/latency_stats", "/proc/timer_list",
					     "/proc/timer_stats", "/proc/sched_debug",
					     "/proc/scsi",	  "/sys/firmware" };
	size_t nfixed = sizeof(fixed) / sizeof(fixed[0]), nconfig;
	char *const *config = dropipc_args_get_list(j->a, DROPIPC_LIST_BLOCKED_PATHS, &nconfig);
	size_t n = nfixed + nconfig;

	for (size_t i = 0; i < n; i++) {
		const char *p = i < nfixed ? fixed[i] : config[i - nfixed];
		char abs[PATH_MAX];
		struct stat st;
		int fd, r;

		if (expand_home(j, p, abs, "blocked path") < 0 ||
		    (i >= nfixed && pin_parents(j, abs) < 0))
			return -1;
		/* No symlink at all: one the sandbox planted could move what
		 * is hidden away from where it is hidden. */
		fd = open_how(j->root_fd, abs + 1, true,
			      RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
		if (fd == -ELOOP)
			return fail(j, 0, "blocked path %s: resolves through a symlink", abs);
		if ((fd == -ENOENT || fd == -ENOTDIR) && i >= nfixed && in_rw_mount(j, abs))
			return fail(j, 0,
				    "blocked path %s: missing in a read-write mount (moved away?), "
				    "where it must be hidden",
				    abs);
		if (fd == -ENOENT || fd == -ENOTDIR)
			continue;
		if (fd < 0)
			return fail(j, -fd, "blocked path %s", abs);
		if (fstat(fd, &st) < 0) {
			r = errno;
			close(fd);
			return fail(j, r, "stat blocked path %s", abs);
		}
		r = graft(j, -1,
			  dropipc_args_get_path(j->a, S_ISDIR(st.st_mode) ? DROPIPC_PATH_EMPTY_DIR
								      : DROPIPC_PATH_EMPTY_FILE),
			  false, fd, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC,
			  abs);
		close(fd);
		if (r < 0)
			return -1;
	}
	return 0;
}

/* 10. fs_root read-only (and nosuid, nodev, as every other mount),
 * pivoted into, the old root detached. */
static int pivot(struct jail *j)
{
	struct mount_attr ma = { .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID |
					     MOUNT_ATTR_NODEV };

	if (mount_setattr(j->root_fd, "", AT_EMPTY_PATH, &ma, sizeof(ma)) < 0)
		return fail(j, errno, "read-only %s", j->root);
	if (chdir(j->root) < 0)
		return fail(j, errno, "chdir %s", j->root);
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return fail(j, errno, "pivot_root %s", j->root);
	if (umount2(".", MNT_DETACH) < 0)
		return fail(j, errno, "detach the old root");
	if (chdir("/") < 0)
		return fail(j, errno, "chdir /");
	return 0;
}

int jail_build(dropipc_child *ch, const dropipc_args *a, bool verbose)
{
	struct jail j = { .ch = ch,
			  .a = a,
			  .root = dropipc_args_get_path(a, DROPIPC_PATH_FS_ROOT),
			  .host_home = dropipc_args_get_path(a, DROPIPC_PATH_HOST_HOME),
			  .root_fd = -1,
			  .verbose = verbose };
	static const dropipc_path needed[] = { DROPIPC_PATH_FS_ROOT, DROPIPC_PATH_HOST_HOME,
					       DROPIPC_PATH_HOME,    DROPIPC_PATH_ETC,
					       DROPIPC_PATH_VAR,     DROPIPC_PATH_TMP,
					       DROPIPC_PATH_EMPTY_DIR, DROPIPC_PATH_EMPTY_FILE };
	static const char *const names[] = { "fs_root", "host_home", "home", "etc",
					     "var", "tmp", "empty_dir", "empty_file" };
	int r = -1;

	for (size_t i = 0; i < sizeof(needed) / sizeof(needed[0]); i++)
		if (dropipc_args_get_path(a, needed[i])[0] != '/')
			return fail(&j, 0, "paths.%s \"%s\": not an absolute path", names[i],
				    dropipc_args_get_path(a, needed[i]));
	/* In our own UTS namespace (dropipc-demo makes one) the payload sees
	 * a hostname of its own; EPERM: the launcher made none (then it is
	 * the host's, read-only as ever). */
	if (sethostname(HOSTNAME, strlen(HOSTNAME)) < 0) {
		if (errno != EPERM)
			return fail(&j, errno, "sethostname %s", HOSTNAME);
		notice("no UTS namespace of our own: the hostname stays the host's");
	}
	/* 1. Nothing we mount propagates back to the host. */
	if (do_mount(&j, NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return -1;
	/* pivot_root needs fs_root to be a mount. */
	if (do_mount(&j, j.root, j.root, NULL, MS_BIND, NULL) < 0)
		return -1;
	j.root_fd = open(j.root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (j.root_fd < 0)
		return fail(&j, errno, "open %s", j.root);
	if (system_dirs(&j) == 0 && run_and_dev(&j) == 0 && data_dirs(&j) == 0 && etc(&j) == 0 &&
	    config_mounts(&j) == 0 && blocked(&j) == 0 && pivot(&j) == 0)
		r = 0;
	close(j.root_fd);
	return r;
}
