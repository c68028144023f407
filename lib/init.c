/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * dropipc_child_exec_init(): the child stays as a small init (PID 1 of the
 * sandbox's PID namespace, or a subreaper) and runs the command as its
 * child. It learns whether the command's execve() succeeded through a
 * close-on-exec pipe, confirms it to the parent, closes the channel, then
 * reaps every child, forwards the signals it gets to the command's process
 * group and exits with the command's status (128+N for a death by signal
 * N, as tini does).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"

/* The signals the init takes for itself (SIGCHLD) or passes on. */
static const int forwarded[] = { SIGHUP,  SIGINT,  SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM,
				 SIGTERM, SIGCONT, SIGTSTP, SIGTTIN, SIGTTOU, SIGWINCH };

static void init_sigset(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGCHLD);
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigaddset(set, forwarded[i]);
}

/* In the forked command: its own process group (in the foreground of the
 * controlling terminal, if there is one), the caller's signal mask back,
 * then the exec. On failure errno goes down the pipe. Async-signal-safe. */
__attribute__((noreturn)) static void start_command(int errfd, int tty, const sigset_t *mask,
						    const char *path, char *const argv[],
						    char *const envp[])
{
	int err;

	setpgid(0, 0);
	/* SIGTTOU is still blocked here. */
	if (tty >= 0)
		tcsetpgrp(tty, getpid());
	sigprocmask(SIG_SETMASK, mask, NULL);
	execve(path, argv, envp);
	err = errno;
	while (write(errfd, &err, sizeof(err)) < 0 && errno == EINTR)
		;
	_exit(127);
}

/* The command's exec outcome: 0 when it succeeded, else its errno. */
static int exec_outcome(int fd)
{
	int err = 0;
	ssize_t n;

	while ((n = read(fd, &err, sizeof(err))) < 0 && errno == EINTR)
		;
	return n == (ssize_t)sizeof(err) ? err : 0;
}

/* Which of fds 0-2 is a terminal whose foreground we hold, or -1. */
static int foreground_tty(void)
{
	for (int fd = 0; fd < 3; fd++)
		if (isatty(fd) && tcgetpgrp(fd) == getpgrp())
			return fd;
	return -1;
}

/* Sends sig to the command's process group, or to the command alone once
 * it has left the group it was started in (a shell with job control). */
static void forward(pid_t cmd, int sig)
{
	if (getpgid(cmd) != cmd || kill(-cmd, sig) < 0)
		kill(cmd, sig);
}

/* Reaps every child that has exited; true once cmd has (*status then
 * holds the exit status to end with). */
static bool reap_all(pid_t cmd, int *status)
{
	bool done = false;
	int st;
	pid_t p;

	while ((p = waitpid(-1, &st, WNOHANG)) > 0 || (p < 0 && errno == EINTR)) {
		if (p != cmd)
			continue;
		done = true;
		*status = WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
	}
	return done;
}

/* The init's life after the command's exec: never returns. */
__attribute__((noreturn)) static void serve(pid_t cmd, const sigset_t *set)
{
	int status = 0;

	for (;;) {
		siginfo_t si;
		int sig = sigwaitinfo(set, &si);

		if (sig < 0)
			continue; /* EINTR */
		if (sig != SIGCHLD) {
			forward(cmd, sig);
			continue;
		}
		if (reap_all(cmd, &status))
			_exit(status);
	}
}

int dropipc_child_exec_init(dropipc_child *child, const char *path, char *const argv[],
			    char *const envp[])
{
	struct sigaction dfl = { .sa_handler = SIG_DFL }, old_chld;
	sigset_t set, old_mask;
	pid_t ppid = getppid(), cmd;
	int pfd[2], err, r, tty, dumpable, subreaper = 0;

	if (!child || !path || !argv || !envp)
		return -EINVAL;
	/* A killed launcher takes the init, and with it the PID namespace.
	 * A parent that died before this line is seen as a changed ppid (out
	 * of a PID namespace) or as a failed confirmation below (in one,
	 * where getppid() is 0). */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != ppid) {
		err = getppid() != ppid ? ESRCH : errno;
		dropipc_child_send_error(child, DROPIPC_STAGE_EXEC, err,
					 "init: parent-death signal: %s", strerror(err));
		return -err;
	}
	/* Orphans come to us even when we are not PID 1; nothing in the
	 * sandbox may ptrace the init (and clear that signal). */
	prctl(PR_GET_CHILD_SUBREAPER, &subreaper);
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	dumpable = prctl(PR_GET_DUMPABLE);
	prctl(PR_SET_DUMPABLE, 0);
	tty = foreground_tty();
	init_sigset(&set);
	sigprocmask(SIG_BLOCK, &set, &old_mask);
	/* Exit statuses are ours to collect, whatever the caller set. */
	sigaction(SIGCHLD, &dfl, &old_chld);
	fflush(NULL);
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		err = errno;
		goto fail;
	}
	cmd = fork();
	if (cmd < 0) {
		err = errno;
		close(pfd[0]);
		close(pfd[1]);
		goto fail;
	}
	if (cmd == 0)
		start_command(pfd[1], tty, &old_mask, path, argv, envp);
	setpgid(cmd, cmd);
	close(pfd[1]);
	err = exec_outcome(pfd[0]);
	close(pfd[0]);
	if (err) {
		while (waitpid(cmd, NULL, 0) < 0 && errno == EINTR)
			;
		dropipc_child_send_error(child, DROPIPC_STAGE_EXEC, err, "execve %s: %s", path,
					 strerror(err));
		goto restore;
	}
	/* The command runs: ExecConfirm keeps its meaning. A parent that is
	 * gone cannot be told: the command goes too. */
	r = dropipc_child_confirm_exec(child);
	if (r < 0) {
		kill(-cmd, SIGKILL);
		kill(cmd, SIGKILL);
		while (waitpid(cmd, NULL, 0) < 0 && errno == EINTR)
			;
		err = -r; /* -errno or a DROPIPC_ERR_* code, returned as it is */
		goto restore;
	}
	dropipc_child_free(child);
	/* The init holds fds 0-2 and nothing else. */
	close_range(3, ~0U, 0);
	serve(cmd, &set);
fail:
	dropipc_child_send_error(child, DROPIPC_STAGE_EXEC, err, "init: %s", strerror(err));
restore:
	sigaction(SIGCHLD, &old_chld, NULL);
	sigprocmask(SIG_SETMASK, &old_mask, NULL);
	prctl(PR_SET_CHILD_SUBREAPER, subreaper);
	if (dumpable >= 0)
		prctl(PR_SET_DUMPABLE, dumpable);
	return -err;
}
