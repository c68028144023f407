/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/* fd housekeeping shared by the demo's parent and child. */
#ifndef DROPIPC_DEMO_FDS_H
#define DROPIPC_DEMO_FDS_H

/*
 * Closes every fd from lo up: close_range() where the kernel has it (Linux
 * 5.9), else each fd below max_fd (sysconf(_SC_OPEN_MAX), found before a
 * fork). Async-signal-safe.
 */
void close_from(int lo, int max_fd);

/*
 * Gives this process no controlling terminal (TIOCNOTTY), so that it can
 * neither open /dev/tty nor push input into the terminal (TIOCSTI). 0 or -1.
 * Async-signal-safe.
 */
int drop_controlling_terminal(void);

#endif
