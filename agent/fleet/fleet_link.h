/*
 * fleet_link.h - hv-agent's link to the fleet (docs/fleet.md): it dials out
 * to an MQTT 5 broker over mutual TLS with the vehicle's certificate, keeps
 * the session alive, reconnects with exponential backoff and jitter, serves
 * signed hvmgr.v1 requests arriving on hv/v1/<vehicle>/req (MQTT 5 request/
 * response: the reply goes to the request's response topic with its
 * correlation data), and publishes events and telemetry from a bounded
 * offline buffer: while the link is down items wait, the oldest dropped first
 * and counted; queueing never blocks the caller.
 *
 * Requests run the same method table, authorization (role table) and audit
 * as gRPC: the caller passes them in as a fleet_dispatch, so this module
 * knows no service.
 */
#ifndef FLEET_LINK_H
#define FLEET_LINK_H

#include <stddef.h>
#include <stdint.h>

#include "rpc_server.h"
#include "status.h"

#define FLEET_TOPIC_ROOT "hv/v1/"

struct fleet_link_opts {
	const char *host;        /* broker */
	int port;                /* 8883 */
	const char *vehicle;     /* this vehicle's id, the CN of its certificate */
	const char *tls_ca;      /* PEM: the CA of the broker's certificate */
	const char *tls_cert;    /* PEM: the vehicle's certificate ... */
	const char *tls_key;     /* ... and key */
	const char *fleet_ca;    /* PEM: the CA every request signer chains to */
	const char *nonce_file;  /* the replay cache on disk (state directory); NULL: memory only */
	unsigned keepalive_s;    /* 0 = 30 */
	unsigned backoff_max_ms; /* longest wait between connection attempts; 0 = 30000 */
	size_t buffer_max;       /* offline buffer, items; 0 = 1024 */
	unsigned telemetry_ms;   /* hv-agent publishes a health snapshot this often; 0 = never */
	const char *version;     /* hv-agent's version, in the presence message */
};

/* What a request runs through. refused() records a request refused before a
 * handler ran (a bad envelope, an undecodable request); authorize() records
 * its own refusals. */
struct fleet_dispatch {
	const struct rpc_method *methods;
	size_t nmethods;
	void *app;
	rpc_authorize_fn authorize;
	void (*refused)(void *app, const struct rpc_peer *peer, const char *rpc,
			const struct hv_status *st);
	/* The connection to the broker was lost (called on the link's network
	 * thread: it must not block). May be NULL. */
	void (*link_lost)(void *app);
};

enum fleet_stream {
	FLEET_EVENTS,    /* hv/v1/<vehicle>/events */
	FLEET_TELEMETRY, /* hv/v1/<vehicle>/telemetry (the telemetry registry's hook) */
	FLEET_SUBTOPIC,  /* a topic of its own below hv/v1/<vehicle>/ (fleet_link_publish_sub) */
};

struct fleet_link_stats {
	int connected;
	uint64_t connects;  /* successful connections since start */
	uint64_t requests;  /* requests received */
	uint64_t refused;   /* ... refused before a handler ran */
	uint64_t published; /* items the broker acknowledged */
	uint64_t dropped;   /* items dropped from a full buffer */
	uint64_t buffered;  /* items waiting now */
};

/* Starts the link's threads; the first connection is attempted in the
 * background, so a broker that is down does not stop hv-agent from starting.
 * INVALID_ARGUMENT for unreadable certificates or a malformed option. */
struct fleet_link *fleet_link_start(const struct fleet_link_opts *o, const struct fleet_dispatch *d,
				    struct hv_status *st);

/* Queues one item (payload: for FLEET_EVENTS a packed hvmgr.v1.Event, for
 * FLEET_TELEMETRY a packed hvmgr.v1.HealthUpdate) for publication, signed by
 * the vehicle; never blocks. A telemetry item replaces an older one that was
 * not sent yet (a snapshot supersedes the last), so a link that is down
 * holds one snapshot, not a backlog. Returns 1 when an older item had to be
 * dropped to make room, else 0. */
int fleet_link_publish(struct fleet_link *l, enum fleet_stream s, const uint8_t *payload, size_t len);

/* Queues one item for hv/v1/<vehicle>/<sub> (sub: e.g. "console/<session>"),
 * signed and numbered like the others and published in the order queued. An
 * item the broker does not accept (no subscriber) is not sent again: it
 * would come out of order. Returns as fleet_link_publish. */
int fleet_link_publish_sub(struct fleet_link *l, const char *sub, const uint8_t *payload, size_t len);

void fleet_link_get_stats(struct fleet_link *l, struct fleet_link_stats *out);

/* Publishes "offline", disconnects, joins the threads and frees the link. A
 * request whose handler is running finishes first. */
void fleet_link_stop(struct fleet_link *l);

#endif /* FLEET_LINK_H */
