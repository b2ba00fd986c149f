/*
 * telemetry_bench.c - hv-telemetry-bench: what a Prometheus scrape of
 * hv-agent costs (docs/performance.md "Telemetry"). It builds hv-agent's own
 * telemetry registry (agent/telemetry/) with N VMs and a realistic set of RPC
 * series, serves it with the same libmicrohttpd endpoint, and scrapes it over
 * loopback: latency p50/p99 and bytes per scrape (as fast as it can), then the
 * CPU the process uses at one scrape a second (client included, so the figure
 * is an upper bound for the endpoint alone).
 *
 * usage: hv-telemetry-bench [--vms N] [--clients C] [--seconds S] [--warmup S]
 *                           [--calls N] [--idle-seconds S]
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench_driver.h"
#include "telemetry.h"

static int port;
static size_t last_bytes;

static void *cl_open(void *arg, unsigned index, char *err, size_t errlen)
{
	return malloc(1 << 20);
}

/* One scrape: GET /metrics over a fresh connection, as Prometheus does
 * without keep-alive; the whole response is read. */
static int cl_call(void *client, char *err, size_t errlen)
{
	static const char req[] = "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	char *buf = client;
	size_t n = 0;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
	    write(fd, req, sizeof req - 1) != (ssize_t)(sizeof req - 1)) {
		snprintf(err, errlen, "cannot reach the endpoint");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	for (;;) {
		ssize_t r = read(fd, buf + n, (1 << 20) - n);
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	if (n < 12 || memcmp(buf + 9, "200", 3) != 0) {
		snprintf(err, errlen, "scrape did not answer 200");
		return -1;
	}
	last_bytes = n;
	return 0;
}

static void cl_close(void *client)
{
	free(client);
}

/* A registry as a busy system has it: nvms running VMs, every counter set,
 * RPC series for 12 methods with two codes each. */
static void fill(struct telemetry *t, unsigned nvms)
{
	struct tm_core core = { .up = 1, .hv_state = 1, .abi_major = 2, .pcpu_count = 4 };
	struct tm_vm *vms = calloc(HVM_MAX_VMS, sizeof *vms);
	static const char *const methods[] = { "GetVm",     "ListVms",     "GetStats",
					       "Start",     "Destroy",     "WatchEvents",
					       "GetFaults", "GetVersion",  "GetAudit",
					       "GetConfig", "WatchHealth", "GetConsole" };

	if (!vms)
		exit(1);
	core.uptime_ns = 3600ull * 1000000000ull;
	snprintf(core.hv_version, sizeof core.hv_version, "0.1.0");
	for (unsigned i = 0; i < nvms; i++) {
		struct tm_vm *v = &vms[i];
		v->id = i;
		v->state = 1;
		v->criticality = i % 5;
		v->vcpus = 1 + i % 2;
		v->mem_bytes = 64ull << 20;
		v->heartbeat = 100000 + i;
		v->heartbeat_age_ns = 12345678;
		v->cpu_time_ns = 987654321000ull;
		snprintf(v->name, sizeof v->name, "vm-%02u", i);
		snprintf(v->uuid, sizeof v->uuid, "5d1e7a00-2b4c-4d6e-9f10-2132435465%02u", i);
		snprintf(v->image_version, sizeof v->image_version, "vm-%02u 1.2.%u", i, i);
		v->have_stats = 1;
		v->stats.exits = 123456789;
		for (unsigned c = 0; c < HVM_EXIT__COUNT; c++)
			v->stats.exits_by_class[c] = 1000000u * (c + 1);
		v->stats.irqs_injected = 4567890;
		v->stats.faults = i;
		v->stats.doorbells_sent = 42;
	}
	telemetry_set_core(t, &core, vms, nvms);
	free(vms);
	for (size_t m = 0; m < sizeof methods / sizeof methods[0]; m++) {
		char path[64];
		snprintf(path, sizeof path, "/hvmgr.v1.Hvmgr/%s", methods[m]);
		for (int k = 0; k < 50; k++) {
			telemetry_rpc_observe(t, path, 0, 50000u * (unsigned)(k + 1));
			if (k % 10 == 0)
				telemetry_rpc_observe(t, path, 5, 30000);
		}
	}
}

static double cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

int main(int argc, char **argv)
{
	struct bench_opts o = { .clients = 1, .seconds = 5, .warmup_seconds = 1 };
	struct bench_client_ops ops = { cl_open, cl_call, cl_close };
	struct bench_result res;
	struct telemetry_http *h;
	struct hv_status st;
	unsigned nvms = 4;
	double idle = 10;
	char addr[64], err[BENCH_ERR_LEN];

	for (int i = 1; i < argc; i++) {
		int r = bench_parse_common(argc, argv, &i, &o);
		if (r < 0)
			return 2;
		if (r)
			continue;
		if (strcmp(argv[i], "--vms") == 0 && i + 1 < argc) {
			nvms = (unsigned)atoi(argv[++i]);
			if (nvms < 1 || nvms > HVM_MAX_VMS) {
				fprintf(stderr, "--vms: 1 to %u\n", HVM_MAX_VMS);
				return 2;
			}
		} else if (strcmp(argv[i], "--idle-seconds") == 0 && i + 1 < argc) {
			idle = atof(argv[++i]);
		} else {
			fprintf(stderr, "usage: hv-telemetry-bench [--vms N] [--idle-seconds S]\n%s",
				bench_common_usage);
			return 2;
		}
	}
	struct telemetry *t = telemetry_new("bench");
	port = bench_free_port();
	snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
	if (!t || port < 0 || telemetry_http_start(t, addr, &h, &st) != 0) {
		fprintf(stderr, "hv-telemetry-bench: %s\n", t ? st.msg : "out of memory");
		return 1;
	}
	fill(t, nvms);
	if (bench_run(&ops, NULL, &o, &res) != 0 || res.errors) {
		fprintf(stderr, "hv-telemetry-bench: %s\n", res.first_error);
		telemetry_http_stop(h);
		telemetry_free(t);
		return 1;
	}
	snprintf(err, sizeof err, "scrape vms=%u bytes=%zu", nvms, last_bytes);
	bench_print(err, &res);

	/* One scrape a second: the process's CPU over the window. */
	void *c = cl_open(NULL, 0, err, sizeof err);
	double c0 = cpu_seconds();
	uint64_t w0 = bench_now_ns();
	for (int s = 0; s < (int)idle; s++) {
		if (cl_call(c, err, sizeof err) != 0)
			break;
		sleep(1);
	}
	double cpu = cpu_seconds() - c0, wall = (double)(bench_now_ns() - w0) / 1e9;
	printf("scrape-1hz vms=%u cpu_percent=%.3f seconds=%.1f\n", nvms, 100.0 * cpu / wall, wall);
	cl_close(c);
	telemetry_http_stop(h);
	telemetry_free(t);
	return 0;
}
