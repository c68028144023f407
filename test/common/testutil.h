/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the C tests. */
#ifndef DROPIPC_TESTUTIL_H
#define DROPIPC_TESTUTIL_H

#include <check.h>
#include <dropipc/dropipc.h>

/* Number of fds open in this process (entries of /proc/self/fd). */
int test_count_fds(void);

/*
 * Check fixtures that record the open fds before each test and fail the
 * test if any is left open after it: add them to every TCase with
 * tcase_add_checked_fixture(tc, test_fd_setup, test_fd_teardown).
 */
void test_fd_setup(void);
void test_fd_teardown(void);

/*
 * The ChildArgs of the Go ipc package's own test, every field set: EnvId
 * test-env, twelve paths under /home/alice/.local/share/drop, two mounts,
 * blocked paths, exposed and set vars, net isolated with two published tcp
 * ports, exec args "ls -al". Built with the setters, a new one per call:
 * the caller's to change and to free with dropipc_args_free().
 */
dropipc_args *test_new_example_args(void);

/* The same values, built once and shared: do not free or change. */
const dropipc_args *test_example_args(void);

/* Asserts that two ChildArgs hold the same values, through the getters. */
void test_assert_args_equal(const dropipc_args *want, const dropipc_args *got);

#endif
