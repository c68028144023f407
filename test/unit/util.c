/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/* Fixtures, temporary files and forked processes. */
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

TCase *unit_tcase(Suite *s, const char *name)
{
	TCase *tc = tcase_create(name);

	tcase_add_checked_fixture(tc, test_fd_setup, test_fd_teardown);
	/* Generous for valgrind; a passing test takes milliseconds. */
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	return tc;
}

/* ---- fds and processes ------------------------------------------------------ */

int unit_tmpfile(const char *text)
{
	size_t len = strlen(text), done = 0;
	char path[] = "/tmp/dropipc-unit-XXXXXX";
	int fd;

	fd = open("/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0) {
		/* Not every filesystem has O_TMPFILE. */
		fd = mkostemp(path, O_CLOEXEC);
		if (fd < 0)
			return -1;
		unlink(path);
	}
	while (done < len) {
		ssize_t n = write(fd, text + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto fail;
		done += (size_t)n;
	}
	if (lseek(fd, 0, SEEK_SET) != 0)
		goto fail;
	return fd;

fail:
	close(fd);
	return -1;
}

size_t unit_read(int fd, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, 2000) <= 0)
			break;
		n = read(fd, (char *)buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	return got;
}

int unit_cloexec(int fd)
{
	int flags = fcntl(fd, F_GETFD);

	ck_assert_msg(flags >= 0, "fd %d: %s", fd, strerror(errno));
	return (flags & FD_CLOEXEC) != 0;
}

pid_t unit_fork(int (*fn)(void *arg), void *arg)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	ck_assert_msg(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		alarm(10);
		_exit(fn(arg));
	}
	return pid;
}

void unit_reap_ok(pid_t pid)
{
	int status;
	pid_t r;

	do
		r = waitpid(pid, &status, 0);
	while (r < 0 && errno == EINTR);
	ck_assert_int_eq(r, pid);
	ck_assert_msg(WIFEXITED(status), "child process killed by signal %d",
		      WIFSIGNALED(status) ? WTERMSIG(status) : -1);
	ck_assert_msg(WEXITSTATUS(status) == 0, "child process exited with status %d",
		      WEXITSTATUS(status));
}

int unit_pair(dropipc_parent **parent, dropipc_child **child)
{
	int child_fd, r;

	*child = NULL;
	r = dropipc_socketpair(parent, &child_fd);
	if (r < 0)
		return r;
	r = dropipc_child_new(child_fd, child);
	if (r < 0)
		*parent = dropipc_parent_free(*parent);
	return r;
}
