/*
 * cmd_safety.c - hvctl vehicle (the vehicle state hv-core acts on, and
 * declaring it where the source is the management interface) and hvctl
 * policy (the safety policy's matrix). hv-core decides; these only show.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"

static void vehicle_print(const struct hvctl_args *a, const Hvmgr__V1__VehicleState *v)
{
	if (!v) {
		printf("-\n");
		return;
	}
	if (opt_flag(a, "json")) {
		json_print(json_pack("{s:s, s:s, s:I, s:s, s:s, s:I}", "state", v->state, "source",
				     v->source, "age_ms", (json_int_t)(v->age_ns / 1000000u),
				     "source_vm", v->source_vm, "reported_state", v->reported_state,
				     "freshness_ms", (json_int_t)(v->freshness_ns / 1000000u)));
		return;
	}
	printf("State:    %s\n", v->state);
	if (v->source_vm[0])
		printf("Source:   %s (VM %s)\n", v->source, v->source_vm);
	else
		printf("Source:   %s\n", v->source);
	printf("Age:      %llu ms\n", (unsigned long long)(v->age_ns / 1000000u));
	if (strcmp(v->state, v->reported_state) != 0)
		printf("Reported: %s (stale: older than %llu ms, or the source VM is not running)\n",
		       v->reported_state, (unsigned long long)(v->freshness_ns / 1000000u));
}

static int vehicle_set(struct hvctl *h, const struct hvctl_args *a, const char *state)
{
	Hvmgr__V1__SetVehicleStateRequest req = HVMGR__V1__SET_VEHICLE_STATE_REQUEST__INIT;
	Hvmgr__V1__SetVehicleStateResponse *r;
	int rc;

	req.state = (char *)state;
	if ((rc = hvctl_call(h, "SetVehicleState", &req.base,
			     &hvmgr__v1__set_vehicle_state_response__descriptor,
			     (ProtobufCMessage **)&r)) != 0)
		return rc;
	vehicle_print(a, r->vehicle);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	return HVCTL_OK;
}

HVCTL_HANDLER(cmd_vehicle)
{
	Hvmgr__V1__GetVehicleStateRequest req = HVMGR__V1__GET_VEHICLE_STATE_REQUEST__INIT;
	Hvmgr__V1__GetVehicleStateResponse *r;
	int rc;

	if (a->npos == 2 && !strcmp(a->pos[0], "set"))
		return vehicle_set(h, a, a->pos[1]);
	if (a->npos != 0) {
		fprintf(stderr, "hvctl: vehicle: expected no argument or 'set STATE', got '%s'%s\n",
			a->pos[0],
			a->npos == 1 && !strcmp(a->pos[0], "set") ? " without a state" : "");
		return HVCTL_USAGE;
	}
	if ((rc = hvctl_call(h, "GetVehicleState", &req.base,
			     &hvmgr__v1__get_vehicle_state_response__descriptor,
			     (ProtobufCMessage **)&r)) != 0)
		return rc;
	vehicle_print(a, r->vehicle);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	return HVCTL_OK;
}

static void policy_json(const Hvmgr__V1__GetPolicyResponse *r)
{
	json_t *rules = json_array(), *cells = json_array();

	for (size_t i = 0; i < r->n_rules; i++)
		json_array_append_new(rules, json_string(r->rules[i]));
	for (size_t i = 0; i < r->n_cells; i++) {
		const Hvmgr__V1__PolicyCell *c = r->cells[i];
		json_array_append_new(cells, json_pack("{s:s, s:s, s:s, s:b, s:I}", "state",
						       c->state, "operation", c->operation,
						       "criticality", c->criticality, "allowed",
						       c->allowed, "rule", (json_int_t)c->rule));
	}
	json_print(json_pack("{s:b, s:o, s:o}", "default", r->is_default, "rules", rules, "cells",
			     cells));
}

/* One line per (state, operation): a column per criticality, "allow" or
 * "deny", with the deciding rule's number. */
static void policy_table(const Hvmgr__V1__GetPolicyResponse *r)
{
	const char *state = "", *op = "";

	printf("Policy: %s\n", r->is_default ? "the default (VMCFG-411)" : "from the configuration");
	printf("%-9s %-11s", "STATE", "OPERATION");
	for (size_t i = 0; i < r->n_cells && !strcmp(r->cells[i]->state, r->cells[0]->state) &&
			   !strcmp(r->cells[i]->operation, r->cells[0]->operation);
	     i++)
		printf(" %-10s", r->cells[i]->criticality);
	for (size_t i = 0; i < r->n_cells; i++) {
		const Hvmgr__V1__PolicyCell *c = r->cells[i];
		char v[16];
		if (strcmp(c->state, state) != 0 || strcmp(c->operation, op) != 0) {
			printf("\n%-9s %-11s", c->state, c->operation);
			state = c->state;
			op = c->operation;
		}
		snprintf(v, sizeof v, "%s/%u", c->allowed ? "allow" : "deny", c->rule);
		printf(" %-10s", v);
	}
	printf("\n");
	for (size_t i = 0; i < r->n_rules; i++)
		printf("rule %zu: %s\n", i + 1, r->rules[i]);
}

HVCTL_HANDLER(cmd_policy)
{
	Hvmgr__V1__GetPolicyRequest req = HVMGR__V1__GET_POLICY_REQUEST__INIT;
	Hvmgr__V1__GetPolicyResponse *r;
	int rc;

	if ((rc = hvctl_call(h, "GetPolicy", &req.base, &hvmgr__v1__get_policy_response__descriptor,
			     (ProtobufCMessage **)&r)) != 0)
		return rc;
	if (opt_flag(a, "json"))
		policy_json(r);
	else
		policy_table(r);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	return HVCTL_OK;
}

/* ---- pending: commands waiting for the safety policy (MGMT-450..452) ---- */

static json_t *pending_json(const Hvmgr__V1__PendingOp *p)
{
	return json_pack("{s:I, s:s, s:s, s:s, s:I, s:s, s:I, s:s, s:I, s:s}", "id",
			 (json_int_t)p->id, "operation", p->operation, "vm", p->vm_name, "uuid",
			 p->vm_uuid, "timeout_ms", (json_int_t)p->timeout_ms, "caller", p->caller,
			 "queued_ms", (json_int_t)p->queued_ms, "state", p->state, "finished_ms",
			 (json_int_t)p->finished_ms, "outcome", p->outcome);
}

static int pending_cancel(struct hvctl *h, const struct hvctl_args *a, const char *id_s)
{
	Hvmgr__V1__CancelPendingRequest req = HVMGR__V1__CANCEL_PENDING_REQUEST__INIT;
	Hvmgr__V1__CancelPendingResponse *r;
	char *end;
	int rc;

	errno = 0;
	unsigned long long id = strtoull(id_s, &end, 10);
	if (!*id_s || *end || errno || id == 0 || id_s[0] == '-') {
		fprintf(stderr,
			"hvctl: pending cancel: '%s' is not a pending command's id (1, 2, ...)\n",
			id_s);
		return HVCTL_USAGE;
	}
	req.id = id;
	if ((rc = hvctl_call(h, "CancelPending", &req.base,
			     &hvmgr__v1__cancel_pending_response__descriptor,
			     (ProtobufCMessage **)&r)) != 0)
		return rc;
	if (opt_flag(a, "json"))
		json_print(r->op ? pending_json(r->op) : json_object());
	else if (r->op)
		printf("Pending command %llu (%s '%s') cancelled\n\n",
		       (unsigned long long)r->op->id, r->op->operation, r->op->vm_name);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	return HVCTL_OK;
}

HVCTL_HANDLER(cmd_pending)
{
	Hvmgr__V1__ListPendingRequest req = HVMGR__V1__LIST_PENDING_REQUEST__INIT;
	Hvmgr__V1__ListPendingResponse *r;
	int rc;

	if (a->npos == 2 && !strcmp(a->pos[0], "cancel"))
		return pending_cancel(h, a, a->pos[1]);
	if (a->npos != 0) {
		fprintf(stderr, "hvctl: pending: expected no argument or 'cancel ID', got '%s'%s\n",
			a->pos[0],
			a->npos == 1 && !strcmp(a->pos[0], "cancel") ? " without an id" : "");
		return HVCTL_USAGE;
	}
	req.all = opt_flag(a, "all");
	if ((rc = hvctl_call(h, "ListPending", &req.base, &hvmgr__v1__list_pending_response__descriptor,
			     (ProtobufCMessage **)&r)) != 0)
		return rc;
	if (opt_flag(a, "json")) {
		json_t *ops = json_array();
		for (size_t i = 0; i < r->n_ops; i++)
			json_array_append_new(ops, pending_json(r->ops[i]));
		json_print(ops);
	} else {
		printf(" %-4s %-9s %-16s %-10s %-23s %s\n", "Id", "Operation", "Domain", "State",
		       "Queued", "Outcome");
		printf("%s\n", "----------------------------------------------------------------------"
			       "--------");
		for (size_t i = 0; i < r->n_ops; i++) {
			const Hvmgr__V1__PendingOp *p = r->ops[i];
			char when[40];
			fmt_time_ms((int64_t)p->queued_ms, when, sizeof when);
			printf(" %-4llu %-9s %-16s %-10s %-23s %s\n", (unsigned long long)p->id,
			       p->operation, p->vm_name, p->state, when, p->outcome);
		}
		printf("\n");
	}
	protobuf_c_message_free_unpacked(&r->base, NULL);
	return HVCTL_OK;
}
