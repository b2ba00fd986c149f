/*
 * cpu.h - per physical CPU state and secondary CPU bring-up.
 * TPIDR_EL2 points at the calling CPU's struct pcpu once it is set up.
 */
#ifndef HV_CPU_H
#define HV_CPU_H
#include <stdint.h>
#include "hvconfig.h"

struct vcpu;

struct pcpu {
	uint32_t index; /* logical index: order in the platform DT       */
	uint64_t mpidr;
	volatile int online;
	struct vcpu *vcpu; /* pinned vCPU, NULL = idle (REQ-SAF-19: one vCPU per pCPU) */
};

extern struct pcpu pcpus[HV_MAX_CPUS];

void cpu_set_current(uint32_t index);
uint32_t cpu_index(void);
struct pcpu *cpu_current(void);
/* Powers on every CPU but the boot CPU through PSCI CPU_ON; waits (bounded) for each. */
void cpu_start_secondaries(void);
void hv_halt_cpu(void) __attribute__((noreturn));
#endif
