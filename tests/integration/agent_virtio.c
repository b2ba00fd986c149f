/*
 * agent_virtio.c - a VM's VIRTIO devices and their counters through the whole
 * stack: the real hv-core under QEMU (GET_VIRTIO, docs/mgmt-abi.md MGMT-850),
 * the real hv-agent (GetVm with_devices, GetStats, /metrics) and the real
 * hvctl (dominfo, domstats, both with --json). The boot configuration is
 * rtos-demo's (hv-core/guests/vms/rtos-demo.dtsi) with a virtio-rng device
 * added, which the guest never drives: the device is listed and its counters
 * are zero. Waits are bounded; nothing asserts a duration.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent_stack.h"

static struct hvq q;
static struct agent_proc agent;
static char uri[320], tmp[64], config[128], listen_at[64];
static char *out, *err;

#define RNG_NODE                                                                                   \
	"\trng {\n\t\tcompatible = \"virtio,mmio\";\n\t\tdevice = \"rng\";\n"                      \
	"\t\twindow = <0x0 0x0a000000>;\n\t\tspi = <16>;\n\t};\n"

/* The boot configuration hv-qemu.sh composes for rtos-demo, with RNG_NODE
 * at the end of the VM's node. */
static void write_config(void)
{
	char path[512];

	snprintf(path, sizeof path, "%s/hv-core/guests/vms/rtos-demo.dtsi", HV_SOURCE_DIR);
	char *vm = read_file_text(path);
	cr_assert_not_null(vm, "%s", path);
	char *end = strrchr(vm, '}');
	cr_assert_not_null(end);
	*end = '\0';
	snprintf(config, sizeof config, "%s/boot.dts", tmp);
	FILE *f = fopen(config, "w");
	cr_assert_not_null(f);
	fprintf(f,
		"/dts-v1/;\n/ {\n\tcompatible = \"avirt,system-config-v1\";\n"
		"\thv-core {\n\t\tvehicle-state {\n\t\t\tsource = \"management\";\n"
		"\t\t\tinitial = \"parked\";\n\t\t};\n\t};\n\tvms {\n%s" RNG_NODE "};\n\t};\n};\n",
		vm);
	fclose(f);
	free(vm);
}

static void setup(void)
{
	struct hvq_opts o = HVQ_OPTS_DEFAULT;

	out = err = NULL;
	memset(&agent, 0, sizeof agent);
	snprintf(tmp, sizeof tmp, "/tmp/agent_virtio.XXXXXX");
	cr_assert_not_null(mkdtemp(tmp));
	write_config();
	o.extra[0] = "--config";
	o.extra[1] = config;
	agent_stack_start_core(&q, &o);
	snprintf(listen_at, sizeof listen_at, "127.0.0.1:%d", loopback_port());
	const char *extra[] = { "--metrics-listen", listen_at, "--metrics-interval-ms", "250", NULL };
	cr_assert_eq(agent_start(&agent, q.dir, extra), 0, "%s", agent.err);
	snprintf(uri, sizeof uri, "unix://%s", agent.sock);
}

static void teardown(void)
{
	agent_stack_stop(&q, &agent);
	unlink(config);
	rmdir(tmp);
	free(out);
	free(err);
}

#define HVCTL(...) hvctl_run((const char *const[]){ "--connect", uri, __VA_ARGS__, NULL })

static int hvctl_run(const char *const *args)
{
	free(out);
	free(err);
	out = err = NULL;
	return run_hvctl(args, &out, &err);
}

TestSuite(agent_virtio, .init = setup, .fini = teardown, .timeout = 400);

/* MGMT-850 through GetVm and GetStats: hvctl lists the device and shows its
 * counters in both forms. */
Test(agent_virtio, dominfo_and_domstats_show_the_devices)
{
	cr_assert_eq(HVCTL("dominfo", "rtos-demo"), 0, "%s", err);
	cr_assert_not_null(strstr(out, "Virtio devices: 1\n"), "%s", out);
	cr_assert_not_null(strstr(out, "  rng      window 0x0a000000, SPI 16, status 0x"), "%s", out);

	cr_assert_eq(HVCTL("dominfo", "rtos-demo", "--json"), 0, "%s", err);
	json_error_t je;
	json_t *j = json_loads(out, 0, &je);
	cr_assert_not_null(j, "%s: %s", je.text, out);
	json_t *devs = json_object_get(j, "virtio_devices");
	cr_assert(json_is_array(devs) && json_array_size(devs) == 1, "%s", out);
	json_t *d = json_array_get(devs, 0);
	cr_expect_str_eq(json_string_value(json_object_get(d, "type")), "rng");
	cr_expect_eq(json_integer_value(json_object_get(d, "window")), 0x0a000000);
	cr_expect_eq(json_integer_value(json_object_get(d, "spi")), 16);
	json_decref(j);

	cr_assert_eq(HVCTL("domstats", "rtos-demo"), 0, "%s", err);
	cr_assert_not_null(strstr(out, "  virtio.count=1\n"), "%s", out);
	cr_assert_not_null(strstr(out, "  virtio.0.type=rng\n"), "%s", out);
	/* the guest never drives the device */
	cr_assert_not_null(strstr(out, "  virtio.0.requests=0\n"), "%s", out);
	cr_assert_not_null(strstr(out, "  virtio.0.errors=0\n"), "%s", out);

	cr_assert_eq(HVCTL("domstats", "--json"), 0, "%s", err);
	j = json_loads(out, 0, &je);
	cr_assert_not_null(j, "%s: %s", je.text, out);
	d = json_array_get(json_object_get(json_array_get(json_object_get(j, "vms"), 0),
					   "virtio_devices"),
			   0);
	cr_assert_not_null(d, "%s", out);
	cr_expect_str_eq(json_string_value(json_object_get(d, "type")), "rng");
	cr_expect_eq(json_integer_value(json_object_get(d, "requests")), 0);
	cr_expect(json_is_integer(json_object_get(d, "bytes")), "%s", out);
	json_decref(j);

	/* the device list survives the VM's restart; its counters restart at 0 */
	cr_assert_eq(HVCTL("destroy", "rtos-demo"), 0, "%s", err);
	cr_assert_eq(HVCTL("dominfo", "rtos-demo"), 0, "%s", err);
	cr_assert_not_null(strstr(out, "Virtio devices: 1\n"), "%s", out);
	cr_assert_eq(agent_stop(&agent), 0, "hv-agent did not stop cleanly");
}

/* The counters as Prometheus metrics (docs/telemetry.md). */
Test(agent_virtio, metrics_carry_the_device_counters)
{
	char url[128];
	snprintf(url, sizeof url, "http://%s/metrics", listen_at);
	const char *want = "hv_vm_virtio_requests_total{name=\"rtos-demo\",uuid=\"";
	int found = 0;
	/* the first scrape makes the feeder read the records: bounded wait */
	for (int i = 0; i < 300 && !found; i++) {
		free(out);
		free(err);
		out = err = NULL;
		if (run_program(HV_CURL, (const char *const[]){ "-sf", url, NULL }, &out, &err) == 0 &&
		    strstr(out, want))
			found = 1;
		else
			usleep(100 * 1000);
	}
	cr_assert(found, "no scrape of %s showed %s: %s", url, want, out ? out : "");
	cr_assert_not_null(strstr(out, ",device=\"0\",type=\"rng\"} 0\n"), "%s", out);
	cr_assert_not_null(strstr(out, "# TYPE hv_vm_virtio_errors_total counter\n"), "%s", out);
	cr_assert_not_null(strstr(out, "hv_vm_virtio_bytes_total{name=\"rtos-demo\""), "%s", out);
	/* no net device: no frame series */
	cr_assert_null(strstr(out, "hv_vm_virtio_limited_total{"), "%s", out);
	cr_assert_eq(agent_stop(&agent), 0, "hv-agent did not stop cleanly");
}
