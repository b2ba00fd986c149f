/*
 * svc_fleet.c - hv-agent's side of the fleet link (agent/fleet/,
 * docs/fleet.md): requests through the broker run hv-agent's own method
 * table with the same authorization and audit as gRPC, and the event log's
 * events go out on the vehicle's events topic. Console sessions opened
 * through the link end when the link is lost, and publish their output on
 * their own topic (hv/v1/<vehicle>/console/<session>).
 */
#include "agent.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "fleet_link.h"
#include "log.h"

#define BATCH 32
#define WAIT_MS 200

struct agent_fleet {
	struct agent *ag;
	struct fleet_link *link;
	pthread_t pump, telem;
	int pump_started, telem_started;
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

/* The link is lost: the backends of its console sessions cannot reach
 * them any more (svc_console.c ends them on its own thread). */
static void link_lost(void *app)
{
	(void)app;
	console_sessions_link_lost(RPC_LISTENER_FLEET, "the fleet link was lost");
}

static void publish_console(void *arg, const char *session, const uint8_t *packed, size_t len)
{
	struct agent_fleet *f = arg;
	char sub[64];

	snprintf(sub, sizeof sub, "console/%s", session);
	fleet_link_publish_sub(f->link, sub, packed, len);
}

struct agent_fleet *agent_fleet_start(struct agent *ag, const struct fleet_link_opts *o,
				      struct hv_status *st)
{
	struct agent_fleet *f = calloc(1, sizeof *f);
	struct fleet_dispatch d = {
		.app = ag, .authorize = agent_authorize, .refused = refused, .link_lost = link_lost
	};

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
	console_sessions_set_publisher(publish_console, f);
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
	console_sessions_set_publisher(NULL, NULL);
	if (f->pump_started)
		pthread_join(f->pump, NULL);
	if (f->telem_started)
		pthread_join(f->telem, NULL);
	fleet_link_stop(f->link);
	free(f);
}
