/*
 * client.c - hvctl's client of hv-agent (client.h). On a unix socket a unary
 * call goes over the local frame protocol (agent/common/frame.h, docs/api.md
 * "hvctl and the frame protocol") when hv-agent speaks it; everything else
 * uses the gRPC C core: one channel, opened on first use, and one pluck
 * completion queue; every operation waits for its own tag, so the code reads
 * top to bottom like a blocking API. gRPC transports: unix sockets with
 * gRPC's local credentials, TCP with mutual TLS (grpc_setup.c makes the
 * channel and the batches the benchmark shares).
 */
#include "client.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "frame.h"
#include "grpc_setup.h"
#include "lazylib.h"

#include "grpc_lazy.h" /* last: gRPC's functions may be calls through a table */

#ifdef HVC_GRPC_LAZY
struct hvc_grpc_fns hvc_grpc;
#define HVC_GRPC_NAME(n) #n,
static const char *const grpc_names[] = { HVC_GRPC_FNS(HVC_GRPC_NAME) };
static struct lazylib grpc_lib = LAZYLIB_INIT(HVC_GRPC_SONAME, grpc_names, &hvc_grpc);

int hvc_grpc_load(struct hv_status *st)
{
	return lazylib_load(&grpc_lib, st);
}
#endif

/* How long hvc_connect waits for hv-agent's frame hello; an hv-agent that
 * only speaks gRPC answers at once with its HTTP/2 SETTINGS instead. */
#define HVC_HELLO_TIMEOUT_MS 2000

struct hvc {
	grpc_channel *ch; /* NULL until gRPC is first needed */
	grpc_completion_queue *cq;
	char target[PATH_MAX + 8];
	const char *sock; /* the unix socket's path (in target), or NULL */
	bool frames;      /* unary calls go over the frame protocol */
	int fd;           /* the frame connection, or -1 (broken, not reopened yet) */
};

static bool grpc_started;

struct hvc_stream {
	struct hvc *c;
	grpc_call *call;
	grpc_metadata_array md_init, md_trail;
	grpc_status_code status;
	grpc_slice details;
	int status_tag, recv_tag; /* addresses used as tags */
	int recv_pending;
	int got_md;
	int ended;
	grpc_byte_buffer *msg;
};

void hvc_global_init(void)
{
	/* gRPC starts when a connection first needs it (channel_open). */
}

void hvc_global_shutdown(void)
{
	if (grpc_started)
		grpc_shutdown_blocking();
	grpc_started = false;
}

/* The gRPC channel to c->target, made on first use. */
static int channel_open(struct hvc *c, const struct hvc_tls_pem *tls, struct hv_status *st)
{
	if (c->ch)
		return 0;
	if (!grpc_started) {
		if (hvc_grpc_load(st) != 0) {
			hv_status_prefix(st, "this needs gRPC: ");
			return -1;
		}
		grpc_init();
		grpc_started = true;
	}
	const struct hvc_channel_opts co = { .target = c->target, .tls = tls };
	c->ch = hvc_channel_create(&co);
	c->cq = grpc_completion_queue_create_for_pluck(NULL);
	if (!c->ch || !c->cq)
		return hv_status_set(st, HV_UNAVAILABLE, "cannot open a gRPC channel to %s",
				     c->target);
	return 0;
}

const char *hvc_target(const struct hvc *c)
{
	return c->target;
}

bool hvc_uses_frames(const struct hvc *c)
{
	return c->frames;
}

/* hvc_read_pem, pointing at the options that name the files. */
static char *read_pem(const char *what, const char *path, struct hv_status *st)
{
	char *pem = hvc_read_pem(what, path, st);

	if (!pem && strncmp(st->msg, "cannot read", 11) == 0) {
		size_t n = strlen(st->msg);
		snprintf(st->msg + n, sizeof st->msg - n, " (see --ca, --cert, --key)");
	}
	return pem;
}

/* A plain TCP connect to host:port, to tell "nothing listens" apart from a
 * refused TLS handshake. */
static int probe_tcp(const char *host, const char *port, struct hv_status *st)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *res = NULL,
			*ai;
	int rc = getaddrinfo(host, port, &hints, &res), err = 0;

	if (rc != 0)
		return hv_status_set(st, HV_UNAVAILABLE, "cannot reach hv-agent: %s: %s", host,
				     gai_strerror(rc));
	for (ai = res; ai; ai = ai->ai_next) {
		int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
			close(fd);
			freeaddrinfo(res);
			return 0;
		}
		err = errno;
		close(fd);
	}
	freeaddrinfo(res);
	return hv_status_set(st, HV_UNAVAILABLE, "cannot reach hv-agent at %s:%s: %s", host, port,
			     strerror(err ? err : ECONNREFUSED));
}

/* Whether a process accepts on the unix socket (a crashed hv-agent leaves
 * a socket file behind that refuses connections). */
static int probe_unix(const char *path, struct hv_status *st)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof sa.sun_path)
		return hv_status_set(st, HV_INVALID_ARGUMENT,
				     "socket path %s is longer than %zu bytes", path,
				     sizeof sa.sun_path - 1);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return hv_status_set(st, HV_UNAVAILABLE, "cannot reach hv-agent: socket: %s",
				     strerror(errno));
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		int e = errno;
		close(fd);
		return hv_status_set(st, HV_UNAVAILABLE, "cannot reach hv-agent: %s: %s%s", path,
				     strerror(e),
				     e == ECONNREFUSED ? " (a stale socket: is hv-agent running?)"
						       : "");
	}
	close(fd);
	return 0;
}

/* Waits (bounded) until the channel is READY; a TLS handshake that fails
 * leaves it in TRANSIENT_FAILURE. */
static int wait_ready(struct hvc *c, const char *what, struct hv_status *st)
{
	gpr_timespec dl =
		gpr_time_add(gpr_now(GPR_CLOCK_REALTIME), gpr_time_from_millis(10000, GPR_TIMESPAN));
	grpc_connectivity_state s = grpc_channel_check_connectivity_state(c->ch, 1);
	int tag;

	while (s != GRPC_CHANNEL_READY) {
		if (s == GRPC_CHANNEL_TRANSIENT_FAILURE || s == GRPC_CHANNEL_SHUTDOWN)
			return hv_status_set(st, HV_UNAVAILABLE,
					     "cannot reach hv-agent at %s: the TLS handshake failed (is the server "
					     "certificate from --ca, and the client pair from the same CA?)",
					     what);
		grpc_channel_watch_connectivity_state(c->ch, s, dl, c->cq, &tag);
		grpc_event ev = grpc_completion_queue_pluck(c->cq, &tag,
							    gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
		if (ev.type != GRPC_OP_COMPLETE || !ev.success)
			return hv_status_set(st, HV_UNAVAILABLE,
					     "cannot reach hv-agent at %s: no connection within 10 s",
					     what);
		s = grpc_channel_check_connectivity_state(c->ch, 0);
	}
	return 0;
}

static struct hvc *connect_tls(const struct hvc_opts *o, const char *hostport, struct hv_status *st)
{
	char host[256], port[16];
	const char *colon = strrchr(hostport, ':');

	if (o->readonly) {
		hv_status_set(st, HV_INVALID_ARGUMENT,
			      "--readonly selects the read-only unix socket; over tls:// the certificate's role decides");
		return NULL;
	}
	if (!colon || colon == hostport || !colon[1] || (size_t)(colon - hostport) >= sizeof host ||
	    strlen(colon + 1) >= sizeof port || strspn(colon + 1, "0123456789") != strlen(colon + 1)) {
		hv_status_set(st, HV_INVALID_ARGUMENT,
			      "connection URI 'tls://%s' is not tls://HOST:PORT", hostport);
		return NULL;
	}
	memcpy(host, hostport, (size_t)(colon - hostport));
	host[colon - hostport] = '\0';
	snprintf(port, sizeof port, "%s", colon + 1);

	char *ca = read_pem("CA certificate", o->ca, st), *crt = NULL, *key = NULL;
	if (ca)
		crt = read_pem("client certificate", o->cert, st);
	if (crt)
		key = read_pem("client key", o->key, st);
	if (!key) {
		free(ca);
		free(crt);
		return NULL;
	}
	struct hvc *c = NULL;
	if (probe_tcp(host, port, st) == 0 && (c = calloc(1, sizeof *c)) != NULL) {
		const struct hvc_tls_pem pem = { ca, crt, key };
		c->fd = -1;
		snprintf(c->target, sizeof c->target, "%s", hostport);
		if (channel_open(c, &pem, st) != 0 || wait_ready(c, hostport, st) != 0) {
			hvc_close(c);
			c = NULL;
		}
	}
	memset(key, 0, strlen(key)); /* the private key does not outlive its use */
	free(key);
	free(crt);
	free(ca);
	return c;
}

struct hvc *hvc_connect(const struct hvc_opts *o, struct hv_status *st)
{
	char path[PATH_MAX], cwd[PATH_MAX];
	const char *uri = o->uri, *p = uri;
	struct stat sb;

	if (strncmp(uri, "tls://", 6) == 0)
		return connect_tls(o, uri + 6, st);
	if (strncmp(uri, "unix://", 7) == 0)
		p = uri + 7;
	else if (strncmp(uri, "unix:", 5) == 0)
		p = uri + 5;
	else if (strstr(uri, "://")) {
		hv_status_set(st, HV_INVALID_ARGUMENT,
			      "unsupported connection URI '%s' (use unix:///path/to/hv-agent.sock or tls://HOST:PORT)",
			      uri);
		return NULL;
	}
	if (!*p) {
		hv_status_set(st, HV_INVALID_ARGUMENT, "connection URI '%s' names no socket", uri);
		return NULL;
	}
	if (p[0] == '/') {
		if (snprintf(path, sizeof path, "%s", p) >= (int)sizeof path)
			goto toolong;
	} else {
		while (p[0] == '.' && p[1] == '/')
			p += 2;
		if (!getcwd(cwd, sizeof cwd) ||
		    snprintf(path, sizeof path, "%s/%s", cwd, p) >= (int)sizeof path)
			goto toolong;
	}
	if (o->readonly) {
		/* libvirt's pair: the read-only socket lives next to the read-write one. */
		char *slash = strrchr(path, '/');
		size_t dirlen = (size_t)(slash - path) + 1;
		if (strcmp(slash + 1, "hv-agent-ro.sock") != 0) {
			if (dirlen + sizeof "hv-agent-ro.sock" > sizeof path)
				goto toolong;
			memcpy(path + dirlen, "hv-agent-ro.sock", sizeof "hv-agent-ro.sock");
		}
	}
	if (stat(path, &sb) != 0) {
		hv_status_set(st, HV_UNAVAILABLE, "cannot reach hv-agent: %s: %s%s", path,
			      strerror(errno),
			      errno == ENOENT ? " (is hv-agent running? see --connect)" : "");
		return NULL;
	}
	if (!S_ISSOCK(sb.st_mode)) {
		hv_status_set(st, HV_UNAVAILABLE, "cannot reach hv-agent: %s is not a socket", path);
		return NULL;
	}
	int fd = -1, r = 1;
	if (!o->grpc) {
		r = frame_connect(path, HVC_HELLO_TIMEOUT_MS, &fd, st);
		/* Nobody accepting: the wording of the gRPC path (probe_unix). */
		if (r < 0 && probe_unix(path, st) != 0)
			return NULL;
		if (r < 0) {
			hv_status_prefix(st, "cannot reach hv-agent: ");
			return NULL;
		}
	} else if (probe_unix(path, st) != 0) {
		return NULL;
	}
	struct hvc *c = calloc(1, sizeof *c);
	if (!c) {
		if (fd >= 0)
			close(fd);
		hv_status_set(st, HV_RESOURCE_EXHAUSTED, "out of memory");
		return NULL;
	}
	snprintf(c->target, sizeof c->target, "unix:%s", path);
	c->sock = c->target + 5;
	c->frames = r == 0; /* 1: an hv-agent that only speaks gRPC */
	c->fd = fd;
	return c;

toolong:
	hv_status_set(st, HV_INVALID_ARGUMENT, "socket path in '%s' is too long", uri);
	return NULL;
}

void hvc_close(struct hvc *c)
{
	if (!c)
		return;
	if (c->fd >= 0)
		close(c->fd);
	if (c->ch)
		grpc_channel_destroy(c->ch);
	if (c->cq) {
		grpc_completion_queue_shutdown(c->cq);
		grpc_completion_queue_destroy(c->cq);
	}
	free(c);
}

static grpc_byte_buffer *pack(const ProtobufCMessage *m)
{
	size_t len = protobuf_c_message_get_packed_size(m);
	uint8_t *buf = malloc(len ? len : 1);

	if (!buf)
		return NULL;
	protobuf_c_message_pack(m, buf);
	grpc_slice s = grpc_slice_from_copied_buffer((const char *)buf, len);
	free(buf);
	grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&s, 1);
	grpc_slice_unref(s);
	return bb;
}

static ProtobufCMessage *unpack(grpc_byte_buffer *bb, const ProtobufCMessageDescriptor *desc)
{
	grpc_byte_buffer_reader rd;

	if (!grpc_byte_buffer_reader_init(&rd, bb))
		return NULL;
	grpc_slice all = grpc_byte_buffer_reader_readall(&rd);
	grpc_byte_buffer_reader_destroy(&rd);
	ProtobufCMessage *m = protobuf_c_message_unpack(desc, NULL, GRPC_SLICE_LENGTH(all),
							GRPC_SLICE_START_PTR(all));
	grpc_slice_unref(all);
	return m;
}

static void status_from_grpc(struct hv_status *st, grpc_status_code code, grpc_slice details)
{
	char *msg = grpc_slice_to_c_string(details);

	hv_status_set(st, (enum hv_code)code, "%s", msg[0] ? msg : "(no details)");
	gpr_free(msg);
}

static int wait_tag(struct hvc *c, void *tag, gpr_timespec deadline)
{
	grpc_event ev = grpc_completion_queue_pluck(c->cq, tag, deadline, NULL);

	if (ev.type == GRPC_QUEUE_TIMEOUT)
		return -2;
	return ev.type == GRPC_OP_COMPLETE && ev.success ? 0 : -1;
}

/* How a finished unary-reply call turned out: hv-agent's status, then its reply. */
static int reply_outcome(const char *method, const struct hvc_unary *u,
			 const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp,
			 struct hv_status *st)
{
	if (u->status != GRPC_STATUS_OK) {
		status_from_grpc(st, u->status, u->details);
		return -1;
	}
	if (!u->in || !(*resp = unpack(u->in, resp_desc))) {
		hv_status_set(st, HV_INTERNAL, "malformed %s reply from hv-agent", method);
		return -1;
	}
	hv_status_ok(st);
	return 0;
}

/* A unary call over the frame connection: the statuses and messages of the
 * gRPC path below. A broken connection is closed; the next call opens a new
 * one, once, and goes over gRPC if hv-agent no longer speaks frames. */
static int frame_unary(struct hvc *c, const char *method, const ProtobufCMessage *req,
		       const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp,
		       unsigned timeout_ms, struct hv_status *st)
{
	if (c->fd < 0) {
		int r = frame_connect(c->sock, HVC_HELLO_TIMEOUT_MS, &c->fd, st);
		if (r < 0) {
			hv_status_prefix(st, "cannot reach hv-agent: ");
			return -1;
		}
		if (r == 1) {
			c->frames = false;
			return 1;
		}
	}
	size_t len = protobuf_c_message_get_packed_size(req), rlen;
	uint8_t *buf = malloc(len ? len : 1), *rbuf;
	int broken = 0;
	if (!buf)
		return hv_status_set(st, HV_RESOURCE_EXHAUSTED, "out of memory");
	protobuf_c_message_pack(req, buf);
	int rc = frame_call(c->fd, method, buf, len, timeout_ms, &rbuf, &rlen, &broken, st);
	free(buf);
	if (broken) {
		close(c->fd);
		c->fd = -1;
	}
	if (rc != 0) {
		if (!st->msg[0])
			hv_status_set(st, st->code, "(no details)");
		return -1;
	}
	*resp = protobuf_c_message_unpack(resp_desc, NULL, rlen, rbuf);
	free(rbuf);
	if (!*resp)
		return hv_status_set(st, HV_INTERNAL, "malformed %s reply from hv-agent", method);
	return 0;
}

int hvc_call(struct hvc *c, const char *method, const ProtobufCMessage *req,
	     const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp,
	     unsigned timeout_ms, struct hv_status *st)
{
	struct hvc_unary u;
	grpc_byte_buffer *out;
	int tag, rc = -1;

	*resp = NULL;
	if (c->frames && (rc = frame_unary(c, method, req, resp_desc, resp, timeout_ms, st)) <= 0)
		return rc;
	rc = -1;
	if (channel_open(c, NULL, st) != 0)
		return -1;
	out = pack(req);
	if (!out)
		return hv_status_set(st, HV_RESOURCE_EXHAUSTED, "out of memory");
	gpr_timespec dl = gpr_time_add(gpr_now(GPR_CLOCK_REALTIME),
				       gpr_time_from_millis(timeout_ms, GPR_TIMESPAN));
	grpc_slice mslice = grpc_slice_from_copied_string(method);
	grpc_call *call = grpc_channel_create_call(c->ch, NULL, GRPC_PROPAGATE_DEFAULTS, c->cq,
						   mslice, NULL, dl, NULL);
	grpc_slice_unref(mslice);
	hvc_unary_init(&u, out);
	if (grpc_call_start_batch(call, u.ops, 6, &tag, NULL) != GRPC_CALL_OK)
		hv_status_set(st, HV_INTERNAL, "cannot start the call");
	else if (wait_tag(c, &tag, gpr_inf_future(GPR_CLOCK_REALTIME)) != 0)
		hv_status_set(st, HV_UNAVAILABLE, "the call to %s failed", method);
	else
		rc = reply_outcome(method, &u, resp_desc, resp, st);
	grpc_byte_buffer_destroy(out);
	hvc_unary_release(&u);
	grpc_call_unref(call);
	return rc;
}

static int stream_open(struct hvc *c, const char *method, const ProtobufCMessage *req, bool duplex,
		       struct hvc_stream **out, struct hv_status *st);

int hvc_stream_open(struct hvc *c, const char *method, const ProtobufCMessage *req,
		    struct hvc_stream **out, struct hv_status *st)
{
	return stream_open(c, method, req, false, out, st);
}

int hvc_duplex_open(struct hvc *c, const char *method, const ProtobufCMessage *first,
		    struct hvc_stream **out, struct hv_status *st)
{
	return stream_open(c, method, first, true, out, st);
}

int hvc_duplex_send(struct hvc_stream *s, const ProtobufCMessage *msg, struct hv_status *st)
{
	grpc_op op;
	int tag;

	if (s->ended)
		return hv_status_set(st, HV_FAILED_PRECONDITION, "the stream has ended");
	grpc_byte_buffer *bb = pack(msg);
	if (!bb)
		return hv_status_set(st, HV_RESOURCE_EXHAUSTED, "out of memory");
	memset(&op, 0, sizeof op);
	op.op = GRPC_OP_SEND_MESSAGE;
	op.data.send_message.send_message = bb;
	int rc = grpc_call_start_batch(s->call, &op, 1, &tag, NULL) == GRPC_CALL_OK
			 ? wait_tag(s->c, &tag, gpr_inf_future(GPR_CLOCK_REALTIME))
			 : -1;
	grpc_byte_buffer_destroy(bb);
	if (rc != 0)
		return hv_status_set(st, HV_UNAVAILABLE, "the stream has ended");
	return 0;
}

static int stream_open(struct hvc *c, const char *method, const ProtobufCMessage *req, bool duplex,
		       struct hvc_stream **out, struct hv_status *st)
{
	struct hvc_stream *s;
	grpc_op ops[3];
	int tag;

	*out = NULL;
	if (channel_open(c, NULL, st) != 0)
		return -1;
	s = calloc(1, sizeof *s);
	grpc_byte_buffer *bb = s ? pack(req) : NULL;
	if (!bb) {
		free(s);
		return hv_status_set(st, HV_RESOURCE_EXHAUSTED, "out of memory");
	}
	s->c = c;
	s->details = grpc_empty_slice();
	grpc_metadata_array_init(&s->md_init);
	grpc_metadata_array_init(&s->md_trail);
	grpc_slice mslice = grpc_slice_from_copied_string(method);
	s->call = grpc_channel_create_call(c->ch, NULL, GRPC_PROPAGATE_DEFAULTS, c->cq, mslice,
					   NULL, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
	grpc_slice_unref(mslice);

	hvc_send_ops(ops, bb);
	/* duplex: the sending side stays open (no SEND_CLOSE_FROM_CLIENT) */
	int rc = grpc_call_start_batch(s->call, ops, duplex ? 2 : 3, &tag, NULL) == GRPC_CALL_OK
			 ? wait_tag(c, &tag, gpr_inf_future(GPR_CLOCK_REALTIME))
			 : -1;
	grpc_byte_buffer_destroy(bb);

	/* The final status, whenever it comes. */
	hvc_status_op(&ops[0], &s->md_trail, &s->status, &s->details);
	if (grpc_call_start_batch(s->call, ops, 1, &s->status_tag, NULL) != GRPC_CALL_OK) {
		grpc_call_unref(s->call);
		grpc_metadata_array_destroy(&s->md_init);
		grpc_metadata_array_destroy(&s->md_trail);
		free(s);
		return hv_status_set(st, HV_INTERNAL, "cannot start the stream");
	}
	if (rc != 0) {
		/* Sending failed: the status says why. */
		wait_tag(c, &s->status_tag, gpr_inf_future(GPR_CLOCK_REALTIME));
		s->ended = 1;
		status_from_grpc(st, s->status, s->details);
		hvc_stream_close(s);
		return -1;
	}
	*out = s;
	return 0;
}

int hvc_stream_next(struct hvc_stream *s, const ProtobufCMessageDescriptor *desc,
		    ProtobufCMessage **msg, unsigned timeout_ms, struct hv_status *st)
{
	*msg = NULL;
	if (s->ended)
		return hv_status_set(st, HV_FAILED_PRECONDITION, "the stream has ended");
	if (!s->recv_pending) {
		grpc_op ops[2];
		size_t n = 0;
		memset(ops, 0, sizeof ops);
		if (!s->got_md) {
			ops[n].op = GRPC_OP_RECV_INITIAL_METADATA;
			ops[n].data.recv_initial_metadata.recv_initial_metadata = &s->md_init;
			n++;
		}
		ops[n].op = GRPC_OP_RECV_MESSAGE;
		ops[n].data.recv_message.recv_message = &s->msg;
		n++;
		if (grpc_call_start_batch(s->call, ops, n, &s->recv_tag, NULL) != GRPC_CALL_OK)
			return hv_status_set(st, HV_INTERNAL, "cannot read from the stream");
		s->recv_pending = 1;
		s->got_md = 1;
	}
	gpr_timespec dl = timeout_ms ? gpr_time_add(gpr_now(GPR_CLOCK_REALTIME),
						    gpr_time_from_millis(timeout_ms, GPR_TIMESPAN))
				     : gpr_inf_future(GPR_CLOCK_REALTIME);
	int rc = wait_tag(s->c, &s->recv_tag, dl);
	if (rc == -2)
		return -2;
	s->recv_pending = 0;
	if (rc == 0 && s->msg) {
		*msg = unpack(s->msg, desc);
		grpc_byte_buffer_destroy(s->msg);
		s->msg = NULL;
		if (!*msg)
			return hv_status_set(st, HV_INTERNAL, "malformed message on the stream");
		return 1;
	}
	/* End of stream: collect the status. */
	wait_tag(s->c, &s->status_tag, gpr_inf_future(GPR_CLOCK_REALTIME));
	s->ended = 1;
	if (s->status == GRPC_STATUS_OK) {
		hv_status_ok(st);
		return 0;
	}
	status_from_grpc(st, s->status, s->details);
	return -1;
}

void hvc_stream_close(struct hvc_stream *s)
{
	if (!s)
		return;
	if (!s->ended) {
		grpc_call_cancel(s->call, NULL);
		if (s->recv_pending)
			wait_tag(s->c, &s->recv_tag, gpr_inf_future(GPR_CLOCK_REALTIME));
		wait_tag(s->c, &s->status_tag, gpr_inf_future(GPR_CLOCK_REALTIME));
	}
	if (s->msg)
		grpc_byte_buffer_destroy(s->msg);
	grpc_slice_unref(s->details);
	grpc_metadata_array_destroy(&s->md_init);
	grpc_metadata_array_destroy(&s->md_trail);
	grpc_call_unref(s->call);
	free(s);
}

int hvc_upload(struct hvc *c, const char *method, const ProtobufCMessage *first, hvc_next_fn next,
	       void *arg, const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp,
	       struct hv_status *st)
{
	struct hvc_unary u; /* its receiving half: the reply and the status */
	struct hv_status local;
	grpc_op ops[2];
	int send_tag, status_tag, rc = -1, local_err = 0, status_started = 0;

	*resp = NULL;
	if (channel_open(c, NULL, st) != 0)
		return -1;
	hv_status_ok(&local);
	hvc_unary_init(&u, NULL);
	grpc_slice mslice = grpc_slice_from_copied_string(method);
	/* No deadline: an upload takes as long as the image is large. */
	grpc_call *call =
		grpc_channel_create_call(c->ch, NULL, GRPC_PROPAGATE_DEFAULTS, c->cq, mslice, NULL,
					 gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
	grpc_slice_unref(mslice);

	/* The first message with the initial metadata, then the reply batch. */
	const ProtobufCMessage *msg = first;
	int sent_md = 0;
	for (;;) {
		grpc_byte_buffer *bb = pack(msg);
		size_t n = 0;
		if (!bb) {
			hv_status_set(&local, HV_RESOURCE_EXHAUSTED, "out of memory");
			local_err = 1;
			break;
		}
		memset(ops, 0, sizeof ops);
		if (!sent_md) {
			ops[n].op = GRPC_OP_SEND_INITIAL_METADATA;
			n++;
		}
		ops[n].op = GRPC_OP_SEND_MESSAGE;
		ops[n].data.send_message.send_message = bb;
		n++;
		int ok = grpc_call_start_batch(call, ops, n, &send_tag, NULL) == GRPC_CALL_OK &&
			 wait_tag(c, &send_tag, gpr_inf_future(GPR_CLOCK_REALTIME)) == 0;
		grpc_byte_buffer_destroy(bb);
		sent_md = 1;
		if (!status_started) {
			if (grpc_call_start_batch(call, &u.ops[HVC_UNARY_RECV_OPS], 3, &status_tag,
						  NULL) != GRPC_CALL_OK) {
				hv_status_set(&local, HV_INTERNAL, "cannot start the call");
				local_err = 1;
				grpc_call_cancel(call, NULL);
				break;
			}
			status_started = 1;
		}
		if (!ok)
			break; /* the server ended the call: its status says why */
		int more = next(arg, &msg, &local);
		if (more < 0) {
			local_err = 1;
			grpc_call_cancel(call, NULL);
			break;
		}
		if (more == 0) {
			memset(ops, 0, sizeof ops);
			ops[0].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
			if (grpc_call_start_batch(call, ops, 1, &send_tag, NULL) == GRPC_CALL_OK)
				wait_tag(c, &send_tag, gpr_inf_future(GPR_CLOCK_REALTIME));
			break;
		}
	}
	if (status_started)
		wait_tag(c, &status_tag, gpr_inf_future(GPR_CLOCK_REALTIME));
	if (local_err) {
		*st = local;
	} else if (!status_started) {
		hv_status_set(st, HV_UNAVAILABLE, "the call to %s failed", method);
	} else {
		rc = reply_outcome(method, &u, resp_desc, resp, st);
	}
	hvc_unary_release(&u);
	grpc_call_unref(call);
	return rc;
}
