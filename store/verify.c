/* Startup integrity checks (REQ-SAF-14, REQ-SAF-16): sqlite's structural checks, then
 * ours: every configuration blob against its sha256 with revisions numbered 1..n, the
 * audit chain link by link against its head, and every fault counter against the value
 * recomputed from the chain. Any finding fails with a message naming the row. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

enum store_status store_check_structure(struct store *st, struct store_err *err)
{
	sqlite3_stmt *stmt;
	enum store_status s = store_prepare(st, "PRAGMA quick_check", &stmt, err);
	if (s)
		return s;
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		const char *msg = (const char *)sqlite3_column_text(stmt, 0);
		if (!msg || strcmp(msg, "ok") != 0)
			s = err_set(err, STORE_ECORRUPT, "%s failed sqlite quick_check: %s",
				    st->path, msg ? msg : "(no message)");
	} else {
		char what[96];
		snprintf(what, sizeof what, "%s: quick_check", st->path);
		s = err_sqlite(err, st->db, rc, what);
		if (s != STORE_ENOMEM) {
			s = STORE_ECORRUPT;
			if (err)
				err->code = s;
		}
	}
	sqlite3_finalize(stmt);
	if (s)
		return s;

	s = store_prepare(st, "PRAGMA foreign_key_check", &stmt, err);
	if (s)
		return s;
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		s = err_set(err, STORE_ECORRUPT,
			    "%s: row %lld of table %s refers to a missing "
			    "row of table %s (foreign_key_check)",
			    st->path, (long long)sqlite3_column_int64(stmt, 1),
			    (const char *)sqlite3_column_text(stmt, 0),
			    (const char *)sqlite3_column_text(stmt, 2));
	else if (rc != SQLITE_DONE)
		s = err_sqlite(err, st->db, rc, "foreign_key_check");
	sqlite3_finalize(stmt);
	return s;
}

static enum store_status check_configs(struct store *st, struct store_err *err)
{
	sqlite3_stmt *stmt;
	enum store_status s = store_prepare(st,
					    "SELECT v.id, v.name, c.rev, c.sha256, c.blob "
					    "FROM vm_config c JOIN vms v ON v.id = c.vm_id "
					    "ORDER BY c.vm_id, c.rev",
					    &stmt, err);
	if (s)
		return s;
	int64_t last_vm = -1;
	int64_t expect = 1;
	int rc = SQLITE_DONE;
	while (!s && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		int64_t vm = sqlite3_column_int64(stmt, 0);
		const char *name = (const char *)sqlite3_column_text(stmt, 1);
		int64_t rev = sqlite3_column_int64(stmt, 2);
		if (vm != last_vm) {
			last_vm = vm;
			expect = 1;
		}
		if (rev != expect) {
			s = err_set(err, STORE_ETAMPER,
				    "VM %s: configuration revision %lld is "
				    "missing (next stored is %lld)",
				    name, (long long)expect, (long long)rev);
			break;
		}
		expect++;
		uint8_t h[32];
		const void *blob = sqlite3_column_blob(stmt, 4);
		int len = sqlite3_column_bytes(stmt, 4);
		store_sha256(blob ? blob : "", (size_t)len, h);
		if (sqlite3_column_bytes(stmt, 3) != 32 ||
		    memcmp(sqlite3_column_blob(stmt, 3), h, 32) != 0)
			s = err_set(err, STORE_ETAMPER,
				    "VM %s: configuration revision %lld does "
				    "not match its sha256 (changed or corrupt)",
				    name, (long long)rev);
	}
	if (!s && rc != SQLITE_DONE)
		s = err_sqlite(err, st->db, rc, "reading configuration revisions");
	sqlite3_finalize(stmt);
	return s;
}

static struct fault_expect *fault_find(struct fault_set *fs, const char *uuid, const char *kind)
{
	for (size_t i = 0; i < fs->n; i++)
		if (!strcmp(fs->v[i].uuid, uuid) && !strcmp(fs->v[i].kind, kind))
			return &fs->v[i];
	return NULL;
}

enum store_status store_fault_set_put(struct fault_set *fs, const char *uuid, const char *kind,
				      uint64_t count, uint64_t seq, struct store_err *err)
{
	struct fault_expect *f = fault_find(fs, uuid, kind);
	if (!f) {
		if (fs->n == fs->cap) {
			size_t nc = fs->cap ? fs->cap * 2 : 16;
			void *p = realloc(fs->v, nc * sizeof *fs->v);
			if (!p)
				return err_set(err, STORE_ENOMEM,
					       "out of memory checking fault counters");
			fs->v = p;
			fs->cap = nc;
		}
		f = &fs->v[fs->n++];
		memset(f, 0, sizeof *f);
		snprintf(f->uuid, sizeof f->uuid, "%s", uuid);
		snprintf(f->kind, sizeof f->kind, "%s", kind);
	}
	f->count = count;
	f->seq = seq;
	return STORE_OK;
}

/* A fault row says "this counter is now count"; it must be one more than the last. */
enum store_status store_fault_fold(struct fault_set *fs, uint64_t seq, const char *args,
				   struct store_err *err)
{
	char uuid[STORE_UUID_LEN + 1], kind[STORE_FAULT_KIND_MAX + 1];
	uint64_t count;
	if (!store_fault_args_parse(args, uuid, kind, &count))
		return err_set(err, STORE_ETAMPER,
			       "audit row %" PRIu64 ": malformed fault "
			       "counter record \"%.80s\"",
			       seq, args);
	struct fault_expect *f = fault_find(fs, uuid, kind);
	uint64_t before = f ? f->count : 0;
	if (count != before + 1)
		return err_set(err, STORE_ETAMPER,
			       "audit row %" PRIu64 ": fault counter %s/%s "
			       "jumps from %" PRIu64 " to %" PRIu64,
			       seq, uuid, kind, before, count);
	return store_fault_set_put(fs, uuid, kind, count, seq, err);
}

static enum store_status check_audit_chain(struct store *st, struct fault_set *fs, uint64_t start,
					   struct store_err *err)
{
	sqlite3_stmt *stmt;
	enum store_status s = store_prepare(st,
					    "SELECT seq, time_ms, caller, role, rpc, args, "
					    "outcome, hash FROM audit_log ORDER BY seq",
					    &stmt, err);
	if (s)
		return s;
	uint8_t prev[32] = { 0 };
	uint64_t expect = 1;
	/* Rows folded into the newest checkpoint are gone: the chain goes on from the
	 * hash it recorded, the fault counters from the values it recorded. */
	struct store_cp cp;
	s = store_cp_load(st, &cp, err);
	if (!s && cp.found) {
		memcpy(prev, cp.hash, 32);
		expect = cp.last + 1;
		if (fs)
			s = store_cp_seed_faults(&cp, fs, err);
	}
	store_cp_free(&cp);
	int rc = SQLITE_DONE;
	while (!s && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		uint64_t seq = (uint64_t)sqlite3_column_int64(stmt, 0);
		const char *t[5];
		for (int k = 0; k < 5; k++) {
			t[k] = (const char *)sqlite3_column_text(stmt, 2 + k);
			if (!t[k])
				t[k] = "";
		}
		if (seq < expect && seq >= start) {
			s = err_set(err, STORE_ETAMPER,
				    "audit log: row %" PRIu64 " is stored but was folded into the "
				    "checkpoint (checkpoint range altered)",
				    seq);
			break;
		}
		if (seq < start) {
			/* Acknowledged history: the chain restarts at start. */
			if (sqlite3_column_bytes(stmt, 7) == 32)
				memcpy(prev, sqlite3_column_blob(stmt, 7), 32);
			expect = seq + 1;
			if (fs && !strcmp(t[2], STORE_FAULT_RPC) && !strcmp(t[0], STORE_FAULT_CALLER))
				s = store_fault_fold(fs, seq, t[3], err);
			continue;
		}
		if (seq != expect) {
			s = err_set(err, STORE_ETAMPER,
				    "audit log: row %" PRIu64 " is missing "
				    "(next stored row is %" PRIu64 ")",
				    expect, seq);
			break;
		}
		uint8_t h[32];
		store_audit_row_hash(prev, seq, sqlite3_column_int64(stmt, 1), t[0], t[1], t[2],
				     t[3], t[4], h);
		if (sqlite3_column_bytes(stmt, 7) != 32 ||
		    memcmp(sqlite3_column_blob(stmt, 7), h, 32) != 0) {
			s = err_set(err, STORE_ETAMPER,
				    "audit log: row %" PRIu64 " does not match "
				    "its chained hash (row changed, reordered or a row before it "
				    "was altered)",
				    seq);
			break;
		}
		memcpy(prev, h, 32);
		expect++;
		if (fs && !strcmp(t[2], STORE_FAULT_RPC) && !strcmp(t[0], STORE_FAULT_CALLER))
			s = store_fault_fold(fs, seq, t[3], err);
	}
	if (!s && rc != SQLITE_DONE)
		s = err_sqlite(err, st->db, rc, "reading the audit log");
	sqlite3_finalize(stmt);
	if (s)
		return s;

	/* The head catches what the chain cannot: losing the last rows. */
	s = store_prepare(st, "SELECT seq, hash FROM audit_head WHERE id = 1", &stmt, err);
	if (s)
		return s;
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		uint64_t head = (uint64_t)sqlite3_column_int64(stmt, 0);
		if (head != expect - 1)
			s = err_set(err, STORE_ETAMPER,
				    "audit log ends at row %" PRIu64 " but its "
				    "head records row %" PRIu64 " (rows lost or head altered)",
				    expect - 1, head);
		else if (sqlite3_column_bytes(stmt, 1) != 32 ||
			 memcmp(sqlite3_column_blob(stmt, 1), prev, 32) != 0)
			s = err_set(err, STORE_ETAMPER,
				    "audit log: head hash does not match row "
				    "%" PRIu64,
				    head);
	} else if (rc == SQLITE_DONE) {
		s = err_set(err, STORE_ETAMPER, "audit log: head row is missing");
	} else {
		s = err_sqlite(err, st->db, rc, "reading the audit head");
	}
	sqlite3_finalize(stmt);
	return s;
}

static enum store_status check_fault_counters(struct store *st, struct fault_set *fs,
					      struct store_err *err)
{
	sqlite3_stmt *stmt;
	enum store_status s = store_prepare(st,
					    "SELECT vm_uuid, kind, count, audit_seq "
					    "FROM fault_counters",
					    &stmt, err);
	if (s)
		return s;
	int rc = SQLITE_DONE;
	while (!s && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		const char *uuid = (const char *)sqlite3_column_text(stmt, 0);
		const char *kind = (const char *)sqlite3_column_text(stmt, 1);
		uint64_t count = (uint64_t)sqlite3_column_int64(stmt, 2);
		uint64_t seq = (uint64_t)sqlite3_column_int64(stmt, 3);
		struct fault_expect *f = fault_find(fs, uuid ? uuid : "", kind ? kind : "");
		if (!f)
			s = err_set(err, STORE_ETAMPER,
				    "fault counter %s/%s = %" PRIu64 " has no "
				    "record in the audit chain",
				    uuid, kind, count);
		else if (f->count != count || f->seq != seq)
			s = err_set(err, STORE_ETAMPER,
				    "fault counter %s/%s is %" PRIu64 " but the "
				    "audit chain records %" PRIu64,
				    uuid, kind, count, f->count);
		else
			f->seen = true;
	}
	if (!s && rc != SQLITE_DONE)
		s = err_sqlite(err, st->db, rc, "reading fault counters");
	sqlite3_finalize(stmt);
	for (size_t i = 0; !s && i < fs->n; i++)
		if (!fs->v[i].seen)
			s = err_set(err, STORE_ETAMPER,
				    "fault counter %s/%s is missing (the audit "
				    "chain records %" PRIu64 ")",
				    fs->v[i].uuid, fs->v[i].kind, fs->v[i].count);
	return s;
}

enum store_status store_check_content(struct store *st, struct store_err *err)
{
	return store_check_content_from(st, 1, err);
}

enum store_status store_check_content_from(struct store *st, uint64_t start_seq, struct store_err *err)
{
	/* One read transaction: a consistent snapshot even while other connections write. */
	int rc = sqlite3_exec(st->db, "BEGIN", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return err_sqlite(err, st->db, rc, "starting the integrity check");
	int64_t ver = 0;
	sqlite3_stmt *stmt;
	enum store_status s = store_prepare(st, "PRAGMA user_version", &stmt, err);
	if (!s) {
		if (sqlite3_step(stmt) == SQLITE_ROW)
			ver = sqlite3_column_int64(stmt, 0);
		sqlite3_finalize(stmt);
	}
	/* Older files are checked for what their schema version has. */
	struct fault_set fs = { 0 };
	if (!s && ver >= 1)
		s = check_configs(st, err);
	if (!s && ver >= 2)
		s = check_audit_chain(st, ver >= 3 ? &fs : NULL, start_seq, err);
	if (!s && ver >= 3)
		s = check_fault_counters(st, &fs, err);
	free(fs.v);
	sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL);
	return s;
}

enum store_status store_verify_locked(struct store *st, struct store_err *err)
{
	enum store_status s = store_check_structure(st, err);
	if (!s)
		s = store_check_content(st, err);
	return s;
}
