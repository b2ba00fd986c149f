/* The schema as a list of migration steps. PRAGMA user_version is the number of the last
 * step applied; store_open applies the missing ones in one transaction. A step, once
 * released, is never edited: a change to the schema is a new step at the end (and a test
 * in tests/unit/store_migrate_test.c that builds a file at the previous version). */
#include <stdio.h>

#include "store_internal.h"

const struct store_migration store_migrations[] = {
	{ 1,
	  /* VMs and every revision of their configuration blob. */
	  "CREATE TABLE vms ("
	  "  id INTEGER PRIMARY KEY,"
	  "  name TEXT NOT NULL UNIQUE,"
	  "  uuid TEXT NOT NULL UNIQUE,"
	  "  created_ms INTEGER NOT NULL"
	  ");"
	  "CREATE TABLE vm_config ("
	  "  id INTEGER PRIMARY KEY,"
	  "  vm_id INTEGER NOT NULL REFERENCES vms(id) ON DELETE CASCADE,"
	  "  rev INTEGER NOT NULL CHECK (rev >= 1),"
	  "  time_ms INTEGER NOT NULL,"
	  "  author TEXT NOT NULL,"
	  "  sha256 BLOB NOT NULL CHECK (length(sha256) = 32),"
	  "  blob BLOB NOT NULL,"
	  "  UNIQUE (vm_id, rev)"
	  ");" },
	{ 2,
	  /* Desired state and autostart, rollback provenance, the hash-chained audit log
	   * and its head (the head catches a lost last row). */
	  "ALTER TABLE vms ADD COLUMN desired_state TEXT NOT NULL DEFAULT 'stopped'"
	  "  CHECK (desired_state IN ('stopped', 'running', 'paused'));"
	  "ALTER TABLE vms ADD COLUMN autostart INTEGER NOT NULL DEFAULT 0"
	  "  CHECK (autostart IN (0, 1));"
	  "ALTER TABLE vm_config ADD COLUMN rollback_of INTEGER NOT NULL DEFAULT 0"
	  "  CHECK (rollback_of >= 0);"
	  "CREATE TABLE audit_log ("
	  "  seq INTEGER PRIMARY KEY CHECK (seq >= 1),"
	  "  time_ms INTEGER NOT NULL,"
	  "  caller TEXT NOT NULL,"
	  "  role TEXT NOT NULL,"
	  "  rpc TEXT NOT NULL,"
	  "  args TEXT NOT NULL,"
	  "  outcome TEXT NOT NULL,"
	  "  hash BLOB NOT NULL CHECK (length(hash) = 32)"
	  ");"
	  "CREATE TABLE audit_head ("
	  "  id INTEGER PRIMARY KEY CHECK (id = 1),"
	  "  seq INTEGER NOT NULL,"
	  "  hash BLOB NOT NULL CHECK (length(hash) = 32)"
	  ");"
	  "INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, zeroblob(32));" },
	{ 3,
	  /* Fault counters (derivable from the audit chain, which is how they are checked),
	   * OTA image slots, and triggers that make history append-only for anyone who
	   * goes through sqlite without dropping them first. */
	  "CREATE TABLE fault_counters ("
	  "  vm_uuid TEXT NOT NULL,"
	  "  kind TEXT NOT NULL,"
	  "  count INTEGER NOT NULL CHECK (count >= 1),"
	  "  audit_seq INTEGER NOT NULL REFERENCES audit_log(seq),"
	  "  PRIMARY KEY (vm_uuid, kind)"
	  ") WITHOUT ROWID;"
	  "CREATE TABLE image_slots ("
	  "  vm_id INTEGER NOT NULL REFERENCES vms(id) ON DELETE CASCADE,"
	  "  slot TEXT NOT NULL CHECK (slot IN ('A', 'B')),"
	  "  version INTEGER NOT NULL CHECK (version >= 0),"
	  "  sha256 BLOB NOT NULL CHECK (length(sha256) = 32),"
	  "  state TEXT NOT NULL CHECK (state IN"
	  "    ('empty', 'writing', 'ready', 'trial', 'active', 'failed')),"
	  "  updated_ms INTEGER NOT NULL,"
	  "  PRIMARY KEY (vm_id, slot)"
	  ") WITHOUT ROWID;"
	  "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log"
	  "  BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;"
	  "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log"
	  "  BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;"
	  "CREATE TRIGGER vm_config_no_update BEFORE UPDATE ON vm_config"
	  "  BEGIN SELECT RAISE(ABORT, 'configuration revisions are immutable'); END;"
	  "CREATE TRIGGER fault_counters_monotonic BEFORE UPDATE ON fault_counters"
	  "  WHEN NEW.count <= OLD.count OR NEW.vm_uuid IS NOT OLD.vm_uuid"
	  "    OR NEW.kind IS NOT OLD.kind"
	  "  BEGIN SELECT RAISE(ABORT, 'fault counters only increase'); END;"
	  "CREATE TRIGGER fault_counters_no_delete BEFORE DELETE ON fault_counters"
	  "  BEGIN SELECT RAISE(ABORT, 'fault counters are never deleted'); END;" },
	{ 4,
	  /* Keyed audit chain: each row's HMAC-SHA-256 over the previous row's MAC and its
	   * own hash (seal.c). NULL in rows written before the database was sealed. */
	  "ALTER TABLE audit_log ADD COLUMN mac BLOB"
	  "  CHECK (mac IS NULL OR length(mac) = 32);" },
	{ 5,
	  /* Migration "pending_ops": lifecycle commands queued until the safety policy
	   * allows them (when_allowed, docs/mgmt-abi.md MGMT-450). Rows are kept after
	   * they finish, as the history `hvctl pending --all` shows. */
	  "CREATE TABLE pending_ops ("
	  "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	  "  op TEXT NOT NULL,"
	  "  vm_name TEXT NOT NULL,"
	  "  vm_uuid TEXT NOT NULL,"
	  "  arg INTEGER NOT NULL DEFAULT 0 CHECK (arg >= 0),"
	  "  caller TEXT NOT NULL,"
	  "  queued_ms INTEGER NOT NULL,"
	  "  state TEXT NOT NULL DEFAULT 'pending'"
	  "    CHECK (state IN ('pending', 'done', 'failed', 'cancelled')),"
	  "  finished_ms INTEGER NOT NULL DEFAULT 0,"
	  "  outcome TEXT NOT NULL DEFAULT ''"
	  ");" },
	{ 6,
	  /* audit_checkpoints: retention (retain.c). The oldest audit rows are folded into
	   * one checkpoint row (their range, counts per rpc, the fault counters at its last
	   * row, the chain's hash and MAC there, and a MAC of its own) and deleted; only
	   * rows a checkpoint covers may be deleted. The fault counters no longer refer to
	   * an audit row by foreign key, since the row of a counter's last increment may
	   * be folded (the checkpoint records its seq). */
	  "CREATE TABLE audit_checkpoints ("
	  "  id INTEGER PRIMARY KEY CHECK (id = 1),"
	  "  first_seq INTEGER NOT NULL CHECK (first_seq >= 1),"
	  "  last_seq INTEGER NOT NULL CHECK (last_seq >= first_seq),"
	  "  time_ms INTEGER NOT NULL,"
	  "  counts TEXT NOT NULL,"
	  "  faults TEXT NOT NULL,"
	  "  last_hash BLOB NOT NULL CHECK (length(last_hash) = 32),"
	  "  last_mac BLOB NOT NULL CHECK (length(last_mac) = 32),"
	  "  tag BLOB NOT NULL CHECK (length(tag) = 32)"
	  ");"
	  "DROP TRIGGER audit_log_no_delete;"
	  "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log"
	  "  WHEN NOT EXISTS (SELECT 1 FROM audit_checkpoints"
	  "    WHERE OLD.seq BETWEEN first_seq AND last_seq)"
	  "  BEGIN SELECT RAISE(ABORT, 'audit_log rows are removed only by folding them into"
	  " a checkpoint'); END;"
	  "CREATE TABLE fault_counters_v5 ("
	  "  vm_uuid TEXT NOT NULL,"
	  "  kind TEXT NOT NULL,"
	  "  count INTEGER NOT NULL CHECK (count >= 1),"
	  "  audit_seq INTEGER NOT NULL CHECK (audit_seq >= 1),"
	  "  PRIMARY KEY (vm_uuid, kind)"
	  ") WITHOUT ROWID;"
	  "INSERT INTO fault_counters_v5 SELECT vm_uuid, kind, count, audit_seq"
	  "  FROM fault_counters;"
	  "DROP TABLE fault_counters;"
	  "ALTER TABLE fault_counters_v5 RENAME TO fault_counters;"
	  "CREATE TRIGGER fault_counters_monotonic BEFORE UPDATE ON fault_counters"
	  "  WHEN NEW.count <= OLD.count OR NEW.vm_uuid IS NOT OLD.vm_uuid"
	  "    OR NEW.kind IS NOT OLD.kind"
	  "  BEGIN SELECT RAISE(ABORT, 'fault counters only increase'); END;"
	  "CREATE TRIGGER fault_counters_no_delete BEFORE DELETE ON fault_counters"
	  "  BEGIN SELECT RAISE(ABORT, 'fault counters are never deleted'); END;" },
};
const size_t store_migration_count = sizeof store_migrations / sizeof store_migrations[0];

_Static_assert(sizeof store_migrations / sizeof store_migrations[0] == STORE_SCHEMA_VERSION,
	       "STORE_SCHEMA_VERSION must equal the number of migration steps");

enum store_status store_migrate(struct store *st, struct store_err *err)
{
	enum store_status s = store_tx_begin(st, err);
	if (s)
		return s;
	/* Read inside the write transaction: another process may have migrated meanwhile. */
	sqlite3_stmt *stmt;
	int64_t ver = -1;
	s = store_prepare(st, "PRAGMA user_version", &stmt, err);
	if (!s) {
		if (sqlite3_step(stmt) == SQLITE_ROW)
			ver = sqlite3_column_int64(stmt, 0);
		sqlite3_finalize(stmt);
		if (ver < 0)
			s = err_sqlite(err, st->db, sqlite3_errcode(st->db), "reading user_version");
	}
	if (!s && ver > STORE_SCHEMA_VERSION)
		s = err_set(err, STORE_ESCHEMA, "%s has schema version %lld, newer than %d",
			    st->path, (long long)ver, STORE_SCHEMA_VERSION);
	if (!s && ver == STORE_SCHEMA_VERSION) {
		store_tx_rollback(st);
		return STORE_OK;
	}
	if (!s && ver == 0) {
		char sql[64];
		snprintf(sql, sizeof sql, "PRAGMA application_id = %d", STORE_APPLICATION_ID);
		int rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);
		if (rc != SQLITE_OK)
			s = err_sqlite(err, st->db, rc, "setting application_id");
	}
	for (size_t i = 0; !s && i < store_migration_count; i++) {
		const struct store_migration *m = &store_migrations[i];
		if (m->version <= ver)
			continue;
		int rc = sqlite3_exec(st->db, m->sql, NULL, NULL, NULL);
		if (rc != SQLITE_OK) {
			char what[96];
			snprintf(what, sizeof what, "%s: migrating to schema version %d", st->path,
				 m->version);
			s = err_sqlite(err, st->db, rc, what);
		}
	}
	if (!s) {
		char sql[64];
		snprintf(sql, sizeof sql, "PRAGMA user_version = %d", STORE_SCHEMA_VERSION);
		int rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);
		if (rc != SQLITE_OK)
			s = err_sqlite(err, st->db, rc, "setting user_version");
	}
	if (s) {
		store_tx_rollback(st);
		return s;
	}
	return store_tx_commit(st, err);
}
