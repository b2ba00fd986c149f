/*
 * pending.c - lifecycle commands that wait for the safety policy to allow
 * them (when_allowed, docs/mgmt-abi.md MGMT-450..452).
 *
 * A lifecycle RPC with when_allowed that hv-core's policy denies now is
 * queued in the store (migration "pending_ops") instead of failing. One
 * thread runs the queue: at start (the vehicle state may have changed while
 * hv-agent was not running), and whenever hv-core reports a change of the
 * vehicle state (event VEHICLE_STATE, MGMT-405). For each queued command,
 * oldest first, it asks hv-core's CHECK_POLICY; what is allowed now runs as
 * the RPC would have run it, as the agent's one operation in progress. Its
 * outcome is written to the store, to the audit log (caller hv-agent, on
 * behalf of the caller that queued it) and sent on WatchEvents as a
 * PENDING_DONE event. hv-core still checks the command itself: hv-agent
 * decides nothing here but when to ask again.
 *
 * A command whose VM was undefined, or redefined under the same name (other
 * uuid), meanwhile fails rather than act on a VM it was not meant for.
 */
#include "agent.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "callscope.h"
#include "log.h"
#include "store.h"
#include "store_status.h"
#include "uuid.h"

#define NOTES 64u      /* PENDING_DONE events held for WatchEvents streams  */
#define WAIT_MS 200u   /* the runner's wait for events, and its stop latency */
#define PASS_MAX 100u  /* queued commands looked at in one pass             */
#define RETRY_MS 1000u /* next pass after one that could not finish         */

struct pending {
	struct agent *ag;
	pthread_t thread;
	int started;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int stop;     /* under lock                                          */
	int stopping; /* atomic: the runner's call scope                     */
	int kick;     /* under lock: run a pass soon                         */
	struct pending_note notes[NOTES];
	uint64_t notes_next; /* under lock: number of the next note           */
};

static const struct {
	const char *verb;
	uint32_t cmd;
} verbs[] = {
	{ "start", HVM_CMD_START },
	{ "shutdown", HVM_CMD_SHUTDOWN },
	{ "destroy", HVM_CMD_DESTROY },
	{ "reboot", HVM_CMD_REBOOT },
	{ "reset", HVM_CMD_RESET },
	{ "suspend", HVM_CMD_SUSPEND },
	{ "resume", HVM_CMD_RESUME },
	{ "undefine", HVM_CMD_UNDEFINE },
	/* the switch of an installed OTA image (svc_ota.c): arg = window | timeout << 32 */
	{ "otaswitch", HVM_CMD_OTA_SWITCH },
};

static int cmd_of_verb(const char *verb, uint32_t *cmd)
{
	for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
		if (strcmp(verbs[i].verb, verb) == 0) {
			*cmd = verbs[i].cmd;
			return 0;
		}
	return -1;
}

void pending_msg_from_store(Hvmgr__V1__PendingOp *m, const struct store_pending *p)
{
	hvmgr__v1__pending_op__init(m);
	m->id = p->id;
	m->operation = (char *)p->op;
	m->vm_name = (char *)p->vm_name;
	m->vm_uuid = (char *)p->vm_uuid;
	m->timeout_ms = (uint32_t)p->arg;
	m->caller = (char *)p->caller;
	m->queued_ms = (uint64_t)p->queued_ms;
	m->state = (char *)store_pending_state_name(p->state);
	m->finished_ms = (uint64_t)p->finished_ms;
	m->outcome = (char *)p->outcome;
}

int agent_pending_queue(struct agent *ag, const struct rpc_peer *peer,
			const struct hvm_vm_slot *slot, const char *verb, uint64_t arg0,
			const char *why, struct store_pending *out, struct hv_status *st)
{
	struct agent_caller c;
	struct store_err e;
	char uuid[HV_UUID_STR_LEN];
	uint64_t id;

	agent_caller(ag, peer, &c);
	hv_uuid_format(slot->uuid, uuid);
	if (store_pending_add(ag->store, verb, slot->name, uuid, arg0, c.name, why, &id, &e) !=
		    STORE_OK ||
	    store_pending_get(ag->store, id, out, &e) != STORE_OK)
		return status_from_store(st, &e, "%s '%s' when allowed: store", verb, slot->name);
	log_info("%s '%s' queued as pending command %" PRIu64 " until the policy allows it: %s",
		 verb, slot->name, id, why);
	return 0;
}

/* ---- PENDING_DONE events ---- */

static void note(struct pending *p, const struct store_pending *op, uint32_t vm_id,
		 const char *outcome, const char *msg)
{
	pthread_mutex_lock(&p->lock);
	struct pending_note *n = &p->notes[p->notes_next % NOTES];
	memset(n, 0, sizeof *n);
	n->n = p->notes_next++;
	n->time_ns = hv_mono_ns();
	n->id = op->id;
	n->vm_id = vm_id;
	snprintf(n->op, sizeof n->op, "%s", op->op);
	snprintf(n->vm_name, sizeof n->vm_name, "%.*s", (int)sizeof n->vm_name - 1, op->vm_name);
	snprintf(n->outcome, sizeof n->outcome, "%s", outcome);
	snprintf(n->msg, sizeof n->msg, "%s", msg);
	pthread_mutex_unlock(&p->lock);
}

uint64_t pending_notes_next(struct pending *p)
{
	if (!p)
		return 0;
	pthread_mutex_lock(&p->lock);
	uint64_t n = p->notes_next;
	pthread_mutex_unlock(&p->lock);
	return n;
}

size_t pending_notes_read(struct pending *p, uint64_t *pos, struct pending_note *out, size_t max)
{
	size_t k = 0;

	if (!p)
		return 0;
	pthread_mutex_lock(&p->lock);
	if (p->notes_next > NOTES && *pos < p->notes_next - NOTES)
		*pos = p->notes_next - NOTES; /* older ones are gone: ListPending keeps them */
	while (k < max && *pos < p->notes_next)
		out[k++] = p->notes[(*pos)++ % NOTES];
	pthread_mutex_unlock(&p->lock);
	return k;
}

/* ---- running the queue ---- */

/* The audit row of a queued command's end. */
static void audit_end(struct agent *ag, const struct store_pending *op, const char *outcome)
{
	struct store_audit_entry e = { .caller = "hv-agent", .role = "system" };
	struct store_err err;
	char args[300], out[STORE_OUTCOME_MAX + 1];

	snprintf(args, sizeof args, "id=%" PRIu64 " op=%s vm=name:%s uuid=%s queued_by=%s", op->id,
		 op->op, op->vm_name, op->vm_uuid, op->caller);
	snprintf(out, sizeof out, "%s", outcome);
	for (char *s = out; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			*s = '?';
	e.rpc = "hv-agent.pending";
	e.args = args;
	e.outcome = out;
	pthread_mutex_lock(&ag->audit_lock);
	if (store_audit_append(ag->store, &e, &err) != STORE_OK) {
		__atomic_add_fetch(&ag->audit_failures, 1, __ATOMIC_RELAXED);
		log_error("audit: cannot record the end of pending command %" PRIu64 ": %s", op->id,
			  err.msg);
	}
	pthread_mutex_unlock(&ag->audit_lock);
}

/* Ends op as state with outcome (done, failed, cancelled): store, audit, event. */
static void finish(struct pending *p, const struct store_pending *op, uint32_t vm_id,
		   enum store_pending_state state, const char *msg)
{
	struct agent *ag = p->ag;
	struct store_err e;
	char outcome[STORE_OUTCOME_MAX + 1];
	const char *sname = store_pending_state_name(state);

	snprintf(outcome, sizeof outcome, "%s%s%s", sname, msg[0] ? ": " : "", msg);
	if (store_pending_finish(ag->store, op->id, state, outcome, &e) != STORE_OK) {
		log_error("pending command %" PRIu64 ": cannot record its end (%s): %s", op->id,
			  outcome, e.msg);
		return;
	}
	log_info("pending command %" PRIu64 " (%s '%s'): %s", op->id, op->op, op->vm_name, outcome);
	audit_end(ag, op, outcome);
	note(p, op, vm_id, sname, outcome);
}

enum run_result {
	RUN_NEXT, /* ended, or still denied: go on with the next one */
	RUN_STOP, /* hv-core or the store did not answer: end the pass */
};

static enum run_result run_one(struct pending *p, const struct store_pending *op)
{
	struct agent *ag = p->ag;
	struct hvm_vm_slot slot;
	struct agent_verdict v;
	struct hv_status st;
	char uuid[HV_UUID_STR_LEN], what[128];
	uint32_t cmd;

	if (cmd_of_verb(op->op, &cmd) != 0) {
		finish(p, op, HVM_EV_NO_VM, STORE_PENDING_FAILED, "not a lifecycle operation");
		return RUN_NEXT;
	}
	if (hvlink_find_by_name(ag->link, op->vm_name, &slot, &st) != 0) {
		if (st.code != HV_NOT_FOUND)
			return RUN_STOP;
		finish(p, op, HVM_EV_NO_VM, STORE_PENDING_FAILED, "the VM is no longer defined");
		return RUN_NEXT;
	}
	hv_uuid_format(slot.uuid, uuid);
	if (strcmp(uuid, op->vm_uuid) != 0) {
		char msg[160];
		snprintf(msg, sizeof msg, "the VM was redefined meanwhile (uuid %s, queued for %s)",
			 uuid, op->vm_uuid);
		finish(p, op, slot.id, STORE_PENDING_FAILED, msg);
		return RUN_NEXT;
	}
	snprintf(what, sizeof what, "pending %" PRIu64 ": %s '%s'", op->id, op->op, op->vm_name);
	/* MGMT-621: the policy rules on an OTA switch as on the reset (or, for
	 * a VM that is shut off, the start) it performs */
	uint32_t ask = cmd != HVM_CMD_OTA_SWITCH ? cmd
		       : slot.state == HVM_VM_SHUTOFF || slot.state == HVM_VM_CRASHED
			       ? HVM_CMD_START
			       : HVM_CMD_RESET;
	if (agent_policy_verdict(ag, &slot, ask, &v, what, &st) != 0)
		return RUN_STOP;
	if (!v.v.allowed)
		return RUN_NEXT; /* still denied: it waits for the next change */
	if (hv_opqueue_enter(&ag->ops, what, 0, &st) != 0)
		return RUN_STOP;
	Hvmgr__V1__VmSelector sel = HVMGR__V1__VM_SELECTOR__INIT;
	struct rpc_result res = { 0 };
	sel.by_case = HVMGR__V1__VM_SELECTOR__BY_ID;
	sel.id = slot.id;
	if (cmd == HVM_CMD_OTA_SWITCH) {
		if (agent_ota_switch_locked(ag, &slot, op->arg, &res.st) == 0)
			hv_status_ok(&res.st);
	} else {
		agent_lifecycle_locked(ag, &sel, cmd, op->op, op->arg, &res);
	}
	hv_opqueue_leave(&ag->ops);
	free(res.resp);
	if (res.st.code == HV_OK) {
		finish(p, op, slot.id, STORE_PENDING_DONE, "");
		return RUN_NEXT;
	}
	if (strstr(res.st.msg, "(E_POLICY)")) {
		/* The state changed again between the check and the command. */
		log_info("%s: denied again (%s); it waits", what, res.st.msg);
		return RUN_NEXT;
	}
	if (res.st.code == HV_UNAVAILABLE || res.st.code == HV_DEADLINE_EXCEEDED)
		return RUN_STOP; /* no answer: the outcome is for the next pass to see */
	finish(p, op, slot.id, STORE_PENDING_FAILED, res.st.msg);
	return RUN_NEXT;
}

/* One pass over the queue; -1 when it could not finish (retry later). */
static int run_pass(struct pending *p)
{
	struct store_pending *ops = NULL;
	struct store_err e;
	size_t n = 0;
	int rc = 0;

	if (store_pending_list(p->ag->store, false, PASS_MAX, &ops, &n, &e) != STORE_OK) {
		log_error("pending commands: cannot read the queue: %s", e.msg);
		return -1;
	}
	for (size_t i = 0; i < n && !__atomic_load_n(&p->stopping, __ATOMIC_ACQUIRE); i++)
		if (run_one(p, &ops[i]) == RUN_STOP) {
			rc = -1;
			break;
		}
	store_pending_list_free(ops);
	return rc;
}

static int stopped(struct pending *p)
{
	pthread_mutex_lock(&p->lock);
	int s = p->stop;
	pthread_mutex_unlock(&p->lock);
	return s;
}

/* Waits up to ms for a kick or stop; returns 1 when kicked (and clears it). */
static int wait_kick(struct pending *p, unsigned ms)
{
	struct timespec ts = hv_timespec_after_ms(CLOCK_REALTIME, ms);
	int kicked;

	pthread_mutex_lock(&p->lock);
	while (!p->stop && !p->kick && pthread_cond_timedwait(&p->cond, &p->lock, &ts) != ETIMEDOUT)
		;
	kicked = p->kick;
	p->kick = 0;
	pthread_mutex_unlock(&p->lock);
	return kicked;
}

static void *runner(void *arg)
{
	struct pending *p = arg;
	struct agent *ag = p->ag;
	struct eventlog_rec recs[16];
	const struct hv_callscope cs = { .deadline_ns = 0, .stopping = &p->stopping };
	uint64_t pos = 0, retry_at = 0, sweep_at = 0;
	int need = 1; /* the state may have changed while hv-agent was down */
	/* OTA-209: abandoned uploads, at start-up and then every quarter of
	 * their age (at least a second, at most an hour apart) */
	uint64_t sweep_s = ag->ota.part_max_age_s / 4;
	sweep_s = sweep_s < 1 ? 1 : sweep_s > 3600 ? 3600 : sweep_s;
	const char *sweep_why = "start-up";

	hv_callscope_enter(&cs);
	/* pos 0: every event hv-agent has read since it started, from hv-core's
	 * first unacknowledged one on, those of the time it was not running
	 * among them (OTA-210: hv-core's OTA steps are audited once) */
	while (!stopped(p)) {
		if (hv_mono_ns() >= sweep_at) {
			agent_ota_sweep_parts(ag, sweep_why);
			sweep_why = "periodic";
			sweep_at = hv_mono_ns() + sweep_s * 1000000000ull;
		}
		if (need && hv_mono_ns() >= retry_at) {
			need = 0;
			if (run_pass(p) != 0) {
				need = 1;
				retry_at = hv_mono_ns() + RETRY_MS * 1000000ull;
			}
		}
		if (ag->events) {
			size_t n = eventlog_read(ag->events, &pos, recs, 16, WAIT_MS);
			for (size_t i = 0; i < n; i++) {
				if (recs[i].ev.type == HVM_EV_VEHICLE_STATE)
					need = 1;
				/* the runner follows the events anyway: hv-core's
				 * OTA steps go to the audit log from here */
				agent_ota_event_audit(ag, &recs[i]);
			}
			if (wait_kick(p, 0))
				need = 1;
		} else if (wait_kick(p, WAIT_MS)) {
			need = 1;
		}
	}
	hv_callscope_leave();
	return NULL;
}

struct pending *pending_start(struct agent *ag, struct hv_status *st)
{
	struct pending *p = calloc(1, sizeof *p);

	if (!p) {
		hv_status_set(st, HV_RESOURCE_EXHAUSTED, "out of memory");
		return NULL;
	}
	p->ag = ag;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	int rc = pthread_create(&p->thread, NULL, runner, p);
	if (rc != 0) {
		hv_status_set(st, HV_INTERNAL, "pending commands: cannot start a thread: %s",
			      strerror(rc));
		pthread_cond_destroy(&p->cond);
		pthread_mutex_destroy(&p->lock);
		free(p);
		return NULL;
	}
	p->started = 1;
	return p;
}

void pending_kick(struct pending *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->kick = 1;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

void pending_stop(struct pending *p)
{
	if (!p)
		return;
	__atomic_store_n(&p->stopping, 1, __ATOMIC_RELEASE);
	pthread_mutex_lock(&p->lock);
	p->stop = 1;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	if (p->started)
		pthread_join(p->thread, NULL);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

/* ---- the RPCs ---- */

void svc_list_pending(const struct rpc_call_ctx *ctx, const ProtobufCMessage *m,
		      struct rpc_result *res)
{
	const Hvmgr__V1__ListPendingRequest *req = (const Hvmgr__V1__ListPendingRequest *)m;
	Hvmgr__V1__ListPendingResponse resp = HVMGR__V1__LIST_PENDING_RESPONSE__INIT;
	struct agent *ag = ctx->app;
	struct store_pending *ops = NULL;
	struct store_err e;
	size_t n = 0;

	if (store_pending_list(ag->store, req->all, PASS_MAX, &ops, &n, &e) != STORE_OK) {
		status_from_store(&res->st, &e, "pending commands: store");
		return;
	}
	Hvmgr__V1__PendingOp *msgs = n ? calloc(n, sizeof *msgs) : NULL;
	Hvmgr__V1__PendingOp **ptrs = n ? calloc(n, sizeof *ptrs) : NULL;
	if (n && (!msgs || !ptrs)) {
		rpc_result_error(res, HV_RESOURCE_EXHAUSTED, "pending commands: out of memory");
	} else {
		for (size_t i = 0; i < n; i++) {
			pending_msg_from_store(&msgs[i], &ops[i]);
			ptrs[i] = &msgs[i];
		}
		resp.n_ops = n;
		resp.ops = ptrs;
		rpc_result_message(res, &resp.base);
	}
	free(ptrs);
	free(msgs);
	store_pending_list_free(ops);
}

void svc_cancel_pending(const struct rpc_call_ctx *ctx, const ProtobufCMessage *m,
			struct rpc_result *res)
{
	const Hvmgr__V1__CancelPendingRequest *req = (const Hvmgr__V1__CancelPendingRequest *)m;
	Hvmgr__V1__CancelPendingResponse resp = HVMGR__V1__CANCEL_PENDING_RESPONSE__INIT;
	Hvmgr__V1__PendingOp op;
	struct agent *ag = ctx->app;
	struct agent_caller c;
	struct store_pending p;
	struct store_err e;
	char args[64], why[STORE_OUTCOME_MAX + 1];

	snprintf(args, sizeof args, "id=%" PRIu64, req->id);
	agent_caller(ag, ctx->peer, &c);
	snprintf(why, sizeof why, "cancelled by %s", c.name);
	/* One operation at a time: the runner never runs a command being
	 * cancelled, and a cancel never ends one that just ran. */
	if (agent_op_enter(ag, "CANCEL_PENDING", &res->st) == 0) {
		if (store_pending_get(ag->store, req->id, &p, &e) != STORE_OK) {
			status_from_store(&res->st, &e, "cancel pending command %" PRIu64, req->id);
		} else if (p.state != STORE_PENDING) {
			rpc_result_error(res, HV_FAILED_PRECONDITION,
					 "cancel pending command %" PRIu64
					 ": it is not pending any more (%s)",
					 req->id, p.outcome);
		} else if (store_pending_finish(ag->store, p.id, STORE_PENDING_CANCELLED, why, &e) !=
				   STORE_OK ||
			   store_pending_get(ag->store, p.id, &p, &e) != STORE_OK) {
			status_from_store(&res->st, &e, "cancel pending command %" PRIu64, req->id);
		} else {
			log_info("pending command %" PRIu64 " (%s '%s'): %s", p.id, p.op, p.vm_name,
				 why);
			if (ag->pending)
				note(ag->pending, &p, HVM_EV_NO_VM, "cancelled", why);
			pending_msg_from_store(&op, &p);
			resp.op = &op;
			rpc_result_message(res, &resp.base);
		}
		agent_op_leave(ag);
	}
	agent_audit(ag, ctx->peer, "CancelPending", args, &res->st);
}
