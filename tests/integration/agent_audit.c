/*
 * agent_audit.c - the keyed audit record of hv-agent (REQ-SAF-16,
 * docs/security.md "The audit record"), attacked on its files as a local
 * user with write access to the database (not to the key) would:
 *   - agent_audit (hv-agent alone, no hv-core needed for the audit): rows
 *     removed from the tail with the triggers dropped and the in-database
 *     head rewritten, an older database file put back, the key removed, a
 *     row changed in the middle: hv-agent starts, keeps the database as
 *     found, reports the finding (log, GetDiagnostics, `hvctl audit verify`
 *     naming the first bad row), refuses every change before its handler
 *     runs, serves reads, and lets changes through again once an admin ran
 *     `hvctl audit acknowledge` (which the read-only socket may not);
 *   - agent_audit_stack (the real hv-core under QEMU): while a finding
 *     stands, `hvctl destroy rtos-demo` is refused and the VM keeps running;
 *     after the acknowledgement the same call destroys it, and its request
 *     row precedes its outcome row.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent_stack.h"

static char dir[64], db[320], key[128], head[128];
static struct agent_proc agent;
static char *out, *err;

static void setup(void)
{
	out = err = NULL;
	memset(&agent, 0, sizeof agent);
	snprintf(dir, sizeof dir, "/tmp/agent-audit-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(db, sizeof db, "%s/hv-agent.db", dir);
	snprintf(key, sizeof key, "%s/audit.key", dir);
	snprintf(head, sizeof head, "%s/audit.head", dir);
}

static void teardown(void)
{
	agent_stop(&agent);
	free(out);
	free(err);
	char cmd[160];
	/* evidence copies and the state directory */
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		remove_tree(dir);
}

TestSuite(agent_audit, .init = setup, .fini = teardown, .timeout = 180);

static int hvctl_at(const char *sock, const char *const *args)
{
	const char *argv[16];
	char uri[256];
	size_t n = 0;

	snprintf(uri, sizeof uri, "unix://%s", sock);
	argv[n++] = "--connect";
	argv[n++] = uri;
	for (; *args && n < 15; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	free(out);
	free(err);
	return run_hvctl(argv, &out, &err);
}

#define RW(...) hvctl_at(agent.sock, (const char *const[]){ __VA_ARGS__, NULL })
#define RO(...) hvctl_at(agent.ro_sock, (const char *const[]){ __VA_ARGS__, NULL })

static void sql(const char *stmt)
{
	sqlite3 *h;
	char *msg = NULL;
	cr_assert_eq(sqlite3_open(db, &h), SQLITE_OK);
	int rc = sqlite3_exec(h, stmt, NULL, NULL, &msg);
	cr_assert_eq(rc, SQLITE_OK, "%s: %s", stmt, msg ? msg : "");
	sqlite3_close(h);
}

static long long sql_int(const char *q)
{
	sqlite3 *h;
	sqlite3_stmt *s;
	long long v = -1;
	cr_assert_eq(sqlite3_open(db, &h), SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(h, q, -1, &s, NULL), SQLITE_OK, "%s", q);
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(h);
	return v;
}

/* A first start (key and head created), n state-changing calls through the
 * read-write socket (hv-core is not running: each gets its request row and
 * its UNAVAILABLE outcome row), stopped. */
static void history(int n)
{
	cr_assert_eq(agent_start(&agent, dir, NULL), 0, "%s", agent.err);
	for (int i = 0; i < n; i++)
		cr_assert_neq(RW("destroy", "web"), 0);
	cr_assert_eq(RW("audit", "verify"), 0, "%s%s", out, err);
	cr_assert_eq(agent_stop(&agent), 0);
	struct stat sb;
	cr_assert_eq(stat(key, &sb), 0, "no key file");
	cr_assert_eq(sb.st_mode & 0777, 0600, "key mode %o", sb.st_mode & 0777);
	cr_assert_eq(stat(db, &sb), 0);
	cr_assert_eq(sb.st_mode & 0777, 0600, "database mode %o", sb.st_mode & 0777);
	cr_assert_eq(stat(dir, &sb), 0);
	cr_assert_eq(sb.st_mode & 0777, 0711, "state directory mode %o", sb.st_mode & 0777);
}

/* hv-agent on the tampered files: finding `want` everywhere it must be,
 * changes refused before they run, reads served; then acknowledged. */
static void expect_finding(const char *want)
{
	cr_assert_eq(agent_start(&agent, dir, NULL), 0, "hv-agent must start: %s", agent.err);
	long long rows_before = sql_int("SELECT count(*) FROM audit_log");

	char *log = read_file_text(agent.log);
	cr_assert(log && strstr(log, "failed verification") && strstr(log, want),
		  "log lacks the finding \"%s\":\n%s", want, log ? log : "");
	free(log);

	cr_assert_eq(RO("audit", "verify"), 1, "verify must fail: %s%s", out, err);
	cr_assert_not_null(strstr(out, want), "%s", out);
	cr_assert_eq(RO("diag", "--json"), 0, "%s", err);
	cr_assert_not_null(strstr(out, want), "diag lacks the finding: %s", out);
	/* A watcher of events hears of it, and the diagnostic archive keeps it. */
	cr_assert_eq(RO("event", "--timeout", "60"), 0, "%s", err);
	cr_assert(strstr(out, "event 'audit' for hv-agent") && strstr(out, want),
		  "no audit event naming \"%s\": %s", want, out);
	char file[200], cmd[400];
	snprintf(file, sizeof file, "%s/diag.tar.gz", dir);
	cr_assert_eq(RO("diag", "export", file), 0, "%s", err);
	snprintf(cmd, sizeof cmd, "tar -xzOf '%s' --wildcards '*/audit-finding.txt'", file);
	free(out);
	free(err);
	run_program("/bin/sh", (const char *const[]){ "-c", cmd, NULL }, &out, &err);
	cr_assert(strstr(out, "FINDING: ") && strstr(out, want), "archive: %s", out);
	unlink(file);

	/* hv-core is down: a handler that ran would answer UNAVAILABLE. */
	cr_assert_neq(RW("destroy", "web"), 0);
	cr_assert_not_null(strstr(err, "FAILED_PRECONDITION"), "%s", err);
	cr_assert_not_null(strstr(err, "acknowledge"), "%s", err);
	cr_assert_eq(RO("audit"), 0, "reads keep working: %s", err);
	cr_assert_eq(sql_int("SELECT count(*) FROM audit_log"), rows_before,
		     "the tampered log was written to");

	/* Only an admin acknowledges; the read-only socket may not. */
	cr_assert_eq(RO("audit", "acknowledge"), 5, "%s%s", out, err);
	cr_assert_eq(RW("audit", "acknowledge"), 0, "%s", err);
	cr_assert_not_null(strstr(out, want), "%s", out);
	cr_assert_eq(RW("audit", "verify"), 0, "%s%s", out, err);
	cr_assert_neq(RW("destroy", "web"), 0);
	cr_assert_not_null(strstr(err, "UNAVAILABLE"), "changes must be made again: %s", err);
	cr_assert_eq(RW("audit", "--json"), 0, "%s", err);
	cr_assert_not_null(strstr(out, "\"audit.acknowledge\""), "%s", out);
	cr_assert_eq(agent_stop(&agent), 0);

	/* Acknowledged for good, and the evidence is kept. */
	cr_assert_eq(agent_start(&agent, dir, NULL), 0, "%s", agent.err);
	cr_assert_eq(RO("audit", "verify"), 0, "%s%s", out, err);
	cr_assert_eq(agent_stop(&agent), 0);
	snprintf(cmd, sizeof cmd, "ls %s.evidence-* >/dev/null 2>&1", db);
	cr_assert_eq(system(cmd), 0, "no evidence copy of the database");
}

Test(agent_audit, tail_truncated_with_triggers_dropped_and_head_rewritten)
{
	history(3); /* rows: seal, 3 x (request, outcome) = 7 */
	sql("DROP TRIGGER audit_log_no_delete;"
	    "DELETE FROM audit_log WHERE seq > 5;"
	    "UPDATE audit_head SET seq = 5, hash = (SELECT hash FROM audit_log WHERE seq = 5);");
	expect_finding("row 6 is missing");
}

Test(agent_audit, older_database_file_put_back)
{
	char old[160], cmd[800];
	history(1);
	snprintf(old, sizeof old, "%s/old.db", dir);
	snprintf(cmd, sizeof cmd, "cp -p '%s' '%s'", db, old);
	cr_assert_eq(system(cmd), 0);
	history(2);
	snprintf(cmd, sizeof cmd, "cp -p '%s' '%s'", old, db);
	cr_assert_eq(system(cmd), 0);
	expect_finding("row 4 is missing");
}

Test(agent_audit, removed_key)
{
	history(1);
	cr_assert_eq(unlink(key), 0);
	expect_finding("audit key");
}

Test(agent_audit, row_changed_in_the_middle)
{
	history(2);
	sql("DROP TRIGGER audit_log_no_update;"
	    "UPDATE audit_log SET outcome = 'OK' WHERE seq = 3;");
	expect_finding("row 3");
}

Test(agent_audit, row_deleted_in_the_middle)
{
	history(2);
	sql("DROP TRIGGER audit_log_no_delete; DELETE FROM audit_log WHERE seq = 2;");
	expect_finding("row 2 is missing");
}

/* A database from a wider umask (and with it its journal) is narrowed. */
Test(agent_audit, database_readable_by_others_is_narrowed)
{
	history(1);
	cr_assert_eq(chmod(db, 0644), 0);
	cr_assert_eq(agent_start(&agent, dir, NULL), 0, "%s", agent.err);
	struct stat sb;
	cr_assert_eq(stat(db, &sb), 0);
	cr_assert_eq(sb.st_mode & 0777, 0600, "database mode %o", sb.st_mode & 0777);
	char wal[340];
	snprintf(wal, sizeof wal, "%s-wal", db);
	if (stat(wal, &sb) == 0)
		cr_assert_eq(sb.st_mode & 0777, 0600, "journal mode %o", sb.st_mode & 0777);
	cr_assert_eq(agent_stop(&agent), 0);
}

/* --audit-max-rows: the log stays under it while calls are made, the oldest
 * rows folded into the checkpoint; verification passes across it, also after a
 * restart. */
Test(agent_audit, retention_folds_into_a_checkpoint)
{
	const char *const opt[] = { "--audit-max-rows", "16", NULL };
	cr_assert_eq(agent_start(&agent, dir, opt), 0, "%s", agent.err);
	for (int i = 0; i < 12; i++) {
		cr_assert_neq(RW("destroy", "web"), 0);
		cr_assert_leq(sql_int("SELECT count(*) FROM audit_log"), 16);
	}
	cr_assert_eq(RW("audit", "verify"), 0, "%s%s", out, err);
	cr_assert_eq(agent_stop(&agent), 0);
	cr_assert_eq(sql_int("SELECT first_seq FROM audit_checkpoints"), 1);
	cr_assert_gt(sql_int("SELECT count(*) FROM audit_log WHERE rpc = 'audit.checkpoint'"), 0);

	cr_assert_eq(agent_start(&agent, dir, opt), 0, "%s", agent.err);
	cr_assert_eq(RO("audit", "verify"), 0, "%s%s", out, err);
	cr_assert_eq(agent_stop(&agent), 0);
}

Test(agent_audit, nothing_to_acknowledge)
{
	cr_assert_eq(agent_start(&agent, dir, NULL), 0, "%s", agent.err);
	cr_assert_eq(RW("audit", "acknowledge"), 1, "%s%s", out, err);
	cr_assert_not_null(strstr(err, "no finding"), "%s", err);
	cr_assert_eq(RW("audit", "bogus"), 2);
	cr_assert_eq(agent_stop(&agent), 0);
}

/* ---- against the real hv-core ----------------------------------------------- */

static struct hvq q;

static void stack_setup(void)
{
	out = err = NULL;
	memset(&agent, 0, sizeof agent);
	char uri[320];
	agent_stack_start(&q, &agent, NULL, uri, sizeof uri);
	snprintf(db, sizeof db, "%s/hv-agent.db", q.dir);
}

static void stack_teardown(void)
{
	agent_stack_stop(&q, &agent);
	free(out);
	free(err);
}

TestSuite(agent_audit_stack, .init = stack_setup, .fini = stack_teardown, .timeout = 300);

Test(agent_audit_stack, change_refused_while_a_finding_stands)
{
	cr_assert_eq(RW("domstate", "rtos-demo"), 0, "%s", err);
	cr_assert_str_eq(out, "running\n\n");
	/* Guest RAM, mapped by hv-agent, is its owner's only. */
	char ram[340];
	struct stat sb;
	snprintf(ram, sizeof ram, "%s/guest-ram", q.dir);
	cr_assert_eq(stat(ram, &sb), 0);
	cr_assert_eq(sb.st_mode & 0777, 0600, "guest RAM mode %o", sb.st_mode & 0777);
	cr_assert_eq(RW("destroy", "no-such-vm"), 4, "%s", err); /* rows to lose */
	cr_assert_eq(agent_stop(&agent), 0);
	sql("DROP TRIGGER audit_log_no_delete;"
	    "DELETE FROM audit_log WHERE seq = (SELECT max(seq) FROM audit_log);"
	    "UPDATE audit_head SET seq = (SELECT max(seq) FROM audit_log),"
	    "  hash = (SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1);");
	cr_assert_eq(agent_start(&agent, q.dir, NULL), 0, "%s", agent.err);

	cr_assert_neq(RW("destroy", "rtos-demo"), 0);
	cr_assert_not_null(strstr(err, "FAILED_PRECONDITION"), "%s", err);
	cr_assert_eq(RW("domstate", "rtos-demo"), 0, "%s", err);
	cr_assert_str_eq(out, "running\n\n", "the refused destroy was carried out");

	cr_assert_eq(RW("audit", "acknowledge"), 0, "%s", err);
	cr_assert_eq(RW("destroy", "rtos-demo"), 0, "%s", err);
	cr_assert_eq(RW("domstate", "rtos-demo"), 0, "%s", err);
	cr_assert_str_eq(out, "shut off\n\n");
	/* The request row, then the outcome row. */
	long long req = sql_int("SELECT max(seq) FROM audit_log WHERE rpc = "
				"'hvmgr.v1.Hvmgr/Destroy' AND outcome = 'requested'");
	long long done = sql_int("SELECT max(seq) FROM audit_log WHERE rpc = "
				 "'hvmgr.v1.Hvmgr/Destroy' AND outcome = 'OK'");
	cr_assert(req > 0 && done == req + 1, "request row %lld, outcome row %lld", req, done);
	cr_assert_eq(agent_stop(&agent), 0);
}
