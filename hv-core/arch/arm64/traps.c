/*
 * traps.c - decoding of exceptions from guests and from hv-core itself.
 *
 * A guest exception is either handled (hypercall, PSCI, trapped WFI, access to a
 * virtual device) and the guest resumes, or it is a guest fault: hv-core records
 * it, stops the VM and carries on (REQ-SAF-01, REQ-SAF-20, REQ-SAF-22). An
 * exception taken at EL2 is an hv-core bug: the syndrome is printed and that CPU
 * halts visibly.
 */
#include "trap.h"
#include "sysregs.h"
#include "cpu.h"
#include "vcpu.h"
#include "vm.h"
#include "smccc.h"
#include "vpl011.h"
#include "gicv3.h"
#include "log.h"

static const char *const kind_names[] = {
	"exception on SP_EL0", "synchronous exception", "IRQ", "FIQ", "SError",
	"exception from AArch32",
};

void trap_current(struct trap_frame *f, uint64_t kind)
{
	hv_panic("%s at EL2: ESR 0x%lx FAR 0x%lx ELR 0x%lx SPSR 0x%lx",
		 kind < 6 ? kind_names[kind] : "exception",
		 (unsigned long)read_sysreg(esr_el2), (unsigned long)read_sysreg(far_el2),
		 (unsigned long)f->elr, (unsigned long)f->spsr);
}

static uint64_t fault_ipa(void)
{
	uint64_t hpfar = read_sysreg(hpfar_el2);
	return ((hpfar & 0xFFFFFFFFFF0ull) << 8) | (read_sysreg(far_el2) & 0xFFF);
}

static void data_abort(struct vcpu *v, struct trap_frame *f, uint64_t esr)
{
	uint32_t iss = ESR_ISS(esr);
	uint64_t ipa = fault_ipa();
	struct vm *vm = v->vm;
	if ((iss & DABT_ISV) && vpl011_claims(&vm->uart, ipa)) {
		unsigned srt = DABT_SRT(iss);
		unsigned bytes = 1u << DABT_SAS(iss);
		if (iss & DABT_WNR) {
			uint64_t val = srt == 31 ? 0 : f->x[srt];
			vpl011_write(vm, ipa, val, bytes);
		} else {
			uint64_t val = vpl011_read(vm, ipa, bytes);
			if (srt != 31)
				f->x[srt] = val;
		}
		f->elr += (esr & ESR_IL) ? 4 : 2;
		return;
	}
	vm_fault(v, f, HVM_F_STAGE2_ABORT, esr); /* does not return */
}

void trap_lower_sync(struct trap_frame *f)
{
	struct vcpu *v = cpu_current()->vcpu;
	uint64_t esr = read_sysreg(esr_el2);
	if (!v)
		hv_panic("guest exception with no vCPU on this CPU: ESR 0x%lx ELR 0x%lx",
			 (unsigned long)esr, (unsigned long)f->elr);
	vcpu_account_exit(v);
	switch (ESR_EC(esr)) {
	case EC_WFX:
		if (!(ESR_ISS(esr) & 1))
			vcpu_wfi(v);
		f->elr += 4;
		break;
	case EC_HVC64:
		smccc_guest_call(v, f); /* ELR already points past the HVC */
		break;
	case EC_SMC64:
		smccc_guest_call(v, f);
		f->elr += 4;            /* a trapped SMC returns to the SMC itself */
		break;
	case EC_DABT_LOW:
		data_abort(v, f, esr);
		break;
	case EC_IABT_LOW:
		vm_fault(v, f, HVM_F_STAGE2_ABORT, esr);
		break;
	default:
		vm_fault(v, f, HVM_F_UNDEF_TRAP, esr);
		break;
	}
	vcpu_account_entry(v);
}

void trap_lower_irq(struct trap_frame *f)
{
	/* No physical interrupt is routed to guests yet (GIC virtualization is later
	 * work); acknowledge and drop anything that arrives while a guest runs. */
	uint32_t intid = gicv3_ack();
	if (intid != GIC_INTID_SPURIOUS)
		gicv3_eoi(intid);
}

void trap_lower_serror(struct trap_frame *f)
{
	struct vcpu *v = cpu_current()->vcpu;
	if (!v)
		hv_panic("SError with no vCPU on this CPU: ESR 0x%lx", (unsigned long)read_sysreg(esr_el2));
	vm_fault(v, f, HVM_F_UNDEF_TRAP, read_sysreg(esr_el2));
}
