/*
 * telemetry.h - hv-agent's one telemetry registry (REQ-PRD-06) and its
 * Prometheus endpoint (docs/telemetry.md).
 *
 * The registry holds the latest sample of hv-core (register page, status
 * slots, GET_STATS records), the agent's own gauges and a histogram of every
 * RPC by method and code. A feeder (agent/service/telemetry_feed.c) refreshes
 * the hv-core part at a fixed interval; the RPC server adds each finished call.
 * Rendering reads memory only: a scrape runs no sqlite statement and no
 * hv-core command, so scraping can never slow down management.
 *
 * The exposition is the Prometheus text format 0.0.4: base units (seconds,
 * bytes), counters ending in _total, _info metrics, hv_up, no timestamps.
 *
 * Layer: beside hvlink and rpc (agent/CMakeLists.txt); needs common only.
 * Thread safety: every call may be made from any thread.
 */
#ifndef TELEMETRY_H
#define TELEMETRY_H

#include <stddef.h>
#include <stdint.h>

#include "hvmgmt.h"
#include "status.h"

/* One VM as the last sample saw it. */
struct tm_vm {
	uint32_t id, state, reason, criticality, vcpus;
	uint32_t health_code, guest_state;
	uint32_t fault_policy;   /* VMCFG-023: 0 ignore, 1 stop, 2 restart, 3 stop-vcpu */
	uint32_t restart_budget; /* MGMT-800: restarts allowed per window */
	uint32_t restarts_left;  /* MGMT-800: ... the budget still allows now */
	uint64_t mem_bytes, heartbeat, heartbeat_age_ns, cpu_time_ns;
	char name[HVM_NAME_LEN + 1];
	char uuid[37];
	char image_version[HVM_VERSION_LEN + 1];
	int have_stats; /* the GET_STATS record below was read and checked */
	struct hvm_stats stats;
	int have_virtio; /* the GET_VIRTIO record below was read and checked */
	struct hvm_virtio virtio;
	/* MGMT-613: the A/B slots (OTA_STATUS), names set by the feeder */
	int have_ota, ota_active, ota_in_trial;
	char ota_state[2][12];
	char ota_version[2][HVM_VERSION_LEN + 1];
	char ota_floor[HVM_VERSION_LEN + 1];
	char ota_result[20];
	/* MGMT-866: the virtio-blk backend hv-agent runs for the VM (blksup.h) */
	int have_blkback, blkback_up;
	uint32_t blkback_restarts;
	char blkback_state[16];
};

/* hv-core as the last sample saw it. */
struct tm_core {
	int up; /* the management region was live at the last sample */
	uint32_t hv_state, abi_major, abi_minor, pcpu_count, selftest_failed;
	uint64_t uptime_ns, hv_ticks;
	char hv_version[33];
	/* MGMT-401: the vehicle state hv-core acts on, read with the VMs'
	 * GET_STATS records (have_vehicle 0 when it was not read) */
	int have_vehicle;
	uint32_t vehicle_state, vehicle_source;
	uint64_t vehicle_age_ns;
};

/* The agent's own gauges, set by the feeder. */
struct tm_agent {
	uint64_t audit_failures;
	int store_ok;
	uint32_t ops_waiting; /* state-changing operations queued */
	uint32_t cmd_waiting; /* commands waiting for hv-core's register interface */
	uint64_t cmd_sent, cmd_failed, cmd_timed_out;
	uint64_t events_lost;
};

struct telemetry;

/* A registry; version is the agent's ("0.4.0"). NULL when out of memory. */
struct telemetry *telemetry_new(const char *version);
void telemetry_free(struct telemetry *t);

/* Replaces the hv-core sample: core, and the VMs in vms[0..n). A failed
 * sample passes core->up = 0 and n = 0 (the VMs' series disappear, hv_up is 0). */
void telemetry_set_core(struct telemetry *t, const struct tm_core *core, const struct tm_vm *vms,
			size_t n);
/* Counts one failed sampling pass (hv_telemetry_sample_errors_total). */
void telemetry_sample_failed(struct telemetry *t);
void telemetry_set_agent(struct telemetry *t, const struct tm_agent *a);
void telemetry_set_open_streams(struct telemetry *t, unsigned n);
/* Counts one command the safety policy refused (a POLICY_DENIED event,
 * MGMT-405): op is its enum hvm_policy_op. */
void telemetry_count_refusal(struct telemetry *t, uint32_t op);

/* One finished RPC: method path ("/hvmgr.v1.Hvmgr/GetVm"), RPC status code,
 * duration. The signature of rpc_observe_fn (rpc_server.h). */
void telemetry_rpc_observe(void *t, const char *method, int code, uint64_t duration_ns);

/* The whole exposition, malloc'd and NUL-terminated (*len without the NUL);
 * NULL when out of memory. */
char *telemetry_render(struct telemetry *t, size_t *len);

/* Someone reads the registry (a scrape, an open WatchHealth stream). The
 * feeder asks hv-core for GET_STATS records only while the registry is read
 * (telemetry_recently_read), so an agent nobody watches sends no commands. */
void telemetry_mark_read(struct telemetry *t);
/* True when the registry was read within the last `window_ns`. */
int telemetry_recently_read(struct telemetry *t, uint64_t window_ns);

/* Copies of the latest sample, for other readers of the same registry. */
void telemetry_snapshot(struct telemetry *t, struct tm_core *core, struct tm_vm *vms, size_t *n);

/* ---- telemetry_http.c: GET /metrics ---- */

/* Serves /metrics on addr ("127.0.0.1:9477", "[::1]:9477", "localhost:9477")
 * with libmicrohttpd's own thread. The caller checks that addr is loopback
 * when that is required. INVALID_ARGUMENT for an address that does not parse,
 * UNAVAILABLE when it cannot be bound (naming why). */
struct telemetry_http;
int telemetry_http_start(struct telemetry *t, const char *addr, struct telemetry_http **out,
			 struct hv_status *st);
void telemetry_http_stop(struct telemetry_http *h);
/* Scrapes served since start. */
uint64_t telemetry_http_scrapes(struct telemetry_http *h);

#endif /* TELEMETRY_H */
