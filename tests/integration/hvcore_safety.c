/*
 * hvcore_safety.c - the vehicle state and the safety policy against the real
 * hv-core under QEMU (docs/vm-config.md VMCFG-400..411, docs/mgmt-abi.md
 * MGMT-400..405, docs/guest-abi.md GABI-400). Every command here is written
 * straight into the management register block, bypassing hv-agent.
 *
 *  - the matrix: every (vehicle state, operation, criticality) cell of the
 *    default policy, sent as the real command, checked against an expected
 *    table written here from the prose of VMCFG-411 (not from hv-core's rules),
 *    and the same cell asked by CHECK_POLICY and read from GET_POLICY;
 *  - a running ASIL VM is refused every disruptive command while `driving`,
 *    a QM VM is not, and `parked` allows it again;
 *  - a guest source: the state follows the source VM's cooperation page, goes
 *    `unknown` when it is not refreshed, and SET_VEHICLE_STATE is refused.
 * Waits are bounded; nothing asserts a duration.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hvqemu.h"
#include "hvguest.h"
#include "hvcore_mgmt_util.h"

#define WAIT_S 30
#define STAGE_A 0x04000000ull

static struct hvq q;

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

/* ---- the expected table, from docs/vm-config.md VMCFG-411 in words ---- */

static const char *const states[] = { "unknown", "parked", "ready", "driving", "charging", "service" };
static const char *const crits[] = { "QM", "ASIL-A", "ASIL-B", "ASIL-C", "ASIL-D" };
static const struct {
	const char *name;
	uint32_t cmd;
} ops[] = {
	{ "start", HVM_CMD_START },           { "shutdown", HVM_CMD_SHUTDOWN },
	{ "destroy", HVM_CMD_DESTROY },       { "reboot", HVM_CMD_REBOOT },
	{ "reset", HVM_CMD_RESET },           { "suspend", HVM_CMD_SUSPEND },
	{ "resume", HVM_CMD_RESUME },         { "undefine", HVM_CMD_UNDEFINE },
	{ "load-image", HVM_CMD_LOAD_IMAGE },
};
#define N_STATES 6
#define N_CRITS 5
#define N_OPS 9

/* "QM VMs are free. While parked every operation is allowed. Starting or
 * resuming a safety VM is allowed in every state. Every other operation on a
 * safety VM is denied while not parked, unknown included." */
static int expected_allowed(const char *state, const char *op, const char *crit)
{
	if (strcmp(crit, "QM") == 0)
		return 1;
	if (strcmp(state, "parked") == 0)
		return 1;
	return strcmp(op, "start") == 0 || strcmp(op, "resume") == 0;
}

static int define_plain(const char *name, const char *crit)
{
	struct mu_vm v = { .name = name, .cpu = 1, .mem_pa = 0x49000000, .criticality = crit };
	char *dts = mu_vm_dts(&v);
	size_t len = 0;
	char err[256] = "";
	void *blob = dts ? mu_dtc(dts, &len, err, sizeof(err)) : NULL;
	free(dts);
	cr_assert_not_null(blob, "%s", err);
	struct hvq_reply rep;
	cr_assert_eq(mu_define_blob(&q, blob, len, &rep), 0, "%s", q.err);
	free(blob);
	expect(rep, HVM_OK, "DEFINE");
	return (int)rep.ret[0];
}

static void boot_no_config(void)
{
	struct hvq_opts o = HVQ_OPTS_DEFAULT;
	o.extra[0] = "--no-config";
	if (hvq_start(&q, &o) != 0)
		cr_assert_fail("%s", q.err);
}

TestSuite(hvcore_safety_matrix, .init = boot_no_config, .fini = teardown, .timeout = 600);

/* MGMT-400, VMCFG-411: every cell of the default matrix, for the real command
 * written into the register block, for CHECK_POLICY and in GET_POLICY. The VM
 * is shut off and never started: a command the policy allows then meets the
 * state check (E_STATE) or its handler's own refusal, never E_POLICY, and one
 * it denies answers E_POLICY before anything else. */
Test(hvcore_safety_matrix, every_cell_of_the_default_policy)
{
	struct hvq_reply r = cmd(HVM_CMD_GET_VEHICLE_STATE, 0, 0, 0, 0);
	expect(r, HVM_OK, "GET_VEHICLE_STATE");
	cr_assert_eq(r.ret[1], HVM_VSRC_MANAGEMENT, "no configuration: management source");
	cr_assert_eq(r.ret[0], HVM_VS_PARKED, "no configuration: parked (VMCFG-400)");

	expect(cmd(HVM_CMD_GET_POLICY, 0, 0, 0, 0), HVM_OK, "GET_POLICY");
	struct hvm_policy pol;
	memcpy(&pol, (const void *)(q.mgmt + HVM_OFF_DATA), sizeof(pol));
	cr_assert_eq(pol.magic, HVM_POLICY_MAGIC);
	cr_assert_eq(pol.is_default, 1);

	uint64_t staging = q.regs->staging_size;
	int checked = 0;
	for (int c = 0; c < N_CRITS; c++) {
		int id = define_plain("m", crits[c]);
		for (int s = 0; s < N_STATES; s++) {
			expect(cmd(HVM_CMD_SET_VEHICLE_STATE, 0, (uint64_t)s, 0, 0), HVM_OK,
			       states[s]);
			cr_assert_eq(cmd(HVM_CMD_GET_VEHICLE_STATE, 0, 0, 0, 0).ret[0], (uint64_t)s);
			for (int o = 0; o < N_OPS; o++) {
				int want = expected_allowed(states[s], ops[o].name, crits[c]);
				char what[96];
				snprintf(what, sizeof(what), "%s of %s VM while %s", ops[o].name,
					 crits[c], states[s]);
				/* the dry run first: it does nothing either way */
				struct hvq_reply d = cmd(HVM_CMD_CHECK_POLICY, id, ops[o].cmd, 0, 0);
				cr_assert_eq(d.status, want ? HVM_OK : HVM_E_POLICY,
					     "CHECK %s: '%s'", what, d.msg);
				cr_assert_eq(d.ret[0], (uint64_t)s);
				cr_assert_eq(!!(pol.cell[s][o][c] & HVM_POLICY_ALLOW), want,
					     "GET_POLICY cell %s", what);
				uint64_t ev0 = q.regs->ev_head;
				/* LOAD_IMAGE with an offset outside the staging area */
				struct hvq_reply rep = cmd(ops[o].cmd, id, staging, 1, 0);
				if (want) {
					cr_assert_neq(rep.status, HVM_E_POLICY, "%s: '%s'", what,
						      rep.msg);
					cr_assert_eq(mu_count_events(&q, HVM_EV_POLICY_DENIED,
								     (uint32_t)id, ev0),
						     0, "%s", what);
				} else {
					cr_assert_eq(rep.status, HVM_E_POLICY, "%s: status %u '%s'",
						     what, rep.status, rep.msg);
					/* the refusal names the clause, operation, criticality, state */
					cr_assert(strstr(rep.msg, "VMCFG-411") &&
							  strstr(rep.msg, ops[o].name) &&
							  strstr(rep.msg, crits[c]) &&
							  strstr(rep.msg, states[s]),
						  "%s: '%s'", what, rep.msg);
					cr_assert_eq(mu_count_events(&q, HVM_EV_POLICY_DENIED,
								     (uint32_t)id, ev0),
						     1, "%s", what);
				}
				struct hvm_vm_slot sl = mu_slot(&q, id);
				if (ops[o].cmd == HVM_CMD_UNDEFINE && want) {
					cr_assert_eq(rep.status, HVM_OK, "%s: '%s'", what, rep.msg);
					id = define_plain("m", crits[c]);
				} else {
					cr_assert_eq(sl.defined, 1, "%s", what);
					cr_assert_neq(sl.state, HVM_VM_RUNNING, "%s", what);
				}
				checked++;
			}
		}
		expect(cmd(HVM_CMD_SET_VEHICLE_STATE, 0, HVM_VS_PARKED, 0, 0), HVM_OK, "parked");
		expect(cmd(HVM_CMD_UNDEFINE, id, 0, 0, 0), HVM_OK, "UNDEFINE");
	}
	cr_assert_eq(checked, N_STATES * N_OPS * N_CRITS);
	expect(cmd(HVM_CMD_SET_VEHICLE_STATE, 0, HVM_VS__COUNT, 0, 0), HVM_E_BAD_ARG,
	       "a state that does not exist");
}

/* ---- a running ASIL VM and a QM VM while driving ---- */

static void boot_rtos(void)
{
	struct hvq_opts o = HVQ_OPTS_DEFAULT;
	o.guests[0] = "rtos-demo";
	if (hvq_start(&q, &o) != 0)
		cr_assert_fail("%s", q.err);
}

TestSuite(hvcore_safety_driving, .init = boot_rtos, .fini = teardown, .timeout = 300);

/* MGMT-400, REQ-SAF-15.5: a client writing the register block directly while
 * driving cannot stop, reset, reboot or suspend the ASIL VM; the QM VM is its
 * to manage; parked allows it again. */
Test(hvcore_safety_driving, direct_register_writes_are_refused_for_the_asil_vm)
{
	int rtos = hvq_find_vm(&q, "rtos-demo");
	cr_assert_geq(rtos, 0);
	cr_assert_eq(mu_wait_heartbeat(&q, rtos, 0, WAIT_S), 0, "%s", q.err);
	struct mu_vm v = { .name = "ivi", .cpu = 2, .mem_pa = 0x50000000 };
	int qm = mu_define_guest(&q, &v, "shutdown-ack", STAGE_A);
	cr_assert_geq(qm, 0, "%s", q.err);
	expect(cmd(HVM_CMD_START, qm, 0, 0, 0), HVM_OK, "START ivi");
	cr_assert_eq(mu_wait_heartbeat(&q, qm, 0, WAIT_S), 0, "%s", q.err);

	uint64_t ev0 = q.regs->ev_head;
	expect(cmd(HVM_CMD_SET_VEHICLE_STATE, 0, HVM_VS_DRIVING, 0, 0), HVM_OK, "driving");
	cr_assert_eq(mu_count_events(&q, HVM_EV_VEHICLE_STATE, HVM_EV_NO_VM, ev0), 1);

	static const uint32_t disruptive[] = { HVM_CMD_SHUTDOWN, HVM_CMD_DESTROY, HVM_CMD_RESET,
					       HVM_CMD_REBOOT, HVM_CMD_SUSPEND };
	for (unsigned i = 0; i < sizeof(disruptive) / sizeof(disruptive[0]); i++) {
		struct hvq_reply r = cmd(disruptive[i], rtos, 0, 0, 0);
		expect(r, HVM_E_POLICY, hvm_cmd_name(disruptive[i]));
		cr_assert(strstr(r.msg, "VMCFG-411") && strstr(r.msg, "ASIL-B") &&
				  strstr(r.msg, "driving"),
			  "'%s'", r.msg);
	}
	cr_assert_eq(mu_count_events(&q, HVM_EV_POLICY_DENIED, (uint32_t)rtos, ev0), 5);
	/* still running, still beating */
	uint64_t hb = mu_slot(&q, rtos).heartbeat;
	cr_assert_eq(mu_wait_heartbeat(&q, rtos, hb, WAIT_S), 0, "%s", q.err);
	cr_assert_eq(mu_slot(&q, rtos).state, HVM_VM_RUNNING);

	/* the QM VM is free */
	expect(cmd(HVM_CMD_SHUTDOWN, qm, 30000, 0, 0), HVM_OK, "SHUTDOWN of the QM VM");
	cr_assert_eq(mu_wait_state(&q, qm, HVM_VM_SHUTOFF, HVM_R_SHUTDOWN, WAIT_S), 0, "%s", q.err);

	expect(cmd(HVM_CMD_SET_VEHICLE_STATE, 0, HVM_VS_PARKED, 0, 0), HVM_OK, "parked");
	expect(cmd(HVM_CMD_DESTROY, rtos, 0, 0, 0), HVM_OK, "DESTROY when parked");
	cr_assert_eq(mu_wait_state(&q, rtos, HVM_VM_SHUTOFF, HVM_R_DESTROYED, WAIT_S), 0, "%s",
		     q.err);
}

/* ---- a guest source ---- */

static char cfg_path[300];

static void boot_guest_source(void)
{
	char src[512];
	snprintf(src, sizeof(src), "%s/hv-core/guests/vms/rtos-demo.dtsi", HV_SOURCE_DIR);
	FILE *in = fopen(src, "r");
	cr_assert_not_null(in, "%s", src);
	snprintf(cfg_path, sizeof(cfg_path), "/tmp/hvcore-safety-%d.dts", (int)getpid());
	FILE *out = fopen(cfg_path, "w");
	cr_assert_not_null(out);
	fputs("/dts-v1/;\n/ {\n\tcompatible = \"avirt,system-config-v1\";\n"
	      "\thv-core {\n\t\tvehicle-state {\n\t\t\tsource = \"guest\";\n"
	      "\t\t\tvm = \"rtos-demo\";\n\t\t\tfreshness-ms = <500>;\n\t\t};\n\t};\n"
	      "\tvms {\n",
	      out);
	char line[512];
	while (fgets(line, sizeof(line), in))
		fputs(line, out);
	fputs("\t};\n};\n", out);
	fclose(in);
	fclose(out);
	struct hvq_opts o = HVQ_OPTS_DEFAULT;
	o.extra[0] = "--config";
	o.extra[1] = cfg_path;
	int rc = hvq_start(&q, &o);
	unlink(cfg_path);
	if (rc != 0)
		cr_assert_fail("%s", q.err);
}

TestSuite(hvcore_safety_guest, .init = boot_guest_source, .fini = teardown, .timeout = 300);

/* The source VM's cooperation page, found in the machine's RAM by its magic and
 * VM id (hv-core allocates it from its heap). */
static volatile struct hvg_coop_page *find_coop(uint32_t id)
{
	for (uint64_t off = 0; off + 4096 <= q.ram_size; off += 4096) {
		volatile struct hvg_coop_page *p = (volatile void *)(q.ram + off);
		if (p->magic == HVG_COOP_MAGIC && p->size == 4096 && p->vm_id == id &&
		    p->major == HVG_COOP_MAJOR)
			return p;
	}
	return NULL;
}

static int state_is(struct hvq *qq, void *arg)
{
	struct hvq_reply r;
	return hvq_command(qq, HVM_CMD_GET_VEHICLE_STATE, 0, NULL, &r) == 0 &&
	       r.ret[0] == *(uint64_t *)arg;
}

static void wait_vehicle(uint64_t want)
{
	cr_assert_eq(hvq_wait(&q, state_is, &want, WAIT_S), 0, "vehicle state never %s: %s",
		     states[want], q.err);
}

/* VMCFG-402..404, GABI-400: the state is what the source VM writes, while it
 * writes it; a source that stops writing, or is not running, is unknown, and
 * unknown denies what driving denies. The test writes the source VM's
 * cooperation page exactly as its guest would (state, then the counter). */
Test(hvcore_safety_guest, a_guest_source_that_goes_stale_is_unknown)
{
	int rtos = hvq_find_vm(&q, "rtos-demo");
	cr_assert_geq(rtos, 0);
	cr_assert_eq(mu_wait_heartbeat(&q, rtos, 0, WAIT_S), 0, "%s", q.err);
	struct hvq_reply r = cmd(HVM_CMD_GET_VEHICLE_STATE, 0, 0, 0, 0);
	cr_assert_eq(r.ret[1], HVM_VSRC_GUEST);
	cr_assert_eq(r.ret[3], (uint64_t)rtos);
	cr_assert_eq(r.ret[0], HVM_VS_UNKNOWN, "nothing written yet");
	cr_assert_eq(r.ret[5], 500000000ull);

	r = cmd(HVM_CMD_SET_VEHICLE_STATE, 0, HVM_VS_PARKED, 0, 0);
	expect(r, HVM_E_POLICY, "SET_VEHICLE_STATE with a guest source");
	cr_assert(strstr(r.msg, "VMCFG-402"), "'%s'", r.msg);

	volatile struct hvg_coop_page *page = find_coop((uint32_t)rtos);
	cr_assert_not_null(page, "no cooperation page of VM %d in RAM", rtos);
	uint64_t ev0 = q.regs->ev_head;
	page->vehicle_state = HVM_VS_PARKED;
	__atomic_store_n(&page->vehicle_seq, 1, __ATOMIC_RELEASE);
	wait_vehicle(HVM_VS_PARKED);
	cr_assert_geq(mu_count_events(&q, HVM_EV_VEHICLE_STATE, (uint32_t)rtos, ev0), 1);
	/* then nothing more is written: stale, unknown */
	wait_vehicle(HVM_VS_UNKNOWN);
	r = cmd(HVM_CMD_SHUTDOWN, rtos, 0, 0, 0);
	expect(r, HVM_E_POLICY, "SHUTDOWN while the source is stale");
	cr_assert(strstr(r.msg, "unknown"), "'%s'", r.msg);
	cr_assert_eq(mu_slot(&q, rtos).state, HVM_VM_RUNNING);

	/* driving, written fresh */
	page->vehicle_state = HVM_VS_DRIVING;
	__atomic_store_n(&page->vehicle_seq, 2, __ATOMIC_RELEASE);
	wait_vehicle(HVM_VS_DRIVING);
	wait_vehicle(HVM_VS_UNKNOWN);
}
