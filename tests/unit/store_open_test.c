/* Opening the store: creation, settings, and the startup integrity checks on damaged or
 * foreign files (REQ-SAF-14): each is refused with a message naming the problem, and
 * the file is left as it was found. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <sqlite3.h>

#include "store_internal.h"
#include "store_testlib.h"

TestSuite(store_open, .init = t_setup, .fini = t_teardown);

static off_t file_size(const char *p)
{
	struct stat sb;
	cr_assert_eq(stat(p, &sb), 0, "stat %s", p);
	return sb.st_size;
}

static void write_file(const char *p, const void *data, size_t len)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, data, len), (ssize_t)len);
	close(fd);
}

/* A small database with a VM, two revisions and audit rows, closed cleanly. */
static void populate(void)
{
	struct store *st = t_open();
	struct store_err e;
	t_vm(st, "vm0", NULL);
	uint8_t *b = t_fdt(4096, 0x11);
	cr_assert_eq(store_config_add(st, "vm0", b, 4096, "admin", NULL, &e), STORE_OK, "%s", e.msg);
	cr_assert_eq(store_config_add(st, "vm0", b, 4096, "admin", NULL, &e), STORE_OK, "%s", e.msg);
	free(b);
	struct store_audit_entry a = {
		.caller = "admin", .role = "admin", .rpc = "Define", .args = "vm0", .outcome = "ok"
	};
	cr_assert_eq(store_audit_append(st, &a, &e), STORE_OK, "%s", e.msg);
	store_close(st);
}

Test(store_open, creates_new_database_with_settings)
{
	struct store *st = t_open();
	store_close(st);
	cr_assert_eq(t_sql_int("PRAGMA application_id"), STORE_APPLICATION_ID);
	cr_assert_eq(t_sql_int("PRAGMA user_version"), STORE_SCHEMA_VERSION);
	cr_assert_eq(t_sql_int("SELECT count(*) FROM pragma_journal_mode WHERE "
			       "journal_mode = 'wal'"),
		     1);
	char tmp[400];
	snprintf(tmp, sizeof tmp, "%s.new", t_db);
	cr_assert_neq(access(tmp, F_OK), 0, "the temporary creation file was left behind");
}

Test(store_open, connection_settings)
{
	struct store *st = t_open();
	sqlite3 *db = st->db;
	sqlite3_stmt *stmt;
	static const struct {
		const char *sql;
		int64_t want;
	} checks[] = {
		{ "PRAGMA foreign_keys", 1 },
		{ "PRAGMA synchronous", 2 }, /* FULL */
		{ "PRAGMA busy_timeout", 5000 },
		{ "PRAGMA cell_size_check", 1 },
	};
	for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++) {
		cr_assert_eq(sqlite3_prepare_v2(db, checks[i].sql, -1, &stmt, NULL), SQLITE_OK);
		cr_assert_eq(sqlite3_step(stmt), SQLITE_ROW);
		cr_expect_eq(sqlite3_column_int64(stmt, 0), checks[i].want, "%s", checks[i].sql);
		sqlite3_finalize(stmt);
	}
	store_close(st);
}

Test(store_open, reopen_keeps_data_and_verify_passes)
{
	populate();
	struct store *st = t_open();
	struct store_vm v;
	struct store_err e;
	cr_assert_eq(store_vm_get(st, "vm0", &v, &e), STORE_OK, "%s", e.msg);
	cr_assert_eq(v.latest_rev, 2);
	cr_assert_eq(store_verify(st, &e), STORE_OK, "%s", e.msg);
	store_close(st);
}

Test(store_open, invalid_arguments)
{
	struct store *st;
	struct store_err e;
	t_expect(store_open(NULL, &st, &e), &e, STORE_EINVAL, "database path is NULL");
	t_expect(store_open("", &st, &e), &e, STORE_EINVAL, "database path is empty");
	t_expect(store_open(t_db, NULL, &e), &e, STORE_EINVAL, "NULL");
	t_expect(store_open(t_dir, &st, &e), &e, STORE_EINVAL, "not a regular file");
	t_expect(store_verify(NULL, &e), &e, STORE_EINVAL, "NULL");
	/* err may be NULL: the status alone still says what class of failure it was. */
	cr_assert_eq(store_open(NULL, &st, NULL), STORE_EINVAL);
	store_close(NULL);
}

Test(store_open, missing_directory_is_an_io_error)
{
	char p[400];
	snprintf(p, sizeof p, "%s/no/such/dir/x.db", t_dir);
	struct store *st;
	struct store_err e;
	cr_assert_eq(store_open(p, &st, &e), STORE_EIO, "%s", e.msg);
	cr_assert_null(st);
}

Test(store_open, empty_file_is_refused)
{
	write_file(t_db, "", 0);
	struct store_err e;
	t_expect(t_open_fail(&e), &e, STORE_ECORRUPT, "is empty");
	cr_assert_eq(file_size(t_db), 0, "an empty file must not be initialised");
}

Test(store_open, garbage_file_is_refused)
{
	char junk[8192];
	for (size_t i = 0; i < sizeof junk; i++)
		junk[i] = (char)(i * 37 + 11);
	write_file(t_db, junk, sizeof junk);
	struct store_err e;
	t_expect(t_open_fail(&e), &e, STORE_ECORRUPT, "not a database");
	cr_assert_eq(file_size(t_db), (off_t)sizeof junk);
}

Test(store_open, truncated_file_is_refused)
{
	populate();
	off_t size = file_size(t_db);
	cr_assert_gt(size, 4 * 4096, "test database unexpectedly small");
	cr_assert_eq(truncate(t_db, size / 2), 0);
	struct store_err e;
	enum store_status s = t_open_fail(&e);
	cr_assert_eq(s, STORE_ECORRUPT, "status %d: %s", s, e.msg);
	cr_assert(strstr(e.msg, "quick_check") || strstr(e.msg, "malformed"), "%s", e.msg);
}

Test(store_open, corrupted_page_is_refused)
{
	populate();
	/* Overwrite the middle of the file (b-tree pages) with garbage. */
	int fd = open(t_db, O_WRONLY);
	cr_assert_geq(fd, 0);
	char junk[4096];
	memset(junk, 0x5a, sizeof junk);
	cr_assert_eq(pwrite(fd, junk, sizeof junk, 4096), (ssize_t)sizeof junk);
	close(fd);
	struct store_err e;
	cr_assert_eq(t_open_fail(&e), STORE_ECORRUPT, "%s", e.msg);
}

Test(store_open, foreign_sqlite_database_is_refused)
{
	t_sql("CREATE TABLE other (x); INSERT INTO other VALUES (1);");
	struct store_err e;
	t_expect(t_open_fail(&e), &e, STORE_ESCHEMA, "not an hv-agent database");
	cr_assert_eq(t_sql_int("SELECT count(*) FROM sqlite_schema"), 1, "file was changed");
}

Test(store_open, newer_schema_is_refused_and_untouched)
{
	populate();
	t_sql("PRAGMA user_version = 99");
	struct store_err e;
	t_expect(t_open_fail(&e), &e, STORE_ESCHEMA, "schema version 99, newer than");
	cr_assert_eq(t_sql_int("PRAGMA user_version"), 99);
}

Test(store_open, application_id_without_schema_is_refused)
{
	t_sql("PRAGMA application_id = 1213612359; CREATE TABLE x (y);");
	struct store_err e;
	t_expect(t_open_fail(&e), &e, STORE_ECORRUPT, "schema version 0");
}

Test(store_open, foreign_key_violation_is_refused)
{
	populate();
	/* A revision whose VM is gone, written with foreign keys off as a broken tool might. */
	t_sql("PRAGMA foreign_keys = OFF; DELETE FROM vms;");
	struct store_err e;
	t_expect(t_open_fail(&e), &e, STORE_ECORRUPT, "foreign_key_check");
	cr_assert_not_null(strstr(e.msg, "vm_config"), "%s", e.msg);
}

Test(store_open, leftover_creation_file_is_ignored)
{
	char tmp[400];
	snprintf(tmp, sizeof tmp, "%s.new", t_db);
	write_file(tmp, "half-made", 9); /* as a crash during creation would leave */
	struct store *st = t_open();
	store_close(st);
	cr_assert_neq(access(tmp, F_OK), 0);
}

Test(store_open, two_handles_on_one_file)
{
	struct store *a = t_open();
	struct store *b = t_open();
	struct store_err e;
	t_vm(a, "from-a", NULL);
	struct store_vm v;
	cr_assert_eq(store_vm_get(b, "from-a", &v, &e), STORE_OK, "%s", e.msg);
	store_close(a);
	store_close(b);
}

Test(store_open, status_names)
{
	for (int s = STORE_OK; s <= STORE_ENOMEM; s++)
		cr_assert_str_neq(store_status_name((enum store_status)s), "unknown status");
	cr_assert_str_eq(store_status_name((enum store_status)999), "unknown status");
}
