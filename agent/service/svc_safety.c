/*
 * svc_safety.c - the vehicle state and the safety policy hv-core enforces
 * (docs/mgmt-abi.md MGMT-400..404): GetVehicleState, SetVehicleState (admin,
 * audited; hv-core refuses it when the source is a guest) and GetPolicy, the
 * matrix as hv-core holds it. hv-agent decides nothing here: hv-core checks
 * every management command against its policy whoever sends it.
 */
#include "agent.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "outcome.h"

static const char *const crit_names[HVM_POLICY_CRITS] = { "QM", "ASIL-A", "ASIL-B", "ASIL-C",
							  "ASIL-D" };

const char *agent_criticality_name(uint32_t c)
{
	return c < HVM_POLICY_CRITS ? crit_names[c] : "?";
}

struct vehicle_msg {
	Hvmgr__V1__VehicleState vs;
	char source_vm[HVM_NAME_LEN + 1];
};

/* Submits a command that names no VM; CORE_OK with *rep filled. */
static enum core_result no_vm_cmd(struct agent *ag, uint32_t cmd, uint64_t arg0, void *out,
				  size_t out_cap, const char *what, struct hvlink_reply *rep,
				  struct hv_status *st)
{
	struct hvlink_cmd c = { .cmd = cmd, .vm_id = 0, .arg = { arg0 } };

	c.data_out = out;
	c.data_out_cap = out_cap;
	return core_submit(ag->link, &c, rep, what, st);
}

/* The vehicle state as hv-core reports it (MGMT-401). */
static int read_vehicle(struct agent *ag, struct vehicle_msg *m, const char *what,
			struct hv_status *st)
{
	struct hvlink_reply rep;
	struct hvm_vm_slot slot;
	const char *name;

	if (no_vm_cmd(ag, HVM_CMD_GET_VEHICLE_STATE, 0, NULL, 0, what, &rep, st) != CORE_OK)
		return -1;
	hvmgr__v1__vehicle_state__init(&m->vs);
	name = hvm_vehicle_state_name((uint32_t)rep.ret[0]);
	m->vs.state = (char *)(name ? name : "unknown");
	m->vs.source = (char *)(rep.ret[1] == HVM_VSRC_GUEST ? "guest" : "management");
	m->vs.age_ns = rep.ret[2];
	m->vs.source_vm_id = (uint32_t)rep.ret[3];
	m->source_vm[0] = '\0';
	if (rep.ret[1] == HVM_VSRC_GUEST &&
	    hvlink_find_by_id(ag->link, (uint32_t)rep.ret[3], &slot, st) == 0)
		snprintf(m->source_vm, sizeof m->source_vm, "%s", slot.name);
	m->vs.source_vm = m->source_vm;
	name = hvm_vehicle_state_name((uint32_t)rep.ret[4]);
	m->vs.reported_state = (char *)(name ? name : "unknown");
	m->vs.freshness_ns = rep.ret[5];
	return 0;
}

void svc_get_vehicle_state(const struct rpc_call_ctx *ctx, const ProtobufCMessage *m,
			   struct rpc_result *res)
{
	Hvmgr__V1__GetVehicleStateResponse resp = HVMGR__V1__GET_VEHICLE_STATE_RESPONSE__INIT;
	struct vehicle_msg v;

	(void)m;
	if (read_vehicle(ctx->app, &v, "vehicle state", &res->st) != 0)
		return;
	resp.vehicle = &v.vs;
	rpc_result_message(res, &resp.base);
}

/* The number of a state name, -1 for a name that is not one. */
static int state_by_name(const char *name)
{
	for (uint32_t i = 0; i < HVM_VS__COUNT; i++)
		if (strcmp(hvm_vehicle_state_name(i), name) == 0)
			return (int)i;
	return -1;
}

static void set_vehicle_locked(struct agent *ag, const char *name, struct rpc_result *res)
{
	Hvmgr__V1__SetVehicleStateResponse resp = HVMGR__V1__SET_VEHICLE_STATE_RESPONSE__INIT;
	struct hvlink_reply rep;
	struct vehicle_msg v;
	char what[64];
	int vs = state_by_name(name);

	if (vs < 0) {
		char known[128] = "";
		for (uint32_t i = 0; i < HVM_VS__COUNT; i++)
			snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s",
				 i ? ", " : "", hvm_vehicle_state_name(i));
		rpc_result_error(res, HV_INVALID_ARGUMENT,
				 "set vehicle state: '%s' is not a vehicle state (one of: %s)",
				 name, known);
		return;
	}
	snprintf(what, sizeof what, "set vehicle state %s", name);
	if (no_vm_cmd(ag, HVM_CMD_SET_VEHICLE_STATE, (uint64_t)vs, NULL, 0, what, &rep, &res->st) !=
	    CORE_OK)
		return;
	log_info("%s: done", what);
	if (read_vehicle(ag, &v, what, &res->st) != 0)
		return;
	resp.vehicle = &v.vs;
	rpc_result_message(res, &resp.base);
}

void svc_set_vehicle_state(const struct rpc_call_ctx *ctx, const ProtobufCMessage *m,
			   struct rpc_result *res)
{
	const Hvmgr__V1__SetVehicleStateRequest *req = (const Hvmgr__V1__SetVehicleStateRequest *)m;
	struct agent *ag = ctx->app;
	char args[64];

	snprintf(args, sizeof args, "state=%.40s", req->state);
	if (agent_op_enter(ag, "SET_VEHICLE_STATE", &res->st) == 0) {
		set_vehicle_locked(ag, req->state, res);
		agent_op_leave(ag);
	}
	agent_audit(ag, ctx->peer, "SetVehicleState", args, &res->st);
}

void svc_get_policy(const struct rpc_call_ctx *ctx, const ProtobufCMessage *m, struct rpc_result *res)
{
	enum {
		N_CELLS = HVM_VS__COUNT * HVM_OP__COUNT * HVM_POLICY_CRITS
	};
	Hvmgr__V1__GetPolicyResponse resp = HVMGR__V1__GET_POLICY_RESPONSE__INIT;
	/* On the heap, not in every thread's TLS (docs/performance.md). */
	struct policy_reads {
		struct hvm_policy pol;
		Hvmgr__V1__PolicyCell cells[N_CELLS];
		Hvmgr__V1__PolicyCell *cellp[N_CELLS];
		char *rules[HVM_POLICY_MAX_RULES];
	} *big = calloc(1, sizeof *big);
	struct agent *ag = ctx->app;
	struct hvlink_reply rep;
	size_t n = 0;

	(void)m;
	if (!big) {
		rpc_result_error(res, HV_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	struct hvm_policy *const pp = &big->pol;
	Hvmgr__V1__PolicyCell *const cells = big->cells;
	Hvmgr__V1__PolicyCell **const cellp = big->cellp;
	char **const rules = big->rules;
	if (no_vm_cmd(ag, HVM_CMD_GET_POLICY, 0, pp, sizeof *pp, "policy", &rep, &res->st) !=
	    CORE_OK) {
		free(big);
		return;
	}
	if (pp->magic != HVM_POLICY_MAGIC || pp->version != HVM_POLICY_VERSION ||
	    pp->n_rules > HVM_POLICY_MAX_RULES) {
		rpc_result_error(res, HV_INTERNAL,
				 "policy: hv-core's policy record is not readable (magic %#x, version %u, %u rules)",
				 pp->magic, pp->version, pp->n_rules);
		free(big);
		return;
	}
	resp.is_default = pp->is_default != 0;
	for (uint32_t i = 0; i < pp->n_rules; i++) {
		pp->rule[i][HVM_POLICY_RULE_LEN - 1] = '\0';
		rules[i] = pp->rule[i];
	}
	resp.n_rules = pp->n_rules;
	resp.rules = rules;
	for (uint32_t s = 0; s < HVM_VS__COUNT; s++)
		for (uint32_t o = 0; o < HVM_OP__COUNT; o++)
			for (uint32_t c = 0; c < HVM_POLICY_CRITS; c++, n++) {
				uint8_t cell = pp->cell[s][o][c];
				hvmgr__v1__policy_cell__init(&cells[n]);
				cells[n].state = (char *)hvm_vehicle_state_name(s);
				cells[n].operation = (char *)hvm_policy_op_name(o);
				cells[n].criticality = (char *)crit_names[c];
				cells[n].allowed = (cell & HVM_POLICY_ALLOW) != 0;
				cells[n].rule = cell & 0x7Fu;
				cellp[n] = &cells[n];
			}
	resp.n_cells = n;
	resp.cells = cellp;
	rpc_result_message(res, &resp.base);
	free(big);
}

int agent_policy_verdict(struct agent *ag, const struct hvm_vm_slot *slot, uint32_t cmd,
			 struct agent_verdict *out, const char *what, struct hv_status *st)
{
	struct hvlink_cmd c = { .cmd = HVM_CMD_CHECK_POLICY, .vm_id = slot->id, .arg = { cmd } };
	struct hvlink_reply rep;
	const char *vs;

	/* CHECK_POLICY's E_POLICY is the answer, not a failure of the call. */
	if (core_submit(ag->link, &c, &rep, what, st) == CORE_NO_ANSWER)
		return -1;
	if (rep.status != HVM_OK && rep.status != HVM_E_POLICY)
		return -1;
	hv_status_ok(st);
	hvmgr__v1__policy_verdict__init(&out->v);
	vs = hvm_vehicle_state_name((uint32_t)rep.ret[0]);
	out->v.allowed = rep.status == HVM_OK;
	out->v.vehicle_state = (char *)(vs ? vs : "unknown");
	out->v.operation = (char *)hvm_policy_op_name((uint32_t)hvm_policy_op_of_cmd(cmd));
	out->v.criticality = (char *)agent_criticality_name(slot->criticality);
	snprintf(out->msg, sizeof out->msg, "%s", rep.msg);
	out->v.message = out->msg;
	return 0;
}
