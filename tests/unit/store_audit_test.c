/* The hash-chained audit log (REQ-SAF-16): appending and listing, the chain recomputed
 * here from the documented encoding, and every kind of tampering (changed, deleted,
 * reordered, truncated, head altered) refused at open with the row named. Also concurrent
 * writers, sharing one handle and on separate handles. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>
#include <mbedtls/sha256.h>
#include <sqlite3.h>

#include "store_internal.h"
#include "store_testlib.h"

TestSuite(store_audit, .init = t_setup, .fini = t_teardown);

static void append(struct store *st, const char *rpc, const char *args)
{
	struct store_err e;
	struct store_audit_entry a = {
		.caller = "CN=alice", .role = "operator", .rpc = rpc, .args = args, .outcome = "ok"
	};
	cr_assert_eq(store_audit_append(st, &a, &e), STORE_OK, "%s", e.msg);
}

/* A database with n audit rows, closed. */
static void make_chain(int n)
{
	struct store *st = t_open();
	for (int i = 1; i <= n; i++) {
		char args[32];
		snprintf(args, sizeof args, "vm=linux n=%d", i);
		append(st, "hvmgr.v1.Vm/Start", args);
	}
	store_close(st);
}

/* docs/store.md's encoding, written out independently of audit.c. */
static void doc_hash(const uint8_t prev[32], const struct store_audit_entry *a, uint8_t out[32])
{
	uint8_t buf[8192];
	size_t n = 0;
	memcpy(buf, prev, 32);
	n = 32;
	for (int i = 7; i >= 0; i--)
		buf[n++] = (uint8_t)(a->seq >> (8 * i));
	for (int i = 7; i >= 0; i--)
		buf[n++] = (uint8_t)((uint64_t)a->time_ms >> (8 * i));
	const char *f[5] = { a->caller, a->role, a->rpc, a->args, a->outcome };
	for (int k = 0; k < 5; k++) {
		uint32_t len = (uint32_t)strlen(f[k]);
		for (int i = 3; i >= 0; i--)
			buf[n++] = (uint8_t)(len >> (8 * i));
		memcpy(buf + n, f[k], len);
		n += len;
	}
	store_sha256(buf, n, out);
}

Test(store_audit, append_list_and_chain)
{
	struct store *st = t_open();
	struct store_err e;
	struct store_audit_entry a = { .caller = "CN=alice",
				       .role = "admin",
				       .rpc = "hvmgr.v1.Vm/Define",
				       .args = "",
				       .outcome = "ok" };
	cr_assert_eq(store_audit_append(st, &a, &e), STORE_OK, "%s", e.msg);
	cr_assert_eq(a.seq, 1);
	cr_assert_gt(a.time_ms, 0);
	append(st, "hvmgr.v1.Vm/Start", "linux");
	append(st, "hvmgr.v1.Vm/Stop", "linux");

	struct store_audit_entry *l;
	size_t n;
	cr_assert_eq(store_audit_list(st, 1, 0, &l, &n, &e), STORE_OK, "%s", e.msg);
	cr_assert_eq(n, 3);
	uint8_t prev[32] = { 0 }, h[32];
	for (size_t i = 0; i < n; i++) {
		cr_assert_eq(l[i].seq, i + 1);
		doc_hash(prev, &l[i], h);
		cr_assert_arr_eq(l[i].hash, h, 32, "row %zu does not follow the documented chain",
				 i + 1);
		memcpy(prev, h, 32);
	}
	cr_assert_arr_eq(l[0].hash, a.hash, 32);
	cr_assert_str_eq(l[0].rpc, "hvmgr.v1.Vm/Define");
	cr_assert_str_eq(l[0].args, "");
	cr_assert_str_eq(l[2].rpc, "hvmgr.v1.Vm/Stop");
	cr_assert_str_eq(l[1].caller, "CN=alice");
	store_audit_list_free(l);

	cr_assert_eq(store_audit_list(st, 2, 1, &l, &n, &e), STORE_OK, "%s", e.msg);
	cr_assert_eq(n, 1);
	cr_assert_eq(l[0].seq, 2);
	store_audit_list_free(l);
	cr_assert_eq(store_audit_list(st, 99, 0, &l, &n, &e), STORE_OK);
	cr_assert_eq(n, 0);
	cr_assert_null(l);
	store_close(st);
}

Test(store_audit, invalid_entries)
{
	struct store *st = t_open();
	struct store_err e;
	struct store_audit_entry a = {
		.caller = "c", .role = "r", .rpc = "p", .args = "", .outcome = "ok"
	};
	char big[STORE_ARGS_MAX + 2];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	t_expect(store_audit_append(st, NULL, &e), &e, STORE_EINVAL, "audit entry is NULL");
	t_expect(store_audit_append(NULL, &a, &e), &e, STORE_EINVAL, "NULL");
	struct store_audit_entry b = a;
	b.caller = NULL;
	t_expect(store_audit_append(st, &b, &e), &e, STORE_EINVAL, "audit caller is NULL");
	b = a;
	b.role = "";
	t_expect(store_audit_append(st, &b, &e), &e, STORE_EINVAL, "audit role is empty");
	b = a;
	b.rpc = NULL;
	t_expect(store_audit_append(st, &b, &e), &e, STORE_EINVAL, "audit rpc is NULL");
	b = a;
	b.args = big;
	t_expect(store_audit_append(st, &b, &e), &e, STORE_EINVAL, "audit args is longer than 4096");
	b = a;
	b.args = NULL;
	t_expect(store_audit_append(st, &b, &e), &e, STORE_EINVAL, "audit args is NULL");
	b = a;
	b.outcome = "";
	t_expect(store_audit_append(st, &b, &e), &e, STORE_EINVAL, "audit outcome is empty");
	struct store_audit_entry *l;
	size_t n;
	t_expect(store_audit_list(st, 1, 0, NULL, &n, &e), &e, STORE_EINVAL, "output pointer");
	t_expect(store_audit_list(NULL, 1, 0, &l, &n, &e), &e, STORE_EINVAL, "store handle");
	cr_assert_eq(store_audit_list(st, 1, 0, &l, &n, &e), STORE_OK);
	cr_assert_eq(n, 0, "an invalid entry was written");
	store_close(st);
}

Test(store_audit, append_only_through_sqlite)
{
	make_chain(2);
	cr_assert_eq(t_sql_rc("UPDATE audit_log SET outcome = 'x'"), SQLITE_CONSTRAINT);
	cr_assert_eq(t_sql_rc("DELETE FROM audit_log"), SQLITE_CONSTRAINT);
	struct store *st = t_open();
	store_close(st);
}

Test(store_audit, changed_row_is_detected)
{
	make_chain(4);
	t_sql("DROP TRIGGER audit_log_no_update;"
	      "UPDATE audit_log SET outcome = 'denied' WHERE seq = 3");
	struct store_err e;
	t_expect(t_open_fail(&e), &e, STORE_ETAMPER, "row 3 does not match its chained hash");
}

Test(store_audit, changed_time_is_detected)
{
	make_chain(3);
	t_sql("DROP TRIGGER audit_log_no_update;"
	      "UPDATE audit_log SET time_ms = time_ms + 1 WHERE seq = 1");
	struct store_err e;
	t_expect(t_open_fail(&e), &e, STORE_ETAMPER, "row 1 does not match");
}

Test(store_audit, recomputed_row_hash_breaks_the_next_link)
{
	/* A tamperer who rewrites row 2 and its hash still breaks row 3's link. */
	make_chain(3);
	t_sql("DROP TRIGGER audit_log_no_update;"
	      "UPDATE audit_log SET args = 'forged', hash = zeroblob(32) WHERE seq = 2");
	struct store_err e;
	t_expect(t_open_fail(&e), &e, STORE_ETAMPER, "row 2 does not match");
}

Test(store_audit, deleted_middle_row_is_detected)
{
	make_chain(5);
	t_sql("DROP TRIGGER audit_log_no_delete; DELETE FROM audit_log WHERE seq = 2");
	struct store_err e;
	t_expect(t_open_fail(&e), &e, STORE_ETAMPER, "row 2 is missing (next stored row is 3)");
}

Test(store_audit, deleted_first_row_is_detected)
{
	make_chain(3);
	t_sql("DROP TRIGGER audit_log_no_delete; DELETE FROM audit_log WHERE seq = 1");
	struct store_err e;
	t_expect(t_open_fail(&e), &e, STORE_ETAMPER, "row 1 is missing");
}

Test(store_audit, deleted_last_row_is_detected)
{
	make_chain(3);
	t_sql("DROP TRIGGER audit_log_no_delete; DELETE FROM audit_log WHERE seq = 3");
	struct store_err e;
	t_expect(t_open_fail(&e), &e, STORE_ETAMPER,
		 "audit log ends at row 2 but its head records row 3");
}

Test(store_audit, renumbered_rows_are_detected)
{
	/* Closing the gap after a deletion by renumbering breaks the hashes. */
	make_chain(4);
	t_sql("DROP TRIGGER audit_log_no_delete; DROP TRIGGER audit_log_no_update;"
	      "DELETE FROM audit_log WHERE seq = 2;"
	      "UPDATE audit_log SET seq = seq - 1 WHERE seq > 2;"
	      "UPDATE audit_head SET seq = 3");
	struct store_err e;
	t_expect(t_open_fail(&e), &e, STORE_ETAMPER, "row 2 does not match");
}

Test(store_audit, reordered_rows_are_detected)
{
	make_chain(4);
	t_sql("DROP TRIGGER audit_log_no_update;"
	      "UPDATE audit_log SET seq = 100 WHERE seq = 2;"
	      "UPDATE audit_log SET seq = 2 WHERE seq = 3;"
	      "UPDATE audit_log SET seq = 3 WHERE seq = 100;");
	struct store_err e;
	t_expect(t_open_fail(&e), &e, STORE_ETAMPER, "row 2 does not match its chained hash");
}

Test(store_audit, altered_or_missing_head_is_detected)
{
	make_chain(2);
	t_sql("UPDATE audit_head SET hash = zeroblob(32)");
	struct store_err e;
	t_expect(t_open_fail(&e), &e, STORE_ETAMPER, "head hash does not match row 2");
	t_sql("DELETE FROM audit_head");
	t_expect(t_open_fail(&e), &e, STORE_ETAMPER, "head row is missing");
}

Test(store_audit, tampering_while_open_stops_appends)
{
	make_chain(3);
	struct store *st = t_open();
	t_sql("DROP TRIGGER audit_log_no_delete; DELETE FROM audit_log WHERE seq = 3");
	struct store_err e;
	struct store_audit_entry a = {
		.caller = "c", .role = "r", .rpc = "p", .args = "", .outcome = "ok"
	};
	t_expect(store_audit_append(st, &a, &e), &e, STORE_ETAMPER, "refusing to append");
	t_expect(store_verify(st, &e), &e, STORE_ETAMPER, "ends at row 2");
	store_close(st);
}

/* ---- concurrency ---- */

#define THREADS 4
#define PER_THREAD 25

struct worker {
	struct store *st; /* shared handle, or NULL to open one's own */
	int id;
	enum store_status status;
	char msg[STORE_ERR_MSG_MAX];
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct store_err e = { 0 };
	struct store *st = w->st;
	w->status = STORE_OK;
	if (!st && (w->status = store_open(t_db, &st, &e)) != STORE_OK)
		goto out;
	for (int i = 0; i < PER_THREAD && w->status == STORE_OK; i++) {
		char args[32];
		snprintf(args, sizeof args, "w%d i%d", w->id, i);
		struct store_audit_entry a = {
			.caller = "t", .role = "system", .rpc = "Ping", .args = args, .outcome = "ok"
		};
		w->status = store_audit_append(st, &a, &e);
	}
	if (!w->st)
		store_close(st);
out:
	snprintf(w->msg, sizeof w->msg, "%s", e.msg);
	return NULL;
}

static void run_workers(bool shared)
{
	struct store *st = t_open();
	struct worker w[THREADS];
	pthread_t th[THREADS];
	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){ .st = shared ? st : NULL, .id = i };
		cr_assert_eq(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		cr_assert_eq(w[i].status, STORE_OK, "worker %d: %s", i, w[i].msg);
	}
	struct store_err e;
	cr_assert_eq(store_verify(st, &e), STORE_OK, "%s", e.msg);
	struct store_audit_entry *l;
	size_t n;
	cr_assert_eq(store_audit_list(st, 1, 0, &l, &n, &e), STORE_OK);
	cr_assert_eq(n, THREADS * PER_THREAD);
	store_audit_list_free(l);
	store_close(st);
	st = t_open();
	store_close(st);
}

Test(store_audit, threads_sharing_one_handle)
{
	run_workers(true);
}

Test(store_audit, threads_with_own_handles)
{
	run_workers(false);
}
