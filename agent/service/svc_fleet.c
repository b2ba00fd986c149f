/*
 * svc_fleet.c - hv-agent's side of the fleet link (agent/fleet/,
 * docs/fleet.md): requests through the broker run hv-agent's own method
 * table with the same authorization and audit as gRPC, and the event log's
 * events go out on the vehicle's events topic. Console sessions opened
 * through the link end when they go idle or the link is lost.
 */
#include "agent.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "fleet_link.h"
#include "log.h"

#define BATCH 32
#define WAIT_MS 200

struct agent_fleet {
	struct agent *ag;
	struct fleet_link *link;
	pthread_t pump, telem, sweep;
	int pump_started, telem_started, sweep_started;
	unsigned telemetry_ms;
	int stop; /* atomic */
};

static void refused(void *app, const struct rpc_peer *peer, const char *rpc,
		    const struct hv_status *st)
{
	agent_audit_refused(app, peer, rpc, st);
}

static void publish_event(struct fleet_link *link, const struct eventlog_rec *r)
{
	Hvmgr__V1__Event ev;
	uint8_t small[256];

	event_msg_from_rec(&ev, r);
	size_t len = protobuf_c_message_get_packed_size(&ev.base);
	uint8_t *buf = len <= sizeof small ? small : malloc(len);
	if (!buf)
		return;
	protobuf_c_message_pack(&ev.base, buf);
	fleet_link_publish(link, FLEET_EVENTS, buf, len);
	if (buf != small)
		free(buf);
}

static void *pump_main(void *arg)
{
	struct agent_fleet *f = arg;
	struct eventlog_rec recs[BATCH];
	struct eventlog_stats es;

	eventlog_stats(f->ag->events, &es);
	uint64_t pos = es.oldest_seq;
	while (!__atomic_load_n(&f->stop, __ATOMIC_ACQUIRE)) {
		size_t n = eventlog_read(f->ag->events, &pos, recs, BATCH, WAIT_MS);
		for (size_t i = 0; i < n; i++)
			publish_event(f->link, &recs[i]);
	}
	return NULL;
}

/* A health snapshot of the telemetry registry every telemetry_ms on the
 * vehicle's telemetry topic, the first right after the start. */
static void *telem_main(void *arg)
{
	struct agent_fleet *f = arg;
	uint64_t next = hv_mono_ns();
	struct hv_status st;

	while (!__atomic_load_n(&f->stop, __ATOMIC_ACQUIRE)) {
		if (hv_mono_ns() < next) {
			struct timespec ts = { 0, WAIT_MS * 1000000L };
			nanosleep(&ts, NULL);
			continue;
		}
		uint8_t *buf;
		size_t len;
		if (svc_health_snapshot(f->ag, &buf, &len, &st) == 0) {
			fleet_link_publish(f->link, FLEET_TELEMETRY, buf, len);
			free(buf);
		}
		next += f->telemetry_ms * 1000000ull;
		if (next < hv_mono_ns())
			next = hv_mono_ns() + f->telemetry_ms * 1000000ull;
	}
	return NULL;
}

/* Ends console sessions that went idle, and those of the fleet link when
 * it is lost (each a backend's; the backend cannot reach them any more). */
static void *sweep_main(void *arg)
{
	struct agent_fleet *f = arg;
	int was_up = 0;

	while (!__atomic_load_n(&f->stop, __ATOMIC_ACQUIRE)) {
		struct fleet_link_stats ls;
		struct timespec ts = { 0, WAIT_MS * 1000000L };

		fleet_link_get_stats(f->link, &ls);
		console_sessions_sweep(f->ag, RPC_LISTENER_FLEET,
				       was_up && !ls.connected ? "the fleet link was lost" : NULL);
		was_up = ls.connected;
		nanosleep(&ts, NULL);
	}
	console_sessions_sweep(f->ag, RPC_LISTENER_FLEET, "hv-agent stops");
	return NULL;
}

struct agent_fleet *agent_fleet_start(struct agent *ag, const struct fleet_link_opts *o,
				      struct hv_status *st)
{
	struct agent_fleet *f = calloc(1, sizeof *f);
	struct fleet_dispatch d = { .app = ag, .authorize = agent_authorize, .refused = refused };

	if (!f) {
		hv_status_set(st, HV_INTERNAL, "out of memory");
		return NULL;
	}
	f->ag = ag;
	d.methods = agent_methods(&d.nmethods);
	f->link = fleet_link_start(o, &d, st);
	if (!f->link) {
		free(f);
		return NULL;
	}
	if (ag->events) {
		if (pthread_create(&f->pump, NULL, pump_main, f) == 0)
			f->pump_started = 1;
		else
			log_warn("fleet: no thread for events; events are not published");
	}
	if (pthread_create(&f->sweep, NULL, sweep_main, f) == 0)
		f->sweep_started = 1;
	else
		log_warn("fleet: no thread for console sessions; idle ones are not ended");
	f->telemetry_ms = o->telemetry_ms;
	if (f->telemetry_ms && !ag->telemetry) {
		log_warn("fleet: no health snapshots on the telemetry topic: metrics are off");
	} else if (f->telemetry_ms) {
		if (pthread_create(&f->telem, NULL, telem_main, f) == 0)
			f->telem_started = 1;
		else
			log_warn("fleet: no thread for telemetry; snapshots are not published");
	}
	return f;
}

struct fleet_link *agent_fleet_link(struct agent_fleet *f)
{
	return f ? f->link : NULL;
}

void agent_fleet_stop(struct agent_fleet *f)
{
	if (!f)
		return;
	__atomic_store_n(&f->stop, 1, __ATOMIC_RELEASE);
	if (f->pump_started)
		pthread_join(f->pump, NULL);
	if (f->telem_started)
		pthread_join(f->telem, NULL);
	if (f->sweep_started)
		pthread_join(f->sweep, NULL);
	fleet_link_stop(f->link);
	free(f);
}
