/*
 * fleet_bench.c - hv-fleet-bench: the fleet link's scale on this machine
 * (docs/fleet.md "Scale"). Starts a Mosquitto broker with the fleet PKI and
 * N simulated vehicles: N hv-agent processes, each against its own instance
 * of the project's hv-core TEST DOUBLE (tests/double/, run in this process),
 * so no QEMU is needed per vehicle. The figures measure the broker and
 * hv-agent's fleet link, not hv-core. Then, ROUNDS times, one backend client
 * sends one signed ListVms to every vehicle at once and times each reply
 * (each reply's vehicle signature is checked, as a backend would). Before
 * the rounds, with every vehicle online and nothing asked, it measures for
 * IDLE seconds the CPU time the hv-agents and the doubles spend (per
 * vehicle, in % of one CPU). Prints the broker's and the hv-agents' memory
 * (resident; proportional and private from /proc/PID/smaps_rollup), the idle
 * CPU and the fan-out latency p50/p99. Asserts nothing about timing.
 *
 * Each hv-agent is started STAGGER ms after the one before (the broker takes
 * the TLS handshakes one at a time); the doubles nap up to NAP us when idle
 * (tests/double/hvcore_double.h; 200 keeps the old fixed 200 us tick).
 *
 * The light mode (--full K) for more vehicles than the machine can run
 * hv-agents: the first K vehicles are hv-agent processes as above, the
 * others LINK-ONLY vehicles: the real fleet link (agent/fleet/fleet_link.c:
 * its MQTT 5 session over TLS, the check of each signed request, the signed
 * reply) in helper processes of 200 links each, answering ListVms with a fixed response of
 * one VM instead of hv-agent's method table, gRPC, store and double. Their
 * figures stand for the broker and the link, not for hv-agent.
 *
 *   hv-fleet-bench --bin BUILD/bin --dir DIR --vehicles N [--rounds R] [--full K]
 *                  [--idle SECONDS] [--stagger-ms STAGGER] [--double-nap-us NAP]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <mosquitto.h>
#include <mqtt_protocol.h>

#include "fleet_broker.h"
#include "fleet_envelope.h"
#include "fleet_link.h"
#include "hvcore_double.h"
#include "hvmgr/v1/fleet.pb-c.h"
#include "hvmgr/v1/hvmgr.pb-c.h"

struct veh {
	char id[32];
	struct fakecore *fc;
	pid_t pid;
	uint8_t *req;
	size_t req_len;
	uint64_t sent_ns, got_ns;
};

static struct veh *vs;
static int nveh;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int online, replies, connected, refused;
/* replies the vehicle signed with a refusal: the request had expired when it
 * ran (DEADLINE_EXCEEDED), or another code; replies of an earlier round */
static int expired, vrefused, late;
static int round_now;
static struct fleet_opener *opener;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static pid_t spawn(const char *const *argv, const char *log)
{
	pid_t parent = getpid(), pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	return pid;
}

static void on_connect(struct mosquitto *m, void *obj, int rc, int flags, const mosquitto_property *p)
{
	(void)obj;
	(void)flags;
	(void)p;
	if (rc == 0) {
		mosquitto_subscribe_v5(m, NULL, "hv/v1/+/presence", 1, 0, NULL);
		mosquitto_subscribe_v5(m, NULL, "hv/v1/client/bench/resp", 1, 0, NULL);
	}
	pthread_mutex_lock(&lock);
	connected = rc == 0;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
}

static void on_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg,
		       const mosquitto_property *props)
{
	(void)m;
	(void)obj;
	uint64_t t = now_ns();
	if (strstr(msg->topic, "/presence")) {
		/* Signed by the vehicle like its replies. */
		struct hv_status st;
		uint8_t *body = NULL;
		size_t blen = 0;
		Hvmgr__V1__FleetPresence *p = NULL;
		if (fleet_open(opener, msg->payload, (size_t)msg->payloadlen, NULL, NULL, &body,
			       &blen, &st) == 0)
			p = hvmgr__v1__fleet_presence__unpack(NULL, blen, body);
		free(body);
		if (p && p->online) {
			pthread_mutex_lock(&lock);
			online++;
			pthread_cond_broadcast(&cond);
			pthread_mutex_unlock(&lock);
		}
		if (p)
			hvmgr__v1__fleet_presence__free_unpacked(p, NULL);
		return;
	}
	void *corr = NULL;
	uint16_t clen = 0;
	mosquitto_property_read_binary(props, MQTT_PROP_CORRELATION_DATA, &corr, &clen, false);
	if (corr && clen == 2 * sizeof(int)) {
		int i, r;
		memcpy(&r, corr, sizeof r);
		memcpy(&i, (char *)corr + sizeof r, sizeof i);
		/* The backend's check of the vehicle's signature (every simulated
		 * vehicle holds the one vehicle certificate of the PKI). */
		struct hv_status st;
		uint8_t *body = NULL;
		size_t blen;
		int bad = fleet_open(opener, msg->payload, (size_t)msg->payloadlen, NULL, NULL,
				     &body, &blen, &st) != 0;
		Hvmgr__V1__FleetReply *fr =
			bad ? NULL : hvmgr__v1__fleet_reply__unpack(NULL, blen, body);
		int code = fr ? fr->code : -1;
		if (fr)
			hvmgr__v1__fleet_reply__free_unpacked(fr, NULL);
		free(body);
		t = now_ns();
		pthread_mutex_lock(&lock);
		refused += bad;
		if (!bad && r != round_now) {
			late++;
		} else if (!bad && i >= 0 && i < nveh && !vs[i].got_ns) {
			expired += code == 4; /* DEADLINE_EXCEEDED: the request expired */
			vrefused += code != 0 && code != 4;
			vs[i].got_ns = t;
			replies++;
			pthread_cond_broadcast(&cond);
		}
		pthread_mutex_unlock(&lock);
	}
	free(corr);
}

/* Waits until *counter reaches want or secs pass. */
static int wait_count(int *counter, int want, int secs)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += secs;
	pthread_mutex_lock(&lock);
	while (*counter < want)
		if (pthread_cond_timedwait(&cond, &lock, &ts) != 0)
			break;
	int ok = *counter >= want;
	pthread_mutex_unlock(&lock);
	return ok;
}

/* A link-only vehicle's ListVms: one running VM, as a vehicle of the
 * benchmark's hv-agents answers. */
static void stub_list_vms(const struct rpc_call_ctx *ctx, const ProtobufCMessage *req,
			  struct rpc_result *res)
{
	Hvmgr__V1__ListVmsResponse r = HVMGR__V1__LIST_VMS_RESPONSE__INIT;
	Hvmgr__V1__Vm vm = HVMGR__V1__VM__INIT, *vmp = &vm;
	(void)ctx;
	(void)req;
	vm.id = 0;
	vm.name = "rtos-demo";
	vm.state = HVMGR__V1__VM_STATE__VM_STATE_RUNNING;
	vm.vcpus = 1;
	vm.pcpu_mask = 2;
	vm.memory_bytes = 64u << 20;
	r.n_vms = 1;
	r.vms = &vmp;
	rpc_result_message(res, &r.base);
}

static const struct rpc_method stub_methods[] = {
	{ "/hvmgr.v1.Hvmgr/ListVms", &hvmgr__v1__list_vms_request__descriptor, stub_list_vms, NULL },
};

/* Link-only vehicles per helper process: libmosquitto's loop uses select(),
 * which takes descriptors below 1024 only, and each link holds a few. */
#define LINKS_PER_HELPER 200

/* A helper process running the link-only vehicles from..to-1 until SIGTERM;
 * it writes its resident memory before the links to DIR/helper-PID.rss. */
static pid_t link_helper(int from, int to, const char *dir, const char *pki, int port)
{
	char ca[480], vcrt[480], vkey[480], rp[600];
	struct hv_status st;
	sigset_t term;

	pid_t parent = getpid(), pid = fork();
	if (pid != 0)
		return pid;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(127);
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigprocmask(SIG_BLOCK, &term, NULL);
	snprintf(rp, sizeof rp, "%s/helper-%d.rss", dir, (int)getpid());
	FILE *f = fopen(rp, "w");
	if (f) {
		fprintf(f, "%ld\n", fleet_rss_kib(getpid()));
		fclose(f);
	}
	snprintf(ca, sizeof ca, "%s/fleet-ca.crt", pki);
	snprintf(vcrt, sizeof vcrt, "%s/vehicle.crt", pki);
	snprintf(vkey, sizeof vkey, "%s/vehicle.key", pki);
	for (int i = from; i < to; i++) {
		struct fleet_link_opts lo = { .host = "127.0.0.1",
					      .port = port,
					      .vehicle = vs[i].id,
					      .tls_ca = ca,
					      .tls_cert = vcrt,
					      .tls_key = vkey,
					      .fleet_ca = ca,
					      .nonce_file = NULL,
					      .version = "link-only" };
		struct fleet_dispatch d = { .methods = stub_methods, .nmethods = 1 };
		if (!fleet_link_start(&lo, &d, &st)) {
			fprintf(stderr, "hv-fleet-bench: link %d: %s\n", i, st.msg);
			_exit(1);
		}
	}
	int sig;
	sigwait(&term, &sig);
	_exit(0); /* the links die with the process; their sessions end at the broker */
}

/* utime + stime of a process (all its threads) in clock ticks; 0 if gone. */
static unsigned long long cpu_ticks(pid_t pid)
{
	char path[64], buf[1024];
	unsigned long long ut = 0, st = 0;
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* after "(comm)": state is field 3, utime 14, stime 15 */
	const char *p = strrchr(buf, ')');
	if (!p ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return 0;
	return ut + st;
}

/* Pss and Private_Clean + Private_Dirty of a process, KiB. */
static void pss_kib(pid_t pid, long *pss, long *priv)
{
	char path[64], line[256];
	long v;
	*pss = *priv = 0;
	snprintf(path, sizeof path, "/proc/%d/smaps_rollup", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	while (fgets(line, sizeof line, f)) {
		if (sscanf(line, "Pss: %ld kB", &v) == 1)
			*pss = v;
		else if (sscanf(line, "Private_Clean: %ld kB", &v) == 1 ||
			 sscanf(line, "Private_Dirty: %ld kB", &v) == 1)
			*priv += v;
	}
	fclose(f);
}

/* Threads of a process (/proc/PID/status). */
static long threads_of(pid_t pid)
{
	char path[64], line[256];
	long n = 0;
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "Threads: %ld", &n) == 1)
			break;
	fclose(f);
	return n;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	const char *bin = "build/bin", *dir = NULL;
	int rounds = 20, full = -1, idle_s = 10, stagger_ms = 20;
	long nap_us = 20000;
	char path[512], pki[400], url[64], crt[480], key[480], ca[480];
	struct fleet_broker broker = { 0 };
	struct hv_status st;

	static const struct option opts[] = { { "bin", required_argument, NULL, 'b' },
					      { "dir", required_argument, NULL, 'd' },
					      { "vehicles", required_argument, NULL, 'n' },
					      { "rounds", required_argument, NULL, 'r' },
					      { "full", required_argument, NULL, 'f' },
					      { "idle", required_argument, NULL, 'i' },
					      { "stagger-ms", required_argument, NULL, 's' },
					      { "double-nap-us", required_argument, NULL, 'p' },
					      { NULL, 0, NULL, 0 } };
	for (int c; (c = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
		if (c == 'b')
			bin = optarg;
		else if (c == 'd')
			dir = optarg;
		else if (c == 'n')
			nveh = atoi(optarg);
		else if (c == 'r')
			rounds = atoi(optarg);
		else if (c == 'f')
			full = atoi(optarg);
		else if (c == 'i')
			idle_s = atoi(optarg);
		else if (c == 's')
			stagger_ms = atoi(optarg);
		else if (c == 'p')
			nap_us = atol(optarg);
		else
			return 2;
	}
	if (full < 0 || full > nveh)
		full = nveh;
	if (!dir || nveh <= 0 || nveh > 5000 || rounds <= 0 || full < 1 || idle_s < 0 ||
	    stagger_ms < 0 || nap_us < 200) {
		fprintf(stderr, "usage: hv-fleet-bench --bin DIR --dir DIR --vehicles N [--rounds R] "
				"[--full K (1..N)] [--idle SECONDS] [--stagger-ms MS] "
				"[--double-nap-us US (200..)]\n");
		return 2;
	}
	/* 500 doubles hold a descriptor each; the hv-agents inherit the limit */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	mkdir(dir, 0755);
	snprintf(pki, sizeof pki, "%s/pki", dir);
	snprintf(path, sizeof path, "%s/hvctl", bin);
	const char *pki_argv[] = { path, "pki", "fleet-init", "--dir", pki, "--force", NULL };
	snprintf(crt, sizeof crt, "%s/pki.log", dir);
	pid_t p = spawn(pki_argv, crt);
	int status;
	waitpid(p, &status, 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "hv-fleet-bench: hvctl pki fleet-init failed (%s)\n", crt);
		return 1;
	}
	if (fleet_broker_start(&broker, dir, pki, 0) != 0) {
		fprintf(stderr, "hv-fleet-bench: %s\n", broker.err);
		return 1;
	}
	snprintf(url, sizeof url, "mqtts://127.0.0.1:%d", broker.port);
	long broker_idle = fleet_broker_rss_kib(&broker);

	/* The vehicles: a double of hv-core and an hv-agent each, or (beyond
	 * --full) a link-only vehicle in a helper process. The helpers are
	 * forked first, while this process has no thread yet. */
	vs = calloc((size_t)nveh, sizeof *vs);
	snprintf(path, sizeof path, "%s/hv-agent", bin);
	snprintf(ca, sizeof ca, "%s/fleet-ca.crt", pki);
	for (int i = 0; i < nveh; i++)
		snprintf(vs[i].id, sizeof vs[i].id, "veh-%05d", i);
	int nhelpers = 0;
	pid_t helpers[5000 / LINKS_PER_HELPER + 1];
	for (int from = full; from < nveh; from += LINKS_PER_HELPER) {
		int to = from + LINKS_PER_HELPER < nveh ? from + LINKS_PER_HELPER : nveh;
		helpers[nhelpers++] = link_helper(from, to, dir, pki, broker.port);
	}
	for (int i = 0; i < nveh; i++) {
		char sdir[480], ram[520], log[520];
		snprintf(vs[i].id, sizeof vs[i].id, "veh-%05d", i);
		if (i >= full)
			continue; /* a link-only vehicle, in a helper process */
		snprintf(sdir, sizeof sdir, "%s/%s", dir, vs[i].id);
		mkdir(sdir, 0750);
		snprintf(ram, sizeof ram, "%s/guest-ram", sdir);
		snprintf(log, sizeof log, "%s/hv-agent.log", sdir);
		vs[i].fc = fakecore_create(ram, FAKECORE_RAM_BASE, HVM_DEFAULT_BASE);
		if (!vs[i].fc) {
			fprintf(stderr, "hv-fleet-bench: double %d: %s\n", i, strerror(errno));
			return 1;
		}
		struct fakecore_vm vm = { .name = "rtos-demo",
					  .state = HVM_VM_RUNNING,
					  .vcpus = 1,
					  .pcpu_mask = 2,
					  .mem_bytes = 64u << 20 };
		fakecore_set_vm(vs[i].fc, 0, &vm);
		fakecore_idle_nap(vs[i].fc, nap_us * 1000);
		fakecore_start(vs[i].fc);
		if (i && stagger_ms) {
			struct timespec ts = { stagger_ms / 1000, (stagger_ms % 1000) * 1000000L };
			nanosleep(&ts, NULL);
		}
		const char *av[] = { path,          "--foreground",
				     "--state-dir", sdir,
				     "--threads",   "1",
				     "--fleet",     url,
				     "--vehicle",   vs[i].id,
				     "--fleet-dir", pki,
				     NULL };
		vs[i].pid = spawn(av, log);
	}

	snprintf(crt, sizeof crt, "%s/fleet-admin.crt", pki);
	snprintf(key, sizeof key, "%s/fleet-admin.key", pki);
	opener = fleet_opener_new(ca, &st); /* presence messages are checked as they come */
	if (!opener) {
		fprintf(stderr, "hv-fleet-bench: %s\n", st.msg);
		return 1;
	}
	mosquitto_lib_init();
	struct mosquitto *m = mosquitto_new("hv-fleet-bench", true, NULL);
	mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
	mosquitto_tls_set(m, ca, NULL, crt, key, NULL);
	mosquitto_connect_v5_callback_set(m, on_connect);
	mosquitto_message_v5_callback_set(m, on_message);
	if (mosquitto_connect_bind_v5(m, "127.0.0.1", broker.port, 60, NULL, NULL) != 0 ||
	    mosquitto_loop_start(m) != 0 || !wait_count(&connected, 1, 10)) {
		fprintf(stderr, "hv-fleet-bench: cannot connect to the broker\n");
		return 1;
	}
	uint64_t t0 = now_ns();
	int all = wait_count(&online, nveh, 60 + nveh / 2);
	double up_s = (double)(now_ns() - t0) / 1e9;
	if (!all)
		fprintf(stderr, "hv-fleet-bench: only %d of %d vehicles came online\n", online, nveh);

	/* Idle: every vehicle online, nothing asked. The doubles are threads
	 * of this process; the backend client's loop thread is the rest of it. */
	double idle_agent_pct = 0, idle_double_pct = 0;
	if (idle_s > 0) {
		struct timespec settle = { 2, 0 }, span = { idle_s, 0 };
		nanosleep(&settle, NULL);
		unsigned long long a0 = 0, a1 = 0, d0 = cpu_ticks(getpid()), d1;
		for (int i = 0; i < full; i++)
			a0 += cpu_ticks(vs[i].pid);
		uint64_t w0 = now_ns();
		nanosleep(&span, NULL);
		for (int i = 0; i < full; i++)
			a1 += cpu_ticks(vs[i].pid);
		d1 = cpu_ticks(getpid());
		double secs = (double)(now_ns() - w0) / 1e9, hz = (double)sysconf(_SC_CLK_TCK);
		idle_agent_pct = 100.0 * (double)(a1 - a0) / hz / secs / full;
		idle_double_pct = 100.0 * (double)(d1 - d0) / hz / secs / full;
	}

	struct fleet_signer *signer = fleet_signer_load(crt, key, &st);
	if (!signer) {
		fprintf(stderr, "hv-fleet-bench: %s\n", st.msg);
		return 1;
	}
	Hvmgr__V1__ListVmsRequest lr = HVMGR__V1__LIST_VMS_REQUEST__INIT;
	uint8_t reqbuf[64];
	size_t rlen = protobuf_c_message_pack(&lr.base, reqbuf);
	uint64_t *lat = calloc((size_t)nveh * (size_t)rounds, sizeof *lat);
	size_t nlat = 0;
	int lost = 0;
	for (int r = 0; r < rounds; r++) {
		for (int i = 0; i < nveh; i++) {
			free(vs[i].req);
			fleet_sign_request(signer, vs[i].id, "/hvmgr.v1.Hvmgr/ListVms", reqbuf,
					   rlen, 60000, &vs[i].req, &vs[i].req_len, &st);
			vs[i].got_ns = 0;
		}
		pthread_mutex_lock(&lock);
		replies = 0;
		round_now = r;
		pthread_mutex_unlock(&lock);
		for (int i = 0; i < nveh; i++) {
			char topic[96];
			mosquitto_property *props = NULL;
			snprintf(topic, sizeof topic, "hv/v1/%s/req", vs[i].id);
			mosquitto_property_add_string(&props, MQTT_PROP_RESPONSE_TOPIC,
						      "hv/v1/client/bench/resp");
			int corr[2] = { r, i }; /* a late reply is not taken for this round's */
			mosquitto_property_add_binary(&props, MQTT_PROP_CORRELATION_DATA, corr,
						      sizeof corr);
			vs[i].sent_ns = now_ns();
			mosquitto_publish_v5(m, NULL, topic, (int)vs[i].req_len, vs[i].req, 1,
					     false, props);
			mosquitto_property_free_all(&props);
		}
		wait_count(&replies, nveh, 60 + nveh / 5);
		pthread_mutex_lock(&lock);
		for (int i = 0; i < nveh; i++) {
			if (vs[i].got_ns)
				lat[nlat++] = vs[i].got_ns - vs[i].sent_ns;
			else
				lost++;
		}
		pthread_mutex_unlock(&lock);
	}
	qsort(lat, nlat, sizeof *lat, cmp_u64);
	double p50 = nlat ? (double)lat[nlat / 2] / 1e6 : 0;
	double p99 = nlat ? (double)lat[(nlat * 99) / 100 < nlat ? (nlat * 99) / 100 : nlat - 1] / 1e6
			  : 0;
	long agents_total = 0, pss_total = 0, priv_total = 0;
	for (int i = 0; i < full; i++) {
		long pss, priv;
		agents_total += fleet_rss_kib(vs[i].pid);
		pss_kib(vs[i].pid, &pss, &priv);
		pss_total += pss;
		priv_total += priv;
	}
	/* What a link-only vehicle adds to its helper: its link's session, TLS
	 * context, buffers and replay cache. */
	char per_link[32] = "-";
	if (nveh > full) {
		long grown = 0;
		for (int k = 0; k < nhelpers; k++) {
			char rp[600];
			long before = 0;
			snprintf(rp, sizeof rp, "%s/helper-%d.rss", dir, (int)helpers[k]);
			FILE *f = fopen(rp, "r");
			if (f) {
				if (fscanf(f, "%ld", &before) != 1)
					before = 0;
				fclose(f);
			}
			grown += fleet_rss_kib(helpers[k]) - before;
		}
		snprintf(per_link, sizeof per_link, "%ld", grown / (nveh - full));
	}
	double load1 = 0;
	FILE *lf = fopen("/proc/loadavg", "r");
	if (lf) {
		if (fscanf(lf, "%lf", &load1) != 1)
			load1 = 0;
		fclose(lf);
	}
	printf("| %d | %d + %d | %.1f | %ld | %ld | %ld | %ld | %ld | %.0f | %ld | %.3f | %.3f | %s "
	       "| %.1f | %.1f | %d | %d | %d | %d | %d | %.1f |\n",
	       nveh, full, nveh - full, up_s, broker_idle, fleet_broker_rss_kib(&broker),
	       agents_total / full, pss_total / full, priv_total / full, (double)pss_total / 1024.0,
	       threads_of(vs[0].pid), idle_agent_pct, idle_double_pct, per_link, p50, p99, lost,
	       late, expired, vrefused, refused, load1);
	fflush(stdout);
	/* Where replies could go missing, as the hv-agents and the broker logged
	 * it (docs/fleet.md "Scale", lost replies). */
	static const char *const marks[] = { "lost (", "dropped", "not sent", "not signed",
					     "request expired" };
	int seen[5] = { 0 };
	for (int i = 0; i < full; i++) {
		char lp[520], line[1024];
		snprintf(lp, sizeof lp, "%s/%s/hv-agent.log", dir, vs[i].id);
		FILE *f = fopen(lp, "r");
		while (f && fgets(line, sizeof line, f))
			for (int k = 0; k < 5; k++)
				seen[k] += strstr(line, marks[k]) != NULL;
		if (f)
			fclose(f);
	}
	fprintf(stderr,
		"hv-fleet-bench: hv-agent logs: link lost %d, dropped %d, not sent %d, "
		"not signed %d, request expired %d\n",
		seen[0], seen[1], seen[2], seen[3], seen[4]);

	mosquitto_disconnect(m);
	mosquitto_loop_stop(m, true);
	mosquitto_destroy(m);
	mosquitto_lib_cleanup();
	for (int i = 0; i < full; i++)
		kill(vs[i].pid, SIGTERM);
	for (int k = 0; k < nhelpers; k++)
		kill(helpers[k], SIGTERM);
	for (int k = 0; k < nhelpers; k++)
		waitpid(helpers[k], NULL, 0);
	for (int i = 0; i < nveh; i++) {
		if (i < full) {
			waitpid(vs[i].pid, NULL, 0);
			fakecore_destroy(vs[i].fc);
		}
		free(vs[i].req);
	}
	fleet_signer_free(signer);
	fleet_opener_free(opener);
	fleet_broker_stop(&broker);
	free(lat);
	free(vs);
	return 0;
}
