/*
 * rpc_bench.c - hv-rpc-bench: the hv-agent side of the RPC benchmark. Each
 * client thread opens its own gRPC channel (a local subchannel pool, so one
 * connection per client, like one virConnect per client on the libvirt side)
 * and calls /hvmgr.v1.Hvmgr/GetVm by name, back to back, through the gRPC C
 * core API with the protobuf-c messages of proto/. A call counts when the
 * status is OK and the answer decodes and names the VM that was asked for.
 * With --dry-run it calls Shutdown with dry_run set instead (hv-core's policy
 * verdict, MGMT-404; nothing is done): the answer must also carry a verdict.
 * With --list it calls ListVms (every defined VM) instead: the answer must
 * name the VM of --vm, and with --expect N hold exactly N VMs
 * (docs/performance.md "Scale").
 *
 *   hv-rpc-bench --target unix:PATH --vm NAME [--dry-run] [common options]
 *   hv-rpc-bench --target 127.0.0.1:PORT --tls-dir DIR [--role ROLE] --vm NAME ...
 *
 * Over TCP the channel uses mutual TLS with DIR/ca.crt and the client pair
 * DIR/ROLE.crt + DIR/ROLE.key (as written by `hvctl pki init`).
 *
 * With --frame (unix targets only) each client makes the same call with
 * hv-agent's local frame protocol instead of gRPC (docs/api.md "The local
 * frame protocol"): one connection per client, one request and one reply
 * per call (agent/common/frame.h).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/slice.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>

#include "bench_driver.h"
#include "frame.h"
#include "grpc_setup.h"
#include "hvmgr/v1/hvmgr.pb-c.h"

#define METHOD "/hvmgr.v1.Hvmgr/GetVm"
#define METHOD_DRY "/hvmgr.v1.Hvmgr/Shutdown"
#define METHOD_LIST "/hvmgr.v1.Hvmgr/ListVms"
#define CALL_DEADLINE_MS 10000

struct rpc_args {
	const char *target;
	const char *vm;
	int dry;     /* Shutdown with dry_run instead of GetVm */
	int list;    /* ListVms instead of GetVm */
	int frame;   /* the local frame protocol instead of gRPC */
	long expect; /* with list: the VMs the answer must hold, or -1 */
	const char *name_override;
	char *ca_pem, *cert_pem, *key_pem; /* TLS only */
	uint8_t *req;                      /* the encoded GetVmRequest, shared read-only */
	size_t req_len;
};

struct rpc_client {
	const struct rpc_args *a;
	grpc_channel *ch;
	grpc_completion_queue *cq;
	grpc_slice method;
	int fd; /* --frame: the frame connection */
};

static const char *method_of(const struct rpc_args *a)
{
	return a->list ? METHOD_LIST : a->dry ? METHOD_DRY : METHOD;
}

static grpc_channel *make_channel(const struct rpc_args *a)
{
	const struct hvc_tls_pem pem = { a->ca_pem, a->cert_pem, a->key_pem };
	const struct hvc_channel_opts o = {
		.target = a->target,
		.tls = strncmp(a->target, "unix:", 5) == 0 ? NULL : &pem,
		.name_override = a->name_override,
		.own_subchannel_pool = true,
	};

	return hvc_channel_create(&o);
}

static int check_bytes(const struct rpc_args *a, const uint8_t *data, size_t len, char *err,
		       size_t errlen);

static int check_response(const struct rpc_args *a, grpc_byte_buffer *bb, char *err, size_t errlen)
{
	grpc_byte_buffer_reader rd;
	grpc_slice s;

	if (!bb) {
		snprintf(err, errlen, "GetVm: OK without a response message");
		return -1;
	}
	if (!grpc_byte_buffer_reader_init(&rd, bb)) {
		snprintf(err, errlen, "GetVm: unreadable response buffer");
		return -1;
	}
	s = grpc_byte_buffer_reader_readall(&rd);
	grpc_byte_buffer_reader_destroy(&rd);
	int rc = check_bytes(a, GRPC_SLICE_START_PTR(s), GRPC_SLICE_LENGTH(s), err, errlen);
	grpc_slice_unref(s);
	return rc;
}

static int check_bytes(const struct rpc_args *a, const uint8_t *data, size_t len, char *err,
		       size_t errlen)
{
	int rc = -1;

	if (a->list) {
		Hvmgr__V1__ListVmsResponse *lv =
			hvmgr__v1__list_vms_response__unpack(NULL, len, data);
		size_t i = 0;
		while (lv && i < lv->n_vms && strcmp(lv->vms[i]->name, a->vm) != 0)
			i++;
		if (!lv)
			snprintf(err, errlen, "ListVms: response does not decode as ListVmsResponse");
		else if (i == lv->n_vms)
			snprintf(err, errlen, "ListVms: VM '%s' is not in the answer", a->vm);
		else if (a->expect >= 0 && lv->n_vms != (size_t)a->expect)
			snprintf(err, errlen, "ListVms: %zu VMs, expected %ld", lv->n_vms, a->expect);
		else
			rc = 0;
		if (lv)
			hvmgr__v1__list_vms_response__free_unpacked(lv, NULL);
		return rc;
	}
	if (a->dry) {
		Hvmgr__V1__LifecycleResponse *lr =
			hvmgr__v1__lifecycle_response__unpack(NULL, len, data);
		if (!lr || !lr->verdict || !lr->vm || strcmp(lr->vm->name, a->vm) != 0)
			snprintf(err, errlen, "Shutdown (dry run): no verdict for VM '%s'", a->vm);
		else
			rc = 0;
		if (lr)
			hvmgr__v1__lifecycle_response__free_unpacked(lr, NULL);
		return rc;
	}
	Hvmgr__V1__GetVmResponse *resp = hvmgr__v1__get_vm_response__unpack(NULL, len, data);
	if (!resp)
		snprintf(err, errlen, "GetVm: response does not decode as GetVmResponse");
	else if (!resp->vm || strcmp(resp->vm->name, a->vm) != 0)
		snprintf(err, errlen, "GetVm: answer names VM '%s', asked for '%s'",
			 resp->vm ? resp->vm->name : "(none)", a->vm);
	else
		rc = 0;
	if (resp)
		hvmgr__v1__get_vm_response__free_unpacked(resp, NULL);
	return rc;
}

/* --frame: one request and one reply on the client's frame connection. */
static int frame_rpc_call(struct rpc_client *c, char *err, size_t errlen)
{
	struct hv_status st;
	uint8_t *resp;
	size_t len;
	int broken = 0;

	if (frame_call(c->fd, method_of(c->a), c->a->req, c->a->req_len, CALL_DEADLINE_MS, &resp,
		       &len, &broken, &st) != 0) {
		snprintf(err, errlen, "%s: status %d: %s", method_of(c->a), (int)st.code, st.msg);
		return -1;
	}
	int rc = check_bytes(c->a, resp, len, err, errlen);
	free(resp);
	return rc;
}

static int rpc_call(void *client, char *err, size_t errlen)
{
	struct rpc_client *c = client;
	if (c->a->frame)
		return frame_rpc_call(c, err, errlen);
	gpr_timespec deadline = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
					     gpr_time_from_millis(CALL_DEADLINE_MS, GPR_TIMESPAN));
	grpc_call *call = grpc_channel_create_call(c->ch, NULL, GRPC_PROPAGATE_DEFAULTS, c->cq,
						   c->method, NULL, deadline, NULL);
	grpc_slice req = grpc_slice_from_static_buffer(c->a->req, c->a->req_len);
	grpc_byte_buffer *send = grpc_raw_byte_buffer_create(&req, 1);
	struct hvc_unary u;
	int rc = -1;

	hvc_unary_init(&u, send);
	if (grpc_call_start_batch(call, u.ops, 6, c, NULL) != GRPC_CALL_OK) {
		snprintf(err, errlen, "GetVm: cannot start the call");
		grpc_call_cancel(call, NULL);
	} else {
		grpc_event ev;
		do
			ev = grpc_completion_queue_next(c->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC),
							NULL);
		while (ev.type != GRPC_OP_COMPLETE);
		if (!ev.success)
			snprintf(err, errlen, "GetVm: the call failed at the transport");
		else if (u.status != GRPC_STATUS_OK) {
			char *d = grpc_slice_to_c_string(u.details);
			snprintf(err, errlen, "GetVm: status %d: %s", (int)u.status, d);
			gpr_free(d);
		} else
			rc = check_response(c->a, u.in, err, errlen);
	}
	grpc_byte_buffer_destroy(send);
	hvc_unary_release(&u);
	grpc_call_unref(call);
	return rc;
}

static void rpc_close(void *client)
{
	struct rpc_client *c = client;

	if (c->a->frame) {
		close(c->fd);
		free(c);
		return;
	}
	grpc_channel_destroy(c->ch);
	grpc_completion_queue_shutdown(c->cq);
	while (grpc_completion_queue_next(c->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL).type !=
	       GRPC_QUEUE_SHUTDOWN)
		;
	grpc_completion_queue_destroy(c->cq);
	grpc_slice_unref(c->method);
	free(c);
}

/* Connects and makes one call, so that a wrong target or credentials show up
 * as one clear error before any measurement. */
static void *rpc_open(void *arg, unsigned index, char *err, size_t errlen)
{
	struct rpc_client *c = calloc(1, sizeof *c);

	(void)index;
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->a = arg;
	if (c->a->frame) {
		struct hv_status st;
		int r = frame_connect(c->a->target + 5, 5000, &c->fd, &st);
		if (r != 0) {
			snprintf(err, errlen, "%s: %s", c->a->target,
				 r > 0 ? "hv-agent does not speak the local frame protocol" : st.msg);
			free(c);
			return NULL;
		}
	} else {
		c->ch = make_channel(c->a);
		c->cq = grpc_completion_queue_create_for_next(NULL);
		c->method = grpc_slice_from_static_string(method_of(c->a));
	}
	if (rpc_call(c, err, errlen) != 0) {
		size_t n = strlen(err);
		snprintf(err + n, errlen - n, " (first call to %s)", c->a->target);
		rpc_close(c);
		return NULL;
	}
	return c;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: hv-rpc-bench --target TARGET --vm NAME [--tls-dir DIR [--role ROLE]] [options]\n"
		"  --target unix:PATH       hv-agent's unix socket (local credentials)\n"
		"  --target HOST:PORT       hv-agent's mutual-TLS listener (needs --tls-dir)\n"
		"  --tls-dir DIR            ca.crt and the client pair ROLE.crt/ROLE.key\n"
		"  --role ROLE              which client pair (default viewer)\n"
		"  --name-override NAME     expected server name when it differs from HOST\n"
		"  --vm NAME                the VM GetVm asks for\n"
		"  --dry-run                call Shutdown with dry_run (the policy verdict) instead\n"
		"  --list                   call ListVms instead; the answer must name --vm\n"
		"  --expect N               with --list: the answer must hold exactly N VMs\n"
		"  --frame                  the local frame protocol instead of gRPC (unix:PATH only)\n"
		"%s",
		bench_common_usage);
}

static int load_tls(struct rpc_args *a, const char *dir, const char *role)
{
	char path[PATH_MAX];
	struct hv_status st;

	snprintf(path, sizeof path, "%s/ca.crt", dir);
	if (!(a->ca_pem = hvc_read_pem("CA certificate", path, &st)))
		goto fail;
	snprintf(path, sizeof path, "%s/%s.crt", dir, role);
	if (!(a->cert_pem = hvc_read_pem("client certificate", path, &st)))
		goto fail;
	snprintf(path, sizeof path, "%s/%s.key", dir, role);
	if (!(a->key_pem = hvc_read_pem("client key", path, &st)))
		goto fail;
	return 0;
fail:
	fprintf(stderr, "hv-rpc-bench: %s\n", st.msg);
	return -1;
}

int main(int argc, char **argv)
{
	struct rpc_args a = { .expect = -1 };
	struct bench_opts o = { .clients = 1, .seconds = 3, .warmup_seconds = 0.5 };
	struct bench_result res;
	const struct bench_client_ops ops = { rpc_open, rpc_call, rpc_close };
	const char *tls_dir = NULL, *role = "viewer";
	int rc = 1;

	for (int i = 1; i < argc; i++) {
		int r = bench_parse_common(argc, argv, &i, &o);
		if (r < 0)
			return 2;
		if (r > 0)
			continue;
		if (!strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		}
		if (i + 1 < argc && !strcmp(argv[i], "--target"))
			a.target = argv[++i];
		else if (i + 1 < argc && !strcmp(argv[i], "--vm"))
			a.vm = argv[++i];
		else if (!strcmp(argv[i], "--dry-run"))
			a.dry = 1;
		else if (!strcmp(argv[i], "--list"))
			a.list = 1;
		else if (!strcmp(argv[i], "--frame"))
			a.frame = 1;
		else if (i + 1 < argc && !strcmp(argv[i], "--expect")) {
			char *end;
			a.expect = strtol(argv[++i], &end, 10);
			if (*end || a.expect < 0) {
				fprintf(stderr, "hv-rpc-bench: --expect wants a VM count, got '%s'\n",
					argv[i]);
				return 2;
			}
		} else if (i + 1 < argc && !strcmp(argv[i], "--tls-dir"))
			tls_dir = argv[++i];
		else if (i + 1 < argc && !strcmp(argv[i], "--role"))
			role = argv[++i];
		else if (i + 1 < argc && !strcmp(argv[i], "--name-override"))
			a.name_override = argv[++i];
		else {
			fprintf(stderr, "hv-rpc-bench: unknown option or missing value: '%s'\n",
				argv[i]);
			usage(stderr);
			return 2;
		}
	}
	if (a.list && a.dry) {
		fprintf(stderr, "hv-rpc-bench: --list and --dry-run exclude each other\n");
		return 2;
	}
	if (!a.target || !a.vm) {
		fprintf(stderr, "hv-rpc-bench: --target and --vm are required\n");
		usage(stderr);
		return 2;
	}
	int is_unix = strncmp(a.target, "unix:", 5) == 0;
	if (!is_unix && !tls_dir) {
		fprintf(stderr,
			"hv-rpc-bench: a TCP target needs --tls-dir (hv-agent serves TCP only with mutual TLS)\n");
		return 2;
	}
	if (a.frame && !is_unix) {
		fprintf(stderr, "hv-rpc-bench: --frame needs a unix:PATH target\n");
		return 2;
	}
	if (!is_unix && load_tls(&a, tls_dir, role) != 0)
		goto out;

	Hvmgr__V1__VmSelector sel = HVMGR__V1__VM_SELECTOR__INIT;
	Hvmgr__V1__GetVmRequest req = HVMGR__V1__GET_VM_REQUEST__INIT;
	sel.by_case = HVMGR__V1__VM_SELECTOR__BY_NAME;
	sel.name = (char *)a.vm;
	req.vm = &sel;
	Hvmgr__V1__ShutdownRequest dreq = HVMGR__V1__SHUTDOWN_REQUEST__INIT;
	dreq.vm = &sel;
	dreq.dry_run = 1;
	Hvmgr__V1__ListVmsRequest lreq = HVMGR__V1__LIST_VMS_REQUEST__INIT;
	a.req_len = a.list  ? hvmgr__v1__list_vms_request__get_packed_size(&lreq)
		    : a.dry ? hvmgr__v1__shutdown_request__get_packed_size(&dreq)
			    : hvmgr__v1__get_vm_request__get_packed_size(&req);
	a.req = malloc(a.req_len ? a.req_len : 1);
	if (!a.req) {
		fprintf(stderr, "hv-rpc-bench: out of memory\n");
		goto out;
	}
	if (a.list)
		hvmgr__v1__list_vms_request__pack(&lreq, a.req);
	else if (a.dry)
		hvmgr__v1__shutdown_request__pack(&dreq, a.req);
	else
		hvmgr__v1__get_vm_request__pack(&req, a.req);

	grpc_init();
	if (bench_run(&ops, &a, &o, &res) != 0)
		fprintf(stderr, "hv-rpc-bench: %s\n", res.first_error);
	else {
		bench_print(a.frame  ? (a.list  ? "hvagent-frame-listvms"
					: a.dry ? "hvagent-frame-dryrun"
						: "hvagent-frame")
			    : a.list ? (is_unix ? "hvagent-unix-listvms" : "hvagent-tls-listvms")
			    : a.dry  ? (is_unix ? "hvagent-unix-dryrun" : "hvagent-tls-dryrun")
				     : (is_unix ? "hvagent-unix" : "hvagent-tls"),
			    &res);
		rc = res.errors ? 1 : 0;
	}
	grpc_shutdown();
out:
	free(a.req);
	free(a.ca_pem);
	free(a.cert_pem);
	free(a.key_pem);
	return rc;
}
