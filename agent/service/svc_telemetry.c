/*
 * svc_telemetry.c - WatchHealth (docs/telemetry.md): the telemetry
 * registry's figures as a stream, sampled at an interval and/or on change.
 * On-change updates follow hv-core's event log: an event triggers a fresh
 * sample of the registry (the same one /metrics renders, so the two never
 * disagree) and an update naming the event; resuming after an update's
 * event_seq replays the changes since. A running VM whose heartbeat stops
 * advancing raises an alarm (and an update when on_change is set).
 */
#include "agent.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH 32
#define POLL_MS 20 /* on-change: how often the stream looks for events */
#define DEFAULT_STALL_MS 2000u

struct health_msg {
	Hvmgr__V1__HealthUpdate up;
	Hvmgr__V1__VmHealth vm[HVM_MAX_VMS];
	Hvmgr__V1__VmHealth *vmp[HVM_MAX_VMS];
	Hvmgr__V1__HealthAlarm al[2 * HVM_MAX_VMS];
	Hvmgr__V1__HealthAlarm *alp[2 * HVM_MAX_VMS];
	char detail[2 * HVM_MAX_VMS][112];
	char event_vm[HVM_NAME_LEN + 1];
	struct tm_core core;
	struct tm_vm vms[HVM_MAX_VMS];
};

struct watch {
	struct agent *ag;
	struct rpc_stream *s;
	int filtered;
	uint32_t filter_id;
	uint64_t stall_ns;
	uint64_t last_seq; /* the last event seen */
	uint32_t stalled;  /* VMs (by id bit) whose heartbeat alarm is raised */
	uint32_t last_try; /* VMs (by id bit) whose last-attempt alarm is raised */
	int own_sample;    /* a snapshot that sampled for itself: not a reader */
	struct health_msg *m;
};

static int stalled(const struct watch *w, const struct tm_vm *v)
{
	return v->state == HVM_VM_RUNNING && v->heartbeat_age_ns >= w->stall_ns;
}

/* MGMT-800: a running VM of the restart policy whose budget allows no more
 * restarts in its window: one more fault stops it. */
static int last_attempt(const struct tm_vm *v)
{
	return v->state == HVM_VM_RUNNING && v->fault_policy == 2 && v->restart_budget > 0 &&
	       v->restarts_left == 0;
}

/* Adds an alarm to the update being built. */
static void add_alarm(struct health_msg *m, size_t *na, Hvmgr__V1__HealthAlarmKind kind,
		      const struct tm_vm *v)
{
	Hvmgr__V1__HealthAlarm ainit = HVMGR__V1__HEALTH_ALARM__INIT;
	size_t i = *na;

	m->al[i] = ainit;
	m->al[i].kind = kind;
	m->al[i].vm_name = (char *)v->name;
	if (kind == HVMGR__V1__HEALTH_ALARM_KIND__HEALTH_ALARM_HEARTBEAT_STOPPED)
		snprintf(m->detail[i], sizeof m->detail[i],
			 "running, heartbeat %llu unchanged for %.3f s",
			 (unsigned long long)v->heartbeat, (double)v->heartbeat_age_ns / 1e9);
	else
		snprintf(m->detail[i], sizeof m->detail[i],
			 "running its last attempt: %u of %u restarts used in the window, one more "
			 "fault stops it",
			 v->restart_budget, v->restart_budget);
	m->al[i].detail = m->detail[i];
	m->alp[i] = &m->al[i];
	*na = i + 1;
}

static void fill_vm(Hvmgr__V1__VmHealth *h, struct tm_vm *v)
{
	Hvmgr__V1__VmHealth init = HVMGR__V1__VM_HEALTH__INIT;

	*h = init;
	h->id = v->id;
	h->name = v->name;
	h->uuid = v->uuid;
	h->state = (Hvmgr__V1__VmState)v->state;
	h->reason = (Hvmgr__V1__VmReason)v->reason;
	h->criticality = v->criticality;
	h->vcpus = v->vcpus;
	h->memory_bytes = v->mem_bytes;
	h->heartbeat = v->heartbeat;
	h->heartbeat_age_ns = v->heartbeat_age_ns;
	h->health_code = v->health_code;
	h->image_version = v->image_version;
	h->cpu_time_ns = v->cpu_time_ns;
	h->have_stats = v->have_stats != 0;
	h->restart_budget = v->restart_budget;
	h->restarts_left = v->restarts_left;
	h->fault_policy = v->fault_policy;
	/* MGMT-613: the slots, as hv_vm_ota_* renders them */
	h->have_ota = v->have_ota != 0;
	if (v->have_ota) {
		h->ota_active_slot = v->ota_active ? "B" : "A";
		h->ota_in_trial = v->ota_in_trial != 0;
		h->ota_a_state = v->ota_state[0];
		h->ota_a_version = v->ota_version[0];
		h->ota_b_state = v->ota_state[1];
		h->ota_b_version = v->ota_version[1];
		h->ota_floor = v->ota_floor;
		h->ota_last_result = v->ota_result;
	}
	if (v->have_stats) {
		h->exits = v->stats.exits;
		h->irqs_injected = v->stats.irqs_injected;
		h->faults = v->stats.faults;
		h->watchdog_expiries = v->stats.watchdog_expiries;
		h->restarts = v->stats.restarts;
	}
}

/* Builds the update from the registry; *newly gets the VMs whose heartbeat
 * alarm is raised in this update for the first time, *newly_last those whose
 * last-attempt alarm is. */
static void build(struct watch *w, Hvmgr__V1__HealthUpdate__Cause cause, uint64_t seq,
		  const char *event_vm, uint32_t *newly, uint32_t *newly_last)
{
	struct health_msg *m = w->m;
	Hvmgr__V1__HealthUpdate init = HVMGR__V1__HEALTH_UPDATE__INIT;
	size_t n, nv = 0, na = 0;
	uint32_t now_stalled = 0, now_last = 0;

	if (!w->own_sample)
		telemetry_mark_read(w->ag->telemetry);
	telemetry_snapshot(w->ag->telemetry, &m->core, m->vms, &n);
	m->up = init;
	for (size_t i = 0; i < n; i++) {
		struct tm_vm *v = &m->vms[i];
		if (w->filtered && v->id != w->filter_id)
			continue;
		fill_vm(&m->vm[nv], v);
		m->vmp[nv] = &m->vm[nv];
		nv++;
		if (stalled(w, v)) {
			add_alarm(m, &na,
				  HVMGR__V1__HEALTH_ALARM_KIND__HEALTH_ALARM_HEARTBEAT_STOPPED, v);
			now_stalled |= 1u << (v->id % 32);
		}
		if (last_attempt(v)) {
			add_alarm(m, &na,
				  HVMGR__V1__HEALTH_ALARM_KIND__HEALTH_ALARM_LAST_RESTART_ATTEMPT, v);
			now_last |= 1u << (v->id % 32);
		}
	}
	if (newly)
		*newly = now_stalled & ~w->stalled;
	if (newly_last)
		*newly_last = now_last & ~w->last_try;
	w->stalled = now_stalled;
	w->last_try = now_last;
	snprintf(m->event_vm, sizeof m->event_vm, "%s", event_vm ? event_vm : "");
	m->up.cause = cause;
	m->up.event_seq = seq;
	m->up.event_vm = m->event_vm;
	m->up.hv_up = m->core.up != 0;
	m->up.hv_uptime_ns = m->core.uptime_ns;
	m->up.n_vms = nv;
	m->up.vms = m->vmp;
	m->up.n_alarms = na;
	m->up.alarms = m->alp;
	m->up.sample_time_ns = hv_mono_ns();
}

static int send(struct watch *w, struct hv_status *st)
{
	if (rpc_stream_send(w->s, &w->m->up.base, st) == 0)
		return 0;
	if (st->code == HV_CANCELLED)
		hv_status_ok(st); /* the client left: nothing to report */
	return -1;
}

static Hvmgr__V1__HealthUpdate__Cause event_cause(uint32_t type)
{
	switch (type) {
	case HVM_EV_FAULT:
	case HVM_EV_WATCHDOG:
		return HVMGR__V1__HEALTH_UPDATE__CAUSE__CAUSE_FAULT;
	case HVM_EV_OTA_INSTALLED:
	case HVM_EV_OTA_TRIAL:
	case HVM_EV_OTA_CONFIRMED:
	case HVM_EV_OTA_ROLLED_BACK:
		return HVMGR__V1__HEALTH_UPDATE__CAUSE__CAUSE_OTA;
	default:
		return HVMGR__V1__HEALTH_UPDATE__CAUSE__CAUSE_STATE_CHANGE;
	}
}

/* Events read since the last call: one update each (fresh sample first). */
static int on_events(struct watch *w, const struct eventlog_rec *r, size_t n, struct hv_status *st)
{
	for (size_t i = 0; i < n; i++) {
		struct hv_status fst;
		w->last_seq = r[i].ev.seq;
		if (w->filtered && r[i].ev.vm_id != w->filter_id)
			continue;
		telemetry_feed_once(w->ag, &fst);
		char name[HVM_NAME_LEN + 1];
		memcpy(name, r[i].vm_name, HVM_NAME_LEN);
		name[HVM_NAME_LEN] = '\0';
		build(w, event_cause(r[i].ev.type), r[i].ev.seq, name, NULL, NULL);
		if (send(w, st) != 0)
			return -1;
	}
	return 0;
}

/* True when hv-core's status slots (memory reads, refreshed every service
 * tick) show an alarm this stream has not raised yet: a heartbeat that
 * stopped advancing is seen within a poll, not at the next sample. */
static int slots_raise_alarm(struct watch *w)
{
	struct hvm_vm_slot slots[HVM_MAX_VMS];
	struct hv_status st;
	uint32_t mask;

	if (hvlink_read_slots(w->ag->link, slots, &mask, &st) != 0)
		return 0;
	for (uint32_t i = 0; i < HVM_MAX_VMS; i++) {
		struct tm_vm v;
		uint32_t bit = 1u << (i % 32);

		if (!(mask & (1u << i)) || (w->filtered && i != w->filter_id))
			continue;
		memset(&v, 0, sizeof v);
		v.state = slots[i].state;
		v.heartbeat_age_ns = slots[i].heartbeat_age_ns;
		v.fault_policy = slots[i].fault_policy;
		v.restart_budget = slots[i].restart_budget;
		v.restarts_left = slots[i].restarts_left;
		if ((stalled(w, &v) && !(w->stalled & bit)) ||
		    (last_attempt(&v) && !(w->last_try & bit)))
			return 1;
	}
	return 0;
}

static int check_request(const Hvmgr__V1__WatchHealthRequest *req, struct agent *ag,
			 struct hv_status *st)
{
	if (!ag->telemetry)
		return hv_status_set(st, HV_FAILED_PRECONDITION,
				     "WatchHealth reads the telemetry registry, which is off (hv-agent --no-metrics)");
	if (!ag->events)
		return hv_status_set(st, HV_UNAVAILABLE, "event log not running");
	if (req->interval_ms && req->interval_ms < 100)
		return hv_status_set(st, HV_INVALID_ARGUMENT,
				     "interval_ms %u is below the least interval, 100 ms",
				     req->interval_ms);
	if (!req->interval_ms && !req->on_change)
		return hv_status_set(st, HV_INVALID_ARGUMENT,
				     "nothing to send: set interval_ms, on_change or both");
	return 0;
}

void svc_watch_health(const struct rpc_call_ctx *ctx, const ProtobufCMessage *msg,
		      struct rpc_stream *s, struct hv_status *st)
{
	const Hvmgr__V1__WatchHealthRequest *req = (const Hvmgr__V1__WatchHealthRequest *)msg;
	struct watch w = { .ag = ctx->app, .s = s };
	struct eventlog_rec recs[BATCH];
	struct eventlog_stats es;
	struct hvm_vm_slot slot;
	char label[64];
	uint64_t pos, next_sample;

	if (check_request(req, w.ag, st) != 0)
		return;
	if (req->vm) {
		if (resolve_vm(w.ag, req->vm, &slot, label, sizeof label, st) != 0)
			return;
		w.filtered = 1;
		w.filter_id = slot.id;
	}
	w.stall_ns =
		(uint64_t)(req->heartbeat_stall_ms ? req->heartbeat_stall_ms : DEFAULT_STALL_MS) *
		1000000ull;
	w.m = calloc(1, sizeof *w.m);
	if (!w.m) {
		hv_status_set(st, HV_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	/* The registry is read from now on: the next sample has the
	 * GET_STATS figures (telemetry_recently_read). The event log reads
	 * hv-core's ring at its fast rate while the stream lasts. */
	telemetry_mark_read(w.ag->telemetry);
	eventlog_live(w.ag->events, 1);
	struct hv_status fst;
	telemetry_feed_once(w.ag, &fst);
	eventlog_stats(w.ag->events, &es);
	pos = req->resume_after_seq ? req->resume_after_seq + 1 : es.next_seq;
	w.last_seq = pos ? pos - 1 : 0;

	build(&w, HVMGR__V1__HEALTH_UPDATE__CAUSE__CAUSE_SAMPLE, w.last_seq, NULL, NULL, NULL);
	if (send(&w, st) != 0)
		goto out;
	next_sample = req->interval_ms ? hv_mono_ns() + req->interval_ms * 1000000ull : 0;
	while (rpc_stream_alive(s)) {
		unsigned wait = POLL_MS;
		if (!req->on_change) {
			uint64_t left = hv_ns_left(next_sample) / 1000000u;
			wait = left > 200 ? 200 : (unsigned)left;
		}
		size_t n = eventlog_read(w.ag->events, &pos, recs, BATCH, wait);
		if (req->on_change) {
			uint32_t newly = 0, newly_last = 0;
			if (on_events(&w, recs, n, st) != 0)
				goto out;
			/* An alarm the slots show before the next sample: sample
			 * now, so the update carries it within a poll. */
			if (slots_raise_alarm(&w)) {
				struct hv_status fst2;
				telemetry_feed_once(w.ag, &fst2);
			}
			build(&w, HVMGR__V1__HEALTH_UPDATE__CAUSE__CAUSE_ALARM, w.last_seq, NULL,
			      &newly, &newly_last);
			if (newly)
				w.m->up.cause =
					HVMGR__V1__HEALTH_UPDATE__CAUSE__CAUSE_HEARTBEAT_STOPPED;
			if ((newly || newly_last) && send(&w, st) != 0)
				goto out;
		} else if (n) {
			w.last_seq = recs[n - 1].ev.seq;
		}
		if (next_sample && hv_mono_ns() >= next_sample) {
			build(&w, HVMGR__V1__HEALTH_UPDATE__CAUSE__CAUSE_SAMPLE, w.last_seq, NULL,
			      NULL, NULL);
			if (send(&w, st) != 0)
				goto out;
			next_sample += req->interval_ms * 1000000ull;
			if (next_sample < hv_mono_ns())
				next_sample = hv_mono_ns() + req->interval_ms * 1000000ull;
		}
	}
out:
	eventlog_live(w.ag->events, 0);
	free(w.m);
}

int svc_health_snapshot(struct agent *ag, uint8_t **out, size_t *len, struct hv_status *st)
{
	struct watch w = { .ag = ag, .stall_ns = DEFAULT_STALL_MS * 1000000ull, .own_sample = 1 };
	struct hv_status fst;

	*out = NULL;
	if (!ag->telemetry)
		return hv_status_set(st, HV_UNAVAILABLE,
				     "the telemetry registry is off (--no-metrics)");
	w.m = calloc(1, sizeof *w.m);
	if (!w.m)
		return hv_status_set(st, HV_RESOURCE_EXHAUSTED, "out of memory");
	/* A fresh sample with the GET_STATS figures, taken for this snapshot
	 * only: a snapshot every minute must not keep the feeder asking
	 * hv-core for them every second (telemetry_recently_read). A failed
	 * sample is counted by the registry; the snapshot has the last one. */
	telemetry_feed_full(ag, &fst);
	build(&w, HVMGR__V1__HEALTH_UPDATE__CAUSE__CAUSE_SAMPLE, 0, NULL, NULL, NULL);
	*len = protobuf_c_message_get_packed_size(&w.m->up.base);
	*out = malloc(*len ? *len : 1);
	if (*out)
		protobuf_c_message_pack(&w.m->up.base, *out);
	free(w.m);
	if (!*out)
		return hv_status_set(st, HV_RESOURCE_EXHAUSTED, "out of memory");
	return 0;
}
