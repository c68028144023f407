/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * The id maps of a child that dropipc_spawn() started in a new user
 * namespace and that waits for them: written to /proc/PID/uid_map and
 * gid_map by the parent itself, or by the setuid helpers newuidmap and
 * newgidmap (shadow's uidmap package), which let an unprivileged parent
 * map the ranges /etc/subuid and /etc/subgid give it, as rootless podman
 * and crun do.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"

#define NEWUIDMAP "/usr/bin/newuidmap"
#define NEWGIDMAP "/usr/bin/newgidmap"
/* Most bytes of a helper's stderr that the message quotes. */
#define HELPER_TEXT_MAX 256

static int fail(char *err, size_t errlen, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return code;
}

/* "inside outside count\n" per line, as /proc/PID/uid_map takes them. */
static char *map_text(const dropipc_id_map *m, size_t n)
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
static int write_proc(pid_t pid, const char *file, const char *text, char *err, size_t errlen)
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
		return fail(err, errlen, -errno, "open %s: %s", path, strerror(errno));
	do
		n = write(fd, text, len);
	while (n < 0 && errno == EINTR);
	r = n < 0 ? -errno : 0;
	close(fd);
	if (r < 0)
		return fail(err, errlen, r, "write %s: %s", path, strerror(-r));
	if ((size_t)n != len)
		return fail(err, errlen, -EIO, "write %s: wrote %zd of %zu bytes", path, n, len);
	return 0;
}

static int write_map_proc(pid_t pid, const char *file, const dropipc_id_map *m, size_t n,
			  char *err, size_t errlen)
{
	char *text = map_text(m, n);
	int r;

	if (!text)
		return fail(err, errlen, -ENOMEM, "%s: %s", file, strerror(ENOMEM));
	r = write_proc(pid, file, text, err, errlen);
	free(text);
	return r;
}

/* What the helper wrote on stderr, sanitized, on one line, in text. */
static void helper_text(int fd, char *text, size_t size)
{
	ssize_t n;
	size_t len;

	do
		n = pread(fd, text, size - 1, 0);
	while (n < 0 && errno == EINTR);
	len = n > 0 ? dropipc__utf8_cut(text, (size_t)n, size - 1) : 0;
	len = dropipc_text_sanitize(text, len);
	for (size_t i = 0; i < len; i++)
		if (text[i] == '\n' || text[i] == '\t')
			text[i] = ' ';
	while (len && text[len - 1] == ' ')
		len--;
	text[len] = '\0';
}

/* The helper's argv: path, pid, then inside outside count per line (each
 * number at most 10 digits), in one allocation the caller frees. */
static char **helper_argv(const char *path, pid_t pid, const dropipc_id_map *m, size_t n)
{
	size_t nargs = 2 + 3 * n + 1;
	char **argv = malloc(nargs * sizeof(*argv) + (1 + 3 * n) * 12);
	char *p;

	if (!argv)
		return NULL;
	p = (char *)(argv + nargs);
	argv[0] = (char *)path;
	argv[1] = p;
	p += sprintf(p, "%d", (int)pid) + 1;
	for (size_t i = 0; i < n; i++) {
		const uint32_t v[3] = { m[i].inside, m[i].outside, m[i].count };

		for (int j = 0; j < 3; j++) {
			argv[2 + 3 * i + (size_t)j] = p;
			p += sprintf(p, "%u", v[j]) + 1;
		}
	}
	argv[nargs - 1] = NULL;
	return argv;
}

/* Starts the helper with no fd but 0-2 (0 /dev/null, 1 and 2 the memfd),
 * default signals and an environment of its own. */
static int helper_start(char *const argv[], int out, pid_t *pid)
{
	static char *const envp[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", NULL };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t all, none;
	int r;

	sigfillset(&all);
	sigemptyset(&none);
	if ((r = posix_spawn_file_actions_init(&fa)) != 0)
		return -r;
	if ((r = posix_spawnattr_init(&at)) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		return -r;
	}
	r = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (r == 0)
		r = posix_spawn_file_actions_adddup2(&fa, out, 1);
	if (r == 0)
		r = posix_spawn_file_actions_adddup2(&fa, out, 2);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
	if (r == 0)
		r = posix_spawn_file_actions_addclosefrom_np(&fa, 3);
#endif
	if (r == 0)
		r = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
	if (r == 0)
		r = posix_spawnattr_setsigdefault(&at, &all);
	if (r == 0)
		r = posix_spawnattr_setsigmask(&at, &none);
	if (r == 0)
		r = posix_spawn(pid, argv[0], &fa, &at, argv, envp);
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
	return -r;
}

/* Runs `path PID inside outside count ...` and waits for it; its failure
 * (exit status and stderr) goes to err, naming it. */
static int run_helper(const char *path, pid_t pid, const dropipc_id_map *m, size_t n, char *err,
		      size_t errlen)
{
	char **argv = helper_argv(path, pid, m, n), text[HELPER_TEXT_MAX + 1];
	int out = -1, status, r;
	pid_t hpid;

	if (!argv)
		return fail(err, errlen, -ENOMEM, "%s: %s", path, strerror(ENOMEM));
	out = memfd_create("dropipc-idmap-helper", MFD_CLOEXEC);
	if (out < 0) {
		r = fail(err, errlen, -errno, "%s: memfd_create: %s", path, strerror(errno));
		goto out;
	}
	r = helper_start(argv, out, &hpid);
	if (r < 0) {
		fail(err, errlen, r, "%s: %s", path, strerror(-r));
		goto out;
	}
	while (waitpid(hpid, &status, 0) < 0) {
		if (errno != EINTR) {
			r = fail(err, errlen, -errno, "%s: waitpid: %s", path, strerror(errno));
			goto out;
		}
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		goto out;
	helper_text(out, text, sizeof(text));
	/* The helpers refuse what the caller may not map: EPERM, as the
	 * kernel does for /proc/PID/uid_map. */
	if (WIFEXITED(status))
		r = fail(err, errlen, -EPERM, "%s for pid %d: exit status %d: %s", path, (int)pid,
			 WEXITSTATUS(status), text[0] ? text : "(no message)");
	else
		r = fail(err, errlen, -EPERM, "%s for pid %d: killed by signal %d: %s", path,
			 (int)pid, WTERMSIG(status), text[0] ? text : "(no message)");
out:
	if (out >= 0)
		close(out);
	free(argv);
	return r;
}

int dropipc__write_id_maps(pid_t pid, const dropipc_spawn_options *o, char *err, size_t errlen)
{
	bool helpers = o->flags & DROPIPC_SPAWN_ID_MAP_HELPERS;
	int r = 0;

	if (o->flags & DROPIPC_SPAWN_DENY_SETGROUPS)
		r = write_proc(pid, "setgroups", "deny", err, errlen);
	if (r == 0 && o->n_uid_map)
		r = helpers ? run_helper(NEWUIDMAP, pid, o->uid_map, o->n_uid_map, err, errlen)
			    : write_map_proc(pid, "uid_map", o->uid_map, o->n_uid_map, err, errlen);
	if (r == 0 && o->n_gid_map)
		r = helpers ? run_helper(NEWGIDMAP, pid, o->gid_map, o->n_gid_map, err, errlen)
			    : write_map_proc(pid, "gid_map", o->gid_map, o->n_gid_map, err, errlen);
	return r;
}
