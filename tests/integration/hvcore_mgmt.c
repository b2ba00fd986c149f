/*
 * hvcore_mgmt.c - the management command set of docs/mgmt-abi.md against the
 * real hv-core under QEMU: DEFINE (with each refusal rule), LOAD_IMAGE (with
 * the digest check of REQ-SAF-12), START, SHUTDOWN (acknowledged, powered off,
 * timed out), DESTROY, REBOOT (carried out by the guest, or by hv-core at the
 * timeout), RESET, long refusals fitted into ret_msg (MGMT-121), SUSPEND, RESUME, UNDEFINE, GET_STATS,
 * READ_CONSOLE, READ_FAULT, SELFTEST_RESULT, the caps word and the state
 * machine (MGMT-045): every illegal command answers E_STATE and changes
 * nothing. Waits are bounded; nothing asserts a duration.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hvqemu.h"
#include "hvguest.h"
#include "hvcore_mgmt_util.h"

#define WAIT_S 30
#define STAGE_A 0x04000000ull /* staging offsets (MGMT-302: apart from every slot) */
#define STAGE_B 0x04800000ull

static struct hvq q;
static int rtos;

static void boot(void)
{
	struct hvq_opts o = HVQ_OPTS_DEFAULT;
	o.guests[0] = "rtos-demo";
	if (hvq_start(&q, &o) != 0)
		cr_assert_fail("%s", q.err);
	rtos = hvq_find_vm(&q, "rtos-demo");
	cr_assert_geq(rtos, 0);
	cr_assert_eq(mu_wait_heartbeat(&q, rtos, 0, WAIT_S), 0, "rtos-demo never beat: %s", q.err);
}

static void teardown(void)
{
	hvq_stop(&q);
}

static struct hvq_reply cmd(uint32_t c, int id, uint64_t a0, uint64_t a1, uint64_t a2)
{
	struct hvq_reply rep;
	uint64_t args[6] = { a0, a1, a2 };
	cr_assert_eq(hvq_command(&q, c, (uint32_t)id, args, &rep), 0, "%s", q.err);
	return rep;
}

static void expect(struct hvq_reply rep, uint32_t status, const char *what)
{
	cr_assert_eq(rep.status, status, "%s: status %u (want %u): '%s'", what, rep.status, status,
		     rep.msg);
}

static int define(const char *name, const char *guest, unsigned cpu, uint64_t pa, uint64_t stage)
{
	struct mu_vm v = { .name = name, .cpu = cpu, .mem_pa = pa };
	int id = mu_define_guest(&q, &v, guest, stage);
	cr_assert_geq(id, 0, "%s", q.err);
	return id;
}

TestSuite(hvcore_mgmt, .init = boot, .fini = teardown, .timeout = 180);

/* MGMT-021: caps has exactly the commands implemented: all of MGMT-020. */
Test(hvcore_mgmt, caps_word_advertises_every_command_and_only_those)
{
	uint64_t all = 0;
	for (uint32_t c = 0; c < HVM_CMD__COUNT; c++)
		if (hvm_cmd_name(c))
			all |= HVM_CAP(c);
	cr_assert_eq(q.regs->caps, all);
	expect(cmd(HVM_CMD__COUNT, 0, 0, 0, 0), HVM_E_UNKNOWN_CMD, "first unassigned code");
	struct hvq_reply r = cmd(HVM_CMD_GET_INFO, 0, 0, 0, 0);
	expect(r, HVM_OK, "GET_INFO");
	cr_assert_eq(r.ret[1], q.regs->caps);
}

/* MGMT-020 DEFINE/LOAD_IMAGE/START, MGMT-050: a VM defined from a vm-config
 * blob boots from the image hv-core checked and keeps. */
Test(hvcore_mgmt, define_load_image_and_start_a_vm)
{
	uint64_t ev0 = q.regs->ev_head;
	int id = define("ack", "shutdown-ack", 2, 0x50000000, STAGE_A);
	struct hvm_vm_slot s = mu_slot(&q, id);
	cr_assert_eq(s.defined, 1);
	cr_assert_eq(s.state, HVM_VM_SHUTOFF);
	cr_assert_eq(s.reason, HVM_R_DEFINED);
	cr_assert_str_eq(s.name, "ack");
	cr_assert_eq(s.pcpu_mask, 1u << 2);
	cr_assert_eq(s.fault_policy, 1, "stop");
	cr_assert_eq(mu_count_events(&q, HVM_EV_DEFINED, (uint32_t)id, ev0), 1);
	cr_assert_eq(q.regs->vm_count, 2);

	expect(cmd(HVM_CMD_START, id, 0, 0, 0), HVM_OK, "START");
	/* MGMT-713: BLOCKED while its boot goes on, then RUNNING (BOOTED) */
	uint32_t st0 = mu_slot(&q, id).state;
	cr_assert(st0 == HVM_VM_BLOCKED || st0 == HVM_VM_RUNNING, "state %u after START", st0);
	cr_assert_eq(mu_wait_state(&q, id, HVM_VM_RUNNING, HVM_R_BOOTED, WAIT_S), 0, "%s", q.err);
	cr_assert_eq(mu_count_events(&q, HVM_EV_STARTED, (uint32_t)id, ev0), 1);
	cr_assert_eq(mu_wait_heartbeat(&q, id, 2, WAIT_S), 0, "%s", q.err);
	cr_assert_eq(hvq_wait_console(&q, id, "shutdown-ack: hello from EL1", WAIT_S), 0, "%s",
		     q.err);
	struct hvq_reply r = cmd(HVM_CMD_LIST, 0, 0, 0, 0);
	cr_assert_eq(r.ret[0], (1ull << rtos) | (1ull << id));
}

/* REQ-SAF-09, MGMT-030, VMCFG-080..084: each refused DEFINE answers its own
 * status with the rule in ret_msg and changes nothing. */
Test(hvcore_mgmt, define_refusals_name_the_rule_and_change_nothing)
{
	uint64_t ev0 = q.regs->ev_head;
	uint32_t count0 = q.regs->vm_count;
	struct {
		struct mu_vm v;
		uint32_t status;
		const char *rule;
	} cases[] = {
		{ { .name = "overlap", .cpu = 2, .mem_pa = 0x49000000 }, HVM_E_OVERLAP, "VMCFG-082" },
		{ { .name = "in-hv", .cpu = 2, .mem_pa = 0x41000000 }, HVM_E_OVERLAP, "VMCFG-081" },
		{ { .name = "no-cpu", .cpu = 7, .mem_pa = 0x50000000 }, HVM_E_CPU, "VMCFG-083" },
		{ { .name = "cpu-zero", .cpu = 0, .mem_pa = 0x50000000 }, HVM_E_CPU, "VMCFG-083" },
		{ { .name = "safety-cpu", .cpu = 1, .mem_pa = 0x50000000 }, HVM_E_CPU, "VMCFG-084" },
		{ { .name = "rtos-demo", .cpu = 2, .mem_pa = 0x50000000 }, HVM_E_EXISTS, "VMCFG-080" },
		{ { .name = "self-chan",
		    .cpu = 2,
		    .mem_pa = 0x50000000,
		    .extra = "  c { compatible = \"avirt,channel-v1\"; channel-id = <0>; peer = \"self-chan\";"
			     " shm = <0x0 0x60000000 0x0 0x60000000 0x0 0x10000>; rights = \"read\"; };\n" },
		  HVM_E_CHANNEL,
		  "VMCFG-070" },
		{ { .name = "bad-policy", .cpu = 2, .mem_pa = 0x50000000, .policy = "reboot" },
		  HVM_E_BAD_CONFIG,
		  "VMCFG-023" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *dts = mu_vm_dts(&cases[i].v);
		size_t len;
		char err[512];
		void *blob = mu_dtc(dts, &len, err, sizeof(err));
		free(dts);
		cr_assert_not_null(blob, "%s", err);
		struct hvq_reply r;
		cr_assert_eq(mu_define_blob(&q, blob, len, &r), 0, "%s", q.err);
		free(blob);
		cr_expect_eq(r.status, cases[i].status, "%s: status %u (want %u): '%s'",
			     cases[i].v.name, r.status, cases[i].status, r.msg);
		cr_expect(strstr(r.msg, cases[i].rule), "%s: ret_msg '%s' does not name %s",
			  cases[i].v.name, r.msg, cases[i].rule);
	}
	/* CPU over-committed: two VMs on CPU 2 (hv-core runs one vCPU per CPU) */
	define("qm1", "shutdown-ack", 2, 0x50000000, STAGE_A);
	count0 = q.regs->vm_count;
	ev0 = q.regs->ev_head;
	struct mu_vm again = { .name = "qm2", .cpu = 2, .mem_pa = 0x52000000 };
	cr_assert_lt(mu_define_guest(&q, &again, "shutdown-ack", STAGE_B), 0);
	cr_assert(strstr(q.err, "status 6") && strstr(q.err, "MGMT-047") && strstr(q.err, "CPU 2"),
		  "over-committed CPU: %s", q.err);
	/* VMCFG-086: a channel end that does not match its defined peer's end */
	struct mu_vm a = {
		.name = "end-a",
		.cpu = 3,
		.mem_pa = 0x52000000,
		.extra = "  c { compatible = \"avirt,channel-v1\"; channel-id = <0>; peer = \"qm1\";"
			 " shm = <0x0 0x60000000 0x0 0x60000000 0x0 0x10000>; rights = \"read\"; };\n"
	};
	cr_assert_lt(mu_define_guest(&q, &a, "shutdown-ack", STAGE_B), 0);
	cr_assert(strstr(q.err, "status 7") && strstr(q.err, "VMCFG-086"), "channel: %s", q.err);
	count0 = q.regs->vm_count;
	ev0 = q.regs->ev_head;
	/* not a device tree at all, and bad data-area ranges */
	memcpy((void *)(q.mgmt + HVM_OFF_DATA), "this is not a device tree blob....", 34);
	expect(cmd(HVM_CMD_DEFINE, 0, 0, 34, 0), HVM_E_FDT, "garbage blob");
	expect(cmd(HVM_CMD_DEFINE, 0, HVM_DATA_SIZE - 8, 64, 0), HVM_E_BAD_ARG,
	       "blob past the data area");
	expect(cmd(HVM_CMD_DEFINE, 0, 0, 0, 0), HVM_E_BAD_ARG, "empty blob");
	expect(cmd(HVM_CMD_DEFINE, 0, 4, 64, 0), HVM_E_BAD_ARG, "unaligned blob");
	expect(cmd(HVM_CMD_DEFINE, 0, ~0ull, ~0ull, 0), HVM_E_BAD_ARG, "wrapping range");
	cr_assert_eq(q.regs->vm_count, count0, "a refused DEFINE defined nothing");
	cr_assert_eq(q.regs->ev_head, ev0, "a refused DEFINE appended no event");
	/* and a valid one still works afterwards */
	define("after", "shutdown-ack", 3, 0x54000000, STAGE_B);
}

/* MGMT-121: a refusal longer than ret_msg keeps its clause id in front, ends
 * with "..." and is terminated. A 31-character name (the longest, VMCFG-002)
 * in a fault-policy refusal (VMCFG-023) makes it longer than 63 bytes. (An
 * admission refusal, VMCFG-455, names the resource and its holder first and
 * fits: hvcore_admission.) */
Test(hvcore_mgmt, long_refusal_keeps_the_clause_id_and_fits_ret_msg)
{
	uint64_t ev0 = q.regs->ev_head;
	uint32_t count0 = q.regs->vm_count;
	const char *name = "a-vm-name-of-thirty-one-chars-x";
	cr_assert_eq(strlen(name), 31);
	struct mu_vm v = { .name = name, .cpu = 2, .mem_pa = 0x50000000, .policy = "reboot" };
	char *dts = mu_vm_dts(&v);
	size_t len;
	char err[512];
	void *blob = mu_dtc(dts, &len, err, sizeof(err));
	free(dts);
	cr_assert_not_null(blob, "%s", err);
	struct hvq_reply r;
	cr_assert_eq(mu_define_blob(&q, blob, len, &r), 0, "%s", q.err);
	free(blob);
	expect(r, HVM_E_BAD_CONFIG, "DEFINE with an unknown fault policy");
	const char *nul = memchr(r.msg, 0, sizeof(r.msg));
	cr_assert_not_null(nul, "ret_msg is not NUL-terminated");
	size_t n = (size_t)(nul - r.msg);
	cr_assert_leq(n, 63);
	cr_assert_eq(strncmp(r.msg, "VMCFG-023: ", 11), 0,
		     "ret_msg does not start with the rule: '%s'", r.msg);
	cr_assert_geq(n, 3);
	cr_assert_str_eq(r.msg + n - 3, "...", "a cut message ends with '...': '%s'", r.msg);
	cr_assert(strstr(r.msg, "a-vm-name"), "the text follows the rule: '%s'", r.msg);
	cr_assert_eq(q.regs->vm_count, count0, "a refused DEFINE defined nothing");
	cr_assert_eq(q.regs->ev_head, ev0, "a refused DEFINE appended no event");
	/* a short refusal is written as it is, without "..." */
	r = cmd(HVM_CMD_START, HVM_MAX_VMS + 5, 0, 0, 0);
	expect(r, HVM_E_BAD_VM, "START out of range");
	n = strlen(r.msg);
	cr_assert(n < 3 || strcmp(r.msg + n - 3, "..."), "'%s'", r.msg);
}

/* MGMT-045: illegal commands answer E_STATE and change nothing; a bad vm_id
 * answers E_BAD_VM. */
Test(hvcore_mgmt, state_machine_refuses_illegal_commands)
{
	int id = define("sm", "shutdown-ack", 2, 0x50000000, STAGE_A);
	uint64_t ev0 = q.regs->ev_head;
	/* SHUTOFF: only START, UNDEFINE, LOAD_IMAGE and the readers are legal */
	uint32_t off_illegal[] = { HVM_CMD_SHUTDOWN, HVM_CMD_DESTROY, HVM_CMD_REBOOT,
				   HVM_CMD_RESET,    HVM_CMD_SUSPEND, HVM_CMD_RESUME };
	for (size_t i = 0; i < sizeof(off_illegal) / sizeof(off_illegal[0]); i++) {
		struct hvq_reply r = cmd(off_illegal[i], id, 0, 0, 0);
		expect(r, HVM_E_STATE, "illegal in SHUTOFF");
		cr_assert(strstr(r.msg, "SHUTOFF"), "ret_msg names the state: '%s'", r.msg);
	}
	/* RUNNING: START, UNDEFINE, LOAD_IMAGE, RESUME are illegal */
	uint32_t run_illegal[] = { HVM_CMD_START, HVM_CMD_UNDEFINE, HVM_CMD_LOAD_IMAGE,
				   HVM_CMD_RESUME };
	for (size_t i = 0; i < sizeof(run_illegal) / sizeof(run_illegal[0]); i++)
		expect(cmd(run_illegal[i], rtos, STAGE_A, 16, 0), HVM_E_STATE, "illegal in RUNNING");
	cr_assert_eq(q.regs->ev_head, ev0, "no event from a refused command");
	cr_assert_eq(mu_slot(&q, id).state, HVM_VM_SHUTOFF);
	cr_assert_eq(mu_slot(&q, rtos).state, HVM_VM_RUNNING);
	/* no such VM */
	expect(cmd(HVM_CMD_START, HVM_MAX_VMS + 5, 0, 0, 0), HVM_E_BAD_VM, "id out of range");
	expect(cmd(HVM_CMD_GET_STATS, 9, 0, 0, 0), HVM_E_BAD_VM, "undefined id");
	expect(cmd(HVM_CMD_SHUTDOWN, rtos, 600001, 0, 0), HVM_E_BAD_ARG, "timeout too long");
	cr_assert_eq(mu_slot(&q, rtos).state, HVM_VM_RUNNING);
}

/* MGMT-045 SUSPEND/RESUME: a paused VM's vCPU does not run. */
Test(hvcore_mgmt, suspend_holds_the_vm_and_resume_lets_it_run)
{
	uint64_t ev0 = q.regs->ev_head;
	expect(cmd(HVM_CMD_SUSPEND, rtos, 0, 0, 0), HVM_OK, "SUSPEND");
	cr_assert_eq(mu_slot(&q, rtos).state, HVM_VM_PAUSED);
	cr_assert_eq(mu_slot(&q, rtos).reason, HVM_R_USER);
	cr_assert_eq(mu_count_events(&q, HVM_EV_SUSPENDED, (uint32_t)rtos, ev0), 1);
	cr_assert_eq(mu_wait_ticks(&q, 5), 0, "%s", q.err); /* a beat in flight lands */
	uint64_t hb = mu_slot(&q, rtos).heartbeat;
	cr_assert_eq(mu_wait_ticks(&q, 30), 0, "%s", q.err); /* rtos-demo beats every 50 ms */
	cr_assert_eq(mu_slot(&q, rtos).heartbeat, hb, "heartbeat advanced while paused");
	expect(cmd(HVM_CMD_SUSPEND, rtos, 0, 0, 0), HVM_E_STATE, "SUSPEND when PAUSED");
	expect(cmd(HVM_CMD_RESUME, rtos, 0, 0, 0), HVM_OK, "RESUME");
	cr_assert_eq(mu_slot(&q, rtos).state, HVM_VM_RUNNING);
	cr_assert_eq(mu_count_events(&q, HVM_EV_RESUMED, (uint32_t)rtos, ev0), 1);
	cr_assert_eq(mu_wait_heartbeat(&q, rtos, hb, WAIT_S), 0, "no heartbeat after RESUME: %s",
		     q.err);
}

/* MGMT-045 DESTROY, START, UNDEFINE. */
Test(hvcore_mgmt, destroy_start_and_undefine)
{
	uint64_t ev0 = q.regs->ev_head;
	expect(cmd(HVM_CMD_DESTROY, rtos, 0, 0, 0), HVM_OK, "DESTROY");
	struct hvm_vm_slot s = mu_slot(&q, rtos);
	cr_assert_eq(s.state, HVM_VM_SHUTOFF);
	cr_assert_eq(s.reason, HVM_R_DESTROYED);
	cr_assert_eq(mu_count_events(&q, HVM_EV_STOPPED, (uint32_t)rtos, ev0), 1);
	cr_assert_eq(mu_wait_ticks(&q, 10), 0, "%s", q.err);
	uint64_t hb = mu_slot(&q, rtos).heartbeat;
	cr_assert_eq(mu_wait_ticks(&q, 20), 0, "%s", q.err);
	cr_assert_eq(mu_slot(&q, rtos).heartbeat, hb, "a destroyed VM does not run");

	expect(cmd(HVM_CMD_START, rtos, 0, 0, 0), HVM_OK, "START after DESTROY");
	cr_assert_eq(hvq_wait_console(&q, rtos, "running, vm id", WAIT_S), 0, "%s", q.err);
	cr_assert_eq(mu_wait_heartbeat(&q, rtos, 1, WAIT_S), 0, "%s", q.err);
	cr_assert_eq(mu_count_events(&q, HVM_EV_STARTED, (uint32_t)rtos, ev0), 1);

	expect(cmd(HVM_CMD_DESTROY, rtos, 0, 0, 0), HVM_OK, "DESTROY");
	cr_assert_eq(mu_wait_ticks(&q, 5), 0, "%s", q.err);
	expect(cmd(HVM_CMD_UNDEFINE, rtos, 0, 0, 0), HVM_OK, "UNDEFINE");
	cr_assert_eq(mu_slot(&q, rtos).defined, 0);
	cr_assert_eq(mu_count_events(&q, HVM_EV_UNDEFINED, (uint32_t)rtos, ev0), 1);
	cr_assert_eq(cmd(HVM_CMD_LIST, 0, 0, 0, 0).ret[0], 0);
	expect(cmd(HVM_CMD_START, rtos, 0, 0, 0), HVM_E_BAD_VM, "START after UNDEFINE");
	/* its CPU and memory are free again */
	struct mu_vm v = { .name = "reuse", .cpu = 1, .mem_pa = 0x49000000, .criticality = "ASIL-B" };
	cr_assert_geq(mu_define_guest(&q, &v, "shutdown-ack", STAGE_A), 0, "%s", q.err);
}

/* REQ-SAF-21, MGMT-045 SHUTDOWN: the guest acknowledges and says READY_FOR_OFF. */
Test(hvcore_mgmt, shutdown_acknowledged_by_the_guest)
{
	int id = define("ack", "shutdown-ack", 2, 0x50000000, STAGE_A);
	expect(cmd(HVM_CMD_START, id, 0, 0, 0), HVM_OK, "START");
	cr_assert_eq(mu_wait_heartbeat(&q, id, 1, WAIT_S), 0, "%s", q.err);
	uint64_t ev0 = q.regs->ev_head;
	expect(cmd(HVM_CMD_SHUTDOWN, id, 30000, 0, 0), HVM_OK, "SHUTDOWN");
	cr_assert_eq(mu_count_events(&q, HVM_EV_SHUTDOWN, (uint32_t)id, ev0), 1);
	cr_assert_eq(mu_wait_state(&q, id, HVM_VM_SHUTOFF, HVM_R_SHUTDOWN, WAIT_S), 0, "%s", q.err);
	cr_assert_eq(hvq_wait_console(&q, id, "ready for off", WAIT_S), 0, "%s", q.err);
	cr_assert_eq(mu_count_events(&q, HVM_EV_STOPPED, (uint32_t)id, ev0), 1);
}

/* SHUTDOWN answered by PSCI SYSTEM_OFF. */
Test(hvcore_mgmt, shutdown_answered_by_power_off)
{
	int id = define("off", "shutdown-off", 2, 0x50000000, STAGE_A);
	expect(cmd(HVM_CMD_START, id, 0, 0, 0), HVM_OK, "START");
	cr_assert_eq(mu_wait_heartbeat(&q, id, 1, WAIT_S), 0, "%s", q.err);
	expect(cmd(HVM_CMD_SHUTDOWN, id, 0, 0, 0), HVM_OK, "SHUTDOWN, default timeout");
	cr_assert_eq(mu_wait_state(&q, id, HVM_VM_SHUTOFF, HVM_R_SHUTDOWN, WAIT_S), 0, "%s", q.err);
	cr_assert_eq(hvq_wait_console(&q, id, "powering off", WAIT_S), 0, "%s", q.err);
}

/* SHUTDOWN ignored by the guest: at the timeout the VM is destroyed. */
Test(hvcore_mgmt, shutdown_timeout_destroys_the_vm)
{
	expect(cmd(HVM_CMD_SHUTDOWN, rtos, 100, 0, 0), HVM_OK, "SHUTDOWN");
	cr_assert_eq(mu_slot(&q, rtos).state, HVM_VM_SHUTDOWN);
	expect(cmd(HVM_CMD_SUSPEND, rtos, 0, 0, 0), HVM_E_STATE, "SUSPEND while shutting down");
	cr_assert_eq(mu_wait_state(&q, rtos, HVM_VM_SHUTOFF, HVM_R_DESTROYED, WAIT_S), 0, "%s",
		     q.err);
}

static int fresh_heartbeat(struct hvq *h, void *arg)
{
	struct hvm_vm_slot s;
	return hvq_read_slot(h, (uint32_t) * (int *)arg, &s) == 0 && s.heartbeat > 0 &&
	       s.heartbeat < 10;
}

/* Counts STARTED events of vm with the given reason from event number from. */
static int count_started(uint32_t vm, uint32_t reason, uint64_t from)
{
	int n = 0;
	for (uint64_t s = from; s < q.regs->ev_head; s++) {
		struct hvm_event e;
		if (hvq_read_event(&q, s, &e) == 0 && e.type == HVM_EV_STARTED && e.vm_id == vm &&
		    e.reason == reason)
			n++;
	}
	return n;
}

/* MGMT-044, GABI-025: REBOOT asks the guest; shutdown-ack answers with PSCI
 * SYSTEM_RESET and boots again: RUNNING (REBOOTED), one STARTED (REBOOTED).
 * The longest timeout, so the reboot seen is the guest's, not the fallback. */
Test(hvcore_mgmt, reboot_acknowledged_by_the_guest_restarts_it)
{
	int id = define("rb", "shutdown-ack", 2, 0x50000000, STAGE_A);
	expect(cmd(HVM_CMD_START, id, 0, 0, 0), HVM_OK, "START");
	cr_assert_eq(mu_wait_heartbeat(&q, id, 20, WAIT_S), 0, "%s", q.err);
	uint64_t ev0 = q.regs->ev_head;
	expect(cmd(HVM_CMD_REBOOT, id, 600000, 0, 0), HVM_OK, "REBOOT");
	cr_assert_eq(mu_wait_state(&q, id, HVM_VM_RUNNING, HVM_R_REBOOTED, WAIT_S), 0, "%s", q.err);
	cr_assert_eq(hvq_wait_console(&q, id, "reboot requested, restarting", WAIT_S), 0, "%s",
		     q.err);
	cr_assert_eq(hvq_wait(&q, fresh_heartbeat, &id, WAIT_S), 0,
		     "heartbeat did not start again: %s", q.err);
	cr_assert_eq(count_started((uint32_t)id, HVM_R_REBOOTED, ev0), 1, "one STARTED (REBOOTED)");
	cr_assert_eq(mu_count_events(&q, HVM_EV_STOPPED, (uint32_t)id, ev0), 0, "never stopped");
	cr_assert_eq(mu_slot(&q, rtos).state, HVM_VM_RUNNING, "other VMs are not affected");
}

/* MGMT-044: a guest that ignores the request (rtos-demo has no handler for it)
 * is reset by hv-core at the timeout. Until then it runs on untouched; a
 * second REBOOT asks again with its own timeout. */
Test(hvcore_mgmt, reboot_ignored_by_the_guest_resets_it_at_the_timeout)
{
	cr_assert_eq(mu_wait_heartbeat(&q, rtos, 10, WAIT_S), 0, "%s", q.err);
	uint64_t ev0 = q.regs->ev_head;
	expect(cmd(HVM_CMD_REBOOT, rtos, 600001, 0, 0), HVM_E_BAD_ARG, "timeout too long");
	expect(cmd(HVM_CMD_REBOOT, rtos, 600000, 0, 0), HVM_OK, "REBOOT, 10 min to answer");
	struct hvm_vm_slot s = mu_slot(&q, rtos);
	cr_assert_eq(s.state, HVM_VM_RUNNING);
	cr_assert_eq(s.reason, HVM_R_BOOTED, "nothing happens before the guest or the timeout");
	cr_assert_eq(mu_count_events(&q, HVM_EV_STARTED, (uint32_t)rtos, ev0), 0);
	cr_assert_eq(mu_wait_heartbeat(&q, rtos, s.heartbeat + 2, WAIT_S), 0, "it runs on: %s",
		     q.err);
	expect(cmd(HVM_CMD_REBOOT, rtos, 100, 0, 0), HVM_OK, "REBOOT, 100 ms to answer");
	cr_assert_eq(mu_wait_state(&q, rtos, HVM_VM_RUNNING, HVM_R_REBOOTED, WAIT_S), 0, "%s", q.err);
	cr_assert_eq(hvq_wait(&q, fresh_heartbeat, &rtos, WAIT_S), 0,
		     "heartbeat did not start again: %s", q.err);
	cr_assert_eq(count_started((uint32_t)rtos, HVM_R_REBOOTED, ev0), 1, "one STARTED (REBOOTED)");
	cr_assert_eq(mu_count_events(&q, HVM_EV_STOPPED, (uint32_t)rtos, ev0), 0, "never stopped");
}

/* MGMT-045 RESET: the immediate hard reset, also from PAUSED. */
Test(hvcore_mgmt, reset_boots_again_from_the_image_at_once)
{
	cr_assert_eq(mu_wait_heartbeat(&q, rtos, 10, WAIT_S), 0, "%s", q.err);
	expect(cmd(HVM_CMD_SUSPEND, rtos, 0, 0, 0), HVM_OK, "SUSPEND");
	expect(cmd(HVM_CMD_REBOOT, rtos, 0, 0, 0), HVM_E_STATE, "REBOOT when PAUSED");
	uint64_t ev0 = q.regs->ev_head;
	expect(cmd(HVM_CMD_RESET, rtos, 0, 0, 0), HVM_OK, "RESET when PAUSED");
	/* MGMT-713: answered at once, BLOCKED (RESET) while its boot goes on */
	struct hvm_vm_slot s = mu_slot(&q, rtos);
	cr_assert(s.state == HVM_VM_BLOCKED || s.state == HVM_VM_RUNNING, "state %u", s.state);
	cr_assert_eq(s.reason, HVM_R_RESET);
	cr_assert_eq(mu_wait_state(&q, rtos, HVM_VM_RUNNING, HVM_R_RESET, WAIT_S), 0, "%s", q.err);
	cr_assert_eq(count_started((uint32_t)rtos, HVM_R_RESET, ev0), 1, "one STARTED (RESET)");
	cr_assert_eq(hvq_wait(&q, fresh_heartbeat, &rtos, WAIT_S), 0,
		     "heartbeat did not start again: %s", q.err);
}

/* MGMT-180 GET_STATS: the documented record. */
Test(hvcore_mgmt, get_stats_returns_the_documented_record)
{
	cr_assert_eq(mu_wait_heartbeat(&q, rtos, 3, WAIT_S), 0, "%s", q.err);
	struct hvq_reply r = cmd(HVM_CMD_GET_STATS, rtos, 0, 0, 0);
	expect(r, HVM_OK, "GET_STATS");
	cr_assert_eq(r.ret[0], sizeof(struct hvm_stats));
	struct hvm_stats st;
	memcpy(&st, (const void *)(q.mgmt + HVM_OFF_DATA), sizeof(st));
	cr_assert_eq(st.magic, HVM_STATS_MAGIC);
	cr_assert_eq(st.version, HVM_STATS_VERSION);
	cr_assert_eq(st.size, sizeof(st));
	cr_assert_eq(st.vm_id, (uint32_t)rtos);
	cr_assert_eq(st.state, HVM_VM_RUNNING);
	cr_assert_gt(st.cpu_time_ns, 0);
	cr_assert_gt(st.exits, 0);
	cr_assert_gt(st.exits_by_class[HVM_EXIT_HVC], 0, "hypercalls at boot");
	cr_assert_gt(st.exits_by_class[HVM_EXIT_DABT], 0, "UART accesses");
	cr_assert_gt(st.exits_by_class[HVM_EXIT_WFX], 0, "sleeps");
	cr_assert_eq(st.faults, 0);
	cr_assert_eq(st.restarts, 0);
	cr_assert_geq(st.heartbeat, 3);
}

/* MGMT-180, MGMT-150, GABI-041: irqs_injected counts every virtual interrupt
 * put in a list register: rtos-demo runs from its 10 ms virtual timer and beats once
 * per 5 ticks, so 3 more heartbeats mean at least 10 more timer interrupts. */
Test(hvcore_mgmt, irqs_injected_counts_the_virtual_timer)
{
	struct hvm_vm_slot s0 = mu_slot(&q, rtos);
	cr_assert_eq(mu_wait_heartbeat(&q, rtos, s0.heartbeat + 3, WAIT_S), 0, "%s", q.err);
	struct hvm_vm_slot s1 = mu_slot(&q, rtos);
	cr_assert_geq(s1.irqs_injected, s0.irqs_injected + 10, "slot irqs_injected %llu -> %llu",
		      (unsigned long long)s0.irqs_injected, (unsigned long long)s1.irqs_injected);
	struct hvq_reply r = cmd(HVM_CMD_GET_STATS, rtos, 0, 0, 0);
	expect(r, HVM_OK, "GET_STATS");
	struct hvm_stats st;
	memcpy(&st, (const void *)(q.mgmt + HVM_OFF_DATA), sizeof(st));
	cr_assert_geq(st.irqs_injected, s1.irqs_injected);
	cr_assert_geq(st.irqs_injected, 5 * st.heartbeat,
		      "one timer interrupt per tick, 5 ticks a beat");
}

/* MGMT-101: DEFINE takes pages of hv-core's page heap (stage-2 tables) and
 * UNDEFINE gives every one back: 200 cycles end where they started. The
 * first cycle in a never-used slot keeps that slot's cooperation page (one
 * page per slot, reused), so the baseline is taken after it. */
Test(hvcore_mgmt, define_undefine_cycles_give_back_every_page, .timeout = 900)
{
	struct mu_vm v = { .name = "cycler", .cpu = 2, .mem_pa = 0x50000000 };
	char *dts = mu_vm_dts(&v);
	char err[256];
	size_t len;
	void *blob = mu_dtc(dts, &len, err, sizeof(err));
	free(dts);
	cr_assert_not_null(blob, "%s", err);
	uint64_t baseline = 0, total = cmd(HVM_CMD_GET_INFO, 0, 0, 0, 0).ret[4];
	cr_assert_gt(total, 0, "MGMT-101: GET_INFO ret[4] is the page heap's size");
	for (int i = 0; i <= 200; i++) {
		struct hvq_reply r;
		cr_assert_eq(mu_define_blob(&q, blob, len, &r), 0, "%s", q.err);
		expect(r, HVM_OK, "DEFINE");
		uint32_t id = (uint32_t)r.ret[0];
		struct hvq_reply info = cmd(HVM_CMD_GET_INFO, 0, 0, 0, 0);
		if (i > 0)
			cr_assert_lt(info.ret[3], baseline, "cycle %d: DEFINE took table pages", i);
		expect(cmd(HVM_CMD_UNDEFINE, (int)id, 0, 0, 0), HVM_OK, "UNDEFINE");
		info = cmd(HVM_CMD_GET_INFO, 0, 0, 0, 0);
		cr_assert_eq(info.ret[4], total);
		cr_assert_leq(info.ret[3], total);
		if (i == 0)
			baseline = info.ret[3];
		else
			cr_assert_eq(info.ret[3], baseline,
				     "cycle %d: %llu pages free, %llu at the start", i,
				     (unsigned long long)info.ret[3], (unsigned long long)baseline);
	}
	free(blob);
	cr_assert_eq(mu_slot(&q, rtos).state, HVM_VM_RUNNING);
}

/* REQ-SAF-12, MGMT-048: LOAD_IMAGE checks the digest; a mismatch changes nothing. */
Test(hvcore_mgmt, load_image_refuses_a_wrong_digest_and_keeps_the_old_image)
{
	int id = define("img", "shutdown-ack", 2, 0x50000000, STAGE_A);
	struct mu_vm tmp;
	uint64_t size;
	cr_assert_eq(mu_stage(&q, "shutdown-ack", STAGE_B, &size, tmp.sha256), 0, "%s", q.err);
	uint8_t *staged = hvq_pa(&q, q.regs->staging_base + STAGE_B, size);
	staged[100] ^= 0x40; /* one flipped bit */
	/* the VM's store slot: find it by content, it holds the good image */
	uint8_t *good = hvq_pa(&q, q.regs->staging_base + STAGE_A, size);
	uint8_t *slot = NULL;
	for (uint64_t pa = 0x42000000; pa < 0x48000000 && !slot; pa += 0x200000) {
		uint8_t *p = hvq_pa(&q, pa, size);
		if (pa != q.regs->staging_base + STAGE_A && memcmp(p, good, size) == 0)
			slot = p;
	}
	cr_assert_not_null(slot, "image not found in the store");
	uint64_t ev0 = q.regs->ev_head;
	struct hvq_reply r = cmd(HVM_CMD_LOAD_IMAGE, id, STAGE_B, size, 0);
	expect(r, HVM_E_HASH, "corrupted image");
	cr_assert(strstr(r.msg, "SHA-256"), "'%s'", r.msg);
	cr_assert_eq(memcmp(slot, good, size), 0, "the stored image changed");
	expect(cmd(HVM_CMD_LOAD_IMAGE, id, STAGE_A, size - 1, 0), HVM_E_BAD_ARG, "short image");
	expect(cmd(HVM_CMD_LOAD_IMAGE, id, q.regs->staging_size - 16, 32, 0), HVM_E_BAD_ARG,
	       "past staging");
	expect(cmd(HVM_CMD_LOAD_IMAGE, id, STAGE_A, size, 1), HVM_E_BAD_ARG, "image index 1");
	cr_assert_eq(q.regs->ev_head, ev0);
	/* and the good image still boots */
	expect(cmd(HVM_CMD_START, id, 0, 0, 0), HVM_OK, "START");
	cr_assert_eq(mu_wait_heartbeat(&q, id, 1, WAIT_S), 0, "%s", q.err);
}

/* REQ-SAF-09, MGMT-048: staging_base/staging_size in the register page only
 * publish the staging area. A client that overwrites them must not make
 * LOAD_IMAGE read anywhere else: an offset past the real area is refused, an
 * offset inside it still reads the real area. */
Test(hvcore_mgmt, load_image_ignores_staging_fields_a_client_overwrote)
{
	int id = define("stg", "shutdown-ack", 2, 0x50000000, STAGE_A);
	uint64_t size;
	struct mu_vm tmp;
	cr_assert_eq(mu_stage(&q, "shutdown-ack", STAGE_A, &size, tmp.sha256), 0, "%s", q.err);
	uint64_t base = q.regs->staging_base, len = q.regs->staging_size;
	q.regs->staging_base = 0;
	q.regs->staging_size = ~0ull;
	struct hvq_reply far = cmd(HVM_CMD_LOAD_IMAGE, id, 1ull << 40, size, 0);
	struct hvq_reply good = cmd(HVM_CMD_LOAD_IMAGE, id, STAGE_A, size, 0);
	q.regs->staging_base = base;
	q.regs->staging_size = len;
	expect(far, HVM_E_BAD_ARG, "offset 2^40 with staging_size overwritten");
	expect(good, HVM_OK, "the real staging area with staging_base overwritten");
	expect(cmd(HVM_CMD_START, id, 0, 0, 0), HVM_OK, "START");
	cr_assert_eq(mu_wait_heartbeat(&q, id, 1, WAIT_S), 0, "%s", q.err);
	cr_assert_eq(mu_slot(&q, rtos).state, HVM_VM_RUNNING);
}

/* MGMT-049 READ_CONSOLE, MGMT-160 READ_FAULT, MGMT-190 SELFTEST_RESULT. */
Test(hvcore_mgmt, readers_console_fault_and_selftest)
{
	cr_assert_eq(hvq_wait_console(&q, rtos, "hello from EL1", WAIT_S), 0, "%s", q.err);
	struct hvq_reply r = cmd(HVM_CMD_READ_CONSOLE, rtos, 0, 0, 0);
	expect(r, HVM_OK, "READ_CONSOLE");
	cr_assert_gt(r.ret[0], 0);
	cr_assert_eq(r.ret[1], r.ret[0], "next position");
	cr_assert_eq(r.ret[2], 0, "nothing lost");
	char text[256];
	size_t n = r.ret[0] < sizeof(text) - 1 ? r.ret[0] : sizeof(text) - 1;
	memcpy(text, (const void *)(q.mgmt + HVM_OFF_DATA), n);
	text[n] = 0;
	cr_assert(strstr(text, "rtos-demo: hello from EL1"), "'%s'", text);
	r = cmd(HVM_CMD_READ_CONSOLE, rtos, 7, 0, 0);
	expect(r, HVM_OK, "READ_CONSOLE from 7");
	cr_assert_eq(r.ret[1], 7 + r.ret[0]);
	expect(cmd(HVM_CMD_READ_CONSOLE, rtos, 1ull << 40, 0, 0), HVM_E_BAD_ARG, "beyond head");

	r = cmd(HVM_CMD_READ_FAULT, rtos, 0, 0, 0);
	expect(r, HVM_OK, "READ_FAULT");
	cr_assert_eq(r.ret[0], sizeof(struct hvm_fault));
	cr_assert_eq(r.ret[1], HVM_F_NONE, "no fault yet");

	r = cmd(HVM_CMD_SELFTEST_RESULT, 0, 0, 0, 0);
	expect(r, HVM_OK, "SELFTEST_RESULT");
	cr_assert_eq(r.ret[0], 0, "no check failed");
	cr_assert_eq(r.ret[0], q.regs->selftest_failed);
	cr_assert_gt(r.ret[1], 0, "checks ran");
	cr_assert_eq(q.regs->hv_state, HVM_HV_READY);
}
