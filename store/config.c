/* VM configuration revisions (REQ-PRD-04): every stored device-tree blob is kept as
 * revision 1, 2, 3 ... with its sha256, time and author. A rollback never rewrites
 * history; it adds a revision that copies an older one. Blobs are checked against their
 * sha256 whenever they are read (REQ-SAF-14). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

#define FDT_MAGIC 0xd00dfeedu
#define FDT_HEADER_SIZE 40u

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Only the header: libfdt in the agent validates the content; this keeps obvious
 * garbage (and truncated blobs) out of the history. */
enum store_status check_fdt_blob(const void *blob, size_t len, struct store_err *err)
{
	if (!blob)
		return err_set(err, STORE_EINVAL, "configuration blob is NULL");
	if (len > STORE_CONFIG_MAX)
		return err_set(err, STORE_EINVAL,
			       "configuration blob is %zu bytes, more than "
			       "the %u allowed",
			       len, STORE_CONFIG_MAX);
	if (len < FDT_HEADER_SIZE)
		return err_set(err, STORE_EINVAL,
			       "configuration blob is %zu bytes, shorter than "
			       "a device-tree header",
			       len);
	const uint8_t *p = blob;
	if (be32(p) != FDT_MAGIC)
		return err_set(err, STORE_EINVAL,
			       "configuration blob is not a flattened device "
			       "tree (magic 0x%08x)",
			       be32(p));
	if (be32(p + 4) != len)
		return err_set(err, STORE_EINVAL,
			       "configuration blob is %zu bytes but its "
			       "device-tree header says %u",
			       len, be32(p + 4));
	return STORE_OK;
}

static enum store_status latest_rev(struct store *st, int64_t vm_id, uint32_t *rev,
				    struct store_err *err)
{
	sqlite3_stmt *stmt;
	enum store_status s = store_prepare(st,
					    "SELECT coalesce(max(rev), 0) FROM vm_config "
					    "WHERE vm_id = ?",
					    &stmt, err);
	if (s)
		return s;
	sqlite3_bind_int64(stmt, 1, vm_id);
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*rev = (uint32_t)sqlite3_column_int64(stmt, 0);
	else
		s = err_sqlite(err, st->db, rc, "reading the latest revision");
	sqlite3_finalize(stmt);
	return s;
}

static enum store_status insert_rev(struct store *st, int64_t vm_id, const void *blob, size_t len,
				    const char *author, uint32_t rollback_of, uint32_t *rev_out,
				    struct store_err *err)
{
	uint32_t rev = 0;
	enum store_status s = latest_rev(st, vm_id, &rev, err);
	if (s)
		return s;
	if (rev == UINT32_MAX)
		return err_set(err, STORE_EINVAL, "VM has reached the maximum revision number");
	rev++;
	uint8_t h[32];
	store_sha256(blob, len, h);
	sqlite3_stmt *stmt;
	s = store_prepare(st,
			  "INSERT INTO vm_config (vm_id, rev, time_ms, author, sha256, blob, "
			  "rollback_of) VALUES (?, ?, ?, ?, ?, ?, ?)",
			  &stmt, err);
	if (s)
		return s;
	sqlite3_bind_int64(stmt, 1, vm_id);
	sqlite3_bind_int64(stmt, 2, rev);
	sqlite3_bind_int64(stmt, 3, store_now_ms());
	sqlite3_bind_text(stmt, 4, author, -1, SQLITE_STATIC);
	sqlite3_bind_blob(stmt, 5, h, 32, SQLITE_STATIC);
	sqlite3_bind_blob(stmt, 6, blob, (int)len, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 7, rollback_of);
	int rc = sqlite3_step(stmt);
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE)
		return err_sqlite(err, st->db, rc, "storing a configuration revision");
	if (rev_out)
		*rev_out = rev;
	return STORE_OK;
}

static enum store_status config_add_tx(struct store *st, const char *vm, const void *blob, size_t len,
				       const char *author, uint32_t *rev_out, struct store_err *err)
{
	int64_t id;
	enum store_status s = vm_lookup(st, vm, &id, NULL, err);
	if (s)
		return s;
	return insert_rev(st, id, blob, len, author, 0, rev_out, err);
}

/* The arguments every new revision is checked for: a store, a VM name, an author. */
static enum store_status check_rev_args(struct store *st, const char *vm, const char *author,
					struct store_err *err)
{
	if (!st)
		return err_set(err, STORE_EINVAL, "store handle is NULL");
	enum store_status s = check_name(vm, err);
	return s ? s : check_text("author", author, STORE_AUTHOR_MAX, false, err);
}

enum store_status store_config_add(struct store *st, const char *vm, const void *blob, size_t len,
				   const char *author, uint32_t *rev_out, struct store_err *err)
{
	enum store_status s;
	if ((s = check_rev_args(st, vm, author, err)) || (s = check_fdt_blob(blob, len, err)))
		return s;
	WRITE_TX(st, err, config_add_tx(st, vm, blob, len, author, rev_out, err));
	return s;
}

static void rev_meta(sqlite3_stmt *stmt, struct store_config_rev *r)
{
	memset(r, 0, sizeof *r);
	r->rev = (uint32_t)sqlite3_column_int64(stmt, 0);
	r->time_ms = sqlite3_column_int64(stmt, 1);
	const char *a = (const char *)sqlite3_column_text(stmt, 2);
	snprintf(r->author, sizeof r->author, "%s", a ? a : "");
	if (sqlite3_column_bytes(stmt, 3) == 32)
		memcpy(r->sha256, sqlite3_column_blob(stmt, 3), 32);
	r->rollback_of = (uint32_t)sqlite3_column_int64(stmt, 4);
}

/* Reads revision rev (0: latest) with its blob, checking the blob's sha256. */
static enum store_status read_rev(struct store *st, const char *vm, uint32_t rev,
				  struct store_config_rev *out, struct store_err *err)
{
	memset(out, 0, sizeof *out);
	int64_t id;
	enum store_status s = vm_lookup(st, vm, &id, NULL, err);
	if (s)
		return s;
	sqlite3_stmt *stmt;
	s = store_prepare(st,
			  rev ? "SELECT rev, time_ms, author, sha256, rollback_of, blob FROM vm_config "
				"WHERE vm_id = ? AND rev = ?"
			      : "SELECT rev, time_ms, author, sha256, rollback_of, blob FROM vm_config "
				"WHERE vm_id = ? ORDER BY rev DESC LIMIT 1",
			  &stmt, err);
	if (s)
		return s;
	sqlite3_bind_int64(stmt, 1, id);
	if (rev)
		sqlite3_bind_int64(stmt, 2, rev);
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		rev_meta(stmt, out);
		const void *b = sqlite3_column_blob(stmt, 5);
		size_t len = (size_t)sqlite3_column_bytes(stmt, 5);
		uint8_t h[32];
		store_sha256(b ? b : "", len, h);
		out->blob = malloc(len ? len : 1);
		if (!out->blob)
			s = err_set(err, STORE_ENOMEM, "out of memory reading a configuration");
		else if (memcmp(h, out->sha256, 32) != 0)
			s = err_set(err, STORE_ETAMPER,
				    "VM %s: configuration revision %u does not "
				    "match its sha256 (changed or corrupt)",
				    vm, out->rev);
		else {
			if (len)
				memcpy(out->blob, b, len);
			out->len = len;
		}
	} else if (rc == SQLITE_DONE) {
		uint32_t latest = 0;
		sqlite3_finalize(stmt);
		stmt = NULL;
		s = latest_rev(st, id, &latest, err);
		if (!s && latest == 0)
			s = err_set(err, STORE_ENOTFOUND, "VM %s has no configuration revisions", vm);
		else if (!s)
			s = err_set(err, STORE_ENOTFOUND,
				    "VM %s has no configuration revision %u "
				    "(latest is %u)",
				    vm, rev, latest);
	} else {
		s = err_sqlite(err, st->db, rc, "reading a configuration revision");
	}
	sqlite3_finalize(stmt);
	if (s) {
		free(out->blob);
		memset(out, 0, sizeof *out);
	}
	return s;
}

enum store_status store_config_get(struct store *st, const char *vm, uint32_t rev,
				   struct store_config_rev *out, struct store_err *err)
{
	if (!st || !out)
		return err_set(err, STORE_EINVAL, "store_config_get: NULL %s",
			       !st ? "store handle" : "output pointer");
	memset(out, 0, sizeof *out);
	enum store_status s = check_name(vm, err);
	if (s)
		return s;
	pthread_mutex_lock(&st->lock);
	s = read_rev(st, vm, rev, out, err);
	pthread_mutex_unlock(&st->lock);
	return s;
}

void store_config_rev_free(struct store_config_rev *r)
{
	if (!r)
		return;
	free(r->blob);
	r->blob = NULL;
	r->len = 0;
}

static enum store_status rev_fill(sqlite3_stmt *stmt, void *elem, void *ctx, struct store_err *err)
{
	(void)ctx;
	(void)err;
	rev_meta(stmt, elem);
	return STORE_OK;
}

static enum store_status history_locked(struct store *st, const char *vm,
					struct store_config_rev **out, size_t *n,
					struct store_err *err)
{
	int64_t id;
	enum store_status s = vm_lookup(st, vm, &id, NULL, err);
	if (s)
		return s;
	sqlite3_stmt *stmt;
	s = store_prepare(st,
			  "SELECT rev, time_ms, author, sha256, rollback_of FROM vm_config "
			  "WHERE vm_id = ? ORDER BY rev",
			  &stmt, err);
	if (s)
		return s;
	sqlite3_bind_int64(stmt, 1, id);
	void *v;
	s = store_collect_rows(st, stmt, sizeof(struct store_config_rev), rev_fill, NULL,
			       "configuration revisions", &v, n, err);
	if (!s)
		*out = v;
	return s;
}

enum store_status store_config_history(struct store *st, const char *vm,
				       struct store_config_rev **out, size_t *n,
				       struct store_err *err)
{
	if (!st || !out || !n)
		return err_set(err, STORE_EINVAL, "store_config_history: NULL %s",
			       !st ? "store handle" : "output pointer");
	*out = NULL;
	*n = 0;
	enum store_status s = check_name(vm, err);
	if (s)
		return s;
	pthread_mutex_lock(&st->lock);
	s = history_locked(st, vm, out, n, err);
	pthread_mutex_unlock(&st->lock);
	return s;
}

void store_config_history_free(struct store_config_rev *list)
{
	free(list);
}

static enum store_status rollback_tx(struct store *st, const char *vm, uint32_t rev,
				     const char *author, uint32_t *rev_out, struct store_err *err)
{
	struct store_config_rev r;
	enum store_status s = read_rev(st, vm, rev, &r, err);
	if (s)
		return s;
	int64_t id;
	s = vm_lookup(st, vm, &id, NULL, err);
	if (!s)
		s = insert_rev(st, id, r.blob, r.len, author, rev, rev_out, err);
	store_config_rev_free(&r);
	return s;
}

enum store_status store_config_rollback(struct store *st, const char *vm, uint32_t rev,
					const char *author, uint32_t *rev_out, struct store_err *err)
{
	enum store_status s;
	if ((s = check_rev_args(st, vm, author, err)))
		return s;
	if (rev == 0)
		return err_set(err, STORE_EINVAL,
			       "rollback needs a revision number (revisions "
			       "start at 1)");
	WRITE_TX(st, err, rollback_tx(st, vm, rev, author, rev_out, err));
	return s;
}
