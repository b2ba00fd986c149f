/* The keyed audit chain (store_open_sealed, store/seal.c): each attack on the record is
 * carried out on the files as an attacker with write access to the database (but not
 * the key) would, and must be found at the next open, named by its first bad row, with
 * writes refused until acknowledged. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "store_internal.h"
#include "store_testlib.h"

static char key[400], head[400];

static void s_setup(void)
{
	t_setup();
	snprintf(key, sizeof key, "%s/audit.key", t_dir);
	snprintf(head, sizeof head, "%s/audit.head", t_dir);
}

TestSuite(store_seal, .init = s_setup, .fini = t_teardown);

static struct store *sealed(void)
{
	struct store_seal cfg = { key, head };
	struct store *st = NULL;
	struct store_err e = { 0 };
	cr_assert_eq(store_open_sealed(t_db, &cfg, &st, &e), STORE_OK, "%s", e.msg);
	return st;
}

static void rows(struct store *st, int n)
{
	for (int i = 0; i < n; i++) {
		char args[32];
		snprintf(args, sizeof args, "vm=name:web%d", i);
		struct store_audit_entry a = { .caller = "unix:uid=0",
					       .role = "admin",
					       .rpc = "hvmgr.v1.Hvmgr/Start",
					       .args = args,
					       .outcome = "OK" };
		struct store_err e;
		cr_assert_eq(store_audit_append(st, &a, &e), STORE_OK, "%s", e.msg);
	}
}

/* A sealed database with the seal row and n more rows, closed. */
static void sealed_with_rows(int n)
{
	struct store *st = sealed();
	cr_assert_not(store_audit_tampered(st, NULL));
	rows(st, n);
	store_close(st);
}

/* Opens the tampered database: the finding must contain want; writes are refused,
 * reads work, and the acknowledgement lifts the refusal for good. */
static void expect_finding(const char *want)
{
	struct store *st = sealed();
	struct store_err f = { 0 }, e = { 0 };
	cr_assert(store_audit_tampered(st, &f), "tampering not detected (wanted \"%s\")", want);
	cr_assert_not_null(strstr(f.msg, want), "finding \"%s\" lacks \"%s\"", f.msg, want);
	cr_assert_not_null(strstr(f.msg, "evidence: "), "%s", f.msg);
	t_expect(store_audit_verify(st, &e), &e, STORE_ETAMPER, want);

	struct store_audit_entry a = { .caller = "x",
				       .role = "admin",
				       .rpc = "hvmgr.v1.Hvmgr/Start",
				       .args = "",
				       .outcome = "OK" };
	t_expect(store_audit_append(st, &a, &e), &e, STORE_ETAMPER, "until an admin acknowledges");
	t_expect(store_vm_create(st, "web", "00000000-0000-4000-8000-000000000001", &e), &e,
		 STORE_ETAMPER, "refused");
	struct store_audit_entry *l;
	size_t n;
	cr_assert_eq(store_audit_list(st, 0, 0, &l, &n, &e), STORE_OK, "reads keep working");
	store_audit_list_free(l);

	uint64_t seq = 0;
	cr_assert_eq(store_audit_acknowledge(st, "unix:uid=0", "admin", &seq, &e), STORE_OK, "%s",
		     e.msg);
	cr_assert_not(store_audit_tampered(st, NULL));
	cr_assert_eq(store_audit_list(st, seq, 1, &l, &n, &e), STORE_OK);
	cr_assert_eq(n, 1);
	cr_assert_str_eq(l[0].rpc, "audit.acknowledge");
	cr_assert_not_null(strstr(l[0].args, want), "%s", l[0].args);
	store_audit_list_free(l);
	rows(st, 2);
	cr_assert_eq(store_audit_verify(st, &e), STORE_OK, "%s", e.msg);
	store_close(st);

	st = sealed();
	cr_assert_not(store_audit_tampered(st, &f), "still flagged after acknowledging: %s", f.msg);
	store_close(st);
}

Test(store_seal, first_start_creates_key_and_head)
{
	sealed_with_rows(3);
	struct stat sb;
	cr_assert_eq(stat(key, &sb), 0);
	cr_assert_eq(sb.st_mode & 0777, 0600, "key mode %o", sb.st_mode & 0777);
	cr_assert_eq(sb.st_size, 32);
	cr_assert_eq(stat(head, &sb), 0);
	cr_assert_eq(sb.st_mode & 0777, 0600);
	cr_assert_eq(t_sql_int("SELECT count(*) FROM audit_log WHERE mac IS NULL"), 0);
	cr_assert_eq(t_sql_int("SELECT seq FROM audit_log WHERE rpc = 'audit.seal'"), 1);
	struct store *st = sealed();
	cr_assert_not(store_audit_tampered(st, NULL));
	struct store_err e;
	cr_assert_eq(store_audit_verify(st, &e), STORE_OK, "%s", e.msg);
	store_close(st);
	cr_assert_eq(t_sql_int("SELECT count(*) FROM audit_log"), 4);
}

Test(store_seal, tail_truncated_with_triggers_dropped_and_head_rewritten)
{
	sealed_with_rows(5);
	/* Rows 5 and 6 go; the in-database head is set to row 4, so the SHA chain and its
	 * head agree: only the head file outside knows. */
	t_sql("DROP TRIGGER audit_log_no_delete;"
	      "DELETE FROM audit_log WHERE seq > 4;"
	      "UPDATE audit_head SET seq = 4, hash = (SELECT hash FROM audit_log WHERE seq = 4);");
	expect_finding("row 5 is missing");
}

/* Row 3 and every row after it rewritten, the SHA chain recomputed as the documented
 * formula allows: the MACs cannot be. */
Test(store_seal, rewritten_row_and_successors)
{
	sealed_with_rows(5);
	struct store *st = t_open(); /* a handle without the key */
	struct store_audit_entry *l;
	size_t n;
	struct store_err e;
	cr_assert_eq(store_audit_list(st, 1, 0, &l, &n, &e), STORE_OK);
	store_close(st);
	t_sql("DROP TRIGGER audit_log_no_update;");
	uint8_t prev[32];
	memcpy(prev, l[1].hash, 32);
	for (size_t i = 2; i < n; i++) {
		const char *args = i == 2 ? "vm=name:innocent" : l[i].args;
		uint8_t h[32];
		store_audit_row_hash(prev, l[i].seq, l[i].time_ms, l[i].caller, l[i].role, l[i].rpc,
				     args, l[i].outcome, h);
		char sql[512], hx[65];
		for (int k = 0; k < 32; k++)
			snprintf(hx + 2 * k, 3, "%02x", h[k]);
		snprintf(sql, sizeof sql,
			 "UPDATE audit_log SET args = '%s', hash = x'%s' WHERE seq = %llu;"
			 "UPDATE audit_head SET hash = x'%s';",
			 args, hx, (unsigned long long)l[i].seq, hx);
		t_sql(sql);
		memcpy(prev, h, 32);
	}
	store_audit_list_free(l);
	/* The plain open (SHA chain only) is fooled; the keyed one is not. */
	store_close(t_open());
	expect_finding("row 3 does not match its MAC");
}

static void copy_file(const char *from, const char *to)
{
	char cmd[1024];
	snprintf(cmd, sizeof cmd, "cp -p '%s' '%s'", from, to);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
}

Test(store_seal, older_database_file_put_back)
{
	sealed_with_rows(3);
	char old[400];
	snprintf(old, sizeof old, "%s/old.db", t_dir);
	copy_file(t_db, old);
	struct store *st = sealed();
	rows(st, 4);
	store_close(st);
	copy_file(old, t_db);
	expect_finding("row 5 is missing");
}

Test(store_seal, removed_key)
{
	sealed_with_rows(3);
	cr_assert_eq(unlink(key), 0);
	expect_finding("audit key");
	/* The acknowledgement made a new key. */
	struct stat sb;
	cr_assert_eq(stat(key, &sb), 0);
	cr_assert_eq(sb.st_mode & 0777, 0600);
}

Test(store_seal, removed_head_file)
{
	sealed_with_rows(2);
	cr_assert_eq(unlink(head), 0);
	expect_finding("head file");
}

Test(store_seal, row_written_without_the_key)
{
	sealed_with_rows(2);
	struct store *st = t_open();
	rows(st, 1);
	store_close(st);
	expect_finding("row 4 has no MAC");
}

/* A crash between the commit and the head file's rename leaves the database ahead of
 * its head: accepted (the rows verify), and the head catches up. */
Test(store_seal, database_ahead_of_head_is_not_a_finding)
{
	sealed_with_rows(2);
	char old[400];
	snprintf(old, sizeof old, "%s/old.head", t_dir);
	copy_file(head, old);
	struct store *st = sealed();
	rows(st, 2);
	store_close(st);
	copy_file(old, head);
	st = sealed();
	struct store_err f = { 0 };
	cr_assert_not(store_audit_tampered(st, &f), "%s", f.msg);
	store_close(st);
	FILE *fp = fopen(head, "r");
	char buf[256] = { 0 };
	cr_assert_not_null(fp);
	cr_assert_gt(fread(buf, 1, sizeof buf - 1, fp), 0);
	fclose(fp);
	cr_assert_not_null(strstr(buf, "seq 5\n"), "%s", buf);
}

Test(store_seal, key_readable_by_others_is_refused)
{
	sealed_with_rows(1);
	cr_assert_eq(chmod(key, 0644), 0);
	struct store_seal cfg = { key, head };
	struct store *st = NULL;
	struct store_err e = { 0 };
	t_expect(store_open_sealed(t_db, &cfg, &st, &e), &e, STORE_EINVAL, "mode 0644");
	cr_assert_null(st);
}

Test(store_seal, nothing_to_acknowledge_and_reserved_rows)
{
	sealed_with_rows(1);
	struct store *st = sealed();
	struct store_err e;
	t_expect(store_audit_acknowledge(st, "a", "admin", NULL, &e), &e, STORE_EINVAL, "no finding");
	struct store_audit_entry a = {
		.caller = "x", .role = "admin", .rpc = "audit.acknowledge", .args = "", .outcome = "OK"
	};
	t_expect(store_audit_append(st, &a, &e), &e, STORE_EINVAL, "reserved");
	store_close(st);
}
