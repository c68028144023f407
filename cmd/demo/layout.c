/* SPDX-License-Identifier: Apache-2.0 */
/* Drop's paths under the demo's state directory. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "parent.h"

/* mkdir -p, the last component with mode. */
static int mkdirs(const char *p, mode_t mode)
{
	char buf[PATH_MAX];

	if (snprintf(buf, sizeof(buf), "%s", p) >= (int)sizeof(buf))
		return say("%s: path too long", p);
	for (char *s = strchr(buf + 1, '/');; s = strchr(s + 1, '/')) {
		if (s)
			*s = '\0';
		if (mkdir(buf, s ? 0700 : mode) < 0 && errno != EEXIST)
			return say("mkdir %s: %s", buf, strerror(errno));
		if (!s)
			break;
		*s = '/';
	}
	return 0;
}

/* Sets path which to x followed by y, and copies it to out (if not NULL). */
static int set(dropipc_args *a, dropipc_path which, char *out, const char *x, const char *y)
{
	char buf[PATH_MAX];

	if (snprintf(buf, sizeof(buf), "%s%s", x, y) >= (int)sizeof(buf))
		return say("%s: path too long", x);
	if (out)
		strcpy(out, buf);
	return dropipc_args_set_path(a, which, buf) < 0 ? say("out of memory") : 0;
}

int layout_make(const char *state, const char *env_id, const char *host_home, dropipc_args *a,
		char *run)
{
	char env[PATH_MAX], p[PATH_MAX], cwd[PATH_MAX];
	int fd;

	if (!getcwd(cwd, sizeof(cwd)))
		return say("getcwd: %s", strerror(errno));
	if (state[0] != '/')
		return say("--state %s: not an absolute path", state);
	if (set(a, DROPIPC_PATH_CWD, NULL, cwd, "") < 0 ||
	    set(a, DROPIPC_PATH_HOST_HOME, NULL, host_home, "") < 0 ||
	    set(a, DROPIPC_PATH_DROP_HOME, NULL, state, "") < 0 ||
	    set(a, DROPIPC_PATH_ENV, env, state, "/envs/") < 0 ||
	    strlen(env) + strlen(env_id) >= PATH_MAX ||
	    set(a, DROPIPC_PATH_ENV, env, env, env_id) < 0)
		return -1;
	if (set(a, DROPIPC_PATH_HOME, p, env, "/home") < 0 || mkdirs(p, 0700) < 0 ||
	    set(a, DROPIPC_PATH_ETC, p, env, "/etc") < 0 || mkdirs(p, 0755) < 0 ||
	    set(a, DROPIPC_PATH_VAR, p, env, "/var") < 0 || mkdirs(p, 0755) < 0)
		return -1;
	snprintf(p, sizeof(p), "%s/internal/run", state);
	if (mkdirs(p, 0700) < 0)
		return -1;
	if (snprintf(run, PATH_MAX, "%s/%s-XXXXXX", p, env_id) >= PATH_MAX)
		return say("%s: path too long", p);
	if (!mkdtemp(run))
		return say("mkdtemp %s: %s", run, strerror(errno));
	if (dropipc_args_set_path(a, DROPIPC_PATH_RUN, run) < 0 ||
	    set(a, DROPIPC_PATH_FS_ROOT, p, run, "/root") < 0 || mkdirs(p, 0755) < 0 ||
	    set(a, DROPIPC_PATH_TMP, p, run, "/tmp") < 0 || mkdirs(p, 01777) < 0 ||
	    chmod(p, 01777) < 0)
		return say("%s: %s", p, strerror(errno));
	if (set(a, DROPIPC_PATH_EMPTY_DIR, p, state, "/internal/empty_dir") < 0 ||
	    mkdirs(p, 0) < 0 || chmod(p, 0) < 0)
		return say("%s: %s", p, strerror(errno));
	if (set(a, DROPIPC_PATH_EMPTY_FILE, p, state, "/internal/empty_file") < 0)
		return -1;
	/* Mode 0 once made: not opened for writing again. */
	fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0);
	if (fd < 0 && errno != EEXIST)
		return say("%s: %s", p, strerror(errno));
	if (fd >= 0)
		close(fd);
	if (chmod(p, 0) < 0)
		return say("chmod %s: %s", p, strerror(errno));
	return 0;
}

static int rm_one(const char *p, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (type == FTW_DP || type == FTW_D || type == FTW_DNR)
		rmdir(p);
	else
		unlink(p);
	return 0;
}

void layout_cleanup(const char *run)
{
	if (run && run[0])
		nftw(run, rm_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}
