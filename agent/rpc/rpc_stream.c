/*
 * rpc_stream.c - streaming calls (rpc_server.h): one thread per open stream
 * runs the handler, which sends messages one at a time (server streaming) or
 * receives the client's messages after the first one (client streaming).
 *
 * The call's batches complete on the listener's completion queue; the
 * completion-queue thread hands each completion to the stream's record
 * (rpc_stream_complete) and the stream thread waits for it on a condition
 * variable. RECV_CLOSE_ON_SERVER is started first, so a client that goes away
 * is noticed even while the handler waits for something to send.
 */
#include "rpc_priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <grpc/byte_buffer_reader.h>
#include <grpc/slice.h>

#include "callscope.h"
#include "log.h"

struct rpc_stream {
	struct rpc_call *call;
	ProtobufCMessage *req;
	struct rpc_tag op_tag, close_tag;
	pthread_mutex_t m;
	pthread_cond_t c;
	int op_pending, op_ok;
	int closed;    /* RECV_CLOSE_ON_SERVER completed   */
	int cancelled; /* ... and the client cancelled     */
	int sent_md;
	int failed;                     /* a send failed: the call is dead  */
	int orphan;                     /* no thread: free when closed      */
	struct rpc_stream_owner *owner; /* the caller's count (srv->lock) */
	/* rpc_stream_recv_wait: one receive at a time, beside sends */
	struct rpc_tag recv_tag;
	int recv_pending, recv_done, recv_ok;
	grpc_byte_buffer *recv_bb;
};

static void stream_free(struct rpc_stream *s);

void rpc_stream_complete(struct rpc_tag *tag, int success)
{
	struct rpc_stream *s = tag->obj;

	pthread_mutex_lock(&s->m);
	if (tag->kind == TAG_STREAM_OP) {
		s->op_pending = 0;
		s->op_ok = success;
	} else if (tag->kind == TAG_STREAM_RECV) {
		s->recv_pending = 0;
		s->recv_done = 1;
		s->recv_ok = success;
	} else {
		s->closed = 1;
	}
	int orphan = s->orphan && s->closed;
	pthread_cond_broadcast(&s->c);
	pthread_mutex_unlock(&s->m);
	if (orphan)
		stream_free(s);
}

bool rpc_stream_alive(struct rpc_stream *s)
{
	struct rpc_server *srv = s->call->lis->srv;
	int closed;

	pthread_mutex_lock(&s->m);
	closed = s->closed || s->failed;
	pthread_mutex_unlock(&s->m);
	return !closed && !__atomic_load_n(&srv->stopping, __ATOMIC_ACQUIRE);
}

/* Starts a batch with op_tag and waits for it. 0 when it succeeded. */
static int run_op(struct rpc_stream *s, grpc_op *ops, size_t n)
{
	pthread_mutex_lock(&s->m);
	s->op_pending = 1;
	pthread_mutex_unlock(&s->m);
	if (grpc_call_start_batch(s->call->call, ops, n, &s->op_tag, NULL) != GRPC_CALL_OK) {
		pthread_mutex_lock(&s->m);
		s->op_pending = 0;
		s->failed = 1;
		pthread_mutex_unlock(&s->m);
		return -1;
	}
	pthread_mutex_lock(&s->m);
	while (s->op_pending)
		pthread_cond_wait(&s->c, &s->m);
	int ok = s->op_ok;
	if (!ok)
		s->failed = 1;
	pthread_mutex_unlock(&s->m);
	return ok ? 0 : -1;
}

int rpc_stream_send(struct rpc_stream *s, const ProtobufCMessage *msg, struct hv_status *st)
{
	if (!rpc_stream_alive(s)) {
		if (__atomic_load_n(&s->call->lis->srv->stopping, __ATOMIC_ACQUIRE))
			return hv_status_set(st, HV_UNAVAILABLE, "hv-agent is shutting down");
		return hv_status_set(st, HV_CANCELLED, "the client closed the stream");
	}
	size_t len = protobuf_c_message_get_packed_size(msg);
	uint8_t *buf = malloc(len ? len : 1);
	if (!buf)
		return hv_status_set(st, HV_RESOURCE_EXHAUSTED, "out of memory");
	protobuf_c_message_pack(msg, buf);
	grpc_slice sl = grpc_slice_from_copied_buffer((const char *)buf, len);
	free(buf);
	grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&sl, 1);
	grpc_slice_unref(sl);

	grpc_op ops[2];
	size_t n = 0;
	memset(ops, 0, sizeof ops);
	if (!s->sent_md) {
		ops[n].op = GRPC_OP_SEND_INITIAL_METADATA;
		n++;
	}
	ops[n].op = GRPC_OP_SEND_MESSAGE;
	ops[n].data.send_message.send_message = bb;
	n++;
	int rc = run_op(s, ops, n);
	grpc_byte_buffer_destroy(bb);
	if (rc != 0)
		return hv_status_set(st, HV_CANCELLED, "the client closed the stream");
	s->sent_md = 1;
	return 0;
}

static int decode(struct rpc_stream *s, grpc_byte_buffer *bb, const ProtobufCMessageDescriptor *desc,
		  ProtobufCMessage **out, struct hv_status *st);

int rpc_stream_recv(struct rpc_stream *s, const ProtobufCMessageDescriptor *desc,
		    ProtobufCMessage **out, struct hv_status *st)
{
	grpc_byte_buffer *bb = NULL;
	grpc_op op;

	*out = NULL;
	if (!rpc_stream_alive(s)) {
		if (__atomic_load_n(&s->call->lis->srv->stopping, __ATOMIC_ACQUIRE))
			return hv_status_set(st, HV_UNAVAILABLE, "hv-agent is shutting down");
		return hv_status_set(st, HV_CANCELLED, "the client closed the stream");
	}
	memset(&op, 0, sizeof op);
	op.op = GRPC_OP_RECV_MESSAGE;
	op.data.recv_message.recv_message = &bb;
	if (run_op(s, &op, 1) != 0) {
		if (bb)
			grpc_byte_buffer_destroy(bb);
		return hv_status_set(st, HV_CANCELLED,
				     "the client went away in the middle of the stream");
	}
	return decode(s, bb, desc, out, st);
}

/* Decodes and frees a received message; bb NULL: the client half-closed. */
static int decode(struct rpc_stream *s, grpc_byte_buffer *bb, const ProtobufCMessageDescriptor *desc,
		  ProtobufCMessage **out, struct hv_status *st)
{
	if (!bb)
		return 0; /* the client half-closed: no more messages */
	grpc_byte_buffer_reader rd;
	if (!grpc_byte_buffer_reader_init(&rd, bb)) {
		grpc_byte_buffer_destroy(bb);
		return hv_status_set(st, HV_INVALID_ARGUMENT, "%s: unreadable message",
				     s->call->ctx.method);
	}
	grpc_slice all = grpc_byte_buffer_reader_readall(&rd);
	grpc_byte_buffer_reader_destroy(&rd);
	grpc_byte_buffer_destroy(bb);
	char bad[160];
	int rc = 0;
	if (rpc_wire_check_strings(desc, GRPC_SLICE_START_PTR(all), GRPC_SLICE_LENGTH(all), bad,
				   sizeof bad) != 0)
		rc = hv_status_set(st, HV_INVALID_ARGUMENT, "%s: %s", s->call->ctx.method, bad);
	else if (!(*out = protobuf_c_message_unpack(desc, NULL, GRPC_SLICE_LENGTH(all),
						    GRPC_SLICE_START_PTR(all))))
		rc = hv_status_set(st, HV_INVALID_ARGUMENT, "%s: malformed %s message",
				   s->call->ctx.method, desc->name);
	grpc_slice_unref(all);
	return rc < 0 ? -1 : 1;
}

/* The caller's key for the per-identity limit. */
static void owner_key(const struct rpc_peer *p, char *key, size_t len)
{
	if (p->has_cred)
		snprintf(key, len, "uid %u", (unsigned)p->uid);
	else if (p->identity && p->identity[0])
		snprintf(key, len, "%s", p->identity);
	else if (p->x509_subject && p->x509_subject[0])
		snprintf(key, len, "%s", p->x509_subject);
	else
		snprintf(key, len, "an unnamed caller");
}

/* Counts a stream for c's listener and caller; under srv->lock. 0, or -1
 * with RESOURCE_EXHAUSTED when a limit is reached. */
static int streams_take(struct rpc_server *srv, struct rpc_call *c, struct rpc_stream_owner **out,
			struct hv_status *st)
{
	struct rpc_listener *lis = c->lis;
	struct rpc_stream_owner *own = NULL, *free_slot = NULL;
	char key[RPC_STREAM_KEY_LEN];

	owner_key(&c->peer, key, sizeof key);
	for (size_t i = 0; i < sizeof srv->owners / sizeof srv->owners[0]; i++) {
		struct rpc_stream_owner *o = &srv->owners[i];
		if (!o->n) {
			if (!free_slot)
				free_slot = o;
		} else if (o->lis == lis && !strcmp(o->key, key)) {
			own = o;
		}
	}
	if (lis->live_streams >= srv->max_streams_listener)
		return hv_status_set(st, HV_RESOURCE_EXHAUSTED,
				     "too many open streams on %s: %u, the most one listener allows "
				     "(other listeners keep their own)",
				     lis->addr, srv->max_streams_listener);
	if (own && own->n >= srv->max_streams_identity)
		return hv_status_set(st, HV_RESOURCE_EXHAUSTED,
				     "too many open streams for %s on %s: %u, the most one caller "
				     "may have open on one listener",
				     key, lis->addr, srv->max_streams_identity);
	if (!own) {
		if (!free_slot) /* cannot happen: entries >= streams */
			return hv_status_set(st, HV_RESOURCE_EXHAUSTED, "too many open streams");
		own = free_slot;
		own->lis = lis;
		snprintf(own->key, sizeof own->key, "%s", key);
	}
	own->n++;
	lis->live_streams++;
	srv->live_streams++;
	*out = own;
	return 0;
}

/* Undoes streams_take; under srv->lock. */
static void streams_put(struct rpc_server *srv, struct rpc_listener *lis, struct rpc_stream_owner *own)
{
	own->n--;
	lis->live_streams--;
	srv->live_streams--;
	pthread_cond_broadcast(&srv->cond);
}

int rpc_stream_recv_wait(struct rpc_stream *s, const ProtobufCMessageDescriptor *desc,
			 ProtobufCMessage **out, unsigned wait_ms, struct hv_status *st)
{
	*out = NULL;
	pthread_mutex_lock(&s->m);
	if (!s->recv_pending && !s->recv_done) {
		grpc_op op;
		memset(&op, 0, sizeof op);
		op.op = GRPC_OP_RECV_MESSAGE;
		op.data.recv_message.recv_message = &s->recv_bb;
		s->recv_bb = NULL;
		s->recv_pending = 1;
		if (grpc_call_start_batch(s->call->call, &op, 1, &s->recv_tag, NULL) != GRPC_CALL_OK) {
			s->recv_pending = 0;
			s->failed = 1;
			pthread_mutex_unlock(&s->m);
			return hv_status_set(st, HV_CANCELLED, "the client closed the stream");
		}
	}
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += wait_ms / 1000;
	until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	while (s->recv_pending && !s->closed && pthread_cond_timedwait(&s->c, &s->m, &until) == 0)
		;
	if (!s->recv_done) {
		pthread_mutex_unlock(&s->m);
		if (__atomic_load_n(&s->call->lis->srv->stopping, __ATOMIC_ACQUIRE))
			return hv_status_set(st, HV_UNAVAILABLE, "hv-agent is shutting down");
		if (s->closed)
			return hv_status_set(st, HV_CANCELLED, "the client closed the stream");
		return 2;
	}
	grpc_byte_buffer *bb = s->recv_bb;
	int ok = s->recv_ok;
	s->recv_bb = NULL;
	s->recv_done = 0;
	pthread_mutex_unlock(&s->m);
	if (!ok) {
		if (bb)
			grpc_byte_buffer_destroy(bb);
		return hv_status_set(st, HV_CANCELLED,
				     "the client went away in the middle of the stream");
	}
	return decode(s, bb, desc, out, st);
}

static void stream_free(struct rpc_stream *s)
{
	struct rpc_server *srv = s->call->lis->srv;
	struct rpc_listener *lis = s->call->lis;
	struct rpc_stream_owner *own = s->owner;

	if (s->recv_bb)
		grpc_byte_buffer_destroy(s->recv_bb);

	protobuf_c_message_free_unpacked(s->req, NULL);
	rpc_call_free(s->call);
	pthread_mutex_destroy(&s->m);
	pthread_cond_destroy(&s->c);
	free(s);
	pthread_mutex_lock(&srv->lock);
	streams_put(srv, lis, own);
	pthread_mutex_unlock(&srv->lock);
}

static void *stream_thread(void *arg)
{
	struct rpc_stream *s = arg;
	struct rpc_call *c = s->call;
	const struct rpc_method *m = &c->lis->srv->methods[c->midx];
	struct hv_status st;

	/* Initial metadata right away: the client sees the stream is open
	 * even when the first message is long in coming. */
	grpc_op md;
	memset(&md, 0, sizeof md);
	md.op = GRPC_OP_SEND_INITIAL_METADATA;
	if (run_op(s, &md, 1) == 0)
		s->sent_md = 1;
	hv_status_ok(&st);
	struct hv_callscope cs = { .deadline_ns = c->ctx.deadline_ns,
				   .stopping = &c->lis->srv->stopping };
	hv_callscope_enter(&cs);
	m->stream(&c->ctx, s->req, s, &st);
	hv_callscope_leave();
	if (st.code == HV_OK && __atomic_load_n(&c->lis->srv->stopping, __ATOMIC_ACQUIRE))
		hv_status_set(&st, HV_UNAVAILABLE, "hv-agent is shutting down");
	rpc_call_observe(c, (int)st.code);

	/* Final status; the outcome does not matter if the client is gone. */
	pthread_mutex_lock(&s->m);
	s->op_pending = 1;
	pthread_mutex_unlock(&s->m);
	c->has_details = 1;
	if (rpc_send_final(c->call, !s->sent_md, NULL, &st, &c->details, NULL, &s->op_tag) ==
	    GRPC_CALL_OK) {
		pthread_mutex_lock(&s->m);
		while (s->op_pending)
			pthread_cond_wait(&s->c, &s->m);
		pthread_mutex_unlock(&s->m);
	} else {
		grpc_call_cancel(c->call, NULL);
	}
	/* Wait for RECV_CLOSE_ON_SERVER (and a receive still pending) so no
	 * completion refers to s later. */
	pthread_mutex_lock(&s->m);
	while (!s->closed || s->recv_pending)
		pthread_cond_wait(&s->c, &s->m);
	pthread_mutex_unlock(&s->m);
	stream_free(s);
	return NULL;
}

int rpc_stream_begin(struct rpc_call *c, ProtobufCMessage *req, struct hv_status *st)
{
	struct rpc_server *srv = c->lis->srv;
	struct rpc_stream_owner *own = NULL; /* set when streams_take succeeds */
	struct rpc_stream *s;

	pthread_mutex_lock(&srv->lock);
	int rc = streams_take(srv, c, &own, st);
	pthread_mutex_unlock(&srv->lock);
	if (rc != 0) {
		log_debug("%s: %s", c->ctx.method, st->msg);
		return -1;
	}

	s = calloc(1, sizeof *s);
	if (!s)
		goto fail;
	s->owner = own;
	s->call = c;
	s->req = req;
	s->op_tag.kind = TAG_STREAM_OP;
	s->op_tag.obj = s;
	s->close_tag.kind = TAG_STREAM_CLOSED;
	s->close_tag.obj = s;
	s->recv_tag.kind = TAG_STREAM_RECV;
	s->recv_tag.obj = s;
	pthread_mutex_init(&s->m, NULL);
	pthread_cond_init(&s->c, NULL);

	grpc_op op;
	memset(&op, 0, sizeof op);
	op.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
	op.data.recv_close_on_server.cancelled = &s->cancelled;
	if (grpc_call_start_batch(c->call, &op, 1, &s->close_tag, NULL) != GRPC_CALL_OK) {
		pthread_mutex_destroy(&s->m);
		pthread_cond_destroy(&s->c);
		free(s);
		goto fail;
	}

	pthread_t t;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&t, &attr, stream_thread, s);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		/* RECV_CLOSE is already pending: cancel the call; its completion
		 * frees the record (request, call, stream count). */
		log_error("%s: cannot start a stream thread", c->ctx.method);
		pthread_mutex_lock(&s->m);
		s->orphan = 1;
		pthread_mutex_unlock(&s->m);
		grpc_call_cancel(c->call, NULL);
		return 0;
	}
	return 0;

fail:
	pthread_mutex_lock(&srv->lock);
	streams_put(srv, c->lis, own);
	pthread_mutex_unlock(&srv->lock);
	return hv_status_set(st, HV_RESOURCE_EXHAUSTED, "cannot open a stream");
}
