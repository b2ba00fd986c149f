/* Fixtures shared by the store's unit tests (see store_testlib.h). */
#define _GNU_SOURCE
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <sqlite3.h>

#include "store_testlib.h"

char t_dir[256];
char t_db[320];

void t_setup(void)
{
	const char *base = getenv("TMPDIR");
	snprintf(t_dir, sizeof t_dir, "%s/hvstore-XXXXXX", base && *base ? base : "/tmp");
	cr_assert_not_null(mkdtemp(t_dir), "mkdtemp failed");
	snprintf(t_db, sizeof t_db, "%s/hv-agent.db", t_dir);
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

void t_teardown(void)
{
	if (t_dir[0])
		nftw(t_dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

struct store *t_open(void)
{
	struct store *st = NULL;
	struct store_err e = { 0 };
	enum store_status s = store_open(t_db, &st, &e);
	cr_assert_eq(s, STORE_OK, "store_open: %s", e.msg);
	cr_assert_not_null(st);
	return st;
}

enum store_status t_open_fail(struct store_err *e)
{
	struct store *st = (struct store *)1;
	memset(e, 0, sizeof *e);
	enum store_status s = store_open(t_db, &st, e);
	cr_assert_neq(s, STORE_OK, "store_open unexpectedly succeeded");
	cr_assert_null(st, "a failed store_open must leave the handle NULL");
	cr_assert_eq(e->code, s);
	cr_assert(e->msg[0], "failure without a message");
	return s;
}

int t_sql_rc(const char *sql)
{
	sqlite3 *db;
	cr_assert_eq(sqlite3_open_v2(t_db, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	sqlite3_close(db);
	return rc;
}

void t_sql(const char *sql)
{
	sqlite3 *db;
	char *msg = NULL;
	cr_assert_eq(sqlite3_open_v2(t_db, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL),
		     SQLITE_OK);
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
	char copy[256];
	snprintf(copy, sizeof copy, "%s", msg ? msg : "");
	sqlite3_free(msg);
	sqlite3_close(db);
	cr_assert_eq(rc, SQLITE_OK, "%s: %s", sql, copy);
}

int64_t t_sql_int(const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *stmt;
	cr_assert_eq(sqlite3_open_v2(t_db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL), SQLITE_OK, "%s", sql);
	int rc = sqlite3_step(stmt);
	int64_t v = rc == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : -1;
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	cr_assert_eq(rc, SQLITE_ROW, "%s returned no row", sql);
	return v;
}

uint8_t *t_fdt(size_t len, uint8_t fill)
{
	uint8_t *b = malloc(len);
	cr_assert_not_null(b);
	memset(b, fill, len);
	if (len >= 8) {
		const uint8_t magic[4] = { 0xd0, 0x0d, 0xfe, 0xed };
		memcpy(b, magic, 4);
		b[4] = (uint8_t)(len >> 24);
		b[5] = (uint8_t)(len >> 16);
		b[6] = (uint8_t)(len >> 8);
		b[7] = (uint8_t)len;
	}
	return b;
}

void t_vm(struct store *st, const char *name, char *uuid_out)
{
	char uuid[STORE_UUID_LEN + 1];
	struct store_err e = { 0 };
	cr_assert_eq(store_uuid_generate(uuid, &e), STORE_OK, "%s", e.msg);
	cr_assert_eq(store_vm_create(st, name, uuid, &e), STORE_OK, "%s", e.msg);
	if (uuid_out)
		memcpy(uuid_out, uuid, sizeof uuid);
}

void t_expect(enum store_status got, const struct store_err *e, enum store_status want,
	      const char *substr)
{
	cr_assert_eq(got, want, "got status %d (%s), want %d (%s); message: %s", got,
		     store_status_name(got), want, store_status_name(want), e->msg);
	cr_assert_eq(e->code, want, "err->code %d, want %d", e->code, want);
	cr_assert_not_null(strstr(e->msg, substr), "message \"%s\" does not mention \"%s\"", e->msg,
			   substr);
}
