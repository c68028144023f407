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
 * the same values cmd/bench/gob/main.go builds. NULL if out of memory.
 */
dropipc_child_args *bench_args_new(struct shape s);
void bench_args_free(dropipc_child_args *args);

/* Size of the Envelope that carries args: the frame's payload. */
size_t bench_envelope_size(const dropipc_child_args *args);

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

#endif
