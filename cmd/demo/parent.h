/* SPDX-License-Identifier: Apache-2.0 */
/* The demo parent's parts: Drop's state layout (layout.c) and pasta (net.c). */
#ifndef DROPIPC_DEMO_PARENT_H
#define DROPIPC_DEMO_PARENT_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

#include <dropipc/dropipc.h>

#define PROG "dropipc-demo"

/* A line on stderr ("dropipc-demo: ..."); returns -1. */
int say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Lays out Drop's paths under state for env_id and sets them in a:
 * drop_home = state; env = state/envs/ENV_ID with home, etc, var in it;
 * run = state/internal/run/ENV_ID-RAND, made fresh, with root (fs_root)
 * and tmp in it; empty_dir and empty_file (mode 0) in state/internal.
 * cwd and host_home are the caller's. run (PATH_MAX) gets the run
 * directory, for layout_cleanup().
 */
int layout_make(const char *state, const char *env_id, const char *host_home, dropipc_args *a,
		char *run);

/* Removes the run directory and everything in it (no mount is left there:
 * the child's mounts lived in its own mount namespace). */
void layout_cleanup(const char *run);

/* pasta, for isolated networking. */
struct pasta {
	pid_t pid;  /* the process we started; then the daemon's */
	int pidfd;  /* of pid; -1 when none */
	bool ready; /* the first process exited 0: the network is up */
	char pidfile[PATH_MAX], errfile[PATH_MAX];
};

/* Starts pasta on the network namespace of child, with Drop's options and
 * a's port forwards; its files go in run. */
int pasta_start(struct pasta *p, const dropipc_args *a, pid_t child, const char *run, bool root,
		bool verbose);

/* pasta's first process has exited (its pidfd was readable): 0 when the
 * network is up (p then watches the daemon), -1 otherwise (said why). */
int pasta_started(struct pasta *p);

/* Stops the daemon, if any, and reaps it (we are a child subreaper). */
void pasta_stop(struct pasta *p);

#endif
