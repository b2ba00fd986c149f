/* The audit log as a hash chain (REQ-SAF-16): row n stores
 * SHA-256(hash of row n-1 || canonical encoding of row n), row 1 chains from 32 zero
 * bytes, and audit_head holds the last seq and hash so that a lost last row is noticed.
 * Changing, deleting or reordering rows breaks the chain; verify.c walks it. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/sha256.h>
#include <mbedtls/version.h>

#include "store_internal.h"

#if MBEDTLS_VERSION_NUMBER >= 0x03000000
#define sha_starts mbedtls_sha256_starts
#define sha_update mbedtls_sha256_update
#define sha_finish mbedtls_sha256_finish
#else
#define sha_starts mbedtls_sha256_starts_ret
#define sha_update mbedtls_sha256_update_ret
#define sha_finish mbedtls_sha256_finish_ret
#endif

void store_sha256(const void *data, size_t len, uint8_t out[32])
{
	mbedtls_sha256_context c;
	mbedtls_sha256_init(&c);
	sha_starts(&c, 0);
	sha_update(&c, data, len);
	sha_finish(&c, out);
	mbedtls_sha256_free(&c);
}

static void put_u64(mbedtls_sha256_context *c, uint64_t v)
{
	uint8_t b[8];
	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (56 - 8 * i));
	sha_update(c, b, 8);
}

/* Length-prefixed, so "ab"+"c" and "a"+"bc" hash differently. */
static void put_str(mbedtls_sha256_context *c, const char *s)
{
	size_t n = strlen(s);
	uint8_t b[4] = { (uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n };
	sha_update(c, b, 4);
	sha_update(c, (const uint8_t *)s, n);
}

void store_audit_row_hash(const uint8_t prev[32], uint64_t seq, int64_t time_ms, const char *caller,
			  const char *role, const char *rpc, const char *args, const char *outcome,
			  uint8_t out[32])
{
	mbedtls_sha256_context c;
	mbedtls_sha256_init(&c);
	sha_starts(&c, 0);
	sha_update(&c, prev, 32);
	put_u64(&c, seq);
	put_u64(&c, (uint64_t)time_ms);
	put_str(&c, caller);
	put_str(&c, role);
	put_str(&c, rpc);
	put_str(&c, args);
	put_str(&c, outcome);
	sha_finish(&c, out);
	mbedtls_sha256_free(&c);
}

static enum store_status check_entry(const struct store_audit_entry *e, struct store_err *err)
{
	if (!e)
		return err_set(err, STORE_EINVAL, "audit entry is NULL");
	enum store_status s;
	if ((s = check_text("audit caller", e->caller, STORE_AUTHOR_MAX, false, err)) ||
	    (s = check_text("audit role", e->role, STORE_ROLE_MAX, false, err)) ||
	    (s = check_text("audit rpc", e->rpc, STORE_RPC_MAX, false, err)) ||
	    (s = check_text("audit args", e->args, STORE_ARGS_MAX, true, err)) ||
	    (s = check_text("audit outcome", e->outcome, STORE_OUTCOME_MAX, false, err)))
		return s;
	/* Fault rows are written only by store_fault_increment: verify.c trusts them to
	 * recompute the counters. */
	if (!strcmp(e->rpc, STORE_FAULT_RPC) || !strcmp(e->rpc, STORE_SEAL_RPC) ||
	    !strcmp(e->rpc, STORE_ACK_RPC) || !strcmp(e->rpc, STORE_CHECKPOINT_RPC))
		return err_set(err, STORE_EINVAL, "audit rpc \"%s\" is reserved for the store",
			       e->rpc);
	return STORE_OK;
}

/* anchor: a row restarting the keyed chain (STORE_SEAL_RPC, STORE_ACK_RPC). It chains
 * its hash from the last stored row even where the head disagrees (the disagreement is
 * what is being acknowledged). */
static enum store_status append_tx(struct store *st, struct store_audit_entry *e, bool anchor,
				   struct store_err *err)
{
	sqlite3_stmt *stmt;
	uint64_t seq = 0;
	uint8_t prev[32];
	enum store_status s =
		store_prepare(st, "SELECT seq, hash FROM audit_head WHERE id = 1", &stmt, err);
	if (s)
		return s;
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW && sqlite3_column_bytes(stmt, 1) == 32) {
		seq = (uint64_t)sqlite3_column_int64(stmt, 0);
		memcpy(prev, sqlite3_column_blob(stmt, 1), 32);
	} else if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
		s = err_set(err, STORE_ETAMPER, "audit_head row is missing or malformed");
	} else {
		s = err_sqlite(err, st->db, rc, "reading the audit head");
	}
	sqlite3_finalize(stmt);
	if (s)
		return s;

	/* Never extend a chain whose head no longer matches its last row. */
	uint8_t prev_mac[32] = { 0 };
	bool have_mac = false;
	s = store_prepare(st, "SELECT seq, hash, mac FROM audit_log ORDER BY seq DESC LIMIT 1",
			  &stmt, err);
	if (s)
		return s;
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW && sqlite3_column_bytes(stmt, 2) == 32) {
		memcpy(prev_mac, sqlite3_column_blob(stmt, 2), 32);
		have_mac = true;
	}
	if (rc == SQLITE_ROW && anchor) {
		seq = (uint64_t)sqlite3_column_int64(stmt, 0);
		if (sqlite3_column_bytes(stmt, 1) == 32)
			memcpy(prev, sqlite3_column_blob(stmt, 1), 32);
	} else if (rc == SQLITE_DONE && anchor) {
		seq = 0;
		memset(prev, 0, sizeof prev);
	} else if (rc == SQLITE_ROW) {
		if ((uint64_t)sqlite3_column_int64(stmt, 0) != seq ||
		    sqlite3_column_bytes(stmt, 1) != 32 ||
		    memcmp(sqlite3_column_blob(stmt, 1), prev, 32) != 0)
			s = err_set(err, STORE_ETAMPER,
				    "audit log's last row (%lld) does not match "
				    "the recorded head (%" PRIu64 "); refusing to append",
				    (long long)sqlite3_column_int64(stmt, 0), seq);
	} else if (rc == SQLITE_DONE) {
		if (seq != 0)
			s = err_set(err, STORE_ETAMPER,
				    "audit log is empty but its head records "
				    "row %" PRIu64 "; refusing to append",
				    seq);
	} else {
		s = err_sqlite(err, st->db, rc, "reading the last audit row");
	}
	sqlite3_finalize(stmt);
	if (s)
		return s;

	if (st->sealed && !anchor && !have_mac)
		return err_set(err, STORE_ETAMPER,
			       "audit log's last row (%" PRIu64 ") has no MAC; refusing to append",
			       seq);
	e->seq = seq + 1;
	e->time_ms = store_now_ms();
	store_audit_row_hash(prev, e->seq, e->time_ms, e->caller, e->role, e->rpc, e->args,
			     e->outcome, e->hash);
	uint8_t mac[32];
	if (st->sealed) {
		if (anchor)
			memset(prev_mac, 0, sizeof prev_mac);
		store_audit_mac(st->key, prev_mac, e->hash, mac);
	}
	s = store_prepare(st,
			  "INSERT INTO audit_log (seq, time_ms, caller, role, rpc, args, "
			  "outcome, hash, mac) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
			  &stmt, err);
	if (s)
		return s;
	sqlite3_bind_int64(stmt, 1, (int64_t)e->seq);
	sqlite3_bind_int64(stmt, 2, e->time_ms);
	sqlite3_bind_text(stmt, 3, e->caller, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 4, e->role, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 5, e->rpc, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 6, e->args, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 7, e->outcome, -1, SQLITE_STATIC);
	sqlite3_bind_blob(stmt, 8, e->hash, 32, SQLITE_STATIC);
	if (st->sealed)
		sqlite3_bind_blob(stmt, 9, mac, 32, SQLITE_STATIC);
	else
		sqlite3_bind_null(stmt, 9);
	rc = sqlite3_step(stmt);
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE)
		return err_sqlite(err, st->db, rc, "appending an audit row");

	s = store_prepare(st, "UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1", &stmt, err);
	if (s)
		return s;
	sqlite3_bind_int64(stmt, 1, (int64_t)e->seq);
	sqlite3_bind_blob(stmt, 2, e->hash, 32, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE)
		return err_sqlite(err, st->db, rc, "updating the audit head");
	if (st->sealed) {
		st->head_dirty = true;
		st->head_seq = e->seq;
		memcpy(st->head_mac, mac, 32);
	}
	return STORE_OK;
}

enum store_status store_audit_append_tx(struct store *st, struct store_audit_entry *e,
					struct store_err *err)
{
	return append_tx(st, e, false, err);
}

enum store_status store_audit_anchor_tx(struct store *st, struct store_audit_entry *e,
					struct store_err *err)
{
	return append_tx(st, e, true, err);
}

enum store_status store_audit_append(struct store *st, struct store_audit_entry *e,
				     struct store_err *err)
{
	if (!st)
		return err_set(err, STORE_EINVAL, "store handle is NULL");
	enum store_status s = check_entry(e, err);
	if (s)
		return s;
	pthread_mutex_lock(&st->lock);
	s = store_tx_begin(st, err);
	if (!s) {
		s = store_audit_append_tx(st, e, err);
		if (s)
			store_tx_rollback(st);
		else
			s = store_tx_commit(st, err);
	}
	pthread_mutex_unlock(&st->lock);
	return s;
}

/* Rows are gathered with string offsets into one arena, then copied into a single block
 * (entries first, strings after) so that one free releases everything. */
/* A listed row before its strings move into the caller's block: the strings
 * wait in one arena, as offsets (the arena may move while it grows). */
struct audit_row {
	struct store_audit_entry e;
	size_t off[5];
};

struct arena {
	char *p;
	size_t used, cap;
};

static enum store_status audit_fill(sqlite3_stmt *stmt, void *elem, void *ctx, struct store_err *err)
{
	struct audit_row *r = elem;
	struct arena *ar = ctx;

	r->e.seq = (uint64_t)sqlite3_column_int64(stmt, 0);
	r->e.time_ms = sqlite3_column_int64(stmt, 1);
	if (sqlite3_column_bytes(stmt, 7) == 32)
		memcpy(r->e.hash, sqlite3_column_blob(stmt, 7), 32);
	for (int k = 0; k < 5; k++) {
		const char *t = (const char *)sqlite3_column_text(stmt, 2 + k);
		size_t len = t ? strlen(t) : 0;
		if (ar->used + len + 1 > ar->cap) {
			size_t na = (ar->cap ? ar->cap * 2 : 1024) + len + 1;
			char *a = realloc(ar->p, na);
			if (!a)
				return err_set(err, STORE_ENOMEM,
					       "out of memory listing the audit log");
			ar->p = a;
			ar->cap = na;
		}
		memcpy(ar->p + ar->used, t ? t : "", len + 1);
		r->off[k] = ar->used;
		ar->used += len + 1;
	}
	return STORE_OK;
}

/* sql selects the columns audit_fill reads, with two parameters: from_seq
 * and max (-1 for no limit). */
static enum store_status audit_query_locked(struct store *st, const char *sql, uint64_t from_seq,
					    size_t max, struct store_audit_entry **out, size_t *n,
					    struct store_err *err)
{
	sqlite3_stmt *stmt;
	enum store_status s = store_prepare(st, sql, &stmt, err);
	if (s)
		return s;
	sqlite3_bind_int64(stmt, 1, from_seq > INT64_MAX ? INT64_MAX : (int64_t)from_seq);
	sqlite3_bind_int64(stmt, 2, max == 0 || max > INT64_MAX ? -1 : (int64_t)max);

	struct arena ar = { NULL, 0, 0 };
	void *v = NULL;
	size_t count = 0;
	s = store_collect_rows(st, stmt, sizeof(struct audit_row), audit_fill, &ar, "the audit log",
			       &v, &count, err);
	struct audit_row *rows = v;
	/* One block, entries then their strings: one free() releases it. */
	if (!s && count > 0) {
		struct store_audit_entry *blk = malloc(count * sizeof *blk + ar.used);
		if (!blk) {
			s = err_set(err, STORE_ENOMEM, "out of memory listing the audit log");
		} else {
			char *strs = (char *)(blk + count);
			memcpy(strs, ar.p, ar.used);
			for (size_t i = 0; i < count; i++) {
				blk[i] = rows[i].e;
				blk[i].caller = strs + rows[i].off[0];
				blk[i].role = strs + rows[i].off[1];
				blk[i].rpc = strs + rows[i].off[2];
				blk[i].args = strs + rows[i].off[3];
				blk[i].outcome = strs + rows[i].off[4];
			}
			*out = blk;
			*n = count;
		}
	}
	free(rows);
	free(ar.p);
	return s;
}

static enum store_status audit_list_locked(struct store *st, uint64_t from_seq, size_t max,
					   struct store_audit_entry **out, size_t *n,
					   struct store_err *err)
{
	return audit_query_locked(st,
				  "SELECT seq, time_ms, caller, role, rpc, args, "
				  "outcome, hash FROM audit_log WHERE seq >= ? "
				  "ORDER BY seq LIMIT ?",
				  from_seq, max, out, n, err);
}

enum store_status store_fault_history(struct store *st, size_t max, struct store_audit_entry **out,
				      size_t *n, struct store_err *err)
{
	if (!st || !out || !n)
		return err_set(err, STORE_EINVAL, "store_fault_history: NULL %s",
			       !st ? "store handle" : "output pointer");
	*out = NULL;
	*n = 0;
	pthread_mutex_lock(&st->lock);
	enum store_status s =
		audit_query_locked(st,
				   "SELECT * FROM (SELECT seq, time_ms, caller, role, rpc, args, outcome, hash "
				   "FROM audit_log WHERE seq >= ? AND caller = '" STORE_FAULT_CALLER
				   "' AND rpc IN ('" STORE_FAULT_RPC "', '" STORE_FAULT_GAP_RPC
				   "', '" STORE_FAULT_MARK_RPC "') ORDER BY seq DESC LIMIT ?) "
				   "ORDER BY seq",
				   0, max, out, n, err);
	pthread_mutex_unlock(&st->lock);
	return s;
}

enum store_status store_audit_list(struct store *st, uint64_t from_seq, size_t max,
				   struct store_audit_entry **out, size_t *n, struct store_err *err)
{
	if (!st || !out || !n)
		return err_set(err, STORE_EINVAL, "store_audit_list: NULL %s",
			       !st ? "store handle" : "output pointer");
	*out = NULL;
	*n = 0;
	pthread_mutex_lock(&st->lock);
	enum store_status s = audit_list_locked(st, from_seq, max, out, n, err);
	pthread_mutex_unlock(&st->lock);
	return s;
}

void store_audit_list_free(struct store_audit_entry *list)
{
	free(list);
}

/* The args of a fault-counter audit row; verify.c parses them back to recompute every
 * counter from the chain. */
int store_fault_args(char *buf, size_t size, const char *uuid, const char *kind, uint64_t count)
{
	return snprintf(buf, size, "vm=%s kind=%s count=%" PRIu64, uuid, kind, count);
}

bool store_fault_args_parse(const char *args, char uuid[STORE_UUID_LEN + 1],
			    char kind[STORE_FAULT_KIND_MAX + 1], uint64_t *count)
{
	if (strncmp(args, "vm=", 3) != 0 || strlen(args) < 3 + STORE_UUID_LEN)
		return false;
	memcpy(uuid, args + 3, STORE_UUID_LEN);
	uuid[STORE_UUID_LEN] = '\0';
	const char *p = args + 3 + STORE_UUID_LEN;
	if (check_uuid(uuid, NULL) || strncmp(p, " kind=", 6) != 0)
		return false;
	p += 6;
	const char *sp = strstr(p, " count=");
	if (!sp || sp == p || (size_t)(sp - p) > STORE_FAULT_KIND_MAX)
		return false;
	memcpy(kind, p, (size_t)(sp - p));
	kind[sp - p] = '\0';
	if (check_fault_kind(kind, NULL))
		return false;
	p = sp + 7;
	if (*p < '0' || *p > '9')
		return false;
	char *end;
	unsigned long long v = strtoull(p, &end, 10);
	if (*end != '\0')
		return false;
	*count = v;
	return true;
}
