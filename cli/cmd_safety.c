/*
 * cmd_safety.c - hvctl vehicle (the vehicle state hv-core acts on, and
 * declaring it where the source is the management interface) and hvctl
 * policy (the safety policy's matrix). hv-core decides; these only show.
 */
#include <stdio.h>
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
