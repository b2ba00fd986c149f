/*
 * fleet_client.c - hvctl's MQTT 5 client of the fleet link (libmosquitto,
 * its own network thread). Replies are matched to requests by their
 * correlation data; presence messages are collected as they arrive.
 */
#include "fleet_client.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <mosquitto.h>
#include <mqtt_protocol.h>

#include "fleet_envelope.h"
#include "hvmgr/v1/fleet.pb-c.h"
#include "lazylib.h"

/* libmosquitto, loaded by the first `hvctl --fleet ...` (lazylib.h): the
 * commands that talk to hv-agent directly do not carry it. */
#define MQ_FNS(X)                                                                                  \
	X(connect_bind_v5)                                                                         \
	X(connect_v5_callback_set)                                                                 \
	X(destroy)                                                                                 \
	X(disconnect_v5)                                                                           \
	X(int_option)                                                                              \
	X(lib_cleanup)                                                                             \
	X(lib_init)                                                                                \
	X(loop_start)                                                                              \
	X(loop_stop)                                                                               \
	X(message_v5_callback_set)                                                                 \
	X(new)                                                                                     \
	X(property_add_binary)                                                                     \
	X(property_add_string)                                                                     \
	X(property_free_all)                                                                       \
	X(property_read_binary)                                                                    \
	X(publish_v5)                                                                              \
	X(strerror)                                                                                \
	X(subscribe_v5)                                                                            \
	X(subscribe_v5_callback_set)                                                               \
	X(tls_set)
static struct {
#define MQ_PTR(n) __typeof__(mosquitto_##n) *n;
	MQ_FNS(MQ_PTR)
} mq;
#define MQ_NAME(n) "mosquitto_" #n,
static const char *const mq_names[] = { MQ_FNS(MQ_NAME) };
#ifndef HVCTL_MOSQUITTO_SONAME /* hvctl's build passes the one it found */
#define HVCTL_MOSQUITTO_SONAME "libmosquitto.so.1"
#endif
static struct lazylib mq_lib = LAZYLIB_INIT(HVCTL_MOSQUITTO_SONAME, mq_names, &mq);

#define PENDING_MAX 256
#define VEHICLES_MAX 4096
#define CORR_LEN 16

struct pending {
	uint8_t corr[CORR_LEN];
	bool used, done;
	uint8_t *data; /* the signed FleetReply, once verified */
	size_t len;
	/* what the reply must be bound to */
	char vehicle[72];
	uint8_t nonce[FLEET_NONCE_MAX];
	size_t nonce_len;
	char refused[320]; /* why the last reply with this correlation data was refused */
};

struct hvf {
	struct mosquitto *mosq;
	struct fleet_signer *signer;
	struct fleet_opener *opener; /* checks the vehicles' signatures */
	char resp_topic[96];
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int connack; /* 0 waiting, 1 accepted, -1 refused or lost */
	int suback;  /* SUBACKs received */
	struct pending pend[PENDING_MAX];
	struct hvf_vehicle *veh;
	size_t nveh;
	/* hvf_events_open: the vehicle followed and its queue of events */
	char ev_vehicle[72], ev_topic[160];
	struct hvf_event evq[HVF_EVENTS_MAX];
	size_t ev_head, ev_count;
	uint64_t ev_missed, ev_refused;
	char ev_why[256];
	/* hvf_console_open: a console session's output topic and its queue */
	char co_vehicle[72], co_topic[200];
	Hvmgr__V1__FleetConsoleOutput *coq[HVF_CONSOLE_MAX];
	size_t co_head, co_count;
	uint64_t co_refused;
	char co_why[256];
	/* the outcome of the last hvf_call (hvf_last_expired) */
	int last_code;
	bool last_no_reply;
};

static void deadline_in(struct timespec *ts, unsigned ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static void on_connect(struct mosquitto *m, void *obj, int rc, int flags, const mosquitto_property *p)
{
	struct hvf *f = obj;
	(void)flags;
	(void)p;
	pthread_mutex_lock(&f->lock);
	if (rc == 0 && f->connack == 1) {
		/* Connected again (a clean session): subscribe again. */
		mq.subscribe_v5(m, NULL, f->resp_topic, 1, 0, NULL);
		if (f->ev_topic[0])
			mq.subscribe_v5(m, NULL, f->ev_topic, 1, 0, NULL);
		if (f->co_topic[0])
			mq.subscribe_v5(m, NULL, f->co_topic, 1, 0, NULL);
	}
	f->connack = rc == 0 ? 1 : -1;
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
}

static void on_subscribe(struct mosquitto *m, void *obj, int mid, int n, const int *qos,
			 const mosquitto_property *p)
{
	struct hvf *f = obj;
	(void)m;
	(void)mid;
	(void)n;
	(void)qos;
	(void)p;
	pthread_mutex_lock(&f->lock);
	f->suback++;
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
}

/* The vehicle id of "hv/v1/<id>/presence" into id; -1 when not that. */
static int presence_vehicle(const char *topic, char id[72])
{
	const char *p = strncmp(topic, "hv/v1/", 6) == 0 ? topic + 6 : NULL;
	const char *slash = p ? strchr(p, '/') : NULL;
	if (!slash || slash == p || (size_t)(slash - p) >= 72 || strcmp(slash, "/presence") != 0)
		return -1;
	memcpy(id, p, (size_t)(slash - p));
	id[slash - p] = '\0';
	return 0;
}

/* A retained presence message: it counts only when signed by the vehicle
 * its topic names; anything else is listed as unverified with the reason.
 * Under f->lock. */
static void on_presence(struct hvf *f, const struct mosquitto_message *msg)
{
	struct hvf_vehicle got;
	struct hv_status st;
	uint8_t *body = NULL;
	size_t blen = 0;

	memset(&got, 0, sizeof got);
	if (presence_vehicle(msg->topic, got.id) != 0)
		return;
	if (fleet_open(f->opener, msg->payload, (size_t)msg->payloadlen, got.id, NULL, &body, &blen,
		       &st) != 0) {
		snprintf(got.why, sizeof got.why, "%s", st.msg);
	} else {
		Hvmgr__V1__FleetPresence *p = hvmgr__v1__fleet_presence__unpack(NULL, blen, body);
		if (!p) {
			snprintf(got.why, sizeof got.why, "signed, but not a FleetPresence");
		} else if (strcmp(p->vehicle, got.id) != 0) {
			snprintf(got.why, sizeof got.why,
				 "signed by vehicle '%s', but names vehicle '%.64s'", got.id,
				 p->vehicle);
		} else {
			got.verified = true;
			got.online = p->online;
			got.will = p->will;
			got.since_ms = p->since_ms;
			snprintf(got.version, sizeof got.version, "%s", p->agent_version);
		}
		if (p)
			hvmgr__v1__fleet_presence__free_unpacked(p, NULL);
	}
	free(body);
	size_t i = 0;
	while (i < f->nveh && strcmp(f->veh[i].id, got.id) != 0)
		i++;
	if (i == f->nveh && f->nveh < VEHICLES_MAX)
		f->nveh++;
	if (i < f->nveh)
		f->veh[i] = got;
}

/* A reply counts only when the vehicle asked signed it for this very request
 * (its correlation data and nonce); anything else is remembered as refused
 * and the wait goes on: another broker client cannot forge or replay one.
 * Under f->lock. */
static void accept_reply(struct hvf *f, struct pending *p, const struct mosquitto_message *msg)
{
	struct hv_status st;
	uint8_t *body;
	size_t blen;

	if (fleet_open(f->opener, msg->payload, msg->payloadlen > 0 ? (size_t)msg->payloadlen : 0,
		       p->vehicle, NULL, &body, &blen, &st) != 0) {
		snprintf(p->refused, sizeof p->refused, "%s", st.msg);
		return;
	}
	Hvmgr__V1__FleetReply *r = hvmgr__v1__fleet_reply__unpack(NULL, blen, body);
	const char *why = NULL;
	if (!r)
		why = "signed, but not a FleetReply";
	else if (strcmp(r->vehicle, p->vehicle) != 0)
		why = "it names another vehicle";
	else if (r->correlation.len != CORR_LEN ||
		 memcmp(r->correlation.data, p->corr, CORR_LEN) != 0 ||
		 r->request_nonce.len != p->nonce_len ||
		 (p->nonce_len && memcmp(r->request_nonce.data, p->nonce, p->nonce_len) != 0))
		why = "it answers another request (a replayed reply)";
	if (r)
		hvmgr__v1__fleet_reply__free_unpacked(r, NULL);
	if (why) {
		snprintf(p->refused, sizeof p->refused, "signed by vehicle '%s', but %s",
			 p->vehicle, why);
		free(body);
		return;
	}
	p->data = body;
	p->len = blen;
	p->done = true;
	pthread_cond_broadcast(&f->cond);
}

/* The FleetPublication of msg when vehicle signed it; else NULL, counted in
 * *refused with the reason in why. */
static Hvmgr__V1__FleetPublication *open_publication(struct hvf *f,
						     const struct mosquitto_message *msg,
						     const char *vehicle, uint64_t *refused,
						     char *why, size_t why_len)
{
	struct hv_status st;
	uint8_t *body;
	size_t blen;

	if (fleet_open(f->opener, msg->payload, msg->payloadlen > 0 ? (size_t)msg->payloadlen : 0,
		       vehicle, NULL, &body, &blen, &st) != 0) {
		(*refused)++;
		snprintf(why, why_len, "%s", st.msg);
		return NULL;
	}
	Hvmgr__V1__FleetPublication *pub = hvmgr__v1__fleet_publication__unpack(NULL, blen, body);
	free(body);
	return pub;
}

/* A publication of the followed vehicle's events topic. Under f->lock. */
static void on_event(struct hvf *f, const struct mosquitto_message *msg)
{
	uint64_t before = f->ev_refused;
	Hvmgr__V1__FleetPublication *pub =
		open_publication(f, msg, f->ev_vehicle, &f->ev_refused, f->ev_why, sizeof f->ev_why);
	if (f->ev_refused != before)
		return;
	Hvmgr__V1__Event *ev =
		pub ? hvmgr__v1__event__unpack(NULL, pub->payload.len, pub->payload.data) : NULL;
	if (!ev || strcmp(pub->vehicle, f->ev_vehicle) != 0) {
		f->ev_refused++;
		snprintf(f->ev_why, sizeof f->ev_why, "signed, but not an event of vehicle '%s'",
			 f->ev_vehicle);
		if (ev)
			hvmgr__v1__event__free_unpacked(ev, NULL);
	} else {
		if (f->ev_count == HVF_EVENTS_MAX) {
			hvmgr__v1__event__free_unpacked(f->evq[f->ev_head].ev, NULL);
			f->ev_head = (f->ev_head + 1) % HVF_EVENTS_MAX;
			f->ev_count--;
			f->ev_missed++;
		}
		struct hvf_event *e = &f->evq[(f->ev_head + f->ev_count) % HVF_EVENTS_MAX];
		e->ev = ev;
		e->link_dropped = pub->dropped;
		f->ev_count++;
		pthread_cond_broadcast(&f->cond);
	}
	if (pub)
		hvmgr__v1__fleet_publication__free_unpacked(pub, NULL);
}

/* A publication of the followed console session. Under f->lock. */
static void on_console(struct hvf *f, const struct mosquitto_message *msg)
{
	uint64_t before = f->co_refused;
	Hvmgr__V1__FleetPublication *pub =
		open_publication(f, msg, f->co_vehicle, &f->co_refused, f->co_why, sizeof f->co_why);
	if (f->co_refused != before)
		return;
	Hvmgr__V1__FleetConsoleOutput *o =
		pub ? hvmgr__v1__fleet_console_output__unpack(NULL, pub->payload.len,
							      pub->payload.data)
		    : NULL;
	if (!o || strcmp(pub->vehicle, f->co_vehicle) != 0) {
		f->co_refused++;
		snprintf(f->co_why, sizeof f->co_why,
			 "signed, but not console output of vehicle '%s'", f->co_vehicle);
		if (o)
			hvmgr__v1__fleet_console_output__free_unpacked(o, NULL);
	} else if (f->co_count == HVF_CONSOLE_MAX) {
		hvmgr__v1__fleet_console_output__free_unpacked(o, NULL); /* a gap by seq */
	} else {
		f->coq[(f->co_head + f->co_count) % HVF_CONSOLE_MAX] = o;
		f->co_count++;
		pthread_cond_broadcast(&f->cond);
	}
	if (pub)
		hvmgr__v1__fleet_publication__free_unpacked(pub, NULL);
}

static void on_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg,
		       const mosquitto_property *props)
{
	struct hvf *f = obj;
	void *corr = NULL;
	uint16_t clen = 0;
	(void)m;

	pthread_mutex_lock(&f->lock);
	if (f->ev_topic[0] && strcmp(msg->topic, f->ev_topic) == 0) {
		on_event(f, msg);
		pthread_mutex_unlock(&f->lock);
		return;
	}
	if (f->co_topic[0] && strcmp(msg->topic, f->co_topic) == 0) {
		on_console(f, msg);
		pthread_mutex_unlock(&f->lock);
		return;
	}
	if (strcmp(msg->topic, f->resp_topic) != 0) {
		if (f->veh && msg->payloadlen > 0)
			on_presence(f, msg);
		pthread_mutex_unlock(&f->lock);
		return;
	}
	mq.property_read_binary(props, MQTT_PROP_CORRELATION_DATA, &corr, &clen, false);
	for (int i = 0; corr && clen == CORR_LEN && i < PENDING_MAX; i++) {
		struct pending *p = &f->pend[i];
		if (p->used && !p->done && memcmp(p->corr, corr, CORR_LEN) == 0) {
			accept_reply(f, p, msg);
			break;
		}
	}
	pthread_mutex_unlock(&f->lock);
	free(corr);
}

static int parse_url(const char *url, char *host, size_t hlen, int *port)
{
	const char *p = strncmp(url, "mqtts://", 8) == 0 ? url + 8 : NULL;
	const char *colon = p ? strrchr(p, ':') : NULL;
	char *end;

	if (!p || !colon || colon == p || (size_t)(colon - p) >= hlen)
		return -1;
	long v = strtol(colon + 1, &end, 10);
	if (*end || v <= 0 || v > 65535)
		return -1;
	memcpy(host, p, (size_t)(colon - p));
	host[colon - p] = '\0';
	*port = (int)v;
	return 0;
}

/* Waits (under f->lock) until *flag reaches want or ms pass; 0 when it did. */
static int wait_for(struct hvf *f, const int *flag, int want, unsigned ms)
{
	struct timespec ts;
	deadline_in(&ts, ms);
	while (*flag < want && f->connack >= 0)
		if (pthread_cond_timedwait(&f->cond, &f->lock, &ts) != 0)
			break;
	return *flag >= want ? 0 : -1;
}

struct hvf *hvf_connect(const char *url, const char *ca, const char *cert, const char *key,
			struct hv_status *st)
{
	char host[256], id[48];
	uint8_t rnd[8];
	int port, rc;
	struct hvf *f;

	if (parse_url(url, host, sizeof host, &port) != 0) {
		hv_status_set(st, HV_INVALID_ARGUMENT, "--fleet: '%s' is not mqtts://HOST:PORT", url);
		return NULL;
	}
	f = calloc(1, sizeof *f);
	if (!f) {
		hv_status_set(st, HV_INTERNAL, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->cond, NULL);
	f->signer = fleet_signer_load(cert, key, st);
	if (!f->signer)
		goto fail;
	f->opener = fleet_opener_new(ca, st);
	if (!f->opener)
		goto fail;
	if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) {
		hv_status_set(st, HV_INTERNAL, "no random bytes");
		goto fail;
	}
	snprintf(id, sizeof id, "hvctl-%02x%02x%02x%02x%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2],
		 rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
	snprintf(f->resp_topic, sizeof f->resp_topic, "hv/v1/client/%s/resp", id);
	if (lazylib_load(&mq_lib, st) != 0) {
		hv_status_prefix(st, "--fleet: ");
		goto fail;
	}
	mq.lib_init();
	f->mosq = mq.new(id, true, f);
	if (!f->mosq) {
		hv_status_set(st, HV_INTERNAL, "cannot create an MQTT client");
		goto fail;
	}
	mq.int_option(f->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
	rc = mq.tls_set(f->mosq, ca, NULL, cert, key, NULL);
	if (rc != MOSQ_ERR_SUCCESS) {
		hv_status_set(st, HV_INVALID_ARGUMENT, "TLS files %s, %s, %s: %s", ca, cert, key,
			      mq.strerror(rc));
		goto fail;
	}
	mq.connect_v5_callback_set(f->mosq, on_connect);
	mq.subscribe_v5_callback_set(f->mosq, on_subscribe);
	mq.message_v5_callback_set(f->mosq, on_message);
	rc = mq.connect_bind_v5(f->mosq, host, port, 30, NULL, NULL);
	if (rc == MOSQ_ERR_SUCCESS)
		rc = mq.loop_start(f->mosq);
	if (rc != MOSQ_ERR_SUCCESS) {
		hv_status_set(st, HV_UNAVAILABLE, "fleet broker %s: %s", url, mq.strerror(rc));
		goto fail;
	}
	pthread_mutex_lock(&f->lock);
	int ok = wait_for(f, &f->connack, 1, 10000) == 0;
	pthread_mutex_unlock(&f->lock);
	if (!ok) {
		hv_status_set(st, HV_UNAVAILABLE,
			      "fleet broker %s did not accept the connection (TLS or MQTT 5)", url);
		goto fail;
	}
	mq.subscribe_v5(f->mosq, NULL, f->resp_topic, 1, 0, NULL);
	pthread_mutex_lock(&f->lock);
	ok = wait_for(f, &f->suback, 1, 10000) == 0;
	pthread_mutex_unlock(&f->lock);
	if (!ok) {
		hv_status_set(st, HV_UNAVAILABLE, "fleet broker %s: no answer to SUBSCRIBE", url);
		goto fail;
	}
	return f;
fail:
	hvf_close(f);
	return NULL;
}

void hvf_close(struct hvf *f)
{
	if (!f)
		return;
	if (f->mosq) {
		mq.disconnect_v5(f->mosq, MQTT_RC_NORMAL_DISCONNECTION, NULL);
		mq.loop_stop(f->mosq, true);
		mq.destroy(f->mosq);
		mq.lib_cleanup();
	}
	for (int i = 0; i < PENDING_MAX; i++)
		free(f->pend[i].data);
	for (size_t i = 0; i < f->ev_count; i++)
		hvmgr__v1__event__free_unpacked(f->evq[(f->ev_head + i) % HVF_EVENTS_MAX].ev, NULL);
	for (size_t i = 0; i < f->co_count; i++)
		hvmgr__v1__fleet_console_output__free_unpacked(f->coq[(f->co_head + i) % HVF_CONSOLE_MAX],
							       NULL);
	free(f->veh);
	fleet_signer_free(f->signer);
	fleet_opener_free(f->opener);
	pthread_mutex_destroy(&f->lock);
	pthread_cond_destroy(&f->cond);
	free(f);
}

int hvf_call_raw(struct hvf *f, const char *vehicle, const uint8_t *payload, size_t len,
		 uint8_t **reply, size_t *reply_len, unsigned timeout_ms, struct hv_status *st)
{
	char topic[160];
	struct pending *p = NULL;
	mosquitto_property *props = NULL;

	*reply = NULL;
	pthread_mutex_lock(&f->lock);
	for (int i = 0; i < PENDING_MAX && !p; i++)
		if (!f->pend[i].used)
			p = &f->pend[i];
	if (!p) {
		pthread_mutex_unlock(&f->lock);
		return hv_status_set(st, HV_RESOURCE_EXHAUSTED, "%d requests in flight already",
				     PENDING_MAX);
	}
	*p = (struct pending){ .used = true };
	snprintf(p->vehicle, sizeof p->vehicle, "%s", vehicle);
	p->nonce_len = fleet_request_nonce(payload, len, p->nonce);
	if (getrandom(p->corr, CORR_LEN, 0) != CORR_LEN) {
		p->used = false;
		pthread_mutex_unlock(&f->lock);
		return hv_status_set(st, HV_INTERNAL, "no random bytes");
	}
	uint8_t corr[CORR_LEN];
	memcpy(corr, p->corr, CORR_LEN);
	pthread_mutex_unlock(&f->lock);

	snprintf(topic, sizeof topic, "hv/v1/%s/req", vehicle);
	mq.property_add_string(&props, MQTT_PROP_RESPONSE_TOPIC, f->resp_topic);
	mq.property_add_binary(&props, MQTT_PROP_CORRELATION_DATA, corr, CORR_LEN);
	int rc = mq.publish_v5(f->mosq, NULL, topic, (int)len, payload, 1, false, props);
	mq.property_free_all(&props);

	pthread_mutex_lock(&f->lock);
	if (rc == MOSQ_ERR_SUCCESS) {
		struct timespec ts;
		deadline_in(&ts, timeout_ms);
		while (!p->done)
			if (pthread_cond_timedwait(&f->cond, &f->lock, &ts) != 0)
				break;
	}
	int got = p->done;
	char refused[sizeof p->refused];
	snprintf(refused, sizeof refused, "%s", p->refused);
	*reply = p->data;
	*reply_len = p->len;
	*p = (struct pending){ 0 };
	pthread_mutex_unlock(&f->lock);
	if (rc != MOSQ_ERR_SUCCESS)
		return hv_status_set(st, HV_UNAVAILABLE, "cannot publish to %s: %s", topic,
				     mq.strerror(rc));
	if (!got && refused[0])
		return hv_status_set(st, HV_UNAUTHENTICATED,
				     "reply from vehicle '%s' refused: %s (no genuine reply within %u ms)",
				     vehicle, refused, timeout_ms);
	if (!got)
		return hv_status_set(st, HV_DEADLINE_EXCEEDED,
				     "no reply from vehicle '%s' within %u ms (offline?)", vehicle,
				     timeout_ms);
	return 0;
}

static int sign_for(struct hvf *f, const char *vehicle, const char *method,
		    const ProtobufCMessage *req, unsigned lifetime_ms, uint8_t **out,
		    size_t *out_len, struct hv_status *st)
{
	size_t len = protobuf_c_message_get_packed_size(req);
	uint8_t *buf = malloc(len ? len : 1);
	if (!buf)
		return hv_status_set(st, HV_INTERNAL, "out of memory");
	protobuf_c_message_pack(req, buf);
	int rc = fleet_sign_request(f->signer, vehicle, method, buf, len, lifetime_ms, out, out_len,
				    st);
	free(buf);
	return rc;
}

int hvf_sign(struct hvf *f, const char *vehicle, const char *method, const ProtobufCMessage *req,
	     uint8_t **out, size_t *out_len, struct hv_status *st)
{
	return sign_for(f, vehicle, method, req, 0, out, out_len, st);
}

int hvf_call(struct hvf *f, const char *vehicle, const char *method, const ProtobufCMessage *req,
	     const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp,
	     unsigned timeout_ms, struct hv_status *st)
{
	uint8_t *signed_req = NULL, *raw = NULL;
	size_t slen, rlen;
	int rc = -1;

	*resp = NULL;
	/* Valid as long as the caller waits for it plus the clock skew allowed,
	 * not the full 5 minutes: it cannot run long after the caller gave up,
	 * and the vehicle forgets its nonce sooner (polling verbs). */
	f->last_code = HV_OK;
	f->last_no_reply = false;
	if (sign_for(f, vehicle, method, req, timeout_ms + FLEET_CLOCK_SKEW_MS, &signed_req, &slen,
		     st) != 0)
		return -1;
	if (hvf_call_raw(f, vehicle, signed_req, slen, &raw, &rlen, timeout_ms, st) != 0) {
		f->last_code = st->code;
		f->last_no_reply = st->code == HV_DEADLINE_EXCEEDED;
		goto out;
	}
	Hvmgr__V1__FleetReply *r = hvmgr__v1__fleet_reply__unpack(NULL, rlen, raw);
	if (!r) {
		hv_status_set(st, HV_INTERNAL, "vehicle '%s' sent a malformed reply", vehicle);
		goto out;
	}
	if (r->code != 0) {
		hv_status_set(st, (enum hv_code)r->code, "%s", r->message);
		f->last_code = r->code;
	} else {
		*resp = protobuf_c_message_unpack(resp_desc, NULL, r->response.len, r->response.data);
		if (*resp)
			rc = 0;
		else
			hv_status_set(st, HV_INTERNAL, "vehicle '%s' sent a malformed %s", vehicle,
				      resp_desc->name);
	}
	hvmgr__v1__fleet_reply__free_unpacked(r, NULL);
out:
	free(signed_req);
	free(raw);
	return rc;
}

int hvf_last_expired(const struct hvf *f)
{
	if (f->last_code != HV_DEADLINE_EXCEEDED)
		return 0;
	return f->last_no_reply ? 2 : 1;
}

/* Subscribes to topic and waits (bounded) for the broker's SUBACK; subs:
 * the SUBACKs counted before. */
static int subscribe_wait(struct hvf *f, const char *topic, int subs, struct hv_status *st)
{
	int rc = mq.subscribe_v5(f->mosq, NULL, topic, 1, 0, NULL);
	if (rc != MOSQ_ERR_SUCCESS)
		return hv_status_set(st, HV_UNAVAILABLE, "cannot subscribe to %s: %s", topic,
				     mq.strerror(rc));
	pthread_mutex_lock(&f->lock);
	int ok = wait_for(f, &f->suback, subs + 1, 10000) == 0;
	pthread_mutex_unlock(&f->lock);
	if (!ok)
		return hv_status_set(st, HV_UNAVAILABLE,
				     "the broker did not answer SUBSCRIBE to %s", topic);
	return 0;
}

int hvf_events_open(struct hvf *f, const char *vehicle, struct hv_status *st)
{
	char topic[sizeof f->ev_topic];

	pthread_mutex_lock(&f->lock);
	snprintf(f->ev_vehicle, sizeof f->ev_vehicle, "%s", vehicle);
	snprintf(f->ev_topic, sizeof f->ev_topic, "hv/v1/%s/events", vehicle);
	snprintf(topic, sizeof topic, "%s", f->ev_topic);
	int subs = f->suback;
	pthread_mutex_unlock(&f->lock);
	return subscribe_wait(f, topic, subs, st);
}

/* Takes f->lock and waits up to wait_ms while *count is 0. */
static void lock_until_queued(struct hvf *f, const size_t *count, unsigned wait_ms)
{
	struct timespec ts;

	deadline_in(&ts, wait_ms);
	pthread_mutex_lock(&f->lock);
	while (*count == 0 && wait_ms)
		if (pthread_cond_timedwait(&f->cond, &f->lock, &ts) != 0)
			break;
}

int hvf_event_next(struct hvf *f, struct hvf_event *out, unsigned wait_ms, uint64_t *missed,
		   uint64_t *refused, char *why, size_t why_len)
{
	int got = 0;

	lock_until_queued(f, &f->ev_count, wait_ms);
	if (f->ev_count) {
		*out = f->evq[f->ev_head];
		f->evq[f->ev_head] = (struct hvf_event){ 0 };
		f->ev_head = (f->ev_head + 1) % HVF_EVENTS_MAX;
		f->ev_count--;
		got = 1;
	}
	*missed += f->ev_missed;
	*refused += f->ev_refused;
	if (f->ev_refused && why_len)
		snprintf(why, why_len, "%s", f->ev_why);
	f->ev_missed = f->ev_refused = 0;
	pthread_mutex_unlock(&f->lock);
	return got;
}

int hvf_console_open(struct hvf *f, const char *vehicle, const char *sub, struct hv_status *st)
{
	if (!sub || !sub[0] || strpbrk(sub, "+#"))
		return hv_status_set(st, HV_INVALID_ARGUMENT,
				     "console output topic '%s' is not one", sub ? sub : "");
	pthread_mutex_lock(&f->lock);
	snprintf(f->co_vehicle, sizeof f->co_vehicle, "%s", vehicle);
	snprintf(f->co_topic, sizeof f->co_topic, "hv/v1/%s/%s", vehicle, sub);
	char topic[sizeof f->co_topic];
	snprintf(topic, sizeof topic, "%s", f->co_topic);
	int subs = f->suback;
	pthread_mutex_unlock(&f->lock);
	return subscribe_wait(f, topic, subs, st);
}

int hvf_console_next(struct hvf *f, Hvmgr__V1__FleetConsoleOutput **out, unsigned wait_ms,
		     uint64_t *refused, char *why, size_t why_len)
{
	int got = 0;

	*out = NULL;
	lock_until_queued(f, &f->co_count, wait_ms);
	if (f->co_count) {
		*out = f->coq[f->co_head];
		f->coq[f->co_head] = NULL;
		f->co_head = (f->co_head + 1) % HVF_CONSOLE_MAX;
		f->co_count--;
		got = 1;
	}
	*refused += f->co_refused;
	if (f->co_refused && why_len)
		snprintf(why, why_len, "%s", f->co_why);
	f->co_refused = 0;
	pthread_mutex_unlock(&f->lock);
	return got;
}

static int cmp_vehicle(const void *a, const void *b)
{
	return strcmp(((const struct hvf_vehicle *)a)->id, ((const struct hvf_vehicle *)b)->id);
}

size_t hvf_vehicles(struct hvf *f, struct hvf_vehicle *out, size_t max, unsigned wait_ms)
{
	struct timespec ts = { (time_t)(wait_ms / 1000), (long)(wait_ms % 1000) * 1000000L };

	pthread_mutex_lock(&f->lock);
	if (!f->veh)
		f->veh = calloc(VEHICLES_MAX, sizeof *f->veh);
	int subs = f->suback;
	pthread_mutex_unlock(&f->lock);
	if (!f->veh)
		return 0;
	mq.subscribe_v5(f->mosq, NULL, "hv/v1/+/presence", 1, 0, NULL);
	pthread_mutex_lock(&f->lock);
	wait_for(f, &f->suback, subs + 1, 10000);
	pthread_mutex_unlock(&f->lock);
	nanosleep(&ts, NULL); /* retained messages follow the SUBACK */
	pthread_mutex_lock(&f->lock);
	size_t n = f->nveh < max ? f->nveh : max;
	memcpy(out, f->veh, n * sizeof *out);
	pthread_mutex_unlock(&f->lock);
	qsort(out, n, sizeof *out, cmp_vehicle);
	return n;
}
