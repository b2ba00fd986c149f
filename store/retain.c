/* Retention (REQ-SAF-16, docs/store.md "Retention"): the audit log of a sealed handle is
 * kept under a row limit and a byte limit by folding its oldest rows into the checkpoint,
 * one row of audit_checkpoints that covers every row folded so far: their range, how many
 * rows each rpc had, the fault counters as of the last folded row, and the chain's hash
 * and MAC at that row, under a MAC of its own (the tag) made with the audit key. The chain
 * goes on from the checkpoint: verify.c starts the SHA chain and the fault counters from
 * it, seal.c checks its tag and starts the MAC chain from it, so verification reads only
 * the rows after it. A fold is one transaction (checkpoint, deletion, and an
 * "audit.checkpoint" row saying what was folded). */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/md.h>

#include "store_internal.h"

#define CP_MAGIC "hv-agent audit checkpoint v1"

static bool have_table(struct store *st)
{
	sqlite3_stmt *stmt;
	if (sqlite3_prepare_v2(st->db,
			       "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND "
			       "name = 'audit_checkpoints'",
			       -1, &stmt, NULL) != SQLITE_OK)
		return false;
	bool yes = sqlite3_step(stmt) == SQLITE_ROW;
	sqlite3_finalize(stmt);
	return yes;
}

static char *dup_col(sqlite3_stmt *stmt, int col)
{
	const char *t = (const char *)sqlite3_column_text(stmt, col);
	return strdup(t ? t : "");
}

enum store_status store_cp_load(struct store *st, struct store_cp *cp, struct store_err *err)
{
	memset(cp, 0, sizeof *cp);
	if (!have_table(st))
		return STORE_OK;
	sqlite3_stmt *stmt;
	enum store_status s = store_prepare(st,
					    "SELECT first_seq, last_seq, time_ms, counts, faults, "
					    "last_hash, last_mac, tag FROM audit_checkpoints "
					    "WHERE id = 1",
					    &stmt, err);
	if (s)
		return s;
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		cp->found = true;
		cp->first = (uint64_t)sqlite3_column_int64(stmt, 0);
		cp->last = (uint64_t)sqlite3_column_int64(stmt, 1);
		cp->time_ms = sqlite3_column_int64(stmt, 2);
		cp->counts = dup_col(stmt, 3);
		cp->faults = dup_col(stmt, 4);
		/* The table's CHECKs keep these 32 bytes long. */
		for (int k = 0; k < 3; k++) {
			uint8_t *dst = k == 0 ? cp->hash : k == 1 ? cp->mac : cp->tag;
			if (sqlite3_column_bytes(stmt, 5 + k) == 32)
				memcpy(dst, sqlite3_column_blob(stmt, 5 + k), 32);
		}
		if (!cp->counts || !cp->faults)
			s = err_set(err, STORE_ENOMEM, "out of memory reading the audit checkpoint");
	} else if (rc != SQLITE_DONE) {
		s = err_sqlite(err, st->db, rc, "reading the audit checkpoint");
	}
	sqlite3_finalize(stmt);
	if (s)
		store_cp_free(cp);
	return s;
}

void store_cp_free(struct store_cp *cp)
{
	free(cp->counts);
	free(cp->faults);
	cp->counts = cp->faults = NULL;
}

static void md_u64(mbedtls_md_context_t *c, uint64_t v)
{
	uint8_t b[8];
	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (56 - 8 * i));
	mbedtls_md_hmac_update(c, b, 8);
}

void store_cp_tag(const uint8_t key[32], const struct store_cp *cp, uint8_t out[32])
{
	mbedtls_md_context_t c;
	mbedtls_md_init(&c);
	memset(out, 0, 32);
	if (mbedtls_md_setup(&c, mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), 1) == 0 &&
	    mbedtls_md_hmac_starts(&c, key, 32) == 0) {
		mbedtls_md_hmac_update(&c, (const uint8_t *)CP_MAGIC, sizeof CP_MAGIC);
		md_u64(&c, cp->first);
		md_u64(&c, cp->last);
		md_u64(&c, (uint64_t)cp->time_ms);
		md_u64(&c, strlen(cp->counts));
		mbedtls_md_hmac_update(&c, (const uint8_t *)cp->counts, strlen(cp->counts));
		md_u64(&c, strlen(cp->faults));
		mbedtls_md_hmac_update(&c, (const uint8_t *)cp->faults, strlen(cp->faults));
		mbedtls_md_hmac_update(&c, cp->hash, 32);
		mbedtls_md_hmac_update(&c, cp->mac, 32);
		mbedtls_md_hmac_finish(&c, out);
	}
	mbedtls_md_free(&c);
}

/* faults: lines "uuid/kind=count@seq". */
enum store_status store_cp_seed_faults(const struct store_cp *cp, struct fault_set *fs,
				       struct store_err *err)
{
	const char *p = cp->faults;
	while (*p) {
		char uuid[STORE_UUID_LEN + 1], kind[STORE_FAULT_KIND_MAX + 1];
		uint64_t count, seq;
		int used = 0;
		if (sscanf(p, "%36[0-9a-f-]/%31[a-z0-9_-]=%" SCNu64 "@%" SCNu64 "%n", uuid, kind,
			   &count, &seq, &used) != 4 ||
		    p[used] != '\n' || count == 0 || check_uuid(uuid, NULL))
			return err_set(err, STORE_ETAMPER,
				       "audit log: checkpoint of rows %" PRIu64 "..%" PRIu64
				       " has a malformed fault counter record",
				       cp->first, cp->last);
		enum store_status s = store_fault_set_put(fs, uuid, kind, count, seq, err);
		if (s)
			return s;
		p += used + 1;
	}
	return STORE_OK;
}

/* A growing text. */
struct text {
	char *p;
	size_t len, cap;
	bool oom;
};

static void text_add(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void text_add(struct text *t, const char *fmt, ...)
{
	if (t->oom)
		return;
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(t->p ? t->p + t->len : NULL, t->p ? t->cap - t->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			t->oom = true;
			return;
		}
		if (t->p && t->len + (size_t)n < t->cap) {
			t->len += (size_t)n;
			return;
		}
		size_t nc = (t->cap ? t->cap * 2 : 256) + (size_t)n + 1;
		char *q = realloc(t->p, nc);
		if (!q) {
			t->oom = true;
			return;
		}
		t->p = q;
		t->cap = nc;
		t->p[t->len] = '\0';
	}
}

/* counts: lines "n rpc", ordered by rpc; the old checkpoint's and the folded rows'. */
static enum store_status fold_counts(struct store *st, const char *old, uint64_t last,
				     struct text *out, struct store_err *err)
{
	sqlite3_stmt *stmt;
	enum store_status s = store_prepare(st,
					    "SELECT rpc, count(*) FROM audit_log WHERE seq <= ? "
					    "GROUP BY rpc ORDER BY rpc",
					    &stmt, err);
	if (s)
		return s;
	sqlite3_bind_int64(stmt, 1, (int64_t)last);
	const char *p = old;
	int rc;
	/* A merge of two lists ordered by rpc. */
	for (;;) {
		rc = sqlite3_step(stmt);
		const char *rpc =
			rc == SQLITE_ROW ? (const char *)sqlite3_column_text(stmt, 0) : NULL;
		uint64_t n = rc == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(stmt, 1) : 0;
		if (rc == SQLITE_ROW && !rpc)
			rpc = "";
		while (*p) {
			char *end;
			uint64_t on = strtoull(p, &end, 10);
			const char *nl = strchr(end, '\n');
			if (*end != ' ' || !nl) {
				s = err_set(err, STORE_ETAMPER,
					    "audit log: the checkpoint's counts are malformed");
				goto out;
			}
			size_t ol = (size_t)(nl - end - 1);
			int cmp = rpc ? strncmp(end + 1, rpc, ol) : -1;
			if (rpc && cmp == 0 && rpc[ol] != '\0')
				cmp = -1;
			if (cmp > 0)
				break;
			if (cmp == 0)
				n += on;
			else
				text_add(out, "%" PRIu64 " %.*s\n", on, (int)ol, end + 1);
			p = nl + 1;
			if (cmp == 0)
				break;
		}
		if (rc != SQLITE_ROW)
			break;
		text_add(out, "%" PRIu64 " %s\n", n, rpc);
	}
	if (rc != SQLITE_DONE)
		s = err_sqlite(err, st->db, rc, "counting the audit rows to fold");
out:
	sqlite3_finalize(stmt);
	return s;
}

static enum store_status fold_faults(struct store *st, const struct store_cp *old, uint64_t last,
				     struct text *out, struct store_err *err)
{
	struct fault_set fs = { 0 };
	enum store_status s = old->found ? store_cp_seed_faults(old, &fs, err) : STORE_OK;
	sqlite3_stmt *stmt;
	if (!s)
		s = store_prepare(st,
				  "SELECT seq, args FROM audit_log WHERE seq <= ? AND rpc = '" STORE_FAULT_RPC
				  "' AND caller = '" STORE_FAULT_CALLER "' ORDER BY seq",
				  &stmt, err);
	if (!s) {
		sqlite3_bind_int64(stmt, 1, (int64_t)last);
		int rc = SQLITE_DONE;
		while (!s && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
			const char *args = (const char *)sqlite3_column_text(stmt, 1);
			s = store_fault_fold(&fs, (uint64_t)sqlite3_column_int64(stmt, 0),
					     args ? args : "", err);
		}
		if (!s && rc != SQLITE_DONE)
			s = err_sqlite(err, st->db, rc, "reading the fault rows to fold");
		sqlite3_finalize(stmt);
	}
	for (size_t i = 0; !s && i < fs.n; i++)
		text_add(out, "%s/%s=%" PRIu64 "@%" PRIu64 "\n", fs.v[i].uuid, fs.v[i].kind,
			 fs.v[i].count, fs.v[i].seq);
	free(fs.v);
	return s;
}

static enum store_status seq_range(struct store *st, uint64_t *lo, uint64_t *hi, struct store_err *err)
{
	sqlite3_stmt *stmt;
	*lo = *hi = 0;
	enum store_status s =
		store_prepare(st, "SELECT min(seq), max(seq) FROM audit_log", &stmt, err);
	if (s)
		return s;
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		*lo = (uint64_t)sqlite3_column_int64(stmt, 0);
		*hi = (uint64_t)sqlite3_column_int64(stmt, 1);
	} else {
		s = err_sqlite(err, st->db, rc, "reading the audit log's range");
	}
	sqlite3_finalize(stmt);
	return s;
}

static int64_t pragma_value(struct store *st, const char *sql)
{
	sqlite3_stmt *stmt;
	int64_t v = 0;
	if (sqlite3_prepare_v2(st->db, sql, -1, &stmt, NULL) != SQLITE_OK)
		return 0;
	if (sqlite3_step(stmt) == SQLITE_ROW)
		v = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	return v;
}

/* The last row to fold (0: none) under the handle's limits. */
static enum store_status fold_plan(struct store *st, uint64_t *fold_last, struct store_err *err)
{
	uint64_t lo, hi;
	*fold_last = 0;
	enum store_status s = seq_range(st, &lo, &hi, err);
	if (s || hi == 0)
		return s;
	uint64_t rows = hi - lo + 1, keep = rows;
	if (st->retain_rows && rows > st->retain_rows)
		keep = st->retain_rows / 2;
	if (st->retain_bytes && rows >= STORE_RETAIN_ROWS_MIN) {
		int64_t pages = pragma_value(st, "PRAGMA page_count") -
				pragma_value(st, "PRAGMA freelist_count");
		uint64_t used = (uint64_t)(pages > 0 ? pages : 0) *
				(uint64_t)pragma_value(st, "PRAGMA page_size");
		if (used > st->retain_bytes && keep > rows / 2)
			keep = rows / 2;
	}
	if (keep < 1)
		keep = 1;
	if (keep < rows)
		*fold_last = hi - keep;
	return STORE_OK;
}

/* When the newest fault history row is among those folded, a "store.fault.mark" row
 * after the checkpoint carries its outcome on, so that hv-agent still knows how far
 * hv-core's events were read (docs/store.md "Fault history"). */
static enum store_status fault_cursor(struct store *st, uint64_t last,
				      char outcome[STORE_OUTCOME_MAX + 1], struct store_err *err)
{
	sqlite3_stmt *stmt;
	enum store_status s =
		store_prepare(st,
			      "SELECT seq, outcome FROM audit_log WHERE caller = '" STORE_FAULT_CALLER
			      "' AND rpc IN ('" STORE_FAULT_RPC "', '" STORE_FAULT_GAP_RPC
			      "', '" STORE_FAULT_MARK_RPC "') ORDER BY seq DESC LIMIT 1",
			      &stmt, err);
	if (s)
		return s;
	outcome[0] = '\0';
	if (sqlite3_step(stmt) == SQLITE_ROW && (uint64_t)sqlite3_column_int64(stmt, 0) <= last) {
		const char *o = (const char *)sqlite3_column_text(stmt, 1);
		if (o && !strncmp(o, "hv_seq=", 7))
			snprintf(outcome, STORE_OUTCOME_MAX + 1, "%s", o);
	}
	sqlite3_finalize(stmt);
	return STORE_OK;
}

/* Folds rows up to last into the checkpoint, inside the caller's transaction. */
static enum store_status fold_tx(struct store *st, uint64_t last, uint64_t *folded,
				 struct store_err *err)
{
	struct store_cp old, cp = { 0 };
	struct text counts = { 0 }, faults = { 0 };
	uint64_t lo, hi;
	enum store_status s = store_cp_load(st, &old, err);
	if (!s)
		s = seq_range(st, &lo, &hi, err);
	if (s)
		return s;
	if (old.found && lo != old.last + 1)
		s = err_set(err, STORE_ETAMPER,
			    "audit log: row %" PRIu64
			    " is missing (the checkpoint ends at row %" PRIu64 "); refusing to fold",
			    old.last + 1, old.last);
	if (!s)
		s = fold_counts(st, old.found ? old.counts : "", last, &counts, err);
	if (!s)
		s = fold_faults(st, &old, last, &faults, err);
	if (!s && (counts.oom || faults.oom))
		s = err_set(err, STORE_ENOMEM, "out of memory folding the audit log");

	sqlite3_stmt *stmt;
	if (!s)
		s = store_prepare(st, "SELECT hash, mac FROM audit_log WHERE seq = ?", &stmt, err);
	if (!s) {
		sqlite3_bind_int64(stmt, 1, (int64_t)last);
		if (sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_bytes(stmt, 0) == 32 &&
		    sqlite3_column_bytes(stmt, 1) == 32) {
			memcpy(cp.hash, sqlite3_column_blob(stmt, 0), 32);
			memcpy(cp.mac, sqlite3_column_blob(stmt, 1), 32);
		} else {
			s = err_set(err, STORE_ETAMPER,
				    "audit log: row %" PRIu64 " is missing or has no MAC; refusing "
				    "to fold",
				    last);
		}
		sqlite3_finalize(stmt);
	}
	if (!s) {
		cp.found = true;
		cp.first = old.found ? old.first : lo;
		cp.last = last;
		cp.time_ms = store_now_ms();
		cp.counts = counts.p ? counts.p : "";
		cp.faults = faults.p ? faults.p : "";
		store_cp_tag(st->key, &cp, cp.tag);
		s = store_prepare(st,
				  "INSERT OR REPLACE INTO audit_checkpoints (id, first_seq, last_seq, "
				  "time_ms, counts, faults, last_hash, last_mac, tag) "
				  "VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?)",
				  &stmt, err);
	}
	if (!s) {
		sqlite3_bind_int64(stmt, 1, (int64_t)cp.first);
		sqlite3_bind_int64(stmt, 2, (int64_t)cp.last);
		sqlite3_bind_int64(stmt, 3, cp.time_ms);
		sqlite3_bind_text(stmt, 4, cp.counts, -1, SQLITE_STATIC);
		sqlite3_bind_text(stmt, 5, cp.faults, -1, SQLITE_STATIC);
		sqlite3_bind_blob(stmt, 6, cp.hash, 32, SQLITE_STATIC);
		sqlite3_bind_blob(stmt, 7, cp.mac, 32, SQLITE_STATIC);
		sqlite3_bind_blob(stmt, 8, cp.tag, 32, SQLITE_STATIC);
		int rc = sqlite3_step(stmt);
		sqlite3_finalize(stmt);
		if (rc != SQLITE_DONE)
			s = err_sqlite(err, st->db, rc, "writing the audit checkpoint");
	}
	char cursor[STORE_OUTCOME_MAX + 1] = "";
	if (!s)
		s = fault_cursor(st, last, cursor, err);
	if (!s)
		s = store_prepare(st, "DELETE FROM audit_log WHERE seq <= ?", &stmt, err);
	if (!s) {
		sqlite3_bind_int64(stmt, 1, (int64_t)last);
		int rc = sqlite3_step(stmt);
		sqlite3_finalize(stmt);
		if (rc != SQLITE_DONE)
			s = err_sqlite(err, st->db, rc, "removing folded audit rows");
	}
	if (!s) {
		char args[160];
		snprintf(args, sizeof args,
			 "folded rows %" PRIu64 "..%" PRIu64 "; the checkpoint covers rows %" PRIu64
			 "..%" PRIu64,
			 lo, last, cp.first, cp.last);
		struct store_audit_entry e = { .caller = STORE_FAULT_CALLER,
					       .role = STORE_FAULT_ROLE,
					       .rpc = STORE_CHECKPOINT_RPC,
					       .args = args,
					       .outcome = "ok" };
		s = store_audit_append_tx(st, &e, err);
	}
	if (!s && cursor[0]) {
		struct store_audit_entry e = { .caller = STORE_FAULT_CALLER,
					       .role = STORE_FAULT_ROLE,
					       .rpc = STORE_FAULT_MARK_RPC,
					       .args = "-",
					       .outcome = cursor };
		s = store_audit_append_tx(st, &e, err);
	}
	if (!s && folded)
		*folded = last - lo + 1;
	free(counts.p);
	free(faults.p);
	store_cp_free(&old);
	return s;
}

/* With st->lock held. */
static enum store_status retain_locked(struct store *st, uint64_t *folded, struct store_err *err)
{
	if (folded)
		*folded = 0;
	if (!st->sealed || st->retaining || st->tampered || (!st->retain_rows && !st->retain_bytes))
		return STORE_OK;
	st->retaining = true;
	enum store_status s = store_tx_begin(st, err);
	if (!s) {
		uint64_t last;
		s = fold_plan(st, &last, err);
		if (!s && last)
			s = fold_tx(st, last, folded, err);
		if (s || !last)
			store_tx_rollback(st);
		else
			s = store_tx_commit(st, err);
	}
	st->retaining = false;
	return s;
}

void store_retain_after_commit(struct store *st)
{
	/* A failed fold changes nothing; the next commit tries again. */
	if (st->retain_rows || st->retain_bytes)
		retain_locked(st, NULL, NULL);
}

enum store_status store_retention_set(struct store *st, uint64_t max_rows, uint64_t max_bytes,
				      struct store_err *err)
{
	if (!st)
		return err_set(err, STORE_EINVAL, "store handle is NULL");
	if (max_rows && max_rows < STORE_RETAIN_ROWS_MIN)
		return err_set(err, STORE_EINVAL,
			       "audit row limit %" PRIu64 " is below the minimum of %u (0: no limit)",
			       max_rows, STORE_RETAIN_ROWS_MIN);
	if (max_bytes && max_bytes < STORE_RETAIN_BYTES_MIN)
		return err_set(err, STORE_EINVAL,
			       "database byte limit %" PRIu64 " is below the minimum of %u (0: no "
			       "limit)",
			       max_bytes, STORE_RETAIN_BYTES_MIN);
	pthread_mutex_lock(&st->lock);
	enum store_status s = STORE_OK;
	/* A sealed handle whose key was lost folds again once the finding is acknowledged. */
	if (!st->key_path && (max_rows || max_bytes))
		s = err_set(err, STORE_EINVAL,
			    "retention needs the audit key: open the store with store_open_sealed");
	else {
		st->retain_rows = max_rows;
		st->retain_bytes = max_bytes;
	}
	pthread_mutex_unlock(&st->lock);
	return s;
}

enum store_status store_audit_retain(struct store *st, uint64_t *folded, struct store_err *err)
{
	if (!st)
		return err_set(err, STORE_EINVAL, "store handle is NULL");
	pthread_mutex_lock(&st->lock);
	enum store_status s = retain_locked(st, folded, err);
	pthread_mutex_unlock(&st->lock);
	return s;
}

enum store_status store_audit_checkpoint(struct store *st, struct store_checkpoint *out,
					 bool *found, struct store_err *err)
{
	if (!st || !out || !found)
		return err_set(err, STORE_EINVAL, "store_audit_checkpoint: NULL %s",
			       !st ? "store handle" : "output pointer");
	struct store_cp cp;
	pthread_mutex_lock(&st->lock);
	enum store_status s = store_cp_load(st, &cp, err);
	pthread_mutex_unlock(&st->lock);
	if (s)
		return s;
	*found = cp.found;
	memset(out, 0, sizeof *out);
	if (cp.found) {
		out->first_seq = cp.first;
		out->last_seq = cp.last;
		out->time_ms = cp.time_ms;
	}
	store_cp_free(&cp);
	return STORE_OK;
}

/* counts' "n rpc" lines: n of rpc (0 when none). */
static uint64_t count_of(const char *counts, const char *rpc)
{
	size_t len = strlen(rpc);
	for (const char *p = counts; *p;) {
		uint64_t n;
		int used = 0;
		if (sscanf(p, "%" SCNu64 " %n", &n, &used) == 1 && !strncmp(p + used, rpc, len) &&
		    p[used + len] == '\n')
			return n;
		const char *nl = strchr(p, '\n');
		if (!nl)
			break;
		p = nl + 1;
	}
	return 0;
}

void store_fold_summary_free(struct store_fold_summary *s)
{
	if (!s)
		return;
	free(s->faults);
	s->faults = NULL;
	s->n_faults = 0;
}

enum store_status store_fault_folded(struct store *st, struct store_fold_summary *out, bool *found,
				     struct store_err *err)
{
	if (!st || !out || !found)
		return err_set(err, STORE_EINVAL, "store_fault_folded: NULL %s",
			       !st ? "store handle" : "output pointer");
	memset(out, 0, sizeof *out);
	*found = false;
	struct store_cp cp;
	pthread_mutex_lock(&st->lock);
	enum store_status s = store_cp_load(st, &cp, err);
	pthread_mutex_unlock(&st->lock);
	if (s || !cp.found) {
		store_cp_free(&cp);
		return s;
	}
	out->first_seq = cp.first;
	out->last_seq = cp.last;
	out->time_ms = cp.time_ms;
	out->fault_rows = count_of(cp.counts, STORE_FAULT_RPC);
	out->gap_rows = count_of(cp.counts, STORE_FAULT_GAP_RPC);
	out->mark_rows = count_of(cp.counts, STORE_FAULT_MARK_RPC);
	size_t lines = 0;
	for (const char *p = cp.faults; *p; p++)
		lines += *p == '\n';
	out->faults = lines ? calloc(lines, sizeof *out->faults) : NULL;
	if (lines && !out->faults) {
		store_cp_free(&cp);
		return err_set(err, STORE_ENOMEM, "out of memory reading the audit checkpoint");
	}
	/* lines "uuid/kind=count@seq" (their form checked at open, store_cp_seed_faults) */
	for (const char *p = cp.faults; *p && out->n_faults < lines;) {
		struct store_fold_fault *f = &out->faults[out->n_faults];
		uint64_t seq;
		if (sscanf(p, "%36[0-9a-f-]/%31[a-z0-9_-]=%" SCNu64 "@%" SCNu64, f->vm_uuid,
			   f->kind, &f->count, &seq) == 4)
			out->n_faults++;
		const char *nl = strchr(p, '\n');
		if (!nl)
			break;
		p = nl + 1;
	}
	store_cp_free(&cp);
	*found = true;
	return STORE_OK;
}
