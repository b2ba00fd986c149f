/*
 * check_commands.c - conformance checks of the command protocol (MGMT-111,
 * MGMT-113, MGMT-120), the command set and capabilities (MGMT-020, MGMT-021)
 * and refusals (MGMT-030): unknown codes and bad VM ids answer their status,
 * name the reason and change nothing. Nothing here changes a VM's state.
 */
#include <stdio.h>
#include <string.h>

#include "conf_internal.h"

static void check_idle(struct conf *c, struct conf_result *res)
{
	uint32_t rq = (uint32_t)conf_reg_load(c, CONF_REG(req_seq), 4);
	uint32_t dn = (uint32_t)conf_reg_load(c, CONF_REG(done_seq), 4);
	if (rq != dn && !conf_settle(c, c->opt->timeout_ms))
		conf_fail(res, "req_seq %u != done_seq %u and never settled", rq, dn);
}

static void check_nop(struct conf *c, struct conf_result *res)
{
	struct conf_reply rep;
	if (!conf_expect(c, res, "NOP", HVM_CMD_NOP, 0, NULL, HVM_OK, &rep))
		return;
	uint32_t dn = (uint32_t)conf_reg_load(c, CONF_REG(done_seq), 4);
	if (dn != rep.seq)
		conf_fail(res, "done_seq %u after the reply to seq %u", dn, rep.seq);
}

static void check_seq_tracking(struct conf *c, struct conf_result *res)
{
	uint32_t prev = (uint32_t)conf_reg_load(c, CONF_REG(done_seq), 4);
	for (int i = 0; i < 32 && !conf_failed(res); i++) {
		struct conf_reply rep;
		uint32_t cmd = i % 3 == 2 ? HVM_CMD_LIST : HVM_CMD_NOP;
		if (!conf_expect(c, res, "NOP/LIST series", cmd, 0, NULL, HVM_OK, &rep))
			return;
		if (rep.seq != prev + 1u)
			conf_fail(res, "command %d completed as seq %u, expected %u", i, rep.seq,
				  prev + 1u);
		prev = rep.seq;
	}
	if (!conf_failed(res))
		conf_note(res, "32 commands, done_seq now %u", prev);
}

static void check_refusal_msg(struct conf *c, struct conf_result *res)
{
	/* conf_expect() checks ret_msg on every reply; this row exercises both sides. */
	struct conf_reply rep;
	conf_expect(c, res, "NOP", HVM_CMD_NOP, 0, NULL, HVM_OK, &rep);
	conf_expect(c, res, "unknown code", 0xFFFFu, 0, NULL, HVM_E_UNKNOWN_CMD, &rep);
	if (!conf_failed(res))
		conf_note(res, "refusal says \"%s\"", rep.msg);
}

/* MGMT-113: a client that breaks the protocol gets no guarantee for that
 * command, but the interface must complete it and keep working. */
static void check_protocol_abuse(struct conf *c, struct conf_result *res)
{
	static const uint32_t skew[] = { 2, 7, 0x8000u, 0xFFFFFFFFu };
	for (unsigned i = 0; i < sizeof(skew) / sizeof(skew[0]); i++) {
		if (!conf_settle(c, c->opt->timeout_ms)) {
			conf_fail(res, "interface busy before step %u", i);
			return;
		}
		conf_reg_store(c, CONF_REG(cmd), 4, HVM_CMD_NOP);
		conf_reg_store(c, CONF_REG(vm_id), 4, 0);
		uint32_t d = (uint32_t)conf_reg_load(c, CONF_REG(done_seq), 4);
		/* a wrong sequence number ... */
		conf_reg_store(c, CONF_REG(req_seq), 4, d + skew[i]);
		/* ... and, every other time, a second write while it is outstanding
		 * (on the trapped page the first has completed by then) */
		if (i & 1)
			conf_reg_store(c, CONF_REG(req_seq), 4, d + skew[i] + 1u);
		if (!conf_settle(c, c->opt->timeout_ms)) {
			conf_fail(res,
				  "req_seq written as done_seq+%u%s: done_seq %u never caught up with "
				  "req_seq %u (wedged)",
				  skew[i], i & 1 ? " twice" : "",
				  (uint32_t)conf_reg_load(c, CONF_REG(done_seq), 4),
				  (uint32_t)conf_reg_load(c, CONF_REG(req_seq), 4));
			c->wedged = true;
			return;
		}
	}
	struct conf_reply rep;
	conf_expect(c, res, "NOP after protocol abuse", HVM_CMD_NOP, 0, NULL, HVM_OK, &rep);
	if (!conf_ticks_advance(c, 2000))
		conf_fail(res, "hv_ticks stopped after protocol abuse");
}

/* MGMT-020: no row of the table is marked optional in version 1.0. */
static void check_command_set(struct conf *c, struct conf_result *res)
{
	char missing[256] = "";
	for (uint32_t cmd = 0; cmd < HVM_CMD__COUNT; cmd++) {
		/* codes without a row, and the vehicle-state commands of ABI 2.1
		 * (MGMT-401..404), which a hypervisor without a safety policy leaves out */
		if (conf_has_cap(c, cmd) || !hvm_cmd_name(cmd) || cmd >= HVM_CMD_GET_VEHICLE_STATE)
			continue;
		size_t l = strlen(missing);
		snprintf(missing + l, sizeof(missing) - l, "%s%s", l ? " " : "", conf_cmd_name(cmd));
	}
	if (missing[0])
		conf_fail(res, "caps 0x%llx lacks: %s", (unsigned long long)c->caps, missing);
	else
		conf_note(res, "caps 0x%llx", (unsigned long long)c->caps);
}

static void check_get_info(struct conf *c, struct conf_result *res)
{
	struct conf_reply rep;
	uint64_t up0 = LD64(c->r->uptime_ns);
	/* VM column "no": vm_id is not used, so an out-of-range one is fine. */
	if (!conf_expect(c, res, "GET_INFO", HVM_CMD_GET_INFO, 0xFFFFFFFFu, NULL, HVM_OK, &rep))
		return;
	uint32_t vc = LD32(c->r->vm_count);
	if (rep.ret[0] != vc)
		conf_fail(res, "ret[0] %llu is not vm_count %u", (unsigned long long)rep.ret[0], vc);
	if (rep.ret[1] != c->caps)
		conf_fail(res, "ret[1] 0x%llx is not caps 0x%llx", (unsigned long long)rep.ret[1],
			  (unsigned long long)c->caps);
	if (rep.ret[2] < up0)
		conf_fail(res, "ret[2] uptime %llu ns is older than uptime_ns %llu read before",
			  (unsigned long long)rep.ret[2], (unsigned long long)up0);
}

static void check_list(struct conf *c, struct conf_result *res)
{
	struct conf_reply rep;
	if (!conf_expect(c, res, "LIST", HVM_CMD_LIST, 0xFFFFFFFFu, NULL, HVM_OK, &rep))
		return;
	uint64_t mask = 0;
	for (uint32_t i = 0; i < c->max_vms; i++) {
		struct hvm_vm_slot s;
		if (conf_read_slot(c, i, &s) && s.defined == 1)
			mask |= 1ull << i;
	}
	if (rep.ret[0] != mask)
		conf_fail(res, "ret[0] 0x%llx, slots say defined 0x%llx",
			  (unsigned long long)rep.ret[0], (unsigned long long)mask);
	if ((uint32_t)__builtin_popcountll(rep.ret[0]) != LD32(c->r->vm_count))
		conf_fail(res, "LIST names %d VMs, vm_count is %u",
			  __builtin_popcountll(rep.ret[0]), LD32(c->r->vm_count));
}

static void check_selftest_result(struct conf *c, struct conf_result *res)
{
	struct conf_reply rep;
	if (!conf_expect(c, res, "SELFTEST_RESULT", HVM_CMD_SELFTEST_RESULT, 0, NULL, HVM_OK, &rep))
		return;
	uint32_t mask = LD32(c->r->selftest_failed);
	if (rep.ret[0] != mask)
		conf_fail(res, "ret[0] 0x%llx, selftest_failed register 0x%x",
			  (unsigned long long)rep.ret[0], mask);
	if (rep.ret[1] == 0 || rep.ret[1] > 64 || (rep.ret[0] >> rep.ret[1]) != 0)
		conf_fail(res, "ret[1] says %llu checks ran, inconsistent with mask 0x%llx",
			  (unsigned long long)rep.ret[1], (unsigned long long)rep.ret[0]);
}

/* Each command in a form that cannot change anything: VM commands at an
 * out-of-range id, DEFINE with an empty blob. */
static void harmless(const struct conf *c, uint32_t cmd, uint32_t *vm, uint64_t args[6])
{
	memset(args, 0, 6 * sizeof(uint64_t));
	*vm = conf_cmd_has_vm(cmd) ? c->max_vms : 0;
	/* MGMT-402: a number that is no vehicle state changes nothing */
	if (cmd == HVM_CMD_SET_VEHICLE_STATE)
		args[0] = HVM_VS__COUNT;
}

static void check_caps_consistent(struct conf *c, struct conf_result *res)
{
	struct conf_snap before;
	if (!conf_snap_take(c, &before)) {
		conf_fail(res, "slots never read consistently");
		return;
	}
	uint64_t hi = c->caps >> HVM_CMD__COUNT;
	if (hi && LD32(c->r->abi_minor) == 0)
		conf_fail(res, "caps sets bits above command %u (0x%llx) in version 1.0",
			  HVM_CMD__COUNT - 1, (unsigned long long)c->caps);
	for (uint32_t cmd = 0; cmd < HVM_CMD__COUNT; cmd++) {
		uint32_t vm;
		uint64_t args[6];
		struct conf_reply rep;
		char err[200];
		harmless(c, cmd, &vm, args);
		if (!conf_cmd(c, cmd, vm, args, &rep, err, sizeof(err))) {
			conf_fail(res, "%s", err);
			return;
		}
		bool set = conf_has_cap(c, cmd);
		if (set && rep.status == HVM_E_UNKNOWN_CMD)
			conf_fail(res, "%s is in caps but answers E_UNKNOWN_CMD", conf_cmd_name(cmd));
		if (!set && rep.status != HVM_E_UNKNOWN_CMD)
			conf_fail(res, "%s is not in caps but answers %s", conf_cmd_name(cmd),
				  conf_status_name(rep.status));
		if (set && conf_cmd_has_vm(cmd) && rep.status != HVM_E_BAD_VM)
			conf_fail(res, "%s at vm %u (out of range) answers %s, expected E_BAD_VM",
				  conf_cmd_name(cmd), vm, conf_status_name(rep.status));
	}
	conf_expect_unchanged(c, res, "probing every command", &before);
}

static void check_unknown_codes(struct conf *c, struct conf_result *res)
{
	static const uint32_t codes[] = { HVM_CMD__COUNT, 31, 0xFF, 0xFFFF, 0x80000000u, 0xFFFFFFFFu };
	struct conf_snap before;
	if (!conf_snap_take(c, &before)) {
		conf_fail(res, "slots never read consistently");
		return;
	}
	uint64_t head0 = LD64(c->r->ev_head);
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		uint64_t args[6] = { ~0ull, 1, 2, 3, 4, 5 };
		char what[48];
		snprintf(what, sizeof(what), "code 0x%x", codes[i]);
		for (uint32_t vm = 0; vm < 2; vm++)
			conf_expect(c, res, what, codes[i], vm, args, HVM_E_UNKNOWN_CMD, NULL);
		if (c->wedged)
			return;
	}
	conf_expect_unchanged(c, res, "unknown command codes", &before);
	/* Events are only for changes; a refusal makes none of its own. Only the
	 * types a guest cannot cause by itself are counted (a fault policy may
	 * restart a VM at any time). */
	struct hvm_event e;
	for (uint64_t p = head0; p < LD64(c->r->ev_head); p++)
		if (conf_read_event(c, p, &e) == 1 &&
		    (e.type == HVM_EV_DEFINED || e.type == HVM_EV_UNDEFINED ||
		     e.type == HVM_EV_SUSPENDED || e.type == HVM_EV_RESUMED))
			conf_fail(res, "lifecycle event type %u for vm %u after refused commands",
				  e.type, e.vm_id);
}

static void check_bad_vm(struct conf *c, struct conf_result *res)
{
	struct conf_snap before;
	if (!conf_snap_take(c, &before)) {
		conf_fail(res, "slots never read consistently");
		return;
	}
	int free_id = conf_first_free_id(c);
	uint32_t ids[3] = { c->max_vms, 0xFFFFFFFFu,
			    free_id >= 0 ? (uint32_t)free_id : c->max_vms + 1 };
	unsigned tried = 0;
	for (uint32_t cmd = HVM_CMD_UNDEFINE; cmd <= HVM_CMD_READ_FAULT; cmd++) {
		if (!conf_has_cap(c, cmd)) {
			conf_fail(res, "%s not in caps", conf_cmd_name(cmd));
			continue;
		}
		for (unsigned k = 0; k < 3; k++) {
			char what[64];
			snprintf(what, sizeof(what), "%s vm %u", conf_cmd_name(cmd), ids[k]);
			conf_expect(c, res, what, cmd, ids[k], NULL, HVM_E_BAD_VM, NULL);
			tried++;
			if (c->wedged)
				return;
		}
	}
	conf_expect_unchanged(c, res, "commands on bad VM ids", &before);
	if (!conf_failed(res))
		conf_note(res, "%u refusals (ids %u, 0xffffffff, %u)", tried, ids[0], ids[2]);
}

/* MGMT-801: WRITE_CONSOLE refuses a count of 0 or above 256 with E_BAD_ARG
 * and a stopped VM with E_STATE, changing nothing. No bytes are sent. */
static void check_write_console_refusals(struct conf *c, struct conf_result *res)
{
	if (!conf_has_cap(c, HVM_CMD_WRITE_CONSOLE)) {
		conf_skip(res, "WRITE_CONSOLE not in caps");
		return;
	}
	int vm = conf_first_vm_in_state(c, HVM_VM_RUNNING);
	if (vm < 0) {
		conf_skip(res, "no RUNNING VM");
		return;
	}
	struct conf_snap before;
	if (!conf_snap_take(c, &before)) {
		conf_fail(res, "no snapshot of the VMs");
		return;
	}
	static const uint64_t bad[] = { 0, HVM_CONSOLE_INPUT_MAX + 1u, 0xFFFFFFFFull };
	struct conf_reply rep;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0] && !conf_failed(res); i++) {
		uint64_t args[6] = { bad[i] };
		char what[48];
		snprintf(what, sizeof what, "WRITE_CONSOLE of %llu bytes",
			 (unsigned long long)bad[i]);
		conf_expect(c, res, what, HVM_CMD_WRITE_CONSOLE, (uint32_t)vm, args, HVM_E_BAD_ARG,
			    &rep);
	}
	int off = conf_first_vm_in_state(c, HVM_VM_SHUTOFF);
	if (off < 0)
		off = conf_first_vm_in_state(c, HVM_VM_CRASHED);
	if (off >= 0 && !conf_failed(res)) {
		uint64_t args[6] = { 1 };
		conf_expect(c, res, "WRITE_CONSOLE to a stopped VM", HVM_CMD_WRITE_CONSOLE,
			    (uint32_t)off, args, HVM_E_STATE, &rep);
	}
	conf_expect_unchanged(c, res, "after the refused WRITE_CONSOLEs", &before);
	if (!conf_failed(res))
		conf_note(res, "VM %d: counts refused%s", vm,
			  off >= 0 ? "; a stopped VM refused" : "; no stopped VM to try");
}

const struct conf_check conf_checks_commands[] = {
	{ "MGMT-111", "no command outstanding when READY", check_idle },
	{ "MGMT-111", "NOP round trip, done_seq == req_seq", check_nop },
	{ "MGMT-111", "done_seq follows req_seq over 32 commands", check_seq_tracking },
	{ "MGMT-120", "status/ret_msg: empty on success, named on refusal", check_refusal_msg },
	{ "MGMT-113", "wrong and doubled req_seq writes do not wedge", check_protocol_abuse },
	{ "MGMT-020", "every command of the table is advertised in caps", check_command_set },
	{ "MGMT-020", "GET_INFO: vm_count, caps, uptime; vm_id ignored", check_get_info },
	{ "MGMT-020", "LIST: mask of defined VMs matches the slots", check_list },
	{ "MGMT-020", "SELFTEST_RESULT matches selftest_failed", check_selftest_result },
	{ "MGMT-021", "caps bit set <=> command not E_UNKNOWN_CMD", check_caps_consistent },
	{ "MGMT-030", "unknown codes answer E_UNKNOWN_CMD, change nothing", check_unknown_codes },
	{ "MGMT-030", "every VM command: bad vm id answers E_BAD_VM", check_bad_vm },
	{ "MGMT-801", "WRITE_CONSOLE: bad counts and a stopped VM refused, nothing changes",
	  check_write_console_refusals },
	{ 0 },
};
