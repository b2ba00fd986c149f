/*
 * cmd_info.c - hvctl's read commands: list, dominfo, domstate, domstats,
 * faults, selftest, diag, health, version. Each has a virsh-like text form and
 * a --json form for scripts.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "grpc/health/v1/health.pb-c.h"

#define HVMGR(m) "/hvmgr.v1.Hvmgr/" m

/* Calls and reports failure in one place. */
static int call(struct hvctl *h, const char *verb, const char *method, const ProtobufCMessage *req,
		const ProtobufCMessageDescriptor *desc, ProtobufCMessage **resp)
{
	struct hv_status st;
	struct hvc *c = hvctl_conn(h);

	if (!c)
		return -1;
	if (hvc_call(c, method, req, desc, resp, HVCTL_CALL_TIMEOUT_MS, &st) != 0) {
		hvctl_fail(verb, &st);
		return -1;
	}
	return 0;
}

HVCTL_HANDLER(cmd_list)
{
	bool all = false, json = false;
	const struct hvctl_opt opts[] = { { "all", false, &all, NULL }, { "json", false, &json, NULL }, { 0 } };
	Hvmgr__V1__ListVmsRequest req = HVMGR__V1__LIST_VMS_REQUEST__INIT;
	Hvmgr__V1__ListVmsResponse *resp;
	int npos;

	if (hvctl_parse(cmd, argc, argv, opts, NULL, 0, 0, &npos) != 0)
		return HVCTL_USAGE;
	req.active_only = !all;
	if (call(h, "list", HVMGR("ListVms"), &req.base, &hvmgr__v1__list_vms_response__descriptor,
		 (ProtobufCMessage **)&resp) != 0)
		return HVCTL_FAIL;
	if (json) {
		json_t *arr = json_array();
		for (size_t i = 0; i < resp->n_vms; i++)
			json_array_append_new(arr, json_vm(resp->vms[i]));
		json_print(arr);
	} else {
		static const char *const hdr[] = { "Id", "Name", "State" };
		struct fmt_table *t = fmt_table_new(3, hdr);
		for (size_t i = 0; i < resp->n_vms; i++) {
			char id[16];
			snprintf(id, sizeof id, "%u", resp->vms[i]->id);
			const char *row[] = { id, resp->vms[i]->name, fmt_state(resp->vms[i]->state) };
			fmt_table_row(t, row);
		}
		fmt_table_print(t);
		fmt_table_free(t);
		putchar('\n');
	}
	protobuf_c_message_free_unpacked(&resp->base, NULL);
	return HVCTL_OK;
}

/* GetVm for a VM argument; NULL after printing why. */
static Hvmgr__V1__GetVmResponse *get_vm(struct hvctl *h, const char *verb, const char *arg)
{
	Hvmgr__V1__GetVmRequest req = HVMGR__V1__GET_VM_REQUEST__INIT;
	Hvmgr__V1__VmSelector sel;
	Hvmgr__V1__GetVmResponse *resp;

	hvctl_selector(&sel, arg);
	req.vm = &sel;
	if (call(h, verb, HVMGR("GetVm"), &req.base, &hvmgr__v1__get_vm_response__descriptor,
		 (ProtobufCMessage **)&resp) != 0)
		return NULL;
	if (!resp->vm) {
		struct hv_status st;
		hv_status_set(&st, HV_INTERNAL, "hv-agent answered without a VM");
		hvctl_fail(verb, &st);
		protobuf_c_message_free_unpacked(&resp->base, NULL);
		return NULL;
	}
	return resp;
}

#define ROW(label, fmt, ...) printf("%-15s " fmt "\n", label, __VA_ARGS__)

HVCTL_HANDLER(cmd_dominfo)
{
	bool json = false;
	const struct hvctl_opt opts[] = { { "json", false, &json, NULL }, { 0 } };
	const char *pos[1];
	int npos;

	if (hvctl_parse(cmd, argc, argv, opts, pos, 1, 1, &npos) != 0)
		return HVCTL_USAGE;
	Hvmgr__V1__GetVmResponse *resp = get_vm(h, "dominfo", pos[0]);
	if (!resp)
		return HVCTL_FAIL;
	const Hvmgr__V1__Vm *vm = resp->vm;
	if (json) {
		json_print(json_vm(vm));
	} else {
		char cpus[256];
		fmt_cpuset(vm->pcpu_mask, cpus, sizeof cpus);
		ROW("Id:", "%u", vm->id);
		ROW("Name:", "%s", vm->name);
		ROW("UUID:", "%s", vm->uuid);
		ROW("State:", "%s", fmt_state(vm->state));
		ROW("Reason:", "%s", fmt_reason(vm->reason));
		ROW("CPU(s):", "%u", vm->vcpus);
		ROW("CPU affinity:", "%s", cpus);
		ROW("CPU time:", "%.1fs", (double)vm->cpu_time_ns / 1e9);
		ROW("Max memory:", "%" PRIu64 " KiB", vm->memory_bytes / 1024);
		ROW("Criticality:", "%s", fmt_criticality(vm->criticality));
		ROW("Fault policy:", "%u", vm->fault_policy);
		ROW("Heartbeat:", "%" PRIu64 " (%.1fs ago)", vm->heartbeat, (double)vm->heartbeat_age_ns / 1e9);
		ROW("Guest state:", "%s", fmt_guest_state(vm->guest_state));
		ROW("Health code:", "%u", vm->health_code);
		ROW("Image version:", "%s", vm->image_version[0] ? vm->image_version : "-");
		ROW("Faults:", "%u", vm->fault_count);
		ROW("Restarts:", "%u", vm->restart_count);
		putchar('\n');
	}
	protobuf_c_message_free_unpacked(&resp->base, NULL);
	return HVCTL_OK;
}

HVCTL_HANDLER(cmd_domstate)
{
	bool json = false, reason = false;
	const struct hvctl_opt opts[] = { { "json", false, &json, NULL }, { "reason", false, &reason, NULL }, { 0 } };
	const char *pos[1];
	int npos;

	if (hvctl_parse(cmd, argc, argv, opts, pos, 1, 1, &npos) != 0)
		return HVCTL_USAGE;
	Hvmgr__V1__GetVmResponse *resp = get_vm(h, "domstate", pos[0]);
	if (!resp)
		return HVCTL_FAIL;
	const Hvmgr__V1__Vm *vm = resp->vm;
	if (json)
		json_print(json_pack("{s:s, s:s}", "state", fmt_state(vm->state), "reason", fmt_reason(vm->reason)));
	else if (reason)
		printf("%s (%s)\n\n", fmt_state(vm->state), fmt_reason(vm->reason));
	else
		printf("%s\n\n", fmt_state(vm->state));
	protobuf_c_message_free_unpacked(&resp->base, NULL);
	return HVCTL_OK;
}

HVCTL_HANDLER(cmd_domstats)
{
	bool json = false;
	const struct hvctl_opt opts[] = { { "json", false, &json, NULL }, { 0 } };
	const char *pos[1];
	int npos;
	Hvmgr__V1__GetStatsRequest req = HVMGR__V1__GET_STATS_REQUEST__INIT;
	Hvmgr__V1__VmSelector sel;
	Hvmgr__V1__GetStatsResponse *resp;

	if (hvctl_parse(cmd, argc, argv, opts, pos, 0, 1, &npos) != 0)
		return HVCTL_USAGE;
	if (npos) {
		hvctl_selector(&sel, pos[0]);
		req.vm = &sel;
	}
	if (call(h, "domstats", HVMGR("GetStats"), &req.base, &hvmgr__v1__get_stats_response__descriptor,
		 (ProtobufCMessage **)&resp) != 0)
		return HVCTL_FAIL;
	if (json) {
		json_t *arr = json_array();
		for (size_t i = 0; i < resp->n_vms; i++) {
			const Hvmgr__V1__VmStats *v = resp->vms[i];
			json_array_append_new(arr, json_pack("{s:I, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
				"id", (json_int_t)v->id, "name", v->name, "cpu_time_ns", (json_int_t)v->cpu_time_ns,
				"exits", (json_int_t)v->exits, "irqs_injected", (json_int_t)v->irqs_injected,
				"doorbells_denied", (json_int_t)v->doorbells_denied,
				"heartbeat", (json_int_t)v->heartbeat, "heartbeat_age_ns", (json_int_t)v->heartbeat_age_ns,
				"fault_count", (json_int_t)v->fault_count, "restart_count", (json_int_t)v->restart_count));
		}
		json_t *hv = json_object();
		if (resp->hypervisor)
			json_object_set_new(hv, "uptime_ns", json_integer((json_int_t)resp->hypervisor->uptime_ns));
		json_print(json_pack("{s:o, s:o}", "hypervisor", hv, "vms", arr));
	} else {
		for (size_t i = 0; i < resp->n_vms; i++) {
			const Hvmgr__V1__VmStats *v = resp->vms[i];
			printf("Domain: '%s'\n", v->name);
			printf("  cpu.time=%" PRIu64 "\n", v->cpu_time_ns);
			printf("  vcpu.current=%u\n", v->vcpus);
			printf("  balloon.maximum=%" PRIu64 "\n", v->memory_bytes / 1024);
			printf("  hv.exits=%" PRIu64 "\n", v->exits);
			printf("  hv.irqs_injected=%" PRIu64 "\n", v->irqs_injected);
			printf("  hv.doorbells_denied=%" PRIu64 "\n", v->doorbells_denied);
			printf("  guest.heartbeat=%" PRIu64 "\n", v->heartbeat);
			printf("  guest.heartbeat_age_ns=%" PRIu64 "\n", v->heartbeat_age_ns);
			printf("  fault.count=%u\n", v->fault_count);
			printf("  restart.count=%u\n\n", v->restart_count);
		}
	}
	protobuf_c_message_free_unpacked(&resp->base, NULL);
	return HVCTL_OK;
}

HVCTL_HANDLER(cmd_faults)
{
	bool json = false;
	const struct hvctl_opt opts[] = { { "json", false, &json, NULL }, { 0 } };
	const char *pos[1];
	int npos;
	Hvmgr__V1__GetFaultsRequest req = HVMGR__V1__GET_FAULTS_REQUEST__INIT;
	Hvmgr__V1__VmSelector sel;
	Hvmgr__V1__GetFaultsResponse *resp;

	if (hvctl_parse(cmd, argc, argv, opts, pos, 0, 1, &npos) != 0)
		return HVCTL_USAGE;
	if (npos) {
		hvctl_selector(&sel, pos[0]);
		req.vm = &sel;
	}
	if (call(h, "faults", HVMGR("GetFaults"), &req.base, &hvmgr__v1__get_faults_response__descriptor,
		 (ProtobufCMessage **)&resp) != 0)
		return HVCTL_FAIL;
	json_t *arr = json ? json_array() : NULL;
	for (size_t i = 0; i < resp->n_faults; i++) {
		const Hvmgr__V1__Fault *f = resp->faults[i];
		if (json) {
			json_t *x = json_array();
			for (size_t k = 0; k < f->n_x; k++)
				json_array_append_new(x, json_integer((json_int_t)f->x[k]));
			json_array_append_new(arr, json_pack("{s:I, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o}",
				"vm_id", (json_int_t)f->vm_id, "vm_name", f->vm_name, "kind", fmt_fault_kind(f->kind),
				"seq", (json_int_t)f->seq, "time_ns", (json_int_t)f->time_ns, "vcpu", (json_int_t)f->vcpu,
				"action", (json_int_t)f->action, "esr", (json_int_t)f->esr, "far", (json_int_t)f->far,
				"hpfar", (json_int_t)f->hpfar, "elr", (json_int_t)f->elr, "spsr", (json_int_t)f->spsr,
				"sp_el1", (json_int_t)f->sp_el1, "x", x));
			continue;
		}
		printf("Domain: '%s' (id %u)\n", f->vm_name, f->vm_id);
		printf("  %-8s %s (event %" PRIu64 ", %.3fs after boot, vCPU %u, action %u, faults %u)\n", "kind:",
		       fmt_fault_kind(f->kind), f->seq, (double)f->time_ns / 1e9, f->vcpu, f->action, f->fault_count);
		printf("  ESR_EL2=0x%016" PRIx64 " FAR_EL2=0x%016" PRIx64 " HPFAR_EL2=0x%016" PRIx64 "\n", f->esr,
		       f->far, f->hpfar);
		printf("  ELR_EL2=0x%016" PRIx64 " SPSR_EL2=0x%016" PRIx64 " SP_EL1=0x%016" PRIx64 "\n", f->elr,
		       f->spsr, f->sp_el1);
		for (size_t k = 0; k < f->n_x; k++)
			printf("%s x%-2zu=0x%016" PRIx64 "%s", k % 4 == 0 ? " " : "", k, f->x[k],
			       k % 4 == 3 || k + 1 == f->n_x ? "\n" : "");
		putchar('\n');
	}
	if (json)
		json_print(arr);
	else if (resp->n_faults == 0)
		printf("no faults recorded\n");
	protobuf_c_message_free_unpacked(&resp->base, NULL);
	return HVCTL_OK;
}

static const char *hv_state_name(int s)
{
	return s == 0 ? "booting" : s == 1 ? "ready" : s == 2 ? "self-test failed" : "unknown";
}

HVCTL_HANDLER(cmd_selftest)
{
	bool json = false;
	const struct hvctl_opt opts[] = { { "json", false, &json, NULL }, { 0 } };
	int npos;
	Hvmgr__V1__GetSelfTestRequest req = HVMGR__V1__GET_SELF_TEST_REQUEST__INIT;
	Hvmgr__V1__GetSelfTestResponse *resp;

	if (hvctl_parse(cmd, argc, argv, opts, NULL, 0, 0, &npos) != 0)
		return HVCTL_USAGE;
	if (call(h, "selftest", HVMGR("GetSelfTest"), &req.base, &hvmgr__v1__get_self_test_response__descriptor,
		 (ProtobufCMessage **)&resp) != 0)
		return HVCTL_FAIL;
	if (json)
		json_print(json_pack("{s:b, s:s, s:I, s:I}", "passed", resp->passed, "hypervisor_state",
				     hv_state_name(resp->hypervisor_state), "failed_mask",
				     (json_int_t)resp->failed_mask, "checks_run", (json_int_t)resp->checks_run));
	else {
		ROW("Self-test:", "%s", resp->passed ? "passed" : "FAILED");
		ROW("Hypervisor:", "%s", hv_state_name(resp->hypervisor_state));
		ROW("Failed checks:", "0x%08x", resp->failed_mask);
		ROW("Checks run:", "%u", resp->checks_run);
	}
	protobuf_c_message_free_unpacked(&resp->base, NULL);
	return HVCTL_OK;
}

HVCTL_HANDLER(cmd_diag)
{
	bool json = false;
	const struct hvctl_opt opts[] = { { "json", false, &json, NULL }, { 0 } };
	int npos;
	Hvmgr__V1__GetDiagnosticsRequest req = HVMGR__V1__GET_DIAGNOSTICS_REQUEST__INIT;
	Hvmgr__V1__GetDiagnosticsResponse *r;

	if (hvctl_parse(cmd, argc, argv, opts, NULL, 0, 0, &npos) != 0)
		return HVCTL_USAGE;
	if (call(h, "diag", HVMGR("GetDiagnostics"), &req.base, &hvmgr__v1__get_diagnostics_response__descriptor,
		 (ProtobufCMessage **)&r) != 0)
		return HVCTL_FAIL;
	if (json) {
		json_print(json_pack("{s:b, s:s, s:s, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:I}",
			"link_up", r->link_up, "link_error", r->link_error,
			"hypervisor_state", hv_state_name(r->hypervisor_state), "hypervisor_alive", r->hypervisor_alive,
			"hypervisor_uptime_ns", (json_int_t)r->hypervisor_uptime_ns,
			"hypervisor_ticks", (json_int_t)r->hypervisor_ticks, "events_head", (json_int_t)r->events_head,
			"events_acked", (json_int_t)r->events_acked, "events_overflow", (json_int_t)r->events_overflow,
			"events_lost_by_agent", (json_int_t)r->events_lost_by_agent,
			"commands_sent", (json_int_t)r->commands_sent, "commands_failed", (json_int_t)r->commands_failed,
			"commands_timed_out", (json_int_t)r->commands_timed_out,
			"agent_uptime_ns", (json_int_t)r->agent_uptime_ns, "ram_file", r->ram_file,
			"mgmt_base", (json_int_t)r->mgmt_base));
	} else {
		ROW("Link:", "%s", r->link_up ? "up" : "down");
		if (!r->link_up)
			ROW("Link error:", "%s", r->link_error);
		ROW("RAM file:", "%s", r->ram_file);
		ROW("Mgmt base:", "0x%" PRIx64, r->mgmt_base);
		if (r->link_up) {
			ROW("Hypervisor:", "%s, %s", hv_state_name(r->hypervisor_state),
			    r->hypervisor_alive ? "alive" : "NOT ticking");
			ROW("HV uptime:", "%.1fs", (double)r->hypervisor_uptime_ns / 1e9);
			ROW("Events:", "head %" PRIu64 ", acked %" PRIu64 ", overflow %" PRIu64 ", lost by agent %" PRIu64,
			    r->events_head, r->events_acked, r->events_overflow, r->events_lost_by_agent);
		}
		ROW("Commands:", "%" PRIu64 " sent, %" PRIu64 " refused, %" PRIu64 " timed out", r->commands_sent,
		    r->commands_failed, r->commands_timed_out);
		ROW("Agent uptime:", "%.1fs", (double)r->agent_uptime_ns / 1e9);
	}
	protobuf_c_message_free_unpacked(&r->base, NULL);
	return HVCTL_OK;
}

HVCTL_HANDLER(cmd_health)
{
	bool json = false;
	const struct hvctl_opt opts[] = { { "json", false, &json, NULL }, { 0 } };
	int npos;
	Grpc__Health__V1__HealthCheckRequest req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
	Grpc__Health__V1__HealthCheckResponse *resp;
	static const char *const names[] = { "UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN" };

	if (hvctl_parse(cmd, argc, argv, opts, NULL, 0, 0, &npos) != 0)
		return HVCTL_USAGE;
	req.service = "";
	if (call(h, "health", "/grpc.health.v1.Health/Check", &req.base,
		 &grpc__health__v1__health_check_response__descriptor, (ProtobufCMessage **)&resp) != 0)
		return HVCTL_FAIL;
	const char *s = resp->status < 4 ? names[resp->status] : "UNKNOWN";
	if (json)
		json_print(json_pack("{s:s}", "status", s));
	else
		printf("%s\n", s);
	int serving = resp->status == GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
	protobuf_c_message_free_unpacked(&resp->base, NULL);
	return serving ? HVCTL_OK : HVCTL_FAIL;
}

HVCTL_HANDLER(cmd_version)
{
	bool json = false;
	const struct hvctl_opt opts[] = { { "json", false, &json, NULL }, { 0 } };
	int npos;
	Hvmgr__V1__GetVersionRequest req = HVMGR__V1__GET_VERSION_REQUEST__INIT;
	Hvmgr__V1__GetVersionResponse *r;

	if (hvctl_parse(cmd, argc, argv, opts, NULL, 0, 0, &npos) != 0)
		return HVCTL_USAGE;
	if (call(h, "version", HVMGR("GetVersion"), &req.base, &hvmgr__v1__get_version_response__descriptor,
		 (ProtobufCMessage **)&r) != 0)
		return HVCTL_FAIL;
	if (json) {
		json_t *caps = json_array();
		for (size_t i = 0; i < r->n_capabilities; i++)
			json_array_append_new(caps, json_string(r->capabilities[i]));
		json_print(json_pack("{s:s, s:s, s:s, s:I, s:I, s:o}", "agent_version", r->agent_version, "api", r->api,
				     "hypervisor_version", r->hypervisor_version, "abi_major", (json_int_t)r->abi_major,
				     "abi_minor", (json_int_t)r->abi_minor, "capabilities", caps));
	} else {
		printf("Compiled against hvctl %s\n", HV_VERSION);
		printf("Running against hv-agent %s (%s)\n", r->agent_version, r->api);
		if (r->hypervisor_version[0])
			printf("Running hypervisor: hv-core %s, management ABI %u.%u\n", r->hypervisor_version,
			       r->abi_major, r->abi_minor);
		else
			printf("Running hypervisor: not reachable\n");
		printf("Capabilities:");
		for (size_t i = 0; i < r->n_capabilities; i++)
			printf(" %s", r->capabilities[i]);
		printf("\n");
	}
	protobuf_c_message_free_unpacked(&r->base, NULL);
	return HVCTL_OK;
}
