/*
 * hvctl_frame_test.c - hvctl's client (cli/client.c) over the local frame
 * protocol, against a test double server in a thread on a unix socket: the
 * fallback to gRPC, the failures that must give a clear error and no crash,
 * and the call that gets its reply (docs/api.md "hvctl and the frame
 * protocol", FRAME-020..FRAME-026).
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "client.h"
#include "frame.h"
#include "hvmgr/v1/hvmgr.pb-c.h"

#define METHOD "/hvmgr.v1.Hvmgr/GetVm"

/* What the double does on each connection it accepts. */
enum act {
	ACT_SETTINGS,  /* answers the hello with an HTTP/2 SETTINGS frame */
	ACT_SILENT,    /* says nothing until the client goes */
	ACT_CLOSE,     /* reads the hello and closes */
	ACT_MALFORMED, /* a reply too short for its header */
	ACT_CUT,       /* a reply cut by the end of the connection */
	ACT_TOO_LONG,  /* a reply announced longer than FRAME_MAX_REPLY_BODY */
	ACT_NO_REPLY,  /* reads the request, never replies */
	ACT_OK,        /* a GetVmResponse naming the VM "vm-a" */
	ACT_ERROR,     /* NOT_FOUND with a text */
};

static struct {
	char dir[64], path[96];
	int lfd;
	enum act acts[4]; /* per connection, in order */
	int nacts;
	pthread_t th;
	char method_seen[FRAME_MAX_PATH + 1];
} dbl;

static int read_n(int fd, uint8_t *p, size_t n)
{
	while (n) {
		ssize_t r = read(fd, p, n);
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static void write_n(int fd, const void *p, size_t n)
{
	if (send(fd, p, n, MSG_NOSIGNAL) != (ssize_t)n)
		return; /* the client went: nothing more to say */
}

/* Reads the hello and one request; 0 when both came. */
static int read_request(int fd)
{
	uint8_t hello[FRAME_HELLO_LEN], hdr[FRAME_LEN_BYTES];

	if (read_n(fd, hello, sizeof hello) != 0 || read_n(fd, hdr, sizeof hdr) != 0)
		return -1;
	uint32_t len = frame_get32(hdr);
	uint8_t *body = malloc(len ? len : 1);
	int rc = read_n(fd, body, len);
	if (rc == 0 && len > FRAME_REQ_FIXED)
		snprintf(dbl.method_seen, sizeof dbl.method_seen, "%.*s", body[4],
			 (const char *)body + FRAME_REQ_FIXED);
	free(body);
	return rc;
}

static void drain(int fd)
{
	uint8_t b[256];
	while (read(fd, b, sizeof b) > 0)
		;
}

static void serve_one(int fd, enum act a)
{
	uint8_t hdr[16];
	size_t n;

	if (a == ACT_SETTINGS) {
		/* length 0, type 4 (SETTINGS), flags 0, stream 0 */
		static const uint8_t settings[9] = { 0, 0, 0, 4, 0, 0, 0, 0, 0 };
		write_n(fd, settings, sizeof settings);
		drain(fd);
		return;
	}
	if (a == ACT_SILENT) {
		drain(fd);
		return;
	}
	if (a == ACT_CLOSE) {
		uint8_t hello[FRAME_HELLO_LEN];
		read_n(fd, hello, sizeof hello); /* under --grpc, EOF: only a probe */
		return;
	}
	write_n(fd, frame_hello, FRAME_HELLO_LEN);
	if (read_request(fd) != 0)
		return;
	switch (a) {
	case ACT_MALFORMED:
		frame_put32(hdr, 3);
		memset(hdr + 4, 0, 3);
		write_n(fd, hdr, 7);
		drain(fd);
		break;
	case ACT_CUT:
		frame_put32(hdr, 100);
		memset(hdr + 4, 0, 10);
		write_n(fd, hdr, 14);
		break;
	case ACT_TOO_LONG:
		frame_put32(hdr, FRAME_MAX_REPLY_BODY + 1);
		write_n(fd, hdr, 4);
		drain(fd);
		break;
	case ACT_NO_REPLY:
		drain(fd);
		break;
	case ACT_OK: {
		Hvmgr__V1__Vm vm = HVMGR__V1__VM__INIT;
		Hvmgr__V1__GetVmResponse r = HVMGR__V1__GET_VM_RESPONSE__INIT;
		vm.name = "vm-a";
		r.vm = &vm;
		size_t mlen = hvmgr__v1__get_vm_response__get_packed_size(&r);
		uint8_t *m = malloc(mlen ? mlen : 1);
		hvmgr__v1__get_vm_response__pack(&r, m);
		uint8_t *out = frame_reply_encode(HV_OK, NULL, m, mlen, &n);
		write_n(fd, out, n);
		free(out);
		free(m);
		drain(fd);
		break;
	}
	case ACT_ERROR: {
		uint8_t *out = frame_reply_encode(HV_NOT_FOUND, "no VM named vm-z", NULL, 0, &n);
		write_n(fd, out, n);
		free(out);
		drain(fd);
		break;
	}
	default:
		break;
	}
}

static void *serve(void *arg)
{
	(void)arg;
	for (int i = 0; i < dbl.nacts; i++) {
		int fd = accept(dbl.lfd, NULL, NULL);
		if (fd < 0)
			break;
		serve_one(fd, dbl.acts[i]);
		close(fd);
	}
	return NULL;
}

/* Starts the double with one act per connection it will accept. */
static void start(int n, const enum act *acts)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	snprintf(dbl.dir, sizeof dbl.dir, "/tmp/hvctl-frame-XXXXXX");
	cr_assert_not_null(mkdtemp(dbl.dir));
	snprintf(dbl.path, sizeof dbl.path, "%s/hv-agent.sock", dbl.dir);
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", dbl.path);
	dbl.lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert(dbl.lfd >= 0);
	cr_assert_eq(bind(dbl.lfd, (struct sockaddr *)&sa, sizeof sa), 0);
	cr_assert_eq(listen(dbl.lfd, 4), 0);
	memcpy(dbl.acts, acts, (size_t)n * sizeof *acts);
	dbl.nacts = n;
	cr_assert_eq(pthread_create(&dbl.th, NULL, serve, NULL), 0);
}

static void stop(void)
{
	shutdown(dbl.lfd, SHUT_RDWR);
	close(dbl.lfd);
	pthread_join(dbl.th, NULL);
	unlink(dbl.path);
	rmdir(dbl.dir);
}

static struct hvc *connect_double(struct hv_status *st)
{
	const struct hvc_opts o = { .uri = dbl.path };
	return hvc_connect(&o, st);
}

/* One GetVm call; its result, *resp freed unless wanted. */
static int get_vm(struct hvc *c, unsigned timeout_ms, Hvmgr__V1__GetVmResponse **out,
		  struct hv_status *st)
{
	Hvmgr__V1__VmSelector sel = HVMGR__V1__VM_SELECTOR__INIT;
	Hvmgr__V1__GetVmRequest req = HVMGR__V1__GET_VM_REQUEST__INIT;
	ProtobufCMessage *resp = NULL;

	sel.by_case = HVMGR__V1__VM_SELECTOR__BY_NAME;
	sel.name = "vm-a";
	req.vm = &sel;
	int rc = hvc_call(c, METHOD, &req.base, &hvmgr__v1__get_vm_response__descriptor, &resp,
			  timeout_ms, st);
	if (out)
		*out = (Hvmgr__V1__GetVmResponse *)resp;
	else if (resp)
		protobuf_c_message_free_unpacked(resp, NULL);
	return rc;
}

/* A double that answers the hello with `act`: hvctl connects over gRPC. */
static void expect_grpc_fallback(enum act act)
{
	struct hv_status st;
	const enum act a[] = { act };

	start(1, a);
	struct hvc *c = connect_double(&st);
	cr_assert_not_null(c, "%s", st.msg);
	cr_expect_not(hvc_uses_frames(c));
	hvc_close(c);
	stop();
}

/* FRAME-020: an HTTP/2 server's SETTINGS in place of the hello: gRPC. */
Test(hvctl_frame, settings_falls_back_to_grpc_double)
{
	expect_grpc_fallback(ACT_SETTINGS);
}

/* FRAME-020: a server that says nothing within the hello's wait: gRPC. */
Test(hvctl_frame, silence_falls_back_to_grpc_double)
{
	expect_grpc_fallback(ACT_SILENT);
}

/* FRAME-021: closed at the hello: an error, no fallback. */
Test(hvctl_frame, close_at_hello_is_an_error_double)
{
	struct hv_status st;
	const enum act a[] = { ACT_CLOSE };

	start(1, a);
	struct hvc *c = connect_double(&st);
	cr_expect_null(c);
	cr_expect_eq(st.code, HV_UNAVAILABLE);
	cr_expect(strstr(st.msg, "cannot reach hv-agent") && strstr(st.msg, dbl.path) &&
			  strstr(st.msg, "closed the connection"),
		  "%s", st.msg);
	hvc_close(c);
	stop();
}

/* FRAME-021: the messages of the gRPC path for a missing socket and for
 * one nobody serves. */
Test(hvctl_frame, missing_and_stale_socket_messages_double)
{
	struct hv_status st;
	const struct hvc_opts o = { .uri = "/nonexistent/hv-agent.sock" };

	cr_expect_null(hvc_connect(&o, &st));
	cr_expect_eq(st.code, HV_UNAVAILABLE);
	cr_expect(strstr(st.msg, "cannot reach hv-agent: /nonexistent/hv-agent.sock") &&
			  strstr(st.msg, "is hv-agent running? see --connect"),
		  "%s", st.msg);

	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	cr_assert_not_null(mkdtemp(strcpy(dbl.dir, "/tmp/hvctl-frame-XXXXXX")));
	snprintf(dbl.path, sizeof dbl.path, "%s/hv-agent.sock", dbl.dir);
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", dbl.path);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	close(fd); /* bound, never listening: connections are refused */
	cr_expect_null(connect_double(&st));
	cr_expect_eq(st.code, HV_UNAVAILABLE);
	cr_expect(strstr(st.msg, "a stale socket: is hv-agent running?"), "%s", st.msg);
	unlink(dbl.path);
	rmdir(dbl.dir);
}

/* FRAME-022: a reply and a refusal, as over gRPC. */
Test(hvctl_frame, reply_and_refusal_double)
{
	struct hv_status st;
	Hvmgr__V1__GetVmResponse *r = NULL;
	const enum act a[] = { ACT_OK };

	start(1, a);
	struct hvc *c = connect_double(&st);
	cr_assert_not_null(c, "%s", st.msg);
	cr_expect(hvc_uses_frames(c));
	cr_assert_eq(get_vm(c, 1000, &r, &st), 0, "%s", st.msg);
	cr_assert_not_null(r);
	cr_assert_not_null(r->vm);
	cr_expect_str_eq(r->vm->name, "vm-a");
	cr_expect_str_eq(dbl.method_seen, METHOD);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	hvc_close(c);
	stop();

	const enum act b[] = { ACT_ERROR };
	start(1, b);
	c = connect_double(&st);
	cr_assert_not_null(c, "%s", st.msg);
	cr_expect_eq(get_vm(c, 1000, NULL, &st), -1);
	cr_expect_eq(st.code, HV_NOT_FOUND);
	cr_expect_str_eq(st.msg, "no VM named vm-z");
	hvc_close(c);
	stop();
}

/* FRAME-023: a reply too short for its header: INTERNAL naming the method;
 * the next call opens a new connection and gets its reply. */
Test(hvctl_frame, malformed_reply_then_reconnect_double)
{
	struct hv_status st;
	Hvmgr__V1__GetVmResponse *r = NULL;
	const enum act a[] = { ACT_MALFORMED, ACT_OK };

	start(2, a);
	struct hvc *c = connect_double(&st);
	cr_assert_not_null(c, "%s", st.msg);
	cr_expect_eq(get_vm(c, 1000, NULL, &st), -1);
	cr_expect_eq(st.code, HV_INTERNAL);
	cr_expect(strstr(st.msg, METHOD) && strstr(st.msg, "too short"), "%s", st.msg);
	cr_assert_eq(get_vm(c, 1000, &r, &st), 0, "%s", st.msg);
	cr_expect_str_eq(r->vm->name, "vm-a");
	protobuf_c_message_free_unpacked(&r->base, NULL);
	hvc_close(c);
	stop();
}

/* One call to a double that answers with `act`: it fails with `code` and a
 * message naming the method and containing `needle`. */
static void expect_failed_call(enum act act, unsigned timeout_ms, enum hv_code code,
			       const char *needle)
{
	struct hv_status st;
	const enum act a[] = { act };

	start(1, a);
	struct hvc *c = connect_double(&st);
	cr_assert_not_null(c, "%s", st.msg);
	cr_expect_eq(get_vm(c, timeout_ms, NULL, &st), -1);
	cr_expect_eq(st.code, code, "%d %s", st.code, st.msg);
	cr_expect(strstr(st.msg, METHOD) && strstr(st.msg, needle), "%s", st.msg);
	hvc_close(c);
	stop();
}

/* FRAME-023: a reply cut by the end of the connection. */
Test(hvctl_frame, reply_cut_by_eof_double)
{
	expect_failed_call(ACT_CUT, 1000, HV_UNAVAILABLE, "closed the connection");
}

/* FRAME-023: a reply announced longer than FRAME_MAX_REPLY_BODY. */
Test(hvctl_frame, reply_too_long_double)
{
	expect_failed_call(ACT_TOO_LONG, 1000, HV_INTERNAL, "claims");
}

/* FRAME-024: no reply within the timeout and the grace. */
Test(hvctl_frame, no_reply_is_deadline_exceeded_double)
{
	expect_failed_call(ACT_NO_REPLY, 100, HV_DEADLINE_EXCEEDED, "");
}

/* FRAME-026: --grpc never sends the hello (the double would refuse it). */
Test(hvctl_frame, grpc_option_skips_frames_double)
{
	struct hv_status st;
	const enum act a[] = { ACT_CLOSE };

	start(1, a);
	const struct hvc_opts o = { .uri = dbl.path, .grpc = true };
	struct hvc *c = hvc_connect(&o, &st);
	cr_assert_not_null(c, "%s", st.msg);
	cr_expect_not(hvc_uses_frames(c));
	hvc_close(c);
	stop();
}
