/* SPDX-License-Identifier: Apache-2.0 */
/* The parent's embedded default ChildArgs: what a real launcher would send. */
#ifndef DROPIPC_DEMO_DEFAULTS_H
#define DROPIPC_DEMO_DEFAULTS_H

#include <dropipc/dropipc.h>

/*
 * Fills a ChildArgs in static storage for the current directory and $HOME,
 * with every field of the schema set, and cmd (n elements) as exec_args.
 * Returns NULL if the working directory cannot be read (errno set).
 */
const dropipc_child_args *default_args(char **cmd, size_t n);

#endif
