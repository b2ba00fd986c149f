/*
 * agent_blkback_qemu.c - hv-agent runs the backend of a VM's virtio-blk
 * device through the real stack (docs/mgmt-abi.md MGMT-865..867, MGMT-863,
 * REQ-AVP-01): the real hv-core under QEMU, the bare-metal guest blk-test
 * (hv-core/guests/blk-test) with a boot counter on its disk and 200 writes
 * and reads per boot, the real hv-agent and hvctl. Nobody but hv-agent starts
 * hv-blkback here.
 *   - hvctl start: hv-agent starts the backend on STATE/disks/blk.disk; the
 *     guest counts boots=1 and its I/O completes;
 *   - the backend SIGKILLed during the guest's I/O: hv-agent restarts it and
 *     the guest's I/O completes; dominfo --json shows the new pid and the
 *     restart;
 *   - hv-agent SIGKILLed: the backend keeps serving; the VM destroyed and
 *     started again (by the test, the command block's one client now) counts
 *     boots=2 on the same disk, served by the same backend process;
 *   - a new hv-agent adopts that process (dominfo: "adopted", same pid);
 *   - hvctl destroy and undefine: hv-agent stops the backend; the disk stays.
 * Waits are bounded; nothing asserts a duration.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent_harness.h"
#include "hvcore_mgmt_util.h"
#include "hvqemu.h"

#define WAIT_S 300
#define STAGE_A 0x04000000ull

static struct hvq q;
static struct agent_proc agent;
static char uri[320];
static char *out, *err;
static int vm = -1;

static volatile struct hvm_blk_ring *ring(void)
{
	return (volatile struct hvm_blk_ring *)(q.mgmt + HVM_OFF_BLK + (size_t)vm * 0x1000u);
}

static pid_t pidfile_pid(void)
{
	char path[320];
	snprintf(path, sizeof path, "%s/blkback/vm%d.pid", q.dir, vm);
	char *t = read_file_text(path);
	pid_t p = t ? (pid_t)atoi(t) : 0;
	free(t);
	return p;
}

static void setup(void)
{
	struct hvq_opts o = HVQ_OPTS_DEFAULT;
	out = err = NULL;
	memset(&agent, 0, sizeof agent);
	o.guests[0] = "rtos-demo";
	cr_assert_eq(hvq_start(&q, &o), 0, "%s", q.err);
}

static void teardown(void)
{
	pid_t b = vm >= 0 ? pidfile_pid() : 0;
	agent_stop(&agent);
	if (b > 1) /* backends outlive hv-agent by design: end the test's */
		kill(b, SIGKILL);
	hvq_stop(&q);
	free(out);
	free(err);
	out = err = NULL;
}

TestSuite(agent_blkback_qemu, .init = setup, .fini = teardown, .timeout = 1200);

static int hvctl_run(const char *const *args)
{
	free(out);
	free(err);
	out = err = NULL;
	return run_hvctl(args, &out, &err);
}
#define HVCTL(...) hvctl_run((const char *const[]){ "--connect", uri, __VA_ARGS__, NULL })

static void console_shows(const char *text)
{
	if (hvq_wait_console(&q, vm, text, WAIT_S) != 0) {
		char buf[HVM_CONSOLE_SIZE + 1];
		hvq_read_console(&q, (uint32_t)vm, buf, sizeof(buf));
		char *log = read_file_text(agent.log);
		cr_assert_fail("console never showed '%s' (%s); it holds:\n%s\nhv-agent's log:\n%s",
			       text, q.err, buf, log ? log : "");
	}
}

static void command(uint32_t cmd)
{
	struct hvq_reply rep;
	uint64_t args[6] = { 0 };
	cr_assert_eq(hvq_command(&q, cmd, (uint32_t)vm, args, &rep), 0, "%s", q.err);
	cr_assert_eq(rep.status, HVM_OK, "%s: %s", hvm_cmd_name(cmd), rep.msg);
}

/* pid runs and is no zombie */
static int alive(pid_t p)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)p);
	char *st = read_file_text(path);
	int ok = st && !strstr(st, ") Z ") && !strstr(st, ") X ");
	free(st);
	return ok;
}

/* dominfo --json: the blk device's backend object. */
static json_t *backend_json(json_t **root)
{
	cr_assert_eq(HVCTL("dominfo", "blk", "--json"), 0, "%s\n%s", out, err);
	json_error_t je;
	*root = json_loads(out, 0, &je);
	cr_assert_not_null(*root, "%s: %s", je.text, out);
	json_t *devs = json_object_get(*root, "virtio_devices");
	cr_assert_eq(json_array_size(devs), 1, "%s", out);
	json_t *b = json_object_get(json_array_get(devs, 0), "backend");
	cr_assert_not_null(b, "no backend in %s", out);
	return b;
}

Test(agent_blkback_qemu, agent_restarts_a_killed_backend_and_a_killed_agent_leaves_it_serving)
{
	static char extra[512];
	snprintf(extra, sizeof extra,
		 "  disk { compatible = \"virtio,mmio\"; device = \"blk\";"
		 " window = <0x0 0x0a000000>; spi = <16>; disk-size = <0x0 0x100000>; };\n");
	struct mu_vm v = {
		.name = "blk", .cpu = 2, .mem_pa = 0x50000000, .policy = "stop", .extra = extra
	};
	vm = mu_define_guest(&q, &v, "blk-test", STAGE_A);
	cr_assert_geq(vm, 0, "%s", q.err);

	static const char *const args[] = { "--cmd-timeout-ms",       "120000",
					    "--no-metrics",           "--blkback",
					    HV_BIN_DIR "/hv-blkback", NULL };
	cr_assert_eq(agent_start(&agent, q.dir, args), 0, "%s", agent.err);
	snprintf(uri, sizeof uri, "unix://%s", agent.sock);
	cr_assert_eq(HVCTL("start", "blk"), 0, "%s\n%s", out, err);

	/* hv-agent started the backend: the disk counts the first boot */
	console_shows("blk-test: boots=1\n");
	console_shows("blk-test: boot 1 io 20\n");
	pid_t first = (pid_t)ring()->backend_pid;
	cr_assert_gt(first, 1);
	cr_expect_eq(pidfile_pid(), first);
	kill(first, SIGKILL);
	console_shows("blk-test: boot 1 io done 200 ok");
	pid_t second = (pid_t)ring()->backend_pid;
	cr_expect_neq(second, first);

	json_t *root;
	json_t *b = backend_json(&root);
	cr_expect_str_eq(json_string_value(json_object_get(b, "state")), "running", "%s", out);
	cr_expect_eq(json_integer_value(json_object_get(b, "pid")), second, "%s", out);
	cr_expect_geq(json_integer_value(json_object_get(b, "restarts")), 1, "%s", out);
	cr_expect(strstr(json_string_value(json_object_get(b, "last_exit")), "signal 9"), "%s", out);
	cr_expect(strstr(json_string_value(json_object_get(b, "disk")), "/disks/blk.disk"), "%s",
		  out);
	json_decref(root);
	cr_assert_eq(HVCTL("dominfo", "blk"), 0, "%s\n%s", out, err);
	cr_expect(strstr(out, "backend running"), "%s", out);

	/* hv-agent dies: the backend keeps serving the next boot */
	kill(agent.pid, SIGKILL);
	cr_expect_eq(agent_stop(&agent), 128 + SIGKILL);
	command(HVM_CMD_DESTROY);
	command(HVM_CMD_START);
	console_shows("blk-test: boots=2\n");
	console_shows("blk-test: boot 2 io done 200 ok");
	cr_expect_eq((pid_t)ring()->backend_pid, second);
	cr_expect_eq(kill(second, 0), 0);
	struct hvm_vm_slot s;
	cr_assert_eq(hvq_read_slot(&q, (uint32_t)vm, &s), 0, "%s", q.err);
	cr_expect_eq(s.fault_count, 0);

	/* a new hv-agent adopts the running backend (MGMT-867) */
	unlink(agent.sock); /* the killed agent's sockets: agent_start waits for new ones */
	unlink(agent.ro_sock);
	cr_assert_eq(agent_start(&agent, q.dir, args), 0, "%s", agent.err);
	for (int i = 0; i < 600; i++) {
		char *log = read_file_text(agent.log);
		int seen = log && strstr(log, "adopted hv-blkback");
		free(log);
		if (seen)
			break;
		usleep(100000);
	}
	b = backend_json(&root);
	cr_expect_str_eq(json_string_value(json_object_get(b, "state")), "adopted", "%s", out);
	cr_expect_eq(json_integer_value(json_object_get(b, "pid")), second, "%s", out);
	json_decref(root);

	/* undefined: hv-agent stops the backend; the disk stays */
	cr_assert_eq(HVCTL("destroy", "blk"), 0, "%s\n%s", out, err);
	cr_assert_eq(HVCTL("undefine", "blk"), 0, "%s\n%s", out, err);
	for (int i = 0; i < 600 && alive(second); i++)
		usleep(100000);
	cr_expect(!alive(second), "the backend of the undefined VM still runs");
	char path[320];
	snprintf(path, sizeof path, "%s/blkback/vm%d.pid", q.dir, vm);
	for (int i = 0; i < 100 && access(path, F_OK) == 0; i++)
		usleep(100000);
	cr_expect_eq(access(path, F_OK), -1, "%s stays", path);
	snprintf(path, sizeof path, "%s/disks/blk.disk", q.dir);
	cr_expect_eq(access(path, F_OK), 0, "the data disk stays");
}

/* MGMT-866 with hv-core under QEMU: a "backend" that fails at once, every
 * time, is given up after six deaths in a row with an alarm and a FAILED audit
 * row; the guest's request waits (it is hv-core's, MGMT-863) and rtos-demo,
 * another VM, keeps its heartbeat. */
Test(agent_blkback_qemu, a_backend_that_keeps_failing_is_given_up_and_no_other_vm_notices)
{
	static char extra[512], prog[320];
	snprintf(extra, sizeof extra,
		 "  disk { compatible = \"virtio,mmio\"; device = \"blk\";"
		 " window = <0x0 0x0a000000>; spi = <16>; disk-size = <0x0 0x100000>; };\n");
	struct mu_vm v = {
		.name = "blk", .cpu = 2, .mem_pa = 0x50000000, .policy = "stop", .extra = extra
	};
	vm = mu_define_guest(&q, &v, "blk-test", STAGE_A);
	cr_assert_geq(vm, 0, "%s", q.err);
	snprintf(prog, sizeof prog, "%s/failing-blkback", q.dir);
	FILE *f = fopen(prog, "w");
	cr_assert_not_null(f);
	fprintf(f, "#!/bin/sh\necho 'cannot serve' >&2\nexit 3\n");
	fclose(f);
	cr_assert_eq(chmod(prog, 0700), 0);
	const char *const args[] = { "--cmd-timeout-ms", "120000", "--no-metrics",
				     "--blkback",        prog,     NULL };
	cr_assert_eq(agent_start(&agent, q.dir, args), 0, "%s", agent.err);
	snprintf(uri, sizeof uri, "unix://%s", agent.sock);
	struct hvm_vm_slot demo0;
	int demo = hvq_find_vm(&q, "rtos-demo");
	cr_assert_geq(demo, 0, "%s", q.err);
	cr_assert_eq(hvq_read_slot(&q, (uint32_t)demo, &demo0), 0, "%s", q.err);
	cr_assert_eq(HVCTL("start", "blk"), 0, "%s\n%s", out, err);

	int seen = 0;
	for (int i = 0; i < WAIT_S * 10 && !seen; i++) {
		char *log = read_file_text(agent.log);
		seen = log && strstr(log, "ALARM: hv-blkback of VM 'blk'");
		free(log);
		if (!seen)
			usleep(100000);
	}
	char *log = read_file_text(agent.log);
	cr_assert(seen, "no alarm after repeated backend deaths:\n%s", log ? log : "");
	cr_expect(log && strstr(log, "exited with status 3"), "%s", log ? log : "");
	free(log);
	json_t *root;
	json_t *b = backend_json(&root);
	cr_expect_str_eq(json_string_value(json_object_get(b, "state")), "failed", "%s", out);
	json_decref(root);
	cr_assert_eq(HVCTL("audit"), 0, "%s\n%s", out, err);
	cr_expect(strstr(out, "FAILED"), "%s", out);

	/* the guest's first request waits: no request finished, no fault */
	cr_expect_eq(ring()->done, 0u);
	struct hvm_vm_slot s, demo1;
	cr_assert_eq(hvq_read_slot(&q, (uint32_t)vm, &s), 0, "%s", q.err);
	cr_expect_eq(s.fault_count, 0);
	cr_assert_eq(hvq_read_slot(&q, (uint32_t)demo, &demo1), 0, "%s", q.err);
	cr_expect_eq(demo1.state, HVM_VM_RUNNING);
	cr_expect_gt(demo1.heartbeat, demo0.heartbeat, "rtos-demo's heartbeat stood still");
	/* every "backend" has ended: no pid for the teardown to signal */
	char path[320];
	snprintf(path, sizeof path, "%s/blkback/vm%d.pid", q.dir, vm);
	unlink(path);
}
