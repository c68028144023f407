/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * Runs the fuzz target once on each file given (a directory: on each file in
 * it), without libFuzzer: the seed corpus as a plain test, in every build.
 * With --all-valid, every input must deliver at least one message. With
 * --pieces, each input runs in pieces mode, cut into pieces of several
 * sizes (see fuzz_recv.h).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_recv.h"

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rbe");
	uint8_t *buf;
	long len;

	if (!f) {
		fprintf(stderr, "replay: open %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (fseek(f, 0, SEEK_END) < 0 || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) < 0) {
		fprintf(stderr, "replay: seek %s: %s\n", path, strerror(errno));
		fclose(f);
		return -1;
	}
	buf = malloc(len ? (size_t)len : 1);
	if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len) {
		fprintf(stderr, "replay: read %s failed\n", path);
		free(buf);
		fclose(f);
		return -1;
	}
	fclose(f);
	if (fuzz_pieces && len > 0) {
		/* The same bytes in pieces of each of these sizes (0: 256). */
		static const uint8_t sizes[][3] = {
			{ 1, 1 }, { 1, 2 }, { 2, 3, 1 }, { 1, 7 }, { 2, 16, 5 }, { 1, 0 },
		};
		uint8_t *in = malloc((size_t)len + 4);

		if (!in) {
			free(buf);
			return -1;
		}
		for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
			size_t n = sizes[k][0];

			in[0] = buf[0];
			memcpy(in + 1, sizes[k], n + 1);
			memcpy(in + 2 + n, buf + 1, (size_t)len - 1);
			LLVMFuzzerTestOneInput(in, (size_t)len + 1 + n);
		}
		free(in);
	} else {
		LLVMFuzzerTestOneInput(buf, (size_t)len);
	}
	free(buf);
	return 0;
}

static bool all_valid;

static int run_path(const char *path, int *count)
{
	struct dirent **names;
	struct stat st;
	int n, r = 0;

	if (stat(path, &st) < 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		unsigned long before = fuzz_received;

		(*count)++;
		if (run_file(path) < 0)
			return -1;
		if (all_valid && fuzz_received == before) {
			fprintf(stderr, "replay: %s: no message received\n", path);
			return -1;
		}
		return 0;
	}
	n = scandir(path, &names, NULL, alphasort);
	if (n < 0) {
		fprintf(stderr, "replay: scandir %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (int i = 0; i < n; i++) {
		char sub[4096];

		if (names[i]->d_name[0] != '.' && r == 0) {
			snprintf(sub, sizeof(sub), "%s/%s", path, names[i]->d_name);
			r = run_path(sub, count);
		}
		free(names[i]);
	}
	free(names);
	return r;
}

int main(int argc, char **argv)
{
	int count = 0, i = 1;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--all-valid")) {
			all_valid = true;
		} else if (!strcmp(argv[i], "--pieces")) {
			fuzz_pieces = 1;
		} else {
			fprintf(stderr, "replay: unknown option %s\n", argv[i]);
			return 1;
		}
	}
	for (; i < argc; i++)
		if (run_path(argv[i], &count) < 0)
			return 1;
	if (count == 0) {
		fprintf(stderr, "replay: no inputs\n");
		return 1;
	}
	printf("replay: %d inputs, %lu messages received, no crash\n", count, fuzz_received);
	return 0;
}
