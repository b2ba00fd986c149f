/*
 * criterion_selftest_skipped.c - built only for criterion_run_selftest: every
 * test skips, so criterion-run.sh must report the program skipped.
 */
#include <criterion/criterion.h>

Test(criterion_run_skipped, first)
{
	cr_skip_test("skipped on purpose");
}

Test(criterion_run_skipped, second)
{
	cr_skip_test("skipped on purpose");
}
