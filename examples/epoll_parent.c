/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * A launcher's parent in an epoll loop: the channel, the child's pidfd and
 * a signalfd (SIGINT, SIGTERM) in one epoll set, the channel's deadline as
 * epoll_wait's timeout. The child here is a fork that plays the sandbox's
 * side (receives ChildArgs, sends a pty master) so the example runs alone:
 *
 *   epoll_parent            exit 0 when the pty arrived and the child exited
 *
 * The pattern: set the end non-blocking; before each epoll_wait, register
 * the channel with dropipc_conn_get_events() and take the timeout from
 * dropipc_conn_get_deadline(); when it is ready, call the operation again
 * (flush for a queued send, the same receive for a partial one) until it
 * returns something other than -EAGAIN.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <dropipc/dropipc.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

/* The sandbox's side, in the forked child. */
static int child_main(int fd)
{
	dropipc_child *c;
	dropipc_args *args;
	int m, r;

	r = dropipc_child_new(fd, &c);
	if (r == 0)
		r = dropipc_child_recv_args(c, &args);
	if (r < 0) {
		/* dropipc_child_conn(NULL) is NULL, whose errmsg is "". */
		fprintf(stderr, "child: %s (%s)\n", dropipc_conn_get_errmsg(dropipc_child_conn(c)),
			dropipc_err_name(r));
		return 1;
	}
	dropipc_args_free(args);
	m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	r = m < 0 ? -errno : dropipc_child_send_pty(c, m);
	if (r < 0)
		fprintf(stderr, "child: send pty: %s\n", dropipc_strerror(r));
	dropipc_child_free(c);
	return r < 0;
}

/* The smallest ChildArgs that validates. */
static int send_args(dropipc_parent *p)
{
	dropipc_args *args;
	int r;

	r = dropipc_args_new(&args);
	if (r < 0)
		return r;
	if ((r = dropipc_args_set_env_id(args, "example")) == 0 &&
	    (r = dropipc_args_set_net_mode(args, DROPIPC_NET_MODE_OFF)) == 0 &&
	    (r = dropipc_args_add_list(args, DROPIPC_LIST_EXEC_ARGS, "sh")) == 0)
		r = dropipc_parent_send_args(p, args);
	dropipc_args_free(args);
	return r;
}

/* epoll_wait's timeout for the end's deadline: -1 for none. */
static int timeout_ms(const dropipc_conn *conn)
{
	struct timespec ts;
	uint64_t dl, now;

	dropipc_conn_get_deadline(conn, &dl);
	if (dl == DROPIPC_TIMEOUT_INFINITE)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
	return dl <= now ? 0 : (int)((dl - now + 999) / 1000);
}

static int watch(int ep, int op, int fd, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.fd = fd };

	return epoll_ctl(ep, op, fd, &ev);
}

enum state { SENDING, RECV_PTY, WAIT_EXIT, DONE };

int main(void)
{
	dropipc_parent *p;
	dropipc_conn *conn;
	enum state st = SENDING;
	int child_fd, pidfd, sigfd, ep, master = -1, r, status = 1;
	sigset_t sigs;
	pid_t pid;

	r = dropipc_socketpair(&p, &child_fd);
	if (r < 0) {
		fprintf(stderr, "socketpair: %s\n", dropipc_strerror(r));
		return 1;
	}
	/* What both ends do alike (fd, events, deadline, flush) is on the
	 * end's connection. */
	conn = dropipc_parent_conn(p);
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		p = dropipc_parent_free(p);
		_exit(child_main(child_fd));
	}
	close(child_fd);
	if (pid < 0)
		return 1;

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	sigfd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (sigfd < 0 || pidfd < 0 || ep < 0) {
		perror("setup");
		return 1;
	}
	/* A child that dies mid-frame ends the receive with DROPIPC_ERR_DEAD. */
	dropipc_parent_set_pidfd(p, pidfd);
	dropipc_conn_set_nonblocking(conn, 1);
	dropipc_conn_set_timeout(conn, 5 * 1000000); /* microseconds */
	watch(ep, EPOLL_CTL_ADD, dropipc_conn_get_fd(conn), 0);
	watch(ep, EPOLL_CTL_ADD, sigfd, EPOLLIN);
	watch(ep, EPOLL_CTL_ADD, pidfd, EPOLLIN);

	r = send_args(p); /* queued: returns at once */
	while (r >= 0 && st != DONE) {
		struct epoll_event ev[4];
		int n;

		/* The end says what it waits for: POLLOUT only while data is queued. */
		if (st != WAIT_EXIT)
			watch(ep, EPOLL_CTL_MOD, dropipc_conn_get_fd(conn),
			      (uint32_t)dropipc_conn_get_events(conn));
		n = epoll_wait(ep, ev, 4, timeout_ms(conn));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			break;
		}
		for (int i = 0; i < n; i++) {
			if (ev[i].data.fd == sigfd) {
				fprintf(stderr, "parent: interrupted\n");
				r = -EINTR;
			} else if (ev[i].data.fd == pidfd && st == WAIT_EXIT) {
				siginfo_t si = { 0 };

				waitid(P_PIDFD, (id_t)pidfd, &si, WEXITED);
				status = si.si_code == CLD_EXITED ? si.si_status : 128 + si.si_status;
				st = DONE;
			}
		}
		/* Progress on the channel whatever woke us: a deadline that
		 * passed comes back as DROPIPC_ERR_TIMEDOUT. */
		if (r >= 0 && st == SENDING) {
			r = dropipc_conn_flush(conn);
			if (r == 0)
				st = RECV_PTY;
			else if (r == -EAGAIN)
				r = 0;
		}
		if (r >= 0 && st == RECV_PTY) {
			r = dropipc_parent_recv_pty(p, &master);
			if (r == 0) {
				printf("parent: pty master %d arrived\n", master);
				close(master);
				/* Only the child's exit is left to wait for. */
				epoll_ctl(ep, EPOLL_CTL_DEL, dropipc_conn_get_fd(conn), NULL);
				st = WAIT_EXIT;
			} else if (r == -EAGAIN) {
				r = 0;
			}
		}
	}
	if (r < 0) {
		fprintf(stderr, "parent: %s (%s)\n", dropipc_conn_get_errmsg(conn),
			dropipc_err_name(r));
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	p = dropipc_parent_free(p);
	close(ep);
	close(pidfd);
	close(sigfd);
	return r < 0 ? 1 : status;
}
