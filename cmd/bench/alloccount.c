/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * Counting malloc: the benchmark's executable defines malloc, calloc,
 * realloc and free, which take precedence over libc's for the whole process
 * (the library and protobuf-c included) and forward to glibc's own entry
 * points. While counting is on, they count allocations and track the bytes
 * held (as malloc_usable_size reports them, so allocator rounding counts).
 * Sanitizer builds replace malloc themselves: there this file only says
 * that counting is not available.
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdlib.h>

#include "bench.h"

#ifdef BENCH_COUNT_ALLOCS

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void __libc_free(void *p);

static bool counting;
static struct alloc_stats stats;

static void held(void *p, int sign)
{
	stats.cur += sign * (int64_t)malloc_usable_size(p);
	if (stats.cur > stats.peak)
		stats.peak = stats.cur;
}

void *malloc(size_t size)
{
	void *p = __libc_malloc(size);

	if (counting && p) {
		stats.count++;
		held(p, 1);
	}
	return p;
}

void *calloc(size_t n, size_t size)
{
	void *p = __libc_calloc(n, size);

	if (counting && p) {
		stats.count++;
		held(p, 1);
	}
	return p;
}

void *realloc(void *old, size_t size)
{
	size_t before = counting && old ? malloc_usable_size(old) : 0;
	void *p = __libc_realloc(old, size);

	if (counting && p) {
		stats.count++;
		stats.cur -= (int64_t)before;
		held(p, 1);
	}
	return p;
}

void free(void *p)
{
	if (counting && p)
		held(p, -1);
	__libc_free(p);
}

bool alloc_count_available(void)
{
	return true;
}

void alloc_count_start(void)
{
	stats = (struct alloc_stats){ 0 };
	counting = true;
}

struct alloc_stats alloc_count_stop(void)
{
	counting = false;
	return stats;
}

#else

bool alloc_count_available(void)
{
	return false;
}

void alloc_count_start(void)
{
}

struct alloc_stats alloc_count_stop(void)
{
	return (struct alloc_stats){ 0 };
}

#endif
