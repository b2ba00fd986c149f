/*
 * svc_events.c - WatchEvents: streams hv-core's lifecycle and fault events
 * from the agent's event log (agent/events/), resumable by sequence number.
 */
#include "agent.h"

#include <stdio.h>
#include <string.h>

#include "store.h"

#define BATCH 32
#define WAIT_MS 200 /* how often a waiting stream checks for cancellation */

void event_msg_from_rec(Hvmgr__V1__Event *ev, const struct eventlog_rec *r)
{
	Hvmgr__V1__Event init = HVMGR__V1__EVENT__INIT;

	*ev = init;
	ev->seq = r->ev.seq;
	ev->time_ns = r->ev.time_ns;
	ev->type = (Hvmgr__V1__EventType)r->ev.type;
	ev->vm_id = r->ev.vm_id;
	ev->vm_name = (char *)r->vm_name;
	ev->detail = r->ev.detail;
	if (r->ev.type == HVM_EV_FAULT || r->ev.type == HVM_EV_WATCHDOG) {
		/* MGMT-052: kind in the low bits, suppressed count above */
		ev->detail = r->ev.detail & HVM_EV_FAULT_KIND_MASK;
		ev->suppressed = r->ev.detail >> HVM_EV_FAULT_SUPPRESSED_SHIFT;
	}
	ev->reason = (Hvmgr__V1__VmReason)r->ev.reason;
	ev->lost_before = r->lost_before;
	if (r->ev.type == HVM_EV_VEHICLE_STATE) {
		/* MGMT-405: detail = new | old << 8 */
		const char *now = hvm_vehicle_state_name(r->ev.detail & 0xFFu);
		const char *was = hvm_vehicle_state_name((r->ev.detail >> 8) & 0xFFu);
		ev->vehicle_state = (char *)(now ? now : "unknown");
		ev->previous_vehicle_state = (char *)(was ? was : "unknown");
	} else if (r->ev.type == HVM_EV_POLICY_DENIED) {
		/* MGMT-405: detail = cmd | state << 8 | rule << 16 */
		const char *vs = hvm_vehicle_state_name((r->ev.detail >> 8) & 0xFFu);
		int op = hvm_policy_op_of_cmd(r->ev.detail & 0xFFu);
		ev->vehicle_state = (char *)(vs ? vs : "unknown");
		ev->operation = (char *)(op >= 0 ? hvm_policy_op_name((uint32_t)op) : "");
		ev->rule = r->ev.detail >> 16;
	} else if (r->ev.type == HVM_EV_OTA_ROLLED_BACK) {
		/* MGMT-632: detail = the result */
		ev->outcome = (char *)agent_ota_result_name(r->ev.detail);
	} else if (r->ev.type >= HVM_EV_OTA_INSTALLED && r->ev.type <= HVM_EV_OTA_CONFIRMED) {
		ev->outcome = (char *)(r->ev.detail ? "B" : "A"); /* detail = slot */
	}
}

/* A PENDING_DONE event (MGMT-451): hv-agent's own, seq 0, not replayed. */
static void event_msg_from_note(Hvmgr__V1__Event *ev, const struct pending_note *n)
{
	Hvmgr__V1__Event init = HVMGR__V1__EVENT__INIT;

	*ev = init;
	ev->type = HVMGR__V1__EVENT_TYPE__EVENT_TYPE_PENDING_DONE;
	ev->time_ns = n->time_ns;
	ev->vm_id = n->vm_id;
	ev->vm_name = (char *)n->vm_name;
	ev->operation = (char *)n->op;
	ev->pending_id = n->id;
	ev->outcome = (char *)n->outcome;
	ev->message = (char *)n->msg;
}

/* Sends the audit finding, if there is one that `told` does not hold yet;
 * told is then the finding ("" while there is none). 0, or -1 when the
 * stream failed (st). */
static int audit_finding_event(struct agent *ag, char *told, size_t len, struct rpc_stream *s,
			       struct hv_status *st)
{
	struct store_err f;

	if (!ag->store || !store_audit_tampered(ag->store, &f)) {
		told[0] = '\0';
		return 0;
	}
	if (!strncmp(told, f.msg, len - 1))
		return 0;
	Hvmgr__V1__Event ev = HVMGR__V1__EVENT__INIT;
	ev.type = HVMGR__V1__EVENT_TYPE__EVENT_TYPE_AUDIT_FINDING;
	ev.vm_name = "";
	ev.message = f.msg;
	if (rpc_stream_send(s, &ev.base, st) != 0)
		return -1;
	snprintf(told, len, "%s", f.msg);
	return 0;
}

static void watch_events(const struct rpc_call_ctx *ctx, const ProtobufCMessage *m,
			 struct rpc_stream *s, struct hv_status *st)
{
	const Hvmgr__V1__WatchEventsRequest *req = (const Hvmgr__V1__WatchEventsRequest *)m;
	struct agent *ag = ctx->app;
	struct eventlog_rec recs[BATCH];
	struct eventlog_stats es;
	struct hvm_vm_slot filter;
	char label[64];
	int filtered = 0;
	uint64_t pos;

	if (!ag->events) {
		hv_status_set(st, HV_UNAVAILABLE, "event log not running");
		return;
	}
	if (req->vm) {
		if (resolve_vm(ag, req->vm, &filter, label, sizeof label, st) != 0)
			return;
		filtered = 1;
	}
	eventlog_stats(ag->events, &es);
	switch (req->start) {
	case HVMGR__V1__WATCH_EVENTS_REQUEST__START__START_NOW:
		pos = es.next_seq;
		break;
	case HVMGR__V1__WATCH_EVENTS_REQUEST__START__START_AT_SEQ:
		pos = req->seq;
		break;
	case HVMGR__V1__WATCH_EVENTS_REQUEST__START__START_OLDEST:
		pos = es.oldest_seq;
		break;
	default:
		hv_status_set(st, HV_INVALID_ARGUMENT, "unknown start mode %d", (int)req->start);
		return;
	}

	uint64_t carried_lost = 0, npos = pending_notes_next(ag->pending);
	char told[STORE_ERR_MSG_MAX] = "";
	while (rpc_stream_alive(s)) {
		/* REQ-SAF-16: an audit finding is announced to every watcher of
		 * all VMs, once per finding (again after it was acknowledged and
		 * a new one was found). */
		if (!filtered && audit_finding_event(ag, told, sizeof told, s, st) != 0) {
			if (st->code == HV_CANCELLED)
				hv_status_ok(st);
			return;
		}
		struct pending_note notes[8];
		size_t nn;
		while ((nn = pending_notes_read(ag->pending, &npos, notes, 8)) > 0)
			for (size_t i = 0; i < nn; i++) {
				if (filtered && strcmp(notes[i].vm_name, filter.name) != 0)
					continue;
				Hvmgr__V1__Event ev;
				event_msg_from_note(&ev, &notes[i]);
				if (rpc_stream_send(s, &ev.base, st) != 0) {
					if (st->code == HV_CANCELLED)
						hv_status_ok(st);
					return;
				}
			}
		size_t n = eventlog_read(ag->events, &pos, recs, BATCH, WAIT_MS);
		for (size_t i = 0; i < n; i++) {
			const struct eventlog_rec *r = &recs[i];
			carried_lost += r->lost_before;
			if (filtered && r->ev.vm_id != filter.id)
				continue;
			Hvmgr__V1__Event ev;
			event_msg_from_rec(&ev, r);
			ev.lost_before = carried_lost;
			if (rpc_stream_send(s, &ev.base, st) != 0) {
				if (st->code == HV_CANCELLED)
					hv_status_ok(st); /* the client left: nothing to report */
				return;
			}
			carried_lost = 0;
		}
	}
}

void svc_watch_events(const struct rpc_call_ctx *ctx, const ProtobufCMessage *m,
		      struct rpc_stream *s, struct hv_status *st)
{
	struct agent *ag = ctx->app;

	/* followed live: the event log reads hv-core's ring at its fast rate */
	if (ag->events)
		eventlog_live(ag->events, 1);
	watch_events(ctx, m, s, st);
	if (ag->events)
		eventlog_live(ag->events, 0);
}
