/*
 * hypercall.c - the hypercalls of docs/guest-abi.md (GABI-030). Every argument
 * is checked; a bad one answers an error code and changes nothing (REQ-SAF-09).
 * smccc.c hands over the whole vendor-specific hypervisor service range
 * (owner 6): an id hv-core does not define is a forbidden hypercall, a fault
 * of kind HYPERCALL handled by the VM's fault policy (REQ-SAF-20); when the
 * policy lets the VM run on, the call answers NOT_SUPPORTED.
 */
#include "hypercall.h"
#include "hvguest.h"
#include "trap.h"
#include "vm.h"
#include "channel.h"
#include "console.h"
#include "sysregs.h"

#define RET(f, v) ((f)->x[0] = (uint64_t)(int64_t)(v))

void hypercall_handle(struct vcpu *v, struct trap_frame *f)
{
	struct vm *vm = v->vm;
	switch ((uint32_t)f->x[0]) {
	case HVG_HC_NULL:
		RET(f, 0);
		break;
	case HVG_HC_COOP_PAGE: /* GABI-031 */
		RET(f, 0);
		f->x[1] = vm->coop_ipa;
		break;
	case HVG_HC_DOORBELL: /* GABI-032, REQ-SAF-07 */
		RET(f, channel_doorbell(vm, f->x[1]));
		break;
	case HVG_HC_FAULT_REPORT: /* GABI-033 */
		vm_fault_report(v, f, f->x[1]);
		RET(f, 0);
		break;
	case HVG_HC_CONSOLE_PUTC: /* GABI-034 */
		if (f->x[1] > 0xFF) {
			RET(f, HVG_HC_E_INVALID);
			break;
		}
		console_putc(vm, (uint8_t)f->x[1]);
		RET(f, 0);
		break;
	default:
		/* vm_fault() with policy ignore returns; it must not skip an
		 * instruction here: ELR already points past the HVC */
		vm_fault(v, f, HVM_F_HYPERCALL, read_sysreg(esr_el2));
		RET(f, SMCCC_NOT_SUPPORTED);
		break;
	}
}
