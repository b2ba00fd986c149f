/*
 * criterion_selftest_mixed.c - built only for criterion_run_selftest: one test
 * skips and one fails, so criterion-run.sh must report the program failed.
 */
#include <criterion/criterion.h>

Test(criterion_run_mixed, skips)
{
	cr_skip_test("skipped on purpose");
}

Test(criterion_run_mixed, fails)
{
	cr_assert_eq(1, 2, "failed on purpose");
}
