/* Opening and closing the store: how a database file is created safely, which sqlite
 * settings every connection uses (chosen for power loss, see docs/store.md), the
 * startup checks, plus the small helpers (errors, transactions, argument checks) that
 * the other store files share. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store_internal.h"

/* How long a writer waits for another connection's write transaction. Writes are a few
 * rows each, so waiting this long means something is stuck; the caller gets EIO. */
#define STORE_BUSY_TIMEOUT_MS 5000

enum store_status err_set(struct store_err *err, enum store_status code, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		err->code = code;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof err->msg, fmt, ap);
		va_end(ap);
	}
	return code;
}

enum store_status err_sqlite(struct store_err *err, sqlite3 *db, int rc, const char *what)
{
	enum store_status code;
	switch (rc & 0xff) {
	case SQLITE_NOMEM:
		code = STORE_ENOMEM;
		break;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		code = STORE_ECORRUPT;
		break;
	default:
		code = STORE_EIO;
		break;
	}
	const char *m = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
	return err_set(err, code, "%s: %s (sqlite %d)", what, m, rc);
}

const char *store_status_name(enum store_status s)
{
	switch (s) {
	case STORE_OK:
		return "ok";
	case STORE_EINVAL:
		return "invalid argument";
	case STORE_ENOTFOUND:
		return "not found";
	case STORE_EEXIST:
		return "already exists";
	case STORE_ECORRUPT:
		return "database corrupt";
	case STORE_ETAMPER:
		return "integrity check failed";
	case STORE_ESCHEMA:
		return "incompatible database";
	case STORE_EIO:
		return "i/o error";
	case STORE_ENOMEM:
		return "out of memory";
	}
	return "unknown status";
}

int64_t store_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

enum store_status store_prepare(struct store *st, const char *sql, sqlite3_stmt **stmt,
				struct store_err *err)
{
	int rc = sqlite3_prepare_v2(st->db, sql, -1, stmt, NULL);
	if (rc != SQLITE_OK)
		return err_sqlite(err, st->db, rc, "preparing a statement");
	return STORE_OK;
}

static _Atomic uint64_t write_gen = 1;

uint64_t store_write_gen(void)
{
	return atomic_load(&write_gen);
}

/* Bumped before a write transaction starts and again after it ends (commit or
 * rollback): a reader that filled a cache from the pre-commit snapshot while another
 * handle's transaction was open sees a newer generation once that commit is visible. */
static void write_gen_bump(void)
{
	atomic_fetch_add(&write_gen, 1);
}

enum store_status store_tx_begin(struct store *st, struct store_err *err)
{
	if (st->tampered && !st->ack_in_progress)
		return err_set(err, STORE_ETAMPER, "refused until an admin acknowledges: %s",
			       st->finding);
	st->head_dirty = false;
	write_gen_bump();
	/* IMMEDIATE takes the write lock up front, so a read-then-write (next revision
	 * number, audit chain head) cannot interleave with another connection's write. */
	int rc = sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return err_sqlite(err, st->db, rc, "starting a write transaction");
	return STORE_OK;
}

enum store_status store_tx_commit(struct store *st, struct store_err *err)
{
	int rc = sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL);
	write_gen_bump();
	if (rc != SQLITE_OK) {
		enum store_status s = err_sqlite(err, st->db, rc, "committing");
		store_tx_rollback(st);
		return s;
	}
	store_seal_after_commit(st);
	store_retain_after_commit(st);
	return STORE_OK;
}

void store_tx_rollback(struct store *st)
{
	if (!sqlite3_get_autocommit(st->db))
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	st->head_dirty = false;
	write_gen_bump();
}

enum store_status check_text(const char *what, const char *s, size_t max, bool allow_empty,
			     struct store_err *err)
{
	if (!s)
		return err_set(err, STORE_EINVAL, "%s is NULL", what);
	size_t n = strnlen(s, max + 1);
	if (n == 0 && !allow_empty)
		return err_set(err, STORE_EINVAL, "%s is empty", what);
	if (n > max)
		return err_set(err, STORE_EINVAL, "%s is longer than %zu bytes", what, max);
	return STORE_OK;
}

enum store_status check_name(const char *name, struct store_err *err)
{
	enum store_status s = check_text("VM name", name, STORE_NAME_MAX, false, err);
	if (s)
		return s;
	for (const char *p = name; *p; p++) {
		char c = *p;
		bool alnum =
			(c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
		if (!alnum && (p == name || (c != '-' && c != '_' && c != '.')))
			return err_set(err, STORE_EINVAL,
				       "VM name \"%s\" has character '%c' at %zu (allowed: letters, "
				       "digits, and . _ - after the first)",
				       name, (c >= 0x20 && c < 0x7f) ? c : '?', (size_t)(p - name));
	}
	return STORE_OK;
}

enum store_status check_uuid(const char *uuid, struct store_err *err)
{
	enum store_status s = check_text("VM uuid", uuid, STORE_UUID_LEN, false, err);
	if (s)
		return s;
	if (strlen(uuid) != STORE_UUID_LEN)
		return err_set(err, STORE_EINVAL, "VM uuid \"%s\" is not 36 characters", uuid);
	for (int i = 0; i < STORE_UUID_LEN; i++) {
		char c = uuid[i];
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		bool ok = dash ? c == '-' : ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
		if (!ok)
			return err_set(err, STORE_EINVAL,
				       "VM uuid \"%s\" is not canonical lower-case 8-4-4-4-12 hex "
				       "(position %d)",
				       uuid, i);
	}
	return STORE_OK;
}

enum store_status store_uuid_generate(char out[STORE_UUID_LEN + 1], struct store_err *err)
{
	if (!out)
		return err_set(err, STORE_EINVAL, "uuid output buffer is NULL");
	uint8_t b[16];
	if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b)
		return err_set(err, STORE_EIO, "getrandom failed: %s", strerror(errno));
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
	snprintf(out, STORE_UUID_LEN + 1,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
		 b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
		 b[15]);
	return STORE_OK;
}

/* Reads one integer PRAGMA. */
static enum store_status pragma_int(struct store *st, const char *pragma, int64_t *v,
				    struct store_err *err)
{
	char sql[64];
	snprintf(sql, sizeof sql, "PRAGMA %s", pragma);
	sqlite3_stmt *stmt;
	int rc = sqlite3_prepare_v2(st->db, sql, -1, &stmt, NULL);
	if (rc == SQLITE_OK) {
		rc = sqlite3_step(stmt);
		if (rc == SQLITE_ROW) {
			*v = sqlite3_column_int64(stmt, 0);
			rc = SQLITE_OK;
		}
		sqlite3_finalize(stmt);
	}
	if (rc != SQLITE_OK) {
		char what[96];
		snprintf(what, sizeof what, "%s: reading PRAGMA %s", st->path, pragma);
		return err_sqlite(err, st->db, rc, what);
	}
	return STORE_OK;
}

/* Connection settings; see docs/store.md for why each one. */
static enum store_status configure(struct store *st, struct store_err *err)
{
	int on = 1;
	/* Refuse writes to sqlite_schema and other footguns that can corrupt the file. */
	sqlite3_db_config(st->db, SQLITE_DBCONFIG_DEFENSIVE, 1, &on);
	sqlite3_db_config(st->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, &on);
	sqlite3_extended_result_codes(st->db, 1);

	static const char *const pragmas[] = {
		"PRAGMA foreign_keys = ON",
		"PRAGMA synchronous = FULL",
		"PRAGMA cell_size_check = ON",
	};
	for (size_t i = 0; i < sizeof pragmas / sizeof pragmas[0]; i++) {
		int rc = sqlite3_exec(st->db, pragmas[i], NULL, NULL, NULL);
		if (rc != SQLITE_OK) {
			char what[96];
			snprintf(what, sizeof what, "%s: %s", st->path, pragmas[i]);
			return err_sqlite(err, st->db, rc, what);
		}
	}
	/* journal_mode answers with the mode actually in force. */
	sqlite3_stmt *stmt;
	int rc = sqlite3_prepare_v2(st->db, "PRAGMA journal_mode = WAL", -1, &stmt, NULL);
	if (rc == SQLITE_OK) {
		rc = sqlite3_step(stmt);
		if (rc == SQLITE_ROW) {
			const char *mode = (const char *)sqlite3_column_text(stmt, 0);
			bool wal = mode && strcmp(mode, "wal") == 0;
			sqlite3_finalize(stmt);
			if (!wal)
				return err_set(err, STORE_EIO,
					       "%s: could not switch to WAL journal "
					       "mode (got %s)",
					       st->path, mode ? mode : "nothing");
			return STORE_OK;
		}
		sqlite3_finalize(stmt);
	}
	return err_sqlite(err, st->db, rc, "setting WAL journal mode");
}

/* application_id and user_version say whose file this is and which schema it has. */
static enum store_status check_identity(struct store *st, struct store_err *err)
{
	int64_t app, ver;
	enum store_status s = pragma_int(st, "application_id", &app, err);
	if (s)
		return s;
	if (app != STORE_APPLICATION_ID)
		return err_set(err, STORE_ESCHEMA,
			       "%s is not an hv-agent database "
			       "(application_id 0x%08llx, expected 0x%08x)",
			       st->path, (unsigned long long)(uint32_t)app, STORE_APPLICATION_ID);
	s = pragma_int(st, "user_version", &ver, err);
	if (s)
		return s;
	if (ver > STORE_SCHEMA_VERSION)
		return err_set(err, STORE_ESCHEMA,
			       "%s has schema version %lld, newer than the "
			       "%d this build knows; refusing to touch it",
			       st->path, (long long)ver, STORE_SCHEMA_VERSION);
	if (ver < 1)
		return err_set(err, STORE_ECORRUPT,
			       "%s has the hv-agent application_id but "
			       "schema version %lld",
			       st->path, (long long)ver);
	return STORE_OK;
}

static enum store_status open_conn(const char *path, int flags, struct store **out,
				   struct store_err *err)
{
	struct store *st = calloc(1, sizeof *st);
	if (!st || !(st->path = strdup(path))) {
		free(st);
		return err_set(err, STORE_ENOMEM, "out of memory opening %s", path);
	}
	pthread_mutex_init(&st->lock, NULL);
	int rc = sqlite3_open_v2(path, &st->db, flags | SQLITE_OPEN_FULLMUTEX, NULL);
	if (rc != SQLITE_OK) {
		char what[PATH_MAX + 32];
		snprintf(what, sizeof what, "opening %s", path);
		enum store_status s = err_sqlite(err, st->db, rc, what);
		store_close(st);
		return s;
	}
	/* Before the first read: another process may be mid-checkpoint. */
	sqlite3_busy_timeout(st->db, STORE_BUSY_TIMEOUT_MS);
	*out = st;
	return STORE_OK;
}

static void fsync_dir_of(const char *path)
{
	char *dup = strdup(path);
	if (!dup)
		return;
	char *slash = strrchr(dup, '/');
	const char *dir = ".";
	if (slash == dup)
		dir = "/";
	else if (slash) {
		*slash = '\0';
		dir = dup;
	}
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	free(dup);
}

static void unlink_db_files(const char *base)
{
	static const char *const sfx[] = { "", "-wal", "-shm", "-journal" };
	char p[PATH_MAX];
	for (size_t i = 0; i < 4; i++) {
		snprintf(p, sizeof p, "%s%s", base, sfx[i]);
		unlink(p);
	}
}

/* Builds a new database under PATH.new and links it into place only when complete, so
 * that a crash mid-creation leaves no file at PATH that later looks truncated. link()
 * rather than rename(): if another process created PATH meanwhile, we keep theirs. */
static enum store_status create_db(const char *path, struct store_err *err)
{
	char tmp[PATH_MAX];
	if ((size_t)snprintf(tmp, sizeof tmp, "%s.new", path) >= sizeof tmp)
		return err_set(err, STORE_EINVAL, "database path is too long");
	unlink_db_files(tmp);
	struct store *st;
	enum store_status s = open_conn(tmp, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, &st, err);
	if (s)
		return s;
	s = configure(st, err);
	if (!s)
		s = store_migrate(st, err);
	store_close(st); /* checkpoints the WAL into the file and removes it */
	if (!s && link(tmp, path) != 0 && errno != EEXIST)
		s = err_set(err, STORE_EIO, "creating %s: %s", path, strerror(errno));
	unlink_db_files(tmp);
	if (!s)
		fsync_dir_of(path);
	return s;
}

enum store_status store_open(const char *path, struct store **out, struct store_err *err)
{
	return store_open_checked(path, out, NULL, err);
}

enum store_status store_open_checked(const char *path, struct store **out,
				     enum store_status (*content)(struct store *st,
								  struct store_err *err),
				     struct store_err *err)
{
	if (!out)
		return err_set(err, STORE_EINVAL, "store_open: output handle pointer is NULL");
	*out = NULL;
	enum store_status s = check_text("database path", path, PATH_MAX - 16, false, err);
	if (s)
		return s;

	struct stat sb;
	if (stat(path, &sb) != 0) {
		if (errno != ENOENT)
			return err_set(err, STORE_EIO, "%s: %s", path, strerror(errno));
		s = create_db(path, err);
		if (s)
			return s;
		if (stat(path, &sb) != 0)
			return err_set(err, STORE_EIO, "%s: %s", path, strerror(errno));
	}
	if (!S_ISREG(sb.st_mode))
		return err_set(err, STORE_EINVAL, "%s is not a regular file", path);
	/* We never leave an empty file behind (create_db), so an empty one lost its data. */
	if (sb.st_size == 0)
		return err_set(err, STORE_ECORRUPT,
			       "%s is empty (truncated?); refusing to "
			       "start over with an empty database",
			       path);

	struct store *st;
	s = open_conn(path, SQLITE_OPEN_READWRITE, &st, err);
	if (s)
		return s;
	s = check_identity(st, err);
	if (!s)
		s = configure(st, err);
	/* Everything is checked before migration writes anything, so a damaged file is
	 * refused exactly as it was found. */
	if (!s)
		s = store_check_structure(st, err);
	if (!s)
		s = content ? content(st, err) : store_check_content(st, err);
	if (!s)
		s = store_migrate(st, err);
	if (s) {
		store_close(st);
		return s;
	}
	*out = st;
	return STORE_OK;
}

void store_close(struct store *st)
{
	if (!st)
		return;
	if (st->db)
		sqlite3_close_v2(st->db);
	store_vm_cache_drop(st);
	store_seal_free(st);
	pthread_mutex_destroy(&st->lock);
	free(st->path);
	free(st);
}

enum store_status store_verify(struct store *st, struct store_err *err)
{
	if (!st)
		return err_set(err, STORE_EINVAL, "store handle is NULL");
	pthread_mutex_lock(&st->lock);
	enum store_status s = store_verify_locked(st, err);
	pthread_mutex_unlock(&st->lock);
	return s;
}
