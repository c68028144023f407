/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * The escape suite's probe (test/sandbox/escape.sh): what a shell cannot
 * do. Runs outside the sandbox (with-key, to set the scene) and inside it
 * (key-read, key-search, no-pdeathsig, as a payload would).
 *   with-key CMD...      joins a new session keyring, adds the user key
 *                        "dropipc-sbx-secret" to it and the key
 *                        "dropipc-sbx-user-secret" to the user keyring,
 *                        prints "outside ID" (the session keyring's id) and
 *                        runs CMD, with "@KEYID@" in its arguments replaced
 *                        by the first key's id; then unlinks the second
 *                        (the user keyring is the host's) and exits as CMD
 *   key-search           prints "inside ID" (our session keyring), then
 *                        "FOUND ..." for the key found in the user keyring,
 *                        and "FOUND TEXT" if the first is found in the
 *                        session keyring and read, else "none"
 *   key-read ID          prints "FOUND TEXT" if key ID can be read, else
 *                        "denied: ERROR"
 *   no-pdeathsig CMD...  clears the parent-death signal and execs CMD
 *   uncover PATH...      tries to unmount each PATH, or make it writable
 *                        (remount, mount_setattr), in its own mount
 *                        namespace and then in a new user and mount
 *                        namespace of its own, printing "UNCOVERED HOW
 *                        PATH" for each that works, then "tried N"
 *   sti TEXT             pushes TEXT into the input of the terminal on
 *                        fd 0 (TIOCSTI), printing "sti ok" or "sti: ERROR"
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <sched.h>
#include <linux/keyctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define DESC "dropipc-sbx-secret"
#define UDESC "dropipc-sbx-user-secret"

static long keyctl(int op, unsigned long a, unsigned long b, unsigned long c, unsigned long d)
{
	return syscall(SYS_keyctl, op, a, b, c, d);
}

static int read_key(long id)
{
	char buf[64];
	long n = keyctl(KEYCTL_READ, (unsigned long)id, (unsigned long)buf, sizeof(buf) - 1, 0);

	if (n < 0) {
		printf("denied: %s\n", strerror(errno));
		return 0;
	}
	buf[n < (long)sizeof(buf) ? n : (long)sizeof(buf) - 1] = '\0';
	printf("FOUND %s\n", buf);
	return 0;
}

/* Each way to take away what covers path or makes it read-only. */
static void uncover(const char *ns, const char *path)
{
	struct mount_attr ma = { .attr_clr = MOUNT_ATTR_RDONLY };

	if (mount(NULL, path, NULL, MS_REMOUNT | MS_BIND, NULL) == 0)
		printf("UNCOVERED remount-rw %s %s\n", ns, path);
	if (syscall(SYS_mount_setattr, AT_FDCWD, path, 0, &ma, sizeof(ma)) == 0)
		printf("UNCOVERED setattr-rw %s %s\n", ns, path);
	if (umount2(path, 0) == 0)
		printf("UNCOVERED umount %s %s\n", ns, path);
	if (umount2(path, MNT_DETACH) == 0)
		printf("UNCOVERED umount-detach %s %s\n", ns, path);
}

int main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "with-key")) {
		char idbuf[32];
		long ses = keyctl(KEYCTL_JOIN_SESSION_KEYRING, (unsigned long)"dropipc-sbx-test", 0, 0, 0);
		long key = syscall(SYS_add_key, "user", DESC, "s3cret", 6, KEY_SPEC_SESSION_KEYRING);
		long ukey = syscall(SYS_add_key, "user", UDESC, "u-s3cret", 8, KEY_SPEC_USER_KEYRING);
		int status = 127;
		pid_t pid;

		if (ses < 0 || key < 0 || ukey < 0) {
			perror("sbx_probe with-key");
			return 77;
		}
		printf("outside %ld\n", ses);
		fflush(stdout);
		snprintf(idbuf, sizeof(idbuf), "%ld", key);
		for (int i = 2; i < argc; i++)
			if (!strcmp(argv[i], "@KEYID@"))
				argv[i] = idbuf;
		/* The user keyring outlives us: its key goes when CMD is done. */
		pid = fork();
		if (pid == 0) {
			execvp(argv[2], argv + 2);
			perror(argv[2]);
			_exit(127);
		}
		if (pid > 0)
			waitpid(pid, &status, 0);
		keyctl(KEYCTL_UNLINK, (unsigned long)ukey, (unsigned long)KEY_SPEC_USER_KEYRING, 0, 0);
		return WIFEXITED(status) ? WEXITSTATUS(status) : 127;
	}
	if (argc == 2 && !strcmp(argv[1], "key-search")) {
		long ses = keyctl(KEYCTL_GET_KEYRING_ID, (unsigned long)KEY_SPEC_SESSION_KEYRING, 0, 0, 0);
		long key = keyctl(KEYCTL_SEARCH, (unsigned long)KEY_SPEC_SESSION_KEYRING,
				  (unsigned long)"user", (unsigned long)DESC, 0);
		long ukey = keyctl(KEYCTL_SEARCH, (unsigned long)KEY_SPEC_USER_KEYRING,
				   (unsigned long)"user", (unsigned long)UDESC, 0);

		printf("inside %ld\n", ses);
		if (ukey >= 0)
			printf("FOUND in the user keyring\n");
		if (key < 0) {
			printf("none\n");
			return 0;
		}
		return read_key(key);
	}
	if (argc == 3 && !strcmp(argv[1], "key-read"))
		return read_key(strtol(argv[2], NULL, 10));
	if (argc >= 3 && !strcmp(argv[1], "no-pdeathsig")) {
		prctl(PR_SET_PDEATHSIG, 0);
		execvp(argv[2], argv + 2);
		perror(argv[2]);
		return 127;
	}
	if (argc >= 3 && !strcmp(argv[1], "uncover")) {
		int n = 0;

		for (int round = 0; round < 2; round++) {
			const char *ns = round ? "nested" : "own";

			if (round && unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0) {
				printf("unshare: %s\n", strerror(errno));
				break;
			}
			for (int i = 2; i < argc; i++, n++)
				uncover(ns, argv[i]);
		}
		printf("tried %d\n", n);
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "sti")) {
		for (const char *c = argv[2]; *c; c++) {
			if (ioctl(0, TIOCSTI, c) < 0) {
				printf("sti: %s\n", strerror(errno));
				return 0;
			}
		}
		printf("sti ok\n");
		return 0;
	}
	fprintf(stderr, "usage: sbx_probe with-key CMD... | key-search | key-read ID | "
			"no-pdeathsig CMD... | uncover PATH... | sti TEXT\n");
	return 2;
}
