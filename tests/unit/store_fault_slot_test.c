/* Fault counters (monotonic, checked against the audit chain, kept after the VM is
 * deleted; REQ-SAF-16) and OTA image slot records (REQ-SAF-15). */
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>
#include <sqlite3.h>

#include "store_internal.h"
#include "store_testlib.h"

TestSuite(store_fault, .init = t_setup, .fini = t_teardown);
TestSuite(store_slot, .init = t_setup, .fini = t_teardown);

static uint64_t bump(struct store *st, const char *vm, const char *kind)
{
	struct store_err e;
	uint64_t c = 0;
	cr_assert_eq(store_fault_increment(st, vm, kind, &c, &e), STORE_OK, "%s", e.msg);
	return c;
}

Test(store_fault, increment_get_list)
{
	struct store *st = t_open();
	struct store_err e;
	t_vm(st, "rtos", NULL);
	uint64_t c;
	cr_assert_eq(store_fault_get(st, "rtos", "watchdog", &c, &e), STORE_OK, "%s", e.msg);
	cr_assert_eq(c, 0);
	cr_assert_eq(bump(st, "rtos", "watchdog"), 1);
	cr_assert_eq(bump(st, "rtos", "watchdog"), 2);
	cr_assert_eq(bump(st, "rtos", "data-abort"), 1);
	cr_assert_eq(store_fault_increment(st, "rtos", "watchdog", NULL, &e), STORE_OK);
	store_close(st);

	st = t_open();
	cr_assert_eq(store_fault_get(st, "rtos", "watchdog", &c, &e), STORE_OK);
	cr_assert_eq(c, 3);
	struct store_fault *l;
	size_t n;
	cr_assert_eq(store_fault_list(st, "rtos", &l, &n, &e), STORE_OK, "%s", e.msg);
	cr_assert_eq(n, 2);
	cr_assert_str_eq(l[0].kind, "data-abort");
	cr_assert_eq(l[0].count, 1);
	cr_assert_str_eq(l[1].kind, "watchdog");
	cr_assert_eq(l[1].count, 3);
	store_fault_list_free(l);

	/* Each increment is an audit row. */
	struct store_audit_entry *a;
	cr_assert_eq(store_audit_list(st, 1, 0, &a, &n, &e), STORE_OK);
	cr_assert_eq(n, 4);
	cr_assert_str_eq(a[3].rpc, "store.fault");
	cr_assert_not_null(strstr(a[3].args, "kind=watchdog count=3"), "%s", a[3].args);
	store_audit_list_free(a);
	store_close(st);
}

/* hv-core's fault events, gaps and read marks form the fault history, kept in the
 * chain: they survive a reopen, a VM the store does not hold has counters too, the
 * history lists them newest-last, and a counter changed behind the chain's back is
 * a finding. */
Test(store_fault, event_history_gaps_and_marks)
{
	static const char *const u = "6a95eb01-f6a4-8304-79aa-97f2502e193f";
	struct store *st = t_open();
	struct store_err e;
	uint64_t c = 0;

	cr_assert_eq(store_fault_event(st, u, "stage2-abort", "hv_seq=4 hv_ns=10 vm=linux", &c, &e),
		     STORE_OK, "%s", e.msg);
	cr_assert_eq(c, 1);
	cr_assert_eq(store_fault_note(st, STORE_FAULT_GAP_RPC, "hv_seq=9 lost=3", &e), STORE_OK);
	cr_assert_eq(store_fault_event(st, u, "stage2-abort", "hv_seq=12", &c, &e), STORE_OK);
	cr_assert_eq(c, 2);
	cr_assert_eq(store_fault_note(st, STORE_FAULT_MARK_RPC, "hv_seq=20", &e), STORE_OK);
	/* Bad input is refused and changes nothing. */
	cr_assert_eq(store_fault_note(st, "store.fault", "x", &e), STORE_EINVAL);
	cr_assert_eq(store_fault_event(st, "not-a-uuid", "watchdog", "x", NULL, &e), STORE_EINVAL);
	cr_assert_eq(store_fault_event(st, u, "Bad Kind", "x", NULL, &e), STORE_EINVAL);
	store_close(st);

	st = t_open();
	struct store_audit_entry *h;
	size_t n;
	cr_assert_eq(store_fault_history(st, 0, &h, &n, &e), STORE_OK, "%s", e.msg);
	cr_assert_eq(n, 4);
	cr_assert_str_eq(h[0].rpc, STORE_FAULT_RPC);
	cr_assert_str_eq(h[0].outcome, "hv_seq=4 hv_ns=10 vm=linux");
	cr_assert_str_eq(h[1].rpc, STORE_FAULT_GAP_RPC);
	cr_assert_not_null(strstr(h[2].args, "kind=stage2-abort count=2"), "%s", h[2].args);
	cr_assert_str_eq(h[3].rpc, STORE_FAULT_MARK_RPC);
	store_audit_list_free(h);
	cr_assert_eq(store_fault_history(st, 2, &h, &n, &e), STORE_OK, "%s", e.msg);
	cr_assert_eq(n, 2);
	cr_assert_str_eq(h[1].rpc, STORE_FAULT_MARK_RPC);
	store_audit_list_free(h);
	store_close(st);

	/* The counter is checked against the chain at every open. */
	t_sql("DROP TRIGGER fault_counters_monotonic;"
	      "UPDATE fault_counters SET count = 1 WHERE kind = 'stage2-abort';");
	t_expect(t_open_fail(&e), &e, STORE_ETAMPER,
		 "/stage2-abort is 1 but the audit chain records 2");
}

Test(store_fault, counters_survive_vm_deletion)
{
	struct store *st = t_open();
	struct store_err e;
	char uuid[STORE_UUID_LEN + 1];
	t_vm(st, "rtos", uuid);
	bump(st, "rtos", "watchdog");
	bump(st, "rtos", "watchdog");
	cr_assert_eq(store_vm_delete(st, "rtos", &e), STORE_OK, "%s", e.msg);
	store_close(st);
	st = t_open(); /* still verifies */
	/* The same VM (same uuid) defined again sees its history. */
	cr_assert_eq(store_vm_create(st, "rtos-again", uuid, &e), STORE_OK, "%s", e.msg);
	cr_assert_eq(bump(st, "rtos-again", "watchdog"), 3);
	store_close(st);
}

Test(store_fault, invalid_arguments_and_unknown_vm)
{
	struct store *st = t_open();
	struct store_err e;
	uint64_t c;
	struct store_fault *l;
	size_t n;
	t_expect(store_fault_increment(st, "ghost", "watchdog", &c, &e), &e, STORE_ENOTFOUND,
		 "ghost");
	t_expect(store_fault_get(st, "ghost", "watchdog", &c, &e), &e, STORE_ENOTFOUND, "ghost");
	t_expect(store_fault_list(st, "ghost", &l, &n, &e), &e, STORE_ENOTFOUND, "ghost");
	t_vm(st, "rtos", NULL);
	t_expect(store_fault_increment(st, "rtos", NULL, &c, &e), &e, STORE_EINVAL,
		 "fault kind is NULL");
	t_expect(store_fault_increment(st, "rtos", "", &c, &e), &e, STORE_EINVAL,
		 "fault kind is empty");
	t_expect(store_fault_increment(st, "rtos", "Watchdog", &c, &e), &e, STORE_EINVAL,
		 "may only contain");
	t_expect(store_fault_increment(st, "rtos", "a count=9", &c, &e), &e, STORE_EINVAL,
		 "may only contain");
	t_expect(store_fault_increment(st, "rtos", "0123456789012345678901234567890123", &c, &e),
		 &e, STORE_EINVAL, "longer than 31");
	t_expect(store_fault_increment(NULL, "rtos", "x", &c, &e), &e, STORE_EINVAL, "NULL");
	t_expect(store_fault_increment(st, NULL, "x", &c, &e), &e, STORE_EINVAL, "VM name");
	t_expect(store_fault_get(st, "rtos", "x", NULL, &e), &e, STORE_EINVAL, "output");
	t_expect(store_fault_get(NULL, "rtos", "x", &c, &e), &e, STORE_EINVAL, "store handle");
	t_expect(store_fault_list(st, "rtos", NULL, &n, &e), &e, STORE_EINVAL, "output");
	t_expect(store_fault_list(NULL, "rtos", &l, &n, &e), &e, STORE_EINVAL, "store handle");
	cr_assert_eq(store_fault_list(st, "rtos", &l, &n, &e), STORE_OK);
	cr_assert_eq(n, 0);
	cr_assert_null(l);
	store_close(st);
}

static void make_counters(void)
{
	struct store *st = t_open();
	t_vm(st, "rtos", NULL);
	bump(st, "rtos", "watchdog");
	bump(st, "rtos", "watchdog");
	bump(st, "rtos", "watchdog");
	bump(st, "rtos", "abort");
	store_close(st);
}

Test(store_fault, cannot_decrease_or_delete_through_sqlite)
{
	make_counters();
	cr_assert_eq(t_sql_rc("UPDATE fault_counters SET count = 0"), SQLITE_CONSTRAINT);
	cr_assert_eq(t_sql_rc("UPDATE fault_counters SET count = 1 WHERE kind = 'watchdog'"),
		     SQLITE_CONSTRAINT);
	cr_assert_eq(t_sql_rc("DELETE FROM fault_counters"), SQLITE_CONSTRAINT);
	struct store *st = t_open();
	store_close(st);
}

Test(store_fault, lowered_counter_is_detected)
{
	make_counters();
	t_sql("DROP TRIGGER fault_counters_monotonic;"
	      "UPDATE fault_counters SET count = 1 WHERE kind = 'watchdog'");
	struct store_err e;
	t_expect(t_open_fail(&e), &e, STORE_ETAMPER, "/watchdog is 1 but the audit chain records 3");
}

Test(store_fault, raised_counter_is_detected)
{
	/* Inventing faults is tampering too. */
	make_counters();
	t_sql("UPDATE fault_counters SET count = 7 WHERE kind = 'abort'");
	struct store_err e;
	t_expect(t_open_fail(&e), &e, STORE_ETAMPER, "/abort is 7 but the audit chain records 1");
}

Test(store_fault, deleted_counter_is_detected)
{
	make_counters();
	t_sql("DROP TRIGGER fault_counters_no_delete;"
	      "DELETE FROM fault_counters WHERE kind = 'abort'");
	struct store_err e;
	t_expect(t_open_fail(&e), &e, STORE_ETAMPER, "/abort is missing (the audit chain records 1)");
}

Test(store_fault, invented_counter_is_detected)
{
	make_counters();
	t_sql("INSERT INTO fault_counters SELECT vm_uuid, 'ghost', 1, audit_seq "
	      "FROM fault_counters LIMIT 1");
	struct store_err e;
	t_expect(t_open_fail(&e), &e, STORE_ETAMPER, "/ghost = 1 has no record in the audit chain");
}

Test(store_fault, forged_fault_row_with_chain_broken_is_detected)
{
	/* Lowering the counter and its audit row together breaks the chain instead. */
	make_counters();
	t_sql("DROP TRIGGER fault_counters_monotonic; DROP TRIGGER audit_log_no_update;"
	      "UPDATE fault_counters SET count = 2 WHERE kind = 'watchdog';"
	      "UPDATE audit_log SET args = replace(args, 'count=3', 'count=2') WHERE seq = 3");
	struct store_err e;
	t_expect(t_open_fail(&e), &e, STORE_ETAMPER, "row 3 does not match its chained hash");
}

Test(store_fault, fault_args_roundtrip)
{
	char buf[128], uuid[STORE_UUID_LEN + 1], kind[STORE_FAULT_KIND_MAX + 1];
	uint64_t c;
	store_fault_args(buf, sizeof buf, "00000000-0000-4000-8000-000000000001", "wd", 42);
	cr_assert(store_fault_args_parse(buf, uuid, kind, &c));
	cr_assert_str_eq(uuid, "00000000-0000-4000-8000-000000000001");
	cr_assert_str_eq(kind, "wd");
	cr_assert_eq(c, 42);
	cr_assert(!store_fault_args_parse("vm=x kind=wd count=1", uuid, kind, &c));
	cr_assert(!store_fault_args_parse("vm=00000000-0000-4000-8000-000000000001 kind=wd "
					  "count=",
					  uuid, kind, &c));
	cr_assert(!store_fault_args_parse("vm=00000000-0000-4000-8000-000000000001 kind=WD "
					  "count=1",
					  uuid, kind, &c));
	cr_assert(!store_fault_args_parse("vm=00000000-0000-4000-8000-000000000001 kind=wd "
					  "count=1x",
					  uuid, kind, &c));
	cr_assert(!store_fault_args_parse("", uuid, kind, &c));
}

Test(store_fault, malformed_fault_row_in_a_valid_chain_is_detected)
{
	/* Callers cannot write fault rows; a chain-valid one that does not parse (a buggy
	 * build) is refused at open rather than ignored. */
	struct store *st = t_open();
	struct store_err e;
	struct store_audit_entry a = { .caller = STORE_FAULT_CALLER,
				       .role = "system",
				       .rpc = STORE_FAULT_RPC,
				       .args = "garbage",
				       .outcome = "ok" };
	t_expect(store_audit_append(st, &a, &e), &e, STORE_EINVAL, "reserved for the store");
	cr_assert_eq(store_tx_begin(st, &e), STORE_OK, "%s", e.msg);
	cr_assert_eq(store_audit_append_tx(st, &a, &e), STORE_OK, "%s", e.msg);
	cr_assert_eq(store_tx_commit(st, &e), STORE_OK, "%s", e.msg);
	store_close(st);
	t_expect(t_open_fail(&e), &e, STORE_ETAMPER, "audit row 1: malformed fault counter record");
}

/* ---- image slots ---- */

Test(store_slot, set_get_replace)
{
	struct store *st = t_open();
	struct store_err e;
	t_vm(st, "linux", NULL);
	struct store_slot a = { .slot = STORE_SLOT_A, .version = 7, .state = STORE_SLOT_ACTIVE };
	memset(a.sha256, 0xaa, 32);
	struct store_slot b = { .slot = STORE_SLOT_B, .version = 8, .state = STORE_SLOT_TRIAL };
	memset(b.sha256, 0xbb, 32);
	cr_assert_eq(store_slot_set(st, "linux", &a, &e), STORE_OK, "%s", e.msg);
	cr_assert_eq(store_slot_set(st, "linux", &b, &e), STORE_OK, "%s", e.msg);
	store_close(st);

	st = t_open();
	struct store_slot g;
	cr_assert_eq(store_slot_get(st, "linux", STORE_SLOT_B, &g, &e), STORE_OK, "%s", e.msg);
	cr_assert_eq(g.slot, STORE_SLOT_B);
	cr_assert_eq(g.version, 8);
	cr_assert_eq(g.state, STORE_SLOT_TRIAL);
	cr_assert_arr_eq(g.sha256, b.sha256, 32);
	cr_assert_gt(g.updated_ms, 0);

	b.state = STORE_SLOT_FAILED;
	b.version = (uint64_t)INT64_MAX;
	cr_assert_eq(store_slot_set(st, "linux", &b, &e), STORE_OK, "%s", e.msg);
	cr_assert_eq(store_slot_get(st, "linux", STORE_SLOT_B, &g, &e), STORE_OK);
	cr_assert_eq(g.state, STORE_SLOT_FAILED);
	cr_assert_eq(g.version, (uint64_t)INT64_MAX);
	cr_assert_eq(store_slot_get(st, "linux", STORE_SLOT_A, &g, &e), STORE_OK);
	cr_assert_eq(g.state, STORE_SLOT_ACTIVE);
	cr_assert_str_eq(store_slot_state_name(STORE_SLOT_WRITING), "writing");
	cr_assert_str_eq(store_slot_state_name((enum store_slot_state)42), "invalid");
	store_close(st);
}

Test(store_slot, errors)
{
	struct store *st = t_open();
	struct store_err e;
	struct store_slot s = { .slot = STORE_SLOT_A, .version = 1, .state = STORE_SLOT_READY };
	struct store_slot g;
	t_expect(store_slot_set(st, "ghost", &s, &e), &e, STORE_ENOTFOUND, "ghost");
	t_expect(store_slot_get(st, "ghost", STORE_SLOT_A, &g, &e), &e, STORE_ENOTFOUND, "ghost");
	t_vm(st, "linux", NULL);
	t_expect(store_slot_get(st, "linux", STORE_SLOT_A, &g, &e), &e, STORE_ENOTFOUND,
		 "image slot A was never set");
	struct store_slot bad = s;
	bad.slot = (enum store_slot_id)2;
	t_expect(store_slot_set(st, "linux", &bad, &e), &e, STORE_EINVAL, "neither A nor B");
	t_expect(store_slot_get(st, "linux", (enum store_slot_id) - 1, &g, &e), &e, STORE_EINVAL,
		 "neither A nor B");
	bad = s;
	bad.state = (enum store_slot_state)6;
	t_expect(store_slot_set(st, "linux", &bad, &e), &e, STORE_EINVAL, "state 6");
	bad = s;
	bad.version = (uint64_t)INT64_MAX + 1;
	t_expect(store_slot_set(st, "linux", &bad, &e), &e, STORE_EINVAL, "above the maximum");
	t_expect(store_slot_set(st, "linux", NULL, &e), &e, STORE_EINVAL, "slot record");
	t_expect(store_slot_set(NULL, "linux", &s, &e), &e, STORE_EINVAL, "store handle");
	t_expect(store_slot_set(st, "", &s, &e), &e, STORE_EINVAL, "VM name is empty");
	t_expect(store_slot_get(st, "linux", STORE_SLOT_A, NULL, &e), &e, STORE_EINVAL, "output");
	t_expect(store_slot_get(NULL, "linux", STORE_SLOT_A, &g, &e), &e, STORE_EINVAL, "store");
	t_expect(store_slot_get(st, "linux", STORE_SLOT_A, &g, &e), &e, STORE_ENOTFOUND, "never set");
	store_close(st);
}

Test(store_slot, slots_go_with_the_vm)
{
	struct store *st = t_open();
	struct store_err e;
	t_vm(st, "linux", NULL);
	struct store_slot s = { .slot = STORE_SLOT_A, .version = 1, .state = STORE_SLOT_ACTIVE };
	cr_assert_eq(store_slot_set(st, "linux", &s, &e), STORE_OK);
	cr_assert_eq(store_vm_delete(st, "linux", &e), STORE_OK, "%s", e.msg);
	store_close(st);
	cr_assert_eq(t_sql_int("SELECT count(*) FROM image_slots"), 0);
}
