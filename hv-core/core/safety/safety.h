/*
 * safety.h - the vehicle state and the safety policy on hv-core's side
 * (docs/vm-config.md VMCFG-400..411, docs/mgmt-abi.md MGMT-400..405,
 * docs/guest-abi.md GABI-400).
 *
 * Both come only from the boot configuration (safety_configure()); no
 * management command changes the source or the policy. The management
 * decoder asks safety_check() about every command that performs a policy
 * operation, whatever transport carried it. hv-core's own fault handling and
 * a guest's PSCI calls do not pass through the decoder and are never gated.
 *
 * Callers hold the management command lock (mgmt_cmd_lock()).
 */
#ifndef HV_SAFETY_H
#define HV_SAFETY_H
#include <stddef.h>
#include <stdint.h>
#include "hvmgmt.h"
#include "policy.h"

/* VMCFG-400: reads /hv-core/vehicle-state and /hv-core/safety-policy of the
 * boot configuration blob (NULL: none, the defaults). Returns -1 with a
 * message when either is invalid; the defaults then stay in force. */
int safety_configure(const void *fdt, char *err, size_t errlen);

/* Samples the guest source (GABI-400) and reports a change of the effective
 * vehicle state as an event (MGMT-405). Called on every service tick. */
void safety_tick(uint64_t now_ns);

struct safety_view {
	uint32_t state;    /* effective: stale or absent source = UNKNOWN */
	uint32_t source;   /* enum hvm_vehicle_source                     */
	uint64_t age_ns;   /* since the source last wrote                 */
	uint32_t src_vm;   /* source VM id, HVM_EV_NO_VM when none        */
	uint32_t reported; /* the state as the source last wrote it       */
	uint64_t fresh_ns; /* freshness limit (guest source)              */
};
void safety_view(uint64_t now_ns, struct safety_view *out);

/* MGMT-400: whether cmd on VM id (criticality crit) is allowed now. On a
 * refusal returns HVM_E_POLICY with a message naming the rule, state,
 * operation and criticality, and (unless dry_run) appends a POLICY_DENIED
 * event. *cell is the matrix cell (0 for a command the policy does not rule). */
enum hvm_status safety_check(uint32_t cmd, uint32_t id, uint32_t crit, int dry_run, uint64_t now_ns,
			     uint8_t *cell, char *msg, unsigned mlen);

/* MGMT-402: SET_VEHICLE_STATE; refused unless the source is management. */
enum hvm_status safety_set_state(uint64_t vs, uint64_t now_ns, char *msg, unsigned mlen);

const struct policy *safety_policy(void);
#endif
