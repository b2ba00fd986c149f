/*
 * telemetry_feed.c - fills the telemetry registry (telemetry.h) from hv-core
 * at a fixed interval: the register page and the status slots (memory reads)
 * and one GET_STATS command per defined VM (MGMT-180), which waits only for
 * the command hv-core is running, never for queued state changes. Scrapes and
 * streams read the registry; this thread is the only one that asks hv-core.
 */
#include "agent.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blksup.h"
#include "log.h"
#include "uuid.h"

struct telemetry_feed {
	struct agent *ag;
	unsigned interval_ms;
	pthread_t thread;
	pthread_mutex_t m;
	pthread_cond_t c; /* CLOCK_MONOTONIC */
	int stop;
};

static void vm_from_slot(struct tm_vm *v, const struct hvm_vm_slot *s)
{
	memset(v, 0, sizeof *v);
	v->id = s->id;
	v->state = s->state;
	v->reason = s->reason;
	v->criticality = s->criticality;
	v->vcpus = s->vcpus;
	v->health_code = s->health_code;
	v->guest_state = s->guest_state;
	v->fault_policy = s->fault_policy;
	v->restart_budget = s->restart_budget;
	v->restarts_left = s->restarts_left;
	v->mem_bytes = s->mem_bytes;
	v->heartbeat = s->heartbeat;
	v->heartbeat_age_ns = s->heartbeat_age_ns;
	v->cpu_time_ns = s->cpu_time_ns;
	memcpy(v->name, s->name, HVM_NAME_LEN);
	memcpy(v->image_version, s->image_version, HVM_VERSION_LEN);
	hv_uuid_format(s->uuid, v->uuid);
}

static void feed_agent(struct agent *ag)
{
	struct tm_agent a;
	struct hv_opqueue_stats ops;
	struct hvlink_counters lc;
	struct eventlog_stats es;

	memset(&a, 0, sizeof a);
	hv_opqueue_stats(&ag->ops, &ops);
	hvlink_counters(ag->link, &lc);
	eventlog_stats(ag->events, &es);
	a.audit_failures = __atomic_load_n(&ag->audit_failures, __ATOMIC_RELAXED);
	a.store_ok = ag->store != NULL;
	a.ops_waiting = ops.waiting;
	a.cmd_waiting = lc.queue_waiting;
	a.cmd_sent = lc.commands_sent;
	a.cmd_failed = lc.commands_failed;
	a.cmd_timed_out = lc.commands_timed_out;
	a.events_lost = es.lost;
	telemetry_set_agent(ag->telemetry, &a);
	if (ag->srv)
		telemetry_set_open_streams(ag->telemetry, rpc_server_open_streams(ag->srv));
}

/* One sample at a time: the feeder and on-change streams both sample, and
 * an older sample must not replace a newer one. */
static pthread_mutex_t sample_lock = PTHREAD_MUTEX_INITIALIZER;

static int sample(struct agent *ag, int full, struct hv_status *st);

/* Counts the POLICY_DENIED events (MGMT-405) the event log got since the
 * last sample; the first sample counts every one it still holds. Memory
 * reads only. Called under sample_lock. */
static void count_refusals(struct agent *ag)
{
	static uint64_t pos;
	struct eventlog_rec recs[32];
	size_t n;

	if (!ag->events)
		return;
	do {
		n = eventlog_read(ag->events, &pos, recs, 32, 0);
		for (size_t i = 0; i < n; i++)
			if (recs[i].ev.type == HVM_EV_POLICY_DENIED) {
				int op = hvm_policy_op_of_cmd(recs[i].ev.detail & 0xFFu);
				if (op >= 0)
					telemetry_count_refusal(ag->telemetry, (uint32_t)op);
			}
	} while (n == 32);
}

/* MGMT-401: the vehicle state into core; nothing when it cannot be read. */
static void read_vehicle(struct agent *ag, struct tm_core *core)
{
	struct hvlink_cmd c = { .cmd = HVM_CMD_GET_VEHICLE_STATE };
	struct hvlink_reply rep;
	struct hv_status st;

	if (core_submit(ag->link, &c, &rep, "vehicle state", &st) != CORE_OK) {
		log_debug("telemetry: %s", st.msg);
		return;
	}
	core->have_vehicle = 1;
	core->vehicle_state = (uint32_t)rep.ret[0];
	core->vehicle_source = (uint32_t)rep.ret[1];
	core->vehicle_age_ns = rep.ret[2];
}

int telemetry_feed_once(struct agent *ag, struct hv_status *st)
{
	pthread_mutex_lock(&sample_lock);
	int rc = sample(ag, 0, st);
	pthread_mutex_unlock(&sample_lock);
	return rc;
}

int telemetry_feed_full(struct agent *ag, struct hv_status *st)
{
	pthread_mutex_lock(&sample_lock);
	int rc = sample(ag, 1, st);
	pthread_mutex_unlock(&sample_lock);
	return rc;
}

/* The VM's A/B slots into v (have_ota 0 when hv-core did not answer). */
static void ota_fill(struct agent *ag, uint32_t id, struct tm_vm *v)
{
	struct hvm_ota_status os;
	struct hvlink_reply rep;
	struct hv_status st;
	if (hvlink_ota_status(ag->link, id, 0, &os, &rep, &st) != 0 || rep.status != HVM_OK) {
		log_debug("telemetry: OTA slots of '%s': %s", v->name,
			  rep.status != HVM_OK ? rep.msg : st.msg);
		return;
	}
	v->have_ota = 1;
	v->ota_active = os.active ? 1 : 0;
	v->ota_in_trial = os.in_trial != 0;
	for (int s = 0; s < 2; s++) {
		snprintf(v->ota_state[s], sizeof v->ota_state[s], "%s",
			 agent_ota_slot_state_name(os.slot[s].state));
		snprintf(v->ota_version[s], sizeof v->ota_version[s], "%.*s", HVM_VERSION_LEN,
			 os.slot[s].version);
	}
	snprintf(v->ota_floor, sizeof v->ota_floor, "%.*s", HVM_VERSION_LEN, os.floor);
	snprintf(v->ota_result, sizeof v->ota_result, "%s", agent_ota_result_name(os.last_result));
}

static int sample(struct agent *ag, int full, struct hv_status *st)
{
	struct hvm_vm_slot slots[HVM_MAX_VMS];
	struct tm_vm *vms;
	struct tm_core core;
	struct hvlink_info info;
	uint32_t mask;
	size_t n = 0;

	/* Read within the last 5 minutes: a scrape interval longer than that
	 * is unusual (Prometheus marks series stale after 5 minutes). */
	int want_stats = full || telemetry_recently_read(ag->telemetry, 300ull * 1000000000ull);

	feed_agent(ag);
	if (hvlink_info(ag->link, &info, st) != 0 ||
	    hvlink_read_slots(ag->link, slots, &mask, st) != 0) {
		telemetry_sample_failed(ag->telemetry);
		return -1;
	}
	vms = calloc(HVM_MAX_VMS, sizeof *vms);
	if (!vms) {
		telemetry_sample_failed(ag->telemetry);
		return hv_status_set(st, HV_RESOURCE_EXHAUSTED, "out of memory");
	}
	for (uint32_t i = 0; i < HVM_MAX_VMS; i++) {
		struct hv_status vst;
		char label[HVM_NAME_LEN + 8];

		if (!(mask & (1u << i)))
			continue;
		vm_from_slot(&vms[n], &slots[i]);
		snprintf(label, sizeof label, "'%s'", vms[n].name);
		/* MGMT-866: the backend hv-agent runs for it, from memory */
		struct blksup_info bi;
		blksup_get(ag->blksup, i, &bi);
		vms[n].have_blkback = bi.present;
		vms[n].blkback_up = bi.pid != 0;
		vms[n].blkback_restarts = bi.restarts;
		snprintf(vms[n].blkback_state, sizeof vms[n].blkback_state, "%s", bi.state);
		/* GET_STATS only while someone reads the registry: an agent
		 * nobody watches sends hv-core no commands. A VM undefined
		 * meanwhile is left out; another error leaves the VM's
		 * counters out of this sample. */
		int r = want_stats ? agent_stats_fetch(ag, i, label, 1, &vms[n].stats, &vst) : 2;
		if (r == 0)
			continue;
		if (r < 0)
			log_debug("telemetry: %s", vst.msg);
		vms[n].have_stats = r == 1;
		/* MGMT-850: the VIRTIO devices' counters, as GET_STATS' */
		if (r == 1) {
			int rv = agent_virtio_fetch(ag, i, label, 1, &vms[n].virtio, &vst);
			if (rv < 0)
				log_debug("telemetry: %s", vst.msg);
			vms[n].have_virtio = rv == 1;
		}
		/* MGMT-613: the A/B slots, for an hv-core with OTA */
		if (r == 1 && (info.caps & HVM_CAP(HVM_CMD_OTA_STATUS)))
			ota_fill(ag, i, &vms[n]);
		n++;
	}
	memset(&core, 0, sizeof core);
	core.up = 1;
	core.hv_state = info.hv_state;
	core.abi_major = info.abi_major;
	core.abi_minor = info.abi_minor;
	core.pcpu_count = info.pcpu_count;
	core.selftest_failed = info.selftest_failed;
	core.uptime_ns = info.uptime_ns;
	core.hv_ticks = info.hv_ticks;
	memcpy(core.hv_version, info.hv_version, sizeof core.hv_version);
	if (want_stats && (info.caps & HVM_CAP(HVM_CMD_GET_VEHICLE_STATE)))
		read_vehicle(ag, &core);
	count_refusals(ag);
	telemetry_set_core(ag->telemetry, &core, vms, n);
	free(vms);
	hv_status_ok(st);
	return 0;
}

static void *feed_thread(void *arg)
{
	struct telemetry_feed *f = arg;
	int failing = 0;

	pthread_mutex_lock(&f->m);
	while (!f->stop) {
		struct hv_status st;
		struct timespec ts;

		pthread_mutex_unlock(&f->m);
		int rc = telemetry_feed_once(f->ag, &st);
		if (rc != 0 && !failing)
			log_info("telemetry: hv-core not sampled: %s", st.msg);
		else if (rc == 0 && failing)
			log_info("telemetry: sampling hv-core again");
		failing = rc != 0;
		pthread_mutex_lock(&f->m);
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += f->interval_ms / 1000;
		ts.tv_nsec += (long)(f->interval_ms % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		while (!f->stop && pthread_cond_timedwait(&f->c, &f->m, &ts) == 0)
			;
	}
	pthread_mutex_unlock(&f->m);
	return NULL;
}

struct telemetry_feed *telemetry_feed_start(struct agent *ag, unsigned interval_ms,
					    struct hv_status *st)
{
	struct telemetry_feed *f = calloc(1, sizeof *f);
	pthread_condattr_t ca;

	if (!f) {
		hv_status_set(st, HV_RESOURCE_EXHAUSTED, "out of memory");
		return NULL;
	}
	f->ag = ag;
	f->interval_ms = interval_ms ? interval_ms : 1000;
	pthread_mutex_init(&f->m, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&f->c, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&f->thread, NULL, feed_thread, f) != 0) {
		pthread_cond_destroy(&f->c);
		pthread_mutex_destroy(&f->m);
		free(f);
		hv_status_set(st, HV_RESOURCE_EXHAUSTED, "cannot start the telemetry thread");
		return NULL;
	}
	return f;
}

void telemetry_feed_stop(struct telemetry_feed *f)
{
	if (!f)
		return;
	pthread_mutex_lock(&f->m);
	f->stop = 1;
	pthread_cond_signal(&f->c);
	pthread_mutex_unlock(&f->m);
	pthread_join(f->thread, NULL);
	pthread_cond_destroy(&f->c);
	pthread_mutex_destroy(&f->m);
	free(f);
}
