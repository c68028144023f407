/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/* Helpers shared by the C tests. */
#ifndef DROPIPC_TESTUTIL_H
#define DROPIPC_TESTUTIL_H

#include <check.h>
#include <dropipc/dropipc.h>

/* Number of fds open in this process (entries of /proc/self/fd). */
int test_count_fds(void);

/* Child processes of this process, zombies too (from
 * /proc/self/task/PID/children). */
int test_count_children(void);

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

/*
 * Records that the Check TCase named tcase cannot run here, printing why
 * ("SKIP hostile/fuse: no FUSE in a user namespace: ..."), if CK_RUN_CASE
 * selects it (or nothing). Call it from main instead of adding the TCase.
 */
void test_skip_case(const char *tcase, const char *why);

/*
 * Runs every selected test of sr and frees it; the exit status for main:
 * EXIT_FAILURE if a check failed or none ran at all (a CK_RUN_SUITE or
 * CK_RUN_CASE that matches nothing must not pass), 77 (ctest's
 * SKIP_RETURN_CODE) if none ran because every selected one was skipped,
 * EXIT_SUCCESS otherwise. Prints how many ran, failed and were skipped.
 */
int test_srunner_run(SRunner *sr);

/* Whether the len bytes at s are valid UTF-8 (written out here, not the
 * library's code, so that it can judge the library). */
int test_utf8_valid(const char *s, size_t len);

#endif
