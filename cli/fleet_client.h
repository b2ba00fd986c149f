/*
 * fleet_client.h - hvctl's side of the fleet link (docs/fleet.md): one MQTT 5
 * connection to the fleet's broker over mutual TLS, requests signed with the
 * caller's own certificate and sent to a vehicle's request topic, replies
 * matched by correlation data on this client's own response topic, and the
 * vehicles' presence messages for `hvctl fleet list`.
 */
#ifndef HVCTL_FLEET_CLIENT_H
#define HVCTL_FLEET_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "hvmgr/v1/fleet.pb-c.h"
#include "hvmgr/v1/hvmgr.pb-c.h"
#include "status.h"

struct hvf;

/* url: "mqtts://HOST:PORT"; ca: the broker's CA; cert/key: the caller's pair,
 * used for TLS and to sign requests. INVALID_ARGUMENT for a malformed URL or
 * unreadable files, UNAVAILABLE when the broker cannot be reached. */
struct hvf *hvf_connect(const char *url, const char *ca, const char *cert, const char *key,
			struct hv_status *st);
void hvf_close(struct hvf *f);

/* One request to vehicle, as hvc_call. DEADLINE_EXCEEDED "no reply from
 * vehicle ..." when none came within timeout_ms (the vehicle may be offline:
 * the request expires on its own). */
int hvf_call(struct hvf *f, const char *vehicle, const char *method, const ProtobufCMessage *req,
	     const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp,
	     unsigned timeout_ms, struct hv_status *st);

/* Whether the last hvf_call ended because its request expired: 1 when the
 * vehicle refused it as expired (DEADLINE_EXCEEDED in its signed reply), 2
 * when no reply came within the wait (the request expires unanswered), 0
 * otherwise. `fleet run` counts these as "expired". */
int hvf_last_expired(const struct hvf *f);

/* Publishes raw bytes on vehicle's request topic with a response topic and
 * fresh correlation data, and waits for the reply (tests, benchmarks): the
 * packed FleetReply, accepted only when vehicle signed it (a certificate of
 * the fleet CA with CN=vehicle, OU=vehicle) for this request (its
 * correlation data, and the nonce of payload when it is a FleetRequest).
 * Replies that fail this are ignored; if no genuine one came in time,
 * UNAUTHENTICATED "reply from vehicle ... refused: WHY". */
int hvf_call_raw(struct hvf *f, const char *vehicle, const uint8_t *payload, size_t len,
		 uint8_t **reply, size_t *reply_len, unsigned timeout_ms, struct hv_status *st);

/* Signs a request for vehicle (fleet_sign_request with this client's pair). */
int hvf_sign(struct hvf *f, const char *vehicle, const char *method, const ProtobufCMessage *req,
	     uint8_t **out, size_t *out_len, struct hv_status *st);

/* Follows vehicle's events topic (hv/v1/VEHICLE/events): from now on, the
 * publications the vehicle signed are decoded and queued (at most
 * HVF_EVENTS_MAX; the oldest dropped, counted in hvf_event_next's *missed).
 * The subscription is renewed when the connection to the broker is. */
#define HVF_EVENTS_MAX 1024
int hvf_events_open(struct hvf *f, const char *vehicle, struct hv_status *st);

struct hvf_event {
	Hvmgr__V1__Event *ev;  /* free with hvmgr__v1__event__free_unpacked */
	uint64_t link_dropped; /* the vehicle's count of items its buffer dropped */
};

/* The next event within wait_ms: 1 (in *out), 0 when none came. *missed
 * adds the events dropped here because the caller did not keep up, *refused
 * the publications that failed the vehicle's signature check (the last
 * reason in why). */
int hvf_event_next(struct hvf *f, struct hvf_event *out, unsigned wait_ms, uint64_t *missed,
		   uint64_t *refused, char *why, size_t why_len);

/* Follows the output topic of a console session (ConsoleSessionOpenResponse
 * .output_topic, below hv/v1/<vehicle>/): the publications vehicle signed,
 * queued as they arrive (at most HVF_CONSOLE_MAX; beyond, dropped: the caller
 * sees the gap by FleetConsoleOutput.seq). Subscribed again with the
 * connection to the broker. */
#define HVF_CONSOLE_MAX 256
int hvf_console_open(struct hvf *f, const char *vehicle, const char *sub, struct hv_status *st);

/* The next console output within wait_ms (0: only what is there): 1 with
 * *out (free with hvmgr__v1__fleet_console_output__free_unpacked), 0 when
 * none came. *refused adds the publications that failed the vehicle's
 * signature check (the last reason in why). */
int hvf_console_next(struct hvf *f, Hvmgr__V1__FleetConsoleOutput **out, unsigned wait_ms,
		     uint64_t *refused, char *why, size_t why_len);

struct hvf_vehicle {
	char id[72];
	bool online;
	char version[48];
	uint64_t since_ms;
	bool verified; /* signed by this vehicle's certificate of the fleet CA */
	bool will;     /* the broker published it: the link was lost */
	char why[256]; /* when not verified: why (online is then false) */
};

/* The vehicles whose presence the broker holds, after waiting wait_ms for
 * the retained messages. Returns how many (at most max), sorted by id. Each
 * presence message is checked like a reply (fleet_open against --ca, signed
 * by the vehicle its topic names); one that fails is listed with verified
 * false, online false and the reason in why, never as a healthy vehicle. */
size_t hvf_vehicles(struct hvf *f, struct hvf_vehicle *out, size_t max, unsigned wait_ms);

#endif /* HVCTL_FLEET_CLIENT_H */
