/* smccc.h - dispatch of a guest's SMCCC call (HVC or trapped SMC) by function id. */
#ifndef HV_SMCCC_H
#define HV_SMCCC_H
#include <stdint.h>
#include "trap.h"
#include "hypercall.h"
struct vcpu;

/* A fast call (bit 31) of owner 6, the vendor-specific hypervisor service. */
static inline int smccc_hyp_service(uint32_t fid)
{
	return (fid & 0x80000000u) && ((fid >> 24) & 0x3F) == 6;
}

/* Every other call: SMCCC architecture calls, PSCI, the hypervisor
 * service's discovery calls (smccc.c). */
void smccc_other_call(struct vcpu *v, struct trap_frame *f);

/* hv-core's hypercalls go straight to their handler, the commonest calls on
 * the exit path; the service's discovery calls (function numbers 0xFF00 and
 * up) and everything else to smccc_other_call. */
static inline void smccc_guest_call(struct vcpu *v, struct trap_frame *f)
{
	uint32_t fid = (uint32_t)f->x[0];
	if (smccc_hyp_service(fid) && (fid & 0xFFFFu) < 0xFF00u)
		hypercall_handle(v, f);
	else
		smccc_other_call(v, f);
}
#endif
