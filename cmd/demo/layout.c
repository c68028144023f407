/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/* Drop's paths under the demo's state directory. */
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "parent.h"

/*
 * mkdir -p, the last component with mode. The first `given` bytes of p are
 * the state directory, the user's path, followed as given; below it each
 * component must be a directory, never a symlink: a sandbox given the
 * state directory read-write (a --state inside a --mount ...:rw) could have
 * planted one for this launcher, maybe root, to chmod, sweep or bind.
 */
static int mkdirs(const char *p, size_t given, mode_t mode)
{
	char buf[PATH_MAX];

	if (snprintf(buf, sizeof(buf), "%s", p) >= (int)sizeof(buf))
		return say("%s: path too long", p);
	for (char *s = strchr(buf + 1, '/');; s = strchr(s + 1, '/')) {
		struct stat st;

		if (s)
			*s = '\0';
		if (mkdir(buf, s ? 0700 : mode) < 0 && errno != EEXIST)
			return say("mkdir %s: %s", buf, strerror(errno));
		if (strlen(buf) > given && (lstat(buf, &st) < 0 || !S_ISDIR(st.st_mode)))
			return say("%s: %s in the state directory: refusing to follow it", buf,
				   S_ISLNK(st.st_mode) ? "a symlink" : "not a directory");
		if (!s)
			break;
		*s = '/';
	}
	return 0;
}

/* Sets path which to x followed by y, and copies it to out (if not NULL). */
static int set(dropipc_args *a, dropipc_path which, char *out, const char *x, const char *y)
{
	char buf[PATH_MAX];

	if (snprintf(buf, sizeof(buf), "%s%s", x, y) >= (int)sizeof(buf))
		return say("%s: path too long", x);
	if (out)
		strcpy(out, buf);
	return dropipc_args_set_path(a, which, buf) < 0 ? say("out of memory") : 0;
}

/* Held (locked) from the run directory's creation to its removal: the
 * next launcher knows a run directory nobody holds is a killed one's. */
static int run_lock = -1;

/*
 * Makes this run's directory (run: the mkdtemp template) in runs, holding
 * its lock, after removing those that no launcher holds any more (their
 * launcher was killed: its sandbox and pasta died with it, nothing else
 * could remove them). runs itself is locked meanwhile, so that no
 * launcher sweeps a directory another has made but not locked yet.
 */
static int new_run_dir(const char *runs, char *run)
{
	int dir = open(runs, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), r = -1;
	DIR *d;
	struct dirent *e;

	if (dir < 0 || flock(dir, LOCK_EX) < 0) {
		if (dir >= 0)
			close(dir);
		return say("lock %s: %s", runs, strerror(errno));
	}
	d = fdopendir(dup(dir));
	while (d && (e = readdir(d))) {
		char stale[PATH_MAX];
		int fd;

		if (e->d_name[0] == '.')
			continue;
		fd = openat(dir, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (flock(fd, LOCK_EX | LOCK_NB) == 0 &&
		    snprintf(stale, sizeof(stale), "%s/%s", runs, e->d_name) < (int)sizeof(stale))
			layout_cleanup(stale);
		close(fd);
	}
	if (d)
		closedir(d);
	if (!mkdtemp(run)) {
		say("mkdtemp %s: %s", run, strerror(errno));
	} else if ((run_lock = open(run, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0 ||
		   flock(run_lock, LOCK_EX) < 0) {
		say("lock %s: %s", run, strerror(errno));
	} else {
		r = 0;
	}
	close(dir); /* and its lock */
	return r;
}

int layout_make(const char *state, const char *env_id, const char *host_home, dropipc_args *a,
		char *run)
{
	char env[PATH_MAX], p[PATH_MAX], cwd[PATH_MAX];
	size_t given = strlen(state);
	int fd;

	if (!getcwd(cwd, sizeof(cwd)))
		return say("getcwd: %s", strerror(errno));
	if (state[0] != '/')
		return say("--state %s: not an absolute path", state);
	if (set(a, DROPIPC_PATH_CWD, NULL, cwd, "") < 0 ||
	    set(a, DROPIPC_PATH_HOST_HOME, NULL, host_home, "") < 0 ||
	    set(a, DROPIPC_PATH_DROP_HOME, NULL, state, "") < 0 ||
	    set(a, DROPIPC_PATH_ENV, env, state, "/envs/") < 0 ||
	    strlen(env) + strlen(env_id) >= PATH_MAX ||
	    set(a, DROPIPC_PATH_ENV, env, env, env_id) < 0)
		return -1;
	if (set(a, DROPIPC_PATH_HOME, p, env, "/home") < 0 || mkdirs(p, given, 0700) < 0 ||
	    set(a, DROPIPC_PATH_ETC, p, env, "/etc") < 0 || mkdirs(p, given, 0755) < 0 ||
	    set(a, DROPIPC_PATH_VAR, p, env, "/var") < 0 || mkdirs(p, given, 0755) < 0)
		return -1;
	snprintf(p, sizeof(p), "%s/internal/run", state);
	if (mkdirs(p, given, 0700) < 0)
		return -1;
	if (snprintf(run, PATH_MAX, "%s/%s-XXXXXX", p, env_id) >= PATH_MAX)
		return say("%s: path too long", p);
	if (new_run_dir(p, run) < 0)
		return -1;
	if (dropipc_args_set_path(a, DROPIPC_PATH_RUN, run) < 0 ||
	    set(a, DROPIPC_PATH_FS_ROOT, p, run, "/root") < 0 || mkdirs(p, given, 0755) < 0 ||
	    set(a, DROPIPC_PATH_TMP, p, run, "/tmp") < 0 || mkdirs(p, given, 01777) < 0 ||
	    chmod(p, 01777) < 0)
		return say("%s: %s", p, strerror(errno));
	if (set(a, DROPIPC_PATH_EMPTY_DIR, p, state, "/internal/empty_dir") < 0 ||
	    mkdirs(p, given, 0) < 0 || chmod(p, 0) < 0)
		return say("%s: %s", p, strerror(errno));
	if (set(a, DROPIPC_PATH_EMPTY_FILE, p, state, "/internal/empty_file") < 0)
		return -1;
	/* Mode 0 once made: not opened for writing again. */
	fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0);
	if (fd < 0 && errno != EEXIST)
		return say("%s: %s", p, strerror(errno));
	if (fd >= 0)
		close(fd);
	if (chmod(p, 0) < 0)
		return say("chmod %s: %s", p, strerror(errno));
	return 0;
}

/* Opens the directory name in dfd, never through a symlink; one the
 * payload left without permissions is given 0700 first. */
static int open_dir(int dfd, const char *name)
{
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0 && errno == EACCES && fchmodat(dfd, name, 0700, AT_SYMLINK_NOFOLLOW) == 0)
		fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	return fd;
}

/* Removes name from dir (fd); 0, 1 when it is a directory that is not
 * empty (to descend into), or -errno. A symlink is removed, not followed. */
static int rm_entry(int dir, const char *name)
{
	if (unlinkat(dir, name, 0) == 0)
		return 0;
	if (errno == EACCES && fchmod(dir, 0700) == 0 && unlinkat(dir, name, 0) == 0)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return -errno;
	if (unlinkat(dir, name, AT_REMOVEDIR) == 0)
		return 0;
	return errno == ENOTEMPTY || errno == EEXIST || errno == EACCES ? 1 : -errno;
}

/* The first entry of dir that is a directory still holding something (its
 * name into sub), after removing every other entry: 1, 0 when dir is now
 * empty, -1 (said why) on failure. */
static int empty_dir(int dir, char *sub, const char *where)
{
	int fd = openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *e;
	int r = 0;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return say("cleanup: open %s: %s", where, strerror(errno));
	}
	while (r == 0 && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		r = rm_entry(dir, e->d_name);
		if (r < 0)
			r = say("cleanup: remove %s/.../%s: %s", where, e->d_name, strerror(-r));
		else if (r == 1)
			snprintf(sub, NAME_MAX + 1, "%s", e->d_name);
	}
	closedir(d);
	return r;
}

/*
 * Removes run and everything in it, whatever modes the payload left
 * (directories without permissions get 0700), following no symlink: an
 * openat/unlinkat walk that holds one directory fd at a time (going back
 * up through ".."), so that no depth of nesting exhausts fds or stack.
 * Each directory is entered once: one that cannot be emptied ends it.
 */
void layout_cleanup(const char *run)
{
	char sub[NAME_MAX + 1], *names = NULL;
	size_t depth = 0, used = 0, cap = 0;
	int cur, r;

	if (!run || !run[0])
		return;
	cur = open_dir(AT_FDCWD, run);
	if (cur < 0) {
		if (errno != ENOENT)
			say("cleanup: open %s: %s", run, strerror(errno));
		return;
	}
	for (;;) {
		r = empty_dir(cur, sub, run);
		if (r < 0)
			break;
		if (r == 1) {
			int fd = open_dir(cur, sub);
			size_t len = strlen(sub) + 1;

			if (fd < 0) {
				say("cleanup: open %s/.../%s: %s", run, sub, strerror(errno));
				break;
			}
			if (used + len > cap) {
				char *n = realloc(names, cap = 2 * (used + len));

				if (!n) {
					close(fd);
					say("cleanup: out of memory");
					break;
				}
				names = n;
			}
			memcpy(names + used, sub, len);
			used += len;
			depth++;
			close(cur);
			cur = fd;
			continue;
		}
		if (depth == 0)
			break;
		/* Back up, and remove the directory just emptied. */
		{
			int up = openat(cur, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			const char *name;

			close(cur);
			cur = up;
			if (cur < 0) {
				say("cleanup: %s: %s", run, strerror(errno));
				break;
			}
			used--; /* its NUL */
			while (used > 0 && names[used - 1])
				used--;
			name = names + used;
			depth--;
			if (unlinkat(cur, name, AT_REMOVEDIR) < 0) {
				say("cleanup: rmdir %s/.../%s: %s", run, name, strerror(errno));
				break;
			}
		}
	}
	if (cur >= 0)
		close(cur);
	free(names);
	if (depth == 0 && r == 0 && rmdir(run) < 0)
		say("cleanup: rmdir %s: %s", run, strerror(errno));
}

void layout_release(void)
{
	if (run_lock >= 0)
		close(run_lock);
	run_lock = -1;
}
