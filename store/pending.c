/* Lifecycle commands queued until hv-core's safety policy allows them (when_allowed,
 * docs/mgmt-abi.md MGMT-450). A row is written when hv-agent queues the command and
 * updated once, when the command ran, failed or was cancelled; it is kept afterwards
 * as history. The audit log records each step (hv-agent writes those rows). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

static const char *const pending_states[] = { "pending", "done", "failed", "cancelled" };
#define NSTATES (sizeof pending_states / sizeof pending_states[0])

const char *store_pending_state_name(enum store_pending_state s)
{
	return (unsigned)s < NSTATES ? pending_states[s] : "invalid";
}

static enum store_pending_state state_parse(const char *t)
{
	for (size_t i = 0; t && i < NSTATES; i++)
		if (strcmp(t, pending_states[i]) == 0)
			return (enum store_pending_state)i;
	return STORE_PENDING_FAILED; /* the CHECK constraint rules this out */
}

static enum store_status check_op(const char *op, struct store_err *err)
{
	enum store_status s = check_text("operation", op, STORE_PENDING_OP_MAX, false, err);
	if (s)
		return s;
	for (const char *p = op; *p; p++)
		if (*p < 'a' || *p > 'z')
			return err_set(err, STORE_EINVAL, "operation \"%s\" may only contain a-z",
				       op);
	return STORE_OK;
}

static enum store_status add_tx(struct store *st, const char *op, const char *vm_name,
				const char *vm_uuid, uint64_t arg, const char *caller,
				const char *outcome, uint64_t *id, struct store_err *err)
{
	sqlite3_stmt *stmt;
	enum store_status s =
		store_prepare(st,
			      "INSERT INTO pending_ops (op, vm_name, vm_uuid, arg, "
			      "caller, queued_ms, outcome) VALUES (?, ?, ?, ?, ?, ?, ?)",
			      &stmt, err);
	if (s)
		return s;
	sqlite3_bind_text(stmt, 1, op, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, vm_name, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3, vm_uuid, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 4, (int64_t)arg);
	sqlite3_bind_text(stmt, 5, caller, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 6, store_now_ms());
	sqlite3_bind_text(stmt, 7, outcome, -1, SQLITE_STATIC);
	int rc = sqlite3_step(stmt);
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE)
		return err_sqlite(err, st->db, rc, "queuing a command");
	*id = (uint64_t)sqlite3_last_insert_rowid(st->db);
	return STORE_OK;
}

enum store_status store_pending_add(struct store *st, const char *op, const char *vm_name,
				    const char *vm_uuid, uint64_t arg, const char *caller,
				    const char *outcome, uint64_t *id, struct store_err *err)
{
	if (!st || !id)
		return err_set(err, STORE_EINVAL, "store_pending_add: NULL %s",
			       !st ? "store handle" : "id pointer");
	enum store_status s;
	if ((s = check_op(op, err)) || (s = check_name(vm_name, err)) ||
	    (s = check_uuid(vm_uuid, err)) ||
	    (s = check_text("caller", caller, STORE_AUTHOR_MAX, false, err)) ||
	    (s = check_text("outcome", outcome, STORE_OUTCOME_MAX, true, err)))
		return s;
	if (arg > INT64_MAX)
		return err_set(err, STORE_EINVAL, "argument %llu is above the maximum %lld",
			       (unsigned long long)arg, (long long)INT64_MAX);
	WRITE_TX(st, err, add_tx(st, op, vm_name, vm_uuid, arg, caller, outcome, id, err));
	return s;
}

#define PENDING_COLUMNS                                                                            \
	"id, op, vm_name, vm_uuid, arg, caller, queued_ms, state, finished_ms, outcome"

static void copy_text(char *dst, size_t cap, sqlite3_stmt *stmt, int col)
{
	const char *t = (const char *)sqlite3_column_text(stmt, col);
	snprintf(dst, cap, "%s", t ? t : "");
}

static void pending_row(sqlite3_stmt *stmt, struct store_pending *p)
{
	memset(p, 0, sizeof *p);
	p->id = (uint64_t)sqlite3_column_int64(stmt, 0);
	copy_text(p->op, sizeof p->op, stmt, 1);
	copy_text(p->vm_name, sizeof p->vm_name, stmt, 2);
	copy_text(p->vm_uuid, sizeof p->vm_uuid, stmt, 3);
	p->arg = (uint64_t)sqlite3_column_int64(stmt, 4);
	copy_text(p->caller, sizeof p->caller, stmt, 5);
	p->queued_ms = sqlite3_column_int64(stmt, 6);
	p->state = state_parse((const char *)sqlite3_column_text(stmt, 7));
	p->finished_ms = sqlite3_column_int64(stmt, 8);
	copy_text(p->outcome, sizeof p->outcome, stmt, 9);
}

static enum store_status pending_fill(sqlite3_stmt *stmt, void *elem, void *ctx, struct store_err *err)
{
	(void)ctx;
	(void)err;
	pending_row(stmt, elem);
	return STORE_OK;
}

enum store_status store_pending_list(struct store *st, bool all, size_t max,
				     struct store_pending **out, size_t *n, struct store_err *err)
{
	if (!st || !out || !n)
		return err_set(err, STORE_EINVAL, "store_pending_list: NULL %s",
			       !st ? "store handle" : "output pointer");
	*out = NULL;
	*n = 0;
	sqlite3_stmt *stmt;
	pthread_mutex_lock(&st->lock);
	enum store_status s =
		store_prepare(st,
			      all ? "SELECT " PENDING_COLUMNS " FROM pending_ops ORDER BY id DESC "
				    "LIMIT ?"
				  : "SELECT " PENDING_COLUMNS " FROM pending_ops WHERE state = "
				    "'pending' ORDER BY id LIMIT ?",
			      &stmt, err);
	if (!s) {
		void *v = NULL;
		sqlite3_bind_int64(stmt, 1, max > INT64_MAX ? INT64_MAX : (int64_t)max);
		s = store_collect_rows(st, stmt, sizeof(struct store_pending), pending_fill, NULL,
				       "queued commands", &v, n, err);
		if (!s)
			*out = v;
	}
	pthread_mutex_unlock(&st->lock);
	return s;
}

void store_pending_list_free(struct store_pending *list)
{
	free(list);
}

static enum store_status get_locked(struct store *st, uint64_t id, struct store_pending *out,
				    struct store_err *err)
{
	sqlite3_stmt *stmt;
	enum store_status s =
		store_prepare(st, "SELECT " PENDING_COLUMNS " FROM pending_ops WHERE id = ?", &stmt,
			      err);
	if (s)
		return s;
	sqlite3_bind_int64(stmt, 1, (int64_t)id);
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		pending_row(stmt, out);
	else if (rc == SQLITE_DONE)
		s = err_set(err, STORE_ENOTFOUND, "no queued command %llu", (unsigned long long)id);
	else
		s = err_sqlite(err, st->db, rc, "reading a queued command");
	sqlite3_finalize(stmt);
	return s;
}

enum store_status store_pending_get(struct store *st, uint64_t id, struct store_pending *out,
				    struct store_err *err)
{
	if (!st || !out)
		return err_set(err, STORE_EINVAL, "store_pending_get: NULL %s",
			       !st ? "store handle" : "output pointer");
	pthread_mutex_lock(&st->lock);
	enum store_status s = get_locked(st, id, out, err);
	pthread_mutex_unlock(&st->lock);
	return s;
}

static enum store_status finish_tx(struct store *st, uint64_t id, enum store_pending_state state,
				   const char *outcome, struct store_err *err)
{
	struct store_pending p;
	enum store_status s = get_locked(st, id, &p, err);
	if (s)
		return s;
	if (p.state != STORE_PENDING)
		return err_set(err, STORE_EINVAL, "queued command %llu is not pending: it is %s",
			       (unsigned long long)id, pending_states[p.state]);
	sqlite3_stmt *stmt;
	s = store_prepare(st,
			  "UPDATE pending_ops SET state = ?, finished_ms = ?, outcome = ? "
			  "WHERE id = ?",
			  &stmt, err);
	if (s)
		return s;
	sqlite3_bind_text(stmt, 1, pending_states[state], -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, store_now_ms());
	sqlite3_bind_text(stmt, 3, outcome, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 4, (int64_t)id);
	int rc = sqlite3_step(stmt);
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE)
		return err_sqlite(err, st->db, rc, "ending a queued command");
	return STORE_OK;
}

enum store_status store_pending_finish(struct store *st, uint64_t id, enum store_pending_state state,
				       const char *outcome, struct store_err *err)
{
	if (!st)
		return err_set(err, STORE_EINVAL, "store_pending_finish: NULL store handle");
	if (state == STORE_PENDING || (unsigned)state >= NSTATES)
		return err_set(err, STORE_EINVAL,
			       "a queued command ends done, failed or cancelled, not %s",
			       store_pending_state_name(state));
	enum store_status s = check_text("outcome", outcome, STORE_OUTCOME_MAX, true, err);
	if (s)
		return s;
	WRITE_TX(st, err, finish_tx(st, id, state, outcome, err));
	return s;
}
