/* VM configuration revisions: history kept in full, latest / N / history / rollback, the
 * blob checks, and detection of a changed or lost revision (REQ-PRD-04, REQ-SAF-14). */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <sqlite3.h>

#include "store_internal.h"
#include "store_testlib.h"

TestSuite(store_config, .init = t_setup, .fini = t_teardown);

static uint32_t add(struct store *st, const char *vm, size_t len, uint8_t fill, const char *author)
{
	struct store_err e;
	uint32_t rev = 0;
	uint8_t *b = t_fdt(len, fill);
	cr_assert_eq(store_config_add(st, vm, b, len, author, &rev, &e), STORE_OK, "%s", e.msg);
	free(b);
	return rev;
}

static void expect_blob(struct store *st, const char *vm, uint32_t rev, size_t len, uint8_t fill,
			uint32_t want_rev)
{
	struct store_err e;
	struct store_config_rev r;
	cr_assert_eq(store_config_get(st, vm, rev, &r, &e), STORE_OK, "%s", e.msg);
	cr_assert_eq(r.rev, want_rev);
	uint8_t *b = t_fdt(len, fill);
	cr_assert_eq(r.len, len);
	cr_assert_arr_eq(r.blob, b, len);
	uint8_t h[32];
	store_sha256(b, len, h);
	cr_assert_arr_eq(r.sha256, h, 32);
	free(b);
	store_config_rev_free(&r);
}

/* Changes one byte of revision rev's blob with a raw connection. */
static void flip_byte(int rev, int off)
{
	sqlite3 *db;
	sqlite3_stmt *stmt;
	cr_assert_eq(sqlite3_open_v2(t_db, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(db, "SELECT blob FROM vm_config WHERE rev = ?", -1, &stmt,
					NULL),
		     SQLITE_OK);
	sqlite3_bind_int(stmt, 1, rev);
	cr_assert_eq(sqlite3_step(stmt), SQLITE_ROW);
	int len = sqlite3_column_bytes(stmt, 0);
	uint8_t *b = malloc((size_t)len);
	memcpy(b, sqlite3_column_blob(stmt, 0), (size_t)len);
	sqlite3_finalize(stmt);
	b[off] ^= 0x40;
	cr_assert_eq(sqlite3_prepare_v2(db, "UPDATE vm_config SET blob = ? WHERE rev = ?", -1,
					&stmt, NULL),
		     SQLITE_OK);
	sqlite3_bind_blob(stmt, 1, b, len, SQLITE_STATIC);
	sqlite3_bind_int(stmt, 2, rev);
	cr_assert_eq(sqlite3_step(stmt), SQLITE_DONE, "%s", sqlite3_errmsg(db));
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	free(b);
}

Test(store_config, revisions_history_and_rollback)
{
	struct store *st = t_open();
	struct store_err e;
	t_vm(st, "linux", NULL);
	cr_assert_eq(add(st, "linux", 100, 0x01, "alice"), 1);
	cr_assert_eq(add(st, "linux", 200, 0x02, "bob"), 2);
	cr_assert_eq(add(st, "linux", 300, 0x03, "carol"), 3);

	expect_blob(st, "linux", 0, 300, 0x03, 3); /* latest */
	expect_blob(st, "linux", 1, 100, 0x01, 1);
	expect_blob(st, "linux", 2, 200, 0x02, 2);

	uint32_t rev;
	cr_assert_eq(store_config_rollback(st, "linux", 1, "dave", &rev, &e), STORE_OK, "%s", e.msg);
	cr_assert_eq(rev, 4);
	expect_blob(st, "linux", 0, 100, 0x01, 4);

	struct store_config_rev *h;
	size_t n;
	cr_assert_eq(store_config_history(st, "linux", &h, &n, &e), STORE_OK, "%s", e.msg);
	cr_assert_eq(n, 4);
	const char *authors[] = { "alice", "bob", "carol", "dave" };
	for (size_t i = 0; i < n; i++) {
		cr_assert_eq(h[i].rev, i + 1);
		cr_assert_str_eq(h[i].author, authors[i]);
		cr_assert_null(h[i].blob);
		cr_assert_gt(h[i].time_ms, 0);
		cr_assert_eq(h[i].rollback_of, i == 3 ? 1u : 0u);
	}
	cr_assert_arr_eq(h[3].sha256, h[0].sha256, 32);
	store_config_history_free(h);

	struct store_vm v;
	cr_assert_eq(store_vm_get(st, "linux", &v, &e), STORE_OK);
	cr_assert_eq(v.latest_rev, 4);
	store_close(st);

	st = t_open(); /* all of it survives a restart */
	expect_blob(st, "linux", 2, 200, 0x02, 2);
	store_close(st);
}

Test(store_config, revisions_are_per_vm)
{
	struct store *st = t_open();
	t_vm(st, "a", NULL);
	t_vm(st, "b", NULL);
	cr_assert_eq(add(st, "a", 64, 1, "x"), 1);
	cr_assert_eq(add(st, "b", 64, 2, "x"), 1);
	cr_assert_eq(add(st, "a", 64, 3, "x"), 2);
	expect_blob(st, "b", 0, 64, 2, 1);
	store_close(st);
}

Test(store_config, unknown_vm_and_revision)
{
	struct store *st = t_open();
	struct store_err e;
	struct store_config_rev r;
	struct store_config_rev *h;
	size_t n;
	uint8_t *b = t_fdt(64, 0);
	t_expect(store_config_add(st, "ghost", b, 64, "x", NULL, &e), &e, STORE_ENOTFOUND, "ghost");
	t_expect(store_config_get(st, "ghost", 0, &r, &e), &e, STORE_ENOTFOUND, "ghost");
	t_expect(store_config_history(st, "ghost", &h, &n, &e), &e, STORE_ENOTFOUND, "ghost");
	t_expect(store_config_rollback(st, "ghost", 1, "x", NULL, &e), &e, STORE_ENOTFOUND, "ghost");

	t_vm(st, "linux", NULL);
	t_expect(store_config_get(st, "linux", 0, &r, &e), &e, STORE_ENOTFOUND,
		 "has no configuration revisions");
	cr_assert_null(r.blob);
	cr_assert_eq(store_config_history(st, "linux", &h, &n, &e), STORE_OK);
	cr_assert_eq(n, 0);
	t_expect(store_config_rollback(st, "linux", 1, "x", NULL, &e), &e, STORE_ENOTFOUND,
		 "has no configuration revisions");

	cr_assert_eq(store_config_add(st, "linux", b, 64, "x", NULL, &e), STORE_OK);
	t_expect(store_config_get(st, "linux", 2, &r, &e), &e, STORE_ENOTFOUND,
		 "no configuration revision 2 (latest is 1)");
	t_expect(store_config_rollback(st, "linux", 5, "x", NULL, &e), &e, STORE_ENOTFOUND,
		 "no configuration revision 5 (latest is 1)");
	t_expect(store_config_rollback(st, "linux", 0, "x", NULL, &e), &e, STORE_EINVAL,
		 "revisions start at 1");
	cr_assert_eq(store_config_history(st, "linux", &h, &n, &e), STORE_OK);
	cr_assert_eq(n, 1, "a failed rollback added a revision");
	store_config_history_free(h);
	free(b);
	store_close(st);
}

Test(store_config, invalid_blobs_and_authors)
{
	struct store *st = t_open();
	struct store_err e;
	t_vm(st, "linux", NULL);
	uint8_t *ok = t_fdt(64, 0);
	t_expect(store_config_add(st, "linux", NULL, 64, "x", NULL, &e), &e, STORE_EINVAL,
		 "blob is NULL");
	t_expect(store_config_add(st, "linux", ok, 39, "x", NULL, &e), &e, STORE_EINVAL,
		 "shorter than a device-tree header");
	t_expect(store_config_add(st, "linux", ok, 0, "x", NULL, &e), &e, STORE_EINVAL, "shorter");
	t_expect(store_config_add(st, "linux", ok, 63, "x", NULL, &e), &e, STORE_EINVAL,
		 "63 bytes but its device-tree header says 64");
	uint8_t bad[64];
	memcpy(bad, ok, 64);
	bad[0] = 0x7f;
	t_expect(store_config_add(st, "linux", bad, 64, "x", NULL, &e), &e, STORE_EINVAL,
		 "not a flattened device tree (magic 0x7f0dfeed)");
	size_t big = STORE_CONFIG_MAX + 1;
	uint8_t *huge = t_fdt(big, 0);
	t_expect(store_config_add(st, "linux", huge, big, "x", NULL, &e), &e, STORE_EINVAL,
		 "more than the 1048576 allowed");
	free(huge);
	uint8_t *max = t_fdt(STORE_CONFIG_MAX, 0x42); /* the limit itself is fine */
	cr_assert_eq(store_config_add(st, "linux", max, STORE_CONFIG_MAX, "x", NULL, &e), STORE_OK,
		     "%s", e.msg);
	free(max);

	char author[STORE_AUTHOR_MAX + 2];
	memset(author, 'u', sizeof author - 1);
	author[sizeof author - 1] = '\0';
	t_expect(store_config_add(st, "linux", ok, 64, NULL, NULL, &e), &e, STORE_EINVAL,
		 "author is NULL");
	t_expect(store_config_add(st, "linux", ok, 64, "", NULL, &e), &e, STORE_EINVAL,
		 "author is empty");
	t_expect(store_config_add(st, "linux", ok, 64, author, NULL, &e), &e, STORE_EINVAL,
		 "author is longer than 127");
	t_expect(store_config_rollback(st, "linux", 1, "", NULL, &e), &e, STORE_EINVAL,
		 "author is empty");
	t_expect(store_config_add(st, "", ok, 64, "x", NULL, &e), &e, STORE_EINVAL,
		 "VM name is empty");
	t_expect(store_config_add(NULL, "linux", ok, 64, "x", NULL, &e), &e, STORE_EINVAL, "NULL");

	struct store_config_rev r, *h;
	size_t n;
	t_expect(store_config_get(st, "linux", 0, NULL, &e), &e, STORE_EINVAL, "output pointer");
	t_expect(store_config_get(NULL, "linux", 0, &r, &e), &e, STORE_EINVAL, "store handle");
	t_expect(store_config_history(st, "linux", NULL, &n, &e), &e, STORE_EINVAL, "output");
	t_expect(store_config_history(st, "linux", &h, NULL, &e), &e, STORE_EINVAL, "output");
	t_expect(store_config_rollback(NULL, "linux", 1, "x", NULL, &e), &e, STORE_EINVAL, "NULL");

	cr_assert_eq(store_config_history(st, "linux", &h, &n, &e), STORE_OK);
	cr_assert_eq(n, 1, "only the valid blob was stored");
	store_config_history_free(h);
	store_config_rev_free(NULL);
	free(ok);
	store_close(st);
}

Test(store_config, delete_vm_removes_history)
{
	struct store *st = t_open();
	struct store_err e;
	t_vm(st, "linux", NULL);
	add(st, "linux", 64, 1, "x");
	add(st, "linux", 64, 2, "x");
	cr_assert_eq(store_vm_delete(st, "linux", &e), STORE_OK, "%s", e.msg);
	store_close(st);
	cr_assert_eq(t_sql_int("SELECT count(*) FROM vm_config"), 0);
	st = t_open();
	store_close(st);
}

Test(store_config, changed_blob_is_detected_on_read_and_open)
{
	struct store *st = t_open();
	struct store_err e;
	t_vm(st, "linux", NULL);
	add(st, "linux", 128, 0x01, "x");
	add(st, "linux", 128, 0x02, "x");
	/* Behind the store's back: drop the immutability trigger, flip one byte of rev 1. */
	t_sql("DROP TRIGGER vm_config_no_update");
	flip_byte(1, 100);
	struct store_config_rev r;
	t_expect(store_config_get(st, "linux", 1, &r, &e), &e, STORE_ETAMPER,
		 "VM linux: configuration revision 1 does not match its sha256");
	cr_assert_null(r.blob);
	t_expect(store_config_rollback(st, "linux", 1, "x", NULL, &e), &e, STORE_ETAMPER,
		 "revision 1 does not match");
	expect_blob(st, "linux", 2, 128, 0x02, 2); /* the others still read */
	t_expect(store_verify(st, &e), &e, STORE_ETAMPER, "revision 1 does not match");
	store_close(st);
	t_expect(t_open_fail(&e), &e, STORE_ETAMPER, "configuration revision 1 does not match");
}

Test(store_config, lost_revision_is_detected_on_open)
{
	struct store *st = t_open();
	t_vm(st, "linux", NULL);
	add(st, "linux", 64, 1, "x");
	add(st, "linux", 64, 2, "x");
	add(st, "linux", 64, 3, "x");
	store_close(st);
	t_sql("DELETE FROM vm_config WHERE rev = 2");
	struct store_err e;
	t_expect(t_open_fail(&e), &e, STORE_ETAMPER, "VM linux: configuration revision 2 is missing");
}

Test(store_config, revisions_are_immutable_through_sqlite)
{
	struct store *st = t_open();
	t_vm(st, "linux", NULL);
	add(st, "linux", 64, 1, "x");
	store_close(st);
	cr_assert_eq(t_sql_rc("UPDATE vm_config SET author = 'mallory'"), SQLITE_CONSTRAINT);
}

Test(store_config, disk_full_changes_nothing)
{
	struct store *st = t_open();
	struct store_err e;
	t_vm(st, "linux", NULL);
	add(st, "linux", 64, 1, "x");
	/* Cap the file at its current size: the next large write hits SQLITE_FULL. */
	cr_assert_eq(sqlite3_exec(st->db, "PRAGMA max_page_count = 1", NULL, NULL, NULL), SQLITE_OK);
	uint8_t *b = t_fdt(256 * 1024, 0x77);
	enum store_status s = store_config_add(st, "linux", b, 256 * 1024, "x", NULL, &e);
	free(b);
	t_expect(s, &e, STORE_EIO, "full");
	struct store_config_rev *h;
	size_t n;
	cr_assert_eq(store_config_history(st, "linux", &h, &n, &e), STORE_OK, "%s", e.msg);
	cr_assert_eq(n, 1);
	store_config_history_free(h);
	store_close(st);
	st = t_open();
	store_close(st);
}
