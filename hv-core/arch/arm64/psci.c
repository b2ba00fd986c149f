/*
 * psci.c - PSCI towards the firmware and towards guests.
 *
 * Firmware: on QEMU virt with virtualization=on and no EL3, QEMU itself
 * implements PSCI and its /psci node says method = "smc"; an SMC from EL2 reaches
 * it. Guests: PSCI calls arrive by HVC or trapped SMC (HCR_EL2.TSC) and are
 * answered here, never forwarded: a guest powers only its own vCPUs on and off.
 */
#include "psci.h"
#include "trap.h"
#include "vcpu.h"
#include "vm.h"
#include "log.h"

int64_t psci_fw_call(uint64_t fid, uint64_t a1, uint64_t a2, uint64_t a3)
{
	register uint64_t x0 __asm__("x0") = fid;
	register uint64_t x1 __asm__("x1") = a1;
	register uint64_t x2 __asm__("x2") = a2;
	register uint64_t x3 __asm__("x3") = a3;
	__asm__ volatile("smc #0" : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3) : : "memory");
	return (int64_t)x0;
}

int64_t psci_cpu_on(uint64_t mpidr, uint64_t entry, uint64_t context)
{
	return psci_fw_call(PSCI_CPU_ON_64, mpidr, entry, context);
}

int psci_guest_call(struct vcpu *v, struct trap_frame *f)
{
	uint32_t fid = (uint32_t)f->x[0];
	switch (fid) {
	case PSCI_VERSION:
		f->x[0] = 0x10001; /* PSCI 1.1 */
		return 1;
	case PSCI_FEATURES: {
		uint32_t q = (uint32_t)f->x[1];
		int ok = q == PSCI_VERSION || q == PSCI_FEATURES || q == PSCI_SYSTEM_OFF ||
			 q == PSCI_SYSTEM_RESET || q == PSCI_CPU_OFF || q == PSCI_MIGRATE_INFO_TYPE ||
			 q == PSCI_AFFINITY_INFO_32 || q == PSCI_AFFINITY_INFO_64;
		f->x[0] = ok ? 0 : (uint64_t)(int64_t)PSCI_E_NOT_SUPPORTED;
		return 1;
	}
	case PSCI_MIGRATE_INFO_TYPE:
		f->x[0] = 2; /* no trusted OS: migration not needed */
		return 1;
	case PSCI_AFFINITY_INFO_32:
	case PSCI_AFFINITY_INFO_64:
		/* single-vCPU VMs for now: vCPU 0 is on, others do not exist */
		f->x[0] = (f->x[1] & 0xFFFFFF) == 0 ? 0 : (uint64_t)(int64_t)PSCI_E_INVALID;
		return 1;
	case PSCI_CPU_ON_32:
	case PSCI_CPU_ON_64:
		/* secondary vCPUs are later work; vCPU 0 is always on */
		f->x[0] = (f->x[1] & 0xFFFFFF) == 0 ? (uint64_t)(int64_t)PSCI_E_ALREADY_ON
						    : (uint64_t)(int64_t)PSCI_E_INVALID;
		return 1;
	case PSCI_SYSTEM_OFF:
	case PSCI_CPU_OFF:
		vm_guest_poweroff(v); /* does not return */
		return 1;
	case PSCI_SYSTEM_RESET:
		/* restart is later work: treat as power off so the state is definite */
		vm_guest_poweroff(v);
		return 1;
	default:
		if ((fid & 0xBFFFFFE0u) == 0x84000000u) {
			f->x[0] = (uint64_t)(int64_t)PSCI_E_NOT_SUPPORTED;
			return 1;
		}
		return 0;
	}
}
