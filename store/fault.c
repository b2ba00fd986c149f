/* Per-VM fault counters (REQ-SAF-16). Counters only go up. Each increment is also an
 * audit-chain row ("store.fault", "vm=<uuid> kind=<kind> count=<n>") written in the same
 * transaction, so a counter is protected exactly as the chain is: verify.c recomputes
 * every counter from the chain and refuses a table that disagrees. Counters are keyed by
 * the VM's uuid and survive the VM's deletion (diagnostic history is not user data). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

enum store_status check_fault_kind(const char *kind, struct store_err *err)
{
	enum store_status s = check_text("fault kind", kind, STORE_FAULT_KIND_MAX, false, err);
	if (s)
		return s;
	for (const char *p = kind; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
			return err_set(err, STORE_EINVAL,
				       "fault kind \"%s\" may only contain "
				       "a-z, 0-9, _ and -",
				       kind);
	return STORE_OK;
}

static enum store_status read_count(struct store *st, const char *uuid, const char *kind,
				    uint64_t *count, struct store_err *err)
{
	sqlite3_stmt *stmt;
	enum store_status s = store_prepare(st,
					    "SELECT count FROM fault_counters WHERE "
					    "vm_uuid = ? AND kind = ?",
					    &stmt, err);
	if (s)
		return s;
	sqlite3_bind_text(stmt, 1, uuid, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, kind, -1, SQLITE_STATIC);
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*count = (uint64_t)sqlite3_column_int64(stmt, 0);
	else if (rc == SQLITE_DONE)
		*count = 0;
	else
		s = err_sqlite(err, st->db, rc, "reading a fault counter");
	sqlite3_finalize(stmt);
	return s;
}

/* Counter (uuid, kind) plus one, recorded by a chain row whose outcome is
 * `outcome`; under the write transaction. */
static enum store_status bump_tx(struct store *st, const char *uuid, const char *kind,
				 const char *outcome, uint64_t *count_out, struct store_err *err)
{
	uint64_t count = 0; /* set by read_count when it succeeds */
	enum store_status s = read_count(st, uuid, kind, &count, err);
	if (s)
		return s;
	if (count >= INT64_MAX)
		return err_set(err, STORE_EINVAL, "fault counter %s/%s is at its maximum", uuid,
			       kind);
	count++;

	char args[128];
	store_fault_args(args, sizeof args, uuid, kind, count);
	struct store_audit_entry e = {
		.caller = STORE_FAULT_CALLER,
		.role = STORE_FAULT_ROLE,
		.rpc = STORE_FAULT_RPC,
		.args = args,
		.outcome = outcome,
	};
	s = store_audit_append_tx(st, &e, err);
	if (s)
		return s;

	sqlite3_stmt *stmt;
	s = store_prepare(st,
			  "INSERT INTO fault_counters (vm_uuid, kind, count, audit_seq) "
			  "VALUES (?, ?, ?, ?) ON CONFLICT (vm_uuid, kind) DO UPDATE SET "
			  "count = excluded.count, audit_seq = excluded.audit_seq",
			  &stmt, err);
	if (s)
		return s;
	sqlite3_bind_text(stmt, 1, uuid, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, kind, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 3, (int64_t)count);
	sqlite3_bind_int64(stmt, 4, (int64_t)e.seq);
	int rc = sqlite3_step(stmt);
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE)
		return err_sqlite(err, st->db, rc, "updating a fault counter");
	if (count_out)
		*count_out = count;
	return STORE_OK;
}

static enum store_status increment_tx(struct store *st, const char *vm, const char *kind,
				      uint64_t *count_out, struct store_err *err)
{
	char uuid[STORE_UUID_LEN + 1];
	enum store_status s = vm_lookup(st, vm, NULL, uuid, err);
	if (s)
		return s;
	return bump_tx(st, uuid, kind, "ok", count_out, err);
}

enum store_status store_fault_event(struct store *st, const char *vm_uuid, const char *kind,
				    const char *detail, uint64_t *count_out, struct store_err *err)
{
	if (!st)
		return err_set(err, STORE_EINVAL, "store handle is NULL");
	enum store_status s;
	if ((s = check_uuid(vm_uuid, err)) || (s = check_fault_kind(kind, err)) ||
	    (s = check_text("fault detail", detail, STORE_OUTCOME_MAX, false, err)))
		return s;
	WRITE_TX(st, err, bump_tx(st, vm_uuid, kind, detail, count_out, err));
	return s;
}

enum store_status store_fault_note(struct store *st, const char *rpc, const char *detail,
				   struct store_err *err)
{
	if (!st)
		return err_set(err, STORE_EINVAL, "store handle is NULL");
	if (!rpc || (strcmp(rpc, STORE_FAULT_GAP_RPC) && strcmp(rpc, STORE_FAULT_MARK_RPC)))
		return err_set(err, STORE_EINVAL, "fault history note \"%s\" is neither %s nor %s",
			       rpc ? rpc : "(null)", STORE_FAULT_GAP_RPC, STORE_FAULT_MARK_RPC);
	struct store_audit_entry e = {
		.caller = STORE_FAULT_CALLER,
		.role = STORE_FAULT_ROLE,
		.rpc = rpc,
		.args = "-",
		.outcome = detail,
	};
	return store_audit_append(st, &e, err);
}

enum store_status store_fault_increment(struct store *st, const char *vm, const char *kind,
					uint64_t *count_out, struct store_err *err)
{
	if (!st)
		return err_set(err, STORE_EINVAL, "store handle is NULL");
	enum store_status s;
	if ((s = check_name(vm, err)) || (s = check_fault_kind(kind, err)))
		return s;
	WRITE_TX(st, err, increment_tx(st, vm, kind, count_out, err));
	return s;
}

enum store_status store_fault_get(struct store *st, const char *vm, const char *kind,
				  uint64_t *count, struct store_err *err)
{
	if (!st || !count)
		return err_set(err, STORE_EINVAL, "store_fault_get: NULL %s",
			       !st ? "store handle" : "output pointer");
	enum store_status s;
	if ((s = check_name(vm, err)) || (s = check_fault_kind(kind, err)))
		return s;
	char uuid[STORE_UUID_LEN + 1];
	pthread_mutex_lock(&st->lock);
	s = vm_lookup(st, vm, NULL, uuid, err);
	if (!s)
		s = read_count(st, uuid, kind, count, err);
	pthread_mutex_unlock(&st->lock);
	return s;
}

static enum store_status fault_fill(sqlite3_stmt *stmt, void *elem, void *ctx, struct store_err *err)
{
	struct store_fault *f = elem;
	const char *k = (const char *)sqlite3_column_text(stmt, 0);

	(void)ctx;
	(void)err;
	snprintf(f->kind, sizeof f->kind, "%s", k ? k : "");
	f->count = (uint64_t)sqlite3_column_int64(stmt, 1);
	return STORE_OK;
}

static enum store_status list_locked(struct store *st, const char *vm, struct store_fault **out,
				     size_t *n, struct store_err *err)
{
	char uuid[STORE_UUID_LEN + 1];
	enum store_status s = vm_lookup(st, vm, NULL, uuid, err);
	if (s)
		return s;
	sqlite3_stmt *stmt;
	s = store_prepare(st,
			  "SELECT kind, count FROM fault_counters WHERE vm_uuid = ? "
			  "ORDER BY kind",
			  &stmt, err);
	if (s)
		return s;
	sqlite3_bind_text(stmt, 1, uuid, -1, SQLITE_STATIC);
	void *v;
	s = store_collect_rows(st, stmt, sizeof(struct store_fault), fault_fill, NULL,
			       "fault counters", &v, n, err);
	if (!s)
		*out = v;
	return s;
}

enum store_status store_fault_list(struct store *st, const char *vm, struct store_fault **out,
				   size_t *n, struct store_err *err)
{
	if (!st || !out || !n)
		return err_set(err, STORE_EINVAL, "store_fault_list: NULL %s",
			       !st ? "store handle" : "output pointer");
	*out = NULL;
	*n = 0;
	enum store_status s = check_name(vm, err);
	if (s)
		return s;
	pthread_mutex_lock(&st->lock);
	s = list_locked(st, vm, out, n, err);
	pthread_mutex_unlock(&st->lock);
	return s;
}

void store_fault_list_free(struct store_fault *list)
{
	free(list);
}
