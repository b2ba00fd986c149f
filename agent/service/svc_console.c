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
 * when no call came for its idle time (the sessions' timer, a thread that
 * sleeps until the nearest idle limit), or when the fleet link is lost
 * (console_sessions_link_lost, from agent/service/svc_fleet.c). A session
 * opened through the fleet link has its output published on its own topic
 * (docs/fleet.md FLEET-001..).
 */
#include "agent.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "hvmgr/v1/fleet.pb-c.h"
#include "log.h"

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
#define ENDED_KEPT 16      /* sessions remembered after their end, for a clear error */
#define OUT_PUBLISH_MS 50u /* a publishing session's console is read this often */

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
	uint64_t opened_ns;
	/* opened through the fleet link: output published from the first input */
	int publish;
	uint64_t out_pos, out_seq;
} sessions[SESSIONS_MAX];

/* Sessions that ended, and why: a later call naming one is told. */
static struct {
	char id[2 * SESSION_ID_BYTES + 1];
	char why[sizeof((struct hv_status *)0)->msg];
} ended[ENDED_KEPT];
static size_t ended_next;

/* The sessions' timer (timer_main): sleeps until the nearest idle limit, or
 * OUT_PUBLISH_MS while a session publishes its output, or until kicked (a
 * session opened, the fleet link lost, hv-agent stops). */
static pthread_mutex_t timer_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t timer_cond;
static pthread_t timer_thread;
static int timer_started, timer_stop, timer_kick;
static uint64_t lost_ns; /* when a link was lost, 0 when not (under timer_lock) */
static enum rpc_listener_kind lost_kind;
static char lost_why[96];
static console_publish_fn publisher; /* under sessions_lock */
static void *publisher_arg;

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
	for (size_t i = 0; i < ENDED_KEPT; i++)
		if (strcmp(ended[i].id, id) == 0) {
			hv_status_set(st, HV_NOT_FOUND, "console session %s has ended: %s", id,
				      ended[i].why);
			return NULL;
		}
	hv_status_set(st, HV_NOT_FOUND,
		      "no console session %s (closed, or ended after its idle time)", id);
	return NULL;
}

/* Publishes what the session's console holds from out_pos on, and with why
 * (not NULL) the session's last publication. Lock held. */
static void publish_output(struct agent *ag, struct csession *c, const char *why)
{
	uint8_t *buf = malloc(OUT_MAX), *packed = NULL;

	if (!buf || !publisher) {
		free(buf);
		return;
	}
	for (int more = 1; more;) {
		Hvmgr__V1__FleetConsoleOutput o = HVMGR__V1__FLEET_CONSOLE_OUTPUT__INIT;
		struct hv_status rst;
		size_t n = 0;
		uint64_t start, next = c->out_pos, lost = 0;
		if (hvlink_read_console(ag->link, c->vm, c->out_pos, buf, OUT_MAX, &n, &start,
					&next, &lost, &rst) != 0)
			n = lost = 0, next = c->out_pos;
		more = n == OUT_MAX;
		if (!n && !lost && !why)
			break;
		o.session = c->id;
		o.seq = ++c->out_seq;
		o.position = next - n;
		o.next_position = next;
		o.data.data = buf;
		o.data.len = n;
		o.lost_bytes = lost;
		o.ended = (char *)(more || !why ? "" : why);
		size_t len = protobuf_c_message_get_packed_size(&o.base);
		packed = realloc(packed, len ? len : 1);
		if (!packed)
			break;
		protobuf_c_message_pack(&o.base, packed);
		publisher(publisher_arg, c->id, packed, len);
		c->out_pos = next;
	}
	free(packed);
	free(buf);
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
	snprintf(ended[ended_next].id, sizeof ended[0].id, "%s", c->id);
	snprintf(ended[ended_next].why, sizeof ended[0].why, "%s",
		 why->code == HV_OK ? "closed" : why->msg);
	ended_next = (ended_next + 1) % ENDED_KEPT;
	if (c->publish)
		publish_output(ag, c, ended[(ended_next + ENDED_KEPT - 1) % ENDED_KEPT].why);
	memset(c, 0, sizeof *c);
}

/* Ends what is due (lock held): the sessions of kind opened before a link
 * lost at lost_at (when not 0), and those idle past their limit; publishes
 * the output of the others. Returns when to look again (UINT64_MAX: only
 * when kicked). */
static uint64_t sweep_locked(struct agent *ag, uint64_t lost_at, enum rpc_listener_kind kind,
			     const char *lost)
{
	uint64_t now = hv_mono_ns(), wake = UINT64_MAX;

	for (size_t i = 0; i < SESSIONS_MAX; i++) {
		struct csession *c = &sessions[i];
		struct hv_status why;
		if (!c->used)
			continue;
		uint64_t limit = c->last_ns + (uint64_t)c->idle_ms * 1000000ull;
		if (lost_at && c->kind == kind && c->opened_ns <= lost_at) {
			hv_status_set(&why, HV_UNAVAILABLE, "console session ended: %s", lost);
			end_session(ag, c, &why);
		} else if (now >= limit) {
			hv_status_set(&why, HV_DEADLINE_EXCEEDED,
				      "console session ended: no call for %u ms", c->idle_ms);
			end_session(ag, c, &why);
		} else {
			if (limit < wake)
				wake = limit;
			if (c->publish) {
				publish_output(ag, c, NULL);
				uint64_t soon = now + OUT_PUBLISH_MS * 1000000ull;
				if (soon < wake)
					wake = soon;
			}
		}
	}
	return wake;
}

static void *timer_main(void *arg)
{
	struct agent *ag = arg;
	char why[sizeof lost_why];

	pthread_mutex_lock(&timer_lock);
	while (!timer_stop) {
		uint64_t lost_at = lost_ns;
		enum rpc_listener_kind kind = lost_kind;
		snprintf(why, sizeof why, "%s", lost_why);
		lost_ns = 0;
		timer_kick = 0;
		pthread_mutex_unlock(&timer_lock);

		pthread_mutex_lock(&sessions_lock);
		uint64_t wake = sweep_locked(ag, lost_at, kind, why);
		pthread_mutex_unlock(&sessions_lock);

		pthread_mutex_lock(&timer_lock);
		while (!timer_stop && !timer_kick && !lost_ns && hv_mono_ns() < wake) {
			if (wake == UINT64_MAX) {
				pthread_cond_wait(&timer_cond, &timer_lock);
				continue;
			}
			struct timespec ts = { (time_t)(wake / 1000000000ull),
					       (long)(wake % 1000000000ull) };
			if (pthread_cond_timedwait(&timer_cond, &timer_lock, &ts) == ETIMEDOUT)
				break;
		}
	}
	pthread_mutex_unlock(&timer_lock);
	return NULL;
}

/* A lost link not handled by the timer yet (0 when none). */
static uint64_t pending_lost(enum rpc_listener_kind *kind, char *why, size_t len)
{
	pthread_mutex_lock(&timer_lock);
	uint64_t at = lost_ns;
	*kind = lost_kind;
	snprintf(why, len, "%s", lost_why);
	pthread_mutex_unlock(&timer_lock);
	return at;
}

static void timer_poke(void)
{
	pthread_mutex_lock(&timer_lock);
	timer_kick = 1;
	if (timer_started)
		pthread_cond_broadcast(&timer_cond);
	pthread_mutex_unlock(&timer_lock);
}

/* Starts the timer with the first session (lock held: sessions_lock). */
static void timer_start(struct agent *ag)
{
	pthread_mutex_lock(&timer_lock);
	if (!timer_started && !timer_stop) {
		pthread_condattr_t a;
		pthread_condattr_init(&a);
		pthread_condattr_setclock(&a, CLOCK_MONOTONIC); /* hv_mono_ns's clock */
		pthread_cond_init(&timer_cond, &a);
		pthread_condattr_destroy(&a);
		if (pthread_create(&timer_thread, NULL, timer_main, ag) == 0)
			timer_started = 1;
		else
			log_warn("console sessions: no timer thread; idle sessions end only "
				 "when another opens");
	}
	pthread_mutex_unlock(&timer_lock);
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

	/* Sessions that are due (idle, or of a link lost an instant ago) give
	 * their seats up before this one asks for one. */
	enum rpc_listener_kind lk;
	char lwhy[sizeof lost_why];
	uint64_t lat = pending_lost(&lk, lwhy, sizeof lwhy);
	pthread_mutex_lock(&sessions_lock);
	sweep_locked(ag, lat, lk, lwhy);
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
	c->last_ns = c->opened_ns = hv_mono_ns();

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
	char topic[80] = "";
	c->out_pos = next;
	if (c->kind == RPC_LISTENER_FLEET && publisher) {
		snprintf(topic, sizeof topic, "console/%s", c->id);
		resp.output_topic = topic;
	}
	agent_audit(ag, ctx->peer, "ConsoleSession.start", c->args, &res->st);
	if (rpc_result_message(res, &resp.base) != 0) {
		struct hv_status why;
		hv_status_set(&why, HV_INTERNAL, "the answer to open could not be sent");
		end_session(ag, c, &why);
	}
	timer_start(ag);
	pthread_mutex_unlock(&sessions_lock);
	timer_poke(); /* its idle limit may be the nearest */
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
	/* The backend subscribed before its first input: output from now on. */
	if (!c->publish && c->kind == RPC_LISTENER_FLEET && publisher) {
		c->publish = 1;
		timer_poke();
	}
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

void console_sessions_link_lost(enum rpc_listener_kind kind, const char *why)
{
	pthread_mutex_lock(&timer_lock);
	lost_ns = hv_mono_ns();
	lost_kind = kind;
	snprintf(lost_why, sizeof lost_why, "%s", why);
	if (timer_started) /* else no session is open */
		pthread_cond_broadcast(&timer_cond);
	pthread_mutex_unlock(&timer_lock);
}

void console_sessions_set_publisher(console_publish_fn fn, void *arg)
{
	pthread_mutex_lock(&sessions_lock);
	publisher = fn;
	publisher_arg = arg;
	pthread_mutex_unlock(&sessions_lock);
}

void console_sessions_stop(struct agent *ag)
{
	pthread_mutex_lock(&timer_lock);
	timer_stop = 1;
	int started = timer_started;
	if (started)
		pthread_cond_broadcast(&timer_cond);
	pthread_mutex_unlock(&timer_lock);
	if (started) {
		pthread_join(timer_thread, NULL);
		pthread_cond_destroy(&timer_cond);
	}
	pthread_mutex_lock(&sessions_lock);
	for (size_t i = 0; i < SESSIONS_MAX; i++) {
		struct hv_status why;
		if (!sessions[i].used)
			continue;
		hv_status_set(&why, HV_UNAVAILABLE, "console session ended: hv-agent stops");
		end_session(ag, &sessions[i], &why);
	}
	pthread_mutex_unlock(&sessions_lock);
}
