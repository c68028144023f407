/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The public connection: what both ends do alike, on the view each end
 * hands out (struct dropipc_conn). Each function checks its arguments as
 * the header's conventions say: NULL objects and out-pointers give -EINVAL.
 */
#include <errno.h>
#include <limits.h>
#include <stddef.h>

#include "internal.h"

int dropipc_conn_get_fd(const dropipc_conn *conn)
{
	if (!conn)
		return -EINVAL;
	return dropipc__conn_fd(conn->c);
}

int dropipc_conn_set_timeout(dropipc_conn *conn, uint64_t usec)
{
	uint64_t ms;

	if (!conn)
		return -EINVAL;
	if (usec == DROPIPC_TIMEOUT_INFINITE)
		return dropipc__conn_set_timeout(conn->c, -1);
	/* The waits count in milliseconds: round up, so that a short timeout
	 * is not "fail at once", and cap at what poll() takes. */
	ms = usec / 1000 + (usec % 1000 != 0);
	return dropipc__conn_set_timeout(conn->c, ms > INT_MAX ? INT_MAX : (int)ms);
}

int dropipc_conn_set_max_payload(dropipc_conn *conn, size_t bytes)
{
	if (!conn)
		return -EINVAL;
	return dropipc__conn_set_max_payload(conn->c, bytes);
}

const char *dropipc_conn_get_errmsg(const dropipc_conn *conn)
{
	if (!conn)
		return "";
	return dropipc__conn_errmsg(conn->c);
}

int dropipc_conn_set_close(dropipc_conn *conn, int mode, dropipc_close_fn *fn, void *data)
{
	if (!conn)
		return -EINVAL;
	return dropipc__conn_set_close(conn->c, mode, fn, data);
}

int dropipc_conn_cancel(dropipc_conn *conn)
{
	if (!conn)
		return -EINVAL;
	return dropipc__conn_cancel(conn->c);
}

int dropipc_conn_set_nonblocking(dropipc_conn *conn, int on)
{
	if (!conn || (on != 0 && on != 1))
		return -EINVAL;
	return dropipc__conn_set_nonblocking(conn->c, on);
}

int dropipc_conn_get_events(const dropipc_conn *conn)
{
	if (!conn)
		return -EINVAL;
	return dropipc__conn_events(conn->c);
}

int dropipc_conn_get_deadline(const dropipc_conn *conn, uint64_t *usec)
{
	if (!conn || !usec)
		return -EINVAL;
	*usec = dropipc__conn_deadline(conn->c);
	return 0;
}

int dropipc_conn_flush(dropipc_conn *conn)
{
	int r;

	if (!conn)
		return -EINVAL;
	r = dropipc__conn_begin(conn->c, "flush");
	return r < 0 ? r : dropipc__conn_flush(conn->c);
}

int dropipc_conn_send_files(dropipc_conn *conn, const dropipc_file *files, size_t n)
{
	int r;

	if (!conn || !files)
		return -EINVAL;
	r = dropipc__conn_begin(conn->c, "send files");
	return r < 0 ? r : dropipc__send_files(conn->c, files, n);
}

int dropipc_conn_recv_files(dropipc_conn *conn, dropipc_file **files, size_t *n)
{
	int r;

	if (!conn || !files || !n)
		return -EINVAL;
	*files = NULL;
	*n = 0;
	if (conn->report) {
		/* A new receive forgets the child's last report. */
		dropipc__message_free(*conn->report);
		*conn->report = NULL;
	}
	r = dropipc__conn_begin(conn->c, "recv files");
	if (r < 0)
		return r;
	return dropipc__recv_files(conn->c, files, n, conn->report);
}
