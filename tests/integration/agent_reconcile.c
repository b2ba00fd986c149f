/*
 * agent_reconcile.c - reconciliation when hv-core restarts under a running
 * hv-agent (docs/reconcile.md; docs/architecture.md, "The parts"), with the real
 * hv-core under QEMU, twice: hv-agent maps the guest RAM through a symbolic
 * link, which the test points at the second QEMU's file, as a QEMU restart
 * that recreates the file would look to it.
 *
 * Before the restart: st0 defined and started (desired RUNNING), st1 defined,
 * shut off, autostart; a third stored VM, st0b, wants st0's CPU and is put
 * into the store directly (a configuration hv-core will refuse). After the
 * restart, without any request: st0 runs again, st1 runs (autostart), st0b is
 * listed shut off (hv-core refused it: `hvctl list --all` still shows it;
 * `start` tries to define it again, `undefine` forgets it),
 * rtos-demo (hv-core's own boot VM, unmanaged) runs untouched, and nothing is
 * defined twice.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent_stack.h"
#include "agent_store_util.h"
#include "store.h"

#define WAIT_S 60

static struct hvq q1, q2;
static struct agent_proc agent;
static char dir[64], link_path[128], uri[256], db[128];
static char *out, *err;
static struct st_vm vm0 = { .name = "st0",
			    .uuid = "5eed0000-0000-4000-8000-000000000000",
			    .cpu = 2,
			    .mem_pa = 0x50000000,
			    .store_pa = 0x44000000 };
static struct st_vm vm1 = { .name = "st1",
			    .uuid = "5eed0000-0000-4000-8000-000000000001",
			    .cpu = 3,
			    .mem_pa = 0x52000000,
			    .store_pa = 0x44400000 };
static struct st_vm vm0b = { .name = "st0b",
			     .uuid = "5eed0000-0000-4000-8000-00000000000b",
			     .cpu = 2,
			     .mem_pa = 0x54000000,
			     .store_pa = 0x44800000 };
static char dtb0[300], dtb1[300], dtb0b[300];

static void point_link(const char *target)
{
	char tmp[160];
	snprintf(tmp, sizeof tmp, "%s.new", link_path);
	unlink(tmp);
	cr_assert_eq(symlink(target, tmp), 0);
	cr_assert_eq(rename(tmp, link_path), 0);
}

static void setup(void)
{
	char bin[512], ram[320];
	struct hvq_opts o = HVQ_OPTS_DEFAULT;

	out = err = NULL;
	memset(&agent, 0, sizeof agent);
	memset(&q2, 0, sizeof q2);
	snprintf(bin, sizeof bin, "%s/hvcore.bin", agent_stack_core_dir());
	if (access(bin, R_OK) != 0)
		cr_skip_test("no hv-core image at %s (build hv-core, or set HV_CORE_OUT)", bin);
	snprintf(dir, sizeof dir, "/tmp/agent-rec-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(link_path, sizeof link_path, "%s/ram", dir);
	snprintf(uri, sizeof uri, "unix://%s/hv-agent.sock", dir);
	snprintf(db, sizeof db, "%s/hv-agent.db", dir);
	o.core_dir = agent_stack_core_dir();
	cr_assert_eq(hvq_start(&q1, &o), 0, "%s", q1.err);
	cr_assert_eq(st_prepare(&q1, &vm0, dir, 0, dtb0, sizeof dtb0), 0, "%s", q1.err);
	cr_assert_eq(st_prepare(&q1, &vm1, dir, 0, dtb1, sizeof dtb1), 0, "%s", q1.err);
	cr_assert_eq(st_prepare(&q1, &vm0b, dir, 0, dtb0b, sizeof dtb0b), 0, "%s", q1.err);
	snprintf(ram, sizeof ram, "%s/guest-ram", q1.dir);
	point_link(ram);
	const char *extra[] = { "--ram-file", link_path, NULL };
	cr_assert_eq(agent_start(&agent, dir, extra), 0, "%s", agent.err);
}

static void teardown(void)
{
	agent_stop(&agent);
	hvq_stop(&q1);
	hvq_stop(&q2);
	remove_tree(dir);
	free(out);
	free(err);
}

TestSuite(agent_reconcile, .init = setup, .fini = teardown, .timeout = 300);

#define HVCTL(...) hvctl_run((const char *const[]){ "--connect", uri, __VA_ARGS__, NULL })

static int hvctl_run(const char *const *args)
{
	free(out);
	free(err);
	return run_hvctl(args, &out, &err);
}

struct want {
	const char *name;
	uint32_t state;
};

static int all_there(struct hvq *q, void *arg)
{
	const struct want *w = arg;
	for (; w->name; w++) {
		uint32_t state;
		if (st_count(q, w->name, NULL, &state) != 1 || state != w->state)
			return 0;
	}
	return 1;
}

Test(agent_reconcile, hv_core_restart_brings_back_stored_vms_and_their_desired_state)
{
	struct store *st;
	struct store_err e;
	uint32_t rev;

	cr_assert_eq(HVCTL("define", dtb0), 0, "%s", err);
	cr_assert_eq(HVCTL("define", dtb1), 0, "%s", err);
	cr_assert_eq(HVCTL("start", "st0"), 0, "%s", err);
	/* hv-core refuses st0b next to st0 (same CPU): Define changes nothing. */
	cr_assert_neq(HVCTL("define", dtb0b), 0);
	cr_assert_not_null(strstr(err, "RESOURCE_EXHAUSTED"), "%s", err);

	/* What the API has no verb for yet in this test: autostart, and a
	 * stored configuration hv-core will refuse, written to the store as
	 * hv-agent would (a second handle on the live database, WAL). */
	size_t len;
	void *blob = st_read_file(dtb0b, &len);
	cr_assert_not_null(blob);
	cr_assert_eq(store_open(db, &st, &e), STORE_OK, "%s", e.msg);
	cr_assert_eq(store_vm_set_autostart(st, "st1", true, &e), STORE_OK, "%s", e.msg);
	cr_assert_eq(store_vm_create(st, "st0b", vm0b.uuid, &e), STORE_OK, "%s", e.msg);
	cr_assert_eq(store_config_add(st, "st0b", blob, len, "test", &rev, &e), STORE_OK, "%s",
		     e.msg);
	store_close(st);
	free(blob);

	/* hv-core goes away and comes back empty but for its boot VM. */
	hvq_stop(&q1);
	struct hvq_opts o = HVQ_OPTS_DEFAULT;
	o.core_dir = agent_stack_core_dir();
	cr_assert_eq(hvq_start(&q2, &o), 0, "%s", q2.err);
	cr_assert_eq(st_restage(&q2, &vm0), 0, "%s", q2.err);
	cr_assert_eq(st_restage(&q2, &vm1), 0, "%s", q2.err);
	char ram[320];
	snprintf(ram, sizeof ram, "%s/guest-ram", q2.dir);
	point_link(ram);

	struct want w[] = { { "rtos-demo", HVM_VM_RUNNING },
			    { "st0", HVM_VM_RUNNING },
			    { "st1", HVM_VM_RUNNING },
			    { NULL, 0 } };
	int rc = hvq_wait(&q2, all_there, w, WAIT_S);
	if (rc != 0) {
		char *log = read_file_text(agent.log);
		cr_assert_fail("hv-agent did not reconcile the new hv-core: %s\n%s", q2.err,
			       log ? log : "");
	}
	cr_expect_eq(st_count(&q2, "st0b", NULL, NULL), 0, "st0b defined despite the CPU conflict");

	/* Persistent but not defined: listed like virsh's inactive domains. */
	cr_assert_eq(HVCTL("list", "--all"), 0, "%s", err);
	cr_expect_not_null(strstr(out, "st0b"), "%s", out);
	cr_assert_eq(HVCTL("list"), 0, "%s", err);
	cr_expect_null(strstr(out, "st0b"), "%s", out);
	cr_assert_eq(HVCTL("domstate", "st0b"), 0, "%s", err);
	cr_expect_str_eq(out, "shut off\n\n");
	/* Start of a VM only the store holds defines it first: refused here. */
	cr_expect_neq(HVCTL("start", "st0b"), 0);
	cr_expect_not_null(strstr(err, "E_CPU"), "%s", err);
	/* Undefine of it only forgets it. */
	cr_assert_eq(HVCTL("undefine", "st0b"), 0, "%s", err);
	cr_assert_eq(HVCTL("list", "--all"), 0, "%s", err);
	cr_expect_null(strstr(out, "st0b"), "%s", out);
	cr_assert_eq(agent_stop(&agent), 0, "hv-agent did not stop cleanly");

	/* Each decision is one line in the log: what, why, outcome. */
	char *log = read_file_text(agent.log);
	cr_assert_not_null(log);
	cr_expect_not_null(strstr(log, "reconcile: hv-core restarted")
				   ? log
				   : strstr(log, "reconcile: pass (hv-core came up)"),
			   "%s", log);
	cr_expect_not_null(strstr(log,
				  "reconcile: define 'st0' revision 1: hv-core lacked it: defined as id"),
			   "%s", log);
	cr_expect_not_null(strstr(log,
				  "reconcile: start 'st0': desired running, hv-core shows shut off (defined): done"),
			   "%s", log);
	cr_expect_not_null(strstr(log, "reconcile: start 'st1': desired stopped (autostart)"), "%s",
			   log);
	cr_expect_not_null(strstr(log,
				  "reconcile: define 'st0b': hv-core lacks it: define 'st0b' revision 1: hv-core refused DEFINE (E_CPU)"),
			   "%s", log);
	cr_expect_not_null(strstr(log,
				  "reconcile: leave 'rtos-demo' (id 0, running): in hv-core but not in the store"),
			   "%s", log);
	free(log);

	/* A restart of hv-agent alone changes nothing more. */
	const char *extra[] = { "--ram-file", link_path, NULL };
	cr_assert_eq(agent_start(&agent, dir, extra), 0, "%s", agent.err);
	cr_expect_eq(all_there(&q2, w), 1);
	cr_assert_eq(agent_stop(&agent), 0);
}
