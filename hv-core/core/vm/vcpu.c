/*
 * vcpu.c - entering a vCPU on its physical CPU, trapped WFI, time accounting.
 * Stopping and parking vCPUs is the lifecycle's (vm_life.c).
 */
#include "vcpu.h"
#include "vm.h"
#include "cpu.h"
#include "trap.h"
#include "sysregs.h"
#include "timer.h"
#include "irq.h"
#include "ipi.h"
#include "vgic.h"

/* HCR_EL2 for every guest: stage 2 on, physical interrupts and SErrors to EL2
 * (so is every EL1 write of ICC_SGI1R_EL1: SGIs between vCPUs are emulated),
 * WFI trapped (hv-core sleeps the CPU instead), SMC trapped (PSCI/SMCCC are
 * answered by hv-core, never by the firmware), implementation-defined
 * registers trapped (ACTLR_EL1 reads as zero; the CRn 11/15 ones are a guest
 * fault: they control the physical core), EL1 in AArch64. The table of what a
 * guest sees is docs/guest-abi.md GABI-061. */
#define GUEST_HCR                                                                                  \
	(HCR_VM | HCR_SWIO | HCR_FMO | HCR_IMO | HCR_AMO | HCR_TWI | HCR_TSC | HCR_TIDCP |         \
	 HCR_TACR | HCR_RW)

/* what vcpu_run() loads; the self-test reads this very value back */
const uint64_t vcpu_guest_hcr = GUEST_HCR;

/* MDCR_EL2: the PMU (its counters count the physical CPU, whoever ran on it)
 * and the debug registers (breakpoints and watchpoints hit in EL2 or in the
 * next VM on this CPU) trap to EL2 (REQ-SAF-19, GABI-061). */
#define GUEST_MDCR (MDCR_TPMCR | MDCR_TPM | MDCR_TDA | MDCR_TDOSA | MDCR_TDRA)

void fpsimd_zero(void);

/* Upper bound of one trapped-WFI sleep, so a stop request is noticed. */
#define WFI_MAX_NS 50000000ull

int vcpu_runnable(const struct vcpu *v)
{
	return v->run;
}

void vcpu_run(struct vcpu *v)
{
	write_sysreg(hcr_el2, vcpu_guest_hcr);
	/* HPMN = PMCR_EL0.N: the value out of reset; every access traps anyway */
	write_sysreg(mdcr_el2, GUEST_MDCR | ((read_sysreg(pmcr_el0) >> 11) & MDCR_HPMN_MASK));
	write_sysreg(cptr_el2, CPTR_EL2_RES1 | CPTR_EL2_TTA);
	write_sysreg(cnthctl_el2, CNTHCTL_EL1PCTEN | CNTHCTL_EL1PCEN);
	write_sysreg(cntvoff_el2, 0);
	write_sysreg(vpidr_el2, read_sysreg(midr_el1));
	write_sysreg(vmpidr_el2, (1ull << 31) | v->id);
	/* EL1 architectural reset state the guest may rely on: MMU and caches off */
	write_sysreg(sctlr_el1, SCTLR_EL1_RES1);
	write_sysreg(cpacr_el1, 0);
	write_sysreg(vbar_el1, 0);
	write_sysreg(tcr_el1, 0);
	write_sysreg(ttbr0_el1, 0);
	write_sysreg(ttbr1_el1, 0);
	write_sysreg(mair_el1, 0);
	write_sysreg(sp_el1, 0);
	write_sysreg(cntv_ctl_el0, 0);
	write_sysreg(cntp_ctl_el0, 0);
	write_sysreg(cntkctl_el1, 0);
	/* nothing an earlier VM on this CPU left in EL0/EL1 state stays visible
	 * (REQ-SAF-19): the rest of the registers a guest can read back */
	write_sysreg(tpidr_el0, 0);
	write_sysreg(tpidrro_el0, 0);
	write_sysreg(tpidr_el1, 0);
	write_sysreg(sp_el0, 0);
	write_sysreg(elr_el1, 0);
	write_sysreg(spsr_el1, 0);
	write_sysreg(esr_el1, 0);
	write_sysreg(far_el1, 0);
	write_sysreg(afsr0_el1, 0);
	write_sysreg(afsr1_el1, 0);
	write_sysreg(par_el1, 0);
	write_sysreg(contextidr_el1, 0);
	write_sysreg(amair_el1, 0);
	write_sysreg(csselr_el1, 0);
	write_sysreg(cntv_cval_el0, 0);
	write_sysreg(cntp_cval_el0, 0);
	write_sysreg(cntp_tval_el0, 0);
	fpsimd_zero();
	stage2_activate(&v->vm->s2);
	vgic_vcpu_reset(v);

	struct trap_frame f = { .elr = v->entry, .spsr = SPSR_EL1H_DAIF };
	f.x[0] = v->x0;
	vm_vcpu_entering(v); /* may park instead when a stop came first (vm_life.c) */
	vgic_flush(v);
	vcpu_account_entry(v);
	hv_enter_guest(&f);
}

void vcpu_wfi(struct vcpu *v)
{
	uint64_t now = timer_count();
	uint64_t deadline = now + timer_ns_to_count(WFI_MAX_NS);
	/* GABI-050: the virtual and the EL1 physical timer alike; an unmasked
	 * one wakes this CPU with its own interrupt */
	const uint64_t ctls[2] = { read_sysreg(cntv_ctl_el0), read_sysreg(cntp_ctl_el0) };
	const uint64_t cvals[2] = { read_sysreg(cntv_cval_el0) + read_sysreg(cntvoff_el2),
				    read_sysreg(cntp_cval_el0) };
	for (unsigned t = 0; t < 2; t++) {
		if (!(ctls[t] & CNT_CTL_ENABLE))
			continue;
		/* a masked timer that expired: the guest polls it */
		if ((ctls[t] & (CNT_CTL_ISTATUS | CNT_CTL_IMASK)) == (CNT_CTL_ISTATUS | CNT_CTL_IMASK))
			return;
		if ((ctls[t] & CNT_CTL_IMASK) && cvals[t] < deadline)
			deadline = cvals[t];
	}
	for (;;) {
		/* any interrupt ends the wait: a virtual one for the guest, an IPI
		 * with a request (vm_vcpu_check acts on it), the deadline */
		if (irq_handle_all() || vgic_has_pending(v) ||
		    !__atomic_load_n(&v->run, __ATOMIC_ACQUIRE) || ipi_pending())
			return;
		if (timer_count() >= deadline)
			return;
		/* MGMT-862: while its virtio-blk requests are with the backend,
		 * the waiting vCPU completes them itself within
		 * VIRTIO_BLK_POLL_NS rather than on the next service tick; an
		 * idle VM sleeps as before */
		if (virtio_set_blk_busy(&v->vm->virtio)) {
			uint64_t t = timer_count(), poll = timer_ns_to_count(VIRTIO_BLK_POLL_NS);
			timer_wfi_until(deadline > t + poll ? t + poll : deadline);
			virtio_set_poll(&v->vm->virtio);
			continue;
		}
		timer_wfi_until(deadline);
	}
}

void cpu_idle(void)
{
	struct pcpu *c = cpu_current();
	vgic_cpu_idle(); /* whatever a vCPU that ran here left behind */
	for (;;) {
		struct vcpu *v = __atomic_load_n(&c->vcpu, __ATOMIC_ACQUIRE);
		if (v && vcpu_runnable(v))
			vcpu_run(v);
		wfi();
		irq_handle_all(); /* the wake-up SGI (ipi.h), or a stopped guest's leftovers */
	}
}
