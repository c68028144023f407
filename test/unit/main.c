/*
 * The core library's unit tests. Every suite runs unless CK_RUN_SUITE names
 * one (ctest runs each suite as its own test that way).
 */
#include <stdlib.h>

#include "unit.h"

int main(void)
{
	SRunner *sr = srunner_create(suite_roundtrip());

	srunner_add_suite(sr, suite_fds());
	srunner_add_suite(sr, suite_errors());
	srunner_add_suite(sr, suite_api());
	srunner_add_suite(sr, suite_hardening());
	return test_srunner_run(sr);
}
