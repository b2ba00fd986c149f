/*
 * services.c - the method table of hv-agent (hvmgr.v1 and grpc.health.v1) and
 * the authorization decision for each call.
 */
#include "agent.h"

#include <string.h>

#include "grpc/health/v1/health.pb-c.h"
#include "roles.h"

#define HVMGR(name) "/hvmgr.v1.Hvmgr/" name

static const struct rpc_method methods[] = {
	{ HVMGR("Define"), &hvmgr__v1__define_request__descriptor, svc_define, NULL },
	{ HVMGR("Undefine"), &hvmgr__v1__undefine_request__descriptor, svc_undefine, NULL },
	{ HVMGR("Start"), &hvmgr__v1__start_request__descriptor, svc_start, NULL },
	{ HVMGR("Shutdown"), &hvmgr__v1__shutdown_request__descriptor, svc_shutdown, NULL },
	{ HVMGR("Destroy"), &hvmgr__v1__destroy_request__descriptor, svc_destroy, NULL },
	{ HVMGR("Reboot"), &hvmgr__v1__reboot_request__descriptor, svc_reboot, NULL },
	{ HVMGR("Reset"), &hvmgr__v1__reset_request__descriptor, svc_reset, NULL },
	{ HVMGR("Suspend"), &hvmgr__v1__suspend_request__descriptor, svc_suspend, NULL },
	{ HVMGR("Resume"), &hvmgr__v1__resume_request__descriptor, svc_resume, NULL },
	/* client streaming: the header is the request, chunks come by rpc_stream_recv */
	{ HVMGR("LoadImage"), &hvmgr__v1__load_image_request__descriptor, NULL, svc_load_image },
	{ HVMGR("ListVms"), &hvmgr__v1__list_vms_request__descriptor, svc_list_vms, NULL },
	{ HVMGR("GetVm"), &hvmgr__v1__get_vm_request__descriptor, svc_get_vm, NULL },
	{ HVMGR("GetStats"), &hvmgr__v1__get_stats_request__descriptor, svc_get_stats, NULL },
	{ HVMGR("GetConsole"), &hvmgr__v1__get_console_request__descriptor, svc_get_console, NULL },
	{ HVMGR("WatchEvents"), &hvmgr__v1__watch_events_request__descriptor, NULL, svc_watch_events },
	{ HVMGR("GetFaults"), &hvmgr__v1__get_faults_request__descriptor, svc_get_faults, NULL },
	{ HVMGR("GetSelfTest"), &hvmgr__v1__get_self_test_request__descriptor, svc_get_self_test,
	  NULL },
	{ HVMGR("GetDiagnostics"), &hvmgr__v1__get_diagnostics_request__descriptor,
	  svc_get_diagnostics, NULL },
	{ HVMGR("GetVersion"), &hvmgr__v1__get_version_request__descriptor, svc_get_version, NULL },
	{ HVMGR("GetConfig"), &hvmgr__v1__get_config_request__descriptor, svc_get_config, NULL },
	{ HVMGR("ListConfigRevisions"), &hvmgr__v1__list_config_revisions_request__descriptor,
	  svc_list_config_revisions, NULL },
	{ HVMGR("RollbackConfig"), &hvmgr__v1__rollback_config_request__descriptor,
	  svc_rollback_config, NULL },
	{ HVMGR("SetAutostart"), &hvmgr__v1__set_autostart_request__descriptor, svc_set_autostart,
	  NULL },
	{ HVMGR("GetAudit"), &hvmgr__v1__get_audit_request__descriptor, svc_get_audit, NULL },
	{ HVMGR("VerifyAudit"), &hvmgr__v1__verify_audit_request__descriptor, svc_verify_audit, NULL },
	{ HVMGR("AcknowledgeAudit"), &hvmgr__v1__acknowledge_audit_request__descriptor,
	  svc_acknowledge_audit, NULL },
	{ HVMGR("WatchHealth"), &hvmgr__v1__watch_health_request__descriptor, NULL, svc_watch_health },
	{ HVMGR("ExportDiagnostics"), &hvmgr__v1__export_diagnostics_request__descriptor,
	  svc_export_diagnostics, NULL },
	{ HVMGR("GetVehicleState"), &hvmgr__v1__get_vehicle_state_request__descriptor,
	  svc_get_vehicle_state, NULL },
	{ HVMGR("SetVehicleState"), &hvmgr__v1__set_vehicle_state_request__descriptor,
	  svc_set_vehicle_state, NULL },
	{ HVMGR("GetPolicy"), &hvmgr__v1__get_policy_request__descriptor, svc_get_policy, NULL },
	{ HVMGR("ListPending"), &hvmgr__v1__list_pending_request__descriptor, svc_list_pending, NULL },
	{ HVMGR("CancelPending"), &hvmgr__v1__cancel_pending_request__descriptor,
	  svc_cancel_pending, NULL },
	/* bidirectional: the first message is the request, keystrokes follow */
	{ HVMGR("Console"), &hvmgr__v1__console_input__descriptor, NULL, svc_console },
	{ HVMGR("OtaUploadOffset"), &hvmgr__v1__ota_upload_offset_request__descriptor,
	  svc_ota_upload_offset, NULL },
	/* client streaming: the header is the request, the bytes follow */
	{ HVMGR("OtaUpload"), &hvmgr__v1__ota_upload_request__descriptor, NULL, svc_ota_upload },
	{ HVMGR("OtaInstall"), &hvmgr__v1__ota_install_request__descriptor, svc_ota_install, NULL },
	{ HVMGR("OtaStatus"), &hvmgr__v1__ota_status_request__descriptor, svc_ota_status, NULL },
	{ HVMGR("OtaFetch"), &hvmgr__v1__ota_fetch_request__descriptor, svc_ota_fetch, NULL },
	{ HVMGR("ConsoleSessionOpen"), &hvmgr__v1__console_session_open_request__descriptor,
	  svc_console_session_open, NULL },
	{ HVMGR("ConsoleSessionInput"), &hvmgr__v1__console_session_input_request__descriptor,
	  svc_console_session_input, NULL },
	{ HVMGR("ConsoleSessionClose"), &hvmgr__v1__console_session_close_request__descriptor,
	  svc_console_session_close, NULL },
	{ "/grpc.health.v1.Health/Check", &grpc__health__v1__health_check_request__descriptor,
	  svc_health_check, NULL },
	{ "/grpc.health.v1.Health/Watch", &grpc__health__v1__health_check_request__descriptor, NULL,
	  svc_health_watch },
};

const struct rpc_method *agent_methods(size_t *count)
{
	*count = sizeof methods / sizeof methods[0];
	return methods;
}

static int decide(const struct agent *ag, const struct rpc_peer *peer, const char *method,
		  struct hv_status *st)
{
	char msg[200];
	struct roles_identity id;
	enum hv_role role;

	switch (peer->kind) {
	case RPC_LISTENER_UNIX_RW:
		/* The socket's mode (0660) decided who may connect; the uid the
		 * kernel reports for the caller decides what it may do. */
		if (!peer->has_cred)
			return hv_status_set(st, HV_PERMISSION_DENIED,
					     "read-write socket: the caller's uid is unknown");
		role = roles_unix_role(&ag->unix_roles, peer->uid, peer->gid);
		if (role == HV_ROLE_NONE)
			return hv_status_set(st, HV_PERMISSION_DENIED,
					     "read-write socket: uid %u (gid %u) has no role "
					     "(hv-agent --unix-admin-uids, --unix-operator-gid)",
					     (unsigned)peer->uid, (unsigned)peer->gid);
		if (!roles_check(role, method, 0, msg, sizeof msg))
			return hv_status_set(st, HV_PERMISSION_DENIED, "uid %u: %s",
					     (unsigned)peer->uid, msg);
		return 0;
	case RPC_LISTENER_UNIX_RO:
		if (!roles_check(HV_ROLE_ADMIN, method, ROLES_READ_ONLY, msg, sizeof msg))
			return hv_status_set(st, HV_PERMISSION_DENIED, "read-only socket: %s", msg);
		return 0;
	case RPC_LISTENER_TCP_MTLS:
	case RPC_LISTENER_FLEET: /* the signer's certificate, checked by agent/fleet/ */
		if (roles_parse_identity(peer->identity, peer->x509_subject, &id, msg, sizeof msg) !=
		    0)
			return hv_status_set(st, HV_PERMISSION_DENIED, "client certificate: %s", msg);
		if (!roles_check(id.role, method, 0, msg, sizeof msg))
			return hv_status_set(st, HV_PERMISSION_DENIED, "%s: %s", id.name, msg);
		return 0;
	}
	return hv_status_set(st, HV_PERMISSION_DENIED, "unknown listener");
}

/* The short name of method ("Reset") when a call of it is recorded in the
 * audit log before it runs (REQ-SAF-16: a state-changing RPC), else NULL. The
 * acknowledgement of a finding is recorded by the store itself
 * (svc_audit.c). */
static const char *recorded_rpc(const char *method)
{
	const char *slash = strrchr(method, '/');
	const char *rpc = slash && slash[1] ? slash + 1 : method;
	const struct roles_method *m = roles_lookup(method);

	return m && m->mutates && strcmp(rpc, "AcknowledgeAudit") ? rpc : NULL;
}

int agent_authorize(void *app, const struct rpc_peer *peer, const char *method, struct hv_status *st)
{
	const char *slash = strrchr(method, '/');
	const char *rpc = slash && slash[1] ? slash + 1 : method;

	if (decide(app, peer, method, st) == 0) {
		/* REQ-SAF-16: a change is recorded before it is made; one whose
		 * record cannot be written is not made. */
		const char *rec = recorded_rpc(method);
		return rec ? agent_audit_request(app, peer, rec, st) : 0;
	}
	/* REQ-SAF-16: a refused call is recorded like any other; its request
	 * was never decoded, so its arguments are not known. */
	agent_audit_refused(app, peer, rpc, st);
	return -1;
}

void agent_unrun(void *app, const struct rpc_peer *peer, const char *method,
		 const struct hv_status *st)
{
	/* REQ-SAF-16: the "requested" row agent_authorize wrote gets its
	 * outcome, though the handler never ran. */
	const char *rec = recorded_rpc(method);
	if (rec)
		agent_audit(app, peer, rec, "(not run)", st);
}

int agent_op_enter(struct agent *ag, const char *what, struct hv_status *st)
{
	/* The deadline and the stopping flag come from the call scope the RPC
	 * layer set for this handler. */
	return hv_opqueue_enter(&ag->ops, what, 0, st);
}

void agent_op_leave(struct agent *ag)
{
	hv_opqueue_leave(&ag->ops);
}

int agent_hv_alive(struct agent *ag, uint64_t ticks)
{
	uint64_t now = hv_mono_ns();
	int alive;

	pthread_mutex_lock(&ag->live_lock);
	if (ticks != ag->last_ticks || ag->last_change_ns == 0) {
		ag->last_ticks = ticks;
		ag->last_change_ns = now;
	}
	/* MGMT-011: ticks advance at least every 100 ms; allow ten of them. */
	alive = now - ag->last_change_ns < HV_NS_PER_SEC;
	pthread_mutex_unlock(&ag->live_lock);
	return alive;
}
