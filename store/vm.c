/* VM records: name and uuid (both unique), desired state and autostart, which the
 * agent reconciles against what hv-core reports after a restart. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

static const char *const state_names[] = { "stopped", "running", "paused" };

const char *store_vm_state_name(enum store_vm_state s)
{
	return (unsigned)s < 3 ? state_names[s] : "invalid";
}

static bool state_parse(const char *t, enum store_vm_state *s)
{
	for (unsigned i = 0; t && i < 3; i++)
		if (!strcmp(t, state_names[i])) {
			*s = (enum store_vm_state)i;
			return true;
		}
	return false;
}

enum store_status vm_lookup(struct store *st, const char *name, int64_t *id,
			    char uuid[STORE_UUID_LEN + 1], struct store_err *err)
{
	sqlite3_stmt *stmt;
	enum store_status s =
		store_prepare(st, "SELECT id, uuid FROM vms WHERE name = ?", &stmt, err);
	if (s)
		return s;
	sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		if (id)
			*id = sqlite3_column_int64(stmt, 0);
		if (uuid) {
			const char *u = (const char *)sqlite3_column_text(stmt, 1);
			snprintf(uuid, STORE_UUID_LEN + 1, "%s", u ? u : "");
		}
	} else if (rc == SQLITE_DONE) {
		s = err_set(err, STORE_ENOTFOUND, "no VM named \"%s\"", name);
	} else {
		s = err_sqlite(err, st->db, rc, "looking up a VM");
	}
	sqlite3_finalize(stmt);
	return s;
}

static enum store_status vm_create_tx(struct store *st, const char *name, const char *uuid,
				      struct store_err *err)
{
	sqlite3_stmt *stmt;
	enum store_status s = store_prepare(st,
					    "SELECT name, uuid FROM vms WHERE name = ? "
					    "OR uuid = ?",
					    &stmt, err);
	if (s)
		return s;
	sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, uuid, -1, SQLITE_STATIC);
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		const char *other = (const char *)sqlite3_column_text(stmt, 0);
		if (other && !strcmp(other, name))
			s = err_set(err, STORE_EEXIST, "a VM named \"%s\" already exists", name);
		else
			s = err_set(err, STORE_EEXIST, "uuid %s already belongs to VM \"%s\"", uuid,
				    other ? other : "");
	} else if (rc != SQLITE_DONE) {
		s = err_sqlite(err, st->db, rc, "checking for an existing VM");
	}
	sqlite3_finalize(stmt);
	if (s)
		return s;
	s = store_prepare(st, "INSERT INTO vms (name, uuid, created_ms) VALUES (?, ?, ?)", &stmt,
			  err);
	if (s)
		return s;
	sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, uuid, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 3, store_now_ms());
	rc = sqlite3_step(stmt);
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE)
		return err_sqlite(err, st->db, rc, "inserting a VM");
	return STORE_OK;
}

enum store_status store_vm_create(struct store *st, const char *name, const char *uuid,
				  struct store_err *err)
{
	if (!st)
		return err_set(err, STORE_EINVAL, "store handle is NULL");
	enum store_status s;
	if ((s = check_name(name, err)) || (s = check_uuid(uuid, err)))
		return s;
	WRITE_TX(st, err, vm_create_tx(st, name, uuid, err));
	return s;
}

static enum store_status vm_delete_tx(struct store *st, const char *name, struct store_err *err)
{
	int64_t id;
	enum store_status s = vm_lookup(st, name, &id, NULL, err);
	if (s)
		return s;
	sqlite3_stmt *stmt;
	s = store_prepare(st, "DELETE FROM vms WHERE id = ?", &stmt, err);
	if (s)
		return s;
	sqlite3_bind_int64(stmt, 1, id);
	int rc = sqlite3_step(stmt);
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE)
		return err_sqlite(err, st->db, rc, "deleting a VM");
	return STORE_OK;
}

enum store_status store_vm_delete(struct store *st, const char *name, struct store_err *err)
{
	if (!st)
		return err_set(err, STORE_EINVAL, "store handle is NULL");
	enum store_status s = check_name(name, err);
	if (s)
		return s;
	WRITE_TX(st, err, vm_delete_tx(st, name, err));
	return s;
}

#define VM_COLUMNS                                                                                 \
	"name, uuid, created_ms, desired_state, autostart, "                                       \
	"(SELECT coalesce(max(rev), 0) FROM vm_config c WHERE c.vm_id = vms.id)"

static void vm_row(sqlite3_stmt *stmt, struct store_vm *v)
{
	memset(v, 0, sizeof *v);
	const char *t = (const char *)sqlite3_column_text(stmt, 0);
	snprintf(v->name, sizeof v->name, "%s", t ? t : "");
	t = (const char *)sqlite3_column_text(stmt, 1);
	snprintf(v->uuid, sizeof v->uuid, "%s", t ? t : "");
	v->created_ms = sqlite3_column_int64(stmt, 2);
	if (!state_parse((const char *)sqlite3_column_text(stmt, 3), &v->desired))
		v->desired = STORE_VM_STOPPED; /* the CHECK constraint rules this out */
	v->autostart = sqlite3_column_int(stmt, 4) != 0;
	v->latest_rev = (uint32_t)sqlite3_column_int64(stmt, 5);
}

static enum store_status vm_fill(sqlite3_stmt *stmt, void *elem, void *ctx, struct store_err *err)
{
	(void)ctx;
	(void)err;
	vm_row(stmt, elem);
	return STORE_OK;
}

static enum store_status vm_list_locked(struct store *st, struct store_vm **out, size_t *n,
					struct store_err *err)
{
	sqlite3_stmt *stmt;
	enum store_status s =
		store_prepare(st, "SELECT " VM_COLUMNS " FROM vms ORDER BY name", &stmt, err);
	if (s)
		return s;
	void *v;
	s = store_collect_rows(st, stmt, sizeof(struct store_vm), vm_fill, NULL, "VMs", &v, n, err);
	if (!s)
		*out = v;
	return s;
}

void store_vm_cache_drop(struct store *st)
{
	free(st->vm_cache);
	st->vm_cache = NULL;
	st->vm_cache_n = 0;
	st->vm_cache_valid = false;
}

/* Makes st->vm_cache current; st->lock held. The generation is read before the
 * rows, so a write that commits while they are read leaves the cache marked older
 * than that write and the next call reads again. */
static enum store_status vm_cache_fill(struct store *st, struct store_err *err)
{
	uint64_t gen = store_write_gen();
	if (st->vm_cache_valid && st->vm_cache_gen == gen)
		return STORE_OK;
	struct store_vm *rows = NULL;
	size_t n = 0;
	enum store_status s = vm_list_locked(st, &rows, &n, err);
	if (s)
		return s;
	store_vm_cache_drop(st);
	st->vm_cache = rows;
	st->vm_cache_n = n;
	st->vm_cache_gen = gen;
	st->vm_cache_valid = true;
	return STORE_OK;
}

enum store_status store_vm_get(struct store *st, const char *name, struct store_vm *out,
			       struct store_err *err)
{
	if (!st || !out)
		return err_set(err, STORE_EINVAL, "store_vm_get: NULL %s",
			       !st ? "store handle" : "output pointer");
	enum store_status s = check_name(name, err);
	if (s)
		return s;
	pthread_mutex_lock(&st->lock);
	s = vm_cache_fill(st, err);
	if (!s) {
		s = err_set(err, STORE_ENOTFOUND, "no VM named \"%s\"", name);
		for (size_t i = 0; i < st->vm_cache_n; i++)
			if (!strcmp(st->vm_cache[i].name, name)) {
				*out = st->vm_cache[i];
				s = STORE_OK;
				break;
			}
	}
	pthread_mutex_unlock(&st->lock);
	return s;
}

enum store_status store_vm_list(struct store *st, struct store_vm **out, size_t *n,
				struct store_err *err)
{
	if (!st || !out || !n)
		return err_set(err, STORE_EINVAL, "store_vm_list: NULL %s",
			       !st ? "store handle" : "output pointer");
	*out = NULL;
	*n = 0;
	pthread_mutex_lock(&st->lock);
	enum store_status s = vm_cache_fill(st, err);
	if (!s && st->vm_cache_n) {
		struct store_vm *v = malloc(st->vm_cache_n * sizeof *v);
		if (!v) {
			s = err_set(err, STORE_ENOMEM, "out of memory listing VMs");
		} else {
			memcpy(v, st->vm_cache, st->vm_cache_n * sizeof *v);
			*out = v;
			*n = st->vm_cache_n;
		}
	}
	pthread_mutex_unlock(&st->lock);
	return s;
}

void store_vm_list_free(struct store_vm *list)
{
	free(list);
}

static enum store_status vm_update_tx(struct store *st, const char *name, const char *sql,
				      const char *text, int64_t num, struct store_err *err)
{
	int64_t id = 0;
	enum store_status s = vm_lookup(st, name, &id, NULL, err);
	if (s)
		return s;
	sqlite3_stmt *stmt;
	s = store_prepare(st, sql, &stmt, err);
	if (s)
		return s;
	if (text)
		sqlite3_bind_text(stmt, 1, text, -1, SQLITE_STATIC);
	else
		sqlite3_bind_int64(stmt, 1, num);
	sqlite3_bind_int64(stmt, 2, id);
	int rc = sqlite3_step(stmt);
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE)
		return err_sqlite(err, st->db, rc, "updating a VM");
	return STORE_OK;
}

enum store_status store_vm_set_desired(struct store *st, const char *name,
				       enum store_vm_state desired, struct store_err *err)
{
	if (!st)
		return err_set(err, STORE_EINVAL, "store handle is NULL");
	enum store_status s = check_name(name, err);
	if (s)
		return s;
	if ((unsigned)desired >= 3)
		return err_set(err, STORE_EINVAL,
			       "desired state %d is not stopped, running or "
			       "paused",
			       (int)desired);
	WRITE_TX(st, err,
		 vm_update_tx(st, name, "UPDATE vms SET desired_state = ? WHERE id = ?",
			      state_names[desired], 0, err));
	return s;
}

enum store_status store_vm_set_autostart(struct store *st, const char *name, bool autostart,
					 struct store_err *err)
{
	if (!st)
		return err_set(err, STORE_EINVAL, "store handle is NULL");
	enum store_status s = check_name(name, err);
	if (s)
		return s;
	WRITE_TX(st, err,
		 vm_update_tx(st, name, "UPDATE vms SET autostart = ? WHERE id = ?", NULL,
			      autostart ? 1 : 0, err));
	return s;
}
