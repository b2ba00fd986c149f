/*
 * agent_frame.c - the local frame protocol (docs/api.md "The local frame
 * protocol", FRAME-001..) through the real hv-agent on its unix sockets:
 * the same answers as gRPC, the same authorization and audit, bad input
 * refused without changing anything, order of pipelined requests, deadlines,
 * and gRPC still served on the same sockets (the independent Python client).
 *
 * Runs against the test double of hv-core (tests/double/hvcore_double.h),
 * as agent_robust does; a "held" command is one the paused double keeps
 * until the test releases it. Waits are bounded polls, never timing
 * assertions.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "agent_harness.h"
#include "frame.h"
#include "double_vms.h"
#include "hvcore_double.h"
#include "hvmgr/v1/hvmgr.pb-c.h"

#define CLIENT HV_SOURCE_DIR "/tests/integration/agent_robust_client.py"
#define GRPC_SIDE HV_SOURCE_DIR "/tests/integration/agent_frame_client.py"
#define SVC "/hvmgr.v1.Hvmgr/"

static char dir[64], ram[128], work[128];
static struct fakecore *fc;
static struct agent_proc agent;
static int stopped; /* the test stopped hv-agent itself */

static void setup(void)
{
	fc = double_vms_start("/tmp/agent-frame-XXXXXX", dir, sizeof dir, ram, sizeof ram, work,
			      sizeof work);
	static const char *const extra[] = { "--cmd-timeout-ms", "120000", NULL };
	cr_assert_eq(agent_start(&agent, dir, extra), 0, "%s", agent.err);
}

static void teardown(void)
{
	fakecore_pause(fc, false);
	int rc = agent_stop(&agent);
	fakecore_destroy(fc);
	remove_tree(dir);
	if (!stopped)
		cr_expect_eq(rc, 0,
			     "hv-agent exits cleanly (no leak, no error) after the frame calls");
}

TestSuite(agent_frame, .init = setup, .fini = teardown, .timeout = 300);

/* ---- frames ------------------------------------------------------------- */

static int fconnect(const char *sock)
{
	struct hv_status st;
	int fd = -1;

	cr_assert_eq(frame_connect(sock, 10000, &fd, &st), 0, "frame_connect %s: %s", sock, st.msg);
	return fd;
}

static uint8_t *pack(const ProtobufCMessage *m, size_t *len)
{
	*len = protobuf_c_message_get_packed_size(m);
	uint8_t *b = malloc(*len ? *len : 1);
	cr_assert_not_null(b);
	protobuf_c_message_pack(m, b);
	return b;
}

/* One call; returns the code, *resp the reply message (free it). */
static int fcall(int fd, const char *method, const ProtobufCMessage *req, unsigned timeout_ms,
		 uint8_t **resp, size_t *resp_len, struct hv_status *st)
{
	size_t len;
	uint8_t *b = pack(req, &len);
	int broken = 0;
	char path[96];

	snprintf(path, sizeof path, SVC "%s", method);
	int r = frame_call(fd, path, b, len, timeout_ms, resp, resp_len, &broken, st);
	free(b);
	cr_assert_eq(broken, 0, "%s: the connection broke: %s", method, st->msg);
	return r == 0 ? HV_OK : (int)st->code;
}

static char *vm_line(const Hvmgr__V1__Vm *v)
{
	char *s = NULL;
	cr_assert_gt(asprintf(&s, "%s|%u|%s|%d|%d|%u|%u|%llu|%s\n", v->name, v->id, v->uuid,
			      (int)v->state, (int)v->reason, v->vcpus, (unsigned)v->pcpu_mask,
			      (unsigned long long)v->memory_bytes, v->image_version),
		     0);
	return s;
}

static char *frame_getvm(int fd, const char *name)
{
	Hvmgr__V1__VmSelector sel = HVMGR__V1__VM_SELECTOR__INIT;
	Hvmgr__V1__GetVmRequest req = HVMGR__V1__GET_VM_REQUEST__INIT;
	struct hv_status st;
	uint8_t *resp;
	size_t n;

	sel.by_case = HVMGR__V1__VM_SELECTOR__BY_NAME;
	sel.name = (char *)name;
	req.vm = &sel;
	cr_assert_eq(fcall(fd, "GetVm", &req.base, 10000, &resp, &n, &st), HV_OK,
		     "GetVm %s over frames: %s", name, st.msg);
	Hvmgr__V1__GetVmResponse *r = hvmgr__v1__get_vm_response__unpack(NULL, n, resp);
	cr_assert_not_null(r);
	cr_assert_not_null(r->vm);
	char *s = vm_line(r->vm);
	hvmgr__v1__get_vm_response__free_unpacked(r, NULL);
	free(resp);
	return s;
}

/* Reset (or Start) of a VM by name over frames; returns the code. */
static int frame_lifecycle(const char *sock, const char *method, const char *name,
			   struct hv_status *st)
{
	Hvmgr__V1__VmSelector sel = HVMGR__V1__VM_SELECTOR__INIT;
	Hvmgr__V1__ResetRequest req = HVMGR__V1__RESET_REQUEST__INIT; /* Start's layout too */
	uint8_t *resp;
	size_t n;
	int fd = fconnect(sock);

	sel.by_case = HVMGR__V1__VM_SELECTOR__BY_NAME;
	sel.name = (char *)name;
	req.vm = &sel;
	int code = fcall(fd, method, &req.base, 30000, &resp, &n, st);
	free(resp);
	close(fd);
	return code;
}

/* Every audit row as "rpc|identity|outcome" lines, read over frames. */
static char *audit_text(void)
{
	int fd = fconnect(agent.sock);
	size_t cap = 4096, len = 0;
	char *out = calloc(1, cap);
	uint64_t seq = 1;

	cr_assert_not_null(out);
	for (;;) {
		Hvmgr__V1__GetAuditRequest req = HVMGR__V1__GET_AUDIT_REQUEST__INIT;
		struct hv_status st;
		uint8_t *resp;
		size_t n;
		req.from_seq = seq;
		req.max = 1000;
		cr_assert_eq(fcall(fd, "GetAudit", &req.base, 10000, &resp, &n, &st), HV_OK,
			     "GetAudit: %s", st.msg);
		Hvmgr__V1__GetAuditResponse *r = hvmgr__v1__get_audit_response__unpack(NULL, n, resp);
		free(resp);
		cr_assert_not_null(r);
		size_t k = r->n_entries;
		for (size_t i = 0; i < k; i++) {
			const Hvmgr__V1__AuditEntry *e = r->entries[i];
			size_t need = strlen(e->rpc) + strlen(e->identity) + strlen(e->arguments) +
				      strlen(e->outcome) + 5;
			if (len + need + 1 > cap) {
				cap = 2 * (len + need + 1);
				out = realloc(out, cap);
				cr_assert_not_null(out);
			}
			len += (size_t)sprintf(out + len, "%s|%s|%s|%s\n", e->rpc, e->identity,
					       e->arguments, e->outcome);
			seq = e->seq + 1;
		}
		hvmgr__v1__get_audit_response__free_unpacked(r, NULL);
		if (!k)
			break;
	}
	close(fd);
	return out;
}

/* Reset rows with an outcome: a Reset that ran. (Authorization writes a
 * "requested" row before the request is decoded or its deadline checked, for
 * frames as for gRPC; a call admitted but not run gets an outcome row with
 * the arguments "(not run)", counted by resets_not_run.) */
static int reset_rows(const char *text, int not_run)
{
	static const char rpc[] = "hvmgr.v1.Hvmgr/Reset|";
	int n = 0;

	for (const char *p = text; *p;) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		char line[512];
		snprintf(line, sizeof line, "%.*s", (int)len, p);
		if (!strncmp(line, rpc, sizeof rpc - 1) &&
		    !(len >= 10 && !strcmp(line + len - 10, "|requested")) &&
		    (strstr(line, "|(not run)|") != NULL) == (not_run != 0))
			n++;
		p += len + (eol ? 1 : 0);
	}
	return n;
}

static int resets_run(const char *text)
{
	return reset_rows(text, 0);
}

static int resets_not_run(const char *text)
{
	return reset_rows(text, 1);
}

/* ---- raw sockets, for what frame_call never sends ------------------------- */

static int raw_connect(const char *sock)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert_geq(fd, 0);
	cr_assert_lt(strlen(sock), sizeof sa.sun_path);
	memcpy(sa.sun_path, sock, strlen(sock) + 1);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0, "connect: %s",
		     strerror(errno));
	return fd;
}

static void send_bytes(int fd, const void *p, size_t n)
{
	cr_assert_eq(send(fd, p, n, MSG_NOSIGNAL), (ssize_t)n, "send: %s", strerror(errno));
}

/* Reads exactly n bytes (bounded wait); returns 0, or -1 on EOF first. */
static int recv_exact(int fd, uint8_t *p, size_t n)
{
	while (n) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		cr_assert_eq(poll(&pfd, 1, 60000), 1, "no answer from hv-agent in 60 s");
		ssize_t r = recv(fd, p, n, 0);
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* True when hv-agent closed the connection (after anything sent before). */
static int closed_by_agent(int fd)
{
	uint8_t b;
	return recv_exact(fd, &b, 1) == -1;
}

static int raw_hello(const char *sock)
{
	int fd = raw_connect(sock);
	uint8_t h[FRAME_HELLO_LEN];

	send_bytes(fd, frame_hello, sizeof h);
	cr_assert_eq(recv_exact(fd, h, sizeof h), 0, "no hello back");
	cr_assert_eq(memcmp(h, frame_hello, sizeof h), 0);
	return fd;
}

/* Reads one reply; returns its code, text into text (NUL-terminated). */
static int raw_reply(int fd, char *text, size_t text_len, uint8_t **msg, size_t *msg_len)
{
	uint8_t hdr[4];
	struct hv_status st;
	int code;
	const char *t;
	const uint8_t *m;
	size_t tl, ml;

	cr_assert_eq(recv_exact(fd, hdr, 4), 0, "no reply: connection closed");
	uint32_t len = frame_get32(hdr);
	uint8_t *body = malloc(len ? len : 1);
	cr_assert_not_null(body);
	cr_assert_eq(recv_exact(fd, body, len), 0, "reply cut short");
	cr_assert_eq(frame_reply_parse(body, len, &code, &t, &tl, &m, &ml, &st), 0, "%s", st.msg);
	snprintf(text, text_len, "%.*s", (int)tl, t);
	if (msg) {
		*msg = malloc(ml ? ml : 1);
		memcpy(*msg, m, ml);
		*msg_len = ml;
	}
	free(body);
	return code;
}

/* A request frame for method with a raw message. */
static uint8_t *raw_request(const char *method, uint32_t timeout_ms, const uint8_t *msg, size_t len,
			    size_t *out_len)
{
	char path[96];
	struct hv_status st;

	snprintf(path, sizeof path, SVC "%s", method);
	uint8_t *b = frame_request_encode(path, timeout_ms, msg, len, out_len, &st);
	cr_assert_not_null(b, "%s", st.msg);
	return b;
}

/* The Python gRPC client on the same socket: "CODE|details". */
static char *grpc_call(const char *sock, const char *method, const char *vm)
{
	const char *argv[] = { CLIENT, HV_SOURCE_DIR "/proto", work, "call", sock, method, vm, "10",
			       NULL };
	char *out, *err;
	int rc = run_program(HV_SYSTEM_PYTHON, argv, &out, &err);
	cr_assert_eq(rc, 0, "gRPC client: %d\n%s\n%s", rc, out, err);
	free(err);
	return out;
}

static char *grpc_side(const char *mode, const char *sock, const char *vm)
{
	const char *argv[] = { GRPC_SIDE, HV_SOURCE_DIR "/proto", work, mode, sock, vm, NULL };
	char *out, *err;
	int rc = run_program(HV_SYSTEM_PYTHON, argv, &out, &err);
	cr_assert_eq(rc, 0, "gRPC side: %d\n%s\n%s", rc, out, err);
	free(err);
	return out;
}

static void both_protocols_serve(void)
{
	int fd = fconnect(agent.sock);
	char *a = frame_getvm(fd, "linux");
	close(fd);
	cr_expect(strncmp(a, "linux|", 6) == 0, "frames still served: %s", a);
	free(a);
	char *g = grpc_call(agent.sock, "GetVm", "linux");
	cr_expect(strncmp(g, "OK|", 3) == 0, "gRPC still served: %s", g);
	free(g);
}

/* ---- tests -------------------------------------------------------------- */

/* FRAME-001, FRAME-010: the first byte picks the protocol on the same socket;
 * GetVm and ListVms answer over frames what they answer over gRPC. */
Test(agent_frame, get_and_list_answer_as_grpc_does_on_both_sockets)
{
	const char *socks[] = { agent.sock, agent.ro_sock };

	for (int s = 0; s < 2; s++) {
		int fd = fconnect(socks[s]);
		for (int v = 0; v < 2; v++) {
			const char *name = v ? "rtos" : "linux";
			char *f = frame_getvm(fd, name);
			char *g = grpc_side("getvm", socks[s], name);
			cr_expect_str_eq(f, g, "GetVm %s over frames vs gRPC", name);
			free(f);
			free(g);
		}
		Hvmgr__V1__ListVmsRequest req = HVMGR__V1__LIST_VMS_REQUEST__INIT;
		struct hv_status st;
		uint8_t *resp;
		size_t n;
		cr_assert_eq(fcall(fd, "ListVms", &req.base, 10000, &resp, &n, &st), HV_OK, "%s",
			     st.msg);
		Hvmgr__V1__ListVmsResponse *r = hvmgr__v1__list_vms_response__unpack(NULL, n, resp);
		cr_assert_not_null(r);
		char all[1024] = "";
		for (size_t i = 0; i < r->n_vms; i++) {
			char *l = vm_line(r->vms[i]);
			strncat(all, l, sizeof all - strlen(all) - 1);
			free(l);
		}
		hvmgr__v1__list_vms_response__free_unpacked(r, NULL);
		free(resp);
		char *g = grpc_side("listvms", socks[s], "-");
		cr_expect_str_eq(all, g, "ListVms over frames vs gRPC");
		free(g);
		close(fd);
	}
}

/* FRAME-009: the read-only socket refuses a change over frames as over gRPC,
 * and the audit log has the refusal; a change on the read-write socket is
 * audited with the caller's uid, gid and pid. */
Test(agent_frame, authorization_and_audit_as_grpc)
{
	struct hv_status st;
	char want[160];

	cr_expect_eq(frame_lifecycle(agent.ro_sock, "Reset", "linux", &st), HV_PERMISSION_DENIED,
		     "Reset on the read-only socket: %s", st.msg);
	snprintf(want, sizeof want, "Reset|unix-ro:uid=%u,gid=%u,pid=%d|", (unsigned)getuid(),
		 (unsigned)getgid(), (int)getpid());
	char *a = audit_text();
	cr_expect(strstr(a, want) != NULL, "the refusal's audit row (%s) in:\n%s", want, a);
	free(a);

	int code = frame_lifecycle(agent.sock, "Start", "rtos", &st);
	cr_expect_eq(code, HV_OK, "Start rtos on the read-write socket: %s", st.msg);
	snprintf(want, sizeof want, "Start|unix-rw:uid=%u,gid=%u,pid=%d|vm=name:rtos|OK",
		 (unsigned)getuid(), (unsigned)getgid(), (int)getpid());
	a = audit_text();
	cr_expect(strstr(a, want) != NULL, "the Start's audit row (%s) in:\n%s", want, a);
	free(a);
}

/* FRAME-002..FRAME-006: bad input is refused, runs nothing (no Reset with an
 * outcome in the audit), and hv-agent still serves both protocols. */
Test(agent_frame, bad_input_changes_nothing)
{
	char text[1100];

	/* Wrong magic: closed without a word (FRAME-002). */
	int fd = raw_connect(agent.sock);
	send_bytes(fd, "\0HVXXX\0\1", 8);
	cr_expect(closed_by_agent(fd), "a wrong hello is closed");
	close(fd);

	/* Another version: hv-agent's hello, then closed (FRAME-002). */
	fd = raw_connect(agent.sock);
	uint8_t v2[8];
	memcpy(v2, frame_hello, 8);
	v2[7] = FRAME_VERSION + 1;
	send_bytes(fd, v2, 8);
	uint8_t h[8];
	cr_expect_eq(recv_exact(fd, h, 8), 0, "hello back for another version");
	cr_expect_eq(memcmp(h, frame_hello, 8), 0);
	cr_expect(closed_by_agent(fd), "then closed");
	close(fd);

	/* A length over the limit: RESOURCE_EXHAUSTED naming it, closed
	 * without reading the body (FRAME-005). */
	fd = raw_hello(agent.sock);
	uint8_t big[4];
	frame_put32(big, FRAME_MAX_REQ_BODY + 1);
	send_bytes(fd, big, 4);
	cr_expect_eq(raw_reply(fd, text, sizeof text, NULL, NULL), HV_RESOURCE_EXHAUSTED, "%s", text);
	char lim[32];
	snprintf(lim, sizeof lim, "%d", FRAME_MAX_REQ_BODY);
	cr_expect(strstr(text, lim) != NULL, "the limit is named: %s", text);
	cr_expect(closed_by_agent(fd));
	close(fd);

	/* Path length 0, and a path running past the end: INVALID_ARGUMENT,
	 * closed (FRAME-003). */
	static const uint8_t nopath[] = { 0, 0, 0, 5, 0, 0, 0, 0, 0 };
	static const uint8_t pastend[] = { 0, 0, 0, 7, 0, 0, 0, 0, 40, '/', 'x' };
	const uint8_t *bad[] = { nopath, pastend };
	size_t badlen[] = { sizeof nopath, sizeof pastend };
	for (int i = 0; i < 2; i++) {
		fd = raw_hello(agent.sock);
		send_bytes(fd, bad[i], badlen[i]);
		cr_expect_eq(raw_reply(fd, text, sizeof text, NULL, NULL), HV_INVALID_ARGUMENT,
			     "%s", text);
		cr_expect(closed_by_agent(fd));
		close(fd);
	}

	/* An unknown method and a streaming one: UNIMPLEMENTED, and the
	 * connection still serves (FRAME-004). */
	fd = raw_hello(agent.sock);
	size_t n;
	uint8_t *req = raw_request("NoSuchMethod", 0, NULL, 0, &n);
	send_bytes(fd, req, n);
	free(req);
	cr_expect_eq(raw_reply(fd, text, sizeof text, NULL, NULL), HV_UNIMPLEMENTED, "%s", text);
	cr_expect(strstr(text, SVC "NoSuchMethod is not served by hv-agent") != NULL, "%s", text);
	req = raw_request("WatchEvents", 0, NULL, 0, &n);
	send_bytes(fd, req, n);
	free(req);
	cr_expect_eq(raw_reply(fd, text, sizeof text, NULL, NULL), HV_UNIMPLEMENTED, "%s", text);
	cr_expect(strstr(text, "WatchEvents") && strstr(text, "gRPC"), "%s", text);
	char *ok = frame_getvm(fd, "linux");
	cr_expect(strncmp(ok, "linux|", 6) == 0);
	free(ok);

	/* A malformed message, a NUL in a string, invalid UTF-8: each
	 * INVALID_ARGUMENT, nothing run (FRAME-006). ResetRequest{vm{name}}. */
	static const uint8_t malformed[] = { 0x0a, 0x05, 0x0a, 0x09, 'l' };
	static const uint8_t nul[] = { 0x0a, 0x07, 0x0a, 0x05, 'l', 'i', 0, 'u', 'x' };
	static const uint8_t utf8[] = { 0x0a, 0x04, 0x0a, 0x02, 0xff, 0xfe };
	const uint8_t *msgs[] = { malformed, nul, utf8 };
	size_t mlen[] = { sizeof malformed, sizeof nul, sizeof utf8 };
	for (int i = 0; i < 3; i++) {
		req = raw_request("Reset", 0, msgs[i], mlen[i], &n);
		send_bytes(fd, req, n);
		free(req);
		cr_expect_eq(raw_reply(fd, text, sizeof text, NULL, NULL), HV_INVALID_ARGUMENT,
			     "message %d: %s", i, text);
	}
	close(fd);

	/* A Reset cut short by EOF: closed, not run (FRAME-003). */
	fd = raw_hello(agent.sock);
	static const uint8_t sel[] = { 0x0a, 0x07, 0x0a, 0x05, 'l', 'i', 'n', 'u', 'x' };
	req = raw_request("Reset", 0, sel, sizeof sel, &n);
	send_bytes(fd, req, n - 1);
	free(req);
	shutdown(fd, SHUT_WR);
	cr_expect(closed_by_agent(fd), "a cut frame gets no reply");
	close(fd);

	/* A connection that closes before its first byte. */
	fd = raw_connect(agent.sock);
	close(fd);

	both_protocols_serve();
	char *after = audit_text();
	cr_expect_eq(resets_run(after), 0, "no Reset ran:\n%s", after);
	/* The three undecodable Resets were admitted ("requested") and each got
	 * its outcome: not run, INVALID_ARGUMENT (REQ-SAF-16). */
	cr_expect_eq(resets_not_run(after), 3, "each admitted Reset has its outcome:\n%s", after);
	cr_expect_not_null(strstr(after, "|(not run)|INVALID_ARGUMENT"), "%s", after);
	free(after);
}

/* FRAME-007: two requests in one write get two replies, in order. */
Test(agent_frame, pipelined_requests_are_answered_in_order)
{
	static const uint8_t linux_sel[] = { 0x0a, 0x07, 0x0a, 0x05, 'l', 'i', 'n', 'u', 'x' };
	static const uint8_t rtos_sel[] = { 0x0a, 0x06, 0x0a, 0x04, 'r', 't', 'o', 's' };
	size_t n1, n2;
	uint8_t *a = raw_request("GetVm", 10000, linux_sel, sizeof linux_sel, &n1);
	uint8_t *b = raw_request("GetVm", 10000, rtos_sel, sizeof rtos_sel, &n2);
	uint8_t *both = malloc(n1 + n2);
	memcpy(both, a, n1);
	memcpy(both + n1, b, n2);
	int fd = raw_hello(agent.sock);
	send_bytes(fd, both, n1 + n2);
	free(a);
	free(b);
	free(both);
	const char *want[] = { "linux", "rtos" };
	for (int i = 0; i < 2; i++) {
		char text[1100];
		uint8_t *msg;
		size_t len;
		cr_assert_eq(raw_reply(fd, text, sizeof text, &msg, &len), HV_OK, "%s", text);
		Hvmgr__V1__GetVmResponse *r = hvmgr__v1__get_vm_response__unpack(NULL, len, msg);
		cr_assert(r && r->vm);
		cr_expect_str_eq(r->vm->name, want[i], "reply %d", i);
		hvmgr__v1__get_vm_response__free_unpacked(r, NULL);
		free(msg);
	}
	close(fd);
}

/* FRAME-008: a request whose deadline passes while it waits behind another
 * on its connection is answered DEADLINE_EXCEEDED and not run. */
Test(agent_frame, deadline_passed_while_waiting_is_not_run)
{
	static const uint8_t rtos_sel[] = { 0x0a, 0x06, 0x0a, 0x04, 'r', 't', 'o', 's' };
	static const uint8_t linux_sel[] = { 0x0a, 0x07, 0x0a, 0x05, 'l', 'i', 'n', 'u', 'x' };
	size_t n1, n2;
	uint8_t *a = raw_request("Start", 60000, rtos_sel, sizeof rtos_sel, &n1);
	uint8_t *b = raw_request("Reset", 1, linux_sel, sizeof linux_sel, &n2);
	uint8_t *both = malloc(n1 + n2);
	memcpy(both, a, n1);
	memcpy(both + n1, b, n2);
	fakecore_pause(fc, true);
	int fd = raw_hello(agent.sock);
	send_bytes(fd, both, n1 + n2);
	free(a);
	free(b);
	free(both);
	WAIT_FOR(double_outstanding(fc), "the Start to reach hv-core");
	/* While that connection's worker waits for hv-core, another serves. */
	int other = fconnect(agent.ro_sock);
	char *line = frame_getvm(other, "linux");
	cr_expect(strncmp(line, "linux|", 6) == 0, "another connection is served: %s", line);
	free(line);
	close(other);
	usleep(20000); /* past the Reset's 1 ms, whatever the machine */
	fakecore_pause(fc, false);
	char text[1100];
	int code = raw_reply(fd, text, sizeof text, NULL, NULL);
	cr_expect_eq(code, HV_OK, "the held Start: %s", text);
	cr_expect_eq(raw_reply(fd, text, sizeof text, NULL, NULL), HV_DEADLINE_EXCEEDED, "%s", text);
	close(fd);
	char *after = audit_text();
	cr_expect_eq(resets_run(after), 0, "the Reset did not run:\n%s", after);
	free(after);
}

/* FRAME-001: a connection that has not said which protocol it speaks holds
 * up no one: frames and gRPC are served meanwhile on both sockets. */
Test(agent_frame, a_silent_connection_holds_up_nobody)
{
	int silent = raw_connect(agent.sock);
	int silent_ro = raw_connect(agent.ro_sock);

	both_protocols_serve();
	int fd = fconnect(agent.ro_sock);
	char *a = frame_getvm(fd, "rtos");
	cr_expect(strncmp(a, "rtos|", 5) == 0, "%s", a);
	free(a);
	close(fd);
	close(silent);
	close(silent_ro);
}

/* FRAME-011: SIGTERM with a frame connection open (and one not yet
 * selected): hv-agent closes both and exits cleanly (no leak under ASan). */
Test(agent_frame, stop_closes_frame_connections)
{
	int fd = fconnect(agent.sock);
	char *a = frame_getvm(fd, "linux");
	free(a);
	int silent = raw_connect(agent.sock);

	stopped = 1;
	cr_expect_eq(agent_stop(&agent), 0, "hv-agent exits cleanly");
	cr_expect(closed_by_agent(fd), "the frame connection is closed");
	cr_expect(closed_by_agent(silent), "the connection not yet selected is closed");
	close(fd);
	close(silent);
}

/* FRAME-001: a connection silent for 10 s goes to gRPC, which greets it
 * with HTTP/2's SETTINGS frame, as it did before frames existed. */
Test(agent_frame, a_silent_connection_goes_to_grpc)
{
	int fd = raw_connect(agent.ro_sock);
	uint8_t hdr[9];

	cr_assert_eq(recv_exact(fd, hdr, sizeof hdr), 0, "gRPC's greeting");
	cr_expect_eq(hdr[3], 0x04, "an HTTP/2 SETTINGS frame (type %u)", hdr[3]);
	close(fd);
	both_protocols_serve();
}

/* FRAME-007: a client that sends requests and does not read its replies
 * holds up only its own connection; its replies all come, in order, once it
 * reads. */
Test(agent_frame, a_client_that_does_not_read_holds_up_only_itself)
{
	size_t one;
	uint8_t *req = raw_request("ListVms", 0, NULL, 0, &one);
	int fd = raw_hello(agent.sock);
	int sent = 0;
	size_t off = 0;

	/* Send until neither side takes more: hv-agent's replies fill the
	 * socket and it stops reading this connection. */
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLOUT };
		if (sent >= 20000 || poll(&pfd, 1, 200) != 1)
			break;
		ssize_t w = send(fd, req + off, one - off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w <= 0)
			continue;
		off += (size_t)w;
		if (off == one) {
			off = 0;
			sent++;
		}
	}
	if (off) { /* finish the request begun */
		while (off < one) {
			ssize_t w = send(fd, req + off, one - off, MSG_NOSIGNAL);
			cr_assert_gt(w, 0);
			off += (size_t)w;
		}
		sent++;
	}
	free(req);
	cr_assert_gt(sent, 100, "requests sent: %d", sent);

	both_protocols_serve();

	char text[1100];
	for (int i = 0; i < sent; i++) {
		uint8_t *msg;
		size_t len;
		cr_assert_eq(raw_reply(fd, text, sizeof text, &msg, &len), HV_OK, "reply %d: %s", i,
			     text);
		free(msg);
	}
	close(fd);
}

/* FRAME-002, FRAME-003: a hello and a request that arrive in pieces are
 * put together. */
Test(agent_frame, hello_and_request_in_pieces)
{
	static const uint8_t sel[] = { 0x0a, 0x06, 0x0a, 0x04, 'r', 't', 'o', 's' };
	int fd = raw_connect(agent.sock);
	uint8_t h[FRAME_HELLO_LEN];
	size_t n;

	send_bytes(fd, frame_hello, 3);
	usleep(10000);
	send_bytes(fd, frame_hello + 3, FRAME_HELLO_LEN - 3);
	cr_assert_eq(recv_exact(fd, h, sizeof h), 0);
	cr_assert_eq(memcmp(h, frame_hello, sizeof h), 0);
	uint8_t *req = raw_request("GetVm", 10000, sel, sizeof sel, &n);
	for (size_t i = 0; i < n; i += 7) {
		send_bytes(fd, req + i, n - i < 7 ? n - i : 7);
		usleep(2000);
	}
	free(req);
	char text[1100];
	uint8_t *msg;
	size_t len;
	cr_assert_eq(raw_reply(fd, text, sizeof text, &msg, &len), HV_OK, "%s", text);
	Hvmgr__V1__GetVmResponse *r = hvmgr__v1__get_vm_response__unpack(NULL, len, msg);
	cr_assert(r && r->vm);
	cr_expect_str_eq(r->vm->name, "rtos");
	hvmgr__v1__get_vm_response__free_unpacked(r, NULL);
	free(msg);
	close(fd);
}
