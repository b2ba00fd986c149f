/*
 * telemetry.c - the registry and its rendering in the Prometheus text format
 * 0.0.4 (docs/telemetry.md lists every metric and where it comes from).
 */
#include "telemetry.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>
#include <time.h>

#include "deadline.h"

/* Upper bounds of the RPC duration histogram, in seconds. */
static const double rpc_bounds[] = { 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
				     0.1,    0.25,  0.5,    1,     2.5,  5,     10 };
#define RPC_NB (sizeof rpc_bounds / sizeof rpc_bounds[0])
/* Distinct (method, code) pairs kept; more are counted as dropped. */
#define RPC_SERIES_MAX 256

struct rpc_series {
	char service[48], method[48];
	int code;
	uint64_t bucket[RPC_NB]; /* not cumulative: bucket[i] counts (b[i-1], b[i]] */
	uint64_t count;
	uint64_t sum_ns;
};

struct telemetry {
	pthread_mutex_t lock;
	char version[32];
	uint64_t start_unix_s;
	struct tm_core core;
	struct tm_vm vms[HVM_MAX_VMS];
	size_t nvms;
	uint64_t samples, sample_errors;
	uint64_t sample_mono_ns; /* when the last successful sample was taken */
	struct tm_agent agent;
	unsigned open_streams;
	uint64_t refusals[HVM_OP__COUNT]; /* POLICY_DENIED events by operation */
	struct rpc_series *rpc;
	size_t nrpc;
	uint64_t rpc_dropped;
	uint64_t last_read_ns; /* atomic; 0 = never read */
};

struct telemetry *telemetry_new(const char *version)
{
	struct telemetry *t = calloc(1, sizeof *t);

	if (!t)
		return NULL;
	t->rpc = calloc(RPC_SERIES_MAX, sizeof *t->rpc);
	if (!t->rpc) {
		free(t);
		return NULL;
	}
	pthread_mutex_init(&t->lock, NULL);
	snprintf(t->version, sizeof t->version, "%s", version);
	t->start_unix_s = (uint64_t)time(NULL);
	return t;
}

void telemetry_free(struct telemetry *t)
{
	if (!t)
		return;
	pthread_mutex_destroy(&t->lock);
	free(t->rpc);
	free(t);
}

void telemetry_set_core(struct telemetry *t, const struct tm_core *core, const struct tm_vm *vms,
			size_t n)
{
	if (n > HVM_MAX_VMS)
		n = HVM_MAX_VMS;
	pthread_mutex_lock(&t->lock);
	t->core = *core;
	memcpy(t->vms, vms, n * sizeof *vms);
	t->nvms = n;
	t->samples++;
	t->sample_mono_ns = hv_mono_ns();
	pthread_mutex_unlock(&t->lock);
}

void telemetry_sample_failed(struct telemetry *t)
{
	pthread_mutex_lock(&t->lock);
	t->sample_errors++;
	t->core.up = 0;
	t->nvms = 0;
	pthread_mutex_unlock(&t->lock);
}

void telemetry_set_agent(struct telemetry *t, const struct tm_agent *a)
{
	pthread_mutex_lock(&t->lock);
	t->agent = *a;
	pthread_mutex_unlock(&t->lock);
}

void telemetry_set_open_streams(struct telemetry *t, unsigned n)
{
	pthread_mutex_lock(&t->lock);
	t->open_streams = n;
	pthread_mutex_unlock(&t->lock);
}

void telemetry_count_refusal(struct telemetry *t, uint32_t op)
{
	if (op >= HVM_OP__COUNT)
		return;
	pthread_mutex_lock(&t->lock);
	t->refusals[op]++;
	pthread_mutex_unlock(&t->lock);
}

void telemetry_mark_read(struct telemetry *t)
{
	__atomic_store_n(&t->last_read_ns, hv_mono_ns(), __ATOMIC_RELAXED);
}

int telemetry_recently_read(struct telemetry *t, uint64_t window_ns)
{
	uint64_t last = __atomic_load_n(&t->last_read_ns, __ATOMIC_RELAXED);
	return last && hv_mono_ns() - last < window_ns;
}

void telemetry_snapshot(struct telemetry *t, struct tm_core *core, struct tm_vm *vms, size_t *n)
{
	pthread_mutex_lock(&t->lock);
	*core = t->core;
	memcpy(vms, t->vms, t->nvms * sizeof *vms);
	*n = t->nvms;
	pthread_mutex_unlock(&t->lock);
}

/* "/hvmgr.v1.Hvmgr/GetVm" -> "hvmgr.v1.Hvmgr", "GetVm". */
static void split_method(const char *path, char *svc, size_t svc_len, char *m, size_t m_len)
{
	const char *p = path[0] == '/' ? path + 1 : path;
	const char *slash = strchr(p, '/');

	if (!slash) {
		snprintf(svc, svc_len, "unknown");
		snprintf(m, m_len, "%s", p);
		return;
	}
	snprintf(svc, svc_len, "%.*s", (int)(slash - p), p);
	snprintf(m, m_len, "%s", slash + 1);
}

void telemetry_rpc_observe(void *arg, const char *method, int code, uint64_t duration_ns)
{
	struct telemetry *t = arg;
	char svc[48], m[48];
	struct rpc_series *s = NULL;
	double secs = (double)duration_ns / 1e9;

	split_method(method, svc, sizeof svc, m, sizeof m);
	pthread_mutex_lock(&t->lock);
	for (size_t i = 0; i < t->nrpc; i++) {
		if (t->rpc[i].code == code && strcmp(t->rpc[i].method, m) == 0 &&
		    strcmp(t->rpc[i].service, svc) == 0) {
			s = &t->rpc[i];
			break;
		}
	}
	if (!s && t->nrpc < RPC_SERIES_MAX) {
		s = &t->rpc[t->nrpc++];
		memcpy(s->service, svc, sizeof svc);
		memcpy(s->method, m, sizeof m);
		s->code = code;
	}
	if (!s) {
		t->rpc_dropped++;
		pthread_mutex_unlock(&t->lock);
		return;
	}
	for (size_t b = 0; b < RPC_NB; b++) {
		if (secs <= rpc_bounds[b]) {
			s->bucket[b]++;
			break;
		}
	}
	s->count++;
	s->sum_ns += duration_ns;
	pthread_mutex_unlock(&t->lock);
}

/* ---- rendering ---- */

struct out {
	char *buf;
	size_t len, cap;
	int oom;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->oom)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			o->oom = 1;
			return;
		}
		if ((size_t)n < o->cap - o->len) {
			o->len += (size_t)n;
			return;
		}
		size_t cap = o->cap * 2 + (size_t)n;
		char *nb = realloc(o->buf, cap);
		if (!nb) {
			o->oom = 1;
			return;
		}
		o->buf = nb;
		o->cap = cap;
	}
}

/* A label value with \, " and newline escaped (the format's three escapes). */
static void put_value(struct out *o, const char *v)
{
	char tmp[2 * 64 + 1];
	size_t j = 0;

	for (size_t i = 0; v[i] && j + 2 < sizeof tmp; i++) {
		char c = v[i];
		if (c == '\\' || c == '"') {
			tmp[j++] = '\\';
			tmp[j++] = c;
		} else if (c == '\n') {
			tmp[j++] = '\\';
			tmp[j++] = 'n';
		} else {
			tmp[j++] = c;
		}
	}
	tmp[j] = '\0';
	put(o, "\"%s\"", tmp);
}

static void head(struct out *o, const char *name, const char *type, const char *help)
{
	put(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{name="web",uuid="..."[,extra]} */
/* "metric{name=...,uuid=..." with the label set still open. */
static void vm_open(struct out *o, const char *metric, const struct tm_vm *v)
{
	put(o, "%s{name=", metric);
	put_value(o, v->name);
	put(o, ",uuid=");
	put_value(o, v->uuid);
}

static void vm_series(struct out *o, const char *metric, const struct tm_vm *v, const char *extra)
{
	vm_open(o, metric, v);
	put(o, "%s%s} ", extra ? "," : "", extra ? extra : "");
}

static const char *const state_names[] = { "nostate",  "running", "blocked", "paused",
					   "shutdown", "shutoff", "crashed" };
/* enum hvm_fault_kind, [0] unused (MGMT-060) */
static const char *const fault_kind_names[6] = { "none",     "stage2_abort", "undef_trap",
						 "watchdog", "guest_report", "hypercall" };
static const char *const exit_names[HVM_EXIT__COUNT] = { "wfx",  "hvc",    "smc", "dabt",
							 "iabt", "sysreg", "irq", "other" };

/* A per-VM figure taken from the slot (always there). */
#define VM_GAUGE(o, t, metric, type, help, fmt, expr)                                              \
	do {                                                                                       \
		head(o, metric, type, help);                                                       \
		for (size_t i_ = 0; i_ < (t)->nvms; i_++) {                                        \
			const struct tm_vm *v = &(t)->vms[i_];                                     \
			vm_series(o, metric, v, NULL);                                             \
			put(o, fmt "\n", expr);                                                    \
		}                                                                                  \
	} while (0)

/* A per-VM counter of the GET_STATS record (VMs whose record was read). */
#define VM_STAT(o, t, metric, help, field)                                                         \
	do {                                                                                       \
		head(o, metric, "counter", help);                                                  \
		for (size_t i_ = 0; i_ < (t)->nvms; i_++) {                                        \
			const struct tm_vm *v = &(t)->vms[i_];                                     \
			if (!v->have_stats)                                                        \
				continue;                                                          \
			vm_series(o, metric, v, NULL);                                             \
			put(o, "%llu\n", (unsigned long long)v->stats.field);                      \
		}                                                                                  \
	} while (0)

static const char *virtio_type_label(uint32_t type)
{
	switch (type) {
	case 1:
		return "net";
	case 2:
		return "blk";
	case 3:
		return "console";
	case 4:
		return "rng";
	}
	return "unknown";
}

/* GET_VIRTIO's counters (docs/mgmt-abi.md MGMT-850), one series per device:
 * `device` its index in the VM's configuration, `type` its kind. */
static void render_virtio(struct out *o, const struct telemetry *t)
{
	static const struct {
		const char *metric, *help;
		size_t off;
		int net_only;
	} c[] = {
		{ "hv_vm_virtio_requests_total",
		  "Requests a VIRTIO device completed (net: frames sent and received).",
		  offsetof(struct hvm_virtio_dev, requests), 0 },
		{ "hv_vm_virtio_bytes_total", "Bytes a VIRTIO device moved to or from the guest.",
		  offsetof(struct hvm_virtio_dev, bytes), 0 },
		{ "hv_vm_virtio_errors_total", "Bad input a VIRTIO device refused (GABI-486).",
		  offsetof(struct hvm_virtio_dev, errors), 0 },
		{ "hv_vm_virtio_notifies_total", "Queue notifications a VIRTIO device took.",
		  offsetof(struct hvm_virtio_dev, notifies), 0 },
		{ "hv_vm_virtio_dropped_total", "Frames a virtio-net device did not deliver.",
		  offsetof(struct hvm_virtio_dev, dropped), 1 },
		{ "hv_vm_virtio_limited_total",
		  "Frames a virtio-net device dropped over its frame-rate (VMCFG-850).",
		  offsetof(struct hvm_virtio_dev, limited), 1 },
	};
	char extra[64];

	for (size_t k = 0; k < sizeof c / sizeof c[0]; k++) {
		head(o, c[k].metric, "counter", c[k].help);
		for (size_t i = 0; i < t->nvms; i++) {
			const struct tm_vm *v = &t->vms[i];
			for (uint32_t d = 0;
			     v->have_virtio && d < v->virtio.count && d < HVM_VIRTIO_MAX; d++) {
				const struct hvm_virtio_dev *dev = &v->virtio.dev[d];
				uint64_t val;
				if (c[k].net_only && dev->type != 1)
					continue;
				memcpy(&val, (const uint8_t *)dev + c[k].off, sizeof val);
				snprintf(extra, sizeof extra, "device=\"%u\",type=\"%s\"", d,
					 virtio_type_label(dev->type));
				vm_series(o, c[k].metric, v, extra);
				put(o, "%llu\n", (unsigned long long)val);
			}
		}
	}
	/* MGMT-866: the virtio-blk backend process hv-agent runs for a VM */
	head(o, "hv_vm_blkback_up", "gauge",
	     "1 while the VM's virtio-blk backend process runs; `state` running, adopted, "
	     "restarting or failed.");
	for (size_t i = 0; i < t->nvms; i++) {
		const struct tm_vm *v = &t->vms[i];
		if (!v->have_blkback)
			continue;
		snprintf(extra, sizeof extra, "state=\"%s\"", v->blkback_state);
		vm_series(o, "hv_vm_blkback_up", v, extra);
		put(o, "%d\n", v->blkback_up);
	}
	head(o, "hv_vm_blkback_restarts_total", "counter",
	     "Times hv-agent started the VM's virtio-blk backend again after it ended.");
	for (size_t i = 0; i < t->nvms; i++) {
		const struct tm_vm *v = &t->vms[i];
		if (!v->have_blkback)
			continue;
		vm_series(o, "hv_vm_blkback_restarts_total", v, NULL);
		put(o, "%u\n", v->blkback_restarts);
	}
}

/* A VM's OTA slots (docs/mgmt-abi.md MGMT-613): per slot its state and
 * version, which one is active, the trial, the floor and the last result. */
static void render_ota(struct out *o, const struct telemetry *t)
{
	head(o, "hv_vm_ota_slot_info", "gauge",
	     "A VM's A/B image slot: its state (good, bad, trial, ready, empty) and version.");
	for (size_t i = 0; i < t->nvms; i++) {
		const struct tm_vm *v = &t->vms[i];
		for (int s = 0; v->have_ota && s < 2; s++) {
			vm_open(o, "hv_vm_ota_slot_info", v);
			put(o, ",slot=\"%c\",state=\"%s\",version=", 'A' + s, v->ota_state[s]);
			put_value(o, v->ota_version[s]);
			put(o, "} 1\n");
		}
	}
	head(o, "hv_vm_ota_active_slot", "gauge", "1 for the slot the VM boots, 0 for the other.");
	for (size_t i = 0; i < t->nvms; i++) {
		const struct tm_vm *v = &t->vms[i];
		for (int s = 0; v->have_ota && s < 2; s++) {
			vm_series(o, "hv_vm_ota_active_slot", v, s ? "slot=\"B\"" : "slot=\"A\"");
			put(o, "%d\n", v->ota_active == s);
		}
	}
	head(o, "hv_vm_ota_in_trial", "gauge",
	     "1 while hv-core runs the trial boot of the VM's new slot (MGMT-620).");
	for (size_t i = 0; i < t->nvms; i++)
		if (t->vms[i].have_ota) {
			vm_series(o, "hv_vm_ota_in_trial", &t->vms[i], NULL);
			put(o, "%d\n", t->vms[i].ota_in_trial);
		}
	head(o, "hv_vm_ota_info", "gauge",
	     "A VM's anti-rollback floor and the result of its last update step.");
	for (size_t i = 0; i < t->nvms; i++) {
		const struct tm_vm *v = &t->vms[i];
		if (!v->have_ota)
			continue;
		vm_open(o, "hv_vm_ota_info", v);
		put(o, ",last_result=\"%s\",floor=", v->ota_result);
		put_value(o, v->ota_floor);
		put(o, "} 1\n");
	}
}

static void render_vms(struct out *o, const struct telemetry *t)
{
	char extra[64];

	head(o, "hv_vm_info", "gauge",
	     "A VM hv-core has defined: its slot id and the image version its guest reports.");
	for (size_t i = 0; i < t->nvms; i++) {
		const struct tm_vm *v = &t->vms[i];
		put(o, "hv_vm_info{name=");
		put_value(o, v->name);
		put(o, ",uuid=");
		put_value(o, v->uuid);
		put(o, ",id=\"%u\",image_version=", v->id);
		put_value(o, v->image_version);
		put(o, "} 1\n");
	}
	head(o, "hv_vm_state", "gauge", "1 for the state the VM is in, 0 for the others.");
	for (size_t i = 0; i < t->nvms; i++) {
		for (uint32_t s = 0; s < sizeof state_names / sizeof state_names[0]; s++) {
			snprintf(extra, sizeof extra, "state=\"%s\"", state_names[s]);
			vm_series(o, "hv_vm_state", &t->vms[i], extra);
			put(o, "%d\n", t->vms[i].state == s);
		}
	}
	VM_GAUGE(o, t, "hv_vm_criticality", "gauge",
		 "Criticality of the VM: 0 QM, 1..4 ASIL A..D (docs/vm-config.md).", "%u",
		 v->criticality);
	VM_GAUGE(o, t, "hv_vm_vcpus", "gauge", "Virtual CPUs of the VM.", "%u", v->vcpus);
	VM_GAUGE(o, t, "hv_vm_memory_bytes", "gauge", "Memory of the VM.", "%llu",
		 (unsigned long long)v->mem_bytes);
	VM_GAUGE(o, t, "hv_vm_heartbeats_total", "counter",
		 "The guest's heartbeat counter (cooperation page) as hv-core last copied it.",
		 "%llu", (unsigned long long)v->heartbeat);
	VM_GAUGE(o, t, "hv_vm_heartbeat_age_seconds", "gauge",
		 "Time since the heartbeat last changed, on hv-core's clock, at the last sample.",
		 "%.9f", (double)v->heartbeat_age_ns / 1e9);
	VM_GAUGE(o, t, "hv_vm_health_code", "gauge",
		 "The health code the guest reports on its cooperation page (0 = healthy).", "%u",
		 v->health_code);
	VM_GAUGE(o, t, "hv_vm_cpu_seconds_total", "counter",
		 "Guest execution time, all vCPUs together.", "%.9f", (double)v->cpu_time_ns / 1e9);

	head(o, "hv_vm_exits_total", "counter", "Traps of the VM to EL2 by exit class (MGMT-180).");
	for (size_t i = 0; i < t->nvms; i++) {
		if (!t->vms[i].have_stats)
			continue;
		for (unsigned c = 0; c < HVM_EXIT__COUNT; c++) {
			snprintf(extra, sizeof extra, "class=\"%s\"", exit_names[c]);
			vm_series(o, "hv_vm_exits_total", &t->vms[i], extra);
			put(o, "%llu\n", (unsigned long long)t->vms[i].stats.exits_by_class[c]);
		}
	}
	VM_STAT(o, t, "hv_vm_irqs_injected_total", "Virtual interrupts delivered to the VM.",
		irqs_injected);
	VM_STAT(o, t, "hv_vm_faults_total", "Faults of the VM, of any kind.", faults);
	VM_STAT(o, t, "hv_vm_faults_ignored_total", "Faults the VM's ignore policy let pass.",
		faults_ignored);
	head(o, "hv_vm_faults_by_kind_total", "counter",
	     "Faults of the VM by kind (MGMT-802; 0 from an hv-core before ABI 2.2).");
	for (size_t i = 0; i < t->nvms; i++) {
		if (!t->vms[i].have_stats)
			continue;
		for (unsigned k = 1; k < sizeof fault_kind_names / sizeof fault_kind_names[0]; k++) {
			snprintf(extra, sizeof extra, "kind=\"%s\"", fault_kind_names[k]);
			vm_series(o, "hv_vm_faults_by_kind_total", &t->vms[i], extra);
			put(o, "%llu\n", (unsigned long long)t->vms[i].stats.faults_by_kind[k]);
		}
	}
	VM_STAT(o, t, "hv_vm_watchdog_expiries_total", "Heartbeat watchdog expiries of the VM.",
		watchdog_expiries);
	VM_STAT(o, t, "hv_vm_restarts_total", "Restarts of the VM by its fault policy.", restarts);
	VM_GAUGE(o, t, "hv_vm_restart_budget", "gauge",
		 "Fault-policy restarts the VM's restart budget allows per window (VMCFG-025).",
		 "%u", v->restart_budget);
	VM_GAUGE(o, t, "hv_vm_restarts_left", "gauge",
		 "Fault-policy restarts the budget still allows now (0 with the restart policy: "
		 "the VM runs its last attempt).",
		 "%u", v->restarts_left);

	head(o, "hv_vm_doorbells_total", "counter",
	     "Doorbells: sent (granted, rung by this VM), received (rung on it by peers), denied.");
	for (size_t i = 0; i < t->nvms; i++) {
		const struct tm_vm *v = &t->vms[i];
		if (!v->have_stats)
			continue;
		vm_series(o, "hv_vm_doorbells_total", v, "direction=\"sent\"");
		put(o, "%llu\n", (unsigned long long)v->stats.doorbells_sent);
		vm_series(o, "hv_vm_doorbells_total", v, "direction=\"received\"");
		put(o, "%llu\n", (unsigned long long)v->stats.doorbells_received);
		vm_series(o, "hv_vm_doorbells_total", v, "direction=\"denied\"");
		put(o, "%llu\n", (unsigned long long)v->stats.doorbells_denied);
	}
	render_virtio(o, t);
	render_ota(o, t);
}

static void render_core(struct out *o, const struct telemetry *t)
{
	const struct tm_core *c = &t->core;

	head(o, "hv_up", "gauge", "1 when hv-core's management region was live at the last sample.");
	put(o, "hv_up %d\n", c->up);
	if (!c->up)
		return;
	head(o, "hv_core_info", "gauge", "hv-core's version and management ABI.");
	put(o, "hv_core_info{version=");
	put_value(o, c->hv_version);
	put(o, ",abi=\"%u.%u\"} 1\n", c->abi_major, c->abi_minor);
	head(o, "hv_core_uptime_seconds", "gauge", "Time since hv-core booted, on its own clock.");
	put(o, "hv_core_uptime_seconds %.9f\n", (double)c->uptime_ns / 1e9);
	head(o, "hv_core_selftest_passed", "gauge",
	     "1 when every boot self-test check of hv-core passed.");
	put(o, "hv_core_selftest_passed %d\n", c->selftest_failed == 0);
	head(o, "hv_core_selftest_failed_checks", "gauge",
	     "Bitmask of hv-core's failed boot self-test checks (docs/mgmt-abi.md MGMT-100).");
	put(o, "hv_core_selftest_failed_checks %u\n", c->selftest_failed);
	head(o, "hv_core_physical_cpus", "gauge", "Physical CPUs hv-core found.");
	put(o, "hv_core_physical_cpus %u\n", c->pcpu_count);
	if (c->have_vehicle) {
		head(o, "hv_vehicle_state", "gauge",
		     "1 for the vehicle state hv-core's safety policy acts on, 0 for the others.");
		for (uint32_t s = 0; s < HVM_VS__COUNT; s++)
			put(o, "hv_vehicle_state{state=\"%s\"} %d\n", hvm_vehicle_state_name(s),
			    c->vehicle_state == s);
		head(o, "hv_vehicle_state_age_seconds", "gauge",
		     "Time since the vehicle state's source last wrote it, on hv-core's clock.");
		put(o, "hv_vehicle_state_age_seconds %.9f\n", (double)c->vehicle_age_ns / 1e9);
		head(o, "hv_vehicle_state_source_info", "gauge",
		     "Where the vehicle state comes from: management or a guest (MGMT-401).");
		put(o, "hv_vehicle_state_source_info{source=\"%s\"} 1\n",
		    c->vehicle_source == HVM_VSRC_GUEST ? "guest" : "management");
	}
	head(o, "hv_policy_refusals_total", "counter",
	     "Commands hv-core's safety policy refused, by operation (POLICY_DENIED events).");
	for (uint32_t op = 0; op < HVM_OP__COUNT; op++)
		put(o, "hv_policy_refusals_total{operation=\"%s\"} %llu\n", hvm_policy_op_name(op),
		    (unsigned long long)t->refusals[op]);
}

static void render_rpc(struct out *o, const struct telemetry *t)
{
	head(o, "hv_agent_rpc_duration_seconds", "histogram",
	     "Time hv-agent took to answer an RPC, by service, method and status code.");
	for (size_t i = 0; i < t->nrpc; i++) {
		const struct rpc_series *s = &t->rpc[i];
		char lab[160];
		uint64_t cum = 0;

		snprintf(lab, sizeof lab, "grpc_service=\"%s\",grpc_method=\"%s\",grpc_code=\"%s\"",
			 s->service, s->method, hv_code_name(s->code));
		for (size_t b = 0; b < RPC_NB; b++) {
			cum += s->bucket[b];
			put(o, "hv_agent_rpc_duration_seconds_bucket{%s,le=\"%g\"} %llu\n", lab,
			    rpc_bounds[b], (unsigned long long)cum);
		}
		put(o, "hv_agent_rpc_duration_seconds_bucket{%s,le=\"+Inf\"} %llu\n", lab,
		    (unsigned long long)s->count);
		put(o, "hv_agent_rpc_duration_seconds_sum{%s} %.9f\n", lab, (double)s->sum_ns / 1e9);
		put(o, "hv_agent_rpc_duration_seconds_count{%s} %llu\n", lab,
		    (unsigned long long)s->count);
	}
}

/* An unlabelled series with its HELP and TYPE lines. */
static void single(struct out *o, const char *name, const char *type, const char *help,
		   unsigned long long v)
{
	head(o, name, type, help);
	put(o, "%s %llu\n", name, v);
}

static void render_agent(struct out *o, const struct telemetry *t)
{
	const struct tm_agent *a = &t->agent;

	head(o, "hv_agent_info", "gauge", "hv-agent's version.");
	put(o, "hv_agent_info{version=");
	put_value(o, t->version);
	put(o, "} 1\n");
	single(o, "hv_agent_start_time_seconds", "gauge",
	       "When hv-agent started, in seconds since the Unix epoch.", t->start_unix_s);
	render_rpc(o, t);
	single(o, "hv_agent_rpc_series_dropped_total", "counter",
	       "RPCs not counted because the histogram holds its most (method, code) pairs.",
	       t->rpc_dropped);
	single(o, "hv_agent_open_streams", "gauge", "Server streams open right now.",
	       t->open_streams);
	single(o, "hv_agent_operations_waiting", "gauge",
	       "State-changing operations waiting behind the one in progress.", a->ops_waiting);
	single(o, "hv_agent_commands_waiting", "gauge",
	       "Commands waiting for hv-core's register interface.", a->cmd_waiting);
	single(o, "hv_agent_commands_total", "counter",
	       "Management commands hv-agent submitted to hv-core.", a->cmd_sent);
	single(o, "hv_agent_commands_failed_total", "counter",
	       "Management commands hv-core completed with a refusal.", a->cmd_failed);
	single(o, "hv_agent_commands_timed_out_total", "counter",
	       "Management commands hv-core did not complete in time.", a->cmd_timed_out);
	single(o, "hv_agent_events_lost_total", "counter",
	       "hv-core events overwritten before hv-agent read them.", a->events_lost);
	single(o, "hv_agent_audit_failures_total", "counter",
	       "Audit rows that could not be written.", a->audit_failures);
	single(o, "hv_agent_store_up", "gauge",
	       "1 when the store is open (its integrity was checked when it was opened).",
	       (unsigned long long)a->store_ok);
	single(o, "hv_telemetry_samples_total", "counter", "Samples of hv-core taken.", t->samples);
	single(o, "hv_telemetry_sample_errors_total", "counter",
	       "Samples of hv-core that failed (hv-core not reachable, a record refused).",
	       t->sample_errors);
	head(o, "hv_telemetry_sample_age_seconds", "gauge",
	     "Time since the last successful sample of hv-core, when the scrape was served.");
	put(o, "hv_telemetry_sample_age_seconds %.6f\n",
	    t->samples ? (double)(hv_mono_ns() - t->sample_mono_ns) / 1e9 : 0.0);
}

char *telemetry_render(struct telemetry *t, size_t *len)
{
	struct out o = { .cap = 32 * 1024 };

	o.buf = malloc(o.cap);
	if (!o.buf)
		return NULL;
	telemetry_mark_read(t);
	pthread_mutex_lock(&t->lock);
	render_core(&o, t);
	render_vms(&o, t);
	render_agent(&o, t);
	pthread_mutex_unlock(&t->lock);
	if (o.oom) {
		free(o.buf);
		return NULL;
	}
	*len = o.len;
	return o.buf;
}
