/*
 * cmd_life.c - hvctl's lifecycle commands: start, shutdown, destroy, reboot,
 * reset, suspend, resume, define, undefine. They print virsh's sentences
 * ("Domain 'x' started") so that habits and scripts carry over.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"

#define HVMGR(m) "/hvmgr.v1.Hvmgr/" m

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
	{ "shutdown", HVMGR("Shutdown"), &hvmgr__v1__shutdown_request__descriptor, "Domain '", "' is being shutdown" },
	{ "destroy", HVMGR("Destroy"), &hvmgr__v1__destroy_request__descriptor, "Domain '", "' destroyed" },
	{ "reboot", HVMGR("Reboot"), &hvmgr__v1__reboot_request__descriptor, "Domain '", "' is being rebooted" },
	{ "reset", HVMGR("Reset"), &hvmgr__v1__reset_request__descriptor, "Domain '", "' was reset" },
	{ "suspend", HVMGR("Suspend"), &hvmgr__v1__suspend_request__descriptor, "Domain '", "' suspended" },
	{ "resume", HVMGR("Resume"), &hvmgr__v1__resume_request__descriptor, "Domain '", "' resumed" },
	{ "undefine", HVMGR("Undefine"), &hvmgr__v1__undefine_request__descriptor, "Domain '", "' has been undefined" },
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
};
_Static_assert(offsetof(struct vm_request, vm) == offsetof(Hvmgr__V1__StartRequest, vm), "layout");
_Static_assert(offsetof(struct vm_request, vm) == offsetof(Hvmgr__V1__UndefineRequest, vm), "layout");
_Static_assert(offsetof(struct vm_request, timeout_ms) == offsetof(Hvmgr__V1__ShutdownRequest, timeout_ms),
	       "layout");

static int lifecycle(struct hvctl *h, const struct hvctl_cmd *cmd, int argc, char **argv)
{
	const struct verb *v = find_verb(cmd->name);
	const char *timeout = NULL;
	bool is_shutdown = strcmp(cmd->name, "shutdown") == 0;
	const struct hvctl_opt shutdown_opts[] = { { "timeout-ms", true, NULL, &timeout }, { 0 } };
	const char *pos[1];
	int npos;
	Hvmgr__V1__VmSelector sel;
	struct vm_request req;
	struct hv_status st;
	ProtobufCMessage *resp;

	if (hvctl_parse(cmd, argc, argv, is_shutdown ? shutdown_opts : NULL, pos, 1, 1, &npos) != 0)
		return HVCTL_USAGE;
	memset(&req, 0, sizeof req);
	protobuf_c_message_init(v->req, &req);
	hvctl_selector(&sel, pos[0]);
	req.vm = &sel;
	if (timeout) {
		char *end;
		errno = 0;
		unsigned long ms = strtoul(timeout, &end, 10);
		if (errno || *end || end == timeout || ms > 3600000ul)
			return hvctl_usage(cmd, "--timeout-ms '%s' is not a number of milliseconds up to 3600000",
					   timeout);
		req.timeout_ms = (uint32_t)ms;
	}
	struct hvc *c = hvctl_conn(h);
	if (!c)
		return HVCTL_FAIL;
	const ProtobufCMessageDescriptor *rd = strcmp(cmd->name, "undefine") == 0
						       ? &hvmgr__v1__undefine_response__descriptor
						       : &hvmgr__v1__lifecycle_response__descriptor;
	if (hvc_call(c, v->method, &req.base, rd, &resp, HVCTL_CALL_TIMEOUT_MS, &st) != 0)
		return hvctl_fail(cmd->name, &st);
	const char *name = pos[0];
	if (rd == &hvmgr__v1__lifecycle_response__descriptor) {
		const Hvmgr__V1__LifecycleResponse *lr = (const Hvmgr__V1__LifecycleResponse *)resp;
		if (lr->vm && lr->vm->name[0])
			name = lr->vm->name;
	}
	printf("%s%s%s\n\n", v->before, name, v->after);
	protobuf_c_message_free_unpacked(resp, NULL);
	return HVCTL_OK;
}

HVCTL_HANDLER(cmd_start) { return lifecycle(h, cmd, argc, argv); }
HVCTL_HANDLER(cmd_shutdown) { return lifecycle(h, cmd, argc, argv); }
HVCTL_HANDLER(cmd_destroy) { return lifecycle(h, cmd, argc, argv); }
HVCTL_HANDLER(cmd_reboot) { return lifecycle(h, cmd, argc, argv); }
HVCTL_HANDLER(cmd_reset) { return lifecycle(h, cmd, argc, argv); }
HVCTL_HANDLER(cmd_suspend) { return lifecycle(h, cmd, argc, argv); }
HVCTL_HANDLER(cmd_resume) { return lifecycle(h, cmd, argc, argv); }
HVCTL_HANDLER(cmd_undefine) { return lifecycle(h, cmd, argc, argv); }

#define MAX_DTB (512u * 1024u) /* the command data area of ABI 1.0 */

HVCTL_HANDLER(cmd_define)
{
	const char *pos[1];
	int npos;
	Hvmgr__V1__DefineRequest req = HVMGR__V1__DEFINE_REQUEST__INIT;
	Hvmgr__V1__DefineResponse *resp;
	struct hv_status st;

	if (hvctl_parse(cmd, argc, argv, NULL, pos, 1, 1, &npos) != 0)
		return HVCTL_USAGE;
	FILE *f = fopen(pos[0], "rb");
	if (!f) {
		hv_status_set(&st, HV_INVALID_ARGUMENT, "cannot read %s: %s", pos[0], strerror(errno));
		return hvctl_fail("define", &st);
	}
	uint8_t *buf = malloc(MAX_DTB + 1);
	size_t n = buf ? fread(buf, 1, MAX_DTB + 1, f) : 0;
	fclose(f);
	if (!buf || n > MAX_DTB) {
		free(buf);
		hv_status_set(&st, HV_INVALID_ARGUMENT, "%s is larger than %u bytes", pos[0], MAX_DTB);
		return hvctl_fail("define", &st);
	}
	if (n < 4 || buf[0] != 0xd0 || buf[1] != 0x0d || buf[2] != 0xfe || buf[3] != 0xed) {
		free(buf);
		hv_status_set(&st, HV_INVALID_ARGUMENT,
			      "%s is not a device tree blob (compile the .dts with: dtc -O dtb -o VM.dtb VM.dts)", pos[0]);
		return hvctl_fail("define", &st);
	}
	req.config_dtb.data = buf;
	req.config_dtb.len = n;
	struct hvc *c = hvctl_conn(h);
	int rc = HVCTL_FAIL;
	if (c && hvc_call(c, HVMGR("Define"), &req.base, &hvmgr__v1__define_response__descriptor,
			  (ProtobufCMessage **)&resp, HVCTL_CALL_TIMEOUT_MS, &st) == 0) {
		printf("Domain '%s' defined from %s\n\n", resp->vm ? resp->vm->name : "?", pos[0]);
		protobuf_c_message_free_unpacked(&resp->base, NULL);
		rc = HVCTL_OK;
	} else if (c) {
		hvctl_fail("define", &st);
	}
	free(buf);
	return rc;
}
