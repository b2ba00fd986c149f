/*
 * agent_faults_qemu.c - the fault history of hv-agent against the real
 * hv-core under QEMU (REQ-SAF-16; docs/security.md "Fault history";
 * docs/mgmt-abi.md MGMT-500). Misbehaving guests: bad-access touches memory
 * it was not given (a stage-2 abort, policy stop) and hb-restart's heartbeat
 * stops (a watchdog expiry, one restart, then stopped at the next). Their
 * FAULT and WATCHDOG events are persisted; a fault raised while hv-agent is
 * stopped is read from hv-core's ring when it starts again; QEMU killed and
 * started again with the same flash bank under the running hv-agent gives a
 * gap row naming both boots of hv-core (its boot number, MGMT-500), and the
 * new boot's fault is counted on top of the old ones. hv-agent maps the guest
 * RAM through a symbolic link that the test points at the second QEMU's file.
 * Waits are bounded polls; nothing asserts a duration.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent_stack.h"

#define POLLS 400 /* each runs hvctl: a bound, not a duration */

static struct hvq q1, q2;
static struct agent_proc agent;
static char dir[64], link_path[128], nvram[128], uri[256];
static char *out, *err;

static void point_link(const char *target)
{
	char tmp[160];
	snprintf(tmp, sizeof tmp, "%s.new", link_path);
	unlink(tmp);
	cr_assert_eq(symlink(target, tmp), 0);
	cr_assert_eq(rename(tmp, link_path), 0);
}

static void boot(struct hvq *q)
{
	struct hvq_opts o = HVQ_OPTS_DEFAULT;
	char ram[320];
	o.core_dir = agent_stack_core_dir();
	o.guests[0] = "rtos-demo";
	o.guests[1] = "bad-access";
	o.guests[2] = "hb-restart";
	o.extra[0] = "--nvram";
	o.extra[1] = nvram;
	cr_assert_eq(hvq_start(q, &o), 0, "%s", q->err);
	snprintf(ram, sizeof ram, "%s/guest-ram", q->dir);
	point_link(ram);
}

static void start_agent(void)
{
	const char *extra[] = { "--ram-file", link_path, NULL };
	cr_assert_eq(agent_start(&agent, dir, extra), 0, "%s", agent.err);
}

static void setup(void)
{
	char bin[512];
	out = err = NULL;
	memset(&agent, 0, sizeof agent);
	memset(&q1, 0, sizeof q1);
	memset(&q2, 0, sizeof q2);
	snprintf(bin, sizeof bin, "%s/hvcore.bin", agent_stack_core_dir());
	if (access(bin, R_OK) != 0)
		cr_skip_test("no hv-core image at %s (build hv-core, or set HV_CORE_OUT)", bin);
	snprintf(dir, sizeof dir, "/tmp/agent-flt-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(link_path, sizeof link_path, "%s/ram", dir);
	snprintf(nvram, sizeof nvram, "%s/nvram.bin", dir);
	snprintf(uri, sizeof uri, "unix://%s/hv-agent.sock", dir);
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

TestSuite(agent_faults_qemu, .init = setup, .fini = teardown, .timeout = 600);

static int hvctl(const char *const *args)
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
#define HVCTL(...) hvctl((const char *const[]){ __VA_ARGS__, NULL })

/* Polls `hvctl faults [vm]` until its text holds every one of want[]. */
static void wait_history(const char *vm, const char *const *want)
{
	int ok = 0;
	for (int i = 0; i < POLLS && !ok; i++) {
		int rc = vm ? HVCTL("faults", vm) : HVCTL("faults");
		ok = rc == 0;
		for (const char *const *w = want; ok && *w; w++)
			ok = strstr(out, *w) != NULL;
		if (!ok)
			usleep(50000);
	}
	if (!ok) {
		char *log = read_file_text(agent.log);
		fprintf(stderr, "hv-agent's log:\n%s\n", log ? log : "");
		free(log);
		cr_assert_fail("the fault history lacks what was expected (first: '%s'):\n%s%s",
			       want[0], out ? out : "", err ? err : "");
	}
}

/* START straight through the management region: only while hv-agent is
 * stopped (one command at a time, MGMT-110). */
static void start_vm(struct hvq *q, const char *name)
{
	struct hvq_reply rep;
	int id = hvq_find_vm(q, name);
	cr_assert_geq(id, 0, "%s not defined", name);
	cr_assert_eq(hvq_command(q, HVM_CMD_START, (uint32_t)id, NULL, &rep), 0, "%s", q->err);
	cr_assert_eq(rep.status, HVM_OK, "START %s: %s", name, rep.msg);
}

Test(agent_faults_qemu, faults_survive_agent_and_hv_core_restarts)
{
	boot(&q1);
	start_agent();
	/* bad-access faulted at its autostart; hb-restart's heartbeat stops
	 * twice: a restart, then stopped. */
	cr_assert_eq(HVCTL("start", "hb-restart"), 0, "%s", err);
	wait_history(NULL, (const char *const[]){
				   "fault stage2-abort  count 1", "fault watchdog      count 2",
				   " boot=1 vm=bad-access", " boot=1 vm=hb-restart", NULL });

	/* hv-agent stopped: bad-access faults again meanwhile; read from
	 * hv-core's ring when hv-agent is back. */
	cr_assert_eq(agent_stop(&agent), 0);
	start_vm(&q1, "bad-access");
	start_agent();
	wait_history("bad-access", (const char *const[]){ "fault stage2-abort  count 2", NULL });

	/* QEMU killed and started again on the same flash bank under the
	 * running hv-agent: bad-access faults at its autostart in boot 2. */
	hvq_stop(&q1);
	boot(&q2);
	wait_history(NULL,
		     (const char *const[]){
			     "gap   hv_seq=- boot=2 restart: hv-core booted again: boot 2, the events read before were of boot 1",
			     "fault stage2-abort  count 3", " boot=2 vm=bad-access", NULL });

	/* All of it as JSON, after one more restart of hv-agent. */
	cr_assert_eq(agent_stop(&agent), 0);
	start_agent();
	cr_assert_eq(HVCTL("faults", "bad-access", "--json"), 0, "%s", err);
	cr_expect_not_null(strstr(out, "\"history\""), "%s", out);
	cr_expect_not_null(strstr(out, "\"record\": \"gap\""), "%s", out);
	cr_expect_not_null(strstr(out, "\"kind\": \"stage2-abort\""), "%s", out);
	cr_expect_not_null(strstr(out, "\"count\": 3"), "%s", out);
	cr_expect_null(strstr(out, "vm=hb-restart"), "another VM's faults: %s", out);
	cr_assert_eq(HVCTL("audit", "verify"), 0, "the chain holds: %s%s", out, err);
	cr_assert_eq(agent_stop(&agent), 0);
}
