/*
 * rpc_call.c - one call's life on the gRPC C core API: posting the request
 * for the next call of a method, authorizing and decoding an arrived call,
 * running its unary handler (or handing it to a stream), and sending the
 * reply in one batch. Calls to methods outside the table are answered
 * UNIMPLEMENTED so they never hang. The listeners and completion-queue threads
 * that drive these functions are in rpc_server.c.
 */
#include "rpc_priv.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>

#include "callscope.h"
#include "log.h"

/* ------------------------------------------------------------------------ */
/* Results                                                                   */

int rpc_result_message(struct rpc_result *res, const ProtobufCMessage *msg)
{
	size_t len = protobuf_c_message_get_packed_size(msg);
	uint8_t *buf = malloc(len ? len : 1);

	if (!buf)
		return rpc_result_error(res, HV_INTERNAL, "out of memory packing the response");
	protobuf_c_message_pack(msg, buf);
	free(res->resp);
	res->resp = buf;
	res->resp_len = len;
	hv_status_ok(&res->st);
	return 0;
}

int rpc_result_error(struct rpc_result *res, enum hv_code code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	hv_status_vset(&res->st, code, fmt, ap);
	va_end(ap);
	free(res->resp);
	res->resp = NULL;
	res->resp_len = 0;
	return -1;
}

bool rpc_ctx_stopping(const struct rpc_call_ctx *ctx)
{
	const struct rpc_call *c = ctx->priv_;
	return __atomic_load_n(&c->lis->srv->stopping, __ATOMIC_ACQUIRE) != 0;
}

/* ------------------------------------------------------------------------ */
/* Call records                                                              */

void rpc_call_free(struct rpc_call *c)
{
	if (!c)
		return;
	if (c->call)
		grpc_call_unref(c->call);
	grpc_metadata_array_destroy(&c->md);
	if (c->payload)
		grpc_byte_buffer_destroy(c->payload);
	if (c->resp_bb)
		grpc_byte_buffer_destroy(c->resp_bb);
	if (c->has_details)
		grpc_slice_unref(c->details);
	if (c->peer_str)
		gpr_free(c->peer_str);
	free(c->identity);
	free(c->subject);
	free(c);
}

static char *first_property(const grpc_auth_context *ac, const char *name)
{
	grpc_auth_property_iterator it = grpc_auth_context_find_properties_by_name(ac, name);
	const grpc_auth_property *p = grpc_auth_property_iterator_next(&it);

	if (!p || !p->value)
		return NULL;
	char *s = malloc(p->value_length + 1);
	if (s) {
		memcpy(s, p->value, p->value_length);
		s[p->value_length] = '\0';
	}
	return s;
}

/* The call's deadline on hv_mono_ns's clock; 0 when the client set none.
 * gRPC's clocks are not CLOCK_MONOTONIC itself: go through the time left. */
static uint64_t mono_deadline(gpr_timespec dl)
{
	if (dl.clock_type == GPR_TIMESPAN || dl.tv_sec == INT64_MAX)
		return 0;
	gpr_timespec left = gpr_time_sub(dl, gpr_now(dl.clock_type));
	uint64_t now = hv_mono_ns();
	if (left.tv_sec < 0 || (left.tv_sec == 0 && left.tv_nsec <= 0))
		return now;
	if (left.tv_sec > 100ll * 365 * 24 * 3600) /* "forever" in another form */
		return 0;
	return now + (uint64_t)left.tv_sec * HV_NS_PER_SEC + (uint64_t)left.tv_nsec;
}

void rpc_call_identify(struct rpc_call *c)
{
	c->peer_str = grpc_call_get_peer(c->call);
	c->peer.kind = c->lis->kind;
	c->peer.peer = c->peer_str;
	if (c->lis->kind == RPC_LISTENER_TCP_MTLS) {
		grpc_auth_context *ac = grpc_call_auth_context(c->call);
		if (ac) {
			grpc_auth_property_iterator it = grpc_auth_context_peer_identity(ac);
			const grpc_auth_property *p = grpc_auth_property_iterator_next(&it);
			if (p && p->value) {
				c->identity = malloc(p->value_length + 1);
				if (c->identity) {
					memcpy(c->identity, p->value, p->value_length);
					c->identity[p->value_length] = '\0';
				}
			}
			c->subject = first_property(ac, "x509_subject");
			grpc_auth_context_release(ac);
		}
	}
	c->peer.identity = c->identity;
	c->peer.x509_subject = c->subject;
	rpc_peercred_identify(c);
	c->ctx.peer = &c->peer;
	c->ctx.method = c->lis->srv->methods[c->midx].path;
	c->ctx.app = c->lis->srv->app;
	c->ctx.stopping = rpc_ctx_stopping;
	c->ctx.deadline_ns = mono_deadline(c->deadline);
	c->ctx.priv_ = c;
}

/* Posts a request for the next call of method midx on a listener. */
int rpc_post_request(struct rpc_listener *lis, size_t midx)
{
	struct rpc_call *c = calloc(1, sizeof *c);

	if (!c)
		return -1;
	c->tag.kind = TAG_NEW_CALL;
	c->tag.obj = c;
	c->lis = lis;
	c->midx = midx;
	grpc_metadata_array_init(&c->md);
	grpc_call_error e =
		grpc_server_request_registered_call(lis->server, lis->handles[midx], &c->call,
						    &c->deadline, &c->md, &c->payload, lis->cq,
						    lis->cq, &c->tag);
	if (e != GRPC_CALL_OK) {
		log_error("cannot request calls for %s: grpc error %d",
			  lis->srv->methods[midx].path, e);
		rpc_call_free(c);
		return -1;
	}
	return 0;
}

void rpc_unknown_free(struct rpc_unknown *u)
{
	if (u->call)
		grpc_call_unref(u->call);
	grpc_call_details_destroy(&u->details);
	grpc_metadata_array_destroy(&u->md);
	if (u->has_details)
		grpc_slice_unref(u->status_details);
	free(u);
}

int rpc_post_unknown(struct rpc_listener *lis)
{
	struct rpc_unknown *u = calloc(1, sizeof *u);

	if (!u)
		return -1;
	u->tag.kind = TAG_UNKNOWN_CALL;
	u->tag.obj = u;
	u->lis = lis;
	grpc_call_details_init(&u->details);
	grpc_metadata_array_init(&u->md);
	if (grpc_server_request_call(lis->server, &u->call, &u->details, &u->md, lis->cq, lis->cq,
				     &u->tag) != GRPC_CALL_OK) {
		rpc_unknown_free(u);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Replies                                                                   */

grpc_call_error rpc_send_final(grpc_call *call, int send_md, grpc_byte_buffer *msg,
			       const struct hv_status *st, grpc_slice *details, int *cancelled,
			       void *tag)
{
	grpc_op ops[4];
	size_t n = 0;

	memset(ops, 0, sizeof ops);
	if (send_md) {
		ops[n].op = GRPC_OP_SEND_INITIAL_METADATA;
		ops[n].data.send_initial_metadata.count = 0;
		n++;
	}
	if (msg) {
		ops[n].op = GRPC_OP_SEND_MESSAGE;
		ops[n].data.send_message.send_message = msg;
		n++;
	}
	*details = grpc_slice_from_copied_string(st->msg);
	ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
	ops[n].data.send_status_from_server.trailing_metadata_count = 0;
	ops[n].data.send_status_from_server.status = (grpc_status_code)st->code;
	ops[n].data.send_status_from_server.status_details = st->code == HV_OK ? NULL : details;
	n++;
	if (cancelled) {
		ops[n].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
		ops[n].data.recv_close_on_server.cancelled = cancelled;
		n++;
	}
	return grpc_call_start_batch(call, ops, n, tag, NULL);
}

void rpc_call_observe(const struct rpc_call *c, int code)
{
	const struct rpc_server *srv = c->lis->srv;

	if (srv->observe)
		srv->observe(srv->observe_arg, srv->methods[c->midx].path, code,
			     hv_mono_ns() - c->start_ns);
}

static void reply(struct rpc_call *c, const struct rpc_result *res)
{
	rpc_call_observe(c, (int)res->st.code);
	if (res->st.code == HV_OK) {
		grpc_slice s = grpc_slice_from_copied_buffer((const char *)res->resp, res->resp_len);
		c->resp_bb = grpc_raw_byte_buffer_create(&s, 1);
		grpc_slice_unref(s);
	}
	c->tag.kind = TAG_CALL_DONE;
	c->has_details = 1;
	grpc_call_error e = rpc_send_final(c->call, 1, c->resp_bb, &res->st, &c->details,
					   &c->cancelled, &c->tag);
	if (e != GRPC_CALL_OK) {
		log_error("%s: cannot send reply: grpc error %d", c->ctx.method, e);
		rpc_call_free(c);
	}
}

ProtobufCMessage *rpc_decode_bytes(const struct rpc_method *m, const uint8_t *data, size_t len,
				   struct hv_status *st)
{
	char bad[160];
	ProtobufCMessage *msg;

	if (rpc_wire_check_strings(m->request, data, len, bad, sizeof bad) != 0) {
		hv_status_set(st, HV_INVALID_ARGUMENT, "%s: %s", m->path, bad);
		return NULL;
	}
	msg = protobuf_c_message_unpack(m->request, NULL, len, data);
	if (!msg)
		hv_status_set(st, HV_INVALID_ARGUMENT, "%s: malformed %s message", m->path,
			      m->request->name);
	return msg;
}

/* Decodes the request payload of a gRPC call. */
static ProtobufCMessage *decode(struct rpc_call *c, struct hv_status *st)
{
	const struct rpc_method *m = &c->lis->srv->methods[c->midx];
	grpc_byte_buffer_reader rd;
	ProtobufCMessage *msg;

	if (!c->payload) {
		hv_status_set(st, HV_INVALID_ARGUMENT, "%s: no request message", m->path);
		return NULL;
	}
	if (!grpc_byte_buffer_reader_init(&rd, c->payload)) {
		hv_status_set(st, HV_INVALID_ARGUMENT, "%s: unreadable request", m->path);
		return NULL;
	}
	grpc_slice all = grpc_byte_buffer_reader_readall(&rd);
	grpc_byte_buffer_reader_destroy(&rd);
	msg = rpc_decode_bytes(m, GRPC_SLICE_START_PTR(all), GRPC_SLICE_LENGTH(all), st);
	grpc_slice_unref(all);
	return msg;
}

/* A handler on a completion-queue thread that is about to wait (for a
 * management operation's turn, for hv-core): the queue gets another thread
 * if this was its last idle one. Handlers that answer from memory never get
 * here and keep the thread to themselves, which spares a hand-off between
 * threads per call (docs/performance.md). */
static void grpc_busy(void *arg)
{
	rpc_thread_busy(arg);
}

static void grpc_idle(void *arg)
{
	rpc_thread_idle(arg);
}

struct block_note {
	const struct rpc_block_hooks *hooks;
	int busy;
};

static void note_block(void *arg)
{
	struct block_note *b = arg;

	b->hooks->busy(b->hooks->arg);
	b->busy = 1;
}

void rpc_run_handler(const struct rpc_method *m, const struct rpc_call_ctx *ctx,
		     const ProtobufCMessage *req, int *stopping,
		     const struct rpc_block_hooks *hooks, struct rpc_result *res)
{
	struct block_note note = { .hooks = hooks };
	struct hv_callscope cs = { .deadline_ns = ctx->deadline_ns,
				   .stopping = stopping,
				   .on_block = hooks ? note_block : NULL,
				   .block_arg = &note };

	hv_status_ok(&res->st);
	hv_callscope_enter(&cs);
	m->unary(ctx, req, res);
	hv_callscope_leave();
	if (note.busy)
		hooks->idle(hooks->arg);
	if (res->st.code == HV_OK && !res->resp)
		rpc_result_error(res, HV_INTERNAL, "%s: handler produced no response", m->path);
}

int rpc_run_unary(const struct rpc_method *m, const struct rpc_call_ctx *ctx, const uint8_t *data,
		  size_t len, int *stopping, struct rpc_result *res)
{
	if (ctx->deadline_ns && hv_mono_ns() >= ctx->deadline_ns) {
		hv_status_set(&res->st, HV_DEADLINE_EXCEEDED,
			      "%s: the deadline passed before hv-agent could start the call",
			      m->path);
		return -1;
	}
	ProtobufCMessage *req = rpc_decode_bytes(m, data, len, &res->st);
	if (!req)
		return -1;
	rpc_run_handler(m, ctx, req, stopping, NULL, res);
	protobuf_c_message_free_unpacked(req, NULL);
	return 0;
}

void rpc_handle_call(struct rpc_call *c)
{
	struct rpc_server *srv = c->lis->srv;
	const struct rpc_method *m = &srv->methods[c->midx];
	struct rpc_result res;
	ProtobufCMessage *req;

	memset(&res, 0, sizeof res);
	c->start_ns = hv_mono_ns();
	rpc_call_identify(c);
	__atomic_add_fetch(&c->lis->calls, 1, __ATOMIC_RELAXED);
	if (srv->authorize && srv->authorize(srv->app, &c->peer, m->path, &res.st) != 0) {
		__atomic_add_fetch(&c->lis->refused, 1, __ATOMIC_RELAXED);
		/* Debug only: anyone on the read-only socket can be refused at
		 * will, and the log must not grow with it. The audit log keeps
		 * refusals, at a bounded rate (agent/service/audit_limit.h). */
		log_debug("%s refused for %s: %s", m->path, c->peer_str ? c->peer_str : "?",
			  res.st.msg);
		reply(c, &res);
		return;
	}
	/* A call that waited for a thread until its client gave up is not run:
	 * a state-changing request must not take effect after its deadline. */
	if (c->ctx.deadline_ns && hv_mono_ns() >= c->ctx.deadline_ns) {
		__atomic_add_fetch(&c->lis->expired, 1, __ATOMIC_RELAXED);
		hv_status_set(&res.st, HV_DEADLINE_EXCEEDED,
			      "%s: the deadline passed before hv-agent could start the call",
			      m->path);
		log_info("%s from %s not run: %s", m->path, c->peer_str ? c->peer_str : "?",
			 res.st.msg);
		if (srv->unrun)
			srv->unrun(srv->app, &c->peer, m->path, &res.st);
		reply(c, &res);
		return;
	}
	req = decode(c, &res.st);
	if (!req) {
		if (srv->unrun)
			srv->unrun(srv->app, &c->peer, m->path, &res.st);
		reply(c, &res);
		return;
	}
	__atomic_add_fetch(&c->lis->handled, 1, __ATOMIC_RELAXED);
	if (m->stream) {
		if (rpc_stream_begin(c, req, &res.st) != 0) {
			protobuf_c_message_free_unpacked(req, NULL);
			if (srv->unrun)
				srv->unrun(srv->app, &c->peer, m->path, &res.st);
			reply(c, &res);
		}
		return;
	}
	struct rpc_block_hooks hooks = { .busy = grpc_busy, .idle = grpc_idle, .arg = c->lis };
	rpc_run_handler(m, &c->ctx, req, &srv->stopping, &hooks, &res);
	protobuf_c_message_free_unpacked(req, NULL);
	reply(c, &res);
	free(res.resp);
}

void rpc_handle_unknown(struct rpc_unknown *u)
{
	char *method = grpc_slice_to_c_string(u->details.method);
	struct hv_status st;

	hv_status_set(&st, HV_UNIMPLEMENTED, "method %s is not served by hv-agent", method);
	gpr_free(method);
	u->tag.kind = TAG_UNKNOWN_DONE;
	u->has_details = 1;
	if (rpc_send_final(u->call, 1, NULL, &st, &u->status_details, &u->cancelled, &u->tag) !=
	    GRPC_CALL_OK)
		rpc_unknown_free(u);
}
