/*
 * vcpu.h - a virtual CPU: which VM, which physical CPU it is pinned to, how it
 * starts, and what it has cost. Its registers live in the trap frame on its
 * physical CPU's stack while it runs.
 */
#ifndef HV_VCPU_H
#define HV_VCPU_H
#include <stdint.h>

struct vm;

struct vcpu {
	struct vm *vm;
	uint32_t id;
	uint32_t pcpu;
	volatile int run;       /* set by vm_start, cleared when the VM stops */
	uint64_t entry;         /* IPA of the first instruction              */
	uint64_t x0;            /* boot argument (guest DTB IPA, 0 = none)    */
	uint64_t exits;         /* traps to EL2                              */
	uint64_t cpu_time_ns;   /* time spent running guest code             */
	uint64_t entered_at;    /* counter value at the last guest entry      */
};

int vcpu_runnable(const struct vcpu *v);
/* Loads the VM's EL2 controls and EL1 reset state on this CPU and enters the guest. */
void vcpu_run(struct vcpu *v) __attribute__((noreturn));
/* A trapped WFI: sleep until the guest's virtual timer deadline (bounded). */
void vcpu_wfi(struct vcpu *v);
void vcpu_account_exit(struct vcpu *v);
void vcpu_account_entry(struct vcpu *v);
#endif
