/* A/B image slots per VM, the record the OTA engine keeps of what each slot holds
 * (REQ-SAF-15): anti-rollback version, image sha256 and the slot's state. The slot
 * records belong to the VM and go with it; the images themselves live elsewhere. */
#include <stdio.h>
#include <string.h>

#include "store_internal.h"

static const char *const slot_states[] = { "empty", "writing", "ready", "trial", "active", "failed" };
#define NSTATES (sizeof slot_states / sizeof slot_states[0])

const char *store_slot_state_name(enum store_slot_state s)
{
	return (unsigned)s < NSTATES ? slot_states[s] : "invalid";
}

static const char *slot_name(enum store_slot_id id)
{
	return id == STORE_SLOT_A ? "A" : "B";
}

static enum store_status check_slot_id(enum store_slot_id id, struct store_err *err)
{
	if (id != STORE_SLOT_A && id != STORE_SLOT_B)
		return err_set(err, STORE_EINVAL, "image slot %d is neither A nor B", (int)id);
	return STORE_OK;
}

static enum store_status slot_set_tx(struct store *st, const char *vm, const struct store_slot *sl,
				     struct store_err *err)
{
	int64_t id;
	enum store_status s = vm_lookup(st, vm, &id, NULL, err);
	if (s)
		return s;
	sqlite3_stmt *stmt;
	s = store_prepare(st,
			  "INSERT INTO image_slots (vm_id, slot, version, sha256, state, "
			  "updated_ms) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (vm_id, slot) DO "
			  "UPDATE SET version = excluded.version, sha256 = excluded.sha256, "
			  "state = excluded.state, updated_ms = excluded.updated_ms",
			  &stmt, err);
	if (s)
		return s;
	sqlite3_bind_int64(stmt, 1, id);
	sqlite3_bind_text(stmt, 2, slot_name(sl->slot), -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 3, (int64_t)sl->version);
	sqlite3_bind_blob(stmt, 4, sl->sha256, 32, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 5, slot_states[sl->state], -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 6, store_now_ms());
	int rc = sqlite3_step(stmt);
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE)
		return err_sqlite(err, st->db, rc, "storing an image slot");
	return STORE_OK;
}

enum store_status store_slot_set(struct store *st, const char *vm, const struct store_slot *sl,
				 struct store_err *err)
{
	if (!st || !sl)
		return err_set(err, STORE_EINVAL, "store_slot_set: NULL %s",
			       !st ? "store handle" : "slot record");
	enum store_status s;
	if ((s = check_name(vm, err)) || (s = check_slot_id(sl->slot, err)))
		return s;
	if ((unsigned)sl->state >= NSTATES)
		return err_set(err, STORE_EINVAL,
			       "image slot state %d is not one of empty, "
			       "writing, ready, trial, active, failed",
			       (int)sl->state);
	if (sl->version > INT64_MAX)
		return err_set(err, STORE_EINVAL, "image version %llu is above the maximum %lld",
			       (unsigned long long)sl->version, (long long)INT64_MAX);
	WRITE_TX(st, err, slot_set_tx(st, vm, sl, err));
	return s;
}

static enum store_status slot_get_locked(struct store *st, const char *vm, enum store_slot_id slot,
					 struct store_slot *out, struct store_err *err)
{
	int64_t id;
	enum store_status s = vm_lookup(st, vm, &id, NULL, err);
	if (s)
		return s;
	sqlite3_stmt *stmt;
	s = store_prepare(st,
			  "SELECT version, sha256, state, updated_ms FROM image_slots "
			  "WHERE vm_id = ? AND slot = ?",
			  &stmt, err);
	if (s)
		return s;
	sqlite3_bind_int64(stmt, 1, id);
	sqlite3_bind_text(stmt, 2, slot_name(slot), -1, SQLITE_STATIC);
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		memset(out, 0, sizeof *out);
		out->slot = slot;
		out->version = (uint64_t)sqlite3_column_int64(stmt, 0);
		if (sqlite3_column_bytes(stmt, 1) == 32)
			memcpy(out->sha256, sqlite3_column_blob(stmt, 1), 32);
		const char *t = (const char *)sqlite3_column_text(stmt, 2);
		for (unsigned i = 0; t && i < NSTATES; i++)
			if (!strcmp(t, slot_states[i]))
				out->state = (enum store_slot_state)i;
		out->updated_ms = sqlite3_column_int64(stmt, 3);
	} else if (rc == SQLITE_DONE) {
		s = err_set(err, STORE_ENOTFOUND, "VM %s: image slot %s was never set", vm,
			    slot_name(slot));
	} else {
		s = err_sqlite(err, st->db, rc, "reading an image slot");
	}
	sqlite3_finalize(stmt);
	return s;
}

enum store_status store_slot_get(struct store *st, const char *vm, enum store_slot_id slot,
				 struct store_slot *out, struct store_err *err)
{
	if (!st || !out)
		return err_set(err, STORE_EINVAL, "store_slot_get: NULL %s",
			       !st ? "store handle" : "output pointer");
	enum store_status s;
	if ((s = check_name(vm, err)) || (s = check_slot_id(slot, err)))
		return s;
	pthread_mutex_lock(&st->lock);
	s = slot_get_locked(st, vm, slot, out, err);
	pthread_mutex_unlock(&st->lock);
	return s;
}
