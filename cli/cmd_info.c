/*
 * cmd_info.c - hvctl's reads about VMs: list, dominfo, domstate, domid,
 * domname, domuuid, domstats. Each has virsh's text form and, where it prints
 * more than one value, a --json form for scripts.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"

/* list's state filters, as virsh's --state-* options. */
static bool list_keeps(const struct hvctl_args *a, int state, bool any_filter)
{
	if (!any_filter)
		return true;
	if (opt_flag(a, "state-running") && state == HVMGR__V1__VM_STATE__VM_STATE_RUNNING)
		return true;
	if (opt_flag(a, "state-paused") && state == HVMGR__V1__VM_STATE__VM_STATE_PAUSED)
		return true;
	if ((opt_flag(a, "state-shutoff") || opt_flag(a, "inactive")) &&
	    state == HVMGR__V1__VM_STATE__VM_STATE_SHUTOFF)
		return true;
	if (opt_flag(a, "state-other") && state != HVMGR__V1__VM_STATE__VM_STATE_RUNNING &&
	    state != HVMGR__V1__VM_STATE__VM_STATE_PAUSED &&
	    state != HVMGR__V1__VM_STATE__VM_STATE_SHUTOFF)
		return true;
	return false;
}

HVCTL_HANDLER(cmd_list)
{
	Hvmgr__V1__ListVmsRequest req = HVMGR__V1__LIST_VMS_REQUEST__INIT;
	Hvmgr__V1__ListVmsResponse *resp;
	bool filter = opt_flag(a, "state-running") || opt_flag(a, "state-paused") ||
		      opt_flag(a, "state-shutoff") || opt_flag(a, "state-other") ||
		      opt_flag(a, "inactive");
	bool json = opt_flag(a, "json"), names = opt_flag(a, "name"), uuids = opt_flag(a, "uuid");
	int rc;

	if ((json ? 1 : 0) + (names ? 1 : 0) + (uuids ? 1 : 0) > 1)
		return hvctl_usage(a->cmd, "--name, --uuid and --json exclude each other");
	req.active_only = !opt_flag(a, "all") && !filter;
	if ((rc = hvctl_call(h, "ListVms", &req.base, &hvmgr__v1__list_vms_response__descriptor,
			     (ProtobufCMessage **)&resp)) != 0)
		return rc;
	json_t *arr = json ? json_array() : NULL;
	static const char *const hdr[] = { "Id", "Name", "State" };
	struct fmt_table *t = !json && !names && !uuids ? fmt_table_new(3, hdr) : NULL;
	for (size_t i = 0; i < resp->n_vms; i++) {
		const Hvmgr__V1__Vm *vm = resp->vms[i];
		if (!list_keeps(a, vm->state, filter))
			continue;
		if (json) {
			json_array_append_new(arr, json_vm(vm));
		} else if (names || uuids) {
			printf("%s\n", names ? vm->name : vm->uuid);
		} else {
			char id[16];
			const char *row[] = { fmt_vm_id(vm, id, sizeof id), vm->name,
					      fmt_state(vm->state) };
			fmt_table_row(t, row);
		}
	}
	if (json) {
		json_print(arr);
	} else {
		fmt_table_print(t);
		fmt_table_free(t);
		putchar('\n');
	}
	protobuf_c_message_free_unpacked(&resp->base, NULL);
	return HVCTL_OK;
}

/* GetVm for a VM argument (with_ota: its A/B slots; with_devices: its VIRTIO
 * devices, MGMT-850); 0 and *out, or the exit status after printing why. */
static int get_vm_with(struct hvctl *h, const char *arg, bool with_ota, bool with_devices,
		       Hvmgr__V1__GetVmResponse **out)
{
	Hvmgr__V1__GetVmRequest req = HVMGR__V1__GET_VM_REQUEST__INIT;
	Hvmgr__V1__VmSelector sel;
	int rc;

	hvctl_selector(&sel, arg);
	req.vm = &sel;
	req.with_ota = with_ota;
	req.with_devices = with_devices;
	if ((rc = hvctl_call(h, "GetVm", &req.base, &hvmgr__v1__get_vm_response__descriptor,
			     (ProtobufCMessage **)out)) != 0)
		return rc;
	if (!(*out)->vm) {
		protobuf_c_message_free_unpacked(&(*out)->base, NULL);
		return hvctl_error(HVCTL_FAIL, h->verb, "hv-agent answered without a VM [INTERNAL]");
	}
	return 0;
}

static int get_vm(struct hvctl *h, const char *arg, Hvmgr__V1__GetVmResponse **out)
{
	return get_vm_with(h, arg, false, false, out);
}

#define ROW(label, fmt, ...) printf("%-15s " fmt "\n", label, __VA_ARGS__)

/* "B active: A 1.0.0 good, B 2.0.0 good; floor 2.0.0; confirmed" */
static void ota_row(const Hvmgr__V1__OtaVmStatus *o)
{
	const Hvmgr__V1__OtaSlot *s[2] = { o->slot_a, o->slot_b };
	char slots[2][80];
	for (int i = 0; i < 2; i++) {
		if (!s[i] || !strcmp(s[i]->state, "empty"))
			snprintf(slots[i], sizeof slots[i], "%c empty", 'A' + i);
		else
			snprintf(slots[i], sizeof slots[i], "%c %s %s", 'A' + i,
				 s[i]->version[0] ? s[i]->version : "?", s[i]->state);
	}
	ROW("OTA slots:", "%s active: %s, %s; floor %s; %s%s", o->active, slots[0], slots[1],
	    o->floor[0] ? o->floor : "-", o->last_result, o->in_trial ? " (trial running)" : "");
}

/* A VIRTIO device (docs/mgmt-abi.md MGMT-850) as dominfo and domstats show
 * it in JSON; counters: its counters too. */
static json_t *json_virtio(const Hvmgr__V1__VirtioDevice *d, bool counters)
{
	json_t *o =
		json_pack("{s:s, s:I, s:I, s:I}", "type", d->type, "window", (json_int_t)d->window,
			  "spi", (json_int_t)d->spi, "status", (json_int_t)d->status);
	if (strcmp(d->type, "net") == 0) {
		json_object_set_new(o, "channel", json_integer(d->channel));
		json_object_set_new(o, "frame_rate", json_integer(d->frame_rate));
	}
	if (d->backend_state && d->backend_state[0]) { /* blk: hv-agent's backend (MGMT-866) */
		json_object_set_new(o, "backend",
				    json_pack("{s:s, s:I, s:I, s:s, s:s}", "state", d->backend_state,
					      "pid", (json_int_t)d->backend_pid, "restarts",
					      (json_int_t)d->backend_restarts, "last_exit",
					      d->backend_last_exit ? d->backend_last_exit : "",
					      "disk", d->disk_path ? d->disk_path : ""));
	}
	if (!counters)
		return o;
	const struct {
		const char *key;
		uint64_t v;
	} c[] = { { "notifies", d->notifies }, { "requests", d->requests },
		  { "bytes", d->bytes },       { "errors", d->errors },
		  { "irqs", d->irqs },         { "dropped", d->dropped },
		  { "limited", d->limited } };
	for (size_t k = 0; k < sizeof c / sizeof c[0]; k++)
		json_object_set_new(o, c[k].key, json_integer((json_int_t)c[k].v));
	return o;
}

/* "rng at 0x0a000000, SPI 16, status 0x0f" (net: its channel and rate). */
static void print_virtio(const Hvmgr__V1__VirtioDevice *d)
{
	printf("  %-8s window 0x%08" PRIx64 ", SPI %u, status 0x%02x", d->type, d->window, d->spi,
	       d->status);
	if (strcmp(d->type, "net") == 0)
		printf(", channel %u, %u frames/s", d->channel, d->frame_rate);
	if (d->status & 0x40)
		printf(" (needs reset)");
	putchar('\n');
	if (d->backend_state && d->backend_state[0]) {
		printf("           backend %s", d->backend_state);
		if (d->backend_pid)
			printf(", pid %u", d->backend_pid);
		printf(", %u restart(s)", d->backend_restarts);
		if (d->backend_last_exit && d->backend_last_exit[0])
			printf(", last %s", d->backend_last_exit);
		printf("\n           disk %s\n", d->disk_path ? d->disk_path : "");
	}
}

HVCTL_HANDLER(cmd_dominfo)
{
	Hvmgr__V1__GetVmResponse *resp;
	bool json = opt_flag(a, "json");
	int rc = get_vm_with(h, a->pos[0], !json, true, &resp);

	if (rc)
		return rc;
	const Hvmgr__V1__Vm *vm = resp->vm;
	if (json) {
		json_t *o = json_vm(vm), *devs = json_array();
		for (size_t i = 0; i < vm->n_virtio_devices; i++)
			json_array_append_new(devs, json_virtio(vm->virtio_devices[i], false));
		json_object_set_new(o, "virtio_devices", devs);
		json_print(o);
	} else {
		char cpus[256], id[16];
		fmt_cpuset(vm->pcpu_mask, cpus, sizeof cpus);
		ROW("Id:", "%s", fmt_vm_id(vm, id, sizeof id));
		ROW("Name:", "%s", vm->name);
		ROW("UUID:", "%s", vm->uuid);
		ROW("State:", "%s", fmt_state(vm->state));
		ROW("Reason:", "%s", fmt_reason(vm->reason));
		ROW("CPU(s):", "%u", vm->vcpus);
		ROW("CPU affinity:", "%s", cpus);
		ROW("CPU time:", "%.1fs", (double)vm->cpu_time_ns / 1e9);
		ROW("Max memory:", "%" PRIu64 " KiB", vm->memory_bytes / 1024);
		ROW("Criticality:", "%s", fmt_criticality(vm->criticality));
		if (strcmp(fmt_fault_policy((int)vm->fault_policy), "unknown") != 0)
			ROW("Fault policy:", "%s", fmt_fault_policy((int)vm->fault_policy));
		else
			ROW("Fault policy:", "unknown (%u)", vm->fault_policy);
		ROW("Heartbeat:", "%" PRIu64 " (%.1fs ago)", vm->heartbeat,
		    (double)vm->heartbeat_age_ns / 1e9);
		ROW("Guest state:", "%s", fmt_guest_state(vm->guest_state));
		ROW("Health code:", "%u", vm->health_code);
		ROW("Image version:", "%s", vm->image_version[0] ? vm->image_version : "-");
		ROW("Faults:", "%u", vm->fault_count);
		ROW("Restarts:", "%u", vm->restart_count);
		ROW("Autostart:", "%s", vm->autostart ? "enable" : "disable");
		if (vm->config_revision)
			ROW("Config rev:", "%u", vm->config_revision);
		else
			ROW("Config rev:", "%s", "-");
		ROW("Desired state:", "%s", vm->desired_state ? fmt_state(vm->desired_state) : "-");
		if (resp->ota)
			ota_row(resp->ota);
		ROW("Virtio devices:", "%zu", vm->n_virtio_devices);
		for (size_t i = 0; i < vm->n_virtio_devices; i++)
			print_virtio(vm->virtio_devices[i]);
		putchar('\n');
	}
	protobuf_c_message_free_unpacked(&resp->base, NULL);
	return HVCTL_OK;
}

HVCTL_HANDLER(cmd_domstate)
{
	Hvmgr__V1__GetVmResponse *resp;
	int rc = get_vm(h, a->pos[0], &resp);

	if (rc)
		return rc;
	const Hvmgr__V1__Vm *vm = resp->vm;
	if (opt_flag(a, "json"))
		json_print(json_pack("{s:s, s:s}", "state", fmt_state(vm->state), "reason",
				     fmt_reason(vm->reason)));
	else if (opt_flag(a, "reason"))
		printf("%s (%s)\n\n", fmt_state(vm->state), fmt_reason(vm->reason));
	else
		printf("%s\n\n", fmt_state(vm->state));
	protobuf_c_message_free_unpacked(&resp->base, NULL);
	return HVCTL_OK;
}

/* domid, domname, domuuid: one value and virsh's empty line. */
static int one_value(struct hvctl *h, const struct hvctl_args *a, char what)
{
	Hvmgr__V1__GetVmResponse *resp;
	int rc = get_vm(h, a->pos[0], &resp);

	if (rc)
		return rc;
	char id[16];
	if (what == 'i')
		printf("%s\n\n", fmt_vm_id(resp->vm, id, sizeof id));
	else
		printf("%s\n\n", what == 'n' ? resp->vm->name : resp->vm->uuid);
	protobuf_c_message_free_unpacked(&resp->base, NULL);
	return HVCTL_OK;
}

HVCTL_HANDLER(cmd_domid)
{
	return one_value(h, a, 'i');
}
HVCTL_HANDLER(cmd_domname)
{
	return one_value(h, a, 'n');
}
HVCTL_HANDLER(cmd_domuuid)
{
	return one_value(h, a, 'u');
}

/* domstats' counters: the JSON key and the virsh-style "group.key" name
 * (NULL: printed elsewhere). One table keeps both forms in step. */
#define STATS_GETTER(field)                                                                        \
	static uint64_t get_##field(const Hvmgr__V1__VmStats *v)                                   \
	{                                                                                          \
		return (uint64_t)v->field;                                                         \
	}
STATS_GETTER(cpu_time_ns)
STATS_GETTER(exits)
STATS_GETTER(irqs_injected)
STATS_GETTER(faults)
STATS_GETTER(faults_ignored)
STATS_GETTER(watchdog_expiries)
STATS_GETTER(restarts)
STATS_GETTER(doorbells_sent)
STATS_GETTER(doorbells_received)
STATS_GETTER(doorbells_denied)
STATS_GETTER(heartbeat)
STATS_GETTER(heartbeat_age_ns)
STATS_GETTER(fault_count)
STATS_GETTER(restart_count)
STATS_GETTER(health_code)
STATS_GETTER(criticality)
static const struct {
	const char *json, *text;
	uint64_t (*get)(const Hvmgr__V1__VmStats *v);
} stats_counters[] = {
	{ "cpu_time_ns", NULL, get_cpu_time_ns },
	{ "exits", NULL, get_exits },
	{ "irqs_injected", "hv.irqs_injected", get_irqs_injected },
	{ "faults", "fault.count", get_faults },
	{ "faults_ignored", "fault.ignored", get_faults_ignored },
	{ "watchdog_expiries", "watchdog.expiries", get_watchdog_expiries },
	{ "restarts", "restart.count", get_restarts },
	{ "doorbells_sent", "doorbell.sent", get_doorbells_sent },
	{ "doorbells_received", "doorbell.received", get_doorbells_received },
	{ "doorbells_denied", "doorbell.denied", get_doorbells_denied },
	{ "heartbeat", "guest.heartbeat", get_heartbeat },
	{ "heartbeat_age_ns", "guest.heartbeat_age_ns", get_heartbeat_age_ns },
	{ "fault_count", NULL, get_fault_count },
	{ "restart_count", NULL, get_restart_count },
	{ "health_code", "guest.health_code", get_health_code },
	{ "criticality", "vm.criticality", get_criticality },
};
#define STATS_COUNTERS (sizeof stats_counters / sizeof stats_counters[0])

/* MGMT-180's exit classes, in the record's order. */
static const struct {
	const char *name;
} exit_classes[] = { { "wfx" },  { "hvc" },    { "smc" }, { "dabt" },
		     { "iabt" }, { "sysreg" }, { "irq" }, { "other" } };
#define EXIT_CLASSES (sizeof exit_classes / sizeof exit_classes[0])

static uint64_t exit_class(const Hvmgr__V1__VmStats *v, size_t k)
{
	const Hvmgr__V1__ExitsByClass *e = v->exits_by_class;
	if (!e)
		return 0;
	const uint64_t all[] = { e->wfx,  e->hvc,    e->smc, e->dabt,
				 e->iabt, e->sysreg, e->irq, e->other };
	return all[k];
}

HVCTL_HANDLER(cmd_domstats)
{
	Hvmgr__V1__GetStatsRequest req = HVMGR__V1__GET_STATS_REQUEST__INIT;
	Hvmgr__V1__VmSelector sel;
	Hvmgr__V1__GetStatsResponse *resp;
	int rc;

	if (a->npos) {
		hvctl_selector(&sel, a->pos[0]);
		req.vm = &sel;
	}
	if ((rc = hvctl_call(h, "GetStats", &req.base, &hvmgr__v1__get_stats_response__descriptor,
			     (ProtobufCMessage **)&resp)) != 0)
		return rc;
	if (opt_flag(a, "json")) {
		json_t *arr = json_array();
		for (size_t i = 0; i < resp->n_vms; i++) {
			const Hvmgr__V1__VmStats *v = resp->vms[i];
			json_t *o = json_pack("{s:I, s:s}", "id", (json_int_t)v->id, "name", v->name);
			json_t *ex = json_object();
			for (size_t k = 0; k < STATS_COUNTERS; k++)
				json_object_set_new(o, stats_counters[k].json,
						    json_integer(
							    (json_int_t)stats_counters[k].get(v)));
			for (size_t k = 0; k < EXIT_CLASSES; k++)
				json_object_set_new(ex, exit_classes[k].name,
						    json_integer((json_int_t)exit_class(v, k)));
			json_object_set_new(o, "exits_by_class", ex);
			json_object_set_new(o, "image_version", json_string(v->image_version));
			json_object_set_new(o, "vcpus", json_integer(v->vcpus));
			json_object_set_new(o, "memory_bytes",
					    json_integer((json_int_t)v->memory_bytes));
			json_t *devs = json_array();
			for (size_t k = 0; k < v->n_virtio_devices; k++)
				json_array_append_new(devs, json_virtio(v->virtio_devices[k], true));
			json_object_set_new(o, "virtio_devices", devs);
			json_array_append_new(arr, o);
		}
		json_t *hv = json_object();
		if (resp->hypervisor)
			json_object_set_new(hv, "uptime_ns",
					    json_integer((json_int_t)resp->hypervisor->uptime_ns));
		json_print(json_pack("{s:o, s:o}", "hypervisor", hv, "vms", arr));
	} else {
		/* virsh domstats: "Domain: 'name'", then name.key=value lines. */
		for (size_t i = 0; i < resp->n_vms; i++) {
			const Hvmgr__V1__VmStats *v = resp->vms[i];
			printf("Domain: '%s'\n", v->name);
			printf("  state.state=%d\n", (int)v->state);
			printf("  guest.image_version=%s\n", v->image_version);
			printf("  cpu.time=%" PRIu64 "\n", v->cpu_time_ns);
			printf("  vcpu.current=%u\n", v->vcpus);
			printf("  balloon.maximum=%" PRIu64 "\n", v->memory_bytes / 1024);
			printf("  hv.exits=%" PRIu64 "\n", v->exits);
			for (size_t k = 0; k < EXIT_CLASSES; k++)
				printf("  hv.exits.%s=%" PRIu64 "\n", exit_classes[k].name,
				       exit_class(v, k));
			for (size_t k = 0; k < STATS_COUNTERS; k++)
				if (stats_counters[k].text)
					printf("  %s=%" PRIu64 "\n", stats_counters[k].text,
					       stats_counters[k].get(v));
			/* as virsh's block.<n>.* lines: virtio.<n>.* per device */
			printf("  virtio.count=%zu\n", v->n_virtio_devices);
			for (size_t k = 0; k < v->n_virtio_devices; k++) {
				const Hvmgr__V1__VirtioDevice *d = v->virtio_devices[k];
				printf("  virtio.%zu.type=%s\n", k, d->type);
				printf("  virtio.%zu.requests=%" PRIu64 "\n", k, d->requests);
				printf("  virtio.%zu.bytes=%" PRIu64 "\n", k, d->bytes);
				printf("  virtio.%zu.errors=%" PRIu64 "\n", k, d->errors);
				printf("  virtio.%zu.notifies=%" PRIu64 "\n", k, d->notifies);
				printf("  virtio.%zu.irqs=%" PRIu64 "\n", k, d->irqs);
				if (strcmp(d->type, "net") == 0) {
					printf("  virtio.%zu.dropped=%" PRIu64 "\n", k, d->dropped);
					printf("  virtio.%zu.limited=%" PRIu64 "\n", k, d->limited);
				}
			}
			printf("\n");
		}
	}
	protobuf_c_message_free_unpacked(&resp->base, NULL);
	return HVCTL_OK;
}
