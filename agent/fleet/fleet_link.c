/*
 * fleet_link.c - the MQTT side of the fleet link with libmosquitto (MQTT 5).
 *
 * Two threads: the network thread owns the mosquitto handle (connects, runs
 * its loop, publishes replies and buffered items, reconnects with backoff
 * and jitter); the worker thread checks and runs requests one at a time, so
 * a slow management command never stalls the keep-alive. They meet in three
 * queues under one lock: requests in, replies out, and the offline buffer.
 */
#include "fleet_link.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <mosquitto.h>
#include <mqtt_protocol.h>

#include "callscope.h"
#include "fleet_envelope.h"
#include "lazylib.h"
#include "log.h"

/* libmosquitto, loaded when the first link starts (lazylib.h). */
#define MQ_FNS(X)                                                                                  \
	X(connect_bind_v5)                                                                         \
	X(connect_v5_callback_set)                                                                 \
	X(destroy)                                                                                 \
	X(disconnect)                                                                              \
	X(disconnect_v5)                                                                           \
	X(disconnect_v5_callback_set)                                                              \
	X(int_option)                                                                              \
	X(lib_cleanup)                                                                             \
	X(lib_init)                                                                                \
	X(loop)                                                                                    \
	X(message_v5_callback_set)                                                                 \
	X(new)                                                                                     \
	X(property_add_binary)                                                                     \
	X(property_add_int32)                                                                      \
	X(property_free_all)                                                                       \
	X(property_read_binary)                                                                    \
	X(property_read_string)                                                                    \
	X(publish_v5)                                                                              \
	X(publish_v5_callback_set)                                                                 \
	X(reason_string)                                                                           \
	X(strerror)                                                                                \
	X(subscribe_v5)                                                                            \
	X(tls_set)                                                                                 \
	X(will_set_v5)
static struct {
#define MQ_PTR(n) __typeof__(mosquitto_##n) *n;
	MQ_FNS(MQ_PTR)
} mq;
#define MQ_NAME(n) "mosquitto_" #n,
static const char *const mq_names[] = { MQ_FNS(MQ_NAME) };
static struct lazylib mq_lib = LAZYLIB_INIT("libmosquitto.so.1", mq_names, &mq);

#define REQ_QUEUE_MAX 16u   /* requests waiting for the worker */
#define REPLY_QUEUE_MAX 64u /* replies waiting for the link */
#define INFLIGHT_MAX 32u    /* buffered items published, not yet acknowledged */
#define BACKOFF_MIN_MS 200u
/* How long the broker keeps the vehicle's session after the link dropped:
 * the longest a request may live, clock skew included. */
#define SESSION_EXPIRY_S ((FLEET_MAX_LIFETIME_MS + FLEET_CLOCK_SKEW_MS) / 1000u)

struct fleet_msg {
	struct fleet_msg *next;
	char *topic;
	uint8_t *corr;
	size_t corr_len;
	uint8_t *data;
	size_t len;
};

struct outbox_item {
	enum fleet_stream stream;
	char *topic; /* FLEET_SUBTOPIC: its own topic */
	uint8_t *data;
	size_t len;
	int mid; /* > 0 while published and not yet acknowledged */
	bool done;
	unsigned tries;    /* acknowledged with a reason code other than 0 */
	uint64_t retry_ns; /* ... then published again not before this */
};

/* An item the broker acknowledged with a reason code other than success
 * (0x10: no subscriber has the topic yet) is kept and published again after
 * RETRY_MIN_MS, doubling up to RETRY_MAX_MS: a late subscriber still gets it,
 * and an item nobody subscribes to costs one publication per RETRY_MAX_MS,
 * not one per round trip. Not so a FLEET_SUBTOPIC item (a console session's
 * output): published again later it would come out of order; its subscriber
 * sees the gap by the session's own numbers and reads it from the source. */
#define RETRY_MIN_MS 100u
#define RETRY_MAX_MS 5000u

struct fleet_link {
	struct fleet_link_opts o;
	struct fleet_dispatch d;
	struct fleet_verifier *verifier;
	struct fleet_signer *signer; /* the vehicle's pair: replies and publications */
	struct mosquitto *mosq;
	char req_topic[160], presence_topic[160], topics[3][160];

	pthread_t net, worker;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int stop; /* atomic */

	/* under lock */
	struct fleet_msg *req_head, *req_tail, *rep_head, *rep_tail;
	unsigned nreq, nrep;
	struct outbox_item *box; /* ring of o.buffer_max */
	size_t box_head, box_count, inflight;
	uint64_t seq;
	struct fleet_link_stats stats;
	uint64_t link_ms; /* when the current connection was attempted: its presence's since_ms */
};

static void item_free(struct outbox_item *it)
{
	free(it->data);
	free(it->topic);
	*it = (struct outbox_item){ 0 };
}

static void msg_free(struct fleet_msg *m)
{
	if (!m)
		return;
	free(m->topic);
	free(m->corr);
	free(m->data);
	free(m);
}

static struct fleet_msg *msg_new(const char *topic, const void *corr, size_t corr_len,
				 const void *data, size_t len)
{
	struct fleet_msg *m = calloc(1, sizeof *m);
	if (!m)
		return NULL;
	m->topic = strdup(topic);
	m->corr = malloc(corr_len ? corr_len : 1);
	m->data = malloc(len ? len : 1);
	if (!m->topic || !m->corr || !m->data) {
		msg_free(m);
		return NULL;
	}
	if (corr_len)
		memcpy(m->corr, corr, corr_len);
	if (len)
		memcpy(m->data, data, len);
	m->corr_len = corr_len;
	m->len = len;
	return m;
}

static void push(struct fleet_msg **head, struct fleet_msg **tail, struct fleet_msg *m)
{
	m->next = NULL;
	if (*tail)
		(*tail)->next = m;
	else
		*head = m;
	*tail = m;
}

static struct fleet_msg *pop(struct fleet_msg **head, struct fleet_msg **tail)
{
	struct fleet_msg *m = *head;
	if (m) {
		*head = m->next;
		if (!*head)
			*tail = NULL;
	}
	return m;
}

static bool stopping(const struct fleet_link *l)
{
	return __atomic_load_n(&l->stop, __ATOMIC_ACQUIRE) != 0;
}

/* ------------------------------------------------------------------------ */
/* Replies                                                                   */

static void queue_reply(struct fleet_link *l, const struct fleet_msg *req,
			const struct hv_status *st, const uint8_t *resp, size_t resp_len)
{
	Hvmgr__V1__FleetReply r = HVMGR__V1__FLEET_REPLY__INIT;
	uint8_t nonce[FLEET_NONCE_MAX], *buf = NULL;
	size_t len = 0;
	struct hv_status sst;

	r.code = (int32_t)st->code;
	r.message = (char *)(st->code == HV_OK ? "" : st->msg);
	r.response.data = (uint8_t *)resp;
	r.response.len = st->code == HV_OK ? resp_len : 0;
	/* Bound to the request it answers, signed by the vehicle. */
	r.vehicle = (char *)l->o.vehicle;
	r.request_nonce.len = fleet_request_nonce(req->data, req->len, nonce);
	r.request_nonce.data = nonce;
	r.correlation.data = req->corr;
	r.correlation.len = req->corr_len;
	r.sent_ms = fleet_now_ms();
	size_t blen = protobuf_c_message_get_packed_size(&r.base);
	uint8_t *body = malloc(blen ? blen : 1);
	if (!body)
		return;
	protobuf_c_message_pack(&r.base, body);
	int rc = fleet_seal(l->signer, body, blen, &buf, &len, &sst);
	free(body);
	if (rc != 0) {
		log_warn("fleet: reply to %s not signed: %s", req->topic, sst.msg);
		return;
	}
	struct fleet_msg *m = msg_new(req->topic, req->corr, req->corr_len, buf, len);
	free(buf);
	if (!m)
		return;
	pthread_mutex_lock(&l->lock);
	if (l->nrep >= REPLY_QUEUE_MAX) {
		pthread_mutex_unlock(&l->lock);
		log_warn("fleet: reply to %s dropped: %u replies wait for the link", m->topic,
			 REPLY_QUEUE_MAX);
		msg_free(m);
		return;
	}
	push(&l->rep_head, &l->rep_tail, m);
	l->nrep++;
	pthread_mutex_unlock(&l->lock);
}

/* ------------------------------------------------------------------------ */
/* The worker: one request at a time                                         */

static bool ctx_stopping(const struct rpc_call_ctx *ctx)
{
	return stopping(ctx->priv_);
}

static const struct rpc_method *find_method(const struct fleet_link *l, const char *path)
{
	for (size_t i = 0; i < l->d.nmethods; i++)
		if (strcmp(l->d.methods[i].path, path) == 0)
			return &l->d.methods[i];
	return NULL;
}

static const char *short_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s && s[1] ? s + 1 : path;
}

static void refuse(struct fleet_link *l, const struct rpc_peer *peer, const char *rpc,
		   const struct hv_status *st)
{
	pthread_mutex_lock(&l->lock);
	l->stats.refused++;
	pthread_mutex_unlock(&l->lock);
	log_info("fleet: %s from %s refused: %s", rpc, peer->identity ? peer->identity : "?",
		 st->msg);
	if (l->d.refused)
		l->d.refused(l->d.app, peer, rpc, st);
}

static void serve(struct fleet_link *l, const struct fleet_msg *req)
{
	struct fleet_verified fv;
	struct rpc_result res;
	struct rpc_peer peer = { .kind = RPC_LISTENER_FLEET, .peer = "mqtt" };
	uint64_t now = fleet_now_ms();

	memset(&res, 0, sizeof res);
	if (fleet_verify(l->verifier, req->data, req->len, now, &fv, &res.st) != 0) {
		peer.identity = fv.name[0] ? fv.name : NULL;
		peer.x509_subject = fv.subject[0] ? fv.subject : NULL;
		refuse(l, &peer, "FleetRequest", &res.st);
		queue_reply(l, req, &res.st, NULL, 0);
		return;
	}
	peer.identity = fv.name;
	peer.x509_subject = fv.subject;
	const char *path = fv.body->method;
	const struct rpc_method *m = find_method(l, path);
	if (l->d.authorize && l->d.authorize(l->d.app, &peer, path, &res.st) != 0) {
		pthread_mutex_lock(&l->lock);
		l->stats.refused++;
		pthread_mutex_unlock(&l->lock);
	} else if (!m || !m->unary) {
		hv_status_set(&res.st, HV_UNIMPLEMENTED,
			      m ? "%s streams: the fleet link serves unary methods; events "
				  "come on the events topic"
				: "method %s is not served by hv-agent",
			      path);
		refuse(l, &peer, short_name(path), &res.st);
	} else {
		struct rpc_call_ctx ctx = {
			.peer = &peer,
			.method = m->path,
			.app = l->d.app,
			.stopping = ctx_stopping,
			.deadline_ns = hv_mono_ns() + (fv.not_after_ms - now) * 1000000u,
			.priv_ = l,
		};
		if (rpc_run_unary(m, &ctx, fv.body->request.data, fv.body->request.len, &l->stop,
				  &res) != 0)
			refuse(l, &peer, short_name(path), &res.st);
	}
	queue_reply(l, req, &res.st, res.resp, res.resp_len);
	free(res.resp);
	fleet_verified_release(&fv);
}

static void *worker_main(void *arg)
{
	struct fleet_link *l = arg;

	pthread_mutex_lock(&l->lock);
	for (;;) {
		while (!l->req_head && !stopping(l))
			pthread_cond_wait(&l->cond, &l->lock);
		struct fleet_msg *m = pop(&l->req_head, &l->req_tail);
		if (!m)
			break;
		l->nreq--;
		pthread_mutex_unlock(&l->lock);
		serve(l, m);
		msg_free(m);
		pthread_mutex_lock(&l->lock);
	}
	pthread_mutex_unlock(&l->lock);
	return NULL;
}

/* ------------------------------------------------------------------------ */
/* libmosquitto callbacks (on the network thread)                            */

/* A presence message signed by the vehicle (a packed FleetSigned in *out,
 * malloc'd; NULL when it could not be signed). A will is signed before the
 * connection it belongs to is made: since_ms is then that connection's time. */
static void presence(struct fleet_link *l, bool online, bool will, uint64_t since_ms, uint8_t **out,
		     size_t *len)
{
	Hvmgr__V1__FleetPresence p = HVMGR__V1__FLEET_PRESENCE__INIT;
	struct hv_status st;
	p.vehicle = (char *)l->o.vehicle;
	p.online = online;
	p.will = will;
	p.agent_version = (char *)(l->o.version ? l->o.version : "");
	p.since_ms = since_ms;
	*out = NULL;
	*len = 0;
	size_t blen = protobuf_c_message_get_packed_size(&p.base);
	uint8_t *body = malloc(blen ? blen : 1);
	if (!body)
		return;
	protobuf_c_message_pack(&p.base, body);
	if (fleet_seal(l->signer, body, blen, out, len, &st) != 0)
		log_warn("fleet: presence not signed: %s", st.msg);
	free(body);
}

/* The will of the next connection: "offline, link lost", signed now. */
static void set_will(struct fleet_link *l)
{
	uint8_t *p;
	size_t len;
	l->link_ms = fleet_now_ms();
	presence(l, false, true, l->link_ms, &p, &len);
	if (p)
		mq.will_set_v5(l->mosq, l->presence_topic, (int)len, p, 1, true, NULL);
	free(p);
}

static void on_connect(struct mosquitto *mosq, void *obj, int rc, int flags,
		       const mosquitto_property *props)
{
	struct fleet_link *l = obj;
	uint8_t *p;
	size_t len;

	(void)flags;
	(void)props;
	if (rc != 0) {
		log_warn("fleet: broker %s:%d refused the connection: %s", l->o.host, l->o.port,
			 mq.reason_string(rc));
		return;
	}
	mq.subscribe_v5(mosq, NULL, l->req_topic, 1, 0, NULL);
	presence(l, true, false, l->link_ms, &p, &len);
	if (p)
		mq.publish_v5(mosq, NULL, l->presence_topic, (int)len, p, 1, true, NULL);
	free(p);
	pthread_mutex_lock(&l->lock);
	l->stats.connected = 1;
	l->stats.connects++;
	pthread_mutex_unlock(&l->lock);
	log_info("fleet: connected to %s:%d as vehicle '%s'", l->o.host, l->o.port, l->o.vehicle);
}

static void on_disconnect(struct mosquitto *mosq, void *obj, int rc, const mosquitto_property *props)
{
	struct fleet_link *l = obj;

	(void)mosq;
	(void)props;
	pthread_mutex_lock(&l->lock);
	bool lost = l->stats.connected && !stopping(l);
	if (lost)
		log_warn("fleet: link to %s:%d lost (%d); buffering", l->o.host, l->o.port, rc);
	l->stats.connected = 0;
	/* Unacknowledged items go out again on the next connection. */
	for (size_t i = 0; i < l->box_count; i++)
		l->box[(l->box_head + i) % l->o.buffer_max].mid = 0;
	l->inflight = 0;
	pthread_mutex_unlock(&l->lock);
	if (lost && l->d.link_lost)
		l->d.link_lost(l->d.app);
}

static void on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *msg,
		       const mosquitto_property *props)
{
	struct fleet_link *l = obj;
	char *resp_topic = NULL;
	void *corr = NULL;
	uint16_t corr_len = 0;

	(void)mosq;
	if (!mq.property_read_string(props, MQTT_PROP_RESPONSE_TOPIC, &resp_topic, false)) {
		log_info("fleet: request without a response topic ignored");
		return;
	}
	mq.property_read_binary(props, MQTT_PROP_CORRELATION_DATA, &corr, &corr_len, false);
	struct fleet_msg *m = msg_new(resp_topic, corr, corr_len, msg->payload,
				      msg->payloadlen > 0 ? (size_t)msg->payloadlen : 0);
	free(resp_topic);
	free(corr);
	if (!m)
		return;
	pthread_mutex_lock(&l->lock);
	l->stats.requests++;
	if (l->nreq >= REQ_QUEUE_MAX) {
		pthread_mutex_unlock(&l->lock);
		struct hv_status st;
		hv_status_set(&st, HV_RESOURCE_EXHAUSTED, "%u requests are waiting already",
			      REQ_QUEUE_MAX);
		queue_reply(l, m, &st, NULL, 0);
		msg_free(m);
		return;
	}
	push(&l->req_head, &l->req_tail, m);
	l->nreq++;
	pthread_cond_broadcast(&l->cond);
	pthread_mutex_unlock(&l->lock);
}

static void on_publish(struct mosquitto *mosq, void *obj, int mid, int rc,
		       const mosquitto_property *props)
{
	struct fleet_link *l = obj;

	(void)mosq;
	(void)props;
	pthread_mutex_lock(&l->lock);
	for (size_t i = 0; i < l->box_count; i++) {
		struct outbox_item *it = &l->box[(l->box_head + i) % l->o.buffer_max];
		if (it->mid == mid && !it->done) {
			it->done = rc == 0 || it->stream == FLEET_SUBTOPIC;
			it->mid = 0;
			l->inflight--;
			if (it->done) {
				l->stats.published++;
			} else {
				unsigned shift = it->tries < 6 ? it->tries : 6;
				unsigned ms = RETRY_MIN_MS << shift;
				it->retry_ns =
					hv_mono_ns() +
					(uint64_t)(ms < RETRY_MAX_MS ? ms : RETRY_MAX_MS) * 1000000u;
				it->tries++;
			}
			break;
		}
	}
	while (l->box_count && l->box[l->box_head].done) {
		item_free(&l->box[l->box_head]);
		l->box_head = (l->box_head + 1) % l->o.buffer_max;
		l->box_count--;
	}
	l->stats.buffered = l->box_count;
	pthread_mutex_unlock(&l->lock);
}

/* ------------------------------------------------------------------------ */
/* The network thread                                                        */

/* Publishes waiting replies and buffered items (caller is connected). */
static void flush(struct fleet_link *l)
{
	pthread_mutex_lock(&l->lock);
	struct fleet_msg *rep;
	while ((rep = pop(&l->rep_head, &l->rep_tail)) != NULL) {
		l->nrep--;
		pthread_mutex_unlock(&l->lock);
		mosquitto_property *props = NULL;
		if (rep->corr_len)
			mq.property_add_binary(&props, MQTT_PROP_CORRELATION_DATA, rep->corr,
					       (uint16_t)rep->corr_len);
		int rc = mq.publish_v5(l->mosq, NULL, rep->topic, (int)rep->len, rep->data, 1,
				       false, props);
		mq.property_free_all(&props);
		pthread_mutex_lock(&l->lock);
		if (rc == MOSQ_ERR_NO_CONN || rc == MOSQ_ERR_CONN_LOST || rc == MOSQ_ERR_NOMEM) {
			/* The connection just dropped: the reply waits at the
			 * head for the next one, not lost. */
			rep->next = l->rep_head;
			l->rep_head = rep;
			if (!l->rep_tail)
				l->rep_tail = rep;
			l->nrep++;
			break;
		}
		if (rc != MOSQ_ERR_SUCCESS)
			log_warn("fleet: reply to %s not sent: %s", rep->topic, mq.strerror(rc));
		msg_free(rep);
	}
	uint64_t now = hv_mono_ns();
	for (size_t i = 0; i < l->box_count && l->inflight < INFLIGHT_MAX; i++) {
		struct outbox_item *it = &l->box[(l->box_head + i) % l->o.buffer_max];
		if (it->mid || it->done || it->retry_ns > now)
			continue;
		int mid = 0;
		const char *topic = it->topic ? it->topic : l->topics[it->stream];
		if (mq.publish_v5(l->mosq, &mid, topic, (int)it->len, it->data, 1, false, NULL) !=
		    MOSQ_ERR_SUCCESS)
			break;
		it->mid = mid;
		l->inflight++;
	}
	pthread_mutex_unlock(&l->lock);
}

static void sleep_ms(struct fleet_link *l, unsigned ms)
{
	while (ms > 0 && !stopping(l)) {
		unsigned step = ms < 50 ? ms : 50;
		struct timespec ts = { 0, (long)step * 1000000L };
		nanosleep(&ts, NULL);
		ms -= step;
	}
}

/* The wait before the next attempt: exponential, capped, with full jitter
 * between half and all of it so a fleet that lost its broker does not come
 * back in one wave. */
static unsigned backoff_ms(const struct fleet_link *l, unsigned attempt)
{
	uint64_t d = BACKOFF_MIN_MS;
	for (unsigned i = 0; i < attempt && d < l->o.backoff_max_ms; i++)
		d *= 2;
	if (d > l->o.backoff_max_ms)
		d = l->o.backoff_max_ms;
	uint32_t r = 0;
	if (getrandom(&r, sizeof r, 0) != sizeof r)
		r = (uint32_t)hv_mono_ns();
	return (unsigned)(d / 2 + r % (d / 2 + 1));
}

static void *net_main(void *arg)
{
	struct fleet_link *l = arg;
	unsigned attempt = 0;
	bool session = false;

	while (!stopping(l)) {
		if (!session) {
			mosquitto_property *props = NULL;
			set_will(l);
			/* The broker keeps the session (its subscription and
			 * the requests for it) as long as a request may live:
			 * requests sent while the link was down, or in flight
			 * when it dropped, are delivered when it is back (and
			 * refused there if they expired meanwhile), not lost. */
			mq.property_add_int32(&props, MQTT_PROP_SESSION_EXPIRY_INTERVAL,
					      SESSION_EXPIRY_S);
			int rc = mq.connect_bind_v5(l->mosq, l->o.host, l->o.port,
						    (int)l->o.keepalive_s, NULL, props);
			mq.property_free_all(&props);
			if (rc != MOSQ_ERR_SUCCESS) {
				unsigned wait = backoff_ms(l, attempt++);
				log_debug("fleet: cannot reach %s:%d (%s); next try in %u ms",
					  l->o.host, l->o.port, mq.strerror(rc), wait);
				sleep_ms(l, wait);
				continue;
			}
			session = true;
		}
		int rc = mq.loop(l->mosq, 50, 1);
		if (rc != MOSQ_ERR_SUCCESS) {
			on_disconnect(l->mosq, l, rc, NULL);
			mq.disconnect(l->mosq);
			session = false;
			sleep_ms(l, backoff_ms(l, attempt++));
			continue;
		}
		pthread_mutex_lock(&l->lock);
		int up = l->stats.connected;
		pthread_mutex_unlock(&l->lock);
		if (up) {
			attempt = 0;
			flush(l);
		}
	}
	if (session) {
		uint8_t *p;
		size_t len;
		presence(l, false, false, fleet_now_ms(), &p, &len);
		if (p)
			mq.publish_v5(l->mosq, NULL, l->presence_topic, (int)len, p, 1, true, NULL);
		free(p);
		for (int i = 0; i < 10; i++)
			mq.loop(l->mosq, 20, 1);
		mq.disconnect_v5(l->mosq, MQTT_RC_NORMAL_DISCONNECTION, NULL);
		mq.loop(l->mosq, 20, 1);
	}
	return NULL;
}

/* ------------------------------------------------------------------------ */
/* Start, publish, stop                                                      */

static int enqueue(struct fleet_link *l, enum fleet_stream s, const char *sub,
		   const uint8_t *payload, size_t len)
{
	Hvmgr__V1__FleetPublication pub = HVMGR__V1__FLEET_PUBLICATION__INIT;
	struct hv_status st;
	uint8_t *buf = NULL;
	size_t blen = 0;
	int dropped = 0;

	pthread_mutex_lock(&l->lock);
	pub.seq = ++l->seq;
	pub.dropped = l->stats.dropped;
	pthread_mutex_unlock(&l->lock);
	pub.vehicle = (char *)l->o.vehicle;
	pub.queued_ms = fleet_now_ms();
	pub.payload.data = (uint8_t *)payload;
	pub.payload.len = len;
	/* Signed by the vehicle outside the lock: the link's thread does not
	 * wait for a signature. */
	size_t plen = protobuf_c_message_get_packed_size(&pub.base);
	uint8_t *body = malloc(plen ? plen : 1);
	if (body) {
		protobuf_c_message_pack(&pub.base, body);
		if (fleet_seal(l->signer, body, plen, &buf, &blen, &st) != 0)
			buf = NULL;
		free(body);
	}
	char *topic = NULL;
	if (buf && sub) {
		size_t tlen = strlen(FLEET_TOPIC_ROOT) + strlen(l->o.vehicle) + strlen(sub) + 2;
		topic = malloc(tlen);
		if (topic)
			snprintf(topic, tlen, FLEET_TOPIC_ROOT "%s/%s", l->o.vehicle, sub);
		else {
			free(buf);
			buf = NULL;
		}
	}
	pthread_mutex_lock(&l->lock);
	if (!buf) {
		l->stats.dropped++;
		pthread_mutex_unlock(&l->lock);
		return 1;
	}
	for (size_t i = 0; s == FLEET_TELEMETRY && i < l->box_count; i++) {
		struct outbox_item *it = &l->box[(l->box_head + i) % l->o.buffer_max];
		if (it->stream == FLEET_TELEMETRY && !it->mid && !it->done) {
			free(it->data);
			it->data = buf;
			it->len = blen;
			pthread_mutex_unlock(&l->lock);
			return 0;
		}
	}
	if (l->box_count == l->o.buffer_max) {
		struct outbox_item *old = &l->box[l->box_head];
		if (old->mid)
			l->inflight--;
		item_free(old);
		l->box_head = (l->box_head + 1) % l->o.buffer_max;
		l->box_count--;
		l->stats.dropped++;
		dropped = 1;
	}
	struct outbox_item *it = &l->box[(l->box_head + l->box_count) % l->o.buffer_max];
	*it = (struct outbox_item){ .stream = s, .topic = topic, .data = buf, .len = blen };
	l->box_count++;
	l->stats.buffered = l->box_count;
	pthread_mutex_unlock(&l->lock);
	return dropped;
}

int fleet_link_publish(struct fleet_link *l, enum fleet_stream s, const uint8_t *payload, size_t len)
{
	return enqueue(l, s == FLEET_SUBTOPIC ? FLEET_EVENTS : s, NULL, payload, len);
}

int fleet_link_publish_sub(struct fleet_link *l, const char *sub, const uint8_t *payload, size_t len)
{
	return enqueue(l, FLEET_SUBTOPIC, sub, payload, len);
}

void fleet_link_get_stats(struct fleet_link *l, struct fleet_link_stats *out)
{
	pthread_mutex_lock(&l->lock);
	*out = l->stats;
	pthread_mutex_unlock(&l->lock);
}

static int setup_mosq(struct fleet_link *l, struct hv_status *st)
{
	char id[96];

	snprintf(id, sizeof id, "hv-agent-%s", l->o.vehicle);
	l->mosq = mq.new(id, false, l); /* a session the broker keeps (net_main) */
	if (!l->mosq)
		return hv_status_set(st, HV_INTERNAL, "fleet: cannot create an MQTT client");
	mq.int_option(l->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
	int rc = mq.tls_set(l->mosq, l->o.tls_ca, NULL, l->o.tls_cert, l->o.tls_key, NULL);
	if (rc != MOSQ_ERR_SUCCESS)
		return hv_status_set(st, HV_INVALID_ARGUMENT, "fleet: TLS files %s, %s, %s: %s",
				     l->o.tls_ca, l->o.tls_cert, l->o.tls_key, mq.strerror(rc));
	mq.connect_v5_callback_set(l->mosq, on_connect);
	mq.disconnect_v5_callback_set(l->mosq, on_disconnect);
	mq.message_v5_callback_set(l->mosq, on_message);
	mq.publish_v5_callback_set(l->mosq, on_publish);
	return 0;
}

struct fleet_link *fleet_link_start(const struct fleet_link_opts *o, const struct fleet_dispatch *d,
				    struct hv_status *st)
{
	char why[128];
	struct fleet_link *l;

	if (!o->host || !o->host[0] || o->port <= 0 || o->port > 65535) {
		hv_status_set(st, HV_INVALID_ARGUMENT, "fleet: broker address missing or bad port");
		return NULL;
	}
	if (!o->vehicle || !o->vehicle[0] || strlen(o->vehicle) > 64 || strpbrk(o->vehicle, "/+#")) {
		snprintf(why, sizeof why, "%s", o->vehicle ? o->vehicle : "");
		hv_status_set(st, HV_INVALID_ARGUMENT,
			      "fleet: vehicle id '%s' must be 1..64 characters without / + #", why);
		return NULL;
	}
	l = calloc(1, sizeof *l);
	if (!l) {
		hv_status_set(st, HV_INTERNAL, "out of memory");
		return NULL;
	}
	l->o = *o;
	l->d = *d;
	if (!l->o.keepalive_s)
		l->o.keepalive_s = 30;
	if (!l->o.backoff_max_ms)
		l->o.backoff_max_ms = 30000;
	if (l->o.backoff_max_ms < BACKOFF_MIN_MS)
		l->o.backoff_max_ms = BACKOFF_MIN_MS;
	if (!l->o.buffer_max)
		l->o.buffer_max = 1024;
	pthread_mutex_init(&l->lock, NULL);
	pthread_cond_init(&l->cond, NULL);
	snprintf(l->req_topic, sizeof l->req_topic, FLEET_TOPIC_ROOT "%s/req", o->vehicle);
	snprintf(l->presence_topic, sizeof l->presence_topic, FLEET_TOPIC_ROOT "%s/presence",
		 o->vehicle);
	snprintf(l->topics[FLEET_EVENTS], sizeof l->topics[0], FLEET_TOPIC_ROOT "%s/events",
		 o->vehicle);
	snprintf(l->topics[FLEET_TELEMETRY], sizeof l->topics[0], FLEET_TOPIC_ROOT "%s/telemetry",
		 o->vehicle);
	l->box = calloc(l->o.buffer_max, sizeof *l->box);
	if (!l->box) {
		hv_status_set(st, HV_INTERNAL, "out of memory");
		goto fail;
	}
	l->verifier = fleet_verifier_new(o->fleet_ca, o->vehicle, 0, st);
	if (!l->verifier)
		goto fail;
	if (o->nonce_file &&
	    fleet_verifier_persist(l->verifier, o->nonce_file, fleet_now_ms(), st) != 0)
		goto fail;
	l->signer = fleet_signer_load(o->tls_cert, o->tls_key, st);
	if (!l->signer)
		goto fail;
	if (lazylib_load(&mq_lib, st) != 0) {
		hv_status_prefix(st, "fleet: ");
		goto fail;
	}
	mq.lib_init();
	if (setup_mosq(l, st) != 0)
		goto fail_lib;
	if (pthread_create(&l->worker, NULL, worker_main, l) != 0) {
		hv_status_set(st, HV_INTERNAL, "fleet: cannot start a thread");
		goto fail_lib;
	}
	if (pthread_create(&l->net, NULL, net_main, l) != 0) {
		hv_status_set(st, HV_INTERNAL, "fleet: cannot start a thread");
		__atomic_store_n(&l->stop, 1, __ATOMIC_RELEASE);
		pthread_mutex_lock(&l->lock);
		pthread_cond_broadcast(&l->cond);
		pthread_mutex_unlock(&l->lock);
		pthread_join(l->worker, NULL);
		goto fail_lib;
	}
	return l;
fail_lib:
	if (l->mosq)
		mq.destroy(l->mosq);
	l->mosq = NULL;
	mq.lib_cleanup();
fail:
	fleet_signer_free(l->signer);
	fleet_verifier_free(l->verifier);
	free(l->box);
	pthread_mutex_destroy(&l->lock);
	pthread_cond_destroy(&l->cond);
	free(l);
	return NULL;
}

void fleet_link_stop(struct fleet_link *l)
{
	if (!l)
		return;
	__atomic_store_n(&l->stop, 1, __ATOMIC_RELEASE);
	pthread_mutex_lock(&l->lock);
	pthread_cond_broadcast(&l->cond);
	pthread_mutex_unlock(&l->lock);
	pthread_join(l->worker, NULL);
	pthread_join(l->net, NULL);
	mq.destroy(l->mosq);
	mq.lib_cleanup();
	struct fleet_msg *m;
	while ((m = pop(&l->req_head, &l->req_tail)) != NULL)
		msg_free(m);
	while ((m = pop(&l->rep_head, &l->rep_tail)) != NULL)
		msg_free(m);
	for (size_t i = 0; i < l->box_count; i++)
		item_free(&l->box[(l->box_head + i) % l->o.buffer_max]);
	if (l->box_count)
		log_info("fleet: %zu buffered items not sent at stop", l->box_count);
	free(l->box);
	fleet_verifier_free(l->verifier);
	fleet_signer_free(l->signer);
	pthread_mutex_destroy(&l->lock);
	pthread_cond_destroy(&l->cond);
	free(l);
}
