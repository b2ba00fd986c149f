/*
 * cmd_diag.c - hvctl's reads about the hypervisor and hv-agent: faults,
 * selftest, diag, health, version and the audit log.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "grpc/health/v1/health.pb-c.h"

#define ROW(label, fmt, ...) printf("%-15s " fmt "\n", label, __VA_ARGS__)

HVCTL_HANDLER(cmd_faults)
{
	int rc;
	Hvmgr__V1__GetFaultsRequest req = HVMGR__V1__GET_FAULTS_REQUEST__INIT;
	Hvmgr__V1__VmSelector sel;
	Hvmgr__V1__GetFaultsResponse *resp;

	if (a->npos) {
		hvctl_selector(&sel, a->pos[0]);
		req.vm = &sel;
	}
	req.recent = true; /* hv-core's own ring too (MGMT-330) */
	if ((rc = hvctl_call(h, "GetFaults", &req.base, &hvmgr__v1__get_faults_response__descriptor,
			     (ProtobufCMessage **)&resp)) != 0)
		return rc;
	bool json = opt_flag(a, "json");
	json_t *arr = json ? json_array() : NULL;
	for (size_t i = 0; i < resp->n_faults; i++) {
		const Hvmgr__V1__Fault *f = resp->faults[i];
		if (json) {
			json_t *x = json_array();
			for (size_t k = 0; k < f->n_x; k++)
				json_array_append_new(x, json_integer((json_int_t)f->x[k]));
			json_array_append_new(arr,
					      json_pack("{s:I, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o}",
							"vm_id", (json_int_t)f->vm_id, "vm_name",
							f->vm_name, "kind", fmt_fault_kind(f->kind),
							"seq", (json_int_t)f->seq, "time_ns",
							(json_int_t)f->time_ns, "vcpu",
							(json_int_t)f->vcpu, "action",
							(json_int_t)f->action, "esr",
							(json_int_t)f->esr, "far", (json_int_t)f->far,
							"hpfar", (json_int_t)f->hpfar, "elr",
							(json_int_t)f->elr, "spsr",
							(json_int_t)f->spsr, "sp_el1",
							(json_int_t)f->sp_el1, "x", x));
			json_object_set_new(json_array_get(arr, json_array_size(arr) - 1),
					    "registers_redacted",
					    json_boolean(f->registers_redacted));
			continue;
		}
		printf("Domain: '%s' (id %u)\n", f->vm_name, f->vm_id);
		printf("  %-8s %s (event %" PRIu64
		       ", %.3fs after boot, vCPU %u, action %u, faults %u)\n",
		       "kind:", fmt_fault_kind(f->kind), f->seq, (double)f->time_ns / 1e9, f->vcpu,
		       f->action, f->fault_count);
		if (f->registers_redacted) {
			printf("  registers redacted: guest registers require role operator\n\n");
			continue;
		}
		printf("  ESR_EL2=0x%016" PRIx64 " FAR_EL2=0x%016" PRIx64 " HPFAR_EL2=0x%016" PRIx64
		       "\n",
		       f->esr, f->far, f->hpfar);
		printf("  ELR_EL2=0x%016" PRIx64 " SPSR_EL2=0x%016" PRIx64 " SP_EL1=0x%016" PRIx64
		       "\n",
		       f->elr, f->spsr, f->sp_el1);
		for (size_t k = 0; k < f->n_x; k++)
			printf("%s x%-2zu=0x%016" PRIx64 "%s", k % 4 == 0 ? " " : "", k, f->x[k],
			       k % 4 == 3 || k + 1 == f->n_x ? "\n" : "");
		putchar('\n');
	}
	/* hv-core's ring of each VM's recent faults. */
	json_t *recent = json ? json_array() : NULL;
	if (!json && resp->n_recent)
		printf("Recent faults kept by hv-core:\n");
	for (size_t i = 0; i < resp->n_recent; i++) {
		const Hvmgr__V1__RecentFault *f = resp->recent[i];
		if (json) {
			json_array_append_new(recent,
					      json_pack("{s:I, s:s, s:I, s:I, s:I, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:b}",
							"vm_id", (json_int_t)f->vm_id, "vm_name",
							f->vm_name, "fault_seq",
							(json_int_t)f->fault_seq, "time_ns",
							(json_int_t)f->time_ns, "event_seq",
							(json_int_t)f->event_seq, "kind",
							fmt_fault_kind(f->kind), "action",
							(json_int_t)f->action, "vcpu",
							(json_int_t)f->vcpu, "esr",
							(json_int_t)f->esr, "far", (json_int_t)f->far,
							"hpfar", (json_int_t)f->hpfar, "elr",
							(json_int_t)f->elr, "total",
							(json_int_t)f->total, "registers_redacted",
							f->registers_redacted));
			continue;
		}
		printf("  %s #%" PRIu64 " of %" PRIu64 ": %s (event %" PRIu64
		       ", %.3fs after boot, vCPU %u, action %u)",
		       f->vm_name, f->fault_seq, f->total, fmt_fault_kind(f->kind), f->event_seq,
		       (double)f->time_ns / 1e9, f->vcpu, f->action);
		if (f->registers_redacted)
			printf(" registers redacted\n");
		else
			printf(" ESR_EL2=0x%016" PRIx64 " FAR_EL2=0x%016" PRIx64 "\n", f->esr,
			       f->far);
	}
	if (!json && resp->n_recent)
		putchar('\n');
	/* hv-agent's persisted history: every FAULT and WATCHDOG event, and
	 * the gaps where events were lost (REQ-SAF-16). */
	json_t *hist = json ? json_array() : NULL;
	if (!json && resp->n_faults == 0)
		printf("no saved fault context in hv-core\n\n");
	if (!json)
		printf("Fault history kept by hv-agent (%zu newest rows):\n", resp->n_history);
	for (size_t i = 0; i < resp->n_history; i++) {
		const Hvmgr__V1__FaultHistoryEntry *e = resp->history[i];
		if (json) {
			json_array_append_new(hist,
					      json_pack("{s:I, s:I, s:s, s:s, s:s, s:I, s:s}",
							"audit_seq", (json_int_t)e->audit_seq,
							"time_ms", (json_int_t)e->time_ms, "record",
							e->record, "kind", e->kind, "vm_uuid",
							e->vm_uuid, "count", (json_int_t)e->count,
							"detail", e->detail));
			continue;
		}
		if (!strcmp(e->record, "fault"))
			printf("  #%-6" PRIu64 " fault %-13s count %-4" PRIu64 " %s\n",
			       e->audit_seq, e->kind, e->count, e->detail);
		else
			printf("  #%-6" PRIu64 " %-5s %s\n", e->audit_seq, e->record, e->detail);
	}
	/* What retention folded: summed in the checkpoint, never silently
	 * dropped. */
	const Hvmgr__V1__FoldedFaultHistory *fold = resp->folded;
	json_t *folded = NULL;
	if (fold && json) {
		json_t *counts = json_array();
		for (size_t i = 0; i < fold->n_counts; i++)
			json_array_append_new(counts, json_pack("{s:s, s:s, s:s, s:I}", "vm_uuid",
								fold->counts[i]->vm_uuid, "vm_name",
								fold->counts[i]->vm_name, "kind",
								fold->counts[i]->kind, "count",
								(json_int_t)fold->counts[i]->count));
		folded = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o}", "first_audit_seq",
				   (json_int_t)fold->first_audit_seq, "last_audit_seq",
				   (json_int_t)fold->last_audit_seq, "time_ms",
				   (json_int_t)fold->time_ms, "audit_rows",
				   (json_int_t)fold->audit_rows, "fault_rows",
				   (json_int_t)fold->fault_rows, "gap_rows",
				   (json_int_t)fold->gap_rows, "mark_rows",
				   (json_int_t)fold->mark_rows, "counts", counts);
	} else if (fold) {
		printf("Folded by retention into the signed checkpoint: %" PRIu64
		       " older audit rows (#%" PRIu64 "..#%" PRIu64 "), %" PRIu64
		       " of them fault history (%" PRIu64 " faults, %" PRIu64 " gaps, %" PRIu64
		       " marks)\n",
		       fold->audit_rows, fold->first_audit_seq, fold->last_audit_seq,
		       fold->fault_rows + fold->gap_rows + fold->mark_rows, fold->fault_rows,
		       fold->gap_rows, fold->mark_rows);
		if (fold->n_counts)
			printf("  fault counts as of the checkpoint:\n");
		for (size_t i = 0; i < fold->n_counts; i++)
			printf("    %-16s %s %-13s %" PRIu64 "\n",
			       fold->counts[i]->vm_name[0] ? fold->counts[i]->vm_name : "-",
			       fold->counts[i]->vm_uuid, fold->counts[i]->kind,
			       fold->counts[i]->count);
	}
	if (json)
		json_print(json_pack("{s:o, s:o, s:o, s:o}", "faults", arr, "recent", recent,
				     "history", hist, "folded", folded ? folded : json_null()));
	else if (resp->n_history == 0)
		printf("  none\n");
	protobuf_c_message_free_unpacked(&resp->base, NULL);
	return HVCTL_OK;
}

static const char *hv_state_name(int s)
{
	return s == 0 ? "booting" : s == 1 ? "ready" : s == 2 ? "self-test failed" : "unknown";
}

HVCTL_HANDLER(cmd_selftest)
{
	int rc;
	Hvmgr__V1__GetSelfTestRequest req = HVMGR__V1__GET_SELF_TEST_REQUEST__INIT;
	Hvmgr__V1__GetSelfTestResponse *resp;

	if ((rc = hvctl_call(h, "GetSelfTest", &req.base,
			     &hvmgr__v1__get_self_test_response__descriptor,
			     (ProtobufCMessage **)&resp)) != 0)
		return rc;
	if (opt_flag(a, "json"))
		json_print(json_pack("{s:b, s:s, s:I, s:I}", "passed", resp->passed,
				     "hypervisor_state", hv_state_name(resp->hypervisor_state),
				     "failed_mask", (json_int_t)resp->failed_mask, "checks_run",
				     (json_int_t)resp->checks_run));
	else {
		ROW("Self-test:", "%s", resp->passed ? "passed" : "FAILED");
		ROW("Hypervisor:", "%s", hv_state_name(resp->hypervisor_state));
		ROW("Failed checks:", "0x%08x", resp->failed_mask);
		ROW("Checks run:", "%u", resp->checks_run);
	}
	protobuf_c_message_free_unpacked(&resp->base, NULL);
	return HVCTL_OK;
}

/* `diag export FILE`: hv-agent's diagnostic archive, written to FILE through
 * a temporary file renamed into place, so FILE is whole or untouched. */
static int diag_export(struct hvctl *h, const char *file)
{
	Hvmgr__V1__ExportDiagnosticsRequest req = HVMGR__V1__EXPORT_DIAGNOSTICS_REQUEST__INIT;
	Hvmgr__V1__ExportDiagnosticsResponse *r;
	char tmp[4096];
	int rc;

	if (snprintf(tmp, sizeof tmp, "%s.part", file) >= (int)sizeof tmp)
		return hvctl_error(HVCTL_USAGE, "diag", "file name too long: %s", file);
	if ((rc = hvctl_call(h, "ExportDiagnostics", &req.base,
			     &hvmgr__v1__export_diagnostics_response__descriptor,
			     (ProtobufCMessage **)&r)) != 0)
		return rc;
	FILE *f = fopen(tmp, "wbx");
	if (!f) {
		protobuf_c_message_free_unpacked(&r->base, NULL);
		return hvctl_error(HVCTL_FAIL, "diag", "cannot create %s: %s", tmp, strerror(errno));
	}
	int ok = fwrite(r->archive.data, 1, r->archive.len, f) == r->archive.len;
	ok = (fclose(f) == 0) && ok;
	if (!ok || rename(tmp, file) != 0) {
		int e = errno;
		unlink(tmp);
		protobuf_c_message_free_unpacked(&r->base, NULL);
		return hvctl_error(HVCTL_FAIL, "diag", "cannot write %s: %s", file, strerror(e));
	}
	printf("%s: %zu bytes, %s archive of %s/\n", file, r->archive.len, r->format, r->name);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	return HVCTL_OK;
}

HVCTL_HANDLER(cmd_diag)
{
	int rc;
	Hvmgr__V1__GetDiagnosticsRequest req = HVMGR__V1__GET_DIAGNOSTICS_REQUEST__INIT;
	Hvmgr__V1__GetDiagnosticsResponse *r;

	if (a->npos) {
		if (strcmp(a->pos[0], "export") != 0 || a->npos != 2)
			return hvctl_usage(a->cmd, "expected `diag` or `diag export FILE`");
		return diag_export(h, a->pos[1]);
	}

	if ((rc = hvctl_call(h, "GetDiagnostics", &req.base,
			     &hvmgr__v1__get_diagnostics_response__descriptor,
			     (ProtobufCMessage **)&r)) != 0)
		return rc;
	if (opt_flag(a, "json")) {
		json_print(json_pack("{s:b, s:s, s:s, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:I, s:s, s:s}",
				     "link_up", r->link_up, "link_error", r->link_error,
				     "hypervisor_state", hv_state_name(r->hypervisor_state),
				     "hypervisor_alive", r->hypervisor_alive,
				     "hypervisor_uptime_ns", (json_int_t)r->hypervisor_uptime_ns,
				     "hypervisor_ticks", (json_int_t)r->hypervisor_ticks,
				     "events_head", (json_int_t)r->events_head, "events_acked",
				     (json_int_t)r->events_acked, "events_overflow",
				     (json_int_t)r->events_overflow, "events_lost_by_agent",
				     (json_int_t)r->events_lost_by_agent, "commands_sent",
				     (json_int_t)r->commands_sent, "commands_failed",
				     (json_int_t)r->commands_failed, "commands_timed_out",
				     (json_int_t)r->commands_timed_out, "agent_uptime_ns",
				     (json_int_t)r->agent_uptime_ns, "ram_file", r->ram_file,
				     "mgmt_base", (json_int_t)r->mgmt_base, "audit_finding",
				     r->audit_finding, "audit_anchor", r->audit_anchor));
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
			ROW("Events:",
			    "head %" PRIu64 ", acked %" PRIu64 ", overflow %" PRIu64
			    ", lost by agent %" PRIu64,
			    r->events_head, r->events_acked, r->events_overflow,
			    r->events_lost_by_agent);
		}
		ROW("Commands:", "%" PRIu64 " sent, %" PRIu64 " refused, %" PRIu64 " timed out",
		    r->commands_sent, r->commands_failed, r->commands_timed_out);
		ROW("Agent uptime:", "%.1fs", (double)r->agent_uptime_ns / 1e9);
		if (r->audit_finding[0])
			ROW("Audit finding:", "%s", r->audit_finding);
		if (r->audit_anchor[0])
			ROW("Audit anchor:", "%s", r->audit_anchor);
	}
	protobuf_c_message_free_unpacked(&r->base, NULL);
	return HVCTL_OK;
}

HVCTL_HANDLER(cmd_health)
{
	int rc;
	Grpc__Health__V1__HealthCheckRequest req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
	Grpc__Health__V1__HealthCheckResponse *resp;
	static const char *const names[] = { "UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN" };

	req.service = "";
	if ((rc = hvctl_call(h, "/grpc.health.v1.Health/Check", &req.base,
			     &grpc__health__v1__health_check_response__descriptor,
			     (ProtobufCMessage **)&resp)) != 0)
		return rc;
	const char *s = resp->status < 4 ? names[resp->status] : "UNKNOWN";
	if (opt_flag(a, "json"))
		json_print(json_pack("{s:s}", "status", s));
	else
		printf("%s\n", s);
	int serving =
		resp->status == GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
	protobuf_c_message_free_unpacked(&resp->base, NULL);
	return serving ? HVCTL_OK : HVCTL_FAIL;
}

HVCTL_HANDLER(cmd_version)
{
	int rc;
	Hvmgr__V1__GetVersionRequest req = HVMGR__V1__GET_VERSION_REQUEST__INIT;
	Hvmgr__V1__GetVersionResponse *r;

	if ((rc = hvctl_call(h, "GetVersion", &req.base, &hvmgr__v1__get_version_response__descriptor,
			     (ProtobufCMessage **)&r)) != 0)
		return rc;
	if (opt_flag(a, "json")) {
		json_t *caps = json_array();
		for (size_t i = 0; i < r->n_capabilities; i++)
			json_array_append_new(caps, json_string(r->capabilities[i]));
		json_print(json_pack("{s:s, s:s, s:s, s:I, s:I, s:o}", "agent_version",
				     r->agent_version, "api", r->api, "hypervisor_version",
				     r->hypervisor_version, "abi_major", (json_int_t)r->abi_major,
				     "abi_minor", (json_int_t)r->abi_minor, "capabilities", caps));
	} else {
		printf("Compiled against hvctl %s\n", HV_VERSION);
		printf("Running against hv-agent %s (%s)\n", r->agent_version, r->api);
		if (r->hypervisor_version[0])
			printf("Running hypervisor: hv-core %s, management ABI %u.%u\n",
			       r->hypervisor_version, r->abi_major, r->abi_minor);
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

/* hvctl audit verify: the finding, if any, is the failure. */
static int audit_verify(struct hvctl *h, const struct hvctl_args *a)
{
	Hvmgr__V1__VerifyAuditRequest req = HVMGR__V1__VERIFY_AUDIT_REQUEST__INIT;
	Hvmgr__V1__VerifyAuditResponse *r;
	int rc;

	if ((rc = hvctl_call(h, "VerifyAudit", &req.base, &hvmgr__v1__verify_audit_response__descriptor,
			     (ProtobufCMessage **)&r)) != 0)
		return rc;
	if (opt_flag(a, "json"))
		json_print(json_pack("{s:b, s:s}", "ok", r->ok, "finding", r->finding));
	else if (r->ok)
		printf("Audit log verified: chain, MACs and head agree\n");
	else
		printf("Audit log FAILED verification: %s\n", r->finding);
	rc = r->ok ? HVCTL_OK : HVCTL_FAIL;
	protobuf_c_message_free_unpacked(&r->base, NULL);
	return rc;
}

static int audit_acknowledge(struct hvctl *h, const struct hvctl_args *a)
{
	Hvmgr__V1__AcknowledgeAuditRequest req = HVMGR__V1__ACKNOWLEDGE_AUDIT_REQUEST__INIT;
	Hvmgr__V1__AcknowledgeAuditResponse *r;
	int rc;

	if ((rc = hvctl_call(h, "AcknowledgeAudit", &req.base,
			     &hvmgr__v1__acknowledge_audit_response__descriptor,
			     (ProtobufCMessage **)&r)) != 0)
		return rc;
	if (opt_flag(a, "json"))
		json_print(json_pack("{s:I, s:s}", "seq", (json_int_t)r->seq, "finding", r->finding));
	else
		printf("Acknowledged (audit row %" PRIu64 "): %s\n", r->seq, r->finding);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	return HVCTL_OK;
}

HVCTL_HANDLER(cmd_audit)
{
	Hvmgr__V1__GetAuditRequest req = HVMGR__V1__GET_AUDIT_REQUEST__INIT;
	Hvmgr__V1__GetAuditResponse *r;
	uint64_t from = 0, max = 0;
	int rc;

	if (a->npos == 1 && !strcmp(a->pos[0], "verify"))
		return audit_verify(h, a);
	if (a->npos == 1 && !strcmp(a->pos[0], "acknowledge"))
		return audit_acknowledge(h, a);
	if (a->npos == 1) {
		fprintf(stderr, "hvctl: audit: unknown action '%s' (verify or acknowledge)\n",
			a->pos[0]);
		return HVCTL_USAGE;
	}

	if (opt_u64(a, "from", 0, UINT64_MAX, &from) != 0 || opt_u64(a, "max", 1, 100000, &max) != 0)
		return HVCTL_USAGE;
	req.from_seq = from;
	req.max = (uint32_t)max;
	if ((rc = hvctl_call(h, "GetAudit", &req.base, &hvmgr__v1__get_audit_response__descriptor,
			     (ProtobufCMessage **)&r)) != 0)
		return rc;
	if (opt_flag(a, "json")) {
		json_t *arr = json_array();
		for (size_t i = 0; i < r->n_entries; i++) {
			const Hvmgr__V1__AuditEntry *e = r->entries[i];
			char hash[2 * 64 + 1];
			fmt_hex(e->hash.data, e->hash.len, hash, sizeof hash);
			json_array_append_new(arr,
					      json_pack("{s:I, s:I, s:s, s:s, s:s, s:s, s:s, s:s}",
							"seq", (json_int_t)e->seq, "time_ms",
							(json_int_t)e->time_ms, "identity",
							e->identity, "role", e->role, "rpc", e->rpc,
							"arguments", e->arguments, "outcome",
							e->outcome, "hash", hash));
		}
		json_print(arr);
	} else {
		static const char *const hdr[] = { "Seq", "Time",      "Identity", "Role",
						   "RPC", "Arguments", "Outcome" };
		struct fmt_table *t = fmt_table_new(7, hdr);
		for (size_t i = 0; i < r->n_entries; i++) {
			const Hvmgr__V1__AuditEntry *e = r->entries[i];
			char seq[24], when[40];
			snprintf(seq, sizeof seq, "%" PRIu64, e->seq);
			fmt_time_ms(e->time_ms, when, sizeof when);
			const char *row[] = { seq,    when,         e->identity, e->role,
					      e->rpc, e->arguments, e->outcome };
			fmt_table_row(t, row);
		}
		fmt_table_print(t);
		fmt_table_free(t);
		putchar('\n');
	}
	protobuf_c_message_free_unpacked(&r->base, NULL);
	return HVCTL_OK;
}
