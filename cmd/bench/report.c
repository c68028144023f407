/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * The benchmark's numbers: samples and their quantiles, the tables printed
 * at the end of a run, the targets, and the data file for the plot.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

/* ---- statistics ----------------------------------------------------------- */

void sample_add(struct samples *s, int64_t ns)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 64;
		s->v = realloc(s->v, s->cap * sizeof(*s->v));
		if (!s->v)
			die("no memory for samples");
	}
	s->v[s->n++] = (double)ns / 1000.0;
	s->sorted = false;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The q-quantile (0..1) of the samples, 0 if there are none. */
double quantile(struct samples *s, double q)
{
	if (s->n == 0)
		return 0;
	if (!s->sorted) {
		qsort(s->v, s->n, sizeof(*s->v), cmp_double);
		s->sorted = true;
	}
	return s->v[(size_t)(q * (double)(s->n - 1) + 0.5)];
}

double median(struct samples *s)
{
	return quantile(s, 0.5);
}

size_t lib_wire(const struct payload *pl)
{
	return HEADER + pl->body + PTY_FRAME;
}

size_t floor_bytes(const struct payload *pl)
{
	return HEADER + pl->body;
}

/* ---- the tables and the targets ------------------------------------------ */

static void print_row(const char *name, size_t body, const char *what, struct samples *s,
		      double floor_us, double gob_us, size_t wire)
{
	char vs_floor[24] = "", vs_gob[24] = "", body_s[24] = "";

	if (s->n == 0)
		return;
	if (floor_us > 0)
		snprintf(vs_floor, sizeof(vs_floor), "%.2f", median(s) / floor_us);
	if (gob_us > 0)
		snprintf(vs_gob, sizeof(vs_gob), "%.3f", median(s) / gob_us);
	if (body)
		snprintf(body_s, sizeof(body_s), "%zu", body);
	printf("| %-8s | %8s | %-7s | %10.1f | %10.1f-%-10.1f | %7s | %7s | %8zu |\n", name,
	       body_s, what, median(s), quantile(s, 0.1), quantile(s, 0.9), vs_floor, vs_gob,
	       wire);
}

static void report_warm(struct results *r)
{
	printf("\nWarm handshake, per round trip: median and p10-p90 in microseconds, over %u\n"
	       "interleaved blocks; ratios are of medians; wire bytes count both directions.\n\n",
	       r->blocks);
	printf("| payload  | protobuf | what    |     median |       p10-p90         | x floor |   x gob | wire B   |\n");
	printf("|----------|---------:|---------|-----------:|-----------------------|--------:|--------:|---------:|\n");
	for (size_t i = 0; i < r->npl; i++) {
		struct payload *pl = &r->pl[i];
		double fl = median(&pl->floor), gob = median(&pl->gob);

		print_row(pl->name, pl->body, "dropipc", &pl->lib, fl, gob, lib_wire(pl));
		print_row("", 0, "floor", &pl->floor, fl, 0, floor_bytes(pl) + 1);
		print_row("", 0, "gob", &pl->gob, fl, gob, pl->gob_wire);
	}
}

static void report_cold(struct results *r)
{
	printf("\nCold handshake: the first round trip in a fresh pair of processes (start-up\n"
	       "excluded), %u samples each, microseconds.\n\n",
	       r->cold_samples);
	printf("| payload  | what    |     median |       p10-p90         |   x gob |\n");
	printf("|----------|---------|-----------:|-----------------------|--------:|\n");
	for (size_t i = 0; i < r->npl; i++) {
		struct payload *pl = &r->pl[i];
		struct samples *rows[] = { &pl->lib_cold, &pl->gob_cold };
		const char *what[] = { "dropipc", "gob" };
		double gob = median(&pl->gob_cold);

		for (size_t k = 0; k < 2; k++) {
			char vs_gob[16] = "";

			if (rows[k]->n == 0)
				continue;
			if (gob > 0)
				snprintf(vs_gob, sizeof(vs_gob), "%.3f", median(rows[k]) / gob);
			printf("| %-8s | %-7s | %10.1f | %10.1f-%-10.1f | %7s |\n", k ? "" : pl->name,
			       what[k], median(rows[k]), quantile(rows[k], 0.1),
			       quantile(rows[k], 0.9), vs_gob);
		}
	}
}

/* Whether allocations were counted: not with sanitizers, nor under valgrind,
 * which takes malloc over (a receive always allocates). */
static bool counted(const struct results *r)
{
	return alloc_count_available() && r->pl[0].alloc.count > 0;
}

static void report_allocs(struct results *r)
{
	printf("\nOne receive of ChildArgs (the child's, warm): allocations, and the bytes held\n"
	       "at the peak and after (the decoded message), as malloc_usable_size counts them.\n"
	       "gob: heap allocations and bytes allocated by one decode (Go's MemStats).\n\n");
	printf("| payload  | protobuf | allocs |   peak B | peak/wire |   held B | gob allocs | gob alloc B |\n");
	printf("|----------|---------:|-------:|---------:|----------:|---------:|-----------:|------------:|\n");
	for (size_t i = 0; i < r->npl; i++) {
		struct payload *pl = &r->pl[i];
		char gob_n[24] = "", gob_b[24] = "";

		if (r->gob) {
			snprintf(gob_n, sizeof(gob_n), "%" PRId64, pl->gob_mallocs);
			snprintf(gob_b, sizeof(gob_b), "%" PRId64, pl->gob_allocated);
		}
		if (counted(r))
			printf("| %-8s | %8zu | %6" PRIu64 " | %8" PRId64 " | %9.2f | %8" PRId64
			       " | %10s | %11s |\n",
			       pl->name, pl->body, pl->alloc.count, pl->alloc.peak,
			       (double)pl->alloc.peak / (double)floor_bytes(pl), pl->alloc.cur, gob_n,
			       gob_b);
		else
			printf("| %-8s | %8zu |    n/a |      n/a |       n/a |      n/a | %10s | %11s |\n",
			       pl->name, pl->body, gob_n, gob_b);
	}
}

static void target(const char *what, double value, const char *unit, bool met)
{
	printf("| %-52s | %10.2f%-2s | %-4s |\n", what, value, unit, met ? "met" : "MISS");
}

static void report_targets(struct results *r)
{
	struct payload *typ = &r->pl[0], *large = &r->pl[1];
	double worst_peak = 0;
	uint64_t most_allocs = 0;

	printf("\nTargets (reported, not asserted):\n\n");
	printf("| target                                               |      value   |      |\n");
	printf("|------------------------------------------------------|-------------:|------|\n");
	target("typical warm: dropipc/floor <= 1.15", median(&typ->lib) / median(&typ->floor), "x",
	       median(&typ->lib) <= 1.15 * median(&typ->floor));
	target("large warm: dropipc/floor <= 4", median(&large->lib) / median(&large->floor), "x",
	       median(&large->lib) <= 4 * median(&large->floor));
	if (r->gob) {
		target("large warm: gob/dropipc >= 3", median(&large->gob) / median(&large->lib), "x",
		       median(&large->gob) >= 3 * median(&large->lib));
		for (size_t i = 0; i < 2; i++) {
			struct payload *pl = &r->pl[i];
			char what[64];

			snprintf(what, sizeof(what), "%s cold: gob/dropipc >= 5", pl->name);
			target(what, median(&pl->gob_cold) / median(&pl->lib_cold), "x",
			       median(&pl->gob_cold) >= 5 * median(&pl->lib_cold));
			snprintf(what, sizeof(what), "%s wire: dropipc/gob < 1", pl->name);
			target(what, (double)lib_wire(pl) / (double)pl->gob_wire, "x",
			       lib_wire(pl) < pl->gob_wire);
		}
	}
	if (!counted(r))
		return;
	for (size_t i = 0; i < r->npl; i++) {
		double peak = (double)r->pl[i].alloc.peak / (double)floor_bytes(&r->pl[i]);

		if (peak > worst_peak)
			worst_peak = peak;
		if (r->pl[i].alloc.count > most_allocs)
			most_allocs = r->pl[i].alloc.count;
	}
	target("receive: most allocations per message <= 8", (double)most_allocs, "",
	       most_allocs <= 8);
	target("receive: worst peak/wire <= 5", worst_peak, "x", worst_peak <= 5);
}

/* The size series as columns for gnuplot: bytes, dropipc, floor, gob (us). */
void write_data(struct results *r, const char *path)
{
	FILE *f = fopen(path, "w");

	if (!f)
		die("open %s: %s", path, strerror(errno));
	fprintf(f, "# protobuf_bytes dropipc_us floor_us gob_us (medians, warm)\n");
	for (size_t i = 0; i < r->npl; i++) {
		struct payload *pl = &r->pl[i];

		if (pl->series)
			fprintf(f, "%zu %.2f %.2f %.2f\n", pl->body, median(&pl->lib),
				median(&pl->floor), r->gob ? median(&pl->gob) : 0.0);
	}
	if (fclose(f) != 0)
		die("write %s: %s", path, strerror(errno));
}


void report(struct results *r)
{
	report_warm(r);
	report_cold(r);
	report_allocs(r);
	report_targets(r);
}
