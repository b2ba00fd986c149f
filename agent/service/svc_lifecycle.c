/*
 * svc_lifecycle.c - the state-changing RPCs of hvmgr.v1: Define, Undefine and
 * the lifecycle commands (MGMT-045). Each resolves the VM, submits one
 * management command through hvlink and answers with the VM's slot as it is
 * right after hv-core accepted the command. hv-core validates everything again
 * (REQ-SAF-09); the checks here only give better messages.
 */
#include "agent.h"

#include <stdio.h>
#include <string.h>

#include "log.h"

/* Submits cmd for the VM a selector names, then re-reads its slot. */
static void lifecycle(const struct rpc_call_ctx *ctx, const Hvmgr__V1__VmSelector *sel, uint32_t cmd,
		      const char *verb, uint64_t arg0, struct rpc_result *res)
{
	struct agent *ag = ctx->app;
	struct hvm_vm_slot slot;
	struct hvlink_cmd c;
	struct hvlink_reply rep;
	char label[64], what[96];

	if (resolve_vm(ag, sel, &slot, label, sizeof label, &res->st) != 0)
		return;
	snprintf(what, sizeof what, "%s %s", verb, label);
	memset(&c, 0, sizeof c);
	c.cmd = cmd;
	c.vm_id = slot.id;
	c.arg[0] = arg0;
	if (hvlink_command(ag->link, &c, &rep, &res->st) != 0) {
		hv_status_prefix(&res->st, "%s: ", what);
		return;
	}
	if (rep.status != HVM_OK) {
		status_from_reply(&res->st, what, cmd, &rep);
		log_info("%s refused: %s", what, res->st.msg);
		return;
	}
	log_info("%s: done", what);
	if (cmd == HVM_CMD_UNDEFINE) {
		Hvmgr__V1__UndefineResponse resp = HVMGR__V1__UNDEFINE_RESPONSE__INIT;
		rpc_result_message(res, &resp.base);
		return;
	}
	struct hvm_vm_slot after;
	struct vm_msg vm;
	Hvmgr__V1__LifecycleResponse resp = HVMGR__V1__LIFECYCLE_RESPONSE__INIT;
	if (hvlink_read_slot(ag->link, slot.id, &after, &res->st) != 0)
		return;
	vm_msg_from_slot(&vm, &after);
	resp.vm = &vm.vm;
	rpc_result_message(res, &resp.base);
}

#define LIFECYCLE_HANDLER(fn, type, cmd, verb)                                                    \
	void fn(const struct rpc_call_ctx *ctx, const ProtobufCMessage *m, struct rpc_result *res) \
	{                                                                                          \
		const type *req = (const type *)m;                                                 \
		lifecycle(ctx, req->vm, cmd, verb, 0, res);                                        \
	}

LIFECYCLE_HANDLER(svc_undefine, Hvmgr__V1__UndefineRequest, HVM_CMD_UNDEFINE, "undefine")
LIFECYCLE_HANDLER(svc_start, Hvmgr__V1__StartRequest, HVM_CMD_START, "start")
LIFECYCLE_HANDLER(svc_destroy, Hvmgr__V1__DestroyRequest, HVM_CMD_DESTROY, "destroy")
LIFECYCLE_HANDLER(svc_reboot, Hvmgr__V1__RebootRequest, HVM_CMD_REBOOT, "reboot")
LIFECYCLE_HANDLER(svc_reset, Hvmgr__V1__ResetRequest, HVM_CMD_RESET, "reset")
LIFECYCLE_HANDLER(svc_suspend, Hvmgr__V1__SuspendRequest, HVM_CMD_SUSPEND, "suspend")
LIFECYCLE_HANDLER(svc_resume, Hvmgr__V1__ResumeRequest, HVM_CMD_RESUME, "resume")

void svc_shutdown(const struct rpc_call_ctx *ctx, const ProtobufCMessage *m, struct rpc_result *res)
{
	const Hvmgr__V1__ShutdownRequest *req = (const Hvmgr__V1__ShutdownRequest *)m;

	lifecycle(ctx, req->vm, HVM_CMD_SHUTDOWN, "shutdown", req->timeout_ms, res);
}

/* FDT header magic, big-endian (devicetree specification). */
static int looks_like_fdt(const uint8_t *p, size_t len)
{
	return len >= 40 && p[0] == 0xd0 && p[1] == 0x0d && p[2] == 0xfe && p[3] == 0xed;
}

void svc_define(const struct rpc_call_ctx *ctx, const ProtobufCMessage *m, struct rpc_result *res)
{
	const Hvmgr__V1__DefineRequest *req = (const Hvmgr__V1__DefineRequest *)m;
	struct agent *ag = ctx->app;
	struct hvlink_cmd c;
	struct hvlink_reply rep;

	if (req->config_dtb.len == 0) {
		rpc_result_error(res, HV_INVALID_ARGUMENT, "define: config_dtb is empty");
		return;
	}
	if (!looks_like_fdt(req->config_dtb.data, req->config_dtb.len)) {
		rpc_result_error(res, HV_INVALID_ARGUMENT,
				 "define: config_dtb is not a flattened device tree (no 0xd00dfeed magic; compile the .dts with dtc -O dtb)");
		return;
	}
	memset(&c, 0, sizeof c);
	c.cmd = HVM_CMD_DEFINE;
	c.arg[0] = 0; /* blob offset in the data area */
	c.arg[1] = req->config_dtb.len;
	c.data_in = req->config_dtb.data;
	c.data_in_len = req->config_dtb.len;
	if (hvlink_command(ag->link, &c, &rep, &res->st) != 0) {
		hv_status_prefix(&res->st, "define: ");
		return;
	}
	if (rep.status != HVM_OK) {
		status_from_reply(&res->st, "define", HVM_CMD_DEFINE, &rep);
		log_info("define refused: %s", res->st.msg);
		return;
	}
	struct hvm_vm_slot slot;
	struct vm_msg vm;
	Hvmgr__V1__DefineResponse resp = HVMGR__V1__DEFINE_RESPONSE__INIT;
	if (rep.ret[0] >= HVM_MAX_VMS) {
		rpc_result_error(res, HV_INTERNAL, "define: hv-core answered an invalid vm id %llu",
				 (unsigned long long)rep.ret[0]);
		return;
	}
	if (hvlink_read_slot(ag->link, (uint32_t)rep.ret[0], &slot, &res->st) != 0)
		return;
	log_info("define: VM '%s' is id %u", slot.name, slot.id);
	vm_msg_from_slot(&vm, &slot);
	resp.vm = &vm.vm;
	rpc_result_message(res, &resp.base);
}
