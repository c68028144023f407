/* SPDX-License-Identifier: Apache-2.0 */
/* The parent's embedded default ChildArgs: what a real launcher would send. */
#ifndef DROPIPC_DEMO_DEFAULTS_H
#define DROPIPC_DEMO_DEFAULTS_H

#include <dropipc/dropipc.h>

/*
 * Builds the ChildArgs for the current directory and $HOME, with every field
 * of the schema set, and cmd (n elements) as exec_args. On success *args is
 * the caller's, to free with dropipc_args_free(). Returns 0, or -errno (the
 * working directory cannot be read, or no memory).
 */
int default_args(char **cmd, size_t n, dropipc_args **args);

#endif
