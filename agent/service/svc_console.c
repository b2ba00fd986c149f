/*
 * svc_console.c - Console (docs/api.md "Console"): the interactive console of
 * a VM as one bidirectional stream. Output is the VM's console ring (MGMT-170),
 * read from memory every POLL_MS; keystrokes go to the VM's vUART receive FIFO
 * with WRITE_CONSOLE (MGMT-801). One session per VM writes; others (and those
 * asking read_only) only read. Each session's start and end are audited.
 *
 * The same console as a session of unary calls (ConsoleSessionOpen, Input,
 * Close), for the fleet link where no stream exists: the session holds the
 * VM's writer seat like a stream does and gives it up when it is closed,
 * when no call came for its idle time, or when the fleet link is lost
 * (console_sessions_sweep, from agent/service/svc_fleet.c).
 */
#include "agent.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define POLL_MS 20
#define OUT_MAX 4096          /* console bytes per message */
#define HISTORY_MAX 16384     /* history_bytes at most */
#define FULL_RETRY_MS 10      /* the FIFO is full: try again after */
#define FULL_GIVE_UP_MS 10000 /* ... and drop the input after this long */

/* The writer of each VM slot: the session that may type. */
static pthread_mutex_t writers_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	int held;
	char who[96];
} writers[HVM_MAX_VMS];

static void describe_peer(const struct rpc_peer *p, char *out, size_t len)
{
	if (p->identity)
		snprintf(out, len, "%s", p->identity);
	else if (p->has_cred)
		snprintf(out, len, "uid %u (pid %d)", (unsigned)p->uid, (int)p->pid);
	else
		snprintf(out, len, "%s", p->peer ? p->peer : "a client");
}

/* Takes the VM's writer seat for who; 0 when another session holds it
 * (holder gets its description). */
static int take_writer(uint32_t id, const char *who, char *holder, size_t len)
{
	int got = 0;

	pthread_mutex_lock(&writers_lock);
	if (!writers[id].held) {
		writers[id].held = 1;
		snprintf(writers[id].who, sizeof writers[id].who, "%s", who);
		got = 1;
	} else {
		snprintf(holder, len, "%s", writers[id].who);
	}
	pthread_mutex_unlock(&writers_lock);
	return got;
}

static void drop_writer(uint32_t id)
{
	pthread_mutex_lock(&writers_lock);
	writers[id].held = 0;
	pthread_mutex_unlock(&writers_lock);
}

static int send_out(struct rpc_stream *s, Hvmgr__V1__ConsoleOutput *o, struct hv_status *st)
{
	if (rpc_stream_send(s, &o->base, st) == 0)
		return 0;
	if (st->code == HV_CANCELLED)
		hv_status_ok(st); /* the client left */
	return -1;
}

/* Sends the console bytes from *pos on; 0, or -1 when the stream ended. */
static int pump_output(struct agent *ag, struct rpc_stream *s, uint32_t id, uint64_t *pos,
		       uint8_t *buf, struct hv_status *st)
{
	for (;;) {
		Hvmgr__V1__ConsoleOutput o = HVMGR__V1__CONSOLE_OUTPUT__INIT;
		struct hv_status rst;
		size_t n;
		uint64_t start, next, lost;

		if (hvlink_read_console(ag->link, id, *pos, buf, OUT_MAX, &n, &start, &next, &lost,
					&rst) != 0)
			return 0; /* hv-core not readable now: try again later */
		if (!n && !lost)
			return 0;
		o.data.data = buf;
		o.data.len = n;
		o.lost_bytes = lost;
		*pos = next;
		if (send_out(s, &o, st) != 0)
			return -1;
		if (n < OUT_MAX)
			return 0;
	}
}

/* Writes data to the VM's receive FIFO, waiting while it is full (s: the
 * stream whose end stops the wait; NULL for a console session). 0 when
 * written; -1 with st when hv-core refused (the VM stopped: E_STATE) or the
 * guest did not read for FULL_GIVE_UP_MS. */
static int type_bytes(struct agent *ag, struct rpc_stream *s, uint32_t id, const char *label,
		      const uint8_t *data, size_t len, struct hv_status *st)
{
	uint64_t give_up = hv_mono_ns() + (uint64_t)FULL_GIVE_UP_MS * 1000000ull;
	char what[96];

	snprintf(what, sizeof what, "console input %s", label);
	while (len) {
		struct hvlink_cmd c = { .cmd = HVM_CMD_WRITE_CONSOLE, .vm_id = id };
		struct hvlink_reply rep;
		size_t n = len > HVM_CONSOLE_INPUT_MAX ? HVM_CONSOLE_INPUT_MAX : len;

		c.arg[0] = n;
		c.data_in = data;
		c.data_in_len = n;
		if (core_submit(ag->link, &c, &rep, what, st) != CORE_OK)
			return -1;
		data += rep.ret[0];
		len -= rep.ret[0];
		if (!len)
			break;
		if (rep.ret[0] == 0 && hv_mono_ns() >= give_up)
			return hv_status_set(st, HV_UNAVAILABLE,
					     "%s does not read its console: %zu typed bytes dropped",
					     label, len);
		if (s && !rpc_stream_alive(s))
			return hv_status_set(st, HV_CANCELLED, "the client closed the stream");
		struct timespec ts = { 0, FULL_RETRY_MS * 1000000L };
		nanosleep(&ts, NULL);
	}
	return 0;
}

/* The session after its first message: output and input until either side
 * ends. */
static void session(struct agent *ag, struct rpc_stream *s, uint32_t id, const char *label,
		    int writer, uint64_t pos, const char *holder, struct hv_status *st)
{
	uint8_t *buf = malloc(OUT_MAX);

	if (!buf) {
		hv_status_set(st, HV_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	while (rpc_stream_alive(s)) {
		if (pump_output(ag, s, id, &pos, buf, st) != 0)
			break;
		ProtobufCMessage *m = NULL;
		int r = rpc_stream_recv_wait(s, &hvmgr__v1__console_input__descriptor, &m, POLL_MS,
					     st);
		if (r == 2)
			continue;
		if (r <= 0) {
			if (r == 0 || st->code == HV_CANCELLED)
				hv_status_ok(st); /* the client half-closed or left */
			break;
		}
		Hvmgr__V1__ConsoleInput *in = (Hvmgr__V1__ConsoleInput *)m;
		int rc = 0;
		if (in->data.len && !writer)
			rc = hv_status_set(st, HV_FAILED_PRECONDITION,
					   "this console session of %s is read-only (%s); "
					   "input is not sent",
					   label, holder[0] ? holder : "asked read_only");
		else if (in->data.len)
			rc = type_bytes(ag, s, id, label, in->data.data, in->data.len, st);
		protobuf_c_message_free_unpacked(m, NULL);
		if (rc != 0)
			break;
	}
	free(buf);
}

void svc_console(const struct rpc_call_ctx *ctx, const ProtobufCMessage *msg, struct rpc_stream *s,
		 struct hv_status *st)
{
	const Hvmgr__V1__ConsoleInput *req = (const Hvmgr__V1__ConsoleInput *)msg;
	struct agent *ag = ctx->app;
	Hvmgr__V1__ConsoleOutput first = HVMGR__V1__CONSOLE_OUTPUT__INIT;
	struct hvm_vm_slot slot;
	char label[64], who[96], holder[96] = "", notice[200] = "", args[160];
	int writer = 0;

	if (!req->vm) {
		hv_status_set(st, HV_INVALID_ARGUMENT,
			      "Console: the first message names the VM (vm is missing)");
		return;
	}
	if (req->history_bytes > HISTORY_MAX) {
		hv_status_set(st, HV_INVALID_ARGUMENT, "Console: history_bytes %u is above %u",
			      req->history_bytes, HISTORY_MAX);
		return;
	}
	if (resolve_vm(ag, req->vm, &slot, label, sizeof label, st) != 0)
		return;
	describe_peer(ctx->peer, who, sizeof who);
	if (!req->read_only && !(writer = take_writer(slot.id, who, holder, sizeof holder)))
		snprintf(notice, sizeof notice, "read-only: %s writes to the console of %s", holder,
			 label);

	/* Where output starts: history_bytes before the newest byte (the ring
	 * holds at most HVM_CONSOLE_SIZE bytes: reading them all finds it). */
	uint64_t pos = 0;
	uint8_t *all = malloc(HVM_CONSOLE_SIZE);
	if (!all) {
		hv_status_set(st, HV_RESOURCE_EXHAUSTED, "out of memory");
		if (writer)
			drop_writer(slot.id);
		return;
	}
	size_t n;
	uint64_t start, next, lost;
	if (hvlink_read_console(ag->link, slot.id, 0, all, HVM_CONSOLE_SIZE, &n, &start, &next,
				&lost, st) == 0)
		pos = next;
	free(all);
	pos = pos > req->history_bytes ? pos - req->history_bytes : 0;

	snprintf(args, sizeof args, "vm=%s mode=%s", label, writer ? "write" : "read-only");
	struct hv_status started;
	hv_status_ok(&started);
	agent_audit(ag, ctx->peer, "Console.start", args, &started);

	first.writer = writer != 0;
	first.vm_name = slot.name;
	first.notice = notice;
	if (send_out(s, &first, st) == 0) {
		if (req->data.len && writer &&
		    type_bytes(ag, s, slot.id, label, req->data.data, req->data.len, st) != 0)
			; /* ends the session with st */
		else if (req->data.len && !writer)
			hv_status_set(st, HV_FAILED_PRECONDITION,
				      "this console session of %s is read-only; input is not sent",
				      label);
		else
			session(ag, s, slot.id, label, writer, pos, holder, st);
	}
	if (writer)
		drop_writer(slot.id);
	agent_audit(ag, ctx->peer, "Console.end", args, st);
}

/* ---- console sessions of unary calls ---- */

#define SESSIONS_MAX 16
#define IDLE_DEFAULT_MS 30000u
#define IDLE_MAX_MS 300000u
#define SESSION_ID_BYTES 16

static pthread_mutex_t sessions_lock = PTHREAD_MUTEX_INITIALIZER;
static struct csession {
	int used;
	char id[2 * SESSION_ID_BYTES + 1];
	uint32_t vm;
	int writer;
	char label[64];
	char args[160];
	/* the caller, for the audit of the end and for later calls */
	enum rpc_listener_kind kind;
	char identity[96], subject[256], peer[64];
	uint64_t next_seq;
	uint32_t idle_ms;
	uint64_t last_ns;
} sessions[SESSIONS_MAX];

static const char *or_empty(const char *s)
{
	return s ? s : "";
}

/* The caller as one string: the identity, else the peer description. */
static void caller_of(const struct rpc_peer *p, char *out, size_t len)
{
	describe_peer(p, out, len);
}

/* The session named id of this caller (caller as caller_of gives); NULL
 * with st when there is none or it is someone else's. Lock held. */
static struct csession *find_session(const char *id, const char *caller, struct hv_status *st)
{
	if (!id || !id[0]) {
		hv_status_set(st, HV_INVALID_ARGUMENT, "ConsoleSession: session is missing");
		return NULL;
	}
	for (size_t i = 0; i < SESSIONS_MAX; i++) {
		struct csession *c = &sessions[i];
		if (!c->used || strcmp(c->id, id) != 0)
			continue;
		if (strcmp(c->identity, caller) != 0) {
			hv_status_set(st, HV_PERMISSION_DENIED,
				      "console session %s belongs to %s, not %s", id, c->identity,
				      caller);
			return NULL;
		}
		return c;
	}
	hv_status_set(st, HV_NOT_FOUND,
		      "no console session %s (closed, or ended after its idle time)", id);
	return NULL;
}

/* Ends a session: the writer seat is given up and the end audited with
 * why. Lock held. */
static void end_session(struct agent *ag, struct csession *c, const struct hv_status *why)
{
	struct rpc_peer p = { .kind = c->kind,
			      .peer = c->peer,
			      .identity = c->identity[0] ? c->identity : NULL,
			      .x509_subject = c->subject[0] ? c->subject : NULL };

	if (c->writer)
		drop_writer(c->vm);
	agent_audit(ag, &p, "ConsoleSession.end", c->args, why);
	memset(c, 0, sizeof *c);
}

/* Takes the sessions' lock (the caller releases it) and finds the
 * caller's session id, as find_session. */
static struct csession *lock_session(const struct rpc_call_ctx *ctx, const char *id,
				     struct hv_status *st)
{
	char who[96];

	caller_of(ctx->peer, who, sizeof who);
	pthread_mutex_lock(&sessions_lock);
	return find_session(id, who, st);
}

void svc_console_session_open(const struct rpc_call_ctx *ctx, const ProtobufCMessage *m,
			      struct rpc_result *res)
{
	const Hvmgr__V1__ConsoleSessionOpenRequest *req =
		(const Hvmgr__V1__ConsoleSessionOpenRequest *)m;
	Hvmgr__V1__ConsoleSessionOpenResponse resp = HVMGR__V1__CONSOLE_SESSION_OPEN_RESPONSE__INIT;
	struct agent *ag = ctx->app;
	struct hvm_vm_slot slot;
	char label[64], who[96], holder[96] = "", notice[200] = "";
	uint8_t rnd[SESSION_ID_BYTES];
	struct csession *c = NULL;

	if (!req->vm) {
		rpc_result_error(res, HV_INVALID_ARGUMENT, "ConsoleSessionOpen: vm is missing");
		return;
	}
	if (req->idle_ms > IDLE_MAX_MS) {
		rpc_result_error(res, HV_INVALID_ARGUMENT,
				 "ConsoleSessionOpen: idle_ms %u is above %u", req->idle_ms,
				 IDLE_MAX_MS);
		return;
	}
	if (resolve_vm(ag, req->vm, &slot, label, sizeof label, &res->st) != 0)
		return;
	if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) {
		rpc_result_error(res, HV_INTERNAL, "ConsoleSessionOpen: no random session id");
		return;
	}
	caller_of(ctx->peer, who, sizeof who);
	console_sessions_sweep(ag, ctx->peer->kind, NULL); /* idle ones free their seats */

	pthread_mutex_lock(&sessions_lock);
	for (size_t i = 0; i < SESSIONS_MAX && !c; i++)
		if (!sessions[i].used)
			c = &sessions[i];
	if (!c) {
		pthread_mutex_unlock(&sessions_lock);
		rpc_result_error(res, HV_RESOURCE_EXHAUSTED,
				 "ConsoleSessionOpen: %d console sessions are open, the most at once",
				 SESSIONS_MAX);
		return;
	}
	memset(c, 0, sizeof *c);
	c->used = 1;
	for (size_t i = 0; i < sizeof rnd; i++)
		snprintf(c->id + 2 * i, 3, "%02x", rnd[i]);
	c->vm = slot.id;
	if (!req->read_only && !(c->writer = take_writer(slot.id, who, holder, sizeof holder)))
		snprintf(notice, sizeof notice, "read-only: %s writes to the console of %s", holder,
			 label);
	snprintf(c->label, sizeof c->label, "%s", label);
	snprintf(c->args, sizeof c->args, "vm=%s mode=%s session=%s", label,
		 c->writer ? "write" : "read-only", c->id);
	c->kind = ctx->peer->kind;
	snprintf(c->identity, sizeof c->identity, "%s", who);
	snprintf(c->subject, sizeof c->subject, "%s", or_empty(ctx->peer->x509_subject));
	snprintf(c->peer, sizeof c->peer, "%s", or_empty(ctx->peer->peer));
	c->next_seq = 1;
	c->idle_ms = req->idle_ms ? req->idle_ms : IDLE_DEFAULT_MS;
	c->last_ns = hv_mono_ns();

	uint8_t *all = malloc(HVM_CONSOLE_SIZE);
	size_t n;
	uint64_t start, next = 0, lost;
	struct hv_status rst;
	if (all)
		hvlink_read_console(ag->link, slot.id, 0, all, HVM_CONSOLE_SIZE, &n, &start, &next,
				    &lost, &rst);
	free(all);

	resp.session = c->id;
	resp.writer = c->writer != 0;
	resp.vm_name = slot.name;
	resp.notice = notice;
	resp.position = next;
	resp.idle_ms = c->idle_ms;
	agent_audit(ag, ctx->peer, "ConsoleSession.start", c->args, &res->st);
	if (rpc_result_message(res, &resp.base) != 0) {
		struct hv_status why;
		hv_status_set(&why, HV_INTERNAL, "the answer to open could not be sent");
		end_session(ag, c, &why);
	}
	pthread_mutex_unlock(&sessions_lock);
}

void svc_console_session_input(const struct rpc_call_ctx *ctx, const ProtobufCMessage *m,
			       struct rpc_result *res)
{
	const Hvmgr__V1__ConsoleSessionInputRequest *req =
		(const Hvmgr__V1__ConsoleSessionInputRequest *)m;
	Hvmgr__V1__ConsoleSessionInputResponse resp = HVMGR__V1__CONSOLE_SESSION_INPUT_RESPONSE__INIT;
	struct agent *ag = ctx->app;
	struct csession *c = lock_session(ctx, req->session, &res->st);
	if (!c)
		goto out;
	if (req->seq != c->next_seq) {
		hv_status_set(&res->st,
			      req->seq < c->next_seq ? HV_ALREADY_EXISTS : HV_INVALID_ARGUMENT,
			      "console session %s: input %" PRIu64 " %s; the next is %" PRIu64,
			      c->id, req->seq,
			      req->seq < c->next_seq ? "was taken already" : "is out of order",
			      c->next_seq);
		goto out;
	}
	if (req->data.len && !c->writer) {
		hv_status_set(&res->st, HV_FAILED_PRECONDITION,
			      "console session %s of %s is read-only; input is not sent", c->id,
			      c->label);
		goto out;
	}
	c->last_ns = hv_mono_ns();
	if (req->data.len &&
	    type_bytes(ag, NULL, c->vm, c->label, req->data.data, req->data.len, &res->st) != 0)
		goto out;
	resp.seq = c->next_seq++;
	c->last_ns = hv_mono_ns();
	rpc_result_message(res, &resp.base);
out:
	pthread_mutex_unlock(&sessions_lock);
}

void svc_console_session_close(const struct rpc_call_ctx *ctx, const ProtobufCMessage *m,
			       struct rpc_result *res)
{
	const Hvmgr__V1__ConsoleSessionCloseRequest *req =
		(const Hvmgr__V1__ConsoleSessionCloseRequest *)m;
	Hvmgr__V1__ConsoleSessionCloseResponse resp = HVMGR__V1__CONSOLE_SESSION_CLOSE_RESPONSE__INIT;
	struct agent *ag = ctx->app;
	struct csession *c = lock_session(ctx, req->session, &res->st);
	if (c) {
		struct hv_status ok;
		hv_status_ok(&ok);
		end_session(ag, c, &ok);
		rpc_result_message(res, &resp.base);
	}
	pthread_mutex_unlock(&sessions_lock);
}

void console_sessions_sweep(struct agent *ag, enum rpc_listener_kind kind, const char *lost)
{
	uint64_t now = hv_mono_ns();

	pthread_mutex_lock(&sessions_lock);
	for (size_t i = 0; i < SESSIONS_MAX; i++) {
		struct csession *c = &sessions[i];
		struct hv_status why;
		if (!c->used)
			continue;
		if (lost && c->kind == kind) {
			hv_status_set(&why, HV_UNAVAILABLE, "console session ended: %s", lost);
			end_session(ag, c, &why);
		} else if (now - c->last_ns > (uint64_t)c->idle_ms * 1000000ull) {
			hv_status_set(&why, HV_DEADLINE_EXCEEDED,
				      "console session ended: no call for %u ms", c->idle_ms);
			end_session(ag, c, &why);
		}
	}
	pthread_mutex_unlock(&sessions_lock);
}
