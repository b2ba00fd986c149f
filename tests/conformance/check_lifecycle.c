/*
 * check_lifecycle.c - conformance checks of the VM state machine (MGMT-045)
 * and its events (MGMT-050, MGMT-140), driven on the first RUNNING VM.
 *
 * Illegal commands in each state reached must answer E_STATE and change
 * nothing; the legal round trips (SUSPEND/RESUME, DESTROY/START, REBOOT, RESET,
 * SHUTDOWN/START) must reach the documented state and reason, publish the
 * lifecycle event, and leave the VM RUNNING with its heartbeat advancing, so
 * later checks and the robustness pass still have a live VM. A round trip
 * whose way back is not implemented is not started: the VM is not left dead.
 */
#include <stdio.h>
#include <string.h>

#include "conf_internal.h"

#define STATE_WAIT_MS 15000u

/* The VM the checks drive: the first RUNNING one. */
static int subject(struct conf *c, struct conf_result *res)
{
	int vm = conf_first_vm_in_state(c, HVM_VM_RUNNING);
	if (vm < 0)
		conf_skip(res, "no RUNNING VM to drive");
	return vm;
}

static bool need(struct conf *c, struct conf_result *res, uint32_t a, uint32_t b)
{
	bool ok = true;
	if (!conf_has_cap(c, a)) {
		conf_fail(res, "%s not in caps", conf_cmd_name(a));
		ok = false;
	}
	if (b != a && !conf_has_cap(c, b)) {
		conf_fail(res, "%s not in caps", conf_cmd_name(b));
		ok = false;
	}
	if (!ok)
		conf_note(res, "round trip not started");
	return ok;
}

/* Every command of the list must answer E_STATE in the VM's current state. */
static void illegal_here(struct conf *c, struct conf_result *res, uint32_t vm, const char *state,
			 const uint32_t *cmds, size_t n)
{
	struct conf_snap before;
	if (!conf_snap_take(c, &before)) {
		conf_fail(res, "slots never read consistently");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		char what[64];
		uint64_t args[6] = { 0 };
		if (cmds[i] == HVM_CMD_LOAD_IMAGE)
			args[1] = 4096; /* a plausible image: only the state is wrong */
		if (cmds[i] == HVM_CMD_SHUTDOWN)
			args[0] = 1000;
		snprintf(what, sizeof(what), "%s on %s", conf_cmd_name(cmds[i]), state);
		conf_expect(c, res, what, cmds[i], vm, args, HVM_E_STATE, NULL);
		if (c->wedged)
			return;
	}
	char what[64];
	snprintf(what, sizeof(what), "E_STATE refusals on %s", state);
	conf_expect_unchanged(c, res, what, &before);
}

/* The state and reason after a legal command, and its event if it has one. */
static bool reach(struct conf *c, struct conf_result *res, uint32_t vm, uint32_t state,
		  uint32_t reason, uint64_t ev_from, int ev_type, uint64_t *ev_seq)
{
	struct hvm_vm_slot s;
	uint64_t deadline = conf_now_ms() + STATE_WAIT_MS;
	for (;;) {
		if (conf_read_slot(c, vm, &s) && s.defined == 1 && s.state == state &&
		    s.reason == reason)
			break;
		if (conf_now_ms() >= deadline) {
			conf_fail(res, "vm %u is %s/%u after %u ms, expected %s/%u", vm,
				  conf_state_name(s.state), s.reason, STATE_WAIT_MS,
				  conf_state_name(state), reason);
			return false;
		}
		conf_sleep_ms(10);
	}
	if (ev_type < 0)
		return true;
	struct hvm_event e;
	if (!conf_find_event(c, ev_from, (uint32_t)ev_type, vm, 5000, &e)) {
		conf_fail(res, "no event type %d for vm %u at or after seq %llu (MGMT-050)",
			  ev_type, vm, (unsigned long long)ev_from);
		return false;
	}
	if (ev_seq && e.seq <= *ev_seq && *ev_seq != UINT64_MAX)
		conf_fail(res, "event seq %llu not after the previous %llu",
			  (unsigned long long)e.seq, (unsigned long long)*ev_seq);
	if (e.reason != reason)
		conf_note(res, "event %llu carries reason %u, slot says %u",
			  (unsigned long long)e.seq, e.reason, reason);
	if (ev_seq)
		*ev_seq = e.seq;
	return true;
}

static void alive_again(struct conf *c, struct conf_result *res, uint32_t vm, const char *after)
{
	if (!conf_heartbeat_advances(c, vm, 10000))
		conf_fail(res, "vm %u heartbeat does not advance after %s", vm, after);
}

static void check_illegal_running(struct conf *c, struct conf_result *res)
{
	int vm = subject(c, res);
	if (vm < 0)
		return;
	static const uint32_t cmds[] = { HVM_CMD_START, HVM_CMD_RESUME, HVM_CMD_UNDEFINE,
					 HVM_CMD_LOAD_IMAGE };
	illegal_here(c, res, (uint32_t)vm, "RUNNING", cmds, sizeof(cmds) / sizeof(cmds[0]));
}

static void check_illegal_crashed(struct conf *c, struct conf_result *res)
{
	int vm = conf_first_vm_in_state(c, HVM_VM_CRASHED);
	if (vm < 0) {
		conf_skip(res,
			  "no CRASHED VM (boot one that faults, e.g. hv-qemu.sh --guest bad-access)");
		return;
	}
	static const uint32_t cmds[] = { HVM_CMD_SHUTDOWN, HVM_CMD_REBOOT, HVM_CMD_SUSPEND,
					 HVM_CMD_RESUME };
	illegal_here(c, res, (uint32_t)vm, "CRASHED", cmds, sizeof(cmds) / sizeof(cmds[0]));
}

static void check_suspend_resume(struct conf *c, struct conf_result *res)
{
	int vm = subject(c, res);
	if (vm < 0 || !need(c, res, HVM_CMD_SUSPEND, HVM_CMD_RESUME))
		return;
	uint64_t head = LD64(c->r->ev_head), seq = UINT64_MAX;
	if (!conf_expect(c, res, "SUSPEND", HVM_CMD_SUSPEND, (uint32_t)vm, NULL, HVM_OK, NULL))
		return;
	bool paused =
		reach(c, res, (uint32_t)vm, HVM_VM_PAUSED, HVM_R_USER, head, HVM_EV_SUSPENDED, &seq);
	if (paused) {
		static const uint32_t cmds[] = { HVM_CMD_SUSPEND, HVM_CMD_REBOOT, HVM_CMD_START,
						 HVM_CMD_UNDEFINE };
		illegal_here(c, res, (uint32_t)vm, "PAUSED", cmds, sizeof(cmds) / sizeof(cmds[0]));
	}
	/* resume in any case: the VM must not stay paused because a check failed */
	head = LD64(c->r->ev_head);
	if (!conf_expect(c, res, "RESUME", HVM_CMD_RESUME, (uint32_t)vm, NULL, HVM_OK, NULL))
		return;
	if (reach(c, res, (uint32_t)vm, HVM_VM_RUNNING, HVM_R_USER, head, HVM_EV_RESUMED, &seq))
		alive_again(c, res, (uint32_t)vm, "RESUME");
}

static void check_destroy_start(struct conf *c, struct conf_result *res)
{
	int vm = subject(c, res);
	if (vm < 0 || !need(c, res, HVM_CMD_DESTROY, HVM_CMD_START))
		return;
	uint64_t head = LD64(c->r->ev_head), seq = UINT64_MAX;
	if (!conf_expect(c, res, "DESTROY", HVM_CMD_DESTROY, (uint32_t)vm, NULL, HVM_OK, NULL))
		return;
	if (reach(c, res, (uint32_t)vm, HVM_VM_SHUTOFF, HVM_R_DESTROYED, head, HVM_EV_STOPPED, &seq)) {
		static const uint32_t cmds[] = { HVM_CMD_SHUTDOWN, HVM_CMD_DESTROY, HVM_CMD_REBOOT,
						 HVM_CMD_RESET,    HVM_CMD_SUSPEND, HVM_CMD_RESUME };
		illegal_here(c, res, (uint32_t)vm, "SHUTOFF", cmds, sizeof(cmds) / sizeof(cmds[0]));
	}
	head = LD64(c->r->ev_head);
	if (!conf_expect(c, res, "START", HVM_CMD_START, (uint32_t)vm, NULL, HVM_OK, NULL))
		return;
	if (reach(c, res, (uint32_t)vm, HVM_VM_RUNNING, HVM_R_BOOTED, head, HVM_EV_STARTED, &seq))
		alive_again(c, res, (uint32_t)vm, "START");
}

/* MGMT-044: REBOOT asks the guest and the VM stays RUNNING; it ends RUNNING
 * (REBOOTED) with one STARTED (REBOOTED) event, whether the guest restarts
 * itself or the hypervisor resets it at the 1 s timeout. */
static void check_reboot(struct conf *c, struct conf_result *res)
{
	int vm = subject(c, res);
	if (vm < 0 || !need(c, res, HVM_CMD_REBOOT, HVM_CMD_REBOOT))
		return;
	struct conf_snap before;
	if (!conf_snap_take(c, &before)) {
		conf_fail(res, "slots never read consistently");
		return;
	}
	uint64_t args[6] = { 600001 };
	conf_expect(c, res, "REBOOT 600001 ms", HVM_CMD_REBOOT, (uint32_t)vm, args, HVM_E_BAD_ARG,
		    NULL);
	conf_expect_unchanged(c, res, "refused REBOOT", &before);
	uint64_t head = LD64(c->r->ev_head), seq = UINT64_MAX;
	args[0] = 1000;
	if (!conf_expect(c, res, "REBOOT", HVM_CMD_REBOOT, (uint32_t)vm, args, HVM_OK, NULL))
		return;
	struct hvm_vm_slot s;
	if (conf_read_slot(c, (uint32_t)vm, &s) && s.state != HVM_VM_RUNNING)
		conf_fail(res, "vm %d is %s right after REBOOT, expected RUNNING", vm,
			  conf_state_name(s.state));
	if (!reach(c, res, (uint32_t)vm, HVM_VM_RUNNING, HVM_R_REBOOTED, head, HVM_EV_STARTED, &seq))
		return;
	struct hvm_event e;
	if (conf_find_event(c, seq + 1, HVM_EV_STARTED, (uint32_t)vm, 0, &e))
		conf_fail(res, "a second STARTED event (seq %llu) for one REBOOT",
			  (unsigned long long)e.seq);
	for (uint64_t n = head; n < LD64(c->r->ev_head); n++)
		if (conf_read_event(c, n, &e) == 1 && e.vm_id == (uint32_t)vm &&
		    e.type == HVM_EV_STOPPED)
			conf_fail(res, "REBOOT appended STOPPED (seq %llu)", (unsigned long long)n);
	alive_again(c, res, (uint32_t)vm, "REBOOT");
}

static void check_reset(struct conf *c, struct conf_result *res)
{
	int vm = subject(c, res);
	if (vm < 0 || !need(c, res, HVM_CMD_RESET, HVM_CMD_RESET))
		return;
	if (!conf_expect(c, res, "RESET", HVM_CMD_RESET, (uint32_t)vm, NULL, HVM_OK, NULL))
		return;
	if (reach(c, res, (uint32_t)vm, HVM_VM_RUNNING, HVM_R_RESET, 0, -1, NULL))
		alive_again(c, res, (uint32_t)vm, "RESET");
}

/* SHUTDOWN ends in SHUTOFF either way: SHUTDOWN when the guest cooperates,
 * DESTROYED when the timeout's fallback applies. */
static void check_shutdown(struct conf *c, struct conf_result *res)
{
	int vm = subject(c, res);
	if (vm < 0 || !need(c, res, HVM_CMD_SHUTDOWN, HVM_CMD_START))
		return;
	uint64_t head = LD64(c->r->ev_head);
	uint64_t args[6] = { 3000 };
	if (!conf_expect(c, res, "SHUTDOWN", HVM_CMD_SHUTDOWN, (uint32_t)vm, args, HVM_OK, NULL))
		return;
	struct hvm_vm_slot s;
	if (!conf_wait_state(c, (uint32_t)vm, HVM_VM_SHUTOFF, 3000 + STATE_WAIT_MS, &s)) {
		conf_fail(res, "vm %d is %s/%u, not SHUTOFF, after the 3 s shutdown timeout", vm,
			  conf_state_name(s.state), s.reason);
	} else {
		if (s.reason != HVM_R_SHUTDOWN && s.reason != HVM_R_DESTROYED)
			conf_fail(res,
				  "SHUTOFF with reason %u, expected SHUTDOWN (3) or DESTROYED (4)",
				  s.reason);
		else
			conf_note(res, "guest %s",
				  s.reason == HVM_R_SHUTDOWN ? "powered off"
							     : "timed out, destroyed");
		if (!conf_find_event(c, head, HVM_EV_STOPPED, (uint32_t)vm, 5000, NULL))
			conf_fail(res, "no STOPPED event for vm %d", vm);
	}
	head = LD64(c->r->ev_head);
	if (!conf_expect(c, res, "START after SHUTDOWN", HVM_CMD_START, (uint32_t)vm, NULL, HVM_OK,
			 NULL))
		return;
	if (reach(c, res, (uint32_t)vm, HVM_VM_RUNNING, HVM_R_BOOTED, head, HVM_EV_STARTED, NULL))
		alive_again(c, res, (uint32_t)vm, "START");
}

const struct conf_check conf_checks_lifecycle[] = {
	{ "MGMT-045", "RUNNING: START/RESUME/UNDEFINE/LOAD_IMAGE answer E_STATE",
	  check_illegal_running },
	{ "MGMT-045", "CRASHED: SHUTDOWN/REBOOT/SUSPEND/RESUME answer E_STATE",
	  check_illegal_crashed },
	{ "MGMT-045", "SUSPEND -> PAUSED/USER, illegal set, RESUME -> RUNNING", check_suspend_resume },
	{ "MGMT-045", "DESTROY -> SHUTOFF/DESTROYED, illegal set, START", check_destroy_start },
	{ "MGMT-044", "REBOOT -> RUNNING, then RUNNING/REBOOTED + STARTED", check_reboot },
	{ "MGMT-045", "RESET -> RUNNING/RESET", check_reset },
	{ "MGMT-045", "SHUTDOWN -> SHUTOFF (SHUTDOWN or DESTROYED), START", check_shutdown },
	{ 0 },
};
