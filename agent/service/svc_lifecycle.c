/*
 * svc_lifecycle.c - the state-changing RPCs of hvmgr.v1: Define, Undefine and
 * the lifecycle commands (MGMT-045). Each runs as the agent's one operation
 * in progress (agent_op_enter: a bounded queue that honors the caller's
 * deadline and shutdown; a call refused there changed nothing), as a short
 * sequence of store writes and one or more management commands, ordered so
 * that a crash at any point leaves something
 * reconciliation completes without losing or duplicating a VM
 * (docs/reconcile.md "Crash points"):
 *   - Define of a new VM: store the VM and its configuration revision first,
 *     then DEFINE in hv-core (a crash in between: reconciliation defines it);
 *     a refusal removes what was stored.
 *   - Define of a stored VM (new configuration): UNDEFINE in hv-core if it
 *     has it (shut off only), store the revision, DEFINE.
 *   - Lifecycle commands record the desired state first, then command; a
 *     refusal restores the previous desired state.
 *   - Undefine records desired SHUTOFF, UNDEFINEs in hv-core, then forgets
 *     the VM in the store (a crash in between: the VM is defined again, shut
 *     off; repeating the Undefine finishes it).
 * Every call is recorded in the audit log with its outcome (REQ-SAF-16).
 * hv-core validates everything again (REQ-SAF-09); the checks here only give
 * better messages.
 */
#include "agent.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "callscope.h"
#include "log.h"
#include "outcome.h"
#include "reconcile.h"
#include "store.h"
#include "store_status.h"
#include "vmblob.h"

/* The desired state a command leaves (REQ-PRD-04); 0 = unchanged. */
static int desired_after(uint32_t cmd, enum store_vm_state *d)
{
	switch (cmd) {
	case HVM_CMD_START:
	case HVM_CMD_RESUME:
	case HVM_CMD_REBOOT:
	case HVM_CMD_RESET:
		*d = STORE_VM_RUNNING;
		return 1;
	case HVM_CMD_SHUTDOWN:
	case HVM_CMD_DESTROY:
	case HVM_CMD_UNDEFINE:
		*d = STORE_VM_STOPPED;
		return 1;
	case HVM_CMD_SUSPEND:
		*d = STORE_VM_PAUSED;
		return 1;
	}
	return 0;
}

static void answer_vm(struct agent *ag, uint32_t id, int define, struct rpc_result *res)
{
	struct hvm_vm_slot after;
	struct vm_msg vm;

	if (hvlink_read_slot(ag->link, id, &after, &res->st) != 0 ||
	    vm_msg_merged(ag, &vm, &after, &res->st) != 0)
		return;
	if (define) {
		Hvmgr__V1__DefineResponse resp = HVMGR__V1__DEFINE_RESPONSE__INIT;
		resp.vm = &vm.vm;
		rpc_result_message(res, &resp.base);
	} else {
		Hvmgr__V1__LifecycleResponse resp = HVMGR__V1__LIFECYCLE_RESPONSE__INIT;
		resp.vm = &vm.vm;
		rpc_result_message(res, &resp.base);
	}
}

static void answer_undefined(struct rpc_result *res)
{
	Hvmgr__V1__UndefineResponse resp = HVMGR__V1__UNDEFINE_RESPONSE__INIT;
	rpc_result_message(res, &resp.base);
}

/* A VM the store holds and hv-core lacks: Undefine forgets it, Start defines
 * it from its latest revision first (virsh starts inactive domains the same
 * way). 1 when handled (res set), 0 when the store lacks it too. */
static int stored_only(struct agent *ag, const Hvmgr__V1__VmSelector *sel, uint32_t cmd,
		       uint32_t *id, struct rpc_result *res)
{
	struct store_vm v;
	struct store_err e;
	struct hv_status st;
	char label[96];
	uint32_t rev;

	if ((cmd != HVM_CMD_START && cmd != HVM_CMD_UNDEFINE) || !sel ||
	    sel->by_case == HVMGR__V1__VM_SELECTOR__BY_ID ||
	    resolve_stored(ag, sel, &v, label, sizeof label, &st) != 0)
		return 0;
	if (cmd == HVM_CMD_UNDEFINE) {
		if (store_vm_delete(ag->store, v.name, &e) != STORE_OK) {
			status_from_store(&res->st, &e, "undefine: store");
			return 1;
		}
		log_info("undefine '%s': hv-core did not have it; removed from the store", v.name);
		answer_undefined(res);
		return 1;
	}
	enum core_result rc =
		reconcile_define_stored(ag->link, ag->store, v.name, id, &rev, &res->st);
	if (rc != CORE_OK) {
		hv_status_prefix(&res->st, "start '%s' (defined in the store only): ", v.name);
		return 1;
	}
	log_info("start '%s': defined revision %u in hv-core as id %u first", v.name, rev, *id);
	return -1; /* defined: go on with the command on *id */
}

/* MGMT-713: hv-core answers START, RESET (and REBOOT's fallback) at once and
 * boots the VM in units while it is BLOCKED. Start, Reset and Reboot answer
 * when the VM runs, with the failure when its boot failed (SHUTOFF, FAILED),
 * or with the VM still starting when the client's deadline (less a margin for
 * the answer to arrive) or START_WAIT_MS comes first. A REBOOT the guest is
 * asked for leaves the VM RUNNING: Reboot answers at once then. 0 when
 * res->st is untouched. */
#define START_WAIT_MS 600000u
#define START_ANSWER_MARGIN_NS (500ull * HV_NS_PER_MS)

/* The status of the BOOT_FAILED event of VM id at or after event `from`;
 * HVM_OK when there is none to read. */
static uint32_t boot_failure(struct agent *ag, uint32_t id, uint64_t from)
{
	struct hvm_event ev[16];
	struct hv_status st;
	uint64_t pos = from, lost;
	size_t n;

	do {
		if (hvlink_read_events(ag->link, &pos, ev, 16, &n, &lost, &st) != 0)
			return HVM_OK;
		for (size_t i = 0; i < n; i++)
			if (ev[i].type == HVM_EV_BOOT_FAILED && ev[i].vm_id == id)
				return ev[i].detail;
	} while (n == 16);
	return HVM_OK;
}

static int start_settled(struct agent *ag, uint32_t id, const char *what, uint64_t ev_from,
			 struct hv_status *st)
{
	uint64_t until = hv_deadline_after_ms(START_WAIT_MS);
	uint64_t dl = hv_callscope_deadline();

	if (dl && dl - START_ANSWER_MARGIN_NS < until)
		until = dl > START_ANSWER_MARGIN_NS ? dl - START_ANSWER_MARGIN_NS : 0;
	struct hvm_vm_slot s;
	if (hvlink_wait_not_blocked(ag->link, id, until, hv_callscope_stopping, &s, st) != 0)
		return -1;
	if (s.state == HVM_VM_SHUTOFF && s.reason == HVM_R_FAILED) {
		uint32_t why = boot_failure(ag, id, ev_from);
		hv_status_set(st, why == HVM_E_HASH ? HV_DATA_LOSS : HV_FAILED_PRECONDITION,
			      "%s: hv-core could not boot it (%s%s); it is shut off (MGMT-713)",
			      what, why == HVM_OK ? "see hv-core's log" : hvlink_hvm_status_name(why),
			      why == HVM_E_HASH ? ": its image does not match the SHA-256 "
						  "hv-core holds for it"
						: "");
		return -1;
	}
	return 0;
}

void agent_lifecycle_locked(struct agent *ag, const Hvmgr__V1__VmSelector *sel, uint32_t cmd,
			    const char *verb, uint64_t arg0, struct rpc_result *res)
{
	struct hvm_vm_slot slot;
	struct store_vm v;
	struct store_err e;
	enum store_vm_state want, prev = STORE_VM_STOPPED;
	char label[64], what[96];
	int stored, changed = 0;

	if (resolve_vm(ag, sel, &slot, label, sizeof label, &res->st) != 0) {
		uint32_t id;
		if (res->st.code != HV_NOT_FOUND)
			return;
		struct hv_status nf = res->st;
		int h = stored_only(ag, sel, cmd, &id, res);
		if (h == 0)
			res->st = nf;
		if (h >= 0)
			return;
		if (hvlink_read_slot(ag->link, id, &slot, &res->st) != 0)
			return;
		snprintf(label, sizeof label, "'%s'", slot.name);
	}
	snprintf(what, sizeof what, "%s %s", verb, label);
	if ((stored = store_vm_for_slot(ag, &slot, &v, &res->st)) < 0)
		return;
	if (stored && desired_after(cmd, &want) && want != v.desired) {
		/* Write-ahead: the wish is recorded before hv-core acts on it. */
		if (store_vm_set_desired(ag->store, v.name, want, &e) != STORE_OK) {
			status_from_store(&res->st, &e, "%s: store", what);
			return;
		}
		prev = v.desired;
		changed = 1;
	}
	uint64_t ev_from = 0, ev_head = 0;
	struct hv_status ev_st;
	int boots = cmd == HVM_CMD_START || cmd == HVM_CMD_RESET || cmd == HVM_CMD_REBOOT;
	if (boots && hvlink_event_start(ag->link, &ev_from, &ev_head, &ev_st) == 0)
		ev_from = ev_head; /* MGMT-713: a failure of this boot comes after */
	enum core_result rc = core_cmd(ag->link, cmd, slot.id, arg0, what, &res->st);
	if (rc != CORE_OK) {
		log_info("%s", res->st.msg);
		/* A definite refusal changed nothing: neither does the store.
		 * Without an answer the wish stays recorded for reconciliation. */
		if (rc == CORE_REFUSED && changed &&
		    store_vm_set_desired(ag->store, v.name, prev, &e) != STORE_OK)
			log_error("%s: cannot restore the desired state %s: %s", what,
				  store_vm_state_name(prev), e.msg);
		return;
	}
	if (boots && start_settled(ag, slot.id, what, ev_from, &res->st) != 0) {
		log_info("%s", res->st.msg);
		return;
	}
	log_info("%s: done", what);
	if (cmd != HVM_CMD_UNDEFINE) {
		answer_vm(ag, slot.id, 0, res);
		return;
	}
	if (stored && store_vm_delete(ag->store, v.name, &e) != STORE_OK) {
		hv_status_set(&res->st, HV_INTERNAL,
			      "%s: undefined in hv-core, but the store could not forget it (%s); it will be defined again at the next reconciliation: repeat the undefine",
			      what, e.msg);
		return;
	}
	answer_undefined(res);
}

/* dry_run: hv-core's policy verdict on the command, nothing done (MGMT-404). */
static void dry_run(struct agent *ag, const Hvmgr__V1__VmSelector *sel, uint32_t cmd,
		    const char *verb, struct rpc_result *res)
{
	struct hvm_vm_slot slot;
	struct agent_verdict v;
	struct vm_msg vm;
	char label[64], what[96];

	if (resolve_vm(ag, sel, &slot, label, sizeof label, &res->st) != 0)
		return;
	snprintf(what, sizeof what, "%s %s (dry run)", verb, label);
	if (agent_policy_verdict(ag, &slot, cmd, &v, what, &res->st) != 0)
		return;
	if (cmd == HVM_CMD_UNDEFINE) {
		Hvmgr__V1__UndefineResponse resp = HVMGR__V1__UNDEFINE_RESPONSE__INIT;
		resp.verdict = &v.v;
		rpc_result_message(res, &resp.base);
		return;
	}
	if (vm_msg_merged(ag, &vm, &slot, &res->st) != 0)
		return;
	Hvmgr__V1__LifecycleResponse resp = HVMGR__V1__LIFECYCLE_RESPONSE__INIT;
	resp.vm = &vm.vm;
	resp.verdict = &v.v;
	rpc_result_message(res, &resp.base);
}

/* when_allowed (MGMT-450): a command hv-core's policy denies now is queued
 * instead of run. 0 when it is allowed now (the caller runs it); 1 when res
 * is set (queued, or an error). Caller holds the operation. */
static int queue_if_denied(struct agent *ag, const struct rpc_peer *peer,
			   const Hvmgr__V1__VmSelector *sel, uint32_t cmd, const char *verb,
			   uint64_t arg0, uint64_t *queued, struct rpc_result *res)
{
	struct hvm_vm_slot slot;
	struct agent_verdict v;
	struct store_pending p;
	Hvmgr__V1__PendingOp op;
	struct vm_msg vm;
	char label[64], what[96];

	if (resolve_vm(ag, sel, &slot, label, sizeof label, &res->st) != 0) {
		if (res->st.code != HV_NOT_FOUND)
			return 1;
		return 0; /* stored only: the command itself says what becomes of it */
	}
	snprintf(what, sizeof what, "%s %s (when allowed)", verb, label);
	if (agent_policy_verdict(ag, &slot, cmd, &v, what, &res->st) != 0)
		return 1;
	if (v.v.allowed)
		return 0;
	if (agent_pending_queue(ag, peer, &slot, verb, arg0, v.msg, &p, &res->st) != 0)
		return 1;
	*queued = p.id;
	pending_msg_from_store(&op, &p);
	if (cmd == HVM_CMD_UNDEFINE) {
		Hvmgr__V1__UndefineResponse resp = HVMGR__V1__UNDEFINE_RESPONSE__INIT;
		resp.verdict = &v.v;
		resp.pending = &op;
		rpc_result_message(res, &resp.base);
		return 1;
	}
	if (vm_msg_merged(ag, &vm, &slot, &res->st) != 0)
		return 1;
	Hvmgr__V1__LifecycleResponse resp = HVMGR__V1__LIFECYCLE_RESPONSE__INIT;
	resp.vm = &vm.vm;
	resp.verdict = &v.v;
	resp.pending = &op;
	rpc_result_message(res, &resp.base);
	return 1;
}

static void lifecycle(const struct rpc_call_ctx *ctx, const Hvmgr__V1__VmSelector *sel,
		      uint32_t cmd, const char *rpc, const char *verb, uint64_t arg0, int dry,
		      int when, struct rpc_result *res)
{
	struct agent *ag = ctx->app;
	char args[180];

	audit_selector(sel, args, sizeof args);
	if (cmd == HVM_CMD_SHUTDOWN)
		snprintf(args + strlen(args), sizeof args - strlen(args), " timeout_ms=%" PRIu64,
			 arg0);
	if (dry) {
		/* Changes nothing, so it is not audited, like the reads. */
		dry_run(ag, sel, cmd, verb, res);
		return;
	}
	if (when)
		snprintf(args + strlen(args), sizeof args - strlen(args), " when_allowed");
	uint64_t queued = 0;
	if (agent_op_enter(ag, hvlink_cmd_name(cmd), &res->st) == 0) {
		if (!when || queue_if_denied(ag, ctx->peer, sel, cmd, verb, arg0, &queued, res) == 0)
			agent_lifecycle_locked(ag, sel, cmd, verb, arg0, res);
		agent_op_leave(ag);
	}
	if (queued)
		snprintf(args + strlen(args), sizeof args - strlen(args), " queued=%" PRIu64, queued);
	agent_audit(ag, ctx->peer, rpc, args, &res->st);
}

#define LIFECYCLE_HANDLER(fn, type, cmd, rpc, verb)                                                \
	void fn(const struct rpc_call_ctx *ctx, const ProtobufCMessage *m, struct rpc_result *res) \
	{                                                                                          \
		const type *req = (const type *)m;                                                 \
		lifecycle(ctx, req->vm, cmd, rpc, verb, 0, req->dry_run, req->when_allowed, res);  \
	}

LIFECYCLE_HANDLER(svc_undefine, Hvmgr__V1__UndefineRequest, HVM_CMD_UNDEFINE, "Undefine", "undefine")
LIFECYCLE_HANDLER(svc_start, Hvmgr__V1__StartRequest, HVM_CMD_START, "Start", "start")
LIFECYCLE_HANDLER(svc_destroy, Hvmgr__V1__DestroyRequest, HVM_CMD_DESTROY, "Destroy", "destroy")
LIFECYCLE_HANDLER(svc_reboot, Hvmgr__V1__RebootRequest, HVM_CMD_REBOOT, "Reboot", "reboot")
LIFECYCLE_HANDLER(svc_reset, Hvmgr__V1__ResetRequest, HVM_CMD_RESET, "Reset", "reset")
LIFECYCLE_HANDLER(svc_suspend, Hvmgr__V1__SuspendRequest, HVM_CMD_SUSPEND, "Suspend", "suspend")
LIFECYCLE_HANDLER(svc_resume, Hvmgr__V1__ResumeRequest, HVM_CMD_RESUME, "Resume", "resume")

void svc_shutdown(const struct rpc_call_ctx *ctx, const ProtobufCMessage *m, struct rpc_result *res)
{
	const Hvmgr__V1__ShutdownRequest *req = (const Hvmgr__V1__ShutdownRequest *)m;

	lifecycle(ctx, req->vm, HVM_CMD_SHUTDOWN, "Shutdown", "shutdown", req->timeout_ms,
		  req->dry_run, req->when_allowed, res);
}

/* FDT header magic, big-endian (devicetree specification). */
static int looks_like_fdt(const uint8_t *p, size_t len)
{
	return len >= 40 && p[0] == 0xd0 && p[1] == 0x0d && p[2] == 0xfe && p[3] == 0xed;
}

/* Puts a configuration the store already holds as its latest revision into
 * hv-core again after a refused replacement; logs what it could not do. */
static void restore_previous(struct agent *ag, const char *name, uint32_t prev_rev, int was_defined)
{
	struct store_err e;
	struct hv_status st;
	uint32_t rev, id;

	if (prev_rev &&
	    store_config_rollback(ag->store, name, prev_rev, "hv-agent", &rev, &e) != STORE_OK) {
		log_error("define '%s': cannot store revision %u again after the refusal: %s", name,
			  prev_rev, e.msg);
		return;
	}
	if (was_defined &&
	    reconcile_define_stored(ag->link, ag->store, name, &id, &rev, &st) != CORE_OK)
		log_error("define '%s': cannot define the previous configuration again: %s (reconciliation retries)",
			  name, st.msg);
}

int agent_set_config(struct agent *ag, const char *name, const void *blob, size_t len,
		     uint32_t rollback_of, const char *author, uint32_t *rev_out, uint32_t *id_out,
		     struct hv_status *st)
{
	struct hvm_vm_slot slot;
	struct store_vm v;
	struct store_err e;
	char what[96];
	int in_core;

	snprintf(what, sizeof what, "define '%s'", name);
	if (store_vm_get(ag->store, name, &v, &e) != STORE_OK)
		return status_from_store(st, &e, "%s: store", what);
	in_core = hvlink_find_by_name(ag->link, name, &slot, st) == 0;
	if (!in_core && st->code != HV_NOT_FOUND) {
		hv_status_prefix(st, "%s: ", what);
		return -1;
	}
	if (in_core) {
		if (slot.state != HVM_VM_SHUTOFF && slot.state != HVM_VM_CRASHED)
			return hv_status_set(st, HV_FAILED_PRECONDITION,
					     "%s: the VM is %s; shut it off before changing its configuration",
					     what, reconcile_state_name(slot.state));
		/* hv-core first: a crash before the new revision is stored
		 * leaves the old one for reconciliation to define again. */
		if (core_cmd(ag->link, HVM_CMD_UNDEFINE, slot.id, 0, what, st) != CORE_OK)
			return -1;
	}
	enum store_status s =
		rollback_of
			? store_config_rollback(ag->store, name, rollback_of, author, rev_out, &e)
			: store_config_add(ag->store, name, blob, len, author, rev_out, &e);
	if (s != STORE_OK) {
		status_from_store(st, &e, "%s: store", what);
		if (in_core)
			restore_previous(ag, name, 0, 1);
		return -1;
	}
	uint32_t rev;
	enum core_result rc = reconcile_define_stored(ag->link, ag->store, name, id_out, &rev, st);
	if (rc == CORE_REFUSED) {
		log_info("%s revision %u refused: %s", what, *rev_out, st->msg);
		if (v.latest_rev)
			restore_previous(ag, name, v.latest_rev, in_core);
		return -1;
	}
	if (rc != CORE_OK)
		return -1;
	log_info("%s: revision %u defined as id %u", what, *rev_out, *id_out);
	return 0;
}

static void define_locked(const struct rpc_call_ctx *ctx, const Hvmgr__V1__DefineRequest *req,
			  const struct vmblob_id *bid, struct rpc_result *res)
{
	struct agent *ag = ctx->app;
	struct agent_caller caller;
	struct hvm_vm_slot slot;
	struct store_vm v;
	struct store_err e;
	char what[96], uuid[STORE_UUID_LEN + 1];
	uint32_t rev, id;

	agent_caller(ag, ctx->peer, &caller);
	snprintf(what, sizeof what, "define '%s'", bid->name);
	switch (store_vm_get(ag->store, bid->name, &v, &e)) {
	case STORE_OK:
		/* A new configuration for a VM hv-agent already holds. */
		if (bid->uuid[0] && strcmp(bid->uuid, v.uuid) != 0) {
			rpc_result_error(res, HV_INVALID_ARGUMENT,
					 "%s: the configuration's uuid %s differs from the VM's uuid %s",
					 what, bid->uuid, v.uuid);
			return;
		}
		if (agent_set_config(ag, bid->name, req->config_dtb.data, req->config_dtb.len, 0,
				     caller.name, &rev, &id, &res->st) == 0)
			answer_vm(ag, id, 1, res);
		return;
	case STORE_ENOTFOUND:
		break;
	default:
		status_from_store(&res->st, &e, "%s: store", what);
		return;
	}
	if (hvlink_find_by_name(ag->link, bid->name, &slot, &res->st) == 0) {
		rpc_result_error(res, HV_ALREADY_EXISTS,
				 "%s: hv-core already has a VM of this name and hv-agent holds no configuration for it (hv-core's boot configuration or another client defined it)",
				 what);
		return;
	}
	if (res->st.code != HV_NOT_FOUND) {
		hv_status_prefix(&res->st, "%s: ", what);
		return;
	}
	if (bid->uuid[0])
		snprintf(uuid, sizeof uuid, "%s", bid->uuid);
	else if (store_uuid_generate(uuid, &e) != STORE_OK) {
		status_from_store(&res->st, &e, "%s: store", what);
		return;
	}
	/* Write-ahead: the VM and its configuration are stored before hv-core
	 * sees them; a crash in between leaves the definition to reconciliation. */
	if (store_vm_create(ag->store, bid->name, uuid, &e) != STORE_OK) {
		status_from_store(&res->st, &e, "%s: store", what);
		return;
	}
	if (store_config_add(ag->store, bid->name, req->config_dtb.data, req->config_dtb.len,
			     caller.name, &rev, &e) != STORE_OK) {
		status_from_store(&res->st, &e, "%s: store", what);
		store_vm_delete(ag->store, bid->name, &e);
		return;
	}
	enum core_result rc =
		reconcile_define_stored(ag->link, ag->store, bid->name, &id, &rev, &res->st);
	if (rc == CORE_REFUSED) {
		log_info("%s refused: %s", what, res->st.msg);
		if (store_vm_delete(ag->store, bid->name, &e) != STORE_OK)
			log_error("%s: cannot remove the refused VM from the store: %s", what, e.msg);
		return;
	}
	if (rc != CORE_OK)
		return; /* no answer: stored; reconciliation defines it */
	log_info("%s: revision %u defined as id %u", what, rev, id);
	answer_vm(ag, id, 1, res);
}

void svc_define(const struct rpc_call_ctx *ctx, const ProtobufCMessage *m, struct rpc_result *res)
{
	const Hvmgr__V1__DefineRequest *req = (const Hvmgr__V1__DefineRequest *)m;
	struct agent *ag = ctx->app;
	struct vmblob_id bid;
	char args[200];

	snprintf(args, sizeof args, "config_dtb=%zu bytes", req->config_dtb.len);
	if (req->config_dtb.len == 0) {
		rpc_result_error(res, HV_INVALID_ARGUMENT, "define: config_dtb is empty");
	} else if (req->config_dtb.len > HVM_DATA_SIZE) {
		rpc_result_error(res, HV_INVALID_ARGUMENT,
				 "define: config_dtb is %zu bytes, more than the %u-byte command data area holds",
				 req->config_dtb.len, (unsigned)HVM_DATA_SIZE);
	} else if (!looks_like_fdt(req->config_dtb.data, req->config_dtb.len)) {
		rpc_result_error(res, HV_INVALID_ARGUMENT,
				 "define: config_dtb is not a flattened device tree (no 0xd00dfeed magic; compile the .dts with dtc -O dtb)");
	} else if (vmblob_identity(req->config_dtb.data, req->config_dtb.len, &bid, &res->st) != 0) {
		hv_status_prefix(&res->st, "define: ");
	} else {
		snprintf(args, sizeof args, "name=%s uuid=%s config_dtb=%zu bytes", bid.name,
			 bid.uuid[0] ? bid.uuid : "(none)", req->config_dtb.len);
		if (agent_op_enter(ag, "DEFINE", &res->st) == 0) {
			define_locked(ctx, req, &bid, res);
			agent_op_leave(ag);
		}
	}
	agent_audit(ag, ctx->peer, "Define", args, &res->st);
}
