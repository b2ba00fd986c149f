/*
 * agent_audit_anchor.c - the audit sequence hv-agent hands to hv-core
 * (docs/mgmt-abi.md MGMT-630, MGMT-631; docs/security.md "The audit record")
 * against the real hv-core under QEMU: the database and its head file put back
 * together from an older copy pass the keyed chain's own checks, but hv-core
 * remembers a newer head, so hv-agent reports the finding, refuses changes
 * until an admin acknowledges it, and serves reads. A clean restart has no
 * finding. Waits are bounded polls; nothing asserts a duration.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent_stack.h"

#define WAIT_S 30

static struct hvq q;
static struct agent_proc agent;
static char uri[320], db[320];
static char *out, *err;
/* hv-agent hands the sequence over by default: no option */
static const char *const *const anchor_opt = NULL;

static void setup(void)
{
	out = err = NULL;
	memset(&agent, 0, sizeof agent);
	agent_stack_start(&q, &agent, anchor_opt, uri, sizeof uri);
	snprintf(db, sizeof db, "%s/hv-agent.db", q.dir);
}

static void teardown(void)
{
	agent_stack_stop(&q, &agent);
	free(out);
	free(err);
}

static int rw(const char *const *args)
{
	const char *argv[16];
	size_t n = 0;
	argv[n++] = "--connect";
	argv[n++] = uri;
	for (; *args && n < 15; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	free(out);
	free(err);
	return run_hvctl(argv, &out, &err);
}
#define RW(...) rw((const char *const[]){ __VA_ARGS__, NULL })

static long long newest_row(void)
{
	sqlite3 *h;
	sqlite3_stmt *s;
	long long v = -1;
	cr_assert_eq(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(h, "SELECT max(seq) FROM audit_log", -1, &s, NULL),
		     SQLITE_OK);
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(h);
	return v;
}

static int hv_seq_is(struct hvq *h, void *arg)
{
	struct hvq_reply rep;
	uint64_t args[6] = { 0 };
	return hvq_command(h, HVM_CMD_AUDIT_SEQ_GET, 0, args, &rep) == 0 && rep.status == HVM_OK &&
	       rep.ret[0] == *(uint64_t *)arg;
}

/* n refused changes (audited), then hv-agent stopped once hv-core holds its
 * newest row's sequence. */
static void history(int n)
{
	for (int i = 0; i < n; i++)
		cr_assert_eq(RW("destroy", "no-such-vm"), 4, "%s", err);
	cr_assert_eq(agent_stop(&agent), 0);
	uint64_t want = (uint64_t)newest_row();
	cr_assert_gt(want, 0);
	cr_assert_eq(hvq_wait(&q, hv_seq_is, &want, WAIT_S), 0,
		     "hv-core never held audit sequence %llu: %s", (unsigned long long)want, q.err);
}

static void copy(const char *from, const char *to)
{
	char cmd[800];
	snprintf(cmd, sizeof cmd, "cp -p '%s' '%s'", from, to);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
}

TestSuite(agent_audit_anchor, .init = setup, .fini = teardown, .timeout = 300);

Test(agent_audit_anchor, database_and_head_put_back_together_are_caught)
{
	char head[320], old_db[340], old_head[340];
	snprintf(head, sizeof head, "%s/audit.head", q.dir);
	snprintf(old_db, sizeof old_db, "%s.old", db);
	snprintf(old_head, sizeof old_head, "%s.old", head);

	/* diagnostics say it is anchored once hv-agent asked hv-core */
	int anchored = 0;
	for (int i = 0; i < 300 && !anchored; i++) { /* bounded: each try runs hvctl */
		cr_assert_eq(RW("diag"), 0, "%s", err);
		anchored = strstr(out, "Audit anchor:") && strstr(out, "anchored: hv-core holds");
		if (!anchored)
			usleep(20000);
	}
	cr_assert(anchored, "diag: %s", out);
	history(1);
	copy(db, old_db);
	copy(head, old_head);
	cr_assert_eq(agent_start(&agent, q.dir, anchor_opt), 0, "%s", agent.err);
	/* a clean restart: no finding, changes go through to their handler */
	cr_assert_eq(RW("audit", "verify"), 0, "%s%s", out, err);
	history(2);

	copy(old_db, db);
	copy(old_head, head);
	cr_assert_eq(agent_start(&agent, q.dir, anchor_opt), 0, "hv-agent must start: %s", agent.err);
	char *log = read_file_text(agent.log);
	cr_assert(log && strstr(log, "put back from an older copy"), "log lacks the finding:\n%s",
		  log ? log : "");
	free(log);
	cr_assert_eq(RW("audit", "verify"), 1, "verify must fail: %s%s", out, err);
	cr_assert_not_null(strstr(out, "hv-core holds audit sequence"), "%s", out);
	cr_assert_neq(RW("destroy", "rtos-demo"), 0);
	cr_assert_not_null(strstr(err, "FAILED_PRECONDITION"), "%s", err);
	cr_assert_eq(RW("domstate", "rtos-demo"), 0, "reads are served: %s", err);
	cr_assert_str_eq(out, "running\n\n", "the refused destroy was carried out");

	cr_assert_eq(RW("audit", "acknowledge"), 0, "%s", err);
	cr_assert_eq(RW("destroy", "no-such-vm"), 4, "changes run again: %s", err);
	cr_assert_eq(agent_stop(&agent), 0);
}
