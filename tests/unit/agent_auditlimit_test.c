/*
 * agent_auditlimit_test.c - the budget of refusal rows in the audit log
 * (agent/service/audit_limit.h): per listener at most N rows a second, the
 * rest counted exactly and handed out as one summary before the listener's
 * next row. The clock is passed in, so nothing here waits.
 */
#include <criterion/criterion.h>

#include "audit_limit.h"

#define SEC 1000000000ull

Test(audit_limit, within_the_budget_every_refusal_gets_a_row)
{
	struct audit_limit l;
	uint64_t before;

	audit_limit_init(&l, 3);
	for (int i = 0; i < 3; i++) {
		cr_expect(audit_limit_admit(&l, 1, 5 * SEC + (uint64_t)i, &before));
		cr_expect_eq(before, 0);
	}
	cr_expect_eq(l.suppressed, 0);
	cr_expect_eq(audit_limit_take(&l, 1), 0);
}

Test(audit_limit, a_flood_is_counted_and_summarized_before_the_next_row)
{
	struct audit_limit l;
	uint64_t before, rows = 0;

	audit_limit_init(&l, 10);
	/* 1000 refusals within one second: 10 rows, 990 counted. */
	for (uint64_t i = 0; i < 1000; i++)
		if (audit_limit_admit(&l, 1, 7 * SEC + i * 1000, &before)) {
			rows++;
			cr_expect_eq(before, 0);
		}
	cr_expect_eq(rows, 10);
	cr_expect_eq(l.suppressed, 990);
	/* The next second's first refusal gets its row, after the summary. */
	cr_expect(audit_limit_admit(&l, 1, 8 * SEC, &before));
	cr_expect_eq(before, 990);
	cr_expect_eq(audit_limit_take(&l, 1), 0, "a summary is handed out once");
	cr_expect_eq(l.suppressed, 990, "the total since start stays");
}

Test(audit_limit, listeners_have_separate_budgets)
{
	struct audit_limit l;
	uint64_t before;

	audit_limit_init(&l, 2);
	cr_expect(audit_limit_admit(&l, 1, SEC, &before));
	cr_expect(audit_limit_admit(&l, 1, SEC, &before));
	cr_expect_not(audit_limit_admit(&l, 1, SEC, &before));
	/* A flood on the read-only socket leaves TLS refusals recorded. */
	cr_expect(audit_limit_admit(&l, 2, SEC, &before));
	cr_expect_eq(before, 0);
	cr_expect_eq(audit_limit_take(&l, 2), 0);
	cr_expect_eq(audit_limit_take(&l, 1), 1);
}

Test(audit_limit, take_flushes_a_pending_count_without_a_new_refusal)
{
	struct audit_limit l;
	uint64_t before;

	audit_limit_init(&l, 1);
	cr_expect(audit_limit_admit(&l, 1, SEC, &before));
	for (int i = 0; i < 5; i++)
		cr_expect_not(audit_limit_admit(&l, 1, SEC + 1, &before));
	cr_expect_eq(audit_limit_take(&l, 1), 5);
	cr_expect_eq(audit_limit_take(&l, 1), 0);
	/* Still within the window: the next one is counted again. */
	cr_expect_not(audit_limit_admit(&l, 1, SEC + 2, &before));
	cr_expect_eq(audit_limit_take(&l, 1), 1);
}

Test(audit_limit, out_of_range_listener_and_clock_going_back_are_safe)
{
	struct audit_limit l;
	uint64_t before;

	audit_limit_init(&l, 0); /* 0 means 1 */
	cr_expect(audit_limit_admit(&l, 99, 10 * SEC, &before));
	cr_expect_not(audit_limit_admit(&l, 99, 10 * SEC, &before));
	/* A clock that went back opens a new window rather than none. */
	cr_expect(audit_limit_admit(&l, 99, 3 * SEC, &before));
	cr_expect_eq(before, 1);
	/* A clock reading of 0 still counts as a window start. */
	cr_expect(audit_limit_admit(&l, 0, 0, &before));
	cr_expect_not(audit_limit_admit(&l, 0, 0, &before));
}
