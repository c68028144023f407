/* SPDX-License-Identifier: Apache-2.0 OR MIT */
#include "fds.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

void close_from(int lo, int max_fd)
{
	if (close_range((unsigned)lo, ~0U, 0) == 0)
		return;
	for (int fd = lo; fd < max_fd; fd++)
		close(fd);
}

int drop_controlling_terminal(void)
{
	int tty = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	int r = 0;

	if (tty < 0)
		return 0; /* none to drop */
	if (ioctl(tty, TIOCNOTTY) < 0)
		r = -1;
	close(tty);
	return r;
}
