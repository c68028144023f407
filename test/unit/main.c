/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * The core library's unit tests. Every suite runs unless CK_RUN_SUITE names
 * one (ctest runs each suite as its own test that way).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

int main(void)
{
	const char *only = getenv("CK_RUN_SUITE");
	SRunner *sr;

	if (!unit_pidfd_supported() && only && strcmp(only, "pidfd") == 0) {
		fprintf(stderr, "SKIP: this kernel has no pidfd_open(2)\n");
		return 77;
	}
	sr = srunner_create(suite_roundtrip());
	srunner_add_suite(sr, suite_fds());
	srunner_add_suite(sr, suite_errors());
	srunner_add_suite(sr, suite_api());
	srunner_add_suite(sr, suite_args());
	srunner_add_suite(sr, suite_custom());
	srunner_add_suite(sr, suite_nonblock());
	if (unit_pidfd_supported())
		srunner_add_suite(sr, suite_pidfd());
	srunner_add_suite(sr, suite_hardening());
	srunner_add_suite(sr, suite_init());
	return test_srunner_run(sr);
}
