/*
 * grpc_setup.c - channels, unary batches and PEM files for gRPC clients of
 * hv-agent (grpc_setup.h).
 */
#include "grpc_setup.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/grpc_security.h>

#include "grpc_lazy.h" /* last: gRPC's functions may be calls through a table */

#define PEM_MAX (64 * 1024)

grpc_channel *hvc_channel_create(const struct hvc_channel_opts *o)
{
	grpc_arg args[2];
	size_t nargs = 0;
	grpc_channel_credentials *creds;

	if (o->own_subchannel_pool) {
		args[nargs].type = GRPC_ARG_INTEGER;
		args[nargs].key = (char *)GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL;
		args[nargs].value.integer = 1;
		nargs++;
	}
	if (!o->tls) {
		creds = grpc_local_credentials_create(UDS);
	} else {
		grpc_ssl_pem_key_cert_pair pair = { o->tls->key, o->tls->cert };
		creds = grpc_ssl_credentials_create(o->tls->ca, &pair, NULL, NULL);
		if (o->name_override) {
			args[nargs].type = GRPC_ARG_STRING;
			args[nargs].key = (char *)GRPC_SSL_TARGET_NAME_OVERRIDE_ARG;
			args[nargs].value.string = (char *)o->name_override;
			nargs++;
		}
	}
	grpc_channel_args cargs = { nargs, args };
	grpc_channel *ch = grpc_channel_create(o->target, creds, nargs ? &cargs : NULL);
	grpc_channel_credentials_release(creds);
	return ch;
}

void hvc_send_ops(grpc_op ops[3], grpc_byte_buffer *out)
{
	memset(ops, 0, 3 * sizeof *ops);
	ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
	ops[1].op = GRPC_OP_SEND_MESSAGE;
	ops[1].data.send_message.send_message = out;
	ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
}

void hvc_status_op(grpc_op *op, grpc_metadata_array *md_trail, grpc_status_code *status,
		   grpc_slice *details)
{
	memset(op, 0, sizeof *op);
	op->op = GRPC_OP_RECV_STATUS_ON_CLIENT;
	op->data.recv_status_on_client.trailing_metadata = md_trail;
	op->data.recv_status_on_client.status = status;
	op->data.recv_status_on_client.status_details = details;
}

void hvc_unary_init(struct hvc_unary *u, grpc_byte_buffer *out)
{
	memset(u, 0, sizeof *u);
	u->status = GRPC_STATUS_UNKNOWN;
	u->details = grpc_empty_slice();
	grpc_metadata_array_init(&u->md_init);
	grpc_metadata_array_init(&u->md_trail);
	hvc_send_ops(&u->ops[HVC_UNARY_SEND_OPS], out);
	u->ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
	u->ops[3].data.recv_initial_metadata.recv_initial_metadata = &u->md_init;
	u->ops[4].op = GRPC_OP_RECV_MESSAGE;
	u->ops[4].data.recv_message.recv_message = &u->in;
	hvc_status_op(&u->ops[5], &u->md_trail, &u->status, &u->details);
}

void hvc_unary_release(struct hvc_unary *u)
{
	if (u->in)
		grpc_byte_buffer_destroy(u->in);
	u->in = NULL;
	grpc_slice_unref(u->details);
	u->details = grpc_empty_slice();
	grpc_metadata_array_destroy(&u->md_init);
	grpc_metadata_array_destroy(&u->md_trail);
}

char *hvc_read_pem(const char *what, const char *path, struct hv_status *st)
{
	FILE *f = path ? fopen(path, "rb") : NULL;
	char *buf = NULL;
	size_t len = 0;

	if (!f) {
		hv_status_set(st, HV_INVALID_ARGUMENT, "cannot read the %s %s: %s", what,
			      path ? path : "(none)", path ? strerror(errno) : "no file given");
		return NULL;
	}
	buf = malloc(PEM_MAX + 1);
	if (buf)
		len = fread(buf, 1, PEM_MAX + 1, f);
	fclose(f);
	if (!buf || len == 0 || len > PEM_MAX) {
		free(buf);
		hv_status_set(st, HV_INVALID_ARGUMENT, "the %s %s is %s", what, path,
			      len ? "larger than 64 KiB" : "empty");
		return NULL;
	}
	buf[len] = '\0';
	if (!strstr(buf, "-----BEGIN ")) {
		free(buf);
		hv_status_set(st, HV_INVALID_ARGUMENT, "the %s %s is not a PEM file", what, path);
		return NULL;
	}
	return buf;
}
