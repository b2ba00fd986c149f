/*
 * agent_store.c - hv-agent with its sqlite store (REQ-PRD-04, REQ-SAF-14,
 * REQ-SAF-16; docs/reconcile.md, docs/store.md):
 *   - a garbage or empty database file makes hv-agent refuse to start with
 *     one line naming the file and the problem, exit non-zero and leave the
 *     file untouched; hvctl then reports the agent unreachable (a tampered
 *     audit log is kept and reported instead: agent_audit.c);
 *   - against the real hv-core under QEMU: the stored-configuration,
 *     autostart and audit RPCs and their error paths, from the independent
 *     Python client (agent_store_client.py) over the unix sockets and over
 *     mutual TLS with the viewer and operator roles.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent_stack.h"
#include "agent_store_util.h"

/* ---- a damaged database: no hv-core needed ---------------------------------- */

static char dir[64], db[128];
static struct agent_proc agent;

static void db_setup(void)
{
	memset(&agent, 0, sizeof agent);
	snprintf(dir, sizeof dir, "/tmp/agent-store-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(db, sizeof db, "%s/hv-agent.db", dir);
}

static void db_teardown(void)
{
	agent_stop(&agent);
	remove_tree(dir);
}

TestSuite(agent_store_db, .init = db_setup, .fini = db_teardown, .timeout = 120);

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(data, 1, len, f), len);
	fclose(f);
}

/* hv-agent in the foreground on dir: must refuse with exactly one error line
 * naming db and `problem`; the file must be unchanged. */
static void expect_refusal(const char *problem)
{
	size_t before_len, after_len;
	void *before = st_read_file(db, &before_len);
	char *out, *err;

	cr_assert_not_null(before);
	int rc = run_program(HV_BIN_DIR "/hv-agent",
			     (const char *const[]){ "--foreground", "--state-dir", dir, NULL },
			     &out, &err);
	cr_expect_neq(rc, 0, "hv-agent started on a damaged database:\n%s", err);
	char want[200];
	snprintf(want, sizeof want, "refusing to start: database %s failed its integrity check", db);
	const char *line = strstr(err, want);
	cr_expect_not_null(line, "expected '%s' in:\n%s", want, err);
	cr_expect_not_null(strstr(err, problem), "expected '%s' in:\n%s", problem, err);
	int errors = 0;
	for (const char *p = err; (p = strstr(p, " error: ")); p++)
		errors++;
	cr_expect_eq(errors, 1, "one error line expected:\n%s", err);
	/* Never repaired, never replaced. */
	void *after = st_read_file(db, &after_len);
	cr_expect(after && after_len == before_len && memcmp(before, after, before_len) == 0,
		  "the database file was changed");
	free(before);
	free(after);
	free(out);
	free(err);

	/* Detached (the default), the same line comes from the starting command. */
	rc = run_program(HV_BIN_DIR "/hv-agent", (const char *const[]){ "--state-dir", dir, NULL },
			 &out, &err);
	cr_expect_neq(rc, 0);
	cr_expect_not_null(strstr(err, want), "detached start: %s", err);
	free(out);
	free(err);

	/* Nothing serves: hvctl says it cannot reach hv-agent. */
	char uri[160];
	snprintf(uri, sizeof uri, "unix://%s/hv-agent.sock", dir);
	rc = run_hvctl((const char *const[]){ "--connect", uri, "list", "--all", NULL }, &out, &err);
	cr_expect_neq(rc, 0, "hvctl reached an agent that refused to start: %s", out);
	cr_expect_neq(err[0], '\0', "hvctl said nothing");
	cr_expect_eq(strchr(err, '\n'), err + strlen(err) - 1, "one line expected: %s", err);
	free(out);
	free(err);
}

Test(agent_store_db, garbage_database_is_refused)
{
	char junk[8192];
	for (size_t i = 0; i < sizeof junk; i++)
		junk[i] = (char)(i * 7 + 3);
	write_file(db, junk, sizeof junk);
	expect_refusal("file is not a database");
}

Test(agent_store_db, truncated_database_is_refused)
{
	write_file(db, "", 0);
	expect_refusal("empty");
}

/* ---- the RPCs, against the real hv-core ------------------------------------- */

static struct hvq q;
static char work[320], pki[320], v1[300], v2[300], port[16];
static struct st_vm st0 = { .name = "st0",
			    .uuid = "0c7a55e1-0000-4000-8000-0000000000aa",
			    .cpu = 2,
			    .mem_pa = 0x50000000,
			    .store_pa = 0x44000000 };

static void qemu_setup(void)
{
	char listen[64], *out, *err;

	memset(&agent, 0, sizeof agent);
	agent_stack_start_core(&q, NULL);
	cr_assert_eq(st_prepare(&q, &st0, q.dir, 0, v1, sizeof v1), 0, "%s", q.err);
	cr_assert_eq(st_prepare(&q, &st0, q.dir, 1, v2, sizeof v2), 0, "%s", q.err);
	snprintf(work, sizeof work, "%s/py", q.dir);
	snprintf(pki, sizeof pki, "%s/pki", q.dir);
	cr_assert_eq(mkdir(work, 0755), 0);
	int rc = run_hvctl((const char *const[]){ "pki", "init", "--dir", pki, NULL }, &out, &err);
	cr_assert_eq(rc, 0, "hvctl pki init: %s", err);
	free(out);
	free(err);
	int p = loopback_port();
	cr_assert_gt(p, 0);
	snprintf(port, sizeof port, "%d", p);
	snprintf(listen, sizeof listen, "127.0.0.1:%d", p);
	const char *extra[] = { "--listen", listen, NULL };
	cr_assert_eq(agent_start(&agent, q.dir, extra), 0, "%s", agent.err);
}

static void qemu_teardown(void)
{
	agent_stop(&agent);
	hvq_stop(&q);
}

TestSuite(agent_store, .init = qemu_setup, .fini = qemu_teardown, .timeout = 300);

Test(agent_store, config_autostart_audit_rpcs_and_their_errors)
{
	char *out, *err;
	int rc = run_program(HV_SYSTEM_PYTHON,
			     (const char *const[]){ HV_SOURCE_DIR
						    "/tests/integration/agent_store_client.py",
						    HV_SOURCE_DIR "/proto", work, agent.sock,
						    agent.ro_sock, pki, port, v1, v2, NULL },
			     &out, &err);
	cr_expect_eq(rc, 0, "python client: status %d\nstdout: %s\nstderr: %s", rc, out, err);
	cr_expect_str_eq(out, "ok\n");
	free(out);
	free(err);
	cr_assert_eq(agent_stop(&agent), 0, "hv-agent did not stop cleanly");

	/* The chain the client read verifies on the next start too. */
	cr_assert_eq(agent_start(&agent, q.dir, NULL), 0, "%s", agent.err);
	cr_assert_eq(agent_stop(&agent), 0);
}
