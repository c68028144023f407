/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/* Declarations shared by the benchmark's files. */
#ifndef DROPIPC_BENCH_H
#define DROPIPC_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <dropipc/dropipc.h>

/* ---- payload.c: the ChildArgs values ------------------------------------ */

/* How many mounts, blocked paths and exec args a payload has (each >= 2). */
struct shape {
	unsigned mounts, blocked, execs;
};

/*
 * The example of the Go ipc package's test (test/common's
 * test_example_args()), grown to the shape's counts with generated entries:
 * the same values cmd/bench/gob/main.go builds, with the setters. NULL if
 * out of memory. Freed with dropipc_args_free().
 */
dropipc_args *bench_args_new(struct shape s);

/* Size of the Envelope that carries args: the frame's payload, as the
 * library sends it (up to max_payload bytes). 0 if it cannot be sent. */
size_t bench_envelope_size(const dropipc_args *args, size_t max_payload);

/* ---- alloccount.c: counting malloc -------------------------------------- */

struct alloc_stats {
	uint64_t count; /* allocations (malloc, calloc, realloc) */
	int64_t cur;    /* bytes held now, relative to the start */
	int64_t peak;   /* most bytes held at once, relative to the start */
};

/* False when the build cannot count (sanitizers bring their own malloc). */
bool alloc_count_available(void);
void alloc_count_start(void);
struct alloc_stats alloc_count_stop(void);

/* ---- dropipc-bench.c ------------------------------------------------------ */

extern const char *prog;
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Bytes of a frame header, and of the pty frame: a header and an
 * Envelope{pty{master_fd: 0}}. */
#define HEADER 16
#define PTY_FRAME (HEADER + 2)

/* ---- spawn_bench.c: spawn to the child's first receive ------------------ */

/* The child, after exec (--spawn-child). */
int spawn_child_main(void);
/* Times dropipc_spawn() and a bare fork and exec of self; prints a table. */
void spawn_bench(const char *self, bool quick);

/* ---- report.c: samples, tables, targets ----------------------------------- */

struct samples {
	double *v; /* microseconds */
	size_t n, cap;
	bool sorted;
};

void sample_add(struct samples *s, int64_t ns);
/* The q-quantile (0..1) of the samples, 0 if there are none. */
double quantile(struct samples *s, double q);
double median(struct samples *s);

/* One payload of the run and everything measured with it. */
struct payload {
	char name[24];
	struct shape shape;
	bool series, cold;
	dropipc_args *args;
	size_t body;    /* the Envelope's bytes */
	size_t gob_wire; /* bytes gob put on the wire, both ways */
	struct samples lib, floor, gob, lib_cold, gob_cold;
	struct alloc_stats alloc;
	int64_t gob_mallocs, gob_allocated;
};

/* What a run measured, for the report. */
struct results {
	struct payload *pl; /* typical, large, then the size series */
	size_t npl;
	bool gob;	    /* gob was measured */
	unsigned blocks, cold_samples;
};

/* Bytes a handshake puts on the wire, both ways; the floor's share of it. */
size_t lib_wire(const struct payload *pl);
size_t floor_bytes(const struct payload *pl);

/* Prints the warm, cold and allocation tables, then the targets. */
void report(struct results *r);

/* The size series, for gnuplot (cmd/bench/bench.gp). */
void write_data(struct results *r, const char *path);

#endif
