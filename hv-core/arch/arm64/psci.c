/*
 * psci.c - PSCI towards the firmware and towards guests.
 *
 * Firmware: on QEMU virt with virtualization=on and no EL3, QEMU itself
 * implements PSCI and its /psci node says method = "smc"; an SMC from EL2 reaches
 * it. Guests: PSCI calls arrive by HVC or trapped SMC (HCR_EL2.TSC) and are
 * answered here, never forwarded: a guest powers only its own vCPUs on and off.
 */
#include <stddef.h>
#include "psci.h"
#include "trap.h"
#include "vcpu.h"
#include "vm.h"
#include "log.h"
#include "ipi.h"
#include "cpu.h"
#include "spinlock.h"

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

/* The vCPU of v's VM that MPIDR value mpidr names (Aff0 = vCPU id, higher
 * affinity levels 0), or NULL. */
static struct vcpu *vcpu_by_mpidr(struct vm *vm, uint64_t mpidr)
{
	if ((mpidr & 0xFF00FFFF00ull) || (mpidr & 0xFF) >= vm->cfg.vcpus)
		return NULL;
	return &vm->vcpu[mpidr & 0xFF];
}

#define RET(f, v) ((f)->x[0] = (uint64_t)(int64_t)(v))

/* CPU_ON: vCPU t starts at entry with x0 = context (REQ-STD-06: the guest
 * brings up its own secondary CPUs, only its own). */
static int64_t cpu_on(struct vcpu *v, uint64_t mpidr, uint64_t entry, uint64_t context)
{
	struct vm *vm = v->vm;
	struct vcpu *t = vcpu_by_mpidr(vm, mpidr);
	if (!t)
		return PSCI_E_INVALID;
	if (entry < vm->cfg.mem_ipa || entry >= vm->cfg.mem_ipa + vm->cfg.mem_size || (entry & 3))
		return PSCI_E_INVALID_ADDRESS;
	int64_t r = PSCI_E_SUCCESS;
	spin_lock(&vm->lock);
	if (vm->state != HVM_VM_RUNNING) {
		r = PSCI_E_DENIED;
	} else if (t->run) {
		r = PSCI_E_ALREADY_ON;
	} else {
		t->entry = entry;
		t->x0 = context;
		__atomic_store_n(&t->run, 1, __ATOMIC_SEQ_CST);
		__atomic_store_n(&pcpus[t->pcpu].vcpu, t, __ATOMIC_RELEASE);
		vm_vcpu_started(vm, t->id);
	}
	spin_unlock(&vm->lock);
	if (r == PSCI_E_SUCCESS)
		ipi_send(t->pcpu, IPI_WAKE);
	return r;
}

/* CPU_OFF: this vCPU stops (it parks at the end of this exit, vm_vcpu_check);
 * the last one stopping powers the VM off. */
static void cpu_off(struct vcpu *v)
{
	struct vm *vm = v->vm;
	int others = 0;
	spin_lock(&vm->lock);
	for (uint32_t i = 0; i < vm->cfg.vcpus; i++)
		if (i != v->id && vm->vcpu[i].run)
			others++;
	if (others)
		__atomic_store_n(&v->run, 0, __ATOMIC_RELEASE);
	spin_unlock(&vm->lock);
	if (!others)
		vm_guest_poweroff(v); /* does not return */
}

int psci_guest_call(struct vcpu *v, struct trap_frame *f)
{
	uint32_t fid = (uint32_t)f->x[0];
	switch (fid) {
	case PSCI_VERSION:
		RET(f, 0x10000); /* PSCI 1.0 */
		return 1;
	case PSCI_FEATURES: {
		uint32_t q = (uint32_t)f->x[1];
		int ok = q == PSCI_VERSION || q == PSCI_FEATURES || q == PSCI_SYSTEM_OFF ||
			 q == PSCI_SYSTEM_RESET || q == PSCI_CPU_OFF || q == PSCI_MIGRATE_INFO_TYPE ||
			 q == PSCI_AFFINITY_INFO_32 || q == PSCI_AFFINITY_INFO_64 ||
			 q == PSCI_CPU_ON_32 || q == PSCI_CPU_ON_64 || q == SMCCC_VERSION_ID;
		RET(f, ok ? 0 : PSCI_E_NOT_SUPPORTED);
		return 1;
	}
	case PSCI_MIGRATE_INFO_TYPE:
		RET(f, 2); /* no trusted OS: migration not needed */
		return 1;
	case PSCI_AFFINITY_INFO_32:
	case PSCI_AFFINITY_INFO_64: {
		struct vcpu *t = vcpu_by_mpidr(v->vm, fid == PSCI_AFFINITY_INFO_32 ? (uint32_t)f->x[1]
										   : f->x[1]);
		if (!t || f->x[2] != 0)
			RET(f, PSCI_E_INVALID);
		else
			RET(f, __atomic_load_n(&t->run, __ATOMIC_ACQUIRE) ? 0 : 1); /* ON : OFF */
		return 1;
	}
	case PSCI_CPU_ON_32:
		RET(f, cpu_on(v, (uint32_t)f->x[1], (uint32_t)f->x[2], (uint32_t)f->x[3]));
		return 1;
	case PSCI_CPU_ON_64:
		RET(f, cpu_on(v, f->x[1], f->x[2], f->x[3]));
		return 1;
	case PSCI_CPU_OFF:
		cpu_off(v);
		return 1;
	case PSCI_SYSTEM_OFF:
		vm_guest_poweroff(v); /* does not return */
		return 1;
	case PSCI_SYSTEM_RESET:
		/* GABI-012: this VM alone boots again from its image (MGMT-045) */
		vm_guest_reset(v); /* does not return */
		return 1;
	default:
		if ((fid & 0xBFFFFFE0u) == 0x84000000u) {
			RET(f, PSCI_E_NOT_SUPPORTED);
			return 1;
		}
		return 0;
	}
}
