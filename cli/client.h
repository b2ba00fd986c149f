/*
 * client.h - hvctl's connection to hv-agent: unary calls, server streams and
 * client-streaming uploads over gRPC, with protobuf-c messages in and out;
 * on a unix socket unary calls use hv-agent's local frame protocol when it
 * speaks it (agent/common/frame.h). With grpc_setup.c (channels
 * and batches, shared with bench/rpc_bench.c) the only files of hvctl that
 * use the gRPC C core API.
 */
#ifndef HVCTL_CLIENT_H
#define HVCTL_CLIENT_H

#include <stdbool.h>

#include <protobuf-c/protobuf-c.h>

#include "status.h"

struct hvc;
struct hvc_stream;

/* Where and how to connect.
 * uri: "unix:///abs/path", "unix:path" or a plain path (relative paths are
 * taken from the current directory), or "tls://HOST:PORT" for mutual TLS with
 * ca/cert/key (PEM files). readonly: use the read-only socket that sits next
 * to the read-write one (hv-agent-ro.sock), like `virsh -r`. grpc: make every
 * call over gRPC, never the local frame protocol (hvctl --grpc). */
struct hvc_opts {
	const char *uri;
	const char *ca, *cert, *key;
	bool readonly;
	bool grpc;
};

/* Connects and checks that hv-agent answers the connection: a missing
 * socket, a socket nobody serves, a refused TCP port or a failed TLS
 * handshake fail here with UNAVAILABLE and a message naming the target.
 * A malformed URI or unreadable TLS files fail with INVALID_ARGUMENT. */
struct hvc *hvc_connect(const struct hvc_opts *o, struct hv_status *st);
void hvc_close(struct hvc *c);
const char *hvc_target(const struct hvc *c);
/* Whether unary calls go over the local frame protocol (a unix socket whose
 * hv-agent speaks it, without --grpc) rather than gRPC. */
bool hvc_uses_frames(const struct hvc *c);

/* Calls method ("/hvmgr.v1.Hvmgr/GetVm") and decodes the reply with
 * resp_desc into *resp (free with protobuf_c_message_free_unpacked). */
int hvc_call(struct hvc *c, const char *method, const ProtobufCMessage *req,
	     const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp,
	     unsigned timeout_ms, struct hv_status *st);

int hvc_stream_open(struct hvc *c, const char *method, const ProtobufCMessage *req,
		    struct hvc_stream **out, struct hv_status *st);
/* 1: a message in *msg; 0: the stream ended with OK; -1: it ended with an
 * error (st); -2: nothing arrived within timeout_ms (0 = wait forever). */
int hvc_stream_next(struct hvc_stream *s, const ProtobufCMessageDescriptor *desc,
		    ProtobufCMessage **msg, unsigned timeout_ms, struct hv_status *st);
/* Cancels the stream if it is still open, and frees it. */
void hvc_stream_close(struct hvc_stream *s);

/* Bidirectional streaming: opens method with `first` sent and the sending
 * side left open; hvc_duplex_send sends more, hvc_stream_next reads the
 * replies, hvc_stream_close ends it. */
int hvc_duplex_open(struct hvc *c, const char *method, const ProtobufCMessage *first,
		    struct hvc_stream **out, struct hv_status *st);
/* 0 when sent; -1 when the stream has ended (its status follows from
 * hvc_stream_next). */
int hvc_duplex_send(struct hvc_stream *s, const ProtobufCMessage *msg, struct hv_status *st);

/* Client streaming: sends `first`, then every message next() hands out
 * (1: *msg set, valid until the next call; 0: no more; -1: a local error in
 * st, the call is cancelled), half-closes, and decodes the one reply into
 * *resp. A server that ends the call early (a refusal) stops the sending;
 * its status is returned. No deadline: uploads take their time. */
typedef int (*hvc_next_fn)(void *arg, const ProtobufCMessage **msg, struct hv_status *st);
int hvc_upload(struct hvc *c, const char *method, const ProtobufCMessage *first, hvc_next_fn next,
	       void *arg, const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp,
	       struct hv_status *st);

void hvc_global_init(void);
void hvc_global_shutdown(void);

#endif /* HVCTL_CLIENT_H */
