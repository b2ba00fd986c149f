/*
 * svc_console.c - Console (docs/api.md "Console"): the interactive console of
 * a VM as one bidirectional stream. Output is the VM's console ring (MGMT-170),
 * read from memory every POLL_MS; keystrokes go to the VM's vUART receive FIFO
 * with WRITE_CONSOLE (MGMT-801). One session per VM writes; others (and those
 * asking read_only) only read. Each session's start and end are audited.
 */
#include "agent.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* Writes data to the VM's receive FIFO, waiting while it is full. 0 when
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
		if (!rpc_stream_alive(s))
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
