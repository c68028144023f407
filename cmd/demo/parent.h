/* SPDX-License-Identifier: Apache-2.0 OR MIT */
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
 * run = state/internal/run/ENV_ID-RAND, made fresh and held (the run
 * directories no launcher holds are removed first), with root (fs_root)
 * and tmp in it; empty_dir and empty_file (mode 0) in state/internal.
 * cwd and host_home are the caller's. run (PATH_MAX) gets the run
 * directory, for layout_cleanup().
 */
int layout_make(const char *state, const char *env_id, const char *host_home, dropipc_args *a,
		char *run);

/* Lets go of this run directory's lock (after layout_cleanup()): a run
 * directory nobody holds is removed by the next launcher, one a killed
 * launcher left included. */
void layout_release(void);

/* Removes the run directory and everything in it, whatever modes the
 * payload left, following no symlink (no mount is left there: the child's
 * mounts lived in its own mount namespace). */
void layout_cleanup(const char *run);

/* pasta, for isolated networking: our child, in the foreground. */
struct pasta {
	pid_t pid;  /* pasta; -1 when none */
	int pidfd;  /* of pid; -1 when none */
	bool ready; /* it wrote its pid file: the network is up */
	char pidfile[PATH_MAX], errfile[PATH_MAX];
};

/* Starts pasta on the network namespace of child, with Drop's options and
 * a's port forwards; its files go in run. */
int pasta_start(struct pasta *p, const dropipc_args *a, pid_t child, const char *run, bool root,
		bool verbose);

/* Whether pasta has written its pid in its pid file, which it does once
 * the network is up: 1 (p->ready is then set), or 0. */
int pasta_ready(struct pasta *p);

/* pasta exited (its pidfd was readable): reaps it and says why. */
void pasta_failed(struct pasta *p);

/* Stops pasta, if it runs, and reaps it. */
void pasta_stop(struct pasta *p);

#endif
