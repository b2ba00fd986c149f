/*
 * smccc.c - a guest's SMCCC calls (GABI-011, GABI-030): the SMCCC architecture
 * calls, PSCI (psci.c), the vendor-specific hypervisor service discovery calls
 * (CALL_COUNT, CALL_UID, REVISION) and hv-core's hypercalls (core/comm/hypercall.c).
 * Anything else answers NOT_SUPPORTED (-1) and changes nothing (REQ-SAF-09).
 */
#include "smccc.h"
#include "trap.h"
#include "psci.h"
#include "hypercall.h"
#include "hvguest.h"

void smccc_other_call(struct vcpu *v, struct trap_frame *f)
{
	uint32_t fid = (uint32_t)f->x[0];
	if (psci_guest_call(v, f))
		return;
	switch (fid) {
	case SMCCC_VERSION:
		f->x[0] = 0x10001; /* SMCCC 1.1 */
		return;
	case SMCCC_ARCH_FEATURES: {
		/* SMCCC 1.1 requires ARCH_FEATURES to answer for the architecture
		 * calls: VERSION and ARCH_FEATURES exist; ARCH_WORKAROUND_1/2/3
		 * (0x80008000, 0x80007FFF, 0x80003FFF) and everything else are
		 * NOT_SUPPORTED: hv-core offers no firmware mitigation, and a guest
		 * then applies its own (Linux reports what it cannot mitigate) */
		uint32_t q = (uint32_t)f->x[1];
		f->x[0] = (q == SMCCC_VERSION || q == SMCCC_ARCH_FEATURES)
				  ? 0
				  : (uint64_t)(int64_t)SMCCC_NOT_SUPPORTED;
		return;
	}
	case HVG_CALL_COUNT:
		f->x[0] = HVG_HC_COUNT;
		return;
	case HVG_CALL_UID: /* GABI-010 */
		f->x[0] = HVG_UID_W0;
		f->x[1] = HVG_UID_W1;
		f->x[2] = HVG_UID_W2;
		f->x[3] = HVG_UID_W3;
		return;
	case HVG_CALL_REVISION:
		f->x[0] = HVG_COOP_MAJOR;
		f->x[1] = HVG_COOP_MINOR;
		return;
	default:
		/* the whole vendor-specific hypervisor service range (owner 6) is
		 * hv-core's: an id it does not define is a forbidden hypercall */
		if (smccc_hyp_service(fid)) {
			hypercall_handle(v, f);
			return;
		}
		f->x[0] = (uint64_t)(int64_t)SMCCC_NOT_SUPPORTED;
		return;
	}
}
