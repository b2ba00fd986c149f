/*
 * fleet_bench.c - hv-fleet-bench: the fleet link's scale on this machine
 * (docs/fleet.md "Scale"). Starts a Mosquitto broker with the fleet PKI and
 * N simulated vehicles: N hv-agent processes, each against its own instance
 * of the project's hv-core TEST DOUBLE (tests/double/, run in this process),
 * so no QEMU is needed per vehicle. The figures measure the broker and
 * hv-agent's fleet link, not hv-core. Then, ROUNDS times, one backend client
 * sends one signed ListVms to every vehicle at once and times each reply.
 * Prints the broker's and one agent's resident memory and the fan-out
 * latency p50/p99. Asserts nothing about timing.
 *
 *   hv-fleet-bench --bin BUILD/bin --dir DIR --vehicles N [--rounds R]
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
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <mosquitto.h>
#include <mqtt_protocol.h>

#include "fleet_broker.h"
#include "fleet_envelope.h"
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
static int online, replies, connected;

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
		Hvmgr__V1__FleetPresence *p =
			hvmgr__v1__fleet_presence__unpack(NULL, (size_t)msg->payloadlen,
							  msg->payload);
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
	if (corr && clen == sizeof(int)) {
		int i;
		memcpy(&i, corr, sizeof i);
		pthread_mutex_lock(&lock);
		if (i >= 0 && i < nveh && !vs[i].got_ns) {
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

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	const char *bin = "build/bin", *dir = NULL;
	int rounds = 20;
	char path[512], pki[400], url[64], crt[480], key[480], ca[480];
	struct fleet_broker broker = { 0 };
	struct hv_status st;

	static const struct option opts[] = { { "bin", required_argument, NULL, 'b' },
					      { "dir", required_argument, NULL, 'd' },
					      { "vehicles", required_argument, NULL, 'n' },
					      { "rounds", required_argument, NULL, 'r' },
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
		else
			return 2;
	}
	if (!dir || nveh <= 0 || nveh > 5000 || rounds <= 0) {
		fprintf(stderr,
			"usage: hv-fleet-bench --bin DIR --dir DIR --vehicles N [--rounds R]\n");
		return 2;
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

	/* The vehicles: a double of hv-core and an hv-agent each. */
	vs = calloc((size_t)nveh, sizeof *vs);
	snprintf(path, sizeof path, "%s/hv-agent", bin);
	for (int i = 0; i < nveh; i++) {
		char sdir[480], ram[520], log[520];
		snprintf(vs[i].id, sizeof vs[i].id, "veh-%05d", i);
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
		fakecore_start(vs[i].fc);
		const char *av[] = { path,          "--foreground",
				     "--state-dir", sdir,
				     "--threads",   "1",
				     "--fleet",     url,
				     "--vehicle",   vs[i].id,
				     "--fleet-dir", pki,
				     NULL };
		vs[i].pid = spawn(av, log);
	}

	snprintf(ca, sizeof ca, "%s/fleet-ca.crt", pki);
	snprintf(crt, sizeof crt, "%s/fleet-admin.crt", pki);
	snprintf(key, sizeof key, "%s/fleet-admin.key", pki);
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

	struct fleet_signer *signer = fleet_signer_load(crt, key, &st);
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
		pthread_mutex_unlock(&lock);
		for (int i = 0; i < nveh; i++) {
			char topic[96];
			mosquitto_property *props = NULL;
			snprintf(topic, sizeof topic, "hv/v1/%s/req", vs[i].id);
			mosquitto_property_add_string(&props, MQTT_PROP_RESPONSE_TOPIC,
						      "hv/v1/client/bench/resp");
			mosquitto_property_add_binary(&props, MQTT_PROP_CORRELATION_DATA, &i,
						      sizeof i);
			vs[i].sent_ns = now_ns();
			mosquitto_publish_v5(m, NULL, topic, (int)vs[i].req_len, vs[i].req, 1,
					     false, props);
			mosquitto_property_free_all(&props);
		}
		wait_count(&replies, nveh, 60);
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
	long agents_total = 0;
	for (int i = 0; i < nveh; i++)
		agents_total += fleet_rss_kib(vs[i].pid);
	printf("| %d | %.1f | %ld | %ld | %ld | %ld | %.1f | %.1f | %d |\n", nveh, up_s,
	       broker_idle, fleet_broker_rss_kib(&broker), fleet_rss_kib(vs[0].pid),
	       agents_total / nveh, p50, p99, lost);
	fflush(stdout);

	mosquitto_disconnect(m);
	mosquitto_loop_stop(m, true);
	mosquitto_destroy(m);
	mosquitto_lib_cleanup();
	for (int i = 0; i < nveh; i++)
		kill(vs[i].pid, SIGTERM);
	for (int i = 0; i < nveh; i++) {
		waitpid(vs[i].pid, NULL, 0);
		fakecore_destroy(vs[i].fc);
		free(vs[i].req);
	}
	fleet_signer_free(signer);
	fleet_broker_stop(&broker);
	free(lat);
	free(vs);
	return 0;
}
