/* The keyed audit chain (REQ-SAF-16, docs/security.md "The audit record"). Every row of
 * a sealed database carries mac = HMAC-SHA-256(key, mac of the row before || its hash),
 * with a key kept in a file of mode 0600 outside the database. The chain restarts (its
 * MAC from 32 zero bytes) at an anchor row: the seal row written when the key is created
 * and every acknowledgement of a finding. The head of the chain (last seq and MAC, with a
 * MAC of its own) is kept in a second file outside the database, rewritten after every
 * commit. Without the key nobody can write a row, rewrite one, or move the head; the head
 * file catches rows removed from the tail and an older database file put back.
 *
 * The database may be ahead of its head file (a crash between the commit and the head's
 * rename), never behind it. A finding does not fail the open: it is kept (a copy of the
 * database as found, the message) and every write is refused until an admin
 * acknowledges it, which appends an anchor row recording the finding. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mbedtls/md.h>

#include "store_internal.h"

#define HEAD_MAGIC "hv-agent audit head v1"

void store_audit_mac(const uint8_t key[32], const uint8_t prev_mac[32], const uint8_t hash[32],
		     uint8_t out[32])
{
	uint8_t in[64];
	memcpy(in, prev_mac, 32);
	memcpy(in + 32, hash, 32);
	mbedtls_md_hmac(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), key, 32, in, sizeof in, out);
}

/* The head file's own MAC: over its magic, seq and the row MAC it names. */
static void head_tag(const uint8_t key[32], uint64_t seq, const uint8_t mac[32], uint8_t out[32])
{
	uint8_t in[sizeof HEAD_MAGIC + 8 + 32];
	memcpy(in, HEAD_MAGIC, sizeof HEAD_MAGIC);
	for (int i = 0; i < 8; i++)
		in[sizeof HEAD_MAGIC + i] = (uint8_t)(seq >> (56 - 8 * i));
	memcpy(in + sizeof HEAD_MAGIC + 8, mac, 32);
	mbedtls_md_hmac(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), key, 32, in, sizeof in, out);
}

static void hex(const uint8_t *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

static bool unhex(const char *s, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return false;
		out[i] = (uint8_t)v;
	}
	return s[2 * n] == '\0' || s[2 * n] == '\n';
}

static void fsync_parent(const char *path)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	else
		snprintf(dir, sizeof dir, ".");
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

/* Writes len bytes to path through path.new (mode 0600), fsync and rename (or link,
 * when excl: an existing file is kept and reported). */
static enum store_status write_file(const char *path, const void *data, size_t len, bool excl,
				    struct store_err *err)
{
	char tmp[PATH_MAX];
	if ((size_t)snprintf(tmp, sizeof tmp, "%s.new", path) >= sizeof tmp)
		return err_set(err, STORE_EINVAL, "%s: path too long", path);
	unlink(tmp);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return err_set(err, STORE_EIO, "creating %s: %s", tmp, strerror(errno));
	bool ok = write(fd, data, len) == (ssize_t)len && fsync(fd) == 0;
	int e = errno;
	close(fd);
	if (ok && excl)
		ok = link(tmp, path) == 0;
	else if (ok)
		ok = rename(tmp, path) == 0;
	if (!ok)
		e = errno;
	unlink(tmp);
	if (!ok)
		return err_set(err, STORE_EIO, "writing %s: %s", path, strerror(e));
	fsync_parent(path);
	return STORE_OK;
}

/* *found is false when the file does not exist. */
static enum store_status key_load(const char *path, uint8_t key[32], bool *found,
				  struct store_err *err)
{
	*found = false;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT)
			return STORE_OK;
		return err_set(err, STORE_EIO, "audit key %s: %s", path, strerror(errno));
	}
	struct stat sb;
	enum store_status s = STORE_OK;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode))
		s = err_set(err, STORE_EINVAL, "audit key %s is not a regular file", path);
	else if (sb.st_mode & 077)
		s = err_set(err, STORE_EINVAL,
			    "audit key %s has mode %04o; it must be readable by its owner only "
			    "(0600)",
			    path, (unsigned)(sb.st_mode & 07777));
	else if (sb.st_size != 32 || read(fd, key, 32) != 32)
		s = err_set(err, STORE_EINVAL, "audit key %s is not 32 bytes", path);
	close(fd);
	*found = s == STORE_OK;
	return s;
}

static enum store_status key_create(struct store *st, struct store_err *err)
{
	if (getrandom(st->key, 32, 0) != 32)
		return err_set(err, STORE_EIO, "getrandom failed: %s", strerror(errno));
	return write_file(st->key_path, st->key, 32, true, err);
}

static enum store_status head_write(struct store *st, struct store_err *err)
{
	char buf[256], mh[65], th[65];
	uint8_t tag[32];
	head_tag(st->key, st->head_seq, st->head_mac, tag);
	hex(st->head_mac, 32, mh);
	hex(tag, 32, th);
	int n = snprintf(buf, sizeof buf, HEAD_MAGIC "\nseq %" PRIu64 "\nmac %s\ntag %s\n",
			 st->head_seq, mh, th);
	return write_file(st->head_path, buf, (size_t)n, false, err);
}

void store_seal_after_commit(struct store *st)
{
	if (st->sealed && st->head_dirty && head_write(st, NULL) == STORE_OK && st->head_written)
		st->head_written(st->head_ctx, st->head_seq); /* on failure the older head stays */
	st->head_dirty = false;
}

void store_seal_free(struct store *st)
{
	memset(st->key, 0, sizeof st->key);
	free(st->key_path);
	free(st->head_path);
}

struct head {
	bool found;
	uint64_t seq;
	uint8_t mac[32];
	bool tag_ok;
};

static void head_read(struct store *st, struct head *h)
{
	memset(h, 0, sizeof *h);
	FILE *f = fopen(st->head_path, "re");
	if (!f)
		return;
	h->found = true;
	char line[4][160] = { { 0 } };
	for (int i = 0; i < 4 && fgets(line[i], sizeof line[i], f); i++)
		;
	fclose(f);
	uint8_t tag[32], want[32];
	char *end;
	line[0][strcspn(line[0], "\n")] = '\0';
	if (strcmp(line[0], HEAD_MAGIC) || strncmp(line[1], "seq ", 4) ||
	    strncmp(line[2], "mac ", 4) || strncmp(line[3], "tag ", 4))
		return;
	h->seq = strtoull(line[1] + 4, &end, 10);
	if (*end != '\n' || !unhex(line[2] + 4, h->mac, 32) || !unhex(line[3] + 4, tag, 32))
		return;
	head_tag(st->key, h->seq, h->mac, want);
	h->tag_ok = memcmp(tag, want, 32) == 0;
}

/* The seq of the newest anchor row, 0 when there is none. */
static enum store_status latest_anchor(struct store *st, uint64_t *seq, struct store_err *err)
{
	sqlite3_stmt *stmt;
	*seq = 0;
	enum store_status s =
		store_prepare(st,
			      "SELECT max(seq) FROM audit_log WHERE rpc IN ('" STORE_SEAL_RPC
			      "', '" STORE_ACK_RPC "')",
			      &stmt, err);
	if (s)
		return s;
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*seq = (uint64_t)sqlite3_column_int64(stmt, 0);
	else
		s = err_sqlite(err, st->db, rc, "finding the audit anchor");
	sqlite3_finalize(stmt);
	return s;
}

static bool table_exists(struct store *st, const char *name)
{
	sqlite3_stmt *stmt;
	if (sqlite3_prepare_v2(st->db, "SELECT 1 FROM sqlite_schema WHERE name = ?", -1, &stmt,
			       NULL) != SQLITE_OK)
		return false;
	sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
	bool yes = sqlite3_step(stmt) == SQLITE_ROW;
	sqlite3_finalize(stmt);
	return yes;
}

/* store_open's content check for a sealed handle: the SHA chain from the newest anchor
 * on. A finding is kept in st->finding rather than failing the open. */
static enum store_status content_lenient(struct store *st, struct store_err *err)
{
	uint64_t anchor = 0;
	enum store_status s = STORE_OK;
	if (table_exists(st, "audit_log"))
		s = latest_anchor(st, &anchor, err);
	if (s)
		return s;
	struct store_err f;
	s = store_check_content_from(st, anchor ? anchor : 1, &f);
	if (s == STORE_ETAMPER) {
		snprintf(st->finding, sizeof st->finding, "%s", f.msg);
		return STORE_OK;
	}
	if (s && err)
		*err = f;
	return s;
}

enum seal_result {
	SEAL_OK,
	SEAL_FINDING,
	SEAL_NONE
};

#define FIND(...) (snprintf(st->finding, sizeof st->finding, __VA_ARGS__), SEAL_FINDING)

/* The checkpoint's own MAC (retain.c); a finding names its first row. */
static enum seal_result cp_check(struct store *st, struct store_cp *cp, struct store_err *err,
				 enum store_status *s)
{
	*s = store_cp_load(st, cp, err);
	if (*s || !cp->found)
		return SEAL_OK;
	/* A checkpoint before the newest anchor is acknowledged history. */
	uint64_t anchor;
	*s = latest_anchor(st, &anchor, err);
	if (*s || anchor > cp->last)
		return SEAL_OK;
	uint8_t want[32];
	store_cp_tag(st->key, cp, want);
	if (memcmp(want, cp->tag, 32) != 0)
		return FIND("audit log: row %" PRIu64 " does not verify: the checkpoint of rows "
			    "%" PRIu64 "..%" PRIu64 " does not match its MAC (its range, counts or "
			    "chain MAC altered)",
			    cp->first, cp->first, cp->last);
	return SEAL_OK;
}

/* The MACs from the newest anchor on and the head file. SEAL_NONE: the database was
 * never sealed and no head file exists. */
static enum seal_result seal_check(struct store *st, struct store_err *err, enum store_status *s)
{
	uint64_t anchor;
	struct head h;
	*s = latest_anchor(st, &anchor, err);
	if (*s)
		return SEAL_OK;
	struct store_cp cp;
	enum seal_result cr = cp_check(st, &cp, err, s);
	uint8_t prev[32] = { 0 }, mac[32], head_row_mac[32];
	/* The MAC chain restarts at the newest anchor, or goes on from the checkpoint
	 * when that is newer. */
	uint64_t start = anchor;
	if (cp.found && cp.last >= anchor) {
		start = cp.last + 1;
		memcpy(prev, cp.mac, 32);
	}
	bool have_cp = cp.found;
	store_cp_free(&cp);
	if (*s || cr != SEAL_OK)
		return cr;
	head_read(st, &h);
	if (start == 0 && !h.found)
		return SEAL_NONE;
	if (start == 0)
		return FIND("audit log has no sealed row but head file %s exists (sealed rows "
			    "removed, or an older database file put back)",
			    st->head_path);

	sqlite3_stmt *stmt;
	*s = store_prepare(st, "SELECT seq, hash, mac FROM audit_log WHERE seq >= ? ORDER BY seq",
			   &stmt, err);
	if (*s)
		return SEAL_OK;
	sqlite3_bind_int64(stmt, 1, (int64_t)start);
	uint64_t last = start - 1;
	bool head_row_seen = false;
	enum seal_result r = SEAL_OK;
	int rc;
	while (r == SEAL_OK && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		uint64_t seq = (uint64_t)sqlite3_column_int64(stmt, 0);
		if (seq != last + 1) {
			r = FIND("audit log: row %" PRIu64 " is missing", last + 1);
			break;
		}
		last = seq;
		if (sqlite3_column_bytes(stmt, 1) != 32 || sqlite3_column_bytes(stmt, 2) != 32) {
			r = FIND("audit log: row %" PRIu64 " has no MAC (written without the key)",
				 seq);
			break;
		}
		store_audit_mac(st->key, prev, sqlite3_column_blob(stmt, 1), mac);
		if (memcmp(mac, sqlite3_column_blob(stmt, 2), 32) != 0) {
			r = FIND("audit log: row %" PRIu64 " does not match its MAC (row rewritten, "
				 "or the audit key replaced)",
				 seq);
			break;
		}
		memcpy(prev, mac, 32);
		if (h.found && seq == h.seq) {
			memcpy(head_row_mac, mac, 32);
			head_row_seen = true;
		}
	}
	sqlite3_finalize(stmt);
	if (r != SEAL_OK)
		return r;
	if (!h.found)
		return FIND("audit head file %s is missing (removed?); the log's tail cannot be "
			    "checked",
			    st->head_path);
	if (!h.tag_ok)
		return FIND("audit head file %s does not verify (altered, or written with "
			    "another key)",
			    st->head_path);
	if (h.seq > last)
		return FIND("audit log: row %" PRIu64 " is missing: the log ends at row %" PRIu64
			    " but the head file records row %" PRIu64
			    " (rows removed from the tail, or an older database file put back)",
			    last + 1, last, h.seq);
	if (h.seq >= start && (!head_row_seen || memcmp(head_row_mac, h.mac, 32) != 0))
		return FIND("audit log: row %" PRIu64 " does not match the head file (rewritten, "
			    "or an older database file put back)",
			    h.seq);
	if (h.seq < start)
		return FIND("audit head file %s records row %" PRIu64 ", before the last %s "
			    "at row %" PRIu64 " (an older head file put back)",
			    st->head_path, h.seq, have_cp && start > anchor ? "checkpoint" : "seal",
			    start);
	/* A database ahead of its head (crash before the head's rename): catch up. */
	if (last != h.seq) {
		st->head_seq = last;
		memcpy(st->head_mac, prev, 32);
		head_write(st, NULL);
	}
	return SEAL_OK;
}

/* Keeps the database as found, next to it: PATH.evidence-<unix ms>. */
static void keep_evidence(struct store *st)
{
	char path[PATH_MAX + 64];
	snprintf(path, sizeof path, "%s.evidence-%" PRId64, st->path, store_now_ms());
	sqlite3_stmt *stmt;
	if (sqlite3_prepare_v2(st->db, "VACUUM INTO ?", -1, &stmt, NULL) != SQLITE_OK)
		return;
	sqlite3_bind_text(stmt, 1, path, -1, SQLITE_TRANSIENT);
	bool ok = sqlite3_step(stmt) == SQLITE_DONE;
	sqlite3_finalize(stmt);
	if (ok) {
		size_t n = strlen(st->finding);
		snprintf(st->finding + n, sizeof st->finding - n, "; evidence: %s", path);
	}
}

static enum store_status anchor_row(struct store *st, const char *caller, const char *role,
				    const char *rpc, const char *args, const char *outcome,
				    uint64_t *seq_out, struct store_err *err)
{
	struct store_audit_entry e = {
		.caller = caller, .role = role, .rpc = rpc, .args = args, .outcome = outcome
	};
	st->ack_in_progress = true;
	enum store_status s = store_tx_begin(st, err);
	if (!s) {
		s = store_audit_anchor_tx(st, &e, err);
		if (s)
			store_tx_rollback(st);
		else
			s = store_tx_commit(st, err);
	}
	st->ack_in_progress = false;
	if (!s && seq_out)
		*seq_out = e.seq;
	return s;
}

/* Does any row carry a MAC (the database was sealed)? */
static bool any_mac(struct store *st)
{
	sqlite3_stmt *stmt;
	if (sqlite3_prepare_v2(st->db, "SELECT 1 FROM audit_log WHERE mac IS NOT NULL LIMIT 1", -1,
			       &stmt, NULL) != SQLITE_OK)
		return true;
	bool yes = sqlite3_step(stmt) == SQLITE_ROW;
	sqlite3_finalize(stmt);
	return yes;
}

/* Key and head at open; st->finding may already hold the SHA chain's finding. */
static enum store_status seal_open(struct store *st, struct store_err *err)
{
	bool found;
	enum store_status s = key_load(st->key_path, st->key, &found, err);
	if (s)
		return s;
	bool created = false;
	if (!found) {
		struct stat sb;
		if (stat(st->head_path, &sb) == 0 || any_mac(st)) {
			if (!st->finding[0])
				snprintf(st->finding, sizeof st->finding,
					 "audit key %s is missing (removed?); the log cannot be "
					 "verified",
					 st->key_path);
			return STORE_OK; /* not sealed: acknowledging creates a new key */
		}
		s = key_create(st, err);
		if (s)
			return s;
		created = true;
	}
	st->sealed = true;
	/* A checkpoint altered is named as such, whatever the chain after it shows. */
	struct store_cp cp;
	if (cp_check(st, &cp, err, &s) != SEAL_OK || s) {
		store_cp_free(&cp);
		return s;
	}
	store_cp_free(&cp);
	if (st->finding[0])
		return STORE_OK;
	enum seal_result r = seal_check(st, err, &s);
	if (s)
		return s;
	if (r == SEAL_NONE && created)
		return anchor_row(st, STORE_FAULT_CALLER, STORE_FAULT_ROLE, STORE_SEAL_RPC,
				  "audit key created", "ok", NULL, err);
	if (r == SEAL_NONE)
		snprintf(st->finding, sizeof st->finding,
			 "audit key %s exists but the log has no sealed row and no head file %s "
			 "(both removed?)",
			 st->key_path, st->head_path);
	return STORE_OK;
}

enum store_status store_open_sealed(const char *path, const struct store_seal *seal,
				    struct store **out, struct store_err *err)
{
	if (!seal || !seal->key_path || !seal->head_path || !*seal->key_path || !*seal->head_path)
		return err_set(err, STORE_EINVAL,
			       "store_open_sealed: key and head paths are required");
	if (out)
		*out = NULL;
	/* The database is its owner's only; sqlite gives its journal files the
	 * database file's mode. A file from a wider umask is narrowed first. */
	struct stat sb;
	if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode) && (sb.st_mode & 077) &&
	    chmod(path, sb.st_mode & 0700) != 0)
		return err_set(err, STORE_EIO, "%s has mode %04o and cannot be narrowed to 0600: %s",
			       path, (unsigned)(sb.st_mode & 07777), strerror(errno));
	struct store *st;
	enum store_status s = store_open_checked(path, &st, content_lenient, err);
	if (s)
		return s;
	st->key_path = strdup(seal->key_path);
	st->head_path = strdup(seal->head_path);
	if (!st->key_path || !st->head_path)
		s = err_set(err, STORE_ENOMEM, "out of memory opening %s", path);
	pthread_mutex_lock(&st->lock);
	if (!s)
		s = seal_open(st, err);
	if (!s && st->finding[0]) {
		keep_evidence(st);
		st->tampered = true;
	}
	pthread_mutex_unlock(&st->lock);
	if (s) {
		store_close(st);
		return s;
	}
	*out = st;
	return STORE_OK;
}

bool store_audit_tampered(struct store *st, struct store_err *finding)
{
	if (!st)
		return false;
	pthread_mutex_lock(&st->lock);
	bool t = st->tampered;
	if (t && finding)
		err_set(finding, STORE_ETAMPER, "%s", st->finding);
	pthread_mutex_unlock(&st->lock);
	return t;
}

enum store_status store_audit_verify(struct store *st, struct store_err *err)
{
	if (!st)
		return err_set(err, STORE_EINVAL, "store handle is NULL");
	pthread_mutex_lock(&st->lock);
	enum store_status s;
	if (st->tampered) {
		s = err_set(err, STORE_ETAMPER, "%s", st->finding);
		goto out;
	}
	uint64_t anchor;
	struct store_cp cp;
	s = STORE_OK;
	if (st->sealed && cp_check(st, &cp, err, &s) != SEAL_OK)
		s = err_set(err, STORE_ETAMPER, "%s", st->finding);
	if (st->sealed)
		store_cp_free(&cp);
	if (!s)
		s = latest_anchor(st, &anchor, err);
	if (!s)
		s = store_check_structure(st, err);
	if (!s)
		s = store_check_content_from(st, anchor ? anchor : 1, err);
	if (s == STORE_ETAMPER && err)
		snprintf(st->finding, sizeof st->finding, "%s", err->msg);
	if (!s && st->sealed && seal_check(st, err, &s) == SEAL_NONE)
		snprintf(st->finding, sizeof st->finding, "the audit log has no sealed row");
	if (!s && st->finding[0])
		s = STORE_ETAMPER;
	if (s == STORE_ETAMPER) {
		keep_evidence(st);
		st->tampered = true;
		err_set(err, STORE_ETAMPER, "%s", st->finding);
	}
out:
	pthread_mutex_unlock(&st->lock);
	return s;
}

enum store_status store_audit_acknowledge(struct store *st, const char *caller, const char *role,
					  uint64_t *seq_out, struct store_err *err)
{
	if (!st)
		return err_set(err, STORE_EINVAL, "store handle is NULL");
	enum store_status s;
	if ((s = check_text("audit caller", caller, STORE_AUTHOR_MAX, false, err)) ||
	    (s = check_text("audit role", role, STORE_ROLE_MAX, false, err)))
		return s;
	pthread_mutex_lock(&st->lock);
	if (!st->tampered) {
		s = err_set(err, STORE_EINVAL, "the audit log has no finding to acknowledge");
	} else if (!st->key_path) {
		s = err_set(err, STORE_EINVAL, "this store handle has no audit key");
	} else {
		char args[STORE_ERR_MSG_MAX + 16];
		snprintf(args, sizeof args, "finding: %s", st->finding);
		for (char *p = args; *p; p++)
			if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
				*p = '?';
		if (!st->sealed) {
			/* The key was lost: a new one, from this row on. */
			unlink(st->key_path);
			s = key_create(st, err);
			st->sealed = !s;
		}
		if (!s)
			s = anchor_row(st, caller, role, STORE_ACK_RPC, args, "acknowledged",
				       seq_out, err);
		if (!s) {
			st->tampered = false;
			st->finding[0] = '\0';
		}
	}
	pthread_mutex_unlock(&st->lock);
	return s;
}

void store_audit_on_head(struct store *st, void (*fn)(void *ctx, uint64_t seq), void *ctx)
{
	pthread_mutex_lock(&st->lock);
	st->head_written = fn;
	st->head_ctx = ctx;
	pthread_mutex_unlock(&st->lock);
}

uint64_t store_audit_newest_seq(struct store *st)
{
	sqlite3_stmt *stmt;
	uint64_t seq = 0;
	pthread_mutex_lock(&st->lock);
	if (sqlite3_prepare_v2(st->db, "SELECT max(seq) FROM audit_log", -1, &stmt, NULL) ==
	    SQLITE_OK) {
		if (sqlite3_step(stmt) == SQLITE_ROW)
			seq = (uint64_t)sqlite3_column_int64(stmt, 0);
		sqlite3_finalize(stmt);
	}
	pthread_mutex_unlock(&st->lock);
	return seq;
}

void store_audit_report(struct store *st, const char *finding)
{
	pthread_mutex_lock(&st->lock);
	if (!st->tampered) {
		snprintf(st->finding, sizeof st->finding, "%s", finding);
		keep_evidence(st);
		st->tampered = true;
	}
	pthread_mutex_unlock(&st->lock);
}
