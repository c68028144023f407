/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * The ends are typed by role: a role's call on the other end does not
 * compile. Built twice by wrong_role.sh: with -DRIGHT_ROLE it must compile,
 * without it it must not (the one difference is the end passed).
 */
#include <dropipc/dropipc.h>

int receive(dropipc_parent *parent, dropipc_child *child);

int receive(dropipc_parent *parent, dropipc_child *child)
{
	int master = -1;

	/* What both do alike takes either end's connection. */
	dropipc_conn_set_timeout(dropipc_parent_conn(parent), 1000);
	dropipc_conn_set_timeout(dropipc_child_conn(child), 1000);
#ifdef RIGHT_ROLE
	return dropipc_parent_recv_pty(parent, &master);
#else
	return dropipc_parent_recv_pty(child, &master);
#endif
}
