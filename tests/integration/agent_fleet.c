/*
 * agent_fleet.c - END-TO-END through the fleet link (docs/fleet.md): the
 * real hv-core under QEMU, the real hv-agent dialling out to a real
 * Mosquitto broker started here on a free loopback port with the fleet PKI,
 * and the real hvctl --fleet (or cli/fleet_client.c for requests hvctl would
 * never send). No test double anywhere.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include <mosquitto.h>
#include <mqtt_protocol.h>

#include "agent_stack.h"
#include "client.h"
#include "fleet_broker.h"
#include "fleet_client.h"
#include "fleet_envelope.h"
#include "hvmgr/v1/fleet.pb-c.h"
#include "hvmgr/v1/hvmgr.pb-c.h"

#define VEHICLE "test-car"
#define BUFFER "8"

static struct hvq q;
static struct agent_proc agent;
static struct fleet_broker broker;
static char uri[320], url[64], pki[280], ca[320], admin_crt[320], admin_key[320];
static char *out, *err;

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static int run(const char *const *args)
{
	free(out);
	free(err);
	out = err = NULL;
	return run_hvctl(args, &out, &err);
}

/* hvctl over the agent's unix socket. */
#define LOCAL(...) run((const char *const[]){ "--connect", uri, __VA_ARGS__, NULL })

static char who_crt[320], who_key[320];
/* hvctl through the broker as fleet-ROLE. */
static int fleet_as(const char *role, const char *const *args)
{
	const char *argv[32] = { "--fleet", url,      "--vehicle", VEHICLE, "--ca",
				 ca,        "--cert", who_crt,     "--key", who_key };
	size_t n = 10;
	snprintf(who_crt, sizeof who_crt, "%s/fleet-%s.crt", pki, role);
	snprintf(who_key, sizeof who_key, "%s/fleet-%s.key", pki, role);
	for (size_t i = 0; args[i] && n < 31; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	return run(argv);
}
#define FLEET(role, ...) fleet_as(role, (const char *const[]){ __VA_ARGS__, NULL })

/* Health snapshots off (one test turns them on): the events test counts
 * what the small buffer holds. */
static const char *const agent_args[] = { "--fleet",
					  url,
					  "--vehicle",
					  VEHICLE,
					  "--fleet-buffer",
					  BUFFER,
					  "--fleet-backoff-max-ms",
					  "1000",
					  "--fleet-telemetry-ms",
					  "0",
					  NULL };

static void setup_with(const struct hvq_opts *opts)
{
	out = err = NULL;
	memset(&broker, 0, sizeof broker);
	agent_stack_start_core(&q, opts);
	snprintf(pki, sizeof pki, "%s/pki", q.dir);
	snprintf(ca, sizeof ca, "%s/fleet-ca.crt", pki);
	snprintf(admin_crt, sizeof admin_crt, "%s/fleet-admin.crt", pki);
	snprintf(admin_key, sizeof admin_key, "%s/fleet-admin.key", pki);
	cr_assert_eq(run((const char *const[]){ "pki", "fleet-init", "--dir", pki, "--vehicle",
						VEHICLE, NULL }),
		     0, "%s", err);
	cr_assert_eq(fleet_broker_start(&broker, q.dir, pki, 0), 0, "%s", broker.err);
	snprintf(url, sizeof url, "mqtts://127.0.0.1:%d", broker.port);
	cr_assert_eq(agent_start(&agent, q.dir, agent_args), 0, "%s", agent.err);
	snprintf(uri, sizeof uri, "unix://%s", agent.sock);
}

static void setup(void)
{
	setup_with(NULL);
}

static void teardown(void)
{
	agent_stack_stop(&q, &agent);
	fleet_broker_stop(&broker);
	free(out);
	free(err);
}

TestSuite(agent_fleet, .init = setup, .fini = teardown, .timeout = 300);

/* The agent connects in the background: wait (bounded) for its first reply. */
static void wait_vehicle_online(void)
{
	for (int i = 0; i < 60; i++) {
		if (FLEET("viewer", "health") == 0)
			return;
		sleep_ms(500);
	}
	cr_assert_fail("vehicle never answered through the broker: %s", err);
}

Test(agent_fleet, hvctl_reaches_hv_core_through_the_broker)
{
	wait_vehicle_online();
	cr_assert_eq(FLEET("viewer", "list", "--all"), 0, "%s", err);
	cr_assert_not_null(strstr(out, " Id   Name"), "%s", out);
	cr_assert_not_null(strstr(out, "rtos-demo"), "%s", out);
	cr_assert_eq(FLEET("viewer", "dominfo", "rtos-demo"), 0, "%s", err);
	cr_assert_not_null(strstr(out, "State:          running\n"), "%s", out);
	/* The same NOT_FOUND and exit status as over gRPC. */
	cr_assert_eq(FLEET("viewer", "dominfo", "no-such-vm"), 4, "%s", err);
	cr_assert_not_null(strstr(err, "[NOT_FOUND]"), "%s", err);

	/* State changes, audited with the signer's identity. */
	cr_assert_eq(FLEET("operator", "destroy", "rtos-demo"), 0, "%s", err);
	cr_assert_eq(LOCAL("domstate", "rtos-demo", "--reason"), 0, "%s", err);
	cr_assert_str_eq(out, "shut off (destroyed)\n\n");
	cr_assert_eq(FLEET("operator", "start", "rtos-demo"), 0, "%s", err);
	cr_assert_eq(LOCAL("audit"), 0, "%s", err);
	cr_assert_not_null(strstr(out, "fleet-operator"), "%s", out);

	/* fleet list shows the vehicle online with its agent's version. */
	const char *argv[] = { "--fleet", url,       "--ca",  ca,     "--cert", admin_crt,
			       "--key",   admin_key, "fleet", "list", NULL };
	cr_assert_eq(run(argv), 0, "%s", err);
	cr_assert_not_null(strstr(out, VEHICLE), "%s", out);
	cr_assert_not_null(strstr(out, "online"), "%s", out);
	const char *runv[] = { "--fleet",  url,         "--ca",    ca,      "--cert",
			       admin_crt,  "--key",     admin_key, "fleet", "run",
			       "domstate", "rtos-demo", NULL };
	cr_assert_eq(run(runv), 0, "%s", err);
	cr_assert_not_null(strstr(out, "1 vehicle(s): 1 ok, 0 failed, 0 expired"), "%s", out);
	/* FLEET-004: a vehicle that never answers is counted as expired, not
	 * missing (one wait of 30 s for ghost-car). */
	const char *expv[] = { "--fleet",
			       url,
			       "--ca",
			       ca,
			       "--cert",
			       admin_crt,
			       "--key",
			       admin_key,
			       "fleet",
			       "--vehicles",
			       VEHICLE ",ghost-car",
			       "run",
			       "domstate",
			       "rtos-demo",
			       NULL };
	cr_assert_eq(run(expv), 1, "%s", err);
	cr_assert_not_null(strstr(out, "2 vehicle(s): 1 ok, 0 failed, 1 expired"), "%s", out);
	cr_assert_not_null(strstr(out, "expired: ghost-car (no reply before the request expired)"),
			   "%s", out);

	/* What needs a direct connection says so, before sending anything. */
	cr_assert_eq(FLEET("viewer", "load-image", "rtos-demo", ca), 2, "%s", err);
	cr_assert_not_null(strstr(err, "needs a direct connection"), "%s", err);
	cr_assert_eq(FLEET("viewer", "event", "--oldest"), 2, "%s", err);
	cr_assert_not_null(strstr(err, "--oldest and --from need a direct connection"), "%s", err);
	cr_assert_eq(agent_stop(&agent), 0, "hv-agent did not stop cleanly");
}

/* ---- streams: events, the console, top ---- */

/* hvctl through the broker as fleet-viewer in the background, stdout to
 * outpath; it dies with the test. */
/* hvctl --fleet as fleet-ROLE in the background, its output in outpath. */
static pid_t spawn_fleet_as(const char *role, const char *const *args, const char *outpath)
{
	const char *argv[40] = { HV_BIN_DIR "/hvctl",
				 "--fleet",
				 url,
				 "--vehicle",
				 VEHICLE,
				 "--ca",
				 ca,
				 "--cert",
				 who_crt,
				 "--key",
				 who_key };
	size_t n = 11;
	snprintf(who_crt, sizeof who_crt, "%s/fleet-%s.crt", pki, role);
	snprintf(who_key, sizeof who_key, "%s/fleet-%s.key", pki, role);
	for (size_t i = 0; args[i] && n < 39; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	pid_t parent = getpid(), pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		int fd = open(outpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int in = open("/dev/null", O_RDONLY);
		dup2(in, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	return pid;
}

static pid_t spawn_fleet_viewer(const char *const *args, const char *outpath)
{
	return spawn_fleet_as("viewer", args, outpath);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *text = calloc(1, 65536);
	if (f && text)
		text[fread(text, 1, 65535, f)] = '\0';
	if (f)
		fclose(f);
	return text;
}

static void cycle(void);

Test(agent_fleet, events_console_and_top_through_the_broker)
{
	char path[300];
	int status = -1;

	wait_vehicle_online();
	/* `event` follows the vehicle's events topic: it ends after two
	 * lifecycle events of rtos-demo, which destroy and start make (again,
	 * until it has them: the subscription is made in the background). */
	snprintf(path, sizeof path, "%s/fleet-event.out", q.dir);
	pid_t pid = spawn_fleet_viewer((const char *const[]){ "event", "rtos-demo", "--loop",
							      "--count", "2", "--event", "lifecycle",
							      "--timeout", "240", NULL },
				       path);
	for (int i = 0; i < 40; i++) {
		cycle();
		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
		status = -1;
		sleep_ms(500);
	}
	if (status == -1) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		status = -1;
	}
	char *text = slurp(path);
	cr_assert(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "event through the broker did not end: %s", text);
	cr_assert_not_null(strstr(text, "event 'lifecycle' for domain 'rtos-demo'"), "%s", text);
	cr_assert_not_null(strstr(text, "events received: 2"), "%s", text);
	free(text);

	/* The console, read-only, by signed GetConsole requests (operator
	 * role, as over gRPC). */
	cr_assert_eq(FLEET("operator", "console", "rtos-demo"), 0, "%s", err);
	cr_assert_not_null(strstr(out, "rtos-demo: hello from EL1"), "%s", out);
	/* top: one screen by GetStats. */
	cr_assert_eq(FLEET("viewer", "top", "--iterations", "1"), 0, "%s", err);
	cr_assert_not_null(strstr(out, "rtos-demo"), "%s", out);
	cr_assert_eq(agent_stop(&agent), 0, "hv-agent did not stop cleanly");
}

/* ---- refused requests ---- */

static Hvmgr__V1__FleetReply *send_raw(struct hvf *f, const uint8_t *p, size_t len)
{
	struct hv_status st;
	uint8_t *raw;
	size_t rlen;
	cr_assert_eq(hvf_call_raw(f, VEHICLE, p, len, &raw, &rlen, 30000, &st), 0, "%s", st.msg);
	Hvmgr__V1__FleetReply *r = hvmgr__v1__fleet_reply__unpack(NULL, rlen, raw);
	free(raw);
	cr_assert_not_null(r, "malformed reply");
	return r;
}

static void expect_refused(struct hvf *f, const uint8_t *p, size_t len, int code, const char *needle)
{
	Hvmgr__V1__FleetReply *r = send_raw(f, p, len);
	cr_assert_eq(r->code, code, "code %d: %s", r->code, r->message);
	cr_assert_not_null(strstr(r->message, needle), "%s", r->message);
	hvmgr__v1__fleet_reply__free_unpacked(r, NULL);
	/* ... and the audit log has it. */
	cr_assert_eq(LOCAL("audit"), 0, "%s", err);
	cr_assert_not_null(strstr(out, needle), "audit lacks '%s':\n%s", needle, out);
}

static void signed_body(const char *crt, const char *key, const char *method, uint64_t issued,
			uint64_t not_after, uint8_t **p, size_t *len)
{
	struct hv_status st;
	struct fleet_signer *s = fleet_signer_load(crt, key, &st);
	cr_assert_not_null(s, "%s", st.msg);
	Hvmgr__V1__GetVersionRequest gv = HVMGR__V1__GET_VERSION_REQUEST__INIT;
	uint8_t req[64], nonce[16];
	size_t rlen = protobuf_c_message_pack(&gv.base, req);
	for (size_t i = 0; i < sizeof nonce; i++)
		nonce[i] = (uint8_t)rand();
	Hvmgr__V1__FleetRequestBody b = HVMGR__V1__FLEET_REQUEST_BODY__INIT;
	b.vehicle = VEHICLE;
	b.method = (char *)method;
	b.request.data = req;
	b.request.len = rlen;
	b.issued_ms = issued;
	b.not_after_ms = not_after;
	b.nonce.data = nonce;
	b.nonce.len = sizeof nonce;
	cr_assert_eq(fleet_sign_body(s, &b, p, len, &st), 0, "%s", st.msg);
	fleet_signer_free(s);
}

Test(agent_fleet, bad_requests_are_refused_and_audited)
{
	struct hv_status st;
	char path[300], fcrt[340], fkey[340], vcrt[340], vkey[340];

	wait_vehicle_online();
	struct hvf *f = hvf_connect(url, ca, admin_crt, admin_key, &st);
	cr_assert_not_null(f, "%s", st.msg);
	srand((unsigned)getpid());

	/* A good request, then the very same bytes again: a replay. */
	Hvmgr__V1__GetVersionRequest gv = HVMGR__V1__GET_VERSION_REQUEST__INIT;
	uint8_t *p;
	size_t len;
	cr_assert_eq(hvf_sign(f, VEHICLE, "/hvmgr.v1.Hvmgr/GetVersion", &gv.base, &p, &len, &st), 0,
		     "%s", st.msg);
	Hvmgr__V1__FleetReply *r = send_raw(f, p, len);
	cr_assert_eq(r->code, 0, "%s", r->message);
	hvmgr__v1__fleet_reply__free_unpacked(r, NULL);
	expect_refused(f, p, len, HV_ALREADY_EXISTS, "replayed request");
	free(p);

	/* Expired a minute ago. */
	uint64_t now = fleet_now_ms();
	signed_body(admin_crt, admin_key, "/hvmgr.v1.Hvmgr/GetVersion", now - 120000, now - 60000,
		    &p, &len);
	expect_refused(f, p, len, HV_DEADLINE_EXCEEDED, "request expired");
	free(p);

	/* Signed by a backend of another fleet CA (same names, other keys). */
	snprintf(path, sizeof path, "%s/foreign", q.dir);
	cr_assert_eq(run((const char *const[]){ "pki", "fleet-init", "--dir", path, NULL }), 0,
		     "%s", err);
	snprintf(fcrt, sizeof fcrt, "%s/fleet-admin.crt", path);
	snprintf(fkey, sizeof fkey, "%s/fleet-admin.key", path);
	signed_body(fcrt, fkey, "/hvmgr.v1.Hvmgr/GetVersion", now, now + 60000, &p, &len);
	expect_refused(f, p, len, HV_UNAUTHENTICATED, "certificate of 'O=hv-fleet,OU=admin");
	free(p);

	/* A viewer asking for Destroy. */
	snprintf(vcrt, sizeof vcrt, "%s/fleet-viewer.crt", pki);
	snprintf(vkey, sizeof vkey, "%s/fleet-viewer.key", pki);
	signed_body(vcrt, vkey, "/hvmgr.v1.Hvmgr/Destroy", now, now + 60000, &p, &len);
	expect_refused(f, p, len, HV_PERMISSION_DENIED, "role 'viewer' may not call Destroy");
	free(p);

	/* The vehicle's own certificate is no backend role. */
	snprintf(vcrt, sizeof vcrt, "%s/vehicle.crt", pki);
	snprintf(vkey, sizeof vkey, "%s/vehicle.key", pki);
	signed_body(vcrt, vkey, "/hvmgr.v1.Hvmgr/GetVersion", now, now + 60000, &p, &len);
	expect_refused(f, p, len, HV_PERMISSION_DENIED, "unknown role 'vehicle'");
	free(p);

	/* Not a FleetRequest at all. */
	const uint8_t junk[] = { 0xff, 0xff, 0xff, 0x01, 0x02 };
	expect_refused(f, junk, sizeof junk, HV_INVALID_ARGUMENT, "malformed request");

	/* Nothing of this changed a VM. */
	cr_assert_eq(LOCAL("domstate", "rtos-demo"), 0, "%s", err);
	cr_assert_str_eq(out, "running\n\n");
	hvf_close(f);
	cr_assert_eq(agent_stop(&agent), 0, "hv-agent did not stop cleanly");
}

/* ---- events through a broker restart ---- */

struct sub {
	pthread_mutex_t lock;
	struct fleet_opener *opener;
	int unsigned_seen;
	int connected;
	uint64_t seqs[256];
	size_t n;
	uint64_t dropped_max;
};

static void sub_connect(struct mosquitto *m, void *obj, int rc)
{
	struct sub *s = obj;
	if (rc == 0)
		mosquitto_subscribe(m, NULL, "hv/v1/" VEHICLE "/events", 1);
	pthread_mutex_lock(&s->lock);
	s->connected = rc == 0;
	pthread_mutex_unlock(&s->lock);
}

static void sub_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg)
{
	struct sub *s = obj;
	struct hv_status st;
	uint8_t *body;
	size_t blen;
	(void)m;
	/* Every publication is signed by the vehicle. */
	if (fleet_open(s->opener, msg->payload, (size_t)msg->payloadlen, VEHICLE, NULL, &body,
		       &blen, &st) != 0) {
		pthread_mutex_lock(&s->lock);
		s->unsigned_seen++;
		pthread_mutex_unlock(&s->lock);
		return;
	}
	Hvmgr__V1__FleetPublication *p = hvmgr__v1__fleet_publication__unpack(NULL, blen, body);
	free(body);
	if (!p)
		return;
	Hvmgr__V1__Event *ev = hvmgr__v1__event__unpack(NULL, p->payload.len, p->payload.data);
	pthread_mutex_lock(&s->lock);
	if (p->dropped > s->dropped_max)
		s->dropped_max = p->dropped;
	int dup = 0;
	for (size_t i = 0; ev && i < s->n; i++)
		dup |= s->seqs[i] == ev->seq;
	if (ev && !dup && s->n < 256)
		s->seqs[s->n++] = ev->seq;
	pthread_mutex_unlock(&s->lock);
	if (ev)
		hvmgr__v1__event__free_unpacked(ev, NULL);
	hvmgr__v1__fleet_publication__free_unpacked(p, NULL);
}

static int has_seq(struct sub *s, uint64_t seq)
{
	int found = 0;
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->n; i++)
		found |= s->seqs[i] == seq;
	pthread_mutex_unlock(&s->lock);
	return found;
}

/* The sequence numbers of the events hv-agent holds, newest last. */
static size_t agent_seqs(uint64_t *seqs, size_t max)
{
	size_t n = 0;
	cr_assert_eq(LOCAL("event", "--oldest", "--loop", "--timeout", "2", "--json"), 0, "%s", err);
	for (const char *p = strstr(out, "\"seq\":"); p && n < max; p = strstr(p + 1, "\"seq\":"))
		seqs[n++] = strtoull(p + 6, NULL, 10);
	return n;
}

/* Waits (bounded) until the subscriber has every one of seqs. */
static int sub_has_all(struct sub *s, const uint64_t *seqs, size_t n)
{
	for (int t = 0; t < 120; t++) {
		size_t have = 0;
		for (size_t i = 0; i < n; i++)
			have += has_seq(s, seqs[i]) != 0;
		if (have == n)
			return 1;
		sleep_ms(250);
	}
	return 0;
}

static void cycle(void)
{
	cr_assert_eq(LOCAL("destroy", "rtos-demo"), 0, "%s", err);
	cr_assert_eq(LOCAL("start", "rtos-demo"), 0, "%s", err);
}

Test(agent_fleet, events_survive_a_broker_restart_and_loss_beyond_the_buffer_is_counted)
{
	struct sub s = { .lock = PTHREAD_MUTEX_INITIALIZER };
	uint64_t seqs[256];
	char vcrt[320], vkey[320];
	struct hv_status st;

	wait_vehicle_online();
	s.opener = fleet_opener_new(ca, &st);
	cr_assert_not_null(s.opener, "%s", st.msg);
	/* A subscriber with a persistent session, so that the broker keeps
	 * what arrives for it while both reconnect. */
	mosquitto_lib_init();
	struct mosquitto *m = mosquitto_new("agent-fleet-test-subscriber", false, &s);
	cr_assert_not_null(m);
	snprintf(vcrt, sizeof vcrt, "%s/fleet-viewer.crt", pki);
	snprintf(vkey, sizeof vkey, "%s/fleet-viewer.key", pki);
	cr_assert_eq(mosquitto_tls_set(m, ca, NULL, vcrt, vkey, NULL), 0);
	mosquitto_connect_callback_set(m, sub_connect);
	mosquitto_message_callback_set(m, sub_message);
	mosquitto_reconnect_delay_set(m, 1, 1, false);
	cr_assert_eq(mosquitto_connect(m, "127.0.0.1", broker.port, 30), 0);
	cr_assert_eq(mosquitto_loop_start(m), 0);

	/* Connected: every event hv-agent holds arrives. */
	cycle();
	size_t n = agent_seqs(seqs, 256);
	cr_assert_gt(n, 0);
	cr_assert(sub_has_all(&s, seqs, n), "events missing before the restart");

	/* The broker goes away; lifecycle work goes on; fewer events than the
	 * buffer holds are kept and all arrive after the restart. */
	fleet_broker_stop(&broker);
	cycle();
	size_t n2 = agent_seqs(seqs, 256);
	cr_assert_gt(n2, n);
	cr_assert_leq(n2 - n, 8, "one destroy/start made %zu events", n2 - n);
	cr_assert_eq(fleet_broker_start(&broker, q.dir, pki, broker.port), 0, "%s", broker.err);
	cr_assert(sub_has_all(&s, seqs, n2), "events lost across a broker restart");
	pthread_mutex_lock(&s.lock);
	cr_assert_eq(s.dropped_max, 0);
	pthread_mutex_unlock(&s.lock);

	/* Down again, with more events than the buffer holds: the newest arrive,
	 * the oldest are dropped and the loss is counted. */
	fleet_broker_stop(&broker);
	for (int i = 0; i < 6; i++)
		cycle();
	size_t n3 = agent_seqs(seqs, 256);
	cr_assert_gt(n3 - n2, 8, "only %zu events", n3 - n2);
	cr_assert_eq(fleet_broker_start(&broker, q.dir, pki, broker.port), 0, "%s", broker.err);
	cr_assert(sub_has_all(&s, seqs + n3 - 8, 8), "the newest events did not arrive");
	pthread_mutex_lock(&s.lock);
	uint64_t dropped = s.dropped_max;
	pthread_mutex_unlock(&s.lock);
	cr_assert_eq(has_seq(&s, seqs[n2]), 0, "the oldest buffered event was not dropped");
	cr_assert_gt(dropped, 0, "the loss was not counted");

	mosquitto_disconnect(m);
	mosquitto_loop_stop(m, true);
	mosquitto_destroy(m);
	mosquitto_lib_cleanup();
	cr_assert_eq(s.unsigned_seen, 0, "%d publications not signed by the vehicle",
		     s.unsigned_seen);
	fleet_opener_free(s.opener);
	cr_assert_eq(agent_stop(&agent), 0, "hv-agent did not stop cleanly");
}

/* ---- the replay cache survives a restart of hv-agent ---- */

Test(agent_fleet, a_request_replayed_after_an_agent_restart_is_refused_and_audited)
{
	struct hv_status st;
	uint8_t *p;
	size_t len;

	wait_vehicle_online();
	struct hvf *f = hvf_connect(url, ca, admin_crt, admin_key, &st);
	cr_assert_not_null(f, "%s", st.msg);
	Hvmgr__V1__GetVersionRequest gv = HVMGR__V1__GET_VERSION_REQUEST__INIT;
	cr_assert_eq(hvf_sign(f, VEHICLE, "/hvmgr.v1.Hvmgr/GetVersion", &gv.base, &p, &len, &st), 0,
		     "%s", st.msg);
	Hvmgr__V1__FleetReply *r = send_raw(f, p, len);
	cr_assert_eq(r->code, 0, "%s", r->message);
	hvmgr__v1__fleet_reply__free_unpacked(r, NULL);

	/* hv-agent stops and starts again; the captured request, still within
	 * its lifetime, is sent once more. */
	cr_assert_eq(agent_stop(&agent), 0, "hv-agent did not stop cleanly");
	cr_assert_eq(agent_start(&agent, q.dir, agent_args), 0, "%s", agent.err);
	wait_vehicle_online();
	expect_refused(f, p, len, HV_ALREADY_EXISTS, "replayed request");
	free(p);
	hvf_close(f);
	cr_assert_eq(agent_stop(&agent), 0, "hv-agent did not stop cleanly");
}

/* ---- replies are signed by the vehicle and bound to their request ---- */

enum rogue_mode {
	ROGUE_CAPTURE,
	ROGUE_UNSIGNED,
	ROGUE_BACKEND,
	ROGUE_REPLAY
};

struct rogue {
	pthread_mutex_t lock;
	enum rogue_mode mode;
	uint8_t *captured; /* a genuine reply seen on a response topic */
	size_t captured_len;
	int subscribed;
	struct fleet_signer *backend; /* a fleet-CA certificate, but no vehicle's */
};

static void rogue_connect(struct mosquitto *m, void *obj, int rc, int flags,
			  const mosquitto_property *p)
{
	(void)obj;
	(void)flags;
	(void)p;
	if (rc == 0) {
		mosquitto_subscribe_v5(m, NULL, "hv/v1/+/req", 1, 0, NULL);
		mosquitto_subscribe_v5(m, NULL, "hv/v1/client/+/resp", 1, 0, NULL);
	}
}

static void rogue_subscribe(struct mosquitto *m, void *obj, int mid, int n, const int *qos,
			    const mosquitto_property *p)
{
	struct rogue *r = obj;
	(void)m;
	(void)mid;
	(void)n;
	(void)qos;
	(void)p;
	pthread_mutex_lock(&r->lock);
	r->subscribed++;
	pthread_mutex_unlock(&r->lock);
}

/* The reply the rogue injects for a request with correlation data corr. */
static void rogue_reply(struct rogue *r, const void *corr, uint16_t clen, uint8_t **inj, size_t *len)
{
	Hvmgr__V1__FleetReply fr = HVMGR__V1__FLEET_REPLY__INIT;
	Hvmgr__V1__GetVersionResponse gv = HVMGR__V1__GET_VERSION_RESPONSE__INIT;
	uint8_t resp[128], body[512];
	struct hv_status st;

	*inj = NULL;
	if (r->mode == ROGUE_REPLAY) {
		*inj = malloc(r->captured_len);
		memcpy(*inj, r->captured, r->captured_len);
		*len = r->captured_len;
		return;
	}
	gv.agent_version = "forged";
	fr.response.data = resp;
	fr.response.len = protobuf_c_message_pack(&gv.base, resp);
	fr.vehicle = VEHICLE;
	fr.correlation.data = (uint8_t *)corr;
	fr.correlation.len = clen;
	size_t blen = protobuf_c_message_pack(&fr.base, body);
	if (r->mode == ROGUE_UNSIGNED) {
		*inj = malloc(blen);
		memcpy(*inj, body, blen);
		*len = blen;
	} else if (fleet_seal(r->backend, body, blen, inj, len, &st) != 0) {
		*inj = NULL;
	}
}

static void rogue_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg,
			  const mosquitto_property *props)
{
	struct rogue *r = obj;
	char *resp_topic = NULL;
	void *corr = NULL;
	uint16_t clen = 0;
	uint8_t *inj = NULL;
	size_t len = 0;

	pthread_mutex_lock(&r->lock);
	if (strncmp(msg->topic, "hv/v1/client/", 13) == 0) {
		if (r->mode == ROGUE_CAPTURE && !r->captured && msg->payloadlen > 0) {
			r->captured = malloc((size_t)msg->payloadlen);
			memcpy(r->captured, msg->payload, (size_t)msg->payloadlen);
			r->captured_len = (size_t)msg->payloadlen;
		}
	} else if (r->mode != ROGUE_CAPTURE &&
		   mosquitto_property_read_string(props, MQTT_PROP_RESPONSE_TOPIC, &resp_topic,
						  false) &&
		   mosquitto_property_read_binary(props, MQTT_PROP_CORRELATION_DATA, &corr, &clen,
						  false)) {
		rogue_reply(r, corr, clen, &inj, &len);
	}
	pthread_mutex_unlock(&r->lock);
	if (inj) {
		mosquitto_property *rp = NULL;
		mosquitto_property_add_binary(&rp, MQTT_PROP_CORRELATION_DATA, corr, clen);
		mosquitto_publish_v5(m, NULL, resp_topic, (int)len, inj, 1, false, rp);
		mosquitto_property_free_all(&rp);
	}
	free(inj);
	free(resp_topic);
	free(corr);
}

static void rogue_expect(struct hvf *f, struct rogue *r, enum rogue_mode mode, const char *needle)
{
	Hvmgr__V1__GetVersionRequest gv = HVMGR__V1__GET_VERSION_REQUEST__INIT;
	ProtobufCMessage *resp = NULL;
	struct hv_status st;

	pthread_mutex_lock(&r->lock);
	r->mode = mode;
	pthread_mutex_unlock(&r->lock);
	cr_assert_eq(hvf_call(f, VEHICLE, "/hvmgr.v1.Hvmgr/GetVersion", &gv.base,
			      &hvmgr__v1__get_version_response__descriptor, &resp, 3000, &st),
		     -1, "an injected reply was accepted");
	cr_assert_eq(st.code, HV_UNAUTHENTICATED, "%d: %s", st.code, st.msg);
	cr_assert_not_null(strstr(st.msg, "reply from vehicle '" VEHICLE "' refused"), "%s", st.msg);
	cr_assert_not_null(strstr(st.msg, needle), "%s", st.msg);
}

Test(agent_fleet, replies_forged_or_replayed_by_another_client_are_refused)
{
	struct rogue r = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct hv_status st;
	char vcrt[320], vkey[320], ocrt[320], okey[320];

	wait_vehicle_online();
	snprintf(ocrt, sizeof ocrt, "%s/fleet-operator.crt", pki);
	snprintf(okey, sizeof okey, "%s/fleet-operator.key", pki);
	r.backend = fleet_signer_load(ocrt, okey, &st);
	cr_assert_not_null(r.backend, "%s", st.msg);

	/* Another client of the broker (a viewer's certificate, no ACL on the
	 * test broker) sees requests and replies. */
	mosquitto_lib_init();
	struct mosquitto *m = mosquitto_new("agent-fleet-test-rogue", true, &r);
	cr_assert_not_null(m);
	snprintf(vcrt, sizeof vcrt, "%s/fleet-viewer.crt", pki);
	snprintf(vkey, sizeof vkey, "%s/fleet-viewer.key", pki);
	mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
	cr_assert_eq(mosquitto_tls_set(m, ca, NULL, vcrt, vkey, NULL), 0);
	mosquitto_connect_v5_callback_set(m, rogue_connect);
	mosquitto_subscribe_v5_callback_set(m, rogue_subscribe);
	mosquitto_message_v5_callback_set(m, rogue_message);
	cr_assert_eq(mosquitto_connect_bind_v5(m, "127.0.0.1", broker.port, 30, NULL, NULL), 0);
	cr_assert_eq(mosquitto_loop_start(m), 0);
	int subscribed = 0;
	for (int i = 0; i < 100 && subscribed < 2; i++) {
		sleep_ms(100);
		pthread_mutex_lock(&r.lock);
		subscribed = r.subscribed;
		pthread_mutex_unlock(&r.lock);
	}
	cr_assert_eq(subscribed, 2, "the other client did not subscribe");

	/* A genuine reply is accepted; the other client keeps a copy. */
	struct hvf *f = hvf_connect(url, ca, admin_crt, admin_key, &st);
	cr_assert_not_null(f, "%s", st.msg);
	Hvmgr__V1__GetVersionRequest gv = HVMGR__V1__GET_VERSION_REQUEST__INIT;
	ProtobufCMessage *resp = NULL;
	cr_assert_eq(hvf_call(f, VEHICLE, "/hvmgr.v1.Hvmgr/GetVersion", &gv.base,
			      &hvmgr__v1__get_version_response__descriptor, &resp, 30000, &st),
		     0, "%s", st.msg);
	protobuf_c_message_free_unpacked(resp, NULL);
	int captured = 0;
	for (int i = 0; i < 100 && !captured; i++) {
		pthread_mutex_lock(&r.lock);
		captured = r.captured != NULL;
		pthread_mutex_unlock(&r.lock);
		if (!captured)
			sleep_ms(100);
	}
	cr_assert(captured, "the other client saw no reply");

	/* The vehicle goes away; only the other client answers now. */
	cr_assert_eq(agent_stop(&agent), 0, "hv-agent did not stop cleanly");
	rogue_expect(f, &r, ROGUE_UNSIGNED, "not signed");
	rogue_expect(f, &r, ROGUE_BACKEND, "which is not a vehicle");
	rogue_expect(f, &r, ROGUE_REPLAY, "answers another request (a replayed reply)");

	hvf_close(f);
	mosquitto_disconnect(m);
	mosquitto_loop_stop(m, true);
	mosquitto_destroy(m);
	mosquitto_lib_cleanup();
	fleet_signer_free(r.backend);
	free(r.captured);
}

/* ---- health snapshots on the telemetry topic ---- */

struct telem {
	pthread_mutex_t lock;
	struct fleet_opener *opener;
	int snapshots, with_vm, hv_up, refused;
};

static void telem_connect(struct mosquitto *m, void *obj, int rc)
{
	(void)obj;
	if (rc == 0)
		mosquitto_subscribe(m, NULL, "hv/v1/" VEHICLE "/telemetry", 1);
}

static void telem_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg)
{
	struct telem *t = obj;
	struct hv_status st;
	uint8_t *body;
	size_t blen;
	(void)m;
	if (fleet_open(t->opener, msg->payload, (size_t)msg->payloadlen, VEHICLE, NULL, &body,
		       &blen, &st) != 0) {
		pthread_mutex_lock(&t->lock);
		t->refused++;
		pthread_mutex_unlock(&t->lock);
		return;
	}
	Hvmgr__V1__FleetPublication *p = hvmgr__v1__fleet_publication__unpack(NULL, blen, body);
	free(body);
	Hvmgr__V1__HealthUpdate *u =
		p ? hvmgr__v1__health_update__unpack(NULL, p->payload.len, p->payload.data) : NULL;
	pthread_mutex_lock(&t->lock);
	if (u) {
		t->snapshots++;
		t->hv_up += u->hv_up;
		for (size_t i = 0; i < u->n_vms; i++)
			t->with_vm += strcmp(u->vms[i]->name, "rtos-demo") == 0;
	}
	pthread_mutex_unlock(&t->lock);
	if (u)
		hvmgr__v1__health_update__free_unpacked(u, NULL);
	if (p)
		hvmgr__v1__fleet_publication__free_unpacked(p, NULL);
}

Test(agent_fleet, health_snapshots_on_the_telemetry_topic)
{
	struct telem t = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct hv_status st;
	char vcrt[320], vkey[320];

	wait_vehicle_online();
	t.opener = fleet_opener_new(ca, &st);
	cr_assert_not_null(t.opener, "%s", st.msg);
	mosquitto_lib_init();
	struct mosquitto *m = mosquitto_new("agent-fleet-test-telemetry", true, &t);
	cr_assert_not_null(m);
	snprintf(vcrt, sizeof vcrt, "%s/fleet-viewer.crt", pki);
	snprintf(vkey, sizeof vkey, "%s/fleet-viewer.key", pki);
	cr_assert_eq(mosquitto_tls_set(m, ca, NULL, vcrt, vkey, NULL), 0);
	mosquitto_connect_callback_set(m, telem_connect);
	mosquitto_message_callback_set(m, telem_message);
	cr_assert_eq(mosquitto_connect(m, "127.0.0.1", broker.port, 30), 0);
	cr_assert_eq(mosquitto_loop_start(m), 0);

	/* hv-agent again, now publishing a snapshot every 500 ms. */
	cr_assert_eq(agent_stop(&agent), 0, "hv-agent did not stop cleanly");
	const char *args[16];
	size_t n = 0;
	for (; agent_args[n]; n++)
		args[n] = strcmp(agent_args[n], "0") == 0 ? "500" : agent_args[n];
	args[n] = NULL;
	cr_assert_eq(agent_start(&agent, q.dir, args), 0, "%s", agent.err);
	int got = 0;
	for (int i = 0; i < 240 && got < 3; i++) {
		sleep_ms(250);
		pthread_mutex_lock(&t.lock);
		got = t.with_vm;
		pthread_mutex_unlock(&t.lock);
	}
	mosquitto_disconnect(m);
	mosquitto_loop_stop(m, true);
	mosquitto_destroy(m);
	mosquitto_lib_cleanup();
	fleet_opener_free(t.opener);
	cr_assert_geq(got, 3, "%d snapshots naming rtos-demo (of %d)", got, t.snapshots);
	cr_assert_gt(t.hv_up, 0, "no snapshot saw hv-core up");
	cr_assert_eq(t.refused, 0, "%d publications not signed by the vehicle", t.refused);
	cr_assert_eq(agent_stop(&agent), 0, "hv-agent did not stop cleanly");
}

/* ---- presence: signed by the vehicle, forged ones shown as such ---- */

struct pub {
	pthread_mutex_t lock;
	int connected, published;
};

static void pub_connect(struct mosquitto *m, void *obj, int rc)
{
	struct pub *p = obj;
	(void)m;
	pthread_mutex_lock(&p->lock);
	p->connected = rc == 0 ? 1 : -1;
	pthread_mutex_unlock(&p->lock);
}

static void pub_publish(struct mosquitto *m, void *obj, int mid)
{
	struct pub *p = obj;
	(void)m;
	(void)mid;
	pthread_mutex_lock(&p->lock);
	p->published++;
	pthread_mutex_unlock(&p->lock);
}

static int pub_count(struct pub *p, const int *what)
{
	pthread_mutex_lock(&p->lock);
	int n = *what;
	pthread_mutex_unlock(&p->lock);
	return n;
}

/* A packed FleetPresence of vehicle id, online; signed by crt/key into a
 * FleetSigned when crt is not NULL. */
static void presence_msg(const char *id, const char *crt, const char *key, uint8_t **msg, size_t *len)
{
	Hvmgr__V1__FleetPresence p = HVMGR__V1__FLEET_PRESENCE__INIT;
	struct hv_status st;
	p.vehicle = (char *)id;
	p.online = true;
	p.agent_version = "9.9.9";
	p.since_ms = fleet_now_ms();
	size_t blen = protobuf_c_message_get_packed_size(&p.base);
	uint8_t *body = malloc(blen);
	cr_assert_not_null(body);
	protobuf_c_message_pack(&p.base, body);
	if (!crt) {
		*msg = body;
		*len = blen;
		return;
	}
	struct fleet_signer *s = fleet_signer_load(crt, key, &st);
	cr_assert_not_null(s, "%s", st.msg);
	cr_assert_eq(fleet_seal(s, body, blen, msg, len, &st), 0, "%s", st.msg);
	fleet_signer_free(s);
	free(body);
}

/* The line of `fleet list` for vehicle id (into line), or fails. */
static void list_line(const char *id, char *line, size_t size)
{
	const char *argv[] = { "--fleet", url,       "--ca",  ca,     "--cert", admin_crt,
			       "--key",   admin_key, "fleet", "list", NULL };
	cr_assert_eq(run(argv), 0, "%s", err);
	char needle[80];
	snprintf(needle, sizeof needle, "\n %s ", id);
	const char *at = strstr(out, needle);
	cr_assert_not_null(at, "no line for %s:\n%s", id, out);
	at += 2;
	size_t n = strcspn(at, "\n");
	snprintf(line, size, "%.*s", (int)(n < size ? n : size - 1), at);
}

Test(agent_fleet, presence_is_signed_and_a_forged_one_is_shown_unverified)
{
	struct pub pb = { .lock = PTHREAD_MUTEX_INITIALIZER };
	char line[512], foreign[300], fcrt[340], fkey[340], vcrt[320], vkey[320];

	wait_vehicle_online();
	list_line(VEHICLE, line, sizeof line);
	cr_assert_not_null(strstr(line, " online "), "%s", line);

	/* Another client of the broker (a viewer's certificate: no ACL on the
	 * test broker) publishes retained presence for vehicles of its own. */
	snprintf(foreign, sizeof foreign, "%s/foreign", q.dir);
	cr_assert_eq(run((const char *const[]){ "pki", "fleet-init", "--dir", foreign, "--vehicle",
						"forged-car", NULL }),
		     0, "%s", err);
	snprintf(fcrt, sizeof fcrt, "%s/vehicle.crt", foreign);
	snprintf(fkey, sizeof fkey, "%s/vehicle.key", foreign);
	snprintf(vcrt, sizeof vcrt, "%s/vehicle.crt", pki);
	snprintf(vkey, sizeof vkey, "%s/vehicle.key", pki);
	struct {
		const char *id, *crt, *key;
	} forged[] = {
		{ "forged-car", fcrt, fkey }, /* a vehicle certificate of another CA */
		{ "bare-car", NULL, NULL },   /* not signed at all */
		{ "other-car", vcrt, vkey },  /* a genuine vehicle speaking for another */
	};
	mosquitto_lib_init();
	struct mosquitto *m = mosquitto_new("agent-fleet-test-forger", true, &pb);
	cr_assert_not_null(m);
	char wcrt[320], wkey[320];
	snprintf(wcrt, sizeof wcrt, "%s/fleet-viewer.crt", pki);
	snprintf(wkey, sizeof wkey, "%s/fleet-viewer.key", pki);
	cr_assert_eq(mosquitto_tls_set(m, ca, NULL, wcrt, wkey, NULL), 0);
	mosquitto_connect_callback_set(m, pub_connect);
	mosquitto_publish_callback_set(m, pub_publish);
	cr_assert_eq(mosquitto_connect(m, "127.0.0.1", broker.port, 30), 0);
	cr_assert_eq(mosquitto_loop_start(m), 0);
	for (int i = 0; i < 100 && pub_count(&pb, &pb.connected) == 0; i++)
		sleep_ms(100);
	cr_assert_eq(pub_count(&pb, &pb.connected), 1, "the forger could not connect");
	for (size_t i = 0; i < sizeof forged / sizeof forged[0]; i++) {
		char topic[96];
		uint8_t *p;
		size_t len;
		presence_msg(forged[i].id, forged[i].crt, forged[i].key, &p, &len);
		snprintf(topic, sizeof topic, "hv/v1/%s/presence", forged[i].id);
		cr_assert_eq(mosquitto_publish(m, NULL, topic, (int)len, p, 1, true), 0);
		free(p);
	}
	for (int i = 0; i < 100 && pub_count(&pb, &pb.published) < 3; i++)
		sleep_ms(100);
	cr_assert_eq(pub_count(&pb, &pb.published), 3, "the broker did not take the messages");
	mosquitto_disconnect(m);
	mosquitto_loop_stop(m, true);
	mosquitto_destroy(m);
	mosquitto_lib_cleanup();

	/* fleet list shows each as unverified, with the reason, never online. */
	list_line("forged-car", line, sizeof line);
	cr_assert_not_null(strstr(line, " unverified "), "%s", line);
	cr_assert_not_null(strstr(line, "certificate of '"), "%s", line);
	cr_assert_not_null(strstr(line, "forged-car"), "%s", line);
	list_line("bare-car", line, sizeof line);
	cr_assert_not_null(strstr(line, " unverified "), "%s", line);
	cr_assert_not_null(strstr(line, "not signed"), "%s", line);
	list_line("other-car", line, sizeof line);
	cr_assert_not_null(strstr(line, " unverified "), "%s", line);
	cr_assert_not_null(strstr(line, "signed by vehicle '" VEHICLE "', not by 'other-car'"),
			   "%s", line);
	cr_assert_null(strstr(out, "9.9.9"), "a forged version is shown:\n%s", out);
	list_line(VEHICLE, line, sizeof line);
	cr_assert_not_null(strstr(line, " online "), "%s", line);
	/* fleet run goes to the verified online vehicle only. */
	const char *runv[] = { "--fleet", url,       "--ca",  ca,    "--cert",  admin_crt,
			       "--key",   admin_key, "fleet", "run", "version", NULL };
	cr_assert_eq(run(runv), 0, "%s", err);
	cr_assert_not_null(strstr(out, "1 vehicle(s): 1 ok, 0 failed, 0 expired"), "%s", out);
	cr_assert_null(strstr(out, "forged-car"), "%s", out);

	/* The link dies without a goodbye: the broker publishes the will the
	 * vehicle signed when it connected. */
	cr_assert_eq(kill(agent.pid, SIGKILL), 0);
	agent_stop(&agent);
	bool lost = false;
	for (int i = 0; i < 60 && !lost; i++) {
		list_line(VEHICLE, line, sizeof line);
		lost = strstr(line, " offline (link lost) ") != NULL;
		if (!lost)
			sleep_ms(500);
	}
	cr_assert(lost, "no signed will seen: %s", line);
	cr_assert_null(strstr(line, "unverified"), "%s", line);
}

/* ---- typing into a console through the broker ---- */

/* rtos-demo and the Linux guest, whose /init runs a shell on its console. */
static void setup_linux(void)
{
	struct hvq_opts o = HVQ_OPTS_DEFAULT;
	o.guests[0] = "rtos-demo";
	o.guests[1] = "linux";
	setup_with(&o);
}

TestSuite(agent_fleet_console, .init = setup_linux, .fini = teardown, .timeout = 900);

#define HVMGR_PATH(m) "/hvmgr.v1.Hvmgr/" m

static struct hvf *connect_as(const char *role)
{
	char crt[340], key[340];
	struct hv_status st;
	snprintf(crt, sizeof crt, "%s/fleet-%s.crt", pki, role);
	snprintf(key, sizeof key, "%s/fleet-%s.key", pki, role);
	struct hvf *f = hvf_connect(url, ca, crt, key, &st);
	cr_assert_not_null(f, "%s", st.msg);
	return f;
}

/* Opens a console session of the Linux guest; the call's status code, the
 * answer in *resp when OK. */
static int session_open(struct hvf *f, Hvmgr__V1__ConsoleSessionOpenResponse **resp,
			unsigned idle_ms, struct hv_status *st)
{
	Hvmgr__V1__VmSelector sel = HVMGR__V1__VM_SELECTOR__INIT;
	Hvmgr__V1__ConsoleSessionOpenRequest req = HVMGR__V1__CONSOLE_SESSION_OPEN_REQUEST__INIT;
	sel.by_case = HVMGR__V1__VM_SELECTOR__BY_NAME;
	sel.name = "linux";
	req.vm = &sel;
	req.idle_ms = idle_ms;
	*resp = NULL;
	hv_status_ok(st);
	hvf_call(f, VEHICLE, HVMGR_PATH("ConsoleSessionOpen"), &req.base,
		 &hvmgr__v1__console_session_open_response__descriptor, (ProtobufCMessage **)resp,
		 30000, st);
	return st->code;
}

static int session_input(struct hvf *f, const char *session, uint64_t seq, const char *text,
			 struct hv_status *st)
{
	Hvmgr__V1__ConsoleSessionInputRequest req = HVMGR__V1__CONSOLE_SESSION_INPUT_REQUEST__INIT;
	ProtobufCMessage *resp = NULL;
	req.session = (char *)session;
	req.seq = seq;
	req.data.data = (uint8_t *)text;
	req.data.len = strlen(text);
	hv_status_ok(st);
	hvf_call(f, VEHICLE, HVMGR_PATH("ConsoleSessionInput"), &req.base,
		 &hvmgr__v1__console_session_input_response__descriptor, &resp, 30000, st);
	if (resp)
		protobuf_c_message_free_unpacked(resp, NULL);
	return st->code;
}

static int session_close(struct hvf *f, const char *session, struct hv_status *st)
{
	Hvmgr__V1__ConsoleSessionCloseRequest req = HVMGR__V1__CONSOLE_SESSION_CLOSE_REQUEST__INIT;
	ProtobufCMessage *resp = NULL;
	req.session = (char *)session;
	hv_status_ok(st);
	hvf_call(f, VEHICLE, HVMGR_PATH("ConsoleSessionClose"), &req.base,
		 &hvmgr__v1__console_session_close_response__descriptor, &resp, 30000, st);
	if (resp)
		protobuf_c_message_free_unpacked(resp, NULL);
	return st->code;
}

/* Reads the Linux guest's console from *pos by signed GetConsole requests
 * (the guest's output: operator, as over gRPC) until text appears (bounded:
 * tries, one a second); 1 when it did, else 0 with the last error in why. */
static int console_until(struct hvf *f, uint64_t *pos, const char *text, int tries,
			 struct hv_status *why)
{
	static char seen[65536];
	size_t have = 0;

	hv_status_ok(why);
	for (int i = 0; i < tries; i++) {
		Hvmgr__V1__VmSelector sel = HVMGR__V1__VM_SELECTOR__INIT;
		Hvmgr__V1__GetConsoleRequest req = HVMGR__V1__GET_CONSOLE_REQUEST__INIT;
		Hvmgr__V1__GetConsoleResponse *r = NULL;
		struct hv_status st;
		sel.by_case = HVMGR__V1__VM_SELECTOR__BY_NAME;
		sel.name = "linux";
		req.vm = &sel;
		req.from_position = *pos;
		if (hvf_call(f, VEHICLE, HVMGR_PATH("GetConsole"), &req.base,
			     &hvmgr__v1__get_console_response__descriptor, (ProtobufCMessage **)&r,
			     30000, &st) == 0) {
			size_t n = r->data.len;
			if (n > sizeof seen - 1 - have) {
				have = 0; /* keep the newest bytes only */
				if (n > sizeof seen - 1)
					n = sizeof seen - 1;
			}
			if (n)
				memcpy(seen + have, r->data.data, n);
			have += n;
			seen[have] = '\0';
			*pos = r->next_position;
			hvmgr__v1__get_console_response__free_unpacked(r, NULL);
			if (strstr(seen, text))
				return 1;
		} else {
			*why = st;
		}
		sleep_ms(1000);
	}
	return 0;
}

Test(agent_fleet_console, a_typed_line_reaches_the_guest_and_its_answer_comes_back)
{
	struct hv_status st;
	Hvmgr__V1__ConsoleSessionOpenResponse *op = NULL, *other = NULL;

	wait_vehicle_online();
	struct hvf *oper = connect_as("operator"), *admin = connect_as("admin"),
		   *viewer = connect_as("viewer");
	uint64_t pos = 0;
	cr_assert(console_until(oper, &pos, "hv-linux-guest: shell on the console", 600, &st),
		  "the Linux guest's shell never came up: %s", st.msg);

	/* A viewer may not type: refused, as the Console stream is. */
	cr_assert_neq(session_open(viewer, &op, 0, &st), 0, "a viewer opened a console session");
	cr_assert_not_null(strstr(st.msg, "may not call ConsoleSessionOpen"), "code %d: %s",
			   st.code, st.msg);

	/* The operator's session writes; the admin's, opened while the
	 * operator holds the seat, only reads and is told who writes. */
	cr_assert_eq(session_open(oper, &op, 0, &st), 0, "%s", st.msg);
	cr_assert(op->writer, "%s", op->notice);
	cr_assert_str_eq(op->vm_name, "linux");
	cr_assert_eq(session_open(admin, &other, 0, &st), 0, "%s", st.msg);
	cr_assert_not(other->writer);
	cr_assert_not_null(strstr(other->notice, "fleet-operator writes"), "%s", other->notice);
	cr_assert_eq(session_input(admin, other->session, 1, "reboot\r", &st),
		     HV_FAILED_PRECONDITION, "%s", st.msg);
	cr_assert_not_null(strstr(st.msg, "read-only"), "%s", st.msg);
	/* ... nor may anyone else use the operator's session. */
	cr_assert_eq(session_input(admin, op->session, 1, "reboot\r", &st), HV_PERMISSION_DENIED,
		     "%s", st.msg);

	/* A typed line reaches the shell; its answer comes back (the echo of
	 * the line holds "$((6*7))", only the answer "fleet-42"). */
	pos = op->position;
	cr_assert_eq(session_input(oper, op->session, 1, "echo fleet-$((6*7))\r", &st), 0, "%s",
		     st.msg);
	cr_assert(console_until(oper, &pos, "fleet-42", 120, &st),
		  "the guest's answer never came: %s", st.msg);

	/* The same signed input again: a replay, refused; an input number taken
	 * already, refused. */
	Hvmgr__V1__ConsoleSessionInputRequest in = HVMGR__V1__CONSOLE_SESSION_INPUT_REQUEST__INIT;
	in.session = op->session;
	in.seq = 2;
	in.data.data = (uint8_t *)"\r";
	in.data.len = 1;
	uint8_t *p;
	size_t len;
	cr_assert_eq(hvf_sign(oper, VEHICLE, HVMGR_PATH("ConsoleSessionInput"), &in.base, &p, &len,
			      &st),
		     0, "%s", st.msg);
	Hvmgr__V1__FleetReply *r = send_raw(oper, p, len);
	cr_assert_eq(r->code, 0, "%s", r->message);
	hvmgr__v1__fleet_reply__free_unpacked(r, NULL);
	r = send_raw(oper, p, len);
	cr_assert_eq(r->code, HV_ALREADY_EXISTS, "%s", r->message);
	cr_assert_not_null(strstr(r->message, "replayed request"), "%s", r->message);
	hvmgr__v1__fleet_reply__free_unpacked(r, NULL);
	free(p);
	cr_assert_eq(session_input(oper, op->session, 2, "\r", &st), HV_ALREADY_EXISTS, "%s", st.msg);

	/* Closing gives the seat up: the admin's next session writes. */
	cr_assert_eq(session_close(oper, op->session, &st), 0, "%s", st.msg);
	cr_assert_eq(session_input(oper, op->session, 3, "\r", &st), HV_NOT_FOUND, "%s", st.msg);
	cr_assert_eq(session_close(admin, other->session, &st), 0, "%s", st.msg);
	hvmgr__v1__console_session_open_response__free_unpacked(other, NULL);
	cr_assert_eq(session_open(admin, &other, 1000, &st), 0, "%s", st.msg);
	cr_assert(other->writer, "%s", other->notice);

	/* A backend that goes silent: its session ends after its idle time,
	 * and the seat is free again (bounded wait, nothing timed). */
	hvmgr__v1__console_session_open_response__free_unpacked(op, NULL);
	op = NULL;
	for (int i = 0; i < 60 && !(op && op->writer); i++) {
		if (op)
			hvmgr__v1__console_session_open_response__free_unpacked(op, NULL);
		sleep_ms(500);
		cr_assert_eq(session_open(oper, &op, 0, &st), 0, "%s", st.msg);
		if (!op->writer)
			cr_assert_eq(session_close(oper, op->session, &st), 0, "%s", st.msg);
	}
	cr_assert(op->writer, "the silent session kept the seat: %s", op->notice);

	/* Start and end of each session audited with the caller. */
	cr_assert_eq(LOCAL("audit"), 0, "%s", err);
	cr_assert_not_null(strstr(out, "ConsoleSession.start"), "%s", out);
	cr_assert_not_null(strstr(out, "ConsoleSession.end"), "%s", out);
	cr_assert_not_null(strstr(out, "no call for 1000 ms"), "%s", out);
	cr_assert_not_null(strstr(out, "fleet-operator"), "%s", out);

	hvmgr__v1__console_session_open_response__free_unpacked(op, NULL);
	hvmgr__v1__console_session_open_response__free_unpacked(other, NULL);
	hvf_close(oper);
	hvf_close(admin);
	hvf_close(viewer);
	cr_assert_eq(agent_stop(&agent), 0, "hv-agent did not stop cleanly");
}

/* What tmux shows in the console's window, until text appears (bounded). */
static int pane_until(const char *sock, const char *text)
{
	for (int i = 0; i < 240; i++) {
		char *o = NULL, *e = NULL;
		run_program("/usr/bin/tmux",
			    (const char *const[]){ "-S", sock, "capture-pane", "-p", "-S", "-",
						   "-t", "con", NULL },
			    &o, &e);
		int found = o && strstr(o, text);
		free(o);
		free(e);
		if (found)
			return 1;
		sleep_ms(500);
	}
	return 0;
}

/* tmux on the test's own server (sock); its exit status. */
static int tmux_run(const char *sock, const char *const *args)
{
	const char *argv[16] = { "-S", sock };
	char *o = NULL, *e = NULL;
	for (size_t i = 0; i < 13 && args[i]; i++)
		argv[2 + i] = args[i];
	int rc = run_program("/usr/bin/tmux", argv, &o, &e);
	free(o);
	free(e);
	return rc;
}
#define TMUX(...) tmux_run(tsock, (const char *const[]){ __VA_ARGS__, NULL })

Test(agent_fleet_console, hvctl_console_in_a_terminal_types_through_the_broker)
{
	char tsock[320], cmd[2048];
	struct hv_status st;

	wait_vehicle_online();
	struct hvf *oper = connect_as("operator");
	uint64_t pos = 0;
	cr_assert(console_until(oper, &pos, "hv-linux-guest: shell on the console", 600, &st),
		  "the Linux guest's shell never came up: %s", st.msg);
	hvf_close(oper);
	snprintf(tsock, sizeof tsock, "%s/tmux.sock", q.dir);
	snprintf(cmd, sizeof cmd,
		 "%s/hvctl --fleet %s --vehicle %s --ca %s --cert %s/fleet-operator.crt --key "
		 "%s/fleet-operator.key console linux",
		 HV_BIN_DIR, url, VEHICLE, ca, pki, pki);
	cr_assert_eq(TMUX("new-session", "-d", "-s", "con", "-x", "160", "-y", "40", cmd), 0,
		     "tmux did not start");
	cr_assert(pane_until(tsock, "Escape character is ^]"), "hvctl did not attach");
	TMUX("send-keys", "-t", "con", "echo tmux-$((5*5))", "Enter");
	int answered = pane_until(tsock, "tmux-25");
	TMUX("send-keys", "-t", "con", "C-]");
	for (int i = 0; i < 60 && TMUX("has-session", "-t", "con") == 0; i++)
		sleep_ms(500);
	TMUX("kill-server");
	cr_assert(answered, "the typed line was not answered in the terminal");
	cr_assert_eq(LOCAL("audit"), 0, "%s", err);
	cr_assert_not_null(strstr(out, "ConsoleSession.end"), "%s", out);
	cr_assert_eq(agent_stop(&agent), 0, "hv-agent did not stop cleanly");
}

/* ---- console sessions: output on their own topic, link loss, idle end ---- */

TestSuite(agent_fleet_session, .init = setup, .fini = teardown, .timeout = 600);

static int open_vm(struct hvf *f, const char *vm, Hvmgr__V1__ConsoleSessionOpenResponse **resp,
		   struct hv_status *st)
{
	Hvmgr__V1__VmSelector sel = HVMGR__V1__VM_SELECTOR__INIT;
	Hvmgr__V1__ConsoleSessionOpenRequest req = HVMGR__V1__CONSOLE_SESSION_OPEN_REQUEST__INIT;
	sel.by_case = HVMGR__V1__VM_SELECTOR__BY_NAME;
	sel.name = (char *)vm;
	req.vm = &sel;
	*resp = NULL;
	hv_status_ok(st);
	hvf_call(f, VEHICLE, HVMGR_PATH("ConsoleSessionOpen"), &req.base,
		 &hvmgr__v1__console_session_open_response__descriptor, (ProtobufCMessage **)resp,
		 30000, st);
	return st->code;
}

/* Collects a session's published output until text appears or the
 * session's last publication comes (bounded: tries of 1 s); checks that
 * the numbers and positions follow each other. 1 when text was seen. */
static int output_until(struct hvf *f, uint64_t *seq, uint64_t *pos, const char *text, char *ended,
			size_t ended_len, int tries)
{
	static char seen[65536];
	size_t have = 0;

	for (int i = 0; i < tries; i++) {
		Hvmgr__V1__FleetConsoleOutput *o;
		uint64_t refused = 0;
		char why[256] = "";
		while (hvf_console_next(f, &o, 1000, &refused, why, sizeof why)) {
			cr_assert_eq(o->seq, *seq + 1, "publication %" PRIu64 " after %" PRIu64,
				     o->seq, *seq);
			cr_assert_eq(o->position, *pos, "output from %" PRIu64 ", expected %" PRIu64,
				     o->position, *pos);
			cr_assert_eq(o->next_position, o->position + o->data.len);
			*seq = o->seq;
			*pos = o->next_position;
			size_t n = o->data.len < sizeof seen - 1 - have ? o->data.len
									: sizeof seen - 1 - have;
			if (n)
				memcpy(seen + have, o->data.data, n);
			have += n;
			seen[have] = '\0';
			int end = o->ended[0] != '\0';
			if (end)
				snprintf(ended, ended_len, "%s", o->ended);
			hvmgr__v1__fleet_console_output__free_unpacked(o, NULL);
			if (end || (text && strstr(seen, text)))
				return text && strstr(seen, text);
		}
		cr_assert_eq(refused, 0, "a publication failed the vehicle's signature: %s", why);
	}
	return 0;
}

Test(agent_fleet_session, output_comes_numbered_on_the_sessions_own_topic)
{
	struct hv_status st;
	Hvmgr__V1__ConsoleSessionOpenResponse *op = NULL;
	char ended[256] = "";

	wait_vehicle_online();
	struct hvf *oper = connect_as("operator");
	cr_assert_eq(open_vm(oper, "rtos-demo", &op, &st), 0, "%s", st.msg);
	cr_assert_not_null(strstr(op->output_topic, op->session), "topic '%s'", op->output_topic);
	cr_assert_eq(hvf_console_open(oper, VEHICLE, op->output_topic, &st), 0, "%s", st.msg);
	/* Nothing is published before the first input (the backend subscribes
	 * first); then the guest's output comes, numbered from 1, signed. */
	cr_assert_eq(session_input(oper, op->session, 1, "", &st), 0, "%s", st.msg);
	uint64_t seq = 0, pos = op->position;
	cr_assert(output_until(oper, &seq, &pos, "rtos-demo: heartbeat", ended, sizeof ended, 120),
		  "no heartbeat line published (%" PRIu64 " publications; ended: %s)", seq, ended);
	cr_assert_eq(session_close(oper, op->session, &st), 0, "%s", st.msg);
	cr_assert_not(output_until(oper, &seq, &pos, NULL, ended, sizeof ended, 30));
	cr_assert_str_eq(ended, "closed");

	/* hvctl --fleet console --follow (no terminal) reads the same topic. */
	char path[340];
	snprintf(path, sizeof path, "%s/follow.out", q.dir);
	pid_t pid = spawn_fleet_as("operator",
				   (const char *const[]){ "console", "rtos-demo", "--follow", NULL },
				   path);
	/* A heartbeat line printed after hvctl showed what was there (the
	 * history) came by the topic. */
	char *text = NULL;
	size_t first = 0;
	int live = 0;
	for (int i = 0; i < 120 && !live; i++) {
		sleep_ms(1000);
		free(text);
		text = slurp(path);
		if (!text)
			continue;
		size_t len = strlen(text);
		if (!first && len)
			first = len;
		else if (first)
			live = strstr(text + first, "rtos-demo: heartbeat") != NULL;
	}
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	cr_assert(live, "no new heartbeat line followed: %s", text ? text : "(no output)");
	free(text);
	hvmgr__v1__console_session_open_response__free_unpacked(op, NULL);
	hvf_close(oper);
}

Test(agent_fleet_session, a_broker_restart_ends_the_session_and_frees_the_seat)
{
	struct hv_status st;
	Hvmgr__V1__ConsoleSessionOpenResponse *op = NULL, *again = NULL;

	wait_vehicle_online();
	struct hvf *oper = connect_as("operator");
	cr_assert_eq(open_vm(oper, "rtos-demo", &op, &st), 0, "%s", st.msg);
	cr_assert(op->writer, "%s", op->notice);
	cr_assert_eq(session_input(oper, op->session, 1, "", &st), 0, "%s", st.msg);
	/* hvctl following the console in a session of its own (read-only) */
	char path[340];
	snprintf(path, sizeof path, "%s/follow-restart.out", q.dir);
	pid_t pid = spawn_fleet_as("operator",
				   (const char *const[]){ "console", "rtos-demo", "--follow", NULL },
				   path);
	char *text = NULL;
	for (int i = 0; i < 60 && !(text && strstr(text, "rtos-demo")); i++) {
		sleep_ms(500);
		free(text);
		text = slurp(path);
	}
	free(text);

	/* The broker goes away and comes back on the same port: the vehicle's
	 * link is lost meanwhile, and with it the session. */
	fleet_broker_stop(&broker);
	cr_assert_eq(fleet_broker_start(&broker, q.dir, pki, broker.port), 0, "%s", broker.err);
	wait_vehicle_online();
	hvf_close(oper);
	oper = connect_as("operator");

	/* hvctl's session ended with the link: it says so once and exits (no
	 * second error from closing a session that is gone). Bounded wait. */
	int status = 0;
	pid_t w = 0;
	for (int i = 0; i < 240 && w == 0; i++) {
		w = waitpid(pid, &status, WNOHANG);
		if (w == 0)
			sleep_ms(250);
	}
	if (w == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	text = slurp(path);
	cr_assert(w == pid, "hvctl console did not end with its session: %s", text ? text : "");
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) != 0, "status %d", status);
	const char *lost = text ? strstr(text, "the fleet link was lost") : NULL;
	cr_expect_not_null(lost, "%s", text ? text : "");
	cr_expect(!lost || !strstr(lost + 1, "the fleet link was lost"), "said twice:\n%s", text);
	free(text);

	/* The old session's client is told why it cannot go on ... */
	cr_assert_eq(session_input(oper, op->session, 2, "\r", &st), HV_NOT_FOUND, "%s", st.msg);
	cr_assert_not_null(strstr(st.msg, "the fleet link was lost"), "%s", st.msg);
	/* ... the seat is free: a new session writes ... */
	cr_assert_eq(open_vm(oper, "rtos-demo", &again, &st), 0, "%s", st.msg);
	cr_assert(again->writer, "the seat was not given up: %s", again->notice);
	cr_assert_eq(session_close(oper, again->session, &st), 0, "%s", st.msg);
	/* ... and the end is audited with the reason. */
	cr_assert_eq(LOCAL("audit"), 0, "%s", err);
	cr_assert_not_null(strstr(out, "the fleet link was lost"), "%s", out);

	hvmgr__v1__console_session_open_response__free_unpacked(op, NULL);
	hvmgr__v1__console_session_open_response__free_unpacked(again, NULL);
	hvf_close(oper);
}

/* No fleet link at all: a console session opened over gRPC (the unix
 * socket) that nobody calls ends after its idle limit by itself. */
static void setup_no_fleet(void)
{
	out = err = NULL;
	memset(&broker, 0, sizeof broker);
	agent_stack_start(&q, &agent, NULL, uri, sizeof uri);
}

TestSuite(agent_console_idle, .init = setup_no_fleet, .fini = teardown, .timeout = 300);

Test(agent_console_idle, an_idle_grpc_session_ends_with_no_other_session_opening)
{
	struct hv_status st;
	struct hvc_opts o = { .uri = uri };
	hvc_global_init();
	struct hvc *c = hvc_connect(&o, &st);
	cr_assert_not_null(c, "%s", st.msg);
	Hvmgr__V1__VmSelector sel = HVMGR__V1__VM_SELECTOR__INIT;
	Hvmgr__V1__ConsoleSessionOpenRequest req = HVMGR__V1__CONSOLE_SESSION_OPEN_REQUEST__INIT;
	Hvmgr__V1__ConsoleSessionOpenResponse *op = NULL;
	sel.by_case = HVMGR__V1__VM_SELECTOR__BY_NAME;
	sel.name = "rtos-demo";
	req.vm = &sel;
	req.idle_ms = 300;
	cr_assert_eq(hvc_call(c, HVMGR_PATH("ConsoleSessionOpen"), &req.base,
			      &hvmgr__v1__console_session_open_response__descriptor,
			      (ProtobufCMessage **)&op, 30000, &st),
		     0, "%s", st.msg);
	cr_assert(op->writer, "%s", op->notice);
	cr_assert_str_eq(op->output_topic, "", "a gRPC session has no output topic");

	/* Nothing else happens: its end shows in the audit log (bounded wait). */
	int seen = 0;
	for (int i = 0; i < 60 && !seen; i++) {
		sleep_ms(500);
		cr_assert_eq(LOCAL("audit"), 0, "%s", err);
		seen = strstr(out, "no call for 300 ms") != NULL;
	}
	cr_assert(seen, "the idle session did not end:\n%s", out);

	/* A call naming it is told it ended, and why. */
	Hvmgr__V1__ConsoleSessionInputRequest in = HVMGR__V1__CONSOLE_SESSION_INPUT_REQUEST__INIT;
	ProtobufCMessage *ir = NULL;
	in.session = op->session;
	in.seq = 1;
	cr_assert_neq(hvc_call(c, HVMGR_PATH("ConsoleSessionInput"), &in.base,
			       &hvmgr__v1__console_session_input_response__descriptor, &ir, 30000,
			       &st),
		      0);
	cr_assert_eq(st.code, HV_NOT_FOUND, "%s", st.msg);
	cr_assert_not_null(strstr(st.msg, "has ended: console session ended: no call for 300 ms"),
			   "%s", st.msg);
	hvmgr__v1__console_session_open_response__free_unpacked(op, NULL);
	hvc_close(c);
	hvc_global_shutdown();
}
