/* Schema migrations: a database is built at every earlier schema version from the
 * migration list's own steps, filled with data that version could hold, and opened by the
 * current store, which must migrate it and keep every row (REQ-PRD-04, REQ-SAF-14). */
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>
#include <sqlite3.h>

#include "store_internal.h"
#include "store_testlib.h"

TestSuite(store_migrate, .init = t_setup, .fini = t_teardown);

#define UUID0 "6f1c2a44-3b7e-4c1d-9a55-0123456789ab"

static sqlite3 *raw_open(void)
{
	sqlite3 *db;
	cr_assert_eq(sqlite3_open_v2(t_db, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL),
		     SQLITE_OK);
	return db;
}

static void raw_exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
	cr_assert_eq(rc, SQLITE_OK, "%s: %s", sql, msg ? msg : "");
}

/* Schema at version `ver` exactly as the steps up to it created it. */
static void build_schema(sqlite3 *db, int ver)
{
	char sql[80];
	raw_exec(db, "BEGIN");
	snprintf(sql, sizeof sql, "PRAGMA application_id = %d", STORE_APPLICATION_ID);
	raw_exec(db, sql);
	for (size_t i = 0; i < store_migration_count && store_migrations[i].version <= ver; i++)
		raw_exec(db, store_migrations[i].sql);
	snprintf(sql, sizeof sql, "PRAGMA user_version = %d", ver);
	raw_exec(db, sql);
	raw_exec(db, "COMMIT");
}

static void insert_rev(sqlite3 *db, int rev, const uint8_t *blob, size_t len)
{
	uint8_t h[32];
	store_sha256(blob, len, h);
	sqlite3_stmt *stmt;
	cr_assert_eq(sqlite3_prepare_v2(db,
					"INSERT INTO vm_config (vm_id, rev, time_ms, author, "
					"sha256, blob) VALUES (1, ?, 1000, 'old-admin', ?, ?)",
					-1, &stmt, NULL),
		     SQLITE_OK);
	sqlite3_bind_int(stmt, 1, rev);
	sqlite3_bind_blob(stmt, 2, h, 32, SQLITE_STATIC);
	sqlite3_bind_blob(stmt, 3, blob, (int)len, SQLITE_STATIC);
	cr_assert_eq(sqlite3_step(stmt), SQLITE_DONE);
	sqlite3_finalize(stmt);
}

static void insert_audit(sqlite3 *db, int n)
{
	uint8_t prev[32] = { 0 }, h[32];
	for (int seq = 1; seq <= n; seq++) {
		char args[32];
		snprintf(args, sizeof args, "call %d", seq);
		store_audit_row_hash(prev, (uint64_t)seq, 2000 + seq, "op", "operator", "Start",
				     args, "ok", h);
		sqlite3_stmt *stmt;
		cr_assert_eq(sqlite3_prepare_v2(db,
						"INSERT INTO audit_log (seq, time_ms, caller, role, "
						"rpc, args, outcome, hash) VALUES "
						"(?, ?, 'op', 'operator', 'Start', ?, 'ok', ?)",
						-1, &stmt, NULL),
			     SQLITE_OK);
		sqlite3_bind_int(stmt, 1, seq);
		sqlite3_bind_int(stmt, 2, 2000 + seq);
		sqlite3_bind_text(stmt, 3, args, -1, SQLITE_TRANSIENT);
		sqlite3_bind_blob(stmt, 4, h, 32, SQLITE_STATIC);
		cr_assert_eq(sqlite3_step(stmt), SQLITE_DONE);
		sqlite3_finalize(stmt);
		memcpy(prev, h, 32);
	}
	sqlite3_stmt *stmt;
	cr_assert_eq(sqlite3_prepare_v2(db, "UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1",
					-1, &stmt, NULL),
		     SQLITE_OK);
	sqlite3_bind_int(stmt, 1, n);
	sqlite3_bind_blob(stmt, 2, prev, 32, SQLITE_STATIC);
	cr_assert_eq(sqlite3_step(stmt), SQLITE_DONE);
	sqlite3_finalize(stmt);
}

/* A file at version ver with the data that version can hold. */
static void build_db(int ver, const uint8_t *b1, const uint8_t *b2, size_t len)
{
	sqlite3 *db = raw_open();
	raw_exec(db, "PRAGMA journal_mode = WAL");
	build_schema(db, ver);
	raw_exec(db, "INSERT INTO vms (id, name, uuid, created_ms) VALUES "
		     "(1, 'legacy', '" UUID0 "', 1000)");
	insert_rev(db, 1, b1, len);
	insert_rev(db, 2, b2, len);
	if (ver >= 2) {
		raw_exec(db, "UPDATE vms SET desired_state = 'running', autostart = 1");
		/* From version 3 on revisions are immutable: the marker goes in
		 * with the trigger lifted, as the version-2 file had it. */
		raw_exec(db, ver >= 3 ? "DROP TRIGGER vm_config_no_update;"
					"UPDATE vm_config SET rollback_of = 1 WHERE rev = 2;"
					"CREATE TRIGGER vm_config_no_update BEFORE UPDATE ON vm_config"
					"  BEGIN SELECT RAISE(ABORT, 'configuration revisions are "
					"immutable'); END;"
				      : "UPDATE vm_config SET rollback_of = 1 WHERE rev = 2");
		insert_audit(db, 3);
	}
	sqlite3_close(db);
}

static void check_migrated(int ver, const uint8_t *b1, const uint8_t *b2, size_t len)
{
	struct store *st = t_open();
	struct store_err e;
	cr_assert_eq(t_sql_int("PRAGMA user_version"), STORE_SCHEMA_VERSION, "from v%d", ver);

	struct store_vm v;
	cr_assert_eq(store_vm_get(st, "legacy", &v, &e), STORE_OK, "%s", e.msg);
	cr_assert_str_eq(v.uuid, UUID0);
	cr_assert_eq(v.created_ms, 1000);
	cr_assert_eq(v.latest_rev, 2);
	cr_assert_eq(v.desired, ver >= 2 ? STORE_VM_RUNNING : STORE_VM_STOPPED);
	cr_assert_eq(v.autostart, ver >= 2);

	struct store_config_rev r;
	cr_assert_eq(store_config_get(st, "legacy", 1, &r, &e), STORE_OK, "%s", e.msg);
	cr_assert_eq(r.len, len);
	cr_assert_arr_eq(r.blob, b1, len);
	cr_assert_str_eq(r.author, "old-admin");
	store_config_rev_free(&r);
	cr_assert_eq(store_config_get(st, "legacy", 0, &r, &e), STORE_OK, "%s", e.msg);
	cr_assert_eq(r.rev, 2);
	cr_assert_arr_eq(r.blob, b2, len);
	cr_assert_eq(r.rollback_of, ver >= 2 ? 1u : 0u);
	store_config_rev_free(&r);

	struct store_audit_entry *a;
	size_t n;
	cr_assert_eq(store_audit_list(st, 1, 0, &a, &n, &e), STORE_OK, "%s", e.msg);
	cr_assert_eq(n, ver >= 2 ? 3u : 0u);
	if (n)
		cr_assert_str_eq(a[2].args, "call 3");
	store_audit_list_free(a);

	/* The migrated file is fully usable: the chain continues, new tables work. */
	struct store_audit_entry add = {
		.caller = "op", .role = "operator", .rpc = "Stop", .args = "legacy", .outcome = "ok"
	};
	cr_assert_eq(store_audit_append(st, &add, &e), STORE_OK, "%s", e.msg);
	cr_assert_eq(add.seq, ver >= 2 ? 4u : 1u);
	uint64_t c;
	cr_assert_eq(store_fault_increment(st, "legacy", "watchdog", &c, &e), STORE_OK, "%s", e.msg);
	cr_assert_eq(c, 1);
	struct store_slot sl = { .slot = STORE_SLOT_A, .version = 1, .state = STORE_SLOT_ACTIVE };
	cr_assert_eq(store_slot_set(st, "legacy", &sl, &e), STORE_OK, "%s", e.msg);
	store_close(st);

	st = t_open(); /* and verifies on the next start */
	store_close(st);
}

Test(store_migrate, list_is_ordered_and_complete)
{
	cr_assert_eq(store_migration_count, STORE_SCHEMA_VERSION);
	for (size_t i = 0; i < store_migration_count; i++) {
		cr_assert_eq(store_migrations[i].version, (int)i + 1);
		cr_assert_not_null(store_migrations[i].sql);
	}
}

Test(store_migrate, every_older_version_migrates_with_data)
{
	uint8_t *b1 = t_fdt(2048, 0xa1), *b2 = t_fdt(2048, 0xb2);
	for (int ver = 1; ver < STORE_SCHEMA_VERSION; ver++) {
		snprintf(t_db, 320, "%s/v%d.db", t_dir, ver);
		build_db(ver, b1, b2, 2048);
		check_migrated(ver, b1, b2, 2048);
	}
	free(b1);
	free(b2);
}

Test(store_migrate, older_version_with_bad_chain_is_refused_before_migrating)
{
	uint8_t *b = t_fdt(256, 0x01);
	build_db(2, b, b, 256);
	free(b);
	t_sql("UPDATE audit_log SET outcome = 'denied' WHERE seq = 2");
	struct store_err e;
	t_expect(t_open_fail(&e), &e, STORE_ETAMPER, "row 2");
	cr_assert_eq(t_sql_int("PRAGMA user_version"), 2, "a refused file must not be migrated");
}

Test(store_migrate, failed_step_rolls_back_whole_migration)
{
	uint8_t *b = t_fdt(256, 0x01);
	build_db(2, b, b, 256);
	free(b);
	/* A table in the way of step 3 makes it fail half-way. */
	t_sql("CREATE TABLE image_slots (x)");
	struct store_err e;
	enum store_status s = t_open_fail(&e);
	cr_assert_eq(s, STORE_EIO, "%s", e.msg);
	cr_assert_not_null(strstr(e.msg, "migrating to schema version 3"), "%s", e.msg);
	cr_assert_eq(t_sql_int("PRAGMA user_version"), 2);
	cr_assert_eq(t_sql_int("SELECT count(*) FROM sqlite_schema WHERE name = 'fault_counters'"),
		     0, "step 3 was half applied");
}
