/*
 * vcpu.h - a virtual CPU: which VM, which physical CPU it is pinned to, how it
 * starts (the VM's boot vCPU at the image entry, the others through the
 * guest's PSCI CPU_ON), its virtual interrupt state, and what it has cost. Its
 * registers live in the trap frame on its physical CPU's stack while it runs.
 */
#ifndef HV_VCPU_H
#define HV_VCPU_H
#include <stdint.h>
#include "vgic.h"

struct vm;
struct trap_frame;

struct vcpu {
	struct vm *vm;
	uint32_t id; /* also its MPIDR Aff0 (VMCFG-093)              */
	uint32_t pcpu;
	volatile int run;     /* on (PSCI): set by vm_start for vCPU 0 and by
				   CPU_ON for the others, cleared when it stops */
	uint64_t entry;       /* IPA of the first instruction              */
	uint64_t x0;          /* boot argument: guest DTB IPA for vCPU 0,
				   the CPU_ON context id for the others       */
	uint64_t exits;       /* traps to EL2                              */
	uint64_t cpu_ticks;   /* time spent running guest code, in counter
				   ticks (timer_count_to_ns when read: no
				   division on the exit path)                 */
	uint64_t entered_at;  /* counter value at the last guest entry      */
	struct vgic_cpu vgic; /* its private interrupts (vgic.c)           */
};

int vcpu_runnable(const struct vcpu *v);
/* HCR_EL2 as vcpu_run() loads it for every guest (REQ-SAF-02: the self-test
 * checks it). */
extern const uint64_t vcpu_guest_hcr;
/* Loads the VM's EL2 controls and EL1 reset state on this CPU and enters the guest. */
void vcpu_run(struct vcpu *v) __attribute__((noreturn));
/* The idle loop of the calling physical CPU: runs the vCPU pinned to it when
 * runnable, else waits in WFI (no busy waiting). */
void cpu_idle(void) __attribute__((noreturn));
/* A trapped WFI: sleep until a virtual interrupt is pending for the vCPU, its
 * virtual timer deadline passes, or a bounded time (GABI-050). */
void vcpu_wfi(struct vcpu *v);

/* Every guest exit and entry (arch/arm64/traps.c): counts the exit and the
 * guest's running time. Inline and without an ISB: they run on every trap,
 * and a counter read a few instructions early does not matter here. */
static inline void vcpu_account_exit(struct vcpu *v)
{
	uint64_t now;
	__asm__ volatile("mrs %0, cntpct_el0" : "=r"(now));
	v->exits++;
	v->cpu_ticks += now - v->entered_at;
}

static inline void vcpu_account_entry(struct vcpu *v)
{
	__asm__ volatile("mrs %0, cntpct_el0" : "=r"(v->entered_at));
}
#endif
