/*
 * cmd_life.c - hvctl's lifecycle commands: start, shutdown, destroy, reboot,
 * reset, suspend, resume, undefine, autostart. They print virsh's sentences
 * ("Domain 'x' started") so that habits and scripts carry over.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"

#define HVMGR(m) m

/* The lifecycle requests share their first field (VmSelector vm = 1) and
 * their reply, so one function serves all of them: the request is built
 * generically from its descriptor. */
struct verb {
	const char *name;
	const char *method;
	const ProtobufCMessageDescriptor *req;
	const char *before, *after; /* around the VM's name */
};

static const struct verb verbs[] = {
	{ "start", HVMGR("Start"), &hvmgr__v1__start_request__descriptor, "Domain '", "' started" },
	{ "shutdown", HVMGR("Shutdown"), &hvmgr__v1__shutdown_request__descriptor, "Domain '",
	  "' is being shutdown" },
	{ "destroy", HVMGR("Destroy"), &hvmgr__v1__destroy_request__descriptor, "Domain '",
	  "' destroyed" },
	{ "reboot", HVMGR("Reboot"), &hvmgr__v1__reboot_request__descriptor, "Domain '",
	  "' is being rebooted" },
	{ "reset", HVMGR("Reset"), &hvmgr__v1__reset_request__descriptor, "Domain '", "' was reset" },
	{ "suspend", HVMGR("Suspend"), &hvmgr__v1__suspend_request__descriptor, "Domain '",
	  "' suspended" },
	{ "resume", HVMGR("Resume"), &hvmgr__v1__resume_request__descriptor, "Domain '", "' resumed" },
	{ "undefine", HVMGR("Undefine"), &hvmgr__v1__undefine_request__descriptor, "Domain '",
	  "' has been undefined" },
};

static const struct verb *find_verb(const char *name)
{
	for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
		if (strcmp(verbs[i].name, name) == 0)
			return &verbs[i];
	return NULL;
}

/* A request message of any lifecycle type with vm (field 1) set. All these
 * messages are { base; VmSelector *vm; ... } in protobuf-c's layout. */
struct vm_request {
	ProtobufCMessage base;
	Hvmgr__V1__VmSelector *vm;
	uint32_t timeout_ms; /* ShutdownRequest only */
	/* room for dry_run (field 40) and when_allowed (50), set through the
	 * descriptor */
	protobuf_c_boolean tail[4];
};
_Static_assert(offsetof(struct vm_request, vm) == offsetof(Hvmgr__V1__StartRequest, vm), "layout");
_Static_assert(offsetof(struct vm_request, vm) == offsetof(Hvmgr__V1__UndefineRequest, vm), "layout");
_Static_assert(offsetof(struct vm_request, timeout_ms) ==
		       offsetof(Hvmgr__V1__ShutdownRequest, timeout_ms),
	       "layout");

/* Sets the request's boolean field `name`, wherever its type keeps it. */
static void set_flag(const ProtobufCMessageDescriptor *d, struct vm_request *req, const char *name)
{
	const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(d, name);

	if (f && f->offset + sizeof(protobuf_c_boolean) <= sizeof *req)
		*(protobuf_c_boolean *)((char *)req + f->offset) = 1;
}

/* --dry-run: hv-core's policy verdict; denied is a failure (exit status 1). */
static int print_verdict(const char *verb, const char *name, const Hvmgr__V1__PolicyVerdict *pv)
{
	if (!pv) {
		fprintf(stderr, "hvctl: %s --dry-run: hv-agent did not answer with a verdict\n",
			verb);
		return HVCTL_FAIL;
	}
	if (pv->allowed) {
		printf("Domain '%s': %s would be allowed (vehicle %s, %s)\n", name, verb,
		       pv->vehicle_state, pv->criticality);
		return HVCTL_OK;
	}
	printf("Domain '%s': %s would be denied: %s\n", name, verb, pv->message);
	return HVCTL_FAIL;
}

/* MGMT-713: Start, Reset and Reboot may answer while hv-core still checks,
 * clears and copies the VM's image (the VM BLOCKED); `start`, `reset` and
 * `reboot` wait until it runs, or report that its boot failed. Bounded:
 * START_WAIT_S. */
#define START_WAIT_S 600u
#define START_POLL_NS 100000000l

static int wait_started(struct hvctl *h, const char *name)
{
	for (unsigned i = 0; i < START_WAIT_S * 10; i++) {
		Hvmgr__V1__GetVmRequest req = HVMGR__V1__GET_VM_REQUEST__INIT;
		Hvmgr__V1__GetVmResponse *resp;
		Hvmgr__V1__VmSelector sel;
		int rc;

		hvctl_selector(&sel, name);
		req.vm = &sel;
		if ((rc = hvctl_call(h, "GetVm", &req.base, &hvmgr__v1__get_vm_response__descriptor,
				     (ProtobufCMessage **)&resp)) != 0)
			return rc;
		int state = resp->vm ? (int)resp->vm->state : -1;
		int reason = resp->vm ? (int)resp->vm->reason : -1;
		protobuf_c_message_free_unpacked(&resp->base, NULL);
		if (state == HVMGR__V1__VM_STATE__VM_STATE_SHUTOFF &&
		    reason == HVMGR__V1__VM_REASON__VM_REASON_FAILED)
			return hvctl_error(HVCTL_FAIL, h->verb,
					   "'%s': hv-core could not boot it (its image does not match "
					   "the SHA-256 hv-core holds, or does not fit); it is shut off; "
					   "see hv-core's log and `hvctl event`",
					   name);
		if (state != HVMGR__V1__VM_STATE__VM_STATE_BLOCKED)
			return HVCTL_OK;
		struct timespec ts = { 0, START_POLL_NS };
		nanosleep(&ts, NULL);
	}
	return hvctl_error(HVCTL_FAIL, h->verb, "'%s' is still starting after %u s", name,
			   START_WAIT_S);
}

static int lifecycle(struct hvctl *h, const struct hvctl_args *a)
{
	const struct verb *v = find_verb(a->cmd->name);
	Hvmgr__V1__VmSelector sel;
	struct vm_request req;
	ProtobufCMessage *resp;
	uint64_t timeout = 0;
	int rc;

	if (strcmp(a->cmd->name, "shutdown") == 0 &&
	    opt_u64(a, "timeout-ms", 0, 3600000, &timeout) != 0)
		return HVCTL_USAGE;
	memset(&req, 0, sizeof req);
	protobuf_c_message_init(v->req, &req);
	hvctl_selector(&sel, a->pos[0]);
	req.vm = &sel;
	req.timeout_ms = (uint32_t)timeout;
	if (opt_flag(a, "dry-run") && opt_flag(a, "when-allowed"))
		return hvctl_usage(a->cmd, "--dry-run and --when-allowed exclude each other");
	if (opt_flag(a, "dry-run"))
		set_flag(v->req, &req, "dry_run");
	if (opt_flag(a, "when-allowed"))
		set_flag(v->req, &req, "when_allowed");
	const ProtobufCMessageDescriptor *rd = strcmp(a->cmd->name, "undefine") == 0
						       ? &hvmgr__v1__undefine_response__descriptor
						       : &hvmgr__v1__lifecycle_response__descriptor;
	if ((rc = hvctl_call(h, v->method, &req.base, rd, &resp)) != 0)
		return rc;
	const char *name = a->pos[0];
	const Hvmgr__V1__PolicyVerdict *pv;
	const Hvmgr__V1__PendingOp *po;
	int starting = 0;
	if (rd == &hvmgr__v1__lifecycle_response__descriptor) {
		const Hvmgr__V1__LifecycleResponse *lr = (const Hvmgr__V1__LifecycleResponse *)resp;
		if (lr->vm && lr->vm->name[0])
			name = lr->vm->name;
		starting = lr->vm && lr->vm->state == HVMGR__V1__VM_STATE__VM_STATE_BLOCKED &&
			   (strcmp(a->cmd->name, "start") == 0 || strcmp(a->cmd->name, "reset") == 0 ||
			    strcmp(a->cmd->name, "reboot") == 0);
		pv = lr->verdict;
		po = lr->pending;
	} else {
		pv = ((const Hvmgr__V1__UndefineResponse *)resp)->verdict;
		po = ((const Hvmgr__V1__UndefineResponse *)resp)->pending;
	}
	if (po) {
		/* --when-allowed and denied now: queued (MGMT-450) */
		printf("Domain '%s': %s denied now (%s); queued as pending command %llu, run when the "
		       "vehicle state allows it\n\n",
		       name, v->name, pv ? pv->message : "refused by the safety policy",
		       (unsigned long long)po->id);
		fflush(stdout);
		protobuf_c_message_free_unpacked(resp, NULL);
		return HVCTL_OK;
	}
	if (opt_flag(a, "dry-run")) {
		rc = print_verdict(v->name, name, pv);
		protobuf_c_message_free_unpacked(resp, NULL);
		return rc;
	}
	if (starting && !opt_flag(a, "dry-run")) {
		char n[128];
		snprintf(n, sizeof n, "%s", name);
		protobuf_c_message_free_unpacked(resp, NULL);
		if ((rc = wait_started(h, n)) != HVCTL_OK)
			return rc;
		printf("%s%s%s\n\n", v->before, n, v->after);
		fflush(stdout);
		return HVCTL_OK;
	}
	printf("%s%s%s\n\n", v->before, name, v->after);
	fflush(stdout);
	protobuf_c_message_free_unpacked(resp, NULL);
	return HVCTL_OK;
}

HVCTL_HANDLER(cmd_start)
{
	if (opt_flag(a, "console") && opt_flag(a, "when-allowed"))
		return hvctl_usage(a->cmd, "--console and --when-allowed exclude each other (a queued "
					   "start has no console to attach to yet)");
	int rc = lifecycle(h, a);

	if (rc != HVCTL_OK || !opt_flag(a, "console"))
		return rc;
	return console_attach(h, a->pos[0], false, 0);
}

HVCTL_HANDLER(cmd_shutdown)
{
	return lifecycle(h, a);
}
HVCTL_HANDLER(cmd_destroy)
{
	return lifecycle(h, a);
}
HVCTL_HANDLER(cmd_reboot)
{
	return lifecycle(h, a);
}
HVCTL_HANDLER(cmd_reset)
{
	return lifecycle(h, a);
}
HVCTL_HANDLER(cmd_suspend)
{
	return lifecycle(h, a);
}
HVCTL_HANDLER(cmd_resume)
{
	return lifecycle(h, a);
}
HVCTL_HANDLER(cmd_undefine)
{
	return lifecycle(h, a);
}

HVCTL_HANDLER(cmd_autostart)
{
	Hvmgr__V1__SetAutostartRequest req = HVMGR__V1__SET_AUTOSTART_REQUEST__INIT;
	Hvmgr__V1__SetAutostartResponse *resp;
	Hvmgr__V1__VmSelector sel;
	int rc;

	hvctl_selector(&sel, a->pos[0]);
	req.vm = &sel;
	req.enabled = !opt_flag(a, "disable");
	if ((rc = hvctl_call(h, "SetAutostart", &req.base,
			     &hvmgr__v1__set_autostart_response__descriptor,
			     (ProtobufCMessage **)&resp)) != 0)
		return rc;
	const char *name = resp->vm && resp->vm->name[0] ? resp->vm->name : a->pos[0];
	/* virsh's sentences */
	printf("Domain '%s' %s as autostarted\n\n", name, req.enabled ? "marked" : "unmarked");
	protobuf_c_message_free_unpacked(&resp->base, NULL);
	return HVCTL_OK;
}
