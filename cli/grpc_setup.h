/*
 * grpc_setup.h - the gRPC C core set-up that hvctl's client (client.c) and
 * the RPC benchmark (bench/rpc_bench.c) share: a channel to hv-agent with
 * its credentials, the operations of a unary call's batch, and the PEM
 * files of mutual TLS.
 */
#ifndef HVC_GRPC_SETUP_H
#define HVC_GRPC_SETUP_H

#include <stdbool.h>

#include <grpc/grpc.h>

#include "status.h"

/* PEM text (NUL-terminated) of mutual TLS: the CA and the client pair. */
struct hvc_tls_pem {
	const char *ca, *cert, *key;
};

struct hvc_channel_opts {
	const char *target;            /* "unix:/abs/path" or "HOST:PORT" */
	const struct hvc_tls_pem *tls; /* NULL: gRPC's local credentials (unix sockets) */
	const char *name_override;     /* TLS: the server name expected, when not HOST */
	bool own_subchannel_pool;      /* one connection per channel, never shared */
};

/* A channel as o describes it (gRPC connects lazily: never NULL). */
grpc_channel *hvc_channel_create(const struct hvc_channel_opts *o);

/* One unary call's batch: ops[0..2] send the request and half-close,
 * ops[3..5] receive the initial metadata, the reply and the status. A
 * client-streaming call starts ops[3..5] on their own. */
struct hvc_unary {
	grpc_op ops[6];
	grpc_metadata_array md_init, md_trail;
	grpc_byte_buffer *in; /* the reply, once received */
	grpc_status_code status;
	grpc_slice details;
};
#define HVC_UNARY_SEND_OPS 0
#define HVC_UNARY_RECV_OPS 3

/* The three operations that send a call's one request `out` and half-close. */
void hvc_send_ops(grpc_op ops[3], grpc_byte_buffer *out);
/* The operation that receives a call's final status. */
void hvc_status_op(grpc_op *op, grpc_metadata_array *md_trail, grpc_status_code *status,
		   grpc_slice *details);

/* Prepares u for a call that sends `out` (not taken over). */
void hvc_unary_init(struct hvc_unary *u, grpc_byte_buffer *out);
/* Releases what the call received (reply, status details, metadata). */
void hvc_unary_release(struct hvc_unary *u);

/* A PEM file read whole (at most 64 KiB), or NULL with INVALID_ARGUMENT
 * naming `what` ("CA certificate") and the file. */
char *hvc_read_pem(const char *what, const char *path, struct hv_status *st);

#endif /* HVC_GRPC_SETUP_H */
