/* Retention (store/retain.c, docs/store.md "Retention"): the audit log stays under its
 * row and byte limits while rows are added, the oldest rows folded into a checkpoint that
 * verification starts from; the fault counters outlive their folded rows; altering the
 * checkpoint or removing the rows just after it is found at the next open, named by the
 * first bad row. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "store_internal.h"
#include "store_testlib.h"

static char key[400], head[400];

static void r_setup(void)
{
	t_setup();
	snprintf(key, sizeof key, "%s/audit.key", t_dir);
	snprintf(head, sizeof head, "%s/audit.head", t_dir);
}

TestSuite(store_retain, .init = r_setup, .fini = t_teardown);

static struct store *open_limited(uint64_t rows, uint64_t bytes)
{
	struct store_seal cfg = { key, head };
	struct store *st = NULL;
	struct store_err e = { 0 };
	cr_assert_eq(store_open_sealed(t_db, &cfg, &st, &e), STORE_OK, "%s", e.msg);
	cr_assert_eq(store_retention_set(st, rows, bytes, &e), STORE_OK, "%s", e.msg);
	return st;
}

static void add_row(struct store *st, const char *args)
{
	struct store_audit_entry a = { .caller = "unix:uid=0",
				       .role = "admin",
				       .rpc = "hvmgr.v1.Hvmgr/Start",
				       .args = args,
				       .outcome = "OK" };
	struct store_err e;
	cr_assert_eq(store_audit_append(st, &a, &e), STORE_OK, "%s", e.msg);
}

Test(store_retain, row_limit_holds_and_the_chain_verifies_across_the_checkpoint)
{
	struct store *st = open_limited(32, 0);
	for (int i = 0; i < 200; i++) {
		add_row(st, "vm=name:web");
		cr_assert_leq(t_sql_int("SELECT count(*) FROM audit_log"), 32, "after row %d", i);
	}
	struct store_err e;
	cr_assert_eq(store_audit_verify(st, &e), STORE_OK, "%s", e.msg);
	struct store_checkpoint cp;
	bool found = false;
	cr_assert_eq(store_audit_checkpoint(st, &cp, &found, &e), STORE_OK, "%s", e.msg);
	cr_assert(found);
	cr_assert_eq(cp.first_seq, 1);
	cr_assert_eq(t_sql_int("SELECT min(seq) FROM audit_log"), (int64_t)cp.last_seq + 1);
	/* Every fold is itself in the record; the counts cover every folded row. */
	cr_assert_gt(t_sql_int("SELECT count(*) FROM audit_log WHERE rpc = 'audit.checkpoint'"), 0);
	cr_assert_eq(t_sql_int("SELECT count(*) FROM audit_checkpoints"), 1);
	store_close(st);

	st = open_limited(32, 0);
	struct store_err f = { 0 };
	cr_assert_not(store_audit_tampered(st, &f), "%s", f.msg);
	add_row(st, "after reopening");
	cr_assert_eq(store_audit_verify(st, &e), STORE_OK, "%s", e.msg);
	store_close(st);
}

Test(store_retain, byte_limit_holds)
{
	const uint64_t limit = STORE_RETAIN_BYTES_MIN;
	struct store *st = open_limited(0, limit);
	char *big = malloc(STORE_ARGS_MAX + 1);
	cr_assert_not_null(big);
	memset(big, 'x', STORE_ARGS_MAX);
	big[STORE_ARGS_MAX] = '\0';
	for (int i = 0; i < 600; i++) {
		add_row(st, big);
		int64_t used = t_sql_int("SELECT (SELECT page_count FROM pragma_page_count) - "
					 "(SELECT freelist_count FROM pragma_freelist_count)") *
			       t_sql_int("PRAGMA page_size");
		cr_assert_leq(used, (int64_t)limit, "after row %d: %" PRId64 " bytes", i, used);
	}
	free(big);
	struct store_err e;
	cr_assert_eq(store_audit_verify(st, &e), STORE_OK, "%s", e.msg);
	store_close(st);
}

Test(store_retain, fault_counters_outlive_their_folded_rows)
{
	const char *vm = "00000000-0000-4000-8000-0000000000aa";
	struct store *st = open_limited(16, 0);
	struct store_err e;
	for (int i = 0; i < 40; i++) {
		uint64_t c = 0;
		cr_assert_eq(store_fault_event(st, vm, i % 2 ? "watchdog" : "data_abort", "x", &c, &e),
			     STORE_OK, "%s", e.msg);
	}
	cr_assert_eq(t_sql_int("SELECT count(*) FROM audit_log WHERE seq <= 20"), 0);
	store_close(st);

	st = open_limited(16, 0);
	struct store_err f = { 0 };
	cr_assert_not(store_audit_tampered(st, &f), "%s", f.msg);
	uint64_t c = 0;
	cr_assert_eq(t_sql_int("SELECT count FROM fault_counters WHERE kind = 'data_abort'"), 20);
	cr_assert_eq(store_fault_event(st, vm, "watchdog", "x", &c, &e), STORE_OK, "%s", e.msg);
	cr_assert_eq(c, 21);
	cr_assert_eq(store_audit_verify(st, &e), STORE_OK, "%s", e.msg);
	store_close(st);
}

Test(store_retain, the_fault_history_cursor_outlives_the_fold)
{
	struct store *st = open_limited(16, 0);
	struct store_err e;
	cr_assert_eq(store_fault_note(st, STORE_FAULT_MARK_RPC, "hv_seq=42 hv_ns=7 clean stop", &e),
		     STORE_OK, "%s", e.msg);
	for (int i = 0; i < 40; i++)
		add_row(st, "vm=name:web");
	struct store_audit_entry *h;
	size_t n = 0;
	cr_assert_eq(store_fault_history(st, 1, &h, &n, &e), STORE_OK, "%s", e.msg);
	cr_assert_eq(n, 1);
	cr_assert_str_eq(h[0].outcome, "hv_seq=42 hv_ns=7 clean stop");
	store_audit_list_free(h);
	cr_assert_eq(store_audit_verify(st, &e), STORE_OK, "%s", e.msg);
	store_close(st);
}

/* 100 rows under a limit of 32, closed; the checkpoint's last row is returned. */
static int64_t folded_db(void)
{
	struct store *st = open_limited(32, 0);
	for (int i = 0; i < 100; i++)
		add_row(st, "vm=name:web");
	store_close(st);
	return t_sql_int("SELECT last_seq FROM audit_checkpoints");
}

static void expect_finding(const char *want)
{
	struct store *st = open_limited(32, 0);
	struct store_err f = { 0 }, e = { 0 };
	cr_assert(store_audit_tampered(st, &f), "tampering not detected (wanted \"%s\")", want);
	cr_assert_not_null(strstr(f.msg, want), "finding \"%s\" lacks \"%s\"", f.msg, want);
	t_expect(store_audit_verify(st, &e), &e, STORE_ETAMPER, want);
	struct store_audit_entry a = { .caller = "x",
				       .role = "admin",
				       .rpc = "hvmgr.v1.Hvmgr/Start",
				       .args = "",
				       .outcome = "OK" };
	t_expect(store_audit_append(st, &a, &e), &e, STORE_ETAMPER, "until an admin acknowledges");
	store_close(st);
}

Test(store_retain, checkpoint_counts_altered)
{
	folded_db();
	t_sql("UPDATE audit_checkpoints SET counts = replace(counts, '1 audit.seal', "
	      "'0 audit.seal')");
	expect_finding("audit log: row 1 does not verify: the checkpoint of rows 1..");
}

Test(store_retain, an_altered_checkpoint_is_acknowledged_once)
{
	folded_db();
	t_sql("UPDATE audit_checkpoints SET counts = '1 x' || char(10)");
	struct store *st = open_limited(32, 0);
	struct store_err e;
	cr_assert(store_audit_tampered(st, NULL));
	cr_assert_eq(store_audit_acknowledge(st, "unix:uid=0", "admin", NULL, &e), STORE_OK, "%s",
		     e.msg);
	add_row(st, "after the acknowledgement");
	cr_assert_eq(store_audit_verify(st, &e), STORE_OK, "%s", e.msg);
	store_close(st);
	st = open_limited(32, 0);
	struct store_err f = { 0 };
	cr_assert_not(store_audit_tampered(st, &f), "%s", f.msg);
	store_close(st);
}

/* The acknowledged finding stays history: later folds go on, past it, and
 * neither they nor a reopen raise it again. */
Test(store_retain, an_acknowledged_checkpoint_finding_does_not_block_later_folds)
{
	int64_t last0 = folded_db();
	t_sql("UPDATE audit_checkpoints SET counts = '1 x' || char(10)");
	struct store *st = open_limited(32, 0);
	struct store_err e;
	cr_assert(store_audit_tampered(st, NULL));
	cr_assert_eq(store_audit_acknowledge(st, "unix:uid=0", "admin", NULL, &e), STORE_OK, "%s",
		     e.msg);
	int64_t ack = (int64_t)store_audit_newest_seq(st);
	for (int i = 0; i < 100; i++)
		add_row(st, "after the acknowledgement");
	int64_t last1 = t_sql_int("SELECT last_seq FROM audit_checkpoints");
	cr_assert_gt(last1, ack, "no fold past the acknowledgement (row %lld, checkpoint up to %lld)",
		     (long long)ack, (long long)last1);
	cr_assert_gt(last1, last0);
	cr_assert_leq(t_sql_int("SELECT count(*) FROM audit_log"), 32, "the row limit holds");
	cr_assert_eq(store_audit_verify(st, &e), STORE_OK, "%s", e.msg);
	store_close(st);
	st = open_limited(32, 0);
	struct store_err f = { 0 };
	cr_assert_not(store_audit_tampered(st, &f), "%s", f.msg);
	add_row(st, "after the reopen");
	cr_assert_eq(store_audit_verify(st, &e), STORE_OK, "%s", e.msg);
	store_close(st);
}

Test(store_retain, checkpoint_fault_counters_altered)
{
	const char *vm = "00000000-0000-4000-8000-0000000000aa";
	struct store *st = open_limited(16, 0);
	struct store_err e;
	for (int i = 0; i < 40; i++)
		cr_assert_eq(store_fault_event(st, vm, "watchdog", "x", NULL, &e), STORE_OK, "%s",
			     e.msg);
	store_close(st);
	t_sql("UPDATE audit_checkpoints SET faults = replace(faults, 'watchdog=', 'watchdog=1')");
	expect_finding("the checkpoint of rows 1..");
}

Test(store_retain, checkpoint_range_altered)
{
	folded_db();
	t_sql("UPDATE audit_checkpoints SET first_seq = 2");
	expect_finding("audit log: row 2 does not verify: the checkpoint of rows 2..");
}

Test(store_retain, checkpoint_last_row_altered)
{
	int64_t last = folded_db();
	t_sql("UPDATE audit_checkpoints SET last_seq = last_seq + 1");
	char want[96];
	snprintf(want, sizeof want, "the checkpoint of rows 1..%" PRId64 " does not match", last + 1);
	expect_finding(want);
}

Test(store_retain, checkpoint_mac_altered)
{
	folded_db();
	t_sql("UPDATE audit_checkpoints SET last_mac = zeroblob(32)");
	expect_finding("the checkpoint of rows 1..");
}

Test(store_retain, rows_after_the_checkpoint_removed)
{
	int64_t last = folded_db();
	char sql[160], want[64];
	snprintf(sql, sizeof sql,
		 "DROP TRIGGER audit_log_no_delete; DELETE FROM audit_log WHERE seq <= %" PRId64,
		 last + 3);
	t_sql(sql);
	snprintf(want, sizeof want, "row %" PRId64 " is missing", last + 1);
	expect_finding(want);
}

Test(store_retain, checkpoint_removed)
{
	folded_db();
	t_sql("DELETE FROM audit_checkpoints");
	expect_finding("row 1 is missing");
}

Test(store_retain, bad_limits_are_refused)
{
	struct store *st = open_limited(0, 0);
	struct store_err e;
	t_expect(store_retention_set(st, 5, 0, &e), &e, STORE_EINVAL, "audit row limit 5");
	t_expect(store_retention_set(st, 0, 1000, &e), &e, STORE_EINVAL, "byte limit 1000");
	struct store_audit_entry a = {
		.caller = "x", .role = "admin", .rpc = STORE_CHECKPOINT_RPC, .args = "", .outcome = "OK"
	};
	t_expect(store_audit_append(st, &a, &e), &e, STORE_EINVAL, "reserved");
	store_close(st);
	st = t_open();
	t_expect(store_retention_set(st, 100, 0, &e), &e, STORE_EINVAL, "audit key");
	store_close(st);
}
