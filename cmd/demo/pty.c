/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * The command's terminal, as ChildArgs.pty says. PTY_AUTO (Drop's rule):
 * only when one of the parent's fds 0-2 is a terminal, a pty of the jail's
 * own devpts instance, its master sent to the parent, its slave made the
 * controlling terminal and put on those of fds 0-2 that are terminals
 * (Drop's ReplaceTerminal); the others stay the pipes the parent relays.
 * Without a terminal no pty frame is sent. PTY_ALWAYS: on all three;
 * PTY_NEVER: none.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "child.h"

static int failed(dropipc_child *ch, int err, const char *what)
{
	dropipc_child_send_error(ch, DROPIPC_STAGE_PTY, err, "%s: %s", what, strerror(err));
	return -1;
}

/* The parent's terminal size (ChildArgs.term_size), when it sent one. */
static void set_size(int master, const dropipc_args *a)
{
	uint32_t rows = 0, cols = 0, x = 0, y = 0;
	struct winsize ws;

	if (dropipc_args_get_term_size(a, &rows, &cols, &x, &y) < 0 || !rows || !cols ||
	    rows > USHRT_MAX || cols > USHRT_MAX)
		return;
	ws = (struct winsize){ .ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols,
			       .ws_xpixel = (unsigned short)(x > USHRT_MAX ? 0 : x),
			       .ws_ypixel = (unsigned short)(y > USHRT_MAX ? 0 : y) };
	ioctl(master, TIOCSWINSZ, &ws);
}

int pty_setup(dropipc_child *ch, const dropipc_args *a, int ttys, bool verbose)
{
	dropipc_pty_mode mode = DROPIPC_PTY_AUTO;
	int master, slave, r;

	/* Already a session leader when the parent's spawn made the session. */
	if (setsid() < 0 && getsid(0) != getpid())
		return failed(ch, errno, "setsid");
	dropipc_args_get_pty(a, &mode);
	if (mode == DROPIPC_PTY_NEVER)
		return 0;
	if (ttys < 0) {
		ttys = 0;
		for (int fd = 0; fd < 3; fd++)
			ttys |= isatty(fd) ? 1 << fd : 0;
	}
	if (mode == DROPIPC_PTY_ALWAYS)
		ttys = 7;
	if (!ttys)
		return 0;
	/* /dev/ptmx is the jail's: the new devpts instance's ptmx. */
	master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0)
		return failed(ch, errno, "open /dev/ptmx");
	if (unlockpt(master) < 0) {
		r = errno;
		close(master);
		return failed(ch, r, "unlockpt /dev/ptmx");
	}
	/* The slave of this master, not one found by name. */
	slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (slave < 0) {
		r = errno;
		close(master);
		return failed(ch, r, "TIOCGPTPEER /dev/ptmx");
	}
	set_size(master, a);
	if (verbose)
		notice("sending the pty master");
	r = dropipc_child_send_pty(ch, master);
	close(master);
	if (r < 0) {
		notice("%s", dropipc_conn_get_errmsg(dropipc_child_conn(ch)));
		close(slave);
		return -1;
	}
	if (ioctl(slave, TIOCSCTTY, 0) < 0) {
		r = errno;
		close(slave);
		return failed(ch, r, "TIOCSCTTY");
	}
	/* Only where there was a terminal, as Drop's ReplaceTerminal: the
	 * other fds stay the pipes the parent relays. */
	for (int fd = 0; fd < 3; fd++) {
		if ((ttys & 1 << fd) && dup2(slave, fd) < 0) {
			r = errno;
			close(slave);
			return failed(ch, r, "dup2 the pty to the terminal fds");
		}
	}
	if (slave > 2)
		close(slave);
	return 0;
}
