/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * The program test_spawn starts with dropipc_spawn(): it says on stdout
 * what it finds itself started with. Modes (argv[1]):
 *   report  writes "hello" on fd 3, then one "key value" line each: uid,
 *           gid, uid_map, gid_map (lines joined by ';', blanks collapsed),
 *           setgroups, capeff, capinh, capamb, capbnd, sigblk and sigign (hex,
 *           from /proc/self/status),
 *           ns_user ... ns_cgroup (the /proc/self/ns links), fds (the
 *           open fds, ascending), fdN (the target of each fd from 4 up);
 *   exit    exits 0 at once;
 *   sleep   waits for a signal, forever.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void print_file(const char *key, const char *path)
{
	char buf[4096], out[4096];
	size_t n, o = 0;
	FILE *f = fopen(path, "re");
	int blank = 1;

	if (!f) {
		printf("%s <none>\n", key);
		return;
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	for (size_t i = 0; i < n && o + 1 < sizeof(out); i++) {
		char c = buf[i];

		if (c == ' ' || c == '\t') {
			if (!blank)
				out[o++] = ' ';
			blank = 1;
		} else if (c == '\n') {
			if (o && out[o - 1] == ' ')
				o--;
			out[o++] = ';';
			blank = 1;
		} else {
			out[o++] = c;
			blank = 0;
		}
	}
	if (o && out[o - 1] == ';')
		o--;
	out[o] = '\0';
	printf("%s %s\n", key, out);
}

static void print_status(const char *key, const char *field)
{
	char line[256];
	size_t len = strlen(field);
	FILE *f = fopen("/proc/self/status", "re");

	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, field, len) == 0 && line[len] == ':') {
			printf("%s %s", key, line + len + 2);
			break;
		}
	if (f)
		fclose(f);
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

static void print_fds(void)
{
	int fds[1024], n = 0;
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;

	if (!d) {
		printf("fds <none>\n");
		return;
	}
	while ((e = readdir(d)) && n < 1024)
		if (e->d_name[0] != '.' && atoi(e->d_name) != dirfd(d))
			fds[n++] = atoi(e->d_name);
	closedir(d);
	qsort(fds, (size_t)n, sizeof(int), cmp_int);
	printf("fds");
	for (int i = 0; i < n; i++)
		printf(" %d", fds[i]);
	printf("\n");
	for (int i = 0; i < n; i++) {
		char path[64], target[PATH_MAX];
		ssize_t len;

		if (fds[i] < 4)
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fds[i]);
		len = readlink(path, target, sizeof(target) - 1);
		target[len < 0 ? 0 : len] = '\0';
		printf("fd%d %s\n", fds[i], target);
	}
}

static int report(void)
{
	static const char *const ns[] = { "user", "mnt", "pid", "uts", "ipc", "net", "cgroup" };

	if (write(3, "hello", 5) != 5)
		printf("channel <broken>\n");
	printf("uid %u\ngid %u\n", (unsigned)getuid(), (unsigned)getgid());
	print_file("uid_map", "/proc/self/uid_map");
	print_file("gid_map", "/proc/self/gid_map");
	print_file("setgroups", "/proc/self/setgroups");
	print_status("capeff", "CapEff");
	print_status("capinh", "CapInh");
	print_status("capamb", "CapAmb");
	print_status("capbnd", "CapBnd");
	print_status("sigblk", "SigBlk");
	print_status("sigign", "SigIgn");
	for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
		char path[64], target[128];
		ssize_t len;

		snprintf(path, sizeof(path), "/proc/self/ns/%s", ns[i]);
		len = readlink(path, target, sizeof(target) - 1);
		target[len < 0 ? 0 : len] = '\0';
		printf("ns_%s %s\n", ns[i], target);
	}
	print_fds();
	return fflush(stdout) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "report") == 0)
		return report();
	if (argc == 2 && strcmp(argv[1], "exit") == 0)
		return 0;
	if (argc == 2 && strcmp(argv[1], "sleep") == 0)
		for (;;)
			pause();
	fprintf(stderr, "usage: spawn-probe report|exit|sleep\n");
	return 2;
}
