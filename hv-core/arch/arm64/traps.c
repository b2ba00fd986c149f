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
#include "irq.h"
#include "vgic.h"
#include "mgmt_mmio.h"
#include "mgmt_window.h"
#include "virtio_mmio.h"
#include "log.h"

static const char *const kind_names[] = {
	"exception on SP_EL0",    "synchronous exception", "IRQ", "FIQ", "SError",
	"exception from AArch32",
};

void trap_current(struct trap_frame *f, uint64_t kind)
{
	hv_panic("%s at EL2: ESR 0x%lx FAR 0x%lx ELR 0x%lx SPSR 0x%lx",
		 kind < 6 ? kind_names[kind] : "exception", (unsigned long)read_sysreg(esr_el2),
		 (unsigned long)read_sysreg(far_el2), (unsigned long)f->elr, (unsigned long)f->spsr);
}

void trap_inject_sea(struct trap_frame *f, uint64_t esr)
{
	uint64_t mode = f->spsr & 0xF; /* M[3:0]: 0 EL0t, 4 EL1t, 5 EL1h */
	int from_el1 = (mode >> 2) == 1;
	int data = ESR_EC(esr) == EC_DABT_LOW;
	uint64_t ec = data ? (from_el1 ? EC_DABT_CUR : EC_DABT_LOW)
			   : (from_el1 ? EC_IABT_CUR : EC_IABT_LOW);
	/* FSC 0x10: synchronous external abort, not on a table walk; FAR valid;
	 * a data abort keeps WnR, no instruction syndrome (ISV 0) */
	uint64_t iss = 0x10u | (data ? (ESR_ISS(esr) & DABT_WNR) : 0);
	write_sysreg(esr_el1, ec << 26 | ESR_IL | iss);
	write_sysreg(far_el1, read_sysreg(far_el2));
	write_sysreg(elr_el1, f->elr);
	write_sysreg(spsr_el1, f->spsr);
	/* vector: current EL with SP_EL0 0x000, with SP_ELx 0x200, lower EL 0x400 */
	uint64_t off = !from_el1 ? 0x400 : mode == 5 ? 0x200 : 0x000;
	f->elr = read_sysreg(vbar_el1) + off;
	f->spsr = 0x3C5; /* EL1h, D, A, I, F masked: the state of an exception entry */
}

static uint64_t fault_ipa(void)
{
	uint64_t hpfar = read_sysreg(hpfar_el2);
	return ((hpfar & 0xFFFFFFFFFF0ull) << 8) | (read_sysreg(far_el2) & 0xFFF);
}

/*
 * A trapped MMIO access with a valid syndrome (ISV), decoded once: the IPA,
 * the transfer register (31 is XZR: reads as 0, a load into it is dropped),
 * its width and direction. Every emulated device below takes the access in
 * this form; mmio_done() completes it.
 */
struct mmio_access {
	uint64_t ipa;
	uint64_t val; /* the value stored, or the value a load gives */
	unsigned rt;
	unsigned bytes;
	int write;
};

/* The load's value to its register, the guest past the instruction. */
static inline void mmio_done(struct trap_frame *f, uint64_t esr, const struct mmio_access *a)
{
	if (!a->write && a->rt != 31)
		f->x[a->rt] = a->val;
	f->elr += (esr & ESR_IL) ? 4 : 2;
}

/* Devices other than the vPL011: the vGIC's distributor and redistributors,
 * a VIRTIO register window (GABI-481). 0 when one took the access. */
static int mmio_devices(struct vcpu *v, struct mmio_access *a)
{
	struct vm *vm = v->vm;
	if (vgic_mmio_claims(vm, a->ipa))
		return vgic_mmio_access(v, a->ipa, a->write, a->bytes, &a->val);
	struct virtio_dev *vd = virtio_claims(&vm->virtio, a->ipa);
	if (vd)
		return virtio_access(vd, a->ipa, a->write, a->bytes, &a->val);
	return -1;
}

/*
 * A stage-2 data abort that is not the fast path below: the syndrome decoded
 * once, then the vPL011, the other emulated devices, the management VM's
 * register page, or a guest fault. Kept out of line so that the exit path
 * itself stays small.
 */
static __attribute__((noinline)) void mmio_emulate(struct vcpu *v, struct trap_frame *f,
						   uint64_t esr, uint64_t ipa)
{
	uint32_t iss = ESR_ISS(esr);
	struct vm *vm = v->vm;
	if (iss & DABT_ISV) {
		struct mmio_access a = {
			.ipa = ipa,
			.rt = DABT_SRT(iss),
			.bytes = 1u << DABT_SAS(iss),
			.write = (iss & DABT_WNR) != 0,
		};
		a.val = a.write && a.rt != 31 ? f->x[a.rt] : 0;
		int done = 0;
		if (ipa - vm->uart.ipa < VPL011_SIZE) {
			if (a.write)
				vpl011_write(vm, ipa, a.val, a.bytes);
			else
				a.val = vpl011_read(vm, ipa, a.bytes);
			done = 1;
		} else {
			done = mmio_devices(v, &a) == 0;
		}
		if (done) {
			mmio_done(f, esr, &a);
			return;
		}
	}
	/* the management VM's register page (MGMT-112, MGMT-212) */
	if (mgmt_window_claims(vm, ipa) && mgmt_mmio_trap(v, f, esr, ipa) == 0)
		return;
	vm_fault(v, f, HVM_F_STAGE2_ABORT, esr);
}

/*
 * A stage-2 data abort. The fast path: a load from the vPL011's flag
 * register, which a polling console driver reads before every character
 * (docs/performance.md "Trap path"), is answered here without a call and
 * without decoding more of the syndrome than the transfer register. ISV set
 * and WnR clear in one compare; a load into XZR (Rt 31) is dropped.
 */
static inline void data_abort(struct vcpu *v, struct trap_frame *f, uint64_t esr)
{
	uint32_t iss = ESR_ISS(esr);
	uint64_t ipa = fault_ipa();
	struct vpl011 *u = &v->vm->uart;
	if ((iss & (DABT_ISV | DABT_WNR)) == DABT_ISV && ipa == u->ipa + VPL011_FR) {
		unsigned rt = DABT_SRT(iss);
		if (rt != 31)
			f->x[rt] = vpl011_flags(u);
		f->elr += (esr & ESR_IL) ? 4 : 2;
		return;
	}
	mmio_emulate(v, f, esr, ipa);
}

/* Trapped system register accesses (the table is docs/guest-abi.md GABI-061):
 * - the SGI generation registers (every EL1 write traps while HCR_EL2.IMO is
 *   set) become virtual SGIs to the VM's own vCPUs;
 * - debug registers (MDCR_EL2.TDA/TDOSA/TDRA: breakpoints, watchpoints, MDSCR,
 *   OS lock, DCC) read as zero and ignore writes: a VM cannot arm a breakpoint
 *   that fires in hv-core or in the next VM on its CPU, and a kernel that
 *   resets them at boot (Linux does) runs on; OSLSR_EL1 says "OS lock
 *   implemented, unlocked";
 * - PMUSERENR_EL0 reads as zero and ignores writes (Linux clears it at boot);
 * - ACTLR_EL1 (HCR_EL2.TACR) reads as zero and ignores writes;
 * - anything else that traps (the PMU's counters and controls, trace
 *   registers, implementation-defined registers) is not emulated: a guest
 *   fault of kind UNDEF_TRAP under the VM's fault policy; with policy ignore a
 *   read gives 0. */
#define SYSREG_OSLSR 0x20118u     /* Op0 2, Op1 0, CRn 1, CRm 1, Op2 4 */
#define SYSREG_PMUSERENR 0x339E0u /* Op0 3, Op1 3, CRn 9, CRm 14, Op2 0 */
#define SYSREG_ACTLR 0x30102u     /* Op0 3, Op1 0, CRn 1, CRm 0, Op2 1 */
#define OSLSR_OSLM_IMPLEMENTED 0x8u
/* The ISS of a trapped MSR/MRS without its Rt field: Op0, Op2, Op1, CRn,
 * CRm and the direction (0 = write), compared in one step. */
#define ISS_SYSREG_NO_RT 0x3FFC1Fu
#define ISS_SYSREG_WRITE(op0, op1, crn, crm, op2)                                                  \
	(((op0) << 20) | ((op2) << 17) | ((op1) << 14) | ((crn) << 10) | ((crm) << 1))

/* Value a read of the register named by key gives, or -1 when hv-core does
 * not emulate it. */
static int sysreg_emulated(uint32_t key, uint64_t *val)
{
	uint32_t op0 = key >> 16, op1 = (key >> 12) & 7;
	*val = 0;
	if (op0 == 2 && (op1 == 0 || op1 == 3)) { /* debug and DCC; op1 1 is trace */
		if (key == SYSREG_OSLSR)
			*val = OSLSR_OSLM_IMPLEMENTED;
		return 0;
	}
	if (key == SYSREG_PMUSERENR || key == SYSREG_ACTLR)
		return 0;
	return -1;
}

static void sysreg_trap(struct vcpu *v, struct trap_frame *f, uint64_t esr)
{
	uint32_t iss = ESR_ISS(esr);
	uint32_t rt = (iss >> 5) & 31;
	/* An SGI write first, the trap a running guest takes most (its IPIs) */
	uint32_t what = iss & ISS_SYSREG_NO_RT;
	if (what == ISS_SYSREG_WRITE(3, 0, 12, 11, 5) || /* ICC_SGI1R_EL1 */
	    what == ISS_SYSREG_WRITE(3, 0, 12, 11, 6) || /* ICC_ASGI1R_EL1 */
	    what == ISS_SYSREG_WRITE(3, 0, 12, 11, 7)) { /* ICC_SGI0R_EL1 */
		vgic_sgi_write(v, rt == 31 ? 0 : f->x[rt]);
		f->elr += 4;
		return;
	}
	/* ISS: Op0[21:20] Op2[19:17] Op1[16:14] CRn[13:10] Rt[9:5] CRm[4:1] dir[0] */
	uint32_t op0 = (iss >> 20) & 3, op2 = (iss >> 17) & 7, op1 = (iss >> 14) & 7;
	uint32_t crn = (iss >> 10) & 15, crm = (iss >> 1) & 15;
	uint32_t key = (op0 << 16) | (op1 << 12) | (crn << 8) | (crm << 4) | (op2 << 1);
	int is_read = iss & 1;
	uint64_t val;
	if (sysreg_emulated(key, &val) == 0) {
		if (is_read && rt != 31)
			f->x[rt] = val;
		f->elr += 4;
		return;
	}
	vm_fault(v, f, HVM_F_UNDEF_TRAP, esr); /* returns only under policy ignore */
	if (is_read && rt != 31)
		f->x[rt] = 0; /* ignored: the read gives 0, never the physical value */
}

/* The vCPU this CPU runs. A guest exit comes only after TPIDR_EL2 points at
 * this CPU's struct pcpu (cpu_current() also serves the boot CPU before
 * that), so the exit path reads it directly. */
static inline struct vcpu *exit_vcpu(void)
{
	return ((struct pcpu *)read_sysreg(tpidr_el2))->vcpu;
}

/*
 * A guest's synchronous exception: the path every hypercall, trapped MMIO
 * access and trapped system register takes, kept short because its length is
 * what a guest pays per exit (docs/performance.md "Trap path", ceilings in
 * bench/icount-ceilings.txt):
 *   1. the vCPU and the syndrome; the exit counted, the guest's time in
 *      counter ticks (vcpu_account_exit, inline);
 *   2. the exception handled by its class;
 *   3. vm_vcpu_check: stop, pause and reset requests, the exit's class counted;
 *   4. vgic_flush: the list registers filled, skipped when no virtual
 *      interrupt waits for this vCPU (the common case).
 */
void trap_lower_sync(struct trap_frame *f)
{
	struct vcpu *v = exit_vcpu();
	uint64_t esr = read_sysreg(esr_el2);
	if (!v)
		hv_panic("guest exception with no vCPU on this CPU: ESR 0x%lx ELR 0x%lx",
			 (unsigned long)esr, (unsigned long)f->elr);
	vcpu_account_exit(v);
	uint32_t cls; /* the exit's class in GET_STATS (exits_by_class) */
	switch (ESR_EC(esr)) {
	case EC_WFX:
		cls = HVM_EXIT_WFX;
		if (!(ESR_ISS(esr) & 1))
			vcpu_wfi(v);
		f->elr += 4;
		break;
	case EC_HVC64:
		cls = HVM_EXIT_HVC;
		smccc_guest_call(v, f); /* ELR already points past the HVC */
		break;
	case EC_SMC64:
		cls = HVM_EXIT_SMC;
		smccc_guest_call(v, f);
		f->elr += 4; /* a trapped SMC returns to the SMC itself */
		break;
	case EC_DABT_LOW:
		cls = HVM_EXIT_DABT;
		data_abort(v, f, esr);
		break;
	case EC_IABT_LOW:
		cls = HVM_EXIT_IABT;
		vm_fault(v, f, HVM_F_STAGE2_ABORT, esr);
		break;
	case EC_SYSREG:
		cls = HVM_EXIT_SYSREG;
		sysreg_trap(v, f, esr);
		break;
	default:
		cls = HVM_EXIT_OTHER;
		vm_fault(v, f, HVM_F_UNDEF_TRAP, esr);
		break;
	}
	vm_vcpu_check(v, cls); /* stop, pause, reset requests */
	if (vgic_flush_needed(&v->vgic, &v->vm->vgic))
		vgic_flush(v); /* pending virtual interrupts to the list registers */
	vcpu_account_entry(v);
}

void trap_lower_irq(struct trap_frame *f)
{
	/* IPIs, the maintenance interrupt, and physical interrupts that become
	 * virtual ones for this vCPU (virtual timer, pass-through SPIs) */
	irq_handle_all();
	struct vcpu *v = exit_vcpu();
	if (v) {
		vm_vcpu_check(v, HVM_EXIT_IRQ); /* a kick (SGI 0) carries a request */
		if (vgic_flush_needed(&v->vgic, &v->vm->vgic))
			vgic_flush(v);
	}
}

void trap_lower_serror(struct trap_frame *f)
{
	struct vcpu *v = cpu_current()->vcpu;
	if (!v)
		hv_panic("SError with no vCPU on this CPU: ESR 0x%lx",
			 (unsigned long)read_sysreg(esr_el2));
	uint64_t esr = read_sysreg(esr_el2);
	vm_fault(v, f, HVM_F_UNDEF_TRAP, esr);
	vm_vcpu_check(v, HVM_EXIT_OTHER);
}
