/*
 * policy.h - the safety policy: which management operation is allowed on a VM
 * of which criticality in which vehicle state (docs/vm-config.md VMCFG-410,
 * VMCFG-411; docs/mgmt-abi.md MGMT-400).
 *
 * The policy is an ordered list of rules "STATES OPERATIONS CRITICALITIES
 * allow|deny"; each cell of the matrix (vehicle state, operation,
 * criticality) takes the verdict of the first rule that matches it, and a cell
 * no rule matches is denied. The rules are expanded into the matrix once, when
 * the boot configuration is read; a check is then one table look-up.
 *
 * Portable C (no hv-core state): compiled into hv-core and for host tests.
 */
#ifndef HV_POLICY_H
#define HV_POLICY_H
#include <stddef.h>
#include <stdint.h>
#include "hvmgmt.h"

struct policy {
	int is_default;
	uint32_t n_rules;
	/* cell: HVM_POLICY_ALLOW | rule number (1-based, 0 = none) */
	uint8_t cell[HVM_VS__COUNT][HVM_OP__COUNT][HVM_POLICY_CRITS];
	char rule[HVM_POLICY_MAX_RULES][HVM_POLICY_RULE_LEN];
};

/* VMCFG-411: the default policy, used when the boot configuration has none. */
void policy_default(struct policy *p);

/* VMCFG-410: builds p from n rule strings. On a malformed rule returns -1 and
 * writes a message naming the rule and the word to err; p is then unusable. */
int policy_build(struct policy *p, const char *const *rules, size_t n, char *err, size_t errlen);

/* The cell of (vehicle state, operation, criticality); states and
 * criticalities out of range are treated as UNKNOWN and ASIL-D. */
uint8_t policy_cell(const struct policy *p, uint32_t vs, uint32_t op, uint32_t crit);

/* "QM", "ASIL-A".."ASIL-D", or "?". */
const char *policy_crit_name(uint32_t crit);

/* MGMT-403: the GET_POLICY record. */
void policy_record(const struct policy *p, struct hvm_policy *out);
#endif
