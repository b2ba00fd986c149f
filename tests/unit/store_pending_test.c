/* Commands queued until the safety policy allows them (migration "pending_ops"):
 * queued, listed oldest first, ended once, kept across a reopen, bad input refused
 * with a message naming what is wrong and nothing written. */
#include <string.h>

#include <criterion/criterion.h>

#include "store_testlib.h"

#define UUID1 "0b1e2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d"

TestSuite(store_pending, .init = t_setup, .fini = t_teardown);

static uint64_t queue(struct store *st, const char *op, const char *vm)
{
	struct store_err e;
	uint64_t id = 0;
	cr_assert_eq(store_pending_add(st, op, vm, UUID1, 250, "alice", "rule 1: no shutdown", &id,
				       &e),
		     STORE_OK, "%s", e.msg);
	return id;
}

Test(store_pending, queue_list_finish_and_reopen)
{
	struct store *st = t_open();
	struct store_err e;
	struct store_pending *l;
	size_t n;

	cr_assert_eq(queue(st, "shutdown", "rtos-demo"), 1);
	cr_assert_eq(queue(st, "reboot", "rtos-demo"), 2);
	cr_assert_eq(queue(st, "destroy", "linux"), 3);
	store_close(st);

	st = t_open(); /* durable */
	cr_assert_eq(store_pending_list(st, false, 100, &l, &n, &e), STORE_OK, "%s", e.msg);
	cr_assert_eq(n, 3);
	cr_assert_eq(l[0].id, 1);
	cr_assert_str_eq(l[0].op, "shutdown");
	cr_assert_str_eq(l[0].vm_name, "rtos-demo");
	cr_assert_str_eq(l[0].vm_uuid, UUID1);
	cr_assert_eq(l[0].arg, 250);
	cr_assert_str_eq(l[0].caller, "alice");
	cr_assert_eq(l[0].state, STORE_PENDING);
	cr_assert_eq(l[0].finished_ms, 0);
	cr_assert_str_eq(l[0].outcome, "rule 1: no shutdown");
	store_pending_list_free(l);

	cr_assert_eq(store_pending_finish(st, 1, STORE_PENDING_DONE, "done", &e), STORE_OK, "%s",
		     e.msg);
	cr_assert_eq(store_pending_finish(st, 2, STORE_PENDING_CANCELLED, "cancelled by bob", &e),
		     STORE_OK, "%s", e.msg);
	t_expect(store_pending_finish(st, 2, STORE_PENDING_DONE, "x", &e), &e, STORE_EINVAL,
		 "is not pending: it is cancelled");
	t_expect(store_pending_finish(st, 9, STORE_PENDING_DONE, "x", &e), &e, STORE_ENOTFOUND,
		 "no queued command 9");
	t_expect(store_pending_finish(st, 3, STORE_PENDING, "x", &e), &e, STORE_EINVAL,
		 "done, failed or cancelled");

	cr_assert_eq(store_pending_list(st, false, 100, &l, &n, &e), STORE_OK);
	cr_assert_eq(n, 1);
	cr_assert_eq(l[0].id, 3);
	store_pending_list_free(l);
	cr_assert_eq(store_pending_list(st, true, 2, &l, &n, &e), STORE_OK);
	cr_assert_eq(n, 2, "newest first, at most max");
	cr_assert_eq(l[0].id, 3);
	cr_assert_eq(l[1].id, 2);
	cr_assert_eq(l[1].state, STORE_PENDING_CANCELLED);
	cr_assert_gt(l[1].finished_ms, 0);
	cr_assert_str_eq(l[1].outcome, "cancelled by bob");
	store_pending_list_free(l);

	struct store_pending p;
	cr_assert_eq(store_pending_get(st, 1, &p, &e), STORE_OK);
	cr_assert_eq(p.state, STORE_PENDING_DONE);
	cr_assert_str_eq(store_pending_state_name(p.state), "done");
	store_close(st);
}

Test(store_pending, bad_input_is_refused_and_writes_nothing)
{
	struct store *st = t_open();
	struct store_err e;
	uint64_t id;

	t_expect(store_pending_add(st, "Shut down", "vm", UUID1, 0, "a", "", &id, &e), &e,
		 STORE_EINVAL, "operation \"Shut down\" may only contain a-z");
	t_expect(store_pending_add(st, "shutdown", "-vm", UUID1, 0, "a", "", &id, &e), &e,
		 STORE_EINVAL, "VM name");
	t_expect(store_pending_add(st, "shutdown", "vm", "nope", 0, "a", "", &id, &e), &e,
		 STORE_EINVAL, "uuid");
	t_expect(store_pending_add(st, "shutdown", "vm", UUID1, 0, "", "", &id, &e), &e,
		 STORE_EINVAL, "caller is empty");
	t_expect(store_pending_add(st, "shutdown", "vm", UUID1, UINT64_MAX, "a", "", &id, &e), &e,
		 STORE_EINVAL, "above the maximum");
	cr_assert_eq(t_sql_int("SELECT count(*) FROM pending_ops"), 0);
	store_close(st);
}
