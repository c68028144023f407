/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * The demo child's parts: the jail (jail.c), Drop's environment rules
 * (environ.c), the pty (pty.c), dropping capabilities and the exec
 * (exec.c). Each function reports its own failure to the parent with
 * dropipc_child_send_error(), naming the stage and the path or field, and
 * returns -1; the caller then only exits.
 */
#ifndef DROPIPC_DEMO_CHILD_H
#define DROPIPC_DEMO_CHILD_H

#include <stdbool.h>

#include <dropipc/dropipc.h>

#define CHILD_PROG "dropipc-demo-child"

/* A notice on stderr (a skipped mount, ...): the parent shows it. */
void notice(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * The command's environment: the inherited one filtered by exposed_vars,
 * then set_vars, then DROP_ENV. On success *envp is a NULL-terminated
 * array the caller frees with environ_free().
 */
int environ_build(dropipc_child *ch, const dropipc_args *a, char **inherited, char ***envp);
void environ_free(char **envp);
/* The value of name in envp, or NULL. */
const char *environ_get(char *const *envp, const char *name);

/* Builds the jail and pivots into it (drop-jail.md, "The jail"). */
int jail_build(dropipc_child *ch, const dropipc_args *a, bool verbose);

/* setsid(); then, as ChildArgs.pty says, a pty in the jail's devpts, of
 * ChildArgs.term_size when set, whose master goes to the parent and whose
 * slave becomes the controlling terminal and the fds that ttys names (a
 * bit per fd 0-2; -1: those of fds 0-2 that are terminals). PTY_AUTO: only
 * when ttys names one; PTY_ALWAYS: always, on all three; PTY_NEVER: none. */
int pty_setup(dropipc_child *ch, const dropipc_args *a, int ttys, bool verbose);

/* Joins a new, anonymous session keyring: the caller's is left behind. */
int keyring_new(dropipc_child *ch);

/* Drops every capability: ambient, bounding set, then the rest. */
int caps_drop(dropipc_child *ch);

/* chdir to paths.cwd, else host_home, else /. */
void enter_cwd(const dropipc_args *a, bool verbose);

/* Looks the command up in envp's PATH and runs it through /usr/bin/env
 * under this process as its init (dropipc_child_exec_init()); returns only
 * on failure (reported). shell: the user's $SHELL or NULL;
 * jailed: false with --no-jail (no writability check of /usr/bin/env). */
int exec_command(dropipc_child *ch, const dropipc_args *a, char **envp, const char *shell,
		 bool jailed);

#endif
